//! Shapley-value attribution over unique channel sets and the Shao–Li baseline: the
//! conventions are documented on [`shapley_attribution`].

use crate::error::ErrorKind;
use std::hash::Hasher;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use super::state::{bad_state, check_count, check_index, options_differ};
use crate::accumulate::{Accumulator, StateVersion};
use crate::attribution::Journeys;
use crate::error::{Error, Result};
use crate::hash::{FastMap, FxHasher};
use crate::ids::Channel;
use crate::money::{Currency, Money};
use crate::records::PathRow;
use crate::rng::SplitMix64;

mod par;
mod subsets;
use subsets::{Subsets, Walk};

/// Splits `total` over signed `f64` weights so the parts sum exactly to it.
///
/// Non-negative weights use [`Money::allocate_f64`]. With negative weights (whose sum
/// must still be positive), the positive parts share `round(total × P / W)` and the
/// negative parts `round(total × P / W) − total`, each by `allocate_f64`, where `P` is
/// the sum of the positive weights and `W` of all of them.
pub(crate) fn split_money(
    total: Decimal,
    currency: Currency,
    weights: &[f64],
) -> Result<Vec<Money>> {
    for (index, &w) in weights.iter().enumerate() {
        if !w.is_finite() {
            return Err(Error::from(ErrorKind::InvalidWeight {
                index,
                value: w.to_string(),
                reason: "weights must be finite",
            }));
        }
    }
    let money = Money::new(total, currency);
    if weights.iter().all(|&w| w >= 0.0) {
        if weights.iter().all(|&w| w == 0.0) && total.is_zero() {
            return Ok(vec![Money::zero(currency); weights.len()]);
        }
        return money.allocate_f64(weights);
    }
    let sum: f64 = weights.iter().sum();
    let positive: f64 = weights.iter().filter(|&&w| w > 0.0).sum();
    if sum.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        let index = weights.iter().position(|&w| w < 0.0).unwrap_or(0);
        return Err(Error::from(ErrorKind::InvalidWeight {
            index,
            value: weights[index].to_string(),
            reason: "signed weights must have a positive sum",
        }));
    }
    let ratio = Decimal::from_f64_retain(positive / sum).ok_or_else(|| {
        Error::from(ErrorKind::Overflow {
            operation: "signed money split",
        })
    })?;
    let scale = u32::from(currency.minor_units()).max(total.normalize().scale());
    let pos_amount = total
        .checked_mul(ratio)
        .ok_or_else(|| {
            Error::from(ErrorKind::Overflow {
                operation: "signed money split",
            })
        })?
        .round_dp(scale);
    let neg_amount = pos_amount.checked_sub(total).ok_or_else(|| {
        Error::from(ErrorKind::Overflow {
            operation: "signed money split",
        })
    })?;
    let pos_w: Vec<f64> = weights.iter().map(|&w| w.max(0.0)).collect();
    let neg_w: Vec<f64> = weights.iter().map(|&w| (-w).max(0.0)).collect();
    let pos = Money::new(pos_amount, currency).allocate_f64(&pos_w)?;
    let neg = Money::new(neg_amount, currency).allocate_f64(&neg_w)?;
    pos.iter()
        .zip(&neg)
        .map(|(p, n)| p.checked_sub(n))
        .collect()
}

/// Which game the conversion-rate Shapley value is computed on.
///
/// ```
/// use revops::{Channel, Decimal, PathRow, attribution::ShapleyOptions, attribution::ShapleyUniverse, attribution::shapley_attribution};
/// # fn main() -> Result<(), revops::Error> {
/// let ch = |s: &str| Channel::new(s);
/// let rows = [
///     PathRow::new(vec![ch("a")?], 1.0, Decimal::ZERO, 1.0),
///     PathRow::new(vec![ch("b")?], 1.0, Decimal::ZERO, 3.0),
/// ];
/// // No journey touched both: the all-channels game is worth v(N) = 0.
/// let all = ShapleyOptions::default().with_universe(ShapleyUniverse::AllChannels);
/// let r = shapley_attribution(&rows, all)?.conversion_rate;
/// assert_eq!(r.grand_coalition_rate, Some(0.0));
/// // Per journey set, each set's conversions go to its only channel.
/// let r = shapley_attribution(&rows, ShapleyOptions::default())?.conversion_rate;
/// assert_eq!(r.credits.channel("b").unwrap().conversions, 1.0);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShapleyUniverse {
    /// **Default.** One game per converting channel set, over that set's channels;
    /// the set's conversions are split by its Shapley values.
    #[default]
    PerJourneySet,
    /// One game over every channel seen; credits scale the Shapley values to the
    /// total conversions when the grand coalition's rate is positive.
    AllChannels,
}

/// How Shapley values are computed.
///
/// ```
/// use revops::{Channel, Decimal, PathRow, attribution::ShapleyMethod, attribution::ShapleyOptions, attribution::shapley_attribution};
/// # fn main() -> Result<(), revops::Error> {
/// let ch = |s: &str| Channel::new(s);
/// let rows = [
///     PathRow::new(vec![ch("a")?], 1.0, Decimal::ZERO, 1.0),
///     PathRow::new(vec![ch("a")?, ch("b")?], 3.0, Decimal::ZERO, 1.0),
/// ];
/// let sampled = ShapleyOptions::default()
///     .with_method(ShapleyMethod::Sampling { permutations: 1_000, seed: 1 });
/// let r = shapley_attribution(&rows, sampled)?.conversion_rate;
/// assert_eq!(r.sampled_games, 2);
/// // two players: every order is one of two, so the estimate is close
/// let a = r.credits.channel("a").unwrap();
/// assert!(a.std_error > 0.0 && (a.conversions - 3.5).abs() < 4.0 * a.std_error + 1e-9);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShapleyMethod {
    /// **Default.** Exact, for any number of players (sum over observed coalitions)
    /// up to [`ShapleyOptions::max_channels`] channels in the tally.
    #[default]
    Exact,
    /// Permutation-sampling estimate with standard errors, for every game.
    Sampling {
        /// Random orders drawn per game (at least 2).
        permutations: u32,
        /// Seed of the generator.
        seed: u64,
    },
    /// Exact for games with at most `exact_up_to` players, sampling above.
    Auto {
        /// Largest game solved exactly.
        exact_up_to: u32,
        /// Random orders drawn per sampled game (at least 2).
        permutations: u32,
        /// Seed of the generator.
        seed: u64,
    },
}

/// Options of the conversion-rate Shapley value; `Default` is per-journey-set games,
/// solved exactly.
///
/// ```
/// use revops::{attribution::ShapleyMethod, attribution::ShapleyOptions, attribution::ShapleyUniverse};
/// let o = ShapleyOptions::default()
///     .with_universe(ShapleyUniverse::AllChannels)
///     .with_method(ShapleyMethod::Sampling { permutations: 2_000, seed: 7 });
/// assert_eq!(o.universe, ShapleyUniverse::AllChannels);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ShapleyOptions {
    /// The game(s) (default [`ShapleyUniverse::PerJourneySet`]).
    pub universe: ShapleyUniverse,
    /// The method (default [`ShapleyMethod::Exact`]).
    pub method: ShapleyMethod,
    /// Most distinct channels the conversion-rate Shapley value and Shao–Li accept;
    /// default [`ShapleyOptions::DEFAULT_MAX_CHANNELS`] (2,000). Shao–Li tallies every
    /// pair of channels that share a journey (up to `channels²/2` entries, and
    /// `Σ |S|²` work over the channel sets `S`), and games over many players cost
    /// `players²` per sampled order or a scan of every set per game: 5,000 channels
    /// took 10.8 s and 1 GB, 20,000 more than 5 GB. At 2,000 the pair table stays
    /// near 100–200 MB and the work within a few seconds. Beyond it
    /// [`ShapleyCounts::finish`] (and [`shapley_attribution`]) return
    /// [`ErrorKind::LimitExceeded`](crate::error::ErrorKind::LimitExceeded) before allocating; there is no automatic switch to
    /// sampling (Shao–Li has no sampled form).
    #[serde(default = "default_max_channels")]
    pub max_channels: usize,
    /// Most cells (channels × positions, positions = the longest path) of the
    /// ordered Shapley value ([`OrderedShapley`]); default
    /// [`ShapleyOptions::DEFAULT_MAX_ORDERED_CELLS`] (10 million: two `f64` per cell,
    /// 160 MB). Checked before allocating, [`ErrorKind::LimitExceeded`](crate::error::ErrorKind::LimitExceeded) beyond.
    #[serde(default = "default_max_ordered_cells")]
    pub max_ordered_cells: u64,
}

fn default_max_channels() -> usize {
    ShapleyOptions::DEFAULT_MAX_CHANNELS
}

fn default_max_ordered_cells() -> u64 {
    ShapleyOptions::DEFAULT_MAX_ORDERED_CELLS
}

impl Default for ShapleyOptions {
    fn default() -> Self {
        ShapleyOptions {
            universe: ShapleyUniverse::default(),
            method: ShapleyMethod::default(),
            max_channels: Self::DEFAULT_MAX_CHANNELS,
            max_ordered_cells: Self::DEFAULT_MAX_ORDERED_CELLS,
        }
    }
}

impl ShapleyOptions {
    /// Default of [`ShapleyOptions::max_channels`]: 2,000 channels.
    pub const DEFAULT_MAX_CHANNELS: usize = 2_000;
    /// Default of [`ShapleyOptions::max_ordered_cells`]: 10,000,000 cells.
    pub const DEFAULT_MAX_ORDERED_CELLS: u64 = 10_000_000;

    /// Sets the most distinct channels ([`ShapleyOptions::max_channels`]).
    #[must_use]
    pub fn with_max_channels(mut self, max_channels: usize) -> Self {
        self.max_channels = max_channels;
        self
    }

    /// Sets the most ordered cells ([`ShapleyOptions::max_ordered_cells`]).
    #[must_use]
    pub fn with_max_ordered_cells(mut self, max_ordered_cells: u64) -> Self {
        self.max_ordered_cells = max_ordered_cells;
        self
    }

    /// [`ErrorKind::LimitExceeded`](crate::error::ErrorKind::LimitExceeded) if `channels` exceeds [`ShapleyOptions::max_channels`].
    fn check_channels(&self, channels: usize) -> Result<()> {
        if channels > self.max_channels {
            return Err(Error::from(ErrorKind::LimitExceeded {
                limit: "ShapleyOptions::max_channels",
                what: "distinct channels",
                value: channels as u64,
                max: self.max_channels as u64,
                reason: "Shao–Li and the conversion-rate Shapley value grow with the square of the channels; raise the limit with ShapleyOptions::with_max_channels if the machine can afford it".into(),
            }));
        }
        Ok(())
    }

    /// [`ErrorKind::LimitExceeded`](crate::error::ErrorKind::LimitExceeded) if `channels × positions` exceeds
    /// [`ShapleyOptions::max_ordered_cells`].
    fn check_ordered(&self, channels: usize, positions: usize) -> Result<()> {
        let cells = (channels as u64).saturating_mul(positions as u64);
        if cells > self.max_ordered_cells {
            return Err(Error::from(ErrorKind::LimitExceeded {
                limit: "ShapleyOptions::max_ordered_cells",
                what: "ordered Shapley cells (channels × longest path)",
                value: cells,
                max: self.max_ordered_cells,
                reason: "the ordered Shapley value holds a credit per channel per position; raise the limit with ShapleyOptions::with_max_ordered_cells if the machine can afford it".into(),
            }));
        }
        Ok(())
    }

    /// Sets the universe.
    #[must_use]
    pub fn with_universe(mut self, universe: ShapleyUniverse) -> Self {
        self.universe = universe;
        self
    }

    /// Sets the method.
    #[must_use]
    pub fn with_method(mut self, method: ShapleyMethod) -> Self {
        self.method = method;
        self
    }

    fn validate(&self) -> Result<()> {
        let permutations = match self.method {
            ShapleyMethod::Exact => return Ok(()),
            ShapleyMethod::Sampling { permutations, .. }
            | ShapleyMethod::Auto { permutations, .. } => permutations,
        };
        if permutations < 2 {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "permutations",
                value: permutations.to_string(),
                reason: "a standard error needs at least 2 sampled orders".into(),
            }));
        }
        Ok(())
    }
}

