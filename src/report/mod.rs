//! The consolidated revenue report: every engine over one dataset, by one set of rules.
//!
//! [`Report::build`] takes the records of one company ([`ReportInput`]) and runs, in
//! this order:
//!
//! | section | engine calls | needs |
//! |---|---|---|
//! | [`FunnelSection`] | [`cohort_report`] (cohorts by quarter of lead creation, broken down by lead source), [`velocity_report`], [`qualification_report`] | leads, stage events |
//! | [`AttributionSection`] | [`Journeys::from_records`], every [`RuleModel`] of the options with exact revenue, [`markov_attribution`], [`shapley_attribution`] | touches, conversions |
//! | [`EconomicsSection`] | [`align_spend`] (monthly), [`Credits::from_lead_source`], [`unit_economics`], [`sourcing_report`] | spend and the funnel (unit economics); opportunity history (sourcing) |
//! | [`PipelineSection`] | [`PipelineHistory`]: [`waterfall`](PipelineHistory::waterfall), [`win_rate`](PipelineHistory::win_rate), [`sales_cycle`](PipelineHistory::sales_cycle), [`slippage`](PipelineHistory::slippage) over the last complete quarter | opportunity history |
//! | [`ForecastSection`] | [`ForecastErrors`], [`Calibration`] of the probabilities open deals had at the quarter's start | forecasts; history with probabilities |
//! | [`PlanSection`] | [`ReverseFunnel::from_cohort`] + [`with_velocity`](ReverseFunnel::with_velocity), [`ReverseFunnel::plan`] for next quarter, [`project`] of the open deals | the funnel section and won revenue |
//!
//! A section whose inputs are absent is `None` and named, with the reason, in
//! [`Report::omitted`]; nothing is left out silently. "The last complete quarter" and
//! "next quarter" are taken relative to [`Report::as_of`] (by default the latest
//! timestamp in the input) in the options' [`Calendar`].
//!
//! The report is plain data (`Serialize`, `Deserialize`): `serde_json` gives its JSON
//! form, `Display` a text report, and [`Report::to_html`] a self-contained HTML page
//! with SVG charts. Building and rendering do no I/O.

mod html;
mod text;

pub use html::CHART_IDS;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::attribution::{
    Attribution, JourneyDiagnostics, JourneyOptions, Journeys, MarkovOptions, MarkovReport,
    RuleModel, ShapleyOptions, ShapleyReport, markov_attribution, shapley_attribution,
};
use crate::cost::{
    CostGrouping, Credits, InfluenceMilestone, SourcedBy, SourcingReport, SpendAlignment,
    UnitEconomics, align_spend, sourcing_report, unit_economics,
};
use crate::distribution::Summary;
use crate::error::{Error, Result};
use crate::forecast::{
    Calibration, CalibrationOptions, CalibrationReport, ErrorOptions, ForecastErrors,
    ForecastReport,
};
use crate::funnel::{
    CohortAnchor, CohortReport, CohortSpec, Dimension, Funnel, FunnelData, FunnelEvents,
    PathOptions, Paths, QualificationReport, QualificationSpec, VelocityReport, VelocitySpec,
    cohort_report, qualification_report, velocity_report,
};
use crate::ids::LeadId;
use crate::money::{Currency, Money};
use crate::period::{Calendar, Granularity, Period, Window};
use crate::pipeline::{
    Audit, PipelineHistory, SalesCycleSpec, Slippage, Waterfall, WaterfallSpec, WinRate,
    WinRateSpec,
};
use crate::plan::{
    Projection, ReverseFunnel, ReversePlan, RoundingPolicy, open_items, outlook_from_history,
    project,
};
use crate::ratio::{Confidence, IntervalMethod};
use crate::records::{
    Conversion, ForecastPoint, Lead, Opportunity, OpportunityChange, Spend, StageEvent, Touch,
};

/// The records a report is built from; any of them may be empty (the sections that
/// need them are then omitted and named in [`Report::omitted`]).
///
/// ```
/// let input = revops::report::ReportInput::default();
/// assert_eq!(input.rows(), 0);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ReportInput<'a> {
    /// Leads (the funnel's subjects).
    pub leads: &'a [Lead],
    /// Stage events of the leads.
    pub stage_events: &'a [StageEvent],
    /// Marketing touches.
    pub touches: &'a [Touch],
    /// Conversions (closed-won deals) with their revenue.
    pub conversions: &'a [Conversion],
    /// Marketing spend.
    pub spend: &'a [Spend],
    /// Opportunity history (one row per change).
    pub opportunity_history: &'a [OpportunityChange],
    /// Forecast points (forecast vs actual per period).
    pub forecasts: &'a [ForecastPoint],
}

