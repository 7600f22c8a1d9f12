//! Distributions of durations: summaries, quantiles and histograms, exact or sketched.
//!
//! How long leads take from MQL to SQL, how long opportunities stay open, how far
//! a conversion lags behind the first touch: all are distributions of
//! non-negative durations. This module summarises them once, for every engine:
//!
//! - [`ExactDistribution`] keeps every value and gives exact quantiles;
//! - [`QuantileSketch`] keeps counts in logarithmically spaced buckets, in memory
//!   that grows with the *range* of the values rather than their number, and
//!   gives quantiles within a chosen relative error (1 % by default);
//! - both produce a [`Summary`] (count, mean, min, quartiles, p90, max) and a
//!   [`Histogram`] under a [`BinRule`].
//!
//! Both accumulators are monoids in the sense of the crate's design: [`Default`]
//! is the empty distribution, `add` records one value, `merge` adds another
//! partial result, and `finish` summarises. Merging partial results gives
//! exactly what one pass over all values gives, in any order and any grouping.
//!
//! # Units
//!
//! Values are whole seconds as `u64`, so a negative duration cannot be recorded.
//! The `add_duration` methods take a [`chrono::TimeDelta`], reject negative
//! deltas and drop sub-second parts. Summaries and histograms are kept in
//! seconds; [`Summary`] has `*_days` accessors for reports.
//!
//! # Quantile definitions
//!
//! - **Exact** quantiles use linear interpolation between closest ranks
//!   (Hyndman & Fan's type 7, the default of R's `quantile` and NumPy's
//!   `percentile`/`quantile` with `method="linear"`). With the `n` values sorted
//!   ascending as `x[0] ≤ … ≤ x[n−1]`, `h = (n − 1)·q`, `i = ⌊h⌋` and `t = h − i`,
//!   the `q`-quantile is `x[i] + t·(x[i+1] − x[i])` (just `x[i]` when `t = 0`).
//!   The interpolation is evaluated as NumPy evaluates it, so results match
//!   `numpy.quantile` on the same values.
//! - **Sketched** quantiles are *lower-rank* quantiles: the sketch returns a
//!   value within relative error α of `x[r]` with `r = ⌊q·(n − 1)⌋`. See
//!   [`QuantileSketch`] for the guarantee. A type-7 quantile lies between `x[r]`
//!   and `x[r+1]`, so on data with gaps the two definitions may differ by more
//!   than α; on dense data they agree closely.
//!
//! ```
//! use revops::{distribution::BinRule, distribution::ExactDistribution, distribution::QuantileAccuracy, distribution::QuantileSketch};
//! # fn main() -> Result<(), revops::Error> {
//! const DAY: u64 = 86_400;
//! let days_to_close = [3, 9, 14, 14, 30, 45, 61, 90, 120, 365];
//!
//! let mut exact = ExactDistribution::default();
//! let mut sketch = QuantileSketch::default(); // relative accuracy 1 %
//! for d in days_to_close {
//!     exact.add(d * DAY);
//!     sketch.add(d * DAY);
//! }
//!
//! let e = exact.finish().expect("not empty");
//! assert_eq!(e.count, 10);
//! assert_eq!(e.median_days(), 37.5); // type 7: halfway between 30 and 45 days
//! assert_eq!(e.max_days(), 365.0);
//!
//! let s = sketch.finish().expect("not empty");
//! assert_eq!(s.accuracy, QuantileAccuracy::Relative { alpha: 0.01 });
//! assert_eq!(s.mean, e.mean); // count, sum, min and max are exact in the sketch too
//! assert!((s.median_days() - 30.0).abs() <= 0.01 * 30.0); // lower rank: x[4] = 30 days
//!
//! let h = exact.histogram(BinRule::Log2)?.expect("not empty");
//! assert_eq!(h.total(), 10);
//! assert_eq!((h.bins[0].lower, h.bins[0].upper), (2 * DAY, 4 * DAY)); // [2 d, 4 d)
//! # Ok(())
//! # }
//! ```

use crate::error::ErrorKind;
use std::num::NonZeroU64;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Seconds in a day, the unit of the `*_days` accessors and of the day-based bin rules.
const SECONDS_PER_DAY: u64 = 86_400;

// ---------------------------------------------------------------------------
// Summary
// ---------------------------------------------------------------------------

