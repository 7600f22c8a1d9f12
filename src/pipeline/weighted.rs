//! Weighted pipeline: configured and empirical win probabilities, and a backtest
//! against what actually closed.

use crate::error::ErrorKind;
use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::history::in_window;
use super::history::{PipelineHistory, Row, key};
use super::waterfall::{Flow, PipelineScope};
use crate::error::{Error, RecordRef, Result};
use crate::funnel::StageKind;
use crate::money::{Currency, Money};
use crate::period::Window;
use crate::ratio::Ratio;

/// Decimal places probabilities are rounded to before weighting.
pub const PROBABILITY_DECIMALS: u32 = 6;

/// A probability as the decimal used for weighting: the exact binary value of the
/// `f64`, rounded half to even to [`PROBABILITY_DECIMALS`] places (so `0.1` weighs
/// exactly `0.100000`).
///
/// ```
/// use revops::{pipeline::probability_decimal, Decimal};
/// assert_eq!(probability_decimal(0.1), Some(Decimal::new(1, 1)));
/// assert_eq!(probability_decimal(2.0 / 3.0), Some(Decimal::new(666_667, 6)));
/// assert_eq!(probability_decimal(f64::NAN), None);
/// ```
pub fn probability_decimal(p: f64) -> Option<Decimal> {
    if !(p.is_finite() && (0.0..=1.0).contains(&p)) {
        return None;
    }
    Decimal::from_f64_retain(p).map(|d| {
        d.round_dp_with_strategy(PROBABILITY_DECIMALS, RoundingStrategy::MidpointNearestEven)
            .normalize()
    })
}

fn rate_decimal(r: &Ratio) -> Option<Decimal> {
    if r.denominator == 0 {
        return None;
    }
    Decimal::from(r.numerator)
        .checked_div(Decimal::from(r.denominator))
        .map(|d| {
            d.round_dp_with_strategy(PROBABILITY_DECIMALS, RoundingStrategy::MidpointNearestEven)
                .normalize()
        })
}

/// Where a deal's configured win probability comes from (see
/// [`PipelineHistory::weighted_pipeline`] for all three on one history).
///
/// ```
/// use revops::pipeline::ProbabilitySource;
/// assert_eq!(ProbabilitySource::default(), ProbabilitySource::Stage);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbabilitySource {
    /// The funnel stage's `probability` (the default): one rule for every deal, as
    /// Salesforce's stage defaults.
    #[default]
    Stage,
    /// The probability recorded on the deal's history row (a rep's override).
    Opportunity,
    /// The deal's own probability when recorded, else its stage's.
    OpportunityElseStage,
}

/// A weighted pipeline: open amount and open amount × probability.
///
/// Deals without a probability (none configured for their stage, none recorded, or no
/// empirical rate learnt for the stage) are not weighted: they are reported in
/// `unweighted`. Computed by [`PipelineHistory::weighted_pipeline`] and
/// [`PipelineHistory::weighted_by_rates`]. A monoid: [`WeightedPipeline::merge`].
///
/// ```
/// use revops::{Currency, Money, pipeline::WeightedPipeline};
/// # fn main() -> Result<(), revops::Error> {
/// let mut a = WeightedPipeline::new(Currency::USD);
/// a.weighted = Money::parse("10.005", Currency::USD)?;
/// assert_eq!(a.weighted_rounded(), Money::parse("10.00", Currency::USD)?); // half to even
/// a.merge(&WeightedPipeline::new(Currency::USD))?;
/// assert!(a.merge(&WeightedPipeline::new(Currency::EUR)).is_err());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightedPipeline {
    /// Every open deal in scope.
    pub open: Flow,
    /// Σ amount × probability over the weighted deals: exact, not rounded (see
    /// [`WeightedPipeline::weighted_rounded`]).
    pub weighted: Money,
    /// Open deals in scope without a probability (left out of `weighted`).
    pub unweighted: Flow,
}

