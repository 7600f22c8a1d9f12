//! The pipeline waterfall between two instants, derived deal by deal.

use crate::error::ErrorKind;
use std::fmt;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::history::{OpportunityState, PipelineHistory, Row, key};
use crate::accumulate::{Accumulator, StateVersion};
use crate::breakdown::{Breakdown, Keys, Slots};
use crate::error::{Error, RecordRef, Result};
use crate::funnel::StageKind;
use crate::ids::OpportunityId;
use crate::money::{Currency, Money};
use crate::period::{DateRange, Period};

/// Which deals are "in the pipeline": the two modes of the waterfall, also used by
/// coverage, roll-ups and the weighted pipeline.
///
/// ```
/// use revops::{Calendar, DateRange, Granularity, pipeline::PipelineScope};
/// use chrono::NaiveDate;
/// # fn main() -> Result<(), revops::Error> {
/// let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
/// let q3 = Calendar::new().period_of_date(d(8, 1), Granularity::Quarter);
/// let scope = PipelineScope::period(&q3);
/// assert_eq!(scope, PipelineScope::Period(DateRange::new(d(7, 1), d(9, 30))?));
/// assert!(scope.covers(Some(d(9, 30))) && !scope.covers(Some(d(10, 1))) && !scope.covers(None));
/// assert!(PipelineScope::Rolling.covers(None));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PipelineScope {
    /// Period mode: open deals whose close date falls inside the range (both ends
    /// included). A deal without a close date is never in a period's pipeline.
    Period(DateRange),
    /// Rolling mode (the default): every open deal, whatever its close date.
    #[default]
    Rolling,
}

impl PipelineScope {
    /// Period mode over a calendar [`Period`] (its first to its last day).
    pub fn period(period: &Period) -> PipelineScope {
        // start() <= last_day() for every period
        match DateRange::new(period.start(), period.last_day()) {
            Ok(r) => PipelineScope::Period(r),
            Err(_) => PipelineScope::Rolling,
        }
    }

    /// Whether a close date is inside the scope (always, in rolling mode).
    pub fn covers(&self, close_date: Option<NaiveDate>) -> bool {
        match self {
            PipelineScope::Rolling => true,
            PipelineScope::Period(r) => close_date.is_some_and(|d| r.contains(d)),
        }
    }

    /// Whether a deal in this state is in the pipeline: open, and its close date
    /// covered by the scope.
    pub fn includes(&self, state: &OpportunityState) -> bool {
        state.is_open() && self.covers(state.close_date)
    }
}

/// How a deal that leaves the pipeline (won, lost or pushed out) is valued when its
/// amount also changed between the two instants.
///
/// ```
/// use revops::pipeline::ExitValuation;
/// assert_eq!(ExitValuation::default(), ExitValuation::StartAmount);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitValuation {
    /// One movement at the amount the deal had in the pipeline at `start` (the
    /// default): the exit removes exactly what the start column held, and an amount
    /// change on the way out (a closing discount, a lost deal zeroed) is not shown.
    #[default]
    StartAmount,
    /// The amount change first (an [`MovementKind::Increased`] or
    /// [`MovementKind::Decreased`] movement), then the exit at the deal's amount at
    /// `end`: `Won` is then the booked amount.
    EndAmount,
}

/// Whether a waterfall lists every deal's movements.
///
/// ```
/// use revops::pipeline::Audit;
/// assert_eq!(Audit::default(), Audit::Movements);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audit {
    /// List every movement with its deal id (the default).
    #[default]
    Movements,
    /// Columns only: [`Waterfall::movements`] stays empty (faster on millions of deals:
    /// no id is cloned).
    Totals,
}

