//! Journeys: the ordered touches of a subject up to its conversion, interned into
//! dense arrays; built from touches, conversions and stage events, or from
//! aggregated path rows.

use crate::error::ErrorKind;
use std::hash::Hash;

use crate::hash::FastMap;

use chrono::{DateTime, TimeDelta, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

pub(super) mod state;

use super::rules::normalise_key;
use crate::accumulate::Accumulator;
use crate::error::{Error, RecordRef, Result};
use crate::ids::{CampaignId, Channel, SubjectId};
use crate::money::Currency;
use crate::records::{Conversion, PathRow, StageEvent, Touch};

/// "No time": touches and ends of journeys built from path rows.
pub(crate) const NO_TIME: i64 = i64::MIN;
/// The weights `(1, 0)`: a converted journey.
pub(crate) const CONVERTED: u32 = u32::MAX;
/// The weights `(0, 1)`: a journey that did not convert.
pub(crate) const NOT_CONVERTED: u32 = u32::MAX - 1;
/// "No value slot": a journey whose value is `Decimal::ZERO`.
pub(crate) const NO_VALUE: u32 = u32::MAX;
/// "No subject": journeys built from path rows.
pub(crate) const NO_SUBJECT: u32 = u32::MAX;
/// "No campaign" in a (channel, campaign) pair.
pub(crate) const NO_CAMPAIGN: u32 = u32::MAX;

#[inline]
fn micros(t: &DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub(crate) fn from_micros(us: i64) -> Option<DateTime<Utc>> {
    if us == NO_TIME {
        None
    } else {
        DateTime::from_timestamp_micros(us)
    }
}

// ---------------------------------------------------------------------------------
// Interning

/// Names interned to dense `u32` ids, in order of first appearance: the crate's one
/// interner.
pub(crate) type Dict<K> = crate::intern::Interner<K>;

/// A direct-mapped cache of (channel, campaign) → pair id keyed by the addresses and
/// lengths of the strings.
struct PairCache {
    slots: Vec<([usize; 4], u32)>,
}

impl Default for PairCache {
    fn default() -> Self {
        PairCache {
            slots: vec![([0; 4], u32::MAX); 256],
        }
    }
}

impl PairCache {
    #[inline]
    fn channel_key(c: &Channel) -> [usize; 4] {
        [c.as_str().as_ptr() as usize, c.as_str().len(), 0, 0]
    }

    #[inline]
    fn key(t: &Touch) -> [usize; 4] {
        let c = t.channel.as_str();
        let (k, kl) = t
            .campaign
            .as_ref()
            .map_or((0, 0), |k| (k.as_str().as_ptr() as usize, k.as_str().len()));
        [c.as_ptr() as usize, c.len(), k, kl]
    }

    #[inline]
    fn slot(key: &[usize; 4]) -> usize {
        ((key[0] >> 3) ^ (key[2] >> 3).wrapping_mul(31)) & 255
    }

    #[inline]
    fn get(&self, key: [usize; 4]) -> Option<u32> {
        let (k, id) = self.slots[Self::slot(&key)];
        (k == key && id != u32::MAX).then_some(id)
    }

    #[inline]
    fn put(&mut self, key: [usize; 4], id: u32) {
        self.slots[Self::slot(&key)] = (key, id);
    }
}

/// (channel, campaign) pairs interned to dense ids: a touch stores one `u32`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pairs {
    pub(crate) list: Vec<(u32, u32)>,
    ids: FastMap<(u32, u32), u32>,
}

impl Pairs {
    #[inline]
    fn intern(&mut self, pair: (u32, u32)) -> u32 {
        if let Some(&id) = self.ids.get(&pair) {
            return id;
        }
        // Pairs are at most (channels × (campaigns + 1)) and in practice few; the
        // id space is bounded by the touches, which are counted in `usize`.
        let id = self.list.len() as u32;
        self.list.push(pair);
        self.ids.insert(pair, id);
        id
    }
}

/// Subject names in one byte arena, in order of interning: no allocation per subject.
/// Shared (behind an `Arc`) between a builder and the journeys built from it.
#[derive(Debug, Clone, Default)]
pub(crate) struct SubjectNames {
    text: String,
    ends: Vec<usize>,
}

impl SubjectNames {
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    #[inline]
    pub(crate) fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    fn push(&mut self, name: &str) {
        self.text.push_str(name);
        self.ends.push(self.text.len());
    }

    fn append(&mut self, other: &SubjectNames) {
        let base = self.text.len();
        self.text.push_str(&other.text);
        self.ends.extend(other.ends.iter().map(|e| e + base));
    }
}

#[inline]
fn hash_name(name: &str) -> u64 {
    let mut h = crate::hash::FxHasher::default();
    std::hash::Hasher::write(&mut h, name.as_bytes());
    std::hash::Hasher::finish(&h)
}

/// Subjects interned to dense `u32` ids (in order of first appearance): the names in
/// a [`SubjectNames`] arena. While names arrive in strictly increasing order (ids
/// from a sequence, files sorted by subject), a name is found by binary search and a
/// new one is appended without hashing; otherwise through an open-addressing table
/// of ids (linear probing, at most half full), built on first need. Either way a
/// subject costs its bytes and about 16 bytes.
#[derive(Debug, Clone)]
pub(crate) struct Subjects {
    pub(crate) names: std::sync::Arc<SubjectNames>,
    /// Whether the names are in strictly increasing order (then `slots` is empty).
    ascending: bool,
    /// `id + 1` per slot (0: empty); the length is zero or a power of two.
    slots: Vec<u32>,
}

impl Default for Subjects {
    fn default() -> Self {
        Subjects {
            names: Default::default(),
            ascending: true,
            slots: Vec::new(),
        }
    }
}

impl Subjects {
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    #[inline]
    pub(crate) fn name(&self, id: u32) -> &str {
        self.names.get(id as usize)
    }

    /// The id of a name in ascending names, searching from near `hint`.
    fn find_sorted(&self, name: &str, hint: u32) -> std::result::Result<u32, u32> {
        let n = self.len();
        let (mut lo, mut hi) = (0usize, n);
        // Gallop from the hint: records grouped by subject look up nearby names.
        let h = (hint as usize).min(n.saturating_sub(1));
        if n > 0 {
            if self.names.get(h) <= name {
                lo = h;
                let mut step = 1;
                while lo + step < n && self.names.get(lo + step) <= name {
                    lo += step;
                    step *= 2;
                }
                hi = (lo + step).min(n);
            } else {
                hi = h;
                let mut step = 1;
                while hi >= step && self.names.get(hi - step) > name {
                    hi -= step;
                    step *= 2;
                }
                lo = hi.saturating_sub(step);
            }
        }
        // Now names[lo] ≤ name < names[hi] where those exist; binary search between.
        let slice_search = |mut lo: usize, mut hi: usize| {
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                match self.names.get(mid).cmp(name) {
                    std::cmp::Ordering::Less => lo = mid + 1,
                    std::cmp::Ordering::Greater => hi = mid,
                    std::cmp::Ordering::Equal => return Ok(mid as u32),
                }
            }
            Err(lo as u32)
        };
        slice_search(lo, hi)
    }

    /// The id of a (trimmed, non-empty) name, interning it if new; `hint` is an id
    /// likely near it. Ids stay below `u32::MAX − 1`.
    pub(crate) fn intern(&mut self, name: &str, hint: u32) -> Result<u32> {
        if self.ascending {
            let n = self.len();
            if n == 0 || self.names.get(n - 1) < name {
                return self.push(name);
            }
            if let Ok(id) = self.find_sorted(name, hint) {
                return Ok(id);
            }
            // Out of order: from now on, the hash table.
            self.ascending = false;
            self.grow(n + 1);
        }
        if (self.len() + 1) * 2 > self.slots.len() {
            self.grow(self.len() + 1);
        }
        let mask = self.slots.len() - 1;
        let mut i = hash_name(name) as usize & mask;
        loop {
            let slot = self.slots[i];
            if slot == 0 {
                break;
            }
            if self.names.get(slot as usize - 1) == name {
                return Ok(slot - 1);
            }
            i = (i + 1) & mask;
        }
        let id = self.push(name)?;
        self.slots[i] = id + 1;
        Ok(id)
    }

    fn push(&mut self, name: &str) -> Result<u32> {
        let id = u32::try_from(self.len())
            .ok()
            .filter(|&i| i < u32::MAX - 1)
            .ok_or_else(|| {
                crate::error::capacity(
                    "distinct ids of one kind",
                    self.len(),
                    u64::from(u32::MAX - 1),
                )
            })?;
        std::sync::Arc::make_mut(&mut self.names).push(name);
        Ok(id)
    }

    /// Makes room for `n` names in the table (at most half full).
    fn grow(&mut self, n: usize) {
        if self.ascending {
            return;
        }
        let want = (n * 2).next_power_of_two().max(16);
        if want <= self.slots.len() {
            return;
        }
        self.slots = vec![0; want];
        let mask = want - 1;
        for id in 0..self.names.len() {
            let mut i = hash_name(self.names.get(id)) as usize & mask;
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = id as u32 + 1;
        }
    }

    fn reserve(&mut self, additional: usize) {
        self.grow(self.len() + additional);
    }
}

/// The channels, campaigns, pairs and stage keys of one set of journeys.
#[derive(Debug, Clone, Default)]
pub(crate) struct Names {
    pub(crate) channels: Dict<Channel>,
    pub(crate) campaigns: Dict<CampaignId>,
    pub(crate) pairs: Pairs,
    pub(crate) stages: Dict<String>,
}

impl Names {
    fn pair(&mut self, channel: &Channel, campaign: Option<&CampaignId>) -> Result<u32> {
        let c = self.channels.intern(channel)?;
        let k = match campaign {
            Some(k) => self.campaigns.intern(k)?,
            None => NO_CAMPAIGN,
        };
        Ok(self.pairs.intern((c, k)))
    }

    /// Maps `other`'s pair ids and stage ids into this table, interning as needed.
    pub(crate) fn absorb(&mut self, other: &Names) -> Result<(Vec<u32>, Vec<u32>)> {
        let mut pairs = Vec::with_capacity(other.pairs.list.len());
        for &(c, k) in &other.pairs.list {
            let c = self.channels.intern(&other.channels.names[c as usize])?;
            let k = if k == NO_CAMPAIGN {
                NO_CAMPAIGN
            } else {
                self.campaigns.intern(&other.campaigns.names[k as usize])?
            };
            pairs.push(self.pairs.intern((c, k)));
        }
        let stages = other
            .stages
            .names
            .iter()
            .map(|s| self.stages.intern(s))
            .collect::<Result<_>>()?;
        Ok((pairs, stages))
    }
}

// ---------------------------------------------------------------------------------
// Options and diagnostics

/// Which touches a subject's second and later conversions get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepeatConversions {
    /// **Default.** Each conversion gets the touches since the previous conversion:
    /// the first conversion the touches up to it, the next one the touches after the
    /// previous conversion's instant up to its own, and so on. A touch is credited at
    /// most once. (Two conversions at the same instant: the second gets no touches.)
    #[default]
    SincePrevious,
    /// Each conversion gets every touch up to it (earlier conversions' touches are
    /// credited again).
    AllPrior,
    /// Only the first conversion of a subject counts; later ones are counted in
    /// [`JourneyDiagnostics::conversions_ignored`].
    FirstOnly,
}

/// What happens to a converted subject's touches after its last counted conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrailingTouches {
    /// **Default.** They are left out of every journey (post-conversion touches such
    /// as onboarding are not a path to anything yet), and counted in
    /// [`JourneyDiagnostics::touches_after_last_conversion`].
    #[default]
    Drop,
    /// They form one more, non-converting journey (counted too), as data-driven
    /// models that learn from non-converting paths may want.
    NonConverting,
}

