//! Pipeline accuracy: the pipeline waterfall of a quarter, win rate, cycle, coverage,
//! slippage, forecast errors and the calibration of win probabilities.
//!
//! ```sh
//! cargo run --release --all-features --example forecast_accuracy
//! cargo run --release --all-features --example forecast_accuracy -- --data DIR --quota 2500000
//! cargo run --release --all-features --example forecast_accuracy -- --maven ../shared/data/real/maven_crm_sales_pipeline.csv
//! ```
//! Flags: `--data DIR` (reads `opportunity_history.csv` and `forecasts.csv`; without it
//! a synthetic company), `--leads N`, `--seed S`, `--quota AMOUNT` (coverage of the
//! quarter after the reported one), `--maven FILE`, `--by DIMENSION` (the per-rep
//! table is per `owner` by default; or per `segment`, `source`, `account` or
//! `attribute:NAME`: won / closed with its interval, bookings, cycle, pipeline
//! created, and the total), `--format table|json`, `--quick`. Both data paths end with
//! the projection backtest table (10 monthly origins × 30 / 60 / 90 days).
//!
//! ```sh
//! cargo run --release --all-features --example forecast_accuracy -- --maven ../shared/data/real/maven_crm_sales_pipeline.csv --by owner --format json
//! ```
#![allow(clippy::print_stdout)]

mod common;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use common::{
    DataArgs, DaysSummary, OutputArgs, bad, existing_file, in_file, io_error, load_tables,
};
use revops::breakdown::{Dimension, Keys};
use revops::csv::{CsvRecord, Table};
use revops::report::{BacktestSpec, BacktestTable, PipelineBreakdown, PipelineBreakdownSpec};
use revops::{
    Calendar, DateRange, Decimal, Error, Funnel, Granularity, Money, OpportunityChange, Period,
    Window, chrono::DateTime, chrono::Utc, forecast::BinStrategy, forecast::Calibration,
    forecast::CalibrationOptions, forecast::CalibrationReport, forecast::ErrorOptions,
    forecast::ForecastErrors, forecast::ForecastReport, pipeline::Coverage, pipeline::CycleOutcome,
    pipeline::PipelineHistory, pipeline::PipelineScope, pipeline::SalesCycle,
    pipeline::SalesCycleSpec, pipeline::Slippage, pipeline::Waterfall, pipeline::WaterfallSpec,
    pipeline::WinRate, pipeline::WinRateSpec,
};

/// Pipeline accuracy: the pipeline waterfall of a quarter, win rate, cycle, coverage,
/// slippage, forecast errors and the calibration of win probabilities.
///
/// Data: a synthetic company (default), `--data DIR` (opportunity_history.csv and
/// forecasts.csv) or `--maven FILE` (the real Maven CRM pipeline). In JSON, cycle
/// lengths are in days.
#[derive(Parser, Debug)]
#[command(name = "forecast_accuracy", allow_negative_numbers = true)]
struct Cli {
    #[command(flatten)]
    data: DataArgs,
    /// The real Maven CRM pipeline file (win rate and cycle of won and lost deals)
    #[arg(long, value_name = "FILE", value_parser = existing_file,
          conflicts_with_all = ["data", "leads", "seed", "quick", "quota"])]
    maven: Option<PathBuf>,
    /// Break the win rate, bookings, cycle and pipeline created down by `owner`,
    /// `segment`, `source` (the lead's), `account` or `attribute:NAME`
    #[arg(long, value_name = "DIMENSION", value_parser = common::parsed::<Dimension>,
          default_value = "owner")]
    by: Dimension,
    /// Quota of the quarter after the reported one, in the data's currency (coverage)
    #[arg(long, value_name = "AMOUNT", value_parser = common::positive_amount)]
    quota: Option<Decimal>,
    #[command(flatten)]
    output: OutputArgs,
}

fn main() -> ExitCode {
    common::main(run)
}

