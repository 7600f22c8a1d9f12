//! Ramp curves, team capacity and the uplift of a new hire or a new programme.

use crate::error::ErrorKind;
use chrono::{Datelike, Days, Months, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, RecordRef, Result};
use crate::money::Money;
use crate::period::{MAX_SPAN_DAYS, Period};
use crate::plan::ReverseFunnel;

/// The longest linear ramp [`RampCurve::linear`] builds: 1,200 months (100 years;
/// the curve holds one factor per month).
pub const MAX_RAMP_MONTHS: u32 = 1_200;

/// Productivity by tenure month: `factor(m)` is the share of full productivity in
/// the `m`-th month after the hire date (month 0 starts on the hire date). Factors
/// are in `[0, 1]` and non-decreasing; past the end of the curve the factor is 1.
///
/// ```
/// use revops::plan::RampCurve;
/// # fn main() -> Result<(), revops::Error> {
/// let ramp = RampCurve::new(vec![0.0, 0.25, 0.5, 0.75])?;
/// assert_eq!(ramp.factor(2), 0.5);
/// assert_eq!(ramp.factor(12), 1.0);
/// assert!(RampCurve::new(vec![0.5, 0.25]).is_err()); // decreasing
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RampCurve {
    factors: Vec<f64>,
}

impl RampCurve {
    /// A curve from its monthly factors.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the tenure month whose factor is not finite,
    /// outside `[0, 1]`, or below the previous month's.
    pub fn new(factors: Vec<f64>) -> Result<RampCurve> {
        let mut prev = 0.0;
        for (i, &f) in factors.iter().enumerate() {
            let bad = |reason: &str| {
                Error::from(ErrorKind::InvalidField {
                    record: RecordRef::new("ramp month").with_index(i),
                    field: "factor",
                    reason: format!("{f}: {reason}"),
                })
            };
            if !(f.is_finite() && (0.0..=1.0).contains(&f)) {
                return Err(bad("must be in [0, 1]"));
            }
            if f < prev {
                return Err(bad("a ramp must not decrease"));
            }
            prev = f;
        }
        Ok(RampCurve { factors })
    }

    /// A linear ramp over `months` months: `1/m, 2/m, …, 1`; no ramp for `0`.
    ///
    /// ```
    /// use revops::plan::RampCurve;
    /// # fn main() -> Result<(), revops::Error> {
    /// assert_eq!(RampCurve::linear(4)?.factors(), &[0.25, 0.5, 0.75, 1.0]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) (`"months"`) above [`MAX_RAMP_MONTHS`] (the curve
    /// holds one factor per month).
    pub fn linear(months: u32) -> Result<RampCurve> {
        if months > MAX_RAMP_MONTHS {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "months",
                value: months.to_string(),
                reason: format!("a linear ramp has at most {MAX_RAMP_MONTHS} months"),
            }));
        }
        let m = f64::from(months);
        Ok(RampCurve {
            factors: (1..=months).map(|i| f64::from(i) / m).collect(),
        })
    }

    /// The factor in tenure month `month` (1 past the end of the curve).
    pub fn factor(&self, month: u32) -> f64 {
        self.factors.get(month as usize).copied().unwrap_or(1.0)
    }

    /// The monthly factors as given.
    pub fn factors(&self) -> &[f64] {
        &self.factors
    }

    /// The factor on `day` for someone hired on `hired` (0 before the hire date).
    pub fn factor_on(&self, hired: NaiveDate, day: NaiveDate) -> f64 {
        tenure_months(hired, day).map_or(0.0, |m| self.factor(m))
    }
}

/// Ramp curves for a role: one for pipeline creation, one for bookings (bookings
/// usually ramp later, by about a sales cycle).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ramp {
    /// Pipeline creation by tenure month.
    pub pipeline: RampCurve,
    /// Bookings by tenure month.
    pub bookings: RampCurve,
}

