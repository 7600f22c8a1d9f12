//! The pipeline engine: hand-computed waterfalls for every category in both modes and
//! both exit valuations, the waterfall identity and snapshots against a naive oracle on
//! random histories, merges, win-rate bases, the other measures on small hand
//! examples, the real Maven CRM file and the synthetic company.

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use revops::error::ErrorKind;
use revops::{
    DateRange, Decimal, ForecastCategory, Funnel, Money, OpportunityChange, OpportunityId, Stage,
    StageKind, StageOwner, Window, pipeline::BacktestSpec, pipeline::CycleOutcome,
    pipeline::ExitValuation, pipeline::MovementKind, pipeline::NoDecision,
    pipeline::PipelineHistory, pipeline::PipelineScope, pipeline::ProbabilitySource,
    pipeline::SalesCycleSpec, pipeline::Waterfall, pipeline::WaterfallSpec, pipeline::WinRateBasis,
    pipeline::WinRateSpec,
};

const USD: revops::Currency = revops::Currency::USD;

fn at(month: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, month, day, 0, 0, 0).unwrap()
}

fn date(month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, month, day).unwrap()
}

fn usd(amount: i64) -> Money {
    Money::new(Decimal::from(amount), USD)
}

fn row(
    id: &str,
    t: DateTime<Utc>,
    stage: &str,
    amount: i64,
    close: Option<NaiveDate>,
) -> OpportunityChange {
    let mut c = OpportunityChange::new(OpportunityId::new(id).unwrap(), t, stage, usd(amount));
    c.close_date = close;
    c
}

fn sf(rows: &[OpportunityChange]) -> PipelineHistory {
    PipelineHistory::new(Funnel::salesforce_opportunity(), USD, rows).unwrap()
}

// ---------------------------------------------------------------------------
// Hand-computed waterfall
// ---------------------------------------------------------------------------

/// One deal per case, between `start` = March 1 and `end` = April 1 (00:00 UTC), the
/// period being March. Amounts in whole dollars.
fn waterfall_scenario() -> Vec<OpportunityChange> {
    let p = "prospecting";
    vec![
        // in at both, up 100 -> 150
        row("stay_up", at(2, 10), p, 100, Some(date(3, 25))),
        row(
            "stay_up",
            at(3, 10),
            "qualification",
            150,
            Some(date(3, 25)),
        ),
        // in at both, down 200 -> 120
        row("stay_down", at(2, 10), p, 200, Some(date(3, 20))),
        row("stay_down", at(3, 12), p, 120, Some(date(3, 20))),
        // created exactly at `start` (counts at start), stage change only
        row("stay_same", at(3, 1), p, 70, Some(date(3, 31))),
        row(
            "stay_same",
            at(3, 3),
            "needs_analysis",
            70,
            Some(date(3, 31)),
        ),
        // created in March
        row("new", at(3, 5), p, 40, Some(date(3, 28))),
        // close date April 1 -> March 31: pulled in
        row("pull", at(2, 8), p, 60, Some(date(4, 1))),
        row("pull", at(3, 20), p, 60, Some(date(3, 31))),
        // close date March 1 -> April 1 with amount 90 -> 95: pushed out
        row("push", at(2, 8), p, 90, Some(date(3, 1))),
        row("push", at(3, 15), p, 95, Some(date(4, 1))),
        // won at 280 (300 in the pipeline)
        row("won", at(2, 3), p, 300, Some(date(3, 5))),
        row("won", at(3, 5), "closed_won", 280, Some(date(3, 5))),
        // lost, amount zeroed on the way out
        row("lost", at(2, 3), p, 50, Some(date(3, 15))),
        row("lost", at(3, 7), "closed_lost", 0, Some(date(3, 7))),
        // created and won in March
        row("through", at(3, 2), p, 25, Some(date(3, 30))),
        row("through", at(3, 27), "closed_won", 25, Some(date(3, 27))),
        // lost in February, reopened in March
        row("reopen", at(2, 1), p, 35, Some(date(2, 20))),
        row("reopen", at(2, 20), "closed_lost", 35, Some(date(2, 20))),
        row("reopen", at(3, 10), p, 35, Some(date(3, 25))),
        // expected in April at start, won in March
        row("pull_won", at(2, 1), p, 45, Some(date(4, 15))),
        row("pull_won", at(3, 18), "closed_won", 45, Some(date(3, 18))),
        // expected in May throughout
        row("outside", at(2, 1), p, 500, Some(date(5, 10))),
        row("outside", at(3, 3), "qualification", 500, Some(date(5, 10))),
        // won before start
        row("closed_both", at(2, 1), p, 10, Some(date(2, 10))),
        row(
            "closed_both",
            at(2, 10),
            "closed_won",
            10,
            Some(date(2, 10)),
        ),
        // close date cleared
        row("cleared", at(2, 1), p, 80, Some(date(3, 12))),
        row("cleared", at(3, 14), p, 80, None),
        // created exactly at `end` (counts at end)
        row("edge", at(4, 1), p, 20, Some(date(3, 31))),
    ]
}

fn march() -> PipelineScope {
    PipelineScope::Period(DateRange::new(date(3, 1), date(3, 31)).unwrap())
}

/// (amount, deals) of each column: start, the seven movements, end.
fn columns(w: &Waterfall) -> Vec<(i64, u64)> {
    let f = |flow: &revops::pipeline::Flow| {
        (
            i64::try_from(flow.amount.to_minor_units().unwrap() / 100).unwrap(),
            flow.deals,
        )
    };
    let mut v = vec![f(&w.start)];
    v.extend(MovementKind::ALL.iter().map(|&k| f(w.flow(k))));
    v.push(f(&w.end));
    v
}

