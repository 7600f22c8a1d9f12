//! Reading one CSV file on several threads: the input is cut into blocks of whole
//! rows, each block is folded into its own partial result on a worker thread, and the
//! partials are merged in block order — the same merge that combines any other split
//! of the input, so the accumulators' merge property tests cover this path.
//!
//! **Where a block may end.** A row ends at a line break outside quotes. The cutter
//! follows the parser's quoting rules (a field is quoted when it starts with `"`, and
//! `""` inside is a quote; a quote anywhere else is text) and cuts only after a `\n`
//! outside quotes, so every block holds whole rows and a reader started at a block's
//! first byte reads exactly the rows the reader of the whole file would. A quoted
//! field that spans lines is where the reader's error recovery may re-read lines
//! (an unclosed quote goes on at the next line), so from the first such field on the
//! rest of the input is one block, streamed on the calling thread: exact in every
//! case, parallel in the usual one.
//!
//! **Line numbers.** Each block knows the line of its first byte (line breaks are
//! counted as the reader counts them: `\n`, `\r\n` and a bare `\r` are one each), so
//! errors name the same lines as a reader of the whole file.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};
use std::sync::{Arc, Mutex};

use super::OnError;
use super::field::Ctx;
use super::read::{Head, Reader, decode_row, read_head};
use super::read::{LineBreaks, splat, zero_bytes};
use super::split::{Line, Next, SplitRow, Splitter};
use super::{CsvRecord, Options, ReadReport};
use crate::error::{Error, Result};

/// How a file is cut and how many threads fold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Blocks {
    /// Bytes per block, at least (a block ends at the first row end after this many
    /// bytes, or at the end of the input).
    pub(crate) block_size: usize,
    /// Worker threads; 1 folds every block on the calling thread.
    pub(crate) threads: usize,
}

/// The most worker threads the default uses.
const MAX_DEFAULT_THREADS: usize = 8;

/// Bytes per block of the lean readers ([`Blocks::lean`]).
const LEAN_BLOCK: usize = 1 << 20;

impl Default for Blocks {
    /// 4 MiB blocks, one thread per available core (at most 8).
    fn default() -> Self {
        Blocks {
            block_size: 4 << 20,
            threads: std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(MAX_DEFAULT_THREADS),
        }
    }
}

impl Blocks {
    /// 1 MiB blocks, one thread per available core (at most 8): for readers whose
    /// result is small next to the file (the funnel's leads and events), so that no
    /// buffer of reading is large. Each block's bytes and partial result are freed
    /// once merged; a freed allocator block of several MiB makes the C library's
    /// allocator keep up to twice that much freed memory mapped afterwards (its
    /// trim threshold follows the largest block freed), which with 4 MiB blocks
    /// put the peak of a CSV → cohort report 10–25 % above the bytes of its files.
    pub(crate) fn lean() -> Self {
        Blocks {
            block_size: LEAN_BLOCK,
            ..Blocks::default()
        }
    }
}

/// What a block holds.
enum Input<'a> {
    /// Whole rows.
    Bytes(&'a [u8]),
    /// The rest of the input, from a row start (see the module docs).
    Stream(Box<dyn Read + 'a>),
}

/// A block of whole rows of a CSV file.
pub(crate) struct Block<'a> {
    /// Zero-based position of the block in the file.
    pub(crate) index: usize,
    /// One-based line number, as the readers count lines, of the block's first byte.
    pub(crate) first_line: u64,
    input: Input<'a>,
}

impl<'a> Block<'a> {
    /// The block's bytes, or `None` for the streamed rest of the input.
    pub(crate) fn bytes(&self) -> Option<&[u8]> {
        match &self.input {
            Input::Bytes(b) => Some(b),
            Input::Stream(_) => None,
        }
    }

    /// The block as a reader.
    pub(crate) fn into_reader(self) -> Box<dyn Read + 'a> {
        match self.input {
            Input::Bytes(b) => Box::new(b),
            Input::Stream(r) => r,
        }
    }
}

impl std::fmt::Debug for Block<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block")
            .field("index", &self.index)
            .field("first_line", &self.first_line)
            .field("bytes", &self.bytes().map(<[u8]>::len))
            .finish()
    }
}

/// Bytes the cutter reads at a time, at least.
const READ: usize = 64 * 1024;

