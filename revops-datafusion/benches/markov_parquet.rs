//! Markov attribution of journeys stored in Parquet: the core engine in one process
//! against `revops_markov` through DataFusion with 1 and 2 partitions, on the same file.
//!
//! The file is `REVOPS_BENCH_PATHS` when set (a Parquet file of the canonical path
//! table, `path` joined with `>`), otherwise a synthetic one made once and kept at
//! `target/revops-bench/paths-<journeys>x<channels>.parquet`: `REVOPS_BENCH_JOURNEYS`
//! journeys (default 10,000,000) over `REVOPS_BENCH_CHANNELS` channels (default 500),
//! seed 7 — the same rows as `synth --paths 10000000 --channels 500`.
//!
//! ```text
//! cargo bench -p revops-datafusion --bench markov_parquet
//! REVOPS_BENCH_JOURNEYS=1000000 cargo bench -p revops-datafusion --bench markov_parquet
//! ```
//!
//! Every variant computes the same report; the bench checks that before timing.

use std::env;
use std::fs::{self, File};
use std::hint::black_box;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::{Decimal128Type, Float64Type};
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use revops::arrow::parquet::{Reader, Writer};
use revops::attribution::{MarkovCounts, MarkovOptions};
use revops::csv::Options;
use revops::synth::{PathsConfig, path_rows};
use revops::{Currency, PathRow};

/// A number from the environment, or `default`.
fn setting(name: &str, default: u64) -> u64 {
    env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// The Parquet file the bench reads: the user's, or a synthetic one made once.
fn paths_file() -> PathBuf {
    if let Ok(p) = env::var("REVOPS_BENCH_PATHS") {
        return PathBuf::from(p);
    }
    let journeys = setting("REVOPS_BENCH_JOURNEYS", 10_000_000);
    let channels = setting("REVOPS_BENCH_CHANNELS", 500);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/revops-bench");
    let path = dir.join(format!("paths-{journeys}x{channels}.parquet"));
    if !path.exists() {
        fs::create_dir_all(&dir).expect("creating target/revops-bench");
        let config = PathsConfig::default()
            .with_journeys(journeys)
            .with_channels(usize::try_from(channels).expect("channels"))
            .with_seed(7);
        let partial = path.with_extension("partial");
        let out = BufWriter::new(File::create(&partial).expect("creating the bench file"));
        let mut w = Writer::<PathRow, _>::new(out, &Options::new()).expect("a writer");
        for row in path_rows(&config).expect("synthetic paths") {
            w.write(&row).expect("writing a path row");
        }
        w.finish().expect("finishing the Parquet file");
        fs::rename(&partial, &path).expect("naming the bench file");
    }
    path
}

/// The core engine in one process: read the file, fold, solve, split the value.
fn core(path: &Path) -> (f64, Vec<revops::Money>) {
    let mut counts = MarkovCounts::new(MarkovOptions::default()).expect("options");
    Reader::<PathRow>::from_path(path, Options::new())
        .expect("opening the file")
        .for_each(|row| counts.add(&row))
        .expect("reading the file");
    let report = counts.finish().expect("solving");
    let split = report.value_split(Currency::USD).expect("splitting");
    (report.p_conversion, split)
}

/// `revops_markov` over the file through DataFusion with `partitions` partitions: the
/// probability of conversion and the channels' revenue (exact, in `Decimal128`).
fn datafusion(
    runtime: &tokio::runtime::Runtime,
    path: &Path,
    partitions: usize,
) -> (f64, Vec<i128>) {
    runtime.block_on(async {
        let config = SessionConfig::new().with_target_partitions(partitions);
        let mut ctx = SessionContext::new_with_config(config);
        revops_datafusion::register_all(&mut ctx).expect("registering");
        ctx.register_parquet(
            "paths",
            path.to_str().expect("a UTF-8 path"),
            ParquetReadOptions::default(),
        )
        .await
        .expect("registering the file");
        let df = ctx
            .sql(
                "SELECT revops_markov(path, total_conversions, total_conversion_value, \
                 total_null) AS m FROM paths",
            )
            .await
            .expect("planning");
        let batches = df.collect().await.expect("running");
        let report = batches[0].column(0).as_struct();
        let p = report
            .column_by_name("p_conversion")
            .expect("p_conversion")
            .as_primitive::<Float64Type>()
            .value(0);
        let channels = report
            .column_by_name("channels")
            .expect("channels")
            .as_list::<i32>();
        let channels = channels.value(0);
        let revenue = channels
            .as_struct()
            .column_by_name("revenue")
            .expect("revenue")
            .as_primitive::<Decimal128Type>()
            .values()
            .to_vec();
        (p, revenue)
    })
}

fn bench(c: &mut Criterion) {
    let path = paths_file();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    // The same report three ways before anything is timed.
    let (p, split) = core(&path);
    let exact: Vec<i128> = split
        .iter()
        .map(|m| {
            let mut a = m.amount();
            a.rescale(revops::arrow::MONEY_SCALE as u32);
            a.mantissa()
        })
        .collect();
    for partitions in [1, 2] {
        let (p_df, revenue) = datafusion(&runtime, &path, partitions);
        assert!(
            (p_df - p).abs() <= 1e-12,
            "p_conversion {p_df} vs the core's {p}"
        );
        assert_eq!(
            revenue, exact,
            "revenue differs from the core's at {partitions} partitions"
        );
    }
    let mut g = c.benchmark_group("markov_parquet");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("core", |b| b.iter(|| black_box(core(&path))));
    for partitions in [1, 2] {
        g.bench_function(format!("datafusion/{partitions}"), |b| {
            b.iter(|| black_box(datafusion(&runtime, &path, partitions)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