impl WeightedPipeline {
    /// Empty, in `currency`.
    pub fn new(currency: Currency) -> WeightedPipeline {
        WeightedPipeline {
            open: Flow::zero(currency),
            weighted: Money::zero(currency),
            unweighted: Flow::zero(currency),
        }
    }

    /// `weighted` rounded to minor units, half to even.
    pub fn weighted_rounded(&self) -> Money {
        self.weighted.round_to_minor_units()
    }

    /// Adds another weighted pipeline.
    ///
    /// # Errors
    /// [`ErrorKind::CurrencyMismatch`](crate::error::ErrorKind::CurrencyMismatch) or [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
    pub fn merge(&mut self, other: &WeightedPipeline) -> Result<()> {
        self.open.merge(&other.open)?;
        self.unweighted.merge(&other.unweighted)?;
        self.weighted = self.weighted.checked_add(&other.weighted)?;
        Ok(())
    }
}

/// The empirical stage-to-won rate of one stage (see
/// [`PipelineHistory::stage_win_rates`] for an example).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRate {
    /// Stage position in the funnel.
    pub stage: usize,
    /// Stage key.
    pub key: String,
    /// Won / closed, over closed deals that were ever in the stage.
    pub ratio: Ratio,
}

/// Empirical stage-to-won rates, one per funnel stage: for each stage, of the deals
/// closed by `as_of` (and in the window, if any) that were ever in that stage (had a
/// history row in it up to their closing), the share that won. A deal counts once
/// per stage however often it visited it. Computed by
/// [`PipelineHistory::stage_win_rates`] (see it for an example). A monoid:
/// [`StageWinRates::merge`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageWinRates {
    /// The instant the rates were learnt at.
    pub as_of: DateTime<Utc>,
    /// One entry per funnel stage.
    pub stages: Vec<StageRate>,
}

impl StageWinRates {
    /// The rate of stage `stage` as the decimal used for weighting (`k / n` rounded
    /// half to even to [`PROBABILITY_DECIMALS`] places), or `None` without closed
    /// deals.
    pub fn rate(&self, stage: usize) -> Option<Decimal> {
        self.stages.get(stage).and_then(|s| rate_decimal(&s.ratio))
    }

    /// Adds another report's counts, stage by stage.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) (`"stages"`) if the stage lists differ.
    pub fn merge(&mut self, other: &StageWinRates) -> Result<()> {
        check_same_stages(&self.stages, &other.stages)?;
        for (a, b) in self.stages.iter_mut().zip(&other.stages) {
            a.ratio.merge(&b.ratio);
        }
        Ok(())
    }
}

fn check_same_stages(a: &[StageRate], b: &[StageRate]) -> Result<()> {
    if a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.key == y.key) {
        Ok(())
    } else {
        Err(Error::from(ErrorKind::InvalidParameter {
            name: "stages",
            value: b.len().to_string(),
            reason: "stage rates of a different funnel".into(),
        }))
    }
}

/// What a weighted-pipeline backtest compares.
///
/// ```
/// use revops::{pipeline::BacktestSpec, pipeline::ProbabilitySource};
/// use chrono::{TimeZone, Utc};
/// let spec = BacktestSpec::new(
///     Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap(),
///     Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap(),
/// )
/// .with_source(ProbabilitySource::OpportunityElseStage);
/// assert_eq!(spec.source, ProbabilitySource::OpportunityElseStage);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestSpec {
    /// When the pipeline is weighted (and the empirical rates learnt).
    pub t0: DateTime<Utc>,
    /// When the outcome is read (`t0 <= t1`).
    pub t1: DateTime<Utc>,
    /// Which open deals at `t0`; default rolling.
    pub scope: PipelineScope,
    /// The configured probabilities; default [`ProbabilitySource::Stage`].
    pub source: ProbabilitySource,
}

impl BacktestSpec {
    /// Rolling scope, stage probabilities.
    pub fn new(t0: DateTime<Utc>, t1: DateTime<Utc>) -> BacktestSpec {
        BacktestSpec {
            t0,
            t1,
            scope: PipelineScope::Rolling,
            source: ProbabilitySource::Stage,
        }
    }

