//! Writes a synthetic B2B company as the canonical CSV files.
//!
//! ```sh
//! cargo run --release --features synth,csv --example synth -- --leads 1000000 --seed 7 --out DIR
//! ```
//!
//! Leads are generated and written one at a time (memory stays flat whatever the
//! size); spend and forecasts, which are monthly aggregates, are written at the end.
//! Prints the row count of every file and the elapsed time.
//!
//! Flags: `--leads N` (default 100000), `--seed S` (default 7), `--out DIR`
//! (required unless `--quick`), `--quick` (10000 leads into `target/synth-quick`).
//! `--paths JOURNEYS [--channels C]` writes only `paths.csv`: that many aggregated
//! journeys over `C` channels (default 12), for the path readers' benchmarks.
#![allow(clippy::print_stdout)]

mod common;

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use common::{in_file, io_error};

use revops::csv::{CsvRecord, Options, Writer};
use revops::synth::{PathsConfig, Synth, SynthConfig, path_rows};
use revops::{
    Conversion, Error, ForecastPoint, Lead, OpportunityChange, PathRow, Spend, StageEvent, Touch,
};

/// Writes a synthetic B2B company as the canonical CSV files.
///
/// Leads are generated and written one at a time (memory stays flat whatever the
/// size); spend and forecasts, monthly aggregates, are written at the end.
#[derive(Parser, Debug)]
#[command(name = "synth", allow_negative_numbers = true)]
struct Cli {
    /// Leads of the synthetic company [default: 100000; 1000 to 10000000]
    #[arg(long, value_name = "N", value_parser = common::leads, conflicts_with = "quick")]
    leads: Option<u64>,
    /// Seed of the synthetic company [default: 7]
    #[arg(long, value_name = "S", value_parser = common::count)]
    seed: Option<u64>,
    /// The folder to write the CSV files into (created if needed; required unless --quick)
    #[arg(long, value_name = "DIR", value_parser = common::out_dir,
          required_unless_present = "quick")]
    out: Option<PathBuf>,
    /// 10,000 leads into target/synth-quick (or --out DIR)
    #[arg(long)]
    quick: bool,
    /// Write only paths.csv: this many aggregated journeys, one per row (revops::synth::path_rows)
    #[arg(long, value_name = "JOURNEYS", value_parser = common::count,
          conflicts_with_all = ["leads", "quick"])]
    paths: Option<u64>,
    /// Channels of --paths [default: 12]
    #[arg(long, value_name = "C", requires = "paths", value_parser = common::count)]
    channels: Option<u64>,
}

struct Args {
    leads: u64,
    seed: u64,
    out: PathBuf,
}

impl Cli {
    fn args(self) -> Args {
        Args {
            leads: if self.quick {
                10_000
            } else {
                self.leads.unwrap_or(100_000)
            },
            seed: self.seed.unwrap_or(7),
            out: self
                .out
                .unwrap_or_else(|| PathBuf::from("target/synth-quick")),
        }
    }
}

fn create(path: &Path) -> Result<BufWriter<File>, Error> {
    let f = File::create(path).map_err(io_error("creating", path))?;
    Ok(BufWriter::with_capacity(1 << 20, f))
}

fn writer<T: CsvRecord>(dir: &Path) -> Result<Writer<T, BufWriter<File>>, Error> {
    let path = dir.join(T::FILE_NAME);
    Writer::new(create(&path)?, Options::new()).map_err(in_file("writing", &path))
}

fn main() -> ExitCode {
    common::main(|cli: Cli| match cli.paths {
        Some(journeys) => write_paths(journeys, &cli),
        None => run(cli.args()),
    })
}

