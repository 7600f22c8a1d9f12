//! The real-data adapters on the real files in `../shared/data/real/` (see
//! `fixtures`: absent files fail in CI). Expected counts were tallied independently from the raw files.

use std::fs::File;

use revops::real::{maven_funnel, read_maven, read_olist};
use revops::{Currency, Decimal, Funnel, Money};

fn data(name: &str) -> Option<File> {
    crate::fixtures::shared_file(&format!("real/{name}"))
}

/// The Olist data, read, or `None` (with a notice) when the files are absent.
fn olist() -> Option<revops::real::OlistData> {
    let mqls = data("olist_marketing_qualified_leads_dataset.csv")?;
    let deals = data("olist_closed_deals_dataset.csv")?;
    Some(read_olist(mqls, deals).unwrap())
}

#[test]
fn olist_funnel_reads_with_its_quirk_reported() {
    let Some(d) = olist() else {
        return;
    };
    assert_eq!(d.leads.len(), 8000);
    assert_eq!(d.leads.iter().filter(|l| l.source.is_none()).count(), 60);
    assert_eq!(
        d.leads
            .iter()
            .filter(|l| l.source.as_ref().is_some_and(|s| s.as_str() == "unknown"))
            .count(),
        1099
    );
    assert_eq!(d.stage_events.len(), 8000 + 842);
    assert_eq!(
        d.stage_events.iter().filter(|e| e.stage == "won").count(),
        842
    );
    // every deal has an SDR; one has no business segment
    assert_eq!(d.leads.iter().filter(|l| l.owner.is_some()).count(), 842);
    assert_eq!(d.leads.iter().filter(|l| l.segment.is_some()).count(), 841);
    // The one deal won two days before its MQL's first contact is reported, not fixed.
    assert_eq!(d.quirks.len(), 1, "{:?}", d.quirks);
    assert_eq!(
        d.quirks[0].record.id.as_deref(),
        Some("b91cf8812365f50ff4bda4bcd6206b05")
    );
    let funnel = Funnel::demand_waterfall();
    for (i, e) in d.stage_events.iter().enumerate() {
        funnel
            .resolve(&e.stage, || {
                revops::error::RecordRef::new("event").with_index(i)
            })
            .unwrap();
    }
    for l in &d.leads {
        l.validate().unwrap();
    }
}

#[test]
fn maven_pipeline_reads_with_skips_counted() {
    let Some(f) = data("maven_crm_sales_pipeline.csv") else {
        return;
    };
    let d = read_maven(f, Currency::USD).unwrap();
    assert_eq!(d.opportunities.len(), 8300);
    assert_eq!(d.skipped, 500); // Prospecting deals: no date at all
    assert_eq!(d.quirks.len(), 500 + 1589); // plus open deals without value
    assert_eq!(d.history.len(), 8300 + 4238 + 2473);
    assert_eq!(
        d.opportunities
            .iter()
            .filter(|o| o.account.is_none())
            .count(),
        1088
    );
    let won: Vec<&Money> = d
        .opportunities
        .iter()
        .filter(|o| o.stage == "won")
        .map(|o| &o.amount)
        .collect();
    assert_eq!(won.len(), 4238);
    assert_eq!(
        Money::sum(Currency::USD, won).unwrap().amount(),
        Decimal::from(10_005_534)
    );
    let funnel = maven_funnel();
    for o in &d.opportunities {
        o.validate().unwrap();
        assert!(funnel.stage_index(&o.stage).is_some());
    }
    for c in &d.history {
        c.validate().unwrap();
    }
}

/// MQL → Won on the real Olist funnel, overall and per origin. The expected counts were
/// tallied independently from the raw CSVs (a short Python script: a lead is won when
/// its `mql_id` appears in the closed deals with `won_date` on or after its
/// `first_contact_date`; the one deal won two days before first contact is therefore
/// not a win of its cohort, and the engine reports it as an event before creation).
#[test]
fn olist_mql_to_won_by_origin() {
    use revops::{
        Confidence, funnel::CohortAnchor, funnel::CohortSpec, funnel::Dimension,
        funnel::FunnelData, funnel::FunnelEvents, funnel::PathOptions, funnel::cohort_report,
    };
    let Some(d) = olist() else {
        return;
    };
    let fd = FunnelData::new(Funnel::demand_waterfall(), &d.leads).unwrap();
    let mut acc = FunnelEvents::default();
    acc.add_batch(&fd, &d.stage_events).unwrap();
    let paths = acc.paths(&fd, PathOptions::default());
    assert_eq!(paths.diagnostics().before_creation, 1);
    let spec = CohortSpec::default()
        .with_anchor(CohortAnchor::Stage("mql".into()))
        .with_breakdown(Dimension::Source);
    let r = cohort_report(&fd, &paths, &spec).unwrap();
    let won = |t: &revops::funnel::CohortTable| t.all.to_won[0].ratio;
    assert_eq!(won(&r.total), revops::Ratio::new(841, 8000));

    let expected: [(Option<&str>, u64, u64); 11] = [
        (Some("direct_traffic"), 56, 499),
        (Some("display"), 6, 118),
        (Some("email"), 15, 493),
        (Some("organic_search"), 270, 2296),
        (Some("other"), 4, 150),
        (Some("other_publicities"), 3, 65),
        (Some("paid_search"), 195, 1586),
        (Some("referral"), 24, 284),
        (Some("social"), 75, 1350),
        (Some("unknown"), 179, 1099),
        (None, 14, 60),
    ];
    let got: Vec<(Option<&str>, u64, u64)> = r
        .breakdown
        .iter()
        .map(|t| (t.value.as_deref(), won(t).numerator, won(t).denominator))
        .collect();
    assert_eq!(got, expected);

    // Month of first contact: 2018-01 has 152 wins of 1141 MQLs.
    let jan = r
        .total
        .rows
        .iter()
        .find(|row| row.cohort.is_some_and(|p| p.label() == "2018-01"))
        .unwrap();
    assert_eq!(jan.to_won[0].ratio, revops::Ratio::new(152, 1141));

    // The interval follows statsmodels' Wilson convention (no continuity correction,
    // z = Φ⁻¹(0.975)): recomputed here from its closed form.
    let (k, n, z) = (841.0_f64, 8000.0_f64, 1.959_963_984_540_054_f64);
    let p = k / n;
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / (1.0 + z * z / n);
    let ci = r.total.all.to_won[0].interval.unwrap();
    assert!(
        (ci.lower - (centre - half)).abs() < 1e-12 && (ci.upper - (centre + half)).abs() < 1e-12
    );
    assert_eq!(r.confidence, Confidence::P95.level());
}
