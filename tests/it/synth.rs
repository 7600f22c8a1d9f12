//! The synthetic company: determinism, validity of every record, realism of the shapes,
//! and the truth of the touch model.

use revops::error::ErrorKind;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use revops::synth::{
    Company, FunnelRates, Lag, Lags, SegmentProfile, SourceProfile, Synth, SynthConfig,
    TouchChannelProfile, generate,
};
use revops::{Currency, Decimal, ForecastCategory, Funnel, StageKind};

/// The default company (20 000 leads, 24 months), made once for the realism checks.
fn company() -> &'static Company {
    static C: OnceLock<Company> = OnceLock::new();
    C.get_or_init(|| generate(&SynthConfig::default()).expect("the default config is valid"))
}

fn small(seed: u64) -> SynthConfig {
    SynthConfig::default().with_leads(2_000).with_seed(seed)
}

#[test]
fn same_config_same_company_other_seed_other_company() {
    let a = generate(&small(5)).unwrap();
    let b = generate(&small(5)).unwrap();
    assert_eq!(a, b);
    let c = generate(&small(6)).unwrap();
    assert_ne!(a.leads, c.leads);
    assert_ne!(a.stage_events, c.stage_events);
    assert_ne!(a.spend, c.spend);
}

#[test]
fn stream_yields_exactly_what_generate_collects() {
    let config = small(11);
    let company = generate(&config).unwrap();
    let synth = Synth::new(config).unwrap();
    let mut tally = synth.tally();
    let (mut leads, mut events, mut touches, mut conversions, mut opps, mut history) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for (i, b) in synth.leads().enumerate() {
        assert_eq!(b.index, i as u64);
        tally.add(&b);
        leads.push(b.lead);
        events.extend(b.stage_events);
        touches.extend(b.touches);
        conversions.extend(b.conversion);
        opps.extend(b.opportunity);
        history.extend(b.opportunity_history);
    }
    assert_eq!(leads, company.leads);
    assert_eq!(events, company.stage_events);
    assert_eq!(touches, company.touches);
    assert_eq!(conversions, company.conversions);
    assert_eq!(opps, company.opportunities);
    assert_eq!(history, company.opportunity_history);
    assert_eq!(synth.spend(&tally).unwrap(), company.spend);
    assert_eq!(synth.forecasts(&tally).unwrap(), company.forecasts);
    assert_eq!(synth.truth(&tally).unwrap(), company.truth);
    assert_eq!(synth.window(), company.window);

    // Chunks in any order, merged, equal the whole: leads are independent.
    let mut merged = synth.tally();
    for range in [1_500..2_000, 0..700, 700..1_500] {
        let mut part = synth.tally();
        synth.leads_in(range).for_each(|b| part.add(&b));
        merged.merge(&part).unwrap();
    }
    assert_eq!(merged, tally);
    assert_eq!(synth.lead(1_234), synth.leads().nth(1_234));
    assert_eq!(synth.lead(1_999), synth.leads().next_back());
    assert_eq!(synth.lead(2_000), None);
    assert_eq!(synth.leads_in(1_990..5_000).len(), 10);

    // Tallies of differently shaped generators do not merge.
    let other = Synth::new(small(11).with_months(12)).unwrap();
    assert!(matches!(
        merged.merge(&other.tally()).as_ref().map_err(|e| e.kind()),
        Err(ErrorKind::InvalidParameter { name: "tally", .. })
    ));
}

