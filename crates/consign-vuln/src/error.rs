//! The one error type of consign-vuln. Every variant names the file and, inside a document, the
//! JSON pointer of the offending value.

use std::path::PathBuf;

/// Why a source, SBOM, VEX document or database could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VulnError {
    /// A file or folder could not be read.
    #[error("cannot {action} `{}`", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A signed or verified document (SBOM, VEX) is refused by the strict JSON reader: a key
    /// repeated at any depth, nesting past the limit, or not JSON.
    #[error("`{file}`: {source}")]
    StrictJson {
        /// The file.
        file: String,
        /// The cause, with its JSON pointer or offset.
        #[source]
        source: consign_model::json::JsonError,
    },
    /// A document is not valid JSON, or a value has the wrong type.
    #[error("`{file}`: {}: not a valid {what}", at(pointer))]
    Json {
        /// The file (and member of an archive).
        file: String,
        /// JSON pointer of the value (empty for the document).
        pointer: String,
        /// What the document was read as (`NVD CVE record`, `OSV record`).
        what: &'static str,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A YAML document could not be read.
    #[error("`{file}`: not valid YAML within the limits")]
    Yaml {
        /// The file.
        file: String,
        /// The cause (boxed: the parser's error is large).
        #[source]
        source: Box<serde_saphyr::Error>,
    },
    /// A value is well-formed but breaks a rule of its format.
    #[error("`{file}`: {}: {reason}", at(pointer))]
    Invalid {
        /// The file.
        file: String,
        /// JSON pointer of the value (or `line N` for CSV).
        pointer: String,
        /// What is wrong and what was expected.
        reason: String,
    },
    /// Something is larger than a limit.
    #[error("`{file}`: {what} is over the limit of {limit}")]
    TooLarge {
        /// The file.
        file: String,
        /// What was measured (`the file (3 GiB)`, `record 12`).
        what: String,
        /// The limit.
        limit: String,
    },
    /// A compressed file could not be decompressed.
    #[error("`{file}`: cannot decompress")]
    Decompress {
        /// The file.
        file: String,
        /// The cause.
        #[source]
        source: consign_unpack::decompress::DecompressError,
    },
    /// A file is none of the formats consign reads here.
    #[error("`{file}`: {reason}\n\nhint: {hint}")]
    Unrecognised {
        /// The file.
        file: String,
        /// What it looks like.
        reason: String,
        /// What to give instead.
        hint: String,
    },
    /// The database could not be opened, read or written.
    #[error("vulnerability database `{}`: cannot {action}", path.display())]
    Database {
        /// The database file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// The database was written by a newer consign, or is not a consign database.
    #[error(
        "vulnerability database `{}`: {reason}\n\nhint: rebuild it with `consign vuln db import --db {} PATH...`",
        path.display(),
        path.display()
    )]
    DatabaseFormat {
        /// The database file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// There is no database where one was expected.
    #[error(
        "no vulnerability database at `{}`\n\nhint: build one offline with `consign vuln db import --db {} PATH...` (NVD CVE 2.0 JSON, OSV, the CISA KEV catalogue, EPSS CSV)",
        path.display(),
        path.display()
    )]
    NoDatabase {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// An SBOM could not be read for matching.
    #[error("`{file}`: {reason}")]
    Sbom {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },
}

fn at(pointer: &str) -> String {
    if pointer.is_empty() {
        "the document".to_owned()
    } else if pointer.starts_with('/') {
        format!("at `{pointer}`")
    } else {
        pointer.to_owned()
    }
}

/// A JSON pointer from a serde path (`vulnerabilities[3].cve.id` becomes
/// `/vulnerabilities/3/cve/id`).
pub(crate) fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path {
        out.push('/');
        match segment {
            Segment::Seq { index } => out.push_str(&index.to_string()),
            Segment::Map { key } => out.push_str(&key.replace('~', "~0").replace('/', "~1")),
            Segment::Enum { variant } => out.push_str(variant),
            Segment::Unknown => out.push('?'),
        }
    }
    out
}

/// Deserialises `T` from JSON bytes; on failure, parses again tracking the path, so the error
/// names the JSON pointer (prefixed with `prefix`) without slowing the common case.
pub(crate) fn from_json<'de, T: serde::Deserialize<'de>>(
    file: &str,
    prefix: &str,
    what: &'static str,
    bytes: &'de [u8],
) -> Result<T, VulnError> {
    match serde_json::from_slice(bytes) {
        Ok(value) => Ok(value),
        Err(first) => {
            let mut deserializer = serde_json::Deserializer::from_slice(bytes);
            let (pointer, source) =
                match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
                    Ok(_) => (String::new(), first),
                    Err(err) => (pointer_of(err.path()), err.into_inner()),
                };
            Err(VulnError::Json {
                file: file.to_owned(),
                pointer: format!("{prefix}{pointer}"),
                what,
                source,
            })
        }
    }
}

/// Checks a signed or verified document (SBOM, VEX) with the one strict JSON reader
/// (`consign_model::json::check`) before it is deserialised: a duplicate key at any depth is
/// refused with its JSON pointer, so no reader sees other claims in the same bytes.
pub(crate) fn strict(file: &str, bytes: &[u8], max_bytes: usize) -> Result<(), VulnError> {
    let limits = consign_model::json::JsonLimits {
        max_bytes,
        max_depth: 128,
    };
    consign_model::json::check(bytes, &limits).map_err(|source| VulnError::StrictJson {
        file: file.to_owned(),
        source,
    })
}

/// Cuts untrusted text for an error message.
pub(crate) fn excerpt(text: &str) -> String {
    crate::record::cut(text, 120)
}
