//! `attribution(touches, conversions)`: journeys cut from a touches table and a
//! conversions table (and, for the milestone models, a stage events table) in the
//! canonical schemas, by the core's Arrow decoder and journey builder.
//!
//! [`Input::from_py`] sorts out which tables were given; the rest is pure Rust:
//! record batches in, [`Journeys`] and credit rows out, so it is tested without
//! Python.

use arrow_array::RecordBatch;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyAny, PyList, PyTuple};
use revops::AttributionModel;
use revops::attribution::{MarkovOptions, ShapleyOptions};

use crate::input::record_batches;
use crate::paths::{self, CreditOptions, CreditRow, PATHS_SOURCE, attribute};
use revops::arrow::{ArrowRecord, Decoder, read_batches};
use revops::attribution::{JourneyBuilder, JourneyOptions, JourneyRecord, Journeys};
use revops::csv::Options;
use revops::{Conversion, Currency, Money, Result, StageEvent, Touch};

/// The source names errors give for the rows of the three arguments.
pub(crate) const TOUCHES_SOURCE: &str = "touches";
/// See [`TOUCHES_SOURCE`].
pub(crate) const CONVERSIONS_SOURCE: &str = "conversions";
/// See [`TOUCHES_SOURCE`].
pub(crate) const STAGE_EVENTS_SOURCE: &str = "stage_events";

/// The tables `attribution` was given, as record batches.
#[derive(Debug, Clone)]
pub(crate) enum Input {
    /// A path table.
    Paths(Vec<RecordBatch>),
    /// Touches, conversions and (possibly no) stage events.
    Touches {
        touches: Vec<RecordBatch>,
        conversions: Vec<RecordBatch>,
        stage_events: Vec<RecordBatch>,
    },
}

/// The policies of `attribution`, from its keyword arguments.
#[derive(Debug, Clone)]
pub(crate) struct Policies {
    /// Between channels in a path.
    pub separator: String,
    /// The currency declared (`None`: the data's, else USD).
    pub currency: Option<Currency>,
    /// How journeys are cut from touches (its currency is set from `currency`).
    pub journeys: JourneyOptions,
    /// Markov options (the order comes from each model's name).
    pub markov: MarkovOptions,
    /// Options of the Shapley family.
    pub shapley: ShapleyOptions,
}

