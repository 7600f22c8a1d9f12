//! Attribution over streamed journeys: the rule models' running tally
//! ([`CreditCounts`]) fed batch by batch equals one pass over all the journeys, its
//! merge equals concatenation in any order, the Shapley tally built from journeys
//! equals the one over their path rows, and `paths.csv` folded block by block gives
//! what the journeys read at once give.

use proptest::prelude::*;
use revops::attribution::{
    Attribution, CreditCounts, JourneyOptions, Journeys, MarkovCounts, MarkovOptions, RuleModel,
    ShapleyCounts, ShapleyOptions,
};
use revops::csv::Options;
use revops::{Channel, Currency, Decimal, PathRow};

const CHANNELS: [&str; 5] = ["direct", "search", "email", "social", "webinar"];

fn models() -> Vec<RuleModel> {
    let mut m: Vec<RuleModel> = RuleModel::standard()
        .into_iter()
        .filter(|m| !m.needs_times() && !m.needs_stage_events())
        .collect();
    m.push(RuleModel::LinearUnique);
    m.push(RuleModel::last_non_direct());
    m
}

/// Path rows over five channels with whole counts; values with `0..=decimals`
/// decimals.
fn rows(decimals: u32) -> impl Strategy<Value = Vec<PathRow>> {
    let row = (
        prop::collection::vec(0..5usize, 1..7),
        0..3u8,
        (0..1_000_000i64, 0..=decimals),
        0..3u8,
    );
    prop::collection::vec(row, 0..40).prop_map(|rows| {
        rows.into_iter()
            .map(|(p, c, (m, s), n)| {
                let path = p
                    .into_iter()
                    .map(|i| Channel::new(CHANNELS[i]).unwrap())
                    .collect();
                PathRow::new(path, f64::from(c), Decimal::new(m, s), f64::from(n))
            })
            .collect()
    })
}

fn journeys(rows: &[PathRow]) -> Journeys {
    Journeys::from_path_rows(rows, Currency::USD).unwrap()
}

/// The rows cut at `cuts` (positions, any order) into batches, credited in order.
fn in_batches(rows: &[PathRow], cuts: &[usize], currency: Option<Currency>) -> CreditCounts {
    let mut at: Vec<usize> = cuts.iter().map(|&c| c % (rows.len() + 1)).collect();
    at.push(0);
    at.push(rows.len());
    at.sort_unstable();
    let mut counts = CreditCounts::new(models(), currency).unwrap();
    for w in at.windows(2) {
        counts.add_journeys(&journeys(&rows[w[0]..w[1]])).unwrap();
    }
    counts
}

/// Real numbers to 1e-9, money exactly.
fn same(a: &[Attribution], b: &[Attribution]) -> Result<(), TestCaseError> {
    let near = |x: f64, y: f64| (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0);
    prop_assert_eq!(a.len(), b.len());
    for (a, b) in a.iter().zip(b) {
        prop_assert_eq!(&a.model, &b.model);
        prop_assert_eq!(a.channels.len(), b.channels.len());
        for (x, y) in a.channels.iter().zip(&b.channels) {
            prop_assert_eq!(&x.channel, &y.channel);
            prop_assert!(near(x.conversions, y.conversions));
            prop_assert!(near(x.value, y.value));
            prop_assert_eq!(x.revenue, y.revenue);
        }
        prop_assert!(near(a.conversions, b.conversions));
        prop_assert!(near(a.fallback_conversions, b.fallback_conversions));
        prop_assert_eq!(a.revenue, b.revenue);
        prop_assert_eq!(a.unattributed_revenue, b.unattributed_revenue);
    }
    Ok(())
}

