//! `unit_economics(spend, leads, stage_events, conversions)`: the core's cost engine
//! ([`revops::cost`]) as the `unit_economics` example runs it: spend aligned to
//! periods ([`align_spend`]), leads, stage counts and revenue credited to each
//! lead's source ([`Credits::from_lead_source`]), joined by
//! [`revops::cost::unit_economics`].

use arrow_array::RecordBatch;
use pyo3::prelude::*;
use pyo3::types::PyAny;
use revops::cost::{
    CostGrouping, Credits, EconomicsRow, SpendAlignment, UnitEconomics, align_spend,
    unit_economics as core_unit_economics,
};
use revops::funnel::PathOptions;
use revops::report::ReportInput;
use revops::{Calendar, Conversion, Currency, Funnel, Granularity, Lead, Result, Spend};

use crate::errors::to_py;
use crate::funnel::paths;
use crate::input::{record_batches, to_pyarrow};
use crate::options::any;
use crate::tables::{Columns, funnel, instant, path_options, records};

/// What `unit_economics` computes.
pub(crate) struct EconomicsJob {
    pub(crate) funnel: Funnel,
    pub(crate) paths: PathOptions,
    pub(crate) stages: Vec<String>,
    /// `None`: the core report's rule (first spend row, else first valued
    /// conversion, else USD).
    pub(crate) currency: Option<Currency>,
    pub(crate) granularity: Granularity,
    pub(crate) calendar: Calendar,
    pub(crate) grouping: CostGrouping,
}

/// The input tables of `unit_economics`, as record batches.
pub(crate) struct EconomicsTables {
    pub(crate) spend: Vec<RecordBatch>,
    pub(crate) leads: Vec<RecordBatch>,
    pub(crate) stage_events: Vec<RecordBatch>,
    pub(crate) conversions: Vec<RecordBatch>,
}

/// Unit economics by lead source.
///
/// # Errors
/// A bad row of any table (named by the decoder); what [`align_spend`],
/// [`Credits::from_lead_source`] and [`revops::cost::unit_economics`] return (an
/// unknown stage, an amount in another currency, naming the row).
pub(crate) fn economics(job: EconomicsJob, t: &EconomicsTables) -> Result<UnitEconomics> {
    let spend: Vec<Spend> = records(&t.spend, "spend")?;
    let leads: Vec<Lead> = records(&t.leads, "leads")?;
    let conversions: Vec<Conversion> = records(&t.conversions, "conversions")?;
    let currency = job.currency.unwrap_or_else(|| {
        ReportInput {
            spend: &spend,
            conversions: &conversions,
            ..ReportInput::default()
        }
        .inferred_currency()
    });
    let (data, paths) = paths(job.funnel, &leads, &t.stage_events, job.paths)?;
    let mut alignment = SpendAlignment::monthly(currency);
    alignment.granularity = job.granularity;
    alignment.calendar = job.calendar;
    let aligned = align_spend(&spend, &alignment)?;
    let stages: Vec<&str> = job.stages.iter().map(String::as_str).collect();
    let credits =
        Credits::from_lead_source(&data, &paths, &stages, &conversions, currency, job.grouping)?;
    core_unit_economics(&aligned, &credits)
}