#[test]
fn every_record_is_valid_and_consistent() {
    let c = company();
    let waterfall = Funnel::demand_waterfall();
    let sf = Funnel::salesforce_opportunity();
    let (start, end) = (c.window.start(), c.window.end());
    let inside = |t: DateTime<Utc>| start <= t && t < end;

    let mut created = HashMap::new();
    for (i, l) in c.leads.iter().enumerate() {
        l.validate().unwrap();
        assert!(inside(l.created_at));
        assert!(
            created.insert(l.id.as_str(), l.created_at).is_none(),
            "duplicate lead id"
        );
        if i > 0 {
            assert!(
                c.leads[i - 1].created_at <= l.created_at,
                "ids follow creation time"
            );
        }
    }

    // Stage events: known keys, after creation, in the window, in path order.
    let mut last: HashMap<&str, (DateTime<Utc>, u32)> = HashMap::new();
    let mut won_at = HashMap::new();
    let mut opp_at = HashMap::new();
    for e in &c.stage_events {
        e.validate().unwrap();
        let stage = waterfall.stage(&e.stage).expect("a waterfall stage");
        let lead_created = created[e.subject.as_str()];
        assert!(e.at >= lead_created, "{e:?} before its lead");
        assert!(inside(e.at));
        let cycle = e.cycle.expect("cycles are given");
        if let Some(&(prev, prev_cycle)) = last.get(e.subject.as_str()) {
            assert!(e.at >= prev, "{e:?} goes back in time");
            assert!(cycle >= prev_cycle);
        } else {
            assert_eq!(e.stage, "inquiry");
        }
        last.insert(e.subject.as_str(), (e.at, cycle));
        match stage.kind {
            StageKind::Won => assert!(won_at.insert(e.subject.as_str(), e.at).is_none()),
            StageKind::Disqualified | StageKind::Lost => assert!(e.reason.is_some()),
            _ => {}
        }
        if e.stage == "opportunity" {
            assert!(opp_at.insert(e.subject.as_str(), e.at).is_none());
        }
    }

    for t in &c.touches {
        t.validate().unwrap();
        assert!(t.at >= created[t.subject.as_str()]);
        assert!(inside(t.at));
        if let Some(&w) = won_at.get(t.subject.as_str()) {
            assert!(t.at <= w, "touches precede the conversion");
        }
    }

    // One conversion per won lead, valued at its opportunity's final amount.
    let opps: HashMap<&str, _> = c
        .opportunities
        .iter()
        .map(|o| (o.lead.as_ref().unwrap().as_str(), o))
        .collect();
    assert_eq!(opps.len(), c.opportunities.len());
    assert_eq!(c.conversions.len(), won_at.len());
    let mut converted = HashSet::new();
    for conv in &c.conversions {
        conv.validate().unwrap();
        let who = conv.subject.as_str();
        assert!(converted.insert(who), "two conversions for {who}");
        assert_eq!(Some(&conv.at), won_at.get(who));
        let opp = opps[who];
        assert_eq!(conv.value, Some(opp.amount));
        assert_eq!(opp.stage, "closed_won");
        assert_eq!(conv.value.unwrap().currency(), Currency::USD);
    }

    // Opportunities: created at the opportunity stage; final state = last history row.
    let mut rows: HashMap<&str, Vec<_>> = HashMap::new();
    for h in &c.opportunity_history {
        h.validate().unwrap();
        assert!(sf.stage(&h.stage).is_some());
        assert!(inside(h.changed_at));
        rows.entry(h.opportunity.as_str()).or_default().push(h);
    }
    assert_eq!(rows.len(), c.opportunities.len());
    for o in &c.opportunities {
        o.validate().unwrap();
        let lead = o.lead.as_ref().unwrap().as_str();
        assert_eq!(
            o.id.as_str()[2..],
            lead[2..],
            "the id derives from the lead's"
        );
        assert_eq!(Some(&o.created_at), opp_at.get(lead));
        let h = &rows[o.id.as_str()];
        assert!(h.windows(2).all(|w| w[0].changed_at <= w[1].changed_at));
        assert_eq!(h[0].changed_at, o.created_at);
        let last = h.last().unwrap();
        assert_eq!(
            (
                &o.stage,
                o.amount,
                o.close_date,
                o.probability,
                o.forecast_category
            ),
            (
                &last.stage,
                last.amount,
                last.close_date,
                last.probability,
                last.forecast_category
            )
        );
        assert_eq!(o.probability, sf.stage(&o.stage).unwrap().probability);
        let category = o.forecast_category.unwrap();
        match o.stage.as_str() {
            "closed_won" => assert_eq!(category, ForecastCategory::Closed),
            "closed_lost" => assert_eq!(category, ForecastCategory::Omitted),
            _ => assert!(!matches!(
                category,
                ForecastCategory::Closed | ForecastCategory::Omitted
            )),
        }
    }
    for lead in opp_at.keys() {
        assert!(
            opps.contains_key(lead),
            "{lead} reached opportunity without one"
        );
    }

    for s in &c.spend {
        s.validate().unwrap();
        assert!(s.period_start >= start.date_naive() && s.period_end < end.date_naive());
    }
    for f in &c.forecasts {
        f.validate().unwrap();
    }
}

