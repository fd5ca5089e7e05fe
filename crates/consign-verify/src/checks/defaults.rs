//! Secure defaults, from the firmware itself (group 8): the firmware's audit (consign-audit, run
//! by the re-scan) held against the manufacturer's signed claims on private keys
//! (`device-keys`) and exposed services (`exposed-services`). A finding the manufacturer declared
//! and justified (`declared-findings`, same rule and same file) is shown, not failed.

use consign_model::{DeclaredFinding, DeviceKeys};

use super::prelude::*;
use crate::evidence::{AuditFinding, ProductClaims};

/// Audit rules that put a private key in the image, against a claim that it holds none.
const SECRET_RULES: &[&str] = &["secret.private-key", "secret.host-key"];

/// The service name each audit service rule stands for, as `exposed-services` lists them.
const SERVICE_RULES: &[(&str, &str)] = &[
    ("service.telnet", "telnet"),
    ("service.ftp", "ftp"),
    ("service.tftp", "tftp"),
    ("service.adb", "adb"),
    ("service.debug-shell", "debug-shell"),
    ("service.serial-console", "serial-console"),
    ("service.ssh", "ssh"),
];

pub(super) fn secrets(evidence: &Evidence<'_>) -> Outcome {
    let mut claims = BTreeSet::new();
    if let Err(outcome) = require_claims(
        evidence,
        "keys",
        "ask the manufacturer to declare `device-keys = \"per-device\"` (or `\"none\"`) under `[security]` in the product file and sign the release again",
        |place, product| {
            let security = product.product.security.as_ref();
            match security.and_then(|s| s.device_keys) {
                None => Some(format!("{place} declares no `security.device-keys`")),
                Some(keys) => {
                    claims.insert(kebab(&keys));
                    None
                }
            }
        },
    ) {
        return outcome;
    }
    // Every value says the image holds no private key; a new one must be judged here.
    let _: fn(DeviceKeys) = |keys| match keys {
        DeviceKeys::PerDevice | DeviceKeys::None => {}
    };
    let claim = claims
        .iter()
        .map(|c| format!("`device-keys = \"{c}\"`"))
        .collect::<Vec<_>>()
        .join(", ");
    judge(
        evidence,
        |finding| {
            SECRET_RULES
                .contains(&finding.rule.as_str())
                .then(|| claim.clone())
        },
        "the firmware ships a private key that every unit shares: generate it on the device at first boot (or provision it per unit), or declare and justify it in `security.declared-findings`, and sign the release again",
        "private keys",
    )
}