/// The category of a pipeline movement. Inflows: `Created`, `PulledIn`, `Increased`;
/// outflows: `Decreased`, `PushedOut`, `Lost`, `Won`.
///
/// ```
/// use revops::pipeline::MovementKind;
/// let inflows: Vec<&str> = MovementKind::ALL.iter().filter(|k| k.is_inflow()).map(|k| k.as_str()).collect();
/// assert_eq!(inflows, ["created", "pulled_in", "increased"]);
/// assert_eq!(MovementKind::PushedOut.to_string(), "pushed_out");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    /// Entered the pipeline without having been in it by a close-date move: a deal
    /// created after `start`, or a deal closed at `start` and reopened.
    Created,
    /// Entered the pipeline because its close date moved into the period (either
    /// direction), or, for a deal closed in the period between the instants, was
    /// open outside the period at `start` (period mode only).
    PulledIn,
    /// In the pipeline at both instants with a larger amount at `end`.
    Increased,
    /// In the pipeline at both instants with a smaller amount at `end`.
    Decreased,
    /// Left the pipeline while still open: its close date moved out of the period
    /// (either direction) or was cleared (period mode only).
    PushedOut,
    /// Left the pipeline by closing in a terminal stage that is not won (lost,
    /// disqualified or recycled).
    Lost,
    /// Left the pipeline by closing won.
    Won,
}

impl MovementKind {
    /// Every kind, in the order of the waterfall identity.
    pub const ALL: [MovementKind; 7] = [
        MovementKind::Created,
        MovementKind::PulledIn,
        MovementKind::Increased,
        MovementKind::Decreased,
        MovementKind::PushedOut,
        MovementKind::Lost,
        MovementKind::Won,
    ];

    /// Whether the movement adds to the pipeline (`Created`, `PulledIn`, `Increased`).
    pub fn is_inflow(self) -> bool {
        matches!(
            self,
            MovementKind::Created | MovementKind::PulledIn | MovementKind::Increased
        )
    }

    /// The snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::Created => "created",
            MovementKind::PulledIn => "pulled_in",
            MovementKind::Increased => "increased",
            MovementKind::Decreased => "decreased",
            MovementKind::PushedOut => "pushed_out",
            MovementKind::Lost => "lost",
            MovementKind::Won => "won",
        }
    }
}

impl fmt::Display for MovementKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One deal's movement in a waterfall, for audit. `amount` is never negative; the
/// kind says whether it adds or removes.
///
/// ```
/// use revops::{Currency, Money, pipeline::Movement, pipeline::MovementKind, OpportunityId, pipeline::Waterfall};
/// # fn main() -> Result<(), revops::Error> {
/// let mut w = Waterfall::new(Currency::USD);
/// w.add(&Movement {
///     opportunity: OpportunityId::new("A")?,
///     kind: MovementKind::Created,
///     amount: Money::parse("25", Currency::USD)?,
/// })?;
/// assert_eq!((w.created.deals, w.movements.len()), (1, 1));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Movement {
    /// The deal.
    pub opportunity: OpportunityId,
    /// The category.
    pub kind: MovementKind,
    /// The amount moved (≥ 0).
    pub amount: Money,
}

/// An amount and the number of deals behind it.
///
/// ```
/// use revops::{Currency, pipeline::Flow, Money};
/// # fn main() -> Result<(), revops::Error> {
/// let mut a = Flow::zero(Currency::USD);
/// a.add(&Money::parse("10", Currency::USD)?)?;
/// let mut b = Flow::zero(Currency::USD);
/// b.add(&Money::parse("5.50", Currency::USD)?)?;
/// a.merge(&b)?;
/// assert_eq!((a.amount, a.deals), (Money::parse("15.50", Currency::USD)?, 2));
/// assert!(a.add(&Money::parse("1", Currency::EUR)?).is_err());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flow {
    /// The total amount.
    pub amount: Money,
    /// How many deals (or movements) it sums.
    pub deals: u64,
}

impl Flow {
    /// Zero over no deals.
    pub fn zero(currency: Currency) -> Flow {
        Flow {
            amount: Money::zero(currency),
            deals: 0,
        }
    }

    /// Adds one deal's amount.
    ///
    /// # Errors
    /// [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch) or [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
    pub fn add(&mut self, amount: &Money) -> Result<()> {
        self.amount = self.amount.checked_add(amount)?;
        self.deals = self.deals.saturating_add(1);
        Ok(())
    }

    /// Adds another flow (the monoid operation).
    ///
    /// # Errors
    /// [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch) or [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
    pub fn merge(&mut self, other: &Flow) -> Result<()> {
        self.amount = self.amount.checked_add(&other.amount)?;
        self.deals = self.deals.saturating_add(other.deals);
        Ok(())
    }
}

