//! Exact money: [`Currency`], [`Money`] and exact allocation.

use crate::error::ErrorKind;
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// ISO 4217 codes revops knows, with their number of minor units (decimal places).
const KNOWN: &[(&str, u8)] = &[
    ("AED", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EGP", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("MXN", 2),
    ("MYR", 2),
    ("NGN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PEN", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("RON", 2),
    ("RUB", 2),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TND", 3),
    ("TRY", 2),
    ("TWD", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("VND", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("ZAR", 2),
];

/// The minor-unit limit, [`Currency::MAX_MINOR_UNITS`], for the crate's own use.
pub(crate) const MAX_MINOR_UNITS: u8 = Currency::MAX_MINOR_UNITS;

/// A currency: an ISO 4217 alphabetic code and its number of minor units.
///
/// Common currencies are known by code ([`Currency::from_code`]); any other
/// three-letter code is accepted with an explicit minor-unit count
/// ([`Currency::with_minor_units`]). As text (and in serde) a known currency is its
/// code (`"USD"`); a currency whose minor units differ from the table is written
/// `"XYZ:3"`, so that it round-trips.
///
/// ```
/// use revops::Currency;
/// # fn main() -> Result<(), revops::Error> {
/// let usd = Currency::from_code("usd")?;
/// assert_eq!(usd.code(), "USD");
/// assert_eq!(usd.minor_units(), 2);
/// assert_eq!(Currency::from_code("JPY")?.minor_units(), 0);
/// let points: Currency = "PTS:0".parse()?;
/// assert_eq!(points.to_string(), "PTS:0");
/// assert!(Currency::from_code("PTS").is_err()); // unknown without minor units
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: [u8; 3],
    minor_units: u8,
}

impl Currency {
    /// The largest number of minor units a currency may declare.
    pub const MAX_MINOR_UNITS: u8 = 18;

    /// US dollar.
    pub const USD: Currency = Currency::known(*b"USD", 2);
    /// Euro.
    pub const EUR: Currency = Currency::known(*b"EUR", 2);
    /// Pound sterling.
    pub const GBP: Currency = Currency::known(*b"GBP", 2);
    /// Japanese yen (no minor units).
    pub const JPY: Currency = Currency::known(*b"JPY", 0);
    /// Brazilian real.
    pub const BRL: Currency = Currency::known(*b"BRL", 2);

    const fn known(code: [u8; 3], minor_units: u8) -> Currency {
        Currency { code, minor_units }
    }

    fn parse_code(code: &str) -> Result<[u8; 3]> {
        let trimmed = code.trim();
        let bytes = trimmed.as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_alphabetic) {
            return Err(Error::from(ErrorKind::InvalidCurrency {
                code: code.to_string(),
                reason: "a currency code is three ASCII letters".into(),
            }));
        }
        Ok([
            bytes[0].to_ascii_uppercase(),
            bytes[1].to_ascii_uppercase(),
            bytes[2].to_ascii_uppercase(),
        ])
    }

    fn table_minor_units(code: &[u8; 3]) -> Option<u8> {
        KNOWN
            .binary_search_by(|(c, _)| c.as_bytes().cmp(code.as_slice()))
            .ok()
            .map(|i| KNOWN[i].1)
    }

    /// A currency known to revops by its ISO 4217 code (case-insensitive).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidCurrency`](crate::error::ErrorKind::InvalidCurrency) if `code` is not three letters,
    /// [`ErrorKind::UnknownCurrency`](crate::error::ErrorKind::UnknownCurrency) if revops does not know its minor units (use
    /// [`Currency::with_minor_units`]).
    pub fn from_code(code: &str) -> Result<Currency> {
        let c = Self::parse_code(code)?;
        match Self::table_minor_units(&c) {
            Some(minor_units) => Ok(Currency {
                code: c,
                minor_units,
            }),
            None => Err(Error::from(ErrorKind::UnknownCurrency {
                code: code.trim().to_string(),
            })),
        }
    }

    /// Any three-letter code with an explicit number of minor units (0 to
    /// [`MAX_MINOR_UNITS`](crate::Currency::MAX_MINOR_UNITS)). For a known code the explicit count wins.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidCurrency`](crate::error::ErrorKind::InvalidCurrency) if the code is not three letters or the count is too large.
    pub fn with_minor_units(code: &str, minor_units: u8) -> Result<Currency> {
        let c = Self::parse_code(code)?;
        if minor_units > MAX_MINOR_UNITS {
            return Err(Error::from(ErrorKind::InvalidCurrency {
                code: code.to_string(),
                reason: format!(
                    "{minor_units} minor units; at most {MAX_MINOR_UNITS} are supported"
                ),
            }));
        }
        Ok(Currency {
            code: c,
            minor_units,
        })
    }

    /// The upper-case three-letter code.
    pub fn code(&self) -> &str {
        // The code is validated ASCII on construction.
        std::str::from_utf8(&self.code).unwrap_or("???")
    }

    /// Number of decimal places of the currency's minor unit (2 for USD, 0 for JPY).
    pub fn minor_units(&self) -> u8 {
        self.minor_units
    }

    /// Whether this code/minor-unit pair is the one in revops' table.
    pub fn is_standard(&self) -> bool {
        Self::table_minor_units(&self.code) == Some(self.minor_units)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_standard() {
            f.write_str(self.code())
        } else {
            write!(f, "{}:{}", self.code(), self.minor_units)
        }
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Currency {
    type Err = Error;

    /// Parses `"USD"` (known codes) or `"XYZ:2"` (explicit minor units).
    fn from_str(s: &str) -> Result<Currency> {
        match s.split_once(':') {
            None => Currency::from_code(s),
            Some((code, units)) => {
                let units: u8 = units.trim().parse().map_err(|_| {
                    Error::from(ErrorKind::InvalidCurrency {
                        code: s.to_string(),
                        reason: "minor units after `:` must be a small non-negative integer".into(),
                    })
                })?;
                Currency::with_minor_units(code, units)
            }
        }
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An exact amount of money in one currency.
///
/// The amount is a [`Decimal`] (serialised as a string); the currency is a
/// [`Currency`]. All arithmetic is checked.
///
/// ```
/// use revops::{Currency, Money};
/// use rust_decimal::Decimal;
/// # fn main() -> Result<(), revops::Error> {
/// let a = Money::parse("1250.10", Currency::USD)?;
/// let b = Money::parse("0.20", Currency::USD)?;
/// assert_eq!(a.checked_add(&b)?.to_string(), "1250.30 USD");
/// // Mixing currencies is an error, never a silent conversion.
/// assert!(a.checked_add(&Money::zero(Currency::EUR)).is_err());
/// // Sums are exact: ten times 0.10 is exactly 1.00.
/// let dimes = vec![Money::parse("0.10", Currency::USD)?; 10];
/// assert_eq!(Money::sum(Currency::USD, &dimes)?.amount(), Decimal::ONE);
/// # Ok(()) }
/// ```
///
/// As text and in serde, money has one form: the amount at least at the currency's
/// minor units (`280000` is `"280000.00"` in USD, `0` is `"0.00"`), never fewer
/// decimals. `Display` is that amount, a space and the currency (`"12.30 USD"`);
/// serde is `{"amount": "12.30", "currency": "USD"}`.
///
/// **`Display` and serde do not round.** An amount with more decimals than its
/// currency's minor units (a pro-rata share of spend, `1000 × 17 / 31`) keeps them
/// (trailing zeros beyond the minor units are trimmed), so the text reads back to
/// the same value and a serialised partial state merges exactly. To show money at
/// its minor units, round it: [`Money::round_to_minor_units`] (half to even) or
/// [`Money::round_with`] give the rounded value, and a precision in the format
/// (`{:.2}`) prints the amount rounded half to even to exactly that many decimals.
/// The exact value is always [`Money::amount`]. Values that are quotients by nature
/// — cost per lead and other per-unit costs — are
/// [`cost::MoneyPer`](crate::cost::MoneyPer), which shows and serialises them at
/// minor units.
///
/// ```
/// use revops::{Currency, Money};
/// # fn main() -> Result<(), revops::Error> {
/// assert_eq!(Money::parse("280000", Currency::USD)?.to_string(), "280000.00 USD");
/// assert_eq!(Money::zero(Currency::USD).to_string(), "0.00 USD");
/// let json = serde_json::to_string(&Money::parse("12.3", Currency::USD)?)?;
/// assert_eq!(json, r#"{"amount":"12.30","currency":"USD"}"#);
///
/// let share = Money::parse("548.387096774193548387", Currency::USD)?;
/// assert_eq!(share.to_string(), "548.387096774193548387 USD"); // exact
/// assert_eq!(format!("{share:.2}"), "548.39 USD");               // rounded to show
/// assert_eq!(share.round_to_minor_units().to_string(), "548.39 USD");
/// assert_eq!(format!("{:.2}", Money::parse("2.665", Currency::USD)?), "2.66 USD"); // half to even
/// # Ok(()) }
/// ```
///
/// Amounts are [`rust_decimal::Decimal`]; nothing here converts money to `f64`.
/// Arithmetic is checked: combining two currencies is [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch),
/// overflowing the decimal range is [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow), and nothing panics.
///
/// [`Money::allocate`] splits an amount over weights so that the parts sum *exactly* to
/// the amount, using the largest-remainder method on the currency's minor units.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

/// The serde form of [`Money`] (reading side).
#[derive(Deserialize)]
#[serde(rename = "Money")]
struct MoneyRepr {
    amount: String,
    currency: Currency,
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Money", 2)?;
        st.serialize_field("amount", &self.amount_text())?;
        st.serialize_field("currency", &self.currency)?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let r = MoneyRepr::deserialize(d)?;
        let amount = parse_decimal(&r.amount).map_err(|reason| {
            serde::de::Error::custom(format!(
                "money amount `{}`: {reason}",
                crate::error::Excerpt(&r.amount)
            ))
        })?;
        Ok(Money::new(amount, r.currency))
    }
}

impl Money {
    /// An amount in a currency.
    pub fn new(amount: Decimal, currency: Currency) -> Money {
        Money { amount, currency }
    }

    /// Zero in a currency.
    pub fn zero(currency: Currency) -> Money {
        Money::new(Decimal::ZERO, currency)
    }

    /// Parses a plain decimal string in a currency: an optional sign, digits and at
    /// most one `.` (`"1234.56"`, `"-3"`, `".5"`); `"1e3"`, `"1_000"` and `"1,000"`
    /// are rejected. Surrounding whitespace is ignored.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) naming `amount` if the text is not a decimal number.
    pub fn parse(amount: &str, currency: Currency) -> Result<Money> {
        let d = parse_decimal(amount.trim()).map_err(|reason| {
            Error::from(ErrorKind::InvalidParameter {
                name: "amount",
                value: amount.to_string(),
                reason: format!("not a decimal number: {reason}"),
            })
        })?;
        Ok(Money::new(d, currency))
    }

    /// An amount given as an integer count of minor units (cents for USD).
    ///
    /// # Errors
    /// [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow) if the count does not fit a decimal.
    pub fn from_minor_units(units: i128, currency: Currency) -> Result<Money> {
        let d = Decimal::try_from_i128_with_scale(units, u32::from(currency.minor_units)).map_err(
            |_| {
                Error::from(ErrorKind::Overflow {
                    operation: "money from minor units",
                })
            },
        )?;
        Ok(Money::new(d, currency))
    }

    /// The decimal amount.
    pub fn amount(&self) -> Decimal {
        self.amount
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The amount as shown by `Display` and serde: at least the currency's minor units
    /// (zeros padded), finer non-zero digits kept, trailing zeros beyond them trimmed.
    /// An amount too large to carry its minor units in a [`Decimal`] (above about
    /// 10^26) is shown as it is, so that the text always reads back to the same value.
    fn amount_text(&self) -> String {
        let n = self.amount.normalize();
        let minor = u32::from(self.currency.minor_units);
        if n.scale() >= minor {
            return n.to_string();
        }
        scaled_mantissa(n, minor)
            .and_then(|m| Decimal::try_from_i128_with_scale(m, minor).ok())
            .unwrap_or(n)
            .to_string()
    }

    /// Whether the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    /// Whether the amount is strictly negative.
    pub fn is_negative(&self) -> bool {
        self.amount.is_sign_negative() && !self.amount.is_zero()
    }

    fn same_currency(&self, other: &Money) -> Result<()> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(Error::from(ErrorKind::CurrencyMismatch {
                expected: self.currency.to_string(),
                got: other.currency.to_string(),
            }))
        }
    }

    /// `self + other`.
    ///
    /// # Errors
    /// [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch) or [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
    pub fn checked_add(&self, other: &Money) -> Result<Money> {
        self.same_currency(other)?;
        let amount = self.amount.checked_add(other.amount).ok_or_else(|| {
            Error::from(ErrorKind::Overflow {
                operation: "money addition",
            })
        })?;
        Ok(Money::new(amount, self.currency))
    }

    /// `self - other`.
    ///
    /// # Errors
    /// [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch) or [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
    pub fn checked_sub(&self, other: &Money) -> Result<Money> {
        self.same_currency(other)?;
        let amount = self.amount.checked_sub(other.amount).ok_or_else(|| {
            Error::from(ErrorKind::Overflow {
                operation: "money subtraction",
            })
        })?;
        Ok(Money::new(amount, self.currency))
    }

    /// `self × factor` (exact decimal product, not rounded to minor units).
    ///
    /// # Errors
    /// [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
    pub fn checked_mul(&self, factor: Decimal) -> Result<Money> {
        let amount = self.amount.checked_mul(factor).ok_or_else(|| {
            Error::from(ErrorKind::Overflow {
                operation: "money multiplication",
            })
        })?;
        Ok(Money::new(amount, self.currency))
    }

    /// `self ÷ divisor`, or `None` when the divisor is zero (e.g. cost per lead with no
    /// leads). The quotient carries up to 28 significant digits; round it for display
    /// with [`Money::round_to_minor_units`].
    ///
    /// # Errors
    /// [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
    pub fn checked_div(&self, divisor: Decimal) -> Result<Option<Money>> {
        if divisor.is_zero() {
            return Ok(None);
        }
        let amount = self.amount.checked_div(divisor).ok_or_else(|| {
            Error::from(ErrorKind::Overflow {
                operation: "money division",
            })
        })?;
        Ok(Some(Money::new(amount, self.currency)))
    }

    /// The ratio of two amounts in the same currency (ROAS, ROI), or `None` when
    /// `other` is zero.
    ///
    /// # Errors
    /// [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch) or [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
    pub fn ratio_to(&self, other: &Money) -> Result<Option<Decimal>> {
        self.same_currency(other)?;
        if other.amount.is_zero() {
            return Ok(None);
        }
        self.amount
            .checked_div(other.amount)
            .map(Some)
            .ok_or_else(|| {
                Error::from(ErrorKind::Overflow {
                    operation: "money ratio",
                })
            })
    }

    /// The negated amount (cannot overflow: decimals are sign-magnitude).
    #[must_use]
    pub fn negate(&self) -> Money {
        Money::new(-self.amount, self.currency)
    }

    /// Rounds to the currency's minor units with banker's rounding (half to even),
    /// the usual convention for reporting; see [`Money::round_with`] for others.
    #[must_use]
    pub fn round_to_minor_units(&self) -> Money {
        self.round_with(RoundingStrategy::MidpointNearestEven)
    }

    /// Rounds to the currency's minor units with an explicit strategy.
    #[must_use]
    pub fn round_with(&self, strategy: RoundingStrategy) -> Money {
        Money::new(
            self.amount
                .round_dp_with_strategy(u32::from(self.currency.minor_units), strategy),
            self.currency,
        )
    }

    /// The amount as a whole number of minor units.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) if the amount has more decimals than the currency's
    /// minor unit (round first), [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow) if it does not fit an `i128`.
    pub fn to_minor_units(&self) -> Result<i128> {
        let mu = u32::from(self.currency.minor_units);
        let normal = self.amount.normalize();
        if normal.scale() > mu {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "amount",
                value: self.to_string(),
                reason: format!("has more than {mu} decimal places"),
            }));
        }
        scaled_mantissa(self.amount, mu).ok_or_else(|| {
            Error::from(ErrorKind::Overflow {
                operation: "money to minor units",
            })
        })
    }

    /// Sums amounts that must all be in `currency`. The empty sum is zero.
    ///
    /// # Errors
    /// [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch) naming the first foreign amount, or [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
    pub fn sum<'a, I>(currency: Currency, items: I) -> Result<Money>
    where
        I: IntoIterator<Item = &'a Money>,
    {
        let mut acc = Money::zero(currency);
        for m in items {
            acc = acc.checked_add(m)?;
        }
        Ok(acc)
    }

    /// Splits this amount over non-negative decimal weights so that the parts sum
    /// **exactly** to the amount.
    ///
    /// Method (largest remainder, also called Hamilton's method):
    /// 1. The allocation unit is the currency's minor unit, or a finer one if the amount
    ///    itself carries more decimals (so that the parts can always sum to it exactly).
    /// 2. Each part gets the floor of its exact share `|amount| × wᵢ / Σw` in units.
    /// 3. The units left over go, one each, to the parts with the largest fractional
    ///    remainders. Ties are broken by the larger weight, then by the lower index, so
    ///    re-ordering the weights only re-orders the parts.
    /// 4. A negative amount is split as its absolute value and every part negated, so
    ///    all parts have the amount's sign.
    ///
    /// A zero weight always gets exactly zero. Every part is within one unit of its
    /// exact share.
    ///
    /// ```
    /// use revops::{Currency, Money};
    /// use rust_decimal::Decimal;
    /// # fn main() -> Result<(), revops::Error> {
    /// let total = Money::parse("100.00", Currency::USD)?;
    /// let parts = total.allocate(&[Decimal::ONE; 3])?;
    /// let shown: Vec<String> = parts.iter().map(|p| p.amount().to_string()).collect();
    /// assert_eq!(shown, ["33.34", "33.33", "33.33"]);
    /// assert_eq!(Money::sum(Currency::USD, &parts)?, total);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::InvalidWeight`](crate::error::ErrorKind::InvalidWeight) for a negative weight, [`ErrorKind::ZeroWeights`](crate::error::ErrorKind::ZeroWeights) if there
    /// are no weights or they sum to zero, [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow) if the weights' sum or the
    /// amount in units does not fit.
    pub fn allocate(&self, weights: &[Decimal]) -> Result<Vec<Money>> {
        for (index, w) in weights.iter().enumerate() {
            if w.is_sign_negative() && !w.is_zero() {
                return Err(Error::from(ErrorKind::InvalidWeight {
                    index,
                    value: w.to_string(),
                    reason: "weights must be non-negative",
                }));
            }
        }
        let mut total = Decimal::ZERO;
        for w in weights {
            total = total.checked_add(*w).ok_or_else(|| {
                Error::from(ErrorKind::Overflow {
                    operation: "sum of allocation weights",
                })
            })?;
        }
        if total.is_zero() {
            return Err(Error::from(ErrorKind::ZeroWeights {
                count: weights.len(),
            }));
        }
        self.allocate_normalised(weights, total)
    }

    /// Splits this amount over non-negative, finite `f64` weights; see
    /// [`Money::allocate`] for the method. Weights are rescaled so the largest is 1
    /// and converted to decimals with 28 significant digits before splitting, so only
    /// the weights (never the money) pass through floating point.
    ///
    /// ```
    /// use revops::{Currency, Money};
    /// # fn main() -> Result<(), revops::Error> {
    /// let total = Money::parse("10.00", Currency::EUR)?;
    /// let parts = total.allocate_f64(&[0.5, 0.25, 0.25])?;
    /// assert_eq!(parts[0], Money::parse("5.00", Currency::EUR)?);
    /// assert!(total.allocate_f64(&[1.0, f64::NAN]).is_err());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::InvalidWeight`](crate::error::ErrorKind::InvalidWeight) for a negative or non-finite weight,
    /// [`ErrorKind::ZeroWeights`](crate::error::ErrorKind::ZeroWeights) if there are none or all are zero.
    pub fn allocate_f64(&self, weights: &[f64]) -> Result<Vec<Money>> {
        let mut max = 0.0_f64;
        for (index, &w) in weights.iter().enumerate() {
            if !w.is_finite() {
                return Err(Error::from(ErrorKind::InvalidWeight {
                    index,
                    value: w.to_string(),
                    reason: "weights must be finite",
                }));
            }
            if w < 0.0 {
                return Err(Error::from(ErrorKind::InvalidWeight {
                    index,
                    value: w.to_string(),
                    reason: "weights must be non-negative",
                }));
            }
            max = max.max(w);
        }
        if max == 0.0 {
            return Err(Error::from(ErrorKind::ZeroWeights {
                count: weights.len(),
            }));
        }
        let scaled: Vec<Decimal> = weights
            .iter()
            .map(|&w| {
                if w == max {
                    Decimal::ONE
                } else {
                    // In [0, 1): always representable; values below 1e-28 become zero.
                    Decimal::from_f64_retain(w / max).unwrap_or(Decimal::ZERO)
                }
            })
            .collect();
        self.allocate(&scaled)
    }

    fn allocate_normalised(&self, weights: &[Decimal], weight_sum: Decimal) -> Result<Vec<Money>> {
        let scale = u32::from(self.currency.minor_units).max(self.amount.normalize().scale());
        let units = scaled_mantissa(self.amount.abs(), scale).ok_or_else(|| {
            Error::from(ErrorKind::Overflow {
                operation: "allocation amount in units",
            })
        })?;
        let units_dec = Decimal::try_from_i128_with_scale(units, 0).map_err(|_| {
            Error::from(ErrorKind::Overflow {
                operation: "allocation amount in units",
            })
        })?;

        // floor share and remainder per part
        let mut parts: Vec<i128> = Vec::with_capacity(weights.len());
        let mut remainders: Vec<Decimal> = Vec::with_capacity(weights.len());
        let mut assigned: i128 = 0;
        for w in weights {
            if w.is_zero() {
                parts.push(0);
                remainders.push(Decimal::ZERO);
                continue;
            }
            // share = units × (w / Σw); w / Σw ∈ (0, 1] so the product never exceeds units.
            let fraction = w.checked_div(weight_sum).unwrap_or(Decimal::ZERO);
            let share = units_dec
                .checked_mul(fraction)
                .unwrap_or(units_dec)
                .min(units_dec);
            let floor = share.floor();
            let whole = floor.to_i128().unwrap_or(0);
            parts.push(whole);
            remainders.push(share - floor);
            assigned += whole;
        }

        let mut leftover = units - assigned;
        if leftover != 0 {
            // Order candidates: largest remainder, then larger weight, then lower index.
            let mut order: Vec<usize> = (0..weights.len())
                .filter(|&i| !weights[i].is_zero())
                .collect();
            order.sort_by(|&a, &b| {
                remainders[b]
                    .cmp(&remainders[a])
                    .then_with(|| weights[b].cmp(&weights[a]))
                    .then_with(|| a.cmp(&b))
            });
            // Decimal rounding of the fractions can, in principle, leave the floors one
            // unit away from `units` in either direction; these loops settle any
            // difference (`order` is non-empty because the weights sum to non-zero).
            while leftover > 0 {
                for &i in &order {
                    if leftover == 0 {
                        break;
                    }
                    parts[i] += 1;
                    leftover -= 1;
                }
            }
            while leftover < 0 {
                for &i in order.iter().rev() {
                    if leftover == 0 {
                        break;
                    }
                    if parts[i] > 0 {
                        parts[i] -= 1;
                        leftover += 1;
                    }
                }
            }
        }

        let negative = self.amount.is_sign_negative();
        parts
            .into_iter()
            .map(|u| {
                let signed = if negative { -u } else { u };
                Decimal::try_from_i128_with_scale(signed, scale)
                    .map(|d| Money::new(d, self.currency))
                    .map_err(|_| {
                        Error::from(ErrorKind::Overflow {
                            operation: "allocation part",
                        })
                    })
            })
            .collect()
    }
}

/// `amount × 10^scale` as an integer, if exact and in range. `scale` must be at least
/// the amount's own scale for the result to be exact.
/// Whether `s` is a plain decimal: an optional sign, then digits with at most one
/// `.` among them, and at least one digit (`12`, `-0.50`, `+3.`, `.5`).
pub(crate) fn is_plain_decimal(s: &[u8]) -> bool {
    let digits = match s.first() {
        Some(b'+' | b'-') => &s[1..],
        _ => s,
    };
    let mut point = false;
    let mut any_digit = false;
    for &b in digits {
        match b {
            b'0'..=b'9' => any_digit = true,
            b'.' if !point => point = true,
            _ => return false,
        }
    }
    any_digit
}

/// An exact decimal from a plain decimal string (see [`is_plain_decimal`]), never
/// through `f64`. rust_decimal's own parser also takes `_` between digits
/// (`1_000`), which no amount in a file or a form should be read as: it is refused
/// here first.
///
/// # Errors
/// Why the text is not a decimal (the text itself is not repeated).
pub(crate) fn parse_decimal(s: &str) -> std::result::Result<Decimal, String> {
    if !is_plain_decimal(s.as_bytes()) {
        return Err("expected an optional sign, digits and at most one `.`".into());
    }
    Decimal::from_str_exact(s).map_err(|e| e.to_string())
}

fn scaled_mantissa(amount: Decimal, scale: u32) -> Option<i128> {
    let own = amount.scale();
    let m = amount.mantissa();
    match own.cmp(&scale) {
        Ordering::Equal => Some(m),
        Ordering::Less => 10_i128
            .checked_pow(scale - own)
            .and_then(|p| m.checked_mul(p)),
        Ordering::Greater => {
            let p = 10_i128.checked_pow(own - scale)?;
            (m % p == 0).then(|| m / p)
        }
    }
}

impl fmt::Display for Money {
    /// `"1250.10 USD"`: the amount (not rounded) at least at the currency's minor
    /// units, a space, the currency; with a precision (`{:.2}`), the amount rounded
    /// half to even to exactly that many decimals. See [`Money`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match f.precision() {
            None => write!(f, "{} {}", self.amount_text(), self.currency),
            Some(p) => {
                let dp = u32::try_from(p).unwrap_or(u32::MAX);
                let mut rounded = self
                    .amount
                    .round_dp_with_strategy(dp, RoundingStrategy::MidpointNearestEven);
                if rounded.is_zero() {
                    rounded.set_sign_positive(true); // `-0.001` shows `0.00`, not `-0.00`
                }
                write!(f, "{} {}", padded(rounded, p), self.currency)
            }
        }
    }
}