/// One channel's credit under a Shapley-family model.
///
/// ```
/// use revops::{Channel, Decimal, PathRow, attribution::ShapleyCounts};
/// # fn main() -> Result<(), revops::Error> {
/// let mut t = ShapleyCounts::default();
/// t.add(&PathRow::new(vec![Channel::new("a")?, Channel::new("b")?], 2.0, Decimal::new(50, 0), 0.0))?;
/// let c = t.simplified().channel("a").unwrap().clone();
/// assert_eq!((c.conversions, c.value, c.std_error), (1.0, 25.0, 0.0));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShapleyCredit {
    /// The channel.
    pub channel: Channel,
    /// Attributed conversions (may be negative for the conversion-rate and Shao–Li
    /// models).
    pub conversions: f64,
    /// Attributed value, as `f64` (see [`ShapleyCredits::value_split`] for money).
    pub value: f64,
    /// Standard error of `conversions` from sampling; 0 when computed exactly.
    pub std_error: f64,
}

/// Per-channel credits of one model, sorted by channel name.
///
/// ```
/// use revops::{Channel, Decimal, PathRow, attribution::ShapleyCounts};
/// # fn main() -> Result<(), revops::Error> {
/// let mut t = ShapleyCounts::default();
/// t.add(&PathRow::new(vec![Channel::new("b")?, Channel::new("a")?], 2.0, Decimal::new(50, 0), 1.0))?;
/// let s = t.simplified();
/// let names: Vec<&str> = s.credits.iter().map(|c| c.channel.as_str()).collect();
/// assert_eq!(names, ["a", "b"]);
/// assert_eq!((s.total_conversions, s.total_value), (2.0, Decimal::new(50, 0)));
/// assert!(s.channel("c").is_none());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShapleyCredits {
    /// One entry per channel seen, sorted by name.
    pub credits: Vec<ShapleyCredit>,
    /// Total conversions of the input rows.
    pub total_conversions: f64,
    /// Total value of the input rows (exact).
    pub total_value: Decimal,
}

impl ShapleyCredits {
    /// The credit of a channel, by name.
    pub fn channel(&self, name: &str) -> Option<&ShapleyCredit> {
        self.credits
            .binary_search_by(|c| c.channel.as_str().cmp(name))
            .ok()
            .map(|i| &self.credits[i])
    }

    /// The total value split in proportion to the credits' values, as exact money
    /// whose parts (aligned with [`ShapleyCredits::credits`]) sum exactly to the
    /// total. Negative credits get negative parts: the positive parts share the
    /// total plus the negative ones' magnitude, each side split by the
    /// largest-remainder method ([`Money::allocate_f64`]).
    ///
    /// ```
    /// use revops::{Channel, Currency, Decimal, Money, PathRow, attribution::ShapleyCounts};
    /// # fn main() -> Result<(), revops::Error> {
    /// let ch = |s: &str| Channel::new(s);
    /// let mut t = ShapleyCounts::default();
    /// t.add(&PathRow::new(vec![ch("a")?, ch("b")?, ch("c")?], 1.0, Decimal::new(100, 0), 0.0))?;
    /// let parts = t.simplified().value_split(Currency::USD)?;
    /// assert_eq!(parts[0].amount().to_string(), "33.34");
    /// assert_eq!(Money::sum(Currency::USD, &parts)?.amount(), Decimal::new(100, 0));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::ZeroWeights`](crate::error::ErrorKind::ZeroWeights) if the total is not zero but every credit is,
    /// [`ErrorKind::InvalidWeight`](crate::error::ErrorKind::InvalidWeight) if the credits' values sum to zero or less while
    /// some are negative, [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow) if an amount does not fit.
    pub fn value_split(&self, currency: Currency) -> Result<Vec<Money>> {
        let weights: Vec<f64> = self.credits.iter().map(|c| c.value).collect();
        split_money(self.total_value, currency, &weights)
    }
}

/// One channel's ordered-Shapley credit by touch position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderedCredit {
    /// The channel.
    pub channel: Channel,
    /// Conversions credited at each position (index 0 = first touch); the length is
    /// [`OrderedShapley::positions`].
    pub conversions: Vec<f64>,
    /// Value credited at each position.
    pub value: Vec<f64>,
}

/// The ordered Shapley value: credit per channel per touch position.
///
/// ```
/// use revops::{Channel, Decimal, PathRow, attribution::ShapleyCounts};
/// # fn main() -> Result<(), revops::Error> {
/// let mut t = ShapleyCounts::default();
/// t.add(&PathRow::new(vec![Channel::new("a")?, Channel::new("b")?], 2.0, Decimal::new(8, 0), 0.0))?;
/// let o = t.ordered()?;
/// assert_eq!(o.positions, 2);
/// assert_eq!(o.channel("b").unwrap().conversions, [0.0, 1.0]);
/// assert_eq!(o.channel("b").unwrap().value, [0.0, 4.0]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderedShapley {
    /// The longest path seen among rows with conversions or value (positions
    /// `0..positions`).
    pub positions: usize,
    /// One entry per channel seen, sorted by name.
    pub credits: Vec<OrderedCredit>,
}

impl OrderedShapley {
    /// The credit of a channel, by name.
    pub fn channel(&self, name: &str) -> Option<&OrderedCredit> {
        self.credits
            .binary_search_by(|c| c.channel.as_str().cmp(name))
            .ok()
            .map(|i| &self.credits[i])
    }
}

/// The conversion-rate Shapley result.
///
/// ```
/// use revops::{Channel, Decimal, PathRow, attribution::ShapleyCounts, attribution::ShapleyOptions, attribution::ShapleyUniverse};
/// # fn main() -> Result<(), revops::Error> {
/// let all = ShapleyOptions::default().with_universe(ShapleyUniverse::AllChannels);
/// let mut t = ShapleyCounts::new(all)?;
/// t.add(&PathRow::new(vec![Channel::new("a")?, Channel::new("b")?], 1.0, Decimal::ZERO, 1.0))?;
/// let r = t.conversion_rate()?;
/// // one coalition, worth 1/2, shared equally
/// assert_eq!(r.shapley_values, Some(vec![0.25, 0.25]));
/// assert_eq!(r.grand_coalition_rate, Some(0.5));
/// assert_eq!((r.games, r.sampled_games), (1, 0));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateShapley {
    /// The options used.
    pub options: ShapleyOptions,
    /// Credits (conversions, value and, when sampled, standard errors).
    pub credits: ShapleyCredits,
    /// [`ShapleyUniverse::AllChannels`] only: the raw Shapley values `φⱼ` of the
    /// conversion-rate game (aligned with the credits; they sum to `v(N)`).
    pub shapley_values: Option<Vec<f64>>,
    /// [`ShapleyUniverse::AllChannels`] only: `v(N)`, the conversion rate of the
    /// journeys that touched every channel (0 if there are none).
    pub grand_coalition_rate: Option<f64>,
    /// Games played.
    pub games: usize,
    /// Of those, games estimated by sampling.
    pub sampled_games: usize,
}

/// The Shao–Li second-order model's result.
///
/// ```
/// use revops::{Channel, Decimal, PathRow, attribution::ShapleyCounts};
/// # fn main() -> Result<(), revops::Error> {
/// let ch = |s: &str| Channel::new(s);
/// let mut t = ShapleyCounts::default();
/// t.add(&PathRow::new(vec![ch("a")?], 1.0, Decimal::ZERO, 1.0))?;
/// t.add(&PathRow::new(vec![ch("b")?], 0.0, Decimal::ZERO, 2.0))?;
/// let s = t.shao_li()?;
/// // p(a) = 1/2, p(b) = 0, never together: C = p
/// assert_eq!(s.touch_rates, [0.5, 0.0]);
/// assert_eq!(s.contributions, [0.5, 0.0]);
/// assert_eq!(s.credits.channel("a").unwrap().conversions, 1.0);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShaoLi {
    /// Credits: `C(i) / Σ C` of the total conversions and value.
    pub credits: ShapleyCredits,
    /// `p(i)`: conversion rate of the journeys that touched each channel (aligned
    /// with the credits).
    pub touch_rates: Vec<f64>,
    /// `C(i)`: the model's contribution of each channel.
    pub contributions: Vec<f64>,
}

/// Every Shapley-family model of one tally.
///
/// ```
/// use revops::{Channel, Decimal, PathRow, attribution::ShapleyOptions, attribution::shapley_attribution};
/// # fn main() -> Result<(), revops::Error> {
/// let rows = [PathRow::new(vec![Channel::new("a")?, Channel::new("b")?], 2.0, Decimal::ZERO, 2.0)];
/// let r = shapley_attribution(&rows, ShapleyOptions::default())?;
/// for credits in [&r.simplified, &r.conversion_rate.credits, &r.shao_li.credits] {
///     assert_eq!(credits.channel("a").unwrap().conversions, 1.0);
/// }
/// assert_eq!(r.ordered.channel("a").unwrap().conversions, [1.0, 0.0]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShapleyReport {
    /// Simplified Shapley.
    pub simplified: ShapleyCredits,
    /// Ordered Shapley.
    pub ordered: OrderedShapley,
    /// Conversion-rate Shapley.
    pub conversion_rate: RateShapley,
    /// Shao–Li baseline.
    pub shao_li: ShaoLi,
}

#[derive(Debug, Clone, Copy, Default)]
struct SetTally {
    conversions: f64,
    nulls: f64,
    value: Decimal,
}

#[derive(Debug, Clone, Copy, Default)]
struct PositionTally {
    conversions: f64,
    value: Decimal,
}

/// Key of the ordered tally: (channel, position, divisor `|S| × occurrences`).
type PositionKey = (u32, u32, u64);

/// Mergeable tally of path rows by unique channel set (the accumulator of the
/// Shapley-family models).
///
/// ```
/// use revops::{Channel, Decimal, PathRow, attribution::ShapleyCounts, attribution::ShapleyOptions};
/// # fn main() -> Result<(), revops::Error> {
/// let ch = |s: &str| Channel::new(s);
/// let rows = [
///     PathRow::new(vec![ch("a")?, ch("b")?], 3.0, Decimal::new(30, 0), 1.0),
///     PathRow::new(vec![ch("a")?], 1.0, Decimal::new(10, 0), 3.0),
///     PathRow::new(vec![ch("b")?], 1.0, Decimal::new(10, 0), 1.0),
/// ];
/// let o = ShapleyOptions::default();
/// let mut left = ShapleyCounts::new(o)?;
/// left.add_batch(&rows[..1])?;
/// let mut right = ShapleyCounts::new(o)?;
/// right.add_batch(&rows[1..])?;
/// // The partial state travels: serialise, read back, merge.
/// let right: ShapleyCounts = serde_json::from_str(&serde_json::to_string(&right)?)?;
/// left.merge(&right)?;
/// let mut whole = ShapleyCounts::new(o)?;
/// whole.add_batch(&rows)?;
/// assert_eq!(left.finish()?, whole.finish()?);
/// # Ok(()) }
/// ```
///
/// The options ([`ShapleyOptions`]: the conversion-rate game and method, and the
/// limits) are given at [`ShapleyCounts::new`] ([`Default`]: the default options),
/// kept in the state, and read by every model ([`ShapleyCounts::finish`],
/// [`ShapleyCounts::ordered`], [`ShapleyCounts::shao_li`],
/// [`ShapleyCounts::conversion_rate`]); [`ShapleyCounts::merge`] refuses a tally
/// built under other options.
///
/// # Serialised form (version 1)
///
/// The [`Accumulator`] contract's partial state, an object with the fields
/// `version` (`1`), `options` ([`ShapleyOptions`]), `channels` (the channel names in
/// order of first appearance: the id table), `sets` (one
/// `[members, conversions, nulls, value]` per unique channel set, `members` the
/// sorted indices of its channels in `channels`, `value` a decimal string; sorted
/// by `members`), `positions` (the ordered tally: `[channel, position, divisor, conversions,
/// value]`, sorted), `longest` (the longest converting path), `conversions`, `nulls`,
/// `value` and `rows`. Reading it back checks every index (a position below
/// `longest`, a divisor of at least 1), count and id; a state that does not hold
/// together, or of another version, is refused.
#[derive(Debug, Clone, Default)]
pub struct ShapleyCounts {
    options: ShapleyOptions,
    channels: Vec<Channel>,
    channel_ids: FastMap<Channel, u32>,
    /// Per channel id: its [`channel_hash`].
    channel_hashes: Vec<u64>,
    sets: SetTable,
    positions: FastMap<PositionKey, PositionTally>,
    longest: usize,
    conversions: f64,
    nulls: f64,
    value: Decimal,
    rows: usize,
    ids: Vec<u32>,
    sorted: Vec<u32>,
    unique: Vec<u32>,
}

/// The tally in name order: channel ranks and sets keyed by sorted ranks, laid out
/// in that order (so that the finishers read them in sequence, not all over the
/// table).
struct Canonical<'a> {
    /// Channels sorted by name.
    channels: Vec<Channel>,
    /// Every set's members as sorted ranks, sets in rank order.
    members: Vec<u32>,
    /// Per set (rank order): the end of its members.
    ends: Vec<usize>,
    /// Per set (rank order): (conversions, nulls).
    counts: Vec<(f64, f64)>,
    /// Per set (rank order): its id in `table` (for its value).
    order: Vec<u32>,
    table: &'a SetTable,
}