fn kinds_of(w: &Waterfall, id: &str) -> Vec<(MovementKind, i64)> {
    w.movements
        .iter()
        .filter(|m| m.opportunity.as_str() == id)
        .map(|m| {
            (
                m.kind,
                i64::try_from(m.amount.to_minor_units().unwrap() / 100).unwrap(),
            )
        })
        .collect()
}

#[test]
fn waterfall_period_mode_every_category() {
    let h = sf(&waterfall_scenario());
    let spec = WaterfallSpec::new(at(3, 1), at(4, 1)).with_scope(march());
    let w = h.waterfall(&spec).unwrap();
    // start, created, pulled in, increased, decreased, pushed out, lost, won, end
    assert_eq!(
        columns(&w),
        [
            (890, 7),
            (120, 4),
            (105, 2),
            (50, 1),
            (80, 1),
            (170, 2),
            (50, 1),
            (370, 3),
            (495, 7),
        ]
    );
    assert_eq!(w.computed_end().unwrap(), w.end.amount);
    use MovementKind::*;
    assert_eq!(kinds_of(&w, "stay_up"), [(Increased, 50)]);
    assert_eq!(kinds_of(&w, "stay_same"), []);
    assert_eq!(kinds_of(&w, "pull"), [(PulledIn, 60)]);
    assert_eq!(kinds_of(&w, "push"), [(PushedOut, 90)]);
    assert_eq!(kinds_of(&w, "through"), [(Created, 25), (Won, 25)]);
    assert_eq!(kinds_of(&w, "reopen"), [(Created, 35)]);
    assert_eq!(kinds_of(&w, "pull_won"), [(PulledIn, 45), (Won, 45)]);
    assert_eq!(kinds_of(&w, "cleared"), [(PushedOut, 80)]);
    assert_eq!(kinds_of(&w, "outside"), []);
    assert_eq!(kinds_of(&w, "closed_both"), []);
    assert_eq!(kinds_of(&w, "edge"), [(Created, 20)]);

    let w = h
        .waterfall(&spec.with_exit_valuation(ExitValuation::EndAmount))
        .unwrap();
    assert_eq!(
        columns(&w),
        [
            (890, 7),
            (120, 4),
            (105, 2),
            (55, 2),
            (150, 3),
            (175, 2),
            (0, 1),
            (350, 3),
            (495, 7),
        ]
    );
    assert_eq!(kinds_of(&w, "won"), [(Decreased, 20), (Won, 280)]);
    assert_eq!(kinds_of(&w, "lost"), [(Decreased, 50), (Lost, 0)]);
    assert_eq!(kinds_of(&w, "push"), [(Increased, 5), (PushedOut, 95)]);
    assert_eq!(w.computed_end().unwrap(), w.end.amount);
}

#[test]
fn waterfall_rolling_mode_every_category() {
    let h = sf(&waterfall_scenario());
    let spec = WaterfallSpec::new(at(3, 1), at(4, 1));
    let w = h.waterfall(&spec).unwrap();
    assert_eq!(
        columns(&w),
        [
            (1495, 10),
            (120, 4),
            (0, 0),
            (55, 2),
            (80, 1),
            (0, 0),
            (50, 1),
            (370, 3),
            (1170, 10),
        ]
    );
    use MovementKind::*;
    assert_eq!(kinds_of(&w, "pull"), []);
    assert_eq!(kinds_of(&w, "push"), [(Increased, 5)]);
    assert_eq!(kinds_of(&w, "pull_won"), [(Won, 45)]);
    assert_eq!(kinds_of(&w, "cleared"), []);
    assert_eq!(w.computed_end().unwrap(), w.end.amount);

    let w = h
        .waterfall(&spec.with_exit_valuation(ExitValuation::EndAmount))
        .unwrap();
    assert_eq!(
        columns(&w),
        [
            (1495, 10),
            (120, 4),
            (0, 0),
            (55, 2),
            (150, 3),
            (0, 0),
            (0, 1),
            (350, 3),
            (1170, 10),
        ]
    );
    assert_eq!(w.computed_end().unwrap(), w.end.amount);
}

#[test]
fn waterfall_rejects_reversed_instants_and_merges() {
    let h = sf(&waterfall_scenario());
    let err = h.waterfall(&WaterfallSpec::new(at(4, 1), at(3, 1)));
    assert!(matches!(
        err.as_ref().map_err(|e| e.kind()),
        Err(ErrorKind::InvalidPeriod { .. })
    ));
    // same instant: no movement, start = end
    let w = h
        .waterfall(&WaterfallSpec::new(at(3, 9), at(3, 9)))
        .unwrap();
    assert!(w.movements.is_empty());
    assert_eq!(w.start, w.end);
    // columns only
    let spec = WaterfallSpec::new(at(3, 1), at(4, 1)).with_scope(march());
    let totals = h
        .waterfall(&spec.clone().with_audit(revops::pipeline::Audit::Totals))
        .unwrap();
    assert!(totals.movements.is_empty());
    assert_eq!(columns(&totals), columns(&h.waterfall(&spec).unwrap()));
    // merging in another currency is an error
    let mut eur = Waterfall::new(revops::Currency::EUR);
    assert!(matches!(
        eur.merge(&w).as_ref().map_err(|e| e.kind()),
        Err(ErrorKind::CurrencyMismatch { .. })
    ));
}

// ---------------------------------------------------------------------------
// Snapshots
// ---------------------------------------------------------------------------

