//! PKCS#11 hardware keys with a real SoftHSM2 token (Debian `softhsm2`), judged by the Python
//! in-toto reference and securesystemslib.
//!
//! For ECDSA P-256 and Ed25519: a token is initialised in a temporary directory, consign generates
//! the key pair *inside* it (`consign key generate --pkcs11 URI`) and reads back
//! `CKA_EXTRACTABLE=false` and `CKA_SENSITIVE=true`, exports the public key from the token, signs
//! an in-toto link (Metablock) and a DSSE-wrapped one with the token key (`--key pkcs11:…`), and
//! in-toto / securesystemslib verify both with the exported key; tampered copies must fail.

#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test, with its location.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::tool;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const SOFTHSM_UTIL: &str = "/usr/bin/softhsm2-util";

/// Verifies one in-toto link (Metablock or DSSE) with a public key file, as in-toto does.
const VERIFY_PY: &str = r#"
import sys
from in_toto.models.metadata import Metadata
from in_toto.models._signer import load_public_key_from_file
metadata = Metadata.load(sys.argv[1])
key = load_public_key_from_file(sys.argv[2])
metadata.verify_signature(key)
print("verified", type(metadata).__name__, key["keyid"], key["scheme"])
"#;

#[track_caller]
fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn require_softhsm() {
    for path in [MODULE, SOFTHSM_UTIL] {
        assert!(
            Path::new(path).exists(),
            "SoftHSM2 is not installed (`{path}` is missing)\n\nhint: run `cargo xtask tools` or `apt-get install -y softhsm2`"
        );
    }
}

fn consign(dir: &Path, conf: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_consign"))
        .current_dir(dir)
        .env("SOFTHSM2_CONF", conf)
        .env_remove("CONSIGN_PKCS11_PIN")
        .env_remove("CONSIGN_PKCS11_MODULE")
        .args(args)
        .output()
        .expect("running consign")
}

fn python_verify(dir: &Path, link: &str, public: &str) -> Output {
    let script = dir.join("verify.py");
    std::fs::write(&script, VERIFY_PY).unwrap();
    tool("python")
        .current_dir(dir)
        .arg(&script)
        .args([link, public])
        .output()
        .expect("running python")
}

/// Changes the signed content of a link file (Metablock or DSSE) without re-signing it.
const TAMPER_PY: &str = r#"
import base64, json, sys
path = sys.argv[1]
value = json.load(open(path))
if "payload" in value:
    payload = base64.b64decode(value["payload"]).replace(b"hsm-step", b"hsm-stop")
    value["payload"] = base64.b64encode(payload).decode()
else:
    value["signed"]["name"] = "hsm-stop"
json.dump(value, open(path, "w"))
"#;

fn tamper(dir: &Path, link: &str) {
    let script = dir.join("tamper.py");
    std::fs::write(&script, TAMPER_PY).unwrap();
    ok(
        &tool("python")
            .current_dir(dir)
            .arg(&script)
            .arg(link)
            .output()
            .unwrap(),
        "tampering with the link",
    );
}

#[test]
fn softhsm_keys_sign_links_the_reference_verifies() {
    require_softhsm();
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    std::fs::create_dir_all(dir.join("tokens")).unwrap();
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            dir.join("tokens").display()
        ),
    )
    .unwrap();
    let init = Command::new(SOFTHSM_UTIL)
        .env("SOFTHSM2_CONF", &conf)
        .args([
            "--init-token",
            "--free",
            "--label",
            "consign-test",
            "--pin",
            "1234",
            "--so-pin",
            "5678",
        ])
        .output()
        .unwrap();
    ok(&init, "softhsm2-util --init-token");
    std::fs::write(dir.join("pin.txt"), "1234\n").unwrap();
    std::fs::write(dir.join("artifact.txt"), "firmware\n").unwrap();

    for (algorithm, id) in [("p256", "%01"), ("ed25519", "%02")] {
        let uri = format!(
            "pkcs11:token=consign-test;object={algorithm}-key;id={id}?module-path={MODULE}&pin-source=file:{}",
            dir.join("pin.txt").display()
        );
        let out = consign(
            dir,
            &conf,
            &[
                "key",
                "generate",
                "--algorithm",
                algorithm,
                "--pkcs11",
                &uri,
                "--out",
                algorithm,
            ],
        );
        ok(&out, "consign key generate --pkcs11");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("CKA_EXTRACTABLE=false, CKA_SENSITIVE=true"),
            "{stderr}"
        );
        assert!(
            !dir.join(format!("{algorithm}.key")).exists(),
            "no private key file may be written"
        );

        // The public key exported from the token again equals the one written at generation.
        let out = consign(dir, &conf, &["key", "public", &uri]);
        ok(&out, "consign key public pkcs11:");
        let written = std::fs::read_to_string(dir.join(format!("{algorithm}.pub"))).unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), written);

        for dsse in [false, true] {
            let out_dir = dir.join(format!("links-{algorithm}-{dsse}"));
            std::fs::create_dir_all(&out_dir).unwrap();
            let out_dir_text = out_dir.display().to_string();
            let mut args = vec![
                "intoto",
                "record",
                "--step",
                "hsm-step",
                "--key",
                &uri,
                "--products",
                "artifact.txt",
                "--out-dir",
                &out_dir_text,
            ];
            if dsse {
                args.push("--dsse");
            }
            ok(
                &consign(dir, &conf, &args),
                "consign intoto record --key pkcs11:",
            );
            let link = std::fs::read_dir(&out_dir)
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .path();
            let link_text = link.display().to_string();
            let public = format!("{algorithm}.pub");
            let out = python_verify(dir, &link_text, &public);
            ok(
                &out,
                &format!("in-toto verifying the {algorithm} token's link (dsse {dsse})"),
            );
            tamper(dir, &link_text);
            let out = python_verify(dir, &link_text, &public);
            assert!(
                !out.status.success(),
                "a tampered {algorithm} link must fail (dsse {dsse}): {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }

    // A wrong PIN is a clear error, never a panic.
    let uri =
        format!("pkcs11:token=consign-test;object=p256-key?module-path={MODULE}&pin-value=0000");
    let out = consign(dir, &conf, &["key", "public", &uri]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("logging in to the token (check the PIN)"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("0000"),
        "the PIN must not be echoed: {stderr}"
    );
}
