//! Unit economics per channel: spend, leads, MQL, SQL, won, CPL, cost per SQL, CPA,
//! ROAS, ROI, and sourced versus influenced pipeline, in exact money.
//!
//! ```sh
//! cargo run --release --all-features --example unit_economics
//! cargo run --release --all-features --example unit_economics -- --model w_shaped
//! cargo run --release --all-features --example unit_economics -- --data DIR --format json
//! ```
//! Flags: `--data DIR` (canonical CSVs; without it a synthetic company: `--leads N`,
//! `--seed S`), `--model NAME` (credit won deals and revenue with an attribution model,
//! e.g. `first_touch`, `linear`, `w_shaped`; default: the lead's own source),
//! `--format table|json`, `--quick`.
//!
//! Leads, MQLs and SQLs are always counted by the lead's own source. From a folder,
//! opportunities are rebuilt from `opportunity_history.csv` (their last row) and linked
//! to the lead with the same id, when there is one.
#![allow(clippy::print_stdout)]

mod common;

use std::process::ExitCode;

use clap::Parser;
use common::{DataArgs, OutputArgs, load, parsed};
use revops::csv::CsvRecord;
use revops::{
    Decimal, Error, Funnel, Lead, StageEvent, attribution::JourneyOptions, attribution::Journeys,
    attribution::RuleModel, cost::CostGrouping, cost::Credits, cost::EconomicsRow,
    cost::InfluenceMilestone, cost::MoneyPer, cost::SourcedBy, cost::SourcingReport,
    cost::SpendAlignment, cost::UnitEconomics, cost::align_spend, cost::sourcing_report,
    cost::unit_economics, funnel::FunnelData, funnel::FunnelEvents, funnel::PathOptions,
};

/// Unit economics per channel: spend, leads, MQL, SQL, won, CPL, cost per SQL, CPA,
/// ROAS, ROI, and sourced versus influenced pipeline, in exact money.
///
/// Data: a synthetic company (default) or `--data DIR` (leads.csv, stage_events.csv;
/// spend.csv, touches.csv, conversions.csv and opportunity_history.csv when present).
/// Leads, MQLs and SQLs are always counted by the lead's own source.
#[derive(Parser, Debug)]
#[command(name = "unit_economics", allow_negative_numbers = true)]
struct Cli {
    #[command(flatten)]
    data: DataArgs,
    /// Credit won deals and revenue with an attribution model (e.g. first_touch,
    /// linear, w_shaped) [default: the lead's own source]
    #[arg(long, value_name = "NAME", value_parser = parsed::<RuleModel>)]
    model: Option<RuleModel>,
    #[command(flatten)]
    output: OutputArgs,
}

/// One row of the table: `row` gives spend, leads, MQL, SQL and the cost per lead and
/// SQL; `won_row` the won count, CPA, ROAS and ROI (the model's credit, when given).
fn print_row(name: String, row: &EconomicsRow, won_row: &EconomicsRow, pipe: (String, String)) {
    println!(
        "{:<20} {:>13} {:>8} {:>7} {:>6} {:>7} {:>9} {:>9} {:>10} {:>6} {:>6} {:>14} {:>14}",
        name,
        row.spend.amount().round().to_string(),
        units(row.units[0]),
        units(row.units[1]),
        units(row.units[2]),
        units(*won_row.units.last().unwrap_or(&Decimal::ZERO)),
        money(&row.cost_per[0]),
        money(&row.cost_per[2]),
        money(won_row.cost_per.last().unwrap_or(&row.cost_per[3])),
        ratio(won_row.roas.value),
        ratio(won_row.roi.value),
        pipe.0,
        pipe.1,
    );
}

fn money(m: &MoneyPer) -> String {
    m.value.map_or_else(
        || "n/a".to_string(),
        |v| v.round_to_minor_units().amount().round().to_string(),
    )
}

fn ratio(r: Option<Decimal>) -> String {
    r.map_or_else(|| "n/a".to_string(), |v| format!("{:.2}", v))
}

fn units(d: Decimal) -> String {
    if d.fract().is_zero() {
        d.trunc().to_string()
    } else {
        format!("{:.1}", d)
    }
}

