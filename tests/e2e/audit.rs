//! `consign audit` and `scan --audit`: reports in three formats, exit codes, the SBOM properties.

use crate::support::{repo_root, run};

#[test]
fn audit_reports_the_console_shell_and_host_key_and_fails_on_them() {
    let dir = tempfile::tempdir().unwrap();
    let sample = repo_root().join("../shared/samples/binwalk-squashfs_v2.bin");
    let sample = sample.to_str().unwrap();
    let out = run(dir.path(), &["audit", sample, "--at", "2026-01-01"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("account.console-root-shell   /etc/inittab:2"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("secret.host-key"), "{}", out.stdout);
    assert!(out.stderr.contains("2 critical"), "{}", out.stderr);

    let out = run(
        dir.path(),
        &["audit", sample, "--format", "json", "--fail-on", "never"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let findings = json["audit"]["findings"].as_array().unwrap();
    let key = findings
        .iter()
        .find(|f| f["id"] == "secret.host-key")
        .unwrap();
    assert_eq!(key["file"], "/etc/rsa_host_key");
    assert!(key["fingerprint"].as_str().unwrap().starts_with("SHA256:"));
    assert!(
        key["provisions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "etsi-en-303-645:5.4-4")
    );

    let out = run(
        dir.path(),
        &["audit", sample, "--format", "markdown", "-o", "audit.md"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let markdown = std::fs::read_to_string(dir.path().join("audit.md")).unwrap();
    assert!(markdown.starts_with("# Secure-defaults audit of `binwalk-squashfs_v2.bin`"));
    assert!(
        markdown.contains("| critical | `account.console-root-shell` | `/etc/inittab:2` |"),
        "{markdown}"
    );

    let out = run(dir.path(), &["audit", sample, "--fail-on", "severe"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("not a severity"), "{}", out.stderr);
    let out = run(dir.path(), &["audit", "missing.bin"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[test]
fn scan_audit_writes_the_report_and_pins_it_in_the_sbom() {
    let dir = tempfile::tempdir().unwrap();
    let sample = repo_root().join("../shared/samples/router-tew733gr-rootfs.squashfs");
    let out = run(
        dir.path(),
        &[
            "scan",
            sample.to_str().unwrap(),
            "--audit",
            "audit.json",
            "-o",
            "sbom.json",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = std::fs::read(dir.path().join("audit.json")).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&report).unwrap();
    let findings = json["images"][0]["audit"]["findings"].as_array().unwrap();
    let credential = findings
        .iter()
        .find(|f| f["id"] == "credential.command-line")
        .unwrap();
    assert_eq!(credential["file"], "/etc/init0.d/S80telnetd.sh");
    assert_eq!(credential["line"], 7);
    let sbom: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("sbom.json")).unwrap()).unwrap();
    let properties = sbom["metadata"]["properties"].as_array().unwrap();
    let value = |name: &str| {
        properties
            .iter()
            .find(|p| p["name"] == name)
            .and_then(|p| p["value"].as_str())
            .unwrap()
            .to_owned()
    };
    assert_eq!(value("consign:audit:report"), "audit.json");
    assert_eq!(
        value("consign:audit:report:sha256"),
        consign_model::Digests::of(&report).sha256.to_hex()
    );
    assert!(
        value("consign:audit:findings").starts_with("router-tew733gr-rootfs.squashfs: 1 critical")
    );
}