pub(super) fn services(evidence: &Evidence<'_>) -> Outcome {
    let mut listed: Option<BTreeSet<String>> = None;
    if let Err(outcome) = require_claims(
        evidence,
        "services",
        "ask the manufacturer to list the services the product starts by default (`exposed-services = [\"ssh\"]`, `[]` for none) under `[security]` in the product file and sign the release again",
        |place, product| {
            let security = product.product.security.as_ref();
            match security.and_then(|s| s.exposed_services.as_ref()) {
                None => Some(format!("{place} declares no `security.exposed-services`")),
                Some(services) => {
                    // Several current releases: a service is allowed only when every one lists it.
                    let these: BTreeSet<String> = services
                        .iter()
                        .map(|s| s.trim().to_ascii_lowercase())
                        .collect();
                    listed = Some(match listed.take() {
                        None => these,
                        Some(before) => before.intersection(&these).cloned().collect(),
                    });
                    None
                }
            }
        },
    ) {
        return outcome;
    }
    let listed = listed.unwrap_or_default();
    let claim = if listed.is_empty() {
        "`exposed-services = []` (none)".to_owned()
    } else {
        format!(
            "`exposed-services = [{}]`",
            listed
                .iter()
                .map(|s| format!("\"{s}\""))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    judge(
        evidence,
        |finding| {
            let (_, name) = SERVICE_RULES
                .iter()
                .find(|(rule, _)| *rule == finding.rule)?;
            (!listed.contains(*name)).then(|| claim.clone())
        },
        "the firmware starts a service the signed claims do not list: stop it in the shipped configuration, or list it in `security.exposed-services` (or declare and justify it in `security.declared-findings`), and sign the release again",
        "services",
    )
}

/// Reads a claim from every current release with `each` (what is missing, or `None`): no
/// current release fails; a release without the claim leaves nothing to hold the firmware's
/// `what` against, so the check cannot run (fails unless the policy relaxes it), with `fix`.
fn require_claims(
    evidence: &Evidence<'_>,
    what: &str,
    fix: &str,
    each: impl FnMut(&str, &ProductClaims) -> Option<String>,
) -> Result<(), Outcome> {
    let missing = with_current_products(evidence, each)?;
    if missing.is_empty() {
        return Ok(());
    }
    Err(unavailable(
        format!(
            "{}: there is no claim to hold the firmware's {what} against",
            join(&missing)
        ),
        fix,
    ))
}

/// Holds every audited firmware against the claims: `contradicts` gives the claim a finding
/// contradicts (or `None`). A contradiction the manufacturer declared (same rule, same file, a
/// justification) is shown in the reason and passes; any other fails; a firmware that was not
/// audited fails (fail closed).
fn judge(
    evidence: &Evidence<'_>,
    contradicts: impl Fn(&AuditFinding) -> Option<String>,
    fix: &str,
    what: &str,
) -> Outcome {
    if !evidence.rescanned {
        return unavailable(
            "the re-scan was turned off (`--no-rescan`): the firmware was not audited",
            "run `consign verify` without `--no-rescan`, or set `when-unavailable` for this check in the policy",
        );
    }
    // What every current release declares and justifies (the claims were read by the caller,
    // which failed closed when there is no current release).
    let declared: Vec<DeclaredFinding> = evidence
        .current_products()
        .iter()
        .filter_map(|(_, _, claims)| claims.product.security.as_ref())
        .flat_map(|security| security.declared_findings.iter().cloned())
        .collect();
    let mut problems = Vec::new();
    let mut shown = Vec::new();
    let mut audited = 0;
    for firmware in &evidence.firmware {
        let findings = match &firmware.audit {
            None => {
                problems.push(format!(
                    "firmware {} was not audited for secure defaults",
                    firmware.artifact
                ));
                continue;
            }
            Some(Err(reason)) => {
                problems.push(format!(
                    "firmware {} could not be audited: {reason}",
                    firmware.artifact
                ));
                continue;
            }
            Some(Ok(findings)) => findings,
        };
        audited += 1;
        for finding in findings {
            let Some(claim) = contradicts(finding) else {
                continue;
            };
            if let Some(declaration) = declared.iter().find(|d| {
                d.rule.trim() == finding.rule
                    && d.path.trim() == finding.file
                    && !d.justification.trim().is_empty()
            }) {
                shown.push(format!(
                    "{} at {} in firmware {} is declared by the manufacturer: {}",
                    finding.rule,
                    finding.place,
                    firmware.artifact,
                    declaration.justification.trim()
                ));
            } else {
                problems.push(format!(
                    "the manufacturer claims {claim}, but firmware {} has {} at {}: {}",
                    firmware.artifact, finding.rule, finding.place, finding.message
                ));
            }
        }
    }
    if !problems.is_empty() {
        let mut all = problems;
        all.extend(shown);
        return fail(join(&all), fix).with_evidence(product_evidence(evidence));
    }
    let mut reason = format!(
        "the audit of {audited} firmware image(s) found no {what} the signed claims do not allow"
    );
    if !shown.is_empty() {
        reason.push_str("; shown, not failed: ");
        reason.push_str(&join(&shown));
    }
    pass(reason).with_evidence(product_evidence(evidence))
}
