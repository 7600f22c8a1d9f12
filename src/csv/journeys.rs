//! Reading `touches.csv`, `conversions.csv` and `stage_events.csv` straight into a
//! [`JourneyBuilder`]: the same records, errors and report as a [`Reader`] whose
//! records are added one by one, without building a record (and its shared strings)
//! per touch row.

use std::io::Read;

use csv::ByteRecord;

use super::field::{Ctx, Header};
use super::funnel::{opt_plain, plain};
use super::read::decode_row;
use super::schema::{Schema, StageEventColumns, TouchColumns};
use super::split::{Line, Next, Splitter};
use super::{CsvRecord, OnError, Options, ReadReport, Reader, parse};
use crate::attribution::JourneyBuilder;
use crate::error::Result;
use crate::hash::FastMap;
use crate::records::{Conversion, StageEvent, Touch};

/// Feeds the records of a general reader to `add`, honouring its error policy;
/// returns its report.
pub(super) fn drain<T: CsvRecord, R: Read>(
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
        fold_lean(self, input, options, &mut TouchRows::default())
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
        fold_lean(self, input, options, &mut EventRows::default())
    }
}

/// The rows of one canonical file that a builder reads without building a record: a
/// row in the simple form goes straight in, any other through the general decoder.
trait LeanRows {
    /// The record of the file.
    type Record: CsvRecord;

    /// Adds a row in the simple form (`true`), or adds nothing (`false`).
    ///
    /// # Errors
    /// As the builder's interning (too many distinct ids).
    fn simple(
        &mut self,
        b: &mut JourneyBuilder,
        c: &<Self::Record as Schema>::Columns,
        line: &Line,
        buf: &[u8],
        delimiter: u8,
        cursor: &mut u32,
    ) -> Result<bool>;

    /// Adds a record the general decoder read (`row`: the columns, line and buffer it
    /// came from, when read here rather than by a general reader).
    ///
    /// # Errors
    /// As the builder's `push_*_record`.
    fn general(
        &mut self,
        b: &mut JourneyBuilder,
        record: &Self::Record,
        row: Option<RowAt<'_, Self::Record>>,
        delimiter: u8,
        cursor: &mut u32,
    ) -> Result<()>;
}

/// Where a record was read: the file's columns, its line and the buffer.
type RowAt<'r, T> = (&'r <T as Schema>::Columns, &'r Line, &'r [u8]);

