//! Velocity: how long subjects take from one stage to another.

use crate::error::ErrorKind;
use serde::{Deserialize, Serialize};

use super::bucket::{Dimension, Segmenter};
use super::data::{FunnelData, MAX_PROGRESSION_STAGES, Millis};
use super::path::Paths;
use crate::distribution::{BinRule, Histogram, QuantileSketch, Summary, summarize};
use crate::error::{Error, RecordRef, Result};

/// How quantiles are computed.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuantileMode {
    /// **Default.** Exact (every duration is kept; NumPy's default "linear"
    /// quantile definition).
    #[default]
    Exact,
    /// A mergeable [`QuantileSketch`] with this relative accuracy (e.g. 0.01: each
    /// quantile within 1 % of the exact lower-rank value); memory independent of the
    /// count.
    Sketch {
        /// The relative accuracy α.
        alpha: f64,
    },
}

/// What to do with stage entries inferred by back-filling (their time is the next
/// reached stage's, so a lag from or to them is not a measured lag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InferredEndpoints {
    /// **Default.** Leave out a cycle whose `from` or `to` entry was inferred (counted
    /// in [`StepVelocity::excluded_inferred`]).
    #[default]
    Exclude,
    /// Use them (inferred lags are zero or shorter than real).
    Include,
}

/// What a velocity report measures.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VelocitySpec {
    /// Stage pairs `(from, to)` by key; empty means every adjacent step of the path and
    /// the first stage to won.
    pub steps: Vec<(String, String)>,
    /// Exact or sketched quantiles (default exact).
    pub quantiles: QuantileMode,
    /// Histogram bins (default [`BinRule::Log2`]: `[0, 1d)`, `[1d, 2d)`, `[2d, 4d)` …).
    pub bins: BinRule,
    /// Inferred entries (default: excluded).
    pub inferred: InferredEndpoints,
    /// Optional breakdown.
    pub breakdown: Option<Dimension>,
}

impl VelocitySpec {
    /// Adds a stage pair to measure.
    #[must_use]
    pub fn with_step(mut self, from: impl Into<String>, to: impl Into<String>) -> Self {
        self.steps.push((from.into(), to.into()));
        self
    }
    /// Sets the quantile mode.
    #[must_use]
    pub fn with_quantiles(mut self, q: QuantileMode) -> Self {
        self.quantiles = q;
        self
    }
    /// Sets the histogram rule.
    #[must_use]
    pub fn with_bins(mut self, b: BinRule) -> Self {
        self.bins = b;
        self
    }
    /// Sets the inferred-entry policy.
    #[must_use]
    pub fn with_inferred(mut self, i: InferredEndpoints) -> Self {
        self.inferred = i;
        self
    }
    /// Breaks the report down by a dimension.
    #[must_use]
    pub fn with_breakdown(mut self, d: Dimension) -> Self {
        self.breakdown = Some(d);
        self
    }
}

/// The time from one stage to another, over the cycles that reached both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepVelocity {
    /// From-stage key.
    pub from: String,
    /// To-stage key.
    pub to: String,
    /// Count, mean, min, quartiles, p90 and max in seconds (`None`: no cycle).
    pub summary: Option<Summary>,
    /// Histogram of the durations (`None`: no cycle).
    pub histogram: Option<Histogram>,
    /// Cycles left out because an endpoint was inferred.
    pub excluded_inferred: u64,
}

/// Velocity of every measured step, for one breakdown value (or the total).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VelocityTable {
    /// The breakdown value (`None` for the total and for the missing bucket).
    pub value: Option<String>,
    /// One entry per measured stage pair, in the spec's order.
    pub steps: Vec<StepVelocity>,
}

