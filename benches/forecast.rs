//! Forecast accuracy on 1M inputs (elements/s):
//!
//! - calibration: 1M (outcome, probability) pairs, 10 % of them open; recording
//!   them, and the full report (Brier, log loss, ROC AUC, 10 uniform and 10
//!   quantile reliability bins);
//! - point-forecast errors: 1M points over 1 000 series (5 % without an actual),
//!   per series and pooled, and 1M raw pairs in one group.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use revops::{
    ForecastPoint, forecast::BinStrategy, forecast::Calibration, forecast::CalibrationOptions,
    forecast::ErrorOptions, forecast::ErrorStats, forecast::ForecastErrors, forecast::Outcome,
};

const N: usize = 1_000_000;
const SERIES: usize = 1_000;

/// A xorshift stream of uniform numbers in `[0, 1)`, from a fixed seed.
fn uniforms(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Probabilities rounded to 1e-4 (plenty of ties, as real scores have), with
/// outcomes drawn from them (calibrated), 10 % open.
fn predictions() -> Vec<(f64, Outcome)> {
    let mut u = uniforms(0x9e37_79b9_7f4a_7c15);
    (0..N)
        .map(|_| {
            let p = (u() * 10_000.0).round() / 10_000.0;
            let outcome = if u() < 0.1 {
                Outcome::Open
            } else if u() < p {
                Outcome::Won
            } else {
                Outcome::Lost
            };
            (p, outcome)
        })
        .collect()
}

/// Monthly bookings-like points: `SERIES` series of `N / SERIES` periods each, in
/// input order by period then series; forecasts within ±20 % of actuals.
fn points() -> Vec<ForecastPoint> {
    let mut u = uniforms(0x2545_f491_4f6c_dd1d);
    let names: Vec<String> = (0..SERIES).map(|s| format!("series-{s:04}")).collect();
    (0..N)
        .map(|i| {
            let (period, series) = (i / SERIES, i % SERIES);
            let actual = 1_000.0 + 100_000.0 * u();
            let forecast = actual * (0.8 + 0.4 * u());
            let actual = (u() >= 0.05).then_some(actual);
            ForecastPoint::new(
                names[series].clone(),
                format!("p{period:04}"),
                forecast,
                actual,
            )
        })
        .collect()
}

fn config(c: &mut Criterion) -> criterion::BenchmarkGroup<'_, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group("forecast_1m");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(N as u64));
    g
}

fn calibration(c: &mut Criterion) {
    let pairs = predictions();
    let uniform = CalibrationOptions::default();
    let full: Calibration = {
        let mut cal = Calibration::new(uniform).expect("valid bins");
        for &(p, o) in &pairs {
            cal.add_pair(p, o).expect("valid");
        }
        cal
    };
    let quantile = CalibrationOptions::default().with_strategy(BinStrategy::Quantile);

    let mut g = config(c);
    g.bench_function("calibration/add", |b| {
        b.iter(|| {
            let mut cal = Calibration::new(uniform).expect("valid bins");
            for &(p, o) in black_box(&pairs) {
                cal.add_pair(p, o).expect("valid");
            }
            cal
        })
    });
    // Brier + log loss + AUC + 10 uniform bins (one sort), then 10 quantile bins.
    g.bench_function("calibration/report", |b| {
        b.iter(|| {
            let cal = black_box(&full);
            let report = cal.finish().expect("valid bins");
            let q = cal.reliability_with(&quantile).expect("valid bins");
            (report, q)
        })
    });
    g.bench_function("calibration/add_and_report", |b| {
        b.iter(|| {
            let mut cal = Calibration::new(uniform).expect("valid bins");
            for &(p, o) in black_box(&pairs) {
                cal.add_pair(p, o).expect("valid");
            }
            let report = cal.finish().expect("valid bins");
            let q = cal.reliability_with(&quantile).expect("valid bins");
            (report, q)
        })
    });
    g.finish();
}

fn errors(c: &mut Criterion) {
    let points = points();
    let (forecasts, actuals): (Vec<f64>, Vec<f64>) = points
        .iter()
        .filter_map(|p| Some((p.forecast, p.actual?)))
        .unzip();
    let options = ErrorOptions::default();

    let mut g = config(c);
    g.bench_function("errors/points_per_series_and_pooled", |b| {
        b.iter(|| {
            let mut e = ForecastErrors::new(options);
            for p in black_box(&points) {
                e.add(p).expect("finite");
            }
            e.finish().expect("skip policy")
        })
    });
    g.bench_function("errors/add_all_per_series_and_pooled", |b| {
        b.iter(|| {
            ForecastErrors::from_points(black_box(&points), options)
                .expect("finite")
                .finish()
                .expect("skip policy")
        })
    });
    g.throughput(Throughput::Elements(forecasts.len() as u64));
    g.bench_function("errors/raw_pairs_one_group", |b| {
        b.iter(|| {
            ErrorStats::from_pairs(black_box(&forecasts), black_box(&actuals), options)
                .expect("finite")
                .finish()
                .expect("skip policy")
        })
    });
    g.finish();
}

criterion_group!(benches, calibration, errors);
criterion_main!(benches);
