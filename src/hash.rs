//! A fast, non-cryptographic hasher for the engines' internal maps (interning ids),
//! where keys come from the caller's own data and hash-flooding is not a concern.
//! The mixing step is the well-known "Fx" rotate-xor-multiply, applied 8 bytes at a
//! time, followed by murmur3's `fmix64` finaliser: Fx alone leaves the low bits (which
//! pick the bucket) nearly constant for ids that differ only in their middle or last
//! characters (`L-00000001`, `L-00000002` …), and a million of them then degrade into
//! long probe chains.

use std::hash::{BuildHasherDefault, Hasher};

const K: u64 = 0x517c_c1b7_2722_0a95;

/// Fx-style hasher: `h = (h.rotl(5) ^ word) * K` per 8-byte word.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(K);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        let mut h = self.hash;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// `HashMap` with the fast hasher.
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FxHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_work_and_hashes_differ() {
        let mut m: FastMap<&str, u32> = FastMap::default();
        for (i, k) in ["a", "b", "L-00000001", "L-00000002", ""]
            .iter()
            .enumerate()
        {
            m.insert(k, i as u32);
        }
        assert_eq!(m.get("L-00000002"), Some(&3));
        assert_eq!(m.get(""), Some(&4));
        let h = |s: &str| {
            let mut x = FxHasher::default();
            x.write(s.as_bytes());
            x.finish()
        };
        assert_ne!(h("L-00000001"), h("L-00000002"));
        // the low bits, which pick the bucket, spread over ids that differ in the middle
        let low: std::collections::HashSet<u64> =
            (0..4096).map(|i| h(&format!("S{i:08}")) & 0xfff).collect();
        assert!(low.len() > 2500, "{} distinct low-bit patterns", low.len());
    }
}
