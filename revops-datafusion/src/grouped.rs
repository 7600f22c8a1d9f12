//! DataFusion's path for many groups: one [`GroupsAccumulator`] per partition holding
//! a core state per group, each row added straight to its group's state.
//!
//! Without it DataFusion wraps the row [`Accumulator`](datafusion_expr::Accumulator)
//! in an adapter that keeps one boxed accumulator per group and, for every batch,
//! gathers each group's rows into arrays of their own before adding them. [`Grouped`]
//! reads the batch's columns once and adds row `i` to the state of group
//! `group_indices[i]`.
//!
//! **State across partitions**: the same as the row accumulator's ([`Shipped`]): one
//! `Binary` value per group, the core state's serialised form, merged with the core
//! `merge`. So a partial state from either merges into the other (a plan whose
//! partial and final aggregates run on different paths works).
//!
//! [`Shipped`]: crate::engine::Shipped

use std::cell::Cell;
use std::sync::Arc;

use arrow_array::builder::BinaryBuilder;
use arrow_array::{Array, ArrayRef, BooleanArray, new_empty_array};
use datafusion_common::{DataFusionError, Result, ScalarValue};
use datafusion_expr::{EmitTo, GroupsAccumulator};

use crate::engine::{Engine, Size, external, merge_shipped, plan, ship, shipped_column};

/// Which state each row of a batch goes to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Groups<'a> {
    /// Every row of a batch of this many rows to the one state (the row accumulator).
    One(usize),
    /// Row `i` to state `indices[i]`, unless `filter` (an aggregate's
    /// `FILTER (WHERE …)`) is false or NULL at `i`.
    Rows {
        indices: &'a [usize],
        filter: Option<&'a BooleanArray>,
    },
}

impl Groups<'_> {
    /// The state row `i` goes to, or `None` when the filter drops it.
    fn of(&self, i: usize) -> Option<usize> {
        match self {
            Groups::One(_) => Some(0),
            Groups::Rows { indices, filter } => match filter {
                Some(f) if !(f.is_valid(i) && f.value(i)) => None,
                _ => indices.get(i).copied(),
            },
        }
    }

    fn len(&self) -> usize {
        match self {
            Groups::One(n) => *n,
            Groups::Rows { indices, .. } => indices.len(),
        }
    }

    /// Calls `add` with each kept row's state and the row's index in the batch, in
    /// row order.
    ///
    /// # Errors
    /// The first error of `add`; an internal error if a group has no state.
    pub(crate) fn for_each<S>(
        &self,
        states: &mut [S],
        mut add: impl FnMut(&mut S, usize) -> Result<()>,
    ) -> Result<()> {
        for i in 0..self.len() {
            let Some(g) = self.of(i) else { continue };
            let n = states.len();
            let state = states
                .get_mut(g)
                .ok_or_else(|| DataFusionError::Internal(format!("group {g} of {n} states")))?;
            add(state, i)?;
        }
        Ok(())
    }
}

/// The [`GroupsAccumulator`] of an [`Engine`] that adds rows one at a time
/// ([`Engine::GROUPED`]).
#[derive(Debug)]
pub(crate) struct Grouped<E: Engine> {
    /// The options literal (a new scratch for [`GroupsAccumulator::convert_to_state`]).
    options: Option<String>,
    /// A state with no rows: each new group starts as a copy.
    empty: E::State,
    scratch: E::Scratch,
    /// A state per group, by group index.
    states: Vec<E::State>,
    /// Per group: rows added and the measure of its serialised state.
    sizes: Vec<(u64, Size)>,
    /// The sum of the groups' measures.
    bytes: usize,
    /// The measure of an empty state.
    empty_size: Size,
    /// Rows given so far (errors name a row by its position among them).
    rows: Cell<u64>,
}

