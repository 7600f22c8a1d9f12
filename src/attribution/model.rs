//! One name for every attribution model: the rule models, Markov of any order and the
//! Shapley family, as one type with one text form.

use crate::error::ErrorKind;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::rules::{RULE_NAMES, normalise_name, unknown_model};
use super::{
    ChannelConversions, Journeys, MarkovCounts, MarkovOptions, RuleModel, ShapleyCounts,
    ShapleyOptions,
};
use crate::error::{Error, Result};
use crate::ids::Channel;

/// An attribution model: a rule model ([`RuleModel`]), the Markov-chain removal
/// effect of order `k`, or one of the Shapley-family values.
///
/// Every model has one text form, read by `FromStr` and written by `Display` (they
/// round-trip), and serde uses the same string. Names are case-insensitive, and `-`
/// or a space reads as `_`; parameters follow the name after `:` and are separated by
/// `:`, so a comma-separated list of models needs no quoting:
///
/// | Text | Model |
/// |---|---|
/// | `first_touch` (`first`), `last_touch` (`last`), `last_non_direct[:ch:…]`, `linear`, `linear_unique`, `time_decay[:<days>d]`, `j`, `inverse_j`, `w_shaped`, `full_path` (`z_shaped`) | the rule model of that name ([`RuleModel`]) |
/// | `position_based[:<first>:<last>]`, also `u_shaped`, `u` | position-based, by default 40/20/40: what most tools call **U-shaped** |
/// | `first_and_lead` | the B2B milestone model: 50 % first touch, 50 % the lead-creation touch |
/// | `milestones:<milestone>=<weight>:…:rest=<weight>` | custom milestone weights ([`RuleModel::CustomMilestones`]; a milestone is `first_touch`, `last_touch` or a stage key) |
/// | `markov`, `markov:<k>` | Markov-chain removal effect of order `k` (default 1), other [`MarkovOptions`] at their defaults |
/// | `shapley` | conversion-rate Shapley value over unique channel sets ([`ShapleyOptions`] defaults) |
/// | `shapley_simplified` | simplified Shapley value (each converting path's credit split equally over its distinct channels) |
/// | `shapley_ordered` | ordered Shapley value, summed over touch positions |
/// | `shao_li` | the Shao–Li second-order baseline |
///
/// **U-shaped.** "U-shaped" means two different models in the field: most tools mean
/// position-based 40 % first touch / 20 % middle / 40 % last touch, while B2B
/// milestone tools also use the name for first touch and lead creation 50/50. Here
/// `u_shaped` (and `position_based`) is the 40/20/40 model, found under both names;
/// the 50/50 milestone model has its own name, `first_and_lead`
/// ([`RuleModel::FirstAndLead`]; it was `u_shaped` in revops 0.1). Neither model's
/// weights changed.
///
/// A name the parser does not know is an error whose reason lists every valid name.
///
/// ```
/// use revops::{AttributionModel, attribution::RuleModel};
/// # fn main() -> Result<(), revops::Error> {
/// let u: AttributionModel = "U-shaped".parse()?;
/// assert_eq!(u, AttributionModel::Rule(RuleModel::position_based()));
/// assert_eq!(u.to_string(), "position_based");
/// assert_eq!("markov:2".parse::<AttributionModel>()?, AttributionModel::Markov { order: 2 });
/// assert_eq!(AttributionModel::Markov { order: 1 }.to_string(), "markov");
///
/// // A list, as a command line gives it: no model text contains a comma.
/// let list: Vec<AttributionModel> = "first,milestones:first_touch=0.5:mql=0.5:rest=0,markov:2,shapley"
///     .split(',')
///     .map(str::parse)
///     .collect::<Result<_, _>>()?;
/// assert_eq!(list.len(), 4);
///
/// // serde uses the same text.
/// assert_eq!(serde_json::to_string(&list[3])?, "\"shapley\"");
///
/// let e = "bogus".parse::<AttributionModel>().unwrap_err().to_string();
/// assert!(e.contains("unknown model `bogus`") && e.contains("first_and_lead") && e.contains("shao_li"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AttributionModel {
    /// A rule model: each conversion split over its journey's touches.
    Rule(RuleModel),
    /// The Markov-chain removal effect ([`markov_attribution`](super::markov_attribution)) of order `order ≥ 1`,
    /// the other [`MarkovOptions`] at their defaults.
    Markov {
        /// Order of the chain: a state is `order` consecutive channels.
        order: usize,
    },
    /// The conversion-rate Shapley value over unique channel sets
    /// ([`crate::attribution::RateShapley`], default [`ShapleyOptions`]).
    Shapley,
    /// The simplified Shapley value ([`crate::attribution::ShapleyReport::simplified`]).
    ShapleySimplified,
    /// The ordered Shapley value ([`crate::attribution::OrderedShapley`]), per channel
    /// summed over touch positions.
    ShapleyOrdered,
    /// The Shao–Li second-order model ([`crate::attribution::ShaoLi`]).
    ShaoLi,
}

