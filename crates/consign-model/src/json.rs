//! The one strict JSON reader for every document that is signed or verified: DSSE envelopes,
//! in-toto statements and their predicates, Sigstore bundles, in-toto layouts and links, SBOMs,
//! VEX documents, shipment manifests and JSON policies.
//!
//! JSON leaves duplicate object keys undefined (RFC 8259 section 4): `serde_json` keeps the last
//! value, other readers keep the first. In a signed document that means one signature vouching
//! for two different claims (`"end":"2020-01-01","end":"2034-12-31"`), so [`check`] refuses a
//! duplicate key at any depth and names it by its JSON pointer (RFC 6901). Keys are compared
//! after decoding escapes, so `"a"` and `"\u0061"` are the same key, as every reader sees them.
//!
//! [`check`] is one linear pass over the bytes with an explicit stack (no recursion an input can
//! deepen), bounded by [`JsonLimits`]: the size is refused before anything is read, the nesting
//! depth as soon as it is passed. It validates the grammar of RFC 8259 too, so what it accepts is
//! what `serde_json` parses, key for key. Callers check, then deserialise with `serde_json`
//! (this crate does not depend on it: its trait impls would leak into every crate's inference).

use std::collections::HashSet;
use std::fmt::Write as _;

/// Bounds on one JSON document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JsonLimits {
    /// Largest document, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of arrays and objects.
    pub max_depth: usize,
}

impl Default for JsonLimits {
    /// 64 MiB (an SBOM predicate can be large) and 128 levels (a CycloneDX SBOM inside an
    /// in-toto statement needs about 16).
    fn default() -> Self {
        Self {
            max_bytes: 64 << 20,
            max_depth: 128,
        }
    }
}

/// Why a JSON document was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// The document is larger than [`JsonLimits::max_bytes`].
    #[error("{len} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Arrays and objects nest deeper than [`JsonLimits::max_depth`].
    #[error("nests arrays and objects deeper than {limit} levels at byte offset {offset}")]
    TooDeep {
        /// The limit.
        limit: usize,
        /// Where it was passed.
        offset: usize,
    },
    /// Not JSON.
    #[error("not valid JSON at byte offset {offset}: {reason}")]
    Syntax {
        /// Where.
        offset: usize,
        /// What was expected.
        reason: &'static str,
    },
    /// An object holds the same key twice.
    #[error(
        "duplicate key `{pointer}` at byte offset {offset}: an object may name a key once (readers disagree on which value counts)"
    )]
    DuplicateKey {
        /// JSON pointer (RFC 6901) of the key, from the document's root.
        pointer: String,
        /// Byte offset of the second occurrence.
        offset: usize,
    },
}

