//! Monthly aggregates of generated leads, and what is derived from them: spend,
//! forecasts and the truth.

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::ids::Channel;
use crate::money::Money;
use crate::period::DateRange;
use crate::records::{ForecastPoint, Spend};

use super::config::invalid;
use super::engine::{LeadBundle, Meta, Synth};
use super::rng::{Rng, domain, exp, ln, round_to_int};

/// Fixed-point scale of the summed probabilities (exact, order-independent sums).
const QUANTUM: f64 = 1e12;
/// Relative jitter of variable spend around cost per lead × leads (±15 %).
pub(crate) const SPEND_JITTER: f64 = 0.15;
/// Mean log-ratio of forecast to actual: a slight optimism bias (about +4 %).
pub(crate) const FORECAST_BIAS: f64 = 0.04;
/// Log-scale noise of forecasts around the actual.
pub(crate) const FORECAST_NOISE: f64 = 0.12;
/// Months after the history that carry a forecast without an actual.
pub(crate) const FORECAST_HORIZON: u32 = 3;
/// The forecast series, in output order.
pub const FORECAST_SERIES: [&str; 3] = ["bookings", "pipeline_created", "mqls"];

fn quantize(p: f64) -> i128 {
    i128::from(round_to_int(p * QUANTUM))
}

/// Monthly counts and sums over generated leads: the accumulator from which spend,
/// forecasts and the truth are derived.
///
/// A monoid: make one with [`Synth::tally`], [`Tally::add`] leads in any order, and
/// [`Tally::merge`] partial tallies (one per thread or chunk); the result equals
/// adding every lead to one tally. All sums are integers (probabilities in fixed
/// point, 10⁻¹² units), so the order of adding and merging never changes a bit. There
/// is no `Default`: a tally has the shape (spend lines, months, channels) of the
/// generator that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    lines: usize,
    months: usize,
    channels: usize,
    leads: u64,
    /// Leads per spend line and month (`line * months + month`).
    line_leads: Vec<u64>,
    /// Paid touches per spend line and month.
    line_touches: Vec<u64>,
    /// Won value per month, minor units.
    bookings: Vec<i128>,
    /// Opportunity value created per month (initial amounts), minor units.
    pipeline: Vec<i128>,
    /// MQL events per month.
    mqls: Vec<u64>,
    /// Leads touched per channel.
    touched: Vec<u64>,
    /// Summed incremental conversion probability per channel (fixed point).
    incremental: Vec<i128>,
    /// Summed conversion probability (fixed point).
    expected: i128,
}

impl Tally {
    pub(crate) fn new(lines: usize, months: usize, channels: usize) -> Tally {
        Tally {
            lines,
            months,
            channels,
            leads: 0,
            line_leads: vec![0; lines * months],
            line_touches: vec![0; lines * months],
            bookings: vec![0; months],
            pipeline: vec![0; months],
            mqls: vec![0; months],
            touched: vec![0; channels],
            incremental: vec![0; channels],
            expected: 0,
        }
    }

    /// Number of leads added.
    pub fn leads(&self) -> u64 {
        self.leads
    }

    /// Adds one lead. A bundle from a generator with a different shape (other
    /// sources, campaigns or months) is counted only where its indices fit.
    pub fn add(&mut self, bundle: &LeadBundle) {
        self.add_parts(
            &bundle.meta,
            &bundle.touch_lines,
            bundle.truth.conversion_probability,
            &bundle.truth.incremental,
        );
    }

    pub(crate) fn add_parts(
        &mut self,
        m: &Meta,
        touch_lines: &[(u32, u32)],
        conversion_probability: f64,
        incremental: &[(Channel, f64)],
    ) {
        let months = self.months;
        self.leads += 1;
        let bump = |v: &mut Vec<u64>, line: usize, month: usize| {
            if month < months
                && let Some(x) = v.get_mut(line * months + month)
            {
                *x += 1;
            }
        };
        bump(
            &mut self.line_leads,
            m.source_line,
            m.created_month as usize,
        );
        for &(line, month) in touch_lines {
            bump(&mut self.line_touches, line as usize, month as usize);
        }
        for &month in &m.mql_months {
            if let Some(x) = self.mqls.get_mut(month as usize) {
                *x += 1;
            }
        }
        if let Some((month, amount)) = m.opportunity
            && let Some(x) = self.pipeline.get_mut(month as usize)
        {
            *x += amount;
        }
        if let Some((month, amount)) = m.won
            && let Some(x) = self.bookings.get_mut(month as usize)
        {
            *x += amount;
        }
        self.expected += quantize(conversion_probability);
        let mut effects = incremental.iter();
        for c in 0..64.min(self.channels) {
            if m.touched & (1 << c) != 0 {
                self.touched[c] += 1;
                if let Some((_, delta)) = effects.next() {
                    self.incremental[c] += quantize(*delta);
                }
            }
        }
    }