/// How the quantiles of a [`Summary`] (and the counts of a [`Histogram`]) were
/// obtained.
///
/// Serialised as `"exact"` or `{"relative": {"alpha": 0.01}}`.
///
/// ```
/// use revops::{distribution::ExactDistribution, distribution::QuantileAccuracy, distribution::QuantileSketch};
/// let exact: ExactDistribution = [5, 8].into_iter().collect();
/// let sketch: QuantileSketch = [5, 8].into_iter().collect();
/// assert_eq!(exact.finish().unwrap().accuracy, QuantileAccuracy::Exact);
/// assert_eq!(
///     sketch.finish().unwrap().accuracy,
///     QuantileAccuracy::Relative { alpha: 0.01 }
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuantileAccuracy {
    /// Computed from every value ([`ExactDistribution`]): type-7 quantiles,
    /// exact histogram counts.
    Exact,
    /// Computed from a [`QuantileSketch`] of relative accuracy `alpha`: each
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
/// documentation](self) for both definitions.
///
/// A summary exists only for a non-empty distribution: the accumulators return
/// `None` rather than a summary of nothing. Every `f64` field is finite.
///
/// ```
/// use revops::distribution::ExactDistribution;
/// let d: ExactDistribution = [86_400, 172_800, 432_000].into_iter().collect();
/// let s = d.finish().expect("not empty");
/// assert_eq!((s.count, s.min, s.max), (3, 86_400, 432_000));
/// assert_eq!(s.median, 172_800.0);
/// assert_eq!(s.median_days(), 2.0);
/// assert_eq!(s.mean_days(), 8.0 / 3.0);
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
const SUMMARY_LEVELS: [f64; 4] = [0.25, 0.5, 0.75, 0.9];

/// Mean from an exact sum; both accumulators use this, so their means agree.
/// The summary of exactly known values: count, exact mean, extremes and the
/// [`SUMMARY_LEVELS`] quantiles `q`.
fn exact_summary(count: u64, sum: u128, min: u64, max: u64, q: [f64; 4]) -> Summary {
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

fn mean_of(sum: u128, count: u64) -> f64 {
    sum as f64 / count as f64
}

/// Checks a quantile level.
fn check_level(q: f64) -> Result<()> {
    if (0.0..=1.0).contains(&q) {
        Ok(())
    } else {
        Err(Error::from(ErrorKind::InvalidParameter {
            name: "q",
            value: q.to_string(),
            reason: "a quantile level must be a number between 0 and 1 (inclusive)".to_owned(),
        }))
    }
}

/// Whole seconds of a non-negative delta, sub-second part dropped.
fn seconds_of(delta: TimeDelta) -> Result<u64> {
    if delta < TimeDelta::zero() {
        return Err(Error::from(ErrorKind::InvalidParameter {
            name: "duration",
            value: delta.to_string(),
            reason: "a duration must not be negative".to_owned(),
        }));
    }
    // Non-negative here, so the conversion is lossless.
    Ok(delta.num_seconds().unsigned_abs())
}

// ---------------------------------------------------------------------------
// Exact distribution
// ---------------------------------------------------------------------------

/// A distribution that keeps every value: exact quantiles and histograms.
///
/// Memory is 8 bytes per value. For millions of values per group, or to merge
/// many partial results cheaply, use a [`QuantileSketch`].
///
/// The accumulator is a monoid: [`Default`] is empty, [`add`](Self::add) and
/// [`add_all`](Self::add_all) record values, [`merge`](Self::merge) appends
/// another distribution's values and [`finish`](Self::finish) summarises. The
/// summary, quantiles and histograms do not depend on the order in which values
/// were added or partial results merged.
///
/// Equality (`==`) compares the stored values *in insertion order*; to compare
/// two distributions as multisets, compare their summaries or sorted values.
/// Serialised as the plain list of values.
///
/// ```
/// use revops::distribution::ExactDistribution;
/// # fn main() -> Result<(), revops::Error> {
/// let mut north = ExactDistribution::default();
/// north.add_all(&[1, 2]);
/// let mut south = ExactDistribution::default();
/// south.add_duration(chrono::TimeDelta::seconds(3))?;
/// south.add(4);
///
/// north.merge(&south);
/// let s = north.finish().expect("not empty");
/// assert_eq!((s.p25, s.median, s.p75), (1.75, 2.5, 3.25));
/// assert_eq!(north.quantile(0.9)?, Some(3.7));
/// assert_eq!(ExactDistribution::default().finish(), None);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExactDistribution {
    values: Vec<u64>,
}

impl ExactDistribution {
    /// An empty distribution with room for `capacity` values.
    #[must_use]
    pub fn with_capacity(capacity: usize) -> Self {
        ExactDistribution {
            values: Vec::with_capacity(capacity),
        }
    }

    /// Records one duration in seconds.
    pub fn add(&mut self, seconds: u64) {
        self.values.push(seconds);
    }

    /// Records every duration of a slice.
    pub fn add_all(&mut self, seconds: &[u64]) {
        self.values.extend_from_slice(seconds);
    }

    /// Records a [`TimeDelta`], truncated to whole seconds (its sub-second part is
    /// dropped).
    ///
    /// ```
    /// use chrono::TimeDelta;
    /// use revops::distribution::ExactDistribution;
    /// let mut d = ExactDistribution::default();
    /// d.add_duration(TimeDelta::milliseconds(2_999)).unwrap();
    /// assert_eq!(d.values(), &[2]);
    /// assert!(d.add_duration(TimeDelta::seconds(-1)).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidParameter`] named `"duration"` when `delta` is negative;
    /// nothing is recorded then.
    pub fn add_duration(&mut self, delta: TimeDelta) -> Result<()> {
        self.add(seconds_of(delta)?);
        Ok(())
    }

    /// Appends the values of `other` (the monoid operation).
    ///
    /// ```
    /// use revops::distribution::ExactDistribution;
    /// let mut all: ExactDistribution = [1, 5].into_iter().collect();
    /// all.merge(&[3].into_iter().collect());
    /// assert_eq!(all.finish().unwrap().median, 3.0);
    /// ```
    pub fn merge(&mut self, other: &Self) {
        self.values.extend_from_slice(&other.values);
    }

    /// The number of values.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.values.len() as u64
    }

    /// Whether no value has been recorded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The values, in the order they were recorded.
    #[must_use]
    pub fn values(&self) -> &[u64] {
        &self.values
    }

    /// The summary of the values, or `None` when there are none.
    ///
    /// Runs in linear time (a selection per needed order statistic on one copy
    /// of the values, not a sort per quantile).
    ///
    /// ```
    /// use revops::distribution::ExactDistribution;
    /// let d: ExactDistribution = (1..=10).collect();
    /// let s = d.finish().expect("not empty");
    /// assert_eq!((s.count, s.min, s.max, s.mean), (10, 1, 10, 5.5));
    /// assert_eq!((s.p25, s.median, s.p75), (3.25, 5.5, 7.75));
    /// assert!((s.p90 - 9.1).abs() < 1e-12);
    /// ```
    #[must_use]
    pub fn finish(&self) -> Option<Summary> {
        let n = self.values.len();
        if n == 0 {
            return None;
        }
        let mut sum = 0u128;
        let mut min = u64::MAX;
        let mut max = 0u64;
        for &x in &self.values {
            sum += u128::from(x);
            min = min.min(x);
            max = max.max(x);
        }
        let q = self.select_quantiles(&SUMMARY_LEVELS);
        Some(exact_summary(
            n as u64,
            sum,
            min,
            max,
            [q[0], q[1], q[2], q[3]],
        ))
    }

    /// The exact type-7 `q`-quantile (see the [module documentation](self)), or
    /// `None` when the distribution is empty.
    ///
    /// `q = 0` gives the minimum and `q = 1` the maximum. Runs in linear time.
    ///
    /// ```
    /// use revops::distribution::ExactDistribution;
    /// # fn main() -> Result<(), revops::Error> {
    /// let d: ExactDistribution = [10, 20, 30, 40, 50].into_iter().collect();
    /// assert_eq!(d.quantile(0.5)?, Some(30.0));
    /// assert_eq!(d.quantile(0.1)?, Some(14.0)); // h = 0.4: 10 + 0.4 · (20 − 10)
    /// assert!(d.quantile(1.5).is_err());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidParameter`] named `"q"` when `q` is not in `[0, 1]` (or is
    /// `NaN`).
    pub fn quantile(&self, q: f64) -> Result<Option<f64>> {
        check_level(q)?;
        if self.values.is_empty() {
            return Ok(None);
        }
        Ok(Some(self.select_quantiles(&[q])[0]))
    }

    /// Several exact type-7 quantiles at once, in the order of `levels`, or
    /// `None` when the distribution is empty.
    ///
    /// Cheaper than calling [`quantile`](Self::quantile) per level: one copy of
    /// the values is partially ordered once for all of them.
    ///
    /// ```
    /// use revops::distribution::ExactDistribution;
    /// # fn main() -> Result<(), revops::Error> {
    /// let d: ExactDistribution = [4, 1, 3, 2].into_iter().collect();
    /// assert_eq!(d.quantiles(&[0.75, 0.25, 0.5])?, Some(vec![3.25, 1.75, 2.5]));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidParameter`] named `"q"` when a level is not in `[0, 1]`.
    pub fn quantiles(&self, levels: &[f64]) -> Result<Option<Vec<f64>>> {
        for &q in levels {
            check_level(q)?;
        }
        if self.values.is_empty() {
            return Ok(None);
        }
        Ok(Some(self.select_quantiles(levels)))
    }

    /// The histogram of the values under `rule`, or `None` when the distribution
    /// is empty. See [`BinRule`] for the bins of each rule; the counts are exact.
    ///
    /// ```
    /// use revops::{distribution::BinRule, distribution::ExactDistribution};
    /// # fn main() -> Result<(), revops::Error> {
    /// let d: ExactDistribution = [0, 10, 25, 30].into_iter().collect();
    /// let h = d.histogram(BinRule::fixed(10)?)?.expect("not empty");
    /// let bins: Vec<_> = h.bins.iter().map(|b| (b.lower, b.upper, b.count)).collect();
    /// assert_eq!(bins, [(0, 10, 1), (10, 20, 1), (20, 30, 1), (30, 40, 1)]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidParameter`] named `"rule"` when the rule would need more
    /// than [`Histogram::MAX_BINS`] bins to span the values.
    pub fn histogram(&self, rule: BinRule) -> Result<Option<Histogram>> {
        let Some((&first, rest)) = self.values.split_first() else {
            return Ok(None);
        };
        let (min, max) = rest
            .iter()
            .fold((first, first), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        let iqr = if rule == BinRule::FreedmanDiaconis {
            let q = self.select_quantiles(&[0.25, 0.75]);
            q[1] - q[0]
        } else {
            0.0
        };
        let layout = Layout::new(rule, min, max, self.count(), iqr);
        let mut histogram = layout.empty_histogram(min, max, rule, QuantileAccuracy::Exact)?;
        let first_bin = layout.bin(min);
        for &x in &self.values {
            // In range: every value lies in [min, max].
            histogram.bins[(layout.bin(x) - first_bin) as usize].count += 1;
        }
        Ok(Some(histogram))
    }

    /// The summary and the histogram under `rule` together, as
    /// [`finish`](Self::finish) and [`histogram`](Self::histogram) give them, in
    /// fewer passes and without copying the values (they are reordered). See
    /// [`summarize`].
    ///
    /// # Errors
    ///
    /// As [`histogram`](Self::histogram).
    #[cfg(test)]
    pub(crate) fn summarize(&mut self, rule: BinRule) -> Result<Option<(Summary, Histogram)>> {
        summarize(&mut self.values, rule)
    }

    /// Type-7 quantiles at the given (validated) levels of a non-empty
    /// distribution, from one partially ordered copy of the values.
    fn select_quantiles(&self, levels: &[f64]) -> Vec<f64> {
        let n = self.values.len();
        let points: Vec<Type7> = levels.iter().map(|&q| Type7::new(n, q)).collect();
        let mut ranks: Vec<usize> = points.iter().flat_map(|p| [p.lo, p.hi]).collect();
        ranks.sort_unstable();
        ranks.dedup();
        let mut copy = self.values.clone();
        let order = order_statistics(&mut copy, &ranks);
        let at = |rank: usize| order[ranks.binary_search(&rank).unwrap_or_default()] as f64;
        points
            .iter()
            .map(|p| lerp(at(p.lo), at(p.hi), p.t))
            .collect()
    }
}

impl Extend<u64> for ExactDistribution {
    fn extend<I: IntoIterator<Item = u64>>(&mut self, iter: I) {
        self.values.extend(iter);
    }
}

impl FromIterator<u64> for ExactDistribution {
    fn from_iter<I: IntoIterator<Item = u64>>(iter: I) -> Self {
        ExactDistribution {
            values: iter.into_iter().collect(),
        }
    }
}

/// Takes ownership of the values without copying them.
impl From<Vec<u64>> for ExactDistribution {
    fn from(values: Vec<u64>) -> Self {
        ExactDistribution { values }
    }
}

/// The summary and the histogram under `rule` of durations in seconds, exactly as
/// [`ExactDistribution::finish`] and [`ExactDistribution::histogram`] give them for
/// the same values, in fewer passes and without copying them (they are reordered):
/// one pass for count, sum and extremes, one that counts the values by radix bucket
/// (and into the histogram bins), one that gathers the few buckets holding the
/// wanted order statistics. `None` when there are no values. Narrow values (`u32`)
/// halve the memory the passes stream through.
///
/// # Errors
///
/// As [`ExactDistribution::histogram`].
pub(crate) fn summarize<T: Copy + Ord + Into<u64>>(
    values: &mut [T],
    rule: BinRule,
) -> Result<Option<(Summary, Histogram)>> {
    let n = values.len();
    if n == 0 {
        return Ok(None);
    }
    let (mut sum, mut min, mut max) = (0u128, u64::MAX, 0u64);
    for &x in values.iter() {
        let x: u64 = x.into();
        sum += u128::from(x);
        min = min.min(x);
        max = max.max(x);
    }
    let points = SUMMARY_LEVELS.map(|q| Type7::new(n, q));
    let mut ranks: Vec<usize> = points.iter().flat_map(|p| [p.lo, p.hi]).collect();
    ranks.sort_unstable();
    ranks.dedup();
    let quantiles = |order: &[u64]| {
        let at = |rank: usize| order[ranks.binary_search(&rank).unwrap_or_default()] as f64;
        points.map(|p| lerp(at(p.lo), at(p.hi), p.t))
    };
    let summary = |q: [f64; 4]| exact_summary(n as u64, sum, min, max, q);
    if rule == BinRule::FreedmanDiaconis {
        // The bins need the quartiles: the same ones `histogram` selects.
        let q = quantiles(&radix_order_statistics(values, min, max, &ranks, |_| {}));
        let layout = Layout::new(rule, min, max, n as u64, q[2] - q[0]);
        let mut h = layout.empty_histogram(min, max, rule, QuantileAccuracy::Exact)?;
        let first_bin = layout.bin(min);
        for &x in values.iter() {
            h.bins[(layout.bin(x.into()) - first_bin) as usize].count += 1;
        }
        return Ok(Some((summary(q), h)));
    }
    // The bins of the other rules are known now: count them in the radix pass.
    let layout = Layout::new(rule, min, max, n as u64, 0.0);
    let mut histogram = layout.empty_histogram(min, max, rule, QuantileAccuracy::Exact)?;
    let first_bin = layout.bin(min);
    let bins = &mut histogram.bins;
    // In range: every value lies in [min, max].
    let order = match layout {
        Layout::Doubling { unit } => {
            let edges = DoublingEdges::new(unit);
            radix_order_statistics(values, min, max, &ranks, |x| {
                bins[(edges.bin(x) - first_bin) as usize].count += 1;
            })
        }
        _ => radix_order_statistics(values, min, max, &ranks, |x| {
            bins[(layout.bin(x) - first_bin) as usize].count += 1;
        }),
    };
    Ok(Some((summary(quantiles(&order)), histogram)))
}

/// Where the type-7 `q`-quantile of `n ≥ 1` sorted values sits: between the
/// order statistics of ranks `lo` and `hi` (`hi = lo + 1`, or `hi = lo` when no
/// interpolation is needed), at fraction `t`.
#[derive(Debug, Clone, Copy)]
struct Type7 {
    lo: usize,
    hi: usize,
    t: f64,
}

impl Type7 {
    fn new(n: usize, q: f64) -> Self {
        let h = (n - 1) as f64 * q;
        let floor = h.floor();
        let lo = (floor as usize).min(n - 1);
        let t = if lo == n - 1 { 0.0 } else { h - floor };
        let hi = if t > 0.0 { lo + 1 } else { lo };
        Type7 { lo, hi, t }
    }
}

/// Linear interpolation from `a` (at `t = 0`) to `b` (at `t = 1`), evaluated from
/// the nearer end as NumPy's `_lerp` does, so that `t = 1` gives `b` exactly.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let d = b - a;
    if t >= 0.5 {
        b - d * (1.0 - t)
    } else {
        a + d * t
    }
}

