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
//!
//! An engine that adds its rows one at a time ([`Engine::GROUPED`]) also has a
//! [`GroupsAccumulator`](datafusion_expr::GroupsAccumulator),
//! [`Grouped`](crate::grouped::Grouped): one core state per group, each row added to
//! its group's state, and the same `Binary` column per group, so its partial states
//! and [`Shipped`]'s merge into each other.

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BinaryArray, RecordBatch};
use arrow_schema::{DataType, Field, FieldRef, Schema};
use datafusion_common::{DataFusionError, Result, ScalarValue};
use datafusion_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion_expr::utils::format_state_name;
use datafusion_expr::{
    Accumulator, AggregateUDFImpl, ColumnarValue, GroupsAccumulator, Signature, Volatility,
};

use crate::convert::Input;
use crate::grouped::{Grouped, Groups};

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
    /// Whether the engine adds rows one at a time ([`update_groups`](Self::update_groups)),
    /// so that DataFusion gets a [`GroupsAccumulator`] for it.
    const GROUPED: bool = false;
    /// Whether a state's size grows with its rows (a state that does not is measured
    /// once, empty).
    const GROWS: bool = true;
    /// Adds the rows of one batch (`columns` as declared by `INPUTS`, already of the
    /// coerced types); `row` is the number of rows this accumulator saw before.
    ///
    /// An engine with [`GROUPED`](Self::GROUPED) leaves this to
    /// [`update_groups`](Self::update_groups) with every row in its one state.
    fn update(
        state: &mut Self::State,
        scratch: &mut Self::Scratch,
        columns: &[ArrayRef],
        row: u64,
    ) -> Result<()> {
        let rows = columns.first().map_or(0, |c| c.len());
        Self::update_groups(
            std::slice::from_mut(state),
            scratch,
            columns,
            &Groups::One(rows),
            row,
        )
    }
    /// Adds each row of one batch that `groups` keeps to the state of its group;
    /// `row` is the number of rows the accumulator was given before (row `i` of the
    /// batch is `row + i` in errors). Only for engines with [`GROUPED`](Self::GROUPED).
    fn update_groups(
        _states: &mut [Self::State],
        _scratch: &mut Self::Scratch,
        _columns: &[ArrayRef],
        _groups: &Groups<'_>,
        _row: u64,
    ) -> Result<()> {
        Err(DataFusionError::Internal(format!(
            "{}: rows are not added one group at a time",
            Self::NAME
        )))
    }
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
        Ok(Box::new(Shipped::<E>::new(state, scratch)))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        E::GROUPED
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        if !E::GROUPED {
            return Err(DataFusionError::NotImplemented(format!(
                "{}: no GroupsAccumulator",
                E::NAME
            )));
        }
        let options = options_literal::<E>(&args)?;
        let (state, scratch) = E::new_state(options.as_deref()).map_err(external)?;
        Ok(Box::new(Grouped::<E>::new(options, state, scratch)))
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
    size: Size,
}

/// What [`Accumulator::size`] reports for a state, kept up to date cheaply.
///
/// The measure is the length of the state's serialised form (what `state` ships),
/// counted without allocating. It is of the order of the state's heap (the states are
/// counters, sums and maps of them; their JSON is within a small factor of their
/// memory), it needs nothing from the core engines, and it is the number that matters
/// when the state crosses partitions. Measuring costs a pass over the state, and
/// DataFusion asks for `size` after every batch (per group, twice, when it adapts a
/// grouped aggregate), so `size` returns the last measure and the state is measured
/// again only when it may have doubled since: when the rows added have doubled, or the
/// bytes of the partial states merged in exceed the last measure (merged bytes count
/// at once, as an upper bound of the growth). The cost is amortised to O(1) per row
/// and per byte merged; between measures, rows added may make the state up to about
/// twice what is reported. The scratch (a decoder's interned names) is not counted.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Size {
    /// The serialised length at the last measure.
    bytes: usize,
    /// The rows added when last measured.
    rows: u64,
    /// Bytes of partial states merged in since the last measure.
    merged: usize,
}

impl Size {
    /// A size measured at `bytes` (after `rows` rows), nothing merged since.
    pub(crate) fn measured(bytes: usize, rows: u64) -> Size {
        Size {
            bytes,
            rows,
            merged: 0,
        }
    }

    /// What to report: the last measure plus the bytes merged in since.
    pub(crate) fn total(&self) -> usize {
        self.bytes + self.merged
    }

    /// Measures `state` (after `rows` rows) now; kept as it was if the state cannot
    /// be serialised (shipping it reports that error).
    pub(crate) fn measure<S: serde::Serialize>(&mut self, state: &S, rows: u64) {
        let mut counter = Counter(0);
        if serde_json::to_writer(&mut counter, state).is_ok() {
            *self = Size::measured(counter.0, rows);
        }
    }

    /// After rows were added (`rows` in all): measures again if they have doubled.
    pub(crate) fn added<S: serde::Serialize>(&mut self, state: &S, rows: u64) {
        if rows >= self.rows.saturating_mul(2).max(1) {
            self.measure(state, rows);
        }
    }

