//! Conformity (group 6): the declaration of conformity, the CE marking, a notified body where the
//! class needs one, the UK statement of compliance or an accepted label.

use super::prelude::*;

pub(super) fn declaration(evidence: &Evidence<'_>) -> Outcome {
    let documents: Vec<(String, Sha256)> = evidence
        .shipment
        .of_role(ArtifactRole::Document)
        .filter_map(|a| a.actual_sha256.map(|d| (a.entry.path.clone(), d)))
        .collect();
    let mut found = Vec::new();
    let fix = "add the EU declaration of conformity the manufacturer attested (`consign shipment assemble --document`), or ask for it";
    if let Err(failure) = judge_products(evidence, fix, |place, claims| {
        match claims
            .product
            .conformity
            .as_ref()
            .and_then(|c| c.declaration_sha256)
        {
            None => Some(format!("{place} names no declaration of conformity digest")),
            Some(digest) => match documents.iter().find(|(_, d)| *d == digest) {
                Some((path, _)) => {
                    found.push(digest.to_hex());
                    let _ = path;
                    None
                }
                None => Some(format!(
                    "{place} names declaration of conformity sha256 {}…, which is not among the shipment's documents",
                    short(&digest)
                )),
            },
        }
    }) {
        return failure;
    }
    pass("the declaration of conformity is in the shipment and matches its attested digest")
        .with_evidence(found)
}

pub(super) fn ce_marking(evidence: &Evidence<'_>) -> Outcome {
    let fix = "the product may not be placed on the EU market without the CE marking: ask the manufacturer to complete conformity assessment";
    if let Err(failure) = judge_products(evidence, fix, |place, claims| {
        match claims
            .product
            .conformity
            .as_ref()
            .and_then(|c| c.ce_marking)
        {
            Some(true) => None,
            Some(false) => Some(format!(
                "{place} states the product does not carry the CE marking"
            )),
            None => Some(format!("{place} makes no CE marking claim")),
        }
    }) {
        return failure;
    }
    pass("the manufacturer claims the CE marking").with_evidence(product_evidence(evidence))
}

pub(super) fn notified_body(evidence: &Evidence<'_>, config: &CheckConfig) -> Outcome {
    let classes = config.classes.clone().unwrap_or_default();
    let mut notes = Vec::new();
    let fix = "ask the manufacturer to declare the product class and, for important class II or critical products, the notified body involved";
    if let Err(failure) = judge_products(evidence, fix, |place, claims| {
        let Some(class) = claims.product.product.cra_class else {
            return Some(format!(
                "{place} declares no CRA product class, so the conformity route cannot be checked"
            ));
        };
        let class = kebab(&class);
        if !classes.contains(&class) {
            notes.push(format!("class `{class}` needs no notified body"));
            return None;
        }
        let body = claims
            .product
            .conformity
            .as_ref()
            .and_then(|c| c.notified_body.as_ref());
        if blank(body) {
            Some(format!(
                "{place}: class `{class}` needs a notified body, none is named"
            ))
        } else {
            notes.push(format!(
                "class `{class}`, notified body `{}`",
                body.map(String::as_str).unwrap_or_default()
            ));
            None
        }
    }) {
        return failure;
    }
    pass(join(&notes)).with_evidence(product_evidence(evidence))
}

pub(super) fn uk_statement(evidence: &Evidence<'_>, config: &CheckConfig) -> Outcome {
    let accepted = config.accepted_labels.clone().unwrap_or_default();
    let mut how = Vec::new();
    let fix = "the product may not be made available in the UK without a statement of compliance: ask the manufacturer for it (`uk-statement-of-compliance` in the product file)";
    if let Err(failure) = judge_products(evidence, fix, |place, claims| {
        if let Some(soc) = &claims.product.uk_statement_of_compliance {
            let mut missing = Vec::new();
            if blank(soc.signatory.as_ref()) {
                missing.push("signatory");
            }
            if soc.date_of_issue.is_none() {
                missing.push("date of issue");
            }
            if blank(soc.place_of_issue.as_ref()) {
                missing.push("place of issue");
            }
            if missing.is_empty() {
                how.push("statement of compliance declared".to_owned());
                return None;
            }
            return Some(format!(
                "{place}: the statement of compliance lacks {}",
                missing.join(", ")
            ));
        }
        let labels = claims.product.labels.as_ref();
        if accepted.iter().any(|l| l == "cls") && labels.and_then(|l| l.cls_level).is_some() {
            how.push("accepted label: Singapore CLS".to_owned());
            return None;
        }
        if accepted.iter().any(|l| l == "cyber-trust-mark")
            && labels
                .and_then(|l| l.cyber_trust_mark_id.as_ref())
                .is_some()
        {
            how.push("accepted label: US Cyber Trust Mark".to_owned());
            return None;
        }
        Some(format!(
            "{place} declares no UK statement of compliance and no accepted label"
        ))
    }) {
        return failure;
    }
    pass(join(&how)).with_evidence(product_evidence(evidence))
}
