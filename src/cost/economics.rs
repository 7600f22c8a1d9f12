//! Unit economics per channel (and campaign, and period): spend next to the funnel
//! counts and revenue credited to each channel, under a named crediting basis.

use crate::error::ErrorKind;
use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::metrics::{MoneyPer, MoneyRatio, decimal_from_f64};
use super::spend::PeriodSpend;
use crate::accumulate::{Accumulator, StateVersion};
use crate::attribution::Attribution;
use crate::error::{Error, RecordRef, Result};
use crate::funnel::Dimension;
use crate::funnel::{FunnelData, Paths};
use crate::hash::FastMap;
use crate::ids::{CampaignId, Channel};
use crate::money::{Currency, Money};
use crate::period::{Calendar, Granularity, Period};
use crate::records::Conversion;

/// What a row of a unit-economics table is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CostKey {
    /// The channel (`None`: leads or revenue with no channel — they have no spend).
    pub channel: Option<Channel>,
    /// The campaign, when grouping by campaign.
    pub campaign: Option<CampaignId>,
    /// The period, when grouping by period.
    pub period: Option<Period>,
}

/// Units (leads, stage entries, acquisitions) and revenue credited to keys, under one
/// basis: the lead's own source ([`Credits::from_lead_source`]) or an attribution
/// model's credit ([`Credits::from_attribution`], [`Credits::add`]).
///
/// An [`Accumulator`]: [`Credits::new`] takes the options (basis, currency, unit
/// columns), [`Credits::add`] / [`Credits::add_batch`] add [`Credit`]s,
/// [`Credits::merge`] adds another table built under the same options (refusing
/// other ones), and [`Credits::finish`] gives the table (a copy of the state: the
/// table *is* the result, ready for [`unit_economics`]).
///
/// ```
/// use revops::{Channel, Currency, Money, cost::CostKey, cost::Credit, cost::Credits};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let key = CostKey { channel: Some(Channel::new("search")?), campaign: None, period: None };
/// let new = || Credits::new("w_shaped", Currency::USD, vec!["won".into()]);
/// let (mut a, mut b) = (new(), new());
/// a.add(&Credit::units(key.clone(), "won", 1.5))?;
/// b.add_batch(&[
///     Credit::units(key.clone(), "won", 1.0),
///     Credit::revenue(key.clone(), Money::parse("900", Currency::USD)?),
/// ])?;
/// // A partial table travels: serialise, read back, merge.
/// let b: Credits = serde_json::from_str(&serde_json::to_string(&b)?)?;
/// a.merge(&b)?;
/// let (units, revenue) = &a.finish()?.rows[&key];
/// assert_eq!(units[0].to_string(), "2.5");
/// assert_eq!(revenue.amount().to_string(), "900");
/// # Ok(()) }
/// ```
///
/// # Serialised form (version 1)
///
/// An object with the fields `version` (`1`), `basis`, `currency`, `units` (the
/// column names), `rows` (one `[key, units, revenue]` per key in key order: the
/// [`CostKey`] object, the credited units per column as decimal strings, the revenue
/// amount as a decimal string in `currency`) and `diagnostics`. Reading it back
/// checks that the columns are distinct, that every row has one non-negative amount
/// per column and that no key repeats; another version is refused.
#[derive(Debug, Clone, PartialEq)]
pub struct Credits {
    /// The basis, for the report (e.g. `"lead source"`, `"w_shaped"`).
    pub basis: String,
    /// The currency of the revenue.
    pub currency: Currency,
    /// The unit columns, in order (e.g. `leads`, `mql`, `sql`, `won`).
    pub units: Vec<String>,
    /// Per key: credited units per column, and revenue.
    pub rows: BTreeMap<CostKey, (Vec<Decimal>, Money)>,
    /// What was left out while crediting, and why.
    pub diagnostics: CreditsDiagnostics,
}

/// One record a [`Credits`] table counts: units of a column, or revenue, credited to
/// a key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Credit {
    /// `amount` units of column `unit` (attributed credit is fractional).
    Units {
        /// The key credited.
        key: CostKey,
        /// The unit column (one of [`Credits::units`]).
        unit: String,
        /// How many units (finite, not negative).
        amount: f64,
    },
    /// Revenue, in the table's currency.
    Revenue {
        /// The key credited.
        key: CostKey,
        /// The revenue.
        amount: Money,
    },
}

