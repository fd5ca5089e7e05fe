//! The one error type of consign-sbom.

/// Why an SBOM could not be read or an input to the writer was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SbomError {
    /// The document is larger than the limit.
    #[error("the SBOM is {len} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit ([`crate::ReadLimits::max_bytes`]).
        limit: usize,
    },
    /// The document nests arrays and objects deeper than the limit.
    #[error("the SBOM nests arrays and objects deeper than {limit} levels at byte offset {offset}")]
    TooDeep {
        /// The limit ([`crate::ReadLimits::max_depth`]).
        limit: usize,
        /// Where the limit was passed.
        offset: usize,
    },
    /// The document is not JSON.
    #[error("the SBOM is not valid JSON at line {line}, column {column}")]
    Json {
        /// Line, from 1.
        line: usize,
        /// Column, from 1.
        column: usize,
        /// What the parser said.
        #[source]
        source: serde_json::Error,
    },
    /// The strict JSON reader refused the document (a key repeated at any depth, named by its
    /// JSON pointer).
    #[error("the SBOM is not strict JSON: {0}")]
    Strict(consign_model::json::JsonError),
    /// A field has the wrong type or value for what consign needs from it.
    #[error("`{pointer}` {problem}")]
    Field {
        /// JSON pointer of the field (`/specVersion`).
        pointer: String,
        /// What is wrong, and what to do.
        problem: String,
    },
    /// A serial number given by the caller is not a UUID.
    #[error(
        "`{text}` is not a serial number of the form `urn:uuid:` followed by a lower-case UUID"
    )]
    SerialNumber {
        /// The rejected text, cut to 80 characters.
        text: String,
    },
    /// A timestamp given by the caller is not `YYYY-MM-DDTHH:MM:SSZ`.
    #[error("`{text}` is not a UTC timestamp written `YYYY-MM-DDTHH:MM:SSZ`")]
    Timestamp {
        /// The rejected text, cut to 80 characters.
        text: String,
    },
}

/// Cuts untrusted text for an error message.
pub(crate) fn excerpt(text: &str) -> String {
    text.chars().take(80).collect()
}
