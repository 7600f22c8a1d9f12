//! The example programs: unit tests of their shared command-line code
//! (`examples/common`), and each program run with hostile flag values: every error is
//! one readable line on stderr (`Error: ...`, never a `Debug` dump or a panic) with a
//! non-zero exit, and every program answers `--help`.
//!
//! The program runs use the example binaries `cargo test` builds beside this test
//! binary (`target/debug/examples/`), or those in `REVOPS_EXAMPLES_DIR` when set. When
//! they are absent (e.g. `cargo test --test it`, which does not build examples) these
//! tests skip with a notice, and fail when `CI` is set.

#[path = "../../examples/common/mod.rs"]
mod common;

use revops::error::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;
use common::{
    DataOnly, DaysSummary, Format, QUICK_LEADS, check_folder, in_file, io_error, one_line,
    positive_amount, usage_error,
};
use revops::{Error, distribution::ExactDistribution};

/// A fresh, empty scratch folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("examples-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// ---------------------------------------------------------------- shared code

#[test]
fn usage_errors_are_one_line_naming_the_flag() {
    let cases: &[(&[&str], &str)] = &[
        (&["--foo"], "--foo"),
        (&["--leads", "0"], "--leads"),
        (&["--leads", "abc"], "--leads"),
        (&["--leads", "99999999999999"], "--leads"),
        (&["--data", "/no/such/folder"], "--data"),
        (&["--quick", "--leads", "2000"], "--quick"),
        (&["--format", "xml"], "possible values: table, json"),
        (&["--data"], "--data"),
    ];
    for (args, names) in cases {
        let argv = std::iter::once("example").chain(args.iter().copied());
        let e = DataOnly::try_parse_from(argv).expect_err("a bad command line");
        let line = usage_error(&e);
        assert!(!line.contains('\n'), "{args:?}: {line:?}");
        assert!(
            line.contains(names),
            "{args:?}: {line:?} does not name {names}"
        );
        assert!(line.ends_with("; see --help"), "{line}");
        assert!(!line.starts_with("error:"), "{line}");
    }
}

#[test]
fn data_flags_defaults_and_quick() {
    let d = DataOnly::try_parse_from(["x"]).unwrap();
    assert_eq!(d.data.leads_or(100_000), 100_000);
    assert_eq!(d.data.seed(), 7);
    assert_eq!(d.output.format, Format::Table);
    let d = DataOnly::try_parse_from(["x", "--quick", "--format", "json"]).unwrap();
    assert_eq!(d.data.leads_or(100_000), QUICK_LEADS);
    assert_eq!(d.output.format, Format::Json);
    let d = DataOnly::try_parse_from(["x", "--leads", "1_000_000", "--seed", "3"]).unwrap();
    assert_eq!(d.data.leads_or(100_000), 1_000_000);
    assert_eq!(d.data.seed(), 3);
}

