//! Arrow and Parquet (features `arrow`, `parquet`): round trips of random records, the
//! synthetic company read through CSV and through Parquet giving the same records and
//! report, every accepted Arrow type reading the same, and hostile input giving errors
//! that name the row and column, never panics.

use std::fmt::Debug;
use std::sync::Arc;

use arrow_array::types::{Int8Type, Int32Type};
use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Date64Array, Decimal128Array, DictionaryArray,
    Float32Array, Float64Array, Int32Array, Int64Array, LargeStringArray, NullArray, RecordBatch,
    StringArray, StringViewArray, TimestampMicrosecondArray, TimestampMillisecondArray,
    TimestampNanosecondArray, TimestampSecondArray, UInt8Array,
};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use revops::arrow::parquet::{Reader, Writer, read_dir, write_records};
use revops::arrow::{ArrowRecord, Decoder, read_batches, to_record_batch};
use revops::csv::{OnError, Options};
use revops::error::ErrorKind;
use revops::{
    AccountId, CampaignId, Channel, Conversion, Currency, DateRange, Decimal, Error,
    ForecastCategory, ForecastPoint, Lead, LeadId, Money, OpportunityChange, OpportunityId,
    PathRow, Spend, StageEvent, SubjectId, Touch,
};

// ---- generators ---------------------------------------------------------------------

const TEXT: &str = "[a-zA-Z0-9 ,;\t\"'\r\n>_.:éß漢字🙂-]{1,12}";

fn key() -> impl Strategy<Value = String> {
    TEXT.prop_filter_map("blank", |s| {
        let t = s.trim();
        (!t.is_empty() && !t.contains(['\r', '\n'])).then(|| t.to_string())
    })
}

fn text() -> impl Strategy<Value = String> {
    TEXT.prop_filter("blank", |s| !s.trim().is_empty())
}

fn id<T: for<'a> TryFrom<&'a str, Error = Error> + Debug>() -> impl Strategy<Value = T> {
    key().prop_map(|s| T::try_from(s.as_str()).unwrap())
}

/// Times at microsecond precision (what the Arrow columns hold), years 0000 to 9999.
fn time() -> impl Strategy<Value = DateTime<Utc>> {
    (-62_167_219_200_000_000i64..253_402_300_799_999_999)
        .prop_map(|us| DateTime::from_timestamp_micros(us).unwrap())
}

fn date() -> impl Strategy<Value = NaiveDate> {
    (0u64..3_600_000).prop_map(|d| NaiveDate::from_ymd_opt(1, 1, 1).unwrap() + chrono::Days::new(d))
}

fn money() -> impl Strategy<Value = Money> {
    (
        0i64..i64::MAX,
        0u32..10,
        proptest::sample::select(vec![
            Currency::USD,
            Currency::EUR,
            Currency::JPY,
            "PTS:3".parse().unwrap(),
        ]),
    )
        .prop_map(|(m, s, c)| Money::new(Decimal::new(m, s), c))
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
            |(opportunity, changed_at, stage, amount, close_date, p, category, lead)| {
                OpportunityChange {
                    opportunity,
                    changed_at,
                    stage,
                    amount,
                    close_date,
                    probability: p,
                    forecast_category: category,
                    lead,
                }
            },
        )
}

fn path_row() -> impl Strategy<Value = PathRow> {
    let channel = key().prop_filter_map("separator", |s| {
        (!s.contains('>')).then(|| Channel::new(s).unwrap())
    });
    (
        proptest::collection::vec(channel, 1..6),
        count(),
        money(),
        count(),
    )
        .prop_map(|(path, conversions, value, nulls)| {
            PathRow::new(path, conversions, value.amount(), nulls)
        })
}

fn forecast_point() -> impl Strategy<Value = ForecastPoint> {
    let finite = prop_oneof![
        -1e12f64..1e12,
        any::<f64>().prop_filter("finite", |v| v.is_finite())
    ];
    (key(), key(), finite.clone(), proptest::option::of(finite)).prop_map(
        |(series, period, forecast, actual)| ForecastPoint::new(series, period, forecast, actual),
    )
}

