//! `consign sbom validate`: exit codes and reports on good, broken, foreign and unreadable SBOMs.
//! `consign scan --supplier-sbom`: a supplier's CycloneDX SBOM (1.3 to 1.7) is linked from the
//! product SBOM or nested in it, and matched to the scanned components by hash; nothing is merged,
//! and a hostile document gives an error with its JSON pointer.

use std::collections::BTreeMap;
use std::path::Path;

use consign_model::Digests;
use serde_json::{Value, json};

use crate::support::{repo_root, run};

fn fixture(name: &str) -> String {
    repo_root()
        .join("fixtures/sbom")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn minimal_valid_sbom_passes_without_profile() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("min.cdx.json");
    std::fs::write(
        &path,
        r#"{"bomFormat":"CycloneDX","specVersion":"1.6","version":1}"#,
    )
    .unwrap();
    let out = run(dir.path(), &["sbom", "validate", "min.cdx.json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("min.cdx.json: valid (0 schema errors)"),
        "{}",
        out.stdout
    );
    // The same document is far from what BSI TR-03183-2 asks for: exit 1 with the sections.
    let out = run(
        dir.path(),
        &[
            "sbom",
            "validate",
            "min.cdx.json",
            "--profile",
            "bsi-tr-03183-2",
        ],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("TR-03183-2 section 5.2.1"),
        "{}",
        out.stdout
    );
}

#[test]
fn broken_sbom_lists_paths_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &["sbom", "validate", &fixture("broken.cdx.json")],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    for pointer in [
        "schema: /components/0/name:",
        "schema: /metadata/timestamp:",
        "schema: /serialNumber:",
    ] {
        assert!(
            out.stdout.contains(pointer),
            "{pointer} missing:\n{}",
            out.stdout
        );
    }
}

#[test]
fn other_tools_sboms_get_bsi_gaps_in_json() {
    let dir = tempfile::tempdir().unwrap();
    // Real output of cve-bin-tool 3.4 and blint 4.0.1 (fixtures/sbom/README.md says how made).
    for name in ["cve-bin-tool-3.4.cdx.json", "blint-4.0.1.cdx.json"] {
        let out = run(
            dir.path(),
            &[
                "sbom",
                "validate",
                &fixture(name),
                "--profile",
                "bsi-tr-03183-2",
                "--format",
                "json",
            ],
        );
        assert_eq!(out.code, 1, "{name}: {}{}", out.stdout, out.stderr);
        let report: Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(report["valid"], false, "{name}");
        assert_eq!(
            report["schemaIssues"].as_array().unwrap().len(),
            0,
            "{name}"
        );
        let gaps = report["profileGaps"].as_array().unwrap();
        assert!(
            gaps.iter()
                .any(|g| g["rule"] == "bsi-tr-03183-2:5.2.2:hash-sha-512"
                    && g["pointer"] == "/components/1"),
            "{name}"
        );
        assert!(gaps.iter().any(|g| g["source"] == "manufacturer"), "{name}");
        assert!(
            gaps.iter()
                .all(|g| g["section"].as_str().is_some_and(|s| !s.is_empty())),
            "{name}"
        );
    }
}

#[test]
fn unreadable_or_not_json_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["sbom", "validate", "missing.json"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("missing.json"), "{}", out.stderr);
    std::fs::write(dir.path().join("deep.json"), "[".repeat(10_000)).unwrap();
    let out = run(dir.path(), &["sbom", "validate", "deep.json"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("deeper than 64 levels"),
        "{}",
        out.stderr
    );
    std::fs::write(dir.path().join("text.json"), "hello").unwrap();
    let out = run(dir.path(), &["sbom", "validate", "text.json"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("not valid JSON at line 1"),
        "{}",
        out.stderr
    );
}

/// The hashes the plain scan of the demo firmware recorded, by (`sha256`|`sha512`, component name).
fn scanned_hashes(sbom: &Value) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for component in sbom["components"].as_array().unwrap() {
        for hash in component["hashes"].as_array().into_iter().flatten() {
            let alg = hash["alg"]
                .as_str()
                .unwrap()
                .replace('-', "")
                .to_lowercase();
            out.insert(
                (alg, component["name"].as_str().unwrap().to_owned()),
                hash["content"].as_str().unwrap().to_owned(),
            );
        }
    }
    out
}

