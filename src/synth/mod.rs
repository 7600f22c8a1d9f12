//! Deterministic synthetic data: a realistic B2B company, seeded (feature `synth`).
//!
//! [`generate`] builds a whole [`Company`] from a [`SynthConfig`]: leads from a
//! dozen sources, their demand-waterfall events, touches, conversions, opportunities
//! with a Salesforce-style history, monthly spend and forecasts, and the **truth** of
//! the model that made them, so that attribution and forecasting methods can be
//! scored against a known answer. [`Synth`] is the same generator as a stream: one
//! [`LeadBundle`] per lead, in constant memory, in any order.
//!
//! ```
//! use revops::synth::{generate, SynthConfig};
//! # fn main() -> Result<(), revops::Error> {
//! let company = generate(&SynthConfig::default().with_leads(2_000).with_seed(3))?;
//! assert_eq!(company.leads.len(), 2_000);
//! assert!(company.conversions.len() < company.opportunities.len());
//! // Same configuration, same company, on every platform.
//! assert_eq!(company, generate(&SynthConfig::default().with_leads(2_000).with_seed(3))?);
//! # Ok(()) }
//! ```
//!
//! # Determinism
//!
//! The generator has its own random numbers (SplitMix64 seeding, xoshiro256**
//! streams) and its own `exp` / `ln`, built only from IEEE-754 operations that are
//! correctly rounded everywhere, so a configuration gives the same bits on every
//! platform and does not depend on any other crate's random numbers. Lead `i` draws
//! only from the stream `(seed, i)`: leads are independent, can be generated in
//! parallel ([`Synth::leads_in`]) or one at a time ([`Synth::lead`]). Aggregates
//! (spend, forecasts) draw from their own streams keyed by line or series and month.
//! No clock is read: the history starts at [`SynthConfig::start`].
//!
//! # The model
//!
//! **Volume.** Lead creation follows a daily intensity `(1 + g)^(day / 30.44) ×
//! weekday weight` (Monday–Sunday `1.0, 1.1, 1.1, 1.05, 0.9, 0.3, 0.25`) with a
//! business-hours profile within the day; `g` is [`SynthConfig::monthly_growth`].
//! Lead `i` is placed at the quantile `(i + U) / n` of that curve (stratified), so
//! lead ids increase with creation time, as CRM ids do.
//!
//! **Who.** The source is drawn from the source shares; a campaign uniformly among the
//! source's campaigns. 90 % of leads have a known account; accounts number
//! `leads / 2.5` and are drawn with a skew (`⌊n U²⌋`), so a few accounts have many
//! leads. Segment, industry, region and owner belong to the account (drawn from the
//! account's own stream); leads without a known account are given a segment from the
//! segment shares but carry no segment, owner or attributes (the CRM does not know
//! them). Industries: software 22 %, financial services 14 %, manufacturing 14 %,
//! healthcare 12 %, professional services 12 %, retail 10 %, media 10 %, education
//! 6 %. Regions: North America 50 %, EMEA 30 %, APAC 15 %, LATAM 5 %.
//!
//! **Touches and their true effect.** Every lead is touched on its own source. Each
//! other channel `c` (other sources and [`TouchChannelProfile`]s) touches it
//! independently with probability `reach_c`. Let `C` be the touched set and
//! `η = Σ_{c ∈ C} lift_c`. For a lead of source `s`, the expected `η` is
//! `η̄_s = lift_s + Σ_{c ≠ s} reach_c lift_c`, and each of the five funnel steps
//! `k = 0 … 4` (Inquiry→MQL, MQL→SAL, SAL→SQL, SQL→Opportunity, Opportunity→Won)
//! passes with probability
//!
//! ```text
//! p_k = σ(logit(r_k) + (η − η̄_s)),   σ(x) = 1 / (1 + e^−x)
//! ```
//!
//! where `r_k` is the step's base rate: the source's `mql_rate` for Inquiry→MQL,
//! the [`FunnelRates`] with the source's quality (`logit(r) + ln quality`) for
//! MQL→SAL, SAL→SQL and SQL→Opportunity, and for Opportunity→Won also
//! `+ ln win_odds` of the segment. Centring on `η̄_s` keeps the configured rates the
//! rates of an average lead of the source. Touched leads get 1 touch per touched
//! channel plus geometric repeats (continue with probability 0.35), at most
//! [`SynthConfig::max_touches`] in all; the source touch is at creation, the others
//! uniform between creation and the lead's last stage event (or about three weeks
//! for leads with no later event), so every touch precedes the conversion. Touch
//! times carry no effect: only the set of touched channels does.
//!
//! **Path.** Inquiry at creation; each step passes with `p_k` after a lognormal
//! delay ([`Lags`]). A lead that fails a step is disqualified (with a reason such as
//! "no budget", "bad fit", "competitor"), recycled to nurture, or simply stays
//! ([`FunnelRates::disqualified`], [`FunnelRates::recycled`]); a failed opportunity
//! is lost (with a reason such as "price" or "no decision"). A share of recycled
//! leads ([`FunnelRates::reentry_rate`]) comes back as an MQL later and walks the
//! steps again (cycle 2, with the same `p_k`; no third cycle). Some leads that pass
//! straight to SAL carry no MQL event ([`FunnelRates::skip_mql_rate`]). Events carry
//! their cycle number. Nothing is dated at or after the end of the window: a lead
//! whose next event would be is simply open.
//!
//! **Truth.** All draws of the path are made up front, so the counterfactual is
//! exact: with `I₁` = "a cycle-1 win lands in the window" and `I₂(j)` = "a cycle-2
//! win after recycling at step j lands in the window" (both fixed by the drawn
//! delays), the lead's probability of converting inside the window is
//!
//! ```text
//! P(η) = I₁ p₀p₁p₂p₃p₄ + Σ_{j=0..3} I₂(j) (Π_{i<j} p_i) (1 − p_j) recycled_j · reentry · p₁p₂p₃p₄
//! ```
//!
//! (a cycle-2 lead re-enters at MQL, so it walks steps 1 to 4 again)
//!
//! and channel `c`'s incremental conversions are `Σ_{leads touched by c}
//! [P(η) − P(η − lift_c)]` ([`Truth`], [`LeadTruth`]).
//!
//! **Deals.** The deal amount is lognormal (σ 0.5) around the source's deal size ×
//! the segment's multiplier, rounded to three significant digits. The opportunity is
//! created at the opportunity stage with that amount and walks the Salesforce stages
//! (`Funnel::salesforce_opportunity`): it starts at prospecting (70 %) or
//! qualification, each later stage is recorded with probability 0.7, a lost deal
//! stops at a random furthest stage (early ones more likely). Stage changes are
//! spread over the deal's life; a quarter of them change the amount (lognormal
//! factor, σ 0.2, up or down) and 40 % of wins get a closing discount (0–15 %). The
//! rep's close date starts optimistic (0.8 × the typical cycle) and is pushed by about
//! a month at a time (lognormal, median 30 days, at least 7) while the deal runs late,
//! at most six times, so long deals are pushed two or more times. Probability and forecast category follow the stage (prospecting to needs
//! analysis: pipeline; value proposition to perception analysis: best case; proposal
//! and negotiation: commit; closed won: closed; closed lost: omitted). Each history
//! row is the full state after the change; the opportunity is its last row; a won
//! deal's final amount is its conversion's value.
//!
//! **Hiring** (opt-in, [`SynthConfig::hiring`]; off by default, and then nothing
//! above changes): owners hired at known dates take a share of their segment's new
//! opportunities that grows along a known linear ramp ([`HiringProfile`]), so the
//! ramp measured from the history
//! ([`PipelineHistory::ramp`](crate::pipeline::PipelineHistory::ramp)) can be checked
//! against it; [`Company::hires`] lists them.
//!
//! **Spend and forecasts** are monthly aggregates of the leads: see [`Synth::spend`]
//! and [`Synth::forecasts`].

