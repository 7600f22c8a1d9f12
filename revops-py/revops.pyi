"""revops' engines for Python: Arrow-compatible tables in, pyarrow tables out.

Inputs are read through the Arrow PyCapsule interface (pyarrow Table / RecordBatch,
polars and pandas DataFrames) without a Python loop over rows. Money comes back as
decimal128(38, 9) next to a `currency` column; errors are `RevopsError` with the
core's message naming the row and column.
"""

from typing import Any, Literal, Mapping, Protocol, Sequence

import pyarrow

__version__: str

class _ArrowStream(Protocol):
    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object: ...

class _ArrowArray(Protocol):
    def __arrow_c_array__(self, requested_schema: object | None = None) -> tuple[object, object]: ...

#: Anything `revops` reads as a table: pyarrow Table / RecordBatch, polars or pandas
#: DataFrame, or any object with `__arrow_c_stream__` / `__arrow_c_array__`.
Table = _ArrowStream | _ArrowArray | Any

class RevopsError(ValueError):
    """An error of a revops engine, with the core's message.

    For a bad row of an input table, `source` is the argument's name (e.g. "paths"),
    `row` the zero-based row across all batches and `column` the column; otherwise
    they are None.
    """

    source: str | None
    row: int | None
    column: str | None

def attribution(
    touches: Table | None = None,
    conversions: Table | Sequence[str] | None = None,
    paths: Table | None = None,
    models: Sequence[str] | None = None,
    *,
    stage_events: Table | None = None,
    separator: str = ">",
    currency: str | None = None,
    repeat: Literal["since_previous", "all_prior", "first_only"] = "since_previous",
    trailing: Literal["drop", "non_converting"] = "drop",
    lookback: int | None = None,
    repeats: Literal["collapse", "collapse_channels", "keep"] = "collapse",
    nulls: Literal["include", "exclude"] = "include",
    step_limit: Literal["unlimited", "longest_path"] | int = "unlimited",
    max_states: int = 5000,
    universe: Literal["per_journey_set", "all_channels"] = "per_journey_set",
    method: Literal["exact"] | Mapping[str, Mapping[str, int]] = "exact",
    max_channels: int = 2000,
    max_ordered_cells: int = 10_000_000,
) -> pyarrow.Table:
    """Attribution over touches and conversions, or over a path table in
    ChannelAttribution's shape.

    - `touches` and `conversions` (and `stage_events` for the milestone models):
      the columns of revops' `touches.csv` (`subject_id`, `channel`, `campaign`,
      `at`; optional `cost`, `currency`), `conversions.csv` (`subject_id`, `at`,
      `value`, `currency`) and `stage_events.csv` (`subject_id`, `stage`, `at`).
      Journeys are cut as revops' JourneyOptions say: `repeat`, `trailing`,
      `lookback` (days; None: unlimited).
    - `paths`: `path` (text, channels joined by `separator`),
      `total_conversions`, `total_conversion_value` and `total_null`. A table with
      a `path` column given first and alone (`attribution(paths_table, models)`)
      is read as `paths`.

    Money is exact: decimal128, an integer or a decimal string, never a float.
    `currency`: the currency of the path values (default USD); for touches it
    declares the conversions' currency (default: the first valued conversion's).

    `models` (default: first_touch, last_touch, last_non_direct, linear,
    linear_unique, position_based, markov, shapley): rule models the input
    supports (`time_decay` needs touch times, `w_shaped` / `milestones:...` stage
    events), `markov` / `markov:<k>` (exact Markov removal effect of order k),
    `shapley` (conversion-rate Shapley value), `shapley_simplified`,
    `shapley_ordered` and `shao_li`.

    Markov policies: `repeats`, `nulls`, `step_limit`, `max_states`; Shapley
    policies: `universe`, `method` ("exact", {"sampling": {"permutations": n,
    "seed": s}} or {"auto": {"exact_up_to": k, "permutations": n, "seed": s}}),
    `max_channels`, `max_ordered_cells` -- the names and defaults of revops'
    MarkovOptions and ShapleyOptions.

    Returns one row per model and channel: `model`, `channel`, `conversions`,
    `value` (float64), `revenue` (decimal128(38, 9), each model's rows summing
    exactly to the converted value) and `currency`.

    Raises RevopsError for a bad row (naming the table, row and column) or a
    record the journey builder refuses, an unknown model or policy, or a model
    beyond its limit; TypeError for an object that is not a table or a missing
    input.
    """
    ...

def forecast_errors(
    forecasts: Table,
    *,
    zero_actual: Literal["skip", "error"] = "skip",
    bands: Mapping[str, float] | None = None,
) -> pyarrow.Table:
    """Forecast error metrics per series and pooled.

    `forecasts` has the columns of revops' `forecasts.csv`: `series`, `period`
    (text), `forecast` and `actual` (numbers; a null actual is not known yet:
    counted in `missing_actual`, left out of every metric).

    Policies (revops' ErrorOptions): `zero_actual` ("skip": left out of MAPE only
    and counted; "error": raise naming the point), `bands` ({"under": u, "over":
    o}; None is 0.85 / 1.15).

    Returns one row per series (by name) and a last, pooled row whose `series` is
    null: `n`, `missing_actual`, `mape_n`, `zero_actual` (uint64), `mae`, `mse`,
    `rmse`, `mape`, `wape`, `smape` (in [0, 1]), `smape_200` (percent, in
    [0, 200]), `bias`, `cfe`,
    `tracking_signal`, `total_forecast`, `total_actual`, `accuracy` (float64, null
    when the denominator is zero) and `band` ("under", "good", "over").

    Raises RevopsError naming the row and column of a bad value, or a zero actual
    under zero_actual="error"; TypeError when `forecasts` is not a table.
    """
    ...

def calibration(
    probabilities: Any,
    outcomes: Any,
    *,
    strategy: Literal["uniform", "quantile"] = "uniform",
    bins: int = 10,
    confidence: float = 0.95,
) -> pyarrow.Table:
    """Calibration of win probabilities: reliability bins and scores.

    `probabilities` and `outcomes` are arrays of one length (pyarrow Array or
    ChunkedArray, polars or pandas Series, NumPy array, list). An outcome is a
    boolean (True won), "won" / "lost" / "open" (any case), or 1 / 0; null is open
    (counted, left out of every score).

    Policies (revops' CalibrationOptions): `strategy`, `bins` (1 to 1,000,000),
    `confidence` (of each bin's Wilson interval).

    Returns one row per non-empty bin: `bin`, `bin_lower`, `bin_upper`, `count`,
    `mean_predicted`, the observed rate as `numerator`, `denominator`, `value`,
    `lower`, `upper`, and `gap`. The scores (`won`, `lost`, `open`, `base_rate`,
    `brier`, `log_loss`, `mean_probability`, `roc_auc`, `ece`, `mce`) are JSON in
    the schema metadata: `json.loads(t.schema.metadata[b"revops.scores"])`.

    Raises RevopsError naming the row of a missing probability or a bad outcome,
    or the position of a probability outside [0, 1].
    """
    ...