impl Credit {
    /// `amount` units of column `unit` credited to `key`.
    pub fn units(key: CostKey, unit: impl Into<String>, amount: f64) -> Credit {
        Credit::Units {
            key,
            unit: unit.into(),
            amount,
        }
    }

    /// Revenue credited to `key`.
    pub fn revenue(key: CostKey, amount: Money) -> Credit {
        Credit::Revenue { key, amount }
    }
}

/// What [`Credits::from_lead_source`] left out, counted: nothing is dropped silently.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditsDiagnostics {
    /// Leads created after the paths' as-of date ([`crate::funnel::PathOptions::as_of`]):
    /// not yet known then, so not credited.
    pub leads_after_as_of: u64,
    /// Conversions dated after the paths' as-of date: their revenue is not credited.
    pub conversions_after_as_of: u64,
}

/// A sum of credited units beyond the decimal range.
fn units_overflow() -> Error {
    Error::from(ErrorKind::Overflow {
        operation: "credited units sum",
    })
}

/// The position of the unit column `unit` among `units`.
fn unit_column(units: &[String], unit: &str) -> Result<usize> {
    units.iter().position(|u| u == unit).ok_or_else(|| {
        Error::from(ErrorKind::InvalidParameter {
            name: "unit",
            value: unit.to_string(),
            reason: format!("not one of the columns {units:?}"),
        })
    })
}

/// How credits and spend are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CostGrouping {
    /// Group by campaign within channel.
    pub by_campaign: bool,
    /// Group by period: leads by their creation date, revenue by its date, spend by
    /// its aligned period (align spend with the same calendar and granularity).
    pub by_period: Option<(Calendar, Granularity)>,
}

impl Credits {
    /// Empty credits with the given unit columns: the options of the accumulator
    /// (basis, currency, columns), kept in the state; [`Credits::merge`] refuses a
    /// table with other ones.
    pub fn new(basis: impl Into<String>, currency: Currency, units: Vec<String>) -> Credits {
        Credits {
            basis: basis.into(),
            currency,
            units,
            rows: BTreeMap::new(),
            diagnostics: CreditsDiagnostics::default(),
        }
    }

    fn row(&mut self, key: CostKey) -> &mut (Vec<Decimal>, Money) {
        let (n, zero) = (self.units.len(), Money::zero(self.currency));
        self.rows
            .entry(key)
            .or_insert_with(|| (vec![Decimal::ZERO; n], zero))
    }

