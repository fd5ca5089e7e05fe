//! Every check of DESIGN section 6, as one typed table ([`CHECKS`]): each row is a check's id,
//! group, title, the parameters it takes, what it needs to run, and its function. The policy reads
//! the same table to refuse unknown checks and parameters, so a check exists in one place.
//!
//! # The verdict rule
//!
//! A check that finds a problem fails. A check that has truly nothing to look at (no supplier
//! attestation to compare, no threshold set) is not-applicable, and `integrity.required` decides
//! whether that absence is itself a failure. A check the policy runs that *cannot* run (what it
//! needs is missing or was not built: no vulnerability database, the re-scan turned off with
//! `--no-rescan`, no firmware to re-scan) is a failure with its reason, unless the policy says
//! otherwise for that check, explicitly, with `when-unavailable` (`warn` or `not-applicable`).
//! A check of severity `warn` reports any failure as a warning.
//!
//! Later checks rely only on *trusted* statements (signed by a key valid at the check date, of a
//! party holding the right role, of a known predicate type), so an untrusted document can never
//! make a check pass.

mod conformity;
mod defaults;
mod handling;
mod identity;
mod integrity;
mod sbom;
mod suppliers;
mod support;
mod vulnerabilities;

use std::collections::BTreeSet;
use std::fmt::Write as _;

use consign_model::Sha256;
use jiff::civil::Date;

use crate::evidence::{Evidence, ProductClaims, product_key};
use crate::policy::{CheckConfig, Policy, Severity, WhenUnavailable};
use crate::trust::Role;
use crate::verdict::{CheckResult, Counts, EvidenceItem, FORMAT, ProductRef, Status, Verdict};

/// What the check modules share.
mod prelude {
    pub(super) use std::collections::{BTreeMap, BTreeSet};

    pub(super) use consign_model::{Digests, Sha256};
    pub(super) use jiff::civil::Date;

    pub(super) use super::{
        NO_RELEASE, NO_RELEASE_FIX, Outcome, blank, fail, join, judge_products, kebab,
        not_applicable, pass, place, product_evidence, product_support_end, short, to_date,
        unavailable, with_current_products,
    };
    pub(super) use crate::evidence::{Claims, Evidence, KnownDigests, PredicateKind, product_key};
    pub(super) use crate::policy::{CheckConfig, parse_spec_version};
    pub(super) use crate::shipment::ArtifactRole;
    pub(super) use crate::trust::KeyValidity;
    pub(super) use crate::verdict::Status;
}

/// What a check needs from the shipment or the verifier before it can run at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Input {
    /// The shipment's manifest and files.
    Manifest,
    /// Signed attestations.
    Attestations,
    /// A trusted release attestation covering the firmware.
    Release,
    /// An SBOM artifact.
    Sbom,
    /// The shipment's documents (the declaration of conformity).
    Documents,
    /// Earlier verdicts from the ledger.
    Ledger,
    /// At least one firmware image.
    Firmware,
    /// The firmware re-scan (`consign verify` without `--no-rescan`).
    Rescan,
    /// A local, dated vulnerability database.
    VulnerabilityDatabase,
}

impl Input {
    /// Why the check cannot run for want of this input, or `None` when it is there. Only the
    /// inputs a check cannot do without are judged here; the others (attestations, SBOMs,
    /// documents) are judged by each check, which fails when they are absent.
    fn missing(self, evidence: &Evidence<'_>) -> Option<Outcome> {
        match self {
            Self::Firmware if evidence.firmware.is_empty() => Some(unavailable(
                "the shipment holds no firmware image",
                "ask the manufacturer for the firmware as flashed and add it to the shipment (`consign shipment assemble --firmware`)",
            )),
            Self::Rescan if !evidence.rescanned => Some(unavailable(
                "the re-scan was turned off (`--no-rescan`): the firmware was not re-scanned or audited, so nothing was compared with it",
                "run `consign verify` without `--no-rescan`, or set `when-unavailable` for this check in the policy",
            )),
            Self::VulnerabilityDatabase => vulnerabilities::database_missing(evidence),
            _ => None,
        }
    }

    /// The input's name in reports and documentation.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manifest => "manifest",
            Self::Attestations => "attestations",
            Self::Release => "release attestation",
            Self::Sbom => "SBOM",
            Self::Documents => "documents",
            Self::Ledger => "ledger",
            Self::Firmware => "firmware",
            Self::Rescan => "re-scan",
            Self::VulnerabilityDatabase => "vulnerability database",
        }
    }
}

