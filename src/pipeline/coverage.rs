//! Pipeline coverage of the remaining quota of a period.

use crate::error::ErrorKind;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::history::{PipelineHistory, key};
use super::waterfall::{Flow, PipelineScope};
use crate::accumulate::{Accumulator, StateVersion};
use crate::breakdown::{Breakdown, Keys, Slots};
use crate::error::{Error, Result};
use crate::funnel::StageKind;
use crate::money::{Currency, Money};
use crate::period::DateRange;

/// Pipeline coverage of the remaining quota of a period, computed by
/// [`PipelineHistory::coverage`] (see it for an example).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// The instant of the reading.
    pub as_of: DateTime<Utc>,
    /// The period (close dates).
    pub period: DateRange,
    /// Open deals with a close date in the period.
    pub pipeline: Flow,
    /// Won deals with a close date in the period.
    pub won: Flow,
    /// The quota of the period.
    pub quota: Money,
    /// `quota − won` (may be negative).
    pub remaining: Money,
    /// `pipeline / remaining` (exact quotient), or `None` when `remaining ≤ 0` (the
    /// quota is met: coverage is not meaningful).
    pub ratio: Option<Decimal>,
}

/// One deal of a [`PeriodPipeline`]: open with a close date in the period, or won
/// with a close date in it (its amount as of the reading).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodDeal {
    /// Open, closing in the period: pipeline.
    Open(Money),
    /// Won, with a close date in the period.
    Won(Money),
}

/// What [`Coverage`] divides, before a quota is known: the open pipeline closing in
/// a period and the deals won in it, as of an instant. It follows the
/// [`Accumulator`] contract (one [`PeriodDeal`] per deal), so that [`Breakdown`] runs
/// it per owner or segment ([`PipelineHistory::coverage_by`]); each cell's coverage
/// then takes that cell's quota ([`PeriodPipeline::coverage`]).
///
/// # Serialised form
///
/// `{"version": 1, "as_of": "2026-03-10T00:00:00Z", "period": P, "pipeline": F,
/// "won": F}`, each `F` a [`Flow`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodPipeline {
    version: StateVersion<1>,
    /// The instant of the reading.
    pub as_of: DateTime<Utc>,
    /// The period (close dates).
    pub period: DateRange,
    /// Open deals with a close date in the period.
    pub pipeline: Flow,
    /// Won deals with a close date in the period.
    pub won: Flow,
}

impl PeriodPipeline {
    /// No deal yet.
    pub fn new(as_of: DateTime<Utc>, period: DateRange, currency: Currency) -> PeriodPipeline {
        PeriodPipeline {
            version: StateVersion,
            as_of,
            period,
            pipeline: Flow::zero(currency),
            won: Flow::zero(currency),
        }
    }

    /// Adds one deal.
    ///
    /// # Errors
    /// [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch) or
    /// [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow); then unchanged.
    pub fn add(&mut self, deal: &PeriodDeal) -> Result<()> {
        match deal {
            PeriodDeal::Open(m) => self.pipeline.add(m),
            PeriodDeal::Won(m) => self.won.add(m),
        }
    }

    /// Adds another reading of the same instant and period.
    ///
    /// # Errors
    /// [`ErrorKind::MergeMismatch`](crate::error::ErrorKind::MergeMismatch) for
    /// another instant or period; a currency mismatch or overflow. `self` is then
    /// unchanged.
    pub fn merge(&mut self, other: &PeriodPipeline) -> Result<()> {
        if (self.as_of, self.period) != (other.as_of, other.period) {
            return Err(Error::from(ErrorKind::MergeMismatch {
                what: "period pipeline",
                reason: format!(
                    "read at {} over {:?}, this one at {} over {:?}",
                    other.as_of, other.period, self.as_of, self.period
                ),
            }));
        }
        let mut pipeline = self.pipeline.clone();
        pipeline.merge(&other.pipeline)?;
        self.won.merge(&other.won)?;
        self.pipeline = pipeline;
        Ok(())
    }

    /// The report: a copy of the state.
    ///
    /// # Errors
    /// None (the `Result` is the [`Accumulator`] contract's).
    pub fn finish(&self) -> Result<PeriodPipeline> {
        Ok(self.clone())
    }

    /// The coverage of `quota` (see [`PipelineHistory::coverage`]).
    ///
    /// # Errors
    /// As [`PipelineHistory::coverage`].
    pub fn coverage(&self, quota: Money) -> Result<Coverage> {
        if quota.currency() != self.pipeline.amount.currency() {
            return Err(Error::from(ErrorKind::CurrencyMismatch {
                expected: self.pipeline.amount.currency().to_string(),
                got: quota.currency().to_string(),
            }));
        }
        if quota.is_negative() {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "quota",
                value: quota.to_string(),
                reason: "a quota must not be negative".into(),
            }));
        }
        let remaining = quota.checked_sub(&self.won.amount)?;
        let ratio = if remaining.is_negative() || remaining.is_zero() {
            None
        } else {
            self.pipeline.amount.ratio_to(&remaining)?
        };
        Ok(Coverage {
            as_of: self.as_of,
            period: self.period,
            pipeline: self.pipeline.clone(),
            won: self.won.clone(),
            quota,
            remaining,
            ratio,
        })
    }
}

impl Accumulator for PeriodPipeline {
    type Item = PeriodDeal;
    type Output = PeriodPipeline;
    const STATE_VERSION: u32 = 1;

