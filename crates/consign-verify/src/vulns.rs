//! The check `vulnerabilities.known`: the shipment's SBOM matched against a local, dated
//! vulnerability database, with the manufacturer's signed VEX applied; the decision itself is
//! consign-vuln's ([`consign_vuln::assess::assess`]), this only gathers its inputs and words
//! the outcome.
//!
//! Fail closed: no database (when the policy runs the check) is a failure naming the command
//! that builds one; a database or SBOM that cannot be read is a failure; only VEX the caller
//! trusts (signed by a key holding the manufacturer role, about this shipment's firmware) may
//! resolve a finding. The outcome's reason names the database's sources with their dates and
//! digests, and its evidence lists their SHA-256, so the verdict (and a VSA made from it)
//! records what was known when.
//!
//! Wiring (for the checks table): inputs are the database path (`verify --vuln-db FILE`, else
//! [`consign_vuln::default_database_path`]), the readable SBOM artifacts' JSON, the trusted VEX
//! statements' predicates with their subjects' digests, and the policy's `fail-on-kev` and
//! `min-severity` ([`policy_from`]).

use std::fmt::Write as _;
use std::path::Path;

use consign_vuln::assess::{Policy, assess};
use consign_vuln::db::Database;
use consign_vuln::record::Level;
use consign_vuln::vex::VexStatement;

use crate::checks::Outcome;
use crate::verdict::Status;

/// A trusted VEX attestation's predicate and the digests (hex) of its subjects.
#[derive(Clone, Debug)]
pub struct TrustedVex<'a> {
    /// Where it was read (`artifact line N`), for the report.
    pub place: String,
    /// The predicate: an OpenVEX or CycloneDX VEX document.
    pub predicate: &'a serde_json::Value,
    /// SHA-256 and SHA-512 (hex) of the statement's subjects: the firmware it is about.
    pub subject_digests: Vec<String>,
}

/// Everything the check needs.
#[derive(Clone, Debug)]
pub struct KnownVulnerabilities<'a> {
    /// The database file; `None` when none was given and there is no default.
    pub database: Option<&'a Path>,
    /// The SBOMs of the shipment (artifact path, parsed JSON).
    pub sboms: Vec<(String, &'a serde_json::Value)>,
    /// VEX the caller trusts.
    pub vex: Vec<TrustedVex<'a>>,
    /// The policy's thresholds.
    pub policy: Policy,
}

/// The policy from the profile's `fail-on-kev` (default true) and `min-severity` (`none`,
/// `low`, `medium`, `high`, `critical`; absent: severity alone never fails).
pub fn policy_from(
    fail_on_kev: Option<bool>,
    min_severity: Option<&str>,
) -> Result<Policy, String> {
    let min_severity = match min_severity {
        None => None,
        Some(text) => Some(Level::from_label(text).ok_or_else(|| {
            format!("`min-severity` is `{text}`; expected `low`, `medium`, `high` or `critical`")
        })?),
    };
    Ok(Policy {
        fail_on_kev: fail_on_kev.unwrap_or(true),
        min_severity,
    })
}

fn outcome(status: Status, reason: String, fix: Option<String>, evidence: Vec<String>) -> Outcome {
    Outcome {
        status,
        reason,
        fix,
        evidence,
    }
}

fn join(lines: &[String]) -> String {
    const SHOWN: usize = 6;
    let mut text = lines
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if lines.len() > SHOWN {
        let _ = write!(text, "; and {} more", lines.len() - SHOWN);
    }
    text
}