fn run(cli: Cli) -> Result<(), Error> {
    if let Some(path) = &cli.maven {
        return maven(path, &cli.by, cli.output);
    }
    // Spend and conversions give the currency; leads, stage events and touches are
    // not read.
    let loaded = load_tables(
        &cli.data,
        100_000,
        &[OpportunityChange::FILE_NAME],
        &[
            Table::Leads,
            Table::Conversions,
            Table::Spend,
            Table::OpportunityHistory,
            Table::Forecasts,
        ],
    )?;
    let currency = loaded.data.report_input().inferred_currency();
    let history = PipelineHistory::new(
        Funnel::salesforce_opportunity(),
        currency,
        &loaded.data.opportunity_history,
    )?;
    let Some((_, last)) = history.span() else {
        println!("no opportunity history in {}", loaded.origin);
        return Ok(());
    };
    // The last complete quarter before the last change, and the one after it.
    let cal = Calendar::default();
    let current = cal.period_of(last, Granularity::Quarter);
    let quarter = current.prev();
    let window = Window::for_period(&quarter, &cal);
    let (q_start, q_end) = (window.start(), window.end());
    let as_of = q_end;

    let rolling = history.waterfall(&WaterfallSpec::new(q_start, q_end))?;
    let in_quarter = history.waterfall(
        &WaterfallSpec::new(q_start, q_end).with_scope(PipelineScope::period(&quarter)),
    )?;
    let win_rate = history.win_rate(&WinRateSpec::new(as_of))?;
    let cycle = history.sales_cycle(&SalesCycleSpec::new(as_of));
    let slippage = history.slippage(&window)?;
    let next = DateRange::new(current.start(), current.last_day())?;
    let coverage = match cli.quota {
        Some(q) => Some(history.coverage(as_of, next, Money::new(q, currency))?),
        None => None,
    };

    let keys = folder_keys(&history, &cli.by, &loaded)?;
    let by = PipelineBreakdown::build(
        &history,
        &keys,
        &PipelineBreakdownSpec::new(as_of).with_window(window),
    )?;

    // Forecast errors per series.
    let errors =
        ForecastErrors::from_points(&loaded.data.forecasts, ErrorOptions::default())?.finish()?;

    let (uniform, quantile) = calibrations(&history, &window)?;

    // Projection backtest: segments from the deals' leads (when leads are given).
    let segments = revops::plan::DealSegments::from_leads(
        &history,
        &loaded.data.opportunity_history,
        &loaded.data.leads,
    );
    let segments = Some(&segments).filter(|s| !s.names().is_empty());
    let backtest = BacktestTable::build(&history, last, segments, &BacktestSpec::default())?;

    cli.output.emit(
        || {
            serde_json::json!({
                "projection_backtest": backtest,
                "origin": loaded.origin, "quarter": quarter.label(),
                "waterfall_rolling": rolling, "waterfall_quarter": in_quarter,
                "win_rate": win_rate, "cycle_days": cycle.summary().as_ref().map(DaysSummary::from),
                "slippage": {
                    "deals": slippage.deals, "pushes": slippage.pushes,
                    "pushed_deals": slippage.pushed_deals,
                    "pushed_twice_or_more": slippage.pushed_twice_or_more,
                    "slipped": slippage.slipped,
                },
                "coverage": coverage, "forecast_errors": errors,
                "calibration_uniform": uniform, "calibration_quantile": quantile,
                "by": ByTable::from(&by),
            })
        },
        || {
            println!(
                "pipeline accuracy — {}; quarter {}",
                loaded.origin,
                quarter.label()
            );
            print_waterfalls(&rolling, &in_quarter)?;
            print_headline(
                as_of,
                &win_rate,
                &cycle,
                &slippage,
                coverage.as_ref(),
                &current,
            );
            print!("\n{by}");
            print_errors(&errors);
            print_calibration(&quarter, &uniform, &quantile);
            print_backtest(backtest.as_ref());
            Ok(())
        },
    )
}