/// The order statistics of the given ascending, distinct `ranks` (each below
/// `values.len()`), by successive selections on shrinking suffixes; `values` is
/// reordered.
fn order_statistics<T: Copy + Ord + Into<u64>>(values: &mut [T], ranks: &[usize]) -> Vec<u64> {
    let mut out = Vec::with_capacity(ranks.len());
    let mut base = 0;
    for &rank in ranks {
        let (_, &mut x, _) = values[base..].select_nth_unstable(rank - base);
        out.push(x.into());
        base = rank + 1;
    }
    out
}

/// The global bins of [`Layout::Doubling`] without a division per value: the bin
/// of `x` is the least `k` with `x < u·2^k`, and for `x` of bit length `b` and `u`
/// of bit length `c` that is `b − c` or `b − c + 1` (or 0 when `b ≤ c`), which
/// one comparison with the edge `u·2^(b−c)` tells apart.
struct DoublingEdges {
    unit_bits: u32,
    /// `u·2^k`, exact.
    edges: [u128; 64],
}

impl DoublingEdges {
    fn new(unit: u64) -> Self {
        DoublingEdges {
            unit_bits: u64::BITS - unit.leading_zeros(),
            edges: std::array::from_fn(|k| u128::from(unit) << k),
        }
    }

    /// The same bin as `Layout::Doubling { unit }.bin(x)`.
    #[inline]
    fn bin(&self, x: u64) -> u64 {
        // unit ≥ 1, so k < 64
        let k = (u64::BITS - x.leading_zeros()).saturating_sub(self.unit_bits);
        u64::from(k) + u64::from(u128::from(x) >= self.edges[k as usize])
    }
}

