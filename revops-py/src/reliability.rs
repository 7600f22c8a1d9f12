//! `calibration(probabilities, outcomes)`: scores and reliability bins of win
//! probabilities against outcomes. Pure Rust: Arrow arrays in, a record batch out.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use revops::error::ErrorKind;
use revops::forecast::{Calibration, CalibrationOptions, CalibrationReport, Outcome, Prediction};
use revops::{Error, Result};

/// The schema-metadata key holding the report's scores as JSON.
pub(crate) const SCORES_KEY: &str = "revops.scores";

fn invalid(name: &'static str, value: String, reason: String) -> Error {
    Error::from(ErrorKind::InvalidParameter {
        name,
        value,
        reason,
    })
}

/// The outcome of row `i`: a boolean (true won, false lost), a text `won`, `lost`
/// or `open` (any case, trimmed), or an integer 1 or 0; null is open.
fn outcome(outcomes: &dyn Array, i: usize) -> Result<Outcome> {
    if outcomes.is_null(i) {
        return Ok(Outcome::Open);
    }
    let bad = |value: String| {
        invalid(
            "outcomes",
            value,
            format!("row {i}: an outcome is true/false, `won`/`lost`/`open`, 1/0 or null"),
        )
    };
    match outcomes.data_type() {
        DataType::Boolean => Ok(outcomes.as_boolean().value(i).into()),
        DataType::Utf8 => {
            let text = outcomes.as_string::<i32>().value(i);
            match text.trim().to_ascii_lowercase().as_str() {
                "won" => Ok(Outcome::Won),
                "lost" => Ok(Outcome::Lost),
                "open" => Ok(Outcome::Open),
                _ => Err(bad(text.to_string())),
            }
        }
        DataType::Int64 => match outcomes
            .as_primitive::<arrow_array::types::Int64Type>()
            .value(i)
        {
            1 => Ok(Outcome::Won),
            0 => Ok(Outcome::Lost),
            other => Err(bad(other.to_string())),
        },
        other => Err(invalid(
            "outcomes",
            other.to_string(),
            "outcomes must be booleans, text or integers".into(),
        )),
    }
}

/// The calibration report of `probabilities` (`Float64`) against `outcomes`
/// (`Boolean`, `Utf8` or `Int64`, as [`outcome`] reads them).
///
/// # Errors
/// Arrays of different lengths; a null probability or a bad outcome, naming the
/// row; a probability outside `[0, 1]` (the core's message, naming the
/// prediction's position); bad options.
pub(crate) fn calibration(
    probabilities: &Float64Array,
    outcomes: &dyn Array,
    options: CalibrationOptions,
) -> Result<CalibrationReport> {
    if probabilities.len() != outcomes.len() {
        return Err(invalid(
            "outcomes",
            format!("{} outcomes", outcomes.len()),
            format!(
                "needs one outcome per probability ({} probabilities)",
                probabilities.len()
            ),
        ));
    }
    let mut predictions = Vec::with_capacity(probabilities.len());
    for i in 0..probabilities.len() {
        if probabilities.is_null(i) {
            return Err(invalid(
                "probabilities",
                "null".into(),
                format!("row {i}: a probability is required"),
            ));
        }
        predictions.push(Prediction::new(
            probabilities.value(i),
            outcome(outcomes, i)?,
        ));
    }
    Calibration::from_predictions(&predictions, options)?.finish()
}

/// The reliability bins' columns: the bin and its edges, the count and mean
/// prediction, the observed rate as `numerator` / `denominator` / `value` with its
/// Wilson interval `lower` / `upper`, and the gap.
pub(crate) fn bins_schema(metadata: HashMap<String, String>) -> SchemaRef {
    let u = |n: &str| Field::new(n, DataType::UInt64, false);
    let f = |n: &str| Field::new(n, DataType::Float64, false);
    Arc::new(Schema::new_with_metadata(
        vec![
            u("bin"),
            f("bin_lower"),
            f("bin_upper"),
            u("count"),
            f("mean_predicted"),
            u("numerator"),
            u("denominator"),
            Field::new("value", DataType::Float64, true),
            f("lower"),
            f("upper"),
            f("gap"),
        ],
        metadata,
    ))
}

