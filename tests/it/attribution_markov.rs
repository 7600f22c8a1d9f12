//! Data-driven attribution: exact Markov removal effects (against the
//! ChannelAttribution oracle and hand-solved chains) and the Shapley family
//! (hand-computed games and the game-theoretic properties).

use proptest::prelude::*;
use revops::error::ErrorKind;
use revops::{
    Channel, Currency, Decimal, Money, PathRow, attribution::MarkovCounts,
    attribution::MarkovNulls, attribution::MarkovOptions, attribution::MarkovRepeats,
    attribution::MarkovState, attribution::MarkovStepLimit, attribution::ShapleyCounts,
    attribution::ShapleyMethod, attribution::ShapleyOptions, attribution::ShapleyUniverse,
    attribution::markov_attribution, attribution::shapley_attribution,
};

fn row(path: &str, conversions: f64, nulls: f64) -> PathRow {
    PathRow::new(
        path.split('>').map(|c| Channel::new(c).unwrap()).collect(),
        conversions,
        Decimal::ZERO,
        nulls,
    )
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1e-300) || (a - b).abs() < 1e-300
}

// ---------------------------------------------------------------- oracle

#[cfg(feature = "csv")]
mod oracle {
    use std::fs::File;

    use revops::csv::{Options, Reader};
    use revops::{
        Currency, Decimal, Money, PathRow, attribution::MarkovOptions,
        attribution::markov_attribution,
    };

    use crate::fixtures::{oracle, shared};

    fn rel_err(got: f64, want: f64) -> f64 {
        if want == 0.0 {
            got.abs()
        } else {
            ((got - want) / want).abs()
        }
    }

    #[test]
    fn channelattribution_data_matches_exact_oracle() {
        let Some(data) = shared("attribution/channelattribution_Data.csv") else {
            return;
        };
        let rows: Vec<PathRow> = Reader::<PathRow, _>::new(
            File::open(data).unwrap(),
            Options::new().with_delimiter(b';'),
        )
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
        let oracle: serde_json::Value =
            serde_json::from_str(&oracle("attribution_channelattribution_data.json")).unwrap();
        assert_eq!(
            rows.len() as f64,
            oracle["totals"]["rows"].as_f64().unwrap()
        );

        let report = markov_attribution(&rows, MarkovOptions::default()).unwrap();
        let m = &oracle["markov_order1_exact"];
        assert_eq!(
            report.total_conversions,
            oracle["totals"]["conversions"].as_f64().unwrap()
        );
        assert_eq!(
            report.total_nulls,
            oracle["totals"]["null"].as_f64().unwrap()
        );

        let mut worst = [0.0f64; 4];
        worst[0] = rel_err(report.p_conversion, m["p_conversion"].as_f64().unwrap());
        let channels = m["channels"].as_object().unwrap();
        assert_eq!(report.channels.len(), channels.len());
        for (name, want) in channels {
            let got = report.channel(name).unwrap();
            for (k, (g, key)) in [
                (got.removal_effect, "removal_effect"),
                (got.conversions, "attributed_conversions"),
                (got.value, "attributed_value_re_share"),
            ]
            .into_iter()
            .enumerate()
            {
                let e = rel_err(g, want[key].as_f64().unwrap());
                worst[k + 1] = worst[k + 1].max(e);
            }
        }
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "markov oracle max relative error: p_conversion {:.1e}, removal_effect {:.1e}, \
                 conversions {:.1e}, value {:.1e}",
                worst[0], worst[1], worst[2], worst[3]
            );
        }
        assert!(worst.iter().all(|&e| e < 1e-6), "{worst:?}");

        // Exact money: the parts sum to the total value to the last decimal.
        let parts = report.value_split(Currency::USD).unwrap();
        let sum: Decimal = parts.iter().map(Money::amount).sum();
        assert_eq!(sum, report.total_value);
        for (p, c) in parts.iter().zip(&report.channels) {
            let exact = c.value;
            assert!((p.amount().to_string().parse::<f64>().unwrap() - exact).abs() < 0.01);
        }

        // The ChannelAttribution default step limit is reported and only lowers P.
        let limited = markov_attribution(
            &rows,
            MarkovOptions::default()
                .with_step_limit(revops::attribution::MarkovStepLimit::LongestPath),
        )
        .unwrap();
        assert!(limited.step_limit.is_some());
        assert!(limited.p_conversion <= report.p_conversion + 1e-15);
    }
}

// ---------------------------------------------------------------- Markov by hand

#[test]
fn three_channel_chain_matches_hand_solution() {
    // start → a 1/2, b 1/4, c 1/4; a → b 1/3, conv 1/6, null 1/6, c 1/3;
    // b → conv 1/2, a 1/2; c → conv 1/4, null 3/4.
    // x_a = 1/2, x_b = 3/4, x_c = 1/4, P = 1/2.
    // Without a: 3/16; without b: 3/16; without c: 3/8.
    let rows = [
        row("a>b", 2.0, 0.0),
        row("b>a", 1.0, 1.0),
        row("c", 0.0, 2.0),
        row("a>c", 1.0, 1.0),
    ];
    let r = markov_attribution(&rows, MarkovOptions::default()).unwrap();
    assert!(close(r.p_conversion, 0.5, 1e-14));
    let want = [
        ("a", 5.0 / 8.0, 3.0 / 16.0, 5.0 / 3.0),
        ("b", 5.0 / 8.0, 3.0 / 16.0, 5.0 / 3.0),
        ("c", 1.0 / 4.0, 3.0 / 8.0, 2.0 / 3.0),
    ];
    for (name, re, without, conv) in want {
        let c = r.channel(name).unwrap();
        assert!(close(c.removal_effect, re, 1e-14), "{name}: {c:?}");
        assert!(
            close(c.p_conversion_without, without, 1e-14),
            "{name}: {c:?}"
        );
        assert!(close(c.conversions, conv, 1e-14), "{name}: {c:?}");
    }
    // States and transition matrix
    assert_eq!(r.states.len(), 6);
    assert_eq!(r.states[0], MarkovState::Start);
    assert_eq!(r.states[1].to_string(), "a");
    let m = r.transition_matrix();
    assert!(close(m[1][2], 1.0 / 3.0, 1e-15)); // a → b
    assert!(close(m[1][4], 1.0 / 6.0, 1e-15)); // a → conversion
    for row in &m {
        assert!(close(row.iter().sum::<f64>(), 1.0, 1e-15));
    }
}

