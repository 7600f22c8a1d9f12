//! Attribution: who gets credit for a conversion and its revenue.
//!
//! The data-driven models read aggregated journeys, [`PathRow`](crate::PathRow)s
//! (`path, conversions, value, nulls`, as in `paths.csv`; counts may be fractional),
//! through mergeable accumulators, and solve exactly where other tools simulate:
//!
//! - Markov-chain removal effects of order `k ≥ 1`, from one LU
//!   factorisation of the absorbing chain ([`MarkovCounts`], [`markov_attribution`]);
//! - the simplified and ordered Shapley values, the conversion-rate
//!   Shapley value over unique channel sets, and the Shao–Li baseline
//!   ([`ShapleyCounts`], [`shapley_attribution`]).
//!
//! Every model reports per-channel conversions and value as `f64`, and splits the
//! value exactly as [`Money`](crate::Money) whose parts sum to the total.

mod markov;
mod shapley;

pub use markov::{
    MarkovChannel, MarkovCounts, MarkovNulls, MarkovOptions, MarkovRepeats, MarkovReport,
    MarkovState, MarkovStepLimit, MarkovTransition, markov_attribution,
};
pub use shapley::{
    OrderedCredit, OrderedShapley, RateShapley, ShaoLi, ShapleyCounts, ShapleyCredit,
    ShapleyCredits, ShapleyMethod, ShapleyOptions, ShapleyReport, ShapleyUniverse,
    shapley_attribution,
};
