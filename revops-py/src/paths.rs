//! `attribution(paths, models)`: the core's models over a path table in
//! ChannelAttribution's shape, as one long table (a row per model and channel).
//!
//! Pure Rust: record batches in, one record batch out, so it is tested without
//! Python.

use std::sync::Arc;

use arrow_array::{ArrayRef, Decimal128Array, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use revops::arrow::{JourneyDecoder, MONEY_SCALE};
use revops::attribution::{
    Attribution, JourneyOptions, Journeys, MarkovCounts, MarkovOptions, ShapleyCounts,
    ShapleyCredit, ShapleyCredits, ShapleyOptions,
};
use revops::csv::Options;
use revops::error::ErrorKind;
use revops::{AttributionModel, Channel, Currency, Error, Money, Result};
use rust_decimal::Decimal;

/// The source name errors give for the rows of the `paths` argument.
pub(crate) const PATHS_SOURCE: &str = "paths";

/// The models `attribution` runs when none are named: every rule model that path
/// rows support at its default weights, exact Markov of order 1, and the
/// conversion-rate Shapley value.
pub(crate) const DEFAULT_MODELS: [&str; 8] = [
    "first_touch",
    "last_touch",
    "last_non_direct",
    "linear",
    "linear_unique",
    "position_based",
    "markov",
    "shapley",
];

/// The models named (`None`: [`DEFAULT_MODELS`]).
///
/// # Errors
/// An unknown model, named, with the list of known ones.
pub(crate) fn models(names: Option<&[String]>) -> Result<Vec<AttributionModel>> {
    match names {
        None => DEFAULT_MODELS.iter().map(|m| m.parse()).collect(),
        Some(names) => names.iter().map(|m| m.parse()).collect(),
    }
}

/// What `attribution` needs besides the journeys ([`Default`]: USD and the
/// engines' default options).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CreditOptions {
    /// The currency revenue is split in (its minor units).
    pub currency: Currency,
    /// Markov options (the order comes from each model's name).
    pub markov: MarkovOptions,
    /// Options of the Shapley family.
    pub shapley: ShapleyOptions,
}

impl Default for CreditOptions {
    fn default() -> Self {
        CreditOptions {
            currency: Currency::USD,
            markov: MarkovOptions::default(),
            shapley: ShapleyOptions::default(),
        }
    }
}

/// The journeys of a path table, each row one journey standing for its
/// conversions and nulls, values in `currency`. Rows are read by the core's
/// [`JourneyDecoder`] (the checks and messages of `paths.csv`, the row named across
/// all batches) one record batch at a time, so no `Vec` of every row is held; a table
/// of several batches and at least [`PARALLEL_ROWS`] rows is read on every core,
/// in runs of whole batches merged in order (the same journeys as one pass).
///
/// # Errors
/// The first bad row in table order, named; what [`Journeys::add_batch`] and
/// [`Journeys::merge`] refuse.
pub(crate) fn journeys(
    batches: &[RecordBatch],
    separator: &str,
    currency: Currency,
) -> Result<Journeys> {
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let threads = if rows < PARALLEL_ROWS {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    };
    journeys_on(batches, separator, currency, threads)
}

/// Fewest rows a path table has before it is read on more than one thread.
pub(crate) const PARALLEL_ROWS: usize = 100_000;

/// [`journeys`] on up to `threads` threads.
fn journeys_on(
    batches: &[RecordBatch],
    separator: &str,
    currency: Currency,
    threads: usize,
) -> Result<Journeys> {
    let runs = runs_of_batches(batches, threads);
    let read = |(first_batch, run): &(usize, &[RecordBatch])| {
        let first_row: usize = batches[..*first_batch]
            .iter()
            .map(RecordBatch::num_rows)
            .sum();
        read_run(run, separator, currency)
            .map_err(|e| shift_row(e, first_row as u64, *first_batch as u64))
    };
    let mut parts = if runs.len() <= 1 {
        runs.iter().map(read).collect::<Vec<_>>()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = runs.iter().map(|r| s.spawn(move || read(r))).collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(internal("a reading thread")))
                })
                .collect()
        })
    }
    .into_iter();
    let mut all = match parts.next() {
        Some(first) => first?,
        None => Journeys::new(JourneyOptions::default().with_currency(currency))?,
    };
    for part in parts {
        all.merge(&part?)?;
    }
    Ok(all)
}

