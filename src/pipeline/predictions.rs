//! The win probabilities of a history as predictions, for calibration.

use super::history::PipelineHistory;
use crate::breakdown::{Breakdown, Keys, Slots};
use crate::error::Result;
use crate::forecast::{Calibration, CalibrationOptions, Prediction};
use crate::period::Window;

impl PipelineHistory {
    /// The win probability each deal open at the window's start had then, with how
    /// it stood at the window's end: won, lost, or still open (censored: the
    /// calibration counts it and leaves it out of every measure). Deals not open at
    /// the start, or without a probability then, are not predictions. Each
    /// prediction carries the deal's id, so a bad probability names the deal.
    ///
    /// This is what the report calibrates ([`crate::report::ForecastSection`]);
    /// give the predictions to [`crate::forecast::Calibration::from_predictions`].
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId, Window,
    ///              forecast::Calibration, forecast::CalibrationOptions, forecast::Outcome,
    ///              pipeline::PipelineHistory};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |m, d| Utc.with_ymd_and_hms(2026, m, d, 0, 0, 0).unwrap();
    /// let usd = Money::parse("100", Currency::USD)?;
    /// let row = |id: &str, at, stage: &str, p: f64| -> Result<OpportunityChange, revops::Error> {
    ///     let mut r = OpportunityChange::new(OpportunityId::new(id)?, at, stage, usd);
    ///     r.probability = Some(p);
    ///     Ok(r)
    /// };
    /// let rows = [
    ///     row("won", t(1, 5), "qualification", 0.3)?,
    ///     row("won", t(2, 9), "closed_won", 1.0)?,
    ///     row("open", t(1, 7), "proposal_price_quote", 0.6)?,
    ///     row("late", t(2, 1), "proposal_price_quote", 0.5)?, // created after the start: no prediction
    /// ];
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
    /// let p = h.predictions(&Window::new(t(1, 31), t(3, 31))?);
    /// assert_eq!(p.len(), 2);
    /// let of = |id: &str| p.iter().find(|p| p.id.as_deref() == Some(id)).map(|p| (p.probability, p.outcome));
    /// assert_eq!(of("won"), Some((0.3, Outcome::Won)));
    /// assert_eq!(of("open"), Some((0.6, Outcome::Open)));
    /// let report = Calibration::from_predictions(&p, CalibrationOptions::default())?.finish()?;
    /// assert_eq!((report.scores.won, report.scores.open), (1, 1));
    /// # Ok(()) }
    /// ```
    pub fn predictions(&self, window: &Window) -> Vec<Prediction> {
        (0..self.len())
            .filter_map(|o| self.prediction(o, window))
            .collect()
    }

    /// Deal `o`'s prediction over `window`, if it is one.
    fn prediction(&self, o: usize, window: &Window) -> Option<Prediction> {
        let then = self.state_at(o, window.start())?;
        let now = self.state_at(o, window.end())?;
        if !then.is_open() {
            return None;
        }
        let p = then.probability?;
        Some(Prediction::new(p, now.outcome()).with_id(self.ids()[o].as_str()))
    }

    /// The calibration of the [predictions](PipelineHistory::predictions) per
    /// bucket of `keys` and over every deal, in one pass, binned under `options`.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use revops::{Currency, Funnel, Money, OpportunityChange, OpportunityId, Window,
    ///     breakdown::Dimension, breakdown::Keys, forecast::CalibrationOptions, pipeline::PipelineHistory};
    /// # fn main() -> Result<(), revops::Error> {
    /// let t = |m| Utc.with_ymd_and_hms(2026, m, 1, 0, 0, 0).unwrap();
    /// let usd = Money::parse("100", Currency::USD)?;
    /// let row = |id: &str, m, stage: &str, p: f64| -> Result<OpportunityChange, revops::Error> {
    ///     Ok(OpportunityChange::new(OpportunityId::new(id)?, t(m), stage, usd).with_probability(p))
    /// };
    /// let rows = [
    ///     row("A", 1, "qualification", 0.3)?, row("A", 2, "closed_won", 1.0)?,
    ///     row("B", 1, "qualification", 0.2)?, row("B", 3, "closed_lost", 0.0)?,
    /// ];
    /// let h = PipelineHistory::new(Funnel::salesforce_opportunity(), Currency::USD, &rows)?;
    /// let keys = Keys::new(Dimension::Owner, [Some("ann"), Some("bo")])?;
    /// let c = h.calibration_by(&Window::new(t(1), t(4))?, CalibrationOptions::default(), &keys)?.finish()?;
    /// assert_eq!((c.total.scores.won, c.total.scores.lost), (1, 1));
    /// assert_eq!(c.cell(Some("bo")).map(|r| r.scores.lost), Some(1));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Calibration::new`]'s error for bad options; [`Calibration::add`]'s error
    /// naming the deal of a bad probability;
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter)
    /// (`"keys"`) for keys of another history.
    pub fn calibration_by(
        &self,
        window: &Window,
        options: CalibrationOptions,
        keys: &Keys,
    ) -> Result<Breakdown<Calibration>> {
        self.check_keys(keys)?;
        let empty = Calibration::new(options)?;
        let mut slots = Slots::new(&empty, Some(keys));
        for o in 0..self.len() {
            if let Some(p) = self.prediction(o, window) {
                slots.each(o, |c| c.add(&p))?;
            }
        }
        Ok(slots.into_breakdown(keys, empty))
    }
}
