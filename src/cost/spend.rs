//! Spend alignment: spend rows over arbitrary date ranges, allocated to reporting
//! periods pro rata by days, exactly; currency conversion through an explicit FX table.

use crate::error::ErrorKind;
use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, RecordRef, Result};
use crate::ids::{CampaignId, Channel};
use crate::money::{Currency, Money};
use crate::period::{Calendar, Granularity, MAX_SPAN_DAYS, Period};
use crate::records::Spend;

/// Exchange rates per currency pair per date (Decimal, never `f64`).
///
/// `rate(from, to, date)` is the rate of the latest quote for `from → to` on or before
/// `date`; when only `to → from` is quoted, its inverse is used (rounded to 28
/// significant digits). There is no triangulation through a third currency: quote
/// every pair you need. Converting rounds the result to the target currency's minor
/// units (half to even).
///
/// ```
/// use revops::{Currency, cost::FxTable, Money};
/// use chrono::NaiveDate;
/// # fn main() -> Result<(), revops::Error> {
/// let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
/// let mut fx = FxTable::new();
/// fx.add_rate(Currency::EUR, Currency::USD, d(1, 1), "1.10".parse().unwrap())?;
/// fx.add_rate(Currency::EUR, Currency::USD, d(2, 1), "1.20".parse().unwrap())?;
/// let eur = Money::parse("100.00", Currency::EUR)?;
/// assert_eq!(fx.convert(&eur, Currency::USD, d(1, 15))?, Money::parse("110.00", Currency::USD)?);
/// assert_eq!(fx.convert(&eur, Currency::USD, d(2, 15))?, Money::parse("120.00", Currency::USD)?);
/// assert!(fx.convert(&eur, Currency::GBP, d(2, 15)).is_err()); // no quote
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FxTable {
    /// `(from, to)` → quotes sorted by date.
    quotes: BTreeMap<(Currency, Currency), Vec<(NaiveDate, Decimal)>>,
}

impl FxTable {
    /// An empty table.
    pub fn new() -> FxTable {
        FxTable::default()
    }

    /// Adds (or replaces) the quote `1 from = rate to` valid from `date` on.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) for a rate that is not strictly positive or a pair
    /// of one currency with itself.
    pub fn add_rate(
        &mut self,
        from: Currency,
        to: Currency,
        date: NaiveDate,
        rate: Decimal,
    ) -> Result<()> {
        if rate <= Decimal::ZERO {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "fx rate",
                value: format!("{from}->{to} {date}: {rate}"),
                reason: "a rate must be strictly positive".into(),
            }));
        }
        if from == to {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "fx rate",
                value: format!("{from}->{to}"),
                reason: "a currency converts to itself at 1".into(),
            }));
        }
        let q = self.quotes.entry((from, to)).or_default();
        match q.binary_search_by_key(&date, |(d, _)| *d) {
            Ok(i) => q[i].1 = rate,
            Err(i) => q.insert(i, (date, rate)),
        }
        Ok(())
    }

    /// The rate `from → to` on `date` (1 for the same currency), if quoted.
    pub fn rate(&self, from: Currency, to: Currency, date: NaiveDate) -> Option<Decimal> {
        if from == to {
            return Some(Decimal::ONE);
        }
        let latest = |q: &Vec<(NaiveDate, Decimal)>| {
            let i = q.partition_point(|(d, _)| *d <= date);
            (i > 0).then(|| q[i - 1].1)
        };
        if let Some(r) = self.quotes.get(&(from, to)).and_then(latest) {
            return Some(r);
        }
        self.quotes
            .get(&(to, from))
            .and_then(latest)
            .and_then(|r| Decimal::ONE.checked_div(r))
    }

    /// Converts `amount` to `to` at the rate on `date`, rounded to `to`'s minor units.
    ///
    /// # Errors
    /// [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch) naming both currencies when no rate is quoted;
    /// [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
    pub fn convert(&self, amount: &Money, to: Currency, date: NaiveDate) -> Result<Money> {
        if amount.currency() == to {
            return Ok(*amount);
        }
        let rate = self.rate(amount.currency(), to, date).ok_or_else(|| {
            Error::from(ErrorKind::CurrencyMismatch {
                expected: to.to_string(),
                got: format!("{} (no FX rate on or before {date})", amount.currency()),
            })
        })?;
        let v = amount.amount().checked_mul(rate).ok_or_else(|| {
            Error::from(ErrorKind::Overflow {
                operation: "currency conversion",
            })
        })?;
        Ok(Money::new(v, to).round_to_minor_units())
    }
}

