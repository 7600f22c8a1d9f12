//! The quantile sketch: relative-error quantiles in memory that grows with the range of the values.

use crate::error::ErrorKind;
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use super::histogram::Layout;
use super::summary::{SUMMARY_LEVELS, mean_of};
use super::{BinRule, Histogram, QuantileAccuracy, Summary, check_level, seconds_of};
use crate::accumulate::{Accumulator, StateVersion};
use crate::{Error, Result};

/// A mergeable quantile sketch with a relative-error guarantee, for durations
/// spanning seconds to years.
///
/// # How it works
///
/// The sketch follows DDSketch (Masson, Rim & Lee, *DDSketch: a fast and
/// fully-mergeable quantile sketch with relative-error guarantees*, VLDB 2019).
/// For a relative accuracy α in `(0, 1)`, let `γ = (1 + α) / (1 − α)`. A value
/// `x ≥ 1` goes to bucket `i = ⌈log_γ x⌉`, which holds the values in
/// `(γ^(i−1), γ^i]`; zero has its own counter. Buckets keep exact counts, in a
/// dense vector from the lowest bucket in use to the highest, so memory grows with
/// `ln(max / min) / ln γ ≈ ln(max / min) / (2α)`: about 900 buckets (7 KiB) for
/// values from one second to three years at the default α = 1 %. Count, sum,
/// minimum and maximum are kept exactly beside the buckets.
///
/// # Guarantee
///
/// Let the `n` recorded values, sorted ascending, be `x[0] ≤ … ≤ x[n−1]`, and
/// `r = ⌊q·(n − 1)⌋` (computed in `f64`, capped at `n − 1`). Then
/// [`quantile(q)`](Self::quantile) returns a value `v` with
///
/// `|v − x[r]| ≤ α · x[r]`
///
/// up to floating-point rounding in the logarithms and powers of γ, which can
/// push the error past `α · x[r]` by at most about `10⁻¹³ · x[r]` (well under a
/// millisecond for a century). The returned value is the bucket's representative
/// `(1 − α)·γ^i = 2γ^i / (1 + γ)`, whose relative distance to any value of the
/// bucket is at most α, clamped to the exact `[min, max]` (which only brings it
/// closer). Zeros, the minimum (rank 0) and the maximum (rank `n − 1`) are
/// returned exactly: `q = 0` gives the exact minimum, `q = 1` the exact maximum,
/// and a single recorded value is returned exactly at every level.
///
/// # Merging
///
/// Merging adds bucket counts, so it is exactly associative and commutative:
/// any split of the data, merged in any order, gives a sketch equal (`==`) to the
/// sketch of all the data in one pass, with identical quantiles. Only sketches of
/// the same α can be merged.
///
/// It follows the [`Accumulator`] contract: the option (α) is given at creation
/// ([`with_relative_accuracy`](Self::with_relative_accuracy), or [`Default`] for
/// 1 %), kept in the state, and [`merge`](Self::merge) refuses a sketch of another
/// α. A `u64` duration cannot be invalid, so the inherent `add` and `add_batch`
/// return nothing (the trait's return `Ok`).
///
/// # Serialised form
///
/// `{"version": 1, "relative_accuracy": 0.01, "count": 3, "sum": 90, "min": 10,
/// "max": 50, "zero_count": 0, "first_bucket": 116, "buckets": [1, 0, …, 1]}`:
/// the state version ([`STATE_VERSION`](Accumulator::STATE_VERSION), refused when
/// it is another number), α, the exact count, sum, minimum and maximum (`null` when
/// empty), the count of zeros, and the counts of the buckets from the first
/// non-empty one to the last. A state read back is checked for consistency (the
/// counts add up, the extremes lie in the outer buckets).
///
/// Equality compares α, the exact count, sum, minimum and maximum, the zero
/// count and the non-empty buckets (not the spare capacity of the bucket vector).
///
/// ```
/// use revops::distribution::QuantileSketch;
/// # fn main() -> Result<(), revops::Error> {
/// let mut a = QuantileSketch::with_relative_accuracy(0.02)?;
/// let mut b = QuantileSketch::with_relative_accuracy(0.02)?;
/// a.add_batch(&[60, 3_600, 86_400]);
/// b.add_batch(&[7 * 86_400, 30 * 86_400]);
/// a.merge(&b)?;
///
/// let median = a.quantile(0.5)?.expect("not empty");
/// assert!((median - 86_400.0).abs() <= 0.02 * 86_400.0);
/// assert_eq!(a.quantile(1.0)?, Some(2_592_000.0)); // the exact maximum
///
/// // Sketches of different accuracy do not mix.
/// assert!(a.merge(&QuantileSketch::default()).is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "SketchRepr", into = "SketchRepr")]
pub struct QuantileSketch {
    /// Relative accuracy α.
    alpha: f64,
    /// `ln γ`.
    pub(super) ln_gamma: f64,
    /// `1 / ln γ`.
    inv_ln_gamma: f64,
    /// Bucket index of `bins[0]`.
    offset: usize,
    /// Counts of buckets `offset, offset + 1, …`; may hold zeros at both ends.
    pub(super) bins: Vec<u64>,
    /// Count of zero values.
    zero_count: u64,
    /// Count of all values.
    count: u64,
    /// Exact sum of all values.
    sum: u128,
    /// Smallest value (`u64::MAX` when empty).
    min: u64,
    /// Largest value (0 when empty).
    max: u64,
}

