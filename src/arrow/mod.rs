//! Engine inputs from Arrow record batches, and the canonical tables as Arrow (feature
//! `arrow`); Parquet files in [`parquet`] (feature `parquet`).
//!
//! A [`Decoder`] turns the [`RecordBatch`]es of one canonical table into records, batch
//! by batch, with the same validation as the CSV readers: the columns are the CSV
//! schemas' columns (see [`crate::csv`]), found by name in any order (trimmed, matched
//! case-insensitively; other columns are ignored, except for leads, where they are
//! attributes). [`to_record_batch`] goes the other way; what it builds reads back equal.
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{RecordBatch, StringArray, TimestampMillisecondArray, ArrayRef};
//! use arrow_array::types::Int32Type;
//! use arrow_array::DictionaryArray;
//! use revops::arrow::Decoder;
//! use revops::csv::Options;
//! use revops::StageEvent;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // stage_events: subject_id (plain strings), stage (dictionary), at (ms, UTC).
//! let stage: DictionaryArray<Int32Type> = vec!["mql", "sql", "mql"].into_iter().collect();
//! let at = TimestampMillisecondArray::from(vec![
//!     1_772_618_672_000, 1_773_043_200_000, 1_772_700_000_000,
//! ])
//! .with_timezone("UTC");
//! let batch = RecordBatch::try_from_iter([
//!     ("subject_id", Arc::new(StringArray::from(vec!["L1", "L1", "L2"])) as ArrayRef),
//!     ("stage", Arc::new(stage) as ArrayRef),
//!     ("at", Arc::new(at) as ArrayRef),
//! ])?;
//! let mut decoder = Decoder::<StageEvent>::new(Options::new())?;
//! let mut events = Vec::new();
//! decoder.decode(&batch, &mut events)?;
//! assert_eq!(events.len(), 3);
//! assert_eq!(events[1].at.to_rfc3339(), "2026-03-09T08:00:00+00:00");
//!
//! // A bad value is an error naming the source, the row and the column.
//! let bad = RecordBatch::try_from_iter([
//!     ("subject_id", Arc::new(StringArray::from(vec![Some("L1"), None])) as ArrayRef),
//!     ("stage", Arc::new(StringArray::from(vec!["mql", "sql"])) as ArrayRef),
//!     ("at", Arc::new(StringArray::from(vec!["2026-03-04", "2026-03-05"])) as ArrayRef),
//! ])?;
//! let err = Decoder::<StageEvent>::new(Options::new())?
//!     .decode(&bad, &mut Vec::new())
//!     .unwrap_err();
//! assert_eq!(err.to_string(), "stage_events.parquet row 1 (batch 0), column `subject_id`: empty id");
//! # Ok(()) }
//! ```
//!
//! Records go straight into an engine with [`Decoder::decode_with`] (or
//! [`parquet::Reader::for_each`]), without a `Vec` of them:
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{ArrayRef, RecordBatch, StringArray};
//! use revops::arrow::Decoder;
//! use revops::attribution::{JourneyBuilder, JourneyRecord};
//! use revops::csv::Options;
//! use revops::Touch;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let touches = RecordBatch::try_from_iter([
//!     ("subject_id", Arc::new(StringArray::from(vec!["L1", "L1", "L2"])) as ArrayRef),
//!     ("channel", Arc::new(StringArray::from(vec!["search", "email", "email"])) as ArrayRef),
//!     ("campaign", Arc::new(StringArray::from(vec![None::<&str>; 3])) as ArrayRef),
//!     ("at", Arc::new(StringArray::from(vec!["2026-03-01", "2026-03-02", "2026-03-03"])) as ArrayRef),
//! ])?;
//! let mut journeys = JourneyBuilder::default();
//! let mut decoder = Decoder::<Touch>::new(Options::new())?;
//! decoder.decode_with(&touches, |t| journeys.add(&JourneyRecord::Touch(t)))?;
//! let paths: Vec<String> = journeys.finish()?.path_rows().iter().map(|r| r.path_string(">")).collect();
//! assert_eq!(paths, ["email", "search>email"]);
//! # Ok(()) }
//! ```
//!
//! # The columns and the Arrow types they take
//!
//! | Column | Arrow types read |
//! |---|---|
//! | ids, keys, channels, campaigns, currency codes, `path`, free text | `Utf8`, `LargeUtf8`, `Utf8View`, or a `Dictionary` of them (any key type) |
//! | times (`at`, `created_at`, `changed_at`) | `Timestamp` of any unit, with or without a time zone (the value is an instant since the epoch; without a zone it is read as UTC), `Date32`, `Date64` (UTC midnight), or a string in the CSV forms |
//! | dates (`period_start`, `period_end`, `close_date`) | `Date32`, `Date64`, `Timestamp` (its UTC date), or a string in the CSV forms |
//! | money (`cost`, `value`, `amount`, `total_conversion_value`) | `Decimal128` of any precision and scale, an integer, or a string holding an exact decimal: never a float, never through `f64` (an amount must fit `rust_decimal`'s 96-bit mantissa) |
//! | numbers (`probability`, `forecast`, `actual`, `total_conversions`, `total_null`) | `Float64`, `Float32`, any integer, `Decimal128`, or a string |
//! | `cycle` | any integer in `0..=u32::MAX`, or a string |
//! | lead attributes (every other column of leads) | strings, integers, floats or booleans (stored as their text) |
//!
//! A column of type `Null`, an absent optional column and a null value are all
//! absent values: null is what an empty CSV field is, with the same rules and
//! messages (a null in a required column is `empty id`, `empty: a timestamp is
//! required`, ...). Strings read exactly as the same text in a CSV file (trimmed ids,
//! the same timestamp forms, the same messages). Values must lie in the years 0000 to
//! 9999 (UTC), as in CSV.
//!
//! The Arrow types the writers produce ([`to_record_batch`], [`parquet::Writer`]):
//! times `Timestamp(Microsecond, "UTC")`, dates `Date32`, money `Decimal128(38, s)`
//! with the currency code in its own column (`s` = [`MONEY_SCALE`]), numbers
//! `Float64`, `cycle` `UInt32`, ids and paths `Utf8`, repetitive strings (stages,
//! channels, campaigns, currencies, sources, owners, segments, series, periods,
//! forecast categories, attributes) `Dictionary(Int32, Utf8)`.
//!
//! # Errors
//!
//! A problem with a batch's columns (a missing required column, two columns with the
//! same name, a column of a type the table does not take) is an error whatever the
//! [`OnError`] policy. A problem with a row is an
//! [`ErrorKind::Arrow`] naming the source (the [`Options::with_source_name`], by
//! default the table's Parquet file name), the zero-based row counted across all the
//! batches given to the decoder, the batch, the column and the reason: the CSV
//! readers' reasons ([`crate::csv`]), plus a decimal too large for 28 digits. Under
//! [`OnError::SkipAndReport`] bad rows are skipped,
//! counted and kept in the [`ReadReport`] as in CSV.

