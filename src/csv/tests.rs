//! Unit tests of the reader mechanics: line numbers, headers, policies, chunking.

use crate::error::ErrorKind;
use std::io::{self, Read};

use super::*;
use crate::ids::SubjectId;

/// A source that hands out at most `n` bytes per read, to exercise chunk boundaries.
struct Trickle<'a> {
    data: &'a [u8],
    n: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.n.min(out.len()).min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn lines_of_errors(data: &[u8], n: usize) -> Vec<(u64, Option<String>)> {
    let options = Options::new().with_on_error(OnError::SkipAndReport);
    let mut r = Reader::<StageEvent, _>::new(Trickle { data, n }, options).unwrap();
    for item in r.by_ref() {
        item.unwrap();
    }
    r.report()
        .skipped
        .iter()
        .map(|e| match e.kind() {
            ErrorKind::Csv { line, column, .. } => (*line, column.clone()),
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

#[test]
fn line_numbers_follow_the_file_whatever_the_line_ends() {
    let lf = "subject_id,stage,at,reason\nL1,mql,bad,\n\n\nL2,x,bad,\"multi\nline\nreason\"\nL3,sql,2026-01-01,\nL4,x,bad,";
    let crlf = lf.replace('\n', "\r\n");
    let cr = lf.replace('\n', "\r");
    let expected = vec![
        (2, Some("at".to_string())),
        (5, Some("at".to_string())),
        (9, Some("at".to_string())),
    ];
    for n in [1, 2, 3, 7, usize::MAX] {
        assert_eq!(
            lines_of_errors(lf.as_bytes(), n),
            expected,
            "LF, chunks of {n}"
        );
        assert_eq!(
            lines_of_errors(crlf.as_bytes(), n),
            expected,
            "CRLF, chunks of {n}"
        );
        assert_eq!(
            lines_of_errors(cr.as_bytes(), n),
            expected,
            "CR, chunks of {n}"
        );
    }
    // Blank lines before the header and a byte-order mark.
    let data = "\n\r\n\u{feff}subject_id,stage,at\nL1,mql,bad\n";
    assert_eq!(
        lines_of_errors(data.as_bytes(), 1),
        vec![(4, Some("at".into()))]
    );
    let data = "\u{feff}Subject_ID , STAGE,at\r\nL1,mql,bad\r\n";
    assert_eq!(
        lines_of_errors(data.as_bytes(), 5),
        vec![(2, Some("at".into()))]
    );
}

#[test]
fn header_problems_fail_creation() {
    let err =
        |data: &str| Reader::<StageEvent, _>::new(data.as_bytes(), Options::new()).unwrap_err();
    assert_eq!(
        err("subject_id,stage\nL1,mql\n").to_string(),
        "stage_events.csv line 1, column `at`: missing required column `at`"
    );
    assert_eq!(
        err("subject_id,stage,at,Stage\n").to_string(),
        "stage_events.csv line 1, column `Stage`: duplicate column `Stage` in the header"
    );
    assert_eq!(
        err("").to_string(),
        "stage_events.csv line 1: no header row: the input is empty"
    );
    let e = Reader::<Touch, _>::new(
        &b"subject_id,channel,campaign,at,cost\n"[..],
        Options::new().with_source_name("t.csv"),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "t.csv line 1, column `currency`: missing column `currency` (required with `cost`)"
    );
    assert!(matches!(
        Reader::<PathRow, _>::new(&b""[..], Options::new().with_path_separator(""))
            .map_err(|e| e.into_kind()),
        Err(ErrorKind::InvalidParameter {
            name: "path_separator",
            ..
        })
    ));
    assert!(Reader::<PathRow, _>::new(&b""[..], Options::new().with_delimiter(b'"')).is_err());
}

#[test]
fn stop_yields_one_error_then_ends() {
    let data =
        b"at,stage,subject_id,extra\n2026-01-01,mql,L1,x\n2026-01-02,sql,L1\n2026-01-03,won,L1,x\n";
    let mut r = Reader::<StageEvent, _>::new(&data[..], Options::new()).unwrap();
    let first = r.next().unwrap().unwrap();
    assert_eq!(first.subject, SubjectId::new("L1").unwrap());
    assert_eq!(first.stage, "mql");
    let e = r.next().unwrap().unwrap_err();
    assert_eq!(
        e,
        Error::from(ErrorKind::Csv {
            source_name: "stage_events.csv".into(),
            line: 3,
            column: None,
            reason: "wrong number of fields: the header has 4, this row has 3".into(),
        })
    );
    assert!(r.next().is_none());
    assert!(r.next().is_none());
    assert_eq!((r.report().rows, r.report().records), (2, 1));
    assert!(r.report().skipped.is_empty());
}

#[test]
fn io_errors_end_the_iteration() {
    struct Failing(usize);
    impl Read for Failing {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::other("disk on fire"));
            }
            let data = b"subject_id,stage,at\nL1,mql,2026-01-01\nL2,";
            let n = data.len().min(out.len());
            out[..n].copy_from_slice(&data[..n]);
            self.0 -= 1;
            Ok(n)
        }
    }
    let options = Options::new().with_on_error(OnError::SkipAndReport);
    let mut r = Reader::<StageEvent, _>::new(Failing(1), options).unwrap();
    assert!(r.next().unwrap().is_ok());
    let e = r.next().unwrap().unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Io { .. }), "{e:?}");
    assert_eq!(e.to_string(), "I/O: disk on fire");
    let source = std::error::Error::source(&e).expect("the I/O error is kept as the source");
    assert_eq!(source.to_string(), "disk on fire");
    assert!(r.next().is_none());
}

