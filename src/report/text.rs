//! The report as aligned plain text (`Display`).

use std::fmt::{self, Write as _};

use rust_decimal::prelude::ToPrimitive;

use super::{
    AttributionSection, BacktestTable, EconomicsSection, ForecastSection, FunnelSection,
    PipelineBreakdown, PipelineSection, PlanSection, Report,
};
use crate::attribution::RuleModel;
use crate::funnel::StepRate;
use crate::money::Money;
use crate::ratio::Interval;

/// `k/n 12.3% [11.0–13.7]`.
pub(super) fn rate_cell(r: &StepRate) -> String {
    let pct = r
        .ratio
        .percent()
        .map_or_else(|| "n/a".to_string(), |p| format!("{p:.1}%"));
    format!(
        "{}/{} {pct}{}",
        r.ratio.numerator,
        r.ratio.denominator,
        ci(r.interval)
    )
}

/// ` [11.0–13.7]`: an interval in percent (empty without one).
pub(super) fn ci(i: Option<Interval>) -> String {
    i.map_or_else(String::new, |i| {
        format!(" [{:.1}–{:.1}]", 100.0 * i.lower, 100.0 * i.upper)
    })
}

/// Money rounded to whole units, with thousands separators: `1,234,567`.
pub(super) fn whole(m: &Money) -> String {
    grouped(&m.amount().round().to_string())
}

/// A decimal number's integer digits in groups of three: `-1234567.5` → `-1,234,567.5`.
pub(super) fn grouped(s: &str) -> String {
    let (sign, rest) = s.strip_prefix('-').map_or(("", s), |d| ("-", d));
    let (digits, frac) = rest.split_once('.').map_or((rest, ""), |(d, f)| (d, f));
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    out.push_str(sign);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

fn opt_money(m: Option<Money>) -> String {
    m.map_or_else(|| "n/a".to_string(), |m| whole(&m))
}

pub(super) fn opt_f(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.digits$}"))
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inputs;
        writeln!(
            f,
            "revops report — as of {}, amounts in {}",
            self.as_of.format("%Y-%m-%d %H:%M UTC"),
            self.currency
        )?;
        writeln!(
            f,
            "inputs: {} leads, {} stage events, {} touches, {} conversions, {} spend rows, {} opportunity changes, {} forecast points",
            i.leads,
            i.stage_events,
            i.touches,
            i.conversions,
            i.spend,
            i.opportunity_history,
            i.forecasts
        )?;
        if let Some(s) = &self.funnel {
            funnel(f, s)?;
        }
        if let Some(s) = &self.attribution {
            attribution(f, s)?;
        }
        if let Some(s) = &self.economics {
            economics(f, s)?;
        }
        if let Some(s) = &self.pipeline {
            pipeline(f, s)?;
        }
        if let Some(s) = &self.forecast {
            forecast(f, s)?;
        }
        if let Some(s) = &self.plan {
            plan(f, s)?;
        }
        if !self.omitted.is_empty() {
            writeln!(f, "\nnot in this report")?;
            for o in &self.omitted {
                writeln!(f, "  {:<28} {}", o.section, o.reason)?;
            }
        }
        Ok(())
    }
}

fn heading(f: &mut fmt::Formatter<'_>, title: &str) -> fmt::Result {
    writeln!(f, "\n{title}\n{}", "─".repeat(title.chars().count()))
}

