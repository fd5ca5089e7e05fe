//! Validation against the official CycloneDX JSON schemas, vendored in `schemas/cyclonedx/` and
//! embedded in the binary, so it works offline.
//!
//! The bom schemas refer to `spdx.schema.json`, `jsf-0.82.schema.json` and
//! `cryptography-defs.schema.json` by their `http://cyclonedx.org/schema/` identifiers; a retriever
//! maps exactly those identifiers to the embedded files and refuses everything else, so validation
//! never touches the network. Formats (`date-time`, `iri-reference`, `email`, ...) are checked, as
//! `check-jsonschema` and the CycloneDX library's validator do.
//!
//! Versions 1.5, 1.6 and 1.7 are vendored. 1.3 and 1.4 are not: a document of those versions gets
//! one issue saying so (supplier SBOMs of those versions can still be read, see [`crate::supplier`]).

use std::sync::OnceLock;

use jsonschema::{Retrieve, Uri, Validator};
use serde::Serialize;
use serde_json::Value;

const BOM_1_5: &str = include_str!("../../../schemas/cyclonedx/bom-1.5.schema.json");
const BOM_1_6: &str = include_str!("../../../schemas/cyclonedx/bom-1.6.schema.json");
const BOM_1_7: &str = include_str!("../../../schemas/cyclonedx/bom-1.7.schema.json");
const SPDX_LICENSES: &str = include_str!("../../../schemas/cyclonedx/spdx.schema.json");
const JSF: &str = include_str!("../../../schemas/cyclonedx/jsf-0.82.schema.json");
const CRYPTO_DEFS: &str = include_str!("../../../schemas/cyclonedx/cryptography-defs.schema.json");
const SPDX_2_3: &str = include_str!("../../../schemas/spdx/spdx-2.3.schema.json");

/// The most issues reported for one document; a hostile document can have millions.
pub const MAX_ISSUES: usize = 1000;

/// One way a document breaks its schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SchemaIssue {
    /// JSON pointer to the offending value (`/components/3/hashes/0/content`; empty for the root).
    pub pointer: String,
    /// The schema rule that failed, as a JSON pointer into the schema (`/definitions/hash/...`).
    pub rule: String,
    /// What is wrong, in words.
    pub message: String,
}

/// The offline retriever: the CycloneDX side schemas by identifier, nothing else.
struct Embedded;

impl Retrieve for Embedded {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let text = match uri.as_str().trim_end_matches('#') {
            "http://cyclonedx.org/schema/spdx.schema.json" => SPDX_LICENSES,
            "http://cyclonedx.org/schema/jsf-0.82.schema.json" => JSF,
            "http://cyclonedx.org/schema/cryptography-defs.schema.json" => CRYPTO_DEFS,
            other => {
                return Err(format!(
                    "schema `{other}` is not vendored in schemas/ and consign never fetches schemas"
                )
                .into());
            }
        };
        Ok(serde_json::from_str(text)?)
    }
}

type Cached = OnceLock<Result<Validator, String>>;

fn compiled(cell: &'static Cached, text: &'static str) -> Result<&'static Validator, String> {
    cell.get_or_init(|| {
        let schema: Value = serde_json::from_str(text).map_err(|err| err.to_string())?;
        jsonschema::options()
            .with_retriever(Embedded)
            .should_validate_formats(true)
            .build(&schema)
            .map_err(|err| format!("the vendored schema does not compile: {err}"))
    })
    .as_ref()
    .map_err(Clone::clone)
}

fn validator_for(spec_version: &str) -> Option<Result<&'static Validator, String>> {
    static V1_5: Cached = OnceLock::new();
    static V1_6: Cached = OnceLock::new();
    static V1_7: Cached = OnceLock::new();
    Some(match spec_version {
        "1.5" => compiled(&V1_5, BOM_1_5),
        "1.6" => compiled(&V1_6, BOM_1_6),
        "1.7" => compiled(&V1_7, BOM_1_7),
        _ => return None,
    })
}

fn run(validator: &Validator, json: &Value) -> Vec<SchemaIssue> {
    validator
        .iter_errors(json)
        .take(MAX_ISSUES)
        .map(|err| SchemaIssue {
            pointer: err.instance_path().as_str().to_owned(),
            rule: err.schema_path().as_str().to_owned(),
            message: truncate(&err.to_string()),
        })
        .collect()
}

/// Messages quote the offending value, which can be huge; keep them readable.
fn truncate(text: &str) -> String {
    const MAX: usize = 300;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(MAX).collect();
        out.push_str("...");
        out
    }
}

