//! SBOM interop: the users' own validators judge consign's CycloneDX 1.6/1.7 and SPDX 2.3 output,
//! and confirm that the SBOMs of other tools and the supplier SBOM shapes (1.3 to 1.7) consign is
//! tested on are what they claim to be.
//!
//! `check-jsonschema` (`PyPI`) against the vendored official schema, `@cyclonedx/cyclonedx-library`
//! (npm) with its strict JSON validator, and `pyspdxtools` (`PyPI` `spdx-tools`) on the SPDX export.
//! Each judge also gets a deliberately broken document that it must reject, so a judge that passes
//! everything is caught.
#![allow(clippy::unwrap_used)] // Test helpers: a failed setup step should stop the test loudly.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use consign_model::{
    Component, ComponentKind, Confidence, Digests, Method, Occurrence, ProductFile, Upstream,
};
use consign_sbom::{
    ImageInput, MissingVersion, SbomInput, SpecVersion, Timestamp, build, to_json, to_spdx_json,
    to_spdx3_json,
};

use crate::support::{repo_root, tool};

/// The CycloneDX library's validator, run by Node. Exit 0 valid, 1 invalid (errors printed), 2 error.
pub(crate) const NODE_VALIDATOR: &str = r"
const { Validation, Spec } = require('@cyclonedx/cyclonedx-library');
const fs = require('fs');
const [, , version, file] = process.argv;
const versions = { '1.3': Spec.Version.v1dot3, '1.4': Spec.Version.v1dot4, '1.5': Spec.Version.v1dot5,
  '1.6': Spec.Version.v1dot6, '1.7': Spec.Version.v1dot7 };
if (!versions[version]) { console.error('unsupported version ' + version); process.exit(2); }
const validator = new Validation.JsonStrictValidator(versions[version]);
validator.validate(fs.readFileSync(file, 'utf8')).then((errors) => {
  if (errors === null) { console.log('valid'); process.exit(0); }
  console.log(JSON.stringify(errors, null, 2)); process.exit(1);
}).catch((err) => { console.error(String(err)); process.exit(2); });
";

/// The SPDX 3.0.1 judge: the SPDX project's Python bindings (`spdx-python-model`, generated from
/// the official SHACL model) read the document, resolve every reference, and write it again, which
/// checks every required property and cardinality. Exit 0 valid, 1 invalid (the reason printed).
pub(crate) const SPDX3_VALIDATOR: &str = r#"
import io, sys
from spdx_python_model import v3_0_1 as spdx
objset = spdx.SHACLObjectSet()
try:
    with open(sys.argv[1], "rb") as f:
        spdx.JSONLDDeserializer().read(f, objset)
    missing = objset.link()
    if missing:
        print("references to elements not in the document:", sorted(missing))
        sys.exit(1)
    spdx.JSONLDSerializer().write(objset, io.BytesIO())
except Exception as err:
    print(f"{type(err).__name__}: {err}")
    sys.exit(1)
print("valid:", len(objset.objects), "objects")
"#;

/// One way to break an SPDX 3 document, given the index of a package in its graph.
type Edit = fn(&mut serde_json::Value, usize);

/// Runs [`SPDX3_VALIDATOR`] (written to `script`) on `file`.
pub(crate) fn spdx3_validator(script: &Path, file: &Path) -> Output {
    tool("python").arg(script).arg(file).output().unwrap()
}

fn detected(name: &str, version: Option<&str>, files: &[&str], needs: &[&str]) -> Component {
    Component {
        name: name.into(),
        version: version.map(Into::into),
        kind: ComponentKind::Library,
        cpe_vendor: Some(name.into()),
        cpe_product: Some(name.into()),
        purl: Some(format!("pkg:generic/{name}")),
        supplier: None,
        licenses: vec!["GPL-2.0-only".into()],
        upstream: Upstream::default(),
        occurrences: files
            .iter()
            .map(|path| Occurrence {
                location: format!("fw.img/squashfs@0x40000{path}"),
                offset: Some(64),
                matched: Some(format!("{name} {}", version.unwrap_or("?"))),
                method: Method::BinaryAnalysis,
                confidence: Confidence::High,
                states: None,
                count: None,
            })
            .collect(),
        confidence: Confidence::High,
        files: files
            .iter()
            .map(|path| ((*path).to_owned(), Digests::of(path.as_bytes())))
            .collect(),
        modified: Some(1_700_000_000),
        depends_on: needs.iter().map(|n| (*n).to_owned()).collect(),
    }
}

