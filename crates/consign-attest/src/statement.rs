//! in-toto Statement v1: the subjects (artifacts named by digest), the predicate type and the
//! predicate. Parsed strictly; subjects are matched by digest only, never by name.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use consign_model::{Digests, Sha256, Sha512};

use crate::AttestError;

/// The `_type` of an in-toto Statement v1.
pub const STATEMENT_TYPE_V1: &str = "https://in-toto.io/Statement/v1";

/// The most subjects one statement may name.
pub const MAX_SUBJECTS: usize = 100_000;

const DOCUMENT: &str = "in-toto statement";

/// One artifact the statement is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// The artifact's name: informative only, never used to match.
    #[serde(default)]
    pub name: String,
    /// Digests by algorithm name (`sha256`, `sha512`, ...), lower-case hex.
    pub digest: BTreeMap<String, String>,
}

impl Subject {
    /// A subject for `data` with its SHA-256 and SHA-512.
    pub fn for_bytes(name: &str, data: &[u8]) -> Self {
        let mut digest = BTreeMap::new();
        digest.insert("sha256".to_owned(), hex::encode(sha2::Sha256::digest(data)));
        digest.insert("sha512".to_owned(), hex::encode(sha2::Sha512::digest(data)));
        Self {
            name: name.to_owned(),
            digest,
        }
    }

    /// The one subject matcher of consign: true when this subject names the artifact whose
    /// digests are `artifact`. Every digest the subject lists that consign computes (`sha256`,
    /// `sha512`) must equal the artifact's, and it must list at least one: a subject of digests
    /// consign cannot compute never matches, and `{sha256: A, sha512: B}` names neither A nor B,
    /// so one subject can never cover two different artifacts.
    pub fn matches(&self, artifact: &Digests) -> bool {
        self.agrees_with(&KnownDigests::from(*artifact))
    }

    /// Like [`Subject::matches`], against digests that a document declares rather than digests
    /// computed from bytes (an SBOM component's hashes, another statement's subject): every
    /// algorithm both sides know must agree, and at least one must be known to both.
    pub fn agrees_with(&self, known: &KnownDigests) -> bool {
        let mine = KnownDigests::of_subject(self);
        if mine.invalid {
            return false;
        }
        let mut compared = false;
        if let (Some(a), Some(b)) = (mine.sha256, known.sha256) {
            if a != b {
                return false;
            }
            compared = true;
        }
        if let (Some(a), Some(b)) = (mine.sha512, known.sha512) {
            if a != b {
                return false;
            }
            compared = true;
        }
        compared
    }

    /// The digests consign computes, as this subject lists them.
    pub fn known_digests(&self) -> KnownDigests {
        KnownDigests::of_subject(self)
    }
}

/// The digests of one artifact that consign can compare: computed from its bytes (then both are
/// known), or as a document declares them (then either may be absent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KnownDigests {
    /// SHA-256.
    pub sha256: Option<Sha256>,
    /// SHA-512.
    pub sha512: Option<Sha512>,
    /// A listed `sha256` or `sha512` is not a digest (never matches).
    invalid: bool,
}

impl From<Digests> for KnownDigests {
    fn from(digests: Digests) -> Self {
        Self {
            sha256: Some(digests.sha256),
            sha512: Some(digests.sha512),
            invalid: false,
        }
    }
}

impl KnownDigests {
    /// Declared digests.
    pub fn declared(sha256: Option<Sha256>, sha512: Option<Sha512>) -> Self {
        Self {
            sha256,
            sha512,
            invalid: false,
        }
    }

    fn of_subject(subject: &Subject) -> Self {
        let mut invalid = false;
        let sha256 = subject.digest.get("sha256").and_then(|hex| {
            let parsed = hex.parse::<Sha256>().ok();
            invalid |= parsed.is_none();
            parsed
        });
        let sha512 = subject.digest.get("sha512").and_then(|hex| {
            let parsed = hex.parse::<Sha512>().ok();
            invalid |= parsed.is_none();
            parsed
        });
        Self {
            sha256,
            sha512,
            invalid,
        }
    }
}

/// An in-toto Statement v1.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Statement {
    /// Always [`STATEMENT_TYPE_V1`].
    #[serde(rename = "_type")]
    pub statement_type: String,
    /// The artifacts the statement is about.
    pub subject: Vec<Subject>,
    /// The predicate's type URI.
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The predicate (its shape depends on `predicate_type`).
    pub predicate: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStatement {
    #[serde(rename = "_type")]
    statement_type: String,
    subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    #[serde(default)]
    predicate: serde_json::Value,
}

