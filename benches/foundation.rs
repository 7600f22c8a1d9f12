//! Foundation throughput: exact allocation, money sums, stage lookup, intervals.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use revops::{Confidence, Currency, Decimal, Funnel, Money, Ratio};
use std::hint::black_box;

fn allocation(c: &mut Criterion) {
    let mut g = c.benchmark_group("allocate");
    let total = Money::parse("1234567.89", Currency::USD).unwrap();
    for n in [3usize, 100, 10_000] {
        let weights: Vec<Decimal> = (0..n)
            .map(|i| Decimal::from((i * 7919) % 1000 + 1))
            .collect();
        let fweights: Vec<f64> = (0..n)
            .map(|i| ((i * 7919) % 1000 + 1) as f64 / 3.0)
            .collect();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("decimal_weights", n), &weights, |b, w| {
            b.iter(|| black_box(total.allocate(black_box(w)).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("f64_weights", n), &fweights, |b, w| {
            b.iter(|| black_box(total.allocate_f64(black_box(w)).unwrap()))
        });
    }
    g.finish();
}

fn money_sum(c: &mut Criterion) {
    let mut g = c.benchmark_group("money");
    let n = 1_000_000u64;
    let items: Vec<Money> = (0..n)
        .map(|i| Money::from_minor_units(i128::from(i % 100_000), Currency::USD).unwrap())
        .collect();
    g.throughput(Throughput::Elements(n));
    g.bench_function("sum_1m", |b| {
        b.iter(|| black_box(Money::sum(Currency::USD, black_box(&items)).unwrap()))
    });
    g.finish();
}

fn stage_lookup(c: &mut Criterion) {
    let f = Funnel::demand_waterfall();
    let keys = [
        "inquiry",
        "mql",
        "SAL",
        "Sales Qualified Lead",
        "opportunity",
        "won",
    ];
    let mut g = c.benchmark_group("funnel");
    g.throughput(Throughput::Elements(keys.len() as u64));
    g.bench_function("stage_index", |b| {
        b.iter(|| {
            for k in keys {
                black_box(f.stage_index(black_box(k)));
            }
        })
    });
    g.finish();
}

fn intervals(c: &mut Criterion) {
    let conf = Confidence::default();
    let ratios: Vec<Ratio> = (1..=1000u64).map(|n| Ratio::new(n / 3, n)).collect();
    let mut g = c.benchmark_group("ratio");
    g.throughput(Throughput::Elements(ratios.len() as u64));
    g.bench_function("wilson", |b| {
        b.iter(|| {
            ratios.iter().map(|r| r.wilson(conf)).for_each(|x| {
                black_box(x);
            })
        })
    });
    g.bench_function("clopper_pearson", |b| {
        b.iter(|| {
            ratios
                .iter()
                .map(|r| r.clopper_pearson(conf))
                .for_each(|x| {
                    black_box(x);
                })
        })
    });
    g.bench_function("jeffreys", |b| {
        b.iter(|| {
            ratios.iter().map(|r| r.jeffreys(conf)).for_each(|x| {
                black_box(x);
            })
        })
    });
    g.finish();
}

criterion_group!(benches, allocation, money_sum, stage_lookup, intervals);
criterion_main!(benches);
