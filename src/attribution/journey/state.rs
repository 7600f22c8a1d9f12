//! The serialised partial states of [`JourneyBuilder`] and [`Journeys`] (version 1):
//! interned ids travel as their tables (names) plus indices; reading a state back
//! checks every index, count, time and name, so a malformed or hostile state is an
//! error, never a panic later.

use std::sync::Arc;

use chrono::DateTime;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{
    CONVERTED, CurrencySource, JourneyBuilder, JourneyDiagnostics, JourneyOptions, Journeys,
    NO_CAMPAIGN, NO_SUBJECT, NO_TIME, NO_VALUE, NOT_CONVERTED, Names, RawConversion, RawEvent,
    SubjectNames,
};
use crate::accumulate::StateVersion;
use crate::attribution::state::{bad_state, check_count, check_index};
use crate::error::{RecordRef, Result};
use crate::ids::{CampaignId, Channel, SubjectId};
use crate::money::Currency;

const BUILDER: &str = "journey builder";
const JOURNEYS: &str = "journeys";

/// Which record set the currency: `conversion` (with its position and subject),
/// `option` (declared) or `path rows`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CurrencyState {
    currency: Currency,
    source: String,
    index: Option<usize>,
    id: Option<String>,
}

impl CurrencyState {
    fn of(c: &CurrencySource) -> Self {
        CurrencyState {
            currency: c.currency,
            source: c.record.kind.to_string(),
            index: c.record.index,
            id: c.record.id.clone(),
        }
    }

    fn source(self, state: &'static str) -> Result<CurrencySource> {
        let kind = match self.source.as_str() {
            "conversion" => "conversion",
            "option" => "option",
            "path rows" => "path rows",
            other => {
                return Err(bad_state(
                    state,
                    format!("unknown currency source {other:?}"),
                ));
            }
        };
        let mut record = RecordRef::new(kind);
        record.index = self.index;
        record.id = self.id;
        Ok(CurrencySource {
            currency: self.currency,
            record,
        })
    }
}

/// The name tables, borrowed (also the names of a [`CreditCounts`](crate::attribution::CreditCounts) state).
#[derive(Serialize)]
pub(in crate::attribution) struct NamesOut<'a> {
    channels: &'a [Channel],
    campaigns: &'a [CampaignId],
    /// (channel, campaign or `null`).
    pairs: Vec<(u32, Option<u32>)>,
    stages: &'a [String],
}

impl<'a> NamesOut<'a> {
    pub(in crate::attribution) fn of(n: &'a Names) -> Self {
        NamesOut {
            channels: &n.channels.names,
            campaigns: &n.campaigns.names,
            pairs: n
                .pairs
                .list
                .iter()
                .map(|&(c, k)| (c, (k != NO_CAMPAIGN).then_some(k)))
                .collect(),
            stages: &n.stages.names,
        }
    }
}

/// The name tables read back (checked by [`NamesIn::names`]).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::attribution) struct NamesIn {
    channels: Vec<Channel>,
    campaigns: Vec<CampaignId>,
    pairs: Vec<(u32, Option<u32>)>,
    stages: Vec<String>,
}

impl NamesIn {
    pub(in crate::attribution) fn names(self, state: &'static str) -> Result<Names> {
        let mut n = Names::default();
        for c in &self.channels {
            if n.channels.intern(c)? as usize != n.channels.len() - 1 {
                return Err(bad_state(state, format!("channel {c} is listed twice")));
            }
        }
        for k in &self.campaigns {
            if n.campaigns.intern(k)? as usize != n.campaigns.len() - 1 {
                return Err(bad_state(state, format!("campaign {k} is listed twice")));
            }
        }
        for s in &self.stages {
            if s.trim().is_empty() || n.stages.intern(s)? as usize != n.stages.len() - 1 {
                return Err(bad_state(
                    state,
                    format!("stage {s:?} is empty or listed twice"),
                ));
            }
        }
        for &(c, k) in &self.pairs {
            check_index(state, "channel", c, n.channels.len())?;
            let k = match k {
                Some(k) => {
                    check_index(state, "campaign", k, n.campaigns.len())?;
                    k
                }
                None => NO_CAMPAIGN,
            };
            if n.pairs.intern((c, k)) as usize != n.pairs.list.len() - 1 {
                return Err(bad_state(
                    state,
                    "a (channel, campaign) pair is listed twice",
                ));
            }
        }
        Ok(n)
    }
}

fn check_subject(state: &'static str, name: &str) -> Result<()> {
    match SubjectId::new(name) {
        Ok(id) if id.as_str() == name => Ok(()),
        _ => Err(bad_state(
            state,
            format!("subject {name:?} is not a valid id"),
        )),
    }
}

