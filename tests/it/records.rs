//! Records and funnels: serde round-trips on random values, and clear errors on bad input.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use revops::error::{ErrorKind, RecordRef};
use revops::{
    AccountId, CampaignId, Channel, Conversion, Currency, DateRange, ForecastCategory, Funnel,
    Lead, LeadId, Money, Opportunity, OpportunityChange, OpportunityId, Spend, Stage, StageEvent,
    StageKind, StageOwner, SubjectId, Touch,
};
use rust_decimal::Decimal;
use serde::{Serialize, de::DeserializeOwned};

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(v: &T) {
    let json = serde_json::to_string(v).unwrap();
    let back: T = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, v, "JSON was {json}");
}

fn ident() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-][A-Za-z0-9 _./-]{0,10}[A-Za-z0-9]?"
}

fn time() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..4_102_444_800, 0u32..1_000_000_000)
        .prop_map(|(s, ns)| Utc.timestamp_opt(s, ns).single().unwrap())
}

fn date() -> impl Strategy<Value = NaiveDate> {
    (0i32..80_000)
        .prop_map(|d| NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Days::new(d as u64))
}

fn money() -> impl Strategy<Value = Money> {
    (
        0i64..i64::MAX,
        prop_oneof![
            Just(Currency::USD),
            Just(Currency::JPY),
            Just(Currency::EUR)
        ],
    )
        .prop_map(|(u, c)| Money::from_minor_units(i128::from(u), c).unwrap())
}

fn category() -> impl Strategy<Value = ForecastCategory> {
    prop::sample::select(ForecastCategory::ALL.to_vec())
}

prop_compose! {
    fn lead()(id in ident(), at in time(), src in prop::option::of(ident()), camp in prop::option::of(ident()),
              acct in prop::option::of(ident()), owner in prop::option::of(".{0,8}"), seg in prop::option::of(".{0,8}"),
              attrs in prop::collection::btree_map("[a-z]{1,6}", ".{0,8}", 0..4)) -> Lead {
        let mut l = Lead::new(LeadId::new(id).unwrap(), at);
        l.source = src.map(|s| Channel::new(s).unwrap());
        l.campaign = camp.map(|s| CampaignId::new(s).unwrap());
        l.account = acct.map(|s| AccountId::new(s).unwrap());
        l.owner = owner;
        l.segment = seg;
        l.attributes = attrs;
        l
    }
}

prop_compose! {
    fn change()(id in ident(), at in time(), stage in ident(), amount in money(), close in prop::option::of(date()),
                p in prop::option::of(0.0f64..=1.0), cat in prop::option::of(category())) -> OpportunityChange {
        let mut c = OpportunityChange::new(OpportunityId::new(id).unwrap(), at, stage, amount);
        c.close_date = close;
        c.probability = p;
        c.forecast_category = cat;
        c
    }
}