/// `--paths`: only `paths.csv`, rows made and written one at a time.
fn write_paths(journeys: u64, cli: &Cli) -> Result<(), Error> {
    let started = Instant::now();
    let config = PathsConfig::default()
        .with_journeys(journeys)
        .with_channels(
            cli.channels
                .map_or(12, |c| usize::try_from(c).unwrap_or(usize::MAX)),
        )
        .with_seed(cli.seed.unwrap_or(7));
    let dir = cli.out.clone().unwrap_or_default();
    fs::create_dir_all(&dir).map_err(io_error("creating folder", &dir))?;
    let path = dir.join(PathRow::FILE_NAME);
    let options = Options::new().with_path_separator(" > ");
    let mut w =
        Writer::<PathRow, _>::new(create(&path)?, options).map_err(in_file("writing", &path))?;
    for row in path_rows(&config)? {
        w.write(&row).map_err(in_file("writing", &path))?;
    }
    w.finish().map_err(in_file("writing", &path))?;
    let size = fs::metadata(&path)
        .map_err(io_error("reading the size of", &path))?
        .len();
    println!(
        "{}: {journeys} journeys over {} channels, seed {}, {:.1} MB in {:.1} s",
        path.display(),
        config.channels,
        config.seed,
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn run(args: Args) -> Result<(), Error> {
    fs::create_dir_all(&args.out).map_err(io_error("creating folder", &args.out))?;
    let started = Instant::now();
    let synth = Synth::new(
        SynthConfig::default()
            .with_leads(args.leads)
            .with_seed(args.seed),
    )?;

    // Every write names its file when it fails (a full disk, a removed folder).
    let path = |name: &str| args.out.join(name);
    let (leads_path, events_path, touches_path) = (
        path(Lead::FILE_NAME),
        path(StageEvent::FILE_NAME),
        path(Touch::FILE_NAME),
    );
    let (conversions_path, history_path) = (
        path(Conversion::FILE_NAME),
        path(OpportunityChange::FILE_NAME),
    );
    let leads_file = create(&leads_path)?;
    let mut leads =
        Writer::<Lead, _>::with_attributes(leads_file, ["industry", "region"], Options::new())
            .map_err(in_file("writing", &leads_path))?;
    let mut events = writer::<StageEvent>(&args.out)?;
    let mut touches = writer::<Touch>(&args.out)?;
    let mut conversions = writer::<Conversion>(&args.out)?;
    let mut history = writer::<OpportunityChange>(&args.out)?;
    let mut tally = synth.tally();
    let mut counts = [0u64; 7];
    for bundle in synth.leads() {
        leads
            .write(&bundle.lead)
            .map_err(in_file("writing", &leads_path))?;
        counts[0] += 1;
        for e in &bundle.stage_events {
            events.write(e).map_err(in_file("writing", &events_path))?;
        }
        counts[1] += bundle.stage_events.len() as u64;
        for t in &bundle.touches {
            touches
                .write(t)
                .map_err(in_file("writing", &touches_path))?;
        }
        counts[2] += bundle.touches.len() as u64;
        if let Some(c) = &bundle.conversion {
            conversions
                .write(c)
                .map_err(in_file("writing", &conversions_path))?;
            counts[3] += 1;
        }
        for h in &bundle.opportunity_history {
            history
                .write(h)
                .map_err(in_file("writing", &history_path))?;
        }
        counts[4] += bundle.opportunity_history.len() as u64;
        tally.add(&bundle);
    }
    leads.finish().map_err(in_file("writing", &leads_path))?;
    events.finish().map_err(in_file("writing", &events_path))?;
    touches
        .finish()
        .map_err(in_file("writing", &touches_path))?;
    conversions
        .finish()
        .map_err(in_file("writing", &conversions_path))?;
    history
        .finish()
        .map_err(in_file("writing", &history_path))?;

    let spend = synth.spend(&tally)?;
    let spend_path = path(Spend::FILE_NAME);
    let mut w = writer::<Spend>(&args.out)?;
    for s in &spend {
        w.write(s).map_err(in_file("writing", &spend_path))?;
    }
    w.finish().map_err(in_file("writing", &spend_path))?;
    counts[5] = spend.len() as u64;
    let forecasts = synth.forecasts(&tally)?;
    let forecasts_path = path(ForecastPoint::FILE_NAME);
    let mut w = writer::<ForecastPoint>(&args.out)?;
    for f in &forecasts {
        w.write(f).map_err(in_file("writing", &forecasts_path))?;
    }
    w.finish().map_err(in_file("writing", &forecasts_path))?;
    counts[6] = forecasts.len() as u64;
    let elapsed = started.elapsed();

    let names = [
        Lead::FILE_NAME,
        StageEvent::FILE_NAME,
        Touch::FILE_NAME,
        Conversion::FILE_NAME,
        OpportunityChange::FILE_NAME,
        Spend::FILE_NAME,
        ForecastPoint::FILE_NAME,
    ];
    println!(
        "synthetic company: {} leads, seed {}, into {}",
        args.leads,
        args.seed,
        args.out.display()
    );
    let mut bytes = 0;
    for (name, n) in names.iter().zip(counts) {
        let path = args.out.join(name);
        let size = fs::metadata(&path)
            .map_err(io_error("reading the size of", &path))?
            .len();
        bytes += size;
        println!("  {name:<26} {n:>12} rows {:>10.1} MB", size as f64 / 1e6);
    }
    println!(
        "elapsed {:.2} s ({:.0} leads/s, {:.0} MB/s written)",
        elapsed.as_secs_f64(),
        args.leads as f64 / elapsed.as_secs_f64(),
        bytes as f64 / 1e6 / elapsed.as_secs_f64()
    );
    Ok(())
}