/// The data-driven names, aliases after the canonical name.
const DATA_DRIVEN_NAMES: &[&[&str]] = &[
    &["markov"],
    &["shapley"],
    &["shapley_simplified", "simplified_shapley"],
    &["shapley_ordered", "ordered_shapley"],
    &["shao_li"],
];

impl AttributionModel {
    /// The model's canonical name without parameters (`"time_decay"`, `"markov"`,
    /// `"shapley_ordered"`).
    pub fn name(&self) -> &'static str {
        match self {
            AttributionModel::Rule(r) => r.name(),
            AttributionModel::Markov { .. } => "markov",
            AttributionModel::Shapley => "shapley",
            AttributionModel::ShapleySimplified => "shapley_simplified",
            AttributionModel::ShapleyOrdered => "shapley_ordered",
            AttributionModel::ShaoLi => "shao_li",
        }
    }

    /// The rule model, if this is one.
    pub fn as_rule(&self) -> Option<&RuleModel> {
        match self {
            AttributionModel::Rule(r) => Some(r),
            _ => None,
        }
    }

    /// Whether this is one of the Shapley-family models (they share one tally).
    pub fn is_shapley(&self) -> bool {
        matches!(
            self,
            AttributionModel::Shapley
                | AttributionModel::ShapleySimplified
                | AttributionModel::ShapleyOrdered
                | AttributionModel::ShaoLi
        )
    }

    /// Why the model cannot run on these journeys, or `None` when it can: time decay
    /// needs touch times (journeys built from path rows have none); a milestone
    /// model with a stage milestone needs stage events.
    ///
    /// ```
    /// use revops::{AttributionModel, Channel, Currency, Decimal, PathRow, attribution::Journeys};
    /// # fn main() -> Result<(), revops::Error> {
    /// let rows = [PathRow::new(vec![Channel::new("a")?], 1.0, Decimal::ZERO, 0.0)];
    /// let journeys = Journeys::from_path_rows(&rows, Currency::USD)?;
    /// let models: Vec<AttributionModel> = ["linear", "time_decay", "w_shaped", "markov"]
    ///     .iter()
    ///     .map(|m| m.parse())
    ///     .collect::<Result<_, _>>()?;
    /// let usable: Vec<String> = models
    ///     .iter()
    ///     .filter(|m| m.unsupported_by(&journeys).is_none())
    ///     .map(|m| m.to_string())
    ///     .collect();
    /// assert_eq!(usable, ["linear", "markov"]);
    /// # Ok(()) }
    /// ```
    pub fn unsupported_by(&self, journeys: &Journeys) -> Option<&'static str> {
        let rule = self.as_rule()?;
        if rule.needs_times() && journeys.untimed > 0 {
            Some("time decay needs touch times (journeys from path rows have none)")
        } else if rule.needs_stage_events() && journeys.stage_events == 0 {
            Some("a milestone model needs stage events")
        } else {
            None
        }
    }

    /// Credited conversions per channel under this model: the rule models through
    /// [`Journeys::attribute`], the data-driven ones over the journeys aggregated by
    /// path ([`Journeys::path_rows`], tallied on dense ids without building the rows)
    /// with default options (Markov of the model's order); only the model asked for
    /// is solved. For several data-driven models over the same journeys, build each
    /// tally once ([`MarkovCounts::from_journeys`], [`ShapleyCounts::from_journeys`])
    /// and call its finishers.
    ///
    /// ```
    /// use revops::{AttributionModel, Channel, Currency, Decimal, PathRow, attribution::Journeys};
    /// # fn main() -> Result<(), revops::Error> {
    /// let ch = |s: &str| Channel::new(s);
    /// let rows = [PathRow::new(vec![ch("a")?, ch("b")?], 2.0, Decimal::ZERO, 1.0)];
    /// let journeys = Journeys::from_path_rows(&rows, Currency::USD)?;
    /// let first = "first".parse::<AttributionModel>()?.channel_conversions(&journeys)?;
    /// assert_eq!(first, [(ch("a")?, 2.0), (ch("b")?, 0.0)]);
    /// let shapley = AttributionModel::ShapleySimplified.channel_conversions(&journeys)?;
    /// assert_eq!(shapley, [(ch("a")?, 1.0), (ch("b")?, 1.0)]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// What the engine returns: a rule model the journeys cannot support
    /// ([`AttributionModel::unsupported_by`]), a data-driven model beyond its limit
    /// ([`ErrorKind::LimitExceeded`](crate::error::ErrorKind::LimitExceeded)).
    pub fn channel_conversions(&self, journeys: &Journeys) -> Result<Vec<(Channel, f64)>> {
        if let AttributionModel::Rule(r) = self {
            return Ok(journeys.attribute(r)?.channel_conversions());
        }
        // Aggregated on dense ids, without building the path rows (the same counts
        // as the engines over `journeys.path_rows()`); only the model asked for is
        // solved, under its own limits.
        if let AttributionModel::Markov { order } = self {
            let options = MarkovOptions::default().with_order(*order);
            return Ok(MarkovCounts::from_journeys(journeys, options)?
                .finish()?
                .channel_conversions());
        }
        let counts = ShapleyCounts::from_journeys(journeys, ShapleyOptions::default())?;
        self.shapley_conversions(&counts)
    }

    /// Credited conversions per channel of a Shapley-family model from its tally
    /// (the conversion-rate value for any model that is not one of the others).
    ///
    /// # Errors
    /// The model's own limit ([`ShapleyOptions`]), checked before allocating.
    pub(crate) fn shapley_conversions(
        &self,
        counts: &ShapleyCounts,
    ) -> Result<Vec<(Channel, f64)>> {
        Ok(match self {
            AttributionModel::ShapleySimplified => counts.simplified().channel_conversions(),
            AttributionModel::ShapleyOrdered => counts
                .ordered()?
                .credits
                .iter()
                .map(|c| (c.channel.clone(), c.conversions.iter().sum()))
                .collect(),
            AttributionModel::ShaoLi => counts.shao_li()?.credits.channel_conversions(),
            _ => counts.conversion_rate()?.credits.channel_conversions(),
        })
    }
}

