//! The whole report (every engine, as `examples/demo.rs` runs it) over a synthetic
//! company already in memory: 1M leads (about 8.2M input rows), with attribution on a
//! second thread (the default) and all on one thread; plus rendering to JSON and HTML.
//! The demo's end-to-end figure (generation included) is printed by
//! `cargo run --release --example demo -- --leads 1000000`.

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use revops::synth::{SynthConfig, generate};
use revops::{report::Report, report::ReportOptions};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let company = generate(&SynthConfig::default().with_leads(1_000_000).with_seed(7)).unwrap();
    let input = company.report_input();
    let mut g = c.benchmark_group("report");
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.throughput(Throughput::Elements(input.rows() as u64));
    g.bench_function("build_1m_leads_parallel", |b| {
        b.iter(|| black_box(Report::build(&input, &ReportOptions::default()).unwrap()))
    });
    g.bench_function("build_1m_leads_one_thread", |b| {
        b.iter(|| {
            black_box(
                Report::build(&input, &ReportOptions::default().with_parallel(false)).unwrap(),
            )
        })
    });
    let report = Report::build(&input, &ReportOptions::default()).unwrap();
    g.throughput(Throughput::Elements(1));
    g.bench_function("render_json_and_html", |b| {
        b.iter(|| black_box((report.to_json().unwrap().len(), report.to_html().len())))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
