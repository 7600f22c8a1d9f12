//! Funnels: user-defined ordered stages, shared by marketing's lead lifecycle and
//! sales' opportunity stages, so both are measured by the same rules; and the engine
//! that measures subjects moving through them.
//!
//! The engine works in three steps:
//! 1. [`FunnelData`] interns the leads once (dense integer ids, stage ranks);
//! 2. [`FunnelEvents`] accumulates interned stage events (the
//!    [`Accumulator`](crate::Accumulator) contract: `Default`, `add_batch`, `merge`,
//!    a versioned serialised state linked to the [`FunnelData`] by its
//!    [`fingerprint`](FunnelData::fingerprint)) and finishes into [`Paths`], each
//!    lead's cycles through the funnel under explicit [`PathOptions`];
//! 3. reports read the paths: [`cohort_report`] (cohort conversion with intervals),
//!    [`flow_report`] (entries per period and flow ratios), [`qualification_report`]
//!    (acceptance, qualification, exits by reason), [`velocity_report`] (time between
//!    stages: summary and histogram).
//!
//! [`CohortCounts`] is the cohort report as one mergeable accumulator over rows of
//! leads and stage events in any order and split (what a distributed engine's
//! aggregate needs): it keeps each lead's creation time and events, and finishes
//! through the three steps above.

mod bucket;
mod cohort;
mod cohort_counts;
mod data;
pub(crate) mod definition;
mod flow;
mod path;
mod qualification;
mod table;
mod velocity;

pub use bucket::Dimension;
pub use cohort::{
    CohortAnchor, CohortReport, CohortRow, CohortSpec, CohortTable, CycleScope, StepRate,
    cohort_report,
};
pub use cohort_counts::CohortCounts;
#[cfg(feature = "csv")]
pub(crate) use data::{EventSink, Millis, millis};
pub use data::{FunnelData, FunnelDiagnostics, FunnelEvents, MAX_PROGRESSION_STAGES, SkippedEvent};
pub(crate) use definition::{Funnel, StageKind};
pub use flow::{FlowReport, FlowRow, FlowSpec, FlowTable, flow_report};
pub use path::{BackwardPolicy, CycleView, PathOptions, Paths, SkipPolicy, TieBreak};
pub use qualification::{ExitCount, QualificationReport, QualificationSpec, qualification_report};
pub use table::Breakdowns;
#[cfg(feature = "csv")]
pub(crate) use table::{IdIndex, LeadRow, LeadTable};
pub use velocity::{
    InferredEndpoints, QuantileMode, StepVelocity, VelocityReport, VelocitySpec, VelocityTable,
    velocity_report,
};
