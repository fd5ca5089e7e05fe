//! The whole chain at the library level, with real keys and a generated firmware image: supplier,
//! manufacturer and distributor attest through consign-attest, the importer verifies, and each
//! rejection of issue 6 is proven with its reason.
// Test scaffolding: helpers outside `#[test]` functions may unwrap, and the variant is a bag of switches.
#![allow(
    clippy::unwrap_used,
    clippy::needless_pass_by_value,
    clippy::struct_excessive_bools
)]

use consign_attest::attest::{
    Artifact, attest_component, attest_custody, attest_release, sign_statement,
};
use consign_attest::claims::{ComponentClaims, CustodyClaims};
use consign_attest::dsse;
use consign_attest::statement::{Statement, Subject};
use consign_attest::{KeyAlgorithm, PrivateKey, Signer as _};
use consign_model::{ProductFile, Sha256, Sha512};
use consign_verify::backend::{AttestSignatures, FirmwareRescan, standard_engines};
use consign_verify::shipment::{ArtifactRole, NewArtifact, assemble};
use consign_verify::{Date, Ledger, Policy, Status, SupportRecord, TrustStore, Verdict};

const BUSYBOX: &[u8] =
    b"\x7fELF....BusyBox v1.36.1 (2024-01-01 00:00:00 UTC) multi-call binary....";
const LIBSSL: &[u8] = b"\x7fELF....OpenSSL 3.0.13 30 Jan 2024....";
const DOC: &[u8] = b"EU declaration of conformity: Example Devices GmbH, Smart Plug SP-200";

struct Keys {
    supplier: PrivateKey,
    manufacturer: PrivateKey,
    distributor: PrivateKey,
    distributor2: PrivateKey,
}

fn keys() -> Keys {
    Keys {
        supplier: PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap(),
        manufacturer: PrivateKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap(),
        distributor: PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap(),
        distributor2: PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap(),
    }
}

/// A shadow file whose root password is `admin`, on the Mirai list (`openssl passwd -1 -salt
/// abcdefgh admin`).
const SHADOW_ADMIN: &[u8] = b"root:$1$abcdefgh$l/LAqC8oJERu7Cmx6trtY/:19000:0:99999:7:::\n";

/// An init script that starts a telnet daemon (issue 16: a service the claims do not list).
const TELNET_SCRIPT: &[u8] = b"#!/bin/sh\n/usr/sbin/telnetd -l /bin/login\n";

/// BusyBox init's table and start script, which run every `/etc/init.d/S??*` at boot.
const INITTAB: &[u8] = b"::sysinit:/etc/init.d/rcS\n";
const RCS: &[u8] = b"#!/bin/sh\nfor s in /etc/init.d/S??* ; do $s start; done\n";

/// The throwaway OpenSSH host key of consign-audit's rule tests (`ssh-keygen -q -t ed25519 -N ''
/// -C test`), shipped in the image so every unit shares it.
const HOST_KEY: &[u8] = b"-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACDuG5m6ITpkHGJ27OyuQeXtAvKJftU0FMLIW+MuVRRf3wAAAIhJ28KkSdvC
pAAAAAtzc2gtZWQyNTUxOQAAACDuG5m6ITpkHGJ27OyuQeXtAvKJftU0FMLIW+MuVRRf3w
AAAECKEjK2KUIYa3gkOPxXAbhQE/s8/+wb5EpnLSdXStOiv+4bmbohOmQcYnbs7K5B5e0C
8ol+1TQUwshb4y5VFF/fAAAABHRlc3QB
-----END OPENSSH PRIVATE KEY-----
";

fn firmware(shadow: bool) -> Vec<u8> {
    firmware_with(shadow, false, false)
}

fn firmware_with(shadow: bool, telnet: bool, host_key: bool) -> Vec<u8> {
    let mut artifacts = vec![
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
    ];
    if shadow {
        artifacts.push(NewArtifact {
            path: "etc/shadow".into(),
            role: ArtifactRole::Firmware,
            data: SHADOW_ADMIN.to_vec(),
        });
    }
    if telnet {
        // BusyBox init reaches the script through inittab and rcS's `S??*` loop, as on a real
        // image; a script nothing starts would not be a service.
        for (path, data) in [("etc/inittab", INITTAB), ("etc/init.d/rcS", RCS)] {
            artifacts.push(NewArtifact {
                path: path.into(),
                role: ArtifactRole::Firmware,
                data: data.to_vec(),
            });
        }
        artifacts.push(NewArtifact {
            path: "etc/init.d/S50telnet".into(),
            role: ArtifactRole::Firmware,
            data: TELNET_SCRIPT.to_vec(),
        });
    }
    if host_key {
        artifacts.push(NewArtifact {
            path: "etc/ssh/ssh_host_ed25519_key".into(),
            role: ArtifactRole::Firmware,
            data: HOST_KEY.to_vec(),
        });
    }
    assemble(None, artifacts).unwrap().to_tar().unwrap()
}

fn component(name: &str, version: &str, data: &[u8], license: &str) -> serde_json::Value {
    serde_json::json!({
        "type": "library",
        "bom-ref": format!("{name}@{version}"),
        "name": name,
        "version": version,
        "supplier": {"name": format!("{name} project")},
        "purl": format!("pkg:generic/{name}@{version}"),
        "hashes": [{"alg": "SHA-512", "content": Sha512::of(data).to_hex()}],
        "licenses": [{"license": {"id": license}}]
    })
}

fn sbom(components: Vec<serde_json::Value>) -> Vec<u8> {
    let refs: Vec<serde_json::Value> = components
        .iter()
        .map(|c| serde_json::json!({"ref": c["bom-ref"]}))
        .collect();
    serde_json::to_vec_pretty(&serde_json::json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        "version": 1,
        "metadata": {
            "timestamp": "2026-11-01T00:00:00Z",
            "manufacturer": {"name": "Example Devices GmbH"},
            "component": {"type": "firmware", "bom-ref": "fw", "name": "Smart Plug", "version": "2.4.1"}
        },
        "components": components,
        "dependencies": refs
    }))
    .unwrap()
}

