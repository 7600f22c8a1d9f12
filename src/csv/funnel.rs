//! Reading `leads.csv` and `stage_events.csv` straight into the funnel engine's dense
//! input: leads into a [`FunnelData`] holding its leads as columns (ids in one buffer,
//! creation times, each breakdown dimension as interned codes), stage events into
//! [`FunnelEvents`] — without a [`Lead`](crate::Lead) or
//! [`StageEvent`](crate::StageEvent) per row, on every core (blocks of whole rows,
//! merged in file order), with the same records, errors and report as the general
//! [`Reader`](super::Reader) followed by [`FunnelData::new`] and
//! [`FunnelEvents::add_batch`].

use std::io::Read;

use chrono::{DateTime, Utc};

use super::blocks::{Blocks, fold_blocks, read_block, split_header};
use super::read::{Head, read_head};
use super::schema::{LeadColumns, StageEventColumns};
use super::split::Line;
use super::{Options, ReadReport, parse};
use crate::error::Result;
use crate::funnel::{
    Breakdowns, EventSink, Funnel, FunnelData, FunnelEvents, IdIndex, LeadRow, LeadTable, Millis,
};
use crate::records::{Lead, StageEvent};

/// A field in the plain form: printable ASCII at both ends (so trimming changes
/// nothing) and valid UTF-8. Such a field is what the general decoder would read as
/// it is, for an id, key or free text alike.
#[inline]
pub(crate) fn plain(b: &[u8]) -> Option<&str> {
    let graphic = |c: &u8| (0x21..=0x7e).contains(c);
    if !b.first().is_some_and(graphic) || !b.last().is_some_and(graphic) {
        return None;
    }
    std::str::from_utf8(b).ok()
}

/// An optional field: `Some(None)` when empty, `Some(Some(text))` when plain, `None`
/// for anything the general decoder should see.
#[inline]
pub(crate) fn opt_plain(b: &[u8]) -> Option<Option<&str>> {
    if b.is_empty() {
        Some(None)
    } else {
        plain(b).map(Some)
    }
}

/// Milliseconds of a time in the canonical form, and the microseconds it came from.
#[inline]
fn canonical(b: &[u8]) -> Option<(Millis, i64)> {
    parse::canonical_micros(b).map(|us| (us.div_euclid(1000), us))
}

// ---- leads -------------------------------------------------------------------------

/// A field of a column whose values are not kept: `true` when the general decoder
/// takes it (it is valid UTF-8; what that decoder would trim or intern is not stored).
#[inline]
fn text_ok(b: &[u8]) -> bool {
    b.is_ascii() || std::str::from_utf8(b).is_ok()
}

/// A lead row in the plain form into `table`; `false` (nothing added) for any other.
/// Only the values of the columns the table keeps are read; the others are checked.
fn plain_lead(c: &LeadColumns, line: &Line, buf: &[u8], table: &mut LeadTable) -> bool {
    let f = |i: usize| line.field(buf, i);
    let (Some(id), Some((created, _))) = (plain(f(c.id)), canonical(f(c.created_at))) else {
        return false;
    };
    let kept = table.kept();
    let value = |k: usize, i: Option<usize>| match i {
        None => Some(None),
        Some(i) if kept[k] => opt_plain(f(i)),
        Some(i) => text_ok(f(i)).then_some(None),
    };
    let (Some(source), Some(campaign), Some(account), Some(owner), Some(segment)) = (
        value(0, Some(c.source)),
        value(1, c.campaign),
        value(2, c.account),
        value(3, c.owner),
        value(4, c.segment),
    ) else {
        return false;
    };
    let attribute_ok = |(k, &(i, _)): (usize, &(usize, String))| {
        if table.keeps_attribute(k) {
            opt_plain(f(i)).is_some()
        } else {
            text_ok(f(i))
        }
    };
    if !c.attributes.iter().enumerate().all(attribute_ok) {
        return false;
    }
    let row = LeadRow {
        id,
        created,
        source,
        campaign,
        account,
        owner,
        segment,
    };
    table.push(&row, |k| opt_plain(f(c.attributes[k].0)).flatten());
    true
}

