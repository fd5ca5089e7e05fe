//! What changed between two SBOMs of a product (`consign sbom diff OLD NEW`): components added,
//! removed, upgraded or downgraded, licences changed, and files whose hashes changed while the
//! version stayed the same (suspicious: a rebuilt or patched binary under an old name, or a
//! replaced one).
//!
//! Components are matched by product: the purl without its version (`pkg:generic/busybox`), else
//! the name. When one side holds several versions of a product, equal versions pair first, then
//! the rest in version order. Any CycloneDX 1.3-1.7 JSON works; fields of the wrong type count as
//! missing. Versions are ordered by [`compare_versions`].
//!
//! Not done yet: what each change fixed or introduced needs a vulnerability database (issue 14);
//! until consign has one, the diff says nothing about vulnerabilities.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

/// One component of one side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DiffComponent {
    /// The product key (`pkg:generic/busybox`, or the name).
    pub key: String,
    /// `name`.
    pub name: String,
    /// `version`, when there is one.
    pub version: Option<String>,
    /// Licences: the concluded ones when any are marked, else all, each as written.
    pub licences: Vec<String>,
    /// SHA-512 (else SHA-256) values of its files, sorted.
    pub hashes: Vec<String>,
}

/// A component present on both sides whose version, licence or hashes differ.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The old side.
    pub old: DiffComponent,
    /// The new side.
    pub new: DiffComponent,
}

/// Everything that changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SbomDiff {
    /// The product (metadata component) on each side: name and version.
    pub product: (Option<String>, Option<String>),
    /// In NEW only.
    pub added: Vec<DiffComponent>,
    /// In OLD only.
    pub removed: Vec<DiffComponent>,
    /// A newer version in NEW.
    pub upgraded: Vec<Change>,
    /// An older version in NEW.
    pub downgraded: Vec<Change>,
    /// Another version that cannot be ordered (one side has none, or a text with no number).
    pub version_changed: Vec<Change>,
    /// Another licence.
    pub licence_changed: Vec<Change>,
    /// The same version, other file hashes.
    pub hash_changed: Vec<Change>,
}

impl SbomDiff {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.upgraded.is_empty()
            && self.downgraded.is_empty()
            && self.version_changed.is_empty()
            && self.licence_changed.is_empty()
            && self.hash_changed.is_empty()
    }
}

/// Orders two release versions as firmware writes them (`1.36.1`, `3.0.11`, `1.1.1w`,
/// `2022.83`, `6.1.0-13`, `2.1.0rc1`): runs of digits compare as numbers, runs of letters as
/// text, `~` and a pre-release word (`alpha`, `beta`, `pre`, `rc`) sort before the release, a
/// Debian epoch (`1:`) comes first. `None` when either has no digit at all (not a release).
///
/// This is the one place the SBOM crate orders versions; a firmware-aware comparator shared with
/// vulnerability matching (issue 14) is meant to replace it.
pub fn compare_versions(a: &str, b: &str) -> Option<Ordering> {
    if !a.bytes().any(|c| c.is_ascii_digit()) || !b.bytes().any(|c| c.is_ascii_digit()) {
        return None;
    }
    let (epoch_a, rest_a) = epoch(a);
    let (epoch_b, rest_b) = epoch(b);
    let ordering = epoch_a.cmp(&epoch_b);
    if ordering != Ordering::Equal {
        return Some(ordering);
    }
    let (ta, tb) = (tokens(rest_a), tokens(rest_b));
    for idx in 0..ta.len().max(tb.len()) {
        let ordering = match (ta.get(idx), tb.get(idx)) {
            (Some(x), Some(y)) => x.cmp(y),
            // The longer one continues: a pre-release marker makes it older, anything else newer.
            (Some(x), None) => x.after_end(),
            (None, Some(y)) => y.after_end().reverse(),
            (None, None) => Ordering::Equal,
        };
        if ordering != Ordering::Equal {
            return Some(ordering);
        }
    }
    Some(Ordering::Equal)
}

