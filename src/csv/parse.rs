//! Field-level parsing and formatting: timestamps, dates and numbers from and to bytes.
//!
//! The common fixed-width forms (`2026-03-04T10:11:12Z`, `2026-03-04 10:11:12`,
//! `2026-03-04`) are parsed by hand from bytes; anything else falls back to chrono's
//! parsers, so unusual but valid input (leap seconds, unpadded fields) still reads.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike, Utc};
use rust_decimal::Decimal;

/// Two ASCII digits at `i` as a number.
#[inline]
fn digits2(b: &[u8], i: usize) -> Option<u32> {
    let hi = b.get(i)?.wrapping_sub(b'0');
    let lo = b.get(i + 1)?.wrapping_sub(b'0');
    (hi < 10 && lo < 10).then(|| u32::from(hi) * 10 + u32::from(lo))
}

/// `YYYY-MM-DD` at the start of `b`.
#[inline]
fn fast_date(b: &[u8]) -> Option<NaiveDate> {
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let year = digits2(b, 0)? * 100 + digits2(b, 2)?;
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, digits2(b, 5)?, digits2(b, 8)?)
}

/// `YYYY-MM-DD`, `YYYY-MM-DD[T ]HH:MM:SS[.f{1,9}][Z|±HH:MM]`; a time without offset is UTC.
/// Returns `None` for anything else (including leap seconds), which then goes to chrono.
fn fast_timestamp(b: &[u8]) -> Option<DateTime<Utc>> {
    let date = fast_date(b)?;
    if b.len() == 10 {
        return Some(date.and_time(NaiveTime::MIN).and_utc());
    }
    if b.len() < 19 || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (hour, minute, second) = (digits2(b, 11)?, digits2(b, 14)?, digits2(b, 17)?);
    let mut i = 19;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while let Some(d) = b.get(i).filter(|d| d.is_ascii_digit()) {
            if i - start == 9 {
                return None;
            }
            nanos = nanos * 10 + u32::from(d - b'0');
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return None;
        }
        nanos *= 10u32.pow(9 - n as u32);
    }
    let offset_seconds = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let (oh, om) = (digits2(b, i + 1)?, digits2(b, i + 4)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let s = i64::from(oh * 3600 + om * 60);
            if sign == b'-' { -s } else { s }
        }
        _ => return None,
    };
    let local = date.and_time(NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?);
    if offset_seconds == 0 {
        Some(local.and_utc())
    } else {
        local
            .checked_sub_signed(TimeDelta::seconds(offset_seconds))
            .map(|t| t.and_utc())
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (valid month and day).
#[inline]
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The canonical form writers produce, `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`, as
/// microseconds since the Unix epoch (digits past the microsecond truncated, as
/// `DateTime::timestamp_micros` does), without building a `DateTime`. `None` for
/// anything else (other forms, out-of-range fields, leap seconds): callers then use
/// [`timestamp`], which gives the same instant whenever this gives one.
#[inline]
pub(crate) fn canonical_micros(b: &[u8]) -> Option<i64> {
    let c = canonical_parts(b)?;
    let days = days_from_civil(i64::from(c.year), c.month, c.day);
    let seconds = days * 86_400 + i64::from(c.second_of_day);
    Some(seconds * 1_000_000 + i64::from(c.nanos / 1_000))
}

/// The canonical form (see [`canonical_micros`]) as a `DateTime`, built from the
/// year, day of the year and second of the day the text states (checked here), with
/// none of the calendar arithmetic of a conversion from seconds since the epoch.
/// `None` for anything else: callers then use [`timestamp`], which gives the same
/// instant whenever this gives one (its years, 0000 to 9999, are all in [`YEARS`]).
#[inline]
pub(crate) fn canonical_timestamp(b: &[u8]) -> Option<DateTime<Utc>> {
    /// Days in the months before each month of a common year.
    const BEFORE: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let c = canonical_parts(b)?;
    let ordinal = BEFORE[c.month as usize - 1] + c.day + u32::from(c.leap && c.month > 2);
    let date = NaiveDate::from_yo_opt(i32::try_from(c.year).ok()?, ordinal)?;
    let time = NaiveTime::from_num_seconds_from_midnight_opt(c.second_of_day, c.nanos)?;
    Some(date.and_time(time).and_utc())
}

/// The fields of a timestamp in the canonical form, checked (a real calendar day,
/// hours to 23, minutes and seconds to 59).
struct Canonical {
    year: u32,
    leap: bool,
    /// 1 to 12.
    month: u32,
    /// 1 to the days of the month.
    day: u32,
    second_of_day: u32,
    nanos: u32,
}

/// The checked fields of the canonical form.
#[inline]
fn canonical_parts(b: &[u8]) -> Option<Canonical> {
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let year = digits2(b, 0)? * 100 + digits2(b, 2)?;
    let (month, day) = (digits2(b, 5)?, digits2(b, 8)?);
    let (hour, minute, second) = (digits2(b, 11)?, digits2(b, 14)?, digits2(b, 17)?);
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > month_days || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0u32;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while let Some(d) = b.get(i).filter(|d| d.is_ascii_digit()) {
            if i - start == 9 {
                return None;
            }
            nanos = nanos * 10 + u32::from(d - b'0');
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return None;
        }
        for _ in n..9 {
            nanos *= 10;
        }
    }
    if i + 1 != b.len() || b[i] != b'Z' {
        return None;
    }
    Some(Canonical {
        year,
        leap,
        month,
        day,
        second_of_day: hour * 3600 + minute * 60 + second,
        nanos,
    })
}

