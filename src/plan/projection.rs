//! Projection of open pipeline: expected wins and revenue per horizon, with a band,
//! and its backtest.
//!
//! Each open item gets a chance of being won within each horizon ([`ItemChance`]):
//! open deals from the age-conditional [`StageChain`] ([`deal_chances`]), other items
//! (leads) from an unconditional [`StageOutlook`] ([`chances`]). [`project_chances`]
//! sums them into expected wins and revenue with a normal band.

use crate::error::ErrorKind;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::hash_map::Entry;

use crate::distribution::ExactDistribution;
use crate::error::{Error, RecordRef, Result};
use crate::forecast::{ErrorMetrics, ErrorStats};
use crate::funnel::StageKind;
use crate::hash::FastMap;
use crate::money::{Currency, Money};
use crate::pipeline::{PipelineHistory, key, whole_seconds};

use super::survival::{DealSegments, StageChain, SurvivalOptions, Walker};

/// What history says about one open stage: the chance an open record there is
/// eventually won and how long winning takes from the snapshot (in seconds).
#[derive(Debug, Clone, PartialEq)]
pub struct StageOutlook {
    /// The stage key.
    pub stage: String,
    /// Historical stage-to-won rate, in `[0, 1]` (e.g. from [`crate::pipeline::StageWinRates`]).
    pub win_rate: f64,
    /// Historical time from being in this stage to winning, in seconds.
    pub time_to_close: ExactDistribution,
}

/// One open lead or opportunity at "today".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenItem {
    /// Its identifier.
    pub id: String,
    /// Its current stage key.
    pub stage: String,
    /// The value it would book if won.
    pub amount: Money,
}

/// Expected wins and revenue within one horizon, with a normal band.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HorizonProjection {
    /// Days from today.
    pub days: u32,
    /// Last day of the horizon.
    pub until: NaiveDate,
    /// Expected wins: Σ p, with `p = win rate × P(time to close ≤ horizon)`.
    pub wins: f64,
    /// Band on the wins: `wins ± z × √Σ p(1 − p)`, the lower end floored at 0.
    pub wins_band: (f64, f64),
    /// Expected revenue: Σ p × amount, rounded to minor units.
    pub revenue: Money,
    /// Band on the revenue: `± z × √Σ p(1 − p) amount²`, the lower end floored at 0.
    pub revenue_band: (f64, f64),
}

/// The result of [`project`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Projection {
    /// The snapshot date.
    pub today: NaiveDate,
    /// The band's width in standard deviations of the Bernoulli sum (the `z` asked
    /// for, times the calibrated dispersion when [`project_open_deals`] or a backtest
    /// made it).
    pub z: f64,
    /// One row per horizon, in input order (cumulative: each counts from today).
    pub horizons: Vec<HorizonProjection>,
}

/// One open item and its chance of being won within each horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemChance {
    /// The item's identifier.
    pub id: String,
    /// Its current stage key.
    pub stage: String,
    /// Its segment, when the model used one.
    pub segment: Option<String>,
    /// The value it would book if won.
    pub amount: Money,
    /// Per horizon (in the order given): the chance it is won within it, in `[0, 1]`.
    pub chances: Vec<f64>,
}

