//! The page's sections, in order: each is its chart (where one exists) and its tables,
//! or the reason it is not in the report.

use std::fmt::Write as _;

use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;

use super::charts::{self, model_label};
use super::esc;
use super::tables::{Cell, Table};
use crate::report::text::{grouped, opt_f};
use crate::report::{
    AttributionSection, BacktestTable, EconomicsSection, ForecastSection, FunnelSection,
    PipelineBreakdown, PipelineSection, PlanSection, Report,
};

/// One section of the page: its anchor, heading, and body or why it is absent.
pub(super) struct Part {
    /// The `id` the contents list links to.
    pub(super) id: &'static str,
    /// The heading.
    pub(super) title: String,
    /// The chart and tables, or why the section is not in the report.
    pub(super) body: Result<String, String>,
}

/// Why a section is absent: the first [`Report::omitted`] entry naming one of `keys`
/// (or a part of it), in the order given.
fn why(r: &Report, keys: &[&str]) -> String {
    keys.iter()
        .find_map(|k| {
            r.omitted
                .iter()
                .find(|m| m.section == *k || m.section.starts_with(&format!("{k}.")))
        })
        .map_or_else(|| "no data for it".to_string(), |m| m.reason.clone())
}

fn figure(out: &mut String, svg: Option<String>, caption: &str) {
    if let Some(svg) = svg {
        let _ = write!(
            out,
            "<figure>{svg}<figcaption>{}</figcaption></figure>",
            esc(caption)
        );
    }
}

fn note(out: &mut String, s: &str) {
    let _ = write!(out, "<p class=\"note\">{}</p>", esc(s));
}

/// Every section of the page, in order.
pub(super) fn parts(r: &Report) -> Vec<Part> {
    let cur = r.currency.to_string();
    let f = r.funnel.as_ref();
    let a = r.attribution.as_ref();
    let e = r.economics.as_ref();
    let p = r.pipeline.as_ref();
    let fc = r.forecast.as_ref();
    let pl = r.plan.as_ref();
    let part = |id, title: &str, body: Option<String>, keys: &[&str]| Part {
        id,
        title: title.to_string(),
        body: body.ok_or_else(|| why(r, keys)),
    };
    let quarter = p.map_or_else(String::new, |p| format!(", {}", p.quarter.label()));
    vec![
        part(
            "demand-waterfall",
            "Demand waterfall",
            f.map(funnel),
            &["funnel"],
        ),
        part("velocity", "Velocity", f.map(velocity), &["funnel"]),
        part(
            "qualification",
            "Lead qualification",
            f.and_then(qualification),
            &["funnel.qualification", "funnel"],
        ),
        part(
            "attribution",
            "Attribution",
            a.map(attribution),
            &["attribution"],
        ),
        part(
            "revenue-credit",
            "Revenue credit",
            a.and_then(|a| revenue_credit(a, &cur)),
            &["attribution"],
        )
        .or_reason(a.is_some(), "the conversions carry no values"),
        part(
            "unit-economics",
            "Unit economics",
            e.and_then(|e| unit_economics(e, &cur)),
            &["economics.by_lead_source", "economics"],
        ),
        part(
            "sourced-influenced",
            "Sourced and influenced pipeline",
            e.and_then(|e| sourcing(e, &cur)),
            &["economics.sourcing", "economics"],
        ),
        part(
            "pipeline-waterfall",
            &format!("Pipeline waterfall{quarter}"),
            p.map(|p| pipeline_waterfall(p, &cur)),
            &["pipeline"],
        ),
        part(
            "win-rate",
            "Win rate and sales cycle",
            p.map(win_rate),
            &["pipeline"],
        ),
        part(
            "slippage",
            &format!("Slippage{quarter}"),
            p.map(slippage),
            &["pipeline"],
        ),
        part(
            "by-owner",
            &format!("Per rep{quarter}"),
            p.and_then(|p| by_owner(p, &cur)),
            &["pipeline.by_owner", "pipeline"],
        ),
        part(
            "ramp",
            "Ramp of new owners",
            r.ramp.as_ref().map(|rr| ramp(rr, &cur)),
            &["ramp", "pipeline"],
        ),
        part(
            "forecast-errors",
            "Forecast errors",
            fc.and_then(forecast_errors),
            &["forecast.errors", "forecast"],
        ),
        part(
            "calibration",
            "Win-probability calibration",
            fc.and_then(calibration),
            &["forecast.calibration", "forecast"],
        ),
        part(
            "projection-backtest",
            "Projection backtest",
            fc.and_then(|fc| projection_backtest(fc, &cur)),
            &["forecast.projection_backtest", "forecast", "pipeline"],
        ),
        part(
            "plan",
            "Next quarter's plan",
            pl.and_then(|pl| plan(pl, r.as_of.date_naive())),
            &["plan"],
        ),
        part(
            "projection",
            "Open deals, projected",
            pl.and_then(projection),
            &["plan.projection", "plan"],
        )
        .or_reason(pl.is_some(), "no open deals to project"),
    ]
}

