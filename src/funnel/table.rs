//! The leads as columns: ids in one buffer, creation times, and each breakdown
//! dimension as interned codes. What [`FunnelData`](super::FunnelData) needs of the
//! leads, built straight from a file without a [`Lead`] per row.

// Only the CSV reader builds a table so far.
#![cfg_attr(not(feature = "csv"), allow(dead_code))]

use std::hash::Hasher;

use super::bucket::Dimension;
use super::data::Millis;
use crate::hash::FxHasher;
use crate::records::Lead;

/// Distinct strings in one buffer, in first-seen order, with an open-addressing
/// lookup (no allocation per string).
#[derive(Debug, Clone, Default)]
struct Strings {
    buf: String,
    /// Where each string ends in `buf`.
    ends: Vec<usize>,
    /// Each string's hash (lookup and growth need no rehashing).
    hashes: Vec<u64>,
    /// Code (position + 1) per slot, 0 when empty; a power of two, at most half full.
    slots: Vec<u32>,
}

impl Strings {
    fn len(&self) -> usize {
        self.ends.len()
    }

    /// String `k` (zero-based).
    #[inline]
    fn get(&self, k: usize) -> Option<&str> {
        let end = *self.ends.get(k)?;
        let start = if k == 0 { 0 } else { self.ends[k - 1] };
        // Whole `&str`s are pushed, so every boundary is a char boundary.
        self.buf.get(start..end)
    }