/// The chances of items projected **from today, whatever their age**: an item in a
/// stage is won within `h` days with probability `win rate × F(h)`, `F` the empirical
/// distribution of the stage's time to close. This is the lead side of a projection
/// ([`super::lead_outlook`]); open deals are projected conditional on their age by
/// [`deal_chances`].
///
/// # Errors
/// [`ErrorKind::UnknownStage`](crate::error::ErrorKind::UnknownStage) naming an open item whose stage has no outlook;
/// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the stage of a win rate outside `[0, 1]`.
pub fn chances(
    open: &[OpenItem],
    outlook: &[StageOutlook],
    horizons: &[u32],
) -> Result<Vec<ItemChance>> {
    for o in outlook {
        if !(o.win_rate.is_finite() && (0.0..=1.0).contains(&o.win_rate)) {
            return Err(Error::from(ErrorKind::InvalidField {
                record: RecordRef::new("stage outlook").with_id(&o.stage),
                field: "win_rate",
                reason: format!("{}: must be in [0, 1]", o.win_rate),
            }));
        }
    }
    // Per outlook and horizon: win rate × the share of times to close within it (each
    // outlook's times sorted once, then a binary search per horizon).
    let table: Vec<Vec<f64>> = outlook
        .iter()
        .map(|o| {
            let mut v = o.time_to_close.values().to_vec();
            v.sort_unstable();
            horizons
                .iter()
                .map(|&days| {
                    let limit = u64::from(days) * 86_400;
                    let within = if v.is_empty() {
                        0.0
                    } else {
                        v.partition_point(|&x| x <= limit) as f64 / v.len() as f64
                    };
                    o.win_rate * within
                })
                .collect()
        })
        .collect();
    open.iter()
        .enumerate()
        .map(|(i, item)| {
            let Some(o) = outlook.iter().position(|o| o.stage == item.stage) else {
                return Err(Error::from(ErrorKind::UnknownStage {
                    record: RecordRef::new("open item").with_index(i).with_id(&item.id),
                    key: item.stage.clone(),
                    funnel: "stage outlook".into(),
                }));
            };
            Ok(ItemChance {
                id: item.id.clone(),
                stage: item.stage.clone(),
                segment: None,
                amount: item.amount,
                chances: table[o].clone(),
            })
        })
        .collect()
}

/// The open deals of `history` at the chain's instant ([`StageChain::as_of`]), each
/// with its chance of being won within each horizon given its stage, its age (time
/// since its first row) and its segment (see [`StageChain`]). Deals in the order of
/// the history; the amount is the deal's amount at that instant.
///
/// # Errors
/// As [`StageChain::win_within`] (never for a chain fitted on this history).
pub fn deal_chances(
    chain: &StageChain,
    history: &PipelineHistory,
    horizons: &[u32],
) -> Result<Vec<ItemChance>> {
    Ok(OpenDeals::at(chain, history, horizons)?.items(chain, history))
}

/// One open deal of [`OpenDeals`].
struct OpenDeal {
    /// Its dense index in the history.
    index: usize,
    /// Its funnel stage.
    stage: usize,
    /// Its segment index, if the chain has segments and the deal one.
    segment: Option<usize>,
    amount: Money,
    /// Its chances per horizon: an index into [`OpenDeals::chances`].
    chances: usize,
}

/// The open deals of a history at a chain's instant with their chances, as
/// [`deal_chances`] gives them but without their texts (for the backtests, which
/// only sum the chances and look the deals up again).
struct OpenDeals {
    deals: Vec<OpenDeal>,
    /// The distinct chances, one per walked (stage, segment, day of age).
    chances: Vec<Vec<f64>>,
}

impl OpenDeals {
    /// The deals of `history` open at `chain`'s instant, in the history's order.
    fn at(chain: &StageChain, history: &PipelineHistory, horizons: &[u32]) -> Result<OpenDeals> {
        let at = (chain.as_of(), key(chain.as_of()));
        let mut deals = Vec::new();
        let mut chances = Vec::new();
        // Deals in one stage and segment on the same day of age have the same chances:
        // the chain is walked once per such cell.
        let mut walked: FastMap<(usize, Option<usize>, u64), usize> = FastMap::default();
        let mut walker = Walker::new(chain);
        for o in 0..history.len() {
            let (Some(row), Some(first), Some(&first_key)) = (
                history.row_at(o, at.1),
                history.rows_of(o).first(),
                history.keys_of(o).first(),
            ) else {
                continue;
            };
            if history.kind(row) != StageKind::Open {
                continue;
            }
            let stage = usize::from(row.stage);
            let age = u64::try_from(whole_seconds((first.at, first_key), at)).unwrap_or(0);
            let segment = chain.segments().and_then(|s| s.group_of(o));
            let k = match walked.entry((stage, segment, age / 86_400)) {
                Entry::Occupied(e) => *e.get(),
                Entry::Vacant(e) => {
                    chances.push(walker.win_within(stage, segment, age, horizons)?);
                    *e.insert(chances.len() - 1)
                }
            };
            deals.push(OpenDeal {
                index: o,
                stage,
                segment,
                amount: history.money(row.amount),
                chances: k,
            });
        }
        Ok(OpenDeals { deals, chances })
    }

