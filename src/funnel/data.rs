//! Interning of leads and stage events: the dense, integer-keyed input of the
//! funnel engine, and its mergeable accumulator.

use crate::error::ErrorKind;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::definition::{Funnel, StageKind};
use crate::error::{Error, RecordRef, Result};
use crate::hash::FastMap;
use crate::ids::SubjectId;
use crate::records::{Lead, StageEvent};

/// Milliseconds since the Unix epoch: the engine's internal time unit.
pub(crate) type Millis = i64;

pub(crate) fn millis(t: &DateTime<Utc>) -> Millis {
    t.timestamp_millis()
}

pub(crate) fn from_millis(ms: Millis) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The leads a funnel is measured over, interned once: each lead gets a dense index
/// (`u32`) and each stage key of the funnel a small integer, so that the engine's
/// hot loops touch no strings.
///
/// Build it once per batch of leads and reuse it for every report.
///
/// ```
/// use revops::{Funnel, funnel::FunnelData, Lead, LeadId};
/// use chrono::{TimeZone, Utc};
/// # fn main() -> Result<(), revops::Error> {
/// let t = Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap();
/// let leads = vec![Lead::new(LeadId::new("L1")?, t), Lead::new(LeadId::new("L2")?, t)];
/// let data = FunnelData::new(Funnel::demand_waterfall(), &leads)?;
/// assert_eq!(data.len(), 2);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct FunnelData<'a> {
    pub(crate) funnel: Funnel,
    pub(crate) leads: &'a [Lead],
    pub(crate) index: FastMap<&'a str, u32>,
    pub(crate) created: Vec<Millis>,
    /// Funnel stage position → progression rank (open and won stages, in order).
    pub(crate) rank: Vec<Option<u8>>,
    /// Progression rank → funnel stage position.
    pub(crate) progression: Vec<usize>,
}

/// The most progression stages a funnel may have for the engine (ranks fit a `u32`
/// bit mask).
pub const MAX_PROGRESSION_STAGES: usize = 32;