    /// Adds another tally into this one.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) naming `tally` if the two come from
    /// generators of different shapes (spend lines, months or channels).
    pub fn merge(&mut self, other: &Tally) -> Result<()> {
        if (self.lines, self.months, self.channels) != (other.lines, other.months, other.channels) {
            return Err(invalid(
                "tally",
                format!(
                    "{} lines × {} months × {} channels",
                    other.lines, other.months, other.channels
                ),
                format!(
                    "cannot merge into a tally of {} lines × {} months × {} channels",
                    self.lines, self.months, self.channels
                ),
            ));
        }
        self.leads += other.leads;
        self.expected += other.expected;
        let add = |a: &mut [u64], b: &[u64]| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        let add_i = |a: &mut [i128], b: &[i128]| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        add(&mut self.line_leads, &other.line_leads);
        add(&mut self.line_touches, &other.line_touches);
        add(&mut self.mqls, &other.mqls);
        add(&mut self.touched, &other.touched);
        add_i(&mut self.bookings, &other.bookings);
        add_i(&mut self.pipeline, &other.pipeline);
        add_i(&mut self.incremental, &other.incremental);
        Ok(())
    }
}

/// The known truth of the touch model, against which attribution can be scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// One row per touch channel, sources first (as [`Synth::channels`]).
    pub channels: Vec<ChannelTruth>,
    /// Expected number of conversions inside the window: the sum over leads of
    /// [`super::LeadTruth::conversion_probability`].
    pub expected_conversions: f64,
}

/// The truth about one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelTruth {
    /// The channel.
    pub channel: Channel,
    /// Its true lift: log-odds added to every funnel step of a touched lead.
    pub lift: f64,
    /// Probability that a lead (of another source) is touched on it.
    pub reach: f64,
    /// Whether the channel is also a lead source.
    pub is_source: bool,
    /// Leads touched on the channel.
    pub touched_leads: u64,
    /// Expected conversions inside the window that the channel's touches caused:
    /// the sum over touched leads of the drop in conversion probability if the
    /// channel's touches were removed (delays and every other draw held fixed).
    pub incremental_conversions: f64,
}

fn month_label(d: NaiveDate) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

impl Synth {
    fn check(&self, tally: &Tally) -> Result<()> {
        self.tally().merge(tally)
    }

    /// Monthly spend rows per paid channel and campaign, derived from the tally.
    ///
    /// For a source with cost per lead `c`: `c × leads × jitter` (jitter uniform in
    /// ±15 %, seeded per line and month) plus its brand spend, `brand_share × c ×`
    /// (the source's leads over the window ÷ months), split evenly over its
    /// campaigns and paid every month, with or without leads. For a touch-only
    /// channel: `cost_per_touch × touches × jitter`. Amounts are rounded once to the
    /// currency's minor unit; never negative. Channels with no price (e.g. `direct`,
    /// `sales_call`) have no rows. Rows are ordered by channel, campaign and month.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) if the tally comes from another generator.
    pub fn spend(&self, tally: &Tally) -> Result<Vec<Spend>> {
        self.check(tally)?;
        let months = tally.months;
        let cur = self.config.currency;
        let mut source_leads = vec![0u64; self.sources.len()];
        let mut source_lines = vec![0usize; self.sources.len()];
        for (l, line) in self.lines.iter().enumerate() {
            if let Some(s) = self.channels[line.channel].source {
                source_lines[s] += 1;
                source_leads[s] += tally.line_leads[l * months..(l + 1) * months]
                    .iter()
                    .sum::<u64>();
            }
        }
        let mut rows = Vec::new();
        for (l, line) in self.lines.iter().enumerate() {
            let info = &self.channels[line.channel];
            let (unit, fixed, counts) = match info.source {
                Some(s) => {
                    let src = &self.sources[s];
                    let fixed = src.brand_share * src.cost_per_lead * source_leads[s] as f64
                        / months as f64
                        / source_lines[s] as f64;
                    (src.cost_per_lead, fixed, &tally.line_leads)
                }
                None => (info.cost_per_touch, 0.0, &tally.line_touches),
            };
            if unit <= 0.0 && fixed <= 0.0 {
                continue;
            }
            for m in 0..months {
                let n = counts[l * months + m] as f64;
                let mut rng = Rng::stream(
                    self.config.seed,
                    domain::SPEND,
                    ((l as u64) << 32) | m as u64,
                );
                let jitter = 1.0 + SPEND_JITTER * (2.0 * rng.uniform() - 1.0);
                let minor = (unit * n * jitter + fixed).round().max(0.0) as i128;
                let first = self.month_dates[m];
                let last = self.month_dates[m + 1]
                    .checked_sub_days(Days::new(1))
                    .unwrap_or(first);
                let mut row = Spend::new(
                    info.channel.clone(),
                    DateRange::new(first, last)?,
                    Money::from_minor_units(minor, cur)?,
                );
                row.campaign = line.campaign.clone();
                row.validate()?;
                rows.push(row);
            }
        }
        Ok(rows)
    }

