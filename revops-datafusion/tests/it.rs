//! Every function through a DataFusion `SessionContext` on the synthetic company, with
//! 1, 2 and 7 partitions of shuffled input, against the core engine: counts exactly,
//! floats to 1e-12.

mod common;

use std::sync::Arc;

use arrow_array::{BooleanArray, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};
use revops::Window;
use revops::forecast::{Calibration, CalibrationOptions, ErrorOptions, ErrorStats};
use revops::pipeline::PipelineHistory;
use revops::synth::{Company, SynthConfig, generate};
use rust_decimal::Decimal;
use serde_json::Value;

use common::{assert_close, batch, pieces, rows, shuffle};

fn company() -> Company {
    generate(&SynthConfig::default().with_leads(20_000).with_seed(7)).unwrap()
}

/// A context holding `table` split into `partitions` partitions of shuffled rows.
fn context(name: &str, batch: &RecordBatch, partitions: usize, seed: u64) -> SessionContext {
    let all = shuffle(batch, seed);
    let parts: Vec<Vec<RecordBatch>> = pieces(all.num_rows(), partitions)
        .into_iter()
        .map(|r| {
            // Several batches per partition, so update_batch runs more than once.
            let mid = r.len() / 2;
            vec![
                all.slice(r.start, mid),
                all.slice(r.start + mid, r.len() - mid),
            ]
        })
        .collect();
    let config = SessionConfig::new().with_target_partitions(partitions);
    let mut ctx = SessionContext::new_with_config(config);
    revops_datafusion::register_all(&mut ctx).unwrap();
    let table = MemTable::try_new(batch.schema(), parts).unwrap();
    ctx.register_table(name, Arc::new(table)).unwrap();
    ctx
}

const PARTITIONS: [usize; 3] = [1, 2, 7];

/// With more than one partition the plan aggregates in two phases, so the partial
/// states cross partitions (`state` → `merge_batch`): the path under test.
async fn assert_two_phase(ctx: &SessionContext, sql: &str, partitions: usize) {
    let plan = rows(ctx, &format!("EXPLAIN {sql}")).await;
    let text = format!("{plan:?}");
    if partitions > 1 {
        assert!(
            text.contains("mode=Partial") && text.contains("mode=Final"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn forecast_errors_equal_the_core_per_series_and_pooled() {
    let c = company();
    let f = &c.forecasts;
    assert!(f.len() > 20, "the synthetic company has forecasts");
    let schema = Arc::new(Schema::new(vec![
        Field::new("series", DataType::Utf8, false),
        Field::new("forecast", DataType::Float64, false),
        Field::new("actual", DataType::Float64, true),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from_iter_values(
                f.iter().map(|p| p.series.clone()),
            )),
            Arc::new(Float64Array::from_iter_values(f.iter().map(|p| p.forecast))),
            Arc::new(Float64Array::from(
                f.iter().map(|p| p.actual).collect::<Vec<_>>(),
            )),
        ],
    )
    .unwrap();
    let options = r#"{"zero_actual":"skip"}"#;
    for parts in PARTITIONS {
        let ctx = context("forecasts", &batch, parts, parts as u64);
        let got = rows(
            &ctx,
            &format!(
                "SELECT series, revops_forecast_errors(forecast, actual, '{options}') \
                 FROM forecasts GROUP BY series ORDER BY series"
            ),
        )
        .await;
        let series: std::collections::BTreeSet<&str> =
            f.iter().map(|p| p.series.as_str()).collect();
        assert_eq!(got.len(), series.len());
        for (key, value) in &got {
            let mut core = ErrorStats::new(ErrorOptions::default());
            for p in f.iter().filter(|p| &p.series == key) {
                core.add(p).unwrap();
            }
            let want = serde_json::to_value(core.finish().unwrap()).unwrap();
            assert_close(value, &want, &format!("{parts} partitions, {key}"));
        }
        let sql = "SELECT 'all', revops_forecast_errors(forecast, actual) FROM forecasts";
        assert_two_phase(&ctx, sql, parts).await;
        let pooled = rows(&ctx, sql).await;
        let mut core = ErrorStats::new(ErrorOptions::default());
        core.add_batch(f).unwrap();
        let want = serde_json::to_value(core.finish().unwrap()).unwrap();
        assert_eq!(pooled[0].1["n"], want["n"]);
        assert_close(&pooled[0].1, &want, &format!("{parts} partitions, pooled"));
    }
}

#[tokio::test]
async fn calibration_equals_the_core() {
    let c = company();
    let h = PipelineHistory::new(
        revops::Funnel::salesforce_opportunity(),
        c.currency,
        &c.opportunity_history,
    )
    .unwrap();
    let start = c.window.start() + (c.window.end() - c.window.start()) / 2;
    let p = h.predictions(&Window::new(start, c.window.end()).unwrap());
    assert!(p.len() > 100, "{} predictions", p.len());
    let schema = Arc::new(Schema::new(vec![
        Field::new("probability", DataType::Float64, false),
        Field::new("won", DataType::Boolean, true),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Float64Array::from_iter_values(
                p.iter().map(|p| p.probability),
            )),
            Arc::new(BooleanArray::from(
                p.iter().map(|p| p.outcome.won()).collect::<Vec<_>>(),
            )),
        ],
    )
    .unwrap();
    let options = CalibrationOptions::default().with_bins(5);
    let core = Calibration::from_predictions(&p, options)
        .unwrap()
        .finish()
        .unwrap();
    assert!(core.scores.open > 0 && core.scores.won > 0 && core.scores.lost > 0);
    let want = serde_json::to_value(&core).unwrap();
    for parts in PARTITIONS {
        let ctx = context("predictions", &batch, parts, 11 * parts as u64);
        let sql =
            r#"SELECT 'all', revops_calibration(probability, won, '{"bins": 5}') FROM predictions"#;
        assert_two_phase(&ctx, sql, parts).await;
        let got = rows(&ctx, sql).await;
        assert_close(&got[0].1, &want, &format!("{parts} partitions"));
        assert_eq!(
            got[0].1["reliability"]["bins"].as_array().unwrap().len(),
            want["reliability"]["bins"].as_array().unwrap().len()
        );
    }
}

#[tokio::test]
async fn bad_input_and_bad_options_are_clear_errors() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("forecast", DataType::Float64, true),
        Field::new("actual", DataType::Float64, true),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Float64Array::from(vec![Some(1.0), None])),
            Arc::new(Float64Array::from(vec![Some(1.0), Some(2.0)])),
        ],
    )
    .unwrap();
    let ctx = context("f", &batch, 1, 0);
    let err = |sql: &'static str| {
        let ctx = ctx.clone();
        async move {
            match ctx.sql(sql).await {
                Err(e) => e.to_string(),
                Ok(df) => df.collect().await.unwrap_err().to_string(),
            }
        }
    };
    let e = err("SELECT revops_forecast_errors(forecast, actual) FROM f").await;
    assert!(
        e.contains("revops_forecast_errors: input row") && e.contains("forecast is NULL"),
        "{e}"
    );
    let e = err(r#"SELECT revops_forecast_errors(forecast, actual, '{"zero": 1}') FROM f"#).await;
    assert!(e.contains("unknown option `zero`"), "{e}");
    let e = err("SELECT revops_forecast_errors(forecast, actual, forecast) FROM f").await;
    assert!(e.contains("must be a string"), "{e}");
    let e = err("SELECT revops_forecast_errors(forecast) FROM f").await;
    assert!(e.contains("takes 2 columns"), "{e}");
}

