//! Known vulnerabilities (group 7): the release's SBOM matched against a local, dated
//! vulnerability database; every KEV-listed match, and every match at or above the policy's
//! severity, must be resolved by a trusted VEX statement. The matching and the decision are
//! consign-vuln's ([`consign_vuln::match_targets`], [`consign_vuln::assess::assess`]); this
//! module gathers their inputs from the evidence and words the outcome.
//!
//! Fail closed: no database (`verify --vuln-db FILE`, else the default one) makes the check
//! *unavailable*, a failure naming the command that builds one unless the policy says
//! `when-unavailable`; an unreadable database, SBOM or signed VEX is a failure. Only the SBOMs
//! the release binds are matched ([`Evidence::release_sboms`]), and only VEX signed by a key
//! holding the manufacturer role, about a firmware image of this shipment, may resolve a
//! finding. The reason names the database's sources with their dates and digests and the
//! evidence lists their SHA-256, so the verdict (and a VSA signed from it) records what was
//! known when.

use std::fmt::Write as _;

use consign_vuln::assess::{Policy, assess};
use consign_vuln::db::Database;
use consign_vuln::record::Level;
use consign_vuln::vex::VexStatement;

use super::prelude::*;
use crate::trust::Role;

const BUILD: &str = "build one offline with `consign vuln db import --db FILE PATH...` (NVD CVE 2.0 JSON records or feeds, OSV records, the CISA KEV catalogue) and verify with `--vuln-db FILE`, or set `when-unavailable` for `vulnerabilities.known` in the policy";

/// Why the check cannot run for want of a vulnerability database, or `None` when one is there.
pub(super) fn database_missing(evidence: &Evidence<'_>) -> Option<Outcome> {
    match &evidence.vulnerability_database {
        None => Some(unavailable(
            "no vulnerability database: none was given with `--vuln-db` and there is none in the user's data folder (`$XDG_DATA_HOME/consign/vuln.db`, else `~/.local/share/consign/vuln.db`)",
            BUILD,
        )),
        Some(db) => match &db.info {
            Ok(_) => None,
            Err(reason) => Some(unavailable(
                format!("the vulnerability database cannot be used: {reason}"),
                BUILD,
            )),
        },
    }
}

/// The policy's thresholds: `fail-on-kev` (default true) and `min-severity` (absent: severity
/// alone never fails). The policy reader has already refused any other severity label.
fn policy_of(config: &CheckConfig) -> Policy {
    Policy {
        fail_on_kev: config.fail_on_kev.unwrap_or(true),
        min_severity: config.min_severity.as_deref().and_then(Level::from_label),
    }
}

/// The trusted VEX statements: from VEX attestations signed by the manufacturer whose
/// subjects match a firmware image of this shipment. A signed VEX that does not read is a
/// problem (the manufacturer meant to say something the verifier cannot hear).
fn trusted_vex(evidence: &Evidence<'_>) -> (Vec<VexStatement>, Vec<String>) {
    let mut statements = Vec::new();
    let mut problems = Vec::new();
    for (envelope, statement) in evidence.trusted() {
        let Claims::Vex(predicate) = &statement.claims else {
            continue;
        };
        if !envelope.signed_as(evidence.trust, evidence.date, Role::Manufacturer) {
            continue;
        }
        let about_this_firmware = statement.subjects.iter().any(|subject| {
            evidence
                .firmware
                .iter()
                .any(|fw| subject.matches(&fw.digests()))
        });
        if !about_this_firmware {
            continue;
        }
        match consign_vuln::vex::parse_value(&place(envelope), predicate) {
            Ok(document) => statements.extend(document.statements),
            Err(err) => problems.push(format!("signed VEX {}: {err}", place(envelope))),
        }
    }
    (statements, problems)
}

/// The check.
pub(super) fn known(evidence: &Evidence<'_>, config: &CheckConfig) -> Outcome {
    let Some(Ok(info)) = evidence
        .vulnerability_database
        .as_ref()
        .map(|db| db.info.as_ref())
    else {
        // `database_missing` stops the check before it gets here.
        return unavailable("no vulnerability database", BUILD);
    };
    let Some(path) = evidence.vulnerability_database.as_ref().map(|db| &db.path) else {
        return unavailable("no vulnerability database", BUILD);
    };
    let sources: Vec<String> = info.sources.iter().map(|s| s.sha256.clone()).collect();
    let db = match Database::open(path) {
        Ok(db) => db,
        Err(err) => return fail(err.to_string(), BUILD),
    };
    let sboms = evidence.release_sboms();
    if sboms.is_empty() {
        return fail(
            "no SBOM bound by the release (a trusted release attestation's SBOM digest, or a manufacturer-signed SBOM statement about the firmware) to match against the vulnerability database",
            "ship the release's CycloneDX SBOM and bind it in the manufacturer's release attestation (`consign attest product --sbom`)",
        );
    }
    let (statements, problems) = trusted_vex(evidence);
    if !problems.is_empty() {
        return fail(
            join(&problems),
            "fix the VEX document and sign it again with `consign attest vex`",
        );
    }
    let firmware_digests: Vec<String> = evidence
        .firmware
        .iter()
        .flat_map(|fw| [fw.sha256.to_hex(), fw.sha512.to_hex()])
        .collect();
    let policy = policy_of(config);
    let mut blocking = Vec::new();
    let mut resolved = Vec::new();
    let mut below = 0;
    let mut unknown = 0;
    let mut sources_line = String::new();
    for sbom in &sboms {
        let Some(json) = &sbom.json else {
            return fail(
                format!("`{}` is not strict JSON", sbom.artifact),
                "see `sbom.valid`",
            );
        };
        let mut targets = match consign_vuln::sbom::targets_of(&sbom.artifact, json) {
            Ok(targets) => targets,
            Err(err) => return fail(err.to_string(), "see `sbom.valid`"),
        };
        // The SBOM is the release's and the VEX is about this shipment's firmware: a statement
        // naming the firmware by its digest covers it.
        targets
            .subject
            .digests
            .extend(firmware_digests.iter().cloned());
        let report = match consign_vuln::match_targets(&db, &sbom.artifact, &targets, &statements) {
            Ok(report) => report,
            Err(err) => return fail(err.to_string(), BUILD),
        };
        let decision = assess(&report, &policy);
        blocking.extend(
            decision
                .blocking
                .iter()
                .map(consign_vuln::assess::Blocking::line),
        );
        resolved.extend(decision.resolved_lines());
        below += decision.below_threshold;
        unknown += decision.unknown;
        sources_line = decision.sources_line();
    }
    let mut tail = String::new();
    if !resolved.is_empty() {
        tail.push_str("; resolved by the manufacturer's signed VEX: ");
        tail.push_str(&join(&resolved));
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
    let _ = write!(tail, "; database sha256 {}: {sources_line}", info.sha256);
    if blocking.is_empty() {
        pass(format!("no known vulnerability the policy rejects{tail}")).with_evidence(sources)
    } else {
        fail(
            format!(
                "{} known vulnerabilit{} the policy rejects: {}{tail}",
                blocking.len(),
                if blocking.len() == 1 { "y" } else { "ies" },
                join(&blocking)
            ),
            "update the components (each finding names its fix), or have the manufacturer sign a VEX statement saying why the product is not affected (`consign attest vex`)",
        )
        .with_evidence(sources)
    }
}