/// (file name, contents, spec) for every SBOM the writer makes from a synthetic scan.
fn sboms(dir: &Path) -> Vec<(PathBuf, SpecVersion)> {
    let found = vec![
        detected(
            "openssl",
            Some("3.0.11"),
            &["/usr/lib/libssl.so.3", "/usr/lib/libcrypto.so.3"],
            &["glibc"],
        ),
        detected("glibc", Some("2.36"), &["/lib/libc.so.6"], &[]),
        detected("busybox", Some("1.36.1"), &["/bin/busybox"], &["glibc"]),
        // No release in the binary: its file's date, as a property or as the version.
        detected("gcc", None, &["/lib/libgcc_s.so.1"], &[]),
    ];
    let radio = vec![detected("lwip", Some("2.1.3"), &["radio.bin"], &[])];
    let product_text =
        std::fs::read_to_string(repo_root().join("fixtures/sbom/product.toml")).unwrap();
    let product = ProductFile::from_toml(&product_text).unwrap();
    let single = [ImageInput {
        name: "fw.img",
        digests: Digests::of(b"fw"),
        components: &found,
        version: Some("1.0"),
        supplier: None,
    }];
    let pair = [
        ImageInput {
            name: "fw.img",
            digests: Digests::of(b"fw"),
            components: &found,
            version: None,
            supplier: None,
        },
        ImageInput {
            name: "radio.bin",
            digests: Digests::of(b"radio"),
            components: &radio,
            version: Some("7.1"),
            supplier: Some("Example Radio Ltd"),
        },
    ];
    let mut out = Vec::new();
    for (label, images, product) in [
        ("single", &single[..], None),
        ("device", &pair[..], Some(&product)),
    ] {
        let bom = build(&SbomInput {
            images,
            product,
            serial_number: None,
            timestamp: Timestamp::from_unix_seconds(1_767_225_600).unwrap(),
            tool_name: "consign",
            tool_version: "0.1.0",
            supplier_boms: &[],
            // Both ways of writing a component with no release go through the validators.
            missing_version: if product.is_some() {
                MissingVersion::FileDate
            } else {
                MissingVersion::Omit
            },
        });
        for spec in [SpecVersion::V1_6, SpecVersion::V1_7] {
            let path = dir.join(format!("{label}-{spec}.cdx.json"));
            std::fs::write(&path, to_json(&bom, spec)).unwrap();
            out.push((path, spec));
        }
        std::fs::write(dir.join(format!("{label}.spdx.json")), to_spdx_json(&bom)).unwrap();
        std::fs::write(dir.join(format!("{label}.spdx3.json")), to_spdx3_json(&bom)).unwrap();
    }
    out
}

fn broken_copy(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut json);
    let broken = path.with_extension("broken.json");
    std::fs::write(&broken, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    broken
}

fn break_cyclonedx(json: &mut serde_json::Value) {
    json["components"][0]["type"] = "gadget".into();
    json["components"][1]["hashes"][0]["content"] = "not a digest".into();
}

pub(crate) fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `check-jsonschema` against the vendored schema of `spec` (`1.5`, `1.6` or `1.7`).
pub(crate) fn check_jsonschema(file: &Path, spec: &str) -> Output {
    let schemas = repo_root().join("schemas/cyclonedx");
    let schemas = schemas.canonicalize().unwrap();
    tool("check-jsonschema")
        .arg("--base-uri")
        .arg(format!("file://{}/", schemas.display()))
        .arg("--schemafile")
        .arg(schemas.join(format!("bom-{spec}.schema.json")))
        .arg(file)
        .output()
        .unwrap()
}

