//! The evidence seams served by the crates that own each format: DSSE and predicates from
//! consign-attest, CycloneDX validation and profiles from consign-sbom, and the firmware re-scan
//! from consign-unpack and consign-detect.

use consign_attest::PublicKey;
use consign_attest::dsse::{Envelope, TrustedKeys};
use consign_attest::predicates::{LiabilityPredicate, Predicate};
use consign_model::{
    Conformity, Labels, Manufacturer, Product, ProductFile, SecurityProperties, Sha256,
    SupportPeriod, UkStatementOfCompliance, VulnerabilityDisclosure,
};
use serde_json::Value;

use crate::Date;
use crate::error::{EvidenceError, RescanError, VerifyError};
use crate::evidence::{
    AuditFinding, Claims, ClaimsReader, ComponentClaims, CustodyClaims, Engines, FoundComponent,
    PredicateKind, ProductClaims, RescanAndAudit, Rescanner, SbomFacts, SbomInspector,
    SignatureVerifier, VerifiedEnvelope,
};
use crate::readers::CycloneDxReader;
use crate::trust::{KeyRef, TrustStore};

/// Verifies DSSE signatures with consign-attest ([`TrustedKeys::signers`], the one signature
/// check) against every key of a trust store.
#[derive(Debug)]
pub struct AttestSignatures {
    trusted: TrustedKeys,
    refs: Vec<KeyRef>,
}

impl AttestSignatures {
    /// Prepares the trust store's keys once (computing keyids costs more than a verification).
    pub fn new(trust: &TrustStore) -> Result<Self, VerifyError> {
        let (refs, keys): (Vec<KeyRef>, Vec<&PublicKey>) = trust
            .keys()
            .map(|(key_ref, key)| (key_ref, &key.public))
            .unzip();
        Ok(Self {
            trusted: TrustedKeys::new(keys),
            refs,
        })
    }
}

impl SignatureVerifier for AttestSignatures {
    fn verify(
        &self,
        envelope: &[u8],
        _trust: &TrustStore,
    ) -> Result<VerifiedEnvelope, EvidenceError> {
        let envelope = Envelope::from_json(envelope)?;
        if envelope.signatures.is_empty() {
            return Err(EvidenceError::Unsigned);
        }
        let signers: Vec<KeyRef> = self
            .trusted
            .signers(&envelope, usize::MAX)
            .into_iter()
            .filter_map(|position| self.refs.get(position).copied())
            .collect();
        if signers.is_empty() {
            return Err(EvidenceError::Untrusted {
                count: envelope.signatures.len(),
            });
        }
        Ok(VerifiedEnvelope {
            payload_type: envelope.payload_type,
            payload: envelope.payload,
            signers,
        })
    }
}

/// Reads consign-attest's predicates (fail closed: [`Predicate::parse`] rejects unknown fields)
/// into the claims the checks use.
#[derive(Clone, Copy, Debug, Default)]
pub struct AttestClaims;

fn claim_value<T: serde::de::DeserializeOwned>(
    body: &LiabilityPredicate,
    id: &str,
) -> Result<Option<T>, EvidenceError> {
    body.claim(id)
        .map(|claim| {
            serde_json::from_value(claim.value.clone()).map_err(|source| {
                EvidenceError::ClaimValue {
                    id: id.to_owned(),
                    source,
                }
            })
        })
        .transpose()
}

fn evidence_sha256(body: &LiabilityPredicate, id: &str) -> Result<Vec<Sha256>, EvidenceError> {
    let mut out = Vec::new();
    for evidence in body
        .claim(id)
        .map(|c| c.evidence.as_slice())
        .unwrap_or_default()
    {
        if let Some(hex) = evidence.digest.get("sha256") {
            out.push(
                hex.parse::<Sha256>()
                    .map_err(|source| EvidenceError::ClaimDigest {
                        id: id.to_owned(),
                        name: evidence.name.clone(),
                        source,
                    })?,
            );
        }
    }
    Ok(out)
}

fn text_at(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(ToOwned::to_owned)
}

