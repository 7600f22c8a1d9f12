//! The report's input with its large tables in the engines' dense forms
//! ([`DenseInput`]), and the one prepared form every section reads ([`Inputs`]):
//! [`Report::build`](super::Report::build) interns its records into it,
//! [`Report::build_dense`](super::Report::build_dense) takes it from the caller.

use chrono::{DateTime, Utc};

use super::{InputCounts, ReportInput, ReportOptions};
use crate::attribution::{JourneyBuilder, JourneyOptions, Journeys};
use crate::cost::SourcingTouches;
use crate::error::{Error, ErrorKind, Result};
use crate::funnel::{Dimension, FunnelData, FunnelEvents};
use crate::ids::{CampaignId, Channel};
use crate::records::{Conversion, ForecastPoint, OpportunityChange, Spend, StageEvent, Touch};

/// The report's input with the large tables already in the engines' dense forms: the
/// leads as [`FunnelData`] (ids in one buffer, breakdown values as interned codes),
/// the stage events as [`FunnelEvents`], and the touches (with the conversions and
/// stage events the journeys are cut with) in a [`JourneyBuilder`]. Readers fill them
/// straight from files ([`FunnelData::read_leads_csv`](crate::funnel::FunnelData),
/// [`JourneyBuilder::read_touches_csv`], the Parquet readers, or
/// [`csv::DenseDataset`](crate::csv::DenseDataset) for a whole folder), so no record
/// is built per row: a million-lead company takes a fraction of the memory of
/// [`ReportInput`]. [`Report::build_dense`](super::Report::build_dense) gives the same
/// report as [`Report::build`](super::Report::build) on the records the tables were
/// read from.
///
/// What each part stands for, and how it differs from the records:
/// - `leads`: its funnel must be the options' [`ReportOptions::funnel`]. The leads
///   are looked up by id for sourcing, the per-rep owners and the backtest's
///   segments, through the dimensions the data keeps (a reader keeping only some
///   dimensions leaves the others empty).
/// - `stage_events`: interned against `leads` (checked).
/// - `journeys`: the journeys are cut under the builder's own
///   [`JourneyOptions`] (the record form uses the defaults); sourcing reads its
///   touches. The conversions it holds are the attribution's; `conversions` below
///   are economics' and the plan's (give the same file to both).
/// - The report's default date is the latest time held in the builder, the stage
///   events (when there is no builder), the conversions and the opportunity history.
///
/// ```
/// use revops::{Funnel, attribution::JourneyBuilder, csv::Options};
/// use revops::funnel::{FunnelData, FunnelEvents};
/// use revops::report::{DenseInput, Report, ReportOptions};
/// # fn main() -> Result<(), revops::Error> {
/// let leads = "subject_id,created_at,source\nL1,2026-01-05T09:00:00Z,search\nL2,2026-01-06T10:00:00Z,email\n";
/// let events = "subject_id,stage,at\nL1,mql,2026-01-07T00:00:00Z\nL2,mql,2026-01-08T00:00:00Z\nL1,sal,2026-01-09T00:00:00Z\n";
/// let touches = "subject_id,channel,campaign,at\nL1,search,,2026-01-05T09:00:00Z\n";
/// let conversions = "subject_id,at,value,currency\nL1,2026-01-20T00:00:00Z,900.00,USD\n";
/// let (data, _) = FunnelData::read_leads_csv(Funnel::demand_waterfall(), leads.as_bytes(), Options::new())?;
/// let mut stage_events = FunnelEvents::default();
/// stage_events.read_stage_events_csv(&data, events.as_bytes(), Options::new())?;
/// let mut journeys = JourneyBuilder::default();
/// journeys.read_touches_csv(touches.as_bytes(), Options::new())?;
/// journeys.read_conversions_csv(conversions.as_bytes(), Options::new())?;
/// let input = DenseInput {
///     leads: Some(&data),
///     stage_events: Some(&stage_events),
///     journeys: Some(&journeys),
///     ..Default::default()
/// };
/// let report = Report::build_dense(&input, &ReportOptions::default())?;
/// assert_eq!((report.inputs.leads, report.inputs.stage_events, report.inputs.touches), (2, 3, 1));
/// let f = report.funnel.as_ref().unwrap();
/// assert_eq!(f.cohort.total.all.steps[1].ratio.to_string(), "1 / 2 (50.0%)"); // mql → sal
/// assert_eq!(report.attribution.as_ref().unwrap().journey_count, 1);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct DenseInput<'a> {
    /// The leads (the funnel's subjects), for the options' funnel.
    pub leads: Option<&'a FunnelData<'a>>,
    /// The stage events, interned against `leads`.
    pub stage_events: Option<&'a FunnelEvents>,
    /// Touches, and the conversions and stage events the journeys are cut with.
    pub journeys: Option<&'a JourneyBuilder>,
    /// Conversions (closed-won deals) with their revenue, for economics and the plan.
    pub conversions: &'a [Conversion],
    /// Marketing spend.
    pub spend: &'a [Spend],
    /// Opportunity history (one row per change).
    pub opportunity_history: &'a [OpportunityChange],
    /// Forecast points (forecast vs actual per period).
    pub forecasts: &'a [ForecastPoint],
}

