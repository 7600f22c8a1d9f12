//! Readers and writers for the canonical CSV schemas (feature `csv`).
//!
//! A [`Reader`] streams the records of one file: it reads one row at a time into a
//! reused buffer and yields `Result<record>`, so files larger than memory are fine.
//! A [`Writer`] (or [`write_records`]) writes records back in the same schema; what it
//! writes reads back equal.
//!
//! ```
//! use revops::csv::{Options, Reader};
//! use revops::StageEvent;
//! # fn main() -> Result<(), revops::Error> {
//! let data = b"subject_id,stage,at
//! L0000123,mql,2026-03-04T10:11:12Z
//! L0000123,sql,2026-03-09 08:00:00
//! ";
//! let mut total = 0;
//! for event in Reader::<StageEvent, _>::new(&data[..], Options::new())? {
//!     let event = event?;
//!     assert_eq!(event.subject.as_str(), "L0000123");
//!     total += 1;
//! }
//! assert_eq!(total, 2);
//!
//! // A bad row is an error naming the file, the line and the column.
//! let bad = b"subject_id,stage,at\nL1,mql,2026-03-04\nL1,sql,2026-02-30\n";
//! let err = Reader::<StageEvent, _>::new(&bad[..], Options::new())?
//!     .find_map(Result::err)
//!     .unwrap();
//! assert!(matches!(&err.kind(), revops::error::ErrorKind::Csv { line: 3, column: Some(c), .. } if c == "at"));
//! # Ok(()) }
//! ```
//!
//! # The schemas
//!
//! Each record type has one schema ([`CsvRecord`]). Readers find columns by header
//! name, in any order, matching names case-insensitively after trimming; columns the
//! schema does not know are ignored (for leads they are attributes, so there a column
//! without a name is an error). Columns in brackets may be absent from the header; the
//! others are required.
//!
//! | Record | File | Columns |
//! |---|---|---|
//! | [`StageEvent`] | `stage_events.csv` | `subject_id,stage,at`, \[`cycle`\], \[`reason`\] |
//! | [`Touch`] | `touches.csv` | `subject_id,channel,campaign,at`, \[`cost,currency`\] |
//! | [`Conversion`] | `conversions.csv` | `subject_id,at,value,currency` |
//! | [`Spend`] | `spend.csv` | `channel,campaign,period_start,period_end,amount,currency` |
//! | [`OpportunityChange`] | `opportunity_history.csv` | `opportunity_id,changed_at,stage,amount,currency,close_date,probability,forecast_category` |
//! | [`PathRow`] | `paths.csv` | `path,total_conversions,total_conversion_value,total_null` |
//! | [`ForecastPoint`] | `forecasts.csv` | `series,period,forecast,actual` |
//! | [`Lead`] | `leads.csv` | `subject_id,created_at,source`, \[`campaign`\], \[`account`\], \[`owner`\], \[`segment`\], then any attribute columns |
//!
//! Fields:
//! - **Empty means absent** for the optional values: `campaign`, `cycle`, `reason`,
//!   `cost` (then `currency` is not read), conversion `value`, `close_date`,
//!   `probability`, `forecast_category`, `actual`, and the lead's `source`, `campaign`,
//!   `account`, `owner`, `segment` and attributes (a blank attribute is not stored).
//!   A blank required value is an error (`empty id`, `empty: a timestamp is required`).
//! - **Ids and keys** (ids, channels, stage, series, period) are trimmed; free text
//!   (`reason`, `owner`, `segment`, attribute values) is kept as written.
//! - **Quotes**: a field that starts with `"` is quoted (`""` inside is a quote), so it
//!   may hold the delimiter and line breaks. Only free text, and columns the schema
//!   does not read, may span lines: a quoted id, key, code, date or number that runs
//!   past the end of its line is an unclosed quote. A quoted field that spans lines
//!   must also close (the input may not end inside it) with a quote followed by the
//!   delimiter or the line end. Each of these is an error naming the line where the
//!   quote opened and its column, and the reader goes on at the next line, so a stray
//!   quote costs one row, never the rest of the file. Line breaks are not allowed in
//!   ids and keys, and writers refuse them.
//! - **Byte-order mark**: one UTF-8 byte-order mark before the header is dropped; a
//!   second is part of the first column's name (so that column is not found).
//! - **Timestamps**: RFC 3339 (`2026-03-04T10:11:12Z`, `2026-03-04T12:11:12+02:00`,
//!   fractional seconds), `YYYY-MM-DD HH:MM:SS` (UTC) or `YYYY-MM-DD` (UTC midnight). A
//!   time without an offset is UTC. **Dates** (`period_start`, `period_end`,
//!   `close_date`): `YYYY-MM-DD`, or a timestamp whose UTC date is taken. The
//!   supported range is the years 0000 to 9999 in UTC, what writers write as
//!   `YYYY`: readers refuse a value outside it (`+99999-01-01`, or
//!   `9999-12-31T23:59:59-01:00`, which is in the year 10000 in UTC) with an error
//!   saying so.
//! - **Money**: an exact decimal (`1250.10`: an optional sign, digits and at most one
//!   `.`; no exponent, no digit separators such as `1_000`, never through `f64`) and an
//!   ISO 4217 code in its own column (`USD`, or `XYZ:2` for a code revops does not
//!   know, see [`Currency`](crate::Currency)). Amounts and costs must not be negative.
//! - **Probabilities** are fractions in \[0, 1\]; `75` (a percentage) is an error
//!   that says so.
//! - **Paths** are channels joined by the path separator (default `>`; spaces around
//!   each channel are trimmed, so `email > search` reads too). Counts are numbers ≥ 0.
//! - **Forecast categories**: `pipeline`, `best_case`, `most_likely`, `commit`, `closed`,
//!   `omitted` (case and separators are free: `Best Case` reads).
//!
//! # Errors
//!
//! A problem with the header (empty input, duplicate column, missing required column)
//! fails [`Reader::new`]. A problem with a row is an [`ErrorKind::Csv`] naming the source
//! (the [`Options::with_source_name`], by default the schema's file name), the
//! one-based line where the row starts in the file (the header is line 1; quoted
//! free text may span lines, blank lines are skipped; `\n`, `\r\n` and a bare `\r`,
//! as old Mac files end lines, are one line break each), the column when one field is
//! at fault, and the reason: wrong number of fields, an unclosed quote, not UTF-8,
//! empty id, unparseable timestamp, date or decimal, a date outside the years 0000 to
//! 9999, unknown currency, negative amount, probability outside \[0, 1\], and the
//! records' own `validate()` rules. A value repeated in a message is cut after 40
//! characters. [`OnError`] decides whether the reader stops at the first bad row (the
//! default) or skips and counts each one, keeping the errors of the first
//! [`Options::kept_errors`] (default 100).
//!
//! [`StageEvent`]: crate::StageEvent
//! [`Touch`]: crate::Touch
//! [`Conversion`]: crate::Conversion
//! [`Spend`]: crate::Spend
//! [`OpportunityChange`]: crate::OpportunityChange
//! [`PathRow`]: crate::PathRow
//! [`ForecastPoint`]: crate::ForecastPoint
//! [`Lead`]: crate::Lead
//! [`ErrorKind::Csv`]: crate::error::ErrorKind::Csv

