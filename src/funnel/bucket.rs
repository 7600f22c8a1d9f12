//! Shared report plumbing: lead segments for a breakdown (the dimension and the
//! bucket order are [`crate::breakdown`]'s), period bucketing by day, and the
//! mask-count cells the cohort and flow reports aggregate into.

use super::data::{FunnelData, Millis, millis};
use super::path::Paths;
use crate::intern::Interner;
use crate::period::{Calendar, Granularity, MAX_SPAN_DAYS, Period};

pub use crate::breakdown::Dimension;

/// Segment 0 is the total; segments 1.. are the dimension's values in first-seen
/// lead order, then sorted by value with the missing bucket last.
pub(crate) struct Segmenter {
    pub(crate) values: Vec<Option<String>>,
    /// Per lead: its segment (≥ 1, or 0 for a lead the paths leave out); empty when
    /// there is no breakdown.
    pub(crate) of_lead: Vec<u32>,
}

/// Marks a lead created after the paths' as-of date while segmenting.
const LATER: u32 = u32::MAX;

impl Segmenter {
    /// The segments of the leads the paths know: a value only leads created after
    /// the paths' as-of date have is not a segment.
    pub(crate) fn new(data: &FunnelData<'_>, paths: &Paths, dim: Option<&Dimension>) -> Segmenter {
        let Some(dim) = dim else {
            return Segmenter {
                values: Vec::new(),
                of_lead: Vec::new(),
            };
        };
        let mut values: Interner<Option<&str>> = Interner::default();
        let mut raw: Vec<u32> = Vec::with_capacity(data.len());
        // Shared id strings (channels, campaigns, accounts) repeat the same pointer:
        // remember the last few before hashing.
        let mut recent: [(usize, u32); 4] = [(0, 0); 4];
        let as_of = paths.options.as_of.as_ref().map_or(Millis::MAX, millis);
        let column = data.values(dim);
        for (i, &created) in data.created.iter().enumerate() {
            if created > as_of {
                raw.push(LATER);
                continue;
            }
            let v = column.get(i);
            let ptr = v.map_or(1, |s| s.as_ptr() as usize);
            let id = match recent.iter().find(|(p, _)| *p == ptr) {
                Some(&(_, id)) => id,
                None => {
                    // At most one value per lead, and leads fit in u32 (FunnelData).
                    let id = values
                        .intern(&v)
                        .unwrap_or_else(|_| unreachable!("fewer values than leads"));
                    recent.rotate_right(1);
                    recent[0] = (ptr, id);
                    id
                }
            };
            raw.push(id);
        }
        // Values in bucket order (present ones by text, the missing bucket last),
        // as every breakdown lists them.
        let (values, rank) = crate::breakdown::rank_values(values.keys());
        Segmenter {
            values,
            of_lead: raw
                .into_iter()
                .map(|id| {
                    if id == LATER {
                        0
                    } else {
                        rank[id as usize] + 1
                    }
                })
                .collect(),
        }
    }

    /// Number of segments including the total.
    pub(crate) fn count(&self) -> usize {
        self.values.len() + 1
    }

    /// A lead's segment: 0 (the total only) when there is no breakdown.
    #[inline]
    pub(crate) fn of(&self, lead: u32) -> usize {
        self.of_lead.get(lead as usize).map_or(0, |&s| s as usize)
    }
}

/// Maps instants to periods through a per-day lookup table, so that bucketing costs a
/// division and an array read.
pub(crate) struct DayBucketer {
    calendar: Calendar,
    granularity: Granularity,
    offset_ms: i64,
    first_day: i64,
    day_to_period: Vec<u32>,
    pub(crate) periods: Vec<Period>,
}

const DAY_MS: i64 = 86_400_000;

impl DayBucketer {
    /// A bucketer covering the instants in `[min, max]`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) when the instants span more than
    /// [`MAX_SPAN_DAYS`](crate::Period::MAX_SPAN_DAYS) days (the crate's span limit: a table that size would take
    /// gigabytes).
    pub(crate) fn new(
        calendar: Calendar,
        granularity: Granularity,
        min: Millis,
        max: Millis,
    ) -> crate::Result<Self> {
        let offset_ms = i64::from(calendar.utc_offset().local_minus_utc()) * 1000;
        let day = |t: Millis| t.saturating_add(offset_ms).div_euclid(DAY_MS);
        let (first_day, last_day) = if min <= max {
            (day(min), day(max))
        } else {
            (0, -1)
        };
        let span = usize::try_from(last_day - first_day + 1).unwrap_or(0);
        if span > MAX_SPAN_DAYS as usize {
            return Err(crate::Error::from(
                crate::error::ErrorKind::InvalidParameter {
                    name: "time span",
                    value: format!("{span} days"),
                    reason: format!(
                        "the reported instants span more than {MAX_SPAN_DAYS} days; filter the data or check its timestamps"
                    ),
                },
            ));
        }
        let mut b = DayBucketer {
            calendar,
            granularity,
            offset_ms,
            first_day,
            day_to_period: Vec::with_capacity(span),
            periods: Vec::new(),
        };
        for d in 0..span as i64 {
            let date = chrono::NaiveDate::from_num_days_from_ce_opt(
                i32::try_from(first_day + d + 719_163).unwrap_or(i32::MAX),
            )
            .unwrap_or(chrono::NaiveDate::MAX);
            let p = b.calendar.period_of_date(date, b.granularity);
            if b.periods.last() != Some(&p) {
                b.periods.push(p);
            }
            b.day_to_period.push(b.periods.len() as u32 - 1);
        }
        Ok(b)
    }

    /// The period index of an instant within `[min, max]`.
    #[inline]
    pub(crate) fn index(&self, t: Millis) -> usize {
        let d = t.saturating_add(self.offset_ms).div_euclid(DAY_MS) - self.first_day;
        self.day_to_period[d as usize] as usize
    }
}

/// Counts of cycles by their bit mask of counted stages: the compact aggregate both
/// the cohort and the flow report expand at the end. Adding is a short linear search
/// (a cell sees few distinct masks), merging is adding counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MaskCounts(pub(crate) Vec<(u64, u64)>);

impl MaskCounts {
    #[inline]
    pub(crate) fn add(&mut self, mask: u64, n: u64) {
        for e in &mut self.0 {
            if e.0 == mask {
                e.1 += n;
                return;
            }
        }
        self.0.push((mask, n));
    }

    pub(crate) fn total(&self) -> u64 {
        self.0.iter().map(|e| e.1).sum()
    }
}
