//! Attribution end to end (issue targets on one core):
//!
//! - `end_to_end/1M`: 1M journeys over 10 channels (1–8 touches, mean 4.5) as
//!   `touches.csv` + `conversions.csv` bytes in memory → parsed straight into a
//!   `JourneyBuilder` (`read_touches_csv`, `read_conversions_csv`) → journeys cut in
//!   place (`into_journeys`) → every standard rule model but the milestone ones (no
//!   stage events), in one pass (`attribute_all`) → journeys aggregated by path into
//!   exact first-order Markov (`MarkovCounts::from_journeys`). Target ≤ 0.7 s and
//!   ≤ 150 MB above the input. The one-off run prints each step's wall and CPU time
//!   (CPU time separates the work from waiting on a busy machine) and RSS.
//! - `shapley/conversion_rate_12`: conversion-rate Shapley over 12 channels from the
//!   path rows of 1M journeys. Target ≤ 0.5 s.
//! - Streaming 10M journeys over 500 channels into `MarkovCounts` and
//!   `ShapleyCounts`, path rows generated on the fly. Target < 1 GB. It runs once
//!   (printed, not sampled) when `REVOPS_BENCH_STREAM=1`, first, so that the process's
//!   peak memory is its own.
//!
//! `REVOPS_BENCH_E2E_ONCE=1` stops after the one-off end-to-end run (for profiling).
//! Peak memory is read from `/proc/self/status` (`VmHWM`, reset through
//! `/proc/self/clear_refs` where the kernel allows it); elsewhere it prints `n/a`.
#![allow(clippy::print_stderr)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use revops::csv::{Options, Writer};
use revops::{
    Channel, Conversion, Currency, Decimal, Money, PathRow, SubjectId, Touch,
    attribution::JourneyBuilder, attribution::MarkovCounts, attribution::MarkovOptions,
    attribution::RuleModel, attribution::ShapleyCounts, attribution::ShapleyOptions,
};

const JOURNEYS: usize = 1_000_000;

/// splitmix64: seeded and tiny.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One journey: 1–8 touches (uniform, mean 4.5) on channels drawn with weight
/// `1/(1+i)` (via a cumulative table); it converts with a probability growing with
/// the number of distinct channels touched.
struct Gen {
    rng: Rng,
    cumulative: Vec<f64>,
}

impl Gen {
    fn new(channels: usize, seed: u64) -> Gen {
        let mut acc = 0.0;
        let cumulative = (0..channels)
            .map(|i| {
                acc += 1.0 / (1.0 + i as f64);
                acc
            })
            .collect();
        Gen {
            rng: Rng(seed),
            cumulative,
        }
    }

    /// Fills `path` with channel indices; returns whether the journey converted.
    fn journey(&mut self, path: &mut Vec<usize>) -> bool {
        path.clear();
        let n = 1 + self.rng.below(8);
        let total = *self.cumulative.last().expect("channels");
        for _ in 0..n {
            let u = self.rng.unit() * total;
            path.push(
                self.cumulative
                    .partition_point(|&c| c <= u)
                    .min(self.cumulative.len() - 1),
            );
        }
        let mut distinct = path.clone();
        distinct.sort_unstable();
        distinct.dedup();
        self.rng.unit() < 0.02 + 0.03 * distinct.len() as f64
    }
}

fn channels(n: usize) -> Vec<Channel> {
    (0..n)
        .map(|i| Channel::new(format!("ch{i:03}")).unwrap())
        .collect()
}