#[test]
fn order_two_chain_matches_hand_solution() {
    // states (a,b), (b,c); start → each 1/2; (a,b) → (b,c) 1/2, null 1/2;
    // (b,c) → conv 2/3. P = 1/2. Without a: 1/3; without b or c: 0.
    let rows = [
        row("a>b>c", 1.0, 0.0),
        row("a>b", 0.0, 1.0),
        row("b>c", 1.0, 1.0),
    ];
    let r = markov_attribution(&rows, MarkovOptions::default().with_order(2)).unwrap();
    assert!(close(r.p_conversion, 0.5, 1e-14));
    assert_eq!(r.states.len(), 5);
    assert_eq!(r.states[1].to_string(), "a > b");
    for (name, re, conv) in [
        ("a", 1.0 / 3.0, 2.0 / 7.0),
        ("b", 1.0, 6.0 / 7.0),
        ("c", 1.0, 6.0 / 7.0),
    ] {
        let c = r.channel(name).unwrap();
        assert!(close(c.removal_effect, re, 1e-14), "{name}: {c:?}");
        assert!(close(c.conversions, conv, 1e-14), "{name}: {c:?}");
    }
}

#[test]
fn step_limit_truncates_walks_by_hand() {
    // start → a; a → conv, b, null 1/3 each; b → a. Unlimited P = 1/2.
    // Within 3 states: a·conv + a·b·a·conv = 1/3 + 1/9 = 4/9.
    let rows = [row("a", 1.0, 0.0), row("a>b>a", 0.0, 1.0)];
    let p =
        |limit| markov_attribution(&rows, MarkovOptions::default().with_step_limit(limit)).unwrap();
    let unlimited = p(MarkovStepLimit::Unlimited);
    assert!(close(unlimited.p_conversion, 0.5, 1e-14));
    assert!(close(
        unlimited.channel("b").unwrap().removal_effect,
        1.0 / 3.0,
        1e-14
    ));
    assert!(close(
        p(MarkovStepLimit::Steps(1)).p_conversion,
        1.0 / 3.0,
        1e-14
    ));
    assert!(close(
        p(MarkovStepLimit::Steps(2)).p_conversion,
        1.0 / 3.0,
        1e-14
    ));
    let three = p(MarkovStepLimit::Steps(3));
    assert!(close(three.p_conversion, 4.0 / 9.0, 1e-14));
    assert!(close(
        three.channel("b").unwrap().removal_effect,
        0.25,
        1e-14
    ));
    assert!(close(
        three.channel("a").unwrap().removal_effect,
        1.0,
        1e-14
    ));
    // Longest path has 3 states: ChannelAttribution's default limit is 4.
    let longest = p(MarkovStepLimit::LongestPath);
    assert_eq!(longest.step_limit, Some(4));
    assert!(close(longest.p_conversion, 4.0 / 9.0, 1e-14));
    assert!(close(
        p(MarkovStepLimit::Steps(5)).p_conversion,
        13.0 / 27.0,
        1e-14
    ));
}

#[test]
fn repeat_policies() {
    let rows = [
        row("a>a>b", 1.0, 1.0),
        row("b>b", 0.0, 1.0),
        row("a", 1.0, 0.0),
    ];
    let collapse = markov_attribution(&rows, MarkovOptions::default()).unwrap();
    let keep = markov_attribution(
        &rows,
        MarkovOptions::default().with_repeats(MarkovRepeats::Keep),
    )
    .unwrap();
    // Self-loops appear only when kept ...
    let self_loops = |r: &revops::attribution::MarkovReport| {
        r.transitions.iter().filter(|t| t.from == t.to).count()
    };
    assert_eq!(self_loops(&collapse), 0);
    assert_eq!(self_loops(&keep), 2);
    // ... and do not change any absorption probability.
    assert!(close(collapse.p_conversion, keep.p_conversion, 1e-14));
    for (c, k) in collapse.channels.iter().zip(&keep.channels) {
        assert!(close(c.removal_effect, k.removal_effect, 1e-14));
    }
    // At order 2, collapsing channels first removes the (a, a) window.
    let o2 = MarkovOptions::default().with_order(2);
    let windows = markov_attribution(&rows, o2).unwrap();
    let channels_first =
        markov_attribution(&rows, o2.with_repeats(MarkovRepeats::CollapseChannels)).unwrap();
    let labels = |r: &revops::attribution::MarkovReport| -> Vec<String> {
        r.states.iter().map(ToString::to_string).collect()
    };
    assert!(labels(&windows).contains(&"a > a".to_string()));
    assert!(!labels(&channels_first).contains(&"a > a".to_string()));
    assert!(labels(&channels_first).contains(&"b".to_string()));
}

#[test]
fn excluding_nulls_uses_conversions_only() {
    let rows = [row("a>b", 1.0, 5.0), row("c", 0.0, 9.0), row("b", 1.0, 0.0)];
    let r = markov_attribution(
        &rows,
        MarkovOptions::default().with_nulls(MarkovNulls::Exclude),
    )
    .unwrap();
    assert!(close(r.p_conversion, 1.0, 1e-15));
    assert_eq!(r.channel("c").unwrap().removal_effect, 0.0);
    assert_eq!(r.channel("c").unwrap().conversions, 0.0);
    assert!(close(r.channel("b").unwrap().removal_effect, 1.0, 1e-15));
    assert_eq!(r.total_nulls, 14.0);
}

#[test]
fn channel_only_on_null_journeys_can_feed_conversions() {
    // x > a never converts, a alone does: the first-order chain lets x lead to a.
    // start → x 1/2, a 1/2; x → a; a → conv 1/2. P = 1/2; without x: 1/4.
    let rows = [row("x>a", 0.0, 1.0), row("a", 1.0, 0.0)];
    let r = markov_attribution(&rows, MarkovOptions::default()).unwrap();
    assert!(close(r.channel("x").unwrap().removal_effect, 0.5, 1e-15));
    // Counting converting journeys only, x is on none: exactly 0.
    let r = markov_attribution(
        &rows,
        MarkovOptions::default().with_nulls(MarkovNulls::Exclude),
    )
    .unwrap();
    assert_eq!(r.channel("x").unwrap().removal_effect, 0.0);
}