    /// Monthly forecast points for the series `bookings` (won value by close month),
    /// `pipeline_created` (initial opportunity value by creation month) and `mqls`
    /// (MQL events), in currency units or counts, labelled `YYYY-MM` by the first day
    /// of each month bucket.
    ///
    /// For each month of history: `actual` is the generated value and `forecast =
    /// actual × e^(0.04 + 0.12 Z)` (a slight optimism bias, about ±12 % noise). Then
    /// three months after the history follow, with `actual: None` and a forecast of
    /// the mean of the last three actuals × (1 + monthly growth)^h × the same noise.
    /// Noise is seeded per series and month.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) if the tally comes from another generator.
    pub fn forecasts(&self, tally: &Tally) -> Result<Vec<ForecastPoint>> {
        self.check(tally)?;
        let months = tally.months;
        let scale = self.minor_scale;
        let growth = ln(1.0 + self.config.monthly_growth);
        let mut out = Vec::with_capacity(FORECAST_SERIES.len() * (months + 3));
        for (k, series) in FORECAST_SERIES.iter().enumerate() {
            let actual: Vec<f64> = match k {
                0 => tally.bookings.iter().map(|&x| x as f64 / scale).collect(),
                1 => tally.pipeline.iter().map(|&x| x as f64 / scale).collect(),
                _ => tally.mqls.iter().map(|&x| x as f64).collect(),
            };
            let noise = |m: u64| {
                let mut rng =
                    Rng::stream(self.config.seed, domain::FORECAST, ((k as u64) << 32) | m);
                exp(FORECAST_BIAS + FORECAST_NOISE * rng.normal())
            };
            for (m, &a) in actual.iter().enumerate() {
                out.push(ForecastPoint::new(
                    *series,
                    month_label(self.month_dates[m]),
                    a * noise(m as u64),
                    Some(a),
                ));
            }
            let recent = &actual[months.saturating_sub(3)..];
            let base = recent.iter().sum::<f64>() / recent.len() as f64;
            for h in 1..=FORECAST_HORIZON {
                let d = self.month_dates[months]
                    .checked_add_months(Months::new(h - 1))
                    .unwrap_or(self.month_dates[months]);
                let f =
                    base * exp(growth * f64::from(h)) * noise((months as u64) + u64::from(h) - 1);
                out.push(ForecastPoint::new(*series, month_label(d), f, None));
            }
        }
        Ok(out)
    }

    /// The truth of the touch model, summed over the tallied leads.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) if the tally comes from another generator.
    pub fn truth(&self, tally: &Tally) -> Result<Truth> {
        self.check(tally)?;
        Ok(Truth {
            channels: self
                .channels
                .iter()
                .enumerate()
                .map(|(c, info)| ChannelTruth {
                    channel: info.channel.clone(),
                    lift: info.lift,
                    reach: info.reach,
                    is_source: info.source.is_some(),
                    touched_leads: tally.touched[c],
                    incremental_conversions: tally.incremental[c] as f64 / QUANTUM,
                })
                .collect(),
            expected_conversions: tally.expected as f64 / QUANTUM,
        })
    }
}
