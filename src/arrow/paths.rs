//! Record batches of the paths table straight into [`Journeys`]: the rows in the
//! simple form are interned from the columns (the channel table of the `paths.csv`
//! reader), never built as a [`PathRow`]; any other row goes through the general
//! decoder.

use super::decode::Columns;
use super::{Decoder, RecordBatch};
use crate::attribution::{JourneyOptions, Journeys};
use crate::csv::paths::{PathSink, SimpleCounts};
use crate::csv::{Options, ReadReport};
use crate::error::Result;
use crate::records::PathRow;

/// Appends the record batches of a paths table (`path`, `total_conversions`,
/// `total_conversion_value`, `total_null`) to [`Journeys`], batch by batch: the same
/// journeys, errors (row, batch, column and reason, as [`ErrorKind::Arrow`](crate::error::ErrorKind::Arrow))
/// and [`ReadReport`] as a [`Decoder`]`<`[`PathRow`]`>` whose records of each batch
/// are added with [`Journeys::add_batch`], without a [`PathRow`] per row: a row in
/// the simple form (channel names with ASCII ends already seen, counts as floats,
/// integers or digits, the value as a Decimal128, an integer or digits) is read
/// from the columns and its channels found by name in one table; any other row is
/// decoded by the general decoder, which also names a bad row.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{ArrayRef, Decimal128Array, Int64Array, RecordBatch, StringArray};
/// use revops::arrow::JourneyDecoder;
/// use revops::attribution::{JourneyOptions, RuleModel};
/// use revops::csv::Options;
/// use revops::Currency;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let batch = RecordBatch::try_from_iter([
///     ("path", Arc::new(StringArray::from(vec!["search > email", "email"])) as ArrayRef),
///     ("total_conversions", Arc::new(Int64Array::from(vec![2, 1])) as ArrayRef),
///     ("total_conversion_value", Arc::new(Decimal128Array::from(vec![12_050, 3_000]).with_precision_and_scale(12, 2)?) as ArrayRef),
///     ("total_null", Arc::new(Int64Array::from(vec![3, 0])) as ArrayRef),
/// ])?;
/// let mut decoder = JourneyDecoder::new(
///     Options::new(),
///     JourneyOptions::default().with_currency(Currency::USD),
/// )?;
/// decoder.add(&batch)?;
/// let (journeys, report) = decoder.finish()?;
/// assert_eq!(report.records, 2);
/// assert_eq!(journeys.journey_count(), 6.0);
/// let first = journeys.attribute(&RuleModel::FirstTouch)?;
/// assert_eq!(first.channel("search").unwrap().conversions, 2.0);
/// # Ok(()) }
/// ```
pub struct JourneyDecoder {
    decoder: Decoder<PathRow>,
    sink: PathSink,
    /// The journeys the batches are appended to (empty until [`JourneyDecoder::finish`]).
    journeys: Journeys,
    separator: Vec<u8>,
}

impl std::fmt::Debug for JourneyDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JourneyDecoder")
            .field("decoder", &self.decoder)
            .finish_non_exhaustive()
    }
}

impl JourneyDecoder {
    /// A decoder of the paths table under `options` (source name, [`OnError`](crate::csv::OnError)
    /// policy, kept errors and path separator, as [`Decoder::new`]) into journeys
    /// of `journey_options` (as [`Journeys::new`]).
    ///
    /// # Errors
    /// As [`Decoder::new`] and [`Journeys::new`].
    pub fn new(options: Options, journey_options: JourneyOptions) -> Result<Self> {
        let separator = options.path_separator().as_bytes().to_vec();
        let decoder = Decoder::<PathRow>::new(options)?;
        let journeys = Journeys::new(journey_options)?;
        let sink = PathSink::new(&journeys.path_batch(), 0);
        Ok(JourneyDecoder {
            decoder,
            sink,
            journeys,
            separator,
        })
    }

