//! Cohort counts as a mergeable accumulator: each lead's creation time and stage
//! events, gathered from rows in any order and any split, finished into the cohort
//! report.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::cohort::{CohortAnchor, CohortReport, CohortSpec, CycleScope, cohort_report};
use super::data::{Ev, FunnelData, FunnelDiagnostics, FunnelEvents, Millis, from_millis, millis};
use super::definition::Funnel;
use super::path::{PathOptions, TieBreak};
use crate::accumulate::{Accumulator, StateVersion};
use crate::error::{Error, ErrorKind, RecordRef, Result};
use crate::hash::FastMap;
use crate::ids::LeadId;
use crate::period::{Calendar, Granularity};
use crate::ratio::{Confidence, IntervalMethod};
use crate::records::{Lead, StageEvent};

/// What one lead brought: its creation time (once some row gave it) and its stage
/// events as `(time, funnel stage position)`.
#[derive(Debug, Clone, Default, PartialEq)]
struct LeadEvents {
    created: Option<Millis>,
    events: Vec<(Millis, u8)>,
}

/// The cohort report of [`cohort_report`] as a mergeable, serialisable
/// accumulator: leads (their creation times) and stage events are added in any
/// order and any split, partial counts built elsewhere are merged, and
/// [`finish`](CohortCounts::finish) gives the report that [`cohort_report`] gives
/// over the same leads and events under the same [`PathOptions`] and
/// [`CohortSpec`].
///
/// It keeps, per distinct lead, its creation time and its stage events: a lead's
/// cycles depend on all of its events in time order (recycling, backward moves, the
/// skip policy), so nothing smaller is exact before every event of the lead is in.
/// The order of rows does not matter: a lead's events are taken in (time, stage)
/// order, which is why the [`TieBreak::InputOrder`] tie-break (meaningless once
/// rows are split and shuffled) is refused. Events of a lead that no row gave a
/// creation time are counted in [`FunnelDiagnostics::unknown_subject`], as
/// [`FunnelData::intern`] counts events of unknown leads; exit reasons are not kept
/// (the cohort report does not use them).
///
/// A breakdown ([`CohortSpec::breakdown`]) is refused: the accumulator does not keep
/// the leads' attributes. Group the input by the dimension instead (one accumulator
/// per value, e.g. SQL `GROUP BY`): each group's report is the breakdown's table for
/// that value.
///
/// # Memory and limits
///
/// About 80 bytes plus the id's bytes per distinct lead, and 16 bytes per stage
/// event; [`finish`](CohortCounts::finish) builds the [`FunnelData`] and the paths of
/// every lead (about as much again, for the time of the call). Memory is linear in
/// the input; what it holds of one group must fit one machine. At most `u32::MAX`
/// leads and [`MAX_PROGRESSION_STAGES`](crate::funnel::MAX_PROGRESSION_STAGES)
/// progression stages, as [`FunnelData`].
///
/// ```
/// use revops::funnel::{CohortCounts, CohortSpec, FunnelData, FunnelEvents, PathOptions, cohort_report};
/// use revops::{Funnel, Lead, LeadId, StageEvent, SubjectId};
/// use chrono::{TimeZone, Utc};
/// # fn main() -> Result<(), revops::Error> {
/// let t = |d| Utc.with_ymd_and_hms(2026, 1, d, 0, 0, 0).unwrap();
/// let leads: Vec<Lead> = (1..=3).map(|i| Ok(Lead::new(LeadId::new(format!("L{i}"))?, t(i)))).collect::<Result<_, revops::Error>>()?;
/// let ev = |l: &str, s: &str, d| Ok::<_, revops::Error>(StageEvent::new(SubjectId::new(l)?, s, t(d)));
/// let events = vec![ev("L2", "sql", 9)?, ev("L1", "mql", 5)?, ev("L2", "mql", 6)?];
///
/// // Two workers each see part of the rows…
/// let new = || CohortCounts::new(Funnel::demand_waterfall(), PathOptions::default(), CohortSpec::default());
/// let (mut a, mut b) = (new()?, new()?);
/// a.add_lead(&leads[0])?;
/// a.add_batch(&events[..2])?;
/// b.add_lead(&leads[1])?;
/// b.add_lead(&leads[2])?;
/// b.add_batch(&events[2..])?;
/// // …one ships its state (any serde format) to the other, which merges it.
/// let b: CohortCounts = serde_json::from_str(&serde_json::to_string(&b)?)?;
/// a.merge(&b)?;
///
/// let data = FunnelData::new(Funnel::demand_waterfall(), &leads)?;
/// let mut held = FunnelEvents::new();
/// held.add_batch(&data, &events)?;
/// let one_pass = cohort_report(&data, &held.paths(&data, PathOptions::default()), &CohortSpec::default())?;
/// assert_eq!(a.finish()?.total, one_pass.total);
/// # Ok(()) }
/// ```
///
/// # Serialised form
///
/// `{"version": 1, "funnel": {…}, "paths": {…}, "spec": {"anchor", "granularity",
/// "calendar", "window_ms", "step_windows_ms", "cycles", "confidence", "method"},
/// "leads": [{"id": "L1", "created": 1767225600000 | null, "events": [[at, stage],
/// …]}, …]}`: the options (funnel definition, [`PathOptions`], the cohort spec with
/// its windows in milliseconds), then the leads sorted by id, each with its creation
/// time (milliseconds since the Unix epoch, `null` when no row gave it yet) and its
/// events sorted by (time, stage), a stage being its position in the funnel. A state
/// read back is checked: ids valid and distinct, times in range, stages within the
/// funnel, options valid.
#[derive(Debug, Clone)]
pub struct CohortCounts {
    funnel: Funnel,
    paths: PathOptions,
    spec: CohortSpec,
    leads: FastMap<Box<str>, LeadEvents>,
}