/// Calibration: the probability each deal open at the quarter's start had then,
/// against how it ended by the quarter's end (still open: censored, not a loss). Two
/// binnings of the same predictions, 10 uniform bins and 5 quantile bins: one
/// accumulator each (options are given at creation, as the accumulator contract asks).
fn calibrations(
    history: &PipelineHistory,
    window: &Window,
) -> Result<(CalibrationReport, CalibrationReport), Error> {
    let predictions = history.predictions(window);
    let uniform =
        Calibration::from_predictions(&predictions, CalibrationOptions::default().with_bins(10))?
            .finish()?;
    let quantile = Calibration::from_predictions(
        &predictions,
        CalibrationOptions::default()
            .with_strategy(BinStrategy::Quantile)
            .with_bins(5),
    )?
    .finish()?;
    Ok((uniform, quantile))
}

/// Win rate, sales cycle, slippage and coverage: one line each.
fn print_headline(
    as_of: DateTime<Utc>,
    win_rate: &WinRate,
    cycle: &SalesCycle,
    slippage: &Slippage,
    coverage: Option<&Coverage>,
    current: &Period,
) {
    println!(
        "\nwin rate (won / closed, as of {}): {}{}",
        as_of.format("%Y-%m-%d"),
        win_rate.ratio,
        win_rate.interval.map_or_else(String::new, |i| format!(
            " [{:.1}-{:.1} %]",
            100.0 * i.lower,
            100.0 * i.upper
        ))
    );
    if let Some(s) = cycle.summary() {
        println!(
            "sales cycle of won deals: {} deals, mean {:.1} d, median {:.1} d, p90 {:.1} d",
            s.count,
            s.mean_days(),
            s.median_days(),
            s.p90_days()
        );
    }
    println!(
        "slippage in the quarter: {} deals at risk, {} pushes ({} per deal), {} deals pushed, {} pushed twice or more, {} slipped",
        slippage.deals,
        slippage.pushes,
        slippage.pushes_per_deal,
        slippage.pushed_deals,
        slippage.pushed_twice_or_more,
        slippage.slipped.round_to_minor_units()
    );
    match coverage {
        Some(c) => println!(
            "coverage of {} .. {}: pipeline {} / remaining quota {} = {}",
            c.period.first(),
            c.period.last(),
            c.pipeline.amount.round_to_minor_units(),
            c.remaining.round_to_minor_units(),
            c.ratio
                .map_or_else(|| "n/a (quota met)".to_string(), |r| format!("{:.2}x", r))
        ),
        None => println!(
            "coverage: pass --quota AMOUNT for the quarter starting {}",
            current.start()
        ),
    }
}

/// The rolling and in-quarter pipeline waterfalls, with their identity check.
fn print_waterfalls(rolling: &Waterfall, in_quarter: &Waterfall) -> Result<(), Error> {
    for (name, w) in [
        ("all open deals (rolling)", &rolling),
        ("deals closing in the quarter", &in_quarter),
    ] {
        println!("\npipeline waterfall, {name}");
        let rows = [
            ("start", &w.start, ""),
            ("created", &w.created, "+"),
            ("pulled in", &w.pulled_in, "+"),
            ("increased", &w.increased, "+"),
            ("decreased", &w.decreased, "-"),
            ("pushed out", &w.pushed_out, "-"),
            ("lost", &w.lost, "-"),
            ("won", &w.won, "-"),
            ("end", &w.end, "="),
        ];
        for (label, f, sign) in rows {
            println!(
                "  {sign:1} {label:<11} {:>18} {:>8} deals",
                f.amount.round_to_minor_units().to_string(),
                f.deals
            );
        }
        println!(
            "    identity check: computed end {}",
            w.computed_end()?.round_to_minor_units()
        );
    }
    Ok(())
}

