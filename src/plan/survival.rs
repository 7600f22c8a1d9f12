//! Time to close conditional on a deal's stage and age: a multi-state survival model
//! (the model and its assumptions are documented on [`StageChain`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, RecordRef, Result};
use crate::hash::FastMap;
use crate::ids::OpportunityId;
use crate::pipeline::{Key, PipelineHistory, key, key_delta, whole_seconds};
use crate::records::{Lead, OpportunityChange};

const DAY: i64 = 86_400;

/// Default of [`SurvivalOptions::min_at_risk`]: a segment's own estimate of a stage's
/// transitions on a day is used when at least 10 of its deals are at risk there.
pub const DEFAULT_MIN_AT_RISK: u32 = 10;

/// Default of [`SurvivalOptions::max_cells`]: at most 20 million risk-set cells
/// (`(segments + 1) × days × states`, 4 bytes each: 80 MB).
pub const DEFAULT_MAX_SURVIVAL_CELLS: u64 = 20_000_000;

/// Default of [`SurvivalOptions::band_origins`]: the band is calibrated on 3 past
/// origins.
pub const DEFAULT_BAND_ORIGINS: u32 = 3;

/// Options of [`StageChain::fit`] and of the projections built on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurvivalOptions {
    /// Fewest deals of a segment at risk in a stage on a day for the segment's own
    /// estimate to be used there; below it, the pooled estimate is. `0` or `1` always
    /// uses the segment where it has any deal at risk.
    pub min_at_risk: u32,
    /// Largest risk-set table allowed, in cells; more is a
    /// [`ErrorKind::LimitExceeded`] error.
    pub max_cells: u64,
    /// Past origins the band's width is calibrated on by
    /// [`band_dispersion`](super::band_dispersion) (used by
    /// [`project_open_deals`](super::project_open_deals) and the backtests); `0` keeps
    /// the plain Bernoulli band. Each costs one more fit.
    pub band_origins: u32,
}

impl Default for SurvivalOptions {
    fn default() -> Self {
        SurvivalOptions {
            min_at_risk: DEFAULT_MIN_AT_RISK,
            max_cells: DEFAULT_MAX_SURVIVAL_CELLS,
            band_origins: DEFAULT_BAND_ORIGINS,
        }
    }
}

impl SurvivalOptions {
    /// Sets [`SurvivalOptions::min_at_risk`].
    #[must_use]
    pub fn with_min_at_risk(mut self, min_at_risk: u32) -> SurvivalOptions {
        self.min_at_risk = min_at_risk;
        self
    }

    /// Sets [`SurvivalOptions::band_origins`].
    #[must_use]
    pub fn with_band_origins(mut self, band_origins: u32) -> SurvivalOptions {
        self.band_origins = band_origins;
        self
    }

    /// Sets [`SurvivalOptions::max_cells`].
    #[must_use]
    pub fn with_max_cells(mut self, max_cells: u64) -> SurvivalOptions {
        self.max_cells = max_cells;
        self
    }
}

/// A segment label for each deal of a [`PipelineHistory`] (by its dense index), for
/// [`StageChain::fit`]. Deals without a label are pooled only.
///
/// ```
/// use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId, pipeline::PipelineHistory};
/// use revops::plan::DealSegments;
/// use chrono::{TimeZone, Utc};
/// # fn main() -> Result<(), revops::Error> {
/// let t = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
/// let ten = Money::parse("10", Currency::USD)?;
/// let rows = vec![
///     OpportunityChange::new(OpportunityId::new("A")?, t, "prospecting", ten),
///     OpportunityChange::new(OpportunityId::new("B")?, t, "prospecting", ten),
/// ];
/// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
/// let s = DealSegments::new(&h, |id| (id.as_str() == "A").then(|| "smb".to_string()));
/// assert_eq!(s.names(), ["smb"]);
/// assert_eq!((s.segment_of(0), s.segment_of(1)), (Some("smb"), None));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealSegments {
    names: Vec<String>,
    of: Vec<Option<u32>>,
}

impl DealSegments {
    /// Labels every deal of `history` with `segment(id)` (names in order of first
    /// appearance).
    pub fn new(
        history: &PipelineHistory,
        mut segment: impl FnMut(&OpportunityId) -> Option<String>,
    ) -> DealSegments {
        let mut names: Vec<String> = Vec::new();
        let mut index: FastMap<String, u32> = FastMap::default();
        let of = history
            .ids()
            .iter()
            .map(|id| {
                let name = segment(id)?;
                Some(match index.get(&name) {
                    Some(&k) => k,
                    None => {
                        // At most one name per deal: fewer than u32::MAX (the history's
                        // row limit).
                        let k = names.len() as u32;
                        index.insert(name.clone(), k);
                        names.push(name);
                        k
                    }
                })
            })
            .collect();
        DealSegments { names, of }
    }

    /// The segment of each deal from the lead it was converted from: the `segment` of
    /// the [`Lead`] named by the deal's history rows (`lead`, the first row that has
    /// one). Deals without a lead, or whose lead is unknown or has no segment, get
    /// none.
    pub fn from_leads(
        history: &PipelineHistory,
        changes: &[OpportunityChange],
        leads: &[Lead],
    ) -> DealSegments {
        // Only the leads the history names are looked up (the leads are often many
        // more than the deals); the last lead of an id with a segment counts.
        let mut by_lead: FastMap<&str, Option<&str>> = changes
            .iter()
            .filter_map(|c| Some((c.lead.as_ref()?.as_str(), None)))
            .collect();
        for l in leads {
            if let (Some(seg), Some(slot)) = (l.segment.as_deref(), by_lead.get_mut(l.id.as_str()))
            {
                *slot = Some(seg);
            }
        }
        DealSegments::from_lead_segments(history, changes, |id| by_lead.get(id).copied().flatten())
    }

