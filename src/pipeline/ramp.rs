//! Ramp measured from history: each new owner's pipeline created and bookings by
//! month since they started, relative to tenured owners over the same days.

use std::collections::BTreeMap;

use chrono::{DateTime, Months, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::history::{PipelineHistory, key, seconds_between};
use crate::accumulate::{Accumulator, StateVersion};
use crate::breakdown::Keys;
use crate::error::{Error, ErrorKind, RecordRef, Result};
use crate::funnel::StageKind;
use crate::money::{Currency, Money};
use crate::period::MAX_SPAN_DAYS;
use crate::plan::{Hire, MAX_RAMP_MONTHS, Ramp, RampCurve};

/// The default [`RampSpec::max_cells`]: 1,000,000 owner-months.
pub const DEFAULT_MAX_RAMP_CELLS: u64 = 1_000_000;

/// How the ramp is measured (see [`RampReport`] for the definitions).
///
/// ```
/// use revops::{pipeline::RampSpec, plan::Hire};
/// use chrono::{NaiveDate, TimeZone, Utc};
/// # fn main() -> Result<(), revops::Error> {
/// let spec = RampSpec::new(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap())
///     .with_tenured_after_months(9)
///     .with_hires(&[Hire::new("ann", NaiveDate::from_ymd_opt(2025, 3, 1).unwrap())]);
/// assert_eq!((spec.tenured_after_months, spec.established_days), (9, 90));
/// assert_eq!(spec.hires.len(), 1);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RampSpec {
    /// What is known: rows after it are not read.
    pub as_of: DateTime<Utc>,
    /// `T`: whole months after their start from which an owner is tenured, and the
    /// number of points of the curve (1 to [`MAX_RAMP_MONTHS`]). Default 12.
    pub tenured_after_months: u32,
    /// An owner without a hire date whose first activity is within this many days of
    /// the history's first row is established (at most
    /// [`Period::MAX_SPAN_DAYS`](crate::Period::MAX_SPAN_DAYS)). Default 90.
    pub established_days: u32,
    /// Known hire dates by owner: the start of those owners (never established).
    pub hires: BTreeMap<String, NaiveDate>,
    /// Most `owners × T` cells of the per-owner months. Default
    /// [`DEFAULT_MAX_RAMP_CELLS`].
    pub max_cells: u64,
}

impl RampSpec {
    /// The defaults, as of `as_of`.
    pub fn new(as_of: DateTime<Utc>) -> RampSpec {
        RampSpec {
            as_of,
            tenured_after_months: 12,
            established_days: 90,
            hires: BTreeMap::new(),
            max_cells: DEFAULT_MAX_RAMP_CELLS,
        }
    }

    /// Sets `T`, the months to tenure and the length of the curve.
    #[must_use]
    pub fn with_tenured_after_months(mut self, months: u32) -> RampSpec {
        self.tenured_after_months = months;
        self
    }

    /// Sets the window, in days after the history's first row, of established owners.
    #[must_use]
    pub fn with_established_days(mut self, days: u32) -> RampSpec {
        self.established_days = days;
        self
    }

    /// Adds known hire dates (a later entry for the same owner replaces an earlier one).
    #[must_use]
    pub fn with_hires(mut self, hires: &[Hire]) -> RampSpec {
        for h in hires {
            self.hires.insert(h.id.clone(), h.hired);
        }
        self
    }

    /// Sets the most `owners × T` cells.
    #[must_use]
    pub fn with_max_cells(mut self, max_cells: u64) -> RampSpec {
        self.max_cells = max_cells;
        self
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`] naming `tenured_after_months` (0 or above
    /// [`MAX_RAMP_MONTHS`]) or `established_days` (above the span limit).
    pub fn validate(&self) -> Result<()> {
        if !(1..=MAX_RAMP_MONTHS).contains(&self.tenured_after_months) {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "tenured_after_months",
                value: self.tenured_after_months.to_string(),
                reason: format!("must be 1 to {MAX_RAMP_MONTHS}"),
            }));
        }
        if self.established_days > MAX_SPAN_DAYS {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "established_days",
                value: self.established_days.to_string(),
                reason: format!("at most {MAX_SPAN_DAYS} days (the span limit)"),
            }));
        }
        Ok(())
    }
}

/// One deal as the ramp reads it: the record one [`RampAccumulator::add`] counts.
///
/// ```
/// use revops::{Currency, Money, pipeline::RampDeal};
/// use chrono::{TimeZone, Utc};
/// # fn main() -> Result<(), revops::Error> {
/// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
/// let deal = RampDeal::created(Some("ann"), t(2), Money::parse("100", Currency::USD)?)
///     .with_won(t(20), Money::parse("90", Currency::USD)?);
/// assert_eq!(deal.last_change, t(20));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RampDeal {
    /// The deal's owner (`None`: counted, left out).
    pub owner: Option<String>,
    /// When it was created (its first row).
    pub created_at: DateTime<Utc>,
    /// Its amount at creation.
    pub amount: Money,
    /// Its latest change known (at or after `created_at`).
    pub last_change: DateTime<Utc>,
    /// Its closing instant and amount, when won.
    pub won: Option<(DateTime<Utc>, Money)>,
}

impl RampDeal {
    /// A deal created at `created_at` for `amount`, not won; its last change is its
    /// creation.
    pub fn created(owner: Option<&str>, created_at: DateTime<Utc>, amount: Money) -> RampDeal {
        RampDeal {
            owner: owner.map(str::to_string),
            created_at,
            amount,
            last_change: created_at,
            won: None,
        }
    }

    /// Sets the latest change known (the owner's activity lasts at least until then).
    #[must_use]
    pub fn with_last_change(mut self, at: DateTime<Utc>) -> RampDeal {
        self.last_change = at;
        self
    }

