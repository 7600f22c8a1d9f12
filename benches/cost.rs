//! Unit economics per channel for one million synthetic leads and twelve months of
//! spend: funnel counts by lead source, spend aligned to months, the joined table, and
//! sourced vs influenced pipeline.

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use revops::synth::{SynthConfig, generate};
use revops::{
    Currency, Funnel, cost::CostGrouping, cost::Credits, cost::InfluenceMilestone, cost::SourcedBy,
    cost::SpendAlignment, cost::align_spend, cost::sourcing_report, cost::unit_economics,
    funnel::FunnelData, funnel::FunnelEvents, funnel::PathOptions,
};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let company = generate(
        &SynthConfig::default()
            .with_leads(1_000_000)
            .with_months(12)
            .with_seed(7),
    )
    .unwrap();
    let mut g = c.benchmark_group("cost");
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.throughput(Throughput::Elements(company.leads.len() as u64));
    g.bench_function("unit_economics_1m_leads", |b| {
        b.iter(|| {
            let data = FunnelData::new(Funnel::demand_waterfall(), &company.leads).unwrap();
            let mut acc = FunnelEvents::default();
            acc.add_batch(&data, &company.stage_events).unwrap();
            let paths = acc.paths(&data, PathOptions::default());
            let spend =
                align_spend(&company.spend, &SpendAlignment::monthly(Currency::USD)).unwrap();
            let credits = Credits::from_lead_source(
                &data,
                &paths,
                &["mql", "sql", "won"],
                &company.conversions,
                Currency::USD,
                CostGrouping::default(),
            )
            .unwrap();
            black_box(unit_economics(&spend, &credits).unwrap())
        })
    });
    g.bench_function("sourced_influenced_1m_leads", |b| {
        b.iter(|| {
            black_box(
                sourcing_report(
                    &company.opportunities,
                    &company.leads,
                    &company.touches,
                    SourcedBy::LeadSource,
                    InfluenceMilestone::Created,
                    Currency::USD,
                )
                .unwrap(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