impl std::fmt::Display for VelocityTable {
    /// The table in days, one line per step: count, mean, p25, median, p75, p90 and
    /// the cycles left out because an endpoint was inferred (back-filled). A step
    /// without any cycle shows a count of 0 and its inferred count.
    ///
    /// ```
    /// use revops::{funnel::velocity_report, funnel::FunnelData, funnel::FunnelEvents, Funnel, Lead, LeadId,
    ///              funnel::PathOptions, StageEvent, SubjectId, funnel::VelocitySpec};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 1, d, 0, 0, 0).unwrap();
    /// let leads = vec![Lead::new(LeadId::new("a")?, t(1)), Lead::new(LeadId::new("b")?, t(1))];
    /// let ev = |l: &str, s: &str, d| StageEvent::new(SubjectId::new(l).unwrap(), s, t(d));
    /// let events = vec![ev("a", "mql", 2), ev("a", "sql", 5), ev("b", "mql", 2), ev("b", "sql", 9)];
    /// let data = FunnelData::new(Funnel::demand_waterfall(), &leads)?;
    /// let mut acc = FunnelEvents::default();
    /// acc.add_batch(&data, &events)?;
    /// let paths = acc.paths(&data, PathOptions::default());
    /// let r = velocity_report(&data, &paths, &VelocitySpec::default().with_step("mql", "sql"))?;
    /// let text = r.total.to_string();
    /// let lines: Vec<&str> = text.lines().collect();
    /// assert!(lines[0].starts_with("step") && lines[0].ends_with("inferred"));
    /// assert_eq!(
    ///     lines[1].split_whitespace().collect::<Vec<_>>(),
    ///     ["mql", "→", "sql", "2", "5.0", "4.0", "5.0", "6.0", "6.6", "0"]
    /// );
    /// # Ok(()) }
    /// ```
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{:<26} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}",
            "step", "count", "mean", "p25", "median", "p75", "p90", "inferred"
        )?;
        for s in &self.steps {
            let label = format!("{} → {}", s.from, s.to);
            match &s.summary {
                Some(m) => writeln!(
                    f,
                    "{label:<26} {:>9} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>9}",
                    m.count,
                    m.mean_days(),
                    m.p25_days(),
                    m.median_days(),
                    m.p75_days(),
                    m.p90_days(),
                    s.excluded_inferred
                )?,
                None => writeln!(f, "{label:<26} {:>9} {:>53}", 0, s.excluded_inferred)?,
            }
        }
        Ok(())
    }
}

/// The velocity report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VelocityReport {
    /// Over all leads.
    pub total: VelocityTable,
    /// The breakdown dimension's name, if any.
    pub dimension: Option<String>,
    /// One table per breakdown value (sorted; missing bucket last).
    pub breakdown: Vec<VelocityTable>,
}

/// Where a cell's durations go: every value (exact quantiles) or a sketch.
trait Sink {
    fn add(&mut self, seconds: u64);
}

impl Sink for Vec<u64> {
    #[inline]
    fn add(&mut self, seconds: u64) {
        self.push(seconds);
    }
}

/// Durations that fit 32 bits; `overflow` says one did not (it is then dropped,
/// and the report falls back to 64-bit values).
struct Narrow {
    values: Vec<u32>,
    overflow: bool,
}

impl Sink for Narrow {
    #[inline]
    fn add(&mut self, seconds: u64) {
        match u32::try_from(seconds) {
            Ok(s) => self.values.push(s),
            Err(_) => self.overflow = true,
        }
    }
}

impl Sink for QuantileSketch {
    #[inline]
    fn add(&mut self, seconds: u64) {
        QuantileSketch::add(self, seconds);
    }
}

/// The cells of a velocity report: one per breakdown segment (0 = total) and stage
/// pair, `cell = segment · pairs + pair`.
struct Cells<'a> {
    paths: &'a Paths,
    pairs: &'a [(usize, usize)],
    /// Per lead: its segment, when broken down.
    segment: Option<&'a [u32]>,
    exclude_inferred: bool,
}

impl Cells<'_> {
    /// Adds every cycle's durations to `sinks`, counting the cycles left out for an
    /// inferred endpoint in `excluded`.
    fn fill<S: Sink>(&self, sinks: &mut [S], excluded: &mut [u64]) {
        let np = self.pairs.len();
        let both: Vec<u32> = self
            .pairs
            .iter()
            .map(|&(f, t)| (1 << f) | (1 << t))
            .collect();
        // The entry time of every reached rank of the current cycle (slots of ranks
        // not reached hold stale times and are never read).
        let mut times = [0 as Millis; MAX_PROGRESSION_STAGES];
        let entries = &self.paths.entries;
        for c in &self.paths.cycles {
            let reached = c.reached;
            let (mut bits, mut i) = (reached, c.offset);
            while bits != 0 {
                times[bits.trailing_zeros() as usize] = entries[i];
                bits &= bits - 1;
                i += 1;
            }
            let seg = self
                .segment
                .map_or(0, |of_lead| of_lead[c.subject as usize] as usize * np);
            for (k, (&both, &(f, t))) in both.iter().zip(self.pairs).enumerate() {
                if reached & both != both {
                    continue;
                }
                if self.exclude_inferred && c.inferred & both != 0 {
                    excluded[k] += 1;
                    if seg != 0 {
                        excluded[seg + k] += 1;
                    }
                    continue;
                }
                let d = u64::try_from((times[t] - times[f]) / 1000).unwrap_or(0);
                sinks[k].add(d);
                if seg != 0 {
                    sinks[seg + k].add(d);
                }
            }
        }
    }
}