/// What to compute: the two instants, the mode and the exit valuation.
///
/// ```
/// use revops::{pipeline::ExitValuation, pipeline::PipelineScope, pipeline::WaterfallSpec};
/// use chrono::{TimeZone, Utc};
/// let spec = WaterfallSpec::new(
///     Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap(),
///     Utc.with_ymd_and_hms(2026, 8, 1, 0, 0, 0).unwrap(),
/// )
/// .with_exit_valuation(ExitValuation::EndAmount);
/// assert_eq!(spec.scope, PipelineScope::Rolling);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaterfallSpec {
    /// The first instant (the start column is the pipeline as of it).
    pub start: DateTime<Utc>,
    /// The second instant (`start <= end`).
    pub end: DateTime<Utc>,
    /// Period or rolling mode; default rolling.
    pub scope: PipelineScope,
    /// How exits are valued; default [`ExitValuation::StartAmount`].
    pub exit_valuation: ExitValuation,
    /// Whether movements are listed; default [`Audit::Movements`].
    pub audit: Audit,
}

impl WaterfallSpec {
    /// A rolling-mode waterfall from `start` to `end`, exits at their start amount.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> WaterfallSpec {
        WaterfallSpec {
            start,
            end,
            scope: PipelineScope::Rolling,
            exit_valuation: ExitValuation::StartAmount,
            audit: Audit::Movements,
        }
    }

    /// Sets the scope (period or rolling mode).
    #[must_use]
    pub fn with_scope(mut self, scope: PipelineScope) -> WaterfallSpec {
        self.scope = scope;
        self
    }

    /// Sets the exit valuation.
    #[must_use]
    pub fn with_exit_valuation(mut self, exit_valuation: ExitValuation) -> WaterfallSpec {
        self.exit_valuation = exit_valuation;
        self
    }

    /// Sets whether movements are listed.
    #[must_use]
    pub fn with_audit(mut self, audit: Audit) -> WaterfallSpec {
        self.audit = audit;
        self
    }
}

/// A pipeline waterfall: `start + created + pulled_in + increased − decreased −
/// pushed_out − lost − won = end`, in exact money, with every deal's movements.
///
/// The identity holds by construction: each deal's movements are derived from its
/// states at the two instants so that they sum to its end value minus its start value
/// (see the [module documentation](crate::pipeline) for the precedence rules).
/// `start` and `end` are computed independently, as the pipeline at each instant.
///
/// The report is its own accumulator and follows the [`Accumulator`] contract:
/// [`Waterfall::new`] is empty in a currency (with [`with_audit`](Waterfall::with_audit)
/// choosing whether movements are listed: the options, kept in the state);
/// [`add`](Waterfall::add) and [`add_batch`](Waterfall::add_batch) record
/// [`Movement`]s; [`Waterfall::merge`] adds another report's columns and appends its
/// movements, refusing another currency or audit; [`finish`](Waterfall::finish)
/// gives the report. Waterfalls of histories split by opportunity merge into the
/// waterfall of the whole. [`Flow`], its parts, is a value type (like
/// [`Ratio`](crate::Ratio)): it has `add` and `merge` but no version of its own.
///
/// # Serialised form
///
/// `{"version": 1, "audit": "movements", "start": F, "created": F, "pulled_in": F,
/// "increased": F, "decreased": F, "pushed_out": F, "lost": F, "won": F, "end": F,
/// "movements": [{"opportunity": "A", "kind": "won", "amount": M}, …]}`, each `F` a
/// [`Flow`] `{"amount": M, "deals": 2}` and each `M` a [`Money`]; the version
/// ([`STATE_VERSION`](Accumulator::STATE_VERSION)) is refused when it is another
/// number.
///
/// ```
/// use revops::{Currency, Funnel, Money, pipeline::MovementKind, OpportunityChange, OpportunityId,
///     pipeline::PipelineHistory, pipeline::WaterfallSpec};
/// use chrono::{TimeZone, Utc};
/// # fn main() -> Result<(), revops::Error> {
/// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
/// let usd = |s| Money::parse(s, Currency::USD);
/// let ch = |id, d, stage, amount| -> Result<OpportunityChange, revops::Error> {
///     Ok(OpportunityChange::new(OpportunityId::new(id)?, t(d), stage, usd(amount)?))
/// };
/// let rows = vec![
///     ch("A", 1, "prospecting", "100")?,
///     ch("A", 10, "closed_won", "90")?,   // won: leaves at its start amount, 100
///     ch("B", 2, "prospecting", "50")?,
///     ch("B", 12, "qualification", "70")?, // still open: increased by 20
///     ch("C", 15, "prospecting", "30")?,   // created
/// ];
/// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
/// let w = h.waterfall(&WaterfallSpec::new(t(5), t(20)))?;
/// assert_eq!(w.start.amount, usd("150")?);
/// assert_eq!((w.won.amount, w.increased.amount, w.created.amount),
///            (usd("100")?, usd("20")?, usd("30")?));
/// assert_eq!(w.end.amount, usd("100")?);
/// assert_eq!(w.computed_end()?, w.end.amount);
/// assert_eq!(w.movements.iter().filter(|m| m.kind == MovementKind::Won).count(), 1);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Waterfall {
    version: StateVersion<1>,
    /// Whether movements are listed (an option, kept in the state).
    audit: Audit,
    /// The pipeline at `start`.
    pub start: Flow,
    /// Deals created (or reopened) into the pipeline.
    pub created: Flow,
    /// Deals whose close date moved into the period.
    pub pulled_in: Flow,
    /// Amount increases of deals in the pipeline at both instants.
    pub increased: Flow,
    /// Amount decreases of deals in the pipeline at both instants.
    pub decreased: Flow,
    /// Deals whose close date moved out of the period.
    pub pushed_out: Flow,
    /// Deals closed lost (or disqualified, or recycled).
    pub lost: Flow,
    /// Deals closed won.
    pub won: Flow,
    /// The pipeline at `end`.
    pub end: Flow,
    /// Every deal's movements, deal by deal (in history order; merged reports append);
    /// empty with [`Audit::Totals`].
    pub movements: Vec<Movement>,
}

