//! Interning of leads and stage events: the dense, integer-keyed input of the
//! funnel engine, and its mergeable accumulator.

use crate::error::ErrorKind;
use std::collections::HashMap;
use std::hash::Hasher;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::definition::{Funnel, StageKind};
use crate::accumulate::{Accumulator, StateVersion};
use crate::error::{Error, RecordRef, Result};
use crate::hash::{FastMap, FxHasher};
use crate::ids::SubjectId;
use crate::records::{Lead, StageEvent};

use super::bucket::Dimension;
use super::table::{Codes, IdIndex, LeadTable};

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
    pub(crate) leads: LeadSource<'a>,
    pub(crate) created: Vec<Millis>,
    /// Funnel stage position → progression rank (open and won stages, in order).
    pub(crate) rank: Vec<Option<u8>>,
    /// Progression rank → funnel stage position.
    pub(crate) progression: Vec<usize>,
    /// What interned events refer to: see [`FunnelData::fingerprint`].
    pub(crate) link: Link,
}

/// Where the leads of a [`FunnelData`] live: borrowed records, or columns of its own
/// (read straight from a file).
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "csv"), allow(dead_code))] // only the CSV reader builds a table so far
pub(crate) enum LeadSource<'a> {
    Records {
        leads: &'a [Lead],
        index: FastMap<&'a str, u32>,
    },
    Table {
        table: Box<LeadTable>,
        index: IdIndex,
    },
}

impl LeadSource<'_> {
    /// The id of lead `i`.
    #[inline]
    pub(crate) fn id(&self, i: usize) -> Option<&str> {
        match self {
            LeadSource::Records { leads, .. } => leads.get(i).map(|l| l.id.as_str()),
            LeadSource::Table { table, .. } => table.id(i),
        }
    }

    /// The position of the lead with this id.
    #[inline]
    pub(crate) fn find(&self, id: &str) -> Option<u32> {
        match self {
            LeadSource::Records { index, .. } => index.get(id).copied(),
            LeadSource::Table { table, index } => index.get(id, |i| table.id(i)),
        }
    }
}

/// The values of one breakdown dimension, per lead.
pub(crate) enum DimensionValues<'d> {
    Records(&'d [Lead], &'d Dimension),
    Table(Option<&'d Codes>),
}

impl<'d> DimensionValues<'d> {
    /// Lead `i`'s value.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<&'d str> {
        match self {
            DimensionValues::Records(leads, dim) => leads.get(i).and_then(|l| dim.value(l)),
            DimensionValues::Table(codes) => codes.and_then(|c| c.get(i)),
        }
    }
}

/// What the integer keys of interned events refer to: a fingerprint of the funnel's
/// stages and the lead ids in order, with the counts that bound the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Link {
    pub(crate) fingerprint: u64,
    pub(crate) leads: u32,
    pub(crate) stages: u8,
}

/// The most progression stages a funnel may have for the engine (ranks fit a `u32`
/// bit mask).
pub const MAX_PROGRESSION_STAGES: usize = 32;

/// The progression rank of each funnel stage, and the stage of each rank.
fn stage_ranks(funnel: &Funnel) -> Result<(Vec<Option<u8>>, Vec<usize>)> {
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
    Ok((rank, progression))
}

/// At most `u32::MAX` leads (dense `u32` keys).
fn check_lead_count(n: usize) -> Result<()> {
    if u32::try_from(n).is_err() {
        return Err(Error::from(ErrorKind::InvalidParameter {
            name: "leads",
            value: n.to_string(),
            reason: format!("at most {} leads per batch", u32::MAX),
        }));
    }
    Ok(())
}

/// The fingerprint's start: the funnel's stage keys and kinds.
fn stage_fingerprint(funnel: &Funnel) -> FxHasher {
    let mut fingerprint = FxHasher::default();
    for st in funnel.stages() {
        fingerprint.write(st.key.as_bytes());
        fingerprint.write_u8(st.kind as u8);
    }
    fingerprint.write_u8(0xff);
    fingerprint
}

fn duplicate(id: &str, first: usize, second: usize) -> Error {
    Error::from(ErrorKind::DuplicateId {
        kind: "lead",
        id: id.to_string(),
        first,
        second,
    })
}