/// Computes the time between stage pairs for every cycle that reached both (time of
/// entering `to` minus time of entering `from`, in whole seconds).
///
/// ```
/// use revops::{funnel::velocity_report, funnel::FunnelData, funnel::FunnelEvents, Funnel, Lead, LeadId, funnel::PathOptions,
///              StageEvent, SubjectId, funnel::VelocitySpec};
/// use chrono::{TimeZone, Utc};
/// # fn main() -> Result<(), revops::Error> {
/// let t = |d| Utc.with_ymd_and_hms(2026, 1, d, 0, 0, 0).unwrap();
/// let leads = vec![Lead::new(LeadId::new("a")?, t(1)), Lead::new(LeadId::new("b")?, t(1))];
/// let ev = |l: &str, s: &str, d| StageEvent::new(SubjectId::new(l).unwrap(), s, t(d));
/// let events = vec![ev("a", "mql", 2), ev("a", "sql", 5), ev("b", "mql", 2), ev("b", "sql", 9)];
/// let data = FunnelData::new(Funnel::demand_waterfall(), &leads)?;
/// let mut acc = FunnelEvents::default();
/// acc.add_batch(&data, &events)?;
/// let paths = acc.paths(&data, PathOptions::default());
/// let r = velocity_report(&data, &paths, &VelocitySpec::default().with_step("mql", "sql"))?;
/// let s = r.total.steps[0].summary.as_ref().unwrap();
/// assert_eq!((s.count, s.median_days(), s.max_days()), (2, 5.0, 7.0));
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`ErrorKind::UnknownStage`](crate::error::ErrorKind::UnknownStage) for a step stage that is not an open or won stage,
/// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) for a `to` stage before its `from` stage, a bad sketch
/// accuracy, or a histogram rule that needs too many bins.
pub fn velocity_report(
    data: &FunnelData<'_>,
    paths: &Paths,
    spec: &VelocitySpec,
) -> Result<VelocityReport> {
    let keys = data.progression_keys();
    let m = keys.len();
    let rank = |k: &str| {
        data.rank_of(k).ok_or_else(|| {
            Error::from(ErrorKind::UnknownStage {
                record: RecordRef::new("velocity step"),
                key: k.to_string(),
                funnel: data.funnel().name().to_string(),
            })
        })
    };
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    if spec.steps.is_empty() {
        pairs.extend((0..m.saturating_sub(1)).map(|r| (r, r + 1)));
        if let Some(won) = data.funnel().won_stages().next().and_then(|w| data.rank[w]) {
            let won = usize::from(won);
            if won > 1 {
                pairs.push((0, won));
            }
        }
    } else {
        for (f, t) in &spec.steps {
            let (f, t) = (rank(f)?, rank(t)?);
            if t < f {
                return Err(Error::from(ErrorKind::InvalidParameter {
                    name: "velocity step",
                    value: format!("{} -> {}", keys[f], keys[t]),
                    reason: "the to-stage comes before the from-stage in the funnel".into(),
                }));
            }
            pairs.push((f, t));
        }
    }
    let segs = Segmenter::new(data, paths, spec.breakdown.as_ref());
    let np = pairs.len();
    let ncells = segs.count() * np;
    let cells = Cells {
        paths,
        pairs: &pairs,
        segment: spec.breakdown.as_ref().map(|_| &segs.of_lead[..]),
        exclude_inferred: spec.inferred == InferredEndpoints::Exclude,
    };
    let mut excluded = vec![0u64; ncells];
    let mut results: Vec<(Option<Summary>, Option<Histogram>)> = match spec.quantiles {
        QuantileMode::Exact => {
            // Durations in seconds fit 32 bits (136 years) unless the data is absurd:
            // narrow values halve the memory; wide ones only if one does not fit.
            // A total cell gets at most one value per cycle: reserve that (untouched
            // capacity costs address space, not memory), so it never regrows.
            let cycles = paths.cycles.len();
            let reserve = |cell: usize| if cell < np { cycles } else { 0 };
            let mut narrow: Vec<Narrow> = (0..ncells)
                .map(|cell| Narrow {
                    values: Vec::with_capacity(reserve(cell)),
                    overflow: false,
                })
                .collect();
            cells.fill(&mut narrow, &mut excluded);
            if narrow.iter().any(|s| s.overflow) {
                drop(narrow);
                excluded.fill(0);
                let mut wide: Vec<Vec<u64>> = (0..ncells)
                    .map(|cell| Vec::with_capacity(reserve(cell)))
                    .collect();
                cells.fill(&mut wide, &mut excluded);
                wide.iter_mut()
                    .map(|values| Ok(summarize(values, spec.bins)?.unzip()))
                    .collect::<Result<_>>()?
            } else {
                narrow
                    .iter_mut()
                    .map(|s| Ok(summarize(&mut s.values, spec.bins)?.unzip()))
                    .collect::<Result<_>>()?
            }
        }
        QuantileMode::Sketch { alpha } => {
            let sketch = QuantileSketch::with_relative_accuracy(alpha)?;
            let mut sinks = vec![sketch; ncells];
            cells.fill(&mut sinks, &mut excluded);
            sinks
                .iter()
                .map(|d| Ok((d.finish()?, d.histogram(spec.bins)?)))
                .collect::<Result<_>>()?
        }
    };
    let mut table = |seg: usize, value: Option<String>| -> VelocityTable {
        let steps = pairs
            .iter()
            .enumerate()
            .map(|(k, &(f, t))| {
                let cell = seg * np + k;
                let (summary, histogram) = std::mem::take(&mut results[cell]);
                StepVelocity {
                    from: keys[f].to_string(),
                    to: keys[t].to_string(),
                    summary,
                    histogram,
                    excluded_inferred: excluded[cell],
                }
            })
            .collect();
        VelocityTable { value, steps }
    };
    Ok(VelocityReport {
        total: table(0, None),
        dimension: spec.breakdown.as_ref().map(Dimension::name),
        breakdown: segs
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| table(i + 1, v.clone()))
            .collect(),
    })
}

