//! `report(folder_or_tables)` and `report_html(...)`: the core's consolidated report
//! ([`revops::report`]) over a folder of the canonical CSV files (read as `demo
//! --data` reads them) or a dict of tables (decoded by the core's Arrow decoder).

use std::collections::BTreeMap;
use std::path::PathBuf;

use arrow_array::RecordBatch;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyAny, PyDict};
use revops::csv::{Dataset, Options, Table};
use revops::report::{Report, ReportOptions};
use revops::{
    AttributionModel, Confidence, Currency, Funnel, Granularity, IntervalMethod, Money, Result,
};

use crate::errors::to_py;
use crate::input::record_batches;
use crate::options::named;
use crate::tables::{funnel, instant, invalid, records};

/// The canonical table names a dict of tables may use, as [`Table`]s.
const TABLES: [(&str, Table); 7] = [
    ("leads", Table::Leads),
    ("stage_events", Table::StageEvents),
    ("touches", Table::Touches),
    ("conversions", Table::Conversions),
    ("spend", Table::Spend),
    ("opportunity_history", Table::OpportunityHistory),
    ("forecasts", Table::Forecasts),
];

/// Where the report's records come from.
pub(crate) enum Source {
    /// A folder of canonical CSV files.
    Folder(PathBuf),
    /// Tables by their canonical name.
    Tables(BTreeMap<Table, Vec<RecordBatch>>),
}

/// The records of `source`: a folder's canonical CSV files, or each table decoded
/// by the core's Arrow decoder (errors name the table, row and column).
///
/// # Errors
/// A missing folder, a bad row (naming the file and line, or the table and row).
pub(crate) fn dataset(source: &Source) -> Result<Dataset> {
    let tables = match source {
        Source::Folder(dir) => return Dataset::read_dir(dir, Options::new()),
        Source::Tables(t) => t,
    };
    let mut d = Dataset::default();
    let name = |t: Table| TABLES.iter().find(|x| x.1 == t).map_or("table", |x| x.0);
    for (&table, batches) in tables {
        let n = name(table);
        match table {
            Table::Leads => d.leads = records(batches, n)?,
            Table::StageEvents => d.stage_events = records(batches, n)?,
            Table::Touches => d.touches = records(batches, n)?,
            Table::Conversions => d.conversions = records(batches, n)?,
            Table::Spend => d.spend = records(batches, n)?,
            Table::OpportunityHistory => d.opportunity_history = records(batches, n)?,
            Table::Forecasts => d.forecasts = records(batches, n)?,
        }
    }
    Ok(d)
}

/// The report of `source` under `options`.
///
/// # Errors
/// As [`dataset`] and [`Report::build`].
pub(crate) fn build(source: &Source, options: &ReportOptions) -> Result<Report> {
    let data = dataset(source)?;
    Report::build(&data.report_input(), options)
}

/// The source argument: a folder path (`str` or `os.PathLike`) or a dict of tables.
fn source(value: &Bound<'_, PyAny>) -> PyResult<Source> {
    if let Ok(tables) = value.cast::<PyDict>() {
        let mut out = BTreeMap::new();
        for (k, v) in tables.iter() {
            let key: String = k.extract()?;
            let Some(&(name, table)) = TABLES.iter().find(|t| t.0 == key.trim()) else {
                return Err(to_py(invalid(
                    "folder_or_tables",
                    key,
                    "not a canonical table: leads, stage_events, touches, conversions, spend, opportunity_history, forecasts",
                )));
            };
            out.insert(table, record_batches(&v, name)?);
        }
        return Ok(Source::Tables(out));
    }
    if value.extract::<String>().is_ok() || value.hasattr("__fspath__")? {
        let path: PathBuf = value.extract()?;
        return Ok(Source::Folder(path));
    }
    Err(PyTypeError::new_err(
        "`folder_or_tables` must be a folder path or a dict of tables by canonical name",
    ))
}

