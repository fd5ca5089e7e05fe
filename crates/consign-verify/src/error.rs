//! The one error type of consign-verify: inputs that cannot be read at all.
//!
//! Problems found *inside* a readable shipment are never errors: they are check results in the
//! [`crate::Verdict`]. Errors are for a shipment, trust store, policy or ledger that cannot be used.

use std::fmt::Write as _;
use std::path::PathBuf;

/// Why a shipment, trust store, policy or ledger could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A file or folder could not be read or written.
    #[error("cannot {action} `{path}`")]
    Io {
        /// What was being done (`read the shipment manifest`, `create the folder`).
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The shipment manifest is not strict JSON of the expected shape.
    #[error(
        "`{name}`: the manifest `shipment.json` is not a consign shipment manifest: {source}\n\nhint: assemble shipments with `consign shipment assemble`"
    )]
    ManifestJson {
        /// The shipment.
        name: String,
        /// What the reader found.
        source: JsonDocumentError,
    },
    /// The shipment manifest parsed but breaks a rule of the format.
    #[error("`{name}`: shipment manifest: {reason}")]
    Manifest {
        /// The shipment.
        name: String,
        /// Which rule, naming the field or entry.
        reason: String,
    },
    /// A path inside a shipment that could escape its folder or is not allowed.
    #[error("`{path}` is not an allowed path inside a shipment: {reason}")]
    UnsafePath {
        /// The path, cut to 200 characters.
        path: String,
        /// Why.
        reason: &'static str,
    },
    /// Something is larger than a limit.
    #[error("`{what}` is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// What was measured.
        what: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The shipment archive is not a tar this reader accepts.
    #[error("shipment archive `{name}` at offset {offset}: {reason}")]
    Tar {
        /// The archive.
        name: String,
        /// Byte offset of the header at fault.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The trust store is not valid TOML of the expected shape.
    #[error(
        "trust store `{name}` is not valid\n\nhint: see schemas/trust/trust-store.schema.json for the format"
    )]
    TrustToml {
        /// The trust store.
        name: String,
        /// The cause.
        #[source]
        source: toml::de::Error,
    },
    /// The trust store parsed but breaks a rule.
    #[error("trust store `{name}`: {reason}")]
    Trust {
        /// The trust store.
        name: String,
        /// Which rule, naming the party and field.
        reason: String,
    },
    /// A policy file is not valid TOML or JSON of the expected shape.
    #[error(
        "policy `{name}` is not valid: {reason}\n\nhint: see schemas/policy/policy.schema.json for the format"
    )]
    PolicyParse {
        /// The policy.
        name: String,
        /// The parser's message.
        reason: String,
    },
    /// A policy parsed but breaks a rule.
    #[error("policy `{name}`: {reason}")]
    Policy {
        /// The policy.
        name: String,
        /// Which rule, naming the check and field.
        reason: String,
    },
    /// A date is not an ISO 8601 calendar date.
    #[error("`{text}` in {field} is not a date of the form YYYY-MM-DD")]
    Date {
        /// The field.
        field: String,
        /// The text, cut to 80 characters.
        text: String,
    },
    /// The ledger database could not be opened, read or written.
    #[error("ledger `{path}`: cannot {action}")]
    Ledger {
        /// The database file.
        path: String,
        /// What was being done.
        action: &'static str,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// The ledger was written by a newer consign.
    #[error(
        "ledger `{path}` has schema version {found}, this consign reads version {supported}\n\nhint: use the consign version that wrote it, or a new ledger file"
    )]
    LedgerVersion {
        /// The database file.
        path: String,
        /// The version found.
        found: i64,
        /// The version this build reads.
        supported: i64,
    },
    /// A verdict could not be serialised (should not happen; reported rather than panicking).
    #[error("cannot serialise the verdict to JSON")]
    Json(#[source] serde_json::Error),
    /// Signing the verdict failed.
    #[error("cannot sign the verdict: {reason}")]
    Sign {
        /// The signer's message.
        reason: String,
    },
}

/// Why a firmware re-scan ([`crate::evidence::Rescanner`]) gives no list of components the checks
/// may compare with the SBOM: what the firmware holds is then not known, so every check that
/// reads the re-scan or the audit fails with this as its reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RescanError {
    /// Unpacking left parts of the firmware unread (a limit, an unsupported feature, a refused
    /// construction): a component or a default setting there would go unseen.
    #[error(
        "unpacking left {} part(s) of the firmware unread, so what they hold is unknown: {}; `consign scan` of the firmware lists them, and the manufacturer can ship firmware consign reads in full",
        cuts.len(),
        listed_cuts(cuts)
    )]
    Incomplete {
        /// What was not read, and why.
        cuts: Vec<consign_model::Cut>,
    },
}

