//! revops' functions on a Ballista standalone cluster (scheduler and executor in this
//! process, talking gRPC and Arrow Flight over localhost), against DataFusion in one
//! process and against the core engine.
//!
//! Ballista sends the logical plan from the client to the scheduler and each stage's
//! physical plan from the scheduler to the executors as protobuf; the aggregate
//! functions cross by name and are looked up in each side's function registry, their
//! options literal crosses as a plan literal, and the partial states (one `Binary`
//! column) cross the stage boundary in the shuffle files. So the functions have to be
//! registered on the session state the cluster is built from (the scheduler's
//! session and the executors' `BallistaFunctionRegistry` come from it), which is what
//! [`cluster`] does and what `functions_only_on_the_client_are_refused_by_the_cluster`
//! shows is needed.
//!
//! A function is added to the comparison with one line in [`CASES`].

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{BooleanArray, Float64Array, RecordBatch, StringArray};
use ballista::prelude::{SessionConfigExt, SessionContextExt};
use datafusion::execution::SessionStateBuilder;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use revops::Window;
use revops::pipeline::PipelineHistory;
use serde_json::Value;

use common::{assert_close, batch, json, pieces, rows, shuffle};

/// Every function, pooled (the partial states gathered into one final aggregate) and
/// grouped (hash-shuffled between the partial and final stages): the first column a
/// key, the second the function's result, the table named after the last `FROM`.
/// Options differ from the defaults where a function has them, so a literal lost on
/// the way to the executors would show. Add a function here: one line.
#[rustfmt::skip]
const CASES: &[&str] = &[
    r#"SELECT series, revops_forecast_errors(forecast, actual, '{"zero_actual": "skip"}') FROM forecasts GROUP BY series"#,
    "SELECT 'all', revops_forecast_errors(forecast, actual) FROM forecasts",
    r#"SELECT 'all', revops_calibration(probability, won, '{"bins": 5}') FROM predictions"#,
    r#"SELECT CASE WHEN probability < 0.5 THEN 'low' ELSE 'high' END, revops_calibration(probability, won, '{"strategy": "quantile"}') FROM predictions GROUP BY 1"#,
    r#"SELECT 'all', revops_win_rate(won, '{"method": "jeffreys", "confidence": 0.9}') FROM predictions"#,
    "SELECT CASE WHEN probability < 0.5 THEN 'low' ELSE 'high' END, revops_win_rate(CASE WHEN won THEN 'won' WHEN NOT won THEN 'lost' ELSE 'open' END) FROM predictions GROUP BY 1",
    "SELECT 'all', revops_markov(path, total_conversions, total_conversion_value, total_null) FROM paths",
    r#"SELECT 'all', revops_markov(path, total_conversions, total_conversion_value, total_null, '{"order": 2, "currency": "JPY"}') FROM paths"#,
    "SELECT 'all', revops_shapley(path, total_conversions, total_conversion_value, total_null) FROM paths",
    r#"SELECT 'all', revops_attribution(path, total_conversions, total_conversion_value, total_null, '{"model": "position_based"}') FROM paths"#,
];

/// The case's SQL reading the copy of its table split into `files` files.
fn on_files(sql: &str, files: usize) -> String {
    let at = sql.rfind(" FROM ").expect("a FROM") + " FROM ".len();
    let end = sql[at..].find(' ').map_or(sql.len(), |e| at + e);
    format!("{}_{files}{}", &sql[..end], &sql[end..])
}

/// The input tables, each split into files of shuffled rows: a scan has one partition
/// per file, so each file's rows go through their own partial aggregate.
const FILES: [usize; 2] = [2, 7];

/// The synthetic company's forecasts, its deals' first win probabilities with their
/// outcomes, and synthetic journeys: the core's inputs.
struct Data {
    forecasts: Vec<revops::ForecastPoint>,
    predictions: Vec<revops::forecast::Prediction>,
    paths: Vec<revops::PathRow>,
}

fn data() -> Data {
    let c = revops::synth::generate(
        &revops::synth::SynthConfig::default()
            .with_leads(20_000)
            .with_seed(7),
    )
    .unwrap();
    let h = PipelineHistory::new(
        revops::Funnel::salesforce_opportunity(),
        c.currency,
        &c.opportunity_history,
    )
    .unwrap();
    let start = c.window.start() + (c.window.end() - c.window.start()) / 2;
    let predictions = h.predictions(&Window::new(start, c.window.end()).unwrap());
    let config = revops::synth::PathsConfig {
        journeys: 20_000,
        channels: 8,
        seed: 5,
    };
    Data {
        forecasts: c.forecasts,
        predictions,
        paths: revops::synth::path_rows(&config).unwrap().collect(),
    }
}

