//! CSV readers and writers: round-trips of random records through tricky text, the
//! real ChannelAttribution file, bad input that must never panic, and named errors.

use revops::error::ErrorKind;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Debug;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use revops::csv::{CsvRecord, OnError, Options, ReadReport, Reader, Writer, write_records};
use revops::{
    AccountId, CampaignId, Channel, Conversion, Currency, DateRange, Decimal, Error,
    ForecastCategory, ForecastPoint, Lead, LeadId, Money, OpportunityChange, OpportunityId,
    PathRow, Spend, StageEvent, SubjectId, Touch,
};

// ---- generators ---------------------------------------------------------------------

/// Text with the characters that need quoting (delimiters, quotes, line breaks) and
/// non-ASCII letters.
const TRICKY: &str = "[a-zA-Z0-9 ,;\t\"'\r\n>_.:éß漢字🙂-]{1,16}";

/// A trimmed, non-empty string without line breaks (ids and keys are trimmed by
/// readers, and only free text may span lines).
fn key() -> impl Strategy<Value = String> {
    TRICKY.prop_filter_map("blank", |s| {
        let t = s.trim();
        (!t.is_empty() && !t.contains(['\r', '\n'])).then(|| t.to_string())
    })
}

/// Free text, kept as written; blank text reads back as absent, so it is never blank.
fn text() -> impl Strategy<Value = String> {
    TRICKY.prop_filter("blank", |s| !s.trim().is_empty())
}

fn id<T: for<'a> TryFrom<&'a str, Error = Error> + Debug>() -> impl Strategy<Value = T> {
    key().prop_map(|s| T::try_from(s.as_str()).unwrap())
}

/// A channel that can sit in a `>`-separated path.
fn path_channel() -> impl Strategy<Value = Channel> {
    key().prop_filter_map("separator", |s| {
        (!s.contains('>')).then(|| Channel::new(s).unwrap())
    })
}

fn time() -> impl Strategy<Value = DateTime<Utc>> {
    prop_oneof![
        (0i64..4_102_444_800).prop_map(|s| Utc.timestamp_opt(s, 0).unwrap()),
        (0i64..4_102_444_800, 0u32..1_000_000_000)
            .prop_map(|(s, ns)| Utc.timestamp_opt(s, ns).unwrap()),
    ]
}

fn date() -> impl Strategy<Value = NaiveDate> {
    (0u64..3_600_000).prop_map(|d| NaiveDate::from_ymd_opt(1, 1, 1).unwrap() + chrono::Days::new(d))
}

fn currency() -> impl Strategy<Value = Currency> {
    prop_oneof![
        Just(Currency::USD),
        Just(Currency::EUR),
        Just(Currency::JPY),
        Just(Currency::from_code("BHD").unwrap()),
        Just("PTS:3".parse().unwrap()),
    ]
}

fn amount() -> impl Strategy<Value = Decimal> {
    (0i64..i64::MAX, 0u32..12).prop_map(|(m, scale)| Decimal::new(m, scale))
}

fn money() -> impl Strategy<Value = Money> {
    (amount(), currency()).prop_map(|(a, c)| Money::new(a, c))
}

fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        -1e12f64..1e12,
        any::<f64>().prop_filter("finite", |v| v.is_finite()),
        (0i32..1000).prop_map(f64::from),
    ]
}

fn count() -> impl Strategy<Value = f64> {
    prop_oneof![(0u32..100_000).prop_map(f64::from), 0f64..1e9]
}

fn stage_event() -> impl Strategy<Value = StageEvent> {
    (
        id::<SubjectId>(),
        key(),
        time(),
        proptest::option::of(any::<u32>()),
        proptest::option::of(text()),
    )
        .prop_map(|(subject, stage, at, cycle, reason)| StageEvent {
            subject,
            stage,
            at,
            cycle,
            reason,
        })
}

fn touch() -> impl Strategy<Value = Touch> {
    (
        id::<SubjectId>(),
        id::<Channel>(),
        proptest::option::of(id::<CampaignId>()),
        time(),
        proptest::option::of(money()),
    )
        .prop_map(|(subject, channel, campaign, at, cost)| Touch {
            subject,
            channel,
            campaign,
            at,
            cost,
        })
}

fn conversion() -> impl Strategy<Value = Conversion> {
    (id::<SubjectId>(), time(), proptest::option::of(money()))
        .prop_map(|(subject, at, value)| Conversion::new(subject, at, value))
}

fn spend() -> impl Strategy<Value = Spend> {
    (
        id::<Channel>(),
        proptest::option::of(id::<CampaignId>()),
        date(),
        0u64..400,
        money(),
    )
        .prop_map(|(channel, campaign, start, days, amount)| {
            let end = start + chrono::Days::new(days);
            let mut s = Spend::new(channel, DateRange::new(start, end).unwrap(), amount);
            s.campaign = campaign;
            s
        })
}

fn opportunity_change() -> impl Strategy<Value = OpportunityChange> {
    (
        id::<OpportunityId>(),
        time(),
        key(),
        money(),
        proptest::option::of(date()),
        proptest::option::of(prop_oneof![0f64..=1.0, Just(0.0), Just(1.0)]),
        proptest::option::of(proptest::sample::select(ForecastCategory::ALL.to_vec())),
        proptest::option::of(id::<LeadId>()),
    )
        .prop_map(
            |(opportunity, changed_at, stage, amount, close_date, probability, category, lead)| {
                OpportunityChange {
                    opportunity,
                    changed_at,
                    stage,
                    amount,
                    close_date,
                    probability,
                    forecast_category: category,
                    lead,
                }
            },
        )
}

fn path_row() -> impl Strategy<Value = PathRow> {
    (
        proptest::collection::vec(path_channel(), 1..8),
        count(),
        amount(),
        count(),
    )
        .prop_map(|(path, conversions, value, nulls)| PathRow::new(path, conversions, value, nulls))
}

fn forecast_point() -> impl Strategy<Value = ForecastPoint> {
    (key(), key(), finite(), proptest::option::of(finite())).prop_map(
        |(series, period, forecast, actual)| ForecastPoint::new(series, period, forecast, actual),
    )
}

/// Attribute names: no surrounding whitespace, no clash with the fixed columns, and
/// lower case (header names match case-insensitively).
fn attribute_name() -> impl Strategy<Value = String> {
    "[a-z,\"é漢][a-z0-9 ,;\"_é漢]{0,6}[a-z0-9]".prop_filter("fixed column", |n| {
        !<Lead as CsvRecord>::COLUMNS.contains(&n.as_str())
    })
}

fn lead() -> impl Strategy<Value = Lead> {
    (
        id::<LeadId>(),
        time(),
        proptest::option::of(id::<Channel>()),
        proptest::option::of(id::<CampaignId>()),
        proptest::option::of(id::<AccountId>()),
        proptest::option::of(text()),
        proptest::option::of(text()),
        proptest::collection::btree_map(attribute_name(), text(), 0..4),
    )
        .prop_map(
            |(id, created_at, source, campaign, account, owner, segment, attributes)| Lead {
                id,
                created_at,
                source,
                campaign,
                account,
                owner,
                segment,
                attributes,
            },
        )
}

fn delimiter() -> impl Strategy<Value = u8> {
    proptest::sample::select(vec![b',', b';', b'\t', b'|'])
}

// ---- round trips --------------------------------------------------------------------