impl Waterfall {
    /// An empty waterfall in `currency` (the identity of [`Waterfall::merge`]) that
    /// lists its movements ([`Audit::Movements`]).
    pub fn new(currency: Currency) -> Waterfall {
        let z = || Flow::zero(currency);
        Waterfall {
            version: StateVersion,
            audit: Audit::Movements,
            start: z(),
            created: z(),
            pulled_in: z(),
            increased: z(),
            decreased: z(),
            pushed_out: z(),
            lost: z(),
            won: z(),
            end: z(),
            movements: Vec::new(),
        }
    }

    /// The same empty waterfall under `audit`: with [`Audit::Totals`], added
    /// movements go to their columns only. An option: set it on the empty waterfall
    /// (it does not drop movements already listed).
    ///
    /// ```
    /// use revops::{Currency, pipeline::Audit, pipeline::Waterfall};
    /// let w = Waterfall::new(Currency::USD).with_audit(Audit::Totals);
    /// assert_eq!(w.audit(), Audit::Totals);
    /// assert!(Waterfall::new(Currency::USD).clone().merge(&w).is_err()); // audits differ
    /// ```
    #[must_use]
    pub fn with_audit(mut self, audit: Audit) -> Waterfall {
        self.audit = audit;
        self
    }

    /// Whether movements are listed.
    pub fn audit(&self) -> Audit {
        self.audit
    }

    /// The currency of every column.
    pub fn currency(&self) -> Currency {
        self.start.amount.currency()
    }

    /// The column of a movement kind.
    pub fn flow(&self, kind: MovementKind) -> &Flow {
        match kind {
            MovementKind::Created => &self.created,
            MovementKind::PulledIn => &self.pulled_in,
            MovementKind::Increased => &self.increased,
            MovementKind::Decreased => &self.decreased,
            MovementKind::PushedOut => &self.pushed_out,
            MovementKind::Lost => &self.lost,
            MovementKind::Won => &self.won,
        }
    }

    fn flow_mut(&mut self, kind: MovementKind) -> &mut Flow {
        match kind {
            MovementKind::Created => &mut self.created,
            MovementKind::PulledIn => &mut self.pulled_in,
            MovementKind::Increased => &mut self.increased,
            MovementKind::Decreased => &mut self.decreased,
            MovementKind::PushedOut => &mut self.pushed_out,
            MovementKind::Lost => &mut self.lost,
            MovementKind::Won => &mut self.won,
        }
    }

