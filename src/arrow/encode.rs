//! Records to record batches of the canonical schemas.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, Date32Array, Decimal128Array, DictionaryArray, Float64Array, RecordBatch,
    StringArray, TimestampMicrosecondArray, UInt32Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use super::ArrowRecord;
use crate::csv::Options;
use crate::csv::schema::attribute_columns;
use crate::error::{Error, ErrorKind, Excerpt, RecordRef, Result};
use crate::ids::{CampaignId, Channel};
use crate::money::Money;
use crate::records::{
    Conversion, ForecastPoint, Lead, OpportunityChange, PathRow, Spend, StageEvent, Touch,
};

/// The scale of the money columns writers produce: `Decimal128(38, 9)` holds every
/// amount with at most 9 decimals exactly (all of `rust_decimal`'s whole numbers
/// fit in its 29 integer digits). An amount with more decimals (after dropping
/// trailing zeros) is refused, never rounded.
pub const MONEY_SCALE: i8 = 9;

/// What a batch's columns depend on besides the record type: the path separator and
/// the lead attribute columns.
#[derive(Debug, Clone)]
pub struct Layout {
    pub(crate) path_separator: String,
    pub(crate) attributes: Vec<String>,
}

/// How a record type's columns are built (implemented for the record types only).
pub trait Encode: Sized {
    /// The columns: name, type, nullable.
    fn fields(layout: &Layout) -> Vec<Field>;
    /// The columns' arrays for `records` (the first at index `first` of the input).
    fn arrays(records: &[Self], first: usize, layout: &Layout) -> Result<Vec<ArrayRef>>;
    /// The attribute columns `records` need (leads).
    fn attributes(_records: &[Self]) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
}

fn dict_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

fn time_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn money_type() -> DataType {
    DataType::Decimal128(38, MONEY_SCALE)
}

/// The Arrow schema of `T`'s table as writers produce it, for a lead table with the
/// given attribute columns (ignored by the other tables).
///
/// # Errors
/// [`ErrorKind::InvalidParameter`] for attribute names that would not read back as
/// attributes (empty, a fixed column's name, two differing only in case).
pub fn schema<T: ArrowRecord>(attributes: &[&str]) -> Result<SchemaRef> {
    let layout = Layout {
        path_separator: ">".into(),
        attributes: attribute_columns(attributes.iter().map(|s| (*s).to_string()))?,
    };
    Ok(Arc::new(Schema::new(T::fields(&layout))))
}

pub(crate) fn layout<T: ArrowRecord>(records: &[T], options: &Options) -> Result<Layout> {
    Ok(Layout {
        path_separator: options.path_separator().to_string(),
        attributes: T::attributes(records)?,
    })
}

pub(crate) fn batch<T: ArrowRecord>(
    records: &[T],
    first: usize,
    layout: &Layout,
) -> Result<RecordBatch> {
    let schema = Arc::new(Schema::new(T::fields(layout)));
    let arrays = T::arrays(records, first, layout)?;
    RecordBatch::try_new(schema, arrays).map_err(|e| {
        Error::from(ErrorKind::InvalidParameter {
            name: "records",
            value: T::KIND.to_string(),
            reason: e.to_string(),
        })
    })
}

/// The records as one record batch of `T`'s canonical schema (see the [module
/// documentation](super) for the types); paths are joined with the options' path
/// separator, and a lead table has one column per attribute name of any lead (sorted).
/// What it builds reads back equal with a [`Decoder`](super::Decoder).
///
/// # Errors
/// [`ErrorKind::InvalidField`] naming the record for a value the schema cannot hold
/// so that it reads back the same: a time with sub-microsecond digits, an amount with
/// more than [`MONEY_SCALE`] decimals, a channel holding the path separator.
pub fn to_record_batch<T: ArrowRecord>(records: &[T], options: &Options) -> Result<RecordBatch> {
    let layout = layout(records, options)?;
    batch(records, 0, &layout)
}

fn field_error(kind: &'static str, index: usize, field: &'static str, reason: String) -> Error {
    Error::from(ErrorKind::InvalidField {
        record: RecordRef::new(kind).with_index(index),
        field,
        reason,
    })
}

