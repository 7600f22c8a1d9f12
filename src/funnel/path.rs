//! Path reconstruction: from a subject's stage events to its cycles through the
//! funnel, under explicit policies.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::data::{Ev, FunnelData, FunnelDiagnostics, FunnelEvents, Millis, from_millis, millis};
use super::definition::StageKind;
use crate::group;
use crate::ids::SubjectId;

/// What to do when a subject reaches a stage without events for the stages before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipPolicy {
    /// **Default.** Every skipped open stage is taken as reached at the time of the
    /// next reached stage and marked *inferred* (so a lead whose first event is SQL
    /// also counts as an inquiry, MQL and SAL, with zero time in those stages).
    /// Won stages are never inferred.
    #[default]
    Backfill,
    /// A skip breaks the path: after the first stage a cycle reaches, only stages
    /// reached without a gap count; a jump over an open stage ends the counted path
    /// (the later stages are recorded as not reached).
    Strict,
    /// Each stage counts only if it has its own event; no back-filling. Step ratios
    /// then count subjects that reached both stages.
    AnyStage,
}

/// How events with equal timestamps are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TieBreak {
    /// **Default.** By the stages' order in the funnel definition (MQL before SQL;
    /// exits, listed after the path, come last), then by input order.
    #[default]
    StageOrder,
    /// By input order.
    InputOrder,
}

/// What a move back to an earlier stage (say SQL → MQL) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackwardPolicy {
    /// **Default.** The subject keeps the furthest stage it reached; the backward
    /// event is counted in [`FunnelDiagnostics::backward`] and otherwise ignored.
    #[default]
    KeepFurthest,
    /// The backward move closes the current cycle and opens a new one at the earlier
    /// stage (counted in [`FunnelDiagnostics::backward`] too).
    NewCycle,
}

/// Options of path reconstruction.
///
/// Cycles: reaching any terminal stage (won, lost, disqualified, recycled) closes the
/// subject's current cycle; a later event on the path opens a new one. The first
/// cycle starts at the lead's creation, a later cycle at its first event.
///
/// ```
/// use revops::{funnel::PathOptions, funnel::SkipPolicy, funnel::TieBreak};
/// let o = PathOptions::default().with_skip(SkipPolicy::Strict).with_tie_break(TieBreak::InputOrder);
/// assert_eq!(o.skip, SkipPolicy::Strict);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PathOptions {
    /// Skipped stages (default [`SkipPolicy::Backfill`]).
    pub skip: SkipPolicy,
    /// Equal timestamps (default [`TieBreak::StageOrder`]).
    pub tie_break: TieBreak,
    /// Backward moves (default [`BackwardPolicy::KeepFurthest`]).
    pub backward: BackwardPolicy,
    /// Only leads created and events dated at or before this instant are used (the
    /// data as known then): later events are counted in
    /// [`FunnelDiagnostics::after_as_of`], later leads in
    /// [`FunnelDiagnostics::leads_after_as_of`] and get no cycle, so no report
    /// counts them. `None` uses all.
    pub as_of: Option<DateTime<Utc>>,
}

impl PathOptions {
    /// Sets the skip policy.
    #[must_use]
    pub fn with_skip(mut self, skip: SkipPolicy) -> Self {
        self.skip = skip;
        self
    }

    /// Sets the tie-break.
    #[must_use]
    pub fn with_tie_break(mut self, tie_break: TieBreak) -> Self {
        self.tie_break = tie_break;
        self
    }

    /// Sets the backward policy.
    #[must_use]
    pub fn with_backward(mut self, backward: BackwardPolicy) -> Self {
        self.backward = backward;
        self
    }

    /// Uses only the leads created and the events dated at or before `as_of`.
    #[must_use]
    pub fn with_as_of(mut self, as_of: DateTime<Utc>) -> Self {
        self.as_of = Some(as_of);
        self
    }
}

pub(crate) const NONE: Millis = Millis::MIN;
pub(crate) const NO_EXIT: u8 = u8::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CycleRec {
    pub(crate) subject: u32,
    pub(crate) number: u32,
    pub(crate) start: Millis,
    /// Progression ranks reached (and counted, under the skip policy).
    pub(crate) reached: u32,
    /// Of those, the ones inferred by back-filling.
    pub(crate) inferred: u32,
    pub(crate) exit_stage: u8,
    pub(crate) exit_reason: u32,
    pub(crate) exit_at: Millis,
    /// Where this cycle's entry times start in `Paths::entries` (one per reached
    /// stage, in rank order).
    pub(crate) offset: usize,
}

