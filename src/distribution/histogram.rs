//! Histograms of durations and the rules that lay out their bins.

use crate::error::ErrorKind;
use std::num::NonZeroU64;

use serde::{Deserialize, Serialize};

use super::{QuantileAccuracy, SECONDS_PER_DAY};
use crate::{Error, Result};

/// How the bins of a [`Histogram`](crate::distribution::Histogram) are laid out.
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
    /// An [`ExactDistribution`](crate::distribution::ExactDistribution) uses its exact type-7 quartiles; a
    /// [`QuantileSketch`](crate::distribution::QuantileSketch) its sketched ones.
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
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter)(crate::Error::InvalidParameter) named `"width_seconds"` when the width is 0.
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
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter)(crate::Error::InvalidParameter) named `"first_upper_seconds"` when it is 0.
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

/// One bin of a [`Histogram`](crate::distribution::Histogram): the values `lower ≤ x < upper` (`≤ upper` for
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
pub(super) enum Layout {
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
    pub(super) fn new(rule: BinRule, min: u64, max: u64, count: u64, iqr: f64) -> Layout {
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
    pub(super) fn bin(&self, x: u64) -> u64 {
        match *self {
            Layout::Aligned { width } => x / width,
            Layout::Doubling { unit } => u64::from(64 - (x / unit).leading_zeros()),
            Layout::FromMin { start, width, bins } => ((x - start) / width).min(bins - 1),
        }
    }

    /// The lower edge of global bin `k`.
    pub(super) fn lower(&self, k: u64) -> u64 {
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
    pub(super) fn upper(&self, k: u64) -> u64 {
        match *self {
            Layout::Doubling { unit } => times_power_of_two(unit, k),
            Layout::Aligned { .. } | Layout::FromMin { .. } => self.lower(k.saturating_add(1)),
        }
    }

    /// A histogram with the empty bins that span `[min, max]`.
    pub(super) fn empty_histogram(
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