impl ReportInput<'_> {
    /// Total number of input records (for deciding whether to show progress).
    pub fn rows(&self) -> usize {
        self.leads.len()
            + self.stage_events.len()
            + self.touches.len()
            + self.conversions.len()
            + self.spend.len()
            + self.opportunity_history.len()
            + self.forecasts.len()
    }

    /// The latest timestamp among stage events, touches, conversions and opportunity
    /// changes (`None` if there is none).
    pub fn latest(&self) -> Option<DateTime<Utc>> {
        let a = self.stage_events.iter().map(|e| e.at).max();
        let b = self.touches.iter().map(|t| t.at).max();
        let c = self.conversions.iter().map(|c| c.at).max();
        let d = self.opportunity_history.iter().map(|h| h.changed_at).max();
        [a, b, c, d].into_iter().flatten().max()
    }
}

/// How a report is built. Every field has a documented default
/// ([`ReportOptions::default`]).
///
/// ```
/// use revops::{report::ReportOptions, attribution::RuleModel};
/// let o = ReportOptions::default().with_models(vec![RuleModel::FirstTouch, RuleModel::WShaped]);
/// assert_eq!(o.models.len(), 2);
/// assert_eq!(o.funnel.name(), "demand waterfall");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReportOptions {
    /// The lead funnel (default: [`Funnel::demand_waterfall`]).
    pub funnel: Funnel,
    /// The opportunity funnel of the history (default:
    /// [`Funnel::salesforce_opportunity`]).
    pub opportunity_funnel: Funnel,
    /// "Today" for the report (default: the latest timestamp of the input).
    ///
    /// The funnel (leads and stage events), the lead-source credits of unit
    /// economics (leads and conversions), the pipeline win rate and sales cycle,
    /// and the plan's deal size use only what is dated at or before it (the funnel
    /// and the credits count what they leave out). Spend, touches and conversions
    /// for attribution, opportunities for sourcing and forecast points are used as
    /// given: for a backtest, pass them as known at that date.
    pub as_of: Option<DateTime<Utc>>,
    /// Reporting calendar (default: calendar quarters, UTC).
    pub calendar: Calendar,
    /// Cohort period (default: quarter).
    pub cohort_granularity: Granularity,
    /// Cohort anchor (default: lead creation).
    pub cohort_anchor: CohortAnchor,
    /// Funnel and velocity breakdown (default: lead source; `None`: totals only).
    pub breakdown: Option<Dimension>,
    /// Rule models shown side by side (default: first touch, last touch, linear, time
    /// decay with a 7-day half-life, position-based 40/20/40, W-shaped). Milestone
    /// models are left out, and named in [`Report::omitted`], when there are no stage
    /// events.
    pub models: Vec<RuleModel>,
    /// Report currency (default: that of the first spend row, else of the first
    /// valued conversion, else of the first opportunity change, else USD).
    pub currency: Option<Currency>,
    /// Revenue target of next quarter's plan (default: 1.2 × the revenue won in the
    /// last complete quarter).
    pub target: Option<Money>,
    /// Interval level (default 95 %).
    pub confidence: Confidence,
    /// Interval method (default Wilson).
    pub method: IntervalMethod,
    /// Compute the attribution section on a second (scoped) thread while the other
    /// sections run on the calling thread (default `true`). The report is the same
    /// either way; `false` keeps everything on the calling thread.
    pub parallel: bool,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            funnel: Funnel::demand_waterfall(),
            opportunity_funnel: Funnel::salesforce_opportunity(),
            as_of: None,
            calendar: Calendar::default(),
            cohort_granularity: Granularity::Quarter,
            cohort_anchor: CohortAnchor::Created,
            breakdown: Some(Dimension::Source),
            models: vec![
                RuleModel::FirstTouch,
                RuleModel::LastTouch,
                RuleModel::Linear,
                RuleModel::TimeDecay {
                    half_life: RuleModel::DEFAULT_HALF_LIFE,
                },
                RuleModel::PositionBased {
                    first: 0.4,
                    last: 0.4,
                },
                RuleModel::WShaped,
            ],
            currency: None,
            target: None,
            confidence: Confidence::default(),
            method: IntervalMethod::default(),
            parallel: true,
        }
    }
}

