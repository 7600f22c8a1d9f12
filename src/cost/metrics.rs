//! Unit metrics: cost per unit and money ratios that keep their numerator and
//! denominator, `None` when the denominator is zero.

use crate::error::ErrorKind;
use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::money::Money;

/// Money per unit (CPL, cost per MQL/SQL/won, CPA, CAC): the cost, the count it is
/// divided by (a `Decimal`, since attributed counts can be fractional), and the value
/// (`None` when the count is zero).
///
/// The field [`value`](MoneyPer::value) is the exact quotient (up to 28 significant
/// digits: `1000 / 3` is `333.333…`). What is shown is that value at the currency's
/// minor units, rounded half to even ([`Money::round_to_minor_units`]):
/// [`MoneyPer::rounded`], `Display` (`"1000.00 USD / 3 (333.33 USD)"`, cost / units
/// (value), as [`Ratio`](crate::Ratio) shows `k / n (rate)`) and serde, whose
/// `value` is the rounded amount. Reading the serde form back recomputes the exact
/// value from `cost` and `units` (and refuses a `value` that is not their rounded
/// quotient), so a round trip loses nothing.
///
/// ```
/// use revops::{Currency, Decimal, Money, cost::MoneyPer};
/// # fn main() -> Result<(), revops::Error> {
/// let usd = |s| Money::parse(s, Currency::USD);
/// let cpl = MoneyPer::new(usd("1000.00")?, Decimal::from(40))?;
/// assert_eq!(cpl.value, Some(usd("25")?));
/// let none = MoneyPer::new(usd("1000.00")?, Decimal::ZERO)?;
/// assert_eq!(none.value, None);
/// assert_eq!(none.to_string(), "1000.00 USD / 0 (n/a)");
///
/// let third = MoneyPer::new(usd("1000")?, Decimal::from(3))?;
/// assert_eq!(third.value.unwrap().amount().to_string(), "333.33333333333333333333333333"); // exact
/// assert_eq!(third.rounded(), Some(usd("333.33")?));                // shown
/// assert_eq!(third.to_string(), "1000.00 USD / 3 (333.33 USD)");
/// let json = serde_json::to_string(&third)?;
/// assert_eq!(
///     json,
///     r#"{"cost":{"amount":"1000.00","currency":"USD"},"units":"3","value":{"amount":"333.33","currency":"USD"}}"#
/// );
/// assert_eq!(serde_json::from_str::<MoneyPer>(&json)?, third); // exact again
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoneyPer {
    /// The cost.
    pub cost: Money,
    /// The units it is divided by.
    pub units: Decimal,
    /// `cost / units`, exact, or `None` when `units` is zero; see
    /// [`MoneyPer::rounded`] for the value at minor units.
    pub value: Option<Money>,
}

/// The serde form of [`MoneyPer`]: `value` at minor units.
#[derive(Serialize, Deserialize)]
#[serde(rename = "MoneyPer")]
struct MoneyPerRepr {
    cost: Money,
    #[serde(with = "rust_decimal::serde::str")]
    units: Decimal,
    #[serde(default)]
    value: Option<Money>,
}

impl Serialize for MoneyPer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        MoneyPerRepr {
            cost: self.cost,
            units: self.units,
            value: self.rounded(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for MoneyPer {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let r = MoneyPerRepr::deserialize(d)?;
        let exact = MoneyPer::new(r.cost, r.units).map_err(serde::de::Error::custom)?;
        if r.value.is_some() && r.value != exact.rounded() {
            return Err(serde::de::Error::custom(format!(
                "money per unit: value {} is not cost / units ({} / {}) at minor units",
                r.value.map_or_else(String::new, |v| v.to_string()),
                r.cost,
                r.units
            )));
        }
        Ok(exact)
    }
}

impl fmt::Display for MoneyPer {
    /// `cost / units (value)` with the value at minor units: `"1000.00 USD / 3
    /// (333.33 USD)"`, or `"… / 0 (n/a)"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rounded() {
            Some(v) => write!(f, "{} / {} ({v})", self.cost, self.units),
            None => write!(f, "{} / {} (n/a)", self.cost, self.units),
        }
    }
}

impl MoneyPer {
    /// `cost / units`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) for negative units; [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
    pub fn new(cost: Money, units: Decimal) -> Result<MoneyPer> {
        if units.is_sign_negative() && !units.is_zero() {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "units",
                value: units.to_string(),
                reason: "a count must not be negative".into(),
            }));
        }
        Ok(MoneyPer {
            cost,
            units,
            value: cost.checked_div(units)?,
        })
    }

    /// The value at the currency's minor units, rounded half to even (as shown by
    /// `Display` and serde); `None` when `units` is zero. The exact value is
    /// [`MoneyPer::value`].
    #[must_use]
    pub fn rounded(&self) -> Option<Money> {
        self.value.map(|v| v.round_to_minor_units())
    }

    /// From an `f64` count (e.g. attributed conversions), converted to a decimal once.
    ///
    /// # Errors
    /// As [`MoneyPer::new`]; [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) for a non-finite count.
    pub fn from_f64(cost: Money, units: f64) -> Result<MoneyPer> {
        MoneyPer::new(cost, decimal_from_f64(units, "units")?)
    }
}

