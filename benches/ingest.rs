//! CSV ingest throughput: the stage events and touches of about a million leads,
//! generated in memory by a small deterministic generator, written with revops' own
//! writers into a byte buffer, then read back from `&[u8]` (rows/s and MB/s).

use chrono::{DateTime, TimeZone, Utc};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use revops::csv::{CsvRecord, Options, Reader, Writer};
use revops::{CampaignId, Channel, Currency, Money, StageEvent, SubjectId, Touch};
use std::hint::black_box;

const LEADS: u64 = 1_000_000;

/// SplitMix64: deterministic and good enough for shaping benchmark data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn start_of_2026() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

fn seconds(n: u64) -> chrono::TimeDelta {
    chrono::TimeDelta::seconds(i64::try_from(n).unwrap())
}

/// Each lead walks 3 to 6 stages of the demand waterfall, days apart:
/// `L0000123,mql,2026-03-04T10:11:12Z` (≈4.5 rows per lead).
fn stage_events() -> (Vec<u8>, u64) {
    const STAGES: [&str; 6] = ["inquiry", "mql", "sal", "sql", "opportunity", "won"];
    let mut rng = Rng(7);
    let mut w =
        Writer::<StageEvent, _>::new(Vec::with_capacity(200 << 20), Options::new()).unwrap();
    let mut rows = 0;
    for lead in 0..LEADS {
        let subject = SubjectId::new(format!("L{lead:07}")).unwrap();
        let mut at = start_of_2026() + seconds(rng.below(365 * 86_400));
        for stage in &STAGES[..3 + rng.below(4) as usize] {
            w.write(&StageEvent::new(subject.clone(), *stage, at))
                .unwrap();
            at += seconds(3_600 + rng.below(20 * 86_400));
            rows += 1;
        }
    }
    (w.finish().unwrap(), rows)
}

/// Three touches per lead over eight channels; two thirds carry a campaign and one
/// third a cost: `L0000123,paid_search,spring_03,2026-03-04T10:11:12Z,1.25,USD`.
fn touches() -> (Vec<u8>, u64) {
    const CHANNELS: [&str; 8] = [
        "paid_search",
        "organic_search",
        "paid_social",
        "email",
        "webinar",
        "events",
        "content_syndication",
        "outbound",
    ];
    let channels: Vec<Channel> = CHANNELS.iter().map(|c| Channel::new(c).unwrap()).collect();
    let campaigns: Vec<CampaignId> = (0..24)
        .map(|i| CampaignId::new(format!("campaign_{i:02}")).unwrap())
        .collect();
    let mut rng = Rng(11);
    let mut w = Writer::<Touch, _>::new(Vec::with_capacity(200 << 20), Options::new()).unwrap();
    let mut rows = 0;
    for lead in 0..LEADS {
        let subject = SubjectId::new(format!("L{lead:07}")).unwrap();
        let mut at = start_of_2026() + seconds(rng.below(365 * 86_400));
        for _ in 0..3 {
            let mut t = Touch::new(subject.clone(), channels[rng.below(8) as usize].clone(), at);
            if rng.below(3) > 0 {
                t.campaign = Some(campaigns[rng.below(24) as usize].clone());
            }
            if rng.below(3) == 0 {
                let cents = i128::from(50 + rng.below(5_000));
                t.cost = Some(Money::from_minor_units(cents, Currency::USD).unwrap());
            }
            w.write(&t).unwrap();
            at += seconds(60 + rng.below(5 * 86_400));
            rows += 1;
        }
    }
    (w.finish().unwrap(), rows)
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

    let (data, rows) = stage_events();
    g.throughput(Throughput::ElementsAndBytes {
        elements: rows,
        bytes: data.len() as u64,
    });
    g.bench_function("stage_events", |b| {
        b.iter(|| assert_eq!(read_all::<StageEvent>(black_box(&data)), rows))
    });
    drop(data);

    let (data, rows) = touches();
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
