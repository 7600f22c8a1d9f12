//! Shared by the examples: a small flag parser and the loading of a dataset from a
//! folder of canonical CSV files or from the synthetic company.
#![allow(dead_code, clippy::print_stdout, clippy::print_stderr)]

use std::collections::HashMap;
use std::path::PathBuf;

use revops::Error;
use revops::csv::{Dataset, Options};
use revops::synth::{SynthConfig, generate};

/// `--name value` and `--switch` flags.
pub struct Flags {
    values: HashMap<String, String>,
    switches: Vec<String>,
}

impl Flags {
    /// Parses the process arguments; `with_value` lists the flags that take a value,
    /// `switches` those that do not. Anything else is an error.
    pub fn parse(with_value: &[&str], switches: &[&str]) -> Result<Flags, Error> {
        let mut f = Flags {
            values: HashMap::new(),
            switches: Vec::new(),
        };
        let mut it = std::env::args().skip(1);
        while let Some(a) = it.next() {
            if with_value.contains(&a.as_str()) {
                let v = it.next().ok_or_else(|| bad(&a, "", "missing value"))?;
                f.values.insert(a, v);
            } else if switches.contains(&a.as_str()) {
                f.switches.push(a);
            } else {
                return Err(bad("argument", &a, "unknown flag; see --help"));
            }
        }
        Ok(f)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn has(&self, name: &str) -> bool {
        self.switches.iter().any(|s| s == name)
    }

    pub fn number(&self, name: &str, default: u64) -> Result<u64, Error> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .replace('_', "")
                .parse()
                .map_err(|_| bad(name, v, "not a whole number")),
        }
    }

    pub fn parsed<T: std::str::FromStr<Err = Error>>(
        &self,
        name: &str,
        default: T,
    ) -> Result<T, Error> {
        self.get(name).map_or(Ok(default), str::parse)
    }
}

pub fn bad(name: &str, value: &str, reason: &str) -> Error {
    Error::InvalidParameter {
        name: "flag",
        value: format!("{name} {value}").trim().to_string(),
        reason: reason.to_string(),
    }
}

/// Where the data came from, for the report header.
pub struct Loaded {
    pub data: Dataset,
    pub origin: String,
    /// The synthetic company's opportunities (with their lead links); `None` for a
    /// folder, whose files carry only the opportunities' history.
    pub opportunities: Option<Vec<revops::Opportunity>>,
}

/// Reads `--data DIR` if given, else synthesises `--leads N` leads (`--seed S`); in
/// quick mode the synthetic company has 5,000 leads.
pub fn load(flags: &Flags, default_leads: u64) -> Result<Loaded, Error> {
    if let Some(dir) = flags.get("--data") {
        let data = Dataset::read_dir(PathBuf::from(dir), Options::new())?;
        let origin = format!(
            "folder {dir} (missing: {})",
            if data.missing.is_empty() {
                "none".to_string()
            } else {
                data.missing.join(", ")
            }
        );
        return Ok(Loaded {
            data,
            origin,
            opportunities: None,
        });
    }
    let leads = if flags.has("--quick") {
        5_000
    } else {
        flags.number("--leads", default_leads)?
    };
    let seed = flags.number("--seed", 7)?;
    let c = generate(&SynthConfig::default().with_leads(leads).with_seed(seed))?;
    let data = Dataset {
        leads: c.leads,
        stage_events: c.stage_events,
        touches: c.touches,
        conversions: c.conversions,
        spend: c.spend,
        opportunity_history: c.opportunity_history,
        forecasts: c.forecasts,
        ..Dataset::default()
    };
    Ok(Loaded {
        data,
        origin: format!("synthetic company, {leads} leads, seed {seed}"),
        opportunities: Some(c.opportunities),
    })
}
