//! How good were the forecasts? Point-forecast errors, and the calibration and
//! ranking of probabilities.
//!
//! Two families of measures live here:
//!
//! - **point-forecast errors** ([`ErrorStats`], [`ForecastErrors`]) compare a
//!   number forecast for a period (bookings, pipeline created, leads) with what
//!   actually happened, per series and pooled over all series;
//! - **calibration and ranking** ([`ProbabilityScores`], [`Calibration`]) judge
//!   probabilities given to binary outcomes (a deal's win probability, a lead
//!   score read as a probability of converting): are they honest (calibration)
//!   and do they put winners above losers (ranking)?
//!
//! All four accumulators ([`ErrorStats`], [`ForecastErrors`],
//! [`ProbabilityScores`], [`Calibration`]) follow the
//! [`Accumulator`](crate::Accumulator) contract: `new(options)` (or [`Default`])
//! is the empty accumulator and fixes the options, which the state keeps; `add`
//! records one record, `add_batch` a slice (validated: every error names the
//! record); `merge` appends another partial result and refuses one built under
//! other options; `finish` computes the report. Every partial state serialises
//! with a version number (see each type's serialised form). Merging partial accumulators gives what one pass over the
//! concatenated input gives (sums are compensated, so results agree to the last
//! few bits regardless of the split; counts, AUC and bins agree exactly).
//! A measure whose denominator is zero is `None`, never `NaN`.
//!
//! # Point-forecast errors: conventions
//!
//! For pairs `(f, y)` of forecast and actual, with error `e = f − y` (**sign:
//! forecast minus actual**, so a positive error is an over-forecast), over the
//! `n` pairs that have an actual:
//!
//! | metric | formula | `None` when |
//! |---|---|---|
//! | MAE | `Σ|e| / n` | `n = 0` |
//! | MSE | `Σe² / n` | `n = 0` |
//! | RMSE | `√MSE` | `n = 0` |
//! | MAPE | `Σ|e|/|y| / n'` over the `n'` pairs with `y ≠ 0`, a **fraction** (0.05 = 5 %) | `n' = 0` |
//! | WAPE | `Σ|e| / Σ|y|` | `Σ|y| = 0` |
//! | sMAPE (0–1) | `Σ |e| / (|y| + |f|) / n`, with `0/0 = 0`; in `[0, 1]` | `n = 0` |
//! | sMAPE (0–200 %) | `200 · sMAPE(0–1)`: `100/n · Σ 2|e| / (|y| + |f|)`, in percent | `n = 0` |
//! | bias | `Σe / n` (mean error) | `n = 0` |
//! | CFE | `Σe` (cumulative forecast error) | never (0 over nothing) |
//! | tracking signal | `CFE / MAD`, MAD = MAE | MAD = 0 |
//! | accuracy | `Σf / Σy` (forecast as a ratio of actual) | `Σy = 0` |
//! | MASE | `MAE / scale`, scale = in-sample mean of `|y_t − y_{t−m}|` | no scale or scale = 0 |
//!
//! These follow the conventions of Nixtla's `utilsforecast.losses` (MAPE drops
//! zero actuals and is a fraction; sMAPE is the 0–1 form with `0/0 = 0`; WAPE is
//! its `nd`), and the integration tests compare every metric with values that
//! library produced. The classic 0–200 % sMAPE of the M3 competition is offered
//! beside it under its own name ([`ErrorMetrics::smape_200`]).
//!
//! - **Zero actuals and MAPE** are governed by [`ZeroActualPolicy`]: `Skip`
//!   (default, as utilsforecast) leaves them out of MAPE only and counts them in
//!   [`ErrorMetrics::zero_actual`]; `Error` makes `finish` fail naming the
//!   first such point.
//! - **One point per series and period**: a batch of points
//!   ([`ForecastErrors::add_batch`], [`ForecastErrors::from_points`]) with two points
//!   of the same series and period is a [`ErrorKind::DuplicateId`](crate::error::ErrorKind::DuplicateId) naming both
//!   (counting both would weigh that period twice). Separate batches and merged
//!   partial accumulators are not compared with each other: partition the input
//!   so that each series and period is in one batch.
//! - **Missing actuals** (a [`crate::ForecastPoint`] whose period has not
//!   closed) are skipped by every metric and counted in
//!   [`ErrorMetrics::missing_actual`].
//! - **Forecast accuracy** is classified into an [`AccuracyBand`] by
//!   [`AccuracyBands`]: under `< 85 %`, good `85 %–115 %` (bounds included),
//!   over `> 115 %` by default; the thresholds are configurable.
//! - **MASE** needs each series' training (in-sample) history in time order and
//!   a seasonality `m` ([`MaseScale`]); it is the one order-dependent input. For
//!   the pooled report it is the mean of the per-series MASE values (the M4
//!   competition's and utilsforecast's `evaluate` aggregation), with the number
//!   of series behind it in [`ForecastReport::mase_series`].
//! - **Pooled** metrics treat all points of all series as one sample (pooled MAE
//!   is the mean absolute error over every point). Reports list the series by
//!   name.
//! - Input must be finite (and `f − y` and its square must not overflow `f64`);
//!   anything else is an [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the series and
//!   period (or the pair's position).
//!
//! ```
//! use revops::{forecast::ErrorOptions, forecast::ForecastErrors, ForecastPoint};
//! # fn main() -> Result<(), revops::Error> {
//! let points = [
//!     ForecastPoint::new("emea", "2026-01", 110.0, Some(100.0)),
//!     ForecastPoint::new("emea", "2026-02", 180.0, Some(200.0)),
//!     ForecastPoint::new("emea", "2026-03", 190.0, None), // not closed yet
//!     ForecastPoint::new("apac", "2026-01", 12.0, Some(10.0)),
//! ];
//! let report = ForecastErrors::from_points(&points, ErrorOptions::default())?.finish()?;
//! let emea = &report.series["emea"];
//! assert_eq!((emea.n, emea.missing_actual), (2, 1));
//! assert_eq!(emea.mae, Some(15.0));
//! assert_eq!(emea.bias, Some(-5.0)); // under-forecast on average
//! assert_eq!(emea.wape, Some(30.0 / 300.0));
//! assert_eq!(report.pooled.n, 3);
//! # Ok(())
//! # }
//! ```
//!
//! # Calibration and ranking: conventions
//!
//! Each [`Prediction`] is a probability `p ∈ [0, 1]` and an [`Outcome`]: `Won`
//! (y = 1), `Lost` (y = 0) or `Open`. **Open outcomes are censored**: they are
//! counted ([`ScoreSummary::open`]) and left out of every measure, never taken
//! as losses. Over the `N` resolved predictions:
//!
//! - **Brier score** `Σ (p − y)² / N`, in `[0, 1]`, lower is better.
//! - **Log loss** `−Σ [y ln p + (1 − y) ln(1 − p)] / N`, with `p` first clipped
//!   to `[1e-15, 1 − 1e-15]` as scikit-learn's `log_loss` did (so a confident
//!   wrong prediction costs about 34.5, not infinity).
//! - **ROC AUC**: the probability that a random won outcome has a higher score
//!   than a random lost one, ties counting one half (the Mann–Whitney statistic
//!   with average ranks, equal to the trapezoidal area under the ROC curve of
//!   scikit-learn's `roc_auc_score`). `None` unless both classes are present.
//! - **Reliability bins** as scikit-learn's `calibration_curve`: `n` bins with
//!   [`BinStrategy::Uniform`] edges `i/n` (computed as `i · (1/n)`, as NumPy's
//!   `linspace`) or [`BinStrategy::Quantile`] edges at the `i/n` percentiles of
//!   the resolved probabilities (NumPy's default linear interpolation). A
//!   probability equal to an interior edge goes to the **lower** bin (NumPy's
//!   `searchsorted` on the interior edges, side left); the outer edges never
//!   matter. Empty bins are dropped (quantile edges may coincide on tied
//!   probabilities, leaving fewer bins than asked). Each bin reports its count,
//!   mean predicted probability and observed win rate as a [`crate::Ratio`]
//!   `won / count` with a Wilson interval.
//! - **ECE** `Σ count/N · |observed − predicted|` over the non-empty bins, and
//!   **MCE** the largest `|observed − predicted|`; both depend on the bins.
//!
//! Brier score, log loss and the counts need constant memory
//! ([`ProbabilityScores`]); ROC AUC and quantile bins need every probability,
//! so [`Calibration`] keeps them (8 bytes per resolved prediction, merged by
//! appending) and sorts a copy when it reports. AUC and bins are computed from
//! the sorted values, so they do not depend on input order or merge grouping at
//! all.
//!
//! The integration tests compare every value with scikit-learn's output.
//! A probability that is not a finite number in `[0, 1]` is an
//! [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the prediction's position (and id).
//!
//! ```
//! use revops::{forecast::Calibration, forecast::CalibrationOptions, forecast::Outcome, forecast::Prediction};
//! # fn main() -> Result<(), revops::Error> {
//! let predictions = [
//!     Prediction::new(0.9, Outcome::Won),
//!     Prediction::new(0.7, Outcome::Lost),
//!     Prediction::new(0.2, Outcome::Lost),
//!     Prediction::new(0.6, Outcome::Open).with_id("OPP-7"), // censored
//! ];
//! let report = Calibration::from_predictions(&predictions, CalibrationOptions::default())?.finish()?;
//! assert_eq!((report.scores.won, report.scores.lost, report.scores.open), (1, 2, 1));
//! assert_eq!(report.roc_auc, Some(1.0));
//! let brier = report.scores.brier.expect("resolved predictions");
//! assert!((brier - (0.01 + 0.49 + 0.04) / 3.0).abs() < 1e-15);
//! # Ok(())
//! # }
//! ```