fn round_trip<T: CsvRecord + PartialEq + Debug>(
    records: &[T],
    options: Options,
) -> Result<(), TestCaseError> {
    let bytes = write_records(Vec::new(), records, options.clone()).unwrap();
    let back: Result<Vec<T>, Error> = Reader::<T, _>::new(&bytes[..], options).unwrap().collect();
    let text = String::from_utf8_lossy(&bytes);
    prop_assert_eq!(back.as_deref(), Ok(records), "file:\n{}", text);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn stage_events_round_trip(r in proptest::collection::vec(stage_event(), 0..12), d in delimiter()) {
        round_trip(&r, Options::new().with_delimiter(d))?;
    }

    #[test]
    fn touches_round_trip(r in proptest::collection::vec(touch(), 0..12), d in delimiter()) {
        round_trip(&r, Options::new().with_delimiter(d))?;
    }

    #[test]
    fn conversions_round_trip(r in proptest::collection::vec(conversion(), 0..12), d in delimiter()) {
        round_trip(&r, Options::new().with_delimiter(d))?;
    }

    #[test]
    fn spend_round_trips(r in proptest::collection::vec(spend(), 0..12), d in delimiter()) {
        round_trip(&r, Options::new().with_delimiter(d))?;
    }

    #[test]
    fn opportunity_history_round_trips(
        r in proptest::collection::vec(opportunity_change(), 0..12),
        d in delimiter(),
    ) {
        round_trip(&r, Options::new().with_delimiter(d))?;
    }

    #[test]
    fn paths_round_trip(
        r in proptest::collection::vec(path_row(), 0..12),
        d in delimiter(),
        sep in proptest::sample::select(vec![">", " > ", ">>"]),
    ) {
        round_trip(&r, Options::new().with_delimiter(d).with_path_separator(sep))?;
    }

    #[test]
    fn forecasts_round_trip(r in proptest::collection::vec(forecast_point(), 0..12), d in delimiter()) {
        round_trip(&r, Options::new().with_delimiter(d))?;
    }

    #[test]
    fn leads_round_trip(r in proptest::collection::vec(lead(), 0..12), d in delimiter()) {
        round_trip(&r, Options::new().with_delimiter(d))?;
    }

    /// The streaming writer, with CRLF line ends added afterwards, reads back the same.
    #[test]
    fn streamed_touches_read_back_with_crlf(r in proptest::collection::vec(touch(), 0..12)) {
        let mut w = Writer::<Touch, _>::new(Vec::new(), Options::new()).unwrap();
        for t in &r {
            w.write(t).unwrap();
        }
        let lf = w.finish().unwrap();
        // Only the record terminators: line breaks inside quoted fields stay as they are.
        let crlf = crlf_terminators(&lf);
        let back: Vec<Touch> = Reader::new(&crlf[..], Options::new()).unwrap().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(back, r);
    }
}