// ---------------------------------------------------------------------------
// Lookups by name (issue 15), as on the cohort report.
// ---------------------------------------------------------------------------

impl VelocityTable {
    /// The velocity of the measured step `from → to` (stage keys), if measured.
    pub fn step(&self, from: &str, to: &str) -> Option<&StepVelocity> {
        self.steps.iter().find(|s| s.from == from && s.to == to)
    }
}

impl VelocityReport {
    /// The velocity of the measured step `from → to` over all leads (the total
    /// table's [`VelocityTable::step`]).
    ///
    /// ```
    /// use revops::{Funnel, Lead, LeadId, StageEvent, id};
    /// use revops::funnel::{FunnelData, FunnelEvents, PathOptions, VelocitySpec, velocity_report};
    /// use revops::chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 1, d, 0, 0, 0).unwrap();
    /// let lead: LeadId = id!("L1");
    /// let leads = [Lead::new(lead.clone(), t(1))];
    /// let events = [StageEvent::new(&lead, "mql", t(5)), StageEvent::new(&lead, "sql", t(9))];
    /// let data = FunnelData::new(Funnel::demand_waterfall(), &leads)?;
    /// let mut acc = FunnelEvents::default();
    /// acc.add_batch(&data, &events)?;
    /// let paths = acc.paths(&data, PathOptions::default());
    /// let spec = VelocitySpec::default().with_step("mql", "sql");
    /// let report = velocity_report(&data, &paths, &spec)?;
    /// let summary = report.step("mql", "sql").and_then(|s| s.summary.as_ref());
    /// assert_eq!(summary.map(|s| s.count), Some(1));
    /// assert!(report.step("sql", "won").is_none());
    /// # Ok(()) }
    /// ```
    pub fn step(&self, from: &str, to: &str) -> Option<&StepVelocity> {
        self.total.step(from, to)
    }

    /// The breakdown table of value `value`, if any.
    pub fn breakdown(&self, value: &str) -> Option<&VelocityTable> {
        self.breakdown
            .iter()
            .find(|t| t.value.as_deref() == Some(value))
    }
}
