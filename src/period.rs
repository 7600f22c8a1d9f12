//! Calendar periods and time windows.

use crate::error::ErrorKind;
use std::cmp::{max, min};
use std::fmt;
use std::iter::FusedIterator;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Days, FixedOffset, NaiveDate, NaiveTime, Offset, SecondsFormat, TimeDelta,
    Utc,
};
use serde::{Deserialize, Serialize};

use crate::error::RecordRef;
use crate::{Error, Result};

// ---------------------------------------------------------------------------
// Granularity
// ---------------------------------------------------------------------------

/// The size of a reporting bucket.
///
/// Serialises in snake case (`"day"`, `"week"`, ...); [`Display`](fmt::Display)
/// and [`FromStr`] use the same words.
///
/// ```
/// use revops::Granularity;
/// let g: Granularity = "quarter".parse()?;
/// assert_eq!(g, Granularity::Quarter);
/// assert_eq!(g.to_string(), "quarter");
/// # Ok::<(), revops::Error>(())
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// One calendar day.
    Day,
    /// One ISO 8601 week, Monday to Sunday, labelled with its ISO week-numbering year.
    Week,
    /// One calendar month (the [`Default`]: the usual reporting period).
    #[default]
    Month,
    /// Three months, aligned on the calendar's fiscal year start.
    Quarter,
    /// Twelve months starting at the calendar's fiscal year start.
    Year,
}

impl Granularity {
    /// All granularities, finest first.
    pub const ALL: [Granularity; 5] = [
        Granularity::Day,
        Granularity::Week,
        Granularity::Month,
        Granularity::Quarter,
        Granularity::Year,
    ];

    /// The lowercase name used by `Display`, `FromStr` and serde.
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Day => "day",
            Granularity::Week => "week",
            Granularity::Month => "month",
            Granularity::Quarter => "quarter",
            Granularity::Year => "year",
        }
    }

    /// Length in months of a month-based granularity, `None` for day and week.
    fn months(self) -> Option<i64> {
        match self {
            Granularity::Day | Granularity::Week => None,
            Granularity::Month => Some(1),
            Granularity::Quarter => Some(3),
            Granularity::Year => Some(12),
        }
    }

    /// Whether the fiscal year start changes this granularity's buckets or labels.
    fn is_fiscal(self) -> bool {
        matches!(self, Granularity::Quarter | Granularity::Year)
    }
}

impl fmt::Display for Granularity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Granularity {
    type Err = Error;

    /// Parses `"day"`, `"week"`, `"month"`, `"quarter"` or `"year"`, ignoring
    /// ASCII case and surrounding whitespace.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) for any other text.
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim();
        Granularity::ALL
            .into_iter()
            .find(|g| g.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| {
                Error::from(ErrorKind::InvalidParameter {
                    name: "granularity",
                    value: s.to_string(),
                    reason: "expected one of day, week, month, quarter, year".to_string(),
                })
            })
    }
}

// ---------------------------------------------------------------------------
// Date arithmetic helpers (all total: no panics anywhere in chrono's range)
// ---------------------------------------------------------------------------

/// Months since year 0, January: a linear month index.
fn month_index(d: NaiveDate) -> i64 {
    i64::from(d.year()) * 12 + i64::from(d.month0())
}

/// The first day of the month with the given linear index, if representable.
fn first_of_month(index: i64) -> Option<NaiveDate> {
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = u32::try_from(index.rem_euclid(12)).ok()? + 1;
    NaiveDate::from_ymd_opt(year, month, 1)
}

/// Linear month index of the first month of the month-based bucket containing `d`.
fn bucket_first_month(d: NaiveDate, months: i64, fiscal_start: u8) -> i64 {
    let m = month_index(d);
    m - (m - i64::from(fiscal_start - 1)).rem_euclid(months)
}

/// First day of the bucket containing `d`, or `None` when it precedes `NaiveDate::MIN`.
fn natural_start(d: NaiveDate, g: Granularity, fiscal_start: u8) -> Option<NaiveDate> {
    match g {
        Granularity::Day => Some(d),
        Granularity::Week => {
            d.checked_sub_days(Days::new(u64::from(d.weekday().num_days_from_monday())))
        }
        Granularity::Month | Granularity::Quarter | Granularity::Year => {
            let months = g.months().unwrap_or(1);
            first_of_month(bucket_first_month(d, months, fiscal_start))
        }
    }
}

/// First day of the bucket after the one containing `d`, or `None` when it
/// follows `NaiveDate::MAX`.
fn next_start(d: NaiveDate, g: Granularity, fiscal_start: u8) -> Option<NaiveDate> {
    match g {
        Granularity::Day => d.succ_opt(),
        Granularity::Week => {
            d.checked_add_days(Days::new(7 - u64::from(d.weekday().num_days_from_monday())))
        }
        Granularity::Month | Granularity::Quarter | Granularity::Year => {
            let months = g.months().unwrap_or(1);
            first_of_month(bucket_first_month(d, months, fiscal_start) + months)
        }
    }
}

/// Fiscal year (named by the calendar year it ends in) of a date.
fn fiscal_year(d: NaiveDate, fiscal_start: u8) -> i32 {
    if fiscal_start > 1 && d.month() >= u32::from(fiscal_start) {
        d.year() + 1
    } else {
        d.year()
    }
}

/// The ordinal of the bucket of granularity `g` containing `d`: consecutive buckets
/// have consecutive ordinals (days since the common era, weeks since a Monday,
/// month-based buckets since year 0).
fn bucket_ordinal(d: NaiveDate, g: Granularity, fiscal_start: u8) -> i64 {
    let day = i64::from(d.num_days_from_ce());
    match g {
        Granularity::Day => day,
        // 0001-01-01 (day 1) was a Monday.
        Granularity::Week => (day - 1).div_euclid(7),
        Granularity::Month | Granularity::Quarter | Granularity::Year => {
            let months = g.months().unwrap_or(1);
            (month_index(d) - i64::from(fiscal_start - 1)).div_euclid(months)
        }
    }
}

