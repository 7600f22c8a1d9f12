//! The input records revops measures: leads, stage events, touches, conversions,
//! spend, opportunities and their history.
//!
//! Records are plain data with public fields, so they are easy to build from any
//! source and (de)serialise with serde. Each has a `validate()` method that checks
//! what the type cannot (non-negative money, probabilities in \[0, 1\], ranges that
//! end after they start); engines and readers call it at the edge and attach the
//! record's position with [`Error::at_index`]. Timestamps are UTC; calendar
//! bucketing in another offset is the job of [`crate::Calendar`].

use crate::error::ErrorKind;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Excerpt, RecordRef, Result};
use crate::ids::{AccountId, CampaignId, Channel, LeadId, OpportunityId, SubjectId};
use crate::money::Money;
use crate::period::DateRange;

fn field_error(record: RecordRef, field: &'static str, reason: impl Into<String>) -> Error {
    Error::from(ErrorKind::InvalidField {
        record,
        field,
        reason: reason.into(),
    })
}

fn non_negative(m: &Money, record: impl Fn() -> RecordRef, field: &'static str) -> Result<()> {
    if m.is_negative() {
        Err(field_error(
            record(),
            field,
            format!("must not be negative, got {m}"),
        ))
    } else {
        Ok(())
    }
}

/// Checks that an optional probability is a finite number in \[0, 1\].
pub(crate) fn check_probability(
    p: Option<f64>,
    record: impl Fn() -> RecordRef,
    field: &'static str,
) -> Result<()> {
    match p {
        Some(p) if !(p.is_finite() && (0.0..=1.0).contains(&p)) => Err(field_error(
            record(),
            field,
            format!(
                "a probability must be a finite number in [0, 1], got {}",
                Excerpt(&p.to_string())
            ),
        )),
        _ => Ok(()),
    }
}

/// The checks shared by an opportunity and a row of its history.
fn check_deal_state(
    record: impl Fn() -> RecordRef,
    amount: &Money,
    probability: Option<f64>,
    stage: &str,
) -> Result<()> {
    non_negative(amount, &record, "amount")?;
    check_probability(probability, &record, "probability")?;
    if stage.trim().is_empty() {
        return Err(field_error(
            record(),
            "stage",
            "the stage key must not be empty",
        ));
    }
    Ok(())
}

/// A lead: a person or company that entered the demand waterfall.
///
/// ```
/// use revops::{Channel, Lead, LeadId};
/// use chrono::{TimeZone, Utc};
/// # fn main() -> Result<(), revops::Error> {
/// let lead = Lead::new(LeadId::new("L-1")?, Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap())
///     .with_source(Channel::new("webinar")?)
///     .with_attribute("industry", "software");
/// lead.validate()?;
/// assert_eq!(lead.attributes["industry"], "software");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lead {
    /// The lead's id.
    pub id: LeadId,
    /// When the lead was created (first became known).
    pub created_at: DateTime<Utc>,
    /// The lead source channel; `None` when the source is unknown (reported as its
    /// own bucket, never dropped).
    #[serde(default)]
    pub source: Option<Channel>,
    /// The campaign that created the lead, if any.
    #[serde(default)]
    pub campaign: Option<CampaignId>,
    /// The account (company) the lead belongs to, if known.
    #[serde(default)]
    pub account: Option<AccountId>,
    /// The owner (SDR, rep or queue), if assigned.
    #[serde(default)]
    pub owner: Option<String>,
    /// A segment label (e.g. `"enterprise"`, `"smb"`), if any.
    #[serde(default)]
    pub segment: Option<String>,
    /// Free-form attributes (industry, region, score ...), for breakdowns.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

impl Lead {
    /// A lead with only its id and creation time.
    pub fn new(id: LeadId, created_at: DateTime<Utc>) -> Lead {
        Lead {
            id,
            created_at,
            source: None,
            campaign: None,
            account: None,
            owner: None,
            segment: None,
            attributes: BTreeMap::new(),
        }
    }