fn lead() -> impl Strategy<Value = Lead> {
    let name = "[a-z,\"é漢][a-z0-9 ,;\"_é漢]{0,6}[a-z0-9]".prop_filter("fixed column", |n| {
        !<Lead as revops::csv::CsvRecord>::COLUMNS.contains(&n.as_str())
    });
    (
        (id::<LeadId>(), time()),
        proptest::option::of(id::<Channel>()),
        proptest::option::of(id::<CampaignId>()),
        proptest::option::of(id::<AccountId>()),
        proptest::option::of(text()),
        proptest::option::of(text()),
        proptest::collection::btree_map(name, text(), 0..4),
    )
        .prop_map(
            |((id, created_at), source, campaign, account, owner, segment, attributes)| Lead {
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

// ---- round trips --------------------------------------------------------------------

/// Records → RecordBatch → records, and records → Parquet (split over several
/// batches by a small writer batch) → records.
fn round_trip<T: ArrowRecord + Clone + PartialEq + Debug>(
    records: &[T],
) -> Result<(), TestCaseError> {
    let batch = to_record_batch(records, &Options::new()).unwrap();
    let (back, report) = read_batches::<T>([&batch], Options::new()).unwrap();
    prop_assert_eq!(&back, records);
    prop_assert_eq!(report.records, records.len() as u64);
    let file = write_records(records, Vec::new(), &Options::new()).unwrap();
    let back: Vec<T> = Reader::<T>::from_bytes(file, Options::new())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    prop_assert_eq!(&back, records);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn stage_events_round_trip(r in proptest::collection::vec(stage_event(), 0..10)) {
        round_trip(&r)?;
    }

    #[test]
    fn touches_round_trip(r in proptest::collection::vec(touch(), 0..10)) {
        round_trip(&r)?;
    }

    #[test]
    fn conversions_round_trip(r in proptest::collection::vec(conversion(), 0..10)) {
        round_trip(&r)?;
    }

    #[test]
    fn spend_round_trips(r in proptest::collection::vec(spend(), 0..10)) {
        round_trip(&r)?;
    }

    #[test]
    fn opportunity_history_round_trips(r in proptest::collection::vec(opportunity_change(), 0..10)) {
        round_trip(&r)?;
    }

    #[test]
    fn paths_round_trip(r in proptest::collection::vec(path_row(), 0..10)) {
        round_trip(&r)?;
    }

    #[test]
    fn forecasts_round_trip(r in proptest::collection::vec(forecast_point(), 0..10)) {
        round_trip(&r)?;
    }

    #[test]
    fn leads_round_trip(r in proptest::collection::vec(lead(), 0..10)) {
        round_trip(&r)?;
    }
}

// ---- the synthetic company through CSV and through Parquet ----------------------------

#[cfg(feature = "synth")]
#[test]
fn the_synthetic_company_reads_the_same_from_csv_and_parquet() {
    use revops::csv::{Dataset, write_records as write_csv};
    use revops::report::{Report, ReportOptions};
    use revops::synth::{SynthConfig, generate};

    let c = generate(&SynthConfig::default().with_leads(3_000).with_seed(11)).unwrap();
    let base = std::env::temp_dir().join(format!("revops-arrow-{}", std::process::id()));
    let (csv_dir, pq_dir) = (base.join("csv"), base.join("parquet"));
    std::fs::create_dir_all(&csv_dir).unwrap();
    std::fs::create_dir_all(&pq_dir).unwrap();
    fn put<T: ArrowRecord + Clone>(csv: &std::path::Path, pq: &std::path::Path, r: &[T]) {
        let o = Options::new();
        std::fs::write(
            csv.join(T::FILE_NAME),
            write_csv(Vec::new(), r, o.clone()).unwrap(),
        )
        .unwrap();
        let f = std::fs::File::create(pq.join(T::PARQUET_FILE_NAME)).unwrap();
        write_records(r, f, &o).unwrap();
    }
    put(&csv_dir, &pq_dir, &c.leads);
    put(&csv_dir, &pq_dir, &c.stage_events);
    put(&csv_dir, &pq_dir, &c.touches);
    put(&csv_dir, &pq_dir, &c.conversions);
    put(&csv_dir, &pq_dir, &c.spend);
    put(&csv_dir, &pq_dir, &c.opportunity_history);
    put(&csv_dir, &pq_dir, &c.forecasts);
    let from_csv = Dataset::read_dir(&csv_dir, Options::new()).unwrap();
    let from_pq = read_dir(&pq_dir, Options::new()).unwrap();
    std::fs::remove_dir_all(&base).unwrap();

    assert_eq!(from_pq.leads, from_csv.leads);
    assert_eq!(from_pq.stage_events, from_csv.stage_events);
    assert_eq!(from_pq.touches, from_csv.touches);
    assert_eq!(from_pq.conversions, from_csv.conversions);
    assert_eq!(from_pq.spend, from_csv.spend);
    assert_eq!(from_pq.opportunity_history, from_csv.opportunity_history);
    assert_eq!(from_pq.forecasts, from_csv.forecasts);
    assert_eq!(from_pq.leads, c.leads);
    assert!(from_pq.missing.is_empty());
    assert_eq!(from_pq.reports.len(), 7);
    assert_eq!(from_pq.skipped(), 0);

    let options = ReportOptions::default();
    let a = Report::build(&from_csv.report_input(), &options).unwrap();
    let b = Report::build(&from_pq.report_input(), &options).unwrap();
    let (a, b) = (a.to_json().unwrap(), b.to_json().unwrap());
    if let Some((x, y)) = a.lines().zip(b.lines()).find(|(x, y)| x != y) {
        panic!("the reports differ: {x} (CSV) vs {y} (Parquet)");
    }
    assert_eq!(a, b);

    // Journeys' path rows through Arrow batches, split over several batches.
    let mut builder = revops::attribution::JourneyBuilder::default();
    for t in &c.touches {
        builder
            .add(&revops::attribution::JourneyRecord::Touch(t.clone()))
            .unwrap();
    }
    let rows = builder.finish().unwrap().path_rows();
    let batches: Vec<RecordBatch> = rows
        .chunks(97)
        .map(|c| to_record_batch(c, &Options::new()).unwrap())
        .collect();
    let (back, report) = read_batches::<PathRow>(&batches, Options::new()).unwrap();
    assert_eq!(back, rows);
    assert_eq!(report.rows, rows.len() as u64);
}

// ---- every accepted type reads the same ------------------------------------------------

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).unwrap()
}

fn strings(v: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

fn read<T: ArrowRecord>(b: &RecordBatch) -> Result<Vec<T>, Error> {
    read_batches::<T>([b], Options::new()).map(|(r, _)| r)
}

#[test]
fn string_columns_read_the_same_plain_large_view_or_dictionary() {
    let ids = ["L1", " L2 ", "L1"];
    let stages = ["mql", "sql", "mql"];
    let at = strings(&["2026-03-04T10:11:12Z", "2026-03-05", "2026-03-06 08:00:00"]);
    let forms: Vec<(ArrayRef, ArrayRef)> = vec![
        (strings(&ids), strings(&stages)),
        (
            Arc::new(LargeStringArray::from(ids.to_vec())),
            Arc::new(LargeStringArray::from(stages.to_vec())),
        ),
        (
            Arc::new(StringViewArray::from(ids.to_vec())),
            Arc::new(StringViewArray::from(stages.to_vec())),
        ),
        (
            Arc::new(ids.iter().copied().collect::<DictionaryArray<Int8Type>>()),
            Arc::new(
                stages
                    .iter()
                    .copied()
                    .collect::<DictionaryArray<Int32Type>>(),
            ),
        ),
    ];
    let mut seen = Vec::new();
    for (subject, stage) in forms {
        let b = batch(vec![
            ("Subject_ID ", subject),
            ("stage", stage),
            ("at", at.clone()),
        ]);
        seen.push(read::<StageEvent>(&b).unwrap());
    }
    assert_eq!(seen[0][1].subject.as_str(), "L2");
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
}

#[test]
fn time_columns_read_the_same_in_every_unit_zone_and_as_dates() {
    let s = 1_772_582_400i64; // 2026-03-04T00:00:00Z
    let forms: Vec<ArrayRef> = vec![
        strings(&["2026-03-04", "2026-03-04T00:00:00+00:00"]),
        Arc::new(TimestampSecondArray::from(vec![s, s])),
        Arc::new(TimestampMillisecondArray::from(vec![s * 1_000, s * 1_000]).with_timezone("UTC")),
        Arc::new(
            TimestampMicrosecondArray::from(vec![s * 1_000_000, s * 1_000_000])
                .with_timezone("+02:00"),
        ),
        Arc::new(
            TimestampNanosecondArray::from(vec![s * 1_000_000_000, s * 1_000_000_000])
                .with_timezone("America/New_York"),
        ),
        Arc::new(Date32Array::from(vec![20_516, 20_516])),
        Arc::new(Date64Array::from(vec![s * 1_000, s * 1_000])),
    ];
    let mut seen = Vec::new();
    for at in forms {
        let b = batch(vec![
            ("subject_id", strings(&["L1", "L2"])),
            ("stage", strings(&["mql", "sql"])),
            ("at", at),
        ]);
        seen.push(read::<StageEvent>(&b).unwrap());
    }
    assert_eq!(
        seen[0][0].at,
        Utc.with_ymd_and_hms(2026, 3, 4, 0, 0, 0).unwrap()
    );
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
}

#[test]
fn money_and_dates_read_the_same_as_decimals_strings_or_integers() {
    let dates: Vec<(ArrayRef, ArrayRef)> = vec![
        (
            strings(&["2026-01-01", "2026-02-01"]),
            strings(&["2026-01-31", "2026-02-28"]),
        ),
        (
            Arc::new(Date32Array::from(vec![20_454, 20_485])),
            Arc::new(Date32Array::from(vec![20_484, 20_512])),
        ),
        (
            Arc::new(Date64Array::from(vec![
                20_454 * 86_400_000,
                20_485 * 86_400_000,
            ])),
            Arc::new(TimestampSecondArray::from(vec![
                20_484 * 86_400 + 3_600,
                20_512 * 86_400,
            ])),
        ),
    ];
    let amounts: Vec<ArrayRef> = vec![
        strings(&["3100.50", "980"]),
        Arc::new(
            Decimal128Array::from(vec![310_050, 98_000])
                .with_precision_and_scale(10, 2)
                .unwrap(),
        ),
        Arc::new(
            Decimal128Array::from(vec![310_050 * 10i128.pow(18), 98_000 * 10i128.pow(18)])
                .with_precision_and_scale(38, 20)
                .unwrap(),
        ),
        Arc::new(
            Decimal128Array::from(vec![31_005, 98])
                .with_precision_and_scale(10, -1)
                .unwrap(),
        ),
    ];
    let mut seen = Vec::new();
    for (start, end) in &dates {
        for amount in &amounts {
            let b = batch(vec![
                ("channel", strings(&["search", "events"])),
                ("campaign", Arc::new(NullArray::new(2))),
                ("period_start", start.clone()),
                ("period_end", end.clone()),
                ("amount", amount.clone()),
                ("currency", strings(&["USD", "EUR"])),
            ]);
            seen.push(read::<Spend>(&b).unwrap());
        }
    }
    // The negative-scale decimal is 310050 and 980: compare it on its own.
    let usd = |s| Money::parse(s, Currency::USD).unwrap();
    assert_eq!(seen[0][0].amount, usd("3100.50"));
    assert_eq!(seen[3][0].amount, usd("310050"));
    for (i, s) in seen.iter().enumerate() {
        let expected = if i % 4 == 3 { &seen[3] } else { &seen[0] };
        assert_eq!(s, expected, "form {i}");
    }
    assert_eq!(seen[0][1].days(), 28);
    // Integers are exact money too.
    let b = batch(vec![
        ("subject_id", strings(&["L1"])),
        ("at", strings(&["2026-03-04"])),
        ("value", Arc::new(Int64Array::from(vec![48_000]))),
        ("currency", strings(&["USD"])),
    ]);
    assert_eq!(read::<Conversion>(&b).unwrap()[0].value, Some(usd("48000")));
}

#[test]
fn numbers_read_from_floats_integers_decimals_and_strings() {
    let forms: Vec<ArrayRef> = vec![
        strings(&["0.5", "0.25"]),
        Arc::new(Float64Array::from(vec![0.5, 0.25])),
        Arc::new(Float32Array::from(vec![0.5, 0.25])),
        Arc::new(
            Decimal128Array::from(vec![50, 25])
                .with_precision_and_scale(5, 2)
                .unwrap(),
        ),
    ];
    let mut seen = Vec::new();
    for p in forms {
        let b = batch(vec![
            ("opportunity_id", strings(&["O1", "O2"])),
            ("changed_at", strings(&["2026-03-04", "2026-03-05"])),
            ("stage", strings(&["discovery", "proposal"])),
            ("amount", strings(&["1000", "2000"])),
            ("currency", strings(&["USD", "USD"])),
            (
                "close_date",
                Arc::new(StringArray::from(vec![None, Some("2026-06-30")])),
            ),
            ("probability", p),
            ("forecast_category", strings(&["Best Case", ""])),
            (
                "lead_id",
                Arc::new(UInt8Array::from(vec![1, 2])) as ArrayRef,
            ),
        ]);
        // `lead_id` of integers is a wrong type: the error names it.
        let e = read::<OpportunityChange>(&b).unwrap_err();
        assert!(e.to_string().contains("column `lead_id`"), "{e}");
        let b = RecordBatch::try_new(
            Arc::new(b.schema().project(&[0, 1, 2, 3, 4, 5, 6, 7]).unwrap()),
            b.columns()[..8].to_vec(),
        )
        .unwrap();
        seen.push(read::<OpportunityChange>(&b).unwrap());
    }
    assert_eq!(seen[0][0].probability, Some(0.5));
    assert_eq!(
        seen[0][0].forecast_category,
        Some(ForecastCategory::BestCase)
    );
    assert_eq!(seen[0][1].forecast_category, None);
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
    // Counts and forecasts from integers.
    let b = batch(vec![
        ("series", strings(&["bookings"])),
        ("period", strings(&["2026-03"])),
        ("forecast", Arc::new(Int32Array::from(vec![120]))),
        ("actual", Arc::new(Float64Array::from(vec![None]))),
    ]);
    let f = read::<ForecastPoint>(&b).unwrap();
    assert_eq!((f[0].forecast, f[0].actual), (120.0, None));
}

#[test]
fn lead_attributes_take_strings_numbers_and_booleans() {
    let b = batch(vec![
        ("subject_id", strings(&["L1", "L2"])),
        ("created_at", strings(&["2026-03-04", "2026-03-05"])),
        (
            "source",
            Arc::new(StringArray::from(vec![Some("webinar"), None])),
        ),
        (
            "employees",
            Arc::new(Int32Array::from(vec![Some(120), None])),
        ),
        ("score", Arc::new(Float64Array::from(vec![0.5, 2.0]))),
        ("Customer", Arc::new(BooleanArray::from(vec![true, false]))),
        ("industry", strings(&["software", " "])),
    ]);
    let leads = read::<Lead>(&b).unwrap();
    assert_eq!(leads[0].attributes["employees"], "120");
    assert_eq!(leads[0].attributes["Customer"], "true");
    assert_eq!(leads[1].attributes["score"], "2");
    assert!(!leads[1].attributes.contains_key("employees"));
    assert!(!leads[1].attributes.contains_key("industry"));
    assert_eq!(leads[1].source, None);
}

// ---- hostile input ------------------------------------------------------------------

fn arrow_error(e: &Error) -> (u64, u64, Option<&str>, &str) {
    match e.kind() {
        ErrorKind::Arrow {
            row,
            batch,
            column,
            reason,
            ..
        } => (*row, *batch, column.as_deref(), reason.as_str()),
        other => panic!("not an Arrow error: {other:?}"),
    }
}

fn events(subject: ArrayRef, stage: ArrayRef, at: ArrayRef) -> RecordBatch {
    batch(vec![("subject_id", subject), ("stage", stage), ("at", at)])
}

#[test]
fn errors_name_the_source_row_batch_and_column() {
    let good = events(
        strings(&["L1", "L2"]),
        strings(&["mql", "sql"]),
        strings(&["2026-03-04", "2026-03-05"]),
    );
    let null_time = events(
        strings(&["L3", "L4"]),
        strings(&["mql", "sql"]),
        Arc::new(TimestampSecondArray::from(vec![Some(0), None])),
    );
    let mut d =
        Decoder::<StageEvent>::new(Options::new().with_source_name("events.parquet")).unwrap();
    let mut out = Vec::new();
    d.decode(&good, &mut out).unwrap();
    d.decode(&RecordBatch::new_empty(good.schema()), &mut out)
        .unwrap();
    let e = d.decode(&null_time, &mut out).unwrap_err();
    assert_eq!(
        arrow_error(&e),
        (3, 2, Some("at"), "empty: a timestamp is required")
    );
    assert_eq!(
        e.to_string(),
        "events.parquet row 3 (batch 2), column `at`: empty: a timestamp is required"
    );
    assert_eq!(out.len(), 3, "the rows before the bad one are given");
    assert!(
        d.decode(&good, &mut out).is_err(),
        "a stopped decoder stays stopped"
    );

    // Skipping: every bad row counted, the good ones read.
    let mut d =
        Decoder::<StageEvent>::new(Options::new().with_on_error(OnError::SkipAndReport)).unwrap();
    let mut out = Vec::new();
    for b in [&good, &null_time, &good] {
        d.decode(b, &mut out).unwrap();
    }
    let r = d.report();
    assert_eq!((r.rows, r.records, r.skipped_rows), (6, 5, 1));
    assert_eq!(arrow_error(&r.skipped[0]).0, 3);
}

fn first_error<T: ArrowRecord + Debug>(
    columns: Vec<(&str, ArrayRef)>,
) -> (u64, Option<String>, String) {
    let b = batch(columns);
    let e = read::<T>(&b).unwrap_err();
    let (row, _, column, reason) = arrow_error(&e);
    (row, column.map(str::to_string), reason.to_string())
}

#[test]
fn hostile_ids_types_and_columns_are_errors_naming_row_and_column() {
    let at = || strings(&["2026-03-04", "2026-03-05"]);
    // A wrong column type.
    let (_, c, r) = first_error::<StageEvent>(vec![
        ("subject_id", Arc::new(Int32Array::from(vec![1, 2]))),
        ("stage", strings(&["mql", "sql"])),
        ("at", at()),
    ]);
    assert_eq!(c.as_deref(), Some("subject_id"));
    assert!(r.contains("Int32") && r.contains("string"), "{r}");
    let (_, c, r) = first_error::<StageEvent>(vec![
        ("subject_id", strings(&["L1", "L2"])),
        ("stage", strings(&["mql", "sql"])),
        ("at", Arc::new(Float64Array::from(vec![1.0, 2.0]))),
    ]);
    assert_eq!((c.as_deref(), r.contains("Float64")), (Some("at"), true));
    // A missing column.
    let (_, c, r) =
        first_error::<StageEvent>(vec![("subject_id", strings(&["L1", "L2"])), ("at", at())]);
    assert_eq!(
        (c.as_deref(), r.as_str()),
        (Some("stage"), "missing required column `stage`")
    );
    // A null id.
    let (row, c, r) = first_error::<StageEvent>(vec![
        (
            "subject_id",
            Arc::new(StringArray::from(vec![Some("L1"), None])),
        ),
        ("stage", strings(&["mql", "sql"])),
        ("at", at()),
    ]);
    assert_eq!(
        (row, c.as_deref(), r.as_str()),
        (1, Some("subject_id"), "empty id")
    );
    // A null in a dictionary's values.
    let stage: DictionaryArray<Int32Type> = vec![Some("mql"), None].into_iter().collect();
    let (row, c, _) = first_error::<StageEvent>(vec![
        ("subject_id", strings(&["L1", "L2"])),
        ("stage", Arc::new(stage)),
        ("at", at()),
    ]);
    assert_eq!((row, c.as_deref()), (1, Some("stage")));
}

#[test]
fn hostile_numbers_are_errors_naming_row_and_column() {
    // Negative money, unknown currency, a decimal too large for 28 digits.
    let spend = |amount: ArrayRef, currency: &str| {
        first_error::<Spend>(vec![
            ("channel", strings(&["search"])),
            ("campaign", strings(&[""])),
            ("period_start", strings(&["2026-01-01"])),
            ("period_end", strings(&["2026-01-31"])),
            ("amount", amount),
            ("currency", strings(&[currency])),
        ])
    };
    let dec = |v: i128, s: i8| -> ArrayRef {
        Arc::new(
            Decimal128Array::from(vec![v])
                .with_precision_and_scale(38, s)
                .unwrap(),
        )
    };
    let (_, c, r) = spend(dec(-100, 2), "USD");
    assert_eq!(c.as_deref(), Some("amount"));
    assert!(r.contains("must not be negative"), "{r}");
    let (_, c, r) = spend(dec(100, 2), "QQQ");
    assert_eq!(c.as_deref(), Some("currency"));
    assert!(r.contains("QQQ"), "{r}");
    let (_, c, r) = spend(dec(10i128.pow(37), 0), "USD");
    assert_eq!(c.as_deref(), Some("amount"));
    assert!(r.contains("does not fit"), "{r}");
    let (_, c, r) = spend(strings(&["1e3"]), "USD");
    assert_eq!(c.as_deref(), Some("amount"));
    assert!(r.contains("is not a decimal number"), "{r}");
    // Money is never a float.
    let (_, c, r) = spend(Arc::new(Float64Array::from(vec![1.5])), "USD");
    assert_eq!(c.as_deref(), Some("amount"));
    assert!(r.contains("Float64"), "{r}");
    // Probabilities above 1, NaN; a percentage written as text gets the hint.
    let opp = |p: ArrayRef| {
        first_error::<OpportunityChange>(vec![
            ("opportunity_id", strings(&["O1"])),
            ("changed_at", strings(&["2026-03-04"])),
            ("stage", strings(&["proposal"])),
            ("amount", strings(&["10"])),
            ("currency", strings(&["USD"])),
            ("close_date", strings(&[""])),
            ("probability", p),
            ("forecast_category", strings(&["commit"])),
        ])
    };
    for p in [
        Arc::new(Float64Array::from(vec![1.5])) as ArrayRef,
        Arc::new(Float64Array::from(vec![f64::NAN])),
        Arc::new(Float32Array::from(vec![f32::INFINITY])),
    ] {
        let (_, c, r) = opp(p);
        assert_eq!(c.as_deref(), Some("probability"));
        assert!(r.contains("[0, 1]"), "{r}");
    }
    let (_, _, r) = opp(strings(&["75"]));
    assert!(r.contains("not percentages"), "{r}");
    // NaN forecasts and counts.
    let (_, c, _) = first_error::<ForecastPoint>(vec![
        ("series", strings(&["s"])),
        ("period", strings(&["p"])),
        ("forecast", Arc::new(Float64Array::from(vec![f64::NAN]))),
        ("actual", Arc::new(NullArray::new(1))),
    ]);
    assert_eq!(c.as_deref(), Some("forecast"));
    let (_, c, _) = first_error::<PathRow>(vec![
        ("path", strings(&["a>b"])),
        (
            "total_conversions",
            Arc::new(Float64Array::from(vec![f64::NAN])),
        ),
        ("total_conversion_value", strings(&["0"])),
        ("total_null", Arc::new(Int32Array::from(vec![1]))),
    ]);
    assert_eq!(c.as_deref(), Some("total_conversions"));
    // A time outside the years 0000 to 9999 and outside chrono's range.
    for at in [
        Arc::new(TimestampSecondArray::from(vec![253_402_300_800])) as ArrayRef,
        Arc::new(TimestampSecondArray::from(vec![i64::MAX])),
        Arc::new(Date32Array::from(vec![i32::MIN])),
        Arc::new(Date64Array::from(vec![i64::MIN])),
    ] {
        let (_, c, r) = first_error::<StageEvent>(vec![
            ("subject_id", strings(&["L1"])),
            ("stage", strings(&["mql"])),
            ("at", at),
        ]);
        assert_eq!(c.as_deref(), Some("at"));
        assert!(r.contains("outside the supported years"), "{r}");
    }
    // A negative or too large cycle.
    let (_, c, _) = first_error::<StageEvent>(vec![
        ("subject_id", strings(&["L1"])),
        ("stage", strings(&["mql"])),
        ("at", strings(&["2026-03-04"])),
        ("cycle", Arc::new(Int64Array::from(vec![-1]))),
    ]);
    assert_eq!(c.as_deref(), Some("cycle"));
}

/// Every column of every table as each of a set of Arrow types, with nulls and odd
/// values: an error or records, never a panic.
#[test]
fn any_column_of_any_type_never_panics() {
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(NullArray::new(3)),
        Arc::new(StringArray::from(vec![Some(""), None, Some("x")])),
        Arc::new(Int32Array::from(vec![Some(-1), None, Some(i32::MAX)])),
        Arc::new(Int64Array::from(vec![i64::MIN, 0, i64::MAX])),
        Arc::new(Float64Array::from(vec![f64::NAN, -0.0, f64::INFINITY])),
        Arc::new(Float32Array::from(vec![Some(1.5), None, Some(-3.0)])),
        Arc::new(BooleanArray::from(vec![true, false, true])),
        Arc::new(Date32Array::from(vec![i32::MIN, 0, i32::MAX])),
        Arc::new(Date64Array::from(vec![i64::MIN, 0, i64::MAX])),
        Arc::new(TimestampNanosecondArray::from(vec![i64::MIN, 0, i64::MAX])),
        Arc::new(TimestampSecondArray::from(vec![i64::MIN, 0, i64::MAX]).with_timezone("+05:30")),
        Arc::new(
            Decimal128Array::from(vec![i128::MIN + 1, 0, i128::MAX])
                .with_precision_and_scale(38, 38)
                .unwrap(),
        ),
        Arc::new(
            Decimal128Array::from(vec![-1, 10, 99])
                .with_precision_and_scale(38, -20)
                .unwrap(),
        ),
        Arc::new(
            vec![Some("a"), None, Some("b")]
                .into_iter()
                .collect::<DictionaryArray<Int8Type>>(),
        ),
    ];
    fn all<T: ArrowRecord + Debug>(arrays: &[ArrayRef]) {
        for spec in 0..<T as revops::csv::CsvRecord>::COLUMNS.len() {
            for a in arrays {
                let columns: Vec<(&str, ArrayRef)> = <T as revops::csv::CsvRecord>::COLUMNS
                    .iter()
                    .enumerate()
                    .map(|(i, name)| {
                        let array = if i == spec {
                            a.clone()
                        } else {
                            arrays[1].clone()
                        };
                        (*name, array)
                    })
                    .collect();
                let b = batch(columns);
                for on_error in [OnError::Stop, OnError::SkipAndReport] {
                    let _ = read_batches::<T>([&b], Options::new().with_on_error(on_error));
                }
            }
        }
    }
    all::<Lead>(&arrays);
    all::<StageEvent>(&arrays);
    all::<Touch>(&arrays);
    all::<Conversion>(&arrays);
    all::<Spend>(&arrays);
    all::<OpportunityChange>(&arrays);
    all::<PathRow>(&arrays);
    all::<ForecastPoint>(&arrays);
}

#[test]
fn parquet_files_empty_broken_or_missing_columns_are_errors_naming_the_file() {
    let e = Reader::<StageEvent>::from_bytes(Vec::new(), Options::new()).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Io { context: Some(c), .. } if c == "stage_events.parquet"),
        "{e}"
    );
    let e = Reader::<StageEvent>::from_bytes(b"PAR1 not really PAR1".to_vec(), Options::new())
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Io { .. }), "{e}");
    // A file with zero rows reads as no records; one of touches read as stage events
    // is missing a column, named before any row is read.
    let none: Vec<Touch> = Vec::new();
    let file = write_records(&none, Vec::new(), &Options::new()).unwrap();
    let r = Reader::<Touch>::from_bytes(file.clone(), Options::new()).unwrap();
    assert_eq!(r.count(), 0);
    let e = Reader::<StageEvent>::from_bytes(file, Options::new()).unwrap_err();
    assert_eq!(arrow_error(&e).2, Some("stage"));
    // A missing file names its path.
    let e = Reader::<Touch>::from_path("/nonexistent/touches.parquet", Options::new()).unwrap_err();
    assert!(
        e.to_string().contains("/nonexistent/touches.parquet"),
        "{e}"
    );
}

