//! Supplier SBOMs: read CycloneDX 1.3 to 1.7 JSON written by other tools, link it from the product
//! SBOM, and match its components to the scanned ones by hash. Nothing is ever merged: matches and
//! non-matches are reported and the user decides.
//!
//! The reader works over plain JSON rather than a typed model, because suppliers' tools disagree on
//! optional fields across five spec versions; it takes only identity, version, purl, CPE and
//! hashes, and reports a field of the wrong type with its JSON pointer.

use std::collections::BTreeMap;

use consign_model::{Sha256, Sha512};
use serde::Serialize;
use serde_json::Value;

use crate::SbomError;
use crate::cyclonedx::{Bom, HashAlgorithm};

/// The spec versions the reader accepts.
pub const SUPPORTED_SPEC_VERSIONS: &[&str] = &["1.3", "1.4", "1.5", "1.6", "1.7"];

/// Most components read from one supplier SBOM (nested ones included).
pub const MAX_SUPPLIER_COMPONENTS: usize = 100_000;

/// What consign takes from a supplier's SBOM.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SupplierBom {
    /// `specVersion`.
    pub spec_version: String,
    /// `serialNumber`, when present.
    pub serial_number: Option<String>,
    /// `version` (1 when absent).
    pub version: u64,
    /// The described component's name, when present.
    pub subject: Option<String>,
    /// All components, nested ones included, in document order.
    pub components: Vec<SupplierComponent>,
}

/// One component of a supplier SBOM.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SupplierComponent {
    /// JSON pointer in the supplier document.
    pub pointer: String,
    /// `bom-ref`.
    pub bom_ref: Option<String>,
    /// `name`.
    pub name: String,
    /// `version`.
    pub version: Option<String>,
    /// `purl`.
    pub purl: Option<String>,
    /// SHA-256 values from `hashes`.
    pub sha256: Vec<Sha256>,
    /// SHA-512 values from `hashes`.
    pub sha512: Vec<Sha512>,
}

impl SupplierBom {
    /// The BOM-Link to this document (`urn:cdx:<uuid>/<version>`), when it has a UUID serial number.
    pub fn bom_link(&self) -> Option<String> {
        let uuid = self.serial_number.as_deref()?.strip_prefix("urn:uuid:")?;
        let serial: crate::SerialNumber = uuid.parse().ok()?;
        Some(format!("urn:cdx:{}/{}", serial.uuid(), self.version))
    }
}

fn field_error(pointer: &str, problem: &str) -> SbomError {
    SbomError::Field {
        pointer: pointer.to_owned(),
        problem: problem.to_owned(),
    }
}

fn optional_text(value: &Value, key: &str, pointer: &str) -> Result<Option<String>, SbomError> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(field_error(&format!("{pointer}/{key}"), "must be a string")),
    }
}

