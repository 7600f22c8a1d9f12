//! Attribution outputs: credited conversions, value and exact revenue per channel and
//! per (channel, campaign), and per-touch credit rows.

use crate::error::ErrorKind;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::credit_counts::CreditCounts;
use super::journey::{Journeys, NO_CAMPAIGN, from_micros};
use super::rules::{RuleModel, View, Weigher};
use crate::error::{Error, Result};
use crate::ids::{CampaignId, Channel, SubjectId};
use crate::money::{Currency, Money};

/// One channel's credit under one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelCredit {
    /// The channel.
    pub channel: Channel,
    /// Credited conversions: the sum over conversions of the channel's share (times
    /// the journey's converting weight).
    pub conversions: f64,
    /// Credited value as a real number: the sum over conversions of share × value.
    /// This is what other attribution tools report; it is not rounded to the cent.
    pub value: f64,
    /// Credited revenue, exact: the channel's exact share of the revenue (the sum over
    /// conversions of share × value, in exact arithmetic) rounded **once** to the
    /// revenue unit, by the largest remainder over all channels, so the channels sum
    /// exactly to the attributed revenue (see [`Journeys::attribute_with_revenue`]).
    /// `None` unless revenue was asked for.
    pub revenue: Option<Money>,
}

/// One (channel, campaign)'s credit under one model: the grain of `spend.csv`, so
/// cost per attributed conversion and return on spend join on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignCredit {
    /// The channel.
    pub channel: Channel,
    /// The campaign (`None`: touches without a campaign).
    pub campaign: Option<CampaignId>,
    /// Credited conversions.
    pub conversions: f64,
    /// Credited value (real number).
    pub value: f64,
    /// Credited revenue, exact (when asked for): the channel's rounded revenue split
    /// over its campaigns by their exact shares, rounded once (largest remainder), so
    /// a channel's campaign rows sum exactly to it.
    pub revenue: Option<Money>,
}

/// The result of one rule model over a set of journeys.
///
/// Totals reconcile: the channels' conversions plus `unattributed_conversions` equal
/// `conversions` (up to floating-point rounding), and, when revenue is computed, the
/// channels' revenue plus `unattributed_revenue` equals `revenue` **exactly**. The
/// same holds for the (channel, campaign) rows. Channels are sorted by name, campaign
/// rows by channel then campaign (no campaign first); every channel of the journeys
/// is listed, with zeros if it got nothing.
///
/// Attributions of the same model over disjoint journeys [`merge`](Attribution::merge)
/// into the attribution of all of them (revenue then carries each part's rounding:
/// less than one unit per channel per merged attribution).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribution {
    /// The model.
    pub model: RuleModel,
    /// Per channel.
    pub channels: Vec<ChannelCredit>,
    /// Per (channel, campaign).
    pub campaigns: Vec<CampaignCredit>,
    /// Total conversions (converting weights), credited or not.
    pub conversions: f64,
    /// Conversions whose journey has no touch: not credited to any channel.
    pub unattributed_conversions: f64,
    /// Conversions where the model's rule fell back (last non-direct with only direct
    /// touches → last touch; milestones with nothing to weigh → linear).
    pub fallback_conversions: f64,
    /// Total conversion value (real number).
    pub value: f64,
    /// Value of the unattributed conversions (real number).
    pub unattributed_value: f64,
    /// Total converted revenue, exact (when asked for).
    pub revenue: Option<Money>,
    /// Revenue of the unattributed conversions, exact (when asked for).
    pub unattributed_revenue: Option<Money>,
}

impl Attribution {
    /// The credit of a channel, by name.
    pub fn channel(&self, name: &str) -> Option<&ChannelCredit> {
        self.channels
            .binary_search_by(|c| c.channel.as_str().cmp(name))
            .ok()
            .map(|i| &self.channels[i])
    }