fn good_sbom() -> Vec<u8> {
    sbom(vec![
        component("busybox", "1.36.1", BUSYBOX, "GPL-2.0-only"),
        component("openssl", "3.0.13", LIBSSL, "Apache-2.0"),
    ])
}

fn product(support_end: &str, declared: &str, defaults_claims: bool) -> ProductFile {
    let claims = if defaults_claims {
        "device-keys = \"per-device\"\nexposed-services = [\"https\"]\n"
    } else {
        ""
    };
    ProductFile::from_toml(&format!(
        r#"
[manufacturer]
name = "Example Devices GmbH"
email = "info@devices.example"
[product]
name = "Smart Plug"
model = "SP-200"
firmware-version = "2.4.1"
cra-class = "default"
[support]
start = "2026-01-01"
end = "{support_end}"
[vulnerability-disclosure]
contact = "security@devices.example"
policy-url = "https://devices.example/cvd"
[security]
password-scheme = "unique-per-device"
{claims}{declared}
[conformity]
ce-marking = true
route = "A"
declaration-sha256 = "{}"
"#,
        Sha256::of(DOC).to_hex()
    ))
    .unwrap()
}

fn trust_store(keys: &Keys, manufacturer_until: &str) -> TrustStore {
    let party = |name: &str, role: &str, key: &PrivateKey, until: &str| {
        format!(
            "[[party]]\nname = \"{name}\"\nroles = [\"{role}\"]\n[[party.key]]\npublic-key = \"\"\"\n{}\"\"\"\nvalid-from = 2025-01-01\nvalid-until = {until}\n",
            key.public_key().to_pem()
        )
    };
    let text = format!(
        "format = \"consign-trust/v1\"\n{}{}{}{}",
        party("Acme Modules Ltd", "supplier", &keys.supplier, "2030-12-31"),
        party(
            "Example Devices GmbH",
            "manufacturer",
            &keys.manufacturer,
            manufacturer_until
        ),
        party(
            "Carrier Logistics",
            "distributor",
            &keys.distributor,
            "2030-12-31"
        ),
        party(
            "Second Carrier",
            "distributor",
            &keys.distributor2,
            "2030-12-31"
        ),
    );
    TrustStore::from_toml("trust.toml", &text).unwrap()
}

/// What one scenario changes from the good chain.
#[derive(Default)]
struct Variant {
    drop_supplier: bool,
    release_signed_by_distributor: bool,
    tamper_firmware: bool,
    sbom: Option<Vec<u8>>,
    support_end: Option<&'static str>,
    two_distributors_missing_first: bool,
    unknown_predicate_version: bool,
    default_password_in_firmware: bool,
    /// Issue 16: the firmware starts telnetd from `/etc/init.d/S50telnet`.
    telnet_in_firmware: bool,
    /// Issue 16: the firmware ships an SSH host private key.
    host_key_in_firmware: bool,
    /// Issue 16: `[[security.declared-findings]]` TOML in the product file.
    declared: &'static str,
    /// Issue 16: the product file makes no `device-keys` or `exposed-services` claim.
    no_defaults_claims: bool,
    /// Issue 13, item 1: the whole chain is about image B, but the manufacturer's product
    /// statement names `{sha256: A, sha512: B}`.
    mixed_subject: bool,
    /// Issue 13, item 2: text replaced in the product statement's signed bytes (a key repeated).
    duplicate_key: Option<(&'static str, &'static str)>,
    /// Issue 13, item 5: the supplier signs a CycloneDX statement about the firmware whose SBOM
    /// (shipped too) declares OpenSSL.
    supplier_sbom: bool,
    /// Issue 14: a VEX document the manufacturer signs about the firmware (`consign attest vex`).
    vex: Option<serde_json::Value>,
    /// The firmware also holds tar archives nested deeper than the re-scan's depth limit, so
    /// unpacking it leaves a part unread.
    nested_past_the_depth_limit: bool,
}

/// The good firmware with `opt/nest.tar` beside its files: tar inside tar, 20 deep (the re-scan's
/// default depth limit is 16), around a file no one reads.
fn firmware_nested_past_the_depth_limit() -> Vec<u8> {
    let wrap = |path: &str, data: Vec<u8>| {
        assemble(
            None,
            vec![NewArtifact {
                path: path.into(),
                role: ArtifactRole::Firmware,
                data,
            }],
        )
        .unwrap()
        .to_tar()
        .unwrap()
    };
    let mut nest = b"what is down here is never read\n".to_vec();
    for level in 0..20 {
        nest = wrap(&format!("level-{level}.tar"), nest);
    }
    let mut outer = tar::Archive::new(std::io::Cursor::new(firmware(false)));
    let mut artifacts: Vec<NewArtifact> = outer
        .entries()
        .unwrap()
        .filter_map(|entry| {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            // Files only, and not the manifest: `assemble` writes its own folders and manifest.
            if !entry.header().entry_type().is_file() || path == "shipment.json" {
                return None;
            }
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
            Some(NewArtifact {
                path,
                role: ArtifactRole::Firmware,
                data,
            })
        })
        .collect();
    artifacts.push(NewArtifact {
        path: "opt/nest.tar".into(),
        role: ArtifactRole::Firmware,
        data: nest,
    });
    assemble(None, artifacts).unwrap().to_tar().unwrap()
}

fn jsonl(envelopes: &[dsse::Envelope]) -> Vec<u8> {
    dsse::to_jsonl(envelopes).into_bytes()
}

/// Another image than [`firmware`]: one byte of BusyBox's version changed.
fn other_firmware() -> Vec<u8> {
    let mut bad = firmware(false);
    let at = bad.windows(6).position(|w| w == b"1.36.1").unwrap();
    bad[at + 5] = b'9';
    bad
}