impl Canonical<'_> {
    fn len(&self) -> usize {
        self.order.len()
    }

    /// The members (sorted ranks) of the `i`-th set in rank order.
    #[inline]
    fn key(&self, i: usize) -> &[u32] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.members[start..self.ends[i]]
    }

    /// The `i`-th set in rank order: its members (sorted ranks) and tally.
    fn set(&self, i: usize) -> (&[u32], SetTally) {
        let (conversions, nulls) = self.counts[i];
        let value = self.table.value(self.order[i]);
        (
            self.key(i),
            SetTally {
                conversions,
                nulls,
                value,
            },
        )
    }

    /// The sets in rank order.
    fn sets(&self) -> impl Iterator<Item = (&[u32], SetTally)> + Clone + '_ {
        (0..self.len()).map(|i| self.set(i))
    }
}

/// "No value slot": a set whose value is exactly `Decimal::ZERO`.
const NO_VALUE: u32 = u32::MAX;

/// Hash shards of a [`SetTable`] (a power of two): a set's shard is the top bits of
/// its hash, which depends only on its channels' names, so the same set falls in
/// the same shard of every tally and merging tallies is one independent merge per
/// shard (see [`ShapleyCounts::merge_all_on`]).
const SHARDS: usize = 16;

/// Bits of a set id that name its shard (the low ones); the rest is its index in
/// the shard.
const SHARD_BITS: u32 = SHARDS.trailing_zeros();

/// The most sets one shard holds (ids are 32-bit, [`SHARD_BITS`] of them the shard).
const MAX_SHARD_SETS: usize = (1 << (32 - SHARD_BITS)) - 2;

/// The hash of a channel for the set hashes: a mix of its name's bytes.
fn channel_hash(channel: &Channel) -> u64 {
    let mut h = FxHasher::default();
    h.write(channel.as_str().as_bytes());
    crate::rng::mix64(h.finish())
}

/// The hash of a set of channels (`members`: distinct ids into `hashes`, the
/// channels' [`channel_hash`]es): their sum, mixed. It depends on the channels'
/// names only, not on their ids or order, so that a set hashes alike in every tally.
#[inline]
fn hash_set(members: &[u32], hashes: &[u64]) -> u64 {
    let sum = members
        .iter()
        .fold(0u64, |s, &c| s.wrapping_add(hashes[c as usize]));
    crate::rng::mix64(sum ^ members.len() as u64)
}

/// Sorts channel ids: by insertion when few (a path's channels, mostly), which
/// beats the general sort there.
#[inline]
fn sort_ids(ids: &mut [u32]) {
    if ids.len() > 16 {
        ids.sort_unstable();
        return;
    }
    for i in 1..ids.len() {
        let x = ids[i];
        let mut j = i;
        while j > 0 && ids[j - 1] > x {
            ids[j] = ids[j - 1];
            j -= 1;
        }
        ids[j] = x;
    }
}

/// The shard of a set hash.
#[inline]
fn shard_of(hash: u64) -> usize {
    (hash >> (64 - SHARD_BITS)) as usize
}

/// Unique channel sets (sorted channel ids), each with its tally, in [`SHARDS`]
/// shards by hash (none until the first set). A set's id is its index in its shard
/// shifted left by [`SHARD_BITS`], or'ed with the shard.
#[derive(Debug, Clone, Default)]
struct SetTable {
    shards: Vec<SetShard>,
}

impl SetTable {
    fn len(&self) -> usize {
        self.shards.iter().map(SetShard::len).sum()
    }

    /// The ids of the sets, shard by shard.
    fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.shards.iter().enumerate().flat_map(|(s, shard)| {
            (0..shard.len() as u32).map(move |i| (i << SHARD_BITS) | s as u32)
        })
    }

    /// The shard and the index in it of set `id`.
    #[inline]
    fn locate(&self, id: u32) -> (&SetShard, usize) {
        let shard = &self.shards[(id as usize) & (SHARDS - 1)];
        (shard, (id >> SHARD_BITS) as usize)
    }

    fn key(&self, id: u32) -> &[u32] {
        let (shard, i) = self.locate(id);
        shard.key(i)
    }

    fn counts(&self, id: u32) -> (f64, f64) {
        let (shard, i) = self.locate(id);
        shard.counts[i]
    }

    fn value(&self, id: u32) -> Decimal {
        let (shard, i) = self.locate(id);
        shard.value(i)
    }

    fn tally(&self, id: u32) -> SetTally {
        let (shard, i) = self.locate(id);
        shard.tally(i)
    }

    /// The shards, made on first use.
    fn shards_mut(&mut self) -> &mut [SetShard] {
        if self.shards.is_empty() {
            self.shards = vec![SetShard::default(); SHARDS];
        }
        &mut self.shards
    }

    /// Adds `t` to the tally of set `key` (sorted, distinct ids into `hashes`), as
    /// [`SetShard::add`] does.
    fn add(&mut self, key: &[u32], hashes: &[u64], t: &SetTally, as_is: bool) -> Result<bool> {
        let hash = hash_set(key, hashes);
        self.shards_mut()[shard_of(hash)].add(key, hash, hashes, t, as_is)
    }
}

/// One shard of a [`SetTable`]: its sets (sorted channel ids) in one arena, each
/// with its tally, found through an open-addressing table of set indices (linear
/// probing, at most 3/4 full): a set costs 4 bytes a member and about 35 bytes more
/// (a value only when it is not zero), so tens of millions of sets fit in a few
/// hundred megabytes.
#[derive(Debug, Clone, Default)]
struct SetShard {
    members: Vec<u32>,
    /// Per set: the end of its members.
    ends: Vec<usize>,
    /// Per set: (conversions, nulls).
    counts: Vec<(f64, f64)>,
    /// Per set: its slot in `values`, or [`NO_VALUE`].
    value_slot: Vec<u32>,
    values: Vec<Decimal>,
    /// Per slot: 32 bits of the set's hash and `set index + 1` (0: empty), so that
    /// a probe reads a set's members only when the hashes agree; the length is zero
    /// or a power of two.
    slots: Vec<(u32, u32)>,
}

impl SetShard {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn range(&self, id: usize) -> std::ops::Range<usize> {
        let start = if id == 0 { 0 } else { self.ends[id - 1] };
        start..self.ends[id]
    }

    fn key(&self, id: usize) -> &[u32] {
        &self.members[self.range(id)]
    }

    fn value(&self, id: usize) -> Decimal {
        match self.value_slot[id] {
            NO_VALUE => Decimal::ZERO,
            v => self.values[v as usize],
        }
    }

    fn tally(&self, id: usize) -> SetTally {
        let (conversions, nulls) = self.counts[id];
        SetTally {
            conversions,
            nulls,
            value: self.value(id),
        }
    }

    fn set_value(&mut self, id: usize, value: Decimal) {
        match self.value_slot[id] {
            NO_VALUE if value.serialize() == Decimal::ZERO.serialize() => {}
            NO_VALUE => {
                self.value_slot[id] = self.values.len() as u32;
                self.values.push(value);
            }
            v => self.values[v as usize] = value,
        }
    }

    /// Adds `t` to the tally of set `key` (sorted, distinct ids into `hashes`; its
    /// [`hash_set`] is `hash`); a new set starts at `t` itself when `as_is`, at the
    /// default tally plus `t` otherwise. `Ok(true)` when the set is new.
    fn add(
        &mut self,
        key: &[u32],
        hash: u64,
        hashes: &[u64],
        t: &SetTally,
        as_is: bool,
    ) -> Result<bool> {
        if (self.len() + 1) * 4 > self.slots.len() * 3 {
            self.grow(hashes)?;
        }
        let mask = self.slots.len() - 1;
        let tag = hash as u32;
        let mut i = (hash >> 32) as usize & mask;
        loop {
            let (slot_tag, slot) = self.slots[i];
            if slot == 0 {
                break;
            }
            let id = slot as usize - 1;
            if slot_tag == tag && self.key(id) == key {
                let c = &mut self.counts[id];
                c.0 += t.conversions;
                c.1 += t.nulls;
                let v = self.value(id) + t.value;
                self.set_value(id, v);
                return Ok(false);
            }
            i = (i + 1) & mask;
        }
        if self.len() >= MAX_SHARD_SETS {
            return Err(too_many_sets(self.len()));
        }
        let id = self.len();
        self.members.extend_from_slice(key);
        self.ends.push(self.members.len());
        self.value_slot.push(NO_VALUE);
        if as_is {
            self.counts.push((t.conversions, t.nulls));
            self.set_value(id, t.value);
        } else {
            let d = SetTally::default();
            self.counts
                .push((d.conversions + t.conversions, d.nulls + t.nulls));
            self.set_value(id, d.value + t.value);
        }
        self.slots[i] = (tag, id as u32 + 1);
        Ok(true)
    }

    fn grow(&mut self, hashes: &[u64]) -> Result<()> {
        let want = ((self.len() + 1) * 2).next_power_of_two().max(16);
        if u32::try_from(want).is_err() {
            return Err(too_many_sets(self.len()));
        }
        self.slots = vec![(0, 0); want];
        let mask = want - 1;
        for id in 0..self.len() {
            let hash = hash_set(self.key(id), hashes);
            let mut i = (hash >> 32) as usize & mask;
            while self.slots[i].1 != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = (hash as u32, id as u32 + 1);
        }
        Ok(())
    }
}

/// Merges shard `s` of each of `others` (in order; their channel ids mapped by
/// `maps` to those whose [`channel_hash`]es are `hashes`) into `shard`, for each
/// `(s, shard)` of `lane`.
fn merge_lane(
    lane: Vec<(usize, &mut SetShard)>,
    others: &[ShapleyCounts],
    maps: &[Vec<u32>],
    hashes: &[u64],
) -> Result<()> {
    let mut k: Vec<u32> = Vec::new();
    for (s, shard) in lane {
        for (other, map) in others.iter().zip(maps) {
            let Some(from) = other.sets.shards.get(s) else {
                continue;
            };
            for id in 0..from.len() {
                k.clear();
                k.extend(from.key(id).iter().map(|&c| map[c as usize]));
                sort_ids(&mut k);
                let hash = hash_set(&k, hashes);
                debug_assert_eq!(shard_of(hash), s, "a set hashes alike in every tally");
                shard.add(&k, hash, hashes, &from.tally(id), false)?;
            }
        }
    }
    Ok(())
}

/// The error for more distinct channel sets than a shard holds (`len` in it).
fn too_many_sets(len: usize) -> Error {
    crate::error::capacity(
        "distinct channel sets in one of 16 hash shards",
        len,
        MAX_SHARD_SETS as u64,
    )
}

impl ShapleyCounts {
    /// An empty tally whose models run under `options`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) naming `permutations` if sampling is asked with
    /// fewer than 2.
    pub fn new(options: ShapleyOptions) -> Result<Self> {
        options.validate()?;
        Ok(ShapleyCounts {
            options,
            ..ShapleyCounts::default()
        })
    }

    /// The options.
    pub fn options(&self) -> &ShapleyOptions {
        &self.options
    }

    /// How many rows were added (including merged ones).
    pub fn rows(&self) -> usize {
        self.rows
    }

    fn intern(&mut self, channel: &Channel) -> u32 {
        if let Some(&id) = self.channel_ids.get(channel.as_str()) {
            return id;
        }
        let id = self.channels.len() as u32;
        self.channels.push(channel.clone());
        self.channel_ids.insert(channel.clone(), id);
        self.channel_hashes.push(channel_hash(channel));
        id
    }

    /// Adds one path row, checked with [`PathRow::validate`] (its index being the
    /// number of rows added so far); a rejected row leaves the tally unchanged.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the row, [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow) if the total value
    /// overflows.
    pub fn add(&mut self, row: &PathRow) -> Result<()> {
        row.validate(self.rows)?;
        let mut ids = std::mem::take(&mut self.ids);
        ids.clear();
        for c in &row.path {
            let id = self.intern(c);
            ids.push(id);
        }
        let added = self.add_ids(&ids, row.conversions, row.value, row.nulls);
        self.ids = ids;
        added
    }

