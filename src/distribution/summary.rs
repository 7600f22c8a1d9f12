//! The summary of a distribution: count, mean, extremes and quartiles.

use serde::{Deserialize, Serialize};

use super::SECONDS_PER_DAY;

/// How the quantiles of a [`Summary`] (and the counts of a [`Histogram`](crate::distribution::Histogram)) were
/// obtained.
///
/// Serialised as `"exact"` or `{"relative": {"alpha": 0.01}}`.
///
/// ```
/// use revops::{distribution::ExactDistribution, distribution::QuantileAccuracy, distribution::QuantileSketch};
/// # fn main() -> Result<(), revops::Error> {
/// let exact: ExactDistribution = [5, 8].into_iter().collect();
/// let sketch: QuantileSketch = [5, 8].into_iter().collect();
/// assert_eq!(exact.finish()?.expect("not empty").accuracy, QuantileAccuracy::Exact);
/// assert_eq!(
///     sketch.finish()?.expect("not empty").accuracy,
///     QuantileAccuracy::Relative { alpha: 0.01 }
/// );
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuantileAccuracy {
    /// Computed from every value ([`ExactDistribution`](crate::distribution::ExactDistribution)): type-7 quantiles,
    /// exact histogram counts.
    Exact,
    /// Computed from a [`QuantileSketch`](crate::distribution::QuantileSketch) of relative accuracy `alpha`: each
    /// quantile is within `alpha · x[r]` of the lower-rank order statistic `x[r]`,
    /// `r = ⌊q·(n − 1)⌋`, and each value was binned by a stand-in within
    /// relative error `alpha` of it.
    Relative {
        /// The sketch's relative accuracy α, in `(0, 1)`.
        alpha: f64,
    },
}

/// The summary of a distribution of durations, in seconds.
///
/// `count`, `mean`, `min` and `max` are always exact. The quantiles `p25`,
/// `median`, `p75` and `p90` are exact (type 7) or sketched (lower rank, within
/// a relative error), as stated by `accuracy`; see the [module
/// documentation](crate::distribution) for both definitions.
///
/// A summary exists only for a non-empty distribution: the accumulators return
/// `None` rather than a summary of nothing. Every `f64` field is finite.
///
/// ```
/// use revops::distribution::ExactDistribution;
/// # fn main() -> Result<(), revops::Error> {
/// let d: ExactDistribution = [86_400, 172_800, 432_000].into_iter().collect();
/// let s = d.finish()?.expect("not empty");
/// assert_eq!((s.count, s.min, s.max), (3, 86_400, 432_000));
/// assert_eq!(s.median, 172_800.0);
/// assert_eq!(s.median_days(), 2.0);
/// assert_eq!(s.mean_days(), 8.0 / 3.0);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of values (at least 1).
    pub count: u64,
    /// Arithmetic mean, from the exact sum of the values.
    pub mean: f64,
    /// Smallest value.
    pub min: u64,
    /// Largest value.
    pub max: u64,
    /// First quartile (`q = 0.25`).
    pub p25: f64,
    /// Median (`q = 0.5`).
    pub median: f64,
    /// Third quartile (`q = 0.75`).
    pub p75: f64,
    /// 90th percentile (`q = 0.9`).
    pub p90: f64,
    /// Whether the quantiles are exact or sketched, and with which accuracy.
    pub accuracy: QuantileAccuracy,
}

impl Summary {
    /// [`mean`](Summary::mean) in days of 86 400 seconds.
    #[must_use]
    pub fn mean_days(&self) -> f64 {
        self.mean / SECONDS_PER_DAY as f64
    }

    /// [`min`](Summary::min) in days of 86 400 seconds.
    #[must_use]
    pub fn min_days(&self) -> f64 {
        self.min as f64 / SECONDS_PER_DAY as f64
    }

    /// [`max`](Summary::max) in days of 86 400 seconds.
    #[must_use]
    pub fn max_days(&self) -> f64 {
        self.max as f64 / SECONDS_PER_DAY as f64
    }

    /// [`p25`](Summary::p25) in days of 86 400 seconds.
    #[must_use]
    pub fn p25_days(&self) -> f64 {
        self.p25 / SECONDS_PER_DAY as f64
    }

    /// [`median`](Summary::median) in days of 86 400 seconds.
    #[must_use]
    pub fn median_days(&self) -> f64 {
        self.median / SECONDS_PER_DAY as f64
    }

    /// [`p75`](Summary::p75) in days of 86 400 seconds.
    #[must_use]
    pub fn p75_days(&self) -> f64 {
        self.p75 / SECONDS_PER_DAY as f64
    }

    /// [`p90`](Summary::p90) in days of 86 400 seconds.
    #[must_use]
    pub fn p90_days(&self) -> f64 {
        self.p90 / SECONDS_PER_DAY as f64
    }
}

/// The quantile levels of a [`Summary`], in field order.
pub(super) const SUMMARY_LEVELS: [f64; 4] = [0.25, 0.5, 0.75, 0.9];

/// Mean from an exact sum; both accumulators use this, so their means agree.
/// The summary of exactly known values: count, exact mean, extremes and the
/// [`SUMMARY_LEVELS`] quantiles `q`.
pub(super) fn exact_summary(count: u64, sum: u128, min: u64, max: u64, q: [f64; 4]) -> Summary {
    Summary {
        count,
        mean: mean_of(sum, count),
        min,
        max,
        p25: q[0],
        median: q[1],
        p75: q[2],
        p90: q[3],
        accuracy: QuantileAccuracy::Exact,
    }
}

pub(super) fn mean_of(sum: u128, count: u64) -> f64 {
    sum as f64 / count as f64
}
