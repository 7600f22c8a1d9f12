//! Properties of calendar periods, windows and date ranges.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeDelta, Utc};
use proptest::prelude::*;
use revops::{Calendar, DateRange, Granularity, Period, Window};

/// Days since 1900-01-01 of 2200-12-31.
const SPAN_DAYS: i64 = 110_227;

fn base() -> NaiveDate {
    NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date")
}

fn date() -> impl Strategy<Value = NaiveDate> {
    (0..=SPAN_DAYS).prop_map(|n| base() + TimeDelta::days(n))
}

fn granularity() -> impl Strategy<Value = Granularity> {
    prop::sample::select(Granularity::ALL.to_vec())
}

fn calendar() -> impl Strategy<Value = Calendar> {
    (1u32..=12, -86_399i32..=86_399).prop_map(|(month, secs)| {
        Calendar::new()
            .with_fiscal_year_start(month)
            .expect("valid month")
            .with_utc_offset(FixedOffset::east_opt(secs).expect("valid offset"))
    })
}

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (0..=SPAN_DAYS * 86_400)
        .prop_map(|s| base().and_hms_opt(0, 0, 0).unwrap().and_utc() + TimeDelta::seconds(s))
}

fn any_chrono_date() -> impl Strategy<Value = NaiveDate> {
    let span = NaiveDate::MAX
        .signed_duration_since(NaiveDate::MIN)
        .num_days();
    prop_oneof![
        (0..=span).prop_map(|n| NaiveDate::MIN + TimeDelta::days(n)),
        (0..=400i64).prop_map(|n| NaiveDate::MIN + TimeDelta::days(n)),
        (0..=400i64).prop_map(|n| NaiveDate::MAX - TimeDelta::days(n)),
    ]
}

proptest! {
    #[test]
    fn period_contains_its_date_and_is_contiguous(d in date(), g in granularity(), cal in calendar()) {
        let p = cal.period_of_date(d, g);
        prop_assert!(p.contains_date(d));
        prop_assert!(p.start() <= d && d < p.end());
        prop_assert_eq!(p.next().start(), p.end());
        prop_assert_eq!(p.prev().end(), p.start());
        prop_assert_eq!(p.next().prev(), p);
        prop_assert_eq!(p.last_day().succ_opt(), Some(p.end()));
        prop_assert_eq!(i64::from(p.days()), p.end().signed_duration_since(p.start()).num_days());
        prop_assert_eq!(cal.period_of_date(p.start(), g), p);
        prop_assert_eq!(cal.period_of_date(p.last_day(), g), p);
        prop_assert_eq!(p.granularity(), g);
        prop_assert_eq!(p.to_string(), p.label());
    }

    #[test]
    fn every_fiscal_start_month(d in date(), g in granularity()) {
        for month in 1..=12 {
            let cal = Calendar::new().with_fiscal_year_start(month).unwrap();
            let p = cal.period_of_date(d, g);
            prop_assert!(p.contains_date(d));
            prop_assert_eq!(p.next().start(), p.end());
            prop_assert_eq!(cal.period_of_date(p.start(), g), p);
            if g == Granularity::Year {
                prop_assert_eq!(cal.fiscal_year_of(p.last_day()), cal.fiscal_year_of(d));
                prop_assert_eq!(p.start().format("%m").to_string(), format!("{month:02}"));
            }
        }
    }

    #[test]
    fn periods_tile_a_date_range(a in date(), b in date(), g in granularity(), cal in calendar()) {
        let (from, to) = if a <= b { (a, b) } else { (b, a) };
        // Keep daily and weekly runs short enough to be quick.
        let to = match g {
            Granularity::Day | Granularity::Week => to.min(from + TimeDelta::days(3_000)),
            _ => to,
        };
        let range = DateRange::new(from, to).unwrap();
        let periods: Vec<Period> = cal.periods(from, to, g).collect();
        prop_assert!(!periods.is_empty());
        prop_assert!(periods[0].contains_date(from));
        prop_assert!(periods[periods.len() - 1].contains_date(to));
        for pair in periods.windows(2) {
            prop_assert_eq!(pair[0].end(), pair[1].start());
            prop_assert!(pair[0] < pair[1]);
        }
        for p in &periods {
            prop_assert!(range.overlap_days(p) > 0);
        }
        let total: u32 = periods.iter().map(|p| range.overlap_days(p)).sum();
        prop_assert_eq!(total, range.days());
        prop_assert_eq!(range.periods(&cal, g).collect::<Vec<_>>(), periods);
        prop_assert_eq!(cal.periods(to, from, g).count(), usize::from(from == to));
    }

    #[test]
    fn period_of_an_instant_matches_its_window(at in instant(), g in granularity(), cal in calendar()) {
        let p = cal.period_of(at, g);
        let w = Window::for_period(&p, &cal);
        prop_assert!(w.contains(at));
        prop_assert_eq!(w.duration(), TimeDelta::days(i64::from(p.days())));
        prop_assert_eq!(Window::for_period(&p.next(), &cal).start(), w.end());
    }

    #[test]
    fn window_overlap_is_symmetric_and_inside_both(
        a in instant(), b in instant(), c in instant(), e in instant(),
    ) {
        let w1 = Window::new(a.min(b), a.max(b)).unwrap();
        let w2 = Window::new(c.min(e), c.max(e)).unwrap();
        let o = w1.overlap(&w2);
        prop_assert_eq!(o, w2.overlap(&w1));
        if let Some(o) = o {
            prop_assert!(o.duration() > TimeDelta::zero());
            prop_assert!(w1.contains(o.start()) && w2.contains(o.start()));
            prop_assert!(o.end() <= w1.end() && o.end() <= w2.end());
        }
        prop_assert!(Window::new(a.max(b), a.min(b)).is_err() == (a != b));
    }

    #[test]
    fn lookback_includes_both_edges(anchor in instant(), secs in 0i64..=400 * 86_400) {
        let d = TimeDelta::seconds(secs);
        let w = Window::lookback(anchor, d).unwrap();
        prop_assert_eq!(w.duration(), d);
        prop_assert!(w.contains_inclusive_end(anchor));
        prop_assert!(w.contains_inclusive_end(anchor - d));
        prop_assert!(!w.contains_inclusive_end(anchor + TimeDelta::nanoseconds(1)));
        prop_assert!(!w.contains_inclusive_end(anchor - d - TimeDelta::nanoseconds(1)));
    }

    #[test]
    fn serde_round_trips(
        d in date(), e in date(), g in granularity(), cal in calendar(), a in instant(), b in instant(),
    ) {
        let p = cal.period_of_date(d, g);
        let json = serde_json::to_string(&p).unwrap();
        prop_assert_eq!(serde_json::from_str::<Period>(&json).unwrap(), p);

        let json = serde_json::to_string(&cal).unwrap();
        prop_assert_eq!(serde_json::from_str::<Calendar>(&json).unwrap(), cal);

        let w = Window::new(a.min(b), a.max(b)).unwrap();
        let json = serde_json::to_string(&w).unwrap();
        prop_assert_eq!(serde_json::from_str::<Window>(&json).unwrap(), w);

        let r = DateRange::new(d.min(e), d.max(e)).unwrap();
        let json = serde_json::to_string(&r).unwrap();
        prop_assert_eq!(serde_json::from_str::<DateRange>(&json).unwrap(), r);
    }

    #[test]
    fn no_panic_anywhere_in_chronos_range(d in any_chrono_date(), g in granularity(), cal in calendar()) {
        let p = cal.period_of_date(d, g);
        prop_assert!(p.contains_date(d));
        prop_assert!(p.days() >= 1);
        let _ = (p.next(), p.prev(), p.label(), p.end(), Window::for_period(&p, &cal));
        prop_assert_eq!(cal.periods(d, d, g).count(), 1);
        let at = d.and_hms_opt(12, 0, 0).unwrap().and_utc();
        let q = cal.period_of(at, g);
        prop_assert!(q.contains_date(cal.date_of(at)));
        let _ = Window::lookback(at, TimeDelta::days(1_000_000)).unwrap();
        let r = DateRange::new(d, d).unwrap();
        prop_assert_eq!(r.overlap_days(&p), 1);
    }
}

