//! Win rate: won deals over a chosen denominator ([`WinRateBasis`]), with its
//! counts and confidence interval.

use crate::error::ErrorKind;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::history::{Key, PipelineHistory, in_window, key};
use crate::accumulate::{Accumulator, StateVersion};
use crate::breakdown::{Breakdown, Keys, Slots};
use crate::error::{Error, RecordRef, Result};
use crate::funnel::StageKind;
use crate::period::Window;
use crate::ratio::{Confidence, Interval, IntervalMethod, Ratio};

/// The denominator of a win rate. The numerator is always the deals won.
///
/// Counts are taken from each deal's state as of [`WinRateSpec::as_of`]; see
/// [`WinRateSpec::window`] for which deals are counted, and
/// [`PipelineHistory::win_rate`] for every basis on one history.
///
/// ```
/// use revops::pipeline::WinRateBasis;
/// assert_eq!(WinRateBasis::default(), WinRateBasis::ClosedOnly);
/// let json = serde_json::to_string(&WinRateBasis::ClosedPlusStale { days: 90 })?;
/// assert_eq!(json, r#"{"closed_plus_stale":{"days":90}}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WinRateBasis {
    /// Won / (won + lost): closed deals only, without the "no decision" ones (the
    /// default).
    #[default]
    ClosedOnly,
    /// Won / (won + lost + no decision): closed deals, including those that ended
    /// without a decision (see [`NoDecision`]).
    ClosedPlusNoDecision,
    /// Won / all deals created in the cohort (window over the creation instant),
    /// whatever their state: open deals count as not won.
    AllCreated,
    /// Won / (won + lost + stale): open deals unchanged for at least `days` days at
    /// `as_of` count as losses. A stale deal "closes" at its last change + `days`.
    ClosedPlusStale {
        /// Days without a change after which an open deal is stale.
        days: u32,
    },
}

/// Which closed deals ended "without a decision". A deal closed in such a stage is
/// excluded from [`WinRateBasis::ClosedOnly`] and counted by
/// [`WinRateBasis::ClosedPlusNoDecision`].
///
/// ```
/// use revops::{pipeline::NoDecision, pipeline::WinRateBasis, pipeline::WinRateSpec};
/// use chrono::{TimeZone, Utc};
/// let spec = WinRateSpec::new(Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap())
///     .with_basis(WinRateBasis::ClosedPlusNoDecision)
///     .with_no_decision(NoDecision::Stages(vec!["closed_no_decision".into()]));
/// assert_ne!(spec.no_decision, NoDecision::default());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoDecision {
    /// Terminal stages that are neither won nor lost: [`StageKind::Disqualified`] and
    /// [`StageKind::Recycled`] (the default). Funnels whose only exits are won and
    /// lost (Salesforce's, Maven's) then have no "no decision" deals.
    #[default]
    ExitStages,
    /// These stages (keys, names or aliases of the funnel), e.g. a lost-kind
    /// `"closed_no_decision"` stage. Each must be a terminal, non-won stage.
    Stages(Vec<String>),
}

/// What win rate to compute.
///
/// ```
/// use revops::{pipeline::WinRateBasis, pipeline::WinRateSpec};
/// use chrono::{TimeZone, Utc};
/// let spec = WinRateSpec::new(Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap())
///     .with_basis(WinRateBasis::ClosedPlusStale { days: 90 });
/// assert!(spec.window.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WinRateSpec {
    /// The instant the deals' states are read at.
    pub as_of: DateTime<Utc>,
    /// The denominator; default [`WinRateBasis::ClosedOnly`].
    pub basis: WinRateBasis,
    /// Which deals count, if not all that exist at `as_of`: for the closed bases,
    /// deals whose closing instant ([`OpportunityState::closed_at`](crate::pipeline::OpportunityState::closed_at))
    /// (for stale deals, the instant they became stale) is in the window; for
    /// [`WinRateBasis::AllCreated`], deals created in the window (the cohort).
    pub window: Option<Window>,
    /// Which closed deals are "no decision"; default [`NoDecision::ExitStages`].
    pub no_decision: NoDecision,
    /// The interval method; default Wilson.
    pub method: IntervalMethod,
    /// The interval's confidence; default 95 %.
    pub confidence: Confidence,
}

