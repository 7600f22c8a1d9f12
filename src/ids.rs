//! Identifier newtypes: [`LeadId`], [`OpportunityId`], [`AccountId`], [`SubjectId`],
//! [`Channel`] and [`CampaignId`].
//!
//! Each wraps a shared, immutable string (`Arc<str>`), so cloning is a reference-count
//! increment rather than a copy. They serialise as plain strings, display as the
//! string, and parse from any non-empty string (surrounding whitespace is trimmed).

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
}