mod config;
mod engine;
mod paths;
mod rng;
mod tally;
mod truth_score;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::money::Currency;
use crate::period::Window;
use crate::records::{
    Conversion, ForecastPoint, Lead, Opportunity, OpportunityChange, Spend, StageEvent, Touch,
};

pub use config::{
    FunnelRates, HiringProfile, Lag, Lags, MAX_CHANNELS, MAX_LEADS, MAX_MONTHS, MIN_LEADS,
    SegmentProfile, SourceProfile, SynthConfig, TouchChannelProfile,
};
pub use engine::{LeadBundle, LeadTruth, Leads, Synth};
pub use paths::{MAX_PATH_CHANNELS, PathsConfig, path_rows};
pub use tally::{ChannelTruth, FORECAST_SERIES, Tally, Truth};

/// A whole synthetic company: every record the crate measures, and the truth.
///
/// The record vectors are the concatenation, in lead order, of the leads'
/// [`LeadBundle`]s; `spend` and `forecasts` are derived from all leads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Company {
    /// The history window; every timestamp lies inside it.
    pub window: Window,
    /// The currency of all money.
    pub currency: Currency,
    /// The leads, in index (and creation-time) order.
    pub leads: Vec<Lead>,
    /// Demand-waterfall events (keys of `Funnel::demand_waterfall`).
    pub stage_events: Vec<StageEvent>,
    /// Touches.
    pub touches: Vec<Touch>,
    /// One conversion per won lead.
    pub conversions: Vec<Conversion>,
    /// Monthly spend per paid channel and campaign.
    pub spend: Vec<Spend>,
    /// Opportunities in their final state (keys of `Funnel::salesforce_opportunity`).
    pub opportunities: Vec<Opportunity>,
    /// Opportunity history rows, per opportunity in time order.
    pub opportunity_history: Vec<OpportunityChange>,
    /// Monthly forecast points (see [`Synth::forecasts`]).
    pub forecasts: Vec<ForecastPoint>,
    /// The truth of the touch model.
    pub truth: Truth,
    /// Owners hired during the history, with their hire dates (empty unless
    /// [`SynthConfig::hiring`] is set; then not serialised when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hires: Vec<crate::plan::Hire>,
}

