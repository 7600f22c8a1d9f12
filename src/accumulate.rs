//! The accumulator contract that every engine follows.

use serde::de::{self, DeserializeOwned, Deserializer};
use serde::{Serialize, Serializer};

use crate::error::Result;

/// The one shape of every engine's aggregate: a mergeable, serialisable partial state.
///
/// Each engine (funnel events, journeys, Markov and Shapley counts, cost credits,
/// durations, forecast errors, calibration, the pipeline waterfall)
/// has an accumulator that follows the same rules.
///
/// 1. **Create** it with `new(options)` (or `Default` when it has no options). The
///    options are the *only* place policies enter: they are kept in the state, travel
///    with it, and [`merge`](Self::merge) refuses a partial built under other options.
/// 2. **Add** one record with [`add`](Self::add) or many with
///    [`add_batch`](Self::add_batch). An engine whose records need more context (the
///    funnel's interned leads, a journey's touches *and* conversions) keeps an inherent
///    method of the same name taking that context; the trait's `add` takes the record
///    the engine counts.
/// 3. **Merge** a partial built elsewhere (another thread, process or machine) with
///    [`merge`](Self::merge): merging any split of the input equals one pass over all
///    of it, and the order of records and of merges does not change the result.
/// 4. **Finish** with [`finish`](Self::finish), which takes no options (they were given
///    at creation) and does not consume the state, so a running total can be reported
///    and then grown further.
/// 5. **Ship** it: every state is `Serialize + Deserialize`. The serialised form is the
///    state's own fields plus a `"version"` number ([`STATE_VERSION`](Self::STATE_VERSION));
///    a reader refuses a version it does not know rather than guessing. Each type
///    documents its form.
///
/// The methods are also inherent on each type (no import needed to call them); the
/// trait is for generic code: property tests, streaming drivers, the DataFusion bridge.
///
/// ```
/// use revops::{Accumulator, distribution::ExactDistribution};
/// # fn main() -> Result<(), revops::Error> {
/// // Two workers each summarise their share of the days-to-close (in seconds)…
/// let mut north = ExactDistribution::new();
/// Accumulator::add_batch(&mut north, &[86_400, 3 * 86_400])?;
/// let mut south = ExactDistribution::new();
/// Accumulator::add_batch(&mut south, &[2 * 86_400, 5 * 86_400])?;
///
/// // …one ships its partial state to the other as JSON (any serde format works)…
/// let shipped: String = serde_json::to_string(&south)?;
/// let received: ExactDistribution = serde_json::from_str(&shipped)?;
///
/// // …which merges it and finishes: the same summary as one pass over all four.
/// Accumulator::merge(&mut north, &received)?;
/// let summary = Accumulator::finish(&north)?.expect("not empty");
/// assert_eq!(summary.count, 4);
/// assert_eq!(summary.median_days(), 2.5);
/// let one_pass: ExactDistribution = [86_400, 3 * 86_400, 2 * 86_400, 5 * 86_400].into_iter().collect();
/// assert_eq!(one_pass.finish()?, Some(summary));
/// # Ok(())
/// # }
/// ```
pub trait Accumulator: Clone + Serialize + DeserializeOwned {
    /// The record one [`add`](Self::add) counts.
    type Item;
    /// What [`finish`](Self::finish) produces.
    type Output;
    /// The version of the serialised partial state; it grows when the form changes.
    const STATE_VERSION: u32;

    /// Adds one record.
    ///
    /// # Errors
    /// When the record is invalid for this engine; the state is then unchanged.
    fn add(&mut self, item: &Self::Item) -> Result<()>;

    /// Adds every record of a batch, in order; stops at the first invalid record
    /// (records before it stay added).
    ///
    /// # Errors
    /// As [`add`](Self::add), for the first invalid record.
    fn add_batch<'a, I>(&mut self, items: I) -> Result<()>
    where
        I: IntoIterator<Item = &'a Self::Item>,
        Self::Item: 'a,
    {
        for item in items {
            self.add(item)?;
        }
        Ok(())
    }

    /// Merges a partial state built from other records into this one.
    ///
    /// # Errors
    /// When the two states cannot be combined (different options, currencies or
    /// definitions); `self` is then unchanged.
    fn merge(&mut self, other: &Self) -> Result<()>;

    /// The result over every record added and merged so far.
    ///
    /// # Errors
    /// When the result cannot be computed (a documented limit, an overflow).
    fn finish(&self) -> Result<Self::Output>;
}

/// The `"version"` field of a serialised partial state: serialises as the number `N`
/// and refuses any other number when read back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct StateVersion<const N: u32>;

impl<const N: u32> Serialize for StateVersion<N> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_u32(N)
    }
}

impl<'de, const N: u32> serde::Deserialize<'de> for StateVersion<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let v = u32::deserialize(d)?;
        if v == N {
            Ok(StateVersion)
        } else {
            Err(de::Error::custom(format_args!(
                "partial state version {v} is not supported (this build reads version {N})"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::StateVersion;

    #[test]
    fn version_round_trips_and_refuses_others() {
        assert_eq!(serde_json::to_string(&StateVersion::<3>).unwrap(), "3");
        assert!(serde_json::from_str::<StateVersion<3>>("3").is_ok());
        let e = serde_json::from_str::<StateVersion<3>>("4").unwrap_err();
        assert!(e.to_string().contains("version 4 is not supported"), "{e}");
    }
}
