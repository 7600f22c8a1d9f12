//! What can go wrong, in detail: [`ErrorKind`] (match on it through
//! [`Error::kind`](crate::Error::kind)), [`RecordRef`] (which input record) and
//! [`Source`] (an underlying I/O or JSON error, kept as the error's source).
//!
//! Every fallible function in revops returns [`Result`], whose error is
//! the single [`Error`]: one pointer wide, so that a `Result<()>` costs
//! no more than a pointer, and carrying a boxed [`ErrorKind`] whose variants hold the
//! structured context (which record, which field, what was expected and what was
//! found) so that a caller can both show a clear message and react programmatically.

use std::fmt;
use std::sync::Arc;

pub(crate) use value::{Error, Result};

/// The most characters of one value (an id, a code, a field as read) that an error
/// message repeats: a longer value is cut there and ends with `…`, so that a message
/// stays short however large the input that caused it.
pub(crate) const EXCERPT_CHARS: usize = 40;

/// Displays the first [`EXCERPT_CHARS`] characters of a value repeated in an error
/// message (and `…` if it is longer). Every value an [`Error`] message echoes goes
/// through it; code that builds a reason from input uses it (or
/// `csv::parse::excerpt` for bytes) too.
pub(crate) struct Excerpt<'a>(pub(crate) &'a str);

impl fmt::Display for Excerpt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(EXCERPT_CHARS) {
            Some((cut, _)) => write!(f, "{}…", &self.0[..cut]),
            None => f.write_str(self.0),
        }
    }
}

/// Identifies one input record in an error: its kind, its position in the input
/// (when known) and its id (when it has one).
///
/// ```
/// use revops::error::RecordRef;
/// let r = RecordRef::new("lead").with_index(3).with_id("L-42");
/// assert_eq!(r.to_string(), "lead #3 (id L-42)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordRef {
    /// The kind of record, e.g. `"lead"`, `"spend"`, `"stage event"`.
    pub kind: &'static str,
    /// Zero-based position of the record in the input slice or file, if known.
    pub index: Option<usize>,
    /// The record's identifier, if it has one.
    pub id: Option<String>,
}

impl RecordRef {
    /// A reference to a record of the given kind, without position or id yet.
    pub fn new(kind: &'static str) -> Self {
        RecordRef {
            kind,
            index: None,
            id: None,
        }
    }

    /// Sets the record's zero-based position in its input.
    #[must_use]
    pub fn with_index(mut self, index: usize) -> Self {
        self.index = Some(index);
        self
    }

    /// Sets the record's identifier.
    #[must_use]
    pub fn with_id(mut self, id: impl fmt::Display) -> Self {
        self.id = Some(id.to_string());
        self
    }
}