impl From<RuleModel> for AttributionModel {
    fn from(rule: RuleModel) -> Self {
        AttributionModel::Rule(rule)
    }
}

impl fmt::Display for AttributionModel {
    /// The canonical text (parameters only where they differ from the defaults): a
    /// rule model as [`RuleModel`]'s `Display` writes it,
    /// `markov` (order 1) or `markov:<k>`, `shapley`, `shapley_simplified`,
    /// `shapley_ordered`, `shao_li`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttributionModel::Rule(r) => fmt::Display::fmt(r, f),
            AttributionModel::Markov { order: 1 } => f.write_str("markov"),
            AttributionModel::Markov { order } => write!(f, "markov:{order}"),
            other => f.write_str(other.name()),
        }
    }
}

impl FromStr for AttributionModel {
    type Err = Error;

    /// Reads the text of the table in the [type documentation](AttributionModel).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) naming the text: an unknown name (the reason lists
    /// the valid names; an empty text says that no model was given), bad parameters,
    /// a Markov order that is not a whole number ≥ 1.
    fn from_str(s: &str) -> Result<AttributionModel> {
        let err = |reason: String| {
            Error::from(ErrorKind::InvalidParameter {
                name: "model",
                value: s.to_string(),
                reason,
            })
        };
        let (name, params) = match s.trim().split_once(':') {
            Some((n, p)) => (normalise_name(n), Some(p.trim())),
            None => (normalise_name(s), None),
        };
        let model = match (name.as_str(), params) {
            ("markov", None) => AttributionModel::Markov { order: 1 },
            ("markov", Some(p)) => match p.parse::<usize>() {
                Ok(order) if order >= 1 => AttributionModel::Markov { order },
                _ => {
                    return Err(err(format!(
                        "`{p}`: a Markov order is a whole number ≥ 1 (markov:2)"
                    )));
                }
            },
            ("shapley", None) => AttributionModel::Shapley,
            ("shapley_simplified" | "simplified_shapley", None) => {
                AttributionModel::ShapleySimplified
            }
            ("shapley_ordered" | "ordered_shapley", None) => AttributionModel::ShapleyOrdered,
            ("shao_li", None) => AttributionModel::ShaoLi,
            (n, Some(_)) if DATA_DRIVEN_NAMES.iter().any(|names| names.contains(&n)) => {
                return Err(err("this model takes no parameters".into()));
            }
            (n, _) if RULE_NAMES.iter().any(|names| names.contains(&n)) => {
                AttributionModel::Rule(s.parse()?)
            }
            _ => return Err(err(unknown_model(&name, DATA_DRIVEN_NAMES))),
        };
        Ok(model)
    }
}