impl FunnelData<'static> {
    /// Reads `leads.csv` (feature `csv`) straight into funnel data that holds the
    /// leads as columns: the same leads, order, checks and
    /// [`fingerprint`](FunnelData::fingerprint) as reading the input with a
    /// [`Reader`](super::Reader)`<`[`Lead`]`>` and calling [`FunnelData::new`] on the
    /// records, the same [`ErrorKind::Csv`](crate::error::ErrorKind::Csv) for a bad
    /// row (line and column) under the options' [`OnError`](super::OnError) policy,
    /// and the same [`ReadReport`]. Much lighter: each lead keeps its id (in one
    /// buffer), its creation time (to the millisecond, the engine's unit) and its
    /// breakdown values as interned codes, so [`Dimension`](crate::funnel::Dimension)
    /// breakdowns work; no [`Lead`] is built for a row in the plain form (no quotes,
    /// `YYYY-MM-DDTHH:MM:SS[.f]Z` times, no padded values), any other row goes
    /// through the general decoder. The file is read on every core in blocks of whole
    /// rows. The data's [`leads`](FunnelData::leads) is `None`.
    ///
    /// ```
    /// use revops::{Funnel, funnel::{Dimension, FunnelData}};
    /// use revops::csv::Options;
    /// # fn main() -> Result<(), revops::Error> {
    /// let leads = "subject_id,created_at,source,industry\nL1,2026-01-05T09:00:00Z,search,retail\nL2,2026-01-06,,\n";
    /// let (data, report) = FunnelData::read_leads_csv(Funnel::demand_waterfall(), leads.as_bytes(), Options::new())?;
    /// assert_eq!((data.len(), report.records), (2, 2));
    /// assert_eq!(data.lead_id(1), Some("L2"));
    /// assert_eq!(data.value(0, &Dimension::Attribute("industry".into())), Some("retail"));
    /// assert_eq!(data.value(1, &Dimension::Source), None);
    /// assert!(data.leads().is_none());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Reader::new`](super::Reader::new) for the header; under
    /// [`OnError::Stop`](super::OnError::Stop) the first bad row's
    /// [`ErrorKind::Csv`](crate::error::ErrorKind::Csv);
    /// [`ErrorKind::Io`](crate::error::ErrorKind::Io) if reading fails; then as
    /// [`FunnelData::new`] ([`ErrorKind::DuplicateId`](crate::error::ErrorKind::DuplicateId)
    /// naming both leads' positions, an unusable funnel, more than `u32::MAX` leads).
    pub fn read_leads_csv<R: Read>(
        funnel: Funnel,
        input: R,
        options: Options,
    ) -> Result<(FunnelData<'static>, ReadReport)> {
        read_leads(funnel, input, &options, &Breakdowns::All, &Blocks::lean())
    }

    /// [`FunnelData::read_leads_csv`] keeping the values of only the breakdown
    /// dimensions `keep` names (feature `csv`): the same leads, order, checks, errors
    /// and report, without storing what no report will ask for. A report without a
    /// breakdown needs [`Breakdowns::none`]; one by a dimension needs that dimension.
    /// [`value`](FunnelData::value) gives `None` for a dimension not kept.
    ///
    /// ```
    /// use revops::{Funnel, funnel::{Breakdowns, Dimension, FunnelData}};
    /// use revops::csv::Options;
    /// # fn main() -> Result<(), revops::Error> {
    /// let leads = "subject_id,created_at,source,industry\nL1,2026-01-05T09:00:00Z,search,retail\n";
    /// let keep = Breakdowns::only([Dimension::Source]);
    /// let (data, _) = FunnelData::read_leads_csv_keeping(Funnel::demand_waterfall(), leads.as_bytes(), Options::new(), &keep)?;
    /// assert_eq!(data.value(0, &Dimension::Source), Some("search"));
    /// assert_eq!(data.value(0, &Dimension::Attribute("industry".into())), None);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`FunnelData::read_leads_csv`].
    pub fn read_leads_csv_keeping<R: Read>(
        funnel: Funnel,
        input: R,
        options: Options,
        keep: &Breakdowns,
    ) -> Result<(FunnelData<'static>, ReadReport)> {
        read_leads(funnel, input, &options, keep, &Blocks::lean())
    }
}