/// [`ReportOptions`] from the keyword arguments of the same names.
#[allow(clippy::too_many_arguments)]
fn report_options(
    as_of: Option<&Bound<'_, PyAny>>,
    currency: Option<&str>,
    cohort_granularity: &str,
    breakdown: Option<&str>,
    models: Option<Vec<String>>,
    target: Option<&str>,
    confidence: f64,
    method: &str,
    backtest: bool,
    funnel_def: Option<&Bound<'_, PyAny>>,
    opportunity_funnel: Option<&Bound<'_, PyAny>>,
) -> PyResult<ReportOptions> {
    let mut o = ReportOptions::default()
        .with_funnel(funnel(funnel_def, Funnel::demand_waterfall)?)
        .with_opportunity_funnel(funnel(opportunity_funnel, Funnel::salesforce_opportunity)?)
        .with_cohort_granularity(cohort_granularity.parse::<Granularity>().map_err(to_py)?)
        .with_breakdown(breakdown.map(str::parse).transpose().map_err(to_py)?)
        .with_intervals(
            Confidence::new(confidence).map_err(to_py)?,
            named::<IntervalMethod>("method", method)?,
        );
    if let Some(t) = instant("as_of", as_of)? {
        o = o.with_as_of(t);
    }
    if let Some(c) = currency {
        o = o.with_currency(c.parse::<Currency>().map_err(to_py)?);
    }
    if let Some(m) = models {
        let m: Vec<AttributionModel> = m
            .iter()
            .map(|m| m.parse())
            .collect::<Result<_>>()
            .map_err(to_py)?;
        o = o.with_models(m);
    }
    if let Some(t) = target {
        let (amount, code) = t.trim().rsplit_once(' ').unwrap_or((t, ""));
        let code = if code.is_empty() {
            o.currency.unwrap_or(Currency::USD)
        } else {
            code.parse().map_err(to_py)?
        };
        o = o.with_target(Money::parse(amount, code).map_err(to_py)?);
    }
    if !backtest {
        o = o.with_backtest(None);
    }
    Ok(o)
}

/// Builds the report of the Python arguments with the GIL released.
#[allow(clippy::too_many_arguments)]
fn report_of(
    py: Python<'_>,
    folder_or_tables: &Bound<'_, PyAny>,
    as_of: Option<&Bound<'_, PyAny>>,
    currency: Option<&str>,
    cohort_granularity: &str,
    breakdown: Option<&str>,
    models: Option<Vec<String>>,
    target: Option<&str>,
    confidence: f64,
    method: &str,
    backtest: bool,
    funnel_def: Option<&Bound<'_, PyAny>>,
    opportunity_funnel: Option<&Bound<'_, PyAny>>,
) -> PyResult<Report> {
    let options = report_options(
        as_of,
        currency,
        cohort_granularity,
        breakdown,
        models,
        target,
        confidence,
        method,
        backtest,
        funnel_def,
        opportunity_funnel,
    )?;
    let source = source(folder_or_tables)?;
    py.detach(|| build(&source, &options)).map_err(to_py)
}

// `revops.report`: the doc comment below is its Python docstring.
#[allow(clippy::too_many_arguments)]
#[pyfunction]
#[pyo3(signature = (
    folder_or_tables, *, as_of = None, currency = None, cohort_granularity = "quarter",
    breakdown = Some("source"), models = None, target = None, confidence = 0.95,
    method = "wilson", backtest = true, funnel = None, opportunity_funnel = None,
))]
#[pyo3(text_signature = "(folder_or_tables, *, as_of=None, currency=None, \
    cohort_granularity='quarter', breakdown='source', models=None, target=None, \
    confidence=0.95, method='wilson', backtest=True, funnel='demand_waterfall', \
    opportunity_funnel='salesforce_opportunity')")]
/// The consolidated revenue report -- funnel, attribution, unit economics,
/// pipeline, forecast accuracy, plan -- as a dict (the JSON form of revops' Report).
///
/// `folder_or_tables` is a folder holding the canonical CSV files (`leads.csv`,
/// `stage_events.csv`, `touches.csv`, `conversions.csv`, `spend.csv`,
/// `opportunity_history.csv`, `forecasts.csv`; any may be missing), read as `demo
/// --data` reads them, or a dict of tables by those names (without `.csv`; any
/// Arrow-compatible table). A section whose inputs are missing is left out and named,
/// with the reason, in `omitted`.
///
/// Options (revops' ReportOptions): `as_of` ("today"; default the latest timestamp
/// of the input), `currency` (default: the first spend row's, else the first valued
/// conversion's, else the first opportunity change's, else USD),
/// `cohort_granularity`, `breakdown` (of the funnel and velocity; None: totals only),
/// `models` (attribution models, as for `attribution`; None: the report's eight),
/// `target` (next quarter's revenue target, e.g. "1200000" or "1200000 EUR";
/// default 1.2 x last quarter's won revenue), `confidence`, `method`, `backtest`
/// (False: no projection backtest), `funnel`, `opportunity_funnel`.
///
/// Money is {"amount": "decimal string", "currency": "ISO code"}, times RFC 3339.
///
/// Raises `revops.RevopsError` naming the file and line (or table, row and column)
/// of a bad value, or the record an engine refused.
fn report<'py>(
    py: Python<'py>,
    folder_or_tables: &Bound<'py, PyAny>,
    as_of: Option<&Bound<'py, PyAny>>,
    currency: Option<&str>,
    cohort_granularity: &str,
    breakdown: Option<&str>,
    models: Option<Vec<String>>,
    target: Option<&str>,
    confidence: f64,
    method: &str,
    backtest: bool,
    funnel: Option<&Bound<'py, PyAny>>,
    opportunity_funnel: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let r = report_of(
        py,
        folder_or_tables,
        as_of,
        currency,
        cohort_granularity,
        breakdown,
        models,
        target,
        confidence,
        method,
        backtest,
        funnel,
        opportunity_funnel,
    )?;
    let json = r.to_json().map_err(to_py)?;
    py.import("json")?.call_method1("loads", (json,))
}

