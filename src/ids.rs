//! Identifier newtypes: [`LeadId`], [`OpportunityId`], [`AccountId`], [`SubjectId`],
//! [`Channel`] and [`CampaignId`].
//!
//! Each wraps a shared, immutable string (`Arc<str>`), so cloning is a reference-count
//! increment rather than a copy. They serialise as plain strings, display as the
//! string, and parse from any non-empty string (surrounding whitespace is trimmed).
//! A literal needs no `?`: [`id!`](crate::id) checks it at compile time. A lead,
//! opportunity or account id converts into (and compares equal to) the
//! [`SubjectId`] with the same text, and every id compares with a `&str`.

use crate::error::ErrorKind;
use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        ///
        #[doc = concat!("A literal id needs no `?`: [`id!`](crate::id) checks at compile time that it is not blank (`let id: ", stringify!($name), " = revops::id!(\"x-1\");`); text known only at run time goes through [`", stringify!($name), "::new`] or `parse`, which return an error for a blank id. The id compares equal to a string with the same text (`id == \"x-1\"`).")]
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Arc<str>);

        impl $name {
            /// Creates the id from a string; surrounding whitespace is trimmed.
            ///
            /// # Errors
            /// [`ErrorKind::InvalidParameter`](crate::error::ErrorKind::InvalidParameter) if the string is empty after trimming.
            pub fn new(id: impl AsRef<str>) -> Result<Self> {
                let t = id.as_ref().trim();
                if t.is_empty() {
                    return Err(Error::from(ErrorKind::InvalidParameter {
                        name: $kind,
                        value: format!("{:?}", id.as_ref()),
                        reason: "an id must not be empty".into(),
                    }));
                }
                Ok($name(Arc::from(t)))
            }

            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), &*self.0)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                $name::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(s: String) -> Result<Self> {
                $name::new(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = Error;
            fn try_from(s: &str) -> Result<Self> {
                $name::new(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0.to_string()
            }
        }

        /// From an [`id!`](crate::id) literal, checked not blank at compile time.
        impl From<IdLiteral> for $name {
            fn from(lit: IdLiteral) -> $name {
                $name(Arc::from(lit.0.trim()))
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                &*self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                &*self.0 == *other
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// Identifies a lead (a person or company that entered the demand waterfall).
    ///
    /// ```
    /// use revops::LeadId;
    /// # fn main() -> Result<(), revops::Error> {
    /// let id: LeadId = " L-001 ".parse()?;
    /// assert_eq!(id.as_str(), "L-001");
    /// assert!(LeadId::new("  ").is_err());
    /// let literal: LeadId = revops::id!("L-001"); // checked at compile time, no `?`
    /// assert_eq!(literal, id);
    /// assert_eq!(literal, "L-001");
    /// # Ok(()) }
    /// ```
    LeadId,
    "lead id"
);
id_type!(
    /// Identifies an opportunity (a deal in the sales pipeline).
    OpportunityId,
    "opportunity id"
);
id_type!(
    /// Identifies an account (the customer company).
    AccountId,
    "account id"
);
id_type!(
    /// Identifies whatever moves through a funnel or receives touches: a lead, an
    /// opportunity or an account. Convert from the specific ids with `From`.
    ///
    /// ```
    /// use revops::{LeadId, SubjectId};
    /// # fn main() -> Result<(), revops::Error> {
    /// let s = SubjectId::from(LeadId::new("L-1")?);
    /// assert_eq!(s.as_str(), "L-1");
    /// # Ok(()) }
    /// ```
    SubjectId,
    "subject id"
);
id_type!(
    /// A marketing or sales channel (`"paid_search"`, `"webinar"`, `"outbound"` ...):
    /// the source of a lead and the medium of a touch.
    Channel,
    "channel"
);
id_type!(
    /// Identifies a campaign within a channel.
    CampaignId,
    "campaign id"
);

/// An id literal checked at compile time, made only by [`id!`](crate::id) and
/// converted into any id type with `From`. Not part of the API: it has no public
/// path.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct IdLiteral(&'static str);

impl SubjectId {
    /// Used by [`id!`](crate::id) inside a `const` block: the literal if it is not
    /// blank, else `None` (which the macro turns into a compile error). Not part of
    /// the API.
    #[doc(hidden)]
    pub const fn __literal(text: &'static str) -> Option<IdLiteral> {
        if is_blank(text) {
            None
        } else {
            Some(IdLiteral(text))
        }
    }
}

/// Whether `s` is empty or only whitespace (as [`str::trim`] sees it), in a `const`
/// context: the UTF-8 is decoded by hand because `str::chars` is not `const`.
const fn is_blank(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let b0 = b[i] as u32;
        let (code, len) = if b0 < 0x80 {
            (b0, 1)
        } else if b0 < 0xE0 {
            (((b0 & 0x1F) << 6) | (b[i + 1] as u32 & 0x3F), 2)
        } else if b0 < 0xF0 {
            (
                ((b0 & 0x0F) << 12) | ((b[i + 1] as u32 & 0x3F) << 6) | (b[i + 2] as u32 & 0x3F),
                3,
            )
        } else {
            (
                ((b0 & 0x07) << 18)
                    | ((b[i + 1] as u32 & 0x3F) << 12)
                    | ((b[i + 2] as u32 & 0x3F) << 6)
                    | (b[i + 3] as u32 & 0x3F),
                4,
            )
        };
        match char::from_u32(code) {
            Some(c) if c.is_whitespace() => i += len,
            _ => return false,
        }
    }
    true
}

/// An id from a string literal, with no `?`: the literal is checked **at compile
/// time** (a blank literal does not compile), and the value converts into whichever
/// id type the context asks for — [`LeadId`], [`SubjectId`], [`OpportunityId`],
/// [`AccountId`], [`Channel`] or [`CampaignId`]. Surrounding whitespace is trimmed,
/// as [`LeadId::new`] does. Text known only at run time goes through `new` or
/// `parse`, which return an error instead.
///
/// ```
/// use revops::{Channel, LeadId, Lead, StageEvent, Touch, chrono::{TimeZone, Utc}, id};
/// let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
/// let lead: LeadId = id!("L-1");
/// let touch = Touch::new(&lead, id!("paid_search"), at);
/// let event = StageEvent::new(&lead, "mql", at);
/// let first = Lead::new(id!("L-1"), at).with_source(id!("webinar"));
/// assert_eq!(touch.subject, lead);
/// assert_eq!(event.subject, "L-1");
/// assert_eq!(first.source, Some(Channel::new("webinar").unwrap()));
/// ```
///
/// Where the target is a generic parameter — the subject of [`StageEvent::new`],
/// [`Touch::new`] and [`Conversion::new`] is any `impl Into<SubjectId>`, so that a
/// lead's own [`LeadId`] passes as it is — the compiler cannot tell which id type a
/// literal is meant to be: bind it with its type first, as above (which also reads
/// well when several records share the lead).
///
/// A blank literal is a compile error, not a run-time panic:
///
/// ```compile_fail,E0080
/// let blank: revops::LeadId = revops::id!("  ");
/// ```
///
/// [`StageEvent::new`]: crate::StageEvent::new
/// [`Touch::new`]: crate::Touch::new
/// [`Conversion::new`]: crate::Conversion::new
#[macro_export]
macro_rules! id {
    ($literal:literal) => {
        ::core::convert::Into::into(
            const {
                match $crate::SubjectId::__literal($literal) {
                    ::core::option::Option::Some(literal) => literal,
                    ::core::option::Option::None => {
                        ::core::panic!("revops::id!: an id literal must not be blank")
                    }
                }
            },
        )
    };
}

macro_rules! subject_from {
    ($($t:ident),*) => {$(
        impl From<$t> for SubjectId {
            fn from(id: $t) -> SubjectId {
                SubjectId(id.0)
            }
        }
        impl From<&$t> for SubjectId {
            fn from(id: &$t) -> SubjectId {
                SubjectId(Arc::clone(&id.0))
            }
        }
    )*};
}
subject_from!(LeadId, OpportunityId, AccountId);

/// A borrowed subject id gives a clone (a reference-count increment), so a record
/// constructor taking `impl Into<SubjectId>` accepts `&SubjectId` as it accepts
/// `&LeadId`.
impl From<&SubjectId> for SubjectId {
    fn from(id: &SubjectId) -> SubjectId {
        id.clone()
    }
}

/// A lead, opportunity or account id equals the subject id with the same text (and
/// back), so a record's subject compares with the lead's own id directly.
macro_rules! subject_eq {
    ($($t:ident),*) => {$(
        impl PartialEq<$t> for SubjectId {
            fn eq(&self, other: &$t) -> bool {
                self.0 == other.0
            }
        }
        impl PartialEq<SubjectId> for $t {
            fn eq(&self, other: &SubjectId) -> bool {
                self.0 == other.0
            }
        }
    )*};
}
subject_eq!(LeadId, OpportunityId, AccountId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_trim_reject_empty_and_round_trip() {
        let c = Channel::new(" webinar ").unwrap();
        assert_eq!(c.to_string(), "webinar");
        assert_eq!(format!("{c:?}"), "Channel(\"webinar\")");
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"webinar\"");
        assert_eq!(serde_json::from_str::<Channel>("\"webinar\"").unwrap(), c);
        assert!(serde_json::from_str::<Channel>("\"\"").is_err());
        assert!(matches!(
            OpportunityId::new("").map_err(|e| e.into_kind()),
            Err(ErrorKind::InvalidParameter {
                name: "opportunity id",
                ..
            })
        ));
        let o = OpportunityId::new("006A").unwrap();
        assert_eq!(SubjectId::from(&o).as_str(), "006A");
    }

    /// The compile-time check of `id!` agrees with `new` (`str::trim`) on every
    /// character of every UTF-8 width, alone and around text.
    #[test]
    fn literal_blankness_agrees_with_trim() {
        let mut buf = [0u8; 4];
        for c in (0..=0x10_FFFF).filter_map(char::from_u32) {
            let s = c.encode_utf8(&mut buf);
            assert_eq!(is_blank(s), s.trim().is_empty(), "{s:?}");
        }
        for c in [
            'a', 'é', '\u{85}', '\u{a0}', '\u{2003}', '\u{3000}', '€', '😀',
        ] {
            for s in [
                format!(" {c}\t"),
                format!("{c}{c}x"),
                format!("\u{2028}{c}"),
            ] {
                assert_eq!(is_blank(&s), s.trim().is_empty(), "{s:?}");
            }
        }
        assert!(is_blank(""));
        assert!(SubjectId::__literal("\u{3000}\u{2028} ").is_none());
        let lit = SubjectId::__literal(" L-1\u{a0}").unwrap();
        assert_eq!(LeadId::from(lit), LeadId::new("L-1").unwrap());
    }
}
