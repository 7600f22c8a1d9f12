//! Cohort conversion: subjects grouped by the period in which they entered a chosen
//! stage, followed through the rest of the funnel.

use crate::error::ErrorKind;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::bucket::{DayBucketer, Dimension, MaskCounts, Segmenter};
use super::data::{FunnelData, FunnelDiagnostics, Millis, millis};
use super::definition::StageKind;
use super::path::{Entries, NONE, Paths, SkipPolicy};
use crate::error::{Error, Result};
use crate::period::{Calendar, Granularity, Period};
use crate::ratio::{Confidence, Interval, IntervalMethod, Ratio};

/// Which event puts a cycle into a cohort.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CohortAnchor {
    /// **Default.** The cycle's start: the lead's creation for its first cycle, the
    /// first event of a later cycle.
    #[default]
    Created,
    /// Entering this progression stage (by key, name or alias).
    Stage(String),
}

/// Which cycles of a lead count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CycleScope {
    /// **Default.** Every cycle is its own attempt: a recycled lead that comes back
    /// counts again, in the cohort of its return.
    #[default]
    AllCycles,
    /// Only each lead's first cycle.
    FirstCycleOnly,
}

/// What a cohort report measures and how.
///
/// ```
/// use revops::{funnel::CohortAnchor, funnel::CohortSpec, funnel::Dimension, Granularity};
/// use chrono::TimeDelta;
/// # fn main() -> Result<(), revops::Error> {
/// let spec = CohortSpec::default()
///     .with_anchor(CohortAnchor::Stage("mql".into()))
///     .with_granularity(Granularity::Quarter)
///     .with_window(TimeDelta::days(180))
///     .with_step_window("sql", TimeDelta::days(60))
///     .with_breakdown(Dimension::Source);
/// assert_eq!(spec.granularity, Granularity::Quarter);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CohortSpec {
    /// What puts a cycle into a cohort (default: creation).
    pub anchor: CohortAnchor,
    /// Cohort period size (default: month).
    pub granularity: Granularity,
    /// Calendar for periods (default: calendar year, UTC).
    pub calendar: Calendar,
    /// Conversion window: a stage counts only if reached within this time of the
    /// anchor (default: none).
    pub window: Option<TimeDelta>,
    /// Per-step windows: entering the next stage counts only within this time of
    /// entering the keyed stage.
    pub step_windows: Vec<(String, TimeDelta)>,
    /// Which cycles count (default: all).
    pub cycles: CycleScope,
    /// Optional breakdown.
    pub breakdown: Option<Dimension>,
    /// Interval confidence (default 95 %).
    pub confidence: Confidence,
    /// Interval method (default Wilson).
    pub method: IntervalMethod,
}

impl Default for CohortSpec {
    fn default() -> Self {
        CohortSpec {
            anchor: CohortAnchor::Created,
            granularity: Granularity::Month,
            calendar: Calendar::default(),
            window: None,
            step_windows: Vec::new(),
            cycles: CycleScope::AllCycles,
            breakdown: None,
            confidence: Confidence::default(),
            method: IntervalMethod::default(),
        }
    }
}

impl CohortSpec {
    /// Sets the anchor.
    #[must_use]
    pub fn with_anchor(mut self, anchor: CohortAnchor) -> Self {
        self.anchor = anchor;
        self
    }
    /// Sets the cohort period size.
    #[must_use]
    pub fn with_granularity(mut self, g: Granularity) -> Self {
        self.granularity = g;
        self
    }
    /// Sets the calendar.
    #[must_use]
    pub fn with_calendar(mut self, c: Calendar) -> Self {
        self.calendar = c;
        self
    }
    /// Sets the whole-funnel conversion window.
    #[must_use]
    pub fn with_window(mut self, w: TimeDelta) -> Self {
        self.window = Some(w);
        self
    }
    /// Adds a per-step window for the step leaving `from_stage`.
    #[must_use]
    pub fn with_step_window(mut self, from_stage: impl Into<String>, w: TimeDelta) -> Self {
        self.step_windows.push((from_stage.into(), w));
        self
    }
    /// Sets which cycles count.
    #[must_use]
    pub fn with_cycles(mut self, c: CycleScope) -> Self {
        self.cycles = c;
        self
    }
    /// Breaks the report down by a dimension.
    #[must_use]
    pub fn with_breakdown(mut self, d: Dimension) -> Self {
        self.breakdown = Some(d);
        self
    }
    /// Sets the interval confidence.
    #[must_use]
    pub fn with_confidence(mut self, c: Confidence) -> Self {
        self.confidence = c;
        self
    }
    /// Sets the interval method.
    #[must_use]
    pub fn with_method(mut self, m: IntervalMethod) -> Self {
        self.method = m;
        self
    }
}

