//! A folder of canonical CSV files, read together.

use crate::error::{ErrorKind, Source};
use std::path::{Path, PathBuf};

use super::blocks::{Blocks, fold_records};
use super::{CsvRecord, Options, ReadReport};
use crate::error::{Error, Result};
use crate::records::{
    Conversion, ForecastPoint, Lead, OpportunityChange, Spend, StageEvent, Touch,
};

/// The records of a folder of canonical CSV files (`leads.csv`, `stage_events.csv`,
/// `touches.csv`, `conversions.csv`, `spend.csv`, `opportunity_history.csv`,
/// `forecasts.csv`). A file that is not there gives an empty list and is named in
/// [`Dataset::missing`]; every file read has its [`ReadReport`] in
/// [`Dataset::reports`].
///
/// ```no_run
/// use revops::csv::{Dataset, Options};
/// # fn main() -> Result<(), revops::Error> {
/// let data = Dataset::read_dir("exports/2026-11", Options::new())?;
/// println!("{} leads, {} stage events", data.leads.len(), data.stage_events.len());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// `leads.csv`.
    pub leads: Vec<Lead>,
    /// `stage_events.csv`.
    pub stage_events: Vec<StageEvent>,
    /// `touches.csv`.
    pub touches: Vec<Touch>,
    /// `conversions.csv`.
    pub conversions: Vec<Conversion>,
    /// `spend.csv`.
    pub spend: Vec<Spend>,
    /// `opportunity_history.csv`.
    pub opportunity_history: Vec<OpportunityChange>,
    /// `forecasts.csv`.
    pub forecasts: Vec<ForecastPoint>,
    /// Files that were not found.
    pub missing: Vec<&'static str>,
    /// Per file read: its name and what the reader saw (rows, records, skipped rows).
    pub reports: Vec<(&'static str, ReadReport)>,
}

impl Dataset {
    /// The report's view of these tables (see [`crate::report::Report::build`]).
    pub fn report_input(&self) -> crate::report::ReportInput<'_> {
        crate::report::ReportInput {
            leads: &self.leads,
            stage_events: &self.stage_events,
            touches: &self.touches,
            conversions: &self.conversions,
            spend: &self.spend,
            opportunity_history: &self.opportunity_history,
            forecasts: &self.forecasts,
        }
    }

    /// Reads every canonical file found in `dir` with `options` (its source name is
    /// replaced by each file's name).
    ///
    /// # Errors
    /// [`ErrorKind::Io`](crate::error::ErrorKind::Io) if `dir` is not a readable folder or a file cannot be opened; with
    /// [`super::OnError::Stop`], the first bad row of any file as [`ErrorKind::Csv`](crate::error::ErrorKind::Csv).
    pub fn read_dir(dir: impl AsRef<Path>, options: Options) -> Result<Dataset> {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            return Err(Error::from(ErrorKind::Io {
                context: Some(dir.display().to_string()),
                source: Source::new(std::io::Error::new(
                    std::io::ErrorKind::NotADirectory,
                    "not a folder",
                )),
            }));
        }
        let mut d = Dataset::default();
        d.leads = d.read(dir, &options)?;
        d.stage_events = d.read(dir, &options)?;
        d.touches = d.read(dir, &options)?;
        d.conversions = d.read(dir, &options)?;
        d.spend = d.read(dir, &options)?;
        d.opportunity_history = d.read(dir, &options)?;
        d.forecasts = d.read(dir, &options)?;
        Ok(d)
    }

    fn read<T: CsvRecord + Send>(&mut self, dir: &Path, options: &Options) -> Result<Vec<T>> {
        let path: PathBuf = dir.join(T::FILE_NAME);
        if !path.is_file() {
            self.missing.push(T::FILE_NAME);
            return Ok(Vec::new());
        }
        let file = std::fs::File::open(&path).map_err(|e| {
            Error::from(ErrorKind::Io {
                context: Some(path.display().to_string()),
                source: Source::new(e),
            })
        })?;
        // Both cores: the file is read in blocks of whole rows, in order.
        let options = options.clone().with_source_name(T::FILE_NAME);
        let (out, report) = fold_records::<T, _, _>(
            file,
            &options,
            &Blocks::default(),
            Vec::new,
            |v, r| {
                v.push(r);
                Ok(())
            },
            |a, b| {
                a.extend(b);
                Ok(())
            },
        )?;
        self.reports.push((T::FILE_NAME, report));
        Ok(out)
    }

    /// Rows skipped over all files (with [`super::OnError::SkipAndReport`]).
    pub fn skipped(&self) -> u64 {
        self.reports.iter().map(|(_, r)| r.skipped_rows).sum()
    }
}