    /// Counts of journeys aggregated by path under `options`: exactly
    /// `new(options)` then `add_batch(&journeys.path_rows())` (the same rows in the
    /// same order, so the same tally), without building the rows: the paths are
    /// aggregated on dense ids and only their channels are looked up. (A
    /// constructor, not an add: merge the result into a running tally with
    /// [`ShapleyCounts::merge`].)
    ///
    /// ```
    /// use revops::{Channel, Currency, Decimal, PathRow, attribution::Journeys, attribution::ShapleyCounts, attribution::ShapleyOptions};
    /// # fn main() -> Result<(), revops::Error> {
    /// let ch = |s| Channel::new(s);
    /// let rows = vec![
    ///     PathRow::new(vec![ch("search")?, ch("email")?], 3.0, Decimal::new(300, 0), 5.0),
    ///     PathRow::new(vec![ch("email")?], 1.0, Decimal::new(50, 0), 4.0),
    /// ];
    /// let journeys = Journeys::from_path_rows(&rows, Currency::USD)?;
    /// let direct = ShapleyCounts::from_journeys(&journeys, ShapleyOptions::default())?;
    /// let mut via_rows = ShapleyCounts::default();
    /// via_rows.add_batch(&journeys.path_rows())?;
    /// assert_eq!(direct.finish()?, via_rows.finish()?);
    /// assert_eq!(direct.rows(), 2);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`ShapleyCounts::new`], and as [`ShapleyCounts::add`] for the first
    /// aggregated path that fails.
    pub fn from_journeys(journeys: &Journeys, options: ShapleyOptions) -> Result<Self> {
        let mut counts = ShapleyCounts::new(options)?;
        journeys.for_each_checked_path(
            &mut counts,
            &mut Vec::new(),
            |c| c.rows,
            |c, name| c.intern(name),
            |c, ids, r| c.add_ids(ids, r.conversions, r.value, r.nulls),
        )?;
        Ok(counts)
    }

    /// Adds one validated path of interned channel ids; on error nothing is added.
    fn add_ids(
        &mut self,
        ids: &[u32],
        conversions: f64,
        row_value: Decimal,
        nulls: f64,
    ) -> Result<()> {
        // Every partial sum below is at most the total (values are non-negative), so
        // checking the total is enough.
        let value = self.value.checked_add(row_value).ok_or_else(|| {
            Error::from(ErrorKind::Overflow {
                operation: "Shapley total value",
            })
        })?;
        let mut sorted = std::mem::take(&mut self.sorted);
        let mut unique = std::mem::take(&mut self.unique);
        sorted.clear();
        sorted.extend_from_slice(ids);
        sort_ids(&mut sorted);
        unique.clear();
        unique.extend_from_slice(&sorted);
        unique.dedup();
        let add = SetTally {
            conversions,
            nulls,
            value: row_value,
        };
        if let Err(e) = self.sets.add(&unique, &self.channel_hashes, &add, true) {
            self.sorted = sorted;
            self.unique = unique;
            return Err(e);
        }
        if conversions > 0.0 || !row_value.is_zero() {
            let distinct = unique.len() as u64;
            for (position, &id) in ids.iter().enumerate() {
                let lo = sorted.partition_point(|&x| x < id);
                let hi = sorted.partition_point(|&x| x <= id);
                let divisor = distinct * (hi - lo) as u64;
                let t = self
                    .positions
                    .entry((id, position as u32, divisor))
                    .or_default();
                t.conversions += conversions;
                t.value += row_value;
            }
            self.longest = self.longest.max(ids.len());
        }
        self.sorted = sorted;
        self.unique = unique;
        self.conversions += conversions;
        self.nulls += nulls;
        self.value = value;
        self.rows += 1;
        Ok(())
    }

    /// Adds rows in order; stops at the first invalid one (the rows before it stay
    /// added).
    ///
    /// # Errors
    /// As [`ShapleyCounts::add`].
    pub fn add_batch<'a, I>(&mut self, rows: I) -> Result<()>
    where
        I: IntoIterator<Item = &'a PathRow>,
    {
        for row in rows {
            self.add(row)?;
        }
        Ok(())
    }

    /// Adds another tally, as if its rows had been added here.
    ///
    /// # Errors
    /// [`ErrorKind::MergeMismatch`](crate::error::ErrorKind::MergeMismatch) if the two were built with
    /// different options, [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow) if the total value overflows (nothing
    /// is merged either way).
    pub fn merge(&mut self, other: &ShapleyCounts) -> Result<()> {
        if self.options != other.options {
            return Err(options_differ(
                "Shapley counts",
                format!("{:?}", self.options),
                format!("{:?}", other.options),
            ));
        }
        let value = self.value.checked_add(other.value).ok_or_else(|| {
            Error::from(ErrorKind::Overflow {
                operation: "Shapley total value",
            })
        })?;
        let map: Vec<u32> = other.channels.iter().map(|c| self.intern(c)).collect();
        let mut k: Vec<u32> = Vec::new();
        for id in other.sets.ids() {
            k.clear();
            k.extend(other.sets.key(id).iter().map(|&c| map[c as usize]));
            sort_ids(&mut k);
            self.sets
                .add(&k, &self.channel_hashes, &other.sets.tally(id), false)?;
        }
        self.merge_rest(other, &map, value);
        Ok(())
    }

    /// Merges what `other` holds besides its sets (its channels mapped by `map`),
    /// the total value being `value`.
    fn merge_rest(&mut self, other: &ShapleyCounts, map: &[u32], value: Decimal) {
        for (&(c, p, d), t) in &other.positions {
            let e = self.positions.entry((map[c as usize], p, d)).or_default();
            e.conversions += t.conversions;
            e.value += t.value;
        }
        self.longest = self.longest.max(other.longest);
        self.conversions += other.conversions;
        self.nulls += other.nulls;
        self.value = value;
        self.rows += other.rows;
    }

    /// Merges `others` in order, exactly as [`ShapleyCounts::merge`] of each in turn
    /// would (the same tally, bit for bit), on up to `threads` threads: the channel
    /// sets are kept in hash shards by their channels' names, so each shard merges on
    /// its own. Merging a few partial tallies at a time this way, rather than one by
    /// one, is what keeps a single thread from folding every block's sets.
    ///
    /// ```
    /// use revops::{Channel, Decimal, PathRow, attribution::ShapleyCounts};
    /// # fn main() -> Result<(), revops::Error> {
    /// let row = |p: &[&str], c: f64| -> Result<PathRow, revops::Error> {
    ///     let path = p.iter().map(|s| Channel::new(*s)).collect::<Result<_, _>>()?;
    ///     Ok(PathRow::new(path, c, Decimal::new(10, 0), 1.0))
    /// };
    /// let rows = [row(&["a", "b"], 2.0)?, row(&["b"], 1.0)?, row(&["b", "a"], 1.0)?];
    /// let mut parts = Vec::new();
    /// for r in &rows {
    ///     let mut part = ShapleyCounts::default();
    ///     part.add(r)?;
    ///     parts.push(part);
    /// }
    /// let mut all = ShapleyCounts::default();
    /// all.merge_all_on(&parts, 2)?;
    /// let mut whole = ShapleyCounts::default();
    /// whole.add_batch(&rows)?;
    /// assert_eq!(all.finish()?, whole.finish()?);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`ShapleyCounts::merge`]: a tally built under other options or a total
    /// value beyond a [`Decimal`] is refused before anything is merged; beyond the
    /// limit of distinct channel sets the sets merged so far stay merged (as with
    /// `merge`).
    pub fn merge_all_on(&mut self, others: &[ShapleyCounts], threads: usize) -> Result<()> {
        let mut value = self.value;
        for other in others {
            if self.options != other.options {
                return Err(options_differ(
                    "Shapley counts",
                    format!("{:?}", self.options),
                    format!("{:?}", other.options),
                ));
            }
            value = value.checked_add(other.value).ok_or_else(|| {
                Error::from(ErrorKind::Overflow {
                    operation: "Shapley total value",
                })
            })?;
        }
        let maps: Vec<Vec<u32>> = others
            .iter()
            .map(|o| o.channels.iter().map(|c| self.intern(c)).collect())
            .collect();
        let hashes = &self.channel_hashes;
        let threads = threads.clamp(1, SHARDS);
        let mut lanes: Vec<Vec<(usize, &mut SetShard)>> =
            (0..threads).map(|_| Vec::new()).collect();
        for (s, shard) in self.sets.shards_mut().iter_mut().enumerate() {
            lanes[s % threads].push((s, shard));
        }
        let mut lanes = lanes.into_iter();
        let first = lanes.next().unwrap_or_default();
        let merged = std::thread::scope(|scope| {
            let helpers: Vec<_> = lanes
                .map(|lane| scope.spawn(|| merge_lane(lane, others, &maps, hashes)))
                .collect();
            let mut merged = merge_lane(first, others, &maps, hashes);
            for h in helpers {
                // A panic there is a bug: it propagates as the panic it is.
                let r = h
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                merged = merged.and(r);
            }
            merged
        });
        merged?;
        for (other, map) in others.iter().zip(&maps) {
            self.merge_rest(other, map, value);
        }
        Ok(())
    }

    /// The channels sorted by name, and each channel id's rank in that order.
    fn ranks(&self) -> (Vec<Channel>, Vec<u32>) {
        let mut order: Vec<u32> = (0..self.channels.len() as u32).collect();
        order.sort_by(|&a, &b| self.channels[a as usize].cmp(&self.channels[b as usize]));
        let mut rank = vec![0u32; order.len()];
        for (r, &id) in order.iter().enumerate() {
            rank[id as usize] = r as u32;
        }
        let channels = order
            .iter()
            .map(|&id| self.channels[id as usize].clone())
            .collect();
        (channels, rank)
    }

    fn canonical(&self) -> (Canonical<'_>, Vec<u32>) {
        self.canonical_on(1)
    }

    /// [`ShapleyCounts::canonical`] built on up to `threads` threads (the same
    /// result).
    fn canonical_on(&self, threads: usize) -> (Canonical<'_>, Vec<u32>) {
        let (channels, rank) = self.ranks();
        let table = &self.sets;
        // Per shard, its members as ranks, each set's sorted.
        let ranked: Vec<Vec<u32>> = par::map_on(&table.shards, threads, |shard| {
            let mut ranked: Vec<u32> = shard.members.iter().map(|&c| rank[c as usize]).collect();
            for i in 0..shard.len() {
                sort_ids(&mut ranked[shard.range(i)]);
            }
            ranked
        });
        let key = |id: u32| -> &[u32] {
            let s = id as usize & (SHARDS - 1);
            &ranked[s][table.shards[s].range((id >> SHARD_BITS) as usize)]
        };
        // Sorted by the first four ranks packed into a word (rank + 1 in 16 bits
        // each, zero after the end, so that a prefix comes first) when ranks fit,
        // the whole rank lists breaking ties; the order is that of the rank lists
        // (no two sets are equal). With each set's id and length.
        let prefix = |id: u32| -> u64 {
            if channels.len() >= 0xffff {
                return 0;
            }
            key(id)
                .iter()
                .take(4)
                .enumerate()
                .fold(0u64, |k, (i, &r)| k | (u64::from(r) + 1) << (48 - 16 * i))
        };
        // Sized up front: the ids come shard by shard, of no known length.
        let mut keyed: Vec<(u64, u32, u32)> = Vec::with_capacity(table.len());
        keyed.extend(table.ids().map(|id| (prefix(id), id, key(id).len() as u32)));
        par::sort_on(&mut keyed, threads, |a, b| {
            a.0.cmp(&b.0).then_with(|| key(a.1).cmp(key(b.1)))
        });
        let (members, ends, counts) = Self::lay_out(&keyed, threads, key, |id| table.counts(id));
        let order: Vec<u32> = keyed.iter().map(|&(_, id, _)| id).collect();
        drop(keyed);
        drop(ranked);
        (
            Canonical {
                channels,
                members,
                ends,
                counts,
                order,
                table,
            },
            rank,
        )
    }

