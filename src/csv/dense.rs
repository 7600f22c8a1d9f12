//! A folder of canonical CSV files read straight into the report's dense input.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::dataset::{Dataset, Table};
use super::{CsvRecord, Options, ReadReport};
use crate::attribution::JourneyBuilder;
use crate::error::{Error, ErrorKind, Result, Source};
use crate::funnel::{Funnel, FunnelData, FunnelEvents};
use crate::records::{
    Conversion, ForecastPoint, Lead, OpportunityChange, Spend, StageEvent, Touch,
};
use crate::report::DenseInput;

/// The canonical CSV files of a folder (feature `csv`), with the large tables read
/// straight into the engines' dense forms, for
/// [`Report::build_dense`](crate::report::Report::build_dense): `leads.csv` into
/// [`FunnelData`], `stage_events.csv` into [`FunnelEvents`], and `touches.csv` (with
/// `conversions.csv` and `stage_events.csv`) into a [`JourneyBuilder`]; the small
/// tables (conversions, spend, opportunity history, forecasts) as records. No record
/// is built per lead, event or touch, the files are read on every core (the
/// journeys' files beside the funnel's), and the report is the one
/// [`Dataset::read_dir`] and [`Report::build`](crate::report::Report::build) give on
/// the same folder, with the same errors for a bad row.
///
/// ```no_run
/// use revops::{Funnel, csv::{DenseDataset, Options}, report::{Report, ReportOptions}};
/// # fn main() -> Result<(), revops::Error> {
/// let data = DenseDataset::read_dir("company/", Funnel::demand_waterfall(), Options::new())?;
/// let report = Report::build_dense(&data.report_input(), &ReportOptions::default())?;
/// println!("{report}");
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct DenseDataset {
    /// The leads (`None` without `leads.csv`).
    pub leads: Option<FunnelData<'static>>,
    /// The stage events, interned against the leads (`None` without `leads.csv` or
    /// `stage_events.csv`).
    pub stage_events: Option<FunnelEvents>,
    /// Touches, conversions and stage events for the journeys (`None` without
    /// `touches.csv` and `stage_events.csv`; the stage events also give the report
    /// its count and latest time of the events when there are no leads).
    pub journeys: Option<JourneyBuilder>,
    /// Conversions.
    pub conversions: Vec<Conversion>,
    /// Spend rows.
    pub spend: Vec<Spend>,
    /// Opportunity history rows.
    pub opportunity_history: Vec<OpportunityChange>,
    /// Forecast points.
    pub forecasts: Vec<ForecastPoint>,
    /// File names that were not in the folder (their sections are left out).
    pub missing: Vec<&'static str>,
    /// What each file read reported, in [`Table::ALL`] order (each file once).
    pub reports: Vec<(&'static str, ReadReport)>,
}

/// The path of a table's file in `dir`, if it is there.
fn file_of<T: CsvRecord>(dir: &Path) -> Option<PathBuf> {
    let path = dir.join(T::FILE_NAME);
    path.is_file().then_some(path)
}

/// Opens a file, naming it in the error.
fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| {
        Error::from(ErrorKind::Io {
            context: Some(path.display().to_string()),
            source: Source::new(e),
        })
    })
}

/// The options for reading a table's file (errors name the file).
fn named<T: CsvRecord>(options: &Options) -> Options {
    options.clone().with_source_name(T::FILE_NAME)
}

/// The journeys' files: touches, conversions and stage events, those present.
fn read_journeys(
    touches: Option<&Path>,
    conversions: Option<&Path>,
    events: Option<&Path>,
    options: &Options,
) -> Result<(JourneyBuilder, Option<ReadReport>)> {
    let mut b = JourneyBuilder::default();
    let report = match touches {
        Some(p) => Some(b.read_touches_csv(open(p)?, named::<Touch>(options))?),
        None => None,
    };
    if let Some(p) = conversions {
        b.read_conversions_csv(open(p)?, named::<Conversion>(options))?;
    }
    if let Some(p) = events {
        b.read_stage_events_csv(open(p)?, named::<StageEvent>(options))?;
    }
    Ok((b, report))
}

/// The leads read, their report, and the stage events read with theirs.
type FunnelRead = (
    FunnelData<'static>,
    ReadReport,
    Option<(FunnelEvents, ReadReport)>,
);

