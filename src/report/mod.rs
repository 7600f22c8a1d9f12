//! The consolidated revenue report: every engine over one dataset, by one set of rules.
//!
//! [`Report::build`] takes the records of one company ([`ReportInput`]) and runs, in
//! this order:
//!
//! | section | engine calls | needs |
//! |---|---|---|
//! | [`FunnelSection`] | [`cohort_report`] (cohorts by quarter of lead creation, broken down by lead source), [`velocity_report`], [`qualification_report`] | leads, stage events |
//! | [`AttributionSection`] | [`Journeys::from_records`](crate::attribution::Journeys::from_records), every rule model of the options ([`ReportOptions::models`]) with exact revenue, [`markov_attribution`] and [`shapley_attribution`] when the options list a Markov or Shapley model | touches, conversions |
//! | [`EconomicsSection`] | [`align_spend`] (monthly), [`Credits::from_lead_source`], [`unit_economics`], [`sourcing_report`](crate::cost::sourcing_report) | spend and the funnel (unit economics); opportunity history (sourcing) |
//! | [`PipelineSection`] | [`PipelineHistory`]: [`waterfall`](PipelineHistory::waterfall), [`win_rate`](PipelineHistory::win_rate), [`sales_cycle`](PipelineHistory::sales_cycle), [`slippage`](PipelineHistory::slippage) over the last complete quarter; the per-rep table [`PipelineBreakdown`] by owner ([`PipelineHistory::keys`], the `*_by` breakdowns) | opportunity history (owners: the leads it names) |
//! | [`ForecastSection`] | [`ForecastErrors`], [`Calibration`] of the probabilities open deals had at the quarter's start ([`PipelineHistory::predictions`]); the projection backtest [`BacktestTable`] ([`backtest_rolling`](crate::plan::backtest_rolling) at monthly origins, [`ReportOptions::backtest`]) | forecasts; history with probabilities; history of over 9 months (backtest) |
//! | [`Report::ramp`] | [`PipelineHistory::ramp`](crate::pipeline::PipelineHistory::ramp) (defaults; owners from the opportunities rebuilt from the history and their leads) | opportunity history, owners |
//! | [`PlanSection`] | [`ReverseFunnel::from_cohort`] + [`with_velocity`](ReverseFunnel::with_velocity), [`ReverseFunnel::plan`] for next quarter at [`average_deal_size`] and [`default_target`], [`project_chances`] of the open deals ([`StageChain`], conditional on their age) | the funnel section and won revenue |
//!
//! A section whose inputs are absent is `None` and named, with the reason, in
//! [`Report::omitted`]; nothing is left out silently. "The last complete quarter" and
//! "next quarter" are taken relative to [`Report::as_of`] (by default the latest
//! timestamp in the input) in the options' [`Calendar`]; amounts are in
//! [`ReportOptions::currency`], by default [`ReportInput::inferred_currency`].
//!
//! The report is plain data (`Serialize`, `Deserialize`): `serde_json` gives its JSON
//! form, `Display` a text report, and [`Report::to_html`] a self-contained HTML page
//! with SVG charts. Building and rendering do no I/O.

mod backtest;
mod dense;
mod html;
mod reps;
mod text;

pub use backtest::{
    BacktestRow, BacktestSpec, BacktestSummary, BacktestTable, DEFAULT_MAX_BACKTEST_ORIGINS,
};
pub use dense::DenseInput;
pub use html::CHART_IDS;
pub use reps::{PipelineBreakdown, PipelineBreakdownRow, PipelineBreakdownSpec};

use crate::error::ErrorKind;
use chrono::{DateTime, Utc};
use dense::{Inputs, JourneyInput, intern_records};
use serde::{Deserialize, Serialize};

