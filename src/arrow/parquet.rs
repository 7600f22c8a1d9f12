//! The canonical tables as Parquet files (feature `parquet`).
//!
//! A [`Reader`] streams the records of one Parquet file batch by batch, reading only
//! the columns its table needs (for leads: every column, the others being
//! attributes), with a [`Decoder`]'s validation: the same Arrow types, rules and
//! errors, naming the file, the row (zero-based, across the file) and the column.
//! [`read_dir`] reads a folder of canonical Parquet files (`leads.parquet`,
//! `stage_events.parquet`, ...) into a [`csv::Dataset`](crate::csv::Dataset), so
//! that every engine and [`report`](crate::report) takes them as it takes CSV.
//! A [`Writer`] (or [`write_records`]) writes records as Parquet (snappy-compressed)
//! with the schema of [`to_record_batch`](super::to_record_batch); what it writes
//! reads back equal. Files compressed with snappy, zstd or lz4 (or not at all) are
//! read; gzip and brotli are not (the features are off to keep the build small).
//!
//! ```
//! use revops::arrow::parquet::{Reader, write_records};
//! use revops::csv::Options;
//! use revops::{Currency, Money, Spend, id, DateRange};
//! use chrono::NaiveDate;
//! # fn main() -> Result<(), revops::Error> {
//! let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
//! let spend = vec![
//!     Spend::new(id!("search"), DateRange::new(d(1, 1), d(1, 31))?, Money::parse("3100.50", Currency::USD)?),
//!     Spend::new(id!("events"), DateRange::new(d(2, 1), d(2, 28))?, Money::parse("980", Currency::EUR)?),
//! ];
//! let file: Vec<u8> = write_records(&spend, Vec::new(), &Options::new())?;
//! let back: Vec<Spend> = Reader::from_bytes(file, Options::new())?.collect::<Result<_, _>>()?;
//! assert_eq!(back, spend);
//! # Ok(()) }
//! ```

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use ::parquet::arrow::ArrowWriter;
use ::parquet::arrow::ProjectionMask;
use ::parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use ::parquet::basic::Compression;
use ::parquet::file::properties::WriterProperties;
use ::parquet::file::reader::ChunkReader;

use super::encode::{self, Layout};
use super::{ArrowRecord, Decoder, RecordBatch, decode};
use crate::csv::{Dataset, Options, ReadReport};
use crate::error::{Error, ErrorKind, Result, Source};
use crate::records::{
    Conversion, ForecastPoint, Lead, OpportunityChange, Spend, StageEvent, Touch,
};

/// Rows per record batch read from a file.
const READ_BATCH_ROWS: usize = 8192;
/// Records per record batch (and at most per row group) a [`Writer`] writes.
const WRITE_BATCH_ROWS: usize = 65_536;

/// A Parquet failure as an I/O error naming the file.
pub(crate) fn parquet_error(source: &str, e: impl std::fmt::Display) -> Error {
    Error::from(ErrorKind::Io {
        context: Some(source.to_string()),
        source: Source::new(std::io::Error::other(format!("Parquet: {e}"))),
    })
}

/// A streaming reader of one canonical table from a Parquet file: an iterator of
/// `Result<record>` with the [`OnError`](crate::csv::OnError) policy of its options,
/// as a CSV [`Reader`](crate::csv::Reader).
pub struct Reader<T: ArrowRecord> {
    batches: Batches,
    decoder: Decoder<T>,
    buffer: std::vec::IntoIter<T>,
    pending: Option<Error>,
    done: bool,
    /// The row count the file's footer states.
    rows: i64,
}

/// The most rows a footer's count reserves room for ahead of reading (a footer can
/// claim any count; beyond this the columns grow as rows arrive).
const MAX_RESERVED_ROWS: usize = 1 << 24;

impl<T: ArrowRecord> std::fmt::Debug for Reader<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("decoder", &self.decoder)
            .finish_non_exhaustive()
    }
}

impl<T: ArrowRecord> Reader<T> {
    /// Opens the Parquet file at `path`; errors name it by its file name unless the
    /// options give a source name.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] if the file cannot be opened or is not Parquet; an
    /// [`ErrorKind::Arrow`] for a missing required column or one of a type the table
    /// does not take (see [`Decoder`]).
    pub fn from_path(path: impl AsRef<Path>, options: Options) -> Result<Self> {
        Self::from_path_selecting(path, options, |_| None, None)
    }

