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
//! - funnels: [`Funnel`], [`Stage`], [`StageOwner`], [`StageKind`];
//! - durations: [`ExactDistribution`], [`QuantileSketch`], [`Summary`],
//!   [`QuantileAccuracy`], [`Histogram`], [`Bin`], [`BinRule`].
#![forbid(unsafe_code)]

pub mod attribution;
#[cfg(feature = "csv")]
pub mod csv;
pub mod distribution;
pub mod error;
pub mod funnel;
mod hash;
pub mod ids;
pub mod money;
pub mod period;
pub mod ratio;
#[cfg(feature = "csv")]
pub mod real;
pub mod records;
#[cfg(feature = "synth")]
pub mod synth;

/// The exact decimal type used for all money (re-exported from `rust_decimal`).
pub use rust_decimal::Decimal;

pub use attribution::{
    Attribution, CampaignCredit, ChannelCredit, JourneyBuilder, JourneyDiagnostics, JourneyNote,
    JourneyOptions, JourneyRef, Journeys, Milestone, RepeatConversions, RuleModel, TouchCredit,
    TouchCredits, TouchRef, TrailingTouches,
};
pub use distribution::{
    Bin, BinRule, ExactDistribution, Histogram, QuantileAccuracy, QuantileSketch, Summary,
};
pub use error::{Error, RecordRef, Result};
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
pub use period::{Calendar, DateRange, Granularity, Period, Periods, Window};
pub use ratio::{Confidence, Interval, IntervalMethod, Ratio};
pub use records::{
    Conversion, ForecastCategory, ForecastPoint, Lead, Opportunity, OpportunityChange, PathRow,
    Spend, StageEvent, Touch,
};
