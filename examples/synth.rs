//! Writes a synthetic B2B company as the canonical CSV files (or, with
//! `--format parquet` and the `parquet` feature, as Parquet files).
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
//! (required unless `--quick`), `--quick` (10000 leads into `target/synth-quick`),
//! `--format csv|parquet` (default csv; parquet needs `--features parquet`).
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

#[cfg(feature = "parquet")]
use revops::arrow::{ArrowRecord, parquet};
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
    /// The files' format (parquet needs the `parquet` feature)
    #[arg(long, value_enum, default_value_t = FileFormat::Csv)]
    format: FileFormat,
}

/// The format of the files written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum FileFormat {
    /// The canonical CSV files (`leads.csv`, ...).
    Csv,
    /// The canonical Parquet files (`leads.parquet`, ...).
    Parquet,
}

struct Args {
    leads: u64,
    seed: u64,
    out: PathBuf,
    format: FileFormat,
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
            format: self.format,
        }
    }
}

fn create(path: &Path) -> Result<BufWriter<File>, Error> {
    let f = File::create(path).map_err(io_error("creating", path))?;
    Ok(BufWriter::with_capacity(1 << 20, f))
}

/// A writer of one table in the chosen format.
enum Sink<T: CsvRecord + ArrowRecord> {
    Csv(Writer<T, BufWriter<File>>),
    #[cfg(feature = "parquet")]
    Parquet(parquet::Writer<T, BufWriter<File>>),
}

#[cfg(not(feature = "parquet"))]
trait ArrowRecord {}
#[cfg(not(feature = "parquet"))]
impl<T> ArrowRecord for T {}

impl<T: CsvRecord + ArrowRecord + Clone> Sink<T> {
    fn write(&mut self, record: &T) -> Result<(), Error> {
        match self {
            Sink::Csv(w) => w.write(record),
            #[cfg(feature = "parquet")]
            Sink::Parquet(w) => w.write(record),
        }
    }

    fn finish(self) -> Result<(), Error> {
        match self {
            Sink::Csv(w) => w.finish().map(drop),
            #[cfg(feature = "parquet")]
            Sink::Parquet(w) => w.finish().map(drop),
        }
    }
}

/// The file name of `T`'s table in `format`.
fn file_name<T: CsvRecord>(format: FileFormat) -> String {
    match format {
        FileFormat::Csv => T::FILE_NAME.to_string(),
        FileFormat::Parquet => T::FILE_NAME.replace(".csv", ".parquet"),
    }
}

#[cfg(not(feature = "parquet"))]
fn no_parquet() -> Error {
    Error::from(revops::error::ErrorKind::InvalidParameter {
        name: "format",
        value: "parquet".into(),
        reason: "this example was built without the `parquet` feature".into(),
    })
}

/// A writer of `T`'s table in `format`.
fn writer<T: CsvRecord + ArrowRecord + Clone>(
    dir: &Path,
    format: FileFormat,
) -> Result<Sink<T>, Error> {
    let path = dir.join(file_name::<T>(format));
    let file = create(&path)?;
    match format {
        FileFormat::Csv => Writer::new(file, Options::new()).map(Sink::Csv),
        #[cfg(feature = "parquet")]
        FileFormat::Parquet => parquet::Writer::new(file, &Options::new()).map(Sink::Parquet),
        #[cfg(not(feature = "parquet"))]
        FileFormat::Parquet => Err(no_parquet()),
    }
    .map_err(in_file("writing", &path))
}

/// The leads' writer, with the synthetic company's attribute columns.
fn lead_writer(dir: &Path, format: FileFormat) -> Result<Sink<Lead>, Error> {
    const ATTRIBUTES: [&str; 2] = ["industry", "region"];
    let path = dir.join(file_name::<Lead>(format));
    let file = create(&path)?;
    match format {
        FileFormat::Csv => Writer::with_attributes(file, ATTRIBUTES, Options::new()).map(Sink::Csv),
        #[cfg(feature = "parquet")]
        FileFormat::Parquet => {
            parquet::Writer::with_attributes(file, ATTRIBUTES, &Options::new()).map(Sink::Parquet)
        }
        #[cfg(not(feature = "parquet"))]
        FileFormat::Parquet => Err(no_parquet()),
    }
    .map_err(in_file("writing", &path))
}

fn main() -> ExitCode {
    common::main(|cli: Cli| match cli.paths {
        Some(journeys) => write_paths(journeys, &cli),
        None => run(cli.args()),
    })
}

/// `--paths`: only `paths.csv`, rows made and written one at a time.
fn write_paths(journeys: u64, cli: &Cli) -> Result<(), Error> {
    if cli.format != FileFormat::Csv {
        return Err(common::bad(
            "--format",
            "parquet",
            "--paths writes paths.csv only (CSV)",
        ));
    }
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
    let f = args.format;
    let path = |name: String| args.out.join(name);
    let (leads_path, events_path, touches_path) = (
        path(file_name::<Lead>(f)),
        path(file_name::<StageEvent>(f)),
        path(file_name::<Touch>(f)),
    );
    let (conversions_path, history_path) = (
        path(file_name::<Conversion>(f)),
        path(file_name::<OpportunityChange>(f)),
    );
    let mut leads = lead_writer(&args.out, f)?;
    let mut events = writer::<StageEvent>(&args.out, f)?;
    let mut touches = writer::<Touch>(&args.out, f)?;
    let mut conversions = writer::<Conversion>(&args.out, f)?;
    let mut history = writer::<OpportunityChange>(&args.out, f)?;
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
    let spend_path = path(file_name::<Spend>(f));
    let mut w = writer::<Spend>(&args.out, f)?;
    for s in &spend {
        w.write(s).map_err(in_file("writing", &spend_path))?;
    }
    w.finish().map_err(in_file("writing", &spend_path))?;
    counts[5] = spend.len() as u64;
    let forecasts = synth.forecasts(&tally)?;
    let forecasts_path = path(file_name::<ForecastPoint>(f));
    let mut w = writer::<ForecastPoint>(&args.out, f)?;
    for f in &forecasts {
        w.write(f).map_err(in_file("writing", &forecasts_path))?;
    }
    w.finish().map_err(in_file("writing", &forecasts_path))?;
    counts[6] = forecasts.len() as u64;
    let elapsed = started.elapsed();

    let names = [
        file_name::<Lead>(f),
        file_name::<StageEvent>(f),
        file_name::<Touch>(f),
        file_name::<Conversion>(f),
        file_name::<OpportunityChange>(f),
        file_name::<Spend>(f),
        file_name::<ForecastPoint>(f),
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
