//! The reverse funnel: from a revenue target back to the inflow each stage needs.

use crate::error::ErrorKind;
use chrono::{NaiveDate, TimeDelta};
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use crate::error::{Error, RecordRef, Result};
use crate::funnel::{CohortReport, VelocityReport};
use crate::money::Money;
use crate::period::Period;

/// How a reverse plan rounds the counts it derives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum RoundingPolicy {
    /// Round up to a whole record at every stage (the default): each stage's count is
    /// enough, in whole records, to produce the next stage's count.
    #[default]
    EveryStage,
    /// Keep fractional requirements through the funnel and round up only the first
    /// stage (the inflow): a smaller plan that meets the target in expectation.
    AtEnd,
}

/// A funnel seen from the end: ordered stages ending at won, the conversion rate of
/// each step and the lag (days) from entering a stage to entering the next.
///
/// ```
/// use revops::{Currency, Decimal, Money, Period, Calendar, Granularity, plan::ReverseFunnel,
///              plan::RoundingPolicy};
/// use chrono::NaiveDate;
/// # fn main() -> Result<(), revops::Error> {
/// let funnel = ReverseFunnel::new(
///     ["mql", "sql", "won"],
///     vec![0.5, 0.25],
///     vec![10.0, 30.0],
/// )?;
/// let q = Calendar::new().period_of_date(NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
///                                        Granularity::Quarter);
/// let usd = |v: i64| Money::new(Decimal::from(v), Currency::USD);
/// let plan = funnel.plan(&[(q, usd(100_000))], usd(10_000), RoundingPolicy::EveryStage)?;
/// let p = &plan.periods[0];
/// assert_eq!(p.wins, 10);
/// assert_eq!(p.stages[0].count, 80); // 10 wins / 0.25 = 40 SQLs / 0.5 = 80 MQLs
/// assert_eq!(p.stages[0].enter_from, NaiveDate::from_ymd_opt(2026, 2, 20).unwrap());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReverseFunnel {
    stages: Vec<String>,
    rates: Vec<f64>,
    lag_days: Vec<f64>,
}

/// What one stage needs for one period's target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRequirement {
    /// The stage key.
    pub stage: String,
    /// Records that must enter the stage, as computed under the rounding policy
    /// (a whole number under [`RoundingPolicy::EveryStage`], and for the first
    /// stage).
    pub required: f64,
    /// [`required`](Self::required) rounded up to whole records: the least whole
    /// number of records that is enough.
    pub count: u64,
    /// Days between entering this stage and winning (sum of the step lags, rounded up).
    pub lead_days: i64,
    /// First day records must enter this stage (period start − lead days).
    pub enter_from: NaiveDate,
    /// Last day records must enter this stage (period's last day − lead days).
    pub enter_by: NaiveDate,
}

/// The plan for one target period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodPlan {
    /// The period the revenue must close in.
    pub period: Period,
    /// The revenue target.
    pub target: Money,
    /// Wins needed: `⌈target / deal size⌉`.
    pub wins: u64,
    /// One requirement per stage, first stage first, won last.
    pub stages: Vec<StageRequirement>,
}

/// The result of [`ReverseFunnel::plan`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReversePlan {
    /// Stage keys, first to won.
    pub stages: Vec<String>,
    /// The average deal size used.
    pub deal_size: Money,
    /// The rounding policy used.
    pub rounding: RoundingPolicy,
    /// One plan per target period, in input order.
    pub periods: Vec<PeriodPlan>,
}

fn param(name: &'static str, value: impl ToString, reason: impl Into<String>) -> Error {
    Error::from(ErrorKind::InvalidParameter {
        name,
        value: value.to_string(),
        reason: reason.into(),
    })
}

fn step_error(field: &'static str, from: &str, to: &str, value: f64, reason: &str) -> Error {
    Error::from(ErrorKind::InvalidField {
        record: RecordRef::new("funnel step").with_id(format!("{from} → {to}")),
        field,
        reason: format!("{value}: {reason}"),
    })
}