/// The entry times of one cycle: packed, one per reached stage in rank order.
#[derive(Clone, Copy)]
pub(crate) struct Entries<'p> {
    reached: u32,
    packed: &'p [Millis],
}

impl Entries<'_> {
    /// The entry time of rank `r`, or `NONE`.
    #[inline]
    pub(crate) fn at(&self, r: usize) -> Millis {
        let bit = 1u32 << r;
        if self.reached & bit == 0 {
            return NONE;
        }
        self.packed[(self.reached & (bit - 1)).count_ones() as usize]
    }
}

/// The reconstructed paths of every lead known at the as-of date: one or more cycles
/// per lead, each with the time it entered every progression stage. Reports (cohort,
/// flow, velocity, qualification) are computed from it.
#[derive(Debug, Clone)]
pub struct Paths {
    pub(crate) m: usize,
    pub(crate) cycles: Vec<CycleRec>,
    /// Entry times of the reached stages, cycle after cycle (see `CycleRec::offset`).
    pub(crate) entries: Vec<Millis>,
    pub(crate) reasons: Vec<String>,
    pub(crate) diagnostics: FunnelDiagnostics,
    pub(crate) options: PathOptions,
    /// The earliest and latest cycle start: over every cycle, and over first
    /// cycles (`(Millis::MAX, Millis::MIN)` when there are none).
    pub(crate) start_range: [(Millis, Millis); 2],
    pub(crate) scratch: Scratch,
}

impl FunnelEvents {
    /// Finishes the accumulator: reconstructs every lead's cycles under `options`.
    /// Every lead has at least its first cycle, even without events, except the
    /// leads created after the as-of date (counted in
    /// [`FunnelDiagnostics::leads_after_as_of`]).
    ///
    /// To rebuild paths repeatedly (other options, a later as-of date, more events),
    /// [`FunnelEvents::paths_into`] reuses the buffers of earlier paths.
    pub fn paths(&self, data: &FunnelData<'_>, options: PathOptions) -> Paths {
        let mut paths = Paths {
            m: 0,
            cycles: Vec::new(),
            entries: Vec::new(),
            reasons: Vec::new(),
            diagnostics: FunnelDiagnostics::default(),
            options,
            start_range: [EMPTY_RANGE; 2],
            scratch: Scratch::default(),
        };
        self.paths_into(data, options, &mut paths);
        // Only rebuilds in place keep the grouping buffers.
        paths.scratch = Scratch::default();
        paths
    }

    /// Reconstructs every lead's cycles under `options` into `paths`, replacing its
    /// contents but reusing its memory: the same result as [`FunnelEvents::paths`],
    /// without allocating (and the system zeroing) tens of megabytes per million
    /// leads again. `paths` may have been built from other events, leads or options.
    ///
    /// The reused paths keep their buffers at the largest size needed so far
    /// (and, when the events were not added grouped by lead in time order, a
    /// grouped copy of them); drop the paths to release that memory.
    ///
    /// ```
    /// use revops::{funnel::FunnelData, funnel::FunnelEvents, Funnel, Lead, LeadId, funnel::PathOptions, StageEvent,
    ///              SubjectId};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 1, d, 0, 0, 0).unwrap();
    /// let leads = vec![Lead::new(LeadId::new("a")?, t(1))];
    /// let ev = |s: &str, d| StageEvent::new(SubjectId::new("a").unwrap(), s, t(d));
    /// let data = FunnelData::new(Funnel::demand_waterfall(), &leads)?;
    /// let mut acc = FunnelEvents::default();
    /// acc.add_batch(&data, &[ev("mql", 2), ev("sql", 9)])?;
    ///
    /// let mut paths = acc.paths(&data, PathOptions::default());
    /// assert_eq!(paths.iter().next().unwrap().reached_mask(), 0b1111); // to SQL
    /// // The same events as known on the 5th, in the same memory:
    /// acc.paths_into(&data, PathOptions::default().with_as_of(t(5)), &mut paths);
    /// assert_eq!(paths.iter().next().unwrap().reached_mask(), 0b11); // to MQL
    /// assert_eq!(paths.diagnostics().after_as_of, 1);
    /// # Ok(()) }
    /// ```
    pub fn paths_into(&self, data: &FunnelData<'_>, options: PathOptions, paths: &mut Paths) {
        let m = data.progression.len();
        let n = data.len();
        let mut diagnostics = self.diagnostics.clone();
        // Events interned against other data are counted, not used.
        let own = self.events_for(data, &mut diagnostics);
        let stages = StageTable::new(data, &options);
        let mut scratch = std::mem::take(&mut paths.scratch);
        let events = Self::grouped(own, n, options.tie_break, &mut scratch);

        let open_mask: u32 = data
            .progression
            .iter()
            .enumerate()
            .filter(|(_, i)| data.funnel.stages()[**i].kind == StageKind::Open)
            .fold(0, |m, (r, _)| m | (1 << r));
        paths.m = m;
        paths.cycles.clear();
        paths.cycles.reserve(n + n / 8);
        paths.entries.clear();
        paths.entries.reserve(own.len() + n);
        paths.reasons.clone_from(&self.reasons);
        paths.options = options;
        paths.start_range = [EMPTY_RANGE; 2];
        let mut groups = events.chunk_by(|a, b| a.subject == b.subject).peekable();
        let mut b = Builder::new(options.skip, open_mask);
        for s in 0..n {
            let created = data.created[s];
            let group = match groups.peek() {
                Some(g) if g[0].subject as usize == s => groups.next().unwrap_or_default(),
                _ => &[],
            };
            if created > stages.as_of {
                stages.skip_lead(data, s, group, &mut diagnostics);
                continue;
            }
            b.start(paths, s as u32, 0, created);
            stages.walk(&mut b, paths, data, s, group, &mut diagnostics);
            b.finish(paths);
        }
        paths.diagnostics = diagnostics;
        paths.scratch = scratch;
    }