impl<E: Engine> Grouped<E> {
    /// An accumulator with no groups yet; `empty` and `scratch` come from
    /// [`Engine::new_state`] under `options`.
    pub(crate) fn new(options: Option<String>, empty: E::State, scratch: E::Scratch) -> Self {
        let mut empty_size = Size::default();
        empty_size.measure(&empty, 0);
        Grouped {
            options,
            empty,
            scratch,
            states: Vec::new(),
            sizes: Vec::new(),
            bytes: 0,
            empty_size,
            rows: Cell::new(0),
        }
    }

    /// Makes states for groups up to `total` (new groups are empty).
    fn grow(&mut self, total: usize) {
        if total > self.states.len() {
            let more = total - self.states.len();
            self.states.resize(total, self.empty.clone());
            self.sizes.resize(total, (0, self.empty_size));
            self.bytes += more * self.empty_size.total();
        }
    }

    /// Removes and returns the states `emit_to` asks for (the rest move down).
    fn take(&mut self, emit_to: EmitTo) -> Vec<E::State> {
        let sizes = emit_to.take_needed(&mut self.sizes);
        let gone: usize = sizes.iter().map(|(_, s)| s.total()).sum();
        self.bytes = self.bytes.saturating_sub(gone);
        emit_to.take_needed(&mut self.states)
    }

    /// Re-measures group `g` after rows were added or a state merged in (`merged`
    /// bytes), keeping the sum of the measures up to date.
    fn remeasure(&mut self, g: usize, merged: Option<usize>) {
        let (Some(state), Some((rows, size))) = (self.states.get(g), self.sizes.get_mut(g)) else {
            return;
        };
        let before = size.total();
        match merged {
            Some(bytes) => size.merged(state, *rows, bytes),
            None => size.added(state, *rows),
        }
        self.bytes = self.bytes - before + size.total();
    }

    /// The argument columns of a batch.
    fn columns(values: &[ArrayRef]) -> Result<&[ArrayRef]> {
        values.get(..E::INPUTS.len()).ok_or_else(|| {
            plan(
                E::NAME,
                format!("expected {} argument columns", E::INPUTS.len()),
            )
        })
    }
}

/// The shipped forms of `states` as the one partial-state column (`each`: about
/// the bytes of one).
fn ship_all<S: serde::Serialize>(states: &[S], each: usize) -> Result<Vec<ArrayRef>> {
    let mut column = BinaryBuilder::with_capacity(states.len(), states.len() * each);
    for s in states {
        column.append_value(ship(s)?);
    }
    Ok(vec![Arc::new(column.finish())])
}