fn epoch(version: &str) -> (u64, &str) {
    match version.split_once(':') {
        Some((number, rest))
            if !number.is_empty() && number.bytes().all(|c| c.is_ascii_digit()) =>
        {
            (number.parse().unwrap_or(u64::MAX), rest)
        }
        _ => (0, version),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Token {
    /// `~` or a pre-release word: before everything, including the end.
    Pre(String),
    Number(u128),
    Text(String),
}

impl Token {
    fn rank(&self) -> u8 {
        match self {
            Token::Pre(_) => 0,
            Token::Number(_) => 2,
            Token::Text(_) => 1,
        }
    }

    /// How a version that has this token where the other has ended compares to it.
    fn after_end(&self) -> Ordering {
        match self {
            Token::Pre(_) => Ordering::Less,
            _ => Ordering::Greater,
        }
    }
}

impl PartialOrd for Token {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Token {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Token::Number(x), Token::Number(y)) => x.cmp(y),
            (Token::Text(x), Token::Text(y)) | (Token::Pre(x), Token::Pre(y)) => x.cmp(y),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

const PRE_RELEASE: [&str; 6] = ["alpha", "beta", "pre", "rc", "a", "b"];

fn tokens(version: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let bytes = version.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let c = bytes[at];
        if c == b'~' {
            out.push(Token::Pre("~".to_owned()));
            at += 1;
        } else if c.is_ascii_digit() {
            let start = at;
            while at < bytes.len() && bytes[at].is_ascii_digit() {
                at += 1;
            }
            let digits = version
                .get(start..at)
                .unwrap_or("0")
                .trim_start_matches('0');
            out.push(Token::Number(
                digits
                    .parse()
                    .unwrap_or(if digits.is_empty() { 0 } else { u128::MAX }),
            ));
        } else if c.is_ascii_alphabetic() {
            let start = at;
            while at < bytes.len() && bytes[at].is_ascii_alphabetic() {
                at += 1;
            }
            let word = version.get(start..at).unwrap_or("").to_ascii_lowercase();
            // `1.1.1w` is a release letter; `2.1.0rc1` and `1.0-beta` are pre-releases.
            let followed_by_number = bytes.get(at).is_some_and(u8::is_ascii_digit);
            let after_separator = start > 0 && !bytes[start - 1].is_ascii_alphanumeric();
            if PRE_RELEASE.contains(&word.as_str())
                && (followed_by_number || after_separator || word.len() > 1)
            {
                out.push(Token::Pre(word));
            } else {
                out.push(Token::Text(word));
            }
        } else {
            at += 1;
        }
    }
    out
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn array<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The purl without version, qualifiers or subpath.
fn purl_key(purl: &str) -> String {
    let end = purl.find(['?', '#']).unwrap_or(purl.len());
    let purl = purl.get(..end).unwrap_or(purl);
    // The version follows the last `@` after the last `/`.
    let name_start = purl.rfind('/').unwrap_or(0);
    match purl.get(name_start..).and_then(|tail| tail.find('@')) {
        Some(at) => purl.get(..name_start + at).unwrap_or(purl).to_owned(),
        None => purl.to_owned(),
    }
}

fn licences(component: &Value) -> Vec<String> {
    let written = |choice: &Value| {
        text(choice, "expression")
            .or_else(|| {
                choice
                    .get("license")
                    .and_then(|l| text(l, "id").or_else(|| text(l, "name")))
            })
            .map(str::to_owned)
    };
    let acknowledged = |choice: &Value, want: &str| {
        text(choice, "acknowledgement").or_else(|| {
            choice
                .get("license")
                .and_then(|l| text(l, "acknowledgement"))
        }) == Some(want)
    };
    let list = array(component, "licenses");
    let concluded: Vec<String> = list
        .iter()
        .filter(|c| acknowledged(c, "concluded"))
        .filter_map(written)
        .collect();
    let mut out = if concluded.is_empty() {
        list.iter().filter_map(written).collect()
    } else {
        concluded
    };
    out.sort();
    out.dedup();
    out
}

fn hashes(component: &Value) -> Vec<String> {
    let of = |alg: &str| -> BTreeSet<String> {
        array(component, "hashes")
            .iter()
            .chain(
                array(component, "externalReferences")
                    .iter()
                    .filter(|r| text(r, "type") == Some("distribution"))
                    .flat_map(|r| array(r, "hashes")),
            )
            .filter(|h| text(h, "alg") == Some(alg))
            .filter_map(|h| text(h, "content").map(str::to_ascii_lowercase))
            .collect()
    };
    let sha512 = of("SHA-512");
    let chosen = if sha512.is_empty() {
        of("SHA-256")
    } else {
        sha512
    };
    chosen.into_iter().collect()
}

/// Every component of the document except the described one, nested ones included.
fn read_side(bom: &Value) -> Vec<DiffComponent> {
    let mut out = Vec::new();
    let mut stack: Vec<(&Value, usize)> = array(bom, "components").iter().map(|c| (c, 0)).collect();
    while let Some((component, depth)) = stack.pop() {
        if !component.is_object() || depth > 32 {
            continue;
        }
        stack.extend(
            array(component, "components")
                .iter()
                .map(|c| (c, depth + 1)),
        );
        let name = text(component, "name").unwrap_or("(unnamed)").to_owned();
        out.push(DiffComponent {
            key: text(component, "purl").map_or_else(|| name.clone(), purl_key),
            name,
            version: text(component, "version").map(str::to_owned),
            licences: licences(component),
            hashes: hashes(component),
        });
    }
    out.sort_by(|a, b| (&a.key, &a.version).cmp(&(&b.key, &b.version)));
    out
}

fn version_order(a: &DiffComponent, b: &DiffComponent) -> Ordering {
    match (&a.version, &b.version) {
        (Some(x), Some(y)) => compare_versions(x, y).unwrap_or_else(|| x.cmp(y)),
        (x, y) => x.cmp(y),
    }
}

/// Compares two CycloneDX JSON documents.
pub fn diff(old: &Value, new: &Value) -> SbomDiff {
    let product = |bom: &Value| {
        bom.get("metadata")
            .and_then(|m| m.get("component"))
            .map(|c| {
                let name = text(c, "name").unwrap_or("(unnamed)");
                match text(c, "version") {
                    Some(version) => format!("{name} {version}"),
                    None => name.to_owned(),
                }
            })
    };
    let mut out = SbomDiff {
        product: (product(old), product(new)),
        ..SbomDiff::default()
    };
    let mut sides: BTreeMap<String, (Vec<DiffComponent>, Vec<DiffComponent>)> = BTreeMap::new();
    for component in read_side(old) {
        sides
            .entry(component.key.clone())
            .or_default()
            .0
            .push(component);
    }
    for component in read_side(new) {
        sides
            .entry(component.key.clone())
            .or_default()
            .1
            .push(component);
    }
    for (_, (mut olds, mut news)) in sides {
        // Equal versions first.
        let mut pairs = Vec::new();
        olds.retain(|o| match news.iter().position(|n| n.version == o.version) {
            Some(at) => {
                pairs.push((o.clone(), news.remove(at)));
                false
            }
            None => true,
        });
        olds.sort_by(version_order);
        news.sort_by(version_order);
        let unpaired = olds.len().min(news.len());
        let rest_old = olds.split_off(unpaired);
        let rest_new = news.split_off(unpaired);
        pairs.extend(olds.into_iter().zip(news));
        out.removed.extend(rest_old);
        out.added.extend(rest_new);
        for (old, new) in pairs {
            let change = || Change {
                old: old.clone(),
                new: new.clone(),
            };
            if old.version == new.version {
                if old.hashes != new.hashes && !old.hashes.is_empty() && !new.hashes.is_empty() {
                    out.hash_changed.push(change());
                }
            } else {
                match (&old.version, &new.version) {
                    (Some(a), Some(b)) => match compare_versions(a, b) {
                        Some(Ordering::Less) => out.upgraded.push(change()),
                        Some(Ordering::Greater) => out.downgraded.push(change()),
                        _ => out.version_changed.push(change()),
                    },
                    _ => out.version_changed.push(change()),
                }
            }
            if old.licences != new.licences {
                out.licence_changed.push(change());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[track_caller]
    fn check(a: &str, b: &str, want: Option<Ordering>) {
        assert_eq!(compare_versions(a, b), want, "{a} vs {b}");
        assert_eq!(
            compare_versions(b, a),
            want.map(Ordering::reverse),
            "{b} vs {a}"
        );
    }

    #[test]
    fn versions_in_firmware_order() {
        use Ordering::{Equal, Greater, Less};
        check("1.35.0", "1.36.1", Some(Less));
        check("3.0.9", "3.0.11", Some(Less));
        check("1.1.1w", "1.1.1", Some(Greater));
        check("1.1.1v", "1.1.1w", Some(Less));
        check("1.1.1w", "3.0.11", Some(Less));
        check("2022.83", "2020.81", Some(Greater));
        check("2.1.0rc1", "2.1.0", Some(Less));
        check("2.1.0-rc2", "2.1.0-rc10", Some(Less));
        check("1.0~beta1", "1.0", Some(Less));
        check("1:1.0", "2.0", Some(Greater));
        check("6.1.0-13", "6.1.0-9", Some(Greater));
        check("5.10.0", "6.1.0", Some(Less));
        check("1.2.13", "1.2.13", Some(Equal));
        check("01.2", "1.2", Some(Equal));
        check("1.2a", "1.2b", Some(Less));
        check("2023-11-14T22:13:20Z", "2024-01-01T00:00:00Z", Some(Less));
        check("unknown", "1.0", None);
        check(
            "99999999999999999999999999999999999999999",
            "1",
            Some(Greater),
        );
    }

    fn component(name: &str, version: Option<&str>, licence: &str, sha512: &str) -> Value {
        let mut c = json!({"type": "library", "name": name,
            "purl": match version { Some(v) => format!("pkg:generic/{name}@{v}"), None => format!("pkg:generic/{name}") },
            "licenses": [{"license": {"id": licence, "acknowledgement": "concluded"}}],
            "hashes": [{"alg": "SHA-512", "content": sha512.repeat(64)}]});
        if let Some(v) = version {
            c["version"] = json!(v);
        }
        c
    }

    fn bom(components: &[Value]) -> Value {
        json!({"bomFormat": "CycloneDX", "specVersion": "1.6",
            "metadata": {"component": {"type": "firmware", "name": "fw.img", "version": "1"}},
            "components": components})
    }

    #[test]
    fn every_kind_of_change() {
        let old = bom(&[
            component("busybox", Some("1.35.0"), "GPL-2.0-only", "aa"),
            component("openssl", Some("3.0.11"), "Apache-2.0", "bb"),
            component("zlib", Some("1.2.13"), "Zlib", "cc"),
            component("dropbear", Some("2022.83"), "MIT", "dd"),
            component("libnl", Some("3.7.0"), "LGPL-2.1-only", "ee"),
            component("gcc", None, "GPL-3.0-or-later", "ff"),
            json!("not a component"),
        ]);
        let new = bom(&[
            component("busybox", Some("1.36.1"), "GPL-2.0-only", "a1"),
            component("openssl", Some("3.0.9"), "Apache-2.0", "b1"),
            component("zlib", Some("1.2.13"), "Zlib", "c1"),
            component("dropbear", Some("2022.83"), "MIT OR BSD-3-Clause", "dd"),
            component("libnl", Some("3.7.0"), "LGPL-2.1-only", "ee"),
            component("libnl", Some("3.8.0"), "LGPL-2.1-only", "e1"),
            component("gcc", Some("12.2.0"), "GPL-3.0-or-later", "f1"),
            component("curl", Some("7.88.1"), "curl", "01"),
        ]);
        let diff = diff(&old, &new);
        let names = |list: &[Change]| -> Vec<String> {
            list.iter()
                .map(|c| {
                    format!(
                        "{} {}->{}",
                        c.old.name,
                        c.old.version.as_deref().unwrap_or("-"),
                        c.new.version.as_deref().unwrap_or("-")
                    )
                })
                .collect()
        };
        assert_eq!(names(&diff.upgraded), ["busybox 1.35.0->1.36.1"]);
        assert_eq!(names(&diff.downgraded), ["openssl 3.0.11->3.0.9"]);
        assert_eq!(names(&diff.version_changed), ["gcc -->12.2.0"]);
        assert_eq!(names(&diff.hash_changed), ["zlib 1.2.13->1.2.13"]);
        assert_eq!(names(&diff.licence_changed), ["dropbear 2022.83->2022.83"]);
        let added: Vec<String> = diff
            .added
            .iter()
            .map(|c| format!("{} {}", c.name, c.version.as_deref().unwrap_or("-")))
            .collect();
        assert_eq!(added, ["curl 7.88.1", "libnl 3.8.0"]);
        assert!(diff.removed.is_empty());
        assert!(!diff.is_empty());
        assert!(super::diff(&old, &old).is_empty());
        // Removed is added seen from the other side.
        assert_eq!(super::diff(&new, &old).removed.len(), 2);
    }

    #[test]
    fn purl_keys_drop_version_qualifiers_and_subpath() {
        for (purl, want) in [
            ("pkg:generic/busybox@1.36.1", "pkg:generic/busybox"),
            (
                "pkg:deb/debian/openssl@3.0.11-1?arch=arm64",
                "pkg:deb/debian/openssl",
            ),
            ("pkg:npm/%40scope/name@1.0#lib", "pkg:npm/%40scope/name"),
            ("pkg:generic/zlib", "pkg:generic/zlib"),
        ] {
            assert_eq!(purl_key(purl), want);
        }
    }
}
