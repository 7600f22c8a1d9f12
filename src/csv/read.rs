//! The streaming reader.

use crate::error::{ErrorKind, Source};
use std::fmt;
use std::fs::File;
use std::io::{self, Cursor, Read};
use std::iter::FusedIterator;
use std::path::Path;

use csv::ByteRecord;

use super::blocks::{Rest, split_header};
use super::field::{Ctx, Header, RowError, RowFields};
use super::split::{Line, Next, SplitRow, Splitter};
use super::{CsvRecord, OnError, Options, ReadReport};
use crate::error::{Error, Result};

/// Bytes the [`Tap`] reads from its source at a time.
const CHUNK: usize = 64 * 1024;

/// The high bit of each zero byte of `x`, exactly (no carry crosses bytes): the
/// word-at-a-time scans of the readers find bytes with it.
#[inline]
pub(super) fn zero_bytes(x: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let y = (x & LOW7).wrapping_add(LOW7);
    !(y | x | LOW7)
}

/// `b` in each byte of a word.
pub(super) const fn splat(b: u8) -> u64 {
    0x0101_0101_0101_0101 * b as u64
}

/// Counts line breaks as they stream by: `\n`, `\r\n` and a bare `\r` (old Mac
/// files) are one line break each.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct LineBreaks {
    /// Line breaks seen.
    pub(super) count: u64,
    /// Whether the last byte seen was `\r` (then a `\n` right after it is not another
    /// line break).
    after_cr: bool,
}

impl LineBreaks {
    /// Counts the line breaks in `bytes`, which follow the bytes seen so far.
    pub(super) fn add(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in words.by_ref() {
            let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
            let cr = zero_bytes(w ^ splat(b'\r'));
            if cr != 0 {
                self.bytes(word);
                continue;
            }
            let lf = zero_bytes(w ^ splat(b'\n'));
            self.count += u64::from(lf.count_ones());
            if self.after_cr && word[0] == b'\n' {
                self.count -= 1;
            }
            self.after_cr = false;
        }
        self.bytes(words.remainder());
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            match b {
                b'\n' if self.after_cr => self.after_cr = false,
                b'\n' => self.count += 1,
                b'\r' => {
                    self.count += 1;
                    self.after_cr = true;
                }
                _ => self.after_cr = false,
            }
        }
    }
}

/// Passes the input through to the CSV parser while keeping the bytes of the row
/// being read, so that the reader can count lines itself (the parser counts `\n`
/// only), find where a row really starts (after blank lines, or after the `\n` of
/// the previous row's `\r\n`: the parser ends a row at the `\r`), look at a row's
/// raw bytes for its quotes, and go back into a row to read on after a quote that
/// does not close ([`io::Seek`] within the kept bytes).
///
/// It hands out a single byte on the first read and after each seek, so that the
/// parser never drops a byte-order mark itself (it would at the start of its input):
/// the header reader drops one, the same way for every reader.
pub(crate) struct Tap<R> {
    inner: R,
    /// Bytes from offset `start` of the input; `buf[..served]` went to the parser.
    buf: Vec<u8>,
    start: u64,
    served: usize,
    eof: bool,
    /// An error met while looking ahead, returned by the next `read`.
    error: Option<io::Error>,
    /// Bytes from this offset on are kept (the start of the row being read).
    keep: u64,
    /// Line breaks in the input before offset `counted`.
    breaks: LineBreaks,
    counted: u64,
    /// Hand out one byte at the next read.
    short_read: bool,
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
            keep: 0,
            breaks: LineBreaks::default(),
            counted: 0,
            short_read: true,
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

    /// The position in `buf` of input offset `at` (kept bytes only).
    #[inline]
    fn index(&self, at: u64) -> usize {
        usize::try_from(at.saturating_sub(self.start))
            .map_or(self.buf.len(), |i| i.min(self.buf.len()))
    }