    /// Sets the source channel.
    #[must_use]
    pub fn with_source(mut self, source: Channel) -> Lead {
        self.source = Some(source);
        self
    }

    /// Sets the campaign.
    #[must_use]
    pub fn with_campaign(mut self, campaign: CampaignId) -> Lead {
        self.campaign = Some(campaign);
        self
    }

    /// Sets the account.
    #[must_use]
    pub fn with_account(mut self, account: AccountId) -> Lead {
        self.account = Some(account);
        self
    }

    /// Sets the owner.
    #[must_use]
    pub fn with_owner(mut self, owner: impl Into<String>) -> Lead {
        self.owner = Some(owner.into());
        self
    }

    /// Sets the segment.
    #[must_use]
    pub fn with_segment(mut self, segment: impl Into<String>) -> Lead {
        self.segment = Some(segment.into());
        self
    }

    /// Adds (or replaces) a free-form attribute.
    #[must_use]
    pub fn with_attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Lead {
        self.attributes.insert(name.into(), value.into());
        self
    }

    fn record(&self) -> RecordRef {
        RecordRef::new("lead").with_id(&self.id)
    }

    /// Checks that attribute names are non-empty.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the lead.
    pub fn validate(&self) -> Result<()> {
        if self.attributes.keys().any(|k| k.trim().is_empty()) {
            return Err(field_error(
                self.record(),
                "attributes",
                "attribute names must not be empty",
            ));
        }
        Ok(())
    }
}

/// A subject (lead, opportunity or account) entering a funnel stage at a time.
///
/// The stage is a key of a [`crate::Funnel`]; whether it exists is checked against
/// the funnel by the engines (see [`crate::Funnel::stage_index`]).
///
/// The subject is any id that converts into a [`SubjectId`]: a [`LeadId`] (owned or
/// borrowed) passes as it is.
///
/// ```
/// use revops::{LeadId, StageEvent, id};
/// use chrono::{TimeZone, Utc};
/// # fn main() -> Result<(), revops::Error> {
/// let lead: LeadId = id!("L-1");
/// let e = StageEvent::new(&lead, "mql", Utc.with_ymd_and_hms(2026, 3, 9, 0, 0, 0).unwrap());
/// e.validate()?;
/// assert_eq!(e.subject, lead);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageEvent {
    /// Who entered the stage.
    pub subject: SubjectId,
    /// The stage key.
    pub stage: String,
    /// When the stage was entered.
    pub at: DateTime<Utc>,
    /// The lifecycle cycle number given by the source system, if any (recycled leads
    /// start a new cycle). When absent, the funnel engine derives cycles itself.
    #[serde(default)]
    pub cycle: Option<u32>,
    /// A reason, e.g. why a lead was disqualified or recycled.
    #[serde(default)]
    pub reason: Option<String>,
}

impl StageEvent {
    /// An event without cycle or reason; `subject` is a [`SubjectId`] or a lead,
    /// opportunity or account id (owned or borrowed).
    pub fn new(
        subject: impl Into<SubjectId>,
        stage: impl Into<String>,
        at: DateTime<Utc>,
    ) -> StageEvent {
        StageEvent {
            subject: subject.into(),
            stage: stage.into(),
            at,
            cycle: None,
            reason: None,
        }
    }

    /// Sets the reason.
    #[must_use]
    pub fn with_reason(mut self, reason: impl Into<String>) -> StageEvent {
        self.reason = Some(reason.into());
        self
    }

    /// Sets the cycle number.
    #[must_use]
    pub fn with_cycle(mut self, cycle: u32) -> StageEvent {
        self.cycle = Some(cycle);
        self
    }

    /// Checks that the stage key is not empty.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the event's subject.
    pub fn validate(&self) -> Result<()> {
        if self.stage.trim().is_empty() {
            return Err(field_error(
                RecordRef::new("stage event").with_id(&self.subject),
                "stage",
                "the stage key must not be empty",
            ));
        }
        Ok(())
    }
}

