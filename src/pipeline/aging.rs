//! Deal aging: time in the current stage (open deals) and in each open stage
//! visited (closed deals).

use crate::error::ErrorKind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::history::{PipelineHistory, in_window, key, seconds_between};
use crate::distribution::ExactDistribution;
use crate::error::{Error, Result};
use crate::period::Window;

/// Deal aging in one stage: see [`PipelineHistory::aging`] for an example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageAging {
    /// Stage position in the funnel.
    pub stage: usize,
    /// Stage key.
    pub key: String,
    /// Open deals in this stage at `as_of`: seconds since they entered it.
    pub open: ExactDistribution,
    /// Deals closed by `as_of` that were ever in this (open) stage: the total seconds
    /// each spent in it (all visits summed). Empty for terminal stages.
    pub closed: ExactDistribution,
}

/// Deal aging per stage, in funnel order (one entry per stage), computed by
/// [`PipelineHistory::aging`] (see it for an example). A monoid: [`Aging::merge`]
/// appends stage by stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aging {
    /// One entry per funnel stage.
    pub stages: Vec<StageAging>,
}

impl Aging {
    /// Appends another report's durations, stage by stage.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) (`"stages"`) if the stage lists differ.
    pub fn merge(&mut self, other: &Aging) -> Result<()> {
        let same = self.stages.len() == other.stages.len()
            && self
                .stages
                .iter()
                .zip(&other.stages)
                .all(|(a, b)| a.key == b.key);
        if !same {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "stages",
                value: other.stages.len().to_string(),
                reason: "aging reports of different funnels cannot be merged".into(),
            }));
        }
        for (a, b) in self.stages.iter_mut().zip(&other.stages) {
            a.open.merge(&b.open)?;
            a.closed.merge(&b.closed)?;
        }
        Ok(())
    }
}

impl PipelineHistory {
    /// Deal aging per stage as of `as_of`: time in the current stage for open deals,
    /// time spent in each open stage for deals closed by `as_of` (whose closing
    /// instant is in `closed_window`, if given).
    ///
    /// ```
    /// use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId, pipeline::PipelineHistory};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
    /// let ch = |id, d, stage| -> Result<OpportunityChange, revops::Error> {
    ///     Ok(OpportunityChange::new(OpportunityId::new(id)?, t(d), stage, Money::parse("10", Currency::USD)?))
    /// };
    /// let rows = vec![
    ///     ch("A", 1, "prospecting")?, ch("A", 4, "qualification")?, // open, 6 days in qualification on the 10th
    ///     ch("B", 1, "prospecting")?, ch("B", 3, "qualification")?, ch("B", 8, "closed_lost")?,
    /// ];
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
    /// let aging = h.aging(t(10), None);
    /// let q = &aging.stages[1];
    /// assert_eq!(q.key, "qualification");
    /// assert_eq!(q.open.values(), &[6 * 86_400]);
    /// assert_eq!(q.closed.values(), &[5 * 86_400]);
    /// assert_eq!(aging.stages[0].closed.values(), &[2 * 86_400]);
    /// # Ok(()) }
    /// ```
    pub fn aging(&self, as_of: DateTime<Utc>, closed_window: Option<Window>) -> Aging {
        let mut stages: Vec<StageAging> = self
            .funnel()
            .stages()
            .iter()
            .enumerate()
            .map(|(i, s)| StageAging {
                stage: i,
                key: s.key.clone(),
                open: ExactDistribution::default(),
                closed: ExactDistribution::default(),
            })
            .collect();
        let mut spent: Vec<Option<u64>> = vec![None; stages.len()];
        let mut touched: Vec<usize> = Vec::new();
        let at = key(as_of);
        for o in 0..self.len() {
            let rs = self.rows_of(o);
            let Some(k) = self.position_at(o, at) else {
                continue;
            };
            let r = &rs[k];
            if !self.kind(r).is_terminal() {
                stages[usize::from(r.stage)]
                    .open
                    .add(seconds_between(r.stage_since(rs), as_of));
                continue;
            }
            if !in_window(closed_window.as_ref(), r.status_since(rs)) {
                continue;
            }
            for i in 0..k {
                let s = usize::from(rs[i].stage);
                if self.kinds[s].is_terminal() {
                    continue;
                }
                let d = seconds_between(rs[i].at, rs[i + 1].at);
                match &mut spent[s] {
                    Some(total) => *total += d,
                    slot @ None => {
                        *slot = Some(d);
                        touched.push(s);
                    }
                }
            }
            for &s in &touched {
                if let Some(total) = spent[s].take() {
                    stages[s].closed.add(total);
                }
            }
            touched.clear();
        }
        Aging { stages }
    }
}

impl Aging {
    /// The aging of the stage keyed `key`, if the funnel has it.
    pub fn stage(&self, key: &str) -> Option<&StageAging> {
        self.stages.iter().find(|s| s.key == key)
    }
}
