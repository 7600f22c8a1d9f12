//! Data-driven attribution: exact first-order Markov on the ChannelAttribution
//! sample (if present) and on 1M synthetic journeys over 10 channels (1–8 touches,
//! mean 4.5) aggregated into path rows; conversion-rate Shapley over 12 channels.

use std::collections::HashMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use revops::{
    Channel, Decimal, PathRow, attribution::MarkovCounts, attribution::MarkovOptions,
    attribution::ShapleyCounts, attribution::ShapleyOptions, attribution::ShapleyUniverse,
};

const JOURNEYS: usize = 1_000_000;

/// xorshift64* — tiny, seeded, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Journeys as flat channel indices with lengths 1–8 (uniform: mean 4.5), channels
/// drawn by popularity; a journey converts with a probability that grows with the
/// distinct channels it touched, and converted journeys carry a value in cents.
struct Journeys {
    touches: Vec<u8>,
    lengths: Vec<u8>,
    converted: Vec<bool>,
    cents: Vec<i64>,
}

fn journeys(n: usize, channels: usize, seed: u64) -> Journeys {
    let mut rng = Rng(seed);
    let popularity: Vec<f64> = (0..channels).map(|i| 1.0 / (1.0 + i as f64)).collect();
    let total: f64 = popularity.iter().sum();
    let lift: Vec<f64> = (0..channels)
        .map(|i| 0.01 + 0.03 * ((i * 7) % channels) as f64 / channels as f64)
        .collect();
    let mut j = Journeys {
        touches: Vec::with_capacity(n * 5),
        lengths: Vec::with_capacity(n),
        converted: Vec::with_capacity(n),
        cents: Vec::with_capacity(n),
    };
    let mut seen = vec![false; channels];
    for _ in 0..n {
        let len = 1 + rng.below(8) as usize;
        seen.iter_mut().for_each(|s| *s = false);
        let mut p = 0.02;
        for _ in 0..len {
            let mut u = rng.unit() * total;
            let mut c = 0;
            while c + 1 < channels && u >= popularity[c] {
                u -= popularity[c];
                c += 1;
            }
            if !seen[c] {
                seen[c] = true;
                p += lift[c];
            }
            j.touches.push(c as u8);
        }
        j.lengths.push(len as u8);
        let conv = rng.unit() < p;
        j.converted.push(conv);
        j.cents.push(if conv {
            1_000 + rng.below(99_000) as i64
        } else {
            0
        });
    }
    j
}

/// Conversions, value in cents and nulls of one path.
type Tally = (f64, i64, f64);

/// Aggregates journeys into path rows (`paths.csv` style).
fn aggregate(j: &Journeys, names: &[Channel]) -> Vec<PathRow> {
    let mut map: HashMap<&[u8], Tally> = HashMap::new();
    let mut at = 0;
    for (i, &len) in j.lengths.iter().enumerate() {
        let path = &j.touches[at..at + len as usize];
        at += len as usize;
        let e = map.entry(path).or_default();
        if j.converted[i] {
            e.0 += 1.0;
            e.1 += j.cents[i];
        } else {
            e.2 += 1.0;
        }
    }
    let mut rows: Vec<(&[u8], Tally)> = map.into_iter().collect();
    rows.sort_unstable_by(|a, b| a.0.cmp(b.0));
    rows.into_iter()
        .map(|(path, (c, cents, n))| {
            PathRow::new(
                path.iter().map(|&i| names[i as usize].clone()).collect(),
                c,
                Decimal::new(cents, 2),
                n,
            )
        })
        .collect()
}

fn names(n: usize) -> Vec<Channel> {
    (0..n)
        .map(|i| Channel::new(format!("channel_{i:02}")).unwrap())
        .collect()
}