/// A marketing or sales touch: a subject interacted with a channel (and campaign).
///
/// ```
/// use revops::{LeadId, Touch, id};
/// use chrono::{TimeZone, Utc};
/// # fn main() -> Result<(), revops::Error> {
/// let lead: LeadId = id!("L-1");
/// let t = Touch::new(&lead, id!("paid_search"), Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap())
///     .with_campaign(id!("spring"));
/// t.validate()?;
/// assert_eq!(t.channel, "paid_search");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Touch {
    /// Who was touched.
    pub subject: SubjectId,
    /// Through which channel.
    pub channel: Channel,
    /// Which campaign, if known.
    #[serde(default)]
    pub campaign: Option<CampaignId>,
    /// When.
    pub at: DateTime<Utc>,
    /// The touch's own cost, if tracked per touch (non-negative).
    #[serde(default)]
    pub cost: Option<Money>,
}

impl Touch {
    /// A touch without campaign or cost; `subject` is a [`SubjectId`] or a lead,
    /// opportunity or account id (owned or borrowed).
    pub fn new(subject: impl Into<SubjectId>, channel: Channel, at: DateTime<Utc>) -> Touch {
        Touch {
            subject: subject.into(),
            channel,
            campaign: None,
            at,
            cost: None,
        }
    }

    /// Sets the campaign.
    #[must_use]
    pub fn with_campaign(mut self, campaign: CampaignId) -> Touch {
        self.campaign = Some(campaign);
        self
    }

    /// Sets the cost.
    #[must_use]
    pub fn with_cost(mut self, cost: Money) -> Touch {
        self.cost = Some(cost);
        self
    }

    /// Checks that the cost, if any, is not negative.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the touch's subject.
    pub fn validate(&self) -> Result<()> {
        match &self.cost {
            Some(c) => non_negative(c, || RecordRef::new("touch").with_id(&self.subject), "cost"),
            None => Ok(()),
        }
    }
}

/// A conversion: the subject did what counts (signed up, bought, closed won), with
/// an optional value.
///
/// ```
/// use revops::{Conversion, Currency, LeadId, Money, id};
/// use chrono::{TimeZone, Utc};
/// # fn main() -> Result<(), revops::Error> {
/// let lead: LeadId = id!("L-1");
/// let at = Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap();
/// let c = Conversion::new(&lead, at, Some(Money::parse("48000", Currency::USD)?));
/// c.validate()?;
/// assert_eq!(c.subject, lead);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversion {
    /// Who converted.
    pub subject: SubjectId,
    /// When.
    pub at: DateTime<Utc>,
    /// The conversion's value (revenue), if any; never negative.
    #[serde(default)]
    pub value: Option<Money>,
}

impl Conversion {
    /// A conversion with an optional value; `subject` is a [`SubjectId`] or a lead,
    /// opportunity or account id (owned or borrowed).
    pub fn new(
        subject: impl Into<SubjectId>,
        at: DateTime<Utc>,
        value: Option<Money>,
    ) -> Conversion {
        Conversion {
            subject: subject.into(),
            at,
            value,
        }
    }

    /// Checks that the value, if any, is not negative (refunds are not conversions).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the conversion's subject.
    pub fn validate(&self) -> Result<()> {
        match &self.value {
            Some(v) => non_negative(
                v,
                || RecordRef::new("conversion").with_id(&self.subject),
                "value",
            ),
            None => Ok(()),
        }
    }
}

