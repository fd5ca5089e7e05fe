//! The components of a CycloneDX SBOM (1.3 to 1.7 JSON, any tool's), read as [`Target`]s.
//!
//! Every component with a package URL or a CPE is a target, nested ones included; the root
//! (`metadata.component`) is kept apart as the [`Subject`] VEX statements may name. A version
//! that a consign SBOM marks with `consign:version-source` (a file date standing in for a
//! release no binary states) is not a release: the target's version is unknown.

use serde_json::Value;

use crate::error::{VulnError, from_json};
use crate::matching::Target;
use crate::vex::Subject;

/// The largest SBOM read, in bytes.
pub const MAX_SBOM_BYTES: usize = 256 << 20;
/// The most components read.
pub const MAX_COMPONENTS: usize = 1_000_000;

/// What an SBOM holds for matching.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SbomTargets {
    /// The components.
    pub targets: Vec<Target>,
    /// The firmware or device it describes.
    pub subject: Subject,
    /// The SBOM's `version` (for BOM-Links).
    pub version: u64,
    /// Components that have neither a package URL nor a CPE: they cannot be matched.
    pub unmatchable: Vec<String>,
}

fn target_of(component: &Value, pointer: &str) -> Target {
    let text = |key: &str| {
        component
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let not_a_release = component
        .get("properties")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|p| p.get("name").and_then(Value::as_str) == Some("consign:version-source"));
    let hashes = component
        .get("hashes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|h| {
            h.get("alg")
                .and_then(Value::as_str)
                .is_some_and(|a| a == "SHA-256" || a == "SHA-512")
        })
        .filter_map(|h| h.get("content").and_then(Value::as_str))
        .map(str::to_ascii_lowercase)
        .collect();
    Target {
        bom_ref: text("bom-ref").unwrap_or_else(|| pointer.to_owned()),
        name: text("name").unwrap_or_default(),
        version: if not_a_release { None } else { text("version") },
        cpe: text("cpe"),
        purl: text("purl"),
        hashes,
    }
}

fn walk(
    component: &Value,
    pointer: &str,
    depth: usize,
    out: &mut SbomTargets,
) -> Result<(), String> {
    if depth > 32 {
        return Err(format!("{pointer}: components nest deeper than 32 levels"));
    }
    if !component.is_object() {
        return Err(format!("{pointer}: a component is an object"));
    }
    let target = target_of(component, pointer);
    if target.is_matchable() {
        out.targets.push(target);
    } else {
        out.unmatchable.push(target.bom_ref);
    }
    if out.targets.len() + out.unmatchable.len() > MAX_COMPONENTS {
        return Err(format!("more than {MAX_COMPONENTS} components"));
    }
    if let Some(children) = component.get("components").and_then(Value::as_array) {
        for (idx, child) in children.iter().enumerate() {
            walk(
                child,
                &format!("{pointer}/components/{idx}"),
                depth + 1,
                out,
            )?;
        }
    }
    Ok(())
}

/// Reads the targets of a CycloneDX JSON SBOM.
pub fn targets(file: &str, bytes: &[u8]) -> Result<SbomTargets, VulnError> {
    if bytes.len() > MAX_SBOM_BYTES {
        return Err(VulnError::TooLarge {
            file: file.to_owned(),
            what: format!("the SBOM ({} bytes)", bytes.len()),
            limit: format!("{MAX_SBOM_BYTES} bytes"),
        });
    }
    crate::error::strict(file, bytes, MAX_SBOM_BYTES)?;
    let value: Value = from_json(file, "", "CycloneDX SBOM", bytes)?;
    targets_of(file, &value)
}

/// [`targets`] of an SBOM already parsed.
pub fn targets_of(file: &str, bom: &Value) -> Result<SbomTargets, VulnError> {
    let sbom_error = |reason: String| VulnError::Sbom {
        file: file.to_owned(),
        reason,
    };
    if bom.get("bomFormat").and_then(Value::as_str) != Some("CycloneDX") {
        return Err(sbom_error(
            "not a CycloneDX JSON SBOM (`bomFormat` is not `CycloneDX`); matching reads CycloneDX, as `consign scan` writes it".to_owned(),
        ));
    }
    let mut out = SbomTargets {
        version: bom.get("version").and_then(Value::as_u64).unwrap_or(1),
        ..SbomTargets::default()
    };
    out.subject.serial = bom
        .get("serialNumber")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(root) = bom.pointer("/metadata/component") {
        let target = target_of(root, "/metadata/component");
        out.subject.digests.clone_from(&target.hashes);
        out.subject.root = Some(target);
        // Nested components of the root (a device's firmware images) are components too.
        if let Some(children) = root.get("components").and_then(Value::as_array) {
            for (idx, child) in children.iter().enumerate() {
                walk(
                    child,
                    &format!("/metadata/component/components/{idx}"),
                    1,
                    &mut out,
                )
                .map_err(sbom_error)?;
            }
        }
    }
    match bom.get("components") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for (idx, component) in list.iter().enumerate() {
                walk(component, &format!("/components/{idx}"), 0, &mut out).map_err(sbom_error)?;
            }
        }
        Some(_) => return Err(sbom_error("`/components` is not an array".to_owned())),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_components() {
        let bom = br#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79", "version": 2,
            "metadata": {"component": {"type": "firmware", "bom-ref": "firmware:fw.bin", "name": "fw.bin", "hashes": [{"alg": "SHA-256", "content": "AB"}]}},
            "components": [
              {"type": "application", "bom-ref": "b", "name": "busybox", "version": "1.14.1", "cpe": "cpe:2.3:a:busybox:busybox:1.14.1:*:*:*:*:*:*:*", "purl": "pkg:generic/busybox@1.14.1"},
              {"type": "application", "bom-ref": "d", "name": "dropbear", "version": "2023-11-14", "purl": "pkg:generic/dropbear", "properties": [{"name": "consign:version-source", "value": "file-modification-time"}]},
              {"type": "library", "name": "mystery", "version": "1.0", "components": [{"type": "library", "bom-ref": "n", "name": "zlib", "purl": "pkg:generic/zlib@1.2.3", "version": "1.2.3"}]}
            ]}"#;
        let read = targets("bom.json", bom).unwrap();
        let names: Vec<&str> = read.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["busybox", "dropbear", "zlib"]);
        assert_eq!(
            read.targets[1].version, None,
            "a file date is not a release"
        );
        assert_eq!(read.unmatchable, ["/components/2"]);
        assert_eq!(read.subject.digests, ["ab"]);
        assert_eq!(read.version, 2);
        let err = targets("x.json", br#"{"spdxVersion": "SPDX-2.3"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a CycloneDX"), "{err}");
        let err = targets(
            "x.json",
            br#"{"bomFormat": "CycloneDX", "components": [1]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("/components/0"), "{err}");
    }
}