/// Runs `vulnerabilities.known`.
pub fn known_vulnerabilities(input: &KnownVulnerabilities<'_>) -> Outcome {
    let build = "build one offline with `consign vuln db import --db FILE PATH...` (NVD CVE 2.0 JSON, OSV, the CISA KEV catalogue) and give it to `consign verify --vuln-db FILE`";
    let Some(path) = input.database else {
        return outcome(
            Status::Fail,
            "the policy requires matching against a vulnerability database, and none was given or found in the default place".to_owned(),
            Some(build.to_owned()),
            Vec::new(),
        );
    };
    let db = match Database::open(path) {
        Ok(db) => db,
        Err(err) => {
            return outcome(
                Status::Fail,
                format!("{err}")
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                Some(build.to_owned()),
                Vec::new(),
            );
        }
    };
    if input.sboms.is_empty() {
        return outcome(
            Status::Fail,
            "no readable SBOM in the shipment to match against the vulnerability database"
                .to_owned(),
            Some("ship the release's CycloneDX SBOM".to_owned()),
            Vec::new(),
        );
    }
    let mut statements: Vec<VexStatement> = Vec::new();
    let mut problems = Vec::new();
    for vex in &input.vex {
        match consign_vuln::vex::parse_value(&vex.place, vex.predicate) {
            Ok(document) => statements.extend(document.statements),
            Err(err) => problems.push(format!("signed VEX {}: {err}", vex.place)),
        }
    }
    if !problems.is_empty() {
        return outcome(
            Status::Fail,
            join(&problems),
            Some("fix the VEX document and sign it again with `consign attest vex`".to_owned()),
            Vec::new(),
        );
    }
    let mut blocking = Vec::new();
    let mut resolved = Vec::new();
    let mut below = 0;
    let mut unknown = 0;
    let mut info = None;
    for (artifact, json) in &input.sboms {
        let mut targets = match consign_vuln::sbom::targets_of(artifact, json) {
            Ok(targets) => targets,
            Err(err) => {
                return outcome(Status::Fail, err.to_string(), None, Vec::new());
            }
        };
        for vex in &input.vex {
            targets
                .subject
                .digests
                .extend(vex.subject_digests.iter().cloned());
        }
        let report = match consign_vuln::match_targets(&db, artifact, &targets, &statements) {
            Ok(report) => report,
            Err(err) => {
                return outcome(
                    Status::Fail,
                    err.to_string(),
                    Some(build.to_owned()),
                    Vec::new(),
                );
            }
        };
        let decision = assess(&report, &input.policy);
        blocking.extend(
            decision
                .blocking
                .iter()
                .map(consign_vuln::assess::Blocking::line),
        );
        resolved.extend(decision.resolved_lines());
        below += decision.below_threshold;
        unknown += decision.unknown;
        info = Some(decision);
    }
    let Some(decision) = info else {
        return outcome(Status::Fail, "no SBOM matched".to_owned(), None, Vec::new());
    };
    let evidence: Vec<String> = decision
        .database
        .sources
        .iter()
        .map(|s| s.sha256.clone())
        .collect();
    let mut tail = String::new();
    if !resolved.is_empty() {
        let _ = write!(
            tail,
            "; resolved by the manufacturer's signed VEX: {}",
            join(&resolved)
        );
    }
    if below > 0 {
        let _ = write!(tail, "; {below} more below the policy's thresholds");
    }
    if unknown > 0 {
        let _ = write!(
            tail,
            "; {unknown} records may apply to components whose release is unknown"
        );
    }
    let _ = write!(tail, "; database: {}", decision.sources_line());
    if blocking.is_empty() {
        outcome(
            Status::Pass,
            format!("no known vulnerability the policy rejects{tail}"),
            None,
            evidence,
        )
    } else {
        outcome(
            Status::Fail,
            format!("{} known vulnerabilities the policy rejects: {}{tail}", blocking.len(), join(&blocking)),
            Some("update the components (each finding names its fix), or have the manufacturer sign a VEX statement saying why the product is not affected (`consign attest vex`)".to_owned()),
            evidence,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use consign_vuln::document::{self, ReadLimits};

    fn vulndata() -> std::path::PathBuf {
        std::env::var_os("CONSIGN_SHARED_DIR")
            .map_or_else(
                || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
                std::path::PathBuf::from,
            )
            .join("vulndata")
    }

    /// A database of the real records for the kernel CVE and the KEV catalogue.
    fn database(dir: &Path) -> std::path::PathBuf {
        let path = dir.join("vuln.db");
        let mut db = Database::create(&path).unwrap();
        for (name, file) in [
            ("nvd", "nvd/CVE-2016/CVE-2016-5195.json"),
            ("nvd", "nvd/CVE-2010/CVE-2010-0727.json"),
            ("kev", "kev/known_exploited_vulnerabilities.json"),
        ] {
            let bytes = std::fs::read(vulndata().join(file)).unwrap();
            let docs = document::read(file, &bytes, &ReadLimits::default()).unwrap();
            let source = consign_vuln::db::NewSource {
                name,
                sha256: &format!("{:x}", bytes.len()),
                imported_at: "2026-12-05T00:00:00Z",
            };
            db.import(&source, [Ok(docs)]).unwrap();
        }
        path
    }

    fn sbom() -> serde_json::Value {
        serde_json::json!({
            "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
            "metadata": {"component": {"type": "firmware", "bom-ref": "firmware:fw.bin", "name": "fw.bin",
                "hashes": [{"alg": "SHA-256", "content": "ab".repeat(32)}]}},
            "components": [{"type": "operating-system", "bom-ref": "pkg:generic/linux@2.6.33.2", "name": "linux_kernel",
                "version": "2.6.33.2", "cpe": "cpe:2.3:o:linux:linux_kernel:2.6.33.2:*:*:*:*:*:*:*",
                "purl": "pkg:generic/linux@2.6.33.2"}]
        })
    }

    #[test]
    fn kev_listed_vulnerability_fails_and_signed_vex_resolves_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = database(dir.path());
        let bom = sbom();
        let policy = policy_from(None, None).unwrap();
        let mut input = KnownVulnerabilities {
            database: Some(&db),
            sboms: vec![("fw.cdx.json".to_owned(), &bom)],
            vex: Vec::new(),
            policy,
        };
        let failed = known_vulnerabilities(&input);
        assert_eq!(failed.status, Status::Fail);
        assert!(
            failed
                .reason
                .contains("CVE-2016-5195 in linux_kernel 2.6.33.2")
                && failed.reason.contains("KEV-listed since 2022-03-03")
                && failed.reason.contains("fix: update to 3.2.83 or later")
                && failed.reason.contains("dated 2025-08-25"),
            "{}",
            failed.reason
        );
        assert!(
            !failed.reason.contains("CVE-2010-0727"),
            "outside its range: {}",
            failed.reason
        );
        assert_eq!(failed.evidence.len(), 3);
        let vex = serde_json::json!({
            "@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/1", "author": "Acme",
            "timestamp": "2026-01-01T00:00:00Z", "version": 1,
            "statements": [{"vulnerability": {"name": "CVE-2016-5195"},
                "products": [{"@id": "pkg:generic/acme/fw@1.0", "subcomponents": [{"@id": "pkg:generic/linux@2.6.33.2"}]}],
                "status": "not_affected", "justification": "vulnerable_code_not_present",
                "impact_statement": "no writable private mappings in this build"}]
        });
        // The product is not this firmware: the statement does not cover it.
        input.vex = vec![TrustedVex {
            place: "vex.intoto.jsonl line 1".to_owned(),
            predicate: &vex,
            subject_digests: vec!["cd".repeat(32)],
        }];
        assert_eq!(known_vulnerabilities(&input).status, Status::Fail);
        let mut vex_for_this = vex.clone();
        vex_for_this["statements"][0]["products"][0]["@id"] = serde_json::json!("ignored");
        vex_for_this["statements"][0]["products"][0]["hashes"] =
            serde_json::json!({"sha-256": "ab".repeat(32)});
        input.vex = vec![TrustedVex {
            place: "vex.intoto.jsonl line 1".to_owned(),
            predicate: &vex_for_this,
            subject_digests: vec!["ab".repeat(32)],
        }];
        let passed = known_vulnerabilities(&input);
        assert_eq!(passed.status, Status::Pass, "{}", passed.reason);
        assert!(
            passed.reason.contains("CVE-2016-5195 in linux_kernel 2.6.33.2: not_affected: vulnerable_code_not_present (no writable private mappings in this build)"),
            "{}",
            passed.reason
        );
    }

    #[test]
    fn no_database_fails_closed() {
        let bom = sbom();
        let input = KnownVulnerabilities {
            database: None,
            sboms: vec![("fw.cdx.json".to_owned(), &bom)],
            vex: Vec::new(),
            policy: Policy::default(),
        };
        let out = known_vulnerabilities(&input);
        assert_eq!(out.status, Status::Fail);
        assert!(
            out.fix
                .unwrap()
                .contains("consign vuln db import --db FILE")
        );
        let missing = Path::new("/nonexistent/vuln.db");
        let input = KnownVulnerabilities {
            database: Some(missing),
            ..input
        };
        let out = known_vulnerabilities(&input);
        assert_eq!(out.status, Status::Fail);
        assert!(
            out.reason
                .contains("no vulnerability database at `/nonexistent/vuln.db`"),
            "{}",
            out.reason
        );
        assert!(policy_from(None, Some("severe")).is_err());
    }
}
