//! Breakdowns of the pipeline measures (issue 18): the cells add up to the total,
//! each cell equals the measure run on the history filtered to its deals, partial
//! breakdowns merge into the breakdown of the whole, the accumulator contract, and
//! the Maven CRM file per sales agent.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use revops::breakdown::{Breakdown, Dimension, Keyed, Keys};
use revops::error::ErrorKind;
use revops::forecast::{Calibration, CalibrationOptions};
use revops::pipeline::{
    Bookings, BookingsSpec, CycleOutcome, PeriodDeal, PeriodPipeline, PipelineHistory,
    PipelineScope, SalesCycle, SalesCycleSpec, Slippage, Waterfall, WaterfallSpec, WinRate,
    WinRateBasis, WinRateCount, WinRateSpec,
};
use revops::{
    Accumulator, Channel, Confidence, Currency, DateRange, Decimal, Funnel, IntervalMethod, Lead,
    LeadId, Money, Opportunity, OpportunityChange, OpportunityId, Window,
};

use crate::contract::{assert_contract, ship};

const USD: Currency = Currency::USD;

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
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

fn half_days(n: u8) -> DateTime<Utc> {
    base() + TimeDelta::hours(12 * i64::from(n))
}

/// (deal, half-day offset, stage, cents, close day offset, probability in %)
type RawRow = (u8, u8, u8, u32, Option<u8>, u8);

fn build(raw: &[RawRow]) -> Vec<OpportunityChange> {
    raw.iter()
        .map(|&(o, t, s, cents, close, p)| {
            let mut c = OpportunityChange::new(
                OpportunityId::new(format!("O{o}")).unwrap(),
                half_days(t),
                STAGES[usize::from(s)],
                Money::from_minor_units(i128::from(cents), USD).unwrap(),
            );
            c.close_date = close.map(|d| base().date_naive() + TimeDelta::days(i64::from(d)));
            c.probability = Some(f64::from(p) / 100.0);
            c
        })
        .collect()
}

fn raw_history() -> impl Strategy<Value = Vec<RawRow>> {
    prop::collection::vec(
        (
            0u8..12,
            0u8..80,
            0u8..10,
            0u32..100_000,
            prop::option::weighted(0.8, 0u8..90),
            0u8..=100,
        ),
        0..60,
    )
}

/// Per deal 0..12: whether it has an opportunity record, its owner (of 3, or none),
/// and its lead's source (of 2, or no lead).
type RawAttrs = Vec<(bool, Option<u8>, Option<u8>)>;

fn raw_attrs() -> impl Strategy<Value = RawAttrs> {
    prop::collection::vec(
        (
            prop::bool::weighted(0.9),
            prop::option::weighted(0.8, 0u8..3),
            prop::option::weighted(0.7, 0u8..2),
        ),
        12,
    )
}

fn records(attrs: &RawAttrs) -> (Vec<Opportunity>, Vec<Lead>) {
    let mut opps = Vec::new();
    let mut leads = Vec::new();
    for (o, &(has_record, owner, source)) in attrs.iter().enumerate() {
        if !has_record {
            continue;
        }
        let mut opp = Opportunity::new(
            OpportunityId::new(format!("O{o}")).unwrap(),
            base(),
            "prospecting",
            Money::zero(USD),
        );
        opp.owner = owner.map(|x| format!("rep{x}"));
        if let Some(s) = source {
            let lead = Lead::new(LeadId::new(format!("L{o}")).unwrap(), base())
                .with_source(Channel::new(format!("src{s}")).unwrap());
            opp.lead = Some(lead.id.clone());
            leads.push(lead);
        }
        opps.push(opp);
    }
    (opps, leads)
}

fn sf(rows: &[OpportunityChange]) -> PipelineHistory {
    PipelineHistory::new(Funnel::salesforce_opportunity(), USD, rows).unwrap()
}

/// The rows of the deals whose bucket is `value` under `keys` (built on `h`).
fn filtered(
    rows: &[OpportunityChange],
    h: &PipelineHistory,
    keys: &Keys,
    value: &Option<String>,
) -> Vec<OpportunityChange> {
    rows.iter()
        .filter(|r| {
            let o = h.index_of(r.opportunity.as_str()).unwrap();
            &keys.values()[keys.of(o).unwrap()] == value
        })
        .cloned()
        .collect()
}

