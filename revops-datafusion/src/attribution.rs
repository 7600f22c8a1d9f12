//! Data-driven attribution over journeys in ChannelAttribution's shape: one row per
//! distinct path with its conversions, conversion value and non-converting count.

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use datafusion_common::{DataFusionError, Result, ScalarValue};
use revops::AttributionModel;
use revops::arrow::{Decoder, MONEY_SCALE};
use revops::attribution::{
    Attribution, CreditCounts, Journeys, MarkovCounts, MarkovOptions, RuleModel, ShapleyCounts,
    ShapleyCredits, ShapleyOptions,
};
use revops::csv::Options;
use revops::{Currency, PathRow};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::convert::{Input, field, json_scalar, list, structure};
use crate::engine::{Engine, external};
use crate::options;

/// The columns of a path table, in argument order (the core's `paths.csv` names).
const PATH_COLUMNS: [&str; 4] = [
    "path",
    "total_conversions",
    "total_conversion_value",
    "total_null",
];

/// Exact money in results: `Decimal128(38, 9)`, as the core's Arrow writer.
pub(crate) fn money() -> DataType {
    DataType::Decimal128(38, MONEY_SCALE)
}

/// Options of a path-table function: the core model's options `O` (their keys at the
/// top level), the path separator and the currency whose minor units the value is
/// split in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PathsFnOptions<O> {
    #[serde(flatten)]
    model: O,
    /// Between channels in `path` (default `>`, trimmed around each channel).
    separator: String,
    /// The value's currency (ISO code, default `USD`): the revenue split is exact in
    /// its minor units.
    currency: String,
}

impl<O: Default> Default for PathsFnOptions<O> {
    fn default() -> Self {
        PathsFnOptions {
            model: O::default(),
            separator: Options::new().path_separator().to_string(),
            currency: "USD".into(),
        }
    }
}

/// The rows of a path table as the core decodes them (same checks and messages as
/// reading `paths.csv` or a Parquet file), with the row named in the whole input.
#[derive(Debug)]
pub(crate) struct PathDecoder {
    decoder: Decoder<PathRow>,
    currency: Currency,
}

impl PathDecoder {
    fn new(function: &str, separator: &str, currency: &str) -> revops::Result<PathDecoder> {
        let options = Options::new()
            .with_path_separator(separator)
            .with_source_name(function);
        Ok(PathDecoder {
            decoder: Decoder::new(options)?,
            currency: currency.parse()?,
        })
    }

    /// Gives each row of the argument columns to `add`.
    fn rows(
        &mut self,
        columns: &[ArrayRef],
        add: impl FnMut(PathRow) -> revops::Result<()>,
    ) -> Result<()> {
        let fields: Vec<Field> = PATH_COLUMNS
            .iter()
            .zip(columns)
            .map(|(name, c)| Field::new(*name, c.data_type().clone(), true))
            .collect();
        let batch =
            RecordBatch::try_new(std::sync::Arc::new(Schema::new(fields)), columns.to_vec())?;
        self.decoder.decode_with(&batch, add).map_err(external)
    }
}

/// `revops_markov(path, conversions, value, nulls [, options])`: the exact Markov
/// removal-effect attribution of [`MarkovCounts`], with the value split exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) struct MarkovFn;

impl Engine for MarkovFn {
    type State = MarkovCounts;
    type Scratch = PathDecoder;
    const NAME: &'static str = "revops_markov";
    const INPUTS: &'static [Input] = &[Input::Any, Input::Any, Input::Any, Input::Any];

    fn output() -> DataType {
        let f = |n: &str| field(n, DataType::Float64);
        let channel = structure(vec![
            field("channel", DataType::Utf8),
            f("removal_effect"),
            f("p_conversion_without"),
            f("share"),
            f("conversions"),
            f("value"),
            field("revenue", money()),
        ]);
        structure(vec![
            f("p_conversion"),
            field("step_limit", DataType::UInt64),
            f("total_conversions"),
            f("total_nulls"),
            field("total_value", money()),
            field("channels", list(channel)),
        ])
    }

    fn new_state(literal: Option<&str>) -> revops::Result<(MarkovCounts, PathDecoder)> {
        let o: PathsFnOptions<MarkovOptions> = options::parse(Self::NAME, literal)?;
        let decoder = PathDecoder::new(Self::NAME, &o.separator, &o.currency)?;
        Ok((MarkovCounts::new(o.model)?, decoder))
    }

