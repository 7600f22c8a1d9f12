//! The attribution engine: journeys cut by hand-checked rules, every rule model on
//! hand-computed journeys (milestone edge cases included), the ChannelAttribution
//! heuristics oracle on its real data set, and properties (credit sums to one per
//! conversion, revenue splits exactly, merging any split equals one pass, input order
//! does not matter).

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use revops::error::ErrorKind;
use revops::{
    CampaignId, Channel, Conversion, Currency, Decimal, Money, PathRow, StageEvent, SubjectId,
    Touch, attribution::Attribution, attribution::JourneyBuilder, attribution::JourneyOptions,
    attribution::Journeys, attribution::MarkovCounts, attribution::MarkovOptions,
    attribution::Milestone, attribution::RepeatConversions, attribution::RuleModel,
    attribution::TrailingTouches,
};

fn day(d: f64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + TimeDelta::seconds((d * 86_400.0) as i64)
}

fn sid(s: &str) -> SubjectId {
    SubjectId::new(s).unwrap()
}

fn ch(c: &str) -> Channel {
    Channel::new(c).unwrap()
}

fn touch(s: &str, c: &str, d: f64) -> Touch {
    Touch::new(sid(s), ch(c), day(d))
}

fn usd(v: &str) -> Money {
    Money::parse(v, Currency::USD).unwrap()
}

fn conv(s: &str, d: f64, value: Option<&str>) -> Conversion {
    Conversion::new(sid(s), day(d), value.map(usd))
}

fn ev(s: &str, stage: &str, d: f64) -> StageEvent {
    StageEvent::new(sid(s), stage, day(d))
}

fn build(t: &[Touch], c: &[Conversion], e: &[StageEvent]) -> Journeys {
    Journeys::from_records(t, c, e, &JourneyOptions::default()).unwrap()
}

/// Credited conversions of a channel (0 if absent).
fn conv_of(a: &Attribution, c: &str) -> f64 {
    a.channel(c).map_or(0.0, |x| x.conversions)
}

fn revenue_of(a: &Attribution, c: &str) -> String {
    a.channel(c).unwrap().revenue.unwrap().amount().to_string()
}

fn assert_close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= 1e-12 * want.abs().max(1.0),
        "{what}: got {got}, want {want}"
    );
}

fn channel_paths(j: &Journeys) -> Vec<Vec<String>> {
    j.iter()
        .map(|r| r.channels().map(|c| c.to_string()).collect())
        .collect()
}

// ---------------------------------------------------------------------------------
// Journeys

#[test]
fn lookback_edges_instant_and_trailing() {
    // Conversion on day 10, lookback 3 days.
    let t = vec![
        touch("a", "early", 6.5),    // before the window
        touch("a", "edge", 7.0),     // exactly 3 days before: counts
        touch("a", "instant", 10.0), // at the conversion instant: counts
        touch("a", "after", 11.0),   // after the last conversion
    ];
    let c = vec![conv("a", 10.0, Some("100"))];
    let o = JourneyOptions::default().with_lookback(TimeDelta::days(3));
    let j = Journeys::from_records(&t, &c, &[], &o).unwrap();
    assert_eq!(channel_paths(&j), [["edge", "instant"]]);
    let d = j.diagnostics();
    assert_eq!(
        (d.touches_outside_lookback, d.touches_after_last_conversion),
        (1, 1)
    );
    assert_eq!(d.touches_read, 4);

    // Trailing touches as a non-converting journey.
    let o = o.with_trailing(TrailingTouches::NonConverting);
    let j = Journeys::from_records(&t, &c, &[], &o).unwrap();
    assert_eq!(channel_paths(&j), [vec!["edge", "instant"], vec!["after"]]);
    assert_eq!(j.get(1).unwrap().nulls(), 1.0);
    assert_eq!(j.get(1).unwrap().converted_at(), None);
    assert_eq!(j.get(0).unwrap().converted_at(), Some(day(10.0)));

    // A negative lookback is refused.
    let bad = JourneyOptions::default().with_lookback(TimeDelta::days(-1));
    assert!(matches!(
        Journeys::from_records(&t, &c, &[], &bad)
            .as_ref()
            .map_err(|e| e.kind()),
        Err(ErrorKind::InvalidParameter {
            name: "lookback",
            ..
        })
    ));
}

#[test]
fn several_conversions_by_policy() {
    let t = vec![
        touch("a", "x", 1.0),
        touch("a", "y", 2.0),
        touch("a", "z", 4.0),
        touch("a", "w", 6.0),
    ];
    let c = vec![conv("a", 5.0, None), conv("a", 2.0, None)]; // out of order on purpose
    let run = |repeat| {
        let o = JourneyOptions::default().with_repeat(repeat);
        Journeys::from_records(&t, &c, &[], &o).unwrap()
    };
    let since = run(RepeatConversions::SincePrevious);
    assert_eq!(channel_paths(&since), [vec!["x", "y"], vec!["z"]]);
    assert_eq!(since.diagnostics().touches_after_last_conversion, 1);
    let all = run(RepeatConversions::AllPrior);
    assert_eq!(channel_paths(&all), [vec!["x", "y"], vec!["x", "y", "z"]]);
    let first = run(RepeatConversions::FirstOnly);
    assert_eq!(channel_paths(&first), [vec!["x", "y"]]);
    let d = first.diagnostics();
    assert_eq!(
        (d.conversions_ignored, d.touches_after_last_conversion),
        (1, 2)
    );
    assert_eq!(d.examples[0].index, Some(0)); // the day-5 conversion, input #0
    assert_eq!(d.examples[0].subject.as_deref(), Some("a"));

    // Two conversions at one instant: the second gets no touches (counted).
    let c2 = vec![conv("a", 2.0, None), conv("a", 2.0, None)];
    let j = build(&t, &c2, &[]);
    assert_eq!(channel_paths(&j), [vec!["x", "y"], vec![]]);
    assert_eq!(j.diagnostics().conversions_without_touches, 1);
}

#[test]
fn ties_keep_input_order_and_filters_apply_first() {
    let mut t = vec![
        touch("a", "direct", 3.0),
        touch("a", "social", 1.0),
        touch("a", "search", 1.0), // same instant as social, given after it
    ];
    t[2].campaign = Some(CampaignId::new("brand").unwrap());
    let c = vec![conv("a", 3.0, None)];
    let j = build(&t, &c, &[]);
    assert_eq!(channel_paths(&j), [["social", "search", "direct"]]);
    let first = j.attribute(&RuleModel::FirstTouch).unwrap();
    assert_eq!(conv_of(&first, "social"), 1.0);

    let o = JourneyOptions::default().with_exclude_channels(vec![ch("direct")]);
    let j = Journeys::from_records(&t, &c, &[], &o).unwrap();
    assert_eq!(channel_paths(&j), [["social", "search"]]);
    assert_eq!(j.diagnostics().touches_filtered, 1);
    // The excluded channel is not listed at all.
    assert!(
        j.attribute(&RuleModel::LastTouch)
            .unwrap()
            .channel("direct")
            .is_none()
    );

    let o = JourneyOptions::default().with_channels(vec![ch("direct"), ch("search")]);
    let j = Journeys::from_records(&t, &c, &[], &o).unwrap();
    assert_eq!(channel_paths(&j), [["search", "direct"]]);

    let o = JourneyOptions::default().with_campaigns(vec![CampaignId::new("brand").unwrap()]);
    let j = Journeys::from_records(&t, &c, &[], &o).unwrap();
    assert_eq!(channel_paths(&j), [["search"]]);
    let a = j.attribute(&RuleModel::Linear).unwrap();
    assert_eq!(a.campaigns.len(), 1);
    assert_eq!(a.campaigns[0].campaign.as_ref().unwrap().as_str(), "brand");
    assert_eq!(j.diagnostics().touches_filtered, 2);
}