/// The table as one record batch: a row per key, then the total (`total` True):
/// `channel`, `campaign`, `period`, `period_start`, `spend`, `currency`, per unit
/// column its credited units and `cost_per_<unit>` (at minor units; null for zero
/// units), `revenue`, `roas` and `roi` (null for zero spend).
///
/// # Errors
/// An amount beyond 38 digits at the column's scale.
pub(crate) fn economics_batch(t: &UnitEconomics) -> Result<RecordBatch> {
    let rows: Vec<(bool, &EconomicsRow)> = t
        .rows
        .iter()
        .map(|r| (false, r))
        .chain(std::iter::once((true, &t.total)))
        .collect();
    let mut c = Columns::default();
    c.flag("total", rows.iter().map(|r| Some(r.0)));
    let text = |f: fn(&EconomicsRow) -> Option<String>| rows.iter().map(|r| f(r.1)).collect();
    let channel: Vec<Option<String>> = text(|r| r.key.channel.as_ref().map(|x| x.to_string()));
    let campaign: Vec<Option<String>> = text(|r| r.key.campaign.as_ref().map(|x| x.to_string()));
    let period: Vec<Option<String>> = text(|r| r.key.period.map(|p| p.to_string()));
    c.text("channel", channel.iter().map(Option::as_deref));
    c.text("campaign", campaign.iter().map(Option::as_deref));
    c.text("period", period.iter().map(Option::as_deref));
    c.date(
        "period_start",
        rows.iter().map(|r| r.1.key.period.map(|p| p.start())),
    );
    c.decimal(
        "spend",
        rows.iter().map(|r| Some(r.1.spend.amount())).collect(),
    )?;
    let currency: Vec<String> = rows
        .iter()
        .map(|r| r.1.spend.currency().to_string())
        .collect();
    c.text("currency", currency.iter().map(|s| Some(s.as_str())));
    for (i, unit) in t.units.iter().enumerate() {
        c.decimal(
            unit,
            rows.iter().map(|r| r.1.units.get(i).copied()).collect(),
        )?;
        c.decimal(
            &format!("cost_per_{unit}"),
            rows.iter()
                .map(|r| {
                    r.1.cost_per
                        .get(i)
                        .and_then(|m| m.rounded())
                        .map(|m| m.amount())
                })
                .collect(),
        )?;
    }
    c.decimal(
        "revenue",
        rows.iter().map(|r| Some(r.1.revenue.amount())).collect(),
    )?;
    let f64_of = |d: Option<revops::Decimal>| {
        use std::str::FromStr;
        d.and_then(|d| f64::from_str(&d.to_string()).ok())
    };
    c.real("roas", rows.iter().map(|r| f64_of(r.1.roas.value)));
    c.real("roi", rows.iter().map(|r| f64_of(r.1.roi.value)));
    c.finish(&[
        ("basis", serde_json::json!(t.basis)),
        ("units", serde_json::json!(t.units)),
        ("diagnostics", serde_json::json!(t.diagnostics)),
    ])
}

// `revops.unit_economics`: the doc comment below is its Python docstring.
#[allow(clippy::too_many_arguments)]
#[pyfunction]
#[pyo3(signature = (
    spend, leads, stage_events, conversions = None, *, stages = None, currency = None,
    granularity = "month", calendar = None, by_campaign = false, by_period = false,
    funnel = None, skip = "backfill", tie_break = "stage_order", backward = "keep_furthest",
    as_of = None,
))]
#[pyo3(text_signature = "(spend, leads, stage_events, conversions=None, *, \
    stages=['mql', 'sql', 'won'], currency=None, granularity='month', calendar=None, \
    by_campaign=False, by_period=False, funnel='demand_waterfall', skip='backfill', \
    tie_break='stage_order', backward='keep_furthest', as_of=None)")]
/// Unit economics per lead source: spend next to the leads, stage counts and
/// revenue credited to each lead's source, with cost per unit, ROAS and ROI.
///
/// `spend` has the columns of revops' `spend.csv` (`channel`, `campaign`,
/// `period_start`, `period_end`, `amount`, `currency`; money exact: decimal128,
/// integer or decimal string), `leads` and `stage_events` those of `leads.csv` and
/// `stage_events.csv`, `conversions` (optional) those of `conversions.csv`
/// (`subject_id`, `at`, `value`, `currency`): each conversion's value is revenue of
/// the lead of that id.
///
/// Spend is split over periods of `granularity` in `calendar` pro rata by days
/// (revops' SpendAlignment; each row's parts sum exactly to it). Units: `leads`
/// (created) and one column per stage of `stages` (leads whose any cycle reached
/// it). `currency`: the report currency (default: the first spend row's, else the
/// first valued conversion's, else USD). `by_campaign`, `by_period`: group by
/// campaign within channel, and by period (revops' CostGrouping). `funnel`,
/// `skip`, `tie_break`, `backward`, `as_of`: as for `cohort_report` (leads created
/// and conversions dated after `as_of` are not credited, and are counted in the
/// b"revops.diagnostics" metadata).
///
/// Returns a pyarrow Table with a row per channel (campaign, period; a lead source
/// without spend too; leads without a source last, `channel` null) and a last
/// total row (`total` True): `spend`, per unit its count and `cost_per_<unit>`
/// (decimal128, at the currency's minor units; null for zero units), `revenue`,
/// `currency`, `roas` and `roi` (float64, null for zero spend: their exact
/// numerator and denominator are the `revenue` and `spend` columns).
///
/// Raises `revops.RevopsError` naming the table, row and column of a bad value, an
/// unknown stage, or an amount in another currency.
fn unit_economics<'py>(
    py: Python<'py>,
    spend: &Bound<'py, PyAny>,
    leads: &Bound<'py, PyAny>,
    stage_events: &Bound<'py, PyAny>,
    conversions: Option<&Bound<'py, PyAny>>,
    stages: Option<Vec<String>>,
    currency: Option<&str>,
    granularity: &str,
    calendar: Option<&Bound<'py, PyAny>>,
    by_campaign: bool,
    by_period: bool,
    funnel: Option<&Bound<'py, PyAny>>,
    skip: &str,
    tie_break: &str,
    backward: &str,
    as_of: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let granularity: Granularity = granularity.parse().map_err(to_py)?;
    let calendar = any::<Calendar>("calendar", calendar)?;
    let job = EconomicsJob {
        funnel: self::funnel(funnel, Funnel::demand_waterfall)?,
        paths: path_options(skip, tie_break, backward, instant("as_of", as_of)?)?,
        stages: stages.unwrap_or_else(|| vec!["mql".into(), "sql".into(), "won".into()]),
        currency: currency.map(str::parse).transpose().map_err(to_py)?,
        granularity,
        calendar,
        grouping: CostGrouping {
            by_campaign,
            by_period: by_period.then_some((calendar, granularity)),
        },
    };
    let tables = EconomicsTables {
        spend: record_batches(spend, "spend")?,
        leads: record_batches(leads, "leads")?,
        stage_events: record_batches(stage_events, "stage_events")?,
        conversions: match conversions {
            Some(t) => record_batches(t, "conversions")?,
            None => Vec::new(),
        },
    };
    let batch = py
        .detach(|| economics_batch(&economics(job, &tables)?))
        .map_err(to_py)?;
    to_pyarrow(py, batch)
}

