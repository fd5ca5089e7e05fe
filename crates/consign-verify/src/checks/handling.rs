//! Vulnerability handling (group 5): a disclosure contact and policy, an allowed password scheme.

use super::prelude::*;

pub(super) fn disclosure(evidence: &Evidence<'_>) -> Outcome {
    let mut policy_missing = Vec::new();
    let problems = match with_current_products(evidence, |place, claims| {
        let vd = &claims.product.vulnerability_disclosure;
        if blank(vd.policy_url.as_ref()) {
            policy_missing.push(format!(
                "{place} declares no vulnerability disclosure policy URL"
            ));
        }
        blank(vd.contact.as_ref())
            .then(|| format!("{place} declares no vulnerability disclosure contact"))
    }) {
        Ok(problems) => problems,
        Err(outcome) => return outcome,
    };
    let fix = "ask the manufacturer to declare a security contact and a published disclosure policy (`vulnerability-disclosure` in the product file)";
    if !problems.is_empty() {
        let mut all = problems;
        all.extend(policy_missing);
        fail(join(&all), fix).with_evidence(product_evidence(evidence))
    } else if !policy_missing.is_empty() {
        Outcome {
            status: Status::Warn,
            reason: format!("a contact is declared, but {}", join(&policy_missing)),
            fix: Some(fix.to_owned()),
            unavailable: false,
            evidence: product_evidence(evidence),
        }
    } else {
        pass("a vulnerability disclosure contact and policy are declared")
            .with_evidence(product_evidence(evidence))
    }
}

pub(super) fn passwords(evidence: &Evidence<'_>, config: &CheckConfig) -> Outcome {
    let allowed = config.allowed.clone().unwrap_or_default();
    let mut seen = BTreeSet::new();
    let fix = "universal default passwords are not allowed: ask the manufacturer to declare unique per-device or user-set passwords (`security.password-scheme`)";
    if let Err(failure) = judge_products(evidence, fix, |place, claims| {
        match claims
            .product
            .security
            .as_ref()
            .and_then(|s| s.password_scheme)
        {
            None => Some(format!("{place} declares no password scheme")),
            Some(scheme) => {
                let name = kebab(&scheme);
                seen.insert(name.clone());
                (!allowed.contains(&name)).then(|| {
                    format!("{place} declares the password scheme `{name}`, which the policy does not allow")
                })
            }
        }
    }) {
        return failure;
    }
    let schemes = seen
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ");
    // The claim held against the firmware: a scheme that rules out universal passwords.
    let claimed_unique = seen.contains("unique-per-device") || seen.contains("user-defined");
    match firmware_password_evidence(evidence, &schemes) {
        Err(outcome) if claimed_unique => *outcome,
        Ok(Some(note)) => pass(format!("password scheme {schemes} is allowed; {note}"))
            .with_evidence(product_evidence(evidence)),
        _ => pass(format!("password scheme {schemes} is allowed"))
            .with_evidence(product_evidence(evidence)),
    }
}

/// Rules of the firmware audit that contradict a claim of no universal default password.
const PASSWORD_RULES: &[&str] = &[
    "account.default-password",
    "account.empty-password",
    "account.fixed-password",
    "credential.command-line",
    "credential.config",
];

/// Holds the firmware's secure-defaults audit (consign-audit, run by the re-scan) against the
/// password claim: `Err` with the failing outcome when a firmware shows a universal credential
/// (critical or high) or could not be audited; `Ok` with a note on what was audited.
fn firmware_password_evidence(
    evidence: &Evidence<'_>,
    schemes: &str,
) -> Result<Option<String>, Box<Outcome>> {
    if !evidence.rescanned {
        return Ok(Some(
            "the firmware was not audited (`--no-rescan`): this rests on the claim alone"
                .to_owned(),
        ));
    }
    let mut problems = Vec::new();
    let mut audited = 0;
    for firmware in &evidence.firmware {
        match &firmware.audit {
            None => problems.push(format!(
                "firmware {} was not audited for default passwords",
                firmware.artifact
            )),
            Some(Err(reason)) => problems.push(format!(
                "firmware {} could not be audited: {reason}",
                firmware.artifact
            )),
            Some(Ok(findings)) => {
                audited += 1;
                for finding in findings.iter().filter(|f| {
                    PASSWORD_RULES.contains(&f.rule.as_str())
                        && matches!(f.severity.as_str(), "critical" | "high")
                }) {
                    problems.push(format!(
                        "the manufacturer claims the password scheme {schemes}, but firmware {} has {} at {}: {}",
                        firmware.artifact, finding.rule, finding.place, finding.message
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        return Ok(Some(format!(
            "the audit of {audited} firmware image(s) found no universal password"
        )));
    }
    Err(Box::new(
        fail(
            join(&problems),
            "the firmware contradicts the signed password claim: remove the shared credential from the image (or make it per device) and sign the release again; `consign audit FIRMWARE` shows every finding",
        )
        .with_evidence(product_evidence(evidence)),
    ))
}
