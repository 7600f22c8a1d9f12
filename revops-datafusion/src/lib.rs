//! revops' engines as Apache DataFusion aggregate functions.
//!
//! Each function wraps one core accumulator (see [`revops::Accumulator`]): DataFusion
//! feeds it the rows of each partition, ships each partition's state to the final
//! aggregation as one `Binary` column holding the accumulator's serialised form, and
//! merges them there with the core `merge`. The numbers are therefore the core
//! engine's, on one partition or many, on one machine or a Ballista cluster.
//!
//! The functions users group by many keys (`revops_win_rate`, `revops_forecast_errors`,
//! `revops_calibration`, `revops_cohorts`) also have DataFusion's `GroupsAccumulator`:
//! one core state per group, each row added to its group's state, and the same
//! `Binary` partial state per group as the row accumulator's, so the two merge into
//! each other.
//!
//! Policies are a trailing literal JSON object whose keys override the core options'
//! defaults (the same names as the Rust options), so a distributed plan carries them.
//!
//! ```
//! use datafusion_expr::AggregateUDF;
//! let names: Vec<String> = revops_datafusion::functions()
//!     .iter()
//!     .map(|f: &AggregateUDF| f.name().to_string())
//!     .collect();
//! assert!(names.contains(&"revops_forecast_errors".to_string()));
//! ```

mod attribution;
mod convert;
mod engine;
mod forecast;
mod funnel;
mod grouped;
mod journeys;
mod options;
mod pipeline;

use datafusion_common::Result;
use datafusion_expr::AggregateUDF;
use datafusion_expr::registry::FunctionRegistry;

use engine::Udaf;

/// Every aggregate function of this crate.
///
/// | function | arguments | result |
/// |---|---|---|
/// | `revops_forecast_errors` | `forecast`, `actual` (numbers; NULL actual = not known yet), options | struct of [`ErrorMetrics`](revops::forecast::ErrorMetrics) fields |
/// | `revops_markov` | `path` (text, channels joined by the separator), `total_conversions`, `total_conversion_value` (exact: decimal, integer or text), `total_null`, options | struct of [`MarkovReport`](revops::attribution::MarkovReport) totals and channels, each with its exact `revenue` (Decimal128(38, 9)) summing to `total_value` |
/// | `revops_shapley` | as `revops_markov` | struct of the [`ShapleyReport`](revops::attribution::ShapleyReport): `simplified`, `conversion_rate`, `shao_li` credit sets (each channel with its exact `revenue`) and `ordered` credit per position |
/// | `revops_attribution` | as `revops_markov`; options: `model` (a rule model's text, default `linear`), separator, currency | struct of the rule model's [`Attribution`](revops::attribution::Attribution) from [`CreditCounts`](revops::attribution::CreditCounts): `model`, `channels` (channel, conversions, value, exact `revenue`), totals, `revenue` and `unattributed_revenue` (Decimal128(38, 9)): channel revenue plus unattributed revenue is exactly `revenue` |
/// | `revops_touch_attribution` | `kind` (`touch`, `conversion` or `stage`), `subject`, `at` (timestamp, date or RFC 3339 text), `name` (the touch's channel or the event's stage key), `campaign` (touches; may be NULL), `value` (conversions: exact decimal, integer or text; NULL = no value), options: `model` (any rule model, time decay and the milestone models included), `currency`, `lookback_days`, `channels`, `exclude_channels`, `campaigns`, `repeat`, `trailing` | as `revops_attribution`: journeys cut by the core [`JourneyBuilder`](revops::attribution::JourneyBuilder) (its serialised state crosses partitions), credited by [`Journeys::attribute_with_revenue`](revops::attribution::Journeys::attribute_with_revenue) |
/// | `revops_cohorts` | `lead` (text), `created_at`, `stage` (text), `at` (timestamps, dates or RFC 3339 text): one row per lead creation (stage and at NULL), per stage event (created_at NULL), or both (a join), options | struct of the [`CohortReport`](revops::funnel::CohortReport) from [`CohortCounts`](revops::funnel::CohortCounts): `funnel`, `stages`, `anchor`, `granularity`, `as_of`, `rows` (per cohort: cohort label, entered, reached per stage, steps and to_won rates with counts, rate and interval, window_elapsed), `all`, `diagnostics` |
/// | `revops_win_rate` | `outcome`: one row per deal, `won`, `lost`, `no_decision`, `stale` or `open` (text, any case) or a boolean (NULL = open), options | struct of [`WinRate`](revops::pipeline::WinRate): basis, counts, `ratio` (numerator, denominator), `rate`, `interval` |
/// | `revops_calibration` | `probability`, `won` (boolean; NULL = open), options | struct of [`CalibrationReport`](revops::forecast::CalibrationReport) |
pub fn functions() -> Vec<AggregateUDF> {
    vec![
        AggregateUDF::from(Udaf::<forecast::ForecastErrorsFn>::default()),
        AggregateUDF::from(Udaf::<forecast::CalibrationFn>::default()),
        AggregateUDF::from(Udaf::<attribution::MarkovFn>::default()),
        AggregateUDF::from(Udaf::<attribution::ShapleyFn>::default()),
        AggregateUDF::from(Udaf::<attribution::RulesFn>::default()),
        AggregateUDF::from(Udaf::<journeys::TouchesFn>::default()),
        AggregateUDF::from(Udaf::<funnel::CohortsFn>::default()),
        AggregateUDF::from(Udaf::<pipeline::WinRateFn>::default()),
    ]
}

/// Registers every function of this crate (a `SessionContext` is a registry).
///
/// # Errors
/// When the registry refuses a function.
pub fn register_all(registry: &mut dyn FunctionRegistry) -> Result<()> {
    for f in functions() {
        registry.register_udaf(std::sync::Arc::new(f))?;
    }
    Ok(())
}