/// How journeys are cut from touches and conversions.
///
/// - **Order.** A subject's touches are ordered by time (microsecond precision);
///   touches with equal times keep their input order (a stable sort), so give tied
///   touches in the order you want them read.
/// - **Conversion instant.** A touch at the same instant as a conversion belongs to
///   that conversion's journey.
/// - **Lookback** (default none): a touch counts for a conversion at `c` when
///   `c − lookback ≤ touch ≤ c`, so a touch exactly `lookback` before the conversion
///   counts (the same edge rule as [`crate::Window::lookback`]). Touches dropped by it
///   are counted in [`JourneyDiagnostics::touches_outside_lookback`]. The lookback does
///   not apply to non-converting journeys (they have no anchor).
/// - **Filters**: only touches whose channel is in `channels` (if set), not in
///   `exclude_channels`, and whose campaign is in `campaigns` (if set; touches without
///   a campaign then do not pass) are used; the rest are counted in
///   [`JourneyDiagnostics::touches_filtered`]. Filters apply before everything else
///   (so last-non-direct never sees an excluded channel).
/// - **Several conversions**: see [`RepeatConversions`] (default: since the previous);
///   **touches after the last conversion**: see [`TrailingTouches`] (default: dropped
///   and counted).
/// - **Currency**: every conversion value must be in one currency; `currency`
///   declares it up front (otherwise the first valued conversion sets it), which also
///   lets revenue be reported as zero when no conversion carries a value.
///
/// ```
/// use revops::{Channel, attribution::JourneyOptions, attribution::RepeatConversions};
/// use chrono::TimeDelta;
/// # fn main() -> Result<(), revops::Error> {
/// let o = JourneyOptions::default()
///     .with_lookback(TimeDelta::days(90))
///     .with_exclude_channels(vec![Channel::new("internal")?])
///     .with_repeat(RepeatConversions::AllPrior);
/// assert_eq!(o.lookback, Some(TimeDelta::days(90)));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct JourneyOptions {
    /// Lookback window before each conversion (default `None`: unlimited).
    pub lookback: Option<TimeDelta>,
    /// Only these channels (default `None`: all).
    pub channels: Option<Vec<Channel>>,
    /// Never these channels (default empty).
    pub exclude_channels: Vec<Channel>,
    /// Only touches of these campaigns (default `None`: all, with or without campaign).
    pub campaigns: Option<Vec<CampaignId>>,
    /// Several conversions per subject (default [`RepeatConversions::SincePrevious`]).
    pub repeat: RepeatConversions,
    /// Touches after the last conversion (default [`TrailingTouches::Drop`]).
    pub trailing: TrailingTouches,
    /// The currency of conversion values (default `None`: taken from the data).
    pub currency: Option<Currency>,
}

impl JourneyOptions {
    /// Sets the lookback window.
    #[must_use]
    pub fn with_lookback(mut self, lookback: TimeDelta) -> Self {
        self.lookback = Some(lookback);
        self
    }

    /// Uses only these channels.
    #[must_use]
    pub fn with_channels(mut self, channels: Vec<Channel>) -> Self {
        self.channels = Some(channels);
        self
    }

    /// Leaves these channels out.
    #[must_use]
    pub fn with_exclude_channels(mut self, channels: Vec<Channel>) -> Self {
        self.exclude_channels = channels;
        self
    }

    /// Uses only touches of these campaigns.
    #[must_use]
    pub fn with_campaigns(mut self, campaigns: Vec<CampaignId>) -> Self {
        self.campaigns = Some(campaigns);
        self
    }

    /// Sets the policy for several conversions per subject.
    #[must_use]
    pub fn with_repeat(mut self, repeat: RepeatConversions) -> Self {
        self.repeat = repeat;
        self
    }

    /// Sets the policy for touches after the last conversion.
    #[must_use]
    pub fn with_trailing(mut self, trailing: TrailingTouches) -> Self {
        self.trailing = trailing;
        self
    }

    /// Declares the currency of conversion values.
    #[must_use]
    pub fn with_currency(mut self, currency: Currency) -> Self {
        self.currency = Some(currency);
        self
    }

    /// The lookback in microseconds (`i64::MAX` without one).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) for a negative lookback.
    fn lookback_micros(&self) -> Result<i64> {
        match self.lookback {
            Some(l) if l < TimeDelta::zero() => Err(Error::from(ErrorKind::InvalidParameter {
                name: "lookback",
                value: l.to_string(),
                reason: "a lookback must not be negative".into(),
            })),
            Some(l) => Ok(l.num_microseconds().unwrap_or(i64::MAX)),
            None => Ok(i64::MAX),
        }
    }
}

/// One record a [`JourneyBuilder`] takes, for the [`Accumulator`] contract's
/// one-record [`JourneyBuilder::add`]; batches of records go through
/// [`JourneyBuilder::add_batch`], which takes the three kinds as slices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JourneyRecord {
    /// A touch.
    Touch(Touch),
    /// A conversion.
    Conversion(Conversion),
    /// A stage event (anchoring the milestone models).
    StageEvent(StageEvent),
}

impl From<Touch> for JourneyRecord {
    fn from(t: Touch) -> Self {
        JourneyRecord::Touch(t)
    }
}

impl From<Conversion> for JourneyRecord {
    fn from(c: Conversion) -> Self {
        JourneyRecord::Conversion(c)
    }
}

impl From<StageEvent> for JourneyRecord {
    fn from(e: StageEvent) -> Self {
        JourneyRecord::StageEvent(e)
    }
}

/// The error for merging journeys (or builders) cut under different options.
fn journey_options_differ(
    what: &'static str,
    ours: &JourneyOptions,
    theirs: &JourneyOptions,
) -> Error {
    super::state::options_differ(what, format!("{ours:?}"), format!("{theirs:?}"))
}

/// A record the journey builder did not use as given, named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JourneyNote {
    /// The kind of record (`"conversion"`, `"path"`).
    pub kind: String,
    /// Its position in the input (across all batches, in the order added).
    pub index: Option<u64>,
    /// Its subject, if it has one.
    pub subject: Option<String>,
    /// What happened to it.
    pub why: String,
}

impl std::fmt::Display for JourneyNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.kind)?;
        if let Some(i) = self.index {
            write!(f, " #{i}")?;
        }
        if let Some(s) = &self.subject {
            write!(f, " (subject {s})")?;
        }
        write!(f, ": {}", self.why)
    }
}

/// What journey building read, used and set aside. Nothing is dropped silently:
/// every touch and conversion that does not end up credited is counted here, and
/// the first few conversions concerned are named in `examples`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JourneyDiagnostics {
    /// Touches offered.
    pub touches_read: u64,
    /// Conversions offered.
    pub conversions_read: u64,
    /// Stage events offered.
    pub stage_events_read: u64,
    /// Path rows offered.
    pub path_rows_read: u64,
    /// Touches removed by the channel / campaign filters.
    pub touches_filtered: u64,
    /// Touches of converted subjects, at or before their last counted conversion,
    /// that no journey uses because of the lookback window.
    pub touches_outside_lookback: u64,
    /// Touches after a subject's last counted conversion (dropped or made a
    /// non-converting journey, by [`TrailingTouches`]).
    pub touches_after_last_conversion: u64,
    /// Subjects with touches (after filters) but no conversion: one non-converting
    /// journey each.
    pub non_converting_subjects: u64,
    /// The touches of those subjects.
    pub touches_of_non_converting_subjects: u64,
    /// Conversions of touched subjects whose journey has no touch (all filtered,
    /// outside the lookback, or taken by an earlier conversion): kept as empty
    /// journeys and reported as unattributed.
    pub conversions_without_touches: u64,
    /// Conversions of subjects with no touch at all: kept as empty journeys and
    /// reported as unattributed.
    pub conversions_unknown_subject: u64,
    /// Later conversions left out under [`RepeatConversions::FirstOnly`].
    pub conversions_ignored: u64,
    /// Stage events of subjects without any journey (not used).
    pub stage_events_unused: u64,
    /// Path rows with zero conversions, zero value and zero nulls (nothing to add).
    pub empty_path_rows: u64,
    /// Up to ten of the conversions (and path rows) concerned, in input order.
    pub examples: Vec<JourneyNote>,
}

impl JourneyDiagnostics {
    fn note(&mut self, kind: &str, index: Option<u64>, subject: Option<&str>, why: &str) {
        if self.examples.len() < 10 {
            self.examples.push(JourneyNote {
                kind: kind.to_string(),
                index,
                subject: subject.map(ToString::to_string),
                why: why.to_string(),
            });
        }
    }

    /// Adds another set of counts, as if its input came after this one's (indices
    /// of its examples are shifted by this one's records read).
    pub fn merge(&mut self, o: &JourneyDiagnostics) {
        for e in &o.examples {
            if self.examples.len() < 10 {
                let offset = match e.kind.as_str() {
                    "path" => self.path_rows_read,
                    _ => self.conversions_read,
                };
                self.examples.push(JourneyNote {
                    index: e.index.map(|i| i + offset),
                    ..e.clone()
                });
            }
        }
        self.touches_read += o.touches_read;
        self.conversions_read += o.conversions_read;
        self.stage_events_read += o.stage_events_read;
        self.path_rows_read += o.path_rows_read;
        self.touches_filtered += o.touches_filtered;
        self.touches_outside_lookback += o.touches_outside_lookback;
        self.touches_after_last_conversion += o.touches_after_last_conversion;
        self.non_converting_subjects += o.non_converting_subjects;
        self.touches_of_non_converting_subjects += o.touches_of_non_converting_subjects;
        self.conversions_without_touches += o.conversions_without_touches;
        self.conversions_unknown_subject += o.conversions_unknown_subject;
        self.conversions_ignored += o.conversions_ignored;
        self.stage_events_unused += o.stage_events_unused;
        self.empty_path_rows += o.empty_path_rows;
    }

    /// Conversions kept but not creditable (no touch in their journey).
    pub fn unattributed_conversions(&self) -> u64 {
        self.conversions_without_touches + self.conversions_unknown_subject
    }
}

fn value_overflow(record: RecordRef) -> Error {
    Error::from(ErrorKind::InvalidField {
        record,
        field: "value",
        reason: "the sum of the conversion values up to this one is beyond a 96-bit decimal (about 7.9e28)".into(),
    })
}

/// Which record set the currency, for naming it in a mismatch.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CurrencySource {
    pub(crate) currency: Currency,
    pub(crate) record: RecordRef,
}

fn mixed_currency(record: RecordRef, expected: Currency, got: Currency) -> Error {
    Error::from(ErrorKind::InvalidField {
        record,
        field: "currency",
        reason: format!("all conversions must share one currency: expected {expected}, got {got}"),
    })
}

/// Checks `incoming` against the currency so far; adopts it if there is none yet.
/// The error names the incoming record, its index shifted by `offset`.
fn check_currency(
    current: &mut Option<CurrencySource>,
    incoming: &CurrencySource,
    offset: u64,
) -> Result<()> {
    match current {
        Some(c) if c.currency != incoming.currency => {
            let mut record = incoming.record.clone();
            record.index = record.index.map(|i| i + offset as usize);
            Err(mixed_currency(record, c.currency, incoming.currency))
        }
        Some(_) => Ok(()),
        None => {
            let mut src = incoming.clone();
            src.record.index = src.record.index.map(|i| i + offset as usize);
            *current = Some(src);
            Ok(())
        }
    }
}

// ---------------------------------------------------------------------------------
// The raw accumulator

#[derive(Debug, Clone, Copy)]
struct RawConversion {
    at: i64,
    subject: u32,
    value: Decimal,
    index: u64,
}

#[derive(Debug, Clone, Copy)]
struct RawEvent {
    at: i64,
    subject: u32,
    stage: u32,
}

/// A builder's touch arrays, taken out of it to be cut in place, with the start of
/// each subject's (grouped) touches.
struct InPlace {
    at: Vec<i64>,
    pair: Vec<u32>,
    start: Vec<u32>,
}