/// Whole days from `a` to `b` (inclusive of both), assuming `a <= b`.
fn inclusive_days(a: NaiveDate, b: NaiveDate) -> u32 {
    // chrono's whole range is under 200 million days, so this always fits.
    u32::try_from(b.signed_duration_since(a).num_days() + 1).unwrap_or(0)
}

/// Writes a year as ISO 8601 does: four digits, or a sign and at least four digits.
fn write_year(f: &mut fmt::Formatter<'_>, year: i32) -> fmt::Result {
    if (0..=9999).contains(&year) {
        write!(f, "{year:04}")
    } else {
        write!(f, "{year:+05}")
    }
}

/// The instant at which `d` begins in the given offset, saturating at chrono's limits.
fn local_midnight_utc(d: NaiveDate, offset: FixedOffset) -> DateTime<Utc> {
    match d.and_time(NaiveTime::MIN).checked_sub_offset(offset) {
        Some(naive) => naive.and_utc(),
        // Only a positive offset can push the first day below the minimum,
        // and only a negative one can push the last day above the maximum.
        None if offset.local_minus_utc() > 0 => DateTime::<Utc>::MIN_UTC,
        None => DateTime::<Utc>::MAX_UTC,
    }
}

// ---------------------------------------------------------------------------
// Calendar
// ---------------------------------------------------------------------------

/// How timestamps are bucketed into periods.
///
/// - `fiscal_year_start_month` (1–12, default 1): the month the fiscal year
///   starts in. It moves quarter and year boundaries and switches their labels
///   to the `FY` form (see "Fiscal years" below for the naming convention).
///   Days, weeks and months are not affected.
/// - `utc_offset` (default UTC): a timestamp is converted to this fixed offset
///   before its date is taken. Fixed offsets have no daylight-saving rules; use
///   the offset your reporting day is defined by.
///
/// Serialises as `{"fiscal_year_start_month": 7, "utc_offset_seconds": 3600}`
/// (seconds east of UTC); both fields default when absent and are validated.
///
/// ```
/// use revops::{Calendar, Granularity};
/// use chrono::{FixedOffset, NaiveDate};
///
/// let tokyo = Calendar::new()
///     .with_fiscal_year_start(4)?
///     .with_utc_offset(FixedOffset::east_opt(9 * 3600).unwrap());
/// // 2027-03-31 20:00 UTC is already April 1st in Tokyo: a new fiscal year.
/// let at = NaiveDate::from_ymd_opt(2027, 3, 31).unwrap().and_hms_opt(20, 0, 0).unwrap().and_utc();
/// assert_eq!(tokyo.date_of(at), NaiveDate::from_ymd_opt(2027, 4, 1).unwrap());
/// assert_eq!(tokyo.period_of(at, Granularity::Year).label(), "FY2028");
/// # Ok::<(), revops::Error>(())
/// ```
///
/// Revenue metrics are reported per bucket of time: leads created per week,
/// pipeline generated per fiscal quarter, spend per month. This module decides
/// which bucket a moment belongs to, and nothing in it reads the system clock:
/// every "as of" or anchor instant is a parameter.
///
/// - [`Granularity`]: the bucket size (day, ISO week, month, quarter, year).
/// - [`Calendar`]: how timestamps are bucketed: the month a fiscal year starts
///   in and the UTC offset in which dates are read.
/// - [`Period`]: one bucket, e.g. `2026-W48` or `FY2027-Q1`.
/// - [`Window`]: a half-open interval of instants `[start, end)`.
/// - [`DateRange`]: an inclusive range of dates, as on a spend row that covers
///   "2026-01-01 to 2026-01-31".
///
/// # Fiscal years
///
/// A fiscal year is named after the calendar year in which it **ends**. With a
/// fiscal year starting in July, 2026-07-01 ..= 2027-06-30 is `FY2027`, and its
/// first quarter (July to September 2026) is `FY2027-Q1`. When the fiscal year
/// starts in January the fiscal year is the calendar year and labels carry no
/// `FY` prefix (`2026`, `2026-Q4`).
///
/// # Limits of the date range
///
/// chrono represents dates from about 262,000 BCE to 262,000 CE. Nothing here
/// panics near those limits: computations saturate instead. A period whose
/// natural first day would fall before [`NaiveDate::MIN`] starts at
/// `NaiveDate::MIN`; a period whose natural end would fall after
/// [`NaiveDate::MAX`] has `end() == NaiveDate::MAX` and
/// `last_day() == NaiveDate::MAX`, and [`Period::next`] of that period returns
/// the period itself. Windows saturate at [`DateTime::<Utc>::MIN_UTC`] and
/// [`DateTime::<Utc>::MAX_UTC`] in the same way.
///
/// ```
/// use revops::{Calendar, Granularity};
/// use chrono::NaiveDate;
///
/// let calendar = Calendar::new().with_fiscal_year_start(7)?;
/// let d = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
/// assert_eq!(calendar.period_of_date(d, Granularity::Week).label(), "2026-W48");
/// assert_eq!(calendar.period_of_date(d, Granularity::Quarter).label(), "FY2027-Q2");
/// assert_eq!(calendar.period_of_date(d, Granularity::Year).label(), "FY2027");
/// # Ok::<(), revops::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "CalendarRepr", try_from = "CalendarRepr")]
pub struct Calendar {
    fiscal_year_start_month: u8,
    utc_offset: FixedOffset,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarRepr {
    #[serde(default = "default_fiscal_start")]
    fiscal_year_start_month: u32,
    #[serde(default)]
    utc_offset_seconds: i32,
}

fn default_fiscal_start() -> u32 {
    1
}

impl From<Calendar> for CalendarRepr {
    fn from(c: Calendar) -> Self {
        CalendarRepr {
            fiscal_year_start_month: c.fiscal_year_start_month(),
            utc_offset_seconds: c.utc_offset.local_minus_utc(),
        }
    }
}

impl TryFrom<CalendarRepr> for Calendar {
    type Error = Error;