impl Part {
    /// When the section's parent is present but the part itself is not, and the
    /// report names no reason for it, says `reason`.
    fn or_reason(mut self, parent: bool, reason: &str) -> Part {
        if parent && self.body.as_ref().is_err_and(|w| w == "no data for it") {
            self.body = Err(reason.to_string());
        }
        self
    }
}

fn funnel(s: &FunnelSection) -> String {
    let mut o = String::new();
    figure(&mut o, charts::funnel_chart(s), charts::FUNNEL_DESC);
    let c = &s.cohort;
    let all = &c.total.all;
    let mut t = Table::new(
        "table-demand-waterfall",
        &format!(
            "Records reaching each stage of the {}: all {} cohorts by {} ({:.0} % {:?} intervals)",
            c.funnel,
            c.granularity,
            c.anchor,
            100.0 * c.confidence,
            c.method
        ),
        &["stage", "reached", "from the previous stage", "to won"],
    );
    for (idx, key) in c.stages.iter().enumerate() {
        let reached = all
            .reached
            .get(idx)
            .copied()
            .flatten()
            .map_or_else(|| Cell::na("not tracked"), Cell::count);
        let step = idx
            .checked_sub(1)
            .and_then(|p| all.steps.get(p))
            .map_or_else(
                || Cell::na("first stage"),
                |st| Cell::rate(&st.ratio, st.interval, "none reached the previous stage"),
            );
        let won = all.to_won.iter().find(|w| &w.from == key).map_or_else(
            || Cell::na("not a stage before won"),
            |w| Cell::rate(&w.ratio, w.interval, "none reached the stage"),
        );
        t.row(key, &[reached, step, won]);
    }
    o.push_str(&t.finish());
    if !c.breakdown.is_empty() {
        let dim = c.dimension.as_deref().unwrap_or("value");
        let mut t = Table::new(
            "table-demand-breakdown",
            &format!("By {dim}, all cohorts: records entering and their conversion to won"),
            &[dim, "entered", "to won"],
        );
        for b in &c.breakdown {
            let won = b.all.to_won.first().map_or_else(
                || Cell::na("no stage before won"),
                |w| Cell::rate(&w.ratio, w.interval, "none entered"),
            );
            t.row(
                b.value.as_deref().unwrap_or("(missing)"),
                &[Cell::count(b.all.entered), won],
            );
        }
        o.push_str(&t.finish());
    }
    note(&mut o, &c.diagnostics.to_string());
    o
}

fn velocity(s: &FunnelSection) -> String {
    let mut t = Table::new(
        "table-velocity",
        "Days between stages (entered, not inferred)",
        &["step", "records", "mean", "median", "p75", "p90"],
    );
    for st in &s.velocity.total.steps {
        let label = format!("{} → {}", st.from, st.to);
        match &st.summary {
            Some(m) => t.row(
                &label,
                &[
                    Cell::count(m.count),
                    Cell::num(m.mean_days(), 1),
                    Cell::num(m.median_days(), 1),
                    Cell::num(m.p75_days(), 1),
                    Cell::num(m.p90_days(), 1),
                ],
            ),
            None => {
                let na = || Cell::na("no record made this step");
                t.row(&label, &[Cell::count(0u64), na(), na(), na(), na()]);
            }
        }
    }
    t.finish()
}

