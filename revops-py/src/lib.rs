//! revops' engines for Python: the `revops` module of the `revops` wheel.
//!
//! Tables come in through the Arrow C stream / PyCapsule interface (pyarrow `Table`
//! and `RecordBatch`, polars and pandas DataFrames, anything with
//! `__arrow_c_stream__` or `__arrow_c_array__`), so no Python loop touches a row; the
//! core's Arrow decoder ([`revops::arrow`]) reads them with the same checks and
//! messages as its CSV and Parquet readers. Results go back as pyarrow tables: money
//! as `Decimal128(38, 9)` with its currency in a column.
//!
//! Policies are keyword arguments with the names and defaults of the Rust options;
//! a core error is raised as `revops.RevopsError` (a `ValueError`) with the core's
//! message, and, for a bad row, its `source`, `row` and `column` as attributes.
//!
//! Build and test with maturin and pytest: see `revops-py/README.md`.

mod errors;
mod forecast;
mod input;
mod options;
mod paths;
mod reliability;
mod touches;
// Issue 19 item 2: the funnel, pipeline, economics and report functions.
mod economics;
mod funnel;
mod pipeline;
mod report;
mod tables;

use pyo3::prelude::*;
use pyo3::types::PyAny;

use errors::{RevopsError, to_py};

// `revops.attribution`: the doc comment below is its Python docstring.
#[allow(clippy::too_many_arguments)]
#[pyfunction]
#[pyo3(signature = (
    touches = None,
    conversions = None,
    paths = None,
    models = None,
    *,
    stage_events = None,
    separator = ">",
    currency = None,
    repeat = "since_previous",
    trailing = "drop",
    lookback = None,
    repeats = "collapse",
    nulls = "include",
    step_limit = None,
    max_states = revops::attribution::MarkovOptions::DEFAULT_MAX_STATES,
    universe = "per_journey_set",
    method = None,
    max_channels = revops::attribution::ShapleyOptions::DEFAULT_MAX_CHANNELS,
    max_ordered_cells = revops::attribution::ShapleyOptions::DEFAULT_MAX_ORDERED_CELLS,
))]
#[pyo3(
    text_signature = "(touches=None, conversions=None, paths=None, models=None, *, \
    stage_events=None, separator='>', currency=None, repeat='since_previous', \
    trailing='drop', lookback=None, repeats='collapse', nulls='include', \
    step_limit='unlimited', max_states=5000, universe='per_journey_set', \
    method='exact', max_channels=2000, max_ordered_cells=10000000)"
)]
/// Attribution over touches and conversions, or over a path table in
/// ChannelAttribution's shape.
///
/// Two inputs, each any Arrow-compatible table (pyarrow Table or RecordBatch,
/// polars or pandas DataFrame):
///
/// - `touches` and `conversions` (and `stage_events` for the milestone models):
///   the columns of revops' `touches.csv` (`subject_id`, `channel`, `campaign`,
///   `at`; optional `cost`, `currency`), `conversions.csv` (`subject_id`, `at`,
///   `value`, `currency`) and `stage_events.csv` (`subject_id`, `stage`, `at`).
///   Times are timestamps, dates or RFC 3339 strings; money is decimal128, an
///   integer or a decimal string -- never a float. Journeys are cut as revops'
///   JourneyOptions say: `repeat` ("since_previous", "all_prior", "first_only"),
///   `trailing` ("drop", "non_converting"), `lookback` (days, or None: unlimited).
/// - `paths`: the columns of revops' `paths.csv`: `path` (text, channels joined by
///   `separator`, spaces around each channel trimmed), `total_conversions` and
///   `total_null` (numbers), `total_conversion_value` (exact money). A table with
///   a `path` column given first and alone (`attribution(paths_table, models)`)
///   is read as `paths`.
///
/// Other columns are ignored. `currency` is the currency of the path values
/// (default USD); for touches it declares the conversions' currency (default:
/// the first valued conversion's, or USD when none has a value).
///
/// `models` is a list of model names (default: first_touch, last_touch,
/// last_non_direct, linear, linear_unique, position_based, markov, shapley): any rule
/// model the input supports (`first_touch`, `position_based:0.3:0.3`, `j`, ...;
/// `time_decay` needs touch times, `w_shaped` and `milestones:...` stage events),
/// `markov` or `markov:<k>` (exact Markov removal effect of order k), `shapley`
/// (conversion-rate Shapley value), `shapley_simplified`, `shapley_ordered` (summed
/// over positions) and `shao_li`.
///
/// Markov policies: `repeats` ("collapse", "collapse_channels", "keep"), `nulls`
/// ("include", "exclude"), `step_limit` ("unlimited", "longest_path" or a number of
/// steps), `max_states` (limit of the dense solve). Shapley policies: `universe`
/// ("per_journey_set", "all_channels"), `method` ("exact",
/// {"sampling": {"permutations": n, "seed": s}} or
/// {"auto": {"exact_up_to": k, "permutations": n, "seed": s}}), `max_channels`,
/// `max_ordered_cells`. Names and defaults are those of revops' MarkovOptions and
/// ShapleyOptions.
///
/// Returns a pyarrow Table with one row per model and channel (models in the order
/// given, channels by name): `model`, `channel`, `conversions` and `value` (float64,
/// the credit as other tools report it), `revenue` (decimal128(38, 9): the exact
/// share of the converted value, rounded once in the currency's minor units, so each
/// model's revenue sums exactly to the total) and `currency`.
///
/// Raises `revops.RevopsError` (a ValueError) naming the table, row and column of a
/// bad value (or the record the journey builder refuses), an unknown model or
/// policy, or a model beyond its limit; `TypeError` for an object that is not a
/// table or a missing input.
fn attribution<'py>(
    py: Python<'py>,
    touches: Option<&Bound<'py, PyAny>>,
    conversions: Option<&Bound<'py, PyAny>>,
    paths: Option<&Bound<'py, PyAny>>,
    models: Option<Vec<String>>,
    stage_events: Option<&Bound<'py, PyAny>>,
    separator: &str,
    currency: Option<&str>,
    repeat: &str,
    trailing: &str,
    lookback: Option<i64>,
    repeats: &str,
    nulls: &str,
    step_limit: Option<&Bound<'py, PyAny>>,
    max_states: usize,
    universe: &str,
    method: Option<&Bound<'py, PyAny>>,
    max_channels: usize,
    max_ordered_cells: u64,
) -> PyResult<Bound<'py, PyAny>> {
    let (input, models) =
        touches::Input::from_py(touches, conversions, paths, models, stage_events)?;
    let models = paths::models(models.as_deref()).map_err(to_py)?;
    let declared = currency.map(str::parse).transpose().map_err(to_py)?;
    let options = touches::Policies {
        separator: separator.to_string(),
        currency: declared,
        journeys: options::journeys(repeat, trailing, lookback)?,
        markov: options::markov(repeats, nulls, step_limit, max_states)?,
        shapley: options::shapley(universe, method, max_channels, max_ordered_cells)?,
    };
    let batch = py
        .detach(|| paths::to_batch(&input.attribute(&models, options)?))
        .map_err(to_py)?;
    input::to_pyarrow(py, batch)
}

