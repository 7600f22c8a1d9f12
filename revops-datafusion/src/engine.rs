//! The one bridge from a revops accumulator to a DataFusion aggregate function.
//!
//! Every function of this crate is an [`Engine`]: a core accumulator (which follows
//! [`revops::Accumulator`]), the argument columns it reads, the options it takes as
//! a trailing literal, and the Arrow type of its result. [`Udaf`] turns an engine
//! into an [`AggregateUDFImpl`]; [`Shipped`] is its DataFusion [`Accumulator`].
//!
//! **State across partitions**: one `Binary` column holding the core accumulator's
//! own serialised state (its serde form, written as JSON: the `"version"` field and
//! the state's fields, floats written so they read back to the same bits). A
//! partition's state is therefore exactly what [`revops::Accumulator`] documents, and
//! `merge_batch` is the core `merge`: merging any split equals one pass.

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BinaryArray, RecordBatch};
use arrow_schema::{DataType, Field, FieldRef, Schema};
use datafusion_common::{DataFusionError, Result, ScalarValue};
use datafusion_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion_expr::utils::format_state_name;
use datafusion_expr::{Accumulator, AggregateUDFImpl, ColumnarValue, Signature, Volatility};

use crate::convert::Input;

/// A revops engine as an aggregate function.
pub(crate) trait Engine:
    Debug + Clone + PartialEq + Eq + Hash + Default + Send + Sync + 'static
{
    /// The core accumulator.
    type State: revops::Accumulator + Debug + Send + Sync;
    /// What an accumulator keeps besides its state and never ships (a decoder with
    /// its interned names, say).
    type Scratch: Debug + Send + Sync;
    /// The SQL name.
    const NAME: &'static str;
    /// The argument columns, in order (the options literal follows them).
    const INPUTS: &'static [Input];
    /// The result type.
    fn output() -> DataType;
    /// A new state and scratch under the options given as a JSON literal (`None`:
    /// defaults).
    fn new_state(options: Option<&str>) -> revops::Result<(Self::State, Self::Scratch)>;
    /// Adds the rows of one batch (`columns` as declared by `INPUTS`, already of the
    /// coerced types); `row` is the number of rows this accumulator saw before.
    fn update(
        state: &mut Self::State,
        scratch: &mut Self::Scratch,
        columns: &[ArrayRef],
        row: u64,
    ) -> Result<()>;
    /// The result (the scratch carries what the options said besides the state).
    fn evaluate(state: &Self::State, scratch: &Self::Scratch) -> Result<ScalarValue>;
}

/// An [`Engine`] as a DataFusion aggregate function.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Udaf<E: Engine> {
    signature: Signature,
    engine: E,
}

impl<E: Engine> Default for Udaf<E> {
    fn default() -> Self {
        Udaf {
            signature: Signature::user_defined(Volatility::Immutable),
            engine: E::default(),
        }
    }
}

/// A revops error as DataFusion's external error (its message kept whole).
pub(crate) fn external(e: revops::Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// An error in the arguments of function `name`.
pub(crate) fn plan(name: &str, what: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Plan(format!("{name}: {what}"))
}

impl<E: Engine> AggregateUDFImpl for Udaf<E> {
    fn name(&self) -> &str {
        E::NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        crate::convert::coerce(E::NAME, E::INPUTS, arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(E::output())
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let options = options_literal::<E>(&args)?;
        let (state, scratch) = E::new_state(options.as_deref()).map_err(external)?;
        Ok(Box::new(Shipped::<E> {
            state,
            scratch,
            rows: 0,
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format_state_name(args.name, "revops_state"),
            DataType::Binary,
            true,
        ))])
    }
}

/// The options literal (the argument after the declared columns), if given.
fn options_literal<E: Engine>(args: &AccumulatorArgs) -> Result<Option<String>> {
    let Some(expr) = args.exprs.get(E::INPUTS.len()) else {
        return Ok(None);
    };
    let empty = RecordBatch::new_empty(Arc::new(Schema::new(args.schema.fields().clone())));
    let not_literal = || {
        plan(
            E::NAME,
            format!(
                "argument {} (the options) must be a literal JSON string, got {expr}",
                E::INPUTS.len() + 1
            ),
        )
    };
    match expr.evaluate(&empty) {
        Ok(ColumnarValue::Scalar(ScalarValue::Utf8(s)))
        | Ok(ColumnarValue::Scalar(ScalarValue::LargeUtf8(s)))
        | Ok(ColumnarValue::Scalar(ScalarValue::Utf8View(s))) => Ok(s),
        _ => Err(not_literal()),
    }
}

/// The DataFusion accumulator of an [`Engine`]: the core state and the rows seen.
#[derive(Debug)]
pub(crate) struct Shipped<E: Engine> {
    state: E::State,
    scratch: E::Scratch,
    rows: u64,
}

impl<E: Engine> Accumulator for Shipped<E> {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let columns = values.get(..E::INPUTS.len()).ok_or_else(|| {
            plan(
                E::NAME,
                format!("expected {} argument columns", E::INPUTS.len()),
            )
        })?;
        E::update(&mut self.state, &mut self.scratch, columns, self.rows)?;
        self.rows += columns.first().map_or(0, |c| c.len() as u64);
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        E::evaluate(&self.state, &self.scratch)
    }

    fn size(&self) -> usize {
        // The serialised form is the honest measure of a state's heap; computing it
        // here would cost a serialisation per call, so report the struct itself.
        std::mem::size_of_val(self)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let bytes =
            serde_json::to_vec(&self.state).map_err(|e| DataFusionError::External(Box::new(e)))?;
        Ok(vec![ScalarValue::Binary(Some(bytes))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let Some(column) = states.first() else {
            return Ok(());
        };
        let column = column
            .as_any()
            .downcast_ref::<BinaryArray>()
            .ok_or_else(|| plan(E::NAME, "partial state column is not Binary"))?;
        for bytes in column.iter().flatten() {
            let other: E::State = serde_json::from_slice(bytes).map_err(|e| {
                DataFusionError::Execution(format!("{}: partial state unreadable: {e}", E::NAME))
            })?;
            revops::Accumulator::merge(&mut self.state, &other).map_err(external)?;
        }
        Ok(())
    }
}
