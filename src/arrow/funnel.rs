//! Reading `leads.parquet` and `stage_events.parquet` straight into the funnel
//! engine's dense input (feature `parquet`), as the lean CSV readers do: leads into a
//! [`FunnelData`] holding them as columns, stage events into [`FunnelEvents`],
//! without a [`Lead`] or [`StageEvent`] per row, with the same records, errors and
//! report as the general [`Reader`] followed by [`FunnelData::new`] and
//! [`FunnelEvents::add_batch`]. Only the columns the table reads are decoded
//! (projection); for leads, only the id, the creation time and the columns of the
//! dimensions kept. A file of two or more row groups (and at least 65 536 rows) is
//! read in two parts on two threads (the first half of its row groups and the
//! rest), merged as the CSV readers merge their blocks; when a part meets a bad row,
//! the file is read again in one sequence, so that errors and reports count rows and
//! batches across the whole file. A row in the plain form (ids and keys without
//! padding, a time that reads as an instant in range) is taken as it is; any other
//! goes through the general decoder, which gives its record or its error.

use std::path::Path;

use crate::arrow::column::Column;
use crate::arrow::decode::Columns;
use crate::arrow::parquet::{Reader, Selection, halves, parquet_error};
use crate::arrow::{ArrowRecord, Decoder, RecordBatch};
use crate::csv::funnel::{EventsPart, index};
use crate::csv::{EventsRead, Options, ReadReport};
use crate::error::Result;
use crate::funnel::Millis;
use crate::funnel::{Breakdowns, Funnel, FunnelData, FunnelEvents, LeadRow, LeadTable, millis};
use crate::records::{Lead, StageEvent};

/// A string in the plain form (printable ASCII at both ends, so trimming changes
/// nothing): what the general decoder reads as it is.
#[inline]
fn plain_str(s: &str) -> Option<&str> {
    let graphic = |c: &u8| (0x21..=0x7e).contains(c);
    let b = s.as_bytes();
    (b.first().is_some_and(graphic) && b.last().is_some_and(graphic)).then_some(s)
}

/// An optional string: `Some(None)` when empty, `Some(Some(s))` when plain, `None`
/// for anything the general decoder should see.
#[inline]
fn opt_plain_str(s: &str) -> Option<Option<&str>> {
    if s.is_empty() {
        Some(None)
    } else {
        plain_str(s).map(Some)
    }
}

/// Row `i` of a time column in milliseconds (the engine's unit), or `None` when the
/// general decoder should read it.
#[inline]
fn time(c: &Column<'_>, i: usize) -> Option<Millis> {
    match c.micros(i) {
        Some(us) => Some(us.div_euclid(1000)),
        None => c.timestamp(i).ok().map(|t| millis(&t)),
    }
}