mod blocks;
mod dataset;
mod dense;
pub(crate) mod field;
pub(crate) mod funnel;
mod journeys;
pub(crate) mod parse;
pub(crate) mod paths;
mod read;
pub(crate) mod schema;
mod split;
mod write;

#[cfg(test)]
mod tests;

pub use dataset::{Dataset, Table};
pub use dense::DenseDataset;
pub use funnel::EventsRead;
pub use read::Reader;
pub use write::{Writer, write_records};

use crate::error::ErrorKind;
use crate::error::{Error, Result};
use crate::records::{
    Conversion, ForecastPoint, Lead, OpportunityChange, PathRow, Spend, StageEvent, Touch,
};

/// What a [`Reader`] does with a row it cannot read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OnError {
    /// Yield the row's error, then end the iteration (the default: bad input is never
    /// half-read without the caller noticing).
    #[default]
    Stop,
    /// Skip the row, count it and keep its error in the [`ReadReport`] (see
    /// [`Reader::report`]); the iteration goes on. Nothing is dropped silently: every
    /// skipped row is counted in [`ReadReport::skipped_rows`], and the errors of the
    /// first [`Options::kept_errors`] (default 100) are kept.
    SkipAndReport,
}

/// How to read (and write) a CSV file: by-value options with builder-style setters.
///
/// ```
/// use revops::csv::{OnError, Options};
/// let o = Options::new()
///     .with_delimiter(b';')
///     .with_path_separator(" > ")
///     .with_on_error(OnError::SkipAndReport)
///     .with_source_name("channelattribution_Data.csv");
/// assert_eq!(o.delimiter(), b';');
/// assert_eq!(Options::default().path_separator(), ">");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    delimiter: u8,
    path_separator: String,
    on_error: OnError,
    source_name: Option<String>,
    kept_errors: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            delimiter: b',',
            path_separator: ">".to_string(),
            on_error: OnError::Stop,
            source_name: None,
            kept_errors: Options::DEFAULT_KEPT_ERRORS,
        }
    }
}

