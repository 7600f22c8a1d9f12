//! Markov-chain attribution by removal effect, solved exactly: the conventions are
//! documented on [`markov_attribution`].

use crate::error::ErrorKind;
use std::cmp::Ordering;
use std::fmt;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use super::state::{bad_state, check_count, check_index, options_differ};
use crate::accumulate::{Accumulator, StateVersion};
use crate::attribution::Journeys;
use crate::attribution::shapley::split_money;
use crate::error::{Error, RecordRef, Result};
use crate::hash::FastMap;
use crate::ids::Channel;
use crate::money::{Currency, Money};
use crate::records::PathRow;

/// How consecutive repeats of a state are treated.
///
/// ```
/// use revops::{Channel, Decimal, attribution::MarkovOptions, attribution::MarkovRepeats, PathRow, attribution::markov_attribution};
/// # fn main() -> Result<(), revops::Error> {
/// let rows = [PathRow::new(vec![Channel::new("a")?, Channel::new("a")?], 1.0, Decimal::ZERO, 1.0)];
/// let kept = markov_attribution(&rows, MarkovOptions::default().with_repeats(MarkovRepeats::Keep))?;
/// assert!(kept.transitions.iter().any(|t| t.from == 1 && t.to == 1)); // a → a
/// let collapsed = markov_attribution(&rows, MarkovOptions::default())?;
/// assert!(collapsed.transitions.iter().all(|t| t.from != t.to));
/// assert_eq!(kept.p_conversion, collapsed.p_conversion);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkovRepeats {
    /// **Default.** States are formed from the path as given (for order `k`, its
    /// `k`-windows), then consecutive identical states are merged into one visit:
    /// no self-loops. This is ChannelAttribution's rule at every order; at order 1,
    /// `a > a > b` is `a > b`.
    #[default]
    Collapse,
    /// Consecutive repeats of a *channel* are merged before the states are formed,
    /// so at order `k ≥ 2` the window `(a, a)` never appears: `a > a > b` is `a > b`
    /// at every order. Same as `Collapse` at order 1.
    CollapseChannels,
    /// Every touch is a step; repeats become self-loops. Self-loops do not change
    /// the unlimited-horizon probabilities (a state's exits keep their proportions),
    /// but they change the reported transition matrix and count as steps under a
    /// [`MarkovStepLimit`].
    Keep,
}

/// Whether non-converting journeys (the `nulls` column) shape the chain.
///
/// ```
/// use revops::{Channel, Decimal, attribution::MarkovNulls, attribution::MarkovOptions, PathRow, attribution::markov_attribution};
/// # fn main() -> Result<(), revops::Error> {
/// let rows = [PathRow::new(vec![Channel::new("a")?], 1.0, Decimal::ZERO, 3.0)];
/// let with = markov_attribution(&rows, MarkovOptions::default())?;
/// let without = markov_attribution(&rows, MarkovOptions::default().with_nulls(MarkovNulls::Exclude))?;
/// assert_eq!((with.p_conversion, without.p_conversion), (0.25, 1.0));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkovNulls {
    /// **Default.** Non-converting journeys add their hops and a final hop to
    /// `(null)`.
    #[default]
    Include,
    /// The `nulls` column is read as zero: only converting journeys are counted
    /// (ChannelAttribution without `var_null`).
    Exclude,
}

/// How many states a walk may visit before it must have converted.
///
/// ```
/// use revops::{Channel, Decimal, attribution::MarkovOptions, attribution::MarkovStepLimit, PathRow, attribution::markov_attribution};
/// # fn main() -> Result<(), revops::Error> {
/// let ch = |s: &str| Channel::new(s);
/// // a loops back to itself through b: a → conv, b, null with 1/3 each; b → a.
/// let rows = [
///     PathRow::new(vec![ch("a")?], 1.0, Decimal::ZERO, 0.0),
///     PathRow::new(vec![ch("a")?, ch("b")?, ch("a")?], 0.0, Decimal::ZERO, 1.0),
/// ];
/// let limit = |l| markov_attribution(&rows, MarkovOptions::default().with_step_limit(l));
/// assert!((limit(MarkovStepLimit::Unlimited)?.p_conversion - 0.5).abs() < 1e-15);
/// assert!((limit(MarkovStepLimit::Steps(1))?.p_conversion - 1.0 / 3.0).abs() < 1e-15);
/// // longest row: 3 states, so ChannelAttribution's default limit is 4
/// assert_eq!(limit(MarkovStepLimit::LongestPath)?.step_limit, Some(4));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkovStepLimit {
    /// **Default.** No limit: the exact absorbing-chain solution.
    #[default]
    Unlimited,
    /// A walk converts only if it reaches `(conversion)` after visiting at most this
    /// many states (ChannelAttribution's `max_step`: a simulated path still
    /// wandering after that many steps counts as not converting).
    Steps(u32),
    /// The limit ChannelAttribution uses when `max_step` is not given: the largest
    /// number of states of any row added (after the repeat policy), plus one.
    LongestPath,
}

/// Options of the Markov model; `Default` is order 1, collapsed repeats,
/// non-converting journeys included, no step limit.
///
/// ```
/// use revops::{attribution::MarkovNulls, attribution::MarkovOptions, attribution::MarkovRepeats, attribution::MarkovStepLimit};
/// let o = MarkovOptions::default()
///     .with_order(2)
///     .with_repeats(MarkovRepeats::Keep)
///     .with_nulls(MarkovNulls::Exclude)
///     .with_step_limit(MarkovStepLimit::LongestPath);
/// assert_eq!(o.order, 2);
/// assert_eq!(MarkovOptions::default().order, 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MarkovOptions {
    /// Order `k ≥ 1` of the chain: a state is `k` consecutive channels (default 1).
    pub order: usize,
    /// Consecutive repeats (default [`MarkovRepeats::Collapse`]).
    pub repeats: MarkovRepeats,
    /// Non-converting journeys (default [`MarkovNulls::Include`]).
    pub nulls: MarkovNulls,
    /// Step limit (default [`MarkovStepLimit::Unlimited`]).
    pub step_limit: MarkovStepLimit,
    /// Most transient states (channel states of the chain, `(start)` excluded) that
    /// [`MarkovCounts::finish`] solves; default
    /// [`MarkovOptions::DEFAULT_MAX_STATES`] (5,000). The exact solution factorises
    /// a dense `m × m` matrix and inverts it (`m` states): memory `16·m²` bytes and
    /// time growing as `m³`. At the default that is at most about 400 MB and well
    /// under a few seconds; 16,000 states take 3 GB and 20 s, 100,000 would need
    /// 80 GB. Beyond the limit `finish` returns [`ErrorKind::LimitExceeded`](crate::error::ErrorKind::LimitExceeded) before
    /// allocating the matrix; raise it if the machine can afford it.
    #[serde(default = "default_max_states")]
    pub max_states: usize,
}

fn default_max_states() -> usize {
    MarkovOptions::DEFAULT_MAX_STATES
}

impl Default for MarkovOptions {
    fn default() -> Self {
        MarkovOptions {
            order: 1,
            repeats: MarkovRepeats::default(),
            nulls: MarkovNulls::default(),
            step_limit: MarkovStepLimit::default(),
            max_states: Self::DEFAULT_MAX_STATES,
        }
    }
}

impl MarkovOptions {
    /// Default of [`MarkovOptions::max_states`]: 5,000 states (dense solve: about
    /// 400 MB, under a second or so).
    pub const DEFAULT_MAX_STATES: usize = 5_000;

    /// Sets the most states solved ([`MarkovOptions::max_states`]).
    #[must_use]
    pub fn with_max_states(mut self, max_states: usize) -> Self {
        self.max_states = max_states;
        self
    }

    /// Sets the order (checked by [`MarkovCounts::new`]: at least 1).
    #[must_use]
    pub fn with_order(mut self, order: usize) -> Self {
        self.order = order;
        self
    }

    /// Sets the repeat policy.
    #[must_use]
    pub fn with_repeats(mut self, repeats: MarkovRepeats) -> Self {
        self.repeats = repeats;
        self
    }

    /// Sets whether non-converting journeys are counted.
    #[must_use]
    pub fn with_nulls(mut self, nulls: MarkovNulls) -> Self {
        self.nulls = nulls;
        self
    }

    /// Sets the step limit.
    #[must_use]
    pub fn with_step_limit(mut self, step_limit: MarkovStepLimit) -> Self {
        self.step_limit = step_limit;
        self
    }

    fn validate(&self) -> Result<()> {
        if self.order == 0 {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "order",
                value: "0".into(),
                reason: "a Markov chain has order 1 or more".into(),
            }));
        }
        if self.step_limit == MarkovStepLimit::Steps(0) {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "step_limit",
                value: "0".into(),
                reason: "with a limit of 0 steps nothing can convert; use 1 or more".into(),
            }));
        }
        Ok(())
    }
}