/// The batches cut into at most `n` runs of whole batches of about equal rows, each
/// with the index of its first batch.
fn runs_of_batches(batches: &[RecordBatch], n: usize) -> Vec<(usize, &[RecordBatch])> {
    let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let target = total.div_ceil(n.max(1)).max(1);
    let mut runs = Vec::new();
    let (mut start, mut rows) = (0, 0);
    for (i, b) in batches.iter().enumerate() {
        rows += b.num_rows();
        if rows >= target || i + 1 == batches.len() {
            runs.push((start, &batches[start..=i]));
            (start, rows) = (i + 1, 0);
        }
    }
    runs
}

/// One run of batches read into journeys (rows and batches counted from the run's
/// start), each batch folded straight into the journeys (no `PathRow` per row).
fn read_run(batches: &[RecordBatch], separator: &str, currency: Currency) -> Result<Journeys> {
    let options = Options::new()
        .with_path_separator(separator)
        .with_source_name(PATHS_SOURCE);
    let mut decoder =
        JourneyDecoder::new(options, JourneyOptions::default().with_currency(currency))?;
    for batch in batches {
        decoder.add(batch)?;
    }
    Ok(decoder.finish()?.0)
}

/// A run's row error with the row and batch counted from the table's start.
fn shift_row(e: Error, rows: u64, batches: u64) -> Error {
    match e.kind() {
        ErrorKind::Arrow {
            source_name,
            row,
            batch,
            column,
            reason,
        } => Error::from(ErrorKind::Arrow {
            source_name: source_name.clone(),
            row: row + rows,
            batch: batch + batches,
            column: column.clone(),
            reason: reason.clone(),
        }),
        _ => e,
    }
}

/// One result row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CreditRow {
    pub model: String,
    pub channel: String,
    pub conversions: f64,
    pub value: f64,
    pub revenue: Money,
}

/// Every model's credit per channel over `journeys` (from path rows or from touches
/// and conversions), models in the order given, channels by name within a model;
/// each model's revenue sums exactly to the converted value.
///
/// # Errors
/// A model the journeys cannot support (time decay on path rows, stage milestones
/// without stage events), a data-driven model beyond its limit, and what the
/// engines return.
pub(crate) fn attribute(
    journeys: &Journeys,
    models: &[AttributionModel],
    options: &CreditOptions,
) -> Result<Vec<CreditRow>> {
    let mut rules = Vec::new();
    for m in models {
        if let Some(reason) = m.unsupported_by(journeys) {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "models",
                value: m.to_string(),
                reason: reason.into(),
            }));
        }
        if let Some(r) = m.as_rule() {
            rules.push(r.clone());
        }
    }
    let mut ruled = journeys.attribute_all_with_revenue(&rules)?.into_iter();
    let shapley = if models.iter().any(AttributionModel::is_shapley) {
        Some(ShapleyCounts::from_journeys(journeys, options.shapley)?)
    } else {
        None
    };
    let mut out = Vec::new();
    for m in models {
        let (credits, revenue) = match m {
            AttributionModel::Rule(_) => {
                let a = ruled
                    .next()
                    .ok_or_else(|| internal("a rule model's result"))?;
                rule_credits(a)?
            }
            AttributionModel::Markov { order } => {
                let markov = options.markov.with_order(*order);
                let report = MarkovCounts::from_journeys(journeys, markov)?.finish()?;
                let split = report.value_split(options.currency)?;
                let credits = report.channels.into_iter();
                (
                    credits
                        .map(|c| (c.channel, c.conversions, c.value))
                        .collect(),
                    split,
                )
            }
            _ => {
                let counts = shapley
                    .as_ref()
                    .ok_or_else(|| internal("the Shapley tally"))?;
                let credits = shapley_credits(m, counts)?;
                let split = credits.value_split(options.currency)?;
                let credits = credits.credits.into_iter();
                (
                    credits
                        .map(|c| (c.channel, c.conversions, c.value))
                        .collect(),
                    split,
                )
            }
        };
        let name = m.to_string();
        for ((channel, conversions, value), revenue) in credits.into_iter().zip(revenue) {
            out.push(CreditRow {
                model: name.clone(),
                channel: channel.as_str().to_string(),
                conversions,
                value,
                revenue,
            });
        }
    }
    Ok(out)
}
/// A channel's credit: conversions and value as real numbers.
type Credit = (Channel, f64, f64);

