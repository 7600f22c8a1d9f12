//! CSV ingest throughput: the stage events and touches of one million synthetic leads
//! (feature `synth`), written with revops' own writers into byte buffers, then read
//! back from `&[u8]` (rows/s and MB/s).

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use revops::csv::{CsvRecord, Options, Reader, Writer};
use revops::synth::{Synth, SynthConfig};
use revops::{StageEvent, Touch};
use std::hint::black_box;

const LEADS: u64 = 1_000_000;

/// `stage_events.csv` and `touches.csv` of a 1M-lead company, with their row counts.
fn files() -> ((Vec<u8>, u64), (Vec<u8>, u64)) {
    let synth = Synth::new(SynthConfig::default().with_leads(LEADS).with_seed(7)).unwrap();
    let mut events =
        Writer::<StageEvent, _>::new(Vec::with_capacity(100 << 20), Options::new()).unwrap();
    let mut touches =
        Writer::<Touch, _>::new(Vec::with_capacity(300 << 20), Options::new()).unwrap();
    let (mut ne, mut nt) = (0, 0);
    for bundle in synth.leads() {
        for e in &bundle.stage_events {
            events.write(e).unwrap();
        }
        for t in &bundle.touches {
            touches.write(t).unwrap();
        }
        ne += bundle.stage_events.len() as u64;
        nt += bundle.touches.len() as u64;
    }
    (
        (events.finish().unwrap(), ne),
        (touches.finish().unwrap(), nt),
    )
}

fn read_all<T: CsvRecord>(data: &[u8]) -> u64 {
    let mut n = 0;
    for record in Reader::<T, _>::new(data, Options::new()).unwrap() {
        black_box(record.unwrap());
        n += 1;
    }
    n
}

fn ingest(c: &mut Criterion) {
    let mut g = c.benchmark_group("ingest");
    // One pass over a whole file takes a second or two: ten single passes per sample.
    g.sampling_mode(SamplingMode::Flat).sample_size(10);

    let ((data, rows), touch_file) = files();
    g.throughput(Throughput::ElementsAndBytes {
        elements: rows,
        bytes: data.len() as u64,
    });
    g.bench_function("stage_events", |b| {
        b.iter(|| assert_eq!(read_all::<StageEvent>(black_box(&data)), rows))
    });
    drop(data);

    let (data, rows) = touch_file;
    g.throughput(Throughput::ElementsAndBytes {
        elements: rows,
        bytes: data.len() as u64,
    });
    g.bench_function("touches", |b| {
        b.iter(|| assert_eq!(read_all::<Touch>(black_box(&data)), rows))
    });
    g.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