impl ReverseFunnel {
    /// A reverse funnel from stage keys (first to won), one conversion rate per step
    /// (`rates[i]` from `stages[i]` to `stages[i + 1]`, in `(0, 1]`) and one lag per
    /// step in days (finite, `≥ 0`).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) if there are fewer than two stages or the lengths
    /// disagree; [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the step (`from → to`) for a rate
    /// outside `(0, 1]` (a zero rate can never meet a target) or a bad lag.
    pub fn new<S: Into<String>>(
        stages: impl IntoIterator<Item = S>,
        rates: Vec<f64>,
        lag_days: Vec<f64>,
    ) -> Result<ReverseFunnel> {
        let stages: Vec<String> = stages.into_iter().map(Into::into).collect();
        if stages.len() < 2 {
            return Err(param(
                "stages",
                stages.len(),
                "a reverse funnel needs at least two stages",
            ));
        }
        let steps = stages.len() - 1;
        if rates.len() != steps {
            return Err(param(
                "rates",
                rates.len(),
                format!("expected one rate per step ({steps})"),
            ));
        }
        if lag_days.len() != steps {
            return Err(param(
                "lag_days",
                lag_days.len(),
                format!("expected one lag per step ({steps})"),
            ));
        }
        for i in 0..steps {
            let (from, to) = (&stages[i], &stages[i + 1]);
            let r = rates[i];
            if !(r.is_finite() && r > 0.0 && r <= 1.0) {
                return Err(step_error("rate", from, to, r, "must be in (0, 1]"));
            }
            let l = lag_days[i];
            if !(l.is_finite() && l >= 0.0) {
                return Err(step_error(
                    "lag_days",
                    from,
                    to,
                    l,
                    "must be finite and ≥ 0",
                ));
            }
        }
        Ok(ReverseFunnel {
            stages,
            rates,
            lag_days,
        })
    }

    /// A reverse funnel from the total row of a cohort report (its adjacent `steps`
    /// from the anchor to won), with zero lags (set them with
    /// [`with_lags`](Self::with_lags) or [`with_velocity`](Self::with_velocity)).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) if the report has no steps; [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField)
    /// naming the step whose rate is zero or unknown (no records reached it).
    pub fn from_cohort(report: &CohortReport) -> Result<ReverseFunnel> {
        let steps = &report.total.all.steps;
        let Some(first) = steps.first() else {
            return Err(param(
                "report",
                "no steps",
                "the cohort report has no steps",
            ));
        };
        let mut stages = vec![first.from.clone()];
        let mut rates = Vec::with_capacity(steps.len());
        for s in steps {
            let r = s.ratio.value().unwrap_or(0.0);
            if r <= 0.0 {
                return Err(step_error(
                    "rate",
                    &s.from,
                    &s.to,
                    r,
                    &format!("observed rate {} cannot plan a target", s.ratio),
                ));
            }
            stages.push(s.to.clone());
            rates.push(r);
        }
        let n = rates.len();
        ReverseFunnel::new(stages, rates, vec![0.0; n])
    }

    /// Replaces the per-step lags (days).
    ///
    /// # Errors
    /// As [`new`](Self::new) for the lags.
    pub fn with_lags(self, lag_days: Vec<f64>) -> Result<ReverseFunnel> {
        ReverseFunnel::new(self.stages, self.rates, lag_days)
    }

    /// Takes every step's lag from a velocity report: the median days of the step
    /// with the same `from` and `to` stages in its total table.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the step the report does not measure (or
    /// measures with no data).
    pub fn with_velocity(self, report: &VelocityReport) -> Result<ReverseFunnel> {
        let mut lags = Vec::with_capacity(self.rates.len());
        for w in self.stages.windows(2) {
            let lag = report
                .total
                .steps
                .iter()
                .find(|s| s.from == w[0] && s.to == w[1])
                .and_then(|s| s.summary)
                .map(|s| s.median_days())
                .ok_or_else(|| {
                    step_error(
                        "lag_days",
                        &w[0],
                        &w[1],
                        f64::NAN,
                        "the velocity report has no measured step for it",
                    )
                })?;
            lags.push(lag);
        }
        self.with_lags(lags)
    }

    /// The stage keys, first to won.
    pub fn stages(&self) -> &[String] {
        &self.stages
    }

    /// The conversion rate of each step.
    pub fn rates(&self) -> &[f64] {
        &self.rates
    }

