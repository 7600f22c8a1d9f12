//! Rates that keep their counts, with confidence intervals.