// `revops.forecast_errors`: the doc comment below is its Python docstring.
#[pyfunction]
#[pyo3(signature = (forecasts, *, zero_actual = "skip", bands = None))]
#[pyo3(text_signature = "(forecasts, *, zero_actual='skip', bands=None)")]
/// Forecast error metrics per series and pooled.
///
/// `forecasts` is any Arrow-compatible table with the columns of revops'
/// `forecasts.csv`: `series` and `period` (text), `forecast` and `actual` (numbers;
/// a null actual is a point not known yet: counted in `missing_actual`, left out of
/// every metric).
///
/// Policies (the names and defaults of revops' ErrorOptions): `zero_actual`
/// ("skip": points with a zero actual are left out of MAPE only and counted in
/// `zero_actual`; "error": raise naming the first such point), `bands`
/// ({"under": u, "over": o}: accuracy below u is "under", above o "over"; None is
/// the default 0.85 / 1.15).
///
/// Returns a pyarrow Table with one row per series (by name) and a last, pooled
/// row whose `series` is null: the counts `n`, `missing_actual`, `mape_n`,
/// `zero_actual` (uint64), the metrics `mae`, `mse`, `rmse`, `mape`, `wape`,
/// `smape` (in [0, 1]), `smape_200` (percent, in [0, 200]), `bias`, `cfe`,
/// `tracking_signal`, `total_forecast`, `total_actual`, `accuracy` (float64, null
/// when the denominator is zero) and `band`.
///
/// Raises `revops.RevopsError` naming the row and column of a bad value (a
/// non-finite forecast, an empty series), or a zero actual under
/// `zero_actual="error"`; `TypeError` for an object that is not a table.
fn forecast_errors<'py>(
    py: Python<'py>,
    forecasts: &Bound<'py, PyAny>,
    zero_actual: &str,
    bands: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let options = options::errors(zero_actual, bands)?;
    let batches = input::record_batches(forecasts, "forecasts")?;
    let batch = py
        .detach(|| forecast::to_batch(&forecast::forecast_errors(&batches, options)?))
        .map_err(to_py)?;
    input::to_pyarrow(py, batch)
}