impl<'a> FunnelData<'a> {
    /// Interns `leads` for `funnel`.
    ///
    /// # Errors
    /// [`ErrorKind::DuplicateId`](crate::error::ErrorKind::DuplicateId) if two leads share an id; [`ErrorKind::InvalidFunnel`](crate::error::ErrorKind::InvalidFunnel) if the
    /// funnel has more than [`MAX_PROGRESSION_STAGES`] open and won stages or more
    /// than 255 stages; [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) if there are more than `u32::MAX`
    /// leads; a lead's own [`Lead::validate`] error, with its index.
    pub fn new(funnel: Funnel, leads: &'a [Lead]) -> Result<FunnelData<'a>> {
        let (rank, progression) = stage_ranks(&funnel)?;
        check_lead_count(leads.len())?;
        let mut index = FastMap::with_capacity_and_hasher(leads.len(), Default::default());
        let mut created = Vec::with_capacity(leads.len());
        let mut fingerprint = stage_fingerprint(&funnel);
        for (i, lead) in leads.iter().enumerate() {
            lead.validate().map_err(|e| e.at_index(i))?;
            // i < u32::MAX, checked above
            if let Some(first) = index.insert(lead.id.as_str(), i as u32) {
                return Err(duplicate(lead.id.as_str(), first as usize, i));
            }
            created.push(millis(&lead.created_at));
            fingerprint.write(lead.id.as_str().as_bytes());
            fingerprint.write_u8(0xff); // ids cannot hold 0xff: UTF-8
        }
        let link = Link {
            fingerprint: fingerprint.finish(),
            // checked above: at most u32::MAX leads and 255 stages
            leads: leads.len() as u32,
            stages: funnel.stages().len() as u8,
        };
        Ok(FunnelData {
            funnel,
            leads: LeadSource::Records { leads, index },
            created,
            rank,
            progression,
            link,
        })
    }

    /// Funnel data over leads held as columns (read straight from a file): the same
    /// checks, order and fingerprint as [`FunnelData::new`] over the same leads.
    /// `index` builds the id index of the table (one pass, or parts on several
    /// threads), or gives the first repeated id's two positions.
    #[cfg_attr(not(feature = "csv"), allow(dead_code))]
    pub(crate) fn from_table(
        funnel: Funnel,
        mut table: LeadTable,
        index: impl FnOnce(&LeadTable) -> std::result::Result<IdIndex, (usize, usize)>,
    ) -> Result<FunnelData<'static>> {
        let (rank, progression) = stage_ranks(&funnel)?;
        let n = table.len();
        check_lead_count(n)?;
        table.shrink();
        let ids = |i: usize| table.id(i).unwrap_or_default();
        let index =
            index(&table).map_err(|(first, second)| duplicate(ids(second), first, second))?;
        let mut fingerprint = stage_fingerprint(&funnel);
        for i in 0..n {
            fingerprint.write(ids(i).as_bytes());
            fingerprint.write_u8(0xff);
        }
        let link = Link {
            fingerprint: fingerprint.finish(),
            leads: n as u32,
            stages: funnel.stages().len() as u8,
        };
        table.free_hashes();
        let created = std::mem::take(&mut table.created);
        Ok(FunnelData {
            funnel,
            leads: LeadSource::Table {
                table: Box::new(table),
                index,
            },
            created,
            rank,
            progression,
            link,
        })
    }

    /// A 64-bit fingerprint of what interned events refer to: the funnel's stage keys
    /// and kinds in order, and the lead ids in order. Two `FunnelData` built from the
    /// same funnel and the same leads in the same order, in any process, have the
    /// same fingerprint; a [`FunnelEvents`] carries the fingerprint of the data it was
    /// interned against, and is refused by data with another one.
    pub fn fingerprint(&self) -> u64 {
        self.link.fingerprint
    }

    /// The funnel.
    pub fn funnel(&self) -> &Funnel {
        &self.funnel
    }