/// A state of the chain.
///
/// ```
/// use revops::{Channel, attribution::MarkovState};
/// # fn main() -> Result<(), revops::Error> {
/// let s = MarkovState::Channels(vec![Channel::new("email")?, Channel::new("search")?]);
/// assert_eq!(s.to_string(), "email > search");
/// assert_eq!(MarkovState::Conversion.to_string(), "(conversion)");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkovState {
    /// Where every journey begins.
    Start,
    /// A transient state: one channel (order 1) or up to `k` consecutive channels.
    Channels(Vec<Channel>),
    /// Absorbing: the journey converted.
    Conversion,
    /// Absorbing: the journey ended without converting (or its channel was removed).
    Null,
}

impl fmt::Display for MarkovState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MarkovState::Start => f.write_str("(start)"),
            MarkovState::Conversion => f.write_str("(conversion)"),
            MarkovState::Null => f.write_str("(null)"),
            MarkovState::Channels(cs) => {
                for (i, c) in cs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" > ")?;
                    }
                    f.write_str(c.as_str())?;
                }
                Ok(())
            }
        }
    }
}

/// One observed transition of the chain, between two entries of
/// [`MarkovReport::states`].
///
/// ```
/// use revops::{Channel, Decimal, attribution::MarkovOptions, attribution::MarkovState, PathRow, attribution::markov_attribution};
/// # fn main() -> Result<(), revops::Error> {
/// let rows = [PathRow::new(vec![Channel::new("a")?], 1.0, Decimal::ZERO, 3.0)];
/// let r = markov_attribution(&rows, MarkovOptions::default())?;
/// let t = r.transitions.iter().find(|t| r.states[t.to] == MarkovState::Null).unwrap();
/// assert_eq!((t.count, t.probability), (3.0, 0.75));
/// assert_eq!(r.states[t.from].to_string(), "a");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MarkovTransition {
    /// Index of the origin state in [`MarkovReport::states`].
    pub from: usize,
    /// Index of the destination state in [`MarkovReport::states`].
    pub to: usize,
    /// The summed weight of the transition (journeys, possibly fractional).
    pub count: f64,
    /// `count` divided by the origin's total outgoing count.
    pub probability: f64,
}

/// The Markov model's result for one channel.
///
/// ```
/// use revops::{Channel, Decimal, attribution::MarkovOptions, PathRow, attribution::markov_attribution};
/// # fn main() -> Result<(), revops::Error> {
/// let ch = |s: &str| Channel::new(s);
/// let rows = [
///     PathRow::new(vec![ch("a")?, ch("b")?], 1.0, Decimal::new(90, 0), 0.0),
///     PathRow::new(vec![ch("b")?], 1.0, Decimal::new(30, 0), 0.0),
/// ];
/// let r = markov_attribution(&rows, MarkovOptions::default())?;
/// let a = r.channel("a").unwrap();
/// // half of the conversions pass through a; all pass through b
/// assert_eq!((a.removal_effect, a.p_conversion_without), (0.5, 0.5));
/// assert!((a.share - 1.0 / 3.0).abs() < 1e-15);
/// assert!((a.conversions - 2.0 / 3.0).abs() < 1e-15);
/// assert!((a.value - 40.0).abs() < 1e-12);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarkovChannel {
    /// The channel.
    pub channel: Channel,
    /// `RE = 1 − P(conversion without the channel) / P(conversion)`, in \[0, 1\].
    pub removal_effect: f64,
    /// `P(conversion)` once the channel is removed.
    pub p_conversion_without: f64,
    /// `RE / Σ RE` over all channels (0 when no channel has an effect).
    pub share: f64,
    /// `share × total conversions`.
    pub conversions: f64,
    /// `share × total value` (as `f64`; see [`MarkovReport::value_split`] for exact
    /// money).
    pub value: f64,
}

/// The solved Markov model.
///
/// ```
/// use revops::{Channel, Decimal, attribution::MarkovOptions, attribution::MarkovState, PathRow, attribution::markov_attribution};
/// # fn main() -> Result<(), revops::Error> {
/// let rows = [PathRow::new(vec![Channel::new("a")?, Channel::new("b")?], 2.0, Decimal::new(10, 0), 2.0)];
/// let r = markov_attribution(&rows, MarkovOptions::default())?;
/// assert_eq!(r.p_conversion, 0.5);
/// let labels: Vec<String> = r.states.iter().map(ToString::to_string).collect();
/// assert_eq!(labels, ["(start)", "a", "b", "(conversion)", "(null)"]);
/// assert_eq!((r.total_conversions, r.total_nulls), (2.0, 2.0));
/// assert_eq!(r.step_limit, None);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarkovReport {
    /// The options the chain was built with.
    pub options: MarkovOptions,
    /// The states: `(start)` first, then the transient states sorted by their channel
    /// names, then `(conversion)` and `(null)` last.
    pub states: Vec<MarkovState>,
    /// Observed transitions, sorted by origin then destination index.
    pub transitions: Vec<MarkovTransition>,
    /// Probability that a walk from `(start)` converts (within the step limit).
    pub p_conversion: f64,
    /// The step limit applied (`None`: unlimited).
    pub step_limit: Option<u32>,
    /// One entry per channel seen, sorted by name.
    pub channels: Vec<MarkovChannel>,
    /// Sum of the rows' conversions.
    pub total_conversions: f64,
    /// Sum of the rows' nulls (as given, even under [`MarkovNulls::Exclude`]).
    pub total_nulls: f64,
    /// Sum of the rows' values (exact).
    pub total_value: Decimal,
}

impl MarkovReport {
    /// The entry of a channel, by name.
    ///
    /// ```
    /// use revops::{Channel, Decimal, attribution::MarkovOptions, PathRow, attribution::markov_attribution};
    /// # fn main() -> Result<(), revops::Error> {
    /// let rows = [PathRow::new(vec![Channel::new("email")?], 1.0, Decimal::ONE, 1.0)];
    /// let r = markov_attribution(&rows, MarkovOptions::default())?;
    /// assert_eq!(r.channel("email").unwrap().share, 1.0);
    /// assert!(r.channel("tv").is_none());
    /// # Ok(()) }
    /// ```
    pub fn channel(&self, name: &str) -> Option<&MarkovChannel> {
        self.channels
            .binary_search_by(|c| c.channel.as_str().cmp(name))
            .ok()
            .map(|i| &self.channels[i])
    }

    /// The total value split over the channels by their shares, as exact money whose
    /// parts (aligned with [`MarkovReport::channels`]) sum exactly to the total (see
    /// [`Money::allocate_f64`] for the method).
    ///
    /// ```
    /// use revops::{Channel, Currency, Decimal, attribution::MarkovOptions, Money, PathRow, attribution::markov_attribution};
    /// # fn main() -> Result<(), revops::Error> {
    /// let ch = |s: &str| Channel::new(s);
    /// let rows = [
    ///     PathRow::new(vec![ch("a")?, ch("b")?], 1.0, Decimal::new(1000, 2), 0.0),
    ///     PathRow::new(vec![ch("b")?], 0.0, Decimal::ZERO, 1.0),
    /// ];
    /// let r = markov_attribution(&rows, MarkovOptions::default())?;
    /// let parts = r.value_split(Currency::USD)?;
    /// assert_eq!(Money::sum(Currency::USD, &parts)?, Money::parse("10.00", Currency::USD)?);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::ZeroWeights`](crate::error::ErrorKind::ZeroWeights) if the value is not zero but no channel has any effect
    /// (nothing converts), [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow) if the amount does not fit.
    pub fn value_split(&self, currency: Currency) -> Result<Vec<Money>> {
        let shares: Vec<f64> = self.channels.iter().map(|c| c.share).collect();
        split_money(self.total_value, currency, &shares)
    }

    /// The transition matrix as dense rows of probabilities over
    /// [`MarkovReport::states`] (`matrix[from][to]`); the absorbing states have a
    /// probability-1 self-loop.
    ///
    /// ```
    /// use revops::{Channel, Decimal, attribution::MarkovOptions, PathRow, attribution::markov_attribution};
    /// # fn main() -> Result<(), revops::Error> {
    /// let rows = [PathRow::new(vec![Channel::new("email")?], 1.0, Decimal::ONE, 3.0)];
    /// let r = markov_attribution(&rows, MarkovOptions::default())?;
    /// let m = r.transition_matrix();
    /// // states: (start), email, (conversion), (null)
    /// assert_eq!(m[0], [0.0, 1.0, 0.0, 0.0]);
    /// assert_eq!(m[1], [0.0, 0.0, 0.25, 0.75]);
    /// # Ok(()) }
    /// ```
    pub fn transition_matrix(&self) -> Vec<Vec<f64>> {
        let n = self.states.len();
        let mut m = vec![vec![0.0; n]; n];
        for t in &self.transitions {
            m[t.from][t.to] = t.probability;
        }
        for (i, s) in self.states.iter().enumerate() {
            if matches!(s, MarkovState::Conversion | MarkovState::Null) {
                m[i][i] = 1.0;
            }
        }
        m
    }
}

