//! One column of a record batch seen as the values a schema reads: text, a timestamp,
//! a date, an exact decimal, a number or a whole number, whatever its Arrow type
//! among the accepted ones. Strings go through the CSV readers' field decoders, so a
//! string column reads (and fails) exactly as the same text in a CSV file does.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowPrimitiveType, Date32Type, Date64Type, Decimal128Type, Float32Type, Float64Type, Int8Type,
    Int16Type, Int32Type, Int64Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::csv::field::{self as f, RowError};
use crate::csv::parse;

/// What a schema reads from a column: decides which Arrow types it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Ids, keys, codes, free text: strings (plain or dictionary-encoded).
    Text,
    /// Lead attributes: strings, or numbers and booleans written as text.
    Attribute,
    /// A point in time: Timestamp (any unit, any zone), Date32, Date64 or a string.
    Time,
    /// A calendar date: Date32, Date64, Timestamp (its UTC date) or a string.
    Date,
    /// An exact amount: Decimal128, an integer or a string (never a float).
    Decimal,
    /// A number: Float64, Float32, an integer, Decimal128 or a string.
    Number,
    /// A whole number ≥ 0: an integer or a string.
    Whole,
}

impl Want {
    /// The types accepted, for the message about a column of another type.
    fn accepted(self) -> &'static str {
        match self {
            Want::Text => "a string column (Utf8, LargeUtf8, Utf8View or a dictionary of them)",
            Want::Attribute => "a string, integer, float or boolean column",
            Want::Time => {
                "a timestamp (Timestamp of any unit, with or without a time zone), Date32, Date64 or a string column"
            }
            Want::Date => "a date (Date32, Date64, Timestamp) or a string column",
            Want::Decimal => "an exact decimal (Decimal128), an integer or a string column",
            Want::Number => {
                "a number (Float64, Float32, an integer, Decimal128) or a string column"
            }
            Want::Whole => "an integer or a string column",
        }
    }
}

type StrAt = for<'b> fn(&'b dyn Array, usize) -> &'b str;
type IntAt = fn(&dyn Array, usize) -> i128;
type FloatAt = fn(&dyn Array, usize) -> f64;
type TsAt = fn(&dyn Array, usize) -> i64;