impl Options {
    /// How many errors of skipped rows a [`ReadReport`] keeps by default (see
    /// [`Options::with_kept_errors`]).
    pub const DEFAULT_KEPT_ERRORS: usize = 100;

    /// The defaults: `,` between fields, `>` between path channels, [`OnError::Stop`],
    /// errors named after the schema's file name.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the field delimiter (e.g. `b';'` or `b'\t'`). It may not be `"`, `\r` or `\n`.
    #[must_use]
    pub fn with_delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Sets the text between channels in `paths.csv` (default `>`). Readers trim the
    /// spaces around each channel; writers put exactly this text between channels.
    #[must_use]
    pub fn with_path_separator(mut self, separator: impl Into<String>) -> Self {
        self.path_separator = separator.into();
        self
    }

    /// Sets what a reader does with a bad row (writers ignore it).
    #[must_use]
    pub fn with_on_error(mut self, on_error: OnError) -> Self {
        self.on_error = on_error;
        self
    }

    /// Sets how many errors of skipped rows a reader keeps in its [`ReadReport`]
    /// under [`OnError::SkipAndReport`] (default [`Options::DEFAULT_KEPT_ERRORS`]):
    /// the first `n` in file order. Every skipped row is still counted in
    /// [`ReadReport::skipped_rows`], so nothing is lost from the counts; the cap keeps
    /// the memory of a report bounded however many rows are bad (each kept error is
    /// a few hundred bytes at most). `usize::MAX` keeps them all.
    #[must_use]
    pub fn with_kept_errors(mut self, n: usize) -> Self {
        self.kept_errors = n;
        self
    }

    /// Sets the source name used in reader errors (e.g. the file name; writers ignore it).
    #[must_use]
    pub fn with_source_name(mut self, name: impl Into<String>) -> Self {
        self.source_name = Some(name.into());
        self
    }

    /// The field delimiter.
    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// The path separator.
    pub fn path_separator(&self) -> &str {
        &self.path_separator
    }

    /// The bad-row policy.
    pub fn on_error(&self) -> OnError {
        self.on_error
    }

    /// How many errors of skipped rows a reader keeps.
    pub fn kept_errors(&self) -> usize {
        self.kept_errors
    }

    /// The source name, if set.
    pub fn source_name(&self) -> Option<&str> {
        self.source_name.as_deref()
    }

