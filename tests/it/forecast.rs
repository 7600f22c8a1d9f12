//! Forecast errors against utilsforecast, calibration and ranking against
//! scikit-learn, and the properties of both accumulators.

use revops::error::ErrorKind;
use std::collections::BTreeMap;

use proptest::prelude::*;
use revops::{
    Error, ForecastPoint, Ratio, forecast::AccuracyBand, forecast::BinStrategy,
    forecast::Calibration, forecast::CalibrationOptions, forecast::ErrorMetrics,
    forecast::ErrorOptions, forecast::ErrorStats, forecast::ForecastErrors, forecast::MaseScale,
    forecast::Outcome, forecast::Prediction, forecast::ProbabilityScores,
    forecast::ZeroActualPolicy,
};
use serde::Deserialize;

// ---------------------------------------------------------------------------
// Oracle plumbing
// ---------------------------------------------------------------------------

#[allow(clippy::print_stderr)]
fn print_worst(oracle: &str, worst: &BTreeMap<String, f64>) {
    for (metric, err) in worst {
        eprintln!("{oracle}: {metric}: max relative error {err:.3e}");
    }
}

/// `|got − want| ≤ 1e-9 · |want|`, or `≤ 1e-12` for values near 0.
fn close(got: f64, want: f64) -> bool {
    let diff = (got - want).abs();
    diff <= 1e-9 * want.abs() || diff <= 1e-12
}

/// Relative error, absolute below 1e-12 in magnitude.
fn rel_error(got: f64, want: f64) -> f64 {
    let diff = (got - want).abs();
    if want.abs() < 1e-12 {
        diff
    } else {
        diff / want.abs()
    }
}

/// Compares and records the worst relative error of `metric`.
fn check(worst: &mut BTreeMap<String, f64>, context: &str, metric: &str, got: f64, want: f64) {
    assert!(
        close(got, want),
        "{context}: {metric}: got {got:e}, want {want:e}"
    );
    let w = worst.entry(metric.to_owned()).or_insert(0.0);
    *w = w.max(rel_error(got, want));
}

