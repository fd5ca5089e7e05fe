//! Issue 6: the whole chain through the `consign` binary. Keys are generated, the supplier,
//! manufacturer and distributor attest, the shipment is assembled, and the importer verifies it;
//! then the rejections that need only the command line are proven with their reasons (the full
//! list is proven at the library level in `crates/consign-verify/tests/chain.rs`).
// Test scaffolding: helpers outside `#[test]` functions may unwrap.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use consign_verify::shipment::{ArtifactRole, NewArtifact, assemble};

use crate::support::run;

const BUSYBOX: &[u8] =
    b"\x7fELF....BusyBox v1.36.1 (2024-01-01 00:00:00 UTC) multi-call binary....";
const LIBSSL: &[u8] = b"\x7fELF....OpenSSL 3.0.13 30 Jan 2024....";

fn sha(data: &[u8], bits: u32) -> String {
    if bits == 512 {
        consign_model::Sha512::of(data).to_hex()
    } else {
        consign_model::Sha256::of(data).to_hex()
    }
}

pub(crate) fn write(dir: &Path, name: &str, data: &[u8]) {
    std::fs::write(dir.join(name), data).unwrap();
}

#[track_caller]
pub(crate) fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert_eq!(
        out.code, 0,
        "consign {args:?}\nstdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    out.stdout
}

fn setup(dir: &Path, manufacturer_until: &str) {
    setup_with(dir, manufacturer_until, &[]);
}

