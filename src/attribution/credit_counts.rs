//! The rule models' credit as a running tally: journeys folded in batch by batch
//! (a streamed `paths.csv`), never held together.

use super::credit::{
    Attribution, CampaignCredit, ChannelCredit, Exact, Units, revenue_overflow, round_once,
    units_of, weigher,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::journey::state::{NamesIn, NamesOut};
use super::journey::{Journeys, NO_CAMPAIGN, Names};
use super::rules::{RuleModel, View};
use super::state::{bad_state, check_count, options_differ};
use crate::accumulate::{Accumulator, StateVersion};
use crate::error::Result;
use crate::money::Currency;

/// One model's sums over the tally's (channel, campaign) pair ids.
#[derive(Debug, Clone, Default)]
struct ModelSums {
    conv: Vec<f64>,
    val: Vec<f64>,
    /// Per revenue group (see [`CreditCounts`]): the exact revenue parts per pair.
    rev: Vec<Vec<Exact>>,
    fallback: f64,
}

/// The totals of the credited journeys.
#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    conversions: f64,
    value: f64,
    unattributed_conversions: f64,
    unattributed_value: f64,
}

/// Revenue units of one group of values: their unit `10^-scale`, the credited
/// journeys' value and the part of it without touches, in that unit.
#[derive(Debug, Clone, Copy)]
struct Group {
    scale: u32,
    total: u128,
    unattributed: u128,
}

/// Rule-model credit of journeys added batch by batch: exactly what
/// [`Journeys::attribute_all`] (or, with a currency,
/// [`Journeys::attribute_all_with_revenue`]) gives for all the batches appended in
/// order, without holding them. Each batch is credited as it comes (the same shares,
/// added in the same order, so the same `f64` sums), then dropped; the tally keeps
/// per model one sum per (channel, campaign).
///
/// Exact revenue is counted in units of `10^-s` for each value, `s` its own finest
/// scale (at least the currency's minor units), and brought to the finest unit of
/// all the values at [`CreditCounts::finish`], since a later batch may hold a finer
/// value. When every value has at most the currency's minor units (money as it
/// usually is) the revenue is exactly that of
/// [`Journeys::attribute_with_revenue`]; otherwise each part's fraction is cut at
/// 2⁻⁶⁴ of the coarser unit instead of the finer one, which can move a rounding
/// tie by one unit.
///
/// ```
/// use revops::{Channel, Currency, Decimal, PathRow, attribution::CreditCounts, attribution::Journeys, attribution::RuleModel};
/// # fn main() -> Result<(), revops::Error> {
/// let ch = |s| Channel::new(s);
/// let rows = vec![
///     PathRow::new(vec![ch("search")?, ch("email")?], 3.0, Decimal::new(30000, 2), 5.0),
///     PathRow::new(vec![ch("email")?], 1.0, Decimal::new(5000, 2), 0.0),
/// ];
/// let models = vec![RuleModel::FirstTouch, RuleModel::Linear];
/// let mut counts = CreditCounts::new(models.clone(), Some(Currency::USD))?;
/// for row in &rows {
///     // One batch per row: a reader hands its blocks in file order.
///     counts.add_journeys(&Journeys::from_path_rows(std::slice::from_ref(row), Currency::USD)?)?;
/// }
/// let all = Journeys::from_path_rows(&rows, Currency::USD)?;
/// assert_eq!(counts.finish()?, all.attribute_all_with_revenue(&models)?);
/// # Ok(()) }
/// ```
///
/// # Serialised form
///
/// A tally crosses threads, processes and machines as its serde form (version 1,
/// the [`Accumulator`] contract): `{"version": 1, "models": [...], "currency": "USD"
/// | null, "names": {"channels", "campaigns", "pairs", "stages"}, "fixed_scale":
/// null | s, "totals": [conversions, value, unattributed conversions, unattributed
/// value], "groups": [{"scale": 2, "total": "1050", "unattributed": "0"}, …],
/// "sums": [{"conv": [...], "val": [...], "rev": [[["whole", "frac"], …], …],
/// "fallback": x}, …]}`: per model (in order) the conversions and value per
/// (channel, campaign) pair id of `names`, and per revenue group (a value scale) the
/// exact revenue parts per pair id (whole units and the fraction in 2⁻⁶⁴ of a
/// unit, as decimal strings: they exceed 2⁶⁴). Floats are written so they read back
/// to the same bits, so a shipped tally finishes exactly as the original. Reading a
/// state back checks it (models valid, names distinct and indices in range, counts
/// finite and non-negative, one sum per model and group, unattributed revenue at
/// most the total).
#[derive(Debug, Clone)]
pub struct CreditCounts {
    models: Vec<RuleModel>,
    currency: Option<Currency>,
    names: Names,
    sums: Vec<ModelSums>,
    totals: Totals,
    /// One scale for every value (set when all values are known beforehand), or
    /// `None`: a group per scale.
    fixed_scale: Option<u32>,
    groups: Vec<Group>,
}

