//! The revops demo: `cargo run --release --example demo`.
//!
//! Synthesises a realistic B2B company (or reads a folder of canonical CSV files, or
//! the real Olist / Maven exports), runs every engine through [`revops::Report`] and
//! prints one coherent report; `--out DIR` also writes `report.json` and a
//! self-contained `report.html`. See `--help`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;

use std::fs::File;
use std::path::PathBuf;
use std::time::Instant;

use common::{Flags, bad, load};
use revops::csv::Dataset;
use revops::{Currency, Error, Report, ReportInput, ReportOptions};

const HELP: &str = "\
demo: the whole revops report on one dataset

data (default: a synthetic company of --leads N leads, default 100000, --seed S):
  --data DIR       a folder of canonical CSV files (leads.csv, stage_events.csv,
                   touches.csv, conversions.csv, spend.csv, opportunity_history.csv,
                   forecasts.csv; missing files leave their sections out)
  --olist DIR      the real Olist marketing funnel files in DIR (MQL -> Won by origin)
  --maven FILE     the real Maven CRM pipeline file (pipeline waterfall, win rate,
                   cycle, slippage); the two real datasets are different companies,
                   so give one of --olist or --maven
options:
  --out DIR        also write DIR/report.json and DIR/report.html
  --quick          a small synthetic company (5,000 leads; CI)
  --help           this text

report.json: the serde form of revops::Report (see its documentation):
  {as_of, currency, inputs: {leads, stage_events, ...},
   funnel: {cohort: CohortReport, velocity: VelocityReport,
            qualification: QualificationReport|null}|null,
   attribution: {journeys, journey_count, rules: [Attribution], markov: MarkovReport,
                 shapley: ShapleyReport}|null,
   economics: {by_lead_source: UnitEconomics|null, sourcing: SourcingReport|null}|null,
   pipeline: {quarter, waterfall: Waterfall, win_rate, sales_cycle, slippage}|null,
   forecast: {errors: ForecastReport|null, calibration: CalibrationReport|null,
              quarter}|null,
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

fn main() -> Result<(), Error> {
    let flags = Flags::parse(
        &["--data", "--olist", "--maven", "--out", "--leads", "--seed"],
        &["--quick", "--help"],
    )?;
    if flags.has("--help") {
        print!("{HELP}");
        return Ok(());
    }
    let started = Instant::now();
    let mut options = ReportOptions::default();
    let real = flags.get("--olist").is_some() || flags.get("--maven").is_some();
    let requested = flags.number("--leads", 100_000)?;
    let mut progress = Progress {
        on: !real
            && flags.get("--data").is_none()
            && !flags.has("--quick")
            && requested.saturating_mul(8) > 1_000_000,
        started,
    };
    progress.say(&format!("synthesising a company of {requested} leads"));

    if let Some(dir) = flags.get("--data") {
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
            "reading {:.0} MB of CSV from {dir}",
            bytes as f64 / 1e6
        ));
    }
    let (data, origin) = if real {
        if flags.get("--data").is_some() {
            return Err(bad("--data", "", "use either --data or --olist/--maven"));
        }
        if flags.get("--olist").is_some() && flags.get("--maven").is_some() {
            return Err(bad(
                "--maven",
                "",
                "Olist and Maven are different companies: give one of --olist or --maven",
            ));
        }
        read_real(&flags, &mut options)?
    } else {
        let l = load(&flags, 100_000)?;
        (l.data, l.origin)
    };
    let input = ReportInput {
        leads: &data.leads,
        stage_events: &data.stage_events,
        touches: &data.touches,
        conversions: &data.conversions,
        spend: &data.spend,
        opportunity_history: &data.opportunity_history,
        forecasts: &data.forecasts,
    };
    progress.on = progress.on || input.rows() > 1_000_000;
    progress.say(&format!(
        "{} input rows loaded; building the report",
        input.rows()
    ));
    let report = Report::build_with_progress(&input, &options, &mut |section| {
        progress.say(section);
    })?;
    progress.say("report built");

    println!("data: {origin}");
    print!("{report}");
    if let Some(dir) = flags.get("--out") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("report.json"), report.to_json()?)?;
        std::fs::write(dir.join("report.html"), report.to_html())?;
        println!(
            "\nwrote {} and {}",
            dir.join("report.json").display(),
            dir.join("report.html").display()
        );
    }
    progress.say(&format!("done in {:.2} s", started.elapsed().as_secs_f64()));
    Ok(())
}

/// Reads the real Olist and/or Maven files into a dataset and adapts the options.
fn read_real(flags: &Flags, options: &mut ReportOptions) -> Result<(Dataset, String), Error> {
    let open = |p: PathBuf| {
        File::open(&p).map_err(|e| Error::Io {
            message: format!("{}: {e}", p.display()),
        })
    };
    let mut data = Dataset::default();
    let mut origin = Vec::new();
    if let Some(dir) = flags.get("--olist") {
        let dir = PathBuf::from(dir);
        let d = revops::real::read_olist(
            open(dir.join("olist_marketing_qualified_leads_dataset.csv"))?,
            open(dir.join("olist_closed_deals_dataset.csv"))?,
        )?;
        println!("Olist data quirks (kept and reported): {}", d.quirks.len());
        for q in &d.quirks {
            println!("  {}: {}", q.record, q.message);
        }
        data.leads = d.leads;
        data.stage_events = d.stage_events;
        *options = std::mem::take(options)
            .with_funnel(revops::real::olist_funnel())
            .with_cohort_anchor(revops::CohortAnchor::Stage("mql".into()));
        origin.push("Olist marketing funnel (real data)");
    }
    if let Some(file) = flags.get("--maven") {
        let d = revops::real::read_maven(open(PathBuf::from(file))?, Currency::USD)?;
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
