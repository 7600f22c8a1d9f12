//! Every attribution model side by side: one row per channel, one column per model,
//! scored against the ground truth when the data is synthetic.
//!
//! ```sh
//! cargo run --release --all-features --example attribution -- --quick
//! cargo run --release --all-features --example attribution -- --data DIR --models first,u_shaped,w_shaped,markov:2
//! cargo run --release --all-features --example attribution -- \
//!     --paths ../shared/data/attribution/channelattribution_Data.csv --delimiter ';'
//! ```
//! Run with `--help` for every flag and the JSON schema.
#![allow(clippy::print_stdout)]

mod common;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use common::{DataArgs, OutputArgs, bad, existing_file, in_file, parsed, read_folder};
use revops::attribution::{
    ChannelConversions, CreditCounts, JourneyOptions, Journeys, MarkovCounts, MarkovOptions,
    RuleModel, ShapleyCounts, ShapleyOptions, TruthScore, score_against_truth,
};
use revops::csv::{CsvRecord, Options};
use revops::report::ReportOptions;
use revops::synth::{SynthConfig, generate};
use revops::{AttributionModel, Channel, Conversion, Currency, Decimal, Error, Money, Touch};

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
    #[arg(long, value_name = "CODE", requires = "paths", value_parser = parsed::<Currency>)]
    currency: Option<Currency>,
    /// Comma-separated attribution models (revops::AttributionModel): first_touch, last_touch,
    /// last_non_direct[:CH:..], linear, linear_unique, time_decay[:DAYSd],
    /// position_based[:F:L] (alias u_shaped: 40/20/40), j, inverse_j, first_and_lead
    /// (first touch + lead creation 50/50), w_shaped, full_path,
    /// milestones:K=W:..:rest=W, markov[:ORDER], shapley (conversion rate),
    /// shapley_simplified, shapley_ordered, shao_li [default: the report's models
    /// the data supports: time decay needs touch times, milestone models stage events]
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = parsed::<AttributionModel>)]
    models: Option<Vec<AttributionModel>>,
    #[command(flatten)]
    output: OutputArgs,
}

