//! Breakdowns: one mechanism, shared by the funnel and the pipeline engines, to
//! split a measure by owner, segment, source, account or any attribute.
//!
//! - [`Dimension`] names what to break down by, and takes its value from a
//!   [`Lead`] ([`Dimension::value`]) or from an [`Opportunity`] and the lead it was
//!   converted from ([`Dimension::of_opportunity`]).
//! - [`Keys`] gives each record of a batch (each lead of a funnel, each deal of a
//!   [`PipelineHistory`](crate::pipeline::PipelineHistory)) its bucket, once.
//! - [`Breakdown`] runs any accumulator ([`Accumulator`]) per bucket **and** over
//!   the total in one pass. It follows the contract itself: merging two partial
//!   breakdowns merges them bucket by bucket, so a breakdown of split input merges
//!   into the breakdown of the whole.
//!
//! Records without a value are their own bucket (`None`, shown as `(missing)`),
//! never dropped: the cells always add up to the total. Buckets are listed with the
//! present values in byte order of their text, then the missing bucket.
//!
//! ```
//! use revops::{Accumulator, Currency, Money, breakdown::Breakdown, breakdown::Dimension,
//!     breakdown::Keyed, pipeline::Bookings};
//! # fn main() -> Result<(), revops::Error> {
//! let usd = |s| Money::parse(s, Currency::USD);
//! let mut b = Breakdown::new(Dimension::Owner, Bookings::new(Currency::USD));
//! b.add(&Keyed::new(Some("ann"), usd("100")?))?;
//! b.add(&Keyed::new(None, usd("40")?))?; // a deal without owner: its own bucket
//! b.add(&Keyed::new(Some("ann"), usd("60")?))?;
//! let report = b.finish()?;
//! assert_eq!(report.total.amount, usd("200")?);
//! assert_eq!(report.cell(Some("ann")).map(|c| c.amount), Some(usd("160")?));
//! assert_eq!(report.cell(None).map(|c| c.deals), Some(1));
//! # Ok(()) }
//! ```

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::accumulate::{Accumulator, StateVersion};
use crate::error::{Error, ErrorKind, Result};
use crate::hash::FastMap;
use crate::records::{Lead, Opportunity};

/// What to break a report down by. Every value gets its own cell, next to the
/// total; records without a value form their own explicit bucket (`None`, shown as
/// `(missing)`), never dropped.
///
/// The funnel engine reads it from each lead ([`Dimension::value`]); the pipeline
/// engine from each deal's [`Opportunity`] record and the lead it came from
/// ([`Dimension::of_opportunity`]).
///
/// ```
/// use revops::breakdown::Dimension;
/// assert_eq!("owner".parse::<Dimension>()?, Dimension::Owner);
/// assert_eq!("attribute:product".parse::<Dimension>()?, Dimension::Attribute("product".into()));
/// assert_eq!(Dimension::Attribute("product".into()).name(), "attribute:product");
/// # Ok::<(), revops::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// The lead source channel.
    Source,
    /// The lead's campaign.
    Campaign,
    /// The lead's segment.
    Segment,
    /// The owner (of the lead; of the deal, for an opportunity).
    Owner,
    /// The account.
    Account,
    /// A free-form attribute, by name.
    Attribute(String),
}