/// Where the attribution section reads its journeys from.
#[derive(Clone, Copy)]
pub(super) enum JourneyInput<'a> {
    /// Records, cut under the default options.
    Records {
        touches: &'a [Touch],
        conversions: &'a [Conversion],
        stage_events: &'a [StageEvent],
    },
    /// A builder, cut under its options.
    Builder(Option<&'a JourneyBuilder>),
}

impl JourneyInput<'_> {
    /// The journeys.
    pub(super) fn journeys(&self) -> Result<Journeys> {
        match *self {
            JourneyInput::Records {
                touches,
                conversions,
                stage_events,
            } => Journeys::from_records(
                touches,
                conversions,
                stage_events,
                &JourneyOptions::default(),
            ),
            JourneyInput::Builder(Some(b)) => b.finish(),
            JourneyInput::Builder(None) => Journeys::new(JourneyOptions::default()),
        }
    }

    /// Whether there are touches and conversions to cut journeys from.
    pub(super) fn has_touches_and_conversions(&self) -> bool {
        match *self {
            JourneyInput::Records {
                touches,
                conversions,
                ..
            } => !touches.is_empty() && !conversions.is_empty(),
            JourneyInput::Builder(b) => {
                b.is_some_and(|b| b.touch_count() > 0 && b.conversion_count() > 0)
            }
        }
    }

    /// The touches, as sourcing reads them.
    pub(super) fn touches(&self) -> SourcingTouches<'_> {
        match *self {
            JourneyInput::Records { touches, .. } => SourcingTouches::Records(touches),
            JourneyInput::Builder(Some(b)) => SourcingTouches::Builder(b),
            JourneyInput::Builder(None) => SourcingTouches::Records(&[]),
        }
    }
}

/// What every section reads: the leads as funnel data (looked up by id), the stage
/// events interned, the journeys' source, the small tables as records, and the
/// counts and latest time of what was given.
#[derive(Clone, Copy)]
pub(super) struct Inputs<'a> {
    pub(super) leads: Option<&'a FunnelData<'a>>,
    pub(super) events: Option<&'a FunnelEvents>,
    pub(super) journeys: JourneyInput<'a>,
    pub(super) conversions: &'a [Conversion],
    pub(super) spend: &'a [Spend],
    pub(super) opportunity_history: &'a [OpportunityChange],
    pub(super) forecasts: &'a [ForecastPoint],
    pub(super) counts: InputCounts,
    pub(super) latest: Option<DateTime<Utc>>,
}

/// The funnel data and interned events [`Report::build`](super::Report::build) makes
/// of its records (none without leads; no events without stage events).
pub(super) fn intern_records<'i>(
    input: &ReportInput<'i>,
    options: &ReportOptions,
) -> Result<(Option<FunnelData<'i>>, Option<FunnelEvents>)> {
    if input.leads.is_empty() {
        return Ok((None, None));
    }
    let data = FunnelData::new(options.funnel.clone(), input.leads)?;
    let events = if input.stage_events.is_empty() {
        None
    } else {
        let mut acc = FunnelEvents::default();
        acc.add_batch(&data, input.stage_events)?;
        Some(acc)
    };
    Ok((Some(data), events))
}

