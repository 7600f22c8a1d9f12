//! How each record type maps to its columns: header resolution, decoding a row and
//! encoding a record. The trait is sealed: the set of schemas is the crate's.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Display;
use std::io::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use csv::ByteRecord;
use rust_decimal::Decimal;

use super::parse;
use crate::error::Error;
use crate::ids::{AccountId, CampaignId, Channel, LeadId, OpportunityId, SubjectId};
use crate::money::{Currency, Money};
use crate::records::{
    Conversion, ForecastCategory, ForecastPoint, Lead, OpportunityChange, PathRow, Spend,
    StageEvent, Touch,
};

/// A problem with one row (or the header), before the reader knows where the row is.
#[derive(Debug)]
pub struct RowError {
    /// The column, when the problem is in one field.
    pub column: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl RowError {
    /// A problem in one column.
    pub fn new(column: impl Into<String>, reason: impl Into<String>) -> RowError {
        RowError {
            column: Some(column.into()),
            reason: reason.into(),
        }
    }

    /// A problem with the row as a whole.
    pub fn row(reason: impl Into<String>) -> RowError {
        RowError {
            column: None,
            reason: reason.into(),
        }
    }

    /// The crate error for this problem at `line` of `source_name`.
    pub fn at(self, source_name: &str, line: u64) -> Error {
        Error::Csv {
            source_name: source_name.to_string(),
            line,
            column: self.column,
            reason: self.reason,
        }
    }
}

/// The header row: each column's name trimmed, and lower-cased for matching.
#[derive(Debug)]
pub struct Header {
    names: Vec<(String, String)>,
}

impl Header {
    /// Reads the header row. A UTF-8 byte-order mark before the first name is dropped;
    /// two columns with the same (case-insensitive) name are an error.
    pub fn parse(row: &ByteRecord) -> Result<Header, RowError> {
        let mut names = Vec::with_capacity(row.len());
        let mut seen = HashSet::with_capacity(row.len());
        for (i, raw) in row.iter().enumerate() {
            let s = std::str::from_utf8(raw).map_err(|_| {
                RowError::row(format!("header column {} is not valid UTF-8", i + 1))
            })?;
            let s = if i == 0 {
                s.strip_prefix('\u{feff}').unwrap_or(s)
            } else {
                s
            };
            let original = s.trim();
            let normal = original.to_lowercase();
            if !normal.is_empty() && !seen.insert(normal.clone()) {
                return Err(RowError::new(
                    original,
                    format!("duplicate column `{original}` in the header"),
                ));
            }
            names.push((normal, original.to_string()));
        }
        Ok(Header { names })
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// The position of a column that may be absent.
    pub fn optional(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|(n, _)| n == name)
    }

    /// The position of a column the schema needs.
    pub fn required(&self, name: &'static str) -> Result<usize, RowError> {
        self.optional(name)
            .ok_or_else(|| RowError::new(name, format!("missing required column `{name}`")))
    }
}

/// Remembers values already built from the same bytes (channels, campaigns), up to a
/// bound, so that repeated strings share one allocation.
#[derive(Debug)]
struct Cache<T> {
    map: HashMap<Box<[u8]>, T>,
}

const CACHE_LIMIT: usize = 4096;

impl<T: Clone> Cache<T> {
    fn new() -> Self {
        Cache {
            map: HashMap::new(),
        }
    }

    fn get_or(
        &mut self,
        key: &[u8],
        make: impl FnOnce() -> Result<T, RowError>,
    ) -> Result<T, RowError> {
        if let Some(v) = self.map.get(key) {
            return Ok(v.clone());
        }
        let v = make()?;
        if self.map.len() < CACHE_LIMIT {
            self.map.insert(key.into(), v.clone());
        }
        Ok(v)
    }
}

/// Per-reader decoding state: the path separator and caches of repeated values.
#[derive(Debug)]
pub struct Ctx {
    path_separator: String,
    last_subject: Option<SubjectId>,
    channels: Cache<Channel>,
    campaigns: Cache<CampaignId>,
    currencies: Vec<(Box<[u8]>, Currency)>,
}

impl Ctx {
    /// Fresh state for one reader.
    pub fn new(path_separator: &str) -> Ctx {
        Ctx {
            path_separator: path_separator.to_string(),
            last_subject: None,
            channels: Cache::new(),
            campaigns: Cache::new(),
            currencies: Vec::new(),
        }
    }

