//! in-toto v0.9 interop with the Python reference (`in-toto` 3.1 from `PyPI`), both ways.
//!
//! One supply chain, two steps, mixed keys: the owner signs the layout with Ed25519, `write` is
//! performed by alice (ECDSA P-256), `package` needs both alice and bob (Ed25519, a 2-of-2
//! threshold) and records a stdout holding TAB, CR, a literal backslash-n and non-ASCII text.
//! - consign makes the chain (`consign intoto layout create`, `consign intoto record`) and the
//!   reference's `in-toto-verify` judges it, as does `consign intoto verify`;
//! - the reference makes the chain (its Python API for the layout, `in-toto-run` for links, the
//!   API again for bob's link so its stdout keeps a CR, which `in-toto-run` would translate) and
//!   `consign intoto verify` judges it, as does `in-toto-verify`;
//! - each both plain (Metablock) and DSSE-wrapped; and each failure (tampered artifact, expired
//!   layout, missing link, below threshold, wrong layout key) must be caught by both verifiers.

#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test, with its location.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::tool;

/// The command of the `package` step: deterministic products, and the tricky stdout.
const PACKAGE_SCRIPT: &str =
    r"cp foo.py foo.tar.gz && printf 'tab\there\rcr \\n caf\303\251 \346\227\245\346\234\254\n'";

/// The in-toto reference makes a layout or one link with its Python API. Written for this test.
const REFERENCE_PY: &str = r#"
import json, sys
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.signer import CryptoSigner
from in_toto.models.layout import Layout, Step
from in_toto.models.link import Link, FILENAME_FORMAT
from in_toto.models.metadata import Metablock, Envelope
from in_toto.models._signer import load_public_key_from_file
from in_toto.runlib import record_artifacts_as_dict

what, wrap, command = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])

def signer(name):
    return CryptoSigner(load_pem_private_key(open(name + ".key", "rb").read(), None))

def dump(signable, signers, path):
    metadata = Envelope.from_signable(signable) if wrap == "dsse" else Metablock(signed=signable)
    for one in signers:
        metadata.create_signature(one)
    metadata.dump(path)

alice = load_public_key_from_file("alice.pub")
bob = load_public_key_from_file("bob.pub")
if what == "layout":
    rules_from_write = ["MATCH", "foo.py", "WITH", "PRODUCTS", "FROM", "write"]
    layout = Layout(
        expires=sys.argv[4],
        readme="made by the in-toto reference",
        keys={alice["keyid"]: alice, bob["keyid"]: bob},
        steps=[
            Step(name="write", pubkeys=[alice["keyid"]], expected_command=[],
                 expected_materials=[], expected_products=[["CREATE", "foo.py"], ["DISALLOW", "*"]]),
            Step(name="package", threshold=2, pubkeys=[alice["keyid"], bob["keyid"]],
                 expected_command=command,
                 expected_materials=[rules_from_write, ["DISALLOW", "*"]],
                 expected_products=[["CREATE", "foo.tar.gz"], rules_from_write, ["DISALLOW", "*"]]),
        ],
    )
    dump(layout, [signer("owner")], "root.layout")
else:
    link = Link(
        name="package",
        command=command,
        materials=record_artifacts_as_dict(["foo.py"], base_path="work"),
        products=record_artifacts_as_dict(["foo.py", "foo.tar.gz"], base_path="work"),
        byproducts={"stdout": "tab\there\rcr \\n caf\u00e9 \u65e5\u672c\n", "stderr": "", "return-value": 0},
    )
    dump(link, [signer("bob")], "links/" + FILENAME_FORMAT.format(step_name="package", keyid=bob["keyid"]))
"#;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Producer {
    Consign,
    Reference,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    Good,
    TamperedArtifact,
    ExpiredLayout,
    MissingLink,
    BelowThreshold,
    WrongLayoutKey,
}

const CASES: [Case; 6] = [
    Case::Good,
    Case::TamperedArtifact,
    Case::ExpiredLayout,
    Case::MissingLink,
    Case::BelowThreshold,
    Case::WrongLayoutKey,
];

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

fn consign(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_consign"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("running consign")
}

fn reference_script(dir: &Path, args: &[&str]) -> Output {
    let path = dir.join("reference.py");
    std::fs::write(&path, REFERENCE_PY).unwrap();
    tool("python")
        .current_dir(dir)
        .arg(&path)
        .args(args)
        .output()
        .expect("running python")
}

