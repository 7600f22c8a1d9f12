//! Mutations of CSV-shaped inputs: byte-level edits, dictionary tokens, field and row
//! edits, long runs and splices with other corpus entries.

use crate::rng::Rng;

/// Tokens that matter to the readers and engines: quoting, line breaks, BOMs,
/// delimiters, path separators, extreme numbers, odd dates, currencies.
const TOKENS: &[&str] = &[
    "\"",
    "\"\"",
    "\",\"",
    "\r\n",
    "\r",
    "\n",
    "\n\n",
    "\u{feff}",
    "\u{feff}\u{feff}",
    ";",
    ",",
    ",,",
    ">",
    " > ",
    ">>",
    "\t",
    " ",
    "\0",
    "é",
    "\u{2028}",
    "79228162514264337593543950335",
    "-79228162514264337593543950335",
    "79228162514264337593543950336",
    "7922816251426433759354395033.5",
    "0.0000000000000000000000000001",
    "0.00000000000000000000000000001",
    "1e308",
    "-1e308",
    "1e-308",
    "5e-324",
    "1.7976931348623157e308",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "-0",
    "-0.0",
    "0",
    "1",
    "-1",
    "0.5",
    "1.000",
    "4294967295",
    "4294967296",
    "18446744073709551616",
    "1_000",
    "+1",
    " 1 ",
    "1,000.00",
    "+99999-01-01",
    "-99999-12-31",
    "+99999-01-01T00:00:00Z",
    "+262143-12-31",
    "9999-12-31",
    "9999-12-31T23:59:59.999999999Z",
    "0000-01-01",
    "-0001-01-01",
    "1970-01-01",
    "2024-02-29",
    "2026-02-29",
    "2026-03-04T10:11:12Z",
    "2026-03-04T10:11:12.123456789+14:00",
    "2026-03-04T10:11:12-23:59",
    "2026-03-04 10:11:12",
    "2026-03-04T24:00:00Z",
    "2026-03-04T23:59:60Z",
    "2026-12-31",
    "2027-01-01",
    "USD",
    "EUR",
    "JPY",
    "BHD",
    "usd",
    "XYZ:2",
    "XYZ:0",
    "XYZ:28",
    "XYZ:255",
    "pipeline",
    "best_case",
    "Best Case",
    "commit",
    "closed",
    "omitted",
    "direct",
    "email",
    "paid_search",
    "search",
];

/// Which mutation to apply; weights are implicit in [`Mutator::mutate_once`].
#[derive(Debug, Clone)]
pub struct Mutator {
    dictionary: Vec<Vec<u8>>,
    max_len: usize,
}

impl Mutator {
    /// A mutator with the built-in tokens plus `extra` (e.g. the stage keys of the
    /// ready-made funnels), never growing an input beyond `max_len` bytes.
    pub fn new(extra: impl IntoIterator<Item = String>, max_len: usize) -> Mutator {
        let mut dictionary: Vec<Vec<u8>> = TOKENS.iter().map(|t| t.as_bytes().to_vec()).collect();
        dictionary.extend(extra.into_iter().map(String::into_bytes));
        dictionary.push(vec![0xff, 0xfe]);
        dictionary.push(vec![0xc3]);
        dictionary.push(vec![0xef, 0xbb]);
        Mutator {
            dictionary,
            max_len,
        }
    }

    /// Applies one to four mutations to `data` (a copy of a corpus entry); `corpus`
    /// provides splice material.
    pub fn mutate(&self, rng: &mut Rng, data: &mut Vec<u8>, corpus: &[Vec<u8>]) {
        let n = 1 + rng.below(4);
        for _ in 0..n {
            self.mutate_once(rng, data, corpus);
        }
        data.truncate(self.max_len);
    }

