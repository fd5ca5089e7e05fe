//! The in-toto v0.9 link: what a functionary recorded for one step.
//!
//! ```json
//! {"_type": "link", "name": "build", "command": ["make"],
//!  "materials": {"src/a.c": {"sha256": "…"}}, "products": {"a.out": {"sha256": "…"}},
//!  "byproducts": {"stdout": "…", "stderr": "…", "return-value": 0}, "environment": {}}
//! ```
//! These are exactly the fields the reference writes; the reference re-serialises a link from
//! them before checking its signature, so an extra field would make it reject our links, and we
//! refuse unknown fields when reading (fail closed).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::AttestError;

/// Artifact path → hash algorithm → lower-case hex digest.
pub type ArtifactMap = BTreeMap<String, BTreeMap<String, String>>;

const DOC: &str = "in-toto link";

/// The most artifacts one link may list (materials plus products).
pub const MAX_ARTIFACTS: usize = 1_000_000;

/// A link's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// The step (or inspection) name.
    pub name: String,
    /// The command that ran, one argument per entry; empty when none ran.
    pub command: Vec<String>,
    /// Artifacts before the step.
    pub materials: ArtifactMap,
    /// Artifacts after the step.
    pub products: ArtifactMap,
    /// `stdout`, `stderr`, `return-value`, or empty when no command ran.
    pub byproducts: Map<String, Value>,
    /// Free-form environment information.
    pub environment: Map<String, Value>,
}

/// What a command left behind: its output streams and exit status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Byproducts {
    /// Standard output, as text (bytes that are not UTF-8 become U+FFFD).
    pub stdout: String,
    /// Standard error, as text.
    pub stderr: String,
    /// The exit code, or the negated signal number if a signal ended it (as Python reports it).
    pub return_value: i64,
}

impl Byproducts {
    /// The `byproducts` object of a link.
    pub fn to_map(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("return-value".to_owned(), json!(self.return_value));
        map.insert("stderr".to_owned(), json!(self.stderr));
        map.insert("stdout".to_owned(), json!(self.stdout));
        map
    }
}

impl Link {
    /// Reads a link from its signed JSON value. Every field is required and checked; unknown
    /// fields are refused.
    pub fn from_value(value: &Value) -> Result<Self, AttestError> {
        let object = value
            .as_object()
            .ok_or_else(|| AttestError::field(DOC, "$", "an object"))?;
        for key in object.keys() {
            if !matches!(
                key.as_str(),
                "_type"
                    | "name"
                    | "command"
                    | "materials"
                    | "products"
                    | "byproducts"
                    | "environment"
            ) {
                return Err(AttestError::field(
                    DOC,
                    key.clone(),
                    "no such field in an in-toto v0.9 link (unknown fields are refused)",
                ));
            }
        }
        if object.get("_type").and_then(Value::as_str) != Some("link") {
            return Err(AttestError::field(DOC, "_type", "`link`"));
        }
        let name = object
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| AttestError::field(DOC, "name", "a string"))?
            .to_owned();
        let command = string_list(object.get("command"), DOC, "command")?;
        let materials = artifacts(object.get("materials"), "materials")?;
        let products = artifacts(object.get("products"), "products")?;
        if materials.len() + products.len() > MAX_ARTIFACTS {
            return Err(AttestError::field(
                DOC,
                "materials",
                format!("at most {MAX_ARTIFACTS} artifacts in materials and products together"),
            ));
        }
        let byproducts = object_field(object.get("byproducts"), "byproducts")?;
        let environment = object_field(object.get("environment"), "environment")?;
        Ok(Self {
            name,
            command,
            materials,
            products,
            byproducts,
            environment,
        })
    }

    /// The signed JSON value, with every field the reference writes.
    pub fn to_value(&self) -> Value {
        json!({
            "_type": "link",
            "name": self.name,
            "command": self.command,
            "materials": self.materials,
            "products": self.products,
            "byproducts": self.byproducts,
            "environment": self.environment,
        })
    }

    /// The file name in-toto gives this link when signed by `keyid`: `<name>.<keyid[..8]>.link`.
    pub fn file_name(step: &str, keyid: &str) -> String {
        let short: String = keyid.chars().take(8).collect();
        format!("{step}.{short}.link")
    }
}

/// Reads a list of strings (`command`, `expected_command`, `run`, `pubkeys`).
pub(crate) fn string_list(
    value: Option<&Value>,
    document: &'static str,
    field: &str,
) -> Result<Vec<String>, AttestError> {
    let list = value
        .and_then(Value::as_array)
        .ok_or_else(|| AttestError::field(document, field, "a list of strings"))?;
    list.iter()
        .enumerate()
        .map(|(index, item)| {
            item.as_str().map(str::to_owned).ok_or_else(|| {
                AttestError::field(document, format!("{field}[{index}]"), "a string")
            })
        })
        .collect()
}

fn object_field(value: Option<&Value>, field: &str) -> Result<Map<String, Value>, AttestError> {
    value
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| AttestError::field(DOC, field, "an object"))
}

fn artifacts(value: Option<&Value>, field: &str) -> Result<ArtifactMap, AttestError> {
    let object = value.and_then(Value::as_object).ok_or_else(|| {
        AttestError::field(DOC, field, "an object of path → {algorithm: hex digest}")
    })?;
    let mut out = ArtifactMap::new();
    for (path, hashes) in object {
        let hashes_object = hashes.as_object().ok_or_else(|| {
            AttestError::field(
                DOC,
                format!("{field}.{path}"),
                "an object of algorithm → hex digest",
            )
        })?;
        let mut digests = BTreeMap::new();
        for (algorithm, digest) in hashes_object {
            let digest = digest
                .as_str()
                .filter(|digest| digest.bytes().all(|byte| byte.is_ascii_hexdigit()))
                .ok_or_else(|| {
                    AttestError::field(
                        DOC,
                        format!("{field}.{path}.{algorithm}"),
                        "a hex digest string",
                    )
                })?;
            digests.insert(algorithm.clone(), digest.to_owned());
        }
        out.insert(path.clone(), digests);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_file_name() {
        let value = json!({"_type": "link", "name": "build", "command": ["make", "all"],
            "materials": {"a.c": {"sha256": "ab"}}, "products": {},
            "byproducts": {"stdout": "x", "stderr": "", "return-value": 0}, "environment": {}});
        let link = Link::from_value(&value).unwrap();
        assert_eq!(link.to_value(), value);
        assert_eq!(
            Link::file_name("build", "0123456789abcdef"),
            "build.01234567.link"
        );
    }

    #[test]
    fn malformed_links_are_refused() {
        let base = json!({"_type": "link", "name": "b", "command": [], "materials": {}, "products": {},
            "byproducts": {}, "environment": {}});
        let cases = [
            (
                "extra",
                json!(1),
                "in-toto link: field `extra`: expected no such field in an in-toto v0.9 link (unknown fields are refused)",
            ),
            (
                "_type",
                json!("layout"),
                "in-toto link: field `_type`: expected `link`",
            ),
            (
                "command",
                json!([1]),
                "in-toto link: field `command[0]`: expected a string",
            ),
            (
                "materials",
                json!({"a": {"sha256": "zz"}}),
                "in-toto link: field `materials.a.sha256`: expected a hex digest string",
            ),
            (
                "products",
                json!([]),
                "in-toto link: field `products`: expected an object of path → {algorithm: hex digest}",
            ),
        ];
        for (field, value, expect) in cases {
            let mut doc = base.clone();
            doc[field] = value;
            assert_eq!(Link::from_value(&doc).unwrap_err().to_string(), expect);
        }
    }
}