    /// The sets `keyed` (id and members' count) laid out in that order, on up to
    /// `threads` threads: their members (`key`) one after the other, the end of
    /// each, and their `counts`.
    #[allow(clippy::type_complexity)]
    fn lay_out<'k>(
        keyed: &[(u64, u32, u32)],
        threads: usize,
        key: impl Fn(u32) -> &'k [u32] + Sync,
        counts: impl Fn(u32) -> (f64, f64) + Sync,
    ) -> (Vec<u32>, Vec<usize>, Vec<(f64, f64)>) {
        let total: usize = keyed.iter().map(|k| k.2 as usize).sum();
        let mut members = vec![0u32; total];
        let mut ends = vec![0usize; keyed.len()];
        let mut count = vec![(0.0, 0.0); keyed.len()];
        // Each run of sets fills its own part of the three (a run's members start
        // where the runs before it end).
        let mut parts = Vec::new();
        {
            let (mut m, mut e, mut c) = (&mut members[..], &mut ends[..], &mut count[..]);
            let per = keyed.len().div_ceil(threads.max(1)).max(1);
            let mut start = 0usize;
            for run in keyed.chunks(per) {
                let len: usize = run.iter().map(|k| k.2 as usize).sum();
                let (m_run, m_rest) = std::mem::take(&mut m).split_at_mut(len);
                let (e_run, e_rest) = std::mem::take(&mut e).split_at_mut(run.len());
                let (c_run, c_rest) = std::mem::take(&mut c).split_at_mut(run.len());
                (m, e, c) = (m_rest, e_rest, c_rest);
                parts.push((run, start, m_run, e_run, c_run));
                start += len;
            }
        }
        par::for_runs_on(&mut parts, threads, |_, runs| {
            for (run, start, m, e, c) in runs.iter_mut() {
                let mut at = 0;
                for (k, &(_, id, len)) in run.iter().enumerate() {
                    let next = at + len as usize;
                    m[at..next].copy_from_slice(key(id));
                    at = next;
                    e[k] = *start + at;
                    c[k] = counts(id);
                }
            }
        });
        (members, ends, count)
    }

    fn credits(
        &self,
        channels: &[Channel],
        conv: &[f64],
        value: &[f64],
        se: &[f64],
    ) -> ShapleyCredits {
        ShapleyCredits {
            credits: channels
                .iter()
                .enumerate()
                .map(|(i, c)| ShapleyCredit {
                    channel: c.clone(),
                    conversions: conv[i],
                    value: value[i],
                    std_error: se[i],
                })
                .collect(),
            total_conversions: self.conversions,
            total_value: self.value,
        }
    }

    /// The simplified Shapley value: each unique channel set's conversions and value
    /// split equally over its channels.
    ///
    /// ```
    /// use revops::{Channel, Decimal, PathRow, attribution::ShapleyCounts};
    /// # fn main() -> Result<(), revops::Error> {
    /// let ch = |s: &str| Channel::new(s);
    /// let mut t = ShapleyCounts::default();
    /// // repeats and order do not matter: {a, b} twice
    /// t.add(&PathRow::new(vec![ch("a")?, ch("b")?, ch("a")?], 3.0, Decimal::ZERO, 0.0))?;
    /// t.add(&PathRow::new(vec![ch("b")?, ch("a")?], 1.0, Decimal::ZERO, 5.0))?;
    /// assert_eq!(t.simplified().channel("a").unwrap().conversions, 2.0);
    /// # Ok(()) }
    /// ```
    pub fn simplified(&self) -> ShapleyCredits {
        let (canon, _) = self.canonical();
        let n = canon.channels.len();
        let mut conv = vec![0.0; n];
        let mut value = vec![0.0; n];
        for (key, t) in canon.sets() {
            let k = key.len() as f64;
            let v = t.value.to_f64().unwrap_or(0.0);
            for &c in key.iter() {
                conv[c as usize] += t.conversions / k;
                value[c as usize] += v / k;
            }
        }
        self.credits(&canon.channels, &conv, &value, &vec![0.0; n])
    }

    /// The ordered Shapley value: the simplified credit split by touch position.
    ///
    /// ```
    /// use revops::{Channel, Decimal, PathRow, attribution::ShapleyCounts};
    /// # fn main() -> Result<(), revops::Error> {
    /// let ch = |s: &str| Channel::new(s);
    /// let mut t = ShapleyCounts::default();
    /// // a's half goes to positions 0 and 2, b's half to position 1
    /// t.add(&PathRow::new(vec![ch("a")?, ch("b")?, ch("a")?], 4.0, Decimal::ZERO, 0.0))?;
    /// let o = t.ordered()?;
    /// assert_eq!(o.channel("a").unwrap().conversions, [1.0, 0.0, 1.0]);
    /// assert_eq!(o.channel("b").unwrap().conversions, [0.0, 2.0, 0.0]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::LimitExceeded`](crate::error::ErrorKind::LimitExceeded) beyond [`ShapleyOptions::max_ordered_cells`] (of the
    /// options given at [`ShapleyCounts::new`]), checked before allocating.
    pub fn ordered(&self) -> Result<OrderedShapley> {
        self.options
            .check_ordered(self.channels.len(), self.longest)?;
        let (channels, rank) = self.ranks();
        let mut keys: Vec<(u32, u32, u64, PositionTally)> = self
            .positions
            .iter()
            .map(|(&(c, p, d), &t)| (rank[c as usize], p, d, t))
            .collect();
        keys.sort_by_key(|a| (a.0, a.1, a.2));
        let positions = self.longest;
        let mut credits: Vec<OrderedCredit> = channels
            .iter()
            .map(|c| OrderedCredit {
                channel: c.clone(),
                conversions: vec![0.0; positions],
                value: vec![0.0; positions],
            })
            .collect();
        for (c, p, d, t) in keys {
            let credit = &mut credits[c as usize];
            credit.conversions[p as usize] += t.conversions / d as f64;
            credit.value[p as usize] += t.value.to_f64().unwrap_or(0.0) / d as f64;
        }
        Ok(OrderedShapley { positions, credits })
    }

    /// The Shao–Li second-order probabilistic model.
    ///
    /// # Errors
    /// [`ErrorKind::LimitExceeded`](crate::error::ErrorKind::LimitExceeded) beyond [`ShapleyOptions::max_channels`] (of the
    /// options given at [`ShapleyCounts::new`]), checked before allocating.
    pub fn shao_li(&self) -> Result<ShaoLi> {
        self.options.check_channels(self.channels.len())?;
        let (canon, _) = self.canonical();
        let n = canon.channels.len();
        let mut touched = vec![(0.0f64, 0.0f64); n];
        for (key, &(conversions, nulls)) in
            (0..canon.len()).map(|g| canon.key(g)).zip(&canon.counts)
        {
            for &i in key {
                touched[i as usize].0 += conversions;
                touched[i as usize].1 += nulls;
            }
        }
        let rate = |(c, n): (f64, f64)| if c + n > 0.0 { c / (c + n) } else { 0.0 };
        let touch_rates: Vec<f64> = touched.iter().map(|&t| rate(t)).collect();
        let mut sum = vec![0.0; n];
        let mut count = vec![0usize; n];
        pair_sums(&canon, |i, j, t| {
            if t.0 + t.1 <= 0.0 {
                return;
            }
            let (i, j) = (i as usize, j as usize);
            let d = rate(t) - touch_rates[i] - touch_rates[j];
            sum[i] += d;
            sum[j] += d;
            count[i] += 1;
            count[j] += 1;
        });
        let contributions: Vec<f64> = (0..n)
            .map(|i| {
                if count[i] > 0 {
                    touch_rates[i] + sum[i] / (2.0 * count[i] as f64)
                } else {
                    touch_rates[i]
                }
            })
            .collect();
        let total: f64 = contributions.iter().sum();
        let value = self.value.to_f64().unwrap_or(0.0);
        let shares: Vec<f64> = contributions
            .iter()
            .map(|&c| if total > 0.0 { c / total } else { 0.0 })
            .collect();
        let conv: Vec<f64> = shares.iter().map(|s| s * self.conversions).collect();
        let val: Vec<f64> = shares.iter().map(|s| s * value).collect();
        Ok(ShaoLi {
            credits: self.credits(&canon.channels, &conv, &val, &vec![0.0; n]),
            touch_rates,
            contributions,
        })
    }

    /// The conversion-rate Shapley value (conventions on [`shapley_attribution`]),
    /// under the universe and method of the options given at [`ShapleyCounts::new`].
    ///
    /// ```
    /// use revops::{Channel, Decimal, PathRow, attribution::ShapleyCounts, attribution::ShapleyOptions};
    /// # fn main() -> Result<(), revops::Error> {
    /// let ch = |s: &str| Channel::new(s);
    /// let mut t = ShapleyCounts::new(ShapleyOptions::default())?;
    /// t.add(&PathRow::new(vec![ch("a")?], 1.0, Decimal::ZERO, 1.0))?; // v(a) = 1/2
    /// t.add(&PathRow::new(vec![ch("b")?], 0.0, Decimal::ZERO, 4.0))?; // v(b) = 0
    /// t.add(&PathRow::new(vec![ch("a")?, ch("b")?], 3.0, Decimal::ZERO, 1.0))?; // v(ab) = 3/4
    /// let r = t.conversion_rate()?;
    /// // game {a, b}: φa = (1/2 + (3/4 − 0)) / 2 = 5/8, φb = (0 + 3/4 − 1/2) / 2 = 1/8;
    /// // its 3 conversions split 5 : 1, game {a} gives a its 1 conversion.
    /// assert!((r.credits.channel("a").unwrap().conversions - 3.5).abs() < 1e-12);
    /// assert!((r.credits.channel("b").unwrap().conversions - 0.5).abs() < 1e-12);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) naming `permutations` if sampling is asked with
    /// fewer than 2; [`ErrorKind::LimitExceeded`](crate::error::ErrorKind::LimitExceeded) beyond
    /// [`ShapleyOptions::max_channels`], checked before allocating.
    pub fn conversion_rate(&self) -> Result<RateShapley> {
        self.conversion_rate_on(1)
    }

    /// [`ShapleyCounts::conversion_rate`] with the games solved on up to `threads`
    /// threads (`std::thread::scope`; 0 or 1: on the calling thread). Each game is
    /// solved alone and the results are added up in one fixed order, so the result
    /// is the same, bit for bit, for every number of threads.
    ///
    /// ```
    /// use revops::{Channel, Decimal, PathRow, attribution::ShapleyCounts};
    /// # fn main() -> Result<(), revops::Error> {
    /// let ch = |s: &str| Channel::new(s);
    /// let mut t = ShapleyCounts::default();
    /// t.add(&PathRow::new(vec![ch("a")?], 1.0, Decimal::ZERO, 1.0))?;
    /// t.add(&PathRow::new(vec![ch("a")?, ch("b")?], 3.0, Decimal::ZERO, 1.0))?;
    /// assert_eq!(t.conversion_rate_on(4)?, t.conversion_rate()?);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`ShapleyCounts::conversion_rate`].
    pub fn conversion_rate_on(&self, threads: usize) -> Result<RateShapley> {
        self.conversion_rate_split(threads, GAMES_PER_CHUNK, GAMES_PER_WINDOW)
    }

    /// [`ShapleyCounts::conversion_rate_on`] with the games handed out `chunk` at a
    /// time and added up `window` at a time.
    fn conversion_rate_split(
        &self,
        threads: usize,
        chunk: usize,
        window: usize,
    ) -> Result<RateShapley> {
        let options = self.options;
        options.validate()?;
        options.check_channels(self.channels.len())?;
        let (canon, _) = self.canonical_on(threads);
        let nch = canon.channels.len();
        let rates: Vec<f64> = canon
            .counts
            .iter()
            .map(|&(c, n)| {
                let w = c + n;
                if w > 0.0 { c / w } else { 0.0 }
            })
            .collect();
        let mut sums = RateSums {
            conv: vec![0.0; nch],
            value: vec![0.0; nch],
            var: vec![0.0; nch],
            games: 0,
            sampled_games: 0,
        };
        let (shapley_values, grand_coalition_rate) = match options.universe {
            ShapleyUniverse::PerJourneySet => {
                let split = Split {
                    threads,
                    chunk,
                    window,
                };
                Self::per_journey_set(&canon, &rates, options.method, split, &mut sums)?;
                (None, None)
            }
            ShapleyUniverse::AllChannels => {
                let (phi, grand) = self.all_channels(&canon, &rates, &mut sums);
                (Some(phi), Some(grand))
            }
        };
        let se: Vec<f64> = sums.var.iter().map(|v| v.sqrt()).collect();
        Ok(RateShapley {
            options,
            credits: self.credits(&canon.channels, &sums.conv, &sums.value, &se),
            shapley_values,
            grand_coalition_rate,
            games: sums.games,
            sampled_games: sums.sampled_games,
        })
    }

    /// One game per converting set: its conversions and value split by the game's
    /// Shapley values, added to `sums` in the sets' order.
    fn per_journey_set(
        canon: &Canonical<'_>,
        rates: &[f64],
        method: ShapleyMethod,
        split: Split,
        sums: &mut RateSums,
    ) -> Result<()> {
        let games: Vec<u32> = (0..canon.len() as u32)
            .filter(|&g| canon.counts[g as usize].0 > 0.0)
            .collect();
        let solver = SetGames {
            subsets: Subsets::new(canon.channels.len(), rates, split.threads, |i| canon.key(i))?,
            canon,
            rates,
            method,
        };
        solver.solve_all(&games, split, |g, phi, se, sampled, scale| {
            sums.games += 1;
            sums.sampled_games += usize::from(sampled);
            let members = canon.key(g);
            let GameScale {
                journeys,
                value_scale,
            } = scale;
            for (local, &c) in members.iter().enumerate() {
                sums.conv[c as usize] += journeys * phi[local];
                sums.value[c as usize] += value_scale * phi[local];
                sums.var[c as usize] += (journeys * se[local]).powi(2);
            }
        });
        Ok(())
    }

    /// One game over every channel: the raw Shapley values and `v(N)`; credits
    /// scaled to the total conversions when `v(N) > 0`.
    fn all_channels(
        &self,
        canon: &Canonical<'_>,
        rates: &[f64],
        sums: &mut RateSums,
    ) -> (Vec<f64>, f64) {
        let nch = canon.channels.len();
        let members: Vec<u32> = (0..nch as u32).collect();
        let game = Game {
            n: nch,
            coalitions: canon
                .sets()
                .zip(rates)
                .filter(|(_, r)| **r != 0.0)
                .map(|((k, _), &r)| (k.to_vec(), r))
                .collect(),
        };
        let grand = canon
            .sets()
            .zip(rates)
            .find(|((k, _), _)| k.len() == nch)
            .map_or(0.0, |(_, &r)| r);
        let (phi, se, sampled) = if nch == 0 {
            (Vec::new(), Vec::new(), false)
        } else {
            game.solve(self.options.method, &members)
        };
        sums.games = usize::from(nch > 0);
        sums.sampled_games = usize::from(sampled);
        let (cs, vs) = if grand > 0.0 {
            (
                self.conversions / grand,
                self.value.to_f64().unwrap_or(0.0) / grand,
            )
        } else {
            (0.0, 0.0)
        };
        for j in 0..nch {
            sums.conv[j] = cs * phi[j];
            sums.value[j] = vs * phi[j];
            sums.var[j] = (cs * se[j]).powi(2);
        }
        (phi, grand)
    }

    /// Every model: simplified, ordered, conversion-rate and Shao–Li, under the
    /// options given at [`ShapleyCounts::new`].
    ///
    /// ```
    /// use revops::{Channel, Decimal, PathRow, attribution::ShapleyCounts, attribution::ShapleyOptions};
    /// # fn main() -> Result<(), revops::Error> {
    /// let mut t = ShapleyCounts::new(ShapleyOptions::default())?;
    /// t.add(&PathRow::new(vec![Channel::new("a")?], 2.0, Decimal::ZERO, 2.0))?;
    /// let r = t.finish()?;
    /// assert_eq!(r.simplified, r.conversion_rate.credits);
    /// assert_eq!(t.rows(), 1);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`ShapleyCounts::conversion_rate`], [`ShapleyCounts::ordered`] and
    /// [`ShapleyCounts::shao_li`]: every limit is checked before any model runs.
    pub fn finish(&self) -> Result<ShapleyReport> {
        let options = self.options;
        options.validate()?;
        options.check_channels(self.channels.len())?;
        options.check_ordered(self.channels.len(), self.longest)?;
        Ok(ShapleyReport {
            simplified: self.simplified(),
            ordered: self.ordered()?,
            conversion_rate: self.conversion_rate()?,
            shao_li: self.shao_li()?,
        })
    }
}

