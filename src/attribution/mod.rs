//! Attribution: who gets credit for a conversion, and for its revenue.
//!
//! The engine works in four steps:
//! 1. **Journeys.** [`JourneyBuilder`] interns touches, conversions and stage events
//!    (a monoid over any split of the input) and builds [`Journeys`] under
//!    [`JourneyOptions`]: per subject, the ordered touches up to each conversion
//!    (touches at the conversion instant included), within an optional lookback,
//!    after channel / campaign filters, with explicit policies for several
//!    conversions ([`RepeatConversions`]) and touches after the last one
//!    ([`TrailingTouches`]). Everything not credited is counted in
//!    [`JourneyDiagnostics`]. Both [`JourneyBuilder`] and [`Journeys`] follow the
//!    [`crate::Accumulator`] contract (options at `new`, `add_batch`, `merge`,
//!    `finish`, a versioned serialised partial state). [`Journeys`] can also be
//!    built from aggregated path rows
//!    ([`Journeys::from_path_rows`]) and aggregated back into them
//!    ([`Journeys::path_rows`]). For millions of records, read the CSV files straight
//!    into the builder (`JourneyBuilder::read_touches_csv` and friends, feature
//!    `csv`) and let [`JourneyBuilder::into_journeys`] cut the journeys in the
//!    builder's own arrays.
//! 2. **Models.** [`crate::AttributionModel`] names every model below in one type
//!    (with one text form: `first_touch`, `u_shaped`, `markov:2`, `shapley`, …).
//!    A [`RuleModel`] splits each conversion over its journey's touches;
//!    the data-driven models read aggregated journeys ([`crate::PathRow`]s, from
//!    [`Journeys::path_rows`] or `paths.csv`) through mergeable accumulators and solve
//!    exactly where other tools simulate: Markov-chain removal effects of order
//!    `k ≥ 1` from one LU factorisation of the absorbing chain ([`MarkovCounts`],
//!    [`markov_attribution`]; [`MarkovCounts::from_journeys`] aggregates journeys
//!    without building the rows); the simplified and ordered Shapley values, the
//!    conversion-rate Shapley value over unique channel sets and the Shao–Li baseline
//!    ([`ShapleyCounts`], [`shapley_attribution`]).
//! 3. **Outputs.** [`Journeys::attribute`] gives credited conversions and value per
//!    channel and per (channel, campaign) ([`Attribution`]; [`Journeys::attribute_all`]
//!    runs several models in one pass); [`Journeys::attribute_with_revenue`]
//!    adds exact revenue ([`crate::Money`]: each channel's exact share of the revenue,
//!    computed in integers and rounded once by the largest remainder over the
//!    channels, so it is less than one unit from the exact share and channel revenue
//!    sums exactly to converted revenue);
//!    [`Journeys::touch_credits`] streams per-touch rows ([`TouchCredit`]) for cost,
//!    pipeline and period roll-ups. [`CreditCounts`] is the rule models' running
//!    tally: journeys credited batch by batch (a streamed `paths.csv`, feature `csv`:
//!    `Journeys::fold_paths_csv`) give exactly what [`Journeys::attribute_all`] gives
//!    over all of them, without holding them.
//! 4. **Ground truth.** [`score_against_truth`] scores any model's channel shares
//!    ([`ChannelConversions`]) against a known per-channel effect, such as the
//!    synthetic company's counterfactual conversions, by Spearman rank correlation and
//!    L1 share error ([`TruthScore`]).
//!
//! # Limits
//!
//! The rule models are linear in the touches. The data-driven models grow faster
//! than their input, so each has a documented limit, configurable, checked before
//! anything is allocated, with [`ErrorKind::LimitExceeded`](crate::error::ErrorKind::LimitExceeded) naming it beyond:
//!
//! | Limit | Default | Guards |
//! |---|---|---|
//! | [`MarkovOptions::max_states`] | 5,000 states | the dense `states × states` solve: `16·states²` bytes (400 MB at the default), time growing as `states³` |
//! | [`ShapleyOptions::max_channels`] | 2,000 channels | Shao–Li's table of channel pairs (`channels²/2`) and the conversion-rate games |
//! | [`ShapleyOptions::max_ordered_cells`] | 10,000,000 cells | the ordered Shapley value's credit per channel per position (`channels × longest path`, 16 bytes each) |
//!
//! The consolidated report ([`crate::report::Report`]) leaves a data-driven model out beyond
//! its limit and names it in [`crate::report::Report::omitted`].
//!
//! # The rule models
//!
//! For a journey of `n ≥ 1` touches `t₁ … tₙ` in time order (ties keep input order):
//!
//! - **First touch**: `t₁` gets 1.
//! - **Last touch**: `tₙ` gets 1.
//! - **Last non-direct** (`direct` channels, default `["direct"]`): the last touch not
//!   through a direct channel gets 1; if all are direct, `tₙ` gets 1 (a fallback).
//! - **Linear**: each touch gets `1/n` (a channel touched twice gets two shares).
//! - **Linear unique**: each of the `k` distinct channels gets `1/k`, split equally
//!   over that channel's touches.
//! - **Time decay** (half-life `h`, default 7 days): `tᵢ` gets `0.5^((c − tᵢ)/h)`
//!   normalised to sum 1, `c` the conversion time. Needs touch times (not path rows).
//! - **Position-based / U-shaped** (`first`, `last`, default 0.4 / 0.4, the 40/20/40
//!   model most tools call U-shaped): `t₁` gets `first`,
//!   `tₙ` gets `last`, each middle touch `(1 − first − last)/(n − 2)`. One touch: 1.
//!   Two touches: `first/(first + last)` and `last/(first + last)` (the middle share is
//!   renormalised away; 50/50 if both are 0).
//! - **J**: position-based 0.2 / 0.6 (two touches: 25/75). **Inverse J**: 0.6 / 0.2
//!   (75/25).
//! - **First and lead** (`first_and_lead`, B2B; `u_shaped` in revops 0.1): first
//!   touch 0.5, lead-creation touch 0.5.
//! - **W-shaped**: first touch, lead-creation touch, opportunity-creation touch 0.3
//!   each; 0.1 spread over the other touches.
//! - **Full path / Z**: first touch, lead creation, opportunity creation, closed won
//!   0.225 each; 0.1 over the other touches.
//! - **Custom milestones**: any weights per milestone ([`Milestone`]: first touch,
//!   last touch or a stage key) and a `rest` weight over the other touches.
//!
//! A milestone's touch is the last touch of the journey at or before the subject's
//! stage event (lead creation: stage `inquiry`, opportunity creation `opportunity`,
//! closed won `won`, the keys of [`crate::Funnel::demand_waterfall`]; other keys with
//! [`RuleModel::w_shaped_at`] and friends). Several milestones on one touch pool their
//! weights; a milestone that does not resolve is dropped and the rest renormalised;
//! the `rest` share is renormalised away when every touch is a milestone; when
//! nothing has weight, the journey falls back to linear. See [`RuleModel`] for worked
//! cases.
//!
//! ```
//! use revops::{Channel, Conversion, Currency, attribution::JourneyOptions, attribution::Journeys, Money, attribution::RuleModel, StageEvent, SubjectId, Touch};
//! use chrono::{TimeZone, Utc};
//! # fn main() -> Result<(), revops::Error> {
//! let t = |d| Utc.with_ymd_and_hms(2026, 4, d, 0, 0, 0).unwrap();
//! let s = SubjectId::new("L1")?;
//! let touch = |c: &str, d| Ok::<_, revops::Error>(Touch::new(s.clone(), Channel::new(c)?, t(d)));
//! let touches = vec![touch("search", 1)?, touch("webinar", 3)?, touch("email", 5)?, touch("demo", 8)?];
//! let events = vec![
//!     StageEvent::new(s.clone(), "inquiry", t(3)),     // lead created at the webinar
//!     StageEvent::new(s.clone(), "opportunity", t(9)), // opportunity after the demo
//! ];
//! let won = Conversion::new(s.clone(), t(20), Some(Money::parse("10000", Currency::USD)?));
//! let journeys = Journeys::from_records(&touches, &[won], &events, &JourneyOptions::default())?;
//!
//! let w = journeys.attribute_with_revenue(&RuleModel::WShaped)?;
//! let revenue = |c: &str| w.channel(c).unwrap().revenue.unwrap().amount().to_string();
//! assert_eq!(revenue("search"), "3000.00");
//! assert_eq!(revenue("webinar"), "3000.00");
//! assert_eq!(revenue("email"), "1000.00");
//! assert_eq!(revenue("demo"), "3000.00");
//! # Ok(()) }
//! ```

mod credit;
mod credit_counts;
mod journey;
mod markov;
pub(crate) mod model;
mod rules;
mod shapley;
mod state;
mod truth;

pub use credit::{Attribution, CampaignCredit, ChannelCredit, TouchCredit, TouchCredits};
pub use credit_counts::CreditCounts;
pub use journey::{
    JourneyBuilder, JourneyDiagnostics, JourneyNote, JourneyOptions, JourneyRecord, JourneyRef,
    Journeys, RepeatConversions, TouchRef, TrailingTouches,
};
pub use markov::{
    MarkovChannel, MarkovCounts, MarkovNulls, MarkovOptions, MarkovRepeats, MarkovReport,
    MarkovState, MarkovStepLimit, MarkovTransition, markov_attribution,
};
pub use rules::{Milestone, RuleModel};
pub use shapley::{
    OrderedCredit, OrderedShapley, RateShapley, ShaoLi, ShapleyCounts, ShapleyCredit,
    ShapleyCredits, ShapleyMethod, ShapleyOptions, ShapleyReport, ShapleyUniverse,
    shapley_attribution,
};
pub use truth::{ChannelConversions, ChannelShareError, TruthScore, score_against_truth};