    /// Won at `at` for `amount` (the last change moves to `at` if later).
    #[must_use]
    pub fn with_won(mut self, at: DateTime<Utc>, amount: Money) -> RampDeal {
        self.won = Some((at, amount));
        self.last_change = self.last_change.max(at);
        self
    }
}

/// One day of one owner: deals created and booked, and their amounts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct DayTotals {
    created: u64,
    created_amount: Decimal,
    won: u64,
    won_amount: Decimal,
}

impl DayTotals {
    fn add(&mut self, other: &DayTotals) -> Result<()> {
        self.created = self.created.saturating_add(other.created);
        self.won = self.won.saturating_add(other.won);
        self.created_amount = sum(self.created_amount, other.created_amount)?;
        self.won_amount = sum(self.won_amount, other.won_amount)?;
        Ok(())
    }
}

fn overflow() -> Error {
    Error::from(ErrorKind::Overflow {
        operation: "ramp sums",
    })
}

fn sum(a: Decimal, b: Decimal) -> Result<Decimal> {
    a.checked_add(b).ok_or_else(overflow)
}

/// What one owner did: first and last activity, first win, totals by day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Ledger {
    first_created: DateTime<Utc>,
    first_won: Option<DateTime<Utc>>,
    last_activity: DateTime<Utc>,
    days: BTreeMap<NaiveDate, DayTotals>,
}

impl Ledger {
    /// Adds `other`'s days and activity; on an error (an overflow) `self` is
    /// unchanged: every sum is taken before any is stored.
    fn merge(&mut self, other: &Ledger) -> Result<()> {
        let sums = other
            .days
            .iter()
            .map(|(d, t)| {
                let mut sum = self.days.get(d).cloned().unwrap_or_default();
                sum.add(t)?;
                Ok((*d, sum))
            })
            .collect::<Result<Vec<_>>>()?;
        self.days.extend(sums);
        self.first_created = self.first_created.min(other.first_created);
        self.first_won = match (self.first_won, other.first_won) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_activity = self.last_activity.max(other.last_activity);
        Ok(())
    }
}

/// The ramp as an [`Accumulator`]: one [`RampDeal`] per [`add`](Self::add); the
/// options ([`RampSpec`]) and currency given at creation.
///
/// # Serialised form
///
/// `{"version": 1, "spec": RampSpec, "currency": "USD", "first": "2026-01-02T00:00:00Z"
/// | null, "unowned": 0, "owners": {"ann": {"first_created": t, "first_won": t | null,
/// "last_activity": t, "days": {"2026-01-02": {"created": 1, "created_amount": "100",
/// "won": 0, "won_amount": "0"}}}}}`. Its size grows with the owner-days that saw a
/// deal created or won (at most one entry per deal and event).
///
/// ```
/// use revops::{Accumulator, Currency, Money, pipeline::RampAccumulator, pipeline::RampDeal,
///     pipeline::RampSpec};
/// use chrono::{TimeZone, Utc};
/// # fn main() -> Result<(), revops::Error> {
/// let t = |m, d| Utc.with_ymd_and_hms(2026, m, d, 0, 0, 0).unwrap();
/// let usd = |s| Money::parse(s, Currency::USD);
/// let spec = RampSpec::new(t(12, 31)).with_tenured_after_months(3);
/// let mut a = RampAccumulator::new(spec.clone(), Currency::USD)?;
/// let mut b = RampAccumulator::new(spec, Currency::USD)?;
/// // "old" is there from the first row on, and active until December.
/// a.add(&RampDeal::created(Some("old"), t(1, 1), usd("100")?).with_last_change(t(12, 1)))?;
/// a.add(&RampDeal::created(Some("old"), t(6, 1), usd("100")?))?;
/// b.add(&RampDeal::created(Some("new"), t(6, 1), usd("50")?))?;
/// b.add(&RampDeal::created(None, t(6, 2), usd("10")?))?;
/// a.merge(&b)?;
/// let report = a.finish()?;
/// assert_eq!((report.new_owners, report.established_owners, report.unowned_deals), (1, 1, 1));
/// // "new" created 50 in its month 0 (June); "old" 100 over the same days.
/// let p0 = &report.points[0];
/// assert_eq!(p0.pipeline.amount, usd("50")?);
/// assert_eq!(p0.pipeline.amount_ratio(), Some(0.5));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RampAccumulator {
    version: StateVersion<1>,
    spec: RampSpec,
    currency: Currency,
    first: Option<DateTime<Utc>>,
    unowned: u64,
    owners: BTreeMap<String, Ledger>,
}

impl RampAccumulator {
    /// An empty ramp for `spec`, amounts in `currency`.
    ///
    /// # Errors
    /// As [`RampSpec::validate`].
    pub fn new(spec: RampSpec, currency: Currency) -> Result<RampAccumulator> {
        spec.validate()?;
        Ok(RampAccumulator {
            version: StateVersion,
            spec,
            currency,
            first: None,
            unowned: 0,
            owners: BTreeMap::new(),
        })
    }

    /// The options.
    pub fn spec(&self) -> &RampSpec {
        &self.spec
    }

