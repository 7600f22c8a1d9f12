//! revops: measure one revenue funnel by one set of rules.
#![forbid(unsafe_code)]

mod error;
pub mod funnel;
mod ids;
mod money;
mod period;
pub mod ratio;
mod records;

/// The exact decimal type used for all money (re-exported from `rust_decimal`).
pub use rust_decimal::Decimal;

pub use error::{Error, RecordRef, Result};
pub use funnel::{Funnel, Stage, StageKind, StageOwner};
pub use ids::{AccountId, CampaignId, Channel, LeadId, OpportunityId, SubjectId};
pub use money::{Currency, MAX_MINOR_UNITS, Money};
pub use period::{Calendar, DateRange, Granularity, Period, Periods, Window};
pub use records::{
    Conversion, ForecastCategory, Lead, Opportunity, OpportunityChange, Spend, StageEvent, Touch,
};
