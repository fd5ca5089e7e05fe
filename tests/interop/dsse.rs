//! DSSE interop with `securesystemslib` (PyPI, the Python reference of DSSE), both ways, and the
//! predicate schemas judged by `check-jsonschema`.
//!
//! - securesystemslib verifies envelopes consign signs (Ed25519 and ECDSA P-256) and rejects a
//!   tampered one;
//! - Python `cryptography` loads the private keys consign writes (PKCS#8 PEM), and securesystemslib
//!   signs with them and with keys it generated itself; consign verifies those envelopes and
//!   rejects a tampered one;
//! - the predicates consign writes validate against `schemas/predicates/`, a broken one does not.

use std::path::Path;
use std::process::Command;

use crate::support::{repo_root, tool};

/// Verifies a DSSE envelope with securesystemslib. The keyid securesystemslib matches on is computed
/// here, independently, as consign documents it: hex SHA-256 of the SPKI DER.
const VERIFY_PY: &str = r#"
import hashlib, json, sys
from cryptography.hazmat.primitives import serialization
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey

envelope_path, public_path = sys.argv[1], sys.argv[2]
public = serialization.load_pem_public_key(open(public_path, "rb").read())
der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
key = SSlibKey.from_crypto(public, keyid=hashlib.sha256(der).hexdigest())
envelope = Envelope.from_dict(json.loads(open(envelope_path, "rb").read()))
envelope.verify([key], 1)
print("verified", key.keyid, key.scheme)
"#;

/// Signs a payload with securesystemslib. `KEY` is a PKCS#8 PEM file, or `generate:ed25519` /
/// `generate:p256` to make a new key; the public key is written as SPKI PEM.
const SIGN_PY: &str = r#"
import json, sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner

key_spec, payload_path, envelope_path, public_path = sys.argv[1:5]
if key_spec == "generate:ed25519":
    private = ed25519.Ed25519PrivateKey.generate()
elif key_spec == "generate:p256":
    private = ec.generate_private_key(ec.SECP256R1())
else:
    private = serialization.load_pem_private_key(open(key_spec, "rb").read(), password=None)