/// Below this many values, [`radix_order_statistics`] selects directly.
const RADIX_MIN_VALUES: usize = 512;

/// The order statistics of the given ascending, distinct `ranks` (each below
/// `values.len()`) of values lying in `[min, max]`, calling `each` on every value
/// once. Large inputs take two passes: one counts the values per radix bucket
/// (the top bits of `x − min`, about one bucket per value and at most 2^16), which
/// locates each rank's bucket and its rank within it; one gathers the values of
/// those few buckets, where a selection finishes. When the buckets are one value
/// wide, the counts alone give the answer. Small inputs are selected in place
/// (`values` is reordered).
fn radix_order_statistics<T: Copy + Ord + Into<u64>>(
    values: &mut [T],
    min: u64,
    max: u64,
    ranks: &[usize],
    mut each: impl FnMut(u64),
) -> Vec<u64> {
    let n = values.len();
    if n < RADIX_MIN_VALUES || ranks.len() >= usize::from(u8::MAX) || u32::try_from(n).is_err() {
        values.iter().for_each(|&x| each(x.into()));
        return order_statistics(values, ranks);
    }
    let bits = (usize::BITS - n.leading_zeros()).min(16);
    let span = max - min;
    let shift = (u64::BITS - span.leading_zeros()).saturating_sub(bits);
    let buckets = (span >> shift) as usize + 1;
    // 32-bit counts (n fits, checked above) keep the table in a small cache.
    let mut counts = vec![0u32; buckets];
    for &x in values.iter() {
        let x: u64 = x.into();
        counts[((x - min) >> shift) as usize] += 1;
        each(x);
    }
    // Each rank's bucket, and its rank among the bucket's values.
    let mut want = Vec::with_capacity(ranks.len());
    let (mut bucket, mut below) = (0, 0);
    for &rank in ranks {
        while below + counts[bucket] as usize <= rank {
            below += counts[bucket] as usize;
            bucket += 1;
        }
        want.push((bucket, rank - below));
    }
    if shift == 0 {
        return want.iter().map(|&(b, _)| min + b as u64).collect();
    }
    const NO_GROUP: u8 = u8::MAX;
    let mut group = vec![NO_GROUP; buckets];
    let mut groups: Vec<Vec<T>> = Vec::new();
    for &(b, _) in &want {
        if group[b] == NO_GROUP {
            // fewer than 255 ranks, checked above
            group[b] = groups.len() as u8;
            groups.push(Vec::with_capacity(counts[b] as usize));
        }
    }
    for &x in values.iter() {
        let wide: u64 = x.into();
        let g = group[((wide - min) >> shift) as usize];
        if g != NO_GROUP {
            groups[usize::from(g)].push(x);
        }
    }
    want.iter()
        .map(|&(b, k)| (*groups[usize::from(group[b])].select_nth_unstable(k).1).into())
        .collect()
}