/// Whole calendar months from `hired` to `day` (`None` before the hire date).
pub fn tenure_months(hired: NaiveDate, day: NaiveDate) -> Option<u32> {
    if day < hired {
        return None;
    }
    let mut months = (day.year() - hired.year()) * 12 + day.month() as i32 - hired.month() as i32;
    if hired
        .checked_add_months(Months::new(months.max(0) as u32))
        .is_none_or(|d| d > day)
    {
        months -= 1;
    }
    Some(months.max(0) as u32)
}

/// One seller of a team: an identifier and a hire date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hire {
    /// The seller's identifier.
    pub id: String,
    /// First day on the job.
    pub hired: NaiveDate,
}

impl Hire {
    /// A seller hired on `hired`.
    pub fn new(id: impl Into<String>, hired: NaiveDate) -> Hire {
        Hire {
            id: id.into(),
            hired,
        }
    }
}

/// Team capacity in one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityRow {
    /// The period.
    pub period: Period,
    /// Sellers on the team for at least one day of the period.
    pub headcount: u32,
    /// Full-productivity equivalents: Σ factor × share of the period employed.
    pub ramped_headcount: f64,
    /// Σ quota × factor × share of the period employed, rounded to minor units.
    pub capacity: Money,
}

fn to_decimal(name: &'static str, x: f64) -> Result<Decimal> {
    Decimal::try_from(x).map(|d| d.round_dp(6)).map_err(|_| {
        Error::from(ErrorKind::InvalidParameter {
            name,
            value: x.to_string(),
            reason: "not representable as a decimal".into(),
        })
    })
}

/// Team capacity per period: for every seller, the quota per month (at full
/// productivity) times the ramp factor at the period's start (tenure month 0 for a
/// hire inside the period) times the share of the period's days on the team, for
/// monthly periods; longer or shorter periods scale the monthly quota by
/// `days × 12 / 365`. With a non-decreasing ramp, a fixed team's monthly capacity
/// never decreases as time passes.
///
/// ```
/// use revops::{Calendar, Currency, Decimal, Granularity, plan::Hire, Money, plan::RampCurve, plan::team_capacity};
/// use chrono::NaiveDate;
/// # fn main() -> Result<(), revops::Error> {
/// let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
/// let team = [Hire::new("ann", d(1, 1)), Hire::new("bob", d(3, 1))];
/// let months: Vec<_> = Calendar::new().periods(d(3, 1), d(4, 30), Granularity::Month).collect();
/// let quota = Money::new(Decimal::from(10_000), Currency::USD);
/// let rows = team_capacity(&team, quota, &RampCurve::new(vec![0.0, 0.5])?, &months)?;
/// assert_eq!(rows[0].capacity, quota); // ann full, bob month 0
/// assert_eq!(rows[1].capacity, Money::new(Decimal::from(15_000), Currency::USD)); // bob at 50%
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) for a negative quota; [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow) from the sums.
pub fn team_capacity(
    team: &[Hire],
    quota_per_month: Money,
    ramp: &RampCurve,
    periods: &[Period],
) -> Result<Vec<CapacityRow>> {
    if quota_per_month.is_negative() {
        return Err(Error::from(ErrorKind::InvalidParameter {
            name: "quota_per_month",
            value: quota_per_month.to_string(),
            reason: "must not be negative".into(),
        }));
    }
    let currency = quota_per_month.currency();
    let mut rows = Vec::with_capacity(periods.len());
    for period in periods {
        let days = f64::from(period.days());
        let scale = match period.granularity() {
            crate::period::Granularity::Month => 1.0,
            _ => days * 12.0 / 365.0,
        };
        let mut headcount = 0;
        let mut ramped = 0.0;
        let mut capacity = Money::zero(currency);
        for h in team {
            if h.hired > period.last_day() {
                continue;
            }
            headcount += 1;
            let start = h.hired.max(period.start());
            let share = f64::from((period.end() - start).num_days() as u32) / days;
            let factor = ramp.factor_on(h.hired, start) * share;
            ramped += factor;
            let part = quota_per_month
                .checked_mul(to_decimal("ramp", factor * scale)?)?
                .round_to_minor_units();
            capacity = capacity.checked_add(&part)?;
        }
        rows.push(CapacityRow {
            period: *period,
            headcount,
            ramped_headcount: ramped,
            capacity,
        });
    }
    Ok(rows)
}

