//! Scoring a model's channel shares against a known per-channel effect.

use crate::error::ErrorKind;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::credit::Attribution;
use super::markov::MarkovReport;
use super::shapley::{RateShapley, ShapleyCredits};
use crate::error::{Error, Result};
use crate::ids::Channel;

/// Anything that gives conversions per channel: a model's output or a known truth.
///
/// The amounts need not sum to anything in particular; [`score_against_truth`]
/// normalises both sides to shares.
///
/// ```
/// use revops::{Channel, attribution::ChannelConversions, Decimal, attribution::MarkovOptions, PathRow, attribution::markov_attribution};
/// # fn main() -> Result<(), revops::Error> {
/// let rows = [PathRow::new(vec![Channel::new("a")?, Channel::new("b")?], 2.0, Decimal::ZERO, 2.0)];
/// let r = markov_attribution(&rows, MarkovOptions::default())?;
/// let c = r.channel_conversions();
/// assert_eq!(c.len(), 2);
/// assert!((c[0].1 + c[1].1 - 2.0).abs() < 1e-12);
/// # Ok(()) }
/// ```
pub trait ChannelConversions {
    /// One `(channel, conversions)` pair per channel.
    fn channel_conversions(&self) -> Vec<(Channel, f64)>;
}

impl ChannelConversions for Attribution {
    /// Credited conversions per channel.
    fn channel_conversions(&self) -> Vec<(Channel, f64)> {
        self.channels
            .iter()
            .map(|c| (c.channel.clone(), c.conversions))
            .collect()
    }
}

impl ChannelConversions for MarkovReport {
    /// Conversions per channel (`share × total conversions`).
    fn channel_conversions(&self) -> Vec<(Channel, f64)> {
        self.channels
            .iter()
            .map(|c| (c.channel.clone(), c.conversions))
            .collect()
    }
}

impl ChannelConversions for ShapleyCredits {
    /// Credited conversions per channel.
    fn channel_conversions(&self) -> Vec<(Channel, f64)> {
        self.credits
            .iter()
            .map(|c| (c.channel.clone(), c.conversions))
            .collect()
    }
}

impl ChannelConversions for RateShapley {
    /// Credited conversions per channel (of [`RateShapley::credits`]).
    fn channel_conversions(&self) -> Vec<(Channel, f64)> {
        self.credits.channel_conversions()
    }
}

impl ChannelConversions for [(Channel, f64)] {
    /// The pairs as given.
    fn channel_conversions(&self) -> Vec<(Channel, f64)> {
        self.to_vec()
    }
}

/// One channel of a [`TruthScore`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelShareError {
    /// The channel.
    pub channel: Channel,
    /// The model's share (0 when the model does not name the channel).
    pub model_share: f64,
    /// The true share (0 when the truth does not name the channel).
    pub true_share: f64,
}

/// How well a model's channel shares match a known per-channel effect.
///
/// See [`score_against_truth`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthScore {
    /// Every channel named on either side, sorted by name.
    pub channels: Vec<ChannelShareError>,
    /// Spearman rank correlation between model and true shares over
    /// [`TruthScore::channels`], in \[−1, 1\] (ties get their average rank); `None`
    /// with fewer than two channels or when either side has all shares equal.
    pub rank_correlation: Option<f64>,
    /// `Σ |model share − true share|`: 0 is a perfect split; with non-negative
    /// amounts it lies in \[0, 2\], 2 meaning the model credits only channels with no
    /// true effect (a negative credit, as a Shapley value can be, may push it higher).
    pub l1_share_error: f64,
}