// ---------------------------------------------------------------------------
// Quantile sketch
// ---------------------------------------------------------------------------

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
/// Equality compares α, the exact count, sum, minimum and maximum, the zero
/// count and the non-empty buckets (not the spare capacity of the bucket vector).
///
/// ```
/// use revops::distribution::QuantileSketch;
/// # fn main() -> Result<(), revops::Error> {
/// let mut a = QuantileSketch::with_relative_accuracy(0.02)?;
/// let mut b = QuantileSketch::with_relative_accuracy(0.02)?;
/// a.add_all(&[60, 3_600, 86_400]);
/// b.add_all(&[7 * 86_400, 30 * 86_400]);
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
    ln_gamma: f64,
    /// `1 / ln γ`.
    inv_ln_gamma: f64,
    /// Bucket index of `bins[0]`.
    offset: usize,
    /// Counts of buckets `offset, offset + 1, …`; may hold zeros at both ends.
    bins: Vec<u64>,
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
    /// hundreds of thousands of buckets; use an [`ExactDistribution`] instead.
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
    /// [`ErrorKind::InvalidParameter`] named `"relative_accuracy"` when `alpha` is not
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
    pub fn add_all(&mut self, seconds: &[u64]) {
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
    /// [`ErrorKind::InvalidParameter`] named `"duration"` when `delta` is negative;
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
    /// [`ErrorKind::InvalidParameter`] named `"relative_accuracy"` when the two
    /// sketches have different relative accuracies; `self` is unchanged then.
    pub fn merge(&mut self, other: &Self) -> Result<()> {
        if self.alpha != other.alpha {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "relative_accuracy",
                value: other.alpha.to_string(),
                reason: format!(
                    "cannot merge a sketch of relative accuracy {} into one of {}",
                    other.alpha, self.alpha
                ),
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
    /// s.add_all(&[0, 1, 1, 100]);
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
    /// [`ErrorKind::InvalidParameter`] named `"q"` when `q` is not in `[0, 1]` (or is
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
    /// let s: QuantileSketch = [0, 10, 20, 30, 1_000].into_iter().collect();
    /// let summary = s.finish().expect("not empty");
    /// assert_eq!((summary.count, summary.min, summary.max, summary.mean), (5, 0, 1_000, 212.0));
    /// assert!((summary.median - 20.0).abs() <= 0.2); // x[2] = 20, within 1 %
    /// ```
    #[must_use]
    pub fn finish(&self) -> Option<Summary> {
        if self.count == 0 {
            return None;
        }
        let q = SUMMARY_LEVELS.map(|q| self.value_at_rank(self.lower_rank(q)));
        Some(Summary {
            count: self.count,
            mean: mean_of(self.sum, self.count),
            min: self.min,
            max: self.max,
            p25: q[0],
            median: q[1],
            p75: q[2],
            p90: q[3],
            accuracy: QuantileAccuracy::Relative { alpha: self.alpha },
        })
    }

    /// An approximate histogram of the values under `rule`, or `None` when the
    /// sketch is empty.
    ///
    /// The bins are laid out as for an [`ExactDistribution`] with the same exact
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
    /// s.add_all(&[DAY / 2, 3 * DAY, 3 * DAY, 10 * DAY]);
    /// let h = s.histogram(BinRule::Log2)?.expect("not empty");
    /// let counts: Vec<u64> = h.bins.iter().map(|b| b.count).collect();
    /// assert_eq!(counts, [1, 0, 2, 0, 1]); // [0,1d) [1d,2d) [2d,4d) [4d,8d) [8d,16d)
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidParameter`] named `"rule"` when the rule would need more
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
    fn bucket_of(&self, x: u64) -> usize {
        ((x as f64).ln() * self.inv_ln_gamma).ceil() as usize
    }

    /// The representative value of bucket `i`, `(1 − α)·γ^i`, clamped to the
    /// exact range of the values.
    fn representative(&self, i: usize) -> f64 {
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

/// The serialised form of a [`QuantileSketch`]: only its state, with the
/// non-empty buckets; checked for consistency when read back.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SketchRepr {
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

// ---------------------------------------------------------------------------
// Histograms
// ---------------------------------------------------------------------------

/// How the bins of a [`Histogram`] are laid out.
///
/// Every rule yields contiguous bins from the bin containing the minimum to the
/// bin containing the maximum, empty bins included. Bins are half-open,
/// `[lower, upper)`, except the last, which is closed, `[lower, upper]`, so that it
/// holds the maximum even where an upper edge is capped at `u64::MAX`.
///
/// - [`Fixed`](BinRule::Fixed), [`Days`](BinRule::Days), [`Weeks`](BinRule::Weeks):
///   bins of equal width `w` aligned on multiples of `w`: `[k·w, (k+1)·w)`.
/// - [`Log2`](BinRule::Log2), [`Doubling`](BinRule::Doubling): with a first upper
///   edge `u`, the bins `[0, u)`, `[u, 2u)`, `[2u, 4u)`, `[4u, 8u)`, …, each twice
///   as wide as the one before. Good for lags with long tails.
/// - [`FreedmanDiaconis`](BinRule::FreedmanDiaconis): equal widths from the
///   minimum, width chosen from the data.
///
/// Serialised in `snake_case`: `"days"`, `{"fixed": {"width_seconds": 3600}}`, ….
///
/// ```
/// use revops::distribution::BinRule;
/// # fn main() -> Result<(), revops::Error> {
/// assert_eq!(BinRule::default(), BinRule::Log2);
/// assert_eq!(BinRule::fixed(86_400)?.width_seconds(), Some(86_400));
/// assert!(BinRule::fixed(0).is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinRule {
    /// Bins of `width_seconds`, aligned on multiples of it.
    Fixed {
        /// The width of every bin, in seconds.
        width_seconds: NonZeroU64,
    },
    /// One-day bins (86 400 s), aligned on whole days.
    Days,
    /// One-week bins (604 800 s), aligned on whole weeks of elapsed time.
    Weeks,
    /// Doubling bins starting with one day: `[0, 1d)`, `[1d, 2d)`, `[2d, 4d)`, …
    /// (the default).
    #[default]
    Log2,
    /// Doubling bins with a chosen first upper edge `u`: `[0, u)`, `[u, 2u)`,
    /// `[2u, 4u)`, … ([`Log2`](BinRule::Log2) is `u` = one day). Use, for example,
    /// `u` = 60 s for speed-to-lead in minutes.
    Doubling {
        /// The upper edge of the first bin, in seconds.
        first_upper_seconds: NonZeroU64,
    },
    /// The Freedman–Diaconis rule: the width is `2 · IQR · n^(−1/3)` seconds,
    /// rounded up to a whole second and at least 1 s, where `IQR = p75 − p25` and
    /// `n` is the count. Bins start at the minimum: `[min + k·w, min + (k+1)·w)`,
    /// and there are `max(1, ⌈(max − min) / w⌉)` of them (the maximum may sit on
    /// the closed upper edge of the last one). When that is more than
    /// [`FREEDMAN_DIACONIS_MAX_BINS`](BinRule::FREEDMAN_DIACONIS_MAX_BINS), the
    /// width is widened to `⌈(max − min) / 200⌉`.
    ///
    /// An [`ExactDistribution`] uses its exact type-7 quartiles; a
    /// [`QuantileSketch`] its sketched ones.
    FreedmanDiaconis,
}

impl BinRule {
    /// The most bins [`BinRule::FreedmanDiaconis`] produces.
    pub const FREEDMAN_DIACONIS_MAX_BINS: u64 = 200;

    /// [`BinRule::Fixed`] with the given width.
    ///
    /// ```
    /// use revops::distribution::BinRule;
    /// # fn main() -> Result<(), revops::Error> {
    /// let hours = BinRule::fixed(3_600)?;
    /// assert_eq!(hours.width_seconds(), Some(3_600));
    /// assert_eq!(BinRule::Weeks.width_seconds(), Some(604_800));
    /// assert_eq!(BinRule::Log2.width_seconds(), None);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidParameter`] named `"width_seconds"` when the width is 0.
    pub fn fixed(width_seconds: u64) -> Result<BinRule> {
        let width_seconds = NonZeroU64::new(width_seconds).ok_or_else(|| {
            Error::from(ErrorKind::InvalidParameter {
                name: "width_seconds",
                value: "0".to_owned(),
                reason: "a bin width must be at least one second".to_owned(),
            })
        })?;
        Ok(BinRule::Fixed { width_seconds })
    }

    /// [`BinRule::Doubling`] with the given upper edge of the first bin.
    ///
    /// ```
    /// use revops::{distribution::BinRule, distribution::ExactDistribution};
    /// # fn main() -> Result<(), revops::Error> {
    /// let minutes_to_first_call: ExactDistribution = [30, 90, 200, 4_000].into_iter().collect();
    /// let h = minutes_to_first_call.histogram(BinRule::doubling(60)?)?.expect("not empty");
    /// let edges: Vec<u64> = h.bins.iter().map(|b| b.lower).collect();
    /// assert_eq!(edges, [0, 60, 120, 240, 480, 960, 1_920, 3_840]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidParameter`] named `"first_upper_seconds"` when it is 0.
    pub fn doubling(first_upper_seconds: u64) -> Result<BinRule> {
        let first_upper_seconds = NonZeroU64::new(first_upper_seconds).ok_or_else(|| {
            Error::from(ErrorKind::InvalidParameter {
                name: "first_upper_seconds",
                value: "0".to_owned(),
                reason: "the first bin must end at one second or later".to_owned(),
            })
        })?;
        Ok(BinRule::Doubling {
            first_upper_seconds,
        })
    }

    /// The bin width of the equal-width rules that do not depend on the data
    /// (`Fixed`, `Days`, `Weeks`), in seconds; `None` for the others.
    #[must_use]
    pub fn width_seconds(&self) -> Option<u64> {
        match self {
            BinRule::Fixed { width_seconds } => Some(width_seconds.get()),
            BinRule::Days => Some(SECONDS_PER_DAY),
            BinRule::Weeks => Some(7 * SECONDS_PER_DAY),
            BinRule::Log2 | BinRule::Doubling { .. } | BinRule::FreedmanDiaconis => None,
        }
    }
}

/// One bin of a [`Histogram`]: the values `lower ≤ x < upper` (`≤ upper` for
/// the last bin), in seconds, and how many there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Bin {
    /// Inclusive lower edge, in seconds.
    pub lower: u64,
    /// Exclusive upper edge, in seconds (inclusive for the last bin of a histogram).
    pub upper: u64,
    /// Number of values in the bin.
    pub count: u64,
}

/// A histogram of durations: contiguous bins laid out by a [`BinRule`].
///
/// The bins run from the one containing the minimum to the one containing the
/// maximum, without gaps (`bins[k].upper == bins[k + 1].lower`), and every value
/// is counted in exactly one bin (see [`bin_index`](Histogram::bin_index)).
///
/// ```
/// use revops::{distribution::Bin, distribution::BinRule, distribution::ExactDistribution};
/// # fn main() -> Result<(), revops::Error> {
/// const DAY: u64 = 86_400;
/// let d: ExactDistribution = [DAY / 2, 2 * DAY, 3 * DAY, 9 * DAY].into_iter().collect();
/// let h = d.histogram(BinRule::Weeks)?.expect("not empty");
/// assert_eq!(
///     h.bins,
///     [
///         Bin { lower: 0, upper: 7 * DAY, count: 3 },
///         Bin { lower: 7 * DAY, upper: 14 * DAY, count: 1 },
///     ]
/// );
/// assert_eq!(h.total(), 4);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// The rule the bins were laid out by.
    pub rule: BinRule,
    /// The bins, by increasing edges; never empty.
    pub bins: Vec<Bin>,
    /// [`Exact`](QuantileAccuracy::Exact) counts, or counts of a sketch whose values
    /// were binned by stand-ins within relative error α.
    pub accuracy: QuantileAccuracy,
}