/// Forecast error metrics per series and pooled.
fn print_errors(errors: &ForecastReport) {
    println!("\nforecast errors (bias and CFE: forecast − actual; MAPE skips zero actuals)");
    println!(
        "{:<18} {:>5} {:>14} {:>8} {:>8} {:>8} {:>14} {:>9} {:>6}",
        "series", "n", "MAE", "MAPE", "WAPE", "sMAPE", "bias", "accuracy", "band"
    );
    let pct =
        |x: Option<f64>| x.map_or_else(|| "n/a".to_string(), |v| format!("{:.1}%", 100.0 * v));
    for (name, m) in errors
        .series
        .iter()
        .map(|(k, v)| (k.as_str(), v))
        .chain(std::iter::once(("(pooled)", &errors.pooled)))
    {
        println!(
            "{name:<18} {:>5} {:>14} {:>8} {:>8} {:>8} {:>14} {:>9} {:>6}",
            m.n,
            m.mae.map_or_else(|| "n/a".into(), |v| format!("{v:.1}")),
            pct(m.mape),
            pct(m.wape),
            pct(m.smape),
            m.bias.map_or_else(|| "n/a".into(), |v| format!("{v:.1}")),
            pct(m.accuracy),
            m.band
                .map_or_else(|| "-".into(), |b| format!("{b:?}").to_lowercase()),
        );
    }
}

/// Calibration of the stage probabilities at the quarter's start.
fn print_calibration(quarter: &Period, uniform: &CalibrationReport, quantile: &CalibrationReport) {
    let s = &uniform.scores;
    println!(
        "\ncalibration of stage probabilities at {} (outcome by {}): {} won, {} lost, {} still open (censored)",
        quarter.start(),
        quarter.end(),
        s.won,
        s.lost,
        s.open
    );
    println!(
        "  Brier {}  log loss {}  ROC AUC {}  ECE {:.3}  MCE {:.3}",
        s.brier.map_or_else(|| "n/a".into(), |v| format!("{v:.4}")),
        s.log_loss
            .map_or_else(|| "n/a".into(), |v| format!("{v:.4}")),
        uniform
            .roc_auc
            .map_or_else(|| "n/a".into(), |v| format!("{v:.3}")),
        uniform.reliability.ece.unwrap_or(f64::NAN),
        uniform.reliability.mce.unwrap_or(f64::NAN),
    );
    println!(
        "  {:<13} {:>7} {:>10} {:>22}",
        "bin", "count", "predicted", "observed (k/n, 95 %)"
    );
    for b in &uniform.reliability.bins {
        println!(
            "  [{:.2}, {:.2}] {:>7} {:>10.3} {:>12} [{:.2}-{:.2}]",
            b.lower,
            b.upper,
            b.count,
            b.mean_predicted,
            b.observed.to_string(),
            b.interval.lower,
            b.interval.upper
        );
    }
    println!(
        "  quantile bins (5): ECE {:.3}",
        quantile.reliability.ece.unwrap_or(f64::NAN)
    );
}

fn maven(path: &Path, by: &Dimension, output: OutputArgs) -> Result<(), Error> {
    let file = std::fs::File::open(path).map_err(io_error("opening", path))?;
    let d =
        revops::real::read_maven(file, revops::Currency::USD).map_err(in_file("reading", path))?;
    let h = PipelineHistory::new(
        revops::real::maven_funnel(),
        revops::Currency::USD,
        &d.history,
    )?;
    let (_, last) = h
        .span()
        .ok_or_else(|| bad("--maven", path.display(), "no usable rows"))?;
    let as_of = last;
    let win = h.win_rate(&WinRateSpec::new(as_of))?;
    let won = h.sales_cycle(&SalesCycleSpec::new(as_of));
    let mut lost_spec = SalesCycleSpec::new(as_of);
    lost_spec.outcome = CycleOutcome::Lost;
    let lost = h.sales_cycle(&lost_spec);
    let keys = h.keys(by, &d.opportunities, &[])?;
    let by = PipelineBreakdown::build(&h, &keys, &PipelineBreakdownSpec::new(as_of))?;
    let backtest = BacktestTable::build(&h, last, None, &BacktestSpec::default())?;
    output.emit(
        || {
            let days = |c: &revops::pipeline::SalesCycle| c.summary().as_ref().map(DaysSummary::from);
            serde_json::json!({
                "win_rate": win, "cycle_won_days": days(&won), "cycle_lost_days": days(&lost),
                "skipped_rows": d.skipped, "projection_backtest": backtest,
                "by": ByTable::from(&by),
            })
        },
        || {
            println!(
                "Maven CRM sales pipeline (real data): {} opportunities, {} rows skipped (no date)",
                d.opportunities.len(),
                d.skipped
            );
            println!("win rate (won / closed): {}", win.ratio);
            for (name, c) in [("won", &won), ("lost", &lost)] {
                if let Some(s) = c.summary() {
                    println!(
                        "cycle of {name} deals: {} deals, mean {:.1} d, median {:.1} d, p25 {:.1} d, p75 {:.1} d",
                        s.count,
                        s.mean_days(),
                        s.median_days(),
                        s.p25_days(),
                        s.p75_days()
                    );
                }
            }
            print!("\n{by}");
            print_backtest(backtest.as_ref());
            Ok(())
        },
    )
}