    /// The code (position + 1) of `v`, added if new.
    #[inline]
    fn intern(&mut self, v: &str, h: u64) -> u32 {
        if self.slots.len() < 2 * (self.len() + 1) {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut s = h as usize & mask;
        loop {
            match self.slots[s] {
                0 => {
                    self.buf.push_str(v);
                    self.ends.push(self.buf.len());
                    self.hashes.push(h);
                    // At most one new string per lead, and leads fit in u32.
                    let code = self.len() as u32;
                    self.slots[s] = code;
                    return code;
                }
                c if self.hashes[c as usize - 1] == h && self.get(c as usize - 1) == Some(v) => {
                    return c;
                }
                _ => s = (s + 1) & mask,
            }
        }
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(16);
        let mut slots = vec![0u32; size];
        let mask = size - 1;
        for (k, &h) in self.hashes.iter().enumerate() {
            let mut s = h as usize & mask;
            while slots[s] != 0 {
                s = (s + 1) & mask;
            }
            slots[s] = k as u32 + 1;
        }
        self.slots = slots;
    }

    /// Frees the lookup (no more strings will be added).
    fn shrink(&mut self) {
        self.slots = Vec::new();
        self.hashes = Vec::new();
        self.buf.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

/// Which breakdown dimensions a lean lead reader keeps values of (for example
/// [`FunnelData::read_leads_csv_keeping`](super::FunnelData::read_leads_csv_keeping)).
/// A report needs the values of the dimension it breaks down by, and no other: a
/// cohort or flow report without a breakdown needs none. Every column is still
/// checked as the general reader checks it (a row that reader refuses is refused);
/// the values of a dimension not kept are not stored, so
/// [`FunnelData::value`](super::FunnelData::value) gives `None` for them, as for an
/// attribute the file has no column of.
///
/// ```
/// use revops::funnel::{Breakdowns, Dimension};
/// let keep = Breakdowns::only([Dimension::Source]);
/// assert!(keep.keeps(&Dimension::Source));
/// assert!(!keep.keeps(&Dimension::Campaign));
/// assert!(Breakdowns::default().keeps(&Dimension::Attribute("industry".into())));
/// assert!(!Breakdowns::none().keeps(&Dimension::Owner));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Breakdowns {
    /// Every dimension: source, campaign, account, owner, segment and every
    /// attribute column (the default).
    #[default]
    All,
    /// Only these dimensions (an attribute not among the file's columns keeps nothing).
    Only(Vec<Dimension>),
}

impl Breakdowns {
    /// No dimension: the leads' ids and creation times only.
    pub fn none() -> Breakdowns {
        Breakdowns::Only(Vec::new())
    }

    /// Only the given dimensions.
    pub fn only(dimensions: impl IntoIterator<Item = Dimension>) -> Breakdowns {
        Breakdowns::Only(dimensions.into_iter().collect())
    }

    /// Whether the values of `dimension` are kept.
    pub fn keeps(&self, dimension: &Dimension) -> bool {
        match self {
            Breakdowns::All => true,
            Breakdowns::Only(d) => d.contains(dimension),
        }
    }
}

/// The distinct values of one lead column in first-seen order, and each lead's code
/// (0: no value; `k`: the `k`-th distinct value). A column not kept holds nothing.
#[derive(Debug, Clone, Default)]
pub(crate) struct Codes {
    values: Strings,
    of_lead: Vec<u32>,
    /// The last value pushed and its code (values often repeat in runs).
    last: Option<(u64, u32)>,
    /// Whether values are kept (else `push` and `append` do nothing).
    kept: bool,
}

impl Codes {
    fn new(kept: bool) -> Codes {
        Codes {
            kept,
            ..Codes::default()
        }
    }

    /// Appends a lead's value.
    #[inline]
    pub(crate) fn push(&mut self, value: Option<&str>) {
        if !self.kept {
            return;
        }
        let code = match value {
            None => 0,
            Some(v) => {
                let h = hash(v);
                match self.last {
                    Some((lh, c)) if lh == h && self.values.get(c as usize - 1) == Some(v) => c,
                    _ => {
                        let c = self.values.intern(v, h);
                        self.last = Some((h, c));
                        c
                    }
                }
            }
        };
        self.of_lead.push(code);
    }

    /// A lead's value.
    #[inline]
    pub(crate) fn get(&self, lead: usize) -> Option<&str> {
        match self.of_lead.get(lead) {
            Some(&c) if c > 0 => self.values.get(c as usize - 1),
            _ => None,
        }
    }

    /// Appends another column's leads, re-coding its values (first-seen order kept).
    fn append(&mut self, other: Codes) {
        if !self.kept {
            return;
        }
        if self.of_lead.is_empty() {
            *self = other;
            return;
        }
        let map: Vec<u32> = (0..other.values.len())
            .map(|k| {
                let v = other.values.get(k).unwrap_or_default();
                self.values.intern(v, other.values.hashes[k])
            })
            .collect();
        self.of_lead.extend(
            other
                .of_lead
                .iter()
                .map(|&c| if c == 0 { 0 } else { map[c as usize - 1] }),
        );
        self.last = None;
    }

    fn shrink(&mut self) {
        self.values.shrink();
        self.of_lead.shrink_to_fit();
        self.last = None;
    }
}

/// Hashes per chunk of [`LeadTable`]'s id hashes (64 KiB: below the C library's
/// least threshold for mapping an allocation on its own).
const HASH_CHUNK: usize = 1 << 13;

/// The leads as columns, in input order.
#[derive(Debug, Clone, Default)]
pub(crate) struct LeadTable {
    ids: String,
    /// Where each id ends in `ids`.
    ends: Vec<usize>,
    /// Each id's hash (computed where the row is read, so the index is built
    /// without reading the ids again); freed once the index is built. Held in
    /// chunks of [`HASH_CHUNK`] (lead `i`'s in chunk `i / HASH_CHUNK`): no allocation
    /// of several MiB is made and freed (which would make the C library's allocator
    /// keep up to twice as much freed memory mapped afterwards).
    hashes: Vec<Vec<u64>>,
    pub(crate) created: Vec<Millis>,
    source: Codes,
    campaign: Codes,
    account: Codes,
    owner: Codes,
    segment: Codes,
    /// Attribute name → its column, in header order.
    attributes: Vec<(String, Codes)>,
}

/// One lead's values, as [`LeadTable::push`] takes them.
pub(crate) struct LeadRow<'r> {
    pub(crate) id: &'r str,
    pub(crate) created: Millis,
    pub(crate) source: Option<&'r str>,
    pub(crate) campaign: Option<&'r str>,
    pub(crate) account: Option<&'r str>,
    pub(crate) owner: Option<&'r str>,
    pub(crate) segment: Option<&'r str>,
}

impl LeadTable {
    /// An empty table whose leads have these attribute columns, keeping the values
    /// of the dimensions `keep` names.
    pub(crate) fn new(
        attributes: impl IntoIterator<Item = String>,
        keep: &Breakdowns,
    ) -> LeadTable {
        let codes = |d: Dimension| Codes::new(keep.keeps(&d));
        LeadTable {
            source: codes(Dimension::Source),
            campaign: codes(Dimension::Campaign),
            account: codes(Dimension::Account),
            owner: codes(Dimension::Owner),
            segment: codes(Dimension::Segment),
            attributes: attributes
                .into_iter()
                .map(|n| {
                    let c = Codes::new(keep.keeps(&Dimension::Attribute(n.clone())));
                    (n, c)
                })
                .collect(),
            ..LeadTable::default()
        }
    }