fn qualification(s: &FunnelSection) -> Option<String> {
    let q = s.qualification.as_ref()?;
    let mut t = Table::new(
        "table-qualification",
        "Lead acceptance and qualification",
        &["step", "rate"],
    );
    t.row(
        "acceptance (MQL → SAL)",
        &[Cell::rate(
            &q.acceptance.ratio,
            q.acceptance.interval,
            "no MQL",
        )],
    );
    t.row(
        "qualification (SAL → SQL)",
        &[Cell::rate(
            &q.qualification.ratio,
            q.qualification.interval,
            "no SAL",
        )],
    );
    let mut o = t.finish();
    if !q.exits.is_empty() {
        let mut exits: Vec<_> = q.exits.iter().collect();
        exits.sort_by_key(|e| std::cmp::Reverse(e.count));
        let mut t = Table::new(
            "table-qualification-exits",
            "Exits by stage, furthest stage reached and reason",
            &["exit", "after", "reason", "records"],
        );
        for e in exits {
            t.row(
                &e.stage,
                &[
                    Cell::text(e.furthest.as_deref().unwrap_or("-")),
                    Cell::text(e.reason.as_deref().unwrap_or("(none)")),
                    Cell::count(e.count),
                ],
            );
        }
        o.push_str(&t.finish());
    }
    Some(o)
}

fn attribution(s: &AttributionSection) -> String {
    let mut o = String::new();
    figure(
        &mut o,
        charts::attribution_chart(s),
        charts::ATTRIBUTION_DESC,
    );
    note(
        &mut o,
        &format!(
            "{} journeys; {} conversions credited; {} conversions without any touch.",
            grouped(&s.journey_count.to_string()),
            s.rules.first().map_or(0.0, |a| a.conversions),
            s.rules.first().map_or(0.0, |a| a.unattributed_conversions)
        ),
    );
    let mut head: Vec<String> = vec!["channel".into()];
    head.extend(s.rules.iter().map(|a| model_label(&a.model)));
    if s.markov.is_some() {
        head.push("Markov removal effect".into());
    }
    if s.shapley.is_some() {
        head.push("Shapley (conversion rate)".into());
    }
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    let mut t = Table::new(
        "table-attribution",
        "Credited conversions per channel, by model",
        &head,
    );
    let not_credited = "not credited by this model";
    for ch in s.channels() {
        let mut cells: Vec<Cell> = s
            .rules
            .iter()
            .map(|a| {
                a.channel(ch)
                    .map_or_else(|| Cell::na(not_credited), |c| Cell::num(c.conversions, 1))
            })
            .collect();
        if let Some(m) = &s.markov {
            cells.push(
                m.channel(ch)
                    .map_or_else(|| Cell::na(not_credited), |c| Cell::num(c.conversions, 1)),
            );
        }
        if let Some(sh) = &s.shapley {
            cells.push(
                sh.conversion_rate
                    .credits
                    .channel(ch)
                    .map_or_else(|| Cell::na(not_credited), |c| Cell::num(c.conversions, 1)),
            );
        }
        t.row(ch, &cells);
    }
    o.push_str(&t.finish());
    o
}

fn revenue_credit(s: &AttributionSection, currency: &str) -> Option<String> {
    if !s.rules.iter().any(|a| a.revenue.is_some()) {
        return None;
    }
    let mut head: Vec<String> = vec!["channel".into()];
    head.extend(s.rules.iter().map(|a| model_label(&a.model)));
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    let mut t = Table::new(
        "table-revenue-credit",
        &format!(
            "Attributed revenue in {currency} per channel, by rule model (exact: each model's parts sum to the won revenue)"
        ),
        &head,
    );
    for ch in s.channels() {
        let cells: Vec<Cell> = s
            .rules
            .iter()
            .map(|a| {
                Cell::opt_money(
                    a.channel(ch).and_then(|c| c.revenue).as_ref(),
                    "no valued conversion credited",
                )
            })
            .collect();
        t.row(ch, &cells);
    }
    let totals: Vec<Cell> = s
        .rules
        .iter()
        .map(|a| Cell::opt_money(a.revenue.as_ref(), "no valued conversion"))
        .collect();
    t.total("total", &totals);
    Some(t.finish())
}