fn shipment(keys: &Keys, variant: &Variant) -> consign_verify::shipment::Shipment {
    let fw = if variant.mixed_subject {
        other_firmware()
    } else if variant.nested_past_the_depth_limit {
        firmware_nested_past_the_depth_limit()
    } else {
        firmware_with(
            variant.default_password_in_firmware,
            variant.telnet_in_firmware,
            variant.host_key_in_firmware,
        )
    };
    let sbom_bytes = variant.sbom.clone().unwrap_or_else(good_sbom);
    let component_claims = ComponentClaims::from_toml(
        r#"
[supplier]
name = "Acme Modules Ltd"
contact = "psirt@acme.example"
[component]
name = "openssl"
version = "3.0.13"
[support]
end = "2034-12-31"
[vulnerability-disclosure]
contact = "psirt@acme.example"
[known-vulnerabilities]
statement = "none-known"
"#,
    )
    .unwrap();
    let supplier_file = jsonl(&[attest_component(
        &keys.supplier,
        Artifact {
            name: "libssl.so.3",
            data: LIBSSL,
        },
        &component_claims,
        None,
        None,
    )
    .unwrap()]);
    let release_signer = if variant.release_signed_by_distributor {
        &keys.distributor
    } else {
        &keys.manufacturer
    };
    let product = product(
        variant.support_end.unwrap_or("2032-12-31"),
        variant.declared,
        !variant.no_defaults_claims,
    );
    let mut release = attest_release(
        release_signer,
        &[Artifact {
            name: "fw.img",
            data: &fw,
        }],
        &product,
        Artifact {
            name: "fw.cdx.json",
            data: &sbom_bytes,
        },
        None,
        &[Artifact {
            name: "supplier.intoto.jsonl",
            data: &supplier_file,
        }],
        "https://devices.example/build",
    )
    .unwrap();
    if variant.mixed_subject {
        let mut statement = consign_attest::attest::product_statement(
            &[Artifact {
                name: "fw.img",
                data: &fw,
            }],
            &product,
            Artifact {
                name: "fw.cdx.json",
                data: &sbom_bytes,
            },
            None,
            &[Artifact {
                name: "supplier.intoto.jsonl",
                data: &supplier_file,
            }],
        )
        .unwrap();
        statement.subject[0]
            .digest
            .insert("sha256".to_owned(), Sha256::of(&firmware(false)).to_hex());
        release[0] = sign_statement(&statement, &[release_signer]).unwrap();
    }
    if let Some((find, replace)) = variant.duplicate_key {
        let statement = consign_attest::attest::product_statement(
            &[Artifact {
                name: "fw.img",
                data: &fw,
            }],
            &product,
            Artifact {
                name: "fw.cdx.json",
                data: &sbom_bytes,
            },
            None,
            &[Artifact {
                name: "supplier.intoto.jsonl",
                data: &supplier_file,
            }],
        )
        .unwrap();
        let text = String::from_utf8(statement.to_json()).unwrap();
        assert!(text.contains(find), "{text}");
        let payload = text.replacen(find, replace, 1);
        release[0] = dsse::sign(
            dsse::INTOTO_PAYLOAD_TYPE,
            payload.as_bytes(),
            &[release_signer],
        )
        .unwrap();
    }
    if variant.unknown_predicate_version {
        let statement = Statement::new(
            vec![Subject::for_bytes("fw.img", &fw)],
            "https://consign.dev/attestation/product/v0.2",
            serde_json::json!({"party": {"role": "manufacturer", "name": "Example Devices GmbH", "contact": "x"}, "claims": []}),
        );
        release.push(sign_statement(&statement, &[&keys.manufacturer]).unwrap());
    }
    let release_file = jsonl(&release);
    let lot = |name: &str, from: &str| {
        CustodyClaims::from_toml(&format!(
            "[distributor]\nname = \"{name}\"\ncontact = \"ops@carrier.example\"\n[lot]\nid = \"LOT-42\"\n[received]\nparty = \"{from}\"\ndate = \"2026-11-01\"\n"
        ))
        .unwrap()
    };
    let custody_file = jsonl(&[attest_custody(
        &keys.distributor,
        &[Artifact {
            name: "fw.img",
            data: &fw,
        }],
        &lot("Carrier Logistics", "Example Devices GmbH"),
        &[Artifact {
            name: "release.intoto.jsonl",
            data: &release_file,
        }],
    )
    .unwrap()]);
    let mut files = vec![];
    let shipped_fw = if variant.tamper_firmware {
        other_firmware()
    } else {
        fw.clone()
    };
    files.push(NewArtifact::named(
        ArtifactRole::Firmware,
        "fw.img",
        shipped_fw,
    ));
    files.push(NewArtifact::named(
        ArtifactRole::Sbom,
        "fw.cdx.json",
        sbom_bytes,
    ));
    if !variant.drop_supplier {
        files.push(NewArtifact::named(
            ArtifactRole::Attestation,
            "supplier.intoto.jsonl",
            supplier_file,
        ));
    }
    files.push(NewArtifact::named(
        ArtifactRole::Attestation,
        "release.intoto.jsonl",
        release_file,
    ));
    if variant.two_distributors_missing_first {
        let second = jsonl(&[attest_custody(
            &keys.distributor2,
            &[Artifact {
                name: "fw.img",
                data: &fw,
            }],
            &lot("Second Carrier", "Carrier Logistics"),
            &[Artifact {
                name: "custody.intoto.jsonl",
                data: &custody_file,
            }],
        )
        .unwrap()]);
        files.push(NewArtifact::named(
            ArtifactRole::Attestation,
            "custody2.intoto.jsonl",
            second,
        ));
    } else {
        files.push(NewArtifact::named(
            ArtifactRole::Attestation,
            "custody.intoto.jsonl",
            custody_file,
        ));
    }
    if variant.supplier_sbom {
        let supplier_sbom = sbom(vec![component("openssl", "3.0.13", LIBSSL, "Apache-2.0")]);
        let statement = consign_attest::attest::attest_sbom(
            &keys.supplier,
            &[Artifact {
                name: "fw.img",
                data: &fw,
            }],
            &supplier_sbom,
        )
        .unwrap();
        files.push(NewArtifact::named(
            ArtifactRole::Sbom,
            "supplier.cdx.json",
            supplier_sbom,
        ));
        files.push(NewArtifact::named(
            ArtifactRole::Attestation,
            "supplier-sbom.intoto.jsonl",
            jsonl(&[statement]),
        ));
    }
    if let Some(vex) = &variant.vex {
        let statement = consign_attest::attest::vex_statement(
            &[Artifact {
                name: "fw.img",
                data: &fw,
            }],
            &serde_json::to_vec(vex).unwrap(),
        )
        .unwrap();
        files.push(NewArtifact::named(
            ArtifactRole::Attestation,
            "vex.intoto.jsonl",
            jsonl(&[sign_statement(&statement, &[&keys.manufacturer]).unwrap()]),
        ));
    }
    files.push(NewArtifact::named(
        ArtifactRole::Document,
        "eu-doc.txt",
        DOC.to_vec(),
    ));
    assemble(Some("lot-42"), files)
        .unwrap()
        .to_shipment("lot-42")
        .unwrap()
}