    /// As [`from_leads`](DealSegments::from_leads), given each lead's segment by lead
    /// id (`None` for an unknown lead or one without a segment): for leads held as
    /// columns.
    pub(crate) fn from_lead_segments<'s>(
        history: &PipelineHistory,
        changes: &[OpportunityChange],
        segment: impl Fn(&str) -> Option<&'s str>,
    ) -> DealSegments {
        let mut by_deal: FastMap<&str, &str> = FastMap::default();
        for c in changes {
            if let Some(seg) = c.lead.as_ref().and_then(|l| segment(l.as_str())) {
                by_deal.entry(c.opportunity.as_str()).or_insert(seg);
            }
        }
        DealSegments::new(history, |id| {
            by_deal.get(id.as_str()).map(|s| (*s).to_string())
        })
    }

    /// The segment names, in order of first appearance.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The segment of deal `index`, if it has one.
    pub fn segment_of(&self, index: usize) -> Option<&str> {
        let k = (*self.of.get(index)?)?;
        self.names.get(k as usize).map(String::as_str)
    }

    /// The segment index of deal `index`, if it has one.
    pub(super) fn group_of(&self, index: usize) -> Option<usize> {
        self.of.get(index).copied().flatten().map(|k| k as usize)
    }
}

/// One aggregated transition count: on `day`, `count` deals of a group moved from open
/// state `from` to state `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Move {
    group: u32,
    day: u32,
    from: u32,
    to: u32,
    count: u32,
}

/// Time to close conditional on a deal's stage, age and segment: a multi-state survival
/// model of the open pipeline fitted on deal age with censoring (its risk sets and
/// transition counts per group, pooled then one per segment, day of age and state).
///
///
/// # The model
/// Each deal is a walk through states on the **deal-age clock** (whole days since the
/// deal's creation, its first history row): its open stage, or one of two absorbing
/// outcomes, *won* (any won stage) and *lost* (any other terminal stage: lost,
/// disqualified, recycled). Let `X(d)` be the deal's state at age `d` days (the stage
/// of its row in effect at `created + d` days). The model is a discrete-time,
/// non-homogeneous Markov chain: the chance of moving from open stage `j` to state `k`
/// during day `d` (from age `d` to `d + 1`) depends only on `j`, `k`, `d` and the
/// deal's segment:
///
/// ```text
/// p_jk(d) = n_jk(d) / Y_j(d)        (k ≠ j),        p_jj(d) = 1 − Σ_k≠j p_jk(d)
/// ```
///
/// with `Y_j(d)` the deals **at risk**: in stage `j` at age `d` and observed up to age
/// `d + 1` (created at least `d + 1` days before the fitting instant), and `n_jk(d)`
/// those of them in state `k` at age `d + 1`. This is the empirical transition matrix
/// of the Aalen–Johansen estimator on a one-day grid.
///
/// - **Censoring.** A deal still open at the fitting instant `as_of` is at risk on every
///   day it was fully observed and then leaves the risk sets: it is censored, not
///   dropped, and never counted as lost. Nothing after `as_of` is read (no look-ahead).
/// - **Competing outcomes.** Won and lost are separate absorbing states, so the chance
///   of a win is a cumulative incidence (a deal that is lost can no longer be won),
///   never `1 − survival`.
/// - **Conditioning on age (left truncation).** A deal in stage `s` at age `a` is
///   projected from the cell `(s, ⌊a⌋)` only: its chance of a win within `h` days is
///   the won component of `e_s · P(⌊a⌋) · P(⌊a⌋ + 1) ⋯ P(⌊a⌋ + h − 1)`. Only deals that
///   were still open at that age inform it, so an old deal is not projected as if new.
///   For a single open stage this is exactly `(CIF_won(a + h) − CIF_won(a)) / S(a)`.
/// - **Segments.** With [`DealSegments`], each segment has its own transition counts.
///   The rule for thin cells: the segment's estimate of `p_j·(d)` is used when at least
///   [`SurvivalOptions::min_at_risk`] (default [`DEFAULT_MIN_AT_RISK`]) of the
///   segment's deals are at risk in stage `j` on day `d`; otherwise the pooled estimate
///   of all deals is used. A cell with no deal at risk at all keeps the deal where it is
///   for that day (no data, no movement): past the oldest age seen, no win is projected.
///
/// # Assumptions
/// The future of a deal depends on its stage, age and segment only (Markov on age; the
/// time already spent in the stage is not used), and deals are exchangeable within a
/// segment and independent of each other (the band of [`super::project_chances`] is
/// a Bernoulli sum). Transitions are stationary in calendar time: deals of every
/// creation date are pooled. A deal that reopens after closing is treated as closed at
/// its first close (absorbing outcomes). Within a day, only the state at the day's
/// boundaries counts (several stage changes on one day are one transition).
///
/// # Cost
/// Fitting is linear in the rows (each deal's runs of days in one state are added at
/// once) plus one pass over the risk-set table, which has `(segments + 1) × days ×
/// states` cells, checked against [`SurvivalOptions::max_cells`] (default
/// [`DEFAULT_MAX_SURVIVAL_CELLS`]) before anything is allocated. A projection walks at
/// most `horizon` days per open deal ([`super::deal_chances`]: once per stage, segment
/// and day of age), each day's transitions looked up once per projection (a table of
/// at most `(segments + 1) × days` ranges, smaller than the risk sets).
#[derive(Debug, Clone, PartialEq)]
pub struct StageChain {
    /// Chain states: the funnel's stages, then won, then lost.
    states: usize,
    /// Per funnel stage: its chain state (open stages keep their position).
    state_of_stage: Vec<u32>,
    days: usize,
    groups: usize,
    /// `at_risk[(group × days + day) × states + state]`.
    at_risk: Vec<u32>,
    /// Transition counts sorted by (group, day, from, to).
    moves: Vec<Move>,
    /// `moves[offsets[group × days + day]..offsets[group × days + day + 1]]`.
    offsets: Vec<usize>,
    segments: Option<DealSegments>,
    min_at_risk: u32,
    as_of: DateTime<Utc>,
}