#[test]
fn amounts_must_be_positive_decimals() {
    assert_eq!(
        positive_amount("1_500.50").unwrap(),
        "1500.50".parse().unwrap()
    );
    for bad in ["0", "-1", "abc", "1e9", "", "NaN"] {
        assert!(positive_amount(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_folder_is_checked_before_it_is_read() {
    let dir = scratch("folder-check");
    // Nothing there at all.
    let e = check_folder(&dir, &[]).unwrap_err().to_string();
    assert!(e.contains("none of the canonical files"), "{e}");
    // A folder where a file should be is an error, not a missing file.
    std::fs::create_dir(dir.join("leads.csv")).unwrap();
    std::fs::write(dir.join("touches.csv"), "subject_id,channel,campaign,at\n").unwrap();
    let e = check_folder(&dir, &[]).unwrap_err().to_string();
    assert!(
        e.contains(&dir.join("leads.csv").display().to_string()),
        "{e}"
    );
    assert!(e.contains("not a file"), "{e}");
    // A file the example needs is named when missing.
    std::fs::remove_dir(dir.join("leads.csv")).unwrap();
    let e = check_folder(&dir, &["leads.csv", "touches.csv"])
        .unwrap_err()
        .to_string();
    assert!(e.contains("no leads.csv"), "{e}");
    assert!(check_folder(&dir, &["touches.csv"]).is_ok());
}

#[test]
fn io_errors_name_the_path_and_what_was_done() {
    let path = Path::new("/some/where/report");
    let e =
        io_error("creating folder", path)(std::io::Error::from(std::io::ErrorKind::AlreadyExists));
    let text = e.to_string();
    assert!(
        text.contains("creating folder /some/where/report"),
        "{text}"
    );
    // A reader that could not read its file at all reports "line 0": it becomes an
    // I/O error naming the path.
    let csv0 = Error::from(ErrorKind::Csv {
        source_name: "paths.csv".into(),
        line: 0,
        column: None,
        reason: "Is a directory (os error 21)".into(),
    });
    let text = in_file("reading paths", path)(csv0).to_string();
    assert!(!text.contains("line 0"), "{text}");
    assert!(text.contains("reading paths /some/where/report"), "{text}");
    // A bad row names the file given, not only the canonical name.
    let row = Error::from(ErrorKind::Csv {
        source_name: "maven_crm_sales_pipeline.csv".into(),
        line: 3,
        column: Some("amount".into()),
        reason: "bad".into(),
    });
    let text = in_file("reading", Path::new("/data/my.csv"))(row).to_string();
    assert!(text.starts_with("/data/my.csv line 3"), "{text}");
}

#[test]
fn one_line_joins_lines() {
    assert_eq!(one_line("a\n\n  b \nc"), "a; b; c");
}

#[test]
fn duration_summaries_in_json_are_days() {
    let mut d = ExactDistribution::default();
    d.add(2 * 86_400);
    d.add(4 * 86_400);
    let s = DaysSummary::from(&d.finish().unwrap().unwrap());
    assert_eq!((s.count, s.mean, s.min, s.max), (2, 3.0, 2.0, 4.0));
}

// ---------------------------------------------------------------- the programs

/// The example binary `name`, or `None` after a notice when it was not built.
fn example(name: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("REVOPS_EXAMPLES_DIR") {
        Some(d) => PathBuf::from(d),
        None => std::env::current_exe()
            .ok()?
            .parent()?
            .parent()?
            .join("examples"),
    };
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "example binary {} is absent and CI is set (run `cargo test`, which builds the examples)",
        path.display()
    );
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "skipped: example binary {} is absent (`cargo test` builds it)",
            path.display()
        );
    }
    None
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(name: &str, args: &[&str]) -> Option<Run> {
    let bin = example(name)?;
    let out = Command::new(&bin)
        .args(args)
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", bin.display()));
    Some(Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// `name args` must fail with one readable line on stderr that contains `expect`.
fn fails(name: &str, args: &[&str], expect: &str) {
    let Some(r) = run(name, args) else { return };
    let what = format!("{name} {args:?}");
    assert!(
        matches!(r.code, Some(1 | 2)),
        "{what}: exit {:?} (stderr: {})",
        r.code,
        r.stderr
    );
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "{what}: stderr is not one line:\n{}",
        r.stderr
    );
    let line = lines[0];
    assert!(line.starts_with("Error: "), "{what}: {line}");
    assert!(
        !line.contains(" { ") && !line.contains("panicked"),
        "{what}: not a readable message: {line}"
    );
    assert!(
        line.contains(expect),
        "{what}: {line:?} does not say {expect:?}"
    );
}

const EXAMPLES: [&str; 7] = [
    "attribution",
    "demo",
    "forecast_accuracy",
    "plan",
    "synth",
    "unit_economics",
    "waterfall",
];

#[test]
fn every_example_answers_help_and_rejects_unknown_flags() {
    for name in EXAMPLES {
        let Some(r) = run(name, &["--help"]) else {
            return;
        };
        assert_eq!(r.code, Some(0), "{name} --help: {}", r.stderr);
        assert!(r.stdout.contains("Usage:"), "{name} --help: {}", r.stdout);
        assert!(r.stderr.is_empty(), "{name} --help: {}", r.stderr);
        fails(name, &["--no-such-flag"], "--no-such-flag");
    }
}

#[test]
fn data_folders_are_checked() {
    let empty = scratch("empty-folder");
    let dir_as_file = scratch("leads-is-a-folder");
    std::fs::create_dir(dir_as_file.join("leads.csv")).unwrap();
    std::fs::write(
        dir_as_file.join("stage_events.csv"),
        "subject_id,stage,at\n",
    )
    .unwrap();
    let leads = dir_as_file.join("leads.csv").display().to_string();
    for name in [
        "waterfall",
        "demo",
        "unit_economics",
        "plan",
        "forecast_accuracy",
    ] {
        fails(name, &["--data", empty.to_str().unwrap()], "reading folder");
        fails(name, &["--data", "/no/such/folder"], "does not exist");
    }
    for name in ["waterfall", "demo", "unit_economics", "plan", "attribution"] {
        fails(name, &["--data", dir_as_file.to_str().unwrap()], &leads);
    }
}

#[test]
fn waterfall_flags() {
    fails(
        "waterfall",
        &["--quick", "--window", "99999999999999"],
        "--window",
    );
    fails("waterfall", &["--quick", "--window", "-5"], "--window");
    fails("waterfall", &["--quick", "--window", "x"], "--window");
    fails("waterfall", &["--quick", "--by", "bogus"], "--by");
    fails("waterfall", &["--quick", "--by", ""], "--by");
    fails("waterfall", &["--quick", "--period", "decade"], "--period");
    fails(
        "waterfall",
        &["--quick", "--as-of", "2020-13-01"],
        "--as-of",
    );
    fails(
        "waterfall",
        &["--quick", "--as-of", "1900-01-01"],
        "before the first lead",
    );
    fails("waterfall", &["--quick", "--anchor", "bogus"], "bogus");
    fails(
        "waterfall",
        &["--quick", "--mode", "period", "--window", "30"],
        "--window",
    );
    fails("waterfall", &["--quick", "--leads", "0"], "--leads");
    fails(
        "waterfall",
        &["--quick", "--leads", "2000"],
        "cannot be used",
    );
    fails("waterfall", &["--quick", "--funnel", "/"], "--funnel");
    fails("waterfall", &["--olist", "/no/such"], "--olist");
}

#[test]
fn attribution_flags() {
    fails(
        "attribution",
        &["--quick", "--currency", "ZZZ"],
        "--currency",
    );
    fails("attribution", &["--quick", "--models", ""], "no model");
    fails(
        "attribution",
        &["--quick", "--models", "first,first"],
        "twice",
    );
    fails("attribution", &["--quick", "--models", "bogus"], "bogus");
    fails(
        "attribution",
        &["--quick", "--delimiter", ""],
        "--delimiter",
    );
    fails(
        "attribution",
        &["--quick", "--delimiter", ";"],
        "--delimiter",
    );
    fails("attribution", &["--paths", "/"], "not a file");
    fails(
        "attribution",
        &["--paths", "/no/such.csv"],
        "does not exist",
    );
    let dir = scratch("attribution-paths");
    let paths = dir.join("paths.csv");
    std::fs::write(&paths, "nothing,useful\n1,2\n").unwrap();
    fails(
        "attribution",
        &["--paths", paths.to_str().unwrap()],
        paths.to_str().unwrap(),
    );
}

#[test]
fn attribution_json_money_is_money_serde() {
    let Some(r) = run(
        "attribution",
        &["--quick", "--models", "first,linear", "--format", "json"],
    ) else {
        return;
    };
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let mut seen = 0;
    for m in v["models"].as_array().unwrap() {
        for c in m["channels"].as_array().unwrap() {
            let revenue = &c["revenue"];
            let amount = revenue["amount"]
                .as_str()
                .expect("revenue is Money's serde form");
            assert_eq!(revenue["currency"], "USD");
            let decimals = amount.split_once('.').map_or(0, |(_, f)| f.len());
            assert!(decimals >= 2, "{amount}: fewer decimals than cents");
            seen += 1;
        }
    }
    assert!(seen > 0);
}

/// `--models` is a list of `AttributionModel`s read by clap: parameters use `:`, so
/// a custom milestone model sits in a comma-separated list; aliases read as their
/// model (and a model listed under two names is listed twice); the 40/20/40 model
/// is found as `u_shaped`; columns are named by the model's canonical text.
#[test]
fn attribution_models_are_one_typed_list() {
    let Some(r) = run(
        "attribution",
        &[
            "--quick",
            "--models",
            "u_shaped,first_and_lead,milestones:first_touch=0.5:inquiry=0.5:rest=0,markov:2,shapley_ordered",
            "--format",
            "json",
        ],
    ) else {
        return;
    };
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let names: Vec<&str> = v["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["model"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "position_based",
            "first_and_lead",
            "milestones:first_touch=0.5:inquiry=0.5:rest=0",
            "markov:2",
            "shapley_ordered"
        ]
    );
    // first_and_lead is the same weights as the custom 50/50 milestones.
    assert_eq!(v["models"][1]["channels"], v["models"][2]["channels"]);
    fails(
        "attribution",
        &["--quick", "--models", "first,first_touch"],
        "twice",
    );
    fails(
        "attribution",
        &["--quick", "--models", "milestones:first_touch=1,rest=0"],
        "separated by `:`",
    );
    fails(
        "attribution",
        &["--quick", "--models", "markov:0"],
        "--models",
    );
}

/// An aggregated paths file reports its journeys (conversions + nulls), and its rows
/// separately: 2 rows holding 3 + 2 and 1 + 4 journeys are 10 journeys.
#[test]
fn attribution_paths_count_journeys_not_rows() {
    let dir = scratch("attribution-paths");
    let file = dir.join("paths.csv");
    std::fs::write(
        &file,
        "path,total_conversions,total_conversion_value,total_null\na>b,3,30.00,2\nb,1,5.00,4\n",
    )
    .unwrap();
    let Some(r) = run(
        "attribution",
        &[
            "--paths",
            file.to_str().unwrap(),
            "--models",
            "first",
            "--format",
            "json",
        ],
    ) else {
        return;
    };
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["journeys"], 10.0);
    assert_eq!(v["path_rows"], 2);
    assert_eq!(v["conversions"], 4.0);
}

#[test]
fn demo_flags() {
    let dir = scratch("demo-out");
    let file = dir.join("a-file");
    std::fs::write(&file, "x").unwrap();
    fails(
        "demo",
        &["--quick", "--out", file.to_str().unwrap()],
        file.to_str().unwrap(),
    );
    fails("demo", &["--quick", "--out", ""], "--out");
    fails(
        "demo",
        &["--olist", "/", "--maven", "/etc/hostname"],
        "cannot be used",
    );
    fails("demo", &["--maven", "/"], "not a file");
    fails("demo", &["--leads", "-3"], "--leads");
}

#[test]
fn forecast_accuracy_flags() {
    fails(
        "forecast_accuracy",
        &["--quick", "--quota", "-1"],
        "--quota",
    );
    fails("forecast_accuracy", &["--quick", "--quota", "0"], "--quota");
    fails(
        "forecast_accuracy",
        &["--quick", "--quota", "lots"],
        "--quota",
    );
    fails("forecast_accuracy", &["--maven", "/"], "not a file");
    let dir = scratch("not-maven");
    let file = dir.join("not-maven.csv");
    std::fs::write(&file, "a,b\n1,2\n").unwrap();
    fails(
        "forecast_accuracy",
        &["--maven", file.to_str().unwrap()],
        file.to_str().unwrap(),
    );
    fails(
        "forecast_accuracy",
        &["--quick", "--format", "xml"],
        "--format",
    );
}

#[test]
fn forecast_accuracy_json_cycle_is_in_days() {
    let Some(file) = crate::fixtures::shared("real/maven_crm_sales_pipeline.csv") else {
        return;
    };
    let Some(r) = run(
        "forecast_accuracy",
        &["--maven", file.to_str().unwrap(), "--format", "json"],
    ) else {
        return;
    };
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    for key in ["cycle_won_days", "cycle_lost_days"] {
        let mean = v[key]["mean"].as_f64().unwrap();
        // Maven's deals take weeks to months: a mean in seconds would be millions.
        assert!((1.0..1_000.0).contains(&mean), "{key}.mean = {mean}");
        assert!(v[key]["p90"].as_f64().unwrap() < 1_000.0);
    }
}

/// `--by owner` on the Maven file: each of the 30 agents' won / closed and bookings,
/// and the totals (the per-agent numbers are checked in `pipeline_breakdown`).
#[test]
fn forecast_accuracy_by_owner_on_maven() {
    let Some(file) = crate::fixtures::shared("real/maven_crm_sales_pipeline.csv") else {
        return;
    };
    let Some(r) = run(
        "forecast_accuracy",
        &[
            "--maven",
            file.to_str().unwrap(),
            "--by",
            "owner",
            "--format",
            "json",
        ],
    ) else {
        return;
    };
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let by = &v["by"];
    assert_eq!(by["dimension"], "owner");
    let cells = by["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 30);
    let sum = |k: &str| cells.iter().map(|c| c[k].as_u64().unwrap()).sum::<u64>();
    assert_eq!((sum("won"), sum("closed")), (4238, 6711));
    assert_eq!(
        (by["total"]["won"].as_u64(), by["total"]["closed"].as_u64()),
        (Some(4238), Some(6711))
    );
    assert_eq!(by["total"]["bookings"]["amount"], "10005534.00");
    let darcel = cells
        .iter()
        .find(|c| c["value"] == "Darcel Schlecht")
        .unwrap();
    assert_eq!(
        (darcel["won"].as_u64(), darcel["closed"].as_u64()),
        (Some(349), Some(553))
    );
    assert_eq!(darcel["bookings"]["amount"], "1153214.00");
    // The backtest table on the real file: one row per origin × horizon, the in-band
    // flags counting to the summary's coverage.
    backtest_json_is_consistent(&v["projection_backtest"]);
    fails("forecast_accuracy", &["--quick", "--by", ""], "--by");
}

/// The JSON backtest table: rows grouped by origin, 30 / 60 / 90 days each; the
/// in-band flag is the band check; the summaries count the flags.
fn backtest_json_is_consistent(t: &serde_json::Value) {
    let rows = t["rows"].as_array().unwrap();
    let horizons = t["horizons"].as_array().unwrap();
    assert_eq!(horizons.len(), 3);
    let origins = horizons[0]["cells"].as_u64().unwrap();
    assert!(origins >= 6, "{origins} origins");
    assert_eq!(rows.len() as u64, 3 * origins);
    assert_eq!(t["total"]["cells"].as_u64(), Some(3 * origins));
    let mut covered = [0u64; 3];
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r["days"].as_u64(), Some([30, 60, 90][i % 3]));
        assert_eq!(r["origin"], rows[i - i % 3]["origin"]);
        let won = r["actual_wins"].as_f64().unwrap();
        let (lo, hi) = (
            r["wins_band"][0].as_f64().unwrap(),
            r["wins_band"][1].as_f64().unwrap(),
        );
        let in_band = r["in_band"].as_bool().unwrap();
        assert_eq!(in_band, lo <= won && won <= hi, "{r}");
        covered[i % 3] += u64::from(in_band);
    }
    for (h, c) in horizons.iter().zip(covered) {
        assert_eq!(h["covered"].as_u64(), Some(c));
    }
    assert_eq!(t["total"]["covered"].as_u64(), Some(covered.iter().sum()));
}