impl Input {
    /// Which tables were given, and the models when they came second (the form
    /// `attribution(paths_table, models)`): `paths`; or `touches` with
    /// `conversions` (and `stage_events`); or a table with a `path` column first
    /// and no `conversions`, read as `paths`.
    ///
    /// # Errors
    /// `TypeError` for an object that is not a table, tables that do not make one
    /// input (both `paths` and `touches`, touches without conversions), or models
    /// given twice.
    pub(crate) fn from_py(
        touches: Option<&Bound<'_, PyAny>>,
        conversions: Option<&Bound<'_, PyAny>>,
        paths: Option<&Bound<'_, PyAny>>,
        models: Option<Vec<String>>,
        stage_events: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<(Input, Option<Vec<String>>)> {
        if let Some(p) = paths {
            if touches.is_some() || conversions.is_some() || stage_events.is_some() {
                return Err(PyTypeError::new_err(
                    "give either `paths` or `touches` and `conversions` (with `stage_events`), not both",
                ));
            }
            return Ok((Input::Paths(record_batches(p, PATHS_SOURCE)?), models));
        }
        let Some(first) = touches else {
            return Err(PyTypeError::new_err(
                "attribution needs `touches` and `conversions`, or `paths`",
            ));
        };
        // A list of names second: the form `attribution(paths_table, models)`.
        // (A list or tuple only: a DataFrame iterates as its column names.)
        let named = match conversions {
            Some(c) if c.is_instance_of::<PyList>() || c.is_instance_of::<PyTuple>() => {
                c.extract::<Vec<String>>().ok()
            }
            _ => None,
        };
        if conversions.is_none() || named.is_some() {
            if named.is_some() && models.is_some() {
                return Err(PyTypeError::new_err("`models` given twice"));
            }
            let batches = record_batches(first, PATHS_SOURCE)?;
            if stage_events.is_some() || !batches.iter().all(has_path_column) {
                return Err(PyTypeError::new_err(
                    "`conversions` is missing: give `touches` and `conversions`, or a `paths` \
                     table (with a `path` column)",
                ));
            }
            return Ok((Input::Paths(batches), named.or(models)));
        }
        let conversions =
            conversions.map_or(Ok(Vec::new()), |c| record_batches(c, CONVERSIONS_SOURCE))?;
        let stage_events =
            stage_events.map_or(Ok(Vec::new()), |e| record_batches(e, STAGE_EVENTS_SOURCE))?;
        let touches = record_batches(first, TOUCHES_SOURCE)?;
        Ok((
            Input::Touches {
                touches,
                conversions,
                stage_events,
            },
            models,
        ))
    }

    /// Every model's credit per channel (see [`attribute`]).
    ///
    /// # Errors
    /// A bad row (naming the table, row and column), what the journey builder
    /// refuses, and what [`attribute`] returns.
    pub(crate) fn attribute(
        &self,
        models: &[AttributionModel],
        policies: Policies,
    ) -> Result<Vec<CreditRow>> {
        let fallback = policies.currency.unwrap_or(Currency::USD);
        let journeys = match self {
            Input::Paths(batches) => paths::journeys(batches, &policies.separator, fallback)?,
            Input::Touches {
                touches,
                conversions,
                stage_events,
            } => {
                let mut options = policies.journeys;
                options.currency = policies.currency;
                let tables = Tables {
                    touches,
                    conversions,
                    stage_events,
                };
                journeys(tables, options, fallback)?
            }
        };
        let options = CreditOptions {
            currency: journeys.currency().unwrap_or(fallback),
            markov: policies.markov,
            shapley: policies.shapley,
        };
        attribute(&journeys, models, &options)
    }
}

/// Whether a batch has a `path` column (named as the decoder finds it: trimmed,
/// any case).
fn has_path_column(batch: &RecordBatch) -> bool {
    batch
        .schema_ref()
        .fields()
        .iter()
        .any(|f| f.name().trim().eq_ignore_ascii_case("path"))
}

/// The tables of a touches-and-conversions attribution, as record batches.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tables<'a> {
    /// `touches.csv`'s columns: `subject_id`, `channel`, `campaign`, `at` (optional
    /// `cost`, `currency`).
    pub touches: &'a [RecordBatch],
    /// `conversions.csv`'s columns: `subject_id`, `at`, `value`, `currency`.
    pub conversions: &'a [RecordBatch],
    /// `stage_events.csv`'s columns (`subject_id`, `stage`, `at`), or none.
    pub stage_events: &'a [RecordBatch],
}

/// The currency revenue is split in: the one `options` declares, else the first
/// valued conversion's (as the journey builder takes it), else `fallback` (nothing
/// carries a value: every revenue is zero).
pub(crate) fn currency_of(
    options: &JourneyOptions,
    conversions: &[Conversion],
    fallback: Currency,
) -> Currency {
    options
        .currency
        .or_else(|| {
            conversions
                .iter()
                .find_map(|c| c.value.as_ref().map(Money::currency))
        })
        .unwrap_or(fallback)
}

/// The journeys of `tables` cut under `options` (its currency declared as
/// [`currency_of`] gives it): the same journeys as
/// [`Journeys::from_records`] over the decoded records, built without a `Vec` of
/// touches (each decoded touch goes straight into the builder).
///
/// # Errors
/// A bad row, as the core's Arrow decoder names it (source `touches`,
/// `conversions` or `stage_events`, the row across all batches, the column); what
/// the journey builder refuses (a conversion in another currency, a negative
/// lookback), naming the record.
pub(crate) fn journeys(
    tables: Tables<'_>,
    options: JourneyOptions,
    fallback: Currency,
) -> Result<Journeys> {
    let (conversions, _) =
        read_batches::<Conversion>(tables.conversions, source(CONVERSIONS_SOURCE))?;
    let currency = currency_of(&options, &conversions, fallback);
    let mut builder = JourneyBuilder::new(options.with_currency(currency))?;
    decode_into::<Touch>(tables.touches, TOUCHES_SOURCE, &mut builder)?;
    for c in conversions {
        builder.add(&JourneyRecord::Conversion(c))?;
    }
    decode_into::<StageEvent>(tables.stage_events, STAGE_EVENTS_SOURCE, &mut builder)?;
    builder.into_journeys()
}