use crate::attribution::model::AttributionModel;
use crate::attribution::{
    Attribution, JourneyDiagnostics, MarkovOptions, MarkovReport, RuleModel, ShapleyOptions,
    ShapleyReport, markov_attribution, shapley_attribution,
};
use crate::breakdown::Keys;
use crate::cost::{
    CostGrouping, Credits, InfluenceMilestone, SourcedBy, SourcingReport, SpendAlignment,
    UnitEconomics, align_spend, sourcing_report_with, unit_economics,
};
use crate::distribution::Summary;
use crate::error::{Error, Result};
use crate::forecast::{
    Calibration, CalibrationOptions, CalibrationReport, ErrorOptions, ForecastErrors,
    ForecastReport,
};
use crate::funnel::{
    CohortAnchor, CohortReport, CohortSpec, Dimension, Funnel, FunnelData, PathOptions, Paths,
    QualificationReport, QualificationSpec, VelocityReport, VelocitySpec, cohort_report,
    qualification_report, velocity_report,
};
use crate::ids::LeadId;
use crate::money::{Currency, Money};
use crate::period::{Calendar, Granularity, Period, Window};
use crate::pipeline::{
    Audit, PipelineHistory, SalesCycleSpec, Slippage, Waterfall, WaterfallSpec, WinRate,
    WinRateSpec,
};
use crate::plan::{
    Projection, ReverseFunnel, ReversePlan, RoundingPolicy, StageChain, SurvivalOptions,
    average_deal_size, deal_chances, default_target, project_chances,
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

    /// The currency the records are in, by the report's default rule: that of the
    /// first spend row, else of the first conversion that carries a value, else of
    /// the first opportunity change, else USD. The report uses it unless
    /// [`ReportOptions::currency`] is set.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use revops::{Conversion, Currency, Money, SubjectId, report::ReportInput};
    /// # fn main() -> Result<(), revops::Error> {
    /// let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    /// let s = SubjectId::new("a")?;
    /// let conversions = [
    ///     Conversion::new(s.clone(), at, None),
    ///     Conversion::new(s, at, Some(Money::parse("5", Currency::EUR)?)),
    /// ];
    /// let input = ReportInput { conversions: &conversions, ..Default::default() };
    /// assert_eq!(input.inferred_currency(), Currency::EUR);
    /// assert_eq!(ReportInput::default().inferred_currency(), Currency::USD);
    /// # Ok(()) }
    /// ```
    pub fn inferred_currency(&self) -> Currency {
        self.spend
            .first()
            .map(|s| s.amount.currency())
            .or_else(|| {
                self.conversions
                    .iter()
                    .find_map(|c| c.value.map(|v| v.currency()))
            })
            .or_else(|| {
                self.opportunity_history
                    .first()
                    .map(|h| h.amount.currency())
            })
            .unwrap_or(Currency::USD)
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
/// use revops::{AttributionModel, report::ReportOptions, attribution::RuleModel};
/// let o = ReportOptions::default().with_models([RuleModel::FirstTouch, RuleModel::WShaped]);
/// assert_eq!(o.models.len(), 2);
/// let o = o.with_models([AttributionModel::Rule(RuleModel::u_shaped()), AttributionModel::Markov { order: 2 }]);
/// assert_eq!(o.models[1].to_string(), "markov:2");
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
    /// Attribution models shown side by side (default [`ReportOptions::default_models`]:
    /// first touch, last touch, linear, time decay with a 7-day half-life,
    /// position-based (U-shaped) 40/20/40, W-shaped, first-order Markov and the
    /// conversion-rate Shapley value).
    ///
    /// The rule models are reported in their order ([`AttributionSection::rules`]);
    /// milestone models are left out, and named in [`Report::omitted`], when there
    /// are no stage events. The first Markov model listed gives
    /// [`AttributionSection::markov`] (at its order; a second one is named in
    /// [`Report::omitted`]); any Shapley-family model gives
    /// [`AttributionSection::shapley`], which holds every Shapley variant (they come
    /// from one tally; the text report shows the conversion-rate value).
    pub models: Vec<AttributionModel>,
    /// Report currency (default: [`ReportInput::inferred_currency`]: that of the first
    /// spend row, else of the first valued conversion, else of the first opportunity
    /// change, else USD).
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
    /// The projection backtest of [`ForecastSection::projection_backtest`] (default
    /// [`ReportOptions::default_backtest`]: 6 monthly origins; `None`: not run, and
    /// named in [`Report::omitted`]). Its cost is about `origins × (1 +
    /// band_origins)` survival fits, each a walk over every deal's days
    /// ([`BacktestSpec`]).
    pub backtest: Option<BacktestSpec>,
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
            models: ReportOptions::default_models(),
            currency: None,
            target: None,
            confidence: Confidence::default(),
            method: IntervalMethod::default(),
            parallel: true,
            backtest: Some(ReportOptions::default_backtest()),
        }
    }
}