/// The tables the cases read (a NULL `won` is a deal still open).
fn tables(d: &Data) -> Vec<(&'static str, RecordBatch)> {
    let f = &d.forecasts;
    let forecasts = batch(vec![
        (
            "series",
            Arc::new(StringArray::from_iter_values(
                f.iter().map(|p| p.series.clone()),
            )),
        ),
        (
            "forecast",
            Arc::new(Float64Array::from_iter_values(f.iter().map(|p| p.forecast))),
        ),
        (
            "actual",
            Arc::new(Float64Array::from(
                f.iter().map(|p| p.actual).collect::<Vec<_>>(),
            )),
        ),
    ]);
    let p = &d.predictions;
    let predictions = batch(vec![
        (
            "probability",
            Arc::new(Float64Array::from_iter_values(
                p.iter().map(|p| p.probability),
            )),
        ),
        (
            "won",
            Arc::new(BooleanArray::from(
                p.iter().map(|p| p.outcome.won()).collect::<Vec<_>>(),
            )),
        ),
    ]);
    let paths = revops::arrow::to_record_batch(&d.paths, &revops::csv::Options::new()).unwrap();
    vec![
        ("forecasts", forecasts),
        ("predictions", predictions),
        ("paths", paths),
    ]
}

/// Writes `batch`'s rows, shuffled, as `files` Parquet files in `dir`.
fn write_parts(dir: &Path, batch: &RecordBatch, files: usize, seed: u64) {
    std::fs::create_dir_all(dir).unwrap();
    let all = shuffle(batch, seed);
    for (f, r) in pieces(all.num_rows(), files).into_iter().enumerate() {
        let (start, len) = (r.start, r.len());
        let file = std::fs::File::create(dir.join(format!("part-{f}.parquet"))).unwrap();
        let mut w = ArrowWriter::try_new(file, all.schema(), None).unwrap();
        // Two row groups per file, so a partition's accumulator sees several batches.
        w.write(&all.slice(start, len / 2)).unwrap();
        w.flush().unwrap();
        w.write(&all.slice(start + len / 2, len - len / 2)).unwrap();
        w.close().unwrap();
    }
}

/// A session state with revops' functions registered, as the cluster is built from.
fn state_with_functions(partitions: usize) -> datafusion::execution::SessionState {
    let config = SessionConfig::new_with_ballista()
        .with_target_partitions(partitions)
        .with_ballista_standalone_parallelism(2);
    let mut state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .build();
    revops_datafusion::register_all(&mut state).unwrap();
    state
}

/// A Ballista standalone cluster whose scheduler and executor know revops' functions
/// (they are built from the state), and a client context that knows them too:
/// Ballista's upgrade of the state for the client resets its aggregate functions to
/// DataFusion's, so they are registered again on the context it returns.
async fn cluster(partitions: usize) -> SessionContext {
    let mut ctx = SessionContext::standalone_with_state(state_with_functions(partitions))
        .await
        .unwrap();
    revops_datafusion::register_all(&mut ctx).unwrap();
    ctx
}

