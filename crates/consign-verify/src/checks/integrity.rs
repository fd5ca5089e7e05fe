//! Integrity and chain (DESIGN section 6, group 1): the manifest, signatures, roles, predicate types,
//! required attestations, subjects, custody and thresholds.

use super::prelude::*;

pub(super) fn shipment_manifest(evidence: &Evidence<'_>) -> Outcome {
    let shipment = evidence.shipment;
    let mut problems = Vec::new();
    for artifact in &shipment.artifacts {
        let path = &artifact.entry.path;
        if let Some(problem) = &artifact.problem {
            problems.push(format!("`{path}` {problem}"));
        } else if let (Some(actual), Some(size)) = (&artifact.actual_sha256, artifact.actual_size) {
            if *actual != artifact.entry.sha256 {
                problems.push(format!(
                    "`{path}` has sha256 {}…, the manifest says {}…: it was altered",
                    short(actual),
                    short(&artifact.entry.sha256)
                ));
            } else if size != artifact.entry.size {
                problems.push(format!(
                    "`{path}` is {size} bytes, the manifest says {}",
                    artifact.entry.size
                ));
            }
        }
    }
    for path in &shipment.unlisted {
        problems.push(format!(
            "`{path}` is in the shipment but not in its manifest"
        ));
    }
    let digests = shipment
        .artifacts
        .iter()
        .filter_map(|a| a.actual_sha256.map(|d| d.to_hex()));
    if problems.is_empty() {
        pass(format!(
            "all {} artifacts are present and match the manifest",
            shipment.artifacts.len()
        ))
        .with_evidence(digests)
    } else {
        fail(
            join(&problems),
            "reject the goods or ask the sender for the original artifacts: the shipment no longer matches its manifest",
        )
        .with_evidence(digests)
    }
}

pub(super) fn signatures(evidence: &Evidence<'_>) -> Outcome {
    let mut problems: Vec<String> = evidence
        .unreadable_attestations
        .iter()
        .map(|(path, reason)| format!("`{path}` {reason}"))
        .collect();
    if evidence.envelopes.is_empty() && problems.is_empty() {
        return fail(
            "the shipment holds no attestation",
            "ask the manufacturer and suppliers for their signed attestations and assemble them into the shipment",
        );
    }
    for envelope in &evidence.envelopes {
        if let Some(problem) = &envelope.signature_problem {
            problems.push(format!("{}: {problem}", place(envelope)));
            continue;
        }
        if envelope.signers.is_empty() {
            problems.push(format!(
                "{}: signed by no key in the trust store",
                place(envelope)
            ));
            continue;
        }
        if envelope
            .signers_valid_at(evidence.trust, evidence.date)
            .is_empty()
        {
            let why: Vec<String> = envelope
                .signers
                .iter()
                .filter_map(|key_ref| {
                    let key = evidence.trust.key(*key_ref)?;
                    let party = evidence.trust.party(*key_ref)?;
                    Some(match key.validity_at(evidence.date) {
                        KeyValidity::Expired => format!(
                            "the key of `{}` ({}…) expired on {}",
                            party.name,
                            short(&key.fingerprint),
                            key.valid_until
                        ),
                        KeyValidity::NotYetValid => format!(
                            "the key of `{}` ({}…) is valid only from {}",
                            party.name,
                            short(&key.fingerprint),
                            key.valid_from
                        ),
                        KeyValidity::Valid => String::new(),
                    })
                })
                .collect();
            problems.push(format!(
                "{}: no signing key is valid on {}: {}",
                place(envelope),
                evidence.date,
                why.join(", ")
            ));
        }
        if let Some(problem) = &envelope.statement_problem {
            problems.push(format!("{}: {problem}", place(envelope)));
        }
    }
    let digests = evidence
        .envelopes
        .iter()
        .filter_map(|e| e.digests.first().map(Sha256::to_hex));
    if problems.is_empty() {
        pass(format!(
            "{} envelope(s), each signed by a trusted key valid on {}",
            evidence.envelopes.len(),
            evidence.date
        ))
        .with_evidence(digests)
    } else {
        fail(
            join(&problems),
            "ask the signer to re-sign with a key listed in the trust store and valid at the check date, or update the trust store if the key is genuinely trusted",
        )
        .with_evidence(digests)
    }
}

