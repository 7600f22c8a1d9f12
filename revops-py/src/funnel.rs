//! `cohort_report(leads, stage_events)` and `velocity(leads, stage_events)`: the
//! core's funnel engine ([`revops::funnel`]) over the leads and stage-event tables,
//! decoded by the core's Arrow decoder, as pyarrow tables.

use arrow_array::RecordBatch;
use pyo3::prelude::*;
use pyo3::types::{PyAny, PyDict};
use revops::distribution::BinRule;
use revops::funnel::{
    CohortAnchor, CohortReport, CohortSpec, CycleScope, Dimension, FunnelData, FunnelEvents,
    InferredEndpoints, PathOptions, Paths, QuantileMode, VelocityReport, VelocitySpec,
    cohort_report as core_cohort_report, velocity_report,
};
use revops::{Calendar, Confidence, Funnel, Granularity, IntervalMethod, Lead, Result, StageEvent};

use crate::errors::to_py;
use crate::input::{record_batches, to_pyarrow};
use crate::options::{any, named};
use crate::tables::{Columns, duration, funnel, instant, path_options, records};

/// The leads and stage events of two tables, interned for `funnel`, and each
/// lead's paths under `options`: what every funnel report reads. The events go
/// into the accumulator in one batch, so an error names its row in the table.
///
/// # Errors
/// A bad row of either table (named by the decoder); what [`FunnelData::new`]
/// (a duplicate lead) and [`FunnelEvents::add_batch`] (an unknown stage) return.
pub(crate) fn paths<'a>(
    funnel: Funnel,
    leads: &'a [Lead],
    events: &[RecordBatch],
    options: PathOptions,
) -> Result<(FunnelData<'a>, Paths)> {
    let data = FunnelData::new(funnel, leads)?;
    let events: Vec<StageEvent> = records(events, "stage_events")?;
    let mut acc = FunnelEvents::new();
    acc.add_batch(&data, &events)?;
    let paths = acc.paths(&data, options);
    Ok((data, paths))
}

/// The funnel arguments every funnel function takes: the funnel, the path options
/// and the two tables' record batches.
pub(crate) struct FunnelInput {
    pub(crate) funnel: Funnel,
    pub(crate) options: PathOptions,
    pub(crate) leads: Vec<RecordBatch>,
    pub(crate) events: Vec<RecordBatch>,
}

