//! Field-level decoding and encoding shared by the schemas: row errors, the header,
//! per-reader caches of repeated values, and the row being written.

use crate::error::ErrorKind;
use std::collections::{HashMap, HashSet};
use std::fmt::Display;
use std::io::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use csv::ByteRecord;
use rust_decimal::Decimal;

use super::parse;
use crate::error::{EXCERPT_CHARS, Error, Excerpt};
use crate::ids::{CampaignId, Channel, LeadId, OpportunityId, SubjectId};
use crate::money::{Currency, Money};

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

    /// The crate error for this problem at `line` of `source_name`. A column name of
    /// more than [`EXCERPT_CHARS`] characters (a header cell may be megabytes) is
    /// kept cut, as its message shows it, so that kept errors stay small.
    pub fn at(self, source_name: &str, line: u64) -> Error {
        let column = self.column.map(|c| {
            if c.len() > EXCERPT_CHARS {
                parse::excerpt(c.as_bytes())
            } else {
                c
            }
        });
        Error::from(ErrorKind::Csv {
            source_name: source_name.to_string(),
            line,
            column,
            reason: self.reason,
        })
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
                    format!("duplicate column `{}` in the header", Excerpt(original)),
                ));
            }
            names.push((normal, original.to_string()));
        }
        Ok(Header { names })
    }

    /// Each column's position, lower-cased name and name as written (trimmed).
    pub(crate) fn columns(&self) -> impl Iterator<Item = (usize, &str, &str)> {
        self.names
            .iter()
            .enumerate()
            .map(|(i, (normal, original))| (i, normal.as_str(), original.as_str()))
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

/// A fast hash for the short keys of a [`Cache`] (a multiply-rotate over eight bytes
/// at a time). Not resistant to crafted collisions, which cost at most a scan of one
/// cache's [`CACHE_LIMIT`] entries per lookup.
#[derive(Debug, Default, Clone, Copy)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut words = bytes.chunks_exact(8);
        for w in words.by_ref() {
            let w = u64::from_le_bytes(w.try_into().unwrap_or_default());
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        let mut last = [0u8; 8];
        let rest = words.remainder();
        last[..rest.len()].copy_from_slice(rest);
        self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(last)).wrapping_mul(K);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0.rotate_left(5) ^ n as u64).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Remembers values already built from the same bytes (channels, campaigns), up to a
/// bound, so that repeated strings share one allocation.
///
/// The values are kept in order of first sight, with a map from their bytes to
/// their position, and a small direct-mapped front (slot by length and end bytes)
/// of positions: most lookups of a handful of repeating values cost one comparison
/// of bytes, without hashing the key.
#[derive(Debug)]
struct Cache<T> {
    entries: Vec<(Box<[u8]>, T)>,
    map: HashMap<Box<[u8]>, u32, std::hash::BuildHasherDefault<KeyHasher>>,
    front: [u32; FRONT],
}

const CACHE_LIMIT: usize = 4096;

/// Slots of a [`Cache`]'s front (a power of two).
const FRONT: usize = 64;

/// The front slot of `key`: from its length and its first and last bytes.
#[inline]
fn front_slot(key: &[u8]) -> usize {
    let (first, last) = match key {
        [] => (0, 0),
        [first, .., last] => (*first, *last),
        [only] => (*only, *only),
    };
    (key.len()
        .wrapping_mul(0x9e37)
        .wrapping_add(usize::from(first) * 31)
        .wrapping_add(usize::from(last)))
        & (FRONT - 1)
}

impl<T: Clone> Cache<T> {
    fn new() -> Self {
        Cache {
            entries: Vec::new(),
            map: HashMap::default(),
            front: [u32::MAX; FRONT],
        }
    }

    #[inline]
    fn get_or(
        &mut self,
        key: &[u8],
        make: impl FnOnce() -> Result<T, RowError>,
    ) -> Result<T, RowError> {
        let slot = front_slot(key);
        if let Some((k, v)) = self.entries.get(self.front[slot] as usize)
            && **k == *key
        {
            return Ok(v.clone());
        }
        self.get_or_slow(key, slot, make)
    }

