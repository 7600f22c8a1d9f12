//! The projection backtest table: the open-deal projection ([`StageChain`],
//! conditional on each deal's stage and age) made at monthly origins in the past,
//! next to what the deals then did ([`backtest_rolling`]).

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::forecast::ErrorMetrics;
use crate::money::Money;
use crate::pipeline::PipelineHistory;
#[cfg(doc)]
use crate::plan::StageChain;
use crate::plan::{
    DealSegments, HorizonAccuracy, RollingBacktest, SurvivalOptions, backtest_rolling,
};

/// Default of [`BacktestSpec::max_origins`]: 10 monthly origins.
pub const DEFAULT_MAX_BACKTEST_ORIGINS: usize = 10;

/// Which origins and horizons a [`BacktestTable`] backtests, and how wide its band is.
///
/// Cost: each origin fits one [`StageChain`] and [`SurvivalOptions::band_origins`]
/// more to calibrate its band, each linear in the history; so the backtest costs
/// about `max_origins × (1 + band_origins)` passes over the history.
///
/// ```
/// use revops::report::BacktestSpec;
/// let s = BacktestSpec::default();
/// assert_eq!((s.horizons.as_slice(), s.z, s.max_origins, s.warm_up_days), (&[30, 60, 90][..], 1.645, 10, 182));
/// assert_eq!(BacktestSpec::default().with_max_origins(6).max_origins, 6);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BacktestSpec {
    /// Days after each origin at which wins and revenue are compared, cumulative
    /// (default 30, 60 and 90).
    pub horizons: Vec<u32>,
    /// The band's width in standard deviations before its calibration (default
    /// 1.645: about 90 %).
    pub z: f64,
    /// At most this many origins, the latest ones (default
    /// [`DEFAULT_MAX_BACKTEST_ORIGINS`]); the limit of the backtest's cost.
    pub max_origins: usize,
    /// The first origin is at least this many days after the history's first change,
    /// so that the first chain has history to learn from (default 182).
    pub warm_up_days: u32,
    /// Options of the chains fitted at each origin (default
    /// [`SurvivalOptions::default`]).
    pub survival: SurvivalOptions,
}

impl Default for BacktestSpec {
    fn default() -> Self {
        BacktestSpec {
            horizons: vec![30, 60, 90],
            z: 1.645,
            max_origins: DEFAULT_MAX_BACKTEST_ORIGINS,
            warm_up_days: 182,
            survival: SurvivalOptions::default(),
        }
    }
}

impl BacktestSpec {
    /// Sets the horizons, in days.
    #[must_use]
    pub fn with_horizons(mut self, horizons: impl Into<Vec<u32>>) -> BacktestSpec {
        self.horizons = horizons.into();
        self
    }
    /// Sets the band's width in standard deviations.
    #[must_use]
    pub fn with_z(mut self, z: f64) -> BacktestSpec {
        self.z = z;
        self
    }
    /// Sets the most origins.
    #[must_use]
    pub fn with_max_origins(mut self, max_origins: usize) -> BacktestSpec {
        self.max_origins = max_origins;
        self
    }
    /// Sets the warm-up before the first origin, in days.
    #[must_use]
    pub fn with_warm_up_days(mut self, days: u32) -> BacktestSpec {
        self.warm_up_days = days;
        self
    }
    /// Sets the chains' options.
    #[must_use]
    pub fn with_survival(mut self, survival: SurvivalOptions) -> BacktestSpec {
        self.survival = survival;
        self
    }