    /// A subject id; consecutive rows of the same subject share the string.
    fn subject(&mut self, b: &[u8], column: &'static str) -> Result<SubjectId, RowError> {
        let t = b.trim_ascii();
        if let Some(s) = &self.last_subject
            && s.as_str().as_bytes() == t
        {
            return Ok(s.clone());
        }
        let id: SubjectId = id(t, column)?;
        self.last_subject = Some(id.clone());
        Ok(id)
    }

    fn channel(&mut self, b: &[u8], column: &'static str) -> Result<Channel, RowError> {
        let t = b.trim_ascii();
        self.channels.get_or(t, || id(t, column))
    }

    fn opt_channel(&mut self, b: &[u8], column: &'static str) -> Result<Option<Channel>, RowError> {
        if is_blank(b) {
            Ok(None)
        } else {
            self.channel(b, column).map(Some)
        }
    }

    fn opt_campaign(
        &mut self,
        b: &[u8],
        column: &'static str,
    ) -> Result<Option<CampaignId>, RowError> {
        if is_blank(b) {
            return Ok(None);
        }
        let t = b.trim_ascii();
        self.campaigns.get_or(t, || id(t, column)).map(Some)
    }

    fn currency(&mut self, b: &[u8], column: &'static str) -> Result<Currency, RowError> {
        let t = b.trim_ascii();
        if let Some((_, c)) = self.currencies.iter().find(|(k, _)| **k == *t) {
            return Ok(*c);
        }
        if t.is_empty() {
            return Err(RowError::new(column, "empty: a currency code is required"));
        }
        let c: Currency = utf8(t, column)?
            .parse()
            .map_err(|e: Error| RowError::new(column, e.to_string()))?;
        if self.currencies.len() < 16 {
            self.currencies.push((t.into(), c));
        }
        Ok(c)
    }

