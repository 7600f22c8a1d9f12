//! Point-forecast error metrics; the conventions are stated in the
//! [module documentation](crate::forecast).

use crate::error::ErrorKind;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Sum, defined, same_options};
use crate::accumulate::{Accumulator, StateVersion};
use crate::error::{Error, RecordRef, Result};
use crate::hash::FastMap;
use crate::ratio::Ratio;
use crate::records::ForecastPoint;

// ---------------------------------------------------------------------------
// Policies and options
// ---------------------------------------------------------------------------

/// What MAPE does with pairs whose actual is 0 (their percentage error is
/// undefined).
///
/// ```
/// use revops::{forecast::ErrorOptions, forecast::ErrorStats, forecast::ZeroActualPolicy};
/// # fn main() -> Result<(), revops::Error> {
/// let (forecast, actual) = ([110.0, 5.0], [100.0, 0.0]);
/// let stats = ErrorStats::from_pairs(&forecast, &actual, ErrorOptions::default())?;
/// let skip = stats.finish()?;
/// assert_eq!((skip.mape, skip.mape_n, skip.zero_actual), (Some(0.1), 1, 1));
///
/// let strict = ErrorOptions::default().with_zero_actual(ZeroActualPolicy::Error);
/// let err = ErrorStats::from_pairs(&forecast, &actual, strict)?.finish().unwrap_err();
/// assert_eq!(err.to_string(), "forecast pair #1: field `actual`: actual is 0, so MAPE is undefined (zero-actual policy: error)");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZeroActualPolicy {
    /// **Default** (as utilsforecast). Pairs with a zero actual are left out of
    /// MAPE only (every other metric uses them) and counted in
    /// [`ErrorMetrics::zero_actual`].
    #[default]
    Skip,
    /// A zero actual makes `finish` fail with [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the
    /// first point (in input order) whose actual is 0.
    Error,
}

/// Where a forecast's accuracy (`Σ forecast / Σ actual`) falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccuracyBand {
    /// Below the lower threshold (under-forecast; default `< 85 %`).
    Under,
    /// Between the thresholds, both included (default `85 %–115 %`).
    Good,
    /// Above the upper threshold (over-forecast; default `> 115 %`).
    Over,
}

/// The thresholds that classify forecast accuracy into an [`AccuracyBand`].
///
/// Both thresholds are ratios (`0.85` is 85 %), finite, with
/// `0 ≤ under ≤ over`. The [`Default`] is `0.85` and `1.15`.
///
/// ```
/// use revops::{forecast::AccuracyBand, forecast::AccuracyBands};
/// # fn main() -> Result<(), revops::Error> {
/// let bands = AccuracyBands::default();
/// assert_eq!(bands.classify(0.84), AccuracyBand::Under);
/// assert_eq!(bands.classify(0.85), AccuracyBand::Good);
/// assert_eq!(bands.classify(1.15), AccuracyBand::Good);
/// assert_eq!(bands.classify(1.2), AccuracyBand::Over);
///
/// let tight = AccuracyBands::new(0.95, 1.05)?;
/// assert_eq!(tight.classify(0.9), AccuracyBand::Under);
/// assert!(AccuracyBands::new(1.2, 0.8).is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "BandsRepr", into = "BandsRepr")]
pub struct AccuracyBands {
    under: f64,
    over: f64,
}

#[derive(Serialize, Deserialize)]
struct BandsRepr {
    under: f64,
    over: f64,
}

impl From<AccuracyBands> for BandsRepr {
    fn from(b: AccuracyBands) -> Self {
        BandsRepr {
            under: b.under,
            over: b.over,
        }
    }
}

impl TryFrom<BandsRepr> for AccuracyBands {
    type Error = Error;
    fn try_from(r: BandsRepr) -> Result<Self> {
        AccuracyBands::new(r.under, r.over)
    }
}

impl AccuracyBands {
    /// Accuracy below `under` is [`AccuracyBand::Under`], above `over` is
    /// [`AccuracyBand::Over`], anything between (bounds included) is
    /// [`AccuracyBand::Good`].
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) named `"under"` or `"over"` when a threshold
    /// is not finite, `under` is negative, or `under > over`.
    pub fn new(under: f64, over: f64) -> Result<Self> {
        let invalid = |name, value: f64, reason: &str| {
            Error::from(ErrorKind::InvalidParameter {
                name,
                value: value.to_string(),
                reason: reason.to_owned(),
            })
        };
        if !(under.is_finite() && under >= 0.0) {
            return Err(invalid(
                "under",
                under,
                "the lower accuracy threshold must be a finite ratio ≥ 0",
            ));
        }
        if !(over.is_finite() && over >= under) {
            return Err(invalid(
                "over",
                over,
                "the upper accuracy threshold must be finite and not below the lower one",
            ));
        }
        Ok(AccuracyBands { under, over })
    }

    /// The lower threshold (default `0.85`).
    #[must_use]
    pub fn under(&self) -> f64 {
        self.under
    }

    /// The upper threshold (default `1.15`).
    #[must_use]
    pub fn over(&self) -> f64 {
        self.over
    }

    /// The band of an accuracy ratio (`Σ forecast / Σ actual`).
    ///
    /// ```
    /// use revops::{forecast::AccuracyBand, forecast::AccuracyBands};
    /// assert_eq!(AccuracyBands::default().classify(1.0), AccuracyBand::Good);
    /// ```
    #[must_use]
    pub fn classify(&self, accuracy: f64) -> AccuracyBand {
        if accuracy < self.under {
            AccuracyBand::Under
        } else if accuracy > self.over {
            AccuracyBand::Over
        } else {
            AccuracyBand::Good
        }
    }
}

/// 85 % and 115 %.
impl Default for AccuracyBands {
    fn default() -> Self {
        AccuracyBands {
            under: 0.85,
            over: 1.15,
        }
    }
}

/// How [`ErrorStats::finish`] and [`ForecastErrors::finish`] compute the metrics.
///
/// ```
/// use revops::{forecast::AccuracyBands, forecast::ErrorOptions, forecast::ZeroActualPolicy};
/// # fn main() -> Result<(), revops::Error> {
/// let o = ErrorOptions::default()
///     .with_zero_actual(ZeroActualPolicy::Error)
///     .with_bands(AccuracyBands::new(0.9, 1.1)?);
/// assert_eq!(o.zero_actual, ZeroActualPolicy::Error);
/// assert_eq!(ErrorOptions::default().bands, AccuracyBands::default());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ErrorOptions {
    /// Zero actuals in MAPE (default [`ZeroActualPolicy::Skip`]).
    pub zero_actual: ZeroActualPolicy,
    /// Accuracy bands (default 85 % / 115 %).
    pub bands: AccuracyBands,
}