/// The mergeable accumulator of raw records: touches, conversions and stage events
/// interned (subjects, channels, campaigns, stage keys to dense `u32` ids) but not yet
/// cut into journeys, so batches may split a subject's records anywhere.
///
/// An [`Accumulator`]: [`JourneyBuilder::new`] takes the [`JourneyOptions`] the
/// journeys will be cut under ([`Default`]: the default options),
/// [`JourneyBuilder::add_batch`] appends a batch of touches, conversions and stage
/// events (the three kinds as slices: the extra context a batch needs; the
/// contract's one-record [`JourneyBuilder::add`] takes a [`JourneyRecord`]),
/// [`JourneyBuilder::merge`] appends another builder built under the same options
/// (as if its input came after this one's), and [`JourneyBuilder::finish`] cuts the
/// [`Journeys`]. Finishing merged partials of any split of the input gives the same
/// journeys as one pass (up to the order of the journeys, and of touches at the same
/// instant).
///
/// Records are validated on the way in: a negative touch cost or conversion value is
/// an error naming the record, as is a conversion in another currency than the
/// earlier ones. Positions in errors and notes count across all batches, in the order
/// they were added.
///
/// ```
/// use revops::{Channel, Conversion, attribution::JourneyBuilder, attribution::JourneyOptions, SubjectId, Touch};
/// use chrono::{TimeZone, Utc};
/// # fn main() -> Result<(), revops::Error> {
/// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
/// let s = SubjectId::new("L1")?;
/// let touches = vec![
///     Touch::new(s.clone(), Channel::new("search")?, t(1)),
///     Touch::new(s.clone(), Channel::new("email")?, t(3)),
/// ];
/// let mut a = JourneyBuilder::new(JourneyOptions::default())?;
/// a.add_batch(&touches[..1], &[], &[])?;
/// let mut b = JourneyBuilder::default();
/// b.add_batch(&touches[1..], &[Conversion::new(s, t(5), None)], &[])?;
/// // A partial state travels: serialise, read back, merge.
/// let b: JourneyBuilder = serde_json::from_str(&serde_json::to_string(&b)?)?;
/// a.merge(&b)?;
/// let journeys = a.finish()?;
/// assert_eq!(journeys.len(), 1);
/// assert_eq!(journeys.path_rows()[0].path_string(">"), "search>email");
/// # Ok(()) }
/// ```
///
/// # Serialised form (version 1)
///
/// An object with the fields `version` (`1`), `options` ([`JourneyOptions`]),
/// `subjects` (the subject ids in order of first appearance: the id table), `names`
/// (`channels`, `campaigns`, `stages`: name tables; `pairs`: `[channel, campaign]`
/// indices, `null` for no campaign), the touches as three parallel arrays
/// `touch_at` (microseconds since the Unix epoch), `touch_subject` and `touch_pair`
/// (indices into `subjects` and `names.pairs`), `conversions` (`[at, subject,
/// value, position]`, the value a decimal string), `stage_events` (`[at, subject,
/// stage]`) and `currency` (`null`, or the currency with the record that set it).
/// Reading it back checks every index, time, value and name (a subject or name
/// listed twice is refused); another version is refused.
#[derive(Debug, Clone, Default)]
pub struct JourneyBuilder {
    /// How journeys are cut at [`JourneyBuilder::finish`].
    options: JourneyOptions,
    subjects: Subjects,
    names: Names,
    /// Touches in input order, as parallel arrays (time in microseconds, subject id,
    /// (channel, campaign) pair id).
    touch_at: Vec<i64>,
    touch_subject: Vec<u32>,
    touch_pair: Vec<u32>,
    conversions: Vec<RawConversion>,
    events: Vec<RawEvent>,
    currency: Option<CurrencySource>,
    touches_read: u64,
    conversions_read: u64,
    events_read: u64,
}

impl JourneyBuilder {
    /// An empty builder whose journeys are cut under `options` (see
    /// [`JourneyOptions`]); [`Default`] uses the default options.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) for a negative lookback.
    pub fn new(options: JourneyOptions) -> Result<Self> {
        options.lookback_micros()?;
        Ok(JourneyBuilder {
            options,
            ..JourneyBuilder::default()
        })
    }

    /// The options the journeys are cut under.
    pub fn options(&self) -> &JourneyOptions {
        &self.options
    }

    /// Validates, interns and appends one record (its position: the records of its
    /// kind read so far). On error nothing is added.
    ///
    /// # Errors
    /// As [`JourneyBuilder::add_batch`].
    pub fn add(&mut self, record: &JourneyRecord) -> Result<()> {
        let mut cursor = self.subjects.len().saturating_sub(1) as u32;
        match record {
            JourneyRecord::Touch(t) => self.push_touch_record(t, &mut cursor),
            JourneyRecord::Conversion(c) => self.push_conversion_record(c, &mut cursor),
            JourneyRecord::StageEvent(e) => self.push_stage_event_record(e, &mut cursor, &mut None),
        }
    }

    /// Interns and appends a batch of records (any of the slices may be empty).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the record (kind, position, subject) for a
    /// negative touch cost or conversion value, an empty stage key, or a conversion
    /// value in a different currency than earlier ones; [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter)
    /// beyond `u32::MAX − 1` distinct subjects, channels, campaigns or stage keys.
    /// On error nothing of the batch is kept.
    pub fn add_batch(
        &mut self,
        touches: &[Touch],
        conversions: &[Conversion],
        stage_events: &[StageEvent],
    ) -> Result<()> {
        if self.is_empty() {
            // Nothing to offset or re-intern: add in place (and stay empty on error).
            return self
                .add_unchecked(touches, conversions, stage_events)
                .inspect_err(|_| {
                    let options = std::mem::take(&mut self.options);
                    *self = JourneyBuilder {
                        options,
                        ..JourneyBuilder::default()
                    };
                });
        }
        let mut batch = JourneyBuilder::default();
        batch
            .add_unchecked(touches, conversions, stage_events)
            .map_err(|e| self.shift_error(e))?;
        self.append(&batch)
    }

    /// Whether nothing was added yet.
    fn is_empty(&self) -> bool {
        self.touches_read == 0
            && self.conversions_read == 0
            && self.events_read == 0
            && self.subjects.len() == 0
    }

    /// Shifts the position in a batch error to the position in the whole input.
    fn shift_error(&self, mut e: Error) -> Error {
        if let ErrorKind::InvalidField { record, .. } = e.kind_mut() {
            let offset = match record.kind {
                "touch" => self.touches_read,
                "conversion" => self.conversions_read,
                "stage event" => self.events_read,
                _ => 0,
            };
            if let Some(i) = &mut record.index {
                *i += offset as usize;
            }
        }
        e
    }

    /// The id of a subject (trimmed, non-empty, as [`SubjectId::as_str`]). Records
    /// usually come grouped by subject, often in one order across files: try the
    /// previous subject and the next one before the hash table.
    #[inline]
    pub(crate) fn subject(&mut self, s: &str, cursor: &mut u32) -> Result<u32> {
        for near in [*cursor, cursor.wrapping_add(1)] {
            if (near as usize) < self.subjects.len() && self.subjects.name(near) == s {
                *cursor = near;
                return Ok(near);
            }
        }
        let id = self.subjects.intern(s, *cursor)?;
        *cursor = id;
        Ok(id)
    }

    /// As [`JourneyBuilder::subject`] from bytes, compared as they are with the
    /// previous and next subjects first; `None` if they are not UTF-8.
    #[cfg(feature = "csv")]
    #[inline]
    pub(crate) fn subject_bytes(&mut self, s: &[u8], cursor: &mut u32) -> Result<Option<u32>> {
        for near in [*cursor, cursor.wrapping_add(1)] {
            if (near as usize) < self.subjects.len() && self.subjects.name(near).as_bytes() == s {
                *cursor = near;
                return Ok(Some(near));
            }
        }
        match std::str::from_utf8(s) {
            Ok(name) => self.subject(name, cursor).map(Some),
            Err(_) => Ok(None),
        }
    }

    /// The id of a (channel, campaign) pair, interning it if new.
    #[cfg(feature = "csv")]
    pub(crate) fn pair(&mut self, channel: &Channel, campaign: Option<&CampaignId>) -> Result<u32> {
        self.names.pair(channel, campaign)
    }

    /// Appends one interned touch (`at` in microseconds) and counts it as read.
    #[inline]
    pub(crate) fn push_touch(&mut self, subject: u32, pair: u32, at: i64) {
        self.touch_at.push(at);
        self.touch_subject.push(subject);
        self.touch_pair.push(pair);
        self.touches_read += 1;
    }

    /// The id of a stage key (as a record's `stage` holds it), interning it if new.
    #[cfg(feature = "csv")]
    pub(crate) fn stage_id(&mut self, key: &str) -> Result<u32> {
        self.names.stages.intern(&normalise_key(key))
    }

    /// Appends one interned stage event (`at` in microseconds) and counts it as read.
    #[cfg(feature = "csv")]
    #[inline]
    pub(crate) fn push_stage_event(&mut self, subject: u32, stage: u32, at: i64) {
        self.events.push(RawEvent { at, subject, stage });
        self.events_read += 1;
    }

    /// Validates, interns and appends one touch (its position: the touches read so
    /// far).
    pub(crate) fn push_touch_record(&mut self, t: &Touch, cursor: &mut u32) -> Result<()> {
        t.validate()
            .map_err(|e| e.at_index(self.touches_read as usize))?;
        let subject = self.subject(t.subject.as_str(), cursor)?;
        let pair = self.names.pair(&t.channel, t.campaign.as_ref())?;
        self.push_touch(subject, pair, micros(&t.at));
        Ok(())
    }

    /// Validates, interns and appends one conversion (its position: the conversions
    /// read so far). On error nothing is added.
    pub(crate) fn push_conversion_record(
        &mut self,
        c: &Conversion,
        cursor: &mut u32,
    ) -> Result<()> {
        let index = self.conversions_read;
        c.validate().map_err(|e| e.at_index(index as usize))?;
        let value = match &c.value {
            Some(v)
                if self
                    .currency
                    .as_ref()
                    .is_some_and(|s| s.currency == v.currency()) =>
            {
                v.amount()
            }
            Some(v) => {
                let src = CurrencySource {
                    currency: v.currency(),
                    record: RecordRef::new("conversion")
                        .with_index(index as usize)
                        .with_id(&c.subject),
                };
                check_currency(&mut self.currency, &src, 0)?;
                v.amount()
            }
            None => Decimal::ZERO,
        };
        let subject = self.subject(c.subject.as_str(), cursor)?;
        self.conversions.push(RawConversion {
            at: micros(&c.at),
            subject,
            value,
            index,
        });
        self.conversions_read += 1;
        Ok(())
    }

    /// Validates, interns and appends one stage event (its position: the events read
    /// so far).
    pub(crate) fn push_stage_event_record(
        &mut self,
        e: &StageEvent,
        cursor: &mut u32,
        last_stage: &mut Option<(String, u32)>,
    ) -> Result<()> {
        e.validate()
            .map_err(|err| err.at_index(self.events_read as usize))?;
        let subject = self.subject(e.subject.as_str(), cursor)?;
        let stage = match last_stage {
            Some((k, id)) if *k == e.stage => *id,
            _ => {
                let id = self.names.stages.intern(&normalise_key(&e.stage))?;
                *last_stage = Some((e.stage.clone(), id));
                id
            }
        };
        self.events.push(RawEvent {
            at: micros(&e.at),
            subject,
            stage,
        });
        self.events_read += 1;
        Ok(())
    }

    /// Adds into an empty builder (no offsets to apply).
    fn add_unchecked(
        &mut self,
        touches: &[Touch],
        conversions: &[Conversion],
        stage_events: &[StageEvent],
    ) -> Result<()> {
        let mut cursor = 0u32;
        // Distinct subjects are at most the subject changes along the longest input.
        let changes = |ids: &mut dyn Iterator<Item = &SubjectId>| {
            let mut n = 0usize;
            let mut last: Option<&SubjectId> = None;
            for s in ids {
                n += usize::from(last != Some(s));
                last = Some(s);
            }
            n
        };
        let expected = changes(&mut touches.iter().map(|t| &t.subject))
            .max(changes(&mut conversions.iter().map(|c| &c.subject)))
            .max(changes(&mut stage_events.iter().map(|e| &e.subject)));
        self.subjects.reserve(expected);
        self.touch_at.reserve(touches.len());
        self.touch_subject.reserve(touches.len());
        self.touch_pair.reserve(touches.len());
        // Channels and campaigns repeat, usually as shared strings (readers share
        // them): a small cache by string address skips the hash tables. Addresses are
        // stable and unique while `touches` is borrowed.
        let mut cache = PairCache::default();
        for t in touches {
            t.validate()
                .map_err(|e| e.at_index(self.touches_read as usize))?;
            let subject = self.subject(t.subject.as_str(), &mut cursor)?;
            let key = PairCache::key(t);
            let pair = match cache.get(key) {
                Some(id) => id,
                None => {
                    let id = self.names.pair(&t.channel, t.campaign.as_ref())?;
                    cache.put(key, id);
                    id
                }
            };
            self.push_touch(subject, pair, micros(&t.at));
        }
        self.conversions.reserve(conversions.len());
        for c in conversions {
            self.push_conversion_record(c, &mut cursor)?;
        }
        self.events.reserve(stage_events.len());
        let mut last_stage = None;
        for e in stage_events {
            self.push_stage_event_record(e, &mut cursor, &mut last_stage)?;
        }
        Ok(())
    }

    /// Appends another builder's records, as if they came after this one's input.
    ///
    /// # Errors
    /// [`ErrorKind::MergeMismatch`](crate::error::ErrorKind::MergeMismatch) if the other was built with
    /// other options; [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the other's first valued
    /// conversion (position shifted by this builder's conversions) if it is in
    /// another currency; [`ErrorKind::LimitExceeded`](crate::error::ErrorKind::LimitExceeded) beyond `u32::MAX − 1` distinct
    /// ids. On error this builder is unchanged.
    pub fn merge(&mut self, other: &JourneyBuilder) -> Result<()> {
        if self.options != other.options {
            return Err(journey_options_differ(
                "journey builders",
                &self.options,
                &other.options,
            ));
        }
        self.append(other)
    }

