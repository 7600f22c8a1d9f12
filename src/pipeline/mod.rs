//! The sales pipeline: opportunity history and snapshots, the pipeline waterfall,
//! win rate, sales cycle, bookings, deal aging, velocity, coverage, slippage,
//! forecast-category roll-ups and the weighted pipeline; each measure also broken
//! down by owner, segment, source, account or attribute.
//!
//! Everything reads a [`PipelineHistory`]: the [`OpportunityChange`](crate::OpportunityChange)
//! rows validated and interned once (dense deal indexes, stage positions, rows grouped
//! by deal and ordered by time). No measure reads a clock: every "as of" is a
//! parameter. Money is summed exactly ([`Money`](crate::Money) /
//! [`Decimal`](crate::Decimal)); a history has one currency and a row in another is
//! an error naming the row.
//!
//! ```
//! use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId, pipeline::PipelineHistory,
//!     pipeline::WaterfallSpec, pipeline::WinRateSpec};
//! use chrono::{TimeZone, Utc};
//! # fn main() -> Result<(), revops::Error> {
//! let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
//! let ch = |id, d, stage, a| -> Result<OpportunityChange, revops::Error> {
//!     Ok(OpportunityChange::new(OpportunityId::new(id)?, t(d), stage, Money::parse(a, Currency::USD)?))
//! };
//! let rows = vec![
//!     ch("A", 1, "prospecting", "100")?, ch("A", 10, "closed_won", "100")?,
//!     ch("B", 2, "prospecting", "50")?, ch("B", 12, "closed_lost", "50")?,
//!     ch("C", 15, "qualification", "30")?,
//! ];
//! let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
//! let w = h.waterfall(&WaterfallSpec::new(t(5), t(20)))?;
//! assert_eq!(w.computed_end()?, w.end.amount);
//! assert_eq!(h.win_rate(&WinRateSpec::new(t(20)))?.ratio.to_string(), "1 / 2 (50.0%)");
//! # Ok(()) }
//! ```
//!
//! # History and snapshots
//!
//! Each row is the full state of a deal right after a change (as Salesforce's
//! `OpportunityHistory`). The **state of a deal as of an instant `t`** is its last row
//! with `changed_at <= t`; rows of one deal with equal `changed_at` keep their input
//! order, so the later one in the input wins. A deal **exists** from its earliest row
//! (`created_at`); before that it has no state. A [`Snapshot`] lists the state of
//! every deal that exists at `t`. A deal is **open** in an [`StageKind::Open`](crate::StageKind::Open)
//! stage and **closed** in any terminal stage; its **closing instant**
//! (`closed_at`) is the first row of the run of closed rows that ends at its state,
//! so a reopened and re-closed deal closes at the later instant. Timestamps keep their
//! full precision.
//!
//! # The pipeline waterfall
//!
//! A deal is **in the pipeline** at `t` when its state at `t` is open and, in **period
//! mode** ([`PipelineScope::Period`]), its close date falls in the reporting period
//! (both ends included; no close date means not in the period). In **rolling mode**
//! ([`PipelineScope::Rolling`]) every open deal is in. Its **value** is its amount
//! then (zero when out). `Start` and `End` are the pipeline at the two instants.
//!
//! Each deal's movements are derived from its states `s0` (at `start`) and `s1` (at
//! `end`) alone, by this precedence:
//!
//! 1. **In at both** → the amount change: `Increased` or `Decreased` (nothing if
//!    equal).
//! 2. **In at start, out at end** → an exit, by the end state first: closed won →
//!    `Won`; closed in any other terminal stage (lost, disqualified, recycled) →
//!    `Lost`; still open (its close date moved out of the period, either way, or was
//!    cleared) → `PushedOut`. Valued by [`ExitValuation`]: at the start amount
//!    (default), or the amount change (`Increased` / `Decreased`) then the exit at the
//!    end amount.
//! 3. **Out at start, in at end** → an entry at the end amount: `PulledIn` if the deal
//!    was open at start (its close date moved into the period: period mode only),
//!    otherwise `Created` (it did not exist yet, or it was closed and reopened).
//! 4. **Out at both**, but closed at end (in a stage and with a close date the scope
//!    covers) and not closed at start → it went through the pipeline between the
//!    instants: the entry of rule 3 and the exit of rule 2, both at the end amount
//!    (they cancel). So a deal created and won within the interval is in `Created`
//!    and `Won`.
//! 5. Otherwise no movement (for instance a deal closed at both instants, even if it
//!    was reopened in between).
//!
//! Every rule moves exactly `value(s1) − value(s0)`, so `Start + Created + PulledIn +
//! Increased − Decreased − PushedOut − Lost − Won = End` holds for every deal and
//! hence, exactly, for the totals. Movement amounts are never negative.
//!
//! # Win rate
//!
//! Counted on each deal's state as of `as_of` ([`WinRateBasis`]):
//! `ClosedOnly` = won / (won + lost); `ClosedPlusNoDecision` = won / (won + lost + no
//! decision); `AllCreated` = won / deals created in the cohort window (open ones
//! count as not won); `ClosedPlusStale { days }` = won / (won + lost + stale), where
//! an open deal is **stale** when its last change is at least `days` days before
//! `as_of`. "No decision" ([`NoDecision`]) is, by default, a close in a disqualified
//! or recycled stage (the history rows carry no lost reason); a list of stage keys
//! can replace it. A window restricts closed deals by closing instant, stale deals by
//! the instant they became stale, and the cohort by creation instant. The
//! [`Ratio`](crate::Ratio) comes with its interval (Wilson 95 % by default).
//!
//! # Sales cycle and aging
//!
//! The **sales cycle** of a closed deal is the time from its creation (first row) to
//! its closing instant, in whole seconds, for won, lost (any non-won terminal stage)
//! or all closed deals ([`CycleOutcome`]), summarised by an
//! [`ExactDistribution`](crate::distribution::ExactDistribution) (type-7 median). **Aging**: for a
//! deal open at `as_of`, the time since it entered its current stage; for a deal
//! closed by `as_of`, the total time it spent in each open stage it visited (visits
//! summed: from each row to the next).
//!
//! # Velocity, coverage, slippage, roll-ups
//!
//! **Velocity** = open deals in scope × average won amount × win rate / mean won cycle
//! in days, money per day, every input reported, all in exact decimals. **Coverage**
//! = open pipeline with a close date in the period / (quota − won with a close date
//! in the period); `None` when that remaining quota is ≤ 0. **Slippage** in a window:
//! a push is a row in the window, of a deal open before and after it, that moves a set
//! close date later; the slipped amount counts each pushed deal once at its amount
//! after its last push. **Roll-ups** over deals whose close date the scope covers:
//! Commit = Commit + Closed; Best Case = Best Case + Most Likely + Commit + Closed;
//! Pipeline = every open deal, whatever its category. A row without a category takes
//! the one its stage implies (open → Pipeline, won → Closed, other terminal →
//! Omitted).
//!
//! # Weighted pipeline
//!
//! Open amount × probability, where the probability is **configured**
//! ([`ProbabilitySource`]: the stage's, by default, or the deal's own) or
//! **empirical** ([`StageWinRates`]: for each stage, of the deals closed by the
//! learning instant that were ever in it, the share that won). Probabilities become
//! decimals once, rounded half to even to [`PROBABILITY_DECIMALS`] places
//! ([`probability_decimal`]); the products and their sum are exact, never rounded
//! (round for display with [`WeightedPipeline::weighted_rounded`]). Deals without a
//! probability are reported apart, never weighted as zero silently.
//! [`PipelineHistory::backtest_weighted`] weighs the pipeline at `t0` both ways, with
//! rates learnt only from deals closed by `t0`, and reads what it became by `t1`.
//!
//! # Bookings
//!
//! **Bookings** ([`PipelineHistory::bookings`]) are the deals won as of an instant
//! (closing instant in a window, if given), at their amount then: the exact sum of
//! their amounts in the history's one currency and their count.
//!
//! # Ramp
//!
//! [`PipelineHistory::ramp`] measures how new owners ramp: per owner, pipeline
//! created and bookings by month since their start (a hire date, or their first
//! activity), relative to tenured owners over the same days, pooled into a curve
//! with the counts behind each point ([`RampReport`]), turned into a
//! [`plan::Ramp`](crate::plan::Ramp) by [`RampReport::to_ramp`]; time to first
//! opportunity and first win per owner. Definitions, the relative measure and limits
//! are in the [`RampReport`] docs.
//!
//! # Breakdowns
//!
//! Every measure has a `*_by` twin that breaks it down by owner, segment, source
//! (the lead's), account or any attribute ([`Dimension`](crate::breakdown::Dimension))
//! **in the same pass**: [`win_rate_by`](PipelineHistory::win_rate_by),
//! [`sales_cycle_by`](PipelineHistory::sales_cycle_by),
//! [`bookings_by`](PipelineHistory::bookings_by),
//! [`waterfall_by`](PipelineHistory::waterfall_by) (its `created` column is the
//! pipeline created), [`coverage_by`](PipelineHistory::coverage_by) (each bucket's
//! coverage takes its own quota), [`slippage_by`](PipelineHistory::slippage_by) and
//! [`calibration_by`](PipelineHistory::calibration_by). Each deal's bucket is read
//! once by [`PipelineHistory::keys`] from its [`Opportunity`](crate::Opportunity)
//! record and the [`Lead`](crate::Lead) it came from. The result is a
//! [`Breakdown`](crate::breakdown::Breakdown) of the measure's accumulator: the total
//! (equal to the measure without breakdown) and one cell per bucket, deals without a
//! value in their own bucket, so the cells' counts and amounts add up to the total
//! exactly, and each cell equals the measure run on the history filtered to its
//! deals. A breakdown holds each deal's contribution twice (in the total and in its
//! cell): for the waterfall's movement list and the calibration's probabilities,
//! twice the memory of the measure alone.
//!
//! # Merging
//!
//! Every report is a monoid (`merge`): reports of histories split by opportunity
//! merge into the report of the whole. The win rate, sales cycle, bookings, period
//! pipeline, slippage and waterfall follow the [`Accumulator`](crate::Accumulator)
//! contract, and so do their breakdowns.

