//! The demand waterfall by one set of rules: cohort or period conversion, with the
//! counts and interval behind every rate, optionally broken down by a lead attribute.
//!
//! ```sh
//! cargo run --release --all-features --example waterfall -- --by source --period quarter
//! cargo run --release --all-features --example waterfall -- --data DIR --mode period
//! cargo run --release --features parquet --example waterfall -- --data PARQUET_DIR --mode cohort
//! cargo run --release --all-features --example waterfall -- --olist ../shared/data/real
//! ```
//! Run with `--help` for every flag and the JSON schema.
#![allow(clippy::print_stdout)]

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use clap::{Parser, ValueEnum};
use common::{
    DataArgs, OutputArgs, bad, check_folder, existing_dir, existing_file, folder_origin, in_file,
    io_error, load, one_line, parsed,
};
use revops::csv::{CsvRecord, Options};
use revops::error::{ErrorKind, Source};
use revops::{
    Error, Funnel, Granularity, Lead, StageEvent, funnel::Breakdowns, funnel::CohortAnchor,
    funnel::CohortReport, funnel::CohortRow, funnel::CohortSpec, funnel::Dimension,
    funnel::FlowReport, funnel::FlowSpec, funnel::FunnelData, funnel::FunnelEvents,
    funnel::PathOptions, funnel::QualificationReport, funnel::QualificationSpec, funnel::StepRate,
    funnel::VelocitySpec, funnel::cohort_report, funnel::flow_report, funnel::qualification_report,
    funnel::velocity_report,
};

/// The JSON schema, shown after the flags in `--help`.
const JSON_HELP: &str = "\
JSON (--format json): {\"origin\": string, \"as_of\": RFC 3339, \"mode\": \"cohort\"|\"period\",
  \"report\": CohortReport | FlowReport, and in cohort mode \"velocity\": VelocityReport and
  \"qualification\": QualificationReport|null}
  CohortReport: {funnel, stages: [key], anchor, granularity, as_of, confidence, method,
    total: Table, dimension: string|null, breakdown: [Table], diagnostics}
    Table: {value: string|null (null = total, or the missing bucket in a breakdown),
      rows: [Row], all: Row}
    Row: {cohort: {start, granularity, fiscal_year_start_month}|null, entered,
      reached: [count|null], steps: [Rate], to_won: [Rate], window_elapsed: bool|null}
    Rate: {from, to, ratio: {numerator, denominator}, interval: {lower, upper}|null}
  FlowReport: {stages, granularity, total: FlowTable, dimension, breakdown: [FlowTable],
    diagnostics}; FlowTable: {value, rows: [FlowRow], all: FlowRow};
    FlowRow: {period, entries: [count], inferred: [count],
      step_flow: [{numerator, denominator}]} (a flow ratio may exceed 1)
  VelocityReport: {total: {value, steps: [{from, to, summary: {count, mean, min, max, p25,
    median, p75, p90 (seconds), accuracy}|null, histogram: {rule, bins: [{lower, upper,
    count}], accuracy}|null, excluded_inferred}]}, dimension, breakdown}
  QualificationReport: {acceptance: Rate, qualification: Rate, exits: [{stage, kind,
    furthest, reason, count}]}
  diagnostics: {events_read, unknown_subject, before_creation, after_as_of, repeated,
    backward, exit_after_exit, examples: [{why, index, subject}]}
";

/// The longest conversion window, in days (100 years).
const MAX_WINDOW_DAYS: i64 = 36_500;

