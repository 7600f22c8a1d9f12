//! Reading `paths.csv` straight into [`Journeys`]: the same journeys, errors and
//! report as a [`Reader`]`<`[`PathRow`]`>` whose rows are added in order, without a
//! [`PathRow`] (and its channels) per row.

use std::io::Read;

use csv::ByteRecord;

use super::blocks::{Blocks, fold_blocks, split_header};
use super::field::Ctx;
use super::journeys::drain;
use super::read::{Head, decode_row, read_head};
use super::split::{Line, Next, Splitter};
use super::{OnError, Options, ReadReport, Reader};
use crate::attribution::{JourneyOptions, Journeys};
use crate::error::{Error, Result};
use crate::hash::FastMap;
use crate::records::PathRow;
use rust_decimal::Decimal;

impl Journeys {
    /// Reads `paths.csv` rows (feature `csv`) and appends them as journeys, as
    /// reading the input with a [`Reader`]`<`[`PathRow`]`>` and adding the records in
    /// order ([`Journeys::add_batch`]) would: the same journeys, the same
    /// [`ErrorKind::Csv`](crate::error::ErrorKind::Csv) for a bad row (naming the line
    /// and the column) under the options' [`OnError`] policy, and the same
    /// [`ReadReport`]. It is much faster and lighter: the rows are never held, rows
    /// in the simple form (no quotes, counts as whole numbers, the value as plain
    /// digits) are parsed from the bytes, and each channel is interned once, never
    /// built per row; any other row goes through the general decoder.
    ///
    /// The journeys are the [`crate::Accumulator`] of path rows, so this is the one
    /// way in for every model: the rule models read them directly,
    /// [`MarkovCounts::from_journeys`](crate::attribution::MarkovCounts::from_journeys)
    /// aggregates them by path, and [`Journeys::path_rows`] gives the aggregated rows
    /// the other data-driven models read. The input is read on every core in blocks
    /// of whole rows, each folded into its own journeys and appended in file order.
    /// To compute models over a large file without holding its rows, fold the
    /// blocks into the models' accumulators instead ([`Journeys::fold_paths_csv`]).
    ///
    /// ```
    /// use revops::csv::{OnError, Options};
    /// use revops::{Currency, attribution::JourneyOptions, attribution::Journeys, attribution::RuleModel};
    /// # fn main() -> Result<(), revops::Error> {
    /// let paths = "path;total_conversions;total_conversion_value;total_null
    /// search > email;2;120.50;3
    /// email;1;30;0
    /// webinar;x;0;1
    /// \"search\";0;0;4
    /// ";
    /// let options = Options::new().with_delimiter(b';').with_on_error(OnError::SkipAndReport);
    /// let mut journeys = Journeys::new(JourneyOptions::default().with_currency(Currency::USD))?;
    /// let report = journeys.read_paths_csv(paths.as_bytes(), options)?;
    /// assert_eq!((report.rows, report.records, report.skipped_rows), (4, 3, 1));
    /// assert!(report.skipped[0].to_string().starts_with("paths.csv line 4, column `total_conversions`"));
    /// assert_eq!(journeys.journey_count(), 10.0);
    /// let first = journeys.attribute(&RuleModel::FirstTouch)?;
    /// assert_eq!(first.channel("search").unwrap().conversions, 2.0);
    ///
    /// // Under the default policy the first bad row is the error.
    /// let mut again = Journeys::default();
    /// let err = again.read_paths_csv(paths.as_bytes(), Options::new().with_delimiter(b';'));
    /// assert!(matches!(err.as_ref().map_err(|e| e.kind()), Err(revops::error::ErrorKind::Csv { line: 4, .. })));
    /// assert_eq!(again.len(), 2); // the rows before it stay added
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Reader::new`] for the header; under [`OnError::Stop`] the first bad row's
    /// [`ErrorKind::Csv`](crate::error::ErrorKind::Csv);
    /// [`ErrorKind::Io`](crate::error::ErrorKind::Io) if reading fails; as
    /// [`Journeys::add_batch`] and [`Journeys::merge`] (a value sum beyond a
    /// [`Decimal`], too many path rows, another currency), at the row that causes it.
    /// The rows before the error stay added.
    pub fn read_paths_csv<R: Read>(&mut self, input: R, options: Options) -> Result<ReadReport> {
        self.read_paths_in_blocks(input, &options, &Blocks::default())
    }

    /// Reads `paths.csv` rows (feature `csv`) **streamed**: the input is read on
    /// every core in blocks of whole rows, each block's rows become a batch of
    /// journeys (from [`Journeys::new`]`(journey_options)`, as
    /// [`Journeys::read_paths_csv`] would append them), `fold` turns each batch into
    /// a partial result on the thread that read it (say, a
    /// [`MarkovCounts::from_journeys`](crate::attribution::MarkovCounts::from_journeys)),
    /// and `merge` takes the partials **in file order** on the calling thread. A
    /// batch is dropped once folded, so the rows are never held together: memory is
    /// that of the accumulators and of the blocks in flight (a few per core).
    ///
    /// The batches, appended in order, are the journeys that
    /// [`Journeys::read_paths_csv`] reads (the same rows, errors and report), so any
    /// accumulator of journeys folded batch by batch gives what it gives over those:
    /// a [`CreditCounts`](crate::attribution::CreditCounts) fed in `merge` the rule
    /// models' credit exactly, [`MarkovCounts`](crate::attribution::MarkovCounts) and
    /// [`ShapleyCounts`](crate::attribution::ShapleyCounts) built in `fold` and merged
    /// in `merge` the same counts (bit for bit when the counts are whole numbers, as
    /// counts of journeys are; otherwise up to the order of `f64` additions).
    ///
    /// ```
    /// use revops::csv::Options;
    /// use revops::{Currency, attribution::CreditCounts, attribution::JourneyOptions, attribution::Journeys};
    /// use revops::attribution::{MarkovCounts, MarkovOptions, RuleModel};
    /// # fn main() -> Result<(), revops::Error> {
    /// let paths = "path,total_conversions,total_conversion_value,total_null
    /// search > email,2,120.50,3
    /// email,1,30,0
    /// ";
    /// let journey_options = JourneyOptions::default().with_currency(Currency::USD);
    /// let mut markov = MarkovCounts::new(MarkovOptions::default())?;
    /// let mut credit = CreditCounts::new(vec![RuleModel::FirstTouch], Some(Currency::USD))?;
    /// let report = Journeys::fold_paths_csv(
    ///     paths.as_bytes(),
    ///     Options::new(),
    ///     journey_options.clone(),
    ///     |batch| Ok((MarkovCounts::from_journeys(&batch, MarkovOptions::default())?, batch)),
    ///     |(m, batch)| {
    ///         markov.merge(&m)?;
    ///         credit.add_journeys(&batch)
    ///     },
    /// )?;
    /// assert_eq!(report.records, 2);
    ///
    /// // What the journeys read at once give.
    /// let mut held = Journeys::new(journey_options)?;
    /// held.read_paths_csv(paths.as_bytes(), Options::new())?;
    /// let at_once = MarkovCounts::from_journeys(&held, MarkovOptions::default())?;
    /// assert_eq!(markov.finish()?, at_once.finish()?);
    /// assert_eq!(credit.finish()?, held.attribute_all_with_revenue(&[RuleModel::FirstTouch])?);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Journeys::new`] and [`Journeys::read_paths_csv`]; the first error of
    /// `fold` or `merge` in file order. The batches before an error, and the rows
    /// of its batch before it, are merged.
    pub fn fold_paths_csv<R: Read, A: Send>(
        input: R,
        options: Options,
        journey_options: JourneyOptions,
        fold: impl Fn(Journeys) -> Result<A> + Sync,
        merge: impl FnMut(A) -> Result<()>,
    ) -> Result<ReadReport> {
        let template = Journeys::new(journey_options)?.path_batch();
        let (head, first_line, rest) = paths_head(input, &options)?;
        let blocks = Blocks::default();
        let folder = PathFolder {
            template: &template,
            base: 0,
            head: &head,
            options: &options,
        };
        folder.fold(rest, first_line, &blocks, fold, merge)
    }