#[test]
fn unknown_subjects_and_untouched_conversions_are_counted_and_reported() {
    let t = vec![
        touch("a", "x", 1.0),
        touch("b", "y", 1.0),
        touch("c", "z", 1.0),
    ];
    let c = vec![
        conv("a", 2.0, Some("10.00")),
        conv("ghost", 2.0, Some("5.00")), // never touched
        conv("b", 0.5, Some("1.00")),     // touched only afterwards
    ];
    let e = vec![ev("phantom", "inquiry", 1.0)];
    let j = build(&t, &c, &e);
    let d = j.diagnostics();
    assert_eq!(d.conversions_unknown_subject, 1);
    assert_eq!(d.conversions_without_touches, 1);
    assert_eq!(d.unattributed_conversions(), 2);
    assert_eq!(d.non_converting_subjects, 1); // c
    assert_eq!(d.touches_of_non_converting_subjects, 1);
    assert_eq!(d.touches_after_last_conversion, 1); // b's touch
    assert_eq!(d.stage_events_unused, 1);
    let ghost = d
        .examples
        .iter()
        .find(|n| n.subject.as_deref() == Some("ghost"))
        .unwrap();
    assert_eq!(
        ghost.to_string(),
        "conversion #1 (subject ghost): the subject has no touch"
    );

    let a = j.attribute_with_revenue(&RuleModel::Linear).unwrap();
    assert_eq!(a.conversions, 3.0);
    assert_eq!(a.unattributed_conversions, 2.0);
    assert_eq!(a.attributed_conversions(), 1.0);
    assert_eq!(a.revenue, Some(usd("16.00")));
    assert_eq!(a.unattributed_revenue, Some(usd("6.00")));
    assert_eq!(revenue_of(&a, "x"), "10.00");
    assert_eq!(revenue_of(&a, "z"), "0.00"); // listed, credited nothing
}

#[test]
fn bad_input_is_named() {
    // Negative cost: the touch's position and subject, across batches.
    let mut b = JourneyBuilder::default();
    b.add_batch(&[touch("a", "x", 1.0)], &[], &[]).unwrap();
    let bad = touch("b", "x", 1.0).with_cost(usd("-1"));
    let err = b
        .add_batch(&[touch("a", "x", 2.0), bad], &[], &[])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "touch #2 (id b): field `cost`: must not be negative, got -1.00 USD"
    );
    assert_eq!(b.touch_count(), 1); // the failed batch left nothing

    // Mixed currencies: the conversion that breaks the rule, by position and subject.
    let c = vec![
        conv("a", 2.0, Some("1")),
        conv("b", 2.0, None),
        Conversion::new(
            sid("c"),
            day(2.0),
            Some(Money::parse("1", Currency::EUR).unwrap()),
        ),
    ];
    let err = Journeys::from_records(&[], &c, &[], &JourneyOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "conversion #2 (id c): field `currency`: all conversions must share one currency: expected USD, got EUR"
    );
    // ... also when the two currencies meet in a merge.
    let mut b1 = JourneyBuilder::default();
    b1.add_batch(&[], &c[..2], &[]).unwrap();
    let mut b2 = JourneyBuilder::default();
    b2.add_batch(&[], &c[2..], &[]).unwrap();
    let err = b1.merge(&b2).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("conversion #2 (id c): field `currency`"),
        "{err}"
    );
    // ... and against a declared currency.
    let o = JourneyOptions::default().with_currency(Currency::EUR);
    assert!(Journeys::from_records(&[], &c[..1], &[], &o).is_err());

    // Negative conversion value.
    let err = Journeys::from_records(
        &[],
        &[conv("a", 1.0, Some("-3"))],
        &[],
        &JourneyOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(
        err.kind(),
        ErrorKind::InvalidField { field: "value", .. }
    ));

    // Path rows: a bad count names the row.
    let rows = vec![PathRow::new(vec![ch("x")], -1.0, Decimal::ZERO, 0.0)];
    assert!(matches!(
        Journeys::from_path_rows(&rows, Currency::USD)
            .as_ref()
            .map_err(|e| e.kind()),
        Err(ErrorKind::InvalidField {
            field: "conversions",
            ..
        })
    ));

    // Models that need what journeys lack, and invalid parameters.
    let j = build(&[touch("a", "x", 1.0)], &[conv("a", 2.0, None)], &[]);
    assert!(matches!(
        j.attribute(&RuleModel::FirstAndLead)
            .as_ref()
            .map_err(|e| e.kind()),
        Err(ErrorKind::InvalidParameter { name: "model", .. })
    ));
    assert!(
        j.attribute(&RuleModel::PositionBased {
            first: 0.8,
            last: 0.4
        })
        .is_err()
    );
    assert!(
        j.attribute(&RuleModel::TimeDecay {
            half_life: TimeDelta::zero()
        })
        .is_err()
    );
    assert!(matches!(
        j.attribute_with_revenue(&RuleModel::Linear)
            .as_ref()
            .map_err(|e| e.kind()),
        Err(ErrorKind::InvalidParameter {
            name: "currency",
            ..
        })
    ));
    // Declaring the currency gives zero revenue instead.
    let o = JourneyOptions::default().with_currency(Currency::USD);
    let j =
        Journeys::from_records(&[touch("a", "x", 1.0)], &[conv("a", 2.0, None)], &[], &o).unwrap();
    let a = j.attribute_with_revenue(&RuleModel::Linear).unwrap();
    assert_eq!(a.revenue, Some(Money::zero(Currency::USD)));
    let rows = vec![PathRow::new(vec![ch("x")], 1.0, Decimal::ONE, 0.0)];
    let p = Journeys::from_path_rows(&rows, Currency::USD).unwrap();
    assert!(p.attribute(&RuleModel::time_decay()).is_err());
    assert!(p.attribute(&RuleModel::WShaped).is_err());
    assert!(p.attribute(&RuleModel::position_based()).is_ok());
}

#[test]
fn path_rows_round_trip_and_aggregate() {
    let t = vec![
        touch("a", "x", 1.0),
        touch("a", "y", 2.0),
        touch("b", "x", 1.0),
        touch("b", "y", 2.0),
        touch("c", "y", 1.0),
    ];
    let c = vec![conv("a", 3.0, Some("10.50")), conv("b", 3.0, Some("0.25"))];
    let j = build(&t, &c, &[]);
    let rows = j.path_rows();
    assert_eq!(
        rows,
        vec![
            PathRow::new(vec![ch("x"), ch("y")], 2.0, Decimal::new(1075, 2), 0.0),
            PathRow::new(vec![ch("y")], 0.0, Decimal::ZERO, 1.0),
        ]
    );
    let back = Journeys::from_path_rows(&rows, Currency::USD).unwrap();
    assert_eq!(back.path_rows(), rows);
    assert_eq!(back.get(0).unwrap().subject(), None);
    // Same credit either way (path rows carry no per-conversion split, so compare value).
    let a1 = j.attribute(&RuleModel::Linear).unwrap();
    let a2 = back.attribute(&RuleModel::Linear).unwrap();
    assert_eq!(a1.channels, a2.channels);
    // Long paths (more than 16 touches) sort among short ones, prefixes first.
    let long: Vec<Channel> = (0..20)
        .map(|i| ch(if i % 3 == 0 { "x" } else { "y" }))
        .collect();
    let mixed = vec![
        PathRow::new(long.clone(), 1.0, Decimal::ONE, 0.0),
        PathRow::new(vec![ch("y")], 0.0, Decimal::ZERO, 2.0),
        PathRow::new(long[..2].to_vec(), 3.0, Decimal::TWO, 0.0),
        PathRow::new(long.clone(), 1.0, Decimal::ONE, 1.0),
        PathRow::new(vec![ch("x")], 1.0, Decimal::ZERO, 0.0),
    ];
    let got = Journeys::from_path_rows(&mixed, Currency::USD)
        .unwrap()
        .path_rows();
    let want = vec![
        PathRow::new(vec![ch("x")], 1.0, Decimal::ZERO, 0.0),
        mixed[2].clone(),
        PathRow::new(long, 2.0, Decimal::TWO, 1.0),
        mixed[1].clone(),
    ];
    assert_eq!(got, want);
    // Empty rows are counted, not stored.
    let empty = Journeys::from_path_rows(
        &[PathRow::new(vec![ch("x")], 0.0, Decimal::ZERO, 0.0)],
        Currency::USD,
    )
    .unwrap();
    assert_eq!((empty.len(), empty.diagnostics().empty_path_rows), (0, 1));
    // Currency mismatch between path-row batches.
    let mut p = Journeys::from_path_rows(&rows, Currency::USD).unwrap();
    assert!(matches!(
        p.merge(&Journeys::from_path_rows(&rows, Currency::EUR).unwrap())
            .as_ref()
            .map_err(|e| e.kind()),
        Err(ErrorKind::CurrencyMismatch { .. })
    ));
}

// ---------------------------------------------------------------------------------
// Rule models, by hand

/// search(1) direct(2) email(3) search(4) direct(5), converting on day 5 for 1000 USD;
/// lead created on day 2 (touch 2, direct), opportunity on day 4 (touch 4, search),
/// won on day 6 (after the conversion: not this journey's milestone).
fn five_touch() -> Journeys {
    let t = vec![
        touch("a", "search", 1.0),
        touch("a", "direct", 2.0),
        touch("a", "email", 3.0),
        touch("a", "search", 4.0),
        touch("a", "direct", 5.0),
    ];
    let e = vec![
        ev("a", "Inquiry", 2.0),
        ev("a", "opportunity", 4.5),
        ev("a", "won", 6.0),
    ];
    build(&t, &[conv("a", 5.0, Some("1000.00"))], &e)
}