// ----- the per-rep table (`--by`) -----

/// One row of the per-bucket table (and the total) in the JSON output: the library's
/// [`revops::report::PipelineBreakdownRow`] with the cycle in days.
#[derive(serde::Serialize)]
struct ByRow {
    /// The bucket (`None`: the total, or the deals without a value).
    value: Option<String>,
    won: u64,
    lost: u64,
    closed: u64,
    /// won / closed, with its Wilson 95 % interval.
    win_rate: Option<f64>,
    interval: Option<(f64, f64)>,
    bookings: Money,
    booked_deals: u64,
    /// Median days from creation to win of the won deals.
    cycle_won_median_days: Option<f64>,
    /// Deals and amount created into the pipeline in the interval.
    pipeline_created: Option<revops::pipeline::Flow>,
}

impl From<&revops::report::PipelineBreakdownRow> for ByRow {
    fn from(r: &revops::report::PipelineBreakdownRow) -> ByRow {
        let w = &r.win_rate;
        ByRow {
            value: r.value.clone(),
            won: w.won,
            lost: w.lost,
            closed: w.ratio.denominator,
            win_rate: w.ratio.value(),
            interval: w.interval.map(|i| (i.lower, i.upper)),
            bookings: r.bookings.amount.round_to_minor_units(),
            booked_deals: r.bookings.deals,
            cycle_won_median_days: r.sales_cycle.map(|s| s.median_days()),
            pipeline_created: r.pipeline_created.clone(),
        }
    }
}

/// The per-bucket table in the JSON output: every bucket and the total.
#[derive(serde::Serialize)]
struct ByTable {
    dimension: String,
    /// Deals without an opportunity record (in the missing bucket).
    unmatched: u64,
    total: ByRow,
    cells: Vec<ByRow>,
}

impl From<&PipelineBreakdown> for ByTable {
    fn from(b: &PipelineBreakdown) -> ByTable {
        ByTable {
            dimension: b.dimension.name(),
            unmatched: b.unmatched,
            total: ByRow::from(&b.total),
            cells: b.rows.iter().map(ByRow::from).collect(),
        }
    }
}

/// The keys of a folder's or the synthetic company's deals: from the opportunity
/// records when there are some, else from each deal's lead (`lead_id` of its rows).
fn folder_keys(
    history: &PipelineHistory,
    dim: &Dimension,
    loaded: &common::Loaded,
) -> Result<Keys, Error> {
    if let Some(opps) = &loaded.opportunities {
        return history.keys(dim, opps, &loaded.data.leads);
    }
    // One stub record per deal carrying its lead link (the history has no other
    // opportunity fields).
    let mut seen = std::collections::HashSet::new();
    let stubs: Vec<revops::Opportunity> = loaded
        .data
        .opportunity_history
        .iter()
        .filter(|c| seen.insert(c.opportunity.as_str()))
        .map(|c| {
            let mut o = revops::Opportunity::new(
                c.opportunity.clone(),
                c.changed_at,
                c.stage.clone(),
                c.amount,
            );
            o.lead.clone_from(&c.lead);
            o
        })
        .collect();
    history.keys(dim, &stubs, &loaded.data.leads)
}

// ----- projection backtest (issue 18 item 2) -----

/// The rolling backtest table ([`BacktestTable`]'s text form), or why there is none.
fn print_backtest(b: Option<&BacktestTable>) {
    match b {
        Some(b) => print!("\n{b}"),
        None => println!("\nprojection backtest: the history is too short for monthly origins"),
    }
}