/// Reads a file into `b` through `rows`, as a general reader whose records are added
/// one by one would: the same records, errors (line and column) and report.
fn fold_lean<L: LeanRows, R: Read>(
    b: &mut JourneyBuilder,
    input: R,
    options: Options,
    rows: &mut L,
) -> Result<ReadReport> {
    options.check()?;
    let name = source_name::<L::Record>(&options);
    let mut split = Splitter::new(input, options.delimiter);
    let mut line = Line {
        start: 0,
        ends: Vec::with_capacity(8),
    };
    let mut cursor = 0u32;
    let delimiter = options.delimiter;
    // The header: when it is not a simple line, the general reader does it all.
    let header = match split.next(&mut line)? {
        Next::Simple if line.ends.len() > 1 || line.ends[0] > line.start => {
            let mut row = ByteRecord::new();
            line.record(&split.buf, &mut row);
            row
        }
        _ => {
            let reader = Reader::<L::Record, _>::new(split.rest(0), options)?;
            return drain(reader, |r| rows.general(b, r, None, delimiter, &mut cursor));
        }
    };
    let header = Header::parse(&header).map_err(|e| e.at(&name, 1))?;
    let columns = L::Record::resolve(&header).map_err(|e| e.at(&name, 1))?;
    let width = header.len();
    let mut report = ReadReport::default();
    let mut ctx = Ctx::new(&options.path_separator);
    let mut row = ByteRecord::new();
    let mut line_no = 1u64;
    loop {
        let next = split.next(&mut line)?;
        line_no += 1;
        match next {
            Next::End => return Ok(report),
            Next::Complex(from) => {
                let reader = Reader::<L::Record, _>::resume(
                    split.rest(from),
                    &options,
                    name,
                    columns.clone(),
                    &header,
                    line_no,
                    report,
                );
                return drain(reader, |r| rows.general(b, r, None, delimiter, &mut cursor));
            }
            Next::Simple => {}
        }
        let buf = &split.buf[..];
        if line.ends.len() == 1 && line.ends[0] == line.start {
            continue; // a blank line is not a row
        }
        report.rows += 1;
        if line.ends.len() == width
            && rows.simple(b, &columns, &line, buf, delimiter, &mut cursor)?
        {
            report.records += 1;
            continue;
        }
        // Anything else: the general decoder, for the same record or error.
        line.record(buf, &mut row);
        match decode_row::<L::Record>(&columns, &row, width, &mut ctx) {
            Ok(r) => {
                let at = (&columns, &line, buf);
                rows.general(b, &r, Some(at), delimiter, &mut cursor)?;
                report.records += 1;
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

/// Touch rows: (channel, campaign) pairs found by their bytes once seen.
#[derive(Default)]
struct TouchRows {
    /// (channel, delimiter, campaign) bytes → pair id.
    pairs: FastMap<Box<[u8]>, u32>,
    key: Vec<u8>,
}

impl LeanRows for TouchRows {
    type Record = Touch;

    #[inline]
    fn simple(
        &mut self,
        b: &mut JourneyBuilder,
        c: &TouchColumns,
        line: &Line,
        buf: &[u8],
        delimiter: u8,
        cursor: &mut u32,
    ) -> Result<bool> {
        if let Some((subject, pair_key, at)) = simple_touch(c, line, buf, delimiter, &mut self.key)
            && let Some(&pair) = self.pairs.get(pair_key)
            && let Some(subject) = b.subject_bytes(subject, cursor)?
        {
            b.push_touch(subject, pair, at);
            return Ok(true);
        }
        Ok(false)
    }

    fn general(
        &mut self,
        b: &mut JourneyBuilder,
        t: &Touch,
        row: Option<RowAt<'_, Touch>>,
        delimiter: u8,
        cursor: &mut u32,
    ) -> Result<()> {
        b.push_touch_record(t, cursor)?;
        // A row of the simple form but for a pair not seen yet: remember its bytes
        // (only for rows read here, not by a general reader, which gives no line).
        if let Some((c, line, buf)) = row
            && t.cost.is_none()
        {
            let pair = b.pair(&t.channel, t.campaign.as_ref())?;
            pair_bytes(c, line, buf, delimiter, &mut self.key);
            self.pairs.insert(self.key.as_slice().into(), pair);
        }
        Ok(())
    }
}

/// Stage-event rows: the last stage's bytes and id, as stage keys repeat.
#[derive(Default)]
struct EventRows {
    /// The general records' last stage key and id.
    last_stage: Option<(String, u32)>,
    /// The simple rows' last stage bytes and id.
    last_bytes: Vec<u8>,
    last_id: u32,
}

impl LeanRows for EventRows {
    type Record = StageEvent;

    #[inline]
    fn simple(
        &mut self,
        b: &mut JourneyBuilder,
        c: &StageEventColumns,
        line: &Line,
        buf: &[u8],
        _: u8,
        cursor: &mut u32,
    ) -> Result<bool> {
        let f = |i: usize| line.field(buf, i);
        let (subject, stage) = (f(c.subject), f(c.stage));
        let Some(at) = parse::canonical_micros(f(c.at)) else {
            return Ok(false);
        };
        if plain(stage).is_none() || plain(subject).is_none() {
            return Ok(false);
        }
        if let Some(i) = c.cycle {
            let v = f(i);
            if !v.is_empty() && parse::unsigned(v).is_none() {
                return Ok(false);
            }
        }
        if let Some(i) = c.reason
            && opt_plain(f(i)).is_none()
        {
            return Ok(false);
        }
        let Some(subject) = b.subject_bytes(subject, cursor)? else {
            return Ok(false);
        };
        let stage = if self.last_bytes == stage && !self.last_bytes.is_empty() {
            self.last_id
        } else {
            // Plain: valid UTF-8 with nothing to trim, as the general decoder keeps it.
            let key = std::str::from_utf8(stage).unwrap_or_default();
            let id = b.stage_id(key)?;
            self.last_bytes.clear();
            self.last_bytes.extend_from_slice(stage);
            self.last_id = id;
            id
        };
        b.push_stage_event(subject, stage, at);
        Ok(true)
    }

    fn general(
        &mut self,
        b: &mut JourneyBuilder,
        e: &StageEvent,
        _: Option<RowAt<'_, StageEvent>>,
        _: u8,
        cursor: &mut u32,
    ) -> Result<()> {
        b.push_stage_event_record(e, cursor, &mut self.last_stage)
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