    /// [`JourneyBuilder::merge`] without comparing the options (a batch of
    /// [`JourneyBuilder::add_batch`]).
    fn append(&mut self, other: &JourneyBuilder) -> Result<()> {
        let mut currency = self.currency.clone();
        if let Some(src) = &other.currency {
            check_currency(&mut currency, src, self.conversions_read)?;
        }
        let intern_subjects = |subjects: &mut Subjects| -> Result<Vec<u32>> {
            subjects.reserve(other.subjects.len());
            (0..other.subjects.len() as u32)
                .map(|i| subjects.intern(other.subjects.name(i), i))
                .collect()
        };
        // Interning can only fail when an id space overflows: when every one has room
        // for all of the other's ids, intern in place (no copy of the tables);
        // otherwise on copies, so that an error leaves this builder unchanged.
        let room = |a: usize, b: usize| a + b < (u32::MAX - 2) as usize;
        let fits = room(self.subjects.len(), other.subjects.len())
            && room(self.names.channels.len(), other.names.channels.len())
            && room(self.names.campaigns.len(), other.names.campaigns.len())
            && room(self.names.stages.len(), other.names.stages.len());
        let (pairs, stages, subjects) = if fits {
            let (pairs, stages) = self.names.absorb(&other.names)?;
            let subjects = intern_subjects(&mut self.subjects)?;
            (pairs, stages, subjects)
        } else {
            let mut names = self.names.clone();
            let (pairs, stages) = names.absorb(&other.names)?;
            let mut subjects_table = self.subjects.clone();
            let subjects = intern_subjects(&mut subjects_table)?;
            self.names = names;
            self.subjects = subjects_table;
            (pairs, stages, subjects)
        };
        self.currency = currency;
        self.touch_at.extend_from_slice(&other.touch_at);
        self.touch_subject
            .extend(other.touch_subject.iter().map(|&s| subjects[s as usize]));
        self.touch_pair
            .extend(other.touch_pair.iter().map(|&p| pairs[p as usize]));
        let offset = self.conversions_read;
        self.conversions
            .extend(other.conversions.iter().map(|c| RawConversion {
                subject: subjects[c.subject as usize],
                index: c.index + offset,
                ..*c
            }));
        self.events.extend(other.events.iter().map(|e| RawEvent {
            at: e.at,
            subject: subjects[e.subject as usize],
            stage: stages[e.stage as usize],
        }));
        self.touches_read += other.touches_read;
        self.conversions_read += other.conversions_read;
        self.events_read += other.events_read;
        Ok(())
    }

    /// Number of touches held.
    pub fn touch_count(&self) -> usize {
        self.touch_at.len()
    }

    /// Number of conversions held.
    pub fn conversion_count(&self) -> usize {
        self.conversions.len()
    }

    /// Number of distinct subjects seen.
    pub fn subject_count(&self) -> usize {
        self.subjects.len()
    }

    /// Number of stage events added.
    pub(crate) fn stage_event_count(&self) -> usize {
        self.events_read as usize
    }

    /// The latest time among the touches, conversions and stage events held.
    pub(crate) fn latest(&self) -> Option<DateTime<Utc>> {
        let touches = self.touch_at.iter().copied().max();
        let conversions = self.conversions.iter().map(|c| c.at).max();
        let events = self.events.iter().map(|e| e.at).max();
        [touches, conversions, events]
            .into_iter()
            .flatten()
            .max()
            .and_then(from_micros)
    }

    /// Fills `by_subject` (subject name → list, the lists empty) with the touches
    /// held on those subjects, each made by `make(time, channel, campaign)`, in input
    /// order. One pass over the touches: the subjects are matched by name once.
    pub(crate) fn touches_of_subjects<'b, T>(
        &'b self,
        by_subject: &mut FastMap<&str, Vec<T>>,
        make: impl Fn(DateTime<Utc>, &'b Channel, Option<&'b CampaignId>) -> T,
    ) {
        let mut slot = vec![u32::MAX; self.subjects.len()];
        let mut lists: Vec<(&str, Vec<T>)> = Vec::new();
        for (id, s) in slot.iter_mut().enumerate() {
            let name = self.subjects.name(id as u32);
            if by_subject.contains_key(name) {
                *s = lists.len() as u32;
                lists.push((name, Vec::new()));
            }
        }
        let names = &self.names;
        for ((&subject, &pair), &at) in self
            .touch_subject
            .iter()
            .zip(&self.touch_pair)
            .zip(&self.touch_at)
        {
            let k = slot[subject as usize];
            if k == u32::MAX {
                continue;
            }
            let (c, k2) = names.pairs.list[pair as usize];
            let campaign = (k2 != NO_CAMPAIGN).then(|| &names.campaigns.names[k2 as usize]);
            // Times held came from valid `DateTime`s: always in range.
            if let Some(at) = from_micros(at) {
                lists[k as usize]
                    .1
                    .push(make(at, &names.channels.names[c as usize], campaign));
            }
        }
        for (name, list) in lists {
            if let Some(v) = by_subject.get_mut(name) {
                *v = list;
            }
        }
    }

    /// Cuts the records into journeys under the options given at
    /// [`JourneyBuilder::new`] (see [`JourneyOptions`] for the rules); the builder
    /// stays usable. Journeys come subject by subject (in order of first appearance), each
    /// subject's conversions in time order, then its non-converting journey if any.
    /// Stage events anchor the milestone models: for each journey and stage key, the
    /// subject's **latest** event of that stage at or before the conversion (any
    /// event, for a non-converting journey) is used, and its milestone touch is the
    /// last touch of the journey at or before that event.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the first valued conversion if it is not in
    /// the declared currency, or (field `value`) the conversion whose value takes the
    /// sum of the values beyond a [`Decimal`].
    pub fn finish(&self) -> Result<Journeys> {
        self.cut(None)
    }

    /// As [`JourneyBuilder::finish`] (the same journeys), consuming the builder so
    /// that its touch arrays become the journeys' own: when the touches came grouped
    /// by subject (each subject's touches together, as files sorted or grouped by
    /// subject give them) and conversions do not share touches (any policy but
    /// [`RepeatConversions::AllPrior`]), journeys are cut in place, and peak memory
    /// is about the journeys' alone instead of the builder's and the journeys' together.
    /// Otherwise it is [`JourneyBuilder::finish`].
    ///
    /// ```
    /// use revops::{Channel, Conversion, attribution::JourneyBuilder, attribution::JourneyOptions, SubjectId, Touch};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
    /// let (a, b) = (SubjectId::new("L1")?, SubjectId::new("L2")?);
    /// let touches = vec![
    ///     Touch::new(a.clone(), Channel::new("search")?, t(1)),
    ///     Touch::new(a.clone(), Channel::new("email")?, t(3)),
    ///     Touch::new(b.clone(), Channel::new("email")?, t(2)),
    /// ];
    /// let mut builder = JourneyBuilder::new(JourneyOptions::default())?;
    /// builder.add_batch(&touches, &[Conversion::new(a, t(5), None)], &[])?;
    /// let built = builder.finish()?;
    /// let consumed = builder.into_journeys()?;
    /// assert_eq!(consumed.path_rows(), built.path_rows());
    /// assert_eq!(consumed.diagnostics(), built.diagnostics());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`JourneyBuilder::finish`].
    pub fn into_journeys(mut self) -> Result<Journeys> {
        if self.options.repeat == RepeatConversions::AllPrior || !self.touch_subject.is_sorted() {
            return self.finish();
        }
        let s = self.subjects.len();
        let mut start = vec![0u32; s + 1];
        for &k in &self.touch_subject {
            start[k as usize + 1] += 1;
        }
        for i in 0..s {
            start[i + 1] += start[i];
        }
        self.touch_subject = Vec::new();
        let in_place = InPlace {
            at: std::mem::take(&mut self.touch_at),
            pair: std::mem::take(&mut self.touch_pair),
            start,
        };
        self.cut(Some(in_place))
    }

    /// Cuts journeys; with `in_place`, from the builder's touch arrays (taken out of
    /// it, touches grouped by subject), overwriting them with the journeys' touches.
    fn cut(&self, in_place: Option<InPlace>) -> Result<Journeys> {
        let lookback = self.options.lookback_micros()?;
        let currency = self.cut_currency()?;
        let touch_count = in_place
            .as_ref()
            .map_or(self.touch_at.len(), |t| t.at.len());
        self.check_record_counts(touch_count)?;
        let allowed = self.allowed_pairs();
        let (in_place, groups) = self.group_by_subject(in_place);
        let (mut out, write) = self.empty_journeys(currency, in_place);
        let mut place = Placement {
            latest: Vec::new(),
            pair_map: vec![u32::MAX; self.names.pairs.list.len()],
            used_pairs: Vec::new(),
            write,
        };
        // Scratch, reused across subjects.
        let mut ts: Vec<(i64, u32)> = Vec::new();
        let mut cs: Vec<RawConversion> = Vec::new();
        for subject in 0..self.subjects.len() {
            let raw_count = self.subject_touches(subject, &groups, &allowed, &out, &place, &mut ts);
            out.diagnostics.touches_filtered += (raw_count - ts.len()) as u64;
            self.subject_conversions(subject, &groups, &mut cs);
            let s = SubjectCut {
                subject: subject as u32,
                name: self.subjects.name(subject as u32),
                touches: &ts,
                raw_count,
                events: groups.events(subject),
                raw_events: &self.events,
            };
            let journeys_before = out.len();
            let counted = self.counted_conversions(&s, &cs, &mut out.diagnostics);
            let covered =
                self.cut_conversions(&s, &cs[..counted], lookback, &mut out, &mut place)?;
            self.cut_trailing(&s, &cs[..counted], covered, &mut out, &mut place);
            if out.len() == journeys_before {
                out.diagnostics.stage_events_unused += s.events.len() as u64;
            }
        }
        self.finish_cut(out, place)
    }

    /// The currency of the journeys: the declared one (which the data must match),
    /// else the data's.
    fn cut_currency(&self) -> Result<Option<CurrencySource>> {
        Ok(match (&self.options.currency, &self.currency) {
            (Some(declared), Some(src)) if *declared != src.currency => {
                return Err(mixed_currency(src.record.clone(), *declared, src.currency));
            }
            (Some(declared), _) => Some(CurrencySource {
                currency: *declared,
                record: RecordRef::new("option"),
            }),
            (None, src) => src.clone(),
        })
    }

    /// Records of one kind are counted in `u32` by the cut.
    fn check_record_counts(&self, touch_count: usize) -> Result<()> {
        let most = touch_count
            .max(self.conversions.len())
            .max(self.events.len());
        if u32::try_from(most).is_err() {
            return Err(crate::error::capacity(
                "records of one kind per build",
                most,
                u64::from(u32::MAX),
            ));
        }
        Ok(())
    }

    /// Which (channel, campaign) pairs pass the filters of the options.
    fn allowed_pairs(&self) -> Vec<bool> {
        let (names, options) = (&self.names, &self.options);
        names
            .pairs
            .list
            .iter()
            .map(|&(c, k)| {
                let ch = &names.channels.names[c as usize];
                let ok_channel = options.channels.as_ref().is_none_or(|l| l.contains(ch))
                    && !options.exclude_channels.contains(ch);
                let ok_campaign = match &options.campaigns {
                    None => true,
                    Some(l) => k != NO_CAMPAIGN && l.contains(&names.campaigns.names[k as usize]),
                };
                ok_channel && ok_campaign
            })
            .collect()
    }

    /// Groups touches, conversions and stage events by subject; the touches taken
    /// out of the builder (in place) come back with their grouping.
    fn group_by_subject(&self, in_place: Option<InPlace>) -> (Option<TouchArrays>, CutGroups) {
        let s = self.subjects.len();
        let (in_place, touches) = match in_place {
            Some(InPlace { at, pair, start }) => (Some((at, pair)), Groups { start, order: None }),
            None => (
                None,
                Groups::new(
                    &mut self.touch_subject.iter().copied(),
                    s,
                    self.touch_subject.len(),
                    self.touch_subject.is_sorted(),
                ),
            ),
        };
        let conversions = Groups::new(
            &mut self.conversions.iter().map(|c| c.subject),
            s,
            self.conversions.len(),
            false,
        );
        let events = Groups::new(
            &mut self.events.iter().map(|e| e.subject),
            s,
            self.events.len(),
            false,
        );
        (
            in_place,
            CutGroups {
                touches,
                conversions,
                events,
            },
        )
    }

    /// The journeys to cut into, with room reserved; in place, the builder's touch
    /// arrays become theirs and the write position starts at 0.
    fn empty_journeys(
        &self,
        currency: Option<CurrencySource>,
        in_place: Option<TouchArrays>,
    ) -> (Journeys, Option<usize>) {
        let mut out = Journeys {
            options: self.options.clone(),
            stage_events: self.events.len() as u64,
            currency,
            ..Journeys::default()
        };
        out.subject_names = std::sync::Arc::clone(&self.subjects.names);
        // At most one journey per conversion, plus one per subject: reserving (pages
        // are only touched as used) saves the copies of growing.
        let most = self.subjects.len() + self.conversions.len();
        out.ends.reserve(most);
        out.end_at.reserve(most);
        out.weight.reserve(most);
        out.subject.reserve(most);
        out.value_slot.reserve(most);
        out.values.reserve(self.conversions.len());
        // In place: the journeys' touches are written over the raw ones, behind the
        // reading position (each raw touch goes to at most one journey).
        let write = match in_place {
            Some((at, pair)) => {
                out.touch_at = at;
                out.touch_pair = pair;
                Some(0)
            }
            None => {
                out.touch_pair.reserve(self.touch_at.len());
                out.touch_at.reserve(self.touch_at.len());
                None
            }
        };
        let d = &mut out.diagnostics;
        d.touches_read = self.touches_read;
        d.conversions_read = self.conversions_read;
        d.stage_events_read = self.events_read;
        (out, write)
    }

    /// A subject's touches that pass the filters, in time order (ties in input
    /// order), into `ts`; returns how many it had before the filters.
    fn subject_touches(
        &self,
        subject: usize,
        groups: &CutGroups,
        allowed: &[bool],
        out: &Journeys,
        place: &Placement,
        ts: &mut Vec<(i64, u32)>,
    ) -> usize {
        let range = groups.touches.range(subject);
        let raw_count = range.len();
        ts.clear();
        for k in range {
            let i = groups.touches.record(k);
            let (at, pair) = if place.write.is_some() {
                (out.touch_at[i], out.touch_pair[i])
            } else {
                (self.touch_at[i], self.touch_pair[i])
            };
            if allowed[pair as usize] {
                ts.push((at, pair));
            }
        }
        if !ts.is_sorted_by_key(|t| t.0) {
            ts.sort_by_key(|t| t.0); // stable: ties keep input order
        }
        raw_count
    }

    /// A subject's conversions in time order (ties in input order), into `cs`.
    fn subject_conversions(&self, subject: usize, groups: &CutGroups, cs: &mut Vec<RawConversion>) {
        cs.clear();
        cs.extend(
            groups
                .conversions
                .range(subject)
                .map(|k| self.conversions[groups.conversions.record(k)]),
        );
        if !cs.is_sorted_by_key(|c| c.at) {
            cs.sort_by_key(|c| c.at);
        }
    }

    /// How many of a subject's conversions count under the repeat policy (the
    /// others are counted and named).
    fn counted_conversions(
        &self,
        s: &SubjectCut<'_>,
        cs: &[RawConversion],
        d: &mut JourneyDiagnostics,
    ) -> usize {
        match self.options.repeat {
            RepeatConversions::FirstOnly if cs.len() > 1 => {
                d.conversions_ignored += (cs.len() - 1) as u64;
                for c in &cs[1..] {
                    d.note(
                        "conversion",
                        Some(c.index),
                        Some(s.name),
                        "not the subject's first conversion (first-only policy)",
                    );
                }
                1
            }
            _ => cs.len(),
        }
    }

    /// One journey per counted conversion; returns how many touches they use (the
    /// union of their ranges).
    fn cut_conversions(
        &self,
        s: &SubjectCut<'_>,
        counted: &[RawConversion],
        lookback: i64,
        out: &mut Journeys,
        place: &mut Placement,
    ) -> Result<usize> {
        let ts = s.touches;
        let mut covered = 0usize; // touches used so far (union of the ranges)
        let mut covered_end = 0usize;
        let mut prev_at: Option<i64> = None;
        for c in counted {
            // Range of touches: after `lo` (exclusive), from `c − lookback`, to `c`.
            let hi = ts.partition_point(|t| t.0 <= c.at);
            let from = c.at.saturating_sub(lookback);
            let mut lo = ts.partition_point(|t| t.0 < from);
            if let (RepeatConversions::SincePrevious, Some(p)) = (self.options.repeat, prev_at) {
                lo = lo.max(ts.partition_point(|t| t.0 <= p));
            }
            let lo = lo.min(hi);
            covered += hi.saturating_sub(lo.max(covered_end));
            covered_end = covered_end.max(hi);
            prev_at = Some(c.at);
            if lo == hi {
                note_empty_journey(s, c, &mut out.diagnostics);
            }
            out.value_total = out.value_total.checked_add(c.value).ok_or_else(|| {
                value_overflow(
                    RecordRef::new("conversion")
                        .with_index(c.index as usize)
                        .with_id(s.name),
                )
            })?;
            out.push_journey(s, &ts[lo..hi], c.at, (1.0, 0.0), c.value, place);
        }
        Ok(covered)
    }

    /// The touches after the last counted conversion (all of them without one):
    /// counted, and a non-converting journey when the policy (or no conversion)
    /// says so.
    fn cut_trailing(
        &self,
        s: &SubjectCut<'_>,
        counted: &[RawConversion],
        covered: usize,
        out: &mut Journeys,
        place: &mut Placement,
    ) {
        let ts = s.touches;
        let rest_from = match counted.last() {
            Some(last) => {
                let last = ts.partition_point(|t| t.0 <= last.at);
                out.diagnostics.touches_outside_lookback += (last - covered) as u64;
                last
            }
            None => 0,
        };
        let trailing = &ts[rest_from..];
        if !counted.is_empty() {
            out.diagnostics.touches_after_last_conversion += trailing.len() as u64;
        } else if !trailing.is_empty() {
            out.diagnostics.non_converting_subjects += 1;
            out.diagnostics.touches_of_non_converting_subjects += trailing.len() as u64;
        }
        if !trailing.is_empty()
            && (counted.is_empty() || self.options.trailing == TrailingTouches::NonConverting)
        {
            out.push_journey(s, trailing, NO_TIME, (0.0, 1.0), Decimal::ZERO, place);
        }
    }

    /// Trims the touch arrays written in place and compacts the name tables to the
    /// pairs the journeys use.
    fn finish_cut(&self, mut out: Journeys, place: Placement) -> Result<Journeys> {
        if let Some(w) = place.write {
            out.touch_at.truncate(w);
            out.touch_at.shrink_to_fit();
            out.touch_pair.truncate(w);
            out.touch_pair.shrink_to_fit();
        }
        let names = &self.names;
        let mut compact = Names::default();
        for &p in &place.used_pairs {
            let (c, k) = names.pairs.list[p as usize];
            compact.pair(
                &names.channels.names[c as usize],
                (k != NO_CAMPAIGN).then(|| &names.campaigns.names[k as usize]),
            )?;
        }
        compact.stages = names.stages.clone();
        out.names = compact;
        out.pair_channel = out.names.pairs.list.iter().map(|p| p.0).collect();
        Ok(out)
    }
}