    /// Conversions credited to channels (`conversions − unattributed_conversions`).
    pub fn attributed_conversions(&self) -> f64 {
        self.channels.iter().map(|c| c.conversions).sum()
    }

    /// Adds the attribution of other (disjoint) journeys under the same model.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) if the models differ or only one side has revenue;
    /// [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch) if the revenues' currencies differ;
    /// [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow). On error `self` is unchanged.
    pub fn merge(&mut self, other: &Attribution) -> Result<()> {
        if self.model != other.model {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "model",
                value: other.model.to_string(),
                reason: format!("cannot merge into an attribution by {}", self.model),
            }));
        }
        if self.revenue.is_some() != other.revenue.is_some() {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "revenue",
                value: format!("{:?}", other.revenue),
                reason: "revenue was computed for only one of the attributions".into(),
            }));
        }
        let add_money = |a: &Option<Money>, b: &Option<Money>| -> Result<Option<Money>> {
            match (a, b) {
                (Some(a), Some(b)) => a.checked_add(b).map(Some),
                (Some(a), None) => Ok(Some(*a)),
                (None, b) => Ok(*b),
            }
        };
        let mut channels: BTreeMap<Channel, ChannelCredit> = self
            .channels
            .iter()
            .map(|c| (c.channel.clone(), c.clone()))
            .collect();
        for c in &other.channels {
            match channels.get_mut(&c.channel) {
                Some(m) => {
                    m.conversions += c.conversions;
                    m.value += c.value;
                    m.revenue = add_money(&m.revenue, &c.revenue)?;
                }
                None => {
                    channels.insert(c.channel.clone(), c.clone());
                }
            }
        }
        type Key = (Channel, Option<CampaignId>);
        let mut campaigns: BTreeMap<Key, CampaignCredit> = self
            .campaigns
            .iter()
            .map(|c| ((c.channel.clone(), c.campaign.clone()), c.clone()))
            .collect();
        for c in &other.campaigns {
            match campaigns.get_mut(&(c.channel.clone(), c.campaign.clone())) {
                Some(m) => {
                    m.conversions += c.conversions;
                    m.value += c.value;
                    m.revenue = add_money(&m.revenue, &c.revenue)?;
                }
                None => {
                    campaigns.insert((c.channel.clone(), c.campaign.clone()), c.clone());
                }
            }
        }
        let revenue = add_money(&self.revenue, &other.revenue)?;
        let unattributed_revenue =
            add_money(&self.unattributed_revenue, &other.unattributed_revenue)?;
        self.channels = channels.into_values().collect();
        self.campaigns = campaigns.into_values().collect();
        self.conversions += other.conversions;
        self.unattributed_conversions += other.unattributed_conversions;
        self.fallback_conversions += other.fallback_conversions;
        self.value += other.value;
        self.unattributed_value += other.unattributed_value;
        self.revenue = revenue;
        self.unattributed_revenue = unattributed_revenue;
        Ok(())
    }
}

/// The credit of one touch of one converting journey under one model: the grain for
/// cost, pipeline and period roll-ups.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TouchCredit<'a> {
    /// Position of the journey in its [`Journeys`].
    pub journey: usize,
    /// The subject (`None` for journeys from path rows).
    pub subject: Option<&'a SubjectId>,
    /// Position of the touch within the journey (0 = first).
    pub touch: usize,
    /// The touch's channel.
    pub channel: &'a Channel,
    /// The touch's campaign, if any.
    pub campaign: Option<&'a CampaignId>,
    /// When the touch happened (`None` for journeys from path rows).
    pub at: Option<DateTime<Utc>>,
    /// The model.
    pub model: &'a RuleModel,
    /// The touch's share of its conversion, in \[0, 1\]; a journey's shares sum to 1.
    pub credit: f64,
    /// Credited conversions: `credit` × the journey's converting weight.
    pub conversions: f64,
    /// Credited value (real number): `credit` × the journey's value.
    pub value: f64,
    /// The touch's exact part of the conversion's revenue, rounded **per journey**
    /// ([`Money::allocate_f64`]: largest remainder at the value's own scale, ties to
    /// the larger share, then the earlier touch), so a journey's parts sum exactly to
    /// its value. Summing these rows per channel can drift from the exact channel
    /// share by up to one unit per journey; the channel totals of
    /// [`Journeys::attribute_with_revenue`] are rounded once instead. `None` when the
    /// journeys have no currency.
    pub revenue: Option<Money>,
}