fn funnel(f: &mut fmt::Formatter<'_>, s: &FunnelSection) -> fmt::Result {
    let c = &s.cohort;
    heading(
        f,
        &format!(
            "Demand waterfall — {} cohorts by {} of {}, {:.0}% {:?} intervals",
            c.funnel,
            c.granularity,
            c.anchor,
            100.0 * c.confidence,
            c.method
        ),
    )?;
    let all = &c.total.all;
    writeln!(
        f,
        "{:<14} {:>9}  {:<34} {:<34}",
        "stage", "reached", "from previous stage", "to won"
    )?;
    for (idx, key) in c.stages.iter().enumerate() {
        let reached = all
            .reached
            .get(idx)
            .copied()
            .flatten()
            .map_or_else(|| "-".to_string(), |n| n.to_string());
        let step = idx
            .checked_sub(1)
            .and_then(|p| all.steps.get(p))
            .map_or_else(String::new, rate_cell);
        let won = all
            .to_won
            .iter()
            .find(|r| &r.from == key)
            .map_or_else(String::new, rate_cell);
        writeln!(f, "{key:<14} {reached:>9}  {step:<34} {won:<34}")?;
    }
    if !c.breakdown.is_empty() {
        writeln!(
            f,
            "\nby {} (all cohorts): entered, and conversion to won",
            c.dimension.as_deref().unwrap_or("value")
        )?;
        for t in &c.breakdown {
            let name = t.value.as_deref().unwrap_or("(missing)");
            let won = t.all.to_won.first().map_or_else(String::new, rate_cell);
            writeln!(f, "  {name:<22} {:>9}  {won}", t.all.entered)?;
        }
    }
    writeln!(f, "{}", c.diagnostics)?;
    if let Some(q) = &s.qualification {
        writeln!(
            f,
            "lead qualification: acceptance (MQL→SAL) {}; qualification (SAL→SQL) {}",
            rate_cell(&q.acceptance),
            rate_cell(&q.qualification)
        )?;
        let mut exits: Vec<_> = q.exits.iter().collect();
        exits.sort_by_key(|e| std::cmp::Reverse(e.count));
        for e in exits.iter().take(6) {
            writeln!(
                f,
                "  exit {:<12} after {:<12} reason {:<24} {:>8}",
                e.stage,
                e.furthest.as_deref().unwrap_or("-"),
                e.reason.as_deref().unwrap_or("(none)"),
                e.count
            )?;
        }
    }
    writeln!(f, "\nvelocity (days between stages, entered not inferred)")?;
    writeln!(
        f,
        "{:<28} {:>8} {:>7} {:>7} {:>7} {:>7}",
        "step", "n", "mean", "median", "p75", "p90"
    )?;
    for st in &s.velocity.total.steps {
        let label = format!("{} → {}", st.from, st.to);
        match &st.summary {
            Some(m) => writeln!(
                f,
                "{label:<28} {:>8} {:>7.1} {:>7.1} {:>7.1} {:>7.1}",
                m.count,
                m.mean_days(),
                m.median_days(),
                m.p75_days(),
                m.p90_days()
            )?,
            None => writeln!(f, "{label:<28} {:>8}", 0)?,
        }
    }
    Ok(())
}

fn attribution(f: &mut fmt::Formatter<'_>, s: &AttributionSection) -> fmt::Result {
    heading(
        f,
        "Attribution — credited conversions per channel, by model",
    )?;
    writeln!(
        f,
        "{} journeys; {} conversions credited; {} conversions without any touch",
        s.journey_count,
        s.rules.first().map_or(0.0, |a| a.conversions),
        s.rules.first().map_or(0.0, |a| a.unattributed_conversions)
    )?;
    let mut head = format!("{:<18}", "channel");
    for a in &s.rules {
        let _ = write!(head, " {:>12}", short(&a.model));
    }
    // Markov and Shapley are left out beyond their limits (named under "omitted").
    if s.markov.is_some() {
        let _ = write!(head, " {:>12}", "markov");
    }
    if s.shapley.is_some() {
        let _ = write!(head, " {:>12}", "shapley");
    }
    writeln!(f, "{head}")?;
    let channels = s.channels();
    for ch in &channels {
        let mut line = format!("{ch:<18}");
        for a in &s.rules {
            let v = a.channel(ch).map_or(0.0, |c| c.conversions);
            let _ = write!(line, " {v:>12.1}");
        }
        if let Some(m) = &s.markov {
            let m = m.channel(ch).map_or(0.0, |c| c.conversions);
            let _ = write!(line, " {m:>12.1}");
        }
        if let Some(sh) = &s.shapley {
            let sh = sh
                .conversion_rate
                .credits
                .channel(ch)
                .map_or(0.0, |c| c.conversions);
            let _ = write!(line, " {sh:>12.1}");
        }
        writeln!(f, "{line}")?;
    }
    if s.rules.iter().any(|a| a.revenue.is_some()) {
        writeln!(
            f,
            "\nattributed revenue (exact; each model's parts sum to the won revenue)"
        )?;
        let mut head = format!("{:<18}", "channel");
        for a in &s.rules {
            let _ = write!(head, " {:>14}", short(&a.model));
        }
        writeln!(f, "{head}")?;
        for ch in &channels {
            let mut line = format!("{ch:<18}");
            for a in &s.rules {
                let _ = write!(
                    line,
                    " {:>14}",
                    opt_money(a.channel(ch).and_then(|c| c.revenue))
                );
            }
            writeln!(f, "{line}")?;
        }
        let mut line = format!("{:<18}", "total");
        for a in &s.rules {
            let _ = write!(line, " {:>14}", opt_money(a.revenue));
        }
        writeln!(f, "{line}")?;
    }
    Ok(())
}