/// Every measure's breakdown on one history.
struct All {
    win: Vec<Breakdown<WinRate>>,
    cycle: Breakdown<SalesCycle>,
    bookings: Breakdown<Bookings>,
    waterfall: Vec<Breakdown<Waterfall>>,
    slippage: Breakdown<Slippage>,
    calibration: Breakdown<Calibration>,
    coverage: Breakdown<PeriodPipeline>,
}

struct Specs {
    win: Vec<WinRateSpec>,
    cycle: SalesCycleSpec,
    bookings: BookingsSpec,
    waterfall: Vec<WaterfallSpec>,
    window: Window,
    instant: DateTime<Utc>,
    period: DateRange,
}

fn specs(t: u8, a: u8, b: u8) -> Specs {
    let instant = half_days(t);
    let (s, e) = (half_days(a.min(b)), half_days(a.max(b)));
    let window = Window::new(s, e + TimeDelta::hours(1)).unwrap();
    let first = base().date_naive() + TimeDelta::days(i64::from(a / 2));
    let period = DateRange::new(first, first + TimeDelta::days(20)).unwrap();
    Specs {
        win: [
            WinRateBasis::ClosedOnly,
            WinRateBasis::AllCreated,
            WinRateBasis::ClosedPlusStale { days: 7 },
        ]
        .map(|b| WinRateSpec::new(instant).with_basis(b))
        .to_vec(),
        cycle: SalesCycleSpec::new(instant).with_outcome(CycleOutcome::Closed),
        bookings: BookingsSpec::new(instant).with_window(window),
        waterfall: [PipelineScope::Rolling, PipelineScope::Period(period)]
            .map(|scope| WaterfallSpec::new(s, e).with_scope(scope))
            .to_vec(),
        window,
        instant,
        period,
    }
}

fn run_all(h: &PipelineHistory, s: &Specs, keys: &Keys) -> All {
    All {
        win: s
            .win
            .iter()
            .map(|w| h.win_rate_by(w, keys).unwrap())
            .collect(),
        cycle: h.sales_cycle_by(&s.cycle, keys).unwrap(),
        bookings: h.bookings_by(&s.bookings, keys).unwrap(),
        waterfall: s
            .waterfall
            .iter()
            .map(|w| h.waterfall_by(w, keys).unwrap())
            .collect(),
        slippage: h.slippage_by(&s.window, keys).unwrap(),
        calibration: h
            .calibration_by(&s.window, CalibrationOptions::default(), keys)
            .unwrap(),
        coverage: h.coverage_by(s.instant, s.period, keys).unwrap(),
    }
}

fn money_sum<'a>(it: impl Iterator<Item = &'a Money>) -> Decimal {
    it.map(Money::amount).sum()
}

fn waterfall_columns(w: &Waterfall) -> Vec<(Decimal, u64)> {
    let mut v = vec![(w.start.amount.amount(), w.start.deals)];
    v.extend(
        revops::pipeline::MovementKind::ALL
            .iter()
            .map(|&k| (w.flow(k).amount.amount(), w.flow(k).deals)),
    );
    v.push((w.end.amount.amount(), w.end.deals));
    v
}

