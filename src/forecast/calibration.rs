//! Calibration and ranking of probabilities; the conventions are stated in the
//! [module documentation](crate::forecast).

use crate::error::ErrorKind;
use serde::{Deserialize, Serialize};

use super::{Sum, defined, same_options};
use crate::accumulate::{Accumulator, StateVersion};
use crate::error::{Error, RecordRef, Result};
use crate::ratio::{Confidence, Interval, Ratio};
use crate::records::check_probability;

/// The clipping bound of [`ScoreSummary::log_loss`]: probabilities are clipped to
/// `[LOG_LOSS_EPSILON, 1 − LOG_LOSS_EPSILON]` before taking logarithms, as
/// scikit-learn's `log_loss` did with its `eps=1e-15`.
pub const LOG_LOSS_EPSILON: f64 = 1e-15;

/// The largest number of reliability bins accepted (bins are allocated up
/// front).
const MAX_BINS: usize = 1_000_000;

// ---------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------

/// How a predicted event turned out.
///
/// `Open` is a censored outcome (a deal not yet closed, a lead still being
/// worked): it is counted and excluded from every measure, never taken as a
/// loss. A `bool` converts as `true → Won`, `false → Lost`.
///
/// ```
/// use revops::forecast::Outcome;
/// assert_eq!(Outcome::from(true), Outcome::Won);
/// assert_eq!(Outcome::Lost.won(), Some(false));
/// assert_eq!(Outcome::Open.won(), None);
/// assert!(!Outcome::Open.is_resolved());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The event happened (y = 1): the deal was won, the lead converted.
    Won,
    /// The event did not happen (y = 0).
    Lost,
    /// Not known yet (censored): excluded from the measures.
    Open,
}

impl Outcome {
    /// `Some(true)` for `Won`, `Some(false)` for `Lost`, `None` for `Open`.
    #[must_use]
    pub fn won(self) -> Option<bool> {
        match self {
            Outcome::Won => Some(true),
            Outcome::Lost => Some(false),
            Outcome::Open => None,
        }
    }

    /// Whether the outcome is known (`Won` or `Lost`).
    #[must_use]
    pub fn is_resolved(self) -> bool {
        self != Outcome::Open
    }
}

impl From<bool> for Outcome {
    fn from(won: bool) -> Self {
        if won { Outcome::Won } else { Outcome::Lost }
    }
}

/// A probability given to a binary event, with how the event turned out and an
/// optional id (named in errors).
///
/// ```
/// use revops::{forecast::Outcome, forecast::Prediction};
/// let p = Prediction::new(0.35, Outcome::Open).with_id("OPP-12");
/// assert!(p.validate().is_ok());
/// let bad = Prediction::new(1.5, Outcome::Won).with_id("OPP-13");
/// assert_eq!(
///     bad.validate().unwrap_err().at_index(4).to_string(),
///     "prediction #4 (id OPP-13): field `probability`: a probability must be a finite number in [0, 1], got 1.5"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The predicted probability that the event happens, in `[0, 1]`.
    pub probability: f64,
    /// How it turned out.
    pub outcome: Outcome,
    /// An identifier (deal, lead), if any.
    #[serde(default)]
    pub id: Option<String>,
}

impl Prediction {
    /// A prediction without an id.
    pub fn new(probability: f64, outcome: impl Into<Outcome>) -> Prediction {
        Prediction {
            probability,
            outcome: outcome.into(),
            id: None,
        }
    }

    /// Sets the id.
    #[must_use]
    pub fn with_id(mut self, id: impl Into<String>) -> Prediction {
        self.id = Some(id.into());
        self
    }

    /// Checks that the probability is a finite number in `[0, 1]`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) (field `probability`) naming the prediction by
    /// its id, if any; add its position with [`Error::at_index`].
    pub fn validate(&self) -> Result<()> {
        check_probability(Some(self.probability), || self.record(), "probability")
    }

    fn record(&self) -> RecordRef {
        let r = RecordRef::new("prediction");
        match &self.id {
            Some(id) => r.with_id(id),
            None => r,
        }
    }
}

fn index_of(i: u64) -> usize {
    usize::try_from(i).unwrap_or(usize::MAX)
}

/// Checks every prediction of a batch whose first is input number `start`.
fn check_all<'a>(predictions: impl Iterator<Item = &'a Prediction>, start: u64) -> Result<()> {
    for (i, p) in predictions.enumerate() {
        p.validate()
            .map_err(|e| e.at_index(index_of(start + i as u64)))?;
    }
    Ok(())
}

/// `-0.0` becomes `0.0`, so that sorting with `total_cmp` keeps ties together.
#[inline]
fn normalised(p: f64) -> f64 {
    p + 0.0
}

// ---------------------------------------------------------------------------
// Constant-memory scores
// ---------------------------------------------------------------------------