fn link_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("links"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn new_link(dir: &Path, before: &[String]) -> String {
    link_files(dir)
        .into_iter()
        .find(|name| !before.contains(name))
        .expect("a new link file")
}

/// Makes the keys and the chain in a fresh directory; returns it and alice's and bob's
/// `package` link file names.
fn make_chain(producer: Producer, dsse: bool, case: Case) -> (tempfile::TempDir, String, String) {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    for (name, algorithm) in [("owner", "ed25519"), ("alice", "p256"), ("bob", "ed25519")] {
        ok(
            &consign(
                dir,
                &["key", "generate", "--algorithm", algorithm, "--out", name],
            ),
            "consign key generate",
        );
    }
    std::fs::create_dir_all(dir.join("work")).unwrap();
    std::fs::create_dir_all(dir.join("links")).unwrap();
    std::fs::write(dir.join("work/foo.py"), "print('hello')\n").unwrap();
    let expires = if case == Case::ExpiredLayout {
        "2020-01-01T00:00:00Z"
    } else {
        "2099-01-01T00:00:00Z"
    };
    let command = ["sh", "-c", PACKAGE_SCRIPT];
    let command_json = serde_json::to_string(&command).unwrap();
    let wrap = if dsse { "dsse" } else { "metablock" };
    let dsse_flag: &[&str] = if dsse { &["--dsse"] } else { &[] };
    let dsse_flag_py: &[&str] = if dsse { &["--use-dsse"] } else { &[] };

    // The layout.
    match producer {
        Producer::Consign => {
            let template = serde_json::json!({
                "expires": expires,
                "readme": "made by consign",
                "steps": [
                    {"name": "write", "pubkeys": ["alice.pub"],
                     "expected_products": [["CREATE", "foo.py"], ["DISALLOW", "*"]]},
                    {"name": "package", "threshold": 2, "pubkeys": ["alice.pub", "bob.pub"],
                     "expected_command": command,
                     "expected_materials": [["MATCH", "foo.py", "WITH", "PRODUCTS", "FROM", "write"], ["DISALLOW", "*"]],
                     "expected_products": [["CREATE", "foo.tar.gz"], ["MATCH", "foo.py", "WITH", "PRODUCTS", "FROM", "write"], ["DISALLOW", "*"]]}
                ]
            });
            std::fs::write(dir.join("template.json"), template.to_string()).unwrap();
            let mut args = vec![
                "intoto",
                "layout",
                "create",
                "--template",
                "template.json",
                "--key",
                "owner.key",
                "--out",
                "root.layout",
            ];
            args.extend_from_slice(dsse_flag);
            ok(&consign(dir, &args), "consign intoto layout create");
        }
        Producer::Reference => {
            ok(
                &reference_script(dir, &["layout", wrap, &command_json, expires]),
                "the reference making the layout",
            );
        }
    }

    // Step `write` by alice.
    match producer {
        Producer::Consign => {
            let mut args = vec![
                "intoto",
                "record",
                "--step",
                "write",
                "--key",
                "alice.key",
                "--products",
                "foo.py",
                "--base-dir",
                "work",
                "--out-dir",
                "links",
            ];
            args.extend_from_slice(dsse_flag);
            ok(&consign(dir, &args), "consign intoto record write");
        }
        Producer::Reference => {
            let mut run = tool("in-toto-run");
            run.current_dir(dir.join("work"))
                .args([
                    "-n",
                    "write",
                    "--signing-key",
                    "../alice.key",
                    "-p",
                    "foo.py",
                    "-x",
                    "-d",
                    "../links",
                ])
                .args(dsse_flag_py);
            ok(&run.output().unwrap(), "in-toto-run write");
        }
    }

    if case == Case::TamperedArtifact {
        std::fs::write(dir.join("work/foo.py"), "print('pwned')\n").unwrap();
    }

    // Step `package` by alice, then bob.
    let before = link_files(dir);
    match producer {
        Producer::Consign => {
            for key in ["alice.key", "bob.key"] {
                let mut args = vec![
                    "intoto",
                    "record",
                    "--step",
                    "package",
                    "--key",
                    key,
                    "--materials",
                    "foo.py",
                    "--products",
                    "foo.py",
                    "foo.tar.gz",
                    "--base-dir",
                    "work",
                    "--out-dir",
                    "links",
                ];
                args.extend_from_slice(dsse_flag);
                args.push("--");
                args.extend_from_slice(&command);
                ok(&consign(dir, &args), "consign intoto record package");
            }
        }
        Producer::Reference => {
            let mut run = tool("in-toto-run");
            run.current_dir(dir.join("work"))
                .args([
                    "-n",
                    "package",
                    "--signing-key",
                    "../alice.key",
                    "-m",
                    "foo.py",
                    "-p",
                    "foo.py",
                    "foo.tar.gz",
                    "-s",
                    "-d",
                    "../links",
                ])
                .args(dsse_flag_py)
                .arg("--")
                .args(command);
            ok(&run.output().unwrap(), "in-toto-run package");
        }
    }
    let alice_package = new_link(dir, &before);
    if producer == Producer::Reference {
        ok(
            &reference_script(dir, &["link", wrap, &command_json]),
            "the reference making bob's link",
        );
    }
    let mut with_alice = before.clone();
    with_alice.push(alice_package.clone());
    let bob_package = new_link(dir, &with_alice);

    match case {
        Case::MissingLink => {
            let write = link_files(dir)
                .into_iter()
                .find(|name| name.starts_with("write."))
                .unwrap();
            std::fs::remove_file(dir.join("links").join(write)).unwrap();
        }
        Case::BelowThreshold => {
            // Bob's link is replaced by a copy of alice's: one functionary counted twice is one.
            std::fs::copy(
                dir.join("links").join(&alice_package),
                dir.join("links").join(&bob_package),
            )
            .unwrap();
        }
        _ => {}
    }
    (temp, alice_package, bob_package)
}

fn layout_key(case: Case) -> &'static str {
    if case == Case::WrongLayoutKey {
        "bob.pub"
    } else {
        "owner.pub"
    }
}

