//! The plan's inputs from what was won: the average deal size and the default
//! revenue target.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::error::Result;
use crate::money::{Currency, Money};
use crate::period::{Calendar, Period};
use crate::records::Conversion;

/// Growth applied by [`default_target`]: the target is 1.2 × the revenue won in the
/// reference period (+ 20 %).
pub const DEFAULT_TARGET_GROWTH: Decimal = Decimal::from_parts(12, 0, 0, false, 1);

/// The average won deal as known at `as_of`: the mean value of the conversions dated
/// at or before `as_of` that carry a value (later ones would be a look-ahead),
/// rounded to the currency's minor units. `None` when no such conversion has a value.
///
/// This is the deal size of the report's plan ([`crate::report::PlanSection`]).
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use revops::{Conversion, Currency, Money, SubjectId, plan::average_deal_size};
/// # fn main() -> Result<(), revops::Error> {
/// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
/// let usd = |v: &str| Money::parse(v, Currency::USD);
/// let won = [
///     Conversion::new(SubjectId::new("a")?, t(1), Some(usd("100")?)),
///     Conversion::new(SubjectId::new("b")?, t(2), Some(usd("50")?)),
///     Conversion::new(SubjectId::new("c")?, t(3), None),
///     Conversion::new(SubjectId::new("d")?, t(9), Some(usd("1000")?)), // after as-of
/// ];
/// let deal = average_deal_size(&won, t(5), Currency::USD)?.unwrap();
/// assert_eq!(deal, Money::parse("75", Currency::USD)?);
/// assert_eq!(average_deal_size(&won[2..3], t(5), Currency::USD)?, None);
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch) if a value is not in `currency`,
/// [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow) if the sum does not fit.
pub fn average_deal_size(
    conversions: &[Conversion],
    as_of: DateTime<Utc>,
    currency: Currency,
) -> Result<Option<Money>> {
    let won: Vec<Money> = conversions
        .iter()
        .filter(|c| c.at <= as_of)
        .filter_map(|c| c.value)
        .collect();
    if won.is_empty() {
        return Ok(None);
    }
    let total = Money::sum(currency, &won)?;
    Ok(Some(
        total
            .checked_div(Decimal::from(won.len()))?
            .unwrap_or(Money::zero(currency))
            .round_to_minor_units(),
    ))
}

/// The revenue won in `period`: the values of the conversions whose date, in
/// `calendar`'s time zone, falls in it.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use revops::{Calendar, Conversion, Currency, Granularity, Money, SubjectId, plan::won_revenue};
/// # fn main() -> Result<(), revops::Error> {
/// let cal = Calendar::default();
/// let at = Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap();
/// let won = [Conversion::new(SubjectId::new("a")?, at, Some(Money::parse("80", Currency::EUR)?))];
/// let q1 = cal.period_of(at, Granularity::Quarter);
/// assert_eq!(won_revenue(&won, &q1, &cal, Currency::EUR)?, Money::parse("80", Currency::EUR)?);
/// assert!(won_revenue(&won, &q1.next(), &cal, Currency::EUR)?.amount().is_zero());
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch) if a value in the period is not in `currency`,
/// [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow) if the sum does not fit.
pub fn won_revenue(
    conversions: &[Conversion],
    period: &Period,
    calendar: &Calendar,
    currency: Currency,
) -> Result<Money> {
    let in_period: Vec<Money> = conversions
        .iter()
        .filter(|c| period.contains_date(calendar.date_of(c.at)))
        .filter_map(|c| c.value)
        .collect();
    Money::sum(currency, &in_period)
}

/// The default revenue target: [`DEFAULT_TARGET_GROWTH`] (1.2) × the revenue won in
/// `period` ([`won_revenue`]), rounded to the currency's minor units. The report
/// takes the last complete quarter as `period`; its plan is for the quarter after
/// the current one.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use revops::{Calendar, Conversion, Currency, Granularity, Money, SubjectId, plan::default_target};
/// # fn main() -> Result<(), revops::Error> {
/// let cal = Calendar::default();
/// let at = Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap();
/// let won = [Conversion::new(SubjectId::new("a")?, at, Some(Money::parse("1000.05", Currency::USD)?))];
/// let q1 = cal.period_of(at, Granularity::Quarter);
/// assert_eq!(default_target(&won, &q1, &cal, Currency::USD)?.amount().to_string(), "1200.06");
/// # Ok(()) }
/// ```
///
/// # Errors
/// As [`won_revenue`].
pub fn default_target(
    conversions: &[Conversion],
    period: &Period,
    calendar: &Calendar,
    currency: Currency,
) -> Result<Money> {
    Ok(won_revenue(conversions, period, calendar, currency)?
        .checked_mul(DEFAULT_TARGET_GROWTH)?
        .round_to_minor_units())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::SubjectId;
    use chrono::TimeZone;

    #[test]
    fn growth_is_one_point_two() {
        assert_eq!(DEFAULT_TARGET_GROWTH, Decimal::new(12, 1));
    }

    /// The target counts a conversion by its date in the calendar's time zone, not
    /// its UTC date (the drift an example had).
    #[test]
    fn target_dates_conversions_in_the_calendar() {
        let at = Utc.with_ymd_and_hms(2026, 3, 31, 23, 0, 0).unwrap(); // 1 April in UTC+2
        let won = [Conversion::new(
            SubjectId::new("a").unwrap(),
            at,
            Some(Money::new(Decimal::from(100), Currency::USD)),
        )];
        let utc = Calendar::default();
        let plus2 = utc.with_utc_offset(chrono::FixedOffset::east_opt(2 * 3600).unwrap());
        let q1 = utc.period_of(at, crate::period::Granularity::Quarter);
        assert_eq!(
            default_target(&won, &q1, &utc, Currency::USD)
                .unwrap()
                .amount(),
            Decimal::new(12000, 2)
        );
        assert!(
            default_target(&won, &q1, &plus2, Currency::USD)
                .unwrap()
                .amount()
                .is_zero()
        );
    }

    #[test]
    fn currency_mismatch_is_an_error() {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let won = [Conversion::new(
            SubjectId::new("a").unwrap(),
            t,
            Some(Money::new(Decimal::ONE, Currency::EUR)),
        )];
        assert!(average_deal_size(&won, t, Currency::USD).is_err());
    }
}
