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
//! Both accumulators follow the [`Accumulator`](crate::Accumulator) contract:
//! [`Default`] is the empty distribution, `add` records one value, `add_batch` a
//! slice, `merge` adds another partial result (a sketch refuses one of another
//! accuracy), and `finish` summarises (`Ok(None)` when empty). Merging partial
//! results gives exactly what one pass over all values gives, in any order and any
//! grouping, and a partial state serialises with a version number, so it can be
//! shipped to another process before it is merged.
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
//! let e = exact.finish()?.expect("not empty");
//! assert_eq!(e.count, 10);
//! assert_eq!(e.median_days(), 37.5); // type 7: halfway between 30 and 45 days
//! assert_eq!(e.max_days(), 365.0);
//!
//! let s = sketch.finish()?.expect("not empty");
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

mod exact;
mod histogram;
mod select;
mod sketch;
mod summary;
#[cfg(test)]
mod tests;

use crate::error::ErrorKind;
use chrono::TimeDelta;

use crate::{Error, Result};

pub use exact::ExactDistribution;
pub use histogram::{Bin, BinRule, Histogram};
pub(crate) use select::summarize;
pub use sketch::QuantileSketch;
pub use summary::{QuantileAccuracy, Summary};

/// Seconds in a day, the unit of the `*_days` accessors and of the day-based bin rules.
const SECONDS_PER_DAY: u64 = 86_400;

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