/// The CycloneDX library's strict validator for `spec` (`1.3` to `1.7`).
pub(crate) fn cyclonedx_library(script: &Path, file: &Path, spec: &str) -> Output {
    let modules = repo_root().join("target/interop/node/node_modules");
    assert!(
        modules.join("@cyclonedx/cyclonedx-library").exists(),
        "the outside tool `@cyclonedx/cyclonedx-library` is not installed\n\nhint: run `cargo xtask tools` (it installs every tool the interop tests run)"
    );
    Command::new("node")
        .env("NODE_PATH", modules)
        .arg(script)
        .arg(spec)
        .arg(file)
        .output()
        .unwrap()
}

#[test]
fn check_jsonschema_accepts_ours_and_rejects_broken() {
    let dir = tempfile::tempdir().unwrap();
    for (path, spec) in sboms(dir.path()) {
        let output = check_jsonschema(&path, spec.as_str());
        assert!(
            output.status.success(),
            "{}: {}",
            path.display(),
            describe(&output)
        );
        let broken = broken_copy(&path, break_cyclonedx);
        let output = check_jsonschema(&broken, spec.as_str());
        assert_eq!(
            output.status.code(),
            Some(1),
            "{}: {}",
            broken.display(),
            describe(&output)
        );
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("gadget"),
            "{}",
            describe(&output)
        );
    }
}

#[test]
fn cyclonedx_library_accepts_ours_and_rejects_broken() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("validate.js");
    std::fs::write(&script, NODE_VALIDATOR).unwrap();
    for (path, spec) in sboms(dir.path()) {
        let output = cyclonedx_library(&script, &path, spec.as_str());
        assert!(
            output.status.success(),
            "{}: {}",
            path.display(),
            describe(&output)
        );
        let broken = broken_copy(&path, break_cyclonedx);
        let output = cyclonedx_library(&script, &broken, spec.as_str());
        assert_eq!(
            output.status.code(),
            Some(1),
            "{}: {}",
            broken.display(),
            describe(&output)
        );
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("/components/0/type"),
            "{}",
            describe(&output)
        );
    }
}

#[test]
fn pyspdxtools_accepts_ours_and_rejects_broken() {
    let dir = tempfile::tempdir().unwrap();
    sboms(dir.path());
    for label in ["single", "device"] {
        let path = dir.path().join(format!("{label}.spdx.json"));
        let output = tool("pyspdxtools").arg("-i").arg(&path).output().unwrap();
        assert!(
            output.status.success(),
            "{}: {}",
            path.display(),
            describe(&output)
        );
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(consign_sbom::validate_spdx_schema(&json).is_empty());
        // A relationship to an element that does not exist, and a checksum of the wrong length.
        let broken = broken_copy(&path, |json| {
            json["relationships"][0]["relatedSpdxElement"] = "SPDXRef-Nowhere".into();
            json["packages"][1]["checksums"] =
                serde_json::json!([{"algorithm": "SHA256", "checksumValue": "abc"}]);
        });
        let output = tool("pyspdxtools").arg("-i").arg(&broken).output().unwrap();
        assert!(
            !output.status.success(),
            "{}: {}",
            broken.display(),
            describe(&output)
        );
    }
}