    /// [`Journeys::read_paths_csv`] with the input cut and folded as `blocks` says.
    pub(crate) fn read_paths_in_blocks<R: Read>(
        &mut self,
        input: R,
        options: &Options,
        blocks: &Blocks,
    ) -> Result<ReadReport> {
        let (head, first_line, rest) = paths_head(input, options)?;
        let template = self.path_batch();
        // As `add_batch` does, even for no rows: the currency is declared.
        self.absorb_path_batch(template.clone())?;
        let folder = PathFolder {
            template: &template,
            base: self.diagnostics().path_rows_read,
            head: &head,
            options,
        };
        // The batches are merged straight into these journeys, so that the rows
        // before an error stay added.
        folder.fold(rest, first_line, blocks, Ok, |batch| {
            self.absorb_path_batch(batch)
        })
    }
}

/// The header of `paths.csv` read: its columns, the line after it and the rest.
fn paths_head<R: Read>(
    input: R,
    options: &Options,
) -> Result<(Head<PathRow>, u64, impl Read + use<R>)> {
    options.check()?;
    let (header, first_line, rest) = split_header(input, options.delimiter)?;
    let (_, head) = read_head::<PathRow, _>(&header[..], options)?;
    Ok((head, first_line, rest))
}

/// How the blocks of one `paths.csv` become batches of journeys.
struct PathFolder<'a> {
    /// An empty batch (from [`Journeys::path_batch`]).
    template: &'a Journeys,
    /// Rows added before these (for row positions in errors).
    base: u64,
    head: &'a Head<PathRow>,
    options: &'a Options,
}

