//! Period (flow) conversion: how many entered each stage in each period, and the
//! ratio of those entries between stages within the same period.

use serde::{Deserialize, Serialize};

use super::bucket::{DayBucketer, Dimension, Segmenter};
use super::data::{FunnelData, FunnelDiagnostics, Millis};
use super::path::{NONE, Paths};
use crate::error::Result;
use crate::period::{Calendar, Granularity, Period};
use crate::ratio::Ratio;

/// What a flow report measures.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FlowSpec {
    /// Period size (default: month).
    pub granularity: Granularity,
    /// Calendar for periods.
    pub calendar: Calendar,
    /// Optional breakdown.
    pub breakdown: Option<Dimension>,
}

impl FlowSpec {
    /// Sets the period size.
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
    /// Breaks the report down by a dimension.
    #[must_use]
    pub fn with_breakdown(mut self, d: Dimension) -> Self {
        self.breakdown = Some(d);
        self
    }
}

/// Entries into the stages during one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowRow {
    /// The period (`None` for the row over all periods).
    pub period: Option<Period>,
    /// Per progression stage: entries during the period (one per cycle entering it).
    pub entries: Vec<u64>,
    /// Of those, entries inferred by back-filling.
    pub inferred: Vec<u64>,
    /// Per adjacent step `i → i+1`: entries into `i+1` over entries into `i` in the
    /// same period. A **flow** measure, not a conversion rate: the subjects in the
    /// numerator are mostly not those of the denominator, so it can exceed 100 %, and
    /// a period without entries into `i` gives `0 / 0` (value `None`).
    pub step_flow: Vec<Ratio>,
}

/// A flow table: one row per period (every period between the first and the last
/// entry, including empty ones) plus the row over all periods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowTable {
    /// The breakdown value (`None` for the total and for the missing bucket).
    pub value: Option<String>,
    /// One row per period, in time order.
    pub rows: Vec<FlowRow>,
    /// All periods together.
    pub all: FlowRow,
}

/// The period (flow) conversion report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowReport {
    /// Progression stage keys.
    pub stages: Vec<String>,
    /// Period size.
    pub granularity: Granularity,
    /// Over all leads.
    pub total: FlowTable,
    /// The breakdown dimension's name, if any.
    pub dimension: Option<String>,
    /// One table per breakdown value (sorted; missing bucket last).
    pub breakdown: Vec<FlowTable>,
    /// What was skipped.
    pub diagnostics: FunnelDiagnostics,
}

/// Computes entries per stage per period and the flow ratios between stages.
///
/// Every reached stage of every cycle is one entry in the period of its entry time
/// (back-filled entries included, and also counted in `inferred`).
///
/// ```
/// use revops::{funnel::flow_report, funnel::FlowSpec, funnel::FunnelData, funnel::FunnelEvents, Funnel, Lead, LeadId,
///              funnel::PathOptions, StageEvent, SubjectId};
/// use chrono::{TimeZone, Utc};
/// # fn main() -> Result<(), revops::Error> {
/// let t = |m, d| Utc.with_ymd_and_hms(2026, m, d, 0, 0, 0).unwrap();
/// let leads = vec![Lead::new(LeadId::new("a")?, t(1, 1)), Lead::new(LeadId::new("b")?, t(1, 2))];
/// let ev = |l: &str, s: &str, m, d| StageEvent::new(SubjectId::new(l).unwrap(), s, t(m, d));
/// let events = vec![ev("a", "inquiry", 1, 3), ev("b", "inquiry", 1, 4), ev("a", "mql", 2, 1)];
/// let data = FunnelData::new(Funnel::demand_waterfall(), &leads)?;
/// let mut acc = FunnelEvents::default();
/// acc.add_batch(&data, &events)?;
/// let r = flow_report(&data, &acc.paths(&data, PathOptions::default()), &FlowSpec::default())?;
/// assert_eq!(r.total.rows.len(), 2);                  // January, February
/// assert_eq!(r.total.rows[0].entries[0], 2);          // two inquiries in January
/// assert_eq!(r.total.rows[1].step_flow[0].value(), None); // no inquiry in February: 1 / 0
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) when the entries span more than
/// [`Period::MAX_SPAN_DAYS`](crate::Period::MAX_SPAN_DAYS) days, about 2,870 years (a sign of a bad
/// timestamp).
pub fn flow_report(data: &FunnelData<'_>, paths: &Paths, spec: &FlowSpec) -> Result<FlowReport> {
    let m = data.progression_len();
    let keys: Vec<String> = data
        .progression_keys()
        .into_iter()
        .map(String::from)
        .collect();
    let (mut lo, mut hi) = (Millis::MAX, Millis::MIN);
    for &t in &paths.entries {
        if t != NONE {
            lo = lo.min(t);
            hi = hi.max(t);
        }
    }
    let segs = Segmenter::new(data, paths, spec.breakdown.as_ref());
    let buckets = DayBucketer::new(spec.calendar, spec.granularity, lo, hi)?;
    let np = buckets.periods.len();
    let width = 2 * m; // entries, then inferred
    let mut counts = vec![0u64; segs.count() * np * width];
    for (i, c) in paths.cycles.iter().enumerate() {
        let s = segs.of(c.subject);
        let entries = paths.entries_of(i);
        for r in 0..m {
            let t = entries.at(r);
            if t == NONE {
                continue;
            }
            let p = buckets.index(t);
            let inferred = u64::from(c.inferred & (1 << r) != 0);
            for seg in [0, s] {
                let base = (seg * np + p) * width;
                counts[base + r] += 1;
                counts[base + m + r] += inferred;
                if s == 0 {
                    break;
                }
            }
        }
    }
    let row = |period: Option<Period>, c: &[u64]| FlowRow {
        period,
        entries: c[..m].to_vec(),
        inferred: c[m..].to_vec(),
        step_flow: (0..m.saturating_sub(1))
            .map(|r| Ratio::new(c[r + 1], c[r]))
            .collect(),
    };
    let table = |seg: usize, value: Option<String>| {
        let mut all = vec![0u64; width];
        let rows = (0..np)
            .map(|p| {
                let c = &counts[(seg * np + p) * width..(seg * np + p + 1) * width];
                for (a, x) in all.iter_mut().zip(c) {
                    *a += x;
                }
                row(Some(buckets.periods[p]), c)
            })
            .collect();
        FlowTable {
            value,
            rows,
            all: row(None, &all),
        }
    };
    Ok(FlowReport {
        stages: keys,
        granularity: spec.granularity,
        total: table(0, None),
        dimension: spec.breakdown.as_ref().map(Dimension::name),
        breakdown: segs
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| table(i + 1, v.clone()))
            .collect(),
        diagnostics: paths.diagnostics().clone(),
    })
}

