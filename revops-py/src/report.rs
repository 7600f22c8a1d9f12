//! `report(folder_or_tables)` and `report_html(...)`: the core's consolidated report
//! ([`revops::report`]) over a folder of the canonical CSV files (read as `demo
//! --data` reads them) or a dict of tables (decoded by the core's Arrow decoder).

use std::collections::BTreeMap;
use std::path::PathBuf;

use arrow_array::RecordBatch;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyAny, PyDict};
use revops::csv::{Dataset, DenseDataset, Options, Table};
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
    if let Source::Folder(dir) = source {
        // A folder goes straight into the engines' tables: no record per lead,
        // stage event or touch (the same report).
        let data = DenseDataset::read_dir(dir, options.funnel.clone(), Options::new())?;
        return Report::build_dense(&data.report_input(), options);
    }
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

/// The keyword arguments of `report` and `report_html`, in their order.
const OPTIONS: [&str; 12] = [
    "as_of",
    "currency",
    "cohort_granularity",
    "breakdown",
    "models",
    "target",
    "confidence",
    "method",
    "backtest",
    "funnel",
    "opportunity_funnel",
    "parallel",
];

/// [`ReportOptions`] from the keyword arguments of the same names (an absent one
/// keeps the Rust default; `breakdown=None` is no breakdown).
fn report_options(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<ReportOptions> {
    let mut given: BTreeMap<&str, Bound<'_, PyAny>> = BTreeMap::new();
    for (k, v) in kwargs.iter().flat_map(|d| d.iter()) {
        let key: String = k.extract()?;
        let Some(&name) = OPTIONS.iter().find(|n| **n == key) else {
            return Err(PyTypeError::new_err(format!(
                "unexpected keyword argument `{key}` (the options are {})",
                OPTIONS.join(", ")
            )));
        };
        given.insert(name, v);
    }
    let text = |k: &str| -> PyResult<Option<String>> {
        given
            .get(k)
            .filter(|v| !v.is_none())
            .map(|v| v.extract())
            .transpose()
    };
    let mut o = ReportOptions::default()
        .with_funnel(funnel(given.get("funnel"), Funnel::demand_waterfall)?)
        .with_opportunity_funnel(funnel(
            given.get("opportunity_funnel"),
            Funnel::salesforce_opportunity,
        )?);
    if let Some(g) = text("cohort_granularity")? {
        o = o.with_cohort_granularity(g.parse::<Granularity>().map_err(to_py)?);
    }
    if given.contains_key("breakdown") {
        let b = text("breakdown")?;
        o = o.with_breakdown(b.as_deref().map(str::parse).transpose().map_err(to_py)?);
    }
    let confidence = match given.get("confidence") {
        Some(c) => Confidence::new(c.extract()?).map_err(to_py)?,
        None => o.confidence,
    };
    let method = match text("method")? {
        Some(m) => named::<IntervalMethod>("method", &m)?,
        None => o.method,
    };
    o = o.with_intervals(confidence, method);
    if let Some(t) = instant("as_of", given.get("as_of"))? {
        o = o.with_as_of(t);
    }
    if let Some(c) = text("currency")? {
        o = o.with_currency(c.parse::<Currency>().map_err(to_py)?);
    }
    if let Some(m) = given.get("models").filter(|v| !v.is_none()) {
        let names: Vec<String> = m.extract()?;
        let m: Vec<AttributionModel> = names
            .iter()
            .map(|m| m.parse())
            .collect::<Result<_>>()
            .map_err(to_py)?;
        o = o.with_models(m);
    }
    if let Some(t) = text("target")? {
        let t = target(&t, o.currency).map_err(to_py)?;
        o = o.with_target(t);
    }
    if let Some(b) = given.get("backtest")
        && !b.is_truthy()?
    {
        o = o.with_backtest(None);
    }
    if let Some(p) = given.get("parallel") {
        o = o.with_parallel(p.is_truthy()?);
    }
    Ok(o)
}

/// A revenue target: an amount, optionally followed by a currency code (default:
/// the report currency, else USD).
fn target(text: &str, currency: Option<Currency>) -> Result<Money> {
    let t = text.trim();
    match t.rsplit_once(' ') {
        Some((amount, code)) => Money::parse(amount.trim(), code.parse()?),
        None => Money::parse(t, currency.unwrap_or(Currency::USD)),
    }
}

/// The report of the Python arguments, built with the GIL released.
fn report_of(
    py: Python<'_>,
    folder_or_tables: &Bound<'_, PyAny>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<Report> {
    let options = report_options(options)?;
    let source = source(folder_or_tables)?;
    py.detach(|| build(&source, &options)).map_err(to_py)
}

// `revops.report`: the doc comment below is its Python docstring.
#[pyfunction]
#[pyo3(signature = (folder_or_tables, **options))]
#[pyo3(text_signature = "(folder_or_tables, *, as_of=None, currency=None, \
    cohort_granularity='quarter', breakdown='source', models=None, target=None, \
    confidence=0.95, method='wilson', backtest=True, funnel='demand_waterfall', \
    opportunity_funnel='salesforce_opportunity', parallel=True)")]
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
/// (False: no projection backtest), `funnel`, `opportunity_funnel`, `parallel`
/// (attribution on a second thread; the report is the same either way).
///
/// Money is {"amount": "decimal string", "currency": "ISO code"}, times RFC 3339.
///
/// Raises `revops.RevopsError` naming the file and line (or table, row and column)
/// of a bad value, or the record an engine refused; TypeError for an unknown option.
fn report<'py>(
    py: Python<'py>,
    folder_or_tables: &Bound<'py, PyAny>,
    options: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let json = report_of(py, folder_or_tables, options)?
        .to_json()
        .map_err(to_py)?;
    py.import("json")?.call_method1("loads", (json,))
}

// `revops.report_html`: the doc comment below is its Python docstring.
#[pyfunction]
#[pyo3(signature = (folder_or_tables, **options))]
#[pyo3(text_signature = "(folder_or_tables, *, as_of=None, currency=None, \
    cohort_granularity='quarter', breakdown='source', models=None, target=None, \
    confidence=0.95, method='wilson', backtest=True, funnel='demand_waterfall', \
    opportunity_funnel='salesforce_opportunity', parallel=True)")]
/// The consolidated revenue report as a self-contained HTML page with SVG charts
/// (revops' Report.to_html): the same input and options as `report`.
///
/// Raises `revops.RevopsError` as `report` does.
fn report_html<'py>(
    py: Python<'py>,
    folder_or_tables: &Bound<'py, PyAny>,
    options: Option<&Bound<'py, PyDict>>,
) -> PyResult<String> {
    let r = report_of(py, folder_or_tables, options)?;
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