impl StageChain {
    /// Fits the chain on the deals of `history` created at or before `as_of`, reading
    /// nothing after `as_of`; `segments` (optional) gives each deal's segment.
    ///
    /// ```
    /// use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId, pipeline::PipelineHistory};
    /// use revops::plan::{StageChain, SurvivalOptions};
    /// use chrono::{TimeDelta, TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d: i64| Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + TimeDelta::days(d);
    /// let ten = Money::parse("10", Currency::USD)?;
    /// let mut rows = Vec::new();
    /// // Four deals in prospecting: two won on day 10, one lost on day 20, one still open.
    /// for (i, end) in [(0, Some("closed_won")), (1, Some("closed_won")), (2, Some("closed_lost")), (3, None)] {
    ///     let id = OpportunityId::new(format!("O{i}"))?;
    ///     rows.push(OpportunityChange::new(id.clone(), t(0), "prospecting", ten));
    ///     if let Some(stage) = end {
    ///         rows.push(OpportunityChange::new(id, t(if i < 2 { 10 } else { 20 }), stage, ten));
    ///     }
    /// }
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
    /// let chain = StageChain::fit(&h, t(30), None, SurvivalOptions::default())?;
    /// // From age 0: half are won by day 10 (the open deal is censored, not lost).
    /// assert_eq!(chain.win_within(0, None, 0, &[9, 10, 30])?, [0.0, 0.5, 0.5]);
    /// // From age 15 (only the lost and the open deal were still open): no win.
    /// assert_eq!(chain.win_within(0, None, 15 * 86_400, &[10])?, [0.0]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::LimitExceeded`] when the risk-set table would exceed
    /// [`SurvivalOptions::max_cells`]; [`ErrorKind::InvalidParameter`] (`"segments"`)
    /// when `segments` was built for a history with another number of deals.
    pub fn fit(
        history: &PipelineHistory,
        as_of: DateTime<Utc>,
        segments: Option<&DealSegments>,
        options: SurvivalOptions,
    ) -> Result<StageChain> {
        if let Some(s) = segments
            && s.of.len() != history.len()
        {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "segments",
                value: s.of.len().to_string(),
                reason: format!(
                    "labels {} deals, the history has {}",
                    s.of.len(),
                    history.len()
                ),
            }));
        }
        let n = history.funnel().stages().len();
        let states = n + 2;
        let (won, lost) = (n as u32, n as u32 + 1);
        let state_of_stage: Vec<u32> = history
            .kinds
            .iter()
            .enumerate()
            .map(|(i, k)| match k {
                crate::funnel::StageKind::Open => i as u32,
                crate::funnel::StageKind::Won => won,
                _ => lost,
            })
            .collect();
        let groups = 1 + segments.map_or(0, |s| s.names.len());
        // Days observed: the oldest deal's fully observed days.
        let at = (as_of, key(as_of));
        let days = (0..history.len())
            .filter_map(|o| Some((history.created_at(o)?, *history.keys_of(o).first()?)))
            .map(|c| observed_days(c, at))
            .max()
            .unwrap_or(0);
        let cells = (groups as u64)
            .saturating_mul(days as u64)
            .saturating_mul(states as u64);
        if cells > options.max_cells {
            return Err(Error::from(ErrorKind::LimitExceeded {
                limit: "SurvivalOptions::max_cells",
                what: "survival risk-set cells (groups × days × states)",
                value: cells,
                max: options.max_cells,
                reason: "fit on a shorter history (or fewer segments), or raise the limit".into(),
            }));
        }
        let shape = Shape {
            states,
            days,
            cells: cells as usize,
        };
        let (at_risk, moves) = tally(history, as_of, segments, &state_of_stage, shape);
        let (moves, offsets) = aggregate_by_cell(&moves, groups * days, days, states);
        Ok(StageChain {
            states,
            state_of_stage,
            days,
            groups,
            at_risk,
            moves,
            offsets,
            segments: segments.cloned(),
            min_at_risk: options.min_at_risk,
            as_of,
        })
    }

    /// The instant the chain was fitted at.
    pub fn as_of(&self) -> DateTime<Utc> {
        self.as_of
    }

    /// Days of age with data (the oldest deal's fully observed days).
    pub fn days(&self) -> usize {
        self.days
    }

    /// The segments the chain was fitted with, if any.
    pub fn segments(&self) -> Option<&DealSegments> {
        self.segments.as_ref()
    }

    /// Deals of `segment` (`None`: all deals) at risk in funnel stage `stage` on day
    /// `day` of their age (0 for a stage or day out of range).
    pub fn at_risk(&self, stage: usize, segment: Option<usize>, day: usize) -> u32 {
        let g = segment.map_or(0, |s| s + 1);
        match self.state_of_stage.get(stage) {
            Some(&s) if g < self.groups && day < self.days => {
                self.at_risk[(g * self.days + day) * self.states + s as usize]
            }
            _ => 0,
        }
    }

    /// The chance that a deal open in funnel stage `stage` at age `age_seconds`, of
    /// segment `segment` (an index into [`DealSegments::names`]; `None` for the pooled
    /// chain), is won within each horizon (days; cumulative, any order): the won
    /// component of the chain started at `(stage, ⌊age⌋)`. Each value is in `[0, 1]`
    /// and never smaller for a longer horizon.
    ///
    /// # Errors
    /// [`ErrorKind::UnknownStage`] for a stage the funnel does not have;
    /// [`ErrorKind::InvalidParameter`] (`"stage"`) for a closed stage, (`"segment"`)
    /// for a segment the chain does not have.
    pub fn win_within(
        &self,
        stage: usize,
        segment: Option<usize>,
        age_seconds: u64,
        horizons: &[u32],
    ) -> Result<Vec<f64>> {
        Walker::new(self).win_within(stage, segment, age_seconds, horizons)
    }

    /// The chain group of `segment` (`None`: pooled), checked.
    fn group_of(&self, segment: Option<usize>) -> Result<Option<usize>> {
        match segment {
            None => Ok(None),
            Some(s) if s + 1 < self.groups => Ok(Some(s + 1)),
            Some(s) => Err(Error::from(ErrorKind::InvalidParameter {
                name: "segment",
                value: s.to_string(),
                reason: format!("the chain has {} segments", self.groups - 1),
            })),
        }
    }

    /// Checks that funnel stage `stage` is an open stage of the chain.
    fn check_open(&self, stage: usize) -> Result<()> {
        let Some(&state) = self.state_of_stage.get(stage) else {
            return Err(Error::from(ErrorKind::UnknownStage {
                record: RecordRef::new("stage").with_index(stage),
                key: stage.to_string(),
                funnel: "stage chain".into(),
            }));
        };
        if state as usize != stage {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "stage",
                value: stage.to_string(),
                reason: "a closed stage has nothing left to project".into(),
            }));
        }
        Ok(())
    }

    /// The transitions of day `day` for a deal of `group` (`None`: pooled), in the
    /// order a step applies them (by `from`, then `to`): each open state's row from
    /// the segment when it has enough deals at risk there, else pooled; a state with
    /// no deal at risk has none (nothing moves).
    fn day_transitions(&self, group: Option<usize>, day: usize, out: &mut Vec<Transition>) {
        let won = self.states - 2;
        for j in 0..won {
            let cell = |g: usize| self.at_risk[(g * self.days + day) * self.states + j];
            let g = match group {
                Some(g) if cell(g) >= self.min_at_risk.max(1) => g,
                _ => 0,
            };
            let y = cell(g);
            if y == 0 {
                continue;
            }
            let c = g * self.days + day;
            // The cell's moves are sorted by `from`: those out of `j`, in order.
            let cell_moves = &self.moves[self.offsets[c]..self.offsets[c + 1]];
            let out_of_j = cell_moves.partition_point(|m| (m.from as usize) < j);
            out.extend(
                cell_moves[out_of_j..]
                    .iter()
                    .take_while(|m| m.from as usize == j)
                    .map(|m| Transition {
                        from: m.from,
                        to: m.to,
                        count: m.count,
                        at_risk: y,
                    }),
            );
        }
    }
}

