//! Lookups by name on every report table (issue 15): each agrees with the positional
//! access it replaces, on the synthetic company, and an unknown name is `None`.

use revops::cost::{
    CostGrouping, Credits, InfluenceMilestone, SourcedBy, SpendAlignment, align_spend,
    sourcing_report, unit_economics,
};
use revops::funnel::{
    CohortAnchor, CohortRow, CohortSpec, Dimension, FlowSpec, FunnelData, FunnelEvents,
    PathOptions, QualificationSpec, VelocitySpec, cohort_report, flow_report, qualification_report,
    velocity_report,
};
use revops::report::opportunities_from_history;
use revops::synth::{Company, SynthConfig, generate};
use revops::{Currency, Funnel};

fn company() -> Company {
    generate(&SynthConfig::default().with_leads(1_500).with_seed(21)).unwrap()
}

/// Every stage of `stages` a row counts is found by name with the positional count.
fn check_cohort_row(stages: &[String], row: &CohortRow) {
    for (i, key) in stages.iter().enumerate() {
        assert_eq!(row.reached(key), row.reached[i], "reached({key})");
    }
    for s in &row.steps {
        assert_eq!(row.step(&s.from, &s.to), Some(s));
    }
    for s in &row.to_won {
        assert_eq!(row.to_won(&s.from), Some(s));
    }
    assert_eq!(row.reached("no such stage"), None);
    assert_eq!(row.to_won("no such stage"), None);
}

#[test]
fn funnel_lookups_agree_with_positions() {
    let c = company();
    let data = FunnelData::new(Funnel::demand_waterfall(), &c.leads).unwrap();
    let mut acc = FunnelEvents::default();
    acc.add_batch(&data, &c.stage_events).unwrap();
    let paths = acc.paths(&data, PathOptions::default());

    for anchor in [
        CohortAnchor::Created,
        CohortAnchor::Stage("mql".into()),
        CohortAnchor::Stage("sql".into()),
    ] {
        let spec = CohortSpec::default()
            .with_anchor(anchor)
            .with_breakdown(Dimension::Source);
        let r = cohort_report(&data, &paths, &spec).unwrap();
        for table in std::iter::once(&r.total).chain(&r.breakdown) {
            check_cohort_row(&r.stages, &table.all);
            for row in &table.rows {
                check_cohort_row(&r.stages, row);
                let label = row.cohort.unwrap().label();
                assert_eq!(table.cohort(&label), Some(row));
            }
            if let Some(v) = &table.value {
                assert_eq!(r.breakdown(v), Some(table));
            }
        }
        assert!(r.breakdown("no such source").is_none());
        assert!(r.total.cohort("1999-01").is_none());
    }
    // The documented limit: anchored at the last (won) stage, a row has no step and no
    // rate to won to read the stage's key from, so the lookup cannot name it.
    let spec = CohortSpec::default().with_anchor(CohortAnchor::Stage("won".into()));
    let r = cohort_report(&data, &paths, &spec).unwrap();
    assert!(r.total.all.steps.is_empty() && r.total.all.to_won.is_empty());
    assert!(r.total.all.reached.last().unwrap().is_some());
    assert_eq!(r.total.all.reached("won"), None);

    let spec = FlowSpec::default().with_breakdown(Dimension::Source);
    let flow = flow_report(&data, &paths, &spec).unwrap();
    for table in std::iter::once(&flow.total).chain(&flow.breakdown) {
        for row in table.rows.iter().chain([&table.all]) {
            for (i, key) in flow.stages.iter().enumerate() {
                assert_eq!(flow.entries(row, key), Some(row.entries[i]));
                assert_eq!(flow.inferred(row, key), Some(row.inferred[i]));
                if let Some(next) = flow.stages.get(i + 1) {
                    assert_eq!(flow.step_flow(row, key, next), Some(&row.step_flow[i]));
                    assert_eq!(flow.step_flow(row, next, key), None);
                }
            }
            assert_eq!(flow.entries(row, "no such stage"), None);
            if let Some(p) = row.period {
                assert_eq!(table.period(&p.label()), Some(row));
            }
        }
        if let Some(v) = &table.value {
            assert_eq!(flow.breakdown(v), Some(table));
        }
    }

    let velocity = velocity_report(
        &data,
        &paths,
        &VelocitySpec::default().with_breakdown(Dimension::Source),
    )
    .unwrap();
    assert!(!velocity.total.steps.is_empty());
    for table in std::iter::once(&velocity.total).chain(&velocity.breakdown) {
        for s in &table.steps {
            assert_eq!(table.step(&s.from, &s.to), Some(s));
        }
        if let Some(v) = &table.value {
            assert_eq!(velocity.breakdown(v), Some(table));
        }
    }
    let first = &velocity.total.steps[0];
    assert_eq!(velocity.step(&first.from, &first.to), Some(first));
    assert_eq!(velocity.step("won", "mql"), None);

    let q = qualification_report(&data, &paths, &QualificationSpec::default()).unwrap();
    assert!(!q.exits.is_empty());
    for e in &q.exits {
        let by_hand: u64 = q
            .exits
            .iter()
            .filter(|x| x.stage == e.stage)
            .map(|x| x.count)
            .sum();
        assert_eq!(q.exited(&e.stage), by_hand);
        let with_reason: u64 = q
            .exits
            .iter()
            .filter(|x| x.stage == e.stage && x.reason == e.reason)
            .map(|x| x.count)
            .sum();
        assert_eq!(q.exited_for(&e.stage, e.reason.as_deref()), with_reason);
    }
    assert_eq!(q.exited("no such stage"), 0);
}

