//! `consign vuln`: the router sample's SBOM matched against the real records in
//! `../shared/vulndata` (never fetched), VEX changing the result, the stand-alone CycloneDX VEX
//! valid against the vendored schema, `scan --vulns`, and a missing database failing closed.
//!
//! The expected ids are read off the records: for each product the sample runs, CVEs whose NVD
//! ranges include its release, and CVEs whose ranges end (or start) just beside it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{repo_root, run};

fn shared() -> PathBuf {
    std::env::var_os("CONSIGN_SHARED_DIR")
        .map_or_else(|| repo_root().join("../shared"), PathBuf::from)
}

/// Scans the router sample and builds a database from the NVD, KEV and OSV records.
fn router(dir: &Path) -> (PathBuf, PathBuf) {
    let vulndata = shared().join("vulndata");
    let sample = shared().join("samples/router-tew733gr-rootfs.squashfs");
    let sbom = dir.join("router.cdx.json");
    let scan = run(
        dir,
        &[
            "scan",
            sample.to_str().unwrap(),
            "-o",
            sbom.to_str().unwrap(),
        ],
    );
    assert_eq!(scan.code, 0, "{}", scan.stderr);
    let db = dir.join("vuln.db");
    let import = run(
        dir,
        &[
            "vuln",
            "db",
            "import",
            "--db",
            db.to_str().unwrap(),
            vulndata.join("nvd").to_str().unwrap(),
            vulndata
                .join("kev/known_exploited_vulnerabilities.json")
                .to_str()
                .unwrap(),
            vulndata.join("osv").to_str().unwrap(),
        ],
    );
    assert_eq!(import.code, 0, "{}", import.stderr);
    (sbom, db)
}

fn findings(report: &Value) -> BTreeMap<(String, String), Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                (
                    f["component"].as_str().unwrap().to_owned(),
                    f["id"].as_str().unwrap().to_owned(),
                ),
                f.clone(),
            )
        })
        .collect()
}