/// A conversion rate between two stages with its counts and interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRate {
    /// From-stage key.
    pub from: String,
    /// To-stage key (`won` rows use the won stage's key, or `"won"` with several).
    pub to: String,
    /// `k / n`: cycles that reached both / cycles that reached `from`.
    pub ratio: Ratio,
    /// Confidence interval of the rate (`None` when `n = 0`).
    pub interval: Option<Interval>,
}

/// One row of a cohort table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CohortRow {
    /// The cohort period (`None` for the row over all cohorts).
    pub cohort: Option<Period>,
    /// Cycles in the cohort.
    pub entered: u64,
    /// Per progression stage: cycles that reached it (within the windows); `None`
    /// for stages before the anchor.
    pub reached: Vec<Option<u64>>,
    /// Adjacent steps from the anchor on: `stage i → stage i+1`.
    pub steps: Vec<StepRate>,
    /// From every stage from the anchor on to won.
    pub to_won: Vec<StepRate>,
    /// Whether the conversion window has fully elapsed for every cycle of the
    /// cohort at the as-of date (`None` when no window or no as-of date is set: the
    /// cohort may still convert).
    pub window_elapsed: Option<bool>,
}

/// A cohort table: one row per cohort period plus the row over all of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CohortTable {
    /// The breakdown value (`None` for the total, or for the missing bucket in a
    /// breakdown: see [`CohortReport::breakdown`]).
    pub value: Option<String>,
    /// One row per cohort period, in time order.
    pub rows: Vec<CohortRow>,
    /// All cohorts together.
    pub all: CohortRow,
}

/// The cohort conversion report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CohortReport {
    /// The funnel's name.
    pub funnel: String,
    /// Progression stage keys, in order.
    pub stages: Vec<String>,
    /// The anchor stage key, or `"created"`.
    pub anchor: String,
    /// Cohort period size.
    pub granularity: Granularity,
    /// The as-of date of the paths, if set.
    pub as_of: Option<DateTime<Utc>>,
    /// Confidence level of the intervals.
    pub confidence: f64,
    /// Interval method.
    pub method: IntervalMethod,
    /// Cycles over all leads.
    pub total: CohortTable,
    /// The breakdown dimension's name, if any.
    pub dimension: Option<String>,
    /// One table per breakdown value (sorted; the missing bucket, `value: None`,
    /// last).
    pub breakdown: Vec<CohortTable>,
    /// What was skipped.
    pub diagnostics: FunnelDiagnostics,
}

struct Prepared {
    anchor: Option<usize>,
    window: Option<Millis>,
    step_window: Vec<Option<Millis>>,
    chain: bool,
    open_mask: u64,
    won_mask: u64,
}

fn ms(d: TimeDelta) -> Millis {
    d.num_milliseconds()
}

impl Prepared {
    /// The counted-stage mask of a cycle and its anchor time, if it enters a cohort.
    #[inline]
    fn counted(&self, start: Millis, raw: u32, entries: Entries<'_>) -> Option<(u64, Millis)> {
        let (lo, t0) = match self.anchor {
            None => (0, start),
            Some(a) => {
                if raw & (1 << a) == 0 {
                    return None;
                }
                (a, entries.at(a))
            }
        };
        let raw = u64::from(raw);
        let below_lo = (1u64 << lo) - 1;
        let mut mask = 0u64;
        let mut prev: Option<usize> = None;
        let mut bits = raw >> lo;
        let mut r = lo;
        while bits != 0 {
            if bits & 1 != 0 {
                let t = entries.at(r);
                let mut ok = t != NONE;
                if let Some(w) = self.window {
                    ok &= t - t0 <= w;
                }
                if let Some(p) = prev
                    && let Some(w) = self.step_window[p]
                {
                    ok &= t - entries.at(p) <= w;
                }
                if self.chain {
                    // every open stage from the anchor up to r must count
                    let need = self.open_mask & ((1u64 << r) - 1) & !below_lo;
                    ok &= mask & need == need;
                }
                if ok {
                    mask |= 1 << r;
                }
                prev = Some(r);
            }
            bits >>= 1;
            r += 1;
        }
        Some((mask, t0))
    }
}