mod column;
mod decode;
mod encode;
#[cfg(feature = "parquet")]
mod funnel;
#[cfg(feature = "parquet")]
pub mod parquet;
mod paths;

use std::marker::PhantomData;

pub use arrow_array::RecordBatch;
pub use encode::{MONEY_SCALE, schema, to_record_batch};
pub use paths::JourneyDecoder;

use crate::csv::field::{Ctx, RowError};
use crate::csv::{CsvRecord, OnError, Options, ReadReport};
use crate::error::{Error, ErrorKind, Result};
use crate::records::{
    Conversion, ForecastPoint, Lead, OpportunityChange, PathRow, Spend, StageEvent, Touch,
};

/// A record type with a canonical Arrow schema (the columns of its CSV schema), read
/// by a [`Decoder`] and written by [`to_record_batch`]. Implemented for the crate's
/// record types only.
pub trait ArrowRecord: CsvRecord + decode::Table + encode::Encode {
    /// The table's canonical Parquet file name (e.g. `"stage_events.parquet"`), also
    /// the default source name in errors.
    const PARQUET_FILE_NAME: &'static str;
}

impl ArrowRecord for Lead {
    const PARQUET_FILE_NAME: &'static str = "leads.parquet";
}
impl ArrowRecord for StageEvent {
    const PARQUET_FILE_NAME: &'static str = "stage_events.parquet";
}
impl ArrowRecord for Touch {
    const PARQUET_FILE_NAME: &'static str = "touches.parquet";
}
impl ArrowRecord for Conversion {
    const PARQUET_FILE_NAME: &'static str = "conversions.parquet";
}
impl ArrowRecord for Spend {
    const PARQUET_FILE_NAME: &'static str = "spend.parquet";
}
impl ArrowRecord for OpportunityChange {
    const PARQUET_FILE_NAME: &'static str = "opportunity_history.parquet";
}
impl ArrowRecord for PathRow {
    const PARQUET_FILE_NAME: &'static str = "paths.parquet";
}
impl ArrowRecord for ForecastPoint {
    const PARQUET_FILE_NAME: &'static str = "forecasts.parquet";
}