/// Checks a model against the journeys and resolves it to their dense ids.
pub(super) fn weigher<'j>(journeys: &'j Journeys, model: &RuleModel) -> Result<Weigher<'j>> {
    let refuse = |reason: &str| {
        Error::from(ErrorKind::InvalidParameter {
            name: "model",
            value: model.to_string(),
            reason: reason.to_string(),
        })
    };
    if model.needs_times() && journeys.untimed > 0 {
        return Err(refuse(
            "time decay needs touch times, and journeys built from path rows have none",
        ));
    }
    if model.needs_stage_events() && journeys.stage_events == 0 && !journeys.is_empty() {
        return Err(refuse(
            "milestone models need stage events, and these journeys have none (built from path rows, or without stage events)",
        ));
    }
    let names = &journeys.names;
    Weigher::new(
        model,
        &journeys.pair_channel,
        names.channels.len(),
        |c| names.channels.get(c),
        |k| names.stages.get(k),
    )
}

fn no_currency(model: &RuleModel) -> Error {
    Error::from(ErrorKind::InvalidParameter {
        name: "currency",
        value: model.to_string(),
        reason: "no conversion carries a value; declare the currency (JourneyOptions::with_currency) to report zero revenue".into(),
    })
}

impl Journeys {
    #[inline]
    fn view(&self, j: usize) -> View<'_> {
        let r = self.touch_range(j);
        View {
            pairs: &self.touch_pair[r.clone()],
            at: &self.touch_at[r],
            milestones: self.milestone_slice(j),
        }
    }

    /// Credits every conversion to its journey's touches under `model`: conversions
    /// and value per channel and per (channel, campaign), as real numbers. This is the
    /// fast path (dense ids, one reused weight buffer, no allocation per journey);
    /// for exact revenue use [`Journeys::attribute_with_revenue`].
    ///
    /// ```
    /// use revops::{Channel, Currency, Decimal, attribution::Journeys, PathRow, attribution::RuleModel};
    /// # fn main() -> Result<(), revops::Error> {
    /// let ch = |s| Channel::new(s);
    /// let rows = vec![PathRow::new(vec![ch("search")?, ch("email")?, ch("search")?], 1.0, Decimal::new(90, 0), 0.0)];
    /// let j = Journeys::from_path_rows(&rows, Currency::USD)?;
    /// let linear = j.attribute(&RuleModel::Linear)?;
    /// assert!((linear.channel("search").unwrap().conversions - 2.0 / 3.0).abs() < 1e-12);
    /// let unique = j.attribute(&RuleModel::LinearUnique)?;
    /// assert!((unique.channel("search").unwrap().value - 45.0).abs() < 1e-9);
    /// // Path rows have no times: time decay is refused.
    /// assert!(j.attribute(&RuleModel::time_decay()).is_err());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) for invalid model parameters
    /// ([`RuleModel::validate`]), time decay on journeys without times, or a milestone
    /// model with stage milestones on journeys without stage events.
    pub fn attribute(&self, model: &RuleModel) -> Result<Attribution> {
        self.run_one(model, None)
    }

    /// As [`Journeys::attribute`], plus exact revenue, rounded **once**:
    ///
    /// 1. **Unit.** Revenue is counted in units of `10^-s`, `s` the finest scale of the
    ///    conversion values (trailing zeros ignored), at least the currency's minor
    ///    units: every value is a whole number of units, and the parts can sum to it.
    /// 2. **Exact shares.** Each journey's value is split over its touches by the
    ///    model's shares in integer arithmetic (no `f64`, no per-journey rounding):
    ///    linear, linear unique, first, last and last non-direct shares are exact
    ///    rationals; the models with `f64` parameters (position-based, J, inverse J,
    ///    time decay, milestones) use their `f64` shares to 62 bits. Per channel the
    ///    exact share `Xc = Σ value × share` is kept as whole units plus a fraction
    ///    (each journey's fraction truncated to 2⁻⁶⁴ of a unit, the sum compared at
    ///    2⁻³²).
    /// 3. **One rounding.** The attributed revenue (all valued conversions with a
    ///    touch) is split over the channels by the largest remainder: each channel
    ///    gets `⌊Xc⌋`, and the units left over go one each to the largest fractions;
    ///    ties go to the larger share, then to the channel whose name sorts first.
    ///    The tie rule never looks at touch positions or input order, so channels that
    ///    tend to come first (or last) in journeys get no systematic extra unit; an
    ///    exact tie means the data cannot tell the channels apart, and name order
    ///    makes the result reproducible. Each channel's revenue is its exact share
    ///    rounded down or up: **less than one unit away**, and the channels sum
    ///    exactly to the attributed revenue. (A bound of half a unit cannot hold
    ///    together with an exact sum: three channels with a third of one cent each.)
    ///    Largest remainder minimises the largest error among roundings that sum
    ///    exactly.
    /// 4. **Campaigns.** Each channel's revenue is split over its (channel, campaign)
    ///    rows the same way (ties to the campaign that sorts first, no campaign
    ///    first), so campaign rows sum exactly to their channel.
    ///
    /// The unattributed conversions' revenue (journeys without touches) is reported
    /// apart; attributed plus unattributed is the total, exactly. Per-touch rows
    /// ([`Journeys::touch_credits`]) keep a per-journey rounding.
    ///
    /// ```
    /// use revops::{Channel, Currency, Decimal, attribution::Journeys, Money, PathRow, attribution::RuleModel};
    /// # fn main() -> Result<(), revops::Error> {
    /// let ch = |s| Channel::new(s);
    /// let rows = vec![PathRow::new(vec![ch("a")?, ch("b")?, ch("c")?], 1.0, Decimal::new(100, 0), 0.0)];
    /// let j = Journeys::from_path_rows(&rows, Currency::USD)?;
    /// let r = j.attribute_with_revenue(&RuleModel::Linear)?;
    /// let parts: Vec<String> = r.channels.iter().map(|c| c.revenue.unwrap().amount().to_string()).collect();
    /// assert_eq!(parts, ["33.34", "33.33", "33.33"]);
    /// assert_eq!(r.revenue, Some(Money::parse("100", Currency::USD)?));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Journeys::attribute`]; [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) (`currency`) when no
    /// conversion carries a value and no currency was declared; [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow)
    /// when a value or the total in units of the finest scale reaches 2¹²⁷, or a
    /// revenue does not fit a [`Decimal`] (28 digits) at that scale.
    pub fn attribute_with_revenue(&self, model: &RuleModel) -> Result<Attribution> {
        let currency = self.currency().ok_or_else(|| no_currency(model))?;
        self.run_one(model, Some(currency))
    }

    fn run_one(&self, model: &RuleModel, currency: Option<Currency>) -> Result<Attribution> {
        let mut all = self.run_many(std::slice::from_ref(model), currency)?;
        Ok(all.remove(0))
    }

    /// [`Journeys::attribute`] for several models in one pass over the journeys: each
    /// journey's touches are read once and credited under every model, which is
    /// faster than one pass per model. The results are exactly those of
    /// [`Journeys::attribute`], in the order of `models`.
    ///
    /// ```
    /// use revops::{Channel, Currency, Decimal, attribution::Journeys, PathRow, attribution::RuleModel};
    /// # fn main() -> Result<(), revops::Error> {
    /// let ch = |s| Channel::new(s);
    /// let rows = vec![
    ///     PathRow::new(vec![ch("search")?, ch("email")?], 3.0, Decimal::new(300, 0), 5.0),
    ///     PathRow::new(vec![ch("email")?], 1.0, Decimal::new(50, 0), 0.0),
    /// ];
    /// let j = Journeys::from_path_rows(&rows, Currency::USD)?;
    /// let models = [RuleModel::FirstTouch, RuleModel::Linear, RuleModel::position_based()];
    /// let all = j.attribute_all(&models)?;
    /// for (m, a) in models.iter().zip(&all) {
    ///     assert_eq!(*a, j.attribute(m)?);
    /// }
    /// assert_eq!(all[0].channel("search").unwrap().conversions, 3.0);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Journeys::attribute`], for the first model that fails.
    pub fn attribute_all(&self, models: &[RuleModel]) -> Result<Vec<Attribution>> {
        self.run_many(models, None)
    }

    /// [`Journeys::attribute_with_revenue`] for several models in one pass over the
    /// journeys; the results are exactly those of one call per model, in the order of
    /// `models`.
    ///
    /// ```
    /// use revops::{Channel, Currency, Decimal, attribution::Journeys, PathRow, attribution::RuleModel};
    /// # fn main() -> Result<(), revops::Error> {
    /// let ch = |s| Channel::new(s);
    /// let rows = vec![PathRow::new(vec![ch("a")?, ch("b")?], 2.0, Decimal::new(999, 2), 1.0)];
    /// let j = Journeys::from_path_rows(&rows, Currency::USD)?;
    /// let models = [RuleModel::FirstTouch, RuleModel::Linear];
    /// let all = j.attribute_all_with_revenue(&models)?;
    /// for (m, a) in models.iter().zip(&all) {
    ///     assert_eq!(*a, j.attribute_with_revenue(m)?);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Journeys::attribute_with_revenue`], for the first model that fails.
    pub fn attribute_all_with_revenue(&self, models: &[RuleModel]) -> Result<Vec<Attribution>> {
        let Some(first) = models.first() else {
            return Ok(Vec::new());
        };
        let currency = self.currency().ok_or_else(|| no_currency(first))?;
        self.run_many(models, Some(currency))
    }

    /// One pass over the journeys crediting every model; exact revenue too when a
    /// currency is given (see [`Journeys::attribute_with_revenue`] for the method).
    fn run_many(
        &self,
        models: &[RuleModel],
        currency: Option<Currency>,
    ) -> Result<Vec<Attribution>> {
        // Revenue in units of 10^-scale: the finest of the values, at least the
        // currency's minor unit, so that every value is a whole number of units.
        let scale = currency.map(|c| {
            self.values
                .iter()
                .map(|v| v.0.normalize().scale())
                .max()
                .unwrap_or(0)
                .max(u32::from(c.minor_units()))
        });
        let mut counts = CreditCounts::over(models.to_vec(), currency, self.names.clone(), scale);
        counts.fold(self, None)?;
        counts.finish()
    }

    /// Per-touch credit rows of every converting journey with touches (every touch,
    /// including those the model gives nothing), streamed: one journey's weights and
    /// revenue parts are computed at a time, so the rows of millions of journeys are
    /// never held together.
    ///
    /// ```
    /// use revops::{Channel, Conversion, Currency, attribution::JourneyOptions, attribution::Journeys, Money, attribution::RuleModel, SubjectId, Touch};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
    /// let s = SubjectId::new("L1")?;
    /// let touches = vec![
    ///     Touch::new(s.clone(), Channel::new("search")?, t(1)),
    ///     Touch::new(s.clone(), Channel::new("email")?, t(2)),
    ///     Touch::new(s.clone(), Channel::new("demo")?, t(3)),
    /// ];
    /// let value = Money::parse("1000.00", Currency::USD)?;
    /// let j = Journeys::from_records(&touches, &[Conversion::new(s, t(4), Some(value))], &[], &JourneyOptions::default())?;
    /// let model = RuleModel::position_based();
    /// let rows = j.touch_credits(&model)?.collect::<Result<Vec<_>, _>>()?;
    /// let parts: Vec<String> = rows.iter().map(|r| r.revenue.unwrap().amount().to_string()).collect();
    /// assert_eq!(parts, ["400.00", "200.00", "400.00"]);
    /// assert_eq!(rows[1].channel.as_str(), "email");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Journeys::attribute`]. Each row is a `Result`: splitting a value too large
    /// for minor units is [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
    pub fn touch_credits<'a>(&'a self, model: &'a RuleModel) -> Result<TouchCredits<'a>> {
        Ok(TouchCredits {
            weigher: weigher(self, model)?,
            journeys: self,
            model,
            buf: Vec::with_capacity(32),
            parts: Vec::with_capacity(32),
            journey: 0,
            touch: 0,
            len: 0,
        })
    }
}