/// Most channels whose pairs Shao–Li sums in a dense triangle (16 bytes a pair:
/// 32 MB at 2,048 channels) rather than in a map of the pairs met.
const DENSE_PAIR_CHANNELS: usize = 2_048;

/// `f(i, j, (conversions, nulls))` for every pair of ranks `i < j` that share a set,
/// summed over the sets in rank order, pairs in ascending `(i, j)`; with a dense
/// table (few channels) also for pairs never met, with zero sums.
fn pair_sums(canon: &Canonical<'_>, f: impl FnMut(u32, u32, (f64, f64))) {
    pair_sums_dense_up_to(canon, DENSE_PAIR_CHANNELS, f);
}

/// [`pair_sums`], dense up to `dense` channels.
fn pair_sums_dense_up_to(
    canon: &Canonical<'_>,
    dense: usize,
    mut f: impl FnMut(u32, u32, (f64, f64)),
) {
    let n = canon.channels.len();
    let sets = (0..canon.len()).map(|g| canon.key(g)).zip(&canon.counts);
    if n <= dense {
        // Row i holds the pairs (i, j > i).
        let row = |i: usize| i * (2 * n - i - 1) / 2;
        let mut pairs = vec![(0.0f64, 0.0f64); n * n.saturating_sub(1) / 2];
        for (key, &(conversions, nulls)) in sets {
            for (a, &i) in key.iter().enumerate() {
                let (i, at) = (i as usize, row(i as usize));
                for &j in &key[a + 1..] {
                    let e = &mut pairs[at + j as usize - i - 1];
                    e.0 += conversions;
                    e.1 += nulls;
                }
            }
        }
        for i in 0..n {
            for j in i + 1..n {
                f(i as u32, j as u32, pairs[row(i) + j - i - 1]);
            }
        }
        return;
    }
    let mut pairs: FastMap<(u32, u32), (f64, f64)> = FastMap::default();
    for (key, &(conversions, nulls)) in sets {
        for (a, &i) in key.iter().enumerate() {
            for &j in &key[a + 1..] {
                let e = pairs.entry((i, j)).or_default();
                e.0 += conversions;
                e.1 += nulls;
            }
        }
    }
    let mut pairs: Vec<((u32, u32), (f64, f64))> = pairs.into_iter().collect();
    pairs.sort_by_key(|a| a.0);
    for ((i, j), t) in pairs {
        f(i, j, t);
    }
}

/// The serialised partial state of [`ShapleyCounts`] (version 1), borrowed.
#[derive(Serialize)]
struct ShapleyStateOut<'a> {
    version: StateVersion<1>,
    options: &'a ShapleyOptions,
    channels: &'a [Channel],
    sets: Vec<(&'a [u32], f64, f64, Decimal)>,
    positions: Vec<(u32, u32, u64, f64, Decimal)>,
    longest: usize,
    conversions: f64,
    nulls: f64,
    value: Decimal,
    rows: usize,
}

/// The serialised partial state of [`ShapleyCounts`] (version 1), read back and
/// checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShapleyStateIn {
    #[serde(rename = "version")]
    _version: StateVersion<1>,
    options: ShapleyOptions,
    channels: Vec<Channel>,
    sets: Vec<(Vec<u32>, f64, f64, Decimal)>,
    positions: Vec<(u32, u32, u64, f64, Decimal)>,
    longest: usize,
    conversions: f64,
    nulls: f64,
    value: Decimal,
    rows: usize,
}

impl Serialize for ShapleyCounts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut positions: Vec<(u32, u32, u64, f64, Decimal)> = self
            .positions
            .iter()
            .map(|(&(c, p, d), t)| (c, p, d, t.conversions, t.value))
            .collect();
        positions.sort_by_key(|p| (p.0, p.1, p.2));
        ShapleyStateOut {
            version: StateVersion,
            options: &self.options,
            channels: &self.channels,
            sets: {
                let mut sets = Vec::with_capacity(self.sets.len());
                sets.extend(self.sets.ids().map(|id| {
                    let t = self.sets.tally(id);
                    (self.sets.key(id), t.conversions, t.nulls, t.value)
                }));
                sets.sort_unstable_by(|a, b| a.0.cmp(b.0));
                sets
            },
            positions,
            longest: self.longest,
            conversions: self.conversions,
            nulls: self.nulls,
            value: self.value,
            rows: self.rows,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for ShapleyCounts {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let state = ShapleyStateIn::deserialize(d)?;
        ShapleyCounts::try_from(state).map_err(serde::de::Error::custom)
    }
}

const SHAPLEY_STATE: &str = "Shapley counts";

fn check_value(v: Decimal) -> Result<()> {
    if v.is_sign_negative() && !v.is_zero() {
        return Err(bad_state(SHAPLEY_STATE, format!("a negative value {v}")));
    }
    Ok(())
}

impl TryFrom<ShapleyStateIn> for ShapleyCounts {
    type Error = Error;

    fn try_from(st: ShapleyStateIn) -> Result<Self> {
        let mut c = ShapleyCounts::new(st.options)?;
        for ch in &st.channels {
            if c.channel_ids.contains_key(ch.as_str()) {
                return Err(bad_state(
                    SHAPLEY_STATE,
                    format!("channel {ch} is listed twice"),
                ));
            }
            c.intern(ch);
        }
        let n = c.channels.len();
        for (members, conversions, nulls, value) in &st.sets {
            if members.is_empty() || !members.is_sorted_by(|a, b| a < b) {
                return Err(bad_state(
                    SHAPLEY_STATE,
                    "a channel set is empty or its members are not sorted and distinct",
                ));
            }
            for &m in members {
                check_index(SHAPLEY_STATE, "channel", m, n)?;
            }
            check_count(SHAPLEY_STATE, "conversions", *conversions)?;
            check_count(SHAPLEY_STATE, "nulls", *nulls)?;
            check_value(*value)?;
            let t = SetTally {
                conversions: *conversions,
                nulls: *nulls,
                value: *value,
            };
            if !c.sets.add(members, &c.channel_hashes, &t, true)? {
                return Err(bad_state(SHAPLEY_STATE, "a channel set is listed twice"));
            }
        }
        for &(ch, position, divisor, conversions, value) in &st.positions {
            check_index(SHAPLEY_STATE, "channel", ch, n)?;
            check_index(SHAPLEY_STATE, "position", position, st.longest)?;
            if divisor == 0 {
                return Err(bad_state(SHAPLEY_STATE, "a position divisor of 0"));
            }
            check_count(SHAPLEY_STATE, "conversions", conversions)?;
            check_value(value)?;
            let t = PositionTally { conversions, value };
            if c.positions.insert((ch, position, divisor), t).is_some() {
                return Err(bad_state(SHAPLEY_STATE, "a position is listed twice"));
            }
        }
        check_count(SHAPLEY_STATE, "conversions", st.conversions)?;
        check_count(SHAPLEY_STATE, "nulls", st.nulls)?;
        check_value(st.value)?;
        c.longest = st.longest;
        c.conversions = st.conversions;
        c.nulls = st.nulls;
        c.value = st.value;
        c.rows = st.rows;
        Ok(c)
    }
}

impl Accumulator for ShapleyCounts {
    type Item = PathRow;
    type Output = ShapleyReport;
    const STATE_VERSION: u32 = 1;

    fn add(&mut self, item: &PathRow) -> Result<()> {
        ShapleyCounts::add(self, item)
    }

    fn add_batch<'a, I>(&mut self, items: I) -> Result<()>
    where
        I: IntoIterator<Item = &'a PathRow>,
    {
        ShapleyCounts::add_batch(self, items)
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        ShapleyCounts::merge(self, other)
    }

    fn finish(&self) -> Result<ShapleyReport> {
        ShapleyCounts::finish(self)
    }
}

/// A cooperative game with `n` players whose worth is zero outside the listed
/// coalitions (players numbered `0..n`, members sorted).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Game {
    pub(crate) n: usize,
    pub(crate) coalitions: Vec<(Vec<u32>, f64)>,
}

/// The exact Shapley weights of a game of `n` players: `w[s] = s! (n−s−1)! / n! =
/// 1 / (n · C(n−1, s))` for `s < n`, and `w[n] = 0`. The binomials are built up to
/// the middle and mirrored (`C(n−1, s) = C(n−1, n−1−s)`), so a middle that overflows
/// to ∞ (`n` > ~1030) gives weights 0 there without spoiling the ends.
fn shapley_weights(n: usize, w: &mut Vec<f64>) {
    w.clear();
    w.resize(n + 1, 0.0);
    let mut binom = 1.0f64;
    for s in 0..n.div_ceil(2) {
        let ws = 1.0 / (n as f64 * binom);
        w[s] = ws;
        w[n - 1 - s] = ws;
        binom = binom * (n - 1 - s) as f64 / (s + 1) as f64;
    }
}

/// The exact Shapley values' running sums: `phi` takes each coalition's gain, in
/// the order given, and `base` what every player loses to it (added at the end).
struct ExactSums<'w> {
    w: &'w [f64],
    base: f64,
}

impl ExactSums<'_> {
    /// Adds coalition `members` (positions, any order) worth `v`.
    #[inline]
    fn add(&mut self, phi: &mut [f64], members: &[u32], v: f64) {
        let t = members.len();
        self.base -= v * self.w[t];
        let gain = v * (self.w[t - 1] + self.w[t]);
        for &j in members {
            phi[j as usize] += gain;
        }
    }

    fn finish(self, phi: &mut [f64]) {
        phi.iter_mut().for_each(|p| *p += self.base);
    }
}

impl Game {
    /// Whether the coalitions of a game of `n` players are summed in the order of
    /// their bit masks (as enumerating its `2ⁿ` subsets finds them, when that is
    /// fewer than the `sets` observed) rather than in the order of the sets.
    #[inline]
    fn enumerates(n: usize, sets: usize) -> bool {
        n < 24 && (1usize << n) <= sets
    }