#[test]
fn from_path_names_the_file() {
    let e = Reader::<Spend, _>::from_path("/nonexistent/dir/spend_2026.csv", Options::new())
        .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Io { context: Some(c), .. } if c.contains("spend_2026.csv")),
        "{e:?}"
    );
}

mod splitter_equivalence {
    //! The reader splits rows in the simple form itself and hands the rest of the
    //! input to the general parser from the first other row: it must read what the
    //! general parser alone reads (records, errors with their line and column, report).
    use super::*;
    use crate::records::{Lead, OpportunityChange, Touch};
    use proptest::prelude::*;

    /// A report's counts and kept errors, as comparable text.
    type Counts = (u64, u64, u64, Vec<String>);

    /// Everything a reader yields, as comparable text, and its report.
    fn outcome<T: CsvRecord + std::fmt::Debug, R: Read>(
        reader: Result<Reader<T, R>>,
    ) -> (Vec<String>, Option<Counts>) {
        let mut reader = match reader {
            Ok(r) => r,
            Err(e) => return (vec![format!("new: {e}")], None),
        };
        let items = reader
            .by_ref()
            .map(|r| match r {
                Ok(x) => format!("{x:?}"),
                Err(e) => format!("error: {e}"),
            })
            .collect();
        let r = reader.report();
        let skipped = r.skipped.iter().map(ToString::to_string).collect();
        (items, Some((r.rows, r.records, r.skipped_rows, skipped)))
    }

    fn same<T: CsvRecord + std::fmt::Debug>(input: &[u8], chunk: usize, options: &Options) {
        let fast = outcome(Reader::<T, _>::new(
            Trickle {
                data: input,
                n: chunk,
            },
            options.clone(),
        ));
        let general = outcome(Reader::<T, _>::general(input, options.clone()));
        assert_eq!(fast, general, "{:?}", String::from_utf8_lossy(input));
    }

    /// Files of `header` and rows of `fields` mixed with quotes, line breaks of
    /// every kind, blank lines, wrong field counts and bytes that are not UTF-8.
    fn hostile(header: &'static str, fields: Vec<&'static str>) -> impl Strategy<Value = Vec<u8>> {
        let field = prop_oneof![
            8 => prop::sample::select(fields),
            1 => Just("\"a,b\""),
            1 => Just("\"multi\nline\""),
            1 => Just("\"x\"\"y\""),
            1 => Just("ab\"c"),
            1 => Just("\"open"),
            1 => Just(""),
            1 => Just(" "),
            1 => Just("\u{e9}t\u{e9}"),
            1 => Just("\u{a0}"),
        ];
        let row = prop::collection::vec(field, 1..9).prop_map(|f| f.join(","));
        let end = prop_oneof![
            8 => Just("\n"),
            2 => Just("\r\n"),
            1 => Just("\r"),
            1 => Just("\n\n"),
            1 => Just("\r\n\r\n"),
        ];
        let bad_byte = prop_oneof![9 => Just(None), 1 => (0usize..400).prop_map(Some)];
        (
            prop::collection::vec((row, end), 0..30),
            bad_byte,
            any::<bool>(),
        )
            .prop_map(move |(rows, bad, last_end)| {
                let mut s = format!("{header}\n").into_bytes();
                let n = rows.len();
                for (k, (r, e)) in rows.into_iter().enumerate() {
                    s.extend_from_slice(r.as_bytes());
                    if k + 1 < n || last_end {
                        s.extend_from_slice(e.as_bytes());
                    }
                }
                if let Some(at) = bad {
                    let at = 1 + at % s.len();
                    if at < s.len() {
                        s.insert(at, 0xff);
                    }
                }
                s
            })
    }