/// Counts (and names) a conversion whose journey has no touch.
fn note_empty_journey(s: &SubjectCut<'_>, c: &RawConversion, d: &mut JourneyDiagnostics) {
    if s.raw_count == 0 {
        d.conversions_unknown_subject += 1;
        d.note(
            "conversion",
            Some(c.index),
            Some(s.name),
            "the subject has no touch",
        );
    } else {
        d.conversions_without_touches += 1;
        d.note(
            "conversion",
            Some(c.index),
            Some(s.name),
            "no touch in the journey (filtered, outside the lookback, or taken by an earlier conversion)",
        );
    }
}

/// Records grouped by subject (a counting sort: stable, input order within):
/// subject `s`'s records are `order[start[s]..start[s + 1]]` (positions in the
/// records themselves when `order` is `None`, for input already grouped).
struct Groups {
    start: Vec<u32>,
    order: Option<Vec<u32>>,
}

impl Groups {
    fn new(
        keys: &mut dyn Iterator<Item = u32>,
        subjects: usize,
        n: usize,
        grouped: bool,
    ) -> Groups {
        let mut start = vec![0u32; subjects + 1];
        if grouped {
            for k in keys {
                start[k as usize + 1] += 1;
            }
            for i in 0..subjects {
                start[i + 1] += start[i];
            }
            return Groups { start, order: None };
        }
        let keys: Vec<u32> = keys.collect();
        for &k in &keys {
            start[k as usize + 1] += 1;
        }
        for i in 0..subjects {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut order = vec![0u32; n];
        for (i, &k) in keys.iter().enumerate() {
            order[fill[k as usize] as usize] = i as u32;
            fill[k as usize] += 1;
        }
        Groups {
            start,
            order: Some(order),
        }
    }

    #[inline]
    fn range(&self, subject: usize) -> std::ops::Range<usize> {
        self.start[subject] as usize..self.start[subject + 1] as usize
    }

    /// The record at grouped position `k`.
    #[inline]
    fn record(&self, k: usize) -> usize {
        self.order.as_ref().map_or(k, |o| o[k] as usize)
    }
}

/// A builder's touch times and pairs, taken out of it to be cut in place.
type TouchArrays = (Vec<i64>, Vec<u32>);

/// The builder's touches, conversions and stage events grouped by subject.
struct CutGroups {
    touches: Groups,
    conversions: Groups,
    events: Groups,
}

impl CutGroups {
    /// A subject's stage events (indices into the builder's events).
    fn events(&self, subject: usize) -> &[u32] {
        let range = self.events.range(subject);
        self.events.order.as_deref().map_or(&[][..], |o| &o[range])
    }
}

/// One subject being cut: its name, filtered touches in time order, and events.
struct SubjectCut<'a> {
    subject: u32,
    name: &'a str,
    touches: &'a [(i64, u32)],
    /// Its touches before the filters.
    raw_count: usize,
    events: &'a [u32],
    raw_events: &'a [RawEvent],
}

/// Where journeys' touches go, and the scratch of milestones and used pairs.
struct Placement {
    /// Scratch: the latest event per stage.
    latest: Vec<(u32, i64)>,
    /// The builder's pair id → the journeys' (compacted to the pairs used).
    pair_map: Vec<u32>,
    used_pairs: Vec<u32>,
    /// In place: the next touch position to write.
    write: Option<usize>,
}

impl Accumulator for JourneyBuilder {
    type Item = JourneyRecord;
    type Output = Journeys;
    const STATE_VERSION: u32 = 1;

    fn add(&mut self, item: &JourneyRecord) -> Result<()> {
        JourneyBuilder::add(self, item)
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        JourneyBuilder::merge(self, other)
    }

    fn finish(&self) -> Result<Journeys> {
        JourneyBuilder::finish(self)
    }
}

impl Accumulator for Journeys {
    type Item = PathRow;
    type Output = Vec<PathRow>;
    const STATE_VERSION: u32 = 1;

    fn add(&mut self, item: &PathRow) -> Result<()> {
        Journeys::add(self, item)
    }

    fn add_batch<'a, I>(&mut self, items: I) -> Result<()>
    where
        I: IntoIterator<Item = &'a PathRow>,
    {
        Journeys::add_batch(self, items)
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        Journeys::merge(self, other)
    }

    fn finish(&self) -> Result<Vec<PathRow>> {
        Journeys::finish(self)
    }
}

/// The sums of one path of journeys aggregated by path.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PathSums {
    pub(crate) conversions: f64,
    pub(crate) value: Decimal,
    pub(crate) nulls: f64,
}

// ---------------------------------------------------------------------------------
// Journeys

