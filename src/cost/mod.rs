//! Cost and unit economics: spend aligned to reporting periods exactly, unit metrics
//! that keep their numerator and denominator, and sourced versus influenced pipeline.
//!
//! Definitions (every metric is `None` when its denominator is zero):
//! - **CPL** = spend / leads; **cost per stage** = spend / subjects reaching the stage
//!   (MQL, SQL, opportunity, won, any stage); **CPA** = spend / acquisitions.
//! - **CAC (paid)** = paid spend / new customers attributed to paid channels;
//!   **CAC (blended)** = all sales and marketing cost / all new customers.
//! - **ROI** = (attributed revenue or gross profit − cost) / cost; **ROAS** =
//!   attributed revenue / spend; **pipeline ROI** = attributed pipeline / spend.
//! - **LTV** (gross profit) = ARPA × gross margin / churn; **LTV:CAC**;
//!   **CAC payback** (months) = CAC / (ARPA × gross margin).
//! - **Magic number** = net new ARR in a quarter / the prior quarter's sales and
//!   marketing cost.

mod economics;
mod metrics;
mod sourcing;
mod spend;

pub use economics::{
    CostGrouping, CostKey, Credit, Credits, CreditsDiagnostics, EconomicsRow, UnitEconomics,
    cac_blended, unit_economics,
};
pub use metrics::{
    MoneyPer, MoneyRatio, cac_payback_months, ltv, ltv_to_cac, magic_number, pipeline_roi, roas,
    roi,
};
pub use sourcing::{InfluenceMilestone, SourcedBy, SourcingReport, SourcingRow, sourcing_report};
pub(crate) use sourcing::{SourcingTouches, sourcing_report_with};
pub use spend::{FxTable, MAX_ROW_PERIODS, PeriodSpend, SpendAlignment, align_spend};