    /// The leads, in input order (a lead's position is its index in reports), when
    /// this data was built from records ([`FunnelData::new`]); `None` when it holds
    /// its leads as columns (read straight from a file, e.g. with
    /// `FunnelData::read_leads_csv`): then [`lead_id`](FunnelData::lead_id),
    /// [`created_at`](FunnelData::created_at) and [`value`](FunnelData::value) give
    /// what the engine keeps of each lead.
    pub fn leads(&self) -> Option<&'a [Lead]> {
        match &self.leads {
            LeadSource::Records { leads, .. } => Some(leads),
            LeadSource::Table { .. } => None,
        }
    }

    /// Number of leads.
    pub fn len(&self) -> usize {
        self.created.len()
    }

    /// Whether there are no leads.
    pub fn is_empty(&self) -> bool {
        self.created.is_empty()
    }

    /// The dense index of a lead, if known.
    pub fn lead_index(&self, subject: &SubjectId) -> Option<u32> {
        self.leads.find(subject.as_str())
    }

    /// The id of the lead at `index` (its position in input order).
    pub fn lead_id(&self, index: usize) -> Option<&str> {
        self.leads.id(index)
    }

    /// When the lead at `index` was created (to the millisecond: the engine's unit).
    pub fn created_at(&self, index: usize) -> Option<DateTime<Utc>> {
        self.created.get(index).map(|&ms| from_millis(ms))
    }

    /// The value of a breakdown dimension for the lead at `index`, as
    /// [`Dimension::value`] gives it for the lead's record.
    pub fn value(&self, index: usize, dimension: &Dimension) -> Option<&str> {
        match &self.leads {
            LeadSource::Records { leads, .. } => leads.get(index).and_then(|l| dimension.value(l)),
            LeadSource::Table { table, .. } => table.column(dimension).and_then(|c| c.get(index)),
        }
    }

    /// The names of the leads' attributes: over all leads when built from records,
    /// the attribute columns when read from a file (sorted).
    pub fn attribute_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = match &self.leads {
            LeadSource::Records { leads, .. } => leads
                .iter()
                .flat_map(|l| l.attributes.keys().map(String::as_str))
                .collect(),
            LeadSource::Table { table, .. } => table.attribute_names().collect(),
        };
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Every lead's value of a dimension.
    pub(crate) fn values<'d>(&'d self, dimension: &'d Dimension) -> DimensionValues<'d> {
        match &self.leads {
            LeadSource::Records { leads, .. } => DimensionValues::Records(leads, dimension),
            LeadSource::Table { table, .. } => DimensionValues::Table(table.column(dimension)),
        }
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
        let mut sink = EventSink::new(self);
        sink.out.events.reserve(events.len());
        for (i, e) in events.iter().enumerate() {
            let Some(stage) = sink.stage(&e.stage) else {
                return Err(sink.unknown_stage(&e.stage, i as u64, e.subject.as_str()));
            };
            sink.push(
                e.subject.as_str(),
                stage,
                millis(&e.at),
                e.reason.as_deref(),
            );
        }
        Ok(sink.finish())
    }
}

/// Interns stage events one at a time against a [`FunnelData`]: what
/// [`FunnelData::intern`] and the CSV reader share.
#[derive(Debug)]
pub(crate) struct EventSink<'d, 'a> {
    data: &'d FunnelData<'a>,
    pub(crate) out: FunnelEvents,
    /// Stage keys seen, with their positions (keys repeat: no hashing).
    cache: Vec<(Box<str>, u8)>,
    /// The last subject found (events come grouped by subject, often in lead order).
    cursor: u32,
    /// Events offered so far (the next one's position).
    pub(crate) seen: u64,
}

impl<'d, 'a> EventSink<'d, 'a> {
    pub(crate) fn new(data: &'d FunnelData<'a>) -> Self {
        EventSink {
            data,
            out: FunnelEvents {
                link: Some(data.link),
                ..FunnelEvents::default()
            },
            cache: Vec::new(),
            cursor: u32::MAX,
            seen: 0,
        }
    }

    /// The funnel position of a stage key, `None` when the funnel has no such stage.
    #[inline]
    pub(crate) fn stage(&mut self, key: &str) -> Option<u8> {
        if let Some(&(_, s)) = self.cache.iter().find(|(k, _)| **k == *key) {
            return Some(s);
        }
        // at most 255 stages, checked when the data was built
        let s = self.data.funnel.stage_index(key)? as u8;
        if self.cache.len() < 64 {
            self.cache.push((key.into(), s));
        }
        Some(s)
    }

