//! Distributions of durations: monoid laws, order independence, the sketch's
//! relative-error guarantee against exact order statistics, and histogram shape.

use chrono::TimeDelta;
use proptest::prelude::*;
use revops::error::ErrorKind;
use revops::{
    Error, distribution::BinRule, distribution::ExactDistribution, distribution::Histogram,
    distribution::QuantileAccuracy, distribution::QuantileSketch, distribution::Summary,
};

/// Three years of 365 days, in seconds.
const THREE_YEARS: f64 = 3.0 * 365.0 * 86_400.0;

/// Levels checked in every quantile comparison.
const LEVELS: [f64; 11] = [0.0, 0.01, 0.1, 0.25, 0.33, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0];

/// A duration between 1 s and 3 years, log-uniform (as lags are: many short, a long tail).
fn duration() -> impl Strategy<Value = u64> {
    (0.0f64..=1.0).prop_map(|u| THREE_YEARS.powf(u).round() as u64)
}

/// Mostly log-uniform durations, with some zeros and some exact ties.
fn value() -> impl Strategy<Value = u64> {
    prop_oneof![
        1 => Just(0u64),
        1 => prop::sample::select(vec![60u64, 3_600, 86_400, 604_800]),
        8 => duration(),
    ]
}

/// Values, each assigned to one of four partial accumulators (interleaved, not
/// only contiguous chunks).
fn split_values() -> impl Strategy<Value = Vec<(u64, usize)>> {
    prop::collection::vec((value(), 0usize..4), 0..400)
}

fn sketch(alpha: f64) -> QuantileSketch {
    QuantileSketch::with_relative_accuracy(alpha).expect("valid accuracy")
}

fn all_rules() -> Vec<BinRule> {
    vec![
        BinRule::fixed(3_600 * 6).expect("non-zero"),
        BinRule::Days,
        BinRule::Weeks,
        BinRule::Log2,
        BinRule::doubling(60).expect("non-zero"),
        BinRule::FreedmanDiaconis,
    ]
}

