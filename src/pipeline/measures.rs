//! Sales measures: win rate, sales cycle, deal aging, pipeline velocity, coverage,
//! slippage and forecast-category roll-ups.

use chrono::{DateTime, TimeDelta, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::history::{Key, PipelineHistory, Row, key};
use super::waterfall::{Flow, PipelineScope};
use crate::distribution::{ExactDistribution, Summary};
use crate::error::{Error, RecordRef, Result};
use crate::funnel::StageKind;
use crate::ids::OpportunityId;
use crate::money::{Currency, Money};
use crate::period::{DateRange, Window};
use crate::ratio::{Confidence, Interval, IntervalMethod, Ratio};
use crate::records::ForecastCategory;

const SECONDS_PER_DAY: u64 = 86_400;

/// Whole seconds from `a` to `b` (0 if `b` is before `a`).
pub(crate) fn seconds_between(a: DateTime<Utc>, b: DateTime<Utc>) -> u64 {
    u64::try_from(b.signed_duration_since(a).num_seconds()).unwrap_or(0)
}

pub(crate) fn in_window(window: Option<&Window>, at: DateTime<Utc>) -> bool {
    window.is_none_or(|w| w.contains(at))
}

// ---------------------------------------------------------------------------
// Win rate
// ---------------------------------------------------------------------------

/// The denominator of a win rate. The numerator is always the deals won.
///
/// Counts are taken from each deal's state as of [`WinRateSpec::as_of`]; see
/// [`WinRateSpec::window`] for which deals are counted, and
/// [`PipelineHistory::win_rate`] for every basis on one history.
///
/// ```
/// use revops::pipeline::WinRateBasis;
/// assert_eq!(WinRateBasis::default(), WinRateBasis::ClosedOnly);
/// let json = serde_json::to_string(&WinRateBasis::ClosedPlusStale { days: 90 })?;
/// assert_eq!(json, r#"{"closed_plus_stale":{"days":90}}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WinRateBasis {
    /// Won / (won + lost): closed deals only, without the "no decision" ones (the
    /// default).
    #[default]
    ClosedOnly,
    /// Won / (won + lost + no decision): closed deals, including those that ended
    /// without a decision (see [`NoDecision`]).
    ClosedPlusNoDecision,
    /// Won / all deals created in the cohort (window over the creation instant),
    /// whatever their state: open deals count as not won.
    AllCreated,
    /// Won / (won + lost + stale): open deals unchanged for at least `days` days at
    /// `as_of` count as losses. A stale deal "closes" at its last change + `days`.
    ClosedPlusStale {
        /// Days without a change after which an open deal is stale.
        days: u32,
    },
}

/// Which closed deals ended "without a decision". A deal closed in such a stage is
/// excluded from [`WinRateBasis::ClosedOnly`] and counted by
/// [`WinRateBasis::ClosedPlusNoDecision`].
///
/// ```
/// use revops::{pipeline::NoDecision, pipeline::WinRateBasis, pipeline::WinRateSpec};
/// use chrono::{TimeZone, Utc};
/// let spec = WinRateSpec::new(Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap())
///     .with_basis(WinRateBasis::ClosedPlusNoDecision)
///     .with_no_decision(NoDecision::Stages(vec!["closed_no_decision".into()]));
/// assert_ne!(spec.no_decision, NoDecision::default());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoDecision {
    /// Terminal stages that are neither won nor lost: [`StageKind::Disqualified`] and
    /// [`StageKind::Recycled`] (the default). Funnels whose only exits are won and
    /// lost (Salesforce's, Maven's) then have no "no decision" deals.
    #[default]
    ExitStages,
    /// These stages (keys, names or aliases of the funnel), e.g. a lost-kind
    /// `"closed_no_decision"` stage. Each must be a terminal, non-won stage.
    Stages(Vec<String>),
}

/// What win rate to compute.
///
/// ```
/// use revops::{pipeline::WinRateBasis, pipeline::WinRateSpec};
/// use chrono::{TimeZone, Utc};
/// let spec = WinRateSpec::new(Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap())
///     .with_basis(WinRateBasis::ClosedPlusStale { days: 90 });
/// assert!(spec.window.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WinRateSpec {
    /// The instant the deals' states are read at.
    pub as_of: DateTime<Utc>,
    /// The denominator; default [`WinRateBasis::ClosedOnly`].
    pub basis: WinRateBasis,
    /// Which deals count, if not all that exist at `as_of`: for the closed bases,
    /// deals whose closing instant ([`OpportunityState::closed_at`](crate::pipeline::OpportunityState::closed_at))
    /// (for stale deals, the instant they became stale) is in the window; for
    /// [`WinRateBasis::AllCreated`], deals created in the window (the cohort).
    pub window: Option<Window>,
    /// Which closed deals are "no decision"; default [`NoDecision::ExitStages`].
    pub no_decision: NoDecision,
    /// The interval method; default Wilson.
    pub method: IntervalMethod,
    /// The interval's confidence; default 95 %.
    pub confidence: Confidence,
}

impl WinRateSpec {
    /// Closed-only win rate over every deal that exists at `as_of`, Wilson 95 %.
    pub fn new(as_of: DateTime<Utc>) -> WinRateSpec {
        WinRateSpec {
            as_of,
            basis: WinRateBasis::ClosedOnly,
            window: None,
            no_decision: NoDecision::ExitStages,
            method: IntervalMethod::Wilson,
            confidence: Confidence::P95,
        }
    }

    /// Sets the basis.
    #[must_use]
    pub fn with_basis(mut self, basis: WinRateBasis) -> WinRateSpec {
        self.basis = basis;
        self
    }

