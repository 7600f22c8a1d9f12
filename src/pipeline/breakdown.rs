//! The bucket of each deal of a history under a [`Dimension`], for the `*_by`
//! breakdowns of every pipeline measure.

use crate::breakdown::{Dimension, Keys};
use crate::error::{Error, ErrorKind, Result};
use crate::hash::FastMap;
use crate::records::{Lead, Opportunity};

use super::history::PipelineHistory;

/// Indexes records by id, refusing a repeated id.
fn index_by_id<'a, T>(
    kind: &'static str,
    records: &'a [T],
    id: impl Fn(&'a T) -> &'a str,
) -> Result<FastMap<&'a str, usize>> {
    let mut map: FastMap<&str, usize> = FastMap::default();
    map.reserve(records.len());
    for (i, r) in records.iter().enumerate() {
        if let Some(first) = map.insert(id(r), i) {
            return Err(Error::from(ErrorKind::DuplicateId {
                kind,
                id: id(r).to_string(),
                first,
                second: i,
            }));
        }
    }
    Ok(map)
}

impl PipelineHistory {
    /// The bucket of every deal of this history under `dimension`, read from the
    /// deal's [`Opportunity`] record (matched by id) and the [`Lead`] it was
    /// converted from (matched by [`Opportunity::lead`]), as
    /// [`Dimension::of_opportunity`] says. Give the keys to any `*_by` measure
    /// ([`win_rate_by`](PipelineHistory::win_rate_by),
    /// [`bookings_by`](PipelineHistory::bookings_by), ...).
    ///
    /// A deal without an opportunity record, or whose lead is not among `leads`,
    /// takes what the records given say (nothing, for a deal without a record: the
    /// missing bucket); deals without a record are counted by
    /// [`Keys::unmatched`]. Opportunities that are not deals of this history are
    /// ignored. Runs in linear time.
    ///
    /// ```
    /// use revops::{Currency, Funnel, Money, Opportunity, OpportunityChange, OpportunityId,
    ///     breakdown::Dimension, pipeline::PipelineHistory};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    /// let ten = Money::parse("10", Currency::USD)?;
    /// let rows = [
    ///     OpportunityChange::new(OpportunityId::new("A")?, t, "closed_won", ten),
    ///     OpportunityChange::new(OpportunityId::new("B")?, t, "closed_lost", ten),
    /// ];
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
    /// let mut a = Opportunity::new(OpportunityId::new("A")?, t, "closed_won", ten);
    /// a.owner = Some("ann".into());
    /// let keys = h.keys(&Dimension::Owner, &[a], &[])?;
    /// assert_eq!(keys.values(), [Some("ann".to_string()), None]);
    /// assert_eq!(keys.unmatched(), 1); // B has no opportunity record
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::DuplicateId`] for an opportunity id or a lead id given twice.
    pub fn keys(
        &self,
        dimension: &Dimension,
        opportunities: &[Opportunity],
        leads: &[Lead],
    ) -> Result<Keys> {
        let lead_index = index_by_id("lead", leads, |l| l.id.as_str())?;
        self.keys_with(dimension, opportunities, |id| {
            lead_index.get(id).map(|&j| dimension.value(&leads[j]))
        })
    }

    /// As [`keys`](PipelineHistory::keys), given each lead's value of the dimension
    /// by lead id (`lead(id)`: `None` for an unknown lead, `Some(value)` for a known
    /// one): for leads held as columns.
    pub(crate) fn keys_with<'v>(
        &self,
        dimension: &Dimension,
        opportunities: &'v [Opportunity],
        lead: impl Fn(&str) -> Option<Option<&'v str>>,
    ) -> Result<Keys> {
        let opps = index_by_id("opportunity", opportunities, |o| o.id.as_str())?;
        let mut unmatched = 0u64;
        let values: Vec<Option<&str>> = self
            .ids()
            .iter()
            .map(|id| match opps.get(id.as_str()) {
                Some(&i) => {
                    let opp = &opportunities[i];
                    let value = opp.lead.as_ref().and_then(|l| lead(l.as_str()));
                    dimension.of_opportunity_with(opp, value)
                }
                None => {
                    unmatched += 1;
                    None
                }
            })
            .collect();
        Keys::build(dimension.clone(), values, unmatched)
    }

    /// Refuses keys built for another history.
    pub(crate) fn check_keys(&self, keys: &Keys) -> Result<()> {
        if keys.len() == self.len() {
            Ok(())
        } else {
            Err(Error::from(ErrorKind::InvalidParameter {
                name: "keys",
                value: format!("{} records", keys.len()),
                reason: format!(
                    "the history has {} deals: keys must be built for this history",
                    self.len()
                ),
            }))
        }
    }
}