impl<E: Engine> GroupsAccumulator for Grouped<E> {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.grow(total_num_groups);
        let columns = Self::columns(values)?;
        let groups = Groups::Rows {
            indices: group_indices,
            filter: opt_filter,
        };
        let first = self.rows.get();
        E::update_groups(&mut self.states, &mut self.scratch, columns, &groups, first)?;
        self.rows.set(first + group_indices.len() as u64);
        if E::GROWS {
            // Count first, then measure: a group is measured at most once a batch.
            groups.for_each(&mut self.sizes, |(rows, _), _| {
                *rows += 1;
                Ok(())
            })?;
            for i in 0..group_indices.len() {
                if let Some(g) = groups.of(i) {
                    self.remeasure(g, None);
                }
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let states = self.take(emit_to);
        if states.is_empty() {
            return Ok(new_empty_array(&E::output()));
        }
        let values = states
            .iter()
            .map(|s| E::evaluate(s, &self.scratch))
            .collect::<Result<Vec<ScalarValue>>>()?;
        ScalarValue::iter_to_array(values)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let states = self.take(emit_to);
        ship_all(&states, self.empty_size.total())
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.grow(total_num_groups);
        let Some(column) = shipped_column::<E>(values)? else {
            return Ok(());
        };
        for (i, &g) in group_indices.iter().enumerate() {
            if column.is_null(i) {
                continue;
            }
            let state = self.states.get_mut(g).ok_or_else(|| {
                DataFusionError::Internal(format!("group {g} of {total_num_groups}"))
            })?;
            merge_shipped::<E>(state, column.value(i))?;
            if E::GROWS {
                self.remeasure(g, Some(column.value(i).len()));
            }
        }
        Ok(())
    }

    /// Each row as a partial state of its own (DataFusion asks for this when a
    /// partial aggregate barely reduces its rows): the state of an empty accumulator
    /// given that row, or none if the filter drops it.
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let columns = Self::columns(values)?;
        let n = columns.first().map_or(0, |c| c.len());
        let (empty, mut scratch) = E::new_state(self.options.as_deref()).map_err(external)?;
        let mut states = vec![empty; n];
        let indices: Vec<usize> = (0..n).collect();
        let groups = Groups::Rows {
            indices: &indices,
            filter: opt_filter,
        };
        let first = self.rows.get();
        E::update_groups(&mut states, &mut scratch, columns, &groups, first)?;
        self.rows.set(first + n as u64);
        ship_all(&states, self.empty_size.total())
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.states.capacity() * std::mem::size_of::<E::State>()
            + self.sizes.capacity() * std::mem::size_of::<(u64, Size)>()
            + self.bytes
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::cast::AsArray;
    use arrow_array::{ArrayRef, BinaryArray, BooleanArray, Float64Array, StringArray};
    use datafusion_common::ScalarValue;
    use datafusion_expr::{Accumulator, EmitTo, GroupsAccumulator};

    use super::Grouped;
    use crate::engine::{Engine, Shipped};
    use crate::forecast::ForecastErrorsFn;
    use crate::pipeline::WinRateFn;

    fn grouped<E: Engine>(options: Option<&str>) -> Grouped<E> {
        let (state, scratch) = E::new_state(options).unwrap();
        Grouped::new(options.map(str::to_string), state, scratch)
    }

    fn shipped<E: Engine>(options: Option<&str>) -> Shipped<E> {
        let (state, scratch) = E::new_state(options).unwrap();
        Shipped::new(state, scratch)
    }

    fn outcomes() -> ArrayRef {
        Arc::new(StringArray::from(vec![
            Some("won"),
            Some("lost"),
            None,
            Some("won"),
            Some("stale"),
            Some("no_decision"),
        ]))
    }

    /// Group `g`'s rows of `values`, as the row accumulator would be given them.
    fn rows_of(values: &ArrayRef, groups: &[usize], g: usize, filter: &[bool]) -> ArrayRef {
        let keep = BooleanArray::from(
            (0..groups.len())
                .map(|i| groups[i] == g && filter[i])
                .collect::<Vec<_>>(),
        );
        datafusion::arrow::compute::filter(values.as_ref(), &keep).unwrap()
    }

    fn binary(column: &ArrayRef) -> Vec<Vec<u8>> {
        column
            .as_binary::<i32>()
            .iter()
            .map(|b| b.unwrap().to_vec())
            .collect()
    }

    #[test]
    fn per_group_states_are_the_row_accumulators_and_merge_both_ways() {
        let options = Some(r#"{"method": "jeffreys"}"#);
        let values = outcomes();
        let groups = [0, 2, 0, 1, 2, 2];
        let filter = [true, true, true, false, true, true];
        let mut g = grouped::<WinRateFn>(options);
        let keep = BooleanArray::from(filter.to_vec());
        g.update_batch(std::slice::from_ref(&values), &groups, Some(&keep), 3)
            .unwrap();
        let states = g.state(EmitTo::All).unwrap().remove(0);
        // Each group's state is the row accumulator's over the group's kept rows.
        for (k, bytes) in binary(&states).iter().enumerate() {
            let mut row = shipped::<WinRateFn>(options);
            row.update_batch(&[rows_of(&values, &groups, k, &filter)])
                .unwrap();
            match row.state().unwrap().as_slice() {
                [ScalarValue::Binary(Some(b))] => assert_eq!(b, bytes, "group {k}"),
                other => panic!("{other:?}"),
            }
        }
        // Group 1 had only a filtered row: an empty state, not a missing one.
        let empty: revops::pipeline::WinRate = serde_json::from_slice(&binary(&states)[1]).unwrap();
        assert_eq!(empty.won + empty.lost + empty.open, 0);
        // The groups' states merge into a row accumulator, and its state into a group.
        let mut row = shipped::<WinRateFn>(options);
        row.merge_batch(std::slice::from_ref(&states)).unwrap();
        let total = row.evaluate().unwrap();
        let one_pass = {
            let mut r = shipped::<WinRateFn>(options);
            let kept = BooleanArray::from(filter.to_vec());
            r.update_batch(&[datafusion::arrow::compute::filter(values.as_ref(), &kept).unwrap()])
                .unwrap();
            r.evaluate().unwrap()
        };
        assert_eq!(total, one_pass);
        let mut back = grouped::<WinRateFn>(options);
        let row_state: ArrayRef = match row.state().unwrap().remove(0) {
            ScalarValue::Binary(Some(b)) => Arc::new(BinaryArray::from(vec![Some(b.as_slice())])),
            other => panic!("{other:?}"),
        };
        back.merge_batch(&[row_state], &[0], 1).unwrap();
        let got = ScalarValue::try_from_array(&back.evaluate(EmitTo::All).unwrap(), 0).unwrap();
        assert_eq!(got, one_pass);
    }

    #[test]
    fn emit_first_takes_the_first_groups_and_moves_the_rest_down() {
        let f: ArrayRef = Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0, 4.0, 5.0]));
        let a: ArrayRef = Arc::new(Float64Array::from(vec![
            Some(1.0),
            None,
            Some(2.0),
            Some(5.0),
            Some(4.0),
        ]));
        let mut g = grouped::<ForecastErrorsFn>(None);
        g.update_batch(&[f.clone(), a.clone()], &[0, 1, 2, 1, 0], None, 3)
            .unwrap();
        let size = g.size();
        let first = g.evaluate(EmitTo::First(2)).unwrap();
        assert_eq!(first.len(), 2);
        assert!(g.size() < size);
        let n = |v: &ArrayRef, i: usize| {
            let s = ScalarValue::try_from_array(v, i).unwrap();
            let ScalarValue::Struct(s) = s else { panic!() };
            s.column_by_name("n")
                .unwrap()
                .as_primitive::<arrow_array::types::UInt64Type>()
                .value(0)
        };
        assert_eq!((n(&first, 0), n(&first, 1)), (2, 1));
        // The old group 2 is now group 0; a new group 1 comes in.
        g.update_batch(&[f, a], &[0, 1, 0, 1, 0], None, 2).unwrap();
        let rest = g.evaluate(EmitTo::All).unwrap();
        assert_eq!((n(&rest, 0), n(&rest, 1)), (1 + 3, 1));
        assert_eq!(g.evaluate(EmitTo::All).unwrap().len(), 0);
    }

    #[test]
    fn converted_rows_are_one_row_states() {
        let values = outcomes();
        let g = grouped::<WinRateFn>(None);
        let keep = BooleanArray::from(vec![true, false, true, true, true, true]);
        let states = g
            .convert_to_state(std::slice::from_ref(&values), Some(&keep))
            .unwrap()
            .remove(0);
        for (i, bytes) in binary(&states).iter().enumerate() {
            let w: revops::pipeline::WinRate = serde_json::from_slice(bytes).unwrap();
            let n = w.won + w.lost + w.no_decision + w.stale + w.open;
            assert_eq!(n, u64::from(i != 1), "row {i}");
        }
        // A bad row names its position among the rows given.
        let bad: ArrayRef = Arc::new(StringArray::from(vec!["won", "maybe"]));
        let mut g = grouped::<WinRateFn>(None);
        g.update_batch(std::slice::from_ref(&values), &[0; 6], None, 1)
            .unwrap();
        let e = g.update_batch(&[bad], &[0, 0], None, 1).unwrap_err();
        assert!(
            e.to_string().contains("input row 7 of its partition"),
            "{e}"
        );
    }
}