/// Money spent on a channel (and campaign) over an inclusive range of dates.
///
/// Built like every record: the required fields — channel, dates, amount — in
/// [`Spend::new`], the optional campaign with [`Spend::with_campaign`], and
/// [`Spend::validate`] for what the types cannot check (a negative amount), which
/// the engines ([`cost::align_spend`](crate::cost::align_spend)) and readers call at
/// the edge. The dates are a [`DateRange`] (which cannot end before it starts), or a
/// calendar [`Period`](crate::Period) converted with `into()`.
///
/// ```
/// use revops::{Calendar, Currency, DateRange, Granularity, Money, Spend, id};
/// use chrono::NaiveDate;
/// # fn main() -> Result<(), revops::Error> {
/// let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
/// let usd = |s| Money::parse(s, Currency::USD);
/// let s = Spend::new(id!("paid_search"), DateRange::new(d(1, 1), d(1, 31))?, usd("3100")?)
///     .with_campaign(id!("spring"));
/// s.validate()?;
/// assert_eq!(s.days(), 31);
/// assert_eq!(s.dates()?.days(), 31);
/// // A calendar period is a date range too.
/// let feb = Calendar::new().period_of_date(d(2, 1), Granularity::Month);
/// assert_eq!(Spend::new(id!("webinar"), feb.into(), usd("2800")?).days(), 28);
/// // Negative spend is refused, naming the row.
/// let refund = Spend::new(id!("tv"), feb.into(), usd("-1")?).with_campaign(id!("spring"));
/// assert_eq!(
///     refund.validate().unwrap_err().to_string(),
///     "spend (id tv/spring): field `amount`: must not be negative, got -1.00 USD"
/// );
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spend {
    /// The channel the money was spent on.
    pub channel: Channel,
    /// The campaign, if the spend is tracked per campaign.
    #[serde(default)]
    pub campaign: Option<CampaignId>,
    /// First day covered (inclusive).
    pub period_start: NaiveDate,
    /// Last day covered (inclusive).
    pub period_end: NaiveDate,
    /// The amount spent (non-negative).
    pub amount: Money,
}

impl Spend {
    /// A spend row without campaign: `amount` spent on `channel` over the days of
    /// `dates` (both ends included). The amount is checked by [`Spend::validate`].
    pub fn new(channel: Channel, dates: DateRange, amount: Money) -> Spend {
        Spend {
            channel,
            campaign: None,
            period_start: dates.first(),
            period_end: dates.last(),
            amount,
        }
    }

    /// Sets the campaign (spend tracked per campaign).
    #[must_use]
    pub fn with_campaign(mut self, campaign: CampaignId) -> Spend {
        self.campaign = Some(campaign);
        self
    }

    fn record(&self) -> RecordRef {
        let id = match &self.campaign {
            Some(c) => format!("{}/{}", self.channel, c),
            None => self.channel.to_string(),
        };
        RecordRef::new("spend").with_id(id)
    }

    /// The covered days as a [`DateRange`], for pro-rata alignment to periods.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidPeriod`](crate::error::ErrorKind::InvalidPeriod) naming the row if it ends before it starts.
    pub fn dates(&self) -> Result<DateRange> {
        DateRange::new(self.period_start, self.period_end).map_err(|_| {
            Error::from(ErrorKind::InvalidPeriod {
                record: self.record(),
                start: self.period_start.to_string(),
                end: self.period_end.to_string(),
            })
        })
    }

    /// Number of days covered (inclusive of both ends); 0 if the range is inverted.
    pub fn days(&self) -> u32 {
        let d = (self.period_end - self.period_start).num_days() + 1;
        u32::try_from(d.max(0)).unwrap_or(u32::MAX)
    }

    /// Checks that the amount is not negative and the range does not end before it
    /// starts (the fields are public, so a row built or deserialised field by field
    /// may break either; engines and readers call this at the edge).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) or [`ErrorKind::InvalidPeriod`](crate::error::ErrorKind::InvalidPeriod) naming the spend row.
    pub fn validate(&self) -> Result<()> {
        non_negative(&self.amount, || self.record(), "amount")?;
        self.dates().map(|_| ())
    }
}

/// Salesforce-style forecast category of an opportunity.
///
/// Parsing accepts `"BestCase"`, `"Best Case"`, `"best_case"` and other case and
/// separator variants.
///
/// ```
/// use revops::ForecastCategory;
/// # fn main() -> Result<(), revops::Error> {
/// assert_eq!("Best Case".parse::<ForecastCategory>()?, ForecastCategory::BestCase);
/// assert_eq!(ForecastCategory::MostLikely.to_string(), "most_likely");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForecastCategory {
    /// Open, not yet forecast.
    Pipeline,
    /// Could close in the period with some luck.
    BestCase,
    /// Likely to close (used by some orgs between Best Case and Commit).
    MostLikely,
    /// The rep commits to closing it in the period.
    Commit,
    /// Closed won.
    Closed,
    /// Excluded from the forecast (lost, or not to be counted).
    Omitted,
}