/// `touches.csv` and `conversions.csv` of 1M journeys over 10 channels.
fn csv_bytes() -> (Vec<u8>, Vec<u8>) {
    let chs = channels(10);
    let mut g = Gen::new(10, 42);
    let start: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut touches = Writer::<Touch, _>::new(Vec::new(), Options::new()).unwrap();
    let mut conversions = Writer::<Conversion, _>::new(Vec::new(), Options::new()).unwrap();
    let mut path = Vec::new();
    for s in 0..JOURNEYS {
        let subject = SubjectId::new(format!("S{s:07}")).unwrap();
        let converted = g.journey(&mut path);
        let mut at = start + TimeDelta::minutes(g.rng.below(60 * 24 * 300) as i64);
        for &c in &path {
            at += TimeDelta::minutes(1 + g.rng.below(60 * 24 * 5) as i64);
            touches
                .write(&Touch::new(subject.clone(), chs[c].clone(), at))
                .unwrap();
        }
        if converted {
            let value = Money::from_minor_units(g.rng.below(1_000_000) as i128, Currency::USD);
            conversions
                .write(&Conversion::new(
                    subject,
                    at + TimeDelta::hours(1),
                    Some(value.unwrap()),
                ))
                .unwrap();
        }
    }
    (touches.finish().unwrap(), conversions.finish().unwrap())
}

/// Parse straight into a journey builder (rows streamed, never held as records),
/// build journeys, the nine standard rule models that need no stage events (in one
/// pass), path rows and exact first-order Markov. With `phases`, prints the time of
/// each step.
fn end_to_end(touches: &[u8], conversions: &[u8], phases: bool) -> f64 {
    let t = Instant::now();
    let cpu0 = cpu_seconds();
    let lap = |label: &str| {
        if phases {
            let cpu = match (cpu0, cpu_seconds()) {
                (Some(a), Some(b)) => format!(", cpu {:.3} s", b - a),
                _ => String::new(),
            };
            let rss = memory().map_or(String::new(), |(rss, peak)| {
                format!(", RSS {rss:.0} MB (peak {peak:.0} MB)")
            });
            eprintln!("  {label}: {:.3} s{cpu}{rss}", t.elapsed().as_secs_f64());
        }
    };
    let mut b = JourneyBuilder::default();
    b.read_touches_csv(touches, Options::new()).unwrap();
    b.read_conversions_csv(conversions, Options::new()).unwrap();
    lap("read");
    let journeys = b.into_journeys().unwrap();
    lap("build");
    // the milestone models (U, W, full path) need stage events, which these inputs
    // (touches and conversions only) do not have
    let models: Vec<RuleModel> = RuleModel::standard()
        .into_iter()
        .filter(|m| m.milestone_weights().is_none())
        .collect();
    let total: f64 = journeys
        .attribute_all(&models)
        .unwrap()
        .iter()
        .map(|a| a.attributed_conversions())
        .sum();
    lap("rule models");
    // exact first-order Markov over the journeys aggregated by path (the rows
    // `journeys.path_rows()` would give, without building them)
    let markov = MarkovCounts::from_journeys(&journeys, MarkovOptions::default()).unwrap();
    lap(&format!(
        "aggregate paths + Markov counts ({} paths)",
        markov.rows()
    ));
    drop(journeys);
    let markov = markov.finish().unwrap();
    lap("markov solve");
    total + markov.p_conversion
}

/// Path rows of 1M journeys over 12 channels, aggregated.
fn rows_12() -> Vec<PathRow> {
    let chs = channels(12);
    let mut g = Gen::new(12, 7);
    let mut agg: std::collections::HashMap<Vec<usize>, (f64, f64)> = Default::default();
    let mut path = Vec::new();
    for _ in 0..JOURNEYS {
        let converted = g.journey(&mut path);
        let e = agg.entry(path.clone()).or_default();
        if converted {
            e.0 += 1.0;
        } else {
            e.1 += 1.0;
        }
    }
    let mut rows: Vec<PathRow> = agg
        .into_iter()
        .map(|(p, (c, n))| {
            PathRow::new(
                p.iter().map(|&i| chs[i].clone()).collect(),
                c,
                Decimal::ZERO,
                n,
            )
        })
        .collect();
    rows.sort_by(|a, b| a.path.cmp(&b.path));
    rows
}

/// `(VmRSS, VmHWM)` in MB, if `/proc/self/status` is there.
fn memory() -> Option<(f64, f64)> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb = |key: &str| -> Option<f64> {
        let line = s.lines().find(|l| l.starts_with(key))?;
        let v: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(v / 1024.0)
    };
    Some((kb("VmRSS:")?, kb("VmHWM:")?))
}