/// Highest progression stage each lead reached (skip-aware), by lead id.
fn furthest(c: &Company) -> HashMap<&str, usize> {
    let waterfall = Funnel::demand_waterfall();
    let mut out = HashMap::new();
    for e in &c.stage_events {
        let i = waterfall.stage_index(&e.stage).unwrap();
        if waterfall.stages()[i].kind.is_progression() {
            let m = out.entry(e.subject.as_str()).or_insert(0);
            *m = (*m).max(i);
        }
    }
    out
}

#[test]
fn step_rates_fall_in_the_documented_benchmark_ranges() {
    let c = company();
    let far = furthest(c);
    // Leads of the first year, which had a year or more to mature.
    let mid = c.window.start() + (c.window.end() - c.window.start()) / 2;
    let mut reached = [0u32; 6];
    for l in c.leads.iter().filter(|l| l.created_at < mid) {
        let m = far.get(l.id.as_str()).copied().unwrap_or(0);
        reached.iter_mut().take(m + 1).for_each(|r| *r += 1);
    }
    let ranges = [
        ("inquiry→mql", 0.15, 0.40),
        ("mql→sal", 0.40, 0.80),
        ("sal→sql", 0.40, 0.60),
        ("sql→opportunity", 0.50, 0.70),
        ("opportunity→won", 0.15, 0.35),
    ];
    for (k, (name, lo, hi)) in ranges.iter().enumerate() {
        let rate = f64::from(reached[k + 1]) / f64::from(reached[k]);
        assert!(
            (*lo..=*hi).contains(&rate),
            "{name} = {rate:.3} outside [{lo}, {hi}] ({reached:?})"
        );
    }
}

#[test]
fn sources_differ_in_quality() {
    let c = company();
    let far = furthest(c);
    let mut by_source: HashMap<&str, (u32, u32)> = HashMap::new();
    for l in &c.leads {
        let m = far.get(l.id.as_str()).copied().unwrap_or(0);
        let e = by_source
            .entry(l.source.as_ref().unwrap().as_str())
            .or_default();
        e.0 += u32::from(m >= 1);
        e.1 += u32::from(m == 5);
    }
    assert_eq!(by_source.len(), 11);
    let rates: Vec<f64> = by_source
        .values()
        .filter(|(mql, _)| *mql >= 150)
        .map(|&(mql, won)| f64::from(won) / f64::from(mql))
        .collect();
    let best = rates.iter().copied().fold(f64::MIN, f64::max);
    let worst = rates.iter().copied().fold(f64::MAX, f64::min);
    assert!(rates.len() >= 8);
    assert!(
        best >= 2.0 * worst,
        "MQL→Won best {best:.4} vs worst {worst:.4}"
    );
}

#[test]
fn lags_have_realistic_medians_and_long_tails() {
    let c = company();
    let created: HashMap<&str, _> = c
        .leads
        .iter()
        .map(|l| (l.id.as_str(), l.created_at))
        .collect();
    let mut to_won: Vec<i64> = vec![];
    let mut to_mql: Vec<i64> = vec![];
    for e in &c.stage_events {
        let days = (e.at - created[e.subject.as_str()]).num_days();
        match (e.stage.as_str(), e.cycle) {
            ("won", _) => to_won.push(days),
            ("mql", Some(1)) => to_mql.push(days),
            _ => {}
        }
    }
    to_won.sort_unstable();
    to_mql.sort_unstable();
    let median = to_won[to_won.len() / 2];
    assert!(
        (30..=270).contains(&median),
        "median lead→won {median} days"
    );
    assert!(to_mql[to_mql.len() / 2] <= 7, "MQL within days");
    assert!(*to_mql.last().unwrap() >= 60, "with a long tail");
    assert!(
        to_won[to_won.len() * 95 / 100] >= 2 * median,
        "closes have a long tail"
    );
}