    /// Adds one deal; a deal created after `as_of` is ignored, a win after `as_of`
    /// is not booked.
    ///
    /// # Errors
    /// [`ErrorKind::CurrencyMismatch`] for an amount in another currency,
    /// [`ErrorKind::InvalidField`] for a negative amount or a last change before the
    /// creation, [`ErrorKind::Overflow`]; the state is then unchanged.
    pub fn add(&mut self, deal: &RampDeal) -> Result<()> {
        let as_of = self.spec.as_of;
        if deal.created_at > as_of {
            return Ok(());
        }
        let won = deal.won.as_ref().filter(|(at, _)| *at <= as_of);
        for m in std::iter::once(&deal.amount).chain(won.map(|w| &w.1)) {
            if m.currency() != self.currency {
                return Err(Error::from(ErrorKind::CurrencyMismatch {
                    expected: self.currency.to_string(),
                    got: m.currency().to_string(),
                }));
            }
            if m.is_negative() {
                return Err(bad_deal(deal, "amount", format!("negative amount {m}")));
            }
        }
        if deal.last_change < deal.created_at {
            return Err(bad_deal(
                deal,
                "last_change",
                "before the deal's creation".into(),
            ));
        }
        let Some(owner) = deal.owner.as_deref() else {
            self.first = Some(
                self.first
                    .map_or(deal.created_at, |f| f.min(deal.created_at)),
            );
            self.unowned = self.unowned.saturating_add(1);
            return Ok(());
        };
        let mut ledger = Ledger {
            first_created: deal.created_at,
            first_won: won.map(|w| w.0),
            last_activity: deal.last_change.min(as_of),
            days: BTreeMap::new(),
        };
        ledger.days.insert(
            deal.created_at.date_naive(),
            DayTotals {
                created: 1,
                created_amount: deal.amount.amount(),
                ..DayTotals::default()
            },
        );
        if let Some((at, amount)) = won {
            ledger
                .days
                .entry(at.date_naive())
                .or_default()
                .add(&DayTotals {
                    won: 1,
                    won_amount: amount.amount(),
                    ..DayTotals::default()
                })?;
        }
        // `merge` leaves the owner's ledger unchanged on an error: no copy needed.
        match self.owners.get_mut(owner) {
            Some(l) => l.merge(&ledger)?,
            None => {
                self.owners.insert(owner.to_string(), ledger);
            }
        }
        self.first = Some(
            self.first
                .map_or(deal.created_at, |f| f.min(deal.created_at)),
        );
        Ok(())
    }

    /// Merges a partial ramp built from other deals.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`] (`"ramp"`) for another spec or currency;
    /// [`ErrorKind::Overflow`]. `self` is then unchanged.
    pub fn merge(&mut self, other: &RampAccumulator) -> Result<()> {
        if self.spec != other.spec || self.currency != other.currency {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "ramp",
                value: format!("{} / {}", other.currency, other.spec.as_of),
                reason: "partial ramps merge only under the same spec and currency".into(),
            }));
        }
        let mut owners = self.owners.clone();
        for (name, l) in &other.owners {
            match owners.get_mut(name) {
                Some(mine) => mine.merge(l)?,
                None => {
                    owners.insert(name.clone(), l.clone());
                }
            }
        }
        self.owners = owners;
        self.first = match (self.first, other.first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.unowned = self.unowned.saturating_add(other.unowned);
        Ok(())
    }

    /// The report over every deal added and merged so far.
    ///
    /// # Errors
    /// [`ErrorKind::LimitExceeded`] when `owners × T` exceeds [`RampSpec::max_cells`]
    /// or the history spans more than the span limit in days (both checked before
    /// allocating); [`ErrorKind::Overflow`].
    pub fn finish(&self) -> Result<RampReport> {
        Finisher::new(self)?.run()
    }
}

fn bad_deal(deal: &RampDeal, field: &'static str, reason: String) -> Error {
    let mut r = RecordRef::new("ramp deal");
    if let Some(o) = &deal.owner {
        r = r.with_id(o);
    }
    Error::from(ErrorKind::InvalidField {
        record: r,
        field,
        reason,
    })
}

impl Accumulator for RampAccumulator {
    type Item = RampDeal;
    type Output = RampReport;
    const STATE_VERSION: u32 = 1;

    fn add(&mut self, item: &RampDeal) -> Result<()> {
        RampAccumulator::add(self, item)
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        RampAccumulator::merge(self, other)
    }

    fn finish(&self) -> Result<RampReport> {
        RampAccumulator::finish(self)
    }
}

/// Actual and baseline of one measure (pipeline created or bookings) over pooled
/// owner-months.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RampMeasure {
    /// Deals created (or won) by the owners in those months.
    pub deals: u64,
    /// Their amount.
    pub amount: Money,
    /// The baseline deals: what tenured owners made over the same days, per owner
    /// (exact quotient).
    pub expected_deals: Decimal,
    /// The baseline amount, likewise.
    pub expected_amount: Money,
}

impl RampMeasure {
    fn zero(currency: Currency) -> RampMeasure {
        RampMeasure {
            deals: 0,
            amount: Money::zero(currency),
            expected_deals: Decimal::ZERO,
            expected_amount: Money::zero(currency),
        }
    }

    fn add(&mut self, other: &RampMeasure) -> Result<()> {
        self.deals = self.deals.saturating_add(other.deals);
        self.amount = self.amount.checked_add(&other.amount)?;
        self.expected_deals = sum(self.expected_deals, other.expected_deals)?;
        self.expected_amount = self.expected_amount.checked_add(&other.expected_amount)?;
        Ok(())
    }

    /// amount / expected amount, as `f64`; `None` when the baseline is zero.
    pub fn amount_ratio(&self) -> Option<f64> {
        ratio(self.amount.amount(), self.expected_amount.amount())
    }

    /// deals / expected deals, as `f64`; `None` when the baseline is zero.
    pub fn deal_ratio(&self) -> Option<f64> {
        ratio(Decimal::from(self.deals), self.expected_deals)
    }

