//! revops' aggregate functions from SQL: register them on a DataFusion session, point
//! it at a folder of canonical CSV files, and query.
//!
//! Struct fields are read with `get_field(m, 'mae')`; with DataFusion's default
//! features (`nested_expressions`) `m['mae']` works too.
//!
//! ```sh
//! cargo run -p revops-datafusion --example sql                 # a synthetic company
//! cargo run -p revops-datafusion --example sql -- --data DIR   # your leads, stage_events, touches, conversions, paths, forecasts and opportunity_history CSV files
//! ```

use std::path::{Path, PathBuf};

use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::error::Result;
use datafusion::prelude::{CsvReadOptions, SessionContext};

/// Forecast accuracy per series: one row per series, the metrics as columns.
const FORECAST_ERRORS: &str = "
SELECT series, get_field(m, 'n') AS n, get_field(m, 'mae') AS mae, get_field(m, 'wape') AS wape, get_field(m, 'bias') AS bias,
       get_field(m, 'accuracy') AS accuracy, get_field(m, 'band') AS band
FROM (SELECT series, revops_forecast_errors(forecast, actual, '{\"zero_actual\": \"skip\"}') AS m
      FROM forecasts GROUP BY series)
ORDER BY series";

/// Calibration of each deal's first win probability against how it ended (NULL while
/// open: counted, not scored).
const CALIBRATION: &str = "
WITH deals AS (
  SELECT opportunity_id,
         first_value(probability ORDER BY changed_at) AS p,
         last_value(stage ORDER BY changed_at) AS final_stage
  FROM opportunity_history GROUP BY opportunity_id)
SELECT get_field(get_field(c, 'scores'), 'won') AS won, get_field(get_field(c, 'scores'), 'lost') AS lost, get_field(get_field(c, 'scores'), 'open') AS open,
       get_field(get_field(c, 'scores'), 'brier') AS brier, get_field(c, 'roc_auc') AS roc_auc, get_field(get_field(c, 'reliability'), 'ece') AS ece
FROM (SELECT revops_calibration(p,
        CASE final_stage WHEN 'closed_won' THEN true WHEN 'closed_lost' THEN false END,
        '{\"bins\": 10}') AS c
      FROM deals WHERE p IS NOT NULL)";

/// Cohort conversion per quarter of lead creation: one row per lead (its creation) and
/// one per stage event, in any order; the function rebuilds each lead's path.
const COHORTS: &str = "
WITH report AS (
  SELECT revops_cohorts(lead, created_at, stage, at, '{\"granularity\": \"quarter\"}') AS r
  FROM (SELECT subject_id AS lead, created_at, NULL AS stage, NULL AS at FROM leads
        UNION ALL
        SELECT subject_id, NULL, stage, at FROM stage_events)),
cohorts AS (SELECT unnest(get_field(r, 'rows')) AS c FROM report)
SELECT get_field(c, 'cohort') AS cohort, get_field(c, 'entered') AS entered,
       get_field(c, 'reached') AS reached_per_stage
FROM cohorts ORDER BY cohort";

/// U-shaped (40/20/40) credit per channel over the journeys' paths, with the value
/// split exactly (Decimal128).
const ATTRIBUTION: &str = "
WITH a AS (
  SELECT revops_attribution(path, total_conversions, total_conversion_value, total_null,
                            '{\"model\": \"u_shaped\"}') AS r
  FROM paths),
channels AS (SELECT unnest(get_field(r, 'channels')) AS c FROM a)
SELECT get_field(c, 'channel') AS channel, get_field(c, 'conversions') AS conversions,
       get_field(c, 'revenue') AS revenue
FROM channels ORDER BY revenue DESC";

/// W-shaped credit per channel over journeys cut from touches, conversions and
/// stage events (lead and opportunity creation anchor the milestones).
const TOUCH_ATTRIBUTION: &str = "
WITH a AS (
  SELECT revops_touch_attribution(kind, subject, at, name, campaign, value,
                                  '{\"model\": \"w_shaped\"}') AS r
  FROM (SELECT 'touch' AS kind, subject_id AS subject, at, channel AS name, campaign, NULL AS value FROM touches
        UNION ALL
        SELECT 'conversion', subject_id, at, NULL, NULL, value FROM conversions
        UNION ALL
        SELECT 'stage', subject_id, at, stage, NULL, NULL FROM stage_events)),
channels AS (SELECT unnest(get_field(r, 'channels')) AS c FROM a)
SELECT get_field(c, 'channel') AS channel, get_field(c, 'conversions') AS conversions,
       get_field(c, 'revenue') AS revenue
FROM channels ORDER BY revenue DESC";