/// The revenue unit and totals of one pass: amounts in units of `10^-scale`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Units {
    pub(super) currency: Currency,
    pub(super) scale: u32,
    /// All credited journeys' value.
    pub(super) total: u128,
    /// The value of those without touches (part of `total`).
    pub(super) unattributed: u128,
}

impl Units {
    /// `units` as money: at the unit's scale, trailing zeros beyond the currency's
    /// minor units dropped.
    pub(super) fn money(&self, units: u128) -> Result<Money> {
        let mut d = i128::try_from(units)
            .ok()
            .and_then(|u| Decimal::try_from_i128_with_scale(u, self.scale).ok())
            .ok_or_else(revenue_overflow)?;
        let minor = u32::from(self.currency.minor_units());
        if self.scale > minor {
            d = d.normalize();
            if d.scale() < minor {
                d.rescale(minor);
            }
        }
        Ok(Money::new(d, self.currency))
    }
}

pub(super) fn revenue_overflow() -> Error {
    Error::from(ErrorKind::Overflow {
        operation: "attributed revenue in units of the values' finest decimal (more than 28 digits, or a sum beyond 2^127 units)",
    })
}

/// A non-negative `value` in units of `10^-scale` (`scale` at least its normalised
/// scale), below 2¹²⁷.
pub(super) fn units_of(value: Decimal, scale: u32) -> Result<u128> {
    let m = value.mantissa().unsigned_abs();
    let own = value.scale();
    let u = if own <= scale {
        10u128
            .checked_pow(scale - own)
            .and_then(|p| m.checked_mul(p))
    } else {
        // Only trailing zeros are dropped (the scale is at least the normalised one).
        10u128.checked_pow(own - scale).map(|p| m / p)
    };
    u.filter(|&u| u < 1 << 127).ok_or_else(revenue_overflow)
}