    /// The origins for a history whose outcomes are known until `until`: the first
    /// day of each month (00:00 UTC) from the latest at most the longest horizon
    /// before `until`, back to the earliest at least [`warm_up_days`](Self::warm_up_days)
    /// after the history's first change, at most [`max_origins`](Self::max_origins),
    /// oldest first. Empty when the history is too short (or empty).
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId,
    ///     pipeline::PipelineHistory, report::BacktestSpec};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |y, m, d| Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap();
    /// let ten = Money::parse("10", Currency::USD)?;
    /// let rows = [OpportunityChange::new(OpportunityId::new("A")?, t(2025, 1, 10), "prospecting", ten)];
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
    /// let o = BacktestSpec::default().origins(&h, t(2026, 3, 15));
    /// // From the warm-up's end (2025-07-11) to 90 days before the end (2025-12-15):
    /// assert_eq!(o, [8, 9, 10, 11, 12].map(|m| t(2025, m, 1)));
    /// let latest = BacktestSpec::default().with_max_origins(2).origins(&h, t(2026, 3, 15));
    /// assert_eq!(latest, [t(2025, 11, 1), t(2025, 12, 1)]);
    /// # Ok(()) }
    /// ```
    pub fn origins(&self, history: &PipelineHistory, until: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let Some((first, _)) = history.span() else {
            return Vec::new();
        };
        let longest = self.horizons.iter().copied().max().unwrap_or(0);
        let (Some(latest), Some(earliest)) = (
            until.checked_sub_signed(TimeDelta::days(i64::from(longest))),
            first.checked_add_signed(TimeDelta::days(i64::from(self.warm_up_days))),
        ) else {
            return Vec::new();
        };
        let month_start = |t: DateTime<Utc>| {
            NaiveDate::from_ymd_opt(t.year(), t.month(), 1)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|x| x.and_utc())
        };
        let mut origins = Vec::new();
        let mut at = month_start(latest);
        while let Some(t) = at
            && t >= earliest
            && origins.len() < self.max_origins
        {
            origins.push(t);
            at = t.checked_sub_months(Months::new(1));
        }
        origins.reverse();
        origins
    }
}

/// One origin × horizon cell of a [`BacktestTable`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestRow {
    /// The day the projection was made (at 00:00 UTC).
    pub origin: NaiveDate,
    /// Deals open at the origin (every one projected).
    pub open_deals: usize,
    /// Days after the origin.
    pub days: u32,
    /// Projected wins within `days` (cumulative).
    pub wins: f64,
    /// The band on the wins (calibrated; see [`BacktestTable::z`]).
    pub wins_band: (f64, f64),
    /// Deals open at the origin that were won within `days`.
    pub actual_wins: u64,
    /// Projected revenue within `days`.
    pub revenue: Money,
    /// The band on the revenue.
    pub revenue_band: (f64, f64),
    /// The booked amount of the actual wins.
    pub actual_revenue: Money,
    /// Whether the actual wins lie in the band (inclusive).
    pub in_band: bool,
}

/// The errors of a [`BacktestTable`] over one horizon's origins, or over every cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestSummary {
    /// The horizon in days (`None`: every cell).
    pub days: Option<u32>,
    /// Origin × horizon cells summarised.
    pub cells: u64,
    /// Mean absolute percentage error of the wins, a fraction (cells with no actual
    /// win are left out of it; `None` if every cell has none).
    pub wins_mape: Option<f64>,
    /// Mean absolute error of the wins.
    pub wins_mae: Option<f64>,
    /// The wins' bias relative to the actual, `(Σ projected − Σ actual) / Σ actual`
    /// (`None` without actual wins).
    pub wins_bias: Option<f64>,
    /// Weighted absolute percentage error of the revenue, `Σ|f − y| / Σ|y|`.
    pub revenue_wape: Option<f64>,
    /// Cells whose actual wins lie in the band.
    pub covered: u64,
}

impl BacktestSummary {
    fn new(
        days: Option<u32>,
        cells: u64,
        wins: &ErrorMetrics,
        bias: Option<f64>,
        revenue: &ErrorMetrics,
        covered: u64,
    ) -> Self {
        BacktestSummary {
            days,
            cells,
            wins_mape: wins.mape,
            wins_mae: wins.mae,
            wins_bias: bias,
            revenue_wape: revenue.wape,
            covered,
        }
    }

    /// The share of cells whose actual wins lie in the band (`None` without cells).
    pub fn coverage(&self) -> Option<f64> {
        (self.cells > 0).then(|| self.covered as f64 / self.cells as f64)
    }
}