    /// The ratio on `basis`.
    pub fn ratio(&self, basis: RampBasis) -> Option<f64> {
        match basis {
            RampBasis::Amount => self.amount_ratio(),
            RampBasis::Deals => self.deal_ratio(),
        }
    }

    /// The baseline on `basis`, as `f64` (the weight of the point in a fit).
    fn weight(&self, basis: RampBasis) -> f64 {
        use rust_decimal::prelude::ToPrimitive;
        match basis {
            RampBasis::Amount => self.expected_amount.amount().to_f64(),
            RampBasis::Deals => self.expected_deals.to_f64(),
        }
        .unwrap_or(0.0)
    }
}

fn ratio(num: Decimal, den: Decimal) -> Option<f64> {
    use rust_decimal::prelude::ToPrimitive;
    if den.is_zero() {
        return None;
    }
    num.checked_div(den).and_then(|q| q.to_f64())
}

/// What the ratios of a curve compare: amounts (default) or deal counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RampBasis {
    /// Amounts (pipeline created, bookings).
    #[default]
    Amount,
    /// Deal counts.
    Deals,
}

/// One point of the measured curve: tenure month `month` of every new owner with a
/// counted owner-month there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RampPoint {
    /// The tenure month.
    pub month: u32,
    /// New owners pooled (counted owner-months with a baseline).
    pub owners: u64,
    /// Counted owner-months without a baseline (no tenured owner-day): in neither
    /// sum.
    pub without_baseline: u64,
    /// Tenured owner-days behind the baselines.
    pub tenured_owner_days: u64,
    /// Pipeline created.
    pub pipeline: RampMeasure,
    /// Bookings.
    pub bookings: RampMeasure,
}

/// How an owner's start was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartBasis {
    /// A hire date given in [`RampSpec::hires`].
    Hired,
    /// The day of their first activity.
    FirstActivity,
    /// Already there when the history begins: tenured throughout.
    Established,
}

/// One counted month of one new owner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnerMonth {
    /// The tenure month.
    pub month: u32,
    /// Its first day.
    pub from: NaiveDate,
    /// Whether tenured owners were present on its days (else the expected values
    /// are zero and the month is not pooled).
    pub has_baseline: bool,
    /// Pipeline created and its baseline.
    pub pipeline: RampMeasure,
    /// Bookings and their baseline.
    pub bookings: RampMeasure,
}

/// One owner: start, time to first opportunity and first win, counted months.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnerRamp {
    /// The owner.
    pub owner: String,
    /// How the start was found.
    pub basis: StartBasis,
    /// The start day (for an established owner, the day of their first activity).
    pub start: NaiveDate,
    /// Their first deal's creation.
    pub first_opportunity: DateTime<Utc>,
    /// Their first win's closing instant, if any by `as_of`.
    pub first_win: Option<DateTime<Utc>>,
    /// Seconds from the start (00:00 UTC of a hire date; the first activity itself
    /// otherwise, so 0) to the first opportunity (0 if it came before the hire date).
    pub seconds_to_first_opportunity: u64,
    /// Seconds from the start to the first win.
    pub seconds_to_first_win: Option<u64>,
    /// Counted months, for a new owner (empty for an established one).
    pub months: Vec<OwnerMonth>,
}

/// The measured ramp: the curve, with counts, and every owner.
///
/// # Definitions
///
/// - An owner's deals are the deals of the history in their bucket of the owner
///   [`Keys`] (built with [`PipelineHistory::keys`] and
///   [`Dimension::Owner`](crate::breakdown::Dimension::Owner)); deals without an owner
///   are counted ([`RampReport::unowned_deals`]) and left out.
/// - Only what is known at [`RampSpec::as_of`] counts: a deal is **created** at its
///   first row (at its amount then: the pipeline the owner created) if that row is at
///   or before `as_of`; it is **booked** at its closing instant if its state at
///   `as_of` is won, at its amount then (as [`PipelineHistory::bookings`]).
/// - An owner's **first activity** is the creation of their first deal; their **last
///   activity** the latest row at or before `as_of` of any of their deals. They are
///   **present** on the days from their start to their last activity (inclusive).
/// - An owner's **start** is their hire date when [`RampSpec::hires`] gives one,
///   otherwise the day of their first activity. An owner without a hire date whose
///   first activity is within [`RampSpec::established_days`] days of the history's
///   first row (its earliest created deal, any owner) is **established**: already
///   there when the history begins (when they started is unknown), tenured on every
///   day from that first row on. Every other owner is **new**.
/// - **Tenure month** `m` of an owner who started on `s` is the days from `s + m
///   months` to `s + (m + 1) months` (exclusive), as [`RampCurve`] counts them
///   (month 0 starts on the start day).
/// - An owner is **tenured** on a day when they are present on it and established, or
///   at least [`RampSpec::tenured_after_months`] (`T`, default 12) whole months past
///   their start. The curve has `T` points, tenure months `0 … T − 1`: from month `T`
///   on an owner is tenured, which is what a [`RampCurve`] says past its end
///   (factor 1).
///
/// # The relative measure
///
/// For a new owner's tenure month `m` spanning the days `D`, the **baseline** is what
/// a tenured owner produced over the same days: the tenured owners' pipeline created
/// (or bookings) on `D` divided by their **owner-days** on `D` (Σ over the days of
/// `D` of the number of tenured owners that day), times the days of `D`. With a
/// fixed tenured team of `n`, it is their total over `D` divided by `n`: the mean
/// tenured owner. It is kept exactly, as a [`Decimal`] quotient (28 significant
/// digits), for the deal count and for the amount.
///
/// An owner-month counts when it is fully observed — it starts on or after the
/// history's first row day, ends on or before the day of `as_of`, and starts on or
/// before the owner's last activity — and has a baseline. A counted owner-month
/// without any tenured owner-day is **without baseline**: counted in
/// [`RampPoint::without_baseline`], its activity in neither sum, never a NaN.
///
/// Point `m` of the curve pools every counted owner-month `m` with a baseline: the
/// owners' deals and amount summed, next to the sum of their baselines
/// ([`RampMeasure`]). The **ratio** ([`RampMeasure::amount_ratio`],
/// [`RampMeasure::deal_ratio`]) is actual / baseline, as an `f64`: the one place an
/// `f64` appears; `None` when the baseline is zero or nothing was pooled. Pooling
/// (a ratio of sums, not a mean of per-owner ratios) weighs each owner-month by its
/// baseline and stays defined when one owner's baseline is zero.
///
/// Owners compared here should share a kind of book: a new enterprise rep compared to
/// tenured small-business reps measures the segments, not the ramp. Measure each
/// segment on its own history (or its own keys) when books differ.
///
/// [`RampReport::to_ramp`] turns the points into a [`Ramp`]: the ratios fitted
/// non-decreasing (pool-adjacent-violators weighted by the baseline), clamped to
/// `[0, 1]`; a point without a value takes the fitted value before it (0 at the
/// start). [`RampReport::ramp_or`] picks it over an assumed ramp when enough new
/// owners stand behind it, and says which was used.
///
/// # Limits
///
/// The per-owner months of the report hold `owners × T` cells, at most
/// [`RampSpec::max_cells`] ([`DEFAULT_MAX_RAMP_CELLS`] by default), and the history
/// may span at most [`Period::MAX_SPAN_DAYS`](crate::Period::MAX_SPAN_DAYS) days (the
/// baseline keeps one total per day); both are checked before allocating.
/// `T` is at most [`MAX_RAMP_MONTHS`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RampReport {
    /// The options.
    pub spec: RampSpec,
    /// The currency.
    pub currency: Currency,
    /// The history's first row (earliest created deal, any owner), if any.
    pub first_row: Option<DateTime<Utc>>,
    /// Owners measured from a hire date or their first activity.
    pub new_owners: u64,
    /// Owners already there when the history begins.
    pub established_owners: u64,
    /// Deals without an owner, left out.
    pub unowned_deals: u64,
    /// The curve of pipeline created and bookings, tenure months `0 … T − 1`.
    pub points: Vec<RampPoint>,
    /// Every owner, by name.
    pub owners: Vec<OwnerRamp>,
}