/// The stages of the Ballista job that ran `sql` (from `EXPLAIN ANALYZE`): the
/// partial aggregates must run in one stage and the final in another, so the partial
/// states crossed a shuffle between executor tasks.
async fn assert_states_crossed_a_shuffle(ctx: &SessionContext, sql: &str) {
    let plan = rows(ctx, &format!("EXPLAIN ANALYZE {sql}")).await;
    let text = plan
        .iter()
        .map(|(_, v)| v.as_str().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let stages: Vec<&str> = text.split("=========SuccessfulStage").skip(1).collect();
    let partial = stages
        .iter()
        .position(|s| s.contains("mode=Partial") && s.contains("ShuffleWriter"));
    let last = stages
        .iter()
        .position(|s| s.contains("mode=Final") && s.contains("ShuffleReader"));
    assert!(
        matches!((partial, last), (Some(p), Some(f)) if p != f),
        "{sql}: the partial and final aggregates should be separate stages:\n{text}"
    );
}

/// A fresh folder for one test's files.
fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("revops-ballista-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_function_on_a_ballista_cluster_equals_datafusion_in_one_process() {
    let dir = scratch_dir("standalone");
    let data = data();
    let tables = tables(&data);
    let ballista = cluster(7).await;
    let mut local = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1));
    revops_datafusion::register_all(&mut local).unwrap();
    for (name, batch) in &tables {
        for files in FILES {
            let path = dir.join(format!("{name}-{files}"));
            write_parts(&path, batch, files, files as u64);
            let path = path.to_str().unwrap();
            let table = format!("{name}_{files}");
            let read = ParquetReadOptions::default();
            ballista
                .register_parquet(&table, path, read.clone())
                .await
                .unwrap();
            local.register_parquet(&table, path, read).await.unwrap();
        }
    }
    for case in CASES {
        for files in FILES {
            let sql = on_files(case, files);
            let want = rows(&local, &sql).await;
            let got = rows(&ballista, &sql).await;
            assert!(!want.is_empty(), "{sql}: no rows");
            assert_eq!(
                got.iter().map(|r| &r.0).collect::<Vec<_>>(),
                want.iter().map(|r| &r.0).collect::<Vec<_>>(),
                "{sql}: keys"
            );
            for ((key, g), (_, w)) in got.iter().zip(&want) {
                assert_close(g, w, &format!("{files} files, {key}: {sql}"));
            }
        }
    }
    for (sql, want) in core_results(&data) {
        let sql = on_files(sql, 7);
        let got = rows(&ballista, &sql).await;
        assert_eq!(got.len(), 1, "{sql}");
        assert_close(&got[0].1, &want, &format!("core: {sql}"));
    }
    for case in CASES {
        assert_states_crossed_a_shuffle(&ballista, &on_files(case, 7)).await;
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The registry is the point: a cluster built from a state without revops' functions
/// refuses a plan that names them, even when the client's own context has them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_only_on_the_client_are_refused_by_the_cluster() {
    let dir = scratch_dir("client-only");
    let d = data();
    let (name, batch) = tables(&d).swap_remove(0);
    write_parts(&dir, &batch, 2, 1);
    let bare = SessionStateBuilder::new()
        .with_config(SessionConfig::new_with_ballista().with_ballista_standalone_parallelism(2))
        .with_default_features()
        .build();
    let mut ctx = SessionContext::standalone_with_state(bare).await.unwrap();
    revops_datafusion::register_all(&mut ctx).unwrap();
    ctx.register_parquet(name, dir.to_str().unwrap(), ParquetReadOptions::default())
        .await
        .unwrap();
    let e = match ctx
        .sql("SELECT revops_forecast_errors(forecast, actual) FROM forecasts")
        .await
    {
        Err(e) => e.to_string(),
        Ok(df) => df.collect().await.unwrap_err().to_string(),
    };
    assert!(e.contains("revops_forecast_errors"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Pooled queries of [`CASES`] with their results computed by the core engine itself
/// (the same options), each channel's revenue being the core's exact value split.
fn core_results(d: &Data) -> Vec<(&'static str, Value)> {
    use revops::attribution::{
        MarkovOptions, ShapleyOptions, markov_attribution, shapley_attribution,
    };
    use revops::forecast::{Calibration, CalibrationOptions, ErrorOptions, ErrorStats};
    use revops::pipeline::{WinRate, WinRateCount, WinRateSpec};
    let mut errors = ErrorStats::new(ErrorOptions::default());
    errors.add_batch(&d.forecasts).unwrap();
    let calibration =
        Calibration::from_predictions(&d.predictions, CalibrationOptions::default().with_bins(5))
            .unwrap()
            .finish()
            .unwrap();
    let spec = WinRateSpec::new(chrono::DateTime::UNIX_EPOCH).with_interval(
        revops::IntervalMethod::Jeffreys,
        revops::Confidence::new(0.9).unwrap(),
    );
    let mut deals = WinRate::new(&spec);
    for p in &d.predictions {
        let count = match p.outcome.won() {
            Some(true) => WinRateCount::Won,
            Some(false) => WinRateCount::Lost,
            None => WinRateCount::Open,
        };
        deals.add(&count).unwrap();
    }
    let rate = deals.finish().unwrap();
    let mut win_rate = json(&rate);
    win_rate["rate"] = serde_json::json!(rate.ratio.value());
    let markov = markov_attribution(&d.paths, MarkovOptions::default().with_order(2)).unwrap();
    let mut markov_json = json(&markov);
    let jpy: revops::Currency = "JPY".parse().unwrap();
    for (c, part) in markov_json["channels"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .zip(markov.value_split(jpy).unwrap())
    {
        c["revenue"] = Value::String(part.amount().to_string());
    }
    let shapley = shapley_attribution(&d.paths, ShapleyOptions::default()).unwrap();
    let credits = |c: &revops::attribution::ShapleyCredits| {
        let mut v = json(c);
        for (x, part) in v["credits"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .zip(c.value_split(revops::Currency::USD).unwrap())
        {
            x["revenue"] = Value::String(part.amount().to_string());
        }
        v
    };
    let shapley_json = serde_json::json!({
        "simplified": credits(&shapley.simplified),
        "conversion_rate": credits(&shapley.conversion_rate.credits),
        "shao_li": credits(&shapley.shao_li.credits),
        "ordered": json(&shapley.ordered),
    });
    vec![
        (CASES[1], json(&errors.finish().unwrap())),
        (CASES[2], json(&calibration)),
        (CASES[4], win_rate),
        (CASES[7], markov_json),
        (CASES[8], shapley_json),
    ]
}

/// A cluster set up as a user's own scheduler and executor processes would be (the
/// README's recipe): the scheduler's session builder registers the functions, the
/// executor gets a `BallistaFunctionRegistry` holding them, and a client connects to
/// the scheduler's address as to any remote cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduler_and_executor_set_up_as_the_readme_says_run_the_functions() {
    use ballista_core::registry::BallistaFunctionRegistry;
    use ballista_core::serde::BallistaCodec;
    use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
    use ballista_core::utils::{default_config_producer, default_session_builder};
    use datafusion::execution::SessionState;
    use datafusion::execution::runtime_env::RuntimeEnv;

    // The scheduler: its sessions are built with revops' functions registered.
    let session_builder = Arc::new(
        |config: SessionConfig| -> datafusion::common::Result<SessionState> {
            let mut state = default_session_builder(config)?;
            revops_datafusion::register_all(&mut state)?;
            Ok(state)
        },
    );
    let addr = ballista_scheduler::standalone::new_standalone_scheduler_with_builder(
        session_builder,
        Arc::new(default_config_producer),
        BallistaCodec::default(),
    )
    .await
    .unwrap();
    let url = format!("http://localhost:{}", addr.port());

    // The executor: DataFusion's functions and revops'.
    let mut registry = BallistaFunctionRegistry::default();
    for f in revops_datafusion::functions() {
        registry
            .aggregate_functions
            .insert(f.name().to_string(), Arc::new(f));
    }
    let scheduler = loop {
        match SchedulerGrpcClient::connect(url.clone()).await {
            Ok(s) => break s,
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    };
    let runtime = Arc::new(RuntimeEnv::default());
    ballista_executor::new_standalone_executor_from_builder(
        scheduler,
        2,
        Arc::new(default_config_producer),
        Arc::new(
            move |_: &SessionConfig| -> datafusion::common::Result<Arc<RuntimeEnv>> {
                Ok(runtime.clone())
            },
        ),
        BallistaCodec::default(),
        registry,
    )
    .await
    .unwrap();

    // The client plans the SQL, so it knows the functions too (registered on the
    // context: Ballista's upgrade of a given state resets its aggregate functions).
    let state = SessionStateBuilder::new()
        .with_config(SessionConfig::new_with_ballista().with_target_partitions(3))
        .with_default_features()
        .build();
    let mut client =
        SessionContext::remote_with_state(&format!("df://localhost:{}", addr.port()), state)
            .await
            .unwrap();
    revops_datafusion::register_all(&mut client).unwrap();
    let mut local = SessionContext::new();
    revops_datafusion::register_all(&mut local).unwrap();

    let dir = scratch_dir("remote");
    let d = data();
    for (name, batch) in tables(&d) {
        let path = dir.join(name);
        write_parts(&path, &batch, 3, 3);
        let path = path.to_str().unwrap();
        client
            .register_parquet(name, path, ParquetReadOptions::default())
            .await
            .unwrap();
        local
            .register_parquet(name, path, ParquetReadOptions::default())
            .await
            .unwrap();
    }
    for case in CASES {
        let want = rows(&local, case).await;
        let got = rows(&client, case).await;
        assert_eq!(got.len(), want.len(), "{}", case);
        for ((key, g), (k, w)) in got.iter().zip(&want) {
            assert_eq!(key, k, "{}", case);
            assert_close(g, w, &format!("remote, {key}: {}", case));
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