    /// Adds `amount` units of column `unit` to `key` (attributed credit is
    /// fractional).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) for an unknown column or a non-finite or negative
    /// amount; [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow) when the column's sum leaves the decimal range
    /// (the credits are then unchanged).
    pub fn add_units(&mut self, key: CostKey, unit: &str, amount: f64) -> Result<()> {
        let col = unit_column(&self.units, unit)?;
        let a = decimal_from_f64(amount, "credited units")?;
        if a.is_sign_negative() && !a.is_zero() {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "credited units",
                value: amount.to_string(),
                reason: "must not be negative".into(),
            }));
        }
        let r = self.row(key);
        r.0[col] = r.0[col].checked_add(a).ok_or_else(units_overflow)?;
        Ok(())
    }

    /// Adds revenue to `key`.
    ///
    /// # Errors
    /// [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch); [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
    pub fn add_revenue(&mut self, key: CostKey, amount: &Money) -> Result<()> {
        if amount.currency() != self.currency {
            return Err(Error::from(ErrorKind::CurrencyMismatch {
                expected: self.currency.to_string(),
                got: amount.currency().to_string(),
            }));
        }
        let r = self.row(key);
        r.1 = r.1.checked_add(amount)?;
        Ok(())
    }

    /// Adds one credit ([`Credits::add_units`] or [`Credits::add_revenue`]).
    ///
    /// # Errors
    /// As [`Credits::add_units`] and [`Credits::add_revenue`]; the credits are then
    /// unchanged.
    pub fn add(&mut self, credit: &Credit) -> Result<()> {
        match credit {
            Credit::Units { key, unit, amount } => self.add_units(key.clone(), unit, *amount),
            Credit::Revenue { key, amount } => self.add_revenue(key.clone(), amount),
        }
    }

    /// Adds credits in order; stops at the first invalid one (those before it stay
    /// added).
    ///
    /// # Errors
    /// As [`Credits::add`].
    pub fn add_batch<'a, I>(&mut self, credits: I) -> Result<()>
    where
        I: IntoIterator<Item = &'a Credit>,
    {
        for c in credits {
            self.add(c)?;
        }
        Ok(())
    }

    /// Adds another table's credits and diagnostics, as if its credits had been
    /// added here.
    ///
    /// # Errors
    /// [`ErrorKind::MergeMismatch`](crate::error::ErrorKind::MergeMismatch) if the two have another basis,
    /// currency or unit columns; [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow) when a sum leaves the decimal
    /// range. Either way the credits are unchanged.
    pub fn merge(&mut self, other: &Credits) -> Result<()> {
        if (&self.basis, self.currency, &self.units) != (&other.basis, other.currency, &other.units)
        {
            let show = |c: &Credits| format!("{:?} in {} with {:?}", c.basis, c.currency, c.units);
            return Err(Error::from(ErrorKind::MergeMismatch {
                what: "credits",
                reason: format!(
                    "built with another basis, currency or unit columns (this one: {}; the other: {})",
                    show(self),
                    show(other)
                ),
            }));
        }
        // Sums first, so that an overflow leaves the credits unchanged.
        let mut sums = Vec::with_capacity(other.rows.len());
        for (key, (units, revenue)) in &other.rows {
            let merged = match self.rows.get(key) {
                None => (units.clone(), *revenue),
                Some((mine, my_revenue)) => (
                    mine.iter()
                        .zip(units)
                        .map(|(a, b)| a.checked_add(*b).ok_or_else(units_overflow))
                        .collect::<Result<Vec<_>>>()?,
                    my_revenue.checked_add(revenue)?,
                ),
            };
            sums.push((key, merged));
        }
        for (key, row) in sums {
            self.rows.insert(key.clone(), row);
        }
        let d = &mut self.diagnostics;
        d.leads_after_as_of += other.diagnostics.leads_after_as_of;
        d.conversions_after_as_of += other.diagnostics.conversions_after_as_of;
        Ok(())
    }

    /// The table of credits so far (a copy of the state, which stays usable).
    ///
    /// # Errors
    /// None today; the signature is the [`Accumulator`] contract's.
    pub fn finish(&self) -> Result<Credits> {
        Ok(self.clone())
    }

    /// Credits an attribution model's result: one unit column `unit` (e.g. `"won"`)
    /// holding each channel's (or channel and campaign's) attributed conversions, and
    /// its attributed revenue (zero when the attribution was run without revenue).
    /// Conversions whose journey had no touch are credited to the key without a
    /// channel. The basis is the model's name.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) for non-finite credit; [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch)
    /// when the attributed revenue is in another currency.
    pub fn from_attribution(
        attribution: &Attribution,
        unit: &str,
        currency: Currency,
        by_campaign: bool,
    ) -> Result<Credits> {
        let mut c = Credits::new(
            attribution.model.to_string(),
            currency,
            vec![unit.to_string()],
        );
        let key = |channel: &Channel, campaign: Option<&CampaignId>| CostKey {
            channel: Some(channel.clone()),
            campaign: if by_campaign { campaign.cloned() } else { None },
            period: None,
        };
        if by_campaign {
            for r in &attribution.campaigns {
                c.add_units(key(&r.channel, r.campaign.as_ref()), unit, r.conversions)?;
                if let Some(v) = &r.revenue {
                    c.add_revenue(key(&r.channel, r.campaign.as_ref()), v)?;
                }
            }
        } else {
            for r in &attribution.channels {
                c.add_units(key(&r.channel, None), unit, r.conversions)?;
                if let Some(v) = &r.revenue {
                    c.add_revenue(key(&r.channel, None), v)?;
                }
            }
        }
        if attribution.unattributed_conversions > 0.0 {
            let none = CostKey {
                channel: None,
                campaign: None,
                period: None,
            };
            c.add_units(none.clone(), unit, attribution.unattributed_conversions)?;
            if let Some(v) = &attribution.unattributed_revenue {
                c.add_revenue(none, v)?;
            }
        }
        Ok(c)
    }

    /// Credits every lead to its own source (and campaign): column `leads` counts
    /// leads created; one column per progression stage in `stages` counts leads whose
    /// any cycle reached it (each lead at most once per stage); revenue is the value
    /// of every conversion of a lead (subject = lead id), credited to that lead's
    /// source. With a period grouping, leads and their stage counts go to the period of
    /// the lead's creation, revenue to the period of the conversion.
    ///
    /// When the paths were built as of a date ([`crate::funnel::PathOptions::as_of`]), the
    /// leads created and the conversions dated after it were not known then: they
    /// are not credited, and are counted in [`Credits::diagnostics`].
    ///
    /// # Errors
    /// [`ErrorKind::UnknownStage`](crate::error::ErrorKind::UnknownStage) for a stage that is not on the funnel's path;
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming a conversion whose value is in another
    /// currency; conversion validation errors with their index. Leads held as
    /// columns (read straight from a file) are credited as their records would be.
    pub fn from_lead_source(
        data: &FunnelData<'_>,
        paths: &Paths,
        stages: &[&str],
        conversions: &[Conversion],
        currency: Currency,
        grouping: CostGrouping,
    ) -> Result<Credits> {
        let ranks: Vec<usize> = stages
            .iter()
            .map(|k| {
                data.rank_of(k).ok_or_else(|| {
                    Error::from(ErrorKind::UnknownStage {
                        record: RecordRef::new("unit economics stage"),
                        key: (*k).to_string(),
                        funnel: data.funnel().name().to_string(),
                    })
                })
            })
            .collect::<Result<_>>()?;
        let mut units = vec!["leads".to_string()];
        units.extend(stages.iter().map(|s| (*s).to_string()));
        let mut c = Credits::new("lead source", currency, units);
        // Lead values as ids, each distinct text made an id once.
        let mut channels: FastMap<&str, Channel> = FastMap::default();
        let mut campaigns: FastMap<&str, CampaignId> = FastMap::default();
        let mut lead_keys: Vec<(Option<Channel>, Option<CampaignId>)> =
            Vec::with_capacity(data.len());
        let (sources, campaign_values) = (
            data.values(&Dimension::Source),
            data.values(&Dimension::Campaign),
        );
        for i in 0..data.len() {
            let channel = match sources.get(i) {
                Some(s) => Some(cached(&mut channels, s, Channel::new)?),
                None => None,
            };
            let campaign = match campaign_values.get(i).filter(|_| grouping.by_campaign) {
                Some(s) => Some(cached(&mut campaigns, s, CampaignId::new)?),
                None => None,
            };
            lead_keys.push((channel, campaign));
        }
        // Creation times at full precision when the data holds the records.
        let created = |i: usize| match data.leads() {
            Some(leads) => leads[i].created_at,
            None => data.created_at(i).unwrap_or_default(),
        };
        let key_of = |i: usize, at: chrono::DateTime<chrono::Utc>| {
            let (channel, campaign) = &lead_keys[i];
            CostKey {
                channel: channel.clone(),
                campaign: campaign.clone(),
                period: grouping.by_period.map(|(cal, g)| cal.period_of(at, g)),
            }
        };
        // Stages reached by any cycle of each lead.
        let mut reached = vec![0u32; data.len()];
        for cy in paths.iter() {
            reached[cy.lead_index()] |= cy.reached_mask();
        }
        let as_of = paths.options().as_of;
        let later = |at: chrono::DateTime<chrono::Utc>| as_of.is_some_and(|t| at > t);
        for (i, &lead_reached) in reached.iter().enumerate() {
            let at = created(i);
            if later(at) {
                c.diagnostics.leads_after_as_of += 1;
                continue;
            }
            let key = key_of(i, at);
            let mut counts = vec![Decimal::ZERO; ranks.len() + 1];
            counts[0] = Decimal::ONE;
            for (j, &r) in ranks.iter().enumerate() {
                if lead_reached & (1 << r) != 0 {
                    counts[j + 1] = Decimal::ONE;
                }
            }
            let row = c.row(key);
            for (a, b) in row.0.iter_mut().zip(counts) {
                *a += b;
            }
        }
        for (n, conv) in conversions.iter().enumerate() {
            conv.validate().map_err(|e| e.at_index(n))?;
            let Some(v) = conv.value else { continue };
            if later(conv.at) {
                c.diagnostics.conversions_after_as_of += 1;
                continue;
            }
            if v.currency() != currency {
                return Err(Error::from(ErrorKind::InvalidField {
                    record: RecordRef::new("conversion")
                        .with_index(n)
                        .with_id(&conv.subject),
                    field: "value",
                    reason: format!("in {}, the report is in {currency}", v.currency()),
                }));
            }
            let key = match data.leads.find(conv.subject.as_str()) {
                Some(i) => key_of(i as usize, conv.at),
                None => CostKey {
                    channel: None,
                    campaign: None,
                    period: grouping.by_period.map(|(cal, g)| cal.period_of(conv.at, g)),
                },
            };
            c.add_revenue(key, &v)?;
        }
        Ok(c)
    }
}