mod aging;
mod bookings;
mod breakdown;
mod coverage;
mod forecast_rollup;
mod history;
mod predictions;
mod ramp;
mod sales_cycle;
mod slippage;
mod velocity;
mod waterfall;
mod weighted;
mod win_rate;

pub use aging::{Aging, StageAging};
pub use bookings::{Bookings, BookingsSpec};
pub use coverage::{Coverage, PeriodDeal, PeriodPipeline};
pub use forecast_rollup::ForecastRollup;
pub(crate) use history::{Key, key, key_delta, whole_seconds};
pub use history::{OpportunityState, PipelineHistory, Snapshot, SnapshotEntry};
pub use ramp::{
    ChosenRamp, DEFAULT_MAX_RAMP_CELLS, OwnerMonth, OwnerRamp, RampAccumulator, RampBasis,
    RampDeal, RampMeasure, RampPoint, RampReport, RampSource, RampSpec, StartBasis,
};
pub use sales_cycle::{CycleOutcome, SalesCycle, SalesCycleSpec};
pub use slippage::{Slippage, SlippedDeal};
pub use velocity::{PipelineVelocity, PipelineVelocitySpec};
pub use waterfall::{
    Audit, ExitValuation, Flow, Movement, MovementKind, PipelineScope, Waterfall, WaterfallSpec,
};
pub use weighted::{
    BacktestSpec, PROBABILITY_DECIMALS, ProbabilitySource, StageRate, StageWinRates,
    WeightedBacktest, WeightedPipeline, probability_decimal,
};
pub use win_rate::{NoDecision, WinRate, WinRateBasis, WinRateCount, WinRateSpec};