impl ReportOptions {
    /// Sets the lead funnel.
    pub fn with_funnel(mut self, funnel: Funnel) -> Self {
        self.funnel = funnel;
        self
    }
    /// Sets the opportunity funnel.
    pub fn with_opportunity_funnel(mut self, funnel: Funnel) -> Self {
        self.opportunity_funnel = funnel;
        self
    }
    /// Sets "today".
    pub fn with_as_of(mut self, as_of: DateTime<Utc>) -> Self {
        self.as_of = Some(as_of);
        self
    }
    /// Sets the reporting calendar.
    pub fn with_calendar(mut self, calendar: Calendar) -> Self {
        self.calendar = calendar;
        self
    }
    /// Sets the cohort period.
    pub fn with_cohort_granularity(mut self, granularity: Granularity) -> Self {
        self.cohort_granularity = granularity;
        self
    }
    /// Sets the cohort anchor.
    pub fn with_cohort_anchor(mut self, anchor: CohortAnchor) -> Self {
        self.cohort_anchor = anchor;
        self
    }
    /// Sets (or removes) the breakdown.
    pub fn with_breakdown(mut self, breakdown: Option<Dimension>) -> Self {
        self.breakdown = breakdown;
        self
    }
    /// Sets the rule models.
    pub fn with_models(mut self, models: Vec<RuleModel>) -> Self {
        self.models = models;
        self
    }
    /// Sets the report currency.
    pub fn with_currency(mut self, currency: Currency) -> Self {
        self.currency = Some(currency);
        self
    }
    /// Sets next quarter's revenue target.
    pub fn with_target(mut self, target: Money) -> Self {
        self.target = Some(target);
        self
    }
    /// Sets the interval level and method.
    pub fn with_intervals(mut self, confidence: Confidence, method: IntervalMethod) -> Self {
        self.confidence = confidence;
        self.method = method;
        self
    }

    /// Runs attribution on a second thread (`true`, the default) or not.
    pub fn with_parallel(mut self, parallel: bool) -> Self {
        self.parallel = parallel;
        self
    }

    /// The cohort specification the funnel section uses.
    pub fn cohort_spec(&self) -> CohortSpec {
        let mut spec = CohortSpec::default()
            .with_granularity(self.cohort_granularity)
            .with_anchor(self.cohort_anchor.clone())
            .with_calendar(self.calendar)
            .with_confidence(self.confidence)
            .with_method(self.method);
        if let Some(d) = &self.breakdown {
            spec = spec.with_breakdown(d.clone());
        }
        spec
    }

    /// The velocity specification the funnel section uses.
    pub fn velocity_spec(&self) -> VelocitySpec {
        let spec = VelocitySpec::default();
        match &self.breakdown {
            Some(d) => spec.with_breakdown(d.clone()),
            None => spec,
        }
    }
}

/// How many records of each kind the report read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputCounts {
    /// Leads.
    pub leads: usize,
    /// Stage events.
    pub stage_events: usize,
    /// Touches.
    pub touches: usize,
    /// Conversions.
    pub conversions: usize,
    /// Spend rows.
    pub spend: usize,
    /// Opportunity changes.
    pub opportunity_history: usize,
    /// Forecast points.
    pub forecasts: usize,
}

/// A part of the report that was not produced, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Omission {
    /// The section (or part of it), e.g. `attribution` or `forecast.calibration`.
    pub section: String,
    /// Why.
    pub reason: String,
}

/// The demand waterfall: cohort conversion, velocity and qualification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunnelSection {
    /// Cohort conversion ([`ReportOptions::cohort_spec`]), with k/n and intervals.
    pub cohort: CohortReport,
    /// Time between stages ([`ReportOptions::velocity_spec`]).
    pub velocity: VelocityReport,
    /// MQL→SAL acceptance, SAL→SQL qualification and exits by reason (`None` unless
    /// the funnel has `mql`, `sal` and `sql` stages).
    pub qualification: Option<QualificationReport>,
}

/// Attribution by several models side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributionSection {
    /// What journey building credited, skipped and why.
    pub journeys: JourneyDiagnostics,
    /// Number of journeys, converting and not ([`Journeys::journey_count`]: the
    /// report cuts journeys from records, one per conversion and one per
    /// non-converting subject).
    pub journey_count: usize,
    /// One attribution per rule model, in the options' order; revenue is each
    /// channel's exact share rounded once, when the conversions carry values.
    pub rules: Vec<Attribution>,
    /// First-order Markov removal effect (default [`MarkovOptions`]); `None` when the
    /// chain has more states than [`MarkovOptions::max_states`] (then named in
    /// [`Report::omitted`] as `attribution.markov`, with the limit).
    pub markov: Option<MarkovReport>,
    /// Shapley values (default [`ShapleyOptions`]): simplified, ordered,
    /// conversion-rate and Shao–Li; `None` beyond [`ShapleyOptions::max_channels`] or
    /// [`ShapleyOptions::max_ordered_cells`] (named in [`Report::omitted`] as
    /// `attribution.shapley`).
    pub shapley: Option<ShapleyReport>,
}

