//! Planning: hand-computed reverse plans, the forward-meets-target property, errors
//! naming the stage.

use chrono::NaiveDate;
use proptest::prelude::*;
use revops::{
    Calendar, Currency, Decimal, Error, Granularity, Money, Period, ReverseFunnel, RoundingPolicy,
};

fn usd(v: i64) -> Money {
    Money::new(Decimal::from(v), Currency::USD)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn quarter(y: i32, m: u32) -> Period {
    Calendar::new().period_of_date(date(y, m, 1), Granularity::Quarter)
}

fn demand() -> ReverseFunnel {
    ReverseFunnel::new(
        ["lead", "mql", "sql", "won"],
        vec![0.3, 0.4, 0.25],
        vec![5.0, 12.5, 40.0],
    )
    .unwrap()
}

#[test]
fn hand_computed_every_stage() {
    let plan = demand()
        .plan(
            &[(quarter(2026, 7), usd(250_000))],
            usd(12_000),
            RoundingPolicy::EveryStage,
        )
        .unwrap();
    let p = &plan.periods[0];
    // 250 000 / 12 000 = 20.83 → 21 wins; 21 / 0.25 = 84 SQLs; 84 / 0.4 = 210 MQLs;
    // 210 / 0.3 = 700 leads.
    assert_eq!(p.wins, 21);
    let counts: Vec<u64> = p.stages.iter().map(|s| s.count).collect();
    assert_eq!(counts, vec![700, 210, 84, 21]);
    // Lead days: won 0, sql 40, mql 52.5 → 53, lead 57.5 → 58.
    let lead: Vec<i64> = p.stages.iter().map(|s| s.lead_days).collect();
    assert_eq!(lead, vec![58, 53, 40, 0]);
    let sql = p.stage("sql").unwrap();
    assert_eq!(sql.enter_from, date(2026, 5, 22));
    assert_eq!(sql.enter_by, date(2026, 8, 21));
    assert_eq!(plan.total("lead"), 700);
    assert_eq!(plan.total_target().unwrap(), usd(250_000));
}

#[test]
fn rounding_only_at_the_end_is_never_larger() {
    let f = ReverseFunnel::new(["a", "b", "won"], vec![0.3, 0.3], vec![0.0, 0.0]).unwrap();
    let t = [(quarter(2026, 1), usd(10))];
    let every = f.plan(&t, usd(1), RoundingPolicy::EveryStage).unwrap();
    let end = f.plan(&t, usd(1), RoundingPolicy::AtEnd).unwrap();
    // Every stage: 10 / 0.3 = 33.3 → 34 b; 34 / 0.3 = 113.3 → 114 a.
    assert_eq!(every.periods[0].stages[0].count, 114);
    // At the end: 10 / 0.09 = 111.1 → 112 a; b stays fractional.
    assert_eq!(end.periods[0].stages[0].count, 112);
    assert!((end.periods[0].stages[1].required - 33.333_333).abs() < 1e-5);
}

#[test]
fn zero_rate_is_an_error_naming_the_step() {
    let err =
        ReverseFunnel::new(["mql", "sql", "won"], vec![0.5, 0.0], vec![1.0, 1.0]).unwrap_err();
    match &err {
        Error::InvalidField { record, field, .. } => {
            assert_eq!(*field, "rate");
            assert_eq!(record.id.as_deref(), Some("sql → won"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("sql → won"));
}

#[test]
fn bad_parameters_are_rejected() {
    let f = demand();
    let t = [(quarter(2026, 1), usd(10))];
    assert!(matches!(
        f.plan(&t, usd(0), RoundingPolicy::EveryStage),
        Err(Error::InvalidParameter {
            name: "deal_size",
            ..
        })
    ));
    let eur = Money::new(Decimal::from(5), Currency::EUR);
    assert!(matches!(
        f.plan(&t, eur, RoundingPolicy::EveryStage),
        Err(Error::CurrencyMismatch { .. })
    ));
    assert!(ReverseFunnel::new(["won"], vec![], vec![]).is_err());
    assert!(ReverseFunnel::new(["a", "won"], vec![0.5], vec![-1.0]).is_err());
}

proptest! {
    #[test]
    fn forward_meets_the_target(
        rates in prop::collection::vec(0.001f64..=1.0, 1..6),
        deal in 1i64..100_000,
        target in 0i64..10_000_000,
        at_end in any::<bool>(),
    ) {
        let n = rates.len();
        let stages: Vec<String> = (0..=n).map(|i| format!("s{i}")).collect();
        let f = ReverseFunnel::new(stages, rates, vec![1.0; n]).unwrap();
        let rounding = if at_end { RoundingPolicy::AtEnd } else { RoundingPolicy::EveryStage };
        let plan = f.plan(&[(quarter(2026, 1), usd(target))], usd(deal), rounding).unwrap();
        let p = &plan.periods[0];
        let wins = f.forward(p.stages[0].count as f64, rounding);
        prop_assert!(wins >= p.wins as f64);
        let revenue = Decimal::from(deal) * Decimal::from(wins.floor() as i64);
        // Under AtEnd the expected wins may be fractional; the whole-win floor of an
        // expectation ≥ wins (an integer) is still ≥ wins.
        prop_assert!(revenue >= Decimal::from(target));
        // Counts never increase down the funnel.
        for w in p.stages.windows(2) {
            prop_assert!(w[0].count >= w[1].count);
        }
    }
}