    /// The lag of each step, in days.
    pub fn lag_days(&self) -> &[f64] {
        &self.lag_days
    }

    /// Runs `entering` records forward through the funnel and returns the expected
    /// wins. Under [`RoundingPolicy::EveryStage`] each stage keeps only whole records
    /// (rounded down); under [`RoundingPolicy::AtEnd`] nothing is rounded.
    pub fn forward(&self, entering: f64, rounding: RoundingPolicy) -> f64 {
        self.rates.iter().fold(entering, |n, r| match rounding {
            RoundingPolicy::EveryStage => (n * r).floor(),
            RoundingPolicy::AtEnd => n * r,
        })
    }

    /// Plans every target: wins `⌈target / deal size⌉`, then each stage's count
    /// back up the funnel, and when it must enter (the target period shifted back
    /// by the stage's cumulative lag). Running the first stage's count forward
    /// ([`forward`](Self::forward), same rounding) always meets the wins, and every
    /// count is the least that does: one record less at any stage would fall short
    /// (of the next stage's count under [`RoundingPolicy::EveryStage`], of the wins
    /// under [`RoundingPolicy::AtEnd`]).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) for a deal size that is not positive, a negative
    /// target, or a count above [`MAX_PLAN_COUNT`]; [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch) if a
    /// target's currency differs from the deal size's; [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField)
    /// naming the stage whose lead days put its entry dates before the first
    /// representable date.
    pub fn plan(
        &self,
        targets: &[(Period, Money)],
        deal_size: Money,
        rounding: RoundingPolicy,
    ) -> Result<ReversePlan> {
        if deal_size.is_negative() || deal_size.is_zero() {
            return Err(param("deal_size", deal_size, "must be positive"));
        }
        // Cumulative lead days from each stage to won.
        let n = self.stages.len();
        let mut lead = vec![0i64; n];
        let mut acc = 0.0;
        for i in (0..n - 1).rev() {
            acc += self.lag_days[i];
            lead[i] = acc.ceil() as i64;
        }
        let mut periods = Vec::with_capacity(targets.len());
        for (period, target) in targets {
            if target.is_negative() {
                return Err(param("targets", target, "a target must not be negative"));
            }
            let ratio = target
                .ratio_to(&deal_size)?
                .ok_or_else(|| param("deal_size", deal_size, "must be positive"))?;
            let wins = ratio
                .ceil()
                .to_u64()
                .ok_or_else(|| param("targets", target, "too many wins to represent"))?;
            let counts = self
                .requirements(wins, rounding)
                .ok_or_else(|| param("targets", target, "required counts too large"))?;
            let mut stages = Vec::with_capacity(n);
            for ((stage, &(req, count)), &days) in self.stages.iter().zip(&counts).zip(&lead) {
                let (enter_from, enter_by) = TimeDelta::try_days(days)
                    .and_then(|shift| {
                        Some((
                            period.start().checked_sub_signed(shift)?,
                            period.last_day().checked_sub_signed(shift)?,
                        ))
                    })
                    .ok_or_else(|| {
                        Error::from(ErrorKind::InvalidField {
                            record: RecordRef::new("funnel stage").with_id(stage),
                            field: "lag_days",
                            reason: format!(
                                "{days} days before {period} is outside the representable dates"
                            ),
                        })
                    })?;
                stages.push(StageRequirement {
                    stage: stage.clone(),
                    required: req,
                    count,
                    lead_days: days,
                    enter_from,
                    enter_by,
                });
            }
            periods.push(PeriodPlan {
                period: *period,
                target: *target,
                wins,
                stages,
            });
        }
        Ok(ReversePlan {
            stages: self.stages.clone(),
            deal_size,
            rounding,
            periods,
        })
    }