    /// The deals as [`deal_chances`] gives them.
    fn items(&self, chain: &StageChain, history: &PipelineHistory) -> Vec<ItemChance> {
        let stages = history.funnel().stages();
        self.deals
            .iter()
            .map(|d| ItemChance {
                id: history.ids()[d.index].to_string(),
                stage: stages[d.stage].key.clone(),
                segment: d.segment.map(|k| {
                    chain
                        .segments()
                        .map_or_else(String::new, |s| s.names()[k].clone())
                }),
                amount: d.amount,
                chances: self.chances[d.chances].clone(),
            })
            .collect()
    }

    /// The chance of each deal within horizon `j`, in the deals' order.
    fn within(&self, j: usize) -> impl Iterator<Item = f64> + '_ {
        self.deals.iter().map(move |d| self.chances[d.chances][j])
    }

    /// The deals' dense indexes.
    fn indexes(&self) -> impl Iterator<Item = usize> + '_ {
        self.deals.iter().map(|d| d.index)
    }
}

/// Sums item chances into a projection: per horizon, expected wins `Σ p` and revenue
/// `Σ p × amount`. Items are independent Bernoulli trials, so the variance is
/// `Σ p(1 − p)` (revenue: `Σ p(1 − p) amount²`) and the band is `mean ± z·sd`
/// (`z = 1.645` for about 90 %, `1.96` for about 95 %), the lower end floored at 0;
/// the band always contains the mean. The band covers the Bernoulli noise only: the
/// error of the estimated chances is not in it (the rolling backtest measures how
/// often it holds, [`backtest_rolling`]).
///
/// # Errors
/// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) for a negative or non-finite `z`, a horizon
/// (`"horizons"`) that ends past the last representable date, or an item (`"chances"`)
/// without one chance in `[0, 1]` per horizon;
/// [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch) for an item in another currency.
pub fn project_chances(
    items: &[ItemChance],
    today: NaiveDate,
    horizons: &[u32],
    z: f64,
    currency: Currency,
) -> Result<Projection> {
    if !(z.is_finite() && z >= 0.0) {
        return Err(Error::from(ErrorKind::InvalidParameter {
            name: "z",
            value: z.to_string(),
            reason: "must be finite and ≥ 0".into(),
        }));
    }
    // Every horizon's last day, before any work.
    let until = horizons
        .iter()
        .map(|&days| {
            today
                .checked_add_days(chrono::Days::new(u64::from(days)))
                .ok_or_else(|| {
                    Error::from(ErrorKind::InvalidParameter {
                        name: "horizons",
                        value: days.to_string(),
                        reason: format!(
                            "{days} days after {today} is past the last representable date"
                        ),
                    })
                })
        })
        .collect::<Result<Vec<NaiveDate>>>()?;
    for (i, item) in items.iter().enumerate() {
        if item.amount.currency() != currency {
            return Err(Error::from(ErrorKind::CurrencyMismatch {
                expected: currency.to_string(),
                got: item.amount.currency().to_string(),
            }));
        }
        if item.chances.len() != horizons.len()
            || !item.chances.iter().all(|p| (0.0..=1.0).contains(p))
        {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "chances",
                value: format!("item #{i} ({}): {:?}", item.id, item.chances),
                reason: format!("give {} chances in [0, 1], one per horizon", horizons.len()),
            }));
        }
    }
    let mut rows = Vec::with_capacity(horizons.len());
    for (k, (&days, &until)) in horizons.iter().zip(&until).enumerate() {
        let (mut wins, mut wins_var, mut rev_var) = (0.0, 0.0, 0.0);
        let mut revenue = Money::zero(currency);
        for item in items {
            let p = item.chances[k];
            wins += p;
            wins_var += p * (1.0 - p);
            let amount = f64::try_from(item.amount.amount()).unwrap_or(0.0);
            rev_var += p * (1.0 - p) * amount * amount;
            let weight = Decimal::try_from(p).unwrap_or_default().round_dp(9);
            revenue = revenue.checked_add(&item.amount.checked_mul(weight)?)?;
        }
        let revenue = revenue.round_to_minor_units();
        let rev_mean = f64::try_from(revenue.amount()).unwrap_or(0.0);
        let (wsd, rsd) = (wins_var.sqrt(), rev_var.sqrt());
        rows.push(HorizonProjection {
            days,
            until,
            wins,
            wins_band: ((wins - z * wsd).max(0.0).min(wins), wins + z * wsd),
            revenue,
            revenue_band: (
                (rev_mean - z * rsd).max(0.0).min(rev_mean),
                rev_mean + z * rsd,
            ),
        });
    }
    Ok(Projection {
        today,
        z,
        horizons: rows,
    })
}

