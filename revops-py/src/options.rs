//! Policies from keyword arguments: each is the serde form of the Rust option of the
//! same name (a string for a plain enum variant, a number of steps, a dict for a
//! variant with fields), read by the core types' own `Deserialize`.

use pyo3::prelude::*;
use pyo3::types::PyAny;
use revops::attribution::{
    JourneyOptions, MarkovNulls, MarkovOptions, MarkovRepeats, MarkovStepLimit, RepeatConversions,
    ShapleyMethod, ShapleyOptions, ShapleyUniverse, TrailingTouches,
};
use revops::error::ErrorKind;
use revops::forecast::{
    AccuracyBands, BinStrategy, CalibrationOptions, ErrorOptions, ZeroActualPolicy,
};
use serde::de::DeserializeOwned;

use crate::errors::to_py;

/// A policy from its serde form (`value`, JSON text).
pub(crate) fn policy<T: DeserializeOwned>(name: &'static str, json: &str) -> PyResult<T> {
    serde_json::from_str(json).map_err(|e| {
        to_py(revops::Error::from(ErrorKind::InvalidParameter {
            name,
            value: json.to_string(),
            reason: e.to_string(),
        }))
    })
}

/// A policy given as a Python string.
pub(crate) fn named<T: DeserializeOwned>(name: &'static str, value: &str) -> PyResult<T> {
    policy(
        name,
        &serde_json::Value::String(value.to_string()).to_string(),
    )
}

/// A policy given as any Python value (`None`: `T`'s default): its JSON form.
pub(crate) fn any<T: DeserializeOwned + Default>(
    name: &'static str,
    value: Option<&Bound<'_, PyAny>>,
) -> PyResult<T> {
    let Some(value) = value else {
        return Ok(T::default());
    };
    let json: String = value
        .py()
        .import("json")?
        .call_method1("dumps", (value,))?
        .extract()?;
    policy(name, &json)
}

/// [`MarkovOptions`] from the keyword arguments (the order comes from the model's
/// name, `markov:<k>`). `step_limit` is `"unlimited"`, `"longest_path"` or a number
/// of steps.
pub(crate) fn markov(
    repeats: &str,
    nulls: &str,
    step_limit: Option<&Bound<'_, PyAny>>,
    max_states: usize,
) -> PyResult<MarkovOptions> {
    let step_limit: MarkovStepLimit = match step_limit {
        Some(v) if v.extract::<u32>().is_ok() => MarkovStepLimit::Steps(v.extract()?),
        other => any("step_limit", other)?,
    };
    Ok(MarkovOptions::default()
        .with_repeats(named::<MarkovRepeats>("repeats", repeats)?)
        .with_nulls(named::<MarkovNulls>("nulls", nulls)?)
        .with_step_limit(step_limit)
        .with_max_states(max_states))
}

/// [`ShapleyOptions`] from the keyword arguments.
pub(crate) fn shapley(
    universe: &str,
    method: Option<&Bound<'_, PyAny>>,
    max_channels: usize,
    max_ordered_cells: u64,
) -> PyResult<ShapleyOptions> {
    Ok(ShapleyOptions::default()
        .with_universe(named::<ShapleyUniverse>("universe", universe)?)
        .with_method(any::<ShapleyMethod>("method", method)?)
        .with_max_channels(max_channels)
        .with_max_ordered_cells(max_ordered_cells))
}

/// [`JourneyOptions`] from the keyword arguments (`lookback` in days; the currency
/// is declared apart).
pub(crate) fn journeys(
    repeat: &str,
    trailing: &str,
    lookback: Option<i64>,
) -> PyResult<JourneyOptions> {
    let mut options = JourneyOptions::default()
        .with_repeat(named::<RepeatConversions>("repeat", repeat)?)
        .with_trailing(named::<TrailingTouches>("trailing", trailing)?);
    if let Some(days) = lookback {
        let delta = revops::chrono::TimeDelta::try_days(days).ok_or_else(|| {
            to_py(revops::Error::from(ErrorKind::InvalidParameter {
                name: "lookback",
                value: days.to_string(),
                reason: "beyond the range of a duration".into(),
            }))
        })?;
        options = options.with_lookback(delta);
    }
    Ok(options)
}

/// [`ErrorOptions`] from the keyword arguments (`bands`: `{"under": u, "over": o}`,
/// `None` for the default).
pub(crate) fn errors(
    zero_actual: &str,
    bands: Option<&Bound<'_, PyAny>>,
) -> PyResult<ErrorOptions> {
    Ok(ErrorOptions::default()
        .with_zero_actual(named::<ZeroActualPolicy>("zero_actual", zero_actual)?)
        .with_bands(any::<AccuracyBands>("bands", bands)?))
}

/// [`CalibrationOptions`] from the keyword arguments.
pub(crate) fn calibration(
    strategy: &str,
    bins: usize,
    confidence: f64,
) -> PyResult<CalibrationOptions> {
    let confidence = revops::Confidence::new(confidence).map_err(to_py)?;
    Ok(CalibrationOptions::default()
        .with_strategy(named::<BinStrategy>("strategy", strategy)?)
        .with_bins(bins)
        .with_confidence(confidence))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults written in `attribution`'s signature are the Rust options'.
    #[test]
    fn signature_defaults_are_the_rust_defaults() {
        let m = MarkovOptions::default();
        assert_eq!(serde_json::to_value(m.repeats).unwrap(), "collapse");
        assert_eq!(serde_json::to_value(m.nulls).unwrap(), "include");
        assert_eq!(serde_json::to_value(m.step_limit).unwrap(), "unlimited");
        assert_eq!(m.max_states, 5_000);
        let s = ShapleyOptions::default();
        assert_eq!(serde_json::to_value(s.universe).unwrap(), "per_journey_set");
        assert_eq!(serde_json::to_value(s.method).unwrap(), "exact");
        assert_eq!(s.max_channels, 2_000);
        assert_eq!(s.max_ordered_cells, 10_000_000);
        let e = ErrorOptions::default();
        assert_eq!(serde_json::to_value(e.zero_actual).unwrap(), "skip");
        assert_eq!((e.bands.under(), e.bands.over()), (0.85, 1.15));
        let c = CalibrationOptions::default();
        assert_eq!(serde_json::to_value(c.strategy).unwrap(), "uniform");
        assert_eq!(c.bins, 10);
        assert_eq!(serde_json::to_value(c.confidence).unwrap(), 0.95);
    }
}
