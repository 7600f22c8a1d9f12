//! Win rate over deals' outcomes.

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use chrono::DateTime;
use datafusion_common::{Result, ScalarValue};
use revops::pipeline::{WinRate, WinRateBasis, WinRateCount, WinRateSpec};
use revops::{Confidence, IntervalMethod};
use serde::{Deserialize, Serialize};

use crate::convert::{Input, field, row_error, structure, to_scalar};
use crate::engine::{Engine, external, plan};
use crate::grouped::Groups;
use crate::options;

/// Options of `revops_win_rate`: the basis and the interval, as in [`WinRateSpec`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct WinRateFnOptions {
    basis: WinRateBasis,
    method: IntervalMethod,
    confidence: Confidence,
}

impl Default for WinRateFnOptions {
    fn default() -> Self {
        let spec = WinRateSpec::new(DateTime::UNIX_EPOCH);
        WinRateFnOptions {
            basis: spec.basis,
            method: spec.method,
            confidence: spec.confidence,
        }
    }
}

/// One deal's outcome from text (`won`, `lost`, `no_decision`, `stale`, `open`, any
/// case) or a boolean (true won, false lost; NULL open).
fn outcome(column: &ArrayRef, i: usize) -> std::result::Result<WinRateCount, String> {
    if column.is_null(i) {
        return Ok(WinRateCount::Open);
    }
    let text = match column.data_type() {
        DataType::Boolean => {
            return Ok(if column.as_boolean().value(i) {
                WinRateCount::Won
            } else {
                WinRateCount::Lost
            });
        }
        DataType::Utf8 => column.as_string::<i32>().value(i),
        other => return Err(format!("outcome of type {other}")),
    };
    match text.trim().to_ascii_lowercase().as_str() {
        "won" => Ok(WinRateCount::Won),
        "lost" => Ok(WinRateCount::Lost),
        "no_decision" => Ok(WinRateCount::NoDecision),
        "stale" => Ok(WinRateCount::Stale),
        "open" => Ok(WinRateCount::Open),
        _ => Err(format!(
            "outcome `{text}` is not one of won, lost, no_decision, stale, open"
        )),
    }
}

/// `revops_win_rate(outcome [, options])`: the [`WinRate`] of the deals, one row per
/// deal, under the options' basis, with its counts and interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) struct WinRateFn;

impl Engine for WinRateFn {
    type State = WinRate;
    type Scratch = ();
    const NAME: &'static str = "revops_win_rate";
    const INPUTS: &'static [Input] = &[Input::Outcome];
    const GROUPED: bool = true;
    const GROWS: bool = false;

    fn output() -> DataType {
        let u = |n: &str| field(n, DataType::UInt64);
        let f = |n: &str| field(n, DataType::Float64);
        structure(vec![
            field("basis", DataType::Utf8),
            u("won"),
            u("lost"),
            u("no_decision"),
            u("stale"),
            u("open"),
            field("ratio", structure(vec![u("numerator"), u("denominator")])),
            f("rate"),
            field("interval", structure(vec![f("lower"), f("upper")])),
        ])
    }

    fn new_state(literal: Option<&str>) -> revops::Result<(WinRate, ())> {
        let o: WinRateFnOptions = options::parse(Self::NAME, literal)?;
        let spec = WinRateSpec::new(DateTime::UNIX_EPOCH)
            .with_basis(o.basis)
            .with_interval(o.method, o.confidence);
        Ok((WinRate::new(&spec), ()))
    }

    fn update_groups(
        states: &mut [WinRate],
        _: &mut (),
        columns: &[ArrayRef],
        groups: &Groups<'_>,
        row: u64,
    ) -> Result<()> {
        let column = columns
            .first()
            .ok_or_else(|| plan(Self::NAME, "no outcome column"))?;
        groups.for_each(states, |state, i| {
            let deal = outcome(column, i).map_err(|e| row_error(Self::NAME, row + i as u64, e))?;
            state.add(&deal).map_err(external)
        })
    }

    fn evaluate(state: &WinRate, _: &()) -> Result<ScalarValue> {
        let rate = state.finish().map_err(external)?;
        let mut json = serde_json::to_value(&rate)
            .map_err(|e| datafusion_common::DataFusionError::External(Box::new(e)))?;
        json["rate"] = serde_json::json!(rate.ratio.value());
        to_scalar(&json, &Self::output())
    }
}
