//! SPDX 2.3 JSON export of a consign BOM, valid against the SPDX 2.3 schema vendored in
//! `schemas/spdx/` and accepted by `spdx-tools`.
//!
//! Mapping: every CycloneDX component becomes a package (`filesAnalyzed: false`); the document
//! `DESCRIBES` the root; containment (device to firmware, firmware to components) becomes
//! `CONTAINS` and `dependsOn` becomes `DEPENDS_ON`. Checksums are written only when one file carries
//! the component, because SPDX has one checksum per algorithm for a package. Licences marked
//! `concluded` become `licenseConcluded`, the others `licenseDeclared`, each when they are valid
//! SPDX expressions (see [`crate::spdx_expression`]), else `NOASSERTION`. What the CycloneDX evidence says (occurrences, offsets, confidence) has no
//! SPDX 2.3 field and is left out.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::cyclonedx::{Acknowledgement, Bom, Component, ComponentType, HashAlgorithm};

fn spdx_id(index: usize, name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || ch == '.' || ch == '-' {
                ch
            } else {
                '-'
            }
        })
        .take(60)
        .collect();
    format!("SPDXRef-Package-{index}-{cleaned}")
}

fn purpose(kind: &ComponentType) -> &'static str {
    match kind {
        ComponentType::Application => "APPLICATION",
        ComponentType::Framework => "FRAMEWORK",
        ComponentType::OperatingSystem => "OPERATING_SYSTEM",
        ComponentType::Device => "DEVICE",
        ComponentType::Firmware => "FIRMWARE",
        ComponentType::File => "FILE",
        ComponentType::Container => "CONTAINER",
        ComponentType::Library => "LIBRARY",
        _ => "OTHER",
    }
}