    /// Records one movement: adds it to its column and (under [`Audit::Movements`])
    /// to the audit list.
    ///
    /// # Errors
    /// [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch), [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow), or
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) for a negative amount; the waterfall is then
    /// unchanged.
    pub fn add(&mut self, movement: &Movement) -> Result<()> {
        if movement.amount.is_negative() {
            return Err(Error::from(ErrorKind::InvalidField {
                record: RecordRef::new("movement").with_id(&movement.opportunity),
                field: "amount",
                reason: format!("must not be negative, got {}", movement.amount),
            }));
        }
        self.flow_mut(movement.kind).add(&movement.amount)?;
        if self.audit == Audit::Movements {
            self.movements.push(movement.clone());
        }
        Ok(())
    }

    /// Records every movement of a slice, in order; stops at the first invalid one
    /// (the movements before it stay recorded), as the [`Accumulator`] contract says.
    ///
    /// # Errors
    /// As [`add`](Waterfall::add), for the first invalid movement.
    pub fn add_batch(&mut self, movements: &[Movement]) -> Result<()> {
        movements.iter().try_for_each(|m| self.add(m))
    }

    /// Adds another waterfall's columns and appends its movements.
    ///
    /// ```
    /// use revops::{Currency, Money, pipeline::Movement, pipeline::MovementKind, OpportunityId, pipeline::Waterfall};
    /// # fn main() -> Result<(), revops::Error> {
    /// let won = |id, a| -> Result<Movement, revops::Error> {
    ///     Ok(Movement { opportunity: OpportunityId::new(id)?, kind: MovementKind::Won, amount: Money::parse(a, Currency::USD)? })
    /// };
    /// let (mut north, mut south) = (Waterfall::new(Currency::USD), Waterfall::new(Currency::USD));
    /// north.add(&won("A", "10")?)?;
    /// south.add(&won("B", "20")?)?;
    /// north.merge(&south)?;
    /// assert_eq!((north.won.amount, north.won.deals), (Money::parse("30", Currency::USD)?, 2));
    /// assert!(north.merge(&Waterfall::new(Currency::EUR)).is_err());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch) for another currency, [`ErrorKind::MergeMismatch`](crate::error::ErrorKind::MergeMismatch)
    /// for another [`Audit`], or [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow); `self` is then
    /// unchanged.
    pub fn merge(&mut self, other: &Waterfall) -> Result<()> {
        if self.audit != other.audit {
            return Err(Error::from(ErrorKind::MergeMismatch {
                what: "pipeline waterfall",
                reason: format!(
                    "built under audit {:?}, this one under {:?}",
                    other.audit, self.audit
                ),
            }));
        }
        // Every column first, so that an error leaves `self` unchanged.
        let mut start = self.start.clone();
        start.merge(&other.start)?;
        let mut end = self.end.clone();
        end.merge(&other.end)?;
        let mut flows = MovementKind::ALL.map(|k| self.flow(k).clone());
        for (flow, k) in flows.iter_mut().zip(MovementKind::ALL) {
            flow.merge(other.flow(k))?;
        }
        (self.start, self.end) = (start, end);
        for (flow, k) in flows.into_iter().zip(MovementKind::ALL) {
            *self.flow_mut(k) = flow;
        }
        self.movements.extend_from_slice(&other.movements);
        Ok(())
    }

    /// The report over every movement added and merged so far (a copy of the
    /// state: the waterfall is its own report).
    ///
    /// # Errors
    /// None today (the `Result` is the [`Accumulator`] contract's).
    pub fn finish(&self) -> Result<Waterfall> {
        Ok(self.clone())
    }

    /// `start + created + pulled_in + increased − decreased − pushed_out − lost −
    /// won`: equal to `end.amount` for every waterfall this crate computes.
    ///
    /// # Errors
    /// [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
    pub fn computed_end(&self) -> Result<Money> {
        let mut total = self.start.amount;
        for k in MovementKind::ALL {
            let a = &self.flow(k).amount;
            total = if k.is_inflow() {
                total.checked_add(a)?
            } else {
                total.checked_sub(a)?
            };
        }
        Ok(total)
    }
}