impl Dimension {
    /// The dimension's value for a lead, if it has one.
    ///
    /// ```
    /// use revops::{Channel, Lead, LeadId, breakdown::Dimension};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let lead = Lead::new(LeadId::new("L1")?, Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap())
    ///     .with_source(Channel::new("webinar")?);
    /// assert_eq!(Dimension::Source.value(&lead), Some("webinar"));
    /// assert_eq!(Dimension::Owner.value(&lead), None);
    /// # Ok(()) }
    /// ```
    pub fn value<'l>(&self, lead: &'l Lead) -> Option<&'l str> {
        match self {
            Dimension::Source => lead.source.as_ref().map(|c| c.as_str()),
            Dimension::Campaign => lead.campaign.as_ref().map(|c| c.as_str()),
            Dimension::Segment => lead.segment.as_deref(),
            Dimension::Owner => lead.owner.as_deref(),
            Dimension::Account => lead.account.as_ref().map(|a| a.as_str()),
            Dimension::Attribute(name) => lead.attributes.get(name).map(String::as_str),
        }
    }

    /// The dimension's value for an opportunity, given the lead it was converted
    /// from when known.
    ///
    /// | dimension | read from |
    /// |---|---|
    /// | `Owner`, `Account`, `Attribute(name)` | the opportunity; if it has none, its lead |
    /// | `Source` | its lead (where the deal came from); without a lead, the opportunity's own recorded source |
    /// | `Campaign`, `Segment` | its lead (an opportunity has no such field) |
    ///
    /// ```
    /// use revops::{Channel, Currency, Lead, LeadId, Money, Opportunity, OpportunityId, breakdown::Dimension};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap();
    /// let mut lead = Lead::new(LeadId::new("L1")?, t).with_source(Channel::new("webinar")?);
    /// lead.owner = Some("sdr-1".into());
    /// lead.segment = Some("smb".into());
    /// let mut deal = Opportunity::new(OpportunityId::new("O1")?, t, "prospecting", Money::zero(Currency::USD));
    /// deal.owner = Some("ae-7".into());
    /// assert_eq!(Dimension::Owner.of_opportunity(&deal, Some(&lead)), Some("ae-7"));
    /// assert_eq!(Dimension::Source.of_opportunity(&deal, Some(&lead)), Some("webinar"));
    /// assert_eq!(Dimension::Segment.of_opportunity(&deal, Some(&lead)), Some("smb"));
    /// assert_eq!(Dimension::Segment.of_opportunity(&deal, None), None);
    /// # Ok(()) }
    /// ```
    pub fn of_opportunity<'a>(
        &self,
        opportunity: &'a Opportunity,
        lead: Option<&'a Lead>,
    ) -> Option<&'a str> {
        self.of_opportunity_with(opportunity, lead.map(|l| self.value(l)))
    }

    /// As [`of_opportunity`](Dimension::of_opportunity), given the lead's value of
    /// this dimension (`Some(value)` when the deal has a known lead, `None` when not)
    /// instead of the lead's record: for leads held as columns.
    pub(crate) fn of_opportunity_with<'a>(
        &self,
        opportunity: &'a Opportunity,
        lead: Option<Option<&'a str>>,
    ) -> Option<&'a str> {
        let own = match self {
            Dimension::Owner => opportunity.owner.as_deref(),
            Dimension::Account => opportunity.account.as_ref().map(|a| a.as_str()),
            Dimension::Attribute(name) => opportunity.attributes.get(name).map(String::as_str),
            Dimension::Source => {
                return match lead {
                    Some(value) => value,
                    None => opportunity.source.as_ref().map(|c| c.as_str()),
                };
            }
            Dimension::Campaign | Dimension::Segment => None,
        };
        own.or_else(|| lead.flatten())
    }

    /// A short name: `source`, `campaign`, ..., or `attribute:<name>`.
    pub fn name(&self) -> String {
        match self {
            Dimension::Source => "source".into(),
            Dimension::Campaign => "campaign".into(),
            Dimension::Segment => "segment".into(),
            Dimension::Owner => "owner".into(),
            Dimension::Account => "account".into(),
            Dimension::Attribute(n) => format!("attribute:{n}"),
        }
    }
}

impl std::str::FromStr for Dimension {
    type Err = Error;

    /// Parses `source`, `campaign`, `segment`, `owner`, `account`, or any other name
    /// as an attribute (`attribute:industry` or just `industry`).
    fn from_str(s: &str) -> Result<Dimension> {
        let t = s.trim();
        Ok(match t.to_ascii_lowercase().as_str() {
            "source" => Dimension::Source,
            "campaign" => Dimension::Campaign,
            "segment" => Dimension::Segment,
            "owner" => Dimension::Owner,
            "account" => Dimension::Account,
            "" => {
                return Err(Error::from(ErrorKind::InvalidParameter {
                    name: "dimension",
                    value: s.to_string(),
                    reason: "empty dimension name".into(),
                }));
            }
            _ => Dimension::Attribute(t.strip_prefix("attribute:").unwrap_or(t).to_string()),
        })
    }
}