impl ForecastCategory {
    /// All categories, in the order above.
    pub const ALL: [ForecastCategory; 6] = [
        ForecastCategory::Pipeline,
        ForecastCategory::BestCase,
        ForecastCategory::MostLikely,
        ForecastCategory::Commit,
        ForecastCategory::Closed,
        ForecastCategory::Omitted,
    ];

    /// The snake-case name used in serde and CSV.
    pub fn as_str(&self) -> &'static str {
        match self {
            ForecastCategory::Pipeline => "pipeline",
            ForecastCategory::BestCase => "best_case",
            ForecastCategory::MostLikely => "most_likely",
            ForecastCategory::Commit => "commit",
            ForecastCategory::Closed => "closed",
            ForecastCategory::Omitted => "omitted",
        }
    }
}

impl fmt::Display for ForecastCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ForecastCategory {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let norm: String = s
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        ForecastCategory::ALL
            .into_iter()
            .find(|c| c.as_str().replace('_', "") == norm)
            .ok_or_else(|| {
                Error::from(ErrorKind::InvalidParameter {
                    name: "forecast category",
                    value: s.to_string(),
                    reason:
                        "expected one of pipeline, best_case, most_likely, commit, closed, omitted"
                            .into(),
                })
            })
    }
}

/// An opportunity (deal) in its current state.
///
/// Its history of changes is a list of [`OpportunityChange`] rows; the pipeline
/// engines rebuild its state at any date from them. Built like every record: the
/// required fields in [`Opportunity::new`], the optional ones with `with_*` setters,
/// [`Opportunity::validate`] for what the types cannot check.
///
/// ```
/// use revops::{Currency, Money, Opportunity, id};
/// use chrono::{TimeZone, Utc};
/// # fn main() -> Result<(), revops::Error> {
/// let at = Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap();
/// let o = Opportunity::new(id!("006-1"), at, "prospecting", Money::parse("48000", Currency::USD)?)
///     .with_account(id!("acme"))
///     .with_lead(id!("L-1"))
///     .with_source(id!("webinar"))
///     .with_probability(0.1)
///     .with_attribute("region", "emea");
/// o.validate()?;
/// assert_eq!(o.lead, Some(id!("L-1")));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Opportunity {
    /// The opportunity's id.
    pub id: OpportunityId,
    /// The account it belongs to, if known.
    #[serde(default)]
    pub account: Option<AccountId>,
    /// The lead it was converted from, if known (links marketing's funnel to sales').
    #[serde(default)]
    pub lead: Option<LeadId>,
    /// The owner (rep), if assigned.
    #[serde(default)]
    pub owner: Option<String>,
    /// The source channel recorded on the opportunity, if any.
    #[serde(default)]
    pub source: Option<Channel>,
    /// When the opportunity was created.
    pub created_at: DateTime<Utc>,
    /// Current stage key (of the opportunity funnel).
    pub stage: String,
    /// Current amount (non-negative).
    pub amount: Money,
    /// Expected (or actual, once closed) close date, if set.
    #[serde(default)]
    pub close_date: Option<NaiveDate>,
    /// Current win probability in \[0, 1\], if set.
    #[serde(default)]
    pub probability: Option<f64>,
    /// Current forecast category, if set.
    #[serde(default)]
    pub forecast_category: Option<ForecastCategory>,
    /// Free-form attributes (product, region, deal type ...), for breakdowns.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

impl Opportunity {
    /// An opportunity with the required fields; optional ones empty.
    pub fn new(
        id: OpportunityId,
        created_at: DateTime<Utc>,
        stage: impl Into<String>,
        amount: Money,
    ) -> Opportunity {
        Opportunity {
            id,
            account: None,
            lead: None,
            owner: None,
            source: None,
            created_at,
            stage: stage.into(),
            amount,
            close_date: None,
            probability: None,
            forecast_category: None,
            attributes: BTreeMap::new(),
        }
    }

