//! Win rate: won deals over a chosen denominator ([`WinRateBasis`]), with its
//! counts and confidence interval.

use crate::error::ErrorKind;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::history::{PipelineHistory, in_window, key};
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
/// recomputes the ratio and interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WinRate {
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

impl WinRate {
    fn empty(spec: &WinRateSpec) -> WinRate {
        WinRate {
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

    fn finish(&mut self) {
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
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) (`"basis"`) if the bases differ.
    pub fn merge(&mut self, other: &WinRate) -> Result<()> {
        if self.basis != other.basis {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "basis",
                value: format!("{:?}", other.basis),
                reason: format!("cannot merge into a win rate on {:?}", self.basis),
            }));
        }
        self.won += other.won;
        self.lost += other.lost;
        self.no_decision += other.no_decision;
        self.stale += other.stale;
        self.open += other.open;
        self.finish();
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
        let no_decision = self.no_decision_stages(&spec.no_decision)?;
        let window = spec.window.as_ref();
        let mut w = WinRate::empty(spec);
        let at = key(spec.as_of);
        for o in 0..self.len() {
            let rs = self.rows_of(o);
            let Some(r) = self.row_at(o, at) else {
                continue;
            };
            let kind = self.kind(r);
            if spec.basis == WinRateBasis::AllCreated {
                if !in_window(window, rs[0].at) {
                    continue;
                }
            } else if kind.is_terminal() && !in_window(window, r.status_since(rs)) {
                continue;
            }
            match kind {
                StageKind::Won => w.won += 1,
                k if k.is_terminal() => {
                    if no_decision[usize::from(r.stage)] {
                        w.no_decision += 1;
                    } else {
                        w.lost += 1;
                    }
                }
                _ => match spec.basis {
                    WinRateBasis::ClosedPlusStale { days } => {
                        let after = TimeDelta::days(i64::from(days));
                        if spec.as_of.signed_duration_since(r.at) >= after {
                            let stale_at = r.at.checked_add_signed(after).unwrap_or(r.at);
                            if in_window(window, stale_at) {
                                w.stale += 1;
                            }
                        } else {
                            w.open += 1;
                        }
                    }
                    _ => w.open += 1,
                },
            }
        }
        w.finish();
        Ok(w)
    }
}
