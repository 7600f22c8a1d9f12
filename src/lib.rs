//! revops: measure one revenue funnel by one set of rules.
#![forbid(unsafe_code)]

mod error;
pub mod period;
pub mod ratio;

pub use error::{Error, RecordRef, Result};