/// The first and last years readers accept and writers write (`YYYY`, in UTC).
pub(crate) const YEARS: (i32, i32) = (0, 9999);

/// Whether a date's year is one files can hold (see [`YEARS`]).
pub(crate) fn in_range(d: NaiveDate) -> bool {
    (YEARS.0..=YEARS.1).contains(&d.year())
}

/// A timestamp in any accepted form: RFC 3339, `YYYY-MM-DD HH:MM:SS[.f]` (UTC) or
/// `YYYY-MM-DD` (UTC midnight), whose UTC year is within [`YEARS`] (what writers can
/// write back). Surrounding ASCII whitespace is ignored.
pub(crate) fn timestamp(field: &[u8]) -> Option<DateTime<Utc>> {
    any_timestamp(field).filter(|t| in_range(t.date_naive()))
}

/// Whether `b` has the shape of a documented form: `YYYY-MM-DD`, optionally followed by
/// `T` (or `t`, or a space) and `HH:MM:SS`, an optional fraction `.f…` and an optional
/// offset `Z` / `z` / `±HH:MM`. Only the shape: chrono checks the values. Without it
/// chrono reads one-digit fields and lets a format space match nothing.
fn documented_shape(b: &[u8]) -> bool {
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if !(digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10))
    {
        return false;
    }
    if b.len() == 10 {
        return true;
    }
    if !(matches!(b.get(10), Some(b'T' | b't' | b' '))
        && digits(11..13)
        && b.get(13) == Some(&b':')
        && digits(14..16)
        && b.get(16) == Some(&b':')
        && digits(17..19))
    {
        return false;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match &b[i..] {
        [] | [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit()),
        _ => false,
    }
}

/// [`any_timestamp`] under the name the tests of the shortcuts compare with.
#[cfg(test)]
pub(crate) fn timestamp_any_year(field: &[u8]) -> Option<DateTime<Utc>> {
    any_timestamp(field)
}

/// A timestamp in any accepted form (see [`documented_shape`]), whatever its year.
pub(crate) fn any_timestamp(field: &[u8]) -> Option<DateTime<Utc>> {
    let b = field.trim_ascii();
    if let Some(t) = fast_timestamp(b) {
        return Some(t);
    }
    if !documented_shape(b) {
        return None;
    }
    let s = std::str::from_utf8(b).ok()?;
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.to_utc());
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f") {
        return Some(t.and_utc());
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(t.and_utc());
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .map(|d| d.and_time(NaiveTime::MIN).and_utc())
}