const START: u32 = u32::MAX;
const CONVERSION: u32 = u32::MAX - 1;
const NULL: u32 = u32::MAX - 2;

#[inline]
fn edge(from: u32, to: u32) -> u64 {
    (u64::from(from) << 32) | u64::from(to)
}

/// Mergeable transition counts of a Markov chain over path rows (the accumulator of
/// [`markov_attribution`]).
///
/// ```
/// use revops::{Channel, Decimal, attribution::MarkovCounts, attribution::MarkovOptions, PathRow};
/// # fn main() -> Result<(), revops::Error> {
/// let ch = |s: &str| Channel::new(s);
/// let rows = [
///     PathRow::new(vec![ch("a")?, ch("b")?], 2.0, Decimal::new(20, 0), 1.0),
///     PathRow::new(vec![ch("b")?], 1.0, Decimal::new(10, 0), 4.0),
/// ];
/// let mut left = MarkovCounts::new(MarkovOptions::default())?;
/// left.add(&rows[0])?;
/// let mut right = MarkovCounts::default();
/// right.add(&rows[1])?;
/// left.merge(&right)?;
///
/// let mut whole = MarkovCounts::default();
/// whole.add_batch(&rows)?;
/// assert_eq!(left.transition_counts(), whole.transition_counts());
/// assert_eq!(left.finish()?, whole.finish()?);
///
/// // The partial state travels: serialise, read back, merge.
/// let shipped: MarkovCounts = serde_json::from_str(&serde_json::to_string(&right)?)?;
/// let mut again = MarkovCounts::default();
/// again.add(&rows[0])?;
/// again.merge(&shipped)?;
/// assert_eq!(again.finish()?, whole.finish()?);
/// # Ok(()) }
/// ```
///
/// # Serialised form (version 1)
///
/// The [`Accumulator`] contract's partial state, an object with the fields
/// `version` (`1`), `options` ([`MarkovOptions`]), `channels` (the channel names, in
/// order of first appearance: the id table), `states` (order ≥ 2 only, empty at
/// order 1 where a state is its channel: each state as the list of its channels'
/// indices in `channels`), `transitions` (`[from, to, count]` triples sorted by
/// `from` then `to`, a state by its index in `states` — in `channels` at order 1 —
/// and `-1` for `(start)`, `-2` for `(conversion)`, `-3` for `(null)`),
/// `conversions`, `nulls` (summed row counts), `value` (the summed value, a decimal
/// string), `rows`, `longest` (most states of one path) and `mass` (the weighted
/// transitions, `Σ weight × (touches + 1)`). Reading it back checks every index,
/// count and id, and that every state entered also has a way out; a state that does
/// not hold together, or of another version, is refused.
#[derive(Debug, Clone)]
pub struct MarkovCounts {
    options: MarkovOptions,
    channels: Vec<Channel>,
    channel_ids: FastMap<Channel, u32>,
    /// Channel ids of each state.
    state_keys: Vec<Box<[u32]>>,
    /// Order ≥ 2 only: state key → id (at order 1 a state's id is its channel's id).
    state_ids: FastMap<Box<[u32]>, u32>,
    transitions: FastMap<u64, f64>,
    conversions: f64,
    nulls: f64,
    value: Decimal,
    rows: usize,
    longest: usize,
    /// Σ counted weight × (touches + 1) over the rows: a bound on every count.
    mass: f64,
    touches: Vec<u32>,
    path_states: Vec<u32>,
    /// Scratch: the channel ids of the path being added.
    ids: Vec<u32>,
}

impl Default for MarkovCounts {
    fn default() -> Self {
        Self::with_valid_options(MarkovOptions::default())
    }
}

impl MarkovCounts {
    /// An empty accumulator.
    ///
    /// ```
    /// use revops::{attribution::MarkovCounts, attribution::MarkovOptions};
    /// # fn main() -> Result<(), revops::Error> {
    /// let counts = MarkovCounts::new(MarkovOptions::default().with_order(2))?;
    /// assert_eq!(counts.options().order, 2);
    /// assert_eq!(counts.rows(), 0);
    /// assert!(MarkovCounts::new(MarkovOptions::default().with_order(0)).is_err());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) naming `order` if it is 0, or `step_limit` if it
    /// is `Steps(0)`.
    pub fn new(options: MarkovOptions) -> Result<Self> {
        options.validate()?;
        Ok(Self::with_valid_options(options))
    }

    fn with_valid_options(options: MarkovOptions) -> Self {
        MarkovCounts {
            options,
            channels: Vec::new(),
            channel_ids: FastMap::default(),
            state_keys: Vec::new(),
            state_ids: FastMap::default(),
            transitions: FastMap::default(),
            conversions: 0.0,
            nulls: 0.0,
            value: Decimal::ZERO,
            rows: 0,
            longest: 0,
            mass: 0.0,
            touches: Vec::new(),
            path_states: Vec::new(),
            ids: Vec::new(),
        }
    }

    /// The options.
    pub fn options(&self) -> &MarkovOptions {
        &self.options
    }

    /// How many rows were added (including merged ones).
    pub fn rows(&self) -> usize {
        self.rows
    }

    fn intern_channel(&mut self, channel: &Channel) -> u32 {
        if let Some(&id) = self.channel_ids.get(channel.as_str()) {
            return id;
        }
        let id = self.channels.len() as u32;
        self.channels.push(channel.clone());
        self.channel_ids.insert(channel.clone(), id);
        if self.options.order == 1 {
            self.state_keys.push(Box::new([id]));
        }
        id
    }

    fn intern_state(&mut self, key: &[u32]) -> u32 {
        if self.options.order == 1 {
            return key[0];
        }
        if let Some(&id) = self.state_ids.get(key) {
            return id;
        }
        let id = self.state_keys.len() as u32;
        let key: Box<[u32]> = key.into();
        self.state_keys.push(key.clone());
        self.state_ids.insert(key, id);
        id
    }

    #[inline]
    fn count(&mut self, from: u32, to: u32, weight: f64) {
        *self.transitions.entry(edge(from, to)).or_insert(0.0) += weight;
    }

    /// Adds one path row. The row is checked with [`PathRow::validate`], its index
    /// being the number of rows added so far; a rejected row leaves the counts
    /// unchanged.
    ///
    /// ```
    /// use revops::error::ErrorKind;
    /// use revops::{Channel, Decimal, attribution::MarkovCounts, PathRow};
    /// # fn main() -> Result<(), revops::Error> {
    /// let mut counts = MarkovCounts::default();
    /// counts.add(&PathRow::new(vec![Channel::new("a")?], 1.0, Decimal::ZERO, 0.0))?;
    /// let bad = PathRow::new(vec![Channel::new("b")?], f64::NAN, Decimal::ZERO, 0.0);
    /// let err = counts.add(&bad).unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::InvalidField { record, field: "conversions", .. } if record.index == Some(1)));
    /// assert_eq!(counts.rows(), 1);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the row (empty path, negative or non-finite
    /// count, negative value, or weights so large that the weighted transitions,
    /// `Σ (conversions + nulls) × (touches + 1)` over the rows so far, overflow a
    /// 64-bit float), [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow) if the total value overflows.
    pub fn add(&mut self, row: &PathRow) -> Result<()> {
        row.validate(self.rows)?;
        let mut ids = std::mem::take(&mut self.ids);
        ids.clear();
        for c in &row.path {
            ids.push(self.intern_channel(c));
        }
        let added = self.add_path(&ids, row.conversions, row.value, row.nulls);
        self.ids = ids;
        added
    }

    /// Counts of journeys aggregated by path under `options`: exactly
    /// `new(options)` then `add_batch(&journeys.path_rows())` (the same rows, in the
    /// same order, so the same counts), without building the rows: the paths are
    /// aggregated on dense ids and only their channels are looked up. (A constructor,
    /// not an add: merge the result into running counts with [`MarkovCounts::merge`].)
    ///
    /// ```
    /// use revops::{Channel, Currency, Decimal, attribution::Journeys, attribution::MarkovCounts, attribution::MarkovOptions, PathRow};
    /// # fn main() -> Result<(), revops::Error> {
    /// let ch = |s| Channel::new(s);
    /// let rows = vec![
    ///     PathRow::new(vec![ch("search")?, ch("email")?], 3.0, Decimal::new(300, 0), 5.0),
    ///     PathRow::new(vec![ch("email")?], 1.0, Decimal::new(50, 0), 4.0),
    /// ];
    /// let journeys = Journeys::from_path_rows(&rows, Currency::USD)?;
    /// let direct = MarkovCounts::from_journeys(&journeys, MarkovOptions::default())?;
    /// let mut via_rows = MarkovCounts::default();
    /// via_rows.add_batch(&journeys.path_rows())?;
    /// assert_eq!(direct.finish()?, via_rows.finish()?);
    /// assert_eq!(direct.rows(), 2);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`MarkovCounts::new`], and as [`MarkovCounts::add`] for the first
    /// aggregated path that fails.
    pub fn from_journeys(journeys: &Journeys, options: MarkovOptions) -> Result<Self> {
        let mut counts = MarkovCounts::new(options)?;
        counts.add_journeys(journeys)?;
        Ok(counts)
    }