    fn try_from(r: CalendarRepr) -> Result<Self> {
        let offset = FixedOffset::east_opt(r.utc_offset_seconds).ok_or_else(|| {
            Error::from(ErrorKind::InvalidParameter {
                name: "utc_offset_seconds",
                value: r.utc_offset_seconds.to_string(),
                reason: "must be strictly between -86400 and 86400".to_string(),
            })
        })?;
        Calendar::new()
            .with_fiscal_year_start(r.fiscal_year_start_month)
            .map(|c| c.with_utc_offset(offset))
    }
}

impl Default for Calendar {
    /// Calendar years, dates taken in UTC.
    fn default() -> Self {
        Calendar {
            fiscal_year_start_month: 1,
            utc_offset: Utc.fix(),
        }
    }
}

impl Calendar {
    /// Calendar years, dates taken in UTC (same as [`Calendar::default`]).
    pub fn new() -> Self {
        Calendar::default()
    }

    /// Sets the month (1 = January ... 12 = December) in which the fiscal year starts.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) if `month` is outside `1..=12`.
    ///
    /// ```
    /// use revops::Calendar;
    /// assert_eq!(Calendar::new().with_fiscal_year_start(7)?.fiscal_year_start_month(), 7);
    /// assert!(Calendar::new().with_fiscal_year_start(13).is_err());
    /// # Ok::<(), revops::Error>(())
    /// ```
    pub fn with_fiscal_year_start(self, month: u32) -> Result<Calendar> {
        match u8::try_from(month) {
            Ok(m @ 1..=12) => Ok(Calendar {
                fiscal_year_start_month: m,
                ..self
            }),
            _ => Err(Error::from(ErrorKind::InvalidParameter {
                name: "fiscal_year_start_month",
                value: month.to_string(),
                reason: "must be a month number in 1..=12".to_string(),
            })),
        }
    }

    /// Sets the UTC offset in which timestamps are turned into dates.
    #[must_use]
    pub fn with_utc_offset(self, offset: FixedOffset) -> Calendar {
        Calendar {
            utc_offset: offset,
            ..self
        }
    }

    /// The month (1–12) in which the fiscal year starts.
    pub fn fiscal_year_start_month(&self) -> u32 {
        u32::from(self.fiscal_year_start_month)
    }

    /// The UTC offset in which timestamps are turned into dates.
    pub fn utc_offset(&self) -> FixedOffset {
        self.utc_offset
    }

    /// The date of an instant, read in the calendar's UTC offset.
    ///
    /// Saturates at [`NaiveDate::MIN`] / [`NaiveDate::MAX`] when the offset
    /// pushes the local date outside chrono's range.
    pub fn date_of(&self, at: DateTime<Utc>) -> NaiveDate {
        match at.naive_utc().checked_add_offset(self.utc_offset) {
            Some(local) => local.date(),
            None if self.utc_offset.local_minus_utc() > 0 => NaiveDate::MAX,
            None => NaiveDate::MIN,
        }
    }

    /// The period of granularity `g` that contains the instant `at`.
    ///
    /// ```
    /// use revops::{Calendar, Granularity};
    /// use chrono::NaiveDate;
    /// let at = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap().and_hms_opt(9, 0, 0).unwrap().and_utc();
    /// assert_eq!(Calendar::new().period_of(at, Granularity::Month).label(), "2026-11");
    /// ```
    pub fn period_of(&self, at: DateTime<Utc>, g: Granularity) -> Period {
        self.period_of_date(self.date_of(at), g)
    }

    /// The period of granularity `g` that contains the date `d`.
    ///
    /// ```
    /// use revops::{Calendar, Granularity};
    /// use chrono::NaiveDate;
    /// let d = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    /// let q = Calendar::new().with_fiscal_year_start(11)?.period_of_date(d, Granularity::Quarter);
    /// assert_eq!(q.start(), NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
    /// assert_eq!(q.end(), NaiveDate::from_ymd_opt(2027, 2, 1).unwrap());
    /// assert_eq!(q.label(), "FY2027-Q1");
    /// # Ok::<(), revops::Error>(())
    /// ```
    pub fn period_of_date(&self, d: NaiveDate, g: Granularity) -> Period {
        Period::containing(d, g, self.fiscal_year_start_month)
    }

    /// Every period of granularity `g` that overlaps the inclusive date range
    /// `from ..= to`, in chronological order. Empty when `to < from`.
    ///
    /// The first period may start before `from` and the last may end after `to`.
    ///
    /// ```
    /// use revops::{Calendar, Granularity};
    /// use chrono::NaiveDate;
    /// let from = NaiveDate::from_ymd_opt(2026, 1, 15).unwrap();
    /// let to = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    /// let labels: Vec<String> =
    ///     Calendar::new().periods(from, to, Granularity::Month).map(|p| p.label()).collect();
    /// assert_eq!(labels, ["2026-01", "2026-02", "2026-03"]);
    /// ```
    ///
    /// The iterator knows its length without walking the periods
    /// ([`len`](ExactSizeIterator::len) is constant-time, so a caller can check a budget
    /// before allocating), and is fused.
    ///
    /// ```
    /// use revops::{Calendar, Granularity};
    /// use chrono::NaiveDate;
    /// let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    /// let months = Calendar::new().periods(d(2026, 1, 15), d(2126, 3, 1), Granularity::Month);
    /// assert_eq!(months.len(), 100 * 12 + 3);
    /// ```
    pub fn periods(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        g: Granularity,
    ) -> impl ExactSizeIterator<Item = Period> + FusedIterator + Clone + fmt::Debug + use<> {
        Periods {
            next: (from <= to).then(|| self.period_of_date(from, g)),
            last: to,
        }
    }

