//! The lead side of a projection: which leads are still open pipeline today, and how
//! each funnel stage before the opportunity has converted to won and how long it took.

use chrono::{DateTime, TimeDelta, Utc};

use super::projection::{OpenItem, StageOutlook};
use crate::Money;
use crate::distribution::ExactDistribution;
use crate::error::{Error, ErrorKind, Result};
use crate::funnel::{CohortReport, FunnelData, Paths};

/// Open leads (as [`OpenItem`]s worth `deal_size` each) and the outlook of each lead
/// stage before the opportunity (as [`StageOutlook`]s), ready for
/// [`chances`](super::chances) and [`project_chances`](super::project_chances) beside
/// the open deals of [`deal_chances`](super::deal_chances).
///
/// - A lead is **open** when its current cycle has not exited, has reached a stage
///   before the opportunity stage (or won, when the funnel has no `opportunity`), and
///   entered its furthest stage within `stale_after` of `today` (older leads are stale,
///   not pipeline). Its id is `"<lead id>#<cycle number>"` (the first cycle is 0) and its stage
///   `"lead:<stage key>"`.
/// - A stage's **win rate** is the cohort report's stage-to-won rate (0 when the cohort
///   has none); its **time to close** is the time from entering the stage (when not
///   inferred) to won, over every cycle that won.
///
/// ```
/// use revops::chrono::{TimeDelta, TimeZone, Utc};
/// use revops::funnel::{CohortSpec, FunnelData, FunnelEvents, PathOptions, cohort_report};
/// use revops::{Currency, Funnel, Lead, LeadId, Money, StageEvent, id};
/// # fn main() -> Result<(), revops::Error> {
/// let day = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
/// let (a, b): (LeadId, LeadId) = (id!("A"), id!("B"));
/// let leads = [Lead::new(a.clone(), day(1)), Lead::new(b.clone(), day(1))];
/// let events = [
///     StageEvent::new(&a, "mql", day(2)),
///     StageEvent::new(&a, "won", day(12)),
///     StageEvent::new(&b, "mql", day(20)),
/// ];
/// let data = FunnelData::new(Funnel::demand_waterfall(), &leads)?;
/// let mut acc = FunnelEvents::new();
/// acc.add_batch(&data, &events)?;
/// let paths = acc.paths(&data, PathOptions::default());
/// let cohorts = cohort_report(&data, &paths, &CohortSpec::default())?;
/// let deal = Money::parse("1000", Currency::USD)?;
/// let (open, outlook) =
///     revops::plan::lead_outlook(&data, &paths, &cohorts, day(25), deal, TimeDelta::days(90))?;
/// assert_eq!(open.len(), 1);
/// assert_eq!((open[0].id.as_str(), open[0].stage.as_str()), ("B#0", "lead:mql"));
/// let mql = outlook.iter().find(|o| o.stage == "lead:mql").unwrap();
/// assert_eq!(mql.win_rate, 0.5);
/// assert_eq!(mql.time_to_close.count(), 1); // A: ten days
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`ErrorKind::InvalidFunnel`] when the funnel has no stage keyed `won`.
pub fn lead_outlook(
    data: &FunnelData<'_>,
    paths: &Paths,
    cohorts: &CohortReport,
    today: DateTime<Utc>,
    deal_size: Money,
    stale_after: TimeDelta,
) -> Result<(Vec<OpenItem>, Vec<StageOutlook>)> {
    let keys = data.progression_keys();
    let won = data.rank_of("won").ok_or_else(|| {
        Error::from(ErrorKind::InvalidFunnel {
            funnel: data.funnel().name().to_string(),
            reason: "no stage keyed `won`: the lead outlook counts cycles that won".into(),
        })
    })?;
    let opp = data.rank_of("opportunity").unwrap_or(won);
    let mut to_won: Vec<ExactDistribution> = (0..opp).map(|_| ExactDistribution::new()).collect();
    let mut open = Vec::new();
    for cy in paths.iter() {
        if let Some(tw) = cy.entered(won) {
            for (r, dist) in to_won.iter_mut().enumerate() {
                if let (Some(t), false) = (cy.entered(r), cy.inferred(r)) {
                    dist.add(u64::try_from((tw - t).num_seconds()).unwrap_or(0));
                }
            }
        } else if cy.exit().is_none() && cy.reached_mask() != 0 {
            let furthest = (31 - cy.reached_mask().leading_zeros()) as usize;
            let recent = cy
                .entered(furthest)
                .is_some_and(|t| t >= today - stale_after);
            if furthest < opp && recent {
                open.push(OpenItem {
                    id: format!(
                        "{}#{}",
                        data.lead_id(cy.lead_index()).unwrap_or_default(),
                        cy.number()
                    ),
                    stage: format!("lead:{}", keys[furthest]),
                    amount: deal_size,
                });
            }
        }
    }
    let outlook = to_won
        .into_iter()
        .enumerate()
        .map(|(r, dist)| StageOutlook {
            stage: format!("lead:{}", keys[r]),
            win_rate: cohorts
                .total
                .all
                .to_won
                .iter()
                .find(|s| s.from == keys[r])
                .and_then(|s| s.ratio.value())
                .unwrap_or(0.0),
            time_to_close: dist,
        })
        .collect();
    Ok((open, outlook))
}
