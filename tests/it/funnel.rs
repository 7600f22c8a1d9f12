//! The funnel engine: hand-computed scenarios for every policy, properties
//! (merge = one pass, order does not matter, rates in [0, 1], counts never increase
//! down the funnel), and the real Olist funnel.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use revops::{
    Funnel, Granularity, Lead, LeadId, StageEvent, SubjectId, funnel::BackwardPolicy,
    funnel::CohortAnchor, funnel::CohortCounts, funnel::CohortReport, funnel::CohortSpec,
    funnel::CycleScope, funnel::Dimension, funnel::FlowSpec, funnel::FunnelData,
    funnel::FunnelEvents, funnel::InferredEndpoints, funnel::PathOptions, funnel::Paths,
    funnel::QualificationSpec, funnel::QuantileMode, funnel::SkipPolicy, funnel::TieBreak,
    funnel::VelocitySpec, funnel::cohort_report, funnel::flow_report, funnel::qualification_report,
    funnel::velocity_report,
};

fn jan(d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + TimeDelta::days(i64::from(d) - 1)
}

fn lead(id: &str, day: u32, source: Option<&str>) -> Lead {
    let mut l = Lead::new(LeadId::new(id).unwrap(), jan(day));
    l.source = source.map(|s| revops::Channel::new(s).unwrap());
    l
}

fn ev(id: &str, stage: &str, day: u32) -> StageEvent {
    StageEvent::new(SubjectId::new(id).unwrap(), stage, jan(day))
}

/// L1 walks the whole path; L2 enters at MQL and is disqualified; L3 jumps from
/// inquiry to SQL and is lost; L4 has no events.
fn scenario() -> (Vec<Lead>, Vec<StageEvent>) {
    let leads = vec![
        lead("L1", 1, Some("webinar")),
        lead("L2", 2, Some("paid_search")),
        lead("L3", 3, Some("webinar")),
        lead("L4", 4, None),
    ];
    let events = vec![
        ev("L1", "inquiry", 5),
        ev("L1", "mql", 6),
        ev("L1", "sal", 8),
        ev("L1", "sql", 10),
        ev("L1", "opportunity", 20),
        ev("L1", "won", 41),
        ev("L2", "mql", 7),
        ev("L2", "disqualified", 9).with_reason("no budget"),
        ev("L3", "inquiry", 5),
        ev("L3", "sql", 12),
        ev("L3", "lost", 32),
    ];
    (leads, events)
}

fn paths_for(data: &FunnelData<'_>, events: &[StageEvent], o: PathOptions) -> Paths {
    let mut acc = FunnelEvents::default();
    acc.add_batch(data, events).unwrap();
    acc.paths(data, o)
}

fn reached(r: &CohortReport) -> Vec<Option<u64>> {
    r.total.all.reached.clone()
}

#[test]
fn backfill_strict_and_any_stage_count_as_documented() {
    let (leads, events) = scenario();
    let data = FunnelData::new(Funnel::demand_waterfall(), &leads).unwrap();
    let spec = CohortSpec::default();
    let s = |x: u64| Some(x);

    let back = cohort_report(
        &data,
        &paths_for(&data, &events, PathOptions::default()),
        &spec,
    )
    .unwrap();
    assert_eq!(back.total.all.entered, 4);
    assert_eq!(reached(&back), [s(3), s(3), s(2), s(2), s(1), s(1)]);
    assert_eq!(back.total.all.steps[1].ratio.to_string(), "2 / 3 (66.7%)");
    assert_eq!(back.total.all.to_won[0].ratio.to_string(), "1 / 3 (33.3%)");

    let strict = PathOptions::default().with_skip(SkipPolicy::Strict);
    let r = cohort_report(&data, &paths_for(&data, &events, strict), &spec).unwrap();
    assert_eq!(reached(&r), [s(2), s(1), s(1), s(1), s(1), s(1)]);

    let any = PathOptions::default().with_skip(SkipPolicy::AnyStage);
    let r = cohort_report(&data, &paths_for(&data, &events, any), &spec).unwrap();
    assert_eq!(reached(&r), [s(2), s(2), s(1), s(2), s(1), s(1)]);
    // MQL → SAL: of L1 and L2 (both reached MQL) only L1 reached SAL
    assert_eq!(r.total.all.steps[1].ratio.to_string(), "1 / 2 (50.0%)");
    // SAL → SQL: L1 reached both
    assert_eq!(r.total.all.steps[2].ratio.to_string(), "1 / 1 (100.0%)");
}