/// One block's batch, folded, and the report of its rows.
struct Part<'o, A> {
    sink: PathSink,
    rows: Rows<'o>,
    out: Option<A>,
}

impl PathFolder<'_> {
    /// Folds the rows after the header (`rest`, its first line `first_line`) block
    /// by block: each batch through `fold` on the thread that read it, the results
    /// through `merge` in file order.
    fn fold<R: Read, A: Send>(
        &self,
        rest: R,
        first_line: u64,
        blocks: &Blocks,
        fold: impl Fn(Journeys) -> Result<A> + Sync,
        mut merge: impl FnMut(A) -> Result<()>,
    ) -> Result<ReadReport> {
        let options = self.options;
        let mut report = ReadReport::default();
        fold_blocks(
            rest,
            first_line,
            options.delimiter,
            blocks,
            || Part {
                sink: PathSink::new(self.template, self.base),
                rows: Rows::new(self.head, options),
                out: None,
            },
            |part, block| {
                if let Some(bytes) = block.bytes() {
                    // Rows of `paths.csv` take 16 bytes or more, touches 4 or more in
                    // most files: room reserved, never touched, costs no memory.
                    part.sink
                        .journeys
                        .reserve_paths(bytes.len() / 16, bytes.len() / 4);
                }
                let line = block.first_line;
                let split = Splitter::new(block.into_reader(), options.delimiter);
                let read = part.rows.fold(&mut part.sink, split, line);
                // The rows before an error are folded too.
                let batch = std::mem::take(&mut part.sink.journeys);
                let folded = fold(batch).map(|a| part.out = Some(a));
                read.and(folded)
            },
            |_, part| {
                report.merge(part.rows.report, options.kept_errors);
                part.out.map_or(Ok(()), &mut merge)
            },
        )?;
        Ok(report)
    }
}

/// Where rows go: the journeys being built, and their channels by name.
pub(crate) struct PathSink {
    pub(crate) journeys: Journeys,
    /// Channel name (trimmed bytes) → pair id in `journeys`.
    channels: ChannelIds,
    pairs: Vec<u32>,
    /// Rows added before these (for row positions in errors).
    base: u64,
}

impl PathSink {
    /// An empty batch of path rows (a clone of `template`, from
    /// [`Journeys::path_batch`]) after `base` rows.
    pub(crate) fn new(template: &Journeys, base: u64) -> Self {
        PathSink {
            journeys: template.clone(),
            channels: ChannelIds::default(),
            pairs: Vec::with_capacity(16),
            base,
        }
    }

    fn index(&self) -> usize {
        (self.base + self.journeys.diagnostics().path_rows_read) as usize
    }

    /// Adds a decoded (so valid) row, and learns its channels' names.
    pub(crate) fn push_record(&mut self, r: &PathRow) -> Result<()> {
        self.pairs.clear();
        for c in &r.path {
            let id = self.journeys.path_pair(c)?;
            self.channels.insert(c.as_str().as_bytes(), id);
            self.pairs.push(id);
        }
        let index = self.index();
        self.journeys
            .push_path(&self.pairs, r.conversions, r.value, r.nulls, index, || {
                r.path_string(">")
            })
    }