fn unit_economics(s: &EconomicsSection, currency: &str) -> Option<String> {
    let u = s.by_lead_source.as_ref()?;
    let mut o = String::new();
    figure(&mut o, charts::cost_chart(s, currency), charts::COST_DESC);
    let mut head: Vec<String> = vec!["lead source".into(), format!("spend ({currency})")];
    head.extend(
        u.units
            .iter()
            .map(|unit| format!("cost per {} ({currency})", charts::unit_label(unit))),
    );
    head.push("ROAS".into());
    head.push("ROI".into());
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    let mut t = Table::new(
        "table-unit-economics",
        "Spend and cost per stage per lead source; ROAS and ROI on won revenue",
        &head,
    );
    let add = |t: &mut Table, name: &str, row: &crate::cost::EconomicsRow, total: bool| {
        let mut cells = vec![Cell::money(&row.spend)];
        cells.extend(
            row.cost_per
                .iter()
                .map(|c| Cell::opt_money(c.value.as_ref(), "none reached")),
        );
        cells.push(Cell::opt_num(
            row.roas.value.and_then(|d| d.to_f64()),
            2,
            "no spend",
        ));
        cells.push(Cell::opt_num(
            row.roi.value.and_then(|d| d.to_f64()),
            2,
            "no spend",
        ));
        if total {
            t.total(name, &cells);
        } else {
            t.row(name, &cells);
        }
    };
    for row in &u.rows {
        let name = row
            .key
            .channel
            .as_ref()
            .map_or_else(|| "(no source)".into(), ToString::to_string);
        add(&mut t, &name, row, false);
    }
    add(&mut t, "total", &u.total, true);
    o.push_str(&t.finish());
    Some(o)
}

fn sourcing(s: &EconomicsSection, currency: &str) -> Option<String> {
    let p = s.sourcing.as_ref()?;
    let mut t = Table::new(
        "table-sourced-influenced",
        "Opportunities sourced (by lead source) and influenced (a touch before creation), per channel",
        &[
            "channel",
            "sourced",
            &format!("sourced amount ({currency})"),
            "influenced",
            &format!("influenced amount ({currency})"),
        ],
    );
    for r in &p.by_channel {
        t.row(
            &r.channel
                .as_ref()
                .map_or_else(|| "(none)".into(), ToString::to_string),
            &[
                Cell::count(r.sourced),
                Cell::money(&r.sourced_amount),
                Cell::count(r.influenced),
                Cell::money(&r.influenced_amount),
            ],
        );
    }
    t.total(
        "total",
        &[
            Cell::count(p.opportunities),
            Cell::money(&p.total),
            Cell::text(""),
            Cell::text(""),
        ],
    );
    Some(t.finish())
}

fn pipeline_waterfall(s: &PipelineSection, currency: &str) -> String {
    let mut o = String::new();
    figure(
        &mut o,
        Some(charts::waterfall_chart(s, currency)),
        charts::WATERFALL_DESC,
    );
    let w = &s.waterfall;
    let mut t = Table::new(
        "table-pipeline-waterfall",
        &format!(
            "Open pipeline from the start to the end of {}: start + created + pulled in + increased − decreased − pushed out − lost − won = end",
            s.quarter.label()
        ),
        &["movement", &format!("amount ({currency})"), "deals"],
    );
    for (label, flow) in [
        ("start", &w.start),
        ("+ created", &w.created),
        ("+ pulled in", &w.pulled_in),
        ("+ increased", &w.increased),
        ("− decreased", &w.decreased),
        ("− pushed out", &w.pushed_out),
        ("− lost", &w.lost),
        ("− won", &w.won),
    ] {
        t.row(label, &[Cell::money(&flow.amount), Cell::count(flow.deals)]);
    }
    t.total(
        "= end",
        &[Cell::money(&w.end.amount), Cell::count(w.end.deals)],
    );
    o.push_str(&t.finish());
    o
}

fn win_rate(s: &PipelineSection) -> String {
    let w = &s.win_rate;
    let mut t = Table::new(
        "table-win-rate",
        "Win rate (won / closed) and sales cycle of won deals, as of the report date",
        &["measure", "value"],
    );
    t.row(
        "win rate (won / closed)",
        &[Cell::rate(&w.ratio, w.interval, "no closed deal")],
    );
    t.row("won", &[Cell::count(w.won)]);
    t.row("lost", &[Cell::count(w.lost)]);
    t.row("no decision", &[Cell::count(w.no_decision)]);
    t.row("open", &[Cell::count(w.open)]);
    let none = "no won deal";
    match &s.sales_cycle {
        Some(c) => {
            t.row("won deals with a cycle", &[Cell::count(c.count)]);
            t.row(
                "sales cycle, median (days)",
                &[Cell::num(c.median_days(), 1)],
            );
            t.row("sales cycle, p90 (days)", &[Cell::num(c.p90_days(), 1)]);
        }
        None => {
            t.row("sales cycle, median (days)", &[Cell::na(none)]);
            t.row("sales cycle, p90 (days)", &[Cell::na(none)]);
        }
    }
    t.finish()
}

