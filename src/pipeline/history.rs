//! Opportunity history interned once, and the state of every deal as of any instant.

use crate::error::ErrorKind;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, RecordRef, Result};
use crate::funnel::{Funnel, StageKind};
use crate::group;
use crate::hash::FastMap;
use crate::ids::OpportunityId;
use crate::intern::Interner;
use crate::money::{Currency, Money};
use crate::period::Window;
use crate::records::{ForecastCategory, OpportunityChange};

/// An order-preserving integer key of an instant: whole seconds in the high bits,
/// nanoseconds (below 2³², leap seconds included) in the low 32 bits.
pub(crate) type Key = i128;

/// The search key of an instant.
pub(crate) fn key(t: DateTime<Utc>) -> Key {
    (i128::from(t.timestamp()) << 32) | i128::from(t.timestamp_subsec_nanos())
}

pub(crate) const SECONDS_PER_DAY: u64 = 86_400;

/// `b − a` from the instants' [`key`]s, as whole seconds and nanoseconds in
/// `0..1_000_000_000` (the seconds rounded down), or `None` when either instant is
/// in a leap second (whose nanoseconds are 10⁹ or more: chrono's
/// `signed_duration_since` then applies its own rule).
pub(crate) fn key_delta(a: Key, b: Key) -> Option<(i64, i64)> {
    const NANOS: i64 = 1_000_000_000;
    // The high bits are the seconds of a `DateTime`'s timestamp (an `i64`), the low
    // 32 bits its nanoseconds.
    let split = |k: Key| ((k >> 32) as i64, (k & 0xFFFF_FFFF) as i64);
    let ((sa, na), (sb, nb)) = (split(a), split(b));
    if na >= NANOS || nb >= NANOS {
        return None;
    }
    // Timestamps of `DateTime<Utc>` are within ±2⁴⁴ s: no overflow.
    let (s, n) = (sb - sa, nb - na);
    Some(if n < 0 { (s - 1, n + NANOS) } else { (s, n) })
}

/// Whole seconds from `a` to `b` (0 if `b` is before `a`).
pub(crate) fn seconds_between(a: DateTime<Utc>, b: DateTime<Utc>) -> u64 {
    u64::try_from(b.signed_duration_since(a).num_seconds()).unwrap_or(0)
}

/// chrono's whole seconds of `b − a` (rounded toward zero), each instant with its
/// [`key`]: taken on the keys, by chrono in a leap second.
pub(crate) fn whole_seconds(a: (DateTime<Utc>, Key), b: (DateTime<Utc>, Key)) -> i64 {
    match key_delta(a.1, b.1) {
        Some((s, n)) if s < 0 && n > 0 => s + 1,
        Some((s, _)) => s,
        None => b.0.signed_duration_since(a.0).num_seconds(),
    }
}

/// Whether `at` is in the window (always, without one).
pub(crate) fn in_window(window: Option<&Window>, at: DateTime<Utc>) -> bool {
    window.is_none_or(|w| w.contains(at))
}

/// One interned history row: the state of a deal right after a change.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// When the change happened.
    pub(crate) at: DateTime<Utc>,
    /// Position, among the deal's rows, of the first row of the run of consecutive
    /// rows in the same stage that ends here.
    stage_run: u32,
    /// Same, for the run of rows with the same open / closed status.
    status_run: u32,
    pub(crate) amount: Decimal,
    pub(crate) close: Option<NaiveDate>,
    pub(crate) probability: Option<f64>,
    /// Position of the row in the caller's input.
    pub(crate) input: u32,
    /// Funnel stage position.
    pub(crate) stage: u16,
    pub(crate) forecast: Option<ForecastCategory>,
}

impl Row {
    /// When the deal entered this row's stage; `rs` are the deal's rows.
    pub(crate) fn stage_since(&self, rs: &[Row]) -> DateTime<Utc> {
        rs.get(self.stage_run as usize).map_or(self.at, |r| r.at)
    }

    /// When the deal took this row's open / closed status; `rs` are the deal's rows.
    pub(crate) fn status_since(&self, rs: &[Row]) -> DateTime<Utc> {
        rs.get(self.status_run as usize).map_or(self.at, |r| r.at)
    }
}

