//! Arguments in (coercion, typed columns) and results out (a core result's serde
//! form as an Arrow value of the declared type).

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BooleanArray, Float64Array, StringArray};
use arrow_schema::{DataType, Field, Fields, TimeUnit};
use datafusion_common::scalar::ScalarStructBuilder;
use datafusion_common::{DataFusionError, Result, ScalarValue};

use crate::engine::plan;

/// The kind of an argument column; the type the function coerces it to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Input {
    /// Any number, read as `Float64`.
    Float,
    /// `Boolean`.
    Bool,
    /// A deal's outcome: text (coerced to `Utf8`) or a boolean.
    Outcome,
    /// Any type, kept as given: the core's Arrow decoder checks it (and names the
    /// column and row when it does not fit).
    Any,
    /// Text (any string type, coerced to `Utf8`).
    Text,
    /// An instant: a timestamp of any unit (one without a time zone is UTC), a date
    /// or RFC 3339 text, coerced to a UTC timestamp (text and dates to milliseconds).
    Time,
}

/// Whether `t` is a string type (or a dictionary of strings).
fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
        || matches!(t, DataType::Dictionary(_, v) if v.is_string())
}

/// UTC, the time zone of the coerced timestamps.
fn utc() -> Option<Arc<str>> {
    Some(Arc::from("UTC"))
}

impl Input {
    fn coerced(self, name: &str, position: usize, given: &DataType) -> Result<DataType> {
        let ok = match self {
            Input::Float => given.is_numeric() || given.is_null(),
            Input::Bool => matches!(given, DataType::Boolean | DataType::Null),
            Input::Outcome => {
                matches!(given, DataType::Boolean | DataType::Null)
                    || matches!(
                        given,
                        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                    )
                    || matches!(given, DataType::Dictionary(_, v) if v.is_string())
            }
            Input::Any => true,
            Input::Text => is_text(given) || given.is_null(),
            Input::Time => {
                is_text(given)
                    || given.is_null()
                    || matches!(
                        given,
                        DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64
                    )
            }
        };
        if !ok {
            return Err(plan(
                name,
                format!(
                    "argument {position} must be {}, got {given}",
                    self.describe()
                ),
            ));
        }
        Ok(match self {
            Input::Float => DataType::Float64,
            Input::Bool => DataType::Boolean,
            Input::Outcome if matches!(given, DataType::Boolean | DataType::Null) => {
                DataType::Boolean
            }
            Input::Outcome | Input::Text => DataType::Utf8,
            Input::Any => given.clone(),
            Input::Time => match given {
                DataType::Timestamp(unit, _) => DataType::Timestamp(*unit, utc()),
                _ => DataType::Timestamp(TimeUnit::Millisecond, utc()),
            },
        })
    }

    fn describe(self) -> &'static str {
        match self {
            Input::Float => "a number",
            Input::Bool => "a boolean",
            Input::Outcome => "a text outcome or a boolean",
            Input::Any => "any type",
            Input::Text => "text",
            Input::Time => "a timestamp, a date or RFC 3339 text",
        }
    }
}

/// The types to coerce the arguments to: the declared columns, then an optional
/// options string.
pub(crate) fn coerce(name: &str, inputs: &[Input], given: &[DataType]) -> Result<Vec<DataType>> {
    let n = inputs.len();
    if given.len() != n && given.len() != n + 1 {
        return Err(plan(
            name,
            format!(
                "takes {n} columns and an optional options string, got {} arguments",
                given.len()
            ),
        ));
    }
    let mut out = Vec::with_capacity(given.len());
    for (i, (input, t)) in inputs.iter().zip(given).enumerate() {
        out.push(input.coerced(name, i + 1, t)?);
    }
    if let Some(t) = given.get(n) {
        if !matches!(
            t,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
        ) {
            return Err(plan(
                name,
                format!("argument {} (the options) must be a string, got {t}", n + 1),
            ));
        }
        out.push(DataType::Utf8);
    }
    Ok(out)
}

/// Column `i` as `Float64`.
pub(crate) fn floats<'a>(
    name: &str,
    columns: &'a [ArrayRef],
    i: usize,
) -> Result<&'a Float64Array> {
    columns[i]
        .as_any()
        .downcast_ref::<Float64Array>()
        .ok_or_else(|| {
            plan(
                name,
                format!("argument {} was not coerced to Float64", i + 1),
            )
        })
}

/// Column `i` as `Boolean`.
pub(crate) fn bools<'a>(name: &str, columns: &'a [ArrayRef], i: usize) -> Result<&'a BooleanArray> {
    columns[i]
        .as_any()
        .downcast_ref::<BooleanArray>()
        .ok_or_else(|| {
            plan(
                name,
                format!("argument {} was not coerced to Boolean", i + 1),
            )
        })
}

/// Column `i` as `Utf8`.
pub(crate) fn texts<'a>(name: &str, columns: &'a [ArrayRef], i: usize) -> Result<&'a StringArray> {
    columns[i]
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| plan(name, format!("argument {} was not coerced to Utf8", i + 1)))
}