    /// The fiscal year containing `d`, named by the calendar year in which it ends.
    ///
    /// ```
    /// use revops::Calendar;
    /// use chrono::NaiveDate;
    /// let july = Calendar::new().with_fiscal_year_start(7)?;
    /// assert_eq!(july.fiscal_year_of(NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()), 2027);
    /// assert_eq!(july.fiscal_year_of(NaiveDate::from_ymd_opt(2026, 6, 30).unwrap()), 2026);
    /// assert_eq!(Calendar::new().fiscal_year_of(NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()), 2026);
    /// # Ok::<(), revops::Error>(())
    /// ```
    pub fn fiscal_year_of(&self, d: NaiveDate) -> i32 {
        fiscal_year(d, self.fiscal_year_start_month)
    }
}

// ---------------------------------------------------------------------------
// Period
// ---------------------------------------------------------------------------

/// One reporting bucket: a day, an ISO week, a month, a (fiscal) quarter or a
/// (fiscal) year.
///
/// Obtain one from [`Calendar::period_of`], [`Calendar::period_of_date`] or
/// [`Calendar::periods`]. A period is small and `Copy`: it stores its
/// granularity, its first day and, for quarters and years, the fiscal year
/// start month (normalised to 1 for days, weeks and months, so that equal
/// buckets compare equal whatever the calendar's fiscal setting).
///
/// Periods order by their first day (then by granularity). `Display` writes
/// [`Period::label`].
///
/// Serialises as `{"start": "2026-11-01", "granularity": "month",
/// "fiscal_year_start_month": 1}`; deserialising checks that `start` is the
/// first day of such a period.
///
/// ```
/// use revops::{Calendar, Granularity};
/// use chrono::NaiveDate;
/// let feb = Calendar::new().period_of_date(NaiveDate::from_ymd_opt(2024, 2, 10).unwrap(), Granularity::Month);
/// assert_eq!(feb.days(), 29);
/// assert_eq!(feb.last_day(), NaiveDate::from_ymd_opt(2024, 2, 29).unwrap());
/// assert_eq!(feb.next().label(), "2024-03");
/// assert_eq!(feb.prev().label(), "2024-01");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "PeriodRepr")]
pub struct Period {
    start: NaiveDate,
    granularity: Granularity,
    fiscal_year_start_month: u8,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PeriodRepr {
    start: NaiveDate,
    granularity: Granularity,
    #[serde(default = "default_fiscal_start")]
    fiscal_year_start_month: u32,
}

impl TryFrom<PeriodRepr> for Period {
    type Error = Error;

    fn try_from(r: PeriodRepr) -> Result<Self> {
        let calendar = Calendar::new().with_fiscal_year_start(r.fiscal_year_start_month)?;
        let p = calendar.period_of_date(r.start, r.granularity);
        if p.start != r.start {
            return Err(Error::from(ErrorKind::InvalidField {
                record: RecordRef::new("period"),
                field: "start",
                reason: format!(
                    "{} is not the first day of a {} period (that period starts on {})",
                    r.start, r.granularity, p.start
                ),
            }));
        }
        Ok(p)
    }
}

impl Period {
    /// The longest span of days the crate expands into per-day or per-period tables
    /// (2^20 days, about 2,870 years): a funnel report's instants
    /// ([`crate::funnel::cohort_report`], [`crate::funnel::flow_report`]) and, by default, one spend
    /// row ([`crate::cost::SpendAlignment::max_span_days`]). Longer spans are errors: they
    /// are a sign of a bad timestamp, and their tables would take gigabytes.
    pub const MAX_SPAN_DAYS: u32 = 1 << 20;

    fn containing(d: NaiveDate, g: Granularity, fiscal_start: u8) -> Period {
        let fiscal_start = if g.is_fiscal() { fiscal_start } else { 1 };
        Period {
            start: natural_start(d, g, fiscal_start).unwrap_or(NaiveDate::MIN),
            granularity: g,
            fiscal_year_start_month: fiscal_start,
        }
    }

    /// First day after the period, `None` past `NaiveDate::MAX`.
    fn checked_end(&self) -> Option<NaiveDate> {
        next_start(self.start, self.granularity, self.fiscal_year_start_month)
    }

    /// The period's granularity.
    pub fn granularity(&self) -> Granularity {
        self.granularity
    }

    /// The fiscal year start month the period was built with (1 for days, weeks and months).
    pub fn fiscal_year_start_month(&self) -> u32 {
        u32::from(self.fiscal_year_start_month)
    }

    /// The first day of the period.
    pub fn start(&self) -> NaiveDate {
        self.start
    }

    /// The first day of the next period (the period is `start() .. end()`, end exclusive).
    ///
    /// Saturates at [`NaiveDate::MAX`] for the last representable period, whose
    /// `end()` is then inside it; use [`Period::last_day`] to be exact there.
    pub fn end(&self) -> NaiveDate {
        self.checked_end().unwrap_or(NaiveDate::MAX)
    }

    /// The last day of the period (inclusive).
    pub fn last_day(&self) -> NaiveDate {
        self.checked_end()
            .and_then(|d| d.pred_opt())
            .unwrap_or(NaiveDate::MAX)
    }

    /// Number of days in the period.
    pub fn days(&self) -> u32 {
        inclusive_days(self.start, self.last_day())
    }

    /// Whether the date `d` falls in the period.
    pub fn contains_date(&self, d: NaiveDate) -> bool {
        self.start <= d && d <= self.last_day()
    }

    /// The following period, or `None` if it would start after [`NaiveDate::MAX`].
    pub fn checked_next(&self) -> Option<Period> {
        self.checked_end().map(|start| Period { start, ..*self })
    }

    /// The preceding period, or `None` if it would end before [`NaiveDate::MIN`].
    pub fn checked_prev(&self) -> Option<Period> {
        self.start
            .pred_opt()
            .map(|d| Period::containing(d, self.granularity, self.fiscal_year_start_month))
    }

    /// The following period; the last representable period returns itself.
    #[must_use]
    pub fn next(&self) -> Period {
        self.checked_next().unwrap_or(*self)
    }

    /// The preceding period; the first representable period returns itself.
    #[must_use]
    pub fn prev(&self) -> Period {
        self.checked_prev().unwrap_or(*self)
    }

