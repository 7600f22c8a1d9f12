//! Pipeline coverage of the remaining quota of a period.

use crate::error::ErrorKind;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::history::{PipelineHistory, key};
use super::waterfall::{Flow, PipelineScope};
use crate::error::{Error, Result};
use crate::funnel::StageKind;
use crate::money::Money;
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
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "quota",
                value: quota.to_string(),
                reason: "a quota must not be negative".into(),
            }));
        }
        let scope = PipelineScope::Period(period);
        let mut pipeline = Flow::zero(self.currency());
        let mut won = Flow::zero(self.currency());
        let at = key(as_of);
        for o in 0..self.len() {
            let Some(r) = self.row_at(o, at) else {
                continue;
            };
            if self.in_scope(&scope, r) {
                pipeline.add(&self.money(r.amount))?;
            } else if self.kind(r) == StageKind::Won && scope.covers(r.close) {
                won.add(&self.money(r.amount))?;
            }
        }
        let remaining = quota.checked_sub(&won.amount)?;
        let ratio = if remaining.is_negative() || remaining.is_zero() {
            None
        } else {
            pipeline.amount.ratio_to(&remaining)?
        };
        Ok(Coverage {
            as_of,
            period,
            pipeline,
            won,
            quota,
            remaining,
            ratio,
        })
    }
}
