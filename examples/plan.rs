//! Planning: "what inflow do we need to hit next quarter's target?" and "what can a
//! programme starting today show in 60 and 90 days?", from the measured funnel.
//!
//! ```sh
//! cargo run --release --all-features --example plan
//! cargo run --release --all-features --example plan -- --target 1500000 --per-day 25
//! ```
//! Flags: `--data DIR` (canonical CSVs; without it a synthetic company: `--leads N`,
//! `--seed S`), `--target AMOUNT` (next quarter's bookings; default: the last complete
//! quarter's won revenue + 20 %), `--per-day N` (inquiries per day a new programme
//! adds; default 20), `--format table|json`, `--quick`.
//!
//! The projection covers the open opportunities (their chance of a win given their
//! stage, age and segment, from a survival model of the deals known today:
//! `revops::plan::StageChain`) and the leads before the opportunity stage that entered
//! their stage in the last 90 days (their stage's measured rate to won, the measured
//! time from that stage to won, the average deal size).
#![allow(clippy::print_stdout)]

mod common;

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Parser;
use common::{DataArgs, OutputArgs, bad, load_tables};
use revops::csv::{CsvRecord, Table};
use revops::{
    Calendar, Decimal, Error, Funnel, Granularity, Lead, Money, Period, StageEvent,
    funnel::CohortSpec, funnel::FunnelData, funnel::FunnelEvents, funnel::PathOptions,
    funnel::VelocitySpec, funnel::cohort_report, funnel::velocity_report,
    pipeline::PipelineHistory, plan::DealSegments, plan::ProgrammeUplift, plan::Projection,
    plan::ReverseFunnel, plan::ReversePlan, plan::RoundingPolicy, plan::StageChain,
    plan::SurvivalOptions, plan::average_deal_size, plan::chances, plan::deal_chances,
    plan::default_target, plan::project_chances,
};

/// The most inquiries a day a programme may add.
const MAX_PER_DAY: f64 = 1_000_000.0;

/// Planning: the inflow next quarter's target needs and when, a programme's 60/90-day
/// uplift, and the projection of open deals and leads.
///
/// Data: a synthetic company (default) or `--data DIR` (leads.csv, stage_events.csv;
/// conversions.csv and opportunity_history.csv when present).
#[derive(Parser, Debug)]
#[command(name = "plan", allow_negative_numbers = true)]
struct Cli {
    #[command(flatten)]
    data: DataArgs,
    /// Next quarter's bookings target, in the data's currency [default: the last
    /// complete quarter's won revenue + 20 %]
    #[arg(long, value_name = "AMOUNT", value_parser = common::positive_amount)]
    target: Option<Decimal>,
    /// Inquiries per day a new programme adds (more than 0, at most 1000000)
    #[arg(long, value_name = "N", default_value_t = 20.0, value_parser = per_day)]
    per_day: f64,
    #[command(flatten)]
    output: OutputArgs,
}

fn per_day(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| "not a number".to_string())?;
    if v.is_finite() && v > 0.0 && v <= MAX_PER_DAY {
        Ok(v)
    } else {
        Err(format!("must be more than 0 and at most {MAX_PER_DAY}"))
    }
}

/// What the example computed: the JSON output, and what the table shows besides.
#[derive(serde::Serialize)]
struct Planned {
    origin: String,
    today: DateTime<Utc>,
    deal_size: Money,
    target: Money,
    plan: ReversePlan,
    uplift_60: ProgrammeUplift,
    uplift_90: ProgrammeUplift,
    projection: Projection,
    #[serde(skip)]
    funnel: ReverseFunnel,
    #[serde(skip)]
    next_quarter: Period,
    #[serde(skip)]
    per_day: f64,
    #[serde(skip)]
    open_deals: usize,
    #[serde(skip)]
    open_leads: usize,
}

fn print_table(p: &Planned) {
    println!(
        "planning — {}; today {}",
        p.origin,
        p.today.format("%Y-%m-%d")
    );
    println!("\nmeasured funnel (all cohorts): step rate and median lag");
    for (i, w) in p.funnel.stages().windows(2).enumerate() {
        println!(
            "  {:<13} → {:<13} {:>6.1} %  {:>6.1} days",
            w[0],
            w[1],
            100.0 * p.funnel.rates()[i],
            p.funnel.lag_days()[i]
        );
    }
    println!(
        "\nwhat inflow does {} need? target {}, average deal {} → {} wins",
        p.next_quarter.label(),
        p.target,
        p.deal_size,
        p.plan.periods.first().map_or(0, |p| p.wins)
    );
    println!(
        "  {:<13} {:>10} {:>12} {:>12}",
        "stage", "needed", "enter from", "enter by"
    );
    for s in p.plan.periods.iter().flat_map(|p| &p.stages) {
        println!(
            "  {:<13} {:>10} {:>12} {:>12}",
            s.stage, s.count, s.enter_from, s.enter_by
        );
    }
    println!(
        "\nwhat can a programme of {} inquiries a day starting today show?",
        p.per_day
    );
    for u in [&p.uplift_60, &p.uplift_90] {
        println!(
            "  in {:>3} days: pipeline ({}) {}, bookings {}",
            u.days,
            u.pipeline_stage,
            u.pipeline.round_to_minor_units(),
            u.bookings.round_to_minor_units()
        );
    }
    println!(
        "\nopen today: {} deals and {} leads active in the last 90 days (at the average deal size); expected wins (95 % band) and revenue",
        p.open_deals, p.open_leads
    );
    for h in &p.projection.horizons {
        println!(
            "  next {:>3} days (to {}): {:>7.1} wins [{:.1}, {:.1}], revenue {} [{:.0}, {:.0}]",
            h.days,
            h.until,
            h.wins,
            h.wins_band.0,
            h.wins_band.1,
            h.revenue.round_to_minor_units(),
            h.revenue_band.0,
            h.revenue_band.1
        );
    }
}