/// The constant-memory accumulator of probability scores: counts, Brier score,
/// log loss and mean probability.
///
/// Use it when AUC and reliability bins are not needed (they need every
/// probability: see [`Calibration`]). It follows the [`Accumulator`] contract
/// and has no options: [`new`](ProbabilityScores::new) (or [`Default`]) is empty;
/// [`add`](ProbabilityScores::add) records one [`Prediction`],
/// [`add_pair`](ProbabilityScores::add_pair) a bare probability and outcome,
/// [`add_batch`](ProbabilityScores::add_batch) a slice;
/// [`merge`](ProbabilityScores::merge) appends another accumulator's input;
/// [`finish`](ProbabilityScores::finish) gives the [`ScoreSummary`].
///
/// # Serialised form
///
/// `{"version": 1, "seen": 3, "won": 1, "lost": 1, "open": 1, "brier": S,
/// "log_loss": S, "probability": S}`, each `S` a compensated sum
/// `{"hi": …, "lo": …}`; the version ([`STATE_VERSION`](Accumulator::STATE_VERSION))
/// is refused when it is another number.
///
/// ```
/// use revops::{forecast::Outcome, forecast::ProbabilityScores, Ratio};
/// # fn main() -> Result<(), revops::Error> {
/// let mut s = ProbabilityScores::new();
/// s.add_pair(0.75, Outcome::Won)?;
/// s.add_pair(0.25, true)?;
/// s.add_pair(0.5, Outcome::Open)?; // counted, not scored
/// let summary = s.finish()?;
/// assert_eq!(summary.base_rate, Ratio::new(2, 2));
/// assert_eq!(summary.open, 1);
/// assert_eq!(summary.brier, Some((0.0625 + 0.5625) / 2.0));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbabilityScores {
    version: StateVersion<1>,
    /// Predictions offered (all outcomes).
    seen: u64,
    won: u64,
    lost: u64,
    open: u64,
    /// `Σ (p − y)²` over resolved predictions.
    brier: Sum,
    /// `Σ −[y ln p + (1 − y) ln(1 − p)]` with clipped `p`.
    log_loss: Sum,
    /// `Σ p` over resolved predictions.
    probability: Sum,
}

impl ProbabilityScores {
    /// An empty accumulator (the same as [`Default`]).
    #[must_use]
    pub fn new() -> ProbabilityScores {
        ProbabilityScores::default()
    }

    /// Records one probability and its outcome.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the prediction by its position among the
    /// inputs of this accumulator when `probability` is not a finite number in
    /// `[0, 1]`; the accumulator is then unchanged.
    pub fn add_pair(&mut self, probability: f64, outcome: impl Into<Outcome>) -> Result<()> {
        let index = index_of(self.seen);
        check_probability(
            Some(probability),
            || RecordRef::new("prediction").with_index(index),
            "probability",
        )?;
        self.push(normalised(probability), outcome.into());
        Ok(())
    }

    /// Records one [`Prediction`].
    ///
    /// ```
    /// use revops::{forecast::Outcome, forecast::Prediction, forecast::ProbabilityScores};
    /// # fn main() -> Result<(), revops::Error> {
    /// let mut s = ProbabilityScores::new();
    /// s.add(&Prediction::new(0.8, Outcome::Won).with_id("OPP-1"))?;
    /// let err = s.add(&Prediction::new(-0.2, Outcome::Lost).with_id("OPP-2")).unwrap_err();
    /// assert!(err.to_string().starts_with("prediction #1 (id OPP-2): field `probability`"));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`add_pair`](ProbabilityScores::add_pair), naming the prediction's id too.
    pub fn add(&mut self, prediction: &Prediction) -> Result<()> {
        prediction
            .validate()
            .map_err(|e| e.at_index(index_of(self.seen)))?;
        self.push(normalised(prediction.probability), prediction.outcome);
        Ok(())
    }

    /// Records many predictions, all or none: every prediction is checked before
    /// any is recorded.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the first invalid prediction (position
    /// among this accumulator's inputs, and id); nothing is recorded then.
    pub fn add_batch(&mut self, predictions: &[Prediction]) -> Result<()> {
        check_all(predictions.iter(), self.seen)?;
        for p in predictions {
            self.push(normalised(p.probability), p.outcome);
        }
        Ok(())
    }

    /// Appends `other`'s input after this accumulator's (the monoid operation).
    ///
    /// # Errors
    ///
    /// None: the scores have no options, so any two merge (the `Result` is the
    /// [`Accumulator`] contract's).
    pub fn merge(&mut self, other: &ProbabilityScores) -> Result<()> {
        self.seen = self.seen.saturating_add(other.seen);
        self.won = self.won.saturating_add(other.won);
        self.lost = self.lost.saturating_add(other.lost);
        self.open = self.open.saturating_add(other.open);
        self.brier.merge(&other.brier);
        self.log_loss.merge(&other.log_loss);
        self.probability.merge(&other.probability);
        Ok(())
    }

    /// The counts and scores of the predictions recorded so far.
    ///
    /// ```
    /// use revops::{forecast::Outcome, forecast::ProbabilityScores};
    /// # fn main() -> Result<(), revops::Error> {
    /// let mut q1 = ProbabilityScores::new();
    /// q1.add_pair(0.9, Outcome::Won)?;
    /// let mut q2 = ProbabilityScores::new();
    /// q2.add_pair(0.3, Outcome::Lost)?;
    /// q1.merge(&q2)?;
    /// let s = q1.finish()?;
    /// assert_eq!((s.won, s.lost), (1, 1));
    /// assert_eq!(s.mean_probability, Some(0.6));
    /// assert!(ProbabilityScores::new().finish()?.brier.is_none());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// None: the summary always exists (the `Result` is the [`Accumulator`]
    /// contract's).
    pub fn finish(&self) -> Result<ScoreSummary> {
        Ok(self.summary())
    }