    /// The period's label:
    ///
    /// | granularity | calendar year | fiscal year starting in July |
    /// |-------------|---------------|------------------------------|
    /// | day         | `2026-11-23`  | `2026-11-23`                 |
    /// | week        | `2026-W48`    | `2026-W48`                   |
    /// | month       | `2026-11`     | `2026-11`                    |
    /// | quarter     | `2026-Q4`     | `FY2027-Q2`                  |
    /// | year        | `2026`        | `FY2027`                     |
    ///
    /// Weeks carry their ISO week-numbering year, which can differ from the
    /// calendar year near January 1st (2024-12-30 is in `2025-W01`). Fiscal
    /// years are named by the calendar year in which they end. Years outside
    /// 0..=9999 are written with a sign, as in ISO 8601 (`+10000-01`).
    pub fn label(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.start;
        let fiscal = self.fiscal_year_start_month;
        match self.granularity {
            Granularity::Day => {
                write_year(f, s.year())?;
                write!(f, "-{:02}-{:02}", s.month(), s.day())
            }
            Granularity::Week => {
                let w = s.iso_week();
                write_year(f, w.year())?;
                write!(f, "-W{:02}", w.week())
            }
            Granularity::Month => {
                write_year(f, s.year())?;
                write!(f, "-{:02}", s.month())
            }
            Granularity::Quarter if fiscal == 1 => {
                write_year(f, s.year())?;
                write!(f, "-Q{}", s.month0() / 3 + 1)
            }
            Granularity::Quarter => {
                let q = (i64::from(s.month0()) - i64::from(fiscal - 1)).rem_euclid(12) / 3 + 1;
                f.write_str("FY")?;
                write_year(f, fiscal_year(s, fiscal))?;
                write!(f, "-Q{q}")
            }
            Granularity::Year if fiscal == 1 => write_year(f, s.year()),
            Granularity::Year => {
                f.write_str("FY")?;
                write_year(f, fiscal_year(s, fiscal))
            }
        }
    }
}

/// Iterator over consecutive periods, behind [`Calendar::periods`] and
/// [`DateRange::periods`] (which return it as an `impl ExactSizeIterator`).
#[derive(Debug, Clone)]
struct Periods {
    next: Option<Period>,
    last: NaiveDate,
}

impl Periods {
    /// The number of periods left, computed without walking them (so a caller can
    /// check a budget before allocating): a range of `n` days has at most `n`.
    fn remaining(&self) -> u64 {
        let Some(p) = self.next else { return 0 };
        let (g, fiscal) = (p.granularity, p.fiscal_year_start_month);
        let first = bucket_ordinal(p.start, g, fiscal);
        let last = bucket_ordinal(self.last, g, fiscal);
        u64::try_from(last - first + 1).unwrap_or(0)
    }
}

impl Iterator for Periods {
    type Item = Period;

    fn next(&mut self) -> Option<Period> {
        let p = self.next?;
        self.next = if p.last_day() >= self.last {
            None
        } else {
            p.checked_next()
        };
        Some(p)
    }

    /// Exact: the count of the periods left is known without walking them.
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.remaining()).unwrap_or(usize::MAX);
        (n, Some(n))
    }
}

// `len` counts the periods in constant time (see `remaining`).
impl ExactSizeIterator for Periods {}

impl FusedIterator for Periods {}

/// The span limit, [`Period::MAX_SPAN_DAYS`], for the crate's own use.
pub(crate) const MAX_SPAN_DAYS: u32 = Period::MAX_SPAN_DAYS;

// ---------------------------------------------------------------------------
// Window
// ---------------------------------------------------------------------------

/// A half-open interval of instants, `[start, end)`.
///
/// `start == end` is allowed and gives an empty window. Serialises as
/// `{"start": "...Z", "end": "...Z"}` (RFC 3339); deserialising rejects a
/// window that ends before it starts.
///
/// ```
/// use revops::Window;
/// use chrono::{NaiveDate, TimeDelta};
/// let t = |h| NaiveDate::from_ymd_opt(2026, 11, 23).unwrap().and_hms_opt(h, 0, 0).unwrap().and_utc();
/// let w = Window::new(t(9), t(17))?;
/// assert_eq!(w.duration(), TimeDelta::hours(8));
/// assert!(w.contains(t(9)) && !w.contains(t(17)));
/// assert_eq!(w.overlap(&Window::new(t(12), t(20))?), Some(Window::new(t(12), t(17))?));
/// # Ok::<(), revops::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "WindowRepr")]
pub struct Window {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowRepr {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl TryFrom<WindowRepr> for Window {
    type Error = Error;

    fn try_from(r: WindowRepr) -> Result<Self> {
        Window::new(r.start, r.end)
    }
}

impl Window {
    /// The window `[start, end)`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidPeriod`](crate::error::ErrorKind::InvalidPeriod) (record `"window"`) if `end < start`.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Window> {
        if end < start {
            return Err(Error::from(ErrorKind::InvalidPeriod {
                record: RecordRef::new("window"),
                start: start.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                end: end.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            }));
        }
        Ok(Window { start, end })
    }