/// A calendar date: `YYYY-MM-DD`, or any accepted timestamp (its UTC date), whatever
/// its year (callers check [`in_range`]).
pub(crate) fn any_date(field: &[u8]) -> Option<NaiveDate> {
    let b = field.trim_ascii();
    if b.len() == 10
        && let Some(d) = fast_date(b)
    {
        return Some(d);
    }
    any_timestamp(b).map(|t| t.date_naive())
}

/// An exact decimal (`"1234.56"`, `"-3"`; no exponent, no digit separators), without
/// going through `f64`.
pub(crate) fn decimal(field: &[u8]) -> Option<Decimal> {
    let t = field.trim_ascii();
    if let Some(d) = plain_decimal(t) {
        return Some(d);
    }
    let s = std::str::from_utf8(t).ok()?;
    crate::money::parse_decimal(s).ok()
}

/// The common form of a decimal, `[+-]digits[.digits]` with at most 18 digits, built
/// from its digits without going through text; `None` for anything else (and for a
/// negative zero), which then goes to the general parser: whenever this gives a
/// value, the general parser gives the same (mantissa, scale and sign).
#[inline]
pub(crate) fn plain_decimal(b: &[u8]) -> Option<Decimal> {
    let (negative, whole, fraction) = plain_parts(b)?;
    if whole.len() + fraction.len() > 18 {
        return None;
    }
    // At most 18 digits: below 10^18, within an `i64`.
    let m = i64::try_from(digits_value(fraction, digits_value(whole, 0)?)?).ok()?;
    if negative && m == 0 {
        return None;
    }
    let scale = u32::try_from(fraction.len()).ok()?;
    Some(Decimal::new(if negative { -m } else { m }, scale))
}

/// The sign, whole part and fraction of `[+-]whole[.fraction]` (the whole part not
/// empty, a point only with digits after it); the parts are not checked for digits.
#[inline]
fn plain_parts(b: &[u8]) -> Option<(bool, &[u8], &[u8])> {
    let (negative, digits) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    let (whole, fraction) = match digits.iter().position(|&c| c == b'.') {
        Some(p) => (&digits[..p], &digits[p + 1..]),
        None => (digits, &digits[..0]),
    };
    if whole.is_empty() || (fraction.is_empty() && whole.len() != digits.len()) {
        return None;
    }
    Some((negative, whole, fraction))
}

/// `m` followed by the ASCII digits `b` (which must fit a `u64` with it); `None` if
/// a byte is not a digit.
#[inline]
fn digits_value(b: &[u8], mut m: u64) -> Option<u64> {
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        m = m * 10 + u64::from(d);
    }
    Some(m)
}

/// A floating-point number (`"0.75"`, `"3"`, `"1e-3"`); non-finite values parse and
/// are rejected by the records' `validate()`.
pub(crate) fn float(field: &[u8]) -> Option<f64> {
    let t = field.trim_ascii();
    if let Some(v) = plain_float(t) {
        return Some(v);
    }
    std::str::from_utf8(t).ok()?.parse().ok()
}

/// The common form of a number, `[+-]digits[.digits]` whose digits make an integer
/// of at most 2^53 with at most 22 after the point, as the integer divided by a power
/// of ten: both are exact in an `f64`, so the one division is correctly rounded and
/// gives what `str::parse` gives (the value nearest the decimal, bit for bit).
/// `None` for anything else, which then goes to `str::parse`.
#[inline]
pub(crate) fn plain_float(b: &[u8]) -> Option<f64> {
    /// 10^0 to 10^22: the powers of ten an `f64` holds exactly.
    const POW10: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];
    let (negative, whole, fraction) = plain_parts(b)?;
    // Past 16 significant digits the integer is above 2^53: `str::parse` decides.
    let zeros = whole.iter().take_while(|&&c| c == b'0').count();
    if whole.len() + fraction.len() - zeros > 16 {
        return None;
    }
    let m = digits_value(fraction, digits_value(whole, 0)?)?;
    if m > 1 << 53 {
        return None;
    }
    let v = m as f64 / *POW10.get(fraction.len())?;
    Some(if negative { -v } else { v })
}

