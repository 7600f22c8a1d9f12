//! Planning: turn the measured funnel into plans and honest expectations.
//!
//! - [`ReverseFunnel`]: from a revenue target per period, an average deal size and the
//!   stage conversion rates and lags, how many records each stage needs and **when**
//!   they must enter ([`ReversePlan`]), under an explicit [`RoundingPolicy`];
//! - [`RampCurve`], [`Ramp`], [`team_capacity`]: what a team can sell as it ramps;
//!   [`hire_uplift`] and [`ReverseFunnel::programme_uplift`]: what a new seller or a
//!   new marketing programme can show over the next N days; the ramp itself measured
//!   from opportunity history by
//!   [`PipelineHistory::ramp`](crate::pipeline::PipelineHistory::ramp), and
//!   [`RampReport::ramp_or`](crate::pipeline::RampReport::ramp_or) to use it instead of
//!   an assumed one when the history supports it (saying which was used);
//! - [`average_deal_size`], [`default_target`] ([`won_revenue`] × 1.2): the deal size
//!   and the default target a plan starts from, as the report computes them;
//! - [`project_open_deals`]: expected wins and revenue of today's open deals over the
//!   next horizons, with a normal band, from a survival model of time to close
//!   conditional on each deal's stage, age and segment ([`StageChain`]);
//!   [`project_chances`] adds the leads ([`lead_outlook`], [`chances`]);
//!   [`backtest_rolling`] measures it over past origins.
//!
//! Everything here is pure: "today" is always a parameter, money stays exact
//! ([`crate::Money`]) and the rates can come from the crate's own reports
//! ([`crate::funnel::CohortReport`], [`crate::funnel::VelocityReport`]).

mod deal;
mod lead_outlook;
mod projection;
mod ramp;
mod reverse;
mod survival;

pub use deal::{DEFAULT_TARGET_GROWTH, average_deal_size, default_target, won_revenue};
pub use lead_outlook::lead_outlook;
pub use projection::{
    HorizonAccuracy, HorizonProjection, ItemChance, OpenItem, Projection, ProjectionBacktest,
    RollingBacktest, StageOutlook, backtest_projection, backtest_rolling, band_dispersion, chances,
    deal_chances, project, project_chances, project_open_deals,
};
pub use ramp::{
    CapacityRow, Hire, HireUplift, MAX_RAMP_MONTHS, ProgrammeUplift, Ramp, RampCurve, StageUplift,
    hire_uplift, team_capacity, tenure_months,
};
pub use reverse::{
    MAX_PLAN_COUNT, PeriodPlan, ReverseFunnel, ReversePlan, RoundingPolicy, StageRequirement,
};
pub use survival::{
    DEFAULT_BAND_ORIGINS, DEFAULT_MAX_SURVIVAL_CELLS, DEFAULT_MIN_AT_RISK, DealSegments,
    StageChain, SurvivalOptions,
};