impl FunnelInput {
    /// The arguments of the same names, read under the GIL.
    fn new(
        leads: &Bound<'_, PyAny>,
        stage_events: &Bound<'_, PyAny>,
        funnel: Option<&Bound<'_, PyAny>>,
        (skip, tie_break, backward): (&str, &str, &str),
        as_of: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<FunnelInput> {
        Ok(FunnelInput {
            funnel: funnel_arg(funnel)?,
            options: path_options(skip, tie_break, backward, instant("as_of", as_of)?)?,
            leads: record_batches(leads, "leads")?,
            events: record_batches(stage_events, "stage_events")?,
        })
    }

    /// `report` of the leads' paths.
    ///
    /// # Errors
    /// A bad lead row; as [`paths`] and `report`.
    pub(crate) fn report<T>(
        self,
        report: impl FnOnce(&FunnelData<'_>, &Paths) -> Result<T>,
    ) -> Result<T> {
        let leads: Vec<Lead> = records(&self.leads, "leads")?;
        let (data, paths) = paths(self.funnel, &leads, &self.events, self.options)?;
        report(&data, &paths)
    }
}

/// The cohort report as one table: a row per table (the total, then each breakdown
/// value), cohort (then all cohorts, `cohort` null) and rate (`kind` `step`: stage
/// to next stage; `to_won`: stage to won). The report's other fields are JSON in
/// the schema metadata (`revops.stages`, `revops.anchor`, `revops.dimension`,
/// `revops.diagnostics`, ...).
///
/// # Errors
/// When Arrow refuses the columns (it does not for these types).
pub(crate) fn cohort_batch(report: &CohortReport) -> Result<RecordBatch> {
    let tables =
        std::iter::once((true, &report.total)).chain(report.breakdown.iter().map(|t| (false, t)));
    let mut rows = Vec::new();
    for (total, table) in tables {
        for row in table.rows.iter().chain(std::iter::once(&table.all)) {
            for (kind, steps) in [("step", &row.steps), ("to_won", &row.to_won)] {
                rows.extend(steps.iter().map(|s| (total, table, row, kind, s)));
            }
        }
    }
    let mut c = Columns::default();
    c.flag("total", rows.iter().map(|r| Some(r.0)));
    c.text("breakdown", rows.iter().map(|r| r.1.value.as_deref()));
    let cohort: Vec<Option<String>> = rows
        .iter()
        .map(|r| r.2.cohort.map(|p| p.to_string()))
        .collect();
    c.text("cohort", cohort.iter().map(Option::as_deref));
    c.date(
        "cohort_start",
        rows.iter().map(|r| r.2.cohort.map(|p| p.start())),
    );
    c.count("entered", rows.iter().map(|r| Some(r.2.entered)));
    c.text("kind", rows.iter().map(|r| Some(r.3)));
    c.text("from", rows.iter().map(|r| Some(r.4.from.as_str())));
    c.text("to", rows.iter().map(|r| Some(r.4.to.as_str())));
    let rates: Vec<_> = rows.iter().map(|r| (r.4.ratio, r.4.interval)).collect();
    c.rate("", &rates);
    c.flag("window_elapsed", rows.iter().map(|r| r.2.window_elapsed));
    c.finish(&[
        ("funnel", serde_json::json!(report.funnel)),
        ("stages", serde_json::json!(report.stages)),
        ("anchor", serde_json::json!(report.anchor)),
        ("granularity", serde_json::json!(report.granularity)),
        ("as_of", serde_json::json!(report.as_of)),
        ("confidence", serde_json::json!(report.confidence)),
        ("method", serde_json::json!(report.method)),
        ("dimension", serde_json::json!(report.dimension)),
        ("diagnostics", serde_json::json!(report.diagnostics)),
    ])
}

/// The velocity report as one table: a row per table (the total, then each
/// breakdown value) and measured step: the summary in seconds (null when no cycle
/// measured it), the histogram's bins as three lists, and the cycles left out
/// because an endpoint was inferred.
///
/// # Errors
/// When Arrow refuses the columns (it does not for these types).
pub(crate) fn velocity_batch(report: &VelocityReport) -> Result<RecordBatch> {
    let rows: Vec<_> = std::iter::once((true, &report.total))
        .chain(report.breakdown.iter().map(|t| (false, t)))
        .flat_map(|(total, t)| t.steps.iter().map(move |s| (total, t, s)))
        .collect();
    let mut c = Columns::default();
    c.flag("total", rows.iter().map(|r| Some(r.0)));
    c.text("breakdown", rows.iter().map(|r| r.1.value.as_deref()));
    c.text("from", rows.iter().map(|r| Some(r.2.from.as_str())));
    c.text("to", rows.iter().map(|r| Some(r.2.to.as_str())));
    let s = |f: fn(&revops::distribution::Summary) -> f64| {
        rows.iter()
            .map(move |r| r.2.summary.as_ref().map(f))
            .collect::<Vec<_>>()
    };
    c.count(
        "count",
        rows.iter()
            .map(|r| Some(r.2.summary.as_ref().map_or(0, |m| m.count))),
    );
    c.real("mean", s(|m| m.mean));
    c.count(
        "min",
        rows.iter().map(|r| r.2.summary.as_ref().map(|m| m.min)),
    );
    c.real("p25", s(|m| m.p25));
    c.real("median", s(|m| m.median));
    c.real("p75", s(|m| m.p75));
    c.real("p90", s(|m| m.p90));
    c.count(
        "max",
        rows.iter().map(|r| r.2.summary.as_ref().map(|m| m.max)),
    );
    c.count(
        "excluded_inferred",
        rows.iter().map(|r| Some(r.2.excluded_inferred)),
    );
    let bins = |f: fn(&revops::distribution::Bin) -> u64| {
        rows.iter()
            .map(move |r| {
                r.2.histogram
                    .as_ref()
                    .map(|h| h.bins.iter().map(f).collect())
            })
            .collect::<Vec<_>>()
    };
    c.counts("bin_lower", bins(|b| b.lower));
    c.counts("bin_upper", bins(|b| b.upper));
    c.counts("bin_count", bins(|b| b.count));
    c.finish(&[("dimension", serde_json::json!(report.dimension))])
}

/// A breakdown dimension by its text form (`source`, `owner`, `attribute:<name>`).
fn dimension(value: Option<&str>) -> PyResult<Option<Dimension>> {
    value
        .map(|d| d.parse::<Dimension>())
        .transpose()
        .map_err(to_py)
}

/// The cohort spec from the keyword arguments of the same names.
#[allow(clippy::too_many_arguments)]
fn cohort_spec(
    anchor: &str,
    granularity: &str,
    calendar: Option<&Bound<'_, PyAny>>,
    window: Option<&Bound<'_, PyAny>>,
    step_windows: Option<&Bound<'_, PyDict>>,
    cycles: &str,
    breakdown: Option<&str>,
    confidence: f64,
    method: &str,
) -> PyResult<CohortSpec> {
    let mut spec = CohortSpec::default()
        .with_anchor(match anchor.trim() {
            "created" => CohortAnchor::Created,
            stage => CohortAnchor::Stage(stage.to_string()),
        })
        .with_granularity(granularity.parse::<Granularity>().map_err(to_py)?)
        .with_calendar(any::<Calendar>("calendar", calendar)?)
        .with_cycles(named::<CycleScope>("cycles", cycles)?)
        .with_confidence(Confidence::new(confidence).map_err(to_py)?)
        .with_method(named::<IntervalMethod>("method", method)?);
    if let Some(w) = duration("window", window)? {
        spec = spec.with_window(w);
    }
    for (stage, w) in step_windows.iter().flat_map(|d| d.iter()) {
        if let Some(w) = duration("step_windows", Some(&w))? {
            spec = spec.with_step_window(stage.extract::<String>()?, w);
        }
    }
    if let Some(d) = dimension(breakdown)? {
        spec = spec.with_breakdown(d);
    }
    Ok(spec)
}

// `revops.cohort_report`: the doc comment below is its Python docstring.
#[allow(clippy::too_many_arguments)]
#[pyfunction]
#[pyo3(signature = (
    leads, stage_events, *, funnel = None, anchor = "created", granularity = "month",
    calendar = None, window = None, step_windows = None, cycles = "all_cycles",
    breakdown = None, confidence = 0.95, method = "wilson", skip = "backfill",
    tie_break = "stage_order", backward = "keep_furthest", as_of = None,
))]
#[pyo3(
    text_signature = "(leads, stage_events, *, funnel='demand_waterfall', anchor='created', \
    granularity='month', calendar=None, window=None, step_windows=None, cycles='all_cycles', \
    breakdown=None, confidence=0.95, method='wilson', skip='backfill', \
    tie_break='stage_order', backward='keep_furthest', as_of=None)"
)]
/// Cohort conversion through the funnel, with the counts and interval of every rate.
///
/// `leads` has the columns of revops' `leads.csv` (`subject_id`, `created_at`,
/// `source`; optional `campaign`, `account`, `owner`, `segment`; any other column
/// is an attribute), `stage_events` those of `stage_events.csv` (`subject_id`,
/// `stage`, `at`; optional `cycle`, `reason`).
///
/// The cohort spec (revops' CohortSpec): `anchor` ("created" or a stage key),
/// `granularity` ("day", "week", "month", "quarter", "year"), `calendar`
/// ({"fiscal_year_start_month": m, "utc_offset": ...}), `window` (a timedelta or
/// days from the anchor), `step_windows` ({stage: timedelta or days}), `cycles`
/// ("all_cycles", "first_cycle_only"), `breakdown` ("source", "campaign",
/// "segment", "owner", "account" or "attribute:<name>"), `confidence`, `method`
/// ("wilson", "clopper_pearson", "jeffreys"). Path reconstruction (revops'
/// PathOptions): `skip` ("backfill", "strict", "any_stage"), `tie_break`
/// ("stage_order", "input_order"), `backward` ("keep_furthest", "new_cycle"),
/// `as_of` (a datetime, date or RFC 3339 string; None: every lead and event).
/// `funnel`: "demand_waterfall" (default), "salesforce_opportunity" or a definition
/// (dict or JSON).
///
/// Returns a pyarrow Table with a row per table (`total` True, then one per
/// `breakdown` value), cohort (`cohort`, `cohort_start`; null: all cohorts) and rate:
/// `entered`, `kind` ("step" or "to_won"), `from`, `to`, `numerator`,
/// `denominator`, `value`, `lower`, `upper`, `window_elapsed`. The report's
/// stages, anchor, dimension and diagnostics are JSON in the schema metadata
/// (b"revops.stages", ...).
///
/// Raises `revops.RevopsError` naming the table, row and column of a bad value, an
/// unknown stage or a duplicate lead.
fn cohort_report<'py>(
    py: Python<'py>,
    leads: &Bound<'py, PyAny>,
    stage_events: &Bound<'py, PyAny>,
    funnel: Option<&Bound<'py, PyAny>>,
    anchor: &str,
    granularity: &str,
    calendar: Option<&Bound<'py, PyAny>>,
    window: Option<&Bound<'py, PyAny>>,
    step_windows: Option<&Bound<'py, PyDict>>,
    cycles: &str,
    breakdown: Option<&str>,
    confidence: f64,
    method: &str,
    skip: &str,
    tie_break: &str,
    backward: &str,
    as_of: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let spec = cohort_spec(
        anchor,
        granularity,
        calendar,
        window,
        step_windows,
        cycles,
        breakdown,
        confidence,
        method,
    )?;
    let input = FunnelInput::new(
        leads,
        stage_events,
        funnel,
        (skip, tie_break, backward),
        as_of,
    )?;
    let batch = py
        .detach(|| cohort_batch(&input.report(|d, p| core_cohort_report(d, p, &spec))?))
        .map_err(to_py)?;
    to_pyarrow(py, batch)
}

