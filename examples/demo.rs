//! The revops demo: `cargo run --release --example demo`.
//!
//! Synthesises a realistic B2B company (or reads a folder of canonical CSV files, or
//! the real Olist / Maven exports), runs every engine through [`revops::report::Report`] and
//! prints one coherent report; `--out DIR` also writes `report.json` and a
//! self-contained `report.html`. See `--help`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use common::{
    DataArgs, check_folder, existing_dir, existing_file, folder_origin, in_file, io_error, load,
    out_dir,
};
use revops::csv::{Dataset, DenseDataset, Options};
use revops::{Currency, Error, report::Report, report::ReportOptions};

/// The report.json schema, shown after the flags in `--help`.
const JSON_HELP: &str = "\
report.json: the serde form of revops::report::Report (see its documentation):
  {as_of, currency, inputs: {leads, stage_events, ...},
   funnel: {cohort: CohortReport, velocity: VelocityReport,
            qualification: QualificationReport|null}|null,
   attribution: {journeys, journey_count, rules: [Attribution], markov: MarkovReport|null,
                 shapley: ShapleyReport|null}|null,
   economics: {by_lead_source: UnitEconomics|null, sourcing: SourcingReport|null}|null,
   pipeline: {quarter, waterfall: Waterfall, win_rate, sales_cycle, slippage,
              by_owner: PipelineBreakdown|null}|null,
   forecast: {errors: ForecastReport|null, calibration: CalibrationReport|null,
              quarter, projection_backtest: BacktestTable|null}|null,
   plan: {funnel: ReverseFunnel, plan: ReversePlan, target_basis,
          projection: Projection|null}|null,
   omitted: [{section, reason}]}
  Money is {\"amount\": \"decimal string\", \"currency\": \"USD\"}; times are RFC 3339;
  rates are {\"numerator\", \"denominator\"} with intervals {lower, upper}|null.
";

/// Progress on stderr, only for inputs over a million rows.
struct Progress {
    on: bool,
    started: Instant,
}

impl Progress {
    fn say(&self, what: &str) {
        if self.on {
            eprintln!("[{:>6.2} s] {what}", self.started.elapsed().as_secs_f64());
        }
    }
}

/// The whole revops report on one dataset.
///
/// Data: a synthetic company of --leads N leads (default 100000, --seed S), a folder
/// of canonical CSV files (--data DIR: leads.csv, stage_events.csv, touches.csv,
/// conversions.csv, spend.csv, opportunity_history.csv, forecasts.csv; missing files
/// leave their sections out), or one of the real datasets (--olist DIR or --maven
/// FILE: they are different companies, so give one).
#[derive(Parser, Debug)]
#[command(name = "demo", after_help = JSON_HELP, allow_negative_numbers = true)]
struct Cli {
    #[command(flatten)]
    data: DataArgs,
    /// The real Olist marketing funnel files in DIR (MQL -> Won by origin)
    #[arg(long, value_name = "DIR", value_parser = existing_dir,
          conflicts_with_all = ["data", "leads", "seed", "quick", "maven"])]
    olist: Option<PathBuf>,
    /// The real Maven CRM pipeline file (pipeline waterfall, win rate, cycle, slippage)
    #[arg(long, value_name = "FILE", value_parser = existing_file,
          conflicts_with_all = ["data", "leads", "seed", "quick"])]
    maven: Option<PathBuf>,
    /// Also write DIR/report.json and DIR/report.html (DIR is created if needed)
    #[arg(long, value_name = "DIR", value_parser = out_dir)]
    out: Option<PathBuf>,
}

fn main() -> ExitCode {
    common::main(run)
}