impl ErrorOptions {
    /// Sets the zero-actual policy.
    #[must_use]
    pub fn with_zero_actual(mut self, policy: ZeroActualPolicy) -> Self {
        self.zero_actual = policy;
        self
    }

    /// Sets the accuracy bands.
    #[must_use]
    pub fn with_bands(mut self, bands: AccuracyBands) -> Self {
        self.bands = bands;
        self
    }
}

// ---------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------

/// The error metrics of one group of (forecast, actual) pairs, with the counts
/// behind them. See the [module documentation](crate::forecast) for the formulas.
///
/// Every `Option` is `None` exactly when the metric's denominator is zero; no
/// field is ever `NaN`.
///
/// ```
/// use revops::{forecast::AccuracyBand, forecast::ErrorOptions, forecast::ErrorStats};
/// # fn main() -> Result<(), revops::Error> {
/// let m = ErrorStats::from_pairs(&[12.0, 8.0, 10.0, 11.0], &[10.0; 4], ErrorOptions::default())?
///     .finish()?;
/// assert_eq!(m.n, 4);
/// assert_eq!(m.mae, Some(1.25));
/// assert_eq!(m.mse, Some(2.25));
/// assert_eq!(m.rmse, Some(1.5));
/// assert_eq!(m.mape, Some(0.125));
/// assert_eq!(m.bias, Some(0.25));
/// assert_eq!(m.cfe, 1.0);
/// assert_eq!(m.tracking_signal, Some(0.8));
/// assert_eq!(m.accuracy, Some(1.025));
/// assert_eq!(m.band, Some(AccuracyBand::Good));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorMetrics {
    /// Pairs used: points with an actual.
    pub n: u64,
    /// Points skipped because they have no actual yet.
    pub missing_actual: u64,
    /// Mean absolute error `Σ|f − y| / n`.
    pub mae: Option<f64>,
    /// Mean squared error `Σ(f − y)² / n`.
    pub mse: Option<f64>,
    /// Root mean squared error `√MSE`.
    pub rmse: Option<f64>,
    /// Mean absolute percentage error `Σ(|f − y| / |y|) / mape_n` over the pairs
    /// with a non-zero actual, as a **fraction** (`0.05` is 5 %).
    pub mape: Option<f64>,
    /// Pairs used by MAPE (`n − zero_actual`).
    pub mape_n: u64,
    /// Pairs whose actual is 0, left out of MAPE under [`ZeroActualPolicy::Skip`].
    pub zero_actual: u64,
    /// Weighted absolute percentage error `Σ|f − y| / Σ|y|` (a fraction).
    pub wape: Option<f64>,
    /// Symmetric MAPE in its 0–1 form (utilsforecast's `smape`):
    /// `Σ |f − y| / (|y| + |f|) / n`, with `0/0 = 0`.
    pub smape: Option<f64>,
    /// Symmetric MAPE in its classic 0–200 % form (M3 competition):
    /// `100/n · Σ 2|f − y| / (|y| + |f|)`, with `0/0 = 0`; equal to `200 · smape`.
    pub smape_200: Option<f64>,
    /// Mean error `Σ(f − y) / n`; positive means over-forecasting.
    pub bias: Option<f64>,
    /// Cumulative forecast error `Σ(f − y)`; 0 over no pairs.
    pub cfe: f64,
    /// Tracking signal `CFE / MAD`, with MAD the mean absolute error; `None`
    /// when MAD is 0. Positive means persistent over-forecasting (the sign
    /// follows `f − y`; some texts use `y − f`).
    pub tracking_signal: Option<f64>,
    /// `Σ f` over the pairs used.
    pub total_forecast: f64,
    /// `Σ y` over the pairs used.
    pub total_actual: f64,
    /// Forecast accuracy `Σ f / Σ y` (1.0 is a perfect total).
    pub accuracy: Option<f64>,
    /// The band of `accuracy` under the options' [`AccuracyBands`].
    pub band: Option<AccuracyBand>,
    /// Mean absolute scaled error; `None` until a [`MaseScale`] is applied (see
    /// [`ErrorMetrics::with_mase`] and [`ForecastReport::with_mase`]), and when
    /// the scale or MAE is undefined.
    pub mase: Option<f64>,
}

impl ErrorMetrics {
    /// These metrics with MASE set to `MAE / scale`.
    ///
    /// ```
    /// use revops::{forecast::ErrorOptions, forecast::ErrorStats, forecast::MaseScale};
    /// # fn main() -> Result<(), revops::Error> {
    /// let scale = MaseScale::from_training(&[10.0, 12.0, 11.0, 13.0, 12.0, 14.0], 1)?;
    /// let m = ErrorStats::from_pairs(&[14.0, 14.0], &[15.0, 13.0], ErrorOptions::default())?
    ///     .finish()?
    ///     .with_mase(&scale);
    /// assert_eq!(m.mase, Some(0.625)); // MAE 1 / scale 1.6
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn with_mase(mut self, scale: &MaseScale) -> Self {
        self.mase = scale.scaled(self.mae);
        self
    }
}

// ---------------------------------------------------------------------------
// MASE scale
// ---------------------------------------------------------------------------

/// The denominator of MASE for one series: the in-sample mean absolute error of
/// the seasonal naive forecast, `Σ_{t ≥ m} |y_t − y_{t−m}| / (T − m)` over the
/// training values `y_0 … y_{T−1}` in time order.
///
/// `m = 1` is the plain naive forecast (no seasonality); `m = 12` compares each
/// month with the same month a year before.
///
/// ```
/// use revops::forecast::MaseScale;
/// # fn main() -> Result<(), revops::Error> {
/// let s = MaseScale::from_training(&[10.0, 12.0, 11.0, 13.0, 12.0, 14.0], 1)?;
/// assert_eq!((s.seasonality, s.differences), (1, 5));
/// assert_eq!(s.scale, Some(1.6));
/// assert_eq!(s.mase(Some(1.0)), Some(0.625));
///
/// assert_eq!(MaseScale::from_training(&[5.0; 8], 1)?.scale, None); // flat history
/// assert_eq!(MaseScale::from_training(&[1.0, 2.0], 4)?.scale, None); // too short
/// assert!(MaseScale::from_training(&[1.0], 0).is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MaseScale {
    /// The seasonality `m` (at least 1).
    pub seasonality: usize,
    /// Number of seasonal differences averaged (`T − m`, or 0).
    pub differences: u64,
    /// The scale, or `None` when there are no differences or they are all 0
    /// (MASE is then undefined).
    pub scale: Option<f64>,
}