    /// The window that looks back `duration` from `anchor`: start
    /// `anchor - duration`, end `anchor`.
    ///
    /// **Edge rule.** A lookback is meant to include *both* edges: an event
    /// exactly `duration` before the anchor, and an event at the anchor itself
    /// (a touch recorded in the same instant as the conversion), both count.
    /// Test membership with [`Window::contains_inclusive_end`]; the half-open
    /// [`Window::contains`] excludes the anchor. The start saturates at
    /// [`DateTime::<Utc>::MIN_UTC`].
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) if `duration` is negative.
    ///
    /// ```
    /// use revops::Window;
    /// use chrono::{NaiveDate, TimeDelta};
    /// let conversion = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap().and_hms_opt(12, 0, 0).unwrap().and_utc();
    /// let w = Window::lookback(conversion, TimeDelta::days(30))?;
    /// assert!(w.contains_inclusive_end(conversion));
    /// assert!(w.contains_inclusive_end(conversion - TimeDelta::days(30)));
    /// assert!(!w.contains_inclusive_end(conversion - TimeDelta::days(31)));
    /// # Ok::<(), revops::Error>(())
    /// ```
    pub fn lookback(anchor: DateTime<Utc>, duration: TimeDelta) -> Result<Window> {
        if duration < TimeDelta::zero() {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "duration",
                value: duration.to_string(),
                reason: "a lookback duration must not be negative".to_string(),
            }));
        }
        let start = anchor
            .checked_sub_signed(duration)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        Ok(Window { start, end: anchor })
    }

    /// The instants of a period: from midnight of its first day to midnight of
    /// the day after its last day, both read in the calendar's UTC offset and
    /// converted to UTC. Only the calendar's offset is used (the period already
    /// knows its fiscal alignment). Saturates at chrono's limits.
    ///
    /// ```
    /// use revops::{Calendar, Granularity, Window};
    /// use chrono::{FixedOffset, NaiveDate, TimeDelta};
    /// let paris = Calendar::new().with_utc_offset(FixedOffset::east_opt(3600).unwrap());
    /// let day = paris.period_of_date(NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(), Granularity::Day);
    /// let w = Window::for_period(&day, &paris);
    /// assert_eq!(w.start(), NaiveDate::from_ymd_opt(2026, 11, 22).unwrap().and_hms_opt(23, 0, 0).unwrap().and_utc());
    /// assert_eq!(w.duration(), TimeDelta::days(1));
    /// ```
    pub fn for_period(period: &Period, calendar: &Calendar) -> Window {
        let offset = calendar.utc_offset();
        let start = local_midnight_utc(period.start(), offset);
        let end = period
            .checked_end()
            .map_or(DateTime::<Utc>::MAX_UTC, |d| local_midnight_utc(d, offset));
        Window {
            start,
            end: max(start, end),
        }
    }

    /// The first instant of the window (included).
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// The end of the window (excluded by [`Window::contains`]).
    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// `end - start`.
    pub fn duration(&self) -> TimeDelta {
        // chrono's full instant range spans far less than TimeDelta's range.
        self.end.signed_duration_since(self.start)
    }

    /// Whether the window is empty (`start == end`).
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Whether `start <= at < end`.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.end
    }

    /// Whether `start <= at <= end`: the closed interval, as used by
    /// [`Window::lookback`].
    pub fn contains_inclusive_end(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at <= self.end
    }

    /// The intersection of two windows, or `None` when it is empty (windows
    /// that merely touch, `[a, b)` and `[b, c)`, do not overlap; neither does an
    /// empty window).
    pub fn overlap(&self, other: &Window) -> Option<Window> {
        let start = max(self.start, other.start);
        let end = min(self.end, other.end);
        (start < end).then_some(Window { start, end })
    }
}

// ---------------------------------------------------------------------------
// DateRange
// ---------------------------------------------------------------------------

/// An inclusive range of dates `first ..= last`, as on a spend row that covers
/// "2026-01-01 to 2026-01-31".
///
/// Serialises as `{"first": "2026-01-01", "last": "2026-01-31"}`; deserialising
/// rejects a range whose last day precedes its first.
///
/// ```
/// use revops::{Calendar, DateRange, Granularity};
/// use chrono::NaiveDate;
/// let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
/// let r = DateRange::new(d(1, 20), d(2, 10))?;
/// assert_eq!(r.days(), 22);
/// let split: Vec<(String, u32)> = r
///     .periods(&Calendar::new(), Granularity::Month)
///     .map(|p| (p.label(), r.overlap_days(&p)))
///     .collect();
/// assert_eq!(split, [("2026-01".to_string(), 12), ("2026-02".to_string(), 10)]);
/// # Ok::<(), revops::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "DateRangeRepr")]
pub struct DateRange {
    first: NaiveDate,
    last: NaiveDate,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DateRangeRepr {
    first: NaiveDate,
    last: NaiveDate,
}

impl TryFrom<DateRangeRepr> for DateRange {
    type Error = Error;

    fn try_from(r: DateRangeRepr) -> Result<Self> {
        DateRange::new(r.first, r.last)
    }
}

/// A period's days as a range (its first to its last day).
///
/// ```
/// use revops::{Calendar, DateRange, Granularity};
/// use chrono::NaiveDate;
/// let q = Calendar::new().period_of_date(NaiveDate::from_ymd_opt(2026, 5, 9).unwrap(), Granularity::Quarter);
/// let r = DateRange::from(q);
/// assert_eq!((r.first(), r.last()), (q.start(), q.last_day()));
/// assert_eq!(r.days(), 91);
/// ```
impl From<Period> for DateRange {
    fn from(p: Period) -> DateRange {
        DateRange {
            first: p.start(),
            last: p.last_day(),
        }
    }
}

impl DateRange {
    /// The dates `first ..= last`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidPeriod`](crate::error::ErrorKind::InvalidPeriod) (record `"date range"`) if `last < first`.
    pub fn new(first: NaiveDate, last: NaiveDate) -> Result<DateRange> {
        if last < first {
            return Err(Error::from(ErrorKind::InvalidPeriod {
                record: RecordRef::new("date range"),
                start: first.to_string(),
                end: last.to_string(),
            }));
        }
        Ok(DateRange { first, last })
    }

    /// The first day (included).
    pub fn first(&self) -> NaiveDate {
        self.first
    }

    /// The last day (included).
    pub fn last(&self) -> NaiveDate {
        self.last
    }

    /// Number of days in the range (at least 1).
    pub fn days(&self) -> u32 {
        inclusive_days(self.first, self.last)
    }

    /// Whether `d` is in the range.
    pub fn contains(&self, d: NaiveDate) -> bool {
        self.first <= d && d <= self.last
    }

    /// Number of days the range shares with `period` (0 if they are disjoint).
    pub fn overlap_days(&self, period: &Period) -> u32 {
        let lo = max(self.first, period.start());
        let hi = min(self.last, period.last_day());
        if lo <= hi { inclusive_days(lo, hi) } else { 0 }
    }