fn main() -> ExitCode {
    common::main(run)
}

fn run(cli: Cli) -> Result<(), Error> {
    // Touches and forecasts are not read (spend and conversions give the currency).
    let loaded = load_tables(
        &cli.data,
        100_000,
        &[Lead::FILE_NAME, StageEvent::FILE_NAME],
        &[
            Table::Leads,
            Table::StageEvents,
            Table::Conversions,
            Table::Spend,
            Table::OpportunityHistory,
        ],
    )?;
    let d = &loaded.data;
    let currency = d.report_input().inferred_currency();
    let today = d
        .stage_events
        .iter()
        .map(|e| e.at)
        .max()
        .ok_or_else(|| bad("--data", &loaded.origin, "no stage events"))?;
    let cal = Calendar::default();
    let this_quarter = cal.period_of(today, Granularity::Quarter);
    let next_quarter = this_quarter.next();
    let last_quarter = this_quarter.prev();

    // The measured funnel: step rates from the cohorts, lags from the velocity.
    let data = FunnelData::new(Funnel::demand_waterfall(), &d.leads)?;
    let mut acc = FunnelEvents::default();
    acc.add_batch(&data, &d.stage_events)?;
    let paths = acc.paths(&data, PathOptions::default().with_as_of(today));
    let cohorts = cohort_report(&data, &paths, &CohortSpec::default())?;
    let velocity = velocity_report(&data, &paths, &VelocitySpec::default())?;
    let funnel = ReverseFunnel::from_cohort(&cohorts)?.with_velocity(&velocity)?;

    // Deal size and the default target from what was won, as the report has them.
    let deal_size = average_deal_size(&d.conversions, today, currency)?
        .ok_or_else(|| bad("--data", &loaded.origin, "no conversion carries a value"))?;
    let target = match cli.target {
        Some(t) => Money::new(t, currency),
        None => default_target(&d.conversions, &last_quarter, &cal, currency)?,
    };
    let plan = funnel.plan(
        &[(next_quarter, target)],
        deal_size,
        RoundingPolicy::EveryStage,
    )?;

    // A programme adding inquiries from today.
    let per_day = cli.per_day;
    let uplift60 = funnel.programme_uplift(per_day, 60, "opportunity", deal_size)?;
    let uplift90 = funnel.programme_uplift(per_day, 90, "opportunity", deal_size)?;

    // Open pipeline today, projected: each open deal's chance of a win given its stage,
    // age and segment, from the deals known today; the open leads from their stage's
    // rate and time to won.
    let history = PipelineHistory::new(
        Funnel::salesforce_opportunity(),
        currency,
        &d.opportunity_history,
    )?;
    let segments = DealSegments::from_leads(&history, &d.opportunity_history, &d.leads);
    let chain = StageChain::fit(&history, today, Some(&segments), SurvivalOptions::default())?;
    // Next 30 / 60 / 90 days, and the ends of this quarter and the next one.
    let today_date = cal.date_of(today);
    let days_to = |d: chrono::NaiveDate| u32::try_from((d - today_date).num_days()).unwrap_or(0);
    let mut horizons = vec![
        30,
        60,
        90,
        days_to(this_quarter.last_day()),
        days_to(next_quarter.last_day()),
    ];
    horizons.sort_unstable();
    horizons.dedup();
    horizons.retain(|&d| d > 0);
    let mut open = deal_chances(&chain, &history, &horizons)?;
    let open_deals = open.len();
    let (leads_open, leads_outlook) = revops::plan::lead_outlook(
        &data,
        &paths,
        &cohorts,
        today,
        deal_size,
        chrono::TimeDelta::days(90),
    )?;
    let open_leads = leads_open.len();
    open.extend(chances(&leads_open, &leads_outlook, &horizons)?);
    let projection = project_chances(&open, today_date, &horizons, 1.96, currency)?;

    let planned = Planned {
        origin: loaded.origin.clone(),
        today,
        deal_size,
        target,
        plan,
        uplift_60: uplift60,
        uplift_90: uplift90,
        projection,
        funnel,
        next_quarter,
        per_day,
        open_deals,
        open_leads,
    };
    cli.output.emit(
        || serde_json::to_value(&planned).unwrap_or_default(),
        || {
            print_table(&planned);
            Ok(())
        },
    )
}
