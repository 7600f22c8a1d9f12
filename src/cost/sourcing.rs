//! Sourced versus influenced pipeline, per channel and campaign, in exact money.

use crate::error::ErrorKind;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::attribution::JourneyBuilder;
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
    // Only the leads of the opportunities are indexed (a million leads may have a
    // few thousand opportunities).
    let wanted = subject_set::<()>(opportunities);
    let lead_by_id: FastMap<&str, &Lead> = leads
        .iter()
        .filter(|l| wanted.contains_key(l.id.as_str()))
        .map(|l| (l.id.as_str(), l))
        .collect();
    sourcing_report_with(
        opportunities,
        |id| {
            Ok(lead_by_id
                .get(id)
                .map(|l| (l.source.clone(), l.campaign.clone())))
        },
        SourcingTouches::Records(touches),
        sourced_by,
        milestone,
        currency,
    )
}

/// Where [`sourcing_report_with`] reads the touches from.
pub(crate) enum SourcingTouches<'t> {
    /// Touch records (each validated, used or not).
    Records(&'t [Touch]),
    /// The touches a journey builder holds (validated when added).
    Builder(&'t JourneyBuilder),
}

/// As [`sourcing_report`], given each lead's source and campaign by lead id
/// (`lead(id)`: `None` for an unknown lead) and the touches from records or a
/// journey builder: for leads and touches held as columns.
pub(crate) fn sourcing_report_with(
    opportunities: &[Opportunity],
    lead: impl Fn(&str) -> Result<Option<Key>>,
    touches: SourcingTouches<'_>,
    sourced_by: SourcedBy,
    milestone: InfluenceMilestone,
    currency: Currency,
) -> Result<SourcingReport> {
    let index = TouchIndex::new(opportunities, touches)?;
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
        let key = match sourced_by {
            SourcedBy::LeadSource => {
                let found = match &o.lead {
                    Some(l) => lead(l.as_str())?,
                    None => None,
                };
                match found {
                    Some((Some(c), campaign)) => (Some(c), campaign),
                    _ => (o.source.clone(), None),
                }
            }
            SourcedBy::FirstTouch => mine.first().map_or((None, None), |t| t.key()),
            SourcedBy::FirstTouchBeforeCreation => mine
                .iter()
                .find(|t| t.at <= o.created_at)
                .map_or((None, None), |t| t.key()),
        };
        tallies.source(key, &o.amount)?;
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

/// The subjects of the opportunities (their lead and account ids), each with an
/// empty list.
fn subject_set<T>(opportunities: &[Opportunity]) -> FastMap<&str, Vec<T>> {
    let mut set: FastMap<&str, Vec<T>> = FastMap::default();
    for o in opportunities {
        for subject in subjects(o) {
            set.entry(subject).or_default();
        }
    }
    set
}

/// A touch as sourcing reads it: its time, channel and campaign.
struct TouchAt<'t> {
    at: DateTime<Utc>,
    channel: &'t Channel,
    campaign: Option<&'t CampaignId>,
}

impl TouchAt<'_> {
    fn key(&self) -> Key {
        (Some(self.channel.clone()), self.campaign.cloned())
    }
}

/// The touches of the opportunities' subjects.
struct TouchIndex<'o, 't> {
    /// Touches per subject, in time order (input order among equal times).
    by_subject: FastMap<&'o str, Vec<TouchAt<'t>>>,
}

impl<'o, 't> TouchIndex<'o, 't> {
    /// Indexes the touches of the opportunities' leads and accounts only.
    fn new(opportunities: &'o [Opportunity], touches: SourcingTouches<'t>) -> Result<Self> {
        let mut by_subject = subject_set(opportunities);
        match touches {
            SourcingTouches::Records(touches) => {
                for (i, t) in touches.iter().enumerate() {
                    t.validate().map_err(|e| e.at_index(i))?;
                    if let Some(v) = by_subject.get_mut(t.subject.as_str()) {
                        v.push(TouchAt {
                            at: t.at,
                            channel: &t.channel,
                            campaign: t.campaign.as_ref(),
                        });
                    }
                }
            }
            SourcingTouches::Builder(b) => {
                b.touches_of_subjects(&mut by_subject, |at, ch, ca| TouchAt {
                    at,
                    channel: ch,
                    campaign: ca,
                })
            }
        }
        for v in by_subject.values_mut() {
            v.sort_by_key(|t| t.at);
        }
        Ok(TouchIndex { by_subject })
    }

    /// The touches on an opportunity's lead and account, in time order.
    fn touches_of(&self, o: &Opportunity) -> Vec<&TouchAt<'t>> {
        let mut mine: Vec<&TouchAt<'t>> = Vec::new();
        for subject in subjects(o) {
            if let Some(v) = self.by_subject.get(subject) {
                mine.extend(v.iter());
            }
        }
        mine.sort_by_key(|t| t.at);
        mine
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
pub(crate) type Key = (Option<Channel>, Option<CampaignId>);

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
    fn influence<'a, 't: 'a>(
        &mut self,
        touches: impl Iterator<Item = &'a &'a TouchAt<'t>>,
        amount: &Money,
    ) -> Result<()> {
        let zero = self.zero;
        let mut seen_channels: Vec<&Channel> = Vec::new();
        let mut seen_campaigns: Vec<(&Channel, Option<&CampaignId>)> = Vec::new();
        for t in touches {
            if !seen_channels.contains(&t.channel) {
                seen_channels.push(t.channel);
                self.channels
                    .entry(Some(t.channel.clone()))
                    .or_insert_with(|| Acc::new(zero))
                    .influence(amount)?;
            }
            let key = (t.channel, t.campaign);
            if !seen_campaigns.contains(&key) {
                seen_campaigns.push(key);
                self.campaigns
                    .entry(t.key())
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
