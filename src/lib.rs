#![doc = include_str!("../README.md")]
//!
//! # Map of the crate
//!
//! Every public item is re-exported at the crate root (use `revops::Money`, not
//! `revops::money::Money`); the modules hold the longer explanations of each area:
//!
//! - errors: [`Error`], [`RecordRef`], [`Result`];
//! - money: [`Currency`], [`Money`] (exact, with [`Money::allocate`]), [`Decimal`];
//! - rates: [`Ratio`], [`Confidence`], [`Interval`], [`IntervalMethod`];
//! - calendar: [`Calendar`], [`Granularity`], [`Period`], [`Periods`], [`Window`],
//!   [`DateRange`];
//! - identifiers: [`LeadId`], [`OpportunityId`], [`AccountId`], [`SubjectId`],
//!   [`Channel`], [`CampaignId`];
//! - records: [`Lead`], [`StageEvent`], [`Touch`], [`Conversion`], [`Spend`],
//!   [`Opportunity`], [`OpportunityChange`], [`ForecastCategory`], [`PathRow`],
//!   [`ForecastPoint`];
//! - funnels: [`Funnel`], [`Stage`], [`StageOwner`], [`StageKind`]; the funnel engine
//!   ([`FunnelData`], [`FunnelEvents`], [`Paths`]) and its reports [`cohort_report`],
//!   [`flow_report`], [`velocity_report`], [`qualification_report`] (module [`funnel`]);
//! - cost: [`align_spend`], [`FxTable`], [`MoneyPer`], [`MoneyRatio`], [`roas`], [`roi`],
//!   [`Credits`], [`unit_economics`], [`sourcing_report`] (module [`cost`]);
//! - pipeline: [`PipelineHistory`] (snapshots as of any instant), [`Waterfall`]
//!   (start + created + pulled-in + increased − decreased − pushed-out − lost − won =
//!   end), win rate, cycle, aging, velocity, coverage, slippage, forecast roll-ups,
//!   weighted pipeline (module [`pipeline`]);
//! - attribution: [`markov_attribution`], [`shapley_attribution`] (module
//!   [`attribution`]);
//! - forecast accuracy: [`ForecastErrors`], [`ErrorStats`], [`ErrorMetrics`],
//!   [`Calibration`], [`ProbabilityScores`] (module [`forecast`]);
//! - adapters behind features: [`csv`] (readers, writers, [`csv::Dataset`]), `real`
//!   (Olist and Maven datasets), `synth` (the synthetic company);
//! - durations: [`ExactDistribution`], [`QuantileSketch`], [`Summary`],
//!   [`QuantileAccuracy`], [`Histogram`], [`Bin`], [`BinRule`].
#![forbid(unsafe_code)]

pub mod attribution;
pub mod cost;
#[cfg(feature = "csv")]
pub mod csv;
pub mod distribution;
pub mod error;
pub mod forecast;
pub mod funnel;
mod hash;
pub mod ids;
pub mod money;
pub mod period;
pub mod pipeline;
pub mod plan;
pub mod ratio;
#[cfg(feature = "csv")]
pub mod real;
pub mod records;
pub mod report;
#[cfg(feature = "synth")]
pub mod synth;

/// The exact decimal type used for all money (re-exported from `rust_decimal`).
pub use rust_decimal::Decimal;

