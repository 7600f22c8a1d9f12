//! The demand waterfall by one set of rules: cohort or period conversion, with the
//! counts and interval behind every rate, optionally broken down by a lead attribute.
//!
//! ```sh
//! cargo run --release --all-features --example waterfall -- --by source --period quarter
//! cargo run --release --all-features --example waterfall -- --data DIR --mode period
//! cargo run --release --all-features --example waterfall -- --olist ../shared/data/real
//! ```
//! Run with `--help` for every flag and the JSON schema.
#![allow(clippy::print_stdout)]

mod common;

use std::fs::File;
use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use common::{Flags, bad, load};
use revops::{
    CohortAnchor, CohortReport, CohortRow, CohortSpec, Dimension, Error, FlowReport, FlowSpec,
    Funnel, FunnelData, FunnelEvents, Granularity, Lead, PathOptions, QualificationReport,
    QualificationSpec, StageEvent, StepRate, VelocityReport, VelocitySpec, cohort_report,
    flow_report, qualification_report, velocity_report,
};

const HELP: &str = "\
waterfall: cohort or period conversion of a funnel, with k/n and intervals

data (one of):
  (none)              synthesise a company (--leads N, default 100000; --seed S)
  --data DIR          read leads.csv and stage_events.csv from DIR
  --olist DIR         the real Olist files in DIR: MQL -> Won by origin and by month of
                      first contact
options:
  --mode cohort|period   cohort conversion (default) or period flow
  --period week|month|quarter|year   bucket size (default month)
  --by DIMENSION      breakdown: source, campaign, segment, owner, account or an attribute
  --anchor STAGE      cohort anchor stage (default: lead creation)
  --window DAYS       conversion window from the anchor (default: none)
  --as-of YYYY-MM-DD  evaluate as of this date (default: the last event's date)
  --funnel FILE       funnel definition as JSON (default: the demand waterfall)
  --format table|json output (default table)
  --quick             small synthetic company (CI)

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

fn main() -> Result<(), Error> {
    let flags = Flags::parse(
        &[
            "--data", "--olist", "--mode", "--period", "--by", "--anchor", "--window", "--as-of",
            "--funnel", "--format", "--leads", "--seed",
        ],
        &["--quick", "--help"],
    )?;
    if flags.has("--help") {
        print!("{HELP}");
        return Ok(());
    }
    let json = match flags.get("--format").unwrap_or("table") {
        "table" => false,
        "json" => true,
        other => return Err(bad("--format", other, "expected table or json")),
    };
    let cohort_mode = match flags.get("--mode").unwrap_or("cohort") {
        "cohort" => true,
        "period" => false,
        other => return Err(bad("--mode", other, "expected cohort or period")),
    };

    let (leads, events, mut funnel, origin): (Vec<Lead>, Vec<StageEvent>, Funnel, String) =
        if let Some(dir) = flags.get("--olist") {
            let dir = PathBuf::from(dir);
            let open = |name: &str| {
                File::open(dir.join(name)).map_err(|e| Error::Io {
                    message: format!("{}: {e}", dir.join(name).display()),
                })
            };
            let d = revops::real::read_olist(
                open("olist_marketing_qualified_leads_dataset.csv")?,
                open("olist_closed_deals_dataset.csv")?,
            )?;
            for q in &d.quirks {
                eprintln_quirk(&q.record.to_string(), &q.message);
            }
            (
                d.leads,
                d.stage_events,
                revops::real::olist_funnel(),
                "Olist marketing funnel (real data)".into(),
            )
        } else {
            let l = load(&flags, 100_000)?;
            (
                l.data.leads,
                l.data.stage_events,
                Funnel::demand_waterfall(),
                l.origin,
            )
        };
    if let Some(path) = flags.get("--funnel") {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            message: format!("{path}: {e}"),
        })?;
        funnel = Funnel::from_json(&text)?;
    }

    let as_of: DateTime<Utc> = match flags.get("--as-of") {
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| bad("--as-of", d, "expected YYYY-MM-DD"))?
            .and_hms_opt(23, 59, 59)
            .map(|t| t.and_utc())
            .ok_or_else(|| bad("--as-of", d, "out of range"))?,
        None => events.iter().map(|e| e.at).max().unwrap_or_default(),
    };
    let granularity: Granularity = flags.parsed("--period", Granularity::Month)?;
    let dimension: Option<Dimension> = match flags.get("--by") {
        Some(d) => Some(d.parse()?),
        None if flags.get("--olist").is_some() => Some(Dimension::Source),
        None => None,
    };

    let data = FunnelData::new(funnel, &leads)?;
    let mut acc = FunnelEvents::default();
    acc.add(&data, &events)?;
    let paths = acc.paths(&data, PathOptions::default().with_as_of(as_of));

    if cohort_mode {
        let mut spec = CohortSpec::default().with_granularity(granularity);
        if let Some(a) = flags.get("--anchor") {
            spec = spec.with_anchor(CohortAnchor::Stage(a.to_string()));
        } else if flags.get("--olist").is_some() {
            spec = spec.with_anchor(CohortAnchor::Stage("mql".into()));
        }
        if let Some(w) = flags.get("--window") {
            let days: i64 = w
                .parse()
                .map_err(|_| bad("--window", w, "days, a whole number"))?;
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
        if json {
            let v = serde_json::json!({
                "origin": origin, "as_of": as_of, "mode": "cohort", "report": report,
                "velocity": velocity, "qualification": qualification,
            });
            println!("{}", serde_json::to_string_pretty(&v)?);
        } else {
            print_cohort(&origin, as_of, &report);
            print_velocity(&velocity);
            if let Some(q) = &qualification {
                print_qualification(q);
            }
        }
    } else {
        let mut spec = FlowSpec::default().with_granularity(granularity);
        if let Some(d) = dimension {
            spec = spec.with_breakdown(d);
        }
        let report = flow_report(&data, &paths, &spec)?;
        if json {
            print_json(&origin, as_of, "period", &report)?;
        } else {
            print_flow(&origin, as_of, &report);
        }
    }
    Ok(())
}

#[allow(clippy::print_stderr)]
fn eprintln_quirk(record: &str, message: &str) {
    eprintln!("data quirk: {record}: {message}");
}

fn print_json<T: serde::Serialize>(
    origin: &str,
    as_of: DateTime<Utc>,
    mode: &str,
    report: &T,
) -> Result<(), Error> {
    let v = serde_json::json!({ "origin": origin, "as_of": as_of, "mode": mode, "report": report });
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(())
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

fn print_velocity(v: &VelocityReport) {
    println!("\nvelocity (days; cycles whose endpoint was back-filled are left out)");
    println!(
        "{:<26} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}",
        "step", "count", "mean", "p25", "median", "p75", "p90", "inferred"
    );
    for s in &v.total.steps {
        let label = format!("{} → {}", s.from, s.to);
        match &s.summary {
            Some(m) => println!(
                "{label:<26} {:>9} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>9}",
                m.count,
                m.mean_days(),
                m.p25_days(),
                m.median_days(),
                m.p75_days(),
                m.p90_days(),
                s.excluded_inferred
            ),
            None => println!("{label:<26} {:>9} {:>53}", 0, s.excluded_inferred),
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