    /// Appends the rows of `batch`.
    ///
    /// # Errors
    /// As [`Decoder::decode_with`] and [`Journeys::add_batch`]: the rows before the
    /// error stay added.
    pub fn add(&mut self, batch: &RecordBatch) -> Result<()> {
        add_paths(&mut self.decoder, &mut self.sink, &self.separator, batch)
    }

    /// What has been read so far: rows, records, skipped rows and their errors.
    pub fn report(&self) -> &ReadReport {
        self.decoder.report()
    }

    /// The journeys of the rows added, and the report.
    ///
    /// # Errors
    /// None today (kept for a merge that may refuse, as [`Journeys::merge`]).
    pub fn finish(self) -> Result<(Journeys, ReadReport)> {
        let JourneyDecoder {
            decoder,
            sink,
            mut journeys,
            ..
        } = self;
        // As `add_batch` does for every batch, even one of no rows.
        if decoder.batches > 0 {
            journeys.absorb_path_batch(sink.journeys)?;
        }
        Ok((journeys, decoder.report().clone()))
    }
}

/// Appends the rows of `batch` to `sink`, decoded by `decoder` where not simple.
pub(crate) fn add_paths(
    decoder: &mut Decoder<PathRow>,
    sink: &mut PathSink,
    separator: &[u8],
    batch: &RecordBatch,
) -> Result<()> {
    sink.journeys
        .reserve_paths(batch.num_rows(), batch.num_rows());
    decoder.decode_into(
        batch,
        sink,
        |sink, c, i| simple_row(sink, c, i, separator),
        |sink, r| sink.push_record(&r),
    )
}

/// Row `i` added when in the simple form; `Ok(false)` (nothing added) otherwise.
#[inline]
fn simple_row(sink: &mut PathSink, c: &Columns<'_>, i: usize, separator: &[u8]) -> Result<bool> {
    let c = &c.fixed;
    let (Some(conversions), Some(value), Some(nulls)) = (
        c[1].simple_count(i),
        c[2].simple_value(i),
        c[3].simple_count(i),
    ) else {
        return Ok(false);
    };
    if c[0].is_null(i) {
        return Ok(false);
    }
    sink.push_simple(
        c[0].bytes(i),
        separator,
        SimpleCounts(conversions, value, nulls),
    )
}