fn date(text: &str) -> Date {
    text.parse().unwrap()
}

fn verify_with(
    keys: &Keys,
    variant: &Variant,
    trust: &TrustStore,
    policy: &Policy,
    at: &str,
    history: &[SupportRecord],
) -> Verdict {
    let shipment = shipment(keys, variant);
    let signatures = AttestSignatures::new(trust).unwrap();
    let rescan = FirmwareRescan::default();
    consign_verify::verify(
        &shipment,
        policy,
        trust,
        date(at),
        history,
        standard_engines(&signatures, Some(&rescan)),
    )
}

/// `eu-cra-import` as an importer without a vulnerability database yet must write it: the known
/// vulnerabilities check stays required, and the policy says explicitly that it cannot run.
fn import_policy() -> Policy {
    Policy::from_text(
        "no-vuln-db.toml",
        "format = \"consign-policy/v1\"\nid = \"no-vuln-db\"\nextends = \"eu-cra-import\"\n[checks.\"vulnerabilities.known\"]\nwhen-unavailable = \"warn\"\n",
        false,
    )
    .unwrap()
}

fn verify(keys: &Keys, variant: &Variant) -> Verdict {
    verify_with(
        keys,
        variant,
        &trust_store(keys, "2030-12-31"),
        &import_policy(),
        "2026-11-22",
        &[],
    )
}

#[track_caller]
fn rejected_by(verdict: &Verdict, id: &str, reason: &str) {
    assert!(
        !verdict.accepted,
        "{}",
        consign_verify::report::text(verdict)
    );
    let result = verdict.result(id).unwrap();
    assert_eq!(
        result.status,
        Status::Fail,
        "{}",
        consign_verify::report::text(verdict)
    );
    assert!(
        result.reason.contains(reason),
        "`{id}`: {}\n\n{}",
        result.reason,
        consign_verify::report::text(verdict)
    );
}

#[test]
fn the_good_chain_is_accepted() {
    let keys = keys();
    let verdict = verify(&keys, &Variant::default());
    assert!(
        verdict.accepted,
        "{}",
        consign_verify::report::text(&verdict)
    );
    assert_eq!(
        verdict.result("integrity.custody").unwrap().status,
        Status::Pass
    );
    assert_eq!(
        verdict.result("sbom.rescan").unwrap().status,
        Status::Pass,
        "{}",
        consign_verify::report::text(&verdict)
    );
    assert_eq!(
        verdict.result("suppliers.attestations").unwrap().status,
        Status::Pass
    );
    assert_eq!(
        verdict.result("vulnerabilities.known").unwrap().status,
        Status::Warn
    );
    assert_eq!(verdict.support_end.as_deref(), Some("2032-12-31"));
}

/// Issue 16: the release claims `unique-per-device`, the firmware's /etc/shadow gives root the
/// published default `admin`; the verdict names the claim and the line.
#[test]
fn firmware_contradicting_the_password_claim() {
    let keys = keys();
    let verdict = verify(
        &keys,
        &Variant {
            default_password_in_firmware: true,
            ..Variant::default()
        },
    );
    rejected_by(
        &verdict,
        "security.passwords",
        "the manufacturer claims the password scheme `unique-per-device`, but firmware",
    );
    let reason = &verdict.result("security.passwords").unwrap().reason;
    assert!(
        reason.contains("account.default-password at /etc/shadow:1"),
        "{reason}"
    );
}

/// Issue 16: the release claims `device-keys = "per-device"`, the firmware ships an SSH host
/// key; the verdict names the claim and the file.
#[test]
fn firmware_contradicting_the_device_keys_claim() {
    let keys = keys();
    let verdict = verify(
        &keys,
        &Variant {
            host_key_in_firmware: true,
            ..Variant::default()
        },
    );
    rejected_by(
        &verdict,
        "security.secrets",
        "the manufacturer claims `device-keys = \"per-device\"`, but firmware firmware/fw.img has secret.host-key at /etc/ssh/ssh_host_ed25519_key",
    );
    assert_eq!(
        verdict.result("security.services").unwrap().status,
        Status::Pass
    );
}

const DECLARED_TELNET: &str = r#"[[security.declared-findings]]
rule = "service.telnet"
path = "/etc/init.d/S50telnet"
justification = "telnetd on the UART-only debug build, disabled by default"
"#;

const DECLARED_ELSEWHERE: &str = r#"[[security.declared-findings]]
rule = "service.telnet"
path = "/etc/init.d/S99debug"
justification = "telnetd on the UART-only debug build, disabled by default"
"#;

