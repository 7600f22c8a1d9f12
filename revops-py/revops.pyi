"""revops' engines for Python: Arrow-compatible tables in, pyarrow tables out.

Inputs are read through the Arrow PyCapsule interface (pyarrow Table / RecordBatch,
polars and pandas DataFrames) without a Python loop over rows. Money comes back as
decimal128(38, 9) next to a `currency` column; errors are `RevopsError` with the
core's message naming the row and column.
"""

import datetime
import os
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

# ---- Issue 19 item 2: the funnel, pipeline, economics and report functions.

#: A funnel: "demand_waterfall", "salesforce_opportunity", or a definition (revops'
#: JSON form of a Funnel, as a dict or a JSON string).
Funnel = str | Mapping[str, Any]

#: An instant: a datetime (naive: UTC), a date (midnight UTC) or an RFC 3339 string.
Instant = datetime.datetime | datetime.date | str

#: A breakdown dimension: "source", "campaign", "segment", "owner", "account" or
#: "attribute:<name>" (a lead column).
Dimension = str

SkipPolicy = Literal["backfill", "strict", "any_stage"]
TieBreak = Literal["stage_order", "input_order"]
BackwardPolicy = Literal["keep_furthest", "new_cycle"]
IntervalMethod = Literal["wilson", "clopper_pearson", "jeffreys"]
Granularity = Literal["day", "week", "month", "quarter", "year"]

def cohort_report(
    leads: Table,
    stage_events: Table,
    *,
    funnel: Funnel = "demand_waterfall",
    anchor: str = "created",
    granularity: Granularity = "month",
    calendar: Mapping[str, Any] | None = None,
    window: datetime.timedelta | float | None = None,
    step_windows: Mapping[str, datetime.timedelta | float] | None = None,
    cycles: Literal["all_cycles", "first_cycle_only"] = "all_cycles",
    breakdown: Dimension | None = None,
    confidence: float = 0.95,
    method: IntervalMethod = "wilson",
    skip: SkipPolicy = "backfill",
    tie_break: TieBreak = "stage_order",
    backward: BackwardPolicy = "keep_furthest",
    as_of: Instant | None = None,
) -> pyarrow.Table:
    """Cohort conversion through the funnel, with the counts and interval of every
    rate (revops' funnel::cohort_report).

    `leads` has the columns of revops' `leads.csv` (`subject_id`, `created_at`,
    `source`; optional `campaign`, `account`, `owner`, `segment`; any other column is
    an attribute), `stage_events` those of `stage_events.csv` (`subject_id`,
    `stage`, `at`; optional `cycle`, `reason`).

    The cohort spec (revops' CohortSpec): `anchor` ("created" or a stage key),
    `granularity`, `calendar` ({"fiscal_year_start_month": m, ...}), `window` (a
    timedelta or days from the anchor), `step_windows` ({stage: timedelta or
    days}), `cycles`, `breakdown`, `confidence`, `method`. Path reconstruction
    (revops' PathOptions): `skip`, `tie_break`, `backward`, `as_of` (None: every
    lead and event).

    Returns one row per table (`total` True, then one per `breakdown` value, null
    for leads without one), cohort (`cohort`, `cohort_start`; null: all cohorts)
    and rate: `entered`, `kind` ("step": stage to next stage; "to_won"), `from`,
    `to`, `numerator`, `denominator`, `value`, `lower`, `upper`,
    `window_elapsed`. The report's stages, anchor, dimension and diagnostics are
    JSON in the schema metadata (b"revops.stages", b"revops.diagnostics", ...).

    Raises RevopsError naming the table, row and column of a bad value, an unknown
    stage or a duplicate lead; TypeError when an input is not a table.
    """
    ...

