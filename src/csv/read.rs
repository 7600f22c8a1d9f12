//! The streaming reader.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::iter::FusedIterator;
use std::path::Path;

use csv::ByteRecord;

use super::field::{Ctx, Header, RowError};
use super::{CsvRecord, OnError, Options, ReadReport};
use crate::error::{Error, Result};

/// Bytes the [`Tap`] reads from its source at a time.
const CHUNK: usize = 64 * 1024;

/// Passes the input through to the CSV parser while keeping the bytes not yet parsed,
/// so that the reader can tell on which line a record really starts.
///
/// The parser's own line count is right at the point where it stopped, but a record
/// may start later: after blank lines, or after the `\n` of the previous record's
/// `\r\n` (the parser ends a record at the `\r`). [`Tap::newlines_at`] counts those
/// line breaks.
struct Tap<R> {
    inner: R,
    /// Bytes from offset `start` of the input; `buf[..served]` went to the parser.
    buf: Vec<u8>,
    start: u64,
    served: usize,
    eof: bool,
    /// An error met while looking ahead, returned by the next `read`.
    error: Option<io::Error>,
}

impl<R: Read> Tap<R> {
    fn new(inner: R) -> Self {
        Tap {
            inner,
            buf: Vec::new(),
            start: 0,
            served: 0,
            eof: false,
            error: None,
        }
    }

    /// Appends up to one chunk from the source; `false` at its end or on an error.
    fn fill(&mut self) -> bool {
        if self.eof || self.error.is_some() {
            return false;
        }
        let old = self.buf.len();
        self.buf.resize(old + CHUNK, 0);
        loop {
            match self.inner.read(&mut self.buf[old..]) {
                Ok(n) => {
                    self.buf.truncate(old + n);
                    self.eof = n == 0;
                    return n > 0;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(old);
                    self.error = Some(e);
                    return false;
                }
            }
        }
    }

    /// The number of `\n` in the run of line-break bytes (`\r`, `\n`) that starts at
    /// input offset `at`: the parser skips them before the next record.
    fn newlines_at(&mut self, at: u64) -> u64 {
        let Some(mut i) = at
            .checked_sub(self.start)
            .and_then(|i| usize::try_from(i).ok())
        else {
            return 0;
        };
        let mut newlines = 0;
        loop {
            while let Some(&b) = self.buf.get(i) {
                match b {
                    b'\n' => newlines += 1,
                    b'\r' => {}
                    _ => return newlines,
                }
                i += 1;
            }
            if i != self.buf.len() || !self.fill() {
                return newlines;
            }
        }
    }
}

impl<R: Read> Read for Tap<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.served == self.buf.len() {
            if let Some(e) = self.error.take() {
                return Err(e);
            }
            // The parser has consumed everything it was given: drop it.
            self.start += self.buf.len() as u64;
            self.buf.clear();
            self.served = 0;
            if !self.fill() {
                return self.error.take().map_or(Ok(0), Err);
            }
        }
        let n = out.len().min(self.buf.len() - self.served);
        out[..n].copy_from_slice(&self.buf[self.served..self.served + n]);
        self.served += n;
        Ok(n)
    }
}

/// A streaming reader of one canonical CSV schema: an iterator of records.
///
/// Create it with [`Reader::new`] (any [`io::Read`], e.g. a `&[u8]` or a file) or
/// [`Reader::from_path`]; the header row is read and checked at creation. Each call to
/// `next` reads one row into a reused buffer and yields `Ok(record)` or, for a bad row,
/// `Err(`[`Error::Csv`]`)` naming the line, the column and the problem. What happens after
/// a bad row is the [`OnError`] policy of the [`Options`]; [`Reader::report`] counts the
/// rows and keeps the errors of skipped ones.
///
/// An I/O error is yielded as [`Error::Io`] and ends the iteration under either policy.
///
/// ```
/// use revops::csv::{OnError, Options, Reader};
/// use revops::Touch;
/// # fn main() -> Result<(), revops::Error> {
/// let data = "subject_id,channel,campaign,at,cost,currency
/// L1,paid_search,spring,2026-03-01T12:00:00Z,1.25,USD
/// L1,webinar,,2026-03-02,,
/// L2,email,,not a time,,
/// ";
/// let options = Options::new().with_on_error(OnError::SkipAndReport);
/// let mut touches = Reader::<Touch, _>::new(data.as_bytes(), options)?;
/// let read: Vec<Touch> = touches.by_ref().collect::<Result<_, _>>()?;
/// assert_eq!(read.len(), 2);
/// assert_eq!(read[1].campaign, None);
/// let report = touches.report();
/// assert_eq!((report.rows, report.records, report.skipped.len()), (3, 2, 1));
/// assert_eq!(
///     report.skipped[0].to_string(),
///     "touches.csv line 4, column `at`: `not a time` is not a timestamp (expected RFC 3339 \
///      such as 2026-03-04T10:11:12Z, `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DD`)"
/// );
/// # Ok(()) }
/// ```
pub struct Reader<T: CsvRecord, R> {
    csv: csv::Reader<Tap<R>>,
    row: ByteRecord,
    columns: T::Columns,
    width: usize,
    ctx: Ctx,
    source_name: String,
    on_error: OnError,
    report: ReadReport,
    done: bool,
    /// Lines of the file before this reader's input (for a reader resumed mid-file).
    line_offset: u64,
}

