//! Ground truth: scoring models against a known per-channel effect.
#![allow(clippy::print_stderr)]

use revops::synth::{SynthConfig, generate};
use revops::{
    Channel, Currency, Decimal, PathRow, attribution::ChannelConversions,
    attribution::JourneyOptions, attribution::Journeys, attribution::MarkovOptions,
    attribution::RuleModel, attribution::ShapleyOptions, attribution::TruthScore,
    attribution::markov_attribution, attribution::score_against_truth,
    attribution::shapley_attribution,
};

fn ch(s: &str) -> Channel {
    Channel::new(s).unwrap()
}

#[test]
fn hand_values() {
    let truth = [
        (ch("a"), 4.0),
        (ch("b"), 3.0),
        (ch("c"), 2.0),
        (ch("d"), 1.0),
    ];
    // the same split, scaled: perfect
    let scaled: Vec<_> = truth.iter().map(|(c, v)| (c.clone(), v * 2.5)).collect();
    let s = score_against_truth(&scaled, &truth).unwrap();
    assert!(s.l1_share_error.abs() < 1e-15);
    assert_eq!(s.rank_correlation, Some(1.0));
    // reversed: rho = -1; shares .1 .2 .3 .4 vs .4 .3 .2 .1 → L1 = .3+.1+.1+.3
    let rev: Vec<_> = truth.iter().map(|(c, v)| (c.clone(), 5.0 - v)).collect();
    let s = score_against_truth(&rev, &truth).unwrap();
    assert_eq!(s.rank_correlation, Some(-1.0));
    assert!((s.l1_share_error - 0.8).abs() < 1e-12);
    // disjoint channels: L1 = 2; ranks: model (1,1) on a,b, 0 on c,d; truth the opposite
    let s = score_against_truth(
        &[(ch("a"), 1.0), (ch("b"), 1.0)],
        &[(ch("c"), 1.0), (ch("d"), 3.0)],
    )
    .unwrap();
    assert!((s.l1_share_error - 2.0).abs() < 1e-12);
    // model ranks a,b = 3.5, c,d = 1.5; truth a,b = 1.5, c = 3, d = 4
    // centred: (1,1,-1,-1)·(-1,-1,.5,1.5) = -4; |m|² = 4, |t|² = 4.5 → -4/√18
    let rho = s.rank_correlation.unwrap();
    assert!((rho + 4.0 / 18f64.sqrt()).abs() < 1e-12, "{rho}");
    // duplicates are summed; one channel or constant side: no correlation
    let s = score_against_truth(&[(ch("a"), 1.0), (ch("a"), 1.0)], &[(ch("a"), 3.0)]).unwrap();
    assert_eq!((s.rank_correlation, s.l1_share_error), (None, 0.0));
    let s = score_against_truth(&[(ch("a"), 1.0), (ch("b"), 1.0)], &truth[..2]).unwrap();
    assert_eq!(s.rank_correlation, None);
    // an all-zero side has all shares 0
    let s = score_against_truth(&[(ch("a"), 0.0)], &truth).unwrap();
    assert!((s.l1_share_error - 1.0).abs() < 1e-12);
    // invalid amounts
    // negative credit is allowed (shares of the signed total)
    let s = score_against_truth(&[(ch("a"), 3.0), (ch("b"), -1.0)], &truth[..2]).unwrap();
    assert_eq!(s.channels[1].model_share, -0.5);
    assert!(score_against_truth(&[(ch("a"), f64::INFINITY)], &truth).is_err());
    assert!(score_against_truth(&truth, &[(ch("a"), f64::NAN)]).is_err());
}

fn check(name: &str, s: &TruthScore) {
    let signed = s.channels.iter().any(|c| c.model_share < 0.0);
    let top = if signed { 4.0 } else { 2.0 + 1e-12 };
    assert!(
        (0.0..=top).contains(&s.l1_share_error),
        "{name}: {}",
        s.l1_share_error
    );
    let rho = s
        .rank_correlation
        .unwrap_or_else(|| panic!("{name}: no rank correlation"));
    assert!((-1.0..=1.0).contains(&rho), "{name}: {rho}");
    let (m, t): (f64, f64) = s.channels.iter().fold((0.0, 0.0), |(m, t), c| {
        (m + c.model_share, t + c.true_share)
    });
    assert!(
        (m - 1.0).abs() < 1e-9 && (t - 1.0).abs() < 1e-9,
        "{name}: {m} {t}"
    );
}

/// Scores first, last, linear, (W-shaped), Markov and conversion-rate Shapley.
fn score_models(
    journeys: &Journeys,
    truth: &[(Channel, f64)],
    w_shaped: bool,
) -> Vec<(&'static str, TruthScore)> {
    let mut rules = vec![
        ("first", RuleModel::FirstTouch),
        ("last", RuleModel::LastTouch),
        ("linear", RuleModel::Linear),
    ];
    if w_shaped {
        rules.push(("w_shaped", RuleModel::WShaped));
    }
    let mut out = Vec::new();
    for (name, m) in rules {
        let a = journeys.attribute(&m).unwrap();
        out.push((
            name,
            score_against_truth(&a.channel_conversions(), truth).unwrap(),
        ));
    }
    let rows = journeys.path_rows();
    let markov = markov_attribution(&rows, MarkovOptions::default()).unwrap();
    out.push((
        "markov",
        score_against_truth(&markov.channel_conversions(), truth).unwrap(),
    ));
    let shapley = shapley_attribution(&rows, ShapleyOptions::default()).unwrap();
    out.push((
        "shapley",
        score_against_truth(&shapley.conversion_rate.channel_conversions(), truth).unwrap(),
    ));
    for (name, s) in &out {
        check(name, s);
    }
    out
}