    fn update(
        state: &mut MarkovCounts,
        decoder: &mut PathDecoder,
        columns: &[ArrayRef],
        _row: u64,
    ) -> Result<()> {
        decoder.rows(columns, |r| state.add(&r))
    }

    fn evaluate(state: &MarkovCounts, decoder: &PathDecoder) -> Result<ScalarValue> {
        let report = state.finish().map_err(external)?;
        let split = report.value_split(decoder.currency).map_err(external)?;
        let mut json =
            serde_json::to_value(&report).map_err(|e| DataFusionError::External(Box::new(e)))?;
        let channels = json
            .get_mut("channels")
            .and_then(Value::as_array_mut)
            .ok_or_else(|| DataFusionError::Internal("a Markov report without channels".into()))?;
        for (c, part) in channels.iter_mut().zip(&split) {
            if let Some(c) = c.as_object_mut() {
                c.insert("revenue".into(), Value::String(part.amount().to_string()));
            }
        }
        json_scalar(&json, &Self::output())
    }
}

fn json_error(e: serde_json::Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// Adds each part of an exact split as `revenue` to the objects of the list `key`.
fn with_revenue(json: &mut Value, key: &str, split: &[revops::Money]) -> Result<()> {
    let items = json
        .get_mut(key)
        .and_then(Value::as_array_mut)
        .ok_or_else(|| DataFusionError::Internal(format!("a result without `{key}`")))?;
    for (item, part) in items.iter_mut().zip(split) {
        if let Some(item) = item.as_object_mut() {
            item.insert("revenue".into(), Value::String(part.amount().to_string()));
        }
    }
    Ok(())
}

/// A credit set with each channel's exact revenue.
fn credits_type() -> DataType {
    let f = |n: &str| field(n, DataType::Float64);
    let credit = structure(vec![
        field("channel", DataType::Utf8),
        f("conversions"),
        f("value"),
        f("std_error"),
        field("revenue", money()),
    ]);
    structure(vec![
        field("credits", list(credit)),
        f("total_conversions"),
        field("total_value", money()),
    ])
}

/// A credit set's JSON with the exact revenue split in `currency`.
fn credits_json(c: &ShapleyCredits, currency: Currency) -> Result<Value> {
    let split = c.value_split(currency).map_err(external)?;
    let mut json = serde_json::to_value(c).map_err(json_error)?;
    with_revenue(&mut json, "credits", &split)?;
    Ok(json)
}

/// `revops_shapley(path, conversions, value, nulls [, options])`: the Shapley family
/// of [`ShapleyCounts`] (simplified, conversion-rate and Shao–Li credit, each with its
/// value split exactly, and the ordered credit per position).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) struct ShapleyFn;

impl Engine for ShapleyFn {
    type State = ShapleyCounts;
    type Scratch = PathDecoder;
    const NAME: &'static str = "revops_shapley";
    const INPUTS: &'static [Input] = &[Input::Any, Input::Any, Input::Any, Input::Any];

    fn output() -> DataType {
        let floats = || list(DataType::Float64);
        let ordered_credit = structure(vec![
            field("channel", DataType::Utf8),
            field("conversions", floats()),
            field("value", floats()),
        ]);
        structure(vec![
            field("simplified", credits_type()),
            field("conversion_rate", credits_type()),
            field("shao_li", credits_type()),
            field(
                "ordered",
                structure(vec![
                    field("positions", DataType::UInt64),
                    field("credits", list(ordered_credit)),
                ]),
            ),
        ])
    }

    fn new_state(literal: Option<&str>) -> revops::Result<(ShapleyCounts, PathDecoder)> {
        let o: PathsFnOptions<ShapleyOptions> = options::parse(Self::NAME, literal)?;
        let decoder = PathDecoder::new(Self::NAME, &o.separator, &o.currency)?;
        Ok((ShapleyCounts::new(o.model)?, decoder))
    }

    fn update(
        state: &mut ShapleyCounts,
        decoder: &mut PathDecoder,
        columns: &[ArrayRef],
        _row: u64,
    ) -> Result<()> {
        decoder.rows(columns, |r| state.add(&r))
    }

    fn evaluate(state: &ShapleyCounts, decoder: &PathDecoder) -> Result<ScalarValue> {
        let r = state.finish().map_err(external)?;
        let c = decoder.currency;
        let json = serde_json::json!({
            "simplified": credits_json(&r.simplified, c)?,
            "conversion_rate": credits_json(&r.conversion_rate.credits, c)?,
            "shao_li": credits_json(&r.shao_li.credits, c)?,
            "ordered": serde_json::to_value(&r.ordered).map_err(json_error)?,
        });
        json_scalar(&json, &Self::output())
    }
}

/// The model of `revops_attribution`: a rule model, by its text (`linear`,
/// `u_shaped`, `position_based:0.3:0.5`, `milestones:first_touch=1:last_touch=1:rest=0.5`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RuleFnModel {
    model: AttributionModel,
}