#[test]
fn every_model_by_hand() {
    let j = five_touch();
    let r = j.get(0).unwrap();
    assert_eq!(
        (
            r.milestone("inquiry"),
            r.milestone("opportunity"),
            r.milestone("won")
        ),
        (Some(1), Some(3), None)
    );
    let m = 0.2 / 3.0;
    let td: Vec<f64> = (0..5)
        .map(|i| 0.5f64.powf(f64::from(4 - i) / 7.0))
        .collect();
    let tds: f64 = td.iter().sum();
    let cases: Vec<(RuleModel, [f64; 3])> = vec![
        // [search, direct, email]
        (RuleModel::FirstTouch, [1.0, 0.0, 0.0]),
        (RuleModel::LastTouch, [0.0, 1.0, 0.0]),
        (RuleModel::last_non_direct(), [1.0, 0.0, 0.0]),
        (RuleModel::Linear, [0.4, 0.4, 0.2]),
        (RuleModel::LinearUnique, [1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0]),
        (
            RuleModel::time_decay(),
            [(td[0] + td[3]) / tds, (td[1] + td[4]) / tds, td[2] / tds],
        ),
        (RuleModel::position_based(), [0.4 + m, 0.4 + m, m]),
        (RuleModel::J, [0.2 + m, 0.6 + m, m]),
        (RuleModel::InverseJ, [0.6 + m, 0.2 + m, m]),
        (RuleModel::FirstAndLead, [0.5, 0.5, 0.0]),
        (RuleModel::WShaped, [0.6, 0.35, 0.05]),
        (
            RuleModel::FullPath,
            [0.45 / 0.775, 0.275 / 0.775, 0.05 / 0.775],
        ),
    ];
    for (model, want) in cases {
        let a = j.attribute_with_revenue(&model).unwrap();
        for (c, w) in ["search", "direct", "email"].iter().zip(want) {
            assert_close(conv_of(&a, c), w, &format!("{model} {c}"));
            assert_close(
                a.channel(c).unwrap().value,
                1000.0 * w,
                &format!("{model} {c} value"),
            );
        }
        let total = Money::sum(
            Currency::USD,
            a.channels.iter().map(|c| c.revenue.as_ref().unwrap()),
        )
        .unwrap();
        assert_eq!(total, usd("1000.00"), "{model}");
        assert_eq!(a.fallback_conversions, 0.0);
    }
    let w = j.attribute_with_revenue(&RuleModel::WShaped).unwrap();
    assert_eq!(
        ["search", "direct", "email"].map(|c| revenue_of(&w, c)),
        ["600.00", "350.00", "50.00"]
    );
    // Linear unique: per touch 1/6, 1/6, 1/3, 1/6, 1/6 of 100000 cents, so each
    // channel's exact share is 33333⅓ cents; rounded once, the cent left over goes to
    // the tie's first channel by name (not to the first touch).
    let u = j.attribute_with_revenue(&RuleModel::LinearUnique).unwrap();
    let parts = ["search", "direct", "email"].map(|c| revenue_of(&u, c));
    assert_eq!(parts, ["333.33", "333.34", "333.33"]);
}

#[test]
fn last_non_direct_falls_back_to_last_touch() {
    let j = build(
        &[touch("a", "direct", 1.0), touch("a", "Direct-2", 2.0)],
        &[conv("a", 3.0, None)],
        &[],
    );
    let model = RuleModel::LastNonDirect {
        direct: vec![ch("direct"), ch("Direct-2")],
    };
    let a = j.attribute(&model).unwrap();
    assert_eq!(
        (conv_of(&a, "Direct-2"), a.fallback_conversions),
        (1.0, 1.0)
    );
}

#[test]
fn milestone_edge_cases() {
    let u = RuleModel::FirstAndLead;
    // One touch: 100 %, whether or not it is the lead touch.
    let j = build(
        &[touch("a", "x", 1.0)],
        &[conv("a", 5.0, None)],
        &[ev("a", "inquiry", 2.0)],
    );
    assert_eq!(conv_of(&j.attribute(&u).unwrap(), "x"), 1.0);
    // Two touches, lead created at the second: 50/50.
    let two = [touch("a", "x", 1.0), touch("a", "y", 2.0)];
    let j = build(&two, &[conv("a", 5.0, None)], &[ev("a", "inquiry", 2.0)]);
    let a = j.attribute(&u).unwrap();
    assert_eq!((conv_of(&a, "x"), conv_of(&a, "y")), (0.5, 0.5));
    // Lead created at the first touch: the milestones pool on it.
    let j = build(&two, &[conv("a", 5.0, None)], &[ev("a", "inquiry", 1.5)]);
    let a = j.attribute(&u).unwrap();
    assert_eq!((conv_of(&a, "x"), conv_of(&a, "y")), (1.0, 0.0));
    // Lead event before any touch: missing, renormalised to first touch 100 %.
    let j = build(&two, &[conv("a", 5.0, None)], &[ev("a", "inquiry", 0.5)]);
    assert_eq!(conv_of(&j.attribute(&u).unwrap(), "x"), 1.0);

    // W: lead and opportunity on the same touch pool (0.6), rest over the others.
    let four = [
        touch("a", "p", 1.0),
        touch("a", "q", 2.0),
        touch("a", "r", 3.0),
        touch("a", "s", 4.0),
    ];
    let e = [ev("a", "inquiry", 2.0), ev("a", "opportunity", 2.5)];
    let j = build(&four, &[conv("a", 5.0, Some("100.00"))], &e);
    let a = j.attribute_with_revenue(&RuleModel::WShaped).unwrap();
    for (c, w) in [("p", 0.3), ("q", 0.6), ("r", 0.05), ("s", 0.05)] {
        assert_close(conv_of(&a, c), w, c);
    }
    assert_eq!(
        ["p", "q", "r", "s"].map(|c| revenue_of(&a, c)),
        ["30.00", "60.00", "5.00", "5.00"]
    );
    // W with no middle touch: the rest share is renormalised away.
    let j = build(
        &two,
        &[conv("a", 5.0, None)],
        &[ev("a", "inquiry", 1.0), ev("a", "opportunity", 2.0)],
    );
    let a = j.attribute(&RuleModel::WShaped).unwrap();
    assert_close(conv_of(&a, "x"), 0.6 / 0.9, "x");
    assert_close(conv_of(&a, "y"), 0.3 / 0.9, "y");
    // Full path, every milestone distinct; won at the conversion instant counts.
    let five = [
        touch("a", "a1", 1.0),
        touch("a", "a2", 2.0),
        touch("a", "a3", 3.0),
        touch("a", "a4", 4.0),
        touch("a", "a5", 5.0),
    ];
    let e = [
        ev("a", "inquiry", 2.0),
        ev("a", "opportunity", 3.0),
        ev("a", "won", 5.0),
    ];
    let j = build(&five, &[conv("a", 5.0, None)], &e);
    let a = j.attribute(&RuleModel::FullPath).unwrap();
    for (c, w) in [
        ("a1", 0.225),
        ("a2", 0.225),
        ("a3", 0.225),
        ("a4", 0.1),
        ("a5", 0.225),
    ] {
        assert_close(conv_of(&a, c), w, c);
    }
    // Recycled lead: the latest event at or before the conversion anchors it.
    let e = [
        ev("a", "inquiry", 1.0),
        ev("a", "inquiry", 4.0),
        ev("a", "inquiry", 9.0),
    ];
    let j = build(&five, &[conv("a", 5.0, None)], &e);
    assert_eq!(j.get(0).unwrap().milestone("inquiry"), Some(3));
    // Custom: stage keys of another funnel; nothing resolvable → linear, counted.
    let custom = RuleModel::CustomMilestones {
        milestones: vec![(Milestone::stage("SQL"), 2.0), (Milestone::LastTouch, 1.0)],
        rest: 0.0,
    };
    let j = build(&two, &[conv("a", 5.0, None)], &[ev("a", "sql", 1.0)]);
    let a = j.attribute(&custom).unwrap();
    assert_close(conv_of(&a, "x"), 2.0 / 3.0, "custom x");
    let only_stage = RuleModel::CustomMilestones {
        milestones: vec![(Milestone::stage("won"), 1.0)],
        rest: 0.0,
    };
    let a = j.attribute(&only_stage).unwrap();
    assert_eq!(
        (conv_of(&a, "x"), conv_of(&a, "y"), a.fallback_conversions),
        (0.5, 0.5, 1.0)
    );
    // The *_at constructors use other stage keys.
    let a = j.attribute(&RuleModel::first_and_lead_at("SQL")).unwrap();
    assert_eq!(conv_of(&a, "x"), 1.0);
}