    /// Adds a row in the simple form whose channels are all known; `Ok(false)` (and
    /// nothing added) for anything the general decoder should see.
    #[inline]
    pub(crate) fn push_simple(
        &mut self,
        path: &[u8],
        separator: &[u8],
        counts: SimpleCounts,
    ) -> Result<bool> {
        self.pairs.clear();
        for part in split_bytes(path, separator) {
            let name = part.trim_ascii();
            // ASCII-graphic ends: Unicode trimming would stop there too.
            let graphic = |b: &u8| (0x21..=0x7e).contains(b);
            if !name.first().is_some_and(graphic) || !name.last().is_some_and(graphic) {
                return Ok(false);
            }
            match self.channels.get(name) {
                Some(id) => self.pairs.push(id),
                None => return Ok(false),
            }
        }
        let index = self.index();
        let SimpleCounts(conversions, value, nulls) = counts;
        self.journeys
            .push_path(&self.pairs, conversions, value, nulls, index, || {
                split_bytes(path, separator)
                    .map(|p| String::from_utf8_lossy(p.trim_ascii()).into_owned())
                    .collect::<Vec<_>>()
                    .join(">")
            })?;
        Ok(true)
    }
}

/// Channel names (bytes) → ids: names of up to 16 bytes in a direct-mapped table
/// whose key is the name itself (its first and last eight bytes and its length), so a
/// hit costs a multiply and a compare; the rest, and names that collide, in a map.
struct ChannelIds {
    /// (first word, last word, length + 1; 0 for an empty slot) → id.
    slots: Vec<(u64, u64, u32, u32)>,
    map: FastMap<Box<[u8]>, u32>,
}

/// Slots of [`ChannelIds`] (a power of two).
const SLOTS: usize = 1 << 12;

impl Default for ChannelIds {
    fn default() -> Self {
        ChannelIds {
            slots: vec![(0, 0, 0, 0); SLOTS],
            map: FastMap::default(),
        }
    }
}

impl ChannelIds {
    /// The key of a name of at most 16 bytes: its first and last eight bytes (zero
    /// padded), which together hold every byte, and its length plus one.
    #[inline]
    fn key(name: &[u8]) -> Option<(u64, u64, u32)> {
        let n = name.len();
        if n > 16 {
            return None;
        }
        let word = |b: &[u8]| {
            let mut w = [0u8; 8];
            w[..b.len()].copy_from_slice(b);
            u64::from_le_bytes(w)
        };
        let (first, last) = if n >= 8 {
            (word(&name[..8]), word(&name[n - 8..]))
        } else {
            (word(name), 0)
        };
        Some((first, last, n as u32 + 1))
    }

    #[inline]
    fn slot((first, last, len): (u64, u64, u32)) -> usize {
        let h = (first ^ last.rotate_left(29) ^ u64::from(len)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (h >> (64 - SLOTS.trailing_zeros())) as usize
    }

    #[inline]
    fn get(&mut self, name: &[u8]) -> Option<u32> {
        let Some(key) = Self::key(name) else {
            return self.map.get(name).copied();
        };
        let i = Self::slot(key);
        let (f, l, n, id) = self.slots[i];
        if (f, l, n) == key {
            return Some(id);
        }
        let id = *self.map.get(name)?;
        self.slots[i] = (key.0, key.1, key.2, id);
        Some(id)
    }

    fn insert(&mut self, name: &[u8], id: u32) {
        self.map.entry(name.into()).or_insert(id);
    }
}

/// The counts and value of a row in the simple form.
#[derive(Clone, Copy)]
pub(crate) struct SimpleCounts(pub(crate) f64, pub(crate) Decimal, pub(crate) f64);

/// The parts of `bytes` between the occurrences of `separator` (non-empty).
fn split_bytes<'b>(bytes: &'b [u8], separator: &'b [u8]) -> impl Iterator<Item = &'b [u8]> + 'b {
    let mut rest = Some(bytes);
    std::iter::from_fn(move || {
        let r = rest?;
        let first = separator[0];
        let mut from = 0;
        while let Some(k) = r[from..].iter().position(|&b| b == first) {
            let at = from + k;
            if r[at..].starts_with(separator) {
                rest = Some(&r[at + separator.len()..]);
                return Some(&r[..at]);
            }
            from = at + 1;
        }
        rest = None;
        Some(r)
    })
}

