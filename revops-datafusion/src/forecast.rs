//! Forecast accuracy and win-probability calibration.

use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use datafusion_common::{Result, ScalarValue};
use revops::ForecastPoint;
use revops::forecast::{Calibration, CalibrationOptions, ErrorOptions, ErrorStats, Outcome};

use crate::convert::{Input, bools, field, floats, list, row_error, structure, to_scalar};
use crate::engine::{Engine, external};
use crate::grouped::Groups;
use crate::options;

/// `revops_forecast_errors(forecast, actual [, options])`: the error metrics of
/// [`ErrorStats`] over the (forecast, actual) rows of each group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) struct ForecastErrorsFn;

impl Engine for ForecastErrorsFn {
    type State = ErrorStats;
    type Scratch = ();
    const NAME: &'static str = "revops_forecast_errors";
    const INPUTS: &'static [Input] = &[Input::Float, Input::Float];
    const GROUPED: bool = true;
    const GROWS: bool = false;

    fn output() -> DataType {
        let f = |n: &str| field(n, DataType::Float64);
        let u = |n: &str| field(n, DataType::UInt64);
        structure(vec![
            u("n"),
            u("missing_actual"),
            f("mae"),
            f("mse"),
            f("rmse"),
            f("mape"),
            u("mape_n"),
            u("zero_actual"),
            f("wape"),
            f("smape"),
            f("smape_200"),
            f("bias"),
            f("cfe"),
            f("tracking_signal"),
            f("total_forecast"),
            f("total_actual"),
            f("accuracy"),
            field("band", DataType::Utf8),
        ])
    }

    fn new_state(literal: Option<&str>) -> revops::Result<(ErrorStats, ())> {
        let o: ErrorOptions = options::parse(Self::NAME, literal)?;
        Ok((ErrorStats::new(o), ()))
    }

    fn update_groups(
        states: &mut [ErrorStats],
        _: &mut (),
        columns: &[ArrayRef],
        groups: &Groups<'_>,
        row: u64,
    ) -> Result<()> {
        let (forecast, actual) = (
            floats(Self::NAME, columns, 0)?,
            floats(Self::NAME, columns, 1)?,
        );
        groups.for_each(states, |state, i| {
            let at = row + i as u64;
            if forecast.is_null(i) {
                return Err(row_error(Self::NAME, at, "forecast is NULL"));
            }
            let f = forecast.value(i);
            if actual.is_null(i) {
                // A forecast whose actual is not known yet: counted as missing.
                let point = ForecastPoint::new("", "", f, None);
                state.add(&point).map_err(|e| row_error(Self::NAME, at, e))
            } else {
                state
                    .add_pair(f, actual.value(i))
                    .map_err(|e| row_error(Self::NAME, at, e))
            }
        })
    }

    fn evaluate(state: &ErrorStats, _: &()) -> Result<ScalarValue> {
        let metrics = state.finish().map_err(external)?;
        to_scalar(&metrics, &Self::output())
    }
}

/// `revops_calibration(probability, won [, options])`: Brier score, log loss, ROC
/// AUC and the reliability bins of [`Calibration`]; a NULL `won` is an open
/// prediction (counted, not scored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) struct CalibrationFn;

impl Engine for CalibrationFn {
    type State = Calibration;
    type Scratch = ();
    const NAME: &'static str = "revops_calibration";
    const INPUTS: &'static [Input] = &[Input::Float, Input::Bool];
    const GROUPED: bool = true;

    fn output() -> DataType {
        let f = |n: &str| field(n, DataType::Float64);
        let u = |n: &str| field(n, DataType::UInt64);
        let ratio = || structure(vec![u("numerator"), u("denominator")]);
        let bin = structure(vec![
            u("index"),
            f("lower"),
            f("upper"),
            u("count"),
            f("mean_predicted"),
            field("observed", ratio()),
            f("observed_rate"),
            field("interval", structure(vec![f("lower"), f("upper")])),
            f("gap"),
        ]);
        structure(vec![
            field(
                "scores",
                structure(vec![
                    u("won"),
                    u("lost"),
                    u("open"),
                    field("base_rate", ratio()),
                    f("brier"),
                    f("log_loss"),
                    f("mean_probability"),
                ]),
            ),
            f("roc_auc"),
            field(
                "reliability",
                structure(vec![
                    field("strategy", DataType::Utf8),
                    u("bins_requested"),
                    field("edges", list(DataType::Float64)),
                    field("bins", list(bin)),
                    f("ece"),
                    f("mce"),
                ]),
            ),
        ])
    }

    fn new_state(literal: Option<&str>) -> revops::Result<(Calibration, ())> {
        let o: CalibrationOptions = options::parse(Self::NAME, literal)?;
        Ok((Calibration::new(o)?, ()))
    }

    fn update_groups(
        states: &mut [Calibration],
        _: &mut (),
        columns: &[ArrayRef],
        groups: &Groups<'_>,
        row: u64,
    ) -> Result<()> {
        let (p, won) = (
            floats(Self::NAME, columns, 0)?,
            bools(Self::NAME, columns, 1)?,
        );
        groups.for_each(states, |state, i| {
            let at = row + i as u64;
            if p.is_null(i) {
                return Err(row_error(Self::NAME, at, "probability is NULL"));
            }
            let outcome = if won.is_null(i) {
                Outcome::Open
            } else {
                Outcome::from(won.value(i))
            };
            state
                .add_pair(p.value(i), outcome)
                .map_err(|e| row_error(Self::NAME, at, e))
        })
    }

    fn evaluate(state: &Calibration, _: &()) -> Result<ScalarValue> {
        let report = state.finish().map_err(external)?;
        to_scalar(&report, &Self::output())
    }
}
