//! Shared by the examples: the command line (clap), errors shown as one readable line,
//! the data flags every example has, and the loading of a dataset from a folder of
//! canonical CSV files or from the synthetic company.
//!
//! Exit codes: 0 on success and for `--help`; 2 for a bad command line (unknown flag,
//! bad or out-of-range value, conflicting flags); 1 for any other error. Every error
//! is one line on stderr, `Error: ...`.
#![allow(dead_code, clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::error::ErrorKind as ClapErrorKind;
use clap::{Args, Parser, ValueEnum};
use revops::csv::{CsvRecord, Dataset, Options, Table};
use revops::error::{ErrorKind, Source};
use revops::synth::{MAX_LEADS, MIN_LEADS, SynthConfig, generate};
use revops::{Conversion, Error, ForecastPoint, Lead, OpportunityChange, Spend, StageEvent, Touch};

/// Leads of the synthetic company in `--quick` mode.
pub const QUICK_LEADS: u64 = 5_000;

/// Parses the command line as `C` and runs `run`; see the module documentation for the
/// exit codes.
pub fn main<C: Parser>(run: impl FnOnce(C) -> Result<(), Error>) -> ExitCode {
    quiet_on_closed_stdout();
    let cli = match C::try_parse() {
        Ok(cli) => cli,
        Err(e)
            if matches!(
                e.kind(),
                ClapErrorKind::DisplayHelp | ClapErrorKind::DisplayVersion
            ) =>
        {
            // Help goes to stdout; a closed pipe is not worth a panic.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("Error: {}", usage_error(&e));
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {}", one_line(&e.to_string()));
            ExitCode::FAILURE
        }
    }
}

/// When the reader of stdout goes away (`example | head`), `println!` panics; exit
/// quietly instead, as command-line tools do (status 141, as if by SIGPIPE). Any other
/// panic is reported as usual.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let p = info.payload();
        let message = p
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| p.downcast_ref::<&str>().copied());
        if message.is_some_and(|m| m.starts_with("failed printing to stdout")) {
            std::process::exit(141);
        }
        default(info);
    }));
}

/// A clap error as one line: its message and tips, without the usage block, ending
/// with "see --help".
pub fn usage_error(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut out = String::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if line.is_empty() {
            continue;
        }
        let line = line.strip_prefix("error: ").unwrap_or(line);
        // A list after "...:" or a "[possible values: ...]" continues its sentence.
        if !out.is_empty() {
            out.push_str(if out.ends_with(':') || line.starts_with('[') {
                " "
            } else {
                "; "
            });
        }
        out.push_str(line);
    }
    out.push_str("; see --help");
    out
}

/// Any text as one line: line breaks become "; ".
pub fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// A bad flag value found after parsing (e.g. a breakdown no lead has).
pub fn bad(flag: &'static str, value: impl std::fmt::Display, reason: impl Into<String>) -> Error {
    Error::from(ErrorKind::InvalidParameter {
        name: flag,
        value: value.to_string(),
        reason: reason.into(),
    })
}

/// The reason of a library error for a flag value (`InvalidParameter`'s reason, or
/// the whole message): clap already names the flag and the value.
pub fn reason(e: Error) -> String {
    match e.into_kind() {
        ErrorKind::InvalidParameter { reason, .. } => reason,
        other => one_line(&other.to_string()),
    }
}

/// An I/O error naming what was being done and the path:
/// `.map_err(io_error("creating folder", &dir))`.
pub fn io_error<'a>(doing: &'a str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |e| {
        Error::from(ErrorKind::Io {
            context: Some(format!("{doing} {}", path.display())),
            source: Source::new(e),
        })
    }
}

/// An I/O-level error that is not the operating system's (a folder where a file
/// should be, a missing file), naming what was being done.
pub fn io_problem(context: String, problem: impl std::fmt::Display) -> Error {
    Error::from(ErrorKind::Io {
        context: Some(context),
        source: Source::new(std::io::Error::other(problem.to_string())),
    })
}

/// Names the path in an error a library reader returned without it: an I/O error, a
/// CSV error at line 0 (the file could not be read at all), or a bad row (whose file
/// the reader knows only by its canonical name; `path` may be that file or its folder).
/// Nothing is allocated unless there is an error, so it can wrap every write of a loop.
pub fn in_file<'a>(doing: &'a str, path: &'a Path) -> impl FnOnce(Error) -> Error + 'a {
    let what = move || format!("{doing} {}", path.display());
    move |e| match e.into_kind() {
        ErrorKind::Io { context, source } => Error::from(ErrorKind::Io {
            context: Some(match context {
                Some(c) => format!("{}: {c}", what()),
                None => what(),
            }),
            source,
        }),
        ErrorKind::Csv {
            line: 0, reason, ..
        } => io_problem(what(), reason),
        ErrorKind::Csv {
            source_name,
            line,
            column,
            reason,
        } => Error::from(ErrorKind::Csv {
            source_name: if path.is_dir() {
                path.join(source_name).display().to_string()
            } else {
                path.display().to_string()
            },
            line,
            column,
            reason,
        }),
        other => Error::from(other),
    }
}