impl Default for RuleFnModel {
    fn default() -> Self {
        RuleFnModel {
            model: AttributionModel::Rule(RuleModel::Linear),
        }
    }
}

/// What a `revops_attribution` accumulator keeps besides its tally: the decoder and
/// a buffer of one batch's rows.
#[derive(Debug)]
pub(crate) struct RulesScratch {
    decoder: PathDecoder,
    rows: Vec<PathRow>,
}

/// `revops_attribution(path, conversions, value, nulls [, options])`: a rule model's
/// credit per channel, tallied by [`CreditCounts`] batch by batch, with the value
/// split exactly in the currency's minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) struct RulesFn;

impl Engine for RulesFn {
    type State = CreditCounts;
    type Scratch = RulesScratch;
    const NAME: &'static str = "revops_attribution";
    const INPUTS: &'static [Input] = &[Input::Any, Input::Any, Input::Any, Input::Any];

    fn output() -> DataType {
        let f = |n: &str| field(n, DataType::Float64);
        let channel = structure(vec![
            field("channel", DataType::Utf8),
            f("conversions"),
            f("value"),
            field("revenue", money()),
        ]);
        structure(vec![
            field("model", DataType::Utf8),
            field("channels", list(channel)),
            f("conversions"),
            f("unattributed_conversions"),
            f("fallback_conversions"),
            f("value"),
            f("unattributed_value"),
            field("revenue", money()),
            field("unattributed_revenue", money()),
        ])
    }

    fn new_state(literal: Option<&str>) -> revops::Result<(CreditCounts, RulesScratch)> {
        let o: PathsFnOptions<RuleFnModel> = options::parse(Self::NAME, literal)?;
        let rule = match o.model.model {
            AttributionModel::Rule(rule) => rule,
            other => {
                return Err(revops::Error::from(
                    revops::error::ErrorKind::InvalidParameter {
                        name: "model",
                        value: other.to_string(),
                        reason: format!(
                            "{}: a data-driven model has its own function (revops_markov, revops_shapley)",
                            Self::NAME
                        ),
                    },
                ));
            }
        };
        let decoder = PathDecoder::new(Self::NAME, &o.separator, &o.currency)?;
        let counts = CreditCounts::new(vec![rule], Some(decoder.currency))?;
        Ok((
            counts,
            RulesScratch {
                decoder,
                rows: Vec::new(),
            },
        ))
    }

    fn update(
        state: &mut CreditCounts,
        scratch: &mut RulesScratch,
        columns: &[ArrayRef],
        _row: u64,
    ) -> Result<()> {
        let RulesScratch { decoder, rows } = scratch;
        rows.clear();
        decoder.rows(columns, |r| {
            rows.push(r);
            Ok(())
        })?;
        let journeys = Journeys::from_path_rows(rows, decoder.currency).map_err(external)?;
        state.add_journeys(&journeys).map_err(external)
    }

    fn evaluate(state: &CreditCounts, _: &RulesScratch) -> Result<ScalarValue> {
        let all = state.finish().map_err(external)?;
        let a = all
            .first()
            .ok_or_else(|| DataFusionError::Internal("a tally without its model".into()))?;
        json_scalar(&attribution_json(a), &Self::output())
    }
}

/// A rule model's attribution as the result's JSON: money as its amount.
pub(crate) fn attribution_json(a: &Attribution) -> Value {
    let amount = |m: Option<revops::Money>| m.map(|m| Value::String(m.amount().to_string()));
    let channels: Vec<Value> = a
        .channels
        .iter()
        .map(|c| {
            serde_json::json!({
                "channel": c.channel.as_str(),
                "conversions": c.conversions,
                "value": c.value,
                "revenue": amount(c.revenue),
            })
        })
        .collect();
    serde_json::json!({
        "model": a.model.to_string(),
        "channels": channels,
        "conversions": a.conversions,
        "unattributed_conversions": a.unattributed_conversions,
        "fallback_conversions": a.fallback_conversions,
        "value": a.value,
        "unattributed_value": a.unattributed_value,
        "revenue": amount(a.revenue),
        "unattributed_revenue": amount(a.unattributed_revenue),
    })
}