impl<'a> FunnelData<'a> {
    /// Interns `leads` for `funnel`.
    ///
    /// # Errors
    /// [`ErrorKind::DuplicateId`](crate::error::ErrorKind::DuplicateId) if two leads share an id; [`ErrorKind::InvalidFunnel`](crate::error::ErrorKind::InvalidFunnel) if the
    /// funnel has more than [`MAX_PROGRESSION_STAGES`] open and won stages or more
    /// than 255 stages; [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) if there are more than `u32::MAX`
    /// leads; a lead's own [`Lead::validate`] error, with its index.
    pub fn new(funnel: Funnel, leads: &'a [Lead]) -> Result<FunnelData<'a>> {
        if funnel.stages().len() > usize::from(u8::MAX) {
            return Err(Error::from(ErrorKind::InvalidFunnel {
                funnel: funnel.name().to_string(),
                reason: "the funnel engine supports at most 255 stages".into(),
            }));
        }
        let progression: Vec<usize> = funnel.progression().map(|(i, _)| i).collect();
        if progression.len() > MAX_PROGRESSION_STAGES {
            return Err(Error::from(ErrorKind::InvalidFunnel {
                funnel: funnel.name().to_string(),
                reason: format!(
                    "the funnel engine supports at most {MAX_PROGRESSION_STAGES} open and won stages"
                ),
            }));
        }
        let mut rank = vec![None; funnel.stages().len()];
        for (r, &i) in progression.iter().enumerate() {
            rank[i] = u8::try_from(r).ok();
        }
        if u32::try_from(leads.len()).is_err() {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "leads",
                value: leads.len().to_string(),
                reason: format!("at most {} leads per batch", u32::MAX),
            }));
        }
        let mut index = FastMap::with_capacity_and_hasher(leads.len(), Default::default());
        let mut created = Vec::with_capacity(leads.len());
        for (i, lead) in leads.iter().enumerate() {
            lead.validate().map_err(|e| e.at_index(i))?;
            // i < u32::MAX, checked above
            if let Some(first) = index.insert(lead.id.as_str(), i as u32) {
                return Err(Error::from(ErrorKind::DuplicateId {
                    kind: "lead",
                    id: lead.id.to_string(),
                    first: first as usize,
                    second: i,
                }));
            }
            created.push(millis(&lead.created_at));
        }
        Ok(FunnelData {
            funnel,
            leads,
            index,
            created,
            rank,
            progression,
        })
    }

    /// The funnel.
    pub fn funnel(&self) -> &Funnel {
        &self.funnel
    }

    /// The leads, in input order (a lead's position is its index in reports).
    pub fn leads(&self) -> &'a [Lead] {
        self.leads
    }

    /// Number of leads.
    pub fn len(&self) -> usize {
        self.leads.len()
    }

    /// Whether there are no leads.
    pub fn is_empty(&self) -> bool {
        self.leads.is_empty()
    }

    /// The dense index of a lead, if known.
    pub fn lead_index(&self, subject: &SubjectId) -> Option<u32> {
        self.index.get(subject.as_str()).copied()
    }

    /// Number of progression (open and won) stages.
    pub fn progression_len(&self) -> usize {
        self.progression.len()
    }

    /// Keys of the progression stages, in order.
    pub fn progression_keys(&self) -> Vec<&str> {
        self.progression
            .iter()
            .map(|&i| self.funnel.stages()[i].key.as_str())
            .collect()
    }

    /// Progression rank of a stage key, if it is an open or won stage.
    pub fn rank_of(&self, key: &str) -> Option<usize> {
        self.funnel
            .stage_index(key)
            .and_then(|i| self.rank[i])
            .map(usize::from)
    }

    pub(crate) fn kind(&self, stage: u8) -> StageKind {
        self.funnel.stages()[usize::from(stage)].kind
    }

    /// Interns a batch of events: every event's subject and stage is resolved once.
    /// The result can be added to any number of accumulators and reports.
    ///
    /// # Errors
    /// [`ErrorKind::UnknownStage`](crate::error::ErrorKind::UnknownStage) naming the event (index and subject) for a stage the
    /// funnel does not define. Events for unknown leads are not errors: they are
    /// counted in [`FunnelDiagnostics::unknown_subject`].
    pub fn intern(&self, events: &[StageEvent]) -> Result<FunnelEvents> {
        let mut out = FunnelEvents::default();
        out.events.reserve(events.len());
        // Stage keys repeat: cache the last few lookups by string content.
        let mut cache: Vec<(String, u8)> = Vec::new();
        let mut cursor: u32 = u32::MAX;
        for (i, e) in events.iter().enumerate() {
            let stage = match cache.iter().find(|(k, _)| *k == e.stage) {
                Some(&(_, s)) => s,
                None => {
                    let s = self.funnel.resolve(&e.stage, || {
                        RecordRef::new("stage event")
                            .with_index(i)
                            .with_id(&e.subject)
                    })?;
                    // at most 255 stages, checked in `new`
                    let s = s as u8;
                    if cache.len() < 64 {
                        cache.push((e.stage.clone(), s));
                    }
                    s
                }
            };
            // Events usually come grouped by subject, often in lead order: try the
            // previous lead and the next one before the hash map.
            let id = e.subject.as_str();
            let near = |i: u32| {
                self.leads
                    .get(i as usize)
                    .is_some_and(|l| l.id.as_str() == id)
                    .then_some(i)
            };
            let subject = near(cursor)
                .or_else(|| near(cursor.wrapping_add(1)))
                .or_else(|| self.index.get(id).copied());
            if let Some(s) = subject {
                cursor = s;
            }
            let Some(subject) = subject else {
                out.diagnostics.unknown_subject += 1;
                out.diagnostics
                    .note("unknown subject", Some(i as u64), &e.subject);
                continue;
            };
            let reason = match &e.reason {
                Some(r) => out.reason_id(r),
                None => 0,
            };
            out.events.push(Ev {
                at: millis(&e.at),
                subject,
                reason,
                stage,
            });
        }
        out.diagnostics.events_read += events.len() as u64;
        Ok(out)
    }
}

/// An interned event (24 bytes). Its input order is its position in
/// [`FunnelEvents`] (merging appends, so positions follow the concatenated input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ev {
    pub(crate) at: Millis,
    pub(crate) subject: u32,
    pub(crate) reason: u32,
    pub(crate) stage: u8,
}

/// What the funnel engine did not use, and why. Nothing is dropped silently: every
/// skipped event is counted here, and the first few are named in `examples`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunnelDiagnostics {
    /// Events offered to the engine.
    pub events_read: u64,
    /// Events for a subject that is not among the leads (skipped).
    pub unknown_subject: u64,
    /// Events dated before their lead's creation (skipped).
    pub before_creation: u64,
    /// Events dated after the report's `as_of` (not yet known at that date; skipped).
    pub after_as_of: u64,
    /// Leads created after the paths' `as_of` (not yet known at that date): they have
    /// no cycle, so no report counts them (their events are counted as
    /// `after_as_of`, or `before_creation` when dated before the lead). Set by
    /// path reconstruction ([`crate::funnel::Paths::diagnostics`]); not part of
    /// [`skipped`](Self::skipped), which counts events.
    #[serde(default)]
    pub leads_after_as_of: u64,
    /// Repeated entries into a stage already reached in the same cycle (the first
    /// entry is kept).
    pub repeated: u64,
    /// Moves back to an earlier stage (handled by the backward policy: ignored, or
    /// starting a new cycle).
    pub backward: u64,
    /// Exit events (lost, disqualified, recycled) after the cycle had already ended,
    /// without a new entry in between (skipped).
    pub exit_after_exit: u64,
    /// Up to ten of the skipped records, for a first look (in input order).
    pub examples: Vec<SkippedEvent>,
}

/// A skipped stage event, named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedEvent {
    /// Why it was skipped.
    pub why: String,
    /// Its position in the input (across merged batches: in the concatenated input),
    /// when known at the time it was skipped.
    pub index: Option<u64>,
    /// Its subject.
    pub subject: String,
}