impl AttributionSection {
    /// The channels any model in the section credits, sorted by name, each once.
    pub fn channels(&self) -> Vec<&str> {
        let mut channels: Vec<&str> = self
            .rules
            .iter()
            .flat_map(|a| a.channels.iter().map(|c| c.channel.as_str()))
            .chain(
                self.markov
                    .iter()
                    .flat_map(|m| m.channels.iter().map(|c| c.channel.as_str())),
            )
            .chain(self.shapley.iter().flat_map(|sh| {
                sh.conversion_rate
                    .credits
                    .credits
                    .iter()
                    .map(|c| c.channel.as_str())
            }))
            .collect();
        channels.sort_unstable();
        channels.dedup();
        channels
    }
}

/// Unit economics per channel and sourced vs influenced pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EconomicsSection {
    /// Cost per stage per lead source (spend aligned by month, credits by lead
    /// source); `None` without spend.
    pub by_lead_source: Option<UnitEconomics>,
    /// Pipeline sourced (by lead source) and influenced (any touch before opportunity
    /// creation); `None` without opportunity history.
    pub sourcing: Option<SourcingReport>,
}

/// The pipeline over the last complete quarter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineSection {
    /// The quarter.
    pub quarter: Period,
    /// The rolling pipeline waterfall from the quarter's start to its end (totals
    /// only; start + created + pulled in + increased − decreased − pushed out − lost −
    /// won = end).
    pub waterfall: Waterfall,
    /// Win rate (won / closed) as of the report date.
    pub win_rate: WinRate,
    /// Sales cycle of won deals as of the report date, in seconds (`None`: no won
    /// deal).
    pub sales_cycle: Option<Summary>,
    /// Close-date pushes within the quarter.
    pub slippage: Slippage,
}

/// Forecast accuracy and win-probability calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastSection {
    /// Forecast vs actual error metrics per series (`None` without forecasts).
    pub errors: Option<ForecastReport>,
    /// Calibration of the probability each deal open at the quarter's start had then,
    /// against its outcome at the quarter's end (deals still open are censored),
    /// 10 equal-width bins (`None` without such deals).
    pub calibration: Option<CalibrationReport>,
    /// The quarter the calibration looks at.
    pub quarter: Option<Period>,
}

/// Next quarter's plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanSection {
    /// The measured funnel: step rates from the cohorts, lags from the velocity.
    pub funnel: ReverseFunnel,
    /// What inflow next quarter's target needs, and when (the deal size is the
    /// average value of the conversions up to the report date).
    pub plan: ReversePlan,
    /// Where the target came from (`given` or `1.2 × last quarter's won revenue`).
    pub target_basis: String,
    /// Projection of the open deals at the report date over 30, 60 and 90 days and
    /// to the end of next quarter (`None` without opportunity history).
    pub projection: Option<Projection>,
}

/// The whole report. See the [module documentation](self) for what each section
/// holds and needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The report date.
    pub as_of: DateTime<Utc>,
    /// The report currency.
    pub currency: Currency,
    /// What was read.
    pub inputs: InputCounts,
    /// The demand waterfall.
    pub funnel: Option<FunnelSection>,
    /// Attribution.
    pub attribution: Option<AttributionSection>,
    /// Unit economics and sourcing.
    pub economics: Option<EconomicsSection>,
    /// Pipeline accuracy.
    pub pipeline: Option<PipelineSection>,
    /// Forecast accuracy and calibration.
    pub forecast: Option<ForecastSection>,
    /// Next quarter's plan.
    pub plan: Option<PlanSection>,
    /// Sections (or parts) not produced, with the reason.
    pub omitted: Vec<Omission>,
}