/// [`FunnelData::read_leads_csv`] with the given blocks.
pub(crate) fn read_leads<R: Read>(
    funnel: Funnel,
    input: R,
    options: &Options,
    keep: &Breakdowns,
    blocks: &Blocks,
) -> Result<(FunnelData<'static>, ReadReport)> {
    let (header, first_line, rest) = split_header(input, options.delimiter)?;
    let (_, head) = read_head::<Lead, _>(&header[..], options)?;
    let names: Vec<String> = head
        .columns
        .attributes
        .iter()
        .map(|(_, n)| n.clone())
        .collect();
    let kept_errors = options.kept_errors;
    // Each block's columns are appended as soon as the blocks before it are (the
    // values re-coded): on the calling thread while the workers read on.
    let (table, report) = fold_blocks(
        rest,
        first_line,
        options.delimiter,
        blocks,
        || {
            (
                LeadTable::new(names.iter().cloned(), keep),
                ReadReport::default(),
            )
        },
        |(table, report), block| {
            read_block(
                block,
                options,
                &head,
                table,
                report,
                &|t, line, buf| Ok(plain_lead(&head.columns, line, buf, t)),
                &|t, lead: Lead| {
                    t.push_lead(&lead);
                    Ok(())
                },
            )
        },
        |(total, report), (table, more)| {
            total.append(table);
            report.merge(more, kept_errors);
            Ok(())
        },
    )?;
    let data = FunnelData::from_table(funnel, table, |t| index(t, blocks.threads))?;
    Ok((data, report))
}

/// The id index of `table`, in parts on up to `threads` threads (a power of two);
/// on repeated ids, the earliest second occurrence and its first.
pub(crate) fn index(
    table: &LeadTable,
    threads: usize,
) -> std::result::Result<IdIndex, (usize, usize)> {
    let n = table.len();
    let id = |i: usize| table.id(i).unwrap_or_default();
    let hash = |i: usize| table.id_hash(i);
    let parts = if n < 1 << 16 {
        1
    } else {
        threads.clamp(1, 8).next_power_of_two()
    };
    if parts == 1 {
        return IdIndex::build_part(n, &id, &hash, 0, 1).map(|p| IdIndex::from_parts(vec![p]));
    }
    let built: Vec<Option<_>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..parts)
            .map(|p| s.spawn(move || IdIndex::build_part(n, &id, &hash, p, parts)))
            .collect();
        handles.into_iter().map(|h| h.join().ok()).collect()
    });
    let mut out = Vec::with_capacity(parts);
    let mut first: Option<(usize, usize)> = None;
    for b in built {
        match b {
            // A part that could not be built (its thread failed): one pass instead.
            None => return IdIndex::build(n, id),
            Some(Ok(slots)) => out.push(slots),
            Some(Err(pair)) => {
                if first.is_none_or(|f| pair.1 < f.1) {
                    first = Some(pair);
                }
            }
        }
    }
    match first {
        Some(pair) => Err(pair),
        None => Ok(IdIndex::from_parts(out)),
    }
}

// ---- stage events -------------------------------------------------------------------