/// Journeys in dense arrays: per journey its subject, conversion time, conversion and
/// non-conversion weights and value; per touch its (channel, campaign) id and time, in
/// one flat array indexed by offsets (CSR-like). Channels, campaigns and stage keys are
/// interned once, so attribution runs on integers.
///
/// A journey carries two weights: `conversions` (how many converting journeys it
/// stands for) and `nulls` (how many non-converting ones). Journeys cut from touches
/// have `(1, 0)` or `(0, 1)`; a path row becomes one journey with its row's counts
/// (fractional counts are kept as weights) and its value. A converting journey
/// without touches is kept (and reported as unattributed by the models).
///
/// A monoid over *subject-disjoint* batches, and an [`Accumulator`] of path rows:
/// [`Journeys::new`] (or [`Default`]) is empty under its [`JourneyOptions`],
/// [`Journeys::add`] / [`Journeys::add_batch`] append path rows (which may be split
/// anywhere), [`Journeys::merge`] appends another set cut under the same options
/// (for records, `merge(&Journeys::from_records(..)?)` with each batch holding all
/// the records of its subjects), and the models
/// ([`Journeys::attribute`](crate::attribution::Journeys::attribute) and friends)
/// read it; [`Journeys::finish`] gives the journeys aggregated by path. For batches
/// that may split a subject's records, accumulate a [`JourneyBuilder`] instead.
///
/// ```
/// use revops::{Channel, Currency, Decimal, attribution::Journeys, PathRow};
/// # fn main() -> Result<(), revops::Error> {
/// let ch = |s| Channel::new(s);
/// let rows = vec![
///     PathRow::new(vec![ch("search")?, ch("email")?], 2.0, Decimal::new(300, 0), 5.0),
///     PathRow::new(vec![ch("email")?], 1.0, Decimal::new(50, 0), 0.0),
/// ];
/// let journeys = Journeys::from_path_rows(&rows, Currency::USD)?;
/// assert_eq!(journeys.len(), 2);
/// assert_eq!(journeys.path_rows(), {
///     let mut sorted = rows.clone();
///     sorted.reverse(); // path rows come sorted by path
///     sorted
/// });
/// # Ok(()) }
/// ```
///
/// # Serialised form (version 1)
///
/// An object with the fields `version` (`1`), `options` ([`JourneyOptions`]),
/// `subjects` (subject ids: the table the journeys' `subject` indices point into),
/// `names` (as [`JourneyBuilder`]'s), per journey `ends` (end offset of its touches),
/// `subject` (index or `null`), `end_at` (conversion time in microseconds, `null`
/// for none), `weight` (`-1` for one conversion, `-2` for one non-conversion,
/// otherwise an index into `weights`, the `[conversions, nulls]` pairs of path
/// rows), `value_slot` (index into `values`, decimal strings; `null` for zero);
/// `ms_ends` and `milestones` (`[stage, touch position]`) for the milestone models;
/// per touch `touch_pair` (index into `names.pairs`) and `touch_at` (`null` for
/// path rows); `stage_events`, `currency` and `diagnostics`. Reading it back checks
/// every index, offset, count, value and time (a subject's touches in time order);
/// another version is refused.
#[derive(Debug, Clone, Default)]
pub struct Journeys {
    /// The options the journeys were cut under (path rows: the currency).
    pub(crate) options: JourneyOptions,
    pub(crate) names: Names,
    /// Pair id → channel id (the hot loops' only lookup).
    pub(crate) pair_channel: Vec<u32>,
    /// Per journey: end offset of its touches in `touch_*`.
    pub(crate) ends: Vec<usize>,
    /// The subjects' names (shared with the builder they came from).
    pub(crate) subject_names: std::sync::Arc<SubjectNames>,
    /// Per journey: its subject's index in `subject_names` ([`NO_SUBJECT`]: none).
    pub(crate) subject: Vec<u32>,
    /// The subjects as ids, made on first use (most reports never need them).
    subject_ids: std::sync::OnceLock<Vec<Option<SubjectId>>>,
    pub(crate) end_at: Vec<i64>,
    /// Per journey: its (conversions, nulls) weights, as [`CONVERTED`] or
    /// [`NOT_CONVERTED`] for `(1, 0)` and `(0, 1)` (every journey cut from records),
    /// otherwise their slot in `weights`.
    pub(crate) weight: Vec<u32>,
    /// The other weights (path rows').
    pub(crate) weights: Vec<(f64, f64)>,
    /// Per journey: its value's slot in `values` ([`NO_VALUE`]: exactly
    /// `Decimal::ZERO`, as most journeys, never converting, have).
    pub(crate) value_slot: Vec<u32>,
    /// The other values, exact and as `f64`.
    pub(crate) values: Vec<(Decimal, f64)>,
    /// The sum of the values, checked when each is added: every partial sum of the
    /// (non-negative) values is at most this, so none can overflow.
    pub(crate) value_total: Decimal,
    /// Per journey: end offset of its milestones in `milestones`.
    pub(crate) ms_ends: Vec<usize>,
    /// (stage id, touch position within the journey).
    pub(crate) milestones: Vec<(u32, u32)>,
    pub(crate) touch_pair: Vec<u32>,
    pub(crate) touch_at: Vec<i64>,
    /// Journeys without touch times (from path rows).
    pub(crate) untimed: usize,
    /// Stage events interned into these journeys' source.
    pub(crate) stage_events: u64,
    pub(crate) currency: Option<CurrencySource>,
    pub(crate) diagnostics: JourneyDiagnostics,
}

/// One journey, borrowed from [`Journeys`].
#[derive(Clone, Copy)]
pub struct JourneyRef<'a> {
    journeys: &'a Journeys,
    index: usize,
}

impl std::fmt::Debug for JourneyRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JourneyRef")
            .field("index", &self.index)
            .field("subject", &self.subject())
            .field("converted_at", &self.converted_at())
            .field("conversions", &self.conversions())
            .field("nulls", &self.nulls())
            .field("value", &self.value())
            .field("touches", &self.touches().collect::<Vec<_>>())
            .finish()
    }
}

/// One touch of a journey, borrowed from [`Journeys`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TouchRef<'a> {
    /// The channel.
    pub channel: &'a Channel,
    /// The campaign, if any.
    pub campaign: Option<&'a CampaignId>,
    /// When (`None` for journeys built from path rows).
    pub at: Option<DateTime<Utc>>,
}

impl<'a> JourneyRef<'a> {
    fn range(&self) -> std::ops::Range<usize> {
        self.journeys.touch_range(self.index)
    }

    /// Position of the journey in its [`Journeys`].
    pub fn index(&self) -> usize {
        self.index
    }

    /// The subject (`None` for journeys built from path rows). Subjects are kept as
    /// names in one arena; the ids are made for all subjects on first use.
    pub fn subject(&self) -> Option<&'a SubjectId> {
        self.journeys.subject_id(self.index)
    }

    /// When the journey converted (`None` if it did not, or for path rows).
    pub fn converted_at(&self) -> Option<DateTime<Utc>> {
        from_micros(self.journeys.end_at[self.index])
    }

    /// Converting weight (1 for a converted subject's journey, 0 otherwise; a path
    /// row's conversion count).
    pub fn conversions(&self) -> f64 {
        self.journeys.conversions_of(self.index)
    }

    /// Non-converting weight.
    pub fn nulls(&self) -> f64 {
        self.journeys.nulls_of(self.index)
    }

    /// Conversion value (zero when the conversion has none), in the journeys'
    /// currency.
    pub fn value(&self) -> Decimal {
        self.journeys.value_of(self.index)
    }

    /// Number of touches.
    pub fn len(&self) -> usize {
        self.range().len()
    }

    /// Whether the journey has no touch.
    pub fn is_empty(&self) -> bool {
        self.range().is_empty()
    }

    /// The touches, in order.
    pub fn touches(&self) -> impl ExactSizeIterator<Item = TouchRef<'a>> + 'a {
        let j = self.journeys;
        self.range().map(move |t| {
            let (c, k) = j.names.pairs.list[j.touch_pair[t] as usize];
            TouchRef {
                channel: &j.names.channels.names[c as usize],
                campaign: (k != NO_CAMPAIGN).then(|| &j.names.campaigns.names[k as usize]),
                at: from_micros(j.touch_at[t]),
            }
        })
    }

    /// The channels of the touches, in order.
    pub fn channels(&self) -> impl ExactSizeIterator<Item = &'a Channel> + 'a {
        self.touches().map(|t| t.channel)
    }

    /// The position of the milestone touch of a stage key (matched trimmed and
    /// case-insensitively), if the journey has one.
    pub fn milestone(&self, stage: &str) -> Option<usize> {
        let id = self.journeys.names.stages.get(&normalise_key(stage))?;
        self.journeys
            .milestone_slice(self.index)
            .iter()
            .find(|m| m.0 == id)
            .map(|m| m.1 as usize)
    }
}

impl Journeys {
    /// No journeys yet, under `options` (path rows added later take their values
    /// in `options.currency`).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) for a negative lookback.
    pub fn new(options: JourneyOptions) -> Result<Journeys> {
        options.lookback_micros()?;
        Ok(Journeys {
            options,
            ..Journeys::default()
        })
    }

    /// The options the journeys were cut under.
    pub fn options(&self) -> &JourneyOptions {
        &self.options
    }

    /// Cuts touches, conversions and stage events into journeys in one go (a
    /// [`JourneyBuilder`] with one batch, finished). To append another batch of
    /// *other* subjects, merge its journeys ([`Journeys::merge`]); for batches that
    /// may split a subject's records, use a [`JourneyBuilder`].
    ///
    /// # Errors
    /// As [`JourneyBuilder::new`], [`JourneyBuilder::add_batch`] and
    /// [`JourneyBuilder::finish`].
    pub fn from_records(
        touches: &[Touch],
        conversions: &[Conversion],
        stage_events: &[StageEvent],
        options: &JourneyOptions,
    ) -> Result<Journeys> {
        let mut b = JourneyBuilder::new(options.clone())?;
        b.add_unchecked(touches, conversions, stage_events)?;
        // The builder is not needed afterwards: cut the journeys in its own arrays.
        b.into_journeys()
    }

    /// Journeys from aggregated path rows (`paths.csv`): each row becomes one journey
    /// standing for `conversions` converting and `nulls` non-converting journeys along
    /// its path, with the row's value in `currency`. Rows have no times, campaigns or
    /// stage events, so time decay and stage milestones are refused on them.
    ///
    /// # Errors
    /// The row's own [`PathRow::validate`] error (empty path, negative or non-finite
    /// counts, negative value), naming it; [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) (field `value`)
    /// naming the row whose value takes the sum of the values beyond a [`Decimal`].
    pub fn from_path_rows(rows: &[PathRow], currency: Currency) -> Result<Journeys> {
        let mut j = Journeys::new(JourneyOptions::default().with_currency(currency))?;
        j.add_batch(rows)?;
        Ok(j)
    }

    /// Appends one path row (see [`Journeys::add_batch`]).
    ///
    /// # Errors
    /// As [`Journeys::add_batch`].
    pub fn add(&mut self, row: &PathRow) -> Result<()> {
        self.add_batch(std::slice::from_ref(row))
    }

    /// Appends path rows (see [`Journeys::from_path_rows`]), their values in the
    /// declared currency of the options (without one, in these journeys' currency,
    /// if any). Row positions in errors count across all rows added, in order.
    ///
    /// # Errors
    /// As [`Journeys::from_path_rows`]. On error nothing is added.
    pub fn add_batch<'a, I>(&mut self, rows: I) -> Result<()>
    where
        I: IntoIterator<Item = &'a PathRow>,
    {
        let rows: Vec<&PathRow> = rows.into_iter().collect();
        self.add_rows(&rows)
    }

    /// [`Journeys::add_batch`] on a slice.
    fn add_rows(&mut self, rows: &[&PathRow]) -> Result<()> {
        if rows.len() >= NO_VALUE as usize {
            return Err(crate::error::capacity(
                "path rows per batch",
                rows.len(),
                u64::from(NO_VALUE - 1),
            ));
        }
        let base = self.diagnostics.path_rows_read;
        for (i, r) in rows.iter().enumerate() {
            r.validate(i + base as usize)?;
        }
        let mut batch = self.path_batch();
        let mut pairs: Vec<u32> = Vec::new();
        let mut cache = PairCache::default();
        for (i, r) in rows.iter().enumerate() {
            pairs.clear();
            for c in &r.path {
                let key = PairCache::channel_key(c);
                let id = match cache.get(key) {
                    Some(id) => id,
                    None => {
                        let id = batch.path_pair(c)?;
                        cache.put(key, id);
                        id
                    }
                };
                pairs.push(id);
            }
            batch.push_path(
                &pairs,
                r.conversions,
                r.value,
                r.nulls,
                i + base as usize,
                || r.path_string(">"),
            )?;
        }
        self.absorb_path_batch(batch)
    }

    /// An empty set to append path rows to, then to absorb into this one with
    /// [`Journeys::absorb_path_batch`]: the same options, values in the declared
    /// currency of the options (without one, in these journeys' currency, if any).
    pub(crate) fn path_batch(&self) -> Journeys {
        let currency = self
            .options
            .currency
            .or_else(|| self.currency.as_ref().map(|c| c.currency));
        Journeys {
            options: self.options.clone(),
            currency: currency.map(|currency| CurrencySource {
                currency,
                record: RecordRef::new("path rows"),
            }),
            ..Journeys::default()
        }
    }

    /// Room for `rows` more path rows of `touches` touches in all (the CSV reader's).
    #[cfg(feature = "csv")]
    pub(crate) fn reserve_paths(&mut self, rows: usize, touches: usize) {
        self.ends.reserve(rows);
        self.subject.reserve(rows);
        self.end_at.reserve(rows);
        self.weight.reserve(rows);
        self.value_slot.reserve(rows);
        self.touch_pair.reserve(touches);
        self.touch_at.reserve(touches);
    }