/// The line on which the parser's next record starts.
fn next_line<R: Read>(csv: &mut csv::Reader<Tap<R>>) -> u64 {
    let (byte, line) = (csv.position().byte(), csv.position().line());
    line + csv.get_mut().newlines_at(byte)
}

/// A parser error (with byte records and flexible rows, only I/O can fail).
fn read_error(e: csv::Error, source_name: &str, line: u64) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => Error::from(e),
        other => RowError::row(format!("{other:?}")).at(source_name, line),
    }
}

impl<T: CsvRecord, R: Read> Reader<T, R> {
    /// Reads and checks the header row of `input`.
    ///
    /// # Errors
    /// [`Error::Csv`] (line of the header) if the input is empty, a header name is not
    /// UTF-8 or repeated, or a required column is missing; [`Error::Io`] if reading
    /// fails; [`Error::InvalidParameter`] for an unusable delimiter or an empty path
    /// separator.
    pub fn new(input: R, options: Options) -> Result<Self> {
        options.check()?;
        let source_name = options
            .source_name
            .unwrap_or_else(|| T::FILE_NAME.to_string());
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(options.delimiter)
            .from_reader(Tap::new(input));
        let mut row = ByteRecord::new();
        let line = next_line(&mut csv);
        if !csv
            .read_byte_record(&mut row)
            .map_err(|e| read_error(e, &source_name, line))?
        {
            return Err(RowError::row("no header row: the input is empty").at(&source_name, line));
        }
        let header = Header::parse(&row).map_err(|e| e.at(&source_name, line))?;
        let columns = T::resolve(&header).map_err(|e| e.at(&source_name, line))?;
        Ok(Reader {
            csv,
            row,
            columns,
            width: header.len(),
            ctx: Ctx::new(&options.path_separator),
            source_name,
            on_error: options.on_error,
            report: ReadReport::default(),
            done: false,
            line_offset: 0,
        })
    }

    /// A reader of the data rows of a file whose header was read elsewhere: `input`
    /// starts at line `first_line` of the file, and `report` holds what was read
    /// before it.
    pub(crate) fn resume(
        input: R,
        options: &Options,
        source_name: String,
        columns: T::Columns,
        width: usize,
        first_line: u64,
        report: ReadReport,
    ) -> Self {
        let csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(options.delimiter)
            .from_reader(Tap::new(input));
        Reader {
            csv,
            row: ByteRecord::new(),
            columns,
            width,
            ctx: Ctx::new(&options.path_separator),
            source_name,
            on_error: options.on_error,
            report,
            done: false,
            line_offset: first_line.saturating_sub(1),
        }
    }

    /// What has been read so far: rows seen, records yielded, and the errors of the
    /// rows skipped under [`OnError::SkipAndReport`].
    pub fn report(&self) -> &ReadReport {
        &self.report
    }

    /// The name used in errors: the option's, or else the schema's file name.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    fn decode(&mut self) -> std::result::Result<T, RowError> {
        decode_row(&self.columns, &self.row, self.width, &mut self.ctx)
    }
}

/// Decodes one data row of a file whose header has `width` columns.
pub(crate) fn decode_row<T: CsvRecord>(
    columns: &T::Columns,
    row: &ByteRecord,
    width: usize,
    ctx: &mut Ctx,
) -> std::result::Result<T, RowError> {
    if row.len() != width {
        return Err(RowError::row(format!(
            "wrong number of fields: the header has {}, this row has {}",
            width,
            row.len()
        )));
    }
    T::decode(columns, row, ctx)
}

impl<T: CsvRecord> Reader<T, File> {
    /// Opens a file and reads its header. Unless the options name the source, errors
    /// name the file (its last path component).
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be opened, otherwise as [`Reader::new`].
    pub fn from_path(path: impl AsRef<Path>, options: Options) -> Result<Self> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| Error::Io {
            message: format!("{}: {e}", path.display()),
        })?;
        let options = match (&options.source_name, path.file_name()) {
            (None, Some(name)) => options.with_source_name(name.to_string_lossy()),
            _ => options,
        };
        Reader::new(file, options)
    }
}

impl<T: CsvRecord, R: Read> Iterator for Reader<T, R> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        while !self.done {
            let line = next_line(&mut self.csv) + self.line_offset;
            match self.csv.read_byte_record(&mut self.row) {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(read_error(e, &self.source_name, line)));
                }
            }
            self.report.rows += 1;
            match self.decode() {
                Ok(record) => {
                    self.report.records += 1;
                    return Some(Ok(record));
                }
                Err(e) => {
                    let e = e.at(&self.source_name, line);
                    match self.on_error {
                        OnError::Stop => {
                            self.done = true;
                            return Some(Err(e));
                        }
                        OnError::SkipAndReport => self.report.skipped.push(e),
                    }
                }
            }
        }
        None
    }
}

impl<T: CsvRecord, R: Read> FusedIterator for Reader<T, R> {}

impl<T: CsvRecord, R> fmt::Debug for Reader<T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader")
            .field("source_name", &self.source_name)
            .field("on_error", &self.on_error)
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}