fn product_claims(body: &LiabilityPredicate) -> Result<ProductClaims, EvidenceError> {
    let password_scheme = claim_value(body, "password-scheme")?;
    let update_mechanism = claim_value(body, "update-mechanism")?;
    let debug_interfaces_disabled = body
        .claim("secure-defaults")
        .and_then(|c| c.value.get("debug-interfaces-disabled"))
        .and_then(Value::as_bool);
    let device_keys = claim_value(body, "device-keys")?;
    let exposed_services = claim_value(body, "exposed-services")?;
    let declared_findings: Vec<_> = claim_value(body, "declared-findings")?.unwrap_or_default();
    let security = (password_scheme.is_some()
        || update_mechanism.is_some()
        || debug_interfaces_disabled.is_some()
        || device_keys.is_some()
        || exposed_services.is_some()
        || !declared_findings.is_empty())
    .then_some(SecurityProperties {
        password_scheme,
        update_mechanism,
        debug_interfaces_disabled,
        device_keys,
        exposed_services,
        declared_findings,
    });
    let product = ProductFile {
        manufacturer: claim_value::<Manufacturer>(body, "manufacturer-contact")?
            .unwrap_or_default(),
        product: claim_value::<Product>(body, "product-identity")?.unwrap_or_default(),
        support: claim_value::<SupportPeriod>(body, "support-period")?.unwrap_or_default(),
        vulnerability_disclosure: claim_value::<VulnerabilityDisclosure>(
            body,
            "vulnerability-disclosure",
        )?
        .unwrap_or_default(),
        security,
        conformity: claim_value::<Conformity>(body, "conformity")?,
        labels: claim_value::<Labels>(body, "labels")?,
        uk_statement_of_compliance: claim_value::<UkStatementOfCompliance>(
            body,
            "uk-statement-of-compliance",
        )?,
    };
    Ok(ProductClaims {
        product,
        sbom_sha256: evidence_sha256(body, "sbom")?.first().copied(),
        materials: evidence_sha256(body, "supplier-attestations")?,
    })
}

impl ClaimsReader for AttestClaims {
    fn read(
        &self,
        kind: PredicateKind,
        predicate_type: &str,
        predicate: &Value,
    ) -> Result<Claims, EvidenceError> {
        let parsed = Predicate::parse(predicate_type, predicate)?;
        Ok(match (kind, parsed) {
            (PredicateKind::Product, Predicate::Product(body)) => {
                Claims::Product(Box::new(product_claims(&body)?))
            }
            (PredicateKind::Component, Predicate::Component(body)) => {
                let identity = body.claim("component-identity").map(|c| &c.value);
                let support_end = body
                    .claim("support-period")
                    .and_then(|c| text_at(&c.value, "end"))
                    .map(|text| crate::trust::parse_date(&text, "claim `support-period` `end`"))
                    .transpose()?;
                Claims::Component(ComponentClaims {
                    name: identity.and_then(|v| text_at(v, "name")),
                    version: identity.and_then(|v| text_at(v, "version")),
                    support_end,
                    disclosure_contact: body
                        .claim("vulnerability-disclosure")
                        .and_then(|c| text_at(&c.value, "contact")),
                })
            }
            (PredicateKind::Custody, Predicate::Custody(body)) => Claims::Custody(CustodyClaims {
                lot: body.claim("lot").and_then(|c| text_at(&c.value, "id")),
                received_from: body
                    .claim("received")
                    .and_then(|c| text_at(&c.value, "party")),
                shipped_to: body
                    .claim("shipped")
                    .and_then(|c| text_at(&c.value, "party")),
                upstream: evidence_sha256(&body, "upstream-attestations")?,
            }),
            (PredicateKind::Sbom, Predicate::CycloneDx(value)) => Claims::Sbom(value),
            (
                PredicateKind::Vex,
                Predicate::OpenVex(value)
                | Predicate::CycloneDxVex(value)
                | Predicate::CsafVex(value),
            ) => Claims::Vex(value),
            _ => Claims::Other,
        })
    }
}

/// Reads SBOMs with consign-sbom: bounded parsing, the vendored CycloneDX schema, and the BSI
/// TR-03183-2 and NTIA profiles.
#[derive(Clone, Copy, Debug, Default)]
pub struct SbomCrate;