    /// The events grouped by subject, each subject's events in (time, tie) order
    /// with the input order (the position) breaking the remaining ties.
    ///
    /// One pass checks whether the input is already so ordered (typical of exports
    /// and generators); if not, a counting sort by subject into the scratch copy,
    /// then a stable sort of each subject's events.
    fn grouped<'s>(
        own: &'s [Ev],
        n: usize,
        tie_break: TieBreak,
        scratch: &'s mut Scratch,
    ) -> &'s [Ev] {
        let stage_tie = tie_break == TieBreak::StageOrder;
        let key = |e: &Ev| (e.at, if stage_tie { e.stage } else { 0 });
        let ordered = own
            .windows(2)
            .all(|w| (w[0].subject, key(&w[0])) <= (w[1].subject, key(&w[1])));
        if ordered {
            return own;
        }
        let offsets = &mut scratch.offsets;
        let subjects = || own.iter().map(|e| e.subject as usize);
        group::offsets_into(offsets, n, subjects());
        let out = &mut scratch.events;
        out.clear();
        out.resize(
            own.len(),
            Ev {
                at: 0,
                subject: 0,
                reason: 0,
                stage: 0,
            },
        );
        group::place(offsets, subjects(), |p, i| out[p] = own[i]);
        for group in out.chunk_by_mut(|a, b| a.subject == b.subject) {
            // stable: equal keys keep the input order
            if !group.is_sorted_by_key(key) {
                group.sort_by_key(key);
            }
        }
        out
    }
}

/// What a lead's walk needs to know of each funnel stage, and of the options.
struct StageTable {
    /// Per funnel stage: progression rank (or [`NO_RANK`]).
    rank: [u8; 256],
    /// Per funnel stage: whether it is won.
    won: [bool; 256],
    as_of: Millis,
    backward: BackwardPolicy,
}

impl StageTable {
    fn new(data: &FunnelData<'_>, options: &PathOptions) -> StageTable {
        let mut rank = [NO_RANK; 256];
        let mut won = [false; 256];
        for (i, st) in data.funnel.stages().iter().enumerate() {
            rank[i] = data.rank[i].unwrap_or(NO_RANK);
            won[i] = st.kind == StageKind::Won;
        }
        StageTable {
            rank,
            won,
            as_of: options.as_of.as_ref().map(millis).unwrap_or(Millis::MAX),
            backward: options.backward,
        }
    }

    /// A lead not yet known at the as-of date: no cycle; its events are counted as
    /// every other lead's would be (none can be used).
    fn skip_lead(
        &self,
        data: &FunnelData<'_>,
        s: usize,
        group: &[Ev],
        diagnostics: &mut FunnelDiagnostics,
    ) {
        diagnostics.leads_after_as_of += 1;
        for e in group {
            if e.at > self.as_of {
                diagnostics.after_as_of += 1;
            } else {
                diagnostics.before_creation += 1;
                diagnostics.note_subject("before the lead was created", &lead_subject(data, s));
            }
        }
    }