#[test]
fn fractional_counts_are_kept() {
    let rows = [row("a>b", 0.25, 0.75), row("b", 0.5, 0.5)];
    let r = markov_attribution(&rows, MarkovOptions::default()).unwrap();
    // start → a 1/2, b 1/2; b → conv 0.75 / 2
    assert!(close(r.p_conversion, 0.375, 1e-15));
    let t = r
        .transitions
        .iter()
        .find(|t| t.from == 0 && t.to == 1)
        .unwrap();
    assert_eq!(t.count, 1.0);
}

#[test]
fn invalid_rows_are_named_and_options_checked() {
    let mut counts = MarkovCounts::default();
    counts.add(&row("a", 1.0, 0.0)).unwrap();
    let err = counts.add(&row("a>b", -1.0, 0.0)).unwrap_err();
    match err.into_kind() {
        ErrorKind::InvalidField { record, field, .. } => {
            assert_eq!(record.index, Some(1));
            assert_eq!(record.id.as_deref(), Some("a>b"));
            assert_eq!(field, "conversions");
        }
        e => panic!("unexpected {e:?}"),
    }
    assert_eq!(counts.rows(), 1);
    let other = MarkovCounts::new(MarkovOptions::default().with_order(2)).unwrap();
    assert!(matches!(
        counts.merge(&other).as_ref().map_err(|e| e.kind()),
        Err(ErrorKind::MergeMismatch { .. })
    ));
    assert!(MarkovCounts::new(MarkovOptions::default().with_order(0)).is_err());
    assert!(matches!(
        MarkovCounts::new(MarkovOptions::default().with_step_limit(MarkovStepLimit::Steps(0)))
            .as_ref()
            .map_err(|e| e.kind()),
        Err(ErrorKind::InvalidParameter {
            name: "step_limit",
            ..
        })
    ));
    // Nothing added: nothing converts, nothing is credited.
    let empty = MarkovCounts::default().finish().unwrap();
    assert_eq!(empty.p_conversion, 0.0);
    assert!(empty.channels.is_empty());
    assert!(empty.value_split(Currency::USD).unwrap().is_empty());
}

// ---------------------------------------------------------------- Shapley by hand

#[test]
fn shapley_models_by_hand() {
    let mut rows = vec![
        row("a", 1.0, 1.0),     // v(a) = 1/2
        row("b", 0.0, 4.0),     // v(b) = 0
        row("a>b>a", 3.0, 1.0), // v(ab) = 3/4
    ];
    rows[2].value = Decimal::new(300, 0);
    rows[0].value = Decimal::new(100, 0);
    let r = shapley_attribution(&rows, ShapleyOptions::default()).unwrap();
    // simplified: a 1 + 3/2, b 3/2
    assert_eq!(r.simplified.channel("a").unwrap().conversions, 2.5);
    assert_eq!(r.simplified.channel("b").unwrap().conversions, 1.5);
    assert_eq!(r.simplified.channel("b").unwrap().value, 150.0);
    // ordered: a at 0 and 2 (3/4 each of its 3/2), b at 1; plus the row "a" at 0
    let o = r.ordered.channel("a").unwrap();
    assert_eq!(o.conversions, [1.0 + 0.75, 0.0, 0.75]);
    assert_eq!(r.ordered.channel("b").unwrap().conversions, [0.0, 1.5, 0.0]);
    // conversion rate, per journey set: {a,b}: φa = 5/8, φb = 1/8 (sum 3/4), 4 journeys
    let cr = &r.conversion_rate.credits;
    assert!(close(
        cr.channel("a").unwrap().conversions,
        1.0 + 2.5,
        1e-14
    ));
    assert!(close(cr.channel("b").unwrap().conversions, 0.5, 1e-14));
    assert!(close(cr.channel("a").unwrap().value, 100.0 + 250.0, 1e-12));
    assert_eq!(r.conversion_rate.games, 2);
    // all channels: one game, v(N) = v(ab) = 3/4
    let all = shapley_attribution(
        &rows,
        ShapleyOptions::default().with_universe(ShapleyUniverse::AllChannels),
    )
    .unwrap()
    .conversion_rate;
    let phi = all.shapley_values.unwrap();
    assert!(close(phi[0], 5.0 / 8.0, 1e-14) && close(phi[1], 1.0 / 8.0, 1e-14));
    assert_eq!(all.grand_coalition_rate, Some(0.75));
    assert!(close(
        all.credits.credits[0].conversions,
        4.0 * 5.0 / 6.0,
        1e-14
    ));
    // Shao–Li: p(a) = 4/6, p(b) = 3/8, p(a,b) = 3/4;
    // C(a) = 2/3 + (3/4 − 2/3 − 3/8)/2, C(b) = 3/8 + (3/4 − 2/3 − 3/8)/2
    let sl = &r.shao_li;
    let d = (0.75 - 2.0 / 3.0 - 0.375) / 2.0;
    assert!(close(sl.contributions[0], 2.0 / 3.0 + d, 1e-14));
    assert!(close(sl.contributions[1], 0.375 + d, 1e-14));
    let share_a = (2.0 / 3.0 + d) / (2.0 / 3.0 + 0.375 + 2.0 * d);
    assert!(close(
        sl.credits.credits[0].conversions,
        4.0 * share_a,
        1e-14
    ));
    // Every model's money parts sum exactly to the total value.
    for credits in [&r.simplified, cr, &sl.credits] {
        let parts = credits.value_split(Currency::EUR).unwrap();
        assert_eq!(
            Money::sum(Currency::EUR, &parts).unwrap().amount(),
            Decimal::new(400, 0)
        );
    }
}