fn text<'a>(values: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(values.collect::<StringArray>())
}

fn dict<'a>(values: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(values.collect::<DictionaryArray<Int32Type>>())
}

fn floats(values: impl Iterator<Item = Option<f64>>) -> ArrayRef {
    Arc::new(values.collect::<Float64Array>())
}

fn times<T>(
    records: &[T],
    first: usize,
    kind: &'static str,
    field: &'static str,
    at: impl Fn(&T) -> &DateTime<Utc>,
) -> Result<ArrayRef> {
    let mut out = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        let t = at(r);
        if !t.timestamp_subsec_nanos().is_multiple_of(1_000) {
            return Err(field_error(
                kind,
                first + i,
                field,
                format!("{t} has sub-microsecond digits: the Arrow column holds microseconds"),
            ));
        }
        out.push(t.timestamp_micros());
    }
    Ok(Arc::new(
        TimestampMicrosecondArray::from(out).with_timezone("UTC"),
    ))
}

fn days(d: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    // Dates are within chrono's range (±262 000 years): the day count fits i32.
    i32::try_from((d - epoch).num_days()).unwrap_or(i32::MAX)
}

fn dates(values: impl Iterator<Item = Option<NaiveDate>>) -> ArrayRef {
    Arc::new(values.map(|d| d.map(days)).collect::<Date32Array>())
}

/// A decimal as the unscaled value at [`MONEY_SCALE`], if it has so few decimals.
fn unscaled(d: Decimal) -> Option<i128> {
    let d = d.normalize();
    let scale = u32::try_from(MONEY_SCALE).ok()?;
    if d.scale() > scale {
        return None;
    }
    d.mantissa()
        .checked_mul(10i128.checked_pow(scale - d.scale())?)
}

fn amounts(
    values: impl Iterator<Item = Option<Decimal>>,
    first: usize,
    kind: &'static str,
    field: &'static str,
) -> Result<ArrayRef> {
    let mut out = Vec::new();
    for (i, v) in values.enumerate() {
        out.push(match v {
            Some(d) => Some(unscaled(d).ok_or_else(|| {
                field_error(
                    kind,
                    first + i,
                    field,
                    format!(
                        "{d} has more than {MONEY_SCALE} decimals: the Arrow column is Decimal128(38, {MONEY_SCALE})"
                    ),
                )
            })?),
            None => None,
        });
    }
    let array = Decimal128Array::from(out)
        .with_precision_and_scale(38, MONEY_SCALE)
        .map_err(|e| field_error(kind, first, field, e.to_string()))?;
    Ok(Arc::new(array))
}