/// Computes the cohort conversion report from reconstructed paths.
///
/// Counting unit: a lead's cycle (see [`CycleScope`]). A cycle enters the cohort of
/// the period of its anchor time; a stage counts for it if reached within the
/// windows (measured from the anchor, and per step from the previous reached stage)
/// and, under the back-fill and strict skip policies, only if every open stage from
/// the anchor up to it counts too, so counts never increase down the funnel (under
/// the strict policy a lead created without an event for the first stage reaches
/// nothing). Step rates are
/// `k / n` = cycles that counted both stages / cycles that counted the from-stage,
/// with an interval.
///
/// The as-of date is the one the paths were built with ([`crate::funnel::PathOptions`]):
/// leads created after it are in no cohort (and no breakdown value only they have
/// is shown), and `window_elapsed` says whether every cycle of a cohort has had the
/// full window by then.
///
/// ```
/// use revops::{funnel::cohort_report, funnel::CohortSpec, funnel::FunnelData, funnel::FunnelEvents, Funnel, Lead, LeadId,
///              funnel::PathOptions, StageEvent, SubjectId};
/// use chrono::{TimeZone, Utc};
/// # fn main() -> Result<(), revops::Error> {
/// let t = |d| Utc.with_ymd_and_hms(2026, 1, d, 0, 0, 0).unwrap();
/// let leads: Vec<Lead> = (1..=4).map(|i| Lead::new(LeadId::new(format!("L{i}")).unwrap(), t(i))).collect();
/// let ev = |l: &str, s: &str, d| StageEvent::new(SubjectId::new(l).unwrap(), s, t(d));
/// let events = vec![ev("L1", "mql", 5), ev("L2", "mql", 6), ev("L2", "sql", 9), ev("L3", "won", 20)];
/// let data = FunnelData::new(Funnel::demand_waterfall(), &leads)?;
/// let mut acc = FunnelEvents::default();
/// acc.add_batch(&data, &events)?;
/// let paths = acc.paths(&data, PathOptions::default());
/// let report = cohort_report(&data, &paths, &CohortSpec::default())?;
/// let all = &report.total.all;
/// assert_eq!(all.entered, 4);
/// assert_eq!(all.reached[1], Some(3)); // MQL: L1, L2, and L3 back-filled
/// assert_eq!(all.steps[1].ratio.to_string(), "2 / 3 (66.7%)"); // MQL → SAL
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`ErrorKind::UnknownStage`](crate::error::ErrorKind::UnknownStage) for an anchor or step-window stage that is not an open or
/// won stage of the funnel; [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) for a negative window, or
/// when the cohorts span more than [`Period::MAX_SPAN_DAYS`](crate::Period::MAX_SPAN_DAYS) days, about 2,870 years (a sign of a bad timestamp).
pub fn cohort_report(
    data: &FunnelData<'_>,
    paths: &Paths,
    spec: &CohortSpec,
) -> Result<CohortReport> {
    let keys: Vec<String> = data
        .progression_keys()
        .into_iter()
        .map(String::from)
        .collect();
    let prep = Prepared::new(data, paths, spec)?;
    let anchor = prep.anchor;
    let (lo, hi) = prep.anchor_range(paths, spec.cycles);
    let segs = Segmenter::new(data, paths, spec.breakdown.as_ref());
    let buckets = DayBucketer::new(spec.calendar, spec.granularity, lo, hi)?;
    let grid = prep.count(
        paths,
        spec.cycles,
        &segs,
        &buckets,
        spec.breakdown.is_some(),
    );

    let as_of = paths.options().as_of;
    let ctx = RowCtx {
        keys: &keys,
        anchor,
        won_mask: prep.won_mask,
        won_key: won_key(data, prep.won_mask),
        confidence: spec.confidence,
        method: spec.method,
        window: prep.window,
        as_of: as_of.as_ref().map(millis),
    };
    let total = ctx.table(&grid, &buckets.periods, 0, None);
    let breakdown = segs
        .values
        .iter()
        .enumerate()
        .map(|(i, v)| ctx.table(&grid, &buckets.periods, i + 1, v.clone()))
        .collect();
    Ok(CohortReport {
        funnel: data.funnel().name().to_string(),
        stages: keys.clone(),
        anchor: anchor.map_or_else(|| "created".to_string(), |a| keys[a].clone()),
        granularity: spec.granularity,
        as_of,
        confidence: spec.confidence.level(),
        method: spec.method,
        total,
        dimension: spec.breakdown.as_ref().map(Dimension::name),
        breakdown,
        diagnostics: paths.diagnostics().clone(),
    })
}