    fn get_or_slow(
        &mut self,
        key: &[u8],
        slot: usize,
        make: impl FnOnce() -> Result<T, RowError>,
    ) -> Result<T, RowError> {
        if let Some(&at) = self.map.get(key) {
            self.front[slot] = at;
            return Ok(self.entries[at as usize].1.clone());
        }
        let v = make()?;
        if self.entries.len() < CACHE_LIMIT {
            // below CACHE_LIMIT: fits a u32
            let at = self.entries.len() as u32;
            self.entries.push((key.into(), v.clone()));
            self.map.insert(key.into(), at);
            self.front[slot] = at;
        }
        Ok(v)
    }
}

/// The id of the previous row's field, reused when the next row has the same bytes
/// (an opportunity's changes, a lead's events, come one after another).
#[derive(Debug)]
struct Last<T>(Option<T>);

impl<T: AsRef<str> + for<'a> TryFrom<&'a str, Error = Error> + Clone> Last<T> {
    /// The id of `b` (trimmed): the previous one when its text is the same.
    #[inline]
    fn id(&mut self, b: &[u8], column: &'static str) -> Result<T, RowError> {
        let t = b.trim_ascii();
        if let Some(s) = &self.0
            && s.as_ref().as_bytes() == t
        {
            return Ok(s.clone());
        }
        let id: T = id(t, column)?;
        self.0 = Some(id.clone());
        Ok(id)
    }
}

/// Per-reader decoding state: the path separator and caches of repeated values.
#[derive(Debug)]
pub struct Ctx {
    path_separator: String,
    last_subject: Last<SubjectId>,
    last_opportunity: Last<OpportunityId>,
    last_lead: Last<LeadId>,
    channels: Cache<Channel>,
    campaigns: Cache<CampaignId>,
    currencies: Vec<(Box<[u8]>, Currency)>,
}

impl Ctx {
    /// Fresh state for one reader.
    pub fn new(path_separator: &str) -> Ctx {
        Ctx {
            path_separator: path_separator.to_string(),
            last_subject: Last(None),
            last_opportunity: Last(None),
            last_lead: Last(None),
            channels: Cache::new(),
            campaigns: Cache::new(),
            currencies: Vec::new(),
        }
    }

    /// A subject id; consecutive rows of the same subject share the string.
    pub(crate) fn subject(
        &mut self,
        b: &[u8],
        column: &'static str,
    ) -> Result<SubjectId, RowError> {
        self.last_subject.id(b, column)
    }

    /// An opportunity id; consecutive rows of the same opportunity share the string.
    pub(crate) fn opportunity(
        &mut self,
        b: &[u8],
        column: &'static str,
    ) -> Result<OpportunityId, RowError> {
        self.last_opportunity.id(b, column)
    }

    /// A lead id that may be blank; consecutive rows of the same lead share the
    /// string.
    pub(crate) fn opt_lead(
        &mut self,
        b: &[u8],
        column: &'static str,
    ) -> Result<Option<LeadId>, RowError> {
        if is_blank(b) {
            Ok(None)
        } else {
            self.last_lead.id(b, column).map(Some)
        }
    }

    pub(crate) fn channel(&mut self, b: &[u8], column: &'static str) -> Result<Channel, RowError> {
        let t = b.trim_ascii();
        self.channels.get_or(t, || id(t, column))
    }

    pub(crate) fn opt_channel(
        &mut self,
        b: &[u8],
        column: &'static str,
    ) -> Result<Option<Channel>, RowError> {
        if is_blank(b) {
            Ok(None)
        } else {
            self.channel(b, column).map(Some)
        }
    }