/// What [`FunnelEvents::read_stage_events_csv`] read: the [`ReadReport`] and the
/// latest time of any event read.
#[derive(Debug, Clone, Default)]
pub struct EventsRead {
    /// Rows, records and skipped rows, as the general reader counts them.
    pub report: ReadReport,
    /// The latest `at` of the records read (also of those whose subject is not a
    /// lead of the data), at full precision: the natural "as of" of a report.
    pub latest: Option<DateTime<Utc>>,
}

/// The first event whose stage the funnel does not define: the error once the whole
/// input is read (a bad row after it is the error under `OnError::Stop`, as when
/// reading the records first).
#[derive(Debug)]
struct Pending {
    index: u64,
    key: String,
    subject: String,
}

/// A block's events (or a whole file's, once merged).
pub(crate) struct EventsPart<'d, 'a> {
    sink: EventSink<'d, 'a>,
    pending: Option<Pending>,
    latest: Option<DateTime<Utc>>,
    /// `latest` in microseconds (`i64::MIN` before any).
    latest_us: i64,
    pub(crate) report: ReadReport,
}

impl<'d, 'a> EventsPart<'d, 'a> {
    pub(crate) fn new(data: &'d FunnelData<'a>) -> Self {
        EventsPart {
            sink: EventSink::new(data),
            pending: None,
            latest: None,
            latest_us: i64::MIN,
            report: ReadReport::default(),
        }
    }

    /// Room for `rows` more events.
    #[cfg(feature = "parquet")]
    pub(crate) fn reserve(&mut self, rows: usize) {
        self.sink.out.events.reserve(rows);
    }

    /// The next event.
    #[inline]
    pub(crate) fn add(&mut self, subject: &str, key: &str, at: Millis, reason: Option<&str>) {
        if self.pending.is_some() {
            self.sink.seen += 1;
            return;
        }
        match self.sink.stage(key) {
            Some(stage) => self.sink.push(subject, stage, at, reason),
            None => {
                self.pending = Some(Pending {
                    index: self.sink.seen,
                    key: key.to_string(),
                    subject: subject.to_string(),
                });
                self.sink.seen += 1;
            }
        }
    }

    /// An event time read (the latest is kept).
    #[inline]
    pub(crate) fn saw(&mut self, t: DateTime<Utc>) {
        if self.latest.is_none_or(|l| t > l) {
            self.latest = Some(t);
            self.latest_us = t.timestamp_micros();
        }
    }

    /// An event time read, in microseconds since the epoch (the latest is kept).
    #[cfg(feature = "parquet")]
    #[inline]
    pub(crate) fn saw_micros(&mut self, us: i64) {
        if us > self.latest_us
            && let Some(t) = DateTime::from_timestamp_micros(us)
        {
            self.saw(t);
        }
    }

    /// A record from the general decoder.
    pub(crate) fn add_record(&mut self, e: &StageEvent) {
        self.saw(e.at);
        self.add(
            e.subject.as_str(),
            &e.stage,
            crate::funnel::millis(&e.at),
            e.reason.as_deref(),
        );
    }

    /// Appends a later block's events with [`FunnelEvents::merge`] (on the calling
    /// thread while the workers read on).
    fn merge(&mut self, part: EventsPart<'_, '_>, keep: usize) -> Result<()> {
        let before = self.read();
        if self.pending.is_none()
            && let Some(mut p) = part.pending
        {
            p.index += before;
            self.pending = Some(p);
        }
        if let Some(t) = part.latest {
            self.saw(t);
        }
        self.report.merge(part.report, keep);
        let events = part.sink.finish();
        if before == 0 && self.sink.out.is_empty() {
            self.sink.out = events;
            Ok(())
        } else {
            self.sink.out.merge(&events)
        }
    }

    /// Events offered to this part and the parts merged into it.
    fn read(&self) -> u64 {
        self.sink.seen + self.sink.out.diagnostics().events_read
    }