/// Cohort or period conversion of a funnel, with k/n and intervals.
///
/// Data: a synthetic company (default), `--data DIR` (leads.csv and stage_events.csv,
/// or leads.parquet and stage_events.parquet with the parquet feature) or `--olist DIR` (the real Olist files: MQL -> Won by origin and by month of first
/// contact).
#[derive(Parser, Debug)]
#[command(name = "waterfall", after_help = JSON_HELP, allow_negative_numbers = true)]
struct Cli {
    #[command(flatten)]
    data: DataArgs,
    /// The real Olist files in DIR: MQL -> Won by origin and by month of first contact
    #[arg(long, value_name = "DIR", value_parser = existing_dir,
          conflicts_with_all = ["data", "leads", "seed", "quick"])]
    olist: Option<PathBuf>,
    /// Cohort conversion or period flow
    #[arg(long, value_enum, default_value_t = Mode::Cohort)]
    mode: Mode,
    /// Bucket size: day, week, month, quarter or year
    #[arg(long, value_name = "PERIOD", default_value = "month", value_parser = parsed::<Granularity>)]
    period: Granularity,
    /// Breakdown: source, campaign, segment, owner, account or a lead attribute
    #[arg(long, value_name = "DIMENSION", value_parser = parsed::<Dimension>)]
    by: Option<Dimension>,
    /// Cohort anchor stage (default: lead creation; cohort mode)
    #[arg(long, value_name = "STAGE", value_parser = clap::builder::NonEmptyStringValueParser::new())]
    anchor: Option<String>,
    /// Conversion window from the anchor, in days (1 to 36500; cohort mode) [default: none]
    #[arg(long, value_name = "DAYS", value_parser = window_days)]
    window: Option<i64>,
    /// Evaluate as of this date (YYYY-MM-DD) [default: the last event's date]
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = as_of_date)]
    as_of: Option<DateTime<Utc>>,
    /// Funnel definition as JSON [default: the demand waterfall]
    #[arg(long, value_name = "FILE", value_parser = existing_file)]
    funnel: Option<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Cohort conversion
    Cohort,
    /// Period flow
    Period,
}

fn window_days(s: &str) -> Result<i64, String> {
    let days: i64 = s
        .parse()
        .map_err(|_| "not a whole number of days".to_string())?;
    if (1..=MAX_WINDOW_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err(format!("must be 1 to {MAX_WINDOW_DAYS} days"))
    }
}

fn as_of_date(s: &str) -> Result<DateTime<Utc>, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| format!("expected YYYY-MM-DD ({e})"))?
        .and_hms_opt(23, 59, 59)
        .map(|t| t.and_utc())
        .ok_or_else(|| "out of range".to_string())
}

fn main() -> ExitCode {
    common::main(run)
}