#[test]
fn snapshots_follow_the_rows() {
    let h = sf(&waterfall_scenario());
    let snap = h.snapshot(at(3, 1));
    // exists at March 1: all but new, through and edge
    assert_eq!(snap.entries.len(), 12);
    assert!(snap.entries.iter().all(|e| e.state.created_at <= at(3, 1)));
    let reopen = h.index_of("reopen").unwrap();
    let s = h.state_at(reopen, at(3, 1)).unwrap();
    assert_eq!((s.kind, s.closed_at), (StageKind::Lost, Some(at(2, 20))));
    let s = h.state_at(reopen, at(3, 11)).unwrap();
    assert!(s.is_open() && s.closed_at.is_none());
    assert_eq!(s.stage_entered_at, at(3, 10));
    assert_eq!(s.created_at, at(2, 1));
    assert_eq!(s.row, 19);
    let states: Vec<_> = h.states(reopen).map(|s| s.kind).collect();
    assert_eq!(states, [StageKind::Open, StageKind::Lost, StageKind::Open]);
    assert_eq!(h.snapshot(at(1, 1)).entries.len(), 0);
    assert_eq!(h.snapshot(at(12, 1)).entries.len(), h.len());
}

// ---------------------------------------------------------------------------
// Random histories: identity, snapshot oracle, merge
// ---------------------------------------------------------------------------

const STAGES: [&str; 10] = [
    "prospecting",
    "qualification",
    "needs_analysis",
    "value_proposition",
    "id_decision_makers",
    "perception_analysis",
    "proposal_price_quote",
    "negotiation_review",
    "closed_won",
    "closed_lost",
];

fn base() -> DateTime<Utc> {
    at(1, 1)
}

/// (deal, half-day offset, stage, cents, close day offset)
type RawRow = (u8, u8, u8, u32, Option<u8>);

fn build(raw: &[RawRow]) -> Vec<OpportunityChange> {
    raw.iter()
        .map(|&(o, t, s, cents, close)| {
            let mut c = OpportunityChange::new(
                OpportunityId::new(format!("O{o}")).unwrap(),
                base() + TimeDelta::hours(12 * i64::from(t)),
                STAGES[usize::from(s)],
                Money::from_minor_units(i128::from(cents), USD).unwrap(),
            );
            c.close_date = close.map(|d| date(1, 1) + TimeDelta::days(i64::from(d)));
            c
        })
        .collect()
}

/// The naive state: the deal's last row in (changed_at, input order) at or before `t`.
fn oracle<'a>(
    rows: &'a [OpportunityChange],
    id: &str,
    t: DateTime<Utc>,
) -> Option<(usize, &'a OpportunityChange)> {
    rows.iter()
        .enumerate()
        .filter(|(_, r)| r.opportunity.as_str() == id && r.changed_at <= t)
        .max_by_key(|(i, r)| (r.changed_at, *i))
}

fn oracle_value(r: Option<&OpportunityChange>, scope: &PipelineScope) -> Decimal {
    match r {
        Some(r)
            if !r.stage.starts_with("closed")
                && match scope {
                    PipelineScope::Rolling => true,
                    PipelineScope::Period(p) => r.close_date.is_some_and(|d| p.contains(d)),
                } =>
        {
            r.amount.amount()
        }
        _ => Decimal::ZERO,
    }
}

fn raw_history() -> impl Strategy<Value = Vec<RawRow>> {
    prop::collection::vec(
        (
            0u8..12,
            0u8..80,
            0u8..10,
            0u32..100_000,
            prop::option::weighted(0.8, 0u8..90),
        ),
        0..60,
    )
}

fn check_waterfall(rows: &[OpportunityChange], spec: &WaterfallSpec) {
    let h = sf(rows);
    let w = h.waterfall(spec).unwrap();
    // The identity, exactly.
    assert_eq!(w.computed_end().unwrap(), w.end.amount);
    // Start and end against the oracle; each deal's movements move exactly its value.
    let (mut start, mut end) = (Decimal::ZERO, Decimal::ZERO);
    for id in h.ids() {
        let v0 = oracle_value(
            oracle(rows, id.as_str(), spec.start).map(|x| x.1),
            &spec.scope,
        );
        let v1 = oracle_value(
            oracle(rows, id.as_str(), spec.end).map(|x| x.1),
            &spec.scope,
        );
        start += v0;
        end += v1;
        let moved: Decimal = w
            .movements
            .iter()
            .filter(|m| &m.opportunity == id)
            .map(|m| {
                assert!(!m.amount.is_negative());
                if m.kind.is_inflow() {
                    m.amount.amount()
                } else {
                    -m.amount.amount()
                }
            })
            .sum();
        assert_eq!(moved, v1 - v0, "deal {id}");
    }
    assert_eq!(w.start.amount.amount(), start);
    assert_eq!(w.end.amount.amount(), end);
    // Merge of a split by deal = the whole.
    let (even, odd): (Vec<_>, Vec<_>) = rows.iter().cloned().partition(|r| {
        r.opportunity
            .as_str()
            .trim_start_matches('O')
            .parse::<u32>()
            .unwrap()
            % 2
            == 0
    });
    let mut merged = sf(&even).waterfall(spec).unwrap();
    merged.merge(&sf(&odd).waterfall(spec).unwrap()).unwrap();
    assert_eq!(columns_exact(&merged), columns_exact(&w));
    assert_eq!(merged.movements.len(), w.movements.len());
}