#[test]
fn stage_anchor_windows_and_breakdown() {
    let (leads, events) = scenario();
    let data = FunnelData::new(Funnel::demand_waterfall(), &leads).unwrap();
    let paths = paths_for(&data, &events, PathOptions::default().with_as_of(jan(60)));
    let spec = CohortSpec::default()
        .with_anchor(CohortAnchor::Stage("MQL".into()))
        .with_window(TimeDelta::days(30))
        .with_breakdown(Dimension::Source);
    let r = cohort_report(&data, &paths, &spec).unwrap();
    assert_eq!(r.anchor, "mql");
    let all = &r.total.all;
    assert_eq!(all.entered, 3);
    assert_eq!(all.reached[0], None); // before the anchor
    // L1's win on day 41 is 35 days after its MQL: outside the 30-day window.
    assert_eq!(all.reached[4..], [Some(1), Some(0)]);
    assert_eq!(all.window_elapsed, Some(true)); // last MQL Jan 7 + 30 days <= day 60
    // breakdown: paid_search, webinar (sorted), and no missing bucket (L4 has no MQL,
    // but the bucket exists because L4 has no source)
    let values: Vec<Option<&str>> = r.breakdown.iter().map(|t| t.value.as_deref()).collect();
    assert_eq!(values, [Some("paid_search"), Some("webinar"), None]);
    assert_eq!(r.breakdown[1].all.entered, 2);
    assert_eq!(r.breakdown[2].all.entered, 0);
    let sum: u64 = r.breakdown.iter().map(|t| t.all.entered).sum();
    assert_eq!(sum, all.entered);

    let spec = spec.with_step_window("mql", TimeDelta::days(1));
    let r = cohort_report(&data, &paths, &spec).unwrap();
    // L1: MQL day 6 → SAL day 8 (2 days) is over the 1-day window; L3's MQL and SAL
    // are both back-filled at its SQL time (day 12), 0 days apart: it counts.
    assert_eq!(r.total.all.reached[2], Some(1));

    let open = cohort_report(
        &data,
        &paths_for(&data, &events, PathOptions::default().with_as_of(jan(20))),
        &spec,
    )
    .unwrap();
    assert_eq!(open.total.all.window_elapsed, Some(false));
    assert_eq!(open.diagnostics.after_as_of, 2); // L1 won on day 41, L3 lost on day 32;
}

/// A `won` row exported twice (same lead, same time) is one win: the repeat is
/// counted in `repeated`, not read as a new cycle that back-fills every stage and
/// wins again. A later `won` with no entry between is a repeat too; a lead that
/// is lost and then won starts a new cycle, as before.
#[test]
fn a_repeated_won_row_is_one_win() {
    let leads = vec![lead("W", 1, None), lead("L", 1, None)];
    let events = vec![
        ev("W", "mql", 2),
        ev("W", "won", 9),
        ev("W", "won", 9),
        ev("W", "won", 12),
        ev("L", "mql", 2),
        ev("L", "lost", 5),
        ev("L", "won", 9),
    ];
    let data = FunnelData::new(Funnel::demand_waterfall(), &leads).unwrap();
    let p = paths_for(&data, &events, PathOptions::default());
    assert_eq!(p.diagnostics().repeated, 2);
    assert_eq!(p.len(), 3); // W one cycle; L lost, then a new cycle that is won
    let report = cohort_report(&data, &p, &CohortSpec::default()).unwrap();
    let won = data.rank_of("won").unwrap();
    assert_eq!(reached(&report)[won], Some(2));
}

#[test]
fn cycles_backward_moves_and_diagnostics() {
    let leads = vec![lead("R", 1, None), lead("B", 1, None)];
    let events = vec![
        ev("R", "mql", 2),
        ev("R", "recycled", 5).with_reason("not now"),
        ev("R", "mql", 60),
        ev("R", "sql", 64),
        ev("B", "mql", 2),
        ev("B", "sql", 5),
        ev("B", "mql", 7),
        ev("B", "inquiry", 1), // at creation time: fine
        ev("ghost", "mql", 3),
    ];
    let mut events = events;
    events.push(StageEvent::new(
        SubjectId::new("B").unwrap(),
        "mql",
        jan(1) - TimeDelta::hours(1),
    ));
    let data = FunnelData::new(Funnel::demand_waterfall(), &leads).unwrap();

    let p = paths_for(&data, &events, PathOptions::default());
    let d = p.diagnostics();
    assert_eq!(d.unknown_subject, 1);
    assert_eq!(d.before_creation, 1);
    assert_eq!(d.backward, 1); // B: sql → mql on day 7
    assert!(
        d.examples
            .iter()
            .any(|e| e.to_string() == "stage event #8 (subject ghost): unknown subject")
    );
    assert_eq!(p.len(), 3); // R has two cycles, B one
    let cycles: Vec<_> = p.iter().collect();
    assert_eq!(cycles[1].number(), 1);
    assert_eq!(cycles[1].start(), jan(60));
    assert!(cycles[1].inferred(2)); // SAL back-filled at the SQL time
    assert_eq!(cycles[1].entered(2), Some(jan(64)));
    let (stage, at, reason) = cycles[0].exit().unwrap();
    assert_eq!(
        (data.funnel().stages()[stage].key.as_str(), at, reason),
        ("recycled", jan(5), Some("not now"))
    );

    let spec = CohortSpec::default();
    let all = cohort_report(&data, &p, &spec).unwrap();
    assert_eq!(all.total.all.entered, 3);
    assert_eq!(all.total.rows.len(), 2); // January and March cohorts
    let first = cohort_report(
        &data,
        &p,
        &spec.clone().with_cycles(CycleScope::FirstCycleOnly),
    )
    .unwrap();
    assert_eq!(first.total.all.entered, 2);

    let nc = paths_for(
        &data,
        &events,
        PathOptions::default().with_backward(BackwardPolicy::NewCycle),
    );
    assert_eq!(nc.len(), 4); // B: [inquiry, mql, sql] then a new cycle [mql]

    let q = qualification_report(&data, &p, &QualificationSpec::default()).unwrap();
    assert_eq!(q.exits.len(), 1);
    assert_eq!(q.exits[0].reason.as_deref(), Some("not now"));
    assert_eq!(q.exits[0].furthest.as_deref(), Some("mql"));
}

