//! The lean Parquet funnel readers (`FunnelData::read_leads_parquet`,
//! `FunnelEvents::read_stage_events_parquet`) against the general Parquet reader and
//! the lean CSV readers: the same leads, fingerprint, events, errors, reports and
//! reports' numbers; and the waterfall example giving the same JSON from a Parquet
//! folder as from the CSV folder.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use revops::arrow::ArrowRecord;
use revops::arrow::parquet::{Reader, write_records};
use revops::csv::{OnError, Options, write_records as write_csv};
use revops::funnel::{
    Breakdowns, CohortSpec, Dimension, FunnelData, FunnelEvents, PathOptions, cohort_report,
};
use revops::synth::{SynthConfig, generate};
use revops::{Funnel, Granularity, Lead, StageEvent};

/// A fresh scratch folder.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("funnel-parquet-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A small synthetic company's leads and stage events as CSV in `csv` and as Parquet
/// in `pq`.
fn company(csv: &Path, pq: &Path) {
    let c = generate(&SynthConfig::default().with_leads(2_000).with_seed(5)).unwrap();
    fn put<T: ArrowRecord + Clone>(csv: &Path, pq: &Path, r: &[T]) {
        let o = Options::new();
        std::fs::write(
            csv.join(T::FILE_NAME),
            write_csv(Vec::new(), r, o.clone()).unwrap(),
        )
        .unwrap();
        let f = std::fs::File::create(pq.join(T::PARQUET_FILE_NAME)).unwrap();
        write_records(r, f, &o).unwrap();
    }
    put(csv, pq, &c.leads);
    put(csv, pq, &c.stage_events);
}

/// Every lead's id, creation time and values of `dims`, as text.
fn leads_text(d: &FunnelData<'_>, dims: &[Dimension]) -> Vec<String> {
    (0..d.len())
        .map(|i| {
            let values: Vec<Option<&str>> = dims.iter().map(|x| d.value(i, x)).collect();
            format!("{:?} {:?} {values:?}", d.lead_id(i), d.created_at(i))
        })
        .collect()
}

#[test]
fn lean_parquet_reads_what_lean_csv_and_the_general_reader_read() {
    let dir = scratch("same");
    let (csv, pq) = (dir.join("csv"), dir.join("pq"));
    std::fs::create_dir_all(&csv).unwrap();
    std::fs::create_dir_all(&pq).unwrap();
    company(&csv, &pq);
    let funnel = Funnel::demand_waterfall;
    let dims = [
        Dimension::Source,
        Dimension::Campaign,
        Dimension::Account,
        Dimension::Owner,
        Dimension::Segment,
        Dimension::Attribute("industry".into()),
    ];
    let leads_csv = std::fs::File::open(csv.join("leads.csv")).unwrap();
    let (a, ra) = FunnelData::read_leads_csv(funnel(), leads_csv, Options::new()).unwrap();
    let (b, rb) = FunnelData::read_leads_parquet(
        funnel(),
        pq.join("leads.parquet"),
        Options::new(),
        &Breakdowns::All,
    )
    .unwrap();
    let general: Vec<Lead> = Reader::<Lead>::from_path(pq.join("leads.parquet"), Options::new())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let g = FunnelData::new(funnel(), &general).unwrap();
    assert_eq!(a.fingerprint(), b.fingerprint());
    assert_eq!(g.fingerprint(), b.fingerprint());
    assert_eq!(leads_text(&a, &dims), leads_text(&b, &dims));
    assert_eq!(leads_text(&g, &dims), leads_text(&b, &dims));
    assert!(leads_text(&b, &dims).iter().any(|l| l.contains("Some(")));
    assert_eq!((ra.rows, ra.records), (rb.rows, rb.records));
    assert_eq!(b.attribute_names(), a.attribute_names());

    // Keeping no breakdown: the same leads, no values.
    let (n, _) = FunnelData::read_leads_parquet(
        funnel(),
        pq.join("leads.parquet"),
        Options::new(),
        &Breakdowns::none(),
    )
    .unwrap();
    assert_eq!(n.fingerprint(), b.fingerprint());
    assert!((0..n.len()).all(|i| dims.iter().all(|x| n.value(i, x).is_none())));

    let mut ea = FunnelEvents::new();
    let events_csv = std::fs::File::open(csv.join("stage_events.csv")).unwrap();
    let xa = ea
        .read_stage_events_csv(&a, events_csv, Options::new())
        .unwrap();
    let mut eb = FunnelEvents::new();
    let xb = eb
        .read_stage_events_parquet(&n, pq.join("stage_events.parquet"), Options::new())
        .unwrap();
    let mut eg = FunnelEvents::new();
    let events: Vec<StageEvent> =
        Reader::<StageEvent>::from_path(pq.join("stage_events.parquet"), Options::new())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
    eg.add_batch(&g, &events).unwrap();
    assert_eq!(ea, eb);
    assert_eq!(eg, eb);
    assert_eq!(xa.latest, xb.latest);
    assert_eq!(xb.latest, events.iter().map(|e| e.at).max());
    assert_eq!(xb.report.records, events.len() as u64);

    let spec = CohortSpec::default().with_granularity(Granularity::Month);
    let paths = |d: &FunnelData<'_>, e: &FunnelEvents| {
        e.paths(d, PathOptions::default().with_as_of(xa.latest.unwrap()))
    };
    let ca = cohort_report(&a, &paths(&a, &ea), &spec).unwrap();
    let cb = cohort_report(&n, &paths(&n, &eb), &spec).unwrap();
    assert_eq!(ca, cb);
    let by = spec.clone().with_breakdown(Dimension::Source);
    let ca = cohort_report(&a, &paths(&a, &ea), &by).unwrap();
    let cb = cohort_report(&b, &paths(&b, &eb), &by).unwrap();
    assert_eq!(ca, cb);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Writes one record batch as a Parquet file.
