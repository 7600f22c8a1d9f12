//! Duration distributions: adding 5M values, merging partial results and
//! finishing, for the exact distribution and the quantile sketch (values/s).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use revops::{
    distribution::BinRule, distribution::ExactDistribution, distribution::QuantileSketch,
};

const N: usize = 5_000_000;
const PARTS: usize = 100;

/// `N` log-uniform durations between 1 s and 3 years, from a fixed xorshift seed.
fn durations() -> Vec<u64> {
    let top = (3.0f64 * 365.0 * 86_400.0).ln();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..N)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            (u * top).exp().round() as u64
        })
        .collect()
}

fn config(c: &mut Criterion) -> criterion::BenchmarkGroup<'_, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group("distribution_5m");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(N as u64));
    g
}

fn add(c: &mut Criterion) {
    let values = durations();
    let mut g = config(c);
    g.bench_function("add/exact", |b| {
        b.iter(|| {
            let mut d = ExactDistribution::default();
            for &x in black_box(&values) {
                d.add(x);
            }
            d
        })
    });
    g.bench_function("add/sketch", |b| {
        b.iter(|| {
            let mut s = QuantileSketch::default();
            for &x in black_box(&values) {
                s.add(x);
            }
            s
        })
    });
    g.finish();
}

fn merge(c: &mut Criterion) {
    let values = durations();
    let chunk = N / PARTS;
    let exact_parts: Vec<ExactDistribution> = values
        .chunks(chunk)
        .map(|c| c.iter().copied().collect())
        .collect();
    let sketch_parts: Vec<QuantileSketch> = values
        .chunks(chunk)
        .map(|c| c.iter().copied().collect())
        .collect();
    let mut g = config(c);
    // Throughput counts the values the merged partials hold, not merge calls.
    g.bench_function("merge_100_partials/exact", |b| {
        b.iter(|| {
            let mut all = ExactDistribution::default();
            for p in black_box(&exact_parts) {
                all.merge(p).expect("exact distributions merge");
            }
            all
        })
    });
    g.bench_function("merge_100_partials/sketch", |b| {
        b.iter(|| {
            let mut all = QuantileSketch::default();
            for p in black_box(&sketch_parts) {
                all.merge(p).expect("same accuracy");
            }
            all
        })
    });
    g.finish();
}

fn finish(c: &mut Criterion) {
    let values = durations();
    let exact: ExactDistribution = values.iter().copied().collect();
    let sketch: QuantileSketch = values.iter().copied().collect();
    // Throughput is per value summarised; a sketch's finish costs per bucket.
    let mut g = config(c);
    g.bench_function("finish/exact", |b| b.iter(|| black_box(&exact).finish()));
    g.bench_function("finish/sketch", |b| b.iter(|| black_box(&sketch).finish()));
    g.bench_function("histogram_log2/exact", |b| {
        b.iter(|| black_box(&exact).histogram(BinRule::Log2))
    });
    g.bench_function("histogram_freedman_diaconis/exact", |b| {
        b.iter(|| black_box(&exact).histogram(BinRule::FreedmanDiaconis))
    });
    g.bench_function("histogram_days/sketch", |b| {
        b.iter(|| black_box(&sketch).histogram(BinRule::Days))
    });
    g.finish();
}

criterion_group!(benches, add, merge, finish);
criterion_main!(benches);
