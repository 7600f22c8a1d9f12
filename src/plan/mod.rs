//! Planning: turn the measured funnel into plans and honest expectations.
//!
//! - [`ReverseFunnel`]: from a revenue target per period, an average deal size and the
//!   stage conversion rates and lags, how many records each stage needs and **when**
//!   they must enter ([`ReversePlan`]), under an explicit [`RoundingPolicy`].
//!
//! Everything here is pure: "today" is always a parameter, money stays exact
//! ([`crate::Money`]) and the rates can come from the crate's own reports
//! ([`crate::CohortReport`], [`crate::VelocityReport`]).

mod reverse;

pub use reverse::{PeriodPlan, ReverseFunnel, ReversePlan, RoundingPolicy, StageRequirement};