/// A supplier SBOM template from `fixtures/sbom/supplier/` with its `{{sha256:NAME}}` and
/// `{{sha512:NAME}}` placeholders filled from the scan.
fn filled_template(spec: &str, hashes: &BTreeMap<(String, String), String>) -> String {
    let path = repo_root().join(format!("fixtures/sbom/supplier/cdx-{spec}.json"));
    let mut text = std::fs::read_to_string(path).unwrap();
    while let Some(start) = text.find("{{") {
        let end = start + text[start..].find("}}").unwrap();
        let (alg, name) = text[start + 2..end].split_once(':').unwrap();
        let value = hashes
            .get(&(alg.to_owned(), name.to_owned()))
            .unwrap_or_else(|| panic!("the scan has no {alg} of `{name}`"))
            .clone();
        text.replace_range(start..end + 2, &value);
    }
    text
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The demo firmware and its plain SBOM (no supplier SBOM), in `dir/demo`.
fn demo_scan(dir: &Path) -> (std::path::PathBuf, Value) {
    let demo = run(dir, &["-q", "demo", "--dir", "demo"]);
    assert_eq!(demo.code, 0, "{}", demo.stderr);
    let dir = dir.join("demo");
    let plain = run(
        &dir,
        &["-q", "scan", "firmware.bin", "-o", "plain.cdx.json"],
    );
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    let sbom = read_json(&dir.join("plain.cdx.json"));
    (dir, sbom)
}

/// The properties of `component` whose name starts with `consign:supplier-sbom:`, as (name, value).
fn supplier_properties(component: &Value) -> Vec<(String, String)> {
    component["properties"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| {
            p["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("consign:supplier-sbom:"))
        })
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `component` without the supplier properties consign adds: what the scan alone wrote.
fn without_supplier_properties(component: &Value) -> Value {
    let mut component = component.clone();
    if let Some(list) = component["properties"].as_array_mut() {
        list.retain(|p| {
            !p["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("consign:supplier-sbom:"))
        });
    }
    component
}

fn component_named<'a>(sbom: &'a Value, name: &str) -> &'a Value {
    sbom["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no `{name}` in the SBOM"))
}

#[test]
fn supplier_sboms_1_3_to_1_7_are_linked_and_matched_by_hash_never_merged() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, plain) = demo_scan(tmp.path());
    let hashes = scanned_hashes(&plain);
    let busybox = component_named(&plain, "busybox")["bom-ref"]
        .as_str()
        .unwrap();
    for spec in ["1.3", "1.4", "1.5", "1.6", "1.7"] {
        let file = format!("supplier-{spec}.cdx.json");
        let text = filled_template(spec, &hashes);
        std::fs::write(dir.join(&file), &text).unwrap();
        let out = run(
            &dir,
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
        // metadata.component (no hash), openssl (agrees), toybox (busybox's hash), acme-hwrng
        // (a hash of nothing scanned), acme-cli (no hash).
        assert!(
            out.stderr.contains(&format!(
                "supplier SBOM {file} (link): 5 component(s): 2 match scanned components by hash (1 under another name or version), 1 match nothing scanned, 2 carry no hash"
            )),
            "{spec}: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains(&format!(
                "/components/1 (`toybox@0.8.9`) has the SHA-256 of scanned component `{busybox}`"
            )) && out.stderr.contains("not merged"),
            "{spec}: {}",
            out.stderr
        );
        let linked = read_json(&dir.join("linked.cdx.json"));
        assert_eq!(
            consign_sbom::validate_schema(&linked),
            Vec::new(),
            "{spec}: the product SBOM must stay valid"
        );
        // Linked, not merged: the same components as the plain scan, plus the match properties.
        let ours: Vec<Value> = linked["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(without_supplier_properties)
            .collect();
        assert_eq!(&Value::from(ours), &plain["components"], "{spec}");
        assert_eq!(linked["dependencies"], plain["dependencies"], "{spec}");
        let link = linked["externalReferences"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == "bom")
            .unwrap();
        let url = match spec {
            "1.3" => file.clone(),
            "1.5" => "urn:cdx:1b671687-395b-41f5-a30f-a58921a69b15/2".to_owned(),
            _ => format!(
                "urn:cdx:1b671687-395b-41f5-a30f-a58921a69b1{}/1",
                &spec[2..]
            ),
        };
        assert_eq!(link["url"], url.as_str(), "{spec}");
        let digests = Digests::of(text.as_bytes());
        assert_eq!(
            link["hashes"],
            json!([
                {"alg": "SHA-512", "content": digests.sha512.to_hex()},
                {"alg": "SHA-256", "content": digests.sha256.to_hex()}
            ]),
            "{spec}"
        );
        let alg = if spec >= "1.6" { "SHA-512" } else { "SHA-256" };
        assert_eq!(
            supplier_properties(component_named(&linked, "openssl")),
            [(
                "consign:supplier-sbom:match".to_owned(),
                format!("{url}#/components/0 names it `openssl@3.0.13` ({alg})")
            )],
            "{spec}"
        );
        assert_eq!(
            supplier_properties(component_named(&linked, "busybox")),
            [(
                "consign:supplier-sbom:conflict".to_owned(),
                format!("{url}#/components/1 names it differently: `toybox@0.8.9` (SHA-256)")
            )],
            "{spec}"
        );
        for name in ["dropbear", "zlib", "linux_kernel"] {
            assert!(supplier_properties(component_named(&linked, name)).is_empty());
        }
        assert_eq!(
            linked["properties"][0]["name"], "consign:supplier-sbom:summary",
            "{spec}"
        );
        // The same inputs give the same bytes.
        let again = run(
            &dir,
            &[
                "-q",
                "scan",
                "firmware.bin",
                "--supplier-sbom",
                &file,
                "-o",
                "again.cdx.json",
            ],
        );
        assert_eq!(again.code, 0, "{}", again.stderr);
        assert_eq!(
            std::fs::read(dir.join("again.cdx.json")).unwrap(),
            std::fs::read(dir.join("linked.cdx.json")).unwrap(),
            "{spec}"
        );
    }
}