impl Histogram {
    /// The most bins a histogram may have (one hundred thousand). A rule that
    /// would need more to span the values (say one-second bins over a year) is
    /// rejected rather than allowed to exhaust memory.
    pub const MAX_BINS: u64 = 100_000;

    /// The sum of the bin counts: the number of values.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.bins.iter().map(|b| b.count).sum()
    }

    /// The position of the bin that holds `seconds`, or `None` when it lies outside
    /// the histogram. Bins are half-open, `[lower, upper)`, except the last, which
    /// also holds its upper edge.
    ///
    /// ```
    /// use revops::{distribution::BinRule, distribution::ExactDistribution};
    /// # fn main() -> Result<(), revops::Error> {
    /// let d: ExactDistribution = [5, 20].into_iter().collect();
    /// let h = d.histogram(BinRule::fixed(10)?)?.expect("not empty"); // [0,10) [10,20) [20,30]
    /// assert_eq!(h.bin_index(9), Some(0));
    /// assert_eq!(h.bin_index(10), Some(1));
    /// assert_eq!(h.bin_index(30), Some(2));
    /// assert_eq!(h.bin_index(31), None);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn bin_index(&self, seconds: u64) -> Option<usize> {
        let k = self
            .bins
            .partition_point(|b| b.lower <= seconds)
            .checked_sub(1)?;
        let bin = &self.bins[k];
        let last = k + 1 == self.bins.len();
        (seconds < bin.upper || (last && seconds == bin.upper)).then_some(k)
    }
}

/// The bin layout of a rule on given data: a map from values to global bin
/// numbers (increasing with the value) and the edges of each global bin.
#[derive(Debug, Clone, Copy)]
enum Layout {
    /// `[k·w, (k+1)·w)`.
    Aligned { width: u64 },
    /// `[0, u)`, then `[u·2^(k−1), u·2^k)` for `k ≥ 1`.
    Doubling { unit: u64 },
    /// `[start + k·w, start + (k+1)·w)` for `k < bins`, the last one taking
    /// everything above.
    FromMin { start: u64, width: u64, bins: u64 },
}

impl Layout {
    /// The layout of `rule` for `count` values in `[min, max]` with the given
    /// interquartile range (used by Freedman–Diaconis only).
    fn new(rule: BinRule, min: u64, max: u64, count: u64, iqr: f64) -> Layout {
        match rule {
            BinRule::Fixed { .. } | BinRule::Days | BinRule::Weeks => Layout::Aligned {
                width: rule.width_seconds().unwrap_or(1),
            },
            BinRule::Log2 => Layout::Doubling {
                unit: SECONDS_PER_DAY,
            },
            BinRule::Doubling {
                first_upper_seconds,
            } => Layout::Doubling {
                unit: first_upper_seconds.get(),
            },
            BinRule::FreedmanDiaconis => {
                let ideal = 2.0 * iqr / (count as f64).cbrt();
                // `as` saturates; NaN cannot occur (finite IQR, count ≥ 1).
                let mut width = (ideal.ceil() as u64).max(1);
                let span = max - min;
                let cap = BinRule::FREEDMAN_DIACONIS_MAX_BINS;
                if span.div_ceil(width) > cap {
                    width = span.div_ceil(cap);
                }
                Layout::FromMin {
                    start: min,
                    width,
                    bins: span.div_ceil(width).max(1),
                }
            }
        }
    }

    /// The global bin number of a value.
    #[inline]
    fn bin(&self, x: u64) -> u64 {
        match *self {
            Layout::Aligned { width } => x / width,
            Layout::Doubling { unit } => u64::from(64 - (x / unit).leading_zeros()),
            Layout::FromMin { start, width, bins } => ((x - start) / width).min(bins - 1),
        }
    }

    /// The lower edge of global bin `k`.
    fn lower(&self, k: u64) -> u64 {
        match *self {
            Layout::Aligned { width } => k.saturating_mul(width),
            Layout::Doubling { unit } => match k {
                0 => 0,
                _ => times_power_of_two(unit, k - 1),
            },
            Layout::FromMin { start, width, .. } => start.saturating_add(k.saturating_mul(width)),
        }
    }

    /// The upper edge of global bin `k`, capped at `u64::MAX`.
    fn upper(&self, k: u64) -> u64 {
        match *self {
            Layout::Doubling { unit } => times_power_of_two(unit, k),
            Layout::Aligned { .. } | Layout::FromMin { .. } => self.lower(k.saturating_add(1)),
        }
    }

    /// A histogram with the empty bins that span `[min, max]`.
    fn empty_histogram(
        &self,
        min: u64,
        max: u64,
        rule: BinRule,
        accuracy: QuantileAccuracy,
    ) -> Result<Histogram> {
        // `bin` is monotone, so the bins of min and max bound all others.
        let (first, last) = (self.bin(min), self.bin(max));
        let len = last - first + 1;
        if len > Histogram::MAX_BINS {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "rule",
                value: format!("{rule:?}"),
                reason: format!(
                    "{len} bins would be needed to span the values, more than the {} allowed; \
                     choose wider bins",
                    Histogram::MAX_BINS
                ),
            }));
        }
        let bins = (first..=last)
            .map(|k| Bin {
                lower: self.lower(k),
                upper: self.upper(k),
                count: 0,
            })
            .collect();
        Ok(Histogram {
            rule,
            bins,
            accuracy,
        })
    }
}