#[test]
fn router_sample_matches_the_ranges_of_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let (sbom, db) = router(dir.path());
    let out = run(
        dir.path(),
        &[
            "vuln",
            "match",
            "--db",
            db.to_str().unwrap(),
            sbom.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, 1, "open vulnerabilities: exit 1\n{}", out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    let found = findings(&report);
    let has =
        |component: &str, id: &str| found.contains_key(&(component.to_owned(), id.to_owned()));
    // (component, inside its ranges, just outside them)
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "openssl",
            // 0.9.8c-1 <= v <= 0.9.8g; <= 0.9.8g; > 0.9.8 and < 0.9.8i; <= 0.9.8h; < 0.9.8za.
            &[
                "CVE-2008-0166",
                "CVE-2011-4354",
                "CVE-2009-1386",
                "CVE-2008-5077",
                "CVE-2014-0224",
            ],
            // Only 0.9.8h; only 0.9.8h; only 0.9.8f and earlier.
            &["CVE-2009-0591", "CVE-2011-0014", "CVE-2007-5135"],
        ),
        (
            "busybox",
            // <= 1.19.4, <= 1.20.2, < 1.25.1, < 1.32.0.
            &[
                "CVE-2011-2716",
                "CVE-2013-1813",
                "CVE-2016-6301",
                "CVE-2018-1000500",
            ],
            // 1.1.1 only; 1.36.1 only.
            &["CVE-2006-1058", "CVE-2023-42363"],
        ),
        (
            "dnsmasq",
            &[
                "CVE-2009-2957",
                "CVE-2009-2958",
                "CVE-2012-3411",
                "CVE-2013-0198",
                "CVE-2015-8899",
            ],
            // < 2.21; 2.25 only.
            &["CVE-2005-0877", "CVE-2008-3214"],
        ),
        (
            "linux_kernel",
            &[
                "CVE-2010-3904",
                "CVE-2013-2094",
                "CVE-2014-0196",
                "CVE-2016-5195",
                "CVE-2010-1146",
            ],
            // <= 2.6.33.1; < 2.6.33; from 2.6.34; <= 2.6.33; the kernel only as a platform.
            &[
                "CVE-2010-0727",
                "CVE-2010-0623",
                "CVE-2010-2803",
                "CVE-2010-0415",
                "CVE-2010-0148",
            ],
        ),
        ("hostapd", &["CVE-2015-8041"], &[]),
        ("iptables", &["CVE-2012-2663"], &[]),
    ];
    for (component, inside, outside) in cases {
        for id in *inside {
            assert!(has(component, id), "{component}: {id} should match");
            let finding = &found[&((*component).to_owned(), (*id).to_owned())];
            assert!(
                finding["range"].as_str().unwrap().starts_with("cpe:2.3:"),
                "{finding}"
            );
            assert!(
                finding["bom_ref"]
                    .as_str()
                    .unwrap()
                    .starts_with("pkg:generic/")
            );
        }
        for id in *outside {
            assert!(
                !has(component, id),
                "{component}: {id} is outside the ranges"
            );
        }
    }
    // An independent reading of the records (numeric ranges and exact versions, OR
    // configurations) finds 757 kernel CVEs that include 2.6.33.2.
    let kernel = found.keys().filter(|(c, _)| c == "linux_kernel").count();
    assert_eq!(kernel, 757);
    // Every KEV-listed match is flagged exploited, with CISA's date.
    let kev: Value = serde_json::from_slice(
        &std::fs::read(shared().join("vulndata/kev/known_exploited_vulnerabilities.json")).unwrap(),
    )
    .unwrap();
    let listed: BTreeMap<&str, &str> = kev["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["cveID"].as_str().unwrap(),
                v["dateAdded"].as_str().unwrap(),
            )
        })
        .collect();
    let mut flagged = BTreeSet::new();
    for ((_, id), finding) in &found {
        match listed.get(id.as_str()) {
            Some(date) => {
                assert_eq!(finding["kev"]["dateAdded"].as_str(), Some(*date), "{id}");
                flagged.insert(id.clone());
            }
            None => assert!(finding.get("kev").is_none(), "{id}"),
        }
    }
    assert_eq!(
        flagged.into_iter().collect::<Vec<_>>(),
        [
            "CVE-2010-3904",
            "CVE-2013-2094",
            "CVE-2013-6282",
            "CVE-2014-0196",
            "CVE-2014-3153",
            "CVE-2016-5195"
        ]
    );
    // The database's sources are in the report.
    assert_eq!(report["database"]["sources"].as_array().unwrap().len(), 3);
    assert_eq!(report["database"]["kev_entries"], 1404);
}