def velocity(
    leads: Table,
    stage_events: Table,
    *,
    funnel: Funnel = "demand_waterfall",
    steps: Sequence[tuple[str, str]] | None = None,
    quantiles: Literal["exact"] | Mapping[str, Mapping[str, float]] = "exact",
    bins: str | Mapping[str, Mapping[str, int]] = "log2",
    inferred: Literal["exclude", "include"] = "exclude",
    breakdown: Dimension | None = None,
    skip: SkipPolicy = "backfill",
    tie_break: TieBreak = "stage_order",
    backward: BackwardPolicy = "keep_furthest",
    as_of: Instant | None = None,
) -> pyarrow.Table:
    """Stage-to-stage velocity: how long cycles take from one stage to another
    (revops' funnel::velocity_report).

    `leads` and `stage_events` as for `cohort_report`. The spec (revops'
    VelocitySpec): `steps` ((from, to) stage keys; None: every adjacent step and
    the first stage to won), `quantiles` ("exact" or {"sketch": {"alpha": a}}),
    `bins` ("log2", "days", "weeks", {"fixed": {"width_seconds": w}},
    {"doubling": {"first_upper_seconds": u}}, ...), `inferred` (cycles whose
    endpoint was back-filled: "exclude" and count, or "include"), `breakdown`.
    `funnel`, `skip`, `tie_break`, `backward`, `as_of` as for `cohort_report`.

    Returns one row per table (`total` True, then one per `breakdown` value) and
    step: `from`, `to`, `count`, `mean`, `min`, `p25`, `median`, `p75`, `p90`,
    `max` (seconds; null when no cycle measured the step), `excluded_inferred`,
    and the histogram as the lists `bin_lower`, `bin_upper` (seconds), `bin_count`.

    Raises RevopsError naming the table, row and column of a bad value, an unknown
    stage, or a step whose `to` comes before its `from`.
    """
    ...

def win_rate(
    history: Table,
    *,
    by: Dimension | None = None,
    leads: Table | None = None,
    as_of: Instant | None = None,
    basis: str | Mapping[str, Mapping[str, int]] = "closed_only",
    window: tuple[Instant, Instant] | Mapping[str, Instant] | None = None,
    no_decision: Literal["exit_stages"] | Mapping[str, Sequence[str]] = "exit_stages",
    method: IntervalMethod = "wilson",
    confidence: float = 0.95,
    funnel: Funnel = "salesforce_opportunity",
    currency: str | None = None,
) -> pyarrow.Table:
    """Win rate of the deals of an opportunity history, with its counts and
    interval, over every deal and per `by` (revops' PipelineHistory.win_rate /
    win_rate_by).

    `history` has the columns of revops' `opportunity_history.csv`
    (`opportunity_id`, `changed_at`, `stage`, `amount`, `currency`, `close_date`,
    `probability`, `forecast_category`; optional `lead_id`). With `by`, a deal's
    value is read from the lead it names in `leads` (required then), as revops'
    report builds its per-rep table.

    The spec (revops' WinRateSpec): `as_of` (None: the latest change), `basis`
    ("closed_only", "closed_plus_no_decision", "all_created",
    {"closed_plus_stale": {"days": d}}), `window` (which deals count: (start, end)
    or {"start": .., "end": ..}), `no_decision` ("exit_stages" or {"stages":
    [keys]}), `method`, `confidence`; `funnel` (the opportunity funnel);
    `currency` (default: the first row's).

    Returns a first row over every deal (`total` True), then one per bucket of
    `by` (`breakdown`; deals without a value last, null): `won`, `lost`,
    `no_decision`, `stale`, `open`, `numerator`, `denominator`, `value`, `lower`,
    `upper`.

    Raises RevopsError naming the table, row and column of a bad value, an unknown
    stage, an amount in another currency, or a lead given twice.
    """
    ...

