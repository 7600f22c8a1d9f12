//! The prepared generator ([`Synth`]) and the per-lead model.

use std::collections::BTreeMap;
use std::iter::FusedIterator;
use std::ops::Range;

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};

use crate::error::Result;
use crate::funnel::Funnel;
use crate::ids::{AccountId, CampaignId, Channel, LeadId, OpportunityId, SubjectId};
use crate::money::Money;
use crate::period::Window;
use crate::records::{
    Conversion, ForecastCategory, Lead, Opportunity, OpportunityChange, StageEvent, Touch,
};

use super::config::{SynthConfig, invalid};
use super::rng::{Rng, cumulative, domain, exp, ln, logit, pick, round_to_int, sigmoid};
use super::tally::Tally;

const DAY: i64 = 86_400;
/// Most close-date pushes of one deal.
const MAX_PUSHES: usize = 6;
/// Longest single delay, in days.
const MAX_LAG_DAYS: f64 = 3650.0;
/// Share of leads whose account is known.
pub(crate) const ACCOUNT_KNOWN: f64 = 0.90;
/// Average number of leads per account.
pub(crate) const LEADS_PER_ACCOUNT: f64 = 2.5;
/// Log-scale spread of deal sizes around the median.
pub(crate) const DEAL_SIGMA: f64 = 0.5;
/// Probability that an included channel is touched once more (geometric repeats).
pub(crate) const REPEAT_TOUCH: f64 = 0.35;
/// Mean days of touches after creation for a lead with no later stage event.
pub(crate) const IDLE_TOUCH_DAYS: f64 = 21.0;
/// Relative lead volume Monday to Sunday.
pub(crate) const WEEKDAY_WEIGHTS: [f64; 7] = [1.0, 1.1, 1.1, 1.05, 0.9, 0.3, 0.25];
/// Relative lead volume per UTC hour (a US and European business-day mix).
pub(crate) const HOUR_WEIGHTS: [f64; 24] = [
    1.0, 0.8, 0.6, 0.5, 0.5, 0.6, 0.8, 1.2, 2.0, 2.6, 2.8, 2.8, 3.0, 3.4, 3.6, 3.6, 3.4, 3.2, 2.8,
    2.4, 2.0, 1.6, 1.3, 1.1,
];
/// Industries and their shares of accounts.
pub(crate) const INDUSTRIES: [(&str, f64); 8] = [
    ("software", 0.22),
    ("financial_services", 0.14),
    ("manufacturing", 0.14),
    ("healthcare", 0.12),
    ("professional_services", 0.12),
    ("retail", 0.10),
    ("media", 0.10),
    ("education", 0.06),
];
/// Regions and their shares of accounts.
pub(crate) const REGIONS: [(&str, f64); 4] = [
    ("north_america", 0.50),
    ("emea", 0.30),
    ("apac", 0.15),
    ("latam", 0.05),
];
const DISQUALIFY_REASONS: [(&str, f64); 6] = [
    ("no budget", 0.25),
    ("bad fit", 0.25),
    ("competitor", 0.12),
    ("no authority", 0.10),
    ("unresponsive", 0.18),
    ("student or job seeker", 0.10),
];
const RECYCLE_REASONS: [(&str, f64); 3] = [("timing", 0.5), ("no response", 0.3), ("nurture", 0.2)];
const LOST_REASONS: [(&str, f64); 5] = [
    ("price", 0.25),
    ("competitor", 0.25),
    ("no decision", 0.30),
    ("timing", 0.12),
    ("missing feature", 0.08),
];

// Demand waterfall stage positions (as in `Funnel::demand_waterfall`).
const INQUIRY: usize = 0;
const MQL: usize = 1;
const WON: usize = 5;
const LOST: usize = 6;
const DISQUALIFIED: usize = 7;
const RECYCLED: usize = 8;

// Salesforce opportunity stage positions.
const SF_OPEN: usize = 8;
const SF_WON: usize = 8;
const SF_LOST: usize = 9;

/// A touch channel as prepared for generation.
#[derive(Debug, Clone)]
pub(crate) struct ChannelInfo {
    pub channel: Channel,
    pub lift: f64,
    pub reach: f64,
    pub campaigns: Vec<CampaignId>,
    /// Spend line of the first campaign (or of the campaign-less line).
    pub first_line: usize,
    /// The source this channel is, if it is one.
    pub source: Option<usize>,
    /// Cost per touch in minor units (touch-only channels).
    pub cost_per_touch: f64,
}

/// A source as prepared for generation.
#[derive(Debug, Clone)]
pub(crate) struct SourceInfo {
    pub mql_logit: f64,
    /// Log-odds of MQL→SAL, SAL→SQL, SQL→Opportunity and Opportunity→Won, with the
    /// source's quality applied.
    pub down_logit: [f64; 4],
    /// Expected sum of lifts over the touched channels of this source's leads.
    pub center: f64,
    /// Cost per lead in minor units.
    pub cost_per_lead: f64,
    pub brand_share: f64,
    /// Median mid-market deal, minor units.
    pub deal: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct SegmentInfo {
    pub name: String,
    pub deal_multiplier: f64,
    pub cycle_multiplier: f64,
    pub win_logit: f64,
    pub owners: Vec<String>,
    /// Owners hired during the history and their hire dates (opt-in hiring).
    pub hires: Vec<(String, NaiveDate)>,
}

/// A spend line: one channel and campaign (or none).
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub channel: usize,
    pub campaign: Option<CampaignId>,
}

/// The prepared generator: a validated [`SynthConfig`] with its lookup tables.
///
/// Lead `i` depends only on `(seed, i)` and the configuration, so leads can be made
/// in any order, in parallel, or streamed with [`Synth::leads`] in constant memory.
/// Spend, forecasts and the truth are derived from a [`Tally`] of the leads.
///
/// ```
/// use revops::synth::{Synth, SynthConfig};
/// # fn main() -> Result<(), revops::Error> {
/// let synth = Synth::new(SynthConfig::default().with_leads(1_000))?;
/// let mut tally = synth.tally();
/// let mut events = 0;
/// for bundle in synth.leads() {
///     events += bundle.stage_events.len();
///     tally.add(&bundle);
/// }
/// assert!(events >= 1_000); // every lead has at least its inquiry
/// assert_eq!(synth.lead(17), synth.leads().nth(17));
/// let spend = synth.spend(&tally)?;
/// assert!(!spend.is_empty());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Synth {
    pub(crate) config: SynthConfig,
    pub(crate) start: i64,
    pub(crate) end: i64,
    /// First day of each month bucket, plus the day after the window.
    pub(crate) month_dates: Vec<NaiveDate>,
    /// Start of each month bucket, plus the window end, as Unix seconds.
    month_starts: Vec<i64>,
    day_cumulative: Vec<f64>,
    day_weights: Vec<f64>,
    hour_cumulative: Vec<f64>,
    source_cumulative: Vec<f64>,
    segment_cumulative: Vec<f64>,
    industry_cumulative: Vec<f64>,
    region_cumulative: Vec<f64>,
    disqualify_cumulative: Vec<f64>,
    recycle_cumulative: Vec<f64>,
    lost_cumulative: Vec<f64>,
    pub(crate) channels: Vec<ChannelInfo>,
    pub(crate) sources: Vec<SourceInfo>,
    pub(crate) segments: Vec<SegmentInfo>,
    pub(crate) lines: Vec<Line>,
    industries: Vec<String>,
    regions: Vec<String>,
    waterfall_keys: Vec<String>,
    sf_keys: Vec<String>,
    sf_probabilities: Vec<Option<f64>>,
    accounts: u64,
    pub(crate) minor_scale: f64,
}