impl QuantileSketch {
    /// The relative accuracy of [`QuantileSketch::default`]: 1 %.
    pub const DEFAULT_RELATIVE_ACCURACY: f64 = 0.01;

    /// The finest accepted relative accuracy, 10⁻⁴. Finer sketches would hold
    /// hundreds of thousands of buckets; use an [`ExactDistribution`](crate::distribution::ExactDistribution) instead.
    pub const MIN_RELATIVE_ACCURACY: f64 = 1e-4;

    /// An empty sketch whose quantiles are within relative error `alpha` (see the
    /// [guarantee](QuantileSketch#guarantee)).
    ///
    /// ```
    /// use revops::distribution::QuantileSketch;
    /// # fn main() -> Result<(), revops::Error> {
    /// let s = QuantileSketch::with_relative_accuracy(0.005)?;
    /// assert_eq!(s.relative_accuracy(), 0.005);
    /// assert!(QuantileSketch::with_relative_accuracy(1.0).is_err());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter)(crate::Error::InvalidParameter) named `"relative_accuracy"` when `alpha` is not
    /// a finite number in
    /// [`[MIN_RELATIVE_ACCURACY, 1)`](Self::MIN_RELATIVE_ACCURACY).
    pub fn with_relative_accuracy(alpha: f64) -> Result<Self> {
        if !(Self::MIN_RELATIVE_ACCURACY..1.0).contains(&alpha) {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "relative_accuracy",
                value: alpha.to_string(),
                reason: format!(
                    "a relative accuracy must be at least {} and below 1",
                    Self::MIN_RELATIVE_ACCURACY
                ),
            }));
        }
        // ln γ = ln(1 + α) − ln(1 − α), accurate for small α.
        let ln_gamma = alpha.ln_1p() - (-alpha).ln_1p();
        Ok(QuantileSketch {
            alpha,
            ln_gamma,
            inv_ln_gamma: 1.0 / ln_gamma,
            offset: 0,
            bins: Vec::new(),
            zero_count: 0,
            count: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        })
    }

    /// The relative accuracy α of the sketch.
    #[must_use]
    pub fn relative_accuracy(&self) -> f64 {
        self.alpha
    }

    /// Records one duration in seconds.
    pub fn add(&mut self, seconds: u64) {
        self.count = self.count.saturating_add(1);
        self.sum = self.sum.saturating_add(u128::from(seconds));
        self.min = self.min.min(seconds);
        self.max = self.max.max(seconds);
        if seconds == 0 {
            self.zero_count = self.zero_count.saturating_add(1);
            return;
        }
        let i = self.bucket_of(seconds);
        // Wraps to a huge position when `i < offset`, which `ensure` then handles.
        let mut k = i.wrapping_sub(self.offset);
        if k >= self.bins.len() {
            self.ensure(i);
            k = i - self.offset;
        }
        self.bins[k] = self.bins[k].saturating_add(1);
    }

    /// Records every duration of a slice.
    pub fn add_batch(&mut self, seconds: &[u64]) {
        for &x in seconds {
            self.add(x);
        }
    }

    /// Records a [`TimeDelta`], truncated to whole seconds (its sub-second part is
    /// dropped).
    ///
    /// ```
    /// use chrono::TimeDelta;
    /// use revops::distribution::QuantileSketch;
    /// # fn main() -> Result<(), revops::Error> {
    /// let mut s = QuantileSketch::default();
    /// s.add_duration(TimeDelta::hours(36))?;
    /// assert_eq!(s.sum(), 129_600);
    /// assert!(s.add_duration(TimeDelta::hours(-1)).is_err());
    /// assert_eq!(s.count(), 1);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter)(crate::Error::InvalidParameter) named `"duration"` when `delta` is negative;
    /// nothing is recorded then.
    pub fn add_duration(&mut self, delta: TimeDelta) -> Result<()> {
        self.add(seconds_of(delta)?);
        Ok(())
    }

    /// Adds the counts of `other` to this sketch (the monoid operation).
    ///
    /// Counts saturate at `u64::MAX` (and the sum at `u128::MAX`) rather than
    /// wrap; no real data set comes near.
    ///
    /// ```
    /// use revops::distribution::QuantileSketch;
    /// # fn main() -> Result<(), revops::Error> {
    /// let (mut a, mut b, mut all) = (QuantileSketch::default(), QuantileSketch::default(), QuantileSketch::default());
    /// for x in 1..=1_000u64 {
    ///     if x % 3 == 0 { a.add(x) } else { b.add(x) }
    ///     all.add(x);
    /// }
    /// a.merge(&b)?;
    /// assert_eq!(a, all); // identical buckets, hence identical quantiles
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::MergeMismatch`](crate::error::ErrorKind::MergeMismatch) when the two
    /// sketches have different relative accuracies; `self` is unchanged then.
    pub fn merge(&mut self, other: &Self) -> Result<()> {
        if self.alpha != other.alpha {
            return Err(Error::from(ErrorKind::MergeMismatch {
                what: "quantile sketch",
                reason: format!("relative accuracy {}, this one {}", other.alpha, self.alpha),
            }));
        }
        self.count = self.count.saturating_add(other.count);
        self.sum = self.sum.saturating_add(other.sum);
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.zero_count = self.zero_count.saturating_add(other.zero_count);
        if let Some((lo, hi)) = other.used_range() {
            self.ensure(other.offset + lo);
            self.ensure(other.offset + hi);
            let start = other.offset + lo - self.offset;
            for (mine, &theirs) in self.bins[start..].iter_mut().zip(&other.bins[lo..=hi]) {
                *mine = mine.saturating_add(theirs);
            }
        }
        Ok(())
    }

    /// The number of values.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether no value has been recorded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The exact sum of the values, in seconds.
    #[must_use]
    pub fn sum(&self) -> u128 {
        self.sum
    }

    /// The number of values equal to zero (they are counted apart from the
    /// buckets).
    #[must_use]
    pub fn zero_count(&self) -> u64 {
        self.zero_count
    }

    /// The non-empty buckets as `(index, count)`, by increasing index. Bucket `i`
    /// holds the values in `(γ^(i−1), γ^i]`, `γ = (1 + α) / (1 − α)`; zeros are in
    /// [`zero_count`](Self::zero_count).
    ///
    /// ```
    /// use revops::distribution::QuantileSketch;
    /// let mut s = QuantileSketch::default();
    /// s.add_batch(&[0, 1, 1, 100]);
    /// let buckets: Vec<_> = s.buckets().collect();
    /// assert_eq!(buckets[0], (0, 2)); // bucket 0 is (1/γ, 1]: the value 1
    /// assert_eq!(buckets.len(), 2);
    /// assert_eq!(s.zero_count(), 1);
    /// ```
    pub fn buckets(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.bins
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c > 0)
            .map(|(k, &c)| (self.offset + k, c))
    }

    /// The sketched `q`-quantile: within relative error α of the lower-rank
    /// order statistic `x[⌊q·(n − 1)⌋]` (see the
    /// [guarantee](QuantileSketch#guarantee)), or `None` when the sketch is empty.
    ///
    /// ```
    /// use revops::distribution::QuantileSketch;
    /// # fn main() -> Result<(), revops::Error> {
    /// let s: QuantileSketch = (1..=100u64).map(|d| d * 86_400).collect();
    /// // Lower rank ⌊0.5 · 99⌋ = 49: the 50th value, 50 days.
    /// let median = s.quantile(0.5)?.expect("not empty");
    /// assert!((median - 50.0 * 86_400.0).abs() <= 0.01 * 50.0 * 86_400.0);
    /// assert_eq!(s.quantile(0.0)?, Some(86_400.0)); // the exact minimum
    /// assert_eq!(QuantileSketch::default().quantile(0.5)?, None);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter)(crate::Error::InvalidParameter) named `"q"` when `q` is not in `[0, 1]` (or is
    /// `NaN`).
    pub fn quantile(&self, q: f64) -> Result<Option<f64>> {
        check_level(q)?;
        if self.count == 0 {
            return Ok(None);
        }
        Ok(Some(self.value_at_rank(self.lower_rank(q))))
    }

    /// The summary of the values, or `None` when the sketch is empty. Count,
    /// mean, minimum and maximum are exact; the quantiles are sketched, as
    /// [`quantile`](Self::quantile), and the summary's
    /// [`accuracy`](Summary::accuracy) says so.
    ///
    /// ```
    /// use revops::distribution::QuantileSketch;
    /// # fn main() -> Result<(), revops::Error> {
    /// let s: QuantileSketch = [0, 10, 20, 30, 1_000].into_iter().collect();
    /// let summary = s.finish()?.expect("not empty");
    /// assert_eq!((summary.count, summary.min, summary.max, summary.mean), (5, 0, 1_000, 212.0));
    /// assert!((summary.median - 20.0).abs() <= 0.2); // x[2] = 20, within 1 %
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// None today (the `Result` is the [`Accumulator`] contract's).
    pub fn finish(&self) -> Result<Option<Summary>> {
        if self.count == 0 {
            return Ok(None);
        }
        let q = SUMMARY_LEVELS.map(|q| self.value_at_rank(self.lower_rank(q)));
        Ok(Some(Summary {
            count: self.count,
            mean: mean_of(self.sum, self.count),
            min: self.min,
            max: self.max,
            p25: q[0],
            median: q[1],
            p75: q[2],
            p90: q[3],
            accuracy: QuantileAccuracy::Relative { alpha: self.alpha },
        }))
    }

    /// An approximate histogram of the values under `rule`, or `None` when the
    /// sketch is empty.
    ///
    /// The bins are laid out as for an [`ExactDistribution`](crate::distribution::ExactDistribution) with the same exact
    /// minimum and maximum (for [`BinRule::FreedmanDiaconis`], from the sketched
    /// quartiles). Each bucket's whole count goes to the bin containing the
    /// bucket's representative value, rounded to the nearest second; zeros go to
    /// the bin of 0. As every value is within relative error α of its bucket's
    /// representative, a value may be counted in a neighbouring bin when it lies
    /// within `α·x` (plus half a second) of a bin edge; the total is exact.
    ///
    /// ```
    /// use revops::{distribution::BinRule, distribution::QuantileSketch};
    /// # fn main() -> Result<(), revops::Error> {
    /// const DAY: u64 = 86_400;
    /// let mut s = QuantileSketch::default();
    /// s.add_batch(&[DAY / 2, 3 * DAY, 3 * DAY, 10 * DAY]);
    /// let h = s.histogram(BinRule::Log2)?.expect("not empty");
    /// let counts: Vec<u64> = h.bins.iter().map(|b| b.count).collect();
    /// assert_eq!(counts, [1, 0, 2, 0, 1]); // [0,1d) [1d,2d) [2d,4d) [4d,8d) [8d,16d)
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter)(crate::Error::InvalidParameter) named `"rule"` when the rule would need more
    /// than [`Histogram::MAX_BINS`] bins to span the values.
    pub fn histogram(&self, rule: BinRule) -> Result<Option<Histogram>> {
        if self.count == 0 {
            return Ok(None);
        }
        let iqr = if rule == BinRule::FreedmanDiaconis {
            self.value_at_rank(self.lower_rank(0.75)) - self.value_at_rank(self.lower_rank(0.25))
        } else {
            0.0
        };
        let layout = Layout::new(rule, self.min, self.max, self.count, iqr);
        let accuracy = QuantileAccuracy::Relative { alpha: self.alpha };
        let mut histogram = layout.empty_histogram(self.min, self.max, rule, accuracy)?;
        let first_bin = layout.bin(self.min);
        let mut put = |x: u64, count: u64| {
            let bin = &mut histogram.bins[(layout.bin(x) - first_bin) as usize];
            bin.count = bin.count.saturating_add(count);
        };
        if self.zero_count > 0 {
            put(0, self.zero_count);
        }
        for (i, count) in self.buckets() {
            // The representative is clamped to [min, max], so it stays in range.
            put(self.representative(i).round() as u64, count);
        }
        Ok(Some(histogram))
    }

    /// Bucket index of a value `x ≥ 1`: `⌈ln x / ln γ⌉` (non-negative).
    #[inline]
    pub(super) fn bucket_of(&self, x: u64) -> usize {
        ((x as f64).ln() * self.inv_ln_gamma).ceil() as usize
    }

    /// The representative value of bucket `i`, `(1 − α)·γ^i`, clamped to the
    /// exact range of the values.
    pub(super) fn representative(&self, i: usize) -> f64 {
        let v = (i as f64 * self.ln_gamma).exp() * (1.0 - self.alpha);
        v.clamp(self.min as f64, self.max as f64)
    }

    /// `⌊q·(n − 1)⌋`, capped at `n − 1`, for a non-empty sketch.
    fn lower_rank(&self, q: f64) -> u64 {
        let last = self.count - 1;
        ((q * last as f64).floor() as u64).min(last)
    }

    /// The stand-in for the order statistic of the given zero-based rank of a
    /// non-empty sketch.
    fn value_at_rank(&self, rank: u64) -> f64 {
        // The extreme order statistics are known exactly.
        if rank == 0 {
            return self.min as f64;
        }
        if rank == self.count - 1 {
            return self.max as f64;
        }
        if rank < self.zero_count {
            return 0.0;
        }
        let mut seen = self.zero_count;
        for (k, &c) in self.bins.iter().enumerate() {
            seen = seen.saturating_add(c);
            if rank < seen {
                return self.representative(self.offset + k);
            }
        }
        // Only reachable when saturated counts disagree with the total.
        self.max as f64
    }

    /// Grows the bucket vector so that it covers bucket `i`. Growth towards lower
    /// indices at least doubles the vector, so a descending stream of values costs
    /// amortised constant time per value.
    fn ensure(&mut self, i: usize) {
        if self.bins.is_empty() {
            self.offset = i;
            self.bins.push(0);
        } else if i < self.offset {
            let new_offset = i.min(self.offset.saturating_sub(self.bins.len()));
            let mut bins = vec![0; self.offset - new_offset + self.bins.len()];
            bins[self.offset - new_offset..].copy_from_slice(&self.bins);
            self.bins = bins;
            self.offset = new_offset;
        } else if i - self.offset >= self.bins.len() {
            self.bins.resize(i - self.offset + 1, 0);
        }
    }

    /// Positions in `bins` of the first and last non-empty buckets.
    fn used_range(&self) -> Option<(usize, usize)> {
        let lo = self.bins.iter().position(|&c| c > 0)?;
        let hi = self.bins.iter().rposition(|&c| c > 0)?;
        Some((lo, hi))
    }

    /// The non-empty part of the bucket vector, with the index of its first bucket.
    fn used_bins(&self) -> (usize, &[u64]) {
        match self.used_range() {
            Some((lo, hi)) => (self.offset + lo, &self.bins[lo..=hi]),
            None => (0, &[]),
        }
    }
}