/// An exact sum of revenue parts `units × m / d` in units: the whole units, and the
/// fractions of a unit in 2⁻⁶⁴ (each part's fraction truncated there).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Exact {
    pub(super) whole: u128,
    pub(super) frac: u128,
}

impl Exact {
    /// Adds `units × m / d` (`units < 2¹²⁷`, `0 < m ≤ d`).
    #[inline]
    pub(super) fn add(&mut self, units: u128, m: u64, d: u64) -> Result<()> {
        let (q, f) = if m == d {
            (units, 0)
        } else {
            mul_div(units, m, d)
        };
        self.whole = self.whole.checked_add(q).ok_or_else(revenue_overflow)?;
        // Fractions are below 2⁶⁴: 2⁶⁴ of them fit.
        self.frac += u128::from(f);
        Ok(())
    }

    /// `(whole units, fraction in 2⁻³²)`: the sum rounded to the nearest 2⁻³² of a
    /// unit. Each part's truncation is below 2⁻⁶⁴, so sums that are equal in exact
    /// arithmetic (a third and two sixths) round to the same value, and a sum that is
    /// exactly whole comes out whole, unless it lies within (parts × 2⁻⁶⁴) of a
    /// rounding boundary (an odd multiple of 2⁻³³ of a unit).
    pub(super) fn settle(&self) -> Result<(u128, u64)> {
        let coarse = (self.frac + (1 << 31)) >> 32;
        let whole = self
            .whole
            .checked_add(coarse >> 32)
            .ok_or_else(revenue_overflow)?;
        Ok((whole, (coarse & 0xffff_ffff) as u64))
    }
}