fn unix(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp())
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn date_of(secs: i64) -> NaiveDate {
    at(secs).date_naive()
}

/// 10^k as an exact power of ten (k <= 22), by multiplication only.
fn pow10(k: u32) -> f64 {
    (0..k).fold(1.0, |x, _| x * 10.0)
}

/// A configured amount in minor units of a currency with `minor_units` decimals, as
/// `f64`, by basic (correctly rounded) operations only: the same on every platform.
fn to_minor(d: rust_decimal::Decimal, minor_units: u8) -> f64 {
    let mantissa = d.mantissa() as f64;
    let (scale, mu) = (d.scale(), u32::from(minor_units));
    if scale >= mu {
        mantissa / pow10(scale - mu)
    } else {
        mantissa * pow10(mu - scale)
    }
}

/// Seconds of a lag in days (capped).
/// A lag in whole seconds: lognormal around the lag's median × `mult`.
fn lag(l: super::config::Lag, mult: f64, rng: &mut Rng) -> i64 {
    seconds(rng.lognormal(l.median_days * mult, l.sigma))
}

fn seconds(days: f64) -> i64 {
    round_to_int(days.min(MAX_LAG_DAYS) * DAY as f64)
}

/// The channels (sources first, then touch-only channels) and the spend lines
/// (one per campaign, or one per channel without campaigns).
fn channels_and_lines(config: &SynthConfig, mu: u8) -> (Vec<ChannelInfo>, Vec<Line>) {
    let mut channels = Vec::new();
    let mut lines = Vec::new();
    let mut add_channel = |channel: &Channel,
                           lift: f64,
                           reach: f64,
                           campaigns: u32,
                           source: Option<usize>,
                           cost_per_touch: f64| {
        let index = channels.len();
        let campaigns: Vec<CampaignId> = (1..=campaigns)
            .filter_map(|k| CampaignId::new(format!("{channel}_{k:02}")).ok())
            .collect();
        let first_line = lines.len();
        if campaigns.is_empty() {
            lines.push(Line {
                channel: index,
                campaign: None,
            });
        }
        for c in &campaigns {
            lines.push(Line {
                channel: index,
                campaign: Some(c.clone()),
            });
        }
        channels.push(ChannelInfo {
            channel: channel.clone(),
            lift,
            reach,
            campaigns,
            first_line,
            source,
            cost_per_touch,
        });
    };
    for (s, p) in config.sources.iter().enumerate() {
        add_channel(&p.channel, p.lift, p.reach, p.campaigns, Some(s), 0.0);
    }
    for t in &config.touch_channels {
        let cost = to_minor(t.cost_per_touch, mu);
        add_channel(&t.channel, t.lift, t.reach, t.campaigns, None, cost);
    }
    (channels, lines)
}

/// Sources: logits and the centring of the touch effect.
fn source_infos(config: &SynthConfig, channels: &[ChannelInfo], mu: u8) -> Vec<SourceInfo> {
    let total_lift_reach: f64 = channels.iter().map(|c| c.lift * c.reach).sum();
    let r = &config.rates;
    let down = [
        logit(r.mql_to_sal),
        logit(r.sal_to_sql),
        logit(r.sql_to_opportunity),
        logit(r.opportunity_to_won),
    ];
    config
        .sources
        .iter()
        .enumerate()
        .map(|(s, p)| {
            let q = ln(p.quality);
            let own = &channels[s];
            SourceInfo {
                mql_logit: logit(p.mql_rate),
                down_logit: down.map(|d| d + q),
                center: total_lift_reach - own.lift * own.reach + own.lift,
                cost_per_lead: to_minor(p.cost_per_lead, mu),
                brand_share: p.brand_share,
                deal: to_minor(p.deal_size, mu),
            }
        })
        .collect()
}

/// Segments with their owners (about 20 reps shared by share, at least 3 each).
fn segment_infos(config: &SynthConfig) -> Vec<SegmentInfo> {
    let segment_total: f64 = config.segments.iter().map(|s| s.share).sum();
    config
        .segments
        .iter()
        .map(|s| {
            let reps = ((20.0 * s.share / segment_total).round() as usize).max(3);
            SegmentInfo {
                name: s.name.clone(),
                deal_multiplier: s.deal_multiplier,
                cycle_multiplier: s.cycle_multiplier,
                win_logit: ln(s.win_odds),
                owners: (1..=reps)
                    .map(|k| format!("{}_rep_{k:02}", s.name))
                    .collect(),
                hires: hires_of(config, &s.name),
            }
        })
        .collect()
}

/// The hires of one segment under the opt-in hiring profile (none without it, or
/// past the end of the history).
fn hires_of(config: &SynthConfig, segment: &str) -> Vec<(String, NaiveDate)> {
    let Some(h) = &config.hiring else {
        return Vec::new();
    };
    (0..h.per_segment)
        .filter_map(|k| {
            let month = h.first_month.checked_add(k.checked_mul(h.every_months)?)?;
            if month >= config.months {
                return None;
            }
            let day = config.start.checked_add_months(Months::new(month))?;
            Some((format!("{segment}_hire_{:02}", k + 1), day))
        })
        .collect()
}