/// `table` or `json`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned text.
    #[default]
    Table,
    /// Pretty-printed JSON (money as `{"amount": "12.30", "currency": "USD"}`).
    Json,
}

/// The `--format` flag of the examples that print a table or JSON.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct OutputArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

impl OutputArgs {
    /// Prints `json()` as pretty-printed JSON under `--format json`, else runs `table`.
    pub fn emit(
        self,
        json: impl FnOnce() -> serde_json::Value,
        table: impl FnOnce() -> Result<(), Error>,
    ) -> Result<(), Error> {
        match self.format {
            Format::Json => {
                println!("{}", serde_json::to_string_pretty(&json())?);
                Ok(())
            }
            Format::Table => table(),
        }
    }
}

/// A command-line value read by its `FromStr` (library types: models, granularities,
/// dimensions, currencies), the library's reason as clap's error.
pub fn parsed<T: std::str::FromStr<Err = Error>>(s: &str) -> Result<T, String> {
    s.parse().map_err(reason)
}

/// A whole number; `_` may separate digits (`1_000_000`).
pub fn count(s: &str) -> Result<u64, String> {
    s.replace('_', "")
        .parse()
        .map_err(|_| "not a whole number".to_string())
}

/// The number of leads of the synthetic company, in the range it supports.
pub fn leads(s: &str) -> Result<u64, String> {
    let n = count(s)?;
    if (MIN_LEADS..=MAX_LEADS).contains(&n) {
        Ok(n)
    } else {
        Err(format!("must be between {MIN_LEADS} and {MAX_LEADS}"))
    }
}

/// A path that exists and is a folder.
pub fn existing_dir(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    if s.is_empty() {
        Err("empty path".into())
    } else if !p.exists() {
        Err(format!("{s} does not exist"))
    } else if !p.is_dir() {
        Err(format!("{s} is not a folder"))
    } else {
        Ok(p)
    }
}

/// A path that exists and is a file.
pub fn existing_file(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    if s.is_empty() {
        Err("empty path".into())
    } else if !p.exists() {
        Err(format!("{s} does not exist"))
    } else if !p.is_file() {
        Err(format!("{s} is not a file"))
    } else {
        Ok(p)
    }
}

/// A path to write into: not empty, and not an existing file.
pub fn out_dir(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    if s.is_empty() {
        Err("empty path".into())
    } else if p.exists() && !p.is_dir() {
        Err(format!("{s} exists and is not a folder"))
    } else {
        Ok(p)
    }
}

/// A positive decimal amount of money (in the data's currency).
pub fn positive_amount(s: &str) -> Result<revops::Decimal, String> {
    let d = revops::Decimal::from_str_exact(s.trim().replace('_', "").as_str())
        .map_err(|e| format!("not a decimal amount ({e})"))?;
    if d > revops::Decimal::ZERO {
        Ok(d)
    } else {
        Err("must be greater than zero".into())
    }
}

/// Where the data comes from: a folder, or the synthetic company.
#[derive(Args, Debug, Clone, Default)]
pub struct DataArgs {
    /// Read the canonical CSV files in DIR instead of synthesising a company
    #[arg(long, value_name = "DIR", value_parser = existing_dir,
          conflicts_with_all = ["leads", "seed", "quick"])]
    pub data: Option<PathBuf>,
    /// Leads of the synthetic company [default: 100000; 1000 to 10000000]
    #[arg(long, value_name = "N", value_parser = leads)]
    pub leads: Option<u64>,
    /// Seed of the synthetic company [default: 7]
    #[arg(long, value_name = "S", value_parser = count)]
    pub seed: Option<u64>,
    /// A small synthetic company (5,000 leads; CI)
    #[arg(long, conflicts_with = "leads")]
    pub quick: bool,
}

impl DataArgs {
    /// The synthetic company's size: `--quick`, `--leads` or `default`.
    pub fn leads_or(&self, default: u64) -> u64 {
        if self.quick {
            QUICK_LEADS
        } else {
            self.leads.unwrap_or(default)
        }
    }

    /// The synthetic company's seed.
    pub fn seed(&self) -> u64 {
        self.seed.unwrap_or(7)
    }
}

/// The canonical file names, in the order `Dataset::read_dir` reads them.
pub const FILES: [&str; 7] = [
    Lead::FILE_NAME,
    StageEvent::FILE_NAME,
    Touch::FILE_NAME,
    Conversion::FILE_NAME,
    Spend::FILE_NAME,
    OpportunityChange::FILE_NAME,
    ForecastPoint::FILE_NAME,
];

/// Checks a data folder before reading it: every canonical name present must be a
/// file (a folder called `leads.csv` is an error, not a missing file), every name in
/// `required` must be there, and at least one canonical file must be.
pub fn check_folder(dir: &Path, required: &[&str]) -> Result<(), Error> {
    let mut found = 0;
    for name in FILES {
        let p = dir.join(name);
        if p.is_file() {
            found += 1;
        } else if p.exists() {
            return Err(io_problem(format!("reading {}", p.display()), "not a file"));
        }
    }
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|n| !dir.join(n).is_file())
        .collect();
    if !missing.is_empty() {
        return Err(io_problem(
            format!("reading folder {}", dir.display()),
            format!(
                "no {} (this example needs {})",
                missing.join(", "),
                required.join(", ")
            ),
        ));
    }
    if found == 0 {
        return Err(io_problem(
            format!("reading folder {}", dir.display()),
            format!("none of the canonical files ({})", FILES.join(", ")),
        ));
    }
    Ok(())
}