/// The state of one opportunity as of an instant, rebuilt from its history.
///
/// Every field but `created_at`, `stage_entered_at` and `closed_at` is copied from the
/// history row in effect: the last row of the deal whose `changed_at` is at or before
/// the instant (see the [module documentation](crate::pipeline) for ties).
///
/// ```
/// use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId, pipeline::PipelineHistory};
/// use chrono::{TimeZone, Utc};
/// # fn main() -> Result<(), revops::Error> {
/// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
/// let id = OpportunityId::new("006-1")?;
/// let usd = |s| Money::parse(s, Currency::USD);
/// let rows = vec![
///     OpportunityChange::new(id.clone(), t(2), "prospecting", usd("1000")?),
///     OpportunityChange::new(id.clone(), t(9), "needs_analysis", usd("1200")?),
///     OpportunityChange::new(id.clone(), t(20), "closed_won", usd("1100")?),
/// ];
/// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
/// let s = h.state_at(0, t(10)).expect("exists on the 10th");
/// assert_eq!(h.funnel().stages()[s.stage].key, "needs_analysis");
/// assert_eq!(s.amount, usd("1200")?);
/// assert_eq!((s.created_at, s.stage_entered_at), (t(2), t(9)));
/// assert!(s.is_open() && s.closed_at.is_none());
/// assert_eq!(h.state_at(0, t(25)).and_then(|s| s.closed_at), Some(t(20)));
/// assert!(h.state_at(0, t(1)).is_none()); // not created yet
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpportunityState {
    /// Position of the stage in the history's funnel.
    pub stage: usize,
    /// The stage's kind (open, won, lost, disqualified, recycled).
    pub kind: StageKind,
    /// Amount.
    pub amount: Money,
    /// Expected (or actual, once closed) close date, if set.
    pub close_date: Option<NaiveDate>,
    /// Win probability in \[0, 1\] recorded on the row, if set.
    pub probability: Option<f64>,
    /// Forecast category recorded on the row, if set.
    pub forecast_category: Option<ForecastCategory>,
    /// When the deal was created: its first (earliest) history row.
    pub created_at: DateTime<Utc>,
    /// When the row in effect was recorded (the deal's last change at or before the
    /// instant).
    pub changed_at: DateTime<Utc>,
    /// When the deal entered its current stage: the first row of the run of
    /// consecutive rows in this stage that ends with the row in effect.
    pub stage_entered_at: DateTime<Utc>,
    /// When the deal closed, if it is closed: the first row of the run of consecutive
    /// closed rows (any terminal stage) that ends with the row in effect. A deal that
    /// reopens and closes again has the later closing instant.
    pub closed_at: Option<DateTime<Utc>>,
    /// Position, in the input given to [`PipelineHistory::new`], of the row in effect.
    pub row: usize,
}

impl OpportunityState {
    /// Whether the deal is in an open stage.
    pub fn is_open(&self) -> bool {
        self.kind == StageKind::Open
    }

    /// Whether the deal is in a won stage.
    pub fn is_won(&self) -> bool {
        self.kind == StageKind::Won
    }

    /// Whether the deal is in a terminal stage (won, lost, disqualified or recycled).
    pub fn is_closed(&self) -> bool {
        self.kind.is_terminal()
    }

    /// The deal's outcome for calibration: won, lost (any other terminal stage) or
    /// still open (censored, never counted as a loss).
    pub fn outcome(&self) -> crate::forecast::Outcome {
        use crate::forecast::Outcome;
        if self.is_won() {
            Outcome::Won
        } else if self.is_closed() {
            Outcome::Lost
        } else {
            Outcome::Open
        }
    }

    /// The forecast category recorded on the row, or, when none is, the one implied by
    /// the stage kind: open → [`ForecastCategory::Pipeline`], won →
    /// [`ForecastCategory::Closed`], any other terminal kind →
    /// [`ForecastCategory::Omitted`].
    ///
    /// ```
    /// use revops::{Currency, ForecastCategory, Funnel, Money, OpportunityChange, OpportunityId, pipeline::PipelineHistory};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    /// let usd = Money::parse("10", Currency::USD)?;
    /// let mut a = OpportunityChange::new(OpportunityId::new("A")?, t, "negotiation_review", usd);
    /// a.forecast_category = Some(ForecastCategory::Commit);
    /// let b = OpportunityChange::new(OpportunityId::new("B")?, t, "closed_lost", usd);
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &[a, b])?;
    /// let state = |i| h.state_at(i, t).expect("exists");
    /// assert_eq!(state(0).category(), ForecastCategory::Commit);
    /// assert_eq!(state(1).category(), ForecastCategory::Omitted); // implied by the lost stage
    /// assert!(state(1).is_closed() && !state(1).is_won());
    /// # Ok(()) }
    /// ```
    pub fn category(&self) -> ForecastCategory {
        self.forecast_category
            .unwrap_or_else(|| implied_category(self.kind))
    }
}

