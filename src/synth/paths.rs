//! Aggregated journeys (`paths.csv` rows) in any number, for benchmarks of the
//! path readers and the data-driven models.

use super::rng::{Rng, cumulative, exp};
use crate::error::{Error, ErrorKind, Result};
use crate::ids::Channel;
use crate::records::PathRow;
use rust_decimal::Decimal;

/// The stream of path rows of one seed.
const DOMAIN: u64 = 0x5041_5448; // "PATH"

/// The channel names used first (then `ch13`, `ch14`, …).
const NAMES: [&str; 12] = [
    "paid_search",
    "organic_search",
    "email",
    "webinar",
    "paid_social",
    "organic_social",
    "display",
    "events",
    "content_syndication",
    "partner",
    "direct",
    "referral",
];

/// How many path rows [`path_rows`] makes, over how many channels, from which seed.
///
/// Each row is one journey (`1` conversion and a value, or `1` null): a path of
/// `1 + G` touches (`G` geometric, continuing with probability 0.55, at most 11 more),
/// each touch's channel drawn with weight `1 / (rank + 1)` (a few channels carry most
/// touches, as in real data); the journey converts with probability
/// `σ(−2.5 + Σ lift)` over its distinct channels, each channel's lift drawn once per
/// seed in \[0, 0.5), and its value is lognormal (median 1,000, σ 0.8) in cents.
/// Row `i` draws only from its own stream `(seed, i)`, so the rows are the same on
/// every platform and can be made in any order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathsConfig {
    /// Rows (journeys) to make.
    pub journeys: u64,
    /// Distinct channels (at least 1): the 12 named ones first, then `ch13`, `ch14`, ….
    pub channels: usize,
    /// The seed.
    pub seed: u64,
}

impl Default for PathsConfig {
    /// 100,000 journeys over the 12 named channels, seed 7.
    fn default() -> Self {
        PathsConfig {
            journeys: 100_000,
            channels: NAMES.len(),
            seed: 7,
        }
    }
}

impl PathsConfig {
    /// Sets the number of rows (journeys).
    #[must_use]
    pub fn with_journeys(mut self, journeys: u64) -> Self {
        self.journeys = journeys;
        self
    }

    /// Sets the number of channels.
    #[must_use]
    pub fn with_channels(mut self, channels: usize) -> Self {
        self.channels = channels;
        self
    }

    /// Sets the seed.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// The most channels [`path_rows`] makes (its per-channel tables are this long).
pub const MAX_PATH_CHANNELS: usize = 1_000_000;

/// The path rows of `config`, one journey each, made one at a time (constant
/// memory: nothing is held but the channels), deterministic by seed. See
/// [`PathsConfig`] for the model.
///
/// ```
/// use revops::synth::{PathsConfig, path_rows};
/// # fn main() -> Result<(), revops::Error> {
/// let config = PathsConfig::default().with_journeys(1_000).with_channels(500);
/// let rows: Vec<_> = path_rows(&config)?.collect();
/// assert_eq!(rows.len(), 1_000);
/// assert!(rows.iter().all(|r| r.conversions + r.nulls == 1.0));
/// // Same configuration, same rows.
/// assert!(path_rows(&config)?.eq(rows));
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`ErrorKind::InvalidParameter`] naming `channels` if it is 0 or above
/// [`MAX_PATH_CHANNELS`].
pub fn path_rows(config: &PathsConfig) -> Result<impl Iterator<Item = PathRow> + use<>> {
    if config.channels == 0 || config.channels > MAX_PATH_CHANNELS {
        return Err(Error::from(ErrorKind::InvalidParameter {
            name: "channels",
            value: config.channels.to_string(),
            reason: format!("must be between 1 and {MAX_PATH_CHANNELS}"),
        }));
    }
    let mut names = Vec::with_capacity(config.channels);
    for i in 0..config.channels {
        let name = match NAMES.get(i) {
            Some(n) => (*n).to_string(),
            None => format!("ch{}", i + 1),
        };
        names.push(Channel::new(name)?);
    }
    let mut lifts = Rng::stream(config.seed, DOMAIN, u64::MAX);
    let lift: Vec<f64> = (0..config.channels)
        .map(|_| 0.5 * lifts.uniform())
        .collect();
    let weights = cumulative((0..config.channels).map(|i| 1.0 / (i + 1) as f64));
    let seed = config.seed;
    let mut seen = vec![false; config.channels];
    let mut picked: Vec<usize> = Vec::new();
    Ok((0..config.journeys).map(move |i| {
        let mut rng = Rng::stream(seed, DOMAIN, i);
        let touches = 1 + rng.geometric(0.55, 11);
        picked.clear();
        let mut eta = -2.5;
        for _ in 0..touches {
            let c = rng.categorical(&weights);
            if !seen[c] {
                seen[c] = true;
                eta += lift[c];
            }
            picked.push(c);
        }
        for &c in &picked {
            seen[c] = false;
        }
        let path = picked.iter().map(|&c| names[c].clone()).collect();
        if rng.bernoulli(1.0 / (1.0 + exp(-eta))) {
            let cents = (100_000.0 * rng.lognormal(1.0, 0.8)).round().max(1.0);
            PathRow::new(path, 1.0, Decimal::new(cents as i64, 2), 0.0)
        } else {
            PathRow::new(path, 0.0, Decimal::ZERO, 1.0)
        }
    }))
}
