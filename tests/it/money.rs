//! Money arithmetic and allocation properties.

use proptest::prelude::*;
use revops::error::ErrorKind;
use revops::{Currency, Error, Money, cost::MoneyPer};
use rust_decimal::Decimal;

fn currency() -> impl Strategy<Value = Currency> {
    prop_oneof![
        Just(Currency::USD),
        Just(Currency::JPY),
        Just(Currency::from_code("KWD").unwrap()),
        (0u8..=6).prop_map(|mu| Currency::with_minor_units("PTS", mu).unwrap()),
    ]
}

fn units_of(m: &Money, scale: u32) -> i128 {
    let a = m.amount();
    assert!(
        a.scale() <= scale,
        "part {a} finer than the unit 10^-{scale}"
    );
    a.mantissa() * 10_i128.pow(scale - a.scale())
}

/// Any decimal, including the extremes of the range.
fn decimal() -> impl Strategy<Value = Decimal> {
    let max = 2_i128.pow(96) - 1;
    prop_oneof![
        (-max..=max, 0u32..=28).prop_map(|(m, s)| Decimal::from_i128_with_scale(m, s)),
        Just(Decimal::MAX),
        Just(Decimal::MIN),
        Just(Decimal::ZERO),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parts_sum_exactly_and_stay_within_one_unit(
        total in -10_000_000_000_i64..10_000_000_000,
        cur in currency(),
        weights in prop::collection::vec(0u32..1_000_000, 1..40),
    ) {
        prop_assume!(weights.iter().any(|&w| w > 0));
        let scale = u32::from(cur.minor_units());
        let total = Money::from_minor_units(i128::from(total), cur).unwrap();
        let dec: Vec<Decimal> = weights.iter().map(|&w| Decimal::from(w)).collect();
        let parts = total.allocate(&dec).unwrap();
        prop_assert_eq!(parts.len(), weights.len());
        prop_assert_eq!(Money::sum(cur, &parts).unwrap(), total);
        let units = total.to_minor_units().unwrap();
        let wsum: i128 = weights.iter().map(|&w| i128::from(w)).sum();
        for (p, &w) in parts.iter().zip(&weights) {
            prop_assert_eq!(p.currency(), cur);
            let pu = units_of(p, scale);
            // |part − units·w/W| < 1  ⇔  |part·W − units·w| < W
            prop_assert!((pu * wsum - units * i128::from(w)).abs() < wsum,
                "part {} for weight {} is more than one unit from its share", p, w);
            if w == 0 { prop_assert!(p.is_zero()); }
            // every part has the total's sign
            prop_assert!(pu == 0 || (pu > 0) == (units > 0));
        }
    }

    #[test]
    fn equal_weights_differ_by_at_most_one_unit(
        total in -1_000_000_000_i64..1_000_000_000,
        n in 1usize..60,
        cur in currency(),
    ) {
        let scale = u32::from(cur.minor_units());
        let total = Money::from_minor_units(i128::from(total), cur).unwrap();
        let parts = total.allocate(&vec![Decimal::ONE; n]).unwrap();
        let u: Vec<i128> = parts.iter().map(|p| units_of(p, scale)).collect();
        let (lo, hi) = (u.iter().min().unwrap(), u.iter().max().unwrap());
        prop_assert!(hi - lo <= 1);
        prop_assert_eq!(Money::sum(cur, &parts).unwrap(), total);
    }

    #[test]
    fn reordering_weights_only_reorders_parts(
        total in 0_i64..1_000_000,
        weights in prop::collection::vec(0u32..20, 1..12).prop_filter("non-zero", |w| w.iter().any(|&x| x > 0)),
        seed in any::<u64>(),
    ) {
        let total = Money::from_minor_units(i128::from(total), Currency::USD).unwrap();
        // a deterministic permutation from the seed
        let mut idx: Vec<usize> = (0..weights.len()).collect();
        let mut s = seed;
        for i in (1..idx.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            idx.swap(i, (s >> 33) as usize % (i + 1));
        }
        let w1: Vec<Decimal> = weights.iter().map(|&w| Decimal::from(w)).collect();
        let w2: Vec<Decimal> = idx.iter().map(|&i| w1[i]).collect();
        let p1 = total.allocate(&w1).unwrap();
        let p2 = total.allocate(&w2).unwrap();
        let mut a: Vec<(Decimal, Decimal)> = w1.iter().copied().zip(p1.iter().map(Money::amount)).collect();
        let mut b: Vec<(Decimal, Decimal)> = w2.iter().copied().zip(p2.iter().map(Money::amount)).collect();
        a.sort();
        b.sort();
        prop_assert_eq!(a, b);
    }

    #[test]
    fn f64_weights_sum_exactly(
        total in -1_000_000_000_i64..1_000_000_000,
        weights in prop::collection::vec(0.0f64..1e12, 1..30),
    ) {
        prop_assume!(weights.iter().any(|&w| w > 0.0));
        let total = Money::from_minor_units(i128::from(total), Currency::EUR).unwrap();
        let parts = total.allocate_f64(&weights).unwrap();
        prop_assert_eq!(Money::sum(Currency::EUR, &parts).unwrap(), total);
    }

    #[test]
    fn arithmetic_never_panics(a in decimal(), b in decimal(), c1 in currency(), c2 in currency()) {
        let x = Money::new(a, c1);
        let y = Money::new(b, c2);
        let add = x.checked_add(&y);
        let sub = x.checked_sub(&y);
        if c1 != c2 {
            let mismatch = |r: &Result<Money, Error>| matches!(r.as_ref().map_err(|e| e.kind()), Err(ErrorKind::CurrencyMismatch { .. }));
            prop_assert!(mismatch(&add));
            prop_assert!(mismatch(&sub));
        }
        let _ = x.checked_mul(b);
        let _ = x.checked_div(b);
        let _ = x.ratio_to(&y);
        let _ = x.to_minor_units();
        let _ = x.round_to_minor_units();
        let _ = x.negate();
        let _ = x.allocate(&[a.abs(), b.abs()]);
        let _ = x.allocate_f64(&[1.0, 2.0]);
    }

    #[test]
    fn money_text_and_json_round_trip(a in decimal(), cur in currency()) {
        let m = Money::new(a, cur);
        prop_assert_eq!(m.to_string().parse::<Money>().unwrap(), m);
        let json = serde_json::to_string(&m).unwrap();
        prop_assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
    }

    /// One form: serde's amount is Display's amount; it has at least the currency's
    /// minor units (unless the value is too large to carry them) and no trailing zero
    /// beyond them.
    #[test]
    fn money_has_one_text_form(a in decimal(), cur in currency()) {
        let m = Money::new(a, cur);
        let v: serde_json::Value = serde_json::to_value(m).unwrap();
        let amount = v["amount"].as_str().unwrap().to_string();
        prop_assert_eq!(m.to_string(), format!("{amount} {cur}"));
        let decimals = amount.split_once('.').map_or(0, |(_, f)| f.len());
        let minor = usize::from(cur.minor_units());
        let fits = a.normalize().scale() >= cur.minor_units().into()
            || a.abs() < Decimal::from_i128_with_scale(10_i128.pow(28 - u32::from(cur.minor_units())), 0);
        if fits {
            prop_assert!(decimals >= minor, "{amount} has fewer than {minor} decimals");
        }
        if decimals > minor {
            prop_assert!(!amount.ends_with('0'), "{amount}: trailing zero beyond the minor units");
        }
    }
}

#[test]
fn mixing_currencies_names_both() {
    let err = Money::zero(Currency::USD)
        .checked_add(&Money::zero(Currency::EUR))
        .unwrap_err();
    assert_eq!(err.to_string(), "currency mismatch: expected USD, got EUR");
}

#[test]
fn unknown_currency_asks_for_minor_units() {
    let err = "ABC".parse::<Currency>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown currency code `ABC`: give its number of minor units explicitly (e.g. `ABC:2`)"
    );
}