    /// As [`Reader::from_path`], decoding only the columns `select` picks given the
    /// file's Arrow schema (`None`: every column the table reads; see [`Selection`]),
    /// of the row groups `groups` names (`None`: all).
    pub(crate) fn from_path_selecting(
        path: impl AsRef<Path>,
        options: Options,
        select: impl FnOnce(&arrow_schema::Schema) -> Option<Selection>,
        groups: Option<Vec<usize>>,
    ) -> Result<Self> {
        let path = path.as_ref();
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let options = match options.source_name() {
            Some(_) => options,
            None => options.with_source_name(name),
        };
        let file = File::open(path).map_err(|e| {
            Error::from(ErrorKind::Io {
                context: Some(path.display().to_string()),
                source: Source::new(e),
            })
        })?;
        Self::selecting(file, options, select, groups)
    }

    /// A reader of a Parquet file held in memory.
    ///
    /// # Errors
    /// As [`Reader::from_path`].
    pub fn from_bytes(bytes: impl Into<Vec<u8>>, options: Options) -> Result<Self> {
        Self::new(bytes::Bytes::from(bytes.into()), options)
    }

    /// A reader of a Parquet file from any [`ChunkReader`] (a [`File`], bytes).
    ///
    /// # Errors
    /// As [`Reader::from_path`].
    pub fn new<R: ChunkReader + 'static>(input: R, options: Options) -> Result<Self> {
        Self::selecting(input, options, |_| None, None)
    }

    fn selecting<R: ChunkReader + 'static>(
        input: R,
        options: Options,
        select: impl FnOnce(&arrow_schema::Schema) -> Option<Selection>,
        groups: Option<Vec<usize>>,
    ) -> Result<Self> {
        let decoder = Decoder::<T>::new(options)?;
        let source = decoder.source_name().to_string();
        let builder = ParquetRecordBatchReaderBuilder::try_new(input)
            .map_err(|e| parquet_error(&source, e))?;
        decoder.check_schema(builder.schema())?;
        let header =
            decode::header(builder.schema()).map_err(|e| parquet_error(&source, e.reason))?;
        let (fixed, attributes) =
            decode::positions::<T>(&header).map_err(|e| parquet_error(&source, e.reason))?;
        let selection = select(builder.schema());
        let picked =
            |v: &Option<Vec<bool>>, k: usize| v.as_ref().is_none_or(|v| v.get(k) == Some(&true));
        let (fixed_picks, attribute_picks) = match selection {
            Some(Selection { fixed, attributes }) => (Some(fixed), Some(attributes)),
            None => (None, None),
        };
        let mut roots: Vec<usize> = fixed
            .iter()
            .enumerate()
            .filter(|&(k, _)| picked(&fixed_picks, k))
            .filter_map(|(_, at)| *at)
            .chain(
                attributes
                    .iter()
                    .enumerate()
                    .filter(|&(k, _)| picked(&attribute_picks, k))
                    .map(|(_, &at)| at),
            )
            .collect();
        roots.sort_unstable();
        let widen = (fixed_picks.is_some() || attribute_picks.is_some())
            .then(|| Widen::new(builder.schema(), &fixed, &attributes, &roots));
        let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
        let (rows, builder) = match groups {
            Some(groups) => {
                let all = builder.metadata().row_groups();
                let rows = groups
                    .iter()
                    .filter_map(|&g| all.get(g))
                    .map(|g| g.num_rows())
                    .sum();
                (rows, builder.with_row_groups(groups))
            }
            None => (builder.metadata().file_metadata().num_rows(), builder),
        };
        let reader = builder
            .with_projection(mask)
            .with_batch_size(READ_BATCH_ROWS)
            .build()
            .map_err(|e| parquet_error(&source, e))?;
        Ok(Reader {
            batches: Batches { reader, widen },
            decoder,
            buffer: Vec::new().into_iter(),
            pending: None,
            done: false,
            rows,
        })
    }

    /// How many rows to reserve room for: the footer's row count, at most
    /// [`MAX_RESERVED_ROWS`] (it is only a hint: a file may claim any count).
    pub(crate) fn rows_hint(&self) -> usize {
        usize::try_from(self.rows).map_or(0, |r| r.min(MAX_RESERVED_ROWS))
    }

    /// The file's record batches (from the first not yet read) and the decoder.
    pub(crate) fn into_parts(self) -> (Batches, Decoder<T>) {
        (self.batches, self.decoder)
    }

    /// What the reader has read so far (rows, records, skipped rows and their errors).
    pub fn report(&self) -> &ReadReport {
        self.decoder.report()
    }

    /// The source name errors give.
    pub fn source_name(&self) -> &str {
        self.decoder.source_name()
    }

    /// Gives every remaining record to `add`, batch by batch, without buffering
    /// (for example into an engine's accumulator); returns the report.
    ///
    /// # Errors
    /// As the iterator; any error of `add`.
    pub fn for_each(mut self, mut add: impl FnMut(T) -> Result<()>) -> Result<ReadReport> {
        for r in self.buffer.by_ref() {
            add(r)?;
        }
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        for batch in self.batches.by_ref() {
            let batch = batch.map_err(|e| parquet_error(self.decoder.source_name(), e))?;
            self.decoder.decode_with(&batch, &mut add)?;
        }
        Ok(self.decoder.report().clone())
    }
}