impl WinRateSpec {
    /// Closed-only win rate over every deal that exists at `as_of`, Wilson 95 %.
    pub fn new(as_of: DateTime<Utc>) -> WinRateSpec {
        WinRateSpec {
            as_of,
            basis: WinRateBasis::ClosedOnly,
            window: None,
            no_decision: NoDecision::ExitStages,
            method: IntervalMethod::Wilson,
            confidence: Confidence::P95,
        }
    }

    /// Sets the basis.
    #[must_use]
    pub fn with_basis(mut self, basis: WinRateBasis) -> WinRateSpec {
        self.basis = basis;
        self
    }

    /// Restricts the deals to a window (see [`WinRateSpec::window`]).
    #[must_use]
    pub fn with_window(mut self, window: Window) -> WinRateSpec {
        self.window = Some(window);
        self
    }

    /// Sets the no-decision rule.
    #[must_use]
    pub fn with_no_decision(mut self, no_decision: NoDecision) -> WinRateSpec {
        self.no_decision = no_decision;
        self
    }

    /// Sets the interval method and confidence.
    #[must_use]
    pub fn with_interval(mut self, method: IntervalMethod, confidence: Confidence) -> WinRateSpec {
        self.method = method;
        self.confidence = confidence;
        self
    }
}

/// A win rate with every count behind it, computed by [`PipelineHistory::win_rate`]
/// (see it for an example).
///
/// A monoid over deals: [`WinRate::merge`] adds the counts (of the same basis) and
/// recomputes the ratio and interval. It follows the [`Accumulator`] contract, one
/// [`WinRateCount`] per deal, so that [`Breakdown`] can run it per owner, segment
/// or source ([`PipelineHistory::win_rate_by`]).
///
/// # Serialised form
///
/// `{"version": 1, "basis": "closed_only", "won": 3, "lost": 2, "no_decision": 0,
/// "stale": 0, "open": 1, "ratio": R, "interval": I, "method": "wilson",
/// "confidence": 0.95}`: the counts and the options; `ratio` and `interval` follow
/// from them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WinRate {
    version: StateVersion<1>,
    /// The denominator used.
    pub basis: WinRateBasis,
    /// Deals won.
    pub won: u64,
    /// Deals lost (closed in a non-won stage that is not "no decision").
    pub lost: u64,
    /// Deals closed without a decision.
    pub no_decision: u64,
    /// Open deals counted as stale ([`WinRateBasis::ClosedPlusStale`] only; with a
    /// window, a deal that became stale outside it is counted nowhere).
    pub stale: u64,
    /// Other open deals: informational, in the denominator only for
    /// [`WinRateBasis::AllCreated`] (for the closed bases: every non-stale open deal
    /// at `as_of`, not filtered by the window).
    pub open: u64,
    /// Won over the basis' denominator.
    pub ratio: Ratio,
    /// The ratio's confidence interval (`None` with a zero denominator).
    pub interval: Option<Interval>,
    /// The interval method.
    pub method: IntervalMethod,
    /// The interval's confidence.
    pub confidence: Confidence,
}