/// Decodes the record batches of one canonical table into records, one batch at a
/// time, keeping a [`ReadReport`] and the row count across batches (so errors name
/// the row in the whole table). The options are the CSV readers' [`Options`]: its
/// source name, [`OnError`] policy, kept errors and path separator apply (the
/// delimiter does not).
///
/// # Errors
/// See the [module documentation](self#errors).
pub struct Decoder<T: ArrowRecord> {
    source: String,
    options: Options,
    ctx: Ctx,
    report: ReadReport,
    batches: u64,
    stopped: bool,
    record: PhantomData<fn() -> T>,
}

impl<T: ArrowRecord> std::fmt::Debug for Decoder<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("source", &self.source)
            .field("report", &self.report)
            .field("batches", &self.batches)
            .finish_non_exhaustive()
    }
}

impl<T: ArrowRecord> Decoder<T> {
    /// A decoder for `T`'s table under `options`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`] for an empty path separator.
    pub fn new(options: Options) -> Result<Self> {
        if options.path_separator().is_empty() {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "path_separator",
                value: String::new(),
                reason: "the path separator must not be empty".into(),
            }));
        }
        Ok(Decoder {
            source: options
                .source_name()
                .unwrap_or(T::PARQUET_FILE_NAME)
                .to_string(),
            ctx: Ctx::new(options.path_separator()),
            options,
            report: ReadReport::default(),
            batches: 0,
            stopped: false,
            record: PhantomData,
        })
    }

    /// What the decoder has read so far: rows, records, skipped rows and their errors.
    pub fn report(&self) -> &ReadReport {
        &self.report
    }

    /// The source name errors give.
    pub fn source_name(&self) -> &str {
        &self.source
    }

    /// Checks that a batch schema has the columns `T` needs, of types it takes.
    ///
    /// # Errors
    /// An [`ErrorKind::Arrow`] naming the column, at the next row.
    pub fn check_schema(&self, schema: &arrow_schema::Schema) -> Result<()> {
        let batch = RecordBatch::new_empty(std::sync::Arc::new(schema.clone()));
        let header = decode::header(schema).map_err(|e| self.error(e, self.report.rows))?;
        decode::columns::<T>(&batch, &header)
            .map(|_| ())
            .map_err(|e| self.error(e, self.report.rows))
    }

    /// Decodes the rows of `batch` and appends their records to `out`.
    ///
    /// # Errors
    /// As [`Decoder::decode_with`].
    pub fn decode(&mut self, batch: &RecordBatch, out: &mut Vec<T>) -> Result<()> {
        out.reserve(batch.num_rows());
        self.decode_with(batch, |r| {
            out.push(r);
            Ok(())
        })
    }

    /// Decodes the rows of `batch`, giving each record to `add` in order (for
    /// example an engine's accumulator, so that no `Vec` of records is built).
    ///
    /// # Errors
    /// A problem with the batch's columns; under [`OnError::Stop`] the first bad
    /// row's [`ErrorKind::Arrow`] (the rows before it were given to `add`, and the
    /// decoder then refuses further batches with the same error); any error of `add`.
    pub fn decode_with(
        &mut self,
        batch: &RecordBatch,
        mut add: impl FnMut(T) -> Result<()>,
    ) -> Result<()> {
        self.decode_into(batch, &mut add, |_, _, _| Ok(false), |add, r| add(r))
    }

    /// Decodes the rows of `batch` into `part`: `fast` sees each row first (the
    /// batch's columns and the row) and returns `true` when it took the row as a
    /// record (it must then do what decoding and `add` would, and fail where `add`
    /// would); any other row is decoded and given to `add`. Errors, counts and
    /// policy as [`Decoder::decode_with`].
    pub(crate) fn decode_into<A>(
        &mut self,
        batch: &RecordBatch,
        part: &mut A,
        mut fast: impl FnMut(&mut A, &decode::Columns<'_>, usize) -> Result<bool>,
        mut add: impl FnMut(&mut A, T) -> Result<()>,
    ) -> Result<()> {
        if self.stopped {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "batch",
                value: self.source.clone(),
                reason: "the decoder stopped at a bad row (OnError::Stop)".into(),
            }));
        }
        let first = self.report.rows;
        let header = decode::header(batch.schema_ref()).map_err(|e| self.error(e, first))?;
        let columns = decode::columns::<T>(batch, &header).map_err(|e| self.error(e, first))?;
        for i in 0..batch.num_rows() {
            self.report.rows += 1;
            if fast(part, &columns, i)? {
                self.report.records += 1;
                continue;
            }
            match <T as decode::Table>::decode(&columns, i, &mut self.ctx) {
                Ok(record) => {
                    self.report.records += 1;
                    add(part, record)?;
                }
                Err(e) => {
                    let e = self.error(e, first + i as u64);
                    match self.options.on_error() {
                        OnError::Stop => {
                            self.stopped = true;
                            self.batches += 1;
                            return Err(e);
                        }
                        OnError::SkipAndReport => {
                            self.report.skip(e, self.options.kept_errors());
                        }
                    }
                }
            }
        }
        self.batches += 1;
        Ok(())
    }

    fn error(&self, e: RowError, row: u64) -> Error {
        Error::from(ErrorKind::Arrow {
            source_name: self.source.clone(),
            row,
            batch: self.batches,
            column: e.column,
            reason: e.reason,
        })
    }
}