    /// Room for `rows` more leads in the per-lead columns (ids' text grows as read).
    #[cfg(feature = "parquet")]
    pub(crate) fn reserve(&mut self, rows: usize) {
        self.ends.reserve(rows);
        self.created.reserve(rows);
        for codes in self.columns_mut() {
            if codes.kept {
                codes.of_lead.reserve(rows);
            }
        }
    }

    /// Whether the values of the `k`-th attribute column are kept.
    #[inline]
    pub(crate) fn keeps_attribute(&self, k: usize) -> bool {
        self.attributes.get(k).is_some_and(|(_, c)| c.kept)
    }

    /// Whether each of source, campaign, account, owner and segment is kept.
    pub(crate) fn kept(&self) -> [bool; 5] {
        [
            self.source.kept,
            self.campaign.kept,
            self.account.kept,
            self.owner.kept,
            self.segment.kept,
        ]
    }

    /// Number of leads.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Appends a lead; `attribute(k)` is its value of the `k`-th attribute column.
    #[inline]
    pub(crate) fn push<'r>(
        &mut self,
        row: &LeadRow<'r>,
        attribute: impl Fn(usize) -> Option<&'r str>,
    ) {
        self.ids.push_str(row.id);
        self.ends.push(self.ids.len());
        self.push_hash(hash(row.id));
        self.created.push(row.created);
        self.source.push(row.source);
        self.campaign.push(row.campaign);
        self.account.push(row.account);
        self.owner.push(row.owner);
        self.segment.push(row.segment);
        for (k, (_, codes)) in self.attributes.iter_mut().enumerate() {
            if codes.kept {
                codes.push(attribute(k));
            }
        }
    }

    /// Appends a lead record (its attributes without a column are not kept).
    pub(crate) fn push_lead(&mut self, lead: &Lead) {
        let row = LeadRow {
            id: lead.id.as_str(),
            created: super::data::millis(&lead.created_at),
            source: lead.source.as_ref().map(|c| c.as_str()),
            campaign: lead.campaign.as_ref().map(|c| c.as_str()),
            account: lead.account.as_ref().map(|a| a.as_str()),
            owner: lead.owner.as_deref(),
            segment: lead.segment.as_deref(),
        };
        let names: Vec<String> = self.attributes.iter().map(|(n, _)| n.clone()).collect();
        self.push(&row, |k| lead.attributes.get(&names[k]).map(String::as_str));
    }

    fn columns_mut(&mut self) -> impl Iterator<Item = &mut Codes> {
        [
            &mut self.source,
            &mut self.campaign,
            &mut self.account,
            &mut self.owner,
            &mut self.segment,
        ]
        .into_iter()
        .chain(self.attributes.iter_mut().map(|(_, c)| c))
    }

