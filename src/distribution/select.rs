//! Order statistics and type-7 quantiles in linear time: selection, and a radix pass for large inputs.

use super::histogram::Layout;
use super::summary::{SUMMARY_LEVELS, exact_summary};
use super::{BinRule, Histogram, QuantileAccuracy, Summary};
use crate::Result;

/// The summary and the histogram under `rule` of durations in seconds, exactly as
/// [`ExactDistribution::finish`] and [`ExactDistribution::histogram`] give them for
/// the same values, in fewer passes and without copying them (they are reordered):
/// one pass for count, sum and extremes, one that counts the values by radix bucket
/// (and into the histogram bins), one that gathers the few buckets holding the
/// wanted order statistics. `None` when there are no values. Narrow values (`u32`)
/// halve the memory the passes stream through.
///
/// # Errors
///
/// As [`ExactDistribution::histogram`].
pub(crate) fn summarize<T: Copy + Ord + Into<u64>>(
    values: &mut [T],
    rule: BinRule,
) -> Result<Option<(Summary, Histogram)>> {
    let n = values.len();
    if n == 0 {
        return Ok(None);
    }
    let (mut sum, mut min, mut max) = (0u128, u64::MAX, 0u64);
    for &x in values.iter() {
        let x: u64 = x.into();
        sum += u128::from(x);
        min = min.min(x);
        max = max.max(x);
    }
    let points = SUMMARY_LEVELS.map(|q| Type7::new(n, q));
    let mut ranks: Vec<usize> = points.iter().flat_map(|p| [p.lo, p.hi]).collect();
    ranks.sort_unstable();
    ranks.dedup();
    let quantiles = |order: &[u64]| {
        let at = |rank: usize| order[ranks.binary_search(&rank).unwrap_or_default()] as f64;
        points.map(|p| lerp(at(p.lo), at(p.hi), p.t))
    };
    let summary = |q: [f64; 4]| exact_summary(n as u64, sum, min, max, q);
    if rule == BinRule::FreedmanDiaconis {
        // The bins need the quartiles: the same ones `histogram` selects.
        let q = quantiles(&radix_order_statistics(values, min, max, &ranks, |_| {}));
        let layout = Layout::new(rule, min, max, n as u64, q[2] - q[0]);
        let mut h = layout.empty_histogram(min, max, rule, QuantileAccuracy::Exact)?;
        let first_bin = layout.bin(min);
        for &x in values.iter() {
            h.bins[(layout.bin(x.into()) - first_bin) as usize].count += 1;
        }
        return Ok(Some((summary(q), h)));
    }
    // The bins of the other rules are known now: count them in the radix pass.
    let layout = Layout::new(rule, min, max, n as u64, 0.0);
    let mut histogram = layout.empty_histogram(min, max, rule, QuantileAccuracy::Exact)?;
    let first_bin = layout.bin(min);
    let bins = &mut histogram.bins;
    // In range: every value lies in [min, max].
    let order = match layout {
        Layout::Doubling { unit } => {
            let edges = DoublingEdges::new(unit);
            radix_order_statistics(values, min, max, &ranks, |x| {
                bins[(edges.bin(x) - first_bin) as usize].count += 1;
            })
        }
        _ => radix_order_statistics(values, min, max, &ranks, |x| {
            bins[(layout.bin(x) - first_bin) as usize].count += 1;
        }),
    };
    Ok(Some((summary(quantiles(&order)), histogram)))
}

/// Where the type-7 `q`-quantile of `n ≥ 1` sorted values sits: between the
/// order statistics of ranks `lo` and `hi` (`hi = lo + 1`, or `hi = lo` when no
/// interpolation is needed), at fraction `t`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Type7 {
    pub(super) lo: usize,
    pub(super) hi: usize,
    pub(super) t: f64,
}

impl Type7 {
    pub(super) fn new(n: usize, q: f64) -> Self {
        let h = (n - 1) as f64 * q;
        let floor = h.floor();
        let lo = (floor as usize).min(n - 1);
        let t = if lo == n - 1 { 0.0 } else { h - floor };
        let hi = if t > 0.0 { lo + 1 } else { lo };
        Type7 { lo, hi, t }
    }
}

/// Linear interpolation from `a` (at `t = 0`) to `b` (at `t = 1`), evaluated from
/// the nearer end as NumPy's `_lerp` does, so that `t = 1` gives `b` exactly.
pub(super) fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let d = b - a;
    if t >= 0.5 {
        b - d * (1.0 - t)
    } else {
        a + d * t
    }
}

