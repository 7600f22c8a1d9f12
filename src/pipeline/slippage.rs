//! Close-date slippage: pushes of open deals' close dates within a window.

use crate::error::ErrorKind;
use serde::{Deserialize, Serialize};

use super::history::{PipelineHistory, Row, key};
use crate::accumulate::{Accumulator, StateVersion};
use crate::breakdown::{Breakdown, Keys, Slots};
use crate::error::{Error, Result};
use crate::ids::OpportunityId;
use crate::money::{Currency, Money};
use crate::period::Window;
use crate::ratio::Ratio;

/// One pushed deal of a [`Slippage`] report (see [`PipelineHistory::slippage`] for an
/// example).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlippedDeal {
    /// The deal.
    pub opportunity: OpportunityId,
    /// Pushes in the window.
    pub pushes: u32,
    /// Days the close date moved out, summed over its pushes.
    pub days: i64,
    /// The deal's amount after its last push in the window.
    pub amount: Money,
}

/// Close-date slippage within a window.
///
/// A **push** is a history row in the window, of a deal open before and after it,
/// whose close date is later than the previous row's (both set). The deals at risk
/// are those open at some instant of the window (open at its start, or with an open
/// row inside it). Computed by [`PipelineHistory::slippage`] (see it for an example).
/// A monoid: [`Slippage::merge`]. It follows the [`Accumulator`] contract, one
/// [`SlippedDeal`] per deal at risk (with zero pushes when it was not pushed), so
/// that [`Breakdown`] runs it per bucket ([`PipelineHistory::slippage_by`]).
///
/// # Serialised form
///
/// `{"version": 1, "window": W, "deals": 4, "pushes": 3, "pushes_per_deal": R,
/// "pushed_deals": 2, "pushed_twice_or_more": 1, "slipped": M, "per_deal": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slippage {
    version: StateVersion<1>,
    /// The window.
    pub window: Window,
    /// Deals at risk.
    pub deals: u64,
    /// Pushes.
    pub pushes: u64,
    /// Pushes per deal at risk (`pushes / deals`; may exceed 1).
    pub pushes_per_deal: Ratio,
    /// Deals pushed at least once.
    pub pushed_deals: u64,
    /// Deals pushed two or more times.
    pub pushed_twice_or_more: u64,
    /// Slipped amount: the pushed deals' amounts after their last push, each deal
    /// once.
    pub slipped: Money,
    /// The pushed deals.
    pub per_deal: Vec<SlippedDeal>,
}

impl Slippage {
    /// No deal at risk yet, over `window`, amounts in `currency`.
    pub fn new(window: Window, currency: Currency) -> Slippage {
        Slippage {
            version: StateVersion,
            window,
            deals: 0,
            pushes: 0,
            pushes_per_deal: Ratio::default(),
            pushed_deals: 0,
            pushed_twice_or_more: 0,
            slipped: Money::zero(currency),
            per_deal: Vec::new(),
        }
    }

    /// Adds one deal at risk: with its pushes in the window, its pushed days and
    /// its amount after its last push (listed and summed only when it was pushed).
    ///
    /// # Errors
    /// [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch) or
    /// [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow); the report is
    /// then unchanged.
    pub fn add(&mut self, deal: &SlippedDeal) -> Result<()> {
        if deal.pushes > 0 {
            self.slipped = self.slipped.checked_add(&deal.amount)?;
            self.pushes += u64::from(deal.pushes);
            self.pushed_deals += 1;
            if deal.pushes >= 2 {
                self.pushed_twice_or_more += 1;
            }
            self.per_deal.push(deal.clone());
        }
        self.deals += 1;
        self.pushes_per_deal = Ratio::new(self.pushes, self.deals);
        Ok(())
    }

    /// The report: a copy of the state.
    ///
    /// # Errors
    /// None (the `Result` is the [`Accumulator`] contract's).
    pub fn finish(&self) -> Result<Slippage> {
        Ok(self.clone())
    }