    /// Appends another table's leads (with the same attribute columns) after these.
    pub(crate) fn append(&mut self, other: LeadTable) {
        let base = self.ids.len();
        self.ids.push_str(&other.ids);
        self.ends.extend(other.ends.iter().map(|e| e + base));
        for &h in other.hashes.iter().flatten() {
            self.push_hash(h);
        }
        self.created.extend_from_slice(&other.created);
        self.source.append(other.source);
        self.campaign.append(other.campaign);
        self.account.append(other.account);
        self.owner.append(other.owner);
        self.segment.append(other.segment);
        for ((_, mine), (_, theirs)) in self.attributes.iter_mut().zip(other.attributes) {
            mine.append(theirs);
        }
    }

    /// Frees what only building needed.
    pub(crate) fn shrink(&mut self) {
        self.ids.shrink_to_fit();
        self.ends.shrink_to_fit();
        self.created.shrink_to_fit();
        for c in self.columns_mut() {
            c.shrink();
        }
    }

    /// Appends the next lead's id hash.
    #[inline]
    fn push_hash(&mut self, h: u64) {
        match self.hashes.last_mut() {
            Some(chunk) if chunk.len() < HASH_CHUNK => chunk.push(h),
            _ => {
                let mut chunk = Vec::with_capacity(HASH_CHUNK);
                chunk.push(h);
                self.hashes.push(chunk);
            }
        }
    }

    /// The hash of lead `i`'s id, as the index hashes it.
    #[inline]
    pub(crate) fn id_hash(&self, i: usize) -> u64 {
        match self
            .hashes
            .get(i / HASH_CHUNK)
            .and_then(|c| c.get(i % HASH_CHUNK))
        {
            Some(&h) => h,
            None => hash(self.id(i).unwrap_or_default()),
        }
    }

    /// Frees the ids' hashes (once the index is built).
    pub(crate) fn free_hashes(&mut self) {
        self.hashes = Vec::new();
    }

    /// A lead's id.
    #[inline]
    pub(crate) fn id(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        // Ids are pushed as whole `&str`s, so every boundary is a char boundary.
        self.ids.get(start..end)
    }

    /// The column of a dimension (`None` for an attribute without a column, or a
    /// dimension not kept).
    pub(crate) fn column(&self, dim: &Dimension) -> Option<&Codes> {
        self.any_column(dim).filter(|c| c.kept)
    }

    fn any_column(&self, dim: &Dimension) -> Option<&Codes> {
        Some(match dim {
            Dimension::Source => &self.source,
            Dimension::Campaign => &self.campaign,
            Dimension::Account => &self.account,
            Dimension::Owner => &self.owner,
            Dimension::Segment => &self.segment,
            Dimension::Attribute(name) => {
                return self
                    .attributes
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, c)| c);
            }
        })
    }

    /// The attribute column names, in header order.
    pub(crate) fn attribute_names(&self) -> impl Iterator<Item = &str> {
        self.attributes.iter().map(|(n, _)| n.as_str())
    }
}

/// An id → position index over ids held elsewhere (open addressing; each slot holds
/// the id's hash in its high half and its position + 1 in the low half, 0 when
/// empty): eight bytes a slot, no copy of the ids, and ids compared only when their
/// hashes' high halves agree. The table may be split by the hash's top bits into
/// parts built independently (on several threads).
#[derive(Debug, Clone, Default)]
pub(crate) struct IdIndex {
    parts: Vec<Vec<u64>>,
    /// `64 - log2(parts)`: the shift that gives an id's part.
    shift: u32,
}

#[inline]
fn hash(id: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write(id.as_bytes());
    h.finish()
}

const LOW: u64 = 0xffff_ffff;