/// The order of buckets: present values by their text, the missing bucket last.
pub(crate) fn bucket_order(a: Option<&str>, b: Option<&str>) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Puts distinct values (in first-seen order) in bucket order: the sorted values,
/// and for each first-seen position its rank in them.
pub(crate) fn rank_values(first_seen: &[Option<&str>]) -> (Vec<Option<String>>, Vec<u32>) {
    let mut sorted: Vec<u32> = (0..first_seen.len() as u32).collect();
    sorted.sort_by(|&a, &b| bucket_order(first_seen[a as usize], first_seen[b as usize]));
    let mut rank = vec![0u32; first_seen.len()];
    for (pos, &id) in sorted.iter().enumerate() {
        // pos < first_seen.len(), which the callers keep within u32
        rank[id as usize] = pos as u32;
    }
    let values = sorted
        .iter()
        .map(|&id| first_seen[id as usize].map(str::to_string))
        .collect();
    (values, rank)
}

/// The bucket of each record of a batch under one [`Dimension`]: computed once,
/// then read by every measure of the breakdown.
///
/// Built for a pipeline history by
/// [`PipelineHistory::keys`](crate::pipeline::PipelineHistory::keys), or from any
/// list of values by [`Keys::new`].
///
/// ```
/// use revops::breakdown::{Dimension, Keys};
/// # fn main() -> Result<(), revops::Error> {
/// let keys = Keys::new(Dimension::Owner, [Some("bo"), None, Some("al"), Some("bo")])?;
/// assert_eq!(keys.values(), [Some("al".to_string()), Some("bo".to_string()), None]);
/// assert_eq!((keys.of(0), keys.of(1), keys.of(2)), (Some(1), Some(2), Some(0)));
/// assert_eq!(keys.len(), 4);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "KeysRepr")]
pub struct Keys {
    dimension: Dimension,
    values: Vec<Option<String>>,
    /// Per record, its bucket: an index into `values`.
    of: Vec<u32>,
    /// Records whose value was looked up in a record that was not given (a deal
    /// without an opportunity record): in the missing bucket, counted here.
    unmatched: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysRepr {
    dimension: Dimension,
    values: Vec<Option<String>>,
    of: Vec<u32>,
    unmatched: u64,
}

impl TryFrom<KeysRepr> for Keys {
    type Error = Error;
    fn try_from(r: KeysRepr) -> Result<Keys> {
        let ordered = r
            .values
            .windows(2)
            .all(|w| bucket_order(w[0].as_deref(), w[1].as_deref()).is_lt());
        let in_range = r.of.iter().all(|&k| (k as usize) < r.values.len());
        if !(ordered && in_range) {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "keys",
                value: format!("{} values, {} records", r.values.len(), r.of.len()),
                reason: "the values must be in bucket order, each once, and every record's bucket one of them".into(),
            }));
        }
        Ok(Keys {
            dimension: r.dimension,
            values: r.values,
            of: r.of,
            unmatched: r.unmatched,
        })
    }
}

impl Keys {
    /// The buckets of records given their values, in record order.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`] (`"records"`) for more than `u32::MAX` records.
    pub fn new<'a>(
        dimension: Dimension,
        values: impl IntoIterator<Item = Option<&'a str>>,
    ) -> Result<Keys> {
        Keys::build(dimension, values, 0)
    }

    pub(crate) fn build<'a>(
        dimension: Dimension,
        values: impl IntoIterator<Item = Option<&'a str>>,
        unmatched: u64,
    ) -> Result<Keys> {
        let mut ids: FastMap<Option<&'a str>, u32> = FastMap::default();
        let mut first_seen: Vec<Option<&'a str>> = Vec::new();
        let mut raw: Vec<u32> = Vec::new();
        for v in values {
            if raw.len() >= u32::MAX as usize {
                return Err(Error::from(ErrorKind::InvalidParameter {
                    name: "records",
                    value: format!("more than {}", u32::MAX),
                    reason: format!("a breakdown covers at most {} records", u32::MAX),
                }));
            }
            let next = first_seen.len() as u32;
            let id = *ids.entry(v).or_insert_with(|| {
                first_seen.push(v);
                next
            });
            raw.push(id);
        }
        let (values, rank) = rank_values(&first_seen);
        Ok(Keys {
            dimension,
            values,
            of: raw.into_iter().map(|id| rank[id as usize]).collect(),
            unmatched,
        })
    }

    /// The dimension.
    pub fn dimension(&self) -> &Dimension {
        &self.dimension
    }

    /// The distinct values, in bucket order (present values by text, the missing
    /// bucket last).
    pub fn values(&self) -> &[Option<String>] {
        &self.values
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.of.len()
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.of.is_empty()
    }

    /// The bucket (index into [`values`](Keys::values)) of record `index`, or
    /// `None` for an index out of range.
    pub fn of(&self, index: usize) -> Option<usize> {
        self.of.get(index).map(|&k| k as usize)
    }

    /// Records whose value had to be looked up in a record that was not given (for
    /// a pipeline history: deals without an [`Opportunity`] record); each is in the
    /// missing bucket.
    pub fn unmatched(&self) -> u64 {
        self.unmatched
    }
}