/// Spend of one channel (and campaign) in one reporting period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodSpend {
    /// The channel.
    pub channel: Channel,
    /// The campaign, if the spend is tracked per campaign.
    pub campaign: Option<CampaignId>,
    /// The reporting period.
    pub period: Period,
    /// The amount, in the reporting currency.
    pub amount: Money,
}

/// The default budget of (row, period) pieces [`align_spend`] splits spend rows into
/// (2^22, about 4.2 million): each piece costs about 180 bytes and a microsecond,
/// so the default keeps one call under about 750 MB. Raise it with
/// [`SpendAlignment::with_max_row_periods`].
pub const MAX_ROW_PERIODS: u64 = 1 << 22;

/// How spend rows are aligned to reporting periods.
///
/// Splitting costs one piece per (row, period) pair, so its cost grows with rows ×
/// periods per row. Two limits, checked for every row before any row is split,
/// bound it; beyond them [`align_spend`] returns an error naming the row:
///
/// | limit | default | what |
/// |---|---|---|
/// | [`max_span_days`](Self::max_span_days) | [`MAX_SPAN_DAYS`](crate::Period::MAX_SPAN_DAYS) (2^20, about 2,870 years) | days one row may cover |
/// | [`max_row_periods`](Self::max_row_periods) | [`MAX_ROW_PERIODS`] (2^22) | (row, period) pieces of all rows together |
#[derive(Debug, Clone, PartialEq)]
pub struct SpendAlignment<'fx> {
    /// Reporting period size.
    pub granularity: Granularity,
    /// Calendar (fiscal-year start for quarters and years).
    pub calendar: Calendar,
    /// The reporting currency.
    pub currency: Currency,
    /// Exchange rates for rows in other currencies (none: mixing is an error).
    pub fx: Option<&'fx FxTable>,
    /// The most days one row may cover (default [`MAX_SPAN_DAYS`](crate::Period::MAX_SPAN_DAYS), the crate's span
    /// limit).
    pub max_span_days: u32,
    /// The most (row, period) pieces all rows may be split into together (default
    /// [`MAX_ROW_PERIODS`]).
    pub max_row_periods: u64,
}

impl<'fx> SpendAlignment<'fx> {
    /// Monthly periods of the calendar year, in `currency`, without FX, with the
    /// default limits.
    pub fn monthly(currency: Currency) -> SpendAlignment<'static> {
        SpendAlignment {
            granularity: Granularity::Month,
            calendar: Calendar::default(),
            currency,
            fx: None,
            max_span_days: MAX_SPAN_DAYS,
            max_row_periods: MAX_ROW_PERIODS,
        }
    }

    /// Sets the most days one row may cover.
    #[must_use]
    pub fn with_max_span_days(mut self, days: u32) -> SpendAlignment<'fx> {
        self.max_span_days = days;
        self
    }

    /// Sets the budget of (row, period) pieces over all rows.
    #[must_use]
    pub fn with_max_row_periods(mut self, pieces: u64) -> SpendAlignment<'fx> {
        self.max_row_periods = pieces;
        self
    }
}