/// The whole chain's inputs and attestations, with `extra` components in the release SBOM.
pub(crate) fn setup_with(dir: &Path, manufacturer_until: &str, extra: &[serde_json::Value]) {
    let fw = assemble(
        None,
        vec![
            NewArtifact {
                path: "bin/busybox".into(),
                role: ArtifactRole::Firmware,
                data: BUSYBOX.to_vec(),
            },
            NewArtifact {
                path: "usr/lib/libssl.so.3".into(),
                role: ArtifactRole::Firmware,
                data: LIBSSL.to_vec(),
            },
        ],
    )
    .unwrap()
    .to_tar()
    .unwrap();
    write(dir, "fw.img", &fw);
    write(dir, "libssl.so.3", LIBSSL);
    write(dir, "eu-doc.txt", b"EU declaration of conformity");
    let component = |name: &str, version: &str, data: &[u8]| {
        serde_json::json!({"type": "library", "bom-ref": name, "name": name, "version": version,
            "supplier": {"name": "upstream"}, "purl": format!("pkg:generic/{name}@{version}"),
            "hashes": [{"alg": "SHA-512", "content": sha(data, 512)}],
            "licenses": [{"license": {"id": "Apache-2.0"}}]})
    };
    let components: Vec<serde_json::Value> = [
        component("busybox", "1.36.1", BUSYBOX),
        component("openssl", "3.0.13", LIBSSL),
    ]
    .into_iter()
    .chain(extra.iter().cloned())
    .collect();
    let sbom = serde_json::json!({
        "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
        "metadata": {"timestamp": "2026-11-01T00:00:00Z", "manufacturer": {"name": "Example Devices GmbH"},
            "component": {"type": "firmware", "bom-ref": "fw", "name": "Smart Plug", "version": "2.4.1"}},
        "components": components,
        "dependencies": [{"ref": "busybox"}, {"ref": "openssl"}]
    });
    write(
        dir,
        "fw.cdx.json",
        serde_json::to_string_pretty(&sbom).unwrap().as_bytes(),
    );
    write(dir, "component.toml", b"[supplier]\nname = \"Acme Modules Ltd\"\ncontact = \"psirt@acme.example\"\n[component]\nname = \"openssl\"\nversion = \"3.0.13\"\n[support]\nend = \"2034-12-31\"\n[vulnerability-disclosure]\ncontact = \"psirt@acme.example\"\n[known-vulnerabilities]\nstatement = \"none-known\"\n");
    write(dir, "product.toml", format!("[manufacturer]\nname = \"Example Devices GmbH\"\nemail = \"info@devices.example\"\n[product]\nname = \"Smart Plug\"\nmodel = \"SP-200\"\nfirmware-version = \"2.4.1\"\ncra-class = \"default\"\n[support]\nstart = \"2026-01-01\"\nend = \"2032-12-31\"\n[vulnerability-disclosure]\ncontact = \"security@devices.example\"\npolicy-url = \"https://devices.example/cvd\"\n[security]\npassword-scheme = \"unique-per-device\"\ndevice-keys = \"per-device\"\nexposed-services = []\n[conformity]\nce-marking = true\ndeclaration-sha256 = \"{}\"\n", sha(b"EU declaration of conformity", 256)).as_bytes());
    write(dir, "lot.toml", b"[distributor]\nname = \"Carrier Logistics\"\ncontact = \"ops@carrier.example\"\n[lot]\nid = \"LOT-42\"\n[received]\nparty = \"Example Devices GmbH\"\ndate = \"2026-11-01\"\n");
    for (name, algorithm) in [
        ("supplier", "ed25519"),
        ("mfr", "p256"),
        ("dist", "ed25519"),
        ("importer", "ed25519"),
    ] {
        ok(
            dir,
            &["key", "generate", "--algorithm", algorithm, "--out", name],
        );
    }
    let pem = |name: &str| std::fs::read_to_string(dir.join(format!("{name}.pub"))).unwrap();
    let party = |name: &str, role: &str, key: &str, until: &str| {
        format!(
            "[[party]]\nname = \"{name}\"\nroles = [\"{role}\"]\ncontact = \"x@example.invalid\"\n[[party.key]]\npublic-key = \"\"\"\n{}\"\"\"\nvalid-from = 2025-01-01\nvalid-until = {until}\n",
            pem(key)
        )
    };
    let trust = format!(
        "format = \"consign-trust/v1\"\n{}{}{}{}",
        party("Acme Modules Ltd", "supplier", "supplier", "2030-12-31"),
        party(
            "Example Devices GmbH",
            "manufacturer",
            "mfr",
            manufacturer_until
        ),
        party("Carrier Logistics", "distributor", "dist", "2030-12-31"),
        party("Import Co", "importer", "importer", "2030-12-31"),
    );
    write(dir, "trust.toml", trust.as_bytes());
    // No vulnerability database on this machine: the importer says so, explicitly, per check.
    let policy = "format = \"consign-policy/v1\"\nid = \"import\"\nextends = \"eu-cra-import\"\n[checks.\"vulnerabilities.known\"]\nwhen-unavailable = \"warn\"\n";
    write(dir, "import-policy.toml", policy.as_bytes());
    write(
        dir,
        "no-rescan-policy.toml",
        // Without the re-scan nothing looks at the firmware: every check that does is
        // relaxed, explicitly.
        format!("{policy}[checks.\"sbom.rescan\"]\nwhen-unavailable = \"warn\"\n[checks.\"security.secrets\"]\nwhen-unavailable = \"warn\"\n[checks.\"security.services\"]\nwhen-unavailable = \"warn\"\n").as_bytes(),
    );
    ok(
        dir,
        &[
            "attest",
            "component",
            "--key",
            "supplier.key",
            "libssl.so.3",
            "--claims",
            "component.toml",
            "-o",
            "supplier.intoto.jsonl",
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
            "supplier.intoto.jsonl",
            "-o",
            "release.intoto.jsonl",
        ],
    );
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
            "release.intoto.jsonl",
            "-o",
            "custody.intoto.jsonl",
        ],
    );
}

fn assemble_shipment(dir: &Path, out: &str, firmware: &str) {
    assemble_shipment_with(dir, out, firmware, &[]);
}

/// [`assemble_shipment`] with `extra` attestation files.
pub(crate) fn assemble_shipment_with(dir: &Path, out: &str, firmware: &str, extra: &[&str]) {
    let mut args = vec![
        "shipment",
        "assemble",
        "--out",
        out,
        "--name",
        "lot-42",
        "--firmware",
        firmware,
        "--sbom",
        "fw.cdx.json",
        "--attestation",
        "supplier.intoto.jsonl",
        "--attestation",
        "release.intoto.jsonl",
        "--attestation",
        "custody.intoto.jsonl",
        "--document",
        "eu-doc.txt",
    ];
    for attestation in extra {
        args.extend(["--attestation", attestation]);
    }
    ok(dir, &args);
}