pub use attribution::{
    Attribution, CampaignCredit, ChannelConversions, ChannelCredit, ChannelShareError,
    JourneyBuilder, JourneyDiagnostics, JourneyNote, JourneyOptions, JourneyRef, Journeys,
    MarkovChannel, MarkovCounts, MarkovNulls, MarkovOptions, MarkovRepeats, MarkovReport,
    MarkovState, MarkovStepLimit, MarkovTransition, Milestone, OrderedCredit, OrderedShapley,
    RateShapley, RepeatConversions, RuleModel, ShaoLi, ShapleyCounts, ShapleyCredit,
    ShapleyCredits, ShapleyMethod, ShapleyOptions, ShapleyReport, ShapleyUniverse, TouchCredit,
    TouchCredits, TouchRef, TrailingTouches, TruthScore, markov_attribution, score_against_truth,
    shapley_attribution,
};
pub use cost::{
    CostGrouping, CostKey, Credits, CreditsDiagnostics, EconomicsRow, FxTable, InfluenceMilestone,
    MAX_ROW_PERIODS, MoneyPer, MoneyRatio, PeriodSpend, SourcedBy, SourcingReport, SourcingRow,
    SpendAlignment, UnitEconomics, align_spend, cac_blended, cac_payback_months, ltv, ltv_to_cac,
    magic_number, pipeline_roi, roas, roi, sourcing_report, unit_economics,
};
pub use distribution::{
    Bin, BinRule, ExactDistribution, Histogram, QuantileAccuracy, QuantileSketch, Summary,
};
pub use error::{Error, RecordRef, Result};
pub use forecast::{
    AccuracyBand, AccuracyBands, BinStrategy, Calibration, CalibrationOptions, CalibrationReport,
    ErrorMetrics, ErrorOptions, ErrorStats, ForecastErrors, ForecastReport, LOG_LOSS_EPSILON,
    MaseScale, Outcome, Prediction, ProbabilityScores, Reliability, ReliabilityBin, ScoreSummary,
    ZeroActualPolicy,
};
pub use funnel::{
    BackwardPolicy, CohortAnchor, CohortReport, CohortRow, CohortSpec, CohortTable, CycleScope,
    CycleView, Dimension, ExitCount, FlowReport, FlowRow, FlowSpec, FlowTable, Funnel, FunnelData,
    FunnelDiagnostics, FunnelEvents, InferredEndpoints, MAX_PROGRESSION_STAGES, PathOptions, Paths,
    QualificationReport, QualificationSpec, QuantileMode, SkipPolicy, SkippedEvent, Stage,
    StageKind, StageOwner, StepRate, StepVelocity, TieBreak, VelocityReport, VelocitySpec,
    VelocityTable, cohort_report, flow_report, qualification_report, velocity_report,
};
pub use ids::{AccountId, CampaignId, Channel, LeadId, OpportunityId, SubjectId};
pub use money::{Currency, MAX_MINOR_UNITS, Money};
pub use period::{Calendar, DateRange, Granularity, MAX_SPAN_DAYS, Period, Periods, Window};
pub use pipeline::{
    Aging, Audit, BacktestSpec, Coverage, CycleOutcome, ExitValuation, Flow, ForecastRollup,
    Movement, MovementKind, NoDecision, OpportunityState, PROBABILITY_DECIMALS, PipelineHistory,
    PipelineScope, PipelineVelocity, PipelineVelocitySpec, ProbabilitySource, SalesCycle,
    SalesCycleSpec, Slippage, SlippedDeal, Snapshot, SnapshotEntry, StageAging, StageRate,
    StageWinRates, Waterfall, WaterfallSpec, WeightedBacktest, WeightedPipeline, WinRate,
    WinRateBasis, WinRateSpec, probability_decimal,
};
pub use plan::{
    CapacityRow, Hire, HireUplift, HorizonProjection, MAX_PLAN_COUNT, MAX_RAMP_MONTHS, OpenItem,
    PeriodPlan, ProgrammeUplift, Projection, ProjectionBacktest, Ramp, RampCurve, ReverseFunnel,
    ReversePlan, RoundingPolicy, StageOutlook, StageRequirement, StageUplift, backtest_projection,
    hire_uplift, open_items, outlook_from_history, project, team_capacity, tenure_months,
};
pub use ratio::{Confidence, Interval, IntervalMethod, Ratio};
pub use records::{
    Conversion, ForecastCategory, ForecastPoint, Lead, Opportunity, OpportunityChange, PathRow,
    Spend, StageEvent, Touch,
};
pub use report::{
    AttributionSection, CHART_IDS, EconomicsSection, ForecastSection, FunnelSection, InputCounts,
    Omission, PipelineSection, PlanSection, Report, ReportInput, ReportOptions,
    opportunities_from_history,
};