    /// The summary, infallibly.
    fn summary(&self) -> ScoreSummary {
        let resolved = self.won.saturating_add(self.lost);
        let mean = |s: &Sum| {
            (resolved > 0)
                .then(|| s.value() / resolved as f64)
                .and_then(defined)
        };
        ScoreSummary {
            won: self.won,
            lost: self.lost,
            open: self.open,
            base_rate: Ratio::new(self.won, resolved),
            brier: mean(&self.brier),
            log_loss: mean(&self.log_loss),
            mean_probability: mean(&self.probability),
        }
    }

    /// Records a validated prediction.
    #[inline]
    fn push(&mut self, p: f64, outcome: Outcome) {
        self.seen += 1;
        let won = match outcome {
            Outcome::Won => {
                self.won += 1;
                true
            }
            Outcome::Lost => {
                self.lost += 1;
                false
            }
            Outcome::Open => {
                self.open += 1;
                return;
            }
        };
        let y = if won { 1.0 } else { 0.0 };
        let d = p - y;
        self.brier.add(d * d);
        let clipped = p.clamp(LOG_LOSS_EPSILON, 1.0 - LOG_LOSS_EPSILON);
        self.log_loss.add(if won {
            -clipped.ln()
        } else {
            -(-clipped).ln_1p()
        });
        self.probability.add(p);
    }
}

/// Counts and scores of a set of predictions; the open (censored) ones are only
/// counted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreSummary {
    /// Predictions whose event happened.
    pub won: u64,
    /// Predictions whose event did not happen.
    pub lost: u64,
    /// Open (censored) predictions, excluded from every score.
    pub open: u64,
    /// The observed rate `won / (won + lost)`.
    pub base_rate: Ratio,
    /// Brier score `Σ (p − y)² / N` over the `N = won + lost` resolved
    /// predictions, in `[0, 1]`; `None` when `N = 0`.
    pub brier: Option<f64>,
    /// Log loss `−Σ [y ln p + (1 − y) ln(1 − p)] / N` with `p` clipped to
    /// `[1e-15, 1 − 1e-15]` ([`LOG_LOSS_EPSILON`]); `None` when `N = 0`.
    pub log_loss: Option<f64>,
    /// Mean predicted probability over the resolved predictions (compare with
    /// `base_rate`: calibration in the large); `None` when `N = 0`.
    pub mean_probability: Option<f64>,
}

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

/// How the reliability bins' edges are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinStrategy {
    /// **Default.** `n` bins of equal width over `[0, 1]`: edges `i · (1/n)`.
    #[default]
    Uniform,
    /// `n` bins holding about equally many predictions: edges at the `i/n`
    /// percentiles of the resolved probabilities (linear interpolation).
    /// Tied probabilities can make edges coincide and bins empty.
    Quantile,
}

/// How [`Calibration::finish`] and [`Calibration::reliability`] bin the
/// probabilities: given to [`Calibration::new`] and kept in its state.
///
/// ```
/// use revops::{forecast::BinStrategy, forecast::CalibrationOptions, Confidence};
/// let o = CalibrationOptions::default().with_strategy(BinStrategy::Quantile).with_bins(5);
/// assert_eq!((o.strategy, o.bins), (BinStrategy::Quantile, 5));
/// assert_eq!(CalibrationOptions::default().bins, 10);
/// assert_eq!(CalibrationOptions::default().confidence, Confidence::P95);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CalibrationOptions {
    /// Edge rule (default [`BinStrategy::Uniform`]).
    pub strategy: BinStrategy,
    /// Number of bins, 1 to 1 000 000 (default 10).
    pub bins: usize,
    /// Level of each bin's Wilson interval (default 95 %).
    pub confidence: Confidence,
}

impl Default for CalibrationOptions {
    fn default() -> Self {
        CalibrationOptions {
            strategy: BinStrategy::Uniform,
            bins: 10,
            confidence: Confidence::P95,
        }
    }
}

