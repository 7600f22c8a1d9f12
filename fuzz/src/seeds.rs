//! Seed inputs: the hand-written files under `fuzz/corpus/<target>/` plus a few
//! small tables of a tiny synthetic company, written by the crate's own writers.

use std::collections::HashSet;
use std::path::Path;

use revops::csv::{CsvRecord, Options, write_records};
use revops::synth::{Company, MIN_LEADS, SynthConfig, generate};
use revops::{PathRow, attribution::JourneyOptions, attribution::Journeys};

/// Rows per synthetic table: seeds stay a few KB.
const ROWS: usize = 24;

/// The files of `dir` (sorted by name; sub-folders and unreadable files skipped).
pub fn files(dir: &Path) -> Vec<Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| std::fs::read(p).ok())
        .collect()
}

/// Tables of a tiny synthetic company, generated once per run.
pub struct Synthetic {
    company: Option<Company>,
}

impl Synthetic {
    /// Generates the company (1,000 leads over three months; a few milliseconds).
    pub fn new() -> Synthetic {
        let config = SynthConfig::default()
            .with_leads(MIN_LEADS)
            .with_months(3)
            .with_seed(11);
        Synthetic {
            company: generate(&config).ok(),
        }
    }

    /// Seeds for `target`.
    pub fn seeds(&self, target: &str) -> Vec<Vec<u8>> {
        let Some(c) = &self.company else {
            return Vec::new();
        };
        let o = Options::new;
        let table = |name: &str| -> Vec<u8> {
            match name {
                "leads" => head(&c.leads, o()),
                "stage_events" => head(&c.stage_events, o()),
                "touches" | "touches_fast" => head(&c.touches, o()),
                "conversions" => head(&c.conversions, o()),
                "spend" | "spend_align" => head(&c.spend, o()),
                "opportunity_history" | "pipeline" => head(&c.opportunity_history, o()),
                "forecasts" => head(&c.forecasts, o()),
                "paths" | "attribution" => head(&paths(c), o()),
                "paths;" | "paths_semicolon" => head(&paths(c), o().with_delimiter(b';')),
                _ => Vec::new(),
            }
        };
        match target {
            "roundtrip" => crate::targets::SCHEMAS
                .iter()
                .map(|name| {
                    let mut s = format!("{name}\n").into_bytes();
                    s.extend(table(name));
                    s
                })
                .collect(),
            "report" | "funnel" => vec![sections(c, target == "report")],
            other => vec![table(other)],
        }
    }
}

/// The first rows of a table, with its header.
fn head<T: CsvRecord>(records: &[T], options: Options) -> Vec<u8> {
    write_records(Vec::new(), &records[..records.len().min(ROWS)], options).unwrap_or_default()
}

fn paths(c: &Company) -> Vec<PathRow> {
    Journeys::from_records(
        &c.touches,
        &c.conversions,
        &c.stage_events,
        &JourneyOptions::default(),
    )
    .map(|j| j.path_rows())
    .unwrap_or_default()
}

/// A multi-file input (`##name` lines) about the first few leads.
fn sections(c: &Company, all: bool) -> Vec<u8> {
    let leads = &c.leads[..c.leads.len().min(12)];
    let ids: HashSet<&str> = leads.iter().map(|l| l.id.as_str()).collect();
    let mine = |s: &str| ids.contains(s);
    let mut out = Vec::new();
    let mut add = |name: &str, bytes: Vec<u8>| {
        out.extend(format!("##{name}\n").into_bytes());
        out.extend(bytes);
    };
    let o = Options::new;
    add("leads", head(leads, o()));
    let events: Vec<_> = c
        .stage_events
        .iter()
        .filter(|e| mine(e.subject.as_str()))
        .cloned()
        .collect();
    add("stage_events", head(&events, o()));
    if all {
        let touches: Vec<_> = c
            .touches
            .iter()
            .filter(|t| mine(t.subject.as_str()))
            .cloned()
            .collect();
        add("touches", head(&touches, o()));
        let conversions: Vec<_> = c
            .conversions
            .iter()
            .filter(|t| mine(t.subject.as_str()))
            .cloned()
            .collect();
        add("conversions", head(&conversions, o()));
        add("spend", head(&c.spend, o()));
        add("opportunity_history", head(&c.opportunity_history, o()));
        add("forecasts", head(&c.forecasts, o()));
    }
    out
}