#[test]
fn negative_rate_credit_splits_money_exactly() {
    // v(a) = 1/2, v(b) = 1/10, v(ab) = 1/5: b lowers the rate of a.
    let mut rows = vec![row("a", 5.0, 5.0), row("b", 1.0, 9.0), row("a>b", 2.0, 8.0)];
    rows[2].value = Decimal::new(1_000, 2);
    let r = shapley_attribution(&rows, ShapleyOptions::default()).unwrap();
    let cr = &r.conversion_rate.credits;
    // game {a,b}: φa = (1/2 + 1/5 − 1/10)/2 = 3/10, φb = (1/10 + 1/5 − 1/2)/2 = −1/10
    // b: +1 from its own set, −1 (10 journeys × −1/10) from {a, b}
    assert!(cr.channel("b").unwrap().conversions.abs() < 1e-14);
    assert!(close(
        cr.channel("a").unwrap().conversions,
        5.0 + 3.0,
        1e-14
    ));
    // value of {a, b} (10.00) split 0.3 : −0.1 over v(ab) = 0.2
    assert!(close(cr.channel("b").unwrap().value, -5.0, 1e-14));
    assert!(close(cr.channel("a").unwrap().value, 15.0, 1e-14));
    let parts = cr.value_split(Currency::USD).unwrap();
    assert_eq!(
        Money::sum(Currency::USD, &parts).unwrap().amount(),
        Decimal::new(1_000, 2)
    );
    assert!(parts[1].is_negative());
}

#[test]
fn sampling_options_are_checked() {
    let rows = [row("a>b", 1.0, 1.0)];
    let bad = ShapleyOptions::default().with_method(ShapleyMethod::Sampling {
        permutations: 1,
        seed: 0,
    });
    assert!(matches!(
        shapley_attribution(&rows, bad)
            .as_ref()
            .map_err(|e| e.kind()),
        Err(ErrorKind::InvalidParameter {
            name: "permutations",
            ..
        })
    ));
}

/// A game over 10 channels where every subset is a journey set with its own rate.
fn ten_channel_rows() -> Vec<PathRow> {
    let names: Vec<String> = (0..10).map(|i| format!("c{i}")).collect();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (1u32..1 << 10)
        .map(|mask| {
            let path = (0..10)
                .filter(|b| mask & (1 << b) != 0)
                .map(|b| Channel::new(&names[b]).unwrap())
                .collect();
            let conversions = (next() % 20) as f64;
            let nulls = (next() % 50) as f64;
            PathRow::new(path, conversions, Decimal::ZERO, nulls)
        })
        .collect()
}

#[test]
fn sampling_estimate_is_within_standard_errors_of_exact() {
    let rows = ten_channel_rows();
    let all = ShapleyOptions::default().with_universe(ShapleyUniverse::AllChannels);
    let exact = shapley_attribution(&rows, all).unwrap().conversion_rate;
    let sampling = all.with_method(ShapleyMethod::Sampling {
        permutations: 4_000,
        seed: 42,
    });
    let est = shapley_attribution(&rows, sampling)
        .unwrap()
        .conversion_rate;
    assert_eq!(est.sampled_games, 1);
    let (e, s) = (
        exact.shapley_values.clone().unwrap(),
        est.shapley_values.clone().unwrap(),
    );
    // efficiency holds for the estimate too
    let grand = exact.grand_coalition_rate.unwrap();
    assert!(close(e.iter().sum::<f64>(), grand, 1e-12));
    assert!(close(s.iter().sum::<f64>(), grand, 1e-12));
    for (j, c) in est.credits.credits.iter().enumerate() {
        let x = exact.credits.credits[j].conversions;
        assert!(c.std_error > 0.0);
        assert!(
            (c.conversions - x).abs() <= 4.0 * c.std_error,
            "{}: {} vs exact {x} (se {})",
            c.channel,
            c.conversions,
            c.std_error
        );
    }
    // deterministic
    let again = shapley_attribution(&rows, sampling)
        .unwrap()
        .conversion_rate;
    assert_eq!(again, est);
    // Auto: exact up to 16 players, so this game is exact.
    let auto = shapley_attribution(
        &rows,
        all.with_method(ShapleyMethod::Auto {
            exact_up_to: 16,
            permutations: 100,
            seed: 1,
        }),
    )
    .unwrap()
    .conversion_rate;
    assert_eq!(auto.sampled_games, 0);
    assert_eq!(auto.credits, exact.credits);
    // Per-journey games sampled: credits still sum to the total conversions.
    let per = shapley_attribution(
        &rows,
        ShapleyOptions::default().with_method(ShapleyMethod::Auto {
            exact_up_to: 4,
            permutations: 200,
            seed: 3,
        }),
    )
    .unwrap()
    .conversion_rate;
    assert!(per.sampled_games > 0);
    let total: f64 = per.credits.credits.iter().map(|c| c.conversions).sum();
    assert!(close(total, per.credits.total_conversions, 1e-9));
}

// ---------------------------------------------------------------- properties

const ALPHABET: [&str; 5] = ["a", "b", "c", "d", "e"];

fn arb_row() -> impl Strategy<Value = PathRow> {
    (
        prop::collection::vec(0usize..ALPHABET.len(), 1..6),
        0u32..5,
        0u32..5,
        0i64..10_000,
    )
        .prop_map(|(path, conv, nulls, cents)| {
            PathRow::new(
                path.into_iter()
                    .map(|i| Channel::new(ALPHABET[i]).unwrap())
                    .collect(),
                f64::from(conv),
                if conv > 0 {
                    Decimal::new(cents, 2)
                } else {
                    Decimal::ZERO
                },
                f64::from(nulls),
            )
        })
}

fn arb_rows() -> impl Strategy<Value = Vec<PathRow>> {
    prop::collection::vec(arb_row(), 1..25)
}

fn arb_options() -> impl Strategy<Value = MarkovOptions> {
    (
        1usize..4,
        prop_oneof![
            Just(MarkovRepeats::Collapse),
            Just(MarkovRepeats::CollapseChannels),
            Just(MarkovRepeats::Keep)
        ],
        prop_oneof![Just(MarkovNulls::Include), Just(MarkovNulls::Exclude)],
        prop_oneof![
            Just(MarkovStepLimit::Unlimited),
            Just(MarkovStepLimit::LongestPath),
            (1u32..6).prop_map(MarkovStepLimit::Steps)
        ],
    )
        .prop_map(|(order, repeats, nulls, limit)| {
            MarkovOptions::default()
                .with_order(order)
                .with_repeats(repeats)
                .with_nulls(nulls)
                .with_step_limit(limit)
        })
}