    /// Where the row that the parser reads from input offset `at` starts: after the
    /// line-break bytes (`\r`, `\n`) it skips there.
    /// The line breaks skipped are counted (the count is at `at`: the end of the
    /// previous row, or where reading went back to).
    #[inline]
    fn row_start(&mut self, at: u64) -> u64 {
        debug_assert_eq!(self.counted, at);
        let mut i = self.index(at);
        loop {
            while let Some(&b @ (b'\r' | b'\n')) = self.buf.get(i) {
                self.breaks.bytes(&[b]);
                i += 1;
            }
            if i != self.buf.len() || !self.fill() {
                self.counted = self.start + i as u64;
                return self.counted;
            }
        }
    }

    /// Counts the line breaks up to input offset `to` (kept bytes, at or after the
    /// last count); returns how many there are before `to`.
    fn count_to(&mut self, to: u64) -> u64 {
        let (from, to) = (self.index(self.counted), self.index(to));
        if from < to {
            self.breaks.add(&self.buf[from..to]);
        }
        self.counted = self.counted.max(self.start + to as u64);
        self.breaks.count
    }

    /// Counts the line end of a row without quotes that ends at input offset `to`
    /// (`cr`: it is a `\r`; `line_end`: the row has one); returns the line breaks in
    /// the row, as [`Tap::count_to`] would.
    #[inline]
    fn count_row_end(&mut self, to: u64, cr: bool, line_end: bool) -> u64 {
        self.breaks.after_cr = cr;
        self.breaks.count += u64::from(line_end);
        self.counted = to;
        u64::from(line_end)
    }

    /// The kept bytes from input offset `from` to `to`.
    #[inline]
    fn raw(&self, from: u64, to: u64) -> &[u8] {
        &self.buf[self.index(from)..self.index(to)]
    }

    /// Whether the parser has been given every byte of the input up to offset `at`
    /// and there are no more.
    fn ends_at(&self, at: u64) -> bool {
        self.eof && self.served == self.buf.len() && at == self.start + self.buf.len() as u64
    }
}

impl<R: Read> Read for Tap<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.served == self.buf.len() {
            if let Some(e) = self.error.take() {
                return Err(e);
            }
            // The parser has consumed everything it was given: keep the current row only.
            let drop = self.index(self.keep);
            self.buf.drain(..drop);
            self.start += drop as u64;
            self.served = self.buf.len();
            if !self.fill() {
                return self.error.take().map_or(Ok(0), Err);
            }
        }
        let mut n = out.len().min(self.buf.len() - self.served);
        if self.short_read {
            n = n.min(1);
            self.short_read = false;
        }
        out[..n].copy_from_slice(&self.buf[self.served..self.served + n]);
        self.served += n;
        Ok(n)
    }
}

impl<R: Read> io::Seek for Tap<R> {
    /// Goes back to a kept byte (the reader resumes inside the row it just read).
    fn seek(&mut self, to: io::SeekFrom) -> io::Result<u64> {
        match to {
            io::SeekFrom::Start(at)
                if at >= self.start.max(self.keep) && at <= self.start + self.served as u64 =>
            {
                self.served = self.index(at);
                self.short_read = true;
                Ok(at)
            }
            _ => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the CSV reader can only go back within the row it read",
            )),
        }
    }
}

