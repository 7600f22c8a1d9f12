//! Rule-based attribution models: positional rules over a journey's touches, time
//! decay, and the B2B milestone models anchored on stage events.
//!
//! Every model turns one journey (its touches in time order) into one weight per
//! touch; the weights are non-negative and sum to 1, so each conversion's credit sums
//! to exactly one conversion (up to floating-point rounding of the shares).

use crate::error::ErrorKind;
use std::fmt;
use std::str::FromStr;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::Channel;

/// A touch that a milestone model gives a fixed share to.
///
/// ```
/// use revops::attribution::Milestone;
/// assert_eq!(Milestone::stage("MQL").to_string(), "mql");
/// assert_eq!("first_touch".parse::<Milestone>()?, Milestone::FirstTouch);
/// # Ok::<(), revops::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Milestone {
    /// The journey's first touch (always present when the journey has a touch).
    FirstTouch,
    /// The journey's last touch (the touch closest to the conversion).
    LastTouch,
    /// The touch that led to a stage: the **last touch of the journey at or before**
    /// the subject's stage event with this key (see [`crate::attribution::Journeys`] for which
    /// event is used). Keys are matched trimmed and case-insensitively.
    Stage(String),
}

impl Milestone {
    /// The milestone of a stage key (trimmed and lower-cased).
    pub fn stage(key: impl AsRef<str>) -> Milestone {
        Milestone::Stage(normalise_key(key.as_ref()))
    }
}

pub(crate) fn normalise_key(key: &str) -> String {
    key.trim().to_lowercase()
}

impl fmt::Display for Milestone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Milestone::FirstTouch => f.write_str("first_touch"),
            Milestone::LastTouch => f.write_str("last_touch"),
            Milestone::Stage(k) => f.write_str(k),
        }
    }
}

impl FromStr for Milestone {
    type Err = Error;

    /// `first_touch`, `last_touch`, or any other text as a stage key.
    fn from_str(s: &str) -> Result<Milestone> {
        let k = normalise_key(s);
        match k.as_str() {
            "" => Err(Error::from(ErrorKind::InvalidParameter {
                name: "milestone",
                value: s.to_string(),
                reason: "a milestone is `first_touch`, `last_touch` or a stage key".into(),
            })),
            "first_touch" => Ok(Milestone::FirstTouch),
            "last_touch" => Ok(Milestone::LastTouch),
            _ => Ok(Milestone::Stage(k)),
        }
    }
}