impl RampReport {
    /// The measured curves as a [`Ramp`] on `basis`: each ratio series fitted
    /// non-decreasing (pool-adjacent-violators, weighted by the baseline), clamped to
    /// `[0, 1]`; points without a ratio take the fitted value before them (0 first).
    ///
    /// # Errors
    /// None in practice (the factors are valid by construction); the
    /// [`RampCurve::new`] check stays.
    pub fn to_ramp(&self, basis: RampBasis) -> Result<Ramp> {
        let curve = |pick: fn(&RampPoint) -> &RampMeasure| {
            let pts: Vec<(Option<f64>, f64)> = self
                .points
                .iter()
                .map(|p| (pick(p).ratio(basis), pick(p).weight(basis)))
                .collect();
            RampCurve::new(monotone_fit(&pts))
        };
        Ok(Ramp {
            pipeline: curve(|p| &p.pipeline)?,
            bookings: curve(|p| &p.bookings)?,
        })
    }

    /// Owner-months pooled over the whole curve.
    pub fn pooled_owner_months(&self) -> u64 {
        self.points.iter().map(|p| p.owners).sum()
    }

    /// The measured ramp ([`to_ramp`](Self::to_ramp)) when month 0 pools at least
    /// `min_owners` new owners and a baseline of at least `min_deals` deals (the
    /// evidence behind the first point), otherwise `assumed`; with which one was used
    /// and, for the assumed one, why.
    ///
    /// ```
    /// use revops::{Currency, pipeline::RampAccumulator, pipeline::RampBasis, pipeline::RampSource,
    ///     pipeline::RampSpec, plan::Ramp, plan::RampCurve};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let empty = RampAccumulator::new(RampSpec::new(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()),
    ///     Currency::USD)?.finish()?;
    /// let assumed = Ramp { pipeline: RampCurve::linear(6)?, bookings: RampCurve::linear(9)? };
    /// let chosen = empty.ramp_or(&assumed, RampBasis::Amount, 3, 30)?;
    /// assert_eq!(chosen.source, RampSource::Assumed {
    ///     reason: "month 0 pools 0 new owners and a baseline of 0 deals (at least 3 and 30 needed)".into()
    /// });
    /// assert_eq!(chosen.ramp, assumed);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`to_ramp`](Self::to_ramp).
    pub fn ramp_or(
        &self,
        assumed: &Ramp,
        basis: RampBasis,
        min_owners: u64,
        min_deals: u64,
    ) -> Result<ChosenRamp> {
        let (n, deals) = self.points.first().map_or((0, Decimal::ZERO), |p| {
            (p.owners, p.pipeline.expected_deals)
        });
        let min_owners = min_owners.max(1);
        if n >= min_owners && deals >= Decimal::from(min_deals) {
            Ok(ChosenRamp {
                ramp: self.to_ramp(basis)?,
                source: RampSource::Measured {
                    new_owners: self.new_owners,
                    owner_months: self.pooled_owner_months(),
                    basis,
                },
            })
        } else {
            Ok(ChosenRamp {
                ramp: assumed.clone(),
                source: RampSource::Assumed {
                    reason: format!(
                        "month 0 pools {n} new owners and a baseline of {} deals (at least {min_owners} and {min_deals} needed)",
                        deals.round_dp(1).normalize()
                    ),
                },
            })
        }
    }
}

