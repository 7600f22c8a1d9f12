//! revops integration tests: one binary, one module per area.

mod ratio;