#[tokio::test]
async fn markov_equals_the_core_and_revenue_sums_to_the_total() {
    use revops::attribution::{MarkovOptions, markov_attribution};
    use revops::synth::{PathsConfig, path_rows};
    let config = PathsConfig {
        journeys: 20_000,
        channels: 12,
        seed: 3,
    };
    let paths: Vec<revops::PathRow> = path_rows(&config).unwrap().collect();
    let batch = revops::arrow::to_record_batch(&paths, &revops::csv::Options::new()).unwrap();
    for (literal, options, currency) in [
        ("", MarkovOptions::default(), revops::Currency::USD),
        (
            r#", '{"order": 2, "currency": "JPY"}'"#,
            MarkovOptions::default().with_order(2),
            "JPY".parse().unwrap(),
        ),
    ] {
        let core = markov_attribution(&paths, options).unwrap();
        let split = core.value_split(currency).unwrap();
        let mut want = serde_json::to_value(&core).unwrap();
        for (c, part) in want["channels"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .zip(&split)
        {
            c["revenue"] = Value::String(part.amount().to_string());
        }
        for parts in PARTITIONS {
            let ctx = context("paths", &batch, parts, 5 + parts as u64);
            let sql = format!(
                "SELECT 'all', revops_markov(path, total_conversions, total_conversion_value, total_null{literal}) FROM paths"
            );
            assert_two_phase(&ctx, &sql, parts).await;
            let got = rows(&ctx, &sql).await;
            let m = &got[0].1;
            assert_close(m, &want, &format!("{parts} partitions {literal}"));
            let channels = m["channels"].as_array().unwrap();
            assert_eq!(channels.len(), 12);
            let revenue: Decimal = channels
                .iter()
                .map(|c| c["revenue"].as_str().unwrap().parse::<Decimal>().unwrap())
                .sum();
            assert_eq!(
                revenue,
                m["total_value"]
                    .as_str()
                    .unwrap()
                    .parse::<Decimal>()
                    .unwrap()
            );
        }
    }
}

#[tokio::test]
async fn a_bad_path_row_names_the_function_row_and_column() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("p", DataType::Utf8, true),
        Field::new("c", DataType::Float64, true),
        Field::new("v", DataType::Utf8, true),
        Field::new("n", DataType::Float64, true),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(vec!["a > b", "a >  > b"])),
            Arc::new(Float64Array::from(vec![1.0, 1.0])),
            Arc::new(StringArray::from(vec!["10.50", "1"])),
            Arc::new(Float64Array::from(vec![0.0, 2.0])),
        ],
    )
    .unwrap();
    let ctx = context("t", &batch, 1, 0);
    let e = ctx
        .sql("SELECT revops_markov(p, c, v, n) FROM t")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("revops_markov") && e.contains("path") && e.contains("empty channel"),
        "{e}"
    );
    let e = ctx
        .sql("SELECT revops_markov(p, c, c, n) FROM t")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("total_conversion_value"),
        "money as a float is refused: {e}"
    );
}