    fn add(&mut self, item: &PeriodDeal) -> Result<()> {
        PeriodPipeline::add(self, item)
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        PeriodPipeline::merge(self, other)
    }

    fn finish(&self) -> Result<PeriodPipeline> {
        PeriodPipeline::finish(self)
    }
}

impl PipelineHistory {
    /// Coverage of the remaining quota of `period` by the open pipeline closing in it,
    /// as of `as_of`.
    ///
    /// ```
    /// use revops::{Currency, DateRange, Funnel, Money, OpportunityChange, OpportunityId, pipeline::PipelineHistory};
    /// use chrono::{NaiveDate, TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
    /// let usd = |s| Money::parse(s, Currency::USD);
    /// let march = DateRange::new(NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(), NaiveDate::from_ymd_opt(2026, 3, 31).unwrap())?;
    /// let mut won = OpportunityChange::new(OpportunityId::new("A")?, t(3), "closed_won", usd("400")?);
    /// won.close_date = NaiveDate::from_ymd_opt(2026, 3, 3);
    /// let mut open = OpportunityChange::new(OpportunityId::new("B")?, t(2), "prospecting", usd("1200")?);
    /// open.close_date = NaiveDate::from_ymd_opt(2026, 3, 28);
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &[won, open])?;
    /// let c = h.coverage(t(10), march, usd("1000")?)?;
    /// assert_eq!(c.remaining, usd("600")?);
    /// assert_eq!(c.ratio, Some(revops::Decimal::from(2))); // 1200 / 600
    /// assert_eq!(h.coverage(t(10), march, usd("300")?)?.ratio, None); // quota met
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch) if the quota is in another currency;
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) (`"quota"`) for a negative quota;
    /// [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
    pub fn coverage(
        &self,
        as_of: DateTime<Utc>,
        period: DateRange,
        quota: Money,
    ) -> Result<Coverage> {
        if quota.currency() != self.currency() {
            return Err(Error::from(ErrorKind::CurrencyMismatch {
                expected: self.currency().to_string(),
                got: quota.currency().to_string(),
            }));
        }
        if quota.is_negative() {
            // The same error as `PeriodPipeline::coverage` gives, before any work.
            return PeriodPipeline::new(as_of, period, self.currency()).coverage(quota);
        }
        self.period_pipeline_slots(as_of, period, None)?
            .into_total()
            .coverage(quota)
    }

    /// The open pipeline and the won deals of `period` per bucket of `keys` and
    /// over every deal, in one pass; each cell's coverage then takes its own quota
    /// ([`PeriodPipeline::coverage`]).
    ///
    /// ```
    /// use revops::{Currency, DateRange, Funnel, Money, OpportunityChange, OpportunityId,
    ///     breakdown::Dimension, breakdown::Keys, pipeline::PipelineHistory};
    /// use chrono::{NaiveDate, TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
    /// let usd = |s| Money::parse(s, Currency::USD);
    /// let march = DateRange::new(NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(), NaiveDate::from_ymd_opt(2026, 3, 31).unwrap())?;
    /// let deal = |id, stage, a| -> Result<OpportunityChange, revops::Error> {
    ///     Ok(OpportunityChange::new(OpportunityId::new(id)?, t(2), stage, usd(a)?)
    ///         .with_close_date(NaiveDate::from_ymd_opt(2026, 3, 20).unwrap()))
    /// };
    /// let rows = [deal("A", "closed_won", "400")?, deal("B", "prospecting", "1200")?, deal("C", "prospecting", "300")?];
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
    /// let keys = Keys::new(Dimension::Owner, [Some("ann"), Some("ann"), Some("bo")])?;
    /// let by = h.coverage_by(t(10), march, &keys)?;
    /// let ann = by.cell(Some("ann")).expect("ann has deals").coverage(usd("1000")?)?;
    /// assert_eq!(ann.ratio, Some(revops::Decimal::from(2))); // 1200 / (1000 - 400)
    /// assert_eq!(by.total().pipeline.amount, usd("1500")?);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow);
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter)
    /// (`"keys"`) for keys of another history.
    pub fn coverage_by(
        &self,
        as_of: DateTime<Utc>,
        period: DateRange,
        keys: &Keys,
    ) -> Result<Breakdown<PeriodPipeline>> {
        self.check_keys(keys)?;
        Ok(self
            .period_pipeline_slots(as_of, period, Some(keys))?
            .into_breakdown(keys, PeriodPipeline::new(as_of, period, self.currency())))
    }

    fn period_pipeline_slots<'k>(
        &self,
        as_of: DateTime<Utc>,
        period: DateRange,
        keys: Option<&'k Keys>,
    ) -> Result<Slots<'k, PeriodPipeline>> {
        let scope = PipelineScope::Period(period);
        let mut slots = Slots::new(&PeriodPipeline::new(as_of, period, self.currency()), keys);
        let at = key(as_of);
        for o in 0..self.len() {
            let Some(r) = self.row_at(o, at) else {
                continue;
            };
            let deal = if self.in_scope(&scope, r) {
                PeriodDeal::Open(self.money(r.amount))
            } else if self.kind(r) == StageKind::Won && scope.covers(r.close) {
                PeriodDeal::Won(self.money(r.amount))
            } else {
                continue;
            };
            slots.each(o, |p| p.add(&deal))?;
        }
        Ok(slots)
    }
}