/// Turns each record-ending `\n` into `\r\n` (outside quotes).
fn crlf_terminators(lf: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(lf.len() * 11 / 10);
    let mut quoted = false;
    for &b in lf {
        if b == b'"' {
            quoted = !quoted;
        }
        if b == b'\n' && !quoted {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

// ---- the real ChannelAttribution file ------------------------------------------------

#[test]
#[allow(clippy::print_stderr)]
fn channelattribution_data_reads_as_it_is() {
    let Some(path) = crate::fixtures::shared("attribution/channelattribution_Data.csv") else {
        return;
    };
    let options = Options::new().with_delimiter(b';');
    let mut reader = Reader::<PathRow, _>::from_path(&path, options).unwrap();
    assert_eq!(reader.source_name(), "channelattribution_Data.csv");
    let rows: Vec<PathRow> = reader.by_ref().collect::<Result<_, _>>().unwrap();
    assert_eq!(rows.len(), 10_000);
    assert_eq!(reader.report().rows, 10_000);

    let channels: HashSet<&str> = rows
        .iter()
        .flat_map(|r| r.path.iter().map(Channel::as_str))
        .collect();
    assert_eq!(channels.len(), 12);
    assert!(channels.contains("alpha") && channels.contains("iota"));
    let lengths = rows.iter().map(|r| r.path.len());
    assert_eq!(lengths.clone().min(), Some(1));
    assert_eq!(lengths.max(), Some(89));
    assert_eq!(rows.iter().map(|r| r.conversions).sum::<f64>(), 19_785.0);
    assert_eq!(rows.iter().map(|r| r.nulls).sum::<f64>(), 68_602.0);
    let value: Decimal = rows.iter().map(|r| r.value).sum();
    assert_eq!(value, "74802.97158721083751036".parse().unwrap());
    assert_eq!(rows[0].path_string(" > "), "eta > iota > alpha > eta");

    // What we write with the same options reads back the same.
    let options = Options::new()
        .with_delimiter(b';')
        .with_path_separator(" > ");
    let bytes = write_records(Vec::new(), &rows, options.clone()).unwrap();
    let back: Vec<PathRow> = Reader::new(&bytes[..], options)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(back, rows);
}

// ---- bad input never panics ------------------------------------------------------------

/// Reads `data` as schema `T` under both policies and checks the bookkeeping: the
/// reader sees as many data rows as the csv parser does, and under SkipAndReport every
/// one of them is either a record or a reported error.
fn read_everything<T: CsvRecord>(data: &[u8], delimiter: u8) -> Result<(), TestCaseError> {
    let options = Options::new().with_delimiter(delimiter);
    let Ok(mut reader) =
        Reader::<T, _>::new(data, options.clone().with_on_error(OnError::SkipAndReport))
    else {
        return Ok(());
    };
    let (mut ok, mut err) = (0u64, 0u64);
    for item in reader.by_ref() {
        match item {
            Ok(_) => ok += 1,
            Err(_) => err += 1,
        }
    }
    prop_assert_eq!(err, 0, "SkipAndReport yields no errors from a byte slice");
    let report = reader.report();
    prop_assert_eq!(report.records, ok);
    prop_assert_eq!(report.records + report.skipped_rows, report.rows);
    prop_assert_eq!(report.skipped.len() as u64, report.skipped_rows);
    // Every row ends with a line break (`\n`, `\r\n` or `\r`), so each starts on a
    // later line than the one before, the header's included.
    let mut previous = 1;
    for e in &report.skipped {
        let line = match e.kind() {
            ErrorKind::Csv { line, .. } => *line,
            other => return Err(TestCaseError::fail(format!("not a row error: {other:?}"))),
        };
        prop_assert!(line > previous, "{:?}", e);
        previous = line;
    }
    // What a reader skips is never more than the file's lines.
    let lines = data.iter().filter(|&&b| b == b'\n' || b == b'\r').count() as u64 + 1;
    prop_assert!(previous <= lines);

    // Stop: at most one error, and it is the last item.
    let mut stop = Reader::<T, _>::new(data, options).unwrap();
    let items: Vec<_> = stop.by_ref().collect();
    let errors = items.iter().filter(|i| i.is_err()).count();
    prop_assert!(errors <= 1);
    if errors == 1 {
        prop_assert!(items.last().is_some_and(Result::is_err));
    }
    Ok(())
}

fn read_as_every_schema(data: &[u8], delimiter: u8) -> Result<(), TestCaseError> {
    read_everything::<StageEvent>(data, delimiter)?;
    read_everything::<Touch>(data, delimiter)?;
    read_everything::<Conversion>(data, delimiter)?;
    read_everything::<Spend>(data, delimiter)?;
    read_everything::<OpportunityChange>(data, delimiter)?;
    read_everything::<PathRow>(data, delimiter)?;
    read_everything::<ForecastPoint>(data, delimiter)?;
    read_everything::<Lead>(data, delimiter)
}

const VALID_TOUCHES: &str = "subject_id,channel,campaign,at,cost,currency,note
L1,paid_search,spring,2026-03-01T12:00:00Z,1.25,USD,
L1,webinar,,2026-03-02,,,
L2,email,\"news, letter\",2026-03-02 10:00:00,0,EUR,
\"L,3\",\"multi\",,2026-03-04T10:11:12.5+02:00,,,\"two
lines\"
";

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    Bom,
    Crlf,
    HeaderOnly,
    DuplicateHeader,
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Replace(usize, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let n = VALID_TOUCHES.len();
    prop_oneof![
        (0..n).prop_map(Mutation::Truncate),
        Just(Mutation::Bom),
        Just(Mutation::Crlf),
        Just(Mutation::HeaderOnly),
        Just(Mutation::DuplicateHeader),
        (
            0..n,
            prop_oneof![
                Just(b"\"a,b\nc\"".to_vec()),
                Just(b"\"".to_vec()),
                Just(b",,,".to_vec()),
                Just(b"\n\n".to_vec()),
                Just(b"\r".to_vec()),
                Just("\u{feff}".as_bytes().to_vec()),
                proptest::collection::vec(any::<u8>(), 1..8),
            ]
        )
            .prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        (0..n, 1usize..20).prop_map(|(at, len)| Mutation::Delete(at, len)),
        (0..n, any::<u8>()).prop_map(|(at, b)| Mutation::Replace(at, b)),
    ]
}

fn mutate(data: &mut Vec<u8>, m: &Mutation) {
    match m {
        Mutation::Truncate(at) => data.truncate(*at),
        Mutation::Bom => data.splice(0..0, "\u{feff}".bytes()).for_each(drop),
        Mutation::Crlf => *data = crlf_terminators(data),
        Mutation::HeaderOnly => {
            let end = data
                .iter()
                .position(|&b| b == b'\n')
                .map_or(data.len(), |i| i + 1);
            data.truncate(end);
        }
        Mutation::DuplicateHeader => {
            let end = data
                .iter()
                .position(|&b| b == b'\n' || b == b'\r')
                .unwrap_or(data.len());
            let header = data[..end].to_vec();
            data.splice(end..end, [&[b','][..], &header].concat())
                .for_each(drop);
        }
        Mutation::Insert(at, bytes) => {
            let at = (*at).min(data.len());
            data.splice(at..at, bytes.iter().copied()).for_each(drop);
        }
        Mutation::Delete(at, len) => {
            let at = (*at).min(data.len());
            let end = (at + len).min(data.len());
            data.drain(at..end);
        }
        Mutation::Replace(at, b) => {
            if let Some(slot) = data.get_mut(*at) {
                *slot = *b;
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(
        data in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..400),
            // Bytes that look like CSV, so rows get past the header.
            proptest::collection::vec(
                proptest::sample::select(b"subject_id,stage,at;channel\r\n\"2026-03-04T10:11:12Z mql 1.5 USD > \xef\xbb\xbf".to_vec()),
                0..400,
            ),
        ],
        d in proptest::sample::select(vec![b',', b';']),
    ) {
        read_as_every_schema(&data, d)?;
    }

    #[test]
    fn mutated_files_never_panic(ms in proptest::collection::vec(mutation(), 1..4)) {
        let mut data = VALID_TOUCHES.as_bytes().to_vec();
        for m in &ms {
            mutate(&mut data, m);
        }
        read_as_every_schema(&data, b',')?;
    }
}

#[test]
fn the_valid_touches_read() {
    let touches: Vec<Touch> = Reader::new(VALID_TOUCHES.as_bytes(), Options::new())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(touches.len(), 4);
    assert_eq!(
        touches[0].cost,
        Some(Money::parse("1.25", Currency::USD).unwrap())
    );
    assert_eq!(
        touches[2].campaign.as_ref().map(CampaignId::as_str),
        Some("news, letter")
    );
    assert_eq!(touches[3].subject.as_str(), "L,3");
    assert_eq!(touches[3].channel.as_str(), "multi");
    assert_eq!(
        touches[3].at,
        Utc.with_ymd_and_hms(2026, 3, 4, 8, 11, 12).unwrap() + chrono::TimeDelta::milliseconds(500)
    );
}

#[test]
fn a_megabyte_field_is_read_and_reported_briefly() {
    let big = "x".repeat(1 << 20);
    let data = format!(
        "subject_id,stage,at,reason\nL1,mql,{big},\nL2,mql,2026-01-01,\"{}\"\nL3,sql,bad,\n",
        "line\n".repeat(1000)
    );
    let options = Options::new().with_on_error(OnError::SkipAndReport);
    let mut r = Reader::<StageEvent, _>::new(data.as_bytes(), options).unwrap();
    let ok: Vec<StageEvent> = r.by_ref().collect::<Result<_, _>>().unwrap();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].reason.as_ref().map(String::len), Some(5 * 1000));
    let lines: Vec<u64> = r
        .report()
        .skipped
        .iter()
        .map(|e| match e.kind() {
            ErrorKind::Csv { line, .. } => *line,
            _ => 0,
        })
        .collect();
    assert_eq!(lines, [2, 1004]);
    assert!(r.report().skipped[0].to_string().len() < 300);
}

// ---- named errors ---------------------------------------------------------------------

fn first_error<T: CsvRecord + Debug>(data: &str) -> Error {
    match Reader::<T, _>::new(data.as_bytes(), Options::new()) {
        Err(e) => e,
        Ok(mut r) => r.find_map(Result::err).expect("an error"),
    }
}

fn csv_error(line: u64, column: Option<&str>, reason: &str) -> Error {
    Error::from(ErrorKind::Csv {
        source_name: String::new(),
        line,
        column: column.map(str::to_string),
        reason: reason.to_string(),
    })
}

/// The error without its source name, for comparison.
fn located(e: Error) -> Error {
    match e.into_kind() {
        ErrorKind::Csv {
            line,
            column,
            reason,
            ..
        } => csv_error(line, column.as_deref(), &reason),
        other => Error::from(other),
    }
}

#[test]
fn errors_name_the_line_column_and_problem() {
    let e =
        first_error::<StageEvent>("subject_id,stage,at\nL1,mql,2026-03-04\nL1,sql,2026-13-01\n");
    assert!(
        matches!(&e.kind(), ErrorKind::Csv { line: 3, column: Some(c), source_name, .. } if c == "at" && source_name == "stage_events.csv")
    );
    assert!(
        e.to_string()
            .starts_with("stage_events.csv line 3, column `at`: `2026-13-01` is not a timestamp")
    );

    assert_eq!(
        located(first_error::<Spend>(
            "channel,campaign,period_start,amount,currency\n"
        )),
        csv_error(
            1,
            Some("period_end"),
            "missing required column `period_end`"
        )
    );
    assert_eq!(
        located(first_error::<Conversion>(
            "subject_id,at,value,currency\nL1,2026-01-01,5\n"
        )),
        csv_error(
            2,
            None,
            "wrong number of fields: the header has 4, this row has 3"
        )
    );
    assert_eq!(
        located(first_error::<Conversion>(
            "subject_id,at,value,currency\nL1,2026-01-01,5,ZZZ\n"
        )),
        csv_error(
            2,
            Some("currency"),
            "unknown currency code `ZZZ`: give its number of minor units explicitly (e.g. `ZZZ:2`)"
        )
    );
    assert_eq!(
        located(first_error::<Spend>(
            "channel,campaign,period_start,period_end,amount,currency\ntv,,2026-01-01,2026-01-31,-100,USD\n"
        )),
        csv_error(2, Some("amount"), "must not be negative, got -100.00 USD")
    );
    assert_eq!(
        located(first_error::<Spend>(
            "channel,campaign,period_start,period_end,amount,currency\ntv,,2026-02-01,2026-01-31,100,USD\n"
        )),
        csv_error(
            2,
            Some("period_end"),
            "the period ends (2026-01-31) before it starts (2026-02-01)"
        )
    );
    let header = "opportunity_id,changed_at,stage,amount,currency,close_date,probability,forecast_category\n";
    assert_eq!(
        located(first_error::<OpportunityChange>(&format!(
            "{header}006-1,2026-05-04T10:00:00Z,proposal,48000,USD,2026-06-30,0.75,best case\n006-1,2026-05-05T10:00:00Z,proposal,48000,USD,2026-06-30,75,commit\n"
        ))),
        csv_error(
            3,
            Some("probability"),
            "75 is outside [0, 1]: give probabilities as fractions (0.75), not percentages (75)"
        )
    );
    assert_eq!(
        located(first_error::<OpportunityChange>(&format!(
            "{header}006-1,2026-05-04T10:00:00Z,proposal,48000,USD,,-0.5,\n"
        ))),
        csv_error(
            2,
            Some("probability"),
            "a probability must be a finite number in [0, 1], got -0.5"
        )
    );
    assert_eq!(
        located(first_error::<OpportunityChange>(&format!(
            "{header}006-1,2026-05-04T10:00:00Z,proposal,48k,USD,,,\n"
        ))),
        csv_error(
            2,
            Some("amount"),
            "`48k` is not a decimal number (expected digits with an optional sign and `.`, such as 1250.10)"
        )
    );
    assert_eq!(
        located(first_error::<Touch>(
            "subject_id,channel,campaign,at\n  ,email,,2026-01-01\n"
        )),
        csv_error(2, Some("subject_id"), "empty id")
    );
    assert_eq!(
        located(first_error::<Touch>(
            "subject_id,channel,campaign,at,cost,currency\nL1,email,,2026-01-01,-1,EUR\n"
        )),
        csv_error(2, Some("cost"), "must not be negative, got -1.00 EUR")
    );
    assert_eq!(
        located(first_error::<PathRow>(
            "path,total_conversions,total_conversion_value,total_null\na > > b,1,0,0\n"
        )),
        csv_error(2, Some("path"), "empty channel in `a > > b`")
    );
    assert_eq!(
        located(first_error::<PathRow>(
            "path,total_conversions,total_conversion_value,total_null\na,-1,0,0\n"
        )),
        csv_error(
            2,
            Some("total_conversions"),
            "must be a finite count ≥ 0, got -1"
        )
    );
    assert_eq!(
        located(first_error::<ForecastPoint>(
            "series,period,forecast,actual\nbookings,2026-Q1,NaN,\n"
        )),
        csv_error(2, Some("forecast"), "must be finite, got NaN")
    );
    assert_eq!(
        located(first_error::<StageEvent>(
            "subject_id,stage,at,cycle\nL1,mql,2026-01-01,-1\n"
        )),
        csv_error(
            2,
            Some("cycle"),
            "`-1` is not a whole number (expected 0 to 4294967295)"
        )
    );
    let mut r = Reader::<StageEvent, _>::new(
        &b"subject_id,stage,at\nL1,m\xffql,2026-01-01\n"[..],
        Options::new(),
    )
    .unwrap();
    assert_eq!(
        located(r.next().unwrap().unwrap_err()),
        csv_error(2, Some("stage"), "not valid UTF-8")
    );
}

#[test]
fn columns_by_name_in_any_order_with_optional_fields() {
    let data = "\u{feff} Currency ;VALUE;ignored;AT;Subject_Id\nEUR;;x;2026-03-04;L1\nEUR;12.50;;2026-03-05T00:00:00+01:00;L2\n";
    let conversions: Vec<Conversion> =
        Reader::new(data.as_bytes(), Options::new().with_delimiter(b';'))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
    assert_eq!(conversions[0].value, None);
    assert_eq!(
        conversions[1].value,
        Some(Money::parse("12.50", Currency::EUR).unwrap())
    );
    assert_eq!(
        conversions[1].at,
        Utc.with_ymd_and_hms(2026, 3, 4, 23, 0, 0).unwrap()
    );

    let data = "subject_id,created_at,source,Owner,industry,Region,score\nL1,2026-03-02,webinar,ana,software,,\nL2,2026-03-02 09:30:00,,,,emea,80\n";
    let leads: Vec<Lead> = Reader::new(data.as_bytes(), Options::new())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        leads[0].source.as_ref().map(Channel::as_str),
        Some("webinar")
    );
    assert_eq!(leads[0].owner.as_deref(), Some("ana"));
    assert_eq!(
        leads[0].attributes,
        BTreeMap::from([("industry".to_string(), "software".to_string())])
    );
    assert_eq!(leads[1].source, None);
    assert_eq!(leads[1].attributes.len(), 2);
    assert_eq!(leads[1].attributes["Region"], "emea");

    let data = "opportunity_id,changed_at,stage,amount,currency,close_date,probability,forecast_category\n006-1,2026-05-04T10:00:00Z,proposal,48000,USD,2026-06-30T22:00:00-05:00,,Best Case\n";
    let change = Reader::<OpportunityChange, _>::new(data.as_bytes(), Options::new())
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(change.close_date, NaiveDate::from_ymd_opt(2026, 7, 1));
    assert_eq!(change.probability, None);
    assert_eq!(change.forecast_category, Some(ForecastCategory::BestCase));
}

#[test]
fn writers_refuse_what_would_not_read_back() {
    let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let lead = Lead::new(LeadId::new("L1").unwrap(), at).with_attribute("industry", "software");
    let mut w = Writer::<Lead, _>::new(Vec::new(), Options::new()).unwrap();
    assert!(matches!(
        w.write(&lead).as_ref().map_err(|e| e.kind()),
        Err(ErrorKind::InvalidField {
            field: "attributes",
            ..
        })
    ));
    assert!(Writer::<Lead, _>::with_attributes(Vec::new(), ["Owner"], Options::new()).is_err());
    assert!(Writer::<Lead, _>::with_attributes(Vec::new(), ["a", "A"], Options::new()).is_err());
    assert!(Writer::<Lead, _>::with_attributes(Vec::new(), [" a"], Options::new()).is_err());
    let mut w =
        Writer::<Lead, _>::with_attributes(Vec::new(), ["industry", "region"], Options::new())
            .unwrap();
    w.write(&lead).unwrap();
    assert_eq!(
        String::from_utf8(w.finish().unwrap()).unwrap(),
        "subject_id,created_at,source,campaign,account,owner,segment,industry,region\nL1,2026-03-02T09:00:00Z,,,,,,software,\n"
    );

    let far = Utc.with_ymd_and_hms(12_026, 1, 1, 0, 0, 0).unwrap();
    let e = write_records(
        Vec::new(),
        &[StageEvent::new(SubjectId::new("L1").unwrap(), "mql", far)],
        Options::new(),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "stage event #0: field `at`: year 12026 cannot be written as YYYY-MM-DD"
    );
    let path = PathRow::new(vec![Channel::new("a>b").unwrap()], 1.0, Decimal::ZERO, 0.0);
    assert!(write_records(Vec::new(), &[path], Options::new()).is_err());
}

/// A synthetic company written file by file reads back whole through `Dataset`.
#[cfg(feature = "synth")]
#[test]
fn dataset_reads_a_folder_written_by_the_writers() {
    use revops::csv::{Dataset, Options, write_records};
    use revops::synth::{SynthConfig, generate};
    let c = generate(&SynthConfig::default().with_leads(2_000).with_seed(3)).unwrap();
    let dir = std::env::temp_dir().join(format!("revops-dataset-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let put = |name: &str, bytes: Vec<u8>| std::fs::write(dir.join(name), bytes).unwrap();
    put(
        "leads.csv",
        write_records(Vec::new(), &c.leads, Options::new()).unwrap(),
    );
    put(
        "stage_events.csv",
        write_records(Vec::new(), &c.stage_events, Options::new()).unwrap(),
    );
    put(
        "touches.csv",
        write_records(Vec::new(), &c.touches, Options::new()).unwrap(),
    );
    put(
        "spend.csv",
        write_records(Vec::new(), &c.spend, Options::new()).unwrap(),
    );
    let d = Dataset::read_dir(&dir, Options::new()).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(d.leads, c.leads);
    assert_eq!(d.stage_events, c.stage_events);
    assert_eq!(d.touches, c.touches);
    assert_eq!(d.spend, c.spend);
    assert!(d.conversions.is_empty());
    assert_eq!(
        d.missing,
        [
            "conversions.csv",
            "opportunity_history.csv",
            "forecasts.csv"
        ]
    );
    assert_eq!(d.reports.len(), 4);
    assert_eq!(d.skipped(), 0);
    assert!(Dataset::read_dir(dir.join("nope"), Options::new()).is_err());
}

// ---- journeys straight from CSV -------------------------------------------------------

/// One touch row from pieces that exercise the fast path and every way out of it:
/// padded, quoted, blank or non-ASCII fields, other time forms, bad times, costs.
fn touch_row() -> impl Strategy<Value = String> {
    let subject = prop::sample::select(vec!["S1", "S2", "S3", "S10", " S2", "é9", "", "\"S,4\""]);
    let channel = prop::sample::select(vec!["web", "email", " web ", "\"e,mail\"", "", "ch\u{a0}"]);
    let campaign = prop::sample::select(vec!["", "", "c1", " ", "c2"]);
    let at = prop::sample::select(vec![
        "2026-03-01T10:00:00Z",
        "2026-03-02T10:00:00.5Z",
        "2026-03-01T10:00:00.123456789Z",
        "2026-03-03",
        "2026-03-01 09:00:00",
        "2026-03-01T12:00:00+02:00",
        "2016-12-31T23:59:60Z",
        "2026-02-30T00:00:00Z",
        "soon",
        "",
    ]);
    let cost = prop::sample::select(vec![",,", ",,", ",1.50,USD", ",-1,USD", ",2,", ",,EUR"]);
    let extra = prop::sample::select(vec!["", "", "", ",x"]);
    (subject, channel, campaign, at, cost, extra)
        .prop_map(|(s, c, k, a, cost, extra)| format!("{s},{c},{k},{a}{cost}{extra}"))
}

/// A whole `touches.csv`: rows joined by `\n` or `\r\n`, blank lines here and there,
/// a final line break or not.
fn touches_file() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((touch_row(), any::<bool>(), 0..8u8), 0..30),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(rows, crlf, last_break)| {
            let end = if crlf { "\r\n" } else { "\n" };
            let mut s = format!("subject_id,channel,campaign,at,cost,currency{end}");
            for (row, own_crlf, blank) in rows {
                s += &row;
                s += if own_crlf { "\r\n" } else { end };
                if blank == 0 {
                    s += end;
                }
            }
            if !last_break {
                while s.ends_with('\n') || s.ends_with('\r') {
                    s.pop();
                }
            }
            s
        })
}

/// The plain way: a `Reader` whose records are added one at a time.
fn via_reader(
    touches: &str,
    conversions: &str,
    options: &Options,
) -> (
    revops::Result<ReadReport>,
    revops::attribution::JourneyBuilder,
) {
    let mut b = revops::attribution::JourneyBuilder::default();
    let mut read = |text: &str, touches: bool| -> revops::Result<ReadReport> {
        if touches {
            let mut r = Reader::<Touch, _>::new(text.as_bytes(), options.clone())?;
            for t in r.by_ref() {
                b.add_batch(&[t?], &[], &[])?;
            }
            Ok(r.report().clone())
        } else {
            let mut r = Reader::<Conversion, _>::new(text.as_bytes(), options.clone())?;
            for c in r.by_ref() {
                b.add_batch(&[], &[c?], &[])?;
            }
            Ok(r.report().clone())
        }
    };
    let t = read(touches, true);
    let result = t.and_then(|t| read(conversions, false).map(|_| t));
    (result, b)
}

fn journeys_text(b: &revops::attribution::JourneyBuilder) -> String {
    let j = b.finish().unwrap();
    let rows: Vec<String> = j.iter().map(|r| format!("{r:?}")).collect();
    format!("{rows:?} {:?}", j.diagnostics())
}

const CONVERSIONS: &str = "subject_id,at,value,currency\nS1,2026-03-05T00:00:00Z,10.00,USD\nS2,2026-03-02T11:00:00Z,,\n\"S,4\",2026-03-09,1,USD\n";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// `JourneyBuilder::read_touches_csv` gives the records, errors and report of a
    /// `Reader` whose records are added one by one, under both error policies.
    #[test]
    fn reading_into_a_builder_equals_reading_records(text in touches_file(), skip in any::<bool>()) {
        let options = if skip { Options::new().with_on_error(OnError::SkipAndReport) } else { Options::new() };
        let (want, plain) = via_reader(&text, CONVERSIONS, &options);
        let mut fast = revops::attribution::JourneyBuilder::default();
        let got = fast
            .read_touches_csv(text.as_bytes(), options.clone())
            .and_then(|t| fast.read_conversions_csv(CONVERSIONS.as_bytes(), options.clone()).map(|_| t));
        prop_assert_eq!(&got, &want, "{:?}", text);
        if got.is_ok() {
            prop_assert_eq!(journeys_text(&fast), journeys_text(&plain), "{:?}", text);
        }
        prop_assert_eq!(fast.touch_count(), plain.touch_count());
    }
}