/// The counted-stage masks per cell (segment × period, segment 0 being every lead)
/// and the latest anchor time in each cell.
struct Grid {
    cells: Vec<MaskCounts>,
    latest: Vec<Millis>,
    periods: usize,
}

impl Grid {
    fn add(&mut self, cell: usize, mask: u64, t0: Millis) {
        self.cells[cell].add(mask, 1);
        self.latest[cell] = self.latest[cell].max(t0);
    }
}

/// Whether a cycle of this number is in the scope.
fn in_scope(cycles: CycleScope, number: u32) -> bool {
    cycles == CycleScope::AllCycles || number == 0
}

impl Prepared {
    /// Resolves the spec's stages and windows against the funnel.
    fn new(data: &FunnelData<'_>, paths: &Paths, spec: &CohortSpec) -> Result<Prepared> {
        let rank_of = |key: &str, what: &'static str| {
            data.rank_of(key).ok_or_else(|| {
                Error::from(ErrorKind::UnknownStage {
                    record: crate::error::RecordRef::new(what),
                    key: key.to_string(),
                    funnel: data.funnel().name().to_string(),
                })
            })
        };
        let anchor = match &spec.anchor {
            CohortAnchor::Created => None,
            CohortAnchor::Stage(k) => Some(rank_of(k, "cohort anchor")?),
        };
        let check = |w: TimeDelta, name: &'static str| {
            if w < TimeDelta::zero() {
                Err(Error::from(ErrorKind::InvalidParameter {
                    name,
                    value: w.to_string(),
                    reason: "a window must not be negative".into(),
                }))
            } else {
                Ok(ms(w))
            }
        };
        let mut step_window = vec![None; data.progression_len()];
        for (k, w) in &spec.step_windows {
            step_window[rank_of(k, "step window")?] = Some(check(*w, "step window")?);
        }
        let mask_of = |kind: StageKind| {
            data.progression
                .iter()
                .enumerate()
                .filter(|(_, i)| data.funnel().stages()[**i].kind == kind)
                .fold(0u64, |acc, (r, _)| acc | (1 << r))
        };
        Ok(Prepared {
            open_mask: mask_of(StageKind::Open),
            anchor,
            window: spec.window.map(|w| check(w, "window")).transpose()?,
            step_window,
            chain: paths.options().skip != SkipPolicy::AnyStage,
            won_mask: mask_of(StageKind::Won),
        })
    }

    /// The range of anchor times of the cycles in scope: the paths know it for the
    /// cycle start; for a stage anchor, one pass over the cycles.
    fn anchor_range(&self, paths: &Paths, cycles: CycleScope) -> (Millis, Millis) {
        match (self.anchor, cycles) {
            (None, CycleScope::AllCycles) => paths.start_range[0],
            (None, CycleScope::FirstCycleOnly) => paths.start_range[1],
            (Some(a), _) => {
                let (mut lo, mut hi) = (Millis::MAX, Millis::MIN);
                for (i, c) in paths.cycles.iter().enumerate() {
                    if c.reached & (1 << a) != 0 && in_scope(cycles, c.number) {
                        let t0 = paths.entries_of(i).at(a);
                        lo = lo.min(t0);
                        hi = hi.max(t0);
                    }
                }
                (lo, hi)
            }
        }
    }

    /// Counts the cycles in scope into their cells.
    ///
    /// Without windows a cycle's counted stages depend on its reached stages alone:
    /// remember the mask of each reached set (few occur) as a dense mask id, and count
    /// cycles per cell and id (no search per cycle); the mask counts are assembled
    /// once at the end.
    fn count(
        &self,
        paths: &Paths,
        cycles: CycleScope,
        segs: &Segmenter,
        buckets: &DayBucketer,
        breakdown: bool,
    ) -> Grid {
        let np = buckets.periods.len();
        let mut grid = Grid {
            cells: vec![MaskCounts::default(); segs.count() * np],
            latest: vec![Millis::MIN; segs.count() * np],
            periods: np,
        };
        let m = self.step_window.len();
        let timeless = self.window.is_none() && self.step_window.iter().all(Option::is_none);
        let mut memo = MaskMemo::new(
            if timeless && m <= 16 { 1 << m } else { 0 },
            grid.cells.len(),
        );
        for (i, c) in paths.cycles.iter().enumerate() {
            if !in_scope(cycles, c.number) {
                continue;
            }
            if memo.covers(c.reached) {
                let t0 = match self.anchor {
                    None => c.start,
                    Some(a) if c.reached & (1 << a) != 0 => paths.entries_of(i).at(a),
                    Some(_) => continue,
                };
                let Some(id) = memo.id(c.reached, || {
                    self.counted(c.start, c.reached, paths.entries_of(i))
                        .map(|(mask, _)| mask)
                }) else {
                    continue;
                };
                let p = buckets.index(t0);
                memo.count(p, id);
                grid.latest[p] = grid.latest[p].max(t0);
                if breakdown {
                    let cell = segs.of_lead[c.subject as usize] as usize * np + p;
                    memo.count(cell, id);
                    grid.latest[cell] = grid.latest[cell].max(t0);
                }
                continue;
            }
            let Some((mask, t0)) = self.counted(c.start, c.reached, paths.entries_of(i)) else {
                continue;
            };
            let p = buckets.index(t0);
            grid.add(p, mask, t0);
            if breakdown {
                grid.add(segs.of_lead[c.subject as usize] as usize * np + p, mask, t0);
            }
        }
        memo.drain_into(&mut grid.cells);
        grid
    }
}