mod calibration;
mod errors;

pub use calibration::{
    BinStrategy, Calibration, CalibrationOptions, CalibrationReport, LOG_LOSS_EPSILON, Outcome,
    Prediction, ProbabilityScores, Reliability, ReliabilityBin, ScoreSummary,
};
pub use errors::{
    AccuracyBand, AccuracyBands, ErrorMetrics, ErrorOptions, ErrorStats, ForecastErrors,
    ForecastReport, MaseScale, ZeroActualPolicy,
};

use serde::{Deserialize, Serialize};

/// A compensated (Kahan–Babuška–Neumaier) running sum of `f64` values.
///
/// The compensation keeps the sum accurate to about one rounding of the exact
/// total, whatever the order and grouping of the additions, which is what lets
/// merged partial accumulators agree with one pass. Once the running total
/// overflows, the compensation is frozen and the sum stays infinite.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Sum {
    hi: f64,
    lo: f64,
}

impl Sum {
    #[inline]
    pub(crate) fn add(&mut self, x: f64) {
        let t = self.hi + x;
        if t.is_finite() {
            if self.hi.abs() >= x.abs() {
                self.lo += (self.hi - t) + x;
            } else {
                self.lo += (x - t) + self.hi;
            }
        }
        self.hi = t;
    }

    pub(crate) fn merge(&mut self, other: &Sum) {
        self.add(other.hi);
        self.lo += other.lo;
    }