/// A non-negative integer that fits a `u32`.
pub(crate) fn unsigned(field: &[u8]) -> Option<u32> {
    u32::try_from(digits(field.trim_ascii(), 10)?).ok()
}

/// The value of 1 to `max` ASCII digits (`max` ≤ 19, so it fits a `u64`).
#[inline]
pub(crate) fn digits(b: &[u8], max: usize) -> Option<u64> {
    if b.is_empty() || b.len() > max {
        return None;
    }
    digits_value(b, 0)
}

/// The first characters of a field, for error messages (a bad field may be megabytes).
pub(crate) fn excerpt(field: &[u8]) -> String {
    use crate::error::{EXCERPT_CHARS, Excerpt};
    // Enough bytes for the characters kept, of up to four bytes each, and one more.
    let s = String::from_utf8_lossy(&field[..field.len().min(4 * EXCERPT_CHARS + 4)]);
    Excerpt(&s).to_string()
}

fn push_digits(out: &mut Vec<u8>, value: u32, width: usize) {
    let mut buf = [b'0'; 10];
    let mut v = value;
    for slot in buf[..width].iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out.extend_from_slice(&buf[..width]);
}

/// Appends `YYYY-MM-DD`.
///
/// # Errors
/// A reason, if the year is outside 0000–9999.
pub(crate) fn write_date(out: &mut Vec<u8>, d: NaiveDate) -> Result<(), String> {
    let year = u32::try_from(d.year())
        .ok()
        .filter(|y| *y <= 9999)
        .ok_or_else(|| format!("year {} cannot be written as YYYY-MM-DD", d.year()))?;
    push_digits(out, year, 4);
    out.push(b'-');
    push_digits(out, d.month(), 2);
    out.push(b'-');
    push_digits(out, d.day(), 2);
    Ok(())
}