    /// The periods of granularity `g` that overlap the range, in order
    /// (same as `calendar.periods(first, last, g)`).
    pub fn periods(
        &self,
        calendar: &Calendar,
        g: Granularity,
    ) -> impl ExactSizeIterator<Item = Period> + FusedIterator + Clone + fmt::Debug + use<> {
        calendar.periods(self.first, self.last, g)
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    fn fiscal(month: u32) -> Calendar {
        Calendar::new()
            .with_fiscal_year_start(month)
            .expect("valid month")
    }

    fn label(c: &Calendar, date: NaiveDate, g: Granularity) -> String {
        c.period_of_date(date, g).label()
    }

    #[test]
    fn granularity_parse_display_serde() {
        for g in Granularity::ALL {
            assert_eq!(g.to_string().parse::<Granularity>(), Ok(g));
            let json = serde_json::to_string(&g).expect("serialise");
            assert_eq!(json, format!("\"{g}\""));
        }
        assert_eq!(" Week ".parse::<Granularity>(), Ok(Granularity::Week));
        assert!(matches!(
            "fortnight"
                .parse::<Granularity>()
                .map_err(|e| e.into_kind()),
            Err(ErrorKind::InvalidParameter {
                name: "granularity",
                ..
            })
        ));
    }

    #[test]
    fn iso_week_edges() {
        let c = Calendar::new();
        assert_eq!(label(&c, d(2020, 12, 31), Granularity::Week), "2020-W53");
        assert_eq!(label(&c, d(2021, 1, 3), Granularity::Week), "2020-W53");
        assert_eq!(label(&c, d(2021, 1, 4), Granularity::Week), "2021-W01");
        assert_eq!(label(&c, d(2024, 12, 30), Granularity::Week), "2025-W01");
        assert_eq!(label(&c, d(2026, 11, 23), Granularity::Week), "2026-W48");
        let w = c.period_of_date(d(2021, 1, 3), Granularity::Week);
        assert_eq!(w.start(), d(2020, 12, 28));
        assert_eq!(w.end(), d(2021, 1, 4));
        assert_eq!(w.days(), 7);
    }

    #[test]
    fn fiscal_quarters() {
        let april = fiscal(4);
        let q = april.period_of_date(d(2026, 5, 15), Granularity::Quarter);
        assert_eq!((q.start(), q.end()), (d(2026, 4, 1), d(2026, 7, 1)));
        assert_eq!(q.label(), "FY2027-Q1");
        assert_eq!(
            label(&april, d(2027, 3, 31), Granularity::Quarter),
            "FY2027-Q4"
        );
        assert_eq!(label(&april, d(2027, 3, 31), Granularity::Year), "FY2027");

        let july = fiscal(7);
        assert_eq!(
            label(&july, d(2026, 7, 1), Granularity::Quarter),
            "FY2027-Q1"
        );
        assert_eq!(
            label(&july, d(2026, 6, 30), Granularity::Quarter),
            "FY2026-Q4"
        );
        assert_eq!(
            label(&july, d(2027, 1, 1), Granularity::Quarter),
            "FY2027-Q3"
        );
        let y = july.period_of_date(d(2026, 12, 25), Granularity::Year);
        assert_eq!((y.start(), y.last_day()), (d(2026, 7, 1), d(2027, 6, 30)));
        assert_eq!(y.label(), "FY2027");

        let november = fiscal(11);
        let q = november.period_of_date(d(2027, 1, 31), Granularity::Quarter);
        assert_eq!((q.start(), q.end()), (d(2026, 11, 1), d(2027, 2, 1)));
        assert_eq!(q.label(), "FY2027-Q1");
        assert_eq!(q.next().label(), "FY2027-Q2");
        assert_eq!(q.prev().label(), "FY2026-Q4");
        assert_eq!(q.prev().start(), d(2026, 8, 1));
        assert_eq!(
            label(&november, d(2026, 10, 31), Granularity::Year),
            "FY2026"
        );
        assert_eq!(
            label(&november, d(2026, 11, 1), Granularity::Year),
            "FY2027"
        );
    }

    #[test]
    fn calendar_labels() {
        let c = Calendar::new();
        let date = d(2026, 11, 23);
        assert_eq!(label(&c, date, Granularity::Day), "2026-11-23");
        assert_eq!(label(&c, date, Granularity::Month), "2026-11");
        assert_eq!(label(&c, date, Granularity::Quarter), "2026-Q4");
        assert_eq!(label(&c, date, Granularity::Year), "2026");
        assert_eq!(label(&c, d(5, 1, 1), Granularity::Day), "0005-01-01");
        assert_eq!(label(&c, d(10000, 3, 1), Granularity::Month), "+10000-03");
        assert_eq!(label(&c, d(-1, 3, 1), Granularity::Year), "-0001");
        assert_eq!(
            c.period_of_date(date, Granularity::Month).to_string(),
            "2026-11"
        );
    }

    #[test]
    fn non_fiscal_granularities_ignore_fiscal_start() {
        let date = d(2026, 11, 23);
        for g in [Granularity::Day, Granularity::Week, Granularity::Month] {
            assert_eq!(
                fiscal(7).period_of_date(date, g),
                Calendar::new().period_of_date(date, g)
            );
        }
    }

    #[test]
    fn utc_offset_moves_the_date() {
        let at = d(2026, 11, 23).and_hms_opt(23, 30, 0).unwrap().and_utc();
        let east = Calendar::new().with_utc_offset(FixedOffset::east_opt(3600).unwrap());
        assert_eq!(east.date_of(at), d(2026, 11, 24));
        let early = d(2026, 11, 23).and_hms_opt(2, 0, 0).unwrap().and_utc();
        let west = Calendar::new().with_utc_offset(FixedOffset::west_opt(5 * 3600).unwrap());
        assert_eq!(west.date_of(early), d(2026, 11, 22));
        assert_eq!(Calendar::new().date_of(early), d(2026, 11, 23));
        // Month boundary: 2026-12-31 20:00 UTC is already January in UTC+5.
        let nye = d(2026, 12, 31).and_hms_opt(20, 0, 0).unwrap().and_utc();
        let plus5 = Calendar::new().with_utc_offset(FixedOffset::east_opt(5 * 3600).unwrap());
        assert_eq!(plus5.period_of(nye, Granularity::Year).label(), "2027");
    }

    #[test]
    fn leap_years() {
        let c = Calendar::new();
        assert_eq!(
            c.period_of_date(d(2024, 2, 1), Granularity::Month).days(),
            29
        );
        assert_eq!(
            c.period_of_date(d(2023, 2, 1), Granularity::Month).days(),
            28
        );
        assert_eq!(
            c.period_of_date(d(2100, 2, 1), Granularity::Month).days(),
            28
        );
        assert_eq!(
            c.period_of_date(d(2000, 2, 1), Granularity::Month).days(),
            29
        );
        assert_eq!(
            c.period_of_date(d(2024, 6, 1), Granularity::Year).days(),
            366
        );
        assert_eq!(
            c.period_of_date(d(2024, 2, 29), Granularity::Quarter)
                .days(),
            91
        );
        // Fiscal year from March 2023 contains 2024-02-29.
        assert_eq!(
            fiscal(3)
                .period_of_date(d(2023, 6, 1), Granularity::Year)
                .days(),
            366
        );
    }

    #[test]
    fn periods_iteration() {
        let c = Calendar::new();
        assert_eq!(
            c.periods(d(2026, 1, 2), d(2026, 1, 1), Granularity::Day)
                .count(),
            0
        );
        let days: Vec<_> = c
            .periods(d(2026, 1, 1), d(2026, 1, 1), Granularity::Day)
            .collect();
        assert_eq!(days.len(), 1);
        let weeks: Vec<_> = c
            .periods(d(2026, 1, 1), d(2026, 1, 31), Granularity::Week)
            .map(|p| p.label())
            .collect();
        assert_eq!(
            weeks,
            ["2026-W01", "2026-W02", "2026-W03", "2026-W04", "2026-W05"]
        );
    }

    #[test]
    fn extreme_dates_do_not_panic() {
        for fy in 1..=12 {
            let c = fiscal(fy);
            for g in Granularity::ALL {
                for date in [NaiveDate::MIN, NaiveDate::MAX] {
                    let p = c.period_of_date(date, g);
                    assert!(p.contains_date(date));
                    let _ = (p.next(), p.prev(), p.label(), p.days(), p.end());
                    let _ = Window::for_period(&p, &c);
                }
                assert_eq!(c.period_of_date(NaiveDate::MAX, g).checked_next(), None);
                assert_eq!(c.period_of_date(NaiveDate::MIN, g).checked_prev(), None);
                assert_eq!(
                    c.periods(NaiveDate::MIN, NaiveDate::MIN, g).count(),
                    1,
                    "{g}"
                );
            }
        }
        let east = Calendar::new().with_utc_offset(FixedOffset::east_opt(86_399).unwrap());
        assert_eq!(east.date_of(DateTime::<Utc>::MAX_UTC), NaiveDate::MAX);
        let west = Calendar::new().with_utc_offset(FixedOffset::west_opt(86_399).unwrap());
        assert_eq!(west.date_of(DateTime::<Utc>::MIN_UTC), NaiveDate::MIN);
        let w = Window::lookback(DateTime::<Utc>::MIN_UTC, TimeDelta::days(1)).unwrap();
        assert!(w.is_empty());
        let all = Window::new(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC).unwrap();
        assert!(all.duration() > TimeDelta::zero());
    }

    #[test]
    fn windows() {
        let t = |h| d(2026, 11, 23).and_hms_opt(h, 0, 0).unwrap().and_utc();
        assert!(matches!(
            Window::new(t(2), t(1)).map_err(|e| e.into_kind()),
            Err(ErrorKind::InvalidPeriod { record, .. }) if record.kind == "window"
        ));
        let empty = Window::new(t(1), t(1)).unwrap();
        assert!(empty.is_empty() && !empty.contains(t(1)));
        assert_eq!(empty.overlap(&Window::new(t(0), t(2)).unwrap()), None);
        let a = Window::new(t(1), t(3)).unwrap();
        let b = Window::new(t(3), t(5)).unwrap();
        assert_eq!(a.overlap(&b), None);
        assert!(a.contains_inclusive_end(t(3)) && !a.contains(t(3)));
        assert!(matches!(
            Window::lookback(t(1), TimeDelta::seconds(-1)).map_err(|e| e.into_kind()),
            Err(ErrorKind::InvalidParameter {
                name: "duration",
                ..
            })
        ));
        let lb = Window::lookback(t(10), TimeDelta::hours(2)).unwrap();
        assert_eq!((lb.start(), lb.end()), (t(8), t(10)));
    }

    #[test]
    fn date_ranges() {
        assert!(matches!(
            DateRange::new(d(2026, 1, 2), d(2026, 1, 1)).map_err(|e| e.into_kind()),
            Err(ErrorKind::InvalidPeriod { record, .. }) if record.kind == "date range"
        ));
        let r = DateRange::new(d(2026, 1, 1), d(2026, 1, 31)).unwrap();
        assert_eq!(r.days(), 31);
        assert!(r.contains(d(2026, 1, 31)) && !r.contains(d(2026, 2, 1)));
        let q = fiscal(11).period_of_date(d(2026, 1, 1), Granularity::Quarter);
        assert_eq!(r.overlap_days(&q), 31);
        assert_eq!(r.overlap_days(&q.next()), 0);
    }

    #[test]
    fn serde_validation() {
        let c: Calendar = serde_json::from_str("{}").unwrap();
        assert_eq!(c, Calendar::new());
        let c: Calendar =
            serde_json::from_str(r#"{"fiscal_year_start_month":7,"utc_offset_seconds":-18000}"#)
                .unwrap();
        assert_eq!(c.fiscal_year_start_month(), 7);
        assert_eq!(c.utc_offset().local_minus_utc(), -18000);
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"fiscal_year_start_month":7,"utc_offset_seconds":-18000}"#
        );
        assert!(serde_json::from_str::<Calendar>(r#"{"fiscal_year_start_month":0}"#).is_err());
        assert!(serde_json::from_str::<Calendar>(r#"{"utc_offset_seconds":86400}"#).is_err());

        let p = fiscal(7).period_of_date(d(2026, 8, 1), Granularity::Quarter);
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(
            json,
            r#"{"start":"2026-07-01","granularity":"quarter","fiscal_year_start_month":7}"#
        );
        assert_eq!(serde_json::from_str::<Period>(&json).unwrap(), p);
        assert!(
            serde_json::from_str::<Period>(
                r#"{"start":"2026-08-01","granularity":"quarter","fiscal_year_start_month":7}"#
            )
            .is_err()
        );
        assert!(
            serde_json::from_str::<Period>(r#"{"start":"2026-11-24","granularity":"week"}"#)
                .is_err()
        );

        assert!(
            serde_json::from_str::<Window>(
                r#"{"start":"2026-01-02T00:00:00Z","end":"2026-01-01T00:00:00Z"}"#
            )
            .is_err()
        );
        assert!(
            serde_json::from_str::<DateRange>(r#"{"first":"2026-01-02","last":"2026-01-01"}"#)
                .is_err()
        );
    }
}