/// The id made of `text`, made once per distinct text.
fn cached<'t, K: Clone>(
    cache: &mut FastMap<&'t str, K>,
    text: &'t str,
    make: impl Fn(&'t str) -> Result<K>,
) -> Result<K> {
    if let Some(k) = cache.get(text) {
        return Ok(k.clone());
    }
    let k = make(text)?;
    cache.insert(text, k.clone());
    Ok(k)
}

/// The serialised partial state of [`Credits`] (version 1), borrowed.
#[derive(Serialize)]
struct CreditsStateOut<'a> {
    version: StateVersion<1>,
    basis: &'a str,
    currency: Currency,
    units: &'a [String],
    rows: Vec<(&'a CostKey, &'a [Decimal], Decimal)>,
    diagnostics: CreditsDiagnostics,
}

/// The serialised partial state of [`Credits`] (version 1), read back and checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreditsStateIn {
    #[serde(rename = "version")]
    _version: StateVersion<1>,
    basis: String,
    currency: Currency,
    units: Vec<String>,
    rows: Vec<(CostKey, Vec<Decimal>, Decimal)>,
    #[serde(default)]
    diagnostics: CreditsDiagnostics,
}

impl Serialize for Credits {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        CreditsStateOut {
            version: StateVersion,
            basis: &self.basis,
            currency: self.currency,
            units: &self.units,
            rows: self
                .rows
                .iter()
                .map(|(k, (u, r))| (k, &u[..], r.amount()))
                .collect(),
            diagnostics: self.diagnostics,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Credits {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let st = CreditsStateIn::deserialize(d)?;
        Credits::try_from(st).map_err(serde::de::Error::custom)
    }
}

impl TryFrom<CreditsStateIn> for Credits {
    type Error = Error;