signer = CryptoSigner(private)
envelope = Envelope(open(payload_path, "rb").read(), "application/vnd.in-toto+json", {})
envelope.sign(signer)
open(envelope_path, "w").write(json.dumps(envelope.to_dict()))
open(public_path, "wb").write(private.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
"#;

fn consign(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_consign"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("running consign")
}

fn python(dir: &Path, script: &str, args: &[&str]) -> std::process::Output {
    let path = dir.join("script.py");
    std::fs::write(&path, script).unwrap();
    tool("python")
        .current_dir(dir)
        .arg(&path)
        .args(args)
        .output()
        .expect("running python")
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

/// Generates a key pair and signs a component attestation about `part.bin` with it.
fn sign_component(dir: &Path, algorithm: &str) {
    std::fs::write(dir.join("part.bin"), b"wifi module firmware 3.1.0").unwrap();
    std::fs::copy(
        repo_root().join("fixtures/attest/claims/component.toml"),
        dir.join("component.toml"),
    )
    .unwrap();
    let out = consign(
        dir,
        &[
            "key",
            "generate",
            "--algorithm",
            algorithm,
            "--out",
            "supplier",
        ],
    );
    assert_ok(&out, "consign key generate");
    let out = consign(
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
    assert_ok(&out, "consign attest component");
}

fn tamper(envelope_json: &str) -> String {
    let mut value: serde_json::Value = serde_json::from_str(envelope_json).unwrap();
    let payload = value["payload"].as_str().unwrap().to_owned();
    // Change one base64 character in the middle of the payload: still valid base64, other bytes.
    let mut chars: Vec<char> = payload.chars().collect();
    let mid = chars.len() / 2;
    chars[mid] = if chars[mid] == 'A' { 'B' } else { 'A' };
    value["payload"] = serde_json::Value::String(chars.into_iter().collect());
    value.to_string()
}

#[test]
fn securesystemslib_verifies_consign_envelopes() {
    for algorithm in ["ed25519", "p256"] {
        let dir = tempfile::tempdir().unwrap();
        sign_component(dir.path(), algorithm);
        let jsonl = std::fs::read_to_string(dir.path().join("part.intoto.jsonl")).unwrap();
        let line = jsonl.lines().next().unwrap();
        std::fs::write(dir.path().join("envelope.json"), line).unwrap();
        let out = python(dir.path(), VERIFY_PY, &["envelope.json", "supplier.pub"]);
        assert_ok(
            &out,
            &format!("securesystemslib verifying a consign {algorithm} envelope"),
        );
        // Must fail: a tampered payload.
        std::fs::write(dir.path().join("tampered.json"), tamper(line)).unwrap();
        let out = python(dir.path(), VERIFY_PY, &["tampered.json", "supplier.pub"]);
        assert!(
            !out.status.success(),
            "securesystemslib accepted a tampered {algorithm} envelope"
        );
    }
}

#[test]
fn consign_verifies_securesystemslib_envelopes() {
    for key_spec in [
        "generate:ed25519",
        "generate:p256",
        "consign:ed25519",
        "consign:p256",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        // The payload: the statement of an attestation consign made (so the predicate is known).
        let algorithm = key_spec.split(':').nth(1).unwrap();
        sign_component(dir, algorithm);
        let jsonl = std::fs::read_to_string(dir.join("part.intoto.jsonl")).unwrap();
        let envelope: serde_json::Value =
            serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
        let payload = base64_decode(envelope["payload"].as_str().unwrap());
        std::fs::write(dir.join("statement.json"), payload).unwrap();
        // Python signs with a key it generated, or with the private key consign wrote.
        let python_key = if key_spec.starts_with("consign:") {
            "supplier.key"
        } else {
            key_spec
        };
        let out = python(
            dir,
            SIGN_PY,
            &[python_key, "statement.json", "py-envelope.json", "py.pub"],
        );
        assert_ok(&out, &format!("securesystemslib signing with {key_spec}"));
        let out = consign(
            dir,
            &[
                "verify-attestation",
                "part.bin",
                "--attestation",
                "py-envelope.json",
                "--key",
                "py.pub",
            ],
        );
        assert_ok(
            &out,
            &format!("consign verifying a securesystemslib envelope ({key_spec})"),
        );
        // Must fail: tampered payload (exit 1), and the right envelope with another key (exit 1).
        let signed = std::fs::read_to_string(dir.join("py-envelope.json")).unwrap();
        std::fs::write(dir.join("tampered.json"), tamper(&signed)).unwrap();
        let out = consign(
            dir,
            &[
                "verify-attestation",
                "part.bin",
                "--attestation",
                "tampered.json",
                "--key",
                "py.pub",
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if key_spec.starts_with("generate:") {
            let out = consign(
                dir,
                &[
                    "verify-attestation",
                    "part.bin",
                    "--attestation",
                    "py-envelope.json",
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
        }
    }
}

#[test]
fn predicates_validate_against_their_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    sign_component(dir, "ed25519");
    let jsonl = std::fs::read_to_string(dir.join("part.intoto.jsonl")).unwrap();
    let envelope: serde_json::Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
    let statement: serde_json::Value =
        serde_json::from_slice(&base64_decode(envelope["payload"].as_str().unwrap())).unwrap();
    std::fs::write(
        dir.join("predicate.json"),
        statement["predicate"].to_string(),
    )
    .unwrap();
    let mut broken = statement["predicate"].clone();
    broken["claims"][0]["requirements"] = serde_json::json!([]);
    std::fs::write(dir.join("broken.json"), broken.to_string()).unwrap();
    let schema = repo_root().join("schemas/predicates/component.v0.1.schema.json");
    let out = tool("check-jsonschema")
        .arg("--schemafile")
        .arg(&schema)
        .arg(dir.join("predicate.json"))
        .output()
        .unwrap();
    assert_ok(&out, "check-jsonschema on the component predicate");
    let out = tool("check-jsonschema")
        .arg("--schemafile")
        .arg(&schema)
        .arg(dir.join("broken.json"))
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "check-jsonschema accepted a predicate with no requirements"
    );
}

/// Standard base64 (padded), enough for the payloads consign writes.
fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for byte in text.bytes().filter(|b| *b != b'=') {
        let value = ALPHABET.iter().position(|c| *c == byte).unwrap() as u32;
        buffer = (buffer << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    out
}