/// Whether `s` is an optional sign, then digits with at most one `.`, at least one digit.
fn plain_decimal(s: &str) -> bool {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.matches('.').count() <= 1
        && digits.chars().any(|c| c.is_ascii_digit())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// `Money::parse` takes exactly the plain decimals (no `1_000`, `1e3`, `1 000`),
    /// surrounding spaces aside, and what it takes is the number written.
    #[test]
    fn amounts_are_plain_decimals(s in "[+-]?[0-9_.e ,+-]{0,12}") {
        let parsed = Money::parse(&s, Currency::USD);
        prop_assert_eq!(parsed.is_ok(), plain_decimal(s.trim()), "{:?}: {:?}", s, parsed);
        if let Ok(m) = parsed {
            let f: f64 = s.trim().parse().unwrap();
            let back: f64 = m.amount().to_string().parse().unwrap();
            prop_assert_eq!(back, f);
        }
    }
}

// ---- money shown at minor units (issue 15) -------------------------------------------

proptest! {
    /// `{:.N}` prints the amount rounded half to even to exactly N decimals, and is the
    /// text of the rounded value: what is shown is `round_dp`, what is kept is exact.
    #[test]
    fn precision_prints_the_rounded_amount(a in decimal(), cur in currency(), p in 0usize..8) {
        let m = Money::new(a, cur);
        let shown = format!("{m:.p$}");
        let (amount, code) = shown.split_once(' ').unwrap();
        prop_assert_eq!(code, cur.to_string());
        prop_assert_eq!(amount.split_once('.').map_or(0, |(_, f)| f.len()), p, "{}", shown);
        let rounded = a.round_dp_with_strategy(p as u32, rust_decimal::RoundingStrategy::MidpointNearestEven);
        prop_assert_eq!(amount.parse::<Decimal>().unwrap(), rounded);
        if rounded.is_zero() {
            prop_assert!(!amount.starts_with('-'), "{}: a negative zero", shown);
        }
        // The exact value is untouched.
        prop_assert_eq!(m.amount(), a);
    }

    /// A per-unit cost shows and serialises its value at minor units, and reads back
    /// to the exact quotient.
    #[test]
    fn money_per_rounds_at_minor_units_and_reads_back_exact(
        cents in 0i64..10_000_000_000, units in 0u32..100_000, scale in 0u32..3, cur in currency(),
    ) {
        let cost = Money::new(Decimal::new(cents, cur.minor_units().into()), cur);
        let units = Decimal::new(i64::from(units), scale);
        let per = MoneyPer::new(cost, units).unwrap();
        let rounded = per.value.map(|v| v.round_to_minor_units());
        prop_assert_eq!(per.rounded(), rounded);
        let json: serde_json::Value = serde_json::to_value(&per).unwrap();
        match rounded {
            Some(r) => {
                let amount = json["value"]["amount"].as_str().unwrap();
                let decimals = amount.split_once('.').map_or(0, |(_, f)| f.len());
                prop_assert_eq!(decimals, usize::from(cur.minor_units()), "{}", amount);
                prop_assert_eq!(amount.parse::<Decimal>().unwrap(), r.amount());
                let tail = format!("({r})");
                prop_assert!(per.to_string().ends_with(&tail), "{}", per);
            }
            None => {
                prop_assert!(json["value"].is_null());
                prop_assert!(per.to_string().ends_with("(n/a)"));
            }
        }
        let back: MoneyPer = serde_json::from_value(json).unwrap();
        prop_assert_eq!(&back, &per);
        prop_assert_eq!(back.value.map(|v| v.amount()), per.value.map(|v| v.amount()));
    }
}