/// The error for options the accumulator cannot honour.
fn refused(name: &'static str, value: String, reason: &str) -> Error {
    Error::from(ErrorKind::InvalidParameter {
        name,
        value,
        reason: reason.to_string(),
    })
}

impl CohortCounts {
    /// An empty accumulator for `funnel`, reconstructing paths under `paths` and
    /// reporting under `spec`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) for
    /// [`TieBreak::InputOrder`], a breakdown (see the type's documentation), a
    /// negative window; [`ErrorKind::UnknownStage`](crate::error::ErrorKind::UnknownStage)
    /// for an anchor or step-window stage that is not an open or won stage of the
    /// funnel; [`ErrorKind::InvalidFunnel`](crate::error::ErrorKind::InvalidFunnel)
    /// for a funnel the engine cannot take (as [`FunnelData::new`]).
    pub fn new(funnel: Funnel, paths: PathOptions, spec: CohortSpec) -> Result<CohortCounts> {
        if paths.tie_break == TieBreak::InputOrder {
            return Err(refused(
                "tie_break",
                "input_order".into(),
                "rows merged from several partitions have no input order; use stage_order",
            ));
        }
        if let Some(d) = &spec.breakdown {
            return Err(refused(
                "breakdown",
                format!("{d:?}"),
                "cohort counts keep no lead attributes: group the input by the dimension instead",
            ));
        }
        // The spec's stages and windows resolve as the report resolves them.
        let data = FunnelData::new(funnel.clone(), &[])?;
        let stage = |key: &str, what: &'static str| {
            data.rank_of(key).map(|_| ()).ok_or_else(|| {
                Error::from(ErrorKind::UnknownStage {
                    record: RecordRef::new(what),
                    key: key.to_string(),
                    funnel: funnel.name().to_string(),
                })
            })
        };
        if let CohortAnchor::Stage(k) = &spec.anchor {
            stage(k, "cohort anchor")?;
        }
        let windows = spec.window.iter().map(|w| ("window", *w));
        for (name, w) in windows.chain(spec.step_windows.iter().map(|(_, w)| ("step window", *w))) {
            if w < TimeDelta::zero() {
                return Err(refused(
                    name,
                    w.to_string(),
                    "a window must not be negative",
                ));
            }
        }
        for (k, _) in &spec.step_windows {
            stage(k, "step window")?;
        }
        Ok(CohortCounts {
            funnel,
            paths,
            spec,
            leads: FastMap::default(),
        })
    }

    /// Number of distinct leads seen (with a creation time or only events).
    pub fn len(&self) -> usize {
        self.leads.len()
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.leads.is_empty()
    }

    /// Adds a lead's creation time (its other fields are not used). A lead may be
    /// given any number of times (once per row of a join, say) with the same
    /// creation time, to the millisecond.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the
    /// lead when it was given another creation time before; the state is then
    /// unchanged.
    pub fn add_lead(&mut self, lead: &Lead) -> Result<()> {
        let created = millis(&lead.created_at);
        let slot = self.leads.entry(lead.id.as_str().into()).or_default();
        match slot.created {
            Some(c) if c != created => Err(conflict(lead.id.as_str(), c, created)),
            _ => {
                slot.created = Some(created);
                Ok(())
            }
        }
    }

    /// Adds one stage event (its cycle and reason are not used).
    ///
    /// # Errors
    /// [`ErrorKind::UnknownStage`](crate::error::ErrorKind::UnknownStage) naming the
    /// event's subject when the funnel has no such stage; the state is then
    /// unchanged.
    pub fn add(&mut self, event: &StageEvent) -> Result<()> {
        let stage = self.funnel.resolve(&event.stage, || {
            RecordRef::new("stage event").with_id(&event.subject)
        })?;
        // at most 255 stages (checked by `new`)
        let at = millis(&event.at);
        self.leads
            .entry(event.subject.as_str().into())
            .or_default()
            .events
            .push((at, stage as u8));
        Ok(())
    }

    /// Adds stage events in order; stops at the first invalid one (named with its
    /// position in `events`), those before it staying added.
    ///
    /// # Errors
    /// As [`add`](CohortCounts::add).
    pub fn add_batch<'a>(
        &mut self,
        events: impl IntoIterator<Item = &'a StageEvent>,
    ) -> Result<()> {
        for (i, e) in events.into_iter().enumerate() {
            self.add(e).map_err(|e| e.at_index(i))?;
        }
        Ok(())
    }

    /// Merges counts built from other rows under the same options.
    ///
    /// # Errors
    /// [`ErrorKind::MergeMismatch`](crate::error::ErrorKind::MergeMismatch) when the
    /// funnel or options differ; [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField)
    /// naming a lead the two give different creation times. `self` is then unchanged.
    pub fn merge(&mut self, other: &CohortCounts) -> Result<()> {
        if self.funnel != other.funnel || self.paths != other.paths || self.spec != other.spec {
            return Err(Error::from(ErrorKind::MergeMismatch {
                what: "cohort counts",
                reason: format!(
                    "built with different options (this one: {:?}, {:?}, {:?}; the other: {:?}, {:?}, {:?})",
                    self.funnel.name(),
                    self.paths,
                    self.spec,
                    other.funnel.name(),
                    other.paths,
                    other.spec
                ),
            }));
        }
        for (id, theirs) in &other.leads {
            if let (Some(a), Some(b)) = (self.leads.get(id).and_then(|l| l.created), theirs.created)
                && a != b
            {
                return Err(conflict(id, a, b));
            }
        }
        for (id, theirs) in &other.leads {
            let ours = self.leads.entry(id.clone()).or_default();
            ours.created = ours.created.or(theirs.created);
            ours.events.extend_from_slice(&theirs.events);
        }
        Ok(())
    }

    /// The cohort report over every lead and event added and merged so far: the
    /// report [`cohort_report`] gives for the leads that have a creation time (in
    /// id order) and all the events, under the options given at creation. The
    /// diagnostics' counts are the same; their examples may name other events.
    ///
    /// # Errors
    /// As [`FunnelData::new`] (more than `u32::MAX` leads) and [`cohort_report`].
    pub fn finish(&self) -> Result<CohortReport> {
        let mut known: Vec<(&str, Millis)> = Vec::with_capacity(self.leads.len());
        let mut unknown: Vec<(&str, usize)> = Vec::new();
        let mut read = 0u64;
        for (id, l) in &self.leads {
            read += l.events.len() as u64;
            match l.created {
                Some(c) => known.push((id, c)),
                None => unknown.push((id, l.events.len())),
            }
        }
        known.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let leads: Vec<Lead> = known
            .iter()
            .map(|&(id, c)| Ok(Lead::new(LeadId::new(id)?, from_millis(c))))
            .collect::<Result<_>>()?;
        let data = FunnelData::new(self.funnel.clone(), &leads)?;
        let mut diagnostics = FunnelDiagnostics {
            events_read: read,
            ..FunnelDiagnostics::default()
        };
        unknown.sort_unstable();
        for (id, n) in unknown {
            diagnostics.unknown_subject += n as u64;
            diagnostics.note("unknown subject", None, id);
        }
        let mut events: Vec<Ev> = Vec::with_capacity(read as usize);
        let mut order: Vec<(Millis, u8)> = Vec::new();
        for (i, &(id, _)) in known.iter().enumerate() {
            order.clone_from(&self.leads[id].events);
            order.sort_unstable();
            // i < u32::MAX: FunnelData checked the count
            events.extend(order.iter().map(|&(at, stage)| Ev {
                at,
                subject: i as u32,
                reason: 0,
                stage,
            }));
        }
        let interned = FunnelEvents::interned(&data, events, diagnostics);
        let paths = interned.paths(&data, self.paths);
        cohort_report(&data, &paths, &self.spec)
    }
}