fn columns_exact(w: &Waterfall) -> Vec<(Decimal, u64)> {
    let mut v = vec![(w.start.amount.amount(), w.start.deals)];
    v.extend(
        MovementKind::ALL
            .iter()
            .map(|&k| (w.flow(k).amount.amount(), w.flow(k).deals)),
    );
    v.push((w.end.amount.amount(), w.end.deals));
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn waterfall_identity_on_random_histories(
        raw in raw_history(),
        a in 0u8..90,
        b in 0u8..90,
        p0 in 0u8..90,
        plen in 0u8..40,
        end_amount in any::<bool>(),
    ) {
        let rows = build(&raw);
        let (s, e) = (a.min(b), a.max(b));
        let valuation = if end_amount { ExitValuation::EndAmount } else { ExitValuation::StartAmount };
        let first = date(1, 1) + TimeDelta::days(i64::from(p0));
        let period = DateRange::new(first, first + TimeDelta::days(i64::from(plen))).unwrap();
        for scope in [PipelineScope::Rolling, PipelineScope::Period(period)] {
            let spec = WaterfallSpec::new(
                base() + TimeDelta::hours(12 * i64::from(s)),
                base() + TimeDelta::hours(12 * i64::from(e)),
            )
            .with_scope(scope)
            .with_exit_valuation(valuation);
            check_waterfall(&rows, &spec);
        }
    }

    #[test]
    fn snapshots_match_the_naive_state(raw in raw_history(), t in 0u8..90) {
        let rows = build(&raw);
        let h = sf(&rows);
        let instant = base() + TimeDelta::hours(12 * i64::from(t));
        let snap = h.snapshot(instant);
        let existing = h.ids().iter().filter(|id| oracle(&rows, id.as_str(), instant).is_some()).count();
        prop_assert_eq!(snap.entries.len(), existing);
        for e in &snap.entries {
            let (i, r) = oracle(&rows, e.opportunity.as_str(), instant).unwrap();
            prop_assert_eq!(e.state.row, i);
            prop_assert_eq!(e.state.amount, r.amount);
            prop_assert_eq!(e.state.close_date, r.close_date);
            prop_assert_eq!(&h.funnel().stages()[e.state.stage].key, &r.stage);
            let created = rows.iter().filter(|x| x.opportunity == e.opportunity).map(|x| x.changed_at).min();
            prop_assert_eq!(Some(e.state.created_at), created);
        }
    }

    #[test]
    fn measures_merge_over_a_split_by_deal(raw in raw_history(), t in 0u8..90) {
        let rows = build(&raw);
        let instant = base() + TimeDelta::hours(12 * i64::from(t));
        let (even, odd): (Vec<_>, Vec<_>) = rows.iter().cloned().partition(|r| r.opportunity.as_str().len() % 2 == 0);
        let (h, he, ho) = (sf(&rows), sf(&even), sf(&odd));
        for basis in [WinRateBasis::ClosedOnly, WinRateBasis::AllCreated, WinRateBasis::ClosedPlusStale { days: 7 }] {
            let spec = WinRateSpec::new(instant).with_basis(basis);
            let mut m = he.win_rate(&spec).unwrap();
            m.merge(&ho.win_rate(&spec).unwrap()).unwrap();
            prop_assert_eq!(m, h.win_rate(&spec).unwrap());
        }
        let mut r = he.forecast_rollup(instant, PipelineScope::Rolling).unwrap();
        r.merge(&ho.forecast_rollup(instant, PipelineScope::Rolling).unwrap()).unwrap();
        prop_assert_eq!(r, h.forecast_rollup(instant, PipelineScope::Rolling).unwrap());
        let mut w = he.weighted_pipeline(instant, PipelineScope::Rolling, ProbabilitySource::Stage).unwrap();
        w.merge(&ho.weighted_pipeline(instant, PipelineScope::Rolling, ProbabilitySource::Stage).unwrap()).unwrap();
        prop_assert_eq!(w, h.weighted_pipeline(instant, PipelineScope::Rolling, ProbabilitySource::Stage).unwrap());
        let mut rates = he.stage_win_rates(instant, None);
        rates.merge(&ho.stage_win_rates(instant, None)).unwrap();
        prop_assert_eq!(rates, h.stage_win_rates(instant, None));
        let mut c = he.sales_cycle(&SalesCycleSpec::new(instant).with_outcome(CycleOutcome::Closed));
        c.merge(&ho.sales_cycle(&SalesCycleSpec::new(instant).with_outcome(CycleOutcome::Closed))).unwrap();
        prop_assert_eq!(c.summary(), h.sales_cycle(&SalesCycleSpec::new(instant).with_outcome(CycleOutcome::Closed)).summary());
        let window = Window::new(base(), instant).unwrap();
        let mut s = he.slippage(&window).unwrap();
        s.merge(&ho.slippage(&window).unwrap()).unwrap();
        let whole = h.slippage(&window).unwrap();
        prop_assert_eq!((s.deals, s.pushes, s.pushed_deals, s.pushed_twice_or_more, s.slipped),
            (whole.deals, whole.pushes, whole.pushed_deals, whole.pushed_twice_or_more, whole.slipped));
    }
}

// ---------------------------------------------------------------------------
// Win rate
// ---------------------------------------------------------------------------

fn funnel_with_exits() -> Funnel {
    use StageKind::*;
    use StageOwner::Sales;
    Funnel::new(
        "with exits",
        vec![
            Stage::new("discovery", "Discovery", Sales, Open).with_probability(0.2),
            Stage::new("proposal", "Proposal", Sales, Open).with_probability(0.6),
            Stage::new("won", "Won", Sales, Won),
            Stage::new("lost", "Lost", Sales, Lost),
            Stage::new("no_decision", "Closed - No Decision", Sales, Lost),
            Stage::new("disqualified", "Disqualified", Sales, Disqualified),
        ],
    )
    .unwrap()
}