/// A rule-based attribution model: how one conversion's credit is split over the
/// touches of its journey.
///
/// In the rules below a journey has `n ≥ 1` touches in time order (ties keep input
/// order); a journey without touches is never credited (it is counted as
/// unattributed). Weights are computed, then divided by their sum, so every
/// conversion's shares sum to 1.
///
/// | Model | Weight rule |
/// |---|---|
/// | [`FirstTouch`](RuleModel::FirstTouch) | 1 to the first touch |
/// | [`LastTouch`](RuleModel::LastTouch) | 1 to the last touch |
/// | [`LastNonDirect`](RuleModel::LastNonDirect) | 1 to the last touch whose channel is not in `direct`; if every touch is direct, 1 to the last touch (a *fallback*, counted) |
/// | [`Linear`](RuleModel::Linear) | `1/n` per touch (repeated channels count once per touch) |
/// | [`LinearUnique`](RuleModel::LinearUnique) | `1/k` per distinct channel (`k` channels), split equally over that channel's touches |
/// | [`TimeDecay`](RuleModel::TimeDecay) | `0.5^(Δt / half_life)` with `Δt` = conversion time − touch time, normalised |
/// | [`PositionBased`](RuleModel::PositionBased) (U-shaped) | `first` to the first touch, `last` to the last, `1 − first − last` spread equally over the `n − 2` middle touches (default 0.4 / 0.4: 40/20/40) |
/// | [`J`](RuleModel::J) | position-based with first 0.2, last 0.6 (middle 0.2) |
/// | [`InverseJ`](RuleModel::InverseJ) | position-based with first 0.6, last 0.2 (middle 0.2) |
/// | [`FirstAndLead`](RuleModel::FirstAndLead) | milestones: first touch 0.5, lead creation 0.5 |
/// | [`WShaped`](RuleModel::WShaped) | milestones: first touch 0.3, lead creation 0.3, opportunity creation 0.3, rest 0.1 |
/// | [`FullPath`](RuleModel::FullPath) | milestones: first touch, lead creation, opportunity creation, closed won 0.225 each, rest 0.1 |
/// | [`CustomMilestones`](RuleModel::CustomMilestones) | the given weight per milestone, `rest` over the other touches |
///
/// **Short journeys (positional models).** One touch gets everything. With two
/// touches there is no middle: the middle share is renormalised away, so the first
/// touch gets `first / (first + last)` and the last `last / (first + last)` (U 40/40
/// → 50/50, J → 25/75, inverse J → 75/25); if `first + last = 0`, 50/50.
///
/// **Milestone models.** Each milestone resolves to one touch of the journey: the
/// first touch, the last touch, or for a stage the *last touch at or before* the
/// stage event (lead creation defaults to stage [`RuleModel::LEAD_CREATION`],
/// opportunity creation to [`RuleModel::OPPORTUNITY_CREATION`], closed won to
/// [`RuleModel::CLOSED_WON`]). Then:
/// - a touch that is several milestones at once gets the sum of their weights
///   (they *pool*: U with lead creation on the first touch gives it 100 %);
/// - a milestone that does not resolve (no such stage event, or the event comes
///   before the journey's first touch) is dropped and the remaining weights are
///   renormalised (W without an opportunity: 3/7, 3/7 and 1/7 over the rest);
/// - `rest` is spread equally over the touches that are no milestone; when every
///   touch is a milestone, the rest share is renormalised away;
/// - if the resolved weights sum to zero (no milestone resolves and `rest` is zero
///   or there is no other touch), the journey falls back to linear (counted as a
///   *fallback*).
///
/// So first-and-lead with one touch gives it 100 %; with two touches and the lead
/// created at the second, 50/50; with the lead created at the first, 100 % to the
/// first.
///
/// **Which model is "U-shaped".** Most tools mean by "U-shaped" (or
/// "position-based") 40 % to the first touch, 40 % to the last and 20 % spread over
/// the middle: that is [`PositionBased`](RuleModel::PositionBased)
/// at its defaults ([`RuleModel::position_based`], also [`RuleModel::u_shaped`]), and
/// the names `u_shaped`, `u-shaped`, `u` and `position_based` all parse to it. The B2B
/// milestone model that gives 50 % to the first touch and 50 % to the lead-creation
/// touch is [`FirstAndLead`](RuleModel::FirstAndLead), named `first_and_lead` (it was
/// called `u_shaped` in revops 0.1; the name now means 40/20/40). The weights of both
/// models are unchanged; only the names moved.
///
/// ```
/// use revops::attribution::RuleModel;
/// use chrono::TimeDelta;
/// assert_eq!(RuleModel::time_decay(), RuleModel::TimeDecay { half_life: TimeDelta::days(7) });
/// assert_eq!("u_shaped".parse::<RuleModel>()?, RuleModel::position_based());
/// assert_eq!("U-shaped".parse::<RuleModel>()?, RuleModel::u_shaped());
/// assert_eq!("first_and_lead".parse::<RuleModel>()?, RuleModel::FirstAndLead);
/// assert_eq!("position_based:0.3:0.5".parse::<RuleModel>()?.to_string(), "position_based:0.3:0.5");
/// assert_eq!("u_shaped:0.4:0.4".parse::<RuleModel>()?.to_string(), "position_based");
/// assert!(RuleModel::PositionBased { first: 0.7, last: 0.7 }.validate().is_err());
/// # Ok::<(), revops::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleModel {
    /// All credit to the first touch.
    FirstTouch,
    /// All credit to the last touch.
    LastTouch,
    /// All credit to the last touch that is not through a "direct" channel; all
    /// direct → the last touch. [`RuleModel::last_non_direct`] uses `["direct"]`.
    LastNonDirect {
        /// The channels that count as direct.
        direct: Vec<Channel>,
    },
    /// Equal credit per touch (a channel touched twice gets two shares).
    Linear,
    /// Equal credit per distinct channel, split equally over its touches.
    LinearUnique,
    /// Exponential decay towards the conversion: weight `0.5^(Δt / half_life)`.
    /// Default half-life ([`RuleModel::time_decay`]) 7 days. Needs touch times:
    /// journeys built from path rows are refused.
    TimeDecay {
        /// Time for a touch's weight to halve (> 0).
        half_life: TimeDelta,
    },
    /// First / last / middle shares by position: the model most tools call
    /// "U-shaped" or "position-based" at its default [`RuleModel::position_based`]
    /// 0.4 / 0.4 with 0.2 over the middle (40/20/40). Parsed from `position_based`,
    /// `u_shaped` or `u`, optionally with `:<first>:<last>`.
    #[doc(alias = "u_shaped")]
    #[doc(alias = "U-shaped")]
    #[doc(alias = "position-based")]
    PositionBased {
        /// Share of the first touch, in \[0, 1\].
        first: f64,
        /// Share of the last touch, in \[0, 1\]; `first + last ≤ 1`.
        last: f64,
    },
    /// Position-based 0.2 / 0.6 (first / last), 0.2 over the middle.
    J,
    /// Position-based 0.6 / 0.2 (first / last), 0.2 over the middle.
    InverseJ,
    /// B2B milestones: first touch 0.5, lead-creation touch 0.5, nothing to the
    /// others; named `first_and_lead`. (Called `u_shaped` in revops 0.1; that name
    /// now means the 40/20/40 [`PositionBased`](RuleModel::PositionBased) model, as
    /// in most tools.)
    FirstAndLead,
    /// B2B W-shaped: first touch, lead creation, opportunity creation 0.3 each; 0.1
    /// over the other touches.
    WShaped,
    /// B2B full path (Z-shaped): first touch, lead creation, opportunity creation and
    /// closed won 0.225 each; 0.1 over the other touches.
    FullPath,
    /// Any milestones with any weights (relative: they are normalised).
    CustomMilestones {
        /// Weight per milestone (finite, ≥ 0). A milestone listed twice adds up.
        milestones: Vec<(Milestone, f64)>,
        /// Weight spread equally over the touches that are no milestone (finite, ≥ 0).
        rest: f64,
    },
}

impl RuleModel {
    /// Default stage key of lead creation: `inquiry`, the first stage of
    /// [`crate::Funnel::demand_waterfall`].
    pub const LEAD_CREATION: &'static str = "inquiry";
    /// Default stage key of opportunity creation: `opportunity`.
    pub const OPPORTUNITY_CREATION: &'static str = "opportunity";
    /// Default stage key of closed won: `won`.
    pub const CLOSED_WON: &'static str = "won";
    /// Default half-life of [`RuleModel::TimeDecay`]: 7 days.
    pub const DEFAULT_HALF_LIFE: TimeDelta = TimeDelta::days(7);

    /// Last non-direct with `direct = ["direct"]`.
    pub fn last_non_direct() -> RuleModel {
        RuleModel::LastNonDirect {
            direct: vec![Channel::new("direct").expect("a non-empty literal")],
        }
    }

    /// Time decay with the default 7-day half-life.
    pub fn time_decay() -> RuleModel {
        RuleModel::TimeDecay {
            half_life: Self::DEFAULT_HALF_LIFE,
        }
    }