    /// Walks lead `s`'s events (`group`, in order) through the builder's cycles.
    fn walk(
        &self,
        b: &mut Builder,
        paths: &mut Paths,
        data: &FunnelData<'_>,
        s: usize,
        group: &[Ev],
        diagnostics: &mut FunnelDiagnostics,
    ) {
        let created = data.created[s];
        for e in group {
            if e.at > self.as_of {
                diagnostics.after_as_of += 1;
                continue;
            }
            if e.at < created {
                diagnostics.before_creation += 1;
                diagnostics.note_subject("before the lead was created", &lead_subject(data, s));
                continue;
            }
            let r = self.rank[usize::from(e.stage)];
            if r == NO_RANK {
                if b.rec.exit_stage != NO_EXIT {
                    diagnostics.exit_after_exit += 1;
                    continue;
                }
                b.exit(e);
                continue;
            }
            let r = u32::from(r);
            if b.rec.exit_stage == e.stage && self.won[usize::from(e.stage)] {
                // The won stage again after the cycle was won there: a repeated
                // row, not a new cycle that would back-fill and win again.
                diagnostics.repeated += 1;
                continue;
            }
            if b.rec.exit_stage != NO_EXIT {
                b.next_cycle(paths, e.at);
            } else if let Some(f) = b.furthest {
                if r < f {
                    diagnostics.backward += 1;
                    match self.backward {
                        BackwardPolicy::KeepFurthest => continue,
                        BackwardPolicy::NewCycle => b.next_cycle(paths, e.at),
                    }
                } else if r == f {
                    diagnostics.repeated += 1;
                    continue;
                }
            }
            b.enter(paths, r, e.at);
            if self.won[usize::from(e.stage)] {
                b.exit(e);
            }
        }
    }
}

/// Buffers a rebuild of [`Paths`] reuses: grouping offsets and a grouped copy of
/// unordered events. Not part of the paths' value: cloning gives empty buffers.
#[derive(Default)]
pub(crate) struct Scratch {
    offsets: Vec<usize>,
    events: Vec<Ev>,
}

impl Clone for Scratch {
    fn clone(&self) -> Self {
        Scratch::default()
    }
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scratch")
    }
}

const NO_RANK: u8 = u8::MAX;

const EMPTY_RANGE: (Millis, Millis) = (Millis::MAX, Millis::MIN);

fn lead_subject(data: &FunnelData<'_>, s: usize) -> SubjectId {
    data.leads
        .id(s)
        .and_then(|id| SubjectId::new(id).ok())
        .unwrap_or_else(|| unreachable!("a lead index within the data"))
}

/// Builds one cycle at a time, writing its stage entries straight into the paths'
/// entry table (the cycle's slot is reserved when the cycle starts).
struct Builder {
    skip: SkipPolicy,
    open_mask: u32,
    rec: CycleRec,
    furthest: Option<u32>,
    /// Under the strict policy: ranks at or above this do not count.
    limit: u32,
}

impl Builder {
    fn new(skip: SkipPolicy, open_mask: u32) -> Builder {
        Builder {
            skip,
            open_mask,
            rec: CycleRec {
                subject: 0,
                number: 0,
                start: 0,
                reached: 0,
                inferred: 0,
                exit_stage: NO_EXIT,
                exit_reason: 0,
                exit_at: NONE,
                offset: 0,
            },
            furthest: None,
            limit: u32::MAX,
        }
    }

    fn start(&mut self, paths: &mut Paths, subject: u32, number: u32, start: Millis) {
        self.rec = CycleRec {
            subject,
            number,
            start,
            reached: 0,
            inferred: 0,
            exit_stage: NO_EXIT,
            exit_reason: 0,
            exit_at: NONE,
            offset: paths.entries.len(),
        };
        self.furthest = None;
        self.limit = u32::MAX;
    }

    fn next_cycle(&mut self, paths: &mut Paths, start: Millis) {
        let (s, n) = (self.rec.subject, self.rec.number + 1);
        self.finish(paths);
        self.start(paths, s, n, start);
    }

    /// Records entering rank `r`; ranks arrive in increasing order within a cycle
    /// (only forward moves enter stages), so entries stay packed in rank order.
    #[inline]
    fn set(&mut self, paths: &mut Paths, r: u32, at: Millis, inferred: bool) {
        if r >= self.limit {
            return;
        }
        paths.entries.push(at);
        self.rec.reached |= 1 << r;
        if inferred {
            self.rec.inferred |= 1 << r;
        }
    }

