//! The win probabilities of a history as predictions, for calibration.

use super::history::PipelineHistory;
use crate::forecast::Prediction;
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
        let (start, end) = (window.start(), window.end());
        let mut out = Vec::new();
        for i in 0..self.len() {
            let (Some(then), Some(now)) = (self.state_at(i, start), self.state_at(i, end)) else {
                continue;
            };
            if !then.is_open() {
                continue;
            }
            let Some(p) = then.probability else { continue };
            out.push(Prediction::new(p, now.outcome()).with_id(self.ids()[i].as_str()));
        }
        out
    }
}