/// Expected pipeline and bookings a new seller adds over a horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HireUplift {
    /// First day of the horizon.
    pub from: NaiveDate,
    /// Days in the horizon.
    pub days: u32,
    /// Pipeline created: Σ over days of pipeline per month × pipeline ramp × 12 / 365.
    pub pipeline: Money,
    /// Bookings: Σ over days of quota per month × bookings ramp × 12 / 365.
    pub bookings: Money,
}

/// The uplift of one hire (first day `hired`) over the `days` days from `from`:
/// each day adds a 365/12-th of the monthly pipeline creation and quota at full
/// productivity, times the ramp factor of the seller's tenure month that day.
///
/// # Errors
/// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) for negative amounts, or for `days` (`"days"`) above
/// [`MAX_SPAN_DAYS`](crate::Period::MAX_SPAN_DAYS) or ending past the last representable date;
/// [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch) if the two amounts' currencies differ;
/// [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
pub fn hire_uplift(
    hired: NaiveDate,
    from: NaiveDate,
    days: u32,
    ramp: &Ramp,
    pipeline_per_month: Money,
    quota_per_month: Money,
) -> Result<HireUplift> {
    for (name, m) in [
        ("pipeline_per_month", pipeline_per_month),
        ("quota_per_month", quota_per_month),
    ] {
        if m.is_negative() {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name,
                value: m.to_string(),
                reason: "must not be negative".into(),
            }));
        }
    }
    if pipeline_per_month.currency() != quota_per_month.currency() {
        return Err(Error::from(ErrorKind::CurrencyMismatch {
            expected: pipeline_per_month.currency().to_string(),
            got: quota_per_month.currency().to_string(),
        }));
    }
    // One step per day: the horizon is bounded by the span limit, and must end on a
    // representable date.
    let past = |reason: String| {
        Error::from(ErrorKind::InvalidParameter {
            name: "days",
            value: days.to_string(),
            reason,
        })
    };
    if days > MAX_SPAN_DAYS {
        return Err(past(format!(
            "at most {MAX_SPAN_DAYS} days (the span limit, MAX_SPAN_DAYS)"
        )));
    }
    if days > 0
        && from
            .checked_add_days(Days::new(u64::from(days) - 1))
            .is_none()
    {
        return Err(past(format!(
            "{days} days from {from} go past the last representable date"
        )));
    }
    let (mut p, mut b) = (0.0, 0.0);
    let mut day = from;
    for k in 0..days {
        if k > 0 {
            // checked above: the last day is representable
            day = day.succ_opt().unwrap_or(day);
        }
        p += ramp.pipeline.factor_on(hired, day);
        b += ramp.bookings.factor_on(hired, day);
    }
    let per_day = 12.0 / 365.0;
    Ok(HireUplift {
        from,
        days,
        pipeline: pipeline_per_month
            .checked_mul(to_decimal("ramp", p * per_day)?)?
            .round_to_minor_units(),
        bookings: quota_per_month
            .checked_mul(to_decimal("ramp", b * per_day)?)?
            .round_to_minor_units(),
    })
}

/// Expected arrivals at one stage from a programme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageUplift {
    /// The stage key.
    pub stage: String,
    /// Days from entering the first stage to reaching this one (rounded up).
    pub lead_days: i64,
    /// Expected records reaching the stage within the horizon.
    pub expected: f64,
}

/// Expected uplift of a marketing programme over a horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgrammeUplift {
    /// Days in the horizon.
    pub days: u32,
    /// Extra first-stage records per day.
    pub per_day: f64,
    /// Per stage, first to won.
    pub stages: Vec<StageUplift>,
    /// The stage counted as pipeline.
    pub pipeline_stage: String,
    /// Expected arrivals at the pipeline stage × deal size.
    pub pipeline: Money,
    /// Expected wins × deal size.
    pub bookings: Money,
}