/// One check: the row of [`CHECKS`] that says everything about it.
#[derive(Clone, Copy)]
pub struct Check {
    /// The id policies use (`support.not-expired`).
    pub id: &'static str,
    /// The group of DESIGN section 6 it belongs to.
    pub group: &'static str,
    /// One line saying what it checks.
    pub title: &'static str,
    /// The parameters it takes (kebab-case names of [`CheckConfig`] fields); every check also
    /// takes `severity`, `requirements` and `when-unavailable`.
    pub params: &'static [&'static str],
    /// What it needs to run; a missing input makes it unavailable (see the module docs).
    pub needs: &'static [Input],
    /// The check itself.
    pub run: fn(&Evidence<'_>, &CheckConfig) -> Outcome,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check")
            .field("id", &self.id)
            .field("group", &self.group)
            .field("params", &self.params)
            .field("needs", &self.needs)
            .finish_non_exhaustive()
    }
}

use Input::{
    Attestations, Documents, Firmware, Ledger, Manifest, Release, Rescan, Sbom,
    VulnerabilityDatabase,
};

/// Every check the verifier implements, in report order.
pub const CHECKS: &[Check] = &[
    Check {
        id: "shipment.manifest",
        group: "integrity",
        title: "every artifact the manifest lists is present, unaltered, and nothing else is",
        params: &[],
        needs: &[Manifest],
        run: |e, _| integrity::shipment_manifest(e),
    },
    Check {
        id: "integrity.signatures",
        group: "integrity",
        title: "every attestation is signed by a trusted key, valid at the check date",
        params: &[],
        needs: &[Attestations],
        run: |e, _| integrity::signatures(e),
    },
    Check {
        id: "integrity.roles",
        group: "integrity",
        title: "each signer holds the role its attestation needs",
        params: &[],
        needs: &[Attestations],
        run: |e, _| integrity::roles(e),
    },
    Check {
        id: "integrity.predicates",
        group: "integrity",
        title: "every predicate type and version is one the verifier knows",
        params: &[],
        needs: &[Attestations],
        run: |e, _| integrity::predicates(e),
    },
    Check {
        id: "integrity.required",
        group: "integrity",
        title: "the attestations the policy requires are present",
        params: &["require"],
        needs: &[Attestations],
        run: integrity::required,
    },
    Check {
        id: "integrity.subjects",
        group: "integrity",
        title: "attestation subjects match the shipment's artifacts by digest",
        params: &[],
        needs: &[Attestations, Firmware],
        run: |e, _| integrity::subjects(e),
    },
    Check {
        id: "integrity.custody",
        group: "integrity",
        title: "custody is continuous: each party's materials are the previous party's products",
        params: &[],
        needs: &[Attestations],
        run: |e, _| integrity::custody(e),
    },
    Check {
        id: "integrity.threshold",
        group: "integrity",
        title: "enough distinct trusted keys of each role signed",
        params: &["thresholds"],
        needs: &[Attestations],
        run: integrity::threshold,
    },
    Check {
        id: "sbom.valid",
        group: "sbom",
        title: "the SBOM is valid CycloneDX of the required spec version",
        params: &["min-spec-version"],
        needs: &[Sbom],
        run: sbom::sbom_valid,
    },
    Check {
        id: "sbom.profile",
        group: "sbom",
        title: "the SBOM has the fields the BSI TR-03183-2 or NTIA minimum elements require",
        params: &["profile"],
        needs: &[Sbom],
        run: sbom::sbom_profile,
    },
    Check {
        id: "sbom.vulnerabilities",
        group: "sbom",
        title: "the SBOM lists no vulnerabilities",
        params: &[],
        needs: &[Sbom],
        run: |e, _| sbom::sbom_vulnerabilities(e),
    },
    Check {
        id: "sbom.rescan",
        group: "sbom",
        title: "a re-scan of the firmware finds no component the SBOM does not declare, at the declared version",
        params: &[],
        needs: &[Firmware, Rescan, Sbom, Release],
        run: |e, _| sbom::rescan(e),
    },
    Check {
        id: "identity.product",
        group: "identity",
        title: "product and manufacturer identity and contact are present and consistent",
        params: &[],
        needs: &[Release],
        run: |e, _| identity::identity(e),
    },
    Check {
        id: "support.declared",
        group: "support",
        title: "a support period end date is declared",
        params: &[],
        needs: &[Release],
        run: |e, _| support::support_declared(e),
    },
    Check {
        id: "support.not-expired",
        group: "support",
        title: "the support period has not ended at the check date",
        params: &[],
        needs: &[Release],
        run: |e, _| support::support_not_expired(e),
    },
    Check {
        id: "support.minimum-length",
        group: "support",
        title: "the support period lasts at least the policy's minimum from the check date",
        params: &["min-years"],
        needs: &[Release],
        run: support::support_minimum,
    },
    Check {
        id: "support.never-shortened",
        group: "support",
        title: "the support period is never shorter than an earlier attestation of the same product",
        params: &[],
        needs: &[Release, Ledger],
        run: |e, _| support::support_never_shortened(e),
    },
    Check {
        id: "vulnerability.disclosure",
        group: "vulnerability-handling",
        title: "a vulnerability disclosure contact and policy are declared",
        params: &[],
        needs: &[Release],
        run: |e, _| handling::disclosure(e),
    },
    Check {
        id: "security.passwords",
        group: "vulnerability-handling",
        title: "the password scheme is one the policy allows",
        params: &["allowed"],
        needs: &[Release],
        run: handling::passwords,
    },
    Check {
        id: "security.secrets",
        group: "secure-defaults",
        title: "the firmware ships no private key when the signed claims say keys are per device or none",
        params: &[],
        needs: &[Release, Firmware, Rescan],
        run: |e, _| defaults::secrets(e),
    },
    Check {
        id: "security.services",
        group: "secure-defaults",
        title: "the firmware starts no telnet, FTP, TFTP, adb, debug-shell, console or SSH service the signed claims do not list",
        params: &[],
        needs: &[Release, Firmware, Rescan],
        run: |e, _| defaults::services(e),
    },
    Check {
        id: "conformity.declaration",
        group: "conformity",
        title: "the declaration of conformity is in the shipment, matching its attested digest",
        params: &[],
        needs: &[Release, Documents],
        run: |e, _| conformity::declaration(e),
    },
    Check {
        id: "conformity.ce-marking",
        group: "conformity",
        title: "the manufacturer claims the CE marking",
        params: &[],
        needs: &[Release],
        run: |e, _| conformity::ce_marking(e),
    },
    Check {
        id: "conformity.notified-body",
        group: "conformity",
        title: "a notified body is named where the product class needs one",
        params: &["classes"],
        needs: &[Release],
        run: conformity::notified_body,
    },
    Check {
        id: "conformity.uk-statement",
        group: "conformity",
        title: "a UK statement of compliance, or an accepted label, is declared",
        params: &["accepted-labels"],
        needs: &[Release],
        run: conformity::uk_statement,
    },
    Check {
        id: "vulnerabilities.known",
        group: "known-vulnerabilities",
        title: "every known vulnerability the policy weighs is covered by a signed VEX statement",
        params: &["fail-on-kev", "min-severity"],
        needs: &[Sbom, VulnerabilityDatabase],
        run: vulnerabilities::known,
    },
    Check {
        id: "suppliers.attestations",
        group: "suppliers",
        title: "supplier attestations match SBOM components by digest",
        params: &[],
        needs: &[Attestations, Sbom],
        run: |e, _| suppliers::supplier_attestations(e),
    },
    Check {
        id: "suppliers.support-end",
        group: "suppliers",
        title: "each supplier's support end is no earlier than the product's",
        params: &[],
        needs: &[Attestations, Release],
        run: |e, _| suppliers::supplier_support_end(e),
    },
];