/// Reads a supplier's CycloneDX JSON (1.3 to 1.7).
pub fn read_supplier_bom(json: &Value) -> Result<SupplierBom, SbomError> {
    if json.get("bomFormat").and_then(Value::as_str) != Some("CycloneDX") {
        return Err(field_error(
            "/bomFormat",
            "must be \"CycloneDX\"; consign reads supplier SBOMs in CycloneDX JSON only",
        ));
    }
    let spec_version = match json.get("specVersion") {
        Some(Value::String(text)) if SUPPORTED_SPEC_VERSIONS.contains(&text.as_str()) => {
            text.clone()
        }
        Some(Value::String(text)) => {
            return Err(field_error(
                "/specVersion",
                &format!(
                    "is `{}`; consign reads CycloneDX 1.3 to 1.7",
                    crate::error::excerpt(text)
                ),
            ));
        }
        _ => {
            return Err(field_error(
                "/specVersion",
                "must be a string such as \"1.6\"",
            ));
        }
    };
    let version = match json.get("version") {
        None => 1,
        Some(value) => value
            .as_u64()
            .ok_or_else(|| field_error("/version", "must be a whole number from 1"))?,
    };
    let serial_number = optional_text(json, "serialNumber", "")?;
    let subject = json
        .get("metadata")
        .and_then(|m| m.get("component"))
        .and_then(|c| c.get("name"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut components = Vec::new();
    // Iterative walk with an explicit stack: nesting depth cannot exhaust the call stack.
    let mut stack: Vec<(String, &Value)> = Vec::new();
    push_children(json, "", &mut stack)?;
    while let Some((pointer, value)) = stack.pop() {
        if components.len() >= MAX_SUPPLIER_COMPONENTS {
            return Err(field_error(
                "/components",
                &format!("holds more than {MAX_SUPPLIER_COMPONENTS} components; split the SBOM"),
            ));
        }
        if !value.is_object() {
            return Err(field_error(&pointer, "must be an object"));
        }
        let name = optional_text(value, "name", &pointer)?
            .ok_or_else(|| field_error(&format!("{pointer}/name"), "is missing"))?;
        let mut sha256 = Vec::new();
        let mut sha512 = Vec::new();
        if let Some(hashes) = value.get("hashes") {
            let list = hashes
                .as_array()
                .ok_or_else(|| field_error(&format!("{pointer}/hashes"), "must be an array"))?;
            for (idx, hash) in list.iter().enumerate() {
                let at = format!("{pointer}/hashes/{idx}");
                let alg = optional_text(hash, "alg", &at)?.unwrap_or_default();
                let content = optional_text(hash, "content", &at)?.unwrap_or_default();
                match HashAlgorithm::from(alg) {
                    HashAlgorithm::Sha256 => sha256.push(content.parse().map_err(|_| {
                        field_error(&format!("{at}/content"), "is not a SHA-256 hex digest")
                    })?),
                    HashAlgorithm::Sha512 => sha512.push(content.parse().map_err(|_| {
                        field_error(&format!("{at}/content"), "is not a SHA-512 hex digest")
                    })?),
                    _ => {}
                }
            }
        }
        components.push(SupplierComponent {
            bom_ref: optional_text(value, "bom-ref", &pointer)?,
            version: optional_text(value, "version", &pointer)?,
            purl: optional_text(value, "purl", &pointer)?,
            name,
            sha256,
            sha512,
            pointer: pointer.clone(),
        });
        push_children(value, &pointer, &mut stack)?;
    }
    components.sort_by(|a, b| a.pointer.cmp(&b.pointer));
    Ok(SupplierBom {
        spec_version,
        serial_number,
        version,
        subject,
        components,
    })
}

fn push_children<'a>(
    value: &'a Value,
    pointer: &str,
    stack: &mut Vec<(String, &'a Value)>,
) -> Result<(), SbomError> {
    match value.get("components") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(list)) => {
            for (idx, child) in list.iter().enumerate().rev() {
                stack.push((format!("{pointer}/components/{idx}"), child));
            }
            Ok(())
        }
        Some(_) => Err(field_error(
            &format!("{pointer}/components"),
            "must be an array",
        )),
    }
}

/// A supplier component whose hash equals a scanned component's (or firmware image's) hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HashMatch {
    /// Pointer of the component in the supplier SBOM.
    pub supplier_pointer: String,
    /// Its name and version as the supplier wrote them.
    pub supplier_label: String,
    /// The bom-ref of the scanned component in the product SBOM.
    pub scanned_ref: String,
    /// `SHA-512` or `SHA-256`: the strongest hash that matched.
    pub algorithm: &'static str,
    /// True when the supplier's name and version agree with the scanned ones too.
    pub same_name_and_version: bool,
}

/// The outcome of matching one supplier SBOM against the product SBOM. Nothing is merged.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MatchReport {
    /// Hash matches.
    pub matched: Vec<HashMatch>,
    /// Supplier components with hashes that match nothing scanned (pointers).
    pub supplier_unmatched: Vec<String>,
    /// Supplier components without any SHA-256/512 hash, which cannot be matched (pointers).
    pub supplier_without_hash: Vec<String>,
    /// Scanned components (bom-refs, with hashes) that no supplier component matches.
    pub scanned_unmatched: Vec<String>,
}

/// A scanned component: bom-ref, name, version.
type Scanned<'a> = (&'a str, &'a str, Option<&'a str>);