#[test]
fn issue6_chain_through_the_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir, "2030-12-31");
    assemble_shipment(dir, "shipment", "fw.img");
    assemble_shipment(dir, "shipment.tar", "fw.img");
    let verify = |shipment: &str, extra: &[&str]| {
        let mut args = vec![
            "verify",
            shipment,
            "--policy",
            "import-policy.toml",
            "--trust",
            "trust.toml",
            "--at",
            "2026-11-22",
            "--ledger",
            "ledger.sqlite",
        ];
        args.extend_from_slice(extra);
        run(dir, &args)
    };
    let out = verify(
        "shipment",
        &["--sign-with", "importer.key", "--format", "json"],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let verdict: consign_verify::Verdict = serde_json::from_str(&out.stdout).unwrap();
    assert!(verdict.accepted);
    assert!(
        dir.join("lot-42.verdict.intoto.jsonl").exists(),
        "{}",
        out.stderr
    );
    let out = verify("shipment.tar", &["--format", "markdown"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.starts_with("# Shipment verdict: ACCEPTED"),
        "{}",
        out.stdout
    );
    // The importer's signed verdict is the next party's evidence.
    ok(
        dir,
        &[
            "verify-attestation",
            "fw.img",
            "--attestation",
            "lot-42.verdict.intoto.jsonl",
            "--key",
            "importer.pub",
        ],
    );

    // Tampered firmware: re-assembled with a different image, so only the signatures tell.
    let mut bad = std::fs::read(dir.join("fw.img")).unwrap();
    let at = bad.windows(6).position(|w| w == b"1.36.1").unwrap();
    bad[at + 5] = b'9';
    write(dir, "bad.img", &bad);
    assemble_shipment(dir, "tampered", "bad.img");
    let out = verify("tampered", &[]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("is not the subject of any trusted release attestation"),
        "{}",
        out.stdout
    );

    // Issue 13, item 3: what cannot run fails closed. The built-in `eu-cra-import` rejects the
    // good shipment for want of a vulnerability database, and `--no-rescan` rejects it where
    // the policy requires the re-scan.
    let out = run(
        dir,
        &[
            "verify",
            "shipment",
            "--policy",
            "eu-cra-import",
            "--trust",
            "trust.toml",
            "--at",
            "2026-11-22",
            "--no-ledger",
        ],
    );
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(
            "vulnerabilities.known      cannot run, so it fails: no vulnerability database"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("consign vuln db import"),
        "{}",
        out.stdout
    );
    let out = verify("shipment", &["--no-ledger", "--no-rescan"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("sbom.rescan                cannot run, so it fails: the re-scan was turned off (`--no-rescan`)"),
        "{}",
        out.stdout
    );

    // Several shipments at once: one line each and a summary; exit 1 because one is rejected.
    let out = verify("shipment", &["--no-ledger"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = run(
        dir,
        &[
            "verify",
            "shipment",
            "tampered",
            "shipment.tar",
            "--policy",
            "no-rescan-policy.toml",
            "--trust",
            "trust.toml",
            "--at",
            "2026-11-22",
            "--no-ledger",
            "--no-rescan",
        ],
    );
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.stdout.lines().count(), 3, "{}", out.stdout);
    assert!(
        out.stderr
            .contains("3 shipment(s): 2 accepted, 1 rejected, 0 unreadable"),
        "{}",
        out.stderr
    );

    // The ledger kept every recorded verdict.
    let list = ok(dir, &["ledger", "list", "--db", "ledger.sqlite"]);
    assert_eq!(list.lines().count(), 3, "{list}");
    let export = ok(dir, &["ledger", "export", "--db", "ledger.sqlite"]);
    let all: Vec<consign_verify::Verdict> = serde_json::from_str(&export).unwrap();
    assert_eq!(all.len(), 3);

    // A shipment that cannot be read at all is exit 2.
    let out = verify("no-such-shipment", &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[test]
fn issue6_expired_manufacturer_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir, "2026-06-30");
    assemble_shipment(dir, "shipment", "fw.img");
    let out = run(
        dir,
        &[
            "verify",
            "shipment",
            "--policy",
            "eu-cra-import",
            "--trust",
            "trust.toml",
            "--at",
            "2026-11-22",
            "--no-ledger",
        ],
    );
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("expired on 2026-06-30"),
        "{}",
        out.stdout
    );
}