impl MaseScale {
    /// The scale from a training series in time order and a seasonality `m`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) named `"seasonality"` when `m` is 0;
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the training value (its position) when it
    /// is not finite or a difference overflows.
    pub fn from_training(training: &[f64], seasonality: usize) -> Result<MaseScale> {
        if seasonality == 0 {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "seasonality",
                value: "0".to_owned(),
                reason: "the seasonality of MASE must be at least 1 (1 = no seasonality)"
                    .to_owned(),
            }));
        }
        let bad = |i: usize, reason: String| {
            Error::from(ErrorKind::InvalidField {
                record: RecordRef::new("training value").with_index(i),
                field: "value",
                reason,
            })
        };
        if let Some((i, y)) = training.iter().enumerate().find(|(_, y)| !y.is_finite()) {
            return Err(bad(i, format!("must be finite, got {y}")));
        }
        let mut sum = Sum::default();
        let mut differences = 0u64;
        // A seasonality as long as the series (or longer) leaves no difference.
        let window = seasonality.saturating_add(1).min(training.len() + 1);
        for (i, pair) in training.windows(window).enumerate() {
            let d = (pair[seasonality] - pair[0]).abs();
            if !d.is_finite() {
                return Err(bad(
                    i + seasonality,
                    "the seasonal difference overflows f64".to_owned(),
                ));
            }
            sum.add(d);
            differences += 1;
        }
        let scale = if differences == 0 {
            None
        } else {
            let s = sum.value() / differences as f64;
            (s > 0.0 && s.is_finite()).then_some(s)
        };
        Ok(MaseScale {
            seasonality,
            differences,
            scale,
        })
    }

    /// `mae / scale`, or `None` when either is undefined.
    ///
    /// ```
    /// use revops::forecast::MaseScale;
    /// # fn main() -> Result<(), revops::Error> {
    /// let monthly = MaseScale::from_training(&[10.0, 20.0, 12.0, 22.0, 14.0, 24.0], 2)?;
    /// assert_eq!(monthly.scale, Some(2.0)); // same month one season back: +2 each time
    /// assert_eq!(monthly.mase(Some(3.0)), Some(1.5));
    /// assert_eq!(monthly.mase(None), None);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn mase(&self, mae: Option<f64>) -> Option<f64> {
        self.scaled(mae)
    }

    fn scaled(&self, mae: Option<f64>) -> Option<f64> {
        match (mae, self.scale) {
            (Some(mae), Some(scale)) => defined(mae / scale),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------
// Accumulator of one group
// ---------------------------------------------------------------------------

/// The first point whose actual is 0: its position in the input and, for a
/// [`ForecastPoint`], its `series/period` id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ZeroActual {
    index: u64,
    id: Option<String>,
}

impl ZeroActual {
    fn record(&self) -> RecordRef {
        let index = usize::try_from(self.index).unwrap_or(usize::MAX);
        match &self.id {
            Some(id) => RecordRef::new("forecast").with_index(index).with_id(id),
            None => RecordRef::new("forecast pair").with_index(index),
        }
    }
}

/// The accumulator of the error metrics of one group of (forecast, actual)
/// pairs: one series, or any set of pairs.
///
/// Memory is constant (a few compensated sums and counts). It follows the
/// [`Accumulator`] contract: [`new`](ErrorStats::new) takes the [`ErrorOptions`]
/// ([`Default`]: the default options), which the state keeps;
/// [`add`](ErrorStats::add) records a [`ForecastPoint`],
/// [`add_pair`](ErrorStats::add_pair) a bare pair and
/// [`add_batch`](ErrorStats::add_batch) a slice of points;
/// [`merge`](ErrorStats::merge) appends another accumulator's input (refusing one
/// built under other options); [`finish`](ErrorStats::finish) computes
/// [`ErrorMetrics`]. Merging the accumulators of any split of the input gives the
/// metrics of one pass (up to the last bits of the compensated sums), and the
/// zero-actual error of [`ZeroActualPolicy::Error`] names the position in the
/// concatenated input.
///
/// # Serialised form
///
/// `{"version": 1, "options": {"zero_actual": "skip", "bands": {"under": 0.85,
/// "over": 1.15}}, "seen": …, "n": …, "missing_actual": …, "zero_actual": …,
/// "first_zero_actual": null | {"index": 3, "id": "emea/2026-01"}, "abs_error": S,
/// "squared_error": S, "error": S, "forecast": S, "actual": S, "abs_actual": S,
/// "ape": S, "sape": S}`, each `S` a compensated sum `{"hi": …, "lo": …}`.
/// The version ([`STATE_VERSION`](Accumulator::STATE_VERSION)) is refused when it
/// is another number.
///
/// ```
/// use revops::{forecast::ErrorOptions, forecast::ErrorStats};
/// # fn main() -> Result<(), revops::Error> {
/// let mut january = ErrorStats::new(ErrorOptions::default());
/// january.add_pair(110.0, 100.0)?;
/// let mut february = ErrorStats::new(ErrorOptions::default());
/// february.add_pair(180.0, 200.0)?;
/// january.merge(&february)?;
///
/// let m = january.finish()?;
/// assert_eq!(m.mae, Some(15.0));
/// assert_eq!(m.cfe, -10.0);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorStats {
    version: StateVersion<1>,
    /// How `finish` computes the metrics.
    options: ErrorOptions,
    /// Inputs offered (pairs and points, with or without an actual).
    seen: u64,
    /// Pairs with an actual.
    n: u64,
    missing_actual: u64,
    zero_actual: u64,
    first_zero_actual: Option<ZeroActual>,
    abs_error: Sum,
    squared_error: Sum,
    error: Sum,
    forecast: Sum,
    actual: Sum,
    abs_actual: Sum,
    /// `Σ |e| / |y|` over non-zero actuals.
    ape: Sum,
    /// `Σ |e| / (|y| + |f|)`, `0/0 = 0`.
    sape: Sum,
}

/// A checked pair and its contributions to the sums, computed once for the
/// series and the pool.
#[derive(Debug, Clone, Copy)]
struct Pair {
    forecast: f64,
    actual: f64,
    /// `f − y`.
    error: f64,
    abs_error: f64,
    abs_actual: f64,
    /// `|e| / |y|`, `None` when `y = 0`.
    ape: Option<f64>,
    /// `|e| / (|y| + |f|)`, 0 when both are 0.
    sape: f64,
}

impl Pair {
    /// Checks the values (finite, error and its square finite).
    fn new(forecast: f64, actual: f64, record: impl Fn() -> RecordRef) -> Result<Pair> {
        let error = checked_error(forecast, actual, record)?;
        let abs_error = error.abs();
        let abs_actual = actual.abs();
        let denominator = abs_actual + forecast.abs();
        Ok(Pair {
            forecast,
            actual,
            error,
            abs_error,
            abs_actual,
            ape: (abs_actual != 0.0).then(|| abs_error / abs_actual),
            sape: if denominator == 0.0 {
                0.0
            } else {
                abs_error / denominator
            },
        })
    }
}