impl IdIndex {
    /// Indexes ids `0..n` (`n < u32::MAX`) in one part; on a repeated id, the
    /// positions of its first and second occurrence.
    pub(crate) fn build<'s>(
        n: usize,
        id: impl Fn(usize) -> &'s str,
    ) -> std::result::Result<IdIndex, (usize, usize)> {
        let h = |i: usize| hash(id(i));
        Ok(IdIndex::from_parts(vec![IdIndex::build_part(
            n, &id, &h, 0, 1,
        )?]))
    }

    /// Part `part` of `parts` (a power of two) of the index of ids `0..n`: the ids
    /// whose hash's top bits are `part`; `id_hash(i)` is the hash of `id(i)` (as
    /// the index hashes). On a repeated id among them, the positions of its first
    /// and second occurrence (the earliest second one).
    pub(crate) fn build_part<'s>(
        n: usize,
        id: &impl Fn(usize) -> &'s str,
        id_hash: &impl Fn(usize) -> u64,
        part: usize,
        parts: usize,
    ) -> std::result::Result<Vec<u64>, (usize, usize)> {
        let shift = 64 - parts.trailing_zeros();
        let mine = |h: u64| parts == 1 || (h >> shift) as usize == part;
        let mut slots = vec![0u64; (n * 2 / parts).next_power_of_two().max(16)];
        let mask = slots.len() - 1;
        for i in 0..n {
            let h = id_hash(i);
            if !mine(h) {
                continue;
            }
            let tag = h & !LOW;
            let mut s = h as usize & mask;
            loop {
                let slot = slots[s];
                if slot == 0 {
                    slots[s] = tag | (i as u64 + 1);
                    break;
                }
                let p = (slot & LOW) as usize - 1;
                if slot & !LOW == tag && id(p) == id(i) {
                    return Err((p, i));
                }
                s = (s + 1) & mask;
            }
        }
        Ok(slots)
    }

    /// The index of parts built by [`IdIndex::build_part`] (in part order).
    pub(crate) fn from_parts(parts: Vec<Vec<u64>>) -> IdIndex {
        let shift = 64 - parts.len().max(1).trailing_zeros();
        IdIndex { parts, shift }
    }

    /// The position of `key`.
    #[inline]
    pub(crate) fn get<'s>(&self, key: &str, id: impl Fn(usize) -> Option<&'s str>) -> Option<u32> {
        let h = hash(key);
        let part = if self.parts.len() <= 1 {
            0
        } else {
            (h >> self.shift) as usize
        };
        let slots = self.parts.get(part)?;
        if slots.is_empty() {
            return None;
        }
        let mask = slots.len() - 1;
        let tag = h & !LOW;
        let mut s = h as usize & mask;
        loop {
            let slot = slots[s];
            if slot == 0 {
                return None;
            }
            let p = (slot & LOW) as u32 - 1;
            if slot & !LOW == tag && id(p as usize) == Some(key) {
                return Some(p);
            }
            s = (s + 1) & mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// An index in parts finds what the one-part index finds, and reports the
        /// same repeated id.
        #[test]
        fn parts_index_as_one(ids in proptest::collection::vec(0..400u32, 0..300), log in 0..3u32) {
            let ids: Vec<String> = ids.iter().map(|i| format!("L-{i}")).collect();
            let id = |i: usize| ids[i].as_str();
            let parts = 1usize << log;
            let one = IdIndex::build(ids.len(), id);
            let h = |i: usize| hash(id(i));
            let built: Vec<_> = (0..parts).map(|p| IdIndex::build_part(ids.len(), &id, &h, p, parts)).collect();
            let first = built.iter().filter_map(|b| b.as_ref().err()).min_by_key(|(_, second)| *second).copied();
            match one {
                Err(pair) => prop_assert_eq!(Some(pair), first),
                Ok(one) => {
                    prop_assert_eq!(first, None);
                    let many = IdIndex::from_parts(built.into_iter().filter_map(Result::ok).collect());
                    for k in 0..420u32 {
                        let key = format!("L-{k}");
                        let get = |i: usize| ids.get(i).map(String::as_str);
                        prop_assert_eq!(one.get(&key, get), many.get(&key, get));
                    }
                }
            }
        }
    }
}
