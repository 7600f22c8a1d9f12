//! The page's inline SVG charts: each carries a `<title>` and a `<desc>` for screen
//! readers, and draws in colours that keep text at WCAG AA contrast on white.

use std::fmt::Write as _;

use chrono::NaiveDate;

use rust_decimal::prelude::ToPrimitive;

use super::esc;
use crate::attribution::RuleModel;
use crate::report::text::{shares, whole};
use crate::report::{
    AttributionSection, EconomicsSection, ForecastSection, FunnelSection, PipelineSection,
    PlanSection,
};

const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];
const INK: &str = "#222";
const GRID: &str = "#ddd";
const UP: &str = "#2e8b57";
const DOWN: &str = "#c0392b";
const LEVEL: &str = "#4a6fa5";

/// A number with a short suffix: 1234 → `1.2k`, 2500000 → `2.5M`.
fn abbrev(v: f64) -> String {
    let a = v.abs();
    let (d, s) = if a >= 1e9 {
        (1e9, "B")
    } else if a >= 1e6 {
        (1e6, "M")
    } else if a >= 1e3 {
        (1e3, "k")
    } else {
        (1.0, "")
    };
    let x = v / d;
    if s.is_empty() {
        if (x - x.round()).abs() < 1e-9 {
            format!("{x:.0}")
        } else {
            format!("{x:.1}")
        }
    } else if x.abs() >= 100.0 {
        format!("{x:.0}{s}")
    } else {
        format!("{x:.1}{s}")
    }
}

/// "Nice" axis ticks from `lo` to at least `hi`: steps of 1, 2 or 5 × 10^k.
fn ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let span = (hi - lo).max(f64::MIN_POSITIVE);
    let raw = span / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let start = (lo / step).floor() * step;
    let mut out = Vec::new();
    let mut t = start;
    while t < hi + step * 0.999 && out.len() < 50 {
        out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    out
}

/// The last tick at or above `hi`: an axis end with headroom.
fn nice_max(lo: f64, hi: f64) -> f64 {
    ticks(lo, hi, 5)
        .last()
        .copied()
        .filter(|t| *t >= hi)
        .unwrap_or(hi)
}

/// A rule model's name as a chart label.
pub(super) fn model_label(model: &RuleModel) -> String {
    match model {
        RuleModel::FirstTouch => "first touch".into(),
        RuleModel::LastTouch => "last touch".into(),
        RuleModel::LastNonDirect { .. } => "last non-direct".into(),
        RuleModel::LinearUnique => "linear (unique)".into(),
        RuleModel::TimeDecay { half_life } => {
            let days = half_life.num_milliseconds() as f64 / 86_400_000.0;
            format!("time decay {days}d")
        }
        RuleModel::PositionBased { first, last } => {
            format!("U-shaped {}", shares(*first, *last))
        }
        RuleModel::WShaped => "W-shaped".into(),
        RuleModel::FirstAndLead => "first touch + lead creation".into(),
        other => other.name().replace('_', " "),
    }
}

/// `leads` → `lead`; stage keys as they are.
pub(super) fn unit_label(unit: &str) -> &str {
    if unit == "leads" { "lead" } else { unit }
}

/// What the funnel chart's marks mean (its `<desc>` and caption).
pub(super) const FUNNEL_DESC: &str = "Bars: records reaching each stage (all cohorts, back-filled skips included). Arrows: conversion from the previous stage.";
/// What the attribution chart's marks mean.
pub(super) const ATTRIBUTION_DESC: &str = "Each bar: the channel's share of the conversions the model credits. Rule models split each conversion; Markov by removal effect; Shapley by conversion-rate contribution (may be negative).";
/// What the cost chart's marks mean.
pub(super) const COST_DESC: &str = "Spend of the lead source divided by the records it brought to each stage (n/a: none reached it).";
/// What the pipeline waterfall's marks mean.
pub(super) const WATERFALL_DESC: &str =
    "Blue: open pipeline at the quarter's start and end; green: additions; red: removals.";
