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
//! adds; default 20), `--hiring` (synthetic company only: hire 2 owners per segment
//! from month 3, every 2 months, with a 6-month linear ramp), `--format table|json`,
//! `--quick`.
//!
//! The ramp of a new hire is **measured** from the opportunity history when it shows
//! enough new owners (`revops::pipeline::PipelineHistory::ramp`: pipeline created and
//! bookings per tenure month relative to tenured owners; at least 3 new owners and a
//! baseline of 30 deals in month 0), otherwise the **assumed** one (linear over 6 months for pipeline, 9 for
//! bookings: the usual 6–9-month ramp); the output says which.
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
use common::{DataArgs, OutputArgs, bad, load_tables_with};
use revops::csv::{CsvRecord, Table};
use revops::{
    Calendar, Decimal, Error, Funnel, Granularity, Lead, Money, Period, StageEvent,
    breakdown::Dimension, funnel::CohortSpec, funnel::FunnelData, funnel::FunnelEvents,
    funnel::PathOptions, funnel::VelocitySpec, funnel::cohort_report, funnel::velocity_report,
    pipeline::ChosenRamp, pipeline::PipelineHistory, pipeline::RampBasis, pipeline::RampReport,
    pipeline::RampSource, pipeline::RampSpec, plan::DealSegments, plan::ProgrammeUplift,
    plan::Projection, plan::Ramp, plan::RampCurve, plan::ReverseFunnel, plan::ReversePlan,
    plan::RoundingPolicy, plan::StageChain, plan::SurvivalOptions, plan::average_deal_size,
    plan::chances, plan::deal_chances, plan::default_target, plan::project_chances,
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
    /// Synthetic company only: hire 2 owners per segment from month 3, every 2 months,
    /// with a 6-month linear ramp (the plan then measures it from the history)
    #[arg(long, conflicts_with = "data")]
    hiring: bool,
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
    /// The ramp of a new hire: measured from the history, or assumed.
    ramp: ChosenRamp,
    /// A hire starting today: mean share of a tenured owner's pipeline and bookings
    /// over the next 60 and 90 days, under that ramp.
    new_hire: Vec<HireShare>,
    /// The measured ramp (curve points with counts, owners).
    #[serde(skip)]
    measured: Option<RampReport>,
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

/// A hire's mean productivity over a horizon.
#[derive(serde::Serialize)]
struct HireShare {
    days: u32,
    pipeline: f64,
    bookings: f64,
}

impl HireShare {
    /// A hire's mean share of a tenured owner over the `days` days from `hired`.
    fn of(ramp: &Ramp, hired: chrono::NaiveDate, days: u32) -> HireShare {
        HireShare {
            days,
            pipeline: mean_factor(&ramp.pipeline, hired, days),
            bookings: mean_factor(&ramp.bookings, hired, days),
        }
    }
}

/// The mean factor of `curve` over the `days` days from a hire date.
fn mean_factor(curve: &RampCurve, hired: chrono::NaiveDate, days: u32) -> f64 {
    let total: f64 = (0..days)
        .filter_map(|k| hired.checked_add_days(chrono::Days::new(u64::from(k))))
        .map(|d| curve.factor_on(hired, d))
        .sum();
    total / f64::from(days.max(1))
}

fn print_ramp(p: &Planned) {
    match &p.ramp.source {
        RampSource::Measured {
            new_owners,
            owner_months,
            ..
        } => println!(
            "\nramp of a new hire: measured from the history ({new_owners} new owners, {owner_months} owner-months; amounts vs tenured owners)"
        ),
        RampSource::Assumed { reason } => println!(
            "\nramp of a new hire: assumed (linear 6 months pipeline, 9 bookings): not measured, {reason}"
        ),
    }
    let pct = |c: &RampCurve| {
        c.factors()
            .iter()
            .map(|f| format!("{:.0}", 100.0 * f))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!("  pipeline % by month: {}", pct(&p.ramp.ramp.pipeline));
    println!("  bookings % by month: {}", pct(&p.ramp.ramp.bookings));
    if let Some(m) = &p.measured {
        for pt in m.points.iter().filter(|pt| pt.owners > 0).take(6) {
            println!(
                "  month {:>2}: {:>3} owners, {} deals / {:.1} at tenure ({}), pipeline {} vs {}",
                pt.month,
                pt.owners,
                pt.pipeline.deals,
                pt.pipeline.expected_deals,
                pt.pipeline
                    .amount_ratio()
                    .map_or("no value".to_string(), |r| format!("{:.0} %", 100.0 * r)),
                pt.pipeline.amount.round_to_minor_units(),
                pt.pipeline.expected_amount.round_to_minor_units()
            );
        }
    }
    for h in &p.new_hire {
        println!(
            "  a hire starting today, first {:>2} days: {:.0} % of a tenured owner's pipeline, {:.0} % of bookings",
            h.days,
            100.0 * h.pipeline,
            100.0 * h.bookings
        );
    }
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
    print_ramp(p);
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

/// The measured ramp (owners from the opportunities, or their leads) when at least 3
/// new owners and a baseline of 30 deals stand behind month 0, else the assumed 6 /
/// 9-month linear ramp.
fn chosen_ramp(
    history: &PipelineHistory,
    loaded: &common::Loaded,
    today: DateTime<Utc>,
) -> Result<(ChosenRamp, Option<RampReport>), Error> {
    let assumed = Ramp {
        pipeline: RampCurve::linear(6)?,
        bookings: RampCurve::linear(9)?,
    };
    let d = &loaded.data;
    let rebuilt;
    let opportunities = match &loaded.opportunities {
        Some(o) => o.as_slice(),
        None => {
            rebuilt = revops::report::opportunities_from_history(&d.opportunity_history, &d.leads);
            rebuilt.as_slice()
        }
    };
    let owners = history.keys(&Dimension::Owner, opportunities, &d.leads)?;
    // Hire dates when known (the synthetic company's hires); first activity otherwise.
    let spec = RampSpec::new(today).with_hires(&loaded.hires);
    let measured = history.ramp(&spec, &owners)?;
    let chosen = measured.ramp_or(&assumed, RampBasis::Amount, 3, 30)?;
    Ok((chosen, Some(measured)))
}

fn main() -> ExitCode {
    common::main(run)
}

/// The projection's horizons in days: the next 30, 60 and 90, and the ends of this
/// quarter and the next one (each once, in order, none in the past).
fn horizons(today: chrono::NaiveDate, this_quarter: &Period, next_quarter: &Period) -> Vec<u32> {
    let days_to = |d: chrono::NaiveDate| u32::try_from((d - today).num_days()).unwrap_or(0);
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
    horizons
}

fn run(cli: Cli) -> Result<(), Error> {
    // Touches and forecasts are not read (spend and conversions give the currency).
    let hiring = cli.hiring;
    let loaded = load_tables_with(
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
        &|c| {
            if hiring {
                c.with_hiring(revops::synth::HiringProfile::default())
            } else {
                c
            }
        },
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
    let today_date = cal.date_of(today);
    let horizons = horizons(today_date, &this_quarter, &next_quarter);
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

    // The ramp of a new hire: measured when the history shows enough new owners.
    let (ramp, measured) = chosen_ramp(&history, &loaded, today)?;
    let new_hire = [60, 90]
        .into_iter()
        .map(|days| HireShare::of(&ramp.ramp, today_date, days))
        .collect();

    let planned = Planned {
        origin: loaded.origin.clone(),
        today,
        deal_size,
        target,
        plan,
        uplift_60: uplift60,
        uplift_90: uplift90,
        projection,
        ramp,
        new_hire,
        measured,
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