/// The ChannelAttribution sample, parsed directly (`;` fields, `>` channels).
fn channelattribution_rows() -> Option<Vec<PathRow>> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/attribution/channelattribution_Data.csv");
    let text = std::fs::read_to_string(&p).ok()?;
    let rows = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(';').collect();
            PathRow::new(
                f[0].split('>').map(|c| Channel::new(c).unwrap()).collect(),
                f[1].trim().parse().unwrap(),
                Decimal::from_str(f[2].trim()).unwrap(),
                f[3].trim().parse().unwrap(),
            )
        })
        .collect();
    Some(rows)
}

fn markov(rows: &[PathRow], options: MarkovOptions) -> revops::attribution::MarkovReport {
    let mut counts = MarkovCounts::new(options).unwrap();
    counts.add_batch(rows).unwrap();
    counts.finish().unwrap()
}

fn config<'a>(
    c: &'a mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    g
}

fn channelattribution(c: &mut Criterion) {
    let Some(rows) = channelattribution_rows() else {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("skipping: channelattribution_Data.csv not found");
        }
        return;
    };
    let mut g = config(c, "markov_channelattribution_10k_rows");
    g.bench_function("exact_order1", |b| {
        b.iter(|| markov(black_box(&rows), MarkovOptions::default()))
    });
    g.bench_function("exact_order2", |b| {
        b.iter(|| markov(black_box(&rows), MarkovOptions::default().with_order(2)))
    });
    g.finish();
}

fn synthetic(c: &mut Criterion) {
    let names = names(10);
    let j = journeys(JOURNEYS, 10, 0x5eed_0001);
    let rows = aggregate(&j, &names);
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "1M journeys over 10 channels: {} touches, {} distinct paths",
            j.touches.len(),
            rows.len()
        );
    }
    let mut g = config(c, "markov_1m_journeys_10_channels");
    g.bench_function("aggregate_to_path_rows", |b| {
        b.iter(|| aggregate(black_box(&j), &names))
    });
    g.bench_function("exact_order1", |b| {
        b.iter(|| markov(black_box(&rows), MarkovOptions::default()))
    });
    let mut counts = MarkovCounts::default();
    counts.add_batch(&rows).unwrap();
    g.bench_function("exact_order1_solve_only", |b| {
        b.iter(|| black_box(&counts).finish().unwrap())
    });
    g.bench_function("exact_order2", |b| {
        b.iter(|| markov(black_box(&rows), MarkovOptions::default().with_order(2)))
    });
    g.finish();
}

fn shapley(c: &mut Criterion) {
    let names = names(12);
    let j = journeys(JOURNEYS, 12, 0x5eed_0002);
    let rows = aggregate(&j, &names);
    let per_set = ShapleyOptions::default();
    let all = per_set.with_universe(ShapleyUniverse::AllChannels);
    let mut tally = ShapleyCounts::new(per_set).unwrap();
    tally.add_batch(&rows).unwrap();
    let mut tally_all = ShapleyCounts::new(all).unwrap();
    tally_all.add_batch(&rows).unwrap();
    #[allow(clippy::print_stderr)]
    {
        let r = tally.conversion_rate().unwrap();
        eprintln!(
            "12 channels: {} distinct paths, {} games (per journey set)",
            rows.len(),
            r.games
        );
    }
    let mut g = config(c, "shapley_12_channels");
    g.bench_function("tally_path_rows", |b| {
        b.iter(|| {
            let mut t = ShapleyCounts::new(per_set).unwrap();
            t.add_batch(black_box(&rows)).unwrap();
            t
        })
    });
    g.bench_function("conversion_rate_per_journey_set", |b| {
        b.iter(|| black_box(&tally).conversion_rate().unwrap())
    });
    g.bench_function("conversion_rate_all_channels", |b| {
        b.iter(|| black_box(&tally_all).conversion_rate().unwrap())
    });
    g.bench_function("all_models", |b| {
        b.iter(|| black_box(&tally).finish().unwrap())
    });
    g.finish();
}

criterion_group!(benches, channelattribution, synthetic, shapley);
criterion_main!(benches);