/// Scores a model's per-channel conversions against the true per-channel effect.
///
/// Both sides are normalised to shares summing to 1 (a side whose sum is not
/// positive gets all shares 0); a channel named twice on one side is summed; a
/// channel missing on one side counts as 0 there. Amounts may be negative (a
/// conversion-rate Shapley value can be): its share is negative too. Reports the Spearman rank correlation (Pearson
/// correlation of the average ranks) and the L1 share error. Use
/// [`ChannelConversions`] to get the pairs from a model's output or from
/// the synthetic company's `synth::Truth` (feature `synth`).
///
/// # Errors
/// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) if an amount is not finite.
///
/// ```
/// use revops::{Channel, attribution::score_against_truth};
/// # fn main() -> Result<(), revops::Error> {
/// let c = |s: &str| Channel::new(s).unwrap();
/// let truth = [(c("search"), 60.0), (c("email"), 30.0), (c("social"), 10.0)];
/// // right order, wrong split; a channel with no true effect gets a little credit
/// let model = [(c("search"), 5.0), (c("email"), 3.0), (c("social"), 1.0), (c("tv"), 1.0)];
/// let s = score_against_truth(&model, &truth)?;
/// // shares 0.5/0.3/0.1/0.1 vs 0.6/0.3/0.1/0: |−0.1| + 0 + 0 + 0.1
/// assert!((s.l1_share_error - 0.2).abs() < 1e-12);
/// // ranks (ties averaged): model 4,3,1.5,1.5 vs truth 4,3,2,1
/// let rho = s.rank_correlation.unwrap();
/// assert!(rho > 0.9 && rho < 1.0);
/// assert_eq!(s.channels.len(), 4);
/// # Ok(()) }
/// ```
pub fn score_against_truth(
    model: &[(Channel, f64)],
    truth: &[(Channel, f64)],
) -> Result<TruthScore> {
    let mut both: BTreeMap<Channel, [f64; 2]> = BTreeMap::new();
    for (side, pairs) in [model, truth].into_iter().enumerate() {
        for (channel, amount) in pairs {
            if !amount.is_finite() {
                return Err(Error::from(ErrorKind::InvalidParameter {
                    name: if side == 0 { "model" } else { "truth" },
                    value: format!("{channel} = {amount}"),
                    reason: "per-channel conversions must be finite".into(),
                }));
            }
            both.entry(channel.clone()).or_insert([0.0; 2])[side] += amount;
        }
    }
    let mut totals = [0.0f64; 2];
    for v in both.values() {
        totals[0] += v[0];
        totals[1] += v[1];
    }
    let share = |x: f64, t: f64| if t > 0.0 { x / t } else { 0.0 };
    let channels: Vec<ChannelShareError> = both
        .into_iter()
        .map(|(channel, v)| ChannelShareError {
            channel,
            model_share: share(v[0], totals[0]),
            true_share: share(v[1], totals[1]),
        })
        .collect();
    let l1_share_error = channels
        .iter()
        .map(|c| (c.model_share - c.true_share).abs())
        .sum();
    let m: Vec<f64> = channels.iter().map(|c| c.model_share).collect();
    let t: Vec<f64> = channels.iter().map(|c| c.true_share).collect();
    Ok(TruthScore {
        rank_correlation: spearman(&m, &t),
        channels,
        l1_share_error,
    })
}

/// Average ranks (1-based) of `x`; ties share the mean of their positions.
fn ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && x[order[j + 1]] == x[order[i]] {
            j += 1;
        }
        // positions i..=j (0-based) → ranks i+1..=j+1, average (i + j)/2 + 1
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

fn spearman(a: &[f64], b: &[f64]) -> Option<f64> {
    let n = a.len();
    if n < 2 {
        return None;
    }
    let (ra, rb) = (ranks(a), ranks(b));
    let mean = (n as f64 + 1.0) / 2.0;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        let (dx, dy) = (x - mean, y - mean);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    if saa == 0.0 || sbb == 0.0 {
        return None;
    }
    Some((sab / (saa * sbb).sqrt()).clamp(-1.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_average_ties() {
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), vec![3.5, 1.0, 3.5, 2.0]);
        assert_eq!(spearman(&[1.0, 1.0], &[1.0, 2.0]), None);
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), Some(-1.0));
    }
}
