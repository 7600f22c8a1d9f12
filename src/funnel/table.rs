//! The leads as columns: ids in one buffer, creation times, and each breakdown
//! dimension as interned codes. What [`FunnelData`](super::FunnelData) needs of the
//! leads, built straight from a file without a [`Lead`] per row.

use std::hash::Hasher;

use super::bucket::Dimension;
use super::data::Millis;
use crate::hash::{FastMap, FxHasher};
use crate::records::Lead;

/// The distinct values of one lead column in first-seen order, and each lead's code
/// (0: no value; `k`: `values[k - 1]`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Codes {
    pub(crate) values: Vec<Box<str>>,
    pub(crate) of_lead: Vec<u32>,
    lookup: FastMap<Box<str>, u32>,
}

impl Codes {
    /// Appends a lead's value.
    #[inline]
    pub(crate) fn push(&mut self, value: Option<&str>) {
        let code = match value {
            None => 0,
            Some(v) => self.code(v),
        };
        self.of_lead.push(code);
    }

    fn code(&mut self, v: &str) -> u32 {
        if let Some(&c) = self.lookup.get(v) {
            return c;
        }
        self.values.push(v.into());
        // At most one value per lead, and leads fit in u32 (checked by the table).
        let c = self.values.len() as u32;
        self.lookup.insert(v.into(), c);
        c
    }

    /// A lead's value.
    #[inline]
    pub(crate) fn get(&self, lead: usize) -> Option<&str> {
        match self.of_lead.get(lead) {
            Some(&c) if c > 0 => Some(&self.values[c as usize - 1]),
            _ => None,
        }
    }

    /// Appends another column's leads, re-coding its values (first-seen order kept).
    fn append(&mut self, other: Codes) {
        let map: Vec<u32> = other.values.iter().map(|v| self.code(v)).collect();
        self.of_lead.extend(
            other
                .of_lead
                .iter()
                .map(|&c| if c == 0 { 0 } else { map[c as usize - 1] }),
        );
    }

    fn shrink(&mut self) {
        self.lookup = FastMap::default();
        self.values.shrink_to_fit();
        self.of_lead.shrink_to_fit();
    }
}

/// The leads as columns, in input order.
#[derive(Debug, Clone, Default)]
pub(crate) struct LeadTable {
    ids: String,
    /// Where each id ends in `ids`.
    ends: Vec<usize>,
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
    /// An empty table whose leads have these attribute columns.
    pub(crate) fn new(attributes: impl IntoIterator<Item = String>) -> LeadTable {
        LeadTable {
            attributes: attributes
                .into_iter()
                .map(|n| (n, Codes::default()))
                .collect(),
            ..LeadTable::default()
        }
    }

    /// Number of leads.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Appends a lead; `attribute(k)` is its value of the `k`-th attribute column.
    #[inline]
    pub(crate) fn push<'r>(&mut self, row: &LeadRow<'r>, attribute: impl Fn(usize) -> Option<&'r str>) {
        self.ids.push_str(row.id);
        self.ends.push(self.ids.len());
        self.created.push(row.created);
        self.source.push(row.source);
        self.campaign.push(row.campaign);
        self.account.push(row.account);
        self.owner.push(row.owner);
        self.segment.push(row.segment);
        for (k, (_, codes)) in self.attributes.iter_mut().enumerate() {
            codes.push(attribute(k));
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

    /// Appends another table's leads (with the same attribute columns) after these.
    pub(crate) fn append(&mut self, other: LeadTable) {
        let base = self.ids.len();
        self.ids.push_str(&other.ids);
        self.ends.extend(other.ends.iter().map(|e| e + base));
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
        for c in [
            &mut self.source,
            &mut self.campaign,
            &mut self.account,
            &mut self.owner,
            &mut self.segment,
        ] {
            c.shrink();
        }
        for (_, c) in &mut self.attributes {
            c.shrink();
        }
    }

    /// A lead's id.
    #[inline]
    pub(crate) fn id(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        // Ids are pushed as whole `&str`s, so every boundary is a char boundary.
        self.ids.get(start..end)
    }

    /// The column of a dimension (`None` for an attribute without a column).
    pub(crate) fn column(&self, dim: &Dimension) -> Option<&Codes> {
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

/// An id → position index over ids held elsewhere (open addressing; each slot is a
/// position + 1, 0 when empty): four bytes a slot, no copy of the ids.
#[derive(Debug, Clone, Default)]
pub(crate) struct IdIndex {
    slots: Vec<u32>,
}

fn hash(id: &str) -> usize {
    let mut h = FxHasher::default();
    h.write(id.as_bytes());
    h.finish() as usize
}

impl IdIndex {
    /// Indexes ids `0..n` (`n < u32::MAX`); on a repeated id, the positions of its
    /// first and second occurrence.
    pub(crate) fn build<'s>(
        n: usize,
        id: impl Fn(usize) -> &'s str,
    ) -> std::result::Result<IdIndex, (usize, usize)> {
        let mut slots = vec![0u32; (n * 2).next_power_of_two().max(16)];
        let mask = slots.len() - 1;
        for i in 0..n {
            let key = id(i);
            let mut s = hash(key) & mask;
            loop {
                match slots[s] {
                    0 => {
                        slots[s] = i as u32 + 1;
                        break;
                    }
                    p if id(p as usize - 1) == key => return Err((p as usize - 1, i)),
                    _ => s = (s + 1) & mask,
                }
            }
        }
        Ok(IdIndex { slots })
    }

    /// The position of `key`.
    #[inline]
    pub(crate) fn get<'s>(&self, key: &str, id: impl Fn(usize) -> Option<&'s str>) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut s = hash(key) & mask;
        loop {
            match self.slots[s] {
                0 => return None,
                p if id(p as usize - 1) == Some(key) => return Some(p - 1),
                _ => s = (s + 1) & mask,
            }
        }
    }
}