/// The error for a lead given two creation times.
fn conflict(id: &str, a: Millis, b: Millis) -> Error {
    Error::from(ErrorKind::InvalidField {
        record: RecordRef::new("lead").with_id(id),
        field: "created_at",
        reason: format!(
            "created at {} in some rows and at {} in others",
            from_millis(a).to_rfc3339(),
            from_millis(b).to_rfc3339()
        ),
    })
}

/// A stage event is the record; leads enter through
/// [`add_lead`](CohortCounts::add_lead).
impl Accumulator for CohortCounts {
    type Item = StageEvent;
    type Output = CohortReport;
    const STATE_VERSION: u32 = 1;

    fn add(&mut self, item: &StageEvent) -> Result<()> {
        CohortCounts::add(self, item)
    }

    fn add_batch<'a, I>(&mut self, items: I) -> Result<()>
    where
        I: IntoIterator<Item = &'a StageEvent>,
    {
        CohortCounts::add_batch(self, items)
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        CohortCounts::merge(self, other)
    }

    fn finish(&self) -> Result<CohortReport> {
        CohortCounts::finish(self)
    }
}

// ---------------------------------------------------------------------------------
// The serialised partial state (version 1)

const STATE: &str = "cohort counts";

/// The cohort spec with its windows in milliseconds.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecRepr {
    anchor: CohortAnchor,
    granularity: Granularity,
    calendar: Calendar,
    window_ms: Option<i64>,
    step_windows_ms: Vec<(String, i64)>,
    cycles: CycleScope,
    confidence: Confidence,
    method: IntervalMethod,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LeadRepr {
    id: String,
    created: Option<Millis>,
    events: Vec<(Millis, u8)>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CountsRepr {
    version: StateVersion<1>,
    funnel: Funnel,
    paths: PathOptions,
    spec: SpecRepr,
    leads: Vec<LeadRepr>,
}

fn bad_state(what: String) -> Error {
    Error::from(ErrorKind::InvalidParameter {
        name: "partial state",
        value: STATE.to_string(),
        reason: what,
    })
}

fn check_time(ms: Millis) -> Result<Millis> {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|_| ms)
        .ok_or_else(|| bad_state(format!("time {ms} ms is out of range")))
}