    /// Sets the account.
    #[must_use]
    pub fn with_account(mut self, account: AccountId) -> Opportunity {
        self.account = Some(account);
        self
    }

    /// Sets the lead it was converted from.
    #[must_use]
    pub fn with_lead(mut self, lead: LeadId) -> Opportunity {
        self.lead = Some(lead);
        self
    }

    /// Sets the owner.
    #[must_use]
    pub fn with_owner(mut self, owner: impl Into<String>) -> Opportunity {
        self.owner = Some(owner.into());
        self
    }

    /// Sets the source channel.
    #[must_use]
    pub fn with_source(mut self, source: Channel) -> Opportunity {
        self.source = Some(source);
        self
    }

    /// Sets the (expected or actual) close date.
    #[must_use]
    pub fn with_close_date(mut self, close_date: NaiveDate) -> Opportunity {
        self.close_date = Some(close_date);
        self
    }

    /// Sets the win probability, a fraction in \[0, 1\] (not percent; checked by
    /// [`validate`](Opportunity::validate)).
    #[must_use]
    pub fn with_probability(mut self, probability: f64) -> Opportunity {
        self.probability = Some(probability);
        self
    }

    /// Sets the forecast category.
    #[must_use]
    pub fn with_forecast_category(mut self, category: ForecastCategory) -> Opportunity {
        self.forecast_category = Some(category);
        self
    }

    /// Adds (or replaces) a free-form attribute.
    #[must_use]
    pub fn with_attribute(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Opportunity {
        self.attributes.insert(name.into(), value.into());
        self
    }

    /// Checks amount, probability and stage key.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the opportunity.
    pub fn validate(&self) -> Result<()> {
        check_deal_state(
            || RecordRef::new("opportunity").with_id(&self.id),
            &self.amount,
            self.probability,
            &self.stage,
        )
    }
}

/// One row of an opportunity's history, as Salesforce's `OpportunityHistory`: the
/// state of the deal right after a change.
///
/// Built from its required fields — opportunity, time, stage, amount — with
/// [`OpportunityChange::new`]; the optional ones are `with_*` setters
/// ([`with_close_date`](OpportunityChange::with_close_date),
/// [`with_probability`](OpportunityChange::with_probability),
/// [`with_forecast_category`](OpportunityChange::with_forecast_category),
/// [`with_lead`](OpportunityChange::with_lead)). Setting a field checks nothing;
/// [`validate`](OpportunityChange::validate) does (non-negative amount, a probability
/// in \[0, 1\], a stage key), and the pipeline engines and readers call it at the edge.
///
/// ```
/// use revops::{Currency, ForecastCategory, Money, OpportunityChange, id};
/// use chrono::{NaiveDate, TimeZone, Utc};
/// # fn main() -> Result<(), revops::Error> {
/// let c = OpportunityChange::new(
///     id!("006-1"),
///     Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap(),
///     "proposal_price_quote",
///     Money::parse("48000", Currency::USD)?,
/// )
/// .with_close_date(NaiveDate::from_ymd_opt(2026, 6, 30).unwrap())
/// .with_probability(0.75)
/// .with_forecast_category(ForecastCategory::BestCase)
/// .with_lead(id!("L-1"));
/// c.validate()?;
/// let percent = c.with_probability(75.0); // percentages must be converted to [0, 1]
/// assert!(percent.validate().is_err());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpportunityChange {
    /// Which opportunity changed.
    pub opportunity: OpportunityId,
    /// When the change happened.
    pub changed_at: DateTime<Utc>,
    /// Stage key after the change.
    pub stage: String,
    /// Amount after the change (non-negative).
    pub amount: Money,
    /// Close date after the change, if set.
    #[serde(default)]
    pub close_date: Option<NaiveDate>,
    /// Win probability after the change, in \[0, 1\] (not percent), if set.
    #[serde(default)]
    pub probability: Option<f64>,
    /// Forecast category after the change, if set.
    #[serde(default)]
    pub forecast_category: Option<ForecastCategory>,
    /// The lead the opportunity was converted from, if known (column `lead_id`,
    /// optional in `opportunity_history.csv`): the link cost and sourcing reports use
    /// to join opportunities to lead sources and touches.
    #[serde(default)]
    pub lead: Option<LeadId>,
}