    /// The pair id of a path row's channel (no campaign), interned here.
    ///
    /// # Errors
    /// [`ErrorKind::LimitExceeded`](crate::error::ErrorKind::LimitExceeded) beyond `u32::MAX − 1` channels.
    pub(crate) fn path_pair(&mut self, channel: &Channel) -> Result<u32> {
        let id = self.names.pair(channel, None)?;
        let list = &self.names.pairs.list;
        if self.pair_channel.len() < list.len() {
            let from = self.pair_channel.len();
            self.pair_channel.extend(list[from..].iter().map(|p| p.0));
        }
        Ok(id)
    }

    /// Appends one valid path row of pair ids (from [`Journeys::path_pair`]) as a
    /// journey and counts it as read (a row with no conversion, value or null only
    /// counts in the diagnostics). `index` and `id` name the row in an error.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) (field `value`) if the sum of the values overflows;
    /// [`ErrorKind::LimitExceeded`](crate::error::ErrorKind::LimitExceeded) beyond `u32::MAX − 2` path rows. Nothing is
    /// appended then.
    pub(crate) fn push_path(
        &mut self,
        pairs: &[u32],
        conversions: f64,
        value: Decimal,
        nulls: f64,
        index: usize,
        id: impl FnOnce() -> String,
    ) -> Result<()> {
        if conversions == 0.0 && nulls == 0.0 && value.is_zero() {
            self.diagnostics.empty_path_rows += 1;
            self.diagnostics.path_rows_read += 1;
            return Ok(());
        }
        if self.values.len().max(self.weights.len()) >= NOT_CONVERTED as usize - 1 {
            return Err(crate::error::capacity(
                "valued or path-row journeys in one set",
                self.values.len().max(self.weights.len()) + 1,
                u64::from(NOT_CONVERTED - 1),
            ));
        }
        // Adding exactly zero (most rows: no conversion) changes neither the sum
        // nor its scale.
        if value.serialize() != Decimal::ZERO.serialize() {
            self.value_total = self.value_total.checked_add(value).ok_or_else(|| {
                value_overflow(RecordRef::new("path").with_index(index).with_id(id()))
            })?;
        }
        self.touch_pair.extend_from_slice(pairs);
        self.touch_at
            .extend(std::iter::repeat_n(NO_TIME, pairs.len()));
        self.ends.push(self.touch_pair.len());
        self.subject.push(NO_SUBJECT);
        self.end_at.push(NO_TIME);
        self.push_weights(conversions, nulls);
        self.push_value(value);
        self.untimed += 1;
        self.diagnostics.path_rows_read += 1;
        Ok(())
    }

    /// Appends a batch of path rows built from [`Journeys::path_batch`] (moved in
    /// when this set is empty).
    ///
    /// # Errors
    /// As [`Journeys::merge`].
    pub(crate) fn absorb_path_batch(&mut self, batch: Journeys) -> Result<()> {
        if self.is_empty() && self.diagnostics == JourneyDiagnostics::default() {
            *self = batch;
            return Ok(());
        }
        self.merge(&batch)
    }

    /// The journeys aggregated by path ([`Journeys::path_rows`]): the
    /// [`Accumulator`] contract's result, the same whatever the split of the input
    /// and the order of merges (the journeys themselves come in input order).
    ///
    /// # Errors
    /// None today; the signature is the [`Accumulator`] contract's.
    pub fn finish(&self) -> Result<Vec<PathRow>> {
        Ok(self.path_rows())
    }

    /// Appends another set of journeys (as if its input came after this one's).
    /// Subjects are not checked for overlap: journeys are values, and the caller
    /// decides what the batches are.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) (or [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch) for path rows) if the
    /// other's conversion values are in another currency;
    /// [`ErrorKind::MergeMismatch`](crate::error::ErrorKind::MergeMismatch) if the other was cut under
    /// other options; [`ErrorKind::LimitExceeded`](crate::error::ErrorKind::LimitExceeded) beyond
    /// `u32::MAX − 1` distinct ids; [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow) if the two sums of
    /// values add up beyond a [`Decimal`]. On error this set is unchanged.
    pub fn merge(&mut self, other: &Journeys) -> Result<()> {
        let currency = self.merged_currency(other)?;
        if self.options != other.options {
            return Err(journey_options_differ(
                "journeys",
                &self.options,
                &other.options,
            ));
        }
        self.append(other, currency)
    }

    /// The currency of `self` and `other` together.
    fn merged_currency(&self, other: &Journeys) -> Result<Option<CurrencySource>> {
        let mut currency = self.currency.clone();
        if let Some(src) = &other.currency {
            if src.record.index.is_none()
                && let Some(c) = &currency
                && c.currency != src.currency
            {
                return Err(Error::from(ErrorKind::CurrencyMismatch {
                    expected: c.currency.to_string(),
                    got: src.currency.to_string(),
                }));
            }
            check_currency(&mut currency, src, self.diagnostics.conversions_read)?;
        }
        Ok(currency)
    }

    /// Appends `other`'s arrays (checked by [`Journeys::merge`]).
    fn append(&mut self, other: &Journeys, currency: Option<CurrencySource>) -> Result<()> {
        let value_total =
            self.value_total
                .checked_add(other.value_total)
                .ok_or_else(|| Error::from(ErrorKind::Overflow {
                    operation: "sum of the conversion values of merged journeys (beyond a 96-bit decimal)",
                }))?;
        if self.values.len() + other.values.len() >= NO_VALUE as usize
            || self.weights.len() + other.weights.len() >= NOT_CONVERTED as usize
        {
            return Err(crate::error::capacity(
                "valued or path-row journeys in one set",
                self.values.len() + other.values.len(),
                u64::from(NOT_CONVERTED - 1),
            ));
        }
        if self.subject_names.len() + other.subject_names.len() >= NO_SUBJECT as usize {
            return Err(crate::error::capacity(
                "subjects in one set of journeys",
                self.subject_names.len() + other.subject_names.len(),
                u64::from(NO_SUBJECT - 1),
            ));
        }
        let mut names = self.names.clone();
        let (pairs, stages) = names.absorb(&other.names)?;
        self.names = names;
        let journeys_before = self.ends.len();
        self.pair_channel = self.names.pairs.list.iter().map(|p| p.0).collect();
        self.currency = currency;
        let base = self.touch_pair.len();
        self.touch_pair
            .extend(other.touch_pair.iter().map(|&p| pairs[p as usize]));
        self.touch_at.extend_from_slice(&other.touch_at);
        self.ends.extend(other.ends.iter().map(|e| e + base));
        let ms_base = self.milestones.len();
        self.milestones.extend(
            other
                .milestones
                .iter()
                .map(|&(s, p)| (stages[s as usize], p)),
        );
        if !self.ms_ends.is_empty() || !other.ms_ends.is_empty() {
            // Either side may have dropped its (all-zero) ends.
            self.ms_ends.resize(journeys_before, ms_base);
            if other.ms_ends.is_empty() {
                self.ms_ends
                    .extend(std::iter::repeat_n(ms_base, other.ends.len()));
            } else {
                self.ms_ends
                    .extend(other.ms_ends.iter().map(|e| e + ms_base));
            }
        }
        let subject_base = self.subject_names.len() as u32;
        if other.subject_names.len() > 0 {
            std::sync::Arc::make_mut(&mut self.subject_names).append(&other.subject_names);
            self.subject_ids = std::sync::OnceLock::new();
        }
        self.subject.extend(other.subject.iter().map(|&s| {
            if s == NO_SUBJECT {
                NO_SUBJECT
            } else {
                s + subject_base
            }
        }));
        self.end_at.extend_from_slice(&other.end_at);
        let weight_base = self.weights.len() as u32;
        self.weight.extend(other.weight.iter().map(|&w| {
            if w >= NOT_CONVERTED {
                w
            } else {
                w + weight_base
            }
        }));
        self.weights.extend_from_slice(&other.weights);
        let value_base = self.values.len() as u32;
        self.value_slot.extend(other.value_slot.iter().map(|&v| {
            if v == NO_VALUE {
                NO_VALUE
            } else {
                v + value_base
            }
        }));
        self.values.extend_from_slice(&other.values);
        self.value_total = value_total;
        self.untimed += other.untimed;
        self.stage_events += other.stage_events;
        self.diagnostics.merge(&other.diagnostics);
        Ok(())
    }

    /// Appends one journey of subject `s` (its touches, end, weights and value),
    /// with its milestones.
    fn push_journey(
        &mut self,
        s: &SubjectCut<'_>,
        touches: &[(i64, u32)],
        end: i64,
        (conversions, nulls): (f64, f64),
        value: Decimal,
        place: &mut Placement,
    ) {
        let (events, raw_events) = (s.events, s.raw_events);
        let Placement {
            latest,
            pair_map,
            used_pairs,
            write,
        } = place;
        for &(at, pair) in touches {
            let p = &mut pair_map[pair as usize];
            if *p == u32::MAX {
                *p = used_pairs.len() as u32;
                used_pairs.push(pair);
            }
            match write {
                Some(w) => {
                    self.touch_pair[*w] = *p;
                    self.touch_at[*w] = at;
                    *w += 1;
                }
                None => {
                    self.touch_pair.push(*p);
                    self.touch_at.push(at);
                }
            }
        }
        self.ends.push(write.unwrap_or(self.touch_pair.len()));
        // Milestones: the latest event per stage at or before the end, then the last
        // touch at or before it.
        if !events.is_empty() && !touches.is_empty() {
            latest.clear();
            for &e in events {
                let e = raw_events[e as usize];
                if end != NO_TIME && e.at > end {
                    continue;
                }
                match latest.iter_mut().find(|l| l.0 == e.stage) {
                    Some(l) => l.1 = l.1.max(e.at),
                    None => latest.push((e.stage, e.at)),
                }
            }
            latest.sort_unstable_by_key(|l| l.0);
            for &(stage, at) in latest.iter() {
                let pos = touches.partition_point(|t| t.0 <= at);
                if pos > 0 {
                    self.milestones.push((stage, (pos - 1) as u32));
                }
            }
        }
        if !self.milestones.is_empty() {
            // `ms_ends` is kept only once some journey has milestones.
            self.ms_ends.resize(self.ends.len() - 1, 0);
            self.ms_ends.push(self.milestones.len());
        }
        self.subject.push(s.subject);
        self.end_at.push(end);
        self.push_weights(conversions, nulls);
        self.push_value(value);
    }

    /// Appends a journey's weights.
    #[inline]
    fn push_weights(&mut self, conversions: f64, nulls: f64) {
        let bits = (conversions.to_bits(), nulls.to_bits());
        if bits == (1f64.to_bits(), 0f64.to_bits()) {
            self.weight.push(CONVERTED);
        } else if bits == (0f64.to_bits(), 1f64.to_bits()) {
            self.weight.push(NOT_CONVERTED);
        } else {
            self.weight.push(self.weights.len() as u32);
            self.weights.push((conversions, nulls));
        }
    }

    /// The converting weight of journey `j`.
    #[inline]
    pub(crate) fn conversions_of(&self, j: usize) -> f64 {
        match self.weight[j] {
            CONVERTED => 1.0,
            NOT_CONVERTED => 0.0,
            w => self.weights[w as usize].0,
        }
    }

    /// The non-converting weight of journey `j`.
    #[inline]
    pub(crate) fn nulls_of(&self, j: usize) -> f64 {
        match self.weight[j] {
            CONVERTED => 0.0,
            NOT_CONVERTED => 1.0,
            w => self.weights[w as usize].1,
        }
    }

    /// Appends a journey's value.
    #[inline]
    fn push_value(&mut self, value: Decimal) {
        // Only the exact representation of `Decimal::ZERO` (not `0.00`, which keeps
        // its scale in sums) goes without a slot.
        if value.serialize() == Decimal::ZERO.serialize() {
            self.value_slot.push(NO_VALUE);
        } else {
            self.value_slot.push(self.values.len() as u32);
            self.values.push((value, value.to_f64().unwrap_or(0.0)));
        }
    }

    /// The value of journey `j`.
    #[inline]
    pub(crate) fn value_of(&self, j: usize) -> Decimal {
        match self.value_slot[j] {
            NO_VALUE => Decimal::ZERO,
            v => self.values[v as usize].0,
        }
    }

    /// The value of journey `j` as `f64`.
    #[inline]
    pub(crate) fn value_f64_of(&self, j: usize) -> f64 {
        match self.value_slot[j] {
            NO_VALUE => 0.0,
            v => self.values[v as usize].1,
        }
    }