impl fmt::Display for RecordRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind)?;
        if let Some(i) = self.index {
            write!(f, " #{i}")?;
        }
        if let Some(id) = &self.id {
            write!(f, " (id {})", Excerpt(id))?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in revops: the detail of an [`Error`],
/// reached with [`Error::kind`](crate::Error::kind).
///
/// The enum is `#[non_exhaustive]`: new variants may be added in minor releases.
///
/// ```
/// use revops::error::ErrorKind;
/// use revops::{Currency, Money};
///
/// let err = Money::parse("12.50", Currency::USD)?
///     .checked_add(&Money::parse("1", Currency::EUR)?)
///     .unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::CurrencyMismatch { .. }));
/// # Ok::<(), revops::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Two amounts in different currencies were combined.
    #[error("currency mismatch: expected {}, got {}", Excerpt(.expected), Excerpt(.got))]
    CurrencyMismatch {
        /// The currency the operation was working in.
        expected: String,
        /// The currency that was offered.
        got: String,
    },

    /// A currency code that revops does not know, given without its minor units.
    #[error(
        "unknown currency code `{}`: give its number of minor units explicitly (e.g. `{}:2`)",
        Excerpt(.code),
        Excerpt(.code)
    )]
    UnknownCurrency {
        /// The code as given.
        code: String,
    },

    /// A malformed currency code (not three ASCII letters) or minor-unit count.
    #[error("invalid currency `{}`: {reason}", Excerpt(.code))]
    InvalidCurrency {
        /// The code as given.
        code: String,
        /// What is wrong with it.
        reason: String,
    },

    /// An arithmetic result does not fit the number type.
    #[error("arithmetic overflow in {operation}")]
    Overflow {
        /// The operation that overflowed, e.g. `"money addition"`.
        operation: &'static str,
    },

    /// An input is larger than a documented limit of an engine. Limits guard work
    /// that grows faster than the input (a dense matrix, all pairs of channels); they
    /// are checked before anything is allocated, and most can be raised through the
    /// option named in `limit`.
    #[error("{what} = {value} exceeds the limit `{limit}` = {max}: {reason}")]
    LimitExceeded {
        /// The limit, as the option that sets it (e.g. `"MarkovOptions::max_states"`).
        limit: &'static str,
        /// What was counted (e.g. `"Markov chain states"`).
        what: &'static str,
        /// The count found.
        value: u64,
        /// The limit in force.
        max: u64,
        /// What the limit protects, and how to go beyond it.
        reason: String,
    },

    /// A weight given to an allocation or a model is negative, non-finite or unusable.
    #[error("invalid weight #{index} ({}): {reason}", Excerpt(.value))]
    InvalidWeight {
        /// Position of the weight.
        index: usize,
        /// The weight as text.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// An allocation was asked with no weights, or weights that are all zero.
    #[error("cannot allocate over {count} weights that sum to zero")]
    ZeroWeights {
        /// How many weights were given.
        count: usize,
    },

    /// A function parameter is out of its documented range.
    #[error("invalid parameter `{name}` = {}: {reason}", Excerpt(.value))]
    InvalidParameter {
        /// Parameter name.
        name: &'static str,
        /// The value as text.
        value: String,
        /// What the valid range is, or why the value is rejected.
        reason: String,
    },

    /// A field of an input record is invalid.
    #[error("{record}: field `{field}`: {reason}")]
    InvalidField {
        /// Which record.
        record: RecordRef,
        /// Which field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },

    /// A time range ends before it starts.
    #[error("{record}: period ends ({}) before it starts ({})", Excerpt(.end), Excerpt(.start))]
    InvalidPeriod {
        /// Which record (or parameter) holds the range.
        record: RecordRef,
        /// Start as text.
        start: String,
        /// End as text.
        end: String,
    },

    /// A record refers to a stage key that the funnel does not define.
    #[error("{record}: unknown stage `{}` (funnel `{}`)", Excerpt(.key), Excerpt(.funnel))]
    UnknownStage {
        /// Which record refers to the stage.
        record: RecordRef,
        /// The stage key as given.
        key: String,
        /// The funnel's name.
        funnel: String,
    },

    /// Two stages of one funnel share a key.
    #[error("funnel `{}`: duplicate stage key `{}` at positions {first} and {second}", Excerpt(.funnel), Excerpt(.key))]
    DuplicateStage {
        /// The funnel's name.
        funnel: String,
        /// The repeated key.
        key: String,
        /// Position of the first occurrence.
        first: usize,
        /// Position of the repeat.
        second: usize,
    },

    /// A funnel definition breaks a structural rule (no won stage, no stages, ...).
    #[error("funnel `{}`: {reason}", Excerpt(.funnel))]
    InvalidFunnel {
        /// The funnel's name.
        funnel: String,
        /// Which rule is broken.
        reason: String,
    },

    /// Two records share an identifier that must be unique.
    #[error("duplicate {kind} id `{}` at records #{first} and #{second}", Excerpt(.id))]
    DuplicateId {
        /// The kind of record.
        kind: &'static str,
        /// The repeated id.
        id: String,
        /// Position of the first occurrence.
        first: usize,
        /// Position of the repeat.
        second: usize,
    },

    /// A row of a delimited text file (CSV) could not be read.
    #[error(
        "{source_name} line {line}{}: {reason}",
        .column.as_ref().map(|c| format!(", column `{}`", Excerpt(c))).unwrap_or_default()
    )]
    Csv {
        /// The file name or schema being read (e.g. `"stage_events.csv"`).
        source_name: String,
        /// One-based line number in the file (the header is line 1).
        line: u64,
        /// The column, when the problem is in one field.
        column: Option<String>,
        /// What is wrong.
        reason: String,
    },

    /// A row of an Arrow record batch or a Parquet file could not be read (features
    /// `arrow`, `parquet`).
    #[error(
        "{source_name} row {row} (batch {batch}){}: {reason}",
        .column.as_ref().map(|c| format!(", column `{}`", Excerpt(c))).unwrap_or_default()
    )]
    Arrow {
        /// The file name, or the name the caller gave the batches (by default the
        /// table's Parquet file name, e.g. `"stage_events.parquet"`).
        source_name: String,
        /// Zero-based row index counted across all the batches read (for a problem
        /// with a batch's columns, its first row).
        row: u64,
        /// Zero-based index of the batch holding the row.
        batch: u64,
        /// The column, when the problem is in one column.
        column: Option<String>,
        /// What is wrong.
        reason: String,
    },

    /// Two partial states of an accumulator cannot be merged: they were built under
    /// different options, currencies or definitions (see
    /// [`Accumulator::merge`](crate::Accumulator::merge)).
    #[error("cannot merge {what}: {reason}")]
    MergeMismatch {
        /// The accumulator, e.g. `"MarkovCounts"`.
        what: &'static str,
        /// What differs between the two partial states.
        reason: String,
    },

    /// Reading or writing failed at the operating-system level (adapters only; the
    /// core does no I/O). `context` names what was being read or written, when known.
    #[error("I/O: {}{source}", .context.as_ref().map(|c| format!("{c}: ")).unwrap_or_default())]
    Io {
        /// What was being read or written (a file name), when known.
        context: Option<String>,
        /// The operating system's error.
        #[source]
        source: Source<std::io::Error>,
    },

    /// JSON (de)serialisation failed.
    #[error("JSON: {source}")]
    Json {
        /// The serialiser's error, with line and column.
        #[source]
        source: Source<serde_json::Error>,
    },
}