    /// Position-based (U-shaped) with the default 0.4 first, 0.4 last, 0.2 middle.
    #[doc(alias = "u_shaped")]
    pub fn position_based() -> RuleModel {
        RuleModel::PositionBased {
            first: 0.4,
            last: 0.4,
        }
    }

    /// The U-shaped model as most tools mean it: position-based 40/20/40, the same
    /// as [`RuleModel::position_based`] (see [`RuleModel`] on the naming).
    #[doc(alias = "U-shaped")]
    #[doc(alias = "position-based")]
    pub fn u_shaped() -> RuleModel {
        RuleModel::position_based()
    }

    /// First-and-lead weights (0.5 / 0.5, [`RuleModel::FirstAndLead`]) with lead
    /// creation at another stage key.
    pub fn first_and_lead_at(lead: &str) -> RuleModel {
        RuleModel::CustomMilestones {
            milestones: vec![(Milestone::FirstTouch, 0.5), (Milestone::stage(lead), 0.5)],
            rest: 0.0,
        }
    }

    /// W-shaped weights (0.3 × 3 + 0.1) with other stage keys.
    pub fn w_shaped_at(lead: &str, opportunity: &str) -> RuleModel {
        RuleModel::CustomMilestones {
            milestones: vec![
                (Milestone::FirstTouch, 0.3),
                (Milestone::stage(lead), 0.3),
                (Milestone::stage(opportunity), 0.3),
            ],
            rest: 0.1,
        }
    }

    /// Full-path weights (0.225 × 4 + 0.1) with other stage keys.
    pub fn full_path_at(lead: &str, opportunity: &str, won: &str) -> RuleModel {
        RuleModel::CustomMilestones {
            milestones: vec![
                (Milestone::FirstTouch, 0.225),
                (Milestone::stage(lead), 0.225),
                (Milestone::stage(opportunity), 0.225),
                (Milestone::stage(won), 0.225),
            ],
            rest: 0.1,
        }
    }

    /// Every model with its default parameters, in the order of the table above
    /// (custom milestones excepted).
    pub fn standard() -> Vec<RuleModel> {
        vec![
            RuleModel::FirstTouch,
            RuleModel::LastTouch,
            RuleModel::last_non_direct(),
            RuleModel::Linear,
            RuleModel::LinearUnique,
            RuleModel::time_decay(),
            RuleModel::position_based(),
            RuleModel::J,
            RuleModel::InverseJ,
            RuleModel::FirstAndLead,
            RuleModel::WShaped,
            RuleModel::FullPath,
        ]
    }

    /// The model's snake-case name (`"time_decay"`), without parameters.
    pub fn name(&self) -> &'static str {
        match self {
            RuleModel::FirstTouch => "first_touch",
            RuleModel::LastTouch => "last_touch",
            RuleModel::LastNonDirect { .. } => "last_non_direct",
            RuleModel::Linear => "linear",
            RuleModel::LinearUnique => "linear_unique",
            RuleModel::TimeDecay { .. } => "time_decay",
            RuleModel::PositionBased { .. } => "position_based",
            RuleModel::J => "j",
            RuleModel::InverseJ => "inverse_j",
            RuleModel::FirstAndLead => "first_and_lead",
            RuleModel::WShaped => "w_shaped",
            RuleModel::FullPath => "full_path",
            RuleModel::CustomMilestones { .. } => "milestones",
        }
    }

    /// For the milestone models (first-and-lead, W, full path, custom): the milestones with their
    /// weights, and the rest weight. `None` for the other models.
    pub fn milestone_weights(&self) -> Option<(Vec<(Milestone, f64)>, f64)> {
        let stage = Milestone::stage;
        match self {
            RuleModel::FirstAndLead => Some((
                vec![
                    (Milestone::FirstTouch, 0.5),
                    (stage(Self::LEAD_CREATION), 0.5),
                ],
                0.0,
            )),
            RuleModel::WShaped => Some((
                vec![
                    (Milestone::FirstTouch, 0.3),
                    (stage(Self::LEAD_CREATION), 0.3),
                    (stage(Self::OPPORTUNITY_CREATION), 0.3),
                ],
                0.1,
            )),
            RuleModel::FullPath => Some((
                vec![
                    (Milestone::FirstTouch, 0.225),
                    (stage(Self::LEAD_CREATION), 0.225),
                    (stage(Self::OPPORTUNITY_CREATION), 0.225),
                    (stage(Self::CLOSED_WON), 0.225),
                ],
                0.1,
            )),
            RuleModel::CustomMilestones { milestones, rest } => Some((milestones.clone(), *rest)),
            _ => None,
        }
    }

    /// Whether the model reads touch times (time decay), which journeys built from
    /// path rows lack.
    pub fn needs_times(&self) -> bool {
        matches!(self, RuleModel::TimeDecay { .. })
    }

    /// Whether the model anchors on stage events (a milestone model with a stage
    /// milestone), which journeys built from path rows or without stage events lack.
    pub fn needs_stage_events(&self) -> bool {
        self.milestone_weights()
            .is_some_and(|(m, _)| m.iter().any(|(m, _)| matches!(m, Milestone::Stage(_))))
    }

    /// Checks the parameters: a positive half-life; position shares finite, in
    /// \[0, 1\] and summing to at most 1; milestone and rest weights finite and ≥ 0
    /// with at least one positive; stage keys non-empty.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) naming the parameter.
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &'static str, value: String, reason: &str| {
            Error::from(ErrorKind::InvalidParameter {
                name,
                value,
                reason: reason.to_string(),
            })
        };
        match self {
            RuleModel::TimeDecay { half_life } if *half_life <= TimeDelta::zero() => Err(bad(
                "half_life",
                half_life.to_string(),
                "a half-life must be positive",
            )),
            RuleModel::PositionBased { first, last } => {
                for (name, v) in [("first", *first), ("last", *last)] {
                    if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                        return Err(bad(name, v.to_string(), "a share must be in [0, 1]"));
                    }
                }
                if first + last > 1.0 + 1e-12 {
                    return Err(bad(
                        "first + last",
                        (first + last).to_string(),
                        "the first and last shares must sum to at most 1",
                    ));
                }
                Ok(())
            }
            RuleModel::CustomMilestones { milestones, rest } => {
                let mut total = 0.0;
                for (m, w) in milestones
                    .iter()
                    .map(|(m, w)| (m.to_string(), *w))
                    .chain([("rest".to_string(), *rest)])
                {
                    if !(w.is_finite() && w >= 0.0) {
                        return Err(bad(
                            "milestone weight",
                            format!("{m}={w}"),
                            "weights must be finite and ≥ 0",
                        ));
                    }
                    total += w;
                }
                if let Some((m, _)) = milestones
                    .iter()
                    .find(|(m, _)| matches!(m, Milestone::Stage(k) if k.trim().is_empty()))
                {
                    return Err(bad(
                        "milestone",
                        format!("{m:?}"),
                        "a stage key must not be empty",
                    ));
                }
                if total <= 0.0 {
                    return Err(bad(
                        "milestone weights",
                        "0".into(),
                        "at least one weight must be positive",
                    ));
                }
                Ok(())
            }
            RuleModel::LastNonDirect { direct } if direct.is_empty() => Err(bad(
                "direct channels",
                String::new(),
                "name at least one direct channel (`last_non_direct` alone uses `direct`)",
            )),
            _ => Ok(()),
        }
    }
}

