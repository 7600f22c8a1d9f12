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
#![allow(clippy::print_stdout)]

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::PathBuf;
use std::time::Instant;

use revops::csv::{CsvRecord, Options, Writer};
use revops::synth::{Synth, SynthConfig};
use revops::{Conversion, Error, ForecastPoint, Lead, OpportunityChange, Spend, StageEvent, Touch};

struct Args {
    leads: u64,
    seed: u64,
    out: PathBuf,
}

fn parse_args() -> Result<Args, Error> {
    let bad = |name: &'static str, value: &str, reason: &str| Error::InvalidParameter {
        name,
        value: value.to_string(),
        reason: reason.to_string(),
    };
    let mut args = Args {
        leads: 100_000,
        seed: 7,
        out: PathBuf::new(),
    };
    let mut quick = false;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name| it.next().ok_or_else(|| bad(name, "", "missing value"));
        match a.as_str() {
            "--leads" => {
                let v = value("--leads")?;
                args.leads = v
                    .replace('_', "")
                    .parse()
                    .map_err(|_| bad("--leads", &v, "not a number"))?;
            }
            "--seed" => {
                let v = value("--seed")?;
                args.seed = v.parse().map_err(|_| bad("--seed", &v, "not a number"))?;
            }
            "--out" => args.out = PathBuf::from(value("--out")?),
            "--quick" => quick = true,
            other => {
                return Err(bad(
                    "argument",
                    other,
                    "expected --leads, --seed, --out or --quick",
                ));
            }
        }
    }
    if quick {
        args.leads = 10_000;
        if args.out.as_os_str().is_empty() {
            args.out = PathBuf::from("target/synth-quick");
        }
    }
    if args.out.as_os_str().is_empty() {
        return Err(bad(
            "--out",
            "",
            "give the folder to write the CSV files into",
        ));
    }
    Ok(args)
}

fn writer<T: CsvRecord>(dir: &std::path::Path) -> Result<Writer<T, BufWriter<File>>, Error> {
    let f = File::create(dir.join(T::FILE_NAME))?;
    Writer::new(BufWriter::with_capacity(1 << 20, f), Options::new())
}

fn main() -> Result<(), Error> {
    let args = parse_args()?;
    fs::create_dir_all(&args.out)?;
    let started = Instant::now();
    let synth = Synth::new(
        SynthConfig::default()
            .with_leads(args.leads)
            .with_seed(args.seed),
    )?;

    let leads_file =
        BufWriter::with_capacity(1 << 20, File::create(args.out.join(Lead::FILE_NAME))?);
    let mut leads =
        Writer::<Lead, _>::with_attributes(leads_file, ["industry", "region"], Options::new())?;
    let mut events = writer::<StageEvent>(&args.out)?;
    let mut touches = writer::<Touch>(&args.out)?;
    let mut conversions = writer::<Conversion>(&args.out)?;
    let mut history = writer::<OpportunityChange>(&args.out)?;
    let mut tally = synth.tally();
    let mut counts = [0u64; 7];
    for bundle in synth.leads() {
        leads.write(&bundle.lead)?;
        counts[0] += 1;
        for e in &bundle.stage_events {
            events.write(e)?;
        }
        counts[1] += bundle.stage_events.len() as u64;
        for t in &bundle.touches {
            touches.write(t)?;
        }
        counts[2] += bundle.touches.len() as u64;
        if let Some(c) = &bundle.conversion {
            conversions.write(c)?;
            counts[3] += 1;
        }
        for h in &bundle.opportunity_history {
            history.write(h)?;
        }
        counts[4] += bundle.opportunity_history.len() as u64;
        tally.add(&bundle);
    }
    leads.finish()?;
    events.finish()?;
    touches.finish()?;
    conversions.finish()?;
    history.finish()?;

    let spend = synth.spend(&tally)?;
    let mut w = writer::<Spend>(&args.out)?;
    for s in &spend {
        w.write(s)?;
    }
    w.finish()?;
    counts[5] = spend.len() as u64;
    let forecasts = synth.forecasts(&tally)?;
    let mut w = writer::<ForecastPoint>(&args.out)?;
    for f in &forecasts {
        w.write(f)?;
    }
    w.finish()?;
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
        let size = fs::metadata(args.out.join(name))?.len();
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