/// Column `i` (a timestamp of any unit) as milliseconds since the Unix epoch, per
/// row (`None` for NULL): the core's unit, rounded down as the core rounds
/// `DateTime::timestamp_millis`.
pub(crate) fn millis(name: &str, columns: &[ArrayRef], i: usize) -> Result<Vec<Option<i64>>> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{
        TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
        TimestampSecondType,
    };
    fn per<T: arrow_array::ArrowPrimitiveType<Native = i64>>(
        a: &arrow_array::PrimitiveArray<T>,
        f: impl Fn(i64) -> i64,
    ) -> Vec<Option<i64>> {
        a.iter().map(|v| v.map(&f)).collect()
    }
    let c = &columns[i];
    Ok(match c.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => {
            per(c.as_primitive::<TimestampSecondType>(), |v| {
                v.saturating_mul(1000)
            })
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            per(c.as_primitive::<TimestampMillisecondType>(), |v| v)
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            per(c.as_primitive::<TimestampMicrosecondType>(), |v| {
                v.div_euclid(1000)
            })
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            per(c.as_primitive::<TimestampNanosecondType>(), |v| {
                v.div_euclid(1_000_000)
            })
        }
        other => {
            return Err(plan(
                name,
                format!("argument {} was not coerced to a timestamp: {other}", i + 1),
            ));
        }
    })
}

/// An error naming the row (its position among the rows this partition's
/// accumulator saw) and what is wrong with it.
pub(crate) fn row_error(name: &str, row: u64, what: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("{name}: input row {row} of its partition: {what}"))
}

/// A nullable field.
pub(crate) fn field(name: &str, t: DataType) -> Field {
    Field::new(name, t, true)
}

/// A struct type of nullable fields.
pub(crate) fn structure(fields: Vec<Field>) -> DataType {
    DataType::Struct(Fields::from(fields))
}

/// A list of `item`s.
pub(crate) fn list(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", item, true)))
}

/// The value of a core result, serialised with serde, as a scalar of type `t`:
/// struct fields are taken by name (a missing or `null` one is null), lists element
/// by element, numbers as the declared integer or float, anything else as text.
pub(crate) fn to_scalar<T: serde::Serialize>(value: &T, t: &DataType) -> Result<ScalarValue> {
    let json = serde_json::to_value(value).map_err(|e| DataFusionError::External(Box::new(e)))?;
    json_scalar(&json, t)
}

/// A JSON value as a scalar of type `t` (see [`to_scalar`]).
pub(crate) fn json_scalar(v: &serde_json::Value, t: &DataType) -> Result<ScalarValue> {
    use serde_json::Value;
    if v.is_null() {
        return ScalarValue::try_from(t);
    }
    let mismatch = || DataFusionError::Internal(format!("result value {v} does not fit {t}"));
    Ok(match t {
        DataType::Struct(fields) => {
            let mut b = ScalarStructBuilder::new();
            for f in fields.iter() {
                let x = v.get(f.name()).unwrap_or(&Value::Null);
                b = b.with_scalar(f.as_ref().clone(), json_scalar(x, f.data_type())?);
            }
            b.build()?
        }
        DataType::List(item) => {
            let items = v
                .as_array()
                .ok_or_else(mismatch)?
                .iter()
                .map(|x| json_scalar(x, item.data_type()))
                .collect::<Result<Vec<_>>>()?;
            ScalarValue::List(ScalarValue::new_list_nullable(&items, item.data_type()))
        }
        DataType::Float64 => ScalarValue::Float64(Some(v.as_f64().ok_or_else(mismatch)?)),
        DataType::UInt64 => ScalarValue::UInt64(Some(v.as_u64().ok_or_else(mismatch)?)),
        DataType::Int64 => ScalarValue::Int64(Some(v.as_i64().ok_or_else(mismatch)?)),
        DataType::Boolean => ScalarValue::Boolean(Some(v.as_bool().ok_or_else(mismatch)?)),
        DataType::Decimal128(precision, scale) => {
            // Exact money: the core writes decimals as strings.
            let d: rust_decimal::Decimal = match v {
                Value::String(s) => s.parse().map_err(|_| mismatch())?,
                _ => return Err(mismatch()),
            };
            ScalarValue::Decimal128(
                Some(decimal_units(d, *scale).ok_or_else(mismatch)?),
                *precision,
                *scale,
            )
        }
        DataType::Utf8 => ScalarValue::Utf8(Some(match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })),
        _ => return Err(mismatch()),
    })
}

/// `d` in units of `10^-scale` (exact: `None` when `d` has more decimals or does not
/// fit).
pub(crate) fn decimal_units(d: rust_decimal::Decimal, scale: i8) -> Option<i128> {
    let scale = u32::try_from(scale).ok()?;
    let places = d.scale();
    if places > scale {
        return None;
    }
    let factor = 10i128.checked_pow(scale - places)?;
    d.mantissa().checked_mul(factor)
}
