//! Unit tests of the distribution kernels: hand-computed quantiles, sketch buckets, bin layouts.

use super::histogram::Layout;
use super::select::{DoublingEdges, order_statistics};
use super::*;
use crate::error::ErrorKind;

fn exact(values: &[u64]) -> ExactDistribution {
    values.iter().copied().collect()
}

#[test]
fn type7_hand_computed_four_values() {
    // Sorted 1, 2, 3, 4; h = 3q.
    let s = exact(&[3, 1, 4, 2]).finish().unwrap().unwrap();
    assert_eq!(s.p25, 1.75); // h = 0.75: 1 + 0.75 · 1
    assert_eq!(s.median, 2.5); // h = 1.5
    assert_eq!(s.p75, 3.25); // h = 2.25
    assert_eq!(s.p90, 3.7); // h = 2.7
    assert_eq!(s.mean, 2.5);
    assert_eq!((s.min, s.max, s.count), (1, 4, 4));
}

#[test]
fn type7_hand_computed_uneven_gaps() {
    // Sorted 1, 3, 7, 15, 42, 100; h = 5q.
    let s = exact(&[7, 1, 100, 15, 3, 42]).finish().unwrap().unwrap();
    assert_eq!(s.p25, 4.0); // h = 1.25: 3 + 0.25 · (7 − 3)
    assert_eq!(s.median, 11.0); // h = 2.5: 7 + 0.5 · (15 − 7)
    assert_eq!(s.p75, 35.25); // h = 3.75: 15 + 0.75 · (42 − 15)
    assert_eq!(s.p90, 71.0); // h = 4.5: 42 + 0.5 · (100 − 42)
}

#[test]
fn type7_hand_computed_odd_count_and_ties() {
    // Sorted 5, 5, 5, 9, 20; h = 4q.
    let d = exact(&[9, 5, 20, 5, 5]);
    assert_eq!(d.quantile(0.25).unwrap(), Some(5.0)); // h = 1: x[1]
    assert_eq!(d.quantile(0.5).unwrap(), Some(5.0)); // h = 2: x[2]
    assert_eq!(d.quantile(0.6).unwrap(), Some(6.6)); // h = 2.4: 5 + 0.4 · 4
    // h = 3.6: 9 + 0.6 · 11 = 15.6, up to rounding (NumPy gives 15.600000000000001 too).
    let p90 = d.quantile(0.9).unwrap().unwrap();
    assert!((p90 - 15.6).abs() < 1e-12);
    assert_eq!(d.quantile(0.0).unwrap(), Some(5.0));
    assert_eq!(d.quantile(1.0).unwrap(), Some(20.0));
}

#[test]
fn type7_hand_computed_ten_values() {
    // 1..=10; h = 9q. NumPy: percentile(range(1, 11), [10, 25, 75, 90]).
    let d: ExactDistribution = (1..=10).collect();
    assert_eq!(
        d.quantiles(&[0.1, 0.25, 0.75, 0.9]).unwrap(),
        Some(vec![1.9, 3.25, 7.75, 9.1])
    );
}

#[test]
fn order_statistics_agree_with_a_sort() {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut values: Vec<u64> = (0..1_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % 500
        })
        .collect();
    let mut sorted = values.clone();
    sorted.sort_unstable();
    let ranks = [0, 1, 2, 250, 251, 500, 998, 999];
    let got = order_statistics(&mut values, &ranks);
    let want: Vec<u64> = ranks.iter().map(|&r| sorted[r]).collect();
    assert_eq!(got, want);
}

#[test]
fn invalid_levels_and_durations_are_errors() {
    let d = exact(&[1, 2]);
    let s: QuantileSketch = [1, 2].into_iter().collect();
    for q in [-0.1, 1.1, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            d.quantile(q).as_ref().map_err(|e| e.kind()),
            Err(ErrorKind::InvalidParameter { name: "q", .. })
        ));
        assert!(matches!(
            s.quantile(q).as_ref().map_err(|e| e.kind()),
            Err(ErrorKind::InvalidParameter { name: "q", .. })
        ));
    }
    assert!(d.quantiles(&[0.5, 2.0]).is_err());
    // Invalid levels are errors even on an empty distribution.
    assert!(ExactDistribution::default().quantile(-1.0).is_err());
    let mut d = ExactDistribution::default();
    let err = d.add_duration(TimeDelta::milliseconds(-1)).unwrap_err();
    assert!(matches!(
        err.kind(),
        ErrorKind::InvalidParameter {
            name: "duration",
            ..
        }
    ));
    assert!(d.is_empty());
}