impl Serialize for CohortCounts {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let spec = &self.spec;
        let mut leads: Vec<LeadRepr> = self
            .leads
            .iter()
            .map(|(id, l)| {
                let mut events = l.events.clone();
                events.sort_unstable();
                LeadRepr {
                    id: id.to_string(),
                    created: l.created,
                    events,
                }
            })
            .collect();
        leads.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        CountsRepr {
            version: StateVersion,
            funnel: self.funnel.clone(),
            paths: self.paths,
            spec: SpecRepr {
                anchor: spec.anchor.clone(),
                granularity: spec.granularity,
                calendar: spec.calendar,
                window_ms: spec.window.map(|w| w.num_milliseconds()),
                step_windows_ms: spec
                    .step_windows
                    .iter()
                    .map(|(k, w)| (k.clone(), w.num_milliseconds()))
                    .collect(),
                cycles: spec.cycles,
                confidence: spec.confidence,
                method: spec.method,
            },
            leads,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for CohortCounts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let state = CountsRepr::deserialize(d)?;
        CohortCounts::from_state(state).map_err(serde::de::Error::custom)
    }
}

impl CohortCounts {
    /// Counts from their serialised state, checked.
    fn from_state(st: CountsRepr) -> Result<CohortCounts> {
        let window = |ms: i64| {
            TimeDelta::try_milliseconds(ms)
                .ok_or_else(|| bad_state(format!("window {ms} ms is out of range")))
        };
        let r = st.spec;
        let spec = CohortSpec {
            anchor: r.anchor,
            granularity: r.granularity,
            calendar: r.calendar,
            window: r.window_ms.map(window).transpose()?,
            step_windows: r
                .step_windows_ms
                .into_iter()
                .map(|(k, ms)| Ok((k, window(ms)?)))
                .collect::<Result<_>>()?,
            cycles: r.cycles,
            breakdown: None,
            confidence: r.confidence,
            method: r.method,
        };
        let mut c = CohortCounts::new(st.funnel, st.paths, spec)?;
        let stages = c.funnel.stages().len();
        for l in st.leads {
            LeadId::new(l.id.as_str())
                .ok()
                .filter(|id| id.as_str() == l.id)
                .ok_or_else(|| bad_state(format!("lead {:?} is not a valid id", l.id)))?;
            if let Some(t) = l.created {
                check_time(t)?;
            }
            for &(at, stage) in &l.events {
                check_time(at)?;
                if usize::from(stage) >= stages {
                    return Err(bad_state(format!(
                        "stage {stage} is outside the funnel's {stages} stages"
                    )));
                }
            }
            let lead = LeadEvents {
                created: l.created,
                events: l.events,
            };
            if c.leads.insert(l.id.as_str().into(), lead).is_some() {
                return Err(bad_state(format!("lead {:?} is listed twice", l.id)));
            }
        }
        Ok(c)
    }
}