impl Synth {
    /// Validates the configuration and prepares the tables.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) naming the bad parameter (see
    /// [`SynthConfig::validate`]).
    pub fn new(config: SynthConfig) -> Result<Synth> {
        config.validate()?;
        let end_date = config.end()?;
        let start = unix(config.start);
        let end = unix(end_date);
        let mut month_dates = Vec::with_capacity(config.months as usize + 1);
        for m in 0..=config.months {
            let d = config
                .start
                .checked_add_months(Months::new(m))
                .ok_or_else(|| invalid("months", config.months, "the window ends out of range"))?;
            month_dates.push(d);
        }
        let month_starts = month_dates.iter().map(|&d| unix(d)).collect();

        // Lead intensity per day: growth times weekday.
        let days = ((end - start) / DAY) as usize;
        let growth = ln(1.0 + config.monthly_growth) / 30.436_875;
        let day_weights: Vec<f64> = (0..days)
            .map(|d| {
                let weekday = config
                    .start
                    .checked_add_days(chrono::Days::new(d as u64))
                    .map_or(0, |x| x.weekday().num_days_from_monday() as usize);
                exp(growth * d as f64) * WEEKDAY_WEIGHTS[weekday]
            })
            .collect();
        let day_cumulative = cumulative(day_weights.iter().copied());

        let mu = config.currency.minor_units();
        let minor_scale = pow10(u32::from(mu));
        let (channels, lines) = channels_and_lines(&config, mu);
        let sources = source_infos(&config, &channels, mu);
        let segments = segment_infos(&config);

        let sf = Funnel::salesforce_opportunity();
        let accounts = ((config.leads as f64 / LEADS_PER_ACCOUNT).round() as u64).max(1);
        Ok(Synth {
            start,
            end,
            month_starts,
            month_dates,
            day_cumulative,
            day_weights,
            hour_cumulative: cumulative(HOUR_WEIGHTS),
            source_cumulative: cumulative(config.sources.iter().map(|s| s.share)),
            segment_cumulative: cumulative(config.segments.iter().map(|s| s.share)),
            industry_cumulative: cumulative(INDUSTRIES.iter().map(|x| x.1)),
            region_cumulative: cumulative(REGIONS.iter().map(|x| x.1)),
            disqualify_cumulative: cumulative(DISQUALIFY_REASONS.iter().map(|x| x.1)),
            recycle_cumulative: cumulative(RECYCLE_REASONS.iter().map(|x| x.1)),
            lost_cumulative: cumulative(LOST_REASONS.iter().map(|x| x.1)),
            channels,
            sources,
            segments,
            lines,
            industries: INDUSTRIES.iter().map(|x| x.0.to_string()).collect(),
            regions: REGIONS.iter().map(|x| x.0.to_string()).collect(),
            waterfall_keys: Funnel::demand_waterfall()
                .stages()
                .iter()
                .map(|s| s.key.clone())
                .collect(),
            sf_keys: sf.stages().iter().map(|s| s.key.clone()).collect(),
            sf_probabilities: sf.stages().iter().map(|s| s.probability).collect(),
            accounts,
            minor_scale,
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SynthConfig {
        &self.config
    }

    /// The history window: from `start` (00:00 UTC) to the first instant after the
    /// last month. Every generated timestamp lies inside it.
    pub fn window(&self) -> Window {
        Window::new(at(self.start), at(self.end))
            .unwrap_or_else(|_| unreachable!("a validated window ends after it starts"))
    }

    /// The number of leads.
    pub fn len(&self) -> u64 {
        self.config.leads
    }

    /// Always `false`: a configuration has at least [`super::MIN_LEADS`] leads.
    pub fn is_empty(&self) -> bool {
        self.config.leads == 0
    }

    /// The touch channels (sources first, in configuration order, then the touch-only
    /// channels): the order of [`super::Truth::channels`].
    pub fn channels(&self) -> impl ExactSizeIterator<Item = &Channel> {
        self.channels.iter().map(|c| &c.channel)
    }

    /// Lead `index` (0-based) with everything that happened to it, or `None` past the
    /// last lead.
    pub fn lead(&self, index: u64) -> Option<LeadBundle> {
        (index < self.config.leads).then(|| self.make(index))
    }

    /// All leads in order, generated on demand.
    pub fn leads(&self) -> Leads<'_> {
        self.leads_in(0..self.config.leads)
    }

    /// The leads with indices in `range` (clamped to the leads that exist), e.g. one
    /// chunk per thread.
    pub fn leads_in(&self, range: Range<u64>) -> Leads<'_> {
        let end = range.end.min(self.config.leads);
        Leads {
            synth: self,
            next: range.start.min(end),
            end,
        }
    }

    /// An empty accumulator for this generator's leads.
    pub fn tally(&self) -> Tally {
        Tally::new(
            self.lines.len(),
            self.config.months as usize,
            self.channels.len(),
        )
    }

    pub(crate) fn month_of(&self, t: i64) -> usize {
        self.month_starts
            .partition_point(|&m| m <= t)
            .saturating_sub(1)
            .min(self.config.months as usize - 1)
    }

    /// Creation time of the lead at quantile `x` of the lead-volume curve.
    fn time_at(&self, x: f64) -> i64 {
        let total = self.day_cumulative.last().copied().unwrap_or(0.0);
        let target = x * total;
        let d = self
            .day_cumulative
            .partition_point(|&c| c <= target)
            .min(self.day_cumulative.len() - 1);
        let before = if d == 0 {
            0.0
        } else {
            self.day_cumulative[d - 1]
        };
        let f = ((target - before) / self.day_weights[d]).clamp(0.0, 1.0);
        let hours = self.hour_cumulative[23];
        let ht = f * hours;
        let h = self.hour_cumulative.partition_point(|&c| c <= ht).min(23);
        let hb = if h == 0 {
            0.0
        } else {
            self.hour_cumulative[h - 1]
        };
        let fh = ((ht - hb) / HOUR_WEIGHTS[h]).clamp(0.0, 1.0);
        let within = (h as i64 * 3600 + (fh * 3600.0) as i64).min(DAY - 1);
        self.start + d as i64 * DAY + within
    }

    fn stage(&self, subject: &SubjectId, stage: usize, t: i64, cycle: u32) -> StageEvent {
        StageEvent {
            subject: subject.clone(),
            stage: self.waterfall_keys[stage].clone(),
            at: at(t),
            cycle: Some(cycle),
            reason: None,
        }
    }

    /// Generates lead `i` into fresh buffers.
    fn make(&self, i: u64) -> LeadBundle {
        let mut parts = Parts {
            events: Vec::with_capacity(4),
            touches: Vec::with_capacity(8),
            history: Vec::new(),
            incremental: Vec::with_capacity(4),
            touch_lines: Vec::new(),
        };
        let head = self.make_into(i, &mut parts);
        LeadBundle {
            index: i,
            lead: head.lead,
            stage_events: parts.events,
            touches: parts.touches,
            conversion: head.conversion,
            opportunity: head.opportunity,
            opportunity_history: parts.history,
            truth: LeadTruth {
                conversion_probability: head.conversion_probability,
                incremental: parts.incremental,
            },
            meta: head.meta,
            touch_lines: parts.touch_lines,
        }
    }

    /// Generates lead `i`, appending its events, touches, history rows, truth and
    /// paid touches to `out`.
    ///
    /// Every random draw comes from the lead's own stream, in a fixed order: origin,
    /// reach, the path's draws, then touches and the opportunity's history. The steps
    /// below keep that order (the generated company is pinned byte for byte).
    pub(crate) fn make_into(&self, i: u64, out: &mut Parts) -> Head {
        let mut rng = Rng::stream(self.config.seed, domain::LEAD, i);
        let origin = self.origin(i, &mut rng);
        let seg = &self.segments[origin.segment];
        let reach = self.reach(origin.source, &mut rng);
        let src = &self.sources[origin.source];
        let d = reach.lift - src.center;
        let draws = self.path_draws(origin.created, seg.cycle_multiplier, &mut rng);

        // Step probabilities under the touch effect.
        let a = [
            src.mql_logit,
            src.down_logit[0],
            src.down_logit[1],
            src.down_logit[2],
            src.down_logit[3] + seg.win_logit,
        ];
        let p = a.map(|x| sigmoid(x + d));

        let mut lead = self.identity(i, &origin, seg);
        let subject = SubjectId::from(&lead.id);
        let mut meta = Meta {
            source_line: self.channels[origin.source].first_line + origin.campaign.unwrap_or(0),
            created_month: self.month_of(origin.created) as u32,
            mql_months: [u32::MAX; 2],
            opportunity: None,
            won: None,
            touched: reach.touched,
        };
        let (last, plan) = self.walk(&subject, &origin, &draws, &p, &mut meta, &mut out.events);
        if let Some(plan) = &plan
            && lead.owner.is_some()
            && let Some(h) = self.route(i, seg, plan.created)
        {
            lead.owner = Some(seg.hires[h].0.clone());
        }
        let conversion_probability =
            self.lead_truth(&a, &p, d, &draws, reach.touched, &mut out.incremental);
        self.touches(&mut rng, &subject, &origin, &reach, last, out);
        let amount0 = self.deal_amount(src.deal * seg.deal_multiplier, draws.deal_z);
        let (conversion, opportunity) = match plan {
            Some(plan) => self.opportunity(
                &mut rng,
                &lead,
                &subject,
                plan,
                amount0,
                seg,
                &mut meta,
                &mut out.history,
            ),
            None => (None, None),
        };
        Head {
            lead,
            conversion,
            opportunity,
            conversion_probability,
            meta,
        }
    }

    /// The hire (index into `seg.hires`) an opportunity of lead `i` created at
    /// `created` is routed to, if any (see [`HiringProfile`](super::HiringProfile));
    /// draws from the lead's own hiring stream only when the segment has hires.
    fn route(&self, i: u64, seg: &SegmentInfo, created: i64) -> Option<usize> {
        let hiring = self.config.hiring.as_ref()?;
        let day = date_of(created);
        let weight = |hired: NaiveDate| {
            crate::plan::tenure_months(hired, day).map_or(0.0, |m| hiring.weight(m))
        };
        let total: f64 = seg.hires.iter().map(|(_, d)| weight(*d)).sum();
        if total <= 0.0 {
            return None;
        }
        let mut rng = Rng::stream(self.config.seed, domain::HIRING, i);
        let u = rng.uniform() * (seg.owners.len() as f64 + total);
        let mut acc = 0.0;
        for (k, (_, d)) in seg.hires.iter().enumerate() {
            acc += weight(*d);
            if u < acc {
                return Some(k);
            }
        }
        None
    }

    /// Every hire of every segment, by segment then hire order.
    pub(crate) fn hires(&self) -> Vec<crate::plan::Hire> {
        self.segments
            .iter()
            .flat_map(|s| s.hires.iter())
            .map(|(id, d)| crate::plan::Hire::new(id.clone(), *d))
            .collect()
    }

    /// Who and when: the creation instant, the source channel and campaign, the
    /// account (if known) and the segment.
    fn origin(&self, i: u64, rng: &mut Rng) -> Origin {
        let cfg = &self.config;
        let created = self.time_at((i as f64 + rng.uniform()) / cfg.leads as f64);
        let source = rng.categorical(&self.source_cumulative);
        let source_channel = &self.channels[source];
        let campaign = if source_channel.campaigns.is_empty() {
            rng.next_u64();
            None
        } else {
            Some(rng.below(source_channel.campaigns.len() as u64) as usize)
        };
        let known = rng.bernoulli(ACCOUNT_KNOWN);
        let account_u = rng.uniform();
        let segment_u = rng.uniform();
        let account = known.then(|| {
            let k = ((account_u * account_u * self.accounts as f64) as u64).min(self.accounts - 1);
            (k, self.account(k))
        });
        let segment = match &account {
            Some((_, a)) => a.segment,
            None => pick(&self.segment_cumulative, segment_u),
        };
        Origin {
            created,
            source,
            campaign,
            account,
            segment,
        }
    }

    /// The touched channels (the source always, capped at `max_touches`) and their
    /// summed lift.
    fn reach(&self, source: usize, rng: &mut Rng) -> Reach {
        let mut reach = Reach {
            touched: 0,
            count: 0,
            lift: 0.0,
        };
        for (c, info) in self.channels.iter().enumerate() {
            let u = rng.uniform();
            if (c == source || u < info.reach) && reach.count < self.config.max_touches {
                reach.touched |= 1 << c;
                reach.count += 1;
                reach.lift += info.lift;
            }
        }
        reach
    }

    /// Every draw the path could need, made up front (common random numbers for
    /// the counterfactual truth).
    fn path_draws(&self, created: i64, cyc: f64, rng: &mut Rng) -> PathDraws {
        let lags = &self.config.lags;
        let u1: [f64; 5] = std::array::from_fn(|_| rng.uniform());
        let v1: [f64; 4] = std::array::from_fn(|_| rng.uniform());
        let t_mql = created + lag(lags.to_mql, 1.0, rng);
        let ([t_sal, t_sql, t_opp], won1, lost1, exit1) = self.downstream(t_mql, cyc, rng);
        let skip_u = rng.uniform();
        let reentry_u = rng.uniform();
        let reentry = lag(lags.to_reentry, 1.0, rng);
        let u2: [f64; 4] = std::array::from_fn(|_| rng.uniform());
        let v2: [f64; 3] = std::array::from_fn(|_| rng.uniform());
        let (c2, c2_won, c2_lost, exit2) = self.downstream(0, cyc, rng);
        let reason_u = rng.uniform();
        let deal_z = rng.normal();
        let t1 = [created, t_mql, t_sal, t_sql, t_opp];
        PathDraws {
            u1,
            v1,
            t1,
            won1,
            lost1,
            exit1,
            skip_u,
            reentry_u,
            reentry,
            u2,
            v2,
            c2,
            c2_won,
            c2_lost,
            exit2,
            reason_u,
            deal_z,
            // Windows for the truth: does a win in cycle 1, or in cycle 2 after a
            // recycle at step j, land inside the history?
            i1: won1 < self.end,
            i2: std::array::from_fn(|j| t1[j] + exit1 + reentry + c2_won < self.end),
        }
    }

    /// From `base` (an MQL instant): the SAL, SQL and opportunity instants, the won
    /// and lost instants (cycle-length multiplier `cyc`) and the exit lag, drawn in
    /// that order.
    fn downstream(&self, base: i64, cyc: f64, rng: &mut Rng) -> ([i64; 3], i64, i64, i64) {
        let lags = &self.config.lags;
        let sal = base + lag(lags.to_sal, 1.0, rng);
        let sql = sal + lag(lags.to_sql, 1.0, rng);
        let opp = sql + lag(lags.to_opportunity, 1.0, rng);
        let won = opp + lag(lags.to_won, cyc, rng);
        let lost = opp + lag(lags.to_lost, cyc, rng);
        let exit = lag(lags.to_exit, 1.0, rng);
        ([sal, sql, opp], won, lost, exit)
    }

    /// The lead record: ids, source, campaign and, with a known account, its owner,
    /// segment and attributes.
    fn identity(&self, i: u64, origin: &Origin, seg: &SegmentInfo) -> Lead {
        let lead_id = LeadId::new(format!("L-{:08}", i + 1))
            .unwrap_or_else(|_| unreachable!("a formatted id is not empty"));
        let source_channel = &self.channels[origin.source];
        let mut lead = Lead::new(lead_id, at(origin.created));
        lead.source = Some(source_channel.channel.clone());
        lead.campaign = origin.campaign.map(|k| source_channel.campaigns[k].clone());
        if let Some((k, info)) = &origin.account {
            lead.account = AccountId::new(format!("A-{:07}", k + 1)).ok();
            lead.owner = Some(seg.owners[info.owner % seg.owners.len()].clone());
            lead.segment = Some(seg.name.clone());
            let mut attributes = BTreeMap::new();
            attributes.insert(
                "industry".to_string(),
                self.industries[info.industry].clone(),
            );
            attributes.insert("region".to_string(), self.regions[info.region].clone());
            lead.attributes = attributes;
        }
        lead
    }

    /// The exit at step `j` drawn by `v` (disqualified, or recycled: each with a
    /// reason drawn at `u`), or none.
    fn exit(&self, j: usize, v: f64, u: f64) -> Option<(usize, &'static str)> {
        let r = &self.config.rates;
        if v < r.disqualified[j] {
            let why = Self::reason(&self.disqualify_cumulative, &DISQUALIFY_REASONS, u);
            Some((DISQUALIFIED, why))
        } else if v < r.disqualified[j] + r.recycled[j] {
            let why = Self::reason(&self.recycle_cumulative, &RECYCLE_REASONS, u);
            Some((RECYCLED, why))
        } else {
            None
        }
    }

    /// A reason drawn from `table` (cumulative weights `cum`) at `u`.
    fn reason(cum: &[f64], table: &'static [(&'static str, f64)], u: f64) -> &'static str {
        table[pick(cum, u)].0
    }

    /// The lead's path through the demand waterfall: cycle 1, a second cycle for
    /// some recycled leads, then the won or lost event when inside the window.
    /// Returns the instant of the last event and the opportunity's plan, if any.
    fn walk(
        &self,
        subject: &SubjectId,
        origin: &Origin,
        d: &PathDraws,
        p: &[f64; 5],
        meta: &mut Meta,
        events: &mut Vec<StageEvent>,
    ) -> (i64, Option<Plan>) {
        events.push(self.stage(subject, INQUIRY, origin.created, 1));
        let mut last = origin.created;
        let (mut plan, recycled_at) = self.first_cycle(subject, d, p, meta, events, &mut last);
        if let Some(te) = recycled_at
            && d.reentry_u < self.config.rates.reentry_rate
            && te + d.reentry < self.end
        {
            plan = self.second_cycle(subject, te + d.reentry, d, p, meta, events, &mut last);
        }
        if let Some(plan) = &plan
            && plan.close < self.end
        {
            if plan.won {
                events.push(self.stage(subject, WON, plan.close, plan.cycle));
            } else {
                let why = Self::reason(&self.lost_cumulative, &LOST_REASONS, d.reason_u);
                events.push(
                    self.stage(subject, LOST, plan.close, plan.cycle)
                        .with_reason(why),
                );
            }
            last = plan.close;
        }
        (last, plan)
    }

    /// Cycle 1: steps up to the opportunity, or an exit (disqualified or recycled).
    /// Returns the plan (when the opportunity stage is reached) and the recycling
    /// instant.
    fn first_cycle(
        &self,
        subject: &SubjectId,
        d: &PathDraws,
        p: &[f64; 5],
        meta: &mut Meta,
        events: &mut Vec<StageEvent>,
        last: &mut i64,
    ) -> (Option<Plan>, Option<i64>) {
        let r = &self.config.rates;
        let end = self.end;
        let skip_mql = d.skip_u < r.skip_mql_rate && d.u1[1] < p[1] && d.t1[2] < end;
        for j in 0..5 {
            if j == 4 {
                let won = d.u1[4] < p[4];
                let close = if won { d.won1 } else { d.lost1 };
                return (Some(Plan::new(d.t1[4], close, won, 1)), None);
            }
            if d.u1[j] < p[j] {
                let t = d.t1[j + 1];
                if t >= end {
                    break;
                }
                if !(j == 0 && skip_mql) {
                    events.push(self.stage(subject, j + 1, t, 1));
                    if j == 0 {
                        meta.mql_months[0] = self.month_of(t) as u32;
                    }
                }
                *last = t;
                continue;
            }
            let te = d.t1[j] + d.exit1;
            let mut recycled_at = None;
            if te < end
                && let Some((stage, why)) = self.exit(j, d.v1[j], d.reason_u)
            {
                events.push(self.stage(subject, stage, te, 1).with_reason(why));
                recycled_at = (stage == RECYCLED).then_some(te);
                *last = te;
            }
            return (None, recycled_at);
        }
        (None, None)
    }

    /// Cycle 2, from the MQL re-entry at `back`: steps up to the opportunity, or an
    /// exit. Returns the plan when the opportunity stage is reached.
    #[allow(clippy::too_many_arguments)]
    fn second_cycle(
        &self,
        subject: &SubjectId,
        back: i64,
        d: &PathDraws,
        p: &[f64; 5],
        meta: &mut Meta,
        events: &mut Vec<StageEvent>,
        last: &mut i64,
    ) -> Option<Plan> {
        let end = self.end;
        events.push(self.stage(subject, MQL, back, 2));
        meta.mql_months[1] = self.month_of(back) as u32;
        *last = back;
        let t2 = [back, back + d.c2[0], back + d.c2[1], back + d.c2[2]];
        for j in 1..5 {
            if j == 4 {
                let won = d.u2[3] < p[4];
                let close = back + if won { d.c2_won } else { d.c2_lost };
                return Some(Plan::new(t2[3], close, won, 2));
            }
            if d.u2[j - 1] < p[j] {
                let t = t2[j];
                if t >= end {
                    break;
                }
                events.push(self.stage(subject, j + 1, t, 2));
                *last = t;
                continue;
            }
            let te = t2[j - 1] + d.exit2;
            if te < end
                && let Some((stage, why)) = self.exit(j, d.v2[j - 1], d.reason_u)
            {
                events.push(self.stage(subject, stage, te, 2).with_reason(why));
                *last = te;
            }
            break;
        }
        None
    }

    /// The truth: this lead's conversion probability (step probabilities `p`: the
    /// logits `a` shifted by the touch effect `d`) and each touched channel's incremental share of it.
    fn lead_truth(
        &self,
        a: &[f64; 5],
        p: &[f64; 5],
        d: f64,
        draws: &PathDraws,
        touched: u64,
        incremental: &mut Vec<(Channel, f64)>,
    ) -> f64 {
        let (i1, i2) = (draws.i1, &draws.i2);
        let conversion_probability = self.p_convert(p, i1, i2);
        for (c, info) in self.channels.iter().enumerate() {
            if touched & (1 << c) != 0 {
                let delta = if info.lift != 0.0 && (i1 || i2.iter().any(|&x| x)) {
                    let pc = a.map(|x| sigmoid(x + d - info.lift));
                    conversion_probability - self.p_convert(&pc, i1, i2)
                } else {
                    0.0
                };
                incremental.push((info.channel.clone(), delta));
            }
        }
        conversion_probability
    }

    /// Touches, between creation and the last stage event (`last`): the source touch
    /// first, then repeats and the other touched channels, in time order.
    fn touches(
        &self,
        rng: &mut Rng,
        subject: &SubjectId,
        origin: &Origin,
        reach: &Reach,
        last: i64,
        out: &mut Parts,
    ) {
        let cfg = &self.config;
        let (created, end) = (origin.created, self.end);
        let horizon = if last > created {
            last
        } else {
            (created + seconds(rng.exponential(IDLE_TOUCH_DAYS))).min(end - 1)
        };
        let span = (horizon - created + 1) as f64;
        let touches = &mut out.touches;
        let first_touch = touches.len();
        let mut extra_budget = cfg.max_touches - reach.count;
        let touch = |info: &ChannelInfo, camp: Option<usize>, t: i64| Touch {
            subject: subject.clone(),
            channel: info.channel.clone(),
            campaign: camp.map(|k| info.campaigns[k].clone()),
            at: at(t),
            cost: None,
        };
        let s = origin.source;
        // The source touch that created the lead comes first.
        touches.push(touch(&self.channels[s], origin.campaign, created));
        for (c, info) in self.channels.iter().enumerate() {
            if reach.touched & (1 << c) == 0 {
                continue;
            }
            let repeats = rng
                .geometric(REPEAT_TOUCH, cfg.max_touches)
                .min(extra_budget);
            extra_budget -= repeats;
            let count = repeats + u32::from(c != s);
            for _ in 0..count {
                let t = created + ((rng.uniform() * span) as i64).min(horizon - created);
                let camp = if c == s {
                    origin.campaign
                } else if info.campaigns.is_empty() {
                    None
                } else {
                    Some(rng.below(info.campaigns.len() as u64) as usize)
                };
                if info.source.is_none() && info.cost_per_touch > 0.0 {
                    let line = info.first_line + camp.unwrap_or(0);
                    out.touch_lines.push((line as u32, self.month_of(t) as u32));
                }
                touches.push(touch(info, camp, t));
            }
        }
        touches[first_touch..].sort_by_key(|t| t.at);
    }

    /// The opportunity in its final state, its history (appended to `history`) and,
    /// when won inside the window, the conversion.
    #[allow(clippy::too_many_arguments)]
    fn opportunity(
        &self,
        rng: &mut Rng,
        lead: &Lead,
        subject: &SubjectId,
        plan: Plan,
        amount0: i64,
        seg: &SegmentInfo,
        meta: &mut Meta,
        history: &mut Vec<OpportunityChange>,
    ) -> (Option<Conversion>, Option<Opportunity>) {
        let lead_id = &lead.id;
        let opp_id = OpportunityId::new(format!("O-{}", &lead_id.as_str()[2..]))
            .unwrap_or_else(|_| unreachable!("a formatted id is not empty"));
        let mut o = Opportunity::new(
            opp_id,
            at(plan.created),
            String::new(),
            Money::zero(self.config.currency),
        );
        o.account.clone_from(&lead.account);
        o.lead = Some(lead_id.clone());
        o.owner.clone_from(&lead.owner);
        o.source.clone_from(&lead.source);
        let first_row = history.len();
        self.opportunity_history(
            history,
            rng,
            &o.id,
            plan.created,
            plan.close,
            plan.won,
            amount0,
            seg.cycle_multiplier,
        );
        for r in &mut history[first_row..] {
            r.lead = Some(lead_id.clone());
        }
        if let Some(last_row) = history[first_row..].last() {
            o.stage.clone_from(&last_row.stage);
            o.amount = last_row.amount;
            o.close_date = last_row.close_date;
            o.probability = last_row.probability;
            o.forecast_category = last_row.forecast_category;
        }
        meta.opportunity = Some((self.month_of(plan.created) as u32, i128::from(amount0)));
        let mut conversion = None;
        if plan.won && plan.close < self.end {
            meta.won = Some((
                self.month_of(plan.close) as u32,
                o.amount.to_minor_units().unwrap_or(0),
            ));
            conversion = Some(Conversion::new(
                subject.clone(),
                at(plan.close),
                Some(o.amount),
            ));
        }
        (conversion, Some(o))
    }

    /// P(won inside the window) for step probabilities `p`, given which wins would
    /// land inside the window.
    fn p_convert(&self, p: &[f64; 5], i1: bool, i2: &[bool; 4]) -> f64 {
        let r = &self.config.rates;
        let mut total = if i1 { p.iter().product() } else { 0.0 };
        let second = p[1] * p[2] * p[3] * p[4] * r.reentry_rate;
        let mut reach = 1.0;
        for j in 0..4 {
            if i2[j] {
                total += reach * (1.0 - p[j]) * r.recycled[j] * second;
            }
            reach *= p[j];
        }
        total
    }

    /// A deal amount in minor units: lognormal around `median`, rounded to about three
    /// significant digits (deals are quoted in round numbers), at least one step.
    fn deal_amount(&self, median: f64, z: f64) -> i64 {
        let x = median * exp(DEAL_SIGMA * z);
        let step = round_step(median);
        (((x / step).round()).max(1.0) * step) as i64
    }

    /// Account attributes, from the account's own stream.
    fn account(&self, k: u64) -> AccountInfo {
        let mut rng = Rng::stream(self.config.seed, domain::ACCOUNT, k);
        AccountInfo {
            segment: rng.categorical(&self.segment_cumulative),
            industry: rng.categorical(&self.industry_cumulative),
            region: rng.categorical(&self.region_cumulative),
            owner: rng.below(1 << 20) as usize,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn opportunity_history(
        &self,
        rows: &mut Vec<OpportunityChange>,
        rng: &mut Rng,
        id: &OpportunityId,
        created: i64,
        close: i64,
        won: bool,
        amount0: i64,
        cycle_multiplier: f64,
    ) {
        let end = self.end;
        // Stage path through the open stages.
        let first = usize::from(rng.uniform() >= 0.7);
        let furthest = if won {
            SF_OPEN - 1
        } else {
            let u = rng.uniform();
            first + ((u * u * (SF_OPEN - first) as f64) as usize).min(SF_OPEN - 1 - first)
        };
        let mut path = vec![first];
        for st in first + 1..=furthest {
            if st == furthest || rng.uniform() < 0.7 {
                path.push(st);
            }
        }
        // Stage-change times spread over the deal's life.
        let span = (close - created) as f64;
        let mut fractions: Vec<f64> = (1..path.len()).map(|_| rng.uniform()).collect();
        fractions.sort_by(f64::total_cmp);
        let stage_times: Vec<i64> = fractions
            .iter()
            .map(|f| created + (f * span) as i64)
            .collect();
        // The rep's expected close date, optimistic; pushed while the deal runs late.
        let expected_days = rng.lognormal(
            self.config.lags.to_won.median_days * cycle_multiplier * 0.8,
            0.3,
        );
        let initial_close = date_of(created + seconds(expected_days));
        let actual_close = date_of(close);
        let mut pushes = Vec::new();
        let mut expected = initial_close;
        while expected < actual_close && pushes.len() < MAX_PUSHES {
            // During the working day the old close date arrives.
            let t = (unix(expected) + 8 * 3600 + rng.below(10 * 3600) as i64).max(created);
            if t >= end {
                break;
            }
            let by = rng.lognormal(30.0, 0.5).max(7.0);
            expected = date_of(unix(expected) + seconds(by));
            pushes.push((t, expected));
        }
        let mut close_date = initial_close;

        let cur = self.config.currency;
        let mut amount = amount0;
        let mut stage = first;
        let row = |t: i64, stage: usize, amount: i64, close_date: NaiveDate| {
            let mut c = OpportunityChange::new(
                id.clone(),
                at(t),
                self.sf_keys[stage].clone(),
                Money::from_minor_units(i128::from(amount), cur)
                    .unwrap_or_else(|_| Money::zero(cur)),
            );
            c.close_date = Some(close_date);
            c.probability = self.sf_probabilities[stage];
            c.forecast_category = Some(forecast_category(stage));
            c
        };
        rows.push(row(created, stage, amount, close_date));
        let (mut si, mut pi) = (1usize, 0usize);
        loop {
            let next_stage = stage_times.get(si - 1).copied();
            let next_push = pushes.get(pi).map(|p| p.0);
            let (t, is_stage) = match (next_stage, next_push) {
                (Some(a), Some(b)) if a <= b => (a, true),
                (Some(a), None) => (a, true),
                (_, Some(b)) => (b, false),
                (None, None) => break,
            };
            if t >= end {
                break;
            }
            if is_stage {
                stage = path[si];
                si += 1;
                if rng.uniform() < 0.25 {
                    amount = self.resize(amount, rng.lognormal(1.0, 0.2));
                }
            } else {
                close_date = pushes[pi].1;
                pi += 1;
            }
            rows.push(row(t, stage, amount, close_date));
        }
        if close < end {
            if won && rng.uniform() < 0.4 {
                amount = self.resize(amount, 0.85 + 0.15 * rng.uniform());
            }
            let final_stage = if won { SF_WON } else { SF_LOST };
            rows.push(row(close, final_stage, amount, actual_close));
        }
    }

    /// `amount × factor`, rounded to the amount's step, at least one step.
    fn resize(&self, amount: i64, factor: f64) -> i64 {
        let x = amount as f64 * factor;
        let step = round_step(amount as f64);
        (((x / step).round()).max(1.0) * step) as i64
    }
}

/// The rounding step for an amount in minor units: a power of ten two digits below
/// its leading digit (3 significant digits), at least 1.
fn round_step(x: f64) -> f64 {
    let mut step = 1.0;
    while step * 1000.0 <= x {
        step *= 10.0;
    }
    step
}

fn forecast_category(stage: usize) -> ForecastCategory {
    match stage {
        0..=2 => ForecastCategory::Pipeline,
        3..=5 => ForecastCategory::BestCase,
        6 | 7 => ForecastCategory::Commit,
        SF_WON => ForecastCategory::Closed,
        _ => ForecastCategory::Omitted,
    }
}

/// The first draws of a lead's stream: see [`Synth::origin`].
struct Origin {
    created: i64,
    source: usize,
    campaign: Option<usize>,
    account: Option<(u64, AccountInfo)>,
    segment: usize,
}

/// The channels that touched a lead: a bit per channel, how many, their summed lift.
struct Reach {
    touched: u64,
    count: u32,
    lift: f64,
}

/// Every draw a lead's path could need (see [`Synth::path_draws`]).
struct PathDraws {
    /// Cycle 1: step and exit uniforms, step instants (inquiry to opportunity), the
    /// won and lost instants and the exit lag.
    u1: [f64; 5],
    v1: [f64; 4],
    t1: [i64; 5],
    won1: i64,
    lost1: i64,
    exit1: i64,
    skip_u: f64,
    reentry_u: f64,
    reentry: i64,
    /// Cycle 2: step and exit uniforms, offsets from re-entry to SAL, SQL and
    /// opportunity, and the won, lost and exit lags.
    u2: [f64; 4],
    v2: [f64; 3],
    c2: [i64; 3],
    c2_won: i64,
    c2_lost: i64,
    exit2: i64,
    reason_u: f64,
    deal_z: f64,
    /// Whether a win in cycle 1, or in cycle 2 after a recycle at step j, lands
    /// inside the history.
    i1: bool,
    i2: [bool; 4],
}

/// An opportunity to create: when, when it closes, whether it is won, in which cycle.
struct Plan {
    created: i64,
    close: i64,
    won: bool,
    cycle: u32,
}

impl Plan {
    fn new(created: i64, close: i64, won: bool, cycle: u32) -> Plan {
        Plan {
            created,
            close,
            won,
            cycle,
        }
    }
}

struct AccountInfo {
    segment: usize,
    industry: usize,
    region: usize,
    owner: usize,
}

/// What the tally needs from a lead, in dense indices.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Meta {
    pub source_line: usize,
    pub created_month: u32,
    /// Months of the lead's MQL events (cycle 1, cycle 2); `u32::MAX` for none.
    pub mql_months: [u32; 2],
    /// Month created and initial amount (minor units).
    pub opportunity: Option<(u32, i128)>,
    /// Month won and final amount (minor units).
    pub won: Option<(u32, i128)>,
    /// Bit `c` set when channel `c` touched the lead.
    pub touched: u64,
}