#[test]
fn sketch_buckets_follow_the_definition() {
    let s = QuantileSketch::default();
    let gamma = 1.01 / 0.99;
    assert_eq!(s.bucket_of(1), 0);
    assert_eq!(s.bucket_of(2), 2_f64.log(gamma).ceil() as usize);
    for x in [2u64, 3, 60, 3_600, 86_400, 94_608_000, u64::MAX] {
        let i = s.bucket_of(x) as i32;
        let (lo, hi) = (gamma.powi(i - 1), gamma.powi(i));
        let x = x as f64;
        assert!(
            lo < x * (1.0 + 1e-12) && x <= hi * (1.0 + 1e-12),
            "{x} in ({lo}, {hi}]"
        );
    }
}

#[test]
fn representative_is_within_alpha_of_the_bucket() {
    let mut s = QuantileSketch::with_relative_accuracy(0.05).unwrap();
    s.add(1);
    s.add(u64::MAX);
    for x in [1u64, 2, 7, 100, 12_345, 9_999_999, 1 << 40] {
        let v = s.representative(s.bucket_of(x));
        assert!(
            (v - x as f64).abs() <= (0.05 + 1e-13) * x as f64,
            "{x}: {v}"
        );
    }
}

#[test]
fn every_small_integer_is_within_alpha_of_its_representative() {
    for alpha in [
        0.005,
        0.01,
        0.05,
        QuantileSketch::MIN_RELATIVE_ACCURACY,
        0.5,
    ] {
        let mut s = QuantileSketch::with_relative_accuracy(alpha).unwrap();
        s.add_batch(&[1, u64::MAX]); // so that clamping to [min, max] never helps
        let check = |x: u64| {
            let v = s.representative(s.bucket_of(x));
            let x = x as f64;
            assert!((v - x).abs() <= (alpha + 1e-13) * x, "α {alpha}: {x} → {v}");
        };
        (1..200_000).for_each(check);
        // Integers next to bucket boundaries γ^i, up to the top of the range.
        let ln_gamma = s.ln_gamma;
        for i in 1..=s.bucket_of(u64::MAX) {
            let edge = (i as f64 * ln_gamma).exp();
            if edge < 1.8e19 {
                let e = edge as u64;
                for x in [e.saturating_sub(1), e, e.saturating_add(1)] {
                    check(x.max(1));
                }
            }
        }
    }
}

#[test]
fn sketch_grows_downwards_without_losing_counts() {
    let mut s = QuantileSketch::default();
    for x in (1..=5_000u64).rev() {
        s.add(x * 1_000);
    }
    let total: u64 = s.buckets().map(|(_, c)| c).sum();
    assert_eq!(total, 5_000);
    let mut ascending = QuantileSketch::default();
    ascending.extend((1..=5_000u64).map(|x| x * 1_000));
    assert_eq!(s, ascending);
    assert!(s.bins.len() < 2 * (s.bucket_of(5_000_000) - s.bucket_of(1_000) + 1));
}

#[test]
fn layouts_map_values_to_their_edges() {
    let day = SECONDS_PER_DAY;
    let log2 = Layout::new(BinRule::Log2, 0, u64::MAX, 1, 0.0);
    for (x, bin, lower, upper) in [
        (0, 0, 0, day),
        (day - 1, 0, 0, day),
        (day, 1, day, 2 * day),
        (3 * day, 2, 2 * day, 4 * day),
        (4 * day, 3, 4 * day, 8 * day),
        (u64::MAX, 48, day << 47, u64::MAX),
    ] {
        assert_eq!(log2.bin(x), bin, "{x}");
        assert_eq!((log2.lower(bin), log2.upper(bin)), (lower, upper), "{x}");
    }
    let weeks = Layout::new(BinRule::Weeks, 0, 0, 1, 0.0);
    assert_eq!(weeks.bin(7 * day - 1), 0);
    assert_eq!(weeks.bin(7 * day), 1);
    let fixed = Layout::new(BinRule::fixed(10).unwrap(), 0, 0, 1, 0.0);
    assert_eq!(fixed.upper(u64::MAX / 10), u64::MAX);
}