    /// Sets the scope.
    #[must_use]
    pub fn with_scope(mut self, scope: PipelineScope) -> BacktestSpec {
        self.scope = scope;
        self
    }

    /// Sets the configured probability source.
    #[must_use]
    pub fn with_source(mut self, source: ProbabilitySource) -> BacktestSpec {
        self.source = source;
        self
    }
}

/// The pipeline open at `t0`, weighted two ways, next to what it became by `t1`.
///
/// The empirical rates are learnt from the deals closed by `t0` only (no look-ahead).
/// Outcomes cover exactly the deals open in scope at `t0`: deals created later are
/// not part of that pipeline. Computed by [`PipelineHistory::backtest_weighted`] (see
/// it for an example).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightedBacktest {
    /// The spec.
    pub spec: BacktestSpec,
    /// Weighted with the configured probabilities.
    pub configured: WeightedPipeline,
    /// Weighted with the empirical stage-to-won rates.
    pub empirical: WeightedPipeline,
    /// The rates used for `empirical`.
    pub rates: StageWinRates,
    /// Deals of the `t0` pipeline won by `t1`, at their amount at `t1` (booked).
    pub won: Flow,
    /// Deals of the `t0` pipeline closed not won by `t1`, at their amount at `t0`.
    pub lost: Flow,
    /// Deals of the `t0` pipeline still open at `t1`, at their amount at `t0`.
    pub still_open: Flow,
}

impl WeightedBacktest {
    /// `configured.weighted − won.amount` (positive: the weights over-forecast).
    ///
    /// # Errors
    /// [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
    pub fn configured_error(&self) -> Result<Money> {
        self.configured.weighted.checked_sub(&self.won.amount)
    }

    /// `empirical.weighted − won.amount`.
    ///
    /// # Errors
    /// [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
    pub fn empirical_error(&self) -> Result<Money> {
        self.empirical.weighted.checked_sub(&self.won.amount)
    }
}

impl PipelineHistory {
    /// One empty rate per funnel stage, in funnel order.
    fn empty_stage_rates(&self) -> Vec<StageRate> {
        self.funnel()
            .stages()
            .iter()
            .enumerate()
            .map(|(i, s)| StageRate {
                stage: i,
                key: s.key.clone(),
                ratio: Ratio::default(),
            })
            .collect()
    }

    fn configured_probability(&self, source: ProbabilitySource, r: &Row) -> Option<Decimal> {
        let stage = || self.funnel().stages()[usize::from(r.stage)].probability;
        let p = match source {
            ProbabilitySource::Stage => stage(),
            ProbabilitySource::Opportunity => r.probability,
            ProbabilitySource::OpportunityElseStage => r.probability.or_else(stage),
        };
        p.and_then(probability_decimal)
    }

    fn weigh(
        &self,
        as_of: DateTime<Utc>,
        scope: &PipelineScope,
        mut probability: impl FnMut(&Row) -> Option<Decimal>,
    ) -> Result<WeightedPipeline> {
        let overflow = || {
            Error::from(ErrorKind::Overflow {
                operation: "weighted pipeline",
            })
        };
        let mut w = WeightedPipeline::new(self.currency());
        let mut weighted = Decimal::ZERO;
        let at = key(as_of);
        for o in 0..self.len() {
            let Some(r) = self.row_at(o, at) else {
                continue;
            };
            if !self.in_scope(scope, r) {
                continue;
            }
            let amount = self.money(r.amount);
            w.open.add(&amount)?;
            match probability(r) {
                Some(p) => {
                    let x = r.amount.checked_mul(p).ok_or_else(overflow)?;
                    weighted = weighted.checked_add(x).ok_or_else(overflow)?;
                }
                None => w.unweighted.add(&amount)?,
            }
        }
        w.weighted = self.money(weighted);
        Ok(w)
    }