/// Adds the mirror image of every row (channels `a` and `b` swapped), so that the two
/// play identical roles.
fn mirrored(rows: &[PathRow]) -> Vec<PathRow> {
    let swap = |c: &Channel| match c.as_str() {
        "a" => Channel::new("b").unwrap(),
        "b" => Channel::new("a").unwrap(),
        _ => c.clone(),
    };
    let mut out = rows.to_vec();
    out.extend(rows.iter().map(|r| {
        let mut m = r.clone();
        m.path = r.path.iter().map(swap).collect();
        m
    }));
    out
}

proptest! {
    #[test]
    fn markov_merge_of_halves_equals_whole(rows in arb_rows(), split in 0usize..25, o in arb_options()) {
        let split = split.min(rows.len());
        let mut left = MarkovCounts::new(o).unwrap();
        left.add_batch(&rows[..split]).unwrap();
        let mut right = MarkovCounts::new(o).unwrap();
        right.add_batch(&rows[split..]).unwrap();
        // merge in the "wrong" order too
        right.merge(&left).unwrap();
        let mut whole = MarkovCounts::new(o).unwrap();
        whole.add_batch(&rows).unwrap();
        prop_assert_eq!(right.transition_counts(), whole.transition_counts());
        prop_assert_eq!(right.finish().unwrap(), whole.finish().unwrap());
    }

    #[test]
    fn markov_ignores_row_order(rows in arb_rows(), o in arb_options(), seed in any::<u64>()) {
        let mut shuffled = rows.clone();
        let mut s = seed | 1;
        for i in (1..shuffled.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            shuffled.swap(i, (s % (i as u64 + 1)) as usize);
        }
        prop_assert_eq!(
            markov_attribution(&rows, o).unwrap(),
            markov_attribution(&shuffled, o).unwrap()
        );
        for so in [
            ShapleyOptions::default(),
            ShapleyOptions::default()
                .with_universe(ShapleyUniverse::AllChannels)
                .with_method(ShapleyMethod::Sampling { permutations: 20, seed }),
            ShapleyOptions::default()
                .with_method(ShapleyMethod::Sampling { permutations: 20, seed }),
        ] {
            prop_assert_eq!(
                shapley_attribution(&rows, so).unwrap(),
                shapley_attribution(&shuffled, so).unwrap()
            );
        }
    }

    #[test]
    fn markov_credits_are_consistent(rows in arb_rows(), o in arb_options()) {
        let r = markov_attribution(&rows, o).unwrap();
        let total: f64 = r.channels.iter().map(|c| c.conversions).sum();
        let any = r.channels.iter().any(|c| c.removal_effect > 0.0);
        if any {
            prop_assert!(close(total, r.total_conversions, 1e-12));
            let parts = r.value_split(Currency::USD).unwrap();
            prop_assert_eq!(Money::sum(Currency::USD, &parts).unwrap().amount(), r.total_value);
        }
        for c in &r.channels {
            prop_assert!((0.0..=1.0).contains(&c.removal_effect));
            prop_assert!(c.p_conversion_without <= r.p_conversion + 1e-15);
        }
        // Each row is a distribution; only (start) is empty when no row has weight.
        for (i, row) in r.transition_matrix().iter().enumerate() {
            let sum = row.iter().sum::<f64>();
            prop_assert!(close(sum, 1.0, 1e-12) || (i == 0 && sum == 0.0 && r.transitions.is_empty()));
        }
    }

    #[test]
    fn channel_on_no_converting_path_gets_nothing(rows in arb_rows(), nulls in 1u32..5, o in arb_options()) {
        // "z" only ever ends non-converting journeys: no conversion is reachable
        // from it, so removing it changes nothing. With nulls excluded, it is only on
        // zero-weight rows.
        let mut rows = rows;
        let mut dead = rows[0].clone();
        dead.path.push(Channel::new("z").unwrap());
        dead.conversions = 0.0;
        dead.value = Decimal::ZERO;
        dead.nulls = f64::from(nulls);
        rows.push(dead);
        let r = markov_attribution(&rows, o).unwrap();
        let z = r.channel("z").unwrap();
        prop_assert_eq!(z.removal_effect, 0.0);
        prop_assert_eq!(z.conversions, 0.0);
        let s = shapley_attribution(&rows, ShapleyOptions::default()).unwrap();
        prop_assert_eq!(s.simplified.channel("z").unwrap().conversions, 0.0);
        prop_assert_eq!(s.conversion_rate.credits.channel("z").unwrap().conversions, 0.0);
        prop_assert!(s.ordered.channel("z").unwrap().conversions.iter().all(|&x| x == 0.0));
    }

    #[test]
    fn shapley_merge_of_halves_equals_whole(rows in arb_rows(), split in 0usize..25) {
        let split = split.min(rows.len());
        let mut left = ShapleyCounts::default();
        left.add_batch(&rows[..split]).unwrap();
        let mut right = ShapleyCounts::default();
        right.add_batch(&rows[split..]).unwrap();
        right.merge(&left).unwrap();
        let mut whole = ShapleyCounts::default();
        whole.add_batch(&rows).unwrap();
        prop_assert_eq!(right.finish().unwrap(), whole.finish().unwrap());
    }

    /// Rows cut into any number of parts, merged a batch at a time on any number of
    /// threads, are the tally of merging the parts one by one (the same state, bit
    /// for bit) and of one pass.
    #[test]
    fn shapley_merged_in_batches_on_threads_is_merged_one_by_one(
        rows in arb_rows(),
        parts in 1usize..8,
        batch in 1usize..5,
        threads in 1usize..5,
        o in arb_shapley_options(),
    ) {
        let size = rows.len().div_ceil(parts).max(1);
        let tallies: Vec<ShapleyCounts> = rows
            .chunks(size)
            .map(|c| {
                let mut t = ShapleyCounts::new(o).unwrap();
                t.add_batch(c).unwrap();
                t
            })
            .collect();
        let mut one_by_one = ShapleyCounts::new(o).unwrap();
        for t in &tallies {
            one_by_one.merge(t).unwrap();
        }
        let mut batched = ShapleyCounts::new(o).unwrap();
        for b in tallies.chunks(batch) {
            batched.merge_all_on(b, threads).unwrap();
        }
        prop_assert_eq!(
            serde_json::to_value(&batched).unwrap(),
            serde_json::to_value(&one_by_one).unwrap()
        );
        let mut whole = ShapleyCounts::new(o).unwrap();
        whole.add_batch(&rows).unwrap();
        prop_assert_eq!(batched.finish().unwrap(), whole.finish().unwrap());
    }

    #[test]
    fn shapley_efficiency(rows in arb_rows()) {
        let r = shapley_attribution(&rows, ShapleyOptions::default()).unwrap();
        let total = r.simplified.total_conversions;
        let sum = |c: &revops::attribution::ShapleyCredits| c.credits.iter().map(|x| x.conversions).sum::<f64>();
        prop_assert!(close(sum(&r.simplified), total, 1e-12));
        prop_assert!(close(sum(&r.conversion_rate.credits), total, 1e-12));
        let ordered: f64 = r.ordered.credits.iter().flat_map(|c| c.conversions.iter()).sum();
        prop_assert!(close(ordered, total, 1e-12));
        // ordered sums to simplified per channel
        for (o, s) in r.ordered.credits.iter().zip(&r.simplified.credits) {
            prop_assert!(close(o.conversions.iter().sum::<f64>(), s.conversions, 1e-12));
        }
        let all = shapley_attribution(
            &rows,
            ShapleyOptions::default().with_universe(ShapleyUniverse::AllChannels),
        ).unwrap().conversion_rate;
        let phi: f64 = all.shapley_values.unwrap().iter().sum();
        prop_assert!((phi - all.grand_coalition_rate.unwrap()).abs() < 1e-12);
        if total > 0.0 {
            let parts = r.simplified.value_split(Currency::USD).unwrap();
            prop_assert_eq!(Money::sum(Currency::USD, &parts).unwrap().amount(), r.simplified.total_value);
        }
    }

    #[test]
    fn shapley_symmetry(rows in arb_rows()) {
        let rows = mirrored(&rows);
        for universe in [ShapleyUniverse::PerJourneySet, ShapleyUniverse::AllChannels] {
            let r = shapley_attribution(&rows, ShapleyOptions::default().with_universe(universe)).unwrap();
            for credits in [&r.simplified, &r.conversion_rate.credits, &r.shao_li.credits] {
                let (a, b) = (credits.channel("a"), credits.channel("b"));
                if let (Some(a), Some(b)) = (a, b) {
                    prop_assert!(close(a.conversions, b.conversions, 1e-12), "{:?} vs {:?}", a, b);
                }
            }
        }
    }

    #[test]
    fn shapley_null_player(rows in arb_rows()) {
        // "x" joins a copy of every journey without changing its counts: for every
        // observed set S, v(S ∪ {x}) = v(S), and v({x}) = 0. It is a null player.
        let mut with_x = rows.clone();
        with_x.extend(rows.iter().map(|r| {
            let mut m = r.clone();
            m.path.push(Channel::new("x").unwrap());
            m
        }));
        with_x.push(row("x", 0.0, 3.0));
        for universe in [ShapleyUniverse::PerJourneySet, ShapleyUniverse::AllChannels] {
            let r = shapley_attribution(&with_x, ShapleyOptions::default().with_universe(universe)).unwrap();
            let cr = &r.conversion_rate;
            let x = cr.credits.channel("x").unwrap();
            prop_assert!(x.conversions.abs() < 1e-12, "{:?}", x);
            if let Some(phi) = &cr.shapley_values {
                let i = cr.credits.credits.iter().position(|c| c.channel.as_str() == "x").unwrap();
                prop_assert!(phi[i].abs() < 1e-12);
            }
        }
    }
}