pub(crate) fn implied_category(kind: StageKind) -> ForecastCategory {
    match kind {
        StageKind::Open => ForecastCategory::Pipeline,
        StageKind::Won => ForecastCategory::Closed,
        _ => ForecastCategory::Omitted,
    }
}

/// One deal of a [`Snapshot`]: its id and its state.
///
/// ```
/// use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId, pipeline::PipelineHistory};
/// use chrono::{TimeZone, Utc};
/// # fn main() -> Result<(), revops::Error> {
/// let t = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
/// let row = OpportunityChange::new(OpportunityId::new("A")?, t, "prospecting", Money::parse("10", Currency::USD)?);
/// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &[row])?;
/// let entry = &h.snapshot(t).entries[0];
/// assert_eq!((entry.opportunity.as_str(), entry.state.stage), ("A", 0));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotEntry {
    /// The opportunity.
    pub opportunity: OpportunityId,
    /// Its state as of the snapshot's instant.
    pub state: OpportunityState,
}

/// The state of every opportunity that exists at an instant (created at or before
/// it), in the history's opportunity order (order of first appearance in the input).
///
/// ```
/// use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId, pipeline::PipelineHistory};
/// use chrono::{TimeZone, Utc};
/// # fn main() -> Result<(), revops::Error> {
/// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
/// let usd = |s| Money::parse(s, Currency::USD);
/// let rows = vec![
///     OpportunityChange::new(OpportunityId::new("A")?, t(2), "prospecting", usd("10")?),
///     OpportunityChange::new(OpportunityId::new("B")?, t(5), "qualification", usd("20")?),
/// ];
/// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
/// let snap = h.snapshot(t(3));
/// assert_eq!(snap.entries.len(), 1);
/// assert_eq!(snap.entries[0].opportunity.as_str(), "A");
/// assert_eq!(h.snapshot(t(5)).entries.len(), 2);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The instant.
    pub at: DateTime<Utc>,
    /// The history's currency.
    pub currency: Currency,
    /// One entry per existing opportunity.
    pub entries: Vec<SnapshotEntry>,
}

/// Opportunity history rows interned once: dense opportunity indexes, stage
/// positions instead of keys, rows grouped by deal and ordered by time.
///
/// Build it once per batch of [`OpportunityChange`] rows; every pipeline measure
/// ([`PipelineHistory::waterfall`], [`PipelineHistory::win_rate`], ...) reads it.
/// Opportunities are numbered `0..len()` in order of first appearance in the input.
///
/// ```
/// use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId, pipeline::PipelineHistory};
/// use chrono::{TimeZone, Utc};
/// # fn main() -> Result<(), revops::Error> {
/// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
/// let usd = |s| Money::parse(s, Currency::USD);
/// let rows = vec![
///     OpportunityChange::new(OpportunityId::new("B")?, t(5), "qualification", usd("20")?),
///     OpportunityChange::new(OpportunityId::new("A")?, t(2), "prospecting", usd("10")?),
///     OpportunityChange::new(OpportunityId::new("B")?, t(3), "prospecting", usd("20")?),
/// ];
/// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
/// assert_eq!((h.len(), h.change_count()), (2, 3));
/// assert_eq!(h.index_of("A"), Some(1));
/// assert_eq!(h.created_at(0), Some(t(3))); // B's earliest row, not its first in the input
///
/// let bad = vec![OpportunityChange::new(OpportunityId::new("C")?, t(1), "demo", usd("1")?)];
/// let err = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &bad);
/// assert_eq!(
///     err.unwrap_err().to_string(),
///     "opportunity change #0 (id C): unknown stage `demo` (funnel `salesforce opportunity`)"
/// );
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PipelineHistory {
    funnel: Funnel,
    pub(crate) kinds: Vec<StageKind>,
    currency: Currency,
    /// The opportunity ids and their dense indexes.
    ids: Interner<OpportunityId>,
    /// `rows[offsets[o]..offsets[o + 1]]` are opportunity `o`'s rows, by time.
    offsets: Vec<usize>,
    pub(crate) rows: Vec<Row>,
    /// `key(rows[i].at)`, searched apart from the rows (dense, cache-friendly).
    keys: Vec<Key>,
}