    /// Restricts the deals to a window (see [`WinRateSpec::window`]).
    #[must_use]
    pub fn with_window(mut self, window: Window) -> WinRateSpec {
        self.window = Some(window);
        self
    }

    /// Sets the no-decision rule.
    #[must_use]
    pub fn with_no_decision(mut self, no_decision: NoDecision) -> WinRateSpec {
        self.no_decision = no_decision;
        self
    }

    /// Sets the interval method and confidence.
    #[must_use]
    pub fn with_interval(mut self, method: IntervalMethod, confidence: Confidence) -> WinRateSpec {
        self.method = method;
        self.confidence = confidence;
        self
    }
}

/// A win rate with every count behind it, computed by [`PipelineHistory::win_rate`]
/// (see it for an example).
///
/// A monoid over deals: [`WinRate::merge`] adds the counts (of the same basis) and
/// recomputes the ratio and interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WinRate {
    /// The denominator used.
    pub basis: WinRateBasis,
    /// Deals won.
    pub won: u64,
    /// Deals lost (closed in a non-won stage that is not "no decision").
    pub lost: u64,
    /// Deals closed without a decision.
    pub no_decision: u64,
    /// Open deals counted as stale ([`WinRateBasis::ClosedPlusStale`] only; with a
    /// window, a deal that became stale outside it is counted nowhere).
    pub stale: u64,
    /// Other open deals: informational, in the denominator only for
    /// [`WinRateBasis::AllCreated`] (for the closed bases: every non-stale open deal
    /// at `as_of`, not filtered by the window).
    pub open: u64,
    /// Won over the basis' denominator.
    pub ratio: Ratio,
    /// The ratio's confidence interval (`None` with a zero denominator).
    pub interval: Option<Interval>,
    /// The interval method.
    pub method: IntervalMethod,
    /// The interval's confidence.
    pub confidence: Confidence,
}

impl WinRate {
    fn empty(spec: &WinRateSpec) -> WinRate {
        WinRate {
            basis: spec.basis,
            won: 0,
            lost: 0,
            no_decision: 0,
            stale: 0,
            open: 0,
            ratio: Ratio::default(),
            interval: None,
            method: spec.method,
            confidence: spec.confidence,
        }
    }

    fn finish(&mut self) {
        let denominator = match self.basis {
            WinRateBasis::ClosedOnly => self.won + self.lost,
            WinRateBasis::ClosedPlusNoDecision => self.won + self.lost + self.no_decision,
            WinRateBasis::AllCreated => self.won + self.lost + self.no_decision + self.open,
            WinRateBasis::ClosedPlusStale { .. } => self.won + self.lost + self.stale,
        };
        self.ratio = Ratio::new(self.won, denominator);
        self.interval = self.ratio.interval(self.method, self.confidence);
    }

    /// Adds another win rate's counts.
    ///
    /// ```
    /// use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId, pipeline::PipelineHistory, pipeline::WinRateSpec};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    /// let deal = |id, stage| -> Result<PipelineHistory, revops::Error> {
    ///     let row = OpportunityChange::new(OpportunityId::new(id)?, t, stage, Money::parse("1", Currency::USD)?);
    ///     PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &[row])
    /// };
    /// let spec = WinRateSpec::new(t);
    /// let mut rate = deal("A", "closed_won")?.win_rate(&spec)?;
    /// rate.merge(&deal("B", "closed_lost")?.win_rate(&spec)?)?;
    /// assert_eq!(rate.ratio.to_string(), "1 / 2 (50.0%)");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`"basis"`) if the bases differ.
    pub fn merge(&mut self, other: &WinRate) -> Result<()> {
        if self.basis != other.basis {
            return Err(Error::InvalidParameter {
                name: "basis",
                value: format!("{:?}", other.basis),
                reason: format!("cannot merge into a win rate on {:?}", self.basis),
            });
        }
        self.won += other.won;
        self.lost += other.lost;
        self.no_decision += other.no_decision;
        self.stale += other.stale;
        self.open += other.open;
        self.finish();
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Sales cycle
// ---------------------------------------------------------------------------

/// Which closed deals a sales-cycle length is measured on.
///
/// ```
/// use revops::pipeline::CycleOutcome;
/// assert_eq!(CycleOutcome::default(), CycleOutcome::Won);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CycleOutcome {
    /// Won deals (the default).
    #[default]
    Won,
    /// Deals closed in any non-won terminal stage.
    Lost,
    /// Every closed deal.
    Closed,
}

/// What sales cycle to measure.
///
/// ```
/// use revops::{pipeline::CycleOutcome, pipeline::SalesCycleSpec, Window};
/// use chrono::{TimeZone, Utc};
/// # fn main() -> Result<(), revops::Error> {
/// let t = |m| Utc.with_ymd_and_hms(2026, m, 1, 0, 0, 0).unwrap();
/// let q2 = SalesCycleSpec::new(t(7))
///     .with_outcome(CycleOutcome::Closed)
///     .with_window(Window::new(t(4), t(7))?);
/// assert_eq!(q2.window.map(|w| w.start()), Some(t(4)));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SalesCycleSpec {
    /// Deals closed at or before this instant count.
    pub as_of: DateTime<Utc>,
    /// Which outcome; default won.
    pub outcome: CycleOutcome,
    /// Only deals whose closing instant is in the window, if set.
    pub window: Option<Window>,
}

impl SalesCycleSpec {
    /// The cycle of won deals closed by `as_of`.
    pub fn new(as_of: DateTime<Utc>) -> SalesCycleSpec {
        SalesCycleSpec {
            as_of,
            outcome: CycleOutcome::Won,
            window: None,
        }
    }

