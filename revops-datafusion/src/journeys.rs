//! Rule-model attribution over touch rows: touches, conversions and stage events,
//! cut into journeys by the core's [`JourneyBuilder`], so every rule model (time
//! decay and the milestone models included) can be used.

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use chrono::{DateTime, TimeDelta, Utc};
use datafusion_common::{Result, ScalarValue};
use revops::attribution::{
    JourneyBuilder, JourneyOptions, JourneyRecord, RepeatConversions, RuleModel, TrailingTouches,
};
use revops::{
    AttributionModel, CampaignId, Channel, Conversion, Currency, Decimal, Money, StageEvent,
    SubjectId, Touch,
};
use serde::{Deserialize, Serialize};

use crate::attribution::attribution_json;
use crate::convert::{Input, json_scalar, millis, row_error, texts};
use crate::engine::{Engine, external, plan};
use crate::options;

/// Options of `revops_touch_attribution`: the model, the currency of the values, and
/// the journeys' options (lookback in days).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct TouchesFnOptions {
    model: AttributionModel,
    currency: String,
    lookback_days: Option<f64>,
    channels: Option<Vec<Channel>>,
    exclude_channels: Vec<Channel>,
    campaigns: Option<Vec<CampaignId>>,
    repeat: RepeatConversions,
    trailing: TrailingTouches,
}

impl Default for TouchesFnOptions {
    fn default() -> Self {
        let j = JourneyOptions::default();
        TouchesFnOptions {
            model: AttributionModel::Rule(RuleModel::Linear),
            currency: "USD".into(),
            lookback_days: None,
            channels: j.channels,
            exclude_channels: j.exclude_channels,
            campaigns: j.campaigns,
            repeat: j.repeat,
            trailing: j.trailing,
        }
    }
}

fn invalid(name: &'static str, value: String, reason: String) -> revops::Error {
    revops::Error::from(revops::error::ErrorKind::InvalidParameter {
        name,
        value,
        reason,
    })
}

/// What a `revops_touch_attribution` accumulator keeps besides the builder.
#[derive(Debug)]
pub(crate) struct TouchesScratch {
    model: RuleModel,
    currency: Currency,
}

/// `revops_touch_attribution(kind, subject, at, name, campaign, value [, options])`:
/// a rule model's credit per channel over journeys cut from touch, conversion and
/// stage-event rows, with the value split exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) struct TouchesFn;

