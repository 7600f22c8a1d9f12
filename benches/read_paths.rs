//! `paths.csv` ingest throughput (MB/s): one million synthetic journeys
//! (`revops::synth::path_rows`, 12 channels), written with revops' own writer into a
//! byte buffer, then read back into `Journeys` from `&[u8]`:
//! `Journeys::read_paths_csv` (on every available core: run under `taskset -c 0`
//! for the per-core figure) against the general `Reader<PathRow>` collected and
//! added with `Journeys::add_batch`.

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use revops::csv::{Options, Reader, Writer};
use revops::synth::{PathsConfig, path_rows};
use revops::{
    Currency, PathRow,
    attribution::{JourneyOptions, Journeys},
};
use std::hint::black_box;

const JOURNEYS: u64 = 1_000_000;

fn file() -> Vec<u8> {
    let options = Options::new().with_path_separator(" > ");
    let mut w = Writer::<PathRow, _>::new(Vec::with_capacity(64 << 20), options).unwrap();
    for row in path_rows(&PathsConfig::default().with_journeys(JOURNEYS)).unwrap() {
        w.write(&row).unwrap();
    }
    w.finish().unwrap()
}

fn journeys() -> Journeys {
    Journeys::new(JourneyOptions::default().with_currency(Currency::USD)).unwrap()
}

fn read_paths(c: &mut Criterion) {
    let mut g = c.benchmark_group("read_paths");
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    let data = file();
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("read_paths_csv", |b| {
        b.iter(|| {
            let mut j = journeys();
            let report = j
                .read_paths_csv(black_box(&data[..]), Options::new())
                .unwrap();
            assert_eq!(report.records, JOURNEYS);
            j
        })
    });
    g.bench_function("reader_then_add_batch", |b| {
        b.iter(|| {
            let rows: Vec<PathRow> =
                Reader::<PathRow, _>::new(black_box(&data[..]), Options::new())
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
            let mut j = journeys();
            j.add_batch(&rows).unwrap();
            j
        })
    });
    g.finish();
}

criterion_group!(benches, read_paths);
criterion_main!(benches);