/// The first few cuts, for a reason that stays one line.
fn listed_cuts(cuts: &[consign_model::Cut]) -> String {
    const SHOWN: usize = 3;
    let mut text = cuts
        .iter()
        .take(SHOWN)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    if cuts.len() > SHOWN {
        let _ = write!(text, "; and {} more", cuts.len() - SHOWN);
    }
    text
}

/// Why a document inside a shipment cannot be used as evidence: the error of each seam to the
/// other crates ([`crate::evidence::SignatureVerifier`], [`crate::evidence::ClaimsReader`],
/// [`crate::evidence::SbomInspector`], [`crate::evidence::parse_statement`]). It never stops a
/// run: it becomes the reason a check fails ([`reason`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// consign-attest refused the envelope or the predicate.
    #[error(transparent)]
    Attest(#[from] consign_attest::AttestError),
    /// The envelope parsed but carries no signature.
    #[error("the envelope carries no signature")]
    Unsigned,
    /// No signature verifies with a trusted key.
    #[error(
        "none of its {count} signature(s) verifies with a key in the trust store (unknown signer, or the envelope was altered)"
    )]
    Untrusted {
        /// Signatures the envelope carries.
        count: usize,
    },
    /// The payload is not an in-toto Statement v1.
    #[error("not an in-toto statement")]
    NotStatement(#[source] consign_attest::AttestError),
    /// A claim's value is not of the type its id needs.
    #[error("claim `{id}`")]
    ClaimValue {
        /// The claim id.
        id: String,
        /// What serde found.
        #[source]
        source: serde_json::Error,
    },
    /// A claim's evidence names a digest that is not hex of the right length.
    #[error("claim `{id}` evidence `{name}`")]
    ClaimDigest {
        /// The claim id.
        id: String,
        /// The evidence's name.
        name: String,
        /// What is wrong with the digest.
        #[source]
        source: consign_model::HexDigestError,
    },
    /// A claim's date does not read.
    #[error(transparent)]
    ClaimDate(#[from] VerifyError),
    /// The SBOM is not strict JSON.
    #[error("is not strict JSON")]
    SbomJson(#[source] JsonDocumentError),
    /// consign-sbom cannot read the SBOM.
    #[error("cannot be read")]
    SbomRead(#[source] consign_sbom::SbomError),
}

/// An error and its causes on one line (`what: why: deeper why`): the reason a check shows.
pub fn reason(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        // `transparent` variants show their source's text already.
        if !text.ends_with(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

/// Why a JSON document the verifier was given could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JsonDocumentError {
    /// The strict reader refused it: not JSON, a key repeated (named by its JSON pointer), too
    /// large or too deep.
    #[error(transparent)]
    Strict(#[from] consign_model::json::JsonError),
    /// Strict JSON, but not of the expected shape (a missing or unknown field, a wrong type).
    #[error(transparent)]
    Shape(#[from] serde_json::Error),
}

/// Reads one JSON document: the strict reader ([`consign_model::json::check`]) first, then
/// `serde_json`. Every JSON document the verifier is given is read through here.
pub(crate) fn read_json<'a, T: serde::Deserialize<'a>>(
    bytes: &'a [u8],
    limits: &consign_model::json::JsonLimits,
) -> Result<T, JsonDocumentError> {
    consign_model::json::check(bytes, limits)?;
    Ok(serde_json::from_slice(bytes)?)
}

/// Cuts untrusted text to a readable length for an error message.
pub(crate) fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(max).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reason a check shows names the document's problem and every cause under it, once.
    #[test]
    fn reasons_carry_their_causes() {
        let err = EvidenceError::NotStatement(
            consign_attest::Statement::from_json(br#"{"_type": 1}"#).unwrap_err(),
        );
        let text = reason(&err);
        assert!(text.starts_with("not an in-toto statement: "), "{text}");
        assert!(
            text.len() > "not an in-toto statement: ".len() + 10,
            "{text}"
        );
        let unsigned = reason(&EvidenceError::Unsigned);
        assert_eq!(unsigned, "the envelope carries no signature");
        // A transparent variant does not repeat its source.
        let attest = consign_attest::Statement::from_json(b"[").unwrap_err();
        let once = reason(&attest);
        assert_eq!(reason(&EvidenceError::Attest(attest)), once);
    }
}