    fn check(&self) -> Result<()> {
        if matches!(self.delimiter, b'"' | b'\r' | b'\n') {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "delimiter",
                value: format!("{:?}", char::from(self.delimiter)),
                reason: "a field delimiter cannot be a quote or a line break".into(),
            }));
        }
        if self.path_separator.is_empty() {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "path_separator",
                value: String::new(),
                reason: "the path separator must not be empty".into(),
            }));
        }
        Ok(())
    }
}

/// What a [`Reader`] has read so far.
///
/// Under [`OnError::SkipAndReport`], `rows == records + skipped_rows` once the reader
/// is exhausted, and `skipped` holds the errors of the first
/// [`Options::kept_errors`] skipped rows; under [`OnError::Stop`] the row that stopped the reader is counted in
/// `rows` only (its error was yielded).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ReadReport {
    /// Data rows read (the header and blank lines are not rows).
    pub rows: u64,
    /// Records yielded.
    pub records: u64,
    /// The errors of the first rows skipped under [`OnError::SkipAndReport`], in file
    /// order: at most [`Options::kept_errors`] of them.
    pub skipped: Vec<Error>,
    /// Every row skipped under [`OnError::SkipAndReport`], kept in `skipped` or not.
    pub skipped_rows: u64,
}

impl ReadReport {
    /// Counts a skipped row, keeping its error if fewer than `keep` are kept.
    pub(crate) fn skip(&mut self, error: Error, keep: usize) {
        self.skipped_rows += 1;
        if self.skipped.len() < keep {
            self.skipped.push(error);
        }
    }
}

/// A record type with a canonical CSV schema, read by [`Reader`] and written by
/// [`Writer`]. Implemented for the crate's record types only.
pub trait CsvRecord: schema::Schema {
    /// The schema's canonical file name (e.g. `"stage_events.csv"`), also the default
    /// source name in errors.
    const FILE_NAME: &'static str;
    /// The columns writers produce, in order (for leads, followed by one column per
    /// attribute).
    const COLUMNS: &'static [&'static str];
}

impl CsvRecord for StageEvent {
    const FILE_NAME: &'static str = "stage_events.csv";
    const COLUMNS: &'static [&'static str] = &["subject_id", "stage", "at", "cycle", "reason"];
}

impl CsvRecord for Touch {
    const FILE_NAME: &'static str = "touches.csv";
    const COLUMNS: &'static [&'static str] = &[
        "subject_id",
        "channel",
        "campaign",
        "at",
        "cost",
        "currency",
    ];
}

impl CsvRecord for Conversion {
    const FILE_NAME: &'static str = "conversions.csv";
    const COLUMNS: &'static [&'static str] = &["subject_id", "at", "value", "currency"];
}

impl CsvRecord for Spend {
    const FILE_NAME: &'static str = "spend.csv";
    const COLUMNS: &'static [&'static str] = &[
        "channel",
        "campaign",
        "period_start",
        "period_end",
        "amount",
        "currency",
    ];
}

impl CsvRecord for OpportunityChange {
    const FILE_NAME: &'static str = "opportunity_history.csv";
    const COLUMNS: &'static [&'static str] = &[
        "opportunity_id",
        "changed_at",
        "stage",
        "amount",
        "currency",
        "close_date",
        "probability",
        "forecast_category",
        "lead_id",
    ];
}

impl CsvRecord for PathRow {
    const FILE_NAME: &'static str = "paths.csv";
    const COLUMNS: &'static [&'static str] = &[
        "path",
        "total_conversions",
        "total_conversion_value",
        "total_null",
    ];
}

impl CsvRecord for ForecastPoint {
    const FILE_NAME: &'static str = "forecasts.csv";
    const COLUMNS: &'static [&'static str] = &["series", "period", "forecast", "actual"];
}

impl CsvRecord for Lead {
    const FILE_NAME: &'static str = "leads.csv";
    const COLUMNS: &'static [&'static str] = schema::LEAD_COLUMNS;
}