    /// The first unknown stage's error, else the events added to `acc` (as
    /// [`FunnelEvents::merge`]) and what was read, with `report`.
    pub(crate) fn finish_into(mut self, acc: &mut FunnelEvents) -> Result<EventsRead> {
        if let Some(p) = &self.pending {
            return Err(self.sink.unknown_stage(&p.key, p.index, &p.subject));
        }
        let read = EventsRead {
            report: std::mem::take(&mut self.report),
            latest: self.latest,
        };
        let events = self.sink.finish();
        if acc.is_empty() && *acc == FunnelEvents::default() {
            *acc = events;
            Ok(read)
        } else {
            acc.merge(&events).map(|()| read)
        }
    }
}

/// A stage-event row in the plain form into `part`; `false` for any other.
fn plain_event(
    c: &StageEventColumns,
    line: &Line,
    buf: &[u8],
    part: &mut EventsPart<'_, '_>,
) -> bool {
    let f = |i: usize| line.field(buf, i);
    let (Some(subject), Some(key)) = (plain(f(c.subject)), plain(f(c.stage))) else {
        return false;
    };
    let at = f(c.at);
    let Some((ms, us)) = canonical(at) else {
        return false;
    };
    if let Some(i) = c.cycle {
        let b = f(i);
        if !b.is_empty() && parse::unsigned(b).is_none() {
            return false;
        }
    }
    let reason = match c.reason {
        None => None,
        Some(i) => match opt_plain(f(i)) {
            Some(r) => r,
            None => return false,
        },
    };
    if us >= part.latest_us {
        // Up to six fraction digits the microseconds are the instant; more are
        // truncated by `canonical_micros`, so parse those in full.
        let t = if at.len() <= 27 {
            DateTime::from_timestamp_micros(us)
        } else {
            parse::timestamp(at)
        };
        if let Some(t) = t {
            part.saw(t);
        }
    }
    part.add(subject, key, ms, reason);
    true
}

impl FunnelEvents {
    /// Reads `stage_events.csv` (feature `csv`) and interns its events against
    /// `data`, as reading the input with a
    /// [`Reader`](super::Reader)`<`[`StageEvent`]`>` and calling
    /// [`add_batch`](FunnelEvents::add_batch) with the records would: the same
    /// events and diagnostics, the same [`ErrorKind::Csv`](crate::error::ErrorKind::Csv)
    /// for a bad row under the options' [`OnError`](super::OnError) policy (it comes
    /// first, wherever it is in the file), the same
    /// [`ErrorKind::UnknownStage`](crate::error::ErrorKind::UnknownStage) naming the
    /// event, and the same [`ReadReport`] (in the returned [`EventsRead`], with the
    /// latest event time). No [`StageEvent`] is built for a row in the plain form;
    /// the file is read on every core in blocks of whole rows, merged in file order.
    ///
    /// ```
    /// use revops::{Funnel, funnel::{FunnelData, FunnelEvents}};
    /// use revops::csv::Options;
    /// # fn main() -> Result<(), revops::Error> {
    /// let leads = "subject_id,created_at,source\nL1,2026-01-05T09:00:00Z,search\n";
    /// let events = "subject_id,stage,at\nL1,mql,2026-01-07T10:00:00Z\nL9,mql,2026-01-08T10:00:00Z\n";
    /// let (data, _) = FunnelData::read_leads_csv(Funnel::demand_waterfall(), leads.as_bytes(), Options::new())?;
    /// let mut acc = FunnelEvents::new();
    /// let read = acc.read_stage_events_csv(&data, events.as_bytes(), Options::new())?;
    /// assert_eq!((acc.len(), read.report.records), (1, 2));
    /// assert_eq!(acc.diagnostics().unknown_subject, 1);
    /// assert_eq!(read.latest.map(|t| t.to_rfc3339()).as_deref(), Some("2026-01-08T10:00:00+00:00"));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Reader::new`](super::Reader::new) for the header; under
    /// [`OnError::Stop`](super::OnError::Stop) the first bad row's
    /// [`ErrorKind::Csv`](crate::error::ErrorKind::Csv);
    /// [`ErrorKind::Io`](crate::error::ErrorKind::Io) if reading fails; then as
    /// [`add_batch`](FunnelEvents::add_batch). Nothing is added on an error.
    pub fn read_stage_events_csv<R: Read>(
        &mut self,
        data: &FunnelData<'_>,
        input: R,
        options: Options,
    ) -> Result<EventsRead> {
        self.read_events(data, input, &options, &Blocks::lean())
    }

