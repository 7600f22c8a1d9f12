//! Cost: spend alignment (exact, pro rata by days), FX, unit metrics and sourced vs
//! influenced pipeline.

use chrono::{NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use revops::error::ErrorKind;
use revops::{
    Calendar, CampaignId, Channel, Currency, DateRange, Decimal, Granularity, Lead, LeadId, Money,
    Opportunity, OpportunityId, Spend, SubjectId, Touch, cost::FxTable, cost::InfluenceMilestone,
    cost::MoneyPer, cost::SourcedBy, cost::SpendAlignment, cost::align_spend,
    cost::cac_payback_months, cost::ltv, cost::magic_number, cost::roas, cost::roi,
    cost::sourcing_report,
};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn usd(s: &str) -> Money {
    Money::parse(s, Currency::USD).unwrap()
}

fn spend(ch: &str, camp: Option<&str>, a: NaiveDate, b: NaiveDate, amount: Money) -> Spend {
    let mut s = Spend::new(
        Channel::new(ch).unwrap(),
        DateRange::new(a, b).unwrap(),
        amount,
    );
    s.campaign = camp.map(|c| CampaignId::new(c).unwrap());
    s
}

#[test]
fn spend_is_split_by_days_and_summed_per_period() {
    // Row 1: 3,100.00 over all of January (31 days) → one month.
    // Row 2: 900.00 over 2026-01-29 ..= 2026-02-03: 3 days in January, 3 in February
    //        → 450.00 + 450.00.
    // Row 3: 100.00 over 2026-03-31 ..= 2026-04-02 by quarter: 1 day in Q1, 2 in Q2.
    let rows = vec![
        spend(
            "search",
            None,
            d(2026, 1, 1),
            d(2026, 1, 31),
            usd("3100.00"),
        ),
        spend("search", None, d(2026, 1, 29), d(2026, 2, 3), usd("900.00")),
    ];
    let out = align_spend(&rows, &SpendAlignment::monthly(Currency::USD)).unwrap();
    let got: Vec<(String, String)> = out
        .iter()
        .map(|p| (p.period.label(), p.amount.amount().to_string()))
        .collect();
    assert_eq!(
        got,
        [
            ("2026-01".into(), "3550.00".into()),
            ("2026-02".into(), "450.00".into())
        ]
    );

    let q = SpendAlignment {
        granularity: Granularity::Quarter,
        ..SpendAlignment::monthly(Currency::USD)
    };
    let out = align_spend(
        &[spend(
            "tv",
            Some("spring"),
            d(2026, 3, 31),
            d(2026, 4, 2),
            usd("100.00"),
        )],
        &q,
    )
    .unwrap();
    // 100 × 1/3 = 33.333… → 33.33; 100 × 2/3 = 66.666… → 66.67 (largest remainder)
    let got: Vec<String> = out.iter().map(|p| p.amount.amount().to_string()).collect();
    assert_eq!(got, ["33.33", "66.67"]);
    assert_eq!(out[0].campaign.as_ref().unwrap().as_str(), "spring");

    // Fiscal quarters (February start): 2026-01-31 is FY2026-Q4, 2026-02-01 FY2027-Q1.
    let fq = SpendAlignment {
        granularity: Granularity::Quarter,
        calendar: Calendar::new().with_fiscal_year_start(2).unwrap(),
        ..SpendAlignment::monthly(Currency::USD)
    };
    let out = align_spend(
        &[spend(
            "tv",
            None,
            d(2026, 1, 31),
            d(2026, 2, 1),
            usd("0.01"),
        )],
        &fq,
    )
    .unwrap();
    let got: Vec<(String, String)> = out
        .iter()
        .map(|p| (p.period.label(), p.amount.amount().to_string()))
        .collect();
    // one cent over two days: the tie on the remainder goes to the first (lower index)
    assert_eq!(
        got,
        [
            ("FY2026-Q4".into(), "0.01".into()),
            ("FY2027-Q1".into(), "0.00".into())
        ]
    );
}

#[test]
fn currencies_need_an_fx_table() {
    let rows = vec![
        spend("search", None, d(2026, 1, 1), d(2026, 1, 31), usd("100.00")),
        spend(
            "events",
            None,
            d(2026, 1, 10),
            d(2026, 1, 10),
            Money::parse("50.00", Currency::EUR).unwrap(),
        ),
    ];
    let err = align_spend(&rows, &SpendAlignment::monthly(Currency::USD)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "spend #1 (id events): field `currency`: in EUR, the report is in USD and no FX table was given"
    );
    let mut fx = FxTable::new();
    fx.add_rate(
        Currency::USD,
        Currency::EUR,
        d(2026, 1, 1),
        Decimal::new(8, 1),
    )
    .unwrap();
    // only USD→EUR quoted: EUR→USD uses the inverse 1/0.8 = 1.25 → 62.50
    let how = SpendAlignment {
        fx: Some(&fx),
        ..SpendAlignment::monthly(Currency::USD)
    };
    let out = align_spend(&rows, &how).unwrap();
    let events = out.iter().find(|p| p.channel.as_str() == "events").unwrap();
    assert_eq!(events.amount, usd("62.50"));
    // no quote before the row's first day
    let early = vec![spend(
        "events",
        None,
        d(2025, 12, 31),
        d(2025, 12, 31),
        Money::parse("1", Currency::EUR).unwrap(),
    )];
    assert!(matches!(
        align_spend(&early, &how).as_ref().map_err(|e| e.kind()),
        Err(ErrorKind::InvalidField {
            field: "currency",
            ..
        })
    ));
    assert!(
        fx.add_rate(Currency::USD, Currency::EUR, d(2026, 1, 2), Decimal::ZERO)
            .is_err()
    );
}

#[test]
fn unit_metrics_hand_computed() {
    // CPL: 12,000.00 / 480 leads = 25.00
    let cpl = MoneyPer::new(usd("12000.00"), Decimal::from(480)).unwrap();
    assert_eq!(cpl.value.unwrap().round_to_minor_units(), usd("25.00"));
    // cost per SQL with 0 SQLs: no value
    assert_eq!(
        MoneyPer::new(usd("12000.00"), Decimal::ZERO).unwrap().value,
        None
    );
    // attributed acquisitions can be fractional: 1,000 / 2.5 = 400
    assert_eq!(
        MoneyPer::from_f64(usd("1000"), 2.5).unwrap().value,
        Some(usd("400"))
    );
    assert!(MoneyPer::from_f64(usd("1000"), f64::NAN).is_err());
    // ROAS 45,000 / 12,000 = 3.75; ROI (45,000 − 12,000) / 12,000 = 2.75
    assert_eq!(
        roas(usd("45000"), usd("12000")).unwrap().value,
        Some(Decimal::new(375, 2))
    );
    assert_eq!(
        roi(usd("45000"), usd("12000")).unwrap().value,
        Some(Decimal::new(275, 2))
    );
    assert_eq!(roi(usd("45000"), usd("0")).unwrap().value, None);
    assert!(roas(usd("1"), Money::parse("1", Currency::EUR).unwrap()).is_err());
    // LTV = 500 × 0.8 / 0.02 = 20,000; payback = 6,000 / (500 × 0.8) = 15 months
    assert_eq!(
        ltv(usd("500"), Decimal::new(8, 1), Decimal::new(2, 2)).unwrap(),
        Some(usd("20000"))
    );
    assert_eq!(
        ltv(usd("500"), Decimal::new(8, 1), Decimal::ZERO).unwrap(),
        None
    );
    assert_eq!(
        cac_payback_months(usd("6000"), usd("500"), Decimal::new(8, 1)).unwrap(),
        Some(Decimal::from(15))
    );
    assert!(cac_payback_months(usd("6000"), usd("500"), Decimal::new(12, 1)).is_err());
    // magic number: 300,000 net new ARR / 400,000 cost = 0.75
    assert_eq!(
        magic_number(usd("300000"), usd("400000")).unwrap().value,
        Some(Decimal::new(75, 2))
    );
}

#[test]
fn sourced_and_influenced_pipeline() {
    let t = |day| Utc.with_ymd_and_hms(2026, 1, day, 0, 0, 0).unwrap();
    let leads = vec![
        Lead::new(LeadId::new("L1").unwrap(), t(1)).with_source(Channel::new("webinar").unwrap()),
        Lead::new(LeadId::new("L2").unwrap(), t(1)),
    ];
    let opp = |id: &str, lead: &str, amount: &str| {
        let mut o = Opportunity::new(
            OpportunityId::new(id).unwrap(),
            t(10),
            "prospecting",
            usd(amount),
        );
        o.lead = Some(LeadId::new(lead).unwrap());
        o
    };
    let opps = vec![opp("O1", "L1", "1000.00"), opp("O2", "L2", "250.50")];
    let touch = |s: &str, c: &str, day| {
        Touch::new(SubjectId::new(s).unwrap(), Channel::new(c).unwrap(), t(day))
    };
    let touches = vec![
        touch("L1", "search", 2),
        touch("L1", "webinar", 3),
        touch("L1", "search", 4),
        touch("L2", "email", 12),
        touch("L2", "events", 5),
    ];
    let r = sourcing_report(
        &opps,
        &leads,
        &touches,
        SourcedBy::LeadSource,
        InfluenceMilestone::Created,
        Currency::USD,
    )
    .unwrap();
    let rows: Vec<(Option<&str>, u64, String, u64, String)> = r
        .by_channel
        .iter()
        .map(|x| {
            (
                x.channel.as_ref().map(|c| c.as_str()),
                x.sourced,
                x.sourced_amount.amount().to_string(),
                x.influenced,
                x.influenced_amount.amount().to_string(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (Some("events"), 0, "0".into(), 1, "250.50".into()),
            (Some("search"), 0, "0".into(), 1, "1000.00".into()), // two touches, counted once
            (Some("webinar"), 1, "1000.00".into(), 1, "1000.00".into()),
            (None, 1, "250.50".into(), 0, "0".into()), // L2 has no source
        ]
    );
    assert_eq!(r.total, usd("1250.50"));
    let first = sourcing_report(
        &opps,
        &leads,
        &touches,
        SourcedBy::FirstTouch,
        InfluenceMilestone::Closed,
        Currency::USD,
    )
    .unwrap();
    let src: Vec<(Option<&str>, u64)> = first
        .by_channel
        .iter()
        .filter(|x| x.sourced > 0)
        .map(|x| (x.channel.as_ref().map(|c| c.as_str()), x.sourced))
        .collect();
    assert_eq!(src, [(Some("events"), 1), (Some("search"), 1)]);
    // no close date: every touch influences, the email on day 12 too
    assert!(
        first.by_channel.iter().any(
            |x| x.channel.as_ref().is_some_and(|c| c.as_str() == "email") && x.influenced == 1
        )
    );
}

proptest! {
    #[test]
    fn aligned_spend_sums_exactly_in_every_grouping(
        rows in prop::collection::vec((0usize..3, 0u32..400, 0u32..200, 0i64..10_000_000), 1..30),
        g in 0usize..5, fiscal in 1u32..13, seed in any::<u64>(),
    ) {
        let base = d(2025, 1, 1);
        let mut spend_rows: Vec<Spend> = rows
            .iter()
            .map(|&(ch, start, len, cents)| {
                let a = base + chrono::Days::new(u64::from(start));
                spend(["a", "b", "c"][ch], None, a, a + chrono::Days::new(u64::from(len)), Money::from_minor_units(i128::from(cents), Currency::USD).unwrap())
            })
            .collect();
        let how = SpendAlignment {
            granularity: Granularity::ALL[g],
            calendar: Calendar::new().with_fiscal_year_start(fiscal).unwrap(),
            ..SpendAlignment::monthly(Currency::USD)
        };
        let out = align_spend(&spend_rows, &how).unwrap();
        let total_in = Money::sum(Currency::USD, spend_rows.iter().map(|s| &s.amount)).unwrap();
        let total_out = Money::sum(Currency::USD, out.iter().map(|p| &p.amount)).unwrap();
        prop_assert_eq!(total_in, total_out);
        for ch in ["a", "b", "c"] {
            let i = Money::sum(Currency::USD, spend_rows.iter().filter(|s| s.channel.as_str() == ch).map(|s| &s.amount)).unwrap();
            let o = Money::sum(Currency::USD, out.iter().filter(|p| p.channel.as_str() == ch).map(|p| &p.amount)).unwrap();
            prop_assert_eq!(i, o);
        }
        // input order does not matter
        let mut x = seed | 1;
        for i in (1..spend_rows.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            spend_rows.swap(i, (x % (i as u64 + 1)) as usize);
        }
        prop_assert_eq!(align_spend(&spend_rows, &how).unwrap(), out);
    }

    #[test]
    fn unit_metrics_never_panic(cost in -1_000_000i64..1_000_000, units in prop::num::f64::ANY, other in -1_000_000i64..1_000_000) {
        let c = Money::from_minor_units(i128::from(cost), Currency::USD).unwrap();
        let o = Money::from_minor_units(i128::from(other), Currency::USD).unwrap();
        if let Ok(m) = MoneyPer::from_f64(c, units) {
            prop_assert_eq!(m.value.is_none(), m.units.is_zero());
        }
        let r = roas(c, o).unwrap();
        prop_assert_eq!(r.value.is_none(), o.is_zero());
        let _ = roi(c, o).unwrap();
    }
}

#[test]
fn unit_economics_by_lead_source_hand_computed() {
    use revops::{
        Conversion, Funnel, StageEvent, cost::CostGrouping, cost::Credits, cost::unit_economics,
        funnel::FunnelData, funnel::FunnelEvents, funnel::PathOptions,
    };
    let t = |day| Utc.with_ymd_and_hms(2026, 1, day, 0, 0, 0).unwrap();
    let lead = |id: &str, src: Option<&str>| {
        let mut l = Lead::new(LeadId::new(id).unwrap(), t(2));
        l.source = src.map(|s| Channel::new(s).unwrap());
        l
    };
    let leads = vec![
        lead("a", Some("search")),
        lead("b", Some("search")),
        lead("c", Some("events")),
        lead("d", None),
    ];
    let ev = |s: &str, st: &str, day| StageEvent::new(SubjectId::new(s).unwrap(), st, t(day));
    let events = vec![
        ev("a", "mql", 3),
        ev("a", "won", 20),
        ev("b", "mql", 4),
        ev("c", "sql", 9),
    ];
    let data = FunnelData::new(Funnel::demand_waterfall(), &leads).unwrap();
    let mut acc = FunnelEvents::default();
    acc.add_batch(&data, &events).unwrap();
    let paths = acc.paths(&data, PathOptions::default());
    let conversions = vec![Conversion::new(
        SubjectId::new("a").unwrap(),
        t(20),
        Some(usd("6000.00")),
    )];
    let credits = Credits::from_lead_source(
        &data,
        &paths,
        &["mql", "sql", "won"],
        &conversions,
        Currency::USD,
        CostGrouping::default(),
    )
    .unwrap();
    let spend = align_spend(
        &[
            spend(
                "search",
                None,
                d(2026, 1, 1),
                d(2026, 1, 31),
                usd("1500.00"),
            ),
            spend("events", None, d(2026, 1, 1), d(2026, 1, 31), usd("900.00")),
        ],
        &SpendAlignment::monthly(Currency::USD),
    )
    .unwrap();
    let t = unit_economics(&spend, &credits).unwrap();
    let row = |c: Option<&str>| {
        t.rows
            .iter()
            .find(|r| r.key.channel.as_ref().map(|x| x.as_str()) == c)
            .unwrap()
    };
    let search = row(Some("search"));
    // search: a and b are leads and MQLs; a won, so SQL is back-filled for a: 2, 2, 1, 1
    assert_eq!(
        search.units,
        [
            Decimal::from(2),
            Decimal::from(2),
            Decimal::from(1),
            Decimal::from(1)
        ]
    );
    assert_eq!(search.cost_per[0].value, Some(usd("750"))); // CPL 1500 / 2
    assert_eq!(search.cost_per[3].value, Some(usd("1500"))); // CPA 1500 / 1
    assert_eq!(search.roas.value, Some(Decimal::from(4))); // 6000 / 1500
    assert_eq!(search.roi.value, Some(Decimal::from(3))); // (6000 − 1500) / 1500
    let events_row = row(Some("events"));
    // events: c reached SQL (MQL back-filled), no win: CPA has no value
    assert_eq!(
        events_row.units,
        [Decimal::ONE, Decimal::ONE, Decimal::ONE, Decimal::ZERO]
    );
    assert_eq!(events_row.cost_per[3].value, None);
    let none = row(None); // d has no source: counted, no spend
    assert_eq!(none.units[0], Decimal::ONE);
    assert_eq!(none.cost_per[0].value, Some(usd("0")));
    assert_eq!(t.total.spend, usd("2400.00"));
    assert_eq!(t.total.units[0], Decimal::from(4));
    assert_eq!(t.total.revenue, usd("6000.00"));
    // paid CAC over search and events: (1500 + 900) / (1 + 0) won = 2400
    let paid = [
        Channel::new("search").unwrap(),
        Channel::new("events").unwrap(),
    ];
    assert_eq!(t.cac_paid(&paid, "won").unwrap().value, Some(usd("2400")));
    assert!(t.cac_paid(&paid, "revenue").is_err());
    assert_eq!(
        revops::cost::cac_blended(usd("2400"), 0).unwrap().value,
        None
    );
}

/// "Cost per attributed acquisition under W-shaped" is one call on the attribution.
#[test]
fn cost_per_attributed_acquisition_under_w_shaped() {
    use revops::{
        Conversion, StageEvent, attribution::JourneyOptions, attribution::Journeys,
        attribution::RuleModel, cost::Credits, cost::unit_economics,
    };
    let t = |day| Utc.with_ymd_and_hms(2026, 4, day, 0, 0, 0).unwrap();
    let s = SubjectId::new("L1").unwrap();
    let touch = |c: &str, day| Touch::new(s.clone(), Channel::new(c).unwrap(), t(day));
    let touches = vec![
        touch("search", 1),
        touch("webinar", 3),
        touch("email", 5),
        touch("demo", 8),
    ];
    let events = vec![
        StageEvent::new(s.clone(), "inquiry", t(3)),
        StageEvent::new(s.clone(), "opportunity", t(9)),
    ];
    let won = Conversion::new(s.clone(), t(20), Some(usd("10000.00")));
    let journeys =
        Journeys::from_records(&touches, &[won], &events, &JourneyOptions::default()).unwrap();
    let w = journeys
        .attribute_with_revenue(&RuleModel::WShaped)
        .unwrap();
    let credits = Credits::from_attribution(&w, "won", Currency::USD, false).unwrap();
    let spend = align_spend(
        &[
            spend("search", None, d(2026, 4, 1), d(2026, 4, 30), usd("600.00")),
            spend(
                "webinar",
                None,
                d(2026, 4, 1),
                d(2026, 4, 30),
                usd("1500.00"),
            ),
        ],
        &SpendAlignment::monthly(Currency::USD),
    )
    .unwrap();
    let table = unit_economics(&spend, &credits).unwrap();
    assert_eq!(table.basis, RuleModel::WShaped.to_string());
    let row = |c: &str| {
        table
            .rows
            .iter()
            .find(|r| r.key.channel.as_ref().is_some_and(|x| x.as_str() == c))
            .unwrap()
    };
    // W-shaped: search (first touch) 0.3, webinar (lead creation) 0.3, demo
    // (opportunity creation) 0.3, email (the rest) 0.1.
    // search: 600.00 / 0.3 = 2,000.00 per attributed acquisition; revenue 3,000.00
    assert_eq!(
        row("search").cost_per[0]
            .value
            .unwrap()
            .round_to_minor_units(),
        usd("2000.00")
    );
    assert_eq!(row("search").roas.value, Some(Decimal::from(5)));
    // webinar: 1,500.00 / 0.3 = 5,000.00
    assert_eq!(
        row("webinar").cost_per[0]
            .value
            .unwrap()
            .round_to_minor_units(),
        usd("5000.00")
    );
    // email has no spend: cost per acquisition 0, ROAS undefined
    assert_eq!(row("email").roas.value, None);
    assert_eq!(table.total.revenue, usd("10000.00"));
    assert_eq!(table.total.spend, usd("2100.00"));
}

/// Issue 13: credits by lead source over paths built as of a date counted the leads
/// created after it (and their conversions), inflating a backtest's denominators.
#[test]
fn credits_as_of_leave_out_later_leads_and_conversions() {
    use revops::{
        Conversion, Funnel, StageEvent, cost::CostGrouping, cost::Credits, cost::unit_economics,
        funnel::FunnelData, funnel::FunnelEvents, funnel::PathOptions,
    };
    let t = |m, day| Utc.with_ymd_and_hms(2026, m, day, 0, 0, 0).unwrap();
    let lead = |id: String, at| {
        let mut l = Lead::new(LeadId::new(id).unwrap(), at);
        l.source = Some(Channel::new("search").unwrap());
        l
    };
    let mut leads: Vec<Lead> = (1..=10).map(|i| lead(format!("j{i}"), t(1, i))).collect();
    leads.extend((1..=3).map(|i| lead(format!("f{i}"), t(2, i))));
    let ev = |s: &str, st: &str, at| StageEvent::new(SubjectId::new(s).unwrap(), st, at);
    let events = vec![ev("j1", "mql", t(1, 20)), ev("f1", "mql", t(2, 5))];
    let data = FunnelData::new(Funnel::demand_waterfall(), &leads).unwrap();
    let mut acc = FunnelEvents::default();
    acc.add_batch(&data, &events).unwrap();
    let paths = acc.paths(&data, PathOptions::default().with_as_of(t(1, 31)));
    let conv = |s: &str, at, v| Conversion::new(SubjectId::new(s).unwrap(), at, Some(usd(v)));
    let conversions = vec![
        conv("j1", t(1, 25), "100.00"),
        conv("j2", t(2, 10), "200.00"), // after the as-of date
        conv("f1", t(2, 10), "400.00"), // a later lead's, after the as-of date
    ];
    let credits = Credits::from_lead_source(
        &data,
        &paths,
        &["mql"],
        &conversions,
        Currency::USD,
        CostGrouping::default(),
    )
    .unwrap();
    let (units, revenue) = credits.rows.values().next().unwrap();
    assert_eq!(credits.rows.len(), 1);
    assert_eq!(units[..], [Decimal::from(10), Decimal::ONE]);
    assert_eq!(*revenue, usd("100.00"));
    assert_eq!(credits.diagnostics.leads_after_as_of, 3);
    assert_eq!(credits.diagnostics.conversions_after_as_of, 2);
    let t = unit_economics(&[], &credits).unwrap();
    assert_eq!(t.diagnostics, credits.diagnostics);
}

/// Issue 14 row 4: the cost of aligning spend grows with periods × rows, and had no
/// guard: 10 rows `2025-07-01 ..= +99999-01-01` (447 bytes of CSV) took 12.5 s and
/// 2.1 GB. A row longer than the span limit is now an error naming it.
#[test]
fn spend_rows_beyond_the_span_limit_are_errors_naming_the_row() {
    let far = NaiveDate::from_ymd_opt(99_999, 1, 1).unwrap();
    let rows: Vec<Spend> = (0..10)
        .map(|i| spend(&format!("c{i}"), None, d(2025, 7, 1), far, usd("1000")))
        .collect();
    let started = std::time::Instant::now();
    let err = align_spend(&rows, &SpendAlignment::monthly(Currency::USD)).unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    match err.kind() {
        ErrorKind::InvalidField {
            record,
            field,
            reason,
        } => {
            assert_eq!((record.index, record.id.as_deref()), (Some(0), Some("c0")));
            assert_eq!(*field, "period_end");
            assert!(reason.contains("max_span_days"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
    // The limit is the crate's span limit, inclusive, and configurable.
    let start = d(2026, 1, 1);
    let days = |n: u32| start + chrono::Days::new(u64::from(n) - 1);
    let at_limit = [spend(
        "a",
        None,
        start,
        days(revops::Period::MAX_SPAN_DAYS),
        usd("1"),
    )];
    let over = [spend(
        "a",
        None,
        start,
        days(revops::Period::MAX_SPAN_DAYS + 1),
        usd("1"),
    )];
    let how = SpendAlignment::monthly(Currency::USD);
    assert_eq!(align_spend(&at_limit, &how).unwrap().len(), 34_451);
    assert!(align_spend(&over, &how).is_err());
    let wider = SpendAlignment::monthly(Currency::USD)
        .with_max_span_days(revops::Period::MAX_SPAN_DAYS + 1);
    assert!(align_spend(&over, &wider).is_ok());
}

/// The other half of issue 14 row 4: 1,000 rows over 2,026 years each (inside the
/// span limit) took 26 s and 4.4 GB. The (row, period) pieces of all rows have a
/// budget, checked before any row is split.
#[test]
fn spend_row_periods_have_a_budget_checked_before_splitting() {
    let year = |y: i32, ch: &str| spend(ch, None, d(y, 1, 1), d(y, 12, 31), usd("1200"));
    let rows = vec![year(2026, "a"), year(2027, "b"), year(2028, "c")];
    let how = SpendAlignment::monthly(Currency::USD).with_max_row_periods(24);
    assert_eq!(align_spend(&rows[..2], &how).unwrap().len(), 24);
    match align_spend(&rows, &how).unwrap_err().into_kind() {
        ErrorKind::InvalidField {
            record,
            field,
            reason,
        } => {
            assert_eq!((record.index, record.id.as_deref()), (Some(2), Some("c")));
            assert_eq!(field, "period_end");
            assert!(
                reason.contains("36") && reason.contains("max_row_periods"),
                "{reason}"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    // The second input, by the default budget: 1,000 rows × 24,312 months.
    let long = spend("x", None, d(2025, 1, 1), d(4050, 12, 31), usd("1"));
    let rows = vec![long; 1_000];
    let started = std::time::Instant::now();
    assert!(align_spend(&rows, &SpendAlignment::monthly(Currency::USD)).is_err());
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    assert_eq!(
        SpendAlignment::monthly(Currency::USD).max_row_periods,
        revops::cost::MAX_ROW_PERIODS
    );
}

/// Hostile credits: unit sums beyond Decimal's range were a panic (`+=` on Decimal),
/// in a key's column and in the total row.
#[test]
fn credited_unit_overflow_is_an_error_not_a_panic() {
    use revops::{cost::CostKey, cost::Credits, cost::unit_economics};
    let key = |c: &str| CostKey {
        channel: Some(Channel::new(c).unwrap()),
        campaign: None,
        period: None,
    };
    let mut c = Credits::new("test", Currency::USD, vec!["won".into()]);
    c.add_units(key("a"), "won", 6e28).unwrap();
    assert!(matches!(
        c.add_units(key("a"), "won", 6e28)
            .as_ref()
            .map_err(|e| e.kind()),
        Err(ErrorKind::Overflow { .. })
    ));
    c.add_units(key("b"), "won", 6e28).unwrap();
    assert!(matches!(
        unit_economics(&[], &c).as_ref().map_err(|e| e.kind()),
        Err(ErrorKind::Overflow { .. })
    ));
}

// ---------------------------------------------------------------- Credits: accumulator contract

fn credit_key(channel: usize, campaign: bool) -> revops::cost::CostKey {
    revops::cost::CostKey {
        channel: (channel > 0).then(|| Channel::new(["a", "b", "c"][channel % 3]).unwrap()),
        campaign: campaign.then(|| CampaignId::new("q1").unwrap()),
        period: None,
    }
}

fn arb_credit() -> impl Strategy<Value = revops::cost::Credit> {
    use revops::cost::Credit;
    (
        0usize..4,
        any::<bool>(),
        0usize..3,
        0u32..400,
        0i64..1_000_000,
    )
        .prop_map(|(ch, camp, kind, quarters, cents)| match kind {
            0 => Credit::units(credit_key(ch, camp), "leads", f64::from(quarters)),
            1 => Credit::units(credit_key(ch, camp), "won", f64::from(quarters) / 4.0),
            _ => Credit::revenue(
                credit_key(ch, camp),
                Money::new(Decimal::new(cents, 2), Currency::USD),
            ),
        })
}

fn new_credits() -> revops::cost::Credits {
    revops::cost::Credits::new(
        "w_shaped",
        Currency::USD,
        vec!["leads".into(), "won".into()],
    )
}

proptest! {
    #[test]
    fn credits_follow_the_contract(
        credits in prop::collection::vec(arb_credit(), 0..40),
        cut in 0usize..40,
    ) {
        crate::contract::assert_contract(new_credits, &credits, cut, |c| c.clone());
    }
}

#[test]
fn credits_merge_refuses_other_options_and_is_atomic() {
    use revops::cost::{Credit, Credits};
    let mut a = new_credits();
    a.add(&Credit::units(credit_key(1, false), "won", 1.0))
        .unwrap();
    let before = a.clone();
    for other in [
        Credits::new("linear", Currency::USD, vec!["leads".into(), "won".into()]),
        Credits::new(
            "w_shaped",
            Currency::EUR,
            vec!["leads".into(), "won".into()],
        ),
        Credits::new("w_shaped", Currency::USD, vec!["won".into()]),
    ] {
        let e = a.merge(&other).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::MergeMismatch { .. }), "{e}");
    }
    // An overflow in one key's sum leaves every key unchanged.
    let mut big = new_credits();
    big.add(&Credit::units(credit_key(0, false), "won", 1.0))
        .unwrap();
    big.add(&Credit::units(credit_key(1, false), "won", 7e28))
        .unwrap();
    a.add(&Credit::units(credit_key(1, false), "won", 7e28))
        .unwrap();
    let before_overflow = a.clone();
    assert!(matches!(
        a.merge(&big).as_ref().map_err(|e| e.kind()),
        Err(ErrorKind::Overflow { .. })
    ));
    assert_eq!(a, before_overflow);
    assert_ne!(a, before);
    // Revenue in another currency is refused without touching the table.
    let mut c = new_credits();
    let e = c
        .add(&Credit::revenue(
            credit_key(1, false),
            Money::new(Decimal::ONE, Currency::EUR),
        ))
        .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::CurrencyMismatch { .. }),
        "{e}"
    );
    assert!(c.rows.is_empty());
}

#[test]
fn credits_state_is_versioned_and_checked() {
    use revops::cost::{Credit, Credits};
    let mut c = new_credits();
    c.add(&Credit::units(credit_key(1, true), "won", 0.5))
        .unwrap();
    c.add(&Credit::revenue(credit_key(1, true), usd("12.30")))
        .unwrap();
    let v = serde_json::to_value(&c).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(
        v["rows"][0],
        serde_json::json!([{"channel": "b", "campaign": "q1", "period": null}, ["0", "0.5"], "12.30"])
    );
    assert_eq!(serde_json::from_value::<Credits>(v.clone()).unwrap(), c);
    let tamper = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut w = v.clone();
        f(&mut w);
        serde_json::from_value::<Credits>(w)
    };
    let e = tamper(&|w| w["version"] = 2.into()).unwrap_err();
    assert!(e.to_string().contains("version 2 is not supported"), "{e}");
    assert!(tamper(&|w| w["rows"][0][1] = serde_json::json!(["1"])).is_err());
    assert!(tamper(&|w| w["rows"][0][1] = serde_json::json!(["1", "-2"])).is_err());
    assert!(tamper(&|w| w["units"] = serde_json::json!(["won", "won"])).is_err());
    assert!(
        tamper(&|w| {
            let row = w["rows"][0].clone();
            w["rows"].as_array_mut().unwrap().push(row);
        })
        .is_err()
    );
}