/// Sets of up to eight channels over 20 (many sharing their first four): the
/// simplified Shapley value sums the sets in the order of their sorted names, exactly
/// as a by-hand tally in a `BTreeMap` does.
#[test]
fn simplified_shapley_sums_long_sets_in_name_order() {
    let names: Vec<Channel> = (0..20)
        .map(|i| Channel::new(format!("c{i:02}")).unwrap())
        .collect();
    let mut s = 11u64;
    let mut next = |n: u64| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s % n
    };
    let mut t = ShapleyCounts::default();
    let mut by_hand: std::collections::BTreeMap<Vec<String>, f64> = Default::default();
    for _ in 0..3000 {
        // A common prefix c00..c03 half of the time, to exercise ties on it.
        let mut path: Vec<Channel> = if next(2) == 0 {
            names[..4].to_vec()
        } else {
            Vec::new()
        };
        for _ in 0..1 + next(5) {
            path.push(names[next(20) as usize].clone());
        }
        let conversions = next(4) as f64 / 3.0;
        let value = Decimal::new(next(10_000) as i64, 2);
        t.add(&PathRow::new(
            path.clone(),
            conversions,
            value,
            next(3) as f64,
        ))
        .unwrap();
        let mut set: Vec<String> = path.iter().map(|c| c.as_str().to_string()).collect();
        set.sort();
        set.dedup();
        *by_hand.entry(set).or_insert(0.0) += conversions;
    }
    let mut conv = [0.0f64; 20];
    for (set, c) in &by_hand {
        let k = set.len() as f64;
        for name in set {
            let i: usize = name[1..].parse().unwrap();
            conv[i] += c / k;
        }
    }
    let got = t.simplified();
    for (i, name) in names.iter().enumerate() {
        assert_eq!(
            got.channel(name.as_str()).unwrap().conversions.to_bits(),
            conv[i].to_bits(),
            "{name}"
        );
    }
}

// ---------------------------------------------------------------- limits and bad input