/// Which ramp a plan used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RampSource {
    /// Measured from history.
    Measured {
        /// New owners in the history.
        new_owners: u64,
        /// Owner-months pooled over the curve.
        owner_months: u64,
        /// Amounts or deal counts.
        basis: RampBasis,
    },
    /// The assumed ramp given, and why the measured one was not used.
    Assumed {
        /// Why.
        reason: String,
    },
}

/// A ramp and where it came from ([`RampReport::ramp_or`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChosenRamp {
    /// The ramp.
    pub ramp: Ramp,
    /// Measured or assumed.
    pub source: RampSource,
}

/// Non-decreasing least-squares fit of the present values (weights `w`, a zero
/// weight counting as a tiny one), clamped to `[0, 1]`; absent values take the
/// fitted value before them.
fn monotone_fit(points: &[(Option<f64>, f64)]) -> Vec<f64> {
    // Blocks of (weighted mean, weight, count) over the present values.
    let mut blocks: Vec<(f64, f64, usize)> = Vec::new();
    for &(v, w) in points {
        let Some(v) = v.filter(|v| v.is_finite()) else {
            continue;
        };
        let w = if w.is_finite() && w > 0.0 { w } else { 1e-12 };
        blocks.push((v, w, 1));
        while blocks.len() > 1 && blocks[blocks.len() - 2].0 > blocks[blocks.len() - 1].0 {
            let (b_v, b_w, b_n) = blocks.pop().unwrap_or((0.0, 0.0, 0));
            if let Some(a) = blocks.last_mut() {
                let w = a.1 + b_w;
                a.0 = (a.0 * a.1 + b_v * b_w) / w;
                a.1 = w;
                a.2 += b_n;
            }
        }
    }
    let mut fitted = blocks
        .iter()
        .flat_map(|&(v, _, n)| std::iter::repeat_n(v.clamp(0.0, 1.0), n));
    let mut prev = 0.0;
    points
        .iter()
        .map(|(v, _)| {
            if v.is_some_and(f64::is_finite) {
                prev = fitted.next().unwrap_or(prev);
            }
            prev
        })
        .collect()
}

/// Per-day totals of the tenured owners over the history, as prefix sums.
struct Baseline {
    day0: NaiveDate,
    /// `owner_days[i]`: tenured owner-days on days `0 .. i`.
    owner_days: Vec<u64>,
    created: Vec<u64>,
    created_amount: Vec<Decimal>,
    won: Vec<u64>,
    won_amount: Vec<Decimal>,
}

/// An owner's start, as the finish step works it out.
struct Start {
    basis: StartBasis,
    day: NaiveDate,
    /// First tenured day (the first row's day for an established owner).
    tenured_from: Option<NaiveDate>,
}

struct Finisher<'a> {
    acc: &'a RampAccumulator,
    day0: NaiveDate,
    /// The day of `as_of`: owner-months must end on or before it.
    last: NaiveDate,
    starts: Vec<Start>,
}

fn add_months(d: NaiveDate, m: u32) -> Option<NaiveDate> {
    d.checked_add_months(Months::new(m))
}

fn index(day0: NaiveDate, d: NaiveDate) -> usize {
    usize::try_from((d - day0).num_days()).unwrap_or(0)
}

