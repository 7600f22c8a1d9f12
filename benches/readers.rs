//! Reader throughput (MB/s) for every canonical CSV file: the general
//! `csv::Reader<T>` over each schema, and `JourneyBuilder::read_touches_csv` (the
//! touches straight into the attribution builder). The files are those of a
//! 20,000-lead synthetic company (feature `synth`), written with revops' own writers
//! into byte buffers and read back from `&[u8]`, so no disk is measured; `paths.csv`
//! is the company's journeys as path rows. Small enough that
//! `cargo bench --bench readers` takes well under a minute.
//!
//! On a busy machine, `REVOPS_BENCH_CPU=1 cargo bench --bench readers` times each
//! iteration by the CPU time of the benchmark's thread (Linux
//! `/proc/thread-self/schedstat`) instead of the wall clock, so that time the thread
//! waits for a core is not counted.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use revops::attribution::JourneyBuilder;
use revops::csv::{CsvRecord, Options, Reader, write_records};
use revops::synth::{SynthConfig, generate};
use revops::{
    Conversion, ForecastPoint, Lead, OpportunityChange, PathRow, Spend, StageEvent, Touch,
};

const LEADS: u64 = 20_000;

/// The canonical files of the synthetic company, as bytes.
struct Files {
    leads: Vec<u8>,
    stage_events: Vec<u8>,
    touches: Vec<u8>,
    conversions: Vec<u8>,
    spend: Vec<u8>,
    opportunity_history: Vec<u8>,
    forecasts: Vec<u8>,
    paths: Vec<u8>,
}

fn bytes<T: CsvRecord>(records: &[T]) -> Vec<u8> {
    write_records(Vec::new(), records, Options::new()).unwrap()
}

fn files() -> Files {
    let c = generate(&SynthConfig::default().with_leads(LEADS).with_seed(7)).unwrap();
    let mut journeys = JourneyBuilder::default();
    journeys.add_batch(&c.touches, &c.conversions, &[]).unwrap();
    let paths: Vec<PathRow> = journeys.finish().unwrap().path_rows();
    Files {
        leads: bytes(&c.leads),
        stage_events: bytes(&c.stage_events),
        touches: bytes(&c.touches),
        conversions: bytes(&c.conversions),
        spend: bytes(&c.spend),
        opportunity_history: bytes(&c.opportunity_history),
        forecasts: bytes(&c.forecasts),
        paths: bytes(&paths),
    }
}

/// Reads every record of `data`; the number of records.
fn read_all<T: CsvRecord>(data: &[u8]) -> usize {
    let mut n = 0;
    for record in Reader::<T, _>::new(data, Options::new()).unwrap() {
        black_box(record.unwrap());
        n += 1;
    }
    n
}

/// The CPU time the calling thread has run, when `REVOPS_BENCH_CPU` is set and the
/// system tells it.
fn thread_cpu() -> Option<Duration> {
    std::env::var_os("REVOPS_BENCH_CPU")?;
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Times `iters` runs of `f`: by the thread's CPU time when [`thread_cpu`] gives it
/// and it is long enough to be counted (the kernel counts it in scheduler ticks),
/// else by the wall clock.
fn timed(iters: u64, mut f: impl FnMut()) -> Duration {
    let (cpu, wall) = (thread_cpu(), std::time::Instant::now());
    for _ in 0..iters {
        f();
    }
    match (cpu, thread_cpu()) {
        (Some(a), Some(b)) if b.saturating_sub(a) >= Duration::from_millis(20) => b - a,
        _ => wall.elapsed(),
    }
}

/// One benchmark of the general reader over `data` (a `T` file), in bytes/s.
fn general<T: CsvRecord>(
    g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    data: &[u8],
) {
    let rows = read_all::<T>(data);
    assert!(rows > 0, "{}: no rows", T::FILE_NAME);
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function(T::FILE_NAME, |b| {
        b.iter_custom(|iters| timed(iters, || assert_eq!(read_all::<T>(black_box(data)), rows)))
    });
}

fn readers(c: &mut Criterion) {
    let f = files();
    let mut g = c.benchmark_group("readers");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);

    general::<Lead>(&mut g, &f.leads);
    general::<StageEvent>(&mut g, &f.stage_events);
    general::<Touch>(&mut g, &f.touches);
    general::<Conversion>(&mut g, &f.conversions);
    general::<Spend>(&mut g, &f.spend);
    general::<OpportunityChange>(&mut g, &f.opportunity_history);
    general::<ForecastPoint>(&mut g, &f.forecasts);
    general::<PathRow>(&mut g, &f.paths);

    g.throughput(Throughput::Bytes(f.touches.len() as u64));
    g.bench_function("JourneyBuilder::read_touches_csv", |b| {
        b.iter_custom(|iters| {
            timed(iters, || {
                let mut builder = JourneyBuilder::default();
                let report = builder
                    .read_touches_csv(black_box(&f.touches[..]), Options::new())
                    .unwrap();
                black_box((report.records, builder));
            })
        })
    });
    g.finish();
}

criterion_group!(benches, readers);
criterion_main!(benches);