/// One row through 100,000 channels needed an 80 GB matrix and aborted; now the
/// state limit refuses it before allocating, naming the limit.
#[test]
fn markov_refuses_more_states_than_its_limit() {
    let path: Vec<String> = (0..100_000).map(|i| format!("c{i}")).collect();
    let rows = [row(&path.join(">"), 1.0, 1.0)];
    let err = markov_attribution(&rows, MarkovOptions::default()).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::LimitExceeded {
                limit: "MarkovOptions::max_states",
                value: 100_000,
                max: 5_000,
                ..
            }
        ),
        "{err}"
    );
    // The limit is configurable: a small chain over a lowered limit is refused, and
    // solved when the limit allows it.
    let small = [row("a>b>c", 1.0, 1.0)];
    let lowered = MarkovOptions::default().with_max_states(2);
    assert!(matches!(
        markov_attribution(&small, lowered)
            .as_ref()
            .map_err(|e| e.kind()),
        Err(ErrorKind::LimitExceeded {
            value: 3,
            max: 2,
            ..
        })
    ));
    assert!(markov_attribution(&small, lowered.with_max_states(3)).is_ok());
    assert_eq!(
        MarkovOptions::default().max_states,
        MarkovOptions::DEFAULT_MAX_STATES
    );
}

/// Weights near `f64::MAX` summed to infinity, then NaN probabilities reached
/// `f64::clamp` and panicked; now the row whose weighted transitions overflow is
/// named.
#[test]
fn markov_names_the_row_whose_weights_overflow() {
    let p = |s: &str| {
        s.split('>')
            .map(|c| Channel::new(c).unwrap())
            .collect::<Vec<_>>()
    };
    let rows = [
        PathRow::new(p("iota>eta>alpha>alpha"), 1.0, Decimal::new(4164, 3), 1e308),
        PathRow::new(p("iota>beta>eta"), 0.0, Decimal::ZERO, 1e308),
    ];
    let err = markov_attribution(&rows, MarkovOptions::default()).unwrap_err();
    assert!(
        matches!(&err.kind(), ErrorKind::InvalidField { record, field: "conversions", .. } if record.index == Some(0)),
        "{err}"
    );
    // Large weights that stay finite are solved, with finite results.
    let big = [
        PathRow::new(p("iota>eta>alpha>alpha"), 1.0, Decimal::new(4164, 3), 1e306),
        PathRow::new(p("iota>beta>eta"), 0.0, Decimal::ZERO, 1e306),
    ];
    let m = markov_attribution(&big, MarkovOptions::default()).unwrap();
    assert!(m.p_conversion.is_finite());
    assert!(m.channels.iter().all(|c| c.removal_effect.is_finite()));
    // Merging two halves that overflow together is refused too.
    let half = [
        PathRow::new(p("iota>eta"), 1.0, Decimal::ZERO, 5e307),
        PathRow::new(p("iota>beta"), 0.0, Decimal::ZERO, 5e307),
    ];
    let mut a = MarkovCounts::default();
    a.add(&half[0]).unwrap();
    let mut b = MarkovCounts::default();
    b.add(&half[1]).unwrap();
    assert!(matches!(
        a.merge(&b).as_ref().map_err(|e| e.kind()),
        Err(ErrorKind::Overflow { .. })
    ));
}

/// 5,000 channels took 10.8 s and 1 GB (Shao–Li's pair table), 20,000 aborted; now
/// the channel limit refuses them before allocating, and the ordered value's cells
/// have their own limit.
#[test]
fn shapley_refuses_more_channels_than_its_limit() {
    let path: Vec<String> = (0..5_000).map(|i| format!("c{i}")).collect();
    let rows = [row(&path.join(">"), 1.0, 1.0)];
    let err = shapley_attribution(&rows, ShapleyOptions::default()).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::LimitExceeded {
                limit: "ShapleyOptions::max_channels",
                value: 5_000,
                max: 2_000,
                ..
            }
        ),
        "{err}"
    );
    let small = [row("a>b>c>a", 1.0, 1.0)];
    let few = ShapleyOptions::default().with_max_channels(2);
    assert!(matches!(
        shapley_attribution(&small, few)
            .as_ref()
            .map_err(|e| e.kind()),
        Err(ErrorKind::LimitExceeded {
            value: 3,
            max: 2,
            ..
        })
    ));
    // 3 channels × 4 positions = 12 ordered cells.
    let cells = ShapleyOptions::default().with_max_ordered_cells(11);
    assert!(matches!(
        shapley_attribution(&small, cells)
            .as_ref()
            .map_err(|e| e.kind()),
        Err(ErrorKind::LimitExceeded {
            limit: "ShapleyOptions::max_ordered_cells",
            value: 12,
            ..
        })
    ));
    let mut t = ShapleyCounts::new(cells).unwrap();
    t.add_batch(&small).unwrap();
    assert!(t.ordered().is_err());
    let mut t = ShapleyCounts::new(few).unwrap();
    t.add_batch(&small).unwrap();
    assert!(t.shao_li().is_err());
    assert!(t.conversion_rate().is_err());
    assert!(shapley_attribution(&small, cells.with_max_ordered_cells(12)).is_ok());
}

// ---------------------------------------------------------------- accumulator contract

fn arb_shapley_options() -> impl Strategy<Value = ShapleyOptions> {
    prop_oneof![
        Just(ShapleyOptions::default()),
        Just(ShapleyOptions::default().with_universe(ShapleyUniverse::AllChannels)),
        Just(
            ShapleyOptions::default().with_method(ShapleyMethod::Sampling {
                permutations: 50,
                seed: 3
            })
        ),
    ]
}

proptest! {
    #[test]
    fn markov_counts_follow_the_contract(rows in arb_rows(), cut in 0usize..25, o in arb_options()) {
        crate::contract::assert_contract(
            || MarkovCounts::new(o).unwrap(),
            &rows,
            cut,
            |r| r.clone(),
        );
    }

    #[test]
    fn shapley_counts_follow_the_contract(rows in arb_rows(), cut in 0usize..25, o in arb_shapley_options()) {
        crate::contract::assert_contract(
            || ShapleyCounts::new(o).unwrap(),
            &rows,
            cut,
            |r| r.clone(),
        );
    }
}

/// A Markov state as JSON, to tamper with.
fn markov_json(o: MarkovOptions) -> serde_json::Value {
    let mut c = MarkovCounts::new(o).unwrap();
    c.add_batch(&[row("a>b>c", 2.0, 1.0), row("b>c", 1.0, 3.0)])
        .unwrap();
    serde_json::to_value(&c).unwrap()
}