/// The opportunities at their latest state, rebuilt from their history: created at
/// their first change, with the stage, amount, close date, probability and forecast
/// category of their last change (ties: the later row). The lead link is the `lead` its
/// rows name (the last one given, in input order); failing that, an opportunity whose id is also a
/// lead's id is linked to that lead. Sorted by id.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use revops::{Currency, Decimal, Lead, LeadId, Money, OpportunityChange, OpportunityId,
///              report::opportunities_from_history};
/// # fn main() -> Result<(), revops::Error> {
/// let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
/// let usd = |v| Money::new(Decimal::from(v), Currency::USD);
/// let id = OpportunityId::new("O1")?;
/// let rows = [
///     OpportunityChange::new(id.clone(), t(1), "qualification", usd(100)).with_lead(LeadId::new("L1")?),
///     OpportunityChange::new(id, t(9), "closed_won", usd(120)),
/// ];
/// let leads = [Lead::new(LeadId::new("L1")?, t(1))];
/// let o = opportunities_from_history(&rows, &leads);
/// assert_eq!((o[0].created_at, o[0].stage.as_str(), o[0].amount), (t(1), "closed_won", usd(120)));
/// assert_eq!(o[0].lead.as_ref().map(|l| l.as_str()), Some("L1"));
/// # Ok(()) }
/// ```
pub fn opportunities_from_history(rows: &[OpportunityChange], leads: &[Lead]) -> Vec<Opportunity> {
    use std::collections::{BTreeMap, HashSet};
    type Latest<'r> = (&'r OpportunityChange, DateTime<Utc>, Option<&'r LeadId>);
    let mut last: BTreeMap<&str, Latest<'_>> = BTreeMap::new();
    for r in rows {
        let e = last
            .entry(r.opportunity.as_str())
            .or_insert((r, r.changed_at, None));
        e.1 = e.1.min(r.changed_at);
        if r.changed_at >= e.0.changed_at {
            e.0 = r;
        }
        if r.lead.is_some() {
            e.2 = r.lead.as_ref();
        }
    }
    // The same-id fallback needs the lead ids only when some opportunity names no lead.
    let lead_ids: HashSet<&str> = if last.values().any(|e| e.2.is_none()) {
        leads.iter().map(|l| l.id.as_str()).collect()
    } else {
        HashSet::new()
    };
    last.into_values()
        .map(|(r, created, lead)| {
            let mut o = Opportunity::new(r.opportunity.clone(), created, r.stage.clone(), r.amount);
            o.close_date = r.close_date;
            o.probability = r.probability;
            o.forecast_category = r.forecast_category;
            o.lead = match lead {
                Some(l) => Some(l.clone()),
                None if lead_ids.contains(r.opportunity.as_str()) => {
                    LeadId::new(r.opportunity.as_str()).ok()
                }
                None => None,
            };
            o
        })
        .collect()
}

fn omit(omitted: &mut Vec<Omission>, section: &str, reason: impl Into<String>) {
    omitted.push(Omission {
        section: section.to_string(),
        reason: reason.into(),
    });
}

/// The report currency under the options' default rule.
fn currency_of(input: &ReportInput<'_>, options: &ReportOptions) -> Currency {
    options
        .currency
        .or_else(|| input.spend.first().map(|s| s.amount.currency()))
        .or_else(|| {
            input
                .conversions
                .iter()
                .find_map(|c| c.value.map(|v| v.currency()))
        })
        .or_else(|| {
            input
                .opportunity_history
                .first()
                .map(|h| h.amount.currency())
        })
        .unwrap_or(Currency::USD)
}

impl Report {
    /// Builds the report (see the [module documentation](self)).
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use revops::{Lead, LeadId, report::Report, report::ReportInput, report::ReportOptions, StageEvent, SubjectId};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |d| Utc.with_ymd_and_hms(2026, 1, d, 0, 0, 0).unwrap();
    /// let leads = [Lead::new(LeadId::new("a")?, t(1)), Lead::new(LeadId::new("b")?, t(2))];
    /// let ev = |s: &str, k: &str, d| Ok::<_, revops::Error>(StageEvent::new(SubjectId::new(s)?, k, t(d)));
    /// let events = [ev("a", "mql", 3)?, ev("b", "mql", 4)?, ev("a", "sal", 5)?];
    /// let input = ReportInput { leads: &leads, stage_events: &events, ..Default::default() };
    /// let r = Report::build(&input, &ReportOptions::default())?;
    /// let f = r.funnel.as_ref().unwrap();
    /// assert_eq!(f.cohort.total.all.steps[1].ratio.to_string(), "1 / 2 (50.0%)"); // mql → sal
    /// assert!(r.attribution.is_none());
    /// assert!(r.omitted.iter().any(|o| o.section == "attribution"));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Whatever an engine reports for bad input, naming the record: a stage event for
    /// a stage the funnel lacks, a currency mismatch without FX, a malformed
    /// forecast, ….
    pub fn build(input: &ReportInput<'_>, options: &ReportOptions) -> Result<Report> {
        Report::build_with_progress(input, options, &mut |_| {})
    }