    fn token<'a>(&'a self, rng: &mut Rng) -> &'a [u8] {
        &self.dictionary[rng.below(self.dictionary.len())]
    }

    fn room(&self, data: &[u8]) -> usize {
        self.max_len.saturating_sub(data.len())
    }

    fn mutate_once(&self, rng: &mut Rng, data: &mut Vec<u8>, corpus: &[Vec<u8>]) {
        if data.is_empty() {
            data.extend_from_slice(self.token(rng));
            return;
        }
        match rng.below(20) {
            // Byte flips.
            0 => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            // A random or interesting byte.
            1 => {
                let i = rng.below(data.len());
                data[i] = *rng.pick(b"\"\r\n,;> -.:+0129eEZT\x00\xff");
            }
            // Insert random bytes.
            2 => {
                let i = rng.below(data.len() + 1);
                let n = rng.small_len(16).min(self.room(data));
                let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
                data.splice(i..i, bytes);
            }
            // Delete a range.
            3 | 4 => {
                let i = rng.below(data.len());
                let n = rng.small_len(data.len() - i);
                data.drain(i..i + n);
            }
            // Insert a dictionary token anywhere, or at the start of a line.
            5 | 6 => {
                let t = self.token(rng).to_vec();
                if t.len() <= self.room(data) {
                    let i = rng.below(data.len() + 1);
                    let i = if rng.one_in(2) {
                        line_at(data, i.min(data.len() - 1)).0
                    } else {
                        i
                    };
                    data.splice(i..i, t);
                }
            }
            // Replace a whole field with a dictionary token.
            7..=9 => {
                let (a, b) = field_at(data, rng.below(data.len()));
                let t = self.token(rng).to_vec();
                if t.len() <= self.room(data) + (b - a) {
                    data.splice(a..b, t);
                }
            }
            // Duplicate a field (with its delimiter).
            10 => {
                let (a, b) = field_at(data, rng.below(data.len()));
                let delim = if b < data.len() && matches!(data[b], b',' | b';') {
                    data[b]
                } else {
                    b','
                };
                let mut copy = data[a..b].to_vec();
                copy.push(delim);
                if copy.len() <= self.room(data) {
                    data.splice(a..a, copy);
                }
            }
            // Duplicate a row, delete a row, or swap two rows.
            11 => {
                let (a, b) = line_at(data, rng.below(data.len()));
                let copy = data[a..b].to_vec();
                if copy.len() <= self.room(data) {
                    data.splice(b..b, copy);
                }
            }
            12 => {
                let (a, b) = line_at(data, rng.below(data.len()));
                data.drain(a..b);
            }
            13 => {
                let (a, b) = line_at(data, rng.below(data.len()));
                let (c, d) = line_at(data, rng.below(data.len()));
                if b <= c {
                    let second = data[c..d].to_vec();
                    let first = data[a..b].to_vec();
                    data.splice(c..d, first);
                    data.splice(a..b, second);
                }
            }
            // A long run: a field, a row or a token repeated many times.
            14 => {
                let unit = match rng.below(3) {
                    0 => {
                        let (a, b) = field_at(data, rng.below(data.len()));
                        data[a..b].to_vec()
                    }
                    1 => {
                        let (a, b) = line_at(data, rng.below(data.len()));
                        data[a..b].to_vec()
                    }
                    _ => self.token(rng).to_vec(),
                };
                if !unit.is_empty() {
                    let bits = if rng.one_in(8) {
                        1 + rng.below(12)
                    } else {
                        1 + rng.below(6)
                    };
                    let times = 1 + rng.below(1 << bits);
                    let n = (unit.len() * times).min(self.room(data));
                    let run: Vec<u8> = unit.iter().copied().cycle().take(n).collect();
                    let i = rng.below(data.len() + 1);
                    data.splice(i..i, run);
                }
            }
            // A run of distinct channels (`c0>c1>…`): the attribution engines' hard case.
            15 => {
                // Mostly short; now and then thousands (a slow input costs seconds).
                let bits = if rng.one_in(8) {
                    1 + rng.below(13)
                } else {
                    1 + rng.below(6)
                };
                let times = 1 + rng.below(1 << bits);
                let mut run = Vec::new();
                for k in 0..times {
                    let item = format!("{}c{k}", if k == 0 { "" } else { ">" });
                    if run.len() + item.len() > self.room(data) {
                        break;
                    }
                    run.extend_from_slice(item.as_bytes());
                }
                let (a, b) = field_at(data, rng.below(data.len()));
                data.splice(a..b, run);
            }
            // Replace a number with an interesting one.
            16 => {
                let i = rng.below(data.len());
                if let Some(start) = (i..data.len()).find(|&j| data[j].is_ascii_digit()) {
                    let end = (start..data.len())
                        .find(|&j| !data[j].is_ascii_digit())
                        .unwrap_or(data.len());
                    let t = rng
                        .pick(&[
                            &b"0"[..],
                            b"1",
                            b"9",
                            b"99999",
                            b"4294967296",
                            b"79228162514264337593543950335",
                            b"00",
                            b"1e308",
                            b"1_0",
                        ])
                        .to_vec();
                    data.splice(start..end, t);
                }
            }
            // Splice: a range of another corpus entry replaces or joins a range here.
            17 | 18 => {
                let other = rng.pick(corpus);
                if !other.is_empty() {
                    let a = rng.below(other.len());
                    let n = rng.small_len(other.len() - a).min(self.room(data) + 64);
                    let piece = other[a..a + n].to_vec();
                    let i = rng.below(data.len() + 1);
                    let j = if rng.one_in(2) {
                        i
                    } else {
                        (i + rng.small_len(64)).min(data.len())
                    };
                    data.splice(i..j, piece);
                }
            }
            // Crossover: the head of this entry and the tail of another, at line breaks.
            _ => {
                let other = rng.pick(corpus);
                if !other.is_empty() {
                    let (_, cut) = line_at(data, rng.below(data.len()));
                    let (from, _) = line_at(other, rng.below(other.len()));
                    data.truncate(cut);
                    data.extend_from_slice(&other[from..]);
                }
            }
        }
    }
}

/// The field around byte `i`: from after the previous delimiter or line break to
/// before the next one.
fn field_at(data: &[u8], i: usize) -> (usize, usize) {
    let stop = |b: &u8| matches!(b, b',' | b';' | b'\n' | b'\r' | b'>');
    let a = data[..i].iter().rposition(stop).map_or(0, |p| p + 1);
    let b = data[i..]
        .iter()
        .position(stop)
        .map_or(data.len(), |p| i + p);
    (a, b.max(a))
}

/// The line around byte `i`, with its line break.
fn line_at(data: &[u8], i: usize) -> (usize, usize) {
    let a = data[..i]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let b = data[i..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(data.len(), |p| i + p + 1);
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_respect_the_size_cap() {
        let m = Mutator::new(["mql".to_string()], 256);
        let corpus = vec![b"a,b,c\n1,2,3\n".to_vec(), b"x>y,1,2,3\n".to_vec()];
        let mut rng = Rng::new(3);
        for _ in 0..5_000 {
            let mut d = rng.pick(&corpus).clone();
            m.mutate(&mut rng, &mut d, &corpus);
            assert!(d.len() <= 256);
        }
    }

    #[test]
    fn fields_and_lines() {
        let d = b"ab,cd\nef;gh\n";
        assert_eq!(field_at(d, 3), (3, 5));
        assert_eq!(field_at(d, 0), (0, 2));
        assert_eq!(line_at(d, 7), (6, 12));
        assert_eq!(line_at(d, 0), (0, 6));
    }
}