// `Periods::len` counts without walking (the spend budget relies on it).
proptest! {
    #[test]
    fn periods_len_is_the_count(y0 in -3000i32..3000, d0 in 0u64..400, span in 0u64..3000,
                                g in 0usize..5, fiscal in 1u32..=12) {
        let g = Granularity::ALL[g];
        let cal = Calendar::new().with_fiscal_year_start(fiscal).unwrap();
        let from = NaiveDate::from_ymd_opt(y0, 1, 1).unwrap() + chrono::Days::new(d0);
        let to = from + chrono::Days::new(span);
        let it = cal.periods(from, to, g);
        prop_assert_eq!(it.len(), it.count());
    }
}

#[test]
fn periods_len_at_the_ends_of_the_calendar() {
    for g in Granularity::ALL {
        for fiscal in [1, 7] {
            let cal = Calendar::new().with_fiscal_year_start(fiscal).unwrap();
            for (a, b) in [
                (NaiveDate::MIN, NaiveDate::MIN + chrono::Days::new(400)),
                (NaiveDate::MAX - chrono::Days::new(400), NaiveDate::MAX),
            ] {
                let it = cal.periods(a, b, g);
                assert_eq!(it.len(), it.count(), "{g} {fiscal} {a}");
            }
        }
    }
}

// A period converts into the date range of its days (issue 15: spend over a
// calendar period needs no hand-made range).
proptest! {
    #[test]
    fn a_period_is_the_range_of_its_days(d in date(), g in granularity(), fiscal in 1u32..=12) {
        let p = Calendar::new().with_fiscal_year_start(fiscal).unwrap().period_of_date(d, g);
        let r = DateRange::from(p);
        prop_assert_eq!((r.first(), r.last()), (p.start(), p.last_day()));
        prop_assert_eq!(r.days(), p.days());
        prop_assert_eq!(r.overlap_days(&p), p.days());
        let periods: Vec<Period> = r.periods(&Calendar::new().with_fiscal_year_start(fiscal).unwrap(), g).collect();
        prop_assert_eq!(periods, vec![p]);
    }
}
