//! Synthetic company throughput: whole companies (`generate`) and the lead stream with
//! a tally, in leads per second. The 1M-lead group measures the "a few seconds for a
//! million leads" target; run it alone with `cargo bench --features synth --bench synth
//! -- million`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use revops::synth::{Synth, SynthConfig, generate};
use std::hint::black_box;
use std::time::Duration;

fn config(leads: u64) -> SynthConfig {
    SynthConfig::default().with_leads(leads).with_seed(42)
}

fn companies(c: &mut Criterion) {
    let mut g = c.benchmark_group("synth");
    for leads in [10_000u64, 100_000] {
        g.throughput(Throughput::Elements(leads));
        g.sample_size(if leads > 10_000 { 10 } else { 20 });
        g.bench_with_input(BenchmarkId::new("generate", leads), &leads, |b, &n| {
            b.iter(|| black_box(generate(&config(n)).unwrap()))
        });
        let synth = Synth::new(config(leads)).unwrap();
        g.bench_with_input(BenchmarkId::new("stream_tally", leads), &synth, |b, s| {
            b.iter(|| {
                let mut tally = s.tally();
                for bundle in s.leads() {
                    tally.add(&bundle);
                }
                black_box(s.spend(&tally).unwrap())
            })
        });
    }
    g.finish();
}

fn million(c: &mut Criterion) {
    let mut g = c.benchmark_group("synth_million");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(30));
    g.throughput(Throughput::Elements(1_000_000));
    g.bench_function("generate_1m", |b| {
        b.iter(|| black_box(generate(&config(1_000_000)).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, companies, million);
criterion_main!(benches);
