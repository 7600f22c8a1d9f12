//! Tables in through the Arrow PyCapsule interface, results out as pyarrow tables.

use arrow_array::RecordBatch;
use arrow_pyarrow::{FromPyArrow, IntoPyArrow, Table};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyAny, PyDict};

/// The record batches of `table` (argument `name`), read without a Python loop over
/// rows: through `__arrow_c_stream__` (pyarrow tables, polars and pandas ≥ 2.2
/// DataFrames, ...), `__arrow_c_array__` (a pyarrow RecordBatch), or, for an older
/// pandas DataFrame without the interface, `pyarrow.Table.from_pandas` (index left
/// out).
pub(crate) fn record_batches(table: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<RecordBatch>> {
    let py = table.py();
    let table = if has(table, "__arrow_c_stream__")? || has(table, "__arrow_c_array__")? {
        table.clone()
    } else if is_pandas(table)? {
        let kwargs = PyDict::new(py);
        kwargs.set_item("preserve_index", false)?;
        py.import("pyarrow")?.getattr("Table")?.call_method(
            "from_pandas",
            (table,),
            Some(&kwargs),
        )?
    } else {
        let kind = table.get_type().name()?;
        return Err(PyTypeError::new_err(format!(
            "`{name}` must be a table (a pyarrow Table or RecordBatch, a polars or pandas \
             DataFrame, or any object with __arrow_c_stream__), got {kind}"
        )));
    };
    if has(&table, "__arrow_c_stream__")? {
        let reader = arrow_array::ffi_stream::ArrowArrayStreamReader::from_pyarrow_bound(&table)?;
        reader
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| PyValueError::new_err(format!("`{name}`: {e}")))
    } else {
        Ok(vec![RecordBatch::from_pyarrow_bound(&table)?])
    }
}

fn has(object: &Bound<'_, PyAny>, attribute: &str) -> PyResult<bool> {
    object.hasattr(attribute)
}

/// Whether `object` is a pandas DataFrame (checked by its class's module, so pandas
/// need not be installed).
fn is_pandas(object: &Bound<'_, PyAny>) -> PyResult<bool> {
    let class = object.get_type();
    let module: String = class.getattr("__module__")?.extract()?;
    Ok(module.starts_with("pandas") && class.name()? == "DataFrame")
}

/// One record batch as a pyarrow Table.
pub(crate) fn to_pyarrow(py: Python<'_>, batch: RecordBatch) -> PyResult<Bound<'_, PyAny>> {
    let schema = batch.schema();
    Table::try_new(vec![batch], schema)
        .map_err(|e| PyValueError::new_err(e.to_string()))?
        .into_pyarrow(py)
}