impl<'a> Finisher<'a> {
    fn new(acc: &'a RampAccumulator) -> Result<Finisher<'a>> {
        let spec = &acc.spec;
        let cells = (acc.owners.len() as u64).saturating_mul(u64::from(spec.tenured_after_months));
        if cells > spec.max_cells {
            return Err(Error::from(ErrorKind::LimitExceeded {
                limit: "RampSpec::max_cells",
                what: "owners × tenure months",
                value: cells,
                max: spec.max_cells,
                reason: "the report holds one cell per owner and tenure month".into(),
            }));
        }
        let day0 = acc
            .first
            .map_or(spec.as_of.date_naive(), |f| f.date_naive());
        let last = spec.as_of.date_naive().max(day0);
        let span = (last - day0).num_days().saturating_add(1);
        if span > i64::from(MAX_SPAN_DAYS) {
            return Err(Error::from(ErrorKind::LimitExceeded {
                limit: "Period::MAX_SPAN_DAYS (fixed)",
                what: "days from the history's first row to as_of",
                value: u64::try_from(span).unwrap_or(u64::MAX),
                max: u64::from(MAX_SPAN_DAYS),
                reason: "the baseline keeps one total per day".into(),
            }));
        }
        let established_until = day0
            .checked_add_days(chrono::Days::new(u64::from(spec.established_days)))
            .unwrap_or(NaiveDate::MAX);
        let starts = acc
            .owners
            .iter()
            .map(|(name, l)| {
                let first = l.first_created.date_naive();
                let (basis, day) = match spec.hires.get(name) {
                    Some(&h) => (StartBasis::Hired, h),
                    None if first <= established_until => (StartBasis::Established, first),
                    None => (StartBasis::FirstActivity, first),
                };
                let tenured_from = match basis {
                    StartBasis::Established => Some(day0),
                    _ => add_months(day, spec.tenured_after_months),
                };
                Start {
                    basis,
                    day,
                    tenured_from,
                }
            })
            .collect();
        Ok(Finisher {
            acc,
            day0,
            last,
            starts,
        })
    }

    /// The tenured owners' per-day totals, as prefix sums over the span.
    fn baseline(&self) -> Result<Baseline> {
        let n = index(self.day0, self.last) + 1;
        let mut present = vec![0i64; n + 1];
        let mut day = vec![DayTotals::default(); n];
        for ((_, l), s) in self.acc.owners.iter().zip(&self.starts) {
            let Some(from) = s.tenured_from else { continue };
            let from = from.max(self.day0);
            let to = l.last_activity.date_naive().min(self.last);
            if from > to {
                continue;
            }
            present[index(self.day0, from)] += 1;
            present[index(self.day0, to) + 1] -= 1;
            for (d, t) in l.days.range(from..=to) {
                day[index(self.day0, *d)].add(t)?;
            }
        }
        let mut b = Baseline {
            day0: self.day0,
            owner_days: Vec::with_capacity(n + 1),
            created: Vec::with_capacity(n + 1),
            created_amount: Vec::with_capacity(n + 1),
            won: Vec::with_capacity(n + 1),
            won_amount: Vec::with_capacity(n + 1),
        };
        let (mut running, mut acc) = (0i64, DayTotals::default());
        let mut owner_days = 0u64;
        b.owner_days.push(0);
        b.created.push(0);
        b.created_amount.push(Decimal::ZERO);
        b.won.push(0);
        b.won_amount.push(Decimal::ZERO);
        for (i, t) in day.iter().enumerate() {
            running += present[i];
            owner_days = owner_days.saturating_add(u64::try_from(running).unwrap_or(0));
            acc.add(t)?;
            b.owner_days.push(owner_days);
            b.created.push(acc.created);
            b.created_amount.push(acc.created_amount);
            b.won.push(acc.won);
            b.won_amount.push(acc.won_amount);
        }
        Ok(b)
    }

    fn run(self) -> Result<RampReport> {
        let acc = self.acc;
        let t = acc.spec.tenured_after_months;
        let baseline = self.baseline()?;
        let zero = RampMeasure::zero(acc.currency);
        let mut points: Vec<RampPoint> = (0..t)
            .map(|month| RampPoint {
                month,
                owners: 0,
                without_baseline: 0,
                tenured_owner_days: 0,
                pipeline: zero.clone(),
                bookings: zero.clone(),
            })
            .collect();
        let mut owners = Vec::with_capacity(acc.owners.len());
        let (mut new_owners, mut established) = (0u64, 0u64);
        for ((name, l), s) in acc.owners.iter().zip(&self.starts) {
            let months = if s.basis == StartBasis::Established {
                established += 1;
                Vec::new()
            } else {
                new_owners += 1;
                self.owner_months(l, s, &baseline, &mut points)?
            };
            let start_at = match s.basis {
                StartBasis::Hired => s.day.and_time(NaiveTime::MIN).and_utc(),
                _ => l.first_created,
            };
            owners.push(OwnerRamp {
                owner: name.clone(),
                basis: s.basis,
                start: s.day,
                first_opportunity: l.first_created,
                first_win: l.first_won,
                seconds_to_first_opportunity: seconds_between(start_at, l.first_created),
                seconds_to_first_win: l.first_won.map(|w| seconds_between(start_at, w)),
                months,
            });
        }
        Ok(RampReport {
            spec: acc.spec.clone(),
            currency: acc.currency,
            first_row: acc.first,
            new_owners,
            established_owners: established,
            unowned_deals: acc.unowned,
            points,
            owners,
        })
    }

    /// The counted months of one new owner, pooled into `points`.
    fn owner_months(
        &self,
        l: &Ledger,
        s: &Start,
        b: &Baseline,
        points: &mut [RampPoint],
    ) -> Result<Vec<OwnerMonth>> {
        let mut out = Vec::new();
        let last_active = l.last_activity.date_naive();
        for (m, point) in (0u32..).zip(points.iter_mut()) {
            let (Some(from), Some(to)) = (add_months(s.day, m), add_months(s.day, m + 1)) else {
                break;
            };
            if to > self.last || from > last_active {
                break;
            }
            if from < self.day0 {
                continue;
            }
            let month = self.month(l, m, from, to, b)?;
            if month.has_baseline {
                point.owners += 1;
                point.tenured_owner_days = point
                    .tenured_owner_days
                    .saturating_add(b.owner_days_in(from, to));
                point.pipeline.add(&month.pipeline)?;
                point.bookings.add(&month.bookings)?;
            } else {
                point.without_baseline += 1;
            }
            out.push(month);
        }
        Ok(out)
    }

    /// One owner-month: actual from the ledger, baseline from the tenured totals.
    fn month(
        &self,
        l: &Ledger,
        m: u32,
        from: NaiveDate,
        to: NaiveDate,
        b: &Baseline,
    ) -> Result<OwnerMonth> {
        let mut actual = DayTotals::default();
        for (_, t) in l.days.range(from..to) {
            actual.add(t)?;
        }
        let owner_days = b.owner_days_in(from, to);
        let days = Decimal::from((to - from).num_days());
        let per_owner = |total: Decimal| -> Result<Decimal> {
            if owner_days == 0 {
                return Ok(Decimal::ZERO);
            }
            total
                .checked_mul(days)
                .and_then(|x| x.checked_div(Decimal::from(owner_days)))
                .ok_or_else(overflow)
        };
        let (i, j) = (index(b.day0, from), index(b.day0, to));
        let c = self.acc.currency;
        let measure =
            |deals: u64, amount: Decimal, e_deals: Decimal, e_amount: Decimal| RampMeasure {
                deals,
                amount: Money::new(amount, c),
                expected_deals: e_deals,
                expected_amount: Money::new(e_amount, c),
            };
        let created = Decimal::from(b.created[j] - b.created[i]);
        let created_amount = b.created_amount[j] - b.created_amount[i];
        let won = Decimal::from(b.won[j] - b.won[i]);
        let won_amount = b.won_amount[j] - b.won_amount[i];
        Ok(OwnerMonth {
            month: m,
            from,
            has_baseline: owner_days > 0,
            pipeline: measure(
                actual.created,
                actual.created_amount,
                per_owner(created)?,
                per_owner(created_amount)?,
            ),
            bookings: measure(
                actual.won,
                actual.won_amount,
                per_owner(won)?,
                per_owner(won_amount)?,
            ),
        })
    }
}

impl Baseline {
    /// Tenured owner-days on the days `from .. to`.
    fn owner_days_in(&self, from: NaiveDate, to: NaiveDate) -> u64 {
        let (i, j) = (index(self.day0, from), index(self.day0, to));
        self.owner_days[j] - self.owner_days[i]
    }
}

impl PipelineHistory {
    /// Every deal of this history as the ramp reads it, as of `as_of`, with its
    /// owner from `owners` (keys of this history; deals in the missing bucket have
    /// none). Deals created after `as_of` are left out.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`] (`"keys"`) for keys of another history.
    pub fn ramp_deals(&self, as_of: DateTime<Utc>, owners: &Keys) -> Result<Vec<RampDeal>> {
        self.check_keys(owners)?;
        let at = key(as_of);
        let mut out = Vec::with_capacity(self.len());
        for o in 0..self.len() {
            let rs = self.rows_of(o);
            let (Some(first), Some(now)) = (rs.first(), self.row_at(o, at)) else {
                continue;
            };
            let owner = owners
                .of(o)
                .and_then(|k| owners.values().get(k))
                .and_then(|v| v.as_deref());
            let mut deal = RampDeal::created(owner, first.at, self.money(first.amount));
            deal.last_change = now.at;
            if self.kind(now) == StageKind::Won {
                deal.won = Some((now.status_since(rs), self.money(now.amount)));
            }
            out.push(deal);
        }
        Ok(out)
    }

