//! Every attribution model side by side: one row per channel, one column per model,
//! scored against the ground truth when the data is synthetic.
//!
//! ```sh
//! cargo run --release --all-features --example attribution -- --quick
//! cargo run --release --all-features --example attribution -- --data DIR --models first,last,w_shaped
//! cargo run --release --all-features --example attribution -- \
//!     --paths ../shared/data/attribution/channelattribution_Data.csv --delimiter ';'
//! ```
//! Run with `--help` for every flag and the JSON schema.
#![allow(clippy::print_stdout)]

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use common::{DataArgs, Format, bad, existing_file, in_file, read_folder, reason};
use revops::csv::{CsvRecord, Options, Reader};
use revops::synth::{SynthConfig, generate};
use revops::{
    Channel, Conversion, Currency, Error, Money, PathRow, Touch, attribution::ChannelConversions,
    attribution::JourneyOptions, attribution::Journeys, attribution::MarkovOptions,
    attribution::RuleModel, attribution::ShapleyOptions, attribution::TruthScore,
    attribution::markov_attribution, attribution::score_against_truth,
    attribution::shapley_attribution,
};

/// The JSON schema, shown after the flags in `--help`.
const JSON_HELP: &str = "\
JSON (--format json): {\"origin\": string, \"journeys\": n, \"conversions\": x,
  \"models\": [{\"model\": string, \"attributed\": x, \"channels\": [{\"channel\", \"conversions\",
  \"share\", \"revenue\": {\"amount\": decimal string, \"currency\": code}|null}],
  \"truth_score\": {\"rank_correlation\": x|null, \"l1_share_error\": x}|null}],
  \"truth\": [{\"channel\", \"incremental_conversions\", \"share\"}]|null}
";

/// Every attribution model side by side, one column per model.
///
/// Data: a synthetic company (default; every model is scored against its known
/// per-channel effect), `--data DIR` (touches.csv, conversions.csv and
/// stage_events.csv) or `--paths FILE` (aggregated paths: path, conversions, value,
/// nulls).
#[derive(Parser, Debug)]
#[command(name = "attribution", after_help = JSON_HELP, allow_negative_numbers = true)]
struct Cli {
    #[command(flatten)]
    data: DataArgs,
    /// Read aggregated paths (path, total_conversions, total_conversion_value, total_null)
    #[arg(long, value_name = "FILE", value_parser = existing_file,
          conflicts_with_all = ["data", "leads", "seed", "quick"])]
    paths: Option<PathBuf>,
    /// CSV field delimiter of the --data or --paths files (one ASCII character) [default: ,]
    #[arg(long, value_name = "C", value_parser = delimiter)]
    delimiter: Option<u8>,
    /// Separator inside a path (--paths) [default: " > "]
    #[arg(long, value_name = "S", requires = "paths",
          value_parser = clap::builder::NonEmptyStringValueParser::new())]
    path_separator: Option<String>,
    /// Currency of the path values (--paths), e.g. USD or PTS:2 [default: USD]
    #[arg(long, value_name = "CODE", requires = "paths", value_parser = currency)]
    currency: Option<Currency>,
    /// Comma-separated models: rule models as RuleModel parses them (first, last,
    /// last_non_direct, linear, linear_unique, time_decay[:DAYS], position_based[:F:L], j,
    /// inverse_j, u_shaped, w_shaped, full_path, milestones:K=W,...), markov, markov2
    /// (order 2), shapley (conversion-rate Shapley), shapley_simple [default:
    /// first,last,linear,time_decay,position_based,w_shaped,markov,shapley; time_decay
    /// only with touch times, w_shaped only with stage events]
    #[arg(long, value_name = "LIST")]
    models: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

fn delimiter(s: &str) -> Result<u8, String> {
    match *s.as_bytes() {
        [b] if b.is_ascii() && !matches!(b, b'"' | b'\n' | b'\r') => Ok(b),
        [_] => Err("not usable as a delimiter (a quote or a line break)".into()),
        _ => Err("expected one ASCII character".into()),
    }
}