/// Rows are counted across the batches of a file (the writer writes batches of
/// 65 536 records; the reader reads 8 192 rows at a time).
#[test]
fn parquet_errors_count_rows_across_batches() {
    let at = Utc.with_ymd_and_hms(2026, 3, 4, 0, 0, 0).unwrap();
    let mut events: Vec<StageEvent> = (0..20_000)
        .map(|i| StageEvent::new(SubjectId::new(format!("L{i}")).unwrap(), "mql", at))
        .collect();
    events[17_000].stage = " ".into(); // fails validation: an empty stage key
    let mut w = Writer::<StageEvent, _>::new(Vec::new(), &Options::new()).unwrap();
    for e in &events {
        w.write(e).unwrap();
    }
    let file = w.finish().unwrap();
    let e = Reader::<StageEvent>::from_bytes(file.clone(), Options::new())
        .unwrap()
        .find_map(Result::err)
        .unwrap();
    assert_eq!(
        arrow_error(&e),
        (17_000, 2, Some("stage"), "empty: a value is required")
    );
    let mut r = Reader::<StageEvent>::from_bytes(
        file,
        Options::new().with_on_error(OnError::SkipAndReport),
    )
    .unwrap();
    assert_eq!(r.by_ref().filter(Result::is_ok).count(), 19_999);
    assert_eq!(r.report().skipped_rows, 1);
}