#[test]
fn funnel_exits_skips_and_cycles_occur_at_plausible_rates() {
    let c = company();
    let count = |stage: &str| c.stage_events.iter().filter(|e| e.stage == stage).count();
    let sal: HashSet<&str> = c
        .stage_events
        .iter()
        .filter(|e| e.stage == "sal" && e.cycle == Some(1))
        .map(|e| e.subject.as_str())
        .collect();
    let mql: HashSet<&str> = c
        .stage_events
        .iter()
        .filter(|e| e.stage == "mql")
        .map(|e| e.subject.as_str())
        .collect();
    let skipped = sal.iter().filter(|s| !mql.contains(*s)).count() as f64 / sal.len() as f64;
    assert!(
        (0.02..=0.07).contains(&skipped),
        "SAL without MQL: {skipped:.3}"
    );
    assert!(count("disqualified") > 500 && count("recycled") > 500);
    let reasons: HashSet<&str> = c
        .stage_events
        .iter()
        .filter(|e| e.stage == "disqualified")
        .filter_map(|e| e.reason.as_deref())
        .collect();
    for r in ["no budget", "bad fit", "competitor"] {
        assert!(reasons.contains(r));
    }
    let reentries = c
        .stage_events
        .iter()
        .filter(|e| e.stage == "mql" && e.cycle == Some(2))
        .count();
    let share = reentries as f64 / count("recycled") as f64;
    assert!(
        (0.1..=0.35).contains(&share),
        "re-entries per recycle: {share:.3}"
    );
}

#[test]
fn leads_grow_mildly_and_dip_on_weekends() {
    let c = company();
    let mut weekday = [0u32; 7];
    let (mut first_year, mut second_year) = (0u32, 0u32);
    for l in &c.leads {
        weekday[l.created_at.weekday().num_days_from_monday() as usize] += 1;
        if l.created_at.year() == 2024 {
            first_year += 1;
        } else {
            second_year += 1;
        }
    }
    let weekend = f64::from(weekday[Weekday::Sat as usize] + weekday[Weekday::Sun as usize]) / 2.0;
    let workday = f64::from(weekday[..5].iter().sum::<u32>()) / 5.0;
    assert!(
        weekend < 0.5 * workday,
        "weekend {weekend} vs workday {workday}"
    );
    let growth = f64::from(second_year) / f64::from(first_year);
    assert!(
        (1.1..1.5).contains(&growth),
        "year-over-year growth {growth:.3}"
    );
    let known = c.leads.iter().filter(|l| l.account.is_some()).count() as f64;
    assert!((0.85..0.95).contains(&(known / c.leads.len() as f64)));
    let segments: HashSet<_> = c
        .leads
        .iter()
        .filter_map(|l| l.segment.as_deref())
        .collect();
    assert_eq!(segments, HashSet::from(["smb", "mid_market", "enterprise"]));
    assert!(
        c.leads.iter().any(|l| l.campaign.is_some())
            && c.leads.iter().any(|l| l.campaign.is_none())
    );
    assert!(
        c.leads
            .iter()
            .filter(|l| l.account.is_some())
            .all(|l| l.owner.is_some()
                && l.attributes.contains_key("industry")
                && l.attributes.contains_key("region"))
    );
}