#[tokio::test]
async fn shapley_equals_the_core_with_exact_revenue() {
    use revops::attribution::{ShapleyOptions, shapley_attribution};
    use revops::synth::{PathsConfig, path_rows};
    let config = PathsConfig {
        journeys: 20_000,
        channels: 8,
        seed: 5,
    };
    let paths: Vec<revops::PathRow> = path_rows(&config).unwrap().collect();
    let batch = revops::arrow::to_record_batch(&paths, &revops::csv::Options::new()).unwrap();
    let core = shapley_attribution(&paths, ShapleyOptions::default()).unwrap();
    let usd = revops::Currency::USD;
    let credits = |c: &revops::attribution::ShapleyCredits| {
        let mut v = serde_json::to_value(c).unwrap();
        for (x, part) in v["credits"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .zip(c.value_split(usd).unwrap())
        {
            x["revenue"] = Value::String(part.amount().to_string());
        }
        v
    };
    let want = serde_json::json!({
        "simplified": credits(&core.simplified),
        "conversion_rate": credits(&core.conversion_rate.credits),
        "shao_li": credits(&core.shao_li.credits),
        "ordered": serde_json::to_value(&core.ordered).unwrap(),
    });
    for parts in PARTITIONS {
        let ctx = context("paths", &batch, parts, 17 + parts as u64);
        let sql = "SELECT 'all', revops_shapley(path, total_conversions, total_conversion_value, total_null) FROM paths";
        assert_two_phase(&ctx, sql, parts).await;
        let got = rows(&ctx, sql).await;
        let s = &got[0].1;
        assert_close(s, &want, &format!("{parts} partitions"));
        for set in ["simplified", "conversion_rate", "shao_li"] {
            let c = s[set]["credits"].as_array().unwrap();
            assert_eq!(c.len(), 8, "{set}");
            let total: Decimal = c
                .iter()
                .map(|x| x["revenue"].as_str().unwrap().parse::<Decimal>().unwrap())
                .sum();
            assert_eq!(
                total,
                s[set]["total_value"]
                    .as_str()
                    .unwrap()
                    .parse::<Decimal>()
                    .unwrap(),
                "{set}"
            );
        }
    }
}

#[tokio::test]
async fn win_rate_equals_the_core_on_the_synthetic_pipeline() {
    use revops::breakdown::{Dimension, Keys};
    use revops::pipeline::{WinRate, WinRateBasis, WinRateSpec};
    let c = company();
    let h = PipelineHistory::new(
        revops::Funnel::salesforce_opportunity(),
        c.currency,
        &c.opportunity_history,
    )
    .unwrap();
    let as_of = c.window.end();
    for (basis, literal) in [
        (WinRateBasis::ClosedOnly, ""),
        (
            WinRateBasis::ClosedPlusStale { days: 90 },
            r#", '{"basis": {"closed_plus_stale": {"days": 90}}, "method": "jeffreys"}'"#,
        ),
    ] {
        let mut spec = WinRateSpec::new(as_of).with_basis(basis);
        if !literal.is_empty() {
            spec = spec.with_interval(revops::IntervalMethod::Jeffreys, revops::Confidence::P95);
        }
        // Each deal's outcome as the core classifies it: a breakdown with one bucket
        // per deal has exactly one count in each cell.
        let ids: Vec<String> = h.ids().iter().map(|i| i.as_str().to_string()).collect();
        let keys = Keys::new(
            Dimension::Attribute("deal".into()),
            ids.iter().map(|s| Some(s.as_str())),
        )
        .unwrap();
        let by = h.win_rate_by(&spec, &keys).unwrap();
        let class = |w: &WinRate| -> &'static str {
            match (w.won, w.lost, w.no_decision, w.stale, w.open) {
                (1, 0, 0, 0, 0) => "won",
                (0, 1, 0, 0, 0) => "lost",
                (0, 0, 1, 0, 0) => "no_decision",
                (0, 0, 0, 1, 0) => "stale",
                (0, 0, 0, 0, 1) => "Open",
                _ => panic!("a deal counted {w:?}"),
            }
        };
        let outcomes: Vec<&str> = ids
            .iter()
            .map(|id| class(by.cell(Some(id)).unwrap()))
            .collect();
        let schema = Arc::new(Schema::new(vec![Field::new(
            "outcome",
            DataType::Utf8,
            false,
        )]));
        let batch =
            RecordBatch::try_new(schema, vec![Arc::new(StringArray::from(outcomes))]).unwrap();
        let core = h.win_rate(&spec).unwrap();
        let mut want = serde_json::to_value(&core).unwrap();
        want["rate"] = serde_json::json!(core.ratio.value());
        if want["basis"].is_object() {
            // A basis with a parameter is its JSON text in the result.
            want["basis"] = Value::String(want["basis"].to_string());
        }
        assert!(
            want["won"].as_u64().unwrap() > 10 && want["lost"].as_u64().unwrap() > 10,
            "{want}"
        );
        for parts in PARTITIONS {
            let ctx = context("deals", &batch, parts, 23 + parts as u64);
            let sql = format!("SELECT 'all', revops_win_rate(outcome{literal}) FROM deals");
            assert_two_phase(&ctx, &sql, parts).await;
            let got = rows(&ctx, &sql).await;
            assert_close(&got[0].1, &want, &format!("{parts} partitions {literal}"));
            let r = &got[0].1;
            let rate = r["ratio"]["numerator"].as_f64().unwrap()
                / r["ratio"]["denominator"].as_f64().unwrap();
            assert_eq!(r["rate"].as_f64().unwrap(), rate);
        }
    }
    // Booleans: true won, false lost, NULL open; a bad outcome names its row.
    let schema = Arc::new(Schema::new(vec![Field::new(
        "won",
        DataType::Boolean,
        true,
    )]));
    let batch = RecordBatch::try_new(
        schema,
        vec![Arc::new(BooleanArray::from(vec![
            Some(true),
            Some(false),
            None,
            Some(true),
        ]))],
    )
    .unwrap();
    let ctx = context("b", &batch, 2, 1);
    let got = rows(&ctx, "SELECT 'all', revops_win_rate(won) FROM b").await;
    assert_eq!(
        (
            got[0].1["won"].as_u64(),
            got[0].1["lost"].as_u64(),
            got[0].1["open"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );
    let e = ctx
        .sql("SELECT revops_win_rate('maybe') FROM b")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("revops_win_rate: input row 0") && e.contains("`maybe` is not one of"),
        "{e}"
    );
}

#[tokio::test]
async fn rule_models_equal_the_core_with_exact_revenue() {
    use revops::attribution::{Attribution, Journeys, RuleModel};
    use revops::synth::{PathsConfig, path_rows};
    let config = PathsConfig {
        journeys: 20_000,
        channels: 10,
        seed: 9,
    };
    let paths: Vec<revops::PathRow> = path_rows(&config).unwrap().collect();
    let batch = revops::arrow::to_record_batch(&paths, &revops::csv::Options::new()).unwrap();
    let journeys = Journeys::from_path_rows(&paths, revops::Currency::USD).unwrap();
    let amount = |m: Option<revops::Money>| Value::String(m.unwrap().amount().to_string());
    let want_of = |a: &Attribution| {
        serde_json::json!({
            "model": a.model.to_string(),
            "channels": a.channels.iter().map(|c| serde_json::json!({
                "channel": c.channel.as_str(),
                "conversions": c.conversions,
                "value": c.value,
                "revenue": amount(c.revenue),
            })).collect::<Vec<_>>(),
            "conversions": a.conversions,
            "unattributed_conversions": a.unattributed_conversions,
            "fallback_conversions": a.fallback_conversions,
            "value": a.value,
            "unattributed_value": a.unattributed_value,
            "revenue": amount(a.revenue),
            "unattributed_revenue": amount(a.unattributed_revenue),
        })
    };
    let models = [
        ("", RuleModel::Linear),
        ("first_touch", RuleModel::FirstTouch),
        ("last", RuleModel::LastTouch),
        ("last_non_direct", RuleModel::last_non_direct()),
        ("linear_unique", RuleModel::LinearUnique),
        ("u_shaped", RuleModel::position_based()),
        (
            "position_based:0.3:0.5",
            RuleModel::PositionBased {
                first: 0.3,
                last: 0.5,
            },
        ),
        ("j", RuleModel::J),
        ("inverse_j", RuleModel::InverseJ),
        (
            "milestones:first_touch=2:last_touch=1:rest=1",
            "milestones:first_touch=2:last_touch=1:rest=1"
                .parse()
                .unwrap(),
        ),
    ];
    for (i, (text, model)) in models.iter().enumerate() {
        let want = want_of(&journeys.attribute_with_revenue(model).unwrap());
        let literal = if text.is_empty() {
            String::new()
        } else {
            format!(r#", '{{"model": "{text}"}}'"#)
        };
        for parts in PARTITIONS {
            let ctx = context("paths", &batch, parts, 31 * i as u64 + parts as u64);
            let sql = format!(
                "SELECT 'all', revops_attribution(path, total_conversions, total_conversion_value, total_null{literal}) FROM paths"
            );
            if i == 0 {
                assert_two_phase(&ctx, &sql, parts).await;
            }
            let got = rows(&ctx, &sql).await;
            let a = &got[0].1;
            assert_close(a, &want, &format!("{model} at {parts} partitions"));
            let channels = a["channels"].as_array().unwrap();
            assert_eq!(channels.len(), 10, "{model}");
            let dec = |v: &Value| v.as_str().unwrap().parse::<Decimal>().unwrap();
            let credited: Decimal = channels.iter().map(|c| dec(&c["revenue"])).sum();
            assert_eq!(
                credited + dec(&a["unattributed_revenue"]),
                dec(&a["revenue"]),
                "{model}"
            );
            assert_eq!(
                dec(&a["revenue"]),
                paths.iter().map(|p| p.value).sum::<Decimal>()
            );
        }
    }
    // What path rows cannot support, and the data-driven models, are clear errors.
    let ctx = context("paths", &batch, 2, 1);
    let none = rows(
        &ctx,
        "SELECT 'none', revops_attribution(path, total_conversions, total_conversion_value, total_null) FROM paths WHERE total_null < 0",
    )
    .await;
    assert_eq!(none[0].1["revenue"], "0.000000000", "{}", none[0].1);
    assert_eq!(none[0].1["channels"], serde_json::json!([]));
    for (model, message) in [
        ("time_decay", "time decay needs touch times"),
        ("w_shaped", "milestone models need stage events"),
        ("markov", "has its own function"),
        ("bogus", "unknown model `bogus`"),
    ] {
        let sql = format!(
            r#"SELECT revops_attribution(path, total_conversions, total_conversion_value, total_null, '{{"model": "{model}"}}') FROM paths"#
        );
        let e = match ctx.sql(&sql).await {
            Err(e) => e.to_string(),
            Ok(df) => df.collect().await.unwrap_err().to_string(),
        };
        assert!(e.contains(message), "{model}: {e}");
    }
}

/// The synthetic company's leads and stage events as rows of one table: a row per
/// lead (`created_at`, no event) and a row per event (no `created_at`), each with
/// the lead's source.
fn funnel_rows(c: &Company) -> RecordBatch {
    use arrow_array::TimestampMicrosecondArray;
    use arrow_schema::TimeUnit;
    let source: std::collections::HashMap<&str, Option<&str>> = c
        .leads
        .iter()
        .map(|l| (l.id.as_str(), l.source.as_ref().map(|s| s.as_str())))
        .collect();
    let (mut lead, mut src, mut created, mut stage, mut at) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for l in &c.leads {
        lead.push(l.id.as_str());
        src.push(l.source.as_ref().map(|s| s.as_str()));
        created.push(Some(l.created_at.timestamp_micros()));
        stage.push(None);
        at.push(None);
    }
    for e in &c.stage_events {
        lead.push(e.subject.as_str());
        src.push(source.get(e.subject.as_str()).copied().flatten());
        created.push(None);
        stage.push(Some(e.stage.as_str()));
        at.push(Some(e.at.timestamp_micros()));
    }
    let ts = || DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let schema = Arc::new(Schema::new(vec![
        Field::new("lead", DataType::Utf8, false),
        Field::new("source", DataType::Utf8, true),
        Field::new("created_at", ts(), true),
        Field::new("stage", DataType::Utf8, true),
        Field::new("at", ts(), true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(lead)),
            Arc::new(StringArray::from(src)),
            Arc::new(TimestampMicrosecondArray::from(created).with_timezone("UTC")),
            Arc::new(StringArray::from(stage)),
            Arc::new(TimestampMicrosecondArray::from(at).with_timezone("UTC")),
        ],
    )
    .unwrap()
}

/// A cohort row of the core's report in the function's shape: the cohort by its
/// label, each rate with its value.
fn cohort_row_json(r: &revops::funnel::CohortRow) -> Value {
    let mut v = serde_json::to_value(r).unwrap();
    v["cohort"] = r.cohort.map_or(Value::Null, |p| Value::String(p.label()));
    for (key, rates) in [("steps", &r.steps), ("to_won", &r.to_won)] {
        for (item, rate) in v[key].as_array_mut().unwrap().iter_mut().zip(rates) {
            item["rate"] = serde_json::json!(rate.ratio.value());
        }
    }
    v
}

fn cohort_table_json(t: &revops::funnel::CohortTable) -> (Value, Value) {
    (
        Value::Array(t.rows.iter().map(cohort_row_json).collect()),
        cohort_row_json(&t.all),
    )
}

#[tokio::test]
async fn cohorts_equal_the_core_in_total_and_per_source() {
    use revops::funnel::{
        BackwardPolicy, CohortAnchor, CohortSpec, Dimension, FunnelData, FunnelEvents, PathOptions,
        SkipPolicy, cohort_report,
    };
    let c = company();
    let batch = funnel_rows(&c);
    let end = c.window.end();
    let data = FunnelData::new(revops::Funnel::demand_waterfall(), &c.leads).unwrap();
    let mut events = FunnelEvents::new();
    events.add_batch(&data, &c.stage_events).unwrap();
    let policies = [
        (String::new(), PathOptions::default(), CohortSpec::default()),
        (
            format!(
                r#", '{{"anchor": {{"stage": "mql"}}, "granularity": "quarter", "window_days": 90, "step_window_days": {{"sql": 30}}, "skip": "strict", "backward": "new_cycle", "as_of": "{}", "method": "jeffreys"}}'"#,
                end.to_rfc3339()
            ),
            PathOptions::default()
                .with_skip(SkipPolicy::Strict)
                .with_backward(BackwardPolicy::NewCycle)
                .with_as_of(end),
            CohortSpec::default()
                .with_anchor(CohortAnchor::Stage("mql".into()))
                .with_granularity(revops::Granularity::Quarter)
                .with_window(chrono::TimeDelta::days(90))
                .with_step_window("sql", chrono::TimeDelta::days(30))
                .with_method(revops::IntervalMethod::Jeffreys),
        ),
    ];
    for (k, (literal, path_options, spec)) in policies.into_iter().enumerate() {
        let paths = events.paths(&data, path_options);
        let core = cohort_report(&data, &paths, &spec.with_breakdown(Dimension::Source)).unwrap();
        assert!(
            core.total.all.entered > 1_000 && core.total.rows.len() > 3,
            "{} entered, {} cohorts",
            core.total.all.entered,
            core.total.rows.len()
        );
        let (rows_want, all_want) = cohort_table_json(&core.total);
        for parts in PARTITIONS {
            let ctx = context("funnel", &batch, parts, 41 + 7 * k as u64 + parts as u64);
            let sql = format!(
                "SELECT 'all', revops_cohorts(lead, created_at, stage, at{literal}) FROM funnel"
            );
            assert_two_phase(&ctx, &sql, parts).await;
            let got = rows(&ctx, &sql).await;
            let r = &got[0].1;
            let at = format!("{parts} partitions, policies {k}");
            assert_close(&r["rows"], &rows_want, &at);
            assert_close(&r["all"], &all_want, &at);
            assert_close(
                &r["diagnostics"],
                &serde_json::to_value(&core.diagnostics).unwrap(),
                &at,
            );
            assert_close(&r["stages"], &serde_json::json!(core.stages), &at);
            assert_eq!(r["anchor"], Value::String(core.anchor.clone()));
            assert_eq!(r["as_of"], serde_json::to_value(core.as_of).unwrap());

            // GROUP BY the lead's source: each group is the breakdown's table.
            let by = rows(
                &ctx,
                &format!(
                    "SELECT source, revops_cohorts(lead, created_at, stage, at{literal}) FROM funnel GROUP BY source"
                ),
            )
            .await;
            assert_eq!(by.len(), core.breakdown.len(), "{at}");
            for (source, r) in &by {
                let table = if source == "NULL" {
                    core.breakdown.iter().find(|t| t.value.is_none())
                } else {
                    core.breakdown(source)
                }
                .unwrap_or_else(|| panic!("{at}: source {source} not in the core's breakdown"));
                let (rows_want, all_want) = cohort_table_json(table);
                assert_close(&r["rows"], &rows_want, &format!("{at}, source {source}"));
                assert_close(&r["all"], &all_want, &format!("{at}, source {source}"));
            }
        }
    }
}

#[tokio::test]
async fn bad_funnel_rows_name_their_row() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("lead", DataType::Utf8, true),
        Field::new("stage", DataType::Utf8, true),
        Field::new("at", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(vec![Some("L1"), Some("L1"), None])),
            Arc::new(StringArray::from(vec![
                Some("mql"),
                Some("bogus"),
                Some("mql"),
            ])),
            Arc::new(StringArray::from(vec![
                Some("2026-01-02T00:00:00Z"),
                Some("2026-01-03T00:00:00Z"),
                Some("2026-01-03T00:00:00Z"),
            ])),
        ],
    )
    .unwrap();
    let ctx = context("t", &batch, 1, 0);
    let err = |sql: String| {
        let ctx = ctx.clone();
        async move {
            match ctx.sql(&sql).await {
                Err(e) => e.to_string(),
                Ok(df) => df.collect().await.unwrap_err().to_string(),
            }
        }
    };
    // Text timestamps are read as RFC 3339; an unknown stage names the lead.
    let e = err("SELECT revops_cohorts(lead, '2026-01-01T00:00:00Z', stage, at) FROM t WHERE lead IS NOT NULL".into()).await;
    assert!(
        e.contains("revops_cohorts: input row") && e.contains("bogus") && e.contains("L1"),
        "{e}"
    );
    let e =
        err("SELECT revops_cohorts(lead, NULL, stage, NULL) FROM t WHERE lead IS NOT NULL".into())
            .await;
    assert!(e.contains("both be given or both be NULL"), "{e}");
    let e =
        err("SELECT revops_cohorts(lead, at, NULL, NULL) FROM t WHERE stage = 'mql'".into()).await;
    assert!(e.contains("lead is NULL"), "{e}");
    let e = err(
        r#"SELECT revops_cohorts(lead, at, stage, at, '{"tie_break": "input_order"}') FROM t"#
            .into(),
    )
    .await;
    assert!(e.contains("unknown option `tie_break`"), "{e}");
    let e =
        err(r#"SELECT revops_cohorts(lead, at, stage, at, '{"funnel": "nope"}') FROM t"#.into())
            .await;
    assert!(e.contains("not a ready-made funnel"), "{e}");
    let e = err("SELECT revops_cohorts(lead, 3, stage, at) FROM t".into()).await;
    assert!(e.contains("argument 2 must be a timestamp"), "{e}");
    // No rows: an empty report, not an error.
    let got = rows(
        &ctx,
        "SELECT 'none', revops_cohorts(lead, at, stage, at) FROM t WHERE lead = 'nobody'",
    )
    .await;
    assert_eq!(got[0].1["all"]["entered"], 0, "{}", got[0].1);
    assert_eq!(got[0].1["rows"], serde_json::json!([]));
    // Rows of one lead that disagree on its creation.
    let e = err("SELECT revops_cohorts(lead, at, NULL, NULL) FROM t WHERE lead IS NOT NULL".into())
        .await;
    assert!(e.contains("created at") && e.contains("L1"), "{e}");
}

/// The synthetic company's touches, conversions and stage events as the rows of
/// `revops_touch_attribution`: kind, subject, at, name (channel or stage), campaign,
/// value (exact, as text).
fn journey_rows(c: &Company) -> RecordBatch {
    use arrow_array::TimestampMicrosecondArray;
    use arrow_schema::TimeUnit;
    let mut kind = Vec::new();
    let mut subject = Vec::new();
    let mut at = Vec::new();
    let mut name: Vec<Option<String>> = Vec::new();
    let mut campaign: Vec<Option<String>> = Vec::new();
    let mut value: Vec<Option<String>> = Vec::new();
    for t in &c.touches {
        kind.push("touch");
        subject.push(t.subject.as_str().to_string());
        at.push(t.at.timestamp_micros());
        name.push(Some(t.channel.as_str().to_string()));
        campaign.push(t.campaign.as_ref().map(|k| k.as_str().to_string()));
        value.push(None);
    }
    for v in &c.conversions {
        kind.push("conversion");
        subject.push(v.subject.as_str().to_string());
        at.push(v.at.timestamp_micros());
        name.push(None);
        campaign.push(None);
        value.push(v.value.map(|m| m.amount().to_string()));
    }
    for e in &c.stage_events {
        kind.push("stage");
        subject.push(e.subject.as_str().to_string());
        at.push(e.at.timestamp_micros());
        name.push(Some(e.stage.clone()));
        campaign.push(None);
        value.push(None);
    }
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let schema = Arc::new(Schema::new(vec![
        Field::new("kind", DataType::Utf8, false),
        Field::new("subject", DataType::Utf8, false),
        Field::new("at", ts, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("campaign", DataType::Utf8, true),
        Field::new("value", DataType::Utf8, true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(kind)),
            Arc::new(StringArray::from(subject)),
            Arc::new(TimestampMicrosecondArray::from(at).with_timezone("UTC")),
            Arc::new(StringArray::from(name)),
            Arc::new(StringArray::from(campaign)),
            Arc::new(StringArray::from(value)),
        ],
    )
    .unwrap()
}

#[tokio::test]
async fn touch_rule_models_equal_the_core_with_exact_revenue() {
    use revops::attribution::{JourneyOptions, Journeys, RuleModel};
    let c = company();
    let batch = journey_rows(&c);
    let options = JourneyOptions::default().with_currency(c.currency);
    let journeys =
        Journeys::from_records(&c.touches, &c.conversions, &c.stage_events, &options).unwrap();
    assert!(journeys.len() > 100, "{} journeys", journeys.len());
    let models: [(&str, RuleModel); 7] = [
        ("linear", RuleModel::Linear),
        ("first_touch", RuleModel::FirstTouch),
        ("time_decay", RuleModel::time_decay()),
        ("u_shaped", RuleModel::position_based()),
        ("w_shaped", RuleModel::WShaped),
        ("full_path", RuleModel::FullPath),
        (
            "milestones:first_touch=1:mql=1:rest=0.5",
            "milestones:first_touch=1:mql=1:rest=0.5".parse().unwrap(),
        ),
    ];
    let dec = |v: &Value| v.as_str().unwrap().parse::<Decimal>().unwrap();
    for (i, (text, model)) in models.iter().enumerate() {
        let core = journeys.attribute_with_revenue(model).unwrap();
        let mut want = serde_json::to_value(&core).unwrap();
        want["model"] = Value::String(core.model.to_string());
        for (w, ch) in want["channels"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .zip(&core.channels)
        {
            w["revenue"] = Value::String(ch.revenue.unwrap().amount().to_string());
        }
        for key in ["revenue", "unattributed_revenue"] {
            want[key] = Value::String(want[key]["amount"].as_str().unwrap().to_string());
        }
        let literal = format!(r#"'{{"model": "{text}", "currency": "{}"}}'"#, c.currency);
        for parts in PARTITIONS {
            let ctx = context("journeys", &batch, parts, 53 * i as u64 + parts as u64);
            let sql = format!(
                "SELECT 'all', revops_touch_attribution(kind, subject, at, name, campaign, value, {literal}) FROM journeys"
            );
            if i == 0 {
                assert_two_phase(&ctx, &sql, parts).await;
            }
            let got = rows(&ctx, &sql).await;
            let a = &got[0].1;
            assert_close(a, &want, &format!("{model} at {parts} partitions"));
            let credited: Decimal = a["channels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| dec(&c["revenue"]))
                .sum();
            assert_eq!(
                credited + dec(&a["unattributed_revenue"]),
                dec(&a["revenue"])
            );
        }
    }
    let ctx = context("journeys", &batch, 1, 0);
    let e = match ctx
        .sql("SELECT revops_touch_attribution('visit', subject, at, name, campaign, value) FROM journeys")
        .await
    {
        Err(e) => e.to_string(),
        Ok(df) => df.collect().await.unwrap_err().to_string(),
    };
    assert!(e.contains("kind `visit` is not one of"), "{e}");
}

/// Groups in the many-groups tests.
const GROUPS: usize = 1_000;

/// A seeded pseudo-random number below `n` for row `i` (from a permutation of the
/// rows, so each seed gives other numbers).
fn pick(order: &[u32], i: usize, n: u32) -> u32 {
    order[i] % n
}

/// `rows` deals over [`GROUPS`] owners: owner, outcome (every kind, NULL = open),
/// amount (for filters).
fn deals(n: usize) -> RecordBatch {
    let (a, b, c) = (
        common::shuffled(n, 1),
        common::shuffled(n, 2),
        common::shuffled(n, 3),
    );
    let kinds = [
        Some("won"),
        Some("lost"),
        Some("no_decision"),
        Some("stale"),
        Some("open"),
        Some("WON"),
        None,
    ];
    let owner: Vec<String> = (0..n)
        .map(|i| format!("owner{:04}", pick(&a, i, GROUPS as u32)))
        .collect();
    let outcome: Vec<Option<&str>> = (0..n).map(|i| kinds[pick(&b, i, 7) as usize]).collect();
    let amount: Vec<f64> = (0..n).map(|i| f64::from(pick(&c, i, 100))).collect();
    batch(vec![
        ("owner", Arc::new(StringArray::from(owner))),
        ("outcome", Arc::new(StringArray::from(outcome))),
        ("amount", Arc::new(Float64Array::from(amount))),
    ])
}

/// Column `i` of `batch` as text (NULL: `None`).
fn text_column(batch: &RecordBatch, i: usize) -> Vec<Option<String>> {
    let c = batch
        .column(i)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    c.iter().map(|v| v.map(str::to_string)).collect()
}

/// Column `i` of `batch` as numbers (NULL: `None`).
fn float_column(batch: &RecordBatch, i: usize) -> Vec<Option<f64>> {
    let c = batch
        .column(i)
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    c.iter().collect()
}

/// The rows of each key of `keys`.
fn rows_by_key(keys: &[Option<String>]) -> std::collections::HashMap<String, Vec<usize>> {
    let mut index: std::collections::HashMap<String, Vec<usize>> = Default::default();
    for (i, k) in keys.iter().enumerate() {
        index
            .entry(k.clone().unwrap_or_default())
            .or_default()
            .push(i);
    }
    index
}

/// Each query's rows per group equal `want(group)` (a key per group, every group
/// there), at 1, 2 and 7 partitions of shuffled rows, and with `skip_partial` at 2
/// partitions whose partial aggregates give up pre-aggregating.
async fn assert_per_group(
    table: &str,
    batch: &RecordBatch,
    sql: &str,
    groups: usize,
    skip_partial: bool,
    want: impl Fn(&str) -> Value,
) {
    // The core's result per group, computed once.
    let mut cache = std::collections::HashMap::new();
    let mut want = |key: &str| -> Value {
        cache
            .entry(key.to_string())
            .or_insert_with(|| want(key))
            .clone()
    };
    for parts in PARTITIONS {
        let ctx = context(table, batch, parts, 71 + parts as u64);
        assert_two_phase(&ctx, sql, parts).await;
        let got = rows(&ctx, sql).await;
        assert_eq!(got.len(), groups, "{parts} partitions: {sql}");
        for (key, value) in &got {
            assert_close(
                value,
                &want(key),
                &format!("{parts} partitions, {key}: {sql}"),
            );
        }
    }
    // Partial aggregates that give up pre-aggregating (their rows barely share
    // groups) pass each row on as a state of its own.
    if !skip_partial {
        return;
    }
    let ctx = context(table, batch, 2, 97);
    for set in [
        "SET datafusion.execution.skip_partial_aggregation_probe_rows_threshold = 100",
        "SET datafusion.execution.skip_partial_aggregation_probe_ratio_threshold = 0.01",
    ] {
        ctx.sql(set).await.unwrap().collect().await.unwrap();
    }
    let analyzed = format!("{:?}", rows(&ctx, &format!("EXPLAIN ANALYZE {sql}")).await);
    assert!(
        analyzed.contains("skipped_aggregation_rows=")
            && !analyzed.contains("skipped_aggregation_rows=0,"),
        "{analyzed}"
    );
    let got = rows(&ctx, sql).await;
    assert_eq!(got.len(), groups, "skipping partial aggregation: {sql}");
    for (key, value) in &got {
        assert_close(
            value,
            &want(key),
            &format!("skipping partial aggregation, {key}: {sql}"),
        );
    }
}

#[tokio::test]
async fn win_rate_per_owner_over_a_thousand_groups_equals_the_core() {
    use revops::pipeline::{WinRate, WinRateCount, WinRateSpec};
    let batch = deals(30_000);
    let (owner, outcome, amount) = (
        text_column(&batch, 0),
        text_column(&batch, 1),
        float_column(&batch, 2),
    );
    let by_owner = rows_by_key(&owner);
    let count = |o: &Option<String>| match o.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("won") => WinRateCount::Won,
        Some("lost") => WinRateCount::Lost,
        Some("no_decision") => WinRateCount::NoDecision,
        Some("stale") => WinRateCount::Stale,
        _ => WinRateCount::Open,
    };
    let spec = WinRateSpec::new(chrono::DateTime::UNIX_EPOCH)
        .with_interval(revops::IntervalMethod::Jeffreys, revops::Confidence::P95);
    // With and without a filter (amount 50 or more).
    for (filter, floor) in [("", 0.0), (" FILTER (WHERE amount >= 50)", 50.0)] {
        let want = |key: &str| {
            let mut w = WinRate::new(&spec);
            for &i in &by_owner[key] {
                if amount[i].unwrap() >= floor {
                    w.add(&count(&outcome[i])).unwrap();
                }
            }
            let mut v = common::json(&w);
            v["rate"] = serde_json::json!(w.ratio.value());
            v
        };
        let sql = format!(
            r#"SELECT owner, revops_win_rate(outcome, '{{"method": "jeffreys"}}'){filter} FROM deals GROUP BY owner"#
        );
        assert_per_group("deals", &batch, &sql, GROUPS, true, want).await;
    }
}

/// `n` forecasts over [`GROUPS`] series, some actuals NULL (not yet due) or zero.
fn forecast_rows(n: usize) -> RecordBatch {
    let (a, b, c) = (
        common::shuffled(n, 4),
        common::shuffled(n, 5),
        common::shuffled(n, 6),
    );
    let series: Vec<String> = (0..n)
        .map(|i| format!("s{:04}", pick(&a, i, GROUPS as u32)))
        .collect();
    let forecast: Vec<f64> = (0..n).map(|i| f64::from(pick(&b, i, 1000)) / 7.0).collect();
    let actual: Vec<Option<f64>> = (0..n)
        .map(|i| match pick(&c, i, 20) {
            0 => None,
            1 => Some(0.0),
            k => Some(forecast[i] * (0.5 + f64::from(k) / 20.0)),
        })
        .collect();
    batch(vec![
        ("series", Arc::new(StringArray::from(series))),
        ("forecast", Arc::new(Float64Array::from(forecast))),
        ("actual", Arc::new(Float64Array::from(actual))),
    ])
}

#[tokio::test]
async fn forecast_errors_per_series_over_a_thousand_groups_equal_the_core() {
    use revops::forecast::ZeroActualPolicy;
    let batch = forecast_rows(30_000);
    let (series, forecast, actual) = (
        text_column(&batch, 0),
        float_column(&batch, 1),
        float_column(&batch, 2),
    );
    let by_series = rows_by_key(&series);
    let options = ErrorOptions::default().with_zero_actual(ZeroActualPolicy::Skip);
    for (filter, floor) in [("", 0.0), (" FILTER (WHERE forecast >= 50)", 50.0)] {
        let want = |key: &str| {
            let mut core = ErrorStats::new(options);
            for &i in &by_series[key] {
                let f = forecast[i].unwrap();
                if f < floor {
                    continue;
                }
                match actual[i] {
                    Some(a) => core.add_pair(f, a).unwrap(),
                    None => core
                        .add(&revops::ForecastPoint::new("", "", f, None))
                        .unwrap(),
                }
            }
            common::json(&core.finish().unwrap())
        };
        let sql = format!(
            r#"SELECT series, revops_forecast_errors(forecast, actual, '{{"zero_actual": "skip"}}'){filter} FROM forecasts GROUP BY series"#
        );
        assert_per_group("forecasts", &batch, &sql, GROUPS, true, want).await;
    }
}

#[tokio::test]
async fn calibration_per_group_equals_the_core() {
    let n = 20_000;
    let (a, b, c) = (
        common::shuffled(n, 7),
        common::shuffled(n, 8),
        common::shuffled(n, 9),
    );
    let rep: Vec<String> = (0..n)
        .map(|i| format!("rep{:03}", pick(&a, i, 200)))
        .collect();
    let p: Vec<f64> = (0..n)
        .map(|i| f64::from(pick(&b, i, 1001)) / 1000.0)
        .collect();
    let won: Vec<Option<bool>> = (0..n)
        .map(|i| match pick(&c, i, 5) {
            0 => None,
            k => Some(f64::from(k) / 5.0 < p[i] + 0.1),
        })
        .collect();
    let batch = batch(vec![
        ("rep", Arc::new(StringArray::from(rep.clone()))),
        ("probability", Arc::new(Float64Array::from(p.clone()))),
        ("won", Arc::new(BooleanArray::from(won.clone()))),
    ]);
    let by_rep = rows_by_key(&rep.iter().cloned().map(Some).collect::<Vec<_>>());
    let want = |key: &str| {
        let mut core = Calibration::new(CalibrationOptions::default().with_bins(5)).unwrap();
        for &i in &by_rep[key] {
            let outcome = won[i].map_or(revops::forecast::Outcome::Open, Into::into);
            core.add_pair(p[i], outcome).unwrap();
        }
        common::json(&core.finish().unwrap())
    };
    let sql = r#"SELECT rep, revops_calibration(probability, won, '{"bins": 5}') FROM predictions GROUP BY rep"#;
    assert_per_group("predictions", &batch, sql, 200, true, want).await;
}

#[tokio::test]
async fn cohorts_per_team_over_a_thousand_groups_equal_the_core() {
    use revops::funnel::{CohortCounts, CohortSpec, PathOptions};
    let c = company();
    let funnel = funnel_rows(&c);
    // A team per lead (a thousand teams), carried by the lead's rows.
    let leads = text_column(&funnel, 0);
    let team: Vec<String> = leads
        .iter()
        .map(|l| {
            let id = l.as_deref().unwrap();
            let h = id
                .bytes()
                .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
            format!("t{:04}", h % GROUPS as u64)
        })
        .collect();
    let schema = funnel.schema();
    let mut columns: Vec<(&str, arrow_array::ArrayRef)> = schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .zip(funnel.columns().iter().cloned())
        .collect();
    columns.push(("team", Arc::new(StringArray::from(team.clone()))));
    let batch = batch(columns);
    let stages = text_column(&batch, 3);
    let micros = |i: usize| {
        batch
            .column(i)
            .as_any()
            .downcast_ref::<arrow_array::TimestampMicrosecondArray>()
            .unwrap()
            .clone()
    };
    let (created, at) = (micros(2), micros(4));
    let instant = |a: &arrow_array::TimestampMicrosecondArray, i: usize| {
        use arrow_array::Array;
        a.is_valid(i)
            .then(|| chrono::DateTime::from_timestamp_micros(a.value(i)).unwrap())
    };
    let by_team = rows_by_key(&team.iter().cloned().map(Some).collect::<Vec<_>>());
    // The filter drops every `sql` event.
    for (filter, dropped) in [
        ("", None),
        (
            " FILTER (WHERE stage IS NULL OR stage <> 'sql')",
            Some("sql"),
        ),
    ] {
        let want = |key: &str| {
            let mut core = CohortCounts::new(
                revops::Funnel::demand_waterfall(),
                PathOptions::default(),
                CohortSpec::default(),
            )
            .unwrap();
            for &i in &by_team[key] {
                let id = revops::LeadId::new(leads[i].as_deref().unwrap()).unwrap();
                if let Some(t) = instant(&created, i) {
                    core.add_lead(&revops::Lead::new(id.clone(), t)).unwrap();
                }
                if let (Some(s), Some(t)) = (stages[i].as_deref(), instant(&at, i))
                    && Some(s) != dropped
                {
                    core.add(&revops::StageEvent::new(id, s, t)).unwrap();
                }
            }
            let report = core.finish().unwrap();
            let (rows, all) = cohort_table_json(&report.total);
            serde_json::json!({
                "rows": rows,
                "all": all,
                "diagnostics": common::json(&report.diagnostics),
            })
        };
        let sql = format!(
            "SELECT team, named_struct('rows', get_field(r, 'rows'), 'all', get_field(r, 'all'), 'diagnostics', get_field(r, 'diagnostics')) \
             FROM (SELECT team, revops_cohorts(lead, created_at, stage, at){filter} AS r FROM funnel GROUP BY team)"
        );
        // Once: a cohort state per row is slow in a debug build.
        assert_per_group("funnel", &batch, &sql, GROUPS, filter.is_empty(), want).await;
    }
}

/// Input sorted by the group key lets DataFusion emit each group as soon as the key
/// changes (`EmitTo::First`, the groups before the current one), in partial and final
/// aggregates alike: the results are those of unsorted input.
#[tokio::test]
async fn groups_emitted_early_from_sorted_input_equal_unsorted() {
    use datafusion::logical_expr::col;
    let batch = deals(20_000);
    let sql = r#"SELECT owner, revops_win_rate(outcome, '{"method": "wilson"}') FROM deals GROUP BY owner"#;
    let want = rows(&context("deals", &batch, 1, 0), sql).await;
    assert_eq!(want.len(), GROUPS);
    let order = datafusion::arrow::compute::sort_to_indices(batch.column(0), None, None).unwrap();
    let columns = batch
        .columns()
        .iter()
        .map(|c| datafusion::arrow::compute::take(c, &order, None).unwrap())
        .collect();
    let sorted = RecordBatch::try_new(batch.schema(), columns).unwrap();
    for parts in [1, 2] {
        let pieces: Vec<Vec<RecordBatch>> = pieces(sorted.num_rows(), parts)
            .into_iter()
            .map(|r| {
                // Small batches, so groups are emitted between batches.
                (r.start..r.end)
                    .step_by(512)
                    .map(|s| sorted.slice(s, 512.min(r.end - s)))
                    .collect()
            })
            .collect();
        let table = MemTable::try_new(batch.schema(), pieces)
            .unwrap()
            .with_sort_order(vec![vec![col("owner").sort(true, false)]]);
        let mut ctx =
            SessionContext::new_with_config(SessionConfig::new().with_target_partitions(parts));
        revops_datafusion::register_all(&mut ctx).unwrap();
        ctx.register_table("deals", Arc::new(table)).unwrap();
        let plan = format!("{:?}", rows(&ctx, &format!("EXPLAIN {sql}")).await);
        assert!(plan.contains("ordering_mode=Sorted"), "{plan}");
        let got = rows(&ctx, sql).await;
        assert_eq!(got.len(), want.len(), "{parts} partitions");
        for ((k, g), (wk, w)) in got.iter().zip(&want) {
            assert_eq!(k, wk);
            assert_eq!(g, w, "{parts} partitions, {k}");
        }
    }
}
