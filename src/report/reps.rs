//! The per-rep table: the pipeline measures a sales manager reads first, per owner
//! (or per bucket of any [`Dimension`]) and in total, from the pipeline engine's
//! breakdowns ([`PipelineHistory::win_rate_by`], [`bookings_by`](PipelineHistory::bookings_by),
//! [`sales_cycle_by`](PipelineHistory::sales_cycle_by),
//! [`waterfall_by`](PipelineHistory::waterfall_by)).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::breakdown::{Breakdown, Dimension, Keys};
use crate::distribution::Summary;
use crate::error::Result;
use crate::period::Window;
use crate::pipeline::{
    Audit, Bookings, BookingsSpec, CycleOutcome, Flow, PipelineHistory, SalesCycle, SalesCycleSpec,
    Waterfall, WaterfallSpec, WinRate, WinRateSpec,
};
use crate::ratio::{Confidence, IntervalMethod};

/// What a [`PipelineBreakdown`] measures, and over which time.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use revops::{Window, report::PipelineBreakdownSpec};
/// # fn main() -> Result<(), revops::Error> {
/// let t = |m| Utc.with_ymd_and_hms(2026, m, 1, 0, 0, 0).unwrap();
/// let all_time = PipelineBreakdownSpec::new(t(7));
/// assert!(all_time.window.is_none());
/// let q2 = PipelineBreakdownSpec::new(t(7)).with_window(Window::new(t(4), t(7))?);
/// assert_eq!(q2.window.map(|w| w.start()), Some(t(4)));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PipelineBreakdownSpec {
    /// The win rate (won / closed) and the sales cycle of the won deals are read as
    /// of this instant, over every deal that exists then.
    pub as_of: DateTime<Utc>,
    /// Bookings count the deals won in this window and pipeline created is the
    /// `created` flow of the waterfall over it; `None` (the default): bookings are
    /// every deal won by `as_of` and pipeline created is not measured.
    pub window: Option<Window>,
    /// The win rate's interval level (default 95 %).
    pub confidence: Confidence,
    /// The win rate's interval method (default Wilson).
    pub method: IntervalMethod,
}

impl PipelineBreakdownSpec {
    /// Win rate, cycle and bookings as of `as_of`, over all time; Wilson 95 %.
    pub fn new(as_of: DateTime<Utc>) -> PipelineBreakdownSpec {
        PipelineBreakdownSpec {
            as_of,
            window: None,
            confidence: Confidence::default(),
            method: IntervalMethod::default(),
        }
    }

    /// Bookings and pipeline created in `window` (see [`PipelineBreakdownSpec::window`]).
    #[must_use]
    pub fn with_window(mut self, window: Window) -> PipelineBreakdownSpec {
        self.window = Some(window);
        self
    }

    /// Sets the win rate's interval level and method.
    #[must_use]
    pub fn with_intervals(
        mut self,
        confidence: Confidence,
        method: IntervalMethod,
    ) -> PipelineBreakdownSpec {
        self.confidence = confidence;
        self.method = method;
        self
    }

    /// The win rate specification of the table.
    pub fn win_rate_spec(&self) -> WinRateSpec {
        let mut spec = WinRateSpec::new(self.as_of);
        spec.method = self.method;
        spec.confidence = self.confidence;
        spec
    }

    /// The bookings specification of the table.
    pub fn bookings_spec(&self) -> BookingsSpec {
        match self.window {
            Some(w) => BookingsSpec::new(self.as_of).with_window(w),
            None => BookingsSpec::new(self.as_of),
        }
    }

    /// The waterfall whose `created` flow is the pipeline created (`None` without a
    /// window).
    pub fn created_spec(&self) -> Option<WaterfallSpec> {
        self.window
            .map(|w| WaterfallSpec::new(w.start(), w.end()).with_audit(Audit::Totals))
    }
}

/// One row of a [`PipelineBreakdown`]: one bucket, or the total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineBreakdownRow {
    /// The bucket's value (`None`: the deals without one; in
    /// [`PipelineBreakdown::total`], always `None`).
    pub value: Option<String>,
    /// Won / closed as of the table's date, with the counts (won, lost, no decision,
    /// open) and the interval.
    pub win_rate: WinRate,
    /// The won amount and the number of won deals (in the window, if any).
    pub bookings: Bookings,
    /// Days from creation to win of the won deals, in seconds as every
    /// [`Summary`] (`None`: no won deal).
    pub sales_cycle: Option<Summary>,
    /// Amount and deals created into the pipeline in the window (`None`: no
    /// window).
    pub pipeline_created: Option<Flow>,
}