/// Bins are contiguous, counts add up to `count`, and the last bin is the only
/// one whose upper edge may hold a value.
fn check_shape(h: &Histogram, count: u64, min: u64, max: u64) {
    assert!(!h.bins.is_empty());
    assert_eq!(h.total(), count);
    for pair in h.bins.windows(2) {
        assert_eq!(
            pair[0].upper, pair[1].lower,
            "gap or overlap in {:?}",
            h.rule
        );
    }
    for bin in &h.bins {
        assert!(bin.lower < bin.upper, "empty bin in {:?}: {bin:?}", h.rule);
    }
    assert!(h.bins[0].lower <= min);
    let last = h.bins.last().expect("non-empty");
    assert!(max <= last.upper);
    // The bins holding min and max are the first and last ones.
    assert_eq!(h.bin_index(min), Some(0));
    assert_eq!(h.bin_index(max), Some(h.bins.len() - 1));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn exact_merge_of_any_split_equals_one_pass(items in split_values()) {
        let mut whole = ExactDistribution::default();
        let mut parts = vec![ExactDistribution::default(); 4];
        for &(x, part) in &items {
            whole.add(x);
            parts[part].add(x);
        }
        let mut forward = ExactDistribution::default();
        for p in &parts {
            forward.merge(p).unwrap();
        }
        // A different grouping and order: (3 + 1) + (2 + 0).
        let mut left = parts[3].clone();
        left.merge(&parts[1]).unwrap();
        let mut right = parts[2].clone();
        right.merge(&parts[0]).unwrap();
        left.merge(&right).unwrap();

        let want = whole.finish().unwrap();
        prop_assert_eq!(forward.finish().unwrap(), want);
        prop_assert_eq!(left.finish().unwrap(), want);
        for rule in all_rules() {
            let want = whole.histogram(rule).expect("few bins");
            prop_assert_eq!(&forward.histogram(rule).expect("few bins"), &want);
            prop_assert_eq!(&left.histogram(rule).expect("few bins"), &want);
        }
    }

    #[test]
    fn sketch_merge_of_any_split_equals_one_pass(
        items in split_values(),
        alpha in prop::sample::select(vec![0.005, 0.01, 0.05]),
    ) {
        let mut whole = sketch(alpha);
        let mut parts = vec![sketch(alpha); 4];
        for &(x, part) in &items {
            whole.add(x);
            parts[part].add(x);
        }
        let mut forward = sketch(alpha);
        for p in &parts {
            forward.merge(p).expect("same accuracy");
        }
        let mut left = parts[3].clone();
        left.merge(&parts[1]).expect("same accuracy");
        let mut right = parts[2].clone();
        right.merge(&parts[0]).expect("same accuracy");
        left.merge(&right).expect("same accuracy");

        // Identical bucket counts, zero count, count, sum, min, max…
        let buckets: Vec<(usize, u64)> = whole.buckets().collect();
        for merged in [&forward, &left] {
            prop_assert_eq!(merged, &whole);
            prop_assert_eq!(merged.buckets().collect::<Vec<_>>(), buckets.clone());
            prop_assert_eq!(merged.zero_count(), whole.zero_count());
            prop_assert_eq!(merged.sum(), whole.sum());
            // …hence identical quantiles, summaries and histograms.
            for q in LEVELS {
                prop_assert_eq!(merged.quantile(q).expect("valid level"), whole.quantile(q).expect("valid level"));
            }
            prop_assert_eq!(merged.finish().unwrap(), whole.finish().unwrap());
            for rule in all_rules() {
                prop_assert_eq!(merged.histogram(rule).expect("few bins"), whole.histogram(rule).expect("few bins"));
            }
        }
    }

    #[test]
    fn order_does_not_matter(
        (values, shuffled) in prop::collection::vec(value(), 0..300)
            .prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle()))
    ) {
        let a: ExactDistribution = values.iter().copied().collect();
        let b: ExactDistribution = shuffled.iter().copied().collect();
        prop_assert_eq!(a.finish().unwrap(), b.finish().unwrap());
        prop_assert_eq!(a.quantiles(&LEVELS).expect("valid"), b.quantiles(&LEVELS).expect("valid"));

        let s: QuantileSketch = values.iter().copied().collect();
        let t: QuantileSketch = shuffled.iter().copied().collect();
        prop_assert_eq!(&s, &t);
        prop_assert_eq!(s.finish().unwrap(), t.finish().unwrap());
        for rule in all_rules() {
            prop_assert_eq!(a.histogram(rule).expect("few bins"), b.histogram(rule).expect("few bins"));
            prop_assert_eq!(s.histogram(rule).expect("few bins"), t.histogram(rule).expect("few bins"));
        }
    }

    #[test]
    fn sketch_quantiles_are_within_alpha_of_the_lower_rank_order_statistic(
        values in prop::collection::vec(duration(), 1..2_000),
        alpha in prop::sample::select(vec![0.005, 0.01, 0.05]),
        extra in prop::collection::vec(0.0f64..=1.0, 5),
    ) {
        let mut s = sketch(alpha);
        s.add_batch(&values);
        let mut sorted = values.clone();
        sorted.sort_unstable();
        let n = sorted.len();
        for q in LEVELS.into_iter().chain(extra) {
            // The documented rank: ⌊q·(n − 1)⌋, computed in f64.
            let r = ((q * (n - 1) as f64).floor() as usize).min(n - 1);
            let want = sorted[r] as f64;
            let got = s.quantile(q).expect("valid level").expect("not empty");
            prop_assert!(
                // The documented bound, with its allowance for floating-point rounding.
                (got - want).abs() <= (alpha + 1e-13) * want,
                "alpha {}, q {}: sketch {} vs x[{}] = {}", alpha, q, got, r, want
            );
        }
        // The extremes are exact.
        prop_assert_eq!(s.quantile(0.0).expect("valid level"), Some(sorted[0] as f64));
        prop_assert_eq!(s.quantile(1.0).expect("valid level"), Some(sorted[n - 1] as f64));
        let summary = s.finish().unwrap().expect("not empty");
        prop_assert_eq!(summary.min, sorted[0]);
        prop_assert_eq!(summary.max, sorted[n - 1]);
        prop_assert_eq!(summary.count, n as u64);
        prop_assert_eq!(summary.accuracy, QuantileAccuracy::Relative { alpha });
        let exact: ExactDistribution = values.into();
        prop_assert_eq!(summary.mean, exact.finish().unwrap().expect("not empty").mean);
    }

    #[test]
    fn exact_histograms_put_every_value_in_exactly_one_bin(
        values in prop::collection::vec(value(), 1..300),
    ) {
        let d: ExactDistribution = values.iter().copied().collect();
        let min = *values.iter().min().expect("not empty");
        let max = *values.iter().max().expect("not empty");
        for rule in all_rules() {
            let h = d.histogram(rule).expect("few bins").expect("not empty");
            prop_assert_eq!(h.accuracy, QuantileAccuracy::Exact);
            check_shape(&h, values.len() as u64, min, max);
            // Recount by the documented membership rule, checking uniqueness by hand.
            let mut counts = vec![0u64; h.bins.len()];
            for &x in &values {
                let holders: Vec<usize> = h
                    .bins
                    .iter()
                    .enumerate()
                    .filter(|&(k, b)| {
                        b.lower <= x && (x < b.upper || (k + 1 == h.bins.len() && x == b.upper))
                    })
                    .map(|(k, _)| k)
                    .collect();
                prop_assert_eq!(holders.len(), 1, "{} in {:?}", x, rule);
                prop_assert_eq!(h.bin_index(x), Some(holders[0]));
                counts[holders[0]] += 1;
            }
            let got: Vec<u64> = h.bins.iter().map(|b| b.count).collect();
            prop_assert_eq!(got, counts);
            if rule == BinRule::FreedmanDiaconis {
                prop_assert!(h.bins.len() as u64 <= BinRule::FREEDMAN_DIACONIS_MAX_BINS);
            }
        }
    }

    #[test]
    fn sketch_histograms_are_contiguous_and_complete(
        values in prop::collection::vec(value(), 1..300),
        alpha in prop::sample::select(vec![0.005, 0.01, 0.05]),
    ) {
        let mut s = sketch(alpha);
        s.add_batch(&values);
        let min = *values.iter().min().expect("not empty");
        let max = *values.iter().max().expect("not empty");
        for rule in all_rules() {
            let h = s.histogram(rule).expect("few bins").expect("not empty");
            prop_assert_eq!(h.accuracy, QuantileAccuracy::Relative { alpha });
            check_shape(&h, values.len() as u64, min, max);
        }
    }
}

