//! Benchmark: verify 1,000 generated shipments (five envelopes each: component, release product,
//! SBOM and provenance, custody), in memory, without the re-scan, on all cores.
//!
//! Run: `cargo run --release -p consign-verify --example bench_verify [COUNT] [--json] [--write DIR]`.
//!
//! `--json` prints the figures as one JSON object (`cargo xtask bench verify` reads it);
//! `--write DIR` also writes every shipment as a folder `DIR/lot-NNNNN/` and the trust store as
//! `DIR/trust.toml`, so the same shipments can be timed through `consign verify` itself, with the
//! policy `DIR/policy.toml`: `eu-cra-import`, saying explicitly that the re-scan and the
//! vulnerability database are not part of this measurement (`when-unavailable`).
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::cast_precision_loss)] // A benchmark prints its figures.

use std::path::PathBuf;
use std::time::Instant;

use consign_attest::attest::{Artifact, attest_component, attest_custody, attest_release};
use consign_attest::claims::{ComponentClaims, CustodyClaims};
use consign_attest::{KeyAlgorithm, PrivateKey, Signer as _, dsse};
use consign_model::{ProductFile, Sha256, Sha512};
use consign_verify::backend::{AttestSignatures, standard_engines};
use consign_verify::shipment::{ArtifactRole, NewArtifact, assemble};
use consign_verify::{Policy, TrustStore};
use rayon::prelude::*;

