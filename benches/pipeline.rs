//! Pipeline engine throughput on about one million opportunity changes from the
//! synthetic company (feature `synth`), in history rows per second:
//! - `intern`: validate and intern the rows into a `PipelineHistory`;
//! - `waterfall_quarter_rolling` / `waterfall_quarter_period`: one waterfall over the
//!   last full quarter of the history, with every deal's movements listed;
//! - `waterfall_quarter_rolling_totals`: the same without the movement list;
//! - `waterfall_24_months`: a rolling waterfall for every month of the history;
//! - `measures`: win rate, won cycle, slippage, coverage and roll-ups as of the end;
//! - `weighted_backtest`: configured and empirical weighting at the start of the last
//!   quarter against what closed by its end.
//!
//! Run alone with `cargo bench --features synth --bench pipeline`.

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use revops::synth::{Synth, SynthConfig};
use revops::{
    Calendar, Funnel, Granularity, Money, OpportunityChange, Window, pipeline::BacktestSpec,
    pipeline::PipelineHistory, pipeline::PipelineScope, pipeline::SalesCycleSpec,
    pipeline::WaterfallSpec, pipeline::WinRateSpec,
};
use std::hint::black_box;

const TARGET_ROWS: usize = 1_000_000;

/// About `TARGET_ROWS` history rows: the lead count is scaled from a small sample, so
/// the company spans its whole two years.
fn history_rows() -> (Vec<OpportunityChange>, Window) {
    let rows_of = |leads: u64| {
        let synth = Synth::new(SynthConfig::default().with_leads(leads).with_seed(7)).unwrap();
        let mut rows = Vec::new();
        for bundle in synth.leads() {
            rows.extend(bundle.opportunity_history);
        }
        (rows, synth.window())
    };
    let sample = 20_000u64;
    let per_lead = rows_of(sample).0.len() as f64 / sample as f64;
    rows_of((TARGET_ROWS as f64 / per_lead).ceil() as u64)
}

fn bench(c: &mut Criterion) {
    let (rows, window) = history_rows();
    let n = rows.len() as u64;
    let currency = rows[0].amount.currency();
    let funnel = Funnel::salesforce_opportunity();
    let history = PipelineHistory::new(funnel.clone(), currency, &rows).unwrap();
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "pipeline bench: {} history rows, {} opportunities",
            history.change_count(),
            history.len()
        );
    }

    let cal = Calendar::new();
    let last_day = (window.end() - chrono::TimeDelta::seconds(1)).date_naive();
    let quarter = cal.period_of_date(last_day, Granularity::Quarter).prev();
    let q = Window::for_period(&quarter, &cal);
    let months: Vec<Window> = cal
        .periods(window.start().date_naive(), last_day, Granularity::Month)
        .map(|m| Window::for_period(&m, &cal))
        .collect();

    let mut g = c.benchmark_group("pipeline");
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.throughput(Throughput::Elements(n));

    g.bench_function("intern", |b| {
        b.iter(|| {
            black_box(
                PipelineHistory::new(funnel.clone(), currency, black_box(&rows))
                    .unwrap()
                    .len(),
            )
        })
    });
    let rolling = WaterfallSpec::new(q.start(), q.end());
    g.bench_function("waterfall_quarter_rolling", |b| {
        b.iter(|| black_box(history.waterfall(&rolling).unwrap()))
    });
    let totals = rolling.clone().with_audit(revops::pipeline::Audit::Totals);
    g.bench_function("waterfall_quarter_rolling_totals", |b| {
        b.iter(|| black_box(history.waterfall(&totals).unwrap()))
    });
    let period = rolling
        .clone()
        .with_scope(PipelineScope::period(&quarter.next()));
    g.bench_function("waterfall_quarter_period", |b| {
        b.iter(|| black_box(history.waterfall(&period).unwrap()))
    });
    // The figure: the quarter's waterfall plus the calibration of every deal's
    // probability at the quarter's start against its state at the end.
    g.bench_function("waterfall_and_calibration", |b| {
        b.iter(|| {
            let w = history.waterfall(&rolling).unwrap();
            let mut cal = revops::forecast::Calibration::default();
            for i in 0..history.len() {
                let (Some(then), Some(now)) =
                    (history.state_at(i, q.start()), history.state_at(i, q.end()))
                else {
                    continue;
                };
                if let (true, Some(p)) = (then.is_open(), then.probability) {
                    cal.add_pair(p, now.outcome()).unwrap();
                }
            }
            black_box((w, cal.finish().unwrap()))
        })
    });
    g.bench_function("waterfall_24_months", |b| {
        b.iter(|| {
            for m in &months {
                black_box(
                    history
                        .waterfall(&WaterfallSpec::new(m.start(), m.end()))
                        .unwrap(),
                );
            }
        })
    });
    let as_of = window.end();
    let next = cal.period_of_date(last_day, Granularity::Quarter).next();
    let range = revops::DateRange::new(next.start(), next.last_day()).unwrap();
    g.bench_function("measures", |b| {
        b.iter(|| {
            black_box(history.win_rate(&WinRateSpec::new(as_of)).unwrap());
            black_box(history.sales_cycle(&SalesCycleSpec::new(as_of)).summary());
            black_box(history.slippage(&q).unwrap());
            black_box(
                history
                    .coverage(as_of, range, Money::zero(currency))
                    .unwrap(),
            );
            black_box(
                history
                    .forecast_rollup(as_of, PipelineScope::Period(range))
                    .unwrap(),
            )
        })
    });
    let backtest = BacktestSpec::new(q.start(), q.end());
    g.bench_function("weighted_backtest", |b| {
        b.iter(|| black_box(history.backtest_weighted(&backtest).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