    /// Required entries per stage (first to won) for `wins` wins: the fractional
    /// requirement and the whole count, or `None` when a count would exceed
    /// [`MAX_PLAN_COUNT`].
    ///
    /// Each count is the **least** whole number of records that is enough, going
    /// forward with the same `f64` arithmetic and rounding as
    /// [`forward`](Self::forward): under [`RoundingPolicy::EveryStage`] to produce
    /// the next stage's count, under [`RoundingPolicy::AtEnd`] to produce the wins.
    /// The quotient `next / rate` is only the starting guess: in `f64`,
    /// `21 / 0.7 = 30.000000000000004`, whose ceiling asks for 31 records where 30
    /// give 21.
    fn requirements(&self, wins: u64, rounding: RoundingPolicy) -> Option<Vec<(f64, u64)>> {
        if wins > MAX_PLAN_COUNT {
            return None;
        }
        let n = self.stages.len();
        let mut out = vec![(0.0, 0); n];
        out[n - 1] = (wins as f64, wins);
        let bounded = |x: f64| (x.is_finite() && x <= MAX_PLAN_COUNT as f64).then_some(x);
        match rounding {
            RoundingPolicy::EveryStage => {
                for i in (0..n - 1).rev() {
                    let next = out[i + 1].1;
                    let r = self.rates[i];
                    let guess = bounded(next as f64 / r)?;
                    let k = least_sufficient(guess, |k| (k as f64 * r).floor() >= next as f64)?;
                    out[i] = (k as f64, k);
                }
            }
            RoundingPolicy::AtEnd => {
                let mut required = wins as f64;
                for i in (0..n - 1).rev() {
                    required = bounded(required / self.rates[i])?;
                    let rest = &self.rates[i..];
                    let k = least_sufficient(required, |k| {
                        rest.iter().fold(k as f64, |x, r| x * r) >= wins as f64
                    })?;
                    // Within float noise of a whole number the quotient may land on
                    // either side of `k`; keep `count = ⌈required⌉`.
                    let shown = if required > k as f64 || required <= k.saturating_sub(1) as f64 {
                        k as f64
                    } else {
                        required
                    };
                    out[i] = (if i == 0 { k as f64 } else { shown }, k);
                }
            }
        }
        Some(out)
    }
}

/// The largest count a reverse plan computes (10^15 records): counts stay exact
/// integers in `f64`, and a larger requirement is a sign of a bad target or rate.
pub const MAX_PLAN_COUNT: u64 = 1_000_000_000_000_000;

/// The least `k` with `ok(k)`, for a monotone `ok` (false up to some count, true
/// from it on), searched from the estimate `guess` (≥ 0, ≤ [`MAX_PLAN_COUNT`]):
/// galloping away from it, then bisecting. `None` if no count up to
/// [`MAX_PLAN_COUNT`] is enough.
fn least_sufficient(guess: f64, ok: impl Fn(u64) -> bool) -> Option<u64> {
    let cap = MAX_PLAN_COUNT;
    let start = (guess.max(0.0).ceil() as u64).min(cap);
    // Bracket: `lo` is not enough, `hi` is enough.
    let (mut lo, mut hi);
    if ok(start) {
        hi = start;
        let mut step = 1u64;
        loop {
            match hi.checked_sub(step) {
                Some(below) if !ok(below) => {
                    lo = below;
                    break;
                }
                Some(below) => {
                    hi = below;
                    step = step.saturating_mul(2);
                }
                None if ok(0) => return Some(0),
                None => {
                    lo = 0;
                    break;
                }
            }
        }
    } else {
        lo = start;
        let mut step = 1u64;
        loop {
            let above = lo.checked_add(step).filter(|&k| k <= cap)?;
            if ok(above) {
                hi = above;
                break;
            }
            lo = above;
            step = step.saturating_mul(2);
        }
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if ok(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

impl PeriodPlan {
    /// The requirement of stage `key`, if the plan has it.
    pub fn stage(&self, key: &str) -> Option<&StageRequirement> {
        self.stages.iter().find(|s| s.stage == key)
    }
}

impl ReversePlan {
    /// Total records that must enter stage `key` over all periods (whole records).
    pub fn total(&self, key: &str) -> u64 {
        self.periods
            .iter()
            .filter_map(|p| p.stage(key))
            .map(|s| s.count)
            .sum()
    }

    /// Total target over all periods.
    ///
    /// # Errors
    /// [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch) or [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow) from the sum.
    pub fn total_target(&self) -> Result<Money> {
        Money::sum(
            self.deal_size.currency(),
            self.periods.iter().map(|p| &p.target),
        )
    }
}
