//! `forecast_errors(forecasts)`: the error metrics of each series of a forecasts
//! table and of all of them pooled. Pure Rust: record batches in, one out.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use revops::arrow::Decoder;
use revops::csv::Options;
use revops::forecast::{AccuracyBand, ErrorMetrics, ErrorOptions, ForecastErrors};
use revops::{ForecastPoint, Result};

/// The source name errors give for the rows of the `forecasts` argument.
pub(crate) const FORECASTS_SOURCE: &str = "forecasts";

/// The metrics' columns after `series`: name, and whether a count (`UInt64`) or a
/// real number (`Float64`, null when its denominator is zero).
const METRICS: [(&str, bool); 17] = [
    ("n", true),
    ("missing_actual", true),
    ("mae", false),
    ("mse", false),
    ("rmse", false),
    ("mape", false),
    ("mape_n", true),
    ("zero_actual", true),
    ("wape", false),
    ("smape", false),
    ("smape_200", false),
    ("bias", false),
    ("cfe", false),
    ("tracking_signal", false),
    ("total_forecast", false),
    ("total_actual", false),
    ("accuracy", false),
];

/// One metric of `m` by its column name: a count or a real number.
fn metric(m: &ErrorMetrics, name: &str) -> (Option<u64>, Option<f64>) {
    match name {
        "n" => (Some(m.n), None),
        "missing_actual" => (Some(m.missing_actual), None),
        "mape_n" => (Some(m.mape_n), None),
        "zero_actual" => (Some(m.zero_actual), None),
        "mae" => (None, m.mae),
        "mse" => (None, m.mse),
        "rmse" => (None, m.rmse),
        "mape" => (None, m.mape),
        "wape" => (None, m.wape),
        "smape" => (None, m.smape),
        "smape_200" => (None, m.smape_200),
        "bias" => (None, m.bias),
        "cfe" => (None, Some(m.cfe)),
        "tracking_signal" => (None, m.tracking_signal),
        "total_forecast" => (None, Some(m.total_forecast)),
        "total_actual" => (None, Some(m.total_actual)),
        "accuracy" => (None, m.accuracy),
        _ => (None, None),
    }
}

/// The result's columns: `series` (null on the pooled row), the metrics, `band`.
pub(crate) fn errors_schema() -> SchemaRef {
    let mut fields = vec![Field::new("series", DataType::Utf8, true)];
    for (name, count) in METRICS {
        fields.push(if count {
            Field::new(name, DataType::UInt64, false)
        } else {
            Field::new(name, DataType::Float64, true)
        });
    }
    fields.push(Field::new("band", DataType::Utf8, true));
    Arc::new(Schema::new(fields))
}

/// The metrics of each series (by name) and, last, of all points pooled.
///
/// # Errors
/// A bad row (named by the core's decoder: source `forecasts`, row, column), and
/// what [`ForecastErrors::finish`] returns (a zero actual under
/// `ZeroActualPolicy::Error`, naming the point).
pub(crate) fn forecast_errors(
    batches: &[RecordBatch],
    options: ErrorOptions,
) -> Result<Vec<(Option<String>, ErrorMetrics)>> {
    let mut decoder =
        Decoder::<ForecastPoint>::new(Options::new().with_source_name(FORECASTS_SOURCE))?;
    let mut errors = ForecastErrors::new(options);
    for batch in batches {
        decoder.decode_with(batch, |p| errors.add(&p))?;
    }
    let report = errors.finish()?;
    let mut out: Vec<(Option<String>, ErrorMetrics)> = report
        .series
        .into_iter()
        .map(|(name, m)| (Some(name), m))
        .collect();
    out.push((None, report.pooled));
    Ok(out)
}