/// One record for a [`Breakdown`]: its bucket's value and the record itself.
///
/// ```
/// use revops::breakdown::Keyed;
/// let k = Keyed::new(Some("ann"), 42u64);
/// assert_eq!((k.key.as_deref(), k.item), (Some("ann"), 42));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Keyed<T> {
    /// The bucket: the record's value under the dimension (`None`: missing).
    pub key: Option<String>,
    /// The record.
    pub item: T,
}

impl<T> Keyed<T> {
    /// A record in bucket `key`.
    pub fn new(key: Option<&str>, item: T) -> Keyed<T> {
        Keyed {
            key: key.map(str::to_string),
            item,
        }
    }
}

/// One bucket of a breakdown: its value and its state (or report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell<T> {
    /// The bucket's value (`None`: the records without one).
    pub value: Option<String>,
    /// The bucket's accumulator state, or its report once finished.
    pub state: T,
}

/// Any accumulator run per bucket and over the total, in one pass; itself an
/// [`Accumulator`] whose records are [`Keyed`] records of the inner one.
///
/// Each record goes to the total and to its bucket's cell, so the cells of every
/// count and amount add up to the total exactly. A bucket's cell starts as a copy of
/// the empty accumulator given to [`Breakdown::new`] (which carries its options);
/// [`merge`](Breakdown::merge) merges bucket by bucket and adds the buckets only the
/// other side has. Finding a record's bucket costs `O(log buckets)`.
///
/// # Serialised form
///
/// `{"version": 1, "dimension": "owner", "empty": A, "total": A, "cells": [{"value":
/// "ann", "state": A}, {"value": null, "state": A}]}`, each `A` the inner
/// accumulator's own form; the cells in bucket order, each value once (a state that
/// breaks this, or of another version, is refused).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(
    bound(deserialize = "A: DeserializeOwned"),
    try_from = "BreakdownRepr<A>"
)]
pub struct Breakdown<A> {
    version: StateVersion<1>,
    dimension: Dimension,
    empty: A,
    total: A,
    /// The buckets with a value, by value.
    present: BTreeMap<String, A>,
    /// The bucket of records without a value.
    missing: Option<A>,
}

#[derive(Serialize, Deserialize)]
#[serde(
    deny_unknown_fields,
    bound(serialize = "A: Serialize", deserialize = "A: DeserializeOwned")
)]
struct BreakdownRepr<A> {
    version: StateVersion<1>,
    dimension: Dimension,
    empty: A,
    total: A,
    cells: Vec<Cell<A>>,
}

impl<A> TryFrom<BreakdownRepr<A>> for Breakdown<A> {
    type Error = Error;
    fn try_from(r: BreakdownRepr<A>) -> Result<Self> {
        let ordered = r
            .cells
            .windows(2)
            .all(|w| bucket_order(w[0].value.as_deref(), w[1].value.as_deref()).is_lt());
        if !ordered {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "breakdown",
                value: format!("{} cells", r.cells.len()),
                reason: "the cells must be in bucket order, each value once".into(),
            }));
        }
        let mut present = BTreeMap::new();
        let mut missing = None;
        for c in r.cells {
            match c.value {
                Some(v) => {
                    present.insert(v, c.state);
                }
                None => missing = Some(c.state),
            }
        }
        Ok(Breakdown {
            version: r.version,
            dimension: r.dimension,
            empty: r.empty,
            total: r.total,
            present,
            missing,
        })
    }
}