#[test]
fn touch_credit_rows_reconcile() {
    let j = five_touch();
    let model = RuleModel::WShaped;
    let rows: Vec<_> = j
        .touch_credits(&model)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[3].touch, 3);
    assert_eq!(rows[3].at, Some(day(4.0)));
    assert_eq!(rows[3].subject.unwrap().as_str(), "a");
    assert_eq!(rows[3].model, &model);
    let parts: Vec<String> = rows
        .iter()
        .map(|r| r.revenue.unwrap().amount().to_string())
        .collect();
    assert_eq!(parts, ["300.00", "300.00", "50.00", "300.00", "50.00"]);
    let a = j.attribute_with_revenue(&model).unwrap();
    for c in &a.channels {
        let sum: f64 = rows
            .iter()
            .filter(|r| r.channel == &c.channel)
            .map(|r| r.conversions)
            .sum();
        assert_close(sum, c.conversions, c.channel.as_str());
    }
}

#[test]
fn attributions_merge_like_journeys() {
    let t = vec![
        touch("a", "x", 1.0),
        touch("a", "y", 2.0),
        touch("b", "y", 1.0),
        touch("b", "z", 2.0),
    ];
    let c = vec![conv("a", 3.0, Some("1.00")), conv("b", 3.0, Some("2.00"))];
    let o = JourneyOptions::default();
    let whole = Journeys::from_records(&t, &c, &[], &o).unwrap();
    let mut parts = Journeys::from_records(&t[..2], &c[..1], &[], &o).unwrap();
    let second = Journeys::from_records(&t[2..], &c[1..], &[], &o).unwrap();
    let mut a1 = parts.attribute_with_revenue(&RuleModel::J).unwrap();
    a1.merge(&second.attribute_with_revenue(&RuleModel::J).unwrap())
        .unwrap();
    assert_eq!(a1, whole.attribute_with_revenue(&RuleModel::J).unwrap());
    parts.merge(&second).unwrap();
    assert_eq!(parts.path_rows(), whole.path_rows());
    assert!(
        a1.merge(&whole.attribute(&RuleModel::Linear).unwrap())
            .is_err()
    );
}

// ---------------------------------------------------------------------------------
// Oracle: ChannelAttribution's heuristic models on its own data set.

#[cfg(feature = "csv")]
#[test]
fn channelattribution_heuristics_oracle() {
    use revops::csv::{Options, Reader};
    let Some(data) = crate::fixtures::shared("attribution/channelattribution_Data.csv") else {
        return;
    };
    let reader =
        Reader::<PathRow, _>::from_path(&data, Options::new().with_delimiter(b';')).unwrap();
    let text = crate::fixtures::oracle("attribution_channelattribution_data.json");
    let rows: Vec<PathRow> = reader.collect::<Result<_, _>>().unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let j = Journeys::from_path_rows(&rows, Currency::USD).unwrap();
    // 10,000 path rows stand for 19,785 converting and 68,602 other journeys.
    assert_eq!(j.len(), 10_000);
    assert_eq!(j.journey_count(), 88_387.0);
    assert_eq!(j.diagnostics().path_rows_read, 10_000);
    let total = json["totals"]["conversions"].as_f64().unwrap();
    assert_close(j.total_conversions(), total, "total conversions");
    let mut worst = 0.0f64;
    for (model, key) in [
        (RuleModel::FirstTouch, "first_touch"),
        (RuleModel::LastTouch, "last_touch"),
        (RuleModel::Linear, "linear_touch"),
    ] {
        let a = j.attribute_with_revenue(&model).unwrap();
        let channels = json["heuristics"]["channels"].as_object().unwrap();
        assert_eq!(a.channels.len(), channels.len());
        for (name, v) in channels {
            let c = a.channel(name).unwrap();
            for (got, field) in [(c.conversions, "conversions"), (c.value, "value")] {
                let want = v[format!("{key}_{field}")].as_f64().unwrap();
                let rel = (got - want).abs() / want.abs().max(1e-300);
                worst = worst.max(rel);
                assert!(rel <= 1e-9, "{key} {name} {field}: got {got}, want {want}");
            }
            // Exact revenue is the real-valued share rounded once: within half a
            // thousandth of it (the values carry up to 17 decimals).
            let exact: f64 = c.revenue.unwrap().amount().try_into().unwrap();
            assert!(
                (exact - c.value).abs() <= 0.0005,
                "{key} {name}: revenue {exact}, real-valued share {}",
                c.value
            );
        }
        // Revenue parts sum exactly to the data's total value.
        let sum = Money::sum(
            Currency::USD,
            a.channels.iter().map(|c| c.revenue.as_ref().unwrap()),
        )
        .unwrap();
        assert_eq!(sum.amount(), rows.iter().map(|r| r.value).sum::<Decimal>());
    }
    #[allow(clippy::print_stderr)]
    {
        eprintln!("channelattribution heuristics: max relative error {worst:e}");
    }
    // Every rule model that path rows allow: revenue per channel is the real-valued
    // share rounded once (the old per-row rounding drifted by up to 3.07).
    let mut drift = Vec::new();
    for model in [
        RuleModel::FirstTouch,
        RuleModel::LastTouch,
        RuleModel::last_non_direct(),
        RuleModel::Linear,
        RuleModel::LinearUnique,
        RuleModel::position_based(),
        RuleModel::J,
        RuleModel::InverseJ,
        RuleModel::CustomMilestones {
            milestones: vec![(Milestone::FirstTouch, 0.3), (Milestone::LastTouch, 0.5)],
            rest: 0.2,
        },
    ] {
        let a = j.attribute_with_revenue(&model).unwrap();
        let worst = a
            .channels
            .iter()
            .map(|c| {
                let r: f64 = c.revenue.unwrap().amount().try_into().unwrap();
                (r - c.value).abs()
            })
            .fold(0.0f64, f64::max);
        drift.push(format!("{model}: {worst:.3e}"));
        assert!(
            worst <= 0.0005,
            "{model}: revenue drifts {worst} from the share"
        );
    }
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "channelattribution max |revenue - share|: {}",
            drift.join(", ")
        );
    }
    // Linear, against the exact rational share computed here in integers: in units
    // of 1e-17 (the finest scale of the file's values), channel c's share is
    // Σ over paths of n of (Σ value × touches of c) / n.
    let unit_scale = rows
        .iter()
        .map(|r| r.value.normalize().scale())
        .max()
        .unwrap();
    assert_eq!(unit_scale, 17);
    let units = |d: Decimal| -> i128 {
        let d = d.normalize();
        d.mantissa() * 10i128.pow(unit_scale - d.scale())
    };
    let mut by_len: std::collections::BTreeMap<(String, i128), i128> = Default::default();
    for r in &rows {
        let n = r.path.len() as i128;
        for c in &r.path {
            *by_len.entry((c.to_string(), n)).or_default() += units(r.value);
        }
    }
    let linear = j.attribute_with_revenue(&RuleModel::Linear).unwrap();
    let mut exact: std::collections::BTreeMap<String, (i128, f64)> = Default::default();
    for ((c, n), s) in by_len {
        let e = exact.entry(c).or_default();
        e.0 += s / n;
        e.1 += (s % n) as f64 / n as f64;
    }
    for (c, (whole, frac)) in exact {
        let got = units(linear.channel(&c).unwrap().revenue.unwrap().amount());
        let diff = (got - whole) as f64 - frac;
        // The exact share rounded up or down: less than one unit (1e-17) away.
        assert!(
            diff.abs() < 1.0 + 1e-6,
            "linear {c}: {got} vs {whole} + {frac}"
        );
    }
    // Aggregating the journeys back gives the file's rows (sorted, duplicates summed).
    let back = j.path_rows();
    let conversions: f64 = back.iter().map(|r| r.conversions).sum();
    assert_close(conversions, total, "round-trip conversions");
}

// ---------------------------------------------------------------------------------
// Properties

#[derive(Debug, Clone)]
struct Data {
    touches: Vec<Touch>,
    conversions: Vec<Conversion>,
    events: Vec<StageEvent>,
}

const CHANNELS: [&str; 5] = ["direct", "search", "email", "social", "webinar"];
const STAGES: [&str; 3] = ["inquiry", "opportunity", "won"];

