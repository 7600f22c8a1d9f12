//! The accumulator contract, checked the same way for every engine: any split of the
//! input merged equals one pass, in either merge order, and a partial state survives
//! serialisation (JSON here) before it is merged.

use std::fmt::Debug;

use revops::Accumulator;

/// Serialises a partial state to JSON and reads it back.
pub fn ship<A: Accumulator>(a: &A) -> A {
    let json = serde_json::to_string(a).expect("a partial state serialises");
    serde_json::from_str(&json).expect("a serialised partial state reads back")
}

/// Asserts the contract on `items` split at `cut` (clamped to the input):
/// one pass == left ⊕ right == right ⊕ left == ship(left) ⊕ ship(right), compared on
/// `finish()` (through `key`, which turns the output into something comparable: pass
/// `|o| o.clone()` when the output is `PartialEq`, or pick the fields that matter).
pub fn assert_contract<A, K>(
    new: impl Fn() -> A,
    items: &[A::Item],
    cut: usize,
    key: impl Fn(&A::Output) -> K,
) where
    A: Accumulator,
    K: PartialEq + Debug,
{
    let cut = cut.min(items.len());
    let mut whole = new();
    whole.add_batch(items).expect("one pass adds every record");
    let expected = key(&whole.finish().expect("one pass finishes"));

    let mut left = new();
    left.add_batch(&items[..cut]).unwrap();
    let mut right = new();
    right.add_batch(&items[cut..]).unwrap();

    let mut lr = left.clone();
    lr.merge(&right).unwrap();
    assert_eq!(
        key(&lr.finish().unwrap()),
        expected,
        "left ⊕ right != one pass"
    );

    let mut rl = right.clone();
    rl.merge(&left).unwrap();
    assert_eq!(
        key(&rl.finish().unwrap()),
        expected,
        "right ⊕ left != one pass"
    );

    let mut shipped = ship(&left);
    shipped.merge(&ship(&right)).unwrap();
    assert_eq!(
        key(&shipped.finish().unwrap()),
        expected,
        "ship(left) ⊕ ship(right) != one pass"
    );

    // A shipped whole state finishes like the original.
    assert_eq!(
        key(&ship(&whole).finish().unwrap()),
        expected,
        "ship(whole) != whole"
    );
}
