//! The library API each party calls: build the statement of what it vouches for, sign it, and
//! verify an attestation against an artifact and trusted keys.
//!
//! - Supplier: [`attest_component`] (component predicate; the SBOM with [`attest_sbom`]).
//! - Manufacturer: [`attest_release`] (product claims + CycloneDX SBOM + SLSA provenance whose
//!   materials are the supplier attestations and the SBOM).
//! - Distributor: [`attest_custody`] (custody predicate binding the upstream attestations by digest).
//! - Importer / retailer: [`market_check_statements`] (market-check predicate + SLSA VSA).
//! - Everyone: [`verify_attestation`] (envelope, `.intoto.jsonl` line or Sigstore bundle).
//!
//! Statements are built by `*_statement` functions (pure, testable) and signed by
//! [`sign_statement`]; the `attest_*` functions do both.

use serde_json::json;

use consign_model::ProductFile;

use crate::AttestError;
use crate::bundle::Bundle;
use crate::claims::{
    CheckResult, ComponentClaims, CustodyClaims, VulnerabilityStatement, validate_product,
};
use crate::dsse::{self, Envelope, INTOTO_PAYLOAD_TYPE};
use crate::keys::{PublicKey, Signer};
use crate::predicates::{
    self, BuildDefinition, Builder, CYCLONEDX_BOM, Claim, Evidence, LiabilityPredicate, Party,
    Predicate, ResourceDescriptor, RunDetails, SlsaProvenance, SlsaVsa,
};
use crate::statement::{Statement, Subject};

/// A named blob: an artifact, an SBOM, an attestation file.
#[derive(Clone, Copy, Debug)]
pub struct Artifact<'a> {
    /// The name written into the statement (a file name); informative only.
    pub name: &'a str,
    /// The bytes, hashed with SHA-256 and SHA-512.
    pub data: &'a [u8],
}

/// The build type consign writes in the provenance of a release.
pub const RELEASE_BUILD_TYPE: &str = "https://consign.dev/attestation/release-build/v0.1";