/// Checks `bytes` as one strict JSON document (see the module docs).
pub fn check(bytes: &[u8], limits: &JsonLimits) -> Result<(), JsonError> {
    if bytes.len() > limits.max_bytes {
        return Err(JsonError::TooLarge {
            len: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    if let Err(err) = std::str::from_utf8(bytes) {
        return Err(JsonError::Syntax {
            offset: err.valid_up_to(),
            reason: "the text is not UTF-8",
        });
    }
    Checker {
        bytes,
        pos: 0,
        stack: Vec::new(),
        limit: limits.max_depth,
    }
    .run()
}

/// An open array or object.
enum Frame {
    Array {
        index: usize,
    },
    Object {
        keys: HashSet<String>,
        /// The key whose value is being read (for pointers).
        current: String,
    },
}

struct Checker<'a> {
    bytes: &'a [u8],
    pos: usize,
    stack: Vec<Frame>,
    limit: usize,
}

/// What the checker expects next.
#[derive(Clone, Copy)]
enum Next {
    /// A value (the document's, an array element's or a key's).
    Value,
    /// After `[`: a value or `]`.
    FirstElement,
    /// After `{`: a key or `}`.
    FirstKey,
    /// After a value inside a container: `,` or the closing bracket.
    Separator,
}

impl Checker<'_> {
    fn error(&self, reason: &'static str) -> JsonError {
        JsonError::Syntax {
            offset: self.pos,
            reason,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn run(mut self) -> Result<(), JsonError> {
        let mut next = Next::Value;
        loop {
            self.skip_whitespace();
            match next {
                Next::Value => {
                    next = self.value()?;
                }
                Next::FirstElement => {
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                        self.stack.pop();
                        next = Next::Separator;
                    } else {
                        next = self.value()?;
                    }
                }
                Next::FirstKey => {
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                        self.stack.pop();
                        next = Next::Separator;
                    } else {
                        self.key()?;
                        next = Next::Value;
                    }
                }
                Next::Separator => {
                    let byte = self.peek();
                    let in_array = match self.stack.last_mut() {
                        None => {
                            return if self.pos == self.bytes.len() {
                                Ok(())
                            } else {
                                Err(self.error("expected the end of the document"))
                            };
                        }
                        Some(Frame::Array { index }) => {
                            if byte == Some(b',') {
                                *index += 1;
                            }
                            true
                        }
                        Some(Frame::Object { .. }) => false,
                    };
                    match (in_array, byte) {
                        (true, Some(b',')) => {
                            self.pos += 1;
                            next = Next::Value;
                        }
                        (false, Some(b',')) => {
                            self.pos += 1;
                            self.skip_whitespace();
                            self.key()?;
                            next = Next::Value;
                        }
                        (true, Some(b']')) | (false, Some(b'}')) => {
                            self.pos += 1;
                            self.stack.pop();
                        }
                        (true, _) => return Err(self.error("expected `,` or `]`")),
                        (false, _) => return Err(self.error("expected `,` or `}`")),
                    }
                }
            }
        }
    }

    /// Reads one value; containers are opened and left for [`Checker::run`] to walk.
    fn value(&mut self) -> Result<Next, JsonError> {
        match self.peek() {
            Some(b'{') => {
                self.open()?;
                self.stack.push(Frame::Object {
                    keys: HashSet::new(),
                    current: String::new(),
                });
                Ok(Next::FirstKey)
            }
            Some(b'[') => {
                self.open()?;
                self.stack.push(Frame::Array { index: 0 });
                Ok(Next::FirstElement)
            }
            Some(b'"') => {
                self.string(false)?;
                Ok(Next::Separator)
            }
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => {
                self.number()?;
                Ok(Next::Separator)
            }
            None => Err(self.error("unexpected end of the document")),
            Some(_) => Err(self.error("expected a value")),
        }
    }

    fn open(&mut self) -> Result<(), JsonError> {
        if self.stack.len() >= self.limit {
            return Err(JsonError::TooDeep {
                limit: self.limit,
                offset: self.pos,
            });
        }
        self.pos += 1;
        Ok(())
    }

    fn literal(&mut self, word: &'static [u8]) -> Result<Next, JsonError> {
        if self.bytes.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(Next::Separator)
        } else {
            Err(self.error("expected `true`, `false` or `null`"))
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    /// A number of RFC 8259's grammar, and one `serde_json` can hold: like it, a number whose
    /// value is past the largest `f64` (`1e400`, or 400 digits) is refused, so no reader after
    /// this one sees a different value (infinity, a saturated integer) in the same bytes.
    fn number(&mut self) -> Result<(), JsonError> {
        let start = self.pos;
        self.number_grammar()?;
        let text = self
            .bytes
            .get(start..self.pos)
            .and_then(|text| std::str::from_utf8(text).ok())
            .unwrap_or("0");
        let integer = text.parse::<u64>().is_ok() || text.parse::<i64>().is_ok();
        if !integer && text.parse::<f64>().is_ok_and(f64::is_infinite) {
            let here = self.pos;
            self.pos = start;
            let err = self.error("number out of range (past the largest 64-bit float)");
            self.pos = here;
            return Err(err);
        }
        Ok(())
    }

    fn number_grammar(&mut self) -> Result<(), JsonError> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.error("expected a digit")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.error("expected a digit after `.`"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("expected a digit in the exponent"));
            }
        }
        Ok(())
    }

    /// Reads an object key and records it in the innermost object; a key seen before is refused.
    fn key(&mut self) -> Result<(), JsonError> {
        if self.peek() != Some(b'"') {
            return Err(self.error("expected a key (a string)"));
        }
        let offset = self.pos;
        let key = self.string(true)?.unwrap_or_default();
        self.skip_whitespace();
        if self.peek() != Some(b':') {
            return Err(self.error("expected `:` after the key"));
        }
        self.pos += 1;
        let Some(Frame::Object { keys, current }) = self.stack.last_mut() else {
            return Err(self.error("a key outside an object"));
        };
        current.clone_from(&key);
        let fresh = keys.insert(key);
        if fresh {
            Ok(())
        } else {
            Err(JsonError::DuplicateKey {
                pointer: self.pointer(),
                offset,
            })
        }
    }

    /// The JSON pointer of the current position: each open container's index or key.
    fn pointer(&self) -> String {
        let mut out = String::new();
        for frame in &self.stack {
            out.push('/');
            match frame {
                Frame::Array { index } => {
                    let _ = write!(out, "{index}");
                }
                Frame::Object { current, .. } => {
                    out.push_str(&current.replace('~', "~0").replace('/', "~1"));
                }
            }
        }
        out
    }

    /// Reads a string; returns its decoded text when `decode` (keys), else only validates it.
    fn string(&mut self, decode: bool) -> Result<Option<String>, JsonError> {
        self.pos += 1;
        let mut out = decode.then(Vec::new);
        loop {
            let start = self.pos;
            // Plain bytes up to the next quote, backslash or control character.
            while let Some(byte) = self.peek() {
                if byte == b'"' || byte == b'\\' || byte < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            if let Some(out) = out.as_mut() {
                out.extend_from_slice(self.bytes.get(start..self.pos).unwrap_or_default());
            }
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return match out {
                        None => Ok(None),
                        Some(bytes) => String::from_utf8(bytes)
                            .map(Some)
                            .map_err(|_| self.error("a key is not UTF-8")),
                    };
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let decoded: Option<char> = match self.peek() {
                        Some(b'"') => Some('"'),
                        Some(b'\\') => Some('\\'),
                        Some(b'/') => Some('/'),
                        Some(b'b') => Some('\u{8}'),
                        Some(b'f') => Some('\u{c}'),
                        Some(b'n') => Some('\n'),
                        Some(b'r') => Some('\r'),
                        Some(b't') => Some('\t'),
                        Some(b'u') => {
                            self.pos += 1;
                            let first = self.hex4()?;
                            let ch = if (0xd800..0xdc00).contains(&first)
                                && self.bytes.get(self.pos..self.pos + 2) == Some(b"\\u")
                            {
                                self.pos += 2;
                                let second = self.hex4()?;
                                if (0xdc00..0xe000).contains(&second) {
                                    char::from_u32(
                                        0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00),
                                    )
                                } else {
                                    None
                                }
                            } else {
                                char::from_u32(first)
                            };
                            // A lone surrogate: serde_json refuses it too.
                            let Some(ch) = ch else {
                                return Err(self.error("a `\\u` escape is a lone surrogate"));
                            };
                            if let Some(out) = out.as_mut() {
                                let mut buf = [0u8; 4];
                                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                            }
                            continue;
                        }
                        _ => return Err(self.error("an unknown escape in a string")),
                    };
                    self.pos += 1;
                    if let (Some(out), Some(ch)) = (out.as_mut(), decoded) {
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    }
                }
                Some(_) => return Err(self.error("a control character inside a string")),
                None => return Err(self.error("a string is not closed")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self
            .bytes
            .get(self.pos..self.pos + 4)
            .and_then(|d| std::str::from_utf8(d).ok())
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|d| u32::from_str_radix(d, 16).ok())
            .ok_or_else(|| self.error("expected four hex digits after `\\u`"))?;
        self.pos += 4;
        Ok(digits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_ok(input: &str) {
        check(input.as_bytes(), &JsonLimits::default()).unwrap();
        serde_json::from_str::<serde_json::Value>(input).unwrap();
    }

    #[track_caller]
    fn check_err(input: &str, expect: &str) {
        let err = check(input.as_bytes(), &JsonLimits::default()).unwrap_err();
        assert_eq!(err.to_string(), expect);
    }

    #[test]
    fn accepts_json() {
        for input in [
            "{}",
            "[]",
            " {\"a\" : [1, -2.5e+3, 0, true, false, null, \"x\\\"\\u00e9\\ud83d\\ude00\"], \"b\": {}} ",
            "\"only a string\"",
            "0",
            r#"{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}"#,
            // Numbers at the edges of what serde_json holds.
            "[1e-400, 18446744073709551616, -9223372036854775809, 1.7976931348623157e308]",
        ] {
            check_ok(input);
        }
    }

    #[test]
    fn duplicate_keys_at_every_depth_with_their_pointer() {
        check_err(
            r#"{"a":1,"a":2}"#,
            "duplicate key `/a` at byte offset 7: an object may name a key once (readers disagree on which value counts)",
        );
        check_err(
            r#"{"predicate":{"claims":[{"id":"x"},{"value":{"end":"2020-01-01","end":"2034-12-31"}}]}}"#,
            "duplicate key `/predicate/claims/1/value/end` at byte offset 64: an object may name a key once (readers disagree on which value counts)",
        );
        // Escapes are decoded before comparing, as every reader does.
        check_err(
            r#"{"model":"SP-200","mod\u0065l":"EVIL-1"}"#,
            "duplicate key `/model` at byte offset 18: an object may name a key once (readers disagree on which value counts)",
        );
        // Pointer escaping (RFC 6901).
        check_err(
            r#"{"a/b":{"c~d":[0,{"k":1,"k":1}]}}"#,
            "duplicate key `/a~1b/c~0d/1/k` at byte offset 24: an object may name a key once (readers disagree on which value counts)",
        );
    }

    #[test]
    fn refuses_what_is_not_json() {
        for (input, offset) in [
            ("", 0),
            ("{", 1),
            ("{\"a\"}", 4),
            ("{\"a\":1,}", 7),
            ("[1,]", 3),
            ("[1 2]", 3),
            ("01", 1),
            ("1.", 2),
            ("-", 1),
            ("\"a\\x\"", 3),
            ("\"\\ud800\"", 7),
            ("\"a\nb\"", 2),
            ("nul", 0),
            ("{} {}", 3),
            ("{1:2}", 1),
            // Found by the `json_strict` fuzz target (fuzz/README.md): past the largest f64,
            // which serde_json refuses and this reader accepted.
            (" \n\n888888881888888E8888", 3),
            (" \n\n88888888188e8888881888876", 3),
            ("[1e309]", 1),
            ("[-1e309]", 1),
            (&format!("[{}]", "9".repeat(400)), 1),
        ] {
            let err = check(input.as_bytes(), &JsonLimits::default()).unwrap_err();
            assert!(
                matches!(err, JsonError::Syntax { offset: at, .. } if at == offset),
                "{input:?}: {err}"
            );
            assert!(serde_json::from_str::<serde_json::Value>(input).is_err());
        }
        let err = check(b"{\"a\":\"\xff\"}", &JsonLimits::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "not valid JSON at byte offset 6: the text is not UTF-8"
        );
    }

    #[test]
    fn limits() {
        let limits = JsonLimits {
            max_bytes: 10,
            max_depth: 3,
        };
        assert!(matches!(check(b"[[[1]]]", &limits), Ok(())));
        let err = check(b"[[[[1]]]]", &limits).unwrap_err();
        assert_eq!(
            err.to_string(),
            "nests arrays and objects deeper than 3 levels at byte offset 3"
        );
        let err = check(b"[1,2,3,4,5,6]", &limits).unwrap_err();
        assert_eq!(err.to_string(), "13 bytes, over the limit of 10 bytes");
        // Deep nesting is refused without recursion.
        let deep = "[".repeat(100_000);
        assert!(matches!(
            check(
                deep.as_bytes(),
                &JsonLimits {
                    max_bytes: usize::MAX,
                    max_depth: usize::MAX
                }
            ),
            Err(JsonError::Syntax { .. })
        ));
    }
}
