//! Forecast-category roll-ups (Commit, Best Case, Pipeline).

use crate::error::ErrorKind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::history::{PipelineHistory, key};
use super::waterfall::{Flow, PipelineScope};
use crate::error::{Error, Result};
use crate::funnel::StageKind;
use crate::money::{Currency, Money};
use crate::records::ForecastCategory;

/// Forecast-category roll-ups as of an instant, in exact money.
///
/// Deals counted: every deal that exists at `as_of` whose close date is covered by
/// the scope (all deals in rolling mode). A deal's category is the one on its row in
/// effect, or, if none, the one implied by its stage
/// ([`OpportunityState::category`](crate::pipeline::OpportunityState::category)). Computed by
/// [`PipelineHistory::forecast_rollup`] (see it for an example).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastRollup {
    /// The instant.
    pub as_of: DateTime<Utc>,
    /// The scope (close dates).
    pub scope: PipelineScope,
    /// Amount and deals per category, in [`ForecastCategory::ALL`] order.
    pub by_category: [Flow; 6],
    /// Commit roll-up: Commit + Closed.
    pub commit: Money,
    /// Best-case roll-up: Best Case + Most Likely + Commit + Closed.
    pub best_case: Money,
    /// Pipeline roll-up: every open deal in scope, whatever its category.
    pub pipeline: Flow,
}

impl ForecastRollup {
    /// The flow of one category.
    pub fn category(&self, c: ForecastCategory) -> &Flow {
        &self.by_category[c as usize]
    }

    /// Adds another roll-up's amounts (same instant and scope) and recomputes the
    /// roll-ups.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) (`"as_of"` or `"scope"`) if the instants or scopes
    /// differ; [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch) or [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
    pub fn merge(&mut self, other: &ForecastRollup) -> Result<()> {
        if self.as_of != other.as_of || self.scope != other.scope {
            let name = if self.as_of != other.as_of {
                "as_of"
            } else {
                "scope"
            };
            return Err(Error::from(ErrorKind::InvalidParameter {
                name,
                value: format!("{} / {:?}", other.as_of, other.scope),
                reason: "roll-ups of different instants or scopes cannot be merged".into(),
            }));
        }
        for (a, b) in self.by_category.iter_mut().zip(&other.by_category) {
            a.merge(b)?;
        }
        self.pipeline.merge(&other.pipeline)?;
        self.roll_up()
    }

    fn roll_up(&mut self) -> Result<()> {
        use ForecastCategory::*;
        let c = |k: ForecastCategory| &self.by_category[k as usize].amount;
        self.commit = c(Commit).checked_add(c(Closed))?;
        self.best_case = c(BestCase)
            .checked_add(c(MostLikely))?
            .checked_add(&self.commit)?;
        Ok(())
    }
}

impl PipelineHistory {
    /// Forecast-category roll-ups as of `as_of` over the deals whose close date the
    /// scope covers (see [`ForecastRollup`]).
    ///
    /// ```
    /// use revops::{Currency, ForecastCategory, Funnel, Money, OpportunityChange, OpportunityId,
    ///     pipeline::PipelineHistory, pipeline::PipelineScope};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
    /// let row = |id, stage, a, c| -> Result<OpportunityChange, revops::Error> {
    ///     let mut r = OpportunityChange::new(OpportunityId::new(id)?, t(1), stage, Money::parse(a, Currency::USD)?);
    ///     r.forecast_category = Some(c);
    ///     Ok(r)
    /// };
    /// let rows = vec![
    ///     row("A", "closed_won", "100", ForecastCategory::Closed)?,
    ///     row("B", "negotiation_review", "200", ForecastCategory::Commit)?,
    ///     row("C", "value_proposition", "400", ForecastCategory::BestCase)?,
    ///     row("D", "prospecting", "800", ForecastCategory::Pipeline)?,
    /// ];
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
    /// let r = h.forecast_rollup(t(2), PipelineScope::Rolling)?;
    /// let usd = |s| Money::parse(s, Currency::USD);
    /// assert_eq!((r.commit, r.best_case, r.pipeline.amount),
    ///            (usd("300")?, usd("700")?, usd("1400")?));
    /// assert_eq!(r.category(ForecastCategory::Pipeline).deals, 1);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
    pub fn forecast_rollup(
        &self,
        as_of: DateTime<Utc>,
        scope: PipelineScope,
    ) -> Result<ForecastRollup> {
        let cur: Currency = self.currency();
        let mut r = ForecastRollup {
            as_of,
            scope,
            by_category: std::array::from_fn(|_| Flow::zero(cur)),
            commit: Money::zero(cur),
            best_case: Money::zero(cur),
            pipeline: Flow::zero(cur),
        };
        let at = key(as_of);
        for o in 0..self.len() {
            let Some(row) = self.row_at(o, at) else {
                continue;
            };
            if !scope.covers(row.close) {
                continue;
            }
            let kind = self.kind(row);
            let category = row
                .forecast
                .unwrap_or_else(|| super::history::implied_category(kind));
            let amount = self.money(row.amount);
            r.by_category[category as usize].add(&amount)?;
            if kind == StageKind::Open {
                r.pipeline.add(&amount)?;
            }
        }
        r.roll_up()?;
        Ok(r)
    }
}