/// The table: one row per lead source (and per channel the model credits), then the
/// total.
fn print_table(
    origin: &str,
    model: Option<&RuleModel>,
    source_table: &UnitEconomics,
    model_table: Option<&UnitEconomics>,
    sourced: &SourcingReport,
) {
    let basis = model
        .as_ref()
        .map_or_else(|| "lead source".to_string(), |m| m.to_string());
    println!("unit economics per channel — {origin}");
    println!(
        "won, CPA, ROAS and ROI credited by: {basis}; leads, MQL and SQL by lead source; pipeline sourced by lead source, influenced by any touch before opportunity creation\n"
    );
    println!(
        "{:<20} {:>13} {:>8} {:>7} {:>6} {:>7} {:>9} {:>9} {:>10} {:>6} {:>6} {:>14} {:>14}",
        "channel",
        "spend",
        "leads",
        "MQL",
        "SQL",
        "won",
        "CPL",
        "cost/SQL",
        "CPA",
        "ROAS",
        "ROI",
        "sourced",
        "influenced"
    );
    let find_model = |row: &EconomicsRow| -> Option<EconomicsRow> {
        model_table.as_ref().and_then(|t| {
            t.rows
                .iter()
                .find(|r| r.key.channel == row.key.channel)
                .cloned()
        })
    };
    let pipeline = |ch: &Option<revops::Channel>| {
        sourced
            .by_channel
            .iter()
            .find(|r| &r.channel == ch)
            .map_or_else(
                || ("0".to_string(), "0".to_string()),
                |r| {
                    (
                        r.sourced_amount.amount().round().to_string(),
                        r.influenced_amount.amount().round().to_string(),
                    )
                },
            )
    };
    for row in &source_table.rows {
        let name = row
            .key
            .channel
            .as_ref()
            .map_or_else(|| "(no source)".to_string(), |c| c.to_string());
        let won_row = find_model(row).unwrap_or_else(|| row.clone());
        print_row(name, row, &won_row, pipeline(&row.key.channel));
    }
    // Channels the model credits that source no lead (touch-only channels).
    if let Some(t) = &model_table {
        for row in t.rows.iter().filter(|r| {
            !source_table
                .rows
                .iter()
                .any(|s| s.key.channel == r.key.channel)
        }) {
            let name = row
                .key
                .channel
                .as_ref()
                .map_or_else(|| "(no touch)".to_string(), |c| c.to_string());
            let mut lead_row = row.clone();
            lead_row.units = vec![Decimal::ZERO; 4];
            lead_row.cost_per = source_table
                .total
                .cost_per
                .iter()
                .map(|c| MoneyPer {
                    value: None,
                    ..c.clone()
                })
                .collect();
            print_row(name, &lead_row, row, pipeline(&row.key.channel));
        }
    }
    let total_won = model_table
        .as_ref()
        .map_or_else(|| source_table.total.clone(), |t| t.total.clone());
    print_row(
        "total".into(),
        &source_table.total,
        &total_won,
        (sourced.total.amount().round().to_string(), "-".into()),
    );
}

fn main() -> ExitCode {
    common::main(run)
}

fn run(cli: Cli) -> Result<(), Error> {
    let model = cli.model;
    let loaded = load(
        &cli.data,
        100_000,
        &[Lead::FILE_NAME, StageEvent::FILE_NAME],
    )?;
    let (data, origin) = (loaded.data, loaded.origin);
    let opportunities = match loaded.opportunities {
        Some(o) => o,
        None => revops::report::opportunities_from_history(&data.opportunity_history, &data.leads),
    };
    let currency = data.report_input().inferred_currency();

    let funnel_data = FunnelData::new(Funnel::demand_waterfall(), &data.leads)?;
    let mut acc = FunnelEvents::default();
    acc.add_batch(&funnel_data, &data.stage_events)?;
    let paths = acc.paths(&funnel_data, PathOptions::default());
    let spend = align_spend(&data.spend, &SpendAlignment::monthly(currency))?;
    let by_source = Credits::from_lead_source(
        &funnel_data,
        &paths,
        &["mql", "sql", "won"],
        &data.conversions,
        currency,
        CostGrouping::default(),
    )?;
    let source_table = unit_economics(&spend, &by_source)?;
    let model_table = match &model {
        Some(m) => {
            let journeys = Journeys::from_records(
                &data.touches,
                &data.conversions,
                &data.stage_events,
                &JourneyOptions::default(),
            )?;
            let a = journeys.attribute_with_revenue(m)?;
            Some(unit_economics(
                &spend,
                &Credits::from_attribution(&a, "won", currency, false)?,
            )?)
        }
        None => None,
    };
    let sourced = sourcing_report(
        &opportunities,
        &data.leads,
        &data.touches,
        SourcedBy::LeadSource,
        InfluenceMilestone::Created,
        currency,
    )?;

    cli.output.emit(
        || {
            serde_json::json!({
                "origin": origin, "by_lead_source": source_table, "by_model": model_table,
                "pipeline": sourced,
            })
        },
        || {
            print_table(
                &origin,
                model.as_ref(),
                &source_table,
                model_table.as_ref(),
                &sourced,
            );
            Ok(())
        },
    )
}