impl<T: ArrowRecord> Iterator for Reader<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        loop {
            if let Some(r) = self.buffer.next() {
                return Some(Ok(r));
            }
            if let Some(e) = self.pending.take() {
                self.done = true;
                return Some(Err(e));
            }
            if self.done {
                return None;
            }
            match self.batches.next() {
                None => {
                    self.done = true;
                    return None;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(parquet_error(self.decoder.source_name(), e)));
                }
                Some(Ok(batch)) => {
                    let mut records = Vec::with_capacity(batch.num_rows());
                    if let Err(e) = self.decoder.decode(&batch, &mut records) {
                        self.pending = Some(e);
                    }
                    self.buffer = records.into_iter();
                }
            }
        }
    }
}

/// The fewest rows a file must have for [`halves`] to split it (a few in the unit
/// tests, so that their small files are split).
const MIN_SPLIT_ROWS: i64 = if cfg!(test) { 2 } else { 1 << 16 };

/// The row groups of the Parquet file at `path` in two runs of about equal rows (the
/// first groups, the rest), to read on two threads; `None` when the file cannot be
/// opened as Parquet (a sequential read names the problem), has fewer than two row
/// groups or fewer than [`MIN_SPLIT_ROWS`] rows.
pub(crate) fn halves(path: &Path) -> Option<[Vec<usize>; 2]> {
    let file = File::open(path).ok()?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).ok()?;
    let rows: Vec<i64> = builder
        .metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows())
        .collect();
    let total: i64 = rows.iter().sum();
    if rows.len() < 2 || total < MIN_SPLIT_ROWS {
        return None;
    }
    let mut first = 0;
    let mut sum = 0;
    while first < rows.len() - 1 && 2 * (sum + rows[first]) <= total + rows[first] {
        sum += rows[first];
        first += 1;
    }
    let first = first.max(1);
    Some([(0..first).collect(), (first..rows.len()).collect()])
}

/// The columns a lean reader decodes: by position in the table's columns
/// ([`Table::SPEC`](super::decode::Table::SPEC) order) and among its attribute
/// columns; `true` is read. A column not read is all-null in the batches (type
/// `Null`, under its name), so the schema and every other column stay as they are.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selection {
    pub(crate) fixed: Vec<bool>,
    pub(crate) attributes: Vec<bool>,
}

/// The record batches of a file (of the columns read), each widened back to the
/// columns the table reads when a [`Selection`] left some out.
pub(crate) struct Batches {
    reader: ParquetRecordBatchReader,
    widen: Option<Widen>,
}

impl Iterator for Batches {
    type Item = std::result::Result<RecordBatch, arrow_schema::ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let batch = self.reader.next()?;
        Some(match &self.widen {
            Some(w) => batch.and_then(|b| w.apply(&b)),
            None => batch,
        })
    }
}

/// Puts the columns a [`Selection`] left out back into a batch, as all-null columns
/// of type `Null` (no buffers), in the file's column order.
struct Widen {
    schema: arrow_schema::SchemaRef,
    /// For each column of the widened batch, its column in the read batch.
    from: Vec<Option<usize>>,
}