/// Reads the records of `batches` of `T`'s table; returns them with the decoder's
/// report.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{ArrayRef, Decimal128Array, RecordBatch, StringArray, Date32Array};
/// use revops::arrow::read_batches;
/// use revops::csv::Options;
/// use revops::Spend;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let batch = RecordBatch::try_from_iter([
///     ("channel", Arc::new(StringArray::from(vec!["search"])) as ArrayRef),
///     ("campaign", Arc::new(StringArray::from(vec![None::<&str>])) as ArrayRef),
///     ("period_start", Arc::new(Date32Array::from(vec![20_454])) as ArrayRef),
///     ("period_end", Arc::new(Date32Array::from(vec![20_484])) as ArrayRef),
///     ("amount", Arc::new(Decimal128Array::from(vec![310_050]).with_precision_and_scale(12, 2)?) as ArrayRef),
///     ("currency", Arc::new(StringArray::from(vec!["USD"])) as ArrayRef),
/// ])?;
/// let (spend, report) = read_batches::<Spend>([&batch], Options::new())?;
/// assert_eq!(spend[0].amount.to_string(), "3100.50 USD");
/// assert_eq!(spend[0].days(), 31);
/// assert_eq!(report.records, 1);
/// # Ok(()) }
/// ```
///
/// # Errors
/// As [`Decoder::decode`].
pub fn read_batches<'a, T: ArrowRecord>(
    batches: impl IntoIterator<Item = &'a RecordBatch>,
    options: Options,
) -> Result<(Vec<T>, ReadReport)> {
    let mut decoder = Decoder::<T>::new(options)?;
    let mut out = Vec::new();
    for batch in batches {
        decoder.decode(batch, &mut out)?;
    }
    Ok((out, decoder.report.clone()))
}