    /// Adds journeys aggregated by path (see [`MarkovCounts::from_journeys`]); stops
    /// at the first path that fails (the paths before it stay added).
    fn add_journeys(&mut self, journeys: &Journeys) -> Result<()> {
        let mut ids_now = std::mem::take(&mut self.ids);
        let result = journeys.for_each_checked_path(
            self,
            &mut ids_now,
            |c| c.rows,
            |c, name| c.intern_channel(name),
            |c, ids, r| c.add_path(ids, r.conversions, r.value, r.nulls),
        );
        self.ids = ids_now;
        result
    }

    /// Adds one validated path of interned channel ids.
    fn add_path(
        &mut self,
        path: &[u32],
        row_conversions: f64,
        row_value: Decimal,
        row_nulls: f64,
    ) -> Result<()> {
        let value = self.value.checked_add(row_value).ok_or_else(|| {
            Error::from(ErrorKind::Overflow {
                operation: "Markov total value",
            })
        })?;
        // Every transition count and every state's total is at most the weighted
        // number of transitions, Σ weight × (touches + 1) over the rows: while that is
        // finite, no count, total or probability can become infinite or NaN.
        let counted = row_conversions
            + match self.options.nulls {
                MarkovNulls::Include => row_nulls,
                MarkovNulls::Exclude => 0.0,
            };
        let mass = self.mass + counted * (path.len() + 1) as f64;
        if !(mass.is_finite()
            && (self.conversions + row_conversions).is_finite()
            && (self.nulls + row_nulls).is_finite())
        {
            return Err(Error::from(ErrorKind::InvalidField {
                record: RecordRef::new("path").with_index(self.rows).with_id(
                    path.iter()
                        .map(|&c| self.channels[c as usize].as_str())
                        .collect::<Vec<_>>()
                        .join(">"),
                ),
                field: "conversions",
                reason: format!(
                    "the counts so far plus this row's ({row_conversions} conversions, {row_nulls} nulls) overflow a 64-bit float"
                ),
            }));
        }
        let conversions = row_conversions;
        let nulls = match self.options.nulls {
            MarkovNulls::Include => row_nulls,
            MarkovNulls::Exclude => 0.0,
        };
        let weight = conversions + nulls;

        let mut touches = std::mem::take(&mut self.touches);
        touches.clear();
        let collapse_channels = self.options.repeats == MarkovRepeats::CollapseChannels;
        for &id in path {
            if collapse_channels && touches.last() == Some(&id) {
                continue;
            }
            touches.push(id);
        }
        let mut states = std::mem::take(&mut self.path_states);
        states.clear();
        let k = self.options.order.min(touches.len());
        let merge_repeats = self.options.repeats != MarkovRepeats::Keep;
        for window in touches.windows(k) {
            let s = self.intern_state(window);
            if merge_repeats && states.last() == Some(&s) {
                continue;
            }
            states.push(s);
        }
        self.longest = self.longest.max(states.len());
        if weight > 0.0 {
            let mut from = START;
            for &s in &states {
                self.count(from, s, weight);
                from = s;
            }
            if conversions > 0.0 {
                self.count(from, CONVERSION, conversions);
            }
            if nulls > 0.0 {
                self.count(from, NULL, nulls);
            }
        }
        self.touches = touches;
        self.path_states = states;
        self.conversions += row_conversions;
        self.nulls += row_nulls;
        self.mass = mass;
        self.value = value;
        self.rows += 1;
        Ok(())
    }

    /// Adds rows in order; stops at the first invalid one (the rows before it stay
    /// added).
    ///
    /// # Errors
    /// As [`MarkovCounts::add`].
    pub fn add_batch<'a, I>(&mut self, rows: I) -> Result<()>
    where
        I: IntoIterator<Item = &'a PathRow>,
    {
        for row in rows {
            self.add(row)?;
        }
        Ok(())
    }

    /// Adds another accumulator's counts, as if its rows had been added here.
    ///
    /// # Errors
    /// [`ErrorKind::MergeMismatch`](crate::error::ErrorKind::MergeMismatch) if the two were built with
    /// different options (nothing is merged), [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow) if the total value
    /// or the summed weights overflow.
    pub fn merge(&mut self, other: &MarkovCounts) -> Result<()> {
        if self.options != other.options {
            return Err(options_differ(
                "Markov counts",
                format!("{:?}", self.options),
                format!("{:?}", other.options),
            ));
        }
        let value = self.value.checked_add(other.value).ok_or_else(|| {
            Error::from(ErrorKind::Overflow {
                operation: "Markov total value",
            })
        })?;
        let mass = self.mass + other.mass;
        if !(mass.is_finite()
            && (self.conversions + other.conversions).is_finite()
            && (self.nulls + other.nulls).is_finite())
        {
            return Err(Error::from(ErrorKind::Overflow {
                operation: "Markov transition counts (merged weights overflow a 64-bit float)",
            }));
        }
        let channel_map: Vec<u32> = other
            .channels
            .iter()
            .map(|c| self.intern_channel(c))
            .collect();
        let mut key = Vec::new();
        let state_map: Vec<u32> = other
            .state_keys
            .iter()
            .map(|k| {
                key.clear();
                key.extend(k.iter().map(|&c| channel_map[c as usize]));
                self.intern_state(&key)
            })
            .collect();
        let remap = |s: u32| -> u32 { if s >= NULL { s } else { state_map[s as usize] } };
        for (&e, &w) in &other.transitions {
            let (from, to) = ((e >> 32) as u32, e as u32);
            self.count(remap(from), remap(to), w);
        }
        self.conversions += other.conversions;
        self.nulls += other.nulls;
        self.mass = mass;
        self.value = value;
        self.rows += other.rows;
        self.longest = self.longest.max(other.longest);
        Ok(())
    }

    /// The counted transitions as `(from, to, count)`, sorted by the states' channel
    /// names (`(start)` first, `(conversion)` then `(null)` last): the same list
    /// whatever the order in which rows were added or merged.
    pub fn transition_counts(&self) -> Vec<(MarkovState, MarkovState, f64)> {
        let canon = Canonical::new(self);
        let mut out: Vec<(u32, u32, f64)> = self
            .transitions
            .iter()
            .map(|(&e, &w)| (canon.index((e >> 32) as u32), canon.index(e as u32), w))
            .collect();
        out.sort_by_key(|a| (a.0, a.1));
        out.into_iter()
            .map(|(f, t, w)| (canon.label(self, f), canon.label(self, t), w))
            .collect()
    }

