//! OLPC canonical JSON, byte for byte as securesystemslib's `encode_canonical` writes it.
//!
//! in-toto v0.9 signs the canonical form of the `signed` object, so two encoders that differ
//! on a single byte cannot verify each other's signatures.
//! The rules, taken from securesystemslib `formats.py`:
//! - strings are written raw as UTF-8 between double quotes, escaping only `\` and `"`;
//!   TAB, CR, newline, other control characters and non-ASCII text are *not* escaped;
//! - object keys are sorted by code point (Python's `sorted` on `str`), which for UTF-8 is the
//!   same as sorting the encoded bytes;
//! - no whitespace; integers in decimal; `true`, `false`, `null`;
//! - floating-point numbers are refused (the reference raises `FormatError`).
//!
//! We canonicalise a parsed [`serde_json::Value`], never a Rust struct, so fields we do not
//! model are still covered by the signature.

use serde_json::Value;

use crate::AttestError;

/// The deepest nesting accepted; deeper documents are refused rather than recursed into.
pub const MAX_DEPTH: usize = 128;

/// Encodes `value` as canonical JSON bytes.
///
/// Fails on floating-point numbers (which canonical JSON cannot carry) and on nesting deeper
/// than [`MAX_DEPTH`]; the error names the JSON path of the offending value.
pub fn encode(value: &Value) -> Result<Vec<u8>, AttestError> {
    let mut out = Vec::new();
    write_value(value, &mut out, &mut String::from("$"), 0)?;
    Ok(out)
}

fn write_value(
    value: &Value,
    out: &mut Vec<u8>,
    path: &mut String,
    depth: usize,
) -> Result<(), AttestError> {
    if depth > MAX_DEPTH {
        return Err(AttestError::CanonicalJson {
            path: path.clone(),
            reason: format!("nested deeper than {MAX_DEPTH} levels"),
        });
    }
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => {
            if let Some(int) = number.as_i64() {
                out.extend_from_slice(int.to_string().as_bytes());
            } else if let Some(int) = number.as_u64() {
                out.extend_from_slice(int.to_string().as_bytes());
            } else {
                return Err(AttestError::CanonicalJson {
                    path: path.clone(),
                    reason: format!(
                        "`{number}` is a floating-point number, which canonical JSON cannot encode"
                    ),
                });
            }
        }
        Value::String(text) => write_string(text, out),
        Value::Array(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                let len = path.len();
                path.push('[');
                path.push_str(&index.to_string());
                path.push(']');
                write_value(item, out, path, depth + 1)?;
                path.truncate(len);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // serde_json's default map is a BTreeMap<String, _>: iteration is already in byte
            // order, which equals code-point order for UTF-8. Sort anyway so the output does
            // not depend on serde_json's `preserve_order` feature being off.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|left, right| left.0.as_bytes().cmp(right.0.as_bytes()));
            out.push(b'{');
            for (index, (key, item)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                let len = path.len();
                path.push('.');
                path.push_str(key);
                write_value(item, out, path, depth + 1)?;
                path.truncate(len);
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_string(text: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for byte in text.bytes() {
        if byte == b'\\' || byte == b'"' {
            out.push(b'\\');
        }
        out.push(byte);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[track_caller]
    fn check(value: &Value, expect: &str) {
        let bytes = encode(value).unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), expect);
    }

    #[test]
    fn scalars() {
        check(&json!(null), "null");
        check(&json!(true), "true");
        check(&json!(false), "false");
        check(&json!(-12), "-12");
        check(&json!(u64::MAX), "18446744073709551615");
        check(&json!(""), r#""""#);
    }

    #[test]
    fn strings_escape_only_backslash_and_quote() {
        // TAB, CR, LF, a literal backslash-n, a quote and non-ASCII text.
        check(
            &json!("a\tb\rc\nd\\ne\"f é 日本 🦀 \u{0001}"),
            "\"a\tb\rc\nd\\\\ne\\\"f é 日本 🦀 \u{0001}\"",
        );
    }

    #[test]
    fn keys_sorted_by_code_point_and_nested() {
        check(
            &json!({"b": [1, {"z": "x", "a": []}], "a": {}, "B": null, "é": 1, "z": 2, "_type": "link"}),
            r#"{"B":null,"_type":"link","a":{},"b":[1,{"a":[],"z":"x"}],"z":2,"é":1}"#,
        );
    }

    #[test]
    fn astral_keys_sort_after_bmp_keys_like_python() {
        // Python sorts str by code point: U+FFFF < U+1F980. UTF-16 order would differ here.
        check(
            &json!({"🦀": 1, "\u{ffff}": 2}),
            "{\"\u{ffff}\":2,\"🦀\":1}",
        );
    }

    #[test]
    fn floats_are_refused_with_their_path() {
        let err = encode(&json!({"a": [1, 2.5]})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot encode canonical JSON at `$.a[1]`: `2.5` is a floating-point number, which canonical JSON cannot encode"
        );
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut value = json!(1);
        for _ in 0..=MAX_DEPTH + 1 {
            value = json!([value]);
        }
        assert!(encode(&value).is_err());
    }
}
