//! Projection of open pipeline: expected wins and revenue per horizon, with a band.

use crate::error::ErrorKind;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::distribution::ExactDistribution;
use crate::error::{Error, RecordRef, Result};
use crate::forecast::{ErrorMetrics, ErrorStats};
use crate::money::{Currency, Money};
use crate::pipeline::{PipelineHistory, SalesCycleSpec};

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
    /// The band's width in standard deviations.
    pub z: f64,
    /// One row per horizon, in input order (cumulative: each counts from today).
    pub horizons: Vec<HorizonProjection>,
}

/// Projects the open items at `today` over each horizon (days from today; e.g.
/// `[30, 60, 90]`): every item closes won within `h` days with probability
/// `win rate × F(h)`, `F` the empirical distribution of its stage's time to close.
/// Items are independent Bernoulli trials, so the variance is `Σ p(1 − p)` and the
/// band is `mean ± z·sd` (`z = 1.96` for about 95%); the band always contains the
/// mean.
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
    for o in outlook {
        if !(o.win_rate.is_finite() && (0.0..=1.0).contains(&o.win_rate)) {
            return Err(Error::from(ErrorKind::InvalidField {
                record: RecordRef::new("stage outlook").with_id(&o.stage),
                field: "win_rate",
                reason: format!("{}: must be in [0, 1]", o.win_rate),
            }));
        }
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
    // Resolve every item's outlook once.
    let mut items = Vec::with_capacity(open.len());
    for (i, item) in open.iter().enumerate() {
        let Some(o) = outlook.iter().position(|o| o.stage == item.stage) else {
            return Err(Error::from(ErrorKind::UnknownStage {
                record: RecordRef::new("open item").with_index(i).with_id(&item.id),
                key: item.stage.clone(),
                funnel: "stage outlook".into(),
            }));
        };
        if item.amount.currency() != currency {
            return Err(Error::from(ErrorKind::CurrencyMismatch {
                expected: currency.to_string(),
                got: item.amount.currency().to_string(),
            }));
        }
        items.push((item, o));
    }
    let mut rows = Vec::with_capacity(horizons.len());
    // Per outlook: its times to close, sorted once (each horizon then counts the
    // ones within it by a binary search, not a pass per item).
    let sorted: Vec<Vec<u64>> = outlook
        .iter()
        .map(|o| {
            let mut v = o.time_to_close.values().to_vec();
            v.sort_unstable();
            v
        })
        .collect();
    for (&days, &until) in horizons.iter().zip(&until) {
        let limit = u64::from(days) * 86_400;
        let (mut wins, mut wins_var, mut rev_var) = (0.0, 0.0, 0.0);
        let mut revenue = Money::zero(currency);
        // Per outlook: P(win within the horizon).
        let chance: Vec<f64> = outlook
            .iter()
            .zip(&sorted)
            .map(|(o, values)| {
                let within = if values.is_empty() {
                    0.0
                } else {
                    values.partition_point(|&v| v <= limit) as f64 / values.len() as f64
                };
                o.win_rate * within
            })
            .collect();
        for &(item, o) in &items {
            let p = chance[o];
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

/// The outlook of every stage learnt from a pipeline history as of `as_of`: each
/// stage's empirical stage-to-won rate (of the deals ever in it and closed by then) and
/// the time to close of the won deals closed by then (the same distribution for every
/// stage). Stages without closed deals are left out.
pub fn outlook_from_history(history: &PipelineHistory, as_of: DateTime<Utc>) -> Vec<StageOutlook> {
    let rates = history.stage_win_rates(as_of, None);
    let cycle = history.sales_cycle(&SalesCycleSpec::new(as_of));
    rates
        .stages
        .iter()
        .filter_map(|r| {
            r.ratio.value().map(|v| StageOutlook {
                stage: r.key.clone(),
                win_rate: v,
                time_to_close: ExactDistribution::from(cycle.durations.values().to_vec()),
            })
        })
        .collect()
}

/// The open opportunities of a history at `at`, as projection items (deals in a stage
/// without an outlook are left out and counted in the second value).
pub fn open_items(
    history: &PipelineHistory,
    at: DateTime<Utc>,
    outlook: &[StageOutlook],
) -> (Vec<OpenItem>, usize) {
    let mut skipped = 0;
    let items = history
        .snapshot(at)
        .entries
        .iter()
        .filter(|e| e.state.is_open())
        .filter_map(|e| {
            let key = &history.funnel().stages()[e.state.stage].key;
            if outlook.iter().any(|o| &o.stage == key) {
                Some(OpenItem {
                    id: e.opportunity.to_string(),
                    stage: key.clone(),
                    amount: e.state.amount,
                })
            } else {
                skipped += 1;
                None
            }
        })
        .collect();
    (items, skipped)
}

/// A projection made at a past instant, next to what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectionBacktest {
    /// The projection as it would have been made at `t0` (learning only from deals
    /// closed by then).
    pub projection: Projection,
    /// Per horizon: deals open at `t0` that were won by the horizon's end.
    pub actual_wins: Vec<u64>,
    /// Per horizon: their booked amount (the amount when won).
    pub actual_revenue: Vec<Money>,
    /// Open deals at `t0` left out for lack of a stage outlook.
    pub skipped: usize,
    /// Revenue forecast errors over the horizons (forecast = projected revenue,
    /// actual = booked revenue; sign forecast − actual).
    pub revenue_errors: ErrorMetrics,
    /// Win-count forecast errors over the horizons.
    pub win_errors: ErrorMetrics,
}

/// Projects the deals open at a past instant `t0` with the outlook learnt as of `t0`
/// (no look-ahead) and compares with what they did by each horizon, using the
/// forecast-error metrics ([`ErrorStats`]).
///
/// # Errors
/// As [`project`]; [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) if no horizon is given.
pub fn backtest_projection(
    history: &PipelineHistory,
    t0: DateTime<Utc>,
    horizons: &[u32],
    z: f64,
) -> Result<ProjectionBacktest> {
    if horizons.is_empty() {
        return Err(Error::from(ErrorKind::InvalidParameter {
            name: "horizons",
            value: "[]".into(),
            reason: "give at least one horizon".into(),
        }));
    }
    let currency = history.currency();
    let outlook = outlook_from_history(history, t0);
    let (items, skipped) = open_items(history, t0, &outlook);
    let projection = project(&items, &outlook, t0.date_naive(), horizons, z, currency)?;
    let mut actual_wins = Vec::with_capacity(horizons.len());
    let mut actual_revenue = Vec::with_capacity(horizons.len());
    let (mut rev, mut wins) = (ErrorStats::default(), ErrorStats::default());
    for (h, row) in horizons.iter().zip(&projection.horizons) {
        // Representable: `project` checked every horizon's last day.
        let end = t0
            .checked_add_days(chrono::Days::new(u64::from(*h)))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let (mut n, mut amount) = (0u64, Money::zero(currency));
        for item in &items {
            let Some(i) = history.index_of(&item.id) else {
                continue;
            };
            if let Some(s) = history.state_at(i, end)
                && s.is_won()
            {
                n += 1;
                amount = amount.checked_add(&s.amount)?;
            }
        }
        let booked: f64 = amount.amount().try_into().unwrap_or(0.0);
        let projected: f64 = row.revenue.amount().try_into().unwrap_or(0.0);
        rev.add_pair(projected, booked)?;
        wins.add_pair(row.wins, n as f64)?;
        actual_wins.push(n);
        actual_revenue.push(amount);
    }
    Ok(ProjectionBacktest {
        projection,
        actual_wins,
        actual_revenue,
        skipped,
        revenue_errors: rev.finish()?,
        win_errors: wins.finish()?,
    })
}