/// `v × m / d` for `v < 2¹²⁷` and `m ≤ d`, `d > 0`: the whole part and the fraction
/// truncated to a multiple of 2⁻⁶⁴. Integer arithmetic only (the product has up to
/// 191 bits: three 64-bit limbs, divided limb by limb).
#[inline]
fn mul_div(v: u128, m: u64, d: u64) -> (u128, u64) {
    let (m, d128) = (u128::from(m), u128::from(d));
    let (q, r) = if v >> 64 == 0 {
        let p = v * m;
        (p / d128, p % d128)
    } else {
        let lo = (v as u64 as u128) * m;
        let hi = (v >> 64) * m; // < 2¹²⁷
        let limb0 = lo as u64 as u128;
        let mid = (lo >> 64) + (hi as u64 as u128);
        let limb1 = mid as u64 as u128;
        let limb2 = (hi >> 64) + (mid >> 64); // < 2⁶⁴
        // Long division by d < 2⁶⁴; the quotient is at most v (m ≤ d), so its top
        // limb is zero.
        let r2 = limb2 % d128;
        let cur = (r2 << 64) | limb1;
        let (q1, r1) = (cur / d128, cur % d128);
        let cur = (r1 << 64) | limb0;
        let (q0, r0) = (cur / d128, cur % d128);
        ((q1 << 64) | q0, r0)
    };
    (q, ((r << 64) / d128) as u64)
}

