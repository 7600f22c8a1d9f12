//! Reading `touches.csv`, `conversions.csv` and `stage_events.csv` straight into a
//! [`JourneyBuilder`]: the same records, errors and report as a [`Reader`] whose
//! records are added one by one, without building a record (and its shared strings)
//! per touch row.

use std::io::{Cursor, Read};

use csv::ByteRecord;

use super::field::{Ctx, Header};
use super::read::{decode_row, zero_bytes};
use super::schema::{Schema, TouchColumns};
use super::{CsvRecord, OnError, Options, ReadReport, Reader, parse};
use crate::attribution::JourneyBuilder;
use crate::error::{Error, Result};
use crate::hash::FastMap;
use crate::records::{Conversion, StageEvent, Touch};

/// Bytes read from the source at a time.
const CHUNK: usize = 1 << 20;

/// One line of the input, split at the delimiter.
struct Line {
    /// Where the line starts in the buffer, and where each field ends (the last one
    /// at the end of the line, before any `\r\n`).
    start: usize,
    ends: Vec<usize>,
}

impl Line {
    #[inline]
    fn field<'b>(&self, buf: &'b [u8], i: usize) -> &'b [u8] {
        let from = if i == 0 {
            self.start
        } else {
            self.ends[i - 1] + 1
        };
        &buf[from..self.ends[i]]
    }

    fn record(&self, buf: &[u8], out: &mut ByteRecord) {
        out.clear();
        for i in 0..self.ends.len() {
            out.push_field(self.field(buf, i));
        }
    }
}

/// What the splitter found next.
enum Next {
    /// A line without quotes or bare carriage returns, split into `Line`.
    Simple,
    /// A line the simple splitter does not handle (quotes, a bare `\r`), starting at
    /// this offset of the buffer: the general parser takes over from there.
    Complex(usize),
    /// The end of the input.
    End,
}

/// Finds, in a word of eight bytes, the delimiters and the bytes that stop the
/// word-at-a-time scan (`\n`, `\r`, `"`).
struct Specials {
    delimiter: u64,
}

impl Specials {
    const ONES: u64 = 0x0101_0101_0101_0101;

    fn new(delimiter: u8) -> Self {
        Specials {
            delimiter: Self::ONES * u64::from(delimiter),
        }
    }

    #[inline]
    fn zeros(x: u64) -> u64 {
        zero_bytes(x)
    }

    /// (delimiters, stops) of the little-endian word `w`, as high bits of bytes.
    #[inline]
    fn masks(&self, w: u64) -> (u64, u64) {
        let stops = Self::zeros(w ^ (Self::ONES * u64::from(b'\n')))
            | Self::zeros(w ^ (Self::ONES * u64::from(b'\r')))
            | Self::zeros(w ^ (Self::ONES * u64::from(b'"')));
        (Self::zeros(w ^ self.delimiter), stops)
    }
}

/// Splits the input into lines of fields, reading it in chunks into one buffer.
struct Splitter<R> {
    input: R,
    buf: Vec<u8>,
    pos: usize,
    eof: bool,
    delimiter: u8,
}

impl<R: Read> Splitter<R> {
    fn new(input: R, delimiter: u8) -> Self {
        Splitter {
            input,
            buf: Vec::new(),
            pos: 0,
            eof: false,
            delimiter,
        }
    }

    /// Drops the consumed bytes and reads one more chunk; `false` at the end.
    fn refill(&mut self) -> Result<bool> {
        if self.eof {
            return Ok(false);
        }
        self.buf.drain(..self.pos);
        self.pos = 0;
        let old = self.buf.len();
        self.buf.resize(old + CHUNK, 0);
        loop {
            match self.input.read(&mut self.buf[old..]) {
                Ok(n) => {
                    self.buf.truncate(old + n);
                    self.eof = n == 0;
                    return Ok(n > 0);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(Error::from(e));
                }
            }
        }
    }

