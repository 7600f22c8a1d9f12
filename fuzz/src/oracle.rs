//! Independent checks of what the readers accept: whether the input ends inside a
//! quoted field, and whether an accepted decimal has the documented form.

/// Whether `data`, read as CSV with `delimiter` the way the `csv` crate tokenises it
/// (a field is quoted when it starts with `"`; `""` inside is a quote; a `"` followed
/// by anything else closes it), ends inside a quoted field that was never closed.
pub fn ends_in_open_quote(data: &[u8], delimiter: u8) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum S {
        Start,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut s = S::Start;
    for &b in data {
        let end = b == delimiter || b == b'\n' || b == b'\r';
        s = match s {
            S::Start if b == b'"' => S::Quoted,
            S::Start | S::Unquoted | S::QuoteInQuoted if end => S::Start,
            S::Start | S::Unquoted => S::Unquoted,
            S::Quoted if b == b'"' => S::QuoteInQuoted,
            S::Quoted => S::Quoted,
            S::QuoteInQuoted if b == b'"' => S::Quoted,
            S::QuoteInQuoted => S::Unquoted,
        };
    }
    s == S::Quoted
}

/// The documented form of a money amount: an exact decimal such as `1250.10`
/// (optional sign, digits, optional fraction; no exponent, no digit separators),
/// surrounded by optional ASCII whitespace.
pub fn is_documented_decimal(field: &[u8]) -> bool {
    let b = field.trim_ascii();
    let b = b
        .strip_prefix(b"-")
        .or_else(|| b.strip_prefix(b"+"))
        .unwrap_or(b);
    let (int, frac) = match b.iter().position(|&c| c == b'.') {
        Some(p) => (&b[..p], Some(&b[p + 1..])),
        None => (b, None),
    };
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    let frac_ok = frac.is_none_or(digits);
    let some_digit = !int.is_empty() || frac.is_some_and(|f| !f.is_empty());
    digits(int) && frac_ok && some_digit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_quotes() {
        assert!(!ends_in_open_quote(b"a,b\n1,2\n", b','));
        assert!(ends_in_open_quote(b"a,b\n1,\"2\n3,4\n", b','));
        assert!(!ends_in_open_quote(b"a,b\n1,\"2\"\"\n3\",4\n", b','));
        assert!(!ends_in_open_quote(b"a,b\n1,x\"2\n", b','));
        assert!(!ends_in_open_quote(b"a,b\n1,\"2\"x\"\n", b','));
        assert!(ends_in_open_quote(b"a;b\n1;\"2,3\n", b';'));
        assert!(!ends_in_open_quote(b"a;b\n1;\"2\";3\n", b';'));
    }

    #[test]
    fn decimals() {
        for ok in ["1", "1250.10", " 3.5 ", "-0", "+7", ".5", "5."] {
            assert!(is_documented_decimal(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "", "1_000", "1e3", "1,000", "--1", ".", "0x10", "1.2.3", "NaN",
        ] {
            assert!(!is_documented_decimal(bad.as_bytes()), "{bad}");
        }
    }
}
