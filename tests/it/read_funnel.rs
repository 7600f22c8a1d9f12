//! The lean funnel readers (`FunnelData::read_leads_csv`,
//! `FunnelEvents::read_stage_events_csv`) against the general path (`Reader` records,
//! then `FunnelData::new` and `FunnelEvents::add_batch`): the same reports, errors
//! (message, line, column), read reports and fingerprint, on random and hostile files.

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use revops::csv::{OnError, Options, ReadReport, Reader};
use revops::funnel::{
    CohortSpec, Dimension, FlowSpec, FunnelData, FunnelEvents, PathOptions, VelocitySpec,
    cohort_report, flow_report, velocity_report,
};
use revops::{Funnel, Granularity, Lead, StageEvent};

// ---- generators ---------------------------------------------------------------------

const TIMES: &[&str] = &[
    "2026-01-05T09:00:00Z",
    "2026-01-05T09:00:00.123Z",
    "2026-02-11T23:59:59.123456789Z",
    "2026-02-11",
    "2026-03-01 08:30:00",
    "2026-03-02T10:00:00+02:00",
    " 2026-03-03T10:00:00Z",
    "2026-02-30T10:00:00Z",
    "not a time",
    "",
    "1969-12-31T23:59:59.999Z",
];

/// A value for an optional text or id column: plain, empty, padded, quoted, blank,
/// with a comma or a line break in quotes, not UTF-8 is left to the byte tests.
const VALUES: &[&str] = &[
    "search",
    "email",
    "",
    " search",
    "\"email\"",
    "\"a,b\"",
    "\"multi\nline\"",
    " ",
    "é-ß",
    "x\"y",
];

fn pick(pool: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    (0..pool.len()).prop_map(move |i| pool[i])
}

/// A lead row: an id (mostly unique, sometimes repeated, padded or quoted), a time,
/// the optional columns and two attributes.
fn lead_row(i: usize) -> impl Strategy<Value = String> {
    (
        0..30u8,
        pick(TIMES),
        proptest::collection::vec(pick(VALUES), 7),
        0..20u8,
    )
        .prop_map(move |(id, at, v, shape)| {
            let id = match id {
                0 => "L0".to_string(),
                1 => format!(" L{i}"),
                2 => format!("\"L{i}\""),
                3 => String::new(),
                _ => format!("L{i}"),
            };
            let at = if shape < 16 { TIMES[0] } else { at };
            match shape {
                0 => format!("{id},{at}"), // wrong number of fields
                1 => format!("{id},{at},{},{}", v[0], v[1]),
                _ => format!("{id},{at},{}", v.join(",")),
            }
        })
}

/// Lines joined with `\n` or `\r\n`, with blank lines now and then, and maybe no
/// final line break.
fn file(header: &'static str, rows: Vec<(String, bool, u8)>, crlf: bool, last: bool) -> String {
    let end = if crlf { "\r\n" } else { "\n" };
    let mut s = format!("{header}{end}");
    for (row, own_crlf, blank) in rows {
        s += &row;
        s += if own_crlf { "\r\n" } else { end };
        if blank == 0 {
            s += end;
        }
    }
    if !last {
        while s.ends_with('\n') || s.ends_with('\r') {
            s.pop();
        }
    }
    s
}

fn leads_file() -> impl Strategy<Value = String> {
    (1..14usize)
        .prop_flat_map(|n| {
            let rows: Vec<_> = (0..n)
                .map(|i| (lead_row(i), any::<bool>(), 0..8u8))
                .collect();
            (rows, any::<bool>(), any::<bool>())
        })
        .prop_map(|(rows, crlf, last)| {
            file(
                "subject_id,created_at,source,campaign,account,owner,segment,industry,region",
                rows,
                crlf,
                last,
            )
        })
}

const SUBJECTS: &[&str] = &["L0", "L1", "L2", "L3", " L1", "\"L2\"", "L99", ""];
const STAGES: &[&str] = &[
    "inquiry", "mql", "sal", "sql", "won", "lost", "MQL", " sal", "\"sql\"", "bogus", "",
];
const CYCLES: &[&str] = &["", "1", "2", " ", "x"];
const REASONS: &[&str] = &[
    "",
    "no budget",
    " padded ",
    "\"a, b\"",
    "\"line\nbreak\"",
    " ",
];

