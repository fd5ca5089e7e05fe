//! Every check of DESIGN section 6 that has its inputs, each a function of the [`Evidence`].
//!
//! Fail closed: a check that cannot find what it needs fails and says what is missing; only a
//! check that truly has nothing to look at (no supplier attestations, say) is not-applicable, and
//! [`crate::policy`]'s `integrity.required` decides whether that absence is itself a failure.
//! Later checks rely only on *trusted* statements (signed by a key valid at the check date, of a
//! party holding the right role, of a known predicate type), so an untrusted document can never
//! make a check pass.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use consign_model::Sha256;
use jiff::civil::Date;

use crate::evidence::{Claims, Evidence, PredicateKind, ProductClaims, product_key};
use crate::policy::{CHECKS, CheckConfig, Policy, Severity, parse_spec_version};
use crate::shipment::ArtifactRole;
use crate::trust::{KeyValidity, Role};
use crate::verdict::{CheckResult, Counts, EvidenceItem, FORMAT, ProductRef, Status, Verdict};

/// What one check found, before the policy's severity is applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Pass, fail, warn or not-applicable.
    pub status: Status,
    /// Why.
    pub reason: String,
    /// What would fix it.
    pub fix: Option<String>,
    /// SHA-256 digests of the evidence looked at.
    pub evidence: Vec<String>,
}

fn pass(reason: impl Into<String>) -> Outcome {
    Outcome {
        status: Status::Pass,
        reason: reason.into(),
        fix: None,
        evidence: Vec::new(),
    }
}

fn fail(reason: impl Into<String>, fix: impl Into<String>) -> Outcome {
    Outcome {
        status: Status::Fail,
        reason: reason.into(),
        fix: Some(fix.into()),
        evidence: Vec::new(),
    }
}