/// One stage-event row from pieces that exercise the fast path and every way out of
/// it: padded, quoted, blank, upper-case or non-ASCII fields, other time forms, bad
/// cycles, reasons.
fn event_row() -> impl Strategy<Value = String> {
    let subject = prop::sample::select(vec!["S1", "S2", "S3", " S2", "é9", "", "\"S,4\""]);
    let stage = prop::sample::select(vec![
        "mql",
        "sql",
        "MQL",
        " sal ",
        "\"won\"",
        "",
        "opp\u{a0}",
    ]);
    let at = prop::sample::select(vec![
        "2026-03-01T10:00:00Z",
        "2026-03-02T10:00:00.5Z",
        "2026-03-01T10:00:00.123456789Z",
        "2026-03-03",
        "2026-03-01T12:00:00+02:00",
        "2026-02-30T00:00:00Z",
        "soon",
    ]);
    let cycle = prop::sample::select(vec!["", "", "1", "x", "-1"]);
    let reason = prop::sample::select(vec!["", "", "price", " late ", "\"a,b\""]);
    (subject, stage, at, cycle, reason).prop_map(|(s, k, a, c, r)| format!("{s},{k},{a},{c},{r}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// `JourneyBuilder::read_stage_events_csv` gives the records, errors and report of
    /// a `Reader` whose records are added one by one, under both error policies, and
    /// the same journeys (milestones included).
    #[test]
    fn stage_events_into_a_builder_equal_reading_records(
        rows in prop::collection::vec(event_row(), 0..30),
        skip in any::<bool>(),
    ) {
        let options = if skip { Options::new().with_on_error(OnError::SkipAndReport) } else { Options::new() };
        let text = format!("subject_id,stage,at,cycle,reason\n{}\n", rows.join("\n"));
        let touches = "subject_id,channel,campaign,at\nS1,web,,2026-03-01T09:00:00Z\nS2,email,,2026-03-01T11:00:00Z\nS1,email,,2026-03-02T12:00:00Z\n";
        let (_, mut plain) = via_reader(touches, CONVERSIONS, &options);
        let want = (|| -> revops::Result<ReadReport> {
            let mut r = Reader::<StageEvent, _>::new(text.as_bytes(), options.clone())?;
            for e in r.by_ref() {
                plain.add_batch(&[], &[], &[e?])?;
            }
            Ok(r.report().clone())
        })();
        let mut fast = revops::attribution::JourneyBuilder::default();
        fast.read_touches_csv(touches.as_bytes(), options.clone()).unwrap();
        fast.read_conversions_csv(CONVERSIONS.as_bytes(), options.clone()).unwrap();
        let got = fast.read_stage_events_csv(text.as_bytes(), options.clone());
        prop_assert_eq!(&got, &want, "{:?}", text);
        // The builders' whole states (stage events, stage names, subjects) agree.
        prop_assert_eq!(
            serde_json::to_string(&fast).unwrap(),
            serde_json::to_string(&plain).unwrap(),
            "{:?}", text
        );
        if got.is_ok() {
            prop_assert_eq!(journeys_text(&fast), journeys_text(&plain), "{:?}", text);
        }
    }
}

#[test]
fn reading_into_a_builder_handles_odd_headers_and_sources() {
    // A quoted header, a byte-order mark, columns in another order, another delimiter.
    for (text, delimiter) in [
        (
            "\"subject_id\",channel,campaign,at\nS1,web,,2026-03-01T10:00:00Z\n",
            b',',
        ),
        (
            "\u{feff}subject_id,channel,campaign,at\nS1,web,,2026-03-01T10:00:00Z\n",
            b',',
        ),
        (
            "at;campaign;channel;subject_id;note\n2026-03-01T10:00:00Z;c1;web;S1;x\n2026-03-02T10:00:00Z;;email;S1;\n",
            b';',
        ),
        (
            "\n\nsubject_id,channel,campaign,at\n\nS1,web,,2026-03-01T10:00:00Z",
            b',',
        ),
        ("", b','),
        ("subject_id,channel,at\nS1,web,2026-03-01T10:00:00Z\n", b','),
    ] {
        let options = Options::new().with_delimiter(delimiter);
        let d = char::from(delimiter);
        let conversions = format!("subject_id{d}at{d}value{d}currency\n");
        let (want, plain) = via_reader(text, &conversions, &options);
        let mut fast = revops::attribution::JourneyBuilder::default();
        let got = fast.read_touches_csv(text.as_bytes(), options.clone());
        assert_eq!(got, want, "{text:?}");
        if got.is_ok() {
            assert_eq!(journeys_text(&fast), journeys_text(&plain), "{text:?}");
        }
    }
    // A large input read in several chunks, one quoted row far into it.
    let mut text = String::from("subject_id,channel,campaign,at\n");
    for i in 0..60_000 {
        text += &format!(
            "S{:06},ch{},,2026-03-01T10:{:02}:00Z\n",
            i / 3,
            i % 7,
            i % 60
        );
        if i == 50_000 {
            text += "\"S016667\",\"web\",,2026-03-01T11:00:00Z\n";
        }
    }
    let (want, plain) = via_reader(&text, "subject_id,at,value,currency\n", &Options::new());
    let mut fast = revops::attribution::JourneyBuilder::default();
    assert_eq!(fast.read_touches_csv(text.as_bytes(), Options::new()), want);
    assert_eq!(journeys_text(&fast), journeys_text(&plain));
    assert_eq!(fast.touch_count(), 60_001);
    // Stage events read the same way as well.
    let events = "subject_id,stage,at\nS000001,inquiry,2026-03-01\nS000001,,2026-03-02\n";
    let skip = Options::new().with_on_error(OnError::SkipAndReport);
    let report = fast.read_stage_events_csv(events.as_bytes(), skip).unwrap();
    assert_eq!(
        (report.rows, report.records, report.skipped.len()),
        (2, 1, 1)
    );
    // A conversion in another currency is an error naming it, whatever the policy.
    let mixed =
        "subject_id,at,value,currency\nS000001,2026-03-05,1,USD\nS000002,2026-03-05,1,EUR\n";
    let err = fast
        .read_conversions_csv(
            mixed.as_bytes(),
            Options::new().with_on_error(OnError::SkipAndReport),
        )
        .unwrap_err();
    assert!(
        matches!(&err.kind(), ErrorKind::InvalidField { record, field: "currency", .. } if record.index == Some(1) && record.id.as_deref() == Some("S000002")),
        "{err}"
    );
}

// ---- issue 14: what a mutation fuzzer found ------------------------------------------

/// Reads `data` under SkipAndReport: the records and the report.
fn read_skipping<T: CsvRecord>(data: &[u8]) -> (Vec<T>, ReadReport) {
    let options = Options::new().with_on_error(OnError::SkipAndReport);
    let mut r = Reader::<T, _>::new(data, options).unwrap();
    let records: Vec<T> = r.by_ref().collect::<Result<_, _>>().unwrap();
    (records, r.report().clone())
}

fn skipped_errors(report: &ReadReport) -> Vec<(u64, Option<String>, String)> {
    report
        .skipped
        .iter()
        .map(|e| match e.kind() {
            ErrorKind::Csv {
                line,
                column,
                reason,
                ..
            } => (*line, column.clone(), reason.clone()),
            other => panic!("not a row error: {other:?}"),
        })
        .collect()
}

#[test]
fn an_unclosed_quote_in_the_last_column_is_an_error_and_the_rest_is_read() {
    // stage_events.csv: the free-text `reason` never closes.
    let mut data = String::from(
        "subject_id,stage,at,reason\nL0,mql,2026-01-01,\nL1,recycled,2026-01-02,\"nurture (see note\n",
    );
    for i in 0..1000 {
        data += &format!("L{},mql,2026-02-01,\n", i + 2);
    }
    let (events, report) = read_skipping::<StageEvent>(data.as_bytes());
    assert_eq!(events.len(), 1001);
    assert_eq!((report.rows, report.records), (1002, 1001));
    let errors = skipped_errors(&report);
    assert_eq!(errors.len(), 1);
    let (line, column, reason) = &errors[0];
    assert_eq!((*line, column.as_deref()), (3, Some("reason")));
    assert!(reason.contains("unclosed quote"), "{reason}");
    assert!(reason.contains("line 3"), "{reason}");
    // Under Stop the error is the item after the first record.
    let e = first_error::<StageEvent>(&data);
    assert!(matches!(e.kind(), ErrorKind::Csv { line: 3, .. }), "{e}");

    // leads.csv: the last attribute column.
    let mut data =
        String::from("subject_id,created_at,source,region\nL1,2026-01-01,web,\"emea (see note\n");
    for i in 0..1000 {
        data += &format!("L{},2026-01-02,web,emea\n", i + 2);
    }
    let (leads, report) = read_skipping::<Lead>(data.as_bytes());
    assert_eq!(leads.len(), 1000);
    assert_eq!(skipped_errors(&report)[0].0, 2);
    assert_eq!(skipped_errors(&report)[0].1.as_deref(), Some("region"));

    // The fast touches reader says the same, lines included.
    let text = "subject_id,channel,campaign,at\nS1,web,,2026-03-01T10:00:00Z\n\nS2,\"web,,2026-03-01T10:00:00Z\nS3,web,,2026-03-01T10:00:00Z\n";
    let skip = Options::new().with_on_error(OnError::SkipAndReport);
    let (want, _) = via_reader(text, "subject_id,at,value,currency\n", &skip);
    let got =
        revops::attribution::JourneyBuilder::default().read_touches_csv(text.as_bytes(), skip);
    assert_eq!(got, want);
    let got = got.unwrap();
    assert_eq!((got.records, got.skipped_rows), (2, 1));
    assert!(
        got.skipped[0].to_string().contains("line 4"),
        "{}",
        got.skipped[0]
    );

    // opportunity_history.csv: lead_id, an id, never spans lines.
    let header = "opportunity_id,changed_at,stage,amount,currency,close_date,probability,forecast_category,lead_id\n";
    let mut data = format!("{header}O1,2026-01-01,proposal,10,USD,,,,\"L-1\n");
    for i in 0..500 {
        data += &format!("O{},2026-01-02,proposal,10,USD,,0.5,,L{i}\n", i + 2);
    }
    let (changes, report) = read_skipping::<OpportunityChange>(data.as_bytes());
    assert_eq!(changes.len(), 500);
    assert!(
        changes
            .iter()
            .all(|c| c.lead.as_ref().is_none_or(|l| !l.as_str().contains('\n')))
    );
    let errors = skipped_errors(&report);
    assert_eq!(errors.len(), 1);
    assert_eq!((errors[0].0, errors[0].1.as_deref()), (2, Some("lead_id")));
}

#[test]
fn quoted_fields_span_lines_only_in_free_text() {
    // A multi-line reason reads; the row after it is on its own line.
    let data =
        "subject_id,stage,at,reason\nL1,lost,2026-01-01,\"price\nand timing\"\nL2,mql,bad,\n";
    let (events, report) = read_skipping::<StageEvent>(data.as_bytes());
    assert_eq!(events[0].reason.as_deref(), Some("price\nand timing"));
    assert_eq!(skipped_errors(&report)[0].0, 4);
    // A multi-line stage (a key) does not, whatever closes it later.
    let data = "subject_id,stage,at,reason\nL1,\"mql\nx\",2026-01-01,\nL2,sql,2026-01-02,\n";
    let (events, report) = read_skipping::<StageEvent>(data.as_bytes());
    assert_eq!(events.len(), 1);
    let errors = skipped_errors(&report);
    assert_eq!((errors[0].0, errors[0].1.as_deref()), (2, Some("stage")));
    // Ids, dates and numbers neither.
    for (data, column) in [
        (
            "subject_id,stage,at\n\"L\n1\",mql,2026-01-01\n",
            "subject_id",
        ),
        ("subject_id,stage,at\nL1,mql,\"2026-01-01\n\"\n", "at"),
        (
            "subject_id,stage,at,cycle\nL1,mql,2026-01-01,\"1\n\"\n",
            "cycle",
        ),
    ] {
        let (_, report) = read_skipping::<StageEvent>(data.as_bytes());
        let errors = skipped_errors(&report);
        assert_eq!(
            (errors[0].0, errors[0].1.as_deref()),
            (2, Some(column)),
            "{data:?}"
        );
    }
    // A free-text quote that never closes names the line where it opened, even when
    // it ends the file with nothing after it.
    let data = "subject_id,stage,at,reason\nL1,mql,2026-01-01,x\nL2,lost,2026-01-02,\"price\nand";
    let (events, report) = read_skipping::<StageEvent>(data.as_bytes());
    assert_eq!(events.len(), 1);
    let errors = skipped_errors(&report);
    assert_eq!((errors[0].0, errors[0].1.as_deref()), (3, Some("reason")));
    assert!(errors[0].2.contains("line 3"), "{}", errors[0].2);
    // A free-text quote closed far later by another row's quote: the quote that
    // "closes" it is followed by text, so it did not close a field.
    let data = "subject_id,stage,at,reason\nL1,lost,2026-01-01,\"price\nL2,mql,2026-01-02,\nL3,lost,2026-01-03,\"budget\"\n";
    let (events, report) = read_skipping::<StageEvent>(data.as_bytes());
    assert_eq!(
        events
            .iter()
            .map(|e| e.subject.as_str())
            .collect::<Vec<_>>(),
        ["L2", "L3"]
    );
    assert_eq!(skipped_errors(&report)[0].0, 2);
    // Header names never span lines.
    assert!(
        Reader::<StageEvent, _>::new(&b"subject_id,\"stage\n\",at\n"[..], Options::new()).is_err()
    );
}

#[test]
fn an_unclosed_quote_in_a_middle_column_says_where_it_opened() {
    let data = "subject_id,stage,at,reason\nL1,mql,2026-01-01,\nL2,\"sql,2026-01-02,\nL3,won,2026-01-03,\nL4,won,2026-01-04,\"a \"\"quoted\"\" reason\"\n";
    let e = first_error::<StageEvent>(data);
    let ErrorKind::Csv {
        line,
        column,
        reason,
        ..
    } = e.kind()
    else {
        panic!("{e}")
    };
    assert_eq!((*line, column.as_deref()), (3, Some("stage")));
    assert!(reason.starts_with("unclosed quote"), "{reason}");
    assert!(!reason.contains("number of fields"), "{reason}");
    let (events, _) = read_skipping::<StageEvent>(data.as_bytes());
    assert_eq!(events.len(), 3);
    assert_eq!(events[2].reason.as_deref(), Some("a \"quoted\" reason"));
}

#[test]
fn skip_and_report_keeps_a_bounded_number_of_errors() {
    let mut data = String::from("subject_id,stage,at\n");
    for i in 0..10_000 {
        data += &format!("L{i},mql,not a time\n");
    }
    data += "L,mql,2026-01-01\n";
    let (events, report) = read_skipping::<StageEvent>(data.as_bytes());
    assert_eq!(events.len(), 1);
    assert_eq!(report.skipped.len(), Options::DEFAULT_KEPT_ERRORS);
    assert_eq!(report.skipped_rows, 10_000);
    assert_eq!(report.rows, report.records + report.skipped_rows);
    assert!(matches!(
        report.skipped[99].kind(),
        ErrorKind::Csv { line: 101, .. }
    ));
    // Configurable, and the fast touches reader keeps the same ones.
    let options = Options::new()
        .with_on_error(OnError::SkipAndReport)
        .with_kept_errors(3);
    let mut r = Reader::<StageEvent, _>::new(data.as_bytes(), options.clone()).unwrap();
    r.by_ref().for_each(drop);
    assert_eq!(
        (r.report().skipped.len(), r.report().skipped_rows),
        (3, 10_000)
    );
    let mut touches = String::from("subject_id,channel,campaign,at\n");
    for _ in 0..1000 {
        touches += "L1,web,,never\n";
    }
    let want = {
        let mut r = Reader::<Touch, _>::new(touches.as_bytes(), options.clone()).unwrap();
        r.by_ref().for_each(drop);
        r.report().clone()
    };
    let got = revops::attribution::JourneyBuilder::default()
        .read_touches_csv(touches.as_bytes(), options)
        .unwrap();
    assert_eq!(got, want);
    assert_eq!((got.skipped.len(), got.skipped_rows), (3, 1000));
}

#[test]
fn both_touch_readers_strip_one_byte_order_mark_and_only_one() {
    let bom = "\u{feff}";
    for (boms, ok) in [(0, true), (1, true), (2, false), (3, false)] {
        let text = format!(
            "{}subject_id,channel,campaign,at\nS1,web,,2026-03-01T10:00:00Z\n",
            bom.repeat(boms)
        );
        let plain = Reader::<Touch, _>::new(text.as_bytes(), Options::new())
            .map(|r| r.collect::<Result<Vec<_>, _>>().unwrap().len());
        let fast = revops::attribution::JourneyBuilder::default()
            .read_touches_csv(text.as_bytes(), Options::new())
            .map(|r| r.records as usize);
        assert_eq!(plain.is_ok(), ok, "{boms} BOMs: {plain:?}");
        assert_eq!(fast.is_ok(), ok, "{boms} BOMs: {fast:?}");
        if ok {
            assert_eq!(plain.unwrap(), 1);
            assert_eq!(fast.unwrap(), 1);
        } else {
            assert_eq!(plain.unwrap_err(), fast.unwrap_err());
        }
    }
    // A byte-order mark in a data row is data, in both.
    let text = "subject_id,channel,campaign,at\n\"S1\",web,,2026-03-01T10:00:00Z\n\u{feff}S2,web,,2026-03-01T10:00:00Z\n";
    let plain: Vec<Touch> = Reader::new(text.as_bytes(), Options::new())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(plain[1].subject.as_str(), "\u{feff}S2");
    let (want, _) = via_reader(text, "subject_id,at,value,currency\n", &Options::new());
    let got = revops::attribution::JourneyBuilder::default()
        .read_touches_csv(text.as_bytes(), Options::new());
    assert_eq!(got, want);
}

#[test]
fn error_messages_cut_every_echoed_value() {
    let huge = "X".repeat(1 << 20);
    let cases = [
        format!("subject_id,at,value,currency\nL1,2026-01-01,5,{huge}\n"),
        format!("subject_id,at,value,currency\nL1,2026-01-01,5,{huge}:2\n"),
        format!("subject_id,at,value,currency\nL1,2026-01-01,{huge},USD\n"),
        format!("subject_id,at,value,currency,{huge},{huge}\n"),
        format!("subject_id,at,value,currency\nL1,{huge},5,USD\n"),
    ];
    for data in &cases {
        let e = first_error::<Conversion>(data);
        assert!(
            e.to_string().chars().count() < 300,
            "{}",
            &e.to_string()[..300]
        );
    }
    // A kept error does not hold a megabyte column name either.
    let data = [
        b"subject_id,created_at,source,".as_slice(),
        huge.as_bytes(),
        b"\nL1,2026-01-01,web,\xff\n",
    ]
    .concat();
    let (_, report) = read_skipping::<Lead>(&data);
    assert!(
        matches!(&report.skipped[0].kind(), ErrorKind::Csv { column: Some(c), .. } if c.chars().count() <= 41)
    );
    for e in [
        huge.parse::<Currency>().unwrap_err(),
        format!("{huge}:2").parse::<Currency>().unwrap_err(),
        Currency::with_minor_units(&huge, 2).unwrap_err(),
        Money::parse(&huge, Currency::USD).unwrap_err(),
        format!("1 {huge}").parse::<Money>().unwrap_err(),
    ] {
        assert!(
            e.to_string().chars().count() < 300,
            "{}",
            &e.to_string()[..300]
        );
    }
}

#[test]
fn amounts_and_numbers_are_plain_decimals() {
    for bad in [
        "1_000", "1__0.5_0", "_1", "1_", "1 000", "1e3", "+-1", "1.2.3", ".", "-", "",
    ] {
        assert!(
            Money::parse(bad, Currency::USD).is_err(),
            "{bad:?} should not parse"
        );
        let data = format!(
            "channel,campaign,period_start,period_end,amount,currency\ntv,,2026-01-01,2026-01-31,{bad},USD\n"
        );
        let e = first_error::<Spend>(&data);
        assert!(
            matches!(&e.kind(), ErrorKind::Csv { column: Some(c), .. } if c == "amount"),
            "{bad:?}: {e}"
        );
    }
    for good in ["1000", "-0", "+12.50", "0.5", "7"] {
        assert!(Money::parse(good, Currency::USD).is_ok(), "{good:?}");
    }
    // Probabilities and counts: no digit separators either.
    let header = "opportunity_id,changed_at,stage,amount,currency,close_date,probability,forecast_category\n";
    let e =
        first_error::<OpportunityChange>(&format!("{header}O1,2026-01-01,proposal,10,USD,,0_5,\n"));
    assert!(
        matches!(&e.kind(), ErrorKind::Csv { column: Some(c), .. } if c == "probability"),
        "{e}"
    );
    let e = first_error::<PathRow>(
        "path,total_conversions,total_conversion_value,total_null\na,1_0,0,0\n",
    );
    assert!(
        matches!(&e.kind(), ErrorKind::Csv { column: Some(c), .. } if c == "total_conversions"),
        "{e}"
    );
    let e = first_error::<StageEvent>("subject_id,stage,at,cycle\nL1,mql,2026-01-01,1_0\n");
    assert!(
        matches!(&e.kind(), ErrorKind::Csv { column: Some(c), .. } if c == "cycle"),
        "{e}"
    );
}

#[test]
fn bare_carriage_returns_end_lines() {
    let data =
        "subject_id,stage,at\rL1,mql,2026-01-01\rL2,mql,bad\rL3,sql,2026-01-03\r\rL4,x,bad\r";
    let (events, report) = read_skipping::<StageEvent>(data.as_bytes());
    assert_eq!(events.len(), 2);
    let lines: Vec<u64> = skipped_errors(&report).iter().map(|e| e.0).collect();
    assert_eq!(lines, [3, 6]);
    // Mixed endings: each of `\n`, `\r\n` and a bare `\r` is one line break.
    let data = "subject_id,stage,at\r\nL1,mql,bad\rL2,mql,bad\nL3,mql,bad\r\n\rL4,mql,bad";
    let (_, report) = read_skipping::<StageEvent>(data.as_bytes());
    let lines: Vec<u64> = skipped_errors(&report).iter().map(|e| e.0).collect();
    assert_eq!(lines, [2, 3, 4, 6]);
}

#[test]
fn readers_refuse_what_writers_cannot_write() {
    for (value, column) in [
        ("+99999-01-01", "at"),
        ("9999-12-31T23:59:59-01:00", "at"),
        ("-0001-12-31", "at"),
    ] {
        let e = first_error::<StageEvent>(&format!("subject_id,stage,at\nL1,mql,{value}\n"));
        let ErrorKind::Csv {
            column: c, reason, ..
        } = e.kind()
        else {
            panic!("{e}")
        };
        assert_eq!(c.as_deref(), Some(column));
        assert!(
            reason.contains("0000") && reason.contains("9999"),
            "{reason}"
        );
    }
    let header = "opportunity_id,changed_at,stage,amount,currency,close_date,probability,forecast_category\n";
    let e = first_error::<OpportunityChange>(&format!(
        "{header}O1,2026-01-01,proposal,10,USD,9999-12-31T23:59:59-01:00,,\n"
    ));
    assert!(
        matches!(&e.kind(), ErrorKind::Csv { column: Some(c), .. } if c == "close_date"),
        "{e}"
    );
    let e = first_error::<Spend>(
        "channel,campaign,period_start,period_end,amount,currency\ntv,,2026-01-01,+10000-01-31,1,USD\n",
    );
    assert!(
        matches!(&e.kind(), ErrorKind::Csv { column: Some(c), .. } if c == "period_end"),
        "{e}"
    );
    // The fast touches reader agrees.
    let text = "subject_id,channel,campaign,at\nS1,web,,9999-12-31T23:59:59-01:00\n";
    assert!(
        revops::attribution::JourneyBuilder::default()
            .read_touches_csv(text.as_bytes(), Options::new())
            .is_err()
    );

    // The ends of the range round-trip.
    let first = Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap();
    let last = Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap()
        + chrono::TimeDelta::nanoseconds(999_999_999);
    let events = [
        StageEvent::new(SubjectId::new("L1").unwrap(), "mql", first),
        StageEvent::new(SubjectId::new("L1").unwrap(), "won", last),
    ];
    let bytes = write_records(Vec::new(), &events, Options::new()).unwrap();
    let back: Vec<StageEvent> = Reader::new(&bytes[..], Options::new())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(back, events);
    for text in ["9999-12-31T23:59:59+01:00", "0000-01-01T00:00:00-00:30"] {
        let data = format!("subject_id,stage,at\nL1,mql,{text}\n");
        let read: Vec<StageEvent> = Reader::new(data.as_bytes(), Options::new())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        write_records(Vec::new(), &read, Options::new()).unwrap();
    }
}

#[test]
fn the_percentage_hint_is_given_only_to_percentages() {
    let header = "opportunity_id,changed_at,stage,amount,currency,close_date,probability,forecast_category\n";
    let reason = |p: &str| match first_error::<OpportunityChange>(&format!(
        "{header}O1,2026-01-01,proposal,10,USD,,{p},\n"
    ))
    .into_kind()
    {
        ErrorKind::Csv { reason, .. } => reason,
        other => panic!("{other}"),
    };
    for p in ["75", "2", "99.5", "100"] {
        assert!(reason(p).contains("not percentages"), "{p}: {}", reason(p));
    }
    for p in ["1.0000001", "1.5e1", "100.5", "250", "-3"] {
        let r = reason(p);
        assert!(!r.contains("percentage"), "{p}: {r}");
        assert!(r.contains("[0, 1]"), "{p}: {r}");
    }
}

#[test]
fn odd_files_give_errors_never_panics() {
    // Empty, header only, NUL bytes, invalid UTF-8 in every column.
    assert!(Reader::<StageEvent, _>::new(&b""[..], Options::new()).is_err());
    assert!(Reader::<StageEvent, _>::new(&b"\n\r\n"[..], Options::new()).is_err());
    let (events, report) = read_skipping::<StageEvent>(b"subject_id,stage,at,reason\n");
    assert!(events.is_empty() && report.rows == 0);
    let (events, report) =
        read_skipping::<StageEvent>(b"subject_id,stage,at,reason\nL1,mql\0,2026-01-01,\0\n");
    assert_eq!(events.len() + report.skipped.len(), 1);
    let columns = ["subject_id", "stage", "at", "cycle", "reason"];
    for bad in 0..columns.len() {
        let mut row: Vec<&[u8]> = vec![b"L1", b"mql", b"2026-01-01", b"1", b"why"];
        row[bad] = b"\xff\xfe";
        let data = [
            columns.join(",").as_bytes(),
            b"\n",
            &row.join(&b","[..]),
            b"\n",
        ]
        .concat();
        let (_, report) = read_skipping::<StageEvent>(&data);
        let errors = skipped_errors(&report);
        assert_eq!(errors.len(), 1, "{bad}");
        assert_eq!(errors[0].1.as_deref(), Some(columns[bad]));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A quote put at the start of any unquoted field is reported with its row, and
    /// the rows before it read as written. When it is the file's only quote, it costs
    /// that row only: every other row reads as written (the file's tail is never
    /// swallowed into one field).
    #[test]
    fn a_stray_quote_costs_its_row(
        rows in proptest::collection::vec(
            (
                "[a-z][a-z0-9]{0,4}",
                "[a-z]{1,4}",
                proptest::option::of(prop_oneof!["[a-z][a-z ]{0,8}", "[a-z][a-z ,\n]{0,8}"]),
            ),
            1..12,
        ),
        pick in any::<prop::sample::Index>(),
        crlf in any::<bool>(),
    ) {
        let at = Utc.with_ymd_and_hms(2026, 3, 4, 10, 11, 12).unwrap();
        let events: Vec<StageEvent> = rows
            .iter()
            .map(|(s, stage, reason)| StageEvent {
                subject: SubjectId::new(s).unwrap(),
                stage: stage.clone(),
                at,
                cycle: None,
                reason: reason.clone(),
            })
            .collect();
        let mut bytes = write_records(Vec::new(), &events, Options::new()).unwrap();
        if crlf {
            bytes = crlf_terminators(&bytes);
        }
        // The starts of unquoted fields of data rows, with their row.
        let mut starts = Vec::new();
        let (mut row, mut quoted, mut field_start) = (0usize, false, true);
        for (i, &b) in bytes.iter().enumerate() {
            if field_start && !quoted && b != b'"' && row > 0 {
                starts.push((i, row - 1));
            }
            field_start = false;
            match b {
                b'"' => quoted = !quoted,
                b',' if !quoted => field_start = true,
                b'\n' if !quoted => {
                    row += 1;
                    field_start = true;
                }
                _ => {}
            }
        }
        starts.retain(|&(i, _)| i < bytes.len());
        prop_assume!(!starts.is_empty());
        let (i, bad) = starts[pick.index(starts.len())];
        bytes.insert(i, b'"');
        let (read, report) = read_skipping::<StageEvent>(&bytes);
        let text = String::from_utf8_lossy(&bytes);
        prop_assert!(report.skipped_rows >= 1, "{}", text);
        prop_assert_eq!(report.rows, report.records + report.skipped_rows);
        prop_assert_eq!(&read[..bad.min(read.len())], &events[..bad], "{}", text);
        if bytes.iter().filter(|&&b| b == b'"').count() == 1 {
            let mut others = events.clone();
            others.remove(bad);
            prop_assert_eq!(report.skipped_rows, 1, "{}", text);
            prop_assert_eq!(read, others, "{}", text);
        }
    }
}
