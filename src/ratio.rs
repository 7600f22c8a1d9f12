//! Rates that keep their counts, with confidence intervals.

use crate::error::ErrorKind;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

mod special;

/// A rate kept as its two counts: `numerator` successes out of `denominator` trials.
///
/// The numerator may exceed the denominator: flow measures (say, opportunities
/// created in a month divided by leads created in that month) can be above 100 %.
/// Such a ratio still has a [`value`](Ratio::value), but no binomial confidence
/// interval ([`is_proportion`](Ratio::is_proportion) is `false`).
///
/// `Ratio` is a monoid accumulator: [`Default`] is `0 / 0`, [`add`](Ratio::add)
/// records one trial, and [`merge`](Ratio::merge) adds another ratio's counts, so
/// partial ratios computed over chunks of data merge into the ratio of the whole.
///
/// ```
/// use revops::Ratio;
///
/// let mut march = Ratio::default();
/// for converted in [true, false, false, true] {
///     march.add(converted);
/// }
/// let april = Ratio::new(3, 6);
///
/// let mut spring = march;
/// spring.merge(&april);
/// assert_eq!(spring, Ratio::new(5, 10));
/// assert_eq!(spring.percent(), Some(50.0));
/// assert_eq!(Ratio::new(0, 0).value(), None);
/// ```
///
/// A conversion rate, a win rate or a response rate is reported in revops as a
/// [`Ratio`]: the two counts it was made of, not a bare `f64`. Keeping the counts
/// means that
///
/// * a rate over nothing is visibly "no data" ([`Ratio::value`] returns `None`
///   when the denominator is 0) instead of `NaN` or a misleading `0 %`;
/// * partial results can be combined exactly ([`Ratio::merge`] adds counts;
///   averaging percentages would be wrong);
/// * the uncertainty of the rate can be stated next to it, because a confidence
///   interval needs both `k` and `n` ([`Ratio::interval`]).
///
/// Three two-sided binomial intervals are offered, selected by [`IntervalMethod`]
/// and computed at a validated [`Confidence`] level. They reproduce the
/// conventions of `statsmodels.stats.proportion.proportion_confint` (methods
/// `"wilson"`, `"beta"` and `"jeffreys"`); the integration tests compare them to
/// reference values produced by statsmodels.
///
/// ```
/// use revops::{Confidence, IntervalMethod, Ratio};
/// # fn main() -> Result<(), revops::Error> {
/// let won = Ratio::new(45, 100);
/// assert_eq!(won.value(), Some(0.45));
/// assert_eq!(won.to_string(), "45 / 100 (45.0%)");
///
/// let ci = won
///     .interval(IntervalMethod::Wilson, Confidence::new(0.95)?)
///     .expect("0 < n and k <= n");
/// assert!(ci.contains(0.45));
/// assert!((ci.lower - 0.356_145_379_795_119_7).abs() < 1e-12);
/// assert!((ci.upper - 0.547_553_970_025_578_7).abs() < 1e-12);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Ratio {
    /// The count of successes (the `k` in `k / n`).
    pub numerator: u64,
    /// The count of trials (the `n` in `k / n`).
    pub denominator: u64,
}

impl Ratio {
    /// The ratio `numerator / denominator`.
    ///
    /// Any pair of counts is accepted, including a zero denominator and a numerator
    /// larger than the denominator.
    #[must_use]
    pub const fn new(numerator: u64, denominator: u64) -> Self {
        Ratio {
            numerator,
            denominator,
        }
    }

    /// The rate as a fraction (`0.25` for `1 / 4`), or `None` when the denominator
    /// is 0.
    ///
    /// The result is always finite: never `NaN` nor infinite.
    ///
    /// ```
    /// use revops::Ratio;
    /// assert_eq!(Ratio::new(1, 4).value(), Some(0.25));
    /// assert_eq!(Ratio::new(3, 2).value(), Some(1.5));
    /// assert_eq!(Ratio::new(0, 0).value(), None);
    /// ```
    #[must_use]
    pub fn value(&self) -> Option<f64> {
        if self.denominator == 0 {
            None
        } else {
            Some(self.numerator as f64 / self.denominator as f64)
        }
    }