#[test]
fn writers_refuse_what_would_not_read_back() {
    let t = Utc.timestamp_opt(1_772_582_400, 1).unwrap();
    let e = to_record_batch(
        &[StageEvent::new(SubjectId::new("L1").unwrap(), "mql", t)],
        &Options::new(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("sub-microsecond"), "{e}");
    let m = Money::new(Decimal::new(1, 10), Currency::USD);
    let at = Utc.timestamp_opt(0, 0).unwrap();
    let c = Conversion::new(SubjectId::new("L1").unwrap(), at, Some(m));
    let e = to_record_batch(&[c], &Options::new()).unwrap_err();
    assert!(e.to_string().contains("more than 9 decimals"), "{e}");
    let lead = Lead::new(LeadId::new("L1").unwrap(), at).with_attribute("industry", "x");
    let e = Writer::<Lead, _>::with_attributes(Vec::new(), ["region"], &Options::new())
        .and_then(|mut w| {
            w.write(&lead)?;
            w.finish()
        })
        .unwrap_err();
    assert!(e.to_string().contains("`industry` has no column"), "{e}");
}

// ---- strings read as the same text in a CSV file does ---------------------------------

/// Rows of text (`None` = null in Arrow, an empty field in CSV), read from a string
/// batch and from a CSV file of the same text: the same records, and the same errors
/// at the same row and column, under both policies.
fn same_as_csv<T: ArrowRecord + PartialEq + Debug>(
    columns: &[&str],
    rows: &[Vec<Option<&'static str>>],
    skip: bool,
) -> Result<(), TestCaseError> {
    let on_error = if skip {
        OnError::SkipAndReport
    } else {
        OnError::Stop
    };
    let mut w = ::csv::WriterBuilder::new().from_writer(Vec::new());
    w.write_record(columns).unwrap();
    for r in rows {
        w.write_record(r.iter().map(|v| v.unwrap_or(""))).unwrap();
    }
    let file = w.into_inner().unwrap();
    let mut csv =
        revops::csv::Reader::<T, _>::new(&file[..], Options::new().with_on_error(on_error))
            .unwrap();
    let mut from_csv = Vec::new();
    let mut csv_error = None;
    for r in csv.by_ref() {
        match r {
            Ok(r) => from_csv.push(r),
            Err(e) => csv_error = Some(e),
        }
    }
    let arrays: Vec<(&str, ArrayRef)> = columns
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let values: StringArray = rows.iter().map(|r| r[i]).collect();
            (*name, Arc::new(values) as ArrayRef)
        })
        .collect();
    let b = if rows.is_empty() {
        let fields: Vec<arrow_schema::Field> = columns
            .iter()
            .map(|c| arrow_schema::Field::new(*c, arrow_schema::DataType::Utf8, true))
            .collect();
        RecordBatch::new_empty(Arc::new(arrow_schema::Schema::new(fields)))
    } else {
        batch(arrays)
    };
    let mut d = Decoder::<T>::new(Options::new().with_on_error(on_error)).unwrap();
    let mut from_arrow = Vec::new();
    let arrow_error = d.decode(&b, &mut from_arrow).err();
    prop_assert_eq!(&from_arrow, &from_csv);
    let located = |e: &Error| match e.kind() {
        ErrorKind::Csv {
            line,
            column,
            reason,
            ..
        } => (*line - 2, column.clone(), reason.clone()),
        ErrorKind::Arrow {
            row,
            column,
            reason,
            ..
        } => (*row, column.clone(), reason.clone()),
        other => panic!("{other:?}"),
    };
    prop_assert_eq!(
        csv_error.as_ref().map(located),
        arrow_error.as_ref().map(located)
    );
    let (a, c) = (d.report(), csv.report());
    prop_assert_eq!(
        (a.rows, a.records, a.skipped_rows),
        (c.rows, c.records, c.skipped_rows)
    );
    prop_assert_eq!(
        a.skipped.iter().map(located).collect::<Vec<_>>(),
        c.skipped.iter().map(located).collect::<Vec<_>>()
    );
    Ok(())
}