/// What the reliability diagram's marks mean.
pub(super) const CALIBRATION_DESC: &str = "Each dot: deals open at the quarter's start grouped by the probability they had then, against the share of those closed by its end that were won.";
/// What the ramp chart's marks mean.
pub(super) const RAMP_DESC: &str = "Each dot: new owners' pipeline created (blue) and bookings (orange) in a tenure month, as a share of what tenured owners made over the same days (amounts, pooled over the owners); dashed line: a tenured owner; n: owners pooled. A month without a baseline has no dot.";
/// What the plan timeline's marks mean.
pub(super) const PLAN_DESC: &str = "Each bar: the days in which records must enter the stage for the target quarter's wins, given the measured rates and median lags.";

struct Svg {
    out: String,
}

impl Svg {
    /// A chart `id` with its `title` and a longer description `desc` (what the marks
    /// mean), both read by screen readers.
    fn new(id: &str, title: &str, desc: &str, width: f64, height: f64) -> Svg {
        let mut out = String::new();
        let _ = write!(
            out,
            r##"<svg id="{id}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-labelledby="{id}-title" aria-describedby="{id}-desc" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif" font-size="13"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc><rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>"##,
            esc(title),
            esc(desc)
        );
        Svg { out }
    }
    /// A label in ink, or in the colour `extra` gives (one `fill` attribute: a
    /// repeated attribute is ignored by browsers).
    fn text(&mut self, x: f64, y: f64, anchor: &str, extra: &str, s: &str) {
        let ink = if extra.contains("fill=") {
            String::new()
        } else {
            format!(r##" fill="{INK}""##)
        };
        let _ = write!(
            self.out,
            r##"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}"{ink} {extra}>{}</text>"##,
            esc(s)
        );
    }
    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, tip: &str) {
        let _ = write!(
            self.out,
            r##"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{fill}"><title>{}</title></rect>"##,
            w.max(0.0),
            h.max(0.0),
            esc(tip)
        );
    }
    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str, extra: &str) {
        let _ = write!(
            self.out,
            r##"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{stroke}" {extra}/>"##
        );
    }
    fn finish(mut self) -> String {
        self.out.push_str("</svg>");
        self.out
    }
}

/// Which way an axis runs.
#[derive(Clone, Copy)]
enum Along {
    /// Horizontal: ticks below the plot, label under them.
    X,
    /// Vertical: ticks left of the plot, label turned on its side.
    Y,
}