// ---------------------------------------------------------------------------
// forecast_errors.json (utilsforecast)
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorOracle {
    source: String,
    notes: Vec<String>,
    series: Vec<SeriesCase>,
    mase: MaseCase,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeriesCase {
    series: String,
    actual: Vec<f64>,
    forecast: Vec<f64>,
    mae: f64,
    mse: f64,
    rmse: f64,
    mape: f64,
    smape: f64,
    bias: f64,
    cfe: f64,
    wape: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MaseCase {
    train: Vec<f64>,
    actual: Vec<f64>,
    forecast: Vec<f64>,
    seasonality: usize,
    value: f64,
}

fn some(x: Option<f64>, what: &str) -> f64 {
    x.unwrap_or_else(|| panic!("{what} should be defined"))
}

fn check_metrics(
    worst: &mut BTreeMap<String, f64>,
    context: &str,
    m: &ErrorMetrics,
    case: &SeriesCase,
) {
    check(worst, context, "mae", some(m.mae, "mae"), case.mae);
    check(worst, context, "mse", some(m.mse, "mse"), case.mse);
    check(worst, context, "rmse", some(m.rmse, "rmse"), case.rmse);
    check(worst, context, "mape", some(m.mape, "mape"), case.mape);
    check(worst, context, "smape", some(m.smape, "smape"), case.smape);
    // The 0–200 % form is the same measure, doubled and in percent.
    check(
        worst,
        context,
        "smape_200 (= 200 × smape)",
        some(m.smape_200, "smape_200"),
        200.0 * case.smape,
    );
    check(worst, context, "bias", some(m.bias, "bias"), case.bias);
    check(worst, context, "cfe", m.cfe, case.cfe);
    check(worst, context, "wape", some(m.wape, "wape"), case.wape);
    // The counts behind the metrics.
    let zeros = case.actual.iter().filter(|&&y| y == 0.0).count() as u64;
    assert_eq!(m.n, case.actual.len() as u64, "{context}: n");
    assert_eq!(m.zero_actual, zeros, "{context}: zero actuals");
    assert_eq!(m.mape_n, m.n - zeros, "{context}: pairs used by MAPE");
    assert_eq!(m.missing_actual, 0, "{context}: missing actuals");
}

#[test]
fn forecast_errors_match_utilsforecast() {
    let text = crate::fixtures::oracle("forecast_errors.json");
    let oracle: ErrorOracle = serde_json::from_str(&text).expect("oracle JSON parses");
    assert!(oracle.source.contains("utilsforecast"), "{}", oracle.source);
    // The notes state the conventions this module documents and follows.
    let notes = oracle.notes.join("\n");
    for convention in [
        "mape drops points whose actual is 0",
        "fraction, not percent",
        "0/0 counts as 0",
        "bias = mean(forecast - actual)",
        "cfe = sum(forecast - actual)",
        "wape = sum|y-f| / sum|y|",
    ] {
        assert!(
            notes.contains(convention),
            "notes no longer say `{convention}`"
        );
    }
    assert!(!oracle.series.is_empty());

    let options = ErrorOptions::default();
    let mut worst = BTreeMap::new();
    let mut points = Vec::new();
    let mut all_forecasts = Vec::new();
    let mut all_actuals = Vec::new();
    for case in &oracle.series {
        assert_eq!(case.actual.len(), case.forecast.len());
        // From raw pairs…
        let m = ErrorStats::from_pairs(&case.forecast, &case.actual, options)
            .expect("finite oracle values")
            .finish()
            .expect("skip policy");
        check_metrics(
            &mut worst,
            &format!("series {} (pairs)", case.series),
            &m,
            case,
        );

        // …and from points, with a missing actual that must not change anything.
        for (i, (&f, &y)) in case.forecast.iter().zip(&case.actual).enumerate() {
            points.push(ForecastPoint::new(
                &case.series,
                format!("t{i:02}"),
                f,
                Some(y),
            ));
        }
        points.push(ForecastPoint::new(&case.series, "t99", 1.0, None));
        all_forecasts.extend_from_slice(&case.forecast);
        all_actuals.extend_from_slice(&case.actual);
    }
    let report = ForecastErrors::from_points(&points, options)
        .expect("finite oracle values")
        .finish()
        .expect("skip policy");
    for case in &oracle.series {
        let mut m = report.series[&case.series].clone();
        assert_eq!(m.missing_actual, 1);
        m.missing_actual = 0;
        check_metrics(
            &mut worst,
            &format!("series {} (points)", case.series),
            &m,
            case,
        );
    }
    // Pooled = every point of every series as one group.
    let pooled = ErrorStats::from_pairs(&all_forecasts, &all_actuals, options)
        .expect("finite")
        .finish()
        .expect("skip policy");
    assert_eq!(report.pooled.n, pooled.n);
    assert_eq!(report.pooled.missing_actual, oracle.series.len() as u64);
    for (got, want) in [
        (report.pooled.mae, pooled.mae),
        (report.pooled.rmse, pooled.rmse),
        (report.pooled.mape, pooled.mape),
        (report.pooled.wape, pooled.wape),
        (report.pooled.smape, pooled.smape),
        (report.pooled.bias, pooled.bias),
    ] {
        assert!(close(some(got, "pooled"), some(want, "pooled")));
    }

    // A zero actual under the strict policy names the first such point.
    let err = ForecastErrors::from_points(
        &points,
        ErrorOptions::default().with_zero_actual(ZeroActualPolicy::Error),
    )
    .expect("finite")
    .finish()
    .expect_err("the oracle has zero actuals");
    let first_zero = points
        .iter()
        .position(|p| p.actual == Some(0.0))
        .expect("a zero actual");
    match err.into_kind() {
        ErrorKind::InvalidField { record, field, .. } => {
            assert_eq!(field, "actual");
            assert_eq!(record.index, Some(first_zero));
            let p = &points[first_zero];
            assert_eq!(record.id, Some(format!("{}/{}", p.series, p.period)));
        }
        other => panic!("unexpected error {other:?}"),
    }

    // MASE.
    let mase = &oracle.mase;
    let scale = MaseScale::from_training(&mase.train, mase.seasonality).expect("valid training");
    assert_eq!(
        scale.differences,
        (mase.train.len() - mase.seasonality) as u64
    );
    let m = ErrorStats::from_pairs(&mase.forecast, &mase.actual, options)
        .expect("finite")
        .finish()
        .expect("no zero actual")
        .with_mase(&scale);
    check(&mut worst, "mase", "mase", some(m.mase, "mase"), mase.value);
    let mase_points: Vec<_> = mase
        .forecast
        .iter()
        .zip(&mase.actual)
        .enumerate()
        .map(|(i, (&f, &y))| ForecastPoint::new("m", format!("t{i}"), f, Some(y)))
        .collect();
    let r = ForecastErrors::from_points(&mase_points, options)
        .expect("finite")
        .finish()
        .expect("no zero actual")
        .with_mase(&BTreeMap::from([("m".to_owned(), scale)]));
    check(
        &mut worst,
        "mase (report)",
        "mase",
        some(r.series["m"].mase, "mase"),
        mase.value,
    );
    check(
        &mut worst,
        "mase (pooled)",
        "mase",
        some(r.pooled.mase, "mase"),
        mase.value,
    );
    assert_eq!(r.mase_series, Ratio::new(1, 1));

    print_worst("forecast_errors", &worst);
}

// ---------------------------------------------------------------------------
// calibration.json (scikit-learn)
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalibrationOracle {
    source: String,
    notes: Vec<String>,
    vectors: Vec<Vector>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Vector {
    id: String,
    y: Vec<u8>,
    p: Vec<f64>,
    brier: f64,
    log_loss: f64,
    roc_auc: f64,
    calibration_curve: BTreeMap<String, Curve>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Curve {
    prob_true: Vec<f64>,
    prob_pred: Vec<f64>,
    counts: Vec<u64>,
    ece: f64,
    mce: f64,
}

/// `"uniform_10"` → (Uniform, 10).
fn parse_curve_key(key: &str) -> (BinStrategy, usize) {
    let (strategy, n) = key.split_once('_').expect("strategy_bins");
    let strategy = match strategy {
        "uniform" => BinStrategy::Uniform,
        "quantile" => BinStrategy::Quantile,
        other => panic!("unknown strategy {other}"),
    };
    (strategy, n.parse().expect("a number of bins"))
}

#[test]
fn calibration_matches_scikit_learn() {
    let text = crate::fixtures::oracle("calibration.json");
    let oracle: CalibrationOracle = serde_json::from_str(&text).expect("oracle JSON parses");
    assert!(oracle.source.contains("scikit-learn"), "{}", oracle.source);
    assert!(
        oracle.source.contains("1e-15"),
        "log-loss clipping changed: {}",
        oracle.source
    );
    let notes = oracle.notes.join("\n");
    for convention in [
        "drops empty bins",
        "LOWER bin",
        "searchsorted left",
        "count/N",
        "mce = max",
    ] {
        assert!(
            notes.contains(convention),
            "notes no longer say `{convention}`"
        );
    }
    assert!(!oracle.vectors.is_empty());

    let mut worst = BTreeMap::new();
    let mut curves_seen = 0;
    for v in &oracle.vectors {
        assert_eq!(v.y.len(), v.p.len(), "{}", v.id);
        let won: Vec<bool> =
            v.y.iter()
                .map(|&y| match y {
                    0 => false,
                    1 => true,
                    other => panic!("{}: label {other}", v.id),
                })
                .collect();
        let c =
            Calibration::from_pairs(&v.p, &won, Default::default()).expect("valid probabilities");

        // The same predictions with open ones interleaved: censored, so nothing changes.
        let mut with_open = Vec::new();
        for (i, (&p, &w)) in v.p.iter().zip(&won).enumerate() {
            with_open.push(Prediction::new(p, w).with_id(format!("{}-{i}", v.id)));
            with_open.push(Prediction::new(1.0 - p, Outcome::Open));
        }
        let c_open = Calibration::from_predictions(&with_open, Default::default())
            .expect("valid probabilities");

        let ctx = |what: &str| format!("{} {what}", v.id);
        let r = c.finish().expect("10 bins");
        let r_open = c_open.finish().expect("10 bins");
        assert_eq!(r_open.scores.open, v.p.len() as u64);
        assert_eq!(r_open.roc_auc, r.roc_auc);
        assert_eq!(r_open.reliability, r.reliability);
        let won_count = won.iter().filter(|&&w| w).count() as u64;
        assert_eq!(r.scores.base_rate, Ratio::new(won_count, v.p.len() as u64));

        for (label, summary) in [("", &r.scores), (" (with open)", &r_open.scores)] {
            check(
                &mut worst,
                &ctx(label),
                "brier",
                some(summary.brier, "brier"),
                v.brier,
            );
            check(
                &mut worst,
                &ctx(label),
                "log_loss",
                some(summary.log_loss, "log loss"),
                v.log_loss,
            );
        }
        let mut scores = ProbabilityScores::default();
        for p in &with_open {
            scores.add(p).expect("valid");
        }
        assert_eq!(scores.finish().unwrap(), r_open.scores);
        check(
            &mut worst,
            &ctx(""),
            "roc_auc",
            some(r.roc_auc, "auc"),
            v.roc_auc,
        );
        check(
            &mut worst,
            &ctx(""),
            "roc_auc",
            some(c.roc_auc(), "auc"),
            v.roc_auc,
        );

        for (key, curve) in &v.calibration_curve {
            curves_seen += 1;
            let (strategy, bins) = parse_curve_key(key);
            let options = CalibrationOptions::default()
                .with_strategy(strategy)
                .with_bins(bins);
            let rel = Calibration::from_pairs(&v.p, &won, options)
                .expect("valid bins")
                .reliability();
            let context = ctx(key);
            assert_eq!(rel.bins_requested, bins);
            assert_eq!(rel.edges.len(), bins + 1);
            let counts: Vec<u64> = rel.bins.iter().map(|b| b.count).collect();
            assert_eq!(counts, curve.counts, "{context}: counts");
            assert_eq!(rel.bins.len(), curve.prob_true.len(), "{context}");
            assert_eq!(rel.bins.len(), curve.prob_pred.len(), "{context}");
            for (b, (&t, &p)) in rel
                .bins
                .iter()
                .zip(curve.prob_true.iter().zip(&curve.prob_pred))
            {
                check(&mut worst, &context, "prob_true", b.observed_rate, t);
                check(&mut worst, &context, "prob_pred", b.mean_predicted, p);
                assert_eq!(b.observed.denominator, b.count);
                assert!(close(b.observed.value().expect("count > 0"), t));
                assert!(b.interval.contains(b.observed_rate), "{context}: {b:?}");
                assert!(b.index < bins && b.lower <= b.upper);
            }
            check(&mut worst, &context, "ece", some(rel.ece, "ece"), curve.ece);
            check(&mut worst, &context, "mce", some(rel.mce, "mce"), curve.mce);
        }
    }
    assert!(curves_seen > 0);
    print_worst("calibration", &worst);
}

// ---------------------------------------------------------------------------
// Named errors
// ---------------------------------------------------------------------------

#[test]
fn non_finite_points_name_series_and_period() {
    let mut f = ForecastErrors::default();
    f.add(&ForecastPoint::new("emea", "2026-01", 1.0, Some(1.0)))
        .expect("valid");
    let err = f
        .add(&ForecastPoint::new(
            "emea",
            "2026-02",
            f64::INFINITY,
            Some(1.0),
        ))
        .expect_err("infinite forecast");
    assert_eq!(
        err.to_string(),
        "forecast #1 (id emea/2026-02): field `forecast`: must be finite, got inf"
    );
    let err = ErrorStats::from_pairs(&[1.0, 2.0], &[1.0], Default::default())
        .expect_err("length mismatch");
    assert!(matches!(
        err.kind(),
        ErrorKind::InvalidParameter { name: "actual", .. }
    ));
}

#[test]
fn invalid_predictions_name_position_and_id() {
    let predictions = [
        Prediction::new(0.4, Outcome::Won),
        Prediction::new(0.4, Outcome::Lost).with_id("OPP-2"),
        Prediction::new(f64::NAN, Outcome::Open).with_id("OPP-3"),
    ];
    let err = Calibration::from_predictions(&predictions, Default::default())
        .expect_err("NaN probability");
    assert_eq!(
        err.to_string(),
        "prediction #2 (id OPP-3): field `probability`: a probability must be a finite number in [0, 1], got NaN"
    );
    let err = Calibration::from_pairs(&[0.5, 1.0000001], &[true, false], Default::default())
        .expect_err("above 1");
    match err.into_kind() {
        ErrorKind::InvalidField { record, field, .. } => {
            assert_eq!((record.index, field), (Some(1), "probability"));
        }
        other => panic!("unexpected error {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

/// Values with exact zeros, integers (ties) and wide magnitudes, both signs.
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        1 => Just(0.0),
        3 => (-1000_i32..1000).prop_map(f64::from),
        4 => -1e6..1e6_f64,
        2 => 1e-3..1e9_f64,
    ]
}

/// `(series, forecast, actual or missing, part)` records over 3 series, split into 4 parts.
fn records() -> impl Strategy<Value = Vec<(usize, f64, Option<f64>, usize)>> {
    prop::collection::vec(
        (
            0..3_usize,
            value(),
            prop::option::weighted(0.9, value()),
            0..4_usize,
        ),
        0..60,
    )
}

fn points_of(records: &[(usize, f64, Option<f64>, usize)]) -> Vec<ForecastPoint> {
    records
        .iter()
        .enumerate()
        .map(|(i, &(s, f, y, _))| ForecastPoint::new(format!("s{s}"), format!("p{i:03}"), f, y))
        .collect()
}

/// Floats agree to 1e-9 relative (1e-9 absolute near 0: sums of values up to 1e9
/// cancel); counts and bands exactly.
fn same_metrics(a: &ErrorMetrics, b: &ErrorMetrics) -> Result<(), TestCaseError> {
    let near = |x: f64, y: f64| (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0);
    let opt = |x: Option<f64>, y: Option<f64>| match (x, y) {
        (Some(x), Some(y)) => near(x, y),
        (None, None) => true,
        _ => false,
    };
    prop_assert_eq!(
        (a.n, a.missing_actual, a.mape_n, a.zero_actual),
        (b.n, b.missing_actual, b.mape_n, b.zero_actual)
    );
    for (name, x, y) in [
        ("mae", a.mae, b.mae),
        ("mse", a.mse, b.mse),
        ("rmse", a.rmse, b.rmse),
        ("mape", a.mape, b.mape),
        ("wape", a.wape, b.wape),
        ("smape", a.smape, b.smape),
        ("smape_200", a.smape_200, b.smape_200),
        ("bias", a.bias, b.bias),
        ("mase", a.mase, b.mase),
    ] {
        prop_assert!(opt(x, y), "{}: {:?} vs {:?}", name, x, y);
    }
    prop_assert!(near(a.cfe, b.cfe), "cfe {} vs {}", a.cfe, b.cfe);
    prop_assert!(near(a.total_forecast, b.total_forecast));
    prop_assert!(near(a.total_actual, b.total_actual));
    // Tracking signal and accuracy divide by sums that may cancel to ~0: compare
    // only when the denominators are clearly away from 0.
    if a.mae.is_some_and(|m| m > 1e-6) {
        prop_assert!(opt(a.tracking_signal, b.tracking_signal));
    }
    if a.total_actual.abs() > 1e-3 {
        prop_assert!(opt(a.accuracy, b.accuracy));
    }
    Ok(())
}

/// Probabilities on a coarse grid (many ties), anywhere in [0, 1], and the ends.
fn probability() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => (0..=20_u32).prop_map(|k| f64::from(k) / 20.0),
        3 => 0.0..=1.0_f64,
        1 => Just(0.0),
        1 => Just(1.0),
    ]
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        4 => Just(Outcome::Won),
        4 => Just(Outcome::Lost),
        1 => Just(Outcome::Open),
    ]
}

fn predictions() -> impl Strategy<Value = Vec<(f64, Outcome, usize)>> {
    prop::collection::vec((probability(), outcome(), 0..4_usize), 0..80)
}

fn all_options() -> Vec<CalibrationOptions> {
    let mut v = Vec::new();
    for strategy in [BinStrategy::Uniform, BinStrategy::Quantile] {
        for bins in [1, 3, 10] {
            v.push(
                CalibrationOptions::default()
                    .with_strategy(strategy)
                    .with_bins(bins),
            );
        }
    }
    v
}

fn near_opt(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-12 * x.abs().max(1.0),
        (None, None) => true,
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn perfect_forecast_has_zero_errors(actuals in prop::collection::vec(value(), 1..40)) {
        let m = ErrorStats::from_pairs(&actuals, &actuals, ErrorOptions::default().with_zero_actual(ZeroActualPolicy::Skip))
            .expect("finite")
            .finish()
            .expect("skip policy");
        prop_assert_eq!(m.mae, Some(0.0));
        prop_assert_eq!(m.mse, Some(0.0));
        prop_assert_eq!(m.rmse, Some(0.0));
        prop_assert_eq!(m.bias, Some(0.0));
        prop_assert_eq!(m.cfe, 0.0);
        prop_assert_eq!(m.smape, Some(0.0));
        prop_assert_eq!(m.smape_200, Some(0.0));
        prop_assert_eq!(m.mape, (m.mape_n > 0).then_some(0.0));
        let any_nonzero = actuals.iter().any(|&y| y != 0.0);
        prop_assert_eq!(m.wape, any_nonzero.then_some(0.0));
        prop_assert_eq!(m.tracking_signal, None); // MAD = 0
        if m.total_actual != 0.0 {
            prop_assert_eq!(m.accuracy, Some(1.0));
            prop_assert_eq!(m.band, Some(AccuracyBand::Good));
        }
        let scale = MaseScale::from_training(&[1.0, 3.0, 2.0], 1).expect("valid");
        prop_assert_eq!(m.with_mase(&scale).mase, Some(0.0));
    }

    #[test]
    fn scaling_both_leaves_relative_errors_unchanged(
        pairs in prop::collection::vec((value(), value()), 1..40),
        factor in prop_oneof![Just(1e-3), Just(0.5), Just(3.0), Just(1e4), 1e-3..1e3_f64],
    ) {
        let (f, y): (Vec<f64>, Vec<f64>) = pairs.iter().copied().unzip();
        let scaled_f: Vec<f64> = f.iter().map(|x| x * factor).collect();
        let scaled_y: Vec<f64> = y.iter().map(|x| x * factor).collect();
        let o = ErrorOptions::default();
        let a = ErrorStats::from_pairs(&f, &y, o).expect("finite").finish().expect("skip");
        let b = ErrorStats::from_pairs(&scaled_f, &scaled_y, o).expect("finite").finish().expect("skip");
        let rel = |x: Option<f64>, z: Option<f64>| match (x, z) {
            (Some(x), Some(z)) => (x - z).abs() <= 1e-9 * x.abs().max(1e-300),
            (None, None) => true,
            _ => false,
        };
        prop_assert!(rel(a.mape, b.mape), "mape {:?} vs {:?}", a.mape, b.mape);
        prop_assert!(rel(a.wape, b.wape), "wape {:?} vs {:?}", a.wape, b.wape);
        prop_assert!(rel(a.smape, b.smape), "smape {:?} vs {:?}", a.smape, b.smape);
        prop_assert!(rel(a.smape_200, b.smape_200));
    }

    #[test]
    fn error_merge_of_any_split_equals_one_pass(records in records()) {
        let points = points_of(&records);
        let whole = ForecastErrors::from_points(&points, Default::default()).expect("finite");
        let mut parts = vec![ForecastErrors::default(); 4];
        for (p, r) in points.iter().zip(&records) {
            parts[r.3].add(p).expect("finite");
        }
        let mut forward = ForecastErrors::default();
        for p in &parts {
            forward.merge(p).unwrap();
        }
        let mut left = parts[3].clone();
        left.merge(&parts[1]).unwrap();
        let mut right = parts[2].clone();
        right.merge(&parts[0]).unwrap();
        left.merge(&right).unwrap();

        let want = whole.finish().expect("skip");
        for merged in [&forward, &left] {
            let got = merged.finish().expect("skip");
            same_metrics(&got.pooled, &want.pooled)?;
            prop_assert_eq!(got.series.keys().collect::<Vec<_>>(), want.series.keys().collect::<Vec<_>>());
            for (name, m) in &want.series {
                same_metrics(&got.series[name], m)?;
            }
        }
        // Contiguous split: the strict policy names the same first zero actual.
        let cut = records.len() / 2;
        let strict = ErrorOptions::default().with_zero_actual(ZeroActualPolicy::Error);
        let mut head = ForecastErrors::from_points(&points[..cut], strict).expect("finite");
        head.merge(&ForecastErrors::from_points(&points[cut..], strict).expect("finite")).unwrap();
        let whole = ForecastErrors::from_points(&points, strict).expect("finite");
        prop_assert_eq!(head.finish().err(), whole.finish().err());
    }

    #[test]
    fn error_metrics_ignore_input_order(records in records(), seed in any::<u64>()) {
        let points = points_of(&records);
        let mut shuffled = points.clone();
        shuffle(&mut shuffled, seed);
        let o = ErrorOptions::default();
        let a = ForecastErrors::from_points(&points, o).expect("finite").finish().expect("skip");
        let b = ForecastErrors::from_points(&shuffled, o).expect("finite").finish().expect("skip");
        same_metrics(&a.pooled, &b.pooled)?;
        for (name, m) in &a.series {
            same_metrics(&b.series[name], m)?;
        }
    }

    #[test]
    fn calibration_measures_are_bounded(items in predictions()) {
        for options in all_options() {
            let mut c = Calibration::new(options).expect("valid bins");
            for &(p, o, _) in &items {
                c.add_pair(p, o).expect("valid");
            }
            let r = c.finish().expect("valid bins");
            if let Some(b) = r.scores.brier {
                prop_assert!((0.0..=1.0).contains(&b), "brier {}", b);
            }
            if let Some(l) = r.scores.log_loss {
                prop_assert!((0.0..=35.0).contains(&l), "log loss {}", l);
            }
            if let Some(a) = r.roc_auc {
                prop_assert!((0.0..=1.0).contains(&a), "auc {}", a);
            }
            let rel = &r.reliability;
            for x in [rel.ece, rel.mce].into_iter().flatten() {
                prop_assert!((0.0..=1.0 + 1e-12).contains(&x), "ece/mce {}", x);
            }
            prop_assert!(rel.ece <= rel.mce.map(|m| m + 1e-12));
            let total: u64 = rel.bins.iter().map(|b| b.count).sum();
            prop_assert_eq!(total, r.scores.won + r.scores.lost);
            let won: u64 = rel.bins.iter().map(|b| b.observed.numerator).sum();
            prop_assert_eq!(won, r.scores.won);
            for b in &rel.bins {
                prop_assert!(b.lower <= b.mean_predicted + 1e-12 || b.index == 0);
                prop_assert!(b.mean_predicted <= b.upper + 1e-12 || b.index + 1 == options.bins);
            }
        }
    }

    #[test]
    fn perfectly_separated_scores_have_auc_one(
        lost in prop::collection::vec(0.0..0.5_f64, 1..30),
        won in prop::collection::vec(0.5000001..=1.0_f64, 1..30),
    ) {
        let mut c = Calibration::default();
        for &p in &lost {
            c.add_pair(p, false).expect("valid");
        }
        for &p in &won {
            c.add_pair(p, true).expect("valid");
        }
        prop_assert_eq!(c.roc_auc(), Some(1.0));
        // Reversed labels rank perfectly wrong.
        let mut r = Calibration::default();
        for &p in &lost {
            r.add_pair(p, true).expect("valid");
        }
        for &p in &won {
            r.add_pair(p, false).expect("valid");
        }
        prop_assert_eq!(r.roc_auc(), Some(0.0));
    }

    #[test]
    fn calibration_merge_and_order_change_nothing(items in predictions(), seed in any::<u64>()) {
        let all: Vec<Prediction> = items.iter().map(|&(p, o, _)| Prediction::new(p, o)).collect();
        let whole = Calibration::from_predictions(&all, Default::default()).expect("valid");
        let mut parts = vec![Calibration::default(); 4];
        for (p, &(_, _, part)) in all.iter().zip(&items) {
            parts[part].add(p).expect("valid");
        }
        let mut merged = parts[2].clone();
        merged.merge(&parts[0]).unwrap();
        let mut other = parts[3].clone();
        other.merge(&parts[1]).unwrap();
        merged.merge(&other).unwrap();
        let mut shuffled = all.clone();
        shuffle(&mut shuffled, seed);
        let reordered = Calibration::from_predictions(&shuffled, Default::default()).expect("valid");

        for options in all_options() {
            let want = whole.reliability_with(&options).expect("valid bins");
            for c in [&merged, &reordered] {
                // Bins depend on the sorted values only: exactly equal.
                prop_assert_eq!(&c.reliability_with(&options).expect("valid bins"), &want);
            }
        }
        let want = whole.finish().expect("valid bins");
        for c in [&merged, &reordered] {
            let got = c.finish().expect("valid bins");
            // AUC and bins depend on the sorted values only: exactly equal.
            prop_assert_eq!(got.roc_auc, want.roc_auc);
            prop_assert_eq!(&got.reliability, &want.reliability);
            prop_assert_eq!(
                (got.scores.won, got.scores.lost, got.scores.open, got.scores.base_rate),
                (want.scores.won, want.scores.lost, want.scores.open, want.scores.base_rate)
            );
            prop_assert!(near_opt(got.scores.brier, want.scores.brier));
            prop_assert!(near_opt(got.scores.log_loss, want.scores.log_loss));
            prop_assert!(near_opt(got.scores.mean_probability, want.scores.mean_probability));
        }
    }
}

/// Fisher–Yates with a xorshift generator (deterministic per seed).
fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed | 1;
    for i in (1..items.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let j = (state % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// Issue 14 row 15: a repeated (series, period) point was counted twice (n 2 → 3,
/// MAE 5 → 6.67). A batch is checked where it enters the engine; the error names
/// both points.
#[test]
fn duplicate_points_in_a_batch_are_an_error_naming_both() {
    let points = [
        ForecastPoint::new("emea", "2026-01", 110.0, Some(100.0)),
        ForecastPoint::new("emea", "2026-02", 195.0, Some(200.0)),
        ForecastPoint::new("apac", "2026-01", 12.0, Some(10.0)),
        ForecastPoint::new("emea", "2026-01", 120.0, Some(100.0)),
    ];
    let err = ForecastErrors::from_points(&points, Default::default()).unwrap_err();
    assert_eq!(
        err,
        Error::from(ErrorKind::DuplicateId {
            kind: "forecast point",
            id: "emea/2026-01".into(),
            first: 0,
            second: 3,
        })
    );
    assert!(err.to_string().contains("emea/2026-01"), "{err}");
    // all or nothing, positions counted across batches as the other errors are
    let mut f = ForecastErrors::from_points(&points[1..3], Default::default()).unwrap();
    let before = f.clone();
    let err = f
        .add_batch(&[points[0].clone(), points[0].clone()])
        .unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::DuplicateId {
                first: 2,
                second: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(f, before);
    // The same period in another series, or another period, is no duplicate.
    let r = ForecastErrors::from_points(&points[..3], ErrorOptions::default())
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!((r.series["emea"].n, r.series["emea"].mae), (2, Some(7.5)));
}

/// Hostile seasonality: `usize::MAX` overflowed `m + 1` (a panic); a seasonality
/// longer than the training series has no differences, so no scale.
#[test]
fn mase_seasonality_longer_than_the_training_has_no_scale() {
    for m in [3, 10, usize::MAX] {
        let s = MaseScale::from_training(&[1.0, 2.0, 4.0], m).unwrap();
        assert_eq!((s.differences, s.scale), (0, None));
    }
    let s = MaseScale::from_training(&[1.0, 2.0, 4.0], 2).unwrap();
    assert_eq!((s.differences, s.scale), (1, Some(3.0)));
}

// ---------------------------------------------------------------------------
// The accumulator contract (issue 15)
// ---------------------------------------------------------------------------

/// Points whose error sums are exact in `f64`, so one pass and any merge agree to
/// the bit: the forecast is `2^m − y` with the actual `y` a power of two (or 0), so
/// `|e|/|y|` and `|e|/(|y| + |f|)` are dyadic. Some actuals are missing, some 0;
/// every (series, period) is distinct.
fn exact_points() -> impl Strategy<Value = Vec<ForecastPoint>> {
    prop::collection::vec((0usize..3, 0u32..10, 0u32..12, 0u8..8), 0..60).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (series, m, j, missing))| {
                let y = if j > m { 0.0 } else { f64::from(1u32 << j) };
                let f = f64::from(1u32 << m) - y;
                let actual = (missing != 0).then_some(y);
                ForecastPoint::new(["emea", "apac", "amer"][series], format!("p{i}"), f, actual)
            })
            .collect()
    })
}

/// Error options with the skip policy (under the error policy a zero actual makes
/// `finish` fail, which the contract check does not expect) and varied bands.
fn skip_options() -> impl Strategy<Value = ErrorOptions> {
    prop::sample::select(vec![(0.85, 1.15), (0.5, 2.0), (0.99, 1.01)]).prop_map(|(u, o)| {
        ErrorOptions::default().with_bands(revops::forecast::AccuracyBands::new(u, o).unwrap())
    })
}

/// Predictions with dyadic probabilities (`k/64`): the Brier and probability sums
/// are exact; the log loss is compared to 1e-9.
fn dyadic_predictions() -> impl Strategy<Value = Vec<Prediction>> {
    prop::collection::vec((0u32..=64, outcome()), 0..80).prop_map(|v| {
        v.into_iter()
            .map(|(k, o)| Prediction::new(f64::from(k) / 64.0, o))
            .collect()
    })
}

type ScoreKey = (u64, u64, u64, Option<f64>, Option<f64>, Option<i64>);

fn score_key(s: &revops::forecast::ScoreSummary) -> ScoreKey {
    (
        s.won,
        s.lost,
        s.open,
        s.brier,
        s.mean_probability,
        s.log_loss.map(|l| (l * 1e9).round() as i64),
    )
}

proptest! {
    #[test]
    fn error_stats_follow_the_contract(
        points in exact_points(),
        cut in 0usize..60,
        options in skip_options(),
    ) {
        crate::contract::assert_contract(|| ErrorStats::new(options), &points, cut, |m| m.clone());
    }

    #[test]
    fn forecast_errors_follow_the_contract(
        points in exact_points(),
        cut in 0usize..60,
        options in skip_options(),
    ) {
        crate::contract::assert_contract(|| ForecastErrors::new(options), &points, cut, |r| r.clone());
    }

    #[test]
    fn probability_scores_follow_the_contract(
        predictions in dyadic_predictions(),
        cut in 0usize..80,
    ) {
        crate::contract::assert_contract(ProbabilityScores::new, &predictions, cut, score_key);
    }

    #[test]
    fn calibration_follows_the_contract(
        predictions in dyadic_predictions(),
        cut in 0usize..80,
        options in prop::sample::select(all_options()),
    ) {
        crate::contract::assert_contract(
            || Calibration::new(options).expect("valid bins"),
            &predictions,
            cut,
            |r| (r.roc_auc, r.reliability.clone(), score_key(&r.scores)),
        );
    }
}

#[test]
fn forecast_states_of_another_version_are_refused() {
    fn refused<T: serde::Serialize + serde::de::DeserializeOwned>(state: &T) {
        let json = serde_json::to_string(state).unwrap();
        assert!(json.starts_with(r#"{"version":1,"#), "{json}");
        let other = json.replacen(r#""version":1"#, r#""version":2"#, 1);
        let e = serde_json::from_str::<T>(&other)
            .err()
            .expect("version 2 refused");
        assert!(e.to_string().contains("version 2 is not supported"), "{e}");
    }
    let point = ForecastPoint::new("emea", "2026-01", 90.0, Some(100.0));
    let mut stats = ErrorStats::default();
    stats.add(&point).unwrap();
    refused(&stats);
    refused(&ForecastErrors::from_points(&[point], ErrorOptions::default()).unwrap());
    let prediction = Prediction::new(0.25, Outcome::Won);
    let mut scores = ProbabilityScores::new();
    scores.add(&prediction).unwrap();
    refused(&scores);
    refused(&Calibration::from_predictions(&[prediction], CalibrationOptions::default()).unwrap());
}

#[test]
fn forecast_partials_under_other_options_do_not_merge() {
    let strict = ErrorOptions::default().with_zero_actual(ZeroActualPolicy::Error);
    let point = ForecastPoint::new("emea", "2026-01", 90.0, Some(100.0));

    let mut a = ErrorStats::default();
    a.add(&point).unwrap();
    let before = a.clone();
    let e = a.merge(&ErrorStats::new(strict)).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::MergeMismatch { .. }), "{e:?}");
    assert!(
        e.to_string().contains("Error"),
        "names the other policy: {e}"
    );
    assert_eq!(a, before);

    let mut f =
        ForecastErrors::from_points(std::slice::from_ref(&point), ErrorOptions::default()).unwrap();
    let before = f.clone();
    let other = ForecastErrors::from_points(&[point], strict).unwrap();
    assert!(f.merge(&other).is_err());
    assert_eq!(f, before);

    let mut c = Calibration::from_pairs(&[0.5], &[true], CalibrationOptions::default()).unwrap();
    let before = c.clone();
    let five = Calibration::new(CalibrationOptions::default().with_bins(5)).unwrap();
    let e = c.merge(&five).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::MergeMismatch { .. }), "{e:?}");
    assert!(e.to_string().contains("bins: 5"), "{e}");
    assert_eq!(c, before);
}