proptest! {
    #[test]
    fn leads_round_trip(l in lead()) {
        l.validate().unwrap();
        round_trip(&l);
    }

    #[test]
    fn events_touches_conversions_round_trip(subject in ident(), stage in ident(), at in time(), ch in ident(),
                                             camp in prop::option::of(ident()), cost in prop::option::of(money()),
                                             cycle in prop::option::of(any::<u32>()), reason in prop::option::of(".{0,12}")) {
        let s = SubjectId::new(&subject).unwrap();
        let mut e = StageEvent::new(s.clone(), stage, at);
        e.cycle = cycle;
        e.reason = reason;
        round_trip(&e);
        let mut t = Touch::new(s.clone(), Channel::new(&ch).unwrap(), at);
        t.campaign = camp.map(|c| CampaignId::new(c).unwrap());
        t.cost = cost;
        t.validate().unwrap();
        round_trip(&t);
        let c = Conversion::new(s, at, cost);
        round_trip(&c);
    }

    #[test]
    fn spend_round_trips(ch in ident(), a in date(), len in 0u64..400, amount in money()) {
        let b = a + chrono::Days::new(len);
        let s = Spend::new(Channel::new(ch).unwrap(), DateRange::new(a, b).unwrap(), amount);
        s.validate().unwrap();
        prop_assert_eq!(u64::from(s.days()), len + 1);
        round_trip(&s);
    }

    #[test]
    fn opportunities_round_trip(c in change(), acct in prop::option::of(ident()), lead in prop::option::of(ident())) {
        c.validate().unwrap();
        round_trip(&c);
        let mut o = Opportunity::new(c.opportunity.clone(), c.changed_at, c.stage.clone(), c.amount);
        o.account = acct.map(|a| AccountId::new(a).unwrap());
        o.lead = lead.map(|l| LeadId::new(l).unwrap());
        o.close_date = c.close_date;
        o.probability = c.probability;
        o.forecast_category = c.forecast_category;
        o.validate().unwrap();
        round_trip(&o);
    }

    #[test]
    fn random_funnels_round_trip(keys in prop::collection::hash_set("[a-z]{1,8}", 1..10),
                                 probs in prop::collection::vec(prop::option::of(0.0f64..=1.0), 10)) {
        let mut stages: Vec<Stage> = keys.iter().zip(&probs).map(|(k, p)| {
            let mut s = Stage::new(k.clone(), format!("{k} stage"), StageOwner::Shared, StageKind::Open);
            s.probability = *p;
            s
        }).collect();
        stages.last_mut().unwrap().kind = StageKind::Won;
        let f = Funnel::new("random", stages).unwrap();
        round_trip(&f);
        prop_assert_eq!(Funnel::from_json(&f.to_json().unwrap()).unwrap(), f);
    }
}

#[test]
fn built_in_funnels_round_trip() {
    round_trip(&Funnel::demand_waterfall());
    round_trip(&Funnel::salesforce_opportunity());
}