/// The cells' counts and money add up to the total.
fn check_sums(all: &All) {
    for b in &all.win {
        let t = b.total();
        let sum = |f: fn(&WinRate) -> u64| b.cells().map(|(_, c)| f(c)).sum::<u64>();
        assert_eq!(
            (
                sum(|w| w.won),
                sum(|w| w.lost),
                sum(|w| w.no_decision),
                sum(|w| w.stale),
                sum(|w| w.open)
            ),
            (t.won, t.lost, t.no_decision, t.stale, t.open)
        );
        assert_eq!(
            b.cells().map(|(_, c)| c.ratio.denominator).sum::<u64>(),
            t.ratio.denominator
        );
    }
    let cells = all.cycle.cells();
    assert_eq!(
        cells.map(|(_, c)| c.durations.count()).sum::<u64>(),
        all.cycle.total().durations.count()
    );
    let b = &all.bookings;
    assert_eq!(
        money_sum(b.cells().map(|(_, c)| &c.amount)),
        b.total().amount.amount()
    );
    assert_eq!(
        b.cells().map(|(_, c)| c.deals).sum::<u64>(),
        b.total().deals
    );
    for w in &all.waterfall {
        let mut sum = vec![(Decimal::ZERO, 0u64); 9];
        for (_, c) in w.cells() {
            assert_eq!(c.computed_end().unwrap(), c.end.amount);
            for (acc, col) in sum.iter_mut().zip(waterfall_columns(c)) {
                acc.0 += col.0;
                acc.1 += col.1;
            }
        }
        assert_eq!(sum, waterfall_columns(w.total()));
        assert_eq!(
            w.cells().map(|(_, c)| c.movements.len()).sum::<usize>(),
            w.total().movements.len()
        );
    }
    let s = &all.slippage;
    assert_eq!(
        money_sum(s.cells().map(|(_, c)| &c.slipped)),
        s.total().slipped.amount()
    );
    assert_eq!(
        (
            s.cells().map(|(_, c)| c.deals).sum::<u64>(),
            s.cells().map(|(_, c)| c.pushes).sum::<u64>()
        ),
        (s.total().deals, s.total().pushes)
    );
    let p = &all.coverage;
    let flows: [fn(&PeriodPipeline) -> &revops::pipeline::Flow; 2] = [|x| &x.pipeline, |x| &x.won];
    for f in flows {
        let total = f(p.total());
        assert_eq!(
            money_sum(p.cells().map(|(_, c)| &f(c).amount)),
            total.amount.amount()
        );
        assert_eq!(p.cells().map(|(_, c)| f(c).deals).sum::<u64>(), total.deals);
    }
    let c = all.calibration.finish().unwrap();
    assert_eq!(
        c.cells
            .iter()
            .map(|x| (x.state.scores.won, x.state.scores.lost, x.state.scores.open))
            .fold((0, 0, 0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2)),
        (c.total.scores.won, c.total.scores.lost, c.total.scores.open)
    );
}

/// Each cell equals the measure on the history filtered to its deals, and the total
/// equals the unbroken measure.
fn check_filtered(
    rows: &[OpportunityChange],
    h: &PipelineHistory,
    keys: &Keys,
    s: &Specs,
    all: &All,
) {
    for (spec, b) in s.win.iter().zip(&all.win) {
        assert_eq!(b.total(), &h.win_rate(spec).unwrap());
    }
    assert_eq!(all.cycle.total(), &h.sales_cycle(&s.cycle));
    assert_eq!(all.bookings.total(), &h.bookings(&s.bookings).unwrap());
    for (spec, w) in s.waterfall.iter().zip(&all.waterfall) {
        assert_eq!(w.total(), &h.waterfall(spec).unwrap());
    }
    assert_eq!(all.slippage.total(), &h.slippage(&s.window).unwrap());
    let quota = Money::parse("500", USD).unwrap();
    assert_eq!(
        all.coverage.total().coverage(quota).unwrap(),
        h.coverage(s.instant, s.period, quota).unwrap()
    );
    assert_eq!(keys.values().len(), all.bookings.len());
    for (k, value) in keys.values().iter().enumerate() {
        let part = sf(&filtered(rows, h, keys, value));
        let v = value.as_deref();
        for (spec, b) in s.win.iter().zip(&all.win) {
            assert_eq!(b.cells().nth(k).map(|c| c.0), Some(v));
            assert_eq!(b.cell(v), Some(&part.win_rate(spec).unwrap()));
        }
        assert_eq!(all.cycle.cell(v), Some(&part.sales_cycle(&s.cycle)));
        assert_eq!(
            all.bookings.cell(v),
            Some(&part.bookings(&s.bookings).unwrap())
        );
        for (spec, w) in s.waterfall.iter().zip(&all.waterfall) {
            assert_eq!(w.cell(v), Some(&part.waterfall(spec).unwrap()));
        }
        assert_eq!(
            all.slippage.cell(v),
            Some(&part.slippage(&s.window).unwrap())
        );
        let cal = Calibration::from_predictions(
            &part.predictions(&s.window),
            CalibrationOptions::default(),
        )
        .unwrap();
        assert_eq!(
            all.calibration.cell(v).map(|c| c.finish().unwrap()),
            Some(cal.finish().unwrap())
        );
    }
}

