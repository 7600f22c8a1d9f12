//! The fuzz targets: each takes the input bytes and returns a fingerprint of what
//! happened (used to keep inputs that behave in a new way), or a description of a
//! broken invariant. Panics are caught by the runner.

use std::collections::hash_map::DefaultHasher;
use std::fmt::Debug;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use revops::csv::{CsvRecord, Dataset, OnError, Options, ReadReport, Reader, write_records};
use revops::{
    Calendar, Conversion, Currency, Decimal, Error, ForecastPoint, Funnel, Granularity, Lead,
    OpportunityChange, PathRow, Spend, StageEvent, Touch, Window, attribution::JourneyBuilder,
    attribution::JourneyOptions, attribution::Journeys, attribution::MarkovOptions,
    attribution::RuleModel, attribution::ShapleyOptions, attribution::TrailingTouches,
    attribution::markov_attribution, attribution::shapley_attribution, cost::SpendAlignment,
    cost::align_spend, funnel::CohortSpec, funnel::FlowSpec, funnel::FunnelData,
    funnel::FunnelEvents, funnel::PathOptions, funnel::QualificationSpec, funnel::VelocitySpec,
    funnel::cohort_report, funnel::flow_report, funnel::qualification_report,
    funnel::velocity_report, pipeline::PipelineHistory, pipeline::PipelineScope,
    pipeline::SalesCycleSpec, pipeline::WaterfallSpec, pipeline::WinRateSpec, report::Report,
    report::ReportOptions, report::opportunities_from_history,
};

use crate::oracle::{ends_in_open_quote, is_documented_decimal, is_documented_time};

/// The step a target is in (shown when an execution hangs).
static PHASE: Mutex<&'static str> = Mutex::new("");

/// Names the step the running target is in.
fn enter(phase: &'static str) {
    *PHASE.lock().unwrap_or_else(|e| e.into_inner()) = phase;
}

/// The step the running target is in.
pub fn phase() -> &'static str {
    *PHASE.lock().unwrap_or_else(|e| e.into_inner())
}

/// What one execution found: `Ok(fingerprint)` or `Err(broken invariant)`.
pub type Outcome = Result<u64, String>;

/// A fuzz target.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Its name (also the corpus folder and the findings' prefix).
    pub name: &'static str,
    /// What it exercises.
    pub about: &'static str,
    /// The function under test.
    pub run: fn(&[u8]) -> Outcome,
}

/// Every target, in the order a run visits them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "leads",
        about: "Reader<Lead>: stop vs skip policies, unclosed quotes",
        run: |d| check_reader::<Lead>(d, Options::new(), &[("created_at", TIME)]),
    },
    Target {
        name: "stage_events",
        about: "Reader<StageEvent>",
        run: |d| check_reader::<StageEvent>(d, Options::new(), &[("at", TIME)]),
    },
    Target {
        name: "touches",
        about: "Reader<Touch>, decimal form of `cost`",
        run: |d| check_reader::<Touch>(d, Options::new(), &[("cost", DECIMAL), ("at", TIME)]),
    },
    Target {
        name: "conversions",
        about: "Reader<Conversion>, decimal form of `value`",
        run: |d| check_reader::<Conversion>(d, Options::new(), &[("value", DECIMAL), ("at", TIME)]),
    },
    Target {
        name: "spend",
        about: "Reader<Spend>, decimal form of `amount`",
        run: |d| {
            check_reader::<Spend>(
                d,
                Options::new(),
                &[
                    ("amount", DECIMAL),
                    ("period_start", TIME),
                    ("period_end", TIME),
                ],
            )
        },
    },
    Target {
        name: "opportunity_history",
        about: "Reader<OpportunityChange>, decimal form of `amount`",
        run: |d| {
            check_reader::<OpportunityChange>(
                d,
                Options::new(),
                &[
                    ("amount", DECIMAL),
                    ("changed_at", TIME),
                    ("close_date", TIME),
                ],
            )
        },
    },
    Target {
        name: "paths",
        about: "Reader<PathRow> with `,`",
        run: |d| check_reader::<PathRow>(d, Options::new(), &[("total_conversion_value", DECIMAL)]),
    },
    Target {
        name: "paths_semicolon",
        about: "Reader<PathRow> with `;`",
        run: |d| check_reader::<PathRow>(d, semicolon(), &[("total_conversion_value", DECIMAL)]),
    },
    Target {
        name: "forecasts",
        about: "Reader<ForecastPoint>",
        run: |d| check_reader::<ForecastPoint>(d, Options::new(), &[]),
    },
    Target {
        name: "touches_fast",
        about: "JourneyBuilder::read_touches_csv against Reader<Touch> + add",
        run: touches_fast,
    },
    Target {
        name: "roundtrip",
        about: "read -> write -> read gives the same records (first line names the schema)",
        run: roundtrip,
    },
    Target {
        name: "report",
        about: "sections `##leads`, `##touches`, ... -> Report::build, text, JSON, HTML",
        run: report,
    },
    Target {
        name: "attribution",
        about: "paths -> rule models (with revenue), Markov (order 1, 2), Shapley",
        run: attribution,
    },
    Target {
        name: "pipeline",
        about: "opportunity_history -> PipelineHistory: waterfall, win rate, cycle, slippage",
        run: pipeline,
    },
    Target {
        name: "funnel",
        about: "sections `##leads`, `##stage_events` -> cohort, flow, velocity, qualification",
        run: funnel,
    },
    Target {
        name: "spend_align",
        about: "spend -> align_spend (month, quarter), parts sum to the rows",
        run: spend_align,
    },
];