fn shapley_json() -> serde_json::Value {
    let mut c = ShapleyCounts::default();
    c.add_batch(&[row("a>b>a", 2.0, 1.0), row("b", 1.0, 3.0)])
        .unwrap();
    serde_json::to_value(&c).unwrap()
}

#[test]
fn markov_and_shapley_states_refuse_another_version() {
    let mut m = markov_json(MarkovOptions::default());
    let mut s = shapley_json();
    assert_eq!((&m["version"], &s["version"]), (&1.into(), &1.into()));
    m["version"] = 2.into();
    s["version"] = 2.into();
    let e = serde_json::from_value::<MarkovCounts>(m).unwrap_err();
    assert!(e.to_string().contains("version 2 is not supported"), "{e}");
    let e = serde_json::from_value::<ShapleyCounts>(s).unwrap_err();
    assert!(e.to_string().contains("version 2 is not supported"), "{e}");
    let mut v = markov_json(MarkovOptions::default());
    v.as_object_mut().unwrap().remove("version");
    assert!(serde_json::from_value::<MarkovCounts>(v).is_err());
}

#[test]
fn markov_and_shapley_merge_refuse_other_options() {
    let mut a = MarkovCounts::new(MarkovOptions::default()).unwrap();
    let b = MarkovCounts::new(MarkovOptions::default().with_nulls(MarkovNulls::Exclude)).unwrap();
    let e = a.merge(&b).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::MergeMismatch { reason, .. } if reason.contains("Exclude")),
        "{e}"
    );

    let mut a = ShapleyCounts::default();
    let b = ShapleyCounts::new(ShapleyOptions::default().with_max_channels(3)).unwrap();
    let e = a.merge(&b).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::MergeMismatch { reason, .. } if reason.contains("max_channels: 3")),
        "{e}"
    );
    // In a batch, before anything is merged.
    let mut fine = ShapleyCounts::default();
    fine.add(&row("a>b", 1.0, 1.0)).unwrap();
    let e = a.merge_all_on(&[fine, b], 2).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::MergeMismatch { reason, .. } if reason.contains("max_channels: 3")),
        "{e}"
    );
    assert_eq!(
        serde_json::to_value(&a).unwrap(),
        serde_json::to_value(ShapleyCounts::default()).unwrap()
    );
}

#[test]
fn markov_state_round_trips_at_order_2_and_is_compact() {
    let v = markov_json(MarkovOptions::default().with_order(2));
    assert_eq!(v["channels"], serde_json::json!(["a", "b", "c"]));
    assert_eq!(v["states"], serde_json::json!([[0, 1], [1, 2]]));
    let back: MarkovCounts = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(serde_json::to_value(&back).unwrap(), v);
    // At order 1 a state is its channel: no state table.
    assert_eq!(
        markov_json(MarkovOptions::default())["states"],
        serde_json::json!([])
    );
}

#[test]
fn hostile_markov_and_shapley_states_are_errors() {
    let tamper = |mut v: serde_json::Value, f: &dyn Fn(&mut serde_json::Value)| {
        f(&mut v);
        v
    };
    let order2 = MarkovOptions::default().with_order(2);
    let bad_markov = [
        // a transition to a state that does not exist
        tamper(markov_json(MarkovOptions::default()), &|v| {
            v["transitions"][0][1] = 99.into()
        }),
        // a state entered but never left
        tamper(markov_json(MarkovOptions::default()), &|v| {
            v["transitions"]
                .as_array_mut()
                .unwrap()
                .retain(|t| t[0] != 2);
        }),
        // a state naming a channel out of range
        tamper(markov_json(order2), &|v| v["states"][0][1] = 7.into()),
        // a state longer than the order
        tamper(markov_json(order2), &|v| {
            v["states"][0] = serde_json::json!([0, 1, 2])
        }),
        // a duplicate channel
        tamper(markov_json(MarkovOptions::default()), &|v| {
            v["channels"][1] = "a".into()
        }),
        // a negative or non-finite count
        tamper(markov_json(MarkovOptions::default()), &|v| {
            v["transitions"][0][2] = (-1.0).into()
        }),
        tamper(markov_json(MarkovOptions::default()), &|v| {
            v["conversions"] = (-1.0).into()
        }),
        // states at order 1, invalid options
        tamper(markov_json(MarkovOptions::default()), &|v| {
            v["states"] = serde_json::json!([[0]])
        }),
        tamper(markov_json(MarkovOptions::default()), &|v| {
            v["options"]["order"] = 0.into()
        }),
        // an unknown field
        tamper(markov_json(MarkovOptions::default()), &|v| {
            v["extra"] = 1.into()
        }),
    ];
    for v in bad_markov {
        let r = serde_json::from_value::<MarkovCounts>(v.clone());
        assert!(r.is_err(), "accepted {v}");
    }
    let bad_shapley = [
        tamper(shapley_json(), &|v| {
            v["sets"][0][0] = serde_json::json!([0, 9])
        }),
        tamper(shapley_json(), &|v| {
            v["sets"][0][0] = serde_json::json!([1, 0])
        }),
        tamper(shapley_json(), &|v| v["sets"][0][0] = serde_json::json!([])),
        tamper(shapley_json(), &|v| {
            v["sets"][1][0] = serde_json::json!([0, 1])
        }),
        tamper(shapley_json(), &|v| v["positions"][0][1] = 3.into()),
        tamper(shapley_json(), &|v| v["positions"][0][2] = 0.into()),
        tamper(shapley_json(), &|v| v["positions"][0][0] = 5.into()),
        tamper(shapley_json(), &|v| v["sets"][0][3] = "-1".into()),
        tamper(shapley_json(), &|v| v["nulls"] = (-0.5).into()),
    ];
    for v in bad_shapley {
        let r = serde_json::from_value::<ShapleyCounts>(v.clone());
        assert!(r.is_err(), "accepted {v}");
    }
    // The untampered states read back and finish like the originals.
    let s: ShapleyCounts = serde_json::from_value(shapley_json()).unwrap();
    assert_eq!(s.rows(), 2);
    assert!(s.finish().is_ok());
}