fn write_batch(path: &Path, batch: &RecordBatch) {
    let f = std::fs::File::create(path).unwrap();
    let mut w = ::parquet::arrow::ArrowWriter::try_new(f, batch.schema(), None).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

fn strings(v: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

#[test]
fn lean_parquet_errors_and_reports_are_the_general_readers() {
    let dir = scratch("errors");
    let leads = RecordBatch::try_from_iter([
        (
            "subject_id",
            strings(&[Some("L1"), Some(" L2 "), None, Some("L4"), Some("L5")]),
        ),
        (
            "created_at",
            strings(&[
                Some("2026-01-05T09:00:00Z"),
                Some("2026-01-06"),
                Some("2026-01-07"),
                Some("bad"),
                Some("2026-01-08"),
            ]),
        ),
        (
            "source",
            strings(&[Some("a"), Some(" b"), None, Some("c"), Some("")]),
        ),
        (
            "industry",
            strings(&[Some("x"), None, Some(" y "), Some("z"), Some("w")]),
        ),
    ])
    .unwrap();
    let events = RecordBatch::try_from_iter([
        (
            "subject_id",
            strings(&[Some("L1"), Some("L1"), Some(" L5"), None, Some("L5")]),
        ),
        (
            "stage",
            strings(&[
                Some("mql"),
                Some(" sal "),
                Some("inquiry"),
                Some("mql"),
                Some("won"),
            ]),
        ),
        (
            "at",
            strings(&[
                Some("2026-01-07T10:00:00Z"),
                Some("2026-01-09"),
                Some("2026-01-08"),
                Some("2026-01-10"),
                Some("bad"),
            ]),
        ),
        (
            "reason",
            strings(&[None, Some(" r "), Some("é"), None, None]),
        ),
    ])
    .unwrap();
    let (lp, ep) = (dir.join("leads.parquet"), dir.join("stage_events.parquet"));
    write_batch(&lp, &leads);
    write_batch(&ep, &events);
    let dims = [Dimension::Source, Dimension::Attribute("industry".into())];
    for on_error in [OnError::Stop, OnError::SkipAndReport] {
        let options = Options::new().with_on_error(on_error);
        let lean = FunnelData::read_leads_parquet(
            Funnel::demand_waterfall(),
            &lp,
            options.clone(),
            &Breakdowns::All,
        );
        let mut reader = Reader::<Lead>::from_path(&lp, options.clone()).unwrap();
        let general: Result<Vec<Lead>, _> = reader.by_ref().collect();
        match (&lean, general) {
            (Err(x), Err(y)) => assert_eq!(x.to_string(), y.to_string()),
            (Ok((d, report)), Ok(records)) => {
                assert_eq!(report, reader.report());
                let g = FunnelData::new(Funnel::demand_waterfall(), &records).unwrap();
                assert_eq!(leads_text(d, &dims), leads_text(&g, &dims));
                assert_eq!(d.fingerprint(), g.fingerprint());
                let mut x = FunnelEvents::new();
                let rx = x.read_stage_events_parquet(d, &ep, options.clone());
                let mut r = Reader::<StageEvent>::from_path(&ep, options.clone()).unwrap();
                let records: Result<Vec<StageEvent>, _> = r.by_ref().collect();
                let mut y = FunnelEvents::new();
                let ry = records.and_then(|e| y.add_batch(&g, &e));
                match (rx, ry) {
                    (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                    (Ok(read), Ok(())) => {
                        assert_eq!(&read.report, r.report());
                        assert_eq!(x, y);
                    }
                    (a, b) => panic!("{a:?} vs {b:?}"),
                }
            }
            (a, b) => panic!("{on_error:?}: {a:?} vs {b:?}"),
        }
        if on_error == OnError::Stop {
            let e = lean.unwrap_err().to_string();
            assert!(e.contains("leads.parquet row 2"), "{e}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn waterfall_gives_the_same_json_from_a_parquet_folder() {
    let dir = scratch("waterfall");
    let (csv, pq) = (dir.join("csv"), dir.join("pq"));
    std::fs::create_dir_all(&csv).unwrap();
    std::fs::create_dir_all(&pq).unwrap();
    company(&csv, &pq);
    let run = |data: &Path, by: &[&str]| {
        let exe = std::env::current_exe().unwrap();
        let bin = exe
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("examples/waterfall");
        if !bin.is_file() {
            assert!(
                std::env::var_os("CI").is_none(),
                "{} is absent",
                bin.display()
            );
            return None;
        }
        let mut args = vec![
            "--data",
            data.to_str().unwrap(),
            "--mode",
            "cohort",
            "--format",
            "json",
        ];
        args.extend_from_slice(by);
        let out = std::process::Command::new(&bin)
            .args(&args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        // The origin names the folder; the rest must be the same.
        json.as_object_mut().unwrap().remove("origin");
        Some(json)
    };
    for by in [&[][..], &["--by", "source"][..], &["--by", "industry"][..]] {
        let (Some(a), Some(b)) = (run(&csv, by), run(&pq, by)) else {
            return;
        };
        assert!(a["report"].is_object(), "{a}");
        assert_eq!(a, b, "--by {by:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A leads file of string columns with ids, times and values in and out of the plain
/// form (blank, padded, missing, bad), and an integer attribute column.
fn leads_file() -> impl proptest::strategy::Strategy<Value = RecordBatch> {
    use proptest::prelude::*;
    let pick = |v: &'static [Option<&'static str>]| proptest::sample::select(v.to_vec());
    let row = (
        pick(&[
            Some("L1"),
            Some("L2"),
            Some(" L3 "),
            Some("L4"),
            Some(""),
            None,
        ]),
        pick(&[
            Some("2026-01-05T09:00:00Z"),
            Some("2026-02-06"),
            Some(" 2026-03-07 "),
            Some("bad"),
            None,
        ]),
        pick(&[Some("a"), Some(" b"), Some(""), None]),
        pick(&[Some("acme"), Some("x y"), Some("  "), None]),
        pick(&[Some("x"), Some(" y "), None]),
        proptest::option::of(-3i64..3),
    );
    proptest::collection::vec(row, 0..10).prop_map(|rows| {
        let col = |k: fn(&(_, _, _, _, _, _)) -> Option<&'static str>| {
            strings(&rows.iter().map(k).collect::<Vec<_>>())
        };
        let region: ArrayRef = Arc::new(arrow_array::Int64Array::from(
            rows.iter().map(|r| r.5).collect::<Vec<_>>(),
        ));
        RecordBatch::try_from_iter([
            ("subject_id", col(|r| r.0)),
            ("created_at", col(|r| r.1)),
            ("source", col(|r| r.2)),
            ("account", col(|r| r.3)),
            ("industry", col(|r| r.4)),
            ("region", region),
        ])
        .unwrap()
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// The lean leads reader decodes only the columns of the dimensions it keeps;
    /// it still gives the general reader's leads (in the kept dimensions),
    /// fingerprint, report and errors, whichever dimensions are kept.
    #[test]
    fn lean_parquet_leads_read_only_what_they_keep(
        batch in leads_file(),
        kept in proptest::collection::vec(proptest::prelude::any::<bool>(), 5),
        skip in proptest::prelude::any::<bool>(),
    ) {
        let all = [
            Dimension::Source,
            Dimension::Campaign,
            Dimension::Account,
            Dimension::Attribute("industry".into()),
            Dimension::Attribute("region".into()),
        ];
        let dims: Vec<Dimension> =
            all.iter().zip(&kept).filter(|(_, k)| **k).map(|(d, _)| d.clone()).collect();
        let dir = scratch(&format!("select-{}", std::process::id()));
        let lp = dir.join("leads.parquet");
        write_batch(&lp, &batch);
        let on_error = if skip { OnError::SkipAndReport } else { OnError::Stop };
        let options = Options::new().with_on_error(on_error);
        let keep = Breakdowns::only(dims.clone());
        let lean = FunnelData::read_leads_parquet(Funnel::demand_waterfall(), &lp, options.clone(), &keep);
        let mut reader = Reader::<Lead>::from_path(&lp, options).unwrap();
        let records: Result<Vec<Lead>, _> = reader.by_ref().collect();
        match (lean, records) {
            (Err(x), Err(y)) => proptest::prop_assert_eq!(x.to_string(), y.to_string()),
            (lean, Ok(records)) => match (lean, FunnelData::new(Funnel::demand_waterfall(), &records)) {
                (Err(x), Err(y)) => proptest::prop_assert_eq!(x.to_string(), y.to_string()),
                (Ok((d, report)), Ok(g)) => {
                    proptest::prop_assert_eq!(&report, reader.report());
                    proptest::prop_assert_eq!(d.fingerprint(), g.fingerprint());
                    proptest::prop_assert_eq!(leads_text(&d, &dims), leads_text(&g, &dims));
                }
                (a, b) => proptest::prop_assert!(false, "{:?} vs {:?}", a.map(|x| x.1), b.map(|_| ())),
            },
            (a, b) => proptest::prop_assert!(false, "{:?} vs {:?}", a.map(|x| x.1), b.map(|_| ())),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