impl Statement {
    /// A statement about several subjects.
    pub fn new(subject: Vec<Subject>, predicate_type: &str, predicate: serde_json::Value) -> Self {
        Self {
            statement_type: STATEMENT_TYPE_V1.to_owned(),
            subject,
            predicate_type: predicate_type.to_owned(),
            predicate,
        }
    }

    /// A statement about one artifact, named `name`, with its SHA-256 and SHA-512.
    pub fn for_artifact(
        name: &str,
        data: &[u8],
        predicate_type: &str,
        predicate: serde_json::Value,
    ) -> Self {
        Self::new(
            vec![Subject::for_bytes(name, data)],
            predicate_type,
            predicate,
        )
    }

    /// Parses a statement strictly: `_type` must be Statement v1, at least one subject, each with
    /// at least one digest, and `sha256` / `sha512` values must be hex of the right length.
    pub fn from_json(json: &[u8]) -> Result<Self, AttestError> {
        let raw: RawStatement = crate::read_json(json, DOCUMENT)?;
        if raw.statement_type != STATEMENT_TYPE_V1 {
            return Err(AttestError::field(
                DOCUMENT,
                "_type",
                format!(
                    "`{STATEMENT_TYPE_V1}`, found `{}`",
                    raw.statement_type.chars().take(100).collect::<String>()
                ),
            ));
        }
        if raw.subject.is_empty() || raw.subject.len() > MAX_SUBJECTS {
            return Err(AttestError::field(
                DOCUMENT,
                "subject",
                format!(
                    "between 1 and {MAX_SUBJECTS} subjects, found {}",
                    raw.subject.len()
                ),
            ));
        }
        for (idx, subject) in raw.subject.iter().enumerate() {
            if subject.digest.is_empty() {
                return Err(AttestError::field(
                    DOCUMENT,
                    format!("subject[{idx}].digest"),
                    "at least one digest",
                ));
            }
            for (algorithm, len) in [("sha256", 64), ("sha512", 128)] {
                if let Some(value) = subject.digest.get(algorithm)
                    && (value.len() != len || !value.bytes().all(|b| b.is_ascii_hexdigit()))
                {
                    return Err(AttestError::field(
                        DOCUMENT,
                        format!("subject[{idx}].digest.{algorithm}"),
                        format!("{len} hex characters"),
                    ));
                }
            }
        }
        if raw.predicate_type.is_empty() {
            return Err(AttestError::field(DOCUMENT, "predicateType", "a type URI"));
        }
        Ok(Self {
            statement_type: raw.statement_type,
            subject: raw.subject,
            predicate_type: raw.predicate_type,
            predicate: raw.predicate,
        })
    }

    /// The statement as compact JSON, the payload that gets signed.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The subject that names `data` (by SHA-256 / SHA-512), or
    /// [`AttestError::SubjectMismatch`].
    pub fn subject_for(&self, data: &[u8]) -> Result<&Subject, AttestError> {
        self.subject_for_digests(&Digests::of(data))
    }

    /// The subject that names the artifact of these digests ([`Subject::matches`]), or
    /// [`AttestError::SubjectMismatch`].
    pub fn subject_for_digests(&self, digests: &Digests) -> Result<&Subject, AttestError> {
        self.subject
            .iter()
            .find(|subject| subject.matches(digests))
            .ok_or_else(|| AttestError::SubjectMismatch {
                sha256: digests.sha256.to_hex(),
                subjects: self.describe_subjects(),
            })
    }