fn delimiter(s: &str) -> Result<u8, String> {
    match *s.as_bytes() {
        [b] if b.is_ascii() && !matches!(b, b'"' | b'\n' | b'\r') => Ok(b),
        [_] => Err("not usable as a delimiter (a quote or a line break)".into()),
        _ => Err("expected one ASCII character".into()),
    }
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

/// What the table and JSON say about the journeys read.
#[derive(Default)]
struct Summary {
    /// Journeys, converting and not ([`Journeys::journey_count`]).
    journeys: f64,
    /// Entries: path rows or journeys ([`Journeys::len`]).
    rows: usize,
    conversions: f64,
    unattributed: u64,
    value: Decimal,
    /// Every channel, sorted.
    channels: Vec<Channel>,
}

impl Summary {
    fn of(journeys: &Journeys) -> Summary {
        let mut channels = journeys.channels().to_vec();
        channels.sort();
        Summary {
            journeys: journeys.journey_count(),
            rows: journeys.len(),
            conversions: journeys.total_conversions(),
            unattributed: journeys.diagnostics().unattributed_conversions(),
            value: journeys.total_value(),
            channels,
        }
    }

    /// Adds the summary of the journeys read after these.
    fn add(&mut self, o: Summary) {
        self.journeys += o.journeys;
        self.rows += o.rows;
        self.conversions += o.conversions;
        self.unattributed += o.unattributed;
        // Both are sums of checked totals of the same file: a sum beyond a decimal
        // fails while reading.
        self.value = self.value.saturating_add(o.value);
        self.channels.extend(o.channels);
        self.channels.sort();
        self.channels.dedup();
    }
}

struct Input {
    summary: Summary,
    /// The journeys, when held (a folder or synthetic data; paths are streamed).
    journeys: Option<Journeys>,
    origin: String,
    truth: Option<Vec<(Channel, f64)>>,
}

fn options(cli: &Cli) -> Result<Options, Error> {
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
    Ok(options)
}

fn load(cli: &Cli) -> Result<Input, Error> {
    let options = options(cli)?;
    let held = |journeys: Journeys, origin: String, truth| Input {
        summary: Summary::of(&journeys),
        journeys: Some(journeys),
        origin,
        truth,
    };
    if let Some(dir) = &cli.data.data {
        let d = read_folder(dir, &[Touch::FILE_NAME, Conversion::FILE_NAME], options)?;
        let journeys = Journeys::from_records(
            &d.touches,
            &d.conversions,
            &d.stage_events,
            &JourneyOptions::default(),
        )?;
        return Ok(held(journeys, format!("folder {}", dir.display()), None));
    }
    let leads = cli.data.leads_or(100_000);
    let seed = cli.data.seed();
    let c = generate(&SynthConfig::default().with_leads(leads).with_seed(seed))?;
    let journeys = Journeys::from_records(
        &c.touches,
        &c.conversions,
        &c.stage_events,
        &JourneyOptions::default(),
    )?;
    Ok(held(
        journeys,
        format!("synthetic company, {leads} leads, seed {seed}"),
        Some(c.truth.channel_conversions()),
    ))
}

/// The models asked for (each once), or the report's default models that the data
/// supports (path rows have neither touch times nor stage events).
fn models(cli: &Cli, journeys: Option<&Journeys>) -> Result<Vec<AttributionModel>, Error> {
    let Some(list) = &cli.models else {
        let mut models = ReportOptions::default_models();
        models.retain(|m| match journeys {
            Some(j) => m.unsupported_by(j).is_none(),
            None => m
                .as_rule()
                .is_none_or(|r| !r.needs_times() && !r.needs_stage_events()),
        });
        return Ok(models);
    };
    for (i, m) in list.iter().enumerate() {
        if list[..i].contains(m) {
            return Err(bad("--models", m, "listed twice"));
        }
    }
    Ok(list.clone())
}

/// One model's column: conversions per channel, and revenue when there is some.
fn column(
    model: &AttributionModel,
    pairs: Vec<(Channel, f64)>,
    revenue: Option<BTreeMap<Channel, Money>>,
    truth: Option<&Vec<(Channel, f64)>>,
) -> Result<Column, Error> {
    let score = match truth {
        Some(t) => Some(score_against_truth(&pairs, t)?),
        None => None,
    };
    Ok(Column {
        name: model.to_string(),
        conversions: pairs.into_iter().collect(),
        revenue,
        score,
    })
}

fn revenue_of(a: &revops::attribution::Attribution) -> BTreeMap<Channel, Money> {
    a.channels
        .iter()
        .filter_map(|c| Some((c.channel.clone(), c.revenue?)))
        .collect()
}

fn run_models(input: &Input, models: Vec<AttributionModel>) -> Result<Vec<Column>, Error> {
    let Some(journeys) = &input.journeys else {
        return Ok(Vec::new());
    };
    let valued = journeys.currency().is_some() && !journeys.total_value().is_zero();
    let mut out = Vec::new();
    for model in models {
        let (pairs, revenue) = match model.as_rule() {
            Some(rule) if valued => {
                let a = journeys.attribute_with_revenue(rule)?;
                (a.channel_conversions(), Some(revenue_of(&a)))
            }
            // Markov and Shapley aggregate the journeys on dense ids, without
            // building the path rows.
            _ => (model.channel_conversions(journeys)?, None),
        };
        out.push(column(&model, pairs, revenue, input.truth.as_ref())?);
    }
    Ok(out)
}

/// The partial result of one block of paths: Markov counts per order asked, the
/// Shapley tally if asked, the block's summary, and its journeys for the rule models.
type Part = (
    Vec<MarkovCounts>,
    Option<ShapleyCounts>,
    Summary,
    Option<Journeys>,
);

/// `--paths`: the file is streamed (rows folded into the models' accumulators as
/// they are read, never held) and every model computed from its accumulator.
fn stream_paths(cli: &Cli, file: &std::path::Path) -> Result<(Input, Vec<Column>), Error> {
    let options = options(cli)?;
    let list = models(cli, None)?;
    let currency = cli.currency.unwrap_or(Currency::USD);
    let rules: Vec<RuleModel> = list.iter().filter_map(|m| m.as_rule().cloned()).collect();
    let orders: Vec<usize> = list
        .iter()
        .filter_map(|m| match m {
            AttributionModel::Markov { order } => Some(*order),
            _ => None,
        })
        .collect();
    let shapley = list
        .iter()
        .any(|m| m.as_rule().is_none() && !matches!(m, AttributionModel::Markov { .. }));
    let mut credit = CreditCounts::new(rules.clone(), Some(currency))?;
    let mut markov: Vec<MarkovCounts> = orders
        .iter()
        .map(|&o| MarkovCounts::new(MarkovOptions::default().with_order(o)))
        .collect::<Result<_, _>>()?;
    let mut tally = ShapleyCounts::new(ShapleyOptions::default())?;
    // Block tallies merged a few at a time, shard by shard on every core.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut pending: Vec<ShapleyCounts> = Vec::new();
    let mut summary = Summary::default();
    // A model the rows cannot support is the model's error, not the file's.
    let mut model_error = None;
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
    let options = match name {
        Some(n) => options.with_source_name(n),
        None => options,
    };
    let read = File::open(file).map_err(Error::from).and_then(|f| {
        Journeys::fold_paths_csv(
            f,
            options,
            JourneyOptions::default().with_currency(currency),
            |batch| -> Result<Part, Error> {
                let m = orders
                    .iter()
                    .map(|&o| {
                        MarkovCounts::from_journeys(&batch, MarkovOptions::default().with_order(o))
                    })
                    .collect::<Result<_, _>>()?;
                let s = if shapley {
                    Some(ShapleyCounts::from_journeys(
                        &batch,
                        ShapleyOptions::default(),
                    )?)
                } else {
                    None
                };
                let summary = Summary::of(&batch);
                Ok((m, s, summary, (!rules.is_empty()).then_some(batch)))
            },
            |(m, s, part, batch)| {
                for (all, m) in markov.iter_mut().zip(&m) {
                    all.merge(m)?;
                }
                if let Some(s) = s {
                    pending.push(s);
                    if pending.len() >= threads {
                        tally.merge_all_on(&pending, threads)?;
                        pending.clear();
                    }
                }
                summary.add(part);
                if let Some(batch) = &batch
                    && let Err(e) = credit.add_journeys(batch)
                {
                    model_error = Some(e.clone());
                    return Err(e);
                }
                Ok(())
            },
        )
    });
    let read = read.and_then(|report| {
        tally.merge_all_on(&pending, threads)?;
        Ok(report)
    });
    let report = match (read, model_error) {
        (Ok(report), _) => report,
        (Err(_), Some(e)) => return Err(e),
        (Err(e), None) => return Err(in_file("reading paths", file)(e)),
    };
    let input = Input {
        origin: format!("paths {} ({} rows)", file.display(), report.records),
        summary,
        journeys: None,
        truth: None,
    };
    let columns = streamed_columns(list, credit, &markov, &tally, &input.summary)?;
    Ok((input, columns))
}

/// The columns of streamed paths, from the models' accumulators.
fn streamed_columns(
    list: Vec<AttributionModel>,
    credit: CreditCounts,
    markov: &[MarkovCounts],
    tally: &ShapleyCounts,
    summary: &Summary,
) -> Result<Vec<Column>, Error> {
    let valued = !summary.value.is_zero();
    let mut rule_results = credit.finish()?.into_iter();
    let mut markov = markov.iter();
    let mut columns = Vec::new();
    for model in list {
        let (pairs, revenue) = match &model {
            AttributionModel::Rule(_) => {
                let a = rule_results
                    .next()
                    .ok_or_else(|| bad("--models", &model, "no result"))?;
                (a.channel_conversions(), valued.then(|| revenue_of(&a)))
            }
            AttributionModel::Markov { .. } => {
                let m = markov
                    .next()
                    .ok_or_else(|| bad("--models", &model, "no result"))?;
                (m.finish()?.channel_conversions(), None)
            }
            AttributionModel::ShapleySimplified => (tally.simplified().channel_conversions(), None),
            AttributionModel::ShapleyOrdered => (
                tally
                    .ordered()?
                    .credits
                    .iter()
                    .map(|c| (c.channel.clone(), c.conversions.iter().sum()))
                    .collect(),
                None,
            ),
            AttributionModel::ShaoLi => (tally.shao_li()?.credits.channel_conversions(), None),
            _ => {
                // Games solved on every core: the same result as on one.
                let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
                let r = tally.conversion_rate_on(threads)?;
                (r.credits.channel_conversions(), None)
            }
        };
        columns.push(column(&model, pairs, revenue, None)?);
    }
    Ok(columns)
}

fn main() -> ExitCode {
    common::main(run)
}

fn run(cli: Cli) -> Result<(), Error> {
    let (input, columns) = match &cli.paths {
        Some(file) => stream_paths(&cli, file)?,
        None => {
            let input = load(&cli)?;
            let list = models(&cli, input.journeys.as_ref())?;
            let columns = run_models(&input, list)?;
            (input, columns)
        }
    };
    cli.output.emit(
        || json(&input, &columns),
        || {
            print_table(&input, &columns);
            Ok(())
        },
    )
}

fn share(x: f64, total: f64) -> f64 {
    if total > 0.0 { x / total } else { 0.0 }
}

fn truth_total(input: &Input) -> f64 {
    input.truth.iter().flatten().map(|(_, v)| v).sum()
}

fn json(input: &Input, columns: &[Column]) -> serde_json::Value {
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
    serde_json::json!({
        "origin": input.origin,
        "journeys": input.summary.journeys,
        "path_rows": input.summary.rows,
        "conversions": input.summary.conversions,
        "models": models,
        "truth": truth,
    })
}

fn print_table(input: &Input, columns: &[Column]) {
    println!("attribution: {}", input.origin);
    let s = &input.summary;
    println!(
        "{} journeys ({} entries), {} conversions, {} unattributed (no touches)",
        s.journeys, s.rows, s.conversions, s.unattributed
    );
    let mut channels: Vec<Channel> = s.channels.clone();
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