/// Validates a CycloneDX JSON document against the vendored schema of its `specVersion`.
/// An empty list means valid.
pub fn validate_schema(json: &Value) -> Vec<SchemaIssue> {
    let issue = |pointer: &str, rule: &str, message: String| {
        vec![SchemaIssue {
            pointer: pointer.to_owned(),
            rule: rule.to_owned(),
            message,
        }]
    };
    let Some(object) = json.as_object() else {
        return issue("", "/type", "the document is not a JSON object".to_owned());
    };
    if object.get("bomFormat").and_then(Value::as_str) != Some("CycloneDX") {
        return issue(
            "/bomFormat",
            "/properties/bomFormat",
            "`bomFormat` must be \"CycloneDX\"; is this a CycloneDX JSON document?".to_owned(),
        );
    }
    let Some(spec_version) = object.get("specVersion").and_then(Value::as_str) else {
        return issue(
            "/specVersion",
            "/required",
            "`specVersion` is missing or not a string; add \"1.6\"".to_owned(),
        );
    };
    match validator_for(spec_version) {
        Some(Ok(validator)) => run(validator, json),
        Some(Err(message)) => issue("", "", message),
        None => issue(
            "/specVersion",
            "/properties/specVersion",
            format!(
                "no schema for CycloneDX {} is vendored (1.5, 1.6 and 1.7 are); write the SBOM as 1.6 or later",
                crate::error::excerpt(spec_version)
            ),
        ),
    }
}

/// Validates an SPDX 2.3 JSON document against the vendored SPDX 2.3 schema.
pub fn validate_spdx_schema(json: &Value) -> Vec<SchemaIssue> {
    static SPDX: Cached = OnceLock::new();
    match compiled(&SPDX, SPDX_2_3) {
        Ok(validator) => run(validator, json),
        Err(message) => vec![SchemaIssue {
            pointer: String::new(),
            rule: String::new(),
            message,
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn minimal_documents() {
        for version in ["1.5", "1.6", "1.7"] {
            let doc = json!({"bomFormat": "CycloneDX", "specVersion": version, "version": 1});
            assert_eq!(validate_schema(&doc), Vec::new(), "{version}");
        }
        let doc = json!({"bomFormat": "CycloneDX", "specVersion": "1.4"});
        let issues = validate_schema(&doc);
        assert_eq!(issues.len(), 1);
        assert!(issues[0].message.contains("1.4"), "{issues:?}");
    }

    #[test]
    fn wrong_types_have_paths() {
        let doc = json!({
            "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
            "serialNumber": "not-a-urn",
            "components": [{"type": "library", "name": 7, "hashes": [{"alg": "SHA-512", "content": "xyz"}]}],
            "metadata": {"timestamp": "yesterday"}
        });
        let issues = validate_schema(&doc);
        let pointers: Vec<&str> = issues.iter().map(|i| i.pointer.as_str()).collect();
        for want in [
            "/serialNumber",
            "/components/0/name",
            "/components/0/hashes/0/content",
            "/metadata/timestamp",
        ] {
            assert!(pointers.contains(&want), "{want} missing in {issues:#?}");
        }
        assert!(issues.iter().all(|i| !i.rule.is_empty()));
    }

    #[test]
    fn not_cyclonedx() {
        assert_eq!(validate_schema(&json!([1])).len(), 1);
        assert_eq!(
            validate_schema(&json!({"spdxVersion": "SPDX-2.3"}))[0].pointer,
            "/bomFormat"
        );
    }

    /// The example product file satisfies the product file schema and has no gaps; a broken one fails.
    #[test]
    fn product_example_matches_its_schema() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let schema: Value = serde_json::from_str(
            &std::fs::read_to_string(format!("{root}/schemas/consign/product.schema.json"))
                .unwrap(),
        )
        .unwrap();
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap();
        let text = std::fs::read_to_string(format!("{root}/fixtures/sbom/product.toml")).unwrap();
        let example: Value = toml::from_str(&text).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&example)
            .map(|e| e.to_string())
            .collect();
        assert_eq!(errors, Vec::<String>::new());
        let product = consign_model::ProductFile::from_toml(&text).unwrap();
        assert_eq!(product.gaps(), Vec::new());
        let broken: Value =
            toml::from_str(&text.replace("cls-level = 2", "cls-level = 9")).unwrap();
        assert!(!validator.is_valid(&broken));
    }

    #[test]
    fn spdx_schema_rejects_empty() {
        assert!(!validate_spdx_schema(&json!({})).is_empty());
    }
}