/// `eu-cra-import` without the two checks this benchmark does not measure, said explicitly.
const POLICY: &str = "format = \"consign-policy/v1\"
id = \"bench-verify\"
extends = \"eu-cra-import\"
[checks.\"sbom.rescan\"]
when-unavailable = \"not-applicable\"
[checks.\"vulnerabilities.known\"]
when-unavailable = \"not-applicable\"
";

fn main() {
    let (mut count, mut json, mut write) = (1000usize, false, None::<PathBuf>);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => json = true,
            "--write" => write = Some(args.next().expect("`--write` needs a folder").into()),
            other => count = other.parse().expect("expected a shipment count"),
        }
    }
    let supplier = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let manufacturer = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let distributor = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let party = |name: &str, role: &str, key: &PrivateKey| {
        format!(
            "[[party]]\nname = \"{name}\"\nroles = [\"{role}\"]\n[[party.key]]\npublic-key = \"\"\"\n{}\"\"\"\nvalid-from = 2025-01-01\nvalid-until = 2030-12-31\n",
            key.public_key().to_pem()
        )
    };
    let trust_toml = format!(
        "format = \"consign-trust/v1\"\n{}{}{}",
        party("Acme Modules Ltd", "supplier", &supplier),
        party("Example Devices GmbH", "manufacturer", &manufacturer),
        party("Carrier Logistics", "distributor", &distributor)
    );
    let trust = TrustStore::from_toml("trust.toml", &trust_toml).unwrap();
    let component_claims = ComponentClaims::from_toml("[supplier]\nname = \"Acme Modules Ltd\"\ncontact = \"psirt@acme.example\"\n[component]\nname = \"openssl\"\nversion = \"3.0.13\"\n[support]\nend = \"2034-12-31\"\n[vulnerability-disclosure]\ncontact = \"psirt@acme.example\"\n[known-vulnerabilities]\nstatement = \"none-known\"\n").unwrap();
    let lot = CustodyClaims::from_toml("[distributor]\nname = \"Carrier Logistics\"\ncontact = \"ops@carrier.example\"\n[lot]\nid = \"LOT-1\"\n[received]\nparty = \"Example Devices GmbH\"\ndate = \"2026-11-01\"\n").unwrap();
    let started = Instant::now();
    let assembled: Vec<_> = (0..count)
        .into_par_iter()
        .map(|idx| {
            let part = format!("OpenSSL 3.0.13 30 Jan 2024 part {idx}").into_bytes();
            let fw = format!("firmware image {idx} BusyBox v1.36.1 (").into_bytes();
            let sbom = serde_json::to_vec(&serde_json::json!({
                "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
                "metadata": {"manufacturer": {"name": "Example Devices GmbH"}, "component": {"type": "firmware", "name": "Smart Plug", "version": "2.4.1"}},
                "components": [{"type": "library", "bom-ref": "openssl", "name": "openssl", "version": "3.0.13",
                    "hashes": [{"alg": "SHA-512", "content": Sha512::of(&part).to_hex()}]}],
                "dependencies": [{"ref": "openssl"}]
            }))
            .unwrap();
            let product = ProductFile::from_toml(&format!("[manufacturer]\nname = \"Example Devices GmbH\"\nemail = \"info@devices.example\"\n[product]\nname = \"Smart Plug\"\nmodel = \"SP-{idx}\"\nfirmware-version = \"2.4.1\"\ncra-class = \"default\"\n[support]\nend = \"2032-12-31\"\n[vulnerability-disclosure]\ncontact = \"security@devices.example\"\npolicy-url = \"https://devices.example/cvd\"\n[security]\npassword-scheme = \"unique-per-device\"\n[conformity]\nce-marking = true\ndeclaration-sha256 = \"{}\"\n", Sha256::of(b"doc").to_hex())).unwrap();
            let supplier_file = dsse::to_jsonl(&[attest_component(&supplier, Artifact { name: "part", data: &part }, &component_claims, None, None).unwrap()]);
            let release = dsse::to_jsonl(&attest_release(&manufacturer, &[Artifact { name: "fw.img", data: &fw }], &product, Artifact { name: "fw.cdx.json", data: &sbom }, None, &[Artifact { name: "supplier", data: supplier_file.as_bytes() }], "https://devices.example/build").unwrap());
            let custody = dsse::to_jsonl(&[attest_custody(&distributor, &[Artifact { name: "fw.img", data: &fw }], &lot, &[Artifact { name: "release", data: release.as_bytes() }]).unwrap()]);
            assemble(Some(&format!("lot-{idx}")), vec![
                NewArtifact::named(ArtifactRole::Firmware, "fw.img", fw),
                NewArtifact::named(ArtifactRole::Sbom, "fw.cdx.json", sbom),
                NewArtifact::named(ArtifactRole::Attestation, "supplier.intoto.jsonl", supplier_file.into_bytes()),
                NewArtifact::named(ArtifactRole::Attestation, "release.intoto.jsonl", release.into_bytes()),
                NewArtifact::named(ArtifactRole::Attestation, "custody.intoto.jsonl", custody.into_bytes()),
                NewArtifact::named(ArtifactRole::Document, "doc.txt", b"doc".to_vec()),
            ])
            .unwrap()
        })
        .collect();
    let shipments: Vec<_> = assembled
        .iter()
        .enumerate()
        .map(|(idx, shipment)| shipment.to_shipment(&format!("lot-{idx}")).unwrap())
        .collect();
    let generated = started.elapsed();
    if let Some(dir) = &write {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("trust.toml"), &trust_toml).unwrap();
        std::fs::write(dir.join("policy.toml"), POLICY).unwrap();
        for (idx, shipment) in assembled.iter().enumerate() {
            shipment
                .write_dir(&dir.join(format!("lot-{idx:05}")))
                .unwrap();
        }
    }
    if !json {
        println!("generated {count} shipments in {generated:.2?}");
    }
    let policy = Policy::from_text("policy.toml", POLICY, false).unwrap();
    let date = "2026-11-22".parse().unwrap();
    let signatures = AttestSignatures::new(&trust).unwrap();
    let engines = standard_engines(&signatures, None);
    let started = Instant::now();
    let verdicts: Vec<_> = shipments
        .par_iter()
        .map(|shipment| consign_verify::verify(shipment, &policy, &trust, date, &[], engines))
        .collect();
    let elapsed = started.elapsed();
    let envelopes: usize = 5 * count;
    let accepted = verdicts.iter().filter(|v| v.accepted).count();
    if json {
        println!(
            "{}",
            serde_json::json!({
                "shipments": count,
                "envelopes": envelopes,
                "threads": rayon::current_num_threads(),
                "seconds": elapsed.as_secs_f64(),
                "shipments_per_s": count as f64 / elapsed.as_secs_f64(),
                "accepted": accepted,
            })
        );
        return;
    }
    if let Some(rejected) = verdicts.iter().find(|v| !v.accepted) {
        println!("{}", consign_verify::report::text(rejected));
    }
    println!(
        "verified {count} shipments ({envelopes} envelopes, no re-scan) on {} threads in {:.2?}: {:.0} shipments/s, {accepted} accepted",
        rayon::current_num_threads(),
        elapsed,
        count as f64 / elapsed.as_secs_f64()
    );
}