fn currency(s: &str) -> Result<Currency, String> {
    s.parse().map_err(reason)
}

enum Model {
    Rule(RuleModel),
    Markov(usize),
    Shapley,
    ShapleySimple,
}

struct Column {
    name: String,
    /// Channel → conversions.
    conversions: BTreeMap<Channel, f64>,
    /// Channel → exact revenue (rule models with values).
    revenue: Option<BTreeMap<Channel, Money>>,
    score: Option<TruthScore>,
}

impl Column {
    fn total(&self) -> f64 {
        self.conversions.values().sum()
    }
}

struct Input {
    journeys: Journeys,
    origin: String,
    times: bool,
    stages: bool,
    truth: Option<Vec<(Channel, f64)>>,
}

fn load(cli: &Cli) -> Result<Input, Error> {
    let mut options = Options::new();
    if let Some(b) = cli.delimiter {
        if cli.paths.is_none() && cli.data.data.is_none() {
            return Err(bad(
                "--delimiter",
                char::from(b),
                "applies to --data or --paths only",
            ));
        }
        options = options.with_delimiter(b);
    }
    if let Some(s) = &cli.path_separator {
        options = options.with_path_separator(s);
    }
    if let Some(file) = &cli.paths {
        let rows: Vec<PathRow> = Reader::<PathRow, _>::from_path(file, options)
            .and_then(|r| r.collect::<Result<_, _>>())
            .map_err(in_file("reading paths", file))?;
        let currency = cli.currency.unwrap_or(Currency::USD);
        return Ok(Input {
            origin: format!("paths {} ({} rows)", file.display(), rows.len()),
            journeys: Journeys::from_path_rows(&rows, currency)?,
            times: false,
            stages: false,
            truth: None,
        });
    }
    if let Some(dir) = &cli.data.data {
        let d = read_folder(dir, &[Touch::FILE_NAME, Conversion::FILE_NAME], options)?;
        return Ok(Input {
            journeys: Journeys::from_records(
                &d.touches,
                &d.conversions,
                &d.stage_events,
                &JourneyOptions::default(),
            )?,
            origin: format!("folder {}", dir.display()),
            times: true,
            stages: !d.stage_events.is_empty(),
            truth: None,
        });
    }
    let leads = cli.data.leads_or(100_000);
    let seed = cli.data.seed();
    let c = generate(&SynthConfig::default().with_leads(leads).with_seed(seed))?;
    Ok(Input {
        journeys: Journeys::from_records(
            &c.touches,
            &c.conversions,
            &c.stage_events,
            &JourneyOptions::default(),
        )?,
        origin: format!("synthetic company, {leads} leads, seed {seed}"),
        times: true,
        stages: true,
        truth: Some(c.truth.channel_conversions()),
    })
}

fn models(cli: &Cli, input: &Input) -> Result<Vec<(String, Model)>, Error> {
    let list = match &cli.models {
        Some(l) => l.to_string(),
        None => {
            let mut d = vec!["first", "last", "linear"];
            if input.times {
                d.push("time_decay");
            }
            d.push("position_based");
            if input.stages {
                d.push("w_shaped");
            }
            d.extend(["markov", "shapley"]);
            d.join(",")
        }
    };
    // `milestones:k=w,k=w` and `last_non_direct:a,b` contain commas: an item without
    // a model name of its own continues the previous one
    let mut items: Vec<String> = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match items.last_mut() {
            Some(prev)
                if (prev.starts_with("milestones:") || prev.starts_with("last_non_direct:"))
                    && (part.contains('=') || !part.contains(':'))
                    && part.parse::<RuleModel>().is_err()
                    && !matches!(part, "markov" | "markov2" | "shapley" | "shapley_simple") =>
            {
                prev.push(',');
                prev.push_str(part);
            }
            _ => items.push(part.to_string()),
        }
    }
    items
        .into_iter()
        .map(|name| {
            let m = match name.as_str() {
                "markov" => Model::Markov(1),
                "markov2" => Model::Markov(2),
                "shapley" => Model::Shapley,
                "shapley_simple" => Model::ShapleySimple,
                other => Model::Rule(other.parse()?),
            };
            Ok((name, m))
        })
        .collect::<Result<Vec<_>, Error>>()
        .and_then(|models| {
            if models.is_empty() {
                return Err(bad("--models", &list, "no model given"));
            }
            for (i, (name, _)) in models.iter().enumerate() {
                if models[..i].iter().any(|(n, _)| n == name) {
                    return Err(bad("--models", &list, format!("`{name}` is listed twice")));
                }
            }
            Ok(models)
        })
}