    /// `(values, standard errors, sampled?)` under `method`; `label` seeds sampling.
    fn solve(&self, method: ShapleyMethod, label: &[u32]) -> (Vec<f64>, Vec<f64>, bool) {
        match sampled_orders(method, self.n) {
            Some((permutations, seed)) => {
                let (phi, se) = self.sample(permutations, game_seed(seed, label));
                (phi, se, true)
            }
            None => (self.exact(), vec![0.0; self.n], false),
        }
    }

    /// Exact Shapley values by the sum over observed coalitions.
    pub(crate) fn exact(&self) -> Vec<f64> {
        let mut w = Vec::new();
        shapley_weights(self.n, &mut w);
        let mut phi = vec![0.0; self.n];
        let mut sums = ExactSums { w: &w, base: 0.0 };
        for (members, v) in &self.coalitions {
            sums.add(&mut phi, members, *v);
        }
        sums.finish(&mut phi);
        phi
    }

    /// Permutation-sampling estimate: mean marginal contribution over `m` seeded
    /// random orders, and the standard error of each mean.
    pub(crate) fn sample(&self, m: u32, seed: u64) -> (Vec<f64>, Vec<f64>) {
        let n = self.n;
        let words = n.div_ceil(64).max(1);
        let mut worth: FastMap<Box<[u64]>, f64> = FastMap::default();
        for (members, v) in &self.coalitions {
            let mut key = vec![0u64; words];
            for &j in members {
                key[j as usize / 64] |= 1 << (j % 64);
            }
            worth.insert(key.into_boxed_slice(), *v);
        }
        let mut rng = SplitMix64::new(seed);
        let mut order: Vec<usize> = (0..n).collect();
        let mut prefix = vec![0u64; words];
        let mut mean = vec![0.0; n];
        let mut m2 = vec![0.0; n];
        for k in 1..=m {
            for i in (1..n).rev() {
                let j = rng.below(i as u64 + 1) as usize;
                order.swap(i, j);
            }
            prefix.iter_mut().for_each(|x| *x = 0);
            let mut previous = 0.0;
            for &p in &order {
                prefix[p / 64] |= 1 << (p % 64);
                let v = worth.get(&prefix[..]).copied().unwrap_or(0.0);
                let x = v - previous;
                previous = v;
                // Welford's running mean and sum of squared deviations.
                let d = x - mean[p];
                mean[p] += d / f64::from(k);
                m2[p] += d * (x - mean[p]);
            }
        }
        let mf = f64::from(m);
        let se = m2.iter().map(|s| (s / (mf - 1.0) / mf).sqrt()).collect();
        (mean, se)
    }
}

/// `Some((orders, seed))` if a game of `n` players is sampled under `method`.
fn sampled_orders(method: ShapleyMethod, n: usize) -> Option<(u32, u64)> {
    match method {
        ShapleyMethod::Exact => None,
        ShapleyMethod::Sampling { permutations, seed } => Some((permutations, seed)),
        ShapleyMethod::Auto {
            exact_up_to,
            permutations,
            seed,
        } => (n > exact_up_to as usize).then_some((permutations, seed)),
    }
}

/// Per-channel sums of the conversion-rate credits, and the games played.
struct RateSums {
    conv: Vec<f64>,
    value: Vec<f64>,
    var: Vec<f64>,
    games: usize,
    sampled_games: usize,
}

/// How the games are shared out: threads, games per piece of work, games solved
/// before their values are added up.
#[derive(Debug, Clone, Copy)]
struct Split {
    threads: usize,
    chunk: usize,
    window: usize,
}

/// Games per piece of work handed to a thread.
const GAMES_PER_CHUNK: usize = 256;
/// Games solved before their values are added up (bounds the values held).
const GAMES_PER_WINDOW: usize = 1 << 14;

/// The per-journey-set games of a tally: one per converting set, its worthy
/// coalitions found in [`Subsets`].
struct SetGames<'c> {
    canon: &'c Canonical<'c>,
    subsets: Subsets,
    /// Per set (rank order): its worth, the conversion rate.
    rates: &'c [f64],
    method: ShapleyMethod,
}

/// What scales a per-journey-set game's values into credits: the journeys with
/// its set, `c(S) + n(S) = c(S) / v(S)`, and its value over `v(S)`. Found where
/// the game is solved, so that adding the credits up in order reads no tally.
#[derive(Debug, Clone, Copy)]
struct GameScale {
    journeys: f64,
    value_scale: f64,
}

/// The solutions of consecutive games: values and standard errors, each game's
/// aligned with its members, one after the other.
#[derive(Default)]
struct Solved {
    phi: Vec<f64>,
    se: Vec<f64>,
    sampled: Vec<bool>,
    scale: Vec<GameScale>,
}

/// One thread's reusable buffers.
#[derive(Default)]
struct Scratch {
    walk: Walk,
    w: Vec<f64>,
    /// Coalitions met out of the order summed: (set, start and end in `positions`, worth).
    hits: Vec<(u32, usize, usize, f64)>,
    positions: Vec<u32>,
}

impl SetGames<'_> {
    /// Solves game `g` (a set index), appending to `out`.
    fn solve(&self, g: usize, scratch: &mut Scratch, out: &mut Solved) {
        out.scale.push(self.scale(g));
        let members = self.canon.key(g);
        let n = members.len();
        let start = out.phi.len();
        if let Some((orders, seed)) = sampled_orders(self.method, n) {
            let (phi, se) = self
                .game(members, scratch)
                .sample(orders, game_seed(seed, members));
            out.phi.extend(phi);
            out.se.extend(se);
            out.sampled.push(true);
            return;
        }
        out.phi.resize(start + n, 0.0);
        out.se.resize(start + n, 0.0);
        out.sampled.push(false);
        let phi = &mut out.phi[start..];
        shapley_weights(n, &mut scratch.w);
        let mut sums = ExactSums {
            w: &scratch.w,
            base: 0.0,
        };
        if Game::enumerates(n, self.canon.len()) {
            // The walk meets the coalitions in the order of their masks.
            self.subsets
                .walk(members, &mut scratch.walk, |positions, _, v| {
                    sums.add(phi, positions, v);
                });
        } else {
            // In the order of the sets.
            let Scratch {
                walk,
                hits,
                positions: all,
                ..
            } = scratch;
            hits.clear();
            all.clear();
            self.subsets.walk(members, walk, |positions, set, v| {
                hits.push((set, all.len(), all.len() + positions.len(), v));
                all.extend_from_slice(positions);
            });
            hits.sort_unstable_by_key(|h| h.0);
            for &(_, from, to, v) in hits.iter() {
                sums.add(phi, &all[from..to], v);
            }
        }
        sums.finish(phi);
    }

    /// The scale of game `g` (a set index).
    fn scale(&self, g: usize) -> GameScale {
        let (_, tally) = self.canon.set(g);
        // c(S) / v(S) = c(S) + n(S): the journeys with this set.
        GameScale {
            journeys: tally.conversions + tally.nulls,
            value_scale: tally.value.to_f64().unwrap_or(0.0) / self.rates[g].max(f64::MIN_POSITIVE),
        }
    }

    /// The game on `members` as a list of coalitions (for sampling).
    fn game(&self, members: &[u32], scratch: &mut Scratch) -> Game {
        let mut coalitions = Vec::new();
        self.subsets
            .walk(members, &mut scratch.walk, |positions, _, v| {
                coalitions.push((positions.iter().rev().copied().collect(), v));
            });
        Game {
            n: members.len(),
            coalitions,
        }
    }

    /// Solves `games` on up to `threads` threads and hands each game's solution to
    /// `take` in the order of `games`: `take(game, values, standard errors,
    /// sampled?, scale)`. Every game is solved the same way on any thread, so the result
    /// does not depend on the number of threads.
    fn solve_all(
        &self,
        games: &[u32],
        split: Split,
        mut take: impl FnMut(usize, &[f64], &[f64], bool, GameScale),
    ) {
        for window in games.chunks(split.window.max(1)) {
            for solved in self.solve_window(window, split) {
                let mut at = 0;
                for (k, &g) in solved.games.iter().enumerate() {
                    let n = self.canon.key(g as usize).len();
                    let (phi, se) = (&solved.out.phi[at..at + n], &solved.out.se[at..at + n]);
                    take(
                        g as usize,
                        phi,
                        se,
                        solved.out.sampled[k],
                        solved.out.scale[k],
                    );
                    at += n;
                }
            }
        }
    }

    /// The chunks of `window`, solved on up to `threads` threads, in order.
    fn solve_window<'g>(&self, window: &'g [u32], split: Split) -> Vec<ChunkSolved<'g>> {
        let chunks: Vec<&[u32]> = window.chunks(split.chunk.max(1)).collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let work = || {
            let mut scratch = Scratch::default();
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&games) = chunks.get(i) else {
                    return done;
                };
                let mut out = Solved::default();
                for &g in games {
                    self.solve(g as usize, &mut scratch, &mut out);
                }
                done.push((i, ChunkSolved { games, out }));
            }
        };
        let threads = split.threads.clamp(1, chunks.len().max(1));
        let mut done = if threads == 1 {
            work()
        } else {
            std::thread::scope(|scope| {
                let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
                let mut done = work();
                for h in helpers {
                    // A panic there is a bug: it propagates as the panic it is.
                    done.extend(
                        h.join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                    );
                }
                done
            })
        };
        done.sort_unstable_by_key(|d| d.0);
        done.into_iter().map(|d| d.1).collect()
    }
}

/// A chunk of games and their solutions.
struct ChunkSolved<'g> {
    games: &'g [u32],
    out: Solved,
}

fn game_seed(seed: u64, label: &[u32]) -> u64 {
    let mut h = FxHasher::default();
    h.write_u64(seed);
    for &c in label {
        h.write_u32(c);
    }
    h.finish() ^ seed
}