/// A deal's movements: at most two (an amount change and an exit, or an entry and an
/// exit).
#[derive(Default)]
struct Moves {
    list: [(Option<MovementKind>, Decimal); 2],
}

impl Moves {
    fn push(&mut self, kind: MovementKind, amount: Decimal) {
        if self.list[0].0.is_none() {
            self.list[0] = (Some(kind), amount);
        } else {
            self.list[1] = (Some(kind), amount);
        }
    }

    /// An amount change, if any.
    fn change(&mut self, from: Decimal, to: Decimal) {
        if to > from {
            self.push(MovementKind::Increased, to - from);
        } else if to < from {
            self.push(MovementKind::Decreased, from - to);
        }
    }
}

impl PipelineHistory {
    pub(crate) fn in_scope(&self, scope: &PipelineScope, r: &Row) -> bool {
        self.kind(r) == StageKind::Open && scope.covers(r.close)
    }

    /// One deal's movements from its rows at `start` (`s0`) and `end` (`s1`).
    fn classify(&self, spec: &WaterfallSpec, s0: Option<&Row>, s1: Option<&Row>) -> Moves {
        let mut m = Moves::default();
        let in0 = s0.filter(|r| self.in_scope(&spec.scope, r));
        let in1 = s1.filter(|r| self.in_scope(&spec.scope, r));
        let exit = |r: &Row| match self.kind(r) {
            StageKind::Won => MovementKind::Won,
            k if k.is_terminal() => MovementKind::Lost,
            _ => MovementKind::PushedOut,
        };
        // Entered without a close-date move: new, or reopened.
        let entry = |s0: Option<&Row>| match s0 {
            Some(r) if !self.kind(r).is_terminal() => MovementKind::PulledIn,
            _ => MovementKind::Created,
        };
        match (in0, in1, s1) {
            (Some(a), Some(b), _) => m.change(a.amount, b.amount),
            (Some(a), None, Some(b)) => match spec.exit_valuation {
                ExitValuation::StartAmount => m.push(exit(b), a.amount),
                ExitValuation::EndAmount => {
                    m.change(a.amount, b.amount);
                    m.push(exit(b), b.amount);
                }
            },
            (None, Some(b), _) => m.push(entry(s0), b.amount),
            (None, None, Some(b)) => {
                // Through the pipeline between the instants: closed at `end` in scope,
                // not closed at `start`.
                let closed_since_start = s0.is_none_or(|a| !self.kind(a).is_terminal());
                if self.kind(b).is_terminal() && closed_since_start && spec.scope.covers(b.close) {
                    m.push(entry(s0), b.amount);
                    m.push(exit(b), b.amount);
                }
            }
            // In at start but absent at end cannot happen (end >= start).
            (Some(_), None, None) | (None, None, None) => {}
        }
        m
    }

    /// The pipeline waterfall between `spec.start` and `spec.end`.
    ///
    /// Runs in `O(deals × log(rows per deal))`: two binary searches per deal.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidPeriod`](crate::error::ErrorKind::InvalidPeriod) (record `"waterfall"`) if `end < start`;
    /// [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow) if a column overflows the decimal range.
    pub fn waterfall(&self, spec: &WaterfallSpec) -> Result<Waterfall> {
        Ok(self.waterfall_slots(spec, None)?.into_total())
    }