    /// Solves the chain: conversion probability, removal effects and credits.
    ///
    /// ```
    /// use revops::{Channel, Decimal, attribution::MarkovCounts, PathRow};
    /// # fn main() -> Result<(), revops::Error> {
    /// let mut counts = MarkovCounts::default();
    /// counts.add(&PathRow::new(vec![Channel::new("a")?], 1.0, Decimal::ZERO, 1.0))?;
    /// let r = counts.finish()?;
    /// assert_eq!(r.p_conversion, 0.5);
    /// assert_eq!(r.channel("a").unwrap().removal_effect, 1.0);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::LimitExceeded`](crate::error::ErrorKind::LimitExceeded) (`MarkovOptions::max_states`) for more transient states
    /// than [`MarkovOptions::max_states`], checked before the matrix is allocated;
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) naming `paths` if the counts span so many orders
    /// of magnitude that `I − Q` is numerically singular (it never is in exact
    /// arithmetic: every state of a counted row leads to an absorbing state) or the
    /// solution is not finite.
    pub fn finish(&self) -> Result<MarkovReport> {
        let canon = Canonical::new(self);
        if canon.live.len() > self.options.max_states {
            return Err(Error::from(ErrorKind::LimitExceeded {
                limit: "MarkovOptions::max_states",
                what: "Markov chain states",
                value: canon.live.len() as u64,
                max: self.options.max_states as u64,
                reason: format!(
                    "the chain is solved on a dense matrix of states × states ({} GB here); raise the limit with MarkovOptions::with_max_states if the machine can afford it",
                    (16.0 * (canon.live.len() as f64).powi(2) / 1e9)
                        .max(0.1)
                        .round()
                ),
            }));
        }
        let n = canon.live.len() + 1; // transient states, start = 0
        let conv_index = n as u32;
        let mut states = Vec::with_capacity(n + 2);
        states.push(MarkovState::Start);
        for &s in &canon.live {
            states.push(MarkovState::Channels(
                self.state_keys[s as usize]
                    .iter()
                    .map(|&c| self.channels[c as usize].clone())
                    .collect(),
            ));
        }
        states.push(MarkovState::Conversion);
        states.push(MarkovState::Null);

        let transitions = self.report_transitions(&canon, n);
        let containing = self.containing(&canon);
        let chain = Chain {
            n,
            transitions: &transitions,
            conv_index: conv_index as usize,
        };
        let step_limit = match self.options.step_limit {
            MarkovStepLimit::Unlimited => None,
            MarkovStepLimit::Steps(t) => Some(t),
            MarkovStepLimit::LongestPath => {
                Some(u32::try_from(self.longest.saturating_add(1)).unwrap_or(u32::MAX))
            }
        };
        let (p_conversion, lost) = match step_limit {
            None => chain.solve_exact(&containing)?,
            Some(t) => chain.solve_truncated(&containing, t),
        };
        if !p_conversion.is_finite() || lost.iter().any(|x| !x.is_finite()) {
            return Err(singular());
        }

        let res: Vec<f64> = lost
            .iter()
            .map(|&x| {
                if p_conversion > 0.0 {
                    (x / p_conversion).clamp(0.0, 1.0)
                } else {
                    0.0
                }
            })
            .collect();
        let re_sum: f64 = res.iter().sum();
        let total_value_f64 = self.value.to_f64().unwrap_or(0.0);
        let channels = canon
            .channel_order
            .iter()
            .enumerate()
            .map(|(rank, &c)| {
                let re = res[rank];
                let share = if re_sum > 0.0 { re / re_sum } else { 0.0 };
                MarkovChannel {
                    channel: self.channels[c as usize].clone(),
                    removal_effect: re,
                    p_conversion_without: (p_conversion - lost[rank]).max(0.0),
                    share,
                    conversions: share * self.conversions,
                    value: share * total_value_f64,
                }
            })
            .collect();
        Ok(MarkovReport {
            options: self.options,
            states,
            transitions,
            p_conversion,
            step_limit,
            channels,
            total_conversions: self.conversions,
            total_nulls: self.nulls,
            total_value: self.value,
        })
    }
}

/// A transition end in the serialised form: a state's index, or `-1` (start), `-2`
/// (conversion), `-3` (null).
fn state_code(s: u32) -> i64 {
    match s {
        START => -1,
        CONVERSION => -2,
        NULL => -3,
        s => i64::from(s),
    }
}

/// The serialised partial state of [`MarkovCounts`] (version 1), borrowed.
#[derive(Serialize)]
struct MarkovStateOut<'a> {
    version: StateVersion<1>,
    options: &'a MarkovOptions,
    channels: &'a [Channel],
    states: Vec<&'a [u32]>,
    transitions: Vec<(i64, i64, f64)>,
    conversions: f64,
    nulls: f64,
    value: Decimal,
    rows: usize,
    longest: usize,
    mass: f64,
}

/// The serialised partial state of [`MarkovCounts`] (version 1), read back and
/// checked by [`MarkovCounts::try_from`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkovStateIn {
    #[serde(rename = "version")]
    _version: StateVersion<1>,
    options: MarkovOptions,
    channels: Vec<Channel>,
    states: Vec<Vec<u32>>,
    transitions: Vec<(i64, i64, f64)>,
    conversions: f64,
    nulls: f64,
    value: Decimal,
    rows: usize,
    longest: usize,
    mass: f64,
}

impl Serialize for MarkovCounts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut transitions: Vec<(u32, u32, f64)> = self
            .transitions
            .iter()
            .map(|(&e, &w)| ((e >> 32) as u32, e as u32, w))
            .collect();
        transitions.sort_by_key(|t| (state_code(t.0), state_code(t.1)));
        MarkovStateOut {
            version: StateVersion,
            options: &self.options,
            channels: &self.channels,
            states: if self.options.order == 1 {
                Vec::new()
            } else {
                self.state_keys.iter().map(|k| &k[..]).collect()
            },
            transitions: transitions
                .into_iter()
                .map(|(f, t, w)| (state_code(f), state_code(t), w))
                .collect(),
            conversions: self.conversions,
            nulls: self.nulls,
            value: self.value,
            rows: self.rows,
            longest: self.longest,
            mass: self.mass,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for MarkovCounts {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let state = MarkovStateIn::deserialize(d)?;
        MarkovCounts::try_from(state).map_err(serde::de::Error::custom)
    }
}

const MARKOV_STATE: &str = "Markov counts";

impl TryFrom<MarkovStateIn> for MarkovCounts {
    type Error = Error;

    fn try_from(st: MarkovStateIn) -> Result<Self> {
        let mut c = MarkovCounts::new(st.options)?;
        for ch in &st.channels {
            if c.channel_ids.contains_key(ch.as_str()) {
                return Err(bad_state(
                    MARKOV_STATE,
                    format!("channel {ch} is listed twice"),
                ));
            }
            c.intern_channel(ch);
        }
        if c.options.order == 1 {
            if !st.states.is_empty() {
                return Err(bad_state(MARKOV_STATE, "states are listed at order 1"));
            }
        } else {
            for key in &st.states {
                if key.is_empty() || key.len() > c.options.order {
                    return Err(bad_state(
                        MARKOV_STATE,
                        format!(
                            "a state of {} channels at order {}",
                            key.len(),
                            c.options.order
                        ),
                    ));
                }
                for &ch in key {
                    check_index(MARKOV_STATE, "channel", ch, c.channels.len())?;
                }
                let before = c.state_keys.len();
                if c.intern_state(key) as usize != before {
                    return Err(bad_state(MARKOV_STATE, "a state is listed twice"));
                }
            }
        }
        let n = c.state_keys.len();
        let decode = |code: i64, to: bool| -> Result<u32> {
            match code {
                -1 if !to => Ok(START),
                -2 if to => Ok(CONVERSION),
                -3 if to => Ok(NULL),
                s if s >= 0 && (s as u64) < n as u64 => Ok(s as u32),
                s => Err(bad_state(
                    MARKOV_STATE,
                    format!("transition end {s} is out of range ({n} states)"),
                )),
            }
        };
        let mut has_out = vec![false; n];
        let mut entered = vec![false; n];
        for &(from, to, w) in &st.transitions {
            let (f, t) = (decode(from, false)?, decode(to, true)?);
            if !(w.is_finite() && w > 0.0) {
                return Err(bad_state(MARKOV_STATE, format!("transition count {w}")));
            }
            if c.transitions.insert(edge(f, t), w).is_some() {
                return Err(bad_state(MARKOV_STATE, "a transition is listed twice"));
            }
            if f != START {
                has_out[f as usize] = true;
            }
            if t < NULL {
                entered[t as usize] = true;
            }
        }
        if entered.iter().zip(&has_out).any(|(&e, &o)| e && !o) {
            return Err(bad_state(MARKOV_STATE, "a state is entered but never left"));
        }
        check_count(MARKOV_STATE, "conversions", st.conversions)?;
        check_count(MARKOV_STATE, "nulls", st.nulls)?;
        check_count(MARKOV_STATE, "mass", st.mass)?;
        if st.value.is_sign_negative() && !st.value.is_zero() {
            return Err(bad_state(MARKOV_STATE, "a negative total value"));
        }
        c.conversions = st.conversions;
        c.nulls = st.nulls;
        c.mass = st.mass;
        c.value = st.value;
        c.rows = st.rows;
        c.longest = st.longest;
        Ok(c)
    }
}

impl Accumulator for MarkovCounts {
    type Item = PathRow;
    type Output = MarkovReport;
    const STATE_VERSION: u32 = 1;

    fn add(&mut self, item: &PathRow) -> Result<()> {
        MarkovCounts::add(self, item)
    }

    fn add_batch<'a, I>(&mut self, items: I) -> Result<()>
    where
        I: IntoIterator<Item = &'a PathRow>,
    {
        MarkovCounts::add_batch(self, items)
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        MarkovCounts::merge(self, other)
    }

    fn finish(&self) -> Result<MarkovReport> {
        MarkovCounts::finish(self)
    }
}

impl MarkovCounts {
    /// The transitions in report numbering, with probabilities, sorted by `(from, to)`.
    fn report_transitions(&self, canon: &Canonical, n: usize) -> Vec<MarkovTransition> {
        let mut trans: Vec<(u32, u32, f64)> = self
            .transitions
            .iter()
            .map(|(&e, &w)| (canon.index((e >> 32) as u32), canon.index(e as u32), w))
            .collect();
        trans.sort_by_key(|a| (a.0, a.1));
        // Totals summed in the sorted order, so they do not depend on hashing.
        let mut out_total = vec![0.0; n];
        for &(f, _, w) in &trans {
            out_total[f as usize] += w;
        }
        trans
            .iter()
            .map(|&(f, t, w)| MarkovTransition {
                from: f as usize,
                to: t as usize,
                count: w,
                probability: w / out_total[f as usize],
            })
            .collect()
    }

