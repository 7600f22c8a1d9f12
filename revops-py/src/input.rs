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
        let batches = match read_stream(&table)? {
            // Some exporters (polars) give a `Null` column a buffer, which arrow-rs
            // refuses; pyarrow imports such a stream (without copying the data) and
            // exports it in the form arrow-rs reads. A pyarrow table is not retried.
            Err(_) if !is_pyarrow(&table)? => {
                read_stream(&py.import("pyarrow")?.call_method1("table", (&table,))?)?
            }
            other => other,
        };
        batches.map_err(|e| PyValueError::new_err(format!("`{name}`: {e}")))
    } else {
        Ok(vec![RecordBatch::from_pyarrow_bound(&table)?])
    }
}

/// The batches of an object with `__arrow_c_stream__` (the outer error: the
/// stream could not be opened; the inner: a batch could not be imported).
fn read_stream(
    table: &Bound<'_, PyAny>,
) -> PyResult<Result<Vec<RecordBatch>, arrow_schema::ArrowError>> {
    let reader = arrow_array::ffi_stream::ArrowArrayStreamReader::from_pyarrow_bound(table)?;
    Ok(reader.collect())
}

/// Whether `object` is a pyarrow object (checked by its class's module).
fn is_pyarrow(object: &Bound<'_, PyAny>) -> PyResult<bool> {
    let module: String = object.get_type().getattr("__module__")?.extract()?;
    Ok(module.starts_with("pyarrow"))
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

/// The values of a one-dimensional array-like (a pyarrow Array or ChunkedArray, a
/// polars or pandas Series, a NumPy array, a list) as one Arrow array, through
/// pyarrow (`pyarrow.array`, or `pyarrow.chunked_array` for a C stream), cast by
/// pyarrow to `cast` (a pyarrow type name such as `"float64"`) when given.
pub(crate) fn array(
    values: &Bound<'_, PyAny>,
    name: &str,
    cast: Option<&str>,
) -> PyResult<arrow_array::ArrayRef> {
    let py = values.py();
    let pa = py.import("pyarrow")?;
    let chunked = pa.getattr("ChunkedArray")?;
    let array = if values.is_instance(&chunked)? {
        values.call_method0("combine_chunks")?
    } else if values.is_instance(&pa.getattr("Array")?)? {
        values.clone()
    } else if has(values, "__arrow_c_stream__")? && !has(values, "__arrow_c_array__")? {
        pa.call_method1("chunked_array", (values,))?
            .call_method0("combine_chunks")?
    } else {
        pa.call_method1("array", (values,)).map_err(|e| {
            PyTypeError::new_err(format!(
                "`{name}` must be an array (a pyarrow Array, a polars or pandas Series, a \
                 NumPy array or a list): {e}"
            ))
        })?
    };
    let array = match cast {
        Some(t) => array
            .call_method1("cast", (pa.call_method0(t)?,))
            .map_err(|e| PyValueError::new_err(format!("`{name}`: {e}")))?,
        None => array,
    };
    let data = arrow_data::ArrayData::from_pyarrow_bound(&array)?;
    Ok(arrow_array::make_array(data))
}

/// An outcomes array as `Boolean`, `Utf8` or `Int64` (what the calibration reads):
/// other string and integer types are cast by pyarrow.
pub(crate) fn outcomes(values: &Bound<'_, PyAny>, name: &str) -> PyResult<arrow_array::ArrayRef> {
    use arrow_schema::DataType;
    let raw = array(values, name, None)?;
    let cast = match raw.data_type() {
        DataType::Boolean | DataType::Utf8 | DataType::Int64 | DataType::Null => return Ok(raw),
        t if t.is_integer() => "int64",
        DataType::LargeUtf8 | DataType::Utf8View | DataType::Dictionary(_, _) => "string",
        _ => return Ok(raw),
    };
    array(values, name, Some(cast))
}