    /// After a partial state of `bytes` was merged in: measures again once the bytes
    /// merged exceed the last measure.
    pub(crate) fn merged<S: serde::Serialize>(&mut self, state: &S, rows: u64, bytes: usize) {
        self.merged += bytes;
        if self.merged > self.bytes {
            self.measure(state, rows);
        }
    }
}

/// An `io::Write` that only counts.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<E: Engine> Shipped<E> {
    /// A new accumulator. Its state is first measured at its first batch or merge (a
    /// grouped aggregate creates one per group: creating stays cheap).
    pub(crate) fn new(state: E::State, scratch: E::Scratch) -> Self {
        Shipped {
            state,
            scratch,
            rows: 0,
            size: Size::default(),
        }
    }
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
        self.size.added(&self.state, self.rows);
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        E::evaluate(&self.state, &self.scratch)
    }

    fn size(&self) -> usize {
        // See `Size`: the last measure of the serialised state, plus what was merged
        // in since.
        std::mem::size_of_val(self) + self.size.total()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let bytes = ship(&self.state)?;
        self.size = Size::measured(bytes.len(), self.rows);
        Ok(vec![ScalarValue::Binary(Some(bytes))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let Some(column) = shipped_column::<E>(states)? else {
            return Ok(());
        };
        for bytes in column.iter().flatten() {
            merge_shipped::<E>(&mut self.state, bytes)?;
            self.size.merged(&self.state, self.rows, bytes.len());
        }
        Ok(())
    }
}

/// A state's shipped form: its serde form as JSON.
pub(crate) fn ship<S: serde::Serialize>(state: &S) -> Result<Vec<u8>> {
    serde_json::to_vec(state).map_err(|e| DataFusionError::External(Box::new(e)))
}

/// The partial-state column of a `merge_batch`.
pub(crate) fn shipped_column<E: Engine>(states: &[ArrayRef]) -> Result<Option<&BinaryArray>> {
    let Some(column) = states.first() else {
        return Ok(None);
    };
    column
        .as_any()
        .downcast_ref::<BinaryArray>()
        .map(Some)
        .ok_or_else(|| plan(E::NAME, "partial state column is not Binary"))
}

/// Merges a shipped partial state into `state` with the core `merge`.
pub(crate) fn merge_shipped<E: Engine>(state: &mut E::State, bytes: &[u8]) -> Result<()> {
    let other: E::State = serde_json::from_slice(bytes).map_err(|e| {
        DataFusionError::Execution(format!("{}: partial state unreadable: {e}", E::NAME))
    })?;
    revops::Accumulator::merge(state, &other).map_err(external)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, BinaryArray};
    use datafusion_common::ScalarValue;
    use datafusion_expr::Accumulator;

    use super::{Engine, Shipped};
    use crate::attribution::MarkovFn;

    fn paths(journeys: u64) -> arrow_array::RecordBatch {
        let config = revops::synth::PathsConfig {
            journeys,
            channels: 10,
            seed: 1,
        };
        let rows: Vec<revops::PathRow> = revops::synth::path_rows(&config).unwrap().collect();
        revops::arrow::to_record_batch(&rows, &revops::csv::Options::new()).unwrap()
    }

    fn markov() -> Shipped<MarkovFn> {
        let (state, scratch) = MarkovFn::new_state(None).unwrap();
        Shipped::new(state, scratch)
    }

    fn shipped_len(acc: &mut Shipped<MarkovFn>) -> usize {
        match acc.state().unwrap().as_slice() {
            [ScalarValue::Binary(Some(b))] => b.len(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn size_follows_the_serialised_state_as_it_grows() {
        let batch = paths(5_000);
        let mut acc = markov();
        let empty = acc.size();
        let base = std::mem::size_of_val(&acc);
        for start in (0..batch.num_rows()).step_by(400) {
            let len = 400.min(batch.num_rows() - start);
            acc.update_batch(batch.slice(start, len).columns()).unwrap();
        }
        let grown = acc.size();
        let len = shipped_len(&mut acc);
        assert!(len > 1_000, "{len}");
        assert!(
            grown > empty + len / 2,
            "{empty} -> {grown}, serialised {len}"
        );
        // Right after shipping, the measure is exact.
        assert_eq!(acc.size(), base + len);
    }

    #[test]
    fn size_counts_merged_states() {
        let mut part = markov();
        part.update_batch(paths(2_000).columns()).unwrap();
        let bytes = match part.state().unwrap().remove(0) {
            ScalarValue::Binary(Some(b)) => b,
            other => panic!("{other:?}"),
        };
        let state: ArrayRef = Arc::new(BinaryArray::from(vec![Some(bytes.as_slice())]));
        let mut fin = markov();
        let before = fin.size();
        fin.merge_batch(std::slice::from_ref(&state)).unwrap();
        let once = fin.size();
        assert!(once >= before + bytes.len() / 2, "{before} -> {once}");
        // The same paths again double the counts, not the keys: about the same size.
        fin.merge_batch(std::slice::from_ref(&state)).unwrap();
        let twice = fin.size();
        let len = shipped_len(&mut fin);
        assert!(twice >= len, "{twice} reported, {len} serialised");
        assert_eq!(fin.size(), std::mem::size_of_val(&fin) + len);
        assert!(len < 2 * bytes.len(), "{len} vs {}", bytes.len());
    }
}