    /// Channel (by canonical rank) → the transient states (report numbering)
    /// containing it.
    fn containing(&self, canon: &Canonical) -> Vec<Vec<usize>> {
        let mut containing: Vec<Vec<usize>> = vec![Vec::new(); self.channels.len()];
        for (i, &s) in canon.live.iter().enumerate() {
            let key = &self.state_keys[s as usize];
            for (j, &c) in key.iter().enumerate() {
                if !key[..j].contains(&c) {
                    containing[canon.channel_rank[c as usize] as usize].push(i + 1);
                }
            }
        }
        containing
    }
}

/// The canonical (name-sorted) numbering of a [`MarkovCounts`]' channels and states.
struct Canonical {
    /// Channel ids sorted by name.
    channel_order: Vec<u32>,
    /// Channel id → rank in `channel_order`.
    channel_rank: Vec<u32>,
    /// Ids of the states with outgoing transitions, sorted by their ranked keys.
    live: Vec<u32>,
    /// State id → report index (1-based; `u32::MAX` for states without transitions).
    state_index: Vec<u32>,
}

impl Canonical {
    fn new(c: &MarkovCounts) -> Self {
        let mut channel_order: Vec<u32> = (0..c.channels.len() as u32).collect();
        channel_order.sort_by(|&a, &b| c.channels[a as usize].cmp(&c.channels[b as usize]));
        let mut channel_rank = vec![0u32; c.channels.len()];
        for (r, &id) in channel_order.iter().enumerate() {
            channel_rank[id as usize] = r as u32;
        }
        let mut has_out = vec![false; c.state_keys.len()];
        for &e in c.transitions.keys() {
            let from = (e >> 32) as u32;
            if from != START {
                has_out[from as usize] = true;
            }
        }
        let ranked: Vec<Vec<u32>> = c
            .state_keys
            .iter()
            .map(|k| k.iter().map(|&ch| channel_rank[ch as usize]).collect())
            .collect();
        let mut live: Vec<u32> = (0..c.state_keys.len() as u32)
            .filter(|&s| has_out[s as usize])
            .collect();
        live.sort_by(|&a, &b| ranked[a as usize].cmp(&ranked[b as usize]));
        let mut state_index = vec![u32::MAX; c.state_keys.len()];
        for (i, &s) in live.iter().enumerate() {
            state_index[s as usize] = i as u32 + 1;
        }
        Canonical {
            channel_order,
            channel_rank,
            live,
            state_index,
        }
    }

    /// Report index of an internal state id (start 0, conversion n, null n + 1).
    fn index(&self, s: u32) -> u32 {
        let n = self.live.len() as u32 + 1;
        match s {
            START => 0,
            CONVERSION => n,
            NULL => n + 1,
            s => self.state_index[s as usize],
        }
    }

    fn label(&self, c: &MarkovCounts, index: u32) -> MarkovState {
        let n = self.live.len() as u32 + 1;
        match index {
            0 => MarkovState::Start,
            i if i == n => MarkovState::Conversion,
            i if i == n + 1 => MarkovState::Null,
            i => MarkovState::Channels(
                c.state_keys[self.live[i as usize - 1] as usize]
                    .iter()
                    .map(|&ch| c.channels[ch as usize].clone())
                    .collect(),
            ),
        }
    }
}

/// The chain in report numbering: transient states `0..n` (start = 0), conversion
/// `n`, null `n + 1`.
struct Chain<'a> {
    n: usize,
    transitions: &'a [MarkovTransition],
    conv_index: usize,
}

impl Chain<'_> {
    /// Unlimited horizon: `(P(conversion), P(conversion and visit c) per channel)`.
    ///
    /// Only the states from which `(conversion)` is reachable enter the linear
    /// system: the others convert with probability exactly 0, so a channel whose
    /// states all lie there gets exactly 0.
    fn solve_exact(&self, containing: &[Vec<usize>]) -> Result<(f64, Vec<f64>)> {
        let n = self.n;
        let mut r_full = vec![0.0; n];
        let mut into: Vec<Vec<usize>> = vec![Vec::new(); n];
        for t in self.transitions {
            if t.to < n {
                into[t.to].push(t.from);
            } else if t.to == self.conv_index {
                r_full[t.from] += t.probability;
            }
        }
        // Reverse search from the states that convert directly.
        let mut reach = vec![false; n];
        let mut queue: Vec<usize> = (0..n).filter(|&i| r_full[i] > 0.0).collect();
        queue.iter().for_each(|&i| reach[i] = true);
        while let Some(j) = queue.pop() {
            for &i in &into[j] {
                if !reach[i] {
                    reach[i] = true;
                    queue.push(i);
                }
            }
        }
        if !reach[0] {
            return Ok((0.0, vec![0.0; containing.len()]));
        }
        // Reduced numbering: position in the system of each reaching state.
        let mut pos = vec![usize::MAX; n];
        let mut m = 0;
        for i in 0..n {
            if reach[i] {
                pos[i] = m;
                m += 1;
            }
        }
        let mut a = vec![0.0; m * m];
        for i in 0..m {
            a[i * m + i] = 1.0;
        }
        let mut r = vec![0.0; m];
        for i in 0..n {
            if reach[i] {
                r[pos[i]] = r_full[i];
            }
        }
        for t in self.transitions {
            if t.to < n && reach[t.from] && reach[t.to] {
                a[pos[t.from] * m + pos[t.to]] -= t.probability;
            }
        }
        let lu = Lu::factor(a, m).ok_or_else(singular)?;
        let mut absorb = r;
        lu.solve(&mut absorb);
        let p = absorb[pos[0]];
        if p <= 0.0 {
            return Ok((0.0, vec![0.0; containing.len()]));
        }
        // N = (I − Q)⁻¹, row-major; N[start, ·] is its row `pos[0]`.
        let inv = lu.inverse();
        let from_start = &inv[pos[0] * m..(pos[0] + 1) * m];
        let mut lost = Vec::with_capacity(containing.len());
        let mut set = Vec::new();
        for full_set in containing {
            set.clear();
            set.extend(full_set.iter().filter(|&&i| reach[i]).map(|&i| pos[i]));
            if set.is_empty() {
                lost.push(0.0);
                continue;
            }
            let k = set.len();
            let mut block = vec![0.0; k * k];
            for (bi, &i) in set.iter().enumerate() {
                for (bj, &j) in set.iter().enumerate() {
                    block[bi * k + bj] = inv[i * m + j];
                }
            }
            let mut y: Vec<f64> = set.iter().map(|&i| absorb[i]).collect();
            let block_lu = Lu::factor(block, k).ok_or_else(singular)?;
            block_lu.solve(&mut y);
            let x: f64 = set.iter().zip(&y).map(|(&i, yi)| from_start[i] * yi).sum();
            lost.push(x.max(0.0).min(p));
        }
        Ok((p, lost))
    }

    /// Step limit `t`: a walk converts only after visiting at most `t` states.
    fn solve_truncated(&self, containing: &[Vec<usize>], t: u32) -> (f64, Vec<f64>) {
        let n = self.n;
        // CSR of transient → transient transitions, and conversion probabilities.
        let mut offsets = vec![0usize; n + 1];
        let mut r = vec![0.0; n];
        for tr in self.transitions {
            if tr.to < n {
                offsets[tr.from + 1] += 1;
            } else if tr.to == self.conv_index {
                r[tr.from] += tr.probability;
            }
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut cols = vec![(0usize, 0.0f64); offsets[n]];
        let mut fill = offsets.clone();
        for tr in self.transitions {
            if tr.to < n {
                cols[fill[tr.from]] = (tr.to, tr.probability);
                fill[tr.from] += 1;
            }
        }
        let step = |dist: &[f64], next: &mut [f64]| {
            next.iter_mut().for_each(|x| *x = 0.0);
            for (i, &d) in dist.iter().enumerate() {
                if d != 0.0 {
                    for &(j, q) in &cols[offsets[i]..offsets[i + 1]] {
                        next[j] += d * q;
                    }
                }
            }
        };
        let dot = |d: &[f64]| -> f64 { d.iter().zip(&r).map(|(a, b)| a * b).sum() };

        // Base probability.
        let mut dist = vec![0.0; n];
        dist[0] = 1.0;
        let mut next = vec![0.0; n];
        let mut p = 0.0;
        for _ in 0..t {
            step(&dist, &mut next);
            std::mem::swap(&mut dist, &mut next);
            let converted = dot(&dist);
            p += converted;
            // What may still convert later is at most the mass that does not
            // convert now.
            let mass = dist.iter().sum::<f64>() - converted;
            if mass <= 0.0 || mass <= p * 2f64.powi(-64) {
                break;
            }
        }
        if p <= 0.0 {
            return (0.0, vec![0.0; containing.len()]);
        }
        let negligible = p * 2f64.powi(-64);

        let lost = containing
            .iter()
            .map(|set| {
                if set.is_empty() {
                    return 0.0;
                }
                // u: mass that has not visited the set; w: mass that has.
                let mut u = vec![0.0; n];
                let mut w = vec![0.0; n];
                u[0] = 1.0;
                let mut nu = vec![0.0; n];
                let mut nw = vec![0.0; n];
                let mut x = 0.0;
                for _ in 0..t {
                    step(&u, &mut nu);
                    step(&w, &mut nw);
                    for &i in set {
                        nw[i] += nu[i];
                        nu[i] = 0.0;
                    }
                    std::mem::swap(&mut u, &mut nu);
                    std::mem::swap(&mut w, &mut nw);
                    let wc = dot(&w);
                    x += wc;
                    let mass = u.iter().sum::<f64>() + w.iter().sum::<f64>() - dot(&u) - wc;
                    if mass <= 0.0 || mass <= negligible {
                        break;
                    }
                }
                x.max(0.0).min(p)
            })
            .collect();
        (p, lost)
    }
}

