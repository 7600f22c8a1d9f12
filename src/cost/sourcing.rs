//! Sourced versus influenced pipeline, per channel and campaign, in exact money.

use crate::error::ErrorKind;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, RecordRef, Result};
use crate::hash::FastMap;
use crate::ids::{CampaignId, Channel};
use crate::money::{Currency, Money};
use crate::records::{Lead, Opportunity, Touch};

/// Which channel *sourced* an opportunity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourcedBy {
    /// **Default.** The source of the opportunity's lead (`Opportunity::lead`); the
    /// opportunity's own `source` when it has no lead or the lead has none. The
    /// campaign is the lead's campaign.
    #[default]
    LeadSource,
    /// The first touch on the opportunity's lead or account, whenever it happened.
    FirstTouch,
    /// The first touch on the opportunity's lead or account at or before the
    /// opportunity was created.
    FirstTouchBeforeCreation,
}

/// The milestone before which a touch *influences* an opportunity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InfluenceMilestone {
    /// **Default.** Touches at or before the opportunity's creation.
    #[default]
    Created,
    /// Touches at or before the close date (end of that day, UTC) for opportunities
    /// with a close date; all touches for the others.
    Closed,
}

/// One channel's (or campaign's) sourced and influenced pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcingRow {
    /// The channel (`None`: opportunities with no source under the definition).
    pub channel: Option<Channel>,
    /// The campaign (`None` in the per-channel rows, or when there is none).
    pub campaign: Option<CampaignId>,
    /// Opportunities sourced.
    pub sourced: u64,
    /// Their amount.
    pub sourced_amount: Money,
    /// Opportunities influenced (touched before the milestone).
    pub influenced: u64,
    /// Their amount (each opportunity counts in full for every channel that
    /// influenced it, so influenced amounts do not add up to the pipeline).
    pub influenced_amount: Money,
}

/// Sourced and influenced pipeline side by side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcingReport {
    /// The sourcing definition.
    pub sourced_by: SourcedBy,
    /// The influence milestone.
    pub milestone: InfluenceMilestone,
    /// Opportunities counted.
    pub opportunities: u64,
    /// Their total amount (the sum of the sourced amounts, unsourced included).
    pub total: Money,
    /// Per channel, sorted, the unsourced / never-touched row (`channel: None`) last.
    pub by_channel: Vec<SourcingRow>,
    /// Per channel and campaign.
    pub by_campaign: Vec<SourcingRow>,
}

/// Computes sourced and influenced pipeline over `opportunities` (all their amounts
/// must be in one currency, `currency`).
///
/// Touches belong to an opportunity when their subject is the opportunity's lead id
/// or its account id. Leads are looked up by id for [`SourcedBy::LeadSource`].
///
/// ```
/// use revops::{cost::sourcing_report, Channel, Currency, cost::InfluenceMilestone, Lead, LeadId, Money,
///              Opportunity, OpportunityId, cost::SourcedBy, SubjectId, Touch};
/// use chrono::{TimeZone, Utc};
/// # fn main() -> Result<(), revops::Error> {
/// let t = |d| Utc.with_ymd_and_hms(2026, 1, d, 0, 0, 0).unwrap();
/// let lead = Lead::new(LeadId::new("L1")?, t(1)).with_source(Channel::new("webinar")?);
/// let mut opp = Opportunity::new(OpportunityId::new("O1")?, t(10), "prospecting", Money::parse("5000", Currency::USD)?);
/// opp.lead = Some(LeadId::new("L1")?);
/// let touches = vec![
///     Touch::new(SubjectId::new("L1")?, Channel::new("paid_search")?, t(2)),
///     Touch::new(SubjectId::new("L1")?, Channel::new("email")?, t(12)), // after creation
/// ];
/// let r = sourcing_report(&[opp], &[lead], &touches, SourcedBy::LeadSource, InfluenceMilestone::Created, Currency::USD)?;
/// assert_eq!(r.channel("webinar").map(|row| row.sourced), Some(1));
/// assert_eq!(r.channel("paid_search").map(|row| row.influenced), Some(1));
/// assert!(r.channel("email").is_none());
/// # Ok(()) }
/// ```
///
/// # Errors
/// An opportunity's own validation error with its index; [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField)
/// naming the opportunity whose amount is not in `currency`.
pub fn sourcing_report(
    opportunities: &[Opportunity],
    leads: &[Lead],
    touches: &[Touch],
    sourced_by: SourcedBy,
    milestone: InfluenceMilestone,
    currency: Currency,
) -> Result<SourcingReport> {
    let index = TouchIndex::new(opportunities, leads, touches)?;
    let mut tallies = Tallies::new(currency);
    let mut total = Money::zero(currency);
    for (i, o) in opportunities.iter().enumerate() {
        o.validate().map_err(|e| e.at_index(i))?;
        if o.amount.currency() != currency {
            return Err(Error::from(ErrorKind::InvalidField {
                record: RecordRef::new("opportunity").with_index(i).with_id(&o.id),
                field: "amount",
                reason: format!("in {}, the report is in {currency}", o.amount.currency()),
            }));
        }
        total = total.checked_add(&o.amount)?;
        let mine = index.touches_of(o);
        tallies.source(index.sourced(o, &mine, sourced_by), &o.amount)?;
        let limit = influence_limit(o, milestone);
        tallies.influence(
            mine.iter().filter(|t| limit.is_none_or(|l| t.at <= l)),
            &o.amount,
        )?;
    }
    let (by_channel, by_campaign) = tallies.rows();
    Ok(SourcingReport {
        sourced_by,
        milestone,
        opportunities: opportunities.len() as u64,
        total,
        by_channel,
        by_campaign,
    })
}