/// Checks a pair and returns its error `f − y`.
fn checked_error(forecast: f64, actual: f64, record: impl Fn() -> RecordRef) -> Result<f64> {
    let field = |field, reason: String| {
        Error::from(ErrorKind::InvalidField {
            record: record(),
            field,
            reason,
        })
    };
    if !forecast.is_finite() {
        return Err(field("forecast", format!("must be finite, got {forecast}")));
    }
    if !actual.is_finite() {
        return Err(field("actual", format!("must be finite, got {actual}")));
    }
    let e = forecast - actual;
    if !(e * e).is_finite() {
        return Err(field(
            "forecast",
            format!(
                "the error {forecast} − {actual} (or its square) overflows f64; rescale the values"
            ),
        ));
    }
    Ok(e)
}

fn point_record(point: &ForecastPoint) -> RecordRef {
    RecordRef::new("forecast").with_id(point_id(point))
}

fn index_of(i: u64) -> usize {
    usize::try_from(i).unwrap_or(usize::MAX)
}

impl ErrorStats {
    /// An empty accumulator whose metrics [`finish`](ErrorStats::finish) computes
    /// under `options`.
    #[must_use]
    pub fn new(options: ErrorOptions) -> ErrorStats {
        ErrorStats {
            options,
            ..ErrorStats::default()
        }
    }

    /// The options the metrics are computed under.
    #[must_use]
    pub fn options(&self) -> &ErrorOptions {
        &self.options
    }

    /// Records one pair of forecast and actual.
    ///
    /// ```
    /// use revops::forecast::ErrorStats;
    /// let mut s = ErrorStats::default();
    /// assert!(s.add_pair(105.0, 100.0).is_ok());
    /// let err = s.add_pair(f64::NAN, 100.0).unwrap_err();
    /// assert_eq!(err.to_string(), "forecast pair #1: field `forecast`: must be finite, got NaN");
    /// assert_eq!(s.count(), 1);
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the pair by its position among the inputs
    /// of this accumulator (`"forecast pair #i"`) when a value is not finite or
    /// `forecast − actual` (or its square) overflows. The accumulator is then
    /// unchanged.
    pub fn add_pair(&mut self, forecast: f64, actual: f64) -> Result<()> {
        let index = self.seen;
        let pair = Pair::new(forecast, actual, || {
            RecordRef::new("forecast pair").with_index(index_of(index))
        })?;
        self.push(&pair, index, || None);
        Ok(())
    }

    /// Records one [`ForecastPoint`]; a point without an actual is counted as
    /// missing and otherwise skipped.
    ///
    /// ```
    /// use revops::{forecast::ErrorStats, ForecastPoint};
    /// # fn main() -> Result<(), revops::Error> {
    /// let mut s = ErrorStats::default();
    /// s.add(&ForecastPoint::new("emea", "2026-Q1", 90.0, Some(100.0)))?;
    /// s.add(&ForecastPoint::new("emea", "2026-Q2", 95.0, None))?;
    /// assert_eq!((s.count(), s.missing_actual()), (1, 1));
    ///
    /// let err = s.add(&ForecastPoint::new("emea", "2026-Q3", f64::NAN, None)).unwrap_err();
    /// assert_eq!(err.to_string(), "forecast #2 (id emea/2026-Q3): field `forecast`: must be finite, got NaN");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the point (`series/period`, and its
    /// position among the inputs of this accumulator) when a value is not
    /// finite or the error overflows. The accumulator is then unchanged.
    pub fn add(&mut self, point: &ForecastPoint) -> Result<()> {
        let index = self.seen;
        match checked_point(point).map_err(|e| e.at_index(index_of(index)))? {
            Some(pair) => self.push(&pair, index, || Some(point_id(point))),
            None => self.push_missing(),
        }
        Ok(())
    }

    /// Records every point of a slice, in order; stops at the first invalid one
    /// (the points before it stay recorded), as the [`Accumulator`] contract says.
    ///
    /// # Errors
    ///
    /// As [`add`](ErrorStats::add), for the first invalid point.
    pub fn add_batch(&mut self, points: &[ForecastPoint]) -> Result<()> {
        points.iter().try_for_each(|p| self.add(p))
    }

