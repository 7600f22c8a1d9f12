//! The one interner: keys to dense `u32` ids, in order of first appearance, so the
//! engines' hot loops index `Vec`s instead of hashing strings.

use std::borrow::Borrow;
use std::hash::Hash;

use crate::error::Result;
use crate::hash::FastMap;

/// Keys interned to dense `u32` ids (`0, 1, …` in order of first appearance). Ids
/// stay below `u32::MAX`, which callers may use as a "none" marker.
#[derive(Debug, Clone)]
pub(crate) struct Interner<K> {
    /// The keys, by id (read-only outside this module by convention: pushing here
    /// without the map would break the interner).
    pub(crate) names: Vec<K>,
    ids: FastMap<K, u32>,
}

impl<K> Default for Interner<K> {
    fn default() -> Self {
        Interner {
            names: Vec::new(),
            ids: FastMap::default(),
        }
    }
}

impl<K: Clone + Eq + Hash> Interner<K> {
    /// An empty interner with room for `n` keys.
    pub(crate) fn with_capacity(n: usize) -> Self {
        Interner {
            names: Vec::with_capacity(n),
            ids: FastMap::with_capacity_and_hasher(n, Default::default()),
        }
    }

    /// The id of a key already interned.
    #[inline]
    pub(crate) fn get<Q>(&self, key: &Q) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.ids.get(key).copied()
    }

    /// The id of `key`, interning (cloning) it if new.
    ///
    /// # Errors
    /// [`ErrorKind::LimitExceeded`](crate::error::ErrorKind::LimitExceeded) beyond `u32::MAX − 1` keys.
    #[inline]
    pub(crate) fn intern(&mut self, key: &K) -> Result<u32> {
        if let Some(&id) = self.ids.get(key) {
            return Ok(id);
        }
        let id = u32::try_from(self.names.len())
            .ok()
            .filter(|&i| i < u32::MAX)
            .ok_or_else(|| {
                crate::error::capacity(
                    "distinct ids of one kind",
                    self.names.len(),
                    u64::from(u32::MAX - 1),
                )
            })?;
        self.names.push(key.clone());
        self.ids.insert(key.clone(), id);
        Ok(id)
    }

    /// The keys, by id.
    pub(crate) fn keys(&self) -> &[K] {
        &self.names
    }

    /// The number of keys.
    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_dense_in_order_of_first_appearance() {
        let mut names: Interner<String> = Interner::with_capacity(2);
        for (k, want) in [("b", 0), ("a", 1), ("b", 0), ("c", 2)] {
            assert_eq!(names.intern(&k.to_string()).ok(), Some(want));
        }
        assert_eq!(names.get("a"), Some(1));
        assert_eq!(names.get("z"), None);
        assert_eq!(names.keys(), ["b", "a", "c"]);
        assert_eq!(names.len(), 3);
    }
}
