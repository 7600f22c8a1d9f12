//! `win_rate(history, by=...)`: the core's pipeline win rate
//! ([`PipelineHistory::win_rate`] / [`PipelineHistory::win_rate_by`]) over an
//! opportunity-history table, decoded by the core's Arrow decoder.

use arrow_array::RecordBatch;
use pyo3::prelude::*;
use pyo3::types::PyAny;
use revops::breakdown::Dimension;
use revops::chrono::{DateTime, Utc};
use revops::pipeline::{NoDecision, PipelineHistory, WinRate, WinRateBasis, WinRateSpec};
use revops::report::opportunities_from_history;
use revops::{
    Confidence, Currency, Funnel, IntervalMethod, Lead, OpportunityChange, Result, Window,
};

use crate::errors::to_py;
use crate::input::{record_batches, to_pyarrow};
use crate::options::{any, named};
use crate::tables::{Columns, funnel, instant, invalid, records};

/// The history's rows in the history's currency: `currency`, else that of its
/// first row (USD for an empty one), as the core's report infers it.
///
/// # Errors
/// A bad row (named by the decoder); what [`PipelineHistory::new`] returns (an
/// unknown stage, an amount in another currency, naming the row).
pub(crate) fn history(
    funnel: Funnel,
    currency: Option<Currency>,
    batches: &[RecordBatch],
) -> Result<(PipelineHistory, Vec<OpportunityChange>)> {
    let rows: Vec<OpportunityChange> = records(batches, "opportunity_history")?;
    let currency = currency
        .or_else(|| rows.first().map(|r| r.amount.currency()))
        .unwrap_or(Currency::USD);
    Ok((PipelineHistory::new(funnel, currency, &rows)?, rows))
}

/// What `win_rate` computes: the spec, and the breakdown dimension with the leads
/// that carry its values.
pub(crate) struct WinRateJob {
    pub(crate) funnel: Funnel,
    pub(crate) currency: Option<Currency>,
    /// `None`: the history's latest change.
    pub(crate) as_of: Option<DateTime<Utc>>,
    pub(crate) spec: WinRateSpec,
    pub(crate) by: Option<Dimension>,
}

/// The win rate over every deal (`None`, first) and per bucket of `job.by`: the
/// deals' values come from their opportunities rebuilt from the history
/// ([`opportunities_from_history`]) and the leads they name, as the core's report
/// builds its per-rep table.
///
/// # Errors
/// As [`history`]; a bad lead row; what [`PipelineHistory::keys`] (a duplicate
/// lead) and [`PipelineHistory::win_rate_by`] (a bad no-decision list) return.
pub(crate) fn win_rates(
    job: WinRateJob,
    history_batches: &[RecordBatch],
    lead_batches: &[RecordBatch],
) -> Result<Vec<(bool, Option<String>, WinRate)>> {
    let (h, rows) = history(job.funnel, job.currency, history_batches)?;
    let mut spec = job.spec;
    spec.as_of = job
        .as_of
        .or_else(|| h.span().map(|(_, last)| last))
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let Some(dimension) = job.by else {
        return Ok(vec![(true, None, h.win_rate(&spec)?)]);
    };
    let leads: Vec<Lead> = records(lead_batches, "leads")?;
    let opportunities = opportunities_from_history(&rows, &leads);
    let keys = h.keys(&dimension, &opportunities, &leads)?;
    let by = h.win_rate_by(&spec, &keys)?;
    let mut out = vec![(true, None, by.total().clone())];
    out.extend(
        by.cells()
            .map(|(value, w)| (false, value.map(String::from), w.clone())),
    );
    Ok(out)
}

