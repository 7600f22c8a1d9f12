//! Rule-based attribution on one million converting journeys (10 channels, 1–8
//! touches each, mean 4.5; lead and opportunity stage events for the milestone
//! models):
//! - `journeys/from_records`: interning and cutting touches, conversions and stage
//!   events into journeys (parse-free aggregation);
//! - `rules/<model>`: credited conversions and value per channel and campaign, the
//!   fast path; `rules/all_standard`: the twelve standard models one after another;
//! - `revenue/<model>`: the same plus exact revenue split per conversion;
//! - `touch_credits/linear`: streaming every per-touch row (with revenue);
//! - `path_rows`: aggregating the journeys into `paths.csv` rows;
//!   `journeys/from_path_rows`: those rows back into journeys.

use std::hint::black_box;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use revops::{
    CampaignId, Channel, Conversion, Currency, Money, StageEvent, SubjectId, Touch,
    attribution::JourneyOptions, attribution::Journeys, attribution::RuleModel,
};

const SUBJECTS: usize = 1_000_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Data {
    touches: Vec<Touch>,
    conversions: Vec<Conversion>,
    events: Vec<StageEvent>,
}

fn data() -> Data {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let channels: Vec<Channel> = [
        "direct",
        "search",
        "social",
        "email",
        "display",
        "webinar",
        "events",
        "referral",
        "affiliate",
        "video",
    ]
    .iter()
    .map(|c| Channel::new(c).unwrap())
    .collect();
    let campaigns: Vec<CampaignId> = ["spring", "summer", "brand"]
        .iter()
        .map(|c| CampaignId::new(c).unwrap())
        .collect();
    let start: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut d = Data {
        touches: Vec::with_capacity(SUBJECTS * 9 / 2),
        conversions: Vec::with_capacity(SUBJECTS),
        events: Vec::with_capacity(SUBJECTS * 3 / 2),
    };
    for s in 0..SUBJECTS {
        let subject = SubjectId::new(format!("S{s:08}")).unwrap();
        let n = 1 + rng.below(8) as usize;
        let mut at = start + TimeDelta::hours(rng.below(24 * 300) as i64);
        let lead = rng.below(n as u64) as usize;
        let opportunity = (rng.below(2) == 0).then(|| lead + rng.below((n - lead) as u64) as usize);
        for k in 0..n {
            at += TimeDelta::hours(1 + rng.below(24 * 10) as i64);
            let mut t = Touch::new(
                subject.clone(),
                channels[rng.below(channels.len() as u64) as usize].clone(),
                at,
            );
            let c = rng.below(4) as usize;
            if c < campaigns.len() {
                t.campaign = Some(campaigns[c].clone());
            }
            d.touches.push(t);
            if k == lead {
                d.events.push(StageEvent::new(
                    subject.clone(),
                    "inquiry",
                    at + TimeDelta::minutes(5),
                ));
            }
            if opportunity == Some(k) {
                d.events.push(StageEvent::new(
                    subject.clone(),
                    "opportunity",
                    at + TimeDelta::minutes(10),
                ));
            }
        }
        let value =
            Money::from_minor_units(i128::from(rng.below(5_000_000)), Currency::USD).unwrap();
        d.conversions.push(Conversion::new(
            subject,
            at + TimeDelta::hours(1),
            Some(value),
        ));
    }
    d
}

fn bench(c: &mut Criterion) {
    let d = data();
    let options = JourneyOptions::default();
    let touches = d.touches.len() as u64;

    let mut g = c.benchmark_group("attribution_rules");
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.throughput(Throughput::Elements(touches));

    g.bench_function("journeys/from_records", |b| {
        b.iter(|| {
            black_box(
                Journeys::from_records(&d.touches, &d.conversions, &d.events, &options)
                    .unwrap()
                    .len(),
            )
        })
    });
    let journeys = Journeys::from_records(&d.touches, &d.conversions, &d.events, &options).unwrap();
    drop(d);

    let models = RuleModel::standard();
    for m in &models {
        g.bench_function(format!("rules/{}", m.name()), |b| {
            b.iter(|| black_box(journeys.attribute(m).unwrap()))
        });
    }
    g.bench_function("rules/all_standard", |b| {
        b.iter(|| {
            for m in &models {
                black_box(journeys.attribute(m).unwrap());
            }
        })
    });
    for m in [RuleModel::FirstTouch, RuleModel::Linear, RuleModel::WShaped] {
        g.bench_function(format!("revenue/{}", m.name()), |b| {
            b.iter(|| black_box(journeys.attribute_with_revenue(&m).unwrap()))
        });
    }
    let linear = RuleModel::Linear;
    g.bench_function("touch_credits/linear", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for row in journeys.touch_credits(&linear).unwrap() {
                n += usize::from(row.unwrap().credit > 0.0);
            }
            black_box(n)
        })
    });
    g.bench_function("path_rows", |b| {
        b.iter(|| black_box(journeys.path_rows().len()))
    });
    let rows = journeys.path_rows();
    g.bench_function("journeys/from_path_rows", |b| {
        b.iter(|| {
            black_box(
                Journeys::from_path_rows(black_box(&rows), Currency::USD)
                    .unwrap()
                    .len(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