    /// The subject of journey `j`, if it has one (the ids are made on first use).
    pub(crate) fn subject_id(&self, j: usize) -> Option<&SubjectId> {
        let s = self.subject[j];
        if s == NO_SUBJECT {
            return None;
        }
        self.subject_ids
            .get_or_init(|| {
                (0..self.subject_names.len())
                    .map(|i| SubjectId::new(self.subject_names.get(i)).ok())
                    .collect()
            })
            .get(s as usize)?
            .as_ref()
    }

    #[inline]
    pub(crate) fn touch_range(&self, j: usize) -> std::ops::Range<usize> {
        let start = if j == 0 { 0 } else { self.ends[j - 1] };
        start..self.ends[j]
    }

    #[inline]
    pub(crate) fn milestone_slice(&self, j: usize) -> &[(u32, u32)] {
        if self.ms_ends.is_empty() {
            return &[];
        }
        let start = if j == 0 { 0 } else { self.ms_ends[j - 1] };
        &self.milestones[start..self.ms_ends[j]]
    }

    /// Number of entries, as [`Journeys::get`] and [`Journeys::iter`] index them: one
    /// per journey cut from records, but one per **path row** for journeys built from
    /// path rows, where a row stands for many journeys (its conversions and nulls). It
    /// is the number of rows of an aggregated file, not of journeys: count journeys
    /// with [`Journeys::journey_count`].
    ///
    /// ```
    /// use revops::{Channel, Currency, Decimal, attribution::Journeys, PathRow};
    /// # fn main() -> Result<(), revops::Error> {
    /// let rows = [PathRow::new(vec![Channel::new("search")?], 3.0, Decimal::new(30, 0), 7.0)];
    /// let j = Journeys::from_path_rows(&rows, Currency::USD)?;
    /// assert_eq!((j.len(), j.journey_count()), (1, 10.0)); // one row, ten journeys
    /// # Ok(()) }
    /// ```
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are no entries (no journeys and no path rows).
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Number of journeys, converting and not: the sum of every entry's converting
    /// and non-converting weights ([`JourneyRef::conversions`] +
    /// [`JourneyRef::nulls`]). Journeys cut from records weigh one each, so it is
    /// [`Journeys::len`] for them; a path row adds its `conversions + nulls`.
    pub fn journey_count(&self) -> f64 {
        (0..self.len())
            .map(|j| self.conversions_of(j) + self.nulls_of(j))
            .sum()
    }

    /// Total number of touches over all journeys.
    pub fn touch_count(&self) -> usize {
        self.touch_pair.len()
    }

    /// The channels of the journeys' touches, in order of first appearance (their
    /// dense ids).
    pub fn channels(&self) -> &[Channel] {
        &self.names.channels.names
    }

    /// The currency of conversion values: declared, or taken from the data; `None`
    /// when no conversion carried a value.
    pub fn currency(&self) -> Option<Currency> {
        self.currency.as_ref().map(|c| c.currency)
    }

    /// What building read, used and set aside.
    pub fn diagnostics(&self) -> &JourneyDiagnostics {
        &self.diagnostics
    }

    /// Sum of the converting weights (all conversions, credited or not).
    pub fn total_conversions(&self) -> f64 {
        (0..self.len()).map(|j| self.conversions_of(j)).sum()
    }

    /// Sum of the conversion values (exact). It was checked as the journeys were
    /// built (a value that overflows the sum is an error there), so it is never
    /// out of range, and neither is any sum of some of the values (path rows).
    pub fn total_value(&self) -> Decimal {
        self.value_total
    }

    /// The `i`-th journey.
    pub fn get(&self, i: usize) -> Option<JourneyRef<'_>> {
        (i < self.len()).then_some(JourneyRef {
            journeys: self,
            index: i,
        })
    }

    /// The journeys, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = JourneyRef<'_>> + '_ {
        (0..self.len()).map(move |index| JourneyRef {
            journeys: self,
            index,
        })
    }

    /// The journeys aggregated by path (the sequence of channels; campaigns and times
    /// are dropped), as `paths.csv` holds them: per path the sum of the converting
    /// weights, of the values and of the non-converting weights. Rows are sorted by
    /// path (channel names compared in order, a prefix first). Journeys without
    /// touches have no path and are left out (see [`JourneyDiagnostics`]).
    pub fn path_rows(&self) -> Vec<PathRow> {
        let channels = &self.names.channels.names;
        let mut rows = Vec::new();
        self.for_each_path(|ids, sums| {
            rows.push(PathRow {
                path: ids.iter().map(|&c| channels[c as usize].clone()).collect(),
                conversions: sums.conversions,
                value: sums.value,
                nulls: sums.nulls,
            });
        });
        rows
    }

    /// Each aggregated path (see [`Journeys::for_each_path`]) checked as a
    /// [`PathRow`] would be and with its channels re-interned by the receiver: a path
    /// whose sums are not valid gets the row's own error (numbered with `rows(state)`);
    /// `intern` maps a channel name to the receiver's id, called on each channel's
    /// first use (so in the order adding the rows would intern them); `add` takes the
    /// path in the receiver's ids. Stops at the first error.
    pub(crate) fn for_each_checked_path<S>(
        &self,
        state: &mut S,
        ids_now: &mut Vec<u32>,
        rows: impl Fn(&S) -> usize,
        mut intern: impl FnMut(&mut S, &Channel) -> u32,
        mut add: impl FnMut(&mut S, &[u32], &PathSums) -> Result<()>,
    ) -> Result<()> {
        let names = self.channels();
        let mut map = vec![u32::MAX; names.len()];
        let mut result = Ok(());
        self.for_each_path(|ids, r| {
            if result.is_err() {
                return;
            }
            let valid = |v: f64| v.is_finite() && v >= 0.0;
            if !(valid(r.conversions) && valid(r.nulls) && !r.value.is_sign_negative()) {
                // The row's own check names it.
                let row = PathRow {
                    path: ids.iter().map(|&c| names[c as usize].clone()).collect(),
                    conversions: r.conversions,
                    value: r.value,
                    nulls: r.nulls,
                };
                result = row.validate(rows(state));
                if result.is_err() {
                    return;
                }
            }
            ids_now.clear();
            for &c in ids {
                if map[c as usize] == u32::MAX {
                    map[c as usize] = intern(state, &names[c as usize]);
                }
                ids_now.push(map[c as usize]);
            }
            result = add(state, ids_now, r);
        });
        result
    }

    /// The journeys aggregated by path, as [`Journeys::path_rows`] gives them but
    /// with channel ids and without building rows: `f` gets each path (its channel
    /// ids) and its sums (in journey order), paths sorted by channel names.
    pub(crate) fn for_each_path(&self, mut f: impl FnMut(&[u32], &PathSums)) {
        let channels = &self.names.channels.names;
        // Channel id → rank by name, so that paths sort by comparing integers.
        let mut by_name: Vec<u32> = (0..channels.len() as u32).collect();
        by_name.sort_by(|&a, &b| channels[a as usize].cmp(&channels[b as usize]));
        let mut rank = vec![0u32; channels.len()];
        for (r, &c) in by_name.iter().enumerate() {
            rank[c as usize] = r as u32;
        }
        let longest = (0..self.len())
            .map(|j| self.touch_range(j).len())
            .max()
            .unwrap_or(0);
        // Bits per touch: enough for every rank + 1 (0 marks the end of a path).
        let bits = (usize::BITS - channels.len().leading_zeros()).max(1);
        let packed = |width: u32| (bits as usize).saturating_mul(longest) <= width as usize;
        if packed(u64::BITS) {
            self.for_each_packed_path::<u64>(bits, &rank, &by_name, &mut f);
        } else if packed(u128::BITS) {
            self.for_each_packed_path::<u128>(bits, &rank, &by_name, &mut f);
        } else {
            self.for_each_general_path(&rank, &by_name, &mut f);
        }
    }

    /// Fast path: each path packed into an integer key, `bits` per touch from the
    /// top (rank + 1, zero after the end), so that comparing keys compares paths (a
    /// prefix first). The (key, journey) pairs are sorted, so each path's journeys
    /// are summed in journey order (as the general path does), paths in key order.
    fn for_each_packed_path<K>(
        &self,
        bits: u32,
        rank: &[u32],
        by_name: &[u32],
        f: &mut impl FnMut(&[u32], &PathSums),
    ) where
        K: Copy + Ord + TryFrom<u128> + Into<u128>,
    {
        let width = 8 * std::mem::size_of::<K>() as u32;
        let code: Vec<u128> = self
            .pair_channel
            .iter()
            .map(|&c| u128::from(rank[c as usize] + 1))
            .collect();
        // (key, journey) sorted: equal paths together, in path order, each group's
        // journeys in input order (the order the sums take).
        let mut keys: Vec<(K, u32)> = Vec::with_capacity(self.len());
        for j in 0..self.len() {
            let range = self.touch_range(j);
            if range.is_empty() {
                continue;
            }
            let mut key = 0u128;
            let mut shift = width;
            for &p in &self.touch_pair[range] {
                shift -= bits;
                key |= code[p as usize] << shift;
            }
            let Ok(key) = K::try_from(key) else {
                continue; // never: the paths fit the key (checked by the caller)
            };
            keys.push((key, j as u32));
        }
        keys.sort_unstable();
        let mut ids: Vec<u32> = Vec::with_capacity((width / bits) as usize);
        let mask = (1u128 << bits) - 1;
        let mut at = 0;
        while at < keys.len() {
            let key = keys[at].0;
            let mut r = PathSums::default();
            while let Some(&(k, j)) = keys.get(at)
                && k == key
            {
                let j = j as usize;
                r.conversions += self.conversions_of(j);
                // Bounded by the checked total: cannot overflow.
                r.value = r.value.saturating_add(self.value_of(j));
                r.nulls += self.nulls_of(j);
                at += 1;
            }
            ids.clear();
            let key: u128 = key.into();
            let mut shift = width;
            while shift >= bits {
                shift -= bits;
                let code = (key >> shift) & mask;
                if code == 0 {
                    break;
                }
                ids.push(by_name[code as usize - 1]);
            }
            f(&ids, &r);
        }
    }

    /// Any number of channels and touches: paths as slices of ranks in a hash table.
    fn for_each_general_path(
        &self,
        rank: &[u32],
        by_name: &[u32],
        f: &mut impl FnMut(&[u32], &PathSums),
    ) {
        let ranked: Vec<u32> = self
            .touch_pair
            .iter()
            .map(|&p| rank[self.pair_channel[p as usize] as usize])
            .collect();
        let mut rows: Vec<(std::ops::Range<usize>, PathSums)> = Vec::new();
        let mut index: FastMap<&[u32], usize> =
            FastMap::with_capacity_and_hasher(self.len(), Default::default());
        for j in 0..self.len() {
            let range = self.touch_range(j);
            if range.is_empty() {
                continue;
            }
            let key = &ranked[range.clone()];
            let i = *index.entry(key).or_insert_with(|| {
                rows.push((range, PathSums::default()));
                rows.len() - 1
            });
            let r = &mut rows[i].1;
            r.conversions += self.conversions_of(j);
            // Bounded by the checked total: cannot overflow.
            r.value = r.value.saturating_add(self.value_of(j));
            r.nulls += self.nulls_of(j);
        }
        drop(index);
        rows.sort_unstable_by(|a, b| ranked[a.0.clone()].cmp(&ranked[b.0.clone()]));
        let mut ids: Vec<u32> = Vec::new();
        for (range, r) in &rows {
            ids.clear();
            ids.extend(ranked[range.clone()].iter().map(|&k| by_name[k as usize]));
            f(&ids, r);
        }
    }
}

#[cfg(test)]
mod subject_tests {
    use super::Subjects;

    #[test]
    fn subjects_intern_in_and_out_of_order() {
        let mut s = Subjects::default();
        let names: Vec<String> = (0..500).map(|i| format!("S{i:04}")).collect();
        for (i, n) in names.iter().enumerate() {
            assert_eq!(s.intern(n, 0).unwrap(), i as u32);
        }
        // Found again from any hint while ascending.
        for (i, n) in names.iter().enumerate() {
            for hint in [0, i as u32, 499, 250, 10_000] {
                assert_eq!(s.intern(n, hint).unwrap(), i as u32, "{n} from {hint}");
            }
        }
        assert_eq!(s.len(), 500);
        // A name out of order switches to the table; everything stays found.
        assert_eq!(s.intern("A", 3).unwrap(), 500);
        assert_eq!(s.intern("S0250x", 3).unwrap(), 501);
        for (i, n) in names.iter().enumerate() {
            assert_eq!(s.intern(n, 0).unwrap(), i as u32);
        }
        assert_eq!(s.intern("A", 0).unwrap(), 500);
        assert_eq!(s.name(501), "S0250x");
        assert_eq!(s.len(), 502);
    }
}