fn consign_verdict(dir: &Path, case: Case) -> Output {
    consign(
        dir,
        &[
            "intoto",
            "verify",
            "--layout",
            "root.layout",
            "--layout-key",
            layout_key(case),
            "--links",
            "links",
        ],
    )
}

fn reference_verdict(dir: &Path, case: Case) -> Output {
    tool("in-toto-verify")
        .current_dir(dir)
        .args([
            "--layout",
            "root.layout",
            "--verification-keys",
            layout_key(case),
            "--link-dir",
            "links",
        ])
        .output()
        .expect("running in-toto-verify")
}

/// The part of consign's message that names the failure of each case.
fn expected_message(case: Case) -> &'static str {
    match case {
        Case::Good => "",
        Case::TamperedArtifact => {
            "step `package`: materials rule `DISALLOW *` failed for artifact `foo.py`"
        }
        Case::ExpiredLayout => "the in-toto layout expired at 2020-01-01T00:00:00Z",
        Case::MissingLink => "step `write` requires 1 link file(s), found 0",
        Case::BelowThreshold => {
            "step `package` requires links validly signed by 2 different authorized functionaries, found 1"
        }
        Case::WrongLayoutKey => "the in-toto layout is not validly signed by layout key",
    }
}

fn check_all(producer: Producer, dsse: bool) {
    for case in CASES {
        let (temp, alice_package, _) = make_chain(producer, dsse, case);
        let dir = temp.path();
        let what = format!("{producer:?} chain, dsse {dsse}, case {case:?}");
        if case == Case::Good {
            // The recorded stdout keeps its tricky bytes in the signed link (a CR only where the
            // producer kept it: `in-toto-run` reads streams in text mode, which turns CR into LF).
            let bytes = std::fs::read(dir.join("links").join(&alice_package)).unwrap();
            let metadata = consign_attest::intoto::Metadata::from_json(&bytes, "link").unwrap();
            let signed = metadata.signed();
            let stdout = signed["byproducts"]["stdout"].as_str().unwrap().to_owned();
            let expect_cr = if producer == Producer::Consign {
                "\r"
            } else {
                "\n"
            };
            assert_eq!(
                stdout,
                format!("tab\there{expect_cr}cr \\n café 日本\n"),
                "{what}"
            );
        }
        let consign_out = consign_verdict(dir, case);
        let reference_out = reference_verdict(dir, case);
        let consign_err = String::from_utf8_lossy(&consign_out.stderr).into_owned();
        let reference_err = String::from_utf8_lossy(&reference_out.stderr).into_owned();
        if case == Case::Good {
            ok(&consign_out, &format!("consign intoto verify ({what})"));
            ok(&reference_out, &format!("in-toto-verify ({what})"));
        } else {
            assert_eq!(
                consign_out.status.code(),
                Some(1),
                "consign must reject ({what}): {consign_err}"
            );
            assert!(
                consign_err.contains(expected_message(case)),
                "consign's message ({what}): {consign_err}"
            );
            assert_eq!(
                reference_out.status.code(),
                Some(1),
                "in-toto-verify must reject ({what}): {reference_err}"
            );
        }
    }
}

#[test]
fn reference_verifies_consign_metablocks() {
    check_all(Producer::Consign, false);
}

#[test]
fn reference_verifies_consign_dsse() {
    check_all(Producer::Consign, true);
}

#[test]
fn consign_verifies_reference_metablocks() {
    check_all(Producer::Reference, false);
}

#[test]
fn consign_verifies_reference_dsse() {
    check_all(Producer::Reference, true);
}

/// Hostile files in the link directory and as the layout give a clear error and exit code, never
/// a panic: malformed JSON is a verification failure (1) for a link and unreadable input (2) for
/// the layout.
#[test]
fn hostile_files_give_clear_errors() {
    let (temp, alice_package, _) = make_chain(Producer::Consign, false, Case::Good);
    let dir = temp.path();
    std::fs::write(dir.join("links").join(&alice_package), "{\"signed\": [").unwrap();
    let out = consign_verdict(dir, Case::Good);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "field `{alice_package}`: expected a readable link"
        )),
        "{stderr}"
    );
    std::fs::write(dir.join("root.layout"), "\u{0}garbage").unwrap();
    let out = consign_verdict(dir, Case::Good);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("reading the layout root.layout"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