/// Up to 8 subjects; touches and conversions with distinct times (the index breaks
/// ties);
/// conversions with cent values, some without; stage events.
fn data() -> impl Strategy<Value = Data> {
    let touch = (0..8u8, 0..5usize, prop::option::of(0..2u8), 0..40u32);
    let conversion = (0..9u8, 0..40u32, prop::option::of(0..100_000i64));
    let event = (0..8u8, 0..3usize, 0..40u32);
    (
        prop::collection::vec(touch, 0..40),
        prop::collection::vec(conversion, 0..10),
        prop::collection::vec(event, 1..12),
    )
        .prop_map(|(t, c, e)| Data {
            touches: t
                .into_iter()
                .enumerate()
                .map(|(i, (s, k, camp, d))| {
                    let mut x = Touch::new(
                        sid(&format!("s{s}")),
                        ch(CHANNELS[k]),
                        day(f64::from(d)) + TimeDelta::seconds(i as i64),
                    );
                    x.campaign = camp.map(|c| CampaignId::new(format!("c{c}")).unwrap());
                    x
                })
                .collect(),
            conversions: c
                .into_iter()
                .enumerate()
                .map(|(i, (s, d, v))| {
                    Conversion::new(
                        sid(&format!("s{s}")),
                        day(f64::from(d)) + TimeDelta::seconds(100 + i as i64),
                        v.map(|cents| {
                            Money::from_minor_units(i128::from(cents), Currency::USD).unwrap()
                        }),
                    )
                })
                .collect(),
            events: e
                .into_iter()
                .map(|(s, k, d)| ev(&format!("s{s}"), STAGES[k], f64::from(d) + 0.5))
                .collect(),
        })
}

fn models() -> Vec<RuleModel> {
    let mut m = RuleModel::standard();
    m.push(RuleModel::CustomMilestones {
        milestones: vec![
            (Milestone::stage("opportunity"), 1.0),
            (Milestone::LastTouch, 0.5),
        ],
        rest: 0.0,
    });
    m.push(RuleModel::PositionBased {
        first: 0.0,
        last: 0.0,
    });
    m
}

fn options() -> JourneyOptions {
    JourneyOptions::default().with_currency(Currency::USD)
}

/// Attributions compared: real numbers to 1e-9, money exactly.
fn same(a: &Attribution, b: &Attribution) -> std::result::Result<(), TestCaseError> {
    let near = |x: f64, y: f64| (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0);
    prop_assert_eq!(a.channels.len(), b.channels.len());
    for (x, y) in a.channels.iter().zip(&b.channels) {
        prop_assert_eq!(&x.channel, &y.channel);
        prop_assert!(
            near(x.conversions, y.conversions),
            "{} {} vs {}",
            x.channel,
            x.conversions,
            y.conversions
        );
        prop_assert!(near(x.value, y.value));
        prop_assert_eq!(x.revenue, y.revenue);
    }
    prop_assert_eq!(a.campaigns.len(), b.campaigns.len());
    for (x, y) in a.campaigns.iter().zip(&b.campaigns) {
        prop_assert_eq!((&x.channel, &x.campaign), (&y.channel, &y.campaign));
        prop_assert!(near(x.conversions, y.conversions));
        prop_assert_eq!(x.revenue, y.revenue);
    }
    prop_assert!(near(a.conversions, b.conversions));
    prop_assert!(near(a.unattributed_conversions, b.unattributed_conversions));
    prop_assert!(near(a.fallback_conversions, b.fallback_conversions));
    prop_assert_eq!(a.revenue, b.revenue);
    prop_assert_eq!(a.unattributed_revenue, b.unattributed_revenue);
    Ok(())
}

fn all(j: &Journeys) -> Vec<Attribution> {
    models()
        .iter()
        .map(|m| j.attribute_with_revenue(m).unwrap())
        .collect()
}

fn permute<T: Clone>(v: &[T], seed: u64) -> Vec<T> {
    let mut out = v.to_vec();
    let mut s = seed | 1;
    for i in (1..out.len()).rev() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        out.swap(i, (s % (i as u64 + 1)) as usize);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn credit_sums_to_one_and_revenue_splits_exactly(d in data(), repeat in 0..3u8) {
        let repeat = [RepeatConversions::SincePrevious, RepeatConversions::AllPrior, RepeatConversions::FirstOnly][repeat as usize];
        let j = Journeys::from_records(&d.touches, &d.conversions, &d.events, &options().with_repeat(repeat)).unwrap();
        for model in models() {
            let a = j.attribute_with_revenue(&model).unwrap();
            // Channel totals equal the credited conversions.
            let credited: f64 = a.channels.iter().map(|c| c.conversions).sum();
            prop_assert!((credited + a.unattributed_conversions - a.conversions).abs() < 1e-9);
            prop_assert!((a.conversions - j.total_conversions()).abs() < 1e-9);
            let by_campaign: f64 = a.campaigns.iter().map(|c| c.conversions).sum();
            prop_assert!((credited - by_campaign).abs() < 1e-9);
            // Revenue parts sum exactly to the converted revenue.
            let channel_revenue = Money::sum(Currency::USD, a.channels.iter().map(|c| c.revenue.as_ref().unwrap())).unwrap();
            let campaign_revenue = Money::sum(Currency::USD, a.campaigns.iter().map(|c| c.revenue.as_ref().unwrap())).unwrap();
            prop_assert_eq!(channel_revenue, campaign_revenue);
            prop_assert_eq!(channel_revenue.checked_add(&a.unattributed_revenue.unwrap()).unwrap(), a.revenue.unwrap());
            prop_assert_eq!(a.revenue.unwrap().amount(), j.total_value());
            // Per conversion: shares sum to 1, revenue parts sum to its value.
            let rows: Vec<_> = j.touch_credits(&model).unwrap().collect::<Result<_, _>>().unwrap();
            for journey in j.iter().filter(|r| r.conversions() > 0.0 && !r.is_empty()) {
                let mine: Vec<_> = rows.iter().filter(|r| r.journey == journey.index()).collect();
                prop_assert_eq!(mine.len(), journey.len());
                let share: f64 = mine.iter().map(|r| r.credit).sum();
                prop_assert!((share - 1.0).abs() < 1e-12, "{} journey {}: {}", model, journey.index(), share);
                prop_assert!(mine.iter().all(|r| r.credit >= 0.0));
                let parts = Money::sum(Currency::USD, mine.iter().map(|r| r.revenue.as_ref().unwrap())).unwrap();
                prop_assert_eq!(parts.amount(), journey.value());
            }
        }
    }

    #[test]
    fn merging_any_split_equals_one_pass(d in data(), cuts in prop::collection::vec((0..41usize, 0..11usize, 0..13usize), 0..4)) {
        let whole = Journeys::from_records(&d.touches, &d.conversions, &d.events, &options()).unwrap();
        // Split each record list at sorted cut points into batches.
        let mut ct: Vec<usize> = cuts.iter().map(|c| c.0.min(d.touches.len())).collect();
        let mut cc: Vec<usize> = cuts.iter().map(|c| c.1.min(d.conversions.len())).collect();
        let mut ce: Vec<usize> = cuts.iter().map(|c| c.2.min(d.events.len())).collect();
        ct.sort_unstable(); cc.sort_unstable(); ce.sort_unstable();
        let bounds = |cuts: &[usize], len: usize| {
            let mut b = vec![0];
            b.extend_from_slice(cuts);
            b.push(len);
            b
        };
        let (bt, bc, be) = (bounds(&ct, d.touches.len()), bounds(&cc, d.conversions.len()), bounds(&ce, d.events.len()));
        let mut acc = JourneyBuilder::new(options()).unwrap();
        for i in 0..bt.len() - 1 {
            let mut part = JourneyBuilder::new(options()).unwrap();
            part.add_batch(&d.touches[bt[i]..bt[i + 1]], &d.conversions[bc[i]..bc[i + 1]], &d.events[be[i]..be[i + 1]]).unwrap();
            acc.merge(&part).unwrap();
        }
        let merged = acc.finish().unwrap();
        prop_assert_eq!(merged.path_rows(), whole.path_rows());
        prop_assert_eq!(merged.diagnostics().unattributed_conversions(), whole.diagnostics().unattributed_conversions());
        for (a, b) in all(&merged).iter().zip(&all(&whole)) {
            same(a, b)?;
        }
    }

    #[test]
    fn path_row_batches_merge_exactly(d in data(), cut in 0..20usize) {
        let rows = Journeys::from_records(&d.touches, &d.conversions, &d.events, &options()).unwrap().path_rows();
        let cut = cut.min(rows.len());
        let whole = Journeys::from_path_rows(&rows, Currency::USD).unwrap();
        let mut parts = Journeys::from_path_rows(&rows[..cut], Currency::USD).unwrap();
        parts.add_batch(&rows[cut..]).unwrap();
        prop_assert_eq!(parts.path_rows(), rows);
        for m in [RuleModel::FirstTouch, RuleModel::LastTouch, RuleModel::Linear, RuleModel::LinearUnique, RuleModel::J] {
            prop_assert_eq!(parts.attribute_with_revenue(&m).unwrap(), whole.attribute_with_revenue(&m).unwrap());
        }
    }

    #[test]
    fn input_order_does_not_matter(d in data(), seed in any::<u64>()) {
        let base = Journeys::from_records(&d.touches, &d.conversions, &d.events, &options()).unwrap();
        // Touch times are distinct, so any order of any record list gives the same.
        let shuffled = Journeys::from_records(
            &permute(&d.touches, seed),
            &permute(&d.conversions, seed.rotate_left(17)),
            &permute(&d.events, seed.rotate_left(31)),
            &options(),
        ).unwrap();
        prop_assert_eq!(shuffled.path_rows(), base.path_rows());
        for (a, b) in all(&shuffled).iter().zip(&all(&base)) {
            same(a, b)?;
        }
        // Journeys in another order (path rows shuffled) too.
        let rows = base.path_rows();
        let p1 = Journeys::from_path_rows(&rows, Currency::USD).unwrap();
        let p2 = Journeys::from_path_rows(&permute(&rows, seed), Currency::USD).unwrap();
        for m in [RuleModel::Linear, RuleModel::position_based(), RuleModel::LinearUnique] {
            same(&p1.attribute_with_revenue(&m).unwrap(), &p2.attribute_with_revenue(&m).unwrap())?;
        }
    }
}

