//! A plain CycloneDX JSON reader: the facts the checks need (components, hashes, metadata,
//! vulnerabilities) and a structural minimum. [`crate::backend::SbomCrate`] adds the official
//! schema and the BSI and NTIA profiles from consign-sbom on top of it.

use consign_model::{Sha256, Sha512};
use serde_json::Value;

use crate::error::EvidenceError;
use crate::evidence::{DeclaredComponent, SbomFacts, SbomInspector};

/// Most components read from one SBOM, and deepest nesting followed.
const MAX_COMPONENTS: usize = 200_000;
const MAX_DEPTH: usize = 32;

/// Reads CycloneDX JSON facts directly; structural validity only (see [`SbomFacts::schema_errors`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct CycloneDxReader;

fn text(value: &Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(ToOwned::to_owned)
}

fn collect(list: &Value, depth: usize, out: &mut Vec<DeclaredComponent>, raw: &mut Vec<Value>) {
    let Some(items) = list.as_array() else { return };
    if depth > MAX_DEPTH {
        return;
    }
    for item in items {
        if out.len() >= MAX_COMPONENTS {
            return;
        }
        let mut component = DeclaredComponent {
            bom_ref: text(item, "/bom-ref"),
            name: text(item, "/name").unwrap_or_default(),
            version: text(item, "/version"),
            ..DeclaredComponent::default()
        };
        for hash in item
            .get("hashes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (Some(alg), Some(content)) = (text(hash, "/alg"), text(hash, "/content")) else {
                continue;
            };
            match alg.as_str() {
                "SHA-256" => component.sha256.extend(content.parse::<Sha256>().ok()),
                "SHA-512" => component.sha512.extend(content.parse::<Sha512>().ok()),
                _ => {}
            }
        }
        out.push(component);
        raw.push(item.clone());
        if let Some(children) = item.get("components") {
            collect(children, depth + 1, out, raw);
        }
    }
}

impl SbomInspector for CycloneDxReader {
    fn inspect(&self, data: &[u8]) -> Result<SbomFacts, EvidenceError> {
        let value: Value = crate::error::read_json(data, &crate::evidence::STRICT)
            .map_err(EvidenceError::SbomJson)?;
        let mut facts = SbomFacts {
            spec_version: text(&value, "/specVersion"),
            manufacturer: text(&value, "/metadata/manufacturer/name")
                .or_else(|| text(&value, "/metadata/component/manufacturer/name")),
            product_name: text(&value, "/metadata/component/name"),
            product_version: text(&value, "/metadata/component/version"),
            ..SbomFacts::default()
        };
        if value.get("bomFormat").and_then(Value::as_str) != Some("CycloneDX") {
            facts
                .schema_errors
                .push("`bomFormat` is not `CycloneDX`".to_owned());
        }
        if facts.spec_version.is_none() {
            facts
                .schema_errors
                .push("`specVersion` is missing".to_owned());
        }
        let mut raw = Vec::new();
        if let Some(list) = value.get("components") {
            if !list.is_array() {
                facts
                    .schema_errors
                    .push("`components` is not an array".to_owned());
            }
            collect(list, 0, &mut facts.components, &mut raw);
        }
        for (idx, component) in facts.components.iter().enumerate() {
            if component.name.is_empty() {
                facts
                    .schema_errors
                    .push(format!("`components` entry {idx} has no `name`"));
            }
        }
        facts.vulnerabilities = value
            .get("vulnerabilities")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .take(10_000)
            .map(|v| text(v, "/id").unwrap_or_else(|| "(no id)".to_owned()))
            .collect();
        // NTIA minimum elements: author, timestamp, and per component supplier, name, version,
        // a unique identifier and the dependency relationships.
        if text(&value, "/metadata/timestamp").is_none() {
            facts
                .ntia_gaps
                .push("`metadata.timestamp` is missing".to_owned());
        }
        let has_author = value
            .pointer("/metadata/authors")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
            || value
                .pointer("/metadata/tools")
                .is_some_and(|t| !t.is_null());
        if !has_author {
            facts
                .ntia_gaps
                .push("no `metadata.authors` or `metadata.tools`".to_owned());
        }
        if value
            .get("dependencies")
            .and_then(Value::as_array)
            .is_none()
        {
            facts.ntia_gaps.push("no `dependencies`".to_owned());
            facts.bsi_gaps.push("no `dependencies`".to_owned());
        }
        if facts.manufacturer.is_none() {
            facts
                .bsi_gaps
                .push("no `metadata.manufacturer` (the creator)".to_owned());
        }
        for (component, item) in facts.components.iter().zip(&raw) {
            let label = if component.name.is_empty() {
                "(unnamed)"
            } else {
                component.name.as_str()
            };
            if component.version.is_none() {
                facts.ntia_gaps.push(format!("`{label}` has no `version`"));
                facts.bsi_gaps.push(format!("`{label}` has no `version`"));
            }
            if text(item, "/purl").is_none() && text(item, "/cpe").is_none() {
                facts
                    .ntia_gaps
                    .push(format!("`{label}` has no `purl` or `cpe`"));
            }
            if text(item, "/supplier/name").is_none()
                && text(item, "/manufacturer/name").is_none()
                && text(item, "/author").is_none()
            {
                facts.ntia_gaps.push(format!("`{label}` has no supplier"));
            }
            if component.sha512.is_empty() {
                facts
                    .bsi_gaps
                    .push(format!("`{label}` has no SHA-512 hash"));
            }
            if item
                .get("licenses")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty)
            {
                facts.bsi_gaps.push(format!("`{label}` has no `licenses`"));
            }
        }
        Ok(facts)
    }
}
