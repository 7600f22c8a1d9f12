//! The revops demo on built-in data: `cargo run --release --example demo`.
//!
//! For now it shows the foundation every engine stands on: the demand waterfall
//! definition, conversion rates that keep their counts and intervals, an exact budget
//! split, and calendar bucketing. Later engines grow this into the full report.
//!
//! Flags: `--quick` (CI; same output, the data is already small).
#![allow(clippy::print_stdout)]

use chrono::{TimeZone, Utc};
use revops::{
    Calendar, Confidence, Currency, Decimal, Funnel, Granularity, IntervalMethod, Money, Ratio,
};

fn main() -> Result<(), revops::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(bad) = args.iter().find(|a| a.as_str() != "--quick") {
        return Err(revops::Error::InvalidParameter {
            name: "argument",
            value: bad.clone(),
            reason: "the demo takes only `--quick`".into(),
        });
    }

    let funnel = Funnel::demand_waterfall();
    println!("revops demo: one funnel, one set of rules\n");
    println!("Funnel `{}`", funnel.name());
    println!(
        "{:<3} {:<13} {:<28} {:<10} {:<13}",
        "#", "key", "name", "owner", "kind"
    );
    for (i, s) in funnel.stages().iter().enumerate() {
        println!(
            "{:<3} {:<13} {:<28} {:<10} {:<13}",
            i,
            s.key,
            s.name,
            format!("{:?}", s.owner).to_lowercase(),
            format!("{:?}", s.kind).to_lowercase()
        );
    }

    // Illustrative stage counts for one cohort (the funnel engine will compute these
    // from stage events).
    let counts: [u64; 6] = [1200, 420, 300, 180, 90, 27];
    let conf = Confidence::default();
    println!("\nStep conversion of an illustrative cohort, 95 % intervals");
    println!(
        "{:<26} {:>18} {:>17} {:>17} {:>17}",
        "step", "k / n", "Wilson", "Clopper-Pearson", "Jeffreys"
    );
    let path: Vec<_> = funnel.progression().map(|(_, s)| s.key.as_str()).collect();
    let mut steps: Vec<(String, Ratio)> = path
        .windows(2)
        .zip(counts.windows(2))
        .map(|(k, c)| (format!("{} → {}", k[0], k[1]), Ratio::new(c[1], c[0])))
        .collect();
    steps.push((
        format!("{} → {} (overall)", path[0], path[path.len() - 1]),
        Ratio::new(counts[5], counts[0]),
    ));
    steps.push(("empty cohort".to_string(), Ratio::new(0, 0)));
    for (label, r) in &steps {
        let show = |m| match r.interval(m, conf) {
            Some(ci) => format!("{:.1}–{:.1} %", 100.0 * ci.lower, 100.0 * ci.upper),
            None => "n/a".to_string(),
        };
        println!(
            "{:<26} {:>18} {:>17} {:>17} {:>17}",
            label,
            r.to_string(),
            show(IntervalMethod::Wilson),
            show(IntervalMethod::ClopperPearson),
            show(IntervalMethod::Jeffreys)
        );
    }

    // Exact money: a quarter's budget split by weight, parts sum to the cent.
    let budget = Money::parse("48000.00", Currency::USD)?;
    let channels = ["paid_search", "events", "content", "partners", "outbound"];
    let weights = [
        Decimal::from(7),
        Decimal::from(5),
        Decimal::from(3),
        Decimal::from(3),
        Decimal::from(3),
    ];
    let parts = budget.allocate(&weights)?;
    println!("\nBudget {budget} split 7:5:3:3:3 (largest remainder, exact)");
    for (c, p) in channels.iter().zip(&parts) {
        println!("  {c:<12} {:>12}", p.amount());
    }
    println!(
        "  {:<12} {:>12}",
        "total",
        Money::sum(Currency::USD, &parts)?.amount()
    );

    // Calendar: the same instant in three reporting calendars.
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 15, 30, 0).unwrap();
    let fiscal = Calendar::new().with_fiscal_year_start(2)?;
    println!("\nCalendar buckets of {at}");
    for g in [
        Granularity::Day,
        Granularity::Week,
        Granularity::Month,
        Granularity::Quarter,
        Granularity::Year,
    ] {
        println!(
            "  {:<8} calendar {:<10} fiscal (Feb start) {}",
            g.to_string(),
            Calendar::new().period_of(at, g).label(),
            fiscal.period_of(at, g).label()
        );
    }
    Ok(())
}