/// Created in January unless said otherwise; read as of May 1.
/// Won: W1, W2, W3 (W3 created in December); lost: L1, L2; disqualified: D1;
/// closed "no decision" (a lost-kind stage): N1; open: S1, S2 unchanged since
/// February (stale after 30 days), F1 changed in April.
fn win_rate_history() -> PipelineHistory {
    let jan = at(1, 10);
    let mut rows = Vec::new();
    let mut deal = |id: &str, created: DateTime<Utc>, last: &str, when: DateTime<Utc>| {
        rows.push(row(id, created, "discovery", 10, None));
        rows.push(row(id, when, last, 10, None));
    };
    deal("W1", jan, "won", at(2, 1));
    deal("W2", jan, "won", at(3, 1));
    deal(
        "W3",
        Utc.with_ymd_and_hms(2025, 12, 20, 0, 0, 0).unwrap(),
        "won",
        at(3, 5),
    );
    deal("L1", jan, "lost", at(2, 15));
    deal("L2", jan, "lost", at(3, 15));
    deal("D1", jan, "disqualified", at(1, 20));
    deal("N1", jan, "no_decision", at(3, 20));
    deal("S1", jan, "proposal", at(2, 2));
    deal("S2", jan, "proposal", at(2, 20));
    deal("F1", jan, "proposal", at(4, 20));
    PipelineHistory::new(funnel_with_exits(), USD, &rows).unwrap()
}

fn counts(w: &revops::pipeline::WinRate) -> (u64, u64) {
    (w.ratio.numerator, w.ratio.denominator)
}

#[test]
fn win_rate_bases_on_a_hand_example() {
    let h = win_rate_history();
    let as_of = at(5, 1);
    let spec = WinRateSpec::new(as_of);
    let closed = h.win_rate(&spec).unwrap();
    // default no decision = disqualified / recycled stages: D1; N1 is lost-kind
    assert_eq!(counts(&closed), (3, 6));
    assert_eq!(
        (closed.won, closed.lost, closed.no_decision, closed.open),
        (3, 3, 1, 3)
    );
    let ci = closed.interval.unwrap();
    assert!(ci.contains(0.5));
    let nd = h
        .win_rate(&spec.clone().with_basis(WinRateBasis::ClosedPlusNoDecision))
        .unwrap();
    assert_eq!(counts(&nd), (3, 7));
    // A list replaces the default: N1 and D1 named as no decision
    let named = spec.clone().with_no_decision(NoDecision::Stages(vec![
        "Closed - No Decision".into(),
        "disqualified".into(),
    ]));
    assert_eq!(counts(&h.win_rate(&named).unwrap()), (3, 5));
    assert_eq!(
        counts(
            &h.win_rate(&named.with_basis(WinRateBasis::ClosedPlusNoDecision))
                .unwrap()
        ),
        (3, 7)
    );
    // N1 alone: D1 is then an ordinary loss
    let only_n1 = spec
        .clone()
        .with_no_decision(NoDecision::Stages(vec!["no_decision".into()]));
    assert_eq!(counts(&h.win_rate(&only_n1).unwrap()), (3, 6));
    // stale: S1 (last change Feb 2) and S2 (Feb 20) at 30 days; F1 is fresh
    let stale = h
        .win_rate(
            &spec
                .clone()
                .with_basis(WinRateBasis::ClosedPlusStale { days: 30 }),
        )
        .unwrap();
    assert_eq!((stale.stale, stale.open), (2, 1));
    assert_eq!(counts(&stale), (3, 8));
    // S1 was last changed 88 days before May 1, S2 70 days: both stale at 70 days
    // (the bound is included), only S1 at 71
    let stale70 = h
        .win_rate(
            &spec
                .clone()
                .with_basis(WinRateBasis::ClosedPlusStale { days: 70 }),
        )
        .unwrap();
    assert_eq!((stale70.stale, stale70.open), (2, 1));
    let stale71 = h
        .win_rate(
            &spec
                .clone()
                .with_basis(WinRateBasis::ClosedPlusStale { days: 71 }),
        )
        .unwrap();
    assert_eq!((stale71.stale, stale71.open), (1, 2));
    // cohort created in January 2026: all but W3
    let cohort = h
        .win_rate(
            &spec
                .clone()
                .with_basis(WinRateBasis::AllCreated)
                .with_window(Window::new(at(1, 1), at(2, 1)).unwrap()),
        )
        .unwrap();
    assert_eq!(counts(&cohort), (2, 9));
    // closed in March only: W2, W3, L2, N1 (lost-kind)
    let march = h
        .win_rate(
            &spec
                .clone()
                .with_window(Window::new(at(3, 1), at(4, 1)).unwrap()),
        )
        .unwrap();
    assert_eq!(counts(&march), (2, 4));
    // as of March 2: only W1, W2, L1, D1 closed
    assert_eq!(
        counts(&h.win_rate(&WinRateSpec::new(at(3, 2))).unwrap()),
        (2, 3)
    );
    // bad no-decision lists
    let bad = |keys: Vec<String>| {
        h.win_rate(&WinRateSpec::new(as_of).with_no_decision(NoDecision::Stages(keys)))
    };
    assert!(matches!(
        bad(vec!["nope".into()]).as_ref().map_err(|e| e.kind()),
        Err(ErrorKind::UnknownStage { .. })
    ));
    assert!(matches!(
        bad(vec!["won".into()]).as_ref().map_err(|e| e.kind()),
        Err(ErrorKind::InvalidParameter { .. })
    ));
    assert!(matches!(
        bad(vec!["proposal".into()]).as_ref().map_err(|e| e.kind()),
        Err(ErrorKind::InvalidParameter { .. })
    ));
}