#[test]
fn vex_changes_the_result_and_the_cyclonedx_vex_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let (sbom, db) = router(dir.path());
    let vex = dir.path().join("router.openvex.json");
    std::fs::write(
        &vex,
        r#"{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/1", "author": "Router maker", "timestamp": "2026-01-01T00:00:00Z", "version": 1,
            "statements": [
              {"vulnerability": {"name": "CVE-2016-5195"}, "products": [{"@id": "pkg:generic/linux@2.6.33.2"}],
               "status": "not_affected", "justification": "vulnerable_code_not_present", "impact_statement": "the firmware has no writable private mappings"},
              {"vulnerability": {"name": "CVE-2014-0196"}, "products": [{"@id": "pkg:generic/linux@2.6.33.2"}],
               "status": "affected", "action_statement": "update to the 2026.2 firmware"}
            ]}"#,
    )
    .unwrap();
    let args = |format: &str| {
        vec![
            "vuln".to_owned(),
            "match".to_owned(),
            "--db".to_owned(),
            db.to_str().unwrap().to_owned(),
            sbom.to_str().unwrap().to_owned(),
            "--vex".to_owned(),
            vex.to_str().unwrap().to_owned(),
            "--format".to_owned(),
            format.to_owned(),
        ]
    };
    let table = run(
        dir.path(),
        &args("table").iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(table.code, 1);
    let dirty_cow = table
        .stdout
        .lines()
        .find(|l| l.contains("CVE-2016-5195"))
        .unwrap();
    assert!(
        dirty_cow.contains("not_affected") && dirty_cow.contains("vulnerable_code_not_present"),
        "{dirty_cow}"
    );
    let confirmed = table
        .stdout
        .lines()
        .find(|l| l.contains("CVE-2014-0196"))
        .unwrap();
    assert!(
        confirmed.contains("affected") && confirmed.contains("2026.2 firmware"),
        "{confirmed}"
    );
    assert!(
        table.stdout.contains("1 resolved by VEX"),
        "{}",
        table.stdout
    );
    // The stand-alone CycloneDX VEX passes the vendored 1.6 schema (through `sbom validate`).
    let out = dir.path().join("router.vex.cdx.json");
    let mut vex_args = args("cyclonedx-vex");
    vex_args.extend(["-o".to_owned(), out.to_str().unwrap().to_owned()]);
    let written = run(
        dir.path(),
        &vex_args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(written.code, 1, "{}", written.stderr);
    let document: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let cow = document["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "CVE-2016-5195")
        .unwrap();
    assert_eq!(cow["analysis"]["state"], "not_affected");
    assert_eq!(cow["analysis"]["justification"], "code_not_present");
    let serial = std::fs::read_to_string(&sbom).unwrap();
    let serial: Value = serde_json::from_str(&serial).unwrap();
    let serial = serial["serialNumber"]
        .as_str()
        .unwrap()
        .trim_start_matches("urn:uuid:");
    assert!(
        cow["affects"][0]["ref"]
            .as_str()
            .unwrap()
            .starts_with(&format!("urn:cdx:{serial}/1#"))
    );
    let validate = run(dir.path(), &["sbom", "validate", out.to_str().unwrap()]);
    assert_eq!(validate.code, 0, "{}{}", validate.stdout, validate.stderr);
    // A broken one fails the same validation.
    let mut broken = document.clone();
    broken["vulnerabilities"][0]["analysis"]["state"] = Value::from("maybe");
    let broken_path = dir.path().join("broken.vex.cdx.json");
    std::fs::write(&broken_path, serde_json::to_vec(&broken).unwrap()).unwrap();
    let invalid = run(
        dir.path(),
        &["sbom", "validate", broken_path.to_str().unwrap()],
    );
    assert_eq!(invalid.code, 1, "{}", invalid.stdout);
}

#[test]
fn scan_with_vulns_writes_them_into_the_sbom() {
    let dir = tempfile::tempdir().unwrap();
    let (_, db) = router(dir.path());
    let sample = shared().join("samples/router-tew733gr-rootfs.squashfs");
    let sbom = dir.path().join("with-vulns.cdx.json");
    let scan = run(
        dir.path(),
        &[
            "scan",
            sample.to_str().unwrap(),
            "--vulns",
            "--vuln-db",
            db.to_str().unwrap(),
            "-o",
            sbom.to_str().unwrap(),
        ],
    );
    assert_eq!(scan.code, 0, "{}", scan.stderr);
    let bom: Value = serde_json::from_slice(&std::fs::read(&sbom).unwrap()).unwrap();
    let vulns = bom["vulnerabilities"].as_array().unwrap();
    let refs: BTreeSet<&str> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["bom-ref"].as_str())
        .collect();
    assert!(vulns.len() > 800, "{}", vulns.len());
    for v in vulns {
        assert!(
            refs.contains(v["affects"][0]["ref"].as_str().unwrap()),
            "{v}"
        );
    }
    let validate = run(dir.path(), &["sbom", "validate", sbom.to_str().unwrap()]);
    assert_eq!(validate.code, 0, "{}{}", validate.stdout, validate.stderr);
}

#[test]
fn no_database_fails_with_the_command_to_build_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("x.cdx.json"),
        r#"{"bomFormat": "CycloneDX", "specVersion": "1.6"}"#,
    )
    .unwrap();
    let out = run(
        dir.path(),
        &["vuln", "match", "--db", "missing.db", "x.cdx.json"],
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("no vulnerability database at `missing.db`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("consign vuln db import --db missing.db"),
        "{}",
        out.stderr
    );
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"id": "CVE-2020-0001", "configurations": [{"nodes": [{"operator": "OR", "cpeMatch": [{"vulnerable": true, "criteria": "cpe:2.3:a:x"}]}]}]}"#).unwrap();
    let out = run(
        dir.path(),
        &["vuln", "db", "import", "--db", "v.db", "bad.json"],
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("`bad.json`: at `/configurations/0/nodes/0/cpeMatch/0/criteria`"),
        "{}",
        out.stderr
    );
}