fn folder() -> std::result::Result<PathBuf, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, dir] if flag == "--data" => Ok(PathBuf::from(dir)),
        [] => synthetic(false),
        [flag] if flag == "--quick" => synthetic(true),
        _ => Err("usage: sql [--data DIR | --quick]".into()),
    }
}

/// Writes a synthetic company's leads, stage events, journeys' paths, forecasts and
/// opportunity history as CSV files.
fn synthetic(quick: bool) -> std::result::Result<PathBuf, String> {
    use revops::csv::{Options, write_records};
    let leads = if quick { 5_000 } else { 50_000 };
    let config = revops::synth::SynthConfig::default()
        .with_leads(leads)
        .with_seed(7);
    let c = revops::synth::generate(&config).map_err(|e| e.to_string())?;
    let dir = std::env::temp_dir().join(format!("revops-sql-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let write = |name: &str, f: &dyn Fn(std::fs::File) -> revops::Result<std::fs::File>| {
        let file = std::fs::File::create(dir.join(name)).map_err(|e| e.to_string())?;
        f(file).map(drop).map_err(|e| e.to_string())
    };
    write("leads.csv", &|w| write_records(w, &c.leads, Options::new()))?;
    write("touches.csv", &|w| {
        write_records(w, &c.touches, Options::new())
    })?;
    write("conversions.csv", &|w| {
        write_records(w, &c.conversions, Options::new())
    })?;
    write("stage_events.csv", &|w| {
        write_records(w, &c.stage_events, Options::new())
    })?;
    let paths = revops::synth::PathsConfig {
        journeys: leads,
        channels: 8,
        seed: 7,
    };
    let rows: Vec<revops::PathRow> = revops::synth::path_rows(&paths)
        .map_err(|e| e.to_string())?
        .collect();
    write("paths.csv", &|w| write_records(w, &rows, Options::new()))?;
    write("forecasts.csv", &|w| {
        write_records(w, &c.forecasts, Options::new())
    })?;
    write("opportunity_history.csv", &|w| {
        write_records(w, &c.opportunity_history, Options::new())
    })?;
    println!(
        "synthetic company: {leads} leads, files in {}",
        dir.display()
    );
    Ok(dir)
}

async fn run(dir: &Path) -> Result<()> {
    let mut ctx = SessionContext::new();
    revops_datafusion::register_all(&mut ctx)?;
    for table in [
        "leads",
        "stage_events",
        "touches",
        "forecasts",
        "opportunity_history",
    ] {
        let path = dir.join(format!("{table}.csv"));
        ctx.register_csv(
            table,
            path.to_string_lossy().as_ref(),
            CsvReadOptions::new(),
        )
        .await?;
    }
    // Money stays exact: the value is read as text (a float would be refused).
    let paths = Schema::new(vec![
        Field::new("path", DataType::Utf8, false),
        Field::new("total_conversions", DataType::Float64, false),
        Field::new("total_conversion_value", DataType::Utf8, false),
        Field::new("total_null", DataType::Float64, false),
    ]);
    let path = dir.join("paths.csv");
    ctx.register_csv(
        "paths",
        path.to_string_lossy().as_ref(),
        CsvReadOptions::new().schema(&paths),
    )
    .await?;
    let conversions = Schema::new(vec![
        Field::new("subject_id", DataType::Utf8, false),
        Field::new(
            "at",
            DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            false,
        ),
        Field::new("value", DataType::Utf8, true),
        Field::new("currency", DataType::Utf8, true),
    ]);
    let path = dir.join("conversions.csv");
    ctx.register_csv(
        "conversions",
        path.to_string_lossy().as_ref(),
        CsvReadOptions::new().schema(&conversions),
    )
    .await?;
    println!("\nCohorts by quarter of lead creation\n{COHORTS}\n");
    ctx.sql(COHORTS).await?.show().await?;
    println!("\nU-shaped attribution per channel\n{ATTRIBUTION}\n");
    ctx.sql(ATTRIBUTION).await?.show().await?;
    println!("\nW-shaped attribution per channel from touches\n{TOUCH_ATTRIBUTION}\n");
    ctx.sql(TOUCH_ATTRIBUTION).await?.show().await?;
    println!("\nForecast errors per series\n{FORECAST_ERRORS}\n");
    ctx.sql(FORECAST_ERRORS).await?.show().await?;
    println!("\nCalibration of first win probabilities\n{CALIBRATION}\n");
    ctx.sql(CALIBRATION).await?.show().await?;
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let dir = match folder() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let outcome = run(&dir).await;
    if dir.starts_with(std::env::temp_dir()) {
        // The synthetic company's files were ours; a --data folder is left alone.
        let _ = std::fs::remove_dir_all(&dir);
    }
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