// ---------------------------------------------------------------------------
// The other measures
// ---------------------------------------------------------------------------

#[test]
fn cycle_aging_and_weighted_on_the_win_rate_example() {
    let h = win_rate_history();
    let as_of = at(5, 1);
    let won = h.sales_cycle(&SalesCycleSpec::new(as_of));
    // W1: Jan 10 -> Feb 1 = 22 d; W2: Jan 10 -> Mar 1 = 50 d; W3: Dec 20 -> Mar 5 = 75 d
    let s = won.summary().unwrap();
    assert_eq!(
        (s.count, s.median_days(), s.min_days(), s.max_days()),
        (3, 50.0, 22.0, 75.0)
    );
    assert_eq!(won.mean_days(), Some(Decimal::from(49)));
    let lost = h.sales_cycle(&SalesCycleSpec::new(as_of).with_outcome(CycleOutcome::Lost));
    assert_eq!(lost.summary().unwrap().count, 4);

    let aging = h.aging(as_of, None);
    let proposal = &aging.stages[1];
    let days: Vec<u64> = proposal.open.values().iter().map(|s| s / 86_400).collect();
    assert_eq!(days, [88, 70, 11]);
    assert_eq!(proposal.closed.count(), 0);
    assert_eq!(aging.stages[0].closed.count(), 7);

    // stage probabilities: 3 open proposal deals × 10 × 0.6
    let w = h
        .weighted_pipeline(as_of, PipelineScope::Rolling, ProbabilitySource::Stage)
        .unwrap();
    assert_eq!((w.weighted, w.open.deals), (usd(18), 3));
    // the deals carry no probability of their own
    let own = h
        .weighted_pipeline(
            as_of,
            PipelineScope::Rolling,
            ProbabilitySource::Opportunity,
        )
        .unwrap();
    assert_eq!((own.weighted, own.unweighted.deals), (usd(0), 3));
    // empirically, proposal was never seen closed: no rate
    let rates = h.stage_win_rates(as_of, None);
    assert_eq!(counts_of(&rates.stages[0].ratio), (3, 7));
    assert_eq!(rates.rate(1), None);
    let e = h
        .weighted_by_rates(as_of, PipelineScope::Rolling, &rates)
        .unwrap();
    assert_eq!((e.unweighted.deals, e.weighted), (3, usd(0)));
}

fn counts_of(r: &revops::Ratio) -> (u64, u64) {
    (r.numerator, r.denominator)
}

#[test]
fn coverage_rollups_and_slippage_on_the_waterfall_scenario() {
    let h = sf(&waterfall_scenario());
    let march_range = DateRange::new(date(3, 1), date(3, 31)).unwrap();
    // As of March 16: open in March: stay_up 150, stay_down 120, stay_same 70, new 40,
    // through 25, reopen 35; won in March: won 280.
    let c = h.coverage(at(3, 16), march_range, usd(1280)).unwrap();
    assert_eq!((c.pipeline.amount, c.pipeline.deals), (usd(440), 6));
    assert_eq!((c.won.amount, c.remaining), (usd(280), usd(1000)));
    assert_eq!(c.ratio, Some(Decimal::new(44, 2)));
    assert_eq!(
        h.coverage(at(3, 16), march_range, usd(280)).unwrap().ratio,
        None
    );
    assert!(matches!(
        h.coverage(
            at(3, 16),
            march_range,
            Money::new(Decimal::ONE, revops::Currency::EUR)
        )
        .as_ref()
        .map_err(|e| e.kind()),
        Err(ErrorKind::CurrencyMismatch { .. })
    ));
    assert!(h.coverage(at(3, 16), march_range, usd(-1)).is_err());

    // No categories on the rows: implied by the stage.
    let r = h.forecast_rollup(at(4, 1), march()).unwrap();
    // closed won in March: won 280, through 25, pull_won 45; lost in March: lost 0
    assert_eq!(r.category(ForecastCategory::Closed).amount, usd(350));
    assert_eq!(r.commit, usd(350));
    assert_eq!(r.best_case, usd(350));
    assert_eq!((r.pipeline.amount, r.pipeline.deals), (usd(495), 7));
    assert_eq!(r.category(ForecastCategory::Omitted).deals, 1);

    // Pushes in March: push (Mar 1 -> Apr 1, 31 days). cleared clears its date: not a push.
    let s = h
        .slippage(&Window::new(at(3, 1), at(4, 1)).unwrap())
        .unwrap();
    assert_eq!(
        (s.pushes, s.pushed_deals, s.pushed_twice_or_more),
        (1, 1, 0)
    );
    assert_eq!(s.per_deal[0].opportunity.as_str(), "push");
    assert_eq!((s.per_deal[0].days, s.slipped), (31, usd(95)));
    // at risk: open at some instant of March (all but closed_both and edge)
    assert_eq!(s.deals, 13);
    // from March 5: "won" closed at that very instant, so it is no longer at risk
    let s = h
        .slippage(&Window::new(at(3, 5), at(4, 1)).unwrap())
        .unwrap();
    assert_eq!((s.deals, s.pushes), (12, 1));
    // a window before the push sees none
    let s = h
        .slippage(&Window::new(at(2, 1), at(3, 1)).unwrap())
        .unwrap();
    assert_eq!(s.pushes, 0);
}