/// Relative accuracy [`DEFAULT_RELATIVE_ACCURACY`](QuantileSketch::DEFAULT_RELATIVE_ACCURACY)
/// (1 %).
impl Default for QuantileSketch {
    fn default() -> Self {
        QuantileSketch::with_relative_accuracy(Self::DEFAULT_RELATIVE_ACCURACY)
            .expect("the default accuracy is valid")
    }
}

impl PartialEq for QuantileSketch {
    fn eq(&self, other: &Self) -> bool {
        self.alpha == other.alpha
            && self.count == other.count
            && self.sum == other.sum
            && self.min == other.min
            && self.max == other.max
            && self.zero_count == other.zero_count
            && self.used_bins() == other.used_bins()
    }
}

/// Records each value, in a sketch of the default accuracy.
impl FromIterator<u64> for QuantileSketch {
    fn from_iter<I: IntoIterator<Item = u64>>(iter: I) -> Self {
        let mut sketch = QuantileSketch::default();
        sketch.extend(iter);
        sketch
    }
}

impl Extend<u64> for QuantileSketch {
    fn extend<I: IntoIterator<Item = u64>>(&mut self, iter: I) {
        for x in iter {
            self.add(x);
        }
    }
}

/// The serialised form of a [`QuantileSketch`](crate::distribution::QuantileSketch): only its state, with the
/// non-empty buckets; checked for consistency when read back.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SketchRepr {
    version: StateVersion<1>,
    relative_accuracy: f64,
    count: u64,
    sum: u128,
    min: Option<u64>,
    max: Option<u64>,
    zero_count: u64,
    first_bucket: usize,
    buckets: Vec<u64>,
}