impl CalibrationOptions {
    /// Sets the edge rule.
    #[must_use]
    pub fn with_strategy(mut self, strategy: BinStrategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// Sets the number of bins.
    #[must_use]
    pub fn with_bins(mut self, bins: usize) -> Self {
        self.bins = bins;
        self
    }

    /// Sets the level of the bins' Wilson intervals.
    #[must_use]
    pub fn with_confidence(mut self, confidence: Confidence) -> Self {
        self.confidence = confidence;
        self
    }

    fn check(&self) -> Result<()> {
        if (1..=MAX_BINS).contains(&self.bins) {
            Ok(())
        } else {
            Err(Error::from(ErrorKind::InvalidParameter {
                name: "bins",
                value: self.bins.to_string(),
                reason: format!("the number of reliability bins must be between 1 and {MAX_BINS}"),
            }))
        }
    }
}

// ---------------------------------------------------------------------------
// Calibration (keeps the probabilities)
// ---------------------------------------------------------------------------

/// The accumulator of calibration and ranking: the [`ProbabilityScores`] plus
/// every resolved probability, for ROC AUC and reliability bins.
///
/// Memory: 8 bytes per resolved prediction (open ones are only counted);
/// [`finish`](Calibration::finish) temporarily needs 24 bytes more per resolved
/// prediction (sorted copies). Results depend only on the multiset of inputs:
/// the order of `add` calls and the grouping of merges change nothing (AUC and
/// bins exactly, the sums up to their last bits).
///
/// It follows the [`Accumulator`] contract: [`new`](Calibration::new) takes the
/// [`CalibrationOptions`] (kept in the state; [`merge`](Calibration::merge)
/// refuses a partial built under others), [`add`](Calibration::add),
/// [`add_pair`](Calibration::add_pair) and [`add_batch`](Calibration::add_batch)
/// record predictions, [`finish`](Calibration::finish) reports.
///
/// # Serialised form
///
/// `{"version": 1, "options": {"strategy": "uniform", "bins": 10, "confidence":
/// …}, "scores": P, "won": [0.8, …], "lost": [0.1, …]}`: the state version
/// ([`STATE_VERSION`](Accumulator::STATE_VERSION), refused when it is another
/// number), the options, the [`ProbabilityScores`] in their form `P`, and the
/// probabilities of the won and lost predictions in input order. A state read
/// back is checked (valid options, probabilities in `[0, 1]`, counts that agree).
///
/// ```
/// use revops::{forecast::BinStrategy, forecast::Calibration, forecast::CalibrationOptions};
/// # fn main() -> Result<(), revops::Error> {
/// let (p, won) = (
///     [0.1, 0.8, 0.6, 0.3, 0.9, 0.2, 0.55, 0.4],
///     [false, true, true, false, true, false, false, true],
/// );
/// let c = Calibration::from_pairs(&p, &won, CalibrationOptions::default().with_bins(4))?;
/// assert_eq!(c.roc_auc(), Some(0.9375));
///
/// let r = c.reliability();
/// assert_eq!(r.bins.iter().map(|b| b.count).collect::<Vec<_>>(), [2, 2, 2, 2]);
/// assert_eq!(r.bins[1].observed.to_string(), "1 / 2 (50.0%)");
/// assert!((r.ece.unwrap() - 0.13125).abs() < 1e-12);
///
/// let quantile = CalibrationOptions::default().with_strategy(BinStrategy::Quantile).with_bins(5);
/// let q = Calibration::from_pairs(&p, &won, quantile)?.reliability();
/// assert_eq!(q.bins.iter().map(|b| b.count).collect::<Vec<_>>(), [2, 1, 2, 1, 2]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "CalibrationRepr")]
pub struct Calibration {
    version: StateVersion<1>,
    options: CalibrationOptions,
    scores: ProbabilityScores,
    /// Probabilities of the won predictions, in input order.
    won: Vec<f64>,
    /// Probabilities of the lost predictions, in input order.
    lost: Vec<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CalibrationRepr {
    version: StateVersion<1>,
    options: CalibrationOptions,
    scores: ProbabilityScores,
    won: Vec<f64>,
    lost: Vec<f64>,
}

impl TryFrom<CalibrationRepr> for Calibration {
    type Error = Error;
    fn try_from(r: CalibrationRepr) -> Result<Self> {
        r.options.check()?;
        let consistent = r.won.len() as u64 == r.scores.won && r.lost.len() as u64 == r.scores.lost;
        if !consistent {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "calibration",
                value: format!(
                    "{} won and {} lost probabilities",
                    r.won.len(),
                    r.lost.len()
                ),
                reason: format!(
                    "the serialised state counts {} won and {} lost",
                    r.scores.won, r.scores.lost
                ),
            }));
        }
        for (i, &p) in r.won.iter().chain(&r.lost).enumerate() {
            check_probability(
                Some(p),
                || RecordRef::new("prediction").with_index(i),
                "probability",
            )?;
        }
        Ok(Calibration {
            version: r.version,
            options: r.options,
            scores: r.scores,
            won: r.won,
            lost: r.lost,
        })
    }
}

impl Calibration {
    /// An empty accumulator whose report bins the probabilities under `options`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) named `"bins"` when `options.bins` is 0 or
    /// above 1 000 000.
    pub fn new(options: CalibrationOptions) -> Result<Calibration> {
        options.check()?;
        Ok(Calibration {
            options,
            ..Calibration::default()
        })
    }

    /// The options the report bins the probabilities under.
    #[must_use]
    pub fn options(&self) -> &CalibrationOptions {
        &self.options
    }

    /// Records one probability and its outcome.
    ///
    /// # Errors
    ///
    /// As [`ProbabilityScores::add_pair`]; the accumulator is then unchanged.
    pub fn add_pair(&mut self, probability: f64, outcome: impl Into<Outcome>) -> Result<()> {
        let outcome = outcome.into();
        self.scores.add_pair(probability, outcome)?;
        self.keep(normalised(probability), outcome);
        Ok(())
    }

    /// Records one [`Prediction`].
    ///
    /// # Errors
    ///
    /// As [`ProbabilityScores::add`].
    pub fn add(&mut self, prediction: &Prediction) -> Result<()> {
        self.scores.add(prediction)?;
        self.keep(normalised(prediction.probability), prediction.outcome);
        Ok(())
    }