fn record(index: usize, id: &OpportunityId) -> RecordRef {
    RecordRef::new("opportunity change")
        .with_index(index)
        .with_id(id)
}

impl PipelineHistory {
    /// Validates and interns `changes` for `funnel`; every amount must be in
    /// `currency`.
    ///
    /// Rows may come in any order; each deal's rows are ordered by `changed_at`, and
    /// rows of one deal with the same `changed_at` keep their input order (the later
    /// one in the input is the state after both).
    ///
    /// # Errors
    /// Each naming the row by its position in `changes` and its opportunity id:
    /// the row's own [`OpportunityChange::validate`] error ([`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField):
    /// negative amount, probability outside \[0, 1\], empty stage);
    /// [`ErrorKind::UnknownStage`](crate::error::ErrorKind::UnknownStage) for a stage the funnel does not define;
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) (field `amount`) for an amount in another currency.
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) if there are more than `u32::MAX` rows, and
    /// [`ErrorKind::InvalidFunnel`](crate::error::ErrorKind::InvalidFunnel) for a funnel of more than 65 535 stages.
    pub fn new(
        funnel: Funnel,
        currency: Currency,
        changes: &[OpportunityChange],
    ) -> Result<PipelineHistory> {
        if funnel.stages().len() > usize::from(u16::MAX) {
            return Err(Error::from(ErrorKind::InvalidFunnel {
                funnel: funnel.name().to_string(),
                reason: "the pipeline engine supports at most 65535 stages".into(),
            }));
        }
        if u32::try_from(changes.len()).is_err() {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "changes",
                value: changes.len().to_string(),
                reason: format!("at most {} history rows per batch", u32::MAX),
            }));
        }
        let kinds: Vec<StageKind> = funnel.stages().iter().map(|s| s.kind).collect();
        let mut ids: Interner<OpportunityId> = Interner::with_capacity(changes.len() / 4);
        let mut stages: FastMap<&str, usize> = FastMap::default();
        let mut owner: Vec<u32> = Vec::with_capacity(changes.len());
        let mut stage_of: Vec<u16> = Vec::with_capacity(changes.len());
        // Consecutive rows of one deal are common: remember the last lookup.
        let mut last: Option<(&str, u32)> = None;
        for (i, c) in changes.iter().enumerate() {
            c.validate().map_err(|e| e.at_index(i))?;
            if c.amount.currency() != currency {
                return Err(Error::from(ErrorKind::InvalidField {
                    record: record(i, &c.opportunity),
                    field: "amount",
                    reason: format!(
                        "currency mismatch: the history is in {currency}, this row is in {}",
                        c.amount.currency()
                    ),
                }));
            }
            // Few distinct stage texts: resolve each once (the funnel's own lookup
            // normalises case and whitespace).
            let stage = match stages.get(c.stage.as_str()) {
                Some(&s) => s,
                None => {
                    let s = funnel.resolve(&c.stage, || record(i, &c.opportunity))?;
                    stages.insert(c.stage.as_str(), s);
                    s
                }
            };
            let o = match last {
                Some((s, o)) if s == c.opportunity.as_str() => o,
                // ids.len() <= changes.len() <= u32::MAX, checked above
                _ => ids.intern(&c.opportunity)?,
            };
            last = Some((c.opportunity.as_str(), o));
            owner.push(o);
            // stage < stages().len() <= u16::MAX, checked above
            stage_of.push(stage as u16);
        }

        // Counting sort by deal: stable, so input order is kept within a deal.
        let deals = || owner.iter().map(|&o| o as usize);
        let offsets: Vec<usize> = group::offsets(ids.len(), deals());
        let order = group::order(&offsets, deals());
        let mut rows: Vec<Row> = order
            .iter()
            .map(|&i| {
                let c = &changes[i as usize];
                Row {
                    at: c.changed_at,
                    stage_run: 0,
                    status_run: 0,
                    amount: c.amount.amount(),
                    close: c.close_date,
                    probability: c.probability,
                    input: i,
                    stage: stage_of[i as usize],
                    forecast: c.forecast_category,
                }
            })
            .collect();
        for o in 0..ids.len() {
            let rs = &mut rows[offsets[o]..offsets[o + 1]];
            if !rs.is_sorted_by_key(|r| r.at) {
                // Stable: ties keep input order.
                rs.sort_by_key(|r| r.at);
            }
            for k in 1..rs.len() {
                let (prev, cur) = (&rs[k - 1], &rs[k]);
                // k < rows <= u32::MAX, checked above
                let (stage_run, status_run) = (
                    if prev.stage == cur.stage {
                        prev.stage_run
                    } else {
                        k as u32
                    },
                    if kinds[usize::from(prev.stage)].is_terminal()
                        == kinds[usize::from(cur.stage)].is_terminal()
                    {
                        prev.status_run
                    } else {
                        k as u32
                    },
                );
                rs[k].stage_run = stage_run;
                rs[k].status_run = status_run;
            }
        }
        let keys = rows.iter().map(|r| key(r.at)).collect();
        Ok(PipelineHistory {
            funnel,
            kinds,
            currency,
            ids,
            offsets,
            rows,
            keys,
        })
    }

    /// The funnel the stages belong to.
    pub fn funnel(&self) -> &Funnel {
        &self.funnel
    }

    /// The currency of every amount.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Number of opportunities.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are no opportunities (no rows).
    pub fn is_empty(&self) -> bool {
        self.ids.len() == 0
    }

    /// Number of history rows.
    pub fn change_count(&self) -> usize {
        self.rows.len()
    }

    /// The opportunity ids, by dense index.
    pub fn ids(&self) -> &[OpportunityId] {
        self.ids.keys()
    }

    /// The dense index of an opportunity id.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.ids.get(id).map(|o| o as usize)
    }

    /// When opportunity `index` was created (its earliest row), or `None` for an index
    /// out of range.
    pub fn created_at(&self, index: usize) -> Option<DateTime<Utc>> {
        self.rows_of(index).first().map(|r| r.at)
    }

    /// The earliest and the latest `changed_at` of all rows, or `None` when empty.
    ///
    /// ```
    /// use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId, pipeline::PipelineHistory};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
    /// let ten = Money::parse("10", Currency::USD)?;
    /// let rows = vec![
    ///     OpportunityChange::new(OpportunityId::new("A")?, t(9), "qualification", ten),
    ///     OpportunityChange::new(OpportunityId::new("B")?, t(4), "prospecting", ten),
    /// ];
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
    /// assert_eq!(h.span(), Some((t(4), t(9))));
    /// let empty = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &[])?;
    /// assert!(empty.is_empty() && empty.span().is_none());
    /// # Ok(()) }
    /// ```
    pub fn span(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let first = (0..self.len())
            .filter_map(|o| self.rows_of(o).first())
            .map(|r| r.at);
        let last = (0..self.len())
            .filter_map(|o| self.rows_of(o).last())
            .map(|r| r.at);
        Some((first.min()?, last.max()?))
    }

    /// The state of opportunity `index` as of `at`, or `None` if it was not created
    /// yet (or the index is out of range).
    pub fn state_at(&self, index: usize, at: DateTime<Utc>) -> Option<OpportunityState> {
        let rs = self.rows_of(index);
        self.position_at(index, key(at)).map(|k| self.state(rs, k))
    }

    /// Every state of opportunity `index`, one per history row, in time order (empty
    /// for an index out of range).
    ///
    /// ```
    /// use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId, pipeline::PipelineHistory};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
    /// let ten = Money::parse("10", Currency::USD)?;
    /// let id = OpportunityId::new("A")?;
    /// let rows = vec![
    ///     OpportunityChange::new(id.clone(), t(9), "closed_won", ten),
    ///     OpportunityChange::new(id.clone(), t(1), "prospecting", ten),
    /// ];
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
    /// let rows_in_time_order: Vec<usize> = h.states(0).map(|s| s.row).collect();
    /// assert_eq!(rows_in_time_order, [1, 0]);
    /// assert_eq!(h.states(5).count(), 0);
    /// # Ok(()) }
    /// ```
    pub fn states(&self, index: usize) -> impl Iterator<Item = OpportunityState> + '_ {
        let rs = self.rows_of(index);
        (0..rs.len()).map(move |k| self.state(rs, k))
    }

    /// The state of every opportunity that exists at `at` (see [`Snapshot`] for an
    /// example).
    pub fn snapshot(&self, at: DateTime<Utc>) -> Snapshot {
        let entries = (0..self.len())
            .filter_map(|o| {
                self.state_at(o, at).map(|state| SnapshotEntry {
                    opportunity: self.ids.keys()[o].clone(),
                    state,
                })
            })
            .collect();
        Snapshot {
            at,
            currency: self.currency,
            entries,
        }
    }

    // ----- crate-internal access for the engines -----

    pub(crate) fn rows_of(&self, o: usize) -> &[Row] {
        match (self.offsets.get(o), self.offsets.get(o + 1)) {
            (Some(&a), Some(&b)) => &self.rows[a..b],
            _ => &[],
        }
    }

    pub(crate) fn keys_of(&self, o: usize) -> &[Key] {
        match (self.offsets.get(o), self.offsets.get(o + 1)) {
            (Some(&a), Some(&b)) => &self.keys[a..b],
            _ => &[],
        }
    }

    /// Position, among deal `o`'s rows, of the row in effect at the instant `at`
    /// (given by its [`key`]).
    pub(crate) fn position_at(&self, o: usize, at: Key) -> Option<usize> {
        self.keys_of(o).partition_point(|&k| k <= at).checked_sub(1)
    }

    /// Deal `o`'s row in effect at the instant `at` (given by its [`key`]).
    pub(crate) fn row_at(&self, o: usize, at: Key) -> Option<&Row> {
        self.position_at(o, at).map(|k| &self.rows_of(o)[k])
    }

    /// Number of deal `o`'s rows strictly before the instant `at`.
    pub(crate) fn count_before(&self, o: usize, at: Key) -> usize {
        self.keys_of(o).partition_point(|&k| k < at)
    }

    pub(crate) fn kind(&self, r: &Row) -> StageKind {
        self.kinds[usize::from(r.stage)]
    }

    pub(crate) fn money(&self, amount: Decimal) -> Money {
        Money::new(amount, self.currency)
    }

    pub(crate) fn id(&self, o: usize) -> &OpportunityId {
        &self.ids.keys()[o]
    }

    fn state(&self, rs: &[Row], k: usize) -> OpportunityState {
        let r = &rs[k];
        let kind = self.kind(r);
        OpportunityState {
            stage: usize::from(r.stage),
            kind,
            amount: self.money(r.amount),
            close_date: r.close,
            probability: r.probability,
            forecast_category: r.forecast,
            created_at: rs[0].at,
            changed_at: r.at,
            stage_entered_at: r.stage_since(rs),
            closed_at: kind.is_terminal().then(|| r.status_since(rs)),
            row: r.input as usize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, d, 0, 0, 0).unwrap()
    }

    fn row(id: &str, d: u32, stage: &str, amount: i64) -> OpportunityChange {
        OpportunityChange::new(
            OpportunityId::new(id).unwrap(),
            t(d),
            stage,
            Money::new(Decimal::from(amount), Currency::USD),
        )
    }

    #[test]
    fn ties_keep_input_order_and_runs_are_tracked() {
        let rows = vec![
            row("A", 5, "qualification", 2),
            row("A", 1, "prospecting", 1),
            row("A", 5, "needs_analysis", 3),
            row("A", 7, "needs_analysis", 4),
            row("A", 9, "closed_lost", 4),
            row("A", 10, "closed_won", 4),
        ];
        let h =
            PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows).unwrap();
        let s = h.state_at(0, t(5)).unwrap();
        assert_eq!(s.row, 2);
        assert_eq!(s.amount.amount(), Decimal::from(3));
        let s = h.state_at(0, t(8)).unwrap();
        assert_eq!((s.stage_entered_at, s.changed_at), (t(5), t(7)));
        let s = h.state_at(0, t(11)).unwrap();
        assert_eq!(s.closed_at, Some(t(9)));
        assert_eq!(s.stage_entered_at, t(10));
        assert_eq!(h.states(0).count(), 6);
        assert_eq!(h.span(), Some((t(1), t(10))));
        assert_eq!(h.states(7).count(), 0);
        assert!(h.state_at(3, t(9)).is_none());
    }

    #[test]
    fn a_row_fits_a_cache_line() {
        assert!(std::mem::size_of::<Row>() <= 64);
    }

    #[test]
    fn currency_mismatch_names_the_row() {
        let mut rows = vec![row("A", 1, "prospecting", 1), row("B", 2, "prospecting", 1)];
        rows[1].amount = Money::new(Decimal::ONE, Currency::EUR);
        let err = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "opportunity change #1 (id B): field `amount`: currency mismatch: the history is in USD, this row is in EUR"
        );
        rows[1].amount = Money::new(Decimal::NEGATIVE_ONE, Currency::USD);
        let err = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)
            .unwrap_err();
        assert!(err.to_string().starts_with("opportunity change #1 (id B)"));
    }
}
