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

/// The documented forms of a timestamp or date: `YYYY-MM-DD`, optionally followed by
/// `T` (or a space) and `HH:MM:SS`, optional fractional seconds and an optional offset
/// (`Z` or `±HH:MM`), surrounded by optional ASCII whitespace.
pub fn is_documented_time(field: &[u8]) -> bool {
    let b = field.trim_ascii();
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    let shape = |s: &[u8], pattern: &[u8]| {
        s.len() == pattern.len()
            && s.iter().zip(pattern).all(|(c, p)| {
                if *p == b'9' {
                    c.is_ascii_digit()
                } else {
                    c == p
                }
            })
    };
    if b.len() < 10 || !shape(&b[..10], b"9999-99-99") {
        return false;
    }
    let rest = &b[10..];
    if rest.is_empty() {
        return true;
    }
    if rest.len() < 9 || !matches!(rest[0], b'T' | b't' | b' ') || !shape(&rest[1..9], b"99:99:99")
    {
        return false;
    }
    let mut rest = &rest[9..];
    if let Some(f) = rest.strip_prefix(b".") {
        let n = f.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        rest = &f[n..];
    }
    match rest {
        [] | [b'Z' | b'z'] => true,
        [b'+' | b'-', h @ .., b':', m1, m2] => digits(h) && h.len() == 2 && digits(&[*m1, *m2]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        for ok in [
            "2026-03-04",
            "2026-03-04T10:11:12Z",
            "2026-03-04T10:11:12.5+02:00",
            "2026-03-04 10:11:12",
            " 2026-03-04t10:11:12.123456789-23:59 ",
        ] {
            assert!(is_documented_time(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "6-3-012:0:0",
            "2026-3-4",
            "+99999-01-01",
            "2026-03-0410:11:12",
            "2026-03-04T10:11",
            "2026-03-04T10:11:12.Z",
            "2026-03-04T10:11:12+0200",
            "",
        ] {
            assert!(!is_documented_time(bad.as_bytes()), "{bad}");
        }
    }

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
