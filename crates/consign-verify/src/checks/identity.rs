//! Identity (group 3): product and manufacturer identity and contact, consistent across documents.

use super::prelude::*;

pub(super) fn identity(evidence: &Evidence<'_>) -> Outcome {
    let currents = evidence.current_products();
    if currents.is_empty() {
        return fail(NO_RELEASE, NO_RELEASE_FIX);
    }
    let mut problems = Vec::new();
    let mut manufacturers = BTreeSet::new();
    let mut models = BTreeSet::new();
    for (envelope, _, claims) in &currents {
        let p = &claims.product;
        let mut missing = Vec::new();
        if blank(p.manufacturer.name.as_ref()) {
            missing.push("manufacturer name");
        }
        if blank(p.manufacturer.email.as_ref())
            && blank(p.manufacturer.url.as_ref())
            && blank(p.manufacturer.address.as_ref())
        {
            missing.push("manufacturer contact (e-mail, web site or postal address)");
        }
        if blank(p.product.name.as_ref()) {
            missing.push("product name");
        }
        if blank(p.product.model.as_ref()) {
            missing.push("model");
        }
        if blank(p.product.firmware_version.as_ref()) {
            missing.push("firmware version");
        }
        if !missing.is_empty() {
            problems.push(format!(
                "{}: missing {}",
                place(envelope),
                missing.join(", ")
            ));
        }
        if let Some(name) = &p.manufacturer.name {
            manufacturers.insert(name.trim().to_lowercase());
            if let Some(signer) = envelope.signer_name(evidence.trust, evidence.date)
                && !signer.trim().eq_ignore_ascii_case(name.trim())
            {
                problems.push(format!(
                    "{}: names the manufacturer `{}` but is signed by trust-store party `{signer}`",
                    place(envelope),
                    crate::error::cut(name, 80)
                ));
            }
        }
        if let Some(model) = &p.product.model {
            models.insert(model.trim().to_lowercase());
        }
        for sbom in &evidence.sboms {
            let Ok(facts) = &sbom.facts else { continue };
            if let (Some(in_sbom), Some(claimed)) = (&facts.manufacturer, &p.manufacturer.name)
                && !in_sbom.trim().eq_ignore_ascii_case(claimed.trim())
            {
                problems.push(format!(
                    "`{}` names the manufacturer `{}`, the release attestation `{}`",
                    sbom.artifact,
                    crate::error::cut(in_sbom, 80),
                    crate::error::cut(claimed, 80)
                ));
            }
            if let (Some(in_sbom), Some(claimed)) =
                (&facts.product_version, &p.product.firmware_version)
                && in_sbom.trim() != claimed.trim()
            {
                problems.push(format!(
                    "`{}` describes version `{}`, the release attestation firmware version `{}`",
                    sbom.artifact,
                    crate::error::cut(in_sbom, 80),
                    crate::error::cut(claimed, 80)
                ));
            }
        }
    }
    if manufacturers.len() > 1 || models.len() > 1 {
        problems.push("the release attestations disagree on the manufacturer or model".to_owned());
    }
    if problems.is_empty() {
        let p = &currents[0].2.product;
        pass(format!(
            "`{}` `{}` model `{}` firmware `{}`, contact present, consistent across documents",
            p.manufacturer.name.as_deref().unwrap_or_default(),
            p.product.name.as_deref().unwrap_or_default(),
            p.product.model.as_deref().unwrap_or_default(),
            p.product.firmware_version.as_deref().unwrap_or_default()
        ))
        .with_evidence(product_evidence(evidence))
    } else {
        fail(
            join(&problems),
            "ask the manufacturer for a release attestation with complete identity and contact (the product file), consistent with the SBOM",
        )
        .with_evidence(product_evidence(evidence))
    }
}