impl<A: Serialize> Serialize for Breakdown<A> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut cells: Vec<Cell<&A>> = self
            .present
            .iter()
            .map(|(v, state)| Cell {
                value: Some(v.clone()),
                state,
            })
            .collect();
        cells.extend(self.missing.iter().map(|state| Cell { value: None, state }));
        BreakdownRepr {
            version: self.version,
            dimension: self.dimension.clone(),
            empty: &self.empty,
            total: &self.total,
            cells,
        }
        .serialize(s)
    }
}

impl<A: Accumulator> Breakdown<A> {
    /// An empty breakdown by `dimension`; `empty` is the inner accumulator as it
    /// starts (with its options), copied for the total and for each bucket.
    pub fn new(dimension: Dimension, empty: A) -> Breakdown<A> {
        Breakdown {
            version: StateVersion,
            dimension,
            total: empty.clone(),
            empty,
            present: BTreeMap::new(),
            missing: None,
        }
    }

    /// Builds a breakdown from states already accumulated per bucket of `keys`
    /// (`cells[k]` for `keys.values()[k]`) and over the total.
    pub(crate) fn from_parts(keys: &Keys, empty: A, total: A, cells: Vec<A>) -> Breakdown<A> {
        let mut b = Breakdown::new(keys.dimension.clone(), empty);
        b.total = total;
        for (value, state) in keys.values.iter().zip(cells) {
            match value {
                Some(v) => {
                    b.present.insert(v.clone(), state);
                }
                None => b.missing = Some(state),
            }
        }
        b
    }

    /// The dimension.
    pub fn dimension(&self) -> &Dimension {
        &self.dimension
    }

    /// The state over every record.
    pub fn total(&self) -> &A {
        &self.total
    }

    /// The buckets and their states, in bucket order (present values by text, the
    /// missing bucket, `None`, last).
    pub fn cells(&self) -> impl Iterator<Item = (Option<&str>, &A)> {
        self.present
            .iter()
            .map(|(v, a)| (Some(v.as_str()), a))
            .chain(self.missing.iter().map(|a| (None, a)))
    }

    /// The number of buckets.
    pub fn len(&self) -> usize {
        self.present.len() + usize::from(self.missing.is_some())
    }

    /// Whether there is no bucket (no record yet).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The state of one bucket, if any record (or merged state) had that value.
    pub fn cell(&self, value: Option<&str>) -> Option<&A> {
        match value {
            Some(v) => self.present.get(v),
            None => self.missing.as_ref(),
        }
    }

    /// The state of a bucket, created empty if needed.
    fn cell_mut(&mut self, value: Option<&str>) -> &mut A {
        let empty = &self.empty;
        match value {
            Some(v) => {
                if !self.present.contains_key(v) {
                    self.present.insert(v.to_string(), empty.clone());
                }
                self.present
                    .get_mut(v)
                    .unwrap_or_else(|| unreachable!("inserted above"))
            }
            None => self.missing.get_or_insert_with(|| empty.clone()),
        }
    }

    /// Adds one record to the total and to its bucket, without copying either
    /// state (adding is linear in the records, whatever the inner state's size).
    ///
    /// # Errors
    /// The inner accumulator's error for the record, from the total, which sees it
    /// first: the breakdown is then unchanged. (The bucket sees the same record
    /// under the same options and sums no more than the total, so the crate's
    /// accumulators never refuse it there once the total took it; an inner
    /// accumulator that did would leave the record in the total only, and its
    /// error is returned.)
    pub fn add(&mut self, record: &Keyed<A::Item>) -> Result<()> {
        self.total.add(&record.item)?;
        self.cell_mut(record.key.as_deref()).add(&record.item)
    }

    /// Merges another partial breakdown bucket by bucket, and its total into this
    /// total.
    ///
    /// # Errors
    /// [`ErrorKind::MergeMismatch`] for another dimension; the inner accumulator's
    /// merge error (other options, currency); `self` is then unchanged.
    pub fn merge(&mut self, other: &Breakdown<A>) -> Result<()> {
        if self.dimension != other.dimension {
            return Err(Error::from(ErrorKind::MergeMismatch {
                what: "breakdown",
                reason: format!(
                    "broken down by {}, this one by {}",
                    other.dimension.name(),
                    self.dimension.name()
                ),
            }));
        }
        let mut merged = self.clone();
        merged.empty.merge(&other.empty)?;
        merged.total.merge(&other.total)?;
        for (value, state) in other.cells() {
            merged.cell_mut(value).merge(state)?;
        }
        *self = merged;
        Ok(())
    }