/// The win rates as one table: `total`, `breakdown`, the counts, the rate's five
/// columns.
///
/// # Errors
/// When Arrow refuses the columns (it does not for these types).
pub(crate) fn win_rate_batch(
    rows: &[(bool, Option<String>, WinRate)],
    dimension: Option<&Dimension>,
) -> Result<RecordBatch> {
    let mut c = Columns::default();
    c.flag("total", rows.iter().map(|r| Some(r.0)));
    c.text("breakdown", rows.iter().map(|r| r.1.as_deref()));
    type Count = fn(&WinRate) -> u64;
    let counts: [(&str, Count); 5] = [
        ("won", |w| w.won),
        ("lost", |w| w.lost),
        ("no_decision", |w| w.no_decision),
        ("stale", |w| w.stale),
        ("open", |w| w.open),
    ];
    for (name, f) in counts {
        c.count(name, rows.iter().map(|r| Some(f(&r.2))));
    }
    let rates: Vec<_> = rows.iter().map(|r| (r.2.ratio, r.2.interval)).collect();
    c.rate("", &rates);
    let basis = rows.first().map(|r| r.2.basis);
    c.finish(&[
        (
            "dimension",
            serde_json::json!(dimension.map(Dimension::name)),
        ),
        ("basis", serde_json::json!(basis)),
    ])
}

/// A window from a Python value: None, a (start, end) pair or a dict with `start`
/// and `end` (datetimes, dates or RFC 3339 strings).
fn window(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Window>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    let (start, end) = match value.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>() {
        Ok(pair) => pair,
        Err(_) => (value.get_item("start")?, value.get_item("end")?),
    };
    let (Some(start), Some(end)) = (
        instant("window", Some(&start))?,
        instant("window", Some(&end))?,
    ) else {
        return Err(to_py(invalid(
            "window",
            value.str()?,
            "a window needs a start and an end",
        )));
    };
    Window::new(start, end).map(Some).map_err(to_py)
}

// `revops.win_rate`: the doc comment below is its Python docstring.
#[allow(clippy::too_many_arguments)]
#[pyfunction]
#[pyo3(signature = (
    history, *, by = None, leads = None, as_of = None, basis = None, window = None,
    no_decision = None, method = "wilson", confidence = 0.95, funnel = None, currency = None,
))]
#[pyo3(
    text_signature = "(history, *, by=None, leads=None, as_of=None, basis='closed_only', \
    window=None, no_decision='exit_stages', method='wilson', confidence=0.95, \
    funnel='salesforce_opportunity', currency=None)"
)]
/// Win rate of the deals of an opportunity history, with its counts and interval,
/// over every deal and per owner, segment, source, ...
///
/// `history` has the columns of revops' `opportunity_history.csv`
/// (`opportunity_id`, `changed_at`, `stage`, `amount`, `currency`, `close_date`,
/// `probability`, `forecast_category`; optional `lead_id`): each row the state of a
/// deal right after a change.
///
/// `by`: a breakdown dimension ("owner", "segment", "source", "campaign",
/// "account" or "attribute:<name>"); a deal's value is read from the lead it names
/// (`lead_id`, or a lead with the deal's id) in `leads` (a table with the columns of
/// `leads.csv`), as revops' report does for its per-rep table.
///
/// The spec (revops' WinRateSpec): `as_of` (when the deals' states are read; None:
/// the history's latest change), `basis` ("closed_only", "closed_plus_no_decision",
/// "all_created", {"closed_plus_stale": {"days": d}}), `window` ((start, end) or
/// {"start": .., "end": ..}: which deals count), `no_decision` ("exit_stages" or
/// {"stages": [keys]}), `method`, `confidence`. `funnel`: the opportunity funnel
/// ("salesforce_opportunity", default, or a definition); `currency`: the history's
/// currency (default: its first row's).
///
/// Returns a pyarrow Table: a first row over every deal (`total` True, `breakdown`
/// null), then a row per bucket of `by` (sorted; deals without a value last, with
/// `breakdown` null): `won`, `lost`, `no_decision`, `stale`, `open`, and the rate
/// as `numerator`, `denominator`, `value`, `lower`, `upper`.
///
/// Raises `revops.RevopsError` naming the table, row and column of a bad value, an
/// unknown stage, an amount in another currency or a lead given twice.
fn win_rate<'py>(
    py: Python<'py>,
    history: &Bound<'py, PyAny>,
    by: Option<&str>,
    leads: Option<&Bound<'py, PyAny>>,
    as_of: Option<&Bound<'py, PyAny>>,
    basis: Option<&Bound<'py, PyAny>>,
    window: Option<&Bound<'py, PyAny>>,
    no_decision: Option<&Bound<'py, PyAny>>,
    method: &str,
    confidence: f64,
    funnel: Option<&Bound<'py, PyAny>>,
    currency: Option<&str>,
) -> PyResult<Bound<'py, PyAny>> {
    let by = by.map(str::parse::<Dimension>).transpose().map_err(to_py)?;
    let mut spec = WinRateSpec::new(DateTime::<Utc>::UNIX_EPOCH)
        .with_basis(any::<WinRateBasis>("basis", basis)?)
        .with_no_decision(any::<NoDecision>("no_decision", no_decision)?)
        .with_interval(
            named::<IntervalMethod>("method", method)?,
            Confidence::new(confidence).map_err(to_py)?,
        );
    spec.window = self::window(window)?;
    let job = WinRateJob {
        funnel: self::funnel(funnel, Funnel::salesforce_opportunity)?,
        currency: currency.map(str::parse).transpose().map_err(to_py)?,
        as_of: instant("as_of", as_of)?,
        spec,
        by: by.clone(),
    };
    if job.by.is_some() && leads.is_none() {
        return Err(to_py(invalid(
            "leads",
            "None",
            "a breakdown reads the deals' values from their leads: give the leads table",
        )));
    }
    let h = record_batches(history, "opportunity_history")?;
    let l = match leads {
        Some(t) => record_batches(t, "leads")?,
        None => Vec::new(),
    };
    let batch = py
        .detach(|| win_rate_batch(&win_rates(job, &h, &l)?, by.as_ref()))
        .map_err(to_py)?;
    to_pyarrow(py, batch)
}