    /// The pipeline waterfall per bucket of `keys` and over every deal, in one pass;
    /// each cell's identity holds, and the cells' columns add up to the total's.
    /// Its `created` column is the **pipeline created** in the interval.
    ///
    /// ```
    /// use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId, breakdown::Dimension,
    ///     breakdown::Keys, pipeline::PipelineHistory, pipeline::WaterfallSpec};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
    /// let usd = |s| Money::parse(s, Currency::USD);
    /// let ch = |id, d, stage, a| -> Result<OpportunityChange, revops::Error> {
    ///     Ok(OpportunityChange::new(OpportunityId::new(id)?, t(d), stage, usd(a)?))
    /// };
    /// let rows = [ch("A", 1, "prospecting", "100")?, ch("A", 10, "closed_won", "90")?, ch("B", 15, "prospecting", "30")?];
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
    /// let keys = Keys::new(Dimension::Segment, [Some("smb"), Some("mid")])?;
    /// let w = h.waterfall_by(&WaterfallSpec::new(t(5), t(20)), &keys)?;
    /// assert_eq!(w.cell(Some("mid")).map(|c| c.created.amount), Some(usd("30")?));
    /// assert_eq!(w.cell(Some("smb")).map(|c| c.won.amount), Some(usd("100")?));
    /// assert_eq!(w.total().end.amount, usd("30")?);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`PipelineHistory::waterfall`];
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter)
    /// (`"keys"`) for keys of another history.
    pub fn waterfall_by(&self, spec: &WaterfallSpec, keys: &Keys) -> Result<Breakdown<Waterfall>> {
        self.check_keys(keys)?;
        let empty = Waterfall::new(self.currency()).with_audit(spec.audit);
        Ok(self
            .waterfall_slots(spec, Some(keys))?
            .into_breakdown(keys, empty))
    }

    fn waterfall_slots<'k>(
        &self,
        spec: &WaterfallSpec,
        keys: Option<&'k Keys>,
    ) -> Result<Slots<'k, Waterfall>> {
        if spec.end < spec.start {
            return Err(Error::from(ErrorKind::InvalidPeriod {
                record: RecordRef::new("waterfall"),
                start: spec.start.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                end: spec.end.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            }));
        }
        let mut slots = Slots::new(&Columns::default(), keys);
        let (start, end) = (key(spec.start), key(spec.end));
        for o in 0..self.len() {
            let s0 = self.row_at(o, start);
            let s1 = self.row_at(o, end);
            if let Some(a) = s0.filter(|r| self.in_scope(&spec.scope, r)) {
                slots.each(o, |c| c.add(START, a.amount))?;
            }
            if let Some(b) = s1.filter(|r| self.in_scope(&spec.scope, r)) {
                slots.each(o, |c| c.add(END, b.amount))?;
            }
            for (kind, amount) in self.classify(spec, s0, s1).list {
                if let Some(kind) = kind {
                    let movement = (spec.audit == Audit::Movements).then(|| Movement {
                        opportunity: self.id(o).clone(),
                        kind,
                        amount: self.money(amount),
                    });
                    slots.each(o, |c| {
                        c.add(kind as usize, amount)?;
                        c.movements.extend(movement.iter().cloned());
                        Ok(())
                    })?;
                }
            }
        }
        Ok(slots.map(|c| c.into_waterfall(self, spec.audit)))
    }
}

/// Column slots of [`Columns`]: 0..7 are [`MovementKind::ALL`].
const START: usize = 7;
const END: usize = 8;

/// A waterfall's dense columns while it is computed: exact sums and deal counts.
#[derive(Debug, Clone, Default)]
struct Columns {
    sums: [Decimal; 9],
    counts: [u64; 9],
    movements: Vec<Movement>,
}

impl Columns {
    fn add(&mut self, slot: usize, amount: Decimal) -> Result<()> {
        self.sums[slot] = self.sums[slot].checked_add(amount).ok_or_else(|| {
            Error::from(ErrorKind::Overflow {
                operation: "pipeline waterfall",
            })
        })?;
        self.counts[slot] += 1;
        Ok(())
    }

    fn into_waterfall(self, h: &PipelineHistory, audit: Audit) -> Waterfall {
        let flow = |slot: usize| Flow {
            amount: h.money(self.sums[slot]),
            deals: self.counts[slot],
        };
        Waterfall {
            version: StateVersion,
            audit,
            start: flow(START),
            created: flow(MovementKind::Created as usize),
            pulled_in: flow(MovementKind::PulledIn as usize),
            increased: flow(MovementKind::Increased as usize),
            decreased: flow(MovementKind::Decreased as usize),
            pushed_out: flow(MovementKind::PushedOut as usize),
            lost: flow(MovementKind::Lost as usize),
            won: flow(MovementKind::Won as usize),
            end: flow(END),
            movements: self.movements,
        }
    }
}

impl Accumulator for Waterfall {
    type Item = Movement;
    type Output = Waterfall;
    const STATE_VERSION: u32 = 1;

    fn add(&mut self, item: &Movement) -> Result<()> {
        Waterfall::add(self, item)
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        Waterfall::merge(self, other)
    }

    fn finish(&self) -> Result<Waterfall> {
        Waterfall::finish(self)
    }
}