/// `unit · 2^k`, capped at `u64::MAX`.
fn times_power_of_two(unit: u64, k: u64) -> u64 {
    if k >= 64 {
        return u64::MAX;
    }
    unit.saturating_mul(1u64 << k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(values: &[u64]) -> ExactDistribution {
        values.iter().copied().collect()
    }

    #[test]
    fn type7_hand_computed_four_values() {
        // Sorted 1, 2, 3, 4; h = 3q.
        let s = exact(&[3, 1, 4, 2]).finish().unwrap();
        assert_eq!(s.p25, 1.75); // h = 0.75: 1 + 0.75 · 1
        assert_eq!(s.median, 2.5); // h = 1.5
        assert_eq!(s.p75, 3.25); // h = 2.25
        assert_eq!(s.p90, 3.7); // h = 2.7
        assert_eq!(s.mean, 2.5);
        assert_eq!((s.min, s.max, s.count), (1, 4, 4));
    }

    #[test]
    fn type7_hand_computed_uneven_gaps() {
        // Sorted 1, 3, 7, 15, 42, 100; h = 5q.
        let s = exact(&[7, 1, 100, 15, 3, 42]).finish().unwrap();
        assert_eq!(s.p25, 4.0); // h = 1.25: 3 + 0.25 · (7 − 3)
        assert_eq!(s.median, 11.0); // h = 2.5: 7 + 0.5 · (15 − 7)
        assert_eq!(s.p75, 35.25); // h = 3.75: 15 + 0.75 · (42 − 15)
        assert_eq!(s.p90, 71.0); // h = 4.5: 42 + 0.5 · (100 − 42)
    }

    #[test]
    fn type7_hand_computed_odd_count_and_ties() {
        // Sorted 5, 5, 5, 9, 20; h = 4q.
        let d = exact(&[9, 5, 20, 5, 5]);
        assert_eq!(d.quantile(0.25).unwrap(), Some(5.0)); // h = 1: x[1]
        assert_eq!(d.quantile(0.5).unwrap(), Some(5.0)); // h = 2: x[2]
        assert_eq!(d.quantile(0.6).unwrap(), Some(6.6)); // h = 2.4: 5 + 0.4 · 4
        // h = 3.6: 9 + 0.6 · 11 = 15.6, up to rounding (NumPy gives 15.600000000000001 too).
        let p90 = d.quantile(0.9).unwrap().unwrap();
        assert!((p90 - 15.6).abs() < 1e-12);
        assert_eq!(d.quantile(0.0).unwrap(), Some(5.0));
        assert_eq!(d.quantile(1.0).unwrap(), Some(20.0));
    }

    #[test]
    fn type7_hand_computed_ten_values() {
        // 1..=10; h = 9q. NumPy: percentile(range(1, 11), [10, 25, 75, 90]).
        let d: ExactDistribution = (1..=10).collect();
        assert_eq!(
            d.quantiles(&[0.1, 0.25, 0.75, 0.9]).unwrap(),
            Some(vec![1.9, 3.25, 7.75, 9.1])
        );
    }

    #[test]
    fn order_statistics_agree_with_a_sort() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut values: Vec<u64> = (0..1_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state % 500
            })
            .collect();
        let mut sorted = values.clone();
        sorted.sort_unstable();
        let ranks = [0, 1, 2, 250, 251, 500, 998, 999];
        let got = order_statistics(&mut values, &ranks);
        let want: Vec<u64> = ranks.iter().map(|&r| sorted[r]).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn invalid_levels_and_durations_are_errors() {
        let d = exact(&[1, 2]);
        let s: QuantileSketch = [1, 2].into_iter().collect();
        for q in [-0.1, 1.1, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                d.quantile(q).map_err(|e| e.into_kind()),
                Err(ErrorKind::InvalidParameter { name: "q", .. })
            ));
            assert!(matches!(
                s.quantile(q).map_err(|e| e.into_kind()),
                Err(ErrorKind::InvalidParameter { name: "q", .. })
            ));
        }
        assert!(d.quantiles(&[0.5, 2.0]).is_err());
        // Invalid levels are errors even on an empty distribution.
        assert!(ExactDistribution::default().quantile(-1.0).is_err());
        let mut d = ExactDistribution::default();
        let err = d.add_duration(TimeDelta::milliseconds(-1)).unwrap_err();
        assert!(matches!(
            err.kind(),
            ErrorKind::InvalidParameter {
                name: "duration",
                ..
            }
        ));
        assert!(d.is_empty());
    }

    #[test]
    fn sketch_buckets_follow_the_definition() {
        let s = QuantileSketch::default();
        let gamma = 1.01 / 0.99;
        assert_eq!(s.bucket_of(1), 0);
        assert_eq!(s.bucket_of(2), 2_f64.log(gamma).ceil() as usize);
        for x in [2u64, 3, 60, 3_600, 86_400, 94_608_000, u64::MAX] {
            let i = s.bucket_of(x) as i32;
            let (lo, hi) = (gamma.powi(i - 1), gamma.powi(i));
            let x = x as f64;
            assert!(
                lo < x * (1.0 + 1e-12) && x <= hi * (1.0 + 1e-12),
                "{x} in ({lo}, {hi}]"
            );
        }
    }

    #[test]
    fn representative_is_within_alpha_of_the_bucket() {
        let mut s = QuantileSketch::with_relative_accuracy(0.05).unwrap();
        s.add(1);
        s.add(u64::MAX);
        for x in [1u64, 2, 7, 100, 12_345, 9_999_999, 1 << 40] {
            let v = s.representative(s.bucket_of(x));
            assert!(
                (v - x as f64).abs() <= (0.05 + 1e-13) * x as f64,
                "{x}: {v}"
            );
        }
    }

    #[test]
    fn every_small_integer_is_within_alpha_of_its_representative() {
        for alpha in [
            0.005,
            0.01,
            0.05,
            QuantileSketch::MIN_RELATIVE_ACCURACY,
            0.5,
        ] {
            let mut s = QuantileSketch::with_relative_accuracy(alpha).unwrap();
            s.add_all(&[1, u64::MAX]); // so that clamping to [min, max] never helps
            let check = |x: u64| {
                let v = s.representative(s.bucket_of(x));
                let x = x as f64;
                assert!((v - x).abs() <= (alpha + 1e-13) * x, "α {alpha}: {x} → {v}");
            };
            (1..200_000).for_each(check);
            // Integers next to bucket boundaries γ^i, up to the top of the range.
            let ln_gamma = s.ln_gamma;
            for i in 1..=s.bucket_of(u64::MAX) {
                let edge = (i as f64 * ln_gamma).exp();
                if edge < 1.8e19 {
                    let e = edge as u64;
                    for x in [e.saturating_sub(1), e, e.saturating_add(1)] {
                        check(x.max(1));
                    }
                }
            }
        }
    }

    #[test]
    fn sketch_grows_downwards_without_losing_counts() {
        let mut s = QuantileSketch::default();
        for x in (1..=5_000u64).rev() {
            s.add(x * 1_000);
        }
        let total: u64 = s.buckets().map(|(_, c)| c).sum();
        assert_eq!(total, 5_000);
        let mut ascending = QuantileSketch::default();
        ascending.extend((1..=5_000u64).map(|x| x * 1_000));
        assert_eq!(s, ascending);
        assert!(s.bins.len() < 2 * (s.bucket_of(5_000_000) - s.bucket_of(1_000) + 1));
    }

    #[test]
    fn layouts_map_values_to_their_edges() {
        let day = SECONDS_PER_DAY;
        let log2 = Layout::new(BinRule::Log2, 0, u64::MAX, 1, 0.0);
        for (x, bin, lower, upper) in [
            (0, 0, 0, day),
            (day - 1, 0, 0, day),
            (day, 1, day, 2 * day),
            (3 * day, 2, 2 * day, 4 * day),
            (4 * day, 3, 4 * day, 8 * day),
            (u64::MAX, 48, day << 47, u64::MAX),
        ] {
            assert_eq!(log2.bin(x), bin, "{x}");
            assert_eq!((log2.lower(bin), log2.upper(bin)), (lower, upper), "{x}");
        }
        let weeks = Layout::new(BinRule::Weeks, 0, 0, 1, 0.0);
        assert_eq!(weeks.bin(7 * day - 1), 0);
        assert_eq!(weeks.bin(7 * day), 1);
        let fixed = Layout::new(BinRule::fixed(10).unwrap(), 0, 0, 1, 0.0);
        assert_eq!(fixed.upper(u64::MAX / 10), u64::MAX);
    }

    #[test]
    fn freedman_diaconis_width_and_cap() {
        // 8 values, IQR = 8: width 2 · 8 / 2 = 8; span 0..=30 gives 4 bins.
        match Layout::new(BinRule::FreedmanDiaconis, 0, 30, 8, 8.0) {
            Layout::FromMin { start, width, bins } => assert_eq!((start, width, bins), (0, 8, 4)),
            other => panic!("{other:?}"),
        }
        // IQR 0: width 1 s, widened to ⌈span / 200⌉.
        match Layout::new(BinRule::FreedmanDiaconis, 100, 100_100, 1_000, 0.0) {
            Layout::FromMin { width, bins, .. } => assert_eq!((width, bins), (500, 200)),
            other => panic!("{other:?}"),
        }
        // A single distinct value: one bin of one second.
        match Layout::new(BinRule::FreedmanDiaconis, 7, 7, 3, 0.0) {
            Layout::FromMin { width, bins, .. } => assert_eq!((width, bins), (1, 1)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn histograms_at_the_top_of_the_range_include_the_maximum() {
        let d = exact(&[u64::MAX - 5, u64::MAX]);
        for rule in [
            BinRule::fixed(7).unwrap(),
            BinRule::Days,
            BinRule::Log2,
            BinRule::FreedmanDiaconis,
        ] {
            let h = d.histogram(rule).unwrap().unwrap();
            assert_eq!(h.bins.last().unwrap().upper, u64::MAX, "{rule:?}");
            assert_eq!(h.bin_index(u64::MAX), Some(h.bins.len() - 1), "{rule:?}");
            assert_eq!(h.total(), 2);
        }
    }

    #[test]
    fn too_many_bins_is_an_error() {
        let d = exact(&[0, 1_000_000]);
        let err = d.histogram(BinRule::fixed(1).unwrap()).unwrap_err();
        assert!(matches!(
            err.kind(),
            ErrorKind::InvalidParameter { name: "rule", .. }
        ));
        let s: QuantileSketch = [0, 1_000_000].into_iter().collect();
        assert!(s.histogram(BinRule::fixed(1).unwrap()).is_err());
        assert_eq!(
            d.histogram(BinRule::fixed(100).unwrap())
                .unwrap()
                .unwrap()
                .bins
                .len(),
            10_001
        );
    }

    #[test]
    fn merging_different_accuracies_is_an_error_and_changes_nothing() {
        let mut a: QuantileSketch = [1, 2, 3].into_iter().collect();
        let before = a.clone();
        let mut b = QuantileSketch::with_relative_accuracy(0.02).unwrap();
        b.add(4);
        let err = a.merge(&b).unwrap_err();
        assert!(matches!(
            err.kind(),
            ErrorKind::InvalidParameter {
                name: "relative_accuracy",
                ..
            }
        ));
        assert_eq!(a, before);
        for alpha in [0.0, 1e-5, 1.0, -0.1, f64::NAN, f64::INFINITY] {
            assert!(
                QuantileSketch::with_relative_accuracy(alpha).is_err(),
                "{alpha}"
            );
        }
        assert!(
            QuantileSketch::with_relative_accuracy(QuantileSketch::MIN_RELATIVE_ACCURACY).is_ok()
        );
    }

    #[test]
    fn sketch_serde_round_trips_and_checks() {
        let mut s = QuantileSketch::with_relative_accuracy(0.02).unwrap();
        s.add_all(&[0, 0, 5, 3_600, 86_400, 1 << 62]);
        let json = serde_json::to_string(&s).unwrap();
        let back: QuantileSketch = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.finish(), s.finish());

        let empty = QuantileSketch::default();
        let json = serde_json::to_string(&empty).unwrap();
        assert_eq!(
            json,
            r#"{"relative_accuracy":0.01,"count":0,"sum":0,"min":null,"max":null,"zero_count":0,"first_bucket":0,"buckets":[]}"#
        );
        assert_eq!(
            serde_json::from_str::<QuantileSketch>(&json).unwrap(),
            empty
        );

        for bad in [
            // count disagrees with the buckets
            r#"{"relative_accuracy":0.01,"count":3,"sum":2,"min":1,"max":1,"zero_count":0,"first_bucket":0,"buckets":[2]}"#,
            // max not in the last bucket
            r#"{"relative_accuracy":0.01,"count":2,"sum":2,"min":1,"max":1,"zero_count":0,"first_bucket":0,"buckets":[1,0,1]}"#,
            // bad accuracy
            r#"{"relative_accuracy":2,"count":0,"sum":0,"min":null,"max":null,"zero_count":0,"first_bucket":0,"buckets":[]}"#,
            // zeros counted but min > 0
            r#"{"relative_accuracy":0.01,"count":2,"sum":1,"min":1,"max":1,"zero_count":1,"first_bucket":0,"buckets":[1]}"#,
            // buckets past the top of the u64 range
            r#"{"relative_accuracy":0.01,"count":1,"sum":1,"min":1,"max":1,"zero_count":0,"first_bucket":18446744073709551615,"buckets":[1]}"#,
            // sum out of range
            r#"{"relative_accuracy":0.01,"count":1,"sum":9,"min":1,"max":1,"zero_count":0,"first_bucket":0,"buckets":[1]}"#,
        ] {
            assert!(
                serde_json::from_str::<QuantileSketch>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn serde_shapes_of_the_small_types() {
        assert_eq!(
            serde_json::to_string(&QuantileAccuracy::Exact).unwrap(),
            r#""exact""#
        );
        assert_eq!(
            serde_json::to_string(&QuantileAccuracy::Relative { alpha: 0.01 }).unwrap(),
            r#"{"relative":{"alpha":0.01}}"#
        );
        assert_eq!(serde_json::to_string(&BinRule::Log2).unwrap(), r#""log2""#);
        assert_eq!(
            serde_json::to_string(&BinRule::fixed(3_600).unwrap()).unwrap(),
            r#"{"fixed":{"width_seconds":3600}}"#
        );
        assert!(serde_json::from_str::<BinRule>(r#"{"fixed":{"width_seconds":0}}"#).is_err());
        let d = exact(&[3, 1]);
        assert_eq!(serde_json::to_string(&d).unwrap(), "[3,1]");
        let s = d.finish().unwrap();
        let back: Summary = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn summarize_matches_finish_and_histogram() {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let rules = [
            BinRule::Log2,
            BinRule::Days,
            BinRule::fixed(3_600).unwrap(),
            BinRule::doubling(60).unwrap(),
            BinRule::FreedmanDiaconis,
            BinRule::fixed(1).unwrap(), // too many bins for the wide spans
        ];
        // Sizes on both sides of the radix threshold; narrow spans (one value per
        // bucket), wide spans, heavy ties and a long tail.
        for n in [1, 2, 7, 511, 512, 513, 4_000, 70_000] {
            for shape in 0..5 {
                let values: Vec<u64> = (0..n)
                    .map(|_| match shape {
                        0 => next() % 1_000,
                        1 => next() % (90 * 86_400),
                        2 => [0, 5, 86_400][(next() % 3) as usize],
                        3 => (next() % 50) * (next() % 50) * (next() % 86_400),
                        _ => 1_000_000 + next() % 40_000_000,
                    })
                    .collect();
                for rule in rules {
                    let d = ExactDistribution::from(values.clone());
                    let want = (d.finish(), d.histogram(rule));
                    let got = ExactDistribution::from(values.clone()).summarize(rule);
                    if let Ok(mut narrow) = values
                        .iter()
                        .map(|&v| u32::try_from(v))
                        .collect::<Result<Vec<u32>, _>>()
                    {
                        assert_eq!(
                            summarize(&mut narrow, rule),
                            got,
                            "u32: n {n}, shape {shape}, {rule:?}"
                        );
                    }
                    match (want, got) {
                        ((Some(s), Ok(Some(h))), Ok(Some((s2, h2)))) => {
                            assert_eq!((s, h), (s2, h2), "n {n}, shape {shape}, {rule:?}");
                        }
                        ((_, Err(e)), Err(e2)) => assert_eq!(e, e2),
                        (w, g) => panic!("n {n}, shape {shape}, {rule:?}: {w:?} vs {g:?}"),
                    }
                }
            }
        }
        assert_eq!(
            ExactDistribution::default().summarize(BinRule::Log2),
            Ok(None)
        );
    }

    #[test]
    fn doubling_edges_agree_with_the_layout() {
        for unit in [1, 2, 3, 60, 86_400, 1 << 40, u64::MAX / 3, u64::MAX] {
            let layout = Layout::Doubling { unit };
            let edges = DoublingEdges::new(unit);
            let mut probes = vec![0, 1, 2, u64::MAX - 1, u64::MAX];
            for k in 0..64 {
                if let Some(e) = unit.checked_mul(1 << k) {
                    probes.extend([e - 1, e, e.saturating_add(1)]);
                }
                probes.push(1 << k);
                probes.push((1 << k) - 1);
            }
            for x in probes {
                assert_eq!(edges.bin(x), layout.bin(x), "unit {unit}, x {x}");
            }
        }
    }
}