    fn try_from(st: CreditsStateIn) -> Result<Self> {
        let bad = |reason: String| {
            Error::from(ErrorKind::InvalidParameter {
                name: "partial state",
                value: "credits".into(),
                reason,
            })
        };
        for (i, u) in st.units.iter().enumerate() {
            if st.units[..i].contains(u) {
                return Err(bad(format!("unit column {u:?} is listed twice")));
            }
        }
        let mut c = Credits::new(st.basis, st.currency, st.units);
        c.diagnostics = st.diagnostics;
        for (key, units, revenue) in st.rows {
            if units.len() != c.units.len() {
                return Err(bad(format!(
                    "a row has {} unit amounts for {} columns",
                    units.len(),
                    c.units.len()
                )));
            }
            if units.iter().any(|u| u.is_sign_negative() && !u.is_zero()) {
                return Err(bad("a negative unit amount".into()));
            }
            let revenue = Money::new(revenue, c.currency);
            if c.rows.insert(key, (units, revenue)).is_some() {
                return Err(bad("a key is listed twice".into()));
            }
        }
        Ok(c)
    }
}

impl Accumulator for Credits {
    type Item = Credit;
    type Output = Credits;
    const STATE_VERSION: u32 = 1;

    fn add(&mut self, item: &Credit) -> Result<()> {
        Credits::add(self, item)
    }

    fn add_batch<'a, I>(&mut self, items: I) -> Result<()>
    where
        I: IntoIterator<Item = &'a Credit>,
    {
        Credits::add_batch(self, items)
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        Credits::merge(self, other)
    }

    fn finish(&self) -> Result<Credits> {
        Credits::finish(self)
    }
}

/// One row of a unit-economics table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EconomicsRow {
    /// What the row is for.
    pub key: CostKey,
    /// Spend.
    pub spend: Money,
    /// Credited units per column (same order as [`UnitEconomics::units`]).
    pub units: Vec<Decimal>,
    /// Spend per unit, per column (CPL for `leads`, cost per MQL, per SQL, CPA for the
    /// acquisition column …).
    pub cost_per: Vec<MoneyPer>,
    /// Credited revenue.
    pub revenue: Money,
    /// Revenue / spend.
    pub roas: MoneyRatio,
    /// (Revenue − spend) / spend.
    pub roi: MoneyRatio,
}