#[test]
fn bad_input_is_named() {
    let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
    let ch = Channel::new("events").unwrap();

    // negative spend
    let e = Spend::new(
        ch.clone(),
        DateRange::new(d(1, 1), d(1, 2)).unwrap(),
        Money::parse("-5", Currency::USD).unwrap(),
    )
    .validate();
    assert!(matches!(
        e.as_ref().map_err(|e| e.kind()),
        Err(ErrorKind::InvalidField {
            field: "amount",
            ..
        })
    ));

    // period that ends before it starts
    let mut s = Spend::new(
        ch,
        DateRange::new(d(3, 1), d(3, 1)).unwrap(),
        Money::zero(Currency::USD),
    );
    s.period_end = d(2, 1); // the fields are public: a row built by hand may be inverted
    let e = s.validate().unwrap_err();
    assert_eq!(
        e.at_index(12).to_string(),
        "spend #12 (id events): period ends (2026-02-01) before it starts (2026-03-01)"
    );

    // unknown stage key
    let f = Funnel::demand_waterfall();
    let e = f
        .resolve("webinar", || {
            RecordRef::new("stage event").with_index(0).with_id("L-1")
        })
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::UnknownStage { key, .. } if key == "webinar"));

    // duplicate stage key (also across names and aliases)
    let e = Funnel::new(
        "dup",
        vec![
            Stage::new("mql", "MQL", StageOwner::Marketing, StageKind::Open),
            Stage::new("won", "mql", StageOwner::Sales, StageKind::Won),
        ],
    )
    .unwrap_err();
    assert!(matches!(
        e.kind(),
        ErrorKind::DuplicateStage {
            first: 0,
            second: 1,
            ..
        }
    ));

    // probability outside [0, 1] or not finite, in a funnel loaded from JSON
    let e = Funnel::from_json(
        r#"{"name":"p","stages":[{"key":"w","name":"W","owner":"sales","kind":"won","probability":-0.1}]}"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("probability"), "{e}");
    let mut c = OpportunityChange::new(
        OpportunityId::new("o-7").unwrap(),
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        "prospecting",
        Money::zero(Currency::USD),
    );
    c.probability = Some(f64::INFINITY);
    let e = c.validate().unwrap_err().at_index(3);
    assert!(
        e.to_string()
            .starts_with("opportunity change #3 (id o-7): field `probability`"),
        "{e}"
    );

    // currency mismatch, unknown currency without minor units
    assert!(matches!(
        Money::zero(Currency::USD)
            .checked_add(&Money::zero(Currency::GBP))
            .as_ref()
            .map_err(|e| e.kind()),
        Err(ErrorKind::CurrencyMismatch { .. })
    ));
    assert!(matches!(
        Currency::from_code("QQQ").as_ref().map_err(|e| e.kind()),
        Err(ErrorKind::UnknownCurrency { .. })
    ));
    assert!(serde_json::from_str::<Money>(r#"{"amount":"1.00","currency":"QQQ"}"#).is_err());
    assert_eq!(
        serde_json::from_str::<Money>(r#"{"amount":"1.000","currency":"QQQ:3"}"#)
            .unwrap()
            .amount(),
        Decimal::new(1000, 3)
    );
}

/// Validation messages repeat a value cut at 40 characters, however large it is (a
/// float such as 1e300 prints 301 digits; an id may be megabytes).
#[test]
fn validation_messages_stay_short() {
    let at = Utc.with_ymd_and_hms(2026, 3, 4, 0, 0, 0).unwrap();
    let mut change = OpportunityChange::new(
        OpportunityId::new("O".repeat(1 << 20)).unwrap(),
        at,
        "proposal",
        Money::zero(Currency::USD),
    );
    change.probability = Some(1e300);
    let e = change.validate().unwrap_err();
    assert!(e.to_string().chars().count() < 200, "{e}");
    let row = revops::PathRow::new(
        vec![Channel::new("email").unwrap()],
        -1e300,
        Decimal::ZERO,
        0.0,
    );
    let e = row.validate(0).unwrap_err();
    assert!(e.to_string().chars().count() < 200, "{e}");
    let e = RecordRef::new("lead").with_id("L".repeat(1000));
    assert!(e.to_string().chars().count() < 100, "{e}");
}

// ---- literal ids, one id for a lead, builders (issue 15) -----------------------------

#[test]
fn id_literals_convert_into_every_id_type() {
    use revops::id;
    let lead: LeadId = id!("L-1");
    let subject: SubjectId = id!(" L-1 ");
    let opp: OpportunityId = id!("006-1");
    let acct: AccountId = id!("acme");
    let ch: Channel = id!("paid_search");
    let camp: CampaignId = id!("spring");
    assert_eq!(lead, LeadId::new("L-1").unwrap());
    assert_eq!(subject, SubjectId::new("L-1").unwrap()); // trimmed, as `new` does
    assert_eq!(opp, OpportunityId::new("006-1").unwrap());
    assert_eq!(acct, AccountId::new("acme").unwrap());
    assert_eq!(ch, Channel::new("paid_search").unwrap());
    assert_eq!(camp, CampaignId::new("spring").unwrap());
    // Ids compare with their text, and a subject with the lead's own id.
    assert_eq!(ch, "paid_search");
    assert_eq!(subject, lead);
    assert_eq!(lead, subject);
    let opp_subject = SubjectId::from(&opp);
    assert_eq!(opp_subject, opp);
    assert_ne!(acct, opp_subject);
}

#[test]
fn a_lead_id_is_a_subject_everywhere() {
    use revops::id;
    let lead = Lead::new(id!("L-1"), t(1)).with_source(id!("webinar"));
    let subject = SubjectId::from(&lead.id);
    let usd = Money::parse("100", Currency::USD).unwrap();
    // Owned, borrowed, and the subject id itself (borrowed) all pass.
    let events = [
        StageEvent::new(&lead.id, "mql", t(2)),
        StageEvent::new(lead.id.clone(), "sql", t(3)),
        StageEvent::new(&subject, "won", t(4)),
    ];
    let touch = Touch::new(&lead.id, id!("paid_search"), t(1)).with_campaign(id!("spring"));
    let conversion = Conversion::new(&lead.id, t(4), Some(usd));
    for e in &events {
        assert_eq!(e.subject, lead.id);
    }
    assert_eq!(touch.subject, subject);
    assert_eq!(conversion.subject, lead.id);
    assert_eq!(
        touch,
        Touch::new(
            SubjectId::new("L-1").unwrap(),
            Channel::new("paid_search").unwrap(),
            t(1)
        )
        .with_campaign(CampaignId::new("spring").unwrap())
    );
}

#[test]
fn builders_equal_the_rows_built_field_by_field() {
    use revops::{Calendar, Granularity, id};
    let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
    let usd = |s| Money::parse(s, Currency::USD).unwrap();

    let spend = Spend::new(
        id!("paid_search"),
        DateRange::new(d(1, 1), d(1, 31)).unwrap(),
        usd("3100"),
    )
    .with_campaign(id!("spring"));
    spend.validate().unwrap();
    let by_hand = Spend {
        channel: Channel::new("paid_search").unwrap(),
        campaign: Some(CampaignId::new("spring").unwrap()),
        period_start: d(1, 1),
        period_end: d(1, 31),
        amount: usd("3100"),
    };
    assert_eq!(spend, by_hand);
    // A calendar period is a date range.
    let jan = Calendar::new().period_of_date(d(1, 9), Granularity::Month);
    assert_eq!(
        Spend::new(id!("paid_search"), jan.into(), usd("3100")).with_campaign(id!("spring")),
        by_hand
    );

    let change = OpportunityChange::new(id!("006-1"), t(5), "proposal", usd("48000"))
        .with_close_date(d(6, 30))
        .with_probability(0.75)
        .with_forecast_category(ForecastCategory::Commit)
        .with_lead(id!("L-1"));
    change.validate().unwrap();
    let mut by_hand = OpportunityChange::new(
        OpportunityId::new("006-1").unwrap(),
        t(5),
        "proposal",
        usd("48000"),
    );
    by_hand.close_date = Some(d(6, 30));
    by_hand.probability = Some(0.75);
    by_hand.forecast_category = Some(ForecastCategory::Commit);
    by_hand.lead = Some(LeadId::new("L-1").unwrap());
    assert_eq!(change, by_hand);
    let opp = Opportunity::new(id!("006-1"), t(5), "proposal", usd("48000"))
        .with_account(id!("acme"))
        .with_lead(id!("L-1"))
        .with_owner("rep-1")
        .with_source(id!("webinar"))
        .with_close_date(d(6, 30))
        .with_probability(0.75)
        .with_forecast_category(ForecastCategory::Commit)
        .with_attribute("region", "emea");
    let mut by_hand_opp = Opportunity::new(
        OpportunityId::new("006-1").unwrap(),
        t(5),
        "proposal",
        usd("48000"),
    );
    by_hand_opp.account = Some(AccountId::new("acme").unwrap());
    by_hand_opp.lead = Some(LeadId::new("L-1").unwrap());
    by_hand_opp.owner = Some("rep-1".into());
    by_hand_opp.source = Some(Channel::new("webinar").unwrap());
    by_hand_opp.close_date = Some(d(6, 30));
    by_hand_opp.probability = Some(0.75);
    by_hand_opp.forecast_category = Some(ForecastCategory::Commit);
    by_hand_opp
        .attributes
        .insert("region".into(), "emea".into());
    assert_eq!(opp, by_hand_opp);
    assert!(opp.with_probability(f64::NAN).validate().is_err());

    // Setters check nothing; `validate` does, naming the row.
    let err = change.with_probability(75.0).validate().unwrap_err();
    assert!(matches!(
        err.kind(),
        ErrorKind::InvalidField {
            field: "probability",
            ..
        }
    ));
}

/// Day `d` of March 2026, midnight UTC.
fn t(d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap()
}