/// How one deal counts in a [`WinRate`]: the record its accumulator adds.
///
/// ```
/// use revops::{Accumulator, pipeline::WinRate, pipeline::WinRateCount, pipeline::WinRateSpec};
/// use chrono::{TimeZone, Utc};
/// # fn main() -> Result<(), revops::Error> {
/// let mut w = WinRate::new(&WinRateSpec::new(Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap()));
/// w.add_batch(&[WinRateCount::Won, WinRateCount::Lost, WinRateCount::Open])?;
/// assert_eq!(w.ratio.to_string(), "1 / 2 (50.0%)");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WinRateCount {
    /// Closed won.
    Won,
    /// Closed in a non-won stage that is not "no decision".
    Lost,
    /// Closed without a decision ([`NoDecision`]).
    NoDecision,
    /// Open and stale ([`WinRateBasis::ClosedPlusStale`]).
    Stale,
    /// Open (and not stale).
    Open,
}

impl WinRate {
    /// An empty win rate under `spec`'s basis and interval (no deal counted; the
    /// identity of [`WinRate::merge`]).
    pub fn new(spec: &WinRateSpec) -> WinRate {
        WinRate {
            version: StateVersion,
            basis: spec.basis,
            won: 0,
            lost: 0,
            no_decision: 0,
            stale: 0,
            open: 0,
            ratio: Ratio::default(),
            interval: None,
            method: spec.method,
            confidence: spec.confidence,
        }
    }

    /// Counts one deal (and recomputes the ratio and interval).
    ///
    /// # Errors
    /// None (the `Result` is the [`Accumulator`] contract's).
    pub fn add(&mut self, deal: &WinRateCount) -> Result<()> {
        self.count(*deal);
        self.recompute();
        Ok(())
    }

    fn count(&mut self, deal: WinRateCount) {
        let n = match deal {
            WinRateCount::Won => &mut self.won,
            WinRateCount::Lost => &mut self.lost,
            WinRateCount::NoDecision => &mut self.no_decision,
            WinRateCount::Stale => &mut self.stale,
            WinRateCount::Open => &mut self.open,
        };
        *n = n.saturating_add(1);
    }

    /// The report: a copy of the state (the win rate is its own report).
    ///
    /// # Errors
    /// None (the `Result` is the [`Accumulator`] contract's).
    pub fn finish(&self) -> Result<WinRate> {
        Ok(self.clone())
    }

    fn recompute(&mut self) {
        let denominator = match self.basis {
            WinRateBasis::ClosedOnly => self.won + self.lost,
            WinRateBasis::ClosedPlusNoDecision => self.won + self.lost + self.no_decision,
            WinRateBasis::AllCreated => self.won + self.lost + self.no_decision + self.open,
            WinRateBasis::ClosedPlusStale { .. } => self.won + self.lost + self.stale,
        };
        self.ratio = Ratio::new(self.won, denominator);
        self.interval = self.ratio.interval(self.method, self.confidence);
    }

    /// Adds another win rate's counts.
    ///
    /// ```
    /// use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId, pipeline::PipelineHistory, pipeline::WinRateSpec};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    /// let deal = |id, stage| -> Result<PipelineHistory, revops::Error> {
    ///     let row = OpportunityChange::new(OpportunityId::new(id)?, t, stage, Money::parse("1", Currency::USD)?);
    ///     PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &[row])
    /// };
    /// let spec = WinRateSpec::new(t);
    /// let mut rate = deal("A", "closed_won")?.win_rate(&spec)?;
    /// rate.merge(&deal("B", "closed_lost")?.win_rate(&spec)?)?;
    /// assert_eq!(rate.ratio.to_string(), "1 / 2 (50.0%)");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) (`"basis"`) if the bases differ;
    /// [`ErrorKind::MergeMismatch`](crate::error::ErrorKind::MergeMismatch) if the interval methods or confidences differ.
    pub fn merge(&mut self, other: &WinRate) -> Result<()> {
        if self.basis != other.basis {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "basis",
                value: format!("{:?}", other.basis),
                reason: format!("cannot merge into a win rate on {:?}", self.basis),
            }));
        }
        if (self.method, self.confidence) != (other.method, other.confidence) {
            return Err(Error::from(ErrorKind::MergeMismatch {
                what: "win rate",
                reason: format!(
                    "interval {:?} at {:?}, this one {:?} at {:?}",
                    other.method, other.confidence, self.method, self.confidence
                ),
            }));
        }
        self.won += other.won;
        self.lost += other.lost;
        self.no_decision += other.no_decision;
        self.stale += other.stale;
        self.open += other.open;
        self.recompute();
        Ok(())
    }
}