/// Spend next to credited units and revenue, per key, with the unit metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitEconomics {
    /// The crediting basis.
    pub basis: String,
    /// The unit columns.
    pub units: Vec<String>,
    /// One row per key present in spend or credits, sorted (keys without a channel
    /// last).
    pub rows: Vec<EconomicsRow>,
    /// All rows together.
    pub total: EconomicsRow,
    /// What the credits left out ([`Credits::diagnostics`]).
    #[serde(default)]
    pub diagnostics: CreditsDiagnostics,
}

/// Joins aligned spend with credits. Spend rows are grouped like the credits: by
/// channel, and by campaign / period when the credits' keys carry them (a spend
/// row's campaign and period are dropped when the credits have none).
///
/// ```
/// use revops::{cost::unit_economics, Channel, cost::CostKey, cost::Credits, Currency, Money, cost::PeriodSpend,
///              Calendar, Granularity};
/// use chrono::NaiveDate;
/// # fn main() -> Result<(), revops::Error> {
/// let usd = |s| Money::parse(s, Currency::USD);
/// let key = CostKey { channel: Some(Channel::new("search")?), campaign: None, period: None };
/// let mut credits = Credits::new("w_shaped", Currency::USD, vec!["won".into()]);
/// credits.add_units(key.clone(), "won", 2.5)?;
/// credits.add_revenue(key.clone(), &usd("9000")?)?;
/// let month = Calendar::new().period_of_date(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), Granularity::Month);
/// let spend = vec![PeriodSpend { channel: Channel::new("search")?, campaign: None, period: month, amount: usd("3000")? }];
/// let t = unit_economics(&spend, &credits)?;
/// assert_eq!(t.rows[0].cost_per[0].value, Some(usd("1200")?)); // 3000 / 2.5
/// assert_eq!(t.rows[0].roas.value, Some(3.into()));
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch) when spend is not in the credits' currency;
/// [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
pub fn unit_economics(spend: &[PeriodSpend], credits: &Credits) -> Result<UnitEconomics> {
    let by_campaign = credits.rows.keys().any(|k| k.campaign.is_some());
    let by_period = credits.rows.keys().any(|k| k.period.is_some());
    let zero = Money::zero(credits.currency);
    let n = credits.units.len();
    let mut rows: BTreeMap<CostKey, (Money, Vec<Decimal>, Money)> = BTreeMap::new();
    for (k, (u, r)) in &credits.rows {
        rows.insert(k.clone(), (zero, u.clone(), *r));
    }
    for s in spend {
        let key = CostKey {
            channel: Some(s.channel.clone()),
            campaign: if by_campaign {
                s.campaign.clone()
            } else {
                None
            },
            period: if by_period { Some(s.period) } else { None },
        };
        let e = rows
            .entry(key)
            .or_insert_with(|| (zero, vec![Decimal::ZERO; n], zero));
        e.0 = e.0.checked_add(&s.amount)?;
    }
    let make =
        |key: CostKey, spend: Money, units: Vec<Decimal>, revenue: Money| -> Result<EconomicsRow> {
            Ok(EconomicsRow {
                cost_per: units
                    .iter()
                    .map(|&u| MoneyPer::new(spend, u))
                    .collect::<Result<_>>()?,
                roas: MoneyRatio::new(revenue, spend)?,
                roi: MoneyRatio::new(revenue.checked_sub(&spend)?, spend)?,
                key,
                spend,
                units,
                revenue,
            })
        };
    let (mut ts, mut tu, mut tr) = (zero, vec![Decimal::ZERO; n], zero);
    let mut out = Vec::with_capacity(rows.len());
    for (k, (s, u, r)) in rows {
        ts = ts.checked_add(&s)?;
        tr = tr.checked_add(&r)?;
        for (a, b) in tu.iter_mut().zip(&u) {
            *a = a.checked_add(*b).ok_or_else(units_overflow)?;
        }
        out.push(make(k, s, u, r)?);
    }
    out.sort_by(|a, b| (a.key.channel.is_none(), &a.key).cmp(&(b.key.channel.is_none(), &b.key)));
    let total_key = CostKey {
        channel: None,
        campaign: None,
        period: None,
    };
    Ok(UnitEconomics {
        basis: credits.basis.clone(),
        units: credits.units.clone(),
        rows: out,
        total: make(total_key, ts, tu, tr)?,
        diagnostics: credits.diagnostics,
    })
}