/// The lead funnel argument (default: the demand waterfall).
fn funnel_arg(value: Option<&Bound<'_, PyAny>>) -> PyResult<Funnel> {
    funnel(value, Funnel::demand_waterfall)
}

// `revops.velocity`: the doc comment below is its Python docstring.
#[allow(clippy::too_many_arguments)]
#[pyfunction]
#[pyo3(signature = (
    leads, stage_events, *, funnel = None, steps = None, quantiles = None, bins = None,
    inferred = "exclude", breakdown = None, skip = "backfill", tie_break = "stage_order",
    backward = "keep_furthest", as_of = None,
))]
#[pyo3(
    text_signature = "(leads, stage_events, *, funnel='demand_waterfall', steps=None, \
    quantiles='exact', bins='log2', inferred='exclude', breakdown=None, skip='backfill', \
    tie_break='stage_order', backward='keep_furthest', as_of=None)"
)]
/// Stage-to-stage velocity: how long cycles take from one stage to another.
///
/// `leads` and `stage_events` as for `cohort_report`. The velocity spec (revops'
/// VelocitySpec): `steps` (a list of (from, to) stage keys; None: every adjacent
/// step and the first stage to won), `quantiles` ("exact" or {"sketch": {"alpha":
/// a}}), `bins` (the histogram rule: "log2", "days", "weeks", {"fixed":
/// {"width_seconds": w}}, {"doubling": {"first_upper_seconds": u}}, ...),
/// `inferred` ("exclude": leave out cycles whose endpoint was back-filled;
/// "include"), `breakdown` (as for `cohort_report`). `funnel`, `skip`, `tie_break`,
/// `backward` and `as_of` as for `cohort_report`.
///
/// Returns a pyarrow Table with a row per table (`total` True, then one per
/// `breakdown` value) and step: `from`, `to`, `count`, `mean`, `min`, `p25`,
/// `median`, `p75`, `p90`, `max` (seconds; null when no cycle measured the step),
/// `excluded_inferred`, and the histogram as `bin_lower`, `bin_upper` (seconds) and
/// `bin_count` lists.
///
/// Raises `revops.RevopsError` naming the table, row and column of a bad value, an
/// unknown stage, or a step whose `to` comes before its `from`.
fn velocity<'py>(
    py: Python<'py>,
    leads: &Bound<'py, PyAny>,
    stage_events: &Bound<'py, PyAny>,
    funnel: Option<&Bound<'py, PyAny>>,
    steps: Option<Vec<(String, String)>>,
    quantiles: Option<&Bound<'py, PyAny>>,
    bins: Option<&Bound<'py, PyAny>>,
    inferred: &str,
    breakdown: Option<&str>,
    skip: &str,
    tie_break: &str,
    backward: &str,
    as_of: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let mut spec = VelocitySpec::default()
        .with_quantiles(any::<QuantileMode>("quantiles", quantiles)?)
        .with_bins(any::<BinRule>("bins", bins)?)
        .with_inferred(named::<InferredEndpoints>("inferred", inferred)?);
    for (from, to) in steps.unwrap_or_default() {
        spec = spec.with_step(from, to);
    }
    if let Some(d) = dimension(breakdown)? {
        spec = spec.with_breakdown(d);
    }
    let input = FunnelInput::new(
        leads,
        stage_events,
        funnel,
        (skip, tie_break, backward),
        as_of,
    )?;
    let batch = py
        .detach(|| velocity_batch(&input.report(|d, p| velocity_report(d, p, &spec))?))
        .map_err(to_py)?;
    to_pyarrow(py, batch)
}