    /// As [`build`](Report::build), calling `progress` with the name of each section
    /// before it is computed (`funnel`, `attribution`, `economics`, `pipeline`,
    /// `forecast`, `plan`), for a caller that shows progress on large inputs.
    ///
    /// # Errors
    /// As [`build`](Report::build).
    pub fn build_with_progress(
        input: &ReportInput<'_>,
        options: &ReportOptions,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Report> {
        let currency = currency_of(input, options);
        let as_of = options
            .as_of
            .or_else(|| input.latest())
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        let mut omitted = Vec::new();
        let inputs = InputCounts {
            leads: input.leads.len(),
            stage_events: input.stage_events.len(),
            touches: input.touches.len(),
            conversions: input.conversions.len(),
            spend: input.spend.len(),
            opportunity_history: input.opportunity_history.len(),
            forecasts: input.forecasts.len(),
        };

        // Funnel.
        progress("funnel");
        let funnel_state = if input.leads.is_empty() || input.stage_events.is_empty() {
            omit(&mut omitted, "funnel", "no leads or no stage events");
            None
        } else {
            let data = FunnelData::new(options.funnel.clone(), input.leads)?;
            let mut acc = FunnelEvents::default();
            acc.add_batch(&data, input.stage_events)?;
            let paths = acc.paths(&data, PathOptions::default().with_as_of(as_of));
            let cohort = cohort_report(&data, &paths, &options.cohort_spec())?;
            let velocity = velocity_report(&data, &paths, &options.velocity_spec())?;
            let qualification = if ["mql", "sal", "sql"]
                .iter()
                .all(|k| data.rank_of(k).is_some())
            {
                Some(qualification_report(
                    &data,
                    &paths,
                    &QualificationSpec::default(),
                )?)
            } else {
                omit(
                    &mut omitted,
                    "funnel.qualification",
                    "the funnel has no mql, sal and sql stages",
                );
                None
            };
            Some((
                data,
                paths,
                FunnelSection {
                    cohort,
                    velocity,
                    qualification,
                },
            ))
        };

        // Attribution runs beside the other sections (on a second thread when
        // `parallel`); the results do not depend on it.
        progress("attribution");
        let after_funnel = omitted.len();
        let (attribution_result, rest) = if options.parallel {
            std::thread::scope(|scope| {
                let handle = scope.spawn(|| attribution_part(input, options));
                let rest = rest_of_report(
                    input,
                    options,
                    funnel_state.as_ref(),
                    currency,
                    as_of,
                    progress,
                );
                let attribution = handle.join().unwrap_or_else(|_| {
                    Err(Error::InvalidParameter {
                        name: "attribution",
                        value: String::new(),
                        reason: "the attribution thread panicked".into(),
                    })
                });
                (attribution, rest)
            })
        } else {
            let a = attribution_part(input, options);
            (
                a,
                rest_of_report(
                    input,
                    options,
                    funnel_state.as_ref(),
                    currency,
                    as_of,
                    progress,
                ),
            )
        };
        let (attribution, attribution_omitted) = attribution_result?;
        let (economics, pipeline, forecast, plan, rest_omitted) = rest?;
        omitted.splice(after_funnel..after_funnel, attribution_omitted);
        omitted.extend(rest_omitted);

        Ok(Report {
            as_of,
            currency,
            inputs,
            funnel: funnel_state.map(|(_, _, f)| f),
            attribution,
            economics,
            pipeline,
            forecast,
            plan,
            omitted,
        })
    }

    /// The report as pretty-printed JSON (the schema is the serde form of
    /// [`Report`]: field names as documented on each type, money as
    /// `{"amount": "decimal string", "currency": "ISO code"}`, times in RFC 3339).
    ///
    /// # Errors
    /// [`Error::Json`] if serialisation fails (it does not for reports built here).
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }
}

/// The sections after attribution: economics, pipeline, forecast, plan.
type Rest = (
    Option<EconomicsSection>,
    Option<PipelineSection>,
    Option<ForecastSection>,
    Option<PlanSection>,
    Vec<Omission>,
);