/// The breakdowns of the two halves of a split by deal merge (also after a trip
/// through JSON) into the breakdown of the whole, compared on what order does not
/// change.
fn check_merge(whole: &All, even: &All, odd: &All) {
    fn merged<A: Accumulator>(a: &Breakdown<A>, b: &Breakdown<A>) -> Breakdown<A> {
        let mut m = ship(a);
        m.merge(&ship(b)).unwrap();
        m
    }
    for ((w, e), o) in whole.win.iter().zip(&even.win).zip(&odd.win) {
        assert_eq!(&merged(e, o), w);
    }
    assert_eq!(merged(&even.bookings, &odd.bookings), whole.bookings);
    assert_eq!(merged(&even.coverage, &odd.coverage), whole.coverage);
    let summaries = |b: &Breakdown<SalesCycle>| -> Vec<_> {
        std::iter::once(b.total().summary())
            .chain(b.cells().map(|(_, c)| c.summary()))
            .collect()
    };
    assert_eq!(
        summaries(&merged(&even.cycle, &odd.cycle)),
        summaries(&whole.cycle)
    );
    for ((w, e), o) in whole
        .waterfall
        .iter()
        .zip(&even.waterfall)
        .zip(&odd.waterfall)
    {
        let m = merged(e, o);
        let cols = |b: &Breakdown<Waterfall>| -> Vec<_> {
            std::iter::once((None, waterfall_columns(b.total())))
                .chain(
                    b.cells()
                        .map(|(v, c)| (Some(v.map(str::to_string)), waterfall_columns(c))),
                )
                .collect()
        };
        assert_eq!(cols(&m), cols(w));
    }
    let slip = |b: &Breakdown<Slippage>| -> Vec<_> {
        std::iter::once(b.total())
            .chain(b.cells().map(|(_, c)| c))
            .map(|s| {
                (
                    s.deals,
                    s.pushes,
                    s.pushed_deals,
                    s.pushed_twice_or_more,
                    s.slipped,
                )
            })
            .collect()
    };
    assert_eq!(
        slip(&merged(&even.slippage, &odd.slippage)),
        slip(&whole.slippage)
    );
    assert_eq!(
        merged(&even.calibration, &odd.calibration)
            .finish()
            .unwrap(),
        whole.calibration.finish().unwrap()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn breakdowns_sum_filter_and_merge(
        raw in raw_history(),
        attrs in raw_attrs(),
        t in 0u8..90,
        a in 0u8..90,
        b in 0u8..90,
        by_source in any::<bool>(),
    ) {
        let rows = build(&raw);
        let (opps, leads) = records(&attrs);
        let dim = if by_source { Dimension::Source } else { Dimension::Owner };
        let s = specs(t, a, b);
        let h = sf(&rows);
        let keys = h.keys(&dim, &opps, &leads).unwrap();
        let without_record = h.ids().iter().filter(|id| !opps.iter().any(|o| &o.id == *id)).count();
        prop_assert_eq!(keys.unmatched(), without_record as u64);
        let all = run_all(&h, &s, &keys);
        check_sums(&all);
        check_filtered(&rows, &h, &keys, &s, &all);

        let (even, odd): (Vec<_>, Vec<_>) = rows.iter().cloned().partition(|r| r.opportunity.as_str().len() % 2 == 0);
        let (he, ho) = (sf(&even), sf(&odd));
        let part = |h: &PipelineHistory| run_all(h, &s, &h.keys(&dim, &opps, &leads).unwrap());
        check_merge(&all, &part(&he), &part(&ho));
    }

    #[test]
    fn breakdown_follows_the_contract(
        items in prop::collection::vec((prop::option::of(0u8..4), 0u32..100_000), 0..40),
        cut in 0usize..41,
    ) {
        let keyed: Vec<Keyed<Money>> = items
            .iter()
            .map(|&(k, cents)| Keyed::new(
                k.map(|k| format!("k{k}")).as_deref(),
                Money::from_minor_units(i128::from(cents), USD).unwrap(),
            ))
            .collect();
        assert_contract(|| Breakdown::new(Dimension::Segment, Bookings::new(USD)), &keyed, cut, |r| r.clone());
        let outcomes = [WinRateCount::Won, WinRateCount::Lost, WinRateCount::Open, WinRateCount::NoDecision];
        let keyed: Vec<Keyed<WinRateCount>> = items
            .iter()
            .map(|&(k, c)| Keyed::new(k.map(|k| format!("k{k}")).as_deref(), outcomes[c as usize % 4]))
            .collect();
        let spec = WinRateSpec::new(base());
        assert_contract(|| Breakdown::new(Dimension::Owner, WinRate::new(&spec)), &keyed, cut, |r| r.clone());
        let counts: Vec<WinRateCount> = keyed.iter().map(|k| k.item).collect();
        assert_contract(|| WinRate::new(&spec), &counts, cut, |r| r.clone());
        // A batch is counted first and its interval computed once: the same state
        // as adding the deals one by one, under every interval method.
        for method in [IntervalMethod::Wilson, IntervalMethod::Jeffreys, IntervalMethod::ClopperPearson] {
            let spec = WinRateSpec::new(base()).with_interval(method, Confidence::P95);
            let mut one_by_one = WinRate::new(&spec);
            for c in &counts {
                one_by_one.add(c).unwrap();
            }
            let mut batched = WinRate::new(&spec);
            batched.add_batch(&counts[..cut.min(counts.len())]).unwrap();
            batched.add_batch(&counts[cut.min(counts.len())..]).unwrap();
            prop_assert_eq!(&batched, &one_by_one);
        }
        let seconds: Vec<u64> = items.iter().map(|&(_, c)| u64::from(c)).collect();
        assert_contract(|| SalesCycle::new(CycleOutcome::Won), &seconds, cut, |r| r.summary());
        let period = DateRange::new(base().date_naive(), base().date_naive()).unwrap();
        let deals: Vec<PeriodDeal> = items
            .iter()
            .map(|&(k, c)| {
                let m = Money::from_minor_units(i128::from(c), USD).unwrap();
                if k.is_some() { PeriodDeal::Open(m) } else { PeriodDeal::Won(m) }
            })
            .collect();
        assert_contract(|| PeriodPipeline::new(base(), period, USD), &deals, cut, |r| r.clone());
    }
}

#[test]
fn breakdown_states_are_checked() {
    let usd = |s| Money::parse(s, USD).unwrap();
    let mut by_owner = Breakdown::new(Dimension::Owner, Bookings::new(USD));
    by_owner.add(&Keyed::new(Some("b"), usd("2"))).unwrap();
    by_owner.add(&Keyed::new(Some("a"), usd("1"))).unwrap();
    // Another currency is refused and leaves the state unchanged.
    let before = by_owner.clone();
    let e = by_owner
        .add(&Keyed::new(
            Some("c"),
            Money::parse("1", Currency::EUR).unwrap(),
        ))
        .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::CurrencyMismatch { .. }),
        "{e}"
    );
    assert_eq!(by_owner, before);
    // Another dimension does not merge.
    let by_segment = Breakdown::new(Dimension::Segment, Bookings::new(USD));
    let e = by_owner.clone().merge(&by_segment).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::MergeMismatch { .. }), "{e}");
    // The serialised form: cells in bucket order, each value once.
    let json = serde_json::to_value(&by_owner).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["cells"][0]["value"], "a");
    let mut swapped = json.clone();
    swapped["cells"].as_array_mut().unwrap().swap(0, 1);
    let e = serde_json::from_value::<Breakdown<Bookings>>(swapped).unwrap_err();
    assert!(e.to_string().contains("bucket order"), "{e}");
    let mut v2 = json;
    v2["version"] = 2.into();
    assert!(serde_json::from_value::<Breakdown<Bookings>>(v2).is_err());
}