#[test]
fn supplier_sboms_nested_stay_apart_from_the_scan() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, plain) = demo_scan(tmp.path());
    let hashes = scanned_hashes(&plain);
    let openssl = component_named(&plain, "openssl")["bom-ref"]
        .as_str()
        .unwrap();
    for spec in ["1.3", "1.6"] {
        std::fs::write(
            dir.join(format!("supplier-{spec}.cdx.json")),
            filled_template(spec, &hashes),
        )
        .unwrap();
    }
    for format in ["cyclonedx-json", "cyclonedx-json@1.7"] {
        let out = run(
            &dir,
            &[
                "scan",
                "firmware.bin",
                "--supplier-sbom",
                "supplier-1.6.cdx.json",
                "--supplier-sbom",
                "supplier-1.3.cdx.json",
                "--supplier-sbom-mode",
                "nest",
                "--format",
                format,
                "-o",
                "nested.cdx.json",
            ],
        );
        assert_eq!(out.code, 0, "{format}: {}", out.stderr);
        // Each supplier is matched against the scan only, never against the other supplier.
        for file in ["supplier-1.6.cdx.json", "supplier-1.3.cdx.json"] {
            assert!(
                out.stderr.contains(&format!(
                    "supplier SBOM {file} (nest): 5 component(s): 2 match scanned components by hash (1 under another name or version)"
                )),
                "{}",
                out.stderr
            );
        }
        let nested = read_json(&dir.join("nested.cdx.json"));
        assert_eq!(
            consign_sbom::validate_schema(&nested),
            Vec::new(),
            "{format}"
        );
        let components = nested["components"].as_array().unwrap();
        let scanned = plain["components"].as_array().unwrap();
        assert_eq!(components.len(), scanned.len() + 2, "{format}");
        for (ours, theirs) in components.iter().zip(scanned) {
            assert_eq!(&without_supplier_properties(ours), theirs);
        }
        // Nothing top-level links them: each reference sits on the part that holds them.
        assert!(nested.get("externalReferences").is_none());
        for (assembly, url) in components[scanned.len()..].iter().zip([
            "urn:cdx:1b671687-395b-41f5-a30f-a58921a69b16/1",
            "supplier-1.3.cdx.json",
        ]) {
            assert_eq!(assembly["name"], "acme-crypto-bundle");
            assert_eq!(assembly["externalReferences"][0]["type"], "bom");
            assert_eq!(assembly["externalReferences"][0]["url"], url);
            let children = assembly["components"].as_array().unwrap();
            assert_eq!(children.len(), 4);
            for child in children {
                let props = supplier_properties(child);
                assert!(
                    props
                        .iter()
                        .any(|(n, v)| n == "consign:supplier-sbom:source"
                            && v.starts_with(&format!("{url}#/components/"))),
                    "{props:?}"
                );
            }
            assert_eq!(
                supplier_properties(&children[0])[1],
                (
                    "consign:supplier-sbom:match".to_owned(),
                    format!(
                        "scanned component `{openssl}` ({})",
                        if url.starts_with("supplier-1.3") {
                            "SHA-256"
                        } else {
                            "SHA-512"
                        }
                    )
                )
            );
        }
        assert_eq!(nested["compositions"].as_array().unwrap().len(), 3);
        // The BSI check owes the nested components' gaps to their supplier, not to consign.
        std::fs::write(
            dir.join("nested.json"),
            serde_json::to_vec(&nested).unwrap(),
        )
        .unwrap();
        let report = run(
            &dir,
            &[
                "sbom",
                "validate",
                "nested.json",
                "--profile",
                "bsi-tr-03183-2",
                "--format",
                "json",
            ],
        );
        let report: Value = serde_json::from_str(&report.stdout).unwrap();
        let first_nested = format!("/components/{}", scanned.len());
        for gap in report["profileGaps"].as_array().unwrap() {
            if gap["pointer"].as_str().unwrap().starts_with(&first_nested) {
                assert_eq!(gap["source"], "supplier", "{gap}");
            }
        }
    }
    // The SPDX export carries the nested parts too, and stays valid.
    let out = run(
        &dir,
        &[
            "-q",
            "scan",
            "firmware.bin",
            "--supplier-sbom",
            "supplier-1.6.cdx.json",
            "--supplier-sbom-mode",
            "nest",
            "--format",
            "spdx-json",
            "-o",
            "nested.spdx.json",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let spdx = read_json(&dir.join("nested.spdx.json"));
    assert_eq!(consign_sbom::validate_spdx_schema(&spdx), Vec::new());
    assert!(
        spdx["packages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "acme-hwrng")
    );
    let bad = run(
        &dir,
        &["scan", "firmware.bin", "--supplier-sbom-mode", "merge"],
    );
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("use `link` or `nest`"),
        "{}",
        bad.stderr
    );
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
    let huge: Vec<Value> = (0..100_001)
        .map(|i| json!({"type": "library", "name": format!("c{i}")}))
        .collect();
    let mut chain = json!({"type": "library", "name": "leaf"});
    for _ in 0..25 {
        chain = json!({"type": "library", "name": "outer", "components": [chain]});
    }
    let mut deep_ok =
        json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [chain]});
    // The leaf of the 26-deep chain carries a malformed hash: the error must point at it.
    let mut leaf = &mut deep_ok["components"][0];
    for _ in 0..25 {
        leaf = &mut leaf["components"][0];
    }
    leaf["hashes"] = json!([{"alg": "SHA-256", "content": "abc"}]);
    let leaf_pointer = format!("{}/hashes/0/content", "/components/0".repeat(26));
    let cases: Vec<(&str, Vec<u8>, String)> = vec![
        (
            "wrong-type.json",
            serde_json::to_vec(&json!({"bomFormat": "CycloneDX", "specVersion": "1.5",
                "components": [{"type": "library", "name": 42}]}))
            .unwrap(),
            "/components/0/name".to_owned(),
        ),
        (
            "hashes-not-array.json",
            serde_json::to_vec(&json!({"bomFormat": "CycloneDX", "specVersion": "1.4",
                "metadata": {"component": {"type": "device", "name": "m", "hashes": {"alg": "SHA-256"}}}}))
            .unwrap(),
            "/metadata/component/hashes".to_owned(),
        ),
        (
            "not-cyclonedx.json",
            serde_json::to_vec(&json!({"spdxVersion": "SPDX-2.3"})).unwrap(),
            "/bomFormat".to_owned(),
        ),
        (
            "future.json",
            serde_json::to_vec(&json!({"bomFormat": "CycloneDX", "specVersion": "9.9"})).unwrap(),
            "/specVersion".to_owned(),
        ),
        (
            "huge.json",
            serde_json::to_vec(
                &json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": huge}),
            )
            .unwrap(),
            "`/components` holds more than 100000 components".to_owned(),
        ),
        (
            "deep-chain.json",
            serde_json::to_vec(&deep_ok).unwrap(),
            leaf_pointer,
        ),
        ("deep.json", "[".repeat(10_000).into_bytes(), "nest".to_owned()),
        ("not-json.json", b"\xff\xfe garbage".to_vec(), "line 1".to_owned()),
    ];
    for (name, bytes, expect) in cases {
        std::fs::write(dir.join(name), bytes).unwrap();
        let out = run(dir, &["scan", "fw.bin", "--supplier-sbom", name]);
        assert_eq!(out.code, 2, "{name}: {}", out.stderr);
        assert!(
            out.stderr.contains(name) && out.stderr.contains(&expect),
            "{name}: want `{expect}` in\n{}",
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"), "{name}: {}", out.stderr);
    }
}