#[test]
fn cost_lookups_agree_with_positions() {
    let c = company();
    let currency = Currency::USD;
    let data = FunnelData::new(Funnel::demand_waterfall(), &c.leads).unwrap();
    let mut acc = FunnelEvents::default();
    acc.add_batch(&data, &c.stage_events).unwrap();
    let paths = acc.paths(&data, PathOptions::default());
    let spend = align_spend(&c.spend, &SpendAlignment::monthly(currency)).unwrap();
    let units = ["mql", "sql", "won"];
    let credits = Credits::from_lead_source(
        &data,
        &paths,
        &units,
        &c.conversions,
        currency,
        CostGrouping::default(),
    )
    .unwrap();
    let table = unit_economics(&spend, &credits).unwrap();
    let mut named = 0;
    for row in &table.rows {
        let Some(ch) = &row.key.channel else { continue };
        named += 1;
        assert_eq!(table.channel(ch.as_str()), Some(row));
        for (i, unit) in table.units.iter().enumerate() {
            assert_eq!(table.cost_per(ch.as_str(), unit), Some(&row.cost_per[i]));
        }
        assert_eq!(table.cost_per(ch.as_str(), "no such unit"), None);
    }
    assert!(named > 1);
    for (i, unit) in table.units.iter().enumerate() {
        assert_eq!(table.total_cost_per(unit), Some(&table.total.cost_per[i]));
    }
    assert_eq!(table.channel("no such channel"), None);

    let opps = opportunities_from_history(&c.opportunity_history, &c.leads);
    let sourcing = sourcing_report(
        &opps,
        &c.leads,
        &c.touches,
        SourcedBy::LeadSource,
        InfluenceMilestone::Created,
        currency,
    )
    .unwrap();
    for row in &sourcing.by_channel {
        if let Some(ch) = &row.channel {
            assert_eq!(sourcing.channel(ch.as_str()), Some(row));
        }
    }
    for row in &sourcing.by_campaign {
        if let (Some(ch), Some(camp)) = (&row.channel, &row.campaign) {
            assert_eq!(sourcing.campaign(ch.as_str(), camp.as_str()), Some(row));
        }
    }
    assert_eq!(sourcing.channel("no such channel"), None);
}

#[test]
fn pipeline_lookups_agree_with_positions() {
    use revops::Window;
    use revops::pipeline::PipelineHistory;
    let c = company();
    let h = PipelineHistory::new(
        Funnel::salesforce_opportunity(),
        Currency::USD,
        &c.opportunity_history,
    )
    .unwrap();
    let as_of = c
        .opportunity_history
        .iter()
        .map(|r| r.changed_at)
        .max()
        .unwrap();
    let first = c
        .opportunity_history
        .iter()
        .map(|r| r.changed_at)
        .min()
        .unwrap();

    let rates = h.stage_win_rates(as_of, None);
    for s in &rates.stages {
        assert_eq!(rates.stage(&s.key), Some(s));
    }
    let aging = h.aging(as_of, None);
    for s in &aging.stages {
        assert_eq!(aging.stage(&s.key), Some(s));
    }
    assert!(rates.stage("no such stage").is_none() && aging.stage("no such stage").is_none());

    let slippage = h.slippage(&Window::new(first, as_of).unwrap()).unwrap();
    assert!(!slippage.per_deal.is_empty());
    for d in &slippage.per_deal {
        assert_eq!(slippage.deal(d.opportunity.as_str()), Some(d));
    }
    assert!(slippage.deal("no such deal").is_none());
}
