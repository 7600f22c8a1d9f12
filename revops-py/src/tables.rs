//! What the table functions share: canonical tables decoded by the core's Arrow
//! decoder, instants, durations and funnels from Python values, and the result
//! columns (rates as numerator / denominator / value / lower / upper, money as
//! `Decimal128` beside its currency).

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::types::UInt64Type;
use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, ListArray, RecordBatch,
    StringArray, UInt64Array,
};
use arrow_schema::{Field, Schema};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyAny;
use revops::arrow::{ArrowRecord, MONEY_SCALE, read_batches};
use revops::chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use revops::csv::Options;
use revops::error::ErrorKind;
use revops::funnel::{BackwardPolicy, PathOptions, SkipPolicy, TieBreak};
use revops::{Decimal, Error, Funnel, Interval, Ratio, Result};

use crate::errors::to_py;
use crate::options::named;
use crate::paths::{arrow_error, unscaled};

/// The records of one canonical table given as the argument `name`, read by the
/// core's Arrow decoder: a bad row is an error naming `name`, the row (across all
/// batches) and the column.
///
/// # Errors
/// The decoder's, for a missing column or a bad row.
pub(crate) fn records<T: ArrowRecord>(batches: &[RecordBatch], name: &str) -> Result<Vec<T>> {
    Ok(read_batches::<T>(batches, Options::new().with_source_name(name))?.0)
}

/// An invalid keyword argument as the core's error.
pub(crate) fn invalid(
    name: &'static str,
    value: impl ToString,
    reason: impl Into<String>,
) -> Error {
    Error::from(ErrorKind::InvalidParameter {
        name,
        value: value.to_string(),
        reason: reason.into(),
    })
}

/// An instant from a Python value: `None`, a `datetime` (naive: UTC), a `date`
/// (midnight UTC) or a string in RFC 3339 (or `YYYY-MM-DD`, as the CSV readers
/// take it).
pub(crate) fn instant(
    name: &'static str,
    value: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<DateTime<Utc>>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    let text: String = if let Ok(s) = value.extract::<String>() {
        s
    } else if value.hasattr("isoformat")? {
        value.call_method0("isoformat")?.extract()?
    } else {
        return Err(PyTypeError::new_err(format!(
            "`{name}` must be a datetime, a date or an RFC 3339 string"
        )));
    };
    parse_instant(name, &text).map(Some).map_err(to_py)
}

/// [`instant`]'s text forms.
fn parse_instant(name: &'static str, text: &str) -> Result<DateTime<Utc>> {
    let t = text.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f") {
        return Ok(d.and_utc());
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    Err(invalid(
        name,
        text,
        "not an instant: give a datetime (naive: UTC), a date or an RFC 3339 string",
    ))
}

/// A duration from a Python value: `None`, a `timedelta`, or a number of days;
/// kept to the millisecond.
pub(crate) fn duration(
    name: &'static str,
    value: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<TimeDelta>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    let seconds: f64 = if value.hasattr("total_seconds")? {
        value.call_method0("total_seconds")?.extract()?
    } else {
        let days: f64 = value.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "`{name}` must be a datetime.timedelta or a number of days"
            ))
        })?;
        days * 86_400.0
    };
    let ms = (seconds * 1000.0).round();
    if !(ms.is_finite() && ms.abs() < 9.0e15) {
        return Err(to_py(invalid(name, seconds, "a duration must be finite")));
    }
    Ok(Some(TimeDelta::milliseconds(ms as i64)))
}

/// The funnel: `None` for `default`, a ready-made one by name (`"demand_waterfall"`,
/// `"salesforce_opportunity"`), or a definition (the core's JSON form, as a dict or
/// a JSON string).
pub(crate) fn funnel(
    value: Option<&Bound<'_, PyAny>>,
    default: fn() -> Funnel,
) -> PyResult<Funnel> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(default());
    };
    let json: String = match value.extract::<String>() {
        Ok(name) => match name.trim() {
            "demand_waterfall" => return Ok(Funnel::demand_waterfall()),
            "salesforce_opportunity" => return Ok(Funnel::salesforce_opportunity()),
            t if t.starts_with('{') => name,
            _ => {
                return Err(to_py(invalid(
                    "funnel",
                    name,
                    "not a ready-made funnel (demand_waterfall, salesforce_opportunity) nor a JSON definition",
                )));
            }
        },
        Err(_) => value
            .py()
            .import("json")?
            .call_method1("dumps", (value,))?
            .extract()?,
    };
    Funnel::from_json(&json).map_err(to_py)
}

/// [`PathOptions`] from the keyword arguments of the same names.
pub(crate) fn path_options(
    skip: &str,
    tie_break: &str,
    backward: &str,
    as_of: Option<DateTime<Utc>>,
) -> PyResult<PathOptions> {
    let mut o = PathOptions::default()
        .with_skip(named::<SkipPolicy>("skip", skip)?)
        .with_tie_break(named::<TieBreak>("tie_break", tie_break)?)
        .with_backward(named::<BackwardPolicy>("backward", backward)?);
    o.as_of = as_of;
    Ok(o)
}