/// The model's truth about one lead.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadTruth {
    /// Probability, under the model, that the lead is won inside the history window
    /// (given its touches and its drawn delays).
    pub conversion_probability: f64,
    /// For each touched channel (in [`Synth::channels`] order): how much lower the
    /// conversion probability would be without that channel's touches, everything
    /// else held fixed.
    pub incremental: Vec<(Channel, f64)>,
}

/// One lead and everything that happened to it: the unit of the streaming API.
///
/// Timestamps of the stage events are non-decreasing in path order; touches are
/// sorted by time; `opportunity` is the last row of `opportunity_history`.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadBundle {
    /// The lead's 0-based index.
    pub index: u64,
    /// The lead.
    pub lead: Lead,
    /// Its demand-waterfall events, in order.
    pub stage_events: Vec<StageEvent>,
    /// Its touches, in time order; the first is on its source at creation.
    pub touches: Vec<Touch>,
    /// Its conversion, if it was won inside the window.
    pub conversion: Option<Conversion>,
    /// Its opportunity, if it reached the opportunity stage, in its final state.
    pub opportunity: Option<Opportunity>,
    /// The opportunity's history (empty without an opportunity).
    pub opportunity_history: Vec<OpportunityChange>,
    /// The model's truth about this lead.
    pub truth: LeadTruth,
    pub(crate) meta: Meta,
    /// Paid touches: (spend line, month).
    pub(crate) touch_lines: Vec<(u32, u32)>,
}