/// Registers the funnel functions in the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(cohort_report, m)?)?;
    m.add_function(wrap_pyfunction!(velocity, m)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::{batches_of, company};
    use revops::chrono::TimeDelta;

    fn options(c: &revops::synth::Company) -> PathOptions {
        let latest = c.stage_events.iter().map(|e| e.at).max().unwrap();
        PathOptions::default().with_as_of(latest)
    }

    fn input(c: &revops::synth::Company, events: &[StageEvent], o: PathOptions) -> FunnelInput {
        FunnelInput {
            funnel: Funnel::demand_waterfall(),
            options: o,
            leads: batches_of(&c.leads),
            events: batches_of(events),
        }
    }

    #[test]
    fn cohorts_and_velocity_equal_the_core_engine_on_the_synthetic_company() {
        let c = company();
        let data = FunnelData::new(Funnel::demand_waterfall(), &c.leads).unwrap();
        let mut acc = FunnelEvents::new();
        acc.add_batch(&data, &c.stage_events).unwrap();
        let core_paths = acc.paths(&data, options(&c));
        let spec = CohortSpec::default()
            .with_breakdown(Dimension::Source)
            .with_window(TimeDelta::days(120))
            .with_granularity(Granularity::Quarter);
        let got = input(&c, &c.stage_events, options(&c))
            .report(|d, p| core_cohort_report(d, p, &spec))
            .unwrap();
        let want = core_cohort_report(&data, &core_paths, &spec).unwrap();
        assert_eq!(got, want);
        let batch = cohort_batch(&got).unwrap();
        let rates: usize = std::iter::once(&want.total)
            .chain(&want.breakdown)
            .flat_map(|t| t.rows.iter().chain([&t.all]))
            .map(|r| r.steps.len() + r.to_won.len())
            .sum();
        assert_eq!(batch.num_rows(), rates);
        assert!(batch.schema().metadata().contains_key("revops.diagnostics"));

        let spec = VelocitySpec::default().with_breakdown(Dimension::Segment);
        let got = input(&c, &c.stage_events, options(&c))
            .report(|d, p| velocity_report(d, p, &spec))
            .unwrap();
        let want = velocity_report(&data, &core_paths, &spec).unwrap();
        assert_eq!(got, want);
        let batch = velocity_batch(&got).unwrap();
        let steps: usize = std::iter::once(&want.total)
            .chain(&want.breakdown)
            .map(|t| t.steps.len())
            .sum();
        assert_eq!(batch.num_rows(), steps);
    }

    #[test]
    fn a_bad_event_is_named_by_table_and_row() {
        let c = company();
        let mut events = c.stage_events[..10].to_vec();
        events[7].stage = "nowhere".into();
        let e = input(&c, &events, PathOptions::default())
            .report(|d, p| core_cohort_report(d, p, &CohortSpec::default()))
            .unwrap_err();
        let text = e.to_string();
        assert!(text.contains("nowhere") && text.contains('7'), "{text}");
    }
}