impl UnitEconomics {
    /// Paid CAC: the spend of the `paid` channels over the units of column `unit`
    /// (e.g. `"won"`, new customers) credited to those channels.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) for an unknown column; [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
    pub fn cac_paid(&self, paid: &[Channel], unit: &str) -> Result<MoneyPer> {
        let col = unit_column(&self.units, unit)?;
        let mut spend = Money::zero(self.total.spend.currency());
        let mut units = Decimal::ZERO;
        for r in self
            .rows
            .iter()
            .filter(|r| r.key.channel.as_ref().is_some_and(|c| paid.contains(c)))
        {
            spend = spend.checked_add(&r.spend)?;
            units = units.checked_add(r.units[col]).ok_or_else(units_overflow)?;
        }
        MoneyPer::new(spend, units)
    }
}

/// Blended CAC: all sales and marketing cost over all new customers.
///
/// ```
/// use revops::{cost::cac_blended, Currency, Money};
/// # fn main() -> Result<(), revops::Error> {
/// let cac = cac_blended(Money::parse("500000", Currency::USD)?, 40)?;
/// assert_eq!(cac.value, Some(Money::parse("12500", Currency::USD)?));
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
pub fn cac_blended(sales_and_marketing_cost: Money, new_customers: u64) -> Result<MoneyPer> {
    MoneyPer::new(sales_and_marketing_cost, Decimal::from(new_customers))
}

// ---------------------------------------------------------------------------
// Lookups by name (issue 15), as on `Attribution::channel`: a row by its channel,
// a cost per unit by the unit column's name.
// ---------------------------------------------------------------------------

impl UnitEconomics {
    fn column(&self, unit: &str) -> Option<usize> {
        self.units.iter().position(|u| u == unit)
    }

    /// The row of channel `name` in a table keyed by channel alone (no campaign or
    /// period grouping); `None` for an unknown channel. The row of leads and revenue
    /// without a channel is the last of [`UnitEconomics::rows`].
    ///
    /// ```
    /// use revops::{Currency, Money, cost::{CostKey, Credits, PeriodSpend, unit_economics}};
    /// use revops::{Calendar, Granularity, chrono::NaiveDate, id};
    /// # fn main() -> Result<(), revops::Error> {
    /// let usd = |s| Money::parse(s, Currency::USD);
    /// let key = CostKey { channel: Some(id!("search")), campaign: None, period: None };
    /// let mut credits = Credits::new("lead source", Currency::USD, vec!["leads".into(), "won".into()]);
    /// credits.add_units(key.clone(), "leads", 3.0)?;
    /// credits.add_units(key.clone(), "won", 1.0)?;
    /// let month = Calendar::new().period_of_date(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), Granularity::Month);
    /// let spend = [PeriodSpend { channel: id!("search"), campaign: None, period: month, amount: usd("1000")? }];
    /// let table = unit_economics(&spend, &credits)?;
    /// assert_eq!(table.channel("search").map(|r| r.spend), Some(usd("1000")?));
    /// let cpl = table.cost_per("search", "leads").unwrap();
    /// assert_eq!(cpl.to_string(), "1000.00 USD / 3 (333.33 USD)");
    /// assert_eq!(table.total_cost_per("won").and_then(|c| c.rounded()), Some(usd("1000")?));
    /// assert!(table.cost_per("search", "sql").is_none()); // no such column
    /// # Ok(()) }
    /// ```
    pub fn channel(&self, name: &str) -> Option<&EconomicsRow> {
        self.rows.iter().find(|r| {
            r.key.campaign.is_none()
                && r.key.period.is_none()
                && r.key.channel.as_ref().is_some_and(|c| c.as_str() == name)
        })
    }

    /// The cost per unit of column `unit` (`"leads"`, `"sql"`, `"won"` …) of channel
    /// `channel`'s row (see [`UnitEconomics::channel`]).
    pub fn cost_per(&self, channel: &str, unit: &str) -> Option<&MoneyPer> {
        self.channel(channel)?.cost_per.get(self.column(unit)?)
    }

    /// The cost per unit of column `unit` over all rows.
    pub fn total_cost_per(&self, unit: &str) -> Option<&MoneyPer> {
        self.total.cost_per.get(self.column(unit)?)
    }
}