/// A count in the simple form: 1 to 15 ASCII digits (exact as `f64`, as the
/// general parser reads them).
#[inline]
pub(crate) fn simple_count(b: &[u8]) -> Option<f64> {
    super::parse::digits(b, 15).map(|v| v as f64)
}

/// A value in the simple form: up to 18 ASCII digits with at most one `.` between
/// digits, as the exact decimal (same mantissa and scale) the general parser reads.
#[inline]
pub(crate) fn simple_value(b: &[u8]) -> Option<Decimal> {
    if b.is_empty() || b.len() > 19 || b[0] == b'.' || b[b.len() - 1] == b'.' {
        return None;
    }
    // At most 18 digits, so the sum below fits an i64 (19 bytes only with a point).
    if b.len() > 18 && !b.contains(&b'.') {
        return None;
    }
    let mut v: i64 = 0;
    let mut scale = None;
    for (i, &c) in b.iter().enumerate() {
        if c == b'.' {
            if scale.is_some() {
                return None;
            }
            scale = Some((b.len() - i - 1) as u32);
            continue;
        }
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + i64::from(d);
    }
    Some(Decimal::new(v, scale.unwrap_or(0)))
}

/// The row loop's state: the header, the decoders and the report so far.
struct Rows<'o> {
    options: &'o Options,
    head: &'o Head<PathRow>,
    width: usize,
    ctx: Ctx,
    row: ByteRecord,
    report: ReadReport,
}

impl<'o> Rows<'o> {
    /// The state for the rows under `head`.
    fn new(head: &'o Head<PathRow>, options: &'o Options) -> Self {
        Rows {
            options,
            head,
            width: head.header.len(),
            ctx: Ctx::new(&options.path_separator),
            row: ByteRecord::new(),
            report: ReadReport::default(),
        }
    }

    /// Folds the rows of `split` (its first line is line `first_line` of the file)
    /// into `sink`.
    fn fold<R: Read>(
        &mut self,
        sink: &mut PathSink,
        mut split: Splitter<R>,
        first_line: u64,
    ) -> Result<()> {
        let mut line = Line {
            start: 0,
            ends: Vec::with_capacity(8),
        };
        let mut line_no = first_line - 1;
        let separator = self.options.path_separator.as_bytes();
        let columns = &self.head.columns;
        let c = [
            columns.path,
            columns.conversions,
            columns.value,
            columns.nulls,
        ];
        loop {
            let next = split.next(&mut line)?;
            line_no += 1;
            match next {
                Next::End => return Ok(()),
                Next::Complex(from) => return self.resume(sink, split.rest(from), line_no),
                Next::Simple => {}
            }
            let buf = &split.buf[..];
            if line.ends.len() == 1 && line.ends[0] == line.start {
                continue; // a blank line is not a row
            }
            self.report.rows += 1;
            if line.ends.len() == self.width
                && let Some(conversions) = simple_count(line.field(buf, c[1]))
                && let Some(value) = simple_value(line.field(buf, c[2]))
                && let Some(nulls) = simple_count(line.field(buf, c[3]))
                && sink.push_simple(
                    line.field(buf, c[0]),
                    separator,
                    SimpleCounts(conversions, value, nulls),
                )?
            {
                self.report.records += 1;
                continue;
            }
            // Anything else: the general decoder, for the same record or error.
            line.record(buf, &mut self.row);
            match decode_row::<PathRow>(columns, &self.row, self.width, &mut self.ctx) {
                Ok(r) => {
                    sink.push_record(&r)?;
                    self.report.records += 1;
                }
                Err(e) => self.bad_row(e.at(&self.head.source_name, line_no))?,
            }
        }
    }

    /// A bad row under the options' policy: the error, or counted and kept.
    fn bad_row(&mut self, e: Error) -> Result<()> {
        match self.options.on_error {
            OnError::Stop => Err(e),
            OnError::SkipAndReport => {
                self.report.skip(e, self.options.kept_errors);
                Ok(())
            }
        }
    }