    /// The accumulator of `forecast[i]` against `actual[i]`, whose metrics are
    /// computed under `options`.
    ///
    /// ```
    /// use revops::{forecast::ErrorOptions, forecast::ErrorStats};
    /// # fn main() -> Result<(), revops::Error> {
    /// let m = ErrorStats::from_pairs(&[110.0, 180.0], &[100.0, 200.0], ErrorOptions::default())?.finish()?;
    /// assert_eq!(m.bias, Some(-5.0));
    /// assert!(ErrorStats::from_pairs(&[1.0], &[], ErrorOptions::default()).is_err());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) named `"actual"` when the slices differ in
    /// length; otherwise as [`add_pair`](ErrorStats::add_pair).
    pub fn from_pairs(
        forecast: &[f64],
        actual: &[f64],
        options: ErrorOptions,
    ) -> Result<ErrorStats> {
        if forecast.len() != actual.len() {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "actual",
                value: format!("{} values", actual.len()),
                reason: format!(
                    "needs as many actuals as forecasts ({} forecasts)",
                    forecast.len()
                ),
            }));
        }
        let mut s = ErrorStats::new(options);
        for (&f, &y) in forecast.iter().zip(actual) {
            s.add_pair(f, y)?;
        }
        Ok(s)
    }

    /// Appends `other`'s input after this accumulator's (the monoid operation).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) named `"options"` when `other` was built under
    /// other [`ErrorOptions`]; `self` is unchanged then.
    pub fn merge(&mut self, other: &ErrorStats) -> Result<()> {
        same_options(&self.options, &other.options)?;
        self.merge_at(other, self.seen);
        Ok(())
    }

    /// Pairs recorded (inputs with an actual).
    ///
    /// ```
    /// use revops::forecast::ErrorStats;
    /// # fn main() -> Result<(), revops::Error> {
    /// assert_eq!(ErrorStats::from_pairs(&[1.0, 2.0], &[1.0, 3.0], Default::default())?.count(), 2);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn count(&self) -> u64 {
        self.n
    }

    /// Points recorded without an actual.
    #[must_use]
    pub fn missing_actual(&self) -> u64 {
        self.missing_actual
    }

    /// The metrics of the pairs recorded so far (MASE unset: see
    /// [`ErrorMetrics::with_mase`]).
    ///
    /// ```
    /// use revops::{forecast::AccuracyBand, forecast::ErrorOptions, forecast::ErrorStats};
    /// # fn main() -> Result<(), revops::Error> {
    /// let m = ErrorStats::from_pairs(&[80.0, 70.0], &[100.0, 100.0], ErrorOptions::default())?.finish()?;
    /// assert_eq!(m.accuracy, Some(0.75));
    /// assert_eq!(m.band, Some(AccuracyBand::Under));
    /// assert_eq!(m.tracking_signal, Some(-2.0)); // CFE −50 / MAD 25
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// Under [`ZeroActualPolicy::Error`], [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) (field
    /// `actual`) naming the first recorded point whose actual is 0.
    pub fn finish(&self) -> Result<ErrorMetrics> {
        let options = &self.options;
        if options.zero_actual == ZeroActualPolicy::Error
            && let Some(z) = &self.first_zero_actual
        {
            return Err(Error::from(ErrorKind::InvalidField {
                record: z.record(),
                field: "actual",
                reason: "actual is 0, so MAPE is undefined (zero-actual policy: error)".to_owned(),
            }));
        }
        let n = self.n as f64;
        let per_pair = |s: &Sum| (self.n > 0).then(|| s.value() / n).and_then(defined);
        let mae = per_pair(&self.abs_error);
        let mse = per_pair(&self.squared_error);
        let rmse = mse.map(f64::sqrt);
        let mape_n = self.n.saturating_sub(self.zero_actual);
        let mape = (mape_n > 0)
            .then(|| self.ape.value() / mape_n as f64)
            .and_then(defined);
        let abs_actual = self.abs_actual.value();
        let wape = (abs_actual != 0.0)
            .then(|| self.abs_error.value() / abs_actual)
            .and_then(defined);
        let smape = per_pair(&self.sape);
        let smape_200 = (self.n > 0)
            .then(|| 200.0 * self.sape.value() / n)
            .and_then(defined);
        let bias = per_pair(&self.error);
        let cfe = self.error.value();
        let tracking_signal = match mae {
            Some(mad) if mad != 0.0 => defined(cfe / mad),
            _ => None,
        };
        let total_forecast = self.forecast.value();
        let total_actual = self.actual.value();
        let accuracy = (total_actual != 0.0)
            .then(|| total_forecast / total_actual)
            .and_then(defined);
        Ok(ErrorMetrics {
            n: self.n,
            missing_actual: self.missing_actual,
            mae,
            mse,
            rmse,
            mape,
            mape_n,
            zero_actual: self.zero_actual,
            wape,
            smape,
            smape_200,
            bias,
            cfe: defined(cfe).unwrap_or(0.0),
            tracking_signal,
            total_forecast: defined(total_forecast).unwrap_or(0.0),
            total_actual: defined(total_actual).unwrap_or(0.0),
            accuracy,
            band: accuracy.map(|a| options.bands.classify(a)),
            mase: None,
        })
    }

    /// Records a checked pair found at input position `index`.
    #[inline]
    fn push(&mut self, pair: &Pair, index: u64, id: impl FnOnce() -> Option<String>) {
        self.seen += 1;
        self.n += 1;
        self.abs_error.add(pair.abs_error);
        self.squared_error.add(pair.error * pair.error);
        self.error.add(pair.error);
        self.forecast.add(pair.forecast);
        self.actual.add(pair.actual);
        self.abs_actual.add(pair.abs_actual);
        match pair.ape {
            Some(ape) => self.ape.add(ape),
            None => {
                self.zero_actual += 1;
                if self.first_zero_actual.is_none() {
                    self.first_zero_actual = Some(ZeroActual { index, id: id() });
                }
            }
        }
        self.sape.add(pair.sape);
    }

    fn push_missing(&mut self) {
        self.seen += 1;
        self.missing_actual += 1;
    }

    /// Merges `other` as if its input came after `offset` inputs.
    fn merge_at(&mut self, other: &ErrorStats, offset: u64) {
        if self.first_zero_actual.is_none()
            && let Some(z) = &other.first_zero_actual
        {
            self.first_zero_actual = Some(ZeroActual {
                index: z.index.saturating_add(offset),
                id: z.id.clone(),
            });
        }
        self.seen = self.seen.saturating_add(other.seen);
        self.n = self.n.saturating_add(other.n);
        self.missing_actual = self.missing_actual.saturating_add(other.missing_actual);
        self.zero_actual = self.zero_actual.saturating_add(other.zero_actual);
        self.abs_error.merge(&other.abs_error);
        self.squared_error.merge(&other.squared_error);
        self.error.merge(&other.error);
        self.forecast.merge(&other.forecast);
        self.actual.merge(&other.actual);
        self.abs_actual.merge(&other.abs_actual);
        self.ape.merge(&other.ape);
        self.sape.merge(&other.sape);
    }
}

/// Validates a point: `Some(pair)` when it has an actual, `None` when not.
fn checked_point(point: &ForecastPoint) -> Result<Option<Pair>> {
    point.validate()?;
    match point.actual {
        Some(y) => Pair::new(point.forecast, y, || point_record(point)).map(Some),
        None => Ok(None),
    }
}

fn point_id(point: &ForecastPoint) -> String {
    format!("{}/{}", point.series, point.period)
}

// ---------------------------------------------------------------------------
// Per series and pooled
// ---------------------------------------------------------------------------

/// The accumulator of forecast errors per series and pooled over all series,
/// from [`ForecastPoint`]s.
///
/// Each point goes to its series' [`ErrorStats`] and to the pooled one. Points
/// without an actual are counted as missing (a series whose actuals are all
/// missing still appears in the report, with `n = 0`). Series names are
/// interned once (a hash map to a dense index); memory is constant per series.
/// Errors name a point by `series/period` and its position in the input: for
/// merged accumulators, the position in the concatenation of their inputs (this
/// one's first).
///
/// It follows the [`Accumulator`] contract: [`new`](ForecastErrors::new) takes the
/// [`ErrorOptions`] (kept in the state; [`merge`](ForecastErrors::merge) refuses a
/// partial built under others), [`add`](ForecastErrors::add) and
/// [`add_batch`](ForecastErrors::add_batch) record points,
/// [`finish`](ForecastErrors::finish) computes the [`ForecastReport`].
///
/// # Serialised form
///
/// `{"version": 1, "options": {…}, "pooled": E, "series": {"apac": E, "emea": E}}`:
/// the state version ([`STATE_VERSION`](Accumulator::STATE_VERSION), refused when
/// it is another number), the [`ErrorOptions`], and the pooled and per-series
/// accumulators in [`ErrorStats`]' form (each with the same version and options),
/// series by name.
///
/// ```
/// use revops::{forecast::ErrorOptions, forecast::ForecastErrors, ForecastPoint};
/// # fn main() -> Result<(), revops::Error> {
/// let mut q1 = ForecastErrors::new(ErrorOptions::default());
/// q1.add(&ForecastPoint::new("emea", "2026-01", 110.0, Some(100.0)))?;
/// q1.add(&ForecastPoint::new("apac", "2026-01", 45.0, Some(50.0)))?;
/// let mut q2 = ForecastErrors::new(ErrorOptions::default());
/// q2.add(&ForecastPoint::new("emea", "2026-04", 100.0, Some(100.0)))?;
/// q1.merge(&q2)?;
///
/// let report = q1.finish()?;
/// assert_eq!(report.series["emea"].n, 2);
/// assert_eq!(report.series["emea"].cfe, 10.0);
/// assert_eq!(report.pooled.n, 3);
/// assert_eq!(report.pooled.cfe, 5.0);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(try_from = "ForecastErrorsRepr", into = "ForecastErrorsRepr")]
pub struct ForecastErrors {
    options: ErrorOptions,
    pooled: ErrorStats,
    /// Each series' name and accumulator, in order of first appearance.
    series: Vec<(String, ErrorStats)>,
    /// Series name → position in `series`.
    lookup: FastMap<String, usize>,
}