#[test]
fn touches_come_in_long_tailed_journeys() {
    let c = company();
    let mut per_lead: HashMap<&str, Vec<&revops::Touch>> = HashMap::new();
    for t in &c.touches {
        per_lead.entry(t.subject.as_str()).or_default().push(t);
    }
    assert_eq!(per_lead.len(), c.leads.len(), "every lead is touched");
    for l in &c.leads {
        let ts = &per_lead[l.id.as_str()];
        assert!((1..=15).contains(&ts.len()));
        assert_eq!(
            Some(&ts[0].channel),
            l.source.as_ref(),
            "first touch on the source"
        );
        assert_eq!(ts[0].at, l.created_at);
    }
    let long = per_lead.values().filter(|t| t.len() >= 10).count();
    let short = per_lead.values().filter(|t| t.len() <= 3).count();
    assert!(long > 100 && short > long, "long {long}, short {short}");
    let channels: HashSet<&str> = c.touches.iter().map(|t| t.channel.as_str()).collect();
    assert_eq!(channels.len(), 14);
}

#[test]
fn deals_change_amounts_and_slip() {
    let c = company();
    let mut by_opp: HashMap<&str, Vec<_>> = HashMap::new();
    for h in &c.opportunity_history {
        by_opp.entry(h.opportunity.as_str()).or_default().push(h);
    }
    let (mut ups, mut downs, mut pushed_twice) = (0, 0, 0);
    for rows in by_opp.values() {
        let mut pushes = 0;
        for w in rows.windows(2) {
            ups += usize::from(w[1].amount.amount() > w[0].amount.amount());
            downs += usize::from(w[1].amount.amount() < w[0].amount.amount());
            let closing = w[1].stage.starts_with("closed");
            pushes += usize::from(!closing && w[1].close_date > w[0].close_date);
        }
        pushed_twice += usize::from(pushes >= 2);
    }
    assert!(
        ups > 20 && downs > 20,
        "amount changes: {ups} up, {downs} down"
    );
    assert!(
        pushed_twice > 50,
        "{pushed_twice} deals pushed twice or more"
    );
    let stages: HashSet<&str> = c.opportunities.iter().map(|o| o.stage.as_str()).collect();
    assert!(stages.contains("closed_won") && stages.contains("closed_lost"));
    assert!(stages.len() >= 5, "some deals are still open: {stages:?}");
    let categories: HashSet<_> = c
        .opportunity_history
        .iter()
        .filter_map(|h| h.forecast_category)
        .collect();
    for cat in [
        ForecastCategory::Pipeline,
        ForecastCategory::BestCase,
        ForecastCategory::Commit,
    ] {
        assert!(categories.contains(&cat));
    }
}

#[test]
fn spend_follows_leads_and_brand_spend_pays_in_empty_months() {
    let c = company();
    let total: Decimal = c.spend.iter().map(|s| s.amount.amount()).sum();
    assert!(total > Decimal::ZERO);
    assert!(c.spend.iter().all(|s| !s.amount.is_negative()));
    assert!(c.spend.iter().all(|s| s.amount.amount().scale() <= 2));
    // Paid channels: 10 paid sources and 2 paid touch channels, monthly, per campaign.
    let channels: HashSet<&str> = c.spend.iter().map(|s| s.channel.as_str()).collect();
    assert_eq!(channels.len(), 12);
    assert!(!channels.contains("direct") && !channels.contains("sales_call"));
    // Cost per lead over the window is close to the configured one (paid search: 180,
    // a 10 % brand share and ±15 % monthly jitter around it).
    let leads = c
        .leads
        .iter()
        .filter(|l| {
            l.source
                .as_ref()
                .is_some_and(|s| s.as_str() == "paid_search")
        })
        .count();
    let spent: Decimal = c
        .spend
        .iter()
        .filter(|s| s.channel.as_str() == "paid_search")
        .map(|s| s.amount.amount())
        .sum();
    let cpl = spent / Decimal::from(leads);
    assert!(
        cpl > Decimal::from(180) && cpl < Decimal::from(215),
        "paid search CPL {cpl}"
    );
    // Channels that create no leads still pay every month.
    let display: Vec<_> = c
        .spend
        .iter()
        .filter(|s| s.channel.as_str() == "display")
        .collect();
    assert_eq!(display.len(), 24);
    assert!(display.iter().all(|s| s.amount.amount() > Decimal::ZERO));
    let month = |d: NaiveDate| (d.year(), d.month());
    assert_eq!(month(c.spend[0].period_start), (2024, 1));
    assert_eq!(c.spend[0].days(), 31);
}