/// The rows as one record batch of [`errors_schema`].
///
/// # Errors
/// When Arrow refuses the columns (it does not for these types).
pub(crate) fn to_batch(rows: &[(Option<String>, ErrorMetrics)]) -> Result<RecordBatch> {
    let mut columns: Vec<ArrayRef> = vec![Arc::new(StringArray::from_iter(
        rows.iter().map(|(s, _)| s.as_deref()),
    ))];
    for (name, count) in METRICS {
        columns.push(if count {
            Arc::new(UInt64Array::from_iter_values(
                rows.iter().map(|(_, m)| metric(m, name).0.unwrap_or(0)),
            ))
        } else {
            Arc::new(Float64Array::from_iter(
                rows.iter().map(|(_, m)| metric(m, name).1),
            ))
        });
    }
    columns.push(Arc::new(StringArray::from_iter(rows.iter().map(
        |(_, m)| {
            m.band.map(|b| match b {
                AccuracyBand::Under => "under",
                AccuracyBand::Good => "good",
                AccuracyBand::Over => "over",
            })
        },
    ))));
    RecordBatch::try_new(errors_schema(), columns).map_err(crate::paths::arrow_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;
    use revops::error::ErrorKind;

    fn batch() -> RecordBatch {
        RecordBatch::try_from_iter([
            (
                "series",
                Arc::new(StringArray::from(vec!["b", "a", "a", "b"])) as ArrayRef,
            ),
            (
                "period",
                Arc::new(StringArray::from(vec!["t1", "t1", "t2", "t2"])) as ArrayRef,
            ),
            (
                "forecast",
                Arc::new(Float64Array::from(vec![12.0, 110.0, 180.0, 8.0])) as ArrayRef,
            ),
            (
                "actual",
                Arc::new(Float64Array::from(vec![
                    Some(10.0),
                    Some(100.0),
                    None,
                    Some(10.0),
                ])) as ArrayRef,
            ),
        ])
        .unwrap()
    }

    #[test]
    fn every_series_then_pooled_equal_the_core_engine() {
        let rows = forecast_errors(&[batch()], ErrorOptions::default()).unwrap();
        let points = [
            ForecastPoint::new("b", "t1", 12.0, Some(10.0)),
            ForecastPoint::new("a", "t1", 110.0, Some(100.0)),
            ForecastPoint::new("a", "t2", 180.0, None),
            ForecastPoint::new("b", "t2", 8.0, Some(10.0)),
        ];
        let want = ForecastErrors::from_points(&points, ErrorOptions::default())
            .unwrap()
            .finish()
            .unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0], (Some("a".into()), want.series["a"].clone()));
        assert_eq!(rows[1], (Some("b".into()), want.series["b"].clone()));
        assert_eq!(rows[2], (None, want.pooled.clone()));
        let out = to_batch(&rows).unwrap();
        assert_eq!(out.schema(), errors_schema());
        // Every metric column is filled from the field of its name.
        let json = serde_json::to_value(&want.pooled).unwrap();
        for (i, (name, count)) in METRICS.iter().enumerate() {
            let col = out.column(i + 1);
            let got = if *count {
                serde_json::json!(col.as_any().downcast_ref::<UInt64Array>().unwrap().value(2))
            } else {
                let c = col.as_any().downcast_ref::<Float64Array>().unwrap();
                if c.is_null(2) {
                    serde_json::Value::Null
                } else {
                    serde_json::json!(c.value(2))
                }
            };
            assert_eq!(got, json[name], "{name}");
        }
        assert!(out.column(0).is_null(2));
    }

    #[test]
    fn a_bad_row_is_named() {
        let mut b = batch();
        let forecast = Arc::new(Float64Array::from(vec![12.0, f64::NAN, 1.0, 1.0])) as ArrayRef;
        b = RecordBatch::try_new(b.schema(), {
            let mut c = b.columns().to_vec();
            c[2] = forecast;
            c
        })
        .unwrap();
        let e = forecast_errors(&[batch(), b], ErrorOptions::default()).unwrap_err();
        let ErrorKind::Arrow {
            row,
            column,
            source_name,
            ..
        } = e.kind()
        else {
            panic!("{e}");
        };
        assert_eq!((source_name.as_str(), *row), ("forecasts", 5));
        assert_eq!(column.as_deref(), Some("forecast"));
    }
}