impl Widen {
    /// `fixed` and `attributes` are the table's columns in the file, `roots` (sorted)
    /// the ones read.
    fn new(
        full: &arrow_schema::Schema,
        fixed: &[Option<usize>],
        attributes: &[usize],
        roots: &[usize],
    ) -> Widen {
        let mut wanted: Vec<usize> = fixed.iter().flatten().chain(attributes).copied().collect();
        wanted.sort_unstable();
        let mut fields = Vec::with_capacity(wanted.len());
        let mut from = Vec::with_capacity(wanted.len());
        for i in wanted {
            let f = full.field(i);
            match roots.binary_search(&i) {
                Ok(j) => {
                    fields.push(f.clone());
                    from.push(Some(j));
                }
                Err(_) => {
                    fields.push(arrow_schema::Field::new(
                        f.name(),
                        arrow_schema::DataType::Null,
                        true,
                    ));
                    from.push(None);
                }
            }
        }
        Widen {
            schema: std::sync::Arc::new(arrow_schema::Schema::new(fields)),
            from,
        }
    }

    fn apply(&self, b: &RecordBatch) -> std::result::Result<RecordBatch, arrow_schema::ArrowError> {
        let n = b.num_rows();
        let columns = self
            .from
            .iter()
            .map(|at| match at {
                Some(j) => b.column(*j).clone(),
                None => {
                    std::sync::Arc::new(arrow_array::NullArray::new(n)) as arrow_array::ArrayRef
                }
            })
            .collect();
        RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &arrow_array::RecordBatchOptions::new().with_row_count(Some(n)),
        )
    }
}

/// Reads every canonical Parquet file found in `dir` (`leads.parquet`,
/// `stage_events.parquet`, `touches.parquet`, `conversions.parquet`,
/// `spend.parquet`, `opportunity_history.parquet`, `forecasts.parquet`) with
/// `options` (the source name is each file's name) into a [`Dataset`], as
/// [`Dataset::read_dir`] reads CSV: a file that is not there is named in
/// [`Dataset::missing`], and each file read has its report in [`Dataset::reports`].
///
/// # Errors
/// [`ErrorKind::Io`] if `dir` is not a readable folder or a file cannot be read as
/// Parquet; with [`OnError::Stop`](crate::csv::OnError::Stop), the first bad row of
/// any file as [`ErrorKind::Arrow`].
pub fn read_dir(dir: impl AsRef<Path>, options: Options) -> Result<Dataset> {
    let dir = dir.as_ref();
    if !dir.is_dir() {
        return Err(Error::from(ErrorKind::Io {
            context: Some(dir.display().to_string()),
            source: Source::new(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                "not a folder",
            )),
        }));
    }
    let mut d = Dataset::default();
    d.leads = read_table(&mut d, dir, &options)?;
    d.stage_events = read_table::<StageEvent>(&mut d, dir, &options)?;
    d.touches = read_table::<Touch>(&mut d, dir, &options)?;
    d.conversions = read_table::<Conversion>(&mut d, dir, &options)?;
    d.spend = read_table::<Spend>(&mut d, dir, &options)?;
    d.opportunity_history = read_table::<OpportunityChange>(&mut d, dir, &options)?;
    d.forecasts = read_table::<ForecastPoint>(&mut d, dir, &options)?;
    Ok(d)
}

fn read_table<T: ArrowRecord>(d: &mut Dataset, dir: &Path, options: &Options) -> Result<Vec<T>> {
    let path: PathBuf = dir.join(T::PARQUET_FILE_NAME);
    if !path.is_file() {
        d.missing.push(T::PARQUET_FILE_NAME);
        return Ok(Vec::new());
    }
    let reader = Reader::<T>::from_path(
        &path,
        options.clone().with_source_name(T::PARQUET_FILE_NAME),
    )?;
    let mut out = Vec::new();
    let report = reader.for_each(|r| {
        out.push(r);
        Ok(())
    })?;
    d.reports.push((T::PARQUET_FILE_NAME, report));
    Ok(out)
}