#[test]
fn forecasts_track_actuals_with_a_slight_optimism() {
    let c = company();
    for series in ["bookings", "pipeline_created", "mqls"] {
        let points: Vec<_> = c.forecasts.iter().filter(|f| f.series == series).collect();
        assert_eq!(points.len(), 27);
        assert!(points.windows(2).all(|w| w[0].period < w[1].period));
        assert_eq!(points[0].period, "2024-01");
        assert_eq!(points[26].period, "2026-03");
        assert!(points[..24].iter().all(|p| p.actual.is_some()));
        assert!(
            points[24..]
                .iter()
                .all(|p| p.actual.is_none() && p.forecast > 0.0)
        );
        let (f, a): (f64, f64) = points[..24].iter().fold((0.0, 0.0), |(f, a), p| {
            (f + p.forecast, a + p.actual.unwrap())
        });
        let bias = f / a;
        assert!(
            (0.9..1.2).contains(&bias),
            "{series}: forecast/actual {bias:.3}"
        );
    }
    // Slightly optimistic: the median forecast/actual ratio is a few percent above 1.
    let mut ratios: Vec<f64> = c
        .forecasts
        .iter()
        .filter_map(|p| p.actual.filter(|&a| a > 0.0).map(|a| p.forecast / a))
        .collect();
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    assert!(
        (1.0..1.1).contains(&median),
        "median forecast/actual {median:.3}"
    );
    let mqls: f64 = c
        .forecasts
        .iter()
        .filter(|f| f.series == "mqls")
        .filter_map(|f| f.actual)
        .sum();
    let mql_events = c.stage_events.iter().filter(|e| e.stage == "mql").count();
    assert_eq!(mqls as usize, mql_events);
    let bookings: f64 = c
        .forecasts
        .iter()
        .filter(|f| f.series == "bookings")
        .filter_map(|f| f.actual)
        .sum();
    let won: Decimal = c
        .conversions
        .iter()
        .map(|x| x.value.unwrap().amount())
        .sum();
    assert!((bookings - won.to_string().parse::<f64>().unwrap()).abs() < 1e-3);
}

/// Spearman rank correlation (no ties expected in the inputs that matter).
fn spearman(x: &[f64], y: &[f64]) -> f64 {
    let rank = |v: &[f64]| {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
        let mut r = vec![0.0; v.len()];
        let mut i = 0;
        while i < idx.len() {
            let mut j = i;
            while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
                j += 1;
            }
            for k in i..=j {
                r[idx[k]] = (i + j) as f64 / 2.0;
            }
            i = j + 1;
        }
        r
    };
    let (rx, ry) = (rank(x), rank(y));
    let n = x.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let cov: f64 = rx.iter().zip(&ry).map(|(a, b)| (a - mx) * (b - my)).sum();
    let vx: f64 = rx.iter().map(|a| (a - mx) * (a - mx)).sum();
    let vy: f64 = ry.iter().map(|b| (b - my) * (b - my)).sum();
    cov / (vx * vy).sqrt()
}