/// Issue 16: telnetd started from an init script while the claims list only `https`: an
/// undeclared one fails with the claim and the line; declared and justified for that file, it
/// is shown and passes; declared for another file, it still fails.
#[test]
fn firmware_services_against_the_exposed_services_claim() {
    let keys = keys();
    let undeclared = verify(
        &keys,
        &Variant {
            telnet_in_firmware: true,
            ..Variant::default()
        },
    );
    rejected_by(
        &undeclared,
        "security.services",
        "the manufacturer claims `exposed-services = [\"https\"]`, but firmware firmware/fw.img has service.telnet at /etc/init.d/S50telnet:2",
    );

    let declared = verify(
        &keys,
        &Variant {
            telnet_in_firmware: true,
            declared: DECLARED_TELNET,
            ..Variant::default()
        },
    );
    let result = declared.result("security.services").unwrap();
    assert_eq!(
        result.status,
        Status::Pass,
        "{}",
        consign_verify::report::text(&declared)
    );
    assert!(
        result.reason.contains("shown, not failed: service.telnet at /etc/init.d/S50telnet:2 in firmware firmware/fw.img is declared by the manufacturer: telnetd on the UART-only debug build, disabled by default"),
        "{}",
        result.reason
    );
    assert!(
        declared.accepted,
        "{}",
        consign_verify::report::text(&declared)
    );

    let elsewhere = verify(
        &keys,
        &Variant {
            telnet_in_firmware: true,
            declared: DECLARED_ELSEWHERE,
            ..Variant::default()
        },
    );
    rejected_by(
        &elsewhere,
        "security.services",
        "but firmware firmware/fw.img has service.telnet at /etc/init.d/S50telnet:2",
    );
}

/// Issue 16: a release that makes no claim on keys or services cannot be held against its
/// firmware, and the required checks fail with that reason (fail closed).
#[test]
fn secure_defaults_without_claims_fail_closed() {
    let keys = keys();
    let verdict = verify(
        &keys,
        &Variant {
            no_defaults_claims: true,
            ..Variant::default()
        },
    );
    rejected_by(
        &verdict,
        "security.secrets",
        "cannot run, so it fails: `attestations/release.intoto.jsonl` declares no `security.device-keys`",
    );
    rejected_by(
        &verdict,
        "security.services",
        "cannot run, so it fails: `attestations/release.intoto.jsonl` declares no `security.exposed-services`",
    );
}

/// Issue 13, item 3: a check the policy requires that cannot run fails with its reason. Under
/// the built-in `eu-cra-import`, no vulnerability database rejects the good chain, and so does
/// `--no-rescan`; a policy that says otherwise for one check, explicitly, turns only that one
/// into a warning.
#[test]
fn issue13_checks_that_cannot_run_fail_closed() {
    let keys = keys();
    let trust = trust_store(&keys, "2030-12-31");
    let cra = Policy::builtin("eu-cra-import").unwrap();
    let verdict = verify_with(&keys, &Variant::default(), &trust, &cra, "2026-11-22", &[]);
    rejected_by(
        &verdict,
        "vulnerabilities.known",
        "cannot run, so it fails: no vulnerability database",
    );
    let fix = verdict.result("vulnerabilities.known").unwrap().fix.clone();
    assert!(
        fix.unwrap().contains("consign vuln db import"),
        "{}",
        consign_verify::report::text(&verdict)
    );
    assert_eq!(
        verdict.counts.fail,
        1,
        "{}",
        consign_verify::report::text(&verdict)
    );

    let shipment = shipment(&keys, &Variant::default());
    let signatures = AttestSignatures::new(&trust).unwrap();
    let no_rescan = |policy: &Policy| {
        consign_verify::verify(
            &shipment,
            policy,
            &trust,
            date("2026-11-22"),
            &[],
            standard_engines(&signatures, None),
        )
    };
    let verdict = no_rescan(&import_policy());
    rejected_by(
        &verdict,
        "sbom.rescan",
        "cannot run, so it fails: the re-scan was turned off (`--no-rescan`)",
    );
    let relaxed = Policy::from_text(
        "relaxed.toml",
        "format = \"consign-policy/v1\"\nid = \"relaxed\"\nextends = \"eu-cra-import\"\n[checks.\"vulnerabilities.known\"]\nwhen-unavailable = \"not-applicable\"\n[checks.\"sbom.rescan\"]\nwhen-unavailable = \"warn\"\n[checks.\"security.secrets\"]\nwhen-unavailable = \"warn\"\n[checks.\"security.services\"]\nwhen-unavailable = \"warn\"\n",
        false,
    )
    .unwrap();
    let verdict = no_rescan(&relaxed);
    assert!(
        verdict.accepted,
        "{}",
        consign_verify::report::text(&verdict)
    );
    let rescan = verdict.result("sbom.rescan").unwrap();
    assert_eq!(rescan.status, Status::Warn);
    assert!(
        rescan.reason.contains("`when-unavailable = \"warn\"`"),
        "{}",
        rescan.reason
    );
    assert_eq!(
        verdict.result("vulnerabilities.known").unwrap().status,
        Status::NotApplicable
    );
}

#[test]
fn missing_attestation() {
    let keys = keys();
    let verdict = verify(
        &keys,
        &Variant {
            drop_supplier: true,
            ..Variant::default()
        },
    );
    rejected_by(
        &verdict,
        "integrity.required",
        "no trusted `component` attestation",
    );
}

#[test]
fn key_of_the_wrong_role() {
    let keys = keys();
    let verdict = verify(
        &keys,
        &Variant {
            release_signed_by_distributor: true,
            ..Variant::default()
        },
    );
    rejected_by(
        &verdict,
        "integrity.roles",
        "signed by `Carrier Logistics` (roles: distributor), but it needs the manufacturer role",
    );
}

#[test]
fn expired_key() {
    let keys = keys();
    let trust = trust_store(&keys, "2026-06-30");
    let verdict = verify_with(
        &keys,
        &Variant::default(),
        &trust,
        &import_policy(),
        "2026-11-22",
        &[],
    );
    rejected_by(
        &verdict,
        "integrity.signatures",
        "the key of `Example Devices GmbH`",
    );
    rejected_by(&verdict, "integrity.signatures", "expired on 2026-06-30");
}