/// A rule model's credits and their exact revenue.
fn rule_credits(a: Attribution) -> Result<(Vec<Credit>, Vec<Money>)> {
    a.channels
        .into_iter()
        .map(|c| {
            let revenue = c
                .revenue
                .ok_or_else(|| internal("a rule model's revenue"))?;
            Ok(((c.channel, c.conversions, c.value), revenue))
        })
        .collect::<Result<Vec<_>>>()
        .map(|v| v.into_iter().unzip())
}

/// The credit set of one Shapley-family model, solving only that model (under its
/// own limits); the ordered value summed over positions (so its revenue is split
/// like the others'). The conversion-rate games run on every core: the same result
/// as on one.
fn shapley_credits(m: &AttributionModel, counts: &ShapleyCounts) -> Result<ShapleyCredits> {
    Ok(match m {
        AttributionModel::Shapley => {
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            counts.conversion_rate_on(threads)?.credits
        }
        AttributionModel::ShapleySimplified => counts.simplified(),
        AttributionModel::ShaoLi => counts.shao_li()?.credits,
        AttributionModel::ShapleyOrdered => {
            let simplified = counts.simplified();
            ShapleyCredits {
                credits: counts
                    .ordered()?
                    .credits
                    .into_iter()
                    .map(|c| ShapleyCredit {
                        channel: c.channel,
                        conversions: c.conversions.iter().sum(),
                        value: c.value.iter().sum(),
                        std_error: 0.0,
                    })
                    .collect(),
                total_conversions: simplified.total_conversions,
                total_value: simplified.total_value,
            }
        }
        other => return Err(internal(&format!("model {other} in the Shapley family"))),
    })
}

fn internal(what: &str) -> Error {
    Error::from(ErrorKind::InvalidParameter {
        name: "attribution",
        value: String::new(),
        reason: format!("internal: {what} is missing"),
    })
}

/// The scale of the `revenue` column: [`MONEY_SCALE`] (the core's Arrow writers'),
/// or more when an amount has more decimals (the revenue unit follows the finest
/// value given), so no amount is rounded again.
pub(crate) fn revenue_scale(rows: &[CreditRow]) -> i8 {
    let finest = rows
        .iter()
        .map(|r| r.revenue.amount().scale())
        .max()
        .unwrap_or(0);
    // A `Decimal` has at most 28 decimals: it fits an `i8`.
    MONEY_SCALE.max(i8::try_from(finest).unwrap_or(i8::MAX))
}