/// A writer of one canonical table as a Parquet file: records are buffered and
/// written a batch of 65 536 at a time; [`Writer::finish`] writes the rest and the
/// file footer and gives the output back. The schema is [`schema`](super::schema)'s
/// (money as `Decimal128(38, 9)` with the currency in its own column, times as
/// `Timestamp(Microsecond, "UTC")`, dates as `Date32`, repetitive strings
/// dictionary-encoded); the file is snappy-compressed.
pub struct Writer<T: ArrowRecord, W: Write + Send> {
    inner: ArrowWriter<W>,
    layout: Layout,
    buffer: Vec<T>,
    written: usize,
    source: String,
}

impl<T: ArrowRecord, W: Write + Send> std::fmt::Debug for Writer<T, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl<T: ArrowRecord + Clone, W: Write + Send> Writer<T, W> {
    /// A writer of `T`'s table (paths joined with the options' path separator; a lead
    /// table without attribute columns: see [`Writer::with_attributes`]).
    ///
    /// # Errors
    /// [`ErrorKind::Io`] if the Parquet writer cannot start.
    pub fn new(output: W, options: &Options) -> Result<Self> {
        Self::with_layout(
            output,
            Layout {
                path_separator: options.path_separator().to_string(),
                attributes: Vec::new(),
            },
        )
    }

    fn with_layout(output: W, layout: Layout) -> Result<Self> {
        let source = T::PARQUET_FILE_NAME.to_string();
        let schema = std::sync::Arc::new(arrow_schema::Schema::new(T::fields(&layout)));
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        let inner = ArrowWriter::try_new(output, schema, Some(props))
            .map_err(|e| parquet_error(&source, e))?;
        Ok(Writer {
            inner,
            layout,
            buffer: Vec::new(),
            written: 0,
            source,
        })
    }

    /// Buffers one record (written with the next full batch).
    ///
    /// # Errors
    /// As [`Writer::write_all`] when the batch is written.
    pub fn write(&mut self, record: &T) -> Result<()> {
        self.buffer.push(record.clone());
        if self.buffer.len() >= WRITE_BATCH_ROWS {
            self.flush_buffer()?;
        }
        Ok(())
    }

    /// Writes records (after any buffered ones).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidField`] naming the record (its index among the records
    /// written) for a value the schema cannot hold (see
    /// [`to_record_batch`](super::to_record_batch)); [`ErrorKind::Io`] if writing fails.
    pub fn write_all(&mut self, records: &[T]) -> Result<()> {
        self.flush_buffer()?;
        for chunk in records.chunks(WRITE_BATCH_ROWS) {
            self.write_batch(chunk)?;
        }
        Ok(())
    }

    fn flush_buffer(&mut self) -> Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let records = std::mem::take(&mut self.buffer);
        self.write_batch(&records)?;
        self.buffer = records;
        self.buffer.clear();
        Ok(())
    }

    fn write_batch(&mut self, records: &[T]) -> Result<()> {
        let batch = encode::batch(records, self.written, &self.layout)?;
        self.inner
            .write(&batch)
            .map_err(|e| parquet_error(&self.source, e))?;
        self.written += records.len();
        Ok(())
    }

    /// Writes what is buffered and the file footer; returns the output.
    ///
    /// # Errors
    /// As [`Writer::write_all`].
    pub fn finish(mut self) -> Result<W> {
        self.flush_buffer()?;
        self.inner
            .into_inner()
            .map_err(|e| parquet_error(&self.source, e))
    }
}

impl<W: Write + Send> Writer<Lead, W> {
    /// A writer of leads with one column per attribute name (sorted); a lead with an
    /// attribute not named here is an error when written.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`] for names that would not read back as
    /// attributes; as [`Writer::new`].
    pub fn with_attributes<I, S>(output: W, attributes: I, options: &Options) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let attributes =
            crate::csv::schema::attribute_columns(attributes.into_iter().map(Into::into))?;
        Self::with_layout(
            output,
            Layout {
                path_separator: options.path_separator().to_string(),
                attributes,
            },
        )
    }
}

/// Writes `records` as a Parquet file of `T`'s table into `output` (a lead table gets
/// one column per attribute name of any lead); returns the output.
///
/// # Errors
/// As [`Writer::write_all`].
pub fn write_records<T: ArrowRecord + Clone, W: Write + Send>(
    records: &[T],
    output: W,
    options: &Options,
) -> Result<W> {
    let layout = encode::layout(records, options)?;
    let mut w = Writer::with_layout(output, layout)?;
    w.write_all(records)?;
    w.finish()
}
