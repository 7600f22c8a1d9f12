//! The funnel definition: ordered, validated stages.

use crate::error::ErrorKind;
use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, RecordRef, Result};
use crate::records::check_probability;

/// Which team owns a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageOwner {
    /// Marketing owns the stage (e.g. Inquiry, MQL).
    Marketing,
    /// Sales owns the stage (e.g. SQL, Opportunity).
    Sales,
    /// Both teams own it (e.g. SAL, the hand-off).
    Shared,
}

/// What kind of stage this is: on the path to won, or one of the ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    /// An open stage on the path to won; its position in the funnel is its order.
    Open,
    /// A won (successful terminal) stage.
    Won,
    /// A lost terminal stage.
    Lost,
    /// A disqualified terminal stage (the subject was never a fit).
    Disqualified,
    /// A recycled stage: the subject goes back to nurture and may re-enter later,
    /// which opens a new cycle.
    Recycled,
}

impl StageKind {
    /// Whether the stage is on the progression (open or won), as opposed to an exit.
    pub fn is_progression(self) -> bool {
        matches!(self, StageKind::Open | StageKind::Won)
    }

    /// Whether reaching the stage ends the subject's current cycle.
    pub fn is_terminal(self) -> bool {
        !matches!(self, StageKind::Open)
    }
}

/// One stage of a [`Funnel`].
///
/// A stage is found by its `key`, its `name` or any of its `aliases`, compared
/// case-insensitively after trimming, so that `"MQL"`, `"mql"` and
/// `"Marketing Qualified Lead"` all name the same stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    /// Stable machine key (e.g. `"mql"`), unique within the funnel.
    pub key: String,
    /// Display name (e.g. `"Marketing Qualified Lead"`).
    pub name: String,
    /// Owning team.
    pub owner: StageOwner,
    /// Open, won, lost, disqualified or recycled.
    pub kind: StageKind,
    /// Default win probability of a subject in this stage, in \[0, 1\], if configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Other names the stage goes by in source systems.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

impl Stage {
    /// A stage with a key, name, owner and kind; no probability, no aliases.
    pub fn new(
        key: impl Into<String>,
        name: impl Into<String>,
        owner: StageOwner,
        kind: StageKind,
    ) -> Stage {
        Stage {
            key: key.into(),
            name: name.into(),
            owner,
            kind,
            probability: None,
            aliases: Vec::new(),
        }
    }

    /// Sets the default win probability.
    #[must_use]
    pub fn with_probability(mut self, p: f64) -> Stage {
        self.probability = Some(p);
        self
    }

    /// Adds an alias.
    #[must_use]
    pub fn with_alias(mut self, alias: impl Into<String>) -> Stage {
        self.aliases.push(alias.into());
        self
    }
}

#[derive(Serialize, Deserialize)]
struct FunnelSpec {
    name: String,
    stages: Vec<Stage>,
}

/// A validated funnel: a name and ordered stages.
///
/// The order of the open and won stages is the path a subject walks; lost,
/// disqualified and recycled stages are exits and may sit anywhere in the list.
/// Construction checks that:
/// - there is at least one stage and at least one won stage;
/// - keys are non-empty and every key, name and alias is unique (case-insensitive)
///   across the funnel;
/// - no open stage comes after a won stage;
/// - default probabilities are finite numbers in \[0, 1\].
///
/// Deserialising (e.g. [`Funnel::from_json`]) runs the same checks.
///
/// ```
/// use revops::{Funnel, Stage, StageKind, StageOwner};
/// # fn main() -> Result<(), revops::Error> {
/// let f = Funnel::new("self-serve", vec![
///     Stage::new("signup", "Sign-up", StageOwner::Marketing, StageKind::Open),
///     Stage::new("activated", "Activated", StageOwner::Shared, StageKind::Open),
///     Stage::new("paid", "Paid", StageOwner::Sales, StageKind::Won),
///     Stage::new("churned", "Churned", StageOwner::Sales, StageKind::Lost),
/// ])?;
/// assert_eq!(f.stage_index("Activated"), Some(1));
/// let keys: Vec<&str> = f.progression().map(|(_, s)| s.key.as_str()).collect();
/// assert_eq!(keys, ["signup", "activated", "paid"]);
///
/// let waterfall = Funnel::demand_waterfall();
/// assert_eq!(waterfall.stage("MQL").map(|s| s.key.as_str()), Some("mql"));
/// # Ok(()) }
/// ```
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "FunnelSpec", into = "FunnelSpec")]
pub struct Funnel {
    name: String,
    stages: Vec<Stage>,
    /// Lower-cased key, name and aliases → stage position.
    lookup: HashMap<String, usize>,
}

