//! What the test binaries share: shuffled input, a query's rows as JSON, and the
//! comparison of a result with the core engine's.

// Each test binary uses a part of these.
#![allow(dead_code)]

use std::ops::Range;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, UInt32Array};
use arrow_schema::{Field, Schema};
use datafusion::prelude::SessionContext;
use datafusion_common::ScalarValue;
use rust_decimal::Decimal;
use serde_json::Value;

/// A seeded permutation of `0..n` (a fixed LCG; the order only has to differ).
pub fn shuffled(n: usize, seed: u64) -> Vec<u32> {
    let mut order: Vec<u32> = (0..n as u32).collect();
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    for i in (1..n).rev() {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        order.swap(i, (s >> 33) as usize % (i + 1));
    }
    order
}

/// A batch of the named columns (every column nullable).
pub fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, c)| Field::new(*name, c.data_type().clone(), true))
        .collect();
    let arrays = columns.into_iter().map(|(_, c)| c).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
}

/// `batch`'s rows in a seeded random order.
pub fn shuffle(batch: &RecordBatch, seed: u64) -> RecordBatch {
    let take = UInt32Array::from(shuffled(batch.num_rows(), seed));
    let columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .map(|c| datafusion::arrow::compute::take(c, &take, None).unwrap())
        .collect();
    RecordBatch::try_new(batch.schema(), columns).unwrap()
}

/// `rows` rows cut into `parts` consecutive ranges of (nearly) equal length.
pub fn pieces(rows: usize, parts: usize) -> Vec<Range<usize>> {
    let per = rows.div_ceil(parts);
    (0..parts)
        .map(|p| {
            let start = (p * per).min(rows);
            start..start + per.min(rows - start)
        })
        .collect()
}

/// The rows of a query's first two columns: (key as text, value as JSON), sorted by
/// key (stable: rows with one key keep their order).
pub async fn rows(ctx: &SessionContext, sql: &str) -> Vec<(String, Value)> {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let mut out = Vec::new();
    for b in &batches {
        for r in 0..b.num_rows() {
            let key = ScalarValue::try_from_array(b.column(0), r).unwrap();
            let value = ScalarValue::try_from_array(b.column(1), r).unwrap();
            out.push((key.to_string(), to_json(&value)));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// A result value as JSON: structs as objects, lists as arrays, exact decimals as
/// their text.
pub fn to_json(v: &ScalarValue) -> Value {
    if v.is_null() {
        return Value::Null;
    }
    match v {
        ScalarValue::Struct(s) => Value::Object(
            s.fields()
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let x = ScalarValue::try_from_array(s.column(i), 0).unwrap();
                    (f.name().clone(), to_json(&x))
                })
                .collect(),
        ),
        ScalarValue::List(l) => {
            let items = l.value(0);
            Value::Array(
                (0..items.len())
                    .map(|i| to_json(&ScalarValue::try_from_array(&items, i).unwrap()))
                    .collect(),
            )
        }
        ScalarValue::Float64(Some(x)) => serde_json::json!(x),
        ScalarValue::UInt64(Some(x)) => serde_json::json!(x),
        ScalarValue::Boolean(Some(x)) => serde_json::json!(x),
        ScalarValue::Utf8(Some(s)) => Value::String(s.clone()),
        ScalarValue::Decimal128(Some(v), _, scale) => Value::String(
            Decimal::from_i128_with_scale(*v, u32::try_from(*scale).unwrap()).to_string(),
        ),
        other => panic!("unexpected result value {other:?}"),
    }
}

/// A core result's serde form.
pub fn json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap()
}

/// `got` (from DataFusion) equals `want` (the core result's JSON) on every field
/// `got` has: integers, text and decimals exactly, floats to 1e-12 (relative above 1).
pub fn assert_close(got: &Value, want: &Value, path: &str) {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            assert!(!g.is_empty(), "{path}: empty struct");
            for (k, gv) in g {
                let wv = w
                    .get(k)
                    .unwrap_or_else(|| panic!("{path}.{k}: not in the core result"));
                assert_close(gv, wv, &format!("{path}.{k}"));
            }
        }
        (Value::Array(g), Value::Array(w)) => {
            assert_eq!(g.len(), w.len(), "{path}: lengths");
            for (i, (gv, wv)) in g.iter().zip(w).enumerate() {
                assert_close(gv, wv, &format!("{path}[{i}]"));
            }
        }
        (Value::Number(g), Value::Number(w)) if g.is_f64() || w.is_f64() => {
            let (g, w) = (g.as_f64().unwrap(), w.as_f64().unwrap());
            assert!(
                (g - w).abs() <= 1e-12 * w.abs().max(1.0),
                "{path}: {g} vs {w}"
            );
        }
        (Value::String(g), Value::String(w)) => {
            match (g.parse::<Decimal>(), w.parse::<Decimal>()) {
                // Exact money: equal as decimals (the Arrow form has 9 places).
                (Ok(g), Ok(w)) => assert_eq!(g, w, "{path}"),
                _ => assert_eq!(g, w, "{path}"),
            }
        }
        _ => assert_eq!(got, want, "{path}"),
    }
}