/// An exact value from column `c` at row `i` (`None` for NULL): a decimal, an
/// integer or decimal text; a float is refused.
fn value(c: &ArrayRef, i: usize) -> std::result::Result<Option<Decimal>, String> {
    use arrow_array::types::{Decimal128Type, Int32Type, Int64Type, UInt64Type};
    if c.is_null(i) {
        return Ok(None);
    }
    let text = |s: &str| {
        s.trim()
            .parse::<Decimal>()
            .map(Some)
            .map_err(|_| format!("value `{s}` is not a decimal number"))
    };
    match c.data_type() {
        DataType::Decimal128(_, scale) => {
            let v = c.as_primitive::<Decimal128Type>().value(i);
            let scale =
                u32::try_from(*scale).map_err(|_| "a negative decimal scale".to_string())?;
            Decimal::try_from_i128_with_scale(v, scale)
                .map(Some)
                .map_err(|e| format!("value {v}e-{scale}: {e}"))
        }
        DataType::Int64 => Ok(Some(c.as_primitive::<Int64Type>().value(i).into())),
        DataType::Int32 => Ok(Some(c.as_primitive::<Int32Type>().value(i).into())),
        DataType::UInt64 => Ok(Some(c.as_primitive::<UInt64Type>().value(i).into())),
        DataType::Utf8 => text(c.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => text(c.as_string::<i64>().value(i)),
        DataType::Utf8View => text(c.as_string_view().value(i)),
        other => Err(format!(
            "value of type {other}: money must be exact (a decimal, an integer or text), not a float"
        )),
    }
}

impl TouchesFn {
    /// The record of row `i`.
    fn record(
        columns: &[ArrayRef],
        times: &[Option<i64>],
        currency: Currency,
        i: usize,
    ) -> std::result::Result<JourneyRecord, String> {
        let (kind, subject) = (
            texts(Self::NAME, columns, 0).map_err(|e| e.to_string())?,
            texts(Self::NAME, columns, 1).map_err(|e| e.to_string())?,
        );
        let (name, campaign) = (
            texts(Self::NAME, columns, 3).map_err(|e| e.to_string())?,
            texts(Self::NAME, columns, 4).map_err(|e| e.to_string())?,
        );
        if kind.is_null(i) || subject.is_null(i) {
            return Err("kind and subject must not be NULL".into());
        }
        let at = times[i]
            .and_then(DateTime::<Utc>::from_timestamp_millis)
            .ok_or("at is NULL")?;
        let subject = SubjectId::new(subject.value(i)).map_err(|e| e.to_string())?;
        let name_of = |what: &str| {
            (!name.is_null(i))
                .then(|| name.value(i))
                .ok_or(format!("a {what} row needs its name"))
        };
        Ok(match kind.value(i).trim().to_ascii_lowercase().as_str() {
            "touch" => {
                let channel = Channel::new(name_of("touch")?).map_err(|e| e.to_string())?;
                let mut t = Touch::new(subject, channel, at);
                if !campaign.is_null(i) {
                    t = t.with_campaign(
                        CampaignId::new(campaign.value(i)).map_err(|e| e.to_string())?,
                    );
                }
                JourneyRecord::Touch(t)
            }
            "conversion" => {
                let v = value(&columns[5], i)?.map(|d| Money::new(d, currency));
                JourneyRecord::Conversion(Conversion::new(subject, at, v))
            }
            "stage" => JourneyRecord::StageEvent(StageEvent::new(subject, name_of("stage")?, at)),
            other => {
                return Err(format!(
                    "kind `{other}` is not one of touch, conversion, stage"
                ));
            }
        })
    }
}

impl Engine for TouchesFn {
    type State = JourneyBuilder;
    type Scratch = TouchesScratch;
    const NAME: &'static str = "revops_touch_attribution";
    const INPUTS: &'static [Input] = &[
        Input::Text,
        Input::Text,
        Input::Time,
        Input::Text,
        Input::Text,
        Input::Any,
    ];

    fn output() -> DataType {
        <crate::attribution::RulesFn as Engine>::output()
    }

    fn new_state(literal: Option<&str>) -> revops::Result<(JourneyBuilder, TouchesScratch)> {
        let o: TouchesFnOptions = options::parse(Self::NAME, literal)?;
        let model = match o.model {
            AttributionModel::Rule(rule) => rule,
            other => {
                return Err(invalid(
                    "model",
                    other.to_string(),
                    format!(
                        "{}: a data-driven model has its own function (revops_markov, revops_shapley)",
                        Self::NAME
                    ),
                ));
            }
        };
        model.validate()?;
        let currency: Currency = o.currency.parse()?;
        let mut j = JourneyOptions::default().with_currency(currency);
        if let Some(d) = o.lookback_days {
            let ms = d * 86_400_000.0;
            if !(ms.is_finite() && ms.abs() < 9.0e15) {
                return Err(invalid(
                    "lookback_days",
                    d.to_string(),
                    "a finite number of days".into(),
                ));
            }
            j = j.with_lookback(TimeDelta::milliseconds(ms.round() as i64));
        }
        j.channels = o.channels;
        j.exclude_channels = o.exclude_channels;
        j.campaigns = o.campaigns;
        j.repeat = o.repeat;
        j.trailing = o.trailing;
        Ok((JourneyBuilder::new(j)?, TouchesScratch { model, currency }))
    }

    fn update(
        state: &mut JourneyBuilder,
        scratch: &mut TouchesScratch,
        columns: &[ArrayRef],
        row: u64,
    ) -> Result<()> {
        let times = millis(Self::NAME, columns, 2)?;
        let n = columns
            .first()
            .map(|c| c.len())
            .ok_or_else(|| plan(Self::NAME, "no columns"))?;
        for i in 0..n {
            let fail = |e: &dyn std::fmt::Display| row_error(Self::NAME, row + i as u64, e);
            let record =
                Self::record(columns, &times, scratch.currency, i).map_err(|e| fail(&e))?;
            state.add(&record).map_err(|e| fail(&e))?;
        }
        Ok(())
    }

    fn evaluate(state: &JourneyBuilder, scratch: &TouchesScratch) -> Result<ScalarValue> {
        let journeys = state.finish().map_err(external)?;
        let a = journeys
            .attribute_with_revenue(&scratch.model)
            .map_err(external)?;
        json_scalar(&attribution_json(&a), &Self::output())
    }
}