fn rest_of_report(
    input: &ReportInput<'_>,
    options: &ReportOptions,
    funnel_state: Option<&(FunnelData, Paths, FunnelSection)>,
    currency: Currency,
    as_of: DateTime<Utc>,
    progress: &mut dyn FnMut(&str),
) -> Result<Rest> {
    let mut omitted = Vec::new();
    let cal = options.calendar;
    let last_quarter = cal.period_of(as_of, Granularity::Quarter).prev();
    // Unit economics and sourcing.
    progress("economics");
    let by_lead_source = match (&funnel_state, input.spend.is_empty()) {
        (_, true) => {
            omit(&mut omitted, "economics.by_lead_source", "no spend");
            None
        }
        (None, false) => {
            omit(
                &mut omitted,
                "economics.by_lead_source",
                "no funnel (leads and stage events)",
            );
            None
        }
        (Some((data, paths, _)), false) => {
            let spend = align_spend(input.spend, &SpendAlignment::monthly(currency))?;
            let keys = data.progression_keys();
            let stages: Vec<&str> = keys.iter().skip(1).copied().collect();
            let credits = Credits::from_lead_source(
                data,
                paths,
                &stages,
                input.conversions,
                currency,
                CostGrouping::default(),
            )?;
            Some(unit_economics(&spend, &credits)?)
        }
    };
    let opportunities = (!input.opportunity_history.is_empty())
        .then(|| opportunities_from_history(input.opportunity_history, input.leads));
    let sourcing = match &opportunities {
        Some(opps) if !input.leads.is_empty() => Some(sourcing_report(
            opps,
            input.leads,
            input.touches,
            SourcedBy::LeadSource,
            InfluenceMilestone::Created,
            currency,
        )?),
        _ => {
            omit(
                &mut omitted,
                "economics.sourcing",
                "no opportunity history or no leads",
            );
            None
        }
    };
    let economics = (by_lead_source.is_some() || sourcing.is_some()).then_some(EconomicsSection {
        by_lead_source,
        sourcing,
    });

    // Pipeline.
    progress("pipeline");
    let history = if input.opportunity_history.is_empty() {
        omit(&mut omitted, "pipeline", "no opportunity history");
        None
    } else {
        Some(PipelineHistory::new(
            options.opportunity_funnel.clone(),
            currency,
            input.opportunity_history,
        )?)
    };
    let quarter_window = Window::for_period(&last_quarter, &cal);
    let (q_start, q_end) = (quarter_window.start(), quarter_window.end());
    let pipeline = match &history {
        None => None,
        Some(h) => Some(PipelineSection {
            quarter: last_quarter,
            waterfall: h
                .waterfall(&WaterfallSpec::new(q_start, q_end).with_audit(Audit::Totals))?,
            win_rate: h.win_rate(&WinRateSpec::new(as_of))?,
            sales_cycle: h.sales_cycle(&SalesCycleSpec::new(as_of)).summary(),
            slippage: h.slippage(&quarter_window)?,
        }),
    };

    // Forecast accuracy and calibration.
    progress("forecast");
    let errors = if input.forecasts.is_empty() {
        omit(&mut omitted, "forecast.errors", "no forecasts");
        None
    } else {
        Some(ForecastErrors::from_points(input.forecasts, ErrorOptions::default())?.finish()?)
    };
    let calibration = match &history {
        None => {
            omit(
                &mut omitted,
                "forecast.calibration",
                "no opportunity history",
            );
            None
        }
        Some(h) => {
            let mut c = Calibration::new(CalibrationOptions::default().with_bins(10))?;
            let mut n = 0usize;
            for i in 0..h.len() {
                let (Some(then), Some(now)) = (h.state_at(i, q_start), h.state_at(i, q_end)) else {
                    continue;
                };
                if !then.is_open() {
                    continue;
                }
                let Some(p) = then.probability else { continue };
                c.add_pair(p, now.outcome())?;
                n += 1;
            }
            if n == 0 {
                omit(
                    &mut omitted,
                    "forecast.calibration",
                    format!(
                        "no deal open at the start of {} had a win probability",
                        last_quarter.label()
                    ),
                );
                None
            } else {
                Some(c.finish()?)
            }
        }
    };
    let forecast = (errors.is_some() || calibration.is_some()).then(|| ForecastSection {
        quarter: calibration.as_ref().map(|_| last_quarter),
        errors,
        calibration,
    });

    // Plan.
    progress("plan");
    let plan = match &funnel_state {
        None => {
            omit(&mut omitted, "plan", "no funnel (leads and stage events)");
            None
        }
        Some((_, _, f)) => plan_section(
            input,
            options,
            f,
            history.as_ref(),
            currency,
            as_of,
            &mut omitted,
        )?,
    };

    Ok((economics, pipeline, forecast, plan, omitted))
}

