//! The exact distribution: every value kept, exact quantiles and histograms.

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use super::histogram::Layout;
use super::select::{Type7, lerp, order_statistics};
use super::summary::{SUMMARY_LEVELS, exact_summary};
use super::{BinRule, Histogram, QuantileAccuracy, Summary, check_level, seconds_of};
use crate::Result;
use crate::accumulate::{Accumulator, StateVersion};

/// A distribution that keeps every value: exact quantiles and histograms.
///
/// Memory is 8 bytes per value. For millions of values per group, or to merge
/// many partial results cheaply, use a [`QuantileSketch`](crate::distribution::QuantileSketch).
///
/// It follows the [`Accumulator`] contract: [`new`](Self::new) (or [`Default`]) is
/// empty, [`add`](Self::add) and [`add_batch`](Self::add_batch) record values,
/// [`merge`](Self::merge) appends another distribution's values and
/// [`finish`](Self::finish) summarises. The summary, quantiles and histograms do not
/// depend on the order in which values were added or partial results merged. It has
/// no options. A `u64` duration cannot be invalid, so the inherent `add` and
/// `add_batch` return nothing (the trait's return `Ok`).
///
/// Equality (`==`) compares the stored values *in insertion order*; to compare
/// two distributions as multisets, compare their summaries or sorted values.
///
/// # Serialised form
///
/// `{"version": 1, "values": [3, 1, 4]}`: the state version
/// ([`STATE_VERSION`](Accumulator::STATE_VERSION), refused when it is another
/// number) and the values in the order they were recorded, in seconds.
///
/// ```
/// use revops::distribution::ExactDistribution;
/// # fn main() -> Result<(), revops::Error> {
/// let mut north = ExactDistribution::new();
/// north.add_batch(&[1, 2]);
/// let mut south = ExactDistribution::new();
/// south.add_duration(chrono::TimeDelta::seconds(3))?;
/// south.add(4);
///
/// north.merge(&south)?;
/// let s = north.finish()?.expect("not empty");
/// assert_eq!((s.p25, s.median, s.p75), (1.75, 2.5, 3.25));
/// assert_eq!(north.quantile(0.9)?, Some(3.7));
/// assert_eq!(ExactDistribution::new().finish()?, None);
/// assert_eq!(serde_json::to_string(&south)?, r#"{"version":1,"values":[3,4]}"#);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExactDistribution {
    version: StateVersion<1>,
    values: Vec<u64>,
}

impl ExactDistribution {
    /// An empty distribution (the same as [`Default`]).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty distribution with room for `capacity` values.
    #[must_use]
    pub fn with_capacity(capacity: usize) -> Self {
        ExactDistribution {
            version: StateVersion,
            values: Vec::with_capacity(capacity),
        }
    }

    /// Records one duration in seconds.
    pub fn add(&mut self, seconds: u64) {
        self.values.push(seconds);
    }

    /// Records every duration of a slice.
    pub fn add_batch(&mut self, seconds: &[u64]) {
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
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter)(crate::Error::InvalidParameter) named `"duration"` when `delta` is negative;
    /// nothing is recorded then.
    pub fn add_duration(&mut self, delta: TimeDelta) -> Result<()> {
        self.add(seconds_of(delta)?);
        Ok(())
    }

    /// Appends the values of `other` (the monoid operation).
    ///
    /// ```
    /// use revops::distribution::ExactDistribution;
    /// # fn main() -> Result<(), revops::Error> {
    /// let mut all: ExactDistribution = [1, 5].into_iter().collect();
    /// all.merge(&[3].into_iter().collect())?;
    /// assert_eq!(all.finish()?.expect("not empty").median, 3.0);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// None: any two exact distributions merge (the `Result` is the
    /// [`Accumulator`] contract's).
    pub fn merge(&mut self, other: &Self) -> Result<()> {
        self.values.extend_from_slice(&other.values);
        Ok(())
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
    /// The state is kept: more values can be added and merged afterwards.
    ///
    /// Runs in linear time (a selection per needed order statistic on one copy
    /// of the values, not a sort per quantile).
    ///
    /// ```
    /// use revops::distribution::ExactDistribution;
    /// # fn main() -> Result<(), revops::Error> {
    /// let d: ExactDistribution = (1..=10).collect();
    /// let s = d.finish()?.expect("not empty");
    /// assert_eq!((s.count, s.min, s.max, s.mean), (10, 1, 10, 5.5));
    /// assert_eq!((s.p25, s.median, s.p75), (3.25, 5.5, 7.75));
    /// assert!((s.p90 - 9.1).abs() < 1e-12);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// None today: the summary of exact values always exists (the `Result` is the
    /// [`Accumulator`] contract's, so that every engine finishes the same way).
    pub fn finish(&self) -> Result<Option<Summary>> {
        let n = self.values.len();
        if n == 0 {
            return Ok(None);
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
        Ok(Some(exact_summary(
            n as u64,
            sum,
            min,
            max,
            [q[0], q[1], q[2], q[3]],
        )))
    }

    /// The exact type-7 `q`-quantile (see the [module documentation](crate::distribution)), or
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
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter)(crate::Error::InvalidParameter) named `"q"` when `q` is not in `[0, 1]` (or is
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
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter)(crate::Error::InvalidParameter) named `"q"` when a level is not in `[0, 1]`.
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
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter)(crate::Error::InvalidParameter) named `"rule"` when the rule would need more
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
        super::summarize(&mut self.values, rule)
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
            version: StateVersion,
            values: iter.into_iter().collect(),
        }
    }
}

/// Takes ownership of the values without copying them.
impl From<Vec<u64>> for ExactDistribution {
    fn from(values: Vec<u64>) -> Self {
        ExactDistribution {
            version: StateVersion,
            values,
        }
    }
}

impl Accumulator for ExactDistribution {
    type Item = u64;
    type Output = Option<Summary>;
    const STATE_VERSION: u32 = 1;

    fn add(&mut self, item: &u64) -> Result<()> {
        ExactDistribution::add(self, *item);
        Ok(())
    }

    fn add_batch<'a, I>(&mut self, items: I) -> Result<()>
    where
        I: IntoIterator<Item = &'a u64>,
    {
        self.values.extend(items.into_iter().copied());
        Ok(())
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        ExactDistribution::merge(self, other)
    }

    fn finish(&self) -> Result<Option<Summary>> {
        ExactDistribution::finish(self)
    }
}