    /// The error for an event (position `index`, `subject`) whose stage the funnel
    /// does not define.
    pub(crate) fn unknown_stage(&self, key: &str, index: u64, subject: &str) -> Error {
        self.data
            .funnel
            .resolve(key, || {
                RecordRef::new("stage event")
                    .with_index(index as usize)
                    .with_id(subject)
            })
            .err()
            .unwrap_or_else(|| {
                Error::from(ErrorKind::UnknownStage {
                    record: RecordRef::new("stage event")
                        .with_index(index as usize)
                        .with_id(subject),
                    key: key.to_string(),
                    funnel: self.data.funnel.name().to_string(),
                })
            })
    }

    /// Interns and appends the next event (counted as unknown when no lead has its
    /// subject).
    #[inline]
    pub(crate) fn push(&mut self, subject: &str, stage: u8, at: Millis, reason: Option<&str>) {
        let i = self.seen;
        self.seen += 1;
        let leads = &self.data.leads;
        let near = |c: u32| (leads.id(c as usize) == Some(subject)).then_some(c);
        let found = near(self.cursor)
            .or_else(|| near(self.cursor.wrapping_add(1)))
            .or_else(|| leads.find(subject));
        let Some(found) = found else {
            self.out.diagnostics.unknown_subject += 1;
            self.out
                .diagnostics
                .note("unknown subject", Some(i), subject);
            return;
        };
        self.cursor = found;
        let reason = match reason {
            Some(r) => self.out.reason_id(r),
            None => 0,
        };
        self.out.events.push(Ev {
            at,
            subject: found,
            reason,
            stage,
        });
    }

    /// The events interned, with the count of those offered.
    pub(crate) fn finish(mut self) -> FunnelEvents {
        self.out.diagnostics.events_read += self.seen;
        self.out
    }
}

/// An interned event (24 bytes). Its input order is its position in
/// [`FunnelEvents`] (merging appends, so positions follow the concatenated input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    /// entry is kept), a won stage entered again after the cycle was won there
    /// included: a second `won` row is not a second win.
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
    pub(crate) fn note(&mut self, why: &str, index: Option<u64>, subject: &str) {
        if self.examples.len() < 10 {
            self.examples.push(SkippedEvent {
                why: why.to_string(),
                index,
                subject: subject.to_string(),
            });
        }
    }

    pub(crate) fn note_subject(&mut self, why: &'static str, id: &SubjectId) {
        self.note(why, None, id.as_str());
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
/// It follows the [`Accumulator`] contract: [`Default`] (or
/// [`new`](FunnelEvents::new)) is empty; [`add`](FunnelEvents::add) interns one
/// event and [`add_batch`](FunnelEvents::add_batch) a batch, against the
/// [`FunnelData`] they need as context; [`merge`](FunnelEvents::merge) appends
/// another accumulator (as if its input came after this one's);
/// [`paths`](FunnelEvents::paths) finishes it into per-subject paths, again with the
/// data. Merging partials built from any split of the input gives the same paths as
/// one pass over everything, so batches can be interned in parallel, streamed, or in
/// other processes. The trait's item is an interned batch (what
/// [`FunnelData::intern`] returns; adding it merges it) and its
/// [`finish`](Accumulator::finish) gives the [`FunnelDiagnostics`], the part that
/// needs no data.
///
/// # The link to the funnel data
///
/// Interned events refer to leads and stages by integer keys, meaningful only with
/// the [`FunnelData`] they were interned against. The accumulator carries that
/// data's [`fingerprint`](FunnelData::fingerprint) (funnel stages and lead ids in
/// order) with its lead and stage counts: a partial state shipped to another process
/// is meaningful there when that process builds its `FunnelData` from the same funnel
/// and the same leads in the same order. [`add`](FunnelEvents::add),
/// [`add_batch`](FunnelEvents::add_batch) and [`merge`](FunnelEvents::merge) refuse
/// events interned against other data, and [`check`](FunnelEvents::check) tells
/// whether given data is the right one. [`paths`](FunnelEvents::paths) with other
/// data uses none of the events and counts them all as
/// [`unknown_subject`](FunnelDiagnostics::unknown_subject) (naming the mismatch in
/// the diagnostics' examples).
///
/// # Serialised form
///
/// `{"version": 1, "link": null | {"fingerprint": 1234…, "leads": 2, "stages": 9},
/// "events": [{"at": 1767571200000, "subject": 0, "reason": 0, "stage": 2}, …],
/// "reasons": ["no budget", …], "diagnostics": {…}}`: the state version
/// ([`STATE_VERSION`](Accumulator::STATE_VERSION), refused when it is another
/// number), the link (`null` for a state that never saw an event), the events in
/// input order (`at` in milliseconds since the Unix epoch, `subject` the lead's
/// index, `stage` the stage's position in the funnel, `reason` 0 for none or the
/// 1-based position in `reasons`), the distinct exit reasons, and the
/// [`FunnelDiagnostics`]. A state read back is checked: every key within the
/// link's counts, reasons distinct.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(try_from = "EventsRepr", into = "EventsRepr")]
pub struct FunnelEvents {
    link: Option<Link>,
    pub(crate) events: Vec<Ev>,
    pub(crate) reasons: Vec<String>,
    reason_ids: HashMap<String, u32>,
    pub(crate) diagnostics: FunnelDiagnostics,
}

/// The serialised form of [`FunnelEvents`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsRepr {
    version: StateVersion<1>,
    link: Option<Link>,
    events: Vec<Ev>,
    reasons: Vec<String>,
    diagnostics: FunnelDiagnostics,
}

