//! Funnel engine throughput on one million synthetic leads (feature `synth`):
//! - `intern`: string ids and stage keys to dense integers, once per batch;
//! - `report`: path reconstruction + cohort report (+ velocity) from interned events,
//!   the hot path (events/s);
//! - `csv_to_report`: `leads.csv` and `stage_events.csv` parsed from memory, interned
//!   and reported: dominated by CSV parsing.

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use revops::csv::{Options, Reader, write_records};
use revops::synth::{SynthConfig, generate};
use revops::{
    CohortAnchor, CohortSpec, Dimension, Funnel, FunnelData, FunnelEvents, Lead, PathOptions,
    StageEvent, cohort_report,
};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let company = generate(&SynthConfig::default().with_leads(1_000_000).with_seed(7)).unwrap();
    let (leads, events) = (company.leads, company.stage_events);
    let n = events.len() as u64;
    let spec = CohortSpec::default()
        .with_anchor(CohortAnchor::Stage("mql".into()))
        .with_breakdown(Dimension::Source);

    let mut g = c.benchmark_group("funnel");
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.throughput(Throughput::Elements(n));

    g.bench_function("intern", |b| {
        b.iter(|| {
            let data = FunnelData::new(Funnel::demand_waterfall(), black_box(&leads)).unwrap();
            black_box(data.intern(&events).unwrap().len())
        })
    });

    let data = FunnelData::new(Funnel::demand_waterfall(), &leads).unwrap();
    let mut acc = FunnelEvents::default();
    acc.add(&data, &events).unwrap();
    g.bench_function("report", |b| {
        b.iter(|| {
            let paths = acc.paths(&data, PathOptions::default());
            black_box(cohort_report(&data, &paths, &spec).unwrap())
        })
    });

    let leads_csv = write_records(Vec::new(), &leads, Options::new()).unwrap();
    let events_csv = write_records(Vec::new(), &events, Options::new()).unwrap();
    g.throughput(Throughput::Bytes(
        (leads_csv.len() + events_csv.len()) as u64,
    ));
    g.bench_function("csv_to_report", |b| {
        b.iter(|| {
            let leads: Vec<Lead> = Reader::new(&leads_csv[..], Options::new())
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let events: Vec<StageEvent> = Reader::new(&events_csv[..], Options::new())
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let data = FunnelData::new(Funnel::demand_waterfall(), &leads).unwrap();
            let mut acc = FunnelEvents::default();
            acc.add(&data, &events).unwrap();
            let paths = acc.paths(&data, PathOptions::default());
            black_box(cohort_report(&data, &paths, &spec).unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