fn csv_of(rows: &[PathRow]) -> String {
    let mut s = String::from("path,total_conversions,total_conversion_value,total_null\n");
    for r in rows {
        let path: Vec<&str> = r.path.iter().map(Channel::as_str).collect();
        s.push_str(&format!(
            "{},{},{},{}\n",
            path.join(" > "),
            r.conversions,
            r.value,
            r.nulls
        ));
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Batch by batch, the tally is one pass over all the journeys, bit for bit:
    /// the same shares added in the same order, revenue in the same unit.
    #[test]
    fn credit_counts_in_batches_are_one_pass(rows in rows(2), cuts in prop::collection::vec(0..64usize, 0..4)) {
        let all = journeys(&rows);
        prop_assert_eq!(
            in_batches(&rows, &cuts, Some(Currency::USD)).finish().unwrap(),
            all.attribute_all_with_revenue(&models()).unwrap()
        );
        prop_assert_eq!(
            in_batches(&rows, &cuts, None).finish().unwrap(),
            all.attribute_all(&models()).unwrap()
        );
    }

    /// Values finer than the currency's minor units, in batches that do not know
    /// the finest: the revenue still sums exactly to the total, and no channel is
    /// more than one unit (of the finest value) from the one-pass revenue.
    #[test]
    fn credit_counts_bring_revenue_to_the_finest_unit(rows in rows(6), cuts in prop::collection::vec(0..64usize, 0..4)) {
        let got = in_batches(&rows, &cuts, Some(Currency::USD)).finish().unwrap();
        let want = journeys(&rows).attribute_all_with_revenue(&models()).unwrap();
        let total: Decimal = rows.iter().map(|r| r.value).sum();
        let unit = rows
            .iter()
            .map(|r| r.value.normalize().scale())
            .max()
            .unwrap_or(0)
            .max(2);
        let one = Decimal::new(1, unit);
        for (g, w) in got.iter().zip(&want) {
            prop_assert_eq!(g.revenue.unwrap().amount(), total);
            prop_assert_eq!(g.revenue, w.revenue);
            let sum: Decimal = g.channels.iter().map(|c| c.revenue.unwrap().amount()).sum();
            prop_assert_eq!(sum + g.unattributed_revenue.unwrap().amount(), total);
            for (x, y) in g.channels.iter().zip(&w.channels) {
                let d = (x.revenue.unwrap().amount() - y.revenue.unwrap().amount()).abs();
                prop_assert!(d <= one, "{} {}: {} vs {}", g.model, x.channel, d, one);
                prop_assert_eq!(x.conversions, y.conversions);
            }
        }
    }

    /// Merging tallies of any split, in either order, equals one pass (real numbers
    /// up to rounding, money exactly).
    #[test]
    fn credit_counts_merge_in_any_order(rows in rows(2), cut in 0..64usize) {
        let cut = cut % (rows.len() + 1);
        let (left, right) = (in_batches(&rows[..cut], &[], Some(Currency::USD)), in_batches(&rows[cut..], &[], Some(Currency::USD)));
        let want = journeys(&rows).attribute_all_with_revenue(&models()).unwrap();
        let mut lr = left.clone();
        lr.merge(&right).unwrap();
        same(&lr.finish().unwrap(), &want)?;
        let mut rl = right;
        rl.merge(&left).unwrap();
        same(&rl.finish().unwrap(), &want)?;
    }

    /// A tally crosses processes: partial tallies serialised, read back and merged
    /// give exactly what merging the originals gives (values finer than the
    /// currency's minor units included), and equal one pass (real numbers up to
    /// rounding, money exactly); a whole tally shipped finishes bit for bit as the
    /// original, and as the trait's `finish`.
    #[test]
    fn credit_counts_ship_and_merge(rows in rows(4), cut in 0..64usize) {
        let ship = |c: &CreditCounts| -> CreditCounts {
            serde_json::from_str(&serde_json::to_string(c).unwrap()).unwrap()
        };
        let cut = cut % (rows.len() + 1);
        let usd = Some(Currency::USD);
        let (left, right) = (in_batches(&rows[..cut], &[], usd), in_batches(&rows[cut..], &[], usd));
        let mut held = left.clone();
        held.merge(&right).unwrap();
        let mut shipped = ship(&left);
        revops::Accumulator::merge(&mut shipped, &ship(&right)).unwrap();
        prop_assert_eq!(shipped.finish().unwrap(), held.finish().unwrap());
        let whole = in_batches(&rows, &[cut], usd);
        prop_assert_eq!(revops::Accumulator::finish(&ship(&whole)).unwrap(), whole.finish().unwrap());
        if rows.iter().all(|r| r.value.normalize().scale() <= 2) {
            same(&shipped.finish().unwrap(), &journeys(&rows).attribute_all_with_revenue(&models()).unwrap())?;
        }
    }

    /// The Shapley tally of journeys is the tally of their path rows.
    #[test]
    fn shapley_counts_from_journeys_are_the_rows(rows in rows(3)) {
        let j = journeys(&rows);
        let direct = ShapleyCounts::from_journeys(&j, ShapleyOptions::default()).unwrap();
        let mut via_rows = ShapleyCounts::new(ShapleyOptions::default()).unwrap();
        via_rows.add_batch(&j.path_rows()).unwrap();
        prop_assert_eq!(direct.rows(), via_rows.rows());
        prop_assert_eq!(direct.finish().unwrap(), via_rows.finish().unwrap());
    }

    /// `paths.csv` folded batch by batch into every accumulator gives what the
    /// journeys read at once give.
    #[test]
    fn folded_paths_are_the_held_journeys(rows in rows(2)) {
        let text = csv_of(&rows);
        let jo = JourneyOptions::default().with_currency(Currency::USD);
        let mut markov = MarkovCounts::new(MarkovOptions::default().with_order(2)).unwrap();
        let mut shapley = ShapleyCounts::new(ShapleyOptions::default()).unwrap();
        let mut credit = CreditCounts::new(models(), Some(Currency::USD)).unwrap();
        let report = Journeys::fold_paths_csv(
            text.as_bytes(),
            Options::new(),
            jo.clone(),
            |batch| {
                let m = MarkovCounts::from_journeys(&batch, MarkovOptions::default().with_order(2))?;
                let s = ShapleyCounts::from_journeys(&batch, ShapleyOptions::default())?;
                Ok((m, s, batch))
            },
            |(m, s, batch)| {
                markov.merge(&m)?;
                shapley.merge(&s)?;
                credit.add_journeys(&batch)
            },
        )
        .unwrap();
        let mut held = Journeys::new(jo).unwrap();
        let held_report = held.read_paths_csv(text.as_bytes(), Options::new()).unwrap();
        prop_assert_eq!(format!("{report:?}"), format!("{held_report:?}"));
        let m = MarkovCounts::from_journeys(&held, MarkovOptions::default().with_order(2)).unwrap();
        prop_assert_eq!(markov.transition_counts(), m.transition_counts());
        let s = ShapleyCounts::from_journeys(&held, ShapleyOptions::default()).unwrap();
        prop_assert_eq!(shapley.finish().unwrap(), s.finish().unwrap());
        prop_assert_eq!(credit.finish().unwrap(), held.attribute_all_with_revenue(&models()).unwrap());
    }
}

/// A model the rows cannot support is refused as `Journeys::attribute` refuses it,
/// and tallies of other models do not merge.
#[test]
fn credit_counts_refuse_what_journeys_refuse() {
    let rows = [PathRow::new(
        vec![Channel::new("a").unwrap()],
        1.0,
        Decimal::ONE,
        0.0,
    )];
    let j = journeys(&rows);
    let mut counts = CreditCounts::new(vec![RuleModel::time_decay()], None).unwrap();
    let streamed = counts.add_journeys(&j).unwrap_err();
    let held = j.attribute(&RuleModel::time_decay()).unwrap_err();
    assert_eq!(streamed.to_string(), held.to_string());
    let mut first = CreditCounts::new(vec![RuleModel::FirstTouch], None).unwrap();
    let last = CreditCounts::new(vec![RuleModel::LastTouch], None).unwrap();
    assert!(first.merge(&last).is_err());
    let bad = RuleModel::PositionBased {
        first: 0.9,
        last: 0.9,
    };
    assert!(CreditCounts::new(vec![bad], None).is_err());
}

/// A serialised tally that does not hold together is refused when read back, naming
/// what is wrong; one of another version too.
#[test]
fn credit_counts_refuse_a_bad_state() {
    let rows = [PathRow::new(
        vec![Channel::new("a").unwrap(), Channel::new("b").unwrap()],
        2.0,
        Decimal::new(1050, 2),
        1.0,
    )];
    let mut counts = CreditCounts::new(vec![RuleModel::Linear], Some(Currency::USD)).unwrap();
    counts.add_journeys(&journeys(&rows)).unwrap();
    let json: serde_json::Value = serde_json::to_value(&counts).unwrap();
    assert_eq!(json["version"], 1);
    let read = |v: &serde_json::Value| serde_json::from_value::<CreditCounts>(v.clone());
    assert_eq!(
        read(&json).unwrap().finish().unwrap(),
        counts.finish().unwrap()
    );
    let mut v = json.clone();
    v["version"] = 2.into();
    assert!(
        read(&v)
            .unwrap_err()
            .to_string()
            .contains("version 2 is not supported")
    );
    let mut v = json.clone();
    v["names"]["pairs"][0][0] = 7.into();
    assert!(
        read(&v)
            .unwrap_err()
            .to_string()
            .contains("channel index 7 is out of range")
    );
    let mut v = json.clone();
    v["sums"][0]["conv"][0] = (-1.0).into();
    assert!(
        read(&v)
            .unwrap_err()
            .to_string()
            .contains("not a finite, non-negative count")
    );
    let mut v = json.clone();
    v["sums"] = serde_json::json!([]);
    assert!(read(&v).unwrap_err().to_string().contains("1 models"));
    let mut v = json;
    v["groups"][0]["unattributed"] = "999999".into();
    assert!(
        read(&v)
            .unwrap_err()
            .to_string()
            .contains("more unattributed revenue than its total")
    );
}
