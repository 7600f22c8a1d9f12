//! revops integration tests: one binary, one module per area.

mod money;
mod period;
mod ratio;
#[cfg(feature = "csv")]
mod real;
mod records;