fn not_applicable(reason: impl Into<String>) -> Outcome {
    Outcome {
        status: Status::NotApplicable,
        reason: reason.into(),
        fix: None,
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
fn join(problems: &[String]) -> String {
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

fn short(digest: &Sha256) -> String {
    digest.to_hex().chars().take(16).collect()
}

fn place(envelope: &crate::evidence::EnvelopeEvidence) -> String {
    if envelope.line > 1 {
        format!("`{}` line {}", envelope.artifact, envelope.line)
    } else {
        format!("`{}`", envelope.artifact)
    }
}

fn blank(value: Option<&String>) -> bool {
    value.is_none_or(|text| text.trim().is_empty())
}

fn kebab<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => text,
        _ => "?".to_owned(),
    }
}

/// Runs one check by id.
pub fn run_check(id: &str, evidence: &Evidence<'_>, config: &CheckConfig) -> Outcome {
    match id {
        "shipment.manifest" => shipment_manifest(evidence),
        "integrity.signatures" => signatures(evidence),
        "integrity.roles" => roles(evidence),
        "integrity.predicates" => predicates(evidence),
        "integrity.required" => required(evidence, config),
        "integrity.subjects" => subjects(evidence),
        "integrity.custody" => custody(evidence),
        "integrity.threshold" => threshold(evidence, config),
        "sbom.valid" => sbom_valid(evidence, config),
        "sbom.profile" => sbom_profile(evidence, config),
        "sbom.vulnerabilities" => sbom_vulnerabilities(evidence),
        "sbom.rescan" => rescan(evidence),
        "identity.product" => identity(evidence),
        "support.declared" => support_declared(evidence),
        "support.not-expired" => support_not_expired(evidence),
        "support.minimum-length" => support_minimum(evidence, config),
        "support.never-shortened" => support_never_shortened(evidence),
        "vulnerability.disclosure" => disclosure(evidence),
        "security.passwords" => passwords(evidence, config),
        "conformity.declaration" => declaration(evidence),
        "conformity.ce-marking" => ce_marking(evidence),
        "conformity.notified-body" => notified_body(evidence, config),
        "conformity.uk-statement" => uk_statement(evidence, config),
        "vulnerabilities.known" => not_applicable(
            "planned for a later version: matching components against a local OSV database and signed VEX statements is not built yet, so this is not a pass",
        ),
        "suppliers.attestations" => supplier_attestations(evidence),
        "suppliers.support-end" => supplier_support_end(evidence),
        other => fail(
            format!("this verifier has no check `{other}`"),
            "remove the check from the policy",
        ),
    }
}

/// Runs every check of `policy` on `evidence` and builds the verdict.
pub fn run(evidence: &Evidence<'_>, policy: &Policy) -> Verdict {
    let mut results = Vec::with_capacity(CHECKS.len());
    let mut counts = Counts::default();
    for info in CHECKS {
        let (outcome, requirements) = match policy.checks.get(info.id) {
            Some(check) if check.severity != Severity::Off => {
                let mut outcome = run_check(info.id, evidence, &check.config);
                if outcome.status == Status::Fail && check.severity == Severity::Warn {
                    outcome.status = Status::Warn;
                }
                (outcome, check.requirements.clone())
            }
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

fn shipment_manifest(evidence: &Evidence<'_>) -> Outcome {
    let shipment = evidence.shipment;
    let mut problems = Vec::new();
    for artifact in &shipment.artifacts {
        let path = &artifact.entry.path;
        if let Some(problem) = &artifact.problem {
            problems.push(format!("`{path}` {problem}"));
        } else if let (Some(actual), Some(data)) = (&artifact.actual_sha256, &artifact.data) {
            if *actual != artifact.entry.sha256 {
                problems.push(format!(
                    "`{path}` has sha256 {}…, the manifest says {}…: it was altered",
                    short(actual),
                    short(&artifact.entry.sha256)
                ));
            } else if data.len() as u64 != artifact.entry.size {
                problems.push(format!(
                    "`{path}` is {} bytes, the manifest says {}",
                    data.len(),
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

fn signatures(evidence: &Evidence<'_>) -> Outcome {
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

fn roles(evidence: &Evidence<'_>) -> Outcome {
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

fn predicates(evidence: &Evidence<'_>) -> Outcome {
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

fn sbom_bound(evidence: &Evidence<'_>, sbom: &crate::evidence::SbomEvidence) -> bool {
    evidence
        .current_products()
        .iter()
        .any(|(_, _, claims)| claims.sbom_sha256 == Some(sbom.sha256))
        || evidence.trusted().any(|(_, statement)| {
            statement.kind == Some(PredicateKind::Sbom)
                && (statement
                    .subjects
                    .iter()
                    .any(|subject| subject.sha256 == Some(sbom.sha256))
                    || matches!(&statement.claims, Claims::Sbom(value) if Some(value) == sbom.json.as_ref()))
        })
}

fn required(evidence: &Evidence<'_>, config: &CheckConfig) -> Outcome {
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

fn subjects(evidence: &Evidence<'_>) -> Outcome {
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
                .any(|s| s.matches(&firmware.sha256, &firmware.sha512))
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
                .any(|fw| subject.matches(&fw.sha256, &fw.sha512));
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

fn custody(evidence: &Evidence<'_>) -> Outcome {
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
                up.subjects.iter().any(|s| {
                    (s.sha256.is_some() && s.sha256 == subject.sha256)
                        || (s.sha512.is_some() && s.sha512 == subject.sha512)
                })
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

fn threshold(evidence: &Evidence<'_>, config: &CheckConfig) -> Outcome {
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
            if kind.signer_roles().first() != Some(role) {
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

fn sbom_valid(evidence: &Evidence<'_>, config: &CheckConfig) -> Outcome {
    if evidence.sboms.is_empty() {
        return fail(
            "the shipment holds no SBOM",
            "ask the manufacturer for the release's CycloneDX SBOM (`consign scan`) and add it to the shipment",
        );
    }
    let minimum = config
        .min_spec_version
        .as_deref()
        .and_then(parse_spec_version);
    let mut problems = Vec::new();
    for sbom in &evidence.sboms {
        match &sbom.facts {
            Err(reason) => problems.push(format!("`{}` {reason}", sbom.artifact)),
            Ok(facts) => {
                if !facts.schema_errors.is_empty() {
                    problems.push(format!(
                        "`{}` is not valid CycloneDX: {}",
                        sbom.artifact,
                        join(&facts.schema_errors)
                    ));
                }
                let version = facts.spec_version.as_deref().and_then(parse_spec_version);
                match (version, minimum) {
                    (None, _) => {
                        problems.push(format!("`{}` has no readable `specVersion`", sbom.artifact));
                    }
                    (Some(found), Some(min)) if found < min => problems.push(format!(
                        "`{}` is CycloneDX {}.{}, the policy needs {}.{} or later",
                        sbom.artifact, found.0, found.1, min.0, min.1
                    )),
                    _ => {}
                }
            }
        }
    }
    let digests = evidence.sboms.iter().map(|s| s.sha256.to_hex());
    if problems.is_empty() {
        pass(format!(
            "{} SBOM(s), valid CycloneDX of an accepted spec version",
            evidence.sboms.len()
        ))
        .with_evidence(digests)
    } else {
        fail(join(&problems), "ask the manufacturer for a schema-valid CycloneDX 1.6 SBOM (`consign sbom validate` shows the errors)")
            .with_evidence(digests)
    }
}

fn sbom_profile(evidence: &Evidence<'_>, config: &CheckConfig) -> Outcome {
    let profile = config.profile.as_deref().unwrap_or("bsi");
    if evidence.sboms.is_empty() {
        return fail("the shipment holds no SBOM", "see `sbom.valid`");
    }
    let mut problems = Vec::new();
    for sbom in &evidence.sboms {
        match &sbom.facts {
            Err(reason) => problems.push(format!("`{}` {reason}", sbom.artifact)),
            Ok(facts) => {
                let gaps = if profile == "ntia" {
                    &facts.ntia_gaps
                } else {
                    &facts.bsi_gaps
                };
                if !gaps.is_empty() {
                    problems.push(format!("`{}`: {}", sbom.artifact, join(gaps)));
                }
            }
        }
    }
    let name = if profile == "ntia" {
        "NTIA minimum elements"
    } else {
        "BSI TR-03183-2"
    };
    if problems.is_empty() {
        pass(format!("every SBOM has the fields {name} requires"))
    } else {
        fail(
            format!("{name} fields missing: {}", join(&problems)),
            "ask the manufacturer to complete the SBOM (`consign sbom validate FILE --profile bsi-tr-03183-2` lists the gaps)",
        )
    }
}

fn sbom_vulnerabilities(evidence: &Evidence<'_>) -> Outcome {
    let mut problems = Vec::new();
    let mut read = 0;
    for sbom in &evidence.sboms {
        if let Ok(facts) = &sbom.facts {
            read += 1;
            if !facts.vulnerabilities.is_empty() {
                problems.push(format!(
                    "`{}` lists {} vulnerabilit{}: {}",
                    sbom.artifact,
                    facts.vulnerabilities.len(),
                    if facts.vulnerabilities.len() == 1 {
                        "y"
                    } else {
                        "ies"
                    },
                    join(&facts.vulnerabilities)
                ));
            }
        }
    }
    if read == 0 {
        return fail(
            "no readable SBOM to look for vulnerabilities in",
            "see `sbom.valid`",
        );
    }
    if problems.is_empty() {
        pass("no SBOM lists a vulnerability")
    } else {
        fail(
            join(&problems),
            "ask the manufacturer for a release that fixes them, or for a signed VEX statement showing they are not exploitable",
        )
    }
}

fn rescan(evidence: &Evidence<'_>) -> Outcome {
    if !evidence.rescanned {
        return Outcome {
            status: Status::Warn,
            reason: "the re-scan was turned off (`--no-rescan`): the SBOM was not compared with the firmware".to_owned(),
            fix: Some("run `consign verify` without `--no-rescan`".to_owned()),
            evidence: Vec::new(),
        };
    }
    if evidence.firmware.is_empty() {
        return not_applicable("the shipment holds no firmware to re-scan");
    }
    let declared: Vec<&crate::evidence::DeclaredComponent> = evidence
        .sboms
        .iter()
        .filter_map(|s| s.facts.as_ref().ok())
        .flat_map(|facts| facts.components.iter())
        .collect();
    if declared.is_empty() && evidence.sboms.iter().all(|s| s.facts.is_err()) {
        return fail(
            "no readable SBOM to compare the re-scan with",
            "see `sbom.valid`",
        );
    }
    let mut problems = Vec::new();
    let mut found_count = 0;
    for firmware in &evidence.firmware {
        match &firmware.rescan {
            None => {}
            Some(Err(reason)) => problems.push(format!(
                "re-scanning `{}` failed: {reason}",
                firmware.artifact
            )),
            Some(Ok(found)) => {
                for component in found {
                    found_count += 1;
                    let same_name: Vec<_> = declared
                        .iter()
                        .filter(|d| d.name.eq_ignore_ascii_case(&component.name))
                        .collect();
                    let version = component.version.as_deref().unwrap_or("unknown version");
                    if same_name.is_empty() {
                        problems.push(format!(
                            "`{}` {version} found at `{}` is not declared in the SBOM",
                            component.name, component.location
                        ));
                    } else if let Some(found_version) = &component.version
                        && !same_name
                            .iter()
                            .any(|d| d.version.as_deref() == Some(found_version.as_str()))
                    {
                        let versions: Vec<&str> = same_name
                            .iter()
                            .map(|d| d.version.as_deref().unwrap_or("no version"))
                            .collect();
                        problems.push(format!(
                            "`{}`: the SBOM declares {}, the re-scan finds {found_version} at `{}`",
                            component.name,
                            versions.join(", "),
                            component.location
                        ));
                    }
                }
            }
        }
    }
    let digests = evidence.firmware.iter().map(|f| f.sha256.to_hex());
    if problems.is_empty() {
        pass(format!(
            "the re-scan found {found_count} component(s), each declared in the SBOM at the same version"
        ))
        .with_evidence(digests)
    } else {
        fail(
            join(&problems),
            "the SBOM does not describe the firmware shipped: ask the manufacturer for an SBOM generated from this image (`consign scan`)",
        )
        .with_evidence(digests)
    }
}

fn product_evidence(evidence: &Evidence<'_>) -> Vec<String> {
    evidence
        .current_products()
        .iter()
        .filter_map(|(e, _, _)| e.digests.first().map(Sha256::to_hex))
        .collect()
}

const NO_RELEASE: &str = "no trusted release attestation covers the firmware in this shipment";
const NO_RELEASE_FIX: &str = "see `integrity.required` and `integrity.subjects`";

fn identity(evidence: &Evidence<'_>) -> Outcome {
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

fn to_date(date: consign_model::Date) -> Option<Date> {
    Date::new(
        i16::try_from(date.year).ok()?,
        i8::try_from(date.month).ok()?,
        i8::try_from(date.day).ok()?,
    )
    .ok()
}

/// The product's support end: the earliest declared by the trusted releases covering the firmware.
fn product_support_end(evidence: &Evidence<'_>) -> Option<Date> {
    evidence
        .current_products()
        .iter()
        .filter_map(|(_, _, claims)| claims.product.support.end.and_then(to_date))
        .min()
}

fn support_declared(evidence: &Evidence<'_>) -> Outcome {
    let currents = evidence.current_products();
    if currents.is_empty() {
        return fail(NO_RELEASE, NO_RELEASE_FIX);
    }
    let missing: Vec<String> = currents
        .iter()
        .filter(|(_, _, claims)| claims.product.support.end.is_none())
        .map(|(envelope, _, _)| format!("{} declares no support end date", place(envelope)))
        .collect();
    if missing.is_empty() {
        pass(format!(
            "support ends on {}",
            product_support_end(evidence)
                .map(|d| d.to_string())
                .unwrap_or_default()
        ))
        .with_evidence(product_evidence(evidence))
    } else {
        fail(
            join(&missing),
            "ask the manufacturer to declare the support period (`support.end` in the product file) and re-sign the release",
        )
    }
}

fn support_not_expired(evidence: &Evidence<'_>) -> Outcome {
    let Some(end) = product_support_end(evidence) else {
        return fail(
            "no support end date is declared by a trusted release attestation",
            "see `support.declared`",
        );
    };
    if end < evidence.date {
        fail(
            format!("support ended on {end}, before the check date {}", evidence.date),
            "do not place the product on the market: the manufacturer no longer provides security updates; ask for a release with an extended support period",
        )
        .with_evidence(product_evidence(evidence))
    } else {
        pass(format!(
            "support runs until {end}, after the check date {}",
            evidence.date
        ))
        .with_evidence(product_evidence(evidence))
    }
}

fn support_minimum(evidence: &Evidence<'_>, config: &CheckConfig) -> Outcome {
    let years = config.min_years.unwrap_or(5);
    let Some(end) = product_support_end(evidence) else {
        return fail(
            "no support end date is declared by a trusted release attestation",
            "see `support.declared`",
        );
    };
    let Some(needed) = jiff::Span::new()
        .try_years(i64::from(years))
        .ok()
        .and_then(|span| evidence.date.checked_add(span).ok())
    else {
        return fail(
            format!("{years} years after {} is not a date", evidence.date),
            "lower `min-years` in the policy",
        );
    };
    if end < needed {
        fail(
            format!(
                "support ends on {end}, less than {years} years after placing on the market on {} (needs {needed} or later)",
                evidence.date
            ),
            "ask the manufacturer to extend the support period to the policy's minimum, or document why the expected use time is shorter",
        )
        .with_evidence(product_evidence(evidence))
    } else {
        pass(format!(
            "support ends on {end}, at least {years} years after {}",
            evidence.date
        ))
        .with_evidence(product_evidence(evidence))
    }
}

fn support_never_shortened(evidence: &Evidence<'_>) -> Outcome {
    let currents = evidence.current_products();
    if currents.is_empty() {
        return fail(NO_RELEASE, NO_RELEASE_FIX);
    }
    let Some(end) = product_support_end(evidence) else {
        return fail(
            "no support end date is declared by a trusted release attestation",
            "see `support.declared`",
        );
    };
    let keys: BTreeSet<String> = currents
        .iter()
        .filter_map(|(_, _, claims)| product_key(&claims.product))
        .collect();
    let mut earlier: Vec<(Date, String)> = Vec::new();
    for record in evidence.history {
        if keys.contains(&record.product_key)
            && let Ok(date) = record.support_end.parse::<Date>()
        {
            earlier.push((
                date,
                format!(
                    "recorded in the ledger on {} for shipment `{}`",
                    record.checked_at, record.shipment
                ),
            ));
        }
    }
    for (envelope, _, claims) in evidence.products() {
        let same = product_key(&claims.product).is_some_and(|key| keys.contains(&key));
        let current = currents.iter().any(|(e, _, _)| std::ptr::eq(*e, envelope));
        if same
            && !current
            && let Some(date) = claims.product.support.end.and_then(to_date)
        {
            earlier.push((
                date,
                format!(
                    "declared by the earlier release attestation {}",
                    place(envelope)
                ),
            ));
        }
    }
    match earlier.iter().max_by_key(|(date, _)| *date) {
        Some((longest, source)) if *longest > end => fail(
            format!("the support period was shortened: it now ends on {end}, but ended on {longest} as {source}"),
            "a support period may be extended, never shortened: ask the manufacturer to restore the earlier end date",
        )
        .with_evidence(product_evidence(evidence)),
        Some((longest, _)) => pass(format!(
            "support ends on {end}, no earlier than the {} earlier record(s) (latest {longest})",
            earlier.len()
        )),
        None => pass(format!(
            "no earlier support period is known for this product; {end} is recorded now"
        )),
    }
}

fn with_current_products(
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
fn judge_products(
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

fn disclosure(evidence: &Evidence<'_>) -> Outcome {
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
            evidence: product_evidence(evidence),
        }
    } else {
        pass("a vulnerability disclosure contact and policy are declared")
            .with_evidence(product_evidence(evidence))
    }
}

fn passwords(evidence: &Evidence<'_>, config: &CheckConfig) -> Outcome {
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
    let audited = firmware_password_evidence(evidence, &schemes);
    match audited {
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

/// Holds the firmware's secure-defaults audit against the password claim: `Err` with the failing
/// outcome when a firmware shows a universal credential (critical or high) or could not be
/// audited; `Ok` with a note on what was audited.
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

fn declaration(evidence: &Evidence<'_>) -> Outcome {
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

fn ce_marking(evidence: &Evidence<'_>) -> Outcome {
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

fn notified_body(evidence: &Evidence<'_>, config: &CheckConfig) -> Outcome {
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

fn uk_statement(evidence: &Evidence<'_>, config: &CheckConfig) -> Outcome {
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

fn supplier_attestations(evidence: &Evidence<'_>) -> Outcome {
    let components: Vec<_> = evidence
        .trusted()
        .filter(|(_, statement)| statement.kind == Some(PredicateKind::Component))
        .collect();
    if components.is_empty() {
        return not_applicable(
            "no trusted supplier attestation in the shipment (`integrity.required` says whether one is needed)",
        );
    }
    let declared: Vec<&crate::evidence::DeclaredComponent> = evidence
        .sboms
        .iter()
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
                    subject.sha512.is_some_and(|h| d.sha512.contains(&h))
                        || subject.sha256.is_some_and(|h| d.sha256.contains(&h))
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
                || statement
                    .subjects
                    .iter()
                    .any(|s| s.sha256.is_some_and(|d| materials.contains(&d)));
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

fn supplier_support_end(evidence: &Evidence<'_>) -> Outcome {
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

/// The roles in custody order, for reports.
pub const CHAIN_ORDER: [Role; 5] = [
    Role::Supplier,
    Role::Manufacturer,
    Role::Distributor,
    Role::Importer,
    Role::Retailer,
];
