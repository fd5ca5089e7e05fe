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
    pass(format!(
        "password scheme {} is allowed",
        seen.iter()
            .map(|s| format!("`{s}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .with_evidence(product_evidence(evidence))
}