/// A quoted field that does not end where it should, found in a row's raw bytes.
#[derive(Debug)]
struct BadQuote {
    /// The field (zero-based) the quote opens.
    field: usize,
    /// Offset of the opening quote in the raw row.
    open: usize,
    /// Offset just after the line break that ends the line of the opening quote
    /// (the end of the raw row if there is none): where reading goes on.
    resume: usize,
    /// What is wrong.
    problem: QuoteProblem,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum QuoteProblem {
    /// The input ends inside the quotes.
    Unclosed,
    /// The quotes span a line break, and are closed by a quote followed by this byte
    /// (not a delimiter or a line end): a row's quote that closed nothing.
    Stray(u8),
    /// The quotes span a line break in a column that does not take multi-line text.
    NotText,
    /// The quotes span a line break, and the row has the wrong number of fields: the
    /// quote most likely opened text that was meant to end on its line.
    Fields,
}

/// Looks at the quoted fields of the raw bytes of one row (the parser's rules: a
/// field is quoted when it starts with `"`, and `""` inside is a quote) for one that
/// spans a line break where it should not: unclosed at the end of the input, closed
/// by a quote followed by other text, or in a column that is not free text (`text`).
fn bad_quote(
    raw: &[u8],
    delimiter: u8,
    at_end: bool,
    text: impl Fn(usize) -> bool,
) -> Option<BadQuote> {
    let mut i = raw.iter().position(|&b| b != b'\r' && b != b'\n')?;
    let mut field = 0;
    loop {
        // At the start of a field.
        if raw.get(i) == Some(&b'"') {
            let open = i;
            i += 1;
            let mut spans = false;
            let closed = loop {
                match raw.get(i) {
                    None => break false,
                    Some(b'"') if raw.get(i + 1) == Some(&b'"') => i += 2,
                    Some(b'"') => break true,
                    Some(b'\r' | b'\n') => {
                        spans = true;
                        i += 1;
                    }
                    Some(_) => i += 1,
                }
            };
            let problem = if !closed {
                (at_end).then_some(QuoteProblem::Unclosed)
            } else if !spans {
                None
            } else {
                match raw.get(i + 1) {
                    Some(&b) if b != delimiter && b != b'\r' && b != b'\n' => {
                        Some(QuoteProblem::Stray(b))
                    }
                    _ if !text(field) => Some(QuoteProblem::NotText),
                    _ => None,
                }
            };
            if let Some(problem) = problem {
                let resume = raw[open..]
                    .iter()
                    .position(|&b| b == b'\r' || b == b'\n')
                    .map_or(raw.len(), |k| {
                        let k = open + k;
                        if raw[k] == b'\r' && raw.get(k + 1) == Some(&b'\n') {
                            k + 2
                        } else {
                            k + 1
                        }
                    });
                return Some(BadQuote {
                    field,
                    open,
                    resume,
                    problem,
                });
            }
            if !closed {
                return None;
            }
            i += 1;
        }
        // The rest of the field.
        loop {
            match raw.get(i) {
                None => return None,
                Some(&b) if b == delimiter => {
                    i += 1;
                    field += 1;
                    break;
                }
                Some(b'\r' | b'\n') => return None,
                Some(_) => i += 1,
            }
        }
    }
}

/// A streaming reader of one canonical CSV schema: an iterator of records.
///
/// Create it with [`Reader::new`] (any [`io::Read`], e.g. a `&[u8]` or a file) or
/// [`Reader::from_path`]; the header row is read and checked at creation. Each call to
/// `next` reads one row into a reused buffer and yields `Ok(record)` or, for a bad row,
/// `Err(`[`ErrorKind::Csv`](crate::error::ErrorKind::Csv)`)` naming the line, the column and the problem. What happens after
/// a bad row is the [`OnError`] policy of the [`Options`]; [`Reader::report`] counts the
/// rows and keeps the errors of skipped ones.
///
/// An I/O error is yielded as [`ErrorKind::Io`](crate::error::ErrorKind::Io) and ends the iteration under either policy.
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
///      such as 2026-03-04T10:11:12Z, `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DD`, in the years \
///      0000 to 9999)"
/// );
/// # Ok(()) }
/// ```
pub struct Reader<T: CsvRecord, R> {
    rows: Rows<R>,
    row: ByteRecord,
    columns: T::Columns,
    /// The header's names as written, for errors about a field.
    names: Vec<String>,
    ctx: Ctx,
    source_name: String,
    delimiter: u8,
    on_error: OnError,
    kept_errors: usize,
    report: ReadReport,
    done: bool,
    /// Lines of the file before the general parser's input (for a reader resumed
    /// mid-file, or switched from the splitter).
    line_offset: u64,
}

/// Where a [`Reader`]'s rows come from.
enum Rows<R> {
    /// Rows in the simple form (no quotes, no bare `\r`), split eight bytes at a time
    /// without the general parser, until the first other row.
    Fast(Fast<R>),
    /// The general parser, from the first row the splitter does not take on (it
    /// reads the rest of the input: what it reads is what it would read from there).
    General(csv::Reader<Tap<Rest<Rest<R>>>>),
    /// Only while switching from one to the other.
    Switching,
}

/// The splitter of a [`Reader`] over the data rows, and the line it is at.
struct Fast<R> {
    split: Splitter<Rest<R>>,
    line: Line,
    /// One-based line of the last line split.
    line_no: u64,
}

/// What the splitter yields next.
enum Step<T> {
    /// A row at this line, decoded (or its error).
    Row(u64, std::result::Result<T, RowError>),
    /// A blank line (not a row).
    Blank,
    /// A row the splitter does not take, from this offset of its buffer on.
    Switch(usize),
    /// The end of the input.
    End,
}

/// A parser error (with byte records and flexible rows, only I/O can fail).
fn read_error(e: csv::Error, source_name: &str, line: u64) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => Error::from(e),
        other => RowError::row(format!("{other:?}")).at(source_name, line),
    }
}