    fn describe_subjects(&self) -> String {
        let mut parts: Vec<String> = self
            .subject
            .iter()
            .take(5)
            .map(|subject| {
                let digest = subject
                    .digest
                    .iter()
                    .next()
                    .map(|(algorithm, value)| format!("{algorithm} {value}"))
                    .unwrap_or_default();
                format!("`{}` ({digest})", subject.name)
            })
            .collect();
        if self.subject.len() > 5 {
            parts.push(format!("and {} more", self.subject.len() - 5));
        }
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_match_by_digest() {
        let statement =
            Statement::for_artifact("fw.img", b"firmware", "https://x/y", serde_json::json!({}));
        let json = statement.to_json();
        assert!(json.starts_with(br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"fw.img","digest":{"sha256":""#));
        let parsed = Statement::from_json(&json).unwrap();
        assert_eq!(parsed, statement);
        assert_eq!(parsed.subject_for(b"firmware").unwrap().name, "fw.img");
        let err = parsed.subject_for(b"other").unwrap_err().to_string();
        assert!(err.contains("no subject of the statement matches"), "{err}");
    }

    #[test]
    fn name_does_not_match_digest_does() {
        let mut statement = Statement::for_artifact(
            "fw.img",
            b"firmware",
            "https://x/y",
            serde_json::Value::Null,
        );
        statement.subject[0].name = "something-else".to_owned();
        assert!(statement.subject_for(b"firmware").is_ok());
        // A subject whose SHA-512 disagrees does not match even if SHA-256 does.
        statement.subject[0]
            .digest
            .insert("sha512".to_owned(), "00".repeat(64));
        assert!(statement.subject_for(b"firmware").is_err());
        // A subject with only unknown digests never matches.
        statement.subject[0].digest.clear();
        statement.subject[0]
            .digest
            .insert("md5".to_owned(), "00".repeat(16));
        assert!(statement.subject_for(b"firmware").is_err());
    }

    /// Issue 13, item 1: `{sha256: A, sha512: B}` names neither A nor B; declared digests
    /// agree only where both sides know an algorithm.
    #[test]
    fn one_subject_never_covers_two_artifacts() {
        let (a, b) = (Digests::of(b"image A"), Digests::of(b"image B"));
        let mut subject = Subject::for_bytes("fw.img", b"image A");
        assert!(subject.matches(&a));
        assert!(!subject.matches(&b));
        subject
            .digest
            .insert("sha512".to_owned(), b.sha512.to_hex());
        assert!(!subject.matches(&a));
        assert!(!subject.matches(&b));
        // Only a digest consign cannot compute: never a match.
        let mut unknown = Subject::for_bytes("fw.img", b"image A");
        unknown.digest.clear();
        unknown.digest.insert("sha384".to_owned(), "00".repeat(48));
        assert!(!unknown.matches(&a));
        // Unknown algorithms beside a matching one are ignored; a malformed known one is not.
        let mut extra = Subject::for_bytes("fw.img", b"image A");
        extra.digest.insert("sha384".to_owned(), "00".repeat(48));
        assert!(extra.matches(&a));
        extra.digest.insert("sha256".to_owned(), "zz".to_owned());
        assert!(!extra.matches(&a));
        // Declared digests: only what both know is compared, at least one must be.
        let full = Subject::for_bytes("fw.img", b"image A");
        assert!(full.agrees_with(&KnownDigests::declared(None, Some(a.sha512))));
        assert!(!full.agrees_with(&KnownDigests::declared(Some(a.sha256), Some(b.sha512))));
        assert!(!full.agrees_with(&KnownDigests::declared(None, None)));
    }

    #[track_caller]
    fn check_err(input: &str, expect: &str) {
        let err = Statement::from_json(input.as_bytes()).unwrap_err();
        let text = format!(
            "{err}: {}",
            std::error::Error::source(&err)
                .map(ToString::to_string)
                .unwrap_or_default()
        );
        assert!(text.contains(expect), "{text}");
    }

    #[test]
    fn strict_parsing() {
        let sha = "ab".repeat(32);
        check_err(
            &format!(
                r#"{{"_type":"https://in-toto.io/Statement/v0.1","subject":[{{"name":"a","digest":{{"sha256":"{sha}"}}}}],"predicateType":"p","predicate":{{}}}}"#
            ),
            "field `_type`: expected `https://in-toto.io/Statement/v1`",
        );
        check_err(
            r#"{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"p"}"#,
            "field `subject`",
        );
        check_err(
            r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{}}],"predicateType":"p"}"#,
            "subject[0].digest",
        );
        check_err(
            r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"xyz"}}],"predicateType":"p"}"#,
            "subject[0].digest.sha256",
        );
        check_err(
            &format!(
                r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"digest":{{"sha256":"{sha}"}}}}],"predicateType":"p","surprise":1}}"#
            ),
            "unknown field `surprise`",
        );
        check_err("nope", "malformed in-toto statement JSON");
    }
}