impl Company {
    /// The report's view of the company's tables (see [`crate::report::Report::build`]).
    pub fn report_input(&self) -> crate::report::ReportInput<'_> {
        crate::report::ReportInput {
            leads: &self.leads,
            stage_events: &self.stage_events,
            touches: &self.touches,
            conversions: &self.conversions,
            spend: &self.spend,
            opportunity_history: &self.opportunity_history,
            forecasts: &self.forecasts,
        }
    }
}

impl Synth {
    /// Generates every lead and derives spend, forecasts and the truth.
    ///
    /// # Errors
    /// Only if a derived record fails its own validation, which a validated
    /// configuration prevents.
    pub fn company(&self) -> Result<Company> {
        let n = usize::try_from(self.len()).unwrap_or(usize::MAX);
        let mut c = Company {
            window: self.window(),
            currency: self.config.currency,
            leads: Vec::with_capacity(n),
            stage_events: Vec::with_capacity(n.saturating_mul(9) / 4),
            touches: Vec::with_capacity(n.saturating_mul(6)),
            conversions: Vec::with_capacity(n / 50),
            spend: Vec::new(),
            opportunities: Vec::with_capacity(n / 16),
            opportunity_history: Vec::with_capacity(n / 3),
            forecasts: Vec::new(),
            truth: Truth {
                channels: Vec::new(),
                expected_conversions: 0.0,
            },
            hires: self.hires(),
        };
        let mut tally = self.tally();
        let mut parts = engine::Parts {
            events: std::mem::take(&mut c.stage_events),
            touches: std::mem::take(&mut c.touches),
            history: std::mem::take(&mut c.opportunity_history),
            incremental: Vec::new(),
            touch_lines: Vec::new(),
        };
        for i in 0..self.len() {
            parts.incremental.clear();
            parts.touch_lines.clear();
            let head = self.make_into(i, &mut parts);
            tally.add_parts(
                &head.meta,
                &parts.touch_lines,
                head.conversion_probability,
                &parts.incremental,
            );
            c.leads.push(head.lead);
            c.conversions.extend(head.conversion);
            c.opportunities.extend(head.opportunity);
        }
        c.stage_events = parts.events;
        c.touches = parts.touches;
        c.opportunity_history = parts.history;
        c.spend = self.spend(&tally)?;
        c.forecasts = self.forecasts(&tally)?;
        c.truth = self.truth(&tally)?;
        Ok(c)
    }
}

/// Generates a [`Company`] from a configuration: the same configuration always gives
/// the same company.
///
/// ```
/// use revops::synth::{generate, SynthConfig};
/// use revops::Funnel;
/// # fn main() -> Result<(), revops::Error> {
/// let company = generate(&SynthConfig::default().with_leads(1_000).with_months(12))?;
/// assert_eq!(company.leads.len(), 1_000);
/// let waterfall = Funnel::demand_waterfall();
/// assert!(company.stage_events.iter().all(|e| waterfall.stage_index(&e.stage).is_some()));
/// assert!(company.stage_events.iter().all(|e| company.window.contains(e.at)));
/// assert_eq!(company.forecasts.len(), 3 * (12 + 3));
/// // Bad parameters are errors, not panics.
/// assert!(generate(&SynthConfig::default().with_months(0)).is_err());
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) naming the bad parameter (see
/// [`SynthConfig::validate`]).
pub fn generate(config: &SynthConfig) -> Result<Company> {
    Synth::new(config.clone())?.company()
}