impl PipelineHistory {
    fn no_decision_stages(&self, rule: &NoDecision) -> Result<Vec<bool>> {
        match rule {
            NoDecision::ExitStages => Ok(self
                .kinds
                .iter()
                .map(|k| matches!(k, StageKind::Disqualified | StageKind::Recycled))
                .collect()),
            NoDecision::Stages(keys) => {
                let mut set = vec![false; self.kinds.len()];
                for key in keys {
                    let s = self
                        .funnel()
                        .resolve(key, || RecordRef::new("no-decision stage").with_id(key))?;
                    if !self.kinds[s].is_terminal() || self.kinds[s] == StageKind::Won {
                        return Err(Error::from(ErrorKind::InvalidParameter {
                            name: "no_decision",
                            value: key.clone(),
                            reason: "a no-decision stage must be a terminal, non-won stage".into(),
                        }));
                    }
                    set[s] = true;
                }
                Ok(set)
            }
        }
    }

    /// The win rate on the chosen basis.
    ///
    /// ```
    /// use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId, pipeline::PipelineHistory,
    ///     pipeline::WinRateBasis, pipeline::WinRateSpec};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
    /// let ch = |id, d, stage| -> Result<OpportunityChange, revops::Error> {
    ///     Ok(OpportunityChange::new(OpportunityId::new(id)?, t(d), stage, Money::parse("10", Currency::USD)?))
    /// };
    /// let rows = vec![
    ///     ch("A", 1, "prospecting")?, ch("A", 5, "closed_won")?,
    ///     ch("B", 1, "prospecting")?, ch("B", 6, "closed_lost")?,
    ///     ch("C", 1, "prospecting")?, ch("C", 2, "qualification")?, // stale by the 30th
    ///     ch("D", 1, "prospecting")?, ch("D", 28, "qualification")?, // recently active
    /// ];
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
    /// let closed = h.win_rate(&WinRateSpec::new(t(30)))?;
    /// assert_eq!((closed.ratio.numerator, closed.ratio.denominator), (1, 2));
    /// assert!(closed.interval.is_some());
    /// let stale = h.win_rate(&WinRateSpec::new(t(30)).with_basis(WinRateBasis::ClosedPlusStale { days: 14 }))?;
    /// assert_eq!((stale.ratio.numerator, stale.ratio.denominator, stale.open), (1, 3, 1));
    /// let cohort = h.win_rate(&WinRateSpec::new(t(30)).with_basis(WinRateBasis::AllCreated))?;
    /// assert_eq!(cohort.ratio.denominator, 4);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::UnknownStage`](crate::error::ErrorKind::UnknownStage) or [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) for a bad
    /// [`NoDecision::Stages`] list.
    pub fn win_rate(&self, spec: &WinRateSpec) -> Result<WinRate> {
        Ok(self.win_rate_slots(spec, None)?.into_total())
    }