/// The input: records (the Olist files or the synthetic company), or a data folder's
/// leads and stage events read straight into the funnel engine's columns.
enum Input {
    Records(Vec<Lead>, Vec<StageEvent>),
    Lean(Box<(FunnelData<'static>, FunnelEvents, Option<DateTime<Utc>>)>),
}

/// The funnel: `--funnel` or `default`.
fn funnel_or(cli: &Cli, default: Funnel) -> Result<Funnel, Error> {
    let Some(path) = &cli.funnel else {
        return Ok(default);
    };
    let text = std::fs::read_to_string(path).map_err(io_error("reading funnel", path))?;
    Funnel::from_json(&text).map_err(|e| bad("--funnel", path.display(), one_line(&e.to_string())))
}

/// Opens a canonical file of a data folder.
fn open_in(dir: &Path, name: &str) -> Result<File, Error> {
    let path = dir.join(name);
    File::open(&path).map_err(|e| {
        Error::from(ErrorKind::Io {
            context: Some(path.display().to_string()),
            source: Source::new(e),
        })
    })
}

/// A data folder's `leads.csv` and `stage_events.csv`, read straight into the
/// engine's input (no record per row), keeping the lead values of the breakdown
/// dimensions `keep` names only.
fn read_lean(dir: &Path, funnel: Funnel, keep: &Breakdowns) -> Result<Input, Error> {
    let required = [Lead::FILE_NAME, StageEvent::FILE_NAME];
    check_folder(dir, &required)?;
    let options = |name: &str| Options::new().with_source_name(name);
    let read = || {
        let (data, _) = FunnelData::read_leads_csv_keeping(
            funnel,
            open_in(dir, Lead::FILE_NAME)?,
            options(Lead::FILE_NAME),
            keep,
        )?;
        let mut acc = FunnelEvents::new();
        let read = acc.read_stage_events_csv(
            &data,
            open_in(dir, StageEvent::FILE_NAME)?,
            options(StageEvent::FILE_NAME),
        )?;
        Ok::<_, Error>(Input::Lean(Box::new((data, acc, read.latest))))
    };
    read().map_err(in_file("reading folder", dir))
}

/// Whether a data folder holds the Parquet tables (`leads.parquet`, ...) rather than
/// the CSV files (`leads.csv` is read when both are there).
fn is_parquet_folder(dir: &Path) -> bool {
    !dir.join(Lead::FILE_NAME).exists() && dir.join("leads.parquet").is_file()
}

/// A data folder's `leads.parquet` and `stage_events.parquet`, read straight into
/// the engine's input, keeping the lead values of the dimensions `keep` names.
#[cfg(feature = "parquet")]
fn read_lean_parquet(dir: &Path, funnel: Funnel, keep: &Breakdowns) -> Result<Input, Error> {
    use revops::arrow::ArrowRecord;
    let read = || {
        let (data, _) = FunnelData::read_leads_parquet(
            funnel,
            dir.join(Lead::PARQUET_FILE_NAME),
            Options::new(),
            keep,
        )?;
        let mut acc = FunnelEvents::new();
        let read = acc.read_stage_events_parquet(
            &data,
            dir.join(StageEvent::PARQUET_FILE_NAME),
            Options::new(),
        )?;
        Ok::<_, Error>(Input::Lean(Box::new((data, acc, read.latest))))
    };
    read().map_err(in_file("reading folder", dir))
}

#[cfg(not(feature = "parquet"))]
fn read_lean_parquet(dir: &Path, _: Funnel, _: &Breakdowns) -> Result<Input, Error> {
    Err(bad(
        "--data",
        dir.display(),
        "the folder holds Parquet files: build the example with --features parquet",
    ))
}

/// The origin line of a folder of Parquet tables.
fn parquet_origin(dir: &Path) -> String {
    let missing: Vec<String> = [
        "leads",
        "stage_events",
        "touches",
        "conversions",
        "spend",
        "opportunity_history",
        "forecasts",
    ]
    .iter()
    .map(|t| format!("{t}.parquet"))
    .filter(|name| !dir.join(name).is_file())
    .collect();
    let missing = if missing.is_empty() {
        "none".to_string()
    } else {
        missing.join(", ")
    };
    format!("folder {} (Parquet; missing: {missing})", dir.display())
}

/// The input, funnel and origin: the Olist files, a data folder or the synthetic
/// company; `--funnel` replaces the funnel.
fn input(cli: &Cli) -> Result<(Input, Funnel, String), Error> {
    if let Some(dir) = &cli.olist {
        let open = |name: &str| {
            let path = dir.join(name);
            File::open(&path).map_err(io_error("opening", &path))
        };
        let d = revops::real::read_olist(
            open("olist_marketing_qualified_leads_dataset.csv")?,
            open("olist_closed_deals_dataset.csv")?,
        )
        .map_err(in_file("reading the Olist files in", dir))?;
        for q in &d.quirks {
            eprintln_quirk(&q.record.to_string(), &q.message);
        }
        let funnel = funnel_or(cli, revops::real::olist_funnel())?;
        let origin = "Olist marketing funnel (real data)".into();
        return Ok((Input::Records(d.leads, d.stage_events), funnel, origin));
    }
    if let Some(dir) = &cli.data.data {
        let funnel = funnel_or(cli, Funnel::demand_waterfall())?;
        // Only the --by dimension's values are needed (none without --by).
        let keep = Breakdowns::only(cli.by.clone());
        if is_parquet_folder(dir) {
            let input = read_lean_parquet(dir, funnel.clone(), &keep)?;
            return Ok((input, funnel, parquet_origin(dir)));
        }
        let input = read_lean(dir, funnel.clone(), &keep)?;
        return Ok((input, funnel, folder_origin(dir)));
    }
    let l = load(
        &cli.data,
        100_000,
        &[Lead::FILE_NAME, StageEvent::FILE_NAME],
    )?;
    let funnel = funnel_or(cli, Funnel::demand_waterfall())?;
    Ok((
        Input::Records(l.data.leads, l.data.stage_events),
        funnel,
        l.origin,
    ))
}

/// The earliest creation time of the leads.
fn first_created(data: &FunnelData<'_>) -> Option<DateTime<Utc>> {
    match data.leads() {
        Some(leads) => leads.iter().map(|l| l.created_at).min(),
        None => (0..data.len()).filter_map(|i| data.created_at(i)).min(),
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    let cohort_mode = cli.mode == Mode::Cohort;
    if !cohort_mode {
        if let Some(a) = &cli.anchor {
            return Err(bad("--anchor", a, "applies to --mode cohort only"));
        }
        if let Some(w) = cli.window {
            return Err(bad("--window", w, "applies to --mode cohort only"));
        }
    }

    let (input, funnel, origin) = input(&cli)?;
    let records: Vec<Lead>;
    let (data, acc, latest) = match input {
        Input::Records(leads, events) => {
            records = leads;
            let data = FunnelData::new(funnel, &records)?;
            let mut acc = FunnelEvents::default();
            acc.add_batch(&data, &events)?;
            (data, acc, events.iter().map(|e| e.at).max())
        }
        Input::Lean(lean) => *lean,
    };
    let as_of: DateTime<Utc> = match cli.as_of {
        Some(d) => {
            let first = first_created(&data);
            if let Some(first) = first.filter(|&f| d < f) {
                return Err(bad(
                    "--as-of",
                    d.format("%Y-%m-%d"),
                    format!(
                        "before the first lead ({}): nothing to measure",
                        first.format("%Y-%m-%d")
                    ),
                ));
            }
            d
        }
        None => latest.unwrap_or_default(),
    };
    let granularity = cli.period;
    let dimension: Option<Dimension> = match &cli.by {
        Some(d) => {
            if !(0..data.len()).any(|i| data.value(i, d).is_some()) {
                return Err(bad(
                    "--by",
                    d.name(),
                    format!("no lead has a value for it{}", attributes_hint(&data)),
                ));
            }
            Some(d.clone())
        }
        None if cli.olist.is_some() => Some(Dimension::Source),
        None => None,
    };

    let paths = acc.paths(&data, PathOptions::default().with_as_of(as_of));
    // The events are in the paths now: free them before the reports run (on 1M leads
    // that is 50 MB of the peak).
    drop(acc);

    if cohort_mode {
        let mut spec = CohortSpec::default().with_granularity(granularity);
        if let Some(a) = &cli.anchor {
            spec = spec.with_anchor(CohortAnchor::Stage(a.clone()));
        } else if cli.olist.is_some() {
            spec = spec.with_anchor(CohortAnchor::Stage("mql".into()));
        }
        if let Some(days) = cli.window {
            spec = spec.with_window(TimeDelta::days(days));
        }
        if let Some(d) = dimension {
            spec = spec.with_breakdown(d);
        }
        let report = cohort_report(&data, &paths, &spec)?;
        let velocity = velocity_report(&data, &paths, &VelocitySpec::default())?;
        // Lead qualification needs the hand-off stages; other funnels skip it.
        let qualification = ["mql", "sal", "sql"]
            .iter()
            .all(|k| data.rank_of(k).is_some())
            .then(|| qualification_report(&data, &paths, &QualificationSpec::default()))
            .transpose()?;
        cli.output.emit(
            || {
                serde_json::json!({
                    "origin": origin, "as_of": as_of, "mode": "cohort", "report": report,
                    "velocity": velocity, "qualification": qualification,
                })
            },
            || {
                print_cohort(&origin, as_of, &report);
                println!("\nvelocity (days; cycles whose endpoint was back-filled are left out)");
                print!("{}", velocity.total);
                if let Some(q) = &qualification {
                    print_qualification(q);
                }
                Ok(())
            },
        )
    } else {
        let mut spec = FlowSpec::default().with_granularity(granularity);
        if let Some(d) = dimension {
            spec = spec.with_breakdown(d);
        }
        let report = flow_report(&data, &paths, &spec)?;
        cli.output.emit(
            || serde_json::json!({ "origin": origin, "as_of": as_of, "mode": "period", "report": report }),
            || {
                print_flow(&origin, as_of, &report);
                Ok(())
            },
        )
    }
}

/// ` (lead attributes: a, b)` when the first leads have attributes (for leads read
/// as columns, keeping only the --by dimension's values: the attribute columns).
fn attributes_hint(data: &FunnelData<'_>) -> String {
    let first = data.len().min(10_000);
    let columns = data.leads().is_none();
    let names: Vec<&str> = data
        .attribute_names()
        .into_iter()
        .filter(|n| {
            columns
                || (0..first).any(|i| {
                    data.value(i, &Dimension::Attribute((*n).to_string()))
                        .is_some()
                })
        })
        .collect();
    if names.is_empty() {
        String::new()
    } else {
        format!(" (lead attributes: {})", names.join(", "))
    }
}

#[allow(clippy::print_stderr)]
fn eprintln_quirk(record: &str, message: &str) {
    eprintln!("data quirk: {record}: {message}");
}

fn cell(r: &StepRate) -> String {
    let pct = r
        .ratio
        .percent()
        .map_or_else(|| "  n/a".to_string(), |p| format!("{p:5.1}%"));
    let ci = r.interval.map_or_else(String::new, |i| {
        format!(" [{:.1}-{:.1}]", 100.0 * i.lower, 100.0 * i.upper)
    });
    format!("{}/{} {pct}{ci}", r.ratio.numerator, r.ratio.denominator)
}

fn print_cohort(origin: &str, as_of: DateTime<Utc>, r: &CohortReport) {
    println!(
        "{} — cohort conversion by {} of {}",
        r.funnel, r.granularity, r.anchor
    );
    println!(
        "data: {origin}; as of {}; {:.0} % {:?} intervals",
        as_of.format("%Y-%m-%d"),
        100.0 * r.confidence,
        r.method
    );
    println!("{}", r.diagnostics);
    let Some(first) = r.total.rows.first().or(Some(&r.total.all)) else {
        return;
    };
    // The anchor → won column, unless it is the only step anyway.
    let overall = |row: &CohortRow| -> Option<StepRate> {
        (row.steps.len() > 1)
            .then(|| row.to_won.first().cloned())
            .flatten()
    };
    let headers: Vec<String> = first
        .steps
        .iter()
        .chain(overall(first).as_ref())
        .map(|s| format!("{} → {}", s.from, s.to))
        .collect();
    let width = 30;
    let mut tables = vec![("total".to_string(), &r.total)];
    for t in &r.breakdown {
        let name = format!(
            "{} = {}",
            r.dimension.as_deref().unwrap_or("?"),
            t.value.as_deref().unwrap_or("(missing)")
        );
        tables.push((name, t));
    }
    for (name, t) in tables {
        println!("\n[{name}]");
        print!("{:<11} {:>9}", "cohort", "entered");
        for h in &headers {
            print!("  {h:>width$}");
        }
        println!("  window");
        let show = |label: String, row: &CohortRow| {
            print!("{label:<11} {:>9}", row.entered);
            for s in row.steps.iter().chain(overall(row).as_ref()) {
                print!("  {:>width$}", cell(s));
            }
            let w = match row.window_elapsed {
                Some(true) => "complete",
                Some(false) => "open",
                None => "-",
            };
            println!("  {w}");
        };
        for row in &t.rows {
            show(row.cohort.map_or_else(String::new, |p| p.label()), row);
        }
        show("all".into(), &t.all);
    }
}

fn print_flow(origin: &str, as_of: DateTime<Utc>, r: &FlowReport) {
    println!(
        "period flow by {}: entries per stage, and entries(i+1) / entries(i) in the same period",
        r.granularity
    );
    println!(
        "data: {origin}; as of {} (a flow ratio compares different subjects and may exceed 100 %)",
        as_of.format("%Y-%m-%d")
    );
    let mut tables = vec![("total".to_string(), &r.total)];
    for t in &r.breakdown {
        tables.push((
            format!(
                "{} = {}",
                r.dimension.as_deref().unwrap_or("?"),
                t.value.as_deref().unwrap_or("(missing)")
            ),
            t,
        ));
    }
    for (name, t) in tables {
        println!("\n[{name}]");
        print!("{:<11}", "period");
        for s in &r.stages {
            print!(" {s:>12}");
        }
        for w in r.stages.windows(2) {
            print!(" {:>16}", format!("{}/{}", w[1], w[0]));
        }
        println!();
        for row in t.rows.iter().chain(std::iter::once(&t.all)) {
            print!(
                "{:<11}",
                row.period.map_or_else(|| "all".to_string(), |p| p.label())
            );
            for e in &row.entries {
                print!(" {e:>12}");
            }
            for f in &row.step_flow {
                print!(
                    " {:>16}",
                    f.percent()
                        .map_or_else(|| "n/a".to_string(), |p| format!("{p:.1}%"))
                );
            }
            println!();
        }
    }
}

fn print_qualification(q: &QualificationReport) {
    println!("\nlead qualification");
    println!(
        "  acceptance    {} → {}: {}",
        q.acceptance.from,
        q.acceptance.to,
        cell(&q.acceptance)
    );
    println!(
        "  qualification {} → {}: {}",
        q.qualification.from,
        q.qualification.to,
        cell(&q.qualification)
    );
    println!("  exits (stage, furthest stage reached, reason): count");
    for e in q.exits.iter().take(12) {
        println!(
            "    {:<13} {:<12} {:<24} {:>8}",
            e.stage,
            e.furthest.as_deref().unwrap_or("-"),
            e.reason.as_deref().unwrap_or("(no reason)"),
            e.count
        );
    }
}