impl ReverseFunnel {
    /// The uplift of a programme adding `per_day` first-stage records every day from
    /// today for `days` days: a record reaches stage `i` its cumulative lag later with
    /// probability `Π rates`, so stage `i` expects `per_day × Π rates × max(0, days −
    /// lead)` arrivals within the horizon. Pipeline is valued at the arrivals at
    /// `pipeline_stage` times the deal size, bookings at the wins times the deal
    /// size. With the funnel's lags, a programme shows little revenue in 60–90 days.
    ///
    /// ```
    /// use revops::{Currency, Decimal, Money, plan::ReverseFunnel};
    /// # fn main() -> Result<(), revops::Error> {
    /// let f = ReverseFunnel::new(["mql", "opp", "won"], vec![0.2, 0.25], vec![20.0, 60.0])?;
    /// let deal = Money::new(Decimal::from(10_000), Currency::USD);
    /// let u = f.programme_uplift(10.0, 90, "opp", deal)?;
    /// assert_eq!(u.stages[1].expected, 140.0); // 10 × 0.2 × (90 − 20)
    /// assert_eq!(u.stages[2].expected, 5.0);   // 10 × 0.05 × (90 − 80)
    /// assert_eq!(u.bookings, Money::new(Decimal::from(50_000), Currency::USD));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::UnknownStage`](crate::error::ErrorKind::UnknownStage) for a pipeline stage not in the funnel;
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) for a negative or non-finite `per_day` or a
    /// negative deal size.
    pub fn programme_uplift(
        &self,
        per_day: f64,
        days: u32,
        pipeline_stage: &str,
        deal_size: Money,
    ) -> Result<ProgrammeUplift> {
        if !(per_day.is_finite() && per_day >= 0.0) {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "per_day",
                value: per_day.to_string(),
                reason: "must be finite and ≥ 0".into(),
            }));
        }
        if deal_size.is_negative() {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "deal_size",
                value: deal_size.to_string(),
                reason: "must not be negative".into(),
            }));
        }
        let stages_keys = self.stages();
        let Some(pipe) = stages_keys.iter().position(|s| s == pipeline_stage) else {
            return Err(Error::from(ErrorKind::UnknownStage {
                record: RecordRef::new("parameter").with_id("pipeline_stage"),
                key: pipeline_stage.to_string(),
                funnel: stages_keys.join(" → "),
            }));
        };
        let mut stages = Vec::with_capacity(stages_keys.len());
        let (mut lag, mut prob) = (0.0, 1.0);
        for (i, key) in stages_keys.iter().enumerate() {
            if i > 0 {
                lag += self.lag_days()[i - 1];
                prob *= self.rates()[i - 1];
            }
            let lead = lag.ceil() as i64;
            let open = (i64::from(days) - lead).max(0) as f64;
            stages.push(StageUplift {
                stage: key.clone(),
                lead_days: lead,
                expected: per_day * prob * open,
            });
        }
        let value = |n: f64| -> Result<Money> {
            Ok(deal_size
                .checked_mul(to_decimal("expected", n)?)?
                .round_to_minor_units())
        };
        Ok(ProgrammeUplift {
            days,
            per_day,
            pipeline: value(stages[pipe].expected)?,
            bookings: value(stages[stages.len() - 1].expected)?,
            pipeline_stage: pipeline_stage.to_string(),
            stages,
        })
    }
}

// ---------------------------------------------------------------------------
// Lookups by name (issue 15).
// ---------------------------------------------------------------------------

impl ProgrammeUplift {
    /// The expected arrivals at stage `key`, if the funnel has it.
    ///
    /// ```
    /// use revops::{Currency, Decimal, Money, plan::ReverseFunnel};
    /// # fn main() -> Result<(), revops::Error> {
    /// let f = ReverseFunnel::new(["mql", "opp", "won"], vec![0.2, 0.25], vec![20.0, 60.0])?;
    /// let u = f.programme_uplift(10.0, 90, "opp", Money::new(Decimal::from(10_000), Currency::USD))?;
    /// assert_eq!(u.stage("opp").map(|s| s.expected), Some(140.0));
    /// assert!(u.stage("sql").is_none());
    /// # Ok(()) }
    /// ```
    pub fn stage(&self, key: &str) -> Option<&StageUplift> {
        self.stages.iter().find(|s| s.stage == key)
    }
}