fn subjects(artifacts: &[Artifact<'_>]) -> Result<Vec<Subject>, AttestError> {
    if artifacts.is_empty() {
        return Err(AttestError::Signing {
            reason: "an attestation needs at least one artifact as its subject".to_owned(),
        });
    }
    Ok(artifacts
        .iter()
        .map(|artifact| Subject::for_bytes(artifact.name, artifact.data))
        .collect())
}

fn liability(
    predicate_type: &str,
    party: Party,
    claims: Vec<Claim>,
) -> Result<serde_json::Value, AttestError> {
    predicates::validate_claims(&claims, "claims")?;
    let body = LiabilityPredicate { party, claims };
    let value = serde_json::to_value(&body).map_err(|source| AttestError::Json {
        what: "predicate",
        source,
    })?;
    // Fail before signing if the result would not parse back.
    Predicate::parse(predicate_type, &value)?;
    Ok(value)
}

/// The supplier's component statement: subject = the component file, claims from
/// `component.toml`, evidence = the component's SBOM and VEX digests.
pub fn component_statement(
    artifact: Artifact<'_>,
    claims: &ComponentClaims,
    sbom: Option<Artifact<'_>>,
    vex: Option<Artifact<'_>>,
) -> Result<Statement, AttestError> {
    claims.validate()?;
    let digest = Evidence::for_bytes(artifact.name, artifact.data);
    let mut list = vec![predicates::claim_with(
        "component-identity",
        predicates::REQ_COMPONENT,
        json!({
            "name": claims.component.name,
            "version": claims.component.version,
            "purl": claims.component.purl,
            "cpe": claims.component.cpe,
            "sha512": digest.digest.get("sha512"),
        }),
        digest.clone(),
    )];
    if let Some(sbom) = sbom {
        list.push(predicates::claim_with(
            "sbom",
            predicates::REQ_SBOM,
            json!({"format": "CycloneDX"}),
            Evidence::for_bytes(sbom.name, sbom.data),
        ));
    }
    list.push(predicates::claim(
        "support-period",
        predicates::REQ_SUPPORT,
        json!({"end": claims.support.end.to_string()}),
    ));
    list.push(predicates::claim(
        "vulnerability-disclosure",
        predicates::REQ_DISCLOSURE,
        json!({
            "contact": claims.vulnerability_disclosure.contact,
            "policy-url": claims.vulnerability_disclosure.policy_url,
        }),
    ));
    let statement = match (claims.known_vulnerabilities.statement, vex) {
        (VulnerabilityStatement::NoneKnown, _) => predicates::claim(
            "known-vulnerabilities",
            predicates::REQ_VULNS,
            json!({"statement": "none-known"}),
        ),
        (VulnerabilityStatement::Vex, Some(vex)) => predicates::claim_with(
            "known-vulnerabilities",
            predicates::REQ_VULNS,
            json!({"statement": "vex"}),
            Evidence::for_bytes(vex.name, vex.data),
        ),
        (VulnerabilityStatement::Vex, None) => {
            return Err(AttestError::claim(
                "known-vulnerabilities.statement",
                "a VEX document (`--vex FILE`) when the statement is `vex`",
            ));
        }
    };
    list.push(statement);
    let party = Party {
        role: "supplier".to_owned(),
        name: claims.supplier.name.clone(),
        contact: claims.supplier.contact.clone(),
    };
    let predicate = liability(predicates::COMPONENT_V01, party, list)?;
    Ok(Statement::new(
        subjects(&[artifact])?,
        predicates::COMPONENT_V01,
        predicate,
    ))
}

/// The manufacturer's product statement: subjects = the firmware images, claims from the product
/// file (the same one that fed the SBOM), evidence = the SBOM, the VEX and the supplier materials.
pub fn product_statement(
    firmware: &[Artifact<'_>],
    product: &ProductFile,
    sbom: Artifact<'_>,
    vex: Option<Artifact<'_>>,
    materials: &[Artifact<'_>],
) -> Result<Statement, AttestError> {
    validate_product(product)?;
    let value = |field: &str, v: serde_json::Value| -> Result<serde_json::Value, AttestError> {
        serde_json::to_value(v).map_err(|source| {
            let _ = field;
            AttestError::Json {
                what: "product claims",
                source,
            }
        })
    };
    let mut list = vec![
        predicates::claim(
            "product-identity",
            predicates::REQ_IDENTITY,
            value(
                "product",
                serde_json::to_value(&product.product).unwrap_or_default(),
            )?,
        ),
        predicates::claim(
            "manufacturer-contact",
            predicates::REQ_CONTACT,
            serde_json::to_value(&product.manufacturer).unwrap_or_default(),
        ),
        predicates::claim(
            "support-period",
            predicates::REQ_SUPPORT,
            serde_json::to_value(&product.support).unwrap_or_default(),
        ),
        predicates::claim(
            "vulnerability-disclosure",
            predicates::REQ_DISCLOSURE,
            serde_json::to_value(&product.vulnerability_disclosure).unwrap_or_default(),
        ),
    ];
    if let Some(security) = &product.security {
        if let Some(scheme) = security.password_scheme {
            list.push(predicates::claim(
                "password-scheme",
                predicates::REQ_PASSWORD,
                serde_json::to_value(scheme).unwrap_or_default(),
            ));
        }
        if let Some(update) = &security.update_mechanism {
            list.push(predicates::claim(
                "update-mechanism",
                predicates::REQ_UPDATES,
                serde_json::to_value(update).unwrap_or_default(),
            ));
        }
        if let Some(debug_off) = security.debug_interfaces_disabled {
            list.push(predicates::claim(
                "secure-defaults",
                predicates::REQ_DEFAULTS,
                json!({"debug-interfaces-disabled": debug_off}),
            ));
        }
        if let Some(keys) = security.device_keys {
            list.push(predicates::claim(
                "device-keys",
                predicates::REQ_KEYS,
                serde_json::to_value(keys).unwrap_or_default(),
            ));
        }
        if let Some(services) = &security.exposed_services {
            list.push(predicates::claim(
                "exposed-services",
                predicates::REQ_SERVICES,
                serde_json::to_value(services).unwrap_or_default(),
            ));
        }
        if !security.declared_findings.is_empty() {
            list.push(predicates::claim(
                "declared-findings",
                predicates::REQ_DEFAULTS,
                serde_json::to_value(&security.declared_findings).unwrap_or_default(),
            ));
        }
    }
    list.push(predicates::claim_with(
        "sbom",
        predicates::REQ_SBOM,
        json!({"format": "CycloneDX"}),
        Evidence::for_bytes(sbom.name, sbom.data),
    ));
    let mut vulns = predicates::claim(
        "vulnerability-status",
        predicates::REQ_VULNS,
        json!({"vex": vex.is_some()}),
    );
    if let Some(vex) = vex {
        vulns.evidence.push(Evidence::for_bytes(vex.name, vex.data));
    }
    list.push(vulns);
    if let Some(conformity) = &product.conformity {
        let mut claim = predicates::claim(
            "conformity",
            predicates::REQ_CONFORMITY,
            serde_json::to_value(conformity).unwrap_or_default(),
        );
        if let Some(digest) = &conformity.declaration_sha256 {
            let mut map = std::collections::BTreeMap::new();
            map.insert("sha256".to_owned(), digest.to_hex());
            claim.evidence.push(Evidence {
                name: "declaration-of-conformity".to_owned(),
                digest: map,
            });
        }
        list.push(claim);
    }
    if let Some(labels) = &product.labels {
        list.push(predicates::claim(
            "labels",
            predicates::REQ_LABELS,
            serde_json::to_value(labels).unwrap_or_default(),
        ));
    }
    if let Some(soc) = &product.uk_statement_of_compliance {
        list.push(predicates::claim(
            "uk-statement-of-compliance",
            predicates::REQ_UK_SOC,
            serde_json::to_value(soc).unwrap_or_default(),
        ));
    }
    if !materials.is_empty() {
        list.push(Claim {
            id: "supplier-attestations".to_owned(),
            requirements: predicates::REQ_COMPONENT
                .iter()
                .map(|r| (*r).to_owned())
                .collect(),
            value: json!({"count": materials.len()}),
            evidence: materials
                .iter()
                .map(|m| Evidence::for_bytes(m.name, m.data))
                .collect(),
        });
    }
    let party = Party {
        role: "manufacturer".to_owned(),
        name: product.manufacturer.name.clone().unwrap_or_default(),
        contact: product
            .manufacturer
            .email
            .clone()
            .or_else(|| product.manufacturer.url.clone())
            .unwrap_or_default(),
    };
    let predicate = liability(predicates::PRODUCT_V01, party, list)?;
    Ok(Statement::new(
        subjects(firmware)?,
        predicates::PRODUCT_V01,
        predicate,
    ))
}

/// A CycloneDX SBOM statement: subjects = the artifacts, predicate = the SBOM JSON.
pub fn sbom_statement(
    artifacts: &[Artifact<'_>],
    sbom_json: &[u8],
) -> Result<Statement, AttestError> {
    let sbom: serde_json::Value = crate::read_json(sbom_json, "CycloneDX SBOM")?;
    Predicate::parse(CYCLONEDX_BOM, &sbom)?;
    Ok(Statement::new(subjects(artifacts)?, CYCLONEDX_BOM, sbom))
}

/// A VEX statement about artifacts: subjects = the artifacts (the firmware), predicate = the
/// VEX document, typed [`predicates::OPENVEX_V020`] for OpenVEX,
/// [`predicates::CSAF_VEX_V20`] for CSAF 2.0 VEX and [`predicates::CYCLONEDX_VEX`] for
/// CycloneDX VEX. The caller checks the statements themselves (consign-vuln reads them); this
/// checks the document's shape.
pub fn vex_statement(
    artifacts: &[Artifact<'_>],
    vex_json: &[u8],
) -> Result<Statement, AttestError> {
    let vex: serde_json::Value =
        serde_json::from_slice(vex_json).map_err(|source| AttestError::Json {
            what: "VEX document",
            source,
        })?;
    let predicate_type = if vex.get("@context").is_some() {
        predicates::OPENVEX_V020
    } else if vex.get("document").is_some() {
        predicates::CSAF_VEX_V20
    } else {
        predicates::CYCLONEDX_VEX
    };
    Predicate::parse(predicate_type, &vex)?;
    Ok(Statement::new(subjects(artifacts)?, predicate_type, vex))
}

/// An SLSA Provenance v1 statement for a release: the builder id, the firmware as subjects, the
/// materials (supplier attestations, SBOM) as resolved dependencies.
pub fn provenance_statement(
    artifacts: &[Artifact<'_>],
    builder_id: &str,
    materials: &[Artifact<'_>],
) -> Result<Statement, AttestError> {
    if builder_id.trim().is_empty() {
        return Err(AttestError::claim(
            "builder-id",
            "a URI naming who built the release",
        ));
    }
    let provenance = SlsaProvenance {
        build_definition: BuildDefinition {
            build_type: RELEASE_BUILD_TYPE.to_owned(),
            external_parameters: json!({
                "artifacts": artifacts.iter().map(|a| a.name).collect::<Vec<_>>(),
            }),
            internal_parameters: None,
            resolved_dependencies: materials
                .iter()
                .map(|m| {
                    let evidence = Evidence::for_bytes(m.name, m.data);
                    ResourceDescriptor {
                        uri: None,
                        digest: evidence.digest,
                        name: Some(m.name.to_owned()),
                    }
                })
                .collect(),
        },
        run_details: RunDetails {
            builder: Builder {
                id: builder_id.to_owned(),
            },
            metadata: None,
        },
    };
    let value = Predicate::SlsaProvenance(Box::new(provenance)).to_value();
    Ok(Statement::new(
        subjects(artifacts)?,
        predicates::SLSA_PROVENANCE_V1,
        value,
    ))
}

/// The distributor's custody statement: subjects = the firmware images of the lot, claims from
/// `lot.toml`, and the digests of the upstream attestations relied on (the chain of custody).
pub fn custody_statement(
    firmware: &[Artifact<'_>],
    claims: &CustodyClaims,
    upstream: &[Artifact<'_>],
) -> Result<Statement, AttestError> {
    custody_statement_for_subjects(subjects(firmware)?, claims, upstream)
}

/// The subjects of the upstream attestations, deduplicated by SHA-256: what a distributor who
/// holds no firmware file vouches it received. The envelopes are read, not verified: the
/// distributor binds their digests, the verifier checks their signatures.
pub fn upstream_subjects(upstream: &[Artifact<'_>]) -> Result<Vec<Subject>, AttestError> {
    let mut out: Vec<Subject> = Vec::new();
    for file in upstream {
        for envelope in read_envelopes(file.data)? {
            if envelope.payload_type != INTOTO_PAYLOAD_TYPE {
                continue;
            }
            let statement = Statement::from_json(&envelope.payload)?;
            for subject in statement.subject {
                let key = subject.digest.get("sha256").cloned();
                if key.is_some()
                    && !out
                        .iter()
                        .any(|seen| seen.digest.get("sha256") == key.as_ref())
                {
                    out.push(subject);
                }
            }
        }
    }
    Ok(out)
}

/// [`custody_statement`] with the subjects given directly (see [`upstream_subjects`]).
pub fn custody_statement_for_subjects(
    subject_list: Vec<Subject>,
    claims: &CustodyClaims,
    upstream: &[Artifact<'_>],
) -> Result<Statement, AttestError> {
    claims.validate()?;
    if subject_list.is_empty() {
        return Err(AttestError::Signing {
            reason: "a custody attestation needs at least one firmware digest: give the firmware files, or upstream attestations about them".to_owned(),
        });
    }
    let lot = &claims.lot;
    let mut list = vec![
        predicates::claim(
            "lot",
            predicates::REQ_CUSTODY,
            json!({
                "id": lot.id,
                "batch": lot.batch,
                "gtin": lot.gtin,
                "hs-code": lot.hs_code,
                "serial-ranges": lot.serial_ranges.iter().map(|r| json!({"first": r.first, "last": r.last})).collect::<Vec<_>>(),
                "importer": lot.importer,
                "eori": lot.eori,
            }),
        ),
        predicates::claim(
            "received",
            predicates::REQ_CUSTODY,
            json!({"party": claims.received.party, "date": claims.received.date.to_string()}),
        ),
    ];
    if let Some(shipped) = &claims.shipped {
        list.push(predicates::claim(
            "shipped",
            predicates::REQ_CUSTODY,
            json!({"party": shipped.party, "date": shipped.date.to_string()}),
        ));
    }
    list.push(Claim {
        id: "firmware-digests".to_owned(),
        requirements: predicates::REQ_CUSTODY
            .iter()
            .map(|r| (*r).to_owned())
            .collect(),
        value: json!({"count": subject_list.len()}),
        evidence: subject_list
            .iter()
            .map(|s| Evidence {
                name: s.name.clone(),
                digest: s.digest.clone(),
            })
            .collect(),
    });
    list.push(Claim {
        id: "upstream-attestations".to_owned(),
        requirements: predicates::REQ_CUSTODY
            .iter()
            .map(|r| (*r).to_owned())
            .collect(),
        value: json!({"count": upstream.len()}),
        evidence: upstream
            .iter()
            .map(|u| Evidence::for_bytes(u.name, u.data))
            .collect(),
    });
    list.push(predicates::claim(
        "due-care-checks",
        predicates::REQ_DUE_CARE,
        json!(
            claims
                .checks
                .iter()
                .map(|c| json!({"id": c.id, "result": c.result, "note": c.note}))
                .collect::<Vec<_>>()
        ),
    ));
    let party = Party {
        role: "distributor".to_owned(),
        name: claims.distributor.name.clone(),
        contact: claims.distributor.contact.clone(),
    };
    let predicate = liability(predicates::CUSTODY_V01, party, list)?;
    Ok(Statement::new(
        subject_list,
        predicates::CUSTODY_V01,
        predicate,
    ))
}

/// One check the importer or retailer ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarketCheckItem {
    /// The check's id (kebab-case).
    pub id: String,
    /// Its result.
    pub result: CheckResult,
    /// Why, in one line.
    pub reason: String,
}

/// Data a verdict rested on that is not an attestation: one source of the vulnerability
/// database the known-vulnerability check matched against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataSource {
    /// Where it came from (the path given to the import).
    pub name: String,
    /// What it holds (`nvd`, `osv`, `kev`, `epss`, comma-separated).
    pub kinds: String,
    /// The newest date its data states.
    pub date: Option<String>,
    /// SHA-256 (hex) of its bytes.
    pub sha256: String,
}

/// What the importer or retailer's verdict says; the verifier fills it in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarketCheck {
    /// `importer` or `retailer`.
    pub role: String,
    /// The party's name.
    pub name: String,
    /// Its contact.
    pub contact: String,
    /// The policy id (e.g. `eu-cra-import`).
    pub policy_id: String,
    /// The digest of the policy file applied.
    pub policy_sha256: String,
    /// `true` when the shipment was accepted.
    pub accepted: bool,
    /// The checks run.
    pub checks: Vec<MarketCheckItem>,
    /// Until when the documents are kept (`YYYY-MM-DD`).
    pub retention_until: consign_model::Date,
    /// When the check ran (RFC 3339), given by the caller: libraries never read the clock.
    pub time_verified: String,
    /// The attestations the verdict relied on.
    pub inputs: Vec<(String, Vec<u8>)>,
    /// The vulnerability data the verdict relied on (empty: none was matched against). The
    /// market check carries it as the claim `vulnerability-database`, the VSA as input
    /// descriptors named `vulnerability-data:<kinds>`, so a later reader knows what was known
    /// when.
    pub data_sources: Vec<DataSource>,
}

/// The importer's market-check statement and the standard SLSA VSA that goes with it.
pub fn market_check_statements(
    artifacts: &[Artifact<'_>],
    check: &MarketCheck,
) -> Result<(Statement, Statement), AttestError> {
    let inputs: Vec<Evidence> = check
        .inputs
        .iter()
        .map(|(name, data)| Evidence::for_bytes(name, data))
        .collect();
    let mut policy_digest = std::collections::BTreeMap::new();
    policy_digest.insert("sha256".to_owned(), check.policy_sha256.clone());
    let list = vec![
        Claim {
            id: "policy-result".to_owned(),
            requirements: predicates::REQ_MARKET
                .iter()
                .map(|r| (*r).to_owned())
                .collect(),
            value: json!({"policy": check.policy_id, "result": if check.accepted { "accepted" } else { "rejected" }}),
            evidence: vec![Evidence {
                name: format!("policy:{}", check.policy_id),
                digest: policy_digest.clone(),
            }],
        },
        predicates::claim(
            "checks",
            predicates::REQ_MARKET,
            json!(
                check
                    .checks
                    .iter()
                    .map(|c| json!({"id": c.id, "result": c.result, "reason": c.reason}))
                    .collect::<Vec<_>>()
            ),
        ),
        predicates::claim(
            "retention",
            predicates::REQ_MARKET,
            json!({"until": check.retention_until.to_string()}),
        ),
        Claim {
            id: "input-attestations".to_owned(),
            requirements: predicates::REQ_MARKET
                .iter()
                .map(|r| (*r).to_owned())
                .collect(),
            value: json!({"count": inputs.len()}),
            evidence: inputs.clone(),
        },
    ];
    let mut list = list;
    let data: Vec<(String, Evidence)> = check
        .data_sources
        .iter()
        .map(|source| {
            let mut digest = std::collections::BTreeMap::new();
            digest.insert("sha256".to_owned(), source.sha256.clone());
            (
                format!("vulnerability-data:{}", source.kinds),
                Evidence {
                    name: source.name.clone(),
                    digest,
                },
            )
        })
        .collect();
    if !check.data_sources.is_empty() {
        list.push(Claim {
            id: "vulnerability-database".to_owned(),
            requirements: predicates::REQ_MARKET
                .iter()
                .map(|r| (*r).to_owned())
                .collect(),
            value: json!({"sources": check.data_sources.iter().map(|s| json!({
                "name": s.name, "kinds": s.kinds, "date": s.date, "sha256": s.sha256,
            })).collect::<Vec<_>>()}),
            evidence: data.iter().map(|(_, e)| e.clone()).collect(),
        });
    }
    let party = Party {
        role: check.role.clone(),
        name: check.name.clone(),
        contact: check.contact.clone(),
    };
    let predicate = liability(predicates::MARKET_CHECK_V01, party, list)?;
    let market = Statement::new(
        subjects(artifacts)?,
        predicates::MARKET_CHECK_V01,
        predicate,
    );
    let vsa = SlsaVsa {
        verifier: Builder {
            id: format!("https://consign.dev/verifier/{}", check.role),
        },
        time_verified: check.time_verified.clone(),
        resource_uri: artifacts
            .first()
            .map(|a| a.name.to_owned())
            .unwrap_or_default(),
        policy: ResourceDescriptor {
            uri: Some(format!("https://consign.dev/policy/{}", check.policy_id)),
            digest: policy_digest,
            name: None,
        },
        input_attestations: inputs
            .into_iter()
            .map(|e| ResourceDescriptor {
                uri: Some(e.name),
                digest: e.digest,
                name: None,
            })
            .chain(data.into_iter().map(|(name, e)| ResourceDescriptor {
                uri: Some(e.name),
                digest: e.digest,
                name: Some(name),
            }))
            .collect(),
        verification_result: if check.accepted { "PASSED" } else { "FAILED" }.to_owned(),
        verified_levels: vec![format!(
            "CONSIGN_POLICY_{}",
            check.policy_id.to_ascii_uppercase().replace('-', "_")
        )],
    };
    let vsa_value = Predicate::SlsaVsa(Box::new(vsa)).to_value();
    let vsa = Statement::new(subjects(artifacts)?, predicates::SLSA_VSA_V1, vsa_value);
    Ok((market, vsa))
}

/// Signs a statement as an in-toto DSSE envelope.
pub fn sign_statement(
    statement: &Statement,
    signers: &[&dyn Signer],
) -> Result<Envelope, AttestError> {
    dsse::sign(INTOTO_PAYLOAD_TYPE, &statement.to_json(), signers)
}

/// Signs a statement as a Sigstore bundle v0.3.
pub fn sign_statement_bundle(
    statement: &Statement,
    signer: &dyn Signer,
) -> Result<Bundle, AttestError> {
    Bundle::sign(INTOTO_PAYLOAD_TYPE, &statement.to_json(), signer)
}

/// Supplier: signs the component statement ([`component_statement`]).
pub fn attest_component(
    signer: &dyn Signer,
    artifact: Artifact<'_>,
    claims: &ComponentClaims,
    sbom: Option<Artifact<'_>>,
    vex: Option<Artifact<'_>>,
) -> Result<Envelope, AttestError> {
    sign_statement(
        &component_statement(artifact, claims, sbom, vex)?,
        &[signer],
    )
}

/// Supplier or manufacturer: signs a CycloneDX SBOM statement ([`sbom_statement`]).
pub fn attest_sbom(
    signer: &dyn Signer,
    artifacts: &[Artifact<'_>],
    sbom_json: &[u8],
) -> Result<Envelope, AttestError> {
    sign_statement(&sbom_statement(artifacts, sbom_json)?, &[signer])
}

/// Manufacturer: signs the release. Returns three envelopes: the product claims
/// ([`product_statement`]), the SBOM ([`sbom_statement`]) and the provenance
/// ([`provenance_statement`], materials = supplier attestations + SBOM).
pub fn attest_release(
    signer: &dyn Signer,
    firmware: &[Artifact<'_>],
    product: &ProductFile,
    sbom: Artifact<'_>,
    vex: Option<Artifact<'_>>,
    materials: &[Artifact<'_>],
    builder_id: &str,
) -> Result<Vec<Envelope>, AttestError> {
    let product_st = product_statement(firmware, product, sbom, vex, materials)?;
    let sbom_st = sbom_statement(firmware, sbom.data)?;
    let mut all_materials = materials.to_vec();
    all_materials.push(sbom);
    let provenance_st = provenance_statement(firmware, builder_id, &all_materials)?;
    [product_st, sbom_st, provenance_st]
        .iter()
        .map(|statement| sign_statement(statement, &[signer]))
        .collect()
}

/// Distributor: signs the custody statement ([`custody_statement`]).
pub fn attest_custody(
    signer: &dyn Signer,
    firmware: &[Artifact<'_>],
    claims: &CustodyClaims,
    upstream: &[Artifact<'_>],
) -> Result<Envelope, AttestError> {
    sign_statement(&custody_statement(firmware, claims, upstream)?, &[signer])
}

/// A verified attestation: the signature checked, the statement parsed from exactly the
/// verified bytes, the predicate parsed by type (fail closed), the subject matched by digest.
#[derive(Clone, Debug)]
pub struct VerifiedAttestation {
    /// The statement.
    pub statement: Statement,
    /// The typed predicate.
    pub predicate: Predicate,
    /// The subject that names the artifact.
    pub subject: Subject,
    /// The trusted keys whose signatures verified.
    pub signed_by: Vec<PublicKey>,
}

/// Reads every envelope in a file: a JSON envelope, an `.intoto.jsonl` file (one a line) or a
/// Sigstore bundle (detected by its `mediaType`).
pub fn read_envelopes(bytes: &[u8]) -> Result<Vec<Envelope>, AttestError> {
    /// Only the key that tells a bundle from an envelope; everything else is skipped cheaply.
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(rename = "mediaType")]
        media_type: Option<serde::de::IgnoredAny>,
    }
    if bytes.len() <= dsse::MAX_ENVELOPE_BYTES
        && let Ok(Probe {
            media_type: Some(_),
        }) = serde_json::from_slice::<Probe>(bytes)
    {
        return Bundle::from_json(bytes).map(|bundle| vec![bundle.envelope]);
    }
    dsse::parse_jsonl(bytes)
}

/// Verifies one envelope against the artifact and the trusted keys (threshold 1): the
/// signature, then the statement (parsed from the verified bytes only), then the predicate type,
/// then the subject digest.
pub fn verify_envelope(
    envelope: &Envelope,
    artifact: &[u8],
    keys: &[PublicKey],
) -> Result<VerifiedAttestation, AttestError> {
    let verified = dsse::verify(envelope, keys, 1)?;
    if verified.payload_type != INTOTO_PAYLOAD_TYPE {
        return Err(AttestError::field(
            "DSSE envelope",
            "payloadType",
            format!("`{INTOTO_PAYLOAD_TYPE}`, found `{}`", verified.payload_type),
        ));
    }
    let statement = Statement::from_json(&verified.payload)?;
    let predicate = Predicate::parse(&statement.predicate_type, &statement.predicate)?;
    let subject = statement.subject_for(artifact)?.clone();
    Ok(VerifiedAttestation {
        statement,
        predicate,
        subject,
        signed_by: verified.signed_by,
    })
}

/// Verifies an attestation file (envelope, `.intoto.jsonl` or bundle) against an artifact:
/// every envelope in it must verify. Returns one result per envelope, in file order.
pub fn verify_attestation(
    bytes: &[u8],
    artifact: &[u8],
    keys: &[PublicKey],
) -> Result<Vec<VerifiedAttestation>, AttestError> {
    let envelopes = read_envelopes(bytes)?;
    if envelopes.is_empty() {
        return Err(AttestError::field(
            "attestation file",
            "(content)",
            "at least one envelope",
        ));
    }
    envelopes
        .iter()
        .map(|envelope| verify_envelope(envelope, artifact, keys))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::product_from_toml;
    use crate::keys::{KeyAlgorithm, PrivateKey};

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../fixtures/attest/claims")
                .join(name),
        )
        .unwrap()
    }

    const SBOM: &[u8] = br#"{"bomFormat":"CycloneDX","specVersion":"1.6","version":1}"#;

    #[test]
    fn supplier_manufacturer_distributor_chain() {
        let supplier = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let manufacturer = PrivateKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
        let distributor = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let part = Artifact {
            name: "wifi.bin",
            data: b"wifi firmware",
        };
        let component = ComponentClaims::from_toml(&fixture("component.toml")).unwrap();
        let supplier_env = attest_component(
            &supplier,
            part,
            &component,
            Some(Artifact {
                name: "wifi.cdx.json",
                data: SBOM,
            }),
            None,
        )
        .unwrap();
        let supplier_file = dsse::to_jsonl(&[supplier_env]);
        let verified = verify_attestation(
            supplier_file.as_bytes(),
            part.data,
            &[supplier.public_key()],
        )
        .unwrap();
        let Predicate::Component(body) = &verified[0].predicate else {
            panic!()
        };
        assert_eq!(body.party.role, "supplier");
        assert!(body.claim("component-identity").is_some());

        let fw = Artifact {
            name: "fw.img",
            data: b"main firmware",
        };
        let product = product_from_toml(&fixture("product.toml")).unwrap();
        let release = attest_release(
            &manufacturer,
            &[fw],
            &product,
            Artifact {
                name: "fw.cdx.json",
                data: SBOM,
            },
            None,
            &[Artifact {
                name: "wifi.intoto.jsonl",
                data: supplier_file.as_bytes(),
            }],
            "https://devices.example.com/build",
        )
        .unwrap();
        assert_eq!(release.len(), 3);
        let release_file = dsse::to_jsonl(&release);
        let verified = verify_attestation(
            release_file.as_bytes(),
            fw.data,
            &[manufacturer.public_key()],
        )
        .unwrap();
        let types: Vec<_> = verified
            .iter()
            .map(|v| v.predicate.predicate_type())
            .collect();
        assert_eq!(
            types,
            [
                predicates::PRODUCT_V01,
                CYCLONEDX_BOM,
                predicates::SLSA_PROVENANCE_V1
            ]
        );
        // The wrong artifact is a subject mismatch, the wrong key a threshold failure.
        assert!(matches!(
            verify_attestation(
                release_file.as_bytes(),
                b"other",
                &[manufacturer.public_key()]
            ),
            Err(AttestError::SubjectMismatch { .. })
        ));
        assert!(matches!(
            verify_attestation(release_file.as_bytes(), fw.data, &[supplier.public_key()]),
            Err(AttestError::ThresholdNotMet { .. })
        ));

        let lot = CustodyClaims::from_toml(&fixture("lot.toml")).unwrap();
        let custody = attest_custody(
            &distributor,
            &[fw],
            &lot,
            &[Artifact {
                name: "release.intoto.jsonl",
                data: release_file.as_bytes(),
            }],
        )
        .unwrap();
        let bundle = Bundle::from_envelope(custody, &distributor.public_key().keyid()).unwrap();
        let verified = verify_attestation(
            bundle.to_json().as_bytes(),
            fw.data,
            &[distributor.public_key()],
        )
        .unwrap();
        let Predicate::Custody(body) = &verified[0].predicate else {
            panic!()
        };
        let upstream = body.claim("upstream-attestations").unwrap();
        assert_eq!(
            upstream.evidence[0].digest["sha256"],
            Evidence::for_bytes("x", release_file.as_bytes()).digest["sha256"]
        );
    }

    #[test]
    fn market_check_and_vsa() {
        let fw = Artifact {
            name: "fw.img",
            data: b"fw",
        };
        let check = MarketCheck {
            role: "importer".to_owned(),
            name: "Importer Oy".to_owned(),
            contact: "compliance@importer.example".to_owned(),
            policy_id: "eu-cra-import".to_owned(),
            policy_sha256: "00".repeat(32),
            accepted: true,
            checks: vec![MarketCheckItem {
                id: "signatures".to_owned(),
                result: CheckResult::Pass,
                reason: "all valid".to_owned(),
            }],
            retention_until: "2036-03-01".parse().unwrap(),
            time_verified: "2026-03-01T10:00:00Z".to_owned(),
            inputs: vec![("release.intoto.jsonl".to_owned(), b"x".to_vec())],
            data_sources: vec![DataSource {
                name: "kev.json".to_owned(),
                kinds: "kev".to_owned(),
                date: Some("2025-08-25".to_owned()),
                sha256: "11".repeat(32),
            }],
        };
        let (market, vsa) = market_check_statements(&[fw], &check).unwrap();
        assert!(matches!(
            Predicate::parse(&market.predicate_type, &market.predicate).unwrap(),
            Predicate::MarketCheck(_)
        ));
        assert_eq!(vsa.predicate["verificationResult"], "PASSED");
        assert_eq!(
            vsa.predicate["inputAttestations"][1]["name"],
            "vulnerability-data:kev"
        );
        assert_eq!(
            vsa.predicate["inputAttestations"][1]["digest"]["sha256"],
            "11".repeat(32)
        );
        assert!(
            String::from_utf8(market.to_json())
                .unwrap()
                .contains("\"vulnerability-database\"")
        );
    }

    #[test]
    fn unknown_payload_type_and_predicate_fail_closed() {
        let key = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let statement = Statement::for_artifact(
            "a",
            b"a",
            "https://consign.dev/attestation/product/v9",
            json!({}),
        );
        let envelope = sign_statement(&statement, &[&key]).unwrap();
        assert!(matches!(
            verify_envelope(&envelope, b"a", &[key.public_key()]),
            Err(AttestError::UnknownPredicate { .. })
        ));
        let envelope = dsse::sign("application/json", &statement.to_json(), &[&key]).unwrap();
        let err = verify_envelope(&envelope, b"a", &[key.public_key()]).unwrap_err();
        assert!(err.to_string().contains("payloadType"), "{err}");
    }

    #[test]
    fn vex_statement_needs_a_vex_file() {
        let mut component = ComponentClaims::from_toml(&fixture("component.toml")).unwrap();
        component.known_vulnerabilities.statement = VulnerabilityStatement::Vex;
        let err = component_statement(
            Artifact {
                name: "a",
                data: b"a",
            },
            &component,
            None,
            None,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("known-vulnerabilities.statement"),
            "{err}"
        );
    }
}