    /// The win rate per bucket of `keys` and over every deal, in one pass: each
    /// cell with its counts and interval, the cells' counts adding up to the total.
    ///
    /// ```
    /// use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId, breakdown::Dimension,
    ///     breakdown::Keys, pipeline::PipelineHistory, pipeline::WinRateSpec};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    /// let ch = |id, stage| -> Result<OpportunityChange, revops::Error> {
    ///     Ok(OpportunityChange::new(OpportunityId::new(id)?, t, stage, Money::parse("10", Currency::USD)?))
    /// };
    /// let rows = [ch("A", "closed_won")?, ch("B", "closed_lost")?, ch("C", "closed_won")?];
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
    /// // The owner of deals A, B, C (usually from h.keys(&Dimension::Owner, &opportunities, &leads)).
    /// let keys = Keys::new(Dimension::Owner, [Some("ann"), Some("ann"), None])?;
    /// let by_owner = h.win_rate_by(&WinRateSpec::new(t), &keys)?;
    /// assert_eq!(by_owner.total().ratio.to_string(), "2 / 3 (66.7%)");
    /// assert_eq!(by_owner.cell(Some("ann")).map(|w| w.ratio.to_string()), Some("1 / 2 (50.0%)".into()));
    /// assert_eq!(by_owner.cell(None).map(|w| w.won), Some(1));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`PipelineHistory::win_rate`]; [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter)
    /// (`"keys"`) for keys of another history (another number of deals).
    pub fn win_rate_by(&self, spec: &WinRateSpec, keys: &Keys) -> Result<Breakdown<WinRate>> {
        self.check_keys(keys)?;
        Ok(self
            .win_rate_slots(spec, Some(keys))?
            .into_breakdown(keys, WinRate::new(spec)))
    }

    fn win_rate_slots<'k>(
        &self,
        spec: &WinRateSpec,
        keys: Option<&'k Keys>,
    ) -> Result<Slots<'k, WinRate>> {
        let no_decision = self.no_decision_stages(&spec.no_decision)?;
        let mut slots = Slots::new(&WinRate::new(spec), keys);
        let at = key(spec.as_of);
        for o in 0..self.len() {
            if let Some(c) = self.win_rate_count(spec, &no_decision, o, at) {
                slots.each(o, |w| {
                    w.count(c);
                    Ok(())
                })?;
            }
        }
        slots.all(WinRate::recompute);
        Ok(slots)
    }

    /// How deal `o` counts, if it counts at all.
    fn win_rate_count(
        &self,
        spec: &WinRateSpec,
        no_decision: &[bool],
        o: usize,
        at: Key,
    ) -> Option<WinRateCount> {
        let window = spec.window.as_ref();
        let rs = self.rows_of(o);
        let r = self.row_at(o, at)?;
        let kind = self.kind(r);
        if spec.basis == WinRateBasis::AllCreated {
            if !in_window(window, rs[0].at) {
                return None;
            }
        } else if kind.is_terminal() && !in_window(window, r.status_since(rs)) {
            return None;
        }
        Some(match kind {
            StageKind::Won => WinRateCount::Won,
            k if k.is_terminal() => {
                if no_decision[usize::from(r.stage)] {
                    WinRateCount::NoDecision
                } else {
                    WinRateCount::Lost
                }
            }
            _ => match spec.basis {
                WinRateBasis::ClosedPlusStale { days } => {
                    let after = TimeDelta::days(i64::from(days));
                    if spec.as_of.signed_duration_since(r.at) >= after {
                        let stale_at = r.at.checked_add_signed(after).unwrap_or(r.at);
                        if !in_window(window, stale_at) {
                            return None;
                        }
                        WinRateCount::Stale
                    } else {
                        WinRateCount::Open
                    }
                }
                _ => WinRateCount::Open,
            },
        })
    }
}

impl Accumulator for WinRate {
    type Item = WinRateCount;
    type Output = WinRate;
    const STATE_VERSION: u32 = 1;

    fn add(&mut self, item: &WinRateCount) -> Result<()> {
        WinRate::add(self, item)
    }

    /// Counts every deal, then computes the ratio and interval once (a Jeffreys or
    /// Clopper–Pearson interval is a beta quantile: not worth computing per deal).
    fn add_batch<'a, I>(&mut self, items: I) -> Result<()>
    where
        I: IntoIterator<Item = &'a WinRateCount>,
    {
        for item in items {
            self.count(*item);
        }
        self.recompute();
        Ok(())
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        WinRate::merge(self, other)
    }

    fn finish(&self) -> Result<WinRate> {
        WinRate::finish(self)
    }
}