/// By default the program prints the per-rep table (per owner) and the backtest
/// table, in text and in JSON; both are the library's tables on the same company.
#[test]
fn forecast_accuracy_prints_the_per_rep_and_backtest_tables() {
    use revops::report::{BacktestSpec, BacktestTable, PipelineBreakdown, PipelineBreakdownSpec};
    let Some(r) = run("forecast_accuracy", &["--quick", "--format", "json"]) else {
        return;
    };
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    // The same company, through the library.
    let c = revops::synth::generate(
        &revops::synth::SynthConfig::default()
            .with_leads(QUICK_LEADS)
            .with_seed(7),
    )
    .unwrap();
    let h = revops::pipeline::PipelineHistory::new(
        revops::Funnel::salesforce_opportunity(),
        revops::Currency::USD,
        &c.opportunity_history,
    )
    .unwrap();
    let (_, last) = h.span().unwrap();
    let cal = revops::Calendar::default();
    let quarter = cal.period_of(last, revops::Granularity::Quarter).prev();
    let window = revops::Window::for_period(&quarter, &cal);
    let keys = h
        .keys(
            &revops::breakdown::Dimension::Owner,
            &c.opportunities,
            &c.leads,
        )
        .unwrap();
    let table = PipelineBreakdown::build(
        &h,
        &keys,
        &PipelineBreakdownSpec::new(window.end()).with_window(window),
    )
    .unwrap();
    let by = &v["by"];
    assert_eq!(by["dimension"], "owner");
    let cells = by["cells"].as_array().unwrap();
    assert_eq!(cells.len(), table.rows.len());
    for (cell, row) in cells.iter().zip(&table.rows) {
        assert_eq!(cell["value"].as_str(), row.value.as_deref());
        assert_eq!(cell["won"].as_u64(), Some(row.win_rate.won));
        assert_eq!(
            cell["closed"].as_u64(),
            Some(row.win_rate.ratio.denominator)
        );
        assert_eq!(
            cell["bookings"],
            serde_json::to_value(row.bookings.amount).unwrap()
        );
        assert_eq!(
            cell["pipeline_created"]["deals"].as_u64(),
            row.pipeline_created.as_ref().map(|f| f.deals)
        );
    }
    // The cells add up to the total.
    let sum = |k: &str| cells.iter().map(|c| c[k].as_u64().unwrap()).sum::<u64>();
    for k in ["won", "lost", "closed", "booked_deals"] {
        assert_eq!(Some(sum(k)), by["total"][k].as_u64(), "{k}");
    }
    assert!(
        cells.iter().any(|c| c["value"].is_null()),
        "the missing bucket"
    );
    // The backtest is the library's table at the same origins.
    let segments = revops::plan::DealSegments::from_leads(&h, &c.opportunity_history, &c.leads);
    let bt = BacktestTable::build(&h, last, Some(&segments), &BacktestSpec::default())
        .unwrap()
        .unwrap();
    assert_eq!(v["projection_backtest"], serde_json::to_value(&bt).unwrap());
    assert_eq!(bt.rows.len(), 30);
    backtest_json_is_consistent(&v["projection_backtest"]);
    // The text form has both tables, every row of each.
    let Some(r) = run("forecast_accuracy", &["--quick"]) else {
        return;
    };
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains(&table.to_string()), "per-rep table");
    assert!(r.stdout.contains(&bt.to_string()), "backtest table");
}

