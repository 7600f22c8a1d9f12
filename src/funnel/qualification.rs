//! Lead qualification: acceptance and qualification rates, and exits by reason.

use crate::error::ErrorKind;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::cohort::StepRate;
use super::data::FunnelData;
use super::definition::StageKind;
use super::path::{NO_EXIT, Paths};
use crate::error::{Error, RecordRef, Result};
use crate::ratio::{Confidence, IntervalMethod, Ratio};

/// Which stages define acceptance and qualification.
#[derive(Debug, Clone, PartialEq)]
pub struct QualificationSpec {
    /// Stage whose leads sales may accept (default `mql`).
    pub handed_over: String,
    /// Stage of accepted leads (default `sal`).
    pub accepted: String,
    /// Stage of qualified leads (default `sql`).
    pub qualified: String,
    /// Interval confidence (default 95 %).
    pub confidence: Confidence,
    /// Interval method (default Wilson).
    pub method: IntervalMethod,
}

impl Default for QualificationSpec {
    fn default() -> Self {
        QualificationSpec {
            handed_over: "mql".into(),
            accepted: "sal".into(),
            qualified: "sql".into(),
            confidence: Confidence::default(),
            method: IntervalMethod::default(),
        }
    }
}

/// Cycles that ended in one exit stage with one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitCount {
    /// The exit stage key (e.g. `disqualified`).
    pub stage: String,
    /// Its kind.
    pub kind: StageKind,
    /// The furthest progression stage the cycle had reached (`None`: none).
    pub furthest: Option<String>,
    /// The reason carried by the exit event (`None`: no reason given).
    pub reason: Option<String>,
    /// Number of cycles.
    pub count: u64,
}

/// Acceptance (handed over → accepted) and qualification (accepted → qualified)
/// rates, and every non-won exit by stage, furthest stage and reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualificationReport {
    /// `handed_over → accepted`, e.g. MQL → SAL.
    pub acceptance: StepRate,
    /// `accepted → qualified`, e.g. SAL → SQL.
    pub qualification: StepRate,
    /// Lost, disqualified and recycled exits, most frequent first (ties by stage,
    /// furthest stage and reason).
    pub exits: Vec<ExitCount>,
}

/// Computes the lead-qualification report over all cycles of the paths.
///
/// # Errors
/// [`ErrorKind::UnknownStage`](crate::error::ErrorKind::UnknownStage) if a stage of the spec is not an open or won stage.
pub fn qualification_report(
    data: &FunnelData<'_>,
    paths: &Paths,
    spec: &QualificationSpec,
) -> Result<QualificationReport> {
    let rank = |k: &str| {
        data.rank_of(k).ok_or_else(|| {
            Error::from(ErrorKind::UnknownStage {
                record: RecordRef::new("qualification spec"),
                key: k.to_string(),
                funnel: data.funnel().name().to_string(),
            })
        })
    };
    let (h, a, q) = (
        rank(&spec.handed_over)?,
        rank(&spec.accepted)?,
        rank(&spec.qualified)?,
    );
    let (mut nh, mut nha, mut na, mut naq) = (0u64, 0u64, 0u64, 0u64);
    let mut exits: HashMap<(u8, Option<u32>, u32), u64> = HashMap::new();
    for c in &paths.cycles {
        let has = |r: usize| c.reached & (1 << r) != 0;
        if has(h) {
            nh += 1;
            nha += u64::from(has(a));
        }
        if has(a) {
            na += 1;
            naq += u64::from(has(q));
        }
        if c.exit_stage != NO_EXIT && data.kind(c.exit_stage) != StageKind::Won {
            let furthest = (c.reached != 0).then(|| 31 - c.reached.leading_zeros());
            *exits
                .entry((c.exit_stage, furthest, c.exit_reason))
                .or_default() += 1;
        }
    }
    let keys = data.progression_keys();
    let rate = |from: usize, to: usize, k, n| {
        let ratio = Ratio::new(k, n);
        StepRate {
            from: keys[from].to_string(),
            to: keys[to].to_string(),
            ratio,
            interval: ratio.interval(spec.method, spec.confidence),
        }
    };
    let mut exits: Vec<ExitCount> = exits
        .into_iter()
        .map(|((stage, furthest, reason), count)| {
            let s = &data.funnel().stages()[usize::from(stage)];
            ExitCount {
                stage: s.key.clone(),
                kind: s.kind,
                furthest: furthest.map(|r| keys[r as usize].to_string()),
                reason: (reason != 0).then(|| paths.reasons[reason as usize - 1].clone()),
                count,
            }
        })
        .collect();
    exits.sort_by(|x, y| {
        y.count
            .cmp(&x.count)
            .then_with(|| x.stage.cmp(&y.stage))
            .then_with(|| x.furthest.cmp(&y.furthest))
            .then_with(|| x.reason.cmp(&y.reason))
    });
    Ok(QualificationReport {
        acceptance: rate(h, a, nha, nh),
        qualification: rate(a, q, naq, na),
        exits,
    })
}

// ---------------------------------------------------------------------------
// Lookups by name (issue 15).
// ---------------------------------------------------------------------------

impl QualificationReport {
    /// Cycles that ended in exit stage `stage` (e.g. `"disqualified"`), over every
    /// furthest stage and reason; 0 for a stage with no exit (or not an exit stage).
    pub fn exited(&self, stage: &str) -> u64 {
        self.exits
            .iter()
            .filter(|e| e.stage == stage)
            .map(|e| e.count)
            .sum()
    }

    /// Cycles that ended in exit stage `stage` with reason `reason` (`None`: no
    /// reason given), over every furthest stage.
    pub fn exited_for(&self, stage: &str, reason: Option<&str>) -> u64 {
        self.exits
            .iter()
            .filter(|e| e.stage == stage && e.reason.as_deref() == reason)
            .map(|e| e.count)
            .sum()
    }
}