/// Matches supplier components to the product SBOM's components by SHA-512, then SHA-256.
pub fn match_components(supplier: &SupplierBom, bom: &Bom) -> MatchReport {
    let mut by_sha512: BTreeMap<String, Vec<Scanned<'_>>> = BTreeMap::new();
    let mut by_sha256: BTreeMap<String, Vec<Scanned<'_>>> = BTreeMap::new();
    let mut scanned_with_hash = Vec::new();
    for (_, component) in bom.all_components() {
        let Some(bom_ref) = component.bom_ref.as_deref() else {
            continue;
        };
        if !component.hashes.is_empty() {
            scanned_with_hash.push(bom_ref);
        }
        for hash in &component.hashes {
            let entry = (
                bom_ref,
                component.name.as_str(),
                component.version.as_deref(),
            );
            match hash.alg {
                HashAlgorithm::Sha512 => by_sha512
                    .entry(hash.content.to_ascii_lowercase())
                    .or_default()
                    .push(entry),
                HashAlgorithm::Sha256 => by_sha256
                    .entry(hash.content.to_ascii_lowercase())
                    .or_default()
                    .push(entry),
                _ => {}
            }
        }
    }
    let mut report = MatchReport::default();
    let mut matched_refs = std::collections::BTreeSet::new();
    for component in &supplier.components {
        if component.sha256.is_empty() && component.sha512.is_empty() {
            report.supplier_without_hash.push(component.pointer.clone());
            continue;
        }
        let mut hits: Vec<(&str, &str, Option<&str>, &'static str)> = Vec::new();
        for digest in &component.sha512 {
            for (r, n, v) in by_sha512.get(&digest.to_hex()).into_iter().flatten() {
                hits.push((r, n, *v, "SHA-512"));
            }
        }
        if hits.is_empty() {
            for digest in &component.sha256 {
                for (r, n, v) in by_sha256.get(&digest.to_hex()).into_iter().flatten() {
                    hits.push((r, n, *v, "SHA-256"));
                }
            }
        }
        if hits.is_empty() {
            report.supplier_unmatched.push(component.pointer.clone());
        }
        hits.sort();
        hits.dedup_by(|a, b| a.0 == b.0);
        for (scanned_ref, name, version, algorithm) in hits {
            matched_refs.insert(scanned_ref);
            report.matched.push(HashMatch {
                supplier_pointer: component.pointer.clone(),
                supplier_label: match &component.version {
                    Some(v) => format!("{}@{v}", component.name),
                    None => component.name.clone(),
                },
                scanned_ref: scanned_ref.to_owned(),
                algorithm,
                same_name_and_version: name.eq_ignore_ascii_case(&component.name)
                    && version == component.version.as_deref(),
            });
        }
    }
    report.scanned_unmatched = scanned_with_hash
        .into_iter()
        .filter(|r| !matched_refs.contains(r))
        .map(str::to_owned)
        .collect();
    report.scanned_unmatched.sort();
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_1_3_with_nesting_and_links() {
        let doc = json!({
            "bomFormat": "CycloneDX", "specVersion": "1.3", "version": 2,
            "serialNumber": "urn:uuid:3E671687-395B-41F5-A30F-A58921A69B79",
            "components": [{"type": "library", "name": "a", "components": [{"type": "file", "name": "b",
                "hashes": [{"alg": "SHA-256", "content": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}]}]}]
        });
        let bom = read_supplier_bom(&doc).unwrap();
        assert_eq!(bom.components.len(), 2);
        assert_eq!(bom.components[1].pointer, "/components/0/components/0");
        assert_eq!(bom.components[1].sha256.len(), 1);
        assert_eq!(
            bom.bom_link().unwrap(),
            "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/2"
        );
    }

    #[test]
    fn errors_have_pointers() {
        for (doc, want) in [
            (
                json!({"bomFormat": "CycloneDX", "specVersion": "1.2"}),
                "`/specVersion` is `1.2`; consign reads CycloneDX 1.3 to 1.7",
            ),
            (
                json!({"bomFormat": "CycloneDX", "specVersion": "1.4", "components": {}}),
                "`/components` must be an array",
            ),
            (
                json!({"bomFormat": "CycloneDX", "specVersion": "1.4", "components": [{"name": 1}]}),
                "`/components/0/name` must be a string",
            ),
            (
                json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{"name": "x", "hashes": [{"alg": "SHA-512", "content": "00"}]}]}),
                "`/components/0/hashes/0/content` is not a SHA-512 hex digest",
            ),
        ] {
            assert_eq!(read_supplier_bom(&doc).unwrap_err().to_string(), want);
        }
    }
}