/// The lead and account ids of an opportunity, the subjects its touches are on.
fn subjects(o: &Opportunity) -> impl Iterator<Item = &str> {
    [
        o.lead.as_ref().map(|l| l.as_str()),
        o.account.as_ref().map(|a| a.as_str()),
    ]
    .into_iter()
    .flatten()
}

/// The touches and leads of the opportunities' subjects.
struct TouchIndex<'a> {
    /// Touches per subject, in time order (input order among equal times).
    by_subject: FastMap<&'a str, Vec<&'a Touch>>,
    lead_by_id: FastMap<&'a str, &'a Lead>,
}

impl<'a> TouchIndex<'a> {
    /// Indexes only the leads and accounts of the opportunities (a million leads may
    /// have a few thousand opportunities). Every touch is validated, used or not.
    fn new(
        opportunities: &'a [Opportunity],
        leads: &'a [Lead],
        touches: &'a [Touch],
    ) -> Result<TouchIndex<'a>> {
        let mut by_subject: FastMap<&str, Vec<&Touch>> = FastMap::default();
        for o in opportunities {
            for subject in subjects(o) {
                by_subject.entry(subject).or_default();
            }
        }
        let lead_by_id: FastMap<&str, &Lead> = leads
            .iter()
            .filter(|l| by_subject.contains_key(l.id.as_str()))
            .map(|l| (l.id.as_str(), l))
            .collect();
        for (i, t) in touches.iter().enumerate() {
            t.validate().map_err(|e| e.at_index(i))?;
            if let Some(v) = by_subject.get_mut(t.subject.as_str()) {
                v.push(t);
            }
        }
        for v in by_subject.values_mut() {
            v.sort_by_key(|t| t.at);
        }
        Ok(TouchIndex {
            by_subject,
            lead_by_id,
        })
    }

    /// The touches on an opportunity's lead and account, in time order.
    fn touches_of(&self, o: &Opportunity) -> Vec<&'a Touch> {
        let mut mine: Vec<&Touch> = Vec::new();
        for subject in subjects(o) {
            if let Some(v) = self.by_subject.get(subject) {
                mine.extend(v.iter().copied());
            }
        }
        mine.sort_by_key(|t| t.at);
        mine
    }

    /// The channel and campaign that sourced an opportunity (`mine`: its touches).
    fn sourced(&self, o: &Opportunity, mine: &[&Touch], sourced_by: SourcedBy) -> Key {
        let of_touch = |t: &&Touch| (Some(t.channel.clone()), t.campaign.clone());
        match sourced_by {
            SourcedBy::LeadSource => {
                let lead = o
                    .lead
                    .as_ref()
                    .and_then(|l| self.lead_by_id.get(l.as_str()));
                match lead.and_then(|l| l.source.clone()) {
                    Some(c) => (Some(c), lead.and_then(|l| l.campaign.clone())),
                    None => (o.source.clone(), None),
                }
            }
            SourcedBy::FirstTouch => mine.first().map_or((None, None), of_touch),
            SourcedBy::FirstTouchBeforeCreation => mine
                .iter()
                .find(|t| t.at <= o.created_at)
                .map_or((None, None), of_touch),
        }
    }
}

/// The last instant a touch influences an opportunity, if any.
fn influence_limit(o: &Opportunity, milestone: InfluenceMilestone) -> Option<DateTime<Utc>> {
    match milestone {
        InfluenceMilestone::Created => Some(o.created_at),
        InfluenceMilestone::Closed => o
            .close_date
            .and_then(|d| d.and_hms_opt(23, 59, 59))
            .map(|t| t.and_utc()),
    }
}

/// A channel and campaign.
type Key = (Option<Channel>, Option<CampaignId>);

/// One row's counts and amounts.
struct Acc {
    sourced: u64,
    sourced_amount: Money,
    influenced: u64,
    influenced_amount: Money,
}