#[test]
fn qualification_and_flow_on_the_scenario() {
    let (leads, events) = scenario();
    let data = FunnelData::new(Funnel::demand_waterfall(), &leads).unwrap();
    let p = paths_for(&data, &events, PathOptions::default());
    let q = qualification_report(&data, &p, &QualificationSpec::default()).unwrap();
    assert_eq!(q.acceptance.ratio.to_string(), "2 / 3 (66.7%)");
    assert_eq!(q.qualification.ratio.to_string(), "2 / 2 (100.0%)");
    let exits: Vec<(&str, Option<&str>, Option<&str>, u64)> = q
        .exits
        .iter()
        .map(|e| {
            (
                e.stage.as_str(),
                e.furthest.as_deref(),
                e.reason.as_deref(),
                e.count,
            )
        })
        .collect();
    assert_eq!(
        exits,
        [
            ("disqualified", Some("mql"), Some("no budget"), 1),
            ("lost", Some("sql"), None, 1)
        ]
    );

    let f = flow_report(
        &data,
        &p,
        &FlowSpec::default().with_granularity(Granularity::Month),
    )
    .unwrap();
    assert_eq!(f.total.rows.len(), 2);
    assert_eq!(f.total.rows[0].entries, [3, 3, 2, 2, 1, 0]);
    assert_eq!(f.total.rows[0].inferred, [1, 1, 1, 0, 0, 0]);
    assert_eq!(f.total.rows[1].entries, [0, 0, 0, 0, 0, 1]);
    // February: one win and no opportunity entry: a flow of 1 / 0, which has no value
    assert_eq!(f.total.rows[1].step_flow[4].value(), None);
    assert_eq!(f.total.rows[1].step_flow[4].to_string(), "1 / 0 (n/a)");
    assert_eq!(f.total.all.entries, [3, 3, 2, 2, 1, 1]);
}

#[test]
fn velocity_over_centuries_keeps_exact_seconds() {
    // Lags beyond 2^32 seconds (136 years) beside short ones.
    let old = Utc.with_ymd_and_hms(1790, 3, 1, 0, 0, 0).unwrap();
    let leads = vec![
        Lead::new(LeadId::new("A").unwrap(), old),
        lead("B", 1, None),
        lead("C", 1, None),
    ];
    let events = vec![
        StageEvent::new(SubjectId::new("A").unwrap(), "mql", old),
        ev("A", "sql", 3),
        ev("B", "mql", 2),
        ev("B", "sql", 4),
        ev("C", "mql", 2),
        ev("C", "sql", 9),
    ];
    let data = FunnelData::new(Funnel::demand_waterfall(), &leads).unwrap();
    let p = paths_for(&data, &events, PathOptions::default());
    let r = velocity_report(&data, &p, &VelocitySpec::default().with_step("mql", "sql")).unwrap();
    let long = u64::try_from((jan(3) - old).num_seconds()).unwrap();
    assert!(long > u64::from(u32::MAX));
    let want: revops::distribution::ExactDistribution =
        [long, 2 * 86_400, 7 * 86_400].into_iter().collect();
    let step = &r.total.steps[0];
    assert_eq!(step.summary, want.finish().unwrap());
    assert_eq!(
        step.histogram,
        want.histogram(revops::distribution::BinRule::Log2).unwrap()
    );
}

#[test]
fn velocity_excludes_inferred_entries_unless_asked() {
    let (leads, events) = scenario();
    let data = FunnelData::new(Funnel::demand_waterfall(), &leads).unwrap();
    let p = paths_for(&data, &events, PathOptions::default());
    let spec = VelocitySpec::default().with_step("inquiry", "mql");
    let r = velocity_report(&data, &p, &spec).unwrap();
    let step = &r.total.steps[0];
    let s = step.summary.as_ref().unwrap();
    assert_eq!((s.count, s.median_days()), (1, 1.0)); // L1: day 5 → day 6
    assert_eq!(step.excluded_inferred, 2); // L2's inquiry and L3's MQL are inferred
    let r = velocity_report(
        &data,
        &p,
        &spec.clone().with_inferred(InferredEndpoints::Include),
    )
    .unwrap();
    let s = r.total.steps[0].summary.as_ref().unwrap();
    // L2: 0 days (inquiry back-filled at its MQL), L1: 1 day, L3: 7 days (5 → 12)
    assert_eq!(
        (s.count, s.min_days(), s.median_days(), s.max_days()),
        (3, 0.0, 1.0, 7.0)
    );
    assert_eq!(r.total.steps[0].histogram.as_ref().unwrap().total(), 3);

    // default steps: every adjacent step and inquiry → won
    let r = velocity_report(&data, &p, &VelocitySpec::default()).unwrap();
    assert_eq!(r.total.steps.len(), 6);
    let won = r.total.steps.last().unwrap();
    assert_eq!((won.from.as_str(), won.to.as_str()), ("inquiry", "won"));
    assert_eq!(won.summary.as_ref().unwrap().median_days(), 36.0); // L1: day 5 → day 41
    let sketch = velocity_report(
        &data,
        &p,
        &VelocitySpec::default().with_quantiles(QuantileMode::Sketch { alpha: 0.01 }),
    )
    .unwrap();
    let m = sketch
        .total
        .steps
        .last()
        .unwrap()
        .summary
        .as_ref()
        .unwrap()
        .median_days();
    assert!((m - 36.0).abs() <= 0.01 * 36.0);
    assert!(velocity_report(&data, &p, &VelocitySpec::default().with_step("sql", "mql")).is_err());
}