fn package(id: &str, component: &Component) -> Value {
    let mut package = json!({
        "SPDXID": id,
        "name": component.name,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "licenseConcluded": crate::license::of_component(component, &Acknowledgement::Concluded).unwrap_or_else(|| "NOASSERTION".to_owned()),
        "licenseDeclared": crate::license::of_component(component, &Acknowledgement::Declared).unwrap_or_else(|| "NOASSERTION".to_owned()),
        "copyrightText": "NOASSERTION",
        "primaryPackagePurpose": purpose(&component.component_type),
    });
    let object = package.as_object_mut();
    let Some(object) = object else { return package };
    if let Some(version) = &component.version {
        object.insert("versionInfo".into(), json!(version));
    }
    let organisation = component
        .manufacturer
        .as_ref()
        .or(component.supplier.as_ref())
        .and_then(|entity| entity.name.clone());
    object.insert(
        "supplier".into(),
        json!(organisation.map_or_else(
            || "NOASSERTION".to_owned(),
            |name| format!("Organization: {}", name.replace(['(', ')'], ""))
        )),
    );
    let sha512: Vec<&str> = component
        .hashes
        .iter()
        .filter(|h| h.alg == HashAlgorithm::Sha512)
        .map(|h| h.content.as_str())
        .collect();
    let sha256: Vec<&str> = component
        .hashes
        .iter()
        .filter(|h| h.alg == HashAlgorithm::Sha256)
        .map(|h| h.content.as_str())
        .collect();
    if sha512.len() == 1 && sha256.len() == 1 {
        object.insert(
            "checksums".into(),
            json!([
                {"algorithm": "SHA256", "checksumValue": sha256[0]},
                {"algorithm": "SHA512", "checksumValue": sha512[0]},
            ]),
        );
    }
    let mut refs = Vec::new();
    if let Some(cpe) = &component.cpe {
        refs.push(json!({"referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": cpe}));
    }
    if let Some(purl) = &component.purl {
        refs.push(json!({"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}));
    }
    if !refs.is_empty() {
        object.insert("externalRefs".into(), Value::Array(refs));
    }
    package
}

/// Converts the BOM to SPDX 2.3 JSON, pretty, with a trailing newline. Deterministic: the
/// document namespace comes from the BOM's serial number and the order from the BOM's.
pub fn to_spdx_json(bom: &Bom) -> String {
    let metadata = bom.metadata.as_ref();
    let root = metadata.and_then(|m| m.component.as_deref());
    let mut packages = Vec::new();
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let mut relationships = Vec::new();
    let mut index = 0usize;
    let mut add = |component: &Component,
                   packages: &mut Vec<Value>,
                   ids: &mut BTreeMap<String, String>|
     -> String {
        index += 1;
        let id = spdx_id(index, &component.name);
        if let Some(bom_ref) = &component.bom_ref {
            ids.insert(bom_ref.clone(), id.clone());
        }
        packages.push(package(&id, component));
        id
    };
    let mut root_id = None;
    if let Some(root) = root {
        let id = add(root, &mut packages, &mut ids);
        for child in &root.components {
            let child_id = add(child, &mut packages, &mut ids);
            relationships.push((id.clone(), "CONTAINS", child_id));
        }
        root_id = Some(id);
    }
    // Containers: the root, its firmware images, and any component with nested ones (a supplier's
    // part nested by `consign scan --supplier-sbom-mode nest`). Their dependencies are containment.
    let mut containers: Vec<&str> = root
        .into_iter()
        .flat_map(|r| std::iter::once(r).chain(&r.components))
        .filter_map(|c| c.bom_ref.as_deref())
        .collect();
    for component in &bom.components {
        let id = add(component, &mut packages, &mut ids);
        if let Some(bom_ref) = component.bom_ref.as_deref()
            && !component.components.is_empty()
        {
            containers.push(bom_ref);
        }
        for child in &component.components {
            let child_id = add(child, &mut packages, &mut ids);
            relationships.push((id.clone(), "CONTAINS", child_id));
        }
    }
    for dependency in &bom.dependencies {
        let Some(from) = ids.get(&dependency.dependency_ref) else {
            continue;
        };
        let from_is_firmware_or_device = containers.contains(&dependency.dependency_ref.as_str());
        for target in &dependency.depends_on {
            let Some(to) = ids.get(target) else { continue };
            let kind = if from_is_firmware_or_device {
                "CONTAINS"
            } else {
                "DEPENDS_ON"
            };
            if !relationships
                .iter()
                .any(|(a, k, b)| a == from && *k == kind && b == to)
            {
                relationships.push((from.clone(), kind, to.clone()));
            }
        }
    }
    let mut relationship_values = Vec::new();
    if let Some(root_id) = &root_id {
        relationship_values.push(json!({"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": root_id}));
    }
    relationship_values.extend(relationships.into_iter().map(|(a, kind, b)| {
        json!({"spdxElementId": a, "relationshipType": kind, "relatedSpdxElement": b})
    }));

    let mut creators = Vec::new();
    if let Some(crate::cyclonedx::Tools::Current { components, .. }) =
        metadata.and_then(|m| m.tools.as_ref())
    {
        for tool in components {
            creators.push(format!(
                "Tool: {}-{}",
                tool.name,
                tool.version.as_deref().unwrap_or("unknown")
            ));
        }
    }
    if let Some(manufacturer) = metadata.and_then(|m| m.manufacturer.as_ref())
        && let Some(name) = &manufacturer.name
    {
        let email = manufacturer
            .contact
            .iter()
            .find_map(|c| c.email.clone())
            .unwrap_or_default();
        creators.push(format!(
            "Organization: {} ({email})",
            name.replace(['(', ')'], "")
        ));
    }
    if creators.is_empty() {
        creators.push("Tool: unknown".to_owned());
    }
    let serial = bom
        .serial_number
        .as_deref()
        .unwrap_or("urn:uuid:00000000-0000-0000-0000-000000000000");
    let uuid = serial.strip_prefix("urn:uuid:").unwrap_or(serial);
    let name = root.map_or_else(
        || "sbom".to_owned(),
        |r| match &r.version {
            Some(v) => format!("{}-{v}", r.name),
            None => r.name.clone(),
        },
    );
    // SPDX requires every `LicenseRef-` used in an expression to be declared in the document.
    let mut license_refs: Vec<String> = packages
        .iter()
        .flat_map(|p| ["licenseDeclared", "licenseConcluded"].map(|key| p.get(key)))
        .filter_map(|value| value.and_then(Value::as_str))
        .flat_map(|expression| {
            expression
                .split([' ', '(', ')'])
                .filter(|token| token.starts_with("LicenseRef-"))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    license_refs.sort();
    license_refs.dedup();
    let extracted: Vec<Value> = license_refs
        .iter()
        .map(|id| {
            json!({
                "licenseId": id,
                "name": id.trim_start_matches("LicenseRef-"),
                "extractedText": "The SBOM names this licence by reference only; its text is not part of this document.",
            })
        })
        .collect();
    let mut document = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        "documentNamespace": format!("https://spdx.org/spdxdocs/consign/{uuid}"),
        "creationInfo": {
            "created": metadata.and_then(|m| m.timestamp.clone()).unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned()),
            "creators": creators,
        },
        "documentDescribes": root_id.iter().collect::<Vec<_>>(),
        "packages": packages,
        "relationships": relationship_values,
    });
    if !extracted.is_empty()
        && let Some(object) = document.as_object_mut()
    {
        object.insert("hasExtractedLicensingInfos".into(), Value::Array(extracted));
    }
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cyclonedx::{Bom, Component};

    /// Every component type consign can write maps to a package purpose the SPDX 2.3 schema
    /// allows (a Linux kernel is `operating-system` in CycloneDX, `OPERATING_SYSTEM` in SPDX).
    #[test]
    fn every_component_type_gives_a_valid_purpose() {
        let kinds = crate::supplier::COMPONENT_TYPES;
        let bom = Bom {
            bom_format: "CycloneDX".into(),
            spec_version: "1.6".into(),
            version: 1,
            components: kinds
                .iter()
                .map(|kind| Component {
                    component_type: ComponentType::from((*kind).to_owned()),
                    bom_ref: Some(format!("ref-{kind}")),
                    name: (*kind).to_owned(),
                    ..Component::default()
                })
                .collect(),
            ..Bom::default()
        };
        let spdx: Value = serde_json::from_str(&to_spdx_json(&bom)).unwrap();
        assert_eq!(crate::validate_spdx_schema(&spdx), Vec::new());
    }
}