impl PartialEq for Funnel {
    fn eq(&self, other: &Funnel) -> bool {
        self.name == other.name && self.stages == other.stages
    }
}

impl fmt::Debug for Funnel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Funnel")
            .field("name", &self.name)
            .field("stages", &self.stages)
            .finish()
    }
}

impl TryFrom<FunnelSpec> for Funnel {
    type Error = Error;
    fn try_from(spec: FunnelSpec) -> Result<Funnel> {
        Funnel::new(spec.name, spec.stages)
    }
}

impl From<Funnel> for FunnelSpec {
    fn from(f: Funnel) -> FunnelSpec {
        FunnelSpec {
            name: f.name,
            stages: f.stages,
        }
    }
}

fn norm(s: &str) -> String {
    s.trim().to_lowercase()
}

impl Funnel {
    /// Builds and validates a funnel.
    ///
    /// # Errors
    /// [`ErrorKind::DuplicateStage`](crate::error::ErrorKind::DuplicateStage) for a repeated key, name or alias;
    /// [`ErrorKind::InvalidFunnel`](crate::error::ErrorKind::InvalidFunnel) for an empty funnel, no won stage, an empty key or an
    /// open stage after a won one; [`ErrorKind::InvalidField`](crate::error::ErrorKind::InvalidField) for a bad probability.
    pub fn new(name: impl Into<String>, stages: Vec<Stage>) -> Result<Funnel> {
        let name = name.into();
        let invalid = |reason: String| {
            Error::from(ErrorKind::InvalidFunnel {
                funnel: name.clone(),
                reason,
            })
        };
        if stages.is_empty() {
            return Err(invalid("a funnel needs at least one stage".into()));
        }
        let mut lookup: HashMap<String, usize> = HashMap::new();
        let mut seen_won = false;
        for (i, stage) in stages.iter().enumerate() {
            if stage.key.trim().is_empty() {
                return Err(invalid(format!("stage #{i} has an empty key")));
            }
            check_probability(
                stage.probability,
                || RecordRef::new("stage").with_index(i).with_id(&stage.key),
                "probability",
            )?;
            match stage.kind {
                StageKind::Won => seen_won = true,
                StageKind::Open if seen_won => {
                    return Err(invalid(format!(
                        "open stage `{}` comes after a won stage; order the path to won first",
                        stage.key
                    )));
                }
                _ => {}
            }
            let names = std::iter::once(&stage.key)
                .chain(std::iter::once(&stage.name))
                .chain(stage.aliases.iter());
            for n in names {
                let k = norm(n);
                if k.is_empty() {
                    continue;
                }
                match lookup.get(&k) {
                    Some(&first) if first != i => {
                        return Err(Error::from(ErrorKind::DuplicateStage {
                            funnel: name.clone(),
                            key: n.trim().to_string(),
                            first,
                            second: i,
                        }));
                    }
                    Some(_) => {}
                    None => {
                        lookup.insert(k, i);
                    }
                }
            }
        }
        if !seen_won {
            return Err(invalid("a funnel needs at least one won stage".into()));
        }
        Ok(Funnel {
            name,
            stages,
            lookup,
        })
    }

    /// Reads and validates a funnel from JSON: `{"name": ..., "stages": [{"key", "name",
    /// "owner", "kind", "probability"?, "aliases"?}, ...]}`.
    ///
    /// ```
    /// use revops::Funnel;
    /// # fn main() -> Result<(), revops::Error> {
    /// let f = Funnel::from_json(r#"{"name": "tiny", "stages": [
    ///   {"key": "lead", "name": "Lead", "owner": "marketing", "kind": "open"},
    ///   {"key": "customer", "name": "Customer", "owner": "sales", "kind": "won", "probability": 1.0}
    /// ]}"#)?;
    /// assert_eq!(f.stages().len(), 2);
    /// assert!(Funnel::from_json(r#"{"name": "no-won", "stages": [
    ///   {"key": "lead", "name": "Lead", "owner": "marketing", "kind": "open"}]}"#).is_err());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Json`](crate::error::ErrorKind::Json) for malformed JSON or a failed check (the message names it).
    pub fn from_json(json: &str) -> Result<Funnel> {
        Ok(serde_json::from_str(json)?)
    }