/// A lead row in the plain form into `table`; `false` (nothing added) for any other.
/// Only the values of the dimensions the table keeps are read (a string column's
/// values are valid UTF-8, so a column not kept cannot make a row bad).
fn lean_lead(table: &mut LeadTable, c: &Columns<'_>, i: usize) -> bool {
    let f = &c.fixed;
    let Some(id) = plain_str(f[0].str(i)) else {
        return false;
    };
    let Some(created) = time(&f[1], i) else {
        return false;
    };
    let kept = table.kept();
    let value = |k: usize| {
        if kept[k] {
            opt_plain_str(f[k + 2].str(i))
        } else {
            Some(None)
        }
    };
    let (Some(source), Some(campaign), Some(account), Some(owner), Some(segment)) =
        (value(0), value(1), value(2), value(3), value(4))
    else {
        return false;
    };
    // A lead with a value of an attribute without a name is refused by the decoder.
    if c.attributes.iter().any(|a| a.name().trim().is_empty()) {
        return false;
    }
    let mut attributes: Vec<Option<String>> = Vec::new();
    for (k, a) in c.attributes.iter().enumerate() {
        if table.keeps_attribute(k) {
            match a.attribute(i) {
                Ok(v) => attributes.push(v),
                Err(_) => return false,
            }
        } else {
            attributes.push(None);
        }
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
    table.push(&row, |k| attributes.get(k).and_then(Option::as_deref));
    true
}

/// A stage-event row in the plain form into `part`; `false` for any other.
fn lean_event(part: &mut EventsPart<'_, '_>, c: &Columns<'_>, i: usize) -> bool {
    let f = &c.fixed;
    let (Some(subject), Some(key)) = (plain_str(f[0].str(i)), plain_str(f[1].str(i))) else {
        return false;
    };
    if f[3].opt_u32(i).is_err() {
        return false;
    }
    let Some(reason) = opt_plain_str(f[4].str(i)) else {
        return false;
    };
    match f[2].micros(i) {
        Some(us) => {
            part.saw_micros(us);
            part.add(subject, key, us.div_euclid(1000), reason);
        }
        // Strings, dates, nanoseconds: the instant at full precision.
        None => match f[2].timestamp(i) {
            Ok(at) => {
                part.saw(at);
                part.add(subject, key, millis(&at), reason);
            }
            Err(_) => return false,
        },
    }
    true
}

impl FunnelData<'static> {
    /// Reads `leads.parquet` (feature `parquet`) straight into funnel data that
    /// holds the leads as columns, keeping the values of the breakdown dimensions
    /// `keep` names: the same leads, order, checks and
    /// [`fingerprint`](FunnelData::fingerprint) as reading the file with a
    /// [`Reader`]`<`[`Lead`]`>` and calling [`FunnelData::new`] on the records, the
    /// same [`ErrorKind::Arrow`](crate::error::ErrorKind::Arrow) for a bad row (source,
    /// row, batch and column) under the options' [`OnError`](crate::csv::OnError)
    /// policy, and the same [`ReadReport`]. Errors name the file by its name unless
    /// the options give a source name. See
    /// [`FunnelData::read_leads_csv_keeping`] for what is kept.
    ///
    /// ```
    /// use revops::arrow::parquet::write_records;
    /// use revops::csv::Options;
    /// use revops::funnel::{Breakdowns, Dimension, FunnelData};
    /// use revops::{Funnel, Lead, id};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let at = "2026-01-05T09:00:00Z".parse()?;
    /// let leads = vec![Lead::new(id!("L1"), at).with_source(id!("search"))];
    /// let dir = std::env::temp_dir().join(format!("revops-doc-leads-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("leads.parquet");
    /// write_records(&leads, std::fs::File::create(&path)?, &Options::new())?;
    /// let keep = Breakdowns::only([Dimension::Source]);
    /// let (data, report) = FunnelData::read_leads_parquet(Funnel::demand_waterfall(), &path, Options::new(), &keep)?;
    /// assert_eq!((data.len(), report.records), (1, 1));
    /// assert_eq!(data.value(0, &Dimension::Source), Some("search"));
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Reader::from_path`]; under [`OnError::Stop`](crate::csv::OnError::Stop)
    /// the first bad row's [`ErrorKind::Arrow`](crate::error::ErrorKind::Arrow);
    /// [`ErrorKind::Io`](crate::error::ErrorKind::Io) if the file cannot be read as
    /// Parquet; then as [`FunnelData::new`]
    /// ([`ErrorKind::DuplicateId`](crate::error::ErrorKind::DuplicateId) naming both
    /// leads' positions, an unusable funnel, more than `u32::MAX` leads).
    pub fn read_leads_parquet(
        funnel: Funnel,
        path: impl AsRef<Path>,
        options: Options,
        keep: &Breakdowns,
    ) -> Result<(FunnelData<'static>, ReadReport)> {
        let path = path.as_ref();
        let read = |groups| read_lead_table(path, options.clone(), keep, groups);
        let (table, report) = match in_halves(path, |g| read(Some(g)), |(_, r)| clean(r)) {
            Some([(a, mut ra), (b, rb)]) => {
                ra.merge(rb, options.kept_errors());
                let table = match (a, b) {
                    (Some(mut a), Some(b)) => {
                        a.append(b);
                        Some(a)
                    }
                    (a, b) => a.or(b),
                };
                (table, ra)
            }
            None => read(None)?,
        };
        let table = table.unwrap_or_default();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let data = FunnelData::from_table(funnel, table, |t| index(t, threads))?;
        Ok((data, report))
    }
}

/// Reads the leads of the row groups `groups` names (`None`: all) into a table (none
/// without a batch), with the decoder's report.
fn read_lead_table(
    path: &Path,
    options: Options,
    keep: &Breakdowns,
    groups: Option<Vec<usize>>,
) -> Result<(Option<LeadTable>, ReadReport)> {
    let select = |schema: &arrow_schema::Schema| {
        lead_columns(&LeadTable::new(attribute_names(schema), keep), schema)
    };
    let reader = Reader::<Lead>::from_path_selecting(path, options, select, groups)?;
    let rows = reader.rows_hint();
    let mut table: Option<LeadTable> = None;
    let report = pipelined(reader, |decoder, batch| {
        let t = table.get_or_insert_with(|| {
            let mut t = LeadTable::new(attribute_names(batch.schema_ref()), keep);
            // Columns sized once: no copies as they grow, no pages touched twice.
            t.reserve(rows);
            t
        });
        decoder.decode_into(
            batch,
            t,
            |t, c, i| Ok(lean_lead(t, c, i)),
            |t, lead| {
                t.push_lead(&lead);
                Ok(())
            },
        )
    })?;
    Ok((table, report))
}

/// Whether a part's rows all read (none skipped): then its report adds up with the
/// other part's as the whole file's would.
fn clean(report: &ReadReport) -> bool {
    report.skipped_rows == 0
}

/// Reads a file in two parts on two threads (the first half of its row groups on a
/// new thread, the second on the calling one; see [`halves`]), each with its own
/// pipelined reader, when the machine has two cores and the file is split. `None`
/// when it is not split, or when a part failed or is not `ok` (skipped rows): the
/// caller then reads the file in one sequence, which gives the errors and reports
/// with their rows and batches counted across the whole file.
fn in_halves<R: Send>(
    path: &Path,
    read: impl Fn(Vec<usize>) -> Result<R> + Sync,
    ok: impl Fn(&R) -> bool,
) -> Option<[R; 2]> {
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        return None;
    }
    let [first, second] = halves(path)?;
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| read(first));
        let b = read(second);
        (a.join().unwrap_or_else(|p| std::panic::resume_unwind(p)), b)
    });
    let (a, b) = (a.ok()?, b.ok()?);
    (ok(&a) && ok(&b)).then_some([a, b])
}

/// Batches decoded from Parquet waiting for the calling thread, at most.
const QUEUED_BATCHES: usize = 4;

/// Reads the file's record batches on a second thread (decompressing and decoding
/// the Parquet pages) while `fold` takes each one, in file order, on the calling
/// thread with the reader's decoder; returns the decoder's report. The batches and
/// their numbers are the sequential reader's, so are errors.
pub(super) fn pipelined<T: ArrowRecord>(
    reader: Reader<T>,
    mut fold: impl FnMut(&mut Decoder<T>, &RecordBatch) -> Result<()>,
) -> Result<ReadReport> {
    let (batches, mut decoder) = reader.into_parts();
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUED_BATCHES);
        s.spawn(move || {
            for batch in batches {
                // The receiver is gone after an error: stop reading.
                if tx.send(batch).is_err() {
                    return;
                }
            }
        });
        for batch in rx {
            let batch = batch.map_err(|e| parquet_error(decoder.source_name(), e))?;
            fold(&mut decoder, &batch)?;
        }
        Ok(decoder.report().clone())
    })
}

/// The lead columns the lean path decodes: the id, the creation time and the values
/// of the dimensions `table` keeps. A column not kept cannot make a row bad (its
/// strings are valid UTF-8, and any attribute value reads as text), so a row the
/// lean path leaves to the general decoder gets the same record in the kept columns
/// or the same error without it — except a value of an attribute whose name is
/// blank, which the decoder refuses: with such a column every column is read (`None`).
fn lead_columns(table: &LeadTable, schema: &arrow_schema::Schema) -> Option<Selection> {
    let header = crate::arrow::decode::header(schema).ok()?;
    let (_, attributes) = crate::arrow::decode::positions::<Lead>(&header).ok()?;
    if attributes
        .iter()
        .any(|&i| schema.field(i).name().trim().is_empty())
    {
        return None;
    }
    let kept = table.kept();
    let fixed = [true, true].into_iter().chain(kept).collect();
    let attributes = (0..attributes.len())
        .map(|k| table.keeps_attribute(k))
        .collect();
    Some(Selection { fixed, attributes })
}

/// The attribute column names of a leads schema (every column that is not a
/// canonical lead column), trimmed, in schema order.
fn attribute_names(schema: &arrow_schema::Schema) -> Vec<String> {
    let Ok(header) = crate::arrow::decode::header(schema) else {
        return Vec::new();
    };
    let Ok((_, attributes)) = crate::arrow::decode::positions::<Lead>(&header) else {
        return Vec::new();
    };
    attributes
        .into_iter()
        .map(|i| schema.field(i).name().trim().to_string())
        .collect()
}

impl FunnelEvents {
    /// Reads `stage_events.parquet` (feature `parquet`) and interns its events
    /// against `data`, as reading the file with a [`Reader`]`<`[`StageEvent`]`>` and
    /// calling [`add_batch`](FunnelEvents::add_batch) with the records would: the same
    /// events and diagnostics, the same
    /// [`ErrorKind::Arrow`](crate::error::ErrorKind::Arrow) for a bad row under the
    /// options' [`OnError`](crate::csv::OnError) policy (it comes first, wherever it
    /// is in the file), the same
    /// [`ErrorKind::UnknownStage`](crate::error::ErrorKind::UnknownStage) naming the
    /// event, and the same [`ReadReport`] (in the returned [`EventsRead`], with the
    /// latest event time). No [`StageEvent`] is built for a row in the plain form.
    ///
    /// ```
    /// use revops::arrow::parquet::write_records;
    /// use revops::csv::Options;
    /// use revops::funnel::{Breakdowns, FunnelData, FunnelEvents};
    /// use revops::{Funnel, Lead, LeadId, StageEvent, id};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = std::env::temp_dir().join(format!("revops-doc-events-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let leads = vec![Lead::new(id!("L1"), "2026-01-05T09:00:00Z".parse()?)];
    /// let (l1, l9): (LeadId, LeadId) = (id!("L1"), id!("L9"));
    /// let events = vec![
    ///     StageEvent::new(l1, "mql", "2026-01-07T10:00:00Z".parse()?),
    ///     StageEvent::new(l9, "mql", "2026-01-08T10:00:00Z".parse()?),
    /// ];
    /// write_records(&leads, std::fs::File::create(dir.join("leads.parquet"))?, &Options::new())?;
    /// write_records(&events, std::fs::File::create(dir.join("stage_events.parquet"))?, &Options::new())?;
    /// let (data, _) = FunnelData::read_leads_parquet(Funnel::demand_waterfall(), dir.join("leads.parquet"), Options::new(), &Breakdowns::none())?;
    /// let mut acc = FunnelEvents::new();
    /// let read = acc.read_stage_events_parquet(&data, dir.join("stage_events.parquet"), Options::new())?;
    /// assert_eq!((acc.len(), read.report.records), (1, 2));
    /// assert_eq!(acc.diagnostics().unknown_subject, 1);
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Reader::from_path`]; under [`OnError::Stop`](crate::csv::OnError::Stop)
    /// the first bad row's [`ErrorKind::Arrow`](crate::error::ErrorKind::Arrow);
    /// [`ErrorKind::Io`](crate::error::ErrorKind::Io) if the file cannot be read as
    /// Parquet; then as [`add_batch`](FunnelEvents::add_batch). Nothing is added on
    /// an error.
    pub fn read_stage_events_parquet(
        &mut self,
        data: &FunnelData<'_>,
        path: impl AsRef<Path>,
        options: Options,
    ) -> Result<EventsRead> {
        self.check(data)?;
        let path = path.as_ref();
        if let Some(read) = self.read_events_in_halves(data, path, &options) {
            return read;
        }
        events_part(data, path, options, None)?.finish_into(self)
    }

    /// The events of the file read in two parts (see [`in_halves`]) and added to
    /// these, as [`FunnelEvents::read_stage_events_parquet`] adds them; `None` when
    /// the file is not split or a part met anything but plain rows of known stages
    /// (the caller reads the file in one sequence).
    fn read_events_in_halves(
        &mut self,
        data: &FunnelData<'_>,
        path: &Path,
        options: &Options,
    ) -> Option<Result<EventsRead>> {
        let read = |groups| events_part(data, path, options.clone(), Some(groups));
        let [a, b] = in_halves(path, read, |p| clean(&p.report))?;
        let mut both = FunnelEvents::new();
        let mut read = a.finish_into(&mut both).ok()?;
        let later = b.finish_into(&mut both).ok()?;
        read.report.merge(later.report, options.kept_errors());
        read.latest = read.latest.max(later.latest);
        if self.is_empty() && *self == FunnelEvents::default() {
            *self = both;
            Some(Ok(read))
        } else {
            Some(self.merge(&both).map(|()| read))
        }
    }
}

/// The events of the row groups `groups` names (`None`: all), read into a part.
fn events_part<'d, 'a>(
    data: &'d FunnelData<'a>,
    path: &Path,
    options: Options,
    groups: Option<Vec<usize>>,
) -> Result<EventsPart<'d, 'a>> {
    let reader = Reader::<StageEvent>::from_path_selecting(path, options, |_| None, groups)?;
    let mut part = EventsPart::new(data);
    part.reserve(reader.rows_hint());
    part.report = pipelined(reader, |decoder, batch| {
        decoder.decode_into(
            batch,
            &mut part,
            |p, c, i| Ok(lean_event(p, c, i)),
            |p, e| {
                p.add_record(&e);
                Ok(())
            },
        )
    })?;
    Ok(part)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{
        Array, TimestampMicrosecondArray, TimestampMillisecondArray, TimestampSecondArray,
    };
    use proptest::prelude::*;

    /// The values around the ends of the supported years, in microseconds.
    const EDGES: [i64; 6] = [
        -62_167_219_200_000_000,
        -62_167_219_200_000_001,
        253_402_300_799_999_999,
        253_402_300_800_000_000,
        0,
        -1,
    ];

    fn check(array: impl Array + 'static) -> Result<(), TestCaseError> {
        let n = array.len();
        let batch = RecordBatch::try_from_iter([("at", std::sync::Arc::new(array) as _)]).unwrap();
        let c = Column::of(&batch, 0, "at", crate::arrow::column::Want::Time).unwrap();
        for i in 0..n {
            let full = c.timestamp(i).ok().map(|t| t.timestamp_micros());
            prop_assert_eq!(c.micros(i), full, "row {}", i);
        }
        Ok(())
    }

    proptest! {
        /// The integer path gives the instant the full path gives, and refuses
        /// exactly what it refuses (out of the supported years), in every unit.
        #[test]
        fn micros_are_the_timestamps_instants(v in proptest::collection::vec(any::<i64>(), 0..20), k in 0..6usize) {
            let mut us = v.clone();
            us.push(EDGES[k]);
            us.extend(v.iter().map(|x| x % 300_000_000_000_000_000));
            check(TimestampMicrosecondArray::from(us.clone()))?;
            check(TimestampMillisecondArray::from(us.iter().map(|x| x / 1000).collect::<Vec<_>>()))?;
            check(TimestampSecondArray::from(us.iter().map(|x| x / 1_000_000).collect::<Vec<_>>()))?;
            check(TimestampSecondArray::from(vec![Some(1), None]))?;
        }
    }

    /// Writes string columns as a Parquet file of row groups of `group` rows.
    fn write(path: &Path, columns: Vec<(&str, Vec<Option<String>>)>, group: usize) {
        let batch = RecordBatch::try_from_iter(columns.into_iter().map(|(n, v)| {
            (
                n,
                std::sync::Arc::new(arrow_array::StringArray::from(v)) as arrow_array::ArrayRef,
            )
        }))
        .unwrap();
        let props = ::parquet::file::properties::WriterProperties::builder()
            .set_max_row_group_row_count(Some(group))
            .build();
        let f = std::fs::File::create(path).unwrap();
        let mut w = ::parquet::arrow::ArrowWriter::try_new(f, batch.schema(), Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }

    type Row = (
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
    );

    /// Rows of four string columns: ids (some repeated, padded or blank), times (some
    /// bad), keys (some unknown) and text.
    fn rows(
        ids: &'static [&'static str],
        keys: &'static [&'static str],
    ) -> impl Strategy<Value = Vec<Row>> {
        let pick = |v: &'static [&'static str]| proptest::sample::select(v.to_vec());
        let time = prop_oneof![
            8 => pick(&["2026-01-05T09:00:00Z", "2026-02-06", "2026-03-07T10:30:00Z"]).prop_map(Some),
            1 => Just(Some("bad")),
            1 => Just(None),
        ];
        let row = (
            pick(ids),
            time,
            pick(keys).prop_map(Some),
            proptest::option::of(pick(&["r", " s "])),
        );
        proptest::collection::vec(row, 0..40)
    }

    const IDS: &[&str] = &[
        "L0", "L1", "L2", "L3", "L4", "L5", "L6", "L7", "L8", "L9", " L10", "",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Files of many row groups are read in two parts on two threads: the same
        /// leads, events, reports and errors as the general reader, whether the parts
        /// are clean or not (then the file is read again in one sequence).
        #[test]
        fn files_read_in_halves_are_the_general_readers(
            leads in rows(&["L", " L", "", "L"], &["a", "b", " c", ""]),
            events in rows(IDS, &["inquiry", "mql", " sal ", "won", "won", "mql", "bogus"]),
            group in 1..9usize,
            skip in any::<bool>(),
        ) {
            let dir = std::env::temp_dir().join(format!(
                "revops-halves-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let (lp, ep) = (dir.join("leads.parquet"), dir.join("stage_events.parquet"));
            let col = |rows: &[Row], k: usize| -> Vec<Option<String>> {
                rows.iter().map(|r| [Some(r.0), r.1, r.2, r.3][k].map(str::to_string)).collect()
            };
            // Lead ids: `L` numbered by row (unique), or blank.
            let ids: Vec<Option<String>> = leads
                .iter()
                .enumerate()
                .map(|(i, r)| Some(if r.0.trim().is_empty() { r.0.to_string() } else { format!("{}{i}", r.0) }))
                .collect();
            write(&lp, vec![("subject_id", ids), ("created_at", col(&leads, 1)), ("source", col(&leads, 2)), ("industry", col(&leads, 3))], group);
            write(&ep, vec![("subject_id", col(&events, 0)), ("at", col(&events, 1)), ("stage", col(&events, 2)), ("reason", col(&events, 3))], group);
            prop_assert_eq!(halves(&ep).is_some(), events.len() >= 2 && events.len() > group);
            let options = Options::new().with_on_error(if skip {
                crate::csv::OnError::SkipAndReport
            } else {
                crate::csv::OnError::Stop
            });
            let funnel = Funnel::demand_waterfall;
            let lean = FunnelData::read_leads_parquet(funnel(), &lp, options.clone(), &Breakdowns::All);
            let mut reader = Reader::<Lead>::from_path(&lp, options.clone()).unwrap();
            let records: Result<Vec<Lead>> = reader.by_ref().collect();
            let general = records.as_ref().map_err(ToString::to_string).map(|r| FunnelData::new(funnel(), r));
            let (d, g) = match (lean, general) {
                (Err(x), Err(y)) => return { prop_assert_eq!(x.to_string(), y); Ok(()) },
                (Err(x), Ok(Err(y))) => return { prop_assert_eq!(x.to_string(), y.to_string()); Ok(()) },
                (Ok((d, report)), Ok(Ok(g))) => {
                    prop_assert_eq!(&report, reader.report());
                    (d, g)
                }
                (a, b) => return Err(TestCaseError::fail(format!("{:?} vs {:?}", a.map(|x| x.1), b.map(|x| x.map(|_| ()))))),
            };
            prop_assert_eq!(d.fingerprint(), g.fingerprint());
            for i in 0..d.len() {
                let dim = crate::funnel::Dimension::Source;
                prop_assert_eq!((d.lead_id(i), d.created_at(i), d.value(i, &dim)), (g.lead_id(i), g.created_at(i), g.value(i, &dim)));
            }
            let mut x = FunnelEvents::new();
            let rx = x.read_stage_events_parquet(&d, &ep, options.clone());
            let mut r = Reader::<StageEvent>::from_path(&ep, options).unwrap();
            let records: Result<Vec<StageEvent>> = r.by_ref().collect();
            let mut y = FunnelEvents::new();
            let ry = records.and_then(|e| y.add_batch(&g, &e));
            match (rx, ry) {
                (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
                (Ok(read), Ok(())) => {
                    prop_assert_eq!(&read.report, r.report());
                    prop_assert_eq!(x, y);
                }
                (a, b) => prop_assert!(false, "{:?} vs {:?}", a, b),
            }
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}