#[test]
fn unknown_stage_is_an_error_naming_the_event() {
    let (leads, _) = scenario();
    let data = FunnelData::new(Funnel::demand_waterfall(), &leads).unwrap();
    let err = data
        .intern(&[ev("L1", "mql", 2), ev("L1", "demo", 3)])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "stage event #1 (id L1): unknown stage `demo` (funnel `demand waterfall`)"
    );
    let dup = vec![lead("X", 1, None), lead("X", 2, None)];
    assert!(matches!(
        FunnelData::new(Funnel::demand_waterfall(), &dup)
            .as_ref()
            .map_err(|e| e.kind()),
        Err(revops::error::ErrorKind::DuplicateId {
            first: 0,
            second: 1,
            ..
        })
    ));
}

// ---------------------------------------------------------------- properties

const STAGES: [&str; 9] = [
    "inquiry",
    "mql",
    "sal",
    "sql",
    "opportunity",
    "won",
    "lost",
    "disqualified",
    "recycled",
];

fn world() -> impl Strategy<Value = (Vec<Lead>, Vec<StageEvent>)> {
    (1usize..25).prop_flat_map(|n| {
        let leads = prop::collection::vec((0u32..40, prop::option::of(0usize..3)), n);
        let events = prop::collection::vec((0usize..n + 2, 0usize..9, 0u32..120), 0..120);
        (leads, events).prop_map(move |(ls, es)| {
            let leads: Vec<Lead> = ls
                .iter()
                .enumerate()
                .map(|(i, &(d, src))| {
                    lead(&format!("L{i}"), d + 1, src.map(|s| ["a", "b", "c"][s]))
                })
                .collect();
            let events = es
                .iter()
                .map(|&(s, st, d)| {
                    let e = ev(&format!("L{s}"), STAGES[st], d + 1);
                    // the reason is a function of the stage, so duplicates are identical
                    if st >= 6 {
                        e.with_reason(format!("r{}", st % 2))
                    } else {
                        e
                    }
                })
                .collect();
            (leads, events)
        })
    })
}

fn options() -> impl Strategy<Value = PathOptions> {
    (0usize..3, 0usize..2, prop::option::of(0u32..130)).prop_map(|(s, b, as_of)| {
        let mut o = PathOptions::default()
            .with_skip(
                [
                    SkipPolicy::Backfill,
                    SkipPolicy::Strict,
                    SkipPolicy::AnyStage,
                ][s],
            )
            .with_backward([BackwardPolicy::KeepFurthest, BackwardPolicy::NewCycle][b]);
        if let Some(d) = as_of {
            o = o.with_as_of(jan(d + 1));
        }
        o
    })
}

fn spec(anchor: usize, window: Option<u32>) -> CohortSpec {
    let mut s = CohortSpec::default()
        .with_granularity(Granularity::Week)
        .with_breakdown(Dimension::Source);
    if anchor > 0 {
        s = s.with_anchor(CohortAnchor::Stage(STAGES[anchor - 1].into()));
    }
    if let Some(w) = window {
        s = s.with_window(TimeDelta::days(i64::from(w)));
    }
    s
}

fn all_reports(data: &FunnelData<'_>, p: &Paths, s: &CohortSpec) -> String {
    let mut c = cohort_report(data, p, s).unwrap();
    let mut f = flow_report(
        data,
        p,
        &FlowSpec::default().with_breakdown(Dimension::Source),
    )
    .unwrap();
    let q = qualification_report(data, p, &QualificationSpec::default()).unwrap();
    let v = velocity_report(
        data,
        p,
        &VelocitySpec::default().with_breakdown(Dimension::Source),
    )
    .unwrap();
    // the named examples are in input order; everything else must not depend on it
    c.diagnostics.examples.clear();
    f.diagnostics.examples.clear();
    serde_json::to_string(&(c, f, q, v)).unwrap()
}

