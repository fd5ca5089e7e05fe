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

/// Parses untrusted bytes as JSON within `limits`. Never panics; the error says where it failed.
pub fn parse_json(bytes: &[u8], limits: &ReadLimits) -> Result<Value, SbomError> {
    if bytes.len() > limits.max_bytes {
        return Err(SbomError::TooLarge {
            len: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    check_depth(bytes, limits.max_depth)?;
    serde_json::from_slice(bytes).map_err(|source| SbomError::Json {
        line: source.line(),
        column: source.column(),
        source,
    })
}

/// One linear pass over the bytes counting brackets outside strings, so that a hostile document
/// is refused before the recursive parser sees it.
fn check_depth(bytes: &[u8], limit: usize) -> Result<(), SbomError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (offset, &byte) in bytes.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return Err(SbomError::TooDeep { limit, offset });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
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
        assert!(parse_json(&[0xff, 0xfe], &limits).is_err());
    }
}