    /// Sets the outcome.
    #[must_use]
    pub fn with_outcome(mut self, outcome: CycleOutcome) -> SalesCycleSpec {
        self.outcome = outcome;
        self
    }

    /// Restricts to deals closed in `window`.
    #[must_use]
    pub fn with_window(mut self, window: Window) -> SalesCycleSpec {
        self.window = Some(window);
        self
    }
}

/// Sales cycle lengths: for each closed deal, seconds from creation (first history
/// row) to its closing instant. Computed by [`PipelineHistory::sales_cycle`] (see it
/// for an example). A monoid: [`SalesCycle::merge`] appends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SalesCycle {
    /// The outcome measured.
    pub outcome: CycleOutcome,
    /// One duration (seconds) per deal.
    pub durations: ExactDistribution,
}

impl SalesCycle {
    /// Count, mean, median and quartiles (type-7), or `None` without deals.
    pub fn summary(&self) -> Option<Summary> {
        // An exact distribution always finishes (its `Result` is the contract's).
        self.durations.finish().ok().flatten()
    }

    /// The exact mean in days (sum of seconds / (count × 86 400), to 28 significant
    /// digits), or `None` without deals.
    pub fn mean_days(&self) -> Option<Decimal> {
        let n = self.durations.count();
        let sum: u128 = self.durations.values().iter().map(|&s| u128::from(s)).sum();
        let den = Decimal::from(n).checked_mul(Decimal::from(SECONDS_PER_DAY))?;
        Decimal::try_from_i128_with_scale(i128::try_from(sum).ok()?, 0)
            .ok()?
            .checked_div(den)
    }

    /// Appends another cycle's durations.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`"outcome"`) if the outcomes differ.
    pub fn merge(&mut self, other: &SalesCycle) -> Result<()> {
        if self.outcome != other.outcome {
            return Err(Error::InvalidParameter {
                name: "outcome",
                value: format!("{:?}", other.outcome),
                reason: format!("cannot merge into a {:?} cycle", self.outcome),
            });
        }
        self.durations.merge(&other.durations)
    }
}

// ---------------------------------------------------------------------------
// Aging
// ---------------------------------------------------------------------------

/// Deal aging in one stage: see [`PipelineHistory::aging`] for an example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageAging {
    /// Stage position in the funnel.
    pub stage: usize,
    /// Stage key.
    pub key: String,
    /// Open deals in this stage at `as_of`: seconds since they entered it.
    pub open: ExactDistribution,
    /// Deals closed by `as_of` that were ever in this (open) stage: the total seconds
    /// each spent in it (all visits summed). Empty for terminal stages.
    pub closed: ExactDistribution,
}

/// Deal aging per stage, in funnel order (one entry per stage), computed by
/// [`PipelineHistory::aging`] (see it for an example). A monoid: [`Aging::merge`]
/// appends stage by stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aging {
    /// One entry per funnel stage.
    pub stages: Vec<StageAging>,
}

impl Aging {
    /// Appends another report's durations, stage by stage.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`"stages"`) if the stage lists differ.
    pub fn merge(&mut self, other: &Aging) -> Result<()> {
        let same = self.stages.len() == other.stages.len()
            && self
                .stages
                .iter()
                .zip(&other.stages)
                .all(|(a, b)| a.key == b.key);
        if !same {
            return Err(Error::InvalidParameter {
                name: "stages",
                value: other.stages.len().to_string(),
                reason: "aging reports of different funnels cannot be merged".into(),
            });
        }
        for (a, b) in self.stages.iter_mut().zip(&other.stages) {
            a.open.merge(&b.open)?;
            a.closed.merge(&b.closed)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Velocity
// ---------------------------------------------------------------------------

/// What pipeline velocity to compute.
///
/// ```
/// use revops::{pipeline::PipelineScope, pipeline::PipelineVelocitySpec, pipeline::WinRateBasis};
/// use chrono::{TimeZone, Utc};
/// let spec = PipelineVelocitySpec::new(Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap())
///     .with_basis(WinRateBasis::ClosedPlusNoDecision);
/// assert_eq!(spec.scope, PipelineScope::Rolling);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineVelocitySpec {
    /// The instant the open pipeline is counted at, and the closed deals read.
    pub as_of: DateTime<Utc>,
    /// Which open deals count; default rolling (all).
    pub scope: PipelineScope,
    /// The closed deals the average deal, win rate and cycle are learnt from: those
    /// whose closing instant is in the window (all closed by `as_of` if `None`).
    pub window: Option<Window>,
    /// The win-rate basis; default closed only.
    pub basis: WinRateBasis,
}

impl PipelineVelocitySpec {
    /// Rolling scope, every closed deal, closed-only win rate.
    pub fn new(as_of: DateTime<Utc>) -> PipelineVelocitySpec {
        PipelineVelocitySpec {
            as_of,
            scope: PipelineScope::Rolling,
            window: None,
            basis: WinRateBasis::ClosedOnly,
        }
    }

    /// Sets the scope of the open deals.
    #[must_use]
    pub fn with_scope(mut self, scope: PipelineScope) -> PipelineVelocitySpec {
        self.scope = scope;
        self
    }

    /// Sets the learning window.
    #[must_use]
    pub fn with_window(mut self, window: Window) -> PipelineVelocitySpec {
        self.window = Some(window);
        self
    }

    /// Sets the win-rate basis.
    #[must_use]
    pub fn with_basis(mut self, basis: WinRateBasis) -> PipelineVelocitySpec {
        self.basis = basis;
        self
    }
}

/// Pipeline velocity, money per day: `opportunities × average deal × win rate /
/// cycle days`, with each input reported. Computed by
/// [`PipelineHistory::pipeline_velocity`] (see it for an example).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineVelocity {
    /// Open deals in scope at `as_of`.
    pub opportunities: u64,
    /// Won deals learnt from (closed won in the window).
    pub won_deals: u64,
    /// Their mean amount (exact quotient), or `None` without won deals.
    pub average_deal: Option<Money>,
    /// The win rate (same window, chosen basis).
    pub win_rate: WinRate,
    /// Mean won sales cycle in days (exact quotient), or `None` without won deals.
    pub cycle_days: Option<Decimal>,
    /// The velocity in money per day (not rounded), or `None` when an input is
    /// missing, the win rate has no denominator or the cycle is zero.
    pub per_day: Option<Money>,
}

// ---------------------------------------------------------------------------
// Coverage
// ---------------------------------------------------------------------------

/// Pipeline coverage of the remaining quota of a period, computed by
/// [`PipelineHistory::coverage`] (see it for an example).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// The instant of the reading.
    pub as_of: DateTime<Utc>,
    /// The period (close dates).
    pub period: DateRange,
    /// Open deals with a close date in the period.
    pub pipeline: Flow,
    /// Won deals with a close date in the period.
    pub won: Flow,
    /// The quota of the period.
    pub quota: Money,
    /// `quota − won` (may be negative).
    pub remaining: Money,
    /// `pipeline / remaining` (exact quotient), or `None` when `remaining ≤ 0` (the
    /// quota is met: coverage is not meaningful).
    pub ratio: Option<Decimal>,
}