impl ReportOptions {
    /// The default [`ReportOptions::models`], in order.
    ///
    /// ```
    /// use revops::report::ReportOptions;
    /// let names: Vec<String> = ReportOptions::default_models().iter().map(|m| m.to_string()).collect();
    /// assert_eq!(
    ///     names.join(","),
    ///     "first_touch,last_touch,linear,time_decay,position_based,w_shaped,markov,shapley"
    /// );
    /// ```
    pub fn default_models() -> Vec<AttributionModel> {
        vec![
            AttributionModel::Rule(RuleModel::FirstTouch),
            AttributionModel::Rule(RuleModel::LastTouch),
            AttributionModel::Rule(RuleModel::Linear),
            AttributionModel::Rule(RuleModel::time_decay()),
            AttributionModel::Rule(RuleModel::position_based()),
            AttributionModel::Rule(RuleModel::WShaped),
            AttributionModel::Markov { order: 1 },
            AttributionModel::Shapley,
        ]
    }

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
    /// Sets the attribution models (anything that converts into an
    /// [`AttributionModel`], such as [`RuleModel`]s).
    pub fn with_models<I>(mut self, models: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<AttributionModel>,
    {
        self.models = models.into_iter().map(Into::into).collect();
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

    /// The default [`ReportOptions::backtest`]: [`BacktestSpec::default`] at 6
    /// monthly origins (the fewest a rolling backtest should have; the
    /// `forecast_accuracy` example runs 10).
    ///
    /// ```
    /// use revops::report::ReportOptions;
    /// let b = ReportOptions::default_backtest();
    /// assert_eq!((b.max_origins, b.horizons.as_slice()), (6, &[30, 60, 90][..]));
    /// ```
    pub fn default_backtest() -> BacktestSpec {
        BacktestSpec::default().with_max_origins(6)
    }

    /// Sets (or, with `None`, turns off) the projection backtest.
    pub fn with_backtest(mut self, backtest: Option<BacktestSpec>) -> Self {
        self.backtest = backtest;
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
    /// Number of journeys, converting and not ([`Journeys::journey_count`](crate::attribution::Journeys::journey_count): the
    /// report cuts journeys from records, one per conversion and one per
    /// non-converting subject).
    pub journey_count: usize,
    /// One attribution per rule model of [`ReportOptions::models`], in their order;
    /// revenue is each channel's exact share rounded once, when the conversions
    /// carry values.
    pub rules: Vec<Attribution>,
    /// Markov removal effect of the first Markov model of [`ReportOptions::models`]
    /// (first order by default; other [`MarkovOptions`] at their defaults); `None`
    /// when the options list none, or when the chain has more states than
    /// [`MarkovOptions::max_states`] (then named in [`Report::omitted`] as
    /// `attribution.markov`, with the limit).
    pub markov: Option<MarkovReport>,
    /// Shapley values (default [`ShapleyOptions`]): simplified, ordered,
    /// conversion-rate and Shao–Li, when [`ReportOptions::models`] lists any of them;
    /// `None` otherwise, or beyond [`ShapleyOptions::max_channels`] or
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
    /// The per-rep table: per owner (of the deal, else of its lead) the win rate and
    /// cycle as of the report date, and the bookings and pipeline created in the
    /// quarter; `None` when no deal has an owner (named in [`Report::omitted`] as
    /// `pipeline.by_owner`).
    pub by_owner: Option<PipelineBreakdown>,
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
    /// The projection of the open deals backtested at up to 10 monthly origins
    /// (default [`BacktestSpec`]: 30, 60 and 90 days, a 90 % band; per segment when
    /// the deals' leads have one), every outcome known at the report date; `None`
    /// without opportunity history or when it is too short (named in
    /// [`Report::omitted`] as `forecast.projection_backtest`).
    pub projection_backtest: Option<BacktestTable>,
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
    /// The ramp of new owners measured from the opportunity history, as of the
    /// report date, with the default [`RampSpec`](crate::pipeline::RampSpec): the curve
    /// with its counts and each owner's start, first opportunity and first win (each
    /// owner's months are left out: [`PipelineHistory::ramp`] has them). `None` without
    /// history or without any deal owner.
    #[serde(default)]
    pub ramp: Option<crate::pipeline::RampReport>,
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
    opportunities_linked(rows, |lead_ids| {
        for l in leads {
            if let Some(found) = lead_ids.get_mut(l.id.as_str()) {
                *found = true;
            }
        }
    })
}

/// As [`opportunities_from_history`], with `mark_leads` setting to `true` the ids
/// (of the opportunities that name no lead) that are lead ids.
fn opportunities_linked(
    rows: &[OpportunityChange],
    mark_leads: impl FnOnce(&mut crate::hash::FastMap<&str, bool>),
) -> Vec<Opportunity> {
    type Latest<'r> = (&'r OpportunityChange, DateTime<Utc>, Option<&'r LeadId>);
    let mut last: crate::hash::FastMap<&str, Latest<'_>> = crate::hash::FastMap::default();
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
    let mut last: Vec<(&str, Latest<'_>)> = last.into_iter().collect();
    last.sort_unstable_by_key(|(id, _)| *id);
    // The same-id fallback: which of the opportunities that name no lead are lead ids
    // (only those ids are looked up, not every lead).
    let mut lead_ids: crate::hash::FastMap<&str, bool> = last
        .iter()
        .filter(|(_, e)| e.2.is_none())
        .map(|(id, _)| (*id, false))
        .collect();
    if !lead_ids.is_empty() {
        mark_leads(&mut lead_ids);
    }
    last.into_iter()
        .map(|(_, (r, created, lead))| {
            let mut o = Opportunity::new(r.opportunity.clone(), created, r.stage.clone(), r.amount);
            o.close_date = r.close_date;
            o.probability = r.probability;
            o.forecast_category = r.forecast_category;
            o.lead = match lead {
                Some(l) => Some(l.clone()),
                None if lead_ids.get(r.opportunity.as_str()) == Some(&true) => {
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
        progress("funnel");
        let (data, events) = intern_records(input, options)?;
        let inputs = Inputs::from_records(input, data.as_ref(), events.as_ref());
        Report::build_from(&inputs, options, progress)
    }

    /// Builds the report from the dense tables of [`DenseInput`]: the same report as
    /// [`build`](Report::build) on the records they were read from (see
    /// [`DenseInput`] for what each table stands for).
    ///
    /// # Errors
    /// As [`build`](Report::build); [`ErrorKind::InvalidParameter`] for leads read
    /// for another funnel than [`ReportOptions::funnel`]; as [`FunnelEvents::check`](crate::funnel::FunnelEvents::check)
    /// for stage events interned against other leads.
    pub fn build_dense(input: &DenseInput<'_>, options: &ReportOptions) -> Result<Report> {
        Report::build_dense_with_progress(input, options, &mut |_| {})
    }

    /// As [`build_dense`](Report::build_dense), calling `progress` as
    /// [`build_with_progress`](Report::build_with_progress) does.
    ///
    /// # Errors
    /// As [`build_dense`](Report::build_dense).
    pub fn build_dense_with_progress(
        input: &DenseInput<'_>,
        options: &ReportOptions,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Report> {
        progress("funnel");
        let inputs = Inputs::from_dense(input, options)?;
        Report::build_from(&inputs, options, progress)
    }

    /// The report from the prepared inputs (`progress("funnel")` already called).
    fn build_from(
        input: &Inputs<'_>,
        options: &ReportOptions,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Report> {
        let currency = options.currency.unwrap_or_else(|| {
            ReportInput {
                spend: input.spend,
                conversions: input.conversions,
                opportunity_history: input.opportunity_history,
                ..ReportInput::default()
            }
            .inferred_currency()
        });
        let as_of = options
            .as_of
            .or(input.latest)
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        let mut omitted = Vec::new();
        let inputs = input.counts;
        // The history is read first so that the projection backtest, the slowest
        // step, and attribution can run beside the funnel and the other sections (on
        // scoped threads when `parallel`); their errors are still reported in
        // section order, and the report is the same either way.
        let history = if input.opportunity_history.is_empty() {
            Ok(None)
        } else {
            PipelineHistory::new(
                options.opportunity_funnel.clone(),
                currency,
                input.opportunity_history,
            )
            .map(Some)
        };
        let (funnel_state, attribution_result, rest) = std::thread::scope(|scope| {
            let parallel = options.parallel;
            let attribution =
                parallel.then(|| scope.spawn(|| attribution_part(&input.journeys, options)));
            let backtest = match &history {
                Ok(Some(h)) if parallel => {
                    Some(scope.spawn(move || projection_backtest(input, options, as_of, h)))
                }
                _ => None,
            };
            // On an error here the threads still end with the scope.
            let funnel_state = funnel_part(input, options, as_of, &mut omitted)?;
            progress("attribution");
            let context = Context {
                input,
                options,
                funnel: funnel_state.as_ref(),
                currency,
                as_of,
            };
            let sequential = (!parallel).then(|| attribution_part(&input.journeys, options));
            let rest = rest_of_report(&context, &history, backtest, progress);
            let attribution_result = match (attribution, sequential) {
                // A panic there is a bug: it propagates as the panic it is, not as
                // an error about the input.
                (Some(handle), _) => handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                (None, Some(a)) => a,
                (None, None) => attribution_part(&input.journeys, options),
            };
            Ok::<_, Error>((funnel_state, attribution_result, rest))
        })?;
        let after_funnel = omitted.len();
        let (attribution, attribution_omitted) = attribution_result?;
        let rest = rest?;
        omitted.splice(after_funnel..after_funnel, attribution_omitted);
        omitted.extend(rest.omitted);

        Ok(Report {
            as_of,
            currency,
            inputs,
            funnel: funnel_state.map(|f| f.section),
            attribution,
            economics: rest.economics,
            pipeline: rest.pipeline,
            forecast: rest.forecast,
            plan: rest.plan,
            ramp: rest.ramp,
            omitted,
        })
    }

    /// The report as pretty-printed JSON (the schema is the serde form of
    /// [`Report`]: field names as documented on each type, money as
    /// `{"amount": "decimal string", "currency": "ISO code"}`, times in RFC 3339).
    ///
    /// # Errors
    /// [`ErrorKind::Json`] if serialisation fails (it does not for reports built here).
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }
}

/// The funnel section with the interned leads and paths the later steps reuse.
struct FunnelState<'a> {
    data: &'a FunnelData<'a>,
    paths: Paths,
    section: FunnelSection,
}

/// What the steps after attribution read.
struct Context<'c, 'i> {
    input: &'c Inputs<'i>,
    options: &'c ReportOptions,
    funnel: Option<&'c FunnelState<'i>>,
    currency: Currency,
    as_of: DateTime<Utc>,
}

impl Context<'_, '_> {
    /// The last complete quarter before the as-of date.
    fn last_quarter(&self) -> Period {
        self.options
            .calendar
            .period_of(self.as_of, Granularity::Quarter)
            .prev()
    }
}

/// The sections after attribution, and what they left out.
struct RestOfReport {
    economics: Option<EconomicsSection>,
    pipeline: Option<PipelineSection>,
    forecast: Option<ForecastSection>,
    plan: Option<PlanSection>,
    ramp: Option<crate::pipeline::RampReport>,
    omitted: Vec<Omission>,
}

/// The funnel section: cohorts, velocity and (with `mql`, `sal` and `sql` stages)
/// qualification.
fn funnel_part<'i>(
    input: &Inputs<'i>,
    options: &ReportOptions,
    as_of: DateTime<Utc>,
    omitted: &mut Vec<Omission>,
) -> Result<Option<FunnelState<'i>>> {
    let (data, events) = match (input.leads, input.events) {
        (Some(d), Some(e)) if input.counts.leads > 0 && input.counts.stage_events > 0 => (d, e),
        _ => {
            omit(omitted, "funnel", "no leads or no stage events");
            return Ok(None);
        }
    };
    let paths = events.paths(data, PathOptions::default().with_as_of(as_of));
    let cohort = cohort_report(data, &paths, &options.cohort_spec())?;
    let velocity = velocity_report(data, &paths, &options.velocity_spec())?;
    let qualification = if ["mql", "sal", "sql"]
        .iter()
        .all(|k| data.rank_of(k).is_some())
    {
        Some(qualification_report(
            data,
            &paths,
            &QualificationSpec::default(),
        )?)
    } else {
        omit(
            omitted,
            "funnel.qualification",
            "the funnel has no mql, sal and sql stages",
        );
        None
    };
    Ok(Some(FunnelState {
        data,
        paths,
        section: FunnelSection {
            cohort,
            velocity,
            qualification,
        },
    }))
}

/// What the projection backtest returns: its table and what it left out.
type BacktestResult = Result<(Option<BacktestTable>, Vec<Omission>)>;

/// Economics, pipeline, forecast and plan, in that order; `history` read from the
/// opportunity history, `backtest` running on a thread of the caller's scope (when
/// `parallel`; else it runs here).
fn rest_of_report<'scope>(
    cx: &Context<'_, '_>,
    history: &Result<Option<PipelineHistory>>,
    backtest: Option<std::thread::ScopedJoinHandle<'scope, BacktestResult>>,
    progress: &mut dyn FnMut(&str),
) -> Result<RestOfReport> {
    let mut omitted = Vec::new();
    let (input, options, as_of) = (cx.input, cx.options, cx.as_of);
    progress("economics");
    // The opportunities rebuilt from the history, read by sourcing, the per-rep
    // table and the ramp: built once.
    let opportunities = if input.opportunity_history.is_empty() {
        Vec::new()
    } else {
        opportunities_linked(input.opportunity_history, |lead_ids| {
            for (id, found) in lead_ids.iter_mut() {
                *found = input.is_lead(id);
            }
        })
    };
    let economics = economics_section(cx, &opportunities, &mut omitted)?;
    progress("pipeline");
    let history = history.as_ref().map_err(Clone::clone)?.as_ref();
    if history.is_none() {
        omit(&mut omitted, "pipeline", "no opportunity history");
    }
    let (pipeline, ramp) = match history {
        Some(h) => {
            // The deals' owners, for the per-rep table and the ramp.
            let owners = h.keys_with(&Dimension::Owner, &opportunities, |id| {
                input.lead_value(id, &Dimension::Owner)
            })?;
            (
                Some(pipeline_section(cx, h, &owners, &mut omitted)?),
                ramp_section(cx, h, &owners, &mut omitted)?,
            )
        }
        None => (None, None),
    };
    progress("forecast");
    let backtest = match (backtest, history) {
        // A panic there is a bug: it propagates as the panic it is.
        (Some(handle), _) => Some(
            handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?,
        ),
        (None, Some(h)) => Some(projection_backtest(input, options, as_of, h)?),
        (None, None) => None,
    };
    let forecast = forecast_section(cx, history, backtest, &mut omitted)?;
    progress("plan");
    let plan = match cx.funnel {
        None => {
            omit(&mut omitted, "plan", "no funnel (leads and stage events)");
            None
        }
        Some(f) => plan_section(cx, &f.section, history, &mut omitted)?,
    };
    Ok(RestOfReport {
        economics,
        pipeline,
        forecast,
        plan,
        ramp,
        omitted,
    })
}

/// The ramp of new owners, measured with the defaults as of the report date; `owners`
/// from the opportunities rebuilt from the history and the leads they came from.
fn ramp_section(
    cx: &Context<'_, '_>,
    h: &PipelineHistory,
    owners: &Keys,
    omitted: &mut Vec<Omission>,
) -> Result<Option<crate::pipeline::RampReport>> {
    if owners.values().iter().all(Option::is_none) {
        omit(omitted, "ramp", "no deal has an owner (on its lead)");
        return Ok(None);
    }
    let mut ramp = h.ramp(&crate::pipeline::RampSpec::new(cx.as_of), owners)?;
    // The curve carries the counts; each owner's months stay out of the report (they
    // are in `PipelineHistory::ramp`).
    for o in &mut ramp.owners {
        o.months.clear();
    }
    Ok(Some(ramp))
}

/// Unit economics by lead source (spend and the funnel) and sourcing (the
/// `opportunities` rebuilt from the history, and leads).
fn economics_section(
    cx: &Context<'_, '_>,
    opportunities: &[Opportunity],
    omitted: &mut Vec<Omission>,
) -> Result<Option<EconomicsSection>> {
    let (input, currency) = (cx.input, cx.currency);
    let by_lead_source = match (cx.funnel, input.spend.is_empty()) {
        (_, true) => {
            omit(omitted, "economics.by_lead_source", "no spend");
            None
        }
        (None, false) => {
            omit(
                omitted,
                "economics.by_lead_source",
                "no funnel (leads and stage events)",
            );
            None
        }
        (Some(f), false) => {
            let spend = align_spend(input.spend, &SpendAlignment::monthly(currency))?;
            let keys = f.data.progression_keys();
            let stages: Vec<&str> = keys.iter().skip(1).copied().collect();
            let credits = Credits::from_lead_source(
                f.data,
                &f.paths,
                &stages,
                input.conversions,
                currency,
                CostGrouping::default(),
            )?;
            Some(unit_economics(&spend, &credits)?)
        }
    };
    let sourcing = if input.opportunity_history.is_empty() || input.counts.leads == 0 {
        omit(
            omitted,
            "economics.sourcing",
            "no opportunity history or no leads",
        );
        None
    } else {
        Some(sourcing_report_with(
            opportunities,
            |id| input.lead_source(id),
            input.journeys.touches(),
            SourcedBy::LeadSource,
            InfluenceMilestone::Created,
            currency,
        )?)
    };
    Ok(
        (by_lead_source.is_some() || sourcing.is_some()).then_some(EconomicsSection {
            by_lead_source,
            sourcing,
        }),
    )
}

/// The pipeline over the last complete quarter.
fn pipeline_section(
    cx: &Context<'_, '_>,
    h: &PipelineHistory,
    owners: &Keys,
    omitted: &mut Vec<Omission>,
) -> Result<PipelineSection> {
    let quarter = cx.last_quarter();
    let window = Window::for_period(&quarter, &cx.options.calendar);
    Ok(PipelineSection {
        by_owner: owner_table(cx, h, owners, window, omitted)?,
        quarter,
        waterfall: h.waterfall(
            &WaterfallSpec::new(window.start(), window.end()).with_audit(Audit::Totals),
        )?,
        win_rate: h.win_rate(&WinRateSpec::new(cx.as_of))?,
        sales_cycle: h.sales_cycle(&SalesCycleSpec::new(cx.as_of)).summary(),
        slippage: h.slippage(&window)?,
    })
}

/// Forecast errors, and the calibration of the probabilities deals open at the last
/// complete quarter's start had then.
fn forecast_section(
    cx: &Context<'_, '_>,
    history: Option<&PipelineHistory>,
    backtest: Option<(Option<BacktestTable>, Vec<Omission>)>,
    omitted: &mut Vec<Omission>,
) -> Result<Option<ForecastSection>> {
    let errors = if cx.input.forecasts.is_empty() {
        omit(omitted, "forecast.errors", "no forecasts");
        None
    } else {
        Some(ForecastErrors::from_points(cx.input.forecasts, ErrorOptions::default())?.finish()?)
    };
    let quarter = cx.last_quarter();
    let calibration = match history {
        None => {
            omit(omitted, "forecast.calibration", "no opportunity history");
            None
        }
        Some(h) => {
            let predictions = h.predictions(&Window::for_period(&quarter, &cx.options.calendar));
            if predictions.is_empty() {
                omit(
                    omitted,
                    "forecast.calibration",
                    format!(
                        "no deal open at the start of {} had a win probability",
                        quarter.label()
                    ),
                );
                None
            } else {
                Some(
                    Calibration::from_predictions(
                        &predictions,
                        CalibrationOptions::default().with_bins(10),
                    )?
                    .finish()?,
                )
            }
        }
    };
    let projection_backtest = match backtest {
        Some((table, left_out)) => {
            omitted.extend(left_out);
            table
        }
        None => {
            omit(
                omitted,
                "forecast.projection_backtest",
                "no opportunity history",
            );
            None
        }
    };
    Ok(
        (errors.is_some() || calibration.is_some() || projection_backtest.is_some()).then(|| {
            ForecastSection {
                quarter: calibration.as_ref().map(|_| quarter),
                errors,
                calibration,
                projection_backtest,
            }
        }),
    )
}

/// The per-rep table: the deals' `keys` (owners from their opportunity records
/// rebuilt from the history, the deal's lead's owner when the records carry none),
/// the win rate and cycle as of the report date, bookings and pipeline created in
/// `quarter`.
fn owner_table(
    cx: &Context<'_, '_>,
    h: &PipelineHistory,
    keys: &Keys,
    quarter: Window,
    omitted: &mut Vec<Omission>,
) -> Result<Option<PipelineBreakdown>> {
    if keys.values().iter().all(Option::is_none) {
        omit(
            omitted,
            "pipeline.by_owner",
            "no deal has an owner (the leads the history names carry none)",
        );
        return Ok(None);
    }
    let spec = PipelineBreakdownSpec::new(cx.as_of)
        .with_window(quarter)
        .with_intervals(cx.options.confidence, cx.options.method);
    Ok(Some(PipelineBreakdown::build(h, keys, &spec)?))
}

/// The rolling backtest of the open-deal projection ([`ReportOptions::backtest`]),
/// per segment when the deals' leads carry one, and what it left out.
fn projection_backtest(
    input: &Inputs<'_>,
    options: &ReportOptions,
    as_of: DateTime<Utc>,
    h: &PipelineHistory,
) -> Result<(Option<BacktestTable>, Vec<Omission>)> {
    let mut omitted = Vec::new();
    let Some(spec) = &options.backtest else {
        omit(
            &mut omitted,
            "forecast.projection_backtest",
            "turned off (ReportOptions::backtest)",
        );
        return Ok((None, omitted));
    };
    let segments = (input.counts.leads > 0)
        .then(|| {
            crate::plan::DealSegments::from_lead_segments(h, input.opportunity_history, |id| {
                input.lead_value(id, &Dimension::Segment).flatten()
            })
        })
        .filter(|s| !s.names().is_empty());
    let table = BacktestTable::build(h, as_of, segments.as_ref(), spec)?;
    if table.is_none() {
        omit(
            &mut omitted,
            "forecast.projection_backtest",
            format!(
                "the history is too short: no month starts {} days after its first change and {} days before the report date",
                spec.warm_up_days,
                spec.horizons.iter().max().unwrap_or(&0)
            ),
        );
    }
    Ok((table, omitted))
}

/// The attribution section and what it left out.
fn attribution_part(
    input: &JourneyInput<'_>,
    options: &ReportOptions,
) -> Result<(Option<AttributionSection>, Vec<Omission>)> {
    let mut omitted = Vec::new();
    if !input.has_touches_and_conversions() {
        omit(&mut omitted, "attribution", "no touches or no conversions");
        return Ok((None, omitted));
    }
    let journeys = input.journeys()?;
    let valued = journeys.currency().is_some() && !journeys.total_value().is_zero();
    let mut rules = Vec::with_capacity(options.models.len());
    let mut markov_order = None;
    for m in &options.models {
        match m {
            AttributionModel::Rule(r) => match m.unsupported_by(&journeys) {
                Some(reason) => omit(&mut omitted, &format!("attribution.{m}"), reason),
                None => rules.push(r.clone()),
            },
            AttributionModel::Markov { order } if markov_order.is_none() => {
                markov_order = Some(*order);
            }
            AttributionModel::Markov { .. } => omit(
                &mut omitted,
                &format!("attribution.{m}"),
                "the report shows one Markov model (the first listed)",
            ),
            _ => {}
        }
    }
    // Every rule model in one pass over the journeys.
    let rules = if valued {
        journeys.attribute_all_with_revenue(&rules)?
    } else {
        journeys.attribute_all(&rules)?
    };
    // The data-driven models grow faster than their input: beyond their limits
    // (checked before they allocate) they are left out and named, the rule
    // models still reported.
    let mut limited = |section: &str, e: Error| match e.kind() {
        ErrorKind::LimitExceeded { .. } => {
            omit(&mut omitted, section, e.to_string());
            Ok(())
        }
        _ => Err(e),
    };
    let rows = journeys.path_rows();
    let markov = match markov_order
        .map(|k| markov_attribution(&rows, MarkovOptions::default().with_order(k)))
    {
        Some(Ok(m)) => Some(m),
        Some(Err(e)) => {
            limited("attribution.markov", e)?;
            None
        }
        None => None,
    };
    let shapley = if options.models.iter().any(AttributionModel::is_shapley) {
        match shapley_attribution(&rows, ShapleyOptions::default()) {
            Ok(s) => Some(s),
            Err(e) => {
                limited("attribution.shapley", e)?;
                None
            }
        }
    } else {
        None
    };
    let section = AttributionSection {
        journeys: journeys.diagnostics().clone(),
        // Journeys cut from records weigh one each: the count is whole.
        journey_count: journeys.journey_count().round() as usize,
        rules,
        markov,
        shapley,
    };
    Ok((Some(section), omitted))
}

/// Next quarter's plan from the measured funnel, at the average won deal, and the
/// projection of the open deals.
fn plan_section(
    cx: &Context<'_, '_>,
    funnel: &FunnelSection,
    history: Option<&PipelineHistory>,
    omitted: &mut Vec<Omission>,
) -> Result<Option<PlanSection>> {
    let (cal, currency, as_of) = (cx.options.calendar, cx.currency, cx.as_of);
    let this_quarter = cal.period_of(as_of, Granularity::Quarter);
    let (last_quarter, next_quarter) = (this_quarter.prev(), this_quarter.next());
    let Some(deal_size) = average_deal_size(cx.input.conversions, as_of, currency)? else {
        omit(
            omitted,
            "plan",
            "no conversion up to the as-of date carries a value",
        );
        return Ok(None);
    };
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
    let (target, target_basis) = match cx.options.target {
        Some(t) => (t, "given".to_string()),
        None => (
            default_target(cx.input.conversions, &last_quarter, &cal, currency)?,
            format!("1.2 × revenue won in {}", last_quarter.label()),
        ),
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
            let chain = StageChain::fit(h, as_of, None, SurvivalOptions::default())?;
            let today = cal.date_of(as_of);
            let to_end = u32::try_from((next_quarter.last_day() - today).num_days()).unwrap_or(0);
            let mut horizons = vec![30, 60, 90, to_end];
            horizons.sort_unstable();
            horizons.dedup();
            horizons.retain(|&d| d > 0);
            let open = deal_chances(&chain, h, &horizons)?;
            Some(project_chances(&open, today, &horizons, 1.96, currency)?)
        }
    };
    Ok(Some(PlanSection {
        funnel: reverse,
        plan,
        target_basis,
        projection,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::OpportunityId;
    use chrono::TimeZone;

    /// Sorted by id whatever the input order; the lead named last counts; an
    /// opportunity that names no lead is linked to the lead with its id, if any.
    #[test]
    fn opportunities_are_sorted_and_linked() {
        let t = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
        let ten = Money::new(rust_decimal::Decimal::TEN, Currency::USD);
        let change = |id: &str, d, stage: &str| {
            OpportunityChange::new(OpportunityId::new(id).unwrap(), t(d), stage, ten)
        };
        let lead = |id: &str| LeadId::new(id).unwrap();
        let rows = [
            change("O3", 2, "closed_won"),
            change("O3", 1, "prospecting").with_lead(lead("L1")),
            change("O1", 4, "prospecting"),
            change("O2", 1, "prospecting").with_lead(lead("L1")),
            change("O2", 3, "qualification").with_lead(lead("L2")),
            change("L9", 5, "prospecting"),
        ];
        let leads = [Lead::new(lead("L9"), t(1)), Lead::new(lead("O1x"), t(1))];
        let o = opportunities_from_history(&rows, &leads);
        let got: Vec<_> = o
            .iter()
            .map(|o| {
                (
                    o.id.as_str(),
                    o.created_at,
                    o.stage.as_str(),
                    o.lead.as_ref().map(LeadId::as_str),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("L9", t(5), "prospecting", Some("L9")),
                ("O1", t(4), "prospecting", None),
                ("O2", t(1), "qualification", Some("L2")),
                ("O3", t(1), "closed_won", Some("L1")),
            ]
        );
    }
}
