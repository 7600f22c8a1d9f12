//! Writers.

use crate::error::{ErrorKind, Source};
use std::fmt;
use std::io::Write;
use std::marker::PhantomData;

use super::field::Fields;
use super::schema::attribute_columns;
use super::{CsvRecord, Options};
use crate::error::{Error, RecordRef, Result};
use crate::records::Lead;

fn write_error(e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => Error::from(e),
        other => Error::from(ErrorKind::Io {
            context: None,
            source: Source::new(std::io::Error::other(format!("{other:?}"))),
        }),
    }
}

/// A writer of one canonical CSV schema: the header row at creation, then one row per
/// [`Writer::write`]; call [`Writer::finish`] to flush and get the output back.
///
/// Timestamps are written as RFC 3339 in UTC with `Z` (`2026-03-04T10:11:12Z`, with 3,
/// 6 or 9 fractional digits when the value has them), dates as `YYYY-MM-DD`, money as
/// the decimal amount and the currency code in its own column, `None` as an empty
/// field. Fields holding the delimiter, quotes or line breaks are quoted. What a
/// [`Reader`](super::Reader) reads back equals what was written, except that readers
/// trim ids and keys (stage, series, period) and read blank optional text as `None`.
///
/// Leads' attributes are columns after the fixed ones. Their names must be known
/// before the header is written: give them to [`Writer::with_attributes`], or pass
/// all the leads to [`write_records`], which takes the union of their attribute names
/// (sorted). A lead with an attribute that has no column is an error, never dropped.
///
/// ```
/// use revops::csv::{Options, Reader, Writer};
/// use revops::{StageEvent, SubjectId};
/// use chrono::{TimeZone, Utc};
/// # fn main() -> Result<(), revops::Error> {
/// let at = Utc.with_ymd_and_hms(2026, 3, 4, 10, 11, 12).unwrap();
/// let event = StageEvent::new(SubjectId::new("L1")?, "mql", at).with_reason("score, 80");
/// let mut w = Writer::<StageEvent, _>::new(Vec::new(), Options::new())?;
/// w.write(&event)?;
/// let bytes = w.finish()?;
/// assert_eq!(
///     String::from_utf8_lossy(&bytes),
///     "subject_id,stage,at,cycle,reason\nL1,mql,2026-03-04T10:11:12Z,,\"score, 80\"\n"
/// );
/// let back: Vec<StageEvent> = Reader::new(&bytes[..], Options::new())?.collect::<Result<_, _>>()?;
/// assert_eq!(back, [event]);
/// # Ok(()) }
/// ```
pub struct Writer<T: CsvRecord, W: Write> {
    csv: csv::Writer<W>,
    fields: Fields,
    extra: Vec<String>,
    written: usize,
    record: PhantomData<fn(&T)>,
}

impl<T: CsvRecord, W: Write> Writer<T, W> {
    /// A writer of `T`'s schema that writes the header row now. For leads, the file has
    /// no attribute columns (see [`Writer::with_attributes`]).
    ///
    /// # Errors
    /// [`ErrorKind::Io`](crate::error::ErrorKind::Io) if writing fails; [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) for an unusable
    /// delimiter or an empty path separator.
    pub fn new(output: W, options: Options) -> Result<Self> {
        Self::with_extra(output, Vec::new(), options)
    }

    fn with_extra(output: W, extra: Vec<String>, options: Options) -> Result<Self> {
        options.check()?;
        let mut csv = csv::WriterBuilder::new()
            .delimiter(options.delimiter)
            .from_writer(output);
        let header = T::COLUMNS
            .iter()
            .copied()
            .chain(extra.iter().map(String::as_str));
        csv.write_record(header).map_err(write_error)?;
        Ok(Writer {
            csv,
            fields: Fields::new(&options.path_separator),
            extra,
            written: 0,
            record: PhantomData,
        })
    }

    /// Writes one record as one row.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the record (by its position among the records
    /// written) if a value cannot be written so that it reads back: an id or key
    /// (anything but free text) with a line break, a year outside
    /// 0000–9999, a path channel containing the path separator, a lead attribute without
    /// a column. [`ErrorKind::Io`](crate::error::ErrorKind::Io) if writing fails.
    pub fn write(&mut self, record: &T) -> Result<()> {
        self.fields.record.clear();
        record.encode(&self.extra, &mut self.fields).map_err(|e| {
            Error::from(ErrorKind::InvalidField {
                record: RecordRef::new(T::KIND).with_index(self.written),
                field: e.field,
                reason: e.reason,
            })
        })?;
        self.csv
            .write_byte_record(&self.fields.record)
            .map_err(write_error)?;
        self.written += 1;
        Ok(())
    }

    /// Flushes the rows and returns the output.
    ///
    /// # Errors
    /// [`ErrorKind::Io`](crate::error::ErrorKind::Io) if flushing fails.
    pub fn finish(self) -> Result<W> {
        self.csv
            .into_inner()
            .map_err(|e| Error::from(e.into_error()))
    }
}

impl<W: Write> Writer<Lead, W> {
    /// A leads writer with one column per attribute name (sorted, duplicates merged),
    /// after the fixed columns.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) naming `attributes` if a name is empty, has
    /// surrounding whitespace, is a fixed column of `leads.csv` or differs from another
    /// only in case (readers match header names case-insensitively); otherwise as
    /// [`Writer::new`].
    pub fn with_attributes<I, S>(output: W, attributes: I, options: Options) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let extra = attribute_columns(attributes.into_iter().map(Into::into))?;
        Self::with_extra(output, extra, options)
    }
}

/// Writes all `records` (header included) and returns the output, flushed.
///
/// This takes a slice because leads need two passes: their attribute columns are the
/// union of all the leads' attribute names, sorted, known before the header is written.
///
/// ```
/// use revops::csv::{write_records, Options};
/// use revops::{Lead, LeadId};
/// use chrono::{TimeZone, Utc};
/// # fn main() -> Result<(), revops::Error> {
/// let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
/// let leads = [
///     Lead::new(LeadId::new("L1")?, at).with_attribute("region", "emea"),
///     Lead::new(LeadId::new("L2")?, at).with_attribute("industry", "software"),
/// ];
/// let bytes = write_records(Vec::new(), &leads, Options::new())?;
/// assert!(bytes.starts_with(b"subject_id,created_at,source,campaign,account,owner,segment,industry,region\n"));
/// # Ok(()) }
/// ```
///
/// # Errors
/// As [`Writer::with_attributes`] for the attribute names, then as [`Writer::write`].
pub fn write_records<T: CsvRecord, W: Write>(
    output: W,
    records: &[T],
    options: Options,
) -> Result<W> {
    let extra = T::extra_columns(records)?;
    let mut writer = Writer::<T, W>::with_extra(output, extra, options)?;
    for record in records {
        writer.write(record)?;
    }
    writer.finish()
}

impl<T: CsvRecord, W: Write> fmt::Debug for Writer<T, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer")
            .field("columns", &T::COLUMNS)
            .field("extra_columns", &self.extra)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}