#[test]
fn plan_flags() {
    fails("plan", &["--quick", "--per-day", "NaN"], "--per-day");
    fails("plan", &["--quick", "--per-day", "0"], "--per-day");
    fails("plan", &["--quick", "--per-day", "1e300"], "--per-day");
    fails("plan", &["--quick", "--target", "abc"], "--target");
    fails("plan", &["--quick", "--target", "-5"], "--target");
}

#[test]
fn unit_economics_flags() {
    fails(
        "unit_economics",
        &["--quick", "--model", "bogus"],
        "--model",
    );
    fails("unit_economics", &["--quick", "--model", ""], "--model");
    fails("unit_economics", &["--quick", "--seed", "-1"], "--seed");
}

#[test]
fn synth_flags() {
    fails("synth", &[], "--out");
    fails("synth", &["--leads", "5", "--out", "x"], "--leads");
    let dir = scratch("synth-out");
    let file = dir.join("a-file");
    std::fs::write(&file, "x").unwrap();
    fails(
        "synth",
        &["--out", file.to_str().unwrap()],
        file.to_str().unwrap(),
    );
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    use std::process::Stdio;
    let Some(bin) = example("waterfall") else {
        return;
    };
    let mut child = Command::new(&bin)
        .args(["--quick"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away before the program writes (as `| head -0` would).
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(out.status.code(), Some(101), "{stderr}");
}