/// CPU time of this thread so far (from `/proc/thread-self/schedstat`), if there:
/// on a busy machine it separates the work from the waiting.
fn cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

/// Resets the peak (`VmHWM`) to the current RSS; false where not allowed.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn once(label: &str, f: impl FnOnce() -> f64) {
    let reset = reset_peak();
    let before = memory();
    let cpu = cpu_seconds();
    let t = Instant::now();
    black_box(f());
    let secs = t.elapsed().as_secs_f64();
    if let (Some(a), Some(b)) = (cpu, cpu_seconds()) {
        eprintln!("{label}: cpu {:.3} s", b - a);
    }
    match (before, memory()) {
        (Some((rss, _)), Some((_, peak))) if reset => eprintln!(
            "{label}: {secs:.3} s once; peak RSS {peak:.0} MB, {:.0} MB above the {rss:.0} MB before",
            peak - rss
        ),
        (_, Some((_, peak))) => eprintln!(
            "{label}: {secs:.3} s once; process peak RSS {peak:.0} MB (peak reset not allowed)"
        ),
        _ => eprintln!("{label}: {secs:.3} s once; memory n/a"),
    }
}

/// 10M journeys over 500 channels, one pass, path rows made on the fly (one
/// reused row per journey) into both accumulators.
fn stream_10m() -> f64 {
    let chs = channels(500);
    let mut g = Gen::new(500, 2026);
    let mut markov = MarkovCounts::new(MarkovOptions::default()).unwrap();
    let mut shapley = ShapleyCounts::new(ShapleyOptions::default()).unwrap();
    let mut path = Vec::new();
    let mut row = PathRow::new(Vec::with_capacity(8), 0.0, Decimal::ZERO, 0.0);
    for _ in 0..10 * JOURNEYS {
        let converted = g.journey(&mut path);
        row.path.clear();
        row.path.extend(path.iter().map(|&i| chs[i].clone()));
        (row.conversions, row.nulls) = if converted { (1.0, 0.0) } else { (0.0, 1.0) };
        markov.add(&row).unwrap();
        shapley.add(&row).unwrap();
    }
    let m = markov.finish().unwrap();
    eprintln!(
        "stream_10m: {} Markov rows, {} Shapley rows, P(conversion) {:.4}",
        markov.rows(),
        shapley.rows(),
        m.p_conversion
    );
    m.p_conversion + shapley.simplified().total_conversions
}

fn bench(c: &mut Criterion) {
    if std::env::var_os("REVOPS_BENCH_STREAM").is_some_and(|v| v == "1") {
        once("stream_10m_500_channels", stream_10m);
    }
    let (touches, conversions) = csv_bytes();
    eprintln!(
        "input: touches.csv {:.0} MB, conversions.csv {:.0} MB",
        touches.len() as f64 / 1e6,
        conversions.len() as f64 / 1e6
    );
    once("end_to_end_1m", || end_to_end(&touches, &conversions, true));
    if std::env::var_os("REVOPS_BENCH_E2E_ONCE").is_some_and(|v| v == "1") {
        return; // profiling: the one end-to-end run only
    }

    let mut g = c.benchmark_group("attribution");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    g.bench_function("end_to_end/1M", |b| {
        b.iter(|| black_box(end_to_end(&touches, &conversions, false)))
    });
    drop((touches, conversions));

    let rows = rows_12();
    once("shapley_conversion_rate_12", || {
        let mut s = ShapleyCounts::new(ShapleyOptions::default()).unwrap();
        s.add_batch(&rows).unwrap();
        let r = s.conversion_rate().unwrap();
        r.credits.total_conversions
    });
    g.bench_function("shapley/conversion_rate_12", |b| {
        b.iter(|| {
            let mut s = ShapleyCounts::new(ShapleyOptions::default()).unwrap();
            s.add_batch(&rows).unwrap();
            black_box(s.conversion_rate().unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