/// The columns of a result table, added one by one.
#[derive(Default)]
pub(crate) struct Columns {
    fields: Vec<Field>,
    arrays: Vec<ArrayRef>,
}

/// Days since 1970-01-01 (Arrow's `Date32`).
fn date32(d: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    i32::try_from((d - epoch).num_days()).unwrap_or(i32::MAX)
}

impl Columns {
    fn push(&mut self, name: &str, array: ArrayRef) {
        self.fields
            .push(Field::new(name, array.data_type().clone(), true));
        self.arrays.push(array);
    }

    /// A text column.
    pub(crate) fn text<'a>(&mut self, name: &str, v: impl IntoIterator<Item = Option<&'a str>>) {
        self.push(name, Arc::new(StringArray::from_iter(v)));
    }

    /// A count column (`uint64`).
    pub(crate) fn count(&mut self, name: &str, v: impl IntoIterator<Item = Option<u64>>) {
        self.push(name, Arc::new(UInt64Array::from_iter(v)));
    }

    /// A real-number column (`float64`).
    pub(crate) fn real(&mut self, name: &str, v: impl IntoIterator<Item = Option<f64>>) {
        self.push(name, Arc::new(Float64Array::from_iter(v)));
    }

    /// A boolean column.
    pub(crate) fn flag(&mut self, name: &str, v: impl IntoIterator<Item = Option<bool>>) {
        self.push(name, Arc::new(BooleanArray::from_iter(v)));
    }

    /// A date column (`date32`).
    pub(crate) fn date(&mut self, name: &str, v: impl IntoIterator<Item = Option<NaiveDate>>) {
        let days: Date32Array = v.into_iter().map(|d| d.map(date32)).collect();
        self.push(name, Arc::new(days));
    }

    /// A list-of-counts column (`list<uint64>`).
    pub(crate) fn counts(&mut self, name: &str, v: impl IntoIterator<Item = Option<Vec<u64>>>) {
        let list = ListArray::from_iter_primitive::<UInt64Type, _, _>(
            v.into_iter()
                .map(|l| l.map(|l| l.into_iter().map(Some).collect::<Vec<_>>())),
        );
        self.push(name, Arc::new(list));
    }

    /// An exact decimal column: `Decimal128(38, s)`, `s` the core's money scale or
    /// the finest scale of the values (so none is rounded again).
    ///
    /// # Errors
    /// A value beyond 38 digits at that scale.
    pub(crate) fn decimal(&mut self, name: &str, v: Vec<Option<Decimal>>) -> Result<()> {
        let finest = v.iter().flatten().map(Decimal::scale).max().unwrap_or(0);
        let scale = MONEY_SCALE.max(i8::try_from(finest).unwrap_or(i8::MAX));
        let unscaled: Vec<Option<i128>> = v
            .into_iter()
            .map(|d| d.map(|d| unscaled(d, scale)).transpose())
            .collect::<Result<_>>()?;
        let array = Decimal128Array::from(unscaled)
            .with_precision_and_scale(38, scale)
            .map_err(arrow_error)?;
        self.push(name, Arc::new(array));
        Ok(())
    }

    /// A rate as five columns: `numerator`, `denominator` (counts), `value` (null
    /// for a zero denominator), `lower`, `upper` (the interval, null without one);
    /// `prefix` goes before each name (`""` for the plain names).
    pub(crate) fn rate(&mut self, prefix: &str, v: &[(Ratio, Option<Interval>)]) {
        self.count(
            &format!("{prefix}numerator"),
            v.iter().map(|(r, _)| Some(r.numerator)),
        );
        self.count(
            &format!("{prefix}denominator"),
            v.iter().map(|(r, _)| Some(r.denominator)),
        );
        self.real(&format!("{prefix}value"), v.iter().map(|(r, _)| r.value()));
        self.real(
            &format!("{prefix}lower"),
            v.iter().map(|(_, i)| i.map(|i| i.lower)),
        );
        self.real(
            &format!("{prefix}upper"),
            v.iter().map(|(_, i)| i.map(|i| i.upper)),
        );
    }

    /// The record batch, with `metadata` (JSON values under their keys) in its
    /// schema.
    ///
    /// # Errors
    /// When Arrow refuses the columns (they have one length here).
    pub(crate) fn finish(self, metadata: &[(&str, serde_json::Value)]) -> Result<RecordBatch> {
        let metadata: HashMap<String, String> = metadata
            .iter()
            .map(|(k, v)| (format!("revops.{k}"), v.to_string()))
            .collect();
        let schema = Schema::new_with_metadata(self.fields, metadata);
        RecordBatch::try_new(Arc::new(schema), self.arrays).map_err(arrow_error)
    }
}