/// BSI TR-03183-2 5.2.2 wants, for a component that has no version, its file's modification date.
/// On a real corpus image (a bundle: gzip, tar, squashfs), libgcc states no release: by default
/// `version` stays out (a matcher would take a date for a release) and the date is a property;
/// `--missing-version file-date` writes the date as the version, and the BSI gap is gone.
#[test]
fn missing_versions_get_the_file_date_when_asked() {
    let image = repo_root().join("../shared/corpus/images/hub-armhf-bundle/hub_fw_2.4.1.tar.gz");
    let image = image.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gcc_and_gaps = |mode: &str| {
        let out = format!("{mode}.cdx.json");
        let scan = run(
            dir.path(),
            &["-q", "scan", image, "--missing-version", mode, "-o", &out],
        );
        assert_eq!(scan.code, 0, "{}", scan.stderr);
        let sbom = read_json(&dir.path().join(&out));
        let gcc = component_named(&sbom, "gcc").clone();
        let report = run(
            dir.path(),
            &[
                "sbom",
                "validate",
                "--profile",
                "bsi-tr-03183-2",
                "--format",
                "json",
                &out,
            ],
        );
        let report: Value = serde_json::from_str(&report.stdout).unwrap();
        let version_gaps: Vec<(String, String)> = report["profileGaps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["rule"].as_str().unwrap().ends_with(":version"))
            // The firmware's own version comes from the product file (not given here).
            .filter(|g| g["pointer"].as_str().unwrap().starts_with("/components/"))
            .map(|g| {
                let at = g["pointer"].as_str().unwrap();
                let name = sbom.pointer(at).unwrap()["name"].as_str().unwrap();
                (name.to_owned(), g["source"].as_str().unwrap().to_owned())
            })
            .collect();
        (gcc, version_gaps)
    };
    let property = |component: &Value, name: &str| {
        component["properties"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["value"].as_str().unwrap().to_owned())
    };

    let (gcc, gaps) = gcc_and_gaps("omit");
    assert!(gcc.get("version").is_none(), "{gcc:#}");
    let date = property(&gcc, "consign:file-modified").expect("the squashfs inode's mtime");
    assert!(date.parse::<consign_sbom::Timestamp>().is_ok(), "{date}");
    assert_eq!(
        property(&gcc, "consign:version-source").as_deref(),
        Some("none")
    );
    // glibc statically linked into the bare `updater` program states no release of its own, and
    // does not borrow the shared libc's: it is a version gap too.
    assert_eq!(
        gaps,
        [
            ("gcc".to_owned(), "supplier".to_owned()),
            ("glibc".to_owned(), "supplier".to_owned())
        ]
    );

    let (gcc, gaps) = gcc_and_gaps("file-date");
    assert_eq!(gcc["version"].as_str(), Some(date.as_str()));
    assert_eq!(
        property(&gcc, "consign:version-source").as_deref(),
        Some("file-modification-time")
    );
    assert_eq!(gcc["purl"], "pkg:generic/gcc", "no date in the purl");
    assert_eq!(gaps, Vec::<(String, String)>::new());
}

/// `consign sbom diff` between the demo firmware's SBOM and an edited next release: every kind of
/// change is listed in each format, `--fail-on` decides the exit status, and `new-vuln`, which
/// needs a vulnerability database consign does not read yet, is refused rather than passed.
#[test]
fn sbom_diff_lists_changes_and_fails_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, sbom) = demo_scan(dir.path());
    let mut next = sbom.clone();
    let components = next["components"].as_array_mut().unwrap();
    let index = |name: &str| {
        components
            .iter()
            .position(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    let (busybox, openssl, zlib, dropbear) = (
        index("busybox"),
        index("openssl"),
        index("zlib"),
        index("dropbear"),
    );
    components[busybox]["version"] = "1.37.0".into();
    components[openssl]["version"] = "3.0.2".into();
    components[zlib]["hashes"][0]["content"] = "ab".repeat(64).into();
    components[dropbear]["licenses"] =
        json!([{"license": {"id": "BSD-3-Clause", "acknowledgement": "concluded"}}]);
    std::fs::write(
        demo.join("next.cdx.json"),
        serde_json::to_string(&next).unwrap(),
    )
    .unwrap();

    let text = run(&demo, &["sbom", "diff", "plain.cdx.json", "next.cdx.json"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    for want in [
        "upgraded (1)\n  busybox 1.36.1 -> 1.37.0",
        "downgraded (1)\n  openssl 3.0.13 -> 3.0.2",
        "licence changed (1)\n  dropbear 2022.83: MIT -> BSD-3-Clause",
        "hash changed at the same version (suspicious) (1)\n  zlib 1.3",
    ] {
        assert!(text.stdout.contains(want), "{want}\n{}", text.stdout);
    }
    let json = run(
        &demo,
        &[
            "sbom",
            "diff",
            "plain.cdx.json",
            "next.cdx.json",
            "--format",
            "json",
        ],
    );
    let report: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["diff"]["downgraded"][0]["new"]["version"], "3.0.2");
    let markdown = run(
        &demo,
        &[
            "sbom",
            "diff",
            "plain.cdx.json",
            "next.cdx.json",
            "--format",
            "markdown",
        ],
    );
    assert!(
        markdown.stdout.contains("## downgraded (1)"),
        "{}",
        markdown.stdout
    );

    let fail = |kinds: &str| {
        run(
            &demo,
            &[
                "sbom",
                "diff",
                "plain.cdx.json",
                "next.cdx.json",
                "--fail-on",
                kinds,
            ],
        )
    };
    assert_eq!(fail("downgrade").code, 1);
    assert_eq!(fail("added,removed").code, 0);
    assert_eq!(fail("hash-change").code, 1);
    let refused = fail("downgrade,new-vuln");
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("vulnerability database"),
        "{}",
        refused.stderr
    );
    let same = run(&demo, &["sbom", "diff", "plain.cdx.json", "plain.cdx.json"]);
    assert!(
        same.stdout.contains("no component changed"),
        "{}",
        same.stdout
    );
    let missing = run(&demo, &["sbom", "diff", "plain.cdx.json", "nowhere.json"]);
    assert_eq!(missing.code, 2);
}

/// `consign sbom licences` on the demo SBOM: each distribution licence with its components and the
/// obligations of a firmware distributor, each citing the licence's clause.
#[test]
fn sbom_licences_lists_obligations_with_sources() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, _) = demo_scan(dir.path());
    let out = run(
        &demo,
        &["sbom", "licences", "plain.cdx.json", "--format", "json"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    let entries = report["licences"].as_array().unwrap();
    let gpl = entries
        .iter()
        .find(|e| e["licence"] == "GPL-2.0-only")
        .unwrap();
    let components: Vec<&str> = gpl["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(
        components.iter().any(|c| c.starts_with("busybox")),
        "{components:?}"
    );
    assert_eq!(gpl["obligations"][0]["kind"], "source-offer");
    assert_eq!(gpl["obligations"][0]["source"], "GPL-2.0 section 3");
    let text = run(&demo, &["sbom", "licences", "plain.cdx.json"]);
    assert!(text.stdout.contains("MIT: dropbear"), "{}", text.stdout);
}