/// The report as one record batch: a row per non-empty bin, the scores (counts,
/// base rate, Brier, log loss, ROC AUC, ECE, MCE) as JSON in the schema metadata
/// under [`SCORES_KEY`].
///
/// # Errors
/// When the scores do not serialise or Arrow refuses the columns (neither happens
/// for these types).
pub(crate) fn to_batch(report: &CalibrationReport) -> Result<RecordBatch> {
    let scores = serde_json::json!({
        "won": report.scores.won,
        "lost": report.scores.lost,
        "open": report.scores.open,
        "base_rate": {
            "numerator": report.scores.base_rate.numerator,
            "denominator": report.scores.base_rate.denominator,
            "value": report.scores.base_rate.value(),
        },
        "brier": report.scores.brier,
        "log_loss": report.scores.log_loss,
        "mean_probability": report.scores.mean_probability,
        "roc_auc": report.roc_auc,
        "ece": report.reliability.ece,
        "mce": report.reliability.mce,
        "bins_requested": report.reliability.bins_requested,
        "strategy": report.reliability.strategy,
    });
    let metadata = HashMap::from([(SCORES_KEY.to_string(), scores.to_string())]);
    let bins = &report.reliability.bins;
    let u = |f: &dyn Fn(&revops::forecast::ReliabilityBin) -> u64| -> ArrayRef {
        Arc::new(UInt64Array::from_iter_values(bins.iter().map(f)))
    };
    let x = |f: &dyn Fn(&revops::forecast::ReliabilityBin) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(bins.iter().map(f)))
    };
    let columns = vec![
        u(&|b| b.index as u64),
        x(&|b| b.lower),
        x(&|b| b.upper),
        u(&|b| b.count),
        x(&|b| b.mean_predicted),
        u(&|b| b.observed.numerator),
        u(&|b| b.observed.denominator),
        Arc::new(Float64Array::from_iter(
            bins.iter().map(|b| b.observed.value()),
        )) as ArrayRef,
        x(&|b| b.interval.lower),
        x(&|b| b.interval.upper),
        x(&|b| b.gap),
    ];
    RecordBatch::try_new(bins_schema(metadata), columns)
        .map_err(|e| invalid("result", String::new(), e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{BooleanArray, Int64Array, StringArray};

    #[test]
    fn equals_the_core_engine_with_any_outcome_type() {
        let p = Float64Array::from(vec![0.1, 0.8, 0.6, 0.3, 0.9, 0.7]);
        let o = CalibrationOptions::default().with_bins(4);
        let bools = BooleanArray::from(vec![
            Some(false),
            Some(true),
            Some(true),
            Some(false),
            Some(true),
            None,
        ]);
        let got = calibration(&p, &bools, o).unwrap();
        let mut want = Calibration::new(o).unwrap();
        for (p, w) in [
            (0.1, false),
            (0.8, true),
            (0.6, true),
            (0.3, false),
            (0.9, true),
        ] {
            want.add_pair(p, w).unwrap();
        }
        want.add(&Prediction::new(0.7, Outcome::Open)).unwrap();
        assert_eq!(got, want.finish().unwrap());
        let text = StringArray::from(vec!["lost", "Won", " won", "LOST", "won", "open"]);
        assert_eq!(calibration(&p, &text, o).unwrap(), got);
        let ints = Int64Array::from(vec![Some(0), Some(1), Some(1), Some(0), Some(1), None]);
        assert_eq!(calibration(&p, &ints, o).unwrap(), got);
        let batch = to_batch(&got).unwrap();
        assert_eq!(batch.num_rows(), got.reliability.bins.len());
        let scores: serde_json::Value =
            serde_json::from_str(&batch.schema().metadata()[SCORES_KEY]).unwrap();
        assert_eq!(scores["roc_auc"], serde_json::json!(got.roc_auc));
        assert_eq!(scores["open"], 1);
    }

    #[test]
    fn bad_rows_are_named() {
        let p = Float64Array::from(vec![Some(0.1), None]);
        let o = BooleanArray::from(vec![true, false]);
        let e = calibration(&p, &o, CalibrationOptions::default()).unwrap_err();
        assert!(e.to_string().contains("row 1"), "{e}");
        let p = Float64Array::from(vec![0.1, 0.2]);
        let e = calibration(
            &p,
            &Int64Array::from(vec![1, 2]),
            CalibrationOptions::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("row 1"), "{e}");
        let p = Float64Array::from(vec![0.1, 1.5]);
        let e = calibration(&p, &o, CalibrationOptions::default()).unwrap_err();
        assert!(e.to_string().contains("#1"), "{e}");
        let e = calibration(
            &p,
            &BooleanArray::from(vec![true]),
            CalibrationOptions::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("one outcome per probability"), "{e}");
    }
}