/// Everything a set of journeys shows: each journey (subject, end, weights, value,
/// touches) with its milestones, the diagnostics and the path rows.
fn fingerprint(j: &Journeys) -> String {
    let mut out = String::new();
    for r in j.iter() {
        let ms: Vec<Option<usize>> = STAGES.iter().map(|s| r.milestone(s)).collect();
        out += &format!("{r:?} {ms:?}\n");
    }
    out += &format!(
        "{:?}\n{:?}\n{:?}",
        j.diagnostics(),
        j.path_rows(),
        j.currency()
    );
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// The fast paths give exactly what the plain ones give: `into_journeys` (in
    /// place or not) what `build` gives, `attribute_all` what `attribute` gives per
    /// model, `MarkovCounts::from_journeys` what adding the path rows gives.
    #[test]
    fn fast_paths_equal_the_plain_ones(
        d in data(),
        repeat in 0..3u8,
        trailing in any::<bool>(),
        lookback in prop::option::of(0..30i64),
        grouped in any::<bool>(),
    ) {
        let mut touches = d.touches.clone();
        if grouped {
            touches.sort_by(|a, b| a.subject.cmp(&b.subject)); // stable
        }
        let mut o = options()
            .with_repeat([RepeatConversions::SincePrevious, RepeatConversions::AllPrior, RepeatConversions::FirstOnly][repeat as usize]);
        if trailing {
            o = o.with_trailing(TrailingTouches::NonConverting);
        }
        if let Some(days) = lookback {
            o = o.with_lookback(TimeDelta::days(days));
        }
        let mut b = JourneyBuilder::new(o.clone()).unwrap();
        b.add_batch(&touches, &d.conversions, &d.events).unwrap();
        let built = b.finish().unwrap();
        let consumed = b.into_journeys().unwrap();
        prop_assert_eq!(fingerprint(&built), fingerprint(&consumed));
        prop_assert_eq!(all(&built), all(&consumed));

        let models: Vec<RuleModel> = models().into_iter().filter(|m| m.milestone_weights().is_none()).collect();
        let together = consumed.attribute_all(&models).unwrap();
        for (m, a) in models.iter().zip(&together) {
            prop_assert_eq!(a, &consumed.attribute(m).unwrap());
        }
        if consumed.currency().is_some() {
            let with_revenue = consumed.attribute_all_with_revenue(&models).unwrap();
            for (m, a) in models.iter().zip(&with_revenue) {
                prop_assert_eq!(a, &consumed.attribute_with_revenue(m).unwrap());
            }
        }

        for markov_options in [MarkovOptions::default(), MarkovOptions::default().with_order(2)] {
            let direct = MarkovCounts::from_journeys(&consumed, markov_options).unwrap();
            let mut rows = MarkovCounts::new(markov_options).unwrap();
            rows.add_batch(&consumed.path_rows()).unwrap();
            prop_assert_eq!(direct.rows(), rows.rows());
            prop_assert_eq!(direct.finish().ok(), rows.finish().ok());
        }
    }
}

/// Paths of any length over few or many channels take the 64-bit, the 128-bit or
/// the general aggregation (by bits per touch × the longest path): the same rows as aggregating by hand, the same Markov
/// counts.
#[test]
fn path_aggregation_of_long_paths_and_many_channels() {
    let names: Vec<Channel> = (0..300).map(|i| ch(&format!("c{i:03}"))).collect();
    for (channels, max_len) in [
        (10usize, 8usize),
        (10, 16),
        (10, 24),
        (10, 40),
        (300, 6),
        (300, 12),
        (300, 16),
    ] {
        let mut rows = Vec::new();
        let mut s = 7u64;
        let mut next = |n: u64| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s % n
        };
        for _ in 0..400 {
            let len = 1 + next(max_len as u64) as usize;
            let path: Vec<Channel> = (0..len)
                .map(|_| names[next(channels as u64) as usize].clone())
                .collect();
            let c = next(3) as f64;
            rows.push(PathRow::new(
                path,
                c,
                Decimal::new(next(1000) as i64, 2),
                next(4) as f64,
            ));
        }
        let j = Journeys::from_path_rows(&rows, Currency::USD).unwrap();
        // By hand: sum per path in input order, sorted by path.
        let mut by_path: std::collections::BTreeMap<Vec<Channel>, (f64, Decimal, f64)> =
            Default::default();
        for r in rows
            .iter()
            .filter(|r| r.conversions > 0.0 || r.nulls > 0.0 || !r.value.is_zero())
        {
            let e = by_path
                .entry(r.path.clone())
                .or_insert((0.0, Decimal::ZERO, 0.0));
            e.0 += r.conversions;
            e.1 += r.value;
            e.2 += r.nulls;
        }
        let want: Vec<PathRow> = by_path
            .into_iter()
            .map(|(p, (c, v, n))| PathRow::new(p, c, v, n))
            .collect();
        assert_eq!(
            j.path_rows(),
            want,
            "{channels} channels, up to {max_len} touches"
        );
        let direct = MarkovCounts::from_journeys(&j, MarkovOptions::default()).unwrap();
        let mut via_rows = MarkovCounts::default();
        via_rows.add_batch(&want).unwrap();
        assert_eq!(direct.finish().unwrap(), via_rows.finish().unwrap());
    }
}

/// Random path rows over five channels: values with 0 to 6 decimals, some with a
/// mantissa near `i64::MAX`.
fn valued_rows() -> impl Strategy<Value = Vec<PathRow>> {
    let value = prop_oneof![
        (0..1_000_000i64, 0..7u32).prop_map(|(m, s)| Decimal::new(m, s)),
        (0..3i64, 0..7u32).prop_map(|(m, s)| Decimal::new(i64::MAX - m, s)),
    ];
    let row = (
        prop::collection::vec(0..5usize, 1..9),
        0..3u8,
        value,
        0..3u8,
    );
    prop::collection::vec(row, 1..30).prop_map(|rows| {
        rows.into_iter()
            .map(|(p, c, v, n)| {
                PathRow::new(
                    p.into_iter().map(|i| ch(CHANNELS[i])).collect(),
                    f64::from(c),
                    v,
                    f64::from(n),
                )
            })
            .collect()
    })
}

