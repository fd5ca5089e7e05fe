//! Suppliers (group 9): component attestations match SBOM components by digest; supplier support
//! lasts as long as the product's.

use super::prelude::*;

pub(super) fn supplier_attestations(evidence: &Evidence<'_>) -> Outcome {
    let components: Vec<_> = evidence
        .trusted()
        .filter(|(_, statement)| statement.kind == Some(PredicateKind::Component))
        .collect();
    if components.is_empty() {
        return not_applicable(
            "no trusted supplier attestation in the shipment (`integrity.required` says whether one is needed)",
        );
    }
    // The manufacturer's SBOM must list the component: a supplier's own SBOM does not count.
    if evidence.release_sboms().is_empty() {
        return fail(
            "no SBOM in the shipment is the release's (bound by the manufacturer to the firmware shipped), so supplier attestations cannot be matched to its components",
            "see `integrity.subjects` and `sbom.rescan`",
        );
    }
    let declared: Vec<&crate::evidence::DeclaredComponent> = evidence
        .release_sboms()
        .into_iter()
        .filter_map(|s| s.facts.as_ref().ok())
        .flat_map(|facts| facts.components.iter())
        .collect();
    let materials: BTreeSet<Sha256> = evidence
        .current_products()
        .iter()
        .flat_map(|(_, _, claims)| claims.materials.iter().copied())
        .collect();
    let mut problems = Vec::new();
    for (envelope, statement) in &components {
        for subject in &statement.subjects {
            let matched: Vec<_> = declared
                .iter()
                .filter(|d| {
                    subject.agrees_with(&KnownDigests::declared(
                        d.sha256.first().copied(),
                        d.sha512.first().copied(),
                    ))
                })
                .collect();
            if matched.is_empty() {
                problems.push(format!(
                    "{}: component `{}` matches no SBOM component by digest",
                    place(envelope),
                    crate::error::cut(&subject.name, 80)
                ));
                continue;
            }
            if let Claims::Component(claims) = &statement.claims
                && let Some(version) = &claims.version
                && !matched
                    .iter()
                    .any(|d| d.version.as_deref() == Some(version.as_str()))
            {
                problems.push(format!(
                    "{}: the supplier attests version `{}`, the SBOM component with that digest says `{}`",
                    place(envelope),
                    crate::error::cut(version, 40),
                    matched[0].version.as_deref().unwrap_or("no version")
                ));
            }
        }
        if !materials.is_empty() {
            let listed = envelope.digests.iter().any(|d| materials.contains(d))
                || statement.subjects.iter().any(|s| {
                    s.known_digests()
                        .sha256
                        .is_some_and(|d| materials.contains(&d))
                });
            if !listed {
                problems.push(format!(
                    "{}: the manufacturer's release does not list this supplier attestation or its component among its materials",
                    place(envelope)
                ));
            }
        }
    }
    if problems.is_empty() {
        pass(format!(
            "{} supplier attestation(s), each matching an SBOM component by digest",
            components.len()
        ))
        .with_evidence(
            components
                .iter()
                .filter_map(|(e, _)| e.digests.first().map(Sha256::to_hex)),
        )
    } else {
        fail(
            join(&problems),
            "ask the manufacturer for an SBOM listing the attested components with their digests, or the supplier for an attestation of the component actually used",
        )
    }
}

pub(super) fn supplier_support_end(evidence: &Evidence<'_>) -> Outcome {
    let components: Vec<_> = evidence
        .trusted()
        .filter_map(|(envelope, statement)| match &statement.claims {
            Claims::Component(claims) => Some((envelope, claims)),
            _ => None,
        })
        .collect();
    if components.is_empty() {
        return not_applicable("no trusted supplier attestation in the shipment");
    }
    let Some(product_end) = product_support_end(evidence) else {
        return fail(
            "the product's support end is unknown, so suppliers' support cannot be compared",
            "see `support.declared`",
        );
    };
    let mut problems = Vec::new();
    for (envelope, claims) in &components {
        let name = claims.name.as_deref().unwrap_or("component");
        match claims.support_end {
            None => problems.push(format!("{}: the supplier of `{name}` declares no support end", place(envelope))),
            Some(end) if end < product_end => problems.push(format!(
                "{}: the supplier supports `{name}` until {end}, before the product's support end {product_end}",
                place(envelope)
            )),
            Some(_) => {}
        }
    }
    if problems.is_empty() {
        pass(format!(
            "every supplier supports its component until at least {product_end}"
        ))
    } else {
        fail(
            join(&problems),
            "the manufacturer must cover the gap (own patches or another supplier); ask for its plan or a supplier support extension",
        )
    }
}
