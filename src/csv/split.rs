//! A fast line splitter for CSV rows in the simple form (no quotes, no bare `\r`):
//! fields are found eight bytes at a time; anything else is handed to the general
//! parser from the row where it starts.

use std::io::{Cursor, Read};

use super::field::RowFields;
use super::read::zero_bytes;
use crate::error::{Error, Result};

use csv::ByteRecord;

/// Bytes read from the source at a time: the first read, then twice as many after
/// each read that fills its whole chunk, up to the most (a small file, or the end of
/// a large one, is not read into a large zeroed buffer).
const FIRST_CHUNK: usize = 1 << 12;
const CHUNK: usize = 1 << 20;

/// One line of the input, split at the delimiter.
pub(super) struct Line {
    /// Where the line starts in the buffer, and where each field ends (the last one
    /// at the end of the line, before any `\r\n`).
    pub(super) start: usize,
    pub(super) ends: Vec<usize>,
}

impl Line {
    #[inline]
    pub(super) fn field<'b>(&self, buf: &'b [u8], i: usize) -> &'b [u8] {
        let from = if i == 0 {
            self.start
        } else {
            self.ends[i - 1] + 1
        };
        &buf[from..self.ends[i]]
    }

    pub(super) fn record(&self, buf: &[u8], out: &mut ByteRecord) {
        out.clear();
        for i in 0..self.ends.len() {
            out.push_field(self.field(buf, i));
        }
    }
}

/// A line in the splitter's buffer, as the fields of a row.
pub(super) struct SplitRow<'a> {
    pub(super) line: &'a Line,
    pub(super) buf: &'a [u8],
}

impl RowFields for SplitRow<'_> {
    #[inline]
    fn get(&self, i: usize) -> Option<&[u8]> {
        (i < self.line.ends.len()).then(|| self.line.field(self.buf, i))
    }

    #[inline]
    fn len(&self) -> usize {
        self.line.ends.len()
    }
}

/// What the splitter found next.
pub(super) enum Next {
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
    ///
    /// The stop bytes are all below `0x23` (`#`): one subtraction finds whether the
    /// word holds any byte below it (never missing one; what it flags beyond the first
    /// such byte may be wrong, so it is only a test), and only a word that does (a
    /// line end, a quote, or a space, `!` or control byte in the text) is searched
    /// for the stop bytes themselves.
    #[inline]
    fn masks(&self, w: u64) -> (u64, u64) {
        let delimiters = Self::zeros(w ^ self.delimiter);
        let low = w.wrapping_sub(Self::ONES * 0x23) & !w & (Self::ONES * 0x80);
        if low == 0 {
            return (delimiters, 0);
        }
        let stops = Self::zeros(w ^ (Self::ONES * u64::from(b'\n')))
            | Self::zeros(w ^ (Self::ONES * u64::from(b'\r')))
            | Self::zeros(w ^ (Self::ONES * u64::from(b'"')));
        (delimiters, stops)
    }
}

/// Splits the input into lines of fields, reading it in chunks into one buffer.
pub(super) struct Splitter<R> {
    input: R,
    pub(super) buf: Vec<u8>,
    pos: usize,
    eof: bool,
    delimiter: u8,
    chunk: usize,
}

impl<R: Read> Splitter<R> {
    pub(super) fn new(input: R, delimiter: u8) -> Self {
        Splitter {
            input,
            buf: Vec::new(),
            pos: 0,
            eof: false,
            delimiter,
            chunk: FIRST_CHUNK,
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
        self.buf.resize(old + self.chunk, 0);
        loop {
            match self.input.read(&mut self.buf[old..]) {
                Ok(n) => {
                    self.buf.truncate(old + n);
                    self.eof = n == 0;
                    if n == self.chunk {
                        self.chunk = (self.chunk * 2).min(CHUNK);
                    }
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
    pub(super) fn next(&mut self, line: &mut Line) -> Result<Next> {
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
    pub(super) fn rest(self, from: usize) -> std::io::Chain<Cursor<Vec<u8>>, R> {
        let mut buf = self.buf;
        buf.drain(..from);
        Cursor::new(buf).chain(self.input)
    }
}
