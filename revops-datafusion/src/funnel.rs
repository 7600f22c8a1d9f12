//! Funnel cohorts: each lead's creation and stage events, as rows in any order, into
//! the cohort report.

use std::collections::BTreeMap;

use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use chrono::{DateTime, TimeDelta, Utc};
use datafusion_common::{DataFusionError, Result, ScalarValue};
use revops::funnel::{
    BackwardPolicy, CohortAnchor, CohortCounts, CohortReport, CohortRow, CohortSpec, CycleScope,
    PathOptions, SkipPolicy,
};
use revops::{Calendar, Confidence, Funnel, Granularity, IntervalMethod, Lead, LeadId, StageEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::convert::{Input, field, json_scalar, list, millis, row_error, structure, texts};
use crate::engine::{Engine, external};
use crate::grouped::Groups;
use crate::options;

/// The funnel: a ready-made one by name (`demand_waterfall`,
/// `salesforce_opportunity`) or a definition (the core's serde form of [`Funnel`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum FunnelChoice {
    Named(String),
    Defined(Funnel),
}

impl FunnelChoice {
    fn funnel(&self) -> revops::Result<Funnel> {
        match self {
            FunnelChoice::Defined(f) => Ok(f.clone()),
            FunnelChoice::Named(n) => match n.as_str() {
                "demand_waterfall" => Ok(Funnel::demand_waterfall()),
                "salesforce_opportunity" => Ok(Funnel::salesforce_opportunity()),
                other => Err(revops::Error::from(
                    revops::error::ErrorKind::InvalidParameter {
                        name: "funnel",
                        value: other.to_string(),
                        reason: "not a ready-made funnel (demand_waterfall, salesforce_opportunity); give a definition object instead".into(),
                    },
                )),
            },
        }
    }
}

/// Options of `revops_cohorts`: the funnel, the path options (the tie-break is the
/// stages' order: rows have no input order) and the cohort spec, windows in days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CohortsFnOptions {
    funnel: FunnelChoice,
    skip: SkipPolicy,
    backward: BackwardPolicy,
    as_of: Option<DateTime<Utc>>,
    anchor: CohortAnchor,
    granularity: Granularity,
    calendar: Calendar,
    window_days: Option<f64>,
    step_window_days: BTreeMap<String, f64>,
    cycles: CycleScope,
    confidence: Confidence,
    method: IntervalMethod,
}

impl Default for CohortsFnOptions {
    fn default() -> Self {
        let (p, s) = (PathOptions::default(), CohortSpec::default());
        CohortsFnOptions {
            funnel: FunnelChoice::Named("demand_waterfall".into()),
            skip: p.skip,
            backward: p.backward,
            as_of: p.as_of,
            anchor: s.anchor,
            granularity: s.granularity,
            calendar: s.calendar,
            window_days: None,
            step_window_days: BTreeMap::new(),
            cycles: s.cycles,
            confidence: s.confidence,
            method: s.method,
        }
    }
}

/// Days as a window (to the millisecond).
fn days(name: &'static str, d: f64) -> revops::Result<TimeDelta> {
    let ms = d * 86_400_000.0;
    if !(ms.is_finite() && ms.abs() < 9.0e15) {
        return Err(revops::Error::from(
            revops::error::ErrorKind::InvalidParameter {
                name,
                value: d.to_string(),
                reason: "a window in days must be a finite number".into(),
            },
        ));
    }
    Ok(TimeDelta::milliseconds(ms.round() as i64))
}

impl CohortsFnOptions {
    fn counts(&self) -> revops::Result<CohortCounts> {
        let mut paths = PathOptions::default()
            .with_skip(self.skip)
            .with_backward(self.backward);
        paths.as_of = self.as_of;
        let mut spec = CohortSpec::default()
            .with_anchor(self.anchor.clone())
            .with_granularity(self.granularity)
            .with_calendar(self.calendar)
            .with_cycles(self.cycles)
            .with_confidence(self.confidence)
            .with_method(self.method);
        if let Some(w) = self.window_days {
            spec = spec.with_window(days("window_days", w)?);
        }
        for (stage, &w) in &self.step_window_days {
            spec = spec.with_step_window(stage, days("step_window_days", w)?);
        }
        CohortCounts::new(self.funnel.funnel()?, paths, spec)
    }
}

/// `revops_cohorts(lead, created_at, stage, at [, options])`: the cohort report of
/// [`CohortCounts`] over rows that each give a lead's creation time, a stage event of
/// the lead, or both (a join of leads and events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) struct CohortsFn;

/// A rate's type: counts, value and interval.
fn step_type() -> DataType {
    let u = |n: &str| field(n, DataType::UInt64);
    let f = |n: &str| field(n, DataType::Float64);
    structure(vec![
        field("from", DataType::Utf8),
        field("to", DataType::Utf8),
        field("ratio", structure(vec![u("numerator"), u("denominator")])),
        f("rate"),
        field("interval", structure(vec![f("lower"), f("upper")])),
    ])
}