#[test]
fn backtest_compares_both_weightings_with_what_closed() {
    let h = sf(&waterfall_scenario());
    let b = h
        .backtest_weighted(&BacktestSpec::new(at(3, 1), at(4, 1)).with_scope(march()))
        .unwrap();
    // In March's pipeline at March 1: stay_up, stay_down, stay_same, push, won, lost, cleared.
    assert_eq!(b.configured.open.deals, 7);
    // won by April 1: won (280 booked)
    assert_eq!((b.won.amount, b.won.deals), (usd(280), 1));
    assert_eq!((b.lost.amount, b.still_open.deals), (usd(50), 5));
    // All at prospecting (10 %) but stay_same... all prospecting at March 1: 890 × 0.1
    assert_eq!(b.configured.weighted, usd(89));
    // learnt by March 1 from reopen (lost) and closed_both (won), both prospecting: 1/2
    assert_eq!(b.rates.rate(0), Some(Decimal::new(5, 1)));
    assert_eq!(b.empirical.weighted, usd(445));
    assert_eq!(b.configured_error().unwrap(), usd(89 - 280));
    assert_eq!(b.empirical_error().unwrap(), usd(445 - 280));
    assert!(matches!(
        h.backtest_weighted(&BacktestSpec::new(at(4, 1), at(3, 1)))
            .as_ref()
            .map_err(|e| e.kind()),
        Err(ErrorKind::InvalidPeriod { .. })
    ));
}

// ---------------------------------------------------------------------------
// Real data: Maven CRM
// ---------------------------------------------------------------------------

/// Expected values computed independently from the raw CSV with Python's `csv`,
/// `datetime` and `statistics` modules: won = rows with deal_stage "Won" (4238), lost =
/// "Lost" (2473); cycle = (close_date − engage_date).days per closed row; medians by
/// `statistics.median` (mean of the two middle values for an even count, as type 7);
/// sums of days 219452 (won), 102578 (lost), 322030 (all closed). The script:
///
/// ```text
/// import csv, datetime, statistics
/// rows = list(csv.DictReader(open('maven_crm_sales_pipeline.csv')))
/// d = datetime.date.fromisoformat
/// for stage in ('Won', 'Lost'):
///     x = [(d(r['close_date']) - d(r['engage_date'])).days for r in rows if r['deal_stage'] == stage]
///     print(stage, len(x), statistics.median(x), sum(x), min(x), max(x))
/// ```
/// (and the same over both stages together: median 45).
#[cfg(feature = "csv")]
#[test]
fn maven_win_rate_and_cycle_lengths() {
    use revops::real::{maven_funnel, read_maven};
    let Some(file) = crate::fixtures::shared_file("real/maven_crm_sales_pipeline.csv") else {
        return;
    };
    let data = read_maven(file, USD).unwrap();
    let h = PipelineHistory::new(maven_funnel(), USD, &data.history).unwrap();
    let as_of = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
    let w = h.win_rate(&WinRateSpec::new(as_of)).unwrap();
    assert_eq!(counts(&w), (4238, 6711));
    assert_eq!(w.no_decision, 0);
    let ci = w.interval.unwrap();
    assert!(ci.lower < 4238.0 / 6711.0 && 4238.0 / 6711.0 < ci.upper);

    let cycle = |outcome| h.sales_cycle(&SalesCycleSpec::new(as_of).with_outcome(outcome));
    let won = cycle(CycleOutcome::Won);
    let s = won.summary().unwrap();
    assert_eq!(
        (s.count, s.median_days(), s.min_days(), s.max_days()),
        (4238, 57.0, 1.0, 138.0)
    );
    let mean = won.mean_days().unwrap().to_string().parse::<f64>().unwrap();
    assert!((mean - 219_452.0 / 4238.0).abs() < 1e-12);
    let lost = cycle(CycleOutcome::Lost).summary().unwrap();
    assert_eq!((lost.count, lost.median_days()), (2473, 14.0));
    assert!((lost.mean_days() - 102_578.0 / 2473.0).abs() < 1e-9);
    let all = cycle(CycleOutcome::Closed).summary().unwrap();
    assert_eq!((all.count, all.median_days()), (6711, 45.0));
    assert!((all.mean_days() - 322_030.0 / 6711.0).abs() < 1e-9);

    // The waterfall over 2017 by quarter holds its identity; won over the whole
    // history (rolling, from before the first row) is every won deal's value.
    let (first, last) = h.span().unwrap();
    let w = h
        .waterfall(&WaterfallSpec::new(first - TimeDelta::days(1), last))
        .unwrap();
    assert_eq!(w.computed_end().unwrap(), w.end.amount);
    let won_value: i64 = 10_005_534;
    assert_eq!((w.won.amount, w.won.deals), (usd(won_value), 4238));
    assert_eq!(w.lost.deals, 2473);
}

// ---------------------------------------------------------------------------
// The synthetic company
// ---------------------------------------------------------------------------