/// Buffers a lead's variable-length parts are appended to.
#[derive(Debug, Default)]
pub(crate) struct Parts {
    pub events: Vec<StageEvent>,
    pub touches: Vec<Touch>,
    pub history: Vec<OpportunityChange>,
    pub incremental: Vec<(Channel, f64)>,
    /// Paid touches: (spend line, month).
    pub touch_lines: Vec<(u32, u32)>,
}

/// A lead's fixed-size parts.
#[derive(Debug)]
pub(crate) struct Head {
    pub lead: Lead,
    pub conversion: Option<Conversion>,
    pub opportunity: Option<Opportunity>,
    pub conversion_probability: f64,
    pub meta: Meta,
}

/// Iterator over generated leads, from [`Synth::leads`] or [`Synth::leads_in`].
#[derive(Debug, Clone)]
pub struct Leads<'a> {
    synth: &'a Synth,
    next: u64,
    end: u64,
}

impl Iterator for Leads<'_> {
    type Item = LeadBundle;

    fn next(&mut self) -> Option<LeadBundle> {
        if self.next >= self.end {
            return None;
        }
        let b = self.synth.make(self.next);
        self.next += 1;
        Some(b)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.end - self.next).unwrap_or(usize::MAX);
        (n, Some(n))
    }

    fn nth(&mut self, n: usize) -> Option<LeadBundle> {
        self.next = self.next.saturating_add(n as u64).min(self.end);
        self.next()
    }
}