#[test]
fn exact_quantiles_match_hand_computed_type_7() -> Result<(), Error> {
    let d: ExactDistribution = [1, 2, 3, 4].into_iter().collect();
    let s = d.finish().unwrap().expect("not empty");
    assert_eq!((s.p25, s.median, s.p75), (1.75, 2.5, 3.25));
    assert_eq!(s.accuracy, QuantileAccuracy::Exact);
    // numpy.percentile([10, 20, 30, 40, 50], [10, 90]) == [14., 46.]
    let d: ExactDistribution = [50, 10, 40, 20, 30].into_iter().collect();
    assert_eq!(d.quantiles(&[0.1, 0.9])?, Some(vec![14.0, 46.0]));
    Ok(())
}

#[test]
fn empty_gives_none_everywhere() -> Result<(), Error> {
    let d = ExactDistribution::default();
    assert_eq!(d.finish().unwrap(), None);
    assert_eq!(d.quantile(0.5)?, None);
    assert_eq!(d.quantiles(&[0.1, 0.9])?, None);
    let s = QuantileSketch::default();
    assert_eq!(s.finish().unwrap(), None);
    assert_eq!(s.quantile(0.5)?, None);
    assert_eq!(s.buckets().count(), 0);
    for rule in all_rules() {
        assert_eq!(d.histogram(rule)?, None);
        assert_eq!(s.histogram(rule)?, None);
    }
    // Merging empties stays empty.
    let mut e = QuantileSketch::default();
    e.merge(&s)?;
    assert_eq!(e, s);
    assert!(e.is_empty() && e.count() == 0);
    Ok(())
}

#[test]
fn a_single_value_is_every_quantile() -> Result<(), Error> {
    for x in [0u64, 1, 59, 86_400, 94_608_000, u64::MAX] {
        let d: ExactDistribution = std::iter::once(x).collect();
        for alpha in [0.005, 0.01, 0.05] {
            let mut s = sketch(alpha);
            s.add(x);
            for summary in [d.finish().unwrap(), s.finish().unwrap()] {
                let summary: Summary = summary.expect("not empty");
                assert_eq!((summary.count, summary.min, summary.max), (1, x, x));
                let x = x as f64;
                assert_eq!(summary.mean, x);
                assert_eq!(
                    [summary.p25, summary.median, summary.p75, summary.p90],
                    [x; 4]
                );
            }
            for q in LEVELS {
                assert_eq!(d.quantile(q)?, Some(x as f64));
                assert_eq!(s.quantile(q)?, Some(x as f64));
            }
            for rule in all_rules() {
                let h = s.histogram(rule)?.expect("not empty");
                assert_eq!(h.bins.iter().filter(|b| b.count > 0).count(), 1);
                assert_eq!(h.bins.len(), 1, "{rule:?}");
                assert_eq!(d.histogram(rule)?.expect("not empty").bins, h.bins);
            }
        }
    }
    Ok(())
}