/// Looks a check up by id.
pub fn find(id: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|check| check.id == id)
}

/// Runs one check as the policy configures it, applying the verdict rule (see the module docs):
/// a missing input or an unavailable outcome is a failure unless `when-unavailable` says
/// otherwise; a failure of a `warn` check is a warning.
pub fn run_check(
    check: &Check,
    evidence: &Evidence<'_>,
    severity: Severity,
    config: &CheckConfig,
) -> Outcome {
    let mut outcome = check
        .needs
        .iter()
        .find_map(|input| input.missing(evidence))
        .unwrap_or_else(|| (check.run)(evidence, config));
    if outcome.unavailable {
        match config.when_unavailable.unwrap_or(WhenUnavailable::Fail) {
            WhenUnavailable::Fail => {
                outcome.status = Status::Fail;
                outcome.reason = format!("cannot run, so it fails: {}", outcome.reason);
            }
            WhenUnavailable::Warn => {
                outcome.status = Status::Warn;
                outcome.reason = format!(
                    "cannot run ({}); the policy makes this a warning (`when-unavailable = \"warn\"`)",
                    outcome.reason
                );
            }
            WhenUnavailable::NotApplicable => {
                outcome.status = Status::NotApplicable;
                outcome.reason = format!(
                    "cannot run ({}); the policy accepts that (`when-unavailable = \"not-applicable\"`)",
                    outcome.reason
                );
            }
        }
    }
    if outcome.status == Status::Fail && severity == Severity::Warn {
        outcome.status = Status::Warn;
    }
    outcome
}