/// Reads from `input`, `read` bytes at a time at least, until `buf` holds at least
/// `want` bytes or the input ends; `false` at the end of the input.
fn fill(input: &mut impl Read, buf: &mut Vec<u8>, want: usize, read: usize) -> Result<bool> {
    while buf.len() < want {
        let old = buf.len();
        buf.resize(old + read.max(want - old), 0);
        let n = loop {
            match input.read(&mut buf[old..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    buf.truncate(old);
                    return Err(Error::from(e));
                }
            }
        };
        buf.truncate(old + n);
        if n == 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether `bytes` holds a `"`.
fn has_quote(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    for w in words.by_ref() {
        let w = u64::from_le_bytes(w.try_into().unwrap_or_default());
        if zero_bytes(w ^ splat(b'"')) != 0 {
            return true;
        }
    }
    words.remainder().contains(&b'"')
}

/// Where quoted fields put `bytes[..to]` (which starts at a row start): `Ok(())` if
/// no quoted field spans a line break before `to`, else `Err(())`.
///
/// The parser's rules: a `"` at the start of a field (after a delimiter, a line
/// break, or at the start) opens quotes, `""` inside is a quote, the next lone `"`
/// closes them; a `"` elsewhere is text.
fn quotes_stay_on_their_lines(bytes: &[u8], to: usize, delimiter: u8) -> bool {
    let mut i = 0;
    while i < to {
        let Some(k) = bytes[i..to].iter().position(|&b| b == b'"') else {
            return true;
        };
        let q = i + k;
        let field_start =
            q == 0 || matches!(bytes[q - 1], b'\n' | b'\r') || bytes[q - 1] == delimiter;
        if !field_start {
            i = q + 1;
            continue;
        }
        // Inside quotes from q + 1: find the closing quote.
        let mut j = q + 1;
        loop {
            match bytes.get(j) {
                // The quotes are still open at the end of what is read: the cut after
                // them is not known, so treat the field as spanning.
                None => return false,
                Some(b'\n' | b'\r') => return false,
                Some(b'"') if bytes.get(j + 1) == Some(&b'"') => j += 2,
                Some(b'"') => break,
                Some(_) => j += 1,
            }
        }
        i = j + 1;
    }
    true
}

/// Cuts an input into blocks (see the module docs).
struct Cutter<R> {
    /// The source; `None` once handed out as the streamed rest.
    input: Option<R>,
    /// Bytes read and not yet handed out; they start at a row start.
    pending: Vec<u8>,
    /// Line of `pending[0]`.
    line: u64,
    delimiter: u8,
    block_size: usize,
    eof: bool,
    index: usize,
}

/// Bytes already read, then the rest of a source.
pub(crate) type Rest<R> = std::io::Chain<Cursor<Vec<u8>>, R>;

/// What the cutter hands out next.
enum Cut<R> {
    /// Whole rows: the block's index, its first line and its bytes.
    Rows(usize, u64, Vec<u8>),
    /// The rest of the input (its bytes read so far, then the source), with the
    /// block's index and first line.
    Rest(usize, u64, Rest<R>),
    /// The end of the input.
    End,
}

impl<R: Read> Cutter<R> {
    fn new(input: R, first_line: u64, delimiter: u8, block_size: usize) -> Self {
        Cutter {
            input: Some(input),
            pending: Vec::new(),
            line: first_line,
            delimiter,
            block_size: block_size.max(1),
            eof: false,
            index: 0,
        }
    }

    /// Reads until `pending` holds `want` bytes or the input ends.
    fn fill(&mut self, want: usize) -> Result<()> {
        if let (false, Some(input)) = (self.eof, self.input.as_mut()) {
            self.eof = !fill(input, &mut self.pending, want, READ)?;
        }
        Ok(())
    }

    /// Where the next block ends: after the first line break at or past
    /// `block_size` bytes (`\r\n` whole; a bare `\r` once the byte after it is
    /// read), reading on while there is none; the end of the input at its end.
    fn cut(&mut self) -> Result<usize> {
        let mut from = self.block_size.min(self.pending.len()).saturating_sub(1);
        loop {
            let found = self.pending[from..]
                .iter()
                .position(|&b| b == b'\n' || b == b'\r');
            if let Some(i) = found {
                let i = from + i;
                match (self.pending[i], self.pending.get(i + 1)) {
                    (b'\n', _) => return Ok(i + 1),
                    (_, Some(b'\n')) => return Ok(i + 2),
                    (_, Some(_)) => return Ok(i + 1),
                    (_, None) if self.eof => return Ok(i + 1),
                    (_, None) => {} // a `\n` may follow: read on
                }
            }
            if self.eof {
                return Ok(self.pending.len());
            }
            from = self.pending.len().saturating_sub(1).max(from);
            self.fill(self.pending.len() + self.block_size)?;
        }
    }

    fn next(&mut self) -> Result<Cut<R>> {
        if self.input.is_none() {
            return Ok(Cut::End);
        }
        self.fill(self.block_size)?;
        if self.pending.is_empty() {
            return Ok(Cut::End);
        }
        let (index, line) = (self.index, self.line);
        self.index += 1;
        let cut = self.cut()?;
        if has_quote(&self.pending[..cut])
            && !quotes_stay_on_their_lines(&self.pending, cut, self.delimiter)
        {
            // Exact from here on: the rest is one streamed block.
            let pending = std::mem::take(&mut self.pending);
            if let Some(input) = self.input.take() {
                return Ok(Cut::Rest(index, line, Cursor::new(pending).chain(input)));
            }
        }
        let rest = self.pending[cut..].to_vec();
        let mut block = std::mem::replace(&mut self.pending, rest);
        block.truncate(cut);
        let mut breaks = LineBreaks::default();
        breaks.add(&block);
        self.line += breaks.count;
        Ok(Cut::Rows(index, line, block))
    }
}

/// Reads the header row of `input` (after any blank lines): the bytes up to and
/// including the line break that ends it, the line the data starts on, and the rest
/// of the input. The header is one row as the parser reads it: a quoted field in it
/// runs to its closing quote, across lines (the readers then refuse the header, with
/// the same error as when reading the whole input).
pub(crate) fn split_header<R: Read>(
    mut input: R,
    delimiter: u8,
) -> Result<(Vec<u8>, u64, Rest<R>)> {
    let mut buf = Vec::new();
    let mut at = 0;
    // A small first read (most headers are short, and a small file is read whole
    // without zeroing a large buffer), twice as large each time after.
    let mut read = 4 << 10;
    let end = loop {
        // One read at a time: once the header is in, reading stops (an I/O error
        // further on is the data rows' reader's, as with one reader of the input).
        let more = fill(&mut input, &mut buf, at + 1, read)?;
        read = (read * 2).min(READ);
        if let Some(end) = header_end(&buf, delimiter) {
            break end;
        }
        at = buf.len();
        if !more {
            break buf.len();
        }
    };
    let rest = buf.split_off(end);
    let mut breaks = LineBreaks::default();
    breaks.add(&buf);
    Ok((buf, breaks.count + 1, Cursor::new(rest).chain(input)))
}

/// The end of the header row in `bytes` (after leading blank lines): just after the
/// line break that ends it (`\r\n` whole), if it is in `bytes`.
fn header_end(bytes: &[u8], delimiter: u8) -> Option<usize> {
    let start = bytes.iter().position(|&b| b != b'\r' && b != b'\n')?;
    let mut quoted = false;
    let mut i = start;
    while i < bytes.len() {
        let b = bytes[i];
        if quoted {
            if b == b'"' {
                if bytes.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    quoted = false;
                }
            }
        } else if b == b'"' {
            quoted = i == start || bytes[i - 1] == delimiter;
        } else if b == b'\n' || b == b'\r' {
            return line_end_after(bytes, i);
        }
        i += 1;
    }
    None
}

/// Just after the line break at `i` (`\r\n` whole); `None` when a `\r` ends the
/// bytes read (a `\n` may follow).
fn line_end_after(bytes: &[u8], i: usize) -> Option<usize> {
    match (bytes[i], bytes.get(i + 1)) {
        (b'\r', Some(b'\n')) => Some(i + 2),
        (b'\r', None) => None,
        _ => Some(i + 1),
    }
}

impl ReadReport {
    /// Adds the report of the rows read after these (a later block of the same file),
    /// keeping at most `keep` skipped rows' errors in file order.
    pub(crate) fn merge(&mut self, other: ReadReport, keep: usize) {
        self.rows += other.rows;
        self.records += other.records;
        self.skipped_rows += other.skipped_rows;
        let room = keep.saturating_sub(self.skipped.len());
        self.skipped.extend(other.skipped.into_iter().take(room));
    }
}

/// A block's partial result, or the error that stopped its fold (with the partial
/// up to it).
type Done<A> = (usize, A, Result<()>);

/// Splits `input` (the bytes after the header; its first byte is on line
/// `first_line`) into blocks of whole rows, folds each block into a fresh `make()` on
/// `blocks.threads` threads, and merges the partials in block order with `merge`
/// (see the module docs). On a fold error, the blocks before it and that block's
/// partial are merged and the error is returned; later blocks are not read.
///
/// # Errors
/// The first fold error in file order; an I/O error reading `input` (after merging
/// the blocks before it); `merge`'s errors.
pub(crate) fn fold_blocks<R: Read, A: Send>(
    input: R,
    first_line: u64,
    delimiter: u8,
    blocks: &Blocks,
    make: impl Fn() -> A + Sync,
    fold: impl Fn(&mut A, Block<'_>) -> Result<()> + Sync,
    mut merge: impl FnMut(&mut A, A) -> Result<()>,
) -> Result<A> {
    let mut cutter = Cutter::new(input, first_line, delimiter, blocks.block_size);
    let mut total = make();
    if blocks.threads <= 1 {
        loop {
            let (part, result) = match cutter.next()? {
                Cut::End => return Ok(total),
                cut => fold_cut(cut, &make, &fold),
            };
            merge(&mut total, part)?;
            result?;
        }
    }
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let (jobs, queue) = sync_channel::<(usize, u64, Vec<u8>)>(blocks.threads);
        let (done_tx, done) = std::sync::mpsc::channel::<Done<A>>();
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..blocks.threads {
            let (queue, done_tx) = (Arc::clone(&queue), done_tx.clone());
            let (make, fold, stop) = (&make, &fold, &stop);
            scope.spawn(move || work(&queue, &done_tx, make, fold, stop));
        }
        drop(done_tx);
        let mut order = InOrder::new(&mut total, &mut merge);
        let outcome = feed(&mut cutter, &jobs, &done, &mut order, &make, &fold, &stop);
        drop(jobs);
        stop.store(outcome.is_err() || order.failed(), Ordering::Relaxed);
        // Merge what the workers still finish, in order, up to the first error.
        for d in done.iter() {
            order.push(d);
        }
        let merged = order.finish();
        outcome.and(merged)
    })?;
    Ok(total)
}