/// The attribution section and what it left out.
fn attribution_part(
    input: &ReportInput<'_>,
    options: &ReportOptions,
) -> Result<(Option<AttributionSection>, Vec<Omission>)> {
    let mut omitted = Vec::new();
    let section = if input.touches.is_empty() || input.conversions.is_empty() {
        omit(&mut omitted, "attribution", "no touches or no conversions");
        None
    } else {
        let journeys = Journeys::from_records(
            input.touches,
            input.conversions,
            input.stage_events,
            &JourneyOptions::default(),
        )?;
        let valued = journeys.currency().is_some() && !journeys.total_value().is_zero();
        let mut models = Vec::with_capacity(options.models.len());
        for m in &options.models {
            if m.needs_stage_events() && input.stage_events.is_empty() {
                omit(
                    &mut omitted,
                    &format!("attribution.{m}"),
                    "a milestone model needs stage events",
                );
            } else {
                models.push(m.clone());
            }
        }
        // Every rule model in one pass over the journeys.
        let rules = if valued {
            journeys.attribute_all_with_revenue(&models)?
        } else {
            journeys.attribute_all(&models)?
        };
        // The data-driven models grow faster than their input: beyond their limits
        // (checked before they allocate) they are left out and named, the rule
        // models still reported.
        let mut limited = |section: &str, e: Error| match e {
            Error::LimitExceeded { .. } => {
                omit(&mut omitted, section, e.to_string());
                Ok(())
            }
            e => Err(e),
        };
        let rows = journeys.path_rows();
        let markov = match markov_attribution(&rows, MarkovOptions::default()) {
            Ok(m) => Some(m),
            Err(e) => {
                limited("attribution.markov", e)?;
                None
            }
        };
        let shapley = match shapley_attribution(&rows, ShapleyOptions::default()) {
            Ok(s) => Some(s),
            Err(e) => {
                limited("attribution.shapley", e)?;
                None
            }
        };
        Some(AttributionSection {
            journeys: journeys.diagnostics().clone(),
            // Journeys cut from records weigh one each: the count is whole.
            journey_count: journeys.journey_count().round() as usize,
            rules,
            markov,
            shapley,
        })
    };
    Ok((section, omitted))
}

fn plan_section(
    input: &ReportInput<'_>,
    options: &ReportOptions,
    funnel: &FunnelSection,
    history: Option<&PipelineHistory>,
    currency: Currency,
    as_of: DateTime<Utc>,
    omitted: &mut Vec<Omission>,
) -> Result<Option<PlanSection>> {
    let cal = options.calendar;
    let this_quarter = cal.period_of(as_of, Granularity::Quarter);
    let (last_quarter, next_quarter) = (this_quarter.prev(), this_quarter.next());
    // The deal size as known at the as-of date: later conversions would be a
    // look-ahead.
    let won: Vec<Money> = input
        .conversions
        .iter()
        .filter(|c| c.at <= as_of)
        .filter_map(|c| c.value)
        .collect();
    if won.is_empty() {
        omit(
            omitted,
            "plan",
            "no conversion up to the as-of date carries a value",
        );
        return Ok(None);
    }
    let reverse = match ReverseFunnel::from_cohort(&funnel.cohort)
        .and_then(|f| f.with_velocity(&funnel.velocity))
    {
        Ok(f) => f,
        Err(e) => {
            omit(
                omitted,
                "plan",
                format!("the measured funnel is unusable: {e}"),
            );
            return Ok(None);
        }
    };
    let total_won = Money::sum(currency, &won)?;
    let deal_size = total_won
        .checked_div(rust_decimal::Decimal::from(won.len()))?
        .unwrap_or(Money::zero(currency))
        .round_to_minor_units();
    let (target, target_basis) = match options.target {
        Some(t) => (t, "given".to_string()),
        None => {
            let in_last: Vec<Money> = input
                .conversions
                .iter()
                .filter(|c| last_quarter.contains_date(cal.date_of(c.at)))
                .filter_map(|c| c.value)
                .collect();
            let t = Money::sum(currency, &in_last)?
                .checked_mul(rust_decimal::Decimal::new(12, 1))?
                .round_to_minor_units();
            (t, format!("1.2 × revenue won in {}", last_quarter.label()))
        }
    };
    if !target.amount().is_sign_positive() || target.amount().is_zero() {
        omit(
            omitted,
            "plan",
            format!("no revenue target ({target_basis} is {target})"),
        );
        return Ok(None);
    }
    if deal_size.amount() <= rust_decimal::Decimal::ZERO {
        omit(omitted, "plan", "the average won deal is not positive");
        return Ok(None);
    }
    let plan = reverse.plan(
        &[(next_quarter, target)],
        deal_size,
        RoundingPolicy::EveryStage,
    )?;
    let projection = match history {
        None => {
            omit(omitted, "plan.projection", "no opportunity history");
            None
        }
        Some(h) => {
            let outlook = outlook_from_history(h, as_of);
            let (open, _) = open_items(h, as_of, &outlook);
            let today = cal.date_of(as_of);
            let to_end = u32::try_from((next_quarter.last_day() - today).num_days()).unwrap_or(0);
            let mut horizons = vec![30, 60, 90, to_end];
            horizons.sort_unstable();
            horizons.dedup();
            horizons.retain(|&d| d > 0);
            Some(project(&open, &outlook, today, &horizons, 1.96, currency)?)
        }
    };
    Ok(Some(PlanSection {
        funnel: reverse,
        plan,
        target_basis,
        projection,
    }))
}