impl SbomInspector for SbomCrate {
    fn inspect(&self, data: &[u8]) -> Result<SbomFacts, EvidenceError> {
        let value = consign_sbom::parse_json(data, &consign_sbom::ReadLimits::default())
            .map_err(EvidenceError::SbomRead)?;
        let mut facts = CycloneDxReader.inspect(data)?;
        facts.schema_errors = consign_sbom::validate_schema(&value)
            .into_iter()
            .map(|issue| {
                if issue.pointer.is_empty() {
                    issue.message
                } else {
                    format!("{}: {}", issue.pointer, issue.message)
                }
            })
            .collect();
        let gaps = |profile| {
            consign_sbom::check_profile(&value, profile)
                .into_iter()
                .filter(|gap| gap.requirement == consign_sbom::Requirement::Required)
                .map(|gap| format!("{} ({}): {}", gap.pointer, gap.rule, gap.message))
                .collect::<Vec<_>>()
        };
        facts.bsi_gaps = gaps(consign_sbom::Profile::BsiTr031832);
        facts.ntia_gaps = gaps(consign_sbom::Profile::Ntia);
        Ok(facts)
    }
}

/// Re-scans firmware in memory with consign-unpack and consign-detect.
#[derive(Clone, Copy, Debug, Default)]
pub struct FirmwareRescan {
    /// Unpacking bounds.
    pub limits: consign_unpack::Limits,
}

impl FirmwareRescan {
    /// Unpacks the firmware and detects its components, each file analysed as soon as it is
    /// unpacked (as `consign scan` does), so a long serial decode leaves no core idle. A firmware
    /// that was not read in full is an error: a component in the part not read would go unseen,
    /// and the checks must not compare an SBOM with a partial list.
    fn unpack_and_detect(
        &self,
        file_name: &str,
        data: &[u8],
    ) -> Result<(consign_unpack::Unpacked, Vec<FoundComponent>), RescanError> {
        let budget = consign_unpack::Budget::new(self.limits);
        let prepared = consign_detect::Prepared::default();
        let unpacked = consign_unpack::unpack_visiting(
            file_name,
            bytes::Bytes::copy_from_slice(data),
            &budget,
            &|node| prepared.analyse(node),
        );
        if !unpacked.report.incomplete.is_empty() {
            return Err(RescanError::Incomplete {
                cuts: unpacked.report.incomplete,
            });
        }
        let components = consign_detect::detect_prepared(&unpacked.vfs, prepared)
            .components
            .into_iter()
            .map(|component| FoundComponent {
                location: component
                    .occurrences
                    .first()
                    .map_or_else(|| file_name.to_owned(), |o| o.location.clone()),
                name: component.name,
                version: component.version,
            })
            .collect();
        Ok((unpacked, components))
    }
}

impl Rescanner for FirmwareRescan {
    fn rescan(&self, name: &str, data: &[u8]) -> Result<Vec<FoundComponent>, RescanError> {
        let file_name = name.rsplit('/').next().unwrap_or(name);
        Ok(self.unpack_and_detect(file_name, data)?.1)
    }

    /// One unpack for both: the audit reads the same tree the re-scan does, and fails for the
    /// same reason when that tree is incomplete. No certificate date is given, so certificate
    /// expiry does not enter the verdict (the checks read accounts).
    fn rescan_and_audit(&self, name: &str, data: &[u8]) -> RescanAndAudit {
        let file_name = name.rsplit('/').next().unwrap_or(name);
        let (unpacked, components) = match self.unpack_and_detect(file_name, data) {
            Ok(done) => done,
            Err(err) => return (Err(err.clone()), Some(Err(err))),
        };
        let audit = consign_audit::audit(&unpacked.vfs, &consign_audit::Options::default());
        let findings = audit
            .findings
            .iter()
            .map(|finding| AuditFinding {
                rule: finding.rule.id().to_owned(),
                severity: finding.severity.name().to_owned(),
                place: finding.place(),
                file: finding.file.clone().unwrap_or_else(|| finding.path.clone()),
                message: finding.message.clone(),
            })
            .collect();
        (Ok(components), Some(Ok(findings)))
    }
}

/// The standard engines: consign-attest, consign-sbom, and (unless `rescan` is `None`) the
/// firmware re-scan.
pub fn standard_engines<'e>(
    signatures: &'e AttestSignatures,
    rescan: Option<&'e FirmwareRescan>,
) -> Engines<'e> {
    Engines {
        signatures,
        claims: &AttestClaims,
        sboms: &SbomCrate,
        rescanner: rescan.map(|r| r as &dyn Rescanner),
        vulnerability_database: None,
    }
}

