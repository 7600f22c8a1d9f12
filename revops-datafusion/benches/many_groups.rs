//! `GROUP BY` over many groups: `revops_win_rate` per owner and
//! `revops_forecast_errors` per series, in memory, with the functions'
//! `GroupsAccumulator` (`grouped`) and with DataFusion's adapter over the row
//! accumulator instead (`rows`: the same functions with the groups accumulator turned
//! off, as before it existed), at 1 and 2 partitions.
//!
//! `REVOPS_BENCH_ROWS` rows (default 1,000,000) over `REVOPS_BENCH_GROUPS` groups
//! (default 100,000).
//!
//! ```text
//! cargo bench -p revops-datafusion --bench many_groups
//! REVOPS_BENCH_GROUPS=1000 cargo bench -p revops-datafusion --bench many_groups
//! ```
//!
//! Both ways give the same rows; the bench checks that before timing.

use std::env;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use datafusion::arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Schema};
use datafusion::common::Result;
use datafusion::datasource::MemTable;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{Accumulator, AggregateUDF, AggregateUDFImpl, Signature};
use datafusion::prelude::{SessionConfig, SessionContext};

/// A number from the environment, or `default`.
fn setting(name: &str, default: usize) -> usize {
    env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// A function with its `GroupsAccumulator` turned off: DataFusion then keeps a row
/// accumulator per group behind its adapter.
#[derive(Debug, PartialEq, Eq, Hash)]
struct RowsOnly(AggregateUDF);

impl AggregateUDFImpl for RowsOnly {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn signature(&self) -> &Signature {
        self.0.signature()
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.0.coerce_types(arg_types)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.0.return_type(arg_types)
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        self.0.accumulator(args)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        self.0.state_fields(args)
    }
}

/// Rows of `groups` keys: key, outcome (deals), forecast and actual (series).
fn table(rows: usize, groups: usize) -> RecordBatch {
    let mut s = 7u64;
    let mut next = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        s >> 33
    };
    let kinds = ["won", "lost", "open", "no_decision", "stale"];
    let (mut key, mut outcome, mut forecast, mut actual) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rows {
        key.push(format!("k{:07}", next() as usize % groups));
        outcome.push(kinds[next() as usize % kinds.len()]);
        let f = (next() % 10_000) as f64 / 10.0;
        forecast.push(f);
        actual.push(f * (0.5 + (next() % 100) as f64 / 100.0));
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(key)),
        Arc::new(StringArray::from(outcome)),
        Arc::new(Float64Array::from(forecast)),
        Arc::new(Float64Array::from(actual)),
    ];
    let schema = Schema::new(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("outcome", DataType::Utf8, false),
        Field::new("forecast", DataType::Float64, false),
        Field::new("actual", DataType::Float64, false),
    ]);
    RecordBatch::try_new(Arc::new(schema), columns).expect("the bench table")
}

/// A context with the table in `partitions` partitions and the functions, grouped or
/// not.
fn context(batch: &RecordBatch, partitions: usize, grouped: bool) -> SessionContext {
    let ctx =
        SessionContext::new_with_config(SessionConfig::new().with_target_partitions(partitions));
    for f in revops_datafusion::functions() {
        let f = if grouped {
            f
        } else {
            AggregateUDF::new_from_impl(RowsOnly(f))
        };
        ctx.register_udaf(f);
    }
    let per = batch.num_rows().div_ceil(partitions);
    let parts = (0..partitions)
        .map(|p| {
            let start = (p * per).min(batch.num_rows());
            vec![batch.slice(start, per.min(batch.num_rows() - start))]
        })
        .collect();
    let table = MemTable::try_new(batch.schema(), parts).expect("a table");
    ctx.register_table("t", Arc::new(table))
        .expect("registering");
    ctx
}

const QUERIES: [(&str, &str); 2] = [
    (
        "win_rate",
        "SELECT key, revops_win_rate(outcome) FROM t GROUP BY key ORDER BY key",
    ),
    (
        "forecast_errors",
        "SELECT key, revops_forecast_errors(forecast, actual) FROM t GROUP BY key ORDER BY key",
    ),
];

fn run(runtime: &tokio::runtime::Runtime, ctx: &SessionContext, sql: &str) -> Vec<RecordBatch> {
    runtime.block_on(async {
        ctx.sql(sql)
            .await
            .expect("planning")
            .collect()
            .await
            .expect("running")
    })
}

fn bench(c: &mut Criterion) {
    let batch = table(
        setting("REVOPS_BENCH_ROWS", 1_000_000),
        setting("REVOPS_BENCH_GROUPS", 100_000),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let mut g = c.benchmark_group("many_groups");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    for partitions in [1, 2] {
        let (grouped, rows) = (
            context(&batch, partitions, true),
            context(&batch, partitions, false),
        );
        for (name, sql) in QUERIES {
            // The same rows both ways before anything is timed.
            assert_eq!(
                run(&runtime, &grouped, sql),
                run(&runtime, &rows, sql),
                "{name} at {partitions} partitions"
            );
            for (way, ctx) in [("grouped", &grouped), ("rows", &rows)] {
                g.bench_function(format!("{name}/{way}/{partitions}"), |b| {
                    b.iter(|| black_box(run(&runtime, ctx, sql)))
                });
            }
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