/// The data type of a `list<uint64>` column (for schemas built by hand in tests).
#[cfg(test)]
pub(crate) fn counts_type() -> arrow_schema::DataType {
    use arrow_schema::DataType;
    DataType::List(Arc::new(Field::new_list_field(DataType::UInt64, true)))
}

/// The synthetic company of the tests (2,000 leads, seed 7).
#[cfg(test)]
pub(crate) fn company() -> revops::synth::Company {
    revops::synth::generate(
        &revops::synth::SynthConfig::new()
            .with_leads(2_000)
            .with_seed(7),
    )
    .unwrap()
}

/// Records as the record batches of their canonical table: two batches, so that
/// rows are counted across batches.
#[cfg(test)]
pub(crate) fn batches_of<T: ArrowRecord>(records: &[T]) -> Vec<RecordBatch> {
    let all = revops::arrow::to_record_batch(records, &Options::new()).unwrap();
    let half = all.num_rows() / 2;
    vec![all.slice(0, half), all.slice(half, all.num_rows() - half)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_take_the_readers_forms() {
        let want = DateTime::parse_from_rfc3339("2026-03-04T05:06:07Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_instant("as_of", "2026-03-04T05:06:07+00:00").unwrap(),
            want
        );
        assert_eq!(parse_instant("as_of", "2026-03-04T05:06:07").unwrap(), want);
        assert_eq!(
            parse_instant("as_of", "2026-03-04").unwrap().to_rfc3339(),
            "2026-03-04T00:00:00+00:00"
        );
        let e = parse_instant("as_of", "tomorrow").unwrap_err();
        assert!(e.to_string().contains("`as_of`"), "{e}");
    }

    #[test]
    fn columns_keep_exact_decimals_and_rates() {
        let mut c = Columns::default();
        c.decimal("spend", vec![Some(Decimal::new(12_345, 2)), None])
            .unwrap();
        c.rate("", &[(Ratio::new(1, 2), None), (Ratio::new(0, 0), None)]);
        c.counts("bins", [Some(vec![1, 2]), None]);
        let b = c.finish(&[("x", serde_json::json!(1))]).unwrap();
        assert_eq!(
            b.schema().field(0).data_type(),
            &arrow_schema::DataType::Decimal128(38, 9)
        );
        assert_eq!(b.schema().field(6).data_type(), &counts_type());
        let d = b
            .column(0)
            .as_any()
            .downcast_ref::<Decimal128Array>()
            .unwrap();
        assert_eq!(d.value(0), 123_450_000_000);
        let v = b.column(3).as_any().downcast_ref::<Float64Array>().unwrap();
        assert_eq!((v.value(0), arrow_array::Array::is_null(v, 1)), (0.5, true));
        assert_eq!(b.schema().metadata()["revops.x"], "1");
    }

    /// The defaults written in the new functions' signatures are the Rust options'.
    #[test]
    fn signature_defaults_are_the_rust_defaults() {
        use revops::funnel::{CohortSpec, VelocitySpec};
        use revops::pipeline::{NoDecision, WinRateBasis};
        use revops::report::ReportOptions;
        let json = |v: serde_json::Value| v.as_str().map(String::from);
        let p = PathOptions::default();
        assert_eq!(json(serde_json::json!(p.skip)).as_deref(), Some("backfill"));
        assert_eq!(
            json(serde_json::json!(p.tie_break)).as_deref(),
            Some("stage_order")
        );
        assert_eq!(
            json(serde_json::json!(p.backward)).as_deref(),
            Some("keep_furthest")
        );
        assert!(p.as_of.is_none());
        let c = CohortSpec::default();
        assert_eq!(c.granularity, revops::Granularity::Month);
        assert_eq!(
            json(serde_json::json!(c.cycles)).as_deref(),
            Some("all_cycles")
        );
        assert_eq!(json(serde_json::json!(c.method)).as_deref(), Some("wilson"));
        assert_eq!(c.confidence.level(), 0.95);
        assert!(c.window.is_none() && c.step_windows.is_empty() && c.breakdown.is_none());
        let v = VelocitySpec::default();
        assert_eq!(
            json(serde_json::json!(v.quantiles)).as_deref(),
            Some("exact")
        );
        assert_eq!(json(serde_json::json!(v.bins)).as_deref(), Some("log2"));
        assert_eq!(
            json(serde_json::json!(v.inferred)).as_deref(),
            Some("exclude")
        );
        assert_eq!(
            json(serde_json::json!(WinRateBasis::default())).as_deref(),
            Some("closed_only")
        );
        assert_eq!(
            json(serde_json::json!(NoDecision::default())).as_deref(),
            Some("exit_stages")
        );
        let r = ReportOptions::default();
        assert_eq!(r.cohort_granularity, revops::Granularity::Quarter);
        assert_eq!(r.breakdown, Some(revops::funnel::Dimension::Source));
        assert!(r.backtest.is_some() && r.parallel);
    }
}
