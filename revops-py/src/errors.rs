//! Core errors as Python exceptions.

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use revops::error::ErrorKind;

create_exception!(
    revops,
    RevopsError,
    PyValueError,
    "An error of a revops engine: the core's message, naming the record, line or row \
     and field. For a bad row of an input table, the attributes `source`, `row` \
     (zero-based, across all batches) and `column` name it; otherwise they are None."
);

/// The core error as a [`RevopsError`] with the core's message (and, for a bad row
/// of a table, its source, row and column as attributes).
pub(crate) fn to_py(e: revops::Error) -> PyErr {
    let err = RevopsError::new_err(e.to_string());
    Python::attach(|py| {
        let value = err.value(py);
        let (source, row, column) = match e.kind() {
            ErrorKind::Arrow {
                source_name,
                row,
                column,
                ..
            } => (Some(source_name.clone()), Some(*row), column.clone()),
            _ => (None, None, None),
        };
        // Setting attributes on a fresh exception instance cannot fail in practice;
        // if it did, the message alone still names the row.
        let _ = value.setattr("source", source);
        let _ = value.setattr("row", row);
        let _ = value.setattr("column", column);
    });
    err
}
