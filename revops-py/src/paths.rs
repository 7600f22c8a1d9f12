//! `attribution(paths, models)`: the core's models over a path table in
//! ChannelAttribution's shape, as one long table (a row per model and channel).
//!
//! Pure Rust: record batches in, one record batch out, so it is tested without
//! Python.

use std::sync::Arc;

use arrow_array::{ArrayRef, Decimal128Array, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use revops::arrow::{MONEY_SCALE, read_batches};
use revops::attribution::{
    Journeys, MarkovCounts, MarkovOptions, ShapleyCounts, ShapleyCredit, ShapleyCredits,
    ShapleyOptions, ShapleyReport,
};
use revops::csv::Options;
use revops::error::ErrorKind;
use revops::{AttributionModel, Currency, Error, Money, PathRow, Result};
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

/// What `attribution` needs besides the rows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PathsOptions {
    /// Between channels in `path`.
    pub separator: String,
    /// The currency of `total_conversion_value`: revenue is split in its minor units.
    pub currency: Currency,
    /// Markov options (the order comes from each model's name).
    pub markov: MarkovOptions,
    /// Options of the Shapley family.
    pub shapley: ShapleyOptions,
}

/// The rows of a path table (the core's Arrow decoder: the checks and messages of
/// `paths.csv`, the row named across all batches).
pub(crate) fn read_paths(batches: &[RecordBatch], separator: &str) -> Result<Vec<PathRow>> {
    let options = Options::new()
        .with_path_separator(separator)
        .with_source_name(PATHS_SOURCE);
    Ok(read_batches::<PathRow>(batches, options)?.0)
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

/// Every model's credit per channel, models in the order given, channels by name
/// within a model; each model's revenue sums exactly to the converted value.
///
/// # Errors
/// A model path rows cannot support (time decay, stage milestones), a data-driven
/// model beyond its limit, and what the engines return.
pub(crate) fn attribute(
    rows: &[PathRow],
    models: &[AttributionModel],
    options: &PathsOptions,
) -> Result<Vec<CreditRow>> {
    let journeys = Journeys::from_path_rows(rows, options.currency)?;
    let mut rules = Vec::new();
    for m in models {
        if let Some(reason) = m.unsupported_by(&journeys) {
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
        let mut counts = ShapleyCounts::new(options.shapley)?;
        counts.add_batch(rows)?;
        Some(counts.finish()?)
    } else {
        None
    };
    let mut out = Vec::new();
    for m in models {
        let name = m.to_string();
        match m {
            AttributionModel::Rule(_) => {
                let a = ruled
                    .next()
                    .ok_or_else(|| internal("a rule model's result"))?;
                for c in a.channels {
                    let revenue = c
                        .revenue
                        .ok_or_else(|| internal("a rule model's revenue"))?;
                    out.push(row(
                        &name,
                        c.channel.as_str(),
                        c.conversions,
                        c.value,
                        revenue,
                    ));
                }
            }
            AttributionModel::Markov { order } => {
                let mut counts = MarkovCounts::new(options.markov.with_order(*order))?;
                counts.add_batch(rows)?;
                let report = counts.finish()?;
                let split = report.value_split(options.currency)?;
                for (c, revenue) in report.channels.iter().zip(split) {
                    out.push(row(
                        &name,
                        c.channel.as_str(),
                        c.conversions,
                        c.value,
                        revenue,
                    ));
                }
            }
            _ => {
                let report = shapley
                    .as_ref()
                    .ok_or_else(|| internal("the Shapley report"))?;
                let credits = shapley_credits(m, report)?;
                let split = credits.value_split(options.currency)?;
                for (c, revenue) in credits.credits.iter().zip(split) {
                    out.push(row(
                        &name,
                        c.channel.as_str(),
                        c.conversions,
                        c.value,
                        revenue,
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// The credit set of one Shapley-family model; the ordered value summed over
/// positions (so its revenue is split like the others').
fn shapley_credits(m: &AttributionModel, report: &ShapleyReport) -> Result<ShapleyCredits> {
    Ok(match m {
        AttributionModel::Shapley => report.conversion_rate.credits.clone(),
        AttributionModel::ShapleySimplified => report.simplified.clone(),
        AttributionModel::ShaoLi => report.shao_li.credits.clone(),
        AttributionModel::ShapleyOrdered => ShapleyCredits {
            credits: report
                .ordered
                .credits
                .iter()
                .map(|c| ShapleyCredit {
                    channel: c.channel.clone(),
                    conversions: c.conversions.iter().sum(),
                    value: c.value.iter().sum(),
                    std_error: 0.0,
                })
                .collect(),
            total_conversions: report.simplified.total_conversions,
            total_value: report.simplified.total_value,
        },
        other => return Err(internal(&format!("model {other} in the Shapley family"))),
    })
}

fn row(model: &str, channel: &str, conversions: f64, value: f64, revenue: Money) -> CreditRow {
    CreditRow {
        model: model.to_string(),
        channel: channel.to_string(),
        conversions,
        value,
        revenue,
    }
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
mod tests {
    use super::*;
    use revops::Channel;
    use revops::attribution::{RuleModel, markov_attribution, shapley_attribution};

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

    fn options() -> PathsOptions {
        PathsOptions {
            separator: ">".into(),
            currency: Currency::USD,
            markov: MarkovOptions::default(),
            shapley: ShapleyOptions::default(),
        }
    }

    fn models(names: &[&str]) -> Vec<AttributionModel> {
        names.iter().map(|m| m.parse().unwrap()).collect()
    }

    #[test]
    fn every_model_equals_the_core_engine_bit_for_bit() {
        let rows = rows();
        let names = [
            "linear",
            "markov",
            "markov:2",
            "shapley",
            "shapley_simplified",
            "shapley_ordered",
            "shao_li",
        ];
        let out = attribute(&rows, &models(&names), &options()).unwrap();
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

    #[test]
    fn policies_reach_the_engines() {
        use revops::attribution::{MarkovRepeats, MarkovStepLimit, ShapleyMethod};
        let rows = rows();
        let mut o = options();
        o.markov = MarkovOptions::default()
            .with_repeats(MarkovRepeats::Keep)
            .with_step_limit(MarkovStepLimit::Steps(2));
        o.shapley = ShapleyOptions::default().with_method(ShapleyMethod::Sampling {
            permutations: 50,
            seed: 3,
        });
        let out = attribute(&rows, &models(&["markov:2", "shapley"]), &o).unwrap();
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
        let default = attribute(&rows, &models(&["markov:2", "shapley"]), &options()).unwrap();
        assert_ne!(out, default);
    }

    #[test]
    fn a_model_path_rows_cannot_support_is_refused_by_name() {
        let e = attribute(&rows(), &models(&["linear", "time_decay"]), &options()).unwrap_err();
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