fn check_time(state: &'static str, at: i64) -> Result<()> {
    if DateTime::from_timestamp_micros(at).is_some() {
        Ok(())
    } else {
        Err(bad_state(state, format!("time {at} µs is out of range")))
    }
}

fn check_value(state: &'static str, v: Decimal) -> Result<()> {
    if v.is_sign_negative() && !v.is_zero() {
        return Err(bad_state(state, format!("a negative value {v}")));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// JourneyBuilder

#[derive(Serialize)]
struct BuilderOut<'a> {
    version: StateVersion<1>,
    options: &'a JourneyOptions,
    subjects: Vec<&'a str>,
    names: NamesOut<'a>,
    touch_at: &'a [i64],
    touch_subject: &'a [u32],
    touch_pair: &'a [u32],
    /// (time, subject, value, position).
    conversions: Vec<(i64, u32, Decimal, u64)>,
    /// (time, subject, stage).
    stage_events: Vec<(i64, u32, u32)>,
    currency: Option<CurrencyState>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BuilderIn {
    #[serde(rename = "version")]
    _version: StateVersion<1>,
    options: JourneyOptions,
    subjects: Vec<String>,
    names: NamesIn,
    touch_at: Vec<i64>,
    touch_subject: Vec<u32>,
    touch_pair: Vec<u32>,
    conversions: Vec<(i64, u32, Decimal, u64)>,
    stage_events: Vec<(i64, u32, u32)>,
    currency: Option<CurrencyState>,
}

impl Serialize for JourneyBuilder {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        BuilderOut {
            version: StateVersion,
            options: &self.options,
            subjects: (0..self.subjects.len() as u32)
                .map(|i| self.subjects.name(i))
                .collect(),
            names: NamesOut::of(&self.names),
            touch_at: &self.touch_at,
            touch_subject: &self.touch_subject,
            touch_pair: &self.touch_pair,
            conversions: self
                .conversions
                .iter()
                .map(|c| (c.at, c.subject, c.value, c.index))
                .collect(),
            stage_events: self
                .events
                .iter()
                .map(|e| (e.at, e.subject, e.stage))
                .collect(),
            currency: self.currency.as_ref().map(CurrencyState::of),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for JourneyBuilder {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let st = BuilderIn::deserialize(d)?;
        JourneyBuilder::from_state(st).map_err(serde::de::Error::custom)
    }
}

impl JourneyBuilder {
    fn from_state(st: BuilderIn) -> Result<Self> {
        let mut b = JourneyBuilder::new(st.options)?;
        b.names = st.names.names(BUILDER)?;
        for (i, name) in st.subjects.iter().enumerate() {
            check_subject(BUILDER, name)?;
            if b.subjects.intern(name, i as u32)? as usize != i {
                return Err(bad_state(
                    BUILDER,
                    format!("subject {name:?} is listed twice"),
                ));
            }
        }
        let (subjects, pairs, stages) = (
            b.subjects.len(),
            b.names.pairs.list.len(),
            b.names.stages.len(),
        );
        let n = st.touch_at.len();
        if st.touch_subject.len() != n || st.touch_pair.len() != n {
            return Err(bad_state(BUILDER, "the touch arrays differ in length"));
        }
        for i in 0..n {
            check_time(BUILDER, st.touch_at[i])?;
            check_index(BUILDER, "subject", st.touch_subject[i], subjects)?;
            check_index(BUILDER, "pair", st.touch_pair[i], pairs)?;
        }
        for &(at, subject, value, index) in &st.conversions {
            check_time(BUILDER, at)?;
            check_index(BUILDER, "subject", subject, subjects)?;
            check_value(BUILDER, value)?;
            if index >= st.conversions.len() as u64 {
                return Err(bad_state(BUILDER, format!("conversion position {index}")));
            }
            b.conversions.push(RawConversion {
                at,
                subject,
                value,
                index,
            });
        }
        for &(at, subject, stage) in &st.stage_events {
            check_time(BUILDER, at)?;
            check_index(BUILDER, "subject", subject, subjects)?;
            check_index(BUILDER, "stage", stage, stages)?;
            b.events.push(RawEvent { at, subject, stage });
        }
        b.currency = st.currency.map(|c| c.source(BUILDER)).transpose()?;
        b.touches_read = n as u64;
        b.conversions_read = b.conversions.len() as u64;
        b.events_read = b.events.len() as u64;
        b.touch_at = st.touch_at;
        b.touch_subject = st.touch_subject;
        b.touch_pair = st.touch_pair;
        Ok(b)
    }
}

// ---------------------------------------------------------------------------------
// Journeys

/// A journey's weights in the serialised form: `-1` for (1, 0), `-2` for (0, 1),
/// otherwise the slot in `weights`.
fn weight_code(w: u32) -> i64 {
    match w {
        CONVERTED => -1,
        NOT_CONVERTED => -2,
        w => i64::from(w),
    }
}

#[derive(Serialize)]
struct JourneysOut<'a> {
    version: StateVersion<1>,
    options: &'a JourneyOptions,
    subjects: Vec<&'a str>,
    names: NamesOut<'a>,
    ends: &'a [usize],
    subject: Vec<Option<u32>>,
    end_at: Vec<Option<i64>>,
    weight: Vec<i64>,
    weights: &'a [(f64, f64)],
    value_slot: Vec<Option<u32>>,
    values: Vec<Decimal>,
    ms_ends: &'a [usize],
    milestones: &'a [(u32, u32)],
    touch_pair: &'a [u32],
    touch_at: Vec<Option<i64>>,
    stage_events: u64,
    currency: Option<CurrencyState>,
    diagnostics: &'a JourneyDiagnostics,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JourneysIn {
    #[serde(rename = "version")]
    _version: StateVersion<1>,
    options: JourneyOptions,
    subjects: Vec<String>,
    names: NamesIn,
    ends: Vec<usize>,
    subject: Vec<Option<u32>>,
    end_at: Vec<Option<i64>>,
    weight: Vec<i64>,
    weights: Vec<(f64, f64)>,
    value_slot: Vec<Option<u32>>,
    values: Vec<Decimal>,
    ms_ends: Vec<usize>,
    milestones: Vec<(u32, u32)>,
    touch_pair: Vec<u32>,
    touch_at: Vec<Option<i64>>,
    stage_events: u64,
    currency: Option<CurrencyState>,
    diagnostics: JourneyDiagnostics,
}

fn time_code(t: i64) -> Option<i64> {
    (t != NO_TIME).then_some(t)
}

impl Serialize for Journeys {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        JourneysOut {
            version: StateVersion,
            options: &self.options,
            subjects: (0..self.subject_names.len())
                .map(|i| self.subject_names.get(i))
                .collect(),
            names: NamesOut::of(&self.names),
            ends: &self.ends,
            subject: self
                .subject
                .iter()
                .map(|&s| (s != NO_SUBJECT).then_some(s))
                .collect(),
            end_at: self.end_at.iter().map(|&t| time_code(t)).collect(),
            weight: self.weight.iter().map(|&w| weight_code(w)).collect(),
            weights: &self.weights,
            value_slot: self
                .value_slot
                .iter()
                .map(|&v| (v != NO_VALUE).then_some(v))
                .collect(),
            values: self.values.iter().map(|v| v.0).collect(),
            ms_ends: &self.ms_ends,
            milestones: &self.milestones,
            touch_pair: &self.touch_pair,
            touch_at: self.touch_at.iter().map(|&t| time_code(t)).collect(),
            stage_events: self.stage_events,
            currency: self.currency.as_ref().map(CurrencyState::of),
            diagnostics: &self.diagnostics,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Journeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let st = JourneysIn::deserialize(d)?;
        Journeys::from_state(st).map_err(serde::de::Error::custom)
    }
}

/// Checks that `ends` are the non-decreasing ends of consecutive ranges covering
/// exactly `total` entries.
fn check_ends(ends: &[usize], total: usize, what: &str) -> Result<()> {
    let mut prev = 0;
    for &e in ends {
        if e < prev {
            return Err(bad_state(JOURNEYS, format!("the {what} ends decrease")));
        }
        prev = e;
    }
    if prev != total {
        return Err(bad_state(
            JOURNEYS,
            format!("the {what} ends stop at {prev}, not at the {total} entries"),
        ));
    }
    Ok(())
}

impl Journeys {
    fn from_state(mut st: JourneysIn) -> Result<Self> {
        let mut j = Journeys::new(st.options.clone())?;
        let names = std::mem::replace(
            &mut st.names,
            NamesIn {
                channels: Vec::new(),
                campaigns: Vec::new(),
                pairs: Vec::new(),
                stages: Vec::new(),
            },
        );
        j.names = names.names(JOURNEYS)?;
        let mut names = SubjectNames::default();
        for name in &st.subjects {
            check_subject(JOURNEYS, name)?;
            names.push(name);
        }
        let n = st.ends.len();
        if [
            st.subject.len(),
            st.end_at.len(),
            st.weight.len(),
            st.value_slot.len(),
        ]
        .iter()
        .any(|&l| l != n)
            || st.touch_at.len() != st.touch_pair.len()
            || (!st.ms_ends.is_empty() && st.ms_ends.len() != n)
        {
            return Err(bad_state(
                JOURNEYS,
                "the per-journey or per-touch arrays differ in length",
            ));
        }
        if n >= NOT_CONVERTED as usize || st.values.len() >= NO_VALUE as usize {
            return Err(bad_state(JOURNEYS, "too many journeys for one set"));
        }
        check_ends(&st.ends, st.touch_pair.len(), "touch")?;
        if !st.ms_ends.is_empty() {
            check_ends(&st.ms_ends, st.milestones.len(), "milestone")?;
        } else if !st.milestones.is_empty() {
            return Err(bad_state(JOURNEYS, "milestones without their ends"));
        }
        for &p in &st.touch_pair {
            check_index(JOURNEYS, "pair", p, j.names.pairs.list.len())?;
        }
        for &(c, n) in &st.weights {
            check_count(JOURNEYS, "conversions", c)?;
            check_count(JOURNEYS, "nulls", n)?;
        }
        for &v in &st.values {
            check_value(JOURNEYS, v)?;
        }
        j.subject_names = Arc::new(names);
        j.weights = std::mem::take(&mut st.weights);
        j.values = st
            .values
            .iter()
            .map(|&v| (v, v.to_f64().unwrap_or(0.0)))
            .collect();
        for i in 0..n {
            j.check_journey(&st, i)?;
        }
        j.ends = st.ends;
        j.ms_ends = st.ms_ends;
        j.milestones = st.milestones;
        j.touch_pair = st.touch_pair;
        j.touch_at = st.touch_at.iter().map(|t| t.unwrap_or(NO_TIME)).collect();
        j.untimed = j.subject.iter().filter(|&&s| s == NO_SUBJECT).count();
        j.stage_events = st.stage_events;
        j.currency = st.currency.map(|c| c.source(JOURNEYS)).transpose()?;
        j.diagnostics = st.diagnostics;
        j.pair_channel = j.names.pairs.list.iter().map(|p| p.0).collect();
        Ok(j)
    }

    /// Checks journey `i` of a state read back and appends its per-journey entries
    /// (subject, end, weights, value slot), summing its value.
    fn check_journey(&mut self, st: &JourneysIn, i: usize) -> Result<()> {
        let start = if i == 0 { 0 } else { st.ends[i - 1] };
        let touches = &st.touch_at[start..st.ends[i]];
        let subject = match st.subject[i] {
            Some(s) => {
                check_index(JOURNEYS, "subject", s, self.subject_names.len())?;
                // Journeys of subjects are cut from timed records, in time order.
                let mut prev = i64::MIN;
                for t in touches {
                    let t =
                        t.ok_or_else(|| bad_state(JOURNEYS, "a subject's touch without time"))?;
                    check_time(JOURNEYS, t)?;
                    if t < prev {
                        return Err(bad_state(
                            JOURNEYS,
                            "a journey's touches are not in time order",
                        ));
                    }
                    prev = t;
                }
                if let Some(t) = st.end_at[i] {
                    check_time(JOURNEYS, t)?;
                }
                s
            }
            None => {
                // Journeys of path rows have no times.
                if touches.iter().any(Option::is_some) || st.end_at[i].is_some() {
                    return Err(bad_state(JOURNEYS, "a journey without subject has times"));
                }
                NO_SUBJECT
            }
        };
        let weight = match st.weight[i] {
            -1 => CONVERTED,
            -2 => NOT_CONVERTED,
            w if w >= 0 && (w as u64) < self.weights.len() as u64 => w as u32,
            w => {
                return Err(bad_state(
                    JOURNEYS,
                    format!("weight slot {w} is out of range"),
                ));
            }
        };
        let value_slot = match st.value_slot[i] {
            Some(v) => {
                check_index(JOURNEYS, "value", v, self.values.len())?;
                self.value_total = self
                    .value_total
                    .checked_add(self.values[v as usize].0)
                    .ok_or_else(|| bad_state(JOURNEYS, "the values overflow a decimal"))?;
                v
            }
            None => NO_VALUE,
        };
        if !st.ms_ends.is_empty() {
            let ms_start = if i == 0 { 0 } else { st.ms_ends[i - 1] };
            for &(stage, pos) in &st.milestones[ms_start..st.ms_ends[i]] {
                check_index(JOURNEYS, "stage", stage, self.names.stages.len())?;
                check_index(JOURNEYS, "milestone touch", pos, touches.len())?;
            }
        }
        self.subject.push(subject);
        self.end_at.push(st.end_at[i].unwrap_or(NO_TIME));
        self.weight.push(weight);
        self.value_slot.push(value_slot);
        Ok(())
    }
}