fn reports_without_diagnostics(data: &FunnelData<'_>, p: &Paths, s: &CohortSpec) -> String {
    let mut c = cohort_report(data, p, s).unwrap();
    let mut f = flow_report(
        data,
        p,
        &FlowSpec::default().with_breakdown(Dimension::Source),
    )
    .unwrap();
    c.diagnostics = Default::default();
    f.diagnostics = Default::default();
    let q = qualification_report(data, p, &QualificationSpec::default()).unwrap();
    let v = velocity_report(
        data,
        p,
        &VelocitySpec::default().with_breakdown(Dimension::Source),
    )
    .unwrap();
    serde_json::to_string(&(c, f, q, v)).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn merging_partials_equals_one_pass((leads, events) in world(), cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
                                        o in options(), anchor in 0usize..6, window in prop::option::of(0u32..60)) {
        let data = FunnelData::new(Funnel::demand_waterfall(), &leads).unwrap();
        let mut one = FunnelEvents::default();
        one.add_batch(&data, &events).unwrap();
        let mut bounds: Vec<usize> = cuts.iter().map(|c| c.index(events.len() + 1)).collect();
        bounds.push(0);
        bounds.push(events.len());
        bounds.sort_unstable();
        let mut merged = FunnelEvents::default();
        for w in bounds.windows(2) {
            let mut part = FunnelEvents::default();
            part.add_batch(&data, &events[w[0]..w[1]]).unwrap();
            merged.merge(&part).unwrap();
        }
        let s = spec(anchor, window);
        let a = one.paths(&data, o);
        let b = merged.paths(&data, o);
        prop_assert_eq!(a.diagnostics(), b.diagnostics());
        prop_assert_eq!(all_reports(&data, &a, &s), all_reports(&data, &b, &s));
    }

    #[test]
    fn event_order_does_not_change_results((leads, events) in world(), seed in any::<u64>(), o in options(), anchor in 0usize..6) {
        let data = FunnelData::new(Funnel::demand_waterfall(), &leads).unwrap();
        let mut shuffled = events.clone();
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let o = o.with_tie_break(TieBreak::StageOrder);
        let s = spec(anchor, None);
        let a = paths_for(&data, &events, o);
        let b = paths_for(&data, &shuffled, o);
        prop_assert_eq!(all_reports(&data, &a, &s), all_reports(&data, &b, &s));
    }

    #[test]
    fn paths_into_reused_paths_equals_fresh_paths((leads, events) in world(), (old_leads, old_events) in world(),
                                                  o in options(), old in options(), anchor in 0usize..6,
                                                  window in prop::option::of(0u32..60)) {
        // The reused paths were built from other leads, events and options.
        let old_data = FunnelData::new(Funnel::demand_waterfall(), &old_leads).unwrap();
        let mut reused = paths_for(&old_data, &old_events, old);
        let data = FunnelData::new(Funnel::demand_waterfall(), &leads).unwrap();
        let mut acc = FunnelEvents::default();
        acc.add_batch(&data, &events).unwrap();
        acc.paths_into(&data, o, &mut reused);
        let fresh = acc.paths(&data, o);
        prop_assert_eq!(reused.diagnostics(), fresh.diagnostics());
        prop_assert_eq!(reused.options(), fresh.options());
        prop_assert_eq!(reused.len(), fresh.len());
        let s = spec(anchor, window);
        prop_assert_eq!(all_reports(&data, &reused, &s), all_reports(&data, &fresh, &s));
    }

    #[test]
    fn cohort_without_windows_equals_cohort_with_windows_never_reached((leads, events) in world(), o in options(),
                                                                       anchor in 0usize..6, first in any::<bool>()) {
        // A window no lag reaches counts the same stages (by the general per-cycle
        // path that windows take); only `window_elapsed` tells them apart.
        let data = FunnelData::new(Funnel::demand_waterfall(), &leads).unwrap();
        let p = paths_for(&data, &events, o);
        let scope = if first { CycleScope::FirstCycleOnly } else { CycleScope::AllCycles };
        let plain = spec(anchor, None).with_cycles(scope);
        let wide = plain.clone().with_window(TimeDelta::days(365_000));
        let (mut a, mut b) = (cohort_report(&data, &p, &plain).unwrap(), cohort_report(&data, &p, &wide).unwrap());
        for r in [&mut a, &mut b] {
            for t in std::iter::once(&mut r.total).chain(&mut r.breakdown) {
                for row in t.rows.iter_mut().chain(std::iter::once(&mut t.all)) {
                    row.window_elapsed = None;
                }
            }
        }
        prop_assert_eq!(a, b);
    }

    #[test]
    fn velocity_agrees_with_the_cycles((leads, events) in world(), o in options(), include in any::<bool>()) {
        let data = FunnelData::new(Funnel::demand_waterfall(), &leads).unwrap();
        let p = paths_for(&data, &events, o);
        let inferred = if include { InferredEndpoints::Include } else { InferredEndpoints::Exclude };
        let spec = VelocitySpec::default()
            .with_inferred(inferred)
            .with_step("mql", "sql")
            .with_step("inquiry", "won")
            .with_step("sal", "sal");
        let r = velocity_report(&data, &p, &spec).unwrap();
        for step in &r.total.steps {
            let (f, t) = (data.rank_of(&step.from).unwrap(), data.rank_of(&step.to).unwrap());
            let mut d = revops::distribution::ExactDistribution::default();
            let mut excluded = 0;
            for c in p.iter() {
                let (Some(a), Some(b)) = (c.entered(f), c.entered(t)) else { continue };
                if !include && (c.inferred(f) || c.inferred(t)) {
                    excluded += 1;
                    continue;
                }
                d.add_duration(b - a).unwrap();
            }
            prop_assert_eq!(step.excluded_inferred, excluded);
            prop_assert_eq!(step.summary, d.finish().unwrap());
            prop_assert_eq!(&step.histogram, &d.histogram(spec.bins).unwrap());
        }
    }

    #[test]
    fn rates_are_proportions_and_counts_never_increase((leads, events) in world(), o in options(),
                                                       anchor in 0usize..6, window in prop::option::of(0u32..60)) {
        let data = FunnelData::new(Funnel::demand_waterfall(), &leads).unwrap();
        let p = paths_for(&data, &events, o);
        let r = cohort_report(&data, &p, &spec(anchor, window)).unwrap();
        for t in std::iter::once(&r.total).chain(&r.breakdown) {
            for row in t.rows.iter().chain(std::iter::once(&t.all)) {
                for rate in row.steps.iter().chain(&row.to_won) {
                    prop_assert!(rate.ratio.numerator <= rate.ratio.denominator);
                    if let Some(v) = rate.ratio.value() { prop_assert!((0.0..=1.0).contains(&v)); }
                    if let Some(ci) = rate.interval { prop_assert!(0.0 <= ci.lower && ci.upper <= 1.0); }
                }
                let counts: Vec<u64> = row.reached.iter().flatten().copied().collect();
                prop_assert!(counts.iter().all(|&c| c <= row.entered));
                if o.skip != SkipPolicy::AnyStage {
                    prop_assert!(counts.windows(2).all(|w| w[1] <= w[0]), "{:?}", counts);
                }
            }
        }
        // every lead's first cycle is counted once under the creation anchor
        if anchor == 0 {
            let first = cohort_report(&data, &p, &spec(0, window).with_cycles(CycleScope::FirstCycleOnly)).unwrap();
            let known = leads.iter().filter(|l| o.as_of.is_none_or(|t| l.created_at <= t)).count();
            prop_assert_eq!(first.total.all.entered, known as u64);
        }
    }

    #[test]
    fn as_of_equals_the_data_known_then((leads, events) in world(), o in options(), day in 0u32..130,
                                        anchor in 0usize..6, window in prop::option::of(0u32..60)) {
        // Issue 13: a report as of `t` is the report on the leads and events known at
        // `t`; only the diagnostics tell them apart.
        let t = jan(day + 1);
        let o = PathOptions { as_of: Some(t), ..o };
        let data = FunnelData::new(Funnel::demand_waterfall(), &leads).unwrap();
        let p = paths_for(&data, &events, o);
        let known: Vec<Lead> = leads.iter().filter(|l| l.created_at <= t).cloned().collect();
        let known_events: Vec<StageEvent> = events.iter().filter(|e| e.at <= t).cloned().collect();
        let kdata = FunnelData::new(Funnel::demand_waterfall(), &known).unwrap();
        let kp = paths_for(&kdata, &known_events, o);
        prop_assert_eq!(p.diagnostics().leads_after_as_of, (leads.len() - known.len()) as u64);
        prop_assert_eq!(kp.diagnostics().leads_after_as_of, 0);
        prop_assert_eq!(p.len(), kp.len());
        let s = spec(anchor, window);
        prop_assert_eq!(reports_without_diagnostics(&data, &p, &s), reports_without_diagnostics(&kdata, &kp, &s));
    }
}