/// Reads a folder of canonical CSV files after [`check_folder`].
pub fn read_folder(dir: &Path, required: &[&str], options: Options) -> Result<Dataset, Error> {
    read_tables(dir, required, &Table::ALL, options)
}

/// Reads only the chosen tables of a folder of canonical CSV files after
/// [`check_folder`].
pub fn read_tables(
    dir: &Path,
    required: &[&str],
    tables: &[Table],
    options: Options,
) -> Result<Dataset, Error> {
    check_folder(dir, required)?;
    Dataset::read_dir_with(dir, tables, options).map_err(in_file("reading folder", dir))
}

/// The origin line of a data folder: the canonical files it lacks (whether or not the
/// example reads them).
pub fn folder_origin(dir: &Path) -> String {
    let missing: Vec<&str> = FILES
        .into_iter()
        .filter(|name| !dir.join(name).is_file())
        .collect();
    format!(
        "folder {} (missing: {})",
        dir.display(),
        if missing.is_empty() {
            "none".to_string()
        } else {
            missing.join(", ")
        }
    )
}

/// Where the data came from, for the report header.
pub struct Loaded {
    pub data: Dataset,
    pub origin: String,
    /// The synthetic company's opportunities (with their lead links); `None` for a
    /// folder, whose files carry only the opportunities' history.
    pub opportunities: Option<Vec<revops::Opportunity>>,
    /// The synthetic company's hires (with `hiring`), with their hire dates.
    pub hires: Vec<revops::plan::Hire>,
}

/// Reads `--data DIR` if given (`required`: the files this example cannot do without),
/// else synthesises `--leads N` leads (`--seed S`); in quick mode the synthetic company
/// has 5,000 leads.
pub fn load(args: &DataArgs, default_leads: u64, required: &[&str]) -> Result<Loaded, Error> {
    load_tables(args, default_leads, required, &Table::ALL)
}

/// [`load`], reading only the chosen tables of a data folder (the synthetic company
/// has them all).
pub fn load_tables(
    args: &DataArgs,
    default_leads: u64,
    required: &[&str],
    tables: &[Table],
) -> Result<Loaded, Error> {
    load_tables_with(args, default_leads, required, tables, &|c| c)
}

/// [`load_tables`], with the synthetic company's configuration adjusted by
/// `configure` (e.g. to hire owners during the history).
pub fn load_tables_with(
    args: &DataArgs,
    default_leads: u64,
    required: &[&str],
    tables: &[Table],
    configure: &dyn Fn(SynthConfig) -> SynthConfig,
) -> Result<Loaded, Error> {
    if let Some(dir) = &args.data {
        let data = read_tables(dir, required, tables, Options::new())?;
        let origin = folder_origin(dir);
        return Ok(Loaded {
            data,
            origin,
            opportunities: None,
            hires: Vec::new(),
        });
    }
    let leads = args.leads_or(default_leads);
    let seed = args.seed();
    let c = generate(&configure(
        SynthConfig::default().with_leads(leads).with_seed(seed),
    ))?;
    let data = Dataset {
        leads: c.leads,
        stage_events: c.stage_events,
        touches: c.touches,
        conversions: c.conversions,
        spend: c.spend,
        opportunity_history: c.opportunity_history,
        forecasts: c.forecasts,
        ..Dataset::default()
    };
    Ok(Loaded {
        data,
        origin: format!("synthetic company, {leads} leads, seed {seed}"),
        opportunities: Some(c.opportunities),
        hires: c.hires,
    })
}

/// A duration summary in days, for JSON (the library's summaries hold seconds).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DaysSummary {
    /// How many durations.
    pub count: u64,
    /// Mean, in days.
    pub mean: f64,
    /// Shortest, in days.
    pub min: f64,
    /// Longest, in days.
    pub max: f64,
    /// 25th percentile, in days.
    pub p25: f64,
    /// Median, in days.
    pub median: f64,
    /// 75th percentile, in days.
    pub p75: f64,
    /// 90th percentile, in days.
    pub p90: f64,
    /// Whether the quantiles are exact or sketched.
    pub accuracy: revops::distribution::QuantileAccuracy,
}

impl From<&revops::distribution::Summary> for DaysSummary {
    fn from(s: &revops::distribution::Summary) -> DaysSummary {
        DaysSummary {
            count: s.count,
            mean: s.mean_days(),
            min: s.min_days(),
            max: s.max_days(),
            p25: s.p25_days(),
            median: s.median_days(),
            p75: s.p75_days(),
            p90: s.p90_days(),
            accuracy: s.accuracy,
        }
    }
}

/// A parser for the shared flags alone, for tests of [`DataArgs`].
#[derive(Parser, Debug)]
#[command(name = "example")]
pub struct DataOnly {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}