fn slippage(s: &PipelineSection) -> String {
    let sl = &s.slippage;
    let mut t = Table::new(
        "table-slippage",
        &format!("Close-date pushes within {}", s.quarter.label()),
        &["measure", "value"],
    );
    t.row("deals due", &[Cell::count(sl.deals)]);
    t.row("pushes", &[Cell::count(sl.pushes)]);
    t.row("deals pushed", &[Cell::count(sl.pushed_deals)]);
    t.row(
        "deals pushed twice or more",
        &[Cell::count(sl.pushed_twice_or_more)],
    );
    t.row(
        &format!("amount slipped ({})", sl.slipped.currency()),
        &[Cell::money(&sl.slipped)],
    );
    t.finish()
}

fn forecast_errors(s: &ForecastSection) -> Option<String> {
    let e = s.errors.as_ref()?;
    let mut t = Table::new(
        "table-forecast-errors",
        "Forecast against actual, per series",
        &["series", "points", "MAPE", "WAPE", "bias", "accuracy"],
    );
    let row = |t: &mut Table, name: &str, m: &crate::forecast::ErrorMetrics, total: bool| {
        let cells = [
            Cell::count(m.n),
            Cell::opt_percent(m.mape, "no non-zero actual"),
            Cell::opt_percent(m.wape, "actuals sum to zero"),
            Cell::opt_num(m.bias, 0, "no point"),
            Cell::opt_percent(m.accuracy, "WAPE undefined"),
        ];
        if total {
            t.total(name, &cells);
        } else {
            t.row(name, &cells);
        }
    };
    for (name, m) in &e.series {
        row(&mut t, name, m, false);
    }
    row(&mut t, "(all series)", &e.pooled, true);
    Some(t.finish())
}

fn calibration(s: &ForecastSection) -> Option<String> {
    let c = s.calibration.as_ref()?;
    let mut o = String::new();
    figure(
        &mut o,
        charts::calibration_chart(s),
        charts::CALIBRATION_DESC,
    );
    if let Some(q) = &s.quarter {
        note(
            &mut o,
            &format!(
                "Deals open at the start of {}: {} won, {} lost, {} still open; Brier score {}, expected calibration error {}.",
                q.label(),
                c.scores.won,
                c.scores.lost,
                c.scores.open,
                opt_f(c.scores.brier, 3),
                opt_f(c.reliability.ece, 3)
            ),
        );
    }
    let mut t = Table::new(
        "table-calibration",
        "Predicted win probability against the observed win rate, per probability bin",
        &[
            "probability",
            "deals",
            "mean predicted",
            "observed win rate",
        ],
    );
    for b in &c.reliability.bins {
        t.row(
            &format!("{:.1}–{:.1}", b.lower, b.upper),
            &[
                Cell::count(b.count),
                if b.count == 0 {
                    Cell::na("no deal in the bin")
                } else {
                    Cell::opt_percent(Some(b.mean_predicted), "")
                },
                Cell::rate(&b.observed, Some(b.interval), "no closed deal in the bin"),
            ],
        );
    }
    o.push_str(&t.finish());
    Some(o)
}

fn plan(s: &PlanSection, today: NaiveDate) -> Option<String> {
    let p = s.plan.periods.first()?;
    let mut o = String::new();
    figure(&mut o, charts::plan_chart(s, today), charts::PLAN_DESC);
    let mut t = Table::new(
        "table-plan",
        &format!(
            "Plan for {}: target {} {} ({}), average deal {} {} → {} wins",
            p.period.label(),
            Cell::money(&p.target).shown(),
            p.target.currency(),
            s.target_basis,
            Cell::money(&s.plan.deal_size).shown(),
            s.plan.deal_size.currency(),
            p.wins
        ),
        &[
            "stage",
            "rate to the next stage",
            "needed",
            "enter from",
            "enter by",
        ],
    );
    let rates = s.funnel.rates();
    for (idx, st) in p.stages.iter().enumerate() {
        t.row(
            &st.stage,
            &[
                Cell::opt_percent(rates.get(idx).copied(), "last stage"),
                Cell::count(st.count),
                Cell::text(st.enter_from.to_string()),
                Cell::text(st.enter_by.to_string()),
            ],
        );
    }
    o.push_str(&t.finish());
    Some(o)
}