/// A value of the pool, mostly its first (valid) one, so that rows often get as far
/// as their last column; sometimes null.
fn cell(pool: &'static [&'static str]) -> impl Strategy<Value = Option<&'static str>> {
    proptest::option::weighted(
        0.95,
        prop_oneof![3 => Just(pool[0]), 2 => proptest::sample::select(pool)],
    )
}

const IDS: &[&str] = &["L1", " L2 ", "", " ", "é漢", "O-1"];
const TIMES: &[&str] = &[
    "2026-03-04T10:11:12Z",
    "2026-03-04",
    "2026-03-04 08:00:00",
    "2026-03-04T10:11:12.123456+02:00",
    "2026-02-30",
    "9999-12-31T23:59:59-01:00",
    "0000-01-01",
    "soon",
    "",
];
const AMOUNTS: &[&str] = &[
    "12.50",
    "0",
    "-1",
    "1e3",
    "1_000",
    " 7 ",
    "",
    "x",
    "79228162514264337593543950336",
];
const CURRENCIES: &[&str] = &["USD", " eur ", "", "QQQ", "XYZ:2", "JPY"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn touch_strings_read_as_csv_text_does(
        rows in proptest::collection::vec(
            (cell(IDS), cell(&["search", " email ", "", "web>inar"]), cell(&["spring", "", " "]),
             cell(TIMES), cell(AMOUNTS), cell(CURRENCIES))
                .prop_map(|(a, b, c, d, e, f)| vec![a, b, c, d, e, f]),
            0..8),
        skip in any::<bool>(),
    ) {
        same_as_csv::<Touch>(&["subject_id", "channel", "campaign", "at", "cost", "currency"], &rows, skip)?;
    }

    #[test]
    fn opportunity_strings_read_as_csv_text_does(
        rows in proptest::collection::vec(
            (cell(IDS), cell(TIMES), cell(&["proposal", "", " won "]), cell(AMOUNTS), cell(CURRENCIES),
             cell(&["2026-06-30", "", "2026-13-01", "2026-06-30T23:00:00-02:00"]),
             cell(&["0.5", "75", "1.5", "NaN", "-0", "", "1.0000001", "inf", "0.75"]),
             cell(&["commit", "Best Case", "", "maybe"]), cell(IDS))
                .prop_map(|(a, b, c, d, e, f, g, h, i)| vec![a, b, c, d, e, f, g, h, i]),
            0..8),
        skip in any::<bool>(),
    ) {
        same_as_csv::<OpportunityChange>(
            &["opportunity_id", "changed_at", "stage", "amount", "currency", "close_date",
              "probability", "forecast_category", "lead_id"],
            &rows,
            skip,
        )?;
    }
}