/// The funnel's files: leads, then stage events if present.
fn read_funnel(
    leads: &Path,
    events: Option<&Path>,
    funnel: Funnel,
    options: &Options,
) -> Result<FunnelRead> {
    let (data, leads_report) =
        FunnelData::read_leads_csv(funnel, open(leads)?, named::<Lead>(options))?;
    let events = match events {
        Some(p) => {
            let mut e = FunnelEvents::default();
            let read = e.read_stage_events_csv(&data, open(p)?, named::<StageEvent>(options))?;
            Some((e, read.report))
        }
        None => None,
    };
    Ok((data, leads_report, events))
}

impl DenseDataset {
    /// Reads the canonical files of `dir` (see [`DenseDataset`]) for `funnel` (the
    /// report options' [`funnel`](crate::report::ReportOptions::funnel)); a file that
    /// is not there leaves its table empty and is listed in
    /// [`missing`](DenseDataset::missing).
    ///
    /// # Errors
    /// [`ErrorKind::Io`] naming a folder that is not one or a file that cannot be
    /// read; a bad row's [`ErrorKind::Csv`] (file, line and column) under the options'
    /// [`OnError`](super::OnError) policy, as the readers of each table give it (the
    /// funnel's files first, then the small tables, then the journeys').
    pub fn read_dir(dir: impl AsRef<Path>, funnel: Funnel, options: Options) -> Result<Self> {
        let dir = dir.as_ref();
        let (leads, events, touches) = (
            file_of::<Lead>(dir),
            file_of::<StageEvent>(dir),
            file_of::<Touch>(dir),
        );
        let conversions = file_of::<Conversion>(dir);
        // The journeys' files on a thread of their own (their readers use one core)
        // while the funnel's (on every core) and then the small tables are read.
        let (funnel_read, small, journeys_read) = std::thread::scope(|scope| {
            let journeys = (touches.is_some() || events.is_some()).then(|| {
                let (t, c, e) = (
                    touches.as_deref(),
                    conversions.as_deref(),
                    events.as_deref(),
                );
                let o = &options;
                scope.spawn(move || read_journeys(t, c, e, o))
            });
            let funnel_read = leads
                .as_deref()
                .map(|l| read_funnel(l, events.as_deref(), funnel, &options))
                .transpose();
            // This also checks that `dir` is a folder.
            let small = Dataset::read_dir_with(
                dir,
                &[
                    Table::Conversions,
                    Table::Spend,
                    Table::OpportunityHistory,
                    Table::Forecasts,
                ],
                options.clone(),
            );
            let journeys_read = journeys
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .transpose();
            (funnel_read, small, journeys_read)
        });
        let (funnel_read, small) = (funnel_read?, small?);
        let journeys_read = journeys_read?;
        let mut d = DenseDataset::default();
        for (table, present) in [
            (Table::Leads, leads.is_some()),
            (Table::StageEvents, events.is_some()),
            (Table::Touches, touches.is_some()),
        ] {
            if !present {
                d.missing.push(table.file_name());
            }
        }
        if let Some((data, report, events)) = funnel_read {
            d.reports.push((Lead::FILE_NAME, report));
            if let Some((e, report)) = events {
                d.reports.push((StageEvent::FILE_NAME, report));
                d.stage_events = Some(e);
            }
            d.leads = Some(data);
        }
        if let Some((b, report)) = journeys_read {
            if let Some(report) = report {
                d.reports.push((Touch::FILE_NAME, report));
            }
            d.journeys = Some(b);
        }
        d.missing.extend(small.missing);
        d.reports.extend(small.reports);
        d.conversions = small.conversions;
        d.spend = small.spend;
        d.opportunity_history = small.opportunity_history;
        d.forecasts = small.forecasts;
        Ok(d)
    }

    /// The tables as the report's dense input.
    pub fn report_input(&self) -> DenseInput<'_> {
        DenseInput {
            leads: self.leads.as_ref(),
            stage_events: self.stage_events.as_ref(),
            journeys: self.journeys.as_ref(),
            conversions: &self.conversions,
            spend: &self.spend,
            opportunity_history: &self.opportunity_history,
            forecasts: &self.forecasts,
        }
    }

    /// Rows skipped over all files (under [`OnError::SkipAndReport`](super::OnError::SkipAndReport)).
    pub fn skipped(&self) -> u64 {
        self.reports.iter().map(|(_, r)| r.skipped_rows).sum()
    }
}