    const TIMES: [&str; 6] = [
        "2026-03-04T10:11:12Z",
        "2026-03-04 10:11:12",
        "2026-03-04T12:11:12+02:00",
        "2026-03-04",
        "2026-02-30T00:00:00Z",
        "2026-03-04T10:11:12.123456789Z",
    ];

    fn policy(skip: bool) -> Options {
        let o = Options::new().with_kept_errors(4);
        if skip {
            o.with_on_error(OnError::SkipAndReport)
        } else {
            o
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn stage_events_read_as_the_general_parser_reads(
            input in hostile("subject_id,stage,at,cycle,reason", [
                vec!["L1", "L2", " L3 ", "mql", "sql", "1", "x"], TIMES.to_vec()
            ].concat()),
            chunk in prop_oneof![Just(usize::MAX), 1usize..16],
            skip in any::<bool>(),
        ) {
            same::<StageEvent>(&input, chunk, &policy(skip));
        }

        #[test]
        fn touches_read_as_the_general_parser_reads(
            input in hostile("subject_id,channel,campaign,at,cost,currency", [
                vec!["L1", "email", "paid_search", "spring", "1.25", "-1", "0.10", "USD", "EUR", "XX"],
                TIMES.to_vec()
            ].concat()),
            chunk in prop_oneof![Just(usize::MAX), 1usize..16],
            skip in any::<bool>(),
        ) {
            same::<Touch>(&input, chunk, &policy(skip));
        }

        #[test]
        fn leads_read_as_the_general_parser_reads(
            input in hostile("subject_id,created_at,source,campaign,account,owner,segment,industry", [
                vec!["L1", "L2", "email", "c1", "A1", "rep 1", "smb", "retail"], TIMES.to_vec()
            ].concat()),
            chunk in prop_oneof![Just(usize::MAX), 1usize..16],
            skip in any::<bool>(),
        ) {
            same::<Lead>(&input, chunk, &policy(skip));
        }

        #[test]
        fn opportunity_changes_read_as_the_general_parser_reads(
            input in hostile("opportunity_id,changed_at,stage,amount,currency,close_date,probability,forecast_category,lead_id", [
                vec!["O1", "won", "100.00", "1e3", "USD", "2026-03-31", "0.5", "75", "commit", "Best Case", "L1"],
                TIMES.to_vec()
            ].concat()),
            chunk in prop_oneof![Just(usize::MAX), 1usize..16],
            skip in any::<bool>(),
        ) {
            same::<OpportunityChange>(&input, chunk, &policy(skip));
        }
    }

    #[test]
    fn headers_and_edges_read_as_the_general_parser_reads() {
        for input in [
            "",
            "\n\n",
            "subject_id,stage,at",
            "subject_id,stage,at\n",
            "\u{feff}subject_id,stage,at\r\nL1,mql,2026-01-01\r\n",
            "\r\n\"subject_id\nx\",stage,at\nL1,mql,2026-01-01\n",
            "subject_id,stage\nL1,mql\n",
            "subject_id,stage,at\nL1,mql,2026-01-01\rL2,sql,2026-01-02",
            "subject_id,stage,at\n\"L1\",mql,2026-01-01\nL2,sql,2026-01-02\n",
            "subject_id,stage,at\nL1,mql,2026-01-01,extra\n   \n\t\nL2,sql,2026-01-02",
        ] {
            for skip in [false, true] {
                for chunk in [1, 3, usize::MAX] {
                    same::<StageEvent>(input.as_bytes(), chunk, &policy(skip));
                }
            }
        }
    }
}