    /// The rate in percent (`25.0` for `1 / 4`), or `None` when the denominator is 0.
    #[must_use]
    pub fn percent(&self) -> Option<f64> {
        self.value().map(|v| v * 100.0)
    }

    /// Whether the ratio is a proportion, i.e. `numerator <= denominator`.
    ///
    /// Only proportions have binomial confidence intervals. `0 / 0` counts as a
    /// proportion (of nothing), although it has neither a value nor an interval.
    #[must_use]
    pub const fn is_proportion(&self) -> bool {
        self.numerator <= self.denominator
    }

    /// Adds the counts of `other` to this ratio (the monoid operation).
    ///
    /// Both counts use saturating addition: they stop at `u64::MAX` instead of
    /// wrapping or panicking. Reaching that bound needs more than 1.8 × 10¹⁹
    /// records, so in practice merging is exact.
    pub fn merge(&mut self, other: &Ratio) {
        self.numerator = self.numerator.saturating_add(other.numerator);
        self.denominator = self.denominator.saturating_add(other.denominator);
    }

    /// Records one trial: the denominator grows by 1, and the numerator by 1 when
    /// `hit` is `true`.
    ///
    /// Like [`merge`](Ratio::merge), the counts saturate at `u64::MAX`.
    pub fn add(&mut self, hit: bool) {
        self.numerator = self.numerator.saturating_add(u64::from(hit));
        self.denominator = self.denominator.saturating_add(1);
    }

    /// A two-sided confidence interval for the underlying proportion.
    ///
    /// Returns `None` when the denominator is 0 (no data) or when the numerator
    /// exceeds the denominator (not a proportion). See [`IntervalMethod`] for the
    /// formulas and their conventions at `k = 0` and `k = n`.
    ///
    /// ```
    /// use revops::{Confidence, IntervalMethod, Ratio};
    /// # fn main() -> Result<(), revops::Error> {
    /// let conf = Confidence::new(0.9)?;
    /// let ci = Ratio::new(3, 7)
    ///     .interval(IntervalMethod::ClopperPearson, conf)
    ///     .expect("a proportion with data");
    /// assert!((ci.lower - 0.128_756_392_804_242_7).abs() < 1e-12);
    /// assert!((ci.upper - 0.774_678_415_967_552_3).abs() < 1e-12);
    ///
    /// assert_eq!(Ratio::new(0, 0).interval(IntervalMethod::Wilson, conf), None);
    /// assert_eq!(Ratio::new(5, 4).interval(IntervalMethod::Wilson, conf), None);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn interval(&self, method: IntervalMethod, confidence: Confidence) -> Option<Interval> {
        let (k, n) = (self.numerator, self.denominator);
        if n == 0 || k > n {
            return None;
        }
        let tail = confidence.alpha() / 2.0;
        let interval = match method {
            IntervalMethod::Wilson => wilson_interval(k, n, confidence.z()),
            IntervalMethod::ClopperPearson => clopper_pearson_interval(k, n, tail),
            IntervalMethod::Jeffreys => jeffreys_interval(k, n, tail),
        };
        Some(interval)
    }

    /// The Wilson score interval; shorthand for
    /// [`interval`](Ratio::interval)`(IntervalMethod::Wilson, confidence)`.
    ///
    /// ```
    /// use revops::{Confidence, Ratio};
    /// let ci = Ratio::new(0, 10).wilson(Confidence::P95).expect("a proportion");
    /// assert_eq!(ci.lower, 0.0);
    /// assert!((ci.upper - 0.277_532_799_862_889_3).abs() < 1e-12);
    /// ```
    #[must_use]
    pub fn wilson(&self, confidence: Confidence) -> Option<Interval> {
        self.interval(IntervalMethod::Wilson, confidence)
    }

    /// The Clopper–Pearson ("exact") interval; shorthand for
    /// [`interval`](Ratio::interval)`(IntervalMethod::ClopperPearson, confidence)`.
    ///
    /// ```
    /// use revops::{Confidence, Ratio};
    /// let ci = Ratio::new(1, 1).clopper_pearson(Confidence::P95).expect("a proportion");
    /// assert!((ci.lower - 0.025).abs() < 1e-15);
    /// assert_eq!(ci.upper, 1.0);
    /// ```
    #[must_use]
    pub fn clopper_pearson(&self, confidence: Confidence) -> Option<Interval> {
        self.interval(IntervalMethod::ClopperPearson, confidence)
    }

    /// The Jeffreys interval; shorthand for
    /// [`interval`](Ratio::interval)`(IntervalMethod::Jeffreys, confidence)`.
    ///
    /// ```
    /// use revops::{Confidence, Ratio};
    /// let ci = Ratio::new(1, 10).jeffreys(Confidence::P95).expect("a proportion");
    /// assert!((ci.lower - 0.011_011_673_763_161_13).abs() < 1e-12);
    /// assert!((ci.upper - 0.381_314_771_066_616_4).abs() < 1e-12);
    /// ```
    #[must_use]
    pub fn jeffreys(&self, confidence: Confidence) -> Option<Interval> {
        self.interval(IntervalMethod::Jeffreys, confidence)
    }
}