    pub(crate) fn value(&self) -> f64 {
        if self.hi.is_finite() {
            self.hi + self.lo
        } else {
            self.hi
        }
    }
}

/// Checks that a partial state to merge was built under the same options.
fn same_options<T: PartialEq + std::fmt::Debug>(mine: &T, theirs: &T) -> crate::Result<()> {
    if mine == theirs {
        return Ok(());
    }
    Err(crate::Error::from(crate::error::ErrorKind::MergeMismatch {
        what: "forecast accumulator",
        reason: format!("built under {theirs:?}, this one under {mine:?}"),
    }))
}

/// `Some(x)` for a number, `None` for `NaN` (defensive: inputs are validated, so
/// only overflowing sums of opposite signs could produce it).
fn defined(x: f64) -> Option<f64> {
    (!x.is_nan()).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::Sum;

    #[test]
    fn compensated_sum_is_accurate_and_mergeable() {
        let mut s = Sum::default();
        for x in [1e16, 1.0, -1e16, 1.0] {
            s.add(x);
        }
        assert_eq!(s.value(), 2.0);

        let mut a = Sum::default();
        a.add(1e16);
        a.add(1.0);
        let mut b = Sum::default();
        b.add(-1e16);
        b.add(1.0);
        a.merge(&b);
        assert_eq!(a.value(), 2.0);
    }

    #[test]
    fn overflow_stays_infinite_not_nan() {
        let mut s = Sum::default();
        s.add(f64::MAX);
        s.add(f64::MAX);
        s.add(1.0);
        assert_eq!(s.value(), f64::INFINITY);
    }
}
