//! Pipeline velocity: open deals × average won deal × win rate / mean won cycle.

use crate::error::ErrorKind;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::history::{PipelineHistory, SECONDS_PER_DAY, in_window, key, seconds_between};
use super::waterfall::PipelineScope;
use super::win_rate::{WinRate, WinRateBasis, WinRateSpec};
use crate::error::{Error, Result};
use crate::funnel::StageKind;
use crate::money::Money;
use crate::period::Window;

/// What pipeline velocity to compute.
///
/// ```
/// use revops::{pipeline::PipelineScope, pipeline::PipelineVelocitySpec, pipeline::WinRateBasis};
/// use chrono::{TimeZone, Utc};
/// let spec = PipelineVelocitySpec::new(Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap())
///     .with_basis(WinRateBasis::ClosedPlusNoDecision);
/// assert_eq!(spec.scope, PipelineScope::Rolling);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineVelocitySpec {
    /// The instant the open pipeline is counted at, and the closed deals read.
    pub as_of: DateTime<Utc>,
    /// Which open deals count; default rolling (all).
    pub scope: PipelineScope,
    /// The closed deals the average deal, win rate and cycle are learnt from: those
    /// whose closing instant is in the window (all closed by `as_of` if `None`).
    pub window: Option<Window>,
    /// The win-rate basis; default closed only.
    pub basis: WinRateBasis,
}

impl PipelineVelocitySpec {
    /// Rolling scope, every closed deal, closed-only win rate.
    pub fn new(as_of: DateTime<Utc>) -> PipelineVelocitySpec {
        PipelineVelocitySpec {
            as_of,
            scope: PipelineScope::Rolling,
            window: None,
            basis: WinRateBasis::ClosedOnly,
        }
    }

    /// Sets the scope of the open deals.
    #[must_use]
    pub fn with_scope(mut self, scope: PipelineScope) -> PipelineVelocitySpec {
        self.scope = scope;
        self
    }

    /// Sets the learning window.
    #[must_use]
    pub fn with_window(mut self, window: Window) -> PipelineVelocitySpec {
        self.window = Some(window);
        self
    }

    /// Sets the win-rate basis.
    #[must_use]
    pub fn with_basis(mut self, basis: WinRateBasis) -> PipelineVelocitySpec {
        self.basis = basis;
        self
    }
}

/// Pipeline velocity, money per day: `opportunities × average deal × win rate /
/// cycle days`, with each input reported. Computed by
/// [`PipelineHistory::pipeline_velocity`] (see it for an example).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineVelocity {
    /// Open deals in scope at `as_of`.
    pub opportunities: u64,
    /// Won deals learnt from (closed won in the window).
    pub won_deals: u64,
    /// Their mean amount (exact quotient), or `None` without won deals.
    pub average_deal: Option<Money>,
    /// The win rate (same window, chosen basis).
    pub win_rate: WinRate,
    /// Mean won sales cycle in days (exact quotient), or `None` without won deals.
    pub cycle_days: Option<Decimal>,
    /// The velocity in money per day (not rounded), or `None` when an input is
    /// missing, the win rate has no denominator or the cycle is zero.
    pub per_day: Option<Money>,
}

impl PipelineHistory {
    /// Pipeline velocity: open deals in scope × average won deal × win rate / mean
    /// won cycle (days), all learnt from deals closed in `spec.window`.
    ///
    /// ```
    /// use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId, pipeline::PipelineHistory,
    ///     pipeline::PipelineVelocitySpec};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
    /// let ch = |id, d, stage, a| -> Result<OpportunityChange, revops::Error> {
    ///     Ok(OpportunityChange::new(OpportunityId::new(id)?, t(d), stage, Money::parse(a, Currency::USD)?))
    /// };
    /// let rows = vec![
    ///     ch("A", 1, "prospecting", "100")?, ch("A", 11, "closed_won", "100")?, // 10 days
    ///     ch("B", 1, "prospecting", "300")?, ch("B", 11, "closed_won", "300")?, // 10 days
    ///     ch("C", 1, "prospecting", "50")?, ch("C", 5, "closed_lost", "50")?,
    ///     ch("D", 1, "prospecting", "50")?, ch("D", 5, "closed_lost", "50")?,
    ///     ch("E", 20, "prospecting", "80")?, ch("F", 21, "prospecting", "80")?,
    /// ];
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
    /// let v = h.pipeline_velocity(&PipelineVelocitySpec::new(t(25)))?;
    /// // 2 open deals × 200 average × 2/4 won / 10 days = 20 a day
    /// assert_eq!(v.opportunities, 2);
    /// assert_eq!(v.average_deal, Some(Money::parse("200", Currency::USD)?));
    /// assert_eq!(v.per_day.map(|m| m.round_to_minor_units()), Some(Money::parse("20", Currency::USD)?));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
    pub fn pipeline_velocity(&self, spec: &PipelineVelocitySpec) -> Result<PipelineVelocity> {
        let overflow = || {
            Error::from(ErrorKind::Overflow {
                operation: "pipeline velocity",
            })
        };
        let window = spec.window.as_ref();
        let mut opportunities = 0u64;
        let mut won_sum = Decimal::ZERO;
        let mut won_deals = 0u64;
        let mut cycle_seconds = 0u128;
        let at = key(spec.as_of);
        for o in 0..self.len() {
            let rs = self.rows_of(o);
            let Some(r) = self.row_at(o, at) else {
                continue;
            };
            if self.in_scope(&spec.scope, r) {
                opportunities += 1;
            } else if self.kind(r) == StageKind::Won && in_window(window, r.status_since(rs)) {
                won_deals += 1;
                won_sum = won_sum.checked_add(r.amount).ok_or_else(overflow)?;
                cycle_seconds += u128::from(seconds_between(rs[0].at, r.status_since(rs)));
            }
        }
        let mut rate_spec = WinRateSpec::new(spec.as_of).with_basis(spec.basis);
        rate_spec.window = spec.window;
        let win_rate = self.win_rate(&rate_spec)?;
        let (average_deal, cycle_days) = if won_deals == 0 {
            (None, None)
        } else {
            let n = Decimal::from(won_deals);
            let avg = won_sum.checked_div(n).ok_or_else(overflow)?;
            let secs = i128::try_from(cycle_seconds)
                .ok()
                .and_then(|s| Decimal::try_from_i128_with_scale(s, 0).ok())
                .ok_or_else(overflow)?;
            let days = n
                .checked_mul(Decimal::from(SECONDS_PER_DAY))
                .and_then(|den| secs.checked_div(den))
                .ok_or_else(overflow)?;
            (Some(avg), Some(days))
        };
        let per_day = match (average_deal, cycle_days) {
            (Some(avg), Some(days)) if !days.is_zero() && win_rate.ratio.denominator > 0 => {
                let rate = Decimal::from(win_rate.ratio.numerator)
                    .checked_div(Decimal::from(win_rate.ratio.denominator))
                    .ok_or_else(overflow)?;
                let v = Decimal::from(opportunities)
                    .checked_mul(avg)
                    .and_then(|x| x.checked_mul(rate))
                    .and_then(|x| x.checked_div(days))
                    .ok_or_else(overflow)?;
                Some(self.money(v))
            }
            _ => None,
        };
        Ok(PipelineVelocity {
            opportunities,
            won_deals,
            average_deal: average_deal.map(|a| self.money(a)),
            win_rate,
            cycle_days,
            per_day,
        })
    }
}