/// Appends an RFC 3339 UTC timestamp: `YYYY-MM-DDTHH:MM:SS[.fff|.ffffff|.fffffffff]Z`
/// (as many fractional digits as the value needs, in groups of three; a leap second is
/// written as second 60).
///
/// # Errors
/// A reason, if the year is outside 0000–9999.
pub(crate) fn write_timestamp(out: &mut Vec<u8>, t: &DateTime<Utc>) -> Result<(), String> {
    write_date(out, t.date_naive())?;
    out.push(b'T');
    push_digits(out, t.hour(), 2);
    out.push(b':');
    push_digits(out, t.minute(), 2);
    out.push(b':');
    let mut nanos = t.nanosecond();
    let mut second = t.second();
    if nanos >= 1_000_000_000 {
        second += 1;
        nanos -= 1_000_000_000;
    }
    push_digits(out, second, 2);
    if nanos != 0 {
        out.push(b'.');
        if nanos.is_multiple_of(1_000_000) {
            push_digits(out, nanos / 1_000_000, 3);
        } else if nanos.is_multiple_of(1_000) {
            push_digits(out, nanos / 1_000, 6);
        } else {
            push_digits(out, nanos, 9);
        }
    }
    out.push(b'Z');
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    /// Timestamps near the canonical form: fields in and out of range, fractions of
    /// 0 to 11 digits, other separators and offsets, whitespace around.
    pub(crate) fn timestamps() -> impl Strategy<Value = Vec<u8>> {
        let two = prop_oneof![4 => 0u32..32, 1 => 0u32..100];
        let fraction = prop_oneof![3 => Just(String::new()), 1 => Just(".".to_string()),
            3 => "[0-9]{1,11}".prop_map(|d| format!(".{d}"))];
        let sep = prop_oneof![6 => Just("T"), 1 => Just("t"), 1 => Just(" "), 1 => Just("x")];
        let end = prop_oneof![6 => Just("Z"), 1 => Just("z"), 1 => Just(""), 1 => Just("+02:00"),
            1 => Just("-00:30"), 1 => Just("Z "), 1 => Just("ZZ")];
        let lead = prop_oneof![9 => Just(""), 1 => Just(" ")];
        let year = prop_oneof![4 => 1960u32..2100, 1 => 0u32..10000];
        (
            lead,
            year,
            0u32..14,
            two.clone(),
            sep,
            0u32..25,
            0u32..61,
            two,
            fraction,
            end,
        )
            .prop_map(|(lead, y, mo, d, sep, h, mi, s, f, end)| {
                format!("{lead}{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}{f}{end}")
                    .into_bytes()
            })
    }

    /// Decimal-like text: digits, signs, points, and a few other bytes.
    fn decimals() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            8 => Just(b'0'), 8 => Just(b'7'), 8 => Just(b'9'), 4 => Just(b'1'),
            2 => Just(b'.'), 1 => Just(b'-'), 1 => Just(b'+'), 1 => Just(b' '),
            1 => Just(b'e'), 1 => Just(b'_'),
        ];
        prop::collection::vec(piece, 0..32)
    }

    proptest! {
        /// The shortcut for plain decimals gives the general parser's value, to the
        /// mantissa, scale and sign; where it gives none the general parser decides.
        #[test]
        fn plain_decimals_agree_with_the_general_parser(b in decimals()) {
            let general = std::str::from_utf8(b.trim_ascii())
                .ok()
                .and_then(|s| crate::money::parse_decimal(s).ok());
            let got = decimal(&b);
            prop_assert_eq!(
                got.map(|d| (d.mantissa(), d.scale(), d.is_sign_negative())),
                general.map(|d| (d.mantissa(), d.scale(), d.is_sign_negative())),
                "{:?}", String::from_utf8_lossy(&b)
            );
        }

        /// The shortcut for plain numbers gives `str::parse`'s value, bit for bit
        /// (the sign of zero too); where it gives none `str::parse` decides.
        #[test]
        fn plain_floats_agree_with_str_parse(b in decimals()) {
            let general = std::str::from_utf8(b.trim_ascii())
                .ok()
                .and_then(|s| s.parse::<f64>().ok());
            prop_assert_eq!(float(&b).map(f64::to_bits), general.map(f64::to_bits),
                "{:?}", String::from_utf8_lossy(&b));
            if let Some(v) = plain_float(&b) {
                prop_assert_eq!(Some(v.to_bits()), general.map(f64::to_bits));
            }
        }

        /// Plain numbers of every size near the shortcut's limits (2^53, 22
        /// decimals, 19 digits) agree with `str::parse`.
        #[test]
        fn plain_floats_at_the_limits_agree_with_str_parse(
            m in prop_oneof![0u64..1000, (1u64 << 53) - 5..(1u64 << 53) + 5, any::<u64>()],
            scale in 0usize..25,
            negative in any::<bool>(),
        ) {
            let digits = m.to_string();
            let padded = format!("{digits:0>width$}", width = scale + 1);
            let (whole, fraction) = padded.split_at(padded.len() - scale);
            let sign = if negative { "-" } else { "" };
            let text = if scale == 0 { format!("{sign}{whole}") } else { format!("{sign}{whole}.{fraction}") };
            let general: f64 = text.parse().unwrap();
            prop_assert_eq!(float(text.as_bytes()).map(f64::to_bits), Some(general.to_bits()), "{}", text);
        }

        /// The canonical-form shortcut gives the general parser's instant.
        #[test]
        fn canonical_timestamps_agree_with_the_general_parser(b in timestamps()) {
            if let Some(t) = canonical_timestamp(&b) {
                prop_assert_eq!(Some(t), timestamp(&b), "{}", String::from_utf8_lossy(&b));
                prop_assert_eq!(canonical_micros(&b), Some(t.timestamp_micros()));
            }
        }
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn timestamps_in_every_accepted_form() {
        let t = utc(2026, 3, 4, 10, 11, 12);
        for s in [
            "2026-03-04T10:11:12Z",
            "2026-03-04t10:11:12z",
            " 2026-03-04T10:11:12Z ",
            "2026-03-04 10:11:12",
            "2026-03-04T10:11:12",
            "2026-03-04T12:11:12+02:00",
            "2026-03-04T07:41:12-02:30",
            "2026-03-04 10:11:12+00:00",
        ] {
            assert_eq!(timestamp(s.as_bytes()), Some(t), "{s}");
        }
        assert_eq!(
            timestamp(b"2026-03-04T10:11:12.5Z"),
            Some(t + TimeDelta::milliseconds(500))
        );
        assert_eq!(
            timestamp(b"2026-03-04T10:11:12.000000001Z"),
            Some(t + TimeDelta::nanoseconds(1))
        );
        assert_eq!(timestamp(b"2026-03-04"), Some(utc(2026, 3, 4, 0, 0, 0)));
        // A leap second goes through chrono.
        let leap = timestamp(b"2016-12-31T23:59:60Z").unwrap();
        assert_eq!(leap.second(), 59);
        assert_eq!(leap.nanosecond(), 1_000_000_000);
        for bad in [
            "",
            "2026-02-30",
            "2026-13-01T00:00:00Z",
            "2026-03-04T24:00:00Z",
            "2026-03-04T10:11",
            "2026-03-04T10:11:12.Z",
            "2026-03-04T10:11:12+2",
            "yesterday",
            "2026-03-04T10:11:12Zjunk",
            // Only the documented forms: chrono alone would read one-digit fields, and a
            // format space that matches nothing (`2-2-112:0:0` as 0002-02-11T02:00).
            "2026-3-4 10:11:12",
            "1-1-1",
            "0-03-01",
            "+9999-1-1",
            "2-2-112:0:0",
            "2026-02-01T12:0:00",
            "2026-03-04T10:11:12+0200",
            "2026-03-04T10:11:12 Z",
        ] {
            assert_eq!(timestamp(bad.as_bytes()), None, "{bad}");
            assert_eq!(any_date(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn canonical_micros_agrees_with_the_general_parser() {
        for s in [
            "2026-03-04T10:11:12Z",
            "1970-01-01T00:00:00Z",
            "1969-12-31T23:59:59.999999Z",
            "0000-01-01T00:00:00Z",
            "0000-02-29T12:00:00Z",
            "2000-02-29T23:59:59.5Z",
            "2100-02-28T01:02:03.123456789Z",
            "1600-03-01T00:00:00.1Z",
            "9999-12-31T23:59:59.999999999Z",
        ] {
            let general = timestamp(s.as_bytes()).unwrap().timestamp_micros();
            assert_eq!(canonical_micros(s.as_bytes()), Some(general), "{s}");
        }
        for s in [
            "2026-03-04",
            "2026-03-04 10:11:12",
            "2026-03-04T10:11:12+02:00",
            "2026-03-04t10:11:12z",
            "2026-02-29T00:00:00Z",
            "2100-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-03-04T24:00:00Z",
            "2016-12-31T23:59:60Z",
            "2026-03-04T10:11:12.Z",
            "2026-03-04T10:11:12.1234567890Z",
            "2026-03-04T10:11:12Zjunk",
            " 2026-03-04T10:11:12Z",
        ] {
            assert_eq!(canonical_micros(s.as_bytes()), None, "{s}");
        }
        // Every day of a leap and a common year, against chrono.
        let mut d = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
        while d.year() < 2025 {
            let s = format!("{}T06:07:08Z", d.format("%Y-%m-%d"));
            let general = timestamp(s.as_bytes()).unwrap().timestamp_micros();
            assert_eq!(canonical_micros(s.as_bytes()), Some(general), "{s}");
            d = d.succ_opt().unwrap();
        }
    }

    /// Every day of the years at the calendar's edges (0000, century and 400-year
    /// leap rules, 9999), at the start and end of the day and with fractions of 1 to
    /// 9 digits: the canonical shortcut gives the general parser's instant.
    #[test]
    fn canonical_timestamps_on_every_day_of_edge_years() {
        let times = [
            "00:00:00",
            "23:59:59",
            "12:34:56.5",
            "01:02:03.123456",
            "23:59:59.999999999",
        ];
        for year in [
            0, 1, 4, 100, 400, 1600, 1900, 1970, 2000, 2024, 2100, 9996, 9999,
        ] {
            let mut d = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
            while d.year() == year {
                for time in times {
                    let s = format!("{}T{time}Z", d.format("%Y-%m-%d"));
                    let t = canonical_timestamp(s.as_bytes());
                    assert!(t.is_some(), "{s}");
                    assert_eq!(t, timestamp_any_year(s.as_bytes()), "{s}");
                }
                match d.succ_opt() {
                    Some(next) => d = next,
                    None => break,
                }
            }
        }
        // Days that do not exist fall back (and the general parser refuses them).
        for s in [
            "0001-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2100-02-29T00:00:00Z",
        ] {
            assert_eq!(canonical_timestamp(s.as_bytes()), None, "{s}");
            assert_eq!(timestamp(s.as_bytes()), None, "{s}");
        }
    }

    #[test]
    fn dates() {
        let d = NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
        assert_eq!(any_date(b"2026-06-30"), Some(d));
        assert_eq!(any_date(b"2026-06-30T23:30:00-02:00"), d.succ_opt());
        assert_eq!(any_date(b"2026-06-31"), None);
        assert_eq!(any_date(b"30/06/2026"), None);
        let far = any_date(b"9999-12-31T23:59:59-01:00").unwrap();
        assert!(!in_range(far));
        assert_eq!(timestamp(b"9999-12-31T23:59:59-01:00"), None);
        assert_eq!(timestamp(b"+99999-01-01"), None);
        // Years of five digits or with a sign are not a documented form at all.
        assert_eq!(any_timestamp(b"+99999-01-01"), None);
    }

    #[test]
    fn numbers() {
        assert_eq!(decimal(b" 1250.10 "), Some(Decimal::new(125_010, 2)));
        assert_eq!(decimal(b"1e3"), None);
        assert_eq!(decimal(b"1_000"), None);
        assert_eq!(decimal(b"1.5."), None);
        assert_eq!(decimal(b"-.5"), Some(Decimal::new(-5, 1)));
        assert_eq!(float(b"1_0"), None);
        assert_eq!(decimal(b""), None);
        assert_eq!(unsigned(b"42"), Some(42));
        assert_eq!(unsigned(b"4294967296"), None);
        assert_eq!(unsigned(b"-1"), None);
        assert_eq!(unsigned(b"99999999999"), None);
        assert_eq!(float(b"0.75"), Some(0.75));
        assert_eq!(float(b"75%"), None);
    }

    #[test]
    fn formatting_round_trips() {
        let mut out = Vec::new();
        for t in [
            utc(2026, 3, 4, 10, 11, 12),
            utc(2026, 3, 4, 10, 11, 12) + TimeDelta::milliseconds(120),
            utc(1, 1, 1, 0, 0, 0) + TimeDelta::microseconds(7),
            utc(9999, 12, 31, 23, 59, 59) + TimeDelta::nanoseconds(999_999_999),
            timestamp(b"2016-12-31T23:59:60.25Z").unwrap(),
        ] {
            out.clear();
            write_timestamp(&mut out, &t).unwrap();
            assert_eq!(
                timestamp(&out),
                Some(t),
                "{}",
                String::from_utf8_lossy(&out)
            );
        }
        out.clear();
        write_timestamp(&mut out, &utc(2026, 3, 4, 10, 11, 12)).unwrap();
        assert_eq!(out, b"2026-03-04T10:11:12Z");
        assert!(write_timestamp(&mut out, &utc(10_000, 1, 1, 0, 0, 0)).is_err());
        assert!(write_date(&mut out, NaiveDate::from_ymd_opt(-1, 1, 1).unwrap()).is_err());
        assert_eq!(excerpt("é".repeat(50).as_bytes()).chars().count(), 41);
    }
}
