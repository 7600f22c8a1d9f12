//! Bookings: the won amount and the number of won deals.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::history::{PipelineHistory, in_window, key};
use crate::accumulate::{Accumulator, StateVersion};
use crate::breakdown::{Breakdown, Keys, Slots};
use crate::error::{Error, ErrorKind, RecordRef, Result};
use crate::funnel::StageKind;
use crate::money::{Currency, Money};
use crate::period::Window;

/// Which won deals are booked.
///
/// ```
/// use revops::{pipeline::BookingsSpec, Window};
/// use chrono::{TimeZone, Utc};
/// # fn main() -> Result<(), revops::Error> {
/// let t = |m| Utc.with_ymd_and_hms(2026, m, 1, 0, 0, 0).unwrap();
/// let q2 = BookingsSpec::new(t(7)).with_window(Window::new(t(4), t(7))?);
/// assert_eq!(q2.window.map(|w| w.end()), Some(t(7)));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookingsSpec {
    /// Deals won as of this instant count, at their amount then.
    pub as_of: DateTime<Utc>,
    /// Only deals whose closing instant is in the window, if set.
    pub window: Option<Window>,
}

impl BookingsSpec {
    /// Every deal won by `as_of`.
    pub fn new(as_of: DateTime<Utc>) -> BookingsSpec {
        BookingsSpec {
            as_of,
            window: None,
        }
    }

    /// Restricts to deals closed (won) in `window`.
    #[must_use]
    pub fn with_window(mut self, window: Window) -> BookingsSpec {
        self.window = Some(window);
        self
    }
}

/// Bookings: the exact sum of the won deals' amounts, in one currency, and how many
/// deals it sums. Computed by [`PipelineHistory::bookings`], per bucket by
/// [`PipelineHistory::bookings_by`].
///
/// It follows the [`Accumulator`] contract: one won deal's amount per
/// [`add`](Bookings::add); an amount in another currency is refused, never
/// converted or mixed.
///
/// # Serialised form
///
/// `{"version": 1, "amount": {"amount": "1500.00", "currency": "USD"}, "deals": 2}`.
///
/// ```
/// use revops::{Accumulator, Currency, Money, pipeline::Bookings};
/// # fn main() -> Result<(), revops::Error> {
/// let usd = |s| Money::parse(s, Currency::USD);
/// let mut b = Bookings::new(Currency::USD);
/// b.add_batch(&[usd("1000")?, usd("500.50")?])?;
/// assert_eq!((b.amount, b.deals), (usd("1500.50")?, 2));
/// assert_eq!(b.average(), Some(usd("750.25")?));
/// assert!(b.add(&Money::parse("1", Currency::EUR)?).is_err()); // refused, unchanged
/// assert_eq!(b.deals, 2);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bookings {
    version: StateVersion<1>,
    /// The won amount.
    pub amount: Money,
    /// The won deals.
    pub deals: u64,
}

impl Bookings {
    /// Nothing booked, in `currency`.
    pub fn new(currency: Currency) -> Bookings {
        Bookings {
            version: StateVersion,
            amount: Money::zero(currency),
            deals: 0,
        }
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.amount.currency()
    }

    /// Books one won deal's amount.
    ///
    /// # Errors
    /// [`ErrorKind::CurrencyMismatch`] for another currency;
    /// [`ErrorKind::InvalidField`] for a negative amount;
    /// [`ErrorKind::Overflow`]. The bookings are then unchanged.
    pub fn add(&mut self, amount: &Money) -> Result<()> {
        if amount.is_negative() {
            return Err(Error::from(ErrorKind::InvalidField {
                record: RecordRef::new("booking")
                    .with_index(usize::try_from(self.deals).unwrap_or(usize::MAX)),
                field: "amount",
                reason: format!("must not be negative, got {amount}"),
            }));
        }
        self.amount = self.amount.checked_add(amount)?;
        self.deals = self.deals.saturating_add(1);
        Ok(())
    }