/// `d` written with exactly `decimals` decimals (`d` has at most that many): zeros
/// are appended as text, so no scale limit applies.
fn padded(d: Decimal, decimals: usize) -> String {
    let mut s = d.to_string();
    let have = s.split_once('.').map_or(0, |(_, frac)| frac.len());
    if have < decimals {
        if have == 0 {
            s.push('.');
        }
        s.extend(std::iter::repeat_n('0', decimals - have));
    }
    s
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Money {
    type Err = Error;

    /// Parses `"12.50 USD"` (amount, whitespace, currency as in [`Currency::from_str`]).
    fn from_str(s: &str) -> Result<Money> {
        let mut it = s.split_whitespace();
        match (it.next(), it.next(), it.next()) {
            (Some(amount), Some(cur), None) => Money::parse(amount, cur.parse()?),
            _ => Err(Error::from(ErrorKind::InvalidParameter {
                name: "money",
                value: s.to_string(),
                reason: "expected `<amount> <currency>`, e.g. `12.50 USD`".into(),
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(s: &str) -> Money {
        Money::parse(s, Currency::USD).unwrap()
    }

    fn amounts(parts: &[Money]) -> Vec<String> {
        parts.iter().map(|p| p.amount().to_string()).collect()
    }

    #[test]
    fn table_is_sorted_for_binary_search() {
        assert!(KNOWN.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn currency_codes() {
        assert_eq!(Currency::from_code(" eur ").unwrap(), Currency::EUR);
        assert_eq!(Currency::from_code("KWD").unwrap().minor_units(), 3);
        assert!(matches!(
            Currency::from_code("US").map_err(|e| e.into_kind()),
            Err(ErrorKind::InvalidCurrency { .. })
        ));
        assert!(matches!(
            Currency::from_code("XYZ").map_err(|e| e.into_kind()),
            Err(ErrorKind::UnknownCurrency { .. })
        ));
        assert!(Currency::with_minor_units("XYZ", 19).is_err());
        let c: Currency = "usd:3".parse().unwrap();
        assert_eq!(c.to_string(), "USD:3");
        assert_eq!("USD:2".parse::<Currency>().unwrap(), Currency::USD);
    }

    #[test]
    fn arithmetic_is_checked() {
        let max = Money::new(Decimal::MAX, Currency::USD);
        assert_eq!(
            max.checked_add(&usd("1")),
            Err(Error::from(ErrorKind::Overflow {
                operation: "money addition"
            }))
        );
        assert!(usd("1").checked_sub(&Money::zero(Currency::EUR)).is_err());
        assert_eq!(usd("10").checked_div(Decimal::ZERO).unwrap(), None);
        assert_eq!(usd("10").ratio_to(&usd("0")).unwrap(), None);
        assert_eq!(
            usd("10").ratio_to(&usd("4")).unwrap(),
            Some(Decimal::new(25, 1))
        );
    }

    #[test]
    fn minor_units() {
        assert_eq!(usd("12.34").to_minor_units().unwrap(), 1234);
        assert_eq!(usd("12.3").to_minor_units().unwrap(), 1230);
        assert_eq!(usd("12.3400").to_minor_units().unwrap(), 1234);
        assert!(usd("12.345").to_minor_units().is_err());
        assert_eq!(
            Money::from_minor_units(-5, Currency::USD).unwrap(),
            usd("-0.05")
        );
        assert_eq!(usd("2.675").round_to_minor_units(), usd("2.68"));
        assert_eq!(usd("2.665").round_to_minor_units(), usd("2.66"));
    }

    #[test]
    fn allocation_examples() {
        let parts = usd("0.05")
            .allocate(&[Decimal::ONE, Decimal::new(3, 0)])
            .unwrap();
        assert_eq!(amounts(&parts), ["0.01", "0.04"]);
        // Negative totals keep their sign in every part.
        let parts = usd("-100").allocate(&[Decimal::ONE; 3]).unwrap();
        assert_eq!(amounts(&parts), ["-33.34", "-33.33", "-33.33"]);
        // Zero weights get nothing, even when units are left over.
        let parts = usd("1.00")
            .allocate(&[Decimal::ZERO, Decimal::ONE, Decimal::ONE, Decimal::ONE])
            .unwrap();
        assert_eq!(amounts(&parts), ["0.00", "0.34", "0.33", "0.33"]);
        // A total finer than the minor unit is split in its own unit.
        let parts = usd("0.005").allocate(&[Decimal::ONE; 2]).unwrap();
        assert_eq!(amounts(&parts), ["0.003", "0.002"]);
        // Tie on remainder: the larger weight wins, whatever the order.
        let a = Money::parse("2", Currency::JPY).unwrap();
        let p1 = a.allocate(&[Decimal::ONE, Decimal::new(3, 0)]).unwrap();
        let p2 = a.allocate(&[Decimal::new(3, 0), Decimal::ONE]).unwrap();
        assert_eq!(amounts(&p1), ["0", "2"]);
        assert_eq!(amounts(&p2), ["2", "0"]);
    }

    #[test]
    fn allocation_errors() {
        assert_eq!(
            usd("1").allocate(&[]),
            Err(Error::from(ErrorKind::ZeroWeights { count: 0 }))
        );
        assert_eq!(
            usd("1").allocate(&[Decimal::ZERO, Decimal::ZERO]),
            Err(Error::from(ErrorKind::ZeroWeights { count: 2 }))
        );
        assert!(matches!(
            usd("1")
                .allocate(&[Decimal::ONE, Decimal::NEGATIVE_ONE])
                .map_err(|e| e.into_kind()),
            Err(ErrorKind::InvalidWeight { index: 1, .. })
        ));
        assert!(matches!(
            usd("1")
                .allocate_f64(&[1.0, f64::INFINITY])
                .map_err(|e| e.into_kind()),
            Err(ErrorKind::InvalidWeight { index: 1, .. })
        ));
        assert!(matches!(
            usd("1").allocate_f64(&[-0.5]).map_err(|e| e.into_kind()),
            Err(ErrorKind::InvalidWeight { index: 0, .. })
        ));
        assert_eq!(
            usd("1").allocate_f64(&[0.0]),
            Err(Error::from(ErrorKind::ZeroWeights { count: 1 }))
        );
    }

    #[test]
    fn tiny_f64_weights_still_allocate() {
        let parts = usd("1.00").allocate_f64(&[1e-300, 3e-300]).unwrap();
        assert_eq!(amounts(&parts), ["0.25", "0.75"]);
    }

    /// One form for money everywhere: the amount at least at the currency's minor units
    /// (finer non-zero digits kept, trailing zeros beyond the minor units trimmed), the
    /// same text in `Display` (followed by the currency) and in serde.
    #[test]
    fn amount_is_shown_at_minor_units() {
        let jpy = |s: &str| Money::parse(s, Currency::JPY).unwrap();
        let kwd = |s: &str| Money::parse(s, Currency::from_code("KWD").unwrap()).unwrap();
        let cases = [
            (usd("0"), "0.00"),
            (Money::zero(Currency::USD), "0.00"),
            (usd("-0.00"), "0.00"),
            (usd("1"), "1.00"),
            (usd("12.3"), "12.30"),
            (usd("12.30"), "12.30"),
            (usd("12.3400"), "12.34"),
            (usd("-0.5"), "-0.50"),
            (usd("0.123400"), "0.1234"),
            (usd("1234567.891"), "1234567.891"),
            (jpy("1200"), "1200"),
            (jpy("1200.00"), "1200"),
            (jpy("12.50"), "12.5"),
            (kwd("1"), "1.000"),
            (kwd("1.23456"), "1.23456"),
        ];
        for (m, amount) in cases {
            assert_eq!(m.to_string(), format!("{amount} {}", m.currency()), "{m:?}");
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(
                json,
                format!(r#"{{"amount":"{amount}","currency":"{}"}}"#, m.currency())
            );
            assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
        }
        // An amount too large to carry cents is shown as it is (and reads back).
        let max = Money::new(Decimal::MAX, Currency::USD);
        assert_eq!(max.to_string(), format!("{} USD", Decimal::MAX));
        assert_eq!(max.to_string().parse::<Money>().unwrap(), max);
        let odd = Money::new(Decimal::ONE, Currency::with_minor_units("PTS", 4).unwrap());
        assert_eq!(odd.to_string(), "1.0000 PTS:4");
    }

    #[test]
    fn serde_and_text() {
        let m = usd("12.50");
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"amount":"12.50","currency":"USD"}"#);
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
        assert_eq!("12.50 USD".parse::<Money>().unwrap(), m);
        assert!("12.50".parse::<Money>().is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount":"1","currency":"ZZZ"}"#).is_err());
        // The same plain decimals as every other reader: no `_`, no exponent.
        for bad in ["1_000", "1e3", "1__0.5_0", ""] {
            let json = format!(r#"{{"amount":"{bad}","currency":"USD"}}"#);
            assert!(serde_json::from_str::<Money>(&json).is_err(), "{bad}");
        }
    }
}