impl Acc {
    fn new(zero: Money) -> Acc {
        Acc {
            sourced: 0,
            sourced_amount: zero,
            influenced: 0,
            influenced_amount: zero,
        }
    }

    fn source(&mut self, amount: &Money) -> Result<()> {
        self.sourced += 1;
        self.sourced_amount = self.sourced_amount.checked_add(amount)?;
        Ok(())
    }

    fn influence(&mut self, amount: &Money) -> Result<()> {
        self.influenced += 1;
        self.influenced_amount = self.influenced_amount.checked_add(amount)?;
        Ok(())
    }

    fn row(&self, channel: Option<Channel>, campaign: Option<CampaignId>) -> SourcingRow {
        SourcingRow {
            channel,
            campaign,
            sourced: self.sourced,
            sourced_amount: self.sourced_amount,
            influenced: self.influenced,
            influenced_amount: self.influenced_amount,
        }
    }
}

/// The rows per channel and per channel and campaign.
struct Tallies {
    zero: Money,
    channels: BTreeMap<Option<Channel>, Acc>,
    campaigns: BTreeMap<Key, Acc>,
}

impl Tallies {
    fn new(currency: Currency) -> Tallies {
        Tallies {
            zero: Money::zero(currency),
            channels: BTreeMap::new(),
            campaigns: BTreeMap::new(),
        }
    }

    /// Counts an opportunity as sourced by `key`.
    fn source(&mut self, key: Key, amount: &Money) -> Result<()> {
        let zero = self.zero;
        self.channels
            .entry(key.0.clone())
            .or_insert_with(|| Acc::new(zero))
            .source(amount)?;
        self.campaigns
            .entry(key)
            .or_insert_with(|| Acc::new(zero))
            .source(amount)
    }

    /// Counts an opportunity as influenced by each channel, and each channel and
    /// campaign, of its touches before the milestone (once each).
    fn influence<'t>(
        &mut self,
        touches: impl Iterator<Item = &'t &'t Touch>,
        amount: &Money,
    ) -> Result<()> {
        let zero = self.zero;
        let mut seen_channels: Vec<&Channel> = Vec::new();
        let mut seen_campaigns: Vec<(&Channel, Option<&CampaignId>)> = Vec::new();
        for t in touches {
            if !seen_channels.contains(&&t.channel) {
                seen_channels.push(&t.channel);
                self.channels
                    .entry(Some(t.channel.clone()))
                    .or_insert_with(|| Acc::new(zero))
                    .influence(amount)?;
            }
            let key = (&t.channel, t.campaign.as_ref());
            if !seen_campaigns.contains(&key) {
                seen_campaigns.push(key);
                self.campaigns
                    .entry((Some(t.channel.clone()), t.campaign.clone()))
                    .or_insert_with(|| Acc::new(zero))
                    .influence(amount)?;
            }
        }
        Ok(())
    }

    /// The rows per channel and per campaign, sorted, the `None` channel last (it
    /// sorts first in a `BTreeMap`).
    fn rows(&self) -> (Vec<SourcingRow>, Vec<SourcingRow>) {
        let mut by_channel: Vec<SourcingRow> = self
            .channels
            .iter()
            .map(|(k, a)| a.row(k.clone(), None))
            .collect();
        by_channel.sort_by(|a, b| {
            (a.channel.is_none(), &a.channel).cmp(&(b.channel.is_none(), &b.channel))
        });
        let mut by_campaign: Vec<SourcingRow> = self
            .campaigns
            .iter()
            .map(|((ch, ca), a)| a.row(ch.clone(), ca.clone()))
            .collect();
        by_campaign.sort_by(|a, b| {
            (a.channel.is_none(), &a.channel, &a.campaign).cmp(&(
                b.channel.is_none(),
                &b.channel,
                &b.campaign,
            ))
        });
        (by_channel, by_campaign)
    }
}

// ---------------------------------------------------------------------------
// Lookups by name (issue 15), as on `Attribution::channel`.
// ---------------------------------------------------------------------------

impl SourcingReport {
    /// The row of channel `name` (see [`sourcing_report`] for an example); the
    /// unsourced row (`channel: None`) is [`SourcingReport::by_channel`]'s last.
    pub fn channel(&self, name: &str) -> Option<&SourcingRow> {
        self.by_channel
            .iter()
            .find(|r| r.channel.as_ref().is_some_and(|c| c.as_str() == name))
    }

    /// The row of campaign `campaign` of channel `channel`.
    pub fn campaign(&self, channel: &str, campaign: &str) -> Option<&SourcingRow> {
        self.by_campaign.iter().find(|r| {
            r.channel.as_ref().is_some_and(|c| c.as_str() == channel)
                && r.campaign.as_ref().is_some_and(|c| c.as_str() == campaign)
        })
    }
}
