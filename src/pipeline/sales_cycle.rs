//! Sales cycle: creation to closing instant of each closed deal.

use crate::error::ErrorKind;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::history::{Key, PipelineHistory, Row, SECONDS_PER_DAY, in_window, key, seconds_between};
use crate::accumulate::{Accumulator, StateVersion};
use crate::breakdown::{Breakdown, Keys, Slots};
use crate::distribution::{ExactDistribution, Summary};
use crate::error::{Error, Result};
use crate::funnel::StageKind;
use crate::period::Window;

/// Which closed deals a sales-cycle length is measured on.
///
/// ```
/// use revops::pipeline::CycleOutcome;
/// assert_eq!(CycleOutcome::default(), CycleOutcome::Won);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CycleOutcome {
    /// Won deals (the default).
    #[default]
    Won,
    /// Deals closed in any non-won terminal stage.
    Lost,
    /// Every closed deal.
    Closed,
}

/// What sales cycle to measure.
///
/// ```
/// use revops::{pipeline::CycleOutcome, pipeline::SalesCycleSpec, Window};
/// use chrono::{TimeZone, Utc};
/// # fn main() -> Result<(), revops::Error> {
/// let t = |m| Utc.with_ymd_and_hms(2026, m, 1, 0, 0, 0).unwrap();
/// let q2 = SalesCycleSpec::new(t(7))
///     .with_outcome(CycleOutcome::Closed)
///     .with_window(Window::new(t(4), t(7))?);
/// assert_eq!(q2.window.map(|w| w.start()), Some(t(4)));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SalesCycleSpec {
    /// Deals closed at or before this instant count.
    pub as_of: DateTime<Utc>,
    /// Which outcome; default won.
    pub outcome: CycleOutcome,
    /// Only deals whose closing instant is in the window, if set.
    pub window: Option<Window>,
}

impl SalesCycleSpec {
    /// The cycle of won deals closed by `as_of`.
    pub fn new(as_of: DateTime<Utc>) -> SalesCycleSpec {
        SalesCycleSpec {
            as_of,
            outcome: CycleOutcome::Won,
            window: None,
        }
    }

    /// Sets the outcome.
    #[must_use]
    pub fn with_outcome(mut self, outcome: CycleOutcome) -> SalesCycleSpec {
        self.outcome = outcome;
        self
    }

    /// Restricts to deals closed in `window`.
    #[must_use]
    pub fn with_window(mut self, window: Window) -> SalesCycleSpec {
        self.window = Some(window);
        self
    }
}

/// Sales cycle lengths: for each closed deal, seconds from creation (first history
/// row) to its closing instant. Computed by [`PipelineHistory::sales_cycle`] (see it
/// for an example). A monoid: [`SalesCycle::merge`] appends. It follows the
/// [`Accumulator`] contract (one duration in seconds per deal), so that
/// [`Breakdown`] runs it per bucket ([`PipelineHistory::sales_cycle_by`]).
///
/// # Serialised form
///
/// `{"version": 1, "outcome": "won", "durations": D}`, `D` an
/// [`ExactDistribution`]'s own form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SalesCycle {
    version: StateVersion<1>,
    /// The outcome measured.
    pub outcome: CycleOutcome,
    /// One duration (seconds) per deal.
    pub durations: ExactDistribution,
}

impl SalesCycle {
    /// No deal yet, for `outcome`.
    pub fn new(outcome: CycleOutcome) -> SalesCycle {
        SalesCycle {
            version: StateVersion,
            outcome,
            durations: ExactDistribution::default(),
        }
    }

    /// Adds one deal's cycle length, in seconds.
    ///
    /// # Errors
    /// None (the `Result` is the [`Accumulator`] contract's).
    pub fn add(&mut self, seconds: &u64) -> Result<()> {
        self.durations.add(*seconds);
        Ok(())
    }

    /// The report: a copy of the state (the cycle is its own report).
    ///
    /// # Errors
    /// None (the `Result` is the [`Accumulator`] contract's).
    pub fn finish(&self) -> Result<SalesCycle> {
        Ok(self.clone())
    }

    /// Count, mean, median and quartiles (type-7), or `None` without deals.
    pub fn summary(&self) -> Option<Summary> {
        // An exact distribution always finishes (its `Result` is the contract's).
        self.durations.finish().ok().flatten()
    }