/// How to read the values of a column.
#[derive(Clone)]
enum Values<'a> {
    /// Every value is null: a column the batch does not have, or of type Null.
    Null,
    Str(&'a dyn Array, StrAt),
    Dict {
        array: &'a dyn Array,
        keys: Vec<usize>,
        values: Box<Column<'a>>,
    },
    /// Seconds, milli-, micro- or nanoseconds since 1970-01-01T00:00:00Z.
    Time(&'a dyn Array, TsAt, TimeUnit),
    Date32(&'a dyn Array),
    Date64(&'a dyn Array),
    Decimal(&'a dyn Array, i8),
    Int(&'a dyn Array, IntAt),
    Float(&'a dyn Array, FloatAt),
    Bool(&'a dyn Array),
}

/// A column of a batch, with the name errors give it.
#[derive(Clone)]
pub(crate) struct Column<'a> {
    name: &'a str,
    values: Values<'a>,
}

fn str_at<O: arrow_array::OffsetSizeTrait>(a: &dyn Array, i: usize) -> &str {
    a.as_string::<O>().value(i)
}

fn view_at(a: &dyn Array, i: usize) -> &str {
    a.as_string_view().value(i)
}

fn int_at<T: ArrowPrimitiveType>(a: &dyn Array, i: usize) -> i128
where
    T::Native: Into<i128>,
{
    a.as_primitive::<T>().value(i).into()
}

fn float_at<T: ArrowPrimitiveType>(a: &dyn Array, i: usize) -> f64
where
    T::Native: Into<f64>,
{
    a.as_primitive::<T>().value(i).into()
}

fn ts_at<T: ArrowPrimitiveType<Native = i64>>(a: &dyn Array, i: usize) -> i64 {
    a.as_primitive::<T>().value(i)
}

/// A short name of an Arrow type for messages.
fn type_name(t: &DataType) -> String {
    let s = t.to_string();
    if s.len() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

impl<'a> Column<'a> {
    /// A column the batch does not have: every value is null.
    pub(crate) fn absent(name: &'a str) -> Column<'a> {
        Column {
            name,
            values: Values::Null,
        }
    }

    /// Column `index` of `batch`, read as `want`.
    pub(crate) fn of(
        batch: &'a RecordBatch,
        index: usize,
        name: &'a str,
        want: Want,
    ) -> Result<Column<'a>, RowError> {
        Column::new(batch.column(index).as_ref(), name, want)
    }

    fn new(array: &'a dyn Array, name: &'a str, want: Want) -> Result<Column<'a>, RowError> {
        use DataType as D;
        let values = match (array.data_type(), want) {
            (D::Null, _) => Values::Null,
            (D::Utf8, _) => Values::Str(array, str_at::<i32>),
            (D::LargeUtf8, _) => Values::Str(array, str_at::<i64>),
            (D::Utf8View, _) => Values::Str(array, view_at),
            (D::Dictionary(_, _), _) => match array.as_any_dictionary_opt() {
                // No values: every key is null (a valid array has no other keys).
                Some(d) if d.values().is_empty() => Values::Null,
                Some(d) => Values::Dict {
                    array,
                    keys: d.normalized_keys(),
                    values: Box::new(Column::new(d.values().as_ref(), name, want)?),
                },
                None => return Err(wrong_type(name, array.data_type(), want)),
            },
            (D::Timestamp(unit, _), Want::Time | Want::Date) => {
                let at: TsAt = match unit {
                    TimeUnit::Second => ts_at::<TimestampSecondType>,
                    TimeUnit::Millisecond => ts_at::<TimestampMillisecondType>,
                    TimeUnit::Microsecond => ts_at::<TimestampMicrosecondType>,
                    TimeUnit::Nanosecond => ts_at::<TimestampNanosecondType>,
                };
                Values::Time(array, at, *unit)
            }
            (D::Date32, Want::Time | Want::Date) => Values::Date32(array),
            (D::Date64, Want::Time | Want::Date) => Values::Date64(array),
            (D::Decimal128(_, scale), Want::Decimal | Want::Number) => {
                Values::Decimal(array, *scale)
            }
            (D::Float64, Want::Number | Want::Attribute) => {
                Values::Float(array, float_at::<Float64Type>)
            }
            (D::Float32, Want::Number | Want::Attribute) => {
                Values::Float(array, float_at::<Float32Type>)
            }
            (D::Boolean, Want::Attribute) => Values::Bool(array),
            (t, Want::Decimal | Want::Number | Want::Whole | Want::Attribute) if t.is_integer() => {
                let at: IntAt = match t {
                    D::Int8 => int_at::<Int8Type>,
                    D::Int16 => int_at::<Int16Type>,
                    D::Int32 => int_at::<Int32Type>,
                    D::Int64 => int_at::<Int64Type>,
                    D::UInt8 => int_at::<UInt8Type>,
                    D::UInt16 => int_at::<UInt16Type>,
                    D::UInt32 => int_at::<UInt32Type>,
                    _ => int_at::<UInt64Type>,
                };
                Values::Int(array, at)
            }
            (t, _) => return Err(wrong_type(name, t, want)),
        };
        Ok(Column { name, values })
    }

    /// The column's name in errors.
    pub(crate) fn name(&self) -> &'a str {
        self.name
    }

    /// Whether row `i` is null (absent).
    #[inline]
    pub(crate) fn is_null(&self, i: usize) -> bool {
        match &self.values {
            Values::Null => true,
            Values::Dict {
                array,
                keys,
                values,
            } => array.is_null(i) || keys.get(i).is_none_or(|&k| values.is_null(k)),
            Values::Str(a, _)
            | Values::Time(a, ..)
            | Values::Date32(a)
            | Values::Date64(a)
            | Values::Decimal(a, _)
            | Values::Int(a, _)
            | Values::Float(a, _)
            | Values::Bool(a) => a.is_null(i),
        }
    }

    /// The column and row holding row `i`'s value (a dictionary's value row).
    #[inline]
    fn resolve(&self, i: usize) -> (&Column<'a>, usize) {
        match &self.values {
            Values::Dict { keys, values, .. } => values.resolve(keys[i]),
            _ => (self, i),
        }
    }

    /// Row `i` as text: the string, or `""` when null. Only for `Text` columns.
    #[inline]
    pub(crate) fn bytes(&self, i: usize) -> &'a [u8] {
        self.str(i).as_bytes()
    }

    /// Row `i` as a string, or `""` when null. Only for `Text` columns.
    #[inline]
    pub(crate) fn str(&self, i: usize) -> &'a str {
        if self.is_null(i) {
            return "";
        }
        match self.resolve(i) {
            (
                Column {
                    values: Values::Str(a, at),
                    ..
                },
                i,
            ) => at(*a, i),
            _ => "",
        }
    }

    /// Row `i`'s instant in microseconds since the epoch, when the column holds
    /// timestamps of seconds, milli- or microseconds and the value lies in the
    /// supported years; `None` for anything else (null, strings, dates, nanoseconds,
    /// out of range: [`Column::timestamp`] reads those, or names the problem).
    #[cfg(feature = "parquet")]
    #[inline]
    pub(crate) fn micros(&self, i: usize) -> Option<i64> {
        /// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z.
        const RANGE: (i64, i64) = (-62_167_219_200_000_000, 253_402_300_799_999_999);
        if self.is_null(i) {
            return None;
        }
        let (c, j) = self.resolve(i);
        let Values::Time(a, at, unit) = &c.values else {
            return None;
        };
        let per: i64 = match unit {
            TimeUnit::Second => 1_000_000,
            TimeUnit::Millisecond => 1_000,
            TimeUnit::Microsecond => 1,
            TimeUnit::Nanosecond => return None,
        };
        let us = at(*a, j).checked_mul(per)?;
        (RANGE.0..=RANGE.1).contains(&us).then_some(us)
    }

    /// A required timestamp.
    pub(crate) fn timestamp(&self, i: usize) -> Result<DateTime<Utc>, RowError> {
        if self.is_null(i) {
            return f::timestamp(b"", self.name);
        }
        let (c, i) = self.resolve(i);
        let t = match &c.values {
            Values::Str(a, at) => return f::timestamp(at(*a, i).as_bytes(), self.name),
            Values::Time(a, at, unit) => instant(at(*a, i), *unit),
            Values::Date32(a) => day(i64::from(a.as_primitive::<Date32Type>().value(i)))
                .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc()),
            Values::Date64(a) => instant(
                a.as_primitive::<Date64Type>().value(i),
                TimeUnit::Millisecond,
            ),
            _ => None,
        };
        self.in_range(t.map(|t| (t.date_naive(), t)), i, c)
    }

    /// A required date.
    pub(crate) fn date(&self, i: usize) -> Result<NaiveDate, RowError> {
        if self.is_null(i) {
            return f::date(b"", self.name);
        }
        let (c, i) = self.resolve(i);
        let d = match &c.values {
            Values::Str(a, at) => return f::date(at(*a, i).as_bytes(), self.name),
            Values::Time(a, at, unit) => instant(at(*a, i), *unit).map(|t| t.date_naive()),
            Values::Date32(a) => day(i64::from(a.as_primitive::<Date32Type>().value(i))),
            Values::Date64(a) => instant(
                a.as_primitive::<Date64Type>().value(i),
                TimeUnit::Millisecond,
            )
            .map(|t| t.date_naive()),
            _ => None,
        };
        self.in_range(d.map(|d| (d, d)), i, c)
    }

    /// An optional date (null is `None`; so is a blank string).
    pub(crate) fn opt_date(&self, i: usize) -> Result<Option<NaiveDate>, RowError> {
        if self.is_null(i) {
            return Ok(None);
        }
        match self.resolve(i) {
            (
                Column {
                    values: Values::Str(a, at),
                    ..
                },
                j,
            ) => f::opt_date(at(*a, j).as_bytes(), self.name),
            _ => self.date(i).map(Some),
        }
    }

    /// A value in the supported years, or the CSV readers' error for one outside them.
    fn in_range<T>(
        &self,
        v: Option<(NaiveDate, T)>,
        i: usize,
        c: &Column<'_>,
    ) -> Result<T, RowError> {
        match v {
            Some((d, v)) if parse::in_range(d) => Ok(v),
            other => Err(f::out_of_range(
                c.raw(i).as_bytes(),
                self.name,
                other.map(|(d, _)| d),
            )),
        }
    }

    /// The raw value of row `i` of a resolved column as text, for messages.
    fn raw(&self, i: usize) -> String {
        match &self.values {
            Values::Null => String::new(),
            Values::Str(a, at) => at(*a, i).to_string(),
            Values::Dict { .. } => {
                let (c, i) = self.resolve(i);
                c.raw(i)
            }
            Values::Time(a, at, unit) => format!("{} {}", at(*a, i), unit_name(*unit)),
            Values::Date32(a) => format!(
                "{} days since 1970-01-01",
                a.as_primitive::<Date32Type>().value(i)
            ),
            Values::Date64(a) => format!(
                "{} ms since 1970-01-01",
                a.as_primitive::<Date64Type>().value(i)
            ),
            Values::Decimal(a, _) => a.as_primitive::<Decimal128Type>().value_as_string(i),
            Values::Int(a, at) => at(*a, i).to_string(),
            Values::Float(a, at) => at(*a, i).to_string(),
            Values::Bool(a) => a.as_boolean().value(i).to_string(),
        }
    }

    /// A required exact decimal.
    pub(crate) fn decimal(&self, i: usize) -> Result<Decimal, RowError> {
        if self.is_null(i) {
            return f::decimal(b"", self.name);
        }
        let (c, i) = self.resolve(i);
        let d = match &c.values {
            Values::Str(a, at) => return f::decimal(at(*a, i).as_bytes(), self.name),
            Values::Decimal(a, scale) => {
                decimal(a.as_primitive::<Decimal128Type>().value(i), *scale)
            }
            Values::Int(a, at) => decimal(at(*a, i), 0),
            _ => None,
        };
        d.ok_or_else(|| {
            RowError::new(
                self.name,
                format!(
                    "`{}` does not fit an exact decimal of 28 digits",
                    parse::excerpt(c.raw(i).as_bytes())
                ),
            )
        })
    }

    /// An optional exact decimal (null or blank is `None`).
    pub(crate) fn opt_decimal(&self, i: usize) -> Result<Option<Decimal>, RowError> {
        if self.is_null(i) || (self.is_text() && f::is_blank(self.bytes(i))) {
            return Ok(None);
        }
        self.decimal(i).map(Some)
    }

    /// Whether the column holds strings (plain or dictionary-encoded).
    pub(crate) fn is_text(&self) -> bool {
        match &self.values {
            Values::Str(..) => true,
            Values::Dict { values, .. } => values.is_text(),
            _ => false,
        }
    }

    /// Row `i` as a count in the simple form, exactly what [`Column::float`] reads
    /// when the value is also a valid count (finite, ≥ 0): a float, an integer, or a
    /// string of 1 to 15 ASCII digits; `None` for anything else (null, Decimal128,
    /// other text, invalid counts: [`Column::float`] reads those, or names the
    /// problem).
    #[inline]
    pub(crate) fn simple_count(&self, i: usize) -> Option<f64> {
        if self.is_null(i) {
            return None;
        }
        let (c, i) = self.resolve(i);
        match &c.values {
            Values::Str(a, at) => crate::csv::paths::simple_count(at(*a, i).as_bytes()),
            Values::Float(a, at) => Some(at(*a, i)).filter(|v| v.is_finite() && *v >= 0.0),
            #[allow(clippy::cast_precision_loss)] // as `float` reads it
            Values::Int(a, at) => Some(at(*a, i)).filter(|v| *v >= 0).map(|v| v as f64),
            _ => None,
        }
    }

    /// Row `i` as a path row's value in the simple form: a Decimal128 or an integer
    /// without its trailing zeros, or a string of digits with at most one `.`
    /// (kept as written), exactly what the general decoder reads, when it is not
    /// negative; `None` for anything else.
    #[inline]
    pub(crate) fn simple_value(&self, i: usize) -> Option<Decimal> {
        if self.is_null(i) {
            return None;
        }
        let (c, i) = self.resolve(i);
        let v = match &c.values {
            Values::Str(a, at) => return crate::csv::paths::simple_value(at(*a, i).as_bytes()),
            Values::Decimal(a, scale) => {
                decimal(a.as_primitive::<Decimal128Type>().value(i), *scale)?
            }
            Values::Int(a, at) => decimal(at(*a, i), 0)?,
            _ => return None,
        };
        (!v.is_sign_negative()).then(|| v.normalize())
    }

    /// A required number.
    pub(crate) fn float(&self, i: usize) -> Result<f64, RowError> {
        if self.is_null(i) {
            return f::float(b"", self.name);
        }
        let (c, i) = self.resolve(i);
        match &c.values {
            Values::Str(a, at) => f::float(at(*a, i).as_bytes(), self.name),
            Values::Float(a, at) => Ok(at(*a, i)),
            #[allow(clippy::cast_precision_loss)] // a count or a forecast: f64 by design
            Values::Int(a, at) => Ok(at(*a, i) as f64),
            Values::Decimal(a, scale) => {
                decimal(a.as_primitive::<Decimal128Type>().value(i), *scale)
                    .and_then(|d| rust_decimal::prelude::ToPrimitive::to_f64(&d))
                    .ok_or_else(|| {
                        RowError::new(self.name, format!("`{}` is not a number", c.raw(i)))
                    })
            }
            _ => Err(RowError::new(self.name, "not a number")),
        }
    }

    /// An optional number (null or blank is `None`), with the text for the
    /// percentage hint when the column is a string.
    pub(crate) fn opt_float(&self, i: usize) -> Result<Option<(f64, &'a [u8])>, RowError> {
        if self.is_null(i) {
            return Ok(None);
        }
        if self.is_text() {
            let b = self.bytes(i);
            return Ok(f::opt_float(b, self.name)?.map(|v| (v, b)));
        }
        self.float(i).map(|v| Some((v, &b""[..])))
    }

    /// An optional whole number in `0..=u32::MAX`.
    pub(crate) fn opt_u32(&self, i: usize) -> Result<Option<u32>, RowError> {
        if self.is_null(i) {
            return Ok(None);
        }
        let (c, j) = self.resolve(i);
        match &c.values {
            Values::Str(a, at) => f::optional(
                at(*a, j).as_bytes(),
                self.name,
                "a whole number",
                "expected 0 to 4294967295",
                parse::unsigned,
            ),
            Values::Int(a, at) => u32::try_from(at(*a, j)).map(Some).map_err(|_| {
                RowError::new(
                    self.name,
                    format!(
                        "`{}` is not a whole number (expected 0 to 4294967295)",
                        at(*a, j)
                    ),
                )
            }),
            _ => Err(RowError::new(self.name, "not a whole number")),
        }
    }

    /// An attribute value as text (`None` when null or blank).
    pub(crate) fn attribute(&self, i: usize) -> Result<Option<String>, RowError> {
        if self.is_null(i) {
            return Ok(None);
        }
        let (c, j) = self.resolve(i);
        match &c.values {
            Values::Str(a, at) => f::opt_text(at(*a, j).as_bytes(), self.name),
            _ => Ok(Some(c.raw(j))),
        }
    }
}

fn unit_name(unit: TimeUnit) -> &'static str {
    match unit {
        TimeUnit::Second => "s",
        TimeUnit::Millisecond => "ms",
        TimeUnit::Microsecond => "µs",
        TimeUnit::Nanosecond => "ns",
    }
}

/// An instant from a count of `unit`s since the epoch (`None` out of chrono's range).
fn instant(v: i64, unit: TimeUnit) -> Option<DateTime<Utc>> {
    let per_second: i64 = match unit {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    };
    let nanos = v.rem_euclid(per_second) * (1_000_000_000 / per_second);
    DateTime::from_timestamp(v.div_euclid(per_second), u32::try_from(nanos).ok()?)
}

/// A date from days since 1970-01-01.
fn day(days: i64) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(chrono::TimeDelta::try_days(days)?)
}

/// An Arrow decimal (unscaled value, scale) as a rust_decimal, if it fits.
pub(crate) fn decimal(v: i128, scale: i8) -> Option<Decimal> {
    if scale >= 0 {
        let mut d = Decimal::try_from_i128_with_scale(v, u32::from(scale.unsigned_abs()));
        // More than 28 decimals: drop trailing zeros first (exactness is kept).
        if d.is_err() {
            let mut v = v;
            let mut s = scale;
            while s > 0 && v % 10 == 0 {
                v /= 10;
                s -= 1;
            }
            d = Decimal::try_from_i128_with_scale(v, u32::from(s.unsigned_abs()));
        }
        d.ok()
    } else {
        let factor = 10i128.checked_pow(u32::from(scale.unsigned_abs()))?;
        Decimal::try_from_i128_with_scale(v.checked_mul(factor)?, 0).ok()
    }
}

fn wrong_type(name: &str, t: &DataType, want: Want) -> RowError {
    RowError::new(
        name,
        format!(
            "the column is of type {}: expected {}",
            type_name(t),
            want.accepted()
        ),
    )
}