/// What [`read_row`] found.
enum Row {
    /// A row, starting at this line of the input, is in the record.
    Read(u64),
    /// A row starting at this line has a quote that does not close where it should;
    /// the parser goes on at the line after the quote's.
    BadQuote(u64, RowError),
    /// The end of the input.
    End,
}

/// Reads the next row into `row`, counting lines (from `line_offset` + 1), and checks
/// its quoted fields where they span lines (or end the input): only columns for which
/// `text` is true may hold multi-line text, and a quote must close (see [`bad_quote`]).
fn read_row<R: Read>(
    csv: &mut csv::Reader<Tap<R>>,
    row: &mut ByteRecord,
    delimiter: u8,
    names: &[String],
    line_offset: u64,
    text: impl Fn(usize) -> bool,
) -> std::result::Result<Row, csv::Error> {
    let at = csv.position().byte();
    let tap = csv.get_mut();
    let start = tap.row_start(at);
    let breaks = tap.breaks.count;
    let line = breaks + 1 + line_offset;
    tap.keep = at;
    if !csv.read_byte_record(row)? {
        return Ok(Row::End);
    }
    let end = csv.position().byte();
    let tap = csv.get_mut();
    let raw = tap.raw(start, end);
    let line_end = matches!(raw.last(), Some(b'\r' | b'\n'));
    // Without quotes, the raw row is its fields, the delimiters between them and its
    // line end, and holds no other line break: count that one without a scan.
    let quoted =
        raw.len() != row.as_slice().len() + row.len().saturating_sub(1) + usize::from(line_end);
    let mut inside = if quoted {
        tap.count_to(end) - breaks
    } else {
        tap.count_row_end(end, raw.last() == Some(&b'\r'), line_end)
    };
    let raw = tap.raw(start, end);
    if inside > 0 && line_end {
        inside -= 1; // the row's own line end
    }
    let at_end = tap.ends_at(end);
    if inside == 0 && !at_end {
        return Ok(Row::Read(line));
    }
    let bad = bad_quote(raw, delimiter, at_end, text).or_else(|| {
        // A row whose quoted text spans lines and that has the wrong number of fields:
        // most likely a quote that was meant to close on its line.
        (inside > 0 && !names.is_empty() && row.len() != names.len())
            .then(|| bad_quote(raw, delimiter, at_end, |_| false))
            .flatten()
            .map(|b| BadQuote {
                problem: QuoteProblem::Fields,
                ..b
            })
    });
    let Some(bad) = bad else {
        return Ok(Row::Read(line));
    };
    let mut before = LineBreaks::default();
    before.add(&raw[..bad.open]);
    let open_line = line + before.count;
    let column = names.get(bad.field);
    let what = match column {
        Some(_) => "this field".to_string(),
        None => format!("field {}", bad.field + 1),
    };
    let reason = match bad.problem {
        QuoteProblem::Unclosed => format!(
            "unclosed quote: the quote that opens {what} at line {open_line} is never closed (the input ends inside it)"
        ),
        QuoteProblem::Stray(_) => format!(
            "unclosed quote: the quote that opens {what} at line {open_line} runs past the end of that line, to a quote followed by more text (a quote inside a quoted field is written twice: `\"\"`)"
        ),
        QuoteProblem::Fields => format!(
            "unclosed quote: the quote that opens {what} at line {open_line} runs past the end of that line, and the row then has {} fields where the header has {}",
            row.len(),
            names.len()
        ),
        QuoteProblem::NotText => format!(
            "unclosed quote: the quote that opens {what} at line {open_line} runs past the end of that line, and this column is not free text, so it cannot span lines"
        ),
    };
    let error = RowError {
        column: column.cloned(),
        reason,
    };
    // Read on from the line after the quote's.
    let resume = start + bad.resume as u64;
    tap.breaks = LineBreaks {
        count: breaks,
        after_cr: false,
    };
    tap.counted = start;
    tap.count_to(resume);
    let mut position = csv::Position::new();
    position.set_byte(resume);
    csv.seek_raw(io::SeekFrom::Start(resume), position)?;
    Ok(Row::BadQuote(line, error))
}