/// Every Shapley-family model of path rows.
///
/// All four models read the same mergeable tally, [`ShapleyCounts`]: for each
/// **unique channel set** `S` (the distinct channels of a path, order and repeats
/// ignored) the summed conversions `c(S)`, nulls `n(S)` and value of its rows, plus
/// the per-position tallies of the ordered form.
///
/// # Simplified Shapley ([`ShapleyCounts::simplified`])
///
/// Each set's conversions (and value) are split equally over its channels:
/// `φⱼ = Σ_{S ∋ j} c(S) / |S|`. This is exactly the Shapley value of the game whose
/// worth is the subset-closed sum `v(A) = Σ_{S ⊆ A} c(S)` (Zhao, Mahboobi & Bagheri,
/// 2018, "Shapley value methods for attribution modeling in online advertising",
/// the "simplified Shapley value"). Efficiency: the credits sum to the total
/// conversions.
///
/// # Ordered Shapley ([`ShapleyCounts::ordered`])
///
/// The same credit, further split by touch position (Zhao et al., the "ordered
/// Shapley value"). For a row with unique channel set `S` and path `p₁ … p_m`
/// (positions counted from 0 on the path as given, repeats included), channel `j`
/// at position `i` gets
///
/// ```text
/// φⱼ⁽ⁱ⁾ += c(row) / |S| × [pᵢ = j] / #{i' : p_{i'} = j}
/// ```
///
/// i.e. a channel's equal share of the row is divided equally over the positions
/// where it appears. Summing over positions gives the simplified Shapley value.
///
/// # Conversion-rate Shapley ([`ShapleyCounts::conversion_rate`])
///
/// The worth of a coalition `A` is the conversion rate of the journeys whose channel
/// set is **exactly** `A` (not a subset-closed sum):
/// `v(A) = c(A) / (c(A) + n(A))`; a coalition that no journey has exactly, or whose
/// journeys have zero weight, is worth `v(A) = 0`, as is the empty coalition. The
/// Shapley value is `φⱼ = Σ_{A ⊆ N∖{j}} |A|! (|N|−|A|−1)! / |N|! · (v(A ∪ {j}) − v(A))`.
///
/// Two universes ([`ShapleyUniverse`]):
/// - [`PerJourneySet`](ShapleyUniverse::PerJourneySet) (default): one game per set `S`
///   that has conversions, whose players are the channels of `S` (coalitions are the
///   observed subsets of `S`). Efficiency gives `Σⱼ φⱼ = v(S)`, so the set's
///   conversions are split as `c(S) · φⱼ / v(S) = (c(S) + n(S)) · φⱼ`, and its value
///   in the same proportions. Credits sum to the total conversions.
/// - [`AllChannels`](ShapleyUniverse::AllChannels): one game over every channel seen.
///   `Σⱼ φⱼ = v(N)`, the rate of journeys that touched every channel (often 0: no
///   journey touches them all). Credits are `φⱼ · total conversions / v(N)` when
///   `v(N) > 0`, and 0 otherwise; the raw `φⱼ` are in
///   [`RateShapley::shapley_values`].
///
/// A channel whose arrival lowers the rate gets a **negative** credit: that is the
/// Shapley value, not an error. Money splits handle signed credits (see
/// [`ShapleyCredits::value_split`]).
///
/// Methods ([`ShapleyMethod`]):
/// - [`Exact`](ShapleyMethod::Exact) (default): exact for any number of players.
///   Since `v` is zero outside the observed coalitions, substituting `T = A ∪ {j}`
///   gives `φⱼ = Σ_{T ∋ j} w(|T|−1) v(T) − Σ_{T ∌ j} w(|T|) v(T)` over the observed
///   coalitions `T` only, with `w(s) = s! (n−s−1)! / n!`: cost `O(Σ |T|)` per game
///   after finding the coalitions (a walk of a trie of the worthy sets that follows
///   only the subsets of the game's set that begin one; summed in the order of the
///   subsets' bit masks when `2ⁿ` is at most the number of observed sets, in the
///   order of the sets otherwise). No cap on the number of channels. Games are
///   independent: [`ShapleyCounts::conversion_rate_on`] solves them on several
///   threads with the same result.
/// - [`Sampling`](ShapleyMethod::Sampling): the permutation-sampling estimate (mean
///   marginal contribution over seeded uniform random orders), with the standard
///   error of the mean per channel; efficiency holds exactly for every sample.
/// - [`Auto`](ShapleyMethod::Auto): exact for games of at most `exact_up_to` players
///   (16 suggested), sampling above.
///
/// Sampling is deterministic: each game's generator (SplitMix64, Fisher–Yates
/// shuffles with Lemire's unbiased bounded draws) is seeded from the seed and the
/// game's channels.
///
/// # Shao–Li ([`ShapleyCounts::shao_li`])
///
/// The second-order probabilistic model of Shao & Li (2011, "Data-driven multi-touch
/// attribution models", KDD): with `p(i)` the conversion rate of the journeys that
/// touched `i` and `p(i, j)` that of the journeys that touched both,
///
/// ```text
/// C(i) = p(i) + 1 / (2 · N_i) · Σ_{j ≠ i} (p(i, j) − p(i) − p(j))
/// ```
///
/// where the sum and the count `N_i` run over the channels `j` that share at least
/// one journey with `i` (a pair never seen together has no rate and is skipped;
/// `C(i) = p(i)` if there is none). Credits are `C(i) / Σ C × total` (conversions
/// and value); all zero if `Σ C ≤ 0`.
///
/// # Determinism and merging
///
/// [`ShapleyCounts`] is a monoid (`Default`, [`add`](ShapleyCounts::add),
/// [`merge`](ShapleyCounts::merge)) and the models are its finishers. Channels are
/// interned to dense ids as met but every finisher works in name order, so the row
/// order does not matter; with integer counts the results are bit-for-bit identical.
///
/// # Examples
///
/// ```
/// use revops::{Channel, Decimal, PathRow, attribution::ShapleyCounts};
/// # fn main() -> Result<(), revops::Error> {
/// let ch = |s: &str| Channel::new(s);
/// let mut t = ShapleyCounts::default();
/// t.add(&PathRow::new(vec![ch("a")?, ch("b")?, ch("a")?], 2.0, Decimal::new(20, 0), 0.0))?;
/// t.add(&PathRow::new(vec![ch("b")?], 1.0, Decimal::new(10, 0), 1.0))?;
/// let s = t.simplified();
/// assert_eq!(s.channel("a").unwrap().conversions, 1.0);
/// assert_eq!(s.channel("b").unwrap().conversions, 2.0);
/// # Ok(()) }
/// ```
///
/// ```
/// use revops::{Channel, Decimal, PathRow, attribution::ShapleyOptions, attribution::shapley_attribution};
/// # fn main() -> Result<(), revops::Error> {
/// let ch = |s: &str| Channel::new(s);
/// let rows = [
///     PathRow::new(vec![ch("a")?, ch("b")?], 2.0, Decimal::new(200, 0), 2.0),
///     PathRow::new(vec![ch("a")?], 1.0, Decimal::new(100, 0), 3.0),
/// ];
/// let r = shapley_attribution(&rows, ShapleyOptions::default())?;
/// let total: f64 = r.conversion_rate.credits.credits.iter().map(|c| c.conversions).sum();
/// assert!((total - 3.0).abs() < 1e-12);
/// # Ok(()) }
/// ```
///
/// # Errors
/// As [`ShapleyCounts::add`] and [`ShapleyCounts::finish`] (the limits of [`ShapleyOptions`]).
pub fn shapley_attribution(rows: &[PathRow], options: ShapleyOptions) -> Result<ShapleyReport> {
    let mut t = ShapleyCounts::new(options)?;
    t.add_batch(rows)?;
    t.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shapley values by the textbook sum over all subsets.
    fn brute(game: &Game) -> Vec<f64> {
        let n = game.n;
        let v = |mask: u32| -> f64 {
            game.coalitions
                .iter()
                .find(|(m, _)| m.iter().fold(0u32, |a, &j| a | 1 << j) == mask)
                .map_or(0.0, |(_, v)| *v)
        };
        let fact = |k: usize| (1..=k).map(|x| x as f64).product::<f64>();
        (0..n)
            .map(|j| {
                let mut phi = 0.0;
                for mask in 0u32..(1 << n) {
                    if mask & (1 << j) != 0 {
                        continue;
                    }
                    let s = mask.count_ones() as usize;
                    let w = fact(s) * fact(n - s - 1) / fact(n);
                    phi += w * (v(mask | 1 << j) - v(mask));
                }
                phi
            })
            .collect()
    }

    #[test]
    fn sparse_exact_matches_brute_force() {
        let game = Game {
            n: 5,
            coalitions: vec![
                (vec![0], 0.3),
                (vec![1, 2], 0.5),
                (vec![0, 1, 3], 0.2),
                (vec![0, 1, 2, 3, 4], 0.9),
                (vec![4], 0.1),
                (vec![2, 4], 0.05),
            ],
        };
        let e = game.exact();
        let b = brute(&game);
        for (x, y) in e.iter().zip(&b) {
            assert!((x - y).abs() < 1e-14, "{e:?} vs {b:?}");
        }
        assert!((e.iter().sum::<f64>() - 0.9).abs() < 1e-14);
    }

    #[test]
    fn exact_weights_survive_large_games() {
        // 2,000 players: only the grand coalition and one singleton have worth.
        let n = 2_000;
        let game = Game {
            n,
            coalitions: vec![((0..n as u32).collect(), 1.0), (vec![7], 0.5)],
        };
        let phi = game.exact();
        // Additivity: the grand coalition gives 1/n each; the singleton {7} worth 0.5
        // gives 7 0.5 · w(0) = 0.5/n and takes 0.5 · w(1) = 0.5/(n(n−1)) from each other.
        let nf = n as f64;
        assert!((phi[7] - 1.5 / nf).abs() < 1e-15);
        assert!((phi[0] - (1.0 / nf - 0.5 / (nf * (nf - 1.0)))).abs() < 1e-15);
        assert!((phi.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[cfg(feature = "synth")]
    #[test]
    fn games_solved_on_any_threads_agree_exactly() {
        // Enough converting sets for many chunks and windows, games of up to 8
        // players, both orders of summing (mask and set order), every method.
        let mut rows: Vec<PathRow> = crate::synth::path_rows(
            &crate::synth::PathsConfig::default()
                .with_journeys(4_000)
                .with_channels(30),
        )
        .unwrap()
        .collect();
        // Long journeys: games of more players than enumerating pays for (summed
        // in set order).
        let mut channels: Vec<Channel> = rows.iter().flat_map(|r| r.path.clone()).collect();
        channels.sort();
        channels.dedup();
        for (k, len) in [14, 15, 16, 20].into_iter().enumerate() {
            let path = channels.iter().skip(k).take(len).cloned().collect();
            rows.push(PathRow::new(path, 2.0, Decimal::new(10, 0), 1.0));
        }
        let methods = [
            ShapleyMethod::Exact,
            ShapleyMethod::Sampling {
                permutations: 8,
                seed: 5,
            },
            ShapleyMethod::Auto {
                exact_up_to: 3,
                permutations: 8,
                seed: 5,
            },
        ];
        for method in methods {
            let mut t = ShapleyCounts::new(ShapleyOptions::default().with_method(method)).unwrap();
            t.add_batch(&rows).unwrap();
            let one = t.conversion_rate().unwrap();
            assert!(one.games > 300, "{}", one.games);
            for (threads, chunk, window) in [(2, 1, 7), (3, 5, 64), (8, 256, 1 << 14), (4, 2, 1)] {
                let many = t.conversion_rate_split(threads, chunk, window).unwrap();
                assert_eq!(many, one, "{method:?} {threads} {chunk} {window}");
                // Bit for bit, not merely equal as floats.
                for (a, b) in many.credits.credits.iter().zip(&one.credits.credits) {
                    assert_eq!(a.conversions.to_bits(), b.conversions.to_bits());
                    assert_eq!(a.value.to_bits(), b.value.to_bits());
                    assert_eq!(a.std_error.to_bits(), b.std_error.to_bits());
                }
            }
            assert_eq!(t.conversion_rate_on(2).unwrap(), one);
        }
    }

    #[test]
    fn dense_and_sparse_pair_sums_agree() {
        let ch = |s: &str| Channel::new(s).unwrap();
        let mut t = ShapleyCounts::default();
        for (path, c, n) in [
            ("a b c", 1.5, 2.0),
            ("c d", 0.0, 0.0),
            ("b c d e", 2.0, 1.0),
            ("e", 1.0, 0.0),
            ("a c", 0.25, 3.0),
        ] {
            let path = path.split(' ').map(ch).collect();
            t.add(&PathRow::new(path, c, Decimal::ZERO, n)).unwrap();
        }
        let (canon, _) = t.canonical();
        let met = |dense| {
            let mut v = Vec::new();
            pair_sums_dense_up_to(&canon, dense, |i, j, s| {
                if s != (0.0, 0.0) {
                    v.push((i, j, s));
                }
            });
            v
        };
        let dense = met(5);
        assert_eq!(dense, met(4));
        assert_eq!(dense.len(), 8, "{dense:?}");
        assert_eq!(dense[0], (0, 1, (1.5, 2.0)));
    }

    #[test]
    fn bounded_draws_cover_the_range() {
        let mut r = SplitMix64::new(1);
        let mut seen = [0u32; 7];
        for _ in 0..7000 {
            seen[r.below(7) as usize] += 1;
        }
        assert!(seen.iter().all(|&s| s > 800), "{seen:?}");
    }

    #[test]
    fn ids_sort_as_the_general_sort_at_every_length() {
        let mut rng = SplitMix64::new(5);
        for len in 0..40 {
            for _ in 0..20 {
                let mut v: Vec<u32> = (0..len).map(|_| (rng.next_u64() % 7) as u32).collect();
                let mut want = v.clone();
                want.sort_unstable();
                sort_ids(&mut v);
                assert_eq!(v, want);
            }
        }
    }

    #[test]
    fn a_set_hashes_alike_whatever_its_ids_and_order() {
        let names = ["search", "email", "social"].map(|n| Channel::new(n).unwrap());
        let hashes: Vec<u64> = names.iter().map(channel_hash).collect();
        let reversed: Vec<u64> = hashes.iter().rev().copied().collect();
        // {search, social} as ids 0 and 2 here, 2 and 0 there.
        assert_eq!(hash_set(&[0, 2], &hashes), hash_set(&[0, 2], &reversed));
        assert_ne!(hash_set(&[0, 2], &hashes), hash_set(&[0, 1], &hashes));
        assert_ne!(hash_set(&[0], &hashes), hash_set(&[0, 1], &hashes));
    }

    #[test]
    fn signed_split_sums_exactly() {
        let total = Decimal::new(10_000, 2);
        let parts = split_money(total, Currency::USD, &[0.7, -0.2, 0.5]).unwrap();
        let sum: Decimal = parts.iter().map(Money::amount).sum();
        assert_eq!(sum, total);
        assert!(parts[1].is_negative());
        assert_eq!(parts[0].amount(), Decimal::new(7_000, 2));
        assert!(split_money(total, Currency::USD, &[1.0, -1.0]).is_err());
        assert!(split_money(total, Currency::USD, &[0.0, 0.0]).is_err());
        assert_eq!(
            split_money(Decimal::ZERO, Currency::USD, &[0.0]).unwrap(),
            [Money::zero(Currency::USD)]
        );
    }
}