    /// Adds other bookings.
    ///
    /// # Errors
    /// [`ErrorKind::CurrencyMismatch`] or [`ErrorKind::Overflow`]; `self` is then
    /// unchanged.
    pub fn merge(&mut self, other: &Bookings) -> Result<()> {
        self.amount = self.amount.checked_add(&other.amount)?;
        self.deals = self.deals.saturating_add(other.deals);
        Ok(())
    }

    /// The report: a copy of the state.
    ///
    /// # Errors
    /// None (the `Result` is the [`Accumulator`] contract's).
    pub fn finish(&self) -> Result<Bookings> {
        Ok(self.clone())
    }

    /// The average won amount (exact quotient), or `None` without deals.
    pub fn average(&self) -> Option<Money> {
        let avg = self
            .amount
            .amount()
            .checked_div(Decimal::from(self.deals))?;
        (self.deals > 0).then(|| Money::new(avg, self.currency()))
    }
}

impl Accumulator for Bookings {
    type Item = Money;
    type Output = Bookings;
    const STATE_VERSION: u32 = 1;

    fn add(&mut self, item: &Money) -> Result<()> {
        Bookings::add(self, item)
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        Bookings::merge(self, other)
    }

    fn finish(&self) -> Result<Bookings> {
        Bookings::finish(self)
    }
}

impl PipelineHistory {
    /// The deals won as of `spec.as_of` (closing instant in `spec.window`, if set),
    /// at their amount then.
    ///
    /// ```
    /// use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId, pipeline::BookingsSpec,
    ///     pipeline::PipelineHistory};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
    /// let usd = |s| Money::parse(s, Currency::USD);
    /// let ch = |id, d, stage, a| -> Result<OpportunityChange, revops::Error> {
    ///     Ok(OpportunityChange::new(OpportunityId::new(id)?, t(d), stage, usd(a)?))
    /// };
    /// let rows = [
    ///     ch("A", 1, "prospecting", "100")?, ch("A", 10, "closed_won", "90")?,
    ///     ch("B", 2, "closed_won", "50")?, ch("C", 3, "closed_lost", "70")?,
    /// ];
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
    /// let b = h.bookings(&BookingsSpec::new(t(20)))?;
    /// assert_eq!((b.amount, b.deals), (usd("140")?, 2));
    /// assert_eq!(h.bookings(&BookingsSpec::new(t(5)))?.deals, 1); // A not won yet
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Overflow`].
    pub fn bookings(&self, spec: &BookingsSpec) -> Result<Bookings> {
        Ok(self.bookings_slots(spec, None)?.into_total())
    }

    /// Bookings per bucket of `keys` and over every deal, in one pass: the cells'
    /// amounts and counts add up to the total exactly.
    ///
    /// # Errors
    /// As [`PipelineHistory::bookings`]; [`ErrorKind::InvalidParameter`] (`"keys"`)
    /// for keys of another history.
    pub fn bookings_by(&self, spec: &BookingsSpec, keys: &Keys) -> Result<Breakdown<Bookings>> {
        self.check_keys(keys)?;
        Ok(self
            .bookings_slots(spec, Some(keys))?
            .into_breakdown(keys, Bookings::new(self.currency())))
    }

    fn bookings_slots<'k>(
        &self,
        spec: &BookingsSpec,
        keys: Option<&'k Keys>,
    ) -> Result<Slots<'k, Bookings>> {
        let mut slots = Slots::new(&Bookings::new(self.currency()), keys);
        let at = key(spec.as_of);
        for o in 0..self.len() {
            let Some(r) = self.row_at(o, at) else {
                continue;
            };
            if self.kind(r) == StageKind::Won
                && in_window(spec.window.as_ref(), r.status_since(self.rows_of(o)))
            {
                let amount = self.money(r.amount);
                slots.each(o, |b| b.add(&amount))?;
            }
        }
        Ok(slots)
    }
}