// ---------------------------------------------------------------------------
// Slippage
// ---------------------------------------------------------------------------

/// One pushed deal of a [`Slippage`] report (see [`PipelineHistory::slippage`] for an
/// example).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlippedDeal {
    /// The deal.
    pub opportunity: OpportunityId,
    /// Pushes in the window.
    pub pushes: u32,
    /// Days the close date moved out, summed over its pushes.
    pub days: i64,
    /// The deal's amount after its last push in the window.
    pub amount: Money,
}

/// Close-date slippage within a window.
///
/// A **push** is a history row in the window, of a deal open before and after it,
/// whose close date is later than the previous row's (both set). The deals at risk
/// are those open at some instant of the window (open at its start, or with an open
/// row inside it). Computed by [`PipelineHistory::slippage`] (see it for an example).
/// A monoid: [`Slippage::merge`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slippage {
    /// The window.
    pub window: Window,
    /// Deals at risk.
    pub deals: u64,
    /// Pushes.
    pub pushes: u64,
    /// Pushes per deal at risk (`pushes / deals`; may exceed 1).
    pub pushes_per_deal: Ratio,
    /// Deals pushed at least once.
    pub pushed_deals: u64,
    /// Deals pushed two or more times.
    pub pushed_twice_or_more: u64,
    /// Slipped amount: the pushed deals' amounts after their last push, each deal
    /// once.
    pub slipped: Money,
    /// The pushed deals.
    pub per_deal: Vec<SlippedDeal>,
}

impl Slippage {
    /// Adds another report over the same window.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`"window"`) if the windows differ;
    /// [`Error::CurrencyMismatch`] or [`Error::Overflow`].
    pub fn merge(&mut self, other: &Slippage) -> Result<()> {
        if self.window != other.window {
            return Err(Error::InvalidParameter {
                name: "window",
                value: format!("{:?}", other.window),
                reason: "slippage reports of different windows cannot be merged".into(),
            });
        }
        self.slipped = self.slipped.checked_add(&other.slipped)?;
        self.deals += other.deals;
        self.pushes += other.pushes;
        self.pushed_deals += other.pushed_deals;
        self.pushed_twice_or_more += other.pushed_twice_or_more;
        self.pushes_per_deal = Ratio::new(self.pushes, self.deals);
        self.per_deal.extend_from_slice(&other.per_deal);
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Forecast roll-ups
// ---------------------------------------------------------------------------

/// Forecast-category roll-ups as of an instant, in exact money.
///
/// Deals counted: every deal that exists at `as_of` whose close date is covered by
/// the scope (all deals in rolling mode). A deal's category is the one on its row in
/// effect, or, if none, the one implied by its stage
/// ([`OpportunityState::category`](crate::pipeline::OpportunityState::category)). Computed by
/// [`PipelineHistory::forecast_rollup`] (see it for an example).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastRollup {
    /// The instant.
    pub as_of: DateTime<Utc>,
    /// The scope (close dates).
    pub scope: PipelineScope,
    /// Amount and deals per category, in [`ForecastCategory::ALL`] order.
    pub by_category: [Flow; 6],
    /// Commit roll-up: Commit + Closed.
    pub commit: Money,
    /// Best-case roll-up: Best Case + Most Likely + Commit + Closed.
    pub best_case: Money,
    /// Pipeline roll-up: every open deal in scope, whatever its category.
    pub pipeline: Flow,
}

impl ForecastRollup {
    /// The flow of one category.
    pub fn category(&self, c: ForecastCategory) -> &Flow {
        &self.by_category[c as usize]
    }

    /// Adds another roll-up's amounts (same instant and scope) and recomputes the
    /// roll-ups.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`"as_of"` or `"scope"`) if the instants or scopes
    /// differ; [`Error::CurrencyMismatch`] or [`Error::Overflow`].
    pub fn merge(&mut self, other: &ForecastRollup) -> Result<()> {
        if self.as_of != other.as_of || self.scope != other.scope {
            let name = if self.as_of != other.as_of {
                "as_of"
            } else {
                "scope"
            };
            return Err(Error::InvalidParameter {
                name,
                value: format!("{} / {:?}", other.as_of, other.scope),
                reason: "roll-ups of different instants or scopes cannot be merged".into(),
            });
        }
        for (a, b) in self.by_category.iter_mut().zip(&other.by_category) {
            a.merge(b)?;
        }
        self.pipeline.merge(&other.pipeline)?;
        self.roll_up()
    }