fn projection(s: &PlanSection) -> Option<String> {
    let pr = s.projection.as_ref()?;
    let cur = s.plan.deal_size.currency().to_string();
    let mut t = Table::new(
        "table-projection",
        &format!("Open deals on {}, projected (95 % band)", pr.today),
        &[
            "by",
            "days",
            "wins",
            "wins, low",
            "wins, high",
            &format!("revenue ({cur})"),
            &format!("revenue, low ({cur})"),
            &format!("revenue, high ({cur})"),
        ],
    );
    for h in &pr.horizons {
        t.row(
            &h.until.to_string(),
            &[
                Cell::count(h.days),
                Cell::num(h.wins, 1),
                Cell::num(h.wins_band.0, 1),
                Cell::num(h.wins_band.1, 1),
                Cell::money(&h.revenue),
                Cell::num(h.revenue_band.0, 0),
                Cell::num(h.revenue_band.1, 0),
            ],
        );
    }
    Some(t.finish())
}

/// The measured ramp: its chart, and per tenure month the counts behind each point.
fn ramp(r: &crate::pipeline::RampReport, currency: &str) -> String {
    let mut o = String::new();
    figure(&mut o, charts::ramp_chart(r), charts::RAMP_DESC);
    note(
        &mut o,
        &format!(
            "{} new owners measured from their first deal (owners active within {} days of the first deal are established: tenured throughout), {} established, {} deals without an owner. A new owner is tenured {} months after their start. Baseline: tenured owners' output per owner-day over the same days.",
            r.new_owners,
            r.spec.established_days,
            r.established_owners,
            r.unowned_deals,
            r.spec.tenured_after_months
        ),
    );
    let mut t = Table::new(
        "table-ramp",
        "New owners by tenure month: pipeline created and bookings against tenured owners over the same days",
        &[
            "month",
            "owners",
            "without baseline",
            "deals created",
            "at tenure",
            &format!("pipeline ({currency})"),
            &format!("at tenure ({currency})"),
            "pipeline vs tenured",
            &format!("bookings ({currency})"),
            "bookings vs tenured",
        ],
    );
    for p in &r.points {
        t.row(
            &p.month.to_string(),
            &[
                Cell::count(p.owners),
                Cell::count(p.without_baseline),
                Cell::count(p.pipeline.deals),
                Cell::num(p.pipeline.expected_deals.to_f64().unwrap_or(0.0), 1),
                Cell::money(&p.pipeline.amount),
                Cell::money(&p.pipeline.expected_amount),
                Cell::opt_percent(p.pipeline.amount_ratio(), "no tenured baseline"),
                Cell::money(&p.bookings.amount),
                Cell::opt_percent(p.bookings.amount_ratio(), "no tenured baseline"),
            ],
        );
    }
    o.push_str(&t.finish());
    o
}

fn by_owner(s: &PipelineSection, currency: &str) -> Option<String> {
    let b = s.by_owner.as_ref()?;
    let mut o = String::new();
    note(
        &mut o,
        &format!(
            "Per {}: won / closed as of {} with its {:.0} % interval; bookings (won amount and deals) and pipeline created in {}; sales cycle: median days from creation to win. Deals without an owner are their own row; the rows add up to the total.",
            b.dimension.name(),
            b.as_of.format("%Y-%m-%d"),
            100.0 * b.total.win_rate.confidence.level(),
            s.quarter.label()
        ),
    );
    o.push_str(&by_owner_table(b, currency));
    Some(o)
}