/// The SPDX 3.0.1 export passes the SPDX project's own model bindings, and each kind of break
/// the bindings guard against is refused: an enumeration value the model lacks, a required
/// property left out, a property the model does not have, a reference to no element, a malformed
/// date.
#[test]
fn spdx_python_model_accepts_spdx3_and_rejects_broken() {
    let dir = tempfile::tempdir().unwrap();
    sboms(dir.path());
    let script = dir.path().join("validate_spdx3.py");
    std::fs::write(&script, SPDX3_VALIDATOR).unwrap();
    for label in ["single", "device"] {
        let path = dir.path().join(format!("{label}.spdx3.json"));
        let output = spdx3_validator(&script, &path);
        assert!(
            output.status.success(),
            "{}: {}",
            path.display(),
            describe(&output)
        );
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let graph = json["@graph"].as_array().unwrap();
        let package = graph
            .iter()
            .position(|e| e["type"] == "software_Package" && e["name"] == "openssl")
            .unwrap();
        let breaks: [(&str, Edit); 5] = [
            ("purpose", |j, at| {
                j["@graph"][at]["software_primaryPurpose"] = "gadget".into();
            }),
            ("creation", |j, at| {
                j["@graph"][at]
                    .as_object_mut()
                    .unwrap()
                    .remove("creationInfo");
            }),
            ("property", |j, at| {
                j["@graph"][at]["bsi:component:filename"] = "x".into();
            }),
            ("reference", |j, at| {
                j["@graph"][at]["originatedBy"] = serde_json::json!(["urn:uuid:0#Nowhere"]);
            }),
            ("date", |j, _| {
                j["@graph"][0]["created"] = "2026-01-01".into();
            }),
        ];
        for (name, edit) in breaks {
            let broken = broken_copy(&path, |json| edit(json, package));
            let broken_named = broken.with_extension(format!("{name}.json"));
            std::fs::rename(&broken, &broken_named).unwrap();
            let output = spdx3_validator(&script, &broken_named);
            assert_eq!(
                output.status.code(),
                Some(1),
                "{name}: {}",
                describe(&output)
            );
        }
    }
}

/// The supplier SBOM templates (`fixtures/sbom/supplier/`) with their hash placeholders filled by
/// valid digests, as (spec version, file).
fn supplier_shapes(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for spec in ["1.3", "1.4", "1.5", "1.6", "1.7"] {
        let template = repo_root().join(format!("fixtures/sbom/supplier/cdx-{spec}.json"));
        let mut text = std::fs::read_to_string(template).unwrap();
        while let Some(start) = text.find("{{") {
            let end = start + text[start..].find("}}").unwrap() + 2;
            let digest = if text[start..end].starts_with("{{sha512:") {
                "cd".repeat(64)
            } else {
                "ab".repeat(32)
            };
            text.replace_range(start..end, &digest);
        }
        let path = dir.join(format!("supplier-{spec}.cdx.json"));
        std::fs::write(&path, text).unwrap();
        out.push((spec.to_owned(), path));
    }
    out
}

/// What consign's tests take as other tools' SBOMs and as suppliers' SBOMs of each spec version
/// must be exactly that: the outside validators accept them at their declared version (and reject
/// a broken one, so a validator that passes everything is caught even for 1.3).
#[test]
fn other_tools_and_supplier_shapes_pass_both_validators() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("validate.js");
    std::fs::write(&script, NODE_VALIDATOR).unwrap();
    let mut documents = supplier_shapes(dir.path());
    for (spec, name) in [
        ("1.7", "cve-bin-tool-3.4.cdx.json"),
        ("1.6", "blint-4.0.1.cdx.json"),
    ] {
        documents.push((
            spec.to_owned(),
            repo_root().join("fixtures/sbom").join(name),
        ));
    }
    for (spec, path) in &documents {
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(json["specVersion"], spec.as_str(), "{}", path.display());
        let output = cyclonedx_library(&script, path, spec);
        assert!(
            output.status.success(),
            "{}: {}",
            path.display(),
            describe(&output)
        );
        // 1.3 and 1.4 schemas are not vendored; the CycloneDX library carries its own.
        if spec.as_str() >= "1.5" {
            let output = check_jsonschema(path, spec);
            assert!(
                output.status.success(),
                "{}: {}",
                path.display(),
                describe(&output)
            );
        }
    }
    for (spec, path) in documents.iter().take(2) {
        let broken = broken_copy(path, break_cyclonedx);
        let output = cyclonedx_library(&script, &broken, spec);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{}: {}",
            broken.display(),
            describe(&output)
        );
    }
}