impl CreditCounts {
    /// An empty tally of `models`, with exact revenue in `currency` if given.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter)
    /// for a model's invalid parameters ([`RuleModel::validate`]).
    pub fn new(models: Vec<RuleModel>, currency: Option<Currency>) -> Result<CreditCounts> {
        for m in &models {
            m.validate()?;
        }
        Ok(Self::over(models, currency, Names::default(), None))
    }

    /// A tally over `names` (pair ids as they are), every value in units of
    /// `10^-scale` if `scale` is given.
    pub(super) fn over(
        models: Vec<RuleModel>,
        currency: Option<Currency>,
        names: Names,
        scale: Option<u32>,
    ) -> CreditCounts {
        CreditCounts {
            sums: vec![ModelSums::default(); models.len()],
            models,
            currency,
            names,
            totals: Totals::default(),
            fixed_scale: scale,
            groups: Vec::new(),
        }
    }

    /// The models, in order.
    pub fn models(&self) -> &[RuleModel] {
        &self.models
    }

    /// Credits a batch of journeys, as if appended after those added so far.
    ///
    /// # Errors
    /// As [`Journeys::attribute`] for a model the journeys cannot support (time decay
    /// without touch times, milestones without stage events);
    /// [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow) when the revenue in
    /// units reaches 2¹²⁷; [`ErrorKind::LimitExceeded`](crate::error::ErrorKind::LimitExceeded)
    /// beyond `u32::MAX − 1` channels. On error the tally holds part of the batch:
    /// discard it.
    pub fn add_journeys(&mut self, journeys: &Journeys) -> Result<()> {
        let (map, _) = self.names.absorb(&journeys.names)?;
        self.fold(journeys, Some(&map))
    }

    /// Adds another tally of the same models and currency, as if its batches came
    /// after these (the `f64` sums then add per channel, so they may differ from one
    /// pass in the last bits; revenue stays exact).
    ///
    /// # Errors
    /// [`ErrorKind::MergeMismatch`](crate::error::ErrorKind::MergeMismatch) if the
    /// models or currencies differ; as [`CreditCounts::add_journeys`].
    pub fn merge(&mut self, other: &CreditCounts) -> Result<()> {
        if self.models != other.models || self.currency != other.currency {
            return Err(options_differ(
                "rule credit counts",
                format!("{:?} in {:?}", self.models, self.currency),
                format!("{:?} in {:?}", other.models, other.currency),
            ));
        }
        let (map, _) = self.names.absorb(&other.names)?;
        let npairs = self.names.pairs.list.len();
        for (group, g) in other.groups.iter().enumerate() {
            let ours = self.group(g.scale);
            let o = &mut self.groups[ours];
            o.total = o.total.checked_add(g.total).ok_or_else(revenue_overflow)?;
            o.unattributed += g.unattributed; // ≤ total
            for (k, theirs) in other.sums.iter().enumerate() {
                let rev = &mut self.sums[k].rev[ours];
                rev.resize(npairs, Exact::default());
                for (p, e) in theirs.rev[group].iter().enumerate() {
                    let r = &mut rev[map[p] as usize];
                    r.whole = r.whole.checked_add(e.whole).ok_or_else(revenue_overflow)?;
                    r.frac += e.frac;
                }
            }
        }
        for (s, o) in self.sums.iter_mut().zip(&other.sums) {
            s.conv.resize(npairs, 0.0);
            s.val.resize(npairs, 0.0);
            for (p, (&c, &v)) in o.conv.iter().zip(&o.val).enumerate() {
                s.conv[map[p] as usize] += c;
                s.val[map[p] as usize] += v;
            }
            s.fallback += o.fallback;
        }
        let (t, o) = (&mut self.totals, other.totals);
        t.conversions += o.conversions;
        t.value += o.value;
        t.unattributed_conversions += o.unattributed_conversions;
        t.unattributed_value += o.unattributed_value;
        Ok(())
    }