    /// [`FunnelEvents::read_stage_events_csv`] with the given blocks.
    pub(crate) fn read_events<R: Read>(
        &mut self,
        data: &FunnelData<'_>,
        input: R,
        options: &Options,
        blocks: &Blocks,
    ) -> Result<EventsRead> {
        self.check(data)?;
        let (header, first_line, rest) = split_header(input, options.delimiter)?;
        let (_, head): (_, Head<StageEvent>) = read_head(&header[..], options)?;
        let keep = options.kept_errors;
        let total = fold_blocks(
            rest,
            first_line,
            options.delimiter,
            blocks,
            || EventsPart::new(data),
            |part, block| {
                let mut report = std::mem::take(&mut part.report);
                let result = read_block(
                    block,
                    options,
                    &head,
                    part,
                    &mut report,
                    &|p, line, buf| Ok(plain_event(&head.columns, line, buf, p)),
                    &|p, e: StageEvent| {
                        p.add_record(&e);
                        Ok(())
                    },
                );
                part.report = report;
                result
            },
            |total, part| total.merge(part, keep),
        )?;
        total.finish_into(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csv::OnError;
    use crate::funnel::Dimension;
    use proptest::prelude::*;

    const TIMES: &[&str] = &[
        "2026-01-05T09:00:00Z",
        "2026-01-06",
        "bad",
        "2026-02-01T00:00:00.25Z",
    ];
    const TEXT: &[&str] = &["a", "", " b", "\"c,d\"", "\"e\nf\"", "é", " é"];
    const STAGES: &[&str] = &["inquiry", "mql", "sal", "won", "nope", " sql"];

    fn lead_rows() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            (
                0..40usize,
                0..TIMES.len(),
                0..TEXT.len(),
                0..TEXT.len(),
                0..30u8,
            ),
            0..60,
        )
        .prop_map(|rows| {
            let mut s = String::from("subject_id,created_at,source,owner,industry\n");
            for (i, (id, t, a, b, shape)) in rows.into_iter().enumerate() {
                let id = if shape == 0 {
                    format!("L{id}")
                } else {
                    format!("L{i}")
                };
                let t = if shape < 20 { TIMES[0] } else { TIMES[t] };
                let (a, b) = if shape < 10 {
                    ("a", "")
                } else {
                    (TEXT[a], TEXT[b])
                };
                s += &format!("{id},{t},{a},{b},{a}\n");
                if shape == 29 {
                    s += "\r\n";
                }
            }
            s
        })
    }