/// `synth --format parquet` writes the same company as `synth` writes in CSV.
#[cfg(feature = "synth")]
#[test]
fn the_synth_example_writes_the_same_company_as_parquet() {
    let dir = match std::env::var_os("REVOPS_EXAMPLES_DIR") {
        Some(d) => std::path::PathBuf::from(d),
        None => std::env::current_exe()
            .unwrap()
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("examples"),
    };
    let bin = dir.join(format!("synth{}", std::env::consts::EXE_SUFFIX));
    if !bin.is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is absent",
            bin.display()
        );
        return;
    }
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("arrow-synth");
    let run = |format: &str| {
        let folder = out.join(format);
        let status = std::process::Command::new(&bin)
            .args([
                "--leads", "1000", "--seed", "5", "--format", format, "--out",
            ])
            .arg(&folder)
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        folder
    };
    let csv = revops::csv::Dataset::read_dir(run("csv"), Options::new()).unwrap();
    let parquet = read_dir(run("parquet"), Options::new()).unwrap();
    assert!(parquet.missing.is_empty(), "{:?}", parquet.missing);
    assert_eq!(parquet.leads, csv.leads);
    assert_eq!(parquet.stage_events, csv.stage_events);
    assert_eq!(parquet.touches, csv.touches);
    assert_eq!(parquet.conversions, csv.conversions);
    assert_eq!(parquet.spend, csv.spend);
    assert_eq!(parquet.opportunity_history, csv.opportunity_history);
    assert_eq!(parquet.forecasts, csv.forecasts);
    assert_eq!(parquet.leads.len(), 1000);
}