pub(super) fn roles(evidence: &Evidence<'_>) -> Outcome {
    let mut problems = Vec::new();
    let mut checked = 0usize;
    for envelope in &evidence.envelopes {
        let Some(kind) = envelope.statement.as_ref().and_then(|s| s.kind) else {
            continue;
        };
        let valid = envelope.signers_valid_at(evidence.trust, evidence.date);
        if valid.is_empty() {
            continue;
        }
        checked += 1;
        if envelope
            .authorised_signers(evidence.trust, evidence.date)
            .is_empty()
        {
            let who: Vec<String> = valid
                .iter()
                .filter_map(|key_ref| evidence.trust.party(*key_ref))
                .map(|party| {
                    format!(
                        "`{}` (roles: {})",
                        party.name,
                        party
                            .roles
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
                .collect();
            problems.push(format!(
                "{}: the {} attestation is signed by {}, but it needs the {} role",
                place(envelope),
                kind.as_str(),
                who.join(", "),
                kind.signer_roles()
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" or ")
            ));
        }
    }
    if checked == 0 {
        return fail(
            "no attestation has a valid trusted signature, so no signer's role could be checked",
            "see `integrity.signatures`",
        );
    }
    if problems.is_empty() {
        pass(format!(
            "all {checked} validly signed attestation(s) are signed by a party holding the role they need"
        ))
    } else {
        fail(
            join(&problems),
            "each party signs only what its role covers: ask the party holding the role to sign, or correct the roles in the trust store",
        )
    }
}

pub(super) fn predicates(evidence: &Evidence<'_>) -> Outcome {
    let mut problems = Vec::new();
    let mut known = 0usize;
    for envelope in &evidence.envelopes {
        let Some(statement) = &envelope.statement else {
            continue;
        };
        match statement.kind {
            None => {
                let hint = [
                    crate::evidence::predicate_types::COMPONENT,
                    crate::evidence::predicate_types::PRODUCT,
                    crate::evidence::predicate_types::CUSTODY,
                    crate::evidence::predicate_types::MARKET_CHECK,
                ]
                .iter()
                .find(|known| {
                    known
                        .rsplit_once('/')
                        .is_some_and(|(base, _)| statement.predicate_type.starts_with(base))
                })
                .map(|known| format!(" (this verifier reads `{known}`)"))
                .unwrap_or_default();
                problems.push(format!(
                    "{}: predicate type `{}` is not one this verifier knows{hint}",
                    place(envelope),
                    crate::error::cut(&statement.predicate_type, 120)
                ));
            }
            Some(kind) => {
                known += 1;
                if let Some(problem) = &statement.claims_problem {
                    problems.push(format!(
                        "{}: the {} predicate cannot be read: {problem}",
                        place(envelope),
                        kind.as_str()
                    ));
                }
            }
        }
    }
    if problems.is_empty() && known == 0 {
        return fail(
            "no attestation holds a readable in-toto statement",
            "see `integrity.signatures`",
        );
    }
    if problems.is_empty() {
        pass(format!(
            "all {known} statement(s) use predicate types and versions this verifier knows"
        ))
    } else {
        fail(
            join(&problems),
            "ask the signer for a predicate version this consign reads, or upgrade consign if a newer version is expected",
        )
    }
}

pub(super) fn sbom_bound(evidence: &Evidence<'_>, sbom: &crate::evidence::SbomEvidence) -> bool {
    evidence
        .current_products()
        .iter()
        .any(|(_, _, claims)| claims.sbom_sha256 == Some(sbom.sha256))
        || evidence.trusted().any(|(_, statement)| {
            statement.kind == Some(PredicateKind::Sbom)
                && (statement
                    .subjects
                    .iter()
                    .any(|subject| subject.matches(&Digests { sha256: sbom.sha256, sha512: sbom.sha512 }))
                    || matches!(&statement.claims, Claims::Sbom(value) if Some(value) == sbom.json.as_ref()))
        })
}

pub(super) fn required(evidence: &Evidence<'_>, config: &CheckConfig) -> Outcome {
    let require = config.require.clone().unwrap_or_default();
    if require.is_empty() {
        return not_applicable("the policy requires no particular attestation");
    }
    let mut missing = Vec::new();
    for kind in &require {
        let present = match kind.as_str() {
            "sbom" => evidence.sboms.iter().any(|sbom| sbom_bound(evidence, sbom)),
            "product" => !evidence.current_products().is_empty(),
            other => evidence
                .trusted()
                .any(|(_, statement)| statement.kind.is_some_and(|k| k.as_str() == other)),
        };
        if !present {
            missing.push(match kind.as_str() {
                "product" => "no trusted release attestation (`product`, signed by the manufacturer) covers the firmware in the shipment".to_owned(),
                "sbom" => "no SBOM in the shipment is bound to a trusted attestation (the release's SBOM digest or a signed CycloneDX statement)".to_owned(),
                "component" => "no trusted `component` attestation (signed by a supplier) is in the shipment".to_owned(),
                "custody" => "no trusted `custody` attestation (signed by a distributor) is in the shipment".to_owned(),
                other => format!("no trusted `{other}` attestation is in the shipment"),
            });
        }
    }
    if missing.is_empty() {
        pass(format!("present and trusted: {}", require.join(", ")))
    } else {
        fail(
            join(&missing),
            "ask the party concerned for its signed attestation and add it to the shipment (`consign shipment assemble`)",
        )
    }
}

pub(super) fn subjects(evidence: &Evidence<'_>) -> Outcome {
    let mut problems = Vec::new();
    if evidence.firmware.is_empty() {
        problems.push(
            "the shipment holds no firmware artifact to match attestations against".to_owned(),
        );
    }
    let products = evidence.products();
    for firmware in &evidence.firmware {
        let covered = products.iter().any(|(_, statement, _)| {
            statement
                .subjects
                .iter()
                .any(|s| s.matches(&firmware.digests()))
        });
        if !covered {
            problems.push(format!(
                "`{}` (sha256 {}…) is not the subject of any trusted release attestation: it is not the firmware the manufacturer signed",
                firmware.artifact,
                short(&firmware.sha256)
            ));
        }
    }
    for (envelope, statement) in evidence.trusted() {
        if !matches!(
            statement.kind,
            Some(PredicateKind::Product | PredicateKind::Custody)
        ) {
            continue;
        }
        for subject in &statement.subjects {
            let matched = evidence
                .firmware
                .iter()
                .any(|fw| subject.matches(&fw.digests()));
            if !matched {
                problems.push(format!(
                    "{}: subject `{}` matches no firmware in the shipment by digest",
                    place(envelope),
                    crate::error::cut(&subject.name, 80)
                ));
            }
        }
        if let Claims::Product(claims) = &statement.claims
            && let Some(sbom) = claims.sbom_sha256
            && !evidence.sboms.iter().any(|s| s.sha256 == sbom)
        {
            problems.push(format!(
                "{}: the release names SBOM sha256 {}…, which is not in the shipment",
                place(envelope),
                short(&sbom)
            ));
        }
    }
    for sbom in &evidence.sboms {
        if !sbom_bound(evidence, sbom) {
            problems.push(format!(
                "`{}` (sha256 {}…) is not bound to any trusted attestation",
                sbom.artifact,
                short(&sbom.sha256)
            ));
        }
    }
    let digests = evidence
        .firmware
        .iter()
        .map(|fw| fw.sha256.to_hex())
        .chain(evidence.sboms.iter().map(|s| s.sha256.to_hex()));
    if problems.is_empty() {
        pass("every firmware and SBOM artifact matches the subjects of trusted attestations by digest")
            .with_evidence(digests)
    } else {
        fail(
            join(&problems),
            "reject the goods unless the manufacturer attests the firmware actually shipped: a digest mismatch means the artifact is not the one signed",
        )
        .with_evidence(digests)
    }
}

pub(super) fn custody(evidence: &Evidence<'_>) -> Outcome {
    let trusted: Vec<_> = evidence.trusted().collect();
    let is_trusted = |target: &crate::evidence::EnvelopeEvidence| {
        trusted
            .iter()
            .any(|(envelope, _)| std::ptr::eq(*envelope, target))
    };
    let custodies: Vec<_> = trusted
        .iter()
        .filter(|(_, statement)| statement.kind == Some(PredicateKind::Custody))
        .collect();
    if custodies.is_empty() {
        return not_applicable(
            "no trusted custody attestation in the shipment (`integrity.required` says whether one is needed)",
        );
    }
    let mut problems = Vec::new();
    for (envelope, statement) in &custodies {
        let Claims::Custody(claims) = &statement.claims else {
            continue;
        };
        let signer = envelope
            .signer_name(evidence.trust, evidence.date)
            .unwrap_or("?");
        if claims.upstream.is_empty() {
            problems.push(format!(
                "{} (custody by `{signer}`) names no upstream attestation it relied on",
                place(envelope)
            ));
            continue;
        }
        let mut upstream_products = Vec::new();
        for digest in &claims.upstream {
            let found = evidence.envelopes_by_digest(digest);
            if found.is_empty() {
                problems.push(format!(
                    "{} (custody by `{signer}`) relies on upstream attestation {}…, which is not in the shipment: custody gap",
                    place(envelope),
                    short(digest)
                ));
                continue;
            }
            let trusted_found: Vec<_> = found.iter().copied().filter(|e| is_trusted(e)).collect();
            if trusted_found.is_empty() {
                problems.push(format!(
                    "{} (custody by `{signer}`) relies on {}, which is not trusted (see `integrity.signatures`)",
                    place(envelope),
                    place(found[0])
                ));
                continue;
            }
            for upstream in trusted_found {
                if let Some(up_statement) = &upstream.statement
                    && matches!(
                        up_statement.kind,
                        Some(PredicateKind::Product | PredicateKind::Custody)
                    )
                    && !std::ptr::eq(upstream, *envelope)
                {
                    upstream_products.push((upstream, up_statement));
                }
            }
        }
        if upstream_products.is_empty() {
            if claims
                .upstream
                .iter()
                .all(|d| !evidence.envelopes_by_digest(d).is_empty())
            {
                problems.push(format!(
                    "{} (custody by `{signer}`) relies on no release or custody attestation: its materials are nobody's products",
                    place(envelope)
                ));
            }
            continue;
        }
        for subject in &statement.subjects {
            let received = upstream_products.iter().any(|(_, up)| {
                up.subjects
                    .iter()
                    .any(|s| s.agrees_with(&subject.known_digests()))
            });
            if !received {
                problems.push(format!(
                    "{} (custody by `{signer}`): `{}` is not among the products of its upstream attestations",
                    place(envelope),
                    crate::error::cut(&subject.name, 80)
                ));
            }
        }
        if let Some(from) = &claims.received_from {
            let names: BTreeSet<&str> = upstream_products
                .iter()
                .filter_map(|(up, _)| up.signer_name(evidence.trust, evidence.date))
                .collect();
            if !names.contains(from.as_str()) {
                problems.push(format!(
                    "{} (custody by `{signer}`) says the goods came from `{}`, but its upstream attestations are signed by {}",
                    place(envelope),
                    crate::error::cut(from, 80),
                    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    if problems.is_empty() {
        pass(format!(
            "{} custody record(s), each relying on trusted upstream attestations whose products it received, back to the manufacturer's release",
            custodies.len()
        ))
        .with_evidence(custodies.iter().filter_map(|(e, _)| e.digests.first().map(Sha256::to_hex)))
    } else {
        fail(
            join(&problems),
            "every party in the chain must hand over its custody attestation: ask the missing party for it, or reject the goods",
        )
    }
}

pub(super) fn threshold(evidence: &Evidence<'_>, config: &CheckConfig) -> Outcome {
    let thresholds = config.thresholds.clone().unwrap_or_default();
    if thresholds.is_empty() {
        return not_applicable("the policy sets no signature thresholds");
    }
    let mut problems = Vec::new();
    let mut met = Vec::new();
    for (role, needed) in &thresholds {
        // Separately signed copies of the same statement count together; groups are listed in
        // the order the shipment holds them, not by digest, so the report reads like the shipment.
        let mut index: BTreeMap<Sha256, usize> = BTreeMap::new();
        let mut groups: Vec<(String, BTreeSet<crate::trust::KeyRef>)> = Vec::new();
        for (envelope, statement) in evidence.trusted() {
            let Some(kind) = statement.kind else { continue };
            // A statement counts under the role it was signed in (an SBOM statement may be a
            // manufacturer's or a supplier's).
            if !kind.signer_roles().contains(role)
                || !envelope.signed_as(evidence.trust, evidence.date, *role)
            {
                continue;
            }
            let Some(payload) = envelope.payload_sha256 else {
                continue;
            };
            let slot = *index.entry(payload).or_insert_with(|| {
                groups.push((
                    format!("{} ({})", place(envelope), kind.as_str()),
                    BTreeSet::new(),
                ));
                groups.len() - 1
            });
            let entry = &mut groups[slot];
            for key_ref in envelope.authorised_signers(evidence.trust, evidence.date) {
                if evidence
                    .trust
                    .party(key_ref)
                    .is_some_and(|p| p.roles.contains(role))
                {
                    entry.1.insert(key_ref);
                }
            }
        }
        for (what, keys) in &groups {
            if keys.len() < *needed as usize {
                problems.push(format!(
                    "{what} is signed by {} distinct {role} key(s); the policy needs {needed}",
                    keys.len()
                ));
            } else {
                met.push(format!("{what}: {}/{needed}", keys.len()));
            }
        }
    }
    if !problems.is_empty() {
        fail(
            join(&problems),
            "ask more of the role's key holders to sign the same statement, or lower the threshold in the policy",
        )
    } else if met.is_empty() {
        not_applicable("no trusted attestation of a role with a threshold is in the shipment")
    } else {
        pass(format!("thresholds met: {}", join(&met)))
    }
}