/// Shows the counts next to the percentage, with one decimal: `"45 / 100 (45.0%)"`,
/// or `"0 / 0 (n/a)"` when the denominator is 0.
///
/// ```
/// use revops::Ratio;
/// assert_eq!(Ratio::new(1, 3).to_string(), "1 / 3 (33.3%)");
/// assert_eq!(Ratio::new(0, 0).to_string(), "0 / 0 (n/a)");
/// ```
impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.percent() {
            Some(pct) => write!(f, "{} / {} ({pct:.1}%)", self.numerator, self.denominator),
            None => write!(f, "{} / {} (n/a)", self.numerator, self.denominator),
        }
    }
}

/// Wilson score interval without continuity correction, evaluated in the same
/// order as statsmodels, clipped to `[0, 1]`, with the exact endpoints at `k = 0`
/// and `k = n`.
fn wilson_interval(k: u64, n: u64, z: f64) -> Interval {
    let nf = n as f64;
    let p = k as f64 / nf;
    let z2 = z * z;
    let denom = 1.0 + z2 / nf;
    let center = (p + z2 / (2.0 * nf)) / denom;
    let dist = z * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt() / denom;
    let lower = if k == 0 {
        0.0
    } else {
        (center - dist).clamp(0.0, 1.0)
    };
    let upper = if k == n {
        1.0
    } else {
        (center + dist).clamp(0.0, 1.0)
    };
    Interval { lower, upper }
}

/// Clopper–Pearson interval from beta quantiles, with lower = 0 at `k = 0` and
/// upper = 1 at `k = n`.
fn clopper_pearson_interval(k: u64, n: u64, tail: f64) -> Interval {
    let (kf, nf) = (k as f64, n as f64);
    let lower = if k == 0 {
        0.0
    } else {
        special::beta_ppf(tail, kf, nf - kf + 1.0)
    };
    let upper = if k == n {
        1.0
    } else {
        special::beta_isf(tail, kf + 1.0, nf - kf)
    };
    Interval { lower, upper }
}

/// Jeffreys interval: equal-tailed quantiles of Beta(k + ½, n − k + ½), with no
/// special case at `k = 0` or `k = n` (as statsmodels).
fn jeffreys_interval(k: u64, n: u64, tail: f64) -> Interval {
    let a = k as f64 + 0.5;
    let b = (n - k) as f64 + 0.5;
    Interval {
        lower: special::beta_ppf(tail, a, b),
        upper: special::beta_isf(tail, a, b),
    }
}