fn print(title: &str, scores: &[(&str, TruthScore)]) {
    eprintln!("{title}\n{:<10} {:>8} {:>8}", "model", "spearman", "L1");
    for (name, s) in scores {
        eprintln!(
            "{name:<10} {:>8.3} {:>8.3}",
            s.rank_correlation.unwrap_or(f64::NAN),
            s.l1_share_error
        );
    }
}

fn get<'a>(scores: &'a [(&str, TruthScore)], name: &str) -> &'a TruthScore {
    &scores.iter().find(|(n, _)| *n == name).unwrap().1
}

fn rho(scores: &[(&str, TruthScore)], name: &str) -> f64 {
    get(scores, name).rank_correlation.unwrap()
}

fn set_based() -> Vec<(&'static str, TruthScore)> {
    set_based_seed(5)
}

fn set_based_seed(seed: u64) -> Vec<(&'static str, TruthScore)> {
    let company = generate(&SynthConfig::default().with_leads(20_000).with_seed(seed)).unwrap();
    let o = JourneyOptions::default();
    let journeys = Journeys::from_records(
        &company.touches,
        &company.conversions,
        &company.stage_events,
        &o,
    )
    .unwrap();
    let truth = company.truth.channel_conversions();
    let scores = score_models(&journeys, &truth, true);
    print(
        "set-based generator (synthetic company, 20,000 leads, seed 5)",
        &scores,
    );
    scores
}

/// A tiny order-dependent generator: each journey is 1–4 touches over 6 channels in
/// random order, and converts with the probability of its **last** touch's channel.
/// Path rows carry the expected conversions and nulls (fractional), so the truth is
/// exact: a channel's effect is the drop in expected conversions when its touches
/// are removed (the last remaining touch then decides; no touch, no conversion),
/// clamped at 0 (removing a weak closer can promote a stronger one).
fn order_dependent() -> (Journeys, Vec<(Channel, f64)>) {
    let names = ["ads", "email", "events", "search", "social", "webinar"];
    let q = [0.02, 0.05, 0.10, 0.20, 0.03, 0.30];
    let reach = [6.0, 5.0, 2.0, 3.0, 4.0, 1.5];
    let total_reach: f64 = reach.iter().sum();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut effect = [0.0f64; 6];
    let mut rows = Vec::new();
    for _ in 0..20_000 {
        let n = 1 + (next() * 4.0) as usize;
        let path: Vec<usize> = (0..n)
            .map(|_| {
                let mut u = next() * total_reach;
                let mut k = 0;
                while k + 1 < reach.len() && u >= reach[k] {
                    u -= reach[k];
                    k += 1;
                }
                k
            })
            .collect();
        let p = q[*path.last().unwrap()];
        for (c, e) in effect.iter_mut().enumerate() {
            if path.contains(&c) {
                let without = path.iter().rev().find(|&&k| k != c).map_or(0.0, |&k| q[k]);
                *e += p - without;
            }
        }
        rows.push(PathRow::new(
            path.iter().map(|&k| ch(names[k])).collect(),
            p,
            Decimal::ZERO,
            1.0 - p,
        ));
    }
    let truth = names
        .iter()
        .zip(effect)
        .map(|(n, e)| (ch(n), e.max(0.0)))
        .collect();
    (
        Journeys::from_path_rows(&rows, Currency::USD).unwrap(),
        truth,
    )
}

#[test]
fn models_against_the_set_based_and_order_dependent_generators() {
    let set = set_based();
    // Measured on seeds 1–5 (20,000 leads; seed 5 is asserted): conversion-rate
    // Shapley ranks the channels better than first touch every time (by 0.11–0.31);
    // W-shaped has the smallest L1 error of all six every time; first-order Markov
    // ranks worst or nearly (Spearman 0.06–0.15): removal effects follow how often a
    // channel sits on converting paths, not its lift.
    let (sh, first) = (rho(&set, "shapley"), rho(&set, "first"));
    assert!(sh > first + 0.1, "shapley {sh} vs first {first}");
    assert!(rho(&set, "markov") < sh);
    let w = get(&set, "w_shaped").l1_share_error;
    for (name, s) in &set {
        if *name != "w_shaped" {
            assert!(w < s.l1_share_error, "w_shaped {w} vs {name}");
        }
    }

    let (journeys, truth) = order_dependent();
    let ord = score_models(&journeys, &truth, false);
    print("order-dependent generator (last touch decides)", &ord);
    // Last touch is the right story here: it beats first touch, and it scores better
    // than on the set-based generator.
    let last = get(&ord, "last");
    assert!(rho(&ord, "last") > rho(&ord, "first"));
    assert!(last.l1_share_error < get(&ord, "first").l1_share_error);
    assert!(last.l1_share_error < get(&set, "last").l1_share_error);
    assert!(rho(&ord, "last") >= rho(&set, "last"));
}
