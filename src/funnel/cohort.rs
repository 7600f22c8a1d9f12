//! Cohort conversion: subjects grouped by the period in which they entered a chosen
//! stage, followed through the rest of the funnel.

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
/// [`Error::UnknownStage`] for an anchor or step-window stage that is not an open or
/// won stage of the funnel; [`Error::InvalidParameter`] for a negative window, or
/// when the cohorts span more than [`Period::MAX_SPAN_DAYS`](crate::Period::MAX_SPAN_DAYS) days, about 2,870 years (a sign of a bad timestamp).
pub fn cohort_report(
    data: &FunnelData<'_>,
    paths: &Paths,
    spec: &CohortSpec,
) -> Result<CohortReport> {
    let m = data.progression_len();
    let keys: Vec<String> = data
        .progression_keys()
        .into_iter()
        .map(String::from)
        .collect();
    let rank_of = |key: &str, what: &'static str| {
        data.rank_of(key).ok_or_else(|| Error::UnknownStage {
            record: crate::RecordRef::new(what),
            key: key.to_string(),
            funnel: data.funnel().name().to_string(),
        })
    };
    let anchor = match &spec.anchor {
        CohortAnchor::Created => None,
        CohortAnchor::Stage(k) => Some(rank_of(k, "cohort anchor")?),
    };
    let check = |w: TimeDelta, name: &'static str| {
        if w < TimeDelta::zero() {
            Err(Error::InvalidParameter {
                name,
                value: w.to_string(),
                reason: "a window must not be negative".into(),
            })
        } else {
            Ok(ms(w))
        }
    };
    let mut step_window = vec![None; m];
    for (k, w) in &spec.step_windows {
        step_window[rank_of(k, "step window")?] = Some(check(*w, "step window")?);
    }
    let won_mask = data
        .progression
        .iter()
        .enumerate()
        .filter(|(_, i)| data.funnel().stages()[**i].kind == StageKind::Won)
        .fold(0u64, |acc, (r, _)| acc | (1 << r));
    let open_mask = data
        .progression
        .iter()
        .enumerate()
        .filter(|(_, i)| data.funnel().stages()[**i].kind == StageKind::Open)
        .fold(0u64, |acc, (r, _)| acc | (1 << r));
    let prep = Prepared {
        open_mask,
        anchor,
        window: spec.window.map(|w| check(w, "window")).transpose()?,
        step_window,
        chain: paths.options().skip != SkipPolicy::AnyStage,
        won_mask,
    };

    // Pass 1 (for a stage anchor; the paths know the range of cycle starts): the
    // range of anchor times; pass 2: count.
    let scope = |number: u32| spec.cycles == CycleScope::AllCycles || number == 0;
    let (lo, hi) = match (anchor, spec.cycles) {
        // Anchored at the start: the paths know the range.
        (None, CycleScope::AllCycles) => paths.start_range[0],
        (None, CycleScope::FirstCycleOnly) => paths.start_range[1],
        (Some(a), _) => {
            let (mut lo, mut hi) = (Millis::MAX, Millis::MIN);
            for (i, c) in paths.cycles.iter().enumerate() {
                if c.reached & (1 << a) != 0 && scope(c.number) {
                    let t0 = paths.entries_of(i).at(a);
                    lo = lo.min(t0);
                    hi = hi.max(t0);
                }
            }
            (lo, hi)
        }
    };
    let segs = Segmenter::new(data, paths, spec.breakdown.as_ref());
    let breakdown = spec.breakdown.is_some();
    let buckets = DayBucketer::new(spec.calendar, spec.granularity, lo, hi)?;
    let np = buckets.periods.len();
    let mut cells = vec![MaskCounts::default(); segs.count() * np];
    let mut latest = vec![Millis::MIN; segs.count() * np];
    // Without windows a cycle's counted stages depend on its reached stages alone:
    // remember the mask of each reached set (few occur) as a dense mask id, and
    // count cycles per cell and id (no search per cycle); the mask counts are
    // assembled once at the end.
    const UNSET: u32 = u32::MAX;
    let timeless = prep.window.is_none() && prep.step_window.iter().all(Option::is_none);
    let mut memo = if timeless && m <= 16 {
        vec![UNSET; 1 << m]
    } else {
        Vec::new()
    };
    let mut masks: Vec<u64> = Vec::new();
    let mut by_id: Vec<Vec<u64>> = vec![Vec::new(); if memo.is_empty() { 0 } else { cells.len() }];
    let count = |row: &mut Vec<u64>, id: usize| {
        if row.len() <= id {
            row.resize(id + 1, 0);
        }
        row[id] += 1;
    };
    for (i, c) in paths.cycles.iter().enumerate() {
        if !scope(c.number) {
            continue;
        }
        if let Some(slot) = memo.get_mut(c.reached as usize) {
            let t0 = match anchor {
                None => c.start,
                Some(a) if c.reached & (1 << a) != 0 => paths.entries_of(i).at(a),
                Some(_) => continue,
            };
            if *slot == UNSET {
                let Some((mask, _)) = prep.counted(c.start, c.reached, paths.entries_of(i)) else {
                    continue;
                };
                // Several reached sets may count the same stages: one id per mask.
                let id = masks.iter().position(|&x| x == mask).unwrap_or_else(|| {
                    masks.push(mask);
                    masks.len() - 1
                });
                // at most 2^16 reached sets, so ids fit
                *slot = id as u32;
            }
            let id = *slot as usize;
            let p = buckets.index(t0);
            count(&mut by_id[p], id);
            latest[p] = latest[p].max(t0);
            if breakdown {
                let cell = segs.of_lead[c.subject as usize] as usize * np + p;
                count(&mut by_id[cell], id);
                latest[cell] = latest[cell].max(t0);
            }
            continue;
        }
        let Some((mask, t0)) = prep.counted(c.start, c.reached, paths.entries_of(i)) else {
            continue;
        };
        let p = buckets.index(t0);
        cells[p].add(mask, 1);
        latest[p] = latest[p].max(t0);
        if breakdown {
            let cell = segs.of_lead[c.subject as usize] as usize * np + p;
            cells[cell].add(mask, 1);
            latest[cell] = latest[cell].max(t0);
        }
    }
    for (cell, row) in cells.iter_mut().zip(&by_id) {
        for (id, &n) in row.iter().enumerate() {
            if n > 0 {
                cell.add(masks[id], n);
            }
        }
    }

    let as_of = paths.options().as_of;
    let elapsed = |last: Millis| -> Option<bool> {
        match (prep.window, as_of) {
            (Some(w), Some(a)) => Some(last == Millis::MIN || last.saturating_add(w) <= millis(&a)),
            _ => None,
        }
    };
    let ctx = RowCtx {
        keys: &keys,
        anchor,
        won_mask: prep.won_mask,
        won_key: won_key(data, prep.won_mask),
        confidence: spec.confidence,
        method: spec.method,
    };
    let table = |seg: usize, value: Option<String>| -> CohortTable {
        let mut all = MaskCounts::default();
        let mut all_latest = Millis::MIN;
        let mut rows = Vec::with_capacity(np);
        for (p, period) in buckets.periods.iter().enumerate() {
            let cell = &cells[seg * np + p];
            for &(mask, n) in &cell.0 {
                all.add(mask, n);
            }
            let last = latest[seg * np + p];
            all_latest = all_latest.max(last);
            if cell.total() > 0 {
                rows.push(ctx.row(Some(*period), cell, elapsed(last)));
            }
        }
        CohortTable {
            value,
            rows,
            all: ctx.row(None, &all, elapsed(all_latest)),
        }
    };
    let total = table(0, None);
    let breakdown = segs
        .values
        .iter()
        .enumerate()
        .map(|(i, v)| table(i + 1, v.clone()))
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
}

impl RowCtx<'_> {
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