/// Allocates every spend row to the reporting periods its dates overlap, pro rata by
/// days, and sums per (channel, campaign, period).
///
/// Each row is first converted to the reporting currency (when it is in another one)
/// at the FX rate of its first day, rounded to minor units; then split over the
/// overlapped periods with weights = days in each period, by the largest-remainder
/// method ([`Money::allocate`]), so the parts of every row sum **exactly** to the
/// (converted) row. The result is sorted by channel, campaign (rows without a campaign
/// first) and period.
///
/// ```
/// use revops::{cost::align_spend, Currency, DateRange, Money, Spend, cost::SpendAlignment, id};
/// use chrono::NaiveDate;
/// # fn main() -> Result<(), revops::Error> {
/// let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
/// // 1,000.00 over 15 January .. 14 February: 17 days in January, 14 in February.
/// let row = Spend::new(id!("events"), DateRange::new(d(1, 15), d(2, 14))?, Money::parse("1000.00", Currency::USD)?);
/// let out = align_spend(&[row], &SpendAlignment::monthly(Currency::USD))?;
/// assert_eq!(out[0].amount, Money::parse("548.39", Currency::USD)?); // 1000 × 17/31
/// assert_eq!(out[1].amount, Money::parse("451.61", Currency::USD)?); // 1000 × 14/31
/// # Ok(()) }
/// ```
///
/// # Errors
/// A row's own [`Spend::validate`] error with its index; [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField)
/// (field `period_end`) naming the first row that covers more than
/// [`SpendAlignment::max_span_days`] days or brings the (row, period) pieces over
/// [`SpendAlignment::max_row_periods`] (checked for every row before any is split);
/// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) (field `currency`) naming the row when it is in another
/// currency and no FX table (or no rate) is given; [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
pub fn align_spend(spend: &[Spend], how: &SpendAlignment<'_>) -> Result<Vec<PeriodSpend>> {
    type Key = (Channel, Option<CampaignId>, Period);
    let record_of = |i: usize| {
        let row: &Spend = &spend[i];
        RecordRef::new("spend")
            .with_index(i)
            .with_id(match &row.campaign {
                Some(c) => format!("{}/{}", row.channel, c),
                None => row.channel.to_string(),
            })
    };
    // The limits, for every row, before anything is allocated.
    let mut pieces: u64 = 0;
    for (i, row) in spend.iter().enumerate() {
        row.validate().map_err(|e| e.at_index(i))?;
        let range = row.dates().map_err(|e| e.at_index(i))?;
        if range.days() > how.max_span_days {
            return Err(Error::from(ErrorKind::InvalidField {
                record: record_of(i),
                field: "period_end",
                reason: format!(
                    "the row covers {} days ({} ..= {}), more than the limit of {} \
                     (SpendAlignment::max_span_days); check its dates",
                    range.days(),
                    range.first(),
                    range.last(),
                    how.max_span_days
                ),
            }));
        }
        let n = range.periods(&how.calendar, how.granularity).len() as u64;
        pieces = pieces.saturating_add(n);
        if pieces > how.max_row_periods {
            return Err(Error::from(ErrorKind::InvalidField {
                record: record_of(i),
                field: "period_end",
                reason: format!(
                    "rows 0 ..= {i} split into {pieces} (row, {}) pieces, more than the \
                     budget of {} (SpendAlignment::max_row_periods)",
                    how.granularity, how.max_row_periods
                ),
            }));
        }
    }
    let mut sums: BTreeMap<Key, Money> = BTreeMap::new();
    for (i, row) in spend.iter().enumerate() {
        let record = || record_of(i);
        let amount = if row.amount.currency() == how.currency {
            row.amount
        } else {
            match how.fx {
                Some(fx) => fx
                    .convert(&row.amount, how.currency, row.period_start)
                    .map_err(|e| match e.into_kind() {
                        ErrorKind::CurrencyMismatch { expected, got } => {
                            Error::from(ErrorKind::InvalidField {
                                record: record(),
                                field: "currency",
                                reason: format!("expected {expected}, got {got}"),
                            })
                        }
                        other => Error::from(other),
                    })?,
                None => {
                    return Err(Error::from(ErrorKind::InvalidField {
                        record: record(),
                        field: "currency",
                        reason: format!(
                            "in {}, the report is in {} and no FX table was given",
                            row.amount.currency(),
                            how.currency
                        ),
                    }));
                }
            }
        };
        let range = row.dates().map_err(|e| e.at_index(i))?;
        // Within the limits checked above.
        let periods: Vec<Period> = range.periods(&how.calendar, how.granularity).collect();
        let weights: Vec<Decimal> = periods
            .iter()
            .map(|p| Decimal::from(range.overlap_days(p)))
            .collect();
        let parts = amount.allocate(&weights)?;
        for (p, part) in periods.into_iter().zip(parts) {
            let key = (row.channel.clone(), row.campaign.clone(), p);
            match sums.get_mut(&key) {
                Some(total) => *total = total.checked_add(&part)?,
                None => {
                    sums.insert(key, part);
                }
            }
        }
    }
    Ok(sums
        .into_iter()
        .map(|((channel, campaign, period), amount)| PeriodSpend {
            channel,
            campaign,
            period,
            amount,
        })
        .collect())
}