/// A decimal as the unscaled integer of `Decimal128(38, scale)`.
///
/// # Errors
/// [`ErrorKind::InvalidParameter`] for an amount with more decimals than `scale`
/// or more than 38 digits at it.
pub(crate) fn unscaled(d: Decimal, scale: i8) -> Result<i128> {
    let scale = u32::from(scale.unsigned_abs());
    let out = scale
        .checked_sub(d.scale())
        .and_then(|extra| 10i128.checked_pow(extra))
        .and_then(|f| d.mantissa().checked_mul(f))
        .filter(|v| v.unsigned_abs() < 10u128.pow(38));
    out.ok_or_else(|| {
        Error::from(ErrorKind::InvalidParameter {
            name: "revenue",
            value: d.to_string(),
            reason: format!("does not fit Decimal128(38, {scale})"),
        })
    })
}

/// The result's columns, the revenue at `scale`.
pub(crate) fn result_schema(scale: i8) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("model", DataType::Utf8, false),
        Field::new("channel", DataType::Utf8, false),
        Field::new("conversions", DataType::Float64, false),
        Field::new("value", DataType::Float64, false),
        Field::new("revenue", DataType::Decimal128(38, scale), false),
        Field::new("currency", DataType::Utf8, false),
    ]))
}

/// The rows as one record batch of [`result_schema`] at [`revenue_scale`].
///
/// # Errors
/// As [`unscaled`].
pub(crate) fn to_batch(rows: &[CreditRow]) -> Result<RecordBatch> {
    let scale = revenue_scale(rows);
    let revenue = rows
        .iter()
        .map(|r| unscaled(r.revenue.amount(), scale))
        .collect::<Result<Vec<i128>>>()?;
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.model))),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| &r.channel),
        )),
        Arc::new(Float64Array::from_iter_values(
            rows.iter().map(|r| r.conversions),
        )),
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.value))),
        Arc::new(
            Decimal128Array::from(revenue)
                .with_precision_and_scale(38, scale)
                .map_err(arrow_error)?,
        ),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.revenue.currency().to_string()),
        )),
    ];
    RecordBatch::try_new(result_schema(scale), columns).map_err(arrow_error)
}