/// A documented value form: its name in messages and its check.
type Form = (&'static str, fn(&[u8]) -> bool);

const DECIMAL: Form = ("an exact decimal such as 1250.10", is_documented_decimal);
const TIME: Form = (
    "`YYYY-MM-DD`, optionally with `THH:MM:SS`, fraction and offset",
    is_documented_time,
);

/// The target called `name`.
pub fn find(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

fn semicolon() -> Options {
    Options::new().with_delimiter(b';')
}

fn skip(options: &Options) -> Options {
    options.clone().with_on_error(OnError::SkipAndReport)
}

// ---------------------------------------------------------------------------
// Fingerprints

#[derive(Default)]
struct Fp(DefaultHasher);

impl Fp {
    fn add(&mut self, x: impl Hash) -> &mut Self {
        x.hash(&mut self.0);
        self
    }

    /// A count, bucketed (0, 1, 2–3, 4–7, …) so that sizes do not flood the corpus.
    fn count(&mut self, n: usize) -> &mut Self {
        self.add((usize::BITS - n.leading_zeros()).min(5))
    }

    /// An error's class: its message without the quoted values and the numbers.
    fn error(&mut self, e: &Error) -> &mut Self {
        self.add(error_class(&e.to_string()))
    }

    fn result<T>(&mut self, r: &Result<T, Error>) -> &mut Self {
        match r {
            Ok(_) => self.add(0u8),
            Err(e) => self.error(e),
        }
    }

    fn get(&self) -> u64 {
        self.0.finish()
    }
}

/// A message with backquoted values replaced by `_`, digit runs by `N`, cut to 80
/// characters.
pub fn error_class(message: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    let mut last_digit = false;
    for c in message.chars() {
        if c == '`' {
            quoted = !quoted;
            if quoted {
                out.push('_');
            }
            continue;
        }
        if quoted {
            continue;
        }
        if c.is_ascii_digit() {
            if !last_digit {
                out.push('N');
            }
            last_digit = true;
            continue;
        }
        last_digit = false;
        out.push(c);
        if out.len() >= 80 {
            break;
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Readers

/// Records read until the first error (the stop policy) or all valid records (skip).
struct Read<T> {
    records: Vec<T>,
    /// The header's error, or the first yielded error.
    error: Option<Error>,
    header_failed: bool,
    report: ReadReport,
}

fn read<T: CsvRecord>(data: &[u8], options: &Options) -> Read<T> {
    let mut out = Read {
        records: Vec::new(),
        error: None,
        header_failed: false,
        report: ReadReport::default(),
    };
    let mut reader = match Reader::<T, _>::new(data, options.clone()) {
        Ok(r) => r,
        Err(e) => {
            out.error = Some(e);
            out.header_failed = true;
            return out;
        }
    };
    for r in reader.by_ref() {
        match r {
            Ok(t) => out.records.push(t),
            Err(e) => {
                out.error = Some(e);
                break;
            }
        }
    }
    out.report = reader.report().clone();
    out
}

/// Equal, or (for records holding NaN) equal in their debug form.
fn same<T: PartialEq + Debug + ?Sized>(a: &T, b: &T) -> bool {
    a == b || format!("{a:?}") == format!("{b:?}")
}

/// The input, escaped and cut for a finding's message.
pub fn excerpt(data: &[u8], max: usize) -> String {
    let s = data.escape_ascii().to_string();
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}… ({} bytes)", &s[..cut], data.len())
    } else {
        s
    }
}

/// Reads `data` under both error policies and checks that they agree, that the report
/// counts add up, that an unclosed quote is reported, and that every accepted value of
/// the `forms` columns has its documented form.
fn check_reader<T: CsvRecord + PartialEq + Debug>(
    data: &[u8],
    options: Options,
    forms: &[(&str, Form)],
) -> Outcome {
    enter("reading");
    let stop = read::<T>(data, &options);
    let skipped = read::<T>(data, &skip(&options));
    let mut fp = Fp::default();
    fp.count(stop.records.len()).add(stop.header_failed);
    if let Some(e) = &stop.error {
        fp.error(e);
    }
    if stop.header_failed {
        if !skipped.header_failed || stop.error != skipped.error {
            return Err(format!(
                "the header error differs between policies: {:?} vs {:?}",
                stop.error, skipped.error
            ));
        }
        return Ok(fp.get());
    }
    if let Some(e) = &skipped.error {
        return Err(format!(
            "an error was yielded under SkipAndReport for in-memory input: {e}"
        ));
    }
    let r = &skipped.report;
    fp.count(r.skipped.len());
    if let Some(e) = r.skipped.first() {
        fp.error(e);
    }
    // Every skipped row is counted; only the first `kept_errors` keep their error.
    if r.rows != r.records + r.skipped_rows
        || r.records != skipped.records.len() as u64
        || r.skipped.len() as u64 != r.skipped_rows.min(options.kept_errors() as u64)
    {
        return Err(format!(
            "report does not add up: rows {} != records {} + skipped rows {} (kept {} errors, \
             yielded {})",
            r.rows,
            r.records,
            r.skipped_rows,
            r.skipped.len(),
            skipped.records.len()
        ));
    }
    let prefix = stop.records.len().min(skipped.records.len());
    if stop.records.len() > skipped.records.len()
        || !same(&stop.records[..], &skipped.records[..prefix])
    {
        return Err(
            "the records read before the first error (stop) are not the first records read \
             under SkipAndReport"
                .into(),
        );
    }
    match &stop.error {
        Some(e) if r.skipped.first() != Some(e) => {
            return Err(format!(
                "stop's error `{e}` is not the first skipped row's error {:?}",
                r.skipped.first().map(ToString::to_string)
            ));
        }
        None if !r.skipped.is_empty() || stop.records.len() != skipped.records.len() => {
            return Err("stop read everything without an error, skip skipped rows".into());
        }
        _ => {}
    }
    if stop.error.is_none() && ends_in_open_quote(data, options.delimiter()) {
        return Err(format!(
            "the input ends inside an unclosed quoted field, yet the reader reported no \
             error ({} records; the last row's quoted field swallowed the rest of the file)",
            stop.records.len()
        ));
    }
    if !forms.is_empty() && !stop.records.is_empty() {
        check_forms(data, options.delimiter(), forms, stop.records.len())?;
    }
    Ok(fp.get())
}

/// The raw fields of the first `accepted` data rows in the `forms` columns must have
/// their documented form (or be blank).
fn check_forms(
    data: &[u8],
    delimiter: u8,
    forms: &[(&str, Form)],
    accepted: usize,
) -> Result<(), String> {
    let mut raw = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(data);
    let mut rows = raw.byte_records();
    let Some(Ok(header)) = rows.next() else {
        return Ok(());
    };
    let columns: Vec<(usize, &str, Form)> = header
        .iter()
        .enumerate()
        .filter_map(|(i, name)| {
            let name = std::str::from_utf8(name).ok()?;
            let name = if i == 0 {
                name.trim_start_matches('\u{feff}')
            } else {
                name
            };
            let name = name.trim().to_ascii_lowercase();
            forms
                .iter()
                .find(|(d, _)| *d == name)
                .map(|(d, form)| (i, *d, *form))
        })
        .collect();
    for (k, row) in rows.take(accepted).enumerate() {
        let Ok(row) = row else { return Ok(()) };
        for &(i, name, (form, ok)) in &columns {
            // Blank (Unicode whitespace too) means absent.
            let blank = |f: &[u8]| std::str::from_utf8(f).is_ok_and(|s| s.trim().is_empty());
            if let Some(f) = row.get(i)
                && !blank(f)
                && !ok(f)
            {
                return Err(format!(
                    "`{}` was accepted in column {name} (data row {}); the documented \
                     form is {form}",
                    f.escape_ascii(),
                    k + 1
                ));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The fast touches reader against the general one

fn touches_fast(data: &[u8]) -> Outcome {
    enter("reading touches (fast and general)");
    let mut fp = Fp::default();
    for policy in [OnError::Stop, OnError::SkipAndReport] {
        let options = Options::new().with_on_error(policy);
        let journey_options =
            JourneyOptions::default().with_trailing(TrailingTouches::NonConverting);
        let mut fast = JourneyBuilder::new(journey_options.clone()).map_err(|e| e.to_string())?;
        let fast_result = fast.read_touches_csv(data, options.clone());
        let mut general = JourneyBuilder::new(journey_options).map_err(|e| e.to_string())?;
        let read = read::<Touch>(data, &options);
        let general_result = match (read.error, read.header_failed) {
            (Some(e), _) => {
                general
                    .add_batch(&read.records, &[], &[])
                    .map_err(|e| format!("adding the touches read failed: {e}"))?;
                Err(e)
            }
            (None, _) => general
                .add_batch(&read.records, &[], &[])
                .map(|()| read.report.clone()),
        };
        fp.result(&fast_result);
        if fast_result != general_result {
            return Err(format!(
                "{policy:?}: read_touches_csv gave {} but Reader<Touch> gave {}",
                describe(&fast_result),
                describe(&general_result)
            ));
        }
        if fast.touch_count() != general.touch_count()
            || fast.subject_count() != general.subject_count()
        {
            return Err(format!(
                "{policy:?}: read_touches_csv kept {} touches of {} subjects, Reader<Touch> {} of {}",
                fast.touch_count(),
                fast.subject_count(),
                general.touch_count(),
                general.subject_count()
            ));
        }
        let (a, b) = (fast.finish(), general.finish());
        let equal = match (&a, &b) {
            (Ok(a), Ok(b)) => same_journeys(a, b),
            (Err(a), Err(b)) => a == b,
            _ => false,
        };
        if equal {
            fp.count(fast.touch_count());
            continue;
        }
        let show = |j: &Result<Journeys, Error>| match j {
            Ok(j) => format!("{:?} {:?}", j.iter().collect::<Vec<_>>(), j.diagnostics()),
            Err(e) => format!("error: {e}"),
        };
        let (a, b) = (show(&a), show(&b));
        if a != b {
            return Err(format!(
                "{policy:?}: the journeys differ:\n  fast:    {}\n  general: {}",
                excerpt(a.as_bytes(), 600),
                excerpt(b.as_bytes(), 600)
            ));
        }
        fp.count(fast.touch_count());
    }
    Ok(fp.get())
}

/// The same journeys: subjects, conversions, values and touches, and diagnostics.
fn same_journeys(a: &Journeys, b: &Journeys) -> bool {
    a.len() == b.len()
        && a.diagnostics() == b.diagnostics()
        && a.iter().zip(b.iter()).all(|(x, y)| {
            x.subject() == y.subject()
                && x.converted_at() == y.converted_at()
                && x.value() == y.value()
                && x.conversions().to_bits() == y.conversions().to_bits()
                && x.nulls().to_bits() == y.nulls().to_bits()
                && x.touches().eq(y.touches())
        })
}

fn describe(r: &Result<ReadReport, Error>) -> String {
    match r {
        Ok(r) => format!(
            "Ok(rows {}, records {}, skipped {:?})",
            r.rows,
            r.records,
            r.skipped
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        ),
        Err(e) => format!("Err({e})"),
    }
}

// ---------------------------------------------------------------------------
// Round trip

/// The schemas the round trip knows, by the name on the input's first line.
pub(crate) const SCHEMAS: &[&str] = &[
    "leads",
    "stage_events",
    "touches",
    "conversions",
    "spend",
    "opportunity_history",
    "paths",
    "paths;",
    "forecasts",
];

fn roundtrip(data: &[u8]) -> Outcome {
    enter("read, write, read");
    let (first, rest) = match data.iter().position(|&b| b == b'\n') {
        Some(p) => (&data[..p], &data[p + 1..]),
        None => (data, &[][..]),
    };
    let schema = SCHEMAS
        .iter()
        .position(|s| s.as_bytes() == first.trim_ascii())
        .unwrap_or_else(|| {
            let mut h = DefaultHasher::new();
            first.hash(&mut h);
            h.finish() as usize % SCHEMAS.len()
        });
    let o = Options::new();
    let mut fp = Fp::default();
    fp.add(schema);
    let r = match SCHEMAS[schema] {
        "leads" => round_trip::<Lead>(rest, o, &mut fp),
        "stage_events" => round_trip::<StageEvent>(rest, o, &mut fp),
        "touches" => round_trip::<Touch>(rest, o, &mut fp),
        "conversions" => round_trip::<Conversion>(rest, o, &mut fp),
        "spend" => round_trip::<Spend>(rest, o, &mut fp),
        "opportunity_history" => round_trip::<OpportunityChange>(rest, o, &mut fp),
        "paths" => round_trip::<PathRow>(rest, o, &mut fp),
        "paths;" => round_trip::<PathRow>(rest, semicolon(), &mut fp),
        _ => round_trip::<ForecastPoint>(rest, o, &mut fp),
    };
    r.map(|()| fp.get())
}

fn round_trip<T: CsvRecord + PartialEq + Debug>(
    data: &[u8],
    options: Options,
    fp: &mut Fp,
) -> Result<(), String> {
    let first = read::<T>(data, &skip(&options));
    fp.count(first.records.len());
    if first.records.is_empty() {
        return Ok(());
    }
    let written = match write_records(Vec::new(), &first.records, options.clone()) {
        Ok(w) => w,
        Err(e) => {
            fp.error(&e);
            return Ok(());
        }
    };
    let back = read::<T>(&written, &options);
    if let Some(e) = back.error {
        return Err(format!(
            "what the writer wrote does not read back: {e}\n  written: {}",
            excerpt(&written, 400)
        ));
    }
    if back.records.len() != first.records.len() {
        return Err(format!(
            "{} records written, {} read back\n  written: {}",
            first.records.len(),
            back.records.len(),
            excerpt(&written, 400)
        ));
    }
    for (i, (a, b)) in first.records.iter().zip(&back.records).enumerate() {
        if !same(a, b) {
            return Err(format!(
                "record {i} changed in the round trip:\n  read:    {a:?}\n  re-read: {b:?}\n  written: {}",
                excerpt(&written, 400)
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Several files in one input

/// Splits the input at lines `##name` into the canonical files and reads each with
/// the skip policy (so one bad row does not hide the rest from the engines). Text
/// before the first `##` line is leads.
fn dataset(data: &[u8]) -> Dataset {
    let mut d = Dataset::default();
    let mut name: &[u8] = b"leads";
    let mut start = 0;
    let mut i = 0;
    let mut sections: Vec<(&[u8], &[u8])> = Vec::new();
    while i <= data.len() {
        let at_line = i == 0 || data[i - 1] == b'\n';
        if i == data.len() || (at_line && data[i..].starts_with(b"##")) {
            sections.push((name, &data[start..i]));
            if i == data.len() {
                break;
            }
            let end = data[i..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(data.len(), |p| i + p);
            name = data[i + 2..end].trim_ascii();
            start = (end + 1).min(data.len());
            i = start;
            continue;
        }
        i += 1;
    }
    let o = skip(&Options::new());
    for (name, text) in sections {
        match name {
            b"leads" => d.leads.extend(read::<Lead>(text, &o).records),
            b"stage_events" => d.stage_events.extend(read::<StageEvent>(text, &o).records),
            b"touches" => d.touches.extend(read::<Touch>(text, &o).records),
            b"conversions" => d.conversions.extend(read::<Conversion>(text, &o).records),
            b"spend" => d.spend.extend(read::<Spend>(text, &o).records),
            b"opportunity_history" => d
                .opportunity_history
                .extend(read::<OpportunityChange>(text, &o).records),
            b"forecasts" => d.forecasts.extend(read::<ForecastPoint>(text, &o).records),
            _ => {}
        }
    }
    d
}

fn report(data: &[u8]) -> Outcome {
    enter("reading the sections");
    let d = dataset(data);
    let input = d.report_input();
    let mut fp = Fp::default();
    fp.count(input.rows());
    enter("Report::build");
    let report = match Report::build(&input, &ReportOptions::default().with_parallel(false)) {
        Ok(r) => r,
        Err(e) => return Ok(fp.error(&e).get()),
    };
    enter("Report text");
    let text = report.to_string();
    enter("Report::to_html");
    let html = report.to_html();
    enter("Report::to_json");
    fp.count(text.len()).count(html.len());
    match report.to_json() {
        Ok(json) => {
            if let Err(e) = serde_json::from_str::<serde_json::Value>(&json) {
                return Err(format!("Report::to_json wrote invalid JSON: {e}"));
            }
        }
        Err(e) => {
            fp.error(&e);
        }
    }
    Ok(fp.get())
}

// ---------------------------------------------------------------------------
// Engines

/// The rule models every journey set is attributed with.
const RULES: &[&str] = &[
    "first",
    "last",
    "last_non_direct",
    "linear",
    "linear_unique",
    "time_decay",
    "position_based",
    "j",
    "inverse_j",
    "first_and_lead",
    "w_shaped",
    "full_path",
];

fn attribution(data: &[u8]) -> Outcome {
    enter("reading paths");
    let rows = read::<PathRow>(data, &skip(&Options::new())).records;
    let mut fp = Fp::default();
    fp.count(rows.len());
    enter("Journeys::from_path_rows, total_value, rule models");
    match Journeys::from_path_rows(&rows, Currency::USD) {
        Ok(journeys) => {
            fp.count(journeys.len());
            let _ = journeys.total_value();
            for name in RULES {
                let Ok(model) = name.parse::<RuleModel>() else {
                    continue;
                };
                fp.result(&journeys.attribute(&model));
                fp.result(&journeys.attribute_with_revenue(&model));
            }
        }
        Err(e) => {
            fp.error(&e);
        }
    }
    for (order, phase) in [
        (1, "markov_attribution order 1"),
        (2, "markov_attribution order 2"),
    ] {
        enter(phase);
        let m = markov_attribution(&rows, MarkovOptions::default().with_order(order));
        if let Ok(m) = &m {
            for c in &m.channels {
                let numbers = [
                    c.removal_effect,
                    c.p_conversion_without,
                    c.share,
                    c.conversions,
                ];
                if numbers.iter().any(|x| !x.is_finite())
                    || !(0.0..=1.0).contains(&c.removal_effect)
                {
                    return Err(format!(
                        "Markov (order {order}) gave channel `{}` a non-finite or out-of-range \
                         result: removal effect {}, P(conversion without) {}, share {}, \
                         conversions {}",
                        c.channel, c.removal_effect, c.p_conversion_without, c.share, c.conversions
                    ));
                }
            }
        }
        fp.result(&m);
    }
    enter("shapley_attribution");
    fp.result(&shapley_attribution(&rows, ShapleyOptions::default()));
    Ok(fp.get())
}

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(NaiveTime::MIN).and_utc()
}

fn pipeline(data: &[u8]) -> Outcome {
    enter("reading opportunity_history");
    let rows = read::<OpportunityChange>(data, &skip(&Options::new())).records;
    let mut fp = Fp::default();
    fp.count(rows.len());
    let Some(first) = rows.first() else {
        return Ok(fp.get());
    };
    enter("PipelineHistory");
    let _ = opportunities_from_history(&rows, &[]);
    let history = match PipelineHistory::new(
        Funnel::salesforce_opportunity(),
        first.amount.currency(),
        &rows,
    ) {
        Ok(h) => h,
        Err(e) => return Ok(fp.error(&e).get()),
    };
    let Some((start, end)) = history.span() else {
        return Ok(fp.get());
    };
    enter("waterfall");
    fp.result(&history.waterfall(&WaterfallSpec::new(start, end)));
    let quarter = Calendar::default().period_of(end, Granularity::Quarter);
    let (q0, q1) = (midnight(quarter.start()), midnight(quarter.end()));
    fp.result(
        &history.waterfall(&WaterfallSpec::new(q0, q1).with_scope(PipelineScope::period(&quarter))),
    );
    enter("win_rate, sales_cycle, slippage, aging, forecast_rollup");
    fp.result(&history.win_rate(&WinRateSpec::new(end)));
    let cycle = history.sales_cycle(&SalesCycleSpec::new(end));
    fp.add(cycle.summary().is_some());
    if let Ok(window) = Window::new(start, end) {
        fp.result(&history.slippage(&window));
    }
    let _ = history.aging(end, None);
    fp.result(&history.forecast_rollup(end, PipelineScope::Rolling));
    let _ = history.snapshot(end);
    Ok(fp.get())
}

fn funnel(data: &[u8]) -> Outcome {
    enter("reading the sections");
    let d = dataset(data);
    let mut fp = Fp::default();
    fp.count(d.leads.len()).count(d.stage_events.len());
    let funnel_data = match FunnelData::new(Funnel::demand_waterfall(), &d.leads) {
        Ok(f) => f,
        Err(e) => return Ok(fp.error(&e).get()),
    };
    enter("FunnelEvents");
    let mut events = FunnelEvents::default();
    if let Err(e) = events.add_batch(&funnel_data, &d.stage_events) {
        return Ok(fp.error(&e).get());
    }
    let as_of = d
        .stage_events
        .iter()
        .map(|e| e.at)
        .max()
        .unwrap_or_default();
    let paths = events.paths(&funnel_data, PathOptions::default().with_as_of(as_of));
    enter("cohort_report");
    fp.result(&cohort_report(&funnel_data, &paths, &CohortSpec::default()));
    enter("flow_report (weeks)");
    fp.result(&flow_report(
        &funnel_data,
        &paths,
        &FlowSpec::default().with_granularity(Granularity::Week),
    ));
    enter("velocity_report, qualification_report");
    fp.result(&velocity_report(
        &funnel_data,
        &paths,
        &VelocitySpec::default(),
    ));
    fp.result(&qualification_report(
        &funnel_data,
        &paths,
        &QualificationSpec::default(),
    ));
    Ok(fp.get())
}

fn spend_align(data: &[u8]) -> Outcome {
    enter("reading spend");
    let rows = read::<Spend>(data, &skip(&Options::new())).records;
    let mut fp = Fp::default();
    fp.count(rows.len());
    let Some(first) = rows.first() else {
        return Ok(fp.get());
    };
    let currency = first.amount.currency();
    let total = rows
        .iter()
        .filter(|r| r.amount.currency() == currency)
        .try_fold(Decimal::ZERO, |s, r| s.checked_add(r.amount.amount()));
    for granularity in [Granularity::Month, Granularity::Quarter] {
        let how = SpendAlignment {
            granularity,
            ..SpendAlignment::monthly(currency)
        };
        enter(match granularity {
            Granularity::Month => "align_spend (months)",
            _ => "align_spend (quarters)",
        });
        let out = align_spend(&rows, &how);
        fp.result(&out);
        if let (Ok(out), Some(total)) = (&out, total) {
            let sum = out
                .iter()
                .try_fold(Decimal::ZERO, |s, p| s.checked_add(p.amount.amount()));
            if sum != Some(total) {
                return Err(format!(
                    "align_spend ({granularity:?}) parts sum to {sum:?}, the rows to {total}"
                ));
            }
        }
    }
    Ok(fp.get())
}