/// A confidence level strictly between 0 and 1, such as `0.95`.
///
/// The level is validated when the value is built ([`Confidence::new`],
/// [`Confidence::from_alpha`], or deserialisation), so every `Confidence` is usable.
/// It serialises as the bare number (`0.95`).
///
/// ```
/// use revops::Confidence;
/// # fn main() -> Result<(), revops::Error> {
/// let conf = Confidence::new(0.9)?;
/// assert_eq!(conf.level(), 0.9);
/// assert!((conf.alpha() - 0.1).abs() < 1e-15);
/// assert_eq!(Confidence::default(), Confidence::P95);
/// assert!(Confidence::new(1.0).is_err());
///
/// let parsed: Confidence = serde_json::from_str("0.99")?;
/// assert_eq!(parsed, Confidence::P99);
/// assert!(serde_json::from_str::<Confidence>("1.5").is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Confidence(f64);

impl Confidence {
    /// 90 % confidence.
    pub const P90: Confidence = Confidence(0.90);
    /// 95 % confidence (the [`Default`]).
    pub const P95: Confidence = Confidence(0.95);
    /// 99 % confidence.
    pub const P99: Confidence = Confidence(0.99);

    /// A confidence level, such as `0.95`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) named `"confidence"` when `level` is not a finite
    /// number strictly between 0 and 1.
    pub fn new(level: f64) -> Result<Confidence> {
        if level.is_finite() && level > 0.0 && level < 1.0 {
            Ok(Confidence(level))
        } else {
            Err(Error::from(ErrorKind::InvalidParameter {
                name: "confidence",
                value: level.to_string(),
                reason: "a confidence level must be a finite number strictly between 0 and 1"
                    .to_owned(),
            }))
        }
    }

    /// The confidence level `1 − alpha` for a significance level `alpha`, such as
    /// `0.05`.
    ///
    /// ```
    /// use revops::Confidence;
    /// # fn main() -> Result<(), revops::Error> {
    /// assert_eq!(Confidence::from_alpha(0.05)?, Confidence::P95);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) named `"alpha"` when `alpha` is not a finite number
    /// strictly between 0 and 1, or is so small that `1 − alpha` rounds to 1.
    pub fn from_alpha(alpha: f64) -> Result<Confidence> {
        let level = 1.0 - alpha;
        if alpha.is_finite() && alpha > 0.0 && alpha < 1.0 && level < 1.0 {
            Ok(Confidence(level))
        } else {
            Err(Error::from(ErrorKind::InvalidParameter {
                name: "alpha",
                value: alpha.to_string(),
                reason: "a significance level must be a finite number strictly between 0 and 1 \
                         (and not so small that 1 - alpha rounds to 1)"
                    .to_owned(),
            }))
        }
    }

    /// The confidence level, in `(0, 1)`.
    #[must_use]
    pub const fn level(self) -> f64 {
        self.0
    }

    /// The significance level `1 − level`, in `(0, 1)`; each tail of a two-sided
    /// interval holds `alpha / 2`.
    #[must_use]
    pub fn alpha(self) -> f64 {
        1.0 - self.0
    }

    /// The two-sided normal quantile `Φ⁻¹(1 − α/2)`. The three named levels use
    /// the correctly rounded quantiles of their nominal tails (unit-tested to agree
    /// with the computed ones within 4 ulps), so the common Wilson intervals skip the
    /// quantile iteration.
    fn z(self) -> f64 {
        const STORED: [(f64, f64); 3] = [(0.90, Z90), (0.95, Z95), (0.99, Z99)];
        STORED
            .iter()
            .find(|(level, _)| *level == self.0)
            .map_or_else(|| special::norm_isf(self.alpha() / 2.0), |&(_, z)| z)
    }
}

const Z90: f64 = 1.6448536269514722;
const Z95: f64 = 1.959963984540054;
const Z99: f64 = 2.5758293035489004;