#[test]
fn tampered_firmware() {
    let keys = keys();
    let verdict = verify(
        &keys,
        &Variant {
            tamper_firmware: true,
            ..Variant::default()
        },
    );
    rejected_by(
        &verdict,
        "integrity.subjects",
        "is not the subject of any trusted release attestation",
    );
}

/// Issue 13, item 1: a manufacturer-signed statement whose one subject lists the SHA-256 of image
/// A and the SHA-512 of image B covers neither: the shipment of B is rejected by `verify`, and
/// `verify-attestation` rejects A (and B) with the same statement.
#[test]
fn issue13_mixed_digest_subject_covers_no_artifact() {
    let keys = keys();
    let verdict = verify(
        &keys,
        &Variant {
            mixed_subject: true,
            ..Variant::default()
        },
    );
    rejected_by(
        &verdict,
        "integrity.subjects",
        "is not the subject of any trusted release attestation",
    );
    let shipment = shipment(
        &keys,
        &Variant {
            mixed_subject: true,
            ..Variant::default()
        },
    );
    let release = shipment
        .artifacts
        .iter()
        .find(|a| a.entry.path.ends_with("release.intoto.jsonl"))
        .unwrap();
    let release = release.data.as_deref().unwrap();
    let first_line = release.split(|b| *b == b'\n').next().unwrap();
    for image in [firmware(false), other_firmware()] {
        let err = consign_attest::verify_attestation(
            first_line,
            &image,
            &[keys.manufacturer.public_key()],
        )
        .unwrap_err();
        assert!(
            matches!(err, consign_attest::AttestError::SubjectMismatch { .. }),
            "{err}"
        );
    }
}

/// Issue 13, item 2: a key repeated inside a signed predicate (`end` of the support period,
/// `model` of the product identity) is refused with its JSON pointer, by `verify` and by
/// `verify-attestation`, instead of the last value silently winning.
#[test]
fn issue13_duplicate_keys_inside_a_signed_predicate() {
    let keys = keys();
    for (find, replace, pointer) in [
        (
            r#""end":"2032-12-31""#,
            r#""end":"2020-01-01","end":"2032-12-31""#,
            "/predicate/claims/2/value/end",
        ),
        (
            r#""model":"SP-200""#,
            r#""model":"SP-200","model":"EVIL-1""#,
            "/predicate/claims/0/value/model",
        ),
    ] {
        let variant = Variant {
            duplicate_key: Some((find, replace)),
            ..Variant::default()
        };
        let verdict = verify(&keys, &variant);
        rejected_by(
            &verdict,
            "integrity.signatures",
            &format!("duplicate key `{pointer}`"),
        );
        assert!(
            verdict.product.is_none(),
            "a refused statement names no product"
        );
        let shipment = shipment(&keys, &variant);
        let release = shipment
            .artifacts
            .iter()
            .find(|a| a.entry.path.ends_with("release.intoto.jsonl"))
            .unwrap();
        let first_line = release
            .data
            .as_deref()
            .unwrap()
            .split(|b| *b == b'\n')
            .next()
            .unwrap();
        let err = consign_attest::verify_attestation(
            first_line,
            &firmware(false),
            &[keys.manufacturer.public_key()],
        )
        .unwrap_err();
        let text = format!(
            "{err}: {}",
            std::error::Error::source(&err)
                .map(ToString::to_string)
                .unwrap_or_default()
        );
        assert!(text.contains(pointer), "{text}");
    }
}

#[test]
fn sbom_missing_a_component_the_rescan_finds() {
    let keys = keys();
    let sbom = sbom(vec![component(
        "busybox",
        "1.36.1",
        BUSYBOX,
        "GPL-2.0-only",
    )]);
    let verdict = verify(
        &keys,
        &Variant {
            sbom: Some(sbom),
            ..Variant::default()
        },
    );
    rejected_by(&verdict, "sbom.rescan", "`openssl`");
    rejected_by(&verdict, "sbom.rescan", "is not declared in the SBOM");
}

/// A re-scan that could not read all of the firmware gives no list to compare: a component in the
/// part not read would go unseen. The SBOM matches what was read, and still the re-scan and the
/// audits fail, naming what was cut and why.
#[test]
fn an_incomplete_rescan_fails_closed() {
    let keys = keys();
    let verdict = verify(
        &keys,
        &Variant {
            nested_past_the_depth_limit: true,
            ..Variant::default()
        },
    );
    rejected_by(
        &verdict,
        "sbom.rescan",
        "unpacking left 1 part(s) of the firmware unread",
    );
    rejected_by(&verdict, "sbom.rescan", "(depth-limit)");
    let fix = verdict.result("sbom.rescan").unwrap().fix.clone().unwrap();
    assert!(fix.contains("could not read all of the firmware"), "{fix}");
    let report = consign_verify::report::text(&verdict);
    assert!(
        report.contains("could not be audited: unpacking left"),
        "the audits read the same incomplete tree: {report}"
    );
}

/// Issue 13, item 5: a supplier's signed SBOM is evidence for its component only; it cannot
/// declare what the re-scan of the manufacturer's firmware accepts. The release SBOM omits
/// OpenSSL, a trusted supplier's SBOM statement about the firmware lists it: still rejected.
#[test]
fn issue13_supplier_sbom_does_not_widen_the_rescan() {
    let keys = keys();
    let verdict = verify(
        &keys,
        &Variant {
            sbom: Some(sbom(vec![component(
                "busybox",
                "1.36.1",
                BUSYBOX,
                "GPL-2.0-only",
            )])),
            supplier_sbom: true,
            ..Variant::default()
        },
    );
    assert_eq!(
        verdict.result("integrity.signatures").unwrap().status,
        Status::Pass,
        "{}",
        consign_verify::report::text(&verdict)
    );
    rejected_by(&verdict, "sbom.rescan", "`openssl`");
    rejected_by(&verdict, "sbom.rescan", "is not declared in the SBOM");
}