impl OpportunityChange {
    /// A change row with the required fields; optional ones empty.
    pub fn new(
        opportunity: OpportunityId,
        changed_at: DateTime<Utc>,
        stage: impl Into<String>,
        amount: Money,
    ) -> OpportunityChange {
        OpportunityChange {
            opportunity,
            changed_at,
            stage: stage.into(),
            amount,
            close_date: None,
            probability: None,
            forecast_category: None,
            lead: None,
        }
    }

    /// Sets the lead the opportunity came from.
    #[must_use]
    pub fn with_lead(mut self, lead: LeadId) -> OpportunityChange {
        self.lead = Some(lead);
        self
    }

    /// Sets the (expected or actual) close date.
    #[must_use]
    pub fn with_close_date(mut self, close_date: NaiveDate) -> OpportunityChange {
        self.close_date = Some(close_date);
        self
    }

    /// Sets the win probability, a fraction in \[0, 1\] (not percent; checked by
    /// [`validate`](OpportunityChange::validate)).
    #[must_use]
    pub fn with_probability(mut self, probability: f64) -> OpportunityChange {
        self.probability = Some(probability);
        self
    }

    /// Sets the forecast category.
    #[must_use]
    pub fn with_forecast_category(mut self, category: ForecastCategory) -> OpportunityChange {
        self.forecast_category = Some(category);
        self
    }

    /// Checks amount, probability and stage key.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the opportunity.
    pub fn validate(&self) -> Result<()> {
        check_deal_state(
            || RecordRef::new("opportunity change").with_id(&self.opportunity),
            &self.amount,
            self.probability,
            &self.stage,
        )
    }
}

/// One aggregated journey, as attribution tools exchange them (`paths.csv`): the
/// ordered channels of a path and how many journeys along it converted or did not.
///
/// Counts are `f64` because aggregated or weighted inputs may be fractional; the
/// value is an exact decimal in the caller's currency.
///
/// ```
/// use revops::{Channel, Decimal, PathRow};
/// # fn main() -> Result<(), revops::Error> {
/// let row = PathRow::new(vec![Channel::new("email")?, Channel::new("search")?], 3.0, Decimal::new(1250, 1), 7.0);
/// row.validate(0)?;
/// assert_eq!(row.path_string(" > "), "email > search");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathRow {
    /// The channels touched, in order (non-empty).
    pub path: Vec<Channel>,
    /// Journeys along this path that converted (finite, ≥ 0).
    pub conversions: f64,
    /// Total conversion value of those journeys.
    pub value: rust_decimal::Decimal,
    /// Journeys along this path that did not convert (finite, ≥ 0).
    pub nulls: f64,
}

impl PathRow {
    /// A path row.
    pub fn new(
        path: Vec<Channel>,
        conversions: f64,
        value: rust_decimal::Decimal,
        nulls: f64,
    ) -> PathRow {
        PathRow {
            path,
            conversions,
            value,
            nulls,
        }
    }

    /// The channels joined by `separator`.
    pub fn path_string(&self, separator: &str) -> String {
        let mut s = String::new();
        for (i, c) in self.path.iter().enumerate() {
            if i > 0 {
                s.push_str(separator);
            }
            s.push_str(c.as_str());
        }
        s
    }