impl std::fmt::Display for SkippedEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "stage event")?;
        if let Some(i) = self.index {
            write!(f, " #{i}")?;
        }
        write!(f, " (subject {}): {}", self.subject, self.why)
    }
}

impl FunnelDiagnostics {
    fn note(&mut self, why: &str, index: Option<u64>, subject: &SubjectId) {
        if self.examples.len() < 10 {
            self.examples.push(SkippedEvent {
                why: why.to_string(),
                index,
                subject: subject.to_string(),
            });
        }
    }

    pub(crate) fn note_subject(&mut self, why: &'static str, id: &SubjectId) {
        self.note(why, None, id);
    }

    /// Adds another set of counts (merging partial results; the other's input is taken
    /// to come after this one's).
    pub fn merge(&mut self, o: &FunnelDiagnostics) {
        self.unknown_subject += o.unknown_subject;
        self.before_creation += o.before_creation;
        self.after_as_of += o.after_as_of;
        self.leads_after_as_of += o.leads_after_as_of;
        self.repeated += o.repeated;
        self.backward += o.backward;
        self.exit_after_exit += o.exit_after_exit;
        let offset = self.events_read;
        self.events_read += o.events_read;
        for e in &o.examples {
            if self.examples.len() < 10 {
                self.examples.push(SkippedEvent {
                    index: e.index.map(|i| i + offset),
                    ..e.clone()
                });
            }
        }
    }

    /// Events skipped for any reason.
    pub fn skipped(&self) -> u64 {
        self.unknown_subject
            + self.before_creation
            + self.after_as_of
            + self.repeated
            + self.exit_after_exit
    }
}

impl std::fmt::Display for FunnelDiagnostics {
    /// One line: what was read, what was skipped and why, and backward moves.
    ///
    /// Leads created after the as-of date, when there are any, close the line.
    ///
    /// ```
    /// let mut d = revops::funnel::FunnelDiagnostics::default();
    /// assert_eq!(
    ///     d.to_string(),
    ///     "events: 0 read, 0 skipped (unknown lead 0, before creation 0, after as-of 0, \
    ///      repeated 0, after exit 0); 0 backward moves"
    /// );
    /// d.leads_after_as_of = 3;
    /// assert!(d.to_string().ends_with("; 3 leads created after as-of (left out)"));
    /// ```
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "events: {} read, {} skipped (unknown lead {}, before creation {}, after as-of {}, repeated {}, after exit {}); {} backward moves",
            self.events_read,
            self.skipped(),
            self.unknown_subject,
            self.before_creation,
            self.after_as_of,
            self.repeated,
            self.exit_after_exit,
            self.backward
        )?;
        if self.leads_after_as_of > 0 {
            write!(
                f,
                "; {} leads created after as-of (left out)",
                self.leads_after_as_of
            )?;
        }
        Ok(())
    }
}

/// Stage events interned against a [`FunnelData`]: the funnel engine's mergeable
/// accumulator.
///
/// It is a monoid: [`Default`] is empty, [`FunnelEvents::add`] appends a batch,
/// [`FunnelEvents::merge`] appends another accumulator (as if its input came after
/// this one's), and [`FunnelEvents::paths`] finishes it into per-subject paths.
/// Merging partials built from any split of the input gives the same paths as one
/// pass over everything, so batches can be interned in parallel or streamed.
#[derive(Debug, Clone, Default)]
pub struct FunnelEvents {
    pub(crate) events: Vec<Ev>,
    pub(crate) reasons: Vec<String>,
    reason_ids: HashMap<String, u32>,
    pub(crate) diagnostics: FunnelDiagnostics,
}

impl FunnelEvents {
    fn reason_id(&mut self, r: &str) -> u32 {
        if let Some(&id) = self.reason_ids.get(r) {
            return id;
        }
        self.reasons.push(r.to_string());
        let id = self.reasons.len() as u32; // 0 means "no reason"
        self.reason_ids.insert(r.to_string(), id);
        id
    }

    /// Interns and appends a batch of events.
    ///
    /// # Errors
    /// As [`FunnelData::intern`].
    pub fn add(&mut self, data: &FunnelData<'_>, events: &[StageEvent]) -> Result<()> {
        let batch = data.intern(events)?;
        self.merge(&batch);
        Ok(())
    }

    /// Appends another accumulator's events, as if they came after this one's input.
    pub fn merge(&mut self, other: &FunnelEvents) {
        let map: Vec<u32> = other.reasons.iter().map(|r| self.reason_id(r)).collect();
        self.events.extend(other.events.iter().map(|e| Ev {
            reason: if e.reason == 0 {
                0
            } else {
                map[e.reason as usize - 1]
            },
            ..*e
        }));
        self.diagnostics.merge(&other.diagnostics);
    }

    /// Number of events held.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether no event is held.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The counts of what was skipped while interning.
    pub fn diagnostics(&self) -> &FunnelDiagnostics {
        &self.diagnostics
    }
}
