//! How each record type maps to the columns of a record batch: which columns it
//! reads (and as what), and building one record from one row. The trait is sealed.

use arrow_array::RecordBatch;
use arrow_schema::Schema as ArrowSchema;
use csv::ByteRecord;

use super::column::{Column, Want};
use crate::csv::CsvRecord;
use crate::csv::field::{
    Ctx, Header, RowError, id, is_blank, key, opt_id, opt_text, utf8, validated,
};
use crate::csv::parse;
use crate::csv::schema::{LEAD_COLUMNS, PATH_FIELDS, looks_like_a_percentage};
use crate::ids::{AccountId, LeadId, OpportunityId};
use crate::money::{Currency, Money};
use crate::records::{
    Conversion, ForecastCategory, ForecastPoint, Lead, OpportunityChange, PathRow, Spend,
    StageEvent, Touch,
};
use rust_decimal::Decimal;

/// Whether a column must be there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Required,
    Optional,
}

use Need::{Optional, Required};

/// The columns of one batch, in the order of the schema's [`Table::SPEC`] (absent
/// optional columns are all-null), then the attribute columns (leads only).
pub struct Columns<'a> {
    pub(crate) fixed: Vec<Column<'a>>,
    pub(crate) attributes: Vec<Column<'a>>,
}

/// The canonical columns of a record type read from Arrow (implemented for the
/// record types only).
pub trait Table: CsvRecord {
    /// The columns read: name, what they hold, whether required.
    const SPEC: &'static [(&'static str, Want, Need)];
    /// Whether every other column is an attribute (leads).
    const ATTRIBUTES: bool = false;
    /// Checks rules between columns (a touch's `cost` needs `currency`).
    fn check(_present: &dyn Fn(&str) -> bool) -> Result<(), RowError> {
        Ok(())
    }
    /// Builds and validates the record of row `i`.
    fn decode(c: &Columns<'_>, i: usize, ctx: &mut Ctx) -> Result<Self, RowError>;
}

/// A schema's field names as a CSV header (trimmed, matched case-insensitively,
/// duplicates refused: the same rules as a CSV header row).
pub(crate) fn header(schema: &ArrowSchema) -> Result<Header, RowError> {
    let mut row = ByteRecord::new();
    for f in schema.fields() {
        row.push_field(f.name().as_bytes());
    }
    Header::parse(&row)
}

/// The positions of the columns `T` reads in a schema: each fixed column (`None`
/// when an optional one is absent), then the attributes.
pub(crate) fn positions<T: Table>(
    header: &Header,
) -> Result<(Vec<Option<usize>>, Vec<usize>), RowError> {
    let mut fixed = Vec::with_capacity(T::SPEC.len());
    for &(name, _, need) in T::SPEC {
        fixed.push(match need {
            Required => Some(header.required(name)?),
            Optional => header.optional(name),
        });
    }
    T::check(&|name| header.optional(name).is_some())?;
    let mut attributes = Vec::new();
    if T::ATTRIBUTES {
        for (i, normal, original) in header.columns() {
            if LEAD_COLUMNS.contains(&normal) {
                continue;
            }
            if original.is_empty() {
                return Err(RowError::row(format!(
                    "column {} has no name (every extra column of leads is an attribute)",
                    i + 1
                )));
            }
            attributes.push(i);
        }
    }
    Ok((fixed, attributes))
}

/// The columns of `batch` that `T` reads, typed.
pub(crate) fn columns<'a, T: Table>(
    batch: &'a RecordBatch,
    header: &Header,
) -> Result<Columns<'a>, RowError> {
    let (fixed, attributes) = positions::<T>(header)?;
    let schema = batch.schema_ref();
    let mut out = Columns {
        fixed: Vec::with_capacity(fixed.len()),
        attributes: Vec::with_capacity(attributes.len()),
    };
    for (&(name, want, _), at) in T::SPEC.iter().zip(fixed) {
        out.fixed.push(match at {
            Some(i) => Column::of(batch, i, name, want)?,
            None => Column::absent(name),
        });
    }
    for i in attributes {
        let name = schema.field(i).name().trim();
        out.attributes
            .push(Column::of(batch, i, name, Want::Attribute)?);
    }
    Ok(out)
}

impl Table for StageEvent {
    const SPEC: &'static [(&'static str, Want, Need)] = &[
        ("subject_id", Want::Text, Required),
        ("stage", Want::Text, Required),
        ("at", Want::Time, Required),
        ("cycle", Want::Whole, Optional),
        ("reason", Want::Text, Optional),
    ];

    fn decode(c: &Columns<'_>, i: usize, ctx: &mut Ctx) -> Result<Self, RowError> {
        let c = &c.fixed;
        let e = StageEvent {
            subject: ctx.subject(c[0].bytes(i), "subject_id")?,
            stage: key(c[1].bytes(i), "stage")?,
            at: c[2].timestamp(i)?,
            cycle: c[3].opt_u32(i)?,
            reason: opt_text(c[4].bytes(i), "reason")?,
        };
        validated(e.validate(), &[])?;
        Ok(e)
    }
}

