//! Why one structure inside a container could not be read: the typed error the parsers pass
//! between their own functions. Parsing never stops on it: each ends up as a diagnostic naming the
//! place (and, for [`ReadError::Limit`], a cut).

use thiserror::Error;

use crate::Limit;

/// A structure of a container that could not be read, and why.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub(crate) enum ReadError {
    /// A structure lies, wholly or in part, past the end of the data.
    #[error("{what} at {offset:#x} lies past the end of the image")]
    PastEnd {
        /// What (`metadata block`, `inode 12`).
        what: String,
        /// Where it starts.
        offset: u64,
    },
    /// A structure stops before its format says it ends.
    #[error("{0} is truncated")]
    Truncated(&'static str),
    /// A number read from the input does not fit where it must be used.
    #[error("{what} {value} is out of range")]
    OutOfRange {
        /// What (`block`, `file size`).
        what: &'static str,
        /// The number.
        value: u64,
    },
    /// A field holds a value its format does not allow.
    #[error("{what} {value}: {rule}")]
    Invalid {
        /// The field.
        what: &'static str,
        /// Its value, as the format shows it.
        value: String,
        /// What the format allows.
        rule: &'static str,
    },
    /// A type or method the format defines but that is not known here.
    #[error("{what} {value} is not known")]
    Unknown {
        /// What (`inode type`, `compression type`).
        what: &'static str,
        /// Its value.
        value: u64,
    },
    /// A feature the reader does not implement.
    #[error("{0} is not supported")]
    Unsupported(String),
    /// Structures that loop or repeat past what a sound image holds.
    #[error("{0} (a loop)")]
    Loop(&'static str),
    /// Data decoded to another size than its structure states.
    #[error("{what} holds {found} bytes where {expected} were expected")]
    Size {
        /// What (`block`, `data node`).
        what: &'static str,
        /// The size it must have.
        expected: u64,
        /// The size it has.
        found: u64,
    },
    /// Compressed data that does not decode.
    #[error("{0}")]
    Decode(String),
    /// A limit refused the memory the structure needs.
    #[error("not read: {0}")]
    Limit(Limit),
    /// Another error, with where it happened (`metadata block at 0x1234`).
    #[error("{at}: {source}")]
    At {
        /// Where.
        at: String,
        /// What went wrong there.
        #[source]
        source: Box<ReadError>,
    },
}

impl ReadError {
    /// This error, said to happen `at` a place.
    pub(crate) fn at(self, at: impl Into<String>) -> Self {
        ReadError::At {
            at: at.into(),
            source: Box::new(self),
        }
    }

    /// A decoder's error, kept as its message.
    pub(crate) fn decode(err: &impl std::fmt::Display) -> Self {
        ReadError::Decode(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_place() {
        let err = ReadError::PastEnd {
            what: "block".into(),
            offset: 0x40,
        }
        .at("data block 3");
        assert_eq!(
            err.to_string(),
            "data block 3: block at 0x40 lies past the end of the image"
        );
        assert_eq!(
            ReadError::Limit(Limit::TotalBytes).to_string(),
            "not read: total output limit (`--max-total-bytes`) reached"
        );
    }
}
