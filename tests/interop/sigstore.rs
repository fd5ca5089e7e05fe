//! Sigstore interop: `@sigstore/verify` (npm, Sigstore's own JavaScript verifier) verifies the
//! bundles consign writes, offline, with public-key trust material and the transparency-log,
//! certificate-log and timestamp thresholds at 0, and rejects tampered bundles and wrong keys.

use std::path::Path;
use std::process::Command;

use crate::support::repo_root;

/// Verifies a bundle with `@sigstore/verify`. The key finder only answers for the hint the test
/// expects (the key's SPKI SHA-256, computed here independently), as a keyring would.
const VERIFY_JS: &str = r"
const fs = require('fs');
const crypto = require('crypto');
const { bundleFromJSON } = require('@sigstore/bundle');
const { toSignedEntity, toTrustMaterial, Verifier } = require('@sigstore/verify');

const [bundlePath, publicPath] = process.argv.slice(2);
const key = crypto.createPublicKey(fs.readFileSync(publicPath));
const keyid = crypto.createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex');
const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
const trust = toTrustMaterial(
  { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] },
  (hint) => {
    if (hint !== keyid) throw new Error(`unknown key hint ${hint}`);
    return { publicKey: key, validFor: () => true };
  },
);
const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
verifier.verify(toSignedEntity(bundle));
console.log('verified', keyid);
";

fn node_modules() -> std::path::PathBuf {
    let modules = repo_root().join("target/interop/node/node_modules");
    assert!(
        modules.join("@sigstore/verify").exists(),
        "`@sigstore/verify` is not installed\n\nhint: run `cargo xtask tools` (it installs every tool the interop tests run)"
    );
    modules
}

fn node_verify(dir: &Path, bundle: &str, public: &str) -> std::process::Output {
    let script = dir.join("verify.js");
    std::fs::write(&script, VERIFY_JS).unwrap();
    Command::new("node")
        .current_dir(dir)
        .env("NODE_PATH", node_modules())
        .arg(&script)
        .arg(bundle)
        .arg(public)
        .output()
        .expect("running node (Node 20 is required)")
}

fn consign(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_consign"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("running consign")
}

#[track_caller]
fn assert_ok(out: &std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sigstore_verify_accepts_consign_bundles_and_rejects_tampered_ones() {
    for algorithm in ["ed25519", "p256"] {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        std::fs::write(dir.join("part.bin"), b"wifi module firmware 3.1.0").unwrap();
        std::fs::copy(
            repo_root().join("fixtures/attest/claims/component.toml"),
            dir.join("component.toml"),
        )
        .unwrap();
        assert_ok(
            &consign(
                dir,
                &[
                    "key",
                    "generate",
                    "--algorithm",
                    algorithm,
                    "--out",
                    "supplier",
                ],
            ),
            "consign key generate",
        );
        assert_ok(
            &consign(
                dir,
                &[
                    "key",
                    "generate",
                    "--algorithm",
                    algorithm,
                    "--out",
                    "other",
                ],
            ),
            "consign key generate",
        );
        assert_ok(
            &consign(
                dir,
                &[
                    "attest",
                    "component",
                    "--key",
                    "supplier.key",
                    "part.bin",
                    "--claims",
                    "component.toml",
                    "--bundle",
                    "-o",
                    "part.sigstore.json",
                ],
            ),
            "consign attest component --bundle",
        );
        let out = node_verify(dir, "part.sigstore.json", "supplier.pub");
        assert_ok(
            &out,
            &format!("@sigstore/verify on a consign {algorithm} bundle"),
        );
        // consign verifies its own bundle too.
        assert_ok(
            &consign(
                dir,
                &[
                    "verify-attestation",
                    "part.bin",
                    "--attestation",
                    "part.sigstore.json",
                    "--key",
                    "supplier.pub",
                ],
            ),
            "consign verify-attestation on a bundle",
        );

        // Must fail: a tampered payload.
        let text = std::fs::read_to_string(dir.join("part.sigstore.json")).unwrap();
        let mut bundle: serde_json::Value = serde_json::from_str(&text).unwrap();
        let payload = bundle["dsseEnvelope"]["payload"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut chars: Vec<char> = payload.chars().collect();
        let mid = chars.len() / 2;
        chars[mid] = if chars[mid] == 'A' { 'B' } else { 'A' };
        bundle["dsseEnvelope"]["payload"] = serde_json::Value::String(chars.into_iter().collect());
        std::fs::write(dir.join("tampered.json"), bundle.to_string()).unwrap();
        let out = node_verify(dir, "tampered.json", "supplier.pub");
        assert!(
            !out.status.success(),
            "@sigstore/verify accepted a tampered {algorithm} bundle"
        );
        let out = consign(
            dir,
            &[
                "verify-attestation",
                "part.bin",
                "--attestation",
                "tampered.json",
                "--key",
                "supplier.pub",
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );

        // Must fail: the right bundle checked against another key (its hint does not match either).
        let out = node_verify(dir, "part.sigstore.json", "other.pub");
        assert!(
            !out.status.success(),
            "@sigstore/verify accepted a bundle with the wrong key"
        );

        // Must fail: the hint says the right key but the signature is by another one.
        let mut forged: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_ok(
            &consign(
                dir,
                &[
                    "attest",
                    "component",
                    "--key",
                    "other.key",
                    "part.bin",
                    "--claims",
                    "component.toml",
                    "--bundle",
                    "-o",
                    "other.sigstore.json",
                ],
            ),
            "consign attest component --bundle (other key)",
        );
        let other: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("other.sigstore.json")).unwrap(),
        )
        .unwrap();
        forged["dsseEnvelope"]["signatures"] = other["dsseEnvelope"]["signatures"].clone();
        std::fs::write(dir.join("forged.json"), forged.to_string()).unwrap();
        let out = node_verify(dir, "forged.json", "supplier.pub");
        assert!(
            !out.status.success(),
            "@sigstore/verify accepted another key's signature"
        );
    }
}