    /// The open pipeline in scope at `as_of`, weighted by configured probabilities.
    ///
    /// ```
    /// use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId, pipeline::PipelineHistory,
    ///     pipeline::PipelineScope, pipeline::ProbabilitySource};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
    /// let usd = |s| Money::parse(s, Currency::USD);
    /// let mut a = OpportunityChange::new(OpportunityId::new("A")?, t(1), "prospecting", usd("1000")?); // 10 %
    /// a.probability = Some(0.25);
    /// let b = OpportunityChange::new(OpportunityId::new("B")?, t(1), "negotiation_review", usd("1000")?); // 90 %
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &[a, b])?;
    /// let stage = h.weighted_pipeline(t(2), PipelineScope::Rolling, ProbabilitySource::Stage)?;
    /// assert_eq!(stage.weighted, usd("1000")?);
    /// let own = h.weighted_pipeline(t(2), PipelineScope::Rolling, ProbabilitySource::Opportunity)?;
    /// assert_eq!((own.weighted, own.unweighted.deals), (usd("250")?, 1));
    /// let mixed = h.weighted_pipeline(t(2), PipelineScope::Rolling, ProbabilitySource::OpportunityElseStage)?;
    /// assert_eq!(mixed.weighted, usd("1150")?);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
    pub fn weighted_pipeline(
        &self,
        as_of: DateTime<Utc>,
        scope: PipelineScope,
        source: ProbabilitySource,
    ) -> Result<WeightedPipeline> {
        self.weigh(as_of, &scope, |r| self.configured_probability(source, r))
    }

    /// Empirical stage-to-won rates learnt from the deals closed by `as_of` (whose
    /// closing instant is in `window`, if given). See [`StageWinRates`].
    ///
    /// ```
    /// use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId, pipeline::PipelineHistory};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
    /// let ch = |id, d, stage| -> Result<OpportunityChange, revops::Error> {
    ///     Ok(OpportunityChange::new(OpportunityId::new(id)?, t(d), stage, Money::parse("10", Currency::USD)?))
    /// };
    /// let rows = vec![
    ///     ch("A", 1, "prospecting")?, ch("A", 2, "needs_analysis")?, ch("A", 3, "closed_won")?,
    ///     ch("B", 1, "prospecting")?, ch("B", 3, "closed_lost")?,
    ///     ch("C", 1, "prospecting")?, // open: not learnt from
    /// ];
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
    /// let rates = h.stage_win_rates(t(5), None);
    /// assert_eq!((rates.stages[0].ratio.numerator, rates.stages[0].ratio.denominator), (1, 2));
    /// assert_eq!(rates.rate(2), Some(revops::Decimal::ONE)); // needs analysis: 1 / 1
    /// assert_eq!(rates.rate(1), None); // nobody was in qualification
    /// # Ok(()) }
    /// ```
    pub fn stage_win_rates(&self, as_of: DateTime<Utc>, window: Option<Window>) -> StageWinRates {
        let mut stages = self.empty_stage_rates();
        let mut seen = vec![false; stages.len()];
        let mut touched = Vec::new();
        let at = key(as_of);
        for o in 0..self.len() {
            let rs = self.rows_of(o);
            let Some(k) = self.position_at(o, at) else {
                continue;
            };
            let last = &rs[k];
            if !self.kind(last).is_terminal() || !in_window(window.as_ref(), last.status_since(rs))
            {
                continue;
            }
            let won = self.kind(last) == StageKind::Won;
            for r in &rs[..=k] {
                let s = usize::from(r.stage);
                if !seen[s] {
                    seen[s] = true;
                    touched.push(s);
                }
            }
            for &s in &touched {
                stages[s].ratio.add(won);
                seen[s] = false;
            }
            touched.clear();
        }
        StageWinRates { as_of, stages }
    }

    /// The open pipeline in scope at `as_of`, weighted by empirical stage rates.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) (`"stages"`) if the rates are of another funnel;
    /// [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
    pub fn weighted_by_rates(
        &self,
        as_of: DateTime<Utc>,
        scope: PipelineScope,
        rates: &StageWinRates,
    ) -> Result<WeightedPipeline> {
        let own = self.empty_stage_rates();
        check_same_stages(&own, &rates.stages)?;
        let decimals: Vec<Option<Decimal>> = (0..own.len()).map(|s| rates.rate(s)).collect();
        self.weigh(as_of, &scope, |r| decimals[usize::from(r.stage)])
    }

    /// Weighs the pipeline open at `spec.t0` with configured and with empirical
    /// probabilities, and reads what it became by `spec.t1`.
    ///
    /// ```
    /// use revops::{pipeline::BacktestSpec, Currency, Funnel, Money, OpportunityChange, OpportunityId, pipeline::PipelineHistory};
    /// use chrono::{TimeZone, Utc};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
    /// let ch = |id, d, stage, a| -> Result<OpportunityChange, revops::Error> {
    ///     Ok(OpportunityChange::new(OpportunityId::new(id)?, t(d), stage, Money::parse(a, Currency::USD)?))
    /// };
    /// let rows = vec![
    ///     // history: of two prospecting deals, one won
    ///     ch("H1", 1, "prospecting", "10")?, ch("H1", 2, "closed_won", "10")?,
    ///     ch("H2", 1, "prospecting", "10")?, ch("H2", 2, "closed_lost", "10")?,
    ///     // the pipeline at t0 = the 5th
    ///     ch("A", 3, "prospecting", "1000")?, ch("A", 20, "closed_won", "900")?,
    ///     ch("B", 3, "prospecting", "1000")?,
    /// ];
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
    /// let b = h.backtest_weighted(&BacktestSpec::new(t(5), t(25)))?;
    /// let usd = |s| Money::parse(s, Currency::USD);
    /// assert_eq!(b.configured.weighted, usd("200")?); // 2 × 1000 × 10 %
    /// assert_eq!(b.empirical.weighted, usd("1000")?); // 2 × 1000 × 1/2
    /// assert_eq!((b.won.amount, b.still_open.deals), (usd("900")?, 1));
    /// assert_eq!(b.configured_error()?, usd("-700")?);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::InvalidPeriod`](crate::error::ErrorKind::InvalidPeriod) (record `"backtest"`) if `t1 < t0`;
    /// [`ErrorKind::Overflow`](crate::error::ErrorKind::Overflow).
    pub fn backtest_weighted(&self, spec: &BacktestSpec) -> Result<WeightedBacktest> {
        if spec.t1 < spec.t0 {
            return Err(Error::from(ErrorKind::InvalidPeriod {
                record: RecordRef::new("backtest"),
                start: spec.t0.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                end: spec.t1.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            }));
        }
        let configured = self.weighted_pipeline(spec.t0, spec.scope, spec.source)?;
        let rates = self.stage_win_rates(spec.t0, None);
        let empirical = self.weighted_by_rates(spec.t0, spec.scope, &rates)?;
        let cur = self.currency();
        let (mut won, mut lost, mut still_open) =
            (Flow::zero(cur), Flow::zero(cur), Flow::zero(cur));
        let (t0, t1) = (key(spec.t0), key(spec.t1));
        for o in 0..self.len() {
            let Some(a) = self.row_at(o, t0).filter(|r| self.in_scope(&spec.scope, r)) else {
                continue;
            };
            // a exists at t0, so a row exists at t1 >= t0
            let Some(b) = self.row_at(o, t1) else {
                continue;
            };
            match self.kind(b) {
                StageKind::Won => won.add(&self.money(b.amount))?,
                k if k.is_terminal() => lost.add(&self.money(a.amount))?,
                _ => still_open.add(&self.money(a.amount))?,
            }
        }
        Ok(WeightedBacktest {
            spec: spec.clone(),
            configured,
            empirical,
            rates,
            won,
            lost,
            still_open,
        })
    }
}

// ---------------------------------------------------------------------------
// Lookups by name (issue 15).
// ---------------------------------------------------------------------------

impl StageWinRates {
    /// The rate of the stage keyed `key`, if the funnel has it (see
    /// [`StageWinRates::rate`] for the rate by position).
    pub fn stage(&self, key: &str) -> Option<&StageRate> {
        self.stages.iter().find(|s| s.key == key)
    }
}