/// Projects the open items at `today` over each horizon (days from today; e.g.
/// `[30, 60, 90]`) from today, whatever their age: [`chances`] then
/// [`project_chances`]. Every item closes won within `h` days with probability
/// `win rate × F(h)`, `F` the empirical distribution of its stage's time to close.
/// Items are independent Bernoulli trials, so the variance is `Σ p(1 − p)` and the
/// band is `mean ± z·sd` (`z = 1.96` for about 95%); the band always contains the
/// mean. Open deals whose age is known are better projected by [`deal_chances`].
///
/// ```
/// use revops::{Currency, Decimal, distribution::ExactDistribution, Money, plan::OpenItem, plan::StageOutlook, plan::project};
/// use chrono::NaiveDate;
/// # fn main() -> Result<(), revops::Error> {
/// let day = 86_400;
/// let outlook = [StageOutlook {
///     stage: "proposal".into(),
///     win_rate: 0.5,
///     time_to_close: ExactDistribution::from(vec![10 * day, 20 * day, 40 * day, 80 * day]),
/// }];
/// let open: Vec<OpenItem> = (0..4)
///     .map(|i| OpenItem { id: format!("O{i}"), stage: "proposal".into(),
///                         amount: Money::new(Decimal::from(1_000), Currency::USD) })
///     .collect();
/// let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
/// let p = project(&open, &outlook, today, &[30, 90], 1.96, Currency::USD)?;
/// assert_eq!(p.horizons[0].wins, 1.0); // 4 × 0.5 × 2/4
/// assert_eq!(p.horizons[1].wins, 2.0); // 4 × 0.5 × 4/4
/// assert_eq!(p.horizons[1].revenue, Money::new(Decimal::from(2_000), Currency::USD));
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`ErrorKind::UnknownStage`](crate::error::ErrorKind::UnknownStage) naming an open item whose stage has no outlook;
/// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the stage of a win rate outside `[0, 1]`;
/// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) for a negative or non-finite `z`, or a horizon
/// (`"horizons"`) that ends past the last representable date;
/// [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch) for an item in another currency.
pub fn project(
    open: &[OpenItem],
    outlook: &[StageOutlook],
    today: NaiveDate,
    horizons: &[u32],
    z: f64,
    currency: Currency,
) -> Result<Projection> {
    if !(z.is_finite() && z >= 0.0) {
        return Err(Error::from(ErrorKind::InvalidParameter {
            name: "z",
            value: z.to_string(),
            reason: "must be finite and ≥ 0".into(),
        }));
    }
    let items = chances(open, outlook, horizons)?;
    project_chances(&items, today, horizons, z, currency)
}

