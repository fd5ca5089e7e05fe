//! `consign sbom validate`: exit codes and reports on good, broken, foreign and unreadable SBOMs.

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
fn other_tools_sbom_gets_bsi_gaps_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &[
            "sbom",
            "validate",
            &fixture("cve-bin-tool.cdx.json"),
            "--profile",
            "bsi-tr-03183-2",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(report["schemaIssues"].as_array().unwrap().len(), 0);
    let gaps = report["profileGaps"].as_array().unwrap();
    assert!(gaps.iter().any(
        |g| g["rule"] == "bsi-tr-03183-2:5.2.2:hash-sha-512" && g["pointer"] == "/components/0"
    ));
    assert!(gaps.iter().any(|g| g["source"] == "manufacturer"));
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