    /// The next line into `line` (its offsets valid until the next call).
    fn next(&mut self, line: &mut Line) -> Result<Next> {
        'line: loop {
            let start = self.pos;
            line.start = start;
            line.ends.clear();
            let buf = &self.buf[..];
            let mut i = start;
            // Eight bytes at a time: every delimiter before the first stop byte
            // (line break, quote) is recorded; the stop byte goes to the byte loop.
            let specials = Specials::new(self.delimiter);
            while let Some(word) = buf.get(i..i + 8) {
                let Ok(word) = <[u8; 8]>::try_from(word) else {
                    break;
                };
                let (mut delimiters, stops) = specials.masks(u64::from_le_bytes(word));
                if stops != 0 {
                    // Only the bits below the first stop.
                    delimiters &= (stops & stops.wrapping_neg()) - 1;
                }
                while delimiters != 0 {
                    line.ends
                        .push(i + (delimiters.trailing_zeros() / 8) as usize);
                    delimiters &= delimiters - 1;
                }
                if stops != 0 {
                    i += (stops.trailing_zeros() / 8) as usize;
                    break;
                }
                i += 8;
            }
            while i < buf.len() {
                let b = buf[i];
                if b == self.delimiter {
                    line.ends.push(i);
                } else if b == b'\n' {
                    line.ends.push(i);
                    self.pos = i + 1;
                    return Ok(Next::Simple);
                } else if b == b'\r' {
                    match buf.get(i + 1) {
                        Some(b'\n') => {
                            line.ends.push(i);
                            self.pos = i + 2;
                            return Ok(Next::Simple);
                        }
                        None if !self.eof => {}
                        _ => return Ok(Next::Complex(start)),
                    }
                } else if b == b'"' {
                    return Ok(Next::Complex(start));
                }
                i += 1;
            }
            // No line end in the buffer: read more, or end with the last line.
            if self.refill()? {
                continue 'line;
            }
            if self.pos == self.buf.len() {
                return Ok(Next::End);
            }
            let buf = &self.buf[..];
            if buf[self.pos..].iter().any(|&b| b == b'\r' || b == b'"') {
                return Ok(Next::Complex(self.pos));
            }
            line.start = self.pos;
            line.ends.clear();
            for (k, &b) in buf.iter().enumerate().skip(self.pos) {
                if b == self.delimiter {
                    line.ends.push(k);
                }
            }
            line.ends.push(buf.len());
            self.pos = buf.len();
            return Ok(Next::Simple);
        }
    }

    /// The input from buffer offset `from` on (for the general parser).
    fn rest(self, from: usize) -> std::io::Chain<Cursor<Vec<u8>>, R> {
        let mut buf = self.buf;
        buf.drain(..from);
        Cursor::new(buf).chain(self.input)
    }
}

/// Feeds the records of a general reader to `add`, honouring its error policy;
/// returns its report.
fn drain<T: CsvRecord, R: Read>(
    mut reader: Reader<T, R>,
    mut add: impl FnMut(&T) -> Result<()>,
) -> Result<ReadReport> {
    for record in reader.by_ref() {
        add(&record?)?;
    }
    Ok(reader.report().clone())
}

/// The source name errors use.
fn source_name<T: CsvRecord>(options: &Options) -> String {
    options
        .source_name
        .clone()
        .unwrap_or_else(|| T::FILE_NAME.to_string())
}