/// One transition of a day of the chain, resolved for one group: `count` of the
/// `at_risk` deals in state `from` moved to `to`.
#[derive(Debug, Clone, Copy)]
struct Transition {
    from: u32,
    to: u32,
    count: u32,
    at_risk: u32,
}

/// Walks a [`StageChain`] from many starting cells: each (group, day) of the chain
/// is resolved into its [`Transition`]s once, the first time a walk reaches it, and
/// reused by every later walk (the walks of one projection share most of their
/// days). Every walk does the same floating-point operations, in the same order, as
/// a walk that resolves each day as it goes.
pub(super) struct Walker<'c> {
    chain: &'c StageChain,
    /// Per `group × days + day`: its range of `transitions`, once resolved.
    resolved: Vec<Option<(usize, usize)>>,
    transitions: Vec<Transition>,
    v: Vec<f64>,
    next: Vec<f64>,
}

impl<'c> Walker<'c> {
    /// A walker of `chain` with nothing resolved yet.
    pub(super) fn new(chain: &'c StageChain) -> Walker<'c> {
        Walker {
            chain,
            resolved: Vec::new(),
            transitions: Vec::new(),
            v: vec![0.0; chain.states],
            next: vec![0.0; chain.states],
        }
    }

    /// [`StageChain::win_within`].
    pub(super) fn win_within(
        &mut self,
        stage: usize,
        segment: Option<usize>,
        age_seconds: u64,
        horizons: &[u32],
    ) -> Result<Vec<f64>> {
        let chain = self.chain;
        chain.check_open(stage)?;
        let group = chain.group_of(segment)?;
        let start = usize::try_from(age_seconds / DAY as u64).unwrap_or(usize::MAX);
        let longest = horizons.iter().copied().max().unwrap_or(0) as usize;
        let won = chain.states - 2;
        // won[k]: the chance of a win within k days.
        let mut by_day = Vec::with_capacity(longest + 1);
        self.v.fill(0.0);
        self.v[stage] = 1.0;
        by_day.push(0.0);
        for k in 0..longest {
            let day = start.saturating_add(k);
            if day >= chain.days {
                // No data from here on: nothing moves.
                by_day.resize(longest + 1, self.v[won]);
                break;
            }
            self.step(group, day);
            std::mem::swap(&mut self.v, &mut self.next);
            by_day.push(self.v[won].clamp(0.0, 1.0));
        }
        Ok(horizons.iter().map(|&h| by_day[h as usize]).collect())
    }

    /// One day of the chain: `next = v · P(day)`.
    fn step(&mut self, group: Option<usize>, day: usize) {
        let chain = self.chain;
        let c = group.unwrap_or(0) * chain.days + day;
        if self.resolved.is_empty() {
            self.resolved = vec![None; chain.groups * chain.days];
        }
        let (a, b) = match self.resolved[c] {
            Some(range) => range,
            None => {
                let a = self.transitions.len();
                chain.day_transitions(group, day, &mut self.transitions);
                let range = (a, self.transitions.len());
                self.resolved[c] = Some(range);
                range
            }
        };
        let (v, next) = (&self.v, &mut self.next);
        next.copy_from_slice(v);
        for t in &self.transitions[a..b] {
            let mass = v[t.from as usize];
            if mass == 0.0 {
                continue;
            }
            let moved = mass * f64::from(t.count) / f64::from(t.at_risk);
            next[t.from as usize] -= moved;
            next[t.to as usize] += moved;
        }
        // Rounding must not leave a negative mass.
        for x in next.iter_mut() {
            if *x < 0.0 {
                *x = 0.0;
            }
        }
    }
}

/// The shape of a fit's risk-set table.
#[derive(Debug, Clone, Copy)]
struct Shape {
    states: usize,
    days: usize,
    /// `groups × days × states` (checked against the limit).
    cells: usize,
}

/// The risk sets (`at_risk[(group × days + day) × states + state]`) and the
/// transitions (one [`Move`] of count 1 each, unsorted) of every deal of `history` at
/// `as_of`, by one sweep over each deal's rows: the deal's state only changes at the
/// day boundaries where one of its rows takes effect, so each run of days in one state
/// is added to the risk sets at once (a difference along the day axis, summed at the
/// end) and each change is one move. Equal, cell for cell, to walking every deal day
/// by day (the reference walk of the tests).
fn tally(
    history: &PipelineHistory,
    as_of: DateTime<Utc>,
    segments: Option<&DealSegments>,
    state_of_stage: &[u32],
    shape: Shape,
) -> (Vec<u32>, Vec<Move>) {
    let won = (shape.states - 2) as u32;
    // Differences along the day axis until `prefix_sum_days`; wrapping arithmetic is
    // exact because every final count fits in a `u32` (at most one per deal).
    let mut at_risk = vec![0u32; shape.cells];
    let mut moves = Vec::new();
    let as_of = (as_of, key(as_of));
    for o in 0..history.len() {
        let (rs, keys) = (history.rows_of(o), history.keys_of(o));
        let (Some(first), Some(&first_key)) = (rs.first(), keys.first()) else {
            continue;
        };
        let first = (first.at, first_key);
        let observed = observed_days(first, as_of);
        let segment = segments.and_then(|s| s.group_of(o)).map(|g| g + 1);
        let groups = || std::iter::once(0).chain(segment);
        // The first day boundary (`first.at + k` days) at or after each row: the row
        // is in effect at boundary `k` from then on.
        let boundary = |i: usize| boundary_of(first, (rs[i].at, keys[i]));
        // The rows in effect at boundary `k` are the longest prefix whose rows all
        // have `boundary ≤ k`: `cursor` is that prefix's length.
        let mut cursor = 0;
        while cursor < rs.len() && boundary(cursor) == 0 {
            cursor += 1;
        }
        let stage_of = |cursor: usize| state_of_stage[usize::from(rs[cursor - 1].stage)];
        let (mut state, mut since) = (stage_of(cursor), 0usize);
        while state < won {
            // The next boundary where the state may change, if observed.
            let Some(k) = (cursor < rs.len())
                .then(|| boundary(cursor))
                .filter(|&k| k <= observed as u64)
                .map(|k| k as usize)
            else {
                groups().for_each(|g| add_run(&mut at_risk, shape, g, state, since, observed));
                break;
            };
            while cursor < rs.len() && boundary(cursor) <= k as u64 {
                cursor += 1;
            }
            let next = stage_of(cursor);
            if next != state {
                for g in groups() {
                    add_run(&mut at_risk, shape, g, state, since, k);
                    moves.push(Move {
                        group: g as u32,
                        day: (k - 1) as u32,
                        from: state,
                        to: next,
                        count: 1,
                    });
                }
                (state, since) = (next, k);
            }
        }
    }
    prefix_sum_days(&mut at_risk, shape);
    (at_risk, moves)
}

/// The first whole day `k ≥ 0` with `at ≤ first + k days`; each instant with its
/// [`key`] (the difference is taken on the keys, by chrono in a leap second).
fn boundary_of(first: (DateTime<Utc>, Key), at: (DateTime<Utc>, Key)) -> u64 {
    let (secs, nanos) = key_delta(first.1, at.1).unwrap_or_else(|| {
        let delta = at.0.signed_duration_since(first.0);
        (delta.num_seconds(), i64::from(delta.subsec_nanos()))
    });
    if secs < 0 || (secs == 0 && nanos <= 0) {
        return 0;
    }
    // `delta > 0`: both parts are non-negative.
    let (whole, rest) = (secs / DAY, secs % DAY);
    whole as u64 + u64::from(rest > 0 || nanos > 0)
}

/// Adds one deal at risk in `state` to group `group` on days `from..to`, as
/// differences along the day axis.
fn add_run(at_risk: &mut [u32], shape: Shape, group: usize, state: u32, from: usize, to: usize) {
    if from >= to {
        return;
    }
    let cell = |day: usize| (group * shape.days + day) * shape.states + state as usize;
    at_risk[cell(from)] = at_risk[cell(from)].wrapping_add(1);
    if to < shape.days {
        at_risk[cell(to)] = at_risk[cell(to)].wrapping_sub(1);
    }
}

/// Turns differences along the day axis into counts (per group and state).
fn prefix_sum_days(at_risk: &mut [u32], shape: Shape) {
    let row = shape.states;
    if row == 0 || shape.days == 0 {
        return;
    }
    for group in at_risk.chunks_exact_mut(shape.days * row) {
        for day in 1..shape.days {
            let (before, now) = group.split_at_mut(day * row);
            let before = &before[(day - 1) * row..];
            for (x, &b) in now[..row].iter_mut().zip(before) {
                *x = x.wrapping_add(b);
            }
        }
    }
}

/// The moves sorted by (group, day, from, to), equal ones merged into one count, and
/// the start of each of the `cells` (group, day) cells among them (`cells + 1`
/// offsets): a counting sort by cell, then each cell's moves sorted when they are
/// few, counted per (from, to) in a `states × states` table when they are many.
fn aggregate_by_cell(
    moves: &[Move],
    cells: usize,
    days: usize,
    states: usize,
) -> (Vec<Move>, Vec<usize>) {
    let cell = |m: &Move| m.group as usize * days + m.day as usize;
    let start: Vec<usize> = crate::group::offsets(cells, moves.iter().map(cell));
    let mut by_cell = moves.to_vec();
    let mut cursor = start.clone();
    crate::group::place(&mut cursor, moves.iter().map(cell), |at, i| {
        by_cell[at] = moves[i];
    });
    let mut merged: Vec<Move> = Vec::with_capacity(moves.len());
    let mut offsets = Vec::with_capacity(cells + 1);
    offsets.push(0);
    // Per (from, to) of one cell; all zero between cells.
    let mut table = vec![0u32; states * states];
    for c in 0..cells {
        let part = &mut by_cell[start[c]..start[c + 1]];
        if part.len() > states {
            for m in part.iter() {
                table[m.from as usize * states + m.to as usize] += m.count;
            }
            let (group, day) = ((c / days) as u32, (c % days) as u32);
            for (i, n) in table.iter_mut().enumerate() {
                if *n > 0 {
                    let (from, to) = ((i / states) as u32, (i % states) as u32);
                    let count = std::mem::take(n);
                    merged.push(Move {
                        group,
                        day,
                        from,
                        to,
                        count,
                    });
                }
            }
        } else {
            part.sort_unstable();
            let first = merged.len();
            for m in part.iter() {
                match merged[first..].last_mut() {
                    Some(last) if (last.from, last.to) == (m.from, m.to) => {
                        last.count += m.count;
                    }
                    _ => merged.push(*m),
                }
            }
        }
        offsets.push(merged.len());
    }
    (merged, offsets)
}

/// Whole days from `created` to `as_of` (0 when `as_of` is earlier); each instant
/// with its [`key`] (the difference is taken on the keys, by chrono in a leap second).
fn observed_days(created: (DateTime<Utc>, Key), as_of: (DateTime<Utc>, Key)) -> usize {
    usize::try_from(whole_seconds(created, as_of) / DAY).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::funnel::Funnel;
    use crate::money::{Currency, Money};
    use chrono::{TimeDelta, TimeZone};
    use proptest::prelude::*;

    fn t(days: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + TimeDelta::days(days)
    }

    fn row(id: &str, day: i64, stage: &str) -> OpportunityChange {
        OpportunityChange::new(
            OpportunityId::new(id).unwrap(),
            t(day),
            stage,
            Money::new(rust_decimal::Decimal::ONE, Currency::USD),
        )
    }

    fn history(rows: &[OpportunityChange]) -> PipelineHistory {
        PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, rows).unwrap()
    }

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
    }

    /// One stage, five deals: B lost on day 1, A won on day 2, D won on day 3, C and E
    /// still open at day 3 (censored). By hand: day 0 has 5 at risk (1 lost), day 1
    /// has 4 (1 won), day 2 has 3 (1 won): CIF_won = 0, 0.2, 0.4 at 1, 2, 3 days, and
    /// from age 1: (0.4 − 0) / 0.8 = 0.5. Dropping the open deals would give 2/3.
    #[test]
    fn censored_deals_stay_at_risk_until_the_origin() {
        let mut rows: Vec<_> = ["A", "B", "C", "D", "E"]
            .iter()
            .map(|id| row(id, 0, "prospecting"))
            .collect();
        rows.push(row("B", 1, "closed_lost"));
        rows.push(row("A", 2, "closed_won"));
        rows.push(row("D", 3, "closed_won"));
        let h = history(&rows);
        let chain = StageChain::fit(&h, t(3), None, SurvivalOptions::default()).unwrap();
        assert_eq!(chain.days(), 3);
        assert_eq!(
            (0..3)
                .map(|d| chain.at_risk(0, None, d))
                .collect::<Vec<_>>(),
            [5, 4, 3]
        );
        let p = chain.win_within(0, None, 0, &[1, 2, 3, 30]).unwrap();
        assert!(close(&p, &[0.0, 0.2, 0.4, 0.4]), "{p:?}");
        // Open at age 1.5 days: from the cell of day 1.
        let p = chain.win_within(0, None, 36 * 3600, &[2]).unwrap();
        assert!(close(&p, &[0.5]), "{p:?}");
        // Nothing after the origin is read: D's win on day 3 is not seen at day 2.
        let early = StageChain::fit(&h, t(2), None, SurvivalOptions::default()).unwrap();
        let p = early.win_within(0, None, 0, &[3]).unwrap();
        assert!(close(&p, &[0.2]), "{p:?}");
    }

    /// Two stages: X moves on to qualification on day 1 and is won on day 2; Y is lost
    /// from prospecting on day 2. A deal in prospecting at age 0 reaches a win only
    /// through qualification: 1/2 × 1; one still in prospecting at age 1 is Y's case.
    #[test]
    fn wins_pass_through_later_stages() {
        let h = history(&[
            row("X", 0, "prospecting"),
            row("X", 1, "qualification"),
            row("X", 2, "closed_won"),
            row("Y", 0, "prospecting"),
            row("Y", 2, "closed_lost"),
        ]);
        let chain = StageChain::fit(&h, t(10), None, SurvivalOptions::default()).unwrap();
        let p = chain.win_within(0, None, 0, &[1, 2, 5]).unwrap();
        assert!(close(&p, &[0.0, 0.5, 0.5]), "{p:?}");
        assert_eq!(chain.win_within(1, None, 86_400, &[1]).unwrap(), [1.0]);
        assert_eq!(chain.win_within(0, None, 86_400, &[5]).unwrap(), [0.0]);
        // Past the oldest age seen nothing moves.
        assert_eq!(
            chain.win_within(0, None, 400 * 86_400, &[90]).unwrap(),
            [0.0]
        );
        assert!(chain.win_within(8, None, 0, &[1]).is_err()); // closed_won
        assert!(chain.win_within(42, None, 0, &[1]).is_err());
    }

    /// A segment's own estimate is used where enough of its deals are at risk, the
    /// pooled one elsewhere.
    #[test]
    fn thin_segments_fall_back_to_pooled() {
        // Segment a: two deals, both won on day 1. Segment b: two deals, both lost on day 1.
        let h = history(&[
            row("A1", 0, "prospecting"),
            row("A1", 1, "closed_won"),
            row("A2", 0, "prospecting"),
            row("A2", 1, "closed_won"),
            row("B1", 0, "prospecting"),
            row("B1", 1, "closed_lost"),
            row("B2", 0, "prospecting"),
            row("B2", 1, "closed_lost"),
        ]);
        let segments = DealSegments::new(&h, |id| Some(id.as_str()[..1].to_lowercase()));
        assert_eq!(segments.names(), ["a", "b"]);
        let fit = |min| {
            StageChain::fit(
                &h,
                t(5),
                Some(&segments),
                SurvivalOptions::default().with_min_at_risk(min),
            )
            .unwrap()
        };
        let (own, pooled) = (fit(2), fit(3));
        assert_eq!(own.win_within(0, Some(0), 0, &[1]).unwrap(), [1.0]);
        assert_eq!(own.win_within(0, Some(1), 0, &[1]).unwrap(), [0.0]);
        assert_eq!(pooled.win_within(0, Some(0), 0, &[1]).unwrap(), [0.5]);
        assert_eq!(own.win_within(0, None, 0, &[1]).unwrap(), [0.5]);
        assert_eq!(own.at_risk(0, Some(1), 0), 2);
        assert!(own.win_within(0, Some(2), 0, &[1]).is_err());
        let other = DealSegments::new(&history(&[row("Z", 0, "prospecting")]), |_| None);
        assert!(StageChain::fit(&h, t(5), Some(&other), SurvivalOptions::default()).is_err());
    }

    /// The reference walk: every deal day by day, the state at each day boundary
    /// looked up from its rows (the fit before it swept runs of days).
    fn tally_by_day(
        history: &PipelineHistory,
        as_of: DateTime<Utc>,
        segments: Option<&DealSegments>,
        state_of_stage: &[u32],
        shape: Shape,
    ) -> (Vec<u32>, Vec<Move>) {
        let (states, days) = (shape.states, shape.days);
        let won = (states - 2) as u32;
        let mut at_risk = vec![0u32; shape.cells];
        let mut moves = Vec::new();
        for o in 0..history.len() {
            let rs = history.rows_of(o);
            let Some(first) = rs.first() else { continue };
            let observed = chrono_observed_days(first.at, as_of);
            let segment = segments.and_then(|s| s.group_of(o)).map(|g| g + 1);
            let mut cursor = 0;
            let mut stage_at = |t: DateTime<Utc>| {
                while cursor < rs.len() && rs[cursor].at <= t {
                    cursor += 1;
                }
                usize::from(rs[cursor.saturating_sub(1)].stage)
            };
            let mut state = state_of_stage[stage_at(first.at)];
            for day in 0..observed {
                if state >= won {
                    break;
                }
                let boundary = first.at + TimeDelta::seconds((day as i64 + 1) * DAY);
                let next = state_of_stage[stage_at(boundary)];
                for g in std::iter::once(0).chain(segment) {
                    at_risk[(g * days + day) * states + state as usize] += 1;
                    if next != state {
                        moves.push(Move {
                            group: g as u32,
                            day: day as u32,
                            from: state,
                            to: next,
                            count: 1,
                        });
                    }
                }
                state = next;
            }
        }
        (at_risk, moves)
    }

    /// The reference of the [`Walker`]: the walk of `win_within` looking each day's
    /// moves up as it goes (the form before the walker resolved each day once).
    fn reference_win_within(
        chain: &StageChain,
        stage: usize,
        group: Option<usize>,
        age_seconds: u64,
        horizons: &[u32],
    ) -> Vec<f64> {
        let start = usize::try_from(age_seconds / DAY as u64).unwrap_or(usize::MAX);
        let longest = horizons.iter().copied().max().unwrap_or(0) as usize;
        let won = chain.states - 2;
        let mut by_day = vec![0.0];
        let (mut v, mut next) = (vec![0.0f64; chain.states], vec![0.0f64; chain.states]);
        v[stage] = 1.0;
        for k in 0..longest {
            let day = start.saturating_add(k);
            if day >= chain.days {
                by_day.resize(longest + 1, v[won]);
                break;
            }
            next.copy_from_slice(&v);
            for (j, &mass) in v.iter().enumerate().take(won) {
                if mass == 0.0 {
                    continue;
                }
                let cell = |g: usize| chain.at_risk[(g * chain.days + day) * chain.states + j];
                let g = match group {
                    Some(g) if cell(g) >= chain.min_at_risk.max(1) => g,
                    _ => 0,
                };
                let y = cell(g);
                if y == 0 {
                    continue;
                }
                let c = g * chain.days + day;
                for m in &chain.moves[chain.offsets[c]..chain.offsets[c + 1]] {
                    if m.from as usize == j {
                        let moved = mass * f64::from(m.count) / f64::from(y);
                        next[j] -= moved;
                        next[m.to as usize] += moved;
                    }
                }
            }
            for x in next.iter_mut() {
                if *x < 0.0 {
                    *x = 0.0;
                }
            }
            std::mem::swap(&mut v, &mut next);
            by_day.push(v[won].clamp(0.0, 1.0));
        }
        horizons.iter().map(|&h| by_day[h as usize]).collect()
    }

    /// The reference of `observed_days`: whole days by chrono's durations.
    fn chrono_observed_days(created: DateTime<Utc>, as_of: DateTime<Utc>) -> usize {
        usize::try_from(as_of.signed_duration_since(created).num_seconds() / DAY).unwrap_or(0)
    }

    /// The reference of `boundary_of`: by chrono's durations.
    fn chrono_boundary_of(first: DateTime<Utc>, at: DateTime<Utc>) -> u64 {
        let delta = at.signed_duration_since(first);
        let (secs, nanos) = (delta.num_seconds(), delta.subsec_nanos());
        if secs < 0 || (secs == 0 && nanos <= 0) {
            return 0;
        }
        let (whole, rest) = (secs / DAY, secs % DAY);
        whole as u64 + u64::from(rest > 0 || nanos > 0)
    }

    /// The reference of `aggregate_by_cell`: one sort of every move, equal ones
    /// merged, then the offsets of each cell counted.
    fn aggregate(mut moves: Vec<Move>) -> Vec<Move> {
        moves.sort_unstable();
        moves.dedup_by(|b, a| {
            let same = (a.group, a.day, a.from, a.to) == (b.group, b.day, b.from, b.to);
            if same {
                a.count += b.count;
            }
            same
        });
        moves
    }

    /// An instant around 2026 with any nanoseconds, a leap second included.
    fn arb_instant() -> impl Strategy<Value = DateTime<Utc>> {
        let nanos = prop_oneof![Just(0u32), Just(999_999_999), 0..2_000_000_000u32];
        (-800..800i64, 0..DAY, nanos).prop_map(|(day, second, nanos)| {
            let base = t(day).date_naive();
            let (h, m, s) = (second / 3600, second / 60 % 60, second % 60);
            // A leap second's nanoseconds only at 23:59:59 (chrono's rule).
            let (h, m, s, nanos) = if nanos >= 1_000_000_000 {
                (23, 59, 59, nanos)
            } else {
                (h, m, s, nanos)
            };
            base.and_hms_nano_opt(h as u32, m as u32, s as u32, nanos)
                .unwrap()
                .and_utc()
        })
    }

    /// A deal's rows: (days after the deal's start, seconds into that day, whether a
    /// sub-second part is added, stage); times exactly on a day boundary are frequent.
    fn arb_deal() -> impl Strategy<Value = (i64, Vec<(i64, i64, bool, usize)>)> {
        let second = prop_oneof![Just(0i64), Just(1), Just(DAY - 1), 0..DAY];
        (
            0..40i64,
            proptest::collection::vec((0..25i64, second, any::<bool>(), 0..10usize), 1..7),
        )
    }

    proptest! {
        /// Day boundaries and observed days from the instants' keys equal chrono's,
        /// leap seconds included.
        #[test]
        fn key_arithmetic_equals_chrono(a in arb_instant(), b in arb_instant()) {
            let (ka, kb) = ((a, key(a)), (b, key(b)));
            prop_assert_eq!(boundary_of(ka, kb), chrono_boundary_of(a, b));
            prop_assert_eq!(boundary_of(kb, ka), chrono_boundary_of(b, a));
            prop_assert_eq!(observed_days(ka, kb), chrono_observed_days(a, b));
            prop_assert_eq!(observed_days(kb, ka), chrono_observed_days(b, a));
            prop_assert_eq!(boundary_of(ka, ka), 0);
        }

        /// The sweep over each deal's runs of days gives the day-by-day walk's risk
        /// sets and transitions exactly, with and without segments, at any instant.
        #[test]
        fn the_sweep_equals_the_day_by_day_walk(
            deals in proptest::collection::vec(arb_deal(), 1..30),
            as_of_days in -2..80i64,
            as_of_second in prop_oneof![Just(0i64), 0..DAY],
            labels in proptest::collection::vec(proptest::option::of(0..3u8), 30),
        ) {
            let funnel = Funnel::salesforce_opportunity();
            let stages = funnel.stages();
            let mut rows = Vec::new();
            for (i, (start, changes)) in deals.iter().enumerate() {
                for &(day, second, nanos, stage) in changes {
                    let at = t(start + day) + TimeDelta::seconds(second)
                        + TimeDelta::nanoseconds(if nanos { 250_000_000 } else { 0 });
                    let mut r = row(&format!("D{i}"), 0, &stages[stage % stages.len()].key);
                    r.changed_at = at;
                    rows.push(r);
                }
            }
            let h = history(&rows);
            let segments = DealSegments::new(&h, |id| {
                let i: usize = id.as_str()[1..].parse().unwrap();
                labels[i].map(|l| format!("s{l}"))
            });
            let as_of = t(as_of_days) + TimeDelta::seconds(as_of_second);
            for seg in [None, Some(&segments)] {
                let chain = StageChain::fit(&h, as_of, seg, SurvivalOptions::default()).unwrap();
                let groups = 1 + seg.map_or(0, |s| s.names.len());
                let shape = Shape {
                    states: chain.states,
                    days: chain.days,
                    cells: groups * chain.days * chain.states,
                };
                let (at_risk, moves) =
                    tally_by_day(&h, as_of, seg, &chain.state_of_stage, shape);
                prop_assert_eq!(&chain.at_risk, &at_risk);
                let moves = aggregate(moves);
                let offsets: Vec<usize> = crate::group::offsets(
                    groups * chain.days,
                    moves.iter().map(|m| m.group as usize * chain.days + m.day as usize),
                );
                prop_assert_eq!(&chain.moves, &moves);
                prop_assert_eq!(&chain.offsets, &offsets);
            }
        }
    }

    proptest! {
        /// One walker reused over many walks, in any order, gives every walk bit for
        /// bit as the reference walk that looks each day up as it goes.
        #[test]
        fn the_walker_equals_the_reference_walk(
            deals in proptest::collection::vec(arb_deal(), 1..30),
            as_of_days in 0..80i64,
            labels in proptest::collection::vec(proptest::option::of(0..3u8), 30),
            min_at_risk in 0..4u32,
            walks in proptest::collection::vec(
                (0..8usize, proptest::option::of(0..3usize), 0..90u64, 1..40u32),
                1..40,
            ),
        ) {
            let funnel = Funnel::salesforce_opportunity();
            let stages = funnel.stages();
            let mut rows = Vec::new();
            for (i, (start, changes)) in deals.iter().enumerate() {
                for &(day, second, _, stage) in changes {
                    let mut r = row(&format!("D{i}"), 0, &stages[stage % stages.len()].key);
                    r.changed_at = t(start + day) + TimeDelta::seconds(second);
                    rows.push(r);
                }
            }
            let h = history(&rows);
            let segments = DealSegments::new(&h, |id| {
                let i: usize = id.as_str()[1..].parse().unwrap();
                labels[i].map(|l| format!("s{l}"))
            });
            let options = SurvivalOptions::default().with_min_at_risk(min_at_risk);
            let chain = StageChain::fit(&h, t(as_of_days), Some(&segments), options).unwrap();
            let mut walker = Walker::new(&chain);
            for &(stage, segment, age_days, horizon) in &walks {
                let segment = segment.filter(|&s| s < segments.names().len());
                let horizons = [horizon, horizon / 2 + 1, 1];
                let age = age_days * 86_400 + age_days % 7 * 3_600;
                let got = walker.win_within(stage, segment, age, &horizons);
                if chain.state_of_stage[stage] as usize != stage {
                    prop_assert!(got.is_err());
                    continue;
                }
                let want = reference_win_within(&chain, stage, segment.map(|s| s + 1), age, &horizons);
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                prop_assert_eq!(bits(&got.unwrap()), bits(&want));
            }
        }
    }

    #[test]
    fn the_cell_limit_is_checked_before_allocating() {
        let h = history(&[row("A", 0, "prospecting")]);
        // 36,500 days × 12 states > 100,000 cells.
        let err = StageChain::fit(
            &h,
            t(36_500),
            None,
            SurvivalOptions::default().with_max_cells(100_000),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("SurvivalOptions::max_cells"),
            "{err}"
        );
        assert!(StageChain::fit(&h, t(-5), None, SurvivalOptions::default()).is_ok());
    }
}
