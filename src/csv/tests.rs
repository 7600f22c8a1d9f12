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