/// Issue 13: a report as of January 31 counted the leads created in February (a
/// February cohort of empty cycles, and `entered` 10 → 13). Leads created after the
/// as-of date were not known then: they are left out and counted.
#[test]
fn as_of_leaves_out_leads_created_later() {
    let mut leads: Vec<Lead> = (0..10)
        .map(|i| lead(&format!("J{i}"), 1 + 3 * i, Some("webinar")))
        .collect();
    leads.extend((0..3).map(|i| lead(&format!("F{i}"), 33 + i, Some("late_source"))));
    let events = vec![
        ev("J0", "mql", 5),
        ev("J1", "mql", 20),
        ev("J1", "sql", 40), // after the as-of date
        ev("F0", "mql", 36), // a February lead's event, after the as-of date
    ];
    let data = FunnelData::new(Funnel::demand_waterfall(), &leads).unwrap();
    let as_of = jan(31);
    let paths = paths_for(&data, &events, PathOptions::default().with_as_of(as_of));
    assert_eq!(paths.len(), 10, "one cycle per lead known on Jan 31");
    assert!(paths.iter().all(|c| c.lead_index() < 10));
    let d = paths.diagnostics();
    assert_eq!((d.leads_after_as_of, d.after_as_of), (3, 2));

    let spec = CohortSpec::default().with_breakdown(Dimension::Source);
    let r = cohort_report(&data, &paths, &spec).unwrap();
    assert_eq!(r.total.all.entered, 10);
    assert_eq!(r.total.rows.len(), 1, "no February cohort");
    assert_eq!(r.total.all.reached[1], Some(2)); // J0 and J1 reached MQL
    // A source only future leads have is not a breakdown value yet.
    let values: Vec<Option<&str>> = r.breakdown.iter().map(|t| t.value.as_deref()).collect();
    assert_eq!(values, [Some("webinar")]);

    let f = flow_report(
        &data,
        &paths,
        &FlowSpec::default().with_breakdown(Dimension::Source),
    )
    .unwrap();
    assert_eq!(f.total.rows.len(), 1);
    assert_eq!(f.total.all.entries[1], 2); // MQLs: J0, J1
    assert_eq!(f.breakdown.len(), 1);
    let v = velocity_report(
        &data,
        &paths,
        &VelocitySpec::default().with_breakdown(Dimension::Source),
    )
    .unwrap();
    assert_eq!(v.breakdown.len(), 1);
    assert!(d.to_string().contains("3 leads created after as-of"), "{d}");

    // Without an as-of date every lead counts.
    let all = paths_for(&data, &events, PathOptions::default());
    assert_eq!(all.len(), 13);
    assert_eq!(all.diagnostics().leads_after_as_of, 0);
}

#[test]
fn absurd_time_spans_are_errors_not_gigabyte_tables() {
    let leads = vec![lead("A", 1, None), lead("B", 1, None)];
    let far = StageEvent::new(
        SubjectId::new("B").unwrap(),
        "mql",
        Utc.with_ymd_and_hms(9999, 1, 1, 0, 0, 0).unwrap(),
    );
    let early = Lead::new(
        LeadId::new("C").unwrap(),
        Utc.with_ymd_and_hms(-9999, 1, 1, 0, 0, 0).unwrap(),
    );
    let mut leads = leads;
    leads.push(early);
    let data = FunnelData::new(Funnel::demand_waterfall(), &leads).unwrap();
    let p = paths_for(&data, &[far], PathOptions::default());
    let err = cohort_report(&data, &p, &CohortSpec::default()).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            revops::error::ErrorKind::InvalidParameter {
                name: "time span",
                ..
            }
        ),
        "{err}"
    );
}

// ---------------------------------------------------------------------------
// The accumulator contract (issue 15)
// ---------------------------------------------------------------------------