#[test]
fn component_declared_with_another_version() {
    let keys = keys();
    let sbom = sbom(vec![
        component("busybox", "1.36.0", BUSYBOX, "GPL-2.0-only"),
        component("openssl", "3.0.13", LIBSSL, "Apache-2.0"),
    ]);
    let verdict = verify(
        &keys,
        &Variant {
            sbom: Some(sbom),
            ..Variant::default()
        },
    );
    rejected_by(
        &verdict,
        "sbom.rescan",
        "`busybox`: the SBOM declares 1.36.0, the re-scan finds 1.36.1",
    );
}

#[test]
fn support_period_over() {
    let keys = keys();
    let verdict = verify(
        &keys,
        &Variant {
            support_end: Some("2026-06-30"),
            ..Variant::default()
        },
    );
    rejected_by(
        &verdict,
        "support.not-expired",
        "support ended on 2026-06-30, before the check date 2026-11-22",
    );
}

#[test]
fn support_period_shortened_versus_the_ledger() {
    let keys = keys();
    let trust = trust_store(&keys, "2030-12-31");
    let policy = import_policy();
    let mut ledger = Ledger::in_memory().unwrap();
    let first = verify_with(
        &keys,
        &Variant {
            support_end: Some("2033-12-31"),
            ..Variant::default()
        },
        &trust,
        &policy,
        "2026-11-01",
        &[],
    );
    assert!(first.accepted, "{}", consign_verify::report::text(&first));
    ledger.record(&first).unwrap();
    let history = ledger.all_support_history().unwrap();
    assert_eq!(history.len(), 1);
    let verdict = verify_with(
        &keys,
        &Variant::default(),
        &trust,
        &policy,
        "2026-11-22",
        &history,
    );
    rejected_by(
        &verdict,
        "support.never-shortened",
        "it now ends on 2032-12-31, but ended on 2033-12-31",
    );
}

#[test]
fn custody_gap() {
    let keys = keys();
    let verdict = verify(
        &keys,
        &Variant {
            two_distributors_missing_first: true,
            ..Variant::default()
        },
    );
    rejected_by(
        &verdict,
        "integrity.custody",
        "which is not in the shipment: custody gap",
    );
}

#[test]
fn threshold_not_met() {
    let keys = keys();
    let policy = Policy::from_text(
        "two-signers.toml",
        "format = \"consign-policy/v1\"\nid = \"two-signers\"\nextends = \"eu-cra-import\"\n[checks.\"integrity.threshold\"]\nthresholds = { manufacturer = 2 }\n[checks.\"vulnerabilities.known\"]\nwhen-unavailable = \"warn\"\n",
        false,
    )
    .unwrap();
    let verdict = verify_with(
        &keys,
        &Variant::default(),
        &trust_store(&keys, "2030-12-31"),
        &policy,
        "2026-11-22",
        &[],
    );
    rejected_by(
        &verdict,
        "integrity.threshold",
        "is signed by 1 distinct manufacturer key(s); the policy needs 2",
    );
}

#[test]
fn unknown_predicate_version() {
    let keys = keys();
    let verdict = verify(
        &keys,
        &Variant {
            unknown_predicate_version: true,
            ..Variant::default()
        },
    );
    rejected_by(
        &verdict,
        "integrity.predicates",
        "predicate type `https://consign.dev/attestation/product/v0.2` is not one this verifier knows",
    );
}