/// A rule model's column label, at most 12 characters.
pub(super) fn short(model: &RuleModel) -> String {
    match model {
        RuleModel::PositionBased { first, last } => format!("U {}", shares(*first, *last)),
        RuleModel::TimeDecay { .. } => "time decay".into(),
        RuleModel::LastNonDirect { .. } => "last non-dir".into(),
        other => other.name().chars().take(12).collect(),
    }
}

/// A unit's column label: the text before any `:`, at most 12 characters.
fn label12(name: &str) -> String {
    let n = name.split(':').next().unwrap_or(name);
    n.chars().take(12).collect()
}

/// A position-based model's shares in whole percent, first/middle/last: `40/20/40`.
pub(super) fn shares(first: f64, last: f64) -> String {
    let pct = |x: f64| format!("{:.0}", 100.0 * x);
    format!("{}/{}/{}", pct(first), pct(1.0 - first - last), pct(last))
}

fn economics(f: &mut fmt::Formatter<'_>, s: &EconomicsSection) -> fmt::Result {
    if let Some(u) = &s.by_lead_source {
        heading(f, "Unit economics per lead source")?;
        let mut head = format!("{:<18} {:>12}", "channel", "spend");
        for unit in &u.units {
            let _ = write!(head, " {:>12}", format!("per {}", label12(unit)));
        }
        let _ = write!(head, " {:>7} {:>7}", "ROAS", "ROI");
        writeln!(f, "{head}")?;
        for row in u.rows.iter().chain(std::iter::once(&u.total)) {
            let name = if std::ptr::eq(row, &u.total) {
                "total".to_string()
            } else {
                row.key
                    .channel
                    .as_ref()
                    .map_or_else(|| "(no source)".into(), ToString::to_string)
            };
            let mut line = format!("{name:<18} {:>12}", whole(&row.spend));
            for c in &row.cost_per {
                let _ = write!(line, " {:>12}", opt_money(c.value));
            }
            let _ = write!(
                line,
                " {:>7} {:>7}",
                opt_f(row.roas.value.and_then(|d| d.to_f64()), 2),
                opt_f(row.roi.value.and_then(|d| d.to_f64()), 2)
            );
            writeln!(f, "{line}")?;
        }
    }
    if let Some(p) = &s.sourcing {
        heading(
            f,
            "Pipeline sourced (by lead source) and influenced (touch before creation)",
        )?;
        writeln!(
            f,
            "{:<18} {:>9} {:>15} {:>11} {:>15}",
            "channel", "sourced", "amount", "influenced", "amount"
        )?;
        for r in &p.by_channel {
            writeln!(
                f,
                "{:<18} {:>9} {:>15} {:>11} {:>15}",
                r.channel
                    .as_ref()
                    .map_or_else(|| "(none)".into(), ToString::to_string),
                r.sourced,
                whole(&r.sourced_amount),
                r.influenced,
                whole(&r.influenced_amount)
            )?;
        }
        writeln!(
            f,
            "{:<18} {:>9} {:>15}",
            "total",
            p.opportunities,
            whole(&p.total)
        )?;
    }
    Ok(())
}

fn pipeline(f: &mut fmt::Formatter<'_>, s: &PipelineSection) -> fmt::Result {
    heading(f, &format!("Pipeline waterfall — {}", s.quarter.label()))?;
    let w = &s.waterfall;
    for (label, flow, sign) in [
        ("start", &w.start, " "),
        ("created", &w.created, "+"),
        ("pulled in", &w.pulled_in, "+"),
        ("increased", &w.increased, "+"),
        ("decreased", &w.decreased, "−"),
        ("pushed out", &w.pushed_out, "−"),
        ("lost", &w.lost, "−"),
        ("won", &w.won, "−"),
        ("end", &w.end, "="),
    ] {
        writeln!(
            f,
            "  {sign} {label:<11} {:>16} {:>8} deals",
            whole(&flow.amount),
            flow.deals
        )?;
    }
    writeln!(
        f,
        "win rate (won / closed): {}{}",
        s.win_rate.ratio,
        ci(s.win_rate.interval)
    )?;
    if let Some(c) = &s.sales_cycle {
        writeln!(
            f,
            "sales cycle of won deals: {} deals, median {:.1} days, p90 {:.1} days",
            c.count,
            c.median_days(),
            c.p90_days()
        )?;
    }
    let sl = &s.slippage;
    writeln!(
        f,
        "slippage: {} deals due, {} pushes, {} deals pushed ({} twice or more), {} slipped",
        sl.deals,
        sl.pushes,
        sl.pushed_deals,
        sl.pushed_twice_or_more,
        whole(&sl.slipped)
    )?;
    if let Some(t) = &s.by_owner {
        write!(f, "\n{t}")?;
    }
    Ok(())
}