impl From<FunnelEvents> for EventsRepr {
    fn from(e: FunnelEvents) -> Self {
        EventsRepr {
            version: StateVersion,
            link: e.link,
            events: e.events,
            reasons: e.reasons,
            diagnostics: e.diagnostics,
        }
    }
}

impl TryFrom<EventsRepr> for FunnelEvents {
    type Error = Error;

    fn try_from(r: EventsRepr) -> Result<Self> {
        let invalid = |i: usize, reason: String| {
            Error::from(ErrorKind::InvalidField {
                record: RecordRef::new("interned stage event").with_index(i),
                field: "events",
                reason,
            })
        };
        let link = r.link.unwrap_or(Link {
            fingerprint: 0,
            leads: 0,
            stages: 0,
        });
        for (i, e) in r.events.iter().enumerate() {
            if e.subject >= link.leads || e.stage >= link.stages {
                return Err(invalid(
                    i,
                    format!(
                        "lead {} or stage {} outside the {} leads and {} stages of the funnel data",
                        e.subject, e.stage, link.leads, link.stages
                    ),
                ));
            }
            if e.reason as usize > r.reasons.len() {
                return Err(invalid(i, format!("reason {} is not listed", e.reason)));
            }
        }
        let mut out = FunnelEvents {
            link: r.link,
            events: r.events,
            diagnostics: r.diagnostics,
            ..FunnelEvents::default()
        };
        for reason in &r.reasons {
            if out.reason_ids.contains_key(reason) {
                return Err(Error::from(ErrorKind::InvalidParameter {
                    name: "reasons",
                    value: reason.clone(),
                    reason: "a serialised funnel state lists each exit reason once".into(),
                }));
            }
            out.reason_id(reason);
        }
        Ok(out)
    }
}

/// Equal when the link, the events (in order, with their reasons) and the
/// diagnostics are equal.
impl PartialEq for FunnelEvents {
    fn eq(&self, other: &Self) -> bool {
        self.link == other.link
            && self.events == other.events
            && self.reasons == other.reasons
            && self.diagnostics == other.diagnostics
    }
}

impl FunnelEvents {
    /// An empty accumulator (the same as [`Default`]); it takes the link of the
    /// first data it sees.
    pub fn new() -> FunnelEvents {
        FunnelEvents::default()
    }

    fn reason_id(&mut self, r: &str) -> u32 {
        if let Some(&id) = self.reason_ids.get(r) {
            return id;
        }
        self.reasons.push(r.to_string());
        let id = self.reasons.len() as u32; // 0 means "no reason"
        self.reason_ids.insert(r.to_string(), id);
        id
    }

    /// Events already interned against `data` (lead indices and funnel stage
    /// positions within it), in input order, with what interning counted.
    pub(crate) fn interned(
        data: &FunnelData<'_>,
        events: Vec<Ev>,
        diagnostics: FunnelDiagnostics,
    ) -> FunnelEvents {
        FunnelEvents {
            link: Some(data.link),
            events,
            diagnostics,
            ..FunnelEvents::default()
        }
    }