fn event_row() -> impl Strategy<Value = String> {
    (
        pick(SUBJECTS),
        pick(STAGES),
        pick(TIMES),
        pick(CYCLES),
        pick(REASONS),
        0..24u8,
    )
        .prop_map(|(s, st, at, c, r, shape)| {
            let (st, at) = if shape < 10 {
                (STAGES[shape as usize % 5], TIMES[shape as usize % 3])
            } else {
                (st, at)
            };
            match shape {
                10 => format!("{s},{st}"),
                11 => format!("{s},{st},{at},{c},{r},extra"),
                _ => format!("{s},{st},{at},{c},{r}"),
            }
        })
}

fn events_file() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec((event_row(), any::<bool>(), 0..8u8), 0..24),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(rows, crlf, last)| file("subject_id,stage,at,cycle,reason", rows, crlf, last))
}

// ---- the two paths ------------------------------------------------------------------

fn options(skip: bool) -> Options {
    let o = Options::new().with_kept_errors(3);
    if skip {
        o.with_on_error(OnError::SkipAndReport)
    } else {
        o
    }
}

fn records<T: revops::csv::CsvRecord>(
    text: &str,
    o: &Options,
) -> revops::Result<(Vec<T>, ReadReport)> {
    let mut r = Reader::<T, _>::new(text.as_bytes(), o.clone())?;
    let mut out = Vec::new();
    for x in r.by_ref() {
        out.push(x?);
    }
    Ok((out, r.report().clone()))
}

/// Everything the reports say, as text.
fn reports(data: &FunnelData<'_>, acc: &FunnelEvents) -> String {
    let as_of = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
    let paths = acc.paths(data, PathOptions::default().with_as_of(as_of));
    let mut out = String::new();
    for dim in [
        None,
        Some(Dimension::Source),
        Some(Dimension::Owner),
        Some(Dimension::Attribute("industry".into())),
    ] {
        let mut cohort = CohortSpec::default().with_granularity(Granularity::Month);
        let mut flow = FlowSpec::default().with_granularity(Granularity::Week);
        let mut velocity = VelocitySpec::default();
        if let Some(d) = dim {
            cohort = cohort.with_breakdown(d.clone());
            flow = flow.with_breakdown(d.clone());
            velocity = velocity.with_breakdown(d);
        }
        let c = cohort_report(data, &paths, &cohort).map(|r| serde_json::to_string(&r).unwrap());
        let f = flow_report(data, &paths, &flow).map(|r| serde_json::to_string(&r).unwrap());
        let v =
            velocity_report(data, &paths, &velocity).map(|r| serde_json::to_string(&r).unwrap());
        out += &format!("{c:?}\n{f:?}\n{v:?}\n");
    }
    out
}

/// What a path saw: the leads' error or report, then the events' error or report,
/// then the reports.
#[derive(Debug, PartialEq)]
struct Outcome {
    leads: Result<ReadReport, String>,
    fingerprint: Option<u64>,
    events: Option<Result<ReadReport, String>>,
    interned: Option<FunnelEvents>,
    reports: Option<String>,
}

fn general(leads: &str, events: &str, o: &Options) -> Outcome {
    let funnel = Funnel::demand_waterfall();
    let mut out = Outcome {
        leads: Err(String::new()),
        fingerprint: None,
        events: None,
        interned: None,
        reports: None,
    };
    let (leads, report) = match records::<Lead>(leads, o) {
        Ok(x) => x,
        Err(e) => {
            out.leads = Err(e.to_string());
            return out;
        }
    };
    let data = match FunnelData::new(funnel, &leads) {
        Ok(d) => d,
        Err(e) => {
            out.leads = Err(e.to_string());
            return out;
        }
    };
    out.leads = Ok(report);
    out.fingerprint = Some(data.fingerprint());
    let mut acc = FunnelEvents::new();
    let read = records::<StageEvent>(events, o)
        .and_then(|(events, report)| acc.add_batch(&data, &events).map(|()| report));
    out.events = Some(read.map_err(|e| e.to_string()));
    if matches!(out.events, Some(Ok(_))) {
        out.reports = Some(reports(&data, &acc));
        out.interned = Some(acc);
    }
    out
}