#[test]
fn channels_with_larger_true_lift_convert_better() {
    let c = company();
    let source: HashMap<&str, &str> = c
        .leads
        .iter()
        .map(|l| (l.id.as_str(), l.source.as_ref().unwrap().as_str()))
        .collect();
    let won: HashSet<&str> = c.conversions.iter().map(|x| x.subject.as_str()).collect();
    let opportunity: HashSet<&str> = c
        .opportunities
        .iter()
        .map(|o| o.lead.as_ref().unwrap().as_str())
        .collect();
    // Touches on a channel other than the lead's source are drawn independently of
    // the lead's source and path: their empirical conversion rate reflects the lift.
    let mut touched: HashMap<&str, HashSet<&str>> = HashMap::new();
    for t in &c.touches {
        if source[t.subject.as_str()] != t.channel.as_str() {
            touched
                .entry(t.channel.as_str())
                .or_default()
                .insert(t.subject.as_str());
        }
    }
    let (mut lifts, mut won_rates, mut opportunity_rates) = (vec![], vec![], vec![]);
    for ct in &c.truth.channels {
        let leads = &touched[ct.channel.as_str()];
        let rate = |set: &HashSet<&str>| {
            leads.iter().filter(|l| set.contains(*l)).count() as f64 / leads.len() as f64
        };
        lifts.push(ct.lift);
        won_rates.push(rate(&won));
        opportunity_rates.push(rate(&opportunity));
        assert!(ct.touched_leads as usize >= leads.len());
        if ct.lift == 0.0 {
            assert_eq!(ct.incremental_conversions, 0.0);
        } else {
            assert!(ct.incremental_conversions > 0.0);
        }
    }
    let rho = spearman(&lifts, &won_rates);
    assert!(rho > 0.3, "rank correlation of lift and won rate: {rho:.3}");
    let rho = spearman(&lifts, &opportunity_rates);
    assert!(
        rho > 0.5,
        "rank correlation of lift and opportunity rate: {rho:.3}"
    );
    // The truth's expected conversions match what happened, within sampling noise.
    let expected = c.truth.expected_conversions;
    let actual = c.conversions.len() as f64;
    assert!(
        (actual - expected).abs() < 4.0 * expected.sqrt(),
        "{actual} vs {expected:.1}"
    );
    let top = c
        .truth
        .channels
        .iter()
        .max_by(|a, b| {
            a.incremental_conversions
                .total_cmp(&b.incremental_conversions)
        })
        .unwrap();
    assert!(top.lift >= 0.1, "most incremental: {top:?}");
}

#[test]
fn bad_parameters_are_named_errors() {
    let name_of = |c: SynthConfig| match generate(&c).map_err(|e| e.into_kind()) {
        Err(ErrorKind::InvalidParameter { name, .. }) => name,
        other => panic!("expected InvalidParameter, got {other:?}"),
    };
    let d = SynthConfig::default;
    assert_eq!(name_of(d().with_leads(999)), "leads");
    assert_eq!(name_of(d().with_leads(10_000_001)), "leads");
    assert_eq!(name_of(d().with_months(0)), "months");
    assert_eq!(name_of(d().with_months(241)), "months");
    assert_eq!(name_of(d().with_monthly_growth(f64::NAN)), "monthly_growth");
    assert_eq!(name_of(d().with_sources(vec![])), "sources");
    let zero_shares: Vec<SourceProfile> = d()
        .sources
        .into_iter()
        .map(|mut s| {
            s.share = 0.0;
            s
        })
        .collect();
    assert_eq!(name_of(d().with_sources(zero_shares)), "source share");
    let mut sources = d().sources;
    sources[2].mql_rate = 1.2;
    assert_eq!(name_of(d().with_sources(sources)), "source mql_rate");
    let mut sources = d().sources;
    sources[0].cost_per_lead = Decimal::from(-1);
    assert_eq!(name_of(d().with_sources(sources)), "source cost_per_lead");
    let dup = vec![TouchChannelProfile::new("direct", 0.1, 0.1, Decimal::ZERO, 0).unwrap()];
    assert_eq!(name_of(d().with_touch_channels(dup)), "channel");
    let rates = FunnelRates {
        sal_to_sql: -0.1,
        ..FunnelRates::default()
    };
    assert_eq!(name_of(d().with_rates(rates)), "sal_to_sql");
    let rates = FunnelRates {
        disqualified: [0.6, 0.6, 0.0, 0.0],
        recycled: [0.5, 0.5, 0.0, 0.0],
        ..FunnelRates::default()
    };
    assert_eq!(name_of(d().with_rates(rates)), "recycled");
    let lags = Lags {
        to_won: Lag::new(0.0, 0.5),
        ..Lags::default()
    };
    assert_eq!(name_of(d().with_lags(lags)), "lag median_days");
    let segments = vec![SegmentProfile::new("smb", 1.0, -1.0, 1.0, 1.0)];
    assert_eq!(
        name_of(d().with_segments(segments)),
        "segment deal_multiplier"
    );
    let bhd3 = Currency::with_minor_units("PTS", 6).unwrap();
    assert_eq!(name_of(d().with_currency(bhd3)), "currency");
}