/// 95 %.
impl Default for Confidence {
    fn default() -> Self {
        Confidence::P95
    }
}

impl TryFrom<f64> for Confidence {
    type Error = Error;

    /// Same as [`Confidence::new`].
    fn try_from(level: f64) -> Result<Confidence> {
        Confidence::new(level)
    }
}

impl From<Confidence> for f64 {
    fn from(confidence: Confidence) -> f64 {
        confidence.0
    }
}

/// How a binomial confidence interval is computed from `k` successes in `n` trials.
///
/// Below, `p̂ = k / n`, `α = 1 − level`, `z` is the standard normal quantile
/// `Φ⁻¹(1 − α/2)` and `B(q; a, b)` is the `q`-quantile of the Beta(a, b)
/// distribution. All three follow `statsmodels`' `proportion_confint` (methods
/// `"wilson"`, `"beta"`, `"jeffreys"`).
///
/// The default is [`Wilson`](IntervalMethod::Wilson): its coverage stays close to
/// the nominal level across rates and sample sizes (unlike the textbook
/// `p̂ ± z·√(p̂(1−p̂)/n)` interval, which collapses at rates near 0 or 1 and is not
/// offered), it is never degenerate, it has a closed form, and it is narrower
/// than Clopper–Pearson, whose guarantee of *at least* nominal coverage makes it
/// conservative. Serialised in `snake_case`: `"wilson"`, `"clopper_pearson"`,
/// `"jeffreys"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalMethod {
    /// Wilson score interval, without continuity correction:
    ///
    /// `(p̂ + z²/(2n) ± z·√(p̂(1−p̂)/n + z²/(4n²))) / (1 + z²/n)`,
    ///
    /// the set of rates `p` that a two-sided score test at level α would not reject.
    /// Clipped to `[0, 1]`; the lower bound is exactly 0 at `k = 0` and the upper
    /// bound exactly 1 at `k = n`.
    #[default]
    Wilson,
    /// Clopper–Pearson ("exact") interval, by inverting two one-sided binomial tests:
    ///
    /// `[B(α/2; k, n−k+1), B(1−α/2; k+1, n−k)]`,
    ///
    /// with lower = 0 when `k = 0` and upper = 1 when `k = n`. Its coverage is at
    /// least the nominal level for every rate, hence it is the widest of the three.
    ClopperPearson,
    /// Jeffreys interval: the equal-tailed credible interval of the Beta(½, ½)
    /// (Jeffreys) prior updated with the data,
    ///
    /// `[B(α/2; k+½, n−k+½), B(1−α/2; k+½, n−k+½)]`.
    ///
    /// As in statsmodels, the bounds are *not* forced to 0 at `k = 0` nor to 1 at
    /// `k = n`; the interval then does not contain `p̂` itself (for example
    /// `0 / 10` at 95 % gives `[4.8e-5, 0.217]`).
    Jeffreys,
}

/// A closed interval `[lower, upper]`, such as a confidence interval for a rate.
///
/// ```
/// use revops::Interval;
/// let ci = Interval { lower: 0.2, upper: 0.5 };
/// assert!(ci.contains(0.2) && ci.contains(0.5) && !ci.contains(0.6));
/// assert!((ci.width() - 0.3).abs() < 1e-15);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// The lower bound.
    pub lower: f64,
    /// The upper bound.
    pub upper: f64,
}

impl Interval {
    /// Whether `lower <= x <= upper` (bounds included). Always `false` for `NaN`.
    #[must_use]
    pub fn contains(&self, x: f64) -> bool {
        self.lower <= x && x <= self.upper
    }