fn row_type() -> DataType {
    structure(vec![
        field("cohort", DataType::Utf8),
        field("entered", DataType::UInt64),
        field("reached", list(DataType::UInt64)),
        field("steps", list(step_type())),
        field("to_won", list(step_type())),
        field("window_elapsed", DataType::Boolean),
    ])
}

/// The names of [`revops::funnel::FunnelDiagnostics`]' counts.
const DIAGNOSTICS: [&str; 8] = [
    "events_read",
    "unknown_subject",
    "before_creation",
    "after_as_of",
    "leads_after_as_of",
    "repeated",
    "backward",
    "exit_after_exit",
];

impl Engine for CohortsFn {
    type State = CohortCounts;
    type Scratch = ();
    const NAME: &'static str = "revops_cohorts";
    const INPUTS: &'static [Input] = &[Input::Text, Input::Time, Input::Text, Input::Time];
    const GROUPED: bool = true;

    fn output() -> DataType {
        let diagnostics = DIAGNOSTICS
            .iter()
            .map(|n| field(n, DataType::UInt64))
            .collect();
        structure(vec![
            field("funnel", DataType::Utf8),
            field("stages", list(DataType::Utf8)),
            field("anchor", DataType::Utf8),
            field("granularity", DataType::Utf8),
            field("as_of", DataType::Utf8),
            field("rows", list(row_type())),
            field("all", row_type()),
            field("diagnostics", structure(diagnostics)),
        ])
    }

    fn new_state(literal: Option<&str>) -> revops::Result<(CohortCounts, ())> {
        let o: CohortsFnOptions = options::parse(Self::NAME, literal)?;
        Ok((o.counts()?, ()))
    }

    fn update_groups(
        states: &mut [CohortCounts],
        _: &mut (),
        columns: &[ArrayRef],
        groups: &Groups<'_>,
        row: u64,
    ) -> Result<()> {
        let (lead, stage) = (
            texts(Self::NAME, columns, 0)?,
            texts(Self::NAME, columns, 2)?,
        );
        let (created, at) = (
            millis(Self::NAME, columns, 1)?,
            millis(Self::NAME, columns, 3)?,
        );
        groups.for_each(states, |state, i| {
            let fail = |e: &dyn std::fmt::Display| row_error(Self::NAME, row + i as u64, e);
            if lead.is_null(i) {
                return Err(fail(&"lead is NULL"));
            }
            let id = lead.value(i);
            let event = match (stage.is_null(i), at[i]) {
                (true, None) => None,
                (false, Some(t)) => Some((stage.value(i), t)),
                _ => return Err(fail(&"stage and at must both be given or both be NULL")),
            };
            if created[i].is_none() && event.is_none() {
                return Err(fail(&"neither created_at nor a stage event"));
            }
            if let Some(c) = created[i] {
                let lead = Lead::new(LeadId::new(id).map_err(|e| fail(&e))?, instant(c));
                state.add_lead(&lead).map_err(|e| fail(&e))?;
            }
            if let Some((s, t)) = event {
                let e = StageEvent::new(LeadId::new(id).map_err(|e| fail(&e))?, s, instant(t));
                state.add(&e).map_err(|e| fail(&e))?;
            }
            Ok(())
        })
    }

    fn evaluate(state: &CohortCounts, _: &()) -> Result<ScalarValue> {
        let report = state.finish().map_err(external)?;
        json_scalar(&report_json(&report)?, &Self::output())
    }
}

/// Milliseconds since the Unix epoch as an instant (in range: the column was a
/// timestamp).
fn instant(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn json_error(e: serde_json::Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// A cohort row's JSON: the cohort by its label, each rate with its value.
fn row_json(r: &CohortRow) -> Result<Value> {
    let mut v = serde_json::to_value(r).map_err(json_error)?;
    v["cohort"] = r.cohort.map_or(Value::Null, |p| Value::String(p.label()));
    for (key, rates) in [("steps", &r.steps), ("to_won", &r.to_won)] {
        if let Some(items) = v.get_mut(key).and_then(Value::as_array_mut) {
            for (item, rate) in items.iter_mut().zip(rates) {
                item["rate"] = serde_json::json!(rate.ratio.value());
            }
        }
    }
    Ok(v)
}

/// The report's JSON in the result's shape.
fn report_json(r: &CohortReport) -> Result<Value> {
    let rows = r
        .total
        .rows
        .iter()
        .map(row_json)
        .collect::<Result<Vec<_>>>()?;
    Ok(serde_json::json!({
        "funnel": r.funnel,
        "stages": r.stages,
        "anchor": r.anchor,
        "granularity": serde_json::to_value(r.granularity).map_err(json_error)?,
        "as_of": serde_json::to_value(r.as_of).map_err(json_error)?,
        "rows": rows,
        "all": row_json(&r.total.all)?,
        "diagnostics": serde_json::to_value(&r.diagnostics).map_err(json_error)?,
    }))
}