fn lean(leads: &str, events: &str, o: &Options) -> Outcome {
    let mut out = Outcome {
        leads: Err(String::new()),
        fingerprint: None,
        events: None,
        interned: None,
        reports: None,
    };
    let (data, report) =
        match FunnelData::read_leads_csv(Funnel::demand_waterfall(), leads.as_bytes(), o.clone()) {
            Ok(x) => x,
            Err(e) => {
                out.leads = Err(e.to_string());
                return out;
            }
        };
    out.leads = Ok(report);
    out.fingerprint = Some(data.fingerprint());
    let mut acc = FunnelEvents::new();
    let read = acc.read_stage_events_csv(&data, events.as_bytes(), o.clone());
    out.events = Some(read.map(|r| r.report).map_err(|e| e.to_string()));
    if matches!(out.events, Some(Ok(_))) {
        out.reports = Some(reports(&data, &acc));
        out.interned = Some(acc);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// The lean readers give what the general readers and `FunnelData::new` /
    /// `add_batch` give: errors, read reports, fingerprint, interned events and every
    /// report (with breakdowns), under both error policies.
    #[test]
    fn lean_readers_equal_the_general_path(
        leads in leads_file(),
        events in events_file(),
        skip in any::<bool>(),
    ) {
        let o = options(skip);
        let want = general(&leads, &events, &o);
        let got = lean(&leads, &events, &o);
        prop_assert_eq!(got, want, "leads {:?}\nevents {:?}", leads, events);
    }
}

/// Plain files (the synthetic company's form) take the fast path and still match,
/// with the latest event time of all records, unknown subjects included.
#[test]
fn a_plain_company_reads_the_same_and_knows_its_latest_event() {
    let leads = "subject_id,created_at,source,campaign,account,owner,segment,industry\n\
                 L1,2026-01-05T09:00:00Z,search,s1,A1,rep,smb,retail\n\
                 L2,2026-01-06T09:00:00Z,,,,,,\n\
                 L3,2026-02-01T00:00:00.5Z,email,,A1,rep,mid,tech\n";
    let events = "subject_id,stage,at,cycle,reason\n\
                  L1,inquiry,2026-01-05T09:00:00Z,1,\n\
                  L1,mql,2026-01-07T09:00:00Z,1,\n\
                  L9,mql,2026-03-07T09:00:00.000000001Z,1,\n\
                  L2,inquiry,2026-01-06T09:00:00Z,1,\n\
                  L2,lost,2026-01-09T09:00:00Z,1,no budget\n\
                  L3,inquiry,2026-02-01T00:00:00.5Z,,\n";
    for skip in [false, true] {
        let o = options(skip);
        assert_eq!(lean(leads, events, &o), general(leads, events, &o));
    }
    let (data, _) =
        FunnelData::read_leads_csv(Funnel::demand_waterfall(), leads.as_bytes(), Options::new())
            .unwrap();
    let mut acc = FunnelEvents::new();
    let read = acc
        .read_stage_events_csv(&data, events.as_bytes(), Options::new())
        .unwrap();
    assert_eq!(
        read.latest.map(|t| t.to_rfc3339()).as_deref(),
        Some("2026-03-07T09:00:00.000000001+00:00")
    );
    assert_eq!(data.lead_id(2), Some("L3"));
    assert_eq!(data.value(0, &Dimension::Account), Some("A1"));
    assert_eq!(data.attribute_names(), ["industry"]);
}

/// A duplicate id is the error `FunnelData::new` gives (both positions), whatever the
/// error policy; a bad row before it under `Stop` comes first, as when reading the
/// records first.
#[test]
fn duplicate_ids_and_unknown_stages_are_the_general_errors() {
    let leads = "subject_id,created_at,source\nL1,2026-01-05,a\nL2,2026-01-05,b\nL1,2026-01-06,c\n";
    let events = "subject_id,stage,at\nL1,mql,2026-01-07\n";
    for skip in [false, true] {
        let o = options(skip);
        let got = lean(leads, events, &o);
        assert_eq!(got, general(leads, events, &o));
        assert!(got.leads.unwrap_err().contains("duplicate"));
    }
    let leads = "subject_id,created_at,source\nL1,2026-01-05,a\n";
    let events = "subject_id,stage,at\nL1,bogus,2026-01-07\nL1,mql,nope\n";
    let stop = lean(leads, events, &options(false));
    assert_eq!(stop, general(leads, events, &options(false)));
    assert!(stop.events.unwrap().unwrap_err().contains("line 3"));
    let skip = lean(leads, events, &options(true));
    assert_eq!(skip, general(leads, events, &options(true)));
    assert!(skip.events.unwrap().unwrap_err().contains("bogus"));
}