fn run_models(input: &Input, list: Vec<(String, Model)>) -> Result<Vec<Column>, Error> {
    let rows = input.journeys.path_rows();
    let mut shapley = None;
    let valued = input.journeys.currency().is_some() && !input.journeys.total_value().is_zero();
    let mut out = Vec::new();
    for (name, model) in list {
        let (pairs, revenue) = match model {
            Model::Rule(m) => {
                let a = if valued {
                    input.journeys.attribute_with_revenue(&m)?
                } else {
                    input.journeys.attribute(&m)?
                };
                let revenue = valued.then(|| {
                    a.channels
                        .iter()
                        .filter_map(|c| Some((c.channel.clone(), c.revenue?)))
                        .collect()
                });
                (a.channel_conversions(), revenue)
            }
            Model::Markov(order) => (
                markov_attribution(&rows, MarkovOptions::default().with_order(order))?
                    .channel_conversions(),
                None,
            ),
            Model::Shapley | Model::ShapleySimple => {
                if shapley.is_none() {
                    shapley = Some(shapley_attribution(&rows, ShapleyOptions::default())?);
                }
                let r = shapley.as_ref().expect("computed above");
                let credits = match model {
                    Model::Shapley => &r.conversion_rate.credits,
                    _ => &r.simplified,
                };
                (credits.channel_conversions(), None)
            }
        };
        let score = match &input.truth {
            Some(t) => Some(score_against_truth(&pairs, t)?),
            None => None,
        };
        out.push(Column {
            name,
            conversions: pairs.into_iter().collect(),
            revenue,
            score,
        });
    }
    Ok(out)
}

fn main() -> ExitCode {
    common::main(run)
}

fn run(cli: Cli) -> Result<(), Error> {
    let input = load(&cli)?;
    let list = models(&cli, &input)?;
    let columns = run_models(&input, list)?;
    if cli.format == Format::Json {
        print_json(&input, &columns)
    } else {
        print_table(&input, &columns);
        Ok(())
    }
}

fn share(x: f64, total: f64) -> f64 {
    if total > 0.0 { x / total } else { 0.0 }
}

fn truth_total(input: &Input) -> f64 {
    input.truth.iter().flatten().map(|(_, v)| v).sum()
}

fn print_json(input: &Input, columns: &[Column]) -> Result<(), Error> {
    let models: Vec<_> = columns
        .iter()
        .map(|c| {
            let total = c.total();
            let channels: Vec<_> = c
                .conversions
                .iter()
                .map(|(ch, v)| {
                    serde_json::json!({
                        "channel": ch,
                        "conversions": v,
                        "share": share(*v, total),
                        "revenue": c.revenue.as_ref().and_then(|r| r.get(ch)),
                    })
                })
                .collect();
            serde_json::json!({
                "model": c.name,
                "attributed": total,
                "channels": channels,
                "truth_score": c.score.as_ref().map(|s| serde_json::json!({
                    "rank_correlation": s.rank_correlation,
                    "l1_share_error": s.l1_share_error,
                })),
            })
        })
        .collect();
    let tt = truth_total(input);
    let truth = input.truth.as_ref().map(|t| {
        t.iter()
            .map(|(ch, v)| {
                serde_json::json!({"channel": ch, "incremental_conversions": v, "share": share(*v, tt)})
            })
            .collect::<Vec<_>>()
    });
    let v = serde_json::json!({
        "origin": input.origin,
        "journeys": input.journeys.journey_count(),
        "path_rows": input.journeys.len(),
        "conversions": input.journeys.total_conversions(),
        "models": models,
        "truth": truth,
    });
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(())
}