/// Registers the pipeline functions in the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(win_rate, m)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::{batches_of, company};

    #[test]
    fn win_rates_equal_the_core_engine_on_the_synthetic_company() {
        let c = company();
        let (history, leads) = (batches_of(&c.opportunity_history), batches_of(&c.leads));
        let h = PipelineHistory::new(
            Funnel::salesforce_opportunity(),
            c.currency,
            &c.opportunity_history,
        )
        .unwrap();
        let as_of = h.span().unwrap().1;
        let job = |by: Option<Dimension>| WinRateJob {
            funnel: Funnel::salesforce_opportunity(),
            currency: None,
            as_of: None,
            spec: WinRateSpec::new(DateTime::<Utc>::UNIX_EPOCH),
            by,
        };
        let total = win_rates(job(None), &history, &[]).unwrap();
        assert_eq!(total.len(), 1);
        assert_eq!(total[0].2, h.win_rate(&WinRateSpec::new(as_of)).unwrap());

        let got = win_rates(job(Some(Dimension::Owner)), &history, &leads).unwrap();
        let opportunities = opportunities_from_history(&c.opportunity_history, &c.leads);
        let keys = h.keys(&Dimension::Owner, &opportunities, &c.leads).unwrap();
        let want = h.win_rate_by(&WinRateSpec::new(as_of), &keys).unwrap();
        assert_eq!(got[0].2, *want.total());
        let cells: Vec<_> = want
            .cells()
            .map(|(v, w)| (v.map(String::from), w.clone()))
            .collect();
        assert!(cells.len() > 2);
        assert_eq!(
            got[1..]
                .iter()
                .map(|r| (r.1.clone(), r.2.clone()))
                .collect::<Vec<_>>(),
            cells
        );
        let batch = win_rate_batch(&got, Some(&Dimension::Owner)).unwrap();
        assert_eq!(batch.num_rows(), got.len());
    }

    #[test]
    fn a_bad_history_row_is_named() {
        let c = company();
        let mut rows = c.opportunity_history[..20].to_vec();
        rows[13].stage = "limbo".into();
        let job = WinRateJob {
            funnel: Funnel::salesforce_opportunity(),
            currency: None,
            as_of: None,
            spec: WinRateSpec::new(DateTime::<Utc>::UNIX_EPOCH),
            by: None,
        };
        let e = win_rates(job, &batches_of(&rows), &[]).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("limbo") && text.contains("13"), "{text}");
    }
}