    /// Records many predictions, all or none: every prediction is checked before
    /// any is recorded.
    ///
    /// ```
    /// use revops::{forecast::Calibration, forecast::Outcome, forecast::Prediction};
    /// let mut c = Calibration::default();
    /// let batch = [Prediction::new(0.4, Outcome::Won), Prediction::new(2.0, Outcome::Lost)];
    /// assert!(c.add_batch(&batch).is_err());
    /// assert_eq!(c, Calibration::default()); // nothing recorded
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the first invalid prediction (position
    /// among this accumulator's inputs, and id); nothing is recorded then.
    pub fn add_batch(&mut self, predictions: &[Prediction]) -> Result<()> {
        self.add_checked(predictions.iter())
    }

    /// [`add_batch`](Calibration::add_batch) over any re-iterable sequence.
    fn add_checked<'a, I>(&mut self, predictions: I) -> Result<()>
    where
        I: Iterator<Item = &'a Prediction> + Clone,
    {
        check_all(predictions.clone(), self.scores.seen)?;
        for p in predictions {
            let q = normalised(p.probability);
            self.scores.push(q, p.outcome);
            self.keep(q, p.outcome);
        }
        Ok(())
    }

    /// The accumulator of a slice of predictions.
    ///
    /// ```
    /// use revops::{forecast::Calibration, forecast::Outcome, forecast::Prediction};
    /// # fn main() -> Result<(), revops::Error> {
    /// let c = Calibration::from_predictions(&[
    ///     Prediction::new(0.7, Outcome::Won),
    ///     Prediction::new(0.4, Outcome::Lost),
    ///     Prediction::new(0.9, Outcome::Open),
    /// ], Default::default())?;
    /// assert_eq!(c.scores().open, 1);
    /// assert_eq!(c.probability_scores().finish()?.won, 1);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`new`](Calibration::new) and [`add_batch`](Calibration::add_batch).
    pub fn from_predictions(
        predictions: &[Prediction],
        options: CalibrationOptions,
    ) -> Result<Calibration> {
        let mut c = Calibration::new(options)?;
        c.add_batch(predictions)?;
        Ok(c)
    }

    /// The accumulator of `probabilities[i]` with outcome `won[i]` (no open
    /// outcomes), as scikit-learn's `(y_true, y_prob)`, reported under `options`.
    ///
    /// # Errors
    ///
    /// As [`new`](Calibration::new); [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) named `"won"`
    /// when the slices differ in length; [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) naming the first
    /// invalid probability by position.
    pub fn from_pairs(
        probabilities: &[f64],
        won: &[bool],
        options: CalibrationOptions,
    ) -> Result<Calibration> {
        if probabilities.len() != won.len() {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "won",
                value: format!("{} outcomes", won.len()),
                reason: format!(
                    "needs one outcome per probability ({} probabilities)",
                    probabilities.len()
                ),
            }));
        }
        let mut c = Calibration::new(options)?;
        for (&p, &w) in probabilities.iter().zip(won) {
            c.add_pair(p, w)?;
        }
        Ok(c)
    }

    /// Appends `other`'s input after this accumulator's (the monoid operation).
    ///
    /// ```
    /// use revops::{forecast::Calibration, forecast::CalibrationOptions};
    /// # fn main() -> Result<(), revops::Error> {
    /// let o = CalibrationOptions::default();
    /// let mut march = Calibration::from_pairs(&[0.2, 0.8], &[false, true], o)?;
    /// let april = Calibration::from_pairs(&[0.6], &[false], o)?;
    /// march.merge(&april)?;
    /// let whole = Calibration::from_pairs(&[0.2, 0.8, 0.6], &[false, true, false], o)?;
    /// assert_eq!(march.finish()?.reliability, whole.finish()?.reliability);
    /// assert_eq!(march.roc_auc(), Some(1.0));
    ///
    /// // Partials binned differently do not mix.
    /// let five = Calibration::new(o.with_bins(5))?;
    /// assert!(march.merge(&five).is_err());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) named `"options"` when `other` was built under
    /// other [`CalibrationOptions`]; `self` is unchanged then.
    pub fn merge(&mut self, other: &Calibration) -> Result<()> {
        same_options(&self.options, &other.options)?;
        self.scores.merge(&other.scores)?;
        self.won.extend_from_slice(&other.won);
        self.lost.extend_from_slice(&other.lost);
        Ok(())
    }

    /// Counts, Brier score and log loss (cheap: no sorting).
    #[must_use]
    pub fn scores(&self) -> ScoreSummary {
        self.scores.summary()
    }

    /// The constant-memory part of this accumulator.
    #[must_use]
    pub fn probability_scores(&self) -> &ProbabilityScores {
        &self.scores
    }

    /// ROC AUC with ties counting one half; `None` unless both won and lost
    /// outcomes are present. Sorts a copy of the probabilities.
    ///
    /// ```
    /// use revops::forecast::Calibration;
    /// # fn main() -> Result<(), revops::Error> {
    /// let o = Default::default();
    /// let c = Calibration::from_pairs(&[0.3, 0.3, 0.9, 0.1], &[true, false, true, false], o)?;
    /// assert_eq!(c.roc_auc(), Some(0.875));
    /// assert_eq!(Calibration::from_pairs(&[0.3], &[true], o)?.roc_auc(), None);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn roc_auc(&self) -> Option<f64> {
        let (won, lost) = self.sorted();
        roc_auc_sorted(&won, &lost)
    }

    /// The reliability bins, ECE and MCE, binned under the accumulator's
    /// [`options`](Calibration::options). Sorts a copy of the probabilities.
    ///
    /// ```
    /// use revops::{forecast::BinStrategy, forecast::Calibration, forecast::CalibrationOptions, Ratio};
    /// # fn main() -> Result<(), revops::Error> {
    /// let o = CalibrationOptions::default().with_strategy(BinStrategy::Quantile).with_bins(2);
    /// let c = Calibration::from_pairs(&[0.1, 0.2, 0.3, 0.7, 0.8, 0.9], &[false, false, true, true, true, false], o)?;
    /// let r = c.reliability();
    /// assert_eq!(r.bins[0].observed, Ratio::new(1, 3));
    /// assert_eq!(r.bins[1].observed, Ratio::new(2, 3));
    /// assert!(Calibration::new(CalibrationOptions::default().with_bins(0)).is_err());
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn reliability(&self) -> Reliability {
        let (won, lost) = self.sorted();
        reliability_sorted(&won, &lost, &self.options)
    }

    /// The reliability bins, ECE and MCE under other binning `options` than the
    /// accumulator's (a second view of the same predictions, as
    /// [`ExactDistribution::histogram`](crate::distribution::ExactDistribution::histogram)
    /// takes a bin rule). Sorts a copy of the probabilities.
    ///
    /// ```
    /// use revops::{forecast::BinStrategy, forecast::Calibration, forecast::CalibrationOptions};
    /// # fn main() -> Result<(), revops::Error> {
    /// let c = Calibration::from_pairs(&[0.1, 0.4, 0.6, 0.9], &[false, true, false, true], Default::default())?;
    /// let quantile = CalibrationOptions::default().with_strategy(BinStrategy::Quantile).with_bins(2);
    /// assert_eq!(c.reliability_with(&quantile)?.bins.len(), 2);
    /// assert!(c.reliability_with(&CalibrationOptions::default().with_bins(0)).is_err());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) named `"bins"` when `options.bins` is 0 or
    /// above 1 000 000.
    pub fn reliability_with(&self, options: &CalibrationOptions) -> Result<Reliability> {
        options.check()?;
        let (won, lost) = self.sorted();
        Ok(reliability_sorted(&won, &lost, options))
    }

    /// Scores, ROC AUC and reliability in one pass over one sorted copy.
    ///
    /// ```
    /// use revops::{forecast::Calibration, forecast::CalibrationOptions};
    /// # fn main() -> Result<(), revops::Error> {
    /// let c = Calibration::from_pairs(&[0.9, 0.1], &[true, false], CalibrationOptions::default())?;
    /// let r = c.finish()?;
    /// assert_eq!(r.roc_auc, Some(1.0));
    /// assert_eq!(r.reliability.bins.len(), 2);
    /// assert!((r.reliability.ece.unwrap() - 0.1).abs() < 1e-15);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// None today: the options were checked at creation (the `Result` is the
    /// [`Accumulator`] contract's).
    pub fn finish(&self) -> Result<CalibrationReport> {
        let (won, lost) = self.sorted();
        Ok(CalibrationReport {
            scores: self.scores.summary(),
            roc_auc: roc_auc_sorted(&won, &lost),
            reliability: reliability_sorted(&won, &lost, &self.options),
        })
    }

    #[inline]
    fn keep(&mut self, p: f64, outcome: Outcome) {
        match outcome {
            Outcome::Won => self.won.push(p),
            Outcome::Lost => self.lost.push(p),
            Outcome::Open => {}
        }
    }

    fn sorted(&self) -> (Vec<f64>, Vec<f64>) {
        let sort = |v: &[f64]| {
            let mut v = v.to_vec();
            v.sort_unstable_by(f64::total_cmp);
            v
        };
        (sort(&self.won), sort(&self.lost))
    }
}