/// Rounds exact parts (whole units, fraction in 2⁻³²) of the indices `order` to
/// whole units summing to `target` (largest remainder): each part gets its whole
/// units, and the units left over go one each to the parts with the largest
/// fractions, ties to the larger part, then to the earlier in `order`. Parts that
/// are exactly zero get nothing.
pub(super) fn round_once(parts: &[(u128, u64)], order: &[usize], target: u128, out: &mut [u128]) {
    let mut assigned = 0u128;
    for &i in order {
        out[i] = parts[i].0;
        assigned = assigned.saturating_add(parts[i].0);
    }
    let mut ranked: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&i| parts[i] != (0, 0))
        .collect();
    // Stable: ties keep `order`.
    ranked.sort_by(|&a, &b| {
        parts[b]
            .1
            .cmp(&parts[a].1)
            .then_with(|| parts[b].0.cmp(&parts[a].0))
    });
    // The fractions sum to `target − assigned` (less than the number of parts); the
    // loops also settle any difference truncation could leave.
    while assigned < target && !ranked.is_empty() {
        for &i in &ranked {
            if assigned == target {
                break;
            }
            out[i] += 1;
            assigned += 1;
        }
    }
    while assigned > target && ranked.iter().any(|&i| out[i] > 0) {
        for &i in ranked.iter().rev() {
            if assigned == target {
                break;
            }
            if out[i] > 0 {
                out[i] -= 1;
                assigned -= 1;
            }
        }
    }
}

/// The iterator of [`Journeys::touch_credits`].
pub struct TouchCredits<'a> {
    journeys: &'a Journeys,
    model: &'a RuleModel,
    weigher: Weigher<'a>,
    buf: Vec<f64>,
    parts: Vec<Money>,
    /// The next journey to load (the current one is `journey − 1`).
    journey: usize,
    touch: usize,
    len: usize,
}