    pub(crate) fn opt_campaign(
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

    pub(crate) fn currency(
        &mut self,
        b: &[u8],
        column: &'static str,
    ) -> Result<Currency, RowError> {
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

    pub(crate) fn money(
        &mut self,
        amount: (&[u8], &'static str),
        currency: (&[u8], &'static str),
    ) -> Result<Money, RowError> {
        let a = decimal(amount.0, amount.1)?;
        Ok(Money::new(a, self.currency(currency.0, currency.1)?))
    }

    /// The channels of a path, split at the path separator and trimmed.
    pub(crate) fn path(
        &mut self,
        text: &str,
        column: &'static str,
    ) -> Result<Vec<Channel>, RowError> {
        if trim(text).is_empty() {
            return Err(RowError::new(
                column,
                "empty: a path needs at least one channel",
            ));
        }
        match self.path_separator.as_bytes() {
            // One ASCII byte (the default `>`) is never part of a longer character:
            // splitting the bytes at it is splitting the text.
            &[sep] if sep.is_ascii() => {
                let bytes = text.as_bytes();
                let mut path = Vec::with_capacity(1 + bytes.iter().filter(|&&b| b == sep).count());
                for part in bytes.split(|&b| b == sep) {
                    path.push(self.path_channel(part, text, column)?);
                }
                Ok(path)
            }
            _ => {
                let separator = self.path_separator.clone();
                text.split(separator.as_str())
                    .map(|part| self.path_channel(part.as_bytes(), text, column))
                    .collect()
            }
        }
    }

    /// One channel of the path `text`: `part` (valid UTF-8: a piece of `text` cut
    /// at the separator) trimmed, not empty.
    #[inline]
    fn path_channel(
        &mut self,
        part: &[u8],
        text: &str,
        column: &'static str,
    ) -> Result<Channel, RowError> {
        let t = if plain_ends(part) {
            part
        } else {
            std::str::from_utf8(part)
                .unwrap_or_default()
                .trim()
                .as_bytes()
        };
        if t.is_empty() {
            return Err(RowError::new(
                column,
                format!("empty channel in `{}`", parse::excerpt(text.as_bytes())),
            ));
        }
        self.channels.get_or(t, || id(t, column))
    }

    /// Money whose amount may be empty (then `None`, whatever the currency cell holds).
    pub(crate) fn opt_money(
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

/// The fields of one row, wherever they are: a parsed [`ByteRecord`], or a line the
/// splitter cut in its buffer (decoded there, without copying).
pub trait RowFields {
    /// Field `i`, if the row has it.
    fn get(&self, i: usize) -> Option<&[u8]>;
    /// The number of fields.
    fn len(&self) -> usize;
}

impl RowFields for ByteRecord {
    #[inline]
    fn get(&self, i: usize) -> Option<&[u8]> {
        ByteRecord::get(self, i)
    }

    #[inline]
    fn len(&self) -> usize {
        ByteRecord::len(self)
    }
}

#[inline]
pub(super) fn field<W: RowFields>(row: &W, i: usize) -> &[u8] {
    row.get(i).unwrap_or_default()
}

#[inline]
pub(super) fn opt_field<W: RowFields>(row: &W, i: Option<usize>) -> &[u8] {
    i.and_then(|i| row.get(i)).unwrap_or_default()
}

/// Empty or only whitespace (ASCII or Unicode).
#[inline]
pub(crate) fn is_blank(b: &[u8]) -> bool {
    let t = b.trim_ascii();
    match t.first() {
        None => true,
        // An ASCII byte left after trimming ASCII whitespace is not whitespace,
        // except the vertical tab (whitespace to `str::trim`, not to `trim_ascii`).
        Some(&c) if c < 0x80 && c != 0x0b => false,
        Some(_) => std::str::from_utf8(t).is_ok_and(|s| s.trim().is_empty()),
    }
}

/// An ASCII byte that is not whitespace (to `str::trim`, which counts the vertical
/// tab too).
#[inline]
fn plain_byte(c: u8) -> bool {
    c < 0x80 && !c.is_ascii_whitespace() && c != 0x0b
}

/// Whether `b` starts and ends with a [`plain_byte`]: then trimming keeps it whole.
#[inline]
fn plain_ends(b: &[u8]) -> bool {
    match b {
        [first, .., last] => plain_byte(*first) && plain_byte(*last),
        [only] => plain_byte(*only),
        [] => false,
    }
}

/// `s` without surrounding whitespace (as `str::trim`), with no scan when it starts
/// and ends with ASCII bytes that are not whitespace.
#[inline]
fn trim(s: &str) -> &str {
    if plain_ends(s.as_bytes()) {
        s
    } else {
        s.trim()
    }
}

pub(crate) fn utf8<'a>(b: &'a [u8], column: &str) -> Result<&'a str, RowError> {
    std::str::from_utf8(b).map_err(|_| RowError::new(column, "not valid UTF-8"))
}

pub(crate) fn id<T>(b: &[u8], column: &str) -> Result<T, RowError>
where
    T: for<'a> TryFrom<&'a str, Error = Error>,
{
    T::try_from(utf8(b, column)?).map_err(|_| RowError::new(column, "empty id"))
}

pub(crate) fn opt_id<T>(b: &[u8], column: &str) -> Result<Option<T>, RowError>
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
pub(crate) fn key(b: &[u8], column: &str) -> Result<String, RowError> {
    let s = trim(utf8(b, column)?);
    if s.is_empty() {
        Err(RowError::new(column, "empty: a value is required"))
    } else {
        Ok(s.to_string())
    }
}

/// Free text kept as written; blank is `None`.
pub(crate) fn opt_text(b: &[u8], column: &str) -> Result<Option<String>, RowError> {
    if b.is_empty() {
        return Ok(None);
    }
    let s = utf8(b, column)?;
    Ok((!trim(s).is_empty()).then(|| s.to_string()))
}

pub(crate) fn required<T>(
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

pub(crate) fn optional<T>(
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

pub(crate) const TIMESTAMP: (&str, &str) = (
    "a timestamp",
    "expected RFC 3339 such as 2026-03-04T10:11:12Z, `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DD`, in the years 0000 to 9999",
);
pub(crate) const DATE: (&str, &str) = ("a date", "expected `YYYY-MM-DD` in the years 0000 to 9999");
pub(crate) const DECIMAL: (&str, &str) = (
    "a decimal number",
    "expected digits with an optional sign and `.`, such as 1250.10",
);
pub(crate) const NUMBER: (&str, &str) = ("a number", "expected a number such as 0.75 or 12");

/// A value that reads as a date but whose year files cannot hold: the error saying so
/// (readers refuse what writers could not write back).
pub(crate) fn out_of_range(b: &[u8], column: &str, date: Option<NaiveDate>) -> RowError {
    let (first, last) = parse::YEARS;
    RowError::new(
        column,
        format!(
            "`{}` is outside the supported years {first:04} to {last:04} (in UTC{})",
            parse::excerpt(b),
            date.map_or(String::new(), |d| format!(", it is {d}"))
        ),
    )
}

pub(crate) fn timestamp(b: &[u8], column: &str) -> Result<DateTime<Utc>, RowError> {
    if let Some(t) = parse::canonical_timestamp(b) {
        return Ok(t);
    }
    required(b, column, TIMESTAMP.0, TIMESTAMP.1, parse::any_timestamp).and_then(|t| {
        if parse::in_range(t.date_naive()) {
            Ok(t)
        } else {
            Err(out_of_range(b, column, Some(t.date_naive())))
        }
    })
}

pub(crate) fn date(b: &[u8], column: &str) -> Result<NaiveDate, RowError> {
    required(b, column, DATE.0, DATE.1, parse::any_date).and_then(|d| {
        if parse::in_range(d) {
            Ok(d)
        } else {
            Err(out_of_range(b, column, Some(d)))
        }
    })
}

pub(crate) fn opt_date(b: &[u8], column: &str) -> Result<Option<NaiveDate>, RowError> {
    if is_blank(b) {
        Ok(None)
    } else {
        date(b, column).map(Some)
    }
}

pub(crate) fn decimal(b: &[u8], column: &str) -> Result<Decimal, RowError> {
    required(b, column, DECIMAL.0, DECIMAL.1, parse::decimal)
}

pub(crate) fn float(b: &[u8], column: &str) -> Result<f64, RowError> {
    required(b, column, NUMBER.0, NUMBER.1, parse::float)
}

pub(crate) fn opt_float(b: &[u8], column: &str) -> Result<Option<f64>, RowError> {
    optional(b, column, NUMBER.0, NUMBER.1, parse::float)
}

/// Turns a record's `validate()` error into a row error on the matching column;
/// `columns` maps record field names to column names where they differ.
pub(crate) fn validated(
    result: crate::Result<()>,
    columns: &[(&str, &'static str)],
) -> Result<(), RowError> {
    result.map_err(|e| match e.into_kind() {
        ErrorKind::InvalidField { field, reason, .. } => {
            let column = columns
                .iter()
                .find(|(f, _)| *f == field)
                .map_or(field, |(_, c)| *c);
            RowError::new(column, reason)
        }
        ErrorKind::InvalidPeriod { start, end, .. } => RowError::new(
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

    pub(super) fn text(&mut self, s: &str) {
        self.record.push_field(s.as_bytes());
    }

    pub(super) fn opt_text(&mut self, s: Option<&str>) {
        self.text(s.unwrap_or(""));
    }

    /// An id or key: readers take line breaks in free text only, so one here would
    /// not read back.
    pub(super) fn key(&mut self, s: &str, field: &'static str) -> Result<(), EncodeError> {
        if s.contains(['\r', '\n']) {
            return Err(EncodeError {
                field,
                reason: "contains a line break: only free text (reasons, owners, segments, \
                         attributes) may span lines in a CSV file"
                    .into(),
            });
        }
        self.text(s);
        Ok(())
    }

    pub(super) fn opt_key(
        &mut self,
        s: Option<&str>,
        field: &'static str,
    ) -> Result<(), EncodeError> {
        self.key(s.unwrap_or(""), field)
    }

    pub(super) fn display(&mut self, v: impl Display) {
        self.scratch.clear();
        // Writing into a Vec<u8> cannot fail.
        let _ = write!(self.scratch, "{v}");
        self.record.push_field(&self.scratch);
    }

    pub(super) fn opt_display(&mut self, v: Option<impl Display>) {
        match v {
            Some(v) => self.display(v),
            None => self.text(""),
        }
    }

    pub(super) fn timestamp(
        &mut self,
        t: &DateTime<Utc>,
        field: &'static str,
    ) -> Result<(), EncodeError> {
        self.scratch.clear();
        parse::write_timestamp(&mut self.scratch, t)
            .map_err(|reason| EncodeError { field, reason })?;
        self.record.push_field(&self.scratch);
        Ok(())
    }

    pub(super) fn opt_date(
        &mut self,
        d: Option<NaiveDate>,
        field: &'static str,
    ) -> Result<(), EncodeError> {
        self.scratch.clear();
        if let Some(d) = d {
            parse::write_date(&mut self.scratch, d)
                .map_err(|reason| EncodeError { field, reason })?;
        }
        self.record.push_field(&self.scratch);
        Ok(())
    }

    pub(super) fn date(&mut self, d: NaiveDate, field: &'static str) -> Result<(), EncodeError> {
        self.opt_date(Some(d), field)
    }

    /// The channels joined by the path separator, if that reads back as the same path.
    pub(super) fn path(
        &mut self,
        channels: &[Channel],
        field: &'static str,
    ) -> Result<(), EncodeError> {
        let names: Vec<&str> = channels.iter().map(Channel::as_str).collect();
        let joined = names.join(&self.path_separator);
        let reads_back = joined
            .split(self.path_separator.as_str())
            .map(str::trim)
            .eq(names.iter().copied());
        if !reads_back {
            return Err(EncodeError {
                field,
                reason: format!(
                    "a channel contains the path separator `{}`, so the path would not read back",
                    Excerpt(&self.path_separator)
                ),
            });
        }
        self.key(&joined, field)
    }

    /// Two fields: the amount and the currency (both empty for `None`).
    pub(super) fn opt_money(&mut self, m: Option<&Money>) {
        self.opt_display(m.map(Money::amount));
        self.opt_display(m.map(Money::currency));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Text mixing ASCII, ASCII and Unicode whitespace (the vertical tab and the
    /// no-break space among them), other Unicode, and bytes that are not UTF-8.
    fn texty() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just(&b"a"[..]),
            Just(&b"Z9"[..]),
            Just(&b" "[..]),
            Just(&b"\t"[..]),
            Just(&b"\x0b"[..]),
            Just(&b"\x0c"[..]),
            Just(&b"\r\n"[..]),
            Just("\u{a0}".as_bytes()),
            Just("\u{2003}".as_bytes()),
            Just("\u{e9}".as_bytes()),
            Just(&b"\xff"[..]),
            Just(&b"\xc3"[..]),
        ];
        prop::collection::vec(piece, 0..6).prop_map(|p| p.concat())
    }

    proptest! {
        /// The shortcuts of `is_blank` and `trim` give what the full Unicode checks give.
        #[test]
        fn blank_and_trim_shortcuts_agree_with_unicode_trim(b in texty()) {
            let t = b.trim_ascii();
            let full = t.is_empty() || std::str::from_utf8(t).is_ok_and(|s| s.trim().is_empty());
            prop_assert_eq!(is_blank(&b), full);
            if let Ok(s) = std::str::from_utf8(&b) {
                prop_assert_eq!(trim(s), s.trim());
                let text = opt_text(&b, "c").unwrap();
                prop_assert_eq!(text.is_some(), !s.trim().is_empty());
                match key(&b, "c") {
                    Ok(k) => prop_assert_eq!(k, s.trim()),
                    Err(e) => prop_assert!(s.trim().is_empty(), "{}", e.reason),
                }
            }
        }

        /// Paths split at a one-byte separator (bytes) read as the text split at
        /// it (`str::split`, `str::trim`), channels and errors alike; and a longer
        /// separator as before.
        #[test]
        fn paths_split_as_the_text_splits(
            parts in prop::collection::vec(texty(), 1..5),
            separator in prop_oneof![Just(">"), Just(" > "), Just("\u{2192}"), Just(" ")],
        ) {
            let joined: Vec<u8> = parts.join(separator.as_bytes());
            let Ok(text) = std::str::from_utf8(&joined) else {
                return Ok(());
            };
            let reference: Result<Vec<String>, String> = if text.trim().is_empty() {
                Err("empty: a path needs at least one channel".to_string())
            } else {
                text.split(separator)
                    .map(|p| {
                        let t = p.trim();
                        if t.is_empty() {
                            Err(format!("empty channel in `{}`", parse::excerpt(text.as_bytes())))
                        } else {
                            Ok(t.to_string())
                        }
                    })
                    .collect()
            };
            let got = Ctx::new(separator)
                .path(text, "path")
                .map(|p| p.iter().map(|c| c.as_str().to_string()).collect::<Vec<_>>())
                .map_err(|e| e.reason);
            prop_assert_eq!(got, reference, "{:?}", text);
        }

        /// The caches of a reader (the front and map of channels and campaigns, the
        /// previous row's subject, opportunity and lead) give what decoding each
        /// field afresh gives, values and errors, whatever the order of the fields:
        /// keys sharing length and end bytes (one front slot) and padded, blank or
        /// invalid ones among them.
        #[test]
        fn caches_read_what_decoding_afresh_reads(
            keys in prop::collection::vec(prop_oneof![
                Just(&b"email"[..]), Just(&b"eXXXl"[..]), Just(&b"eYYYl"[..]),
                Just(&b" email "[..]), Just(&b"paid_search"[..]), Just(&b"p"[..]),
                Just(&b""[..]), Just(&b"  "[..]), Just(&b"\xff"[..]), Just("\u{a0}e\u{a0}".as_bytes()),
            ], 0..40),
        ) {
            let mut ctx = Ctx::new(">");
            let afresh = |b: &[u8]| id::<Channel>(b.trim_ascii(), "c").map(|c| c.to_string()).map_err(|e| e.reason);
            let blank_or = |b: &[u8]| if is_blank(b) { Ok(None) } else { afresh(b).map(Some) };
            for b in keys {
                let got = ctx.channel(b, "c").map(|c| c.to_string()).map_err(|e| e.reason);
                prop_assert_eq!(got, afresh(b));
                let got = ctx.opt_campaign(b, "c").map(|c| c.map(|c| c.to_string())).map_err(|e| e.reason);
                prop_assert_eq!(got, blank_or(b));
                let got = ctx.subject(b, "c").map(|c| c.to_string()).map_err(|e| e.reason);
                prop_assert_eq!(got, afresh(b));
                let got = ctx.opportunity(b, "c").map(|c| c.to_string()).map_err(|e| e.reason);
                prop_assert_eq!(got, id::<OpportunityId>(b, "c").map(|c| c.to_string()).map_err(|e| e.reason));
                let got = ctx.opt_lead(b, "c").map(|c| c.map(|c| c.to_string())).map_err(|e| e.reason);
                prop_assert_eq!(got, opt_id::<LeadId>(b, "c").map(|c| c.map(|c| c.to_string())).map_err(|e| e.reason));
            }
        }

        /// The canonical-timestamp shortcut of `timestamp` gives the general parser's
        /// value, and the general parser's error when it gives none.
        #[test]
        fn timestamp_shortcut_agrees_with_the_general_parser(b in parse::tests::timestamps()) {
            let general = required(&b, "at", TIMESTAMP.0, TIMESTAMP.1, parse::timestamp_any_year)
                .and_then(|t| {
                    if parse::in_range(t.date_naive()) { Ok(t) } else { Err(out_of_range(&b, "at", Some(t.date_naive()))) }
                });
            match (timestamp(&b, "at"), general) {
                (Ok(a), Ok(g)) => prop_assert_eq!(a, g),
                (Err(a), Err(g)) => {
                    prop_assert_eq!(a.reason, g.reason);
                    prop_assert_eq!(a.column, g.column);
                }
                (a, g) => prop_assert!(false, "{:?} vs {:?}", a.map_err(|e| e.reason), g.map_err(|e| e.reason)),
            }
        }
    }
}