/// The serialised form: the pooled accumulator and the series by name.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ForecastErrorsRepr {
    version: StateVersion<1>,
    options: ErrorOptions,
    pooled: ErrorStats,
    series: BTreeMap<String, ErrorStats>,
}

impl From<ForecastErrors> for ForecastErrorsRepr {
    fn from(f: ForecastErrors) -> Self {
        ForecastErrorsRepr {
            version: StateVersion,
            options: f.options,
            pooled: f.pooled,
            series: f.series.into_iter().collect(),
        }
    }
}

/// Checks that every part was built under the state's options.
impl TryFrom<ForecastErrorsRepr> for ForecastErrors {
    type Error = Error;

    fn try_from(r: ForecastErrorsRepr) -> Result<Self> {
        same_options(&r.options, &r.pooled.options)?;
        let mut f = ForecastErrors {
            pooled: r.pooled,
            ..ForecastErrors::new(r.options)
        };
        for (name, stats) in r.series {
            same_options(&r.options, &stats.options)?;
            *f.slot(&name) = stats;
        }
        Ok(f)
    }
}

/// Equal when the pooled accumulators and each series' accumulator are equal,
/// whatever the order in which the series first appeared.
impl PartialEq for ForecastErrors {
    fn eq(&self, other: &Self) -> bool {
        self.pooled == other.pooled
            && self.series.len() == other.series.len()
            && self
                .series
                .iter()
                .all(|(name, s)| other.get(name) == Some(s))
    }
}

impl ForecastErrors {
    /// An empty accumulator whose report [`finish`](ForecastErrors::finish)
    /// computes under `options`.
    #[must_use]
    pub fn new(options: ErrorOptions) -> ForecastErrors {
        ForecastErrors {
            options,
            pooled: ErrorStats::new(options),
            ..ForecastErrors::default()
        }
    }

    /// The options the report is computed under.
    #[must_use]
    pub fn options(&self) -> &ErrorOptions {
        &self.options
    }

    /// Records one point in its series and in the pool.
    ///
    /// ```
    /// use revops::{forecast::ForecastErrors, ForecastPoint};
    /// # fn main() -> Result<(), revops::Error> {
    /// let mut f = ForecastErrors::default();
    /// f.add(&ForecastPoint::new("emea", "2026-01", 90.0, Some(100.0)))?;
    /// let err = f.add(&ForecastPoint::new("emea", "2026-02", 90.0, Some(f64::NAN))).unwrap_err();
    /// assert_eq!(err.to_string(), "forecast #1 (id emea/2026-02): field `actual`: must be finite, got NaN");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the point (`series/period` and input
    /// position) when a value is not finite or the error overflows; the
    /// accumulator is then unchanged.
    pub fn add(&mut self, point: &ForecastPoint) -> Result<()> {
        let index = self.pooled.seen;
        let pair = checked_point(point).map_err(|e| e.at_index(index_of(index)))?;
        let slot = self.position(&point.series);
        self.push(slot, point, pair.as_ref(), index);
        Ok(())
    }

    /// Records many points, all or none: every point is checked before any is
    /// recorded. Consecutive points of the same series skip the name lookup.
    ///
    /// **One point per series and period.** A batch holding two points of the same
    /// series and period is an error naming both: counting both would weigh that
    /// period twice. The check covers the batch (where a table of points enters the
    /// engine); points recorded one at a time with [`add`](ForecastErrors::add), or
    /// in separate batches later [merged](ForecastErrors::merge), are not compared
    /// with each other, so partitions merge at no cost: split the input by series
    /// (or by period), or give each key to one batch.
    ///
    /// ```
    /// use revops::{forecast::ForecastErrors, ForecastPoint};
    /// # fn main() -> Result<(), revops::Error> {
    /// let mut f = ForecastErrors::default();
    /// f.add_batch(&[
    ///     ForecastPoint::new("emea", "2026-01", 90.0, Some(100.0)),
    ///     ForecastPoint::new("emea", "2026-02", 95.0, None),
    /// ])?;
    /// assert_eq!(f.get("emea").map(|s| (s.count(), s.missing_actual())), Some((1, 1)));
    /// assert_eq!(f.pooled().count(), 1);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`add`](ForecastErrors::add), for the first invalid point;
    /// [`ErrorKind::DuplicateId`](crate::error::ErrorKind::DuplicateId) (kind `"forecast point"`, id `series/period`) with the
    /// positions of both points for the first repeated series and period. Nothing
    /// is recorded then.
    pub fn add_batch(&mut self, points: &[ForecastPoint]) -> Result<()> {
        self.add_checked(points.iter(), points.len())
    }

    /// [`add_batch`](ForecastErrors::add_batch) over any re-iterable sequence of
    /// `len` points.
    fn add_checked<'a, I>(&mut self, points: I, len: usize) -> Result<()>
    where
        I: Iterator<Item = &'a ForecastPoint> + Clone,
    {
        let start = self.pooled.seen;
        let mut seen: FastMap<(&str, &str), u64> =
            FastMap::with_capacity_and_hasher(len, Default::default());
        for (i, p) in points.clone().enumerate() {
            let index = start + i as u64;
            checked_point(p).map_err(|e| e.at_index(index_of(index)))?;
            if let Some(first) = seen.insert((&p.series, &p.period), index) {
                return Err(Error::from(ErrorKind::DuplicateId {
                    kind: "forecast point",
                    id: point_id(p),
                    first: index_of(first),
                    second: index_of(index),
                }));
            }
        }
        let mut last: Option<(&str, usize)> = None;
        for (i, p) in points.enumerate() {
            // Checked above: recomputing the pair is cheaper than keeping it.
            let Ok(pair) = checked_point(p) else {
                continue;
            };
            let slot = match last {
                Some((name, slot)) if name == p.series => slot,
                _ => self.position(&p.series),
            };
            last = Some((&p.series, slot));
            self.push(slot, p, pair.as_ref(), start + i as u64);
        }
        Ok(())
    }