#[cfg(feature = "parquet")]
impl super::parquet::Reader<PathRow> {
    /// Reads the file's paths table (feature `parquet`) straight into journeys of
    /// `journey_options`, as a [`JourneyDecoder`] given each batch: the same
    /// journeys, errors and report as adding the records of each batch with
    /// [`Journeys::add_batch`]. The Parquet pages are read and decompressed on a
    /// second thread while the rows are added.
    ///
    /// ```
    /// use revops::arrow::parquet::{Reader, write_records};
    /// use revops::attribution::JourneyOptions;
    /// use revops::csv::Options;
    /// use revops::{Channel, Currency, Decimal, PathRow};
    /// # fn main() -> Result<(), revops::Error> {
    /// let path = vec![Channel::new("search")?, Channel::new("email")?];
    /// let rows = [PathRow::new(path, 2.0, Decimal::new(12_050, 2), 3.0)];
    /// let bytes = write_records(&rows, Vec::new(), &Options::new())?;
    /// let reader = Reader::<PathRow>::from_bytes(bytes, Options::new())?;
    /// let (journeys, report) = reader.read_journeys(JourneyOptions::default().with_currency(Currency::USD))?;
    /// assert_eq!((report.records, journeys.journey_count()), (1, 5.0));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`JourneyDecoder::new`] and [`JourneyDecoder::add`]; an
    /// [`ErrorKind::Io`](crate::error::ErrorKind::Io) naming the file when a batch
    /// cannot be read.
    pub fn read_journeys(self, journey_options: JourneyOptions) -> Result<(Journeys, ReadReport)> {
        let mut journeys = Journeys::new(journey_options)?;
        let mut sink = PathSink::new(&journeys.path_batch(), 0);
        let mut added = false;
        let report = super::funnel::pipelined(self, |decoder, batch| {
            added = true;
            let separator = decoder.options.path_separator().as_bytes().to_vec();
            add_paths(decoder, &mut sink, &separator, batch)
        })?;
        if added {
            journeys.absorb_path_batch(sink.journeys)?;
        }
        Ok((journeys, report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csv::OnError;
    use crate::money::Currency;
    use arrow_array::types::Int32Type;
    use arrow_array::{
        ArrayRef, Decimal128Array, DictionaryArray, Float64Array, Int64Array, StringArray,
    };
    use proptest::prelude::*;
    use std::sync::Arc;

    /// One cell of a count or value column: its number, or its text.
    #[derive(Debug, Clone)]
    enum Cell {
        Null,
        Num(i64),
        Float(f64),
        Text(String),
    }

    /// How a column is typed.
    #[derive(Debug, Clone, Copy)]
    enum Kind {
        Int,
        Float,
        Text,
        Decimal,
    }

    fn column(kind: Kind, cells: &[Cell]) -> ArrayRef {
        let num = |c: &Cell| match c {
            Cell::Num(v) => Some(*v),
            Cell::Float(f) => Some(*f as i64),
            Cell::Text(t) => t.trim().parse().ok(),
            Cell::Null => None,
        };
        match kind {
            Kind::Int => Arc::new(cells.iter().map(num).collect::<Int64Array>()),
            Kind::Decimal => Arc::new(
                cells
                    .iter()
                    .map(|c| num(c).map(|v| i128::from(v) * 10 + 5))
                    .collect::<Decimal128Array>()
                    .with_precision_and_scale(20, 3)
                    .unwrap(),
            ),
            Kind::Float => Arc::new(
                cells
                    .iter()
                    .map(|c| match c {
                        Cell::Float(f) => Some(*f),
                        c => num(c).map(|v| v as f64),
                    })
                    .collect::<Float64Array>(),
            ),
            Kind::Text => Arc::new(
                cells
                    .iter()
                    .map(|c| match c {
                        Cell::Null => None,
                        Cell::Num(v) => Some(v.to_string()),
                        Cell::Float(f) => Some(f.to_string()),
                        Cell::Text(t) => Some(t.clone()),
                    })
                    .collect::<StringArray>(),
            ),
        }
    }

    fn cell() -> impl Strategy<Value = Cell> {
        prop_oneof![
            6 => (0i64..5).prop_map(Cell::Num),
            1 => Just(Cell::Null),
            1 => (-3i64..0).prop_map(Cell::Num),
            1 => prop_oneof![Just(0.5), Just(-1.0), Just(f64::NAN), Just(2.0)].prop_map(Cell::Float),
            1 => prop_oneof![Just(" 2"), Just("x"), Just("1.50"), Just(""), Just("007"), Just("1e2")]
                .prop_map(|t| Cell::Text(t.to_string())),
        ]
    }

    fn path() -> impl Strategy<Value = Option<String>> {
        let name = prop_oneof![
            Just("a"),
            Just("b"),
            Just(" a "),
            Just("search engine"),
            Just("é"),
            Just("xé"),
            Just("c"),
            Just(""),
            Just("a\u{a0}"),
            Just("very-long-channel-name-here"),
        ];
        prop_oneof![
            8 => prop::collection::vec(name, 1..4).prop_map(|p| Some(p.join(">"))),
            1 => Just(None),
            1 => Just(Some("a>>b".to_string())),
        ]
    }

    fn kind() -> impl Strategy<Value = Kind> {
        prop_oneof![
            Just(Kind::Int),
            Just(Kind::Float),
            Just(Kind::Text),
            Just(Kind::Decimal)
        ]
    }

    type Row = (Option<String>, Cell, Cell, Cell);
    type Rows = Vec<Row>;

    fn batches(
        rows: &Rows,
        cut: usize,
        kinds: (Kind, Kind, Kind),
        dictionary: bool,
    ) -> Vec<RecordBatch> {
        let value_kind = match kinds.1 {
            Kind::Float => Kind::Decimal, // not a type the value column takes
            k => k,
        };
        rows.chunks(cut.max(1))
            .map(|rows| {
                let paths: Vec<Option<&str>> = rows.iter().map(|r| r.0.as_deref()).collect();
                let path: ArrayRef = if dictionary {
                    Arc::new(paths.into_iter().collect::<DictionaryArray<Int32Type>>())
                } else {
                    Arc::new(StringArray::from(paths))
                };
                let col = |k, f: &dyn Fn(&Row) -> Cell| {
                    column(k, &rows.iter().map(f).collect::<Vec<_>>())
                };
                RecordBatch::try_from_iter([
                    ("Path", path),
                    ("total_conversions", col(kinds.0, &|r| r.1.clone())),
                    ("total_conversion_value", col(value_kind, &|r| r.2.clone())),
                    (" total_null", col(kinds.2, &|r| r.3.clone())),
                ])
                .unwrap()
            })
            .collect()
    }

    /// Journeys (serialised, on success), error and report.
    type Outcome = (Option<String>, Option<String>, String);

    fn general(batches: &[RecordBatch], options: &Options) -> Outcome {
        let mut decoder = Decoder::<PathRow>::new(options.clone()).unwrap();
        let mut j = Journeys::new(JourneyOptions::default().with_currency(Currency::EUR)).unwrap();
        let mut rows = Vec::new();
        let r = batches.iter().try_for_each(|b| {
            rows.clear();
            decoder.decode(b, &mut rows)?;
            j.add_batch(&rows)
        });
        let journeys = r.is_ok().then(|| serde_json::to_string(&j).unwrap());
        (
            journeys,
            r.err().map(|e| e.to_string()),
            format!("{:?}", decoder.report()),
        )
    }

    fn lean(batches: &[RecordBatch], options: &Options) -> Outcome {
        let mut decoder = JourneyDecoder::new(
            options.clone(),
            JourneyOptions::default().with_currency(Currency::EUR),
        )
        .unwrap();
        let r = batches.iter().try_for_each(|b| decoder.add(b));
        let report = format!("{:?}", decoder.report());
        let (j, _) = decoder.finish().unwrap();
        let journeys = r.is_ok().then(|| serde_json::to_string(&j).unwrap());
        (journeys, r.err().map(|e| e.to_string()), report)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// The lean fold is the general decoder with `add_batch`: the same journeys,
        /// the same error (message, row, batch, column) and the same report, over
        /// plain and dictionary paths and every count and value type.
        #[test]
        fn lean_fold_is_the_general_decoder(
            rows in prop::collection::vec((path(), cell(), cell(), cell()), 0..40),
            cut in 1usize..12,
            kinds in (kind(), kind(), kind()),
            dictionary in any::<bool>(),
            skip in any::<bool>(),
            separator in prop_oneof![Just(">"), Just(" > ")],
        ) {
            let on_error = if skip { OnError::SkipAndReport } else { OnError::Stop };
            let options = Options::new()
                .with_on_error(on_error)
                .with_kept_errors(2)
                .with_path_separator(separator);
            let b = batches(&rows, cut, kinds, dictionary);
            prop_assert_eq!(lean(&b, &options), general(&b, &options));
        }
    }

    #[test]
    fn no_batches_are_new_journeys() {
        let options = Options::new();
        assert_eq!(lean(&[], &options), general(&[], &options));
        let b = batches(&Vec::new(), 1, (Kind::Int, Kind::Int, Kind::Int), false);
        assert_eq!(lean(&b, &options), general(&b, &options));
    }
}