/// A ratio of two amounts in one currency (ROAS, ROI, pipeline ROI, LTV:CAC, magic
/// number): both amounts and the value (`None` when the denominator is zero).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoneyRatio {
    /// The numerator.
    pub numerator: Money,
    /// The denominator.
    pub denominator: Money,
    /// `numerator / denominator`, or `None` when the denominator is zero.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub value: Option<Decimal>,
}

impl MoneyRatio {
    /// `numerator / denominator`.
    ///
    /// # Errors
    /// [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch); [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
    pub fn new(numerator: Money, denominator: Money) -> Result<MoneyRatio> {
        Ok(MoneyRatio {
            value: numerator.ratio_to(&denominator)?,
            numerator,
            denominator,
        })
    }
}

pub(crate) fn decimal_from_f64(x: f64, name: &'static str) -> Result<Decimal> {
    if !x.is_finite() {
        return Err(Error::from(ErrorKind::InvalidParameter {
            name,
            value: x.to_string(),
            reason: "must be a finite number".into(),
        }));
    }
    Decimal::from_f64_retain(x).ok_or_else(|| {
        Error::from(ErrorKind::InvalidParameter {
            name,
            value: x.to_string(),
            reason: "out of the decimal range".into(),
        })
    })
}

/// Return on advertising spend: attributed revenue / spend.
///
/// # Errors
/// [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch); [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
pub fn roas(revenue: Money, spend: Money) -> Result<MoneyRatio> {
    MoneyRatio::new(revenue, spend)
}

/// Return on investment: (return − cost) / cost, where `ret` is attributed revenue or
/// gross profit (the caller chooses and names it). The numerator reported is
/// `ret − cost`.
///
/// ```
/// use revops::{cost::roi, Currency, Decimal, Money};
/// # fn main() -> Result<(), revops::Error> {
/// let r = roi(Money::parse("300", Currency::USD)?, Money::parse("100", Currency::USD)?)?;
/// assert_eq!(r.value, Some(Decimal::from(2)));
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch); [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
pub fn roi(ret: Money, cost: Money) -> Result<MoneyRatio> {
    MoneyRatio::new(ret.checked_sub(&cost)?, cost)
}

/// Pipeline ROI: attributed pipeline amount / spend.
///
/// # Errors
/// [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch); [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
pub fn pipeline_roi(pipeline: Money, spend: Money) -> Result<MoneyRatio> {
    MoneyRatio::new(pipeline, spend)
}

/// Customer lifetime value on gross profit: `ARPA × gross margin / churn rate`
/// (monthly ARPA and monthly churn give a lifetime in months). `None` when churn is 0
/// (an unbounded lifetime is not a number).
///
/// # Errors
/// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) for a margin outside \[0, 1\] or a churn outside
/// \[0, 1\]; [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
pub fn ltv(arpa: Money, gross_margin: Decimal, churn_rate: Decimal) -> Result<Option<Money>> {
    check_unit(gross_margin, "gross margin")?;
    check_unit(churn_rate, "churn rate")?;
    arpa.checked_mul(gross_margin)?.checked_div(churn_rate)
}

/// LTV:CAC, with LTV from [`ltv`]. `None` when LTV is unbounded or CAC is zero.
///
/// # Errors
/// As [`ltv`]; [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch).
pub fn ltv_to_cac(
    arpa: Money,
    gross_margin: Decimal,
    churn_rate: Decimal,
    cac: Money,
) -> Result<Option<MoneyRatio>> {
    match ltv(arpa, gross_margin, churn_rate)? {
        Some(l) => MoneyRatio::new(l, cac).map(Some),
        None => Ok(None),
    }
}

/// CAC payback in months: `CAC / (ARPA × gross margin)` with monthly ARPA. `None`
/// when the monthly gross profit is zero.
///
/// ```
/// use revops::{cost::cac_payback_months, Currency, Decimal, Money};
/// # fn main() -> Result<(), revops::Error> {
/// let m = cac_payback_months(Money::parse("12000", Currency::USD)?, Money::parse("1000", Currency::USD)?, Decimal::new(8, 1))?;
/// assert_eq!(m, Some(Decimal::from(15)));
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) for a margin outside \[0, 1\]; [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch);
/// [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
pub fn cac_payback_months(
    cac: Money,
    arpa: Money,
    gross_margin: Decimal,
) -> Result<Option<Decimal>> {
    check_unit(gross_margin, "gross margin")?;
    cac.ratio_to(&arpa.checked_mul(gross_margin)?)
}

/// The magic number: net new ARR in a quarter / the prior quarter's sales and
/// marketing cost.
///
/// # Errors
/// [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch); [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
pub fn magic_number(net_new_arr: Money, prior_quarter_cost: Money) -> Result<MoneyRatio> {
    MoneyRatio::new(net_new_arr, prior_quarter_cost)
}

fn check_unit(x: Decimal, name: &'static str) -> Result<()> {
    if x < Decimal::ZERO || x > Decimal::ONE {
        return Err(Error::from(ErrorKind::InvalidParameter {
            name,
            value: x.to_string(),
            reason: "must be a fraction in [0, 1]".into(),
        }));
    }
    Ok(())
}