fn forecast(f: &mut fmt::Formatter<'_>, s: &ForecastSection) -> fmt::Result {
    heading(f, "Forecast accuracy and win-probability calibration")?;
    if let Some(e) = &s.errors {
        writeln!(
            f,
            "{:<22} {:>5} {:>8} {:>8} {:>8} {:>9}",
            "series", "n", "MAPE %", "WAPE %", "bias", "accuracy"
        )?;
        let pct = |v: Option<f64>| opt_f(v.map(|x| 100.0 * x), 1);
        for (name, m) in e
            .series
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .chain(std::iter::once(("(all)", &e.pooled)))
        {
            writeln!(
                f,
                "{name:<22} {:>5} {:>8} {:>8} {:>8} {:>9}",
                m.n,
                pct(m.mape),
                pct(m.wape),
                opt_f(m.bias, 0),
                pct(m.accuracy)
            )?;
        }
    }
    if let (Some(c), Some(q)) = (&s.calibration, &s.quarter) {
        writeln!(
            f,
            "\ncalibration: deals open at the start of {}: {} won, {} lost, {} still open; Brier {}, ECE {}",
            q.label(),
            c.scores.won,
            c.scores.lost,
            c.scores.open,
            opt_f(c.scores.brier, 3),
            opt_f(c.reliability.ece, 3)
        )?;
        writeln!(
            f,
            "  {:<12} {:>6} {:>10} {:>22}",
            "probability", "deals", "predicted", "observed"
        )?;
        for b in &c.reliability.bins {
            writeln!(
                f,
                "  {:<12} {:>6} {:>10.2} {:>22}",
                format!("{:.1}–{:.1}", b.lower, b.upper),
                b.count,
                b.mean_predicted,
                format!("{:.2}{}", b.observed_rate, ci(Some(b.interval)))
            )?;
        }
    }
    if let Some(b) = &s.projection_backtest {
        write!(f, "\n{b}")?;
    }
    Ok(())
}

fn plan(f: &mut fmt::Formatter<'_>, s: &PlanSection) -> fmt::Result {
    let Some(p) = s.plan.periods.first() else {
        return Ok(());
    };
    heading(
        f,
        &format!(
            "Plan for {} — target {} ({}), average deal {} → {} wins",
            p.period.label(),
            whole(&p.target),
            s.target_basis,
            whole(&s.plan.deal_size),
            p.wins
        ),
    )?;
    writeln!(
        f,
        "{:<14} {:>8} {:>8} {:>12} {:>12}",
        "stage", "rate", "needed", "enter from", "enter by"
    )?;
    for (idx, st) in p.stages.iter().enumerate() {
        let rate = s
            .funnel
            .rates()
            .get(idx)
            .map_or_else(String::new, |r| format!("{:.1}%", 100.0 * r));
        writeln!(
            f,
            "{:<14} {:>8} {:>8} {:>12} {:>12}",
            st.stage, rate, st.count, st.enter_from, st.enter_by
        )?;
    }
    if let Some(pr) = &s.projection {
        writeln!(f, "\nopen deals today, projected (95% band)")?;
        for h in &pr.horizons {
            writeln!(
                f,
                "  by {} ({:>3} days): {:>7.1} wins [{:.1}–{:.1}], revenue {} [{:.0}–{:.0}]",
                h.until,
                h.days,
                h.wins,
                h.wins_band.0,
                h.wins_band.1,
                whole(&h.revenue),
                h.revenue_band.0,
                h.revenue_band.1
            )?;
        }
    }
    Ok(())
}

/// `12.3%`, or `n/a`.
fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| format!("{:.1}%", 100.0 * v))
}