    fn money(
        &mut self,
        amount: (&[u8], &'static str),
        currency: (&[u8], &'static str),
    ) -> Result<Money, RowError> {
        let a = decimal(amount.0, amount.1)?;
        Ok(Money::new(a, self.currency(currency.0, currency.1)?))
    }

    /// Money whose amount may be empty (then `None`, whatever the currency cell holds).
    fn opt_money(
        &mut self,
        amount: (&[u8], &'static str),
        currency: (&[u8], &'static str),
    ) -> Result<Option<Money>, RowError> {
        if is_blank(amount.0) {
            Ok(None)
        } else {
            self.money(amount, currency).map(Some)
        }
    }
}

// ---- field decoding -------------------------------------------------------------

#[inline]
fn field(row: &ByteRecord, i: usize) -> &[u8] {
    row.get(i).unwrap_or_default()
}

#[inline]
fn opt_field(row: &ByteRecord, i: Option<usize>) -> &[u8] {
    i.and_then(|i| row.get(i)).unwrap_or_default()
}

/// Empty or only whitespace (ASCII or Unicode).
fn is_blank(b: &[u8]) -> bool {
    let t = b.trim_ascii();
    t.is_empty() || std::str::from_utf8(t).is_ok_and(|s| s.trim().is_empty())
}

fn utf8<'a>(b: &'a [u8], column: &str) -> Result<&'a str, RowError> {
    std::str::from_utf8(b).map_err(|_| RowError::new(column, "not valid UTF-8"))
}

fn id<T>(b: &[u8], column: &str) -> Result<T, RowError>
where
    T: for<'a> TryFrom<&'a str, Error = Error>,
{
    T::try_from(utf8(b, column)?).map_err(|_| RowError::new(column, "empty id"))
}

fn opt_id<T>(b: &[u8], column: &str) -> Result<Option<T>, RowError>
where
    T: for<'a> TryFrom<&'a str, Error = Error>,
{
    if is_blank(b) {
        Ok(None)
    } else {
        id(b, column).map(Some)
    }
}

/// A key (stage, series, period): trimmed, non-empty.
fn key(b: &[u8], column: &str) -> Result<String, RowError> {
    let s = utf8(b, column)?.trim();
    if s.is_empty() {
        Err(RowError::new(column, "empty: a value is required"))
    } else {
        Ok(s.to_string())
    }
}

/// Free text kept as written; blank is `None`.
fn opt_text(b: &[u8], column: &str) -> Result<Option<String>, RowError> {
    let s = utf8(b, column)?;
    Ok((!s.trim().is_empty()).then(|| s.to_string()))
}

fn required<T>(
    b: &[u8],
    column: &str,
    what: &str,
    example: &str,
    parse: impl FnOnce(&[u8]) -> Option<T>,
) -> Result<T, RowError> {
    if b.trim_ascii().is_empty() {
        return Err(RowError::new(column, format!("empty: {what} is required")));
    }
    parse(b).ok_or_else(|| {
        RowError::new(
            column,
            format!("`{}` is not {what} ({example})", parse::excerpt(b)),
        )
    })
}

fn optional<T>(
    b: &[u8],
    column: &str,
    what: &str,
    example: &str,
    parse: impl FnOnce(&[u8]) -> Option<T>,
) -> Result<Option<T>, RowError> {
    if is_blank(b) {
        Ok(None)
    } else {
        required(b, column, what, example, parse).map(Some)
    }
}

const TIMESTAMP: (&str, &str) = (
    "a timestamp",
    "expected RFC 3339 such as 2026-03-04T10:11:12Z, `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DD`",
);
const DATE: (&str, &str) = ("a date", "expected `YYYY-MM-DD`");
const DECIMAL: (&str, &str) = (
    "a decimal number",
    "expected digits with an optional sign and `.`, such as 1250.10",
);
const NUMBER: (&str, &str) = ("a number", "expected a number such as 0.75 or 12");

fn timestamp(b: &[u8], column: &str) -> Result<DateTime<Utc>, RowError> {
    required(b, column, TIMESTAMP.0, TIMESTAMP.1, parse::timestamp)
}

fn date(b: &[u8], column: &str) -> Result<NaiveDate, RowError> {
    required(b, column, DATE.0, DATE.1, parse::date)
}

fn decimal(b: &[u8], column: &str) -> Result<Decimal, RowError> {
    required(b, column, DECIMAL.0, DECIMAL.1, parse::decimal)
}

fn float(b: &[u8], column: &str) -> Result<f64, RowError> {
    required(b, column, NUMBER.0, NUMBER.1, parse::float)
}

fn opt_float(b: &[u8], column: &str) -> Result<Option<f64>, RowError> {
    optional(b, column, NUMBER.0, NUMBER.1, parse::float)
}

/// Turns a record's `validate()` error into a row error on the matching column;
/// `columns` maps record field names to column names where they differ.
fn validated(result: crate::Result<()>, columns: &[(&str, &'static str)]) -> Result<(), RowError> {
    result.map_err(|e| match e {
        Error::InvalidField { field, reason, .. } => {
            let column = columns
                .iter()
                .find(|(f, _)| *f == field)
                .map_or(field, |(_, c)| *c);
            RowError::new(column, reason)
        }
        Error::InvalidPeriod { start, end, .. } => RowError::new(
            "period_end",
            format!("the period ends ({end}) before it starts ({start})"),
        ),
        other => RowError::row(other.to_string()),
    })
}

// ---- encoding ---------------------------------------------------------------------

/// A field a writer cannot represent so that it reads back the same.
#[derive(Debug)]
pub struct EncodeError {
    /// The record's field.
    pub field: &'static str,
    /// Why it cannot be written.
    pub reason: String,
}

/// The row being written, and scratch space for formatting.
#[derive(Debug)]
pub struct Fields {
    /// The fields of the row so far.
    pub record: ByteRecord,
    scratch: Vec<u8>,
    path_separator: String,
}

impl Fields {
    /// An empty row for a writer that joins paths with `path_separator`.
    pub fn new(path_separator: &str) -> Fields {
        Fields {
            record: ByteRecord::new(),
            scratch: Vec::with_capacity(64),
            path_separator: path_separator.to_string(),
        }
    }

    fn text(&mut self, s: &str) {
        self.record.push_field(s.as_bytes());
    }

    fn opt_text(&mut self, s: Option<&str>) {
        self.text(s.unwrap_or(""));
    }

    fn display(&mut self, v: impl Display) {
        self.scratch.clear();
        // Writing into a Vec<u8> cannot fail.
        let _ = write!(self.scratch, "{v}");
        self.record.push_field(&self.scratch);
    }

    fn opt_display(&mut self, v: Option<impl Display>) {
        match v {
            Some(v) => self.display(v),
            None => self.text(""),
        }
    }

    fn timestamp(&mut self, t: &DateTime<Utc>, field: &'static str) -> Result<(), EncodeError> {
        self.scratch.clear();
        parse::write_timestamp(&mut self.scratch, t)
            .map_err(|reason| EncodeError { field, reason })?;
        self.record.push_field(&self.scratch);
        Ok(())
    }

    fn opt_date(&mut self, d: Option<NaiveDate>, field: &'static str) -> Result<(), EncodeError> {
        self.scratch.clear();
        if let Some(d) = d {
            parse::write_date(&mut self.scratch, d)
                .map_err(|reason| EncodeError { field, reason })?;
        }
        self.record.push_field(&self.scratch);
        Ok(())
    }

    fn date(&mut self, d: NaiveDate, field: &'static str) -> Result<(), EncodeError> {
        self.opt_date(Some(d), field)
    }

    /// Two fields: the amount and the currency (both empty for `None`).
    fn opt_money(&mut self, m: Option<&Money>) {
        self.opt_display(m.map(Money::amount));
        self.opt_display(m.map(Money::currency));
    }
}

// ---- the schemas ------------------------------------------------------------------

/// One canonical CSV schema (implemented for the record types only).
pub trait Schema: Sized {
    /// The record kind named in writer errors.
    const KIND: &'static str;
    /// Where each column sits in the file being read.
    type Columns;
    /// Finds the columns in the header.
    fn resolve(header: &Header) -> Result<Self::Columns, RowError>;
    /// Builds and validates one record from a row that has as many fields as the header.
    fn decode(columns: &Self::Columns, row: &ByteRecord, ctx: &mut Ctx) -> Result<Self, RowError>;
    /// Columns to write after the fixed ones (lead attributes), given all the records.
    fn extra_columns(_records: &[Self]) -> crate::Result<Vec<String>> {
        Ok(Vec::new())
    }
    /// Appends the record's fields to `out.record`.
    fn encode(&self, extra: &[String], out: &mut Fields) -> Result<(), EncodeError>;
}

/// Columns of `stage_events.csv`.
#[derive(Debug)]
pub struct StageEventColumns {
    subject: usize,
    stage: usize,
    at: usize,
    cycle: Option<usize>,
    reason: Option<usize>,
}

impl Schema for StageEvent {
    const KIND: &'static str = "stage event";
    type Columns = StageEventColumns;

    fn resolve(h: &Header) -> Result<Self::Columns, RowError> {
        Ok(StageEventColumns {
            subject: h.required("subject_id")?,
            stage: h.required("stage")?,
            at: h.required("at")?,
            cycle: h.optional("cycle"),
            reason: h.optional("reason"),
        })
    }

    fn decode(c: &Self::Columns, row: &ByteRecord, ctx: &mut Ctx) -> Result<Self, RowError> {
        let e = StageEvent {
            subject: ctx.subject(field(row, c.subject), "subject_id")?,
            stage: key(field(row, c.stage), "stage")?,
            at: timestamp(field(row, c.at), "at")?,
            cycle: optional(
                opt_field(row, c.cycle),
                "cycle",
                "a whole number",
                "expected 0 to 4294967295",
                parse::unsigned,
            )?,
            reason: opt_text(opt_field(row, c.reason), "reason")?,
        };
        validated(e.validate(), &[])?;
        Ok(e)
    }

    fn encode(&self, _: &[String], out: &mut Fields) -> Result<(), EncodeError> {
        out.text(self.subject.as_str());
        out.text(&self.stage);
        out.timestamp(&self.at, "at")?;
        out.opt_display(self.cycle);
        out.opt_text(self.reason.as_deref());
        Ok(())
    }
}

/// Columns of `touches.csv`.
#[derive(Debug)]
pub struct TouchColumns {
    subject: usize,
    channel: usize,
    campaign: usize,
    at: usize,
    cost: Option<(usize, usize)>,
}

impl Schema for Touch {
    const KIND: &'static str = "touch";
    type Columns = TouchColumns;

    fn resolve(h: &Header) -> Result<Self::Columns, RowError> {
        let cost = match (h.optional("cost"), h.optional("currency")) {
            (Some(cost), Some(currency)) => Some((cost, currency)),
            (Some(_), None) => {
                return Err(RowError::new(
                    "currency",
                    "missing column `currency` (required with `cost`)",
                ));
            }
            (None, _) => None,
        };
        Ok(TouchColumns {
            subject: h.required("subject_id")?,
            channel: h.required("channel")?,
            campaign: h.required("campaign")?,
            at: h.required("at")?,
            cost,
        })
    }

    fn decode(c: &Self::Columns, row: &ByteRecord, ctx: &mut Ctx) -> Result<Self, RowError> {
        let subject = ctx.subject(field(row, c.subject), "subject_id")?;
        let channel = ctx.channel(field(row, c.channel), "channel")?;
        let campaign = ctx.opt_campaign(field(row, c.campaign), "campaign")?;
        let at = timestamp(field(row, c.at), "at")?;
        let cost = match c.cost {
            Some((cost, currency)) => ctx.opt_money(
                (field(row, cost), "cost"),
                (field(row, currency), "currency"),
            )?,
            None => None,
        };
        let t = Touch {
            subject,
            channel,
            campaign,
            at,
            cost,
        };
        validated(t.validate(), &[])?;
        Ok(t)
    }

    fn encode(&self, _: &[String], out: &mut Fields) -> Result<(), EncodeError> {
        out.text(self.subject.as_str());
        out.text(self.channel.as_str());
        out.opt_text(self.campaign.as_ref().map(CampaignId::as_str));
        out.timestamp(&self.at, "at")?;
        out.opt_money(self.cost.as_ref());
        Ok(())
    }
}

/// Columns of `conversions.csv`.
#[derive(Debug)]
pub struct ConversionColumns {
    subject: usize,
    at: usize,
    value: usize,
    currency: usize,
}

impl Schema for Conversion {
    const KIND: &'static str = "conversion";
    type Columns = ConversionColumns;

    fn resolve(h: &Header) -> Result<Self::Columns, RowError> {
        Ok(ConversionColumns {
            subject: h.required("subject_id")?,
            at: h.required("at")?,
            value: h.required("value")?,
            currency: h.required("currency")?,
        })
    }

    fn decode(c: &Self::Columns, row: &ByteRecord, ctx: &mut Ctx) -> Result<Self, RowError> {
        let subject = ctx.subject(field(row, c.subject), "subject_id")?;
        let at = timestamp(field(row, c.at), "at")?;
        let value = ctx.opt_money(
            (field(row, c.value), "value"),
            (field(row, c.currency), "currency"),
        )?;
        let conversion = Conversion { subject, at, value };
        validated(conversion.validate(), &[])?;
        Ok(conversion)
    }

    fn encode(&self, _: &[String], out: &mut Fields) -> Result<(), EncodeError> {
        out.text(self.subject.as_str());
        out.timestamp(&self.at, "at")?;
        out.opt_money(self.value.as_ref());
        Ok(())
    }
}

/// Columns of `spend.csv`.
#[derive(Debug)]
pub struct SpendColumns {
    channel: usize,
    campaign: usize,
    period_start: usize,
    period_end: usize,
    amount: usize,
    currency: usize,
}

impl Schema for Spend {
    const KIND: &'static str = "spend";
    type Columns = SpendColumns;

    fn resolve(h: &Header) -> Result<Self::Columns, RowError> {
        Ok(SpendColumns {
            channel: h.required("channel")?,
            campaign: h.required("campaign")?,
            period_start: h.required("period_start")?,
            period_end: h.required("period_end")?,
            amount: h.required("amount")?,
            currency: h.required("currency")?,
        })
    }

    fn decode(c: &Self::Columns, row: &ByteRecord, ctx: &mut Ctx) -> Result<Self, RowError> {
        let s = Spend {
            channel: ctx.channel(field(row, c.channel), "channel")?,
            campaign: ctx.opt_campaign(field(row, c.campaign), "campaign")?,
            period_start: date(field(row, c.period_start), "period_start")?,
            period_end: date(field(row, c.period_end), "period_end")?,
            amount: ctx.money(
                (field(row, c.amount), "amount"),
                (field(row, c.currency), "currency"),
            )?,
        };
        validated(s.validate(), &[])?;
        Ok(s)
    }

    fn encode(&self, _: &[String], out: &mut Fields) -> Result<(), EncodeError> {
        out.text(self.channel.as_str());
        out.opt_text(self.campaign.as_ref().map(CampaignId::as_str));
        out.date(self.period_start, "period_start")?;
        out.date(self.period_end, "period_end")?;
        out.opt_money(Some(&self.amount));
        Ok(())
    }
}

/// Columns of `opportunity_history.csv`.
#[derive(Debug)]
pub struct OpportunityChangeColumns {
    opportunity: usize,
    changed_at: usize,
    stage: usize,
    amount: usize,
    currency: usize,
    close_date: usize,
    probability: usize,
    forecast_category: usize,
}

impl Schema for OpportunityChange {
    const KIND: &'static str = "opportunity change";
    type Columns = OpportunityChangeColumns;

    fn resolve(h: &Header) -> Result<Self::Columns, RowError> {
        Ok(OpportunityChangeColumns {
            opportunity: h.required("opportunity_id")?,
            changed_at: h.required("changed_at")?,
            stage: h.required("stage")?,
            amount: h.required("amount")?,
            currency: h.required("currency")?,
            close_date: h.required("close_date")?,
            probability: h.required("probability")?,
            forecast_category: h.required("forecast_category")?,
        })
    }

    fn decode(c: &Self::Columns, row: &ByteRecord, ctx: &mut Ctx) -> Result<Self, RowError> {
        let opportunity: OpportunityId = id(field(row, c.opportunity), "opportunity_id")?;
        let changed_at = timestamp(field(row, c.changed_at), "changed_at")?;
        let stage = key(field(row, c.stage), "stage")?;
        let amount = ctx.money(
            (field(row, c.amount), "amount"),
            (field(row, c.currency), "currency"),
        )?;
        let close_date = optional(
            field(row, c.close_date),
            "close_date",
            DATE.0,
            DATE.1,
            parse::date,
        )?;
        let probability = opt_float(field(row, c.probability), "probability")?;
        if let Some(p) = probability
            && p > 1.0
            && p <= 100.0
        {
            return Err(RowError::new(
                "probability",
                format!(
                    "{p} is outside [0, 1]: give probabilities as fractions (0.75), not percentages (75)"
                ),
            ));
        }
        let forecast_category = {
            let b = field(row, c.forecast_category);
            if is_blank(b) {
                None
            } else {
                Some(
                    utf8(b, "forecast_category")?
                        .parse::<ForecastCategory>()
                        .map_err(|_| {
                            RowError::new(
                                "forecast_category",
                                format!(
                                    "`{}` is not a forecast category (expected pipeline, best_case, most_likely, commit, closed or omitted)",
                                    parse::excerpt(b)
                                ),
                            )
                        })?,
                )
            }
        };
        let change = OpportunityChange {
            opportunity,
            changed_at,
            stage,
            amount,
            close_date,
            probability,
            forecast_category,
        };
        validated(change.validate(), &[])?;
        Ok(change)
    }

    fn encode(&self, _: &[String], out: &mut Fields) -> Result<(), EncodeError> {
        out.text(self.opportunity.as_str());
        out.timestamp(&self.changed_at, "changed_at")?;
        out.text(&self.stage);
        out.opt_money(Some(&self.amount));
        out.opt_date(self.close_date, "close_date")?;
        out.opt_display(self.probability);
        out.opt_text(
            self.forecast_category
                .as_ref()
                .map(ForecastCategory::as_str),
        );
        Ok(())
    }
}

/// Columns of `paths.csv`.
#[derive(Debug)]
pub struct PathColumns {
    path: usize,
    conversions: usize,
    value: usize,
    nulls: usize,
}

/// `PathRow`'s field names and the columns that hold them.
const PATH_FIELDS: &[(&str, &str)] = &[
    ("conversions", "total_conversions"),
    ("value", "total_conversion_value"),
    ("nulls", "total_null"),
];

impl Schema for PathRow {
    const KIND: &'static str = "path";
    type Columns = PathColumns;

    fn resolve(h: &Header) -> Result<Self::Columns, RowError> {
        Ok(PathColumns {
            path: h.required("path")?,
            conversions: h.required("total_conversions")?,
            value: h.required("total_conversion_value")?,
            nulls: h.required("total_null")?,
        })
    }

    fn decode(c: &Self::Columns, row: &ByteRecord, ctx: &mut Ctx) -> Result<Self, RowError> {
        let text = utf8(field(row, c.path), "path")?;
        if text.trim().is_empty() {
            return Err(RowError::new(
                "path",
                "empty: a path needs at least one channel",
            ));
        }
        let Ctx {
            path_separator,
            channels,
            ..
        } = ctx;
        let mut path = Vec::new();
        for part in text.split(path_separator.as_str()) {
            let t = part.trim().as_bytes();
            if t.is_empty() {
                return Err(RowError::new(
                    "path",
                    format!("empty channel in `{}`", parse::excerpt(text.as_bytes())),
                ));
            }
            path.push(channels.get_or(t, || id(t, "path"))?);
        }
        let row = PathRow {
            path,
            conversions: float(field(row, c.conversions), "total_conversions")?,
            value: decimal(field(row, c.value), "total_conversion_value")?,
            nulls: float(field(row, c.nulls), "total_null")?,
        };
        validated(row.validate(0), PATH_FIELDS)?;
        Ok(row)
    }

    fn encode(&self, _: &[String], out: &mut Fields) -> Result<(), EncodeError> {
        let joined = self.path_string(&out.path_separator);
        let splits_back = joined
            .split(out.path_separator.as_str())
            .map(str::trim)
            .eq(self.path.iter().map(Channel::as_str));
        if !splits_back {
            return Err(EncodeError {
                field: "path",
                reason: format!(
                    "a channel contains the path separator `{}`, so the path would not read back",
                    out.path_separator
                ),
            });
        }
        out.text(&joined);
        out.display(self.conversions);
        out.display(self.value);
        out.display(self.nulls);
        Ok(())
    }
}

/// Columns of `forecasts.csv`.
#[derive(Debug)]
pub struct ForecastColumns {
    series: usize,
    period: usize,
    forecast: usize,
    actual: usize,
}

impl Schema for ForecastPoint {
    const KIND: &'static str = "forecast";
    type Columns = ForecastColumns;

    fn resolve(h: &Header) -> Result<Self::Columns, RowError> {
        Ok(ForecastColumns {
            series: h.required("series")?,
            period: h.required("period")?,
            forecast: h.required("forecast")?,
            actual: h.required("actual")?,
        })
    }

    fn decode(c: &Self::Columns, row: &ByteRecord, _: &mut Ctx) -> Result<Self, RowError> {
        let p = ForecastPoint {
            series: key(field(row, c.series), "series")?,
            period: key(field(row, c.period), "period")?,
            forecast: float(field(row, c.forecast), "forecast")?,
            actual: opt_float(field(row, c.actual), "actual")?,
        };
        validated(p.validate(), &[])?;
        Ok(p)
    }

    fn encode(&self, _: &[String], out: &mut Fields) -> Result<(), EncodeError> {
        out.text(&self.series);
        out.text(&self.period);
        out.display(self.forecast);
        out.opt_display(self.actual);
        Ok(())
    }
}

/// The fixed columns of `leads.csv`; every other column is an attribute.
pub const LEAD_COLUMNS: &[&str] = &[
    "subject_id",
    "created_at",
    "source",
    "campaign",
    "account",
    "owner",
    "segment",
];

/// Columns of `leads.csv`.
#[derive(Debug)]
pub struct LeadColumns {
    id: usize,
    created_at: usize,
    source: usize,
    campaign: Option<usize>,
    account: Option<usize>,
    owner: Option<usize>,
    segment: Option<usize>,
    attributes: Vec<(usize, String)>,
}

/// Sorts and de-duplicates attribute column names and checks that they read back as
/// the same attributes.
pub fn attribute_columns(names: impl IntoIterator<Item = String>) -> crate::Result<Vec<String>> {
    let names: BTreeSet<String> = names.into_iter().collect();
    let mut seen = HashSet::with_capacity(names.len());
    let invalid = |name: &str, reason: &str| Error::InvalidParameter {
        name: "attributes",
        value: format!("{name:?}"),
        reason: reason.to_string(),
    };
    for name in &names {
        let normal = name.to_lowercase();
        if name.trim().is_empty() || name.trim() != name {
            return Err(invalid(name, "empty, or with surrounding whitespace"));
        }
        if LEAD_COLUMNS.contains(&normal.as_str()) {
            return Err(invalid(name, "the name of a fixed column of leads.csv"));
        }
        if !seen.insert(normal) {
            return Err(invalid(
                name,
                "differs from another name only in case (header names are case-insensitive)",
            ));
        }
    }
    Ok(names.into_iter().collect())
}

impl Schema for Lead {
    const KIND: &'static str = "lead";
    type Columns = LeadColumns;

    fn resolve(h: &Header) -> Result<Self::Columns, RowError> {
        let mut attributes = Vec::new();
        for (i, (normal, original)) in h.names.iter().enumerate() {
            if LEAD_COLUMNS.contains(&normal.as_str()) {
                continue;
            }
            if original.is_empty() {
                return Err(RowError::row(format!(
                    "header column {} has no name (every extra column of leads.csv is an attribute)",
                    i + 1
                )));
            }
            attributes.push((i, original.clone()));
        }
        Ok(LeadColumns {
            id: h.required("subject_id")?,
            created_at: h.required("created_at")?,
            source: h.required("source")?,
            campaign: h.optional("campaign"),
            account: h.optional("account"),
            owner: h.optional("owner"),
            segment: h.optional("segment"),
            attributes,
        })
    }

    fn decode(c: &Self::Columns, row: &ByteRecord, ctx: &mut Ctx) -> Result<Self, RowError> {
        let mut lead = Lead::new(
            id::<LeadId>(field(row, c.id), "subject_id")?,
            timestamp(field(row, c.created_at), "created_at")?,
        );
        lead.source = ctx.opt_channel(field(row, c.source), "source")?;
        lead.campaign = ctx.opt_campaign(opt_field(row, c.campaign), "campaign")?;
        lead.account = opt_id::<AccountId>(opt_field(row, c.account), "account")?;
        lead.owner = opt_text(opt_field(row, c.owner), "owner")?;
        lead.segment = opt_text(opt_field(row, c.segment), "segment")?;
        for (i, name) in &c.attributes {
            if let Some(value) = opt_text(field(row, *i), name)? {
                lead.attributes.insert(name.clone(), value);
            }
        }
        validated(lead.validate(), &[])?;
        Ok(lead)
    }

    fn extra_columns(records: &[Self]) -> crate::Result<Vec<String>> {
        let names: BTreeSet<&String> = records.iter().flat_map(|l| l.attributes.keys()).collect();
        attribute_columns(names.into_iter().cloned())
    }

    fn encode(&self, extra: &[String], out: &mut Fields) -> Result<(), EncodeError> {
        if let Some(name) = self
            .attributes
            .keys()
            .find(|k| extra.binary_search(k).is_err())
        {
            return Err(EncodeError {
                field: "attributes",
                reason: format!(
                    "attribute `{name}` has no column: declare it when creating the writer"
                ),
            });
        }
        out.text(self.id.as_str());
        out.timestamp(&self.created_at, "created_at")?;
        out.opt_text(self.source.as_ref().map(Channel::as_str));
        out.opt_text(self.campaign.as_ref().map(CampaignId::as_str));
        out.opt_text(self.account.as_ref().map(AccountId::as_str));
        out.opt_text(self.owner.as_deref());
        out.opt_text(self.segment.as_deref());
        for name in extra {
            out.opt_text(self.attributes.get(name).map(String::as_str));
        }
        Ok(())
    }
}