fn singular() -> Error {
    Error::from(ErrorKind::InvalidParameter {
        name: "paths",
        value: "transition counts".into(),
        reason: "the absorbing-chain system is numerically singular (counts span too many \
                 orders of magnitude)"
            .into(),
    })
}

/// Dense LU factorisation with partial pivoting (`PA = LU`, unit lower `L`), row-major.
struct Lu {
    n: usize,
    lu: Vec<f64>,
    pivots: Vec<usize>,
}

impl Lu {
    /// Factors the `n × n` row-major matrix; `None` if a pivot is zero or not finite.
    fn factor(mut a: Vec<f64>, n: usize) -> Option<Lu> {
        let mut pivots = vec![0usize; n];
        for k in 0..n {
            let mut p = k;
            let mut best = a[k * n + k].abs();
            for i in k + 1..n {
                let v = a[i * n + k].abs();
                if v.partial_cmp(&best) == Some(Ordering::Greater) {
                    best = v;
                    p = i;
                }
            }
            if best == 0.0 || !best.is_finite() {
                return None;
            }
            pivots[k] = p;
            if p != k {
                for j in 0..n {
                    a.swap(k * n + j, p * n + j);
                }
            }
            let pivot = a[k * n + k];
            let (top, bottom) = a.split_at_mut((k + 1) * n);
            let row_k = &top[k * n..];
            for row in bottom.chunks_exact_mut(n) {
                let l = row[k] / pivot;
                row[k] = l;
                if l != 0.0 {
                    for j in k + 1..n {
                        row[j] -= l * row_k[j];
                    }
                }
            }
        }
        Some(Lu { n, lu: a, pivots })
    }

    /// Solves `A x = b` in place.
    fn solve(&self, b: &mut [f64]) {
        let n = self.n;
        for k in 0..n {
            b.swap(k, self.pivots[k]);
        }
        for i in 0..n {
            let row = &self.lu[i * n..i * n + i];
            let s: f64 = row.iter().zip(&b[..i]).map(|(l, x)| l * x).sum();
            b[i] -= s;
        }
        for i in (0..n).rev() {
            let row = &self.lu[i * n..(i + 1) * n];
            let s: f64 = row[i + 1..]
                .iter()
                .zip(&b[i + 1..])
                .map(|(u, x)| u * x)
                .sum();
            b[i] = (b[i] - s) / row[i];
        }
    }

    /// `A⁻¹`, row-major, by substituting all the unit vectors at once: every step is
    /// a contiguous row update (`2n³` flops at most, fewer where `L` and `U` are
    /// sparse).
    fn inverse(&self) -> Vec<f64> {
        let n = self.n;
        let mut x = vec![0.0; n * n];
        for i in 0..n {
            x[i * n + i] = 1.0;
        }
        for k in 0..n {
            let p = self.pivots[k];
            if p != k {
                for j in 0..n {
                    x.swap(k * n + j, p * n + j);
                }
            }
        }
        // L Y = P I (unit lower): row i −= L[i, k] · row k, k < i.
        for i in 1..n {
            let (done, rest) = x.split_at_mut(i * n);
            let xi = &mut rest[..n];
            for (k, &l) in self.lu[i * n..i * n + i].iter().enumerate() {
                if l != 0.0 {
                    axpy(xi, -l, &done[k * n..(k + 1) * n]);
                }
            }
        }
        // U X = Y: row i = (row i − Σ U[i, k] · row k, k > i) / U[i, i].
        for i in (0..n).rev() {
            let (head, tail) = x.split_at_mut((i + 1) * n);
            let xi = &mut head[i * n..];
            for (k, &u) in self.lu[i * n + i + 1..(i + 1) * n].iter().enumerate() {
                if u != 0.0 {
                    axpy(xi, -u, &tail[k * n..(k + 1) * n]);
                }
            }
            let d = self.lu[i * n + i];
            xi.iter_mut().for_each(|v| *v /= d);
        }
        x
    }
}