/// The open deals of `history` at `as_of` projected by a [`StageChain`] fitted at
/// `as_of` (the deals' stage, age and segment): [`StageChain::fit`], then
/// [`deal_chances`], then [`project_chances`] with `today = as_of`'s UTC date and the
/// band widened or narrowed by [`band_dispersion`] (`z × dispersion`, unless
/// [`SurvivalOptions::band_origins`] is 0).
///
/// # Errors
/// As [`StageChain::fit`] and [`project_chances`].
pub fn project_open_deals(
    history: &PipelineHistory,
    as_of: DateTime<Utc>,
    horizons: &[u32],
    z: f64,
    segments: Option<&DealSegments>,
    options: SurvivalOptions,
) -> Result<Projection> {
    let chain = StageChain::fit(history, as_of, segments, options)?;
    let items = deal_chances(&chain, history, horizons)?;
    let dispersion = band_dispersion(history, as_of, horizons, segments, options)?;
    project_chances(
        &items,
        as_of.date_naive(),
        horizons,
        z * dispersion,
        history.currency(),
    )
}

/// How far actual wins strayed from the projection at past origins, relative to the
/// Bernoulli band: `φ = √(Σ (actual − Σp)² / Σ Σp(1 − p))` over the cells (origin ×
/// horizon) of [`SurvivalOptions::band_origins`] origins 30 days apart, the latest
/// `max(horizons)` days before `as_of` (so every outcome is known at `as_of`: no
/// look-ahead), each projected by a chain fitted at that origin. A band of `z × φ`
/// standard deviations is then calibrated on the history itself: `φ < 1` when the
/// chances are less sharp than the truth (the Bernoulli variance overstates the
/// spread), `φ > 1` when the model's own error adds to it. `1.0` when no origin has an
/// open deal (or `band_origins` is 0).
///
/// # Errors
/// As [`StageChain::fit`].
pub fn band_dispersion(
    history: &PipelineHistory,
    as_of: DateTime<Utc>,
    horizons: &[u32],
    segments: Option<&DealSegments>,
    options: SurvivalOptions,
) -> Result<f64> {
    let Some(&longest) = horizons.iter().max() else {
        return Ok(1.0);
    };
    let Some((first, _)) = history.span() else {
        return Ok(1.0);
    };
    let (mut squares, mut variance) = (0.0, 0.0);
    for k in 0..options.band_origins {
        let back = u64::from(longest) + 30 * u64::from(k);
        let Some(origin) = as_of.checked_sub_days(chrono::Days::new(back)) else {
            break;
        };
        if origin <= first {
            break;
        }
        let chain = StageChain::fit(history, origin, segments, options)?;
        let open = OpenDeals::at(&chain, history, horizons)?;
        for (j, &h) in horizons.iter().enumerate() {
            let end = origin
                .checked_add_days(chrono::Days::new(u64::from(h)))
                .unwrap_or(as_of);
            let (won, _) = won_by(history, open.indexes(), end)?;
            let mean: f64 = open.within(j).sum();
            let var: f64 = open.within(j).map(|p| p * (1.0 - p)).sum();
            squares += (won as f64 - mean).powi(2);
            variance += var;
        }
    }
    Ok(if variance > 0.0 {
        (squares / variance).sqrt()
    } else {
        1.0
    })
}

/// How many of the deals `index` are won at `end`, and their amount then.
fn won_by(
    history: &PipelineHistory,
    index: impl Iterator<Item = usize>,
    end: DateTime<Utc>,
) -> Result<(u64, Money)> {
    let (mut n, mut amount) = (0u64, Money::zero(history.currency()));
    let end = key(end);
    for i in index {
        if let Some(r) = history.row_at(i, end)
            && history.kind(r) == StageKind::Won
        {
            n += 1;
            amount = amount.checked_add(&history.money(r.amount))?;
        }
    }
    Ok((n, amount))
}