#[test]
fn durations_are_whole_non_negative_seconds() -> Result<(), Error> {
    let mut d = ExactDistribution::default();
    let mut s = QuantileSketch::default();
    for delta in [
        TimeDelta::zero(),
        TimeDelta::milliseconds(1_999),
        TimeDelta::days(30),
    ] {
        d.add_duration(delta)?;
        s.add_duration(delta)?;
    }
    assert_eq!(d.values(), &[0, 1, 2_592_000]);
    assert_eq!(s.count(), 3);
    assert_eq!(s.sum(), 2_592_001);
    for bad in [TimeDelta::seconds(-5), TimeDelta::nanoseconds(-1)] {
        assert!(matches!(
            d.add_duration(bad).as_ref().map_err(|e| e.kind()),
            Err(ErrorKind::InvalidParameter {
                name: "duration",
                ..
            })
        ));
        assert!(s.add_duration(bad).is_err());
    }
    assert_eq!((d.count(), s.count()), (3, 3));
    Ok(())
}

#[test]
fn summary_reports_days() {
    let day = 86_400;
    let d: ExactDistribution = [day, 3 * day, 5 * day, 7 * day, 9 * day]
        .into_iter()
        .collect();
    let s = d.finish().unwrap().expect("not empty");
    assert_eq!(s.min_days(), 1.0);
    assert_eq!(s.p25_days(), 3.0);
    assert_eq!(s.median_days(), 5.0);
    assert_eq!(s.p75_days(), 7.0);
    assert_eq!(s.p90_days(), 8.2);
    assert_eq!(s.max_days(), 9.0);
    assert_eq!(s.mean_days(), 5.0);
}

#[test]
fn sketch_histogram_is_close_to_the_exact_one() -> Result<(), Error> {
    // Values far from every bin edge (relative to α = 1 %) land in the same bins.
    let day = 86_400;
    let values: Vec<u64> = (0..200u64).map(|k| (k % 40) * day + day / 2).collect();
    let d: ExactDistribution = values.iter().copied().collect();
    let s: QuantileSketch = values.iter().copied().collect();
    for rule in [BinRule::Days, BinRule::Weeks, BinRule::Log2] {
        let exact = d.histogram(rule)?.expect("not empty");
        let sketched = s.histogram(rule)?.expect("not empty");
        // Every value is half a day from the nearest edge, more than 1 % of it.
        assert_eq!(exact.bins, sketched.bins, "{rule:?}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The accumulator contract (issue 15)
// ---------------------------------------------------------------------------

proptest! {
    #[test]
    fn exact_distribution_follows_the_contract(
        values in prop::collection::vec(value(), 0..300),
        cut in 0usize..300,
    ) {
        crate::contract::assert_contract(ExactDistribution::new, &values, cut, |o| *o);
    }

    #[test]
    fn quantile_sketch_follows_the_contract(
        values in prop::collection::vec(value(), 0..300),
        cut in 0usize..300,
        alpha in prop::sample::select(vec![0.001, 0.01, 0.05]),
    ) {
        crate::contract::assert_contract(|| sketch(alpha), &values, cut, |o| *o);
    }
}

#[test]
fn distribution_states_of_another_version_are_refused() {
    let d: ExactDistribution = [3, 1].into_iter().collect();
    let json = serde_json::to_string(&d).unwrap();
    assert_eq!(json, r#"{"version":1,"values":[3,1]}"#);
    let e =
        serde_json::from_str::<ExactDistribution>(r#"{"version":2,"values":[3,1]}"#).unwrap_err();
    assert!(e.to_string().contains("version 2 is not supported"), "{e}");
    assert!(serde_json::from_str::<ExactDistribution>("[3,1]").is_err());

    let s: QuantileSketch = [0, 5].into_iter().collect();
    let json = serde_json::to_string(&s).unwrap();
    assert!(json.starts_with(r#"{"version":1,"#), "{json}");
    let e = serde_json::from_str::<QuantileSketch>(&json.replacen(
        r#""version":1"#,
        r#""version":0"#,
        1,
    ))
    .unwrap_err();
    assert!(e.to_string().contains("version 0 is not supported"), "{e}");
}

#[test]
fn sketches_of_different_accuracy_do_not_merge() {
    let mut a = sketch(0.01);
    a.add(5);
    let before = a.clone();
    let mut b = sketch(0.02);
    b.add(7);
    let e = a.merge(&b).unwrap_err();
    assert!(
        matches!(e.kind(), revops::error::ErrorKind::MergeMismatch { .. }),
        "{e}"
    );
    assert!(e.to_string().contains("relative accuracy 0.02"), "{e}");
    assert_eq!(a, before);
}