impl JourneyBuilder {
    /// Reads `touches.csv` rows (feature `csv`) and adds them, as reading the input
    /// with a [`Reader`]`<`[`Touch`]`>` and adding each record in order would: the same
    /// touches, the same [`ErrorKind::Csv`](crate::error::ErrorKind::Csv) for a bad row (naming the line and the column)
    /// under the options' [`OnError`] policy, and the same [`ReadReport`] (skipped
    /// rows counted and kept). It is much faster and lighter: rows in the canonical
    /// form (no quotes, `YYYY-MM-DDTHH:MM:SSZ` times, no cost) are parsed from the
    /// bytes straight into interned ids, and subjects, channels and campaigns are
    /// interned once, never built per row; any other row goes through the general
    /// decoder. Touch costs are validated but not kept (journeys do not use them).
    ///
    /// ```
    /// use revops::csv::{OnError, Options};
    /// use revops::attribution::JourneyBuilder;
    /// # fn main() -> Result<(), revops::Error> {
    /// let touches = "subject_id,channel,campaign,at
    /// L1,search,spring,2026-03-01T12:00:00Z
    /// L1,email,,2026-03-02T09:30:00Z
    /// L2,email,,not a time
    /// L2,\"webinar\",,2026-03-03
    /// ";
    /// let conversions = "subject_id,at,value,currency\nL1,2026-03-05T00:00:00Z,120.00,USD\n";
    /// let mut b = JourneyBuilder::default();
    /// let skip = Options::new().with_on_error(OnError::SkipAndReport);
    /// let report = b.read_touches_csv(touches.as_bytes(), skip)?;
    /// assert_eq!((report.rows, report.records, report.skipped.len()), (4, 3, 1));
    /// assert!(report.skipped[0].to_string().starts_with("touches.csv line 4, column `at`"));
    /// b.read_conversions_csv(conversions.as_bytes(), Options::new())?;
    /// let journeys = b.finish()?;
    /// let paths: Vec<String> = journeys.path_rows().iter().map(|r| r.path_string(">")).collect();
    /// assert_eq!(paths, ["search>email", "webinar"]);
    ///
    /// // Under the default policy the first bad row is the error.
    /// let err = JourneyBuilder::default().read_touches_csv(touches.as_bytes(), Options::new());
    /// assert!(matches!(err.as_ref().map_err(|e| e.kind()), Err(revops::error::ErrorKind::Csv { line: 4, .. })));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Reader::new`] for the header; under [`OnError::Stop`] the first bad row's
    /// [`ErrorKind::Csv`](crate::error::ErrorKind::Csv); [`ErrorKind::Io`](crate::error::ErrorKind::Io) if reading fails; as [`JourneyBuilder::add_batch`] for
    /// more than `u32::MAX − 1` distinct ids. The touches of the rows before the
    /// error stay added.
    pub fn read_touches_csv<R: Read>(&mut self, input: R, options: Options) -> Result<ReadReport> {
        options.check()?;
        let name = source_name::<Touch>(&options);
        let mut split = Splitter::new(input, options.delimiter);
        let mut line = Line {
            start: 0,
            ends: Vec::with_capacity(8),
        };
        // The header: when it is not a simple line, the general reader does it all.
        let header = match split.next(&mut line)? {
            Next::Simple if line.ends.len() > 1 || line.ends[0] > line.start => {
                let mut row = ByteRecord::new();
                line.record(&split.buf, &mut row);
                row
            }
            _ => {
                let reader = Reader::<Touch, _>::new(split.rest(0), options)?;
                let mut cursor = 0;
                return drain(reader, |t| self.push_touch_record(t, &mut cursor));
            }
        };
        let header = Header::parse(&header).map_err(|e| e.at(&name, 1))?;
        let columns = Touch::resolve(&header).map_err(|e| e.at(&name, 1))?;
        let width = header.len();
        let mut report = ReadReport::default();
        let mut ctx = Ctx::new(&options.path_separator);
        let mut row = ByteRecord::new();
        let mut cursor = 0u32;
        // (channel, delimiter, campaign) bytes → pair id.
        let mut pairs: FastMap<Box<[u8]>, u32> = FastMap::default();
        let mut key: Vec<u8> = Vec::new();
        let mut line_no = 1u64;
        loop {
            let next = split.next(&mut line)?;
            line_no += 1;
            match next {
                Next::End => return Ok(report),
                Next::Complex(from) => {
                    let reader = Reader::<Touch, _>::resume(
                        split.rest(from),
                        &options,
                        name,
                        columns,
                        &header,
                        line_no,
                        report,
                    );
                    return drain(reader, |t| self.push_touch_record(t, &mut cursor));
                }
                Next::Simple => {}
            }
            let buf = &split.buf[..];
            if line.ends.len() == 1 && line.ends[0] == line.start {
                continue; // a blank line is not a row
            }
            report.rows += 1;
            if line.ends.len() == width
                && let Some((subject, pair_key, at)) =
                    simple_touch(&columns, &line, buf, options.delimiter, &mut key)
                && let Some(&pair) = pairs.get(pair_key)
                && let Some(subject) = self.subject_bytes(subject, &mut cursor)?
            {
                self.push_touch(subject, pair, at);
                report.records += 1;
                continue;
            }
            // Anything else: the general decoder, for the same record or error.
            line.record(buf, &mut row);
            match decode_row::<Touch>(&columns, &row, width, &mut ctx) {
                Ok(t) => {
                    self.push_touch_record(&t, &mut cursor)?;
                    report.records += 1;
                    if t.cost.is_none() {
                        let pair = self.pair(&t.channel, t.campaign.as_ref())?;
                        pair_bytes(&columns, &line, buf, options.delimiter, &mut key);
                        pairs.insert(key.as_slice().into(), pair);
                    }
                }
                Err(e) => {
                    let e = e.at(&name, line_no);
                    match options.on_error {
                        OnError::Stop => return Err(e),
                        OnError::SkipAndReport => report.skip(e, options.kept_errors),
                    }
                }
            }
        }
    }

