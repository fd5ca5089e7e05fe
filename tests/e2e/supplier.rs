//! `consign scan --supplier-sbom`: a supplier's CycloneDX SBOM (1.3 to 1.7) is linked from the
//! product SBOM and matched to the scanned components by hash; nothing is merged, and a hostile
//! document gives an error with its JSON pointer.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::run;

/// The SHA-256 values the scan recorded for the component called `name`.
fn sha256_of(sbom: &Value, name: &str) -> Vec<String> {
    let component = sbom["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no `{name}` in the scanned SBOM"));
    component["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["alg"] == "SHA-256")
        .map(|h| h["content"].as_str().unwrap().to_owned())
        .collect()
}

/// A supplier SBOM in the shape of `spec`: one component that agrees with the scan, one with the
/// hash of another scanned file under another name, one matching nothing, one without hashes.
fn supplier_sbom(spec: &str, openssl: &str, busybox: &str) -> Value {
    let mut doc = json!({
        "bomFormat": "CycloneDX",
        "specVersion": spec,
        "version": 1,
        "metadata": {"component": {"type": "device", "name": "Acme crypto module"}},
        "components": [
            {"type": "library", "name": "openssl", "version": "3.0.13",
             "hashes": [{"alg": "SHA-256", "content": openssl}]},
            {"type": "application", "name": "toybox", "version": "0.8.9",
             "hashes": [{"alg": "SHA-256", "content": busybox}]},
            {"type": "library", "name": "unrelated", "version": "1.0",
             "hashes": [{"alg": "SHA-256", "content": "ab".repeat(32)}]},
            {"type": "library", "name": "nohash", "version": "2.0"}
        ]
    });
    if spec != "1.3" {
        doc["serialNumber"] = json!("urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79");
    }
    doc
}

fn write_json(dir: &Path, name: &str, value: &Value) {
    std::fs::write(dir.join(name), serde_json::to_vec_pretty(value).unwrap()).unwrap();
}

#[test]
fn supplier_sboms_are_linked_and_matched_by_hash_never_merged() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let demo = run(dir, &["-q", "demo", "--dir", "demo"]);
    assert_eq!(demo.code, 0, "{}", demo.stderr);
    let dir = &dir.join("demo");
    let plain = run(dir, &["-q", "scan", "firmware.bin", "-o", "plain.cdx.json"]);
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    let scanned: Value =
        serde_json::from_slice(&std::fs::read(dir.join("plain.cdx.json")).unwrap()).unwrap();
    let openssl = sha256_of(&scanned, "openssl")[0].clone();
    let busybox = sha256_of(&scanned, "busybox")[0].clone();

    for spec in ["1.3", "1.4", "1.5", "1.6", "1.7"] {
        let file = format!("supplier-{spec}.cdx.json");
        write_json(dir, &file, &supplier_sbom(spec, &openssl, &busybox));
        let out = run(
            dir,
            &[
                "scan",
                "firmware.bin",
                "--supplier-sbom",
                &file,
                "-o",
                "linked.cdx.json",
            ],
        );
        assert_eq!(out.code, 0, "{spec}: {}", out.stderr);
        assert!(
            out.stderr.contains(&format!(
                "supplier SBOM {file}: 4 component(s); 2 match scanned components by hash (1 with the same name and version), 1 match nothing scanned, 1 carry no hash"
            )),
            "{spec}: {}",
            out.stderr
        );
        assert!(
            out.stderr
                .contains("/components/1 (`toybox@0.8.9`) has the SHA-256 of scanned component")
                && out.stderr.contains("not merged"),
            "{spec}: {}",
            out.stderr
        );
        let linked: Value =
            serde_json::from_slice(&std::fs::read(dir.join("linked.cdx.json")).unwrap()).unwrap();
        // Linked, not merged: the supplier's components are not in the product SBOM.
        assert_eq!(linked["components"], scanned["components"], "{spec}");
        let link = linked["externalReferences"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == "bom")
            .unwrap();
        let want = if spec == "1.3" {
            file.clone()
        } else {
            "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1".to_owned()
        };
        assert_eq!(link["url"], want.as_str(), "{spec}");
        assert_eq!(link["hashes"].as_array().unwrap().len(), 2, "{spec}");
        let valid = run(dir, &["sbom", "validate", "linked.cdx.json"]);
        assert_eq!(valid.code, 0, "{spec}: {}{}", valid.stdout, valid.stderr);
    }
}

#[test]
fn hostile_supplier_sboms_are_refused_with_their_json_pointer() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(
        dir.join("fw.bin"),
        b"\x7fELF not much of a firmware image at all",
    )
    .unwrap();
    let mut deep = String::new();
    for _ in 0..10_000 {
        deep.push('[');
    }
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "wrong-type.json",
            serde_json::to_vec(&json!({"bomFormat": "CycloneDX", "specVersion": "1.5",
                "components": [{"type": "library", "name": 42}]}))
            .unwrap(),
            "/components/0/name",
        ),
        (
            "not-cyclonedx.json",
            serde_json::to_vec(&json!({"spdxVersion": "SPDX-2.3"})).unwrap(),
            "/bomFormat",
        ),
        (
            "future.json",
            serde_json::to_vec(&json!({"bomFormat": "CycloneDX", "specVersion": "9.9"})).unwrap(),
            "/specVersion",
        ),
        ("deep.json", deep.into_bytes(), "nest"),
        ("not-json.json", b"\xff\xfe garbage".to_vec(), "line 1"),
    ];
    for (name, bytes, expect) in cases {
        std::fs::write(dir.join(name), bytes).unwrap();
        let out = run(dir, &["scan", "fw.bin", "--supplier-sbom", name]);
        assert_eq!(out.code, 2, "{name}: {}", out.stderr);
        assert!(
            out.stderr.contains(name) && out.stderr.contains(expect),
            "{name}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"), "{name}: {}", out.stderr);
    }
}