impl Accumulator for ProbabilityScores {
    type Item = Prediction;
    type Output = ScoreSummary;
    const STATE_VERSION: u32 = 1;

    fn add(&mut self, item: &Prediction) -> Result<()> {
        ProbabilityScores::add(self, item)
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        ProbabilityScores::merge(self, other)
    }

    fn finish(&self) -> Result<ScoreSummary> {
        ProbabilityScores::finish(self)
    }
}

/// The trait's `add_batch` is the inherent one: all or nothing.
impl Accumulator for Calibration {
    type Item = Prediction;
    type Output = CalibrationReport;
    const STATE_VERSION: u32 = 1;

    fn add(&mut self, item: &Prediction) -> Result<()> {
        Calibration::add(self, item)
    }

    fn add_batch<'a, I>(&mut self, items: I) -> Result<()>
    where
        I: IntoIterator<Item = &'a Prediction>,
    {
        let predictions: Vec<&Prediction> = items.into_iter().collect();
        self.add_checked(predictions.iter().copied())
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        Calibration::merge(self, other)
    }

    fn finish(&self) -> Result<CalibrationReport> {
        Calibration::finish(self)
    }
}

/// Mann–Whitney AUC from ascending probabilities of won and lost predictions,
/// counted exactly in integers: `Σ_won (#lost below + ½ #lost equal) / (W·L)`.
fn roc_auc_sorted(won: &[f64], lost: &[f64]) -> Option<f64> {
    if won.is_empty() || lost.is_empty() {
        return None;
    }
    let (mut below, mut at_or_below) = (0usize, 0usize);
    let mut twice: u128 = 0;
    for &w in won {
        while below < lost.len() && lost[below] < w {
            below += 1;
        }
        at_or_below = at_or_below.max(below);
        while at_or_below < lost.len() && lost[at_or_below] <= w {
            at_or_below += 1;
        }
        twice += (below + at_or_below) as u128;
    }
    let pairs = 2 * won.len() as u128 * lost.len() as u128;
    Some(twice as f64 / pairs as f64)
}