impl Serialize for AttributionModel {
    /// As the `Display` text.
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AttributionModel {
    /// From the `Display` text (any text `FromStr` reads).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::Milestone;

    fn parse(s: &str) -> AttributionModel {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn every_model_round_trips_through_text_and_serde() {
        let mut models: Vec<AttributionModel> = RuleModel::standard()
            .into_iter()
            .map(AttributionModel::from)
            .collect();
        models.extend([
            parse("milestones:first_touch=0.4:mql=0.4:sql=0.1:rest=0.1"),
            parse("last_non_direct:direct:organic"),
            parse("time_decay:1.5d"),
            parse("position_based:0.3:0.5"),
            AttributionModel::Markov { order: 1 },
            AttributionModel::Markov { order: 3 },
            AttributionModel::Shapley,
            AttributionModel::ShapleySimplified,
            AttributionModel::ShapleyOrdered,
            AttributionModel::ShaoLi,
        ]);
        for m in models {
            let text = m.to_string();
            assert!(!text.contains(','), "{text} would split a list");
            assert_eq!(parse(&text), m, "{text}");
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(serde_json::from_str::<AttributionModel>(&json).unwrap(), m);
        }
    }

    proptest::proptest! {
        /// Any parameters round-trip through the text and serde: shares and weights
        /// as written, the half-life to the millisecond, any Markov order.
        #[test]
        fn random_parameters_round_trip(
            first in 0.0f64..=0.5,
            last in 0.0f64..=0.5,
            half_life_ms in 1i64..1_000_000_000_000,
            weights in proptest::collection::vec(0.0f64..10.0, 1..5),
            rest in 0.0f64..1.0,
            order in 1usize..10,
        ) {
            let milestones = weights
                .iter()
                .enumerate()
                .map(|(i, w)| (Milestone::stage(format!("stage{i}")), *w + 0.5))
                .collect();
            let models = [
                AttributionModel::Rule(RuleModel::PositionBased { first, last }),
                AttributionModel::Rule(RuleModel::TimeDecay {
                    half_life: chrono::TimeDelta::milliseconds(half_life_ms),
                }),
                AttributionModel::Rule(RuleModel::CustomMilestones { milestones, rest }),
                AttributionModel::Markov { order },
            ];
            for m in models {
                let text = m.to_string();
                proptest::prop_assert!(!text.contains(','));
                proptest::prop_assert_eq!(&parse(&text), &m, "{}", text);
                let json = serde_json::to_string(&m).unwrap();
                proptest::prop_assert_eq!(serde_json::from_str::<AttributionModel>(&json).unwrap(), m);
            }
        }
    }

    #[test]
    fn u_shaped_is_40_20_40_and_the_50_50_model_has_its_own_name() {
        let forty = AttributionModel::Rule(RuleModel::PositionBased {
            first: 0.4,
            last: 0.4,
        });
        for name in [
            "u_shaped",
            "U-shaped",
            "u shaped",
            "u",
            "position_based",
            "Position-Based",
        ] {
            assert_eq!(parse(name), forty, "{name}");
        }
        assert_eq!(
            parse("first_and_lead"),
            AttributionModel::Rule(RuleModel::FirstAndLead)
        );
        assert_eq!(
            RuleModel::FirstAndLead.milestone_weights().unwrap().0[1].1,
            0.5
        );
    }

    #[test]
    fn aliases_read_as_their_model() {
        assert_eq!(parse("first"), parse("first_touch"));
        assert_eq!(parse("z_shaped"), parse("full_path"));
        assert_eq!(
            parse("Simplified-Shapley"),
            AttributionModel::ShapleySimplified
        );
        assert_eq!(parse("ordered_shapley"), AttributionModel::ShapleyOrdered);
        // The old comma form of parameters is still read for one model.
        assert_eq!(
            parse("milestones:first_touch=1,rest=0"),
            parse("milestones:first_touch=1:rest=0")
        );
    }

    #[test]
    fn errors_name_the_text_and_list_the_valid_names() {
        let reason = |s: &str| match s.parse::<AttributionModel>().map_err(|e| e.into_kind()) {
            Err(ErrorKind::InvalidParameter { value, reason, .. }) => {
                assert_eq!(value, s);
                reason
            }
            other => panic!("{s}: {other:?}"),
        };
        let r = reason("bogus");
        for name in [
            "first_touch",
            "position_based (or u_shaped, u)",
            "first_and_lead",
            "milestones",
            "markov",
            "shapley_simplified",
            "shao_li",
        ] {
            assert!(r.contains(name), "{r} lacks {name}");
        }
        assert!(reason("").starts_with("no model given"));
        assert!(reason("mql=0.3").contains("separated by `:`"));
        assert!(reason("markov:0").contains("≥ 1"));
        assert!(reason("markov:x").contains("≥ 1"));
        assert!(reason("shapley:2").contains("no parameters"));
        assert!(reason("linear:3").contains("no parameters"));
        assert!(
            "position_based:0.7:0.7"
                .parse::<AttributionModel>()
                .is_err()
        );
        assert!(serde_json::from_str::<AttributionModel>("\"nope\"").is_err());
    }
}