#[test]
fn money_shows_at_least_its_minor_units() {
    let usd = |s| Money::parse(s, Currency::USD).unwrap();
    assert_eq!(usd("280000").to_string(), "280000.00 USD");
    assert_eq!(
        serde_json::to_string(&usd("280000")).unwrap(),
        r#"{"amount":"280000.00","currency":"USD"}"#
    );
    // More decimals than the minor units: kept by `{}` and serde, rounded by `{:.2}`.
    let fine = usd("1234.5678");
    assert_eq!(fine.to_string(), "1234.5678 USD");
    assert_eq!(format!("{fine:.2}"), "1234.57 USD");
    assert_eq!(format!("{fine:.0}"), "1235 USD");
    assert_eq!(format!("{:.2}", usd("-0.001")), "0.00 USD");
    assert_eq!(format!("{:.2}", usd("0.125")), "0.12 USD"); // half to even
    assert_eq!(format!("{:.3}", usd("7")), "7.000 USD");
    assert_eq!(fine.amount(), "1234.5678".parse::<Decimal>().unwrap());
}

#[test]
fn money_per_shows_minor_units_and_keeps_the_exact_value() {
    let usd = |s| Money::parse(s, Currency::USD).unwrap();
    let per = MoneyPer::new(usd("3100"), Decimal::from(7)).unwrap();
    let exact = per.value.unwrap();
    assert_eq!(exact.amount().to_string(), "442.85714285714285714285714286");
    assert_eq!(per.rounded(), Some(usd("442.86")));
    assert_eq!(per.to_string(), "3100.00 USD / 7 (442.86 USD)");
    let json = serde_json::to_string(&per).unwrap();
    assert_eq!(
        json,
        r#"{"cost":{"amount":"3100.00","currency":"USD"},"units":"7","value":{"amount":"442.86","currency":"USD"}}"#
    );
    assert_eq!(
        serde_json::from_str::<MoneyPer>(&json).unwrap().value,
        Some(exact)
    );
    // A value that is not cost / units is refused; a missing one is recomputed.
    let wrong = json.replace("442.86", "442.85");
    let err = serde_json::from_str::<MoneyPer>(&wrong)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not cost / units"), "{err}");
    let bare = r#"{"cost":{"amount":"3100","currency":"USD"},"units":"7"}"#;
    assert_eq!(serde_json::from_str::<MoneyPer>(bare).unwrap(), per);
    // Zero units: no value, shown as n/a.
    let none = MoneyPer::new(usd("5"), Decimal::ZERO).unwrap();
    assert_eq!(none.to_string(), "5.00 USD / 0 (n/a)");
    assert!(
        serde_json::to_string(&none)
            .unwrap()
            .ends_with(r#""value":null}"#)
    );
    let jpy = MoneyPer::new(
        Money::parse("1000", Currency::JPY).unwrap(),
        Decimal::from(3),
    )
    .unwrap();
    assert_eq!(jpy.to_string(), "1000 JPY / 3 (333 JPY)");
}