    fn roll_up(&mut self) -> Result<()> {
        use ForecastCategory::*;
        let c = |k: ForecastCategory| &self.by_category[k as usize].amount;
        self.commit = c(Commit).checked_add(c(Closed))?;
        self.best_case = c(BestCase)
            .checked_add(c(MostLikely))?
            .checked_add(&self.commit)?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// The engines
// ---------------------------------------------------------------------------

impl PipelineHistory {
    fn no_decision_stages(&self, rule: &NoDecision) -> Result<Vec<bool>> {
        match rule {
            NoDecision::ExitStages => Ok(self
                .kinds
                .iter()
                .map(|k| matches!(k, StageKind::Disqualified | StageKind::Recycled))
                .collect()),
            NoDecision::Stages(keys) => {
                let mut set = vec![false; self.kinds.len()];
                for key in keys {
                    let s = self
                        .funnel()
                        .resolve(key, || RecordRef::new("no-decision stage").with_id(key))?;
                    if !self.kinds[s].is_terminal() || self.kinds[s] == StageKind::Won {
                        return Err(Error::InvalidParameter {
                            name: "no_decision",
                            value: key.clone(),
                            reason: "a no-decision stage must be a terminal, non-won stage".into(),
                        });
                    }
                    set[s] = true;
                }
                Ok(set)
            }
        }
    }

    /// The win rate on the chosen basis.
    ///
    /// ```
    /// use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId, pipeline::PipelineHistory,
    ///     pipeline::WinRateBasis, pipeline::WinRateSpec};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
    /// let ch = |id, d, stage| -> Result<OpportunityChange, revops::Error> {
    ///     Ok(OpportunityChange::new(OpportunityId::new(id)?, t(d), stage, Money::parse("10", Currency::USD)?))
    /// };
    /// let rows = vec![
    ///     ch("A", 1, "prospecting")?, ch("A", 5, "closed_won")?,
    ///     ch("B", 1, "prospecting")?, ch("B", 6, "closed_lost")?,
    ///     ch("C", 1, "prospecting")?, ch("C", 2, "qualification")?, // stale by the 30th
    ///     ch("D", 1, "prospecting")?, ch("D", 28, "qualification")?, // recently active
    /// ];
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
    /// let closed = h.win_rate(&WinRateSpec::new(t(30)))?;
    /// assert_eq!((closed.ratio.numerator, closed.ratio.denominator), (1, 2));
    /// assert!(closed.interval.is_some());
    /// let stale = h.win_rate(&WinRateSpec::new(t(30)).with_basis(WinRateBasis::ClosedPlusStale { days: 14 }))?;
    /// assert_eq!((stale.ratio.numerator, stale.ratio.denominator, stale.open), (1, 3, 1));
    /// let cohort = h.win_rate(&WinRateSpec::new(t(30)).with_basis(WinRateBasis::AllCreated))?;
    /// assert_eq!(cohort.ratio.denominator, 4);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownStage`] or [`Error::InvalidParameter`] for a bad
    /// [`NoDecision::Stages`] list.
    pub fn win_rate(&self, spec: &WinRateSpec) -> Result<WinRate> {
        let no_decision = self.no_decision_stages(&spec.no_decision)?;
        let window = spec.window.as_ref();
        let mut w = WinRate::empty(spec);
        let at = key(spec.as_of);
        for o in 0..self.len() {
            let rs = self.rows_of(o);
            let Some(r) = self.row_at(o, at) else {
                continue;
            };
            let kind = self.kind(r);
            if spec.basis == WinRateBasis::AllCreated {
                if !in_window(window, rs[0].at) {
                    continue;
                }
            } else if kind.is_terminal() && !in_window(window, r.status_since(rs)) {
                continue;
            }
            match kind {
                StageKind::Won => w.won += 1,
                k if k.is_terminal() => {
                    if no_decision[usize::from(r.stage)] {
                        w.no_decision += 1;
                    } else {
                        w.lost += 1;
                    }
                }
                _ => match spec.basis {
                    WinRateBasis::ClosedPlusStale { days } => {
                        let after = TimeDelta::days(i64::from(days));
                        if spec.as_of.signed_duration_since(r.at) >= after {
                            let stale_at = r.at.checked_add_signed(after).unwrap_or(r.at);
                            if in_window(window, stale_at) {
                                w.stale += 1;
                            }
                        } else {
                            w.open += 1;
                        }
                    }
                    _ => w.open += 1,
                },
            }
        }
        w.finish();
        Ok(w)
    }

    fn closed_row(&self, o: usize, as_of: Key) -> Option<&Row> {
        self.row_at(o, as_of).filter(|r| self.kind(r).is_terminal())
    }

    /// Sales cycle lengths: creation (first row) to closing instant, per closed deal.
    ///
    /// ```
    /// use revops::{pipeline::CycleOutcome, Currency, Funnel, Money, OpportunityChange, OpportunityId,
    ///     pipeline::PipelineHistory, pipeline::SalesCycleSpec};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
    /// let ch = |id, d, stage| -> Result<OpportunityChange, revops::Error> {
    ///     Ok(OpportunityChange::new(OpportunityId::new(id)?, t(d), stage, Money::parse("10", Currency::USD)?))
    /// };
    /// let rows = vec![
    ///     ch("A", 1, "prospecting")?, ch("A", 11, "closed_won")?,
    ///     ch("B", 1, "prospecting")?, ch("B", 21, "closed_won")?,
    ///     ch("C", 2, "prospecting")?, ch("C", 4, "closed_lost")?,
    /// ];
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
    /// let won = h.sales_cycle(&SalesCycleSpec::new(t(30)));
    /// assert_eq!(won.summary().map(|s| s.median_days()), Some(15.0));
    /// assert_eq!(won.mean_days(), Some(revops::Decimal::from(15)));
    /// let all = h.sales_cycle(&SalesCycleSpec::new(t(30)).with_outcome(CycleOutcome::Closed));
    /// assert_eq!(all.summary().map(|s| s.count), Some(3));
    /// # Ok(()) }
    /// ```
    pub fn sales_cycle(&self, spec: &SalesCycleSpec) -> SalesCycle {
        let window = spec.window.as_ref();
        let mut durations = ExactDistribution::default();
        let at = key(spec.as_of);
        for o in 0..self.len() {
            let rs = self.rows_of(o);
            let Some(r) = self.closed_row(o, at) else {
                continue;
            };
            let won = self.kind(r) == StageKind::Won;
            let wanted = match spec.outcome {
                CycleOutcome::Won => won,
                CycleOutcome::Lost => !won,
                CycleOutcome::Closed => true,
            };
            if wanted && in_window(window, r.status_since(rs)) {
                durations.add(seconds_between(rs[0].at, r.status_since(rs)));
            }
        }
        SalesCycle {
            outcome: spec.outcome,
            durations,
        }
    }

    /// Deal aging per stage as of `as_of`: time in the current stage for open deals,
    /// time spent in each open stage for deals closed by `as_of` (whose closing
    /// instant is in `closed_window`, if given).
    ///
    /// ```
    /// use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId, pipeline::PipelineHistory};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
    /// let ch = |id, d, stage| -> Result<OpportunityChange, revops::Error> {
    ///     Ok(OpportunityChange::new(OpportunityId::new(id)?, t(d), stage, Money::parse("10", Currency::USD)?))
    /// };
    /// let rows = vec![
    ///     ch("A", 1, "prospecting")?, ch("A", 4, "qualification")?, // open, 6 days in qualification on the 10th
    ///     ch("B", 1, "prospecting")?, ch("B", 3, "qualification")?, ch("B", 8, "closed_lost")?,
    /// ];
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
    /// let aging = h.aging(t(10), None);
    /// let q = &aging.stages[1];
    /// assert_eq!(q.key, "qualification");
    /// assert_eq!(q.open.values(), &[6 * 86_400]);
    /// assert_eq!(q.closed.values(), &[5 * 86_400]);
    /// assert_eq!(aging.stages[0].closed.values(), &[2 * 86_400]);
    /// # Ok(()) }
    /// ```
    pub fn aging(&self, as_of: DateTime<Utc>, closed_window: Option<Window>) -> Aging {
        let mut stages: Vec<StageAging> = self
            .funnel()
            .stages()
            .iter()
            .enumerate()
            .map(|(i, s)| StageAging {
                stage: i,
                key: s.key.clone(),
                open: ExactDistribution::default(),
                closed: ExactDistribution::default(),
            })
            .collect();
        let mut spent: Vec<Option<u64>> = vec![None; stages.len()];
        let mut touched: Vec<usize> = Vec::new();
        let at = key(as_of);
        for o in 0..self.len() {
            let rs = self.rows_of(o);
            let Some(k) = self.position_at(o, at) else {
                continue;
            };
            let r = &rs[k];
            if !self.kind(r).is_terminal() {
                stages[usize::from(r.stage)]
                    .open
                    .add(seconds_between(r.stage_since(rs), as_of));
                continue;
            }
            if !in_window(closed_window.as_ref(), r.status_since(rs)) {
                continue;
            }
            for i in 0..k {
                let s = usize::from(rs[i].stage);
                if self.kinds[s].is_terminal() {
                    continue;
                }
                let d = seconds_between(rs[i].at, rs[i + 1].at);
                match &mut spent[s] {
                    Some(total) => *total += d,
                    slot @ None => {
                        *slot = Some(d);
                        touched.push(s);
                    }
                }
            }
            for &s in &touched {
                if let Some(total) = spent[s].take() {
                    stages[s].closed.add(total);
                }
            }
            touched.clear();
        }
        Aging { stages }
    }

    /// Pipeline velocity: open deals in scope × average won deal × win rate / mean
    /// won cycle (days), all learnt from deals closed in `spec.window`.
    ///
    /// ```
    /// use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId, pipeline::PipelineHistory,
    ///     pipeline::PipelineVelocitySpec};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
    /// let ch = |id, d, stage, a| -> Result<OpportunityChange, revops::Error> {
    ///     Ok(OpportunityChange::new(OpportunityId::new(id)?, t(d), stage, Money::parse(a, Currency::USD)?))
    /// };
    /// let rows = vec![
    ///     ch("A", 1, "prospecting", "100")?, ch("A", 11, "closed_won", "100")?, // 10 days
    ///     ch("B", 1, "prospecting", "300")?, ch("B", 11, "closed_won", "300")?, // 10 days
    ///     ch("C", 1, "prospecting", "50")?, ch("C", 5, "closed_lost", "50")?,
    ///     ch("D", 1, "prospecting", "50")?, ch("D", 5, "closed_lost", "50")?,
    ///     ch("E", 20, "prospecting", "80")?, ch("F", 21, "prospecting", "80")?,
    /// ];
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
    /// let v = h.pipeline_velocity(&PipelineVelocitySpec::new(t(25)))?;
    /// // 2 open deals × 200 average × 2/4 won / 10 days = 20 a day
    /// assert_eq!(v.opportunities, 2);
    /// assert_eq!(v.average_deal, Some(Money::parse("200", Currency::USD)?));
    /// assert_eq!(v.per_day.map(|m| m.round_to_minor_units()), Some(Money::parse("20", Currency::USD)?));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Overflow`].
    pub fn pipeline_velocity(&self, spec: &PipelineVelocitySpec) -> Result<PipelineVelocity> {
        let overflow = || Error::Overflow {
            operation: "pipeline velocity",
        };
        let window = spec.window.as_ref();
        let mut opportunities = 0u64;
        let mut won_sum = Decimal::ZERO;
        let mut won_deals = 0u64;
        let mut cycle_seconds = 0u128;
        let at = key(spec.as_of);
        for o in 0..self.len() {
            let rs = self.rows_of(o);
            let Some(r) = self.row_at(o, at) else {
                continue;
            };
            if self.in_scope(&spec.scope, r) {
                opportunities += 1;
            } else if self.kind(r) == StageKind::Won && in_window(window, r.status_since(rs)) {
                won_deals += 1;
                won_sum = won_sum.checked_add(r.amount).ok_or_else(overflow)?;
                cycle_seconds += u128::from(seconds_between(rs[0].at, r.status_since(rs)));
            }
        }
        let mut rate_spec = WinRateSpec::new(spec.as_of).with_basis(spec.basis);
        rate_spec.window = spec.window;
        let win_rate = self.win_rate(&rate_spec)?;
        let (average_deal, cycle_days) = if won_deals == 0 {
            (None, None)
        } else {
            let n = Decimal::from(won_deals);
            let avg = won_sum.checked_div(n).ok_or_else(overflow)?;
            let secs = i128::try_from(cycle_seconds)
                .ok()
                .and_then(|s| Decimal::try_from_i128_with_scale(s, 0).ok())
                .ok_or_else(overflow)?;
            let days = n
                .checked_mul(Decimal::from(SECONDS_PER_DAY))
                .and_then(|den| secs.checked_div(den))
                .ok_or_else(overflow)?;
            (Some(avg), Some(days))
        };
        let per_day = match (average_deal, cycle_days) {
            (Some(avg), Some(days)) if !days.is_zero() && win_rate.ratio.denominator > 0 => {
                let rate = Decimal::from(win_rate.ratio.numerator)
                    .checked_div(Decimal::from(win_rate.ratio.denominator))
                    .ok_or_else(overflow)?;
                let v = Decimal::from(opportunities)
                    .checked_mul(avg)
                    .and_then(|x| x.checked_mul(rate))
                    .and_then(|x| x.checked_div(days))
                    .ok_or_else(overflow)?;
                Some(self.money(v))
            }
            _ => None,
        };
        Ok(PipelineVelocity {
            opportunities,
            won_deals,
            average_deal: average_deal.map(|a| self.money(a)),
            win_rate,
            cycle_days,
            per_day,
        })
    }

    /// Coverage of the remaining quota of `period` by the open pipeline closing in it,
    /// as of `as_of`.
    ///
    /// ```
    /// use revops::{Currency, DateRange, Funnel, Money, OpportunityChange, OpportunityId, pipeline::PipelineHistory};
    /// use chrono::{NaiveDate, TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
    /// let usd = |s| Money::parse(s, Currency::USD);
    /// let march = DateRange::new(NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(), NaiveDate::from_ymd_opt(2026, 3, 31).unwrap())?;
    /// let mut won = OpportunityChange::new(OpportunityId::new("A")?, t(3), "closed_won", usd("400")?);
    /// won.close_date = NaiveDate::from_ymd_opt(2026, 3, 3);
    /// let mut open = OpportunityChange::new(OpportunityId::new("B")?, t(2), "prospecting", usd("1200")?);
    /// open.close_date = NaiveDate::from_ymd_opt(2026, 3, 28);
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &[won, open])?;
    /// let c = h.coverage(t(10), march, usd("1000")?)?;
    /// assert_eq!(c.remaining, usd("600")?);
    /// assert_eq!(c.ratio, Some(revops::Decimal::from(2))); // 1200 / 600
    /// assert_eq!(h.coverage(t(10), march, usd("300")?)?.ratio, None); // quota met
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::CurrencyMismatch`] if the quota is in another currency;
    /// [`Error::InvalidParameter`] (`"quota"`) for a negative quota;
    /// [`Error::Overflow`].
    pub fn coverage(
        &self,
        as_of: DateTime<Utc>,
        period: DateRange,
        quota: Money,
    ) -> Result<Coverage> {
        if quota.currency() != self.currency() {
            return Err(Error::CurrencyMismatch {
                expected: self.currency().to_string(),
                got: quota.currency().to_string(),
            });
        }
        if quota.is_negative() {
            return Err(Error::InvalidParameter {
                name: "quota",
                value: quota.to_string(),
                reason: "a quota must not be negative".into(),
            });
        }
        let scope = PipelineScope::Period(period);
        let mut pipeline = Flow::zero(self.currency());
        let mut won = Flow::zero(self.currency());
        let at = key(as_of);
        for o in 0..self.len() {
            let Some(r) = self.row_at(o, at) else {
                continue;
            };
            if self.in_scope(&scope, r) {
                pipeline.add(&self.money(r.amount))?;
            } else if self.kind(r) == StageKind::Won && scope.covers(r.close) {
                won.add(&self.money(r.amount))?;
            }
        }
        let remaining = quota.checked_sub(&won.amount)?;
        let ratio = if remaining.is_negative() || remaining.is_zero() {
            None
        } else {
            pipeline.amount.ratio_to(&remaining)?
        };
        Ok(Coverage {
            as_of,
            period,
            pipeline,
            won,
            quota,
            remaining,
            ratio,
        })
    }

    /// Close-date slippage within `window` (see [`Slippage`] for the definitions).
    ///
    /// ```
    /// use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId, pipeline::PipelineHistory, Window};
    /// use chrono::{NaiveDate, TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
    /// let row = |d, close: u32| -> Result<OpportunityChange, revops::Error> {
    ///     let mut c = OpportunityChange::new(OpportunityId::new("A")?, t(d), "prospecting", Money::parse("10", Currency::USD)?);
    ///     c.close_date = NaiveDate::from_ymd_opt(2026, 4, close);
    ///     Ok(c)
    /// };
    /// let rows = vec![row(1, 1)?, row(5, 11)?, row(9, 21)?, row(12, 15)?]; // two pushes, then a pull-in
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
    /// let s = h.slippage(&Window::new(t(1), t(31))?)?;
    /// assert_eq!((s.deals, s.pushes, s.pushed_twice_or_more), (1, 2, 1));
    /// assert_eq!(s.per_deal[0].days, 20);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Overflow`].
    pub fn slippage(&self, window: &Window) -> Result<Slippage> {
        let mut report = Slippage {
            window: *window,
            deals: 0,
            pushes: 0,
            pushes_per_deal: Ratio::default(),
            pushed_deals: 0,
            pushed_twice_or_more: 0,
            slipped: Money::zero(self.currency()),
            per_deal: Vec::new(),
        };
        let open = |r: &Row| !self.kind(r).is_terminal();
        let start = key(window.start());
        for o in 0..self.len() {
            let rs = self.rows_of(o);
            let first = self.count_before(o, start);
            let last = self.count_before(o, key(window.end()));
            let open_at_start = self.row_at(o, start).is_some_and(open);
            let at_risk = open_at_start || rs[first..last].iter().any(open);
            if !at_risk {
                continue;
            }
            report.deals += 1;
            let (mut pushes, mut days, mut amount) = (0u32, 0i64, None);
            for k in first.max(1)..last {
                let (p, r) = (&rs[k - 1], &rs[k]);
                if let (true, true, Some(before), Some(after)) =
                    (open(p), open(r), p.close, r.close)
                    && after > before
                {
                    pushes += 1;
                    days += after.signed_duration_since(before).num_days();
                    amount = Some(r.amount);
                }
            }
            if let Some(amount) = amount {
                let amount = self.money(amount);
                report.slipped = report.slipped.checked_add(&amount)?;
                report.pushes += u64::from(pushes);
                report.pushed_deals += 1;
                if pushes >= 2 {
                    report.pushed_twice_or_more += 1;
                }
                report.per_deal.push(SlippedDeal {
                    opportunity: self.id(o).clone(),
                    pushes,
                    days,
                    amount,
                });
            }
        }
        report.pushes_per_deal = Ratio::new(report.pushes, report.deals);
        Ok(report)
    }

    /// Forecast-category roll-ups as of `as_of` over the deals whose close date the
    /// scope covers (see [`ForecastRollup`]).
    ///
    /// ```
    /// use revops::{Currency, ForecastCategory, Funnel, Money, OpportunityChange, OpportunityId,
    ///     pipeline::PipelineHistory, pipeline::PipelineScope};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
    /// let row = |id, stage, a, c| -> Result<OpportunityChange, revops::Error> {
    ///     let mut r = OpportunityChange::new(OpportunityId::new(id)?, t(1), stage, Money::parse(a, Currency::USD)?);
    ///     r.forecast_category = Some(c);
    ///     Ok(r)
    /// };
    /// let rows = vec![
    ///     row("A", "closed_won", "100", ForecastCategory::Closed)?,
    ///     row("B", "negotiation_review", "200", ForecastCategory::Commit)?,
    ///     row("C", "value_proposition", "400", ForecastCategory::BestCase)?,
    ///     row("D", "prospecting", "800", ForecastCategory::Pipeline)?,
    /// ];
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
    /// let r = h.forecast_rollup(t(2), PipelineScope::Rolling)?;
    /// let usd = |s| Money::parse(s, Currency::USD);
    /// assert_eq!((r.commit, r.best_case, r.pipeline.amount),
    ///            (usd("300")?, usd("700")?, usd("1400")?));
    /// assert_eq!(r.category(ForecastCategory::Pipeline).deals, 1);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Overflow`].
    pub fn forecast_rollup(
        &self,
        as_of: DateTime<Utc>,
        scope: PipelineScope,
    ) -> Result<ForecastRollup> {
        let cur: Currency = self.currency();
        let mut r = ForecastRollup {
            as_of,
            scope,
            by_category: std::array::from_fn(|_| Flow::zero(cur)),
            commit: Money::zero(cur),
            best_case: Money::zero(cur),
            pipeline: Flow::zero(cur),
        };
        let at = key(as_of);
        for o in 0..self.len() {
            let Some(row) = self.row_at(o, at) else {
                continue;
            };
            if !scope.covers(row.close) {
                continue;
            }
            let kind = self.kind(row);
            let category = row
                .forecast
                .unwrap_or_else(|| super::history::implied_category(kind));
            let amount = self.money(row.amount);
            r.by_category[category as usize].add(&amount)?;
            if kind == StageKind::Open {
                r.pipeline.add(&amount)?;
            }
        }
        r.roll_up()?;
        Ok(r)
    }
}