/// Signs a verdict as the next party's evidence: consign's market-check predicate and a SLSA VSA
/// v1, both about the shipment's firmware, as two DSSE envelopes in `.intoto.jsonl` form.
///
/// The signing key must belong to a trust-store party holding the importer or retailer role: the
/// verifier signs as who it is. `time_verified` is the caller's clock (RFC 3339).
pub fn sign_verdict(
    verdict: &crate::Verdict,
    shipment: &crate::shipment::Shipment,
    trust: &TrustStore,
    signer: &dyn consign_attest::Signer,
    time_verified: &str,
) -> Result<String, VerifyError> {
    use consign_attest::attest::{
        Artifact, MarketCheck, MarketCheckItem, market_check_statements, sign_statement,
    };
    use consign_attest::claims::CheckResult;
    let sign_err = |reason: String| VerifyError::Sign { reason };
    let der = signer.public_key().to_spki_der();
    let fingerprint = Sha256::of(&der);
    let (party, role) = trust
        .parties
        .iter()
        .find(|party| party.keys.iter().any(|key| key.fingerprint == fingerprint))
        .and_then(|party| {
            [crate::trust::Role::Importer, crate::trust::Role::Retailer]
                .into_iter()
                .find(|role| party.roles.contains(role))
                .map(|role| (party, role))
        })
        .ok_or_else(|| {
            sign_err("the signing key belongs to no importer or retailer in the trust store; add it there so the next party can verify the verdict".to_owned())
        })?;
    let firmware: Vec<Artifact<'_>> = shipment
        .of_role(crate::shipment::ArtifactRole::Firmware)
        .filter_map(|a| {
            a.data.as_deref().map(|data| Artifact {
                name: a.entry.path.as_str(),
                data,
            })
        })
        .collect();
    if firmware.is_empty() {
        return Err(sign_err(
            "the shipment holds no readable firmware to sign a verdict about".to_owned(),
        ));
    }
    let checked = verdict
        .checked_at
        .parse::<Date>()
        .map_err(|_| sign_err(format!("bad check date `{}`", verdict.checked_at)))?;
    let retention = checked
        .checked_add(jiff::Span::new().years(10))
        .map_err(|err| sign_err(err.to_string()))?;
    let retention_until: consign_model::Date = retention
        .to_string()
        .parse()
        .map_err(|err: consign_model::DateError| sign_err(err.to_string()))?;
    let check = MarketCheck {
        role: role.to_string(),
        name: party.name.clone(),
        contact: party.contact.clone().unwrap_or_else(|| party.name.clone()),
        policy_id: verdict.policy.clone(),
        policy_sha256: verdict.policy_sha256.clone(),
        accepted: verdict.accepted,
        checks: verdict
            .results
            .iter()
            .map(|r| MarketCheckItem {
                id: r.id.replace('.', "-"),
                result: match r.status {
                    crate::Status::Pass => CheckResult::Pass,
                    crate::Status::Fail => CheckResult::Fail,
                    crate::Status::Warn => CheckResult::Warn,
                    crate::Status::NotApplicable => CheckResult::NotApplicable,
                },
                reason: r.reason.chars().take(500).collect(),
            })
            .collect(),
        retention_until,
        time_verified: time_verified.to_owned(),
        inputs: shipment
            .of_role(crate::shipment::ArtifactRole::Attestation)
            .filter_map(|a| a.data.clone().map(|data| (a.entry.path.clone(), data)))
            .collect(),
        data_sources: verdict
            .vulnerability_database
            .iter()
            .flat_map(|db| &db.sources)
            .map(|source| consign_attest::attest::DataSource {
                name: source.name.clone(),
                kinds: source.kinds.clone(),
                date: source.date.clone(),
                sha256: source.sha256.clone(),
            })
            .collect(),
    };
    let (market, vsa) =
        market_check_statements(&firmware, &check).map_err(|err| sign_err(err.to_string()))?;
    let mut out = String::new();
    for statement in [&market, &vsa] {
        let envelope =
            sign_statement(statement, &[signer]).map_err(|err| sign_err(err.to_string()))?;
        out.push_str(&envelope.to_json());
        out.push('\n');
    }
    Ok(out)
}