impl From<QuantileSketch> for SketchRepr {
    fn from(s: QuantileSketch) -> Self {
        let (first_bucket, buckets) = s.used_bins();
        let empty = s.count == 0;
        SketchRepr {
            version: StateVersion,
            relative_accuracy: s.alpha,
            count: s.count,
            sum: s.sum,
            min: (!empty).then_some(s.min),
            max: (!empty).then_some(s.max),
            zero_count: s.zero_count,
            first_bucket,
            buckets: buckets.to_vec(),
        }
    }
}

impl TryFrom<SketchRepr> for QuantileSketch {
    type Error = Error;

    fn try_from(r: SketchRepr) -> Result<Self> {
        let invalid = |reason: &str| {
            Error::from(ErrorKind::InvalidParameter {
                name: "sketch",
                value: format!("{} values", r.count),
                reason: format!("inconsistent serialised sketch: {reason}"),
            })
        };
        let mut s = QuantileSketch::with_relative_accuracy(r.relative_accuracy)?;
        let bucketed: u128 = r.buckets.iter().map(|&c| u128::from(c)).sum();
        if u128::from(r.count) != u128::from(r.zero_count) + bucketed {
            return Err(invalid(
                "the count is not the zero count plus the bucket counts",
            ));
        }
        let (min, max) = match (r.min, r.max) {
            (None, None) if r.count == 0 && r.sum == 0 => (u64::MAX, 0),
            (Some(min), Some(max)) if r.count > 0 && min <= max => (min, max),
            _ => {
                return Err(invalid(
                    "min and max must be given, in order, exactly when not empty",
                ));
            }
        };
        if r.count > 0 {
            let n = u128::from(r.count);
            if r.sum < n * u128::from(min) || r.sum > n * u128::from(max) {
                return Err(invalid("the sum is outside [count · min, count · max]"));
            }
            if (r.zero_count > 0) != (min == 0) {
                return Err(invalid("the minimum is 0 exactly when zeros are counted"));
            }
        }
        let end = r.first_bucket.checked_add(r.buckets.len());
        if end.is_none_or(|end| end > s.bucket_of(u64::MAX) + 1) {
            return Err(invalid("buckets beyond the largest representable value"));
        }
        s.offset = r.first_bucket;
        s.bins = r.buckets;
        match s.used_range() {
            Some((lo, hi)) => {
                if min > 0 && s.bucket_of(min) != s.offset + lo {
                    return Err(invalid("the minimum is not in the first non-empty bucket"));
                }
                if max == 0 || s.bucket_of(max) != s.offset + hi {
                    return Err(invalid("the maximum is not in the last non-empty bucket"));
                }
            }
            None if max > 0 => return Err(invalid("positive values but no bucket")),
            None => {}
        }
        (s.count, s.sum, s.min, s.max, s.zero_count) = (r.count, r.sum, min, max, r.zero_count);
        Ok(s)
    }
}

impl Accumulator for QuantileSketch {
    type Item = u64;
    type Output = Option<Summary>;
    const STATE_VERSION: u32 = 1;

    fn add(&mut self, item: &u64) -> Result<()> {
        QuantileSketch::add(self, *item);
        Ok(())
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        QuantileSketch::merge(self, other)
    }

    fn finish(&self) -> Result<Option<Summary>> {
        QuantileSketch::finish(self)
    }
}