impl<T: CsvRecord, R: Read> Reader<T, R> {
    /// Reads and checks the header row of `input`.
    ///
    /// # Errors
    /// [`ErrorKind::Csv`](crate::error::ErrorKind::Csv) (line of the header) if the input is empty, a header name is not
    /// UTF-8, spans lines or is repeated, or a required column is missing;
    /// [`ErrorKind::Io`](crate::error::ErrorKind::Io) if reading fails; [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) for an unusable
    /// delimiter or an empty path separator.
    pub fn new(input: R, options: Options) -> Result<Self> {
        options.check()?;
        // The header alone through the general parser (its checks and errors); the
        // data rows through the splitter, as far as they are in the simple form.
        let (header, first_line, rest) = split_header(input, options.delimiter)?;
        let (_, head) = read_head::<T, _>(&header, &options)?;
        let fast = Fast {
            split: Splitter::new(rest, options.delimiter),
            line: Line {
                start: 0,
                ends: Vec::with_capacity(16),
            },
            line_no: first_line - 1,
        };
        Ok(Self::with_rows(
            Rows::Fast(fast),
            &options,
            head.source_name,
            head.columns,
            &head.header,
            0,
            ReadReport::default(),
        ))
    }

    /// A reader that reads every row through the general parser (as readers did
    /// before the splitter): the reference the splitter's tests compare with.
    #[cfg(test)]
    pub(crate) fn general(input: R, options: Options) -> Result<Self> {
        let input = Cursor::new(Vec::new()).chain(Cursor::new(Vec::new()).chain(input));
        let (_, csv, head) = parse_head::<T, _>(input, &options)?;
        Ok(Self::with_rows(
            Rows::General(csv),
            &options,
            head.source_name,
            head.columns,
            &head.header,
            0,
            ReadReport::default(),
        ))
    }

    /// A reader of the data rows of a file whose header was read elsewhere: `input`
    /// starts at line `first_line` of the file, and `report` holds what was read
    /// before it. It reads through the general parser (callers hand it the rows
    /// their own splitter does not take).
    pub(crate) fn resume(
        input: R,
        options: &Options,
        source_name: String,
        columns: T::Columns,
        header: &Header,
        first_line: u64,
        report: ReadReport,
    ) -> Self {
        let input = Cursor::new(Vec::new()).chain(Cursor::new(Vec::new()).chain(input));
        let csv = parser(input, options.delimiter);
        Self::with_rows(
            Rows::General(csv),
            options,
            source_name,
            columns,
            header,
            first_line.saturating_sub(1),
            report,
        )
    }