/// `y += a · x`.
#[inline]
fn axpy(y: &mut [f64], a: f64, x: &[f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// Exact Markov removal-effect attribution of path rows.
///
/// # The chain
///
/// Each [`PathRow`] is a journey `c₁ > c₂ > … > c_m` seen `conversions + nulls`
/// times. It becomes the walk
///
/// ```text
/// (start) → s₁ → s₂ → … → s_n → (conversion) | (null)
/// ```
///
/// where the states `sᵢ` are the channels (order 1) or, for order `k`, the windows of
/// `k` consecutive channels: `cᵢ…cᵢ₊ₖ₋₁` for `i = 1..=m−k+1`; a journey shorter than
/// `k` is a single state holding the whole journey. Every hop of the row (start to
/// the first state, and state to state) is counted with weight `conversions + nulls`;
/// the last state's hop to `(conversion)` with weight `conversions` and to `(null)`
/// with weight `nulls`. Weights are the `f64` counts as given (fractional counts are
/// summed, never rounded). Transition probabilities are each state's outgoing counts
/// divided by their sum. Rows whose weight is zero add no transitions (their channels
/// are still listed, with zero credit).
///
/// Conventions, all explicit in [`MarkovOptions`]:
/// - **Repeats** ([`MarkovRepeats`], default [`Collapse`](MarkovRepeats::Collapse)):
///   consecutive identical states are one visit, so there are no self-loops; this is
///   what ChannelAttribution does (at order 1, `a > a > b` is `a > b`).
/// - **Non-converting journeys** ([`MarkovNulls`], default
///   [`Include`](MarkovNulls::Include)): with `Exclude`, the `nulls` column is read as
///   zero, so only converting journeys shape the chain.
/// - **Step limit** ([`MarkovStepLimit`], default
///   [`Unlimited`](MarkovStepLimit::Unlimited)): the exact infinite-horizon absorbing
///   chain; the limits reproduce ChannelAttribution's `max_step`.
///
/// # Removal effect
///
/// Removing channel `c` redirects every transition into a state that contains `c` to
/// `(null)`. The removal effect is
///
/// ```text
/// RE(c) = 1 − P(conversion | c removed) / P(conversion)
///       = P(the walk visits c | it converts)
/// ```
///
/// (a walk that avoids `c` is unaffected by the removal, and every walk that visits
/// `c` is sent to `(null)`). Shares are `RE(c) / Σ RE`; each channel is credited
/// `share × total conversions` and `share × total value` (as `f64`, and exactly as
/// [`Money`] with [`MarkovReport::value_split`]). When nothing converts, every removal
/// effect, share and credit is 0.
///
/// A channel gets exactly 0 when no conversion can be reached from its states, and
/// in particular, under [`MarkovNulls::Exclude`], when it appears on no converting
/// journey. Under [`MarkovNulls::Include`] a channel seen only on non-converting
/// journeys can still have a positive removal effect: the chain lets it lead to
/// states that do convert (from `x > a` never converting and `a` converting, the
/// chain infers that `x` brings walks to `a`). That is the first-order model's
/// assumption, not a rounding artefact.
///
/// # How it is solved
///
/// Unlimited horizon (the default): with `Q` the transitions among the `n` transient
/// states (start included) and `r` the transitions into `(conversion)`, the
/// conversion probabilities are `a = (I − Q)⁻¹ r`, from **one** LU factorisation with
/// partial pivoting of the dense `n × n` matrix `I − Q`. Removing the set `S` of states
/// that contain a channel is a rank-`|S|` change of `I − Q`; by the Woodbury identity
/// the conversions lost are
///
/// ```text
/// P(convert and visit S) = N[start, S] · N[S, S]⁻¹ · a[S],     N = (I − Q)⁻¹
/// ```
///
/// (`N[start, S] N[S, S]⁻¹` is the distribution of the first state of `S` the walk
/// enters). Only the states from which `(conversion)` can be reached enter the
/// system (the others convert with probability exactly 0). The same factorisation
/// gives `N`, substituting all the unit vectors at once with contiguous row updates;
/// each channel then needs a small `|S| × |S|` solve (`|S| = 1` at order 1).
///
/// Cost: `O(n³)` time (about `8n³/3` flops at most, less where the factors are
/// sparse) and `O(n²)` memory for the chain, plus `O(|S|³)` per channel. At order 1,
/// `n` is the number of channels plus one: 500 channels solve in about 0.1 s. At
/// order `k`, `n` is the number of distinct `k`-windows present (not all `Cᵏ`
/// possible ones): 10 channels at order 3 give about 1,100 states, solved in about
/// 0.2 s; memory is `8n²` bytes (10 MB there), so tens of thousands of states are out
/// of reach of the exact solve.
/// The removal effect is computed as that ratio of positive terms, with no
/// subtraction of nearly equal probabilities.
///
/// With a step limit `T`, a walk counts as converting only if it reaches
/// `(conversion)` after visiting at most `T` states; the probabilities are summed
/// exactly over the first `T` steps by propagating the state distribution on the
/// sparse transitions, keeping apart the mass that has already visited the removed
/// channel. Cost `O(T · transitions)` per channel. The propagation stops early once
/// the mass still in transient states is zero or below `2⁻⁶⁴` of the conversion
/// probability (it can no longer change an `f64` result).
///
/// # Determinism and merging
///
/// [`MarkovCounts`] is a monoid: `Default`, [`add`](MarkovCounts::add),
/// [`merge`](MarkovCounts::merge), [`finish`](MarkovCounts::finish). Channels and
/// states are interned to dense `u32` ids in the order met, but `finish` sorts them by
/// name before solving, so the result does not depend on the order of the rows or of
/// the merges. With integer counts the sums are exact and the result is bit-for-bit
/// identical; fractional counts are summed in `f64`, so a different order may change
/// the last bits.
///
/// # Examples
///
/// ```
/// use revops::{Channel, Decimal, attribution::MarkovOptions, PathRow, attribution::markov_attribution};
/// # fn main() -> Result<(), revops::Error> {
/// let ch = |s: &str| Channel::new(s);
/// let rows = vec![
///     PathRow::new(vec![ch("search")?, ch("email")?], 3.0, Decimal::new(300, 0), 1.0),
///     PathRow::new(vec![ch("email")?], 1.0, Decimal::new(100, 0), 3.0),
/// ];
/// let report = markov_attribution(&rows, MarkovOptions::default())?;
/// // Every conversion passes through email: removing it loses all of them.
/// assert!((report.channel("email").unwrap().removal_effect - 1.0).abs() < 1e-12);
/// let total: f64 = report.channels.iter().map(|c| c.conversions).sum();
/// assert!((total - 4.0).abs() < 1e-12);
/// # Ok(()) }
/// ```
///
/// ```
/// use revops::{Channel, Decimal, attribution::MarkovOptions, PathRow, attribution::markov_attribution};
/// # fn main() -> Result<(), revops::Error> {
/// let ch = |s: &str| Channel::new(s);
/// // start → a → b → conversion (1) | null (1); start → b → null (2)
/// let rows = [
///     PathRow::new(vec![ch("a")?, ch("b")?], 1.0, Decimal::new(50, 0), 1.0),
///     PathRow::new(vec![ch("b")?], 0.0, Decimal::ZERO, 2.0),
/// ];
/// let r = markov_attribution(&rows, MarkovOptions::default())?;
/// // Every walk reaches b, and b converts 1 time in 4.
/// assert!((r.p_conversion - 0.25).abs() < 1e-15);
/// // Half the conversions pass through a, all through b: shares 1/3 and 2/3.
/// assert!((r.channel("a").unwrap().removal_effect - 0.5).abs() < 1e-15);
/// assert!((r.channel("b").unwrap().removal_effect - 1.0).abs() < 1e-15);
/// assert!((r.channel("a").unwrap().share - 1.0 / 3.0).abs() < 1e-15);
/// # Ok(()) }
/// ```
///
/// # Errors
/// As [`MarkovCounts::new`], [`MarkovCounts::add`] and [`MarkovCounts::finish`].
pub fn markov_attribution(rows: &[PathRow], options: MarkovOptions) -> Result<MarkovReport> {
    let mut counts = MarkovCounts::new(options)?;
    counts.add_batch(rows)?;
    counts.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(spec: &[(&str, f64, f64)]) -> Vec<PathRow> {
        spec.iter()
            .map(|&(p, c, n)| {
                PathRow::new(
                    p.split('>').map(|s| Channel::new(s).unwrap()).collect(),
                    c,
                    Decimal::ZERO,
                    n,
                )
            })
            .collect()
    }

    #[test]
    fn lu_solves_and_inverts() {
        let a = vec![0.0, 2.0, 1.0, 1.0, 1.0, 0.0, 3.0, 0.0, 1.0];
        let lu = Lu::factor(a.clone(), 3).unwrap();
        let x = [1.0, -2.0, 0.5];
        let mut b: Vec<f64> = (0..3)
            .map(|i| (0..3).map(|j| a[i * 3 + j] * x[j]).sum())
            .collect();
        lu.solve(&mut b);
        for i in 0..3 {
            assert!((b[i] - x[i]).abs() < 1e-12);
        }
        let inv = lu.inverse();
        for i in 0..3 {
            for j in 0..3 {
                let p: f64 = (0..3).map(|k| a[i * 3 + k] * inv[k * 3 + j]).sum();
                assert!((p - f64::from(u8::from(i == j))).abs() < 1e-12);
            }
        }
        assert!(Lu::factor(vec![1.0, 2.0, 2.0, 4.0], 2).is_none());
    }

    /// Removal by direct re-solve: redirect transitions into `channel`'s states to
    /// null and solve the reduced system.
    fn direct_without(report: &MarkovReport, channel: &str) -> f64 {
        let n = report.states.len() - 2;
        let removed: Vec<bool> = report
            .states
            .iter()
            .map(|s| match s {
                MarkovState::Channels(cs) => cs.iter().any(|c| c.as_str() == channel),
                _ => false,
            })
            .collect();
        let mut a = vec![0.0; n * n];
        let mut r = vec![0.0; n];
        for i in 0..n {
            a[i * n + i] = 1.0;
        }
        for t in &report.transitions {
            if removed[t.from] {
                continue;
            }
            if t.to < n {
                if !removed[t.to] {
                    a[t.from * n + t.to] -= t.probability;
                }
            } else if t.to == n {
                r[t.from] += t.probability;
            }
        }
        let lu = Lu::factor(a, n).unwrap();
        lu.solve(&mut r);
        r[0]
    }

    #[test]
    fn woodbury_matches_direct_removal_at_orders_1_to_3() {
        let data = rows(&[
            ("a>b>c", 3.0, 2.0),
            ("b>a", 1.0, 4.0),
            ("c>a>b>a>c", 2.0, 1.0),
            ("b", 0.0, 3.0),
            ("a>c>b>c", 1.5, 0.5),
            ("c>c>b", 1.0, 1.0),
        ]);
        for order in 1..=3 {
            for repeats in [
                MarkovRepeats::Collapse,
                MarkovRepeats::CollapseChannels,
                MarkovRepeats::Keep,
            ] {
                let o = MarkovOptions::default()
                    .with_order(order)
                    .with_repeats(repeats);
                let r = markov_attribution(&data, o).unwrap();
                for ch in &r.channels {
                    let direct = direct_without(&r, ch.channel.as_str());
                    assert!(
                        (direct - ch.p_conversion_without).abs() < 1e-12,
                        "order {order} {repeats:?} {}: {direct} vs {}",
                        ch.channel,
                        ch.p_conversion_without
                    );
                }
            }
        }
    }

    #[test]
    fn long_step_limit_converges_to_exact() {
        let data = rows(&[("a>b>a>b", 3.0, 2.0), ("b>a", 1.0, 4.0), ("a", 2.0, 1.0)]);
        let exact = markov_attribution(&data, MarkovOptions::default()).unwrap();
        let limited = markov_attribution(
            &data,
            MarkovOptions::default().with_step_limit(MarkovStepLimit::Steps(10_000)),
        )
        .unwrap();
        assert!((exact.p_conversion - limited.p_conversion).abs() < 1e-14);
        for (e, l) in exact.channels.iter().zip(&limited.channels) {
            assert!((e.removal_effect - l.removal_effect).abs() < 1e-13);
        }
    }

    #[test]
    fn order_zero_is_rejected() {
        assert!(MarkovCounts::new(MarkovOptions::default().with_order(0)).is_err());
    }
}