/// Dense ids for the counted-stage masks of reached sets, and cycle counts per cell
/// and id (see [`Prepared::count`]).
struct MaskMemo {
    /// Per reached set: its mask id, or [`MaskMemo::UNSET`]. Empty when not used.
    slots: Vec<u32>,
    masks: Vec<u64>,
    by_id: Vec<Vec<u64>>,
}

impl MaskMemo {
    const UNSET: u32 = u32::MAX;

    fn new(reached_sets: usize, cells: usize) -> MaskMemo {
        MaskMemo {
            slots: vec![MaskMemo::UNSET; reached_sets],
            masks: Vec::new(),
            by_id: vec![Vec::new(); if reached_sets == 0 { 0 } else { cells }],
        }
    }

    fn covers(&self, reached: u32) -> bool {
        (reached as usize) < self.slots.len()
    }

    /// The mask id of a reached set, computing its mask once; `None` if the cycle
    /// enters no cohort.
    fn id(&mut self, reached: u32, mask: impl FnOnce() -> Option<u64>) -> Option<usize> {
        let slot = &mut self.slots[reached as usize];
        if *slot == MaskMemo::UNSET {
            let mask = mask()?;
            // Several reached sets may count the same stages: one id per mask.
            let id = self
                .masks
                .iter()
                .position(|&x| x == mask)
                .unwrap_or_else(|| {
                    self.masks.push(mask);
                    self.masks.len() - 1
                });
            // at most 2^16 reached sets, so ids fit
            *slot = id as u32;
        }
        Some(*slot as usize)
    }