/// A projection made at a past instant, next to what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectionBacktest {
    /// The projection as it would have been made at `t0` (a [`StageChain`] fitted on
    /// what was known at `t0`: no look-ahead).
    pub projection: Projection,
    /// Deals open at `t0` (every one is projected).
    pub open_deals: usize,
    /// The band's calibration factor ([`band_dispersion`] at `t0`); the band is
    /// `z × dispersion` standard deviations wide (recorded in the projection's `z`).
    pub dispersion: f64,
    /// Per horizon: deals open at `t0` that were won by the horizon's end.
    pub actual_wins: Vec<u64>,
    /// Per horizon: their booked amount (the amount when won).
    pub actual_revenue: Vec<Money>,
    /// Per horizon: whether the actual wins lie in the projection's band (inclusive).
    pub covered: Vec<bool>,
    /// Revenue forecast errors over the horizons (forecast = projected revenue,
    /// actual = booked revenue; sign forecast − actual).
    pub revenue_errors: ErrorMetrics,
    /// Win-count forecast errors over the horizons.
    pub win_errors: ErrorMetrics,
}

/// Projects the deals open at a past instant `t0` with a [`StageChain`] fitted as of
/// `t0` (no look-ahead; the band calibrated by [`band_dispersion`] at `t0`) and
/// compares with what they did by each horizon (days after `t0`), using the
/// forecast-error metrics ([`ErrorStats`]).
///
/// # Errors
/// As [`project_open_deals`]; [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) if no horizon is given.
pub fn backtest_projection(
    history: &PipelineHistory,
    t0: DateTime<Utc>,
    horizons: &[u32],
    z: f64,
    segments: Option<&DealSegments>,
    options: SurvivalOptions,
) -> Result<ProjectionBacktest> {
    if horizons.is_empty() {
        return Err(Error::from(ErrorKind::InvalidParameter {
            name: "horizons",
            value: "[]".into(),
            reason: "give at least one horizon".into(),
        }));
    }
    let currency = history.currency();
    let chain = StageChain::fit(history, t0, segments, options)?;
    let open = OpenDeals::at(&chain, history, horizons)?;
    let items = open.items(&chain, history);
    let dispersion = band_dispersion(history, t0, horizons, segments, options)?;
    let projection = project_chances(&items, t0.date_naive(), horizons, z * dispersion, currency)?;
    let mut actual_wins = Vec::with_capacity(horizons.len());
    let mut actual_revenue = Vec::with_capacity(horizons.len());
    let mut covered = Vec::with_capacity(horizons.len());
    let (mut rev, mut wins) = (ErrorStats::default(), ErrorStats::default());
    for (h, row) in horizons.iter().zip(&projection.horizons) {
        // Representable: `project_chances` checked every horizon's last day.
        let end = t0
            .checked_add_days(chrono::Days::new(u64::from(*h)))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let (n, amount) = won_by(history, open.indexes(), end)?;
        let booked: f64 = amount.amount().try_into().unwrap_or(0.0);
        let projected: f64 = row.revenue.amount().try_into().unwrap_or(0.0);
        rev.add_pair(projected, booked)?;
        wins.add_pair(row.wins, n as f64)?;
        covered.push(row.wins_band.0 <= n as f64 && n as f64 <= row.wins_band.1);
        actual_wins.push(n);
        actual_revenue.push(amount);
    }
    Ok(ProjectionBacktest {
        projection,
        open_deals: items.len(),
        dispersion,
        actual_wins,
        actual_revenue,
        covered,
        revenue_errors: rev.finish()?,
        win_errors: wins.finish()?,
    })
}

/// The accuracy of one horizon over the origins of a rolling backtest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HorizonAccuracy {
    /// Days after each origin.
    pub days: u32,
    /// Projected against actual wins, one pair per origin.
    pub wins: ErrorMetrics,
    /// Projected against booked revenue, one pair per origin.
    pub revenue: ErrorMetrics,
    /// Origins whose actual wins lie in the band.
    pub covered: u64,
}