#[cfg(feature = "synth")]
#[test]
fn synthetic_company_waterfall_identity_every_month() {
    use revops::synth::{SynthConfig, generate};
    use revops::{Calendar, Granularity};
    let company = generate(&SynthConfig::default().with_leads(20_000).with_seed(11)).unwrap();
    let h = PipelineHistory::new(
        Funnel::salesforce_opportunity(),
        company.currency,
        &company.opportunity_history,
    )
    .unwrap();
    assert_eq!(h.len(), company.opportunities.len());
    assert!(h.len() > 100);
    let cal = Calendar::new();
    let first = company.window.start().date_naive();
    let last = (company.window.end() - TimeDelta::seconds(1)).date_naive();
    let mut previous_end: Option<Money> = None;
    let mut months = 0;
    for month in cal.periods(first, last, Granularity::Month) {
        let w = Window::for_period(&month, &cal);
        for scope in [
            PipelineScope::Rolling,
            PipelineScope::period(&month),
            PipelineScope::period(&month.next()),
        ] {
            for valuation in [ExitValuation::StartAmount, ExitValuation::EndAmount] {
                let spec = WaterfallSpec::new(w.start(), w.end())
                    .with_scope(scope)
                    .with_exit_valuation(valuation);
                let wf = h.waterfall(&spec).unwrap();
                assert_eq!(
                    wf.computed_end().unwrap(),
                    wf.end.amount,
                    "{month} {scope:?}"
                );
            }
        }
        // Rolling pipelines chain: this month's start is last month's end.
        let wf = h
            .waterfall(&WaterfallSpec::new(w.start(), w.end()))
            .unwrap();
        if let Some(prev) = previous_end {
            assert_eq!(wf.start.amount, prev);
        }
        previous_end = Some(wf.end.amount);
        months += 1;
    }
    assert_eq!(months, 24);

    // The final snapshot is the company's opportunities.
    let snap = h.snapshot(company.window.end());
    assert_eq!(snap.entries.len(), company.opportunities.len());
    for (e, o) in snap.entries.iter().zip(&company.opportunities) {
        assert_eq!(e.opportunity, o.id);
        assert_eq!(h.funnel().stages()[e.state.stage].key, o.stage);
        assert_eq!(
            (e.state.amount, e.state.close_date),
            (o.amount, o.close_date)
        );
    }
    // Won across the whole history = the won opportunities' amounts.
    let all = h
        .waterfall(&WaterfallSpec::new(
            company.window.start() - TimeDelta::days(1),
            company.window.end(),
        ))
        .unwrap();
    let won: Vec<&Money> = company
        .opportunities
        .iter()
        .filter(|o| o.stage == "closed_won")
        .map(|o| &o.amount)
        .collect();
    assert_eq!(
        all.won.amount,
        Money::sum(company.currency, won.iter().copied()).unwrap()
    );
    assert_eq!(all.won.deals, won.len() as u64);
    // The generator pushes long deals two or more times.
    let s = h.slippage(&company.window).unwrap();
    assert!(s.pushed_twice_or_more > 0 && s.pushes > s.pushed_deals);
}

// ---------------------------------------------------------------------------
// The accumulator contract (issue 15)
// ---------------------------------------------------------------------------

fn movements() -> impl Strategy<Value = Vec<revops::pipeline::Movement>> {
    prop::collection::vec((0u8..12, 0usize..7, 0i64..1_000_000), 0..60).prop_map(|v| {
        v.into_iter()
            .map(|(id, kind, cents)| revops::pipeline::Movement {
                opportunity: OpportunityId::new(format!("O{id}")).unwrap(),
                kind: MovementKind::ALL[kind],
                amount: Money::new(Decimal::new(cents, 2), USD),
            })
            .collect()
    })
}

/// The columns exactly and the movements as a multiset (merging appends, so the
/// order of the audit list follows the merge order).
type WaterfallKey = (Vec<(Decimal, u64)>, Vec<(String, MovementKind, Decimal)>);

fn waterfall_key(w: &Waterfall) -> WaterfallKey {
    let mut listed: Vec<_> = w
        .movements
        .iter()
        .map(|m| (m.opportunity.to_string(), m.kind, m.amount.amount()))
        .collect();
    listed.sort();
    (columns_exact(w), listed)
}

proptest! {
    #[test]
    fn waterfall_follows_the_contract(
        items in movements(),
        cut in 0usize..60,
        totals in any::<bool>(),
    ) {
        let audit = if totals { revops::pipeline::Audit::Totals } else { revops::pipeline::Audit::Movements };
        crate::contract::assert_contract(|| Waterfall::new(USD).with_audit(audit), &items, cut, waterfall_key);
    }
}

#[test]
fn waterfall_states_of_another_version_or_options_are_refused() {
    let h = sf(&waterfall_scenario());
    let spec = WaterfallSpec::new(at(3, 1), at(4, 1));
    let w = h.waterfall(&spec).unwrap();
    let json = serde_json::to_string(&w).unwrap();
    assert!(
        json.starts_with(r#"{"version":1,"audit":"movements","#),
        "{json}"
    );
    assert_eq!(serde_json::from_str::<Waterfall>(&json).unwrap(), w);
    let e =
        serde_json::from_str::<Waterfall>(&json.replacen(r#""version":1"#, r#""version":7"#, 1))
            .unwrap_err();
    assert!(e.to_string().contains("version 7 is not supported"), "{e}");

    // Another audit: refused, and nothing changes.
    let totals = h
        .waterfall(&spec.clone().with_audit(revops::pipeline::Audit::Totals))
        .unwrap();
    let mut merged = w.clone();
    let e = merged.merge(&totals).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::MergeMismatch { .. }), "{e:?}");
    assert_eq!(merged, w);
    // Another currency: refused, and nothing changes.
    let mut eur = Waterfall::new(revops::Currency::EUR);
    let before = eur.clone();
    assert!(matches!(
        eur.merge(&w).as_ref().map_err(|e| e.kind()),
        Err(ErrorKind::CurrencyMismatch { .. })
    ));
    assert_eq!(eur, before);
}