#[test]
fn pipeline_states_of_another_version_are_refused() {
    let spec = WinRateSpec::new(base());
    let mut v = serde_json::to_value(WinRate::new(&spec)).unwrap();
    assert_eq!(v["version"], 1);
    v["version"] = 2.into();
    let e = serde_json::from_value::<WinRate>(v).unwrap_err();
    assert!(e.to_string().contains("version 2 is not supported"), "{e}");
    let mut v = serde_json::to_value(Bookings::new(USD)).unwrap();
    v["version"] = 0.into();
    assert!(serde_json::from_value::<Bookings>(v).is_err());
    let mut v = serde_json::to_value(SalesCycle::new(CycleOutcome::Won)).unwrap();
    v["version"] = 2.into();
    assert!(serde_json::from_value::<SalesCycle>(v).is_err());
}

#[test]
fn keys_name_bad_input() {
    let t = base();
    let ten = Money::parse("10", USD).unwrap();
    let rows = [
        OpportunityChange::new(OpportunityId::new("A").unwrap(), t, "closed_won", ten),
        OpportunityChange::new(OpportunityId::new("B").unwrap(), t, "closed_lost", ten),
    ];
    let h = sf(&rows);
    let opp = |id: &str| Opportunity::new(OpportunityId::new(id).unwrap(), t, "closed_won", ten);
    let e = h
        .keys(&Dimension::Owner, &[opp("A"), opp("B"), opp("A")], &[])
        .unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::DuplicateId {
                kind: "opportunity",
                first: 0,
                second: 2,
                ..
            }
        ),
        "{e}"
    );
    // Keys of another history are refused by every measure.
    let other = Keys::new(Dimension::Owner, [Some("x")]).unwrap();
    let e = h.win_rate_by(&WinRateSpec::new(t), &other).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::InvalidParameter { name: "keys", .. }),
        "{e}"
    );
    assert!(h.bookings_by(&BookingsSpec::new(t), &other).is_err());
    // Shipped keys are checked: a record's bucket must be one of the values.
    let keys = h.keys(&Dimension::Owner, &[], &[]).unwrap();
    let mut v = serde_json::to_value(&keys).unwrap();
    assert_eq!(serde_json::from_value::<Keys>(v.clone()).unwrap(), keys);
    v["of"][1] = 5.into();
    let e = serde_json::from_value::<Keys>(v).unwrap_err();
    assert!(e.to_string().contains("every record's bucket"), "{e}");
}