/// Formats a share compactly (`0.4`, `0.225`).
fn share(v: f64) -> String {
    format!("{v}")
}

/// The names [`RuleModel::from_str`] reads, aliases after the canonical name.
pub(crate) const RULE_NAMES: &[&[&str]] = &[
    &["first_touch", "first"],
    &["last_touch", "last"],
    &["last_non_direct"],
    &["linear"],
    &["linear_unique"],
    &["time_decay"],
    &["position_based", "u_shaped", "u"],
    &["j"],
    &["inverse_j"],
    &["first_and_lead"],
    &["w_shaped"],
    &["full_path", "z_shaped"],
    &["milestones"],
];

/// A model name as the parsers compare it: trimmed, lower-case, `-` and spaces as `_`.
pub(crate) fn normalise_name(name: &str) -> String {
    name.trim()
        .chars()
        .map(|c| match c {
            '-' | ' ' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Splits a parameter list at `:` (what `Display` writes) or `,` (also read).
fn params(p: &str) -> impl Iterator<Item = &str> {
    p.split([':', ',']).map(str::trim).filter(|i| !i.is_empty())
}

impl fmt::Display for RuleModel {
    /// The model's name, with its parameters when they differ from the defaults,
    /// separated by `:` (so a comma-separated list of models needs no quoting):
    /// `time_decay` (7 days) or `time_decay:1.5d` (half-life in days), `position_based`
    /// (40/20/40) or `position_based:0.3:0.5`, `last_non_direct` (`direct`) or
    /// `last_non_direct:direct:organic`, `milestones:first_touch=0.3:mql=0.3:rest=0.4`.
    /// [`RuleModel::from_str`] reads all of these back.
    ///
    /// ```
    /// use revops::attribution::RuleModel;
    /// assert_eq!(RuleModel::time_decay().to_string(), "time_decay");
    /// assert_eq!(RuleModel::u_shaped().to_string(), "position_based");
    /// assert_eq!(RuleModel::PositionBased { first: 0.3, last: 0.5 }.to_string(), "position_based:0.3:0.5");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            m if *m == RuleModel::last_non_direct()
                || *m == RuleModel::time_decay()
                || *m == RuleModel::position_based() =>
            {
                f.write_str(m.name())
            }
            RuleModel::LastNonDirect { direct } => {
                f.write_str("last_non_direct")?;
                for c in direct {
                    write!(f, ":{}", c.as_str())?;
                }
                Ok(())
            }
            RuleModel::TimeDecay { half_life } => {
                let days = half_life.num_milliseconds() as f64 / 86_400_000.0;
                write!(f, "time_decay:{days}d")
            }
            RuleModel::PositionBased { first, last } => {
                write!(f, "position_based:{}:{}", share(*first), share(*last))
            }
            RuleModel::CustomMilestones { milestones, rest } => {
                f.write_str("milestones:")?;
                for (m, w) in milestones {
                    write!(f, "{m}={}:", share(*w))?;
                }
                write!(f, "rest={}", share(*rest))
            }
            other => f.write_str(other.name()),
        }
    }
}

impl FromStr for RuleModel {
    type Err = Error;

    /// Reads a model name (case-insensitive; `-` and spaces read as `_`), optionally
    /// with parameters after a colon, as written by `Display`:
    /// `first_touch` (alias `first`), `last_touch` (`last`),
    /// `last_non_direct[:ch1:ch2…]`, `linear`, `linear_unique`, `time_decay[:<days>d]`,
    /// `position_based[:<first>:<last>]` (aliases `u_shaped`, `u`: the 40/20/40 model
    /// most tools call U-shaped), `j`, `inverse_j`, `first_and_lead` (first touch and
    /// lead creation 50/50), `w_shaped`, `full_path` (alias `z_shaped`),
    /// `milestones:<milestone>=<weight>:…:rest=<weight>` where a milestone is
    /// `first_touch`, `last_touch` or a stage key. Parameters are separated by `:` (a
    /// `,` is read too). Then the model is validated.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) naming the text; for an unknown name, the reason
    /// lists the valid ones.
    fn from_str(s: &str) -> Result<RuleModel> {
        let err = |reason: &str| {
            Error::from(ErrorKind::InvalidParameter {
                name: "model",
                value: s.to_string(),
                reason: reason.to_string(),
            })
        };
        let (name, params_text) = match s.trim().split_once(':') {
            Some((n, p)) => (n, Some(p.trim())),
            None => (s.trim(), None),
        };
        let name = normalise_name(name);
        let number = |t: &str| -> Result<f64> {
            t.trim()
                .parse::<f64>()
                .map_err(|_| err(&format!("`{t}` is not a number")))
        };
        let model = match (name.as_str(), params_text) {
            ("first_touch" | "first", None) => RuleModel::FirstTouch,
            ("last_touch" | "last", None) => RuleModel::LastTouch,
            ("last_non_direct", None) => RuleModel::last_non_direct(),
            ("last_non_direct", Some(p)) => RuleModel::LastNonDirect {
                direct: params(p).map(Channel::new).collect::<Result<_>>()?,
            },
            ("linear", None) => RuleModel::Linear,
            ("linear_unique", None) => RuleModel::LinearUnique,
            ("time_decay", None) => RuleModel::time_decay(),
            ("time_decay", Some(p)) => {
                let days = number(p.strip_suffix('d').unwrap_or(p))?;
                let ms = days * 86_400_000.0;
                if !(ms.is_finite() && ms.abs() < 9.0e15) {
                    return Err(err("the half-life is out of range"));
                }
                RuleModel::TimeDecay {
                    half_life: TimeDelta::milliseconds(ms.round() as i64),
                }
            }
            ("position_based" | "u_shaped" | "u", None) => RuleModel::position_based(),
            ("position_based" | "u_shaped" | "u", Some(p)) => {
                let shares: Vec<&str> = params(p).collect();
                let [a, b] = shares[..] else {
                    return Err(err("expected position_based:<first>:<last>"));
                };
                RuleModel::PositionBased {
                    first: number(a)?,
                    last: number(b)?,
                }
            }
            ("j", None) => RuleModel::J,
            ("inverse_j", None) => RuleModel::InverseJ,
            ("first_and_lead", None) => RuleModel::FirstAndLead,
            ("w_shaped", None) => RuleModel::WShaped,
            ("full_path" | "z_shaped", None) => RuleModel::FullPath,
            ("milestones", Some(p)) => {
                let mut milestones = Vec::new();
                let mut rest = 0.0;
                for item in params(p) {
                    let (k, w) = item
                        .split_once('=')
                        .ok_or_else(|| err("expected <milestone>=<weight> items"))?;
                    if k.trim().eq_ignore_ascii_case("rest") {
                        rest = number(w)?;
                    } else {
                        milestones.push((k.parse::<Milestone>()?, number(w)?));
                    }
                }
                RuleModel::CustomMilestones { milestones, rest }
            }
            ("milestones", None) => {
                return Err(err(
                    "expected milestones:<milestone>=<weight>:…:rest=<weight>",
                ));
            }
            (n, Some(_)) if RULE_NAMES.iter().any(|names| names.contains(&n)) => {
                return Err(err("this model takes no parameters"));
            }
            _ => return Err(err(&unknown_model(&name, &[]))),
        };
        model.validate()?;
        Ok(model)
    }
}

/// The reason for an unknown model name: the valid names (rule models, then
/// `more`), with a hint when the text looks like a parameter of a list item.
pub(crate) fn unknown_model(name: &str, more: &[&[&str]]) -> String {
    let list = RULE_NAMES
        .iter()
        .chain(more)
        .map(|names| match names {
            [one] => (*one).to_string(),
            [first, aliases @ ..] => format!("{first} (or {})", aliases.join(", ")),
            [] => String::new(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let what = if name.is_empty() {
        "no model given".to_string()
    } else if name.contains('=') {
        format!("`{name}` is not a model (milestone weights follow `milestones:` separated by `:`)")
    } else {
        format!("unknown model `{name}`")
    };
    format!("{what}; expected one of {list}")
}

// ---------------------------------------------------------------------------------
// Weight computation over interned journeys.

/// One journey as the weight rules see it: `pairs` are the touches' dense (channel,
/// campaign) ids in time order, `at` their microsecond times (unused unless the model
/// needs them), `milestones` the (stage id, touch position) pairs resolved for it.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub(crate) pairs: &'a [u32],
    pub(crate) at: &'a [i64],
    pub(crate) milestones: &'a [(u32, u32)],
}

#[derive(Clone, Copy)]
enum Slot {
    First,
    Last,
    /// A stage id, or `u32::MAX` for a stage no journey has.
    Stage(u32),
}

enum Kind {
    First,
    Last,
    LastNonDirect(Vec<bool>),
    Linear,
    LinearUnique(Vec<u32>),
    /// 1 / half-life in microseconds.
    TimeDecay(f64),
    Position(f64, f64),
    Milestones(Vec<(Slot, f64)>, f64),
}

/// A model resolved against one set of journeys' dense ids, with its scratch space.
pub(crate) struct Weigher<'j> {
    kind: Kind,
    pair_channel: &'j [u32],
    /// Milestones resolved for the current journey: (touch position, weight).
    resolved: Vec<(usize, f64)>,
}

impl<'j> Weigher<'j> {
    /// Resolves `model` against the channel and stage ids of the journeys.
    /// `channel_id` maps a channel name to its id, `stage_id` a stage key.
    pub(crate) fn new(
        model: &RuleModel,
        pair_channel: &'j [u32],
        channel_count: usize,
        channel_id: impl Fn(&str) -> Option<u32>,
        stage_id: impl Fn(&str) -> Option<u32>,
    ) -> Result<Weigher<'j>> {
        model.validate()?;
        let kind = match model {
            RuleModel::FirstTouch => Kind::First,
            RuleModel::LastTouch => Kind::Last,
            RuleModel::LastNonDirect { direct } => {
                let mut is_direct = vec![false; channel_count];
                for c in direct {
                    if let Some(i) = channel_id(c.as_str()) {
                        is_direct[i as usize] = true;
                    }
                }
                Kind::LastNonDirect(is_direct)
            }
            RuleModel::Linear => Kind::Linear,
            RuleModel::LinearUnique => Kind::LinearUnique(vec![0; channel_count]),
            RuleModel::TimeDecay { half_life } => {
                let us = half_life
                    .num_microseconds()
                    .map_or(f64::INFINITY, |u| u as f64);
                Kind::TimeDecay(1.0 / us)
            }
            RuleModel::PositionBased { first, last } => Kind::Position(*first, *last),
            RuleModel::J => Kind::Position(0.2, 0.6),
            RuleModel::InverseJ => Kind::Position(0.6, 0.2),
            _ => {
                let (ms, rest) = model.milestone_weights().unwrap_or_default();
                let slots = ms
                    .iter()
                    .map(|(m, w)| {
                        let slot = match m {
                            Milestone::FirstTouch => Slot::First,
                            Milestone::LastTouch => Slot::Last,
                            Milestone::Stage(k) => {
                                Slot::Stage(stage_id(&normalise_key(k)).unwrap_or(u32::MAX))
                            }
                        };
                        (slot, *w)
                    })
                    .collect();
                Kind::Milestones(slots, rest)
            }
        };
        Ok(Weigher {
            kind,
            pair_channel,
            resolved: Vec::new(),
        })
    }

    /// Fills `buf` with one weight per touch of `v` (non-negative, summing to 1).
    /// Returns `true` when the model fell back (last non-direct with only direct
    /// touches; milestones with nothing to weigh → linear). `v` has ≥ 1 touch.
    pub(crate) fn fill(&mut self, v: View<'_>, buf: &mut Vec<f64>) -> bool {
        let n = v.pairs.len();
        buf.clear();
        match &mut self.kind {
            Kind::First => {
                buf.resize(n, 0.0);
                buf[0] = 1.0;
                false
            }
            Kind::Last => {
                buf.resize(n, 0.0);
                buf[n - 1] = 1.0;
                false
            }
            Kind::LastNonDirect(is_direct) => {
                buf.resize(n, 0.0);
                let pc = self.pair_channel;
                match v
                    .pairs
                    .iter()
                    .rposition(|&p| !is_direct[pc[p as usize] as usize])
                {
                    Some(i) => {
                        buf[i] = 1.0;
                        false
                    }
                    None => {
                        buf[n - 1] = 1.0;
                        true
                    }
                }
            }
            Kind::Linear => {
                buf.resize(n, 1.0 / n as f64);
                false
            }
            Kind::LinearUnique(counts) => {
                let pc = self.pair_channel;
                let mut k = 0u32;
                for &p in v.pairs {
                    let c = &mut counts[pc[p as usize] as usize];
                    k += u32::from(*c == 0);
                    *c += 1;
                }
                let k = f64::from(k);
                for &p in v.pairs {
                    buf.push(1.0 / (k * f64::from(counts[pc[p as usize] as usize])));
                }
                for &p in v.pairs {
                    counts[pc[p as usize] as usize] = 0;
                }
                false
            }
            Kind::TimeDecay(inv_half_life) => {
                // 0.5^((end − t) / h) ∝ 0.5^((latest − t) / h): measured from the latest
                // touch (the last: touches are in time order), the largest weight is 1
                // and nothing underflows to all-zero.
                let latest = v.at[n - 1];
                let mut sum = 0.0;
                for &t in v.at {
                    let w = ((t - latest) as f64 * *inv_half_life).exp2();
                    sum += w;
                    buf.push(w);
                }
                normalise(buf, sum);
                false
            }
            Kind::Position(first, last) => {
                let (first, last) = (*first, *last);
                match n {
                    1 => buf.push(1.0),
                    2 => {
                        let s = first + last;
                        if s > 0.0 {
                            buf.extend([first / s, last / s]);
                        } else {
                            buf.extend([0.5, 0.5]);
                        }
                    }
                    _ => {
                        // first + last + middle = 1 (validated), so no normalising:
                        // the same shares as `accumulate`.
                        let middle = (1.0 - first - last).max(0.0);
                        buf.resize(n, middle / (n - 2) as f64);
                        buf[0] = first;
                        buf[n - 1] = last;
                    }
                }
                false
            }
            Kind::Milestones(slots, rest) => {
                fill_milestones(slots, *rest, &mut self.resolved, &v, buf)
            }
        }
    }
}

/// The milestone models' shares of journey `v` (the arm of [`Weigher::fill`]): each
/// milestone present takes its weight, the other touches share `rest`; `true` when
/// nothing had weight and the shares fell back to linear.
fn fill_milestones(
    slots: &[(Slot, f64)],
    rest: f64,
    resolved: &mut Vec<(usize, f64)>,
    v: &View<'_>,
    buf: &mut Vec<f64>,
) -> bool {
    let n = v.pairs.len();
    // Resolve the milestones to touch positions (missing ones drop out).
    resolved.clear();
    let mut milestone_weight = 0.0;
    for &(slot, w) in slots {
        let pos = match slot {
            Slot::First => Some(0),
            Slot::Last => Some(n - 1),
            Slot::Stage(s) => v
                .milestones
                .iter()
                .find(|&&(st, _)| st == s)
                .map(|&(_, p)| p as usize),
        };
        if let Some(p) = pos {
            resolved.push((p, w));
            milestone_weight += w;
        }
    }
    let distinct = (0..resolved.len())
        .filter(|&i| !resolved[..i].iter().any(|r| r.0 == resolved[i].0))
        .count();
    let others = n - distinct;
    let each = if others > 0 && rest > 0.0 {
        rest / others as f64
    } else {
        0.0
    };
    let total = milestone_weight + each * others as f64;
    if total <= 0.0 {
        buf.resize(n, 1.0 / n as f64);
        return true;
    }
    let inv = 1.0 / total;
    buf.resize(n, each * inv);
    for &(p, _) in resolved.iter() {
        buf[p] = 0.0;
    }
    // Several milestones on one touch pool their weights.
    for &(p, w) in resolved.iter() {
        buf[p] += w * inv;
    }
    false
}

impl Weigher<'_> {
    /// The shares `buf` that [`Weigher::fill`] gave journey `v` as integers over their
    /// sum (returned): touch `i`'s share is exactly `out[i] / Σ out`, the sum is
    /// positive and below 2⁶⁴.
    ///
    /// - Equal `f64` shares give equal integers, so the rational models whose shares
    ///   are equal within a journey are exact: linear gives every touch `1/n`, first,
    ///   last and last non-direct `1` to one touch, position-based equal middles.
    /// - Linear unique is computed in integers: a touch of a channel touched `m` times
    ///   gets `L/m` out of `k·L` (`k` distinct channels, `L` the least common
    ///   multiple of their counts), so every channel gets exactly `1/k`.
    /// - Every other share (models with `f64` parameters: position-based, J, inverse J,
    ///   time decay, milestones) is the model's `f64` share truncated to a multiple of
    ///   2⁻⁶² (and then renormalised by the exact sum), a relative change below 2⁻⁵⁹.
    pub(crate) fn integer_weights(&mut self, v: View<'_>, buf: &[f64], out: &mut Vec<u64>) -> u64 {
        out.clear();
        if let Kind::First | Kind::Last | Kind::LastNonDirect(_) = self.kind {
            // One touch gets 1, the others 0.
            out.extend(buf.iter().map(|&s| u64::from(s > 0.0)));
            return 1;
        }
        if let Kind::LinearUnique(counts) = &mut self.kind {
            let pc = self.pair_channel;
            let mut k = 0u64;
            for &p in v.pairs {
                let c = &mut counts[pc[p as usize] as usize];
                k += u64::from(*c == 0);
                *c += 1;
            }
            // L = lcm of the counts, with k·L < 2⁶³ (else the general rule below).
            let mut l: Option<u64> = Some(1);
            for &p in v.pairs {
                let m = u64::from(counts[pc[p as usize] as usize]);
                l = l.and_then(|l| (l / gcd(l, m)).checked_mul(m));
            }
            if let Some(l) = l.filter(|l| l.checked_mul(k).is_some_and(|t| t < 1 << 63)) {
                out.extend(
                    v.pairs
                        .iter()
                        .map(|&p| l / u64::from(counts[pc[p as usize] as usize])),
                );
            }
            for &p in v.pairs {
                counts[pc[p as usize] as usize] = 0;
            }
            if !out.is_empty() {
                return out.iter().sum();
            }
        }
        const SCALE: f64 = (1u64 << 62) as f64;
        // Shares are in [0, 1] and sum to 1 (up to rounding): each is a multiple of
        // 2⁻⁶² when at least 2⁻¹⁰, and the integers sum to about 2⁶².
        out.extend(buf.iter().map(|&s| (s * SCALE) as u64));
        out.iter().sum()
    }

    /// Adds the journey's credit (`cw` conversions, `vf` value) to the per-pair sums
    /// at `to` (the ids the sums use for the journey's touches, in order), with the
    /// same shares as [`Weigher::fill`]; the positional models skip the
    /// weight buffer. Returns `true` on a fallback.
    #[inline]
    pub(crate) fn accumulate(
        &mut self,
        v: View<'_>,
        to: &[u32],
        (cw, vf): (f64, f64),
        conv: &mut [f64],
        val: &mut [f64],
        buf: &mut Vec<f64>,
    ) -> bool {
        let pairs = v.pairs;
        let n = pairs.len();
        let mut add = |p: u32, s: f64| {
            conv[p as usize] += cw * s;
            val[p as usize] += vf * s;
        };
        match &self.kind {
            Kind::First => {
                add(to[0], 1.0);
                return false;
            }
            Kind::Last => {
                add(to[n - 1], 1.0);
                return false;
            }
            Kind::LastNonDirect(is_direct) => {
                let pc = self.pair_channel;
                return match pairs
                    .iter()
                    .rposition(|&p| !is_direct[pc[p as usize] as usize])
                {
                    Some(i) => {
                        add(to[i], 1.0);
                        false
                    }
                    None => {
                        add(to[n - 1], 1.0);
                        true
                    }
                };
            }
            Kind::Linear => {
                let s = 1.0 / n as f64;
                for &p in to {
                    add(p, s);
                }
                return false;
            }
            Kind::Position(first, last) if n > 2 => {
                let middle = (1.0 - first - last).max(0.0) / (n - 2) as f64;
                add(to[0], *first);
                for &p in &to[1..n - 1] {
                    add(p, middle);
                }
                add(to[n - 1], *last);
                return false;
            }
            _ => {}
        }
        let fallback = self.fill(v, buf);
        for (&p, &s) in to.iter().zip(buf.iter()) {
            add(p, s);
        }
        fallback
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[inline]
fn normalise(buf: &mut [f64], sum: f64) {
    if sum > 0.0 && sum != 1.0 {
        let inv = 1.0 / sum;
        for b in buf.iter_mut() {
            *b *= inv;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Channels are their pair ids; stage 0 = lead, 1 = opportunity, 2 = won.
    fn weights(
        model: &RuleModel,
        pairs: &[u32],
        at: &[i64],
        ms: &[(u32, u32)],
    ) -> (Vec<f64>, bool) {
        let pc: Vec<u32> = (0..8).collect();
        let mut w = Weigher::new(
            model,
            &pc,
            8,
            |c| (c == "direct").then_some(7),
            |k| match k {
                "inquiry" => Some(0),
                "opportunity" => Some(1),
                "won" => Some(2),
                _ => None,
            },
        )
        .unwrap();
        let mut buf = Vec::new();
        let fb = w.fill(
            View {
                pairs,
                at,
                milestones: ms,
            },
            &mut buf,
        );
        (buf, fb)
    }

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
    }

    #[test]
    fn positional_short_journeys() {
        let at = [0, 1, 2, 3];
        let u = RuleModel::position_based();
        assert!(close(&weights(&u, &[1], &at[..1], &[]).0, &[1.0]));
        assert!(close(&weights(&u, &[1, 2], &at[..2], &[]).0, &[0.5, 0.5]));
        assert!(close(
            &weights(&RuleModel::J, &[1, 2], &at[..2], &[]).0,
            &[0.25, 0.75]
        ));
        assert!(close(
            &weights(&RuleModel::InverseJ, &[1, 2], &at[..2], &[]).0,
            &[0.75, 0.25]
        ));
        assert!(close(
            &weights(&u, &[1, 2, 3, 4], &at, &[]).0,
            &[0.4, 0.1, 0.1, 0.4]
        ));
        let zero = RuleModel::PositionBased {
            first: 0.0,
            last: 0.0,
        };
        assert!(close(
            &weights(&zero, &[1, 2], &at[..2], &[]).0,
            &[0.5, 0.5]
        ));
        assert!(close(
            &weights(&zero, &[1, 2, 3], &at[..3], &[]).0,
            &[0.0, 1.0, 0.0]
        ));
    }

    #[test]
    fn last_non_direct_falls_back() {
        let m = RuleModel::last_non_direct();
        assert_eq!(weights(&m, &[1, 7], &[0, 1], &[]), (vec![1.0, 0.0], false));
        assert_eq!(weights(&m, &[7, 7], &[0, 1], &[]), (vec![0.0, 1.0], true));
    }

    #[test]
    fn linear_unique_splits_repeats() {
        let (w, _) = weights(&RuleModel::LinearUnique, &[1, 2, 1, 1], &[0, 1, 2, 3], &[]);
        assert!(close(&w, &[1.0 / 6.0, 0.5, 1.0 / 6.0, 1.0 / 6.0]));
    }

    #[test]
    fn time_decay_halves_per_half_life() {
        let day = 86_400_000_000i64;
        let (w, _) = weights(&RuleModel::time_decay(), &[1, 2], &[0, 7 * day], &[]);
        assert!(close(&w, &[1.0 / 3.0, 2.0 / 3.0]));
        // Far apart: no underflow to all-zero.
        let (w, _) = weights(&RuleModel::time_decay(), &[1, 2], &[0, 100_000 * day], &[]);
        assert!(close(&w, &[0.0, 1.0]));
    }

    #[test]
    fn milestones_pool_renormalise_and_fall_back() {
        let at = [0, 1, 2, 3];
        // U, one touch: 100 %; lead at touch 2 of 2: 50/50; lead at touch 1: 100 %.
        assert!(close(
            &weights(&RuleModel::FirstAndLead, &[1], &at[..1], &[]).0,
            &[1.0]
        ));
        assert!(close(
            &weights(&RuleModel::FirstAndLead, &[1, 2], &at[..2], &[(0, 1)]).0,
            &[0.5, 0.5]
        ));
        assert!(close(
            &weights(&RuleModel::FirstAndLead, &[1, 2], &at[..2], &[(0, 0)]).0,
            &[1.0, 0.0]
        ));
        // W, all milestones distinct, one middle touch.
        let w = weights(&RuleModel::WShaped, &[1, 2, 3, 4], &at, &[(0, 1), (1, 3)]).0;
        assert!(close(&w, &[0.3, 0.3, 0.1, 0.3]));
        // W, opportunity missing: 3/7, 3/7, 1/7 over the rest (two touches share it).
        let w = weights(&RuleModel::WShaped, &[1, 2, 3, 4], &at, &[(0, 1)]).0;
        assert!(close(&w, &[3.0 / 7.0, 3.0 / 7.0, 0.5 / 7.0, 0.5 / 7.0]));
        // W, every touch a milestone: rest renormalised away.
        let w = weights(&RuleModel::WShaped, &[1, 2], &at[..2], &[(0, 1), (1, 1)]).0;
        assert!(close(&w, &[1.0 / 3.0, 2.0 / 3.0]));
        // Full path.
        let w = weights(
            &RuleModel::FullPath,
            &[1, 2, 3, 4, 5],
            &[0, 1, 2, 3, 4],
            &[(0, 1), (1, 2), (2, 4)],
        )
        .0;
        assert!(close(&w, &[0.225, 0.225, 0.225, 0.1, 0.225]));
        // Custom without any resolved milestone and no rest: linear fallback.
        let custom = RuleModel::CustomMilestones {
            milestones: vec![(Milestone::stage("won"), 1.0)],
            rest: 0.0,
        };
        assert_eq!(
            weights(&custom, &[1, 2], &at[..2], &[]),
            (vec![0.5, 0.5], true)
        );
    }

    #[test]
    fn names_round_trip() {
        let mut models = RuleModel::standard();
        models.push(RuleModel::first_and_lead_at("MQL"));
        models.push(RuleModel::TimeDecay {
            half_life: TimeDelta::hours(36),
        });
        models.push(RuleModel::LastNonDirect {
            direct: vec![
                Channel::new("direct").unwrap(),
                Channel::new("organic").unwrap(),
            ],
        });
        for m in models {
            let text = m.to_string();
            assert_eq!(text.parse::<RuleModel>().unwrap(), m, "{text}");
        }
        assert!("nope".parse::<RuleModel>().is_err());
        assert!("linear:3".parse::<RuleModel>().is_err());
        assert!("time_decay:0d".parse::<RuleModel>().is_err());
        // A parameter list that names nothing is a mistake, not "no direct channel".
        assert!("last_non_direct:".parse::<RuleModel>().is_err());
        assert!("last_non_direct: , ".parse::<RuleModel>().is_err());
        assert!("milestones:".parse::<RuleModel>().is_err());
    }
}