// `revops.report_html`: the doc comment below is its Python docstring.
#[allow(clippy::too_many_arguments)]
#[pyfunction]
#[pyo3(signature = (
    folder_or_tables, *, as_of = None, currency = None, cohort_granularity = "quarter",
    breakdown = Some("source"), models = None, target = None, confidence = 0.95,
    method = "wilson", backtest = true, funnel = None, opportunity_funnel = None,
))]
#[pyo3(text_signature = "(folder_or_tables, *, as_of=None, currency=None, \
    cohort_granularity='quarter', breakdown='source', models=None, target=None, \
    confidence=0.95, method='wilson', backtest=True, funnel='demand_waterfall', \
    opportunity_funnel='salesforce_opportunity')")]
/// The consolidated revenue report as a self-contained HTML page with SVG charts
/// (revops' Report.to_html): the same input and options as `report`.
///
/// Raises `revops.RevopsError` as `report` does.
fn report_html<'py>(
    py: Python<'py>,
    folder_or_tables: &Bound<'py, PyAny>,
    as_of: Option<&Bound<'py, PyAny>>,
    currency: Option<&str>,
    cohort_granularity: &str,
    breakdown: Option<&str>,
    models: Option<Vec<String>>,
    target: Option<&str>,
    confidence: f64,
    method: &str,
    backtest: bool,
    funnel: Option<&Bound<'py, PyAny>>,
    opportunity_funnel: Option<&Bound<'py, PyAny>>,
) -> PyResult<String> {
    let r = report_of(
        py,
        folder_or_tables,
        as_of,
        currency,
        cohort_granularity,
        breakdown,
        models,
        target,
        confidence,
        method,
        backtest,
        funnel,
        opportunity_funnel,
    )?;
    Ok(py.detach(|| r.to_html()))
}

/// Registers the report functions in the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(report, m)?)?;
    m.add_function(wrap_pyfunction!(report_html, m)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::{batches_of, company};

    #[test]
    fn the_report_of_tables_equals_the_core_report() {
        let c = company();
        let tables = BTreeMap::from([
            (Table::Leads, batches_of(&c.leads)),
            (Table::StageEvents, batches_of(&c.stage_events)),
            (Table::Touches, batches_of(&c.touches)),
            (Table::Conversions, batches_of(&c.conversions)),
            (Table::Spend, batches_of(&c.spend)),
            (
                Table::OpportunityHistory,
                batches_of(&c.opportunity_history),
            ),
            (Table::Forecasts, batches_of(&c.forecasts)),
        ]);
        let options = ReportOptions::default().with_backtest(None);
        let got = build(&Source::Tables(tables), &options).unwrap();
        let want = Report::build(&c.report_input(), &options).unwrap();
        assert_eq!(got.to_json().unwrap(), want.to_json().unwrap());
        assert_eq!(got.to_html(), want.to_html());
    }

    #[test]
    fn a_bad_row_of_a_table_or_a_missing_folder_is_named() {
        use arrow_array::{ArrayRef, StringArray};
        use std::sync::Arc;
        let text = |v: Vec<Option<&str>>| Arc::new(StringArray::from(v)) as ArrayRef;
        let touches = RecordBatch::try_from_iter([
            ("subject_id", text(vec![Some("L1"), Some("L2")])),
            ("channel", text(vec![Some("email"), Some("search")])),
            ("campaign", text(vec![None, None])),
            ("at", text(vec![Some("2026-03-01"), Some("yesterday")])),
        ])
        .unwrap();
        let tables = BTreeMap::from([(Table::Touches, vec![touches])]);
        let e = build(&Source::Tables(tables), &ReportOptions::default()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("touches row 1 (batch 0), column `at`"),
            "{e}"
        );
        let missing = build(
            &Source::Folder(PathBuf::from("/nonexistent/revops-py")),
            &ReportOptions::default(),
        )
        .unwrap_err();
        assert!(
            missing.to_string().contains("/nonexistent/revops-py"),
            "{missing}"
        );
    }
}
