//! `consign key` and `consign attest` / `consign verify-attestation` end to end: keys, the
//! supplier → manufacturer → distributor chain, bundles, exit codes, cosign import.

use std::path::Path;

use crate::support::{consign, repo_root, run};

fn copy_fixture(dir: &Path, from: &str, to: &str) {
    std::fs::copy(repo_root().join(from), dir.join(to)).unwrap();
}

#[track_caller]
fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert_eq!(out.code, 0, "consign {args:?}\nstderr: {}", out.stderr);
    out.stdout
}

#[test]
fn key_generate_writes_pkcs8_and_spki() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    for algorithm in ["ed25519", "p256"] {
        ok(
            dir,
            &[
                "key",
                "generate",
                "--algorithm",
                algorithm,
                "--out",
                algorithm,
            ],
        );
        let private = std::fs::read_to_string(dir.join(format!("{algorithm}.key"))).unwrap();
        let public = std::fs::read_to_string(dir.join(format!("{algorithm}.pub"))).unwrap();
        assert!(
            private.starts_with("-----BEGIN PRIVATE KEY-----\n"),
            "{private}"
        );
        assert!(
            public.starts_with("-----BEGIN PUBLIC KEY-----\n"),
            "{public}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.join(format!("{algorithm}.key")))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // `key public` derives the same public key from the private one.
        let derived = ok(dir, &["key", "public", &format!("{algorithm}.key")]);
        assert_eq!(derived, public);
    }
    // Refuses to overwrite.
    let out = run(dir, &["key", "generate", "--out", "ed25519"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("already exists"), "{}", out.stderr);
}

#[test]
fn supplier_manufacturer_distributor_chain_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    copy_fixture(
        dir,
        "fixtures/attest/claims/component.toml",
        "component.toml",
    );
    copy_fixture(dir, "fixtures/attest/claims/product.toml", "product.toml");
    copy_fixture(dir, "fixtures/attest/claims/lot.toml", "lot.toml");
    std::fs::write(dir.join("part.bin"), b"wifi module firmware").unwrap();
    std::fs::write(dir.join("fw.img"), b"main firmware image").unwrap();
    std::fs::write(
        dir.join("fw.cdx.json"),
        br#"{"bomFormat":"CycloneDX","specVersion":"1.6","version":1}"#,
    )
    .unwrap();
    for party in ["supplier", "mfr", "dist"] {
        ok(dir, &["key", "generate", "--out", party]);
    }
    ok(
        dir,
        &[
            "attest",
            "component",
            "--key",
            "supplier.key",
            "part.bin",
            "--claims",
            "component.toml",
            "-o",
            "part.intoto.jsonl",
        ],
    );
    ok(
        dir,
        &[
            "verify-attestation",
            "part.bin",
            "--attestation",
            "part.intoto.jsonl",
            "--key",
            "supplier.pub",
        ],
    );
    ok(
        dir,
        &[
            "attest",
            "release",
            "--key",
            "mfr.key",
            "fw.img",
            "--sbom",
            "fw.cdx.json",
            "--claims",
            "product.toml",
            "--materials",
            "part.intoto.jsonl",
            "-o",
            "fw.intoto.jsonl",
        ],
    );
    let release = std::fs::read_to_string(dir.join("fw.intoto.jsonl")).unwrap();
    assert_eq!(release.lines().count(), 3);
    let out = run(
        dir,
        &[
            "verify-attestation",
            "fw.img",
            "--attestation",
            "fw.intoto.jsonl",
            "--key",
            "mfr.pub",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("https://consign.dev/attestation/product/v0.1"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("https://slsa.dev/provenance/v1"),
        "{}",
        out.stderr
    );
    std::fs::create_dir(dir.join("shipment")).unwrap();
    std::fs::copy(
        dir.join("fw.intoto.jsonl"),
        dir.join("shipment/fw.intoto.jsonl"),
    )
    .unwrap();
    ok(
        dir,
        &[
            "attest",
            "custody",
            "--key",
            "dist.key",
            "--lot",
            "lot.toml",
            "--upstream",
            "shipment",
            "--bundle",
            "-o",
            "lot.sigstore.json",
        ],
    );
    // The custody subjects come from the upstream attestations: the firmware image.
    ok(
        dir,
        &[
            "verify-attestation",
            "fw.img",
            "--attestation",
            "lot.sigstore.json",
            "--key",
            "dist.pub",
        ],
    );

    // Exit 1: the wrong key, the wrong artifact.
    let out = run(
        dir,
        &[
            "verify-attestation",
            "fw.img",
            "--attestation",
            "fw.intoto.jsonl",
            "--key",
            "supplier.pub",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("rejected"), "{}", out.stderr);
    let out = run(
        dir,
        &[
            "verify-attestation",
            "part.bin",
            "--attestation",
            "fw.intoto.jsonl",
            "--key",
            "mfr.pub",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("no subject of the statement matches"),
        "{}",
        out.stderr
    );
    // Exit 2: an unreadable attestation.
    std::fs::write(dir.join("garbage.jsonl"), "{not json").unwrap();
    let out = run(
        dir,
        &[
            "verify-attestation",
            "fw.img",
            "--attestation",
            "garbage.jsonl",
            "--key",
            "mfr.pub",
        ],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("malformed DSSE envelope JSON"),
        "{}",
        out.stderr
    );
}

#[test]
fn claims_errors_name_the_field_and_nothing_is_signed() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let claims =
        std::fs::read_to_string(repo_root().join("fixtures/attest/claims/component.toml")).unwrap();
    std::fs::write(
        dir.join("component.toml"),
        claims.replace("end = \"2030-06-30\"", "end = \"30 June 2030\""),
    )
    .unwrap();
    std::fs::write(dir.join("part.bin"), b"x").unwrap();
    ok(dir, &["key", "generate", "--out", "supplier"]);
    let out = run(
        dir,
        &[
            "attest",
            "component",
            "--key",
            "supplier.key",
            "part.bin",
            "--claims",
            "component.toml",
        ],
    );
    assert_eq!(out.code, 2);
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.contains("support.end") || out.stderr.contains("YYYY-MM-DD"),
        "{}",
        out.stderr
    );
}

#[test]
fn imports_a_cosign_key() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    copy_fixture(
        dir,
        "fixtures/attest/cosign/cosign_generated_encrypted_empty_private.key",
        "cosign.key",
    );
    let out = consign(dir)
        .args(["key", "import-cosign", "cosign.key", "--out", "imported"])
        .env("COSIGN_PASSWORD", "")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::read_to_string(dir.join("imported.key"))
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    std::fs::write(dir.join("pw"), "wrong\n").unwrap();
    let out = run(
        dir,
        &[
            "key",
            "import-cosign",
            "cosign.key",
            "--out",
            "again",
            "--password-file",
            "pw",
        ],
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("wrong password"), "{}", out.stderr);
}

#[test]
fn every_help_has_an_example() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["key", "generate", "--help"][..],
        &["key", "import-cosign", "--help"],
        &["key", "public", "--help"],
        &["attest", "component", "--help"],
        &["attest", "release", "--help"],
        &["attest", "custody", "--help"],
        &["attest", "sbom", "--help"],
        &["attest", "provenance", "--help"],
        &["verify-attestation", "--help"],
    ] {
        let out = run(dir.path(), args);
        assert_eq!(out.code, 0, "{args:?}");
        assert!(out.stdout.contains("Example"), "{args:?}:\n{}", out.stdout);
    }
}