    /// `upper − lower`.
    #[must_use]
    pub fn width(&self) -> f64 {
        self.upper - self.lower
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_normal_quantiles_equal_computed_ones() {
        // The stored values are the quantiles of the nominal tails (0.05, 0.025, 0.005),
        // which `1 - level` only approximates in floating point.
        for (c, tail, z) in [
            (Confidence::P90, 0.05, Z90),
            (Confidence::P95, 0.025, Z95),
            (Confidence::P99, 0.005, Z99),
        ] {
            let computed = special::norm_isf(tail);
            assert!(
                (computed - z).abs() <= 4.0 * f64::EPSILON * z,
                "{computed} vs {z}"
            );
            assert_eq!(c.z().to_bits(), z.to_bits());
        }
        let c = Confidence::new(0.8).unwrap();
        assert_eq!(c.z(), special::norm_isf(0.1));
    }

    #[test]
    fn zero_denominator_has_no_value_nor_interval() {
        let r = Ratio::new(0, 0);
        assert_eq!(r.value(), None);
        assert_eq!(r.percent(), None);
        assert_eq!(r.to_string(), "0 / 0 (n/a)");
        for method in [
            IntervalMethod::Wilson,
            IntervalMethod::ClopperPearson,
            IntervalMethod::Jeffreys,
        ] {
            assert_eq!(r.interval(method, Confidence::P95), None);
        }
    }

    #[test]
    fn numerator_above_denominator_has_value_but_no_interval() {
        let r = Ratio::new(7, 4);
        assert_eq!(r.value(), Some(1.75));
        assert!(!r.is_proportion());
        assert_eq!(r.to_string(), "7 / 4 (175.0%)");
        assert_eq!(r.wilson(Confidence::P95), None);
        assert_eq!(r.clopper_pearson(Confidence::P95), None);
        assert_eq!(r.jeffreys(Confidence::P95), None);
    }

    #[test]
    fn invalid_confidence_levels_are_errors() {
        for level in [0.0, 1.0, -0.5, 1.5, f64::NAN, f64::INFINITY] {
            match Confidence::new(level).map_err(|e| e.into_kind()) {
                Err(ErrorKind::InvalidParameter { name, .. }) => assert_eq!(name, "confidence"),
                other => panic!("level {level}: expected an error, got {other:?}"),
            }
        }
        for alpha in [0.0, 1.0, f64::NAN, 1e-20] {
            match Confidence::from_alpha(alpha).map_err(|e| e.into_kind()) {
                Err(ErrorKind::InvalidParameter { name, .. }) => assert_eq!(name, "alpha"),
                other => panic!("alpha {alpha}: expected an error, got {other:?}"),
            }
        }
        assert!(serde_json::from_str::<Confidence>("0").is_err());
        assert_eq!(serde_json::to_string(&Confidence::P90).unwrap(), "0.9");
    }

    #[test]
    fn accumulator_saturates() {
        let mut r = Ratio::new(u64::MAX - 1, u64::MAX);
        r.add(true);
        r.add(true);
        assert_eq!(r, Ratio::new(u64::MAX, u64::MAX));
        r.merge(&Ratio::new(5, 5));
        assert_eq!(r, Ratio::new(u64::MAX, u64::MAX));
    }

    #[test]
    fn serde_shapes() {
        let json = serde_json::to_string(&Ratio::new(3, 8)).unwrap();
        assert_eq!(json, r#"{"numerator":3,"denominator":8}"#);
        assert_eq!(
            serde_json::to_string(&IntervalMethod::ClopperPearson).unwrap(),
            r#""clopper_pearson""#
        );
        assert_eq!(IntervalMethod::default(), IntervalMethod::Wilson);
    }

    #[test]
    fn large_counts_are_handled() {
        // A billion trials: intervals stay ordered, inside [0, 1] and around p̂.
        let r = Ratio::new(123_456_789, 1_000_000_000);
        for method in [
            IntervalMethod::Wilson,
            IntervalMethod::ClopperPearson,
            IntervalMethod::Jeffreys,
        ] {
            let ci = r.interval(method, Confidence::P99).unwrap();
            assert!(
                ci.lower < 0.123_456_789 && 0.123_456_789 < ci.upper,
                "{method:?}"
            );
            assert!(ci.width() < 1e-4);
        }
    }
}