impl HorizonAccuracy {
    /// The wins' mean bias relative to the actual: `(Σ projected − Σ actual) / Σ
    /// actual`; `None` without actual wins.
    pub fn relative_bias(&self) -> Option<f64> {
        relative_bias(&self.wins)
    }
}

fn relative_bias(m: &ErrorMetrics) -> Option<f64> {
    (m.total_actual != 0.0).then(|| (m.total_forecast - m.total_actual) / m.total_actual)
}

/// A rolling-origin backtest: the same projection made at each origin, next to what
/// happened ([`backtest_rolling`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollingBacktest {
    /// One backtest per origin, in the order given.
    pub origins: Vec<ProjectionBacktest>,
    /// One row per horizon: its errors over the origins.
    pub horizons: Vec<HorizonAccuracy>,
    /// Wins over every origin × horizon cell.
    pub wins: ErrorMetrics,
    /// Revenue over every origin × horizon cell (its `wape` is the pooled revenue WAPE).
    pub revenue: ErrorMetrics,
    /// Origin × horizon cells whose actual wins lie in the band.
    pub covered: u64,
    /// Origin × horizon cells.
    pub cells: u64,
}

impl RollingBacktest {
    /// The share of cells whose actual wins lie in the band; `None` without cells.
    pub fn coverage(&self) -> Option<f64> {
        (self.cells > 0).then(|| self.covered as f64 / self.cells as f64)
    }

    /// The wins' mean bias over every cell relative to the actual (see
    /// [`HorizonAccuracy::relative_bias`]).
    pub fn relative_bias(&self) -> Option<f64> {
        relative_bias(&self.wins)
    }
}

/// [`backtest_projection`] at each origin, with the errors of each horizon over the
/// origins (MAPE, bias, WAPE from [`ErrorStats`]) and the band's coverage. Each
/// origin's chain is fitted on what was known then.
///
/// # Errors
/// As [`backtest_projection`]; [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) (`"origins"`) if none
/// is given.
pub fn backtest_rolling(
    history: &PipelineHistory,
    origins: &[DateTime<Utc>],
    horizons: &[u32],
    z: f64,
    segments: Option<&DealSegments>,
    options: SurvivalOptions,
) -> Result<RollingBacktest> {
    if origins.is_empty() {
        return Err(Error::from(ErrorKind::InvalidParameter {
            name: "origins",
            value: "[]".into(),
            reason: "give at least one origin".into(),
        }));
    }
    let runs = origins
        .iter()
        .map(|&t0| backtest_projection(history, t0, horizons, z, segments, options))
        .collect::<Result<Vec<_>>>()?;
    let mut rows = Vec::with_capacity(horizons.len());
    let (mut all_wins, mut all_rev) = (ErrorStats::default(), ErrorStats::default());
    let mut covered = 0;
    for (k, &days) in horizons.iter().enumerate() {
        let (mut w, mut r, mut c) = (ErrorStats::default(), ErrorStats::default(), 0);
        for b in &runs {
            let row = &b.projection.horizons[k];
            let projected: f64 = row.revenue.amount().try_into().unwrap_or(0.0);
            let booked: f64 = b.actual_revenue[k].amount().try_into().unwrap_or(0.0);
            let won = b.actual_wins[k] as f64;
            for (stats, f, y) in [(&mut w, row.wins, won), (&mut all_wins, row.wins, won)] {
                stats.add_pair(f, y)?;
            }
            for stats in [&mut r, &mut all_rev] {
                stats.add_pair(projected, booked)?;
            }
            c += u64::from(b.covered[k]);
        }
        covered += c;
        rows.push(HorizonAccuracy {
            days,
            wins: w.finish()?,
            revenue: r.finish()?,
            covered: c,
        });
    }
    Ok(RollingBacktest {
        cells: (runs.len() * horizons.len()) as u64,
        origins: runs,
        horizons: rows,
        wins: all_wins.finish()?,
        revenue: all_rev.finish()?,
        covered,
    })
}