fn print_table(input: &Input, columns: &[Column]) {
    println!("attribution: {}", input.origin);
    let d = input.journeys.diagnostics();
    println!(
        "{} journeys ({} entries), {} conversions, {} unattributed (no touches)",
        input.journeys.journey_count(),
        input.journeys.len(),
        input.journeys.total_conversions(),
        d.unattributed_conversions()
    );
    let mut channels: Vec<Channel> = input.journeys.channels().to_vec();
    if let Some(t) = &input.truth {
        channels.extend(t.iter().map(|(c, _)| c.clone()));
    }
    channels.sort();
    channels.dedup();
    let w = channels
        .iter()
        .map(|c| c.as_str().len())
        .chain([7])
        .max()
        .unwrap_or(7);
    let cw = 18;
    let tt = truth_total(input);
    let truth: Option<BTreeMap<&Channel, f64>> = input
        .truth
        .as_ref()
        .map(|t| t.iter().map(|(c, v)| (c, *v)).collect());

    println!("\nattributed conversions (share of the model's total)");
    print!("{:<w$}", "channel");
    for c in columns {
        print!(" {:>cw$}", c.name);
    }
    if truth.is_some() {
        print!(" {:>cw$}", "truth");
    }
    println!();
    let cell = |v: f64, total: f64| format!("{v:.1} ({:.1}%)", 100.0 * share(v, total));
    for ch in &channels {
        print!("{:<w$}", ch.as_str());
        for c in columns {
            let v = c.conversions.get(ch).copied().unwrap_or(0.0);
            print!(" {:>cw$}", cell(v, c.total()));
        }
        if let Some(t) = &truth {
            print!(" {:>cw$}", cell(t.get(ch).copied().unwrap_or(0.0), tt));
        }
        println!();
    }
    print!("{:<w$}", "total");
    for c in columns {
        print!(" {:>cw$}", format!("{:.1}", c.total()));
    }
    if truth.is_some() {
        print!(" {:>cw$}", format!("{tt:.1}"));
    }
    println!();

    let valued: Vec<&Column> = columns.iter().filter(|c| c.revenue.is_some()).collect();
    if !valued.is_empty() {
        println!("\nrevenue (exact: each conversion split to the cent)");
        print!("{:<w$}", "channel");
        for c in &valued {
            print!(" {:>cw$}", c.name);
        }
        println!();
        for ch in &channels {
            print!("{:<w$}", ch.as_str());
            for c in &valued {
                let r = c.revenue.as_ref().and_then(|r| r.get(ch));
                print!(
                    " {:>cw$}",
                    r.map_or_else(|| "-".to_string(), Money::to_string)
                );
            }
            println!();
        }
    }

    if truth.is_some() {
        println!("\nground truth score (true effect: counterfactual conversions per channel)");
        print!("{:<w$}", "");
        for c in columns {
            print!(" {:>cw$}", c.name);
        }
        println!();
        let row = |label: &str, f: &dyn Fn(&TruthScore) -> String| {
            print!("{label:<w$}");
            for c in columns {
                print!(" {:>cw$}", c.score.as_ref().map_or("-".into(), f));
            }
            println!();
        };
        row("spearman", &|s| {
            s.rank_correlation
                .map_or("n/a".into(), |r| format!("{r:.3}"))
        });
        row("L1 error", &|s| format!("{:.3}", s.l1_share_error));
    }
}