#[test]
fn win_rates_of_other_intervals_do_not_merge() {
    let spec = WinRateSpec::new(base());
    let mut wilson = WinRate::new(&spec);
    let jeffreys = WinRate::new(
        &spec
            .clone()
            .with_interval(IntervalMethod::Jeffreys, Confidence::P95),
    );
    let e = wilson.merge(&jeffreys).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::MergeMismatch { .. }), "{e}");
}

/// The Maven CRM file per sales agent. Independent check (Python over the CSV;
/// rows without `engage_date` are the Prospecting deals the reader skips):
/// ```python
/// import csv, collections
/// won, closed, amt = collections.Counter(), collections.Counter(), collections.Counter()
/// for r in csv.DictReader(open('maven_crm_sales_pipeline.csv')):
///     if r['engage_date'] and r['deal_stage'] in ('Won', 'Lost'):
///         a = r['sales_agent']; closed[a] += 1
///         if r['deal_stage'] == 'Won': won[a] += 1; amt[a] += int(r['close_value'])
/// # 30 agents; 4238 / 6711 won, 10005534 booked; e.g.
/// # Darcel Schlecht 349 / 553, 1153214; Wilburn Farren 55 / 79, 157640;
/// # Anna Snelling 208 / 336, 275056; Violet Mclelland 122 / 193, 123431
/// ```
#[cfg(feature = "csv")]
#[test]
fn maven_per_sales_agent() {
    use revops::real::{maven_funnel, read_maven};
    let Some(file) = crate::fixtures::shared_file("real/maven_crm_sales_pipeline.csv") else {
        return;
    };
    let data = read_maven(file, USD).unwrap();
    let h = PipelineHistory::new(maven_funnel(), USD, &data.history).unwrap();
    let keys = h.keys(&Dimension::Owner, &data.opportunities, &[]).unwrap();
    assert_eq!(keys.unmatched(), 0);
    let as_of = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
    let win = h.win_rate_by(&WinRateSpec::new(as_of), &keys).unwrap();
    let booked = h.bookings_by(&BookingsSpec::new(as_of), &keys).unwrap();
    assert_eq!(win.len(), 30);
    assert!(win.cells().all(|(v, _)| v.is_some()));
    let won: u64 = win.cells().map(|(_, c)| c.ratio.numerator).sum();
    let closed: u64 = win.cells().map(|(_, c)| c.ratio.denominator).sum();
    assert_eq!((won, closed), (4238, 6711));
    assert_eq!(
        (win.total().won, win.total().ratio.denominator),
        (4238, 6711)
    );
    let usd = |n: i64| Money::new(Decimal::from(n), USD);
    assert_eq!(
        (booked.total().amount, booked.total().deals),
        (usd(10_005_534), 4238)
    );
    for (agent, w, c, amount) in [
        ("Darcel Schlecht", 349, 553, 1_153_214),
        ("Wilburn Farren", 55, 79, 157_640),
        ("Anna Snelling", 208, 336, 275_056),
        ("Violet Mclelland", 122, 193, 123_431),
    ] {
        let r = win.cell(Some(agent)).unwrap();
        assert_eq!((r.ratio.numerator, r.ratio.denominator), (w, c), "{agent}");
        let i = r.interval.unwrap();
        assert!(i.lower < w as f64 / c as f64 && (w as f64 / c as f64) < i.upper);
        let b = booked.cell(Some(agent)).unwrap();
        assert_eq!((b.amount, b.deals), (usd(amount), w), "{agent}");
    }
}
