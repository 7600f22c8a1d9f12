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
    // Only the leads and accounts of the opportunities matter: index those alone (a
    // million leads may have a few thousand opportunities).
    let mut by_subject: FastMap<&str, Vec<&Touch>> = FastMap::default();
    for o in opportunities {
        for subject in [
            o.lead.as_ref().map(|l| l.as_str()),
            o.account.as_ref().map(|a| a.as_str()),
        ]
        .into_iter()
        .flatten()
        {
            by_subject.entry(subject).or_default();
        }
    }
    let lead_by_id: FastMap<&str, &Lead> = leads
        .iter()
        .filter(|l| by_subject.contains_key(l.id.as_str()))
        .map(|l| (l.id.as_str(), l))
        .collect();
    // Touches per subject, in time order (input order among equal times). Every touch
    // is validated, used or not.
    for (i, t) in touches.iter().enumerate() {
        t.validate().map_err(|e| e.at_index(i))?;
        if let Some(v) = by_subject.get_mut(t.subject.as_str()) {
            v.push(t);
        }
    }
    for v in by_subject.values_mut() {
        v.sort_by_key(|t| t.at);
    }

    type Key = (Option<Channel>, Option<CampaignId>);
    struct Acc {
        sourced: u64,
        sourced_amount: Money,
        influenced: u64,
        influenced_amount: Money,
    }
    let zero = Money::zero(currency);
    let new_acc = || Acc {
        sourced: 0,
        sourced_amount: zero,
        influenced: 0,
        influenced_amount: zero,
    };
    let mut channels: BTreeMap<Option<Channel>, Acc> = BTreeMap::new();
    let mut campaigns: BTreeMap<Key, Acc> = BTreeMap::new();
    let mut total = zero;
    for (i, o) in opportunities.iter().enumerate() {
        o.validate().map_err(|e| e.at_index(i))?;
        if o.amount.currency() != currency {
            return Err(Error::from(ErrorKind::InvalidField {
                record: RecordRef::new("opportunity").with_index(i).with_id(&o.id),
                field: "amount",
                reason: format!("in {}, the report is in {currency}", o.amount.currency()),
            }));
        }
        let amount = o.amount;
        total = total.checked_add(&amount)?;
        let mut mine: Vec<&Touch> = Vec::new();
        for subject in [
            o.lead.as_ref().map(|l| l.as_str()),
            o.account.as_ref().map(|a| a.as_str()),
        ]
        .into_iter()
        .flatten()
        {
            if let Some(v) = by_subject.get(subject) {
                mine.extend(v.iter().copied());
            }
        }
        mine.sort_by_key(|t| t.at);
        let created = o.created_at;
        let sourced: (Option<Channel>, Option<CampaignId>) = match sourced_by {
            SourcedBy::LeadSource => {
                let lead = o.lead.as_ref().and_then(|l| lead_by_id.get(l.as_str()));
                match lead.and_then(|l| l.source.clone()) {
                    Some(c) => (Some(c), lead.and_then(|l| l.campaign.clone())),
                    None => (o.source.clone(), None),
                }
            }
            SourcedBy::FirstTouch => mine.first().map_or((None, None), |t| {
                (Some(t.channel.clone()), t.campaign.clone())
            }),
            SourcedBy::FirstTouchBeforeCreation => mine
                .iter()
                .find(|t| t.at <= created)
                .map_or((None, None), |t| {
                    (Some(t.channel.clone()), t.campaign.clone())
                }),
        };
        let c = channels.entry(sourced.0.clone()).or_insert_with(new_acc);
        c.sourced += 1;
        c.sourced_amount = c.sourced_amount.checked_add(&amount)?;
        let c = campaigns.entry(sourced).or_insert_with(new_acc);
        c.sourced += 1;
        c.sourced_amount = c.sourced_amount.checked_add(&amount)?;

        let limit: Option<DateTime<Utc>> = match milestone {
            InfluenceMilestone::Created => Some(created),
            InfluenceMilestone::Closed => o
                .close_date
                .and_then(|d| d.and_hms_opt(23, 59, 59))
                .map(|t| t.and_utc()),
        };
        let mut seen_channels: Vec<&Channel> = Vec::new();
        let mut seen_campaigns: Vec<(&Channel, Option<&CampaignId>)> = Vec::new();
        for t in mine.iter().filter(|t| limit.is_none_or(|l| t.at <= l)) {
            if !seen_channels.contains(&&t.channel) {
                seen_channels.push(&t.channel);
                let c = channels
                    .entry(Some(t.channel.clone()))
                    .or_insert_with(new_acc);
                c.influenced += 1;
                c.influenced_amount = c.influenced_amount.checked_add(&amount)?;
            }
            let key = (&t.channel, t.campaign.as_ref());
            if !seen_campaigns.contains(&key) {
                seen_campaigns.push(key);
                let c = campaigns
                    .entry((Some(t.channel.clone()), t.campaign.clone()))
                    .or_insert_with(new_acc);
                c.influenced += 1;
                c.influenced_amount = c.influenced_amount.checked_add(&amount)?;
            }
        }
    }
    let row = |channel: Option<Channel>, campaign: Option<CampaignId>, a: &Acc| SourcingRow {
        channel,
        campaign,
        sourced: a.sourced,
        sourced_amount: a.sourced_amount,
        influenced: a.influenced,
        influenced_amount: a.influenced_amount,
    };
    // `None` sorts first in a BTreeMap: move it last.
    let mut by_channel: Vec<SourcingRow> = channels
        .iter()
        .map(|(k, a)| row(k.clone(), None, a))
        .collect();
    by_channel
        .sort_by(|a, b| (a.channel.is_none(), &a.channel).cmp(&(b.channel.is_none(), &b.channel)));
    let mut by_campaign: Vec<SourcingRow> = campaigns
        .iter()
        .map(|((ch, ca), a)| row(ch.clone(), ca.clone(), a))
        .collect();
    by_campaign.sort_by(|a, b| {
        (a.channel.is_none(), &a.channel, &a.campaign).cmp(&(
            b.channel.is_none(),
            &b.channel,
            &b.campaign,
        ))
    });
    Ok(SourcingReport {
        sourced_by,
        milestone,
        opportunities: opportunities.len() as u64,
        total,
        by_channel,
        by_campaign,
    })
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