#[test]
fn freedman_diaconis_width_and_cap() {
    // 8 values, IQR = 8: width 2 · 8 / 2 = 8; span 0..=30 gives 4 bins.
    match Layout::new(BinRule::FreedmanDiaconis, 0, 30, 8, 8.0) {
        Layout::FromMin { start, width, bins } => assert_eq!((start, width, bins), (0, 8, 4)),
        other => panic!("{other:?}"),
    }
    // IQR 0: width 1 s, widened to ⌈span / 200⌉.
    match Layout::new(BinRule::FreedmanDiaconis, 100, 100_100, 1_000, 0.0) {
        Layout::FromMin { width, bins, .. } => assert_eq!((width, bins), (500, 200)),
        other => panic!("{other:?}"),
    }
    // A single distinct value: one bin of one second.
    match Layout::new(BinRule::FreedmanDiaconis, 7, 7, 3, 0.0) {
        Layout::FromMin { width, bins, .. } => assert_eq!((width, bins), (1, 1)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn histograms_at_the_top_of_the_range_include_the_maximum() {
    let d = exact(&[u64::MAX - 5, u64::MAX]);
    for rule in [
        BinRule::fixed(7).unwrap(),
        BinRule::Days,
        BinRule::Log2,
        BinRule::FreedmanDiaconis,
    ] {
        let h = d.histogram(rule).unwrap().unwrap();
        assert_eq!(h.bins.last().unwrap().upper, u64::MAX, "{rule:?}");
        assert_eq!(h.bin_index(u64::MAX), Some(h.bins.len() - 1), "{rule:?}");
        assert_eq!(h.total(), 2);
    }
}

#[test]
fn too_many_bins_is_an_error() {
    let d = exact(&[0, 1_000_000]);
    let err = d.histogram(BinRule::fixed(1).unwrap()).unwrap_err();
    assert!(matches!(
        err.kind(),
        ErrorKind::InvalidParameter { name: "rule", .. }
    ));
    let s: QuantileSketch = [0, 1_000_000].into_iter().collect();
    assert!(s.histogram(BinRule::fixed(1).unwrap()).is_err());
    assert_eq!(
        d.histogram(BinRule::fixed(100).unwrap())
            .unwrap()
            .unwrap()
            .bins
            .len(),
        10_001
    );
}

#[test]
fn merging_different_accuracies_is_an_error_and_changes_nothing() {
    let mut a: QuantileSketch = [1, 2, 3].into_iter().collect();
    let before = a.clone();
    let mut b = QuantileSketch::with_relative_accuracy(0.02).unwrap();
    b.add(4);
    let err = a.merge(&b).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::MergeMismatch { .. }),
        "{err}"
    );
    assert_eq!(a, before);
    for alpha in [0.0, 1e-5, 1.0, -0.1, f64::NAN, f64::INFINITY] {
        assert!(
            QuantileSketch::with_relative_accuracy(alpha).is_err(),
            "{alpha}"
        );
    }
    assert!(QuantileSketch::with_relative_accuracy(QuantileSketch::MIN_RELATIVE_ACCURACY).is_ok());
}

#[test]
fn sketch_serde_round_trips_and_checks() {
    let mut s = QuantileSketch::with_relative_accuracy(0.02).unwrap();
    s.add_batch(&[0, 0, 5, 3_600, 86_400, 1 << 62]);
    let json = serde_json::to_string(&s).unwrap();
    let back: QuantileSketch = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
    assert_eq!(back.finish().unwrap(), s.finish().unwrap());

    let empty = QuantileSketch::default();
    let json = serde_json::to_string(&empty).unwrap();
    assert_eq!(
        json,
        r#"{"version":1,"relative_accuracy":0.01,"count":0,"sum":0,"min":null,"max":null,"zero_count":0,"first_bucket":0,"buckets":[]}"#
    );
    assert_eq!(
        serde_json::from_str::<QuantileSketch>(&json).unwrap(),
        empty
    );

    for bad in [
        // count disagrees with the buckets
        r#"{"version":1,"relative_accuracy":0.01,"count":3,"sum":2,"min":1,"max":1,"zero_count":0,"first_bucket":0,"buckets":[2]}"#,
        // max not in the last bucket
        r#"{"version":1,"relative_accuracy":0.01,"count":2,"sum":2,"min":1,"max":1,"zero_count":0,"first_bucket":0,"buckets":[1,0,1]}"#,
        // bad accuracy
        r#"{"version":1,"relative_accuracy":2,"count":0,"sum":0,"min":null,"max":null,"zero_count":0,"first_bucket":0,"buckets":[]}"#,
        // zeros counted but min > 0
        r#"{"version":1,"relative_accuracy":0.01,"count":2,"sum":1,"min":1,"max":1,"zero_count":1,"first_bucket":0,"buckets":[1]}"#,
        // buckets past the top of the u64 range
        r#"{"version":1,"relative_accuracy":0.01,"count":1,"sum":1,"min":1,"max":1,"zero_count":0,"first_bucket":18446744073709551615,"buckets":[1]}"#,
        // sum out of range
        r#"{"version":1,"relative_accuracy":0.01,"count":1,"sum":9,"min":1,"max":1,"zero_count":0,"first_bucket":0,"buckets":[1]}"#,
    ] {
        assert!(
            serde_json::from_str::<QuantileSketch>(bad).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn serde_shapes_of_the_small_types() {
    assert_eq!(
        serde_json::to_string(&QuantileAccuracy::Exact).unwrap(),
        r#""exact""#
    );
    assert_eq!(
        serde_json::to_string(&QuantileAccuracy::Relative { alpha: 0.01 }).unwrap(),
        r#"{"relative":{"alpha":0.01}}"#
    );
    assert_eq!(serde_json::to_string(&BinRule::Log2).unwrap(), r#""log2""#);
    assert_eq!(
        serde_json::to_string(&BinRule::fixed(3_600).unwrap()).unwrap(),
        r#"{"fixed":{"width_seconds":3600}}"#
    );
    assert!(serde_json::from_str::<BinRule>(r#"{"fixed":{"width_seconds":0}}"#).is_err());
    let d = exact(&[3, 1]);
    assert_eq!(
        serde_json::to_string(&d).unwrap(),
        r#"{"version":1,"values":[3,1]}"#
    );
    let s = d.finish().unwrap().unwrap();
    let back: Summary = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    assert_eq!(back, s);
}

#[test]
fn summarize_matches_finish_and_histogram() {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let rules = [
        BinRule::Log2,
        BinRule::Days,
        BinRule::fixed(3_600).unwrap(),
        BinRule::doubling(60).unwrap(),
        BinRule::FreedmanDiaconis,
        BinRule::fixed(1).unwrap(), // too many bins for the wide spans
    ];
    // Sizes on both sides of the radix threshold; narrow spans (one value per
    // bucket), wide spans, heavy ties and a long tail.
    for n in [1, 2, 7, 511, 512, 513, 4_000, 70_000] {
        for shape in 0..5 {
            let values: Vec<u64> = (0..n)
                .map(|_| match shape {
                    0 => next() % 1_000,
                    1 => next() % (90 * 86_400),
                    2 => [0, 5, 86_400][(next() % 3) as usize],
                    3 => (next() % 50) * (next() % 50) * (next() % 86_400),
                    _ => 1_000_000 + next() % 40_000_000,
                })
                .collect();
            for rule in rules {
                let d = ExactDistribution::from(values.clone());
                let want = (d.finish().unwrap(), d.histogram(rule));
                let got = ExactDistribution::from(values.clone()).summarize(rule);
                if let Ok(mut narrow) = values
                    .iter()
                    .map(|&v| u32::try_from(v))
                    .collect::<Result<Vec<u32>, _>>()
                {
                    assert_eq!(
                        summarize(&mut narrow, rule),
                        got,
                        "u32: n {n}, shape {shape}, {rule:?}"
                    );
                }
                match (want, got) {
                    ((Some(s), Ok(Some(h))), Ok(Some((s2, h2)))) => {
                        assert_eq!((s, h), (s2, h2), "n {n}, shape {shape}, {rule:?}");
                    }
                    ((_, Err(e)), Err(e2)) => assert_eq!(e, e2),
                    (w, g) => panic!("n {n}, shape {shape}, {rule:?}: {w:?} vs {g:?}"),
                }
            }
        }
    }
    assert_eq!(
        ExactDistribution::default().summarize(BinRule::Log2),
        Ok(None)
    );
}

#[test]
fn doubling_edges_agree_with_the_layout() {
    for unit in [1, 2, 3, 60, 86_400, 1 << 40, u64::MAX / 3, u64::MAX] {
        let layout = Layout::Doubling { unit };
        let edges = DoublingEdges::new(unit);
        let mut probes = vec![0, 1, 2, u64::MAX - 1, u64::MAX];
        for k in 0..64 {
            if let Some(e) = unit.checked_mul(1 << k) {
                probes.extend([e - 1, e, e.saturating_add(1)]);
            }
            probes.push(1 << k);
            probes.push((1 << k) - 1);
        }
        for x in probes {
            assert_eq!(edges.bin(x), layout.bin(x), "unit {unit}, x {x}");
        }
    }
}
