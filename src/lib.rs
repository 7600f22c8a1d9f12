#![doc = include_str!("../README.md")]
//!
//! # Map of the crate
//!
//! The crate root holds the shared vocabulary; each engine lives in its own namespace,
//! and every item has exactly one path.
//!
//! - errors: [`Error`], [`Result`]; the detail in [`error`] ([`error::ErrorKind`],
//!   [`error::RecordRef`]);
//! - money: [`Currency`], [`Money`] (exact, with [`Money::allocate`]), [`Decimal`],
//!   [`RoundingStrategy`];
//! - rates: [`Ratio`], [`Confidence`], [`Interval`], [`IntervalMethod`];
//! - calendar: [`Calendar`], [`Granularity`], [`Period`], [`Window`],
//!   [`DateRange`]; [`chrono`] is re-exported for timestamps;
//! - identifiers: [`LeadId`], [`OpportunityId`], [`AccountId`], [`SubjectId`],
//!   [`Channel`], [`CampaignId`]; literal ids without `?` through [`id!`] (checked at
//!   compile time);
//! - records: [`Lead`], [`StageEvent`], [`Touch`], [`Conversion`], [`Spend`],
//!   [`Opportunity`], [`OpportunityChange`], [`ForecastCategory`], [`PathRow`],
//!   [`ForecastPoint`];
//! - funnel definitions: [`Funnel`], [`Stage`], [`StageOwner`], [`StageKind`];
//! - attribution models: [`AttributionModel`];
//! - the engines, one namespace each: [`funnel`] (cohort, flow, velocity and
//!   qualification reports), [`attribution`] (rule models, Markov, Shapley),
//!   [`cost`] (spend alignment, unit economics, sourcing), [`pipeline`] (history,
//!   waterfall, win rate, cycle, bookings, weighted pipeline), [`forecast`] (error metrics,
//!   calibration), [`plan`] (reverse funnel, projection, ramp), [`distribution`]
//!   (exact and sketched durations), [`report`] (the consolidated report);
//! - the accumulator contract every engine follows: [`Accumulator`]; breakdowns by
//!   owner, segment, source, account or attribute for both the funnel and the
//!   pipeline engines: [`breakdown`];
//! - adapters behind features: `csv` (readers, writers, `csv::Dataset`), `real`
//!   (Olist and Maven datasets), `synth` (the synthetic company).
#![forbid(unsafe_code)]

mod accumulate;
#[cfg(feature = "arrow")]
pub mod arrow;
pub mod attribution;
pub mod breakdown;
pub mod cost;
#[cfg(feature = "csv")]
pub mod csv;
pub mod distribution;
pub mod error;
pub mod forecast;
pub mod funnel;
mod group;
mod hash;
mod ids;
mod intern;
mod money;
mod period;
pub mod pipeline;
pub mod plan;
mod ratio;
#[cfg(feature = "csv")]
pub mod real;
mod records;
pub mod report;
mod rng;
#[cfg(feature = "synth")]
pub mod synth;

/// Dates and times (re-exported): every record takes `chrono` timestamps, so a caller
/// needs no separate dependency to build them.
pub use chrono;
/// The exact decimal type used for all money (re-exported from `rust_decimal`).
pub use rust_decimal::Decimal;
/// How a decimal is rounded (re-exported from `rust_decimal`), as the rounding options
/// of the money functions take it.
pub use rust_decimal::RoundingStrategy;

pub use accumulate::Accumulator;
pub use attribution::model::AttributionModel;
pub use error::value::{Error, Result};
pub use funnel::definition::{Funnel, Stage, StageKind, StageOwner};
pub use ids::{AccountId, CampaignId, Channel, LeadId, OpportunityId, SubjectId};
pub use money::{Currency, Money};
pub use period::{Calendar, DateRange, Granularity, Period, Window};
pub use ratio::{Confidence, Interval, IntervalMethod, Ratio};
pub use records::{
    Conversion, ForecastCategory, ForecastPoint, Lead, Opportunity, OpportunityChange, PathRow,
    Spend, StageEvent, Touch,
};