/// Runs every check of `policy` on `evidence` and builds the verdict.
pub fn run(evidence: &Evidence<'_>, policy: &Policy) -> Verdict {
    let mut results = Vec::with_capacity(CHECKS.len());
    let mut counts = Counts::default();
    for info in CHECKS {
        let (outcome, requirements) = match policy.checks.get(info.id) {
            Some(check) if check.severity != Severity::Off => (
                run_check(info, evidence, check.severity, &check.config),
                check.requirements.clone(),
            ),
            Some(check) => (
                not_applicable(format!("turned off by policy `{}`", policy.id)),
                check.requirements.clone(),
            ),
            None => (
                not_applicable(format!("not part of policy `{}`", policy.id)),
                Vec::new(),
            ),
        };
        match outcome.status {
            Status::Pass => counts.pass += 1,
            Status::Fail => counts.fail += 1,
            Status::Warn => counts.warn += 1,
            Status::NotApplicable => counts.not_applicable += 1,
        }
        results.push(CheckResult {
            id: info.id.to_owned(),
            group: info.group.to_owned(),
            title: info.title.to_owned(),
            status: outcome.status,
            reason: outcome.reason,
            fix: outcome.fix,
            requirements,
            evidence: outcome.evidence,
        });
    }
    let currents = evidence.current_products();
    let product = currents.first().map(|(_, _, claims)| ProductRef {
        key: product_key(&claims.product).unwrap_or_default(),
        manufacturer: claims.product.manufacturer.name.clone(),
        name: claims.product.product.name.clone(),
        model: claims.product.product.model.clone(),
        firmware_version: claims.product.product.firmware_version.clone(),
    });
    let shipment = evidence.shipment;
    // What was known when: the database the known-vulnerability check matched against.
    let vulnerability_database = policy
        .checks
        .get("vulnerabilities.known")
        .filter(|check| check.severity != Severity::Off)
        .and(evidence.vulnerability_database.as_ref())
        .and_then(|db| db.info.clone().ok());
    Verdict {
        format: FORMAT.to_owned(),
        shipment: shipment.name.clone(),
        shipment_sha256: shipment.manifest_sha256.to_hex(),
        policy: policy.id.clone(),
        policy_sha256: policy.sha256.to_hex(),
        trust_sha256: evidence.trust.sha256.to_hex(),
        checked_at: evidence.date.to_string(),
        accepted: counts.fail == 0,
        product,
        support_end: product_support_end(evidence).map(|date| date.to_string()),
        counts,
        results,
        vulnerability_database,
        evidence: shipment
            .artifacts
            .iter()
            .map(|artifact| EvidenceItem {
                path: artifact.entry.path.clone(),
                role: artifact.entry.role.as_str().to_owned(),
                sha256: artifact
                    .actual_sha256
                    .unwrap_or(artifact.entry.sha256)
                    .to_hex(),
            })
            .collect(),
    }
}

/// What one check found, before the policy's severity is applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Pass, fail, warn or not-applicable.
    pub status: Status,
    /// The check could not run: something it needs is missing or was not built (no
    /// vulnerability database, the re-scan turned off). [`run`] turns this into a failure unless
    /// the policy says otherwise for the check (`when-unavailable`).
    pub unavailable: bool,
    /// Why.
    pub reason: String,
    /// What would fix it.
    pub fix: Option<String>,
    /// SHA-256 digests of the evidence looked at.
    pub evidence: Vec<String>,
}

pub(super) fn pass(reason: impl Into<String>) -> Outcome {
    Outcome {
        status: Status::Pass,
        reason: reason.into(),
        fix: None,
        unavailable: false,
        evidence: Vec::new(),
    }
}