/// An Arrow error building a result table, as the core's error type.
pub(crate) fn arrow_error(e: arrow_schema::ArrowError) -> Error {
    Error::from(ErrorKind::InvalidParameter {
        name: "result",
        value: String::new(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use revops::PathRow;
    use revops::attribution::{RuleModel, markov_attribution, shapley_attribution};

    fn row(model: &str, channel: &str, conversions: f64, value: f64, revenue: Money) -> CreditRow {
        CreditRow {
            model: model.to_string(),
            channel: channel.to_string(),
            conversions,
            value,
            revenue,
        }
    }

    fn rule(text: &str) -> RuleModel {
        text.parse().unwrap()
    }

    fn rows() -> Vec<PathRow> {
        let ch = |s: &str| Channel::new(s).unwrap();
        vec![
            PathRow::new(
                vec![ch("search"), ch("email")],
                3.0,
                Decimal::new(10_001, 2),
                2.0,
            ),
            PathRow::new(vec![ch("email")], 1.0, Decimal::new(3_333, 2), 4.0),
            PathRow::new(
                vec![ch("display"), ch("search"), ch("email")],
                2.0,
                Decimal::new(7_777, 2),
                1.0,
            ),
        ]
    }

    /// Every data-driven model (Markov of orders 1 and 2, the Shapley family).
    pub(crate) const DATA_DRIVEN: [&str; 6] = [
        "markov",
        "markov:2",
        "shapley",
        "shapley_simplified",
        "shapley_ordered",
        "shao_li",
    ];

    /// `attribute` over path rows, as `attribution(paths)` calls it.
    fn attribute_rows(
        rows: &[PathRow],
        models: &[AttributionModel],
        options: &CreditOptions,
    ) -> Result<Vec<CreditRow>> {
        attribute(
            &Journeys::from_path_rows(rows, options.currency)?,
            models,
            options,
        )
    }

    fn models(names: &[&str]) -> Vec<AttributionModel> {
        names.iter().map(|m| m.parse().unwrap()).collect()
    }

    #[test]
    fn every_model_equals_the_core_engine_bit_for_bit() {
        let rows = rows();
        let names: Vec<&str> = ["linear"].into_iter().chain(DATA_DRIVEN).collect();
        let out = attribute_rows(&rows, &models(&names), &CreditOptions::default()).unwrap();
        let journeys = Journeys::from_path_rows(&rows, Currency::USD).unwrap();
        let linear = journeys.attribute_with_revenue(&rule("linear")).unwrap();
        let markov = markov_attribution(&rows, MarkovOptions::default()).unwrap();
        let markov2 = markov_attribution(&rows, MarkovOptions::default().with_order(2)).unwrap();
        let shapley = shapley_attribution(&rows, ShapleyOptions::default()).unwrap();
        let of =
            |model: &str| -> Vec<&CreditRow> { out.iter().filter(|r| r.model == model).collect() };
        for (r, c) in of("linear").iter().zip(&linear.channels) {
            assert_eq!((r.conversions, r.value), (c.conversions, c.value));
            assert_eq!(Some(r.revenue), c.revenue);
        }
        for (name, report) in [("markov", &markov), ("markov:2", &markov2)] {
            let split = report.value_split(Currency::USD).unwrap();
            let got = of(name);
            assert_eq!(got.len(), report.channels.len());
            for ((r, c), m) in got.iter().zip(&report.channels).zip(&split) {
                assert_eq!(r.channel, c.channel.as_str());
                assert_eq!(
                    (r.conversions.to_bits(), r.value.to_bits()),
                    (c.conversions.to_bits(), c.value.to_bits())
                );
                assert_eq!(&r.revenue, m);
            }
        }
        for (name, credits) in [
            ("shapley", &shapley.conversion_rate.credits),
            ("shapley_simplified", &shapley.simplified),
            ("shao_li", &shapley.shao_li.credits),
        ] {
            let split = credits.value_split(Currency::USD).unwrap();
            for ((r, c), m) in of(name).iter().zip(&credits.credits).zip(&split) {
                assert_eq!(
                    (r.conversions.to_bits(), r.value.to_bits()),
                    (c.conversions.to_bits(), c.value.to_bits())
                );
                assert_eq!(&r.revenue, m);
            }
        }
        // Every model's revenue sums exactly to the converted value.
        let total: Decimal = rows.iter().map(|r| r.value).sum();
        for name in names {
            let sum: Decimal = of(name).iter().map(|r| r.revenue.amount()).sum();
            assert_eq!(sum, total, "{name}");
        }
        let batch = to_batch(&out).unwrap();
        assert_eq!(batch.num_rows(), out.len());
        assert_eq!(batch.schema(), result_schema(MONEY_SCALE));
    }

    /// A path table read batch by batch gives the journeys (and every model's
    /// numbers) of its rows read at once.
    #[test]
    fn a_table_in_batches_gives_the_rows_journeys() {
        let rows = rows();
        let table = revops::arrow::to_record_batch(&rows, &Options::new()).unwrap();
        let batches = [table.slice(0, 1), table.slice(1, 2)];
        let direct = Journeys::from_path_rows(&rows, Currency::USD).unwrap();
        let names: Vec<&str> = ["linear"].into_iter().chain(DATA_DRIVEN).collect();
        let o = CreditOptions::default();
        let want = attribute_rows(&rows, &models(&names), &o).unwrap();
        // On one thread and on two (a run of batches each), merged in order.
        for threads in [1, 2, 3] {
            let read = journeys_on(&batches, ">", Currency::USD, threads).unwrap();
            assert_eq!(read.path_rows(), direct.path_rows());
            assert_eq!(attribute(&read, &models(&names), &o).unwrap(), want);
        }
        // The first bad row in table order is named, across runs and batches.
        let bad = RecordBatch::try_from_iter([
            (
                "path",
                Arc::new(StringArray::from(vec!["a", " ", "b"])) as ArrayRef,
            ),
            (
                "total_conversions",
                Arc::new(Float64Array::from(vec![1.0; 3])),
            ),
            (
                "total_conversion_value",
                Arc::new(StringArray::from(vec!["1"; 3])),
            ),
            ("total_null", Arc::new(Float64Array::from(vec![0.0; 3]))),
        ])
        .unwrap();
        let table = [table.clone(), table.clone(), bad.clone(), bad];
        assert_eq!(runs_of_batches(&table, 2).len(), 2);
        let errors: Vec<String> = [1, 2, 4]
            .into_iter()
            .map(|t| {
                journeys_on(&table, ">", Currency::USD, t)
                    .unwrap_err()
                    .to_string()
            })
            .collect();
        assert!(
            errors[0].starts_with("paths row 7 (batch 2), column `path`"),
            "{errors:?}"
        );
        assert!(errors.iter().all(|e| *e == errors[0]), "{errors:?}");
    }

    #[test]
    fn policies_reach_the_engines() {
        use revops::attribution::{MarkovRepeats, MarkovStepLimit, ShapleyMethod};
        let rows = rows();
        let o = CreditOptions {
            markov: MarkovOptions::default()
                .with_repeats(MarkovRepeats::Keep)
                .with_step_limit(MarkovStepLimit::Steps(2)),
            shapley: ShapleyOptions::default().with_method(ShapleyMethod::Sampling {
                permutations: 50,
                seed: 3,
            }),
            ..CreditOptions::default()
        };
        let out = attribute_rows(&rows, &models(&["markov:2", "shapley"]), &o).unwrap();
        let markov = markov_attribution(&rows, o.markov.with_order(2)).unwrap();
        let shapley = shapley_attribution(&rows, o.shapley).unwrap();
        let want: Vec<f64> = markov
            .channels
            .iter()
            .map(|c| c.conversions)
            .chain(
                shapley
                    .conversion_rate
                    .credits
                    .credits
                    .iter()
                    .map(|c| c.conversions),
            )
            .collect();
        let got: Vec<f64> = out.iter().map(|r| r.conversions).collect();
        assert_eq!(got, want);
        let default = attribute_rows(
            &rows,
            &models(&["markov:2", "shapley"]),
            &CreditOptions::default(),
        )
        .unwrap();
        assert_ne!(out, default);
    }

    #[test]
    fn a_model_path_rows_cannot_support_is_refused_by_name() {
        let e = attribute_rows(
            &rows(),
            &models(&["linear", "time_decay"]),
            &CreditOptions::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("time_decay"), "{e}");
        assert!(e.to_string().contains("touch times"), "{e}");
    }

    #[test]
    fn revenue_keeps_every_decimal_and_refuses_what_does_not_fit() {
        assert_eq!(
            unscaled(Decimal::new(12_345, 2), 9).unwrap(),
            123_450_000_000
        );
        assert!(unscaled(Decimal::new(1, 10), 9).is_err());
        assert!(unscaled(Decimal::MAX, 28).is_err());
        // A value with 17 decimals (as ChannelAttribution's data set has) keeps them.
        let fine = row(
            "linear",
            "a",
            1.0,
            1.0,
            Money::new(Decimal::new(1, 17), Currency::USD),
        );
        let coarse = row(
            "linear",
            "b",
            1.0,
            1.0,
            Money::new(Decimal::new(5, 0), Currency::USD),
        );
        assert_eq!(revenue_scale(std::slice::from_ref(&coarse)), MONEY_SCALE);
        assert_eq!(revenue_scale(&[fine.clone(), coarse.clone()]), 17);
        let batch = to_batch(&[fine, coarse]).unwrap();
        let revenue = batch
            .column(4)
            .as_any()
            .downcast_ref::<Decimal128Array>()
            .unwrap();
        assert_eq!(revenue.value(0), 1);
        assert_eq!(revenue.value(1), 5 * 10i128.pow(17));
    }
}