    /// The revenue group of values of `scale` (made if new).
    fn group(&mut self, scale: u32) -> usize {
        if let Some(i) = self.groups.iter().position(|g| g.scale == scale) {
            return i;
        }
        self.groups.push(Group {
            scale,
            total: 0,
            unattributed: 0,
        });
        for s in &mut self.sums {
            s.rev.push(Vec::new());
        }
        self.groups.len() - 1
    }

    /// Credits `journeys`, their pair ids mapped by `map` (`None`: they are ours).
    pub(super) fn fold(&mut self, journeys: &Journeys, map: Option<&[u32]>) -> Result<()> {
        let mut weighers = self
            .models
            .iter()
            .map(|m| weigher(journeys, m))
            .collect::<Result<Vec<_>>>()?;
        let npairs = self.names.pairs.list.len();
        for s in &mut self.sums {
            s.conv.resize(npairs, 0.0);
            s.val.resize(npairs, 0.0);
        }
        let minor = self.currency.map_or(0, |c| u32::from(c.minor_units()));
        let mut mapped: Vec<u32> = Vec::with_capacity(32);
        let mut buf: Vec<f64> = Vec::with_capacity(32);
        let mut ints: Vec<u64> = Vec::with_capacity(32);
        let mut start = 0;
        for j in 0..journeys.len() {
            let end = journeys.ends[j];
            let range = start..end;
            start = end;
            let cw = journeys.conversions_of(j);
            // A decimal value is zero exactly when its `f64` is (no underflow: ≥ 1e-28).
            let vf = journeys.value_f64_of(j);
            if cw == 0.0 && vf == 0.0 {
                continue;
            }
            self.totals.conversions += cw;
            self.totals.value += vf;
            let (group, units) = if self.currency.is_some() && vf != 0.0 {
                let value = journeys.value_of(j);
                let scale = self
                    .fixed_scale
                    .unwrap_or_else(|| value.normalize().scale().max(minor));
                let g = self.group(scale);
                let u = units_of(value, scale)?;
                let group = &mut self.groups[g];
                group.total = group.total.checked_add(u).ok_or_else(revenue_overflow)?;
                (g, u)
            } else {
                (0, 0)
            };
            if range.is_empty() {
                self.totals.unattributed_conversions += cw;
                self.totals.unattributed_value += vf;
                if units != 0 {
                    self.groups[group].unattributed += units; // ≤ total
                }
                continue;
            }
            let own = &journeys.touch_pair[range.clone()];
            let pairs = match map {
                Some(map) => {
                    mapped.clear();
                    mapped.extend(own.iter().map(|&p| map[p as usize]));
                    &mapped[..]
                }
                None => own,
            };
            let v = View {
                pairs: own,
                at: &journeys.touch_at[range],
                milestones: journeys.milestone_slice(j),
            };
            for (k, w) in weighers.iter_mut().enumerate() {
                let sums = &mut self.sums[k];
                if self.currency.is_none() {
                    // The positional models skip the weight buffer (same shares).
                    if w.accumulate(v, pairs, (cw, vf), &mut sums.conv, &mut sums.val, &mut buf) {
                        sums.fallback += cw;
                    }
                    continue;
                }
                if w.fill(v, &mut buf) {
                    sums.fallback += cw;
                }
                for (&p, &s) in pairs.iter().zip(&buf) {
                    sums.conv[p as usize] += cw * s;
                    sums.val[p as usize] += vf * s;
                }
                if units != 0 {
                    let d = w.integer_weights(v, &buf, &mut ints);
                    let exact = &mut sums.rev[group];
                    if exact.len() < npairs {
                        exact.resize(npairs, Exact::default());
                    }
                    for (&p, &m) in pairs.iter().zip(&ints) {
                        if m != 0 {
                            exact[p as usize].add(units, m, d)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The attribution of every model, in order: exactly those of
    /// [`Journeys::attribute_all`] (no currency) or
    /// [`Journeys::attribute_all_with_revenue`] over all the batches added.
    ///
    /// # Errors
    /// [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow) when the revenue in
    /// the finest unit reaches 2¹²⁷ or does not fit a [`Decimal`](rust_decimal::Decimal).
    pub fn finish(&self) -> Result<Vec<Attribution>> {
        let units = self.units()?;
        let npairs = self.names.pairs.list.len();
        self.models
            .iter()
            .zip(&self.sums)
            .map(|(model, sums)| {
                let rev = match &units {
                    Some(u) => self.revenue_at(sums, u.scale, npairs)?,
                    None => Vec::new(),
                };
                let mut conv = sums.conv.clone();
                let mut val = sums.val.clone();
                conv.resize(npairs, 0.0);
                val.resize(npairs, 0.0);
                assemble(
                    &self.names,
                    model,
                    units,
                    (&conv, &val, &rev),
                    self.totals,
                    sums.fallback,
                )
            })
            .collect()
    }

    /// The revenue totals in the finest unit of the groups (at least the currency's
    /// minor units); `None` without a currency.
    fn units(&self) -> Result<Option<Units>> {
        let Some(currency) = self.currency else {
            return Ok(None);
        };
        let minor = u32::from(currency.minor_units());
        let scale = self.fixed_scale.unwrap_or_else(|| {
            self.groups
                .iter()
                .map(|g| g.scale)
                .max()
                .unwrap_or(0)
                .max(minor)
        });
        let (mut total, mut unattributed) = (0u128, 0u128);
        for g in &self.groups {
            let p = 10u128
                .checked_pow(scale - g.scale)
                .ok_or_else(revenue_overflow)?;
            let t = g.total.checked_mul(p).filter(|&t| t < 1 << 127);
            total = t
                .and_then(|t| total.checked_add(t))
                .ok_or_else(revenue_overflow)?;
            unattributed += g.unattributed * p; // ≤ total
        }
        Ok(Some(Units {
            currency,
            scale,
            total,
            unattributed,
        }))
    }

    /// One model's exact revenue per pair in units of `10^-scale`.
    fn revenue_at(&self, sums: &ModelSums, scale: u32, npairs: usize) -> Result<Vec<Exact>> {
        let mut out = vec![Exact::default(); npairs];
        for (g, rev) in self.groups.iter().zip(&sums.rev) {
            for (p, e) in rev.iter().enumerate() {
                let e = if g.scale == scale {
                    *e
                } else {
                    rescale(*e, scale - g.scale)?
                };
                let o = &mut out[p];
                o.whole = o.whole.checked_add(e.whole).ok_or_else(revenue_overflow)?;
                o.frac += e.frac;
            }
        }
        Ok(out)
    }
}

/// `e` in units `10^k` times finer: the whole units times `10^k` plus the fraction
/// (in 2⁻⁶⁴) times `10^k`, carried into whole units.
fn rescale(e: Exact, k: u32) -> Result<Exact> {
    let mut whole = e
        .whole
        .checked_add(e.frac >> 64)
        .ok_or_else(revenue_overflow)?;
    let mut frac = e.frac & u128::from(u64::MAX);
    let mut left = k;
    while left > 0 {
        let step = left.min(19);
        let p = 10u128.pow(step);
        whole = whole.checked_mul(p).ok_or_else(revenue_overflow)?;
        let f = frac * p; // < 2⁶⁴ · 10¹⁹ < 2¹²⁸
        whole = whole.checked_add(f >> 64).ok_or_else(revenue_overflow)?;
        frac = f & u128::from(u64::MAX);
        left -= step;
    }
    Ok(Exact { whole, frac })
}

/// Revenue rounded once: per channel (largest remainder over the channels, ties by
/// name), then each channel's over its pairs (ties by campaign, none first).
fn round_revenue(names: &Names, u: &Units, rev: &[Exact]) -> Result<(Vec<u128>, Vec<u128>)> {
    let (nch, npairs) = (names.channels.len(), names.pairs.list.len());
    let mut channel_units = vec![0u128; nch];
    let mut pair_units = vec![0u128; npairs];
    let pairs: Vec<(u128, u64)> = rev.iter().map(|e| e.settle()).collect::<Result<_>>()?;
    let mut sums = vec![Exact::default(); nch];
    for (p, &(c, _)) in names.pairs.list.iter().enumerate() {
        let s = &mut sums[c as usize];
        s.whole = s
            .whole
            .checked_add(rev[p].whole)
            .ok_or_else(revenue_overflow)?;
        s.frac += rev[p].frac;
    }
    let channels: Vec<(u128, u64)> = sums.iter().map(|e| e.settle()).collect::<Result<_>>()?;
    let mut by_name: Vec<usize> = (0..nch).collect();
    by_name.sort_by(|&a, &b| names.channels.names[a].cmp(&names.channels.names[b]));
    round_once(
        &channels,
        &by_name,
        u.total - u.unattributed,
        &mut channel_units,
    );
    // Each channel's pairs, by campaign (none first), grouped by channel.
    let campaign = |p: usize| {
        let k = names.pairs.list[p].1;
        (k != NO_CAMPAIGN).then(|| &names.campaigns.names[k as usize])
    };
    let mut by_pair: Vec<usize> = (0..npairs).collect();
    by_pair.sort_by(|&a, &b| {
        let (ca, cb) = (names.pairs.list[a].0, names.pairs.list[b].0);
        ca.cmp(&cb).then_with(|| campaign(a).cmp(&campaign(b)))
    });
    for group in by_pair.chunk_by(|&a, &b| names.pairs.list[a].0 == names.pairs.list[b].0) {
        let c = names.pairs.list[group[0]].0 as usize;
        round_once(&pairs, group, channel_units[c], &mut pair_units);
    }
    Ok((channel_units, pair_units))
}

/// One model's [`Attribution`] from its sums per pair (`conv`, `val`, exact `rev`).
fn assemble(
    names: &Names,
    model: &RuleModel,
    units: Option<Units>,
    (conv, val, rev): (&[f64], &[f64], &[Exact]),
    totals: Totals,
    fallback_conversions: f64,
) -> Result<Attribution> {
    let (channel_units, pair_units) = match &units {
        Some(u) => round_revenue(names, u, rev)?,
        None => (Vec::new(), Vec::new()),
    };
    let money = |x: u128| units.map(|u| u.money(x)).transpose();
    let mut channels: Vec<ChannelCredit> = names
        .channels
        .names
        .iter()
        .enumerate()
        .map(|(c, name)| {
            Ok(ChannelCredit {
                channel: name.clone(),
                conversions: 0.0,
                value: 0.0,
                revenue: money(channel_units.get(c).copied().unwrap_or(0))?,
            })
        })
        .collect::<Result<_>>()?;
    let mut campaigns: Vec<CampaignCredit> = Vec::with_capacity(conv.len());
    for (p, &(c, k)) in names.pairs.list.iter().enumerate() {
        let ch = &mut channels[c as usize];
        ch.conversions += conv[p];
        ch.value += val[p];
        campaigns.push(CampaignCredit {
            channel: ch.channel.clone(),
            campaign: (k != NO_CAMPAIGN).then(|| names.campaigns.names[k as usize].clone()),
            conversions: conv[p],
            value: val[p],
            revenue: money(pair_units.get(p).copied().unwrap_or(0))?,
        });
    }
    channels.sort_by(|a, b| a.channel.cmp(&b.channel));
    campaigns.sort_by(|a, b| {
        a.channel
            .cmp(&b.channel)
            .then_with(|| a.campaign.cmp(&b.campaign))
    });
    Ok(Attribution {
        model: model.clone(),
        channels,
        campaigns,
        conversions: totals.conversions,
        unattributed_conversions: totals.unattributed_conversions,
        fallback_conversions,
        value: totals.value,
        unattributed_value: totals.unattributed_value,
        revenue: money(units.map_or(0, |u| u.total))?,
        unattributed_revenue: money(units.map_or(0, |u| u.unattributed))?,
    })
}

// ---------------------------------------------------------------------------------
// The serialised partial state (version 1)

const COUNTS: &str = "rule credit counts";

/// A revenue group, with its units as decimal text.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupState {
    scale: u32,
    total: String,
    unattributed: String,
}

/// One model's sums, borrowed.
#[derive(Serialize)]
struct SumsOut<'a> {
    conv: &'a [f64],
    val: &'a [f64],
    rev: Vec<Vec<[String; 2]>>,
    fallback: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SumsIn {
    conv: Vec<f64>,
    val: Vec<f64>,
    rev: Vec<Vec<[String; 2]>>,
    fallback: f64,
}

#[derive(Serialize)]
struct CountsOut<'a> {
    version: StateVersion<1>,
    models: &'a [RuleModel],
    currency: Option<Currency>,
    names: NamesOut<'a>,
    fixed_scale: Option<u32>,
    totals: [f64; 4],
    groups: Vec<GroupState>,
    sums: Vec<SumsOut<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CountsIn {
    #[serde(rename = "version")]
    _version: StateVersion<1>,
    models: Vec<RuleModel>,
    currency: Option<Currency>,
    names: NamesIn,
    fixed_scale: Option<u32>,
    totals: [f64; 4],
    groups: Vec<GroupState>,
    sums: Vec<SumsIn>,
}

/// Revenue units read back: a whole number below 2¹²⁷.
fn units_in(text: &str, what: &str) -> Result<u128> {
    text.parse::<u128>()
        .ok()
        .filter(|&u| u < 1 << 127)
        .ok_or_else(|| {
            bad_state(
                COUNTS,
                format!("{what} {text:?} is not a whole number below 2^127"),
            )
        })
}

impl Serialize for CreditCounts {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let t = self.totals;
        CountsOut {
            version: StateVersion,
            models: &self.models,
            currency: self.currency,
            names: NamesOut::of(&self.names),
            fixed_scale: self.fixed_scale,
            totals: [
                t.conversions,
                t.value,
                t.unattributed_conversions,
                t.unattributed_value,
            ],
            groups: self
                .groups
                .iter()
                .map(|g| GroupState {
                    scale: g.scale,
                    total: g.total.to_string(),
                    unattributed: g.unattributed.to_string(),
                })
                .collect(),
            sums: self
                .sums
                .iter()
                .map(|m| SumsOut {
                    conv: &m.conv,
                    val: &m.val,
                    rev: m
                        .rev
                        .iter()
                        .map(|g| {
                            g.iter()
                                .map(|e| [e.whole.to_string(), e.frac.to_string()])
                                .collect()
                        })
                        .collect(),
                    fallback: m.fallback,
                })
                .collect(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for CreditCounts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let state = CountsIn::deserialize(d)?;
        CreditCounts::from_state(state).map_err(serde::de::Error::custom)
    }
}

impl CreditCounts {
    /// A tally from its serialised state, checked.
    fn from_state(st: CountsIn) -> Result<CreditCounts> {
        let mut c = CreditCounts::new(st.models, st.currency)?;
        c.names = st.names.names(COUNTS)?;
        c.fixed_scale = st.fixed_scale;
        let [
            conversions,
            value,
            unattributed_conversions,
            unattributed_value,
        ] = st.totals;
        for (what, x) in [
            ("conversions", conversions),
            ("value", value),
            ("unattributed conversions", unattributed_conversions),
            ("unattributed value", unattributed_value),
        ] {
            check_count(COUNTS, what, x)?;
        }
        c.totals = Totals {
            conversions,
            value,
            unattributed_conversions,
            unattributed_value,
        };
        for g in &st.groups {
            let (total, unattributed) = (
                units_in(&g.total, "a group's total")?,
                units_in(&g.unattributed, "a group's unattributed revenue")?,
            );
            if unattributed > total {
                return Err(bad_state(
                    COUNTS,
                    "a revenue group has more unattributed revenue than its total",
                ));
            }
            if g.scale > 28 || c.groups.iter().any(|o| o.scale == g.scale) {
                return Err(bad_state(
                    COUNTS,
                    format!(
                        "revenue group scale {} is above 28 or listed twice",
                        g.scale
                    ),
                ));
            }
            c.groups.push(Group {
                scale: g.scale,
                total,
                unattributed,
            });
        }
        if st.sums.len() != c.models.len() {
            return Err(bad_state(
                COUNTS,
                format!("{} sums for {} models", st.sums.len(), c.models.len()),
            ));
        }
        let npairs = c.names.pairs.list.len();
        let ngroups = c.groups.len();
        c.sums = st
            .sums
            .into_iter()
            .map(|m| ModelSums::from_state(m, npairs, ngroups))
            .collect::<Result<_>>()?;
        Ok(c)
    }
}

impl ModelSums {
    /// One model's sums read back: at most one per pair, finite and non-negative,
    /// one revenue list per group.
    fn from_state(m: SumsIn, npairs: usize, ngroups: usize) -> Result<ModelSums> {
        if m.conv.len() > npairs || m.val.len() > npairs {
            return Err(bad_state(
                COUNTS,
                format!("more sums than the {npairs} pairs"),
            ));
        }
        for &x in m.conv.iter().chain(&m.val) {
            check_count(COUNTS, "a credited sum", x)?;
        }
        check_count(COUNTS, "fallback conversions", m.fallback)?;
        if m.rev.len() != ngroups || m.rev.iter().any(|g| g.len() > npairs) {
            return Err(bad_state(
                COUNTS,
                format!("revenue sums do not match the {ngroups} groups and {npairs} pairs"),
            ));
        }
        let rev = m
            .rev
            .iter()
            .map(|g| {
                g.iter()
                    .map(|[whole, frac]| {
                        Ok(Exact {
                            whole: units_in(whole, "a revenue part")?,
                            frac: units_in(frac, "a revenue fraction")?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<_>>()?;
        Ok(ModelSums {
            conv: m.conv,
            val: m.val,
            rev,
            fallback: m.fallback,
        })
    }
}

/// A batch of journeys is the record; the output is every model's attribution.
/// Unlike the contract's rule, a batch refused part way leaves part of it in the
/// tally (as [`CreditCounts::add_journeys`] says): discard the tally then.
impl Accumulator for CreditCounts {
    type Item = Journeys;
    type Output = Vec<Attribution>;
    const STATE_VERSION: u32 = 1;

    fn add(&mut self, item: &Journeys) -> Result<()> {
        self.add_journeys(item)
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        CreditCounts::merge(self, other)
    }

    fn finish(&self) -> Result<Vec<Attribution>> {
        CreditCounts::finish(self)
    }
}