    /// The ramp measured from this history (see [`RampReport`] for the definitions):
    /// per owner of `owners` (keys built with
    /// [`Dimension::Owner`](crate::breakdown::Dimension::Owner)), pipeline created and
    /// bookings by tenure month relative to tenured owners over the same days.
    ///
    /// ```
    /// use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId,
    ///     breakdown::{Dimension, Keys}, pipeline::PipelineHistory, pipeline::RampSpec};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |m, d| Utc.with_ymd_and_hms(2026, m, d, 0, 0, 0).unwrap();
    /// let usd = |s| Money::parse(s, Currency::USD);
    /// let ch = |id, at, stage, a| -> Result<OpportunityChange, revops::Error> {
    ///     Ok(OpportunityChange::new(OpportunityId::new(id)?, at, stage, usd(a)?))
    /// };
    /// let rows = [
    ///     ch("A", t(1, 5), "prospecting", "100")?,  // old: there from the start
    ///     ch("B", t(6, 3), "prospecting", "100")?,  // old, in June…
    ///     ch("B", t(9, 1), "closed_lost", "100")?,  // …and active until September
    ///     ch("C", t(6, 1), "prospecting", "40")?,   // new: starts in June
    ///     ch("C", t(6, 20), "closed_won", "40")?,
    /// ];
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
    /// let owners = Keys::new(Dimension::Owner, [Some("old"), Some("old"), Some("new")])?;
    /// let r = h.ramp(&RampSpec::new(t(12, 31)).with_tenured_after_months(3), &owners)?;
    /// assert_eq!((r.new_owners, r.established_owners), (1, 1));
    /// assert_eq!(r.points[0].pipeline.amount_ratio(), Some(0.4)); // 40 vs 100
    /// assert_eq!(r.points[0].bookings.amount, usd("40")?);
    /// assert_eq!(r.points[0].bookings.amount_ratio(), None); // the old owner won nothing
    /// let new = &r.owners[0];
    /// assert_eq!((new.owner.as_str(), new.seconds_to_first_win), ("new", Some(19 * 86_400)));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`RampAccumulator::new`], [`RampAccumulator::finish`] and
    /// [`ramp_deals`](Self::ramp_deals).
    pub fn ramp(&self, spec: &RampSpec, owners: &Keys) -> Result<RampReport> {
        let mut acc = RampAccumulator::new(spec.clone(), self.currency())?;
        for deal in self.ramp_deals(spec.as_of, owners)? {
            acc.add(&deal)?;
        }
        acc.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// A deal that overflows one day's sum leaves the accumulator as it was, the
    /// other day it touches included.
    #[test]
    fn an_overflowing_deal_leaves_the_ramp_unchanged() {
        let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 9, 0, 0).unwrap();
        let usd = |a| Money::new(a, Currency::USD);
        let mut acc = RampAccumulator::new(RampSpec::new(t(30)), Currency::USD).unwrap();
        let mut big = RampDeal::created(Some("ann"), t(2), usd(Decimal::MAX));
        big.won = Some((t(2), usd(Decimal::MAX)));
        acc.add(&big).unwrap();
        let before = acc.clone();
        // Created on the 1st (a fine sum), won on the 2nd (the won amount overflows).
        let mut next = RampDeal::created(Some("ann"), t(1), usd(Decimal::ONE));
        next.last_change = t(2);
        next.won = Some((t(2), usd(Decimal::ONE)));
        assert!(acc.add(&next).is_err());
        assert_eq!(acc, before);
    }

    #[test]
    fn fit_is_monotone_clamped_and_fills_gaps() {
        let f = monotone_fit(&[
            (None, 0.0),
            (Some(0.3), 1.0),
            (Some(0.1), 1.0),
            (None, 0.0),
            (Some(1.4), 2.0),
        ]);
        assert_eq!(f, vec![0.0, 0.2, 0.2, 0.2, 1.0]);
    }
}