    fn count(&mut self, cell: usize, id: usize) {
        let row = &mut self.by_id[cell];
        if row.len() <= id {
            row.resize(id + 1, 0);
        }
        row[id] += 1;
    }

    fn drain_into(self, cells: &mut [MaskCounts]) {
        for (cell, row) in cells.iter_mut().zip(&self.by_id) {
            for (id, &n) in row.iter().enumerate() {
                if n > 0 {
                    cell.add(self.masks[id], n);
                }
            }
        }
    }
}

pub(crate) fn won_key(data: &FunnelData<'_>, won_mask: u64) -> String {
    let keys = data.progression_keys();
    let won: Vec<&str> = (0..keys.len())
        .filter(|r| won_mask & (1 << r) != 0)
        .map(|r| keys[r])
        .collect();
    if won.len() == 1 {
        won[0].to_string()
    } else {
        "won".to_string()
    }
}

struct RowCtx<'k> {
    keys: &'k [String],
    anchor: Option<usize>,
    won_mask: u64,
    won_key: String,
    confidence: Confidence,
    method: IntervalMethod,
    /// The window, and the paths' as-of instant, for `window_elapsed`.
    window: Option<Millis>,
    as_of: Option<Millis>,
}

impl RowCtx<'_> {
    /// Whether every cycle of a cell whose latest anchor time is `last` has had the
    /// full window by the as-of instant (`None` without a window or an as-of).
    fn elapsed(&self, last: Millis) -> Option<bool> {
        match (self.window, self.as_of) {
            (Some(w), Some(a)) => Some(last == Millis::MIN || last.saturating_add(w) <= a),
            _ => None,
        }
    }

    /// The table of one segment (0: every lead): a row per non-empty period, and
    /// all periods together.
    fn table(
        &self,
        grid: &Grid,
        periods: &[Period],
        seg: usize,
        value: Option<String>,
    ) -> CohortTable {
        let np = grid.periods;
        let mut all = MaskCounts::default();
        let mut all_latest = Millis::MIN;
        let mut rows = Vec::with_capacity(np);
        for (p, period) in periods.iter().enumerate() {
            let cell = &grid.cells[seg * np + p];
            for &(mask, n) in &cell.0 {
                all.add(mask, n);
            }
            let last = grid.latest[seg * np + p];
            all_latest = all_latest.max(last);
            if cell.total() > 0 {
                rows.push(self.row(Some(*period), cell, self.elapsed(last)));
            }
        }
        CohortTable {
            value,
            rows,
            all: self.row(None, &all, self.elapsed(all_latest)),
        }
    }

    fn rate(&self, from: &str, to: &str, k: u64, n: u64) -> StepRate {
        let ratio = Ratio::new(k, n);
        StepRate {
            from: from.to_string(),
            to: to.to_string(),
            ratio,
            interval: ratio.interval(self.method, self.confidence),
        }
    }

    fn row(
        &self,
        cohort: Option<Period>,
        cell: &MaskCounts,
        window_elapsed: Option<bool>,
    ) -> CohortRow {
        let m = self.keys.len();
        let lo = self.anchor.unwrap_or(0);
        let mut reached = vec![0u64; m];
        let mut pair = vec![0u64; m]; // reached r and r+1
        let mut to_won = vec![0u64; m];
        let mut entered = 0;
        for &(mask, n) in &cell.0 {
            entered += n;
            let won = mask & self.won_mask != 0;
            for r in lo..m {
                if mask & (1 << r) != 0 {
                    reached[r] += n;
                    if won {
                        to_won[r] += n;
                    }
                    if r + 1 < m && mask & (1 << (r + 1)) != 0 {
                        pair[r] += n;
                    }
                }
            }
        }
        let steps = (lo..m.saturating_sub(1))
            .map(|r| self.rate(&self.keys[r], &self.keys[r + 1], pair[r], reached[r]))
            .collect();
        let to_won = (lo..m)
            .filter(|r| self.won_mask & (1 << r) == 0)
            .map(|r| self.rate(&self.keys[r], &self.won_key, to_won[r], reached[r]))
            .collect();
        CohortRow {
            cohort,
            entered,
            reached: (0..m).map(|r| (r >= lo).then_some(reached[r])).collect(),
            steps,
            to_won,
            window_elapsed,
        }
    }
}