/// `amount` in units of `10^-scale` (exact: `scale` is at least the amount's).
fn in_units(amount: Decimal, scale: u32) -> i128 {
    let d = amount.normalize();
    d.mantissa() * 10i128.pow(scale - d.scale())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Channel revenue is each channel's exact share of the revenue rounded once (to
    /// the unit of the finest value, at least the currency's minor unit): the exact
    /// share rounded down or up, so less than one unit away, and the parts sum
    /// exactly to the total. Campaign rows sum exactly to their channel.
    #[test]
    fn revenue_is_the_exact_share_rounded_once(rows in valued_rows()) {
        let j = Journeys::from_path_rows(&rows, Currency::USD).unwrap();
        let scale = rows.iter().map(|r| r.value.normalize().scale()).max().unwrap().max(2);
        let credited: Vec<&PathRow> = rows.iter().filter(|r| r.conversions > 0.0 || r.nulls > 0.0 || !r.value.is_zero()).collect();
        // Exact shares times 840 (= lcm(1..=8)) for the models with rational shares.
        type Share = fn(&[Channel], &Channel) -> (i128, i128);
        let count = |p: &[Channel], c: &Channel| p.iter().filter(|x| *x == c).count() as i128;
        let first: Share = |p, c| (i128::from(&p[0] == c), 1);
        let last: Share = |p, c| (i128::from(&p[p.len() - 1] == c), 1);
        let linear: Share = |p, c| (p.iter().filter(|x| *x == c).count() as i128, p.len() as i128);
        let unique: Share = |p, c| {
            let mut d: Vec<&Channel> = p.iter().collect();
            d.sort();
            d.dedup();
            (i128::from(p.contains(c)), d.len() as i128)
        };
        let _ = count;
        for (model, share) in [
            (RuleModel::FirstTouch, first),
            (RuleModel::LastTouch, last),
            (RuleModel::Linear, linear),
            (RuleModel::LinearUnique, unique),
        ] {
            let a = j.attribute_with_revenue(&model).unwrap();
            for c in &a.channels {
                let x840: i128 = credited.iter().map(|r| {
                    let (num, den) = share(&r.path, &c.channel);
                    in_units(r.value, scale) * num * (840 / den)
                }).sum();
                let got = in_units(c.revenue.unwrap().amount(), scale) * 840;
                prop_assert!((got - x840).abs() < 840, "{} {}: {} vs {}/840", model, c.channel, got / 840, x840);
            }
            check_sums(&a, &rows)?;
        }
        // Models with f64 parameters: against the real-valued share.
        for model in [
            RuleModel::position_based(),
            RuleModel::J,
            RuleModel::CustomMilestones { milestones: vec![(Milestone::FirstTouch, 0.3), (Milestone::LastTouch, 0.5)], rest: 0.2 },
        ] {
            let a = j.attribute_with_revenue(&model).unwrap();
            let total: f64 = credited.iter().map(|r| in_units(r.value, scale) as f64).sum();
            let rows_by_touch: Vec<_> = j.touch_credits(&model).unwrap().collect::<Result<_, _>>().unwrap();
            for c in &a.channels {
                let x: f64 = rows_by_touch.iter().filter(|t| t.channel == &c.channel)
                    .map(|t| t.credit * in_units(j.get(t.journey).unwrap().value(), scale) as f64)
                    .sum();
                let got = in_units(c.revenue.unwrap().amount(), scale) as f64;
                prop_assert!((got - x).abs() < 1.0 + 1e-9 * total, "{} {}: {} vs {}", model, c.channel, got, x);
            }
            check_sums(&a, &rows)?;
        }
    }
}

/// Channel revenue sums exactly to the total; campaign rows to their channel.
fn check_sums(a: &Attribution, rows: &[PathRow]) -> std::result::Result<(), TestCaseError> {
    let total: Decimal = rows.iter().map(|r| r.value).sum();
    let channels = Money::sum(
        Currency::USD,
        a.channels.iter().map(|c| c.revenue.as_ref().unwrap()),
    )
    .unwrap();
    prop_assert_eq!(
        channels.amount() + a.unattributed_revenue.unwrap().amount(),
        total
    );
    prop_assert_eq!(a.revenue.unwrap().amount(), total);
    for c in &a.channels {
        let campaigns = Money::sum(
            Currency::USD,
            a.campaigns
                .iter()
                .filter(|k| k.channel == c.channel)
                .map(|k| k.revenue.as_ref().unwrap()),
        )
        .unwrap();
        prop_assert_eq!(campaigns, c.revenue.unwrap());
    }
    Ok(())
}

/// A report over 20,000 subjects with two channels of their own each (40,000
/// channels) took 96 s and 4.9 GB in the Markov and Shapley solves; now both are
/// left out, named with their limits, and the rule models are still reported.
#[test]
fn report_leaves_out_data_driven_models_beyond_their_limits() {
    let mut touches = Vec::new();
    let mut conversions = Vec::new();
    for i in 0..20_000 {
        let s = format!("s{i:05}");
        touches.push(touch(&s, &format!("a{i}"), 1.0));
        touches.push(touch(&s, &format!("b{i}"), 2.0));
        if i % 3 == 0 {
            conversions.push(conv(&s, 3.0, Some("10.00")));
        }
    }
    let input = revops::report::ReportInput {
        touches: &touches,
        conversions: &conversions,
        ..Default::default()
    };
    let models =
        ["linear", "markov", "shapley"].map(|m| m.parse::<revops::AttributionModel>().unwrap());
    let options = revops::report::ReportOptions::default().with_models(models);
    let r = revops::report::Report::build(&input, &options).unwrap();
    let a = r.attribution.as_ref().unwrap();
    assert_eq!(a.journey_count, 20_000);
    assert!(a.markov.is_none() && a.shapley.is_none());
    for (section, limit) in [
        ("attribution.markov", "MarkovOptions::max_states"),
        ("attribution.shapley", "ShapleyOptions::max_channels"),
    ] {
        let o = r.omitted.iter().find(|o| o.section == section).unwrap();
        assert!(o.reason.contains(limit), "{section}: {}", o.reason);
    }
    let linear = &a.rules[0];
    assert_eq!(linear.channels.len(), 40_000);
    assert_eq!(linear.revenue, Some(usd(&format!("{}.00", 10 * 6_667))));
    // The text report renders without the left-out columns.
    assert!(r.to_string().contains("20000 journeys"));
}

/// Two conversions of 79228162514264337593543950335 and 1 overflowed `Decimal`
/// additions and panicked (in `total_value`, `path_rows`, revenue, and inside the
/// report as "the attribution thread panicked"); now building the journeys names
/// the conversion or path row whose value overflows the sum.
#[test]
fn value_sums_that_overflow_are_named_errors() {
    let max = Money::new(Decimal::MAX, Currency::USD);
    let one = Money::new(Decimal::ONE, Currency::USD);
    let t = vec![touch("a", "x", 1.0), touch("b", "x", 1.0)];
    let c = vec![
        Conversion::new(sid("a"), day(2.0), Some(max)),
        Conversion::new(sid("b"), day(2.0), Some(one)),
    ];
    let err = Journeys::from_records(&t, &c, &[], &JourneyOptions::default()).unwrap_err();
    assert!(
        matches!(&err.kind(), ErrorKind::InvalidField { record, field: "value", .. } if record.kind == "conversion" && record.index == Some(1)),
        "{err}"
    );
    // One alone is fine; revenue that does not fit the unit is an error, not a panic.
    let j = Journeys::from_records(&t, &c[..1], &[], &JourneyOptions::default()).unwrap();
    assert_eq!(j.total_value(), Decimal::MAX);
    assert_eq!(j.path_rows()[0].value, Decimal::MAX);
    assert!(matches!(
        j.attribute_with_revenue(&RuleModel::Linear)
            .as_ref()
            .map_err(|e| e.kind()),
        Err(ErrorKind::Overflow { .. })
    ));
    // Path rows: the row is named; merging sets whose values overflow is refused.
    let row = |v: Decimal| PathRow::new(vec![ch("x")], 1.0, v, 0.0);
    let err = Journeys::from_path_rows(&[row(Decimal::MAX), row(Decimal::ONE)], Currency::USD)
        .unwrap_err();
    assert!(
        matches!(&err.kind(), ErrorKind::InvalidField { record, field: "value", .. } if record.index == Some(1)),
        "{err}"
    );
    let mut a = Journeys::from_path_rows(&[row(Decimal::MAX)], Currency::USD).unwrap();
    let b = Journeys::from_path_rows(&[row(Decimal::ONE)], Currency::USD).unwrap();
    assert!(matches!(
        a.merge(&b).as_ref().map_err(|e| e.kind()),
        Err(ErrorKind::Overflow { .. })
    ));
    assert!(a.add_batch(&[row(Decimal::ONE)]).is_err());
    assert_eq!(a.total_value(), Decimal::MAX);
    // In the report: a clear error instead of a panicked thread.
    let input = revops::report::ReportInput {
        touches: &t,
        conversions: &c,
        ..Default::default()
    };
    let err = revops::report::Report::build(&input, &revops::report::ReportOptions::default())
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidField { field: "value", .. }),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------
// The accumulator contract: JourneyBuilder (records) and Journeys (path rows)

use revops::attribution::{JourneyDiagnostics, JourneyRecord};

/// The records of `d` as one stream: touches, conversions and stage events
/// interleaved (so that any cut splits each kind somewhere).
fn records(d: &Data) -> Vec<JourneyRecord> {
    let mut out: Vec<JourneyRecord> = Vec::new();
    let n = d.touches.len().max(d.conversions.len()).max(d.events.len());
    for i in 0..n {
        out.extend(d.touches.get(i).cloned().map(JourneyRecord::from));
        out.extend(d.conversions.get(i).cloned().map(JourneyRecord::from));
        out.extend(d.events.get(i).cloned().map(JourneyRecord::from));
    }
    out
}