// `revops.calibration`: the doc comment below is its Python docstring.
#[pyfunction]
#[pyo3(signature = (probabilities, outcomes, *, strategy = "uniform", bins = 10, confidence = 0.95))]
#[pyo3(
    text_signature = "(probabilities, outcomes, *, strategy='uniform', bins=10, confidence=0.95)"
)]
/// Calibration of win probabilities: reliability bins with their observed rates
/// and the scores.
///
/// `probabilities` and `outcomes` are arrays of one length (pyarrow Arrays or
/// ChunkedArrays, polars or pandas Series, NumPy arrays, lists). Probabilities are
/// numbers in [0, 1]; an outcome is a boolean (True won, False lost), the text
/// "won", "lost" or "open" (any case), or the integer 1 or 0; null is open (counted,
/// left out of every score).
///
/// Policies (the names and defaults of revops' CalibrationOptions): `strategy`
/// ("uniform": equal-width bins; "quantile": bins of about equal counts), `bins`
/// (1 to 1,000,000), `confidence` (the level of each bin's Wilson interval).
///
/// Returns a pyarrow Table with one row per non-empty bin: `bin`, `bin_lower`,
/// `bin_upper`, `count`, `mean_predicted`, the observed rate as `numerator` (won),
/// `denominator` (count), `value` and its interval `lower`, `upper`, and `gap`
/// (|value - mean_predicted|). The scores -- `won`, `lost`, `open`, `base_rate`,
/// `brier`, `log_loss`, `mean_probability`, `roc_auc`, `ece`, `mce` -- are JSON in
/// the schema metadata under b"revops.scores"
/// (`json.loads(t.schema.metadata[b"revops.scores"])`).
///
/// Raises `revops.RevopsError` naming the row of a missing probability or a bad
/// outcome, or the position of a probability outside [0, 1].
fn calibration<'py>(
    py: Python<'py>,
    probabilities: &Bound<'py, PyAny>,
    outcomes: &Bound<'py, PyAny>,
    strategy: &str,
    bins: usize,
    confidence: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let options = options::calibration(strategy, bins, confidence)?;
    let p = input::array(probabilities, "probabilities", Some("float64"))?;
    let o = input::outcomes(outcomes, "outcomes")?;
    let batch = py
        .detach(|| {
            let p = p
                .as_any()
                .downcast_ref::<arrow_array::Float64Array>()
                .ok_or_else(|| {
                    revops::Error::from(revops::error::ErrorKind::InvalidParameter {
                        name: "probabilities",
                        value: p.data_type().to_string(),
                        reason: "not cast to float64".into(),
                    })
                })?;
            reliability::to_batch(&reliability::calibration(p, o.as_ref(), options)?)
        })
        .map_err(to_py)?;
    input::to_pyarrow(py, batch)
}

/// The `revops` Python module.
#[pymodule]
#[pyo3(name = "revops")]
fn revops_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("RevopsError", m.py().get_type::<RevopsError>())?;
    m.add_function(wrap_pyfunction!(attribution, m)?)?;
    m.add_function(wrap_pyfunction!(forecast_errors, m)?)?;
    m.add_function(wrap_pyfunction!(calibration, m)?)?;
    funnel::register(m)?;
    pipeline::register(m)?;
    economics::register(m)?;
    report::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