    /// The accumulator of a slice of points, whose report is computed under
    /// `options`.
    ///
    /// ```
    /// use revops::{forecast::ForecastErrors, ForecastPoint};
    /// # fn main() -> Result<(), revops::Error> {
    /// let f = ForecastErrors::from_points(&[
    ///     ForecastPoint::new("emea", "2026-01", 90.0, Some(100.0)),
    ///     ForecastPoint::new("apac", "2026-01", 40.0, Some(50.0)),
    /// ], Default::default())?;
    /// assert_eq!(f.series().map(|(name, _)| name).collect::<Vec<_>>(), ["emea", "apac"]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`add_batch`](ForecastErrors::add_batch).
    pub fn from_points(points: &[ForecastPoint], options: ErrorOptions) -> Result<ForecastErrors> {
        let mut f = ForecastErrors::new(options);
        f.add_batch(points)?;
        Ok(f)
    }

    /// Appends `other`'s input after this accumulator's (the monoid operation).
    ///
    /// ```
    /// use revops::{forecast::ErrorOptions, forecast::ForecastErrors, ForecastPoint};
    /// # fn main() -> Result<(), revops::Error> {
    /// let points = [
    ///     ForecastPoint::new("a", "1", 3.0, Some(2.0)),
    ///     ForecastPoint::new("b", "1", 1.0, Some(2.0)),
    ///     ForecastPoint::new("a", "2", 5.0, Some(5.0)),
    /// ];
    /// let o = ErrorOptions::default();
    /// let mut left = ForecastErrors::from_points(&points[..1], o)?;
    /// left.merge(&ForecastErrors::from_points(&points[1..], o)?)?;
    /// assert_eq!(left, ForecastErrors::from_points(&points, o)?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) named `"options"` when `other` was built under
    /// other [`ErrorOptions`]; `self` is unchanged then.
    pub fn merge(&mut self, other: &ForecastErrors) -> Result<()> {
        same_options(&self.options, &other.options)?;
        let offset = self.pooled.seen;
        for (name, stats) in &other.series {
            self.slot(name).merge_at(stats, offset);
        }
        self.pooled.merge_at(&other.pooled, offset);
        Ok(())
    }

    /// The pooled accumulator (all series as one group).
    ///
    /// ```
    /// use revops::{forecast::ForecastErrors, ForecastPoint};
    /// # fn main() -> Result<(), revops::Error> {
    /// let f = ForecastErrors::from_points(&[
    ///     ForecastPoint::new("a", "1", 1.0, Some(1.0)),
    ///     ForecastPoint::new("b", "1", 1.0, Some(2.0)),
    /// ], Default::default())?;
    /// assert_eq!(f.pooled().count(), 2);
    /// assert_eq!(f.get("b").map(|s| s.count()), Some(1));
    /// assert!(f.get("c").is_none());
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn pooled(&self) -> &ErrorStats {
        &self.pooled
    }

    /// The accumulator of one series, if it has had a point.
    #[must_use]
    pub fn get(&self, series: &str) -> Option<&ErrorStats> {
        self.lookup.get(series).map(|&i| &self.series[i].1)
    }

    /// Each series' name and accumulator, in order of first appearance.
    pub fn series(&self) -> impl ExactSizeIterator<Item = (&str, &ErrorStats)> + '_ {
        self.series.iter().map(|(name, s)| (name.as_str(), s))
    }

    /// The metrics per series and pooled (MASE unset: see
    /// [`ForecastReport::with_mase`]).
    ///
    /// ```
    /// use revops::{forecast::ErrorOptions, forecast::ForecastErrors, ForecastPoint};
    /// # fn main() -> Result<(), revops::Error> {
    /// let report = ForecastErrors::from_points(&[
    ///     ForecastPoint::new("a", "1", 12.0, Some(10.0)),
    ///     ForecastPoint::new("b", "1", 5.0, Some(10.0)),
    /// ], ErrorOptions::default())?
    /// .finish()?;
    /// assert_eq!(report.series["a"].mae, Some(2.0));
    /// assert_eq!(report.pooled.mae, Some(3.5));
    /// assert_eq!(report.pooled.accuracy, Some(0.85));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// Under [`ZeroActualPolicy::Error`], [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the
    /// first point (in input order) whose actual is 0.
    pub fn finish(&self) -> Result<ForecastReport> {
        let pooled = self.pooled.finish()?;
        let series = self
            .series
            .iter()
            .map(|(name, s)| Ok((name.clone(), s.finish()?)))
            .collect::<Result<BTreeMap<_, _>>>()?;
        Ok(ForecastReport {
            pooled,
            series,
            mase_series: Ratio::default(),
        })
    }

    /// The position of a series, added when new.
    fn position(&mut self, name: &str) -> usize {
        if let Some(&i) = self.lookup.get(name) {
            return i;
        }
        let i = self.series.len();
        self.series
            .push((name.to_owned(), ErrorStats::new(self.options)));
        self.lookup.insert(name.to_owned(), i);
        i
    }

    fn slot(&mut self, name: &str) -> &mut ErrorStats {
        let i = self.position(name);
        &mut self.series[i].1
    }

    fn push(&mut self, slot: usize, point: &ForecastPoint, pair: Option<&Pair>, index: u64) {
        let stats = &mut self.series[slot].1;
        match pair {
            Some(pair) => {
                stats.push(pair, index, || Some(point_id(point)));
                self.pooled.push(pair, index, || Some(point_id(point)));
            }
            None => {
                stats.push_missing();
                self.pooled.push_missing();
            }
        }
    }
}

/// Forecast errors per series and pooled, from [`ForecastErrors::finish`].
///
/// ```
/// use std::collections::BTreeMap;
/// use revops::{forecast::ErrorOptions, forecast::ForecastErrors, ForecastPoint, forecast::MaseScale, Ratio};
/// # fn main() -> Result<(), revops::Error> {
/// let points = [
///     ForecastPoint::new("a", "t7", 14.0, Some(15.0)),
///     ForecastPoint::new("a", "t8", 14.0, Some(13.0)),
///     ForecastPoint::new("b", "t7", 5.0, Some(4.0)),
/// ];
/// let scales = BTreeMap::from([
///     ("a".to_owned(), MaseScale::from_training(&[10.0, 12.0, 11.0, 13.0, 12.0, 14.0], 1)?),
///     ("b".to_owned(), MaseScale::from_training(&[4.0, 4.0, 4.0], 1)?), // flat: no scale
/// ]);
/// let report = ForecastErrors::from_points(&points, ErrorOptions::default())?
///     .finish()?
///     .with_mase(&scales);
/// assert_eq!(report.series["a"].mase, Some(0.625));
/// assert_eq!(report.series["b"].mase, None);
/// assert_eq!(report.pooled.mase, Some(0.625)); // mean over the series that have one
/// assert_eq!(report.mase_series, Ratio::new(1, 2));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastReport {
    /// All points of all series as one group; its `mase` is the mean of the
    /// series' MASE values that are defined.
    pub pooled: ErrorMetrics,
    /// Each series' metrics, by series name.
    pub series: BTreeMap<String, ErrorMetrics>,
    /// Series with a defined MASE out of all series (`0 / 0` until
    /// [`with_mase`](ForecastReport::with_mase) is applied).
    pub mase_series: Ratio,
}

