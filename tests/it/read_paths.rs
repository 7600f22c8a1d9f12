//! `Journeys::read_paths_csv`: the same journeys, errors, lines and report as a
//! `Reader<PathRow>` whose records are added in order.

use proptest::prelude::*;
use revops::csv::{OnError, Options, ReadReport, Reader};
use revops::{
    Currency, PathRow,
    attribution::{JourneyOptions, Journeys, MarkovCounts, MarkovOptions, RuleModel},
};

fn empty() -> Journeys {
    Journeys::new(JourneyOptions::default().with_currency(Currency::USD)).unwrap()
}

/// What a reading gave: the journeys (their serialised state: every array), the
/// error text, and the report (with its errors as text).
#[derive(Debug, PartialEq)]
struct Outcome {
    journeys: serde_json::Value,
    error: Option<String>,
    report: Option<(u64, u64, u64, Vec<String>)>,
}

fn report(r: &ReadReport) -> (u64, u64, u64, Vec<String>) {
    (
        r.rows,
        r.records,
        r.skipped_rows,
        r.skipped.iter().map(ToString::to_string).collect(),
    )
}

/// The general reader, its records added in order (the rows before an error too).
fn general(input: &[u8], options: &Options) -> Outcome {
    let mut journeys = empty();
    let mut reader = match Reader::<PathRow, _>::new(input, options.clone()) {
        Ok(r) => r,
        Err(e) => {
            return Outcome {
                journeys: serde_json::to_value(&journeys).unwrap(),
                error: Some(e.to_string()),
                report: None,
            };
        }
    };
    let mut rows = Vec::new();
    let mut error = None;
    for r in reader.by_ref() {
        match r {
            Ok(row) => rows.push(row),
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
    }
    journeys.add_batch(&rows).unwrap();
    Outcome {
        journeys: serde_json::to_value(&journeys).unwrap(),
        report: error.is_none().then(|| report(reader.report())),
        error,
    }
}

fn fast(input: &[u8], options: &Options) -> Outcome {
    let mut journeys = empty();
    let result = journeys.read_paths_csv(input, options.clone());
    Outcome {
        journeys: serde_json::to_value(&journeys).unwrap(),
        error: result.as_ref().err().map(ToString::to_string),
        report: result.ok().as_ref().map(report),
    }
}

/// `paths.csv` text with hostile rows mixed in: quotes (also across lines), CRLF and
/// bare CR, blank lines, padded and Unicode-padded channels, empty channels, counts
/// and values in every form the general parser takes or refuses, short rows.
fn hostile(delimiter: char, separator: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let channel = prop_oneof![
        6 => prop::sample::select(vec!["email", "search", "webinar", "ch_1", "x"]).prop_map(String::from),
        1 => Just(" padded ".to_string()),
        1 => Just("\u{a0}nbsp".to_string()),
        1 => Just("\u{b}vt".to_string()),
        1 => Just("é".to_string()),
        1 => Just(String::new()),
    ];
    let path = prop::collection::vec(channel, 1..4).prop_map(move |c| c.join(separator));
    let path = prop_oneof![
        8 => path,
        1 => Just("\"email\"".to_string()),
        1 => Just("\"multi\nline\"".to_string()),
        1 => Just("\"open".to_string()),
        1 => Just("  ".to_string()),
    ];
    let count = prop_oneof![
        8 => (0u32..20).prop_map(|n| n.to_string()),
        1 => Just("1.5".to_string()),
        1 => Just("1e2".to_string()),
        1 => Just(" 3".to_string()),
        1 => Just("-1".to_string()),
        1 => Just("NaN".to_string()),
        1 => Just("inf".to_string()),
        1 => Just(String::new()),
        1 => Just("9999999999999999".to_string()),
    ];
    let value = prop_oneof![
        6 => (0u32..100_000, 0u32..4).prop_map(|(m, s)| {
            let t = m.to_string();
            match s { 0 => t, s => format!("{t}.{}", "0".repeat(s as usize)) }
        }),
        2 => (0u64..u64::MAX).prop_map(|m| format!("{}.{}", m / 1000, m % 1000)),
        1 => Just("0.00".to_string()),
        1 => Just("007.10".to_string()),
        1 => Just(".5".to_string()),
        1 => Just("5.".to_string()),
        1 => Just("-2".to_string()),
        1 => Just("1e3".to_string()),
        1 => Just("1_000".to_string()),
        1 => Just("12345678901234567890123456789".to_string()),
        1 => Just("\"12.5\"".to_string()),
    ];
    let d = delimiter.to_string();
    let row = prop_oneof![
        12 => (path, count.clone(), value, count).prop_map(move |(p, c, v, n)| [p, c, v, n].join(&d)),
        1 => Just("email".to_string()),
        1 => Just(String::new()),
    ];
    let end = prop_oneof![6 => Just("\n"), 2 => Just("\r\n"), 1 => Just("\r"), 1 => Just("\n\n")];
    let header = format!(
        "path{delimiter}total_conversions{delimiter}total_conversion_value{delimiter}total_null"
    );
    (prop::collection::vec((row, end), 0..40), any::<bool>()).prop_map(move |(rows, last)| {
        let mut s = format!("{header}\n");
        let n = rows.len();
        for (i, (r, e)) in rows.into_iter().enumerate() {
            s.push_str(&r);
            if i + 1 < n || last {
                s.push_str(e);
            }
        }
        s.into_bytes()
    })
}

fn options(delimiter: char, separator: &str, skip: bool, kept: usize) -> Options {
    Options::new()
        .with_delimiter(delimiter as u8)
        .with_path_separator(separator)
        .with_on_error(if skip {
            OnError::SkipAndReport
        } else {
            OnError::Stop
        })
        .with_kept_errors(kept)
}

fn dialect() -> impl Strategy<Value = (char, &'static str)> {
    (
        prop::sample::select(vec![',', ';', '\t']),
        prop::sample::select(vec![">", " > ", "|", "->"]),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// The fast reader gives exactly what the general reader plus `add_batch` gives:
    /// the same journeys (every array of their state), the same first error with its
    /// line and column, the same report.
    #[test]
    fn fast_reader_equals_reader_then_add(
        (input, delimiter, separator) in dialect().prop_flat_map(|(d, s)| (hostile(d, s), Just(d), Just(s))),
        skip in any::<bool>(),
        kept in 0usize..4,
    ) {
        let o = options(delimiter, separator, skip, kept);
        prop_assert_eq!(fast(&input, &o), general(&input, &o));
    }

    /// Appending to journeys that already hold rows: row positions and sums go on.
    #[test]
    fn reading_twice_appends(
        (a, b) in (hostile(',', ">"), hostile(',', ">")),
    ) {
        let o = options(',', ">", true, 2);
        let mut fast = empty();
        let fast_read = fast
            .read_paths_csv(&a[..], o.clone())
            .and_then(|_| fast.read_paths_csv(&b[..], o.clone()));
        let mut slow = empty();
        let mut slow_read = Ok(());
        for input in [&a, &b] {
            let rows: Vec<PathRow> = Reader::<PathRow, _>::new(&input[..], o.clone())
                .unwrap()
                .filter_map(Result::ok)
                .collect();
            slow_read = slow_read.and_then(|()| slow.add_batch(&rows));
        }
        // A sum of values beyond a Decimal fails both ways (the wording differs: the
        // blocks' merge reports the overflow, add_batch names the row).
        prop_assert_eq!(fast_read.is_err(), slow_read.is_err());
        if fast_read.is_err() {
            return Ok(());
        }
        prop_assert_eq!(serde_json::to_value(&fast).unwrap(), serde_json::to_value(&slow).unwrap());
    }
}

#[test]
fn header_errors_are_the_readers() {
    for input in [
        "",
        "\n\n",
        "path,total_conversions,total_conversion_value\n",
        "\"path\n,x\n",
        "\npath,path,total_conversions,total_conversion_value,total_null\n",
    ] {
        let o = Options::new();
        assert_eq!(
            fast(input.as_bytes(), &o),
            general(input.as_bytes(), &o),
            "{input:?}"
        );
    }
}

#[test]
fn the_channelattribution_file_reads_as_the_general_reader_reads_it() {
    let Some(path) = crate::fixtures::shared("attribution/channelattribution_Data.csv") else {
        return;
    };
    let bytes = std::fs::read(path).unwrap();
    let o = Options::new().with_delimiter(b';');
    let f = fast(&bytes, &o);
    assert_eq!(f.report.as_ref().map(|r| r.1), Some(10_000));
    assert_eq!(f, general(&bytes, &o));
}

#[cfg(feature = "synth")]
#[test]
fn synthetic_paths_read_back_and_attribute_as_the_rows() {
    use revops::csv::Writer;
    use revops::synth::{PathsConfig, path_rows};
    let config = PathsConfig::default()
        .with_journeys(20_000)
        .with_channels(40);
    let rows: Vec<PathRow> = path_rows(&config).unwrap().collect();
    let mut w =
        Writer::<PathRow, _>::new(Vec::new(), Options::new().with_path_separator(" > ")).unwrap();
    for r in &rows {
        w.write(r).unwrap();
    }
    let bytes = w.finish().unwrap();
    let mut journeys = empty();
    let report = journeys.read_paths_csv(&bytes[..], Options::new()).unwrap();
    assert_eq!(report.records, 20_000);
    let mut direct = empty();
    direct.add_batch(&rows).unwrap();
    assert_eq!(
        serde_json::to_value(&journeys).unwrap(),
        serde_json::to_value(&direct).unwrap()
    );
    assert_eq!(
        journeys.attribute(&RuleModel::Linear).unwrap(),
        direct.attribute(&RuleModel::Linear).unwrap()
    );
    let m = |j: &Journeys| {
        MarkovCounts::from_journeys(j, MarkovOptions::default())
            .unwrap()
            .finish()
            .unwrap()
    };
    assert_eq!(m(&journeys), m(&direct));
}
