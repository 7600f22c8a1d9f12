//! revops integration tests: one binary, one module per area.

#[cfg(feature = "csv")]
mod csv;
mod money;
mod period;
mod ratio;
mod records;