    fn with_rows(
        rows: Rows<R>,
        options: &Options,
        source_name: String,
        columns: T::Columns,
        header: &Header,
        line_offset: u64,
        report: ReadReport,
    ) -> Self {
        Reader {
            rows,
            row: ByteRecord::new(),
            columns,
            names: header
                .columns()
                .map(|(_, _, name)| name.to_string())
                .collect(),
            ctx: Ctx::new(&options.path_separator),
            source_name,
            delimiter: options.delimiter,
            on_error: options.on_error,
            kept_errors: options.kept_errors,
            report,
            done: false,
            line_offset,
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
}

/// The header of a file: its columns for schema `T` and the name errors use.
pub(crate) struct Head<T: CsvRecord> {
    pub(crate) header: Header,
    pub(crate) columns: T::Columns,
    pub(crate) source_name: String,
}

/// Reads and checks the header row `header` (the bytes [`split_header`] cuts off the
/// input; see [`Reader::new`]); returns the header's line and what it resolves to.
/// A header without quotes is split here; any other goes through the general parser
/// (so its checks and messages are the parser's), whose setup costs more than
/// reading a small file.
pub(crate) fn read_head<T: CsvRecord, H: AsRef<[u8]>>(
    header: H,
    options: &Options,
) -> Result<(u64, Head<T>)> {
    let header = header.as_ref();
    match simple_header(header, options.delimiter) {
        Some((line, row)) => {
            options.check()?;
            let head = resolve_head(&row, line, options)?;
            Ok((line, head))
        }
        None => parse_head(header, options).map(|(line, _, head)| (line, head)),
    }
}

/// The line and fields of a header row in the simple form: after any blank lines,
/// text without quotes up to the line break that ends it (or the end of the input).
/// `None` for any other (quotes, or no header at all), which the parser reads.
fn simple_header(bytes: &[u8], delimiter: u8) -> Option<(u64, ByteRecord)> {
    let start = bytes.iter().position(|&b| b != b'\r' && b != b'\n')?;
    let end = bytes[start..]
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .map_or(bytes.len(), |k| start + k);
    let text = &bytes[start..end];
    if text.contains(&b'"') {
        return None;
    }
    let mut before = LineBreaks::default();
    before.add(&bytes[..start]);
    let mut row = ByteRecord::with_capacity(text.len(), 16);
    for name in text.split(|&b| b == delimiter) {
        row.push_field(name);
    }
    Some((before.count + 1, row))
}

/// Checks the header `row` (at `line`) and resolves schema `T`'s columns in it.
fn resolve_head<T: CsvRecord>(row: &ByteRecord, line: u64, options: &Options) -> Result<Head<T>> {
    let source_name = options
        .source_name
        .clone()
        .unwrap_or_else(|| T::FILE_NAME.to_string());
    let header = Header::parse(row).map_err(|e| e.at(&source_name, line))?;
    let columns = T::resolve(&header).map_err(|e| e.at(&source_name, line))?;
    Ok(Head {
        header,
        columns,
        source_name,
    })
}

/// Reads and checks the header row of `input` with the general parser (see
/// [`Reader::new`]); returns the header's line and the parser positioned at the
/// first data row.
fn parse_head<T: CsvRecord, R: Read>(
    input: R,
    options: &Options,
) -> Result<(u64, csv::Reader<Tap<R>>, Head<T>)> {
    options.check()?;
    let source_name = options.source_name.as_deref().unwrap_or(T::FILE_NAME);
    let mut csv = parser(input, options.delimiter);
    let mut row = ByteRecord::new();
    let line = match read_row(&mut csv, &mut row, options.delimiter, &[], 0, |_| false) {
        Ok(Row::Read(line)) => line,
        Ok(Row::BadQuote(line, e)) => {
            return Err(RowError::row(format!("header: {}", e.reason)).at(source_name, line));
        }
        Ok(Row::End) => {
            return Err(RowError::row("no header row: the input is empty").at(source_name, 1));
        }
        Err(e) => return Err(read_error(e, source_name, 1)),
    };
    let head = resolve_head(&row, line, options)?;
    Ok((line, csv, head))
}

/// The CSV parser over a [`Tap`] of `input`.
fn parser<R: Read>(input: R, delimiter: u8) -> csv::Reader<Tap<R>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(Tap::new(input))
}

/// Decodes one data row of a file whose header has `width` columns.
pub(crate) fn decode_row<T: CsvRecord>(
    columns: &T::Columns,
    row: &impl RowFields,
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
    /// [`ErrorKind::Io`](crate::error::ErrorKind::Io) if the file cannot be opened, otherwise as [`Reader::new`].
    pub fn from_path(path: impl AsRef<Path>, options: Options) -> Result<Self> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| {
            Error::from(ErrorKind::Io {
                context: Some(path.display().to_string()),
                source: Source::new(e),
            })
        })?;
        let options = match (&options.source_name, path.file_name()) {
            (None, Some(name)) => options.with_source_name(name.to_string_lossy()),
            _ => options,
        };
        Reader::new(file, options)
    }
}

