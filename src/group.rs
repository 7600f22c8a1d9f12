//! The one group-by kernel: a stable counting sort of items by a dense key.
//!
//! Items carry keys in `0..keys`. [`offsets`] counts them per key and turns the
//! counts into start offsets: key `k`'s items take positions
//! `start[k]..start[k + 1]` of the grouped order (`start` has `keys + 1` entries).
//! [`place`] then walks the items in input order and hands each one its position,
//! so items of one key keep their input order (the sort is stable). [`order`] is
//! the permutation itself, for callers that read the items through it.
//!
//! Offsets are `u32` (compact, when the caller has checked that the items fit) or
//! `usize`.

use std::ops::AddAssign;

/// An offset type: `u32` or `usize`.
pub(crate) trait Offset: Copy + Default + AddAssign {
    /// One item.
    const ONE: Self;
    /// As an index.
    fn index(self) -> usize;
}

impl Offset for u32 {
    const ONE: u32 = 1;
    #[inline]
    fn index(self) -> usize {
        self as usize
    }
}

impl Offset for usize {
    const ONE: usize = 1;
    #[inline]
    fn index(self) -> usize {
        self
    }
}

/// Start offsets of `keys` groups (`keys + 1` entries) into a reused buffer.
///
/// Every item key must be below `keys`, and the number of items must fit in `O`.
#[inline]
pub(crate) fn offsets_into<O: Offset>(
    start: &mut Vec<O>,
    keys: usize,
    items: impl IntoIterator<Item = usize>,
) {
    start.clear();
    start.resize(keys + 1, O::default());
    for k in items {
        start[k + 1] += O::ONE;
    }
    for k in 0..keys {
        let before = start[k];
        start[k + 1] += before;
    }
}

/// Start offsets of `keys` groups (`keys + 1` entries): see [`offsets_into`].
#[inline]
pub(crate) fn offsets<O: Offset>(keys: usize, items: impl IntoIterator<Item = usize>) -> Vec<O> {
    let mut start = Vec::new();
    offsets_into(&mut start, keys, items);
    start
}

/// Places the items (their keys, in input order, as counted by [`offsets`]):
/// `place(position, input_index)` for each. `cursor` starts as the offsets and is
/// advanced in place (afterwards `cursor[k]` is the end of group `k`).
#[inline]
pub(crate) fn place<O: Offset>(
    cursor: &mut [O],
    items: impl IntoIterator<Item = usize>,
    mut place: impl FnMut(usize, usize),
) {
    for (i, k) in items.into_iter().enumerate() {
        let next = &mut cursor[k];
        place(next.index(), i);
        *next += O::ONE;
    }
}

/// The grouped order: input indices, key by key, input order within a key. The
/// number of items must fit in `u32`.
#[inline]
pub(crate) fn order<O: Offset>(start: &[O], items: impl IntoIterator<Item = usize>) -> Vec<u32> {
    let n = start.last().map_or(0, |n| n.index());
    let mut cursor = start.to_vec();
    let mut order = vec![0u32; n];
    place(&mut cursor, items, |p, i| order[p] = i as u32);
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_stable_and_cover_every_item() {
        let keys = [2usize, 0, 2, 1, 0, 2];
        let start: Vec<u32> = offsets(4, keys.iter().copied());
        assert_eq!(start, [0, 2, 3, 6, 6]);
        assert_eq!(order(&start, keys.iter().copied()), [1, 4, 3, 0, 2, 5]);
        let start: Vec<usize> = offsets(3, keys.iter().copied());
        let mut cursor = start.clone();
        let mut out = [0usize; 6];
        place(&mut cursor, keys.iter().copied(), |p, i| out[p] = i);
        assert_eq!(out, [1, 4, 3, 0, 2, 5]);
        assert_eq!(cursor, [2, 3, 6, 6]);
        assert_eq!(offsets::<usize>(0, std::iter::empty()), [0]);
    }
}