impl<'a> Inputs<'a> {
    /// The records of `input`, with the funnel data and events made of them.
    pub(super) fn from_records(
        input: &ReportInput<'a>,
        leads: Option<&'a FunnelData<'a>>,
        events: Option<&'a FunnelEvents>,
    ) -> Inputs<'a> {
        Inputs {
            leads,
            events,
            journeys: JourneyInput::Records {
                touches: input.touches,
                conversions: input.conversions,
                stage_events: input.stage_events,
            },
            conversions: input.conversions,
            spend: input.spend,
            opportunity_history: input.opportunity_history,
            forecasts: input.forecasts,
            counts: InputCounts {
                leads: input.leads.len(),
                stage_events: input.stage_events.len(),
                touches: input.touches.len(),
                conversions: input.conversions.len(),
                spend: input.spend.len(),
                opportunity_history: input.opportunity_history.len(),
                forecasts: input.forecasts.len(),
            },
            latest: input.latest(),
        }
    }

    /// The dense input, checked: the leads' funnel is the options', the events are
    /// interned against the leads.
    pub(super) fn from_dense(
        input: &DenseInput<'a>,
        options: &ReportOptions,
    ) -> Result<Inputs<'a>> {
        if let Some(data) = input.leads
            && data.funnel() != &options.funnel
        {
            return Err(Error::from(ErrorKind::InvalidParameter {
                name: "leads",
                value: data.funnel().name().to_string(),
                reason: format!(
                    "the leads were read for the funnel `{}`, the options name `{}`",
                    data.funnel().name(),
                    options.funnel.name()
                ),
            }));
        }
        if let (Some(data), Some(events)) = (input.leads, input.stage_events) {
            events.check(data)?;
        }
        let builder = input.journeys;
        let stage_events = match (input.stage_events, builder) {
            (Some(e), _) => e.diagnostics().events_read as usize,
            (None, Some(b)) => b.stage_event_count(),
            (None, None) => 0,
        };
        let latest_events = match (input.stage_events, builder) {
            (Some(e), None) => e.latest(),
            _ => None,
        };
        let latest = [
            builder.and_then(JourneyBuilder::latest),
            latest_events,
            input.conversions.iter().map(|c| c.at).max(),
            input.opportunity_history.iter().map(|h| h.changed_at).max(),
        ]
        .into_iter()
        .flatten()
        .max();
        Ok(Inputs {
            leads: input.leads,
            events: input.stage_events,
            journeys: JourneyInput::Builder(builder),
            conversions: input.conversions,
            spend: input.spend,
            opportunity_history: input.opportunity_history,
            forecasts: input.forecasts,
            counts: InputCounts {
                leads: input.leads.map_or(0, FunnelData::len),
                stage_events,
                touches: builder.map_or(0, JourneyBuilder::touch_count),
                conversions: input.conversions.len(),
                spend: input.spend.len(),
                opportunity_history: input.opportunity_history.len(),
                forecasts: input.forecasts.len(),
            },
            latest,
        })
    }

    /// The position of the lead with this id.
    fn lead(&self, id: &str) -> Option<(&'a FunnelData<'a>, usize)> {
        let data = self.leads?;
        data.leads.find(id).map(|i| (data, i as usize))
    }

    /// Whether a lead has this id.
    pub(super) fn is_lead(&self, id: &str) -> bool {
        self.lead(id).is_some()
    }

    /// A lead's value of `dimension`: `None` for an unknown lead.
    pub(super) fn lead_value(&self, id: &str, dimension: &Dimension) -> Option<Option<&'a str>> {
        self.lead(id).map(|(data, i)| data.value(i, dimension))
    }

    /// A lead's source and campaign, as sourcing reads them: `None` for an unknown
    /// lead.
    ///
    /// # Errors
    /// A value that is not a valid channel or campaign id (values read from records
    /// or files always are).
    pub(super) fn lead_source(
        &self,
        id: &str,
    ) -> Result<Option<(Option<Channel>, Option<CampaignId>)>> {
        let Some((data, i)) = self.lead(id) else {
            return Ok(None);
        };
        let source = data
            .value(i, &Dimension::Source)
            .map(Channel::new)
            .transpose()?;
        let campaign = data
            .value(i, &Dimension::Campaign)
            .map(CampaignId::new)
            .transpose()?;
        Ok(Some((source, campaign)))
    }
}