// ---------------------------------------------------------------------------
// Lookups by name (issue 15): a row by its key, a column by its name, a breakdown
// table by its value; names in, `Option` out.
// ---------------------------------------------------------------------------

impl CohortRow {
    /// The adjacent step `from → to` (stage keys), if the row has it.
    ///
    /// ```
    /// use revops::{Funnel, Lead, LeadId, StageEvent, id};
    /// use revops::funnel::{CohortSpec, FunnelData, FunnelEvents, PathOptions, cohort_report};
    /// use revops::chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 1, d, 0, 0, 0).unwrap();
    /// let (l1, l2): (LeadId, LeadId) = (id!("L1"), id!("L2"));
    /// let leads = [Lead::new(l1.clone(), t(1)), Lead::new(l2.clone(), t(2))];
    /// let events = [
    ///     StageEvent::new(&l1, "mql", t(5)),
    ///     StageEvent::new(&l2, "mql", t(6)),
    ///     StageEvent::new(&l2, "sal", t(9)),
    /// ];
    /// let data = FunnelData::new(Funnel::demand_waterfall(), &leads)?;
    /// let mut acc = FunnelEvents::default();
    /// acc.add_batch(&data, &events)?;
    /// let report = cohort_report(&data, &acc.paths(&data, PathOptions::default()), &CohortSpec::default())?;
    /// let all = &report.total.all;
    /// assert_eq!(all.reached("mql"), Some(2));
    /// assert_eq!(all.reached("sal"), Some(1));
    /// assert_eq!(all.step("mql", "sal").map(|s| s.ratio.to_string()), Some("1 / 2 (50.0%)".into()));
    /// assert_eq!(all.to_won("mql").map(|s| s.ratio.numerator), Some(0));
    /// assert_eq!(all.reached("nope"), None);
    /// assert!(all.step("mql", "sql").is_none()); // not adjacent
    /// # Ok(()) }
    /// ```
    pub fn step(&self, from: &str, to: &str) -> Option<&StepRate> {
        self.steps.iter().find(|s| s.from == from && s.to == to)
    }

    /// The rate from stage `from` to won, if the row has it.
    pub fn to_won(&self, from: &str) -> Option<&StepRate> {
        self.to_won.iter().find(|s| s.from == from)
    }

    /// Cycles that reached stage `stage` (a progression stage key), or `None` for a
    /// stage the row does not count: unknown, or before the anchor. The stage keys
    /// are read from the row's steps (every stage from the anchor on is the start or
    /// end of one); a row anchored at the funnel's last stage has no step, and names
    /// that stage through its rate to won (so in a report anchored at the last stage
    /// when that stage is won, the count is only in the `reached` field, by
    /// position).
    pub fn reached(&self, stage: &str) -> Option<u64> {
        let m = self.reached.len();
        let slot = if let Some(last) = self.steps.last() {
            let first = m.checked_sub(self.steps.len() + 1)?;
            let keys = self.steps.iter().map(|s| s.from.as_str());
            let j = keys.chain([last.to.as_str()]).position(|k| k == stage)?;
            first + j
        } else {
            let only = self.to_won.first()?;
            if only.from != stage {
                return None;
            }
            m.checked_sub(1)?
        };
        self.reached.get(slot).copied().flatten()
    }
}

impl CohortTable {
    /// The row of the cohort period labelled `label` (`"2026-03"`, `"2026-Q1"`:
    /// [`Period::label`]), if the table has it.
    pub fn cohort(&self, label: &str) -> Option<&CohortRow> {
        self.rows
            .iter()
            .find(|r| r.cohort.is_some_and(|p| p.label() == label))
    }
}

impl CohortReport {
    /// The breakdown table of value `value` (e.g. a segment), if any; the missing
    /// bucket (`value: None`) is [`CohortReport::breakdown`]'s last entry.
    pub fn breakdown(&self, value: &str) -> Option<&CohortTable> {
        self.breakdown
            .iter()
            .find(|t| t.value.as_deref() == Some(value))
    }
}