/// The backtest table: per origin × horizon the projected wins and revenue with
/// their band, next to the actual and whether the band held; per horizon and over
/// every cell the wins' MAPE and bias, the revenue's WAPE and the band's coverage.
/// Built from [`backtest_rolling`]'s result ([`BacktestTable::from_rolling`]), or
/// with the origins chosen by a [`BacktestSpec`] ([`BacktestTable::build`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestTable {
    /// The band's width asked for, in standard deviations (each origin widens or
    /// narrows it by the dispersion it calibrated on its own past).
    pub z: f64,
    /// Whether the chains were fitted per segment.
    pub segmented: bool,
    /// Origins, oldest first, each with its horizons in order.
    pub rows: Vec<BacktestRow>,
    /// One summary per horizon, in order.
    pub horizons: Vec<BacktestSummary>,
    /// Every cell.
    pub total: BacktestSummary,
}

impl BacktestTable {
    /// The backtest at the origins [`BacktestSpec::origins`] picks for outcomes
    /// known until `until` (so no outcome after `until` is read), per segment when
    /// `segments` is given. `None` when the history is too short for one origin.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`] (`"horizons"`) for no horizon or a zero one;
    /// as [`backtest_rolling`] otherwise (a `z` that is not finite and non-negative,
    /// a chain beyond [`SurvivalOptions::max_cells`]).
    pub fn build(
        history: &PipelineHistory,
        until: DateTime<Utc>,
        segments: Option<&DealSegments>,
        spec: &BacktestSpec,
    ) -> Result<Option<BacktestTable>> {
        if spec.horizons.is_empty() || spec.horizons.contains(&0) {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "horizons",
                value: format!("{:?}", spec.horizons),
                reason: "give at least one horizon, each at least one day".into(),
            }));
        }
        let origins = spec.origins(history, until);
        if origins.is_empty() {
            return Ok(None);
        }
        let b = backtest_rolling(
            history,
            &origins,
            &spec.horizons,
            spec.z,
            segments,
            spec.survival,
        )?;
        Ok(Some(BacktestTable::from_rolling(
            &b,
            spec.z,
            segments.is_some(),
        )))
    }

    /// The table of a rolling backtest made with band width `z` (as given to
    /// [`backtest_rolling`]); `segmented` records whether segments were given.
    pub fn from_rolling(b: &RollingBacktest, z: f64, segmented: bool) -> BacktestTable {
        let mut rows = Vec::with_capacity(b.origins.len() * b.horizons.len());
        for o in &b.origins {
            let cells = o
                .projection
                .horizons
                .iter()
                .zip(&o.actual_wins)
                .zip(&o.actual_revenue)
                .zip(&o.covered);
            for (((h, &won), booked), &in_band) in cells {
                rows.push(BacktestRow {
                    origin: o.projection.today,
                    open_deals: o.open_deals,
                    days: h.days,
                    wins: h.wins,
                    wins_band: h.wins_band,
                    actual_wins: won,
                    revenue: h.revenue,
                    revenue_band: h.revenue_band,
                    actual_revenue: *booked,
                    in_band,
                });
            }
        }
        let per_origin = b.origins.len() as u64;
        let horizons = b
            .horizons
            .iter()
            .map(|h: &HorizonAccuracy| {
                BacktestSummary::new(
                    Some(h.days),
                    per_origin,
                    &h.wins,
                    h.relative_bias(),
                    &h.revenue,
                    h.covered,
                )
            })
            .collect();
        BacktestTable {
            z,
            segmented,
            rows,
            horizons,
            total: BacktestSummary::new(
                None,
                b.cells,
                &b.wins,
                b.relative_bias(),
                &b.revenue,
                b.covered,
            ),
        }
    }

    /// The origins, oldest first.
    pub fn origins(&self) -> Vec<NaiveDate> {
        let mut o: Vec<NaiveDate> = self.rows.iter().map(|r| r.origin).collect();
        o.dedup();
        o
    }
}