/// The per-rep table: a line saying what is measured when, then one row per bucket
/// (`(missing)` for deals without a value) and the total.
impl fmt::Display for PipelineBreakdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dim = self.dimension.name();
        let interval = format!(
            "{:.0} % {:?}",
            100.0 * self.total.win_rate.confidence.level(),
            self.total.win_rate.method
        );
        match &self.window {
            Some(w) => writeln!(
                f,
                "per {dim}: won / closed as of {} ({interval} interval); bookings and pipeline created {} .. {}; cycle: median days to win",
                self.as_of.format("%Y-%m-%d"),
                w.start().format("%Y-%m-%d"),
                w.end().format("%Y-%m-%d")
            )?,
            None => writeln!(
                f,
                "per {dim}: won / closed as of {} ({interval} interval); bookings: every deal won by then; cycle: median days to win",
                self.as_of.format("%Y-%m-%d")
            )?,
        }
        let created = self.window.is_some();
        let mut head = format!(
            "  {:<24} {:>13} {:>7} {:>13} {:>15} {:>6} {:>7}",
            dim, "won / closed", "rate", "interval", "bookings", "won", "cycle d"
        );
        if created {
            let _ = write!(head, " {:>15} {:>7}", "created", "deals");
        }
        writeln!(f, "{head}")?;
        for r in self.rows.iter().chain(std::iter::once(&self.total)) {
            let name = if std::ptr::eq(r, &self.total) {
                "(total)"
            } else {
                r.value.as_deref().unwrap_or("(missing)")
            };
            let w = &r.win_rate;
            let mut line = format!(
                "  {name:<24} {:>13} {:>7} {:>13} {:>15} {:>6} {:>7}",
                format!("{} / {}", w.ratio.numerator, w.ratio.denominator),
                pct(w.ratio.value()),
                w.interval.map_or_else(
                    || "-".to_string(),
                    |i| format!("{:.1}–{:.1}", 100.0 * i.lower, 100.0 * i.upper)
                ),
                whole(&r.bookings.amount),
                r.bookings.deals,
                r.sales_cycle
                    .map_or_else(|| "-".to_string(), |s| format!("{:.1}", s.median_days())),
            );
            if let Some(c) = &r.pipeline_created {
                let _ = write!(line, " {:>15} {:>7}", whole(&c.amount), c.deals);
            }
            writeln!(f, "{line}")?;
        }
        if self.unmatched > 0 {
            writeln!(
                f,
                "  ({} deals without an opportunity record are in (missing))",
                self.unmatched
            )?;
        }
        Ok(())
    }
}

/// The backtest table: the summary per horizon and over every cell, then one row
/// per origin × horizon.
impl fmt::Display for BacktestTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origins = self.origins();
        writeln!(
            f,
            "projection backtest: deals open at {} monthly origins ({} .. {}) projected by stage and age{}, band z = {} calibrated at each origin",
            origins.len(),
            origins
                .first()
                .map_or_else(String::new, ToString::to_string),
            origins.last().map_or_else(String::new, ToString::to_string),
            if self.segmented { " and segment" } else { "" },
            self.z
        )?;
        writeln!(
            f,
            "  {:>7} {:>9} {:>9} {:>8} {:>12} {:>9}",
            "horizon", "wins MAPE", "wins bias", "wins MAE", "revenue WAPE", "in band"
        )?;
        for s in self.horizons.iter().chain(std::iter::once(&self.total)) {
            writeln!(
                f,
                "  {:>7} {:>9} {:>9} {:>8} {:>12} {:>9}",
                s.days
                    .map_or_else(|| "all".to_string(), |d| format!("{d} d")),
                pct(s.wins_mape),
                pct(s.wins_bias),
                opt_f(s.wins_mae, 1),
                pct(s.revenue_wape),
                format!("{}/{}", s.covered, s.cells)
            )?;
        }
        writeln!(
            f,
            "  {:<10} {:>6} {:>5} {:>7} {:>15} {:>6} {:>13} {:>25} {:>13} {:>7}",
            "origin",
            "open",
            "days",
            "wins",
            "band",
            "actual",
            "revenue",
            "band",
            "actual",
            "in band"
        )?;
        for r in &self.rows {
            writeln!(
                f,
                "  {:<10} {:>6} {:>5} {:>7.1} {:>15} {:>6} {:>13} {:>25} {:>13} {:>7}",
                r.origin.to_string(),
                r.open_deals,
                r.days,
                r.wins,
                format!("{:.1}–{:.1}", r.wins_band.0, r.wins_band.1),
                r.actual_wins,
                whole(&r.revenue),
                format!(
                    "{}–{}",
                    grouped(&format!("{:.0}", r.revenue_band.0)),
                    grouped(&format!("{:.0}", r.revenue_band.1))
                ),
                whole(&r.actual_revenue),
                if r.in_band { "yes" } else { "no" }
            )?;
        }
        Ok(())
    }
}