/// The chain of `chain.rs` with the kernel the router runs declared in the release SBOM, and a
/// database of the real records for Dirty COW (KEV-listed, its range includes 2.6.33.2), a
/// kernel CVE whose range ends at 2.6.33.1, and CISA's catalogue.
fn kernel_shipment(dir: &Path) -> PathBuf {
    let kernel = serde_json::json!({"type": "operating-system", "bom-ref": "pkg:generic/linux@2.6.33.2",
        "name": "linux_kernel", "version": "2.6.33.2", "supplier": {"name": "kernel.org"},
        "cpe": "cpe:2.3:o:linux:linux_kernel:2.6.33.2:*:*:*:*:*:*:*", "purl": "pkg:generic/linux@2.6.33.2",
        "licenses": [{"license": {"id": "GPL-2.0-only"}}]});
    crate::chain::setup_with(dir, "2030-12-31", &[kernel]);
    let vulndata = shared().join("vulndata");
    let db = dir.join("vuln.db");
    let mut args = vec![
        "vuln".to_owned(),
        "db".to_owned(),
        "import".to_owned(),
        "--db".to_owned(),
        db.display().to_string(),
    ];
    for file in [
        "nvd/CVE-2016/CVE-2016-5195.json",
        "nvd/CVE-2010/CVE-2010-0727.json",
        "kev/known_exploited_vulnerabilities.json",
    ] {
        args.push(vulndata.join(file).display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    crate::chain::ok(dir, &args);
    db
}

fn verify_with(dir: &Path, shipment: &str, extra: &[&str]) -> crate::support::Run {
    let mut args = vec![
        "verify",
        shipment,
        "--policy",
        "eu-cra-import",
        "--trust",
        "trust.toml",
        "--at",
        "2026-11-22",
        "--no-ledger",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    run(dir, &args)
}

fn known(verdict: &Value) -> &Value {
    verdict["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "vulnerabilities.known")
        .unwrap()
}

/// Issue 14: a KEV-listed, un-VEXed vulnerability rejects the shipment with the CVE, CISA's date
/// and the fix; the manufacturer's signed `not_affected` VEX about the same firmware accepts it,
/// with the justification in the report; the verdict and the signed VSA record the database.
#[test]
fn kev_listed_vulnerability_rejects_and_the_manufacturers_signed_vex_accepts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = kernel_shipment(dir);
    let db = db.to_str().unwrap();
    crate::chain::assemble_shipment_with(dir, "plain", "fw.img", &[]);
    let out = verify_with(dir, "plain", &["--vuln-db", db]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let verdict: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(verdict["accepted"], false);
    let check = known(&verdict);
    assert_eq!(check["status"], "fail", "{check}");
    let reason = check["reason"].as_str().unwrap();
    // dateAdded 2022-03-03 in the catalogue; the record's range ends before 3.2.83 (among others).
    for part in [
        "1 known vulnerability the policy rejects",
        "CVE-2016-5195 in linux_kernel 2.6.33.2",
        "KEV-listed since 2022-03-03",
        "fix: update to",
        "kev `",
        "dated 2025-08-25",
    ] {
        assert!(reason.contains(part), "`{part}` in {reason}");
    }
    let findings = reason.split("; database").next().unwrap();
    assert!(
        !findings.contains("CVE-2010-0727"),
        "outside its range: {reason}"
    );
    // Every other check passes: the vulnerability alone rejects.
    let failed: Vec<&str> = verdict["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "fail")
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["vulnerabilities.known"]);
    let sources = verdict["vulnerability_database"]["sources"]
        .as_array()
        .unwrap();
    assert_eq!(sources.len(), 3);
    assert_eq!(check["evidence"].as_array().unwrap().len(), 3);

    // The manufacturer states, signed, that this firmware is not affected.
    let vex = serde_json::json!({
        "@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://devices.example/vex/sp-200-2.4.1",
        "author": "Example Devices GmbH", "timestamp": "2026-11-01T00:00:00Z", "version": 1,
        "statements": [{"vulnerability": {"name": "CVE-2016-5195"},
            "products": [{"@id": "pkg:generic/example/sp-200@2.4.1",
                "subcomponents": [{"@id": "pkg:generic/linux@2.6.33.2"}]}],
            "status": "not_affected", "justification": "vulnerable_code_not_present",
            "impact_statement": "the kernel is built without the copy-on-write path for private mappings"}]
    });
    // Scoped by the firmware's digest, as `consign attest vex` signs it about the image.
    let mut vex_for_fw = vex.clone();
    vex_for_fw["statements"][0]["products"][0]["identifiers"] =
        serde_json::json!({"purl": "pkg:generic/example/sp-200@2.4.1"});
    vex_for_fw["statements"][0]["products"][0]["hashes"] = serde_json::json!({
        "sha-256": consign_model::Sha256::of(&std::fs::read(dir.join("fw.img")).unwrap()).to_hex()
    });
    crate::chain::write(
        dir,
        "vex.json",
        serde_json::to_string(&vex_for_fw).unwrap().as_bytes(),
    );
    crate::chain::ok(
        dir,
        &[
            "attest",
            "vex",
            "--key",
            "mfr.key",
            "fw.img",
            "--vex",
            "vex.json",
            "-o",
            "vex.intoto.jsonl",
        ],
    );
    // Signed by someone without the manufacturer role, the same VEX is not trusted.
    crate::chain::ok(
        dir,
        &[
            "attest",
            "vex",
            "--key",
            "dist.key",
            "fw.img",
            "--vex",
            "vex.json",
            "-o",
            "dist-vex.intoto.jsonl",
        ],
    );
    crate::chain::assemble_shipment_with(
        dir,
        "untrusted-vex",
        "fw.img",
        &["dist-vex.intoto.jsonl"],
    );
    let out = verify_with(dir, "untrusted-vex", &["--vuln-db", db]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let verdict: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(known(&verdict)["status"], "fail");

    crate::chain::assemble_shipment_with(dir, "vexed", "fw.img", &["vex.intoto.jsonl"]);
    let out = verify_with(
        dir,
        "vexed",
        &["--vuln-db", db, "--sign-with", "importer.key"],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let verdict: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(verdict["accepted"], true);
    let check = known(&verdict);
    assert_eq!(check["status"], "pass", "{check}");
    let reason = check["reason"].as_str().unwrap();
    assert!(
        reason.contains("resolved by the manufacturer's signed VEX: CVE-2016-5195 in linux_kernel 2.6.33.2: not_affected: vulnerable_code_not_present (the kernel is built without the copy-on-write path for private mappings)"),
        "{reason}"
    );
    // The signed VSA names the database's sources by digest.
    let signed = std::fs::read_to_string(dir.join("lot-42.verdict.intoto.jsonl")).unwrap();
    let vsa = signed
        .lines()
        .map(|line| {
            let envelope = consign_attest::dsse::Envelope::from_json(line.as_bytes()).unwrap();
            serde_json::from_slice::<Value>(&envelope.payload).unwrap()
        })
        .find(|statement| statement["predicateType"] == "https://slsa.dev/verification_summary/v1")
        .unwrap();
    let inputs: Vec<&Value> = vsa["predicate"]["inputAttestations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| {
            i["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("vulnerability-data:"))
        })
        .collect();
    assert_eq!(inputs.len(), 3, "{vsa}");
    for source in verdict["vulnerability_database"]["sources"]
        .as_array()
        .unwrap()
    {
        assert!(
            inputs
                .iter()
                .any(|i| i["digest"]["sha256"] == source["sha256"]),
            "{source} in {vsa}"
        );
    }
}

/// Issue 14: `eu-cra-import` without a database fails closed with the command to build one; a
/// `--vuln-db` that names no database fails with its path.
#[test]
fn eu_cra_import_without_a_database_fails_closed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    kernel_shipment(dir);
    crate::chain::assemble_shipment_with(dir, "plain", "fw.img", &[]);
    for extra in [&[][..], &["--vuln-db", "missing.db"][..]] {
        let out = verify_with(dir, "plain", extra);
        assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
        let verdict: Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(verdict["accepted"], false);
        let check = known(&verdict);
        assert_eq!(check["status"], "fail", "{check}");
        assert!(
            check["reason"]
                .as_str()
                .unwrap()
                .starts_with("cannot run, so it fails: "),
            "{check}"
        );
        assert!(
            check["fix"]
                .as_str()
                .unwrap()
                .contains("consign vuln db import --db FILE"),
            "{check}"
        );
        assert!(verdict.get("vulnerability_database").is_none());
    }
    let out = verify_with(dir, "plain", &["--vuln-db", "missing.db"]);
    assert!(
        out.stdout
            .contains("no vulnerability database at `missing.db`"),
        "{}",
        out.stdout
    );
}

/// Two SBOMs of one firmware, `2.6.33.1.cdx.json` and `2.6.33.2.cdx.json`, each naming only
/// its Linux kernel by CPE: the releases the `sbom diff` tests compare.
fn write_kernel_sboms(dir: &Path) {
    for version in ["2.6.33.1", "2.6.33.2"] {
        let bom = serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
            "metadata": {"component": {"type": "firmware", "name": "fw", "version": version}},
            "components": [{"type": "operating-system", "bom-ref": format!("linux@{version}"),
                "name": "linux_kernel", "version": version,
                "cpe": format!("cpe:2.3:o:linux:linux_kernel:{version}:*:*:*:*:*:*:*")}]});
        crate::chain::write(
            dir,
            &format!("{version}.cdx.json"),
            serde_json::to_string(&bom).unwrap().as_bytes(),
        );
    }
}

/// `sbom diff` with a database: a kernel update from 2.6.33.1 to 2.6.33.2 fixes CVE-2010-0727
/// (its range ends at 2.6.33.1) and leaves Dirty COW; the way back introduces it, which
/// `--fail-on new-vuln` turns into exit 1.
#[test]
fn sbom_diff_lists_fixed_and_introduced_vulnerabilities() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = kernel_shipment(dir);
    let db = db.to_str().unwrap();
    write_kernel_sboms(dir);
    let diff = |old: &str, new: &str, extra: &[&str]| {
        let (old, new) = (format!("{old}.cdx.json"), format!("{new}.cdx.json"));
        let mut args = vec!["sbom", "diff", old.as_str(), new.as_str(), "--vuln-db", db];
        args.extend_from_slice(extra);
        run(dir, &args)
    };
    let out = diff(
        "2.6.33.1",
        "2.6.33.2",
        &["--format", "json", "--fail-on", "new-vuln"],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    let ids = |list: &str| -> Vec<String> {
        json["vulnerabilities"][list]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids("fixed"), ["CVE-2010-0727"]);
    assert!(ids("introduced").is_empty());
    assert_eq!(ids("unchanged"), ["CVE-2016-5195"]);
    let out = diff("2.6.33.2", "2.6.33.1", &["--fail-on", "new-vuln"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(
            "vulnerabilities introduced (1)\n  CVE-2010-0727 in linux_kernel (none) -> 2.6.33.1"
        ),
        "{}",
        out.stdout
    );
    // No database: refused, never a silent pass.
    let out = run(
        dir,
        &[
            "sbom",
            "diff",
            "2.6.33.2.cdx.json",
            "2.6.33.1.cdx.json",
            "--fail-on",
            "new-vuln",
        ],
    );
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("consign vuln db import"),
        "{}",
        out.stderr
    );
}

/// `sbom diff --vex`: the manufacturer's statements decide what each release counts. The way
/// back to 2.6.33.1 introduces CVE-2010-0727 unless an OpenVEX statement says 2.6.33.1 is not
/// affected: then `--fail-on new-vuln` passes and the diff lists it apart with the reason. The
/// CSAF example of a `fixed` statement (`2022-evd-uc-01-f-001.json`, its product given the
/// kernel's CPE and its CVE changed to Dirty COW) turns Dirty COW in 2.6.33.2 from kept into
/// fixed, reason shown; a VEX that does not read is refused with its path.
#[test]
fn sbom_diff_filters_fixed_and_introduced_by_vex() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = kernel_shipment(dir);
    let db = db.to_str().unwrap();
    write_kernel_sboms(dir);
    crate::chain::write(
        dir,
        "back.openvex.json",
        br#"{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://devices.example/vex/2", "author": "Example Devices GmbH", "timestamp": "2026-11-01T00:00:00Z", "version": 1,
            "statements": [{"vulnerability": {"name": "CVE-2010-0727"},
              "products": [{"@id": "cpe:2.3:o:linux:linux_kernel:2.6.33.1:*:*:*:*:*:*:*"}],
              "status": "not_affected", "justification": "vulnerable_code_not_present",
              "impact_statement": "GFS2 is not built"}]}"#,
    );
    let mut csaf: Value =
        serde_json::from_slice(
            &std::fs::read(shared().join(
                "vulndata/vex/csaf/csaf_2.0/examples/csaf/csaf_vex/2022-evd-uc-01-f-001.json",
            ))
            .unwrap(),
        )
        .unwrap();
    let product = csaf
        .pointer_mut("/product_tree/branches/0/branches/0/branches/0/product")
        .unwrap();
    product["product_identification_helper"] =
        serde_json::json!({"cpe": "cpe:2.3:o:linux:linux_kernel:2.6.33.2:*:*:*:*:*:*:*"});
    csaf["vulnerabilities"][0]["cve"] = Value::from("CVE-2016-5195");
    crate::chain::write(
        dir,
        "fixed.csaf.json",
        serde_json::to_string(&csaf).unwrap().as_bytes(),
    );
    let diff = |old: &str, new: &str, extra: &[&str]| {
        let (old, new) = (format!("{old}.cdx.json"), format!("{new}.cdx.json"));
        let mut args = vec!["sbom", "diff", old.as_str(), new.as_str(), "--vuln-db", db];
        args.extend_from_slice(extra);
        run(dir, &args)
    };
    let back = diff(
        "2.6.33.2",
        "2.6.33.1",
        &["--fail-on", "new-vuln", "--vex", "back.openvex.json"],
    );
    assert_eq!(back.code, 0, "{}\n{}", back.stdout, back.stderr);
    assert!(
        back.stdout.contains("vulnerabilities introduced (0)\n"),
        "{}",
        back.stdout
    );
    assert!(
        back.stdout.contains("vulnerabilities set aside by the VEX statements (1)\n  CVE-2010-0727 in linux_kernel (none) -> 2.6.33.1; VEX (new): not_affected: vulnerable_code_not_present (GFS2 is not built)"),
        "{}",
        back.stdout
    );
    let forward = diff(
        "2.6.33.1",
        "2.6.33.2",
        &["--format", "json", "--vex", "fixed.csaf.json"],
    );
    assert_eq!(forward.code, 0, "{}\n{}", forward.stdout, forward.stderr);
    let json: Value = serde_json::from_str(&forward.stdout).unwrap();
    let vulns = &json["vulnerabilities"];
    let ids = |list: &str| -> Vec<String> {
        vulns[list]
            .as_array()
            .map(|l| {
                l.iter()
                    .map(|c| c["id"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(ids("fixed"), ["CVE-2010-0727", "CVE-2016-5195"], "{vulns}");
    assert!(ids("unchanged").is_empty(), "{vulns}");
    let cow = vulns["fixed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "CVE-2016-5195")
        .unwrap();
    assert_eq!(cow["after"], "2.6.33.2");
    assert!(
        cow["vex_after"].as_str().unwrap().starts_with("fixed"),
        "{cow}"
    );
    // Without the statement, Dirty COW stays in both.
    let plain = diff("2.6.33.1", "2.6.33.2", &["--format", "json"]);
    let json: Value = serde_json::from_str(&plain.stdout).unwrap();
    assert_eq!(
        json["vulnerabilities"]["unchanged"][0]["id"],
        "CVE-2016-5195"
    );
    // A VEX that does not read is refused, naming it.
    crate::chain::write(dir, "bad.vex.json", br#"{"hello": 1}"#);
    let bad = diff("2.6.33.1", "2.6.33.2", &["--vex", "bad.vex.json"]);
    assert_eq!(bad.code, 2, "{}\n{}", bad.stdout, bad.stderr);
    assert!(bad.stderr.contains("bad.vex.json"), "{}", bad.stderr);
}

/// Issue 14: `consign attest vex` signs a CSAF 2.0 VEX document (the CSAF TC's own
/// `2022-evd-uc-01-na-001.json` example, its product given the firmware's SHA-256 and its CVE
/// changed to Dirty COW) and `verify` applies it like an OpenVEX `not_affected` statement: the
/// KEV-listed vulnerability is resolved, with the CSAF impact statement as the reason. A CSAF
/// security advisory (not VEX) is refused before signing.
#[test]
fn a_signed_csaf_vex_resolves_like_openvex() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = kernel_shipment(dir);
    let db = db.to_str().unwrap();
    let mut csaf: Value =
        serde_json::from_slice(
            &std::fs::read(shared().join(
                "vulndata/vex/csaf/csaf_2.0/examples/csaf/csaf_vex/2022-evd-uc-01-na-001.json",
            ))
            .unwrap(),
        )
        .unwrap();
    let fw = consign_model::Sha256::of(&std::fs::read(dir.join("fw.img")).unwrap()).to_hex();
    csaf.pointer_mut("/product_tree/branches/0/branches/0/branches/0/product")
        .unwrap()["product_identification_helper"] = serde_json::json!({"hashes": [
            {"filename": "fw.img", "file_hashes": [{"algorithm": "sha256", "value": fw}]}]});
    csaf["vulnerabilities"][0]["cve"] = Value::from("CVE-2016-5195");
    crate::chain::write(
        dir,
        "vex.csaf.json",
        serde_json::to_string(&csaf).unwrap().as_bytes(),
    );
    crate::chain::ok(
        dir,
        &[
            "attest",
            "vex",
            "--key",
            "mfr.key",
            "fw.img",
            "--vex",
            "vex.csaf.json",
            "-o",
            "csaf.intoto.jsonl",
        ],
    );
    let signed = std::fs::read_to_string(dir.join("csaf.intoto.jsonl")).unwrap();
    let envelope =
        consign_attest::dsse::Envelope::from_json(signed.lines().next().unwrap().as_bytes())
            .unwrap();
    let statement: Value = serde_json::from_slice(&envelope.payload).unwrap();
    assert_eq!(
        statement["predicateType"],
        "https://docs.oasis-open.org/csaf/csaf/v2.0"
    );
    crate::chain::assemble_shipment_with(dir, "csaf", "fw.img", &["csaf.intoto.jsonl"]);
    let out = verify_with(dir, "csaf", &["--vuln-db", db]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let verdict: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(verdict["accepted"], true);
    let check = known(&verdict);
    assert_eq!(check["status"], "pass", "{check}");
    let reason = check["reason"].as_str().unwrap();
    assert!(
        reason.contains("resolved by the manufacturer's signed VEX: CVE-2016-5195 in linux_kernel 2.6.33.2: not_affected (Class with vulnerable code was removed before shipping.)"),
        "{reason}"
    );
    // A CSAF advisory is not VEX: refused, naming the field.
    let mut advisory = csaf.clone();
    advisory["document"]["category"] = Value::from("csaf_security_advisory");
    crate::chain::write(
        dir,
        "advisory.csaf.json",
        serde_json::to_string(&advisory).unwrap().as_bytes(),
    );
    let out = run(
        dir,
        &[
            "attest",
            "vex",
            "--key",
            "mfr.key",
            "fw.img",
            "--vex",
            "advisory.csaf.json",
            "-o",
            "advisory.intoto.jsonl",
        ],
    );
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("advisory.csaf.json"), "{}", out.stderr);
    assert!(!dir.join("advisory.intoto.jsonl").exists());
}