/// Money whose amount may be null or blank (then `None`, whatever the currency holds).
fn opt_money(
    amount: &Column<'_>,
    currency: &Column<'_>,
    i: usize,
    ctx: &mut Ctx,
) -> Result<Option<Money>, RowError> {
    match amount.opt_decimal(i)? {
        Some(a) => {
            let c = ctx.currency(currency.bytes(i), "currency")?;
            Ok(Some(Money::new(at_minor_units(amount, a, c), c)))
        }
        None => Ok(None),
    }
}

/// A typed amount (Decimal128 or an integer: the column's scale, not the writer's,
/// sets its digits) at the currency's minor units when it has no more decimals
/// (`1250.100000000` USD is `1250.10`), as it would be written in CSV; text is kept
/// as written.
fn at_minor_units(column: &Column<'_>, a: Decimal, c: Currency) -> Decimal {
    if column.is_text() {
        return a;
    }
    let mut a = a.normalize();
    let minor = u32::from(c.minor_units());
    if a.scale() < minor {
        a.rescale(minor);
    }
    a
}

fn money(
    amount: &Column<'_>,
    currency: &Column<'_>,
    i: usize,
    ctx: &mut Ctx,
) -> Result<Money, RowError> {
    let a = amount.decimal(i)?;
    let c = ctx.currency(currency.bytes(i), "currency")?;
    Ok(Money::new(at_minor_units(amount, a, c), c))
}

impl Table for Touch {
    const SPEC: &'static [(&'static str, Want, Need)] = &[
        ("subject_id", Want::Text, Required),
        ("channel", Want::Text, Required),
        ("campaign", Want::Text, Required),
        ("at", Want::Time, Required),
        ("cost", Want::Decimal, Optional),
        ("currency", Want::Text, Optional),
    ];

    fn check(present: &dyn Fn(&str) -> bool) -> Result<(), RowError> {
        if present("cost") && !present("currency") {
            return Err(RowError::new(
                "currency",
                "missing column `currency` (required with `cost`)",
            ));
        }
        Ok(())
    }

    fn decode(c: &Columns<'_>, i: usize, ctx: &mut Ctx) -> Result<Self, RowError> {
        let c = &c.fixed;
        let t = Touch {
            subject: ctx.subject(c[0].bytes(i), "subject_id")?,
            channel: ctx.channel(c[1].bytes(i), "channel")?,
            campaign: ctx.opt_campaign(c[2].bytes(i), "campaign")?,
            at: c[3].timestamp(i)?,
            cost: opt_money(&c[4], &c[5], i, ctx)?,
        };
        validated(t.validate(), &[])?;
        Ok(t)
    }
}

impl Table for Conversion {
    const SPEC: &'static [(&'static str, Want, Need)] = &[
        ("subject_id", Want::Text, Required),
        ("at", Want::Time, Required),
        ("value", Want::Decimal, Required),
        ("currency", Want::Text, Required),
    ];

    fn decode(c: &Columns<'_>, i: usize, ctx: &mut Ctx) -> Result<Self, RowError> {
        let c = &c.fixed;
        let conversion = Conversion {
            subject: ctx.subject(c[0].bytes(i), "subject_id")?,
            at: c[1].timestamp(i)?,
            value: opt_money(&c[2], &c[3], i, ctx)?,
        };
        validated(conversion.validate(), &[])?;
        Ok(conversion)
    }
}

impl Table for Spend {
    const SPEC: &'static [(&'static str, Want, Need)] = &[
        ("channel", Want::Text, Required),
        ("campaign", Want::Text, Required),
        ("period_start", Want::Date, Required),
        ("period_end", Want::Date, Required),
        ("amount", Want::Decimal, Required),
        ("currency", Want::Text, Required),
    ];

    fn decode(c: &Columns<'_>, i: usize, ctx: &mut Ctx) -> Result<Self, RowError> {
        let c = &c.fixed;
        let s = Spend {
            channel: ctx.channel(c[0].bytes(i), "channel")?,
            campaign: ctx.opt_campaign(c[1].bytes(i), "campaign")?,
            period_start: c[2].date(i)?,
            period_end: c[3].date(i)?,
            amount: money(&c[4], &c[5], i, ctx)?,
        };
        validated(s.validate(), &[])?;
        Ok(s)
    }
}