impl<T: CsvRecord, R: Read> Reader<T, R> {
    /// The next line from the splitter: a row decoded, a blank line, or where the
    /// general parser takes over.
    fn fast_step(&mut self) -> Result<Step<T>> {
        let Rows::Fast(fast) = &mut self.rows else {
            return Ok(Step::End);
        };
        let next = fast.split.next(&mut fast.line)?;
        fast.line_no += 1;
        match next {
            Next::End => Ok(Step::End),
            Next::Complex(from) => Ok(Step::Switch(from)),
            Next::Simple if fast.line.ends.len() == 1 && fast.line.ends[0] == fast.line.start => {
                Ok(Step::Blank)
            }
            Next::Simple => {
                let row = SplitRow {
                    line: &fast.line,
                    buf: &fast.split.buf,
                };
                let decoded = decode_row(&self.columns, &row, self.names.len(), &mut self.ctx);
                Ok(Step::Row(fast.line_no, decoded))
            }
        }
    }

    /// Hands the rest of the input, from offset `from` of the splitter's buffer, to
    /// the general parser.
    fn switch(&mut self, from: usize) {
        if let Rows::Fast(fast) = std::mem::replace(&mut self.rows, Rows::Switching) {
            self.line_offset = fast.line_no - 1;
            self.rows = Rows::General(parser(fast.split.rest(from), self.delimiter));
        }
    }

    /// The next row through the general parser: its line and what it decodes to,
    /// `None` at the end, or an I/O error.
    #[allow(clippy::type_complexity)]
    fn general_step(&mut self) -> Result<Option<(u64, std::result::Result<T, RowError>)>> {
        let Rows::General(csv) = &mut self.rows else {
            return Ok(None);
        };
        let columns = &self.columns;
        let read = read_row(
            csv,
            &mut self.row,
            self.delimiter,
            &self.names,
            self.line_offset,
            |i| T::free_text(columns, i),
        );
        match read {
            Ok(Row::Read(line)) => Ok(Some((
                line,
                decode_row(&self.columns, &self.row, self.names.len(), &mut self.ctx),
            ))),
            Ok(Row::BadQuote(line, e)) => Ok(Some((line, Err(e)))),
            Ok(Row::End) => Ok(None),
            Err(e) => {
                let line = csv.get_ref().breaks.count + 1 + self.line_offset;
                Err(read_error(e, &self.source_name, line))
            }
        }
    }
}

impl<T: CsvRecord, R: Read> Iterator for Reader<T, R> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        while !self.done {
            let step = if matches!(self.rows, Rows::Fast(_)) {
                match self.fast_step() {
                    Ok(Step::Row(line, decoded)) => Ok(Some((line, decoded))),
                    Ok(Step::Blank) => continue,
                    Ok(Step::Switch(from)) => {
                        self.switch(from);
                        continue;
                    }
                    Ok(Step::End) => Ok(None),
                    Err(e) => Err(e),
                }
            } else {
                self.general_step()
            };
            let (line, decoded) = match step {
                Ok(Some(row)) => row,
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            self.report.rows += 1;
            match decoded {
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
                        OnError::SkipAndReport => self.report.skip(e, self.kept_errors),
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