    /// The exact mean in days (sum of seconds / (count × 86 400), to 28 significant
    /// digits), or `None` without deals.
    pub fn mean_days(&self) -> Option<Decimal> {
        let n = self.durations.count();
        let sum: u128 = self.durations.values().iter().map(|&s| u128::from(s)).sum();
        let den = Decimal::from(n).checked_mul(Decimal::from(SECONDS_PER_DAY))?;
        Decimal::try_from_i128_with_scale(i128::try_from(sum).ok()?, 0)
            .ok()?
            .checked_div(den)
    }

    /// Appends another cycle's durations.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) (`"outcome"`) if the outcomes differ.
    pub fn merge(&mut self, other: &SalesCycle) -> Result<()> {
        if self.outcome != other.outcome {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "outcome",
                value: format!("{:?}", other.outcome),
                reason: format!("cannot merge into a {:?} cycle", self.outcome),
            }));
        }
        self.durations.merge(&other.durations)
    }
}

impl PipelineHistory {
    fn closed_row(&self, o: usize, as_of: Key) -> Option<&Row> {
        self.row_at(o, as_of).filter(|r| self.kind(r).is_terminal())
    }

    /// Sales cycle lengths: creation (first row) to closing instant, per closed deal.
    ///
    /// ```
    /// use revops::{pipeline::CycleOutcome, Currency, Funnel, Money, OpportunityChange, OpportunityId,
    ///     pipeline::PipelineHistory, pipeline::SalesCycleSpec};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
    /// let ch = |id, d, stage| -> Result<OpportunityChange, revops::Error> {
    ///     Ok(OpportunityChange::new(OpportunityId::new(id)?, t(d), stage, Money::parse("10", Currency::USD)?))
    /// };
    /// let rows = vec![
    ///     ch("A", 1, "prospecting")?, ch("A", 11, "closed_won")?,
    ///     ch("B", 1, "prospecting")?, ch("B", 21, "closed_won")?,
    ///     ch("C", 2, "prospecting")?, ch("C", 4, "closed_lost")?,
    /// ];
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
    /// let won = h.sales_cycle(&SalesCycleSpec::new(t(30)));
    /// assert_eq!(won.summary().map(|s| s.median_days()), Some(15.0));
    /// assert_eq!(won.mean_days(), Some(revops::Decimal::from(15)));
    /// let all = h.sales_cycle(&SalesCycleSpec::new(t(30)).with_outcome(CycleOutcome::Closed));
    /// assert_eq!(all.summary().map(|s| s.count), Some(3));
    /// # Ok(()) }
    /// ```
    pub fn sales_cycle(&self, spec: &SalesCycleSpec) -> SalesCycle {
        self.sales_cycle_slots(spec, None).into_total()
    }

    /// The sales cycle per bucket of `keys` and over every deal, in one pass.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter)
    /// (`"keys"`) for keys of another history.
    pub fn sales_cycle_by(
        &self,
        spec: &SalesCycleSpec,
        keys: &Keys,
    ) -> Result<Breakdown<SalesCycle>> {
        self.check_keys(keys)?;
        Ok(self
            .sales_cycle_slots(spec, Some(keys))
            .into_breakdown(keys, SalesCycle::new(spec.outcome)))
    }

    fn sales_cycle_slots<'k>(
        &self,
        spec: &SalesCycleSpec,
        keys: Option<&'k Keys>,
    ) -> Slots<'k, SalesCycle> {
        let window = spec.window.as_ref();
        let mut slots = Slots::new(&SalesCycle::new(spec.outcome), keys);
        let at = key(spec.as_of);
        for o in 0..self.len() {
            let rs = self.rows_of(o);
            let Some(r) = self.closed_row(o, at) else {
                continue;
            };
            let won = self.kind(r) == StageKind::Won;
            let wanted = match spec.outcome {
                CycleOutcome::Won => won,
                CycleOutcome::Lost => !won,
                CycleOutcome::Closed => true,
            };
            if wanted && in_window(window, r.status_since(rs)) {
                let seconds = seconds_between(rs[0].at, r.status_since(rs));
                // Adding a duration cannot fail.
                let _ = slots.each(o, |c| c.add(&seconds));
            }
        }
        slots
    }
}

impl Accumulator for SalesCycle {
    type Item = u64;
    type Output = SalesCycle;
    const STATE_VERSION: u32 = 1;

    fn add(&mut self, item: &u64) -> Result<()> {
        SalesCycle::add(self, item)
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        SalesCycle::merge(self, other)
    }

    fn finish(&self) -> Result<SalesCycle> {
        SalesCycle::finish(self)
    }
}
