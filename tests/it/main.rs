//! revops integration tests: one binary, one module per area.

mod attribution;
#[cfg(feature = "csv")]
mod csv;
mod distribution;
mod funnel;
mod money;
mod period;
mod ratio;
#[cfg(feature = "csv")]
mod real;
mod records;
#[cfg(feature = "synth")]
mod synth;
