//! revops integration tests: one binary, one module per area.

mod money;
mod period;
mod ratio;
mod records;
#[cfg(feature = "synth")]
mod synth;
