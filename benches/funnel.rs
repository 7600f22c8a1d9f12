//! Funnel engine throughput on one million synthetic leads (feature `synth`):
//! - `intern`: string ids and stage keys to dense integers, once per batch;
//! - `report`: path reconstruction + cohort report + velocity from interned events,
//!   the hot path (events/s), and the same broken down by lead source. Cold: fresh
//!   paths every time (their memory is new to the process: the kernel faults it in);
//!   `_warm`: the repeated-report case, paths rebuilt in place with
//!   `FunnelEvents::paths_into`;
//! - `csv_to_report`: `leads.csv` and `stage_events.csv` parsed from memory, interned
//!   and reported: dominated by CSV parsing; `csv_to_report_lean` the same through
//!   the lean readers (no record per row, blocks on every core);
//! - `read_leads_csv` / `read_stage_events_csv`: the lean readers alone (MB/s), into
//!   the engine's columns.

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use revops::csv::{Options, Reader, write_records};
use revops::synth::{SynthConfig, generate};
use revops::{
    Funnel, Lead, StageEvent, funnel::CohortSpec, funnel::Dimension, funnel::FunnelData,
    funnel::FunnelEvents, funnel::PathOptions, funnel::VelocitySpec, funnel::cohort_report,
    funnel::velocity_report,
};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let company = generate(&SynthConfig::default().with_leads(1_000_000).with_seed(7)).unwrap();
    let (leads, events) = (company.leads, company.stage_events);
    let n = events.len() as u64;
    let spec = CohortSpec::default();
    let by_source = CohortSpec::default().with_breakdown(Dimension::Source);
    let velocity = VelocitySpec::default();

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
    acc.add_batch(&data, &events).unwrap();
    g.bench_function("report", |b| {
        b.iter(|| {
            let paths = acc.paths(&data, PathOptions::default());
            black_box(cohort_report(&data, &paths, &spec).unwrap());
            black_box(velocity_report(&data, &paths, &velocity).unwrap())
        })
    });
    let mut reused = acc.paths(&data, PathOptions::default());
    g.bench_function("report_warm", |b| {
        b.iter(|| {
            acc.paths_into(&data, PathOptions::default(), &mut reused);
            black_box(cohort_report(&data, &reused, &spec).unwrap());
            black_box(velocity_report(&data, &reused, &velocity).unwrap())
        })
    });
    g.bench_function("report_by_source", |b| {
        b.iter(|| {
            let paths = acc.paths(&data, PathOptions::default());
            black_box(cohort_report(&data, &paths, &by_source).unwrap());
            black_box(
                velocity_report(
                    &data,
                    &paths,
                    &velocity.clone().with_breakdown(Dimension::Source),
                )
                .unwrap(),
            )
        })
    });

    // The shape: ~5 events per lead (each lead walks 3 to 6 stages, hours to
    // weeks apart), same leads.
    const STAGES: [&str; 6] = ["inquiry", "mql", "sal", "sql", "opportunity", "won"];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut dense = Vec::with_capacity(5 * leads.len());
    for l in &leads {
        let subject = revops::SubjectId::from(&l.id);
        let mut at = l.created_at;
        for st in &STAGES[..3 + (next() % 4) as usize] {
            dense.push(StageEvent::new(subject.clone(), *st, at));
            at += chrono::TimeDelta::seconds(3_600 + (next() % (20 * 86_400)) as i64);
        }
    }
    let mut dense_acc = FunnelEvents::default();
    dense_acc.add_batch(&data, &dense).unwrap();
    g.throughput(Throughput::Elements(dense.len() as u64));
    g.bench_function("report_5m_events", |b| {
        b.iter(|| {
            let paths = dense_acc.paths(&data, PathOptions::default());
            black_box(cohort_report(&data, &paths, &spec).unwrap());
            black_box(velocity_report(&data, &paths, &velocity).unwrap())
        })
    });
    g.bench_function("report_5m_events_warm", |b| {
        b.iter(|| {
            dense_acc.paths_into(&data, PathOptions::default(), &mut reused);
            black_box(cohort_report(&data, &reused, &spec).unwrap());
            black_box(velocity_report(&data, &reused, &velocity).unwrap())
        })
    });
    drop((dense, dense_acc, reused));

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
            acc.add_batch(&data, &events).unwrap();
            let paths = acc.paths(&data, PathOptions::default());
            black_box(cohort_report(&data, &paths, &spec).unwrap());
            black_box(velocity_report(&data, &paths, &velocity).unwrap())
        })
    });
    g.bench_function("csv_to_report_lean", |b| {
        b.iter(|| {
            let (data, _) = FunnelData::read_leads_csv(
                Funnel::demand_waterfall(),
                &leads_csv[..],
                Options::new(),
            )
            .unwrap();
            let mut acc = FunnelEvents::default();
            acc.read_stage_events_csv(&data, &events_csv[..], Options::new())
                .unwrap();
            let paths = acc.paths(&data, PathOptions::default());
            black_box(cohort_report(&data, &paths, &spec).unwrap());
            black_box(velocity_report(&data, &paths, &velocity).unwrap())
        })
    });
    g.throughput(Throughput::Bytes(leads_csv.len() as u64));
    g.bench_function("read_leads_csv", |b| {
        b.iter(|| {
            let (data, _) = FunnelData::read_leads_csv(
                Funnel::demand_waterfall(),
                &leads_csv[..],
                Options::new(),
            )
            .unwrap();
            black_box(data.len())
        })
    });
    let (lean, _) =
        FunnelData::read_leads_csv(Funnel::demand_waterfall(), &leads_csv[..], Options::new())
            .unwrap();
    g.throughput(Throughput::Bytes(events_csv.len() as u64));
    g.bench_function("read_stage_events_csv", |b| {
        b.iter(|| {
            let mut acc = FunnelEvents::default();
            acc.read_stage_events_csv(&lean, &events_csv[..], Options::new())
                .unwrap();
            black_box(acc.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
