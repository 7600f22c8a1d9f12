//! Rates that keep their counts, with confidence intervals.

use crate::error::ErrorKind;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

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

/// Special functions for the statistics of revops, in `f64`, aiming at full double
/// precision (relative errors of a few units in the last place).
///
/// Conventions: functions are defined for the documented domains; outside them
/// (negative shape parameters, probabilities outside `[0, 1]`, `NaN` inputs) they
/// return `NaN` rather than panic.
pub(crate) mod special {
    use std::f64::consts::PI;

    /// `ln √(2π)`.
    const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;
    /// Smallest magnitude used to keep modified-Lentz continued fractions away
    /// from division by zero.
    const TINY: f64 = 1e-300;
    /// Iteration cap for series and continued fractions. Convergence needs about
    /// `√(a + b)` terms for the incomplete beta, so this covers counts far beyond
    /// 10¹⁰ trials.
    const MAX_TERMS: usize = 1 << 20;

    /// Lanczos approximation, g = 7, nine coefficients (Godfrey's set).
    const LANCZOS_G: f64 = 7.0;
    const LANCZOS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];

    /// The Lanczos sum `A(x − 1)` such that
    /// `Γ(x) = √(2π) · t^(x − ½) · e^(−t) · A(x − 1)` with `t = x + g − ½`,
    /// for `x ≥ ½`.
    fn lanczos_sum(x: f64) -> f64 {
        let z = x - 1.0;
        let mut sum = LANCZOS[0];
        for (i, c) in LANCZOS.iter().enumerate().skip(1) {
            sum += c / (z + i as f64);
        }
        sum
    }

    /// `ln Γ(x)` for `x > 0` (`NaN` otherwise; `+∞` at 0).
    pub(crate) fn ln_gamma(x: f64) -> f64 {
        if x.is_nan() || x < 0.0 {
            return f64::NAN;
        }
        if x == 0.0 {
            return f64::INFINITY;
        }
        if x < 0.5 {
            // Γ(x) = Γ(x + 1) / x keeps the Lanczos sum in its accurate range.
            return ln_gamma(x + 1.0) - x.ln();
        }
        let t = x + LANCZOS_G - 0.5;
        LN_SQRT_2PI + (x - 0.5) * t.ln() - t + lanczos_sum(x).ln()
    }

    /// Stirling's error term `ln Γ(x) − [(x − ½) ln x − x + ln √(2π)]`, for `x > 0`,
    /// computed without the cancellation of the direct difference.
    fn stirling_error(x: f64) -> f64 {
        if x < 0.5 {
            // From Γ(x) = Γ(x + 1) / x.
            return stirling_error(x + 1.0) + (x + 0.5) * (1.0 / x).ln_1p() - 1.0;
        }
        if x < 10.0 {
            // Lanczos form: (x − ½) ln(t / x) − (g − ½) + ln A, with t = x + g − ½.
            let gh = LANCZOS_G - 0.5;
            return (x - 0.5) * (gh / x).ln_1p() - gh + lanczos_sum(x).ln();
        }
        // Asymptotic Stirling series Σ B₂ₖ / (2k (2k − 1) x^(2k−1)), k = 1..10; the
        // first omitted term is below 2e-19 for x ≥ 10.
        const SERIES: [f64; 10] = [
            1.0 / 12.0,
            -1.0 / 360.0,
            1.0 / 1260.0,
            -1.0 / 1680.0,
            1.0 / 1188.0,
            -691.0 / 360_360.0,
            1.0 / 156.0,
            -3617.0 / 122_400.0,
            43_867.0 / 244_188.0,
            -174_611.0 / 125_400.0,
        ];
        let r = 1.0 / x;
        let r2 = r * r;
        r * SERIES.iter().rev().fold(0.0, |acc, c| acc * r2 + c)
    }

    /// The deviance term `x ln(x / m) + m − x ≥ 0`, accurate also when `x ≈ m`.
    fn deviance(x: f64, m: f64) -> f64 {
        if x == 0.0 {
            return m;
        }
        let d = x - m;
        if d.abs() < 0.1 * (x + m) {
            // With v = (x − m)/(x + m): ln(x/m) = 2 atanh v = 2(v + v³/3 + v⁵/5 + …),
            // which gives d·v + 2x(v³/3 + v⁵/5 + …).
            let v = d / (x + m);
            let v2 = v * v;
            let mut sum = d * v;
            let mut term = 2.0 * x * v;
            let mut j = 3.0;
            loop {
                term *= v2;
                let next = sum + term / j;
                if next == sum {
                    return next;
                }
                sum = next;
                j += 2.0;
            }
        }
        x * (x / m).ln() - d
    }

    /// `ln[x^a · y^b / B(a, b)]` with `y = 1 − x` given separately (for accuracy),
    /// through deviances and Stirling error terms, which avoids the cancellation
    /// between large `ln Γ` values when `a` and `b` are large.
    fn ln_beta_kernel(x: f64, y: f64, a: f64, b: f64) -> f64 {
        let c = a + b;
        -deviance(a, c * x) - deviance(b, c * y) + 0.5 * (a * b / c).ln() - LN_SQRT_2PI
            + stirling_error(c)
            - stirling_error(a)
            - stirling_error(b)
    }

    /// `ln g` for the continued fraction `g = 1 + d₁/(1 + d₂/(1 + d₃/(1 + …)))` of the
    /// incomplete beta function, `I_x(a, b) = x^a y^b / (a B(a, b) g)`, with
    ///
    /// `d₂ₘ₊₁ = −(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1))`,
    /// `d₂ₘ = m (b − m) x / ((a + 2m − 1)(a + 2m))`.
    ///
    /// It converges quickly for `x < (a + 1)/(a + b + 2)`. The fraction is evaluated
    /// in its odd-contracted form
    ///
    /// `g = (1 + d₁) − d₁d₂/((1 + d₂ + d₃) − d₃d₄/((1 + d₄ + d₅) − …))`
    ///
    /// by the modified Lentz method. The terms `1 + d₂ₘ₊₁` nearly cancel when `x` is
    /// close to the threshold; they are computed from whichever of `x` and `y = 1 − x`
    /// is at most ½ (hence known to full absolute precision), with a fused
    /// multiply-add, so that the result does not inherit the rounding of `x` near 1.
    fn ln_beta_cf(x: f64, y: f64, a: f64, b: f64) -> f64 {
        let odd = |m: f64| -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
        let even = |m: f64| m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        let one_plus_odd = |m: f64| {
            let den = (a + 2.0 * m) * (a + 2.0 * m + 1.0);
            let prod = (a + m) * (a + b + m);
            let num = if x <= 0.5 {
                (-prod).mul_add(x, den)
            } else {
                // den − prod = a (2m + 1 − b) + m (3m + 2 − b), then + prod · y.
                prod.mul_add(y, a * (2.0 * m + 1.0 - b) + m * (3.0 * m + 2.0 - b))
            };
            num / den
        };
        lentz(one_plus_odd(0.0), |m| {
            (-odd(m - 1.0) * even(m), one_plus_odd(m) + even(m))
        })
        .ln()
    }

    /// `b₀ + a₁/(b₁ + a₂/(b₂ + …))` by the modified Lentz method, where
    /// `terms(j) = (aⱼ, bⱼ)` for `j = 1, 2, …`; iterates until a step changes the
    /// value by less than one ulp (at most `MAX_TERMS` steps).
    fn lentz(b0: f64, terms: impl Fn(f64) -> (f64, f64)) -> f64 {
        let mut f = if b0.abs() < TINY { TINY } else { b0 };
        let mut c = f;
        let mut d = 0.0_f64;
        for j in 1..=MAX_TERMS {
            let (a, b) = terms(j as f64);
            d = b + a * d;
            if d.abs() < TINY {
                d = TINY;
            }
            c = b + a / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            let delta = c * d;
            f *= delta;
            if (delta - 1.0).abs() <= f64::EPSILON {
                break;
            }
        }
        f
    }

    /// `(ln I_x(a, b), ln[1 − I_x(a, b)], ln[x^a y^b / B(a, b)])` for `0 < x < 1`,
    /// `y = 1 − x`, `a, b > 0`.
    fn ln_beta_inc(x: f64, y: f64, a: f64, b: f64) -> (f64, f64, f64) {
        let kernel = ln_beta_kernel(x, y, a, b);
        if x < (a + 1.0) / (a + b + 2.0) {
            let ln_p = kernel - a.ln() - ln_beta_cf(x, y, a, b);
            (ln_p, (-ln_p.exp()).ln_1p(), kernel)
        } else {
            let ln_q = kernel - b.ln() - ln_beta_cf(y, x, b, a);
            ((-ln_q.exp()).ln_1p(), ln_q, kernel)
        }
    }

    /// The regularized incomplete beta function and its complement,
    /// `(I_x(a, b), 1 − I_x(a, b))`, for `a, b > 0` and `x` in `[0, 1]`.
    #[allow(dead_code)] // Part of the toolbox for other modules; tested below.
    pub(crate) fn beta_inc(x: f64, a: f64, b: f64) -> (f64, f64) {
        if x.is_nan() || !(a > 0.0 && b > 0.0) {
            return (f64::NAN, f64::NAN);
        }
        if x <= 0.0 {
            return (0.0, 1.0);
        }
        if x >= 1.0 {
            return (1.0, 0.0);
        }
        let (ln_p, ln_q, _) = ln_beta_inc(x, 1.0 - x, a, b);
        (ln_p.exp(), ln_q.exp())
    }

    /// Solves `I_x(a, b) = p` for `0 < p < 1`, returning `(x, 1 − x)`, both to full
    /// relative precision.
    ///
    /// The unknown `t` is `x` when the root is at most ½, else `1 − x`. Newton's
    /// method runs on `ln I` as a function of `ln t`: the density of `ln X` (and of
    /// `ln(1 − X)`) is log-concave for a beta variable `X`, so this function is
    /// concave, and the iterates approach the root monotonically after at most one
    /// overshoot, converging quadratically. Steps are applied to `t` itself
    /// (`t · e^(−step)`), so the result is not limited by the precision of `ln t`. A
    /// bracket guards the rare steps that underflow or leave it (far from the root,
    /// where `I` rounds to 1): those are replaced by bisection.
    fn beta_inverse(p: f64, a: f64, b: f64) -> (f64, f64) {
        let ln_target = p.ln();
        let (ln_p_half, _, _) = ln_beta_inc(0.5, 0.5, a, b);
        let lower_half = ln_target <= ln_p_half;
        let point = |t: f64| {
            if lower_half {
                (t, 1.0 - t)
            } else {
                (1.0 - t, t)
            }
        };
        // Bracket on t: the sign-adjusted error is negative at `lo`, positive at `hi`.
        let mut lo = f64::MIN_POSITIVE;
        let mut hi = 0.5;
        let sign = if lower_half { 1.0 } else { -1.0 };

        // Start from a normal approximation when both shapes are at least 1, else
        // from the power-law tail I_x(a, b) ≈ x^a / (a B(a, b)) (or its mirror).
        let mut t = f64::NAN;
        if a >= 1.0 && b >= 1.0 {
            let c = a + b;
            let sd = (a * b / (c + 1.0)).sqrt() / c;
            let z = norm_ppf(p);
            t = if lower_half {
                a / c + z * sd
            } else {
                b / c - z * sd
            };
        }
        if !(t > 0.0 && t < 0.5) {
            let ln_beta = ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b);
            t = if lower_half {
                ((ln_target + a.ln() + ln_beta) / a).exp()
            } else {
                (((-p).ln_1p() + b.ln() + ln_beta) / b).exp()
            };
        }
        if t.is_nan() {
            t = hi;
        }
        t = t.clamp(lo, hi);

        for _ in 0..200 {
            let (x, y) = point(t);
            let (ln_p, _, kernel) = ln_beta_inc(x, y, a, b);
            let h = ln_p - ln_target;
            let signed = sign * h;
            if signed == 0.0 {
                break;
            }
            if signed < 0.0 {
                lo = t;
            } else {
                hi = t;
            }
            // d ln I / d ln x = x f(x) / I = exp(kernel − ln y − ln I), and
            // d ln I / d ln y = −exp(kernel − ln x − ln I).
            let slope = if lower_half {
                (kernel - y.ln() - ln_p).exp()
            } else {
                -(kernel - x.ln() - ln_p).exp()
            };
            let mut next = t + t * (-h / slope).exp_m1();
            if !(next > lo && next < hi) {
                next = if hi > 4.0 * lo {
                    lo.sqrt() * hi.sqrt()
                } else {
                    0.5 * (lo + hi)
                };
            }
            let size = (next - t).abs();
            t = next;
            if size <= 2.0 * f64::EPSILON * t {
                break;
            }
        }
        point(t)
    }

    /// The `p`-quantile of the Beta(a, b) distribution: `x` with `I_x(a, b) = p`.
    pub(crate) fn beta_ppf(p: f64, a: f64, b: f64) -> f64 {
        if p.is_nan() || !(0.0..=1.0).contains(&p) || !(a > 0.0 && b > 0.0) {
            return f64::NAN;
        }
        if p == 0.0 {
            return 0.0;
        }
        if p == 1.0 {
            return 1.0;
        }
        beta_inverse(p, a, b).0
    }

    /// The inverse survival function of the Beta(a, b) distribution: `x` with
    /// `1 − I_x(a, b) = q`, accurate also when `x` is close to 1.
    pub(crate) fn beta_isf(q: f64, a: f64, b: f64) -> f64 {
        if q.is_nan() || !(0.0..=1.0).contains(&q) || !(a > 0.0 && b > 0.0) {
            return f64::NAN;
        }
        if q == 0.0 {
            return 1.0;
        }
        if q == 1.0 {
            return 0.0;
        }
        // 1 − X follows Beta(b, a): its q-quantile is 1 − x.
        beta_inverse(q, b, a).1
    }

    /// The regularized incomplete gamma functions `(P(a, x), Q(a, x))` for `a > 0`,
    /// `x ≥ 0`: a power series for `P` when `x < a + 1`, otherwise Legendre's
    /// continued fraction for `Q` (modified Lentz).
    pub(crate) fn gamma_inc(a: f64, x: f64) -> (f64, f64) {
        if x.is_nan() || a.is_nan() || a <= 0.0 || x < 0.0 {
            return (f64::NAN, f64::NAN);
        }
        if x == 0.0 {
            return (0.0, 1.0);
        }
        if x == f64::INFINITY {
            return (1.0, 0.0);
        }
        let ln_front = a * x.ln() - x - ln_gamma(a);
        if x < a + 1.0 {
            // P = x^a e^(−x) / Γ(a) · Σ xⁿ / (a (a + 1) ⋯ (a + n))
            let mut term = 1.0 / a;
            let mut sum = term;
            let mut n = 1.0;
            while term > sum * f64::EPSILON * 0.5 && n < MAX_TERMS as f64 {
                term *= x / (a + n);
                sum += term;
                n += 1.0;
            }
            let p = (ln_front + sum.ln()).exp();
            (p, 1.0 - p)
        } else {
            // Q = x^a e^(−x) / Γ(a) / (x + 1 − a − 1(1 − a)/(x + 3 − a − 2(2 − a)/(x + 5 − a − …)))
            // x ≥ a + 1, so the first term x + 1 − a is at least 2.
            let f = lentz(x + 1.0 - a, |j| (-j * (j - a), x + 2.0 * j + 1.0 - a));
            let q = (ln_front - f.ln()).exp();
            (1.0 - q, q)
        }
    }

    /// The complementary error function, `erfc(x) = Q(½, x²)` for `x ≥ 0`.
    #[allow(dead_code)] // Part of the toolbox for other modules; tested below.
    pub(crate) fn erfc(x: f64) -> f64 {
        let (p, q) = gamma_inc(0.5, x * x);
        if x >= 0.0 { q } else { 1.0 + p }
    }

    /// The standard normal survival function `1 − Φ(z) = ½ erfc(z / √2)`.
    pub(crate) fn norm_sf(z: f64) -> f64 {
        let (p, q) = gamma_inc(0.5, 0.5 * z * z);
        if z >= 0.0 { 0.5 * q } else { 0.5 + 0.5 * p }
    }

    /// The standard normal cumulative distribution function `Φ(z)`.
    #[allow(dead_code)] // Part of the toolbox for other modules; tested below.
    pub(crate) fn norm_cdf(z: f64) -> f64 {
        norm_sf(-z)
    }

    /// The standard normal density `φ(z)`.
    fn norm_pdf(z: f64) -> f64 {
        (-0.5 * z * z).exp() / (2.0 * PI).sqrt()
    }

    /// The inverse survival function of the standard normal: `z` with
    /// `1 − Φ(z) = q`, for `q` in `[0, 1]` (`±∞` at the ends).
    ///
    /// Starts from the rational approximation of Abramowitz & Stegun 26.2.23
    /// (error below 4.5e-4) and refines it with Halley steps on [`norm_sf`].
    pub(crate) fn norm_isf(q: f64) -> f64 {
        if q.is_nan() || !(0.0..=1.0).contains(&q) {
            return f64::NAN;
        }
        if q == 0.0 {
            return f64::INFINITY;
        }
        if q == 1.0 {
            return f64::NEG_INFINITY;
        }
        if q == 0.5 {
            return 0.0;
        }
        if q > 0.5 {
            return -norm_isf(1.0 - q);
        }
        let t = (-2.0 * q.ln()).sqrt();
        let mut z = t
            - (2.515_517 + t * (0.802_853 + t * 0.010_328))
                / (1.0 + t * (1.432_788 + t * (0.189_269 + t * 0.001_308)));
        for _ in 0..8 {
            let r = norm_sf(z) - q;
            let newton = r / norm_pdf(z);
            let step = newton / (1.0 - 0.5 * z * newton);
            z += step;
            if step.abs() <= f64::EPSILON * z.abs() {
                break;
            }
        }
        z
    }

    /// The standard normal quantile function `Φ⁻¹(p)`.
    pub(crate) fn norm_ppf(p: f64) -> f64 {
        -norm_isf(p)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn stirling_error_matches_reference_on_both_sides_of_the_switch() {
            // Reference values from 40-digit arithmetic.
            let cases = [
                (0.3, 0.236_064_900_748_215_6),
                (0.5, 0.153_426_409_720_027_36),
                (2.5, 0.033_162_873_519_936_29),
                (7.0, 0.011_896_709_945_891_77),
                (9.999, 0.008_331_396_020_466_343),
                (10.0, 0.008_330_563_433_362_87),
                (10.001, 0.008_329_731_012_595_083),
                (15.0, 0.005_554_733_551_962_801),
                (40.0, 0.002_083_289_938_302_421_8),
                (1000.5, 8.329_168_471_597_405e-5),
            ];
            for (x, want) in cases {
                // What matters is the absolute error: the term enters an exponent.
                let got = stirling_error(x);
                assert!((got - want).abs() < 5e-15, "x = {x}: {got:e} vs {want:e}");
            }
        }

        #[test]
        fn deviance_is_accurate_near_equality() {
            // x ln(x/m) + m − x ≈ (x − m)² / (2m) for x ≈ m.
            let (x, m) = (1000.0, 1000.001);
            let want = 0.001_f64.powi(2) / (2.0 * m);
            assert!(((deviance(x, m) - want) / want).abs() < 1e-5);
            assert_eq!(deviance(0.0, 3.0), 3.0);
            assert_eq!(deviance(2.0, 2.0), 0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::special::*;
    use super::*;

    /// Relative difference, with an absolute floor for values near 0.
    fn close(got: f64, want: f64, rel: f64) -> bool {
        (got - want).abs() <= rel * want.abs().max(1e-300) || (got - want).abs() <= 1e-300
    }

    #[track_caller]
    fn assert_close(got: f64, want: f64, rel: f64) {
        assert!(
            close(got, want, rel),
            "got {got:e}, want {want:e} (relative error {:e})",
            ((got - want) / want).abs()
        );
    }

    #[test]
    fn ln_gamma_known_values() {
        // Reference values from 40-digit arithmetic.
        let cases = [
            (0.5, 0.572_364_942_924_700_1),
            (1.5, -0.120_782_237_635_245_22),
            (3.7, 1.428_072_326_665_387_9),
            (10.5, 13.940_625_219_403_763),
            (100.25, 360.284_559_637_764_23),
            (8000.5, 63_898.493_498_620_66),
            (1e-5, 11.512_919_692_895_826),
            (0.1, 2.252_712_651_734_206),
        ];
        for (x, want) in cases {
            assert_close(ln_gamma(x), want, 1e-14);
        }
        assert!(ln_gamma(1.0).abs() < 1e-15);
        assert!(ln_gamma(2.0).abs() < 1e-15);
        // ln Γ(n) = ln (n − 1)!
        let mut ln_fact = 0.0_f64;
        for n in 2..30 {
            ln_fact += f64::from(n - 1).ln();
            assert_close(ln_gamma(f64::from(n)), ln_fact, 1e-14);
        }
        assert!(ln_gamma(-1.0).is_nan());
        assert_eq!(ln_gamma(0.0), f64::INFINITY);
    }

    #[test]
    fn beta_inc_known_values() {
        let cases = [
            (0.3, 2.5, 4.0, 0.352_197_585_906_767_25),
            (0.001, 0.5, 10.5, 0.113_895_757_913_531_78),
            (0.9, 10.5, 0.5, 0.141_553_091_812_886_94),
            (0.1, 842.0, 7159.0, 0.061_791_904_233_242_684),
            (0.5, 1000.0, 1000.0, 0.5),
            (1e-6, 0.5, 0.5, 0.000_636_619_878_470_924_5),
        ];
        for (x, a, b, want) in cases {
            let (p, q) = beta_inc(x, a, b);
            assert_close(p, want, 1e-13);
            assert_close(q, 1.0 - want, 1e-13);
        }
    }

    #[test]
    fn beta_inc_closed_forms() {
        // I_x(1, b) = 1 − (1 − x)^b and I_x(a, 1) = x^a.
        for x in [1e-8, 0.01, 0.2, 0.5, 0.77, 0.99] {
            for s in [0.5, 1.0, 2.0, 7.5, 60.0] {
                let (p, q) = beta_inc(x, 1.0, s);
                let q_want = (s * (-x).ln_1p()).exp();
                assert_close(q, q_want, 1e-13);
                assert_close(p, -(s * (-x).ln_1p()).exp_m1(), 1e-13);
                let (p, _) = beta_inc(x, s, 1.0);
                assert_close(p, x.powf(s), 1e-13);
            }
        }
        assert_eq!(beta_inc(0.0, 2.0, 3.0), (0.0, 1.0));
        assert_eq!(beta_inc(1.0, 2.0, 3.0), (1.0, 0.0));
        assert!(beta_inc(0.5, -1.0, 3.0).0.is_nan());
    }

    #[test]
    fn beta_quantiles_invert_the_cdf() {
        for (a, b) in [
            (0.5, 0.5),
            (0.5, 10.5),
            (10.5, 0.5),
            (1.0, 1.0),
            (3.0, 5.0),
            (842.5, 7158.5),
            (2.0, 1e6),
        ] {
            for p in [1e-12, 0.005, 0.025, 0.1, 0.5, 0.9, 0.975, 0.999] {
                let x = beta_ppf(p, a, b);
                let (got, _) = beta_inc(x, a, b);
                assert_close(got, p, 1e-12);
                // 1 − X follows Beta(b, a); the upper quantile is computed on that side,
                // where it is representable even when x rounds to 1.
                let x = beta_isf(p, a, b);
                assert!((x - (1.0 - beta_ppf(p, b, a))).abs() < 1e-15);
                if x < 0.99 {
                    let (_, got) = beta_inc(x, a, b);
                    assert_close(got, p, 1e-12);
                }
            }
        }
        // Closed forms: Beta(a, 1) quantile is p^(1/a); Beta(1, b) upper quantile is q^(1/b).
        assert_close(beta_ppf(0.025, 4.0, 1.0), 0.025_f64.powf(0.25), 1e-15);
        assert_close(beta_isf(0.025, 1.0, 4.0), 1.0 - 0.025_f64.powf(0.25), 1e-14);
        assert_close(beta_ppf(0.3, 1.0, 1.0), 0.3, 4e-15);
        assert_eq!(beta_ppf(0.0, 2.0, 2.0), 0.0);
        assert_eq!(beta_ppf(1.0, 2.0, 2.0), 1.0);
        assert!(beta_ppf(1.5, 2.0, 2.0).is_nan());
    }

    #[test]
    fn normal_functions_known_values() {
        assert_close(norm_isf(0.025), 1.959_963_984_540_054, 1e-15);
        assert_close(norm_isf(0.005), 2.575_829_303_548_901, 1e-15);
        assert_close(norm_isf(0.05), 1.644_853_626_951_472_6, 1e-15);
        assert_close(norm_isf(1e-10), 6.361_340_902_404_057, 1e-14);
        assert_close(norm_isf(0.3), 0.524_400_512_708_040_8, 1e-14);
        assert_eq!(norm_isf(0.5), 0.0);
        assert_close(norm_ppf(0.975), 1.959_963_984_540_054, 1e-15);
        assert_close(norm_ppf(0.025), -1.959_963_984_540_054, 1e-15);
        assert_eq!(norm_isf(0.0), f64::INFINITY);
        assert!(norm_isf(-0.1).is_nan());

        assert_close(erfc(1.0), 0.157_299_207_050_285_13, 1e-14);
        assert_close(erfc(3.0), 2.209_049_699_858_544e-5, 1e-14);
        assert_close(erfc(0.2), 0.777_297_410_789_521_5, 1e-14);
        assert_close(erfc(-1.0), 1.842_700_792_949_714_8, 1e-14);
        assert_close(erfc(10.0), 2.088_487_583_762_545e-45, 1e-13);
        assert_close(norm_cdf(0.0), 0.5, 1e-15);
        assert_close(norm_cdf(1.959_963_984_540_054), 0.975, 1e-15);
        assert_close(norm_sf(1.959_963_984_540_054), 0.025, 1e-14);
    }

    #[test]
    fn gamma_inc_closed_form() {
        // P(1, x) = 1 − e^(−x).
        for x in [1e-6, 0.3, 1.0, 2.5, 10.0, 40.0] {
            let (p, q) = gamma_inc(1.0, x);
            assert_close(q, (-x).exp(), 1e-14);
            assert_close(p, -(-x).exp_m1(), 1e-14);
        }
    }

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