/// Diagnostics without the named examples (their positions follow the input order,
/// which a merge in the other order changes).
fn counts(d: &JourneyDiagnostics) -> JourneyDiagnostics {
    JourneyDiagnostics {
        examples: Vec::new(),
        ..d.clone()
    }
}

fn arb_journey_options() -> impl Strategy<Value = JourneyOptions> {
    (
        prop_oneof![
            Just(RepeatConversions::SincePrevious),
            Just(RepeatConversions::AllPrior),
            Just(RepeatConversions::FirstOnly)
        ],
        any::<bool>(),
        prop::option::of(1..30i64),
        any::<bool>(),
    )
        .prop_map(|(repeat, trailing, lookback, filter)| {
            let mut o = options().with_repeat(repeat);
            if trailing {
                o = o.with_trailing(TrailingTouches::NonConverting);
            }
            if let Some(days) = lookback {
                o = o.with_lookback(TimeDelta::days(days));
            }
            if filter {
                o = o.with_exclude_channels(vec![ch(CHANNELS[0])]);
            }
            o
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn journey_builder_follows_the_contract(d in data(), cut in 0usize..80, o in arb_journey_options()) {
        let items = records(&d);
        crate::contract::assert_contract(
            || JourneyBuilder::new(o.clone()).unwrap(),
            &items,
            cut,
            |j: &Journeys| (j.path_rows(), counts(j.diagnostics())),
        );
        // One record at a time is the batch, and the batch is `from_records`.
        let mut one = JourneyBuilder::new(o.clone()).unwrap();
        one.add_batch(&d.touches, &d.conversions, &d.events).unwrap();
        let whole = Journeys::from_records(&d.touches, &d.conversions, &d.events, &o).unwrap();
        prop_assert_eq!(one.finish().unwrap().path_rows(), whole.path_rows());
    }

    #[test]
    fn journeys_follow_the_contract(d in data(), cut in 0usize..30) {
        let rows = Journeys::from_records(&d.touches, &d.conversions, &d.events, &options())
            .unwrap()
            .path_rows();
        crate::contract::assert_contract(
            || Journeys::new(options()).unwrap(),
            &rows,
            cut,
            |r| r.clone(),
        );
    }

    /// Journeys cut from records survive a round trip: every model, milestones
    /// included, gives the same credit.
    #[test]
    fn journeys_from_records_round_trip(d in data()) {
        let j = Journeys::from_records(&d.touches, &d.conversions, &d.events, &options()).unwrap();
        let back: Journeys = crate::contract::ship(&j);
        prop_assert_eq!(back.path_rows(), j.path_rows());
        prop_assert_eq!(back.diagnostics(), j.diagnostics());
        for m in [RuleModel::WShaped, RuleModel::TimeDecay { half_life: TimeDelta::days(7) }, RuleModel::Linear] {
            prop_assert_eq!(back.attribute_with_revenue(&m).unwrap(), j.attribute_with_revenue(&m).unwrap());
        }
    }
}

fn small_data() -> Data {
    Data {
        touches: vec![
            touch("a", "search", 1.0),
            touch("a", "email", 2.0),
            touch("b", "email", 1.5),
        ],
        conversions: vec![conv("a", 3.0, Some("10.00"))],
        events: vec![ev("a", "inquiry", 1.5)],
    }
}

#[test]
fn journey_states_refuse_another_version_and_other_options() {
    let d = small_data();
    let mut b = JourneyBuilder::new(options()).unwrap();
    b.add_batch(&d.touches, &d.conversions, &d.events).unwrap();
    let j = b.finish().unwrap();
    let (mut bv, mut jv) = (
        serde_json::to_value(&b).unwrap(),
        serde_json::to_value(&j).unwrap(),
    );
    assert_eq!((&bv["version"], &jv["version"]), (&1.into(), &1.into()));
    bv["version"] = 7.into();
    jv["version"] = 7.into();
    let e = serde_json::from_value::<JourneyBuilder>(bv).unwrap_err();
    assert!(e.to_string().contains("version 7 is not supported"), "{e}");
    let e = serde_json::from_value::<Journeys>(jv).unwrap_err();
    assert!(e.to_string().contains("version 7 is not supported"), "{e}");
    let other = options().with_lookback(TimeDelta::days(3));
    let e = b
        .merge(&JourneyBuilder::new(other.clone()).unwrap())
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::MergeMismatch { .. }), "{e}");
    let mut j2 = j.clone();
    let e = j2
        .merge(&Journeys::from_records(&[], &[], &[], &other).unwrap())
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::MergeMismatch { .. }), "{e}");
    assert_eq!(j2.path_rows(), j.path_rows());
    // A negative lookback is refused at `new`, not at the end.
    let negative = options().with_lookback(TimeDelta::days(-1));
    assert!(JourneyBuilder::new(negative.clone()).is_err());
    assert!(Journeys::new(negative).is_err());
}

#[test]
fn hostile_journey_states_are_errors() {
    let d = small_data();
    let mut b = JourneyBuilder::new(options()).unwrap();
    b.add_batch(&d.touches, &d.conversions, &d.events).unwrap();
    let j = b.finish().unwrap();
    let bv = serde_json::to_value(&b).unwrap();
    let jv = serde_json::to_value(&j).unwrap();
    let tamper = |v: &serde_json::Value, f: &dyn Fn(&mut serde_json::Value)| {
        let mut w = v.clone();
        f(&mut w);
        w
    };
    let bad_builders = [
        tamper(&bv, &|w| w["touch_subject"][0] = 9.into()),
        tamper(&bv, &|w| w["touch_pair"][0] = 9.into()),
        tamper(&bv, &|w| w["touch_at"] = serde_json::json!([1])),
        tamper(&bv, &|w| w["touch_at"][0] = i64::MIN.into()),
        tamper(&bv, &|w| w["subjects"][1] = "a".into()),
        tamper(&bv, &|w| w["subjects"][1] = " ".into()),
        tamper(&bv, &|w| {
            w["names"]["pairs"][0] = serde_json::json!([7, null])
        }),
        tamper(&bv, &|w| w["names"]["pairs"][0] = serde_json::json!([0, 3])),
        tamper(&bv, &|w| w["names"]["channels"][1] = "search".into()),
        tamper(&bv, &|w| w["conversions"][0][1] = 5.into()),
        tamper(&bv, &|w| w["conversions"][0][2] = "-1".into()),
        tamper(&bv, &|w| w["stage_events"][0][2] = 4.into()),
        tamper(&bv, &|w| w["currency"]["source"] = "nowhere".into()),
    ];
    for v in bad_builders {
        assert!(
            serde_json::from_value::<JourneyBuilder>(v.clone()).is_err(),
            "accepted {v}"
        );
    }
    let bad_journeys = [
        tamper(&jv, &|w| w["ends"][0] = 99.into()),
        tamper(&jv, &|w| w["ends"] = serde_json::json!([2, 1])),
        tamper(&jv, &|w| w["subject"][0] = 9.into()),
        tamper(&jv, &|w| w["weight"][0] = 3.into()),
        tamper(&jv, &|w| w["weight"][0] = (-3).into()),
        tamper(&jv, &|w| w["value_slot"][0] = 4.into()),
        tamper(&jv, &|w| w["values"][0] = "-1".into()),
        tamper(&jv, &|w| w["touch_pair"][0] = 9.into()),
        tamper(&jv, &|w| w["touch_at"][0] = serde_json::Value::Null),
        // a subject's touches out of time order
        tamper(&jv, &|w| {
            let later = w["touch_at"][1].as_i64().unwrap() + 1;
            w["touch_at"][0] = later.into();
        }),
        tamper(&jv, &|w| w["milestones"][0][1] = 5.into()),
        tamper(&jv, &|w| w["milestones"][0][0] = 5.into()),
        tamper(&jv, &|w| w["ms_ends"] = serde_json::json!([0])),
        tamper(&jv, &|w| w["subject"][0] = serde_json::Value::Null),
        tamper(&jv, &|w| w["unknown"] = 1.into()),
    ];
    for v in bad_journeys {
        assert!(
            serde_json::from_value::<Journeys>(v.clone()).is_err(),
            "accepted {v}"
        );
    }
    // The untampered states read back to the same journeys.
    let b2: JourneyBuilder = serde_json::from_value(bv).unwrap();
    assert_eq!(b2.finish().unwrap().path_rows(), j.path_rows());
    let j2: Journeys = serde_json::from_value(jv).unwrap();
    assert_eq!(
        j2.attribute_with_revenue(&RuleModel::WShaped).unwrap(),
        j.attribute_with_revenue(&RuleModel::WShaped).unwrap()
    );
}