    /// Checks a non-empty path, finite non-negative counts and a non-negative value;
    /// `index` is the row's position, used in the error.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the row.
    pub fn validate(&self, index: usize) -> Result<()> {
        let record = || {
            RecordRef::new("path")
                .with_index(index)
                .with_id(self.path_string(">"))
        };
        if self.path.is_empty() {
            return Err(field_error(
                record(),
                "path",
                "a path needs at least one channel",
            ));
        }
        for (field, v) in [("conversions", self.conversions), ("nulls", self.nulls)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(field_error(
                    record(),
                    field,
                    format!(
                        "must be a finite count ≥ 0, got {}",
                        Excerpt(&v.to_string())
                    ),
                ));
            }
        }
        if self.value.is_sign_negative() && !self.value.is_zero() {
            return Err(field_error(
                record(),
                "value",
                format!("must not be negative, got {}", self.value),
            ));
        }
        Ok(())
    }
}

/// One point of a forecast series next to what actually happened (`forecasts.csv`).
///
/// Values are `f64`: forecast-error statistics (MAE, RMSE, MAPE ...) are real-valued
/// measurements, not money to be summed. `actual` is `None` for periods that have not
/// happened yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastPoint {
    /// The series (e.g. `"bookings/emea"`).
    pub series: String,
    /// The period label (e.g. `"2026-Q3"`), ordered as text within a series.
    pub period: String,
    /// The forecast value.
    pub forecast: f64,
    /// The actual value, once known.
    #[serde(default)]
    pub actual: Option<f64>,
}

impl ForecastPoint {
    /// A point with a known actual.
    pub fn new(
        series: impl Into<String>,
        period: impl Into<String>,
        forecast: f64,
        actual: Option<f64>,
    ) -> ForecastPoint {
        ForecastPoint {
            series: series.into(),
            period: period.into(),
            forecast,
            actual,
        }
    }

    /// Checks that forecast and actual are finite.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the series and period.
    pub fn validate(&self) -> Result<()> {
        let record =
            || RecordRef::new("forecast").with_id(format!("{}/{}", self.series, self.period));
        if !self.forecast.is_finite() {
            return Err(field_error(
                record(),
                "forecast",
                format!("must be finite, got {}", self.forecast),
            ));
        }
        match self.actual {
            Some(a) if !a.is_finite() => Err(field_error(
                record(),
                "actual",
                format!("must be finite, got {a}"),
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use chrono::TimeZone;

    fn t() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn negative_spend_names_the_row() {
        let d = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let err = Spend::new(
            Channel::new("tv").unwrap(),
            DateRange::new(d, d).unwrap(),
            Money::parse("-1", Currency::USD).unwrap(),
        )
        .with_campaign(CampaignId::new("spring").unwrap())
        .validate()
        .unwrap_err()
        .at_index(4);
        assert_eq!(
            err.to_string(),
            "spend #4 (id tv/spring): field `amount`: must not be negative, got -1.00 USD"
        );
    }

    #[test]
    fn probabilities_checked() {
        let mut o = Opportunity::new(
            OpportunityId::new("o1").unwrap(),
            t(),
            "prospecting",
            Money::zero(Currency::USD),
        );
        o.probability = Some(f64::NAN);
        assert!(matches!(
            o.validate().map_err(|e| e.into_kind()),
            Err(ErrorKind::InvalidField {
                field: "probability",
                ..
            })
        ));
        o.probability = Some(1.0);
        assert!(o.validate().is_ok());
    }

    #[test]
    fn forecast_category_parsing() {
        for c in ForecastCategory::ALL {
            assert_eq!(c.as_str().parse::<ForecastCategory>().unwrap(), c);
            assert_eq!(format!("{c:?}").parse::<ForecastCategory>().unwrap(), c);
        }
        assert!("maybe".parse::<ForecastCategory>().is_err());
    }

    #[test]
    fn conversion_value_must_not_be_negative() {
        let c = Conversion::new(
            SubjectId::new("a").unwrap(),
            t(),
            Some(Money::parse("-5", Currency::EUR).unwrap()),
        );
        assert!(c.validate().is_err());
        let touch = Touch::new(
            SubjectId::new("a").unwrap(),
            Channel::new("x").unwrap(),
            t(),
        )
        .with_cost(Money::parse("-0.01", Currency::EUR).unwrap());
        assert!(touch.validate().is_err());
    }
}