/// The bin edges, as scikit-learn's `calibration_curve`: `linspace(0, 1, n + 1)`
/// or `percentile(p, linspace(0, 1, n + 1) · 100)`, evaluated as NumPy does.
fn edges(sorted_all: &[f64], options: &CalibrationOptions) -> Vec<f64> {
    let n = options.bins;
    let step = 1.0 / n as f64;
    let fraction = |i: usize| if i == n { 1.0 } else { i as f64 * step };
    match options.strategy {
        BinStrategy::Uniform => (0..=n).map(fraction).collect(),
        BinStrategy::Quantile => {
            if sorted_all.is_empty() {
                return Vec::new();
            }
            (0..=n)
                .map(|i| percentile_linear(sorted_all, fraction(i) * 100.0 / 100.0))
                .collect()
        }
    }
}

/// NumPy's default (linear, type 7) quantile of ascending values, with the
/// interpolation evaluated from the nearer end as NumPy's `_lerp`.
fn percentile_linear(sorted: &[f64], q: f64) -> f64 {
    let last = sorted.len() - 1;
    let h = last as f64 * q;
    let floor = h.floor();
    if floor >= last as f64 {
        return sorted[last];
    }
    let lo = floor as usize;
    let t = h - floor;
    let (a, b) = (sorted[lo], sorted[lo + 1]);
    let d = b - a;
    if t >= 0.5 {
        b - d * (1.0 - t)
    } else {
        a + d * t
    }
}

/// Merges two ascending slices.
fn merged(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i] <= b[j] {
            out.push(a[i]);
            i += 1;
        } else {
            out.push(b[j]);
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

#[derive(Clone, Copy, Default)]
struct BinAcc {
    won: u64,
    count: u64,
    sum: Sum,
}

fn reliability_sorted(won: &[f64], lost: &[f64], options: &CalibrationOptions) -> Reliability {
    let edges = match options.strategy {
        BinStrategy::Uniform => edges(&[], options),
        BinStrategy::Quantile => edges(&merged(won, lost), options),
    };
    let mut acc = vec![BinAcc::default(); options.bins];
    if !edges.is_empty() {
        let interior = &edges[1..edges.len() - 1];
        // searchsorted(interior, p, side="left"): the number of interior edges < p.
        let mut tally = |values: &[f64], is_won: bool| {
            for &p in values {
                let b = &mut acc[interior.partition_point(|&e| e < p)];
                b.count += 1;
                b.won += u64::from(is_won);
                b.sum.add(p);
            }
        };
        tally(won, true);
        tally(lost, false);
    }
    let total = (won.len() + lost.len()) as f64;
    let mut bins = Vec::new();
    let mut ece = Sum::default();
    let mut mce: Option<f64> = None;
    for (index, b) in acc.iter().enumerate() {
        if b.count == 0 {
            continue;
        }
        let observed = Ratio::new(b.won, b.count);
        let observed_rate = b.won as f64 / b.count as f64;
        let mean_predicted = b.sum.value() / b.count as f64;
        let gap = (observed_rate - mean_predicted).abs();
        ece.add(b.count as f64 / total * gap);
        mce = Some(mce.map_or(gap, |m| m.max(gap)));
        bins.push(ReliabilityBin {
            index,
            lower: edges[index],
            upper: edges[index + 1],
            count: b.count,
            mean_predicted,
            observed,
            observed_rate,
            interval: observed.wilson(options.confidence).unwrap_or(Interval {
                lower: 0.0,
                upper: 1.0,
            }),
            gap,
        });
    }
    Reliability {
        strategy: options.strategy,
        bins_requested: options.bins,
        ece: (!bins.is_empty()).then(|| ece.value()),
        mce,
        edges,
        bins,
    }
}

// ---------------------------------------------------------------------------
// Reports
// ---------------------------------------------------------------------------

/// One non-empty reliability bin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Position among the requested bins (`0 ≤ index < bins`); skipped numbers
    /// are empty bins.
    pub index: usize,
    /// Lower edge. The bin holds probabilities `p` with `lower < p ≤ upper`,
    /// except that the first bin also holds everything below its upper edge and
    /// the last everything above its lower edge.
    pub lower: f64,
    /// Upper edge.
    pub upper: f64,
    /// Resolved predictions in the bin (at least 1).
    pub count: u64,
    /// Mean predicted probability in the bin (scikit-learn's `prob_pred`).
    pub mean_predicted: f64,
    /// Won out of all in the bin (`won / count`).
    pub observed: Ratio,
    /// `observed` as a fraction (scikit-learn's `prob_true`).
    pub observed_rate: f64,
    /// Wilson interval of the observed rate at the options' confidence.
    pub interval: Interval,
    /// Calibration gap `|observed_rate − mean_predicted|`.
    pub gap: f64,
}

/// A reliability diagram: the bins, their edges, ECE and MCE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reliability {
    /// The edge rule used.
    pub strategy: BinStrategy,
    /// The number of bins asked for.
    pub bins_requested: usize,
    /// The `bins_requested + 1` edges; empty for quantile bins over no
    /// resolved prediction.
    pub edges: Vec<f64>,
    /// The non-empty bins, in increasing order.
    pub bins: Vec<ReliabilityBin>,
    /// Expected calibration error `Σ count/N · gap`; `None` without resolved
    /// predictions.
    pub ece: Option<f64>,
    /// Maximum calibration error `max gap`; `None` without resolved predictions.
    pub mce: Option<f64>,
}