pub(super) fn fail(reason: impl Into<String>, fix: impl Into<String>) -> Outcome {
    Outcome {
        status: Status::Fail,
        reason: reason.into(),
        fix: Some(fix.into()),
        unavailable: false,
        evidence: Vec::new(),
    }
}

/// The check cannot run: `reason` says what is missing, `fix` how to provide it.
pub(super) fn unavailable(reason: impl Into<String>, fix: impl Into<String>) -> Outcome {
    Outcome {
        status: Status::NotApplicable,
        reason: reason.into(),
        fix: Some(fix.into()),
        unavailable: true,
        evidence: Vec::new(),
    }
}

pub(super) fn not_applicable(reason: impl Into<String>) -> Outcome {
    Outcome {
        status: Status::NotApplicable,
        reason: reason.into(),
        fix: None,
        unavailable: false,
        evidence: Vec::new(),
    }
}

impl Outcome {
    fn with_evidence(mut self, digests: impl IntoIterator<Item = String>) -> Self {
        let mut all: BTreeSet<String> = self.evidence.drain(..).collect();
        all.extend(digests);
        self.evidence = all.into_iter().collect();
        self
    }
}

/// Joins problems into one reason: the first few, and how many more.
pub(super) fn join(problems: &[String]) -> String {
    const SHOWN: usize = 6;
    let mut text = problems
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if problems.len() > SHOWN {
        let _ = write!(text, "; and {} more", problems.len() - SHOWN);
    }
    text
}

pub(super) fn short(digest: &Sha256) -> String {
    digest.to_hex().chars().take(16).collect()
}

pub(super) fn place(envelope: &crate::evidence::EnvelopeEvidence) -> String {
    if envelope.line > 1 {
        format!("`{}` line {}", envelope.artifact, envelope.line)
    } else {
        format!("`{}`", envelope.artifact)
    }
}

pub(super) fn blank(value: Option<&String>) -> bool {
    value.is_none_or(|text| text.trim().is_empty())
}

pub(super) fn kebab<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => text,
        _ => "?".to_owned(),
    }
}

pub(super) fn product_evidence(evidence: &Evidence<'_>) -> Vec<String> {
    evidence
        .current_products()
        .iter()
        .filter_map(|(e, _, _)| e.digests.first().map(Sha256::to_hex))
        .collect()
}

pub(super) const NO_RELEASE: &str =
    "no trusted release attestation covers the firmware in this shipment";

pub(super) const NO_RELEASE_FIX: &str = "see `integrity.required` and `integrity.subjects`";

pub(super) fn to_date(date: consign_model::Date) -> Option<Date> {
    Date::new(
        i16::try_from(date.year).ok()?,
        i8::try_from(date.month).ok()?,
        i8::try_from(date.day).ok()?,
    )
    .ok()
}

/// The product's support end: the earliest declared by the trusted releases covering the firmware.
pub(super) fn product_support_end(evidence: &Evidence<'_>) -> Option<Date> {
    evidence
        .current_products()
        .iter()
        .filter_map(|(_, _, claims)| claims.product.support.end.and_then(to_date))
        .min()
}

pub(super) fn with_current_products(
    evidence: &Evidence<'_>,
    mut each: impl FnMut(&str, &ProductClaims) -> Option<String>,
) -> Result<Vec<String>, Outcome> {
    let currents = evidence.current_products();
    if currents.is_empty() {
        return Err(fail(NO_RELEASE, NO_RELEASE_FIX));
    }
    Ok(currents
        .iter()
        .filter_map(|(envelope, _, claims)| each(&place(envelope), claims))
        .collect())
}

/// Judges the product claims of every current release with `each` (a problem, or `None`); the
/// failure lists every problem with `fix`. `Ok` when there is none: the caller words the pass.
pub(super) fn judge_products(
    evidence: &Evidence<'_>,
    fix: &str,
    each: impl FnMut(&str, &ProductClaims) -> Option<String>,
) -> Result<(), Outcome> {
    let problems = with_current_products(evidence, each)?;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(fail(join(&problems), fix).with_evidence(product_evidence(evidence)))
    }
}

/// The roles in custody order, for reports.
pub const CHAIN_ORDER: [Role; 5] = [
    Role::Supplier,
    Role::Manufacturer,
    Role::Distributor,
    Role::Importer,
    Role::Retailer,
];