fn run(cli: Cli) -> Result<(), Error> {
    let started = Instant::now();
    let mut options = ReportOptions::default();
    let real = cli.olist.is_some() || cli.maven.is_some();
    let requested = cli.data.leads_or(100_000);
    let mut progress = Progress {
        on: !real && cli.data.data.is_none() && requested.saturating_mul(8) > 1_000_000,
        started,
    };
    progress.say(&format!("synthesising a company of {requested} leads"));

    if let Some(dir) = &cli.data.data {
        // About 60 bytes per CSV row: show progress for folders over a million rows.
        let bytes: u64 = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok()?.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0);
        progress.on = bytes > 60_000_000;
        progress.say(&format!(
            "reading {:.0} MB of CSV from {}",
            bytes as f64 / 1e6,
            dir.display()
        ));
    }
    let (report, origin) = if let Some(dir) = &cli.data.data {
        // A folder goes straight into the engines' dense tables: no record per
        // lead, stage event or touch.
        check_folder(dir, &[])?;
        let data = DenseDataset::read_dir(dir, options.funnel.clone(), Options::new())
            .map_err(in_file("reading folder", dir))?;
        let rows: u64 = data.reports.iter().map(|(_, r)| r.records).sum();
        progress.say(&format!("{rows} input rows loaded; building the report"));
        let report =
            Report::build_dense_with_progress(&data.report_input(), &options, &mut |section| {
                progress.say(section);
            })?;
        (report, folder_origin(dir))
    } else {
        let (data, origin) = if real {
            read_real(&cli, &mut options)?
        } else {
            let l = load(&cli.data, 100_000, &[])?;
            (l.data, l.origin)
        };
        let input = data.report_input();
        progress.on = progress.on || input.rows() > 1_000_000;
        progress.say(&format!(
            "{} input rows loaded; building the report",
            input.rows()
        ));
        let report = Report::build_with_progress(&input, &options, &mut |section| {
            progress.say(section);
        })?;
        (report, origin)
    };
    progress.say("report built");

    println!("data: {origin}");
    print!("{report}");
    if let Some(dir) = &cli.out {
        write_report(dir, &report)?;
        println!(
            "\nwrote {} and {}",
            dir.join("report.json").display(),
            dir.join("report.html").display()
        );
    }
    progress.say(&format!("done in {:.2} s", started.elapsed().as_secs_f64()));
    Ok(())
}

/// Writes `report.json` and `report.html` into `dir`, creating it if needed.
fn write_report(dir: &Path, report: &Report) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(io_error("creating folder", dir))?;
    let json = dir.join("report.json");
    std::fs::write(&json, report.to_json()?).map_err(io_error("writing", &json))?;
    let html = dir.join("report.html");
    std::fs::write(&html, report.to_html()).map_err(io_error("writing", &html))?;
    Ok(())
}

/// Reads the real Olist or Maven files into a dataset and adapts the options.
fn read_real(cli: &Cli, options: &mut ReportOptions) -> Result<(Dataset, String), Error> {
    let open = |p: PathBuf| File::open(&p).map_err(io_error("opening", &p));
    let mut data = Dataset::default();
    let mut origin = Vec::new();
    if let Some(dir) = &cli.olist {
        let d = revops::real::read_olist(
            open(dir.join("olist_marketing_qualified_leads_dataset.csv"))?,
            open(dir.join("olist_closed_deals_dataset.csv"))?,
        )
        .map_err(in_file("reading the Olist files in", dir))?;
        println!("Olist data quirks (kept and reported): {}", d.quirks.len());
        for q in &d.quirks {
            println!("  {}: {}", q.record, q.message);
        }
        data.leads = d.leads;
        data.stage_events = d.stage_events;
        *options = std::mem::take(options)
            .with_funnel(revops::real::olist_funnel())
            .with_cohort_anchor(revops::funnel::CohortAnchor::Stage("mql".into()));
        origin.push("Olist marketing funnel (real data)");
    }
    if let Some(file) = &cli.maven {
        let d = revops::real::read_maven(open(file.clone())?, Currency::USD)
            .map_err(in_file("reading", file))?;
        println!(
            "Maven data: {} opportunities; {} rows skipped and {} quirks (listed in the adapter's report)",
            d.opportunities.len(),
            d.skipped,
            d.quirks.len()
        );
        data.opportunity_history = d.history;
        *options = std::mem::take(options)
            .with_opportunity_funnel(revops::real::maven_funnel())
            .with_currency(Currency::USD);
        origin.push("Maven CRM pipeline (real data)");
    }
    Ok((data, origin.join(" + ")))
}