    /// The funnel as pretty-printed JSON, readable by [`Funnel::from_json`].
    ///
    /// # Errors
    /// [`ErrorKind::Json`](crate::error::ErrorKind::Json) (only if serialisation itself fails).
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// The funnel's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// All stages, in definition order.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// The position of the stage with this key, name or alias (case-insensitive).
    pub fn stage_index(&self, key: &str) -> Option<usize> {
        if let Some(&i) = self.lookup.get(key) {
            return Some(i);
        }
        self.lookup.get(&norm(key)).copied()
    }

    /// The stage with this key, name or alias (case-insensitive).
    pub fn stage(&self, key: &str) -> Option<&Stage> {
        self.stage_index(key).map(|i| &self.stages[i])
    }

    /// Like [`Funnel::stage_index`], but an unknown stage is an error naming `record`.
    ///
    /// # Errors
    /// [`ErrorKind::UnknownStage`](crate::error::ErrorKind::UnknownStage).
    pub fn resolve(&self, key: &str, record: impl FnOnce() -> RecordRef) -> Result<usize> {
        self.stage_index(key).ok_or_else(|| {
            Error::from(ErrorKind::UnknownStage {
                record: record(),
                key: key.to_string(),
                funnel: self.name.clone(),
            })
        })
    }

    /// The path to won: open and won stages with their positions, in order.
    pub fn progression(&self) -> impl Iterator<Item = (usize, &Stage)> {
        self.stages
            .iter()
            .enumerate()
            .filter(|(_, s)| s.kind.is_progression())
    }