/// The order statistics of the given ascending, distinct `ranks` (each below
/// `values.len()`), by successive selections on shrinking suffixes; `values` is
/// reordered.
pub(super) fn order_statistics<T: Copy + Ord + Into<u64>>(
    values: &mut [T],
    ranks: &[usize],
) -> Vec<u64> {
    let mut out = Vec::with_capacity(ranks.len());
    let mut base = 0;
    for &rank in ranks {
        let (_, &mut x, _) = values[base..].select_nth_unstable(rank - base);
        out.push(x.into());
        base = rank + 1;
    }
    out
}

/// The global bins of [`Layout::Doubling`] without a division per value: the bin
/// of `x` is the least `k` with `x < u·2^k`, and for `x` of bit length `b` and `u`
/// of bit length `c` that is `b − c` or `b − c + 1` (or 0 when `b ≤ c`), which
/// one comparison with the edge `u·2^(b−c)` tells apart.
pub(super) struct DoublingEdges {
    unit_bits: u32,
    /// `u·2^k`, exact.
    edges: [u128; 64],
}

impl DoublingEdges {
    pub(super) fn new(unit: u64) -> Self {
        DoublingEdges {
            unit_bits: u64::BITS - unit.leading_zeros(),
            edges: std::array::from_fn(|k| u128::from(unit) << k),
        }
    }

    /// The same bin as `Layout::Doubling { unit }.bin(x)`.
    #[inline]
    pub(super) fn bin(&self, x: u64) -> u64 {
        // unit ≥ 1, so k < 64
        let k = (u64::BITS - x.leading_zeros()).saturating_sub(self.unit_bits);
        u64::from(k) + u64::from(u128::from(x) >= self.edges[k as usize])
    }
}

/// Below this many values, [`radix_order_statistics`] selects directly.
const RADIX_MIN_VALUES: usize = 512;

/// The order statistics of the given ascending, distinct `ranks` (each below
/// `values.len()`) of values lying in `[min, max]`, calling `each` on every value
/// once. Large inputs take two passes: one counts the values per radix bucket
/// (the top bits of `x − min`, about one bucket per value and at most 2^16), which
/// locates each rank's bucket and its rank within it; one gathers the values of
/// those few buckets, where a selection finishes. When the buckets are one value
/// wide, the counts alone give the answer. Small inputs are selected in place
/// (`values` is reordered).
fn radix_order_statistics<T: Copy + Ord + Into<u64>>(
    values: &mut [T],
    min: u64,
    max: u64,
    ranks: &[usize],
    mut each: impl FnMut(u64),
) -> Vec<u64> {
    let n = values.len();
    if n < RADIX_MIN_VALUES || ranks.len() >= usize::from(u8::MAX) || u32::try_from(n).is_err() {
        values.iter().for_each(|&x| each(x.into()));
        return order_statistics(values, ranks);
    }
    let bits = (usize::BITS - n.leading_zeros()).min(16);
    let span = max - min;
    let shift = (u64::BITS - span.leading_zeros()).saturating_sub(bits);
    let buckets = (span >> shift) as usize + 1;
    // 32-bit counts (n fits, checked above) keep the table in a small cache.
    let mut counts = vec![0u32; buckets];
    for &x in values.iter() {
        let x: u64 = x.into();
        counts[((x - min) >> shift) as usize] += 1;
        each(x);
    }
    // Each rank's bucket, and its rank among the bucket's values.
    let mut want = Vec::with_capacity(ranks.len());
    let (mut bucket, mut below) = (0, 0);
    for &rank in ranks {
        while below + counts[bucket] as usize <= rank {
            below += counts[bucket] as usize;
            bucket += 1;
        }
        want.push((bucket, rank - below));
    }
    if shift == 0 {
        return want.iter().map(|&(b, _)| min + b as u64).collect();
    }
    const NO_GROUP: u8 = u8::MAX;
    let mut group = vec![NO_GROUP; buckets];
    let mut groups: Vec<Vec<T>> = Vec::new();
    for &(b, _) in &want {
        if group[b] == NO_GROUP {
            // fewer than 255 ranks, checked above
            group[b] = groups.len() as u8;
            groups.push(Vec::with_capacity(counts[b] as usize));
        }
    }
    for &x in values.iter() {
        let wide: u64 = x.into();
        let g = group[((wide - min) >> shift) as usize];
        if g != NO_GROUP {
            groups[usize::from(g)].push(x);
        }
    }
    want.iter()
        .map(|&(b, k)| (*groups[usize::from(group[b])].select_nth_unstable(k).1).into())
        .collect()
}