def unit_economics(
    spend: Table,
    leads: Table,
    stage_events: Table,
    conversions: Table | None = None,
    *,
    stages: Sequence[str] = ["mql", "sql", "won"],
    currency: str | None = None,
    granularity: Granularity = "month",
    calendar: Mapping[str, Any] | None = None,
    by_campaign: bool = False,
    by_period: bool = False,
    funnel: Funnel = "demand_waterfall",
    skip: SkipPolicy = "backfill",
    tie_break: TieBreak = "stage_order",
    backward: BackwardPolicy = "keep_furthest",
    as_of: Instant | None = None,
) -> pyarrow.Table:
    """Unit economics per lead source (revops' cost::unit_economics, as the
    `unit_economics` example runs it): spend next to the leads, stage counts and
    revenue credited to each lead's source.

    `spend` has the columns of `spend.csv` (money exact: decimal128, integer or
    decimal string), `conversions` (optional) those of `conversions.csv`: a
    conversion's value is revenue of the lead of its `subject_id`. Spend is split
    over periods of `granularity` in `calendar` pro rata by days. Units: `leads`
    and one per stage of `stages` (leads whose any cycle reached it). `currency`
    (default: the first spend row's, else the first valued conversion's, else
    USD); `by_campaign`, `by_period` (revops' CostGrouping); `funnel`, `skip`,
    `tie_break`, `backward`, `as_of` as for `cohort_report`.

    Returns a row per channel (campaign, period), then a total row (`total`
    True): `channel`, `campaign`, `period`, `period_start`, `spend`, `currency`,
    per unit its count and `cost_per_<unit>` (decimal128; null for zero units),
    `revenue`, `roas` and `roi` (float64, null for zero spend; their exact
    numerator and denominator are `revenue` and `spend`).

    Raises RevopsError naming the table, row and column of a bad value, an unknown
    stage, or an amount in another currency.
    """
    ...

def report(
    folder_or_tables: str | os.PathLike[str] | Mapping[str, Table],
    *,
    as_of: Instant | None = None,
    currency: str | None = None,
    cohort_granularity: Granularity = "quarter",
    breakdown: Dimension | None = "source",
    models: Sequence[str] | None = None,
    target: str | None = None,
    confidence: float = 0.95,
    method: IntervalMethod = "wilson",
    backtest: bool = True,
    funnel: Funnel = "demand_waterfall",
    opportunity_funnel: Funnel = "salesforce_opportunity",
    parallel: bool = True,
) -> dict[str, Any]:
    """The consolidated revenue report (revops' report::Report) as a dict: its JSON
    form, money as {"amount": "decimal string", "currency": code}.

    `folder_or_tables`: a folder of the canonical CSV files (read as `demo --data`
    reads them; any may be missing) or a dict of tables by canonical name
    ("leads", "stage_events", "touches", "conversions", "spend",
    "opportunity_history", "forecasts"). A section whose inputs are missing is
    left out and named in `omitted`.

    Options (revops' ReportOptions): `as_of` (default: the latest timestamp of the
    input), `currency`, `cohort_granularity`, `breakdown` (None: totals only),
    `models` (as for `attribution`; None: the report's eight), `target` ("1200000"
    or "1200000 EUR"; default 1.2 x last quarter's won revenue), `confidence`,
    `method`, `backtest` (False: no projection backtest), `funnel`,
    `opportunity_funnel`, `parallel` (attribution on a second thread; the report
    is the same either way).

    Raises RevopsError naming the file and line (or table, row and column) of a
    bad value, or the record an engine refused; TypeError for an unknown option.
    """
    ...

def report_html(
    folder_or_tables: str | os.PathLike[str] | Mapping[str, Table],
    *,
    as_of: Instant | None = None,
    currency: str | None = None,
    cohort_granularity: Granularity = "quarter",
    breakdown: Dimension | None = "source",
    models: Sequence[str] | None = None,
    target: str | None = None,
    confidence: float = 0.95,
    method: IntervalMethod = "wilson",
    backtest: bool = True,
    funnel: Funnel = "demand_waterfall",
    opportunity_funnel: Funnel = "salesforce_opportunity",
    parallel: bool = True,
) -> str:
    """The consolidated revenue report as a self-contained HTML page with SVG
    charts (revops' Report.to_html): the input and options of `report`."""
    ...