    /// Reads `conversions.csv` rows (feature `csv`) and adds them, as reading them with
    /// a [`Reader`]`<`[`Conversion`]`>` and adding each record in order would (see
    /// [`JourneyBuilder::read_touches_csv`]).
    ///
    /// # Errors
    /// As [`JourneyBuilder::read_touches_csv`]; [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the
    /// conversion (position among all conversions added, subject) whose value is in
    /// another currency than the earlier ones, whatever the error policy.
    pub fn read_conversions_csv<R: Read>(
        &mut self,
        input: R,
        options: Options,
    ) -> Result<ReadReport> {
        let reader = Reader::<Conversion, _>::new(input, options)?;
        let mut cursor = 0;
        drain(reader, |c| self.push_conversion_record(c, &mut cursor))
    }

    /// Reads `stage_events.csv` rows (feature `csv`) and adds them, as reading them
    /// with a [`Reader`]`<`[`StageEvent`]`>` and adding each record in order would (see
    /// [`JourneyBuilder::read_touches_csv`]).
    ///
    /// # Errors
    /// As [`JourneyBuilder::read_touches_csv`].
    pub fn read_stage_events_csv<R: Read>(
        &mut self,
        input: R,
        options: Options,
    ) -> Result<ReadReport> {
        let reader = Reader::<StageEvent, _>::new(input, options)?;
        let (mut cursor, mut last_stage) = (0, None);
        drain(reader, |e| {
            self.push_stage_event_record(e, &mut cursor, &mut last_stage)
        })
    }
}

/// The (channel, delimiter, campaign) bytes of a row into `key`.
fn pair_bytes(c: &TouchColumns, line: &Line, buf: &[u8], delimiter: u8, key: &mut Vec<u8>) {
    key.clear();
    key.extend_from_slice(line.field(buf, c.channel));
    key.push(delimiter);
    key.extend_from_slice(line.field(buf, c.campaign));
}

/// A row in the canonical form: the subject's bytes (ASCII-graphic ends, so nothing
/// to trim; UTF-8 is checked when it is looked up),
/// the pair key and the time in microseconds; `None` for anything the general decoder
/// should see (a cost, another time form, a blank or padded subject…).
#[inline]
fn simple_touch<'b>(
    c: &TouchColumns,
    line: &Line,
    buf: &'b [u8],
    delimiter: u8,
    key: &'b mut Vec<u8>,
) -> Option<(&'b [u8], &'b [u8], i64)> {
    if let Some((cost, _)) = c.cost
        && !line.field(buf, cost).is_empty()
    {
        return None;
    }
    let subject = line.field(buf, c.subject);
    let graphic = |b: &u8| (0x21..=0x7e).contains(b);
    if !subject.first().is_some_and(graphic) || !subject.last().is_some_and(graphic) {
        return None;
    }
    let at = line.field(buf, c.at);
    let at = match parse::canonical_micros(at) {
        Some(us) => us,
        None => parse::timestamp(at)?.timestamp_micros(),
    };
    let pair_key = if c.campaign == c.channel + 1 {
        // Adjacent columns: the key is the bytes as they are.
        let from = if c.channel == 0 {
            line.start
        } else {
            line.ends[c.channel - 1] + 1
        };
        &buf[from..line.ends[c.campaign]]
    } else {
        pair_bytes(c, line, buf, delimiter, key);
        &key[..]
    };
    Some((subject, pair_key, at))
}