/// Scores, ranking and reliability of a set of predictions, from
/// [`Calibration::finish`].
///
/// ```
/// use revops::{forecast::Calibration, forecast::CalibrationOptions, forecast::Outcome, forecast::Prediction};
/// # fn main() -> Result<(), revops::Error> {
/// let mut c = Calibration::new(CalibrationOptions::default().with_bins(2))?;
/// for (p, won) in [(0.2, false), (0.4, true), (0.4, false), (0.9, true)] {
///     c.add_pair(p, won)?;
/// }
/// c.add(&Prediction::new(0.7, Outcome::Open))?;
/// let r = c.finish()?;
/// assert_eq!(r.roc_auc, Some(0.875)); // the tie at 0.4 counts one half
/// assert_eq!(r.scores.open, 1);
/// assert_eq!(r.reliability.bins.len(), 2);
/// assert_eq!(r.reliability.bins[0].observed.to_string(), "1 / 3 (33.3%)");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationReport {
    /// Counts, Brier score, log loss.
    pub scores: ScoreSummary,
    /// ROC AUC (ties count one half); `None` unless both outcomes are present.
    pub roc_auc: Option<f64>,
    /// Reliability bins, ECE and MCE.
    pub reliability: Reliability,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_ties_as_half() {
        assert_eq!(roc_auc_sorted(&[0.5], &[0.5]), Some(0.5));
        assert_eq!(roc_auc_sorted(&[0.2, 0.9], &[0.1, 0.5]), Some(0.75));
        assert_eq!(roc_auc_sorted(&[0.1], &[0.2]), Some(0.0));
        assert_eq!(roc_auc_sorted(&[], &[0.2]), None);
        assert_eq!(roc_auc_sorted(&[0.3, 0.3, 0.3], &[0.3, 0.3]), Some(0.5));
    }

    #[test]
    fn percentile_matches_numpy_linear() {
        let v = [0.2, 0.25, 0.25, 0.5, 0.5, 0.5, 0.7, 0.7, 0.75, 1.0];
        assert_eq!(percentile_linear(&v, 0.0), 0.2);
        assert_eq!(percentile_linear(&v, 1.0), 1.0);
        assert_eq!(percentile_linear(&v, 0.2), 0.25);
        assert!((percentile_linear(&v, 0.6) - 0.58).abs() < 1e-15);
        assert_eq!(percentile_linear(&[0.3], 0.5), 0.3);
    }

    #[test]
    fn edge_value_goes_to_lower_bin() {
        let two = CalibrationOptions::default().with_bins(2);
        let c = Calibration::from_pairs(&[0.5, 0.5000001], &[true, false], two).unwrap();
        let r = c.reliability();
        assert_eq!(r.bins.len(), 2);
        assert_eq!((r.bins[0].index, r.bins[0].count), (0, 1));
    }

    #[test]
    fn open_outcomes_are_censored() {
        let mut c = Calibration::default();
        c.add_pair(0.9, Outcome::Won).unwrap();
        c.add_pair(0.9, Outcome::Open).unwrap();
        c.add_pair(0.1, Outcome::Open).unwrap();
        let r = c.finish().unwrap();
        assert_eq!(r.scores.base_rate, Ratio::new(1, 1));
        assert_eq!(r.roc_auc, None);
        assert_eq!(r.reliability.bins.len(), 1);
    }

    #[test]
    fn empty_has_no_measures() {
        let c =
            Calibration::new(CalibrationOptions::default().with_strategy(BinStrategy::Quantile))
                .unwrap();
        let r = c.finish().unwrap();
        assert_eq!(
            (r.scores.brier, r.scores.log_loss, r.roc_auc),
            (None, None, None)
        );
        assert!(r.reliability.edges.is_empty() && r.reliability.bins.is_empty());
        assert_eq!((r.reliability.ece, r.reliability.mce), (None, None));
        assert!(
            c.reliability_with(&CalibrationOptions::default().with_bins(0))
                .is_err()
        );
        assert!(Calibration::new(CalibrationOptions::default().with_bins(0)).is_err());
    }

    #[test]
    fn log_loss_is_clipped() {
        let mut s = ProbabilityScores::default();
        s.add_pair(0.0, Outcome::Won).unwrap();
        let ll = s.finish().unwrap().log_loss.unwrap();
        assert!((ll - (-(1e-15f64).ln())).abs() < 1e-12);
    }

    #[test]
    fn invalid_probability_names_index_and_id() {
        let mut c = Calibration::default();
        c.add_pair(0.5, true).unwrap();
        let err = c
            .add(&Prediction::new(f64::NAN, Outcome::Open).with_id("D-1"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "prediction #1 (id D-1): field `probability`: a probability must be a finite number in [0, 1], got NaN"
        );
        let err = c.add_pair(-0.1, false).unwrap_err();
        assert!(err.to_string().starts_with("prediction #1: "));
        assert_eq!(c.scores().won, 1);
    }

    #[test]
    fn serde_round_trip_validates() {
        let c = Calibration::from_pairs(&[0.2, 0.7], &[false, true], Default::default()).unwrap();
        let json = serde_json::to_string(&c).unwrap();
        let back: Calibration = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
        let broken = json.replace("0.7", "1.7");
        assert!(serde_json::from_str::<Calibration>(&broken).is_err());
        let no_bins = json.replace(r#""bins":10"#, r#""bins":0"#);
        assert_ne!(no_bins, json);
        assert!(serde_json::from_str::<Calibration>(&no_bins).is_err());
    }
}