// ---------------------------------------------------------------------------
// Lookups by name (issue 15), as on the cohort report. A flow row does not carry
// the stage keys, so its columns are looked up through the report, which does.
// ---------------------------------------------------------------------------

impl FlowTable {
    /// The row of the period labelled `label` (`"2026-03"`, `"2026-Q1"`,
    /// `"FY2027-Q1"`: [`Period::label`]), if the table has it.
    pub fn period(&self, label: &str) -> Option<&FlowRow> {
        self.rows
            .iter()
            .find(|r| r.period.is_some_and(|p| p.label() == label))
    }
}

impl FlowReport {
    fn stage_index(&self, stage: &str) -> Option<usize> {
        self.stages.iter().position(|s| s == stage)
    }

    /// Entries into stage `stage` in `row` (a row of one of this report's tables).
    ///
    /// ```
    /// use revops::{Funnel, Lead, LeadId, StageEvent, id};
    /// use revops::funnel::{FlowSpec, FunnelData, FunnelEvents, PathOptions, flow_report};
    /// use revops::chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |m, d| Utc.with_ymd_and_hms(2026, m, d, 0, 0, 0).unwrap();
    /// let (l1, l2): (LeadId, LeadId) = (id!("L1"), id!("L2"));
    /// let leads = [Lead::new(l1.clone(), t(1, 1)), Lead::new(l2.clone(), t(1, 2))];
    /// let events = [
    ///     StageEvent::new(&l1, "mql", t(1, 5)),
    ///     StageEvent::new(&l2, "mql", t(2, 6)),
    ///     StageEvent::new(&l2, "sal", t(2, 9)),
    /// ];
    /// let data = FunnelData::new(Funnel::demand_waterfall(), &leads)?;
    /// let mut acc = FunnelEvents::default();
    /// acc.add_batch(&data, &events)?;
    /// let report = flow_report(&data, &acc.paths(&data, PathOptions::default()), &FlowSpec::default())?;
    /// let feb = report.total.period("2026-02").unwrap();
    /// assert_eq!(report.entries(feb, "mql"), Some(1));
    /// assert_eq!(report.entries(&report.total.all, "mql"), Some(2));
    /// assert_eq!(report.step_flow(feb, "mql", "sal").map(|r| r.to_string()), Some("1 / 1 (100.0%)".into()));
    /// assert_eq!(report.entries(feb, "nope"), None);
    /// # Ok(()) }
    /// ```
    pub fn entries(&self, row: &FlowRow, stage: &str) -> Option<u64> {
        row.entries.get(self.stage_index(stage)?).copied()
    }

    /// Of the entries into stage `stage` in `row`, those inferred by back-filling.
    pub fn inferred(&self, row: &FlowRow, stage: &str) -> Option<u64> {
        row.inferred.get(self.stage_index(stage)?).copied()
    }

    /// The flow ratio of the adjacent step `from → to` in `row` (`None` when the
    /// stages are unknown or not adjacent).
    pub fn step_flow<'r>(&self, row: &'r FlowRow, from: &str, to: &str) -> Option<&'r Ratio> {
        let i = self.stage_index(from)?;
        if self.stages.get(i + 1)? != to {
            return None;
        }
        row.step_flow.get(i)
    }

    /// The breakdown table of value `value`, if any.
    pub fn breakdown(&self, value: &str) -> Option<&FlowTable> {
        self.breakdown
            .iter()
            .find(|t| t.value.as_deref() == Some(value))
    }
}