/// The error for an input beyond a fixed capacity of the engines' dense indices
/// (32-bit ids, journeys, channel sets): a [`ErrorKind::LimitExceeded`] that says to split
/// the input and merge the partial states, which is what those limits allow.
pub(crate) fn capacity(what: &'static str, value: usize, max: u64) -> value::Error {
    value::Error::from(ErrorKind::LimitExceeded {
        limit: "32-bit indices (fixed)",
        what,
        value: value as u64,
        max,
        reason: "the engines index records with 32-bit integers; split the input and merge \
                 the partial states"
            .into(),
    })
}

/// An underlying error kept as the [`source`](std::error::Error::source) of an
/// [`ErrorKind`], shared so that the error stays cheap to clone. Two sources are equal
/// when their messages are.
#[derive(Debug)]
pub struct Source<E>(Arc<E>);

impl<E> Source<E> {
    /// Wraps an underlying error.
    pub fn new(error: E) -> Self {
        Source(Arc::new(error))
    }

    /// The underlying error.
    pub fn get(&self) -> &E {
        &self.0
    }
}

impl<E> Clone for Source<E> {
    fn clone(&self) -> Self {
        Source(Arc::clone(&self.0))
    }
}

impl<E: fmt::Display> PartialEq for Source<E> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.to_string() == other.0.to_string()
    }
}

impl<E: fmt::Display> fmt::Display for Source<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: std::error::Error + 'static> std::error::Error for Source<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// The error value itself: one pointer wide, holding a boxed [`ErrorKind`].
pub(crate) mod value {
    use std::fmt;

    use super::ErrorKind;

    /// Result type used throughout revops: `Result<T, revops::Error>` by default.
    pub type Result<T, E = Error> = std::result::Result<T, E>;

    /// Everything that can go wrong in revops, in one pointer: the detail is its
    /// [`kind`](Error::kind), an [`ErrorKind`] with the structured context (which
    /// record, which field, what was expected and what was found).
    ///
    /// `Display` gives the full message; [`source`](std::error::Error::source) gives the
    /// underlying I/O or JSON error when there is one.
    ///
    /// ```
    /// use revops::error::ErrorKind;
    /// use revops::LeadId;
    ///
    /// let err = LeadId::new("  ").unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::InvalidParameter { name: "lead id", .. }));
    /// assert_eq!(std::mem::size_of::<revops::Error>(), std::mem::size_of::<usize>());
    /// ```
    #[derive(Clone, PartialEq)]
    pub struct Error(Box<ErrorKind>);

    impl Error {
        /// What went wrong, to match on.
        pub fn kind(&self) -> &ErrorKind {
            &self.0
        }

        /// What went wrong, to amend (e.g. to add a record's position).
        pub(crate) fn kind_mut(&mut self) -> &mut ErrorKind {
            &mut self.0
        }

        /// What went wrong, by value.
        pub fn into_kind(self) -> ErrorKind {
            *self.0
        }

        /// Attaches a record position to errors that name a record and do not have one
        /// yet.
        ///
        /// Useful when a record's own `validate()` is called by code that knows where
        /// the record sits in its input:
        ///
        /// ```
        /// use revops::error::ErrorKind;
        /// use revops::error::RecordRef;
        /// use revops::Error;
        /// let e = Error::from(ErrorKind::InvalidField {
        ///     record: RecordRef::new("spend").with_id("paid_search"),
        ///     field: "amount",
        ///     reason: "negative".into(),
        /// });
        /// assert_eq!(e.at_index(7).to_string(), "spend #7 (id paid_search): field `amount`: negative");
        /// ```
        #[must_use]
        pub fn at_index(mut self, index: usize) -> Self {
            if let ErrorKind::InvalidField { record, .. }
            | ErrorKind::InvalidPeriod { record, .. }
            | ErrorKind::UnknownStage { record, .. } = &mut *self.0
            {
                record.index.get_or_insert(index);
            }
            self
        }
    }

    impl From<ErrorKind> for Error {
        fn from(kind: ErrorKind) -> Self {
            Error(Box::new(kind))
        }
    }

    impl fmt::Debug for Error {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.0.fmt(f)
        }
    }

    impl fmt::Display for Error {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.0.fmt(f)
        }
    }

    impl std::error::Error for Error {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            std::error::Error::source(&*self.0)
        }
    }

    impl From<std::io::Error> for Error {
        fn from(e: std::io::Error) -> Self {
            Error::from(ErrorKind::Io {
                context: None,
                source: super::Source::new(e),
            })
        }
    }

    impl From<serde_json::Error> for Error {
        fn from(e: serde_json::Error) -> Self {
            Error::from(ErrorKind::Json {
                source: super::Source::new(e),
            })
        }
    }
}