/// Replaces what changes from run to run (digests and key ids of the freshly generated keys and
/// envelopes) so the reports can be compared with a reviewed copy.
fn redact(report: &str) -> String {
    let mut out = String::with_capacity(report.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 16 {
            out.push_str("<hex>");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in report.chars() {
        if c.is_ascii_hexdigit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// What an officer reads: the reports of a shipment rejected for two reasons, reviewed as whole
/// documents (`cargo insta review` after a deliberate change), so a change of wording, order or
/// escaping shows up in review rather than going unnoticed.
#[test]
fn the_reports_an_officer_reads() {
    let keys = keys();
    let verdict = verify_with(
        &keys,
        &Variant {
            support_end: Some("2026-06-30"),
            tamper_firmware: true,
            ..Variant::default()
        },
        &trust_store(&keys, "2030-12-31"),
        &Policy::builtin("eu-cra-import").unwrap(),
        "2026-11-22",
        &[],
    );
    assert!(!verdict.accepted);
    insta::assert_snapshot!("text", redact(&consign_verify::report::text(&verdict)));
    insta::assert_snapshot!(
        "markdown",
        redact(&consign_verify::report::markdown(&verdict))
    );
    insta::assert_snapshot!("html", redact(&consign_verify::report::html(&verdict)));
    insta::assert_snapshot!(
        "one_line",
        redact(&consign_verify::report::one_line(&verdict))
    );
}

/// `../shared/vulndata/<path>` (`CONSIGN_SHARED_DIR` moves it).
fn vulndata(path: &str) -> std::path::PathBuf {
    std::env::var_os("CONSIGN_SHARED_DIR")
        .map_or_else(
            || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
            std::path::PathBuf::from,
        )
        .join("vulndata")
        .join(path)
}

/// Issue 14, `vulnerabilities.known` under `eu-cra-import`, with a database of the real records
/// for Dirty COW (KEV-listed since 2022-03-03; its ranges include 2.6.33.2), CVE-2010-0727 (its
/// range ends at 2.6.33.1) and CISA's catalogue, and the kernel declared in the release SBOM:
/// un-VEXed, the check fails with the CVE, the KEV date and the fix; with the manufacturer's
/// signed OpenVEX `not_affected`, and with the same statement as CSAF 2.0 VEX, it passes with
/// the justification; a database that is not there fails with the command that builds one.
#[test]
fn issue14_known_vulnerabilities_kev_vex_and_no_database() {
    let keys = keys();
    let trust = trust_store(&keys, "2030-12-31");
    let policy = Policy::builtin("eu-cra-import").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let db_path = tmp.path().join("vuln.db");
    let mut db = consign_vuln::db::Database::create(&db_path).unwrap();
    let options = consign_vuln::import::ImportOptions {
        limits: consign_vuln::document::ReadLimits::default(),
        imported_at: "2026-11-20T00:00:00Z".to_owned(),
    };
    for path in [
        "nvd/CVE-2016/CVE-2016-5195.json",
        "nvd/CVE-2010/CVE-2010-0727.json",
        "kev/known_exploited_vulnerabilities.json",
    ] {
        consign_vuln::import::import_path(&mut db, &vulndata(path), &options).unwrap();
    }
    drop(db);
    let kernel = serde_json::json!({"type": "operating-system", "bom-ref": "pkg:generic/linux@2.6.33.2",
        "name": "linux_kernel", "version": "2.6.33.2", "supplier": {"name": "kernel.org"},
        "cpe": "cpe:2.3:o:linux:linux_kernel:2.6.33.2:*:*:*:*:*:*:*", "purl": "pkg:generic/linux@2.6.33.2",
        "licenses": [{"license": {"id": "GPL-2.0-only"}}]});
    let with_kernel = sbom(vec![
        component("busybox", "1.36.1", BUSYBOX, "GPL-2.0-only"),
        component("openssl", "3.0.13", LIBSSL, "Apache-2.0"),
        kernel,
    ]);
    let signatures = AttestSignatures::new(&trust).unwrap();
    let rescan = FirmwareRescan::default();
    let run = |variant: &Variant, db: &std::path::Path| {
        let shipment = shipment(&keys, variant);
        consign_verify::verify(
            &shipment,
            &policy,
            &trust,
            date("2026-11-22"),
            &[],
            standard_engines(&signatures, Some(&rescan)).with_vulnerability_database(Some(db)),
        )
    };
    let plain = Variant {
        sbom: Some(with_kernel.clone()),
        ..Variant::default()
    };
    let verdict = run(&plain, &db_path);
    for part in [
        "1 known vulnerability the policy rejects: CVE-2016-5195 in linux_kernel 2.6.33.2",
        "KEV-listed since 2022-03-03",
        "fix: update to",
    ] {
        rejected_by(&verdict, "vulnerabilities.known", part);
    }
    let known = verdict.result("vulnerabilities.known").unwrap();
    let findings = known.reason.split("; database").next().unwrap();
    assert!(!findings.contains("CVE-2010-0727"), "{}", known.reason);
    assert!(
        known.fix.as_deref().unwrap().contains("consign attest vex"),
        "{known:?}"
    );
    assert_eq!(
        verdict.counts.fail,
        1,
        "{}",
        consign_verify::report::text(&verdict)
    );
    // The manufacturer's signed statement, about this firmware (by its digest).
    let fw_sha256 = Sha256::of(&firmware(false)).to_hex();
    let openvex = serde_json::json!({
        "@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://devices.example/vex/sp-200-2.4.1",
        "author": "Example Devices GmbH", "timestamp": "2026-11-01T00:00:00Z", "version": 1,
        "statements": [{"vulnerability": {"name": "CVE-2016-5195"},
            "products": [{"@id": "pkg:generic/example/sp-200@2.4.1", "hashes": {"sha-256": fw_sha256},
                "subcomponents": [{"@id": "pkg:generic/linux@2.6.33.2"}]}],
            "status": "not_affected", "justification": "vulnerable_code_not_present",
            "impact_statement": "the kernel is built without the copy-on-write path for private mappings"}]
    });
    let csaf = serde_json::json!({
        "document": {"category": "csaf_vex", "csaf_version": "2.0", "title": "SP-200 2.4.1",
            "publisher": {"category": "vendor", "name": "Example Devices GmbH", "namespace": "https://devices.example"},
            "tracking": {"id": "SP-200-VEX-1", "status": "final", "version": "1",
                "initial_release_date": "2026-11-01T00:00:00Z", "current_release_date": "2026-11-01T00:00:00Z",
                "revision_history": [{"date": "2026-11-01T00:00:00Z", "number": "1", "summary": "Initial."}]}},
        "product_tree": {"full_product_names": [{"name": "Smart Plug SP-200 2.4.1", "product_id": "SP200",
            "product_identification_helper": {"hashes": [{"filename": "fw.img",
                "file_hashes": [{"algorithm": "sha256", "value": fw_sha256}]}]}}]},
        "vulnerabilities": [{"cve": "CVE-2016-5195",
            "product_status": {"known_not_affected": ["SP200"]},
            "flags": [{"label": "vulnerable_code_not_present", "product_ids": ["SP200"]}],
            "threats": [{"category": "impact", "details": "the kernel is built without the copy-on-write path for private mappings", "product_ids": ["SP200"]}]}]
    });
    for vex in [openvex, csaf] {
        let verdict = run(
            &Variant {
                sbom: Some(with_kernel.clone()),
                vex: Some(vex),
                ..Variant::default()
            },
            &db_path,
        );
        let known = verdict.result("vulnerabilities.known").unwrap();
        assert_eq!(known.status, Status::Pass, "{}", known.reason);
        assert!(
            known.reason.contains("resolved by the manufacturer's signed VEX: CVE-2016-5195 in linux_kernel 2.6.33.2: not_affected: vulnerable_code_not_present (the kernel is built without the copy-on-write path for private mappings)"),
            "{}",
            known.reason
        );
        assert!(
            verdict.accepted,
            "{}",
            consign_verify::report::text(&verdict)
        );
    }
    // No database there: fails closed, naming the command that builds one.
    let verdict = run(&plain, &tmp.path().join("missing.db"));
    rejected_by(
        &verdict,
        "vulnerabilities.known",
        "cannot run, so it fails: the vulnerability database cannot be used",
    );
    let fix = verdict.result("vulnerabilities.known").unwrap().fix.clone();
    assert!(
        fix.unwrap().contains("consign vuln db import --db FILE"),
        "{}",
        consign_verify::report::text(&verdict)
    );
}