/// Folds a block on the calling thread.
fn fold_cut<R: Read, A>(
    cut: Cut<R>,
    make: &impl Fn() -> A,
    fold: &impl Fn(&mut A, Block<'_>) -> Result<()>,
) -> (A, Result<()>) {
    let mut part = make();
    let result = match cut {
        Cut::Rows(index, first_line, bytes) => fold(
            &mut part,
            Block {
                index,
                first_line,
                input: Input::Bytes(&bytes),
            },
        ),
        Cut::Rest(index, first_line, rest) => fold(
            &mut part,
            Block {
                index,
                first_line,
                input: Input::Stream(Box::new(rest)),
            },
        ),
        Cut::End => Ok(()),
    };
    (part, result)
}

/// A worker: folds queued blocks until the queue closes.
fn work<A>(
    queue: &Mutex<Receiver<(usize, u64, Vec<u8>)>>,
    done: &std::sync::mpsc::Sender<Done<A>>,
    make: &impl Fn() -> A,
    fold: &impl Fn(&mut A, Block<'_>) -> Result<()>,
    stop: &AtomicBool,
) {
    loop {
        let job = match queue.lock() {
            Ok(q) => q.recv(),
            Err(_) => return,
        };
        let Ok((index, first_line, bytes)) = job else {
            return;
        };
        if stop.load(Ordering::Relaxed) {
            continue; // drain the queue without work
        }
        let (part, result) = fold_cut(
            Cut::<std::io::Empty>::Rows(index, first_line, bytes),
            make,
            fold,
        );
        if done.send((index, part, result)).is_err() {
            return;
        }
    }
}

/// Cuts the input and queues its blocks, merging finished ones as they come; the
/// streamed rest, if any, is folded here once every block before it is merged.
fn feed<R: Read, A>(
    cutter: &mut Cutter<R>,
    jobs: &std::sync::mpsc::SyncSender<(usize, u64, Vec<u8>)>,
    done: &Receiver<Done<A>>,
    order: &mut InOrder<'_, A, impl FnMut(&mut A, A) -> Result<()>>,
    make: &impl Fn() -> A,
    fold: &impl Fn(&mut A, Block<'_>) -> Result<()>,
    stop: &AtomicBool,
) -> Result<()> {
    loop {
        while let Ok(d) = done.try_recv() {
            order.push(d);
        }
        if order.failed() {
            stop.store(true, Ordering::Relaxed);
            return Ok(());
        }
        match cutter.next()? {
            Cut::End => return Ok(()),
            Cut::Rows(index, line, bytes) => {
                if jobs.send((index, line, bytes)).is_err() {
                    return Ok(());
                }
            }
            rest @ Cut::Rest(index, ..) => {
                // Wait for every block before the rest, then fold it here.
                while order.next < index && !order.failed() {
                    match done.recv() {
                        Ok(d) => order.push(d),
                        Err(_) => break,
                    }
                }
                if !order.failed() {
                    let (part, result) = fold_cut(rest, make, fold);
                    order.push((index, part, result));
                }
                return Ok(());
            }
        }
    }
}

/// Merges partials in block order, holding those that finish early; stops at the
/// first error in block order (merging that block's partial first).
struct InOrder<'t, A, M> {
    total: &'t mut A,
    merge: &'t mut M,
    /// The next block to merge.
    next: usize,
    waiting: BTreeMap<usize, (A, Result<()>)>,
    /// The first error in block order, once every block before it is merged.
    error: Option<Error>,
}

impl<'t, A, M: FnMut(&mut A, A) -> Result<()>> InOrder<'t, A, M> {
    fn new(total: &'t mut A, merge: &'t mut M) -> Self {
        InOrder {
            total,
            merge,
            next: 0,
            waiting: BTreeMap::new(),
            error: None,
        }
    }

    fn failed(&self) -> bool {
        self.error.is_some()
    }

    fn push(&mut self, (index, part, result): Done<A>) {
        if self.error.is_some() {
            return;
        }
        self.waiting.insert(index, (part, result));
        while let Some((part, result)) = self.waiting.remove(&self.next) {
            self.next += 1;
            let merged = (self.merge)(self.total, part);
            if let Err(e) = merged.and(result) {
                self.error = Some(e);
                self.waiting.clear();
                return;
            }
        }
    }

    fn finish(self) -> Result<()> {
        self.error.map_or(Ok(()), Err)
    }
}

/// Reads the records of one block into `part`: lines in the simple form (no quotes,
/// no bare `\r`) are split without the general parser and decoded by the same
/// decoder; from the first other line on, the general reader reads the rest of the
/// block. The records, errors, lines and report are the general reader's.
///
/// `fast` sees each simple, non-blank line first (its fields and the buffer they are
/// in): when it takes the line as a record it returns `true` (it must then do what
/// decoding and `add` would), else the line is decoded as usual.
pub(super) fn read_block<T: CsvRecord, A>(
    block: Block<'_>,
    options: &Options,
    head: &Head<T>,
    part: &mut A,
    report: &mut ReadReport,
    fast: &impl Fn(&mut A, &Line, &[u8]) -> Result<bool>,
    add: &impl Fn(&mut A, T) -> Result<()>,
) -> Result<()> {
    let mut line_no = block.first_line - 1;
    let mut split = Splitter::new(block.into_reader(), options.delimiter);
    let mut line = Line {
        start: 0,
        ends: Vec::with_capacity(16),
    };
    let mut ctx = Ctx::new(&options.path_separator);
    let width = head.header.len();
    loop {
        let next = split.next(&mut line)?;
        line_no += 1;
        match next {
            Next::End => return Ok(()),
            Next::Complex(from) => {
                let mut reader = Reader::<T, _>::resume(
                    split.rest(from),
                    options,
                    head.source_name.clone(),
                    head.columns.clone(),
                    &head.header,
                    line_no,
                    std::mem::take(report),
                );
                let mut outcome = Ok(());
                for record in reader.by_ref() {
                    if let Err(e) = record.and_then(|r| add(part, r)) {
                        outcome = Err(e);
                        break;
                    }
                }
                *report = reader.report().clone();
                return outcome;
            }
            Next::Simple => {}
        }
        if line.ends.len() == 1 && line.ends[0] == line.start {
            continue; // a blank line is not a row
        }
        report.rows += 1;
        if line.ends.len() == width && fast(part, &line, &split.buf)? {
            report.records += 1;
            continue;
        }
        let row = SplitRow {
            line: &line,
            buf: &split.buf,
        };
        match decode_row::<T>(&head.columns, &row, width, &mut ctx) {
            Ok(record) => {
                report.records += 1;
                add(part, record)?;
            }
            Err(e) => {
                let e = e.at(&head.source_name, line_no);
                match options.on_error {
                    OnError::Stop => return Err(e),
                    OnError::SkipAndReport => report.skip(e, options.kept_errors),
                }
            }
        }
    }
}

/// Reads the records of schema `T` from `input` through the general reader on
/// `blocks.threads` threads: each block's records are added to a partial `A` with
/// `add`, and the partials merged in file order with `merge`. The records, the error
/// (the first bad row in file order under [`OnError::Stop`](super::OnError::Stop),
/// with its line) and the report are those of one [`Reader`] over the whole input.
///
/// # Errors
/// As [`Reader::new`] and its rows; `add`'s and `merge`'s errors.
pub(crate) fn fold_records<T: CsvRecord, R: Read, A: Send>(
    input: R,
    options: &Options,
    blocks: &Blocks,
    make: impl Fn() -> A + Sync,
    add: impl Fn(&mut A, T) -> Result<()> + Sync,
    mut merge: impl FnMut(&mut A, A) -> Result<()>,
) -> Result<(A, ReadReport)> {
    let (header, first_line, rest) = split_header(input, options.delimiter)?;
    let (_, head) = read_head::<T, _>(&header[..], options)?;
    let keep = options.kept_errors;
    fold_blocks(
        rest,
        first_line,
        options.delimiter,
        blocks,
        || (make(), ReadReport::default()),
        |(part, report), block| {
            read_block(
                block,
                options,
                &head,
                part,
                report,
                &|_, _, _| Ok(false),
                &add,
            )
        },
        |(total, report), (part, more)| {
            merge(total, part)?;
            report.merge(more, keep);
            Ok(())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csv::{OnError, Options};
    use crate::records::StageEvent;
    use proptest::prelude::*;

    /// One reader over the whole input: records until the error that stops it, the
    /// error, and the report.
    fn one_pass(input: &[u8], options: &Options) -> (Vec<StageEvent>, Option<String>, ReadReport) {
        let mut reader = match Reader::<StageEvent, _>::new(input, options.clone()) {
            Ok(r) => r,
            Err(e) => return (Vec::new(), Some(e.to_string()), ReadReport::default()),
        };
        let mut out = Vec::new();
        for r in reader.by_ref() {
            match r {
                Ok(e) => out.push(e),
                Err(e) => return (out, Some(e.to_string()), reader.report().clone()),
            }
        }
        (out, None, reader.report().clone())
    }

    fn in_blocks(
        input: &[u8],
        options: &Options,
        blocks: &Blocks,
    ) -> (Vec<StageEvent>, Option<String>, Option<ReadReport>) {
        let mut got = std::sync::Mutex::new(Vec::new());
        let r = fold_records::<StageEvent, _, _>(
            input,
            options,
            blocks,
            Vec::new,
            |v, e| {
                v.push(e);
                Ok(())
            },
            |a, b| {
                a.extend(b);
                Ok(())
            },
        );
        match r {
            Ok((v, report)) => (v, None, Some(report)),
            Err(e) => (
                std::mem::take(got.get_mut().unwrap()),
                Some(e.to_string()),
                None,
            ),
        }
    }

    /// Rows of `subject_id,stage,at,reason` with quotes, line breaks, blank lines and
    /// bad values mixed in.
    fn hostile() -> impl Strategy<Value = Vec<u8>> {
        let field = prop_oneof![
            4 => Just("L1".to_string()),
            2 => Just("mql".to_string()),
            4 => Just("2026-03-04T10:11:12Z".to_string()),
            1 => Just("\"a,b\"".to_string()),
            1 => Just("\"multi\nline\"".to_string()),
            1 => Just("\"x\"\"y\"".to_string()),
            1 => Just("ab\"c".to_string()),
            1 => Just("\"open".to_string()),
            1 => Just("2026-02-30".to_string()),
            1 => Just(String::new()),
        ];
        let row = prop::collection::vec(field, 1..6).prop_map(|f| f.join(","));
        let end =
            prop_oneof![6 => Just("\n"), 2 => Just("\r\n"), 1 => Just("\r"), 1 => Just("\n\n")];
        prop::collection::vec((row, end), 0..40).prop_map(|rows| {
            let mut s = String::from("subject_id,stage,at,reason\n");
            for (r, e) in rows {
                s.push_str(&r);
                s.push_str(e);
            }
            s.into_bytes()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Any cut into blocks, on any number of threads, reads what one reader
        /// reads: the same records, the same first error and line, the same report.
        #[test]
        fn blocks_read_what_one_reader_reads(
            input in hostile(),
            block_size in 1usize..64,
            threads in 1usize..4,
            skip in any::<bool>(),
        ) {
            let mut options = Options::new().with_kept_errors(3);
            if skip {
                options = options.with_on_error(OnError::SkipAndReport);
            }
            let (records, error, report) = one_pass(&input, &options);
            let (got, got_error, got_report) =
                in_blocks(&input, &options, &Blocks { block_size, threads });
            prop_assert_eq!(&got_error, &error);
            if error.is_none() {
                prop_assert_eq!(&got, &records);
                let got_report = got_report.unwrap();
                prop_assert_eq!(got_report.rows, report.rows);
                prop_assert_eq!(got_report.records, report.records);
                prop_assert_eq!(got_report.skipped_rows, report.skipped_rows);
                let a: Vec<String> = got_report.skipped.iter().map(ToString::to_string).collect();
                let b: Vec<String> = report.skipped.iter().map(ToString::to_string).collect();
                prop_assert_eq!(a, b);
            }
        }
    }

    #[test]
    fn blocks_cut_at_row_ends_and_count_lines() {
        let input = b"a,b\nc,d\r\ne,f\n\ng,h";
        let got = fold_blocks(
            &input[..],
            5,
            b',',
            &Blocks {
                block_size: 3,
                threads: 2,
            },
            Vec::new,
            |v: &mut Vec<(u64, Vec<u8>)>, b| {
                v.push((b.first_line, b.bytes().unwrap_or_default().to_vec()));
                Ok(())
            },
            |a, b| {
                a.extend(b);
                Ok(())
            },
        )
        .unwrap();
        let lines: Vec<(u64, &[u8])> = got.iter().map(|(l, b)| (*l, &b[..])).collect();
        assert_eq!(
            lines,
            [
                (5, &b"a,b\n"[..]),
                (6, b"c,d\r\n"),
                (7, b"e,f\n"),
                (8, b"\ng,h"),
            ]
        );
    }

    #[test]
    fn a_quote_across_lines_streams_the_rest_exactly() {
        let input = b"a,b\nc,\"x\ny\"\ne,f\n";
        let got = fold_blocks(
            &input[..],
            2,
            b',',
            &Blocks {
                block_size: 2,
                threads: 2,
            },
            Vec::new,
            |v: &mut Vec<(u64, bool)>, b| {
                v.push((b.first_line, b.bytes().is_some()));
                Ok(())
            },
            |a, b| {
                a.extend(b);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(got, [(2, true), (3, false)]);
    }

    #[test]
    fn the_first_error_in_file_order_wins() {
        let mut input = Vec::new();
        for i in 0..2000 {
            input.extend_from_slice(format!("row{i}\n").as_bytes());
        }
        let r = fold_blocks(
            &input[..],
            2,
            b',',
            &Blocks {
                block_size: 64,
                threads: 3,
            },
            || 0u64,
            |n, b| {
                let text = String::from_utf8_lossy(b.bytes().unwrap_or_default()).to_string();
                for (k, l) in text.lines().enumerate() {
                    if l.ends_with('7') {
                        return Err(Error::from(crate::error::ErrorKind::InvalidParameter {
                            name: "row",
                            value: (b.first_line + k as u64).to_string(),
                            reason: l.to_string(),
                        }));
                    }
                    *n += 1;
                }
                Ok(())
            },
            |a, b| {
                *a += b;
                Ok(())
            },
        );
        let e = r.unwrap_err().to_string();
        assert!(e.contains("row7"), "{e}");
        assert!(e.contains("= 9"), "{e}");
    }

    #[test]
    fn a_header_alone_and_blank_lines_before_it() {
        let (h, line, mut rest) = split_header(&b"\n\nx,\"y\nz\",w\r\nrow\n"[..], b',').unwrap();
        assert_eq!(h, b"\n\nx,\"y\nz\",w\r\n");
        assert_eq!(line, 5);
        let mut r = Vec::new();
        rest.read_to_end(&mut r).unwrap();
        assert_eq!(r, b"row\n");
    }
}