/// The per-rep table: win rate, bookings, sales cycle and pipeline created per
/// bucket of a [`Dimension`] (owner, for the report) and in total. Every measure is
/// one breakdown of the pipeline engine, so the buckets' counts and amounts add up
/// to the total exactly; deals without a value are their own bucket (`None`), never
/// dropped.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId, breakdown::Dimension,
///     breakdown::Keys, pipeline::PipelineHistory, report::PipelineBreakdown,
///     report::PipelineBreakdownSpec};
/// # fn main() -> Result<(), revops::Error> {
/// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
/// let usd = |s| Money::parse(s, Currency::USD);
/// let ch = |id, d, stage, a| -> Result<OpportunityChange, revops::Error> {
///     Ok(OpportunityChange::new(OpportunityId::new(id)?, t(d), stage, usd(a)?))
/// };
/// let rows = [
///     ch("A", 1, "prospecting", "100")?, ch("A", 11, "closed_won", "100")?,
///     ch("B", 2, "prospecting", "50")?, ch("B", 4, "closed_lost", "50")?,
///     ch("C", 3, "prospecting", "70")?, ch("C", 5, "closed_won", "70")?,
/// ];
/// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
/// let keys = Keys::new(Dimension::Owner, [Some("ann"), Some("ann"), None])?;
/// let table = PipelineBreakdown::build(&h, &keys, &PipelineBreakdownSpec::new(t(20)))?;
/// let ann = table.row(Some("ann")).unwrap();
/// assert_eq!(ann.win_rate.ratio.to_string(), "1 / 2 (50.0%)");
/// assert_eq!((ann.bookings.amount, ann.bookings.deals), (usd("100")?, 1));
/// assert_eq!(table.row(None).map(|r| r.bookings.deals), Some(1)); // C: no owner
/// assert_eq!(table.total.win_rate.ratio.to_string(), "2 / 3 (66.7%)");
/// assert_eq!(table.total.sales_cycle.map(|s| s.median_days()), Some(6.0));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineBreakdown {
    /// What the rows are buckets of.
    pub dimension: Dimension,
    /// The instant the win rate and the cycle are read at.
    pub as_of: DateTime<Utc>,
    /// The window of the bookings and pipeline created (`None`: bookings over all
    /// time, no pipeline created).
    pub window: Option<Window>,
    /// Deals whose keys had no record to read the value from (they are in the
    /// `None` bucket; see [`Keys::unmatched`]).
    pub unmatched: u64,
    /// One row per bucket: present values in byte order, then the missing bucket.
    pub rows: Vec<PipelineBreakdownRow>,
    /// Every deal.
    pub total: PipelineBreakdownRow,
}

impl PipelineBreakdown {
    /// The table over the deals of `history`, bucketed by `keys` (built for this
    /// history, e.g. by [`PipelineHistory::keys`]). Each measure is one pass over
    /// the deals (four passes with a window, three without).
    ///
    /// # Errors
    /// As [`PipelineHistory::win_rate_by`], [`bookings_by`](PipelineHistory::bookings_by)
    /// and [`waterfall_by`](PipelineHistory::waterfall_by): keys of another history, an
    /// overflow.
    pub fn build(
        history: &PipelineHistory,
        keys: &Keys,
        spec: &PipelineBreakdownSpec,
    ) -> Result<PipelineBreakdown> {
        let win = history.win_rate_by(&spec.win_rate_spec(), keys)?;
        let booked = history.bookings_by(&spec.bookings_spec(), keys)?;
        let cycle = history.sales_cycle_by(&SalesCycleSpec::new(spec.as_of), keys)?;
        let created = match spec.created_spec() {
            Some(w) => Some(history.waterfall_by(&w, keys)?),
            None => None,
        };
        let parts = Parts {
            win: &win,
            booked: &booked,
            cycle: &cycle,
            created: created.as_ref(),
            empty_bookings: Bookings::new(history.currency()),
            empty_cycle: SalesCycle::new(CycleOutcome::Won),
        };
        let rows = win.cells().map(|(v, w)| parts.row(v, w)).collect();
        Ok(PipelineBreakdown {
            dimension: keys.dimension().clone(),
            as_of: spec.as_of,
            window: spec.window,
            unmatched: keys.unmatched(),
            rows,
            total: parts.total(),
        })
    }

    /// The row of a bucket (`None`: the missing bucket), if it has deals.
    pub fn row(&self, value: Option<&str>) -> Option<&PipelineBreakdownRow> {
        self.rows.iter().find(|r| r.value.as_deref() == value)
    }

    /// Whether no deal has a value (every deal is in the missing bucket).
    pub fn is_all_missing(&self) -> bool {
        self.rows.iter().all(|r| r.value.is_none())
    }
}

/// The breakdowns a table is read from.
struct Parts<'a> {
    win: &'a Breakdown<WinRate>,
    booked: &'a Breakdown<Bookings>,
    cycle: &'a Breakdown<SalesCycle>,
    created: Option<&'a Breakdown<Waterfall>>,
    empty_bookings: Bookings,
    empty_cycle: SalesCycle,
}

impl Parts<'_> {
    /// The row of one bucket (every breakdown built on the same keys lists every
    /// bucket; the empty states are for completeness).
    fn row(&self, value: Option<&str>, win: &WinRate) -> PipelineBreakdownRow {
        PipelineBreakdownRow {
            value: value.map(str::to_string),
            win_rate: win.clone(),
            bookings: self
                .booked
                .cell(value)
                .unwrap_or(&self.empty_bookings)
                .clone(),
            sales_cycle: self
                .cycle
                .cell(value)
                .unwrap_or(&self.empty_cycle)
                .summary(),
            pipeline_created: self.created.map(|b| {
                b.cell(value).map_or_else(
                    || Flow::zero(self.empty_bookings.currency()),
                    |w| w.created.clone(),
                )
            }),
        }
    }

    fn total(&self) -> PipelineBreakdownRow {
        PipelineBreakdownRow {
            value: None,
            win_rate: self.win.total().clone(),
            bookings: self.booked.total().clone(),
            sales_cycle: self.cycle.total().summary(),
            pipeline_created: self.created.map(|b| b.total().created.clone()),
        }
    }
}
