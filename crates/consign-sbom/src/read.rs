//! Bounded parsing of untrusted SBOM bytes into JSON: a size limit, a nesting limit checked before
//! parsing, and errors that say where.

use serde_json::Value;

use crate::SbomError;

/// Limits for reading an SBOM someone else wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadLimits {
    /// Largest document accepted, in bytes. Default 64 MiB, far above any real firmware SBOM.
    pub max_bytes: usize,
    /// Deepest nesting of arrays and objects. Default 64; CycloneDX documents need about 12.
    pub max_depth: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            max_bytes: 64 << 20,
            max_depth: 64,
        }
    }
}

/// Parses untrusted bytes as JSON within `limits`, through the one strict JSON reader
/// ([`consign_model::json`]): a key repeated at any depth is refused with its JSON pointer, as in
/// every signed or verified document. Never panics; the error says where it failed.
pub fn parse_json(bytes: &[u8], limits: &ReadLimits) -> Result<Value, SbomError> {
    use consign_model::json::{JsonError, JsonLimits, check};
    let strict = check(
        bytes,
        &JsonLimits {
            max_bytes: limits.max_bytes,
            max_depth: limits.max_depth,
        },
    );
    let syntax = match strict {
        Ok(()) => None,
        Err(JsonError::TooLarge { len, limit }) => return Err(SbomError::TooLarge { len, limit }),
        Err(JsonError::TooDeep { limit, offset }) => {
            return Err(SbomError::TooDeep { limit, offset });
        }
        // serde_json says where by line and column, below.
        Err(err @ JsonError::Syntax { .. }) => Some(err),
        Err(source) => return Err(SbomError::Strict(source)),
    };
    let value = serde_json::from_slice(bytes).map_err(|source| SbomError::Json {
        line: source.line(),
        column: source.column(),
        source,
    })?;
    match syntax {
        // The strict reader refused what serde_json took: refuse it too.
        Some(err) => Err(SbomError::Strict(err)),
        None => Ok(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_errors() {
        let limits = ReadLimits::default();
        assert!(parse_json(br#"{"a":[1,"]]]]"]}"#, &limits).is_ok());
        let deep = "[".repeat(100_000);
        let err = parse_json(deep.as_bytes(), &limits).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the SBOM nests arrays and objects deeper than 64 levels at byte offset 64"
        );
        let small = ReadLimits {
            max_bytes: 4,
            ..limits
        };
        assert!(matches!(
            parse_json(b"[1, 2]", &small),
            Err(SbomError::TooLarge { len: 6, limit: 4 })
        ));
        let err = parse_json(b"{\n  \"a\": tru }", &limits).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the SBOM is not valid JSON at line 2, column 11"
        );
        assert!(parse_json(b"", &limits).is_err());
        // Issue 13, item 2: a key repeated at any depth, named by its JSON pointer.
        let err = parse_json(
            br#"{"components":[{"name":"a","version":"1","version":"2"}]}"#,
            &limits,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the SBOM is not strict JSON: duplicate key `/components/0/version` at byte offset 41: an object may name a key once (readers disagree on which value counts)"
        );
        assert!(parse_json(&[0xff, 0xfe], &limits).is_err());
    }
}
