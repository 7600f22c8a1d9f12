//! Checks shared by the attribution accumulators when a serialised partial state is
//! read back: a malformed or hostile state is an [`Error`], never a panic later.

use crate::error::ErrorKind;
use crate::error::{Error, Result};

/// The error for a serialised partial state that does not hold together.
pub(crate) fn bad_state(state: &'static str, what: impl Into<String>) -> Error {
    Error::from(ErrorKind::InvalidParameter {
        name: "partial state",
        value: state.to_string(),
        reason: what.into(),
    })
}

/// Checks that `index` addresses one of `len` entries of `table`.
#[inline]
pub(crate) fn check_index(state: &'static str, table: &str, index: u32, len: usize) -> Result<()> {
    if (index as usize) < len {
        Ok(())
    } else {
        Err(bad_state(
            state,
            format!("{table} index {index} is out of range (the table has {len} entries)"),
        ))
    }
}

/// Checks that a count is finite and not negative.
pub(crate) fn check_count(state: &'static str, what: &str, x: f64) -> Result<()> {
    if x.is_finite() && x >= 0.0 {
        Ok(())
    } else {
        Err(bad_state(
            state,
            format!("{what} {x} is not a finite, non-negative count"),
        ))
    }
}

/// The error for merging partial states built under different options.
pub(crate) fn options_differ(state: &'static str, ours: String, theirs: String) -> Error {
    Error::from(ErrorKind::MergeMismatch {
        what: state,
        reason: format!("built with different options (this one: {ours}; the other: {theirs})"),
    })
}