/// The amount and currency columns of optional money.
fn money<'a, T: 'a>(
    records: &'a [T],
    first: usize,
    kind: &'static str,
    field: &'static str,
    get: impl Fn(&'a T) -> Option<&'a Money>,
) -> Result<[ArrayRef; 2]> {
    let amount = amounts(
        records.iter().map(|r| get(r).map(Money::amount)),
        first,
        kind,
        field,
    )?;
    let codes: Vec<Option<String>> = records
        .iter()
        .map(|r| get(r).map(|m| m.currency().to_string()))
        .collect();
    Ok([amount, dict(codes.iter().map(Option::as_deref))])
}

fn nullable(name: &str, t: DataType) -> Field {
    Field::new(name, t, true)
}

fn required(name: &str, t: DataType) -> Field {
    Field::new(name, t, false)
}

fn campaign(c: Option<&CampaignId>) -> Option<&str> {
    c.map(CampaignId::as_str)
}

impl Encode for StageEvent {
    fn fields(_: &Layout) -> Vec<Field> {
        vec![
            required("subject_id", DataType::Utf8),
            required("stage", dict_type()),
            required("at", time_type()),
            nullable("cycle", DataType::UInt32),
            nullable("reason", dict_type()),
        ]
    }

    fn arrays(r: &[Self], first: usize, _: &Layout) -> Result<Vec<ArrayRef>> {
        Ok(vec![
            text(r.iter().map(|e| Some(e.subject.as_str()))),
            dict(r.iter().map(|e| Some(e.stage.as_str()))),
            times(r, first, "stage event", "at", |e| &e.at)?,
            Arc::new(r.iter().map(|e| e.cycle).collect::<UInt32Array>()),
            dict(r.iter().map(|e| e.reason.as_deref())),
        ])
    }
}

impl Encode for Touch {
    fn fields(_: &Layout) -> Vec<Field> {
        vec![
            required("subject_id", DataType::Utf8),
            required("channel", dict_type()),
            nullable("campaign", dict_type()),
            required("at", time_type()),
            nullable("cost", money_type()),
            nullable("currency", dict_type()),
        ]
    }

    fn arrays(r: &[Self], first: usize, _: &Layout) -> Result<Vec<ArrayRef>> {
        let [cost, currency] = money(r, first, "touch", "cost", |t| t.cost.as_ref())?;
        Ok(vec![
            text(r.iter().map(|t| Some(t.subject.as_str()))),
            dict(r.iter().map(|t| Some(t.channel.as_str()))),
            dict(r.iter().map(|t| campaign(t.campaign.as_ref()))),
            times(r, first, "touch", "at", |t| &t.at)?,
            cost,
            currency,
        ])
    }
}

impl Encode for Conversion {
    fn fields(_: &Layout) -> Vec<Field> {
        vec![
            required("subject_id", DataType::Utf8),
            required("at", time_type()),
            nullable("value", money_type()),
            nullable("currency", dict_type()),
        ]
    }

    fn arrays(r: &[Self], first: usize, _: &Layout) -> Result<Vec<ArrayRef>> {
        let [value, currency] = money(r, first, "conversion", "value", |c| c.value.as_ref())?;
        Ok(vec![
            text(r.iter().map(|c| Some(c.subject.as_str()))),
            times(r, first, "conversion", "at", |c| &c.at)?,
            value,
            currency,
        ])
    }
}

impl Encode for Spend {
    fn fields(_: &Layout) -> Vec<Field> {
        vec![
            required("channel", dict_type()),
            nullable("campaign", dict_type()),
            required("period_start", DataType::Date32),
            required("period_end", DataType::Date32),
            required("amount", money_type()),
            required("currency", dict_type()),
        ]
    }

    fn arrays(r: &[Self], first: usize, _: &Layout) -> Result<Vec<ArrayRef>> {
        let [amount, currency] = money(r, first, "spend", "amount", |s| Some(&s.amount))?;
        Ok(vec![
            dict(r.iter().map(|s| Some(s.channel.as_str()))),
            dict(r.iter().map(|s| campaign(s.campaign.as_ref()))),
            dates(r.iter().map(|s| Some(s.period_start))),
            dates(r.iter().map(|s| Some(s.period_end))),
            amount,
            currency,
        ])
    }
}

impl Encode for OpportunityChange {
    fn fields(_: &Layout) -> Vec<Field> {
        vec![
            required("opportunity_id", DataType::Utf8),
            required("changed_at", time_type()),
            required("stage", dict_type()),
            required("amount", money_type()),
            required("currency", dict_type()),
            nullable("close_date", DataType::Date32),
            nullable("probability", DataType::Float64),
            nullable("forecast_category", dict_type()),
            nullable("lead_id", DataType::Utf8),
        ]
    }

    fn arrays(r: &[Self], first: usize, _: &Layout) -> Result<Vec<ArrayRef>> {
        let kind = "opportunity change";
        let [amount, currency] = money(r, first, kind, "amount", |o| Some(&o.amount))?;
        Ok(vec![
            text(r.iter().map(|o| Some(o.opportunity.as_str()))),
            times(r, first, kind, "changed_at", |o| &o.changed_at)?,
            dict(r.iter().map(|o| Some(o.stage.as_str()))),
            amount,
            currency,
            dates(r.iter().map(|o| o.close_date)),
            floats(r.iter().map(|o| o.probability)),
            dict(
                r.iter()
                    .map(|o| o.forecast_category.as_ref().map(|c| c.as_str())),
            ),
            text(r.iter().map(|o| o.lead.as_ref().map(|l| l.as_str()))),
        ])
    }
}

impl Encode for PathRow {
    fn fields(_: &Layout) -> Vec<Field> {
        vec![
            required("path", DataType::Utf8),
            required("total_conversions", DataType::Float64),
            required("total_conversion_value", money_type()),
            required("total_null", DataType::Float64),
        ]
    }

    fn arrays(r: &[Self], first: usize, layout: &Layout) -> Result<Vec<ArrayRef>> {
        let sep = layout.path_separator.as_str();
        let mut paths = Vec::with_capacity(r.len());
        for (i, row) in r.iter().enumerate() {
            if let Some(c) = row.path.iter().find(|c| c.as_str().contains(sep)) {
                return Err(field_error(
                    "path",
                    first + i,
                    "path",
                    format!(
                        "channel `{}` contains the path separator `{}`, so the path would not read back",
                        Excerpt(c.as_str()),
                        Excerpt(sep)
                    ),
                ));
            }
            paths.push(
                row.path
                    .iter()
                    .map(Channel::as_str)
                    .collect::<Vec<_>>()
                    .join(sep),
            );
        }
        Ok(vec![
            text(paths.iter().map(|p| Some(p.as_str()))),
            floats(r.iter().map(|p| Some(p.conversions))),
            amounts(r.iter().map(|p| Some(p.value)), first, "path", "value")?,
            floats(r.iter().map(|p| Some(p.nulls))),
        ])
    }
}

impl Encode for ForecastPoint {
    fn fields(_: &Layout) -> Vec<Field> {
        vec![
            required("series", dict_type()),
            required("period", dict_type()),
            required("forecast", DataType::Float64),
            nullable("actual", DataType::Float64),
        ]
    }

    fn arrays(r: &[Self], _: usize, _: &Layout) -> Result<Vec<ArrayRef>> {
        Ok(vec![
            dict(r.iter().map(|p| Some(p.series.as_str()))),
            dict(r.iter().map(|p| Some(p.period.as_str()))),
            floats(r.iter().map(|p| Some(p.forecast))),
            floats(r.iter().map(|p| p.actual)),
        ])
    }
}

impl Encode for Lead {
    fn fields(layout: &Layout) -> Vec<Field> {
        let mut fields = vec![
            required("subject_id", DataType::Utf8),
            required("created_at", time_type()),
            nullable("source", dict_type()),
            nullable("campaign", dict_type()),
            nullable("account", DataType::Utf8),
            nullable("owner", dict_type()),
            nullable("segment", dict_type()),
        ];
        fields.extend(layout.attributes.iter().map(|a| nullable(a, dict_type())));
        fields
    }

    fn attributes(records: &[Self]) -> Result<Vec<String>> {
        let names: BTreeSet<&String> = records.iter().flat_map(|l| l.attributes.keys()).collect();
        attribute_columns(names.into_iter().cloned())
    }

    fn arrays(r: &[Self], first: usize, layout: &Layout) -> Result<Vec<ArrayRef>> {
        if let Some((i, name)) = r.iter().enumerate().find_map(|(i, l)| {
            l.attributes
                .keys()
                .find(|k| layout.attributes.binary_search(k).is_err())
                .map(|k| (i, k))
        }) {
            return Err(field_error(
                "lead",
                first + i,
                "attributes",
                format!(
                    "attribute `{}` has no column: declare it when creating the writer",
                    Excerpt(name)
                ),
            ));
        }
        let mut arrays = vec![
            text(r.iter().map(|l| Some(l.id.as_str()))),
            times(r, first, "lead", "created_at", |l| &l.created_at)?,
            dict(r.iter().map(|l| l.source.as_ref().map(Channel::as_str))),
            dict(r.iter().map(|l| campaign(l.campaign.as_ref()))),
            text(r.iter().map(|l| l.account.as_ref().map(|a| a.as_str()))),
            dict(r.iter().map(|l| l.owner.as_deref())),
            dict(r.iter().map(|l| l.segment.as_deref())),
        ];
        for name in &layout.attributes {
            arrays.push(dict(
                r.iter().map(|l| l.attributes.get(name).map(String::as_str)),
            ));
        }
        Ok(arrays)
    }
}