impl DoubleEndedIterator for Leads<'_> {
    fn next_back(&mut self) -> Option<LeadBundle> {
        if self.next >= self.end {
            return None;
        }
        self.end -= 1;
        Some(self.synth.make(self.end))
    }
}

impl ExactSizeIterator for Leads<'_> {}
impl FusedIterator for Leads<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn conversions(s: &Synth) -> usize {
        s.leads().filter(|b| b.conversion.is_some()).count()
    }

    /// The truth is the expected effect of removing a channel's touches with every
    /// other draw held fixed; removing them for real (same streams) must agree.
    #[test]
    fn incremental_truth_matches_the_counterfactual() {
        let synth = Synth::new(SynthConfig::default().with_leads(20_000)).unwrap();
        let mut tally = synth.tally();
        synth.leads().for_each(|b| tally.add(&b));
        let truth = synth.truth(&tally).unwrap();
        let actual = conversions(&synth) as f64;
        let expected = truth.expected_conversions;
        assert!((actual - expected).abs() < 3.0 * expected.sqrt());
        for name in ["sales_call", "partner_referral", "organic_search"] {
            let c = synth.channels().position(|ch| ch.as_str() == name).unwrap();
            let mut without = synth.clone();
            without.channels[c].lift = 0.0; // same centring, same draws
            let lost = actual - conversions(&without) as f64;
            let incremental = truth.channels[c].incremental_conversions;
            assert!(incremental > 10.0, "{name}: {incremental}");
            assert!(
                (lost - incremental).abs() < 3.0 * incremental.sqrt(),
                "{name}: {lost} conversions lost, truth says {incremental:.1}"
            );
        }
    }

    #[test]
    fn time_at_is_monotone_and_inside_the_window() {
        let synth = Synth::new(SynthConfig::default().with_leads(1_000)).unwrap();
        let mut prev = synth.start;
        for k in 0..=10_000 {
            let t = synth.time_at(f64::from(k) / 10_000.0);
            assert!(t >= prev && t < synth.end);
            prev = t;
        }
        assert_eq!(synth.month_of(synth.start), 0);
        assert_eq!(synth.month_of(synth.end - 1), 23);
    }

    #[test]
    fn deal_amounts_are_round_and_positive() {
        assert_eq!(round_step(2_000_000.0), 10_000.0);
        assert_eq!(to_minor(rust_decimal::Decimal::new(250, 2), 2), 250.0);
        assert_eq!(to_minor(rust_decimal::Decimal::new(25, 0), 3), 25_000.0);
        assert_eq!(to_minor(rust_decimal::Decimal::new(12_345, 4), 2), 123.45);
        assert_eq!(round_step(999.0), 1.0);
        let synth = Synth::new(SynthConfig::default().with_leads(1_000)).unwrap();
        assert_eq!(synth.deal_amount(2_000_000.0, 0.0), 2_000_000);
        assert_eq!(synth.deal_amount(2_000_000.0, 0.1) % 10_000, 0);
        assert!(synth.deal_amount(2_000_000.0, -40.0) > 0);
        assert_eq!(synth.resize(123_400, 0.5), 62_000); // three significant digits
    }
}