    /// The general reader takes over from line `line_no` to the end of `rest`.
    fn resume<R: Read>(&mut self, sink: &mut PathSink, rest: R, line_no: u64) -> Result<()> {
        let reader = Reader::<PathRow, _>::resume(
            rest,
            self.options,
            self.head.source_name.clone(),
            self.head.columns.clone(),
            &self.head.header,
            line_no,
            std::mem::take(&mut self.report),
        );
        self.report = drain(reader, |r| sink.push_record(r))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::JourneyOptions;
    use crate::money::Currency;
    use proptest::prelude::*;

    /// Journeys (their serialised state), error and report of one reading.
    fn read(input: &[u8], options: &Options, blocks: &Blocks) -> (String, Option<String>, String) {
        let mut j = Journeys::new(JourneyOptions::default().with_currency(Currency::EUR)).unwrap();
        let r = j.read_paths_in_blocks(input, options, blocks);
        let report = r.as_ref().map_or(String::new(), |r| format!("{r:?}"));
        (
            serde_json::to_string(&j).unwrap(),
            r.err().map(|e| e.to_string()),
            report,
        )
    }

    fn rows() -> impl Strategy<Value = Vec<u8>> {
        let row = prop_oneof![
            8 => ("[abc]{1,3}( > [abc]{1,3}){0,3}", 0u8..4, 0u16..999, 0u8..4)
                .prop_map(|(p, c, v, n)| format!("{p},{c},{v}.{},{n}", v % 100)),
            1 => Just("\"a\nb\",1,2,3".to_string()),
            1 => Just("\"a\",1,2,3".to_string()),
            1 => Just("a,x,2,3".to_string()),
            1 => Just("a,1,2".to_string()),
            1 => Just(String::new()),
            1 => Just("a,1.5,-2,3".to_string()),
        ];
        let end = prop_oneof![6 => Just("\n"), 2 => Just("\r\n"), 1 => Just("\r")];
        prop::collection::vec((row, end), 0..60).prop_map(|rows| {
            let mut s = String::from("path,total_conversions,total_conversion_value,total_null\n");
            for (r, e) in rows {
                s.push_str(&r);
                s.push_str(e);
            }
            s.into_bytes()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Any cut into blocks, on any number of threads, reads what one pass reads:
        /// the same journeys, the first bad row's error with its line, the same report.
        #[test]
        fn blocks_read_what_one_pass_reads(
            input in rows(),
            block_size in 1usize..80,
            threads in 1usize..4,
            skip in any::<bool>(),
        ) {
            let on_error = if skip { OnError::SkipAndReport } else { OnError::Stop };
            let options = Options::new().with_on_error(on_error).with_kept_errors(2);
            let one = Blocks { block_size: 1 << 20, threads: 1 };
            prop_assert_eq!(
                read(&input, &options, &Blocks { block_size, threads }),
                read(&input, &options, &one)
            );
        }

        /// Folded block by block (any cut, on any number of threads) into the
        /// accumulators, the rows give what the journeys read at once give: the
        /// same report, rule credit, Markov counts and Shapley tally.
        #[test]
        fn folded_blocks_are_the_held_journeys(
            input in rows(),
            block_size in 1usize..80,
            threads in 1usize..4,
        ) {
            use crate::attribution::{CreditCounts, MarkovCounts, MarkovOptions, RuleModel, ShapleyCounts, ShapleyOptions};
            let options = Options::new().with_on_error(OnError::SkipAndReport);
            let jo = JourneyOptions::default().with_currency(Currency::EUR);
            let models = vec![RuleModel::FirstTouch, RuleModel::Linear, RuleModel::position_based()];
            let mut held = Journeys::new(jo.clone()).unwrap();
            let held_report = held.read_paths_in_blocks(&input[..], &options, &Blocks { block_size: 1 << 20, threads: 1 }).unwrap();

            let (head, first_line, rest) = paths_head(&input[..], &options).unwrap();
            let template = Journeys::new(jo).unwrap().path_batch();
            let folder = PathFolder { template: &template, base: 0, head: &head, options: &options };
            let mut credit = CreditCounts::new(models.clone(), Some(Currency::EUR)).unwrap();
            let mut markov = MarkovCounts::default();
            let mut shapley = ShapleyCounts::default();
            let report = folder.fold(rest, first_line, &Blocks { block_size, threads }, |batch| {
                let m = MarkovCounts::from_journeys(&batch, MarkovOptions::default())?;
                let s = ShapleyCounts::from_journeys(&batch, ShapleyOptions::default())?;
                Ok((m, s, batch))
            }, |(m, s, batch)| {
                markov.merge(&m)?;
                shapley.merge(&s)?;
                credit.add_journeys(&batch)
            }).unwrap();
            prop_assert_eq!(format!("{report:?}"), format!("{held_report:?}"));
            prop_assert_eq!(credit.finish().unwrap(), held.attribute_all_with_revenue(&models).unwrap());
            let m = MarkovCounts::from_journeys(&held, MarkovOptions::default()).unwrap();
            prop_assert_eq!(markov.transition_counts(), m.transition_counts());
            let s = ShapleyCounts::from_journeys(&held, ShapleyOptions::default()).unwrap();
            prop_assert_eq!(shapley.finish().unwrap(), s.finish().unwrap());
        }

        /// Block tallies (any cut, on any number of threads) merged a batch at a time
        /// on any number of threads are the Shapley tally of the journeys read at once.
        #[test]
        fn shapley_blocks_merged_in_batches_are_the_held_journeys(
            input in rows(),
            block_size in 1usize..80,
            threads in 1usize..4,
            batch in 1usize..6,
        ) {
            use crate::attribution::{ShapleyCounts, ShapleyOptions};
            let options = Options::new().with_on_error(OnError::SkipAndReport);
            let jo = JourneyOptions::default().with_currency(Currency::EUR);
            let mut held = Journeys::new(jo.clone()).unwrap();
            held.read_paths_in_blocks(&input[..], &options, &Blocks { block_size: 1 << 20, threads: 1 }).unwrap();

            let (head, first_line, rest) = paths_head(&input[..], &options).unwrap();
            let template = Journeys::new(jo).unwrap().path_batch();
            let folder = PathFolder { template: &template, base: 0, head: &head, options: &options };
            let mut shapley = ShapleyCounts::default();
            let mut pending = Vec::new();
            folder.fold(rest, first_line, &Blocks { block_size, threads }, |batch| {
                ShapleyCounts::from_journeys(&batch, ShapleyOptions::default())
            }, |s| {
                pending.push(s);
                if pending.len() >= batch {
                    shapley.merge_all_on(&pending, threads)?;
                    pending.clear();
                }
                Ok(())
            }).unwrap();
            shapley.merge_all_on(&pending, threads).unwrap();
            let s = ShapleyCounts::from_journeys(&held, ShapleyOptions::default()).unwrap();
            prop_assert_eq!(shapley.finish().unwrap(), s.finish().unwrap());
        }

        /// A value in the simple form is the decimal the general parser reads: the
        /// same mantissa and scale.
        #[test]
        fn simple_values_are_the_parsers(text in "[0-9]{0,20}(\\.[0-9]{0,20})?|\\.[0-9]|[0-9]\\.") {
            if let Some(v) = simple_value(text.as_bytes()) {
                let general = crate::money::parse_decimal(&text).unwrap();
                prop_assert_eq!(v.serialize(), general.serialize());
            }
            if let Some(c) = simple_count(text.as_bytes()) {
                prop_assert_eq!(Some(c), crate::csv::parse::float(text.as_bytes()));
            }
        }
    }

    #[test]
    fn simple_forms_take_the_common_cases() {
        assert_eq!(
            simple_value(b"12.50").map(|d| d.to_string()),
            Some("12.50".into())
        );
        assert_eq!(
            simple_value(b"0").map(|d| d.serialize()),
            Some(Decimal::ZERO.serialize())
        );
        assert_eq!(
            simple_value(b"123456789012345678"),
            Some(Decimal::new(123_456_789_012_345_678, 0))
        );
        assert_eq!(simple_value(b"1234567890123456789"), None);
        // 19 digits above i64::MAX: refused before the digits are summed (this
        // overflowed in the loop, a panic in debug builds).
        assert_eq!(simple_value(b"9224000000000000000"), None);
        assert_eq!(simple_value(b"-1"), None);
        assert_eq!(simple_count(b"12"), Some(12.0));
        assert_eq!(simple_count(b"1.0"), None);
        let parts: Vec<&[u8]> = split_bytes(b"a > b >> c", b" > ").collect();
        assert_eq!(parts, [&b"a"[..], b"b >> c"][..]);
        let parts: Vec<&[u8]> = split_bytes(b">>", b">").collect();
        assert_eq!(parts, [&b""[..], b"", b""][..]);
    }
}