#[test]
fn config_round_trips_through_json_and_defaults_fill_gaps() {
    let config = SynthConfig::default().with_seed(99).with_months(6);
    let json = serde_json::to_string(&config).unwrap();
    assert!(
        json.contains("\"cost_per_lead\":\"35\""),
        "decimals as strings"
    );
    let back: SynthConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back, config);
    let partial: SynthConfig = serde_json::from_str(r#"{"leads": 5000, "seed": 3}"#).unwrap();
    assert_eq!(
        partial,
        SynthConfig::default().with_leads(5_000).with_seed(3)
    );
}

#[test]
fn custom_tables_and_currencies_work() {
    let sources = vec![
        SourceProfile::new("web", 3.0)
            .unwrap()
            .with_cost_per_lead(Decimal::from(5)),
        SourceProfile::new("partners", 1.0)
            .unwrap()
            .with_quality(2.0)
            .with_touch(0.4, 0.2)
            .with_campaigns(2)
            .with_deal_size(Decimal::from(5_000_000))
            .with_mql_rate(0.5)
            .with_brand_share(1.0),
    ];
    let config = SynthConfig::default()
        .with_leads(1_000)
        .with_currency(Currency::JPY)
        .with_sources(sources)
        .with_touch_channels(vec![])
        .with_start(NaiveDate::from_ymd_opt(2025, 3, 15).unwrap())
        .with_months(5)
        .with_max_touches(3);
    let c = generate(&config).unwrap();
    assert_eq!(c.currency, Currency::JPY);
    assert!(c.spend.iter().all(|s| s.amount.currency() == Currency::JPY));
    assert!(c.spend.iter().all(|s| s.amount.amount().scale() == 0));
    assert_eq!(
        c.spend[0].period_start,
        NaiveDate::from_ymd_opt(2025, 3, 15).unwrap()
    );
    assert_eq!(
        c.spend[0].period_end,
        NaiveDate::from_ymd_opt(2025, 4, 14).unwrap()
    );
    assert_eq!(c.truth.channels.len(), 2);
    let mut per_lead: HashMap<&str, usize> = HashMap::new();
    for t in &c.touches {
        *per_lead.entry(t.subject.as_str()).or_default() += 1;
    }
    assert!(per_lead.values().all(|&n| (1..=3).contains(&n)));
    assert!(c.stage_events.iter().all(|e| c.window.contains(e.at)));
    assert_eq!(
        c.forecasts
            .iter()
            .filter(|f| f.series == "bookings")
            .count(),
        8
    );
}

/// FNV-1a over bytes: a fixed, dependency-free fingerprint.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The generator's output is part of its contract: the same configuration gives the
/// same bytes on every platform and in every version. A deliberate change of the model
/// must update this fingerprint (and say so in the changelog). Last update: opportunity
/// history rows gained `lead` (the lead each opportunity came from); the generated
/// values are unchanged.
#[test]
fn output_fingerprint_is_stable() {
    let c = generate(&SynthConfig::default().with_leads(1_000).with_seed(2026)).unwrap();
    let json = serde_json::to_string(&c).unwrap();
    let first = &c.leads[0];
    assert_eq!(first.id.as_str(), "L-00000001");
    assert_eq!(
        fnv1a(json.as_bytes()),
        4_316_809_783_281_926_130,
        "fingerprint of {} bytes",
        json.len()
    );
}