/// Registers the economics functions in the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(unit_economics, m)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::{batches_of, company};
    use revops::funnel::{FunnelData, FunnelEvents};

    #[test]
    fn unit_economics_equals_the_core_engine_as_the_example_runs_it() {
        let c = company();
        let job = EconomicsJob {
            funnel: Funnel::demand_waterfall(),
            paths: PathOptions::default(),
            stages: vec!["mql".into(), "sql".into(), "won".into()],
            currency: None,
            granularity: Granularity::Month,
            calendar: Calendar::default(),
            grouping: CostGrouping::default(),
        };
        let tables = EconomicsTables {
            spend: batches_of(&c.spend),
            leads: batches_of(&c.leads),
            stage_events: batches_of(&c.stage_events),
            conversions: batches_of(&c.conversions),
        };
        let got = economics(job, &tables).unwrap();
        // The unit_economics example's steps.
        let data = FunnelData::new(Funnel::demand_waterfall(), &c.leads).unwrap();
        let mut acc = FunnelEvents::default();
        acc.add_batch(&data, &c.stage_events).unwrap();
        let paths = acc.paths(&data, PathOptions::default());
        let currency = c.report_input().inferred_currency();
        let spend = align_spend(&c.spend, &SpendAlignment::monthly(currency)).unwrap();
        let credits = Credits::from_lead_source(
            &data,
            &paths,
            &["mql", "sql", "won"],
            &c.conversions,
            currency,
            CostGrouping::default(),
        )
        .unwrap();
        let want = core_unit_economics(&spend, &credits).unwrap();
        assert_eq!(got, want);
        let batch = economics_batch(&got).unwrap();
        assert_eq!(batch.num_rows(), want.rows.len() + 1);
        assert!(batch.schema().field_with_name("cost_per_won").is_ok());
    }

    #[test]
    fn a_bad_spend_row_is_named() {
        let c = company();
        let tables = EconomicsTables {
            spend: {
                let mut b = batches_of(&c.spend[..4]);
                // A float amount is refused: money is never read through f64.
                let schema = b[1].schema();
                let i = schema.index_of("amount").unwrap();
                let mut cols = b[1].columns().to_vec();
                cols[i] = std::sync::Arc::new(arrow_array::Float64Array::from(vec![1.5, 2.5]));
                let mut fields: Vec<_> =
                    schema.fields().iter().map(|f| f.as_ref().clone()).collect();
                fields[i] =
                    arrow_schema::Field::new("amount", arrow_schema::DataType::Float64, true);
                b[1] = RecordBatch::try_new(
                    std::sync::Arc::new(arrow_schema::Schema::new(fields)),
                    cols,
                )
                .unwrap();
                b
            },
            leads: batches_of(&c.leads),
            stage_events: batches_of(&c.stage_events),
            conversions: Vec::new(),
        };
        let job = EconomicsJob {
            funnel: Funnel::demand_waterfall(),
            paths: PathOptions::default(),
            stages: vec!["mql".into()],
            currency: None,
            granularity: Granularity::Month,
            calendar: Calendar::default(),
            grouping: CostGrouping::default(),
        };
        let e = economics(job, &tables).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("spend row 2 (batch 1), column `amount`"),
            "{e}"
        );
    }
}