    fn event_rows() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            (
                0..64usize,
                0..STAGES.len(),
                0..TIMES.len(),
                0..TEXT.len(),
                0..30u8,
            ),
            0..120,
        )
        .prop_map(|rows| {
            let mut s = String::from("subject_id,stage,at,reason\n");
            for (id, st, t, r, shape) in rows {
                let (st, t, r) = if shape < 24 {
                    (STAGES[st % 4], TIMES[0], "")
                } else {
                    (STAGES[st], TIMES[t], TEXT[r])
                };
                s += &format!("L{id},{st},{t},{r}\n");
            }
            s
        })
    }

    fn industry() -> Dimension {
        Dimension::Attribute("industry".into())
    }

    /// The dimensions a reader may keep.
    fn breakdowns() -> impl Strategy<Value = Breakdowns> {
        prop_oneof![
            Just(Breakdowns::All),
            Just(Breakdowns::none()),
            Just(Breakdowns::only([Dimension::Source])),
            Just(Breakdowns::only([industry(), Dimension::Owner])),
        ]
    }

    /// What the leads reader gave, as comparable text, with the values of the
    /// dimensions `keep` does not keep shown as `None`.
    fn leads_text(r: &Result<(FunnelData<'static>, ReadReport)>, keep: &Breakdowns) -> String {
        let value = |d: &FunnelData<'_>, i: usize, dim: &Dimension| {
            keep.keeps(dim)
                .then(|| d.value(i, dim))
                .flatten()
                .map(str::to_string)
        };
        match r {
            Err(e) => format!("error {e}"),
            Ok((d, report)) => {
                let rows: Vec<String> = (0..d.len())
                    .map(|i| {
                        format!(
                            "{:?} {:?} {:?} {:?} {:?}",
                            d.lead_id(i),
                            d.created_at(i),
                            value(d, i, &Dimension::Source),
                            value(d, i, &Dimension::Owner),
                            value(d, i, &industry()),
                        )
                    })
                    .collect();
                format!("{:x} {rows:?} {report:?}", d.fingerprint())
            }
        }
    }

    /// A value that is not valid UTF-8 is the general reader's error (or skipped row)
    /// whether or not its column is kept.
    #[test]
    fn invalid_text_in_a_column_not_kept_is_refused() {
        let mut leads = b"subject_id,created_at,source,owner,industry\nL1,2026-01-05T09:00:00Z,a,b,c\nL2,2026-01-05T09:00:00Z,a,".to_vec();
        leads.extend_from_slice(b"\xff\xfe,c\nL3,2026-01-06T09:00:00Z,a,b,c\n");
        let one = Blocks {
            block_size: 1 << 20,
            threads: 1,
        };
        for skip in [false, true] {
            let options = if skip {
                Options::new().with_on_error(OnError::SkipAndReport)
            } else {
                Options::new()
            };
            let all = read_leads(
                Funnel::demand_waterfall(),
                &leads[..],
                &options,
                &Breakdowns::All,
                &one,
            );
            let none = read_leads(
                Funnel::demand_waterfall(),
                &leads[..],
                &options,
                &Breakdowns::none(),
                &one,
            );
            assert_eq!(
                leads_text(&all, &Breakdowns::none()),
                leads_text(&none, &Breakdowns::All)
            );
            assert!(
                leads_text(&none, &Breakdowns::All).contains("UTF-8"),
                "{}",
                leads_text(&none, &Breakdowns::All)
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Any block size on one or two threads, keeping any breakdowns, reads what
        /// one pass keeping all reads: leads, fingerprint, the kept values (`None`
        /// for the others), events, errors and reports.
        #[test]
        fn any_blocks_read_what_one_pass_reads(
            leads in lead_rows(),
            events in event_rows(),
            block_size in 1..400usize,
            threads in 1..3usize,
            skip in any::<bool>(),
            keep in breakdowns(),
        ) {
            let options = if skip { Options::new().with_on_error(OnError::SkipAndReport) } else { Options::new() };
            let one = Blocks { block_size: 1 << 20, threads: 1 };
            let many = Blocks { block_size, threads };
            let funnel = Funnel::demand_waterfall;
            let a = read_leads(funnel(), leads.as_bytes(), &options, &Breakdowns::All, &one);
            let b = read_leads(funnel(), leads.as_bytes(), &options, &keep, &many);
            prop_assert_eq!(leads_text(&a, &keep), leads_text(&b, &Breakdowns::All));
            if let Ok((data, _)) = &a {
                let (mut x, mut y) = (FunnelEvents::new(), FunnelEvents::new());
                let rx = x.read_events(data, events.as_bytes(), &options, &one);
                let ry = y.read_events(data, events.as_bytes(), &options, &many);
                prop_assert_eq!(format!("{rx:?}"), format!("{ry:?}"));
                prop_assert_eq!(x, y);
            }
        }
    }
}