    /// Adds another report over the same window.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) (`"window"`) if the windows differ;
    /// [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch) or [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
    pub fn merge(&mut self, other: &Slippage) -> Result<()> {
        if self.window != other.window {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "window",
                value: format!("{:?}", other.window),
                reason: "slippage reports of different windows cannot be merged".into(),
            }));
        }
        self.slipped = self.slipped.checked_add(&other.slipped)?;
        self.deals += other.deals;
        self.pushes += other.pushes;
        self.pushed_deals += other.pushed_deals;
        self.pushed_twice_or_more += other.pushed_twice_or_more;
        self.pushes_per_deal = Ratio::new(self.pushes, self.deals);
        self.per_deal.extend_from_slice(&other.per_deal);
        Ok(())
    }
}

impl PipelineHistory {
    /// Close-date slippage within `window` (see [`Slippage`] for the definitions).
    ///
    /// ```
    /// use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId, pipeline::PipelineHistory, Window};
    /// use chrono::{NaiveDate, TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
    /// let row = |d, close: u32| -> Result<OpportunityChange, revops::Error> {
    ///     let mut c = OpportunityChange::new(OpportunityId::new("A")?, t(d), "prospecting", Money::parse("10", Currency::USD)?);
    ///     c.close_date = NaiveDate::from_ymd_opt(2026, 4, close);
    ///     Ok(c)
    /// };
    /// let rows = vec![row(1, 1)?, row(5, 11)?, row(9, 21)?, row(12, 15)?]; // two pushes, then a pull-in
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
    /// let s = h.slippage(&Window::new(t(1), t(31))?)?;
    /// assert_eq!((s.deals, s.pushes, s.pushed_twice_or_more), (1, 2, 1));
    /// assert_eq!(s.per_deal[0].days, 20);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
    pub fn slippage(&self, window: &Window) -> Result<Slippage> {
        Ok(self.slippage_slots(window, None)?.into_total())
    }

    /// Slippage per bucket of `keys` and over every deal, in one pass.
    ///
    /// # Errors
    /// As [`PipelineHistory::slippage`];
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter)
    /// (`"keys"`) for keys of another history.
    pub fn slippage_by(&self, window: &Window, keys: &Keys) -> Result<Breakdown<Slippage>> {
        self.check_keys(keys)?;
        Ok(self
            .slippage_slots(window, Some(keys))?
            .into_breakdown(keys, Slippage::new(*window, self.currency())))
    }

    fn slippage_slots<'k>(
        &self,
        window: &Window,
        keys: Option<&'k Keys>,
    ) -> Result<Slots<'k, Slippage>> {
        let mut slots = Slots::new(&Slippage::new(*window, self.currency()), keys);
        let open = |r: &Row| !self.kind(r).is_terminal();
        let start = key(window.start());
        for o in 0..self.len() {
            let rs = self.rows_of(o);
            let first = self.count_before(o, start);
            let last = self.count_before(o, key(window.end()));
            let open_at_start = self.row_at(o, start).is_some_and(open);
            let at_risk = open_at_start || rs[first..last].iter().any(open);
            if !at_risk {
                continue;
            }
            let (mut pushes, mut days, mut amount) = (0u32, 0i64, None);
            for k in first.max(1)..last {
                let (p, r) = (&rs[k - 1], &rs[k]);
                if let (true, true, Some(before), Some(after)) =
                    (open(p), open(r), p.close, r.close)
                    && after > before
                {
                    pushes += 1;
                    days += after.signed_duration_since(before).num_days();
                    amount = Some(r.amount);
                }
            }
            let deal = SlippedDeal {
                opportunity: self.id(o).clone(),
                pushes,
                days,
                amount: self.money(amount.unwrap_or_default()),
            };
            slots.each(o, |s| s.add(&deal))?;
        }
        Ok(slots)
    }
}

impl Accumulator for Slippage {
    type Item = SlippedDeal;
    type Output = Slippage;
    const STATE_VERSION: u32 = 1;

    fn add(&mut self, item: &SlippedDeal) -> Result<()> {
        Slippage::add(self, item)
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        Slippage::merge(self, other)
    }

    fn finish(&self) -> Result<Slippage> {
        Slippage::finish(self)
    }
}

impl Slippage {
    /// The pushed deal `opportunity` (its id's text), if it was pushed in the window.
    pub fn deal(&self, opportunity: &str) -> Option<&SlippedDeal> {
        self.per_deal
            .iter()
            .find(|d| d.opportunity.as_str() == opportunity)
    }
}