fn source(name: &str) -> Options {
    Options::new().with_source_name(name)
}

/// Decodes every batch of one table straight into the builder.
fn decode_into<T: ArrowRecord + Into<JourneyRecord>>(
    batches: &[RecordBatch],
    name: &str,
    builder: &mut JourneyBuilder,
) -> Result<()> {
    let mut decoder = Decoder::<T>::new(source(name))?;
    for batch in batches {
        decoder.decode_with(batch, |r| builder.add(&r.into()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::tests::DATA_DRIVEN;
    use revops::arrow::to_record_batch;
    use revops::attribution::{MarkovCounts, RuleModel, ShapleyCounts};
    use revops::synth::{SynthConfig, generate};
    use revops::{Channel, Decimal};

    fn batch<T: ArrowRecord>(records: &[T]) -> RecordBatch {
        to_record_batch(records, &Options::new()).unwrap()
    }

    /// The synthetic company through Arrow tables gives the core engines' numbers on
    /// its records, to the bit, and each model's revenue sums exactly to the total.
    #[test]
    fn the_synthetic_company_equals_the_core_engines_bit_for_bit() {
        let c = generate(&SynthConfig::default().with_leads(3_000).with_seed(11)).unwrap();
        let (t, v, e) = (
            batch(&c.touches),
            batch(&c.conversions),
            batch(&c.stage_events),
        );
        // In several batches, as a table with many chunks arrives.
        let t = vec![t.slice(0, 1_000), t.slice(1_000, t.num_rows() - 1_000)];
        let tables = Tables {
            touches: &t,
            conversions: std::slice::from_ref(&v),
            stage_events: std::slice::from_ref(&e),
        };
        let got_journeys = journeys(tables, JourneyOptions::default(), Currency::EUR).unwrap();
        let want_journeys = Journeys::from_records(
            &c.touches,
            &c.conversions,
            &c.stage_events,
            &JourneyOptions::default(),
        )
        .unwrap();
        assert_eq!(got_journeys.path_rows(), want_journeys.path_rows());
        assert_eq!(got_journeys.diagnostics(), want_journeys.diagnostics());
        let currency = want_journeys.currency().unwrap();
        let rules = ["first_touch", "linear", "time_decay", "w_shaped"];
        let names: Vec<&str> = rules.into_iter().chain(DATA_DRIVEN).collect();
        let models: Vec<AttributionModel> = names.iter().map(|m| m.parse().unwrap()).collect();
        let o = CreditOptions {
            currency,
            ..CreditOptions::default()
        };
        let out = attribute(&got_journeys, &models, &o).unwrap();
        // Each model's rows as (channel, conversion bits, value bits, revenue).
        type Bits = Vec<(String, u64, u64, Money)>;
        let bits = |credits: Vec<(&Channel, f64, f64)>, revenue: Vec<Money>| -> Bits {
            credits
                .into_iter()
                .zip(revenue)
                .map(|((c, n, v), m)| (c.to_string(), n.to_bits(), v.to_bits(), m))
                .collect()
        };
        let mut want: Vec<(&str, Bits)> = Vec::new();
        for name in rules {
            let rule: RuleModel = name.parse().unwrap();
            let a = want_journeys.attribute_with_revenue(&rule).unwrap();
            let credits = a
                .channels
                .iter()
                .map(|c| (&c.channel, c.conversions, c.value));
            let revenue = a.channels.iter().map(|c| c.revenue.unwrap()).collect();
            want.push((name, bits(credits.collect(), revenue)));
        }
        for (name, order) in [("markov", 1), ("markov:2", 2)] {
            let o = MarkovOptions::default().with_order(order);
            let r = MarkovCounts::from_journeys(&want_journeys, o)
                .unwrap()
                .finish()
                .unwrap();
            let credits = r
                .channels
                .iter()
                .map(|c| (&c.channel, c.conversions, c.value));
            want.push((
                name,
                bits(credits.collect(), r.value_split(currency).unwrap()),
            ));
        }
        let counts =
            ShapleyCounts::from_journeys(&want_journeys, ShapleyOptions::default()).unwrap();
        for (name, credits) in [
            ("shapley", counts.conversion_rate().unwrap().credits),
            ("shapley_simplified", counts.simplified()),
            ("shao_li", counts.shao_li().unwrap().credits),
        ] {
            let split = credits.value_split(currency).unwrap();
            let c = credits
                .credits
                .iter()
                .map(|c| (&c.channel, c.conversions, c.value));
            want.push((name, bits(c.collect(), split)));
        }
        let total = want_journeys.total_value();
        assert!(total > Decimal::ZERO);
        for (name, want) in want {
            let got: Bits = out
                .iter()
                .filter(|r| r.model == name)
                .map(|r| {
                    (
                        r.channel.clone(),
                        r.conversions.to_bits(),
                        r.value.to_bits(),
                        r.revenue,
                    )
                })
                .collect();
            assert_eq!(got, want, "{name}");
            let sum: Decimal = got.iter().map(|r| r.3.amount()).sum();
            assert_eq!(sum, total, "{name}");
        }
    }

    #[test]
    fn a_bad_row_is_named_by_table_row_and_column() {
        let c = generate(&SynthConfig::default().with_leads(1_000).with_seed(3)).unwrap();
        let mut conversions = c.conversions.clone();
        let t = batch(&c.touches);
        // A conversion in another currency than the first: named by the builder.
        let i = conversions.iter().rposition(|v| v.value.is_some()).unwrap();
        let v = conversions[i].value.unwrap();
        conversions[i].value = Some(Money::new(v.amount(), Currency::JPY));
        let v = batch(&conversions);
        let tables = Tables {
            touches: std::slice::from_ref(&t),
            conversions: std::slice::from_ref(&v),
            stage_events: &[],
        };
        let e = journeys(tables, JourneyOptions::default(), Currency::USD).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("conversion") && text.contains("JPY"),
            "{text}"
        );
        assert!(
            text.contains(&format!("#{i}")) || text.contains(&i.to_string()),
            "{text}"
        );
        // A touch without a channel: named by the decoder (source, row, column).
        let bad = t.project(&[0, 2, 3]).unwrap();
        let tables = Tables {
            touches: std::slice::from_ref(&bad),
            ..tables
        };
        let e = journeys(tables, JourneyOptions::default(), Currency::USD).unwrap_err();
        assert!(
            e.to_string().contains("touches") && e.to_string().contains("channel"),
            "{e}"
        );
    }

    #[test]
    fn the_currency_is_declared_by_the_options_the_data_or_the_fallback() {
        let s = revops::SubjectId::new("L1").unwrap();
        let at = chrono_at();
        let valued = [Conversion::new(
            s.clone(),
            at,
            Some(Money::new(Decimal::ONE, Currency::EUR)),
        )];
        let bare = [Conversion::new(s, at, None)];
        let o = JourneyOptions::default();
        assert_eq!(currency_of(&o, &valued, Currency::USD), Currency::EUR);
        assert_eq!(currency_of(&o, &bare, Currency::USD), Currency::USD);
        let declared = o.with_currency(Currency::JPY);
        assert_eq!(
            currency_of(&declared, &valued, Currency::USD),
            Currency::JPY
        );
    }

    fn chrono_at() -> revops::chrono::DateTime<revops::chrono::Utc> {
        use revops::chrono::TimeZone;
        revops::chrono::Utc
            .with_ymd_and_hms(2026, 3, 1, 0, 0, 0)
            .unwrap()
    }
}