/// The diagnostics' counts (the named examples follow the input order, which a
/// merge in the other order changes).
fn counts(d: &revops::funnel::FunnelDiagnostics) -> revops::funnel::FunnelDiagnostics {
    revops::funnel::FunnelDiagnostics {
        examples: Vec::new(),
        ..d.clone()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// The generic check, on interned batches (the trait's item): counts agree.
    #[test]
    fn funnel_events_follow_the_contract(
        (leads, events) in world(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        cut in 0usize..5,
    ) {
        let data = FunnelData::new(Funnel::demand_waterfall(), &leads).unwrap();
        let mut bounds: Vec<usize> = cuts.iter().map(|c| c.index(events.len() + 1)).collect();
        bounds.extend([0, events.len()]);
        bounds.sort_unstable();
        let batches: Vec<FunnelEvents> = bounds
            .windows(2)
            .map(|w| data.intern(&events[w[0]..w[1]]).unwrap())
            .collect();
        crate::contract::assert_contract(FunnelEvents::new, &batches, cut, counts);
    }

    /// The paths: partials shipped through JSON, read against funnel data rebuilt
    /// from the same funnel and leads (as another process would), merged in either
    /// order, give the reports of one pass.
    #[test]
    fn shipped_funnel_partials_merge_into_one_pass(
        (leads, events) in world(),
        cut in any::<prop::sample::Index>(),
        o in options(),
        anchor in 0usize..6,
    ) {
        let o = o.with_tie_break(TieBreak::StageOrder);
        let cut = cut.index(events.len() + 1);
        let data = FunnelData::new(Funnel::demand_waterfall(), &leads).unwrap();
        let mut left = FunnelEvents::new();
        left.add_batch(&data, &events[..cut]).unwrap();
        let mut right = FunnelEvents::new();
        right.add_batch(&data, &events[cut..]).unwrap();

        let elsewhere = leads.clone();
        let there = FunnelData::new(Funnel::demand_waterfall(), &elsewhere).unwrap();
        prop_assert_eq!(there.fingerprint(), data.fingerprint());
        let (l, r) = (crate::contract::ship(&left), crate::contract::ship(&right));
        prop_assert_eq!(&l, &left);
        let mut lr = l.clone();
        lr.merge(&r).unwrap();
        let mut rl = r;
        rl.merge(&l).unwrap();

        let s = spec(anchor, None);
        let want = all_reports(&data, &paths_for(&data, &events, o), &s);
        prop_assert_eq!(all_reports(&there, &lr.paths(&there, o), &s), want.clone());
        prop_assert_eq!(all_reports(&there, &rl.paths(&there, o), &s), want);
    }
}

#[test]
fn funnel_events_of_other_data_or_version_are_refused() {
    let (leads, events) = scenario();
    let data = FunnelData::new(Funnel::demand_waterfall(), &leads).unwrap();
    let mut acc = FunnelEvents::new();
    acc.add_batch(&data, &events).unwrap();

    // The same leads in another order: another fingerprint.
    let reordered: Vec<Lead> = leads.iter().rev().cloned().collect();
    let other = FunnelData::new(Funnel::demand_waterfall(), &reordered).unwrap();
    assert_ne!(other.fingerprint(), data.fingerprint());
    let e = acc.check(&other).unwrap_err();
    assert!(
        matches!(e.kind(), revops::error::ErrorKind::MergeMismatch { .. }),
        "{e:?}"
    );
    let before = acc.clone();
    assert!(acc.add_batch(&other, &events).is_err());
    let mut theirs = FunnelEvents::new();
    theirs.add_batch(&other, &events).unwrap();
    assert!(acc.merge(&theirs).is_err());
    assert_eq!(acc, before);
    // Paths against other data use none of the events and count them all.
    let p = acc.paths(&other, PathOptions::default());
    assert_eq!(p.diagnostics().unknown_subject, events.len() as u64);
    assert!(
        p.diagnostics().examples[0]
            .why
            .contains("other funnel data"),
        "{:?}",
        p.diagnostics().examples
    );

    // Another version, and keys beyond the link's counts, are refused.
    let json = serde_json::to_string(&acc).unwrap();
    assert!(
        json.starts_with(r#"{"version":1,"link":{"fingerprint":"#),
        "{json}"
    );
    let e =
        serde_json::from_str::<FunnelEvents>(&json.replacen(r#""version":1"#, r#""version":9"#, 1))
            .unwrap_err();
    assert!(e.to_string().contains("version 9 is not supported"), "{e}");
    let beyond = json.replacen(r#""subject":0"#, r#""subject":4"#, 1);
    assert_ne!(beyond, json);
    assert!(serde_json::from_str::<FunnelEvents>(&beyond).is_err());
}

/// A lead's creation or a stage event: the rows a distributed engine hands
/// [`CohortCounts`] in any order.
#[derive(Clone)]
enum Row {
    Lead(Lead),
    Event(StageEvent),
}

fn counts_of(rows: &[Row], o: PathOptions, s: &CohortSpec) -> CohortCounts {
    let mut c = CohortCounts::new(Funnel::demand_waterfall(), o, s.clone()).unwrap();
    for r in rows {
        match r {
            Row::Lead(l) => c.add_lead(l).unwrap(),
            Row::Event(e) => c.add(e).unwrap(),
        }
    }
    c
}

fn without_examples(mut r: CohortReport) -> CohortReport {
    r.diagnostics.examples.clear();
    r
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Leads and events as rows, shuffled and split in two, folded, shipped through
    /// JSON and merged: the cohort report of one pass over the leads and events, in
    /// either merge order; and each lead source's rows alone give that source's
    /// table of the breakdown.
    #[test]
    fn cohort_counts_in_any_order_and_split_are_the_cohort_report(
        (leads, events) in world(), cut in any::<prop::sample::Index>(), seed in any::<u64>(),
        o in options(), anchor in 0usize..6, window in prop::option::of(0u32..60),
    ) {
        let data = FunnelData::new(Funnel::demand_waterfall(), &leads).unwrap();
        let paths = paths_for(&data, &events, o);
        let by_source = spec(anchor, window);
        let mut s = by_source.clone();
        s.breakdown = None;
        let want = without_examples(cohort_report(&data, &paths, &s).unwrap());

        let mut rows: Vec<Row> = leads.iter().cloned().map(Row::Lead)
            .chain(events.iter().cloned().map(Row::Event))
            .collect();
        let mut x = seed | 1;
        for i in (1..rows.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            rows.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let cut = cut.index(rows.len() + 1);
        let (left, right) = (counts_of(&rows[..cut], o, &s), counts_of(&rows[cut..], o, &s));
        let ship = |c: &CohortCounts| -> CohortCounts {
            serde_json::from_str(&serde_json::to_string(c).unwrap()).unwrap()
        };
        let mut lr = ship(&left);
        lr.merge(&ship(&right)).unwrap();
        prop_assert_eq!(&without_examples(lr.finish().unwrap()), &want);
        let mut rl = right.clone();
        revops::Accumulator::merge(&mut rl, &left).unwrap();
        prop_assert_eq!(&without_examples(revops::Accumulator::finish(&rl).unwrap()), &want);
        prop_assert_eq!(&without_examples(counts_of(&rows, o, &s).finish().unwrap()), &want);

        let breakdown = cohort_report(&data, &paths, &by_source).unwrap();
        for table in &breakdown.breakdown {
            let source = table.value.as_deref();
            let group: Vec<Row> = leads.iter()
                .filter(|l| l.source.as_ref().map(|c| c.as_str()) == source)
                .cloned()
                .map(Row::Lead)
                .chain(events.iter().cloned().map(Row::Event))
                .collect();
            let got = counts_of(&group, o, &s).finish().unwrap();
            prop_assert_eq!(&got.total.rows, &table.rows, "source {:?}", source);
            prop_assert_eq!(&got.total.all, &table.all, "source {:?}", source);
        }
    }
}

/// What the accumulator cannot honour or does not hold together is a clear error:
/// a lead with two creation times (added or merged), an input-order tie-break, a
/// breakdown, an unknown stage, a bad serialised state.
#[test]
fn cohort_counts_refuse_what_they_cannot_honour() {
    let new = |o: PathOptions, s: CohortSpec| CohortCounts::new(Funnel::demand_waterfall(), o, s);
    let d = || CohortSpec::default();
    let e = new(
        PathOptions::default().with_tie_break(TieBreak::InputOrder),
        d(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("no input order"), "{e}");
    let e = new(
        PathOptions::default(),
        d().with_breakdown(Dimension::Source),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("group the input by the dimension"),
        "{e}"
    );
    let e = new(
        PathOptions::default(),
        d().with_anchor(CohortAnchor::Stage("nope".into())),
    )
    .unwrap_err();
    assert!(e.to_string().contains("nope"), "{e}");
    let e = new(PathOptions::default(), d().with_window(TimeDelta::days(-1))).unwrap_err();
    assert!(e.to_string().contains("must not be negative"), "{e}");

    let mut a = new(PathOptions::default(), d()).unwrap();
    a.add_lead(&lead("L1", 1, None)).unwrap();
    a.add_lead(&lead("L1", 1, Some("x"))).unwrap();
    let e = a.add_lead(&lead("L1", 2, None)).unwrap_err();
    assert!(
        e.to_string().contains("L1") && e.to_string().contains("created at 2026-01-01"),
        "{e}"
    );
    let mut b = new(PathOptions::default(), d()).unwrap();
    b.add_lead(&lead("L1", 3, None)).unwrap();
    let before = serde_json::to_string(&a).unwrap();
    assert!(a.merge(&b).unwrap_err().to_string().contains("created_at"));
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        before,
        "unchanged on error"
    );
    let other = new(PathOptions::default().with_skip(SkipPolicy::Strict), d()).unwrap();
    assert!(
        a.merge(&other)
            .unwrap_err()
            .to_string()
            .contains("different options")
    );
    let e = a
        .add_batch(&[ev("L1", "mql", 2), ev("L1", "bogus", 3)])
        .unwrap_err();
    assert!(
        e.to_string().contains("bogus") && e.to_string().contains("#1"),
        "{e}"
    );

    let json: serde_json::Value = serde_json::to_value(&a).unwrap();
    assert_eq!(json["version"], 1);
    let read = |v: &serde_json::Value| serde_json::from_value::<CohortCounts>(v.clone());
    let mut v = json.clone();
    v["leads"][0]["events"][0][1] = 200.into();
    assert!(
        read(&v)
            .unwrap_err()
            .to_string()
            .contains("outside the funnel")
    );
    let mut v = json.clone();
    v["leads"][0]["id"] = "".into();
    assert!(read(&v).unwrap_err().to_string().contains("not a valid id"));
    let mut v = json;
    v["version"] = 9.into();
    assert!(read(&v).unwrap_err().to_string().contains("version 9"));
}