    #[inline(always)]
    fn enter(&mut self, paths: &mut Paths, r: u32, at: Millis) {
        let lo = self.furthest.map_or(0, |f| f + 1);
        if r == lo {
            // The next stage: no gap, under every policy.
            self.set(paths, r, at, false);
            self.furthest = Some(r);
            return;
        }
        let open_mask = self.open_mask;
        let mut gap = (lo..r).filter(|g| open_mask & (1 << g) != 0);
        match self.skip {
            SkipPolicy::Backfill => {
                for g in gap {
                    self.set(paths, g, at, true);
                }
            }
            SkipPolicy::Strict => {
                if self.furthest.is_some()
                    && let Some(first_gap) = gap.next()
                {
                    self.limit = self.limit.min(first_gap);
                }
            }
            SkipPolicy::AnyStage => {}
        }
        self.set(paths, r, at, false);
        self.furthest = Some(r);
    }

    fn exit(&mut self, e: &Ev) {
        self.rec.exit_stage = e.stage;
        self.rec.exit_reason = e.reason;
        self.rec.exit_at = e.at;
    }

    /// Emits the cycle. Every cycle is emitted: the first so that every lead is
    /// counted, later ones because they start with an event.
    fn finish(&mut self, paths: &mut Paths) {
        let start = self.rec.start;
        for (i, range) in paths.start_range.iter_mut().enumerate() {
            if i == 0 || self.rec.number == 0 {
                range.0 = range.0.min(start);
                range.1 = range.1.max(start);
            }
        }
        paths.cycles.push(self.rec);
    }
}

/// One cycle of one lead, for audit and custom reports.
#[derive(Debug, Clone, Copy)]
pub struct CycleView<'p> {
    paths: &'p Paths,
    i: usize,
}

impl<'p> CycleView<'p> {
    fn rec(&self) -> &'p CycleRec {
        &self.paths.cycles[self.i]
    }

    /// The lead's index in [`FunnelData::leads`].
    pub fn lead_index(&self) -> usize {
        self.rec().subject as usize
    }

    /// The cycle number (0 for the first).
    pub fn number(&self) -> u32 {
        self.rec().number
    }

    /// When the cycle started (lead creation for the first cycle).
    pub fn start(&self) -> DateTime<Utc> {
        from_millis(self.rec().start)
    }

    /// When the cycle entered progression stage `rank`, if it did (and it counts
    /// under the skip policy).
    pub fn entered(&self, rank: usize) -> Option<DateTime<Utc>> {
        if rank >= self.paths.m {
            return None;
        }
        let t = self.paths.entries_of(self.i).at(rank);
        (t != NONE).then(|| from_millis(t))
    }

    /// Whether the entry into `rank` was inferred by back-filling.
    pub fn inferred(&self, rank: usize) -> bool {
        rank < 32 && self.rec().inferred & (1 << rank) != 0
    }

    /// The ranks reached, as a bit mask (bit `r` = rank `r`).
    pub fn reached_mask(&self) -> u32 {
        self.rec().reached
    }

    /// The exit (terminal stage position in the funnel, time and reason), if the cycle
    /// ended: won, lost, disqualified or recycled.
    pub fn exit(&self) -> Option<(usize, DateTime<Utc>, Option<&'p str>)> {
        let r = self.rec();
        (r.exit_stage != NO_EXIT).then(|| {
            let reason = (r.exit_reason != 0)
                .then(|| self.paths.reasons[r.exit_reason as usize - 1].as_str());
            (usize::from(r.exit_stage), from_millis(r.exit_at), reason)
        })
    }
}

impl Paths {
    /// Number of cycles (at least one per lead known at the as-of date).
    pub fn len(&self) -> usize {
        self.cycles.len()
    }

    /// Whether there are no cycles (no leads known at the as-of date).
    pub fn is_empty(&self) -> bool {
        self.cycles.is_empty()
    }

    /// Number of progression stages.
    pub fn stages(&self) -> usize {
        self.m
    }

    /// The cycles, grouped by lead in lead order, each lead's in time order.
    pub fn iter(&self) -> impl Iterator<Item = CycleView<'_>> {
        (0..self.cycles.len()).map(move |i| CycleView { paths: self, i })
    }

    /// What was skipped while interning and reconstructing.
    pub fn diagnostics(&self) -> &FunnelDiagnostics {
        &self.diagnostics
    }

    /// The options the paths were built with.
    pub fn options(&self) -> &PathOptions {
        &self.options
    }

    #[inline]
    pub(crate) fn entries_of(&self, i: usize) -> Entries<'_> {
        let c = &self.cycles[i];
        Entries {
            reached: c.reached,
            packed: &self.entries[c.offset..],
        }
    }
}