    /// Checks that these events were interned against `data` (or are empty of any
    /// link): the same funnel and the same leads in the same order.
    ///
    /// ```
    /// use revops::{Funnel, funnel::FunnelData, funnel::FunnelEvents, Lead, LeadId, StageEvent, SubjectId};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap();
    /// let one = vec![Lead::new(LeadId::new("a")?, t)];
    /// let two = vec![Lead::new(LeadId::new("a")?, t), Lead::new(LeadId::new("b")?, t)];
    /// let (d1, d2) = (FunnelData::new(Funnel::demand_waterfall(), &one)?,
    ///                 FunnelData::new(Funnel::demand_waterfall(), &two)?);
    /// let mut acc = FunnelEvents::new();
    /// acc.add(&d1, &StageEvent::new(SubjectId::new("a")?, "mql", t))?;
    /// assert!(acc.check(&d1).is_ok());
    /// assert!(acc.check(&d2).is_err());
    /// assert!(acc.add(&d2, &StageEvent::new(SubjectId::new("b")?, "mql", t)).is_err());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::MergeMismatch`](crate::error::ErrorKind::MergeMismatch) when `data` has another
    /// fingerprint.
    pub fn check(&self, data: &FunnelData<'_>) -> Result<()> {
        linked(self.link, Some(data.link)).map(|_| ())
    }

    /// Interns and appends one event.
    ///
    /// # Errors
    /// As [`add_batch`](FunnelEvents::add_batch).
    pub fn add(&mut self, data: &FunnelData<'_>, event: &StageEvent) -> Result<()> {
        self.add_batch(data, std::slice::from_ref(event))
    }

    /// Interns and appends a batch of events.
    ///
    /// # Errors
    /// As [`FunnelData::intern`]; as [`check`](FunnelEvents::check) when `data` is
    /// not the data of the events already held. Nothing is added then.
    pub fn add_batch(&mut self, data: &FunnelData<'_>, events: &[StageEvent]) -> Result<()> {
        self.check(data)?;
        let batch = data.intern(events)?;
        self.merge(&batch)
    }

    /// Appends another accumulator's events, as if they came after this one's input.
    ///
    /// # Errors
    /// [`ErrorKind::MergeMismatch`](crate::error::ErrorKind::MergeMismatch) when the two were interned
    /// against different funnel data (see [`FunnelData::fingerprint`]); `self` is
    /// unchanged then.
    pub fn merge(&mut self, other: &FunnelEvents) -> Result<()> {
        self.link = linked(self.link, other.link)?;
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
        Ok(())
    }

    /// The events to reconstruct paths from with `data`: all of them when they were
    /// interned against it, none otherwise (then counted as unknown subjects in
    /// `diagnostics`, with the mismatch named).
    pub(crate) fn events_for(
        &self,
        data: &FunnelData<'_>,
        diagnostics: &mut FunnelDiagnostics,
    ) -> &[Ev] {
        if self.check(data).is_ok() {
            return &self.events;
        }
        diagnostics.unknown_subject += self.events.len() as u64;
        if diagnostics.examples.len() < 10 {
            diagnostics.examples.push(SkippedEvent {
                why: "interned against other funnel data (fingerprint differs)".into(),
                index: None,
                subject: format!("all {} events", self.events.len()),
            });
        }
        &[]
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

/// The link of two partial states together: either, when the other has none.
fn linked(mine: Option<Link>, theirs: Option<Link>) -> Result<Option<Link>> {
    match (mine, theirs) {
        (Some(a), Some(b)) if a != b => Err(Error::from(ErrorKind::MergeMismatch {
            what: "funnel events",
            reason: format!(
                "interned against other funnel data (fingerprint {:016x}, {} leads, {} stages; \
                 these: {:016x}, {} leads, {} stages): build the FunnelData from the same \
                 funnel and the same leads in the same order",
                b.fingerprint, b.leads, b.stages, a.fingerprint, a.leads, a.stages
            ),
        })),
        (Some(a), _) => Ok(Some(a)),
        (None, b) => Ok(b),
    }
}

/// An interned batch is the record; adding it merges it. Finishing gives the
/// diagnostics (paths need the [`FunnelData`]: [`FunnelEvents::paths`]).
impl Accumulator for FunnelEvents {
    type Item = FunnelEvents;
    type Output = FunnelDiagnostics;
    const STATE_VERSION: u32 = 1;

    fn add(&mut self, item: &FunnelEvents) -> Result<()> {
        FunnelEvents::merge(self, item)
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        FunnelEvents::merge(self, other)
    }

    fn finish(&self) -> Result<FunnelDiagnostics> {
        Ok(self.diagnostics.clone())
    }
}