impl ForecastReport {
    /// Sets each series' MASE from its scale (a series without one in `scales`
    /// gets `None`) and the pooled MASE as the mean of the defined values.
    #[must_use]
    pub fn with_mase(mut self, scales: &BTreeMap<String, MaseScale>) -> Self {
        let mut sum = Sum::default();
        let mut defined_count = 0u64;
        for (name, m) in &mut self.series {
            m.mase = scales.get(name).and_then(|s| s.scaled(m.mae));
            if let Some(v) = m.mase {
                sum.add(v);
                defined_count += 1;
            }
        }
        self.pooled.mase = (defined_count > 0)
            .then(|| sum.value() / defined_count as f64)
            .and_then(defined);
        self.mase_series = Ratio::new(defined_count, self.series.len() as u64);
        self
    }
}

impl Accumulator for ErrorStats {
    type Item = ForecastPoint;
    type Output = ErrorMetrics;
    const STATE_VERSION: u32 = 1;

    fn add(&mut self, item: &ForecastPoint) -> Result<()> {
        ErrorStats::add(self, item)
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        ErrorStats::merge(self, other)
    }

    fn finish(&self) -> Result<ErrorMetrics> {
        ErrorStats::finish(self)
    }
}

/// The trait's `add_batch` is the inherent one: all or nothing, one point per
/// series and period.
impl Accumulator for ForecastErrors {
    type Item = ForecastPoint;
    type Output = ForecastReport;
    const STATE_VERSION: u32 = 1;

    fn add(&mut self, item: &ForecastPoint) -> Result<()> {
        ForecastErrors::add(self, item)
    }

    fn add_batch<'a, I>(&mut self, items: I) -> Result<()>
    where
        I: IntoIterator<Item = &'a ForecastPoint>,
    {
        let points: Vec<&ForecastPoint> = items.into_iter().collect();
        self.add_checked(points.iter().copied(), points.len())
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        ForecastErrors::merge(self, other)
    }

    fn finish(&self) -> Result<ForecastReport> {
        ForecastErrors::finish(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_group_has_no_metrics() {
        let m = ErrorStats::default().finish().unwrap();
        assert_eq!(m.n, 0);
        assert_eq!(
            (m.mae, m.mse, m.rmse, m.mape, m.wape, m.smape, m.bias),
            (None, None, None, None, None, None, None)
        );
        assert_eq!((m.tracking_signal, m.accuracy, m.band), (None, None, None));
        assert_eq!(m.cfe, 0.0);
    }

    #[test]
    fn zero_zero_pair_counts_as_zero_in_smape() {
        let m = ErrorStats::from_pairs(&[0.0, 2.0], &[0.0, 1.0], ErrorOptions::default())
            .unwrap()
            .finish()
            .unwrap();
        assert_eq!(m.smape, Some((1.0 / 3.0) / 2.0));
        assert_eq!(m.smape_200, Some(200.0 * (1.0 / 3.0) / 2.0));
        assert_eq!((m.mape_n, m.zero_actual), (1, 1));
        assert_eq!(m.mape, Some(1.0));
    }

    #[test]
    fn overflowing_error_is_rejected() {
        let mut s = ErrorStats::default();
        let err = s.add_pair(1e200, -1e200).unwrap_err();
        assert!(matches!(
            err.kind(),
            ErrorKind::InvalidField {
                field: "forecast",
                ..
            }
        ));
        assert_eq!(s, ErrorStats::default());
    }

    #[test]
    fn zero_actual_error_names_position_in_concatenation() {
        let strict = ErrorOptions::default().with_zero_actual(ZeroActualPolicy::Error);
        let mut a = ForecastErrors::new(strict);
        a.add(&ForecastPoint::new("x", "p1", 1.0, Some(1.0)))
            .unwrap();
        a.add(&ForecastPoint::new("x", "p2", 1.0, None)).unwrap();
        let mut b = ForecastErrors::new(strict);
        b.add(&ForecastPoint::new("y", "p1", 1.0, Some(2.0)))
            .unwrap();
        b.add(&ForecastPoint::new("y", "p2", 1.0, Some(0.0)))
            .unwrap();
        a.merge(&b).unwrap();
        let err = a.finish().unwrap_err();
        assert_eq!(
            err.to_string(),
            "forecast #3 (id y/p2): field `actual`: actual is 0, so MAPE is undefined (zero-actual policy: error)"
        );
        // The series accumulator names the same global position.
        let err = a.get("y").unwrap().finish().unwrap_err();
        assert!(err.to_string().starts_with("forecast #3 (id y/p2)"));
    }

    #[test]
    fn add_batch_is_all_or_nothing() {
        let mut f = ForecastErrors::default();
        let points = [
            ForecastPoint::new("x", "p1", 1.0, Some(1.0)),
            ForecastPoint::new("x", "p2", 1.0, Some(f64::INFINITY)),
        ];
        let err = f.add_batch(&points).unwrap_err();
        assert_eq!(
            err.to_string(),
            "forecast #1 (id x/p2): field `actual`: must be finite, got inf"
        );
        assert_eq!(f, ForecastErrors::default());
    }

    #[test]
    fn bands_reject_bad_thresholds() {
        assert!(AccuracyBands::new(f64::NAN, 1.0).is_err());
        assert!(AccuracyBands::new(-0.1, 1.0).is_err());
        assert!(AccuracyBands::new(0.5, f64::INFINITY).is_err());
        assert!(serde_json::from_str::<AccuracyBands>(r#"{"under":1.2,"over":1.0}"#).is_err());
        let b: AccuracyBands = serde_json::from_str(r#"{"under":0.9,"over":1.1}"#).unwrap();
        assert_eq!((b.under(), b.over()), (0.9, 1.1));
    }

    #[test]
    fn mase_training_errors_name_the_value() {
        let err = MaseScale::from_training(&[1.0, f64::NAN], 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "training value #1: field `value`: must be finite, got NaN"
        );
    }
}