impl Table for OpportunityChange {
    const SPEC: &'static [(&'static str, Want, Need)] = &[
        ("opportunity_id", Want::Text, Required),
        ("changed_at", Want::Time, Required),
        ("stage", Want::Text, Required),
        ("amount", Want::Decimal, Required),
        ("currency", Want::Text, Required),
        ("close_date", Want::Date, Required),
        ("probability", Want::Number, Required),
        ("forecast_category", Want::Text, Required),
        ("lead_id", Want::Text, Optional),
    ];

    fn decode(c: &Columns<'_>, i: usize, ctx: &mut Ctx) -> Result<Self, RowError> {
        let c = &c.fixed;
        let opportunity: OpportunityId = id(c[0].bytes(i), "opportunity_id")?;
        let changed_at = c[1].timestamp(i)?;
        let stage = key(c[2].bytes(i), "stage")?;
        let amount = money(&c[3], &c[4], i, ctx)?;
        let close_date = c[5].opt_date(i)?;
        let probability = match c[6].opt_float(i)? {
            Some((p, text)) if looks_like_a_percentage(text, p) => {
                return Err(RowError::new(
                    "probability",
                    format!(
                        "{p} is outside [0, 1]: give probabilities as fractions (0.75), not percentages (75)"
                    ),
                ));
            }
            p => p.map(|(p, _)| p),
        };
        let forecast_category = forecast_category(c[7].bytes(i))?;
        let lead: Option<LeadId> = opt_id(c[8].bytes(i), "lead_id")?;
        let change = OpportunityChange {
            opportunity,
            changed_at,
            stage,
            amount,
            close_date,
            probability,
            forecast_category,
            lead,
        };
        validated(change.validate(), &[])?;
        Ok(change)
    }
}

fn forecast_category(b: &[u8]) -> Result<Option<ForecastCategory>, RowError> {
    if is_blank(b) {
        return Ok(None);
    }
    utf8(b, "forecast_category")?
        .parse::<ForecastCategory>()
        .map(Some)
        .map_err(|_| {
            RowError::new(
                "forecast_category",
                format!(
                    "`{}` is not a forecast category (expected pipeline, best_case, most_likely, commit, closed or omitted)",
                    parse::excerpt(b)
                ),
            )
        })
}

impl Table for PathRow {
    const SPEC: &'static [(&'static str, Want, Need)] = &[
        ("path", Want::Text, Required),
        ("total_conversions", Want::Number, Required),
        ("total_conversion_value", Want::Decimal, Required),
        ("total_null", Want::Number, Required),
    ];

    fn decode(c: &Columns<'_>, i: usize, ctx: &mut Ctx) -> Result<Self, RowError> {
        let c = &c.fixed;
        let path = ctx.path(utf8(c[0].bytes(i), "path")?, "path")?;
        let row = PathRow {
            path,
            conversions: c[1].float(i)?,
            // A typed value without its trailing zeros (a Decimal128(38, 9) column
            // would give every value 9 decimals); text is kept as written.
            value: match c[2].decimal(i)? {
                v if c[2].is_text() => v,
                v => v.normalize(),
            },
            nulls: c[3].float(i)?,
        };
        validated(row.validate(0), PATH_FIELDS)?;
        Ok(row)
    }
}

impl Table for ForecastPoint {
    const SPEC: &'static [(&'static str, Want, Need)] = &[
        ("series", Want::Text, Required),
        ("period", Want::Text, Required),
        ("forecast", Want::Number, Required),
        ("actual", Want::Number, Required),
    ];

    fn decode(c: &Columns<'_>, i: usize, _: &mut Ctx) -> Result<Self, RowError> {
        let c = &c.fixed;
        let p = ForecastPoint {
            series: key(c[0].bytes(i), "series")?,
            period: key(c[1].bytes(i), "period")?,
            forecast: c[2].float(i)?,
            actual: c[3].opt_float(i)?.map(|(v, _)| v),
        };
        validated(p.validate(), &[])?;
        Ok(p)
    }
}

impl Table for Lead {
    const SPEC: &'static [(&'static str, Want, Need)] = &[
        ("subject_id", Want::Text, Required),
        ("created_at", Want::Time, Required),
        ("source", Want::Text, Required),
        ("campaign", Want::Text, Optional),
        ("account", Want::Text, Optional),
        ("owner", Want::Text, Optional),
        ("segment", Want::Text, Optional),
    ];
    const ATTRIBUTES: bool = true;

    fn decode(c: &Columns<'_>, i: usize, ctx: &mut Ctx) -> Result<Self, RowError> {
        let f = &c.fixed;
        let mut lead = Lead::new(
            id::<LeadId>(f[0].bytes(i), "subject_id")?,
            f[1].timestamp(i)?,
        );
        lead.source = ctx.opt_channel(f[2].bytes(i), "source")?;
        lead.campaign = ctx.opt_campaign(f[3].bytes(i), "campaign")?;
        lead.account = opt_id::<AccountId>(f[4].bytes(i), "account")?;
        lead.owner = opt_text(f[5].bytes(i), "owner")?;
        lead.segment = opt_text(f[6].bytes(i), "segment")?;
        for a in &c.attributes {
            if let Some(value) = a.attribute(i)? {
                lead.attributes.insert(a.name().to_string(), value);
            }
        }
        validated(lead.validate(), &[])?;
        Ok(lead)
    }
}
