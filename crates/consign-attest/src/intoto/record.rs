//! Recording a step: building the link from hashed artifacts and a command's byproducts.
//!
//! This module holds no I/O: [`crate::intoto::fs`] walks the file system and runs commands, and
//! hands bytes and digests here. Signing is [`crate::intoto::Metadata::sign`].

use std::collections::BTreeMap;

use serde_json::Map;
use sha2::Digest as _;

use crate::intoto::link::{ArtifactMap, Byproducts, Link};

/// The default exclude patterns of the reference (`in_toto.settings.ARTIFACT_EXCLUDE_PATTERNS`).
pub const DEFAULT_EXCLUDES: &[&str] = &["*.link*", ".git", "*.pyc", "*~"];

/// The hash dict of one artifact: `{"sha256": "<hex>"}`.
pub fn hash_dict(sha256: &[u8; 32]) -> BTreeMap<String, String> {
    BTreeMap::from([("sha256".to_owned(), hex::encode(sha256))])
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(bytes).into()
}

/// Decodes a captured stream as the link stores it: UTF-8, with bytes that are not UTF-8 replaced
/// by U+FFFD. Every other byte (TAB, CR, newline, non-ASCII text) is kept exactly.
///
/// The reference reads streams in Python text mode, which also turns CR and CRLF into LF; consign
/// keeps the bytes as the command wrote them.
pub fn decode_stream(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Whether `path` (relative, `/`-separated) is excluded by one of `patterns`.
///
/// A pattern without `/` is matched (as an `fnmatch` pattern) against every path component, so
/// `.git` excludes the whole `.git` tree and `*.pyc` any such file; a pattern with `/` is matched
/// against the whole path. This covers the reference's default patterns; other gitignore features
/// (negation with `!`, `**`) are not supported.
pub fn is_excluded(path: &str, patterns: &[String]) -> bool {
    patterns.iter().any(|pattern| {
        let pattern = pattern.trim_end_matches('/');
        if pattern.contains('/') {
            crate::intoto::rules::fnmatch(path, pattern.trim_start_matches('/'))
        } else {
            path.split('/')
                .any(|component| crate::intoto::rules::fnmatch(component, pattern))
        }
    })
}

/// The link of a step: `command` is empty and `byproducts` `None` when no command ran.
pub fn link_for_step(
    name: &str,
    command: &[String],
    materials: ArtifactMap,
    products: ArtifactMap,
    byproducts: Option<&Byproducts>,
) -> Link {
    Link {
        name: name.to_owned(),
        command: command.to_vec(),
        materials,
        products,
        byproducts: byproducts.map(Byproducts::to_map).unwrap_or_default(),
        environment: Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn streams_keep_every_byte_but_invalid_utf8() {
        assert_eq!(
            decode_stream(b"a\tb\r\\n\xc3\xa9\xff"),
            "a\tb\r\\n\u{e9}\u{fffd}"
        );
    }

    #[test]
    fn excludes_like_the_reference_defaults() {
        let defaults: Vec<String> = DEFAULT_EXCLUDES.iter().map(|p| (*p).to_owned()).collect();
        for (path, expect) in [
            ("build.12345678.link", true),
            (".git/config", true),
            ("src/.git/HEAD", true),
            ("a/b.pyc", true),
            ("notes~", true),
            ("src/main.c", false),
            ("gitlab.txt", false),
        ] {
            assert_eq!(is_excluded(path, &defaults), expect, "{path}");
        }
        assert!(is_excluded("out/x.bin", &["out/*".to_owned()]));
        assert!(!is_excluded("src/out/x.bin", &["out/*".to_owned()]));
    }

    #[test]
    fn link_without_command_has_empty_byproducts() {
        let materials = BTreeMap::from([("a".to_owned(), hash_dict(&sha256(b"a")))]);
        let link = link_for_step("fetch", &[], materials, ArtifactMap::new(), None);
        assert_eq!(link.to_value()["byproducts"], json!({}));
        assert_eq!(
            link.to_value()["materials"]["a"]["sha256"],
            json!("ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb")
        );
        let byproducts = Byproducts {
            stdout: "x\r".into(),
            stderr: String::new(),
            return_value: -9,
        };
        let link = link_for_step(
            "run",
            &["sh".into()],
            ArtifactMap::new(),
            ArtifactMap::new(),
            Some(&byproducts),
        );
        assert_eq!(
            link.to_value()["byproducts"],
            json!({"stdout": "x\r", "stderr": "", "return-value": -9})
        );
    }
}