/// The per-rep table's rows and total.
fn by_owner_table(b: &PipelineBreakdown, currency: &str) -> String {
    let mut t = Table::new(
        "table-by-owner",
        &format!(
            "Win rate, bookings, sales cycle and pipeline created per {}",
            b.dimension.name()
        ),
        &[
            &b.dimension.name(),
            "win rate (won / closed)",
            "lost",
            &format!("bookings ({currency})"),
            "won deals",
            "cycle, median (days)",
            &format!("pipeline created ({currency})"),
            "deals created",
        ],
    );
    let cells = |r: &crate::report::PipelineBreakdownRow| {
        let w = &r.win_rate;
        let created = r.pipeline_created.as_ref();
        [
            Cell::rate(&w.ratio, w.interval, "no closed deal"),
            Cell::count(w.lost),
            Cell::money(&r.bookings.amount),
            Cell::count(r.bookings.deals),
            Cell::opt_num(r.sales_cycle.map(|c| c.median_days()), 1, "no won deal"),
            Cell::opt_money(created.map(|c| &c.amount), "no window"),
            created.map_or_else(|| Cell::na("no window"), |c| Cell::count(c.deals)),
        ]
    };
    for r in &b.rows {
        t.row(r.value.as_deref().unwrap_or("(missing)"), &cells(r));
    }
    t.total("total", &cells(&b.total));
    t.finish()
}

fn projection_backtest(s: &ForecastSection, currency: &str) -> Option<String> {
    let b = s.projection_backtest.as_ref()?;
    let origins = b.origins();
    let mut o = String::new();
    note(
        &mut o,
        &format!(
            "The deals open on the first of each of {} months ({} to {}) projected as the report projects today's (by stage and age{}), each with a chain fitted on what was known then, against what they did. Band: z = {}, calibrated at each origin on its own past.",
            origins.len(),
            origins
                .first()
                .map_or_else(String::new, ToString::to_string),
            origins.last().map_or_else(String::new, ToString::to_string),
            if b.segmented { " and segment" } else { "" },
            b.z
        ),
    );
    o.push_str(&backtest_summary_table(b));
    o.push_str(&backtest_rows_table(b, currency));
    Some(o)
}

/// Per horizon and over every cell: the wins' MAPE, MAE and bias, revenue WAPE,
/// band coverage.
fn backtest_summary_table(b: &BacktestTable) -> String {
    let mut t = Table::new(
        "table-backtest-summary",
        "Backtest accuracy per horizon (cumulative days after each origin)",
        &[
            "horizon",
            "cells",
            "wins MAPE",
            "wins MAE",
            "wins bias",
            "revenue WAPE",
            "actual in band",
        ],
    );
    let cells = |s: &crate::report::BacktestSummary| {
        [
            Cell::count(s.cells),
            Cell::opt_percent(s.wins_mape, "no actual win"),
            Cell::opt_num(s.wins_mae, 1, "no cell"),
            Cell::opt_percent(s.wins_bias, "no actual win"),
            Cell::opt_percent(s.revenue_wape, "no booked revenue"),
            Cell::rate(
                &crate::ratio::Ratio {
                    numerator: s.covered,
                    denominator: s.cells,
                },
                None,
                "no cell",
            ),
        ]
    };
    for s in &b.horizons {
        let days = s.days.map_or_else(String::new, |d| format!("{d} days"));
        t.row(&days, &cells(s));
    }
    t.total("all horizons", &cells(&b.total));
    t.finish()
}

/// One row per origin × horizon.
fn backtest_rows_table(b: &BacktestTable, currency: &str) -> String {
    let mut t = Table::new(
        "table-backtest",
        &format!("Projected against actual, per origin and horizon (revenue in {currency})"),
        &[
            "origin",
            "days",
            "open deals",
            "wins",
            "wins, low",
            "wins, high",
            "actual wins",
            "in band",
            "revenue",
            "revenue, low",
            "revenue, high",
            "actual revenue",
        ],
    );
    for r in &b.rows {
        t.row(
            &r.origin.to_string(),
            &[
                Cell::count(r.days),
                Cell::count(r.open_deals as u64),
                Cell::num(r.wins, 1),
                Cell::num(r.wins_band.0, 1),
                Cell::num(r.wins_band.1, 1),
                Cell::count(r.actual_wins),
                Cell::text(if r.in_band { "yes" } else { "no" }),
                Cell::money(&r.revenue),
                Cell::num(r.revenue_band.0, 0),
                Cell::num(r.revenue_band.1, 0),
                Cell::money(&r.actual_revenue),
            ],
        );
    }
    t.finish()
}