/// The plot area `[x0, x1] × [y0, y1]` (SVG coordinates: y grows downwards).
#[derive(Clone, Copy)]
struct Area {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

/// A value axis from `lo` to `hi` along one side of `area`: grid lines, tick labels
/// formatted by `fmt`, and the axis label.
fn axis(
    svg: &mut Svg,
    area: Area,
    along: Along,
    (lo, hi): (f64, f64),
    fmt: &dyn Fn(f64) -> String,
    label: &str,
) {
    let Area { x0, x1, y0, y1 } = area;
    for t in ticks(lo, hi, 5) {
        if t < lo - 1e-9 || t > hi + 1e-9 {
            continue;
        }
        let f = (t - lo) / (hi - lo);
        match along {
            Along::X => {
                let x = x0 + f * (x1 - x0);
                svg.line(x, y0, x, y1, GRID, "");
                svg.text(x, y1 + 16.0, "middle", "", &fmt(t));
            }
            Along::Y => {
                let y = y1 - f * (y1 - y0);
                svg.line(x0, y, x1, y, GRID, "");
                svg.text(x0 - 6.0, y + 4.0, "end", "", &fmt(t));
            }
        }
    }
    let bold = r##"font-weight="600""##;
    match along {
        Along::X => svg.text((x0 + x1) / 2.0, y1 + 34.0, "middle", bold, label),
        Along::Y => {
            let (cx, cy) = (16.0, (y0 + y1) / 2.0);
            let turned = format!(r##"{bold} transform="rotate(-90 {cx} {cy})""##);
            svg.text(cx, cy, "middle", &turned, label);
        }
    }
}

fn legend(svg: &mut Svg, x: f64, y: f64, names: &[String], width: f64) -> f64 {
    let (mut cx, mut cy) = (x, y);
    for (i, n) in names.iter().enumerate() {
        let w = 30.0 + 7.8 * n.chars().count() as f64;
        if cx + w > x + width {
            cx = x;
            cy += 20.0;
        }
        svg.rect(cx, cy - 10.0, 12.0, 12.0, PALETTE[i % PALETTE.len()], n);
        svg.text(cx + 16.0, cy, "start", "", n);
        cx += w;
    }
    cy + 14.0
}

pub(super) fn funnel_chart(s: &FunnelSection) -> Option<String> {
    let c = &s.cohort;
    let all = &c.total.all;
    let counts: Vec<f64> = all.reached.iter().map(|r| r.unwrap_or(0) as f64).collect();
    if counts.is_empty() {
        return None;
    }
    let (w, h) = (900.0, 380.0);
    let (x0, x1, y0, y1) = (80.0, w - 20.0, 40.0, h - 70.0);
    let max = counts.iter().copied().fold(1.0, f64::max);
    let mut svg = Svg::new(
        "chart-funnel",
        "Demand waterfall: records reaching each stage, with stage-to-stage conversion",
        FUNNEL_DESC,
        w,
        h,
    );
    axis(
        &mut svg,
        Area { x0, x1, y0, y1 },
        Along::Y,
        (0.0, max),
        &abbrev,
        "records reaching the stage",
    );
    let n = counts.len() as f64;
    let slot = (x1 - x0) / n;
    let bw = slot * 0.55;
    for (i, (key, v)) in c.stages.iter().zip(&counts).enumerate() {
        let x = x0 + slot * i as f64 + (slot - bw) / 2.0;
        let bh = v / max * (y1 - y0);
        svg.rect(x, y1 - bh, bw, bh, LEVEL, &format!("{key}: {v}"));
        svg.text(
            x + bw / 2.0,
            y1 - bh - 6.0,
            "middle",
            r##"font-weight="600""##,
            &abbrev(*v),
        );
        svg.text(x + bw / 2.0, y1 + 18.0, "middle", "", key);
        if i > 0
            && let Some(step) = all.steps.get(i - 1)
        {
            let label = step
                .ratio
                .percent()
                .map_or_else(|| "n/a".to_string(), |p| format!("→ {p:.1}%"));
            let mx = x0 + slot * i as f64;
            svg.text(
                mx,
                y1 + 38.0,
                "middle",
                r##"fill="#555" font-size="12""##,
                &label,
            );
        }
    }
    svg.text(
        x0,
        22.0,
        "start",
        r##"font-size="12""##,
        &format!(
            "All {} cohorts; arrows: conversion from the previous stage (k / n in the tables)",
            c.granularity
        ),
    );
    Some(svg.finish())
}

pub(super) fn attribution_chart(s: &AttributionSection) -> Option<String> {
    let mut models: Vec<(String, Vec<(String, f64)>)> = s
        .rules
        .iter()
        .map(|a| {
            (
                model_label(&a.model),
                a.channels
                    .iter()
                    .map(|c| (c.channel.to_string(), c.conversions))
                    .collect(),
            )
        })
        .collect();
    // Markov and Shapley are absent beyond their limits (named under "omitted").
    if let Some(m) = &s.markov {
        models.push((
            "Markov removal effect".into(),
            m.channels
                .iter()
                .map(|c| (c.channel.to_string(), c.conversions))
                .collect(),
        ));
    }
    if let Some(sh) = &s.shapley {
        models.push((
            "Shapley (conversion rate)".into(),
            sh.conversion_rate
                .credits
                .credits
                .iter()
                .map(|c| (c.channel.to_string(), c.conversions))
                .collect(),
        ));
    }
    let mut channels: Vec<String> = models
        .iter()
        .flat_map(|(_, v)| v.iter().map(|(c, _)| c.clone()))
        .collect();
    channels.sort();
    channels.dedup();
    if channels.is_empty() {
        return None;
    }
    // Share of each model's credited conversions, in %.
    let share = |m: &[(String, f64)], ch: &str| -> f64 {
        let total: f64 = m.iter().map(|(_, v)| v).sum();
        let v = m.iter().find(|(c, _)| c == ch).map_or(0.0, |(_, v)| *v);
        if total.abs() > 0.0 {
            100.0 * v / total
        } else {
            0.0
        }
    };
    let values: Vec<Vec<f64>> = channels
        .iter()
        .map(|ch| models.iter().map(|(_, m)| share(m, ch)).collect())
        .collect();
    let lo = values.iter().flatten().copied().fold(0.0, f64::min);
    let hi = nice_max(lo, values.iter().flatten().copied().fold(1.0, f64::max));
    let bar = 7.0;
    let group = bar * models.len() as f64 + 12.0;
    let w = 900.0;
    let names: Vec<String> = models.iter().map(|(n, _)| n.clone()).collect();
    let mut svg_probe = Svg::new("probe", "", "", w, 10.0);
    let legend_h = legend(&mut svg_probe, 150.0, 20.0, &names, w - 170.0);
    let top = legend_h + 6.0;
    let h = top + group * channels.len() as f64 + 50.0;
    let (x0, x1, y0, y1) = (150.0, w - 30.0, top, h - 50.0);
    let mut svg = Svg::new(
        "chart-attribution",
        "Attribution: each channel's share of credited conversions, by model",
        ATTRIBUTION_DESC,
        w,
        h,
    );
    legend(&mut svg, 150.0, 20.0, &names, w - 170.0);
    let sx = |v: f64| x0 + (v - lo) / (hi - lo) * (x1 - x0);
    axis(
        &mut svg,
        Area { x0, x1, y0, y1 },
        Along::X,
        (lo, hi),
        &|t| format!("{t:.0}%"),
        "share of credited conversions (%)",
    );
    for (gi, (ch, vals)) in channels.iter().zip(&values).enumerate() {
        let gy = y0 + group * gi as f64 + 6.0;
        svg.text(
            x0 - 8.0,
            gy + bar * vals.len() as f64 / 2.0 + 4.0,
            "end",
            "",
            ch,
        );
        for (mi, v) in vals.iter().enumerate() {
            let (a, b) = (sx(0.0_f64.min(*v)), sx(0.0_f64.max(*v)));
            svg.rect(
                a,
                gy + bar * mi as f64,
                b - a,
                bar - 1.0,
                PALETTE[mi % PALETTE.len()],
                &format!("{ch} — {}: {v:.1}%", names[mi]),
            );
        }
    }
    svg.line(sx(0.0), y0, sx(0.0), y1, INK, "");
    Some(svg.finish())
}

pub(super) fn cost_chart(s: &EconomicsSection, currency: &str) -> Option<String> {
    let u = s.by_lead_source.as_ref()?;
    if u.rows.is_empty() || u.units.is_empty() {
        return None;
    }
    let names: Vec<String> = u
        .rows
        .iter()
        .map(|r| {
            r.key
                .channel
                .as_ref()
                .map_or_else(|| "(no source)".into(), ToString::to_string)
        })
        .collect();
    let cols = 2usize;
    let panels = u.units.len();
    let rows_n = panels.div_ceil(cols);
    let (pw, bar) = (450.0, 16.0);
    let ph = 50.0 + bar * names.len() as f64 + 40.0;
    let (w, h) = (pw * cols as f64, ph * rows_n as f64 + 10.0);
    let mut svg = Svg::new(
        "chart-cost-per-stage",
        "Cost per stage per lead source",
        COST_DESC,
        w,
        h,
    );
    for (pi, unit) in u.units.iter().enumerate() {
        let (px, py) = (pw * (pi % cols) as f64, ph * (pi / cols) as f64);
        let vals: Vec<Option<f64>> = u
            .rows
            .iter()
            .map(|r| {
                r.cost_per
                    .get(pi)
                    .and_then(|c| c.value)
                    .and_then(|m| m.amount().to_f64())
            })
            .collect();
        let hi = nice_max(0.0, vals.iter().flatten().copied().fold(1.0, f64::max));
        let (x0, x1, y0) = (px + 150.0, px + pw - 60.0, py + 40.0);
        let y1 = y0 + bar * names.len() as f64;
        svg.text(
            px + pw / 2.0,
            py + 20.0,
            "middle",
            r##"font-weight="600""##,
            &format!("cost per {} ({currency})", unit_label(unit)),
        );
        for t in ticks(0.0, hi, 3) {
            if t > hi + 1e-9 {
                continue;
            }
            let x = x0 + t / hi * (x1 - x0);
            svg.line(x, y0, x, y1, GRID, "");
            svg.text(x, y1 + 15.0, "middle", r##"font-size="11""##, &abbrev(t));
        }
        for (ri, (name, v)) in names.iter().zip(&vals).enumerate() {
            let y = y0 + bar * ri as f64;
            svg.text(x0 - 6.0, y + bar - 4.0, "end", r##"font-size="12""##, name);
            match v {
                Some(v) => {
                    let bw = v / hi * (x1 - x0);
                    svg.rect(
                        x0,
                        y + 2.0,
                        bw,
                        bar - 4.0,
                        PALETTE[pi % PALETTE.len()],
                        &format!("{name}: cost per {} {v:.2} {currency}", unit_label(unit)),
                    );
                    svg.text(
                        x0 + bw + 4.0,
                        y + bar - 4.0,
                        "start",
                        r##"font-size="11""##,
                        &abbrev(*v),
                    );
                }
                None => svg.text(
                    x0 + 4.0,
                    y + bar - 4.0,
                    "start",
                    r##"font-size="11" fill="#595959""##,
                    "n/a (no units)",
                ),
            }
        }
        svg.line(x0, y0, x0, y1, INK, "");
    }
    Some(svg.finish())
}

pub(super) fn waterfall_chart(s: &PipelineSection, currency: &str) -> String {
    let wf = &s.waterfall;
    let amt = |f: &crate::pipeline::Flow| f.amount.amount().to_f64().unwrap_or(0.0);
    let steps: [(&str, f64, i8); 9] = [
        ("start", amt(&wf.start), 0),
        ("created", amt(&wf.created), 1),
        ("pulled in", amt(&wf.pulled_in), 1),
        ("increased", amt(&wf.increased), 1),
        ("decreased", amt(&wf.decreased), -1),
        ("pushed out", amt(&wf.pushed_out), -1),
        ("lost", amt(&wf.lost), -1),
        ("won", amt(&wf.won), -1),
        ("end", amt(&wf.end), 0),
    ];
    // Running level: bars float between the level before and after each movement.
    let mut level = 0.0;
    let mut spans = Vec::with_capacity(steps.len());
    for (label, v, dir) in steps {
        let (a, b) = match dir {
            0 => {
                level = v;
                (0.0, v)
            }
            1 => {
                let a = level;
                level += v;
                (a, level)
            }
            _ => {
                let a = level;
                level -= v;
                (level, a)
            }
        };
        spans.push((label, v, dir, a.min(b), a.max(b)));
    }
    let lo = spans.iter().map(|s| s.3).fold(0.0, f64::min);
    let hi = nice_max(lo, 1.08 * spans.iter().map(|s| s.4).fold(1.0, f64::max));
    let (w, h) = (900.0, 420.0);
    let (x0, x1, y0, y1) = (90.0, w - 20.0, 50.0, h - 60.0);
    let mut svg = Svg::new(
        "chart-pipeline-waterfall",
        &format!("Pipeline waterfall, {}", s.quarter.label()),
        WATERFALL_DESC,
        w,
        h,
    );
    axis(
        &mut svg,
        Area { x0, x1, y0, y1 },
        Along::Y,
        (lo, hi),
        &abbrev,
        &format!("open pipeline ({currency})"),
    );
    let sy = |v: f64| y1 - (v - lo) / (hi - lo) * (y1 - y0);
    let slot = (x1 - x0) / spans.len() as f64;
    let bw = slot * 0.6;
    let mut prev_level_y: Option<f64> = None;
    for (i, (label, v, dir, a, b)) in spans.iter().enumerate() {
        let x = x0 + slot * i as f64 + (slot - bw) / 2.0;
        let fill = match dir {
            0 => LEVEL,
            1 => UP,
            _ => DOWN,
        };
        let sign = match dir {
            0 => "",
            1 => "+",
            _ => "−",
        };
        svg.rect(
            x,
            sy(*b),
            bw,
            sy(*a) - sy(*b),
            fill,
            &format!("{label}: {sign}{v:.0} {currency}"),
        );
        svg.text(
            x + bw / 2.0,
            sy(*b) - 6.0,
            "middle",
            r##"font-size="12""##,
            &format!("{sign}{}", abbrev(*v)),
        );
        svg.text(x + bw / 2.0, y1 + 18.0, "middle", "", label);
        if let Some(py) = prev_level_y {
            svg.line(
                x - (slot - bw),
                py,
                x,
                py,
                "#999",
                r##"stroke-dasharray="3 3""##,
            );
        }
        let after = match dir {
            -1 => *a,
            _ => *b,
        };
        prev_level_y = Some(sy(after));
    }
    svg.text(
        x0,
        22.0,
        "start",
        r##"font-size="12""##,
        &format!(
            "start + created + pulled in + increased − decreased − pushed out − lost − won = end ({} deals at the end)",
            wf.end.deals
        ),
    );
    svg.finish()
}

pub(super) fn calibration_chart(s: &ForecastSection) -> Option<String> {
    let c = s.calibration.as_ref()?;
    let (w, h) = (560.0, 520.0);
    let (x0, x1, y0, y1) = (80.0, w - 30.0, 50.0, h - 70.0);
    let mut svg = Svg::new(
        "chart-calibration",
        "Reliability diagram: predicted win probability vs observed win rate",
        CALIBRATION_DESC,
        w,
        h,
    );
    let pct = |t: f64| format!("{:.0}%", 100.0 * t);
    axis(
        &mut svg,
        Area { x0, x1, y0, y1 },
        Along::X,
        (0.0, 1.0),
        &pct,
        "predicted win probability",
    );
    axis(
        &mut svg,
        Area { x0, x1, y0, y1 },
        Along::Y,
        (0.0, 1.0),
        &pct,
        "observed win rate",
    );
    let sx = |v: f64| x0 + v * (x1 - x0);
    let sy = |v: f64| y1 - v * (y1 - y0);
    svg.line(
        sx(0.0),
        sy(0.0),
        sx(1.0),
        sy(1.0),
        "#888",
        r##"stroke-dasharray="5 4""##,
    );
    svg.text(
        sx(0.98),
        sy(0.03),
        "end",
        r##"font-size="11" fill="#666""##,
        "dashed diagonal: perfect calibration",
    );
    let max = c
        .reliability
        .bins
        .iter()
        .map(|b| b.count)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    for b in &c.reliability.bins {
        if b.count == 0 {
            continue;
        }
        let (x, y) = (sx(b.mean_predicted), sy(b.observed_rate));
        svg.line(
            x,
            sy(b.interval.lower),
            x,
            sy(b.interval.upper),
            PALETTE[0],
            r##"stroke-width="1.5""##,
        );
        let r = 3.0 + 9.0 * (b.count as f64 / max).sqrt();
        let _ = write!(
            svg.out,
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="{r:.1}" fill="{}" fill-opacity="0.75" stroke="#fff"><title>{}</title></circle>"##,
            PALETTE[0],
            esc(&format!(
                "{:.1}–{:.1}: {} deals, predicted {:.2}, observed {:.2} ({} / {})",
                b.lower,
                b.upper,
                b.count,
                b.mean_predicted,
                b.observed_rate,
                b.observed.numerator,
                b.observed.denominator
            ))
        );
    }
    svg.text(
        x0,
        22.0,
        "start",
        r##"font-size="12""##,
        &format!(
            "{} deals closed in the quarter; vertical bars: 95% interval; dot area ∝ deals",
            c.scores.won + c.scores.lost
        ),
    );
    Some(svg.finish())
}

pub(super) fn plan_chart(s: &PlanSection, today: NaiveDate) -> Option<String> {
    let p = s.plan.periods.first()?;
    let start = p.stages.iter().map(|st| st.enter_from).min()?.min(today);
    let end = p.period.last_day().max(today);
    let span = (end - start).num_days().max(1) as f64;
    let bar = 26.0;
    let (w, top) = (900.0, 50.0);
    let h = top + bar * p.stages.len() as f64 + 70.0;
    let (x0, x1, y0, y1) = (130.0, w - 110.0, top, h - 60.0);
    let sx = |d: NaiveDate| x0 + (d - start).num_days() as f64 / span * (x1 - x0);
    let mut svg = Svg::new(
        "chart-plan",
        &format!(
            "Plan timeline: when each stage must be entered to win {} target",
            p.period.label()
        ),
        PLAN_DESC,
        w,
        h,
    );
    // Month grid.
    let mut d =
        NaiveDate::from_ymd_opt(start.year_ce().1 as i32, start.month0() + 1, 1).unwrap_or(start);
    use chrono::Datelike as _;
    while d <= end {
        if d >= start {
            let x = sx(d);
            svg.line(x, y0, x, y1, GRID, "");
            svg.text(
                x,
                y1 + 16.0,
                "middle",
                r##"font-size="11""##,
                &d.format("%b %Y").to_string(),
            );
        }
        d = d
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(end + chrono::Days::new(1));
    }
    svg.text(
        (x0 + x1) / 2.0,
        y1 + 36.0,
        "middle",
        r##"font-weight="600""##,
        "date (entry window per stage; shaded: the target quarter)",
    );
    let (qa, qb) = (sx(p.period.start()), sx(p.period.last_day()));
    svg.rect(
        qa,
        y0,
        qb - qa,
        y1 - y0,
        "#f3e9c6",
        &format!("{}: target {}", p.period.label(), whole(&p.target)),
    );
    for (i, st) in p.stages.iter().enumerate() {
        let y = y0 + bar * i as f64;
        svg.text(x0 - 8.0, y + bar / 2.0 + 4.0, "end", "", &st.stage);
        let (a, b) = (sx(st.enter_from), sx(st.enter_by));
        svg.rect(
            a,
            y + 4.0,
            (b - a).max(2.0),
            bar - 8.0,
            PALETTE[i % PALETTE.len()],
            &format!(
                "{}: {} from {} to {}",
                st.stage, st.count, st.enter_from, st.enter_by
            ),
        );
        svg.text(
            b + 6.0,
            y + bar / 2.0 + 4.0,
            "start",
            r##"font-size="12""##,
            &format!("{} needed", st.count),
        );
    }
    let tx = sx(today);
    svg.line(tx, y0 - 8.0, tx, y1, DOWN, r##"stroke-width="2""##);
    svg.text(
        tx,
        y0 - 12.0,
        "middle",
        r##"font-size="12" fill="#c0392b""##,
        &format!("today {today}"),
    );
    svg.text(
        x0,
        20.0,
        "start",
        r##"font-size="12""##,
        &format!(
            "Target {} {} at an average deal of {} → {} wins",
            whole(&p.target),
            p.target.currency(),
            whole(&s.plan.deal_size),
            p.wins
        ),
    );
    Some(svg.finish())
}

/// The measured ramp: pipeline created and bookings of new owners by tenure month,
/// relative to tenured owners (`None` when no point has a value).
pub(super) fn ramp_chart(r: &crate::pipeline::RampReport) -> Option<String> {
    let series: [(&str, Vec<Option<f64>>); 2] = [
        (
            "pipeline created",
            r.points.iter().map(|p| p.pipeline.amount_ratio()).collect(),
        ),
        (
            "bookings",
            r.points.iter().map(|p| p.bookings.amount_ratio()).collect(),
        ),
    ];
    let top = series
        .iter()
        .flat_map(|(_, v)| v.iter().flatten())
        .copied()
        .filter(|v| v.is_finite())
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))?;
    let hi = nice_max(0.0, top.clamp(1.2, 3.0));
    let n = r.points.len().max(1) as f64;
    let (w, h) = (760.0, 420.0);
    let (x0, x1, y0, y1) = (80.0, w - 30.0, 70.0, h - 70.0);
    let mut svg = Svg::new(
        "chart-ramp",
        "Ramp of new owners: pipeline created and bookings by tenure month, relative to tenured owners",
        RAMP_DESC,
        w,
        h,
    );
    let pct = |t: f64| format!("{:.0}%", 100.0 * t);
    axis(
        &mut svg,
        Area { x0, x1, y0, y1 },
        Along::Y,
        (0.0, hi),
        &pct,
        "share of a tenured owner",
    );
    let sx = |m: usize| x0 + (m as f64 + 0.5) / n * (x1 - x0);
    let sy = |v: f64| y1 - v.min(hi) / hi * (y1 - y0);
    for (m, p) in r.points.iter().enumerate() {
        svg.text(sx(m), y1 + 16.0, "middle", "", &m.to_string());
        svg.text(
            sx(m),
            y1 + 30.0,
            "middle",
            r##"font-size="10" fill="#555""##,
            &format!("n={}", p.owners),
        );
    }
    svg.text(
        (x0 + x1) / 2.0,
        y1 + 50.0,
        "middle",
        r##"font-weight="600""##,
        "tenure month (month 0 starts on the owner's start)",
    );
    svg.line(
        x0,
        sy(1.0),
        x1,
        sy(1.0),
        "#888",
        r##"stroke-dasharray="5 4""##,
    );
    for (k, (name, values)) in series.iter().enumerate() {
        let colour = PALETTE[k];
        let mut prev: Option<(f64, f64)> = None;
        for (m, v) in values.iter().enumerate() {
            let Some(v) = v.filter(|v| v.is_finite()) else {
                prev = None;
                continue;
            };
            let (x, y) = (sx(m), sy(v));
            if let Some((px, py)) = prev {
                svg.line(px, py, x, y, colour, r##"stroke-width="2""##);
            }
            prev = Some((x, y));
            let p = &r.points[m];
            let measure = if k == 0 { &p.pipeline } else { &p.bookings };
            let _ = write!(
                svg.out,
                r##"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="{colour}"><title>{}</title></circle>"##,
                esc(&format!(
                    "month {m}, {name}: {:.0}% ({} vs {} at tenure; {} deals vs {:.1}; {} owners)",
                    100.0 * v,
                    whole(&measure.amount),
                    whole(&measure.expected_amount),
                    measure.deals,
                    measure.expected_deals.to_f64().unwrap_or(0.0),
                    p.owners
                ))
            );
        }
    }
    let names: Vec<String> = series.iter().map(|(n, _)| (*n).to_string()).collect();
    legend(&mut svg, x0, 22.0, &names, x1 - x0);
    svg.text(
        x0,
        50.0,
        "start",
        r##"font-size="12""##,
        &format!(
            "{} new owners, {} established; tenured after {} months",
            r.new_owners, r.established_owners, r.spec.tenured_after_months
        ),
    );
    Some(svg.finish())
}