    /// The report of the total and of every bucket.
    ///
    /// # Errors
    /// The inner accumulator's `finish` error.
    pub fn finish(&self) -> Result<BreakdownReport<A::Output>> {
        Ok(BreakdownReport {
            dimension: self.dimension.clone(),
            total: self.total.finish()?,
            cells: self
                .cells()
                .map(|(value, state)| {
                    Ok(Cell {
                        value: value.map(str::to_string),
                        state: state.finish()?,
                    })
                })
                .collect::<Result<_>>()?,
        })
    }
}

impl<A: Accumulator> Accumulator for Breakdown<A> {
    type Item = Keyed<A::Item>;
    type Output = BreakdownReport<A::Output>;
    const STATE_VERSION: u32 = 1;

    fn add(&mut self, item: &Keyed<A::Item>) -> Result<()> {
        Breakdown::add(self, item)
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        Breakdown::merge(self, other)
    }

    fn finish(&self) -> Result<BreakdownReport<A::Output>> {
        Breakdown::finish(self)
    }
}

/// A finished [`Breakdown`]: the report over every record, and one per bucket
/// (in bucket order; `state` holds the report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakdownReport<R> {
    /// The dimension.
    pub dimension: Dimension,
    /// The report over every record.
    pub total: R,
    /// One report per bucket.
    pub cells: Vec<Cell<R>>,
}

impl<R> BreakdownReport<R> {
    /// The report of one bucket, if there is one.
    pub fn cell(&self, value: Option<&str>) -> Option<&R> {
        self.cells
            .binary_search_by(|c| bucket_order(c.value.as_deref(), value))
            .ok()
            .map(|i| &self.cells[i].state)
    }
}

/// A measure's states over the total and per bucket while a pipeline engine loops
/// over its records: index 0 is the total, `1 + k` bucket `k` of the keys.
pub(crate) struct Slots<'k, A> {
    keys: Option<&'k Keys>,
    slots: Vec<A>,
}

impl<'k, A: Clone> Slots<'k, A> {
    /// The total only (`keys` `None`), or the total and every bucket of `keys`.
    pub(crate) fn new(empty: &A, keys: Option<&'k Keys>) -> Slots<'k, A> {
        let n = 1 + keys.map_or(0, |k| k.values.len());
        Slots {
            keys,
            slots: vec![empty.clone(); n],
        }
    }

    /// Applies `f` to the total and to record `index`'s bucket.
    #[inline]
    pub(crate) fn each(
        &mut self,
        index: usize,
        mut f: impl FnMut(&mut A) -> Result<()>,
    ) -> Result<()> {
        f(&mut self.slots[0])?;
        if let Some(k) = self.keys.and_then(|keys| keys.of(index)) {
            f(&mut self.slots[1 + k])?;
        }
        Ok(())
    }

    /// Applies `f` to every state (the total and each bucket).
    pub(crate) fn all(&mut self, f: impl FnMut(&mut A)) {
        self.slots.iter_mut().for_each(f);
    }

    /// The states turned into others, slot by slot.
    pub(crate) fn map<B>(self, f: impl FnMut(A) -> B) -> Slots<'k, B> {
        Slots {
            keys: self.keys,
            slots: self.slots.into_iter().map(f).collect(),
        }
    }

    /// The total.
    pub(crate) fn into_total(mut self) -> A {
        self.slots.swap_remove(0)
    }

    /// The breakdown by `keys` (the keys given to [`Slots::new`]).
    pub(crate) fn into_breakdown(self, keys: &Keys, empty: A) -> Breakdown<A>
    where
        A: Accumulator,
    {
        let mut slots = self.slots;
        let cells = slots.split_off(1);
        let total = slots.pop().unwrap_or_else(|| empty.clone());
        Breakdown::from_parts(keys, empty, total, cells)
    }
}