    /// Positions of the won stages.
    pub fn won_stages(&self) -> impl Iterator<Item = usize> + '_ {
        self.stages
            .iter()
            .enumerate()
            .filter(|(_, s)| s.kind == StageKind::Won)
            .map(|(i, _)| i)
    }

    /// The SiriusDecisions-style demand waterfall: Inquiry → MQL → SAL → SQL →
    /// Opportunity → Won, with Lost, Disqualified and Recycled exits.
    ///
    /// | key | name | owner | kind |
    /// |---|---|---|---|
    /// | `inquiry` | Inquiry | marketing | open |
    /// | `mql` | Marketing Qualified Lead (alias MQL) | marketing | open |
    /// | `sal` | Sales Accepted Lead (alias SAL) | shared | open |
    /// | `sql` | Sales Qualified Lead (alias SQL) | sales | open |
    /// | `opportunity` | Opportunity | sales | open |
    /// | `won` | Won (alias Closed Won) | sales | won |
    /// | `lost` | Lost (alias Closed Lost) | sales | lost |
    /// | `disqualified` | Disqualified | shared | disqualified |
    /// | `recycled` | Recycled (alias Nurture) | marketing | recycled |
    pub fn demand_waterfall() -> Funnel {
        use StageKind::*;
        use StageOwner::*;
        let stages = vec![
            Stage::new("inquiry", "Inquiry", Marketing, Open),
            Stage::new("mql", "Marketing Qualified Lead", Marketing, Open).with_alias("MQL"),
            Stage::new("sal", "Sales Accepted Lead", Shared, Open).with_alias("SAL"),
            Stage::new("sql", "Sales Qualified Lead", Sales, Open).with_alias("SQL"),
            Stage::new("opportunity", "Opportunity", Sales, Open),
            Stage::new("won", "Won", Sales, Won).with_alias("Closed Won"),
            Stage::new("lost", "Lost", Sales, Lost).with_alias("Closed Lost"),
            Stage::new("disqualified", "Disqualified", Shared, Disqualified),
            Stage::new("recycled", "Recycled", Marketing, Recycled).with_alias("Nurture"),
        ];
        Funnel::new("demand waterfall", stages).expect("the built-in demand waterfall is valid")
    }

    /// Salesforce's default opportunity stages with their default probabilities:
    /// Prospecting 10 %, Qualification 10 %, Needs Analysis 20 %, Value Proposition 50 %,
    /// Id. Decision Makers 60 %, Perception Analysis 70 %, Proposal/Price Quote 75 %,
    /// Negotiation/Review 90 %, Closed Won 100 %, Closed Lost 0 %. Keys are snake case
    /// (`needs_analysis`); the Salesforce labels are the names.
    pub fn salesforce_opportunity() -> Funnel {
        use StageKind::*;
        use StageOwner::Sales;
        let open = [
            ("prospecting", "Prospecting", 0.10),
            ("qualification", "Qualification", 0.10),
            ("needs_analysis", "Needs Analysis", 0.20),
            ("value_proposition", "Value Proposition", 0.50),
            ("id_decision_makers", "Id. Decision Makers", 0.60),
            ("perception_analysis", "Perception Analysis", 0.70),
            ("proposal_price_quote", "Proposal/Price Quote", 0.75),
            ("negotiation_review", "Negotiation/Review", 0.90),
        ];
        let mut stages: Vec<Stage> = open
            .iter()
            .map(|&(k, n, p)| Stage::new(k, n, Sales, Open).with_probability(p))
            .collect();
        stages.push(Stage::new("closed_won", "Closed Won", Sales, Won).with_probability(1.0));
        stages.push(Stage::new("closed_lost", "Closed Lost", Sales, Lost).with_probability(0.0));
        Funnel::new("salesforce opportunity", stages)
            .expect("the built-in Salesforce funnel is valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_are_valid() {
        let w = Funnel::demand_waterfall();
        assert_eq!(w.name(), "demand waterfall");
        assert_eq!(w.stages().len(), 9);
        assert_eq!(w.progression().count(), 6);
        assert_eq!(w.stage_index(" closed won "), Some(5));
        let s = Funnel::salesforce_opportunity();
        assert_eq!(s.name(), "salesforce opportunity");
        assert_eq!(
            s.stage("Negotiation/Review").unwrap().probability,
            Some(0.9)
        );
        assert_eq!(s.won_stages().collect::<Vec<_>>(), [8]);
    }

    #[test]
    fn rejects_bad_definitions() {
        use StageKind::*;
        use StageOwner::*;
        let dup = Funnel::new(
            "f",
            vec![
                Stage::new("a", "A", Marketing, Open),
                Stage::new("A", "Other", Sales, Won),
            ],
        );
        assert_eq!(
            dup.unwrap_err(),
            Error::from(ErrorKind::DuplicateStage {
                funnel: "f".into(),
                key: "A".into(),
                first: 0,
                second: 1
            })
        );
        assert!(matches!(
            Funnel::new("f", vec![Stage::new("a", "A", Marketing, Open)])
                .map_err(|e| e.into_kind()),
            Err(ErrorKind::InvalidFunnel { .. })
        ));
        assert!(matches!(
            Funnel::new("f", vec![]).map_err(|e| e.into_kind()),
            Err(ErrorKind::InvalidFunnel { .. })
        ));
        let err = Funnel::new(
            "f",
            vec![Stage::new("w", "W", Sales, Won).with_probability(1.5)],
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "stage #0 (id w): field `probability`: a probability must be a finite number in [0, 1], got 1.5"
        );
        assert!(matches!(
            Funnel::new(
                "f",
                vec![
                    Stage::new("w", "W", Sales, Won),
                    Stage::new("o", "O", Sales, Open)
                ]
            )
            .map_err(|e| e.into_kind()),
            Err(ErrorKind::InvalidFunnel { .. })
        ));
        let unknown = Funnel::demand_waterfall()
            .resolve("demo", || {
                RecordRef::new("stage event").with_index(2).with_id("L-9")
            })
            .unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "stage event #2 (id L-9): unknown stage `demo` (funnel `demand waterfall`)"
        );
    }

    #[test]
    fn json_round_trip() {
        for f in [Funnel::demand_waterfall(), Funnel::salesforce_opportunity()] {
            let back = Funnel::from_json(&f.to_json().unwrap()).unwrap();
            assert_eq!(back, f);
            assert_eq!(back.stage_index("won"), f.stage_index("won"));
        }
    }
}