impl std::fmt::Debug for TouchCredits<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TouchCredits")
            .field("model", self.model)
            .field("journey", &self.journey)
            .field("touch", &self.touch)
            .finish_non_exhaustive()
    }
}

impl<'a> Iterator for TouchCredits<'a> {
    type Item = Result<TouchCredit<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let js = self.journeys;
        while self.touch >= self.len {
            // Load the next converting journey with touches.
            let j = self.journey;
            if j >= js.len() {
                return None;
            }
            self.journey += 1;
            let v = js.view(j);
            if v.pairs.is_empty() || (js.conversions_of(j) == 0.0 && js.value_f64_of(j) == 0.0) {
                continue;
            }
            self.weigher.fill(v, &mut self.buf);
            self.parts.clear();
            if let Some(cur) = js.currency() {
                let value = Money::new(js.value_of(j), cur);
                if value.is_zero() {
                    self.parts.resize(v.pairs.len(), value);
                } else {
                    match value.allocate_f64(&self.buf) {
                        Ok(p) => self.parts = p,
                        Err(e) => {
                            self.len = 0;
                            return Some(Err(e));
                        }
                    }
                }
            }
            self.touch = 0;
            self.len = v.pairs.len();
        }
        let j = self.journey - 1;
        let k = self.touch;
        self.touch += 1;
        let t = js.touch_range(j).start + k;
        let (c, camp) = js.names.pairs.list[js.touch_pair[t] as usize];
        let credit = self.buf[k];
        Some(Ok(TouchCredit {
            journey: j,
            subject: js.subject_id(j),
            touch: k,
            channel: &js.names.channels.names[c as usize],
            campaign: (camp != NO_CAMPAIGN).then(|| &js.names.campaigns.names[camp as usize]),
            at: from_micros(js.touch_at[t]),
            model: self.model,
            credit,
            conversions: credit * js.conversions_of(j),
            value: credit * js.value_f64_of(j),
            revenue: self.parts.get(k).copied(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::mul_div;

    /// `v × m / d` against wide arithmetic done another way: `v = a·2⁶⁴ + b`, so
    /// `v·m = (a·m)·2⁶⁴ + b·m`, reduced modulo `d` piece by piece.
    fn reference(v: u128, m: u64, d: u64) -> (u128, u64) {
        let (m, d) = (u128::from(m), u128::from(d));
        let (a, b) = (v >> 64, v & u128::from(u64::MAX));
        // (a·m)·2⁶⁴ = qa·d·2⁶⁴ + ra·2⁶⁴, and ra·2⁶⁴ + b·m is split again.
        let (qa, ra) = (a * m / d, a * m % d);
        let hi = (ra << 32) * (1 << 32); // ra·2⁶⁴ < d·2⁶⁴ ≤ 2¹²⁸: fits as ra < 2⁶⁴
        let lo = b * m;
        let (q1, r1) = (hi / d, hi % d);
        let (q2, r2) = (lo / d, lo % d);
        let r = r1 + r2;
        let q = (qa << 64) + q1 + q2 + r / d;
        let r = r % d;
        (q, ((r << 64) / d) as u64)
    }

    #[test]
    fn mul_div_matches_wide_arithmetic() {
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for i in 0..20_000 {
            let d = next() >> (i % 63) | 1;
            let m = next() % d + 1;
            let v = (u128::from(next()) << (i % 63)) | u128::from(next());
            let v = v & ((1u128 << 127) - 1);
            assert_eq!(mul_div(v, m, d), reference(v, m, d), "{v} × {m} / {d}");
        }
        assert_eq!(mul_div(7, 1, 2), (3, 1 << 63));
        let big = (1u128 << 127) - 1;
        assert_eq!(mul_div(big, 5, 5).0, big);
        assert_eq!(mul_div(big, 1, 3).0, big / 3);
    }
}
