//! Arrow and Parquet ingest throughput (features `parquet`, `synth`): each canonical
//! table of a 200 000-lead synthetic company, written with revops' own writers, read
//! back from Parquet bytes in memory, from Arrow record batches (8 192 rows each) and,
//! for comparison, from CSV bytes (rows/s and MB/s of the file read; for the batches,
//! the bytes of the Parquet file).
//!
//! ```sh
//! cargo bench --features parquet,synth --bench arrow -- touches
//! cargo bench --features parquet,synth --bench arrow -- paths_journeys
//! ```

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use revops::PathRow;
use revops::arrow::parquet::{Reader, write_records};
use revops::arrow::{ArrowRecord, Decoder, JourneyDecoder, RecordBatch, to_record_batch};
use revops::attribution::{JourneyOptions, Journeys};
use revops::csv::{Options, Reader as CsvReader, write_records as write_csv};
use revops::synth::{SynthConfig, generate};
use std::hint::black_box;

const LEADS: u64 = 200_000;

/// The records as Parquet bytes and as record batches of 8 192 rows.
fn inputs<T: ArrowRecord + Clone>(records: &[T]) -> (bytes::Bytes, Vec<RecordBatch>) {
    let parquet = bytes::Bytes::from(write_records(records, Vec::new(), &Options::new()).unwrap());
    let batches = records
        .chunks(8192)
        .map(|c| to_record_batch(c, &Options::new()).unwrap())
        .collect();
    (parquet, batches)
}

fn bench_table<T: ArrowRecord + Clone>(c: &mut Criterion, name: &str, records: &[T]) {
    let rows = records.len() as u64;
    let (parquet, batches) = inputs(records);
    let csv = write_csv(Vec::new(), records, Options::new()).unwrap();
    let mut g = c.benchmark_group(format!("arrow/{name}"));
    g.sampling_mode(SamplingMode::Flat).sample_size(10);

    g.throughput(Throughput::ElementsAndBytes {
        elements: rows,
        bytes: parquet.len() as u64,
    });
    g.bench_function("parquet", |b| {
        b.iter(|| {
            let r = Reader::<T>::new(black_box(parquet.clone()), Options::new()).unwrap();
            let report = r.for_each(|x| {
                black_box(x);
                Ok(())
            });
            assert_eq!(report.unwrap().records, rows);
        })
    });
    g.bench_function("batches", |b| {
        b.iter(|| {
            let mut d = Decoder::<T>::new(Options::new()).unwrap();
            for batch in black_box(&batches) {
                d.decode_with(batch, |x| {
                    black_box(x);
                    Ok(())
                })
                .unwrap();
            }
            assert_eq!(d.report().records, rows);
        })
    });
    g.throughput(Throughput::ElementsAndBytes {
        elements: rows,
        bytes: csv.len() as u64,
    });
    g.bench_function("csv", |b| {
        b.iter(|| {
            let mut n = 0u64;
            for r in CsvReader::<T, _>::new(black_box(&csv[..]), Options::new()).unwrap() {
                black_box(r.unwrap());
                n += 1;
            }
            assert_eq!(n, rows);
        })
    });
    g.finish();
}

fn arrow(c: &mut Criterion) {
    let co = generate(&SynthConfig::default().with_leads(LEADS).with_seed(7)).unwrap();
    let mut journeys = revops::attribution::JourneyBuilder::default();
    for t in &co.touches {
        journeys
            .add(&revops::attribution::JourneyRecord::Touch(t.clone()))
            .unwrap();
    }
    let paths = journeys.finish().unwrap().path_rows();
    bench_table(c, "leads", &co.leads);
    bench_table(c, "stage_events", &co.stage_events);
    bench_table(c, "touches", &co.touches);
    bench_table(c, "conversions", &co.conversions);
    bench_table(c, "spend", &co.spend);
    bench_table(c, "opportunity_history", &co.opportunity_history);
    bench_table(c, "forecasts", &co.forecasts);
    bench_table(c, "paths", &paths);
    bench_journeys(c, &paths);
}

/// Path rows into journeys: the general decoder's records added a batch at a time
/// with `Journeys::add_batch`, against the lean fold (`JourneyDecoder`), from record
/// batches and from Parquet bytes.
fn bench_journeys(c: &mut Criterion, records: &[PathRow]) {
    let rows = records.len() as u64;
    let (parquet, batches) = inputs(records);
    let mut g = c.benchmark_group("arrow/paths_journeys");
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.throughput(Throughput::ElementsAndBytes {
        elements: rows,
        bytes: parquet.len() as u64,
    });
    g.bench_function("batches_general", |b| {
        b.iter(|| {
            let mut d = Decoder::<PathRow>::new(Options::new()).unwrap();
            let mut j = Journeys::default();
            let mut out = Vec::new();
            for batch in black_box(&batches) {
                out.clear();
                d.decode(batch, &mut out).unwrap();
                j.add_batch(&out).unwrap();
            }
            assert_eq!(d.report().records, rows);
            black_box(j)
        })
    });
    g.bench_function("batches_lean", |b| {
        b.iter(|| {
            let mut d = JourneyDecoder::new(Options::new(), JourneyOptions::default()).unwrap();
            for batch in black_box(&batches) {
                d.add(batch).unwrap();
            }
            let (j, report) = d.finish().unwrap();
            assert_eq!(report.records, rows);
            black_box(j)
        })
    });
    g.bench_function("parquet_lean", |b| {
        b.iter(|| {
            let r = Reader::<PathRow>::new(black_box(parquet.clone()), Options::new()).unwrap();
            let (j, report) = r.read_journeys(JourneyOptions::default()).unwrap();
            assert_eq!(report.records, rows);
            black_box(j)
        })
    });
    g.finish();
}

criterion_group!(benches, arrow);
criterion_main!(benches);
