//! Typed predicates: the standard ones (CycloneDX SBOM, SLSA Provenance v1, SLSA VSA v1, in-toto
//! link v0.3) and consign's shared-liability predicates (component, product, custody,
//! market-check), each versioned under [`CONSIGN_NAMESPACE`].
//!
//! [`Predicate::parse`] fails closed: an unknown predicate type, or a known one at an unknown
//! version, is an [`AttestError::UnknownPredicate`], so a verifier never mistakes a document it
//! does not understand for one it does. consign's own predicates reject unknown fields too.
//!
//! Every shared-liability claim has the same shape ([`Claim`]): an id, the requirement references
//! it answers (`cra:annexI-2-1`, `etsi-en-303-645:5.3-13`, `uk-psti:sch1-3`), a value and the
//! digests of its evidence. The JSON schemas are in `schemas/predicates/<name>.v0.1.schema.json`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::AttestError;

/// The URI namespace of consign's own predicates: `<namespace>/<name>/v<version>`.
pub const CONSIGN_NAMESPACE: &str = "https://consign.dev/attestation";
/// Supplier: one component.
pub const COMPONENT_V01: &str = "https://consign.dev/attestation/component/v0.1";
/// Manufacturer: one product release.
pub const PRODUCT_V01: &str = "https://consign.dev/attestation/product/v0.1";
/// Distributor: custody of a lot.
pub const CUSTODY_V01: &str = "https://consign.dev/attestation/custody/v0.1";
/// Importer or retailer: the checks done before placing on the market.
pub const MARKET_CHECK_V01: &str = "https://consign.dev/attestation/market-check/v0.1";
/// CycloneDX SBOM (any spec version; the predicate is the BOM JSON).
pub const CYCLONEDX_BOM: &str = "https://cyclonedx.org/bom";
/// SLSA Provenance v1.
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
/// SLSA Verification Summary Attestation v1.
pub const SLSA_VSA_V1: &str = "https://slsa.dev/verification_summary/v1";
/// in-toto link v0.3.
pub const INTOTO_LINK_V03: &str = "https://in-toto.io/attestation/link/v0.3";
/// OpenVEX 0.2.0 (the predicate is the OpenVEX document).
pub const OPENVEX_V020: &str = "https://openvex.dev/ns/v0.2.0";
/// CycloneDX VEX (the predicate is a CycloneDX document with `vulnerabilities`); the type the
/// CycloneDX project suggested for VEX apart from SBOMs (CycloneDX/specification#132).
pub const CYCLONEDX_VEX: &str = "https://cyclonedx.org/vex";
/// CSAF 2.0 VEX (the predicate is a CSAF 2.0 document of category `csaf_vex`). Neither OASIS nor
/// in-toto registers a predicate type for CSAF; this is the CSAF 2.0 specification's namespace
/// (its JSON schema is `<this>/csaf_json_schema.json`), so the version is in the type.
pub const CSAF_VEX_V20: &str = "https://docs.oasis-open.org/csaf/csaf/v2.0";

/// Every predicate type [`Predicate::parse`] reads.
pub const KNOWN_PREDICATE_TYPES: &[&str] = &[
    COMPONENT_V01,
    PRODUCT_V01,
    CUSTODY_V01,
    MARKET_CHECK_V01,
    CYCLONEDX_BOM,
    SLSA_PROVENANCE_V1,
    SLSA_VSA_V1,
    INTOTO_LINK_V03,
    OPENVEX_V020,
    CYCLONEDX_VEX,
    CSAF_VEX_V20,
];

/// A digest of a piece of evidence, with a name saying what it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// What the evidence is, e.g. a file name or `sbom`.
    pub name: String,
    /// Digests by algorithm (`sha256`, `sha512`), lower-case hex.
    pub digest: BTreeMap<String, String>,
}

impl Evidence {
    /// Evidence for `data`, with its SHA-256 and SHA-512.
    pub fn for_bytes(name: &str, data: &[u8]) -> Self {
        let subject = crate::statement::Subject::for_bytes(name, data);
        Self {
            name: subject.name,
            digest: subject.digest,
        }
    }
}

/// One claim a party vouches for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// What is claimed, e.g. `support-period` (kebab-case).
    pub id: String,
    /// The requirements the claim answers, `<regime>:<clause>`.
    pub requirements: Vec<String>,
    /// The claimed value.
    pub value: serde_json::Value,
    /// Digests of the documents that back the claim.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
}

impl Claim {
    fn new(id: &str, requirements: &[&str], value: serde_json::Value) -> Self {
        Self {
            id: id.to_owned(),
            requirements: requirements.iter().map(|req| (*req).to_owned()).collect(),
            value,
            evidence: Vec::new(),
        }
    }

    fn with_evidence(mut self, evidence: Evidence) -> Self {
        self.evidence.push(evidence);
        self
    }
}

/// Who vouches: the party and its contact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    /// `supplier`, `manufacturer`, `distributor`, `importer` or `retailer`.
    pub role: String,
    /// The party's registered name.
    pub name: String,
    /// How to reach it (e-mail or URL).
    pub contact: String,
}

/// The body shared by consign's four predicates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiabilityPredicate {
    /// Who vouches.
    pub party: Party,
    /// What it vouches for.
    pub claims: Vec<Claim>,
}

impl LiabilityPredicate {
    /// The claim with this id, if present.
    pub fn claim(&self, id: &str) -> Option<&Claim> {
        self.claims.iter().find(|claim| claim.id == id)
    }
}

/// SLSA Provenance v1 (`https://slsa.dev/provenance/v1`): the fields consign reads; the open
/// parts stay JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlsaProvenance {
    /// How the build ran and from what.
    pub build_definition: BuildDefinition,
    /// Who ran it.
    pub run_details: RunDetails,
}

/// `buildDefinition` of SLSA Provenance v1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildDefinition {
    /// A URI naming the build template.
    pub build_type: String,
    /// The parameters the user controls.
    pub external_parameters: serde_json::Value,
    /// Parameters the platform set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_parameters: Option<serde_json::Value>,
    /// The materials the build used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved_dependencies: Vec<ResourceDescriptor>,
}

/// An in-toto resource descriptor (name, URI, digests).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDescriptor {
    /// A URI naming the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Digests by algorithm.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub digest: BTreeMap<String, String>,
    /// A name for the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `runDetails` of SLSA Provenance v1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunDetails {
    /// The build platform.
    pub builder: Builder,
    /// Invocation id and times, as the builder reported them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
}

/// `runDetails.builder` of SLSA Provenance v1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Builder {
    /// A URI naming the builder.
    pub id: String,
}

/// SLSA VSA v1 (`https://slsa.dev/verification_summary/v1`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlsaVsa {
    /// Who verified.
    pub verifier: Builder,
    /// When (RFC 3339), as given by the caller.
    pub time_verified: String,
    /// The resource verified.
    pub resource_uri: String,
    /// The policy applied.
    pub policy: ResourceDescriptor,
    /// The attestations the verdict relied on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_attestations: Vec<ResourceDescriptor>,
    /// `PASSED` or `FAILED`.
    pub verification_result: String,
    /// The SLSA levels (or other properties) verified.
    #[serde(default)]
    pub verified_levels: Vec<String>,
}

/// in-toto link v0.3 (`https://in-toto.io/attestation/link/v0.3`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntotoLink {
    /// The step's name.
    pub name: String,
    /// The command run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// The step's inputs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub materials: Vec<ResourceDescriptor>,
    /// Other results (stdout, return value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byproducts: Option<serde_json::Value>,
    /// The environment the step ran in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<serde_json::Value>,
}

/// A parsed predicate of a known type and version.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Predicate {
    /// Supplier: [`COMPONENT_V01`].
    Component(LiabilityPredicate),
    /// Manufacturer: [`PRODUCT_V01`].
    Product(LiabilityPredicate),
    /// Distributor: [`CUSTODY_V01`].
    Custody(LiabilityPredicate),
    /// Importer or retailer: [`MARKET_CHECK_V01`].
    MarketCheck(LiabilityPredicate),
    /// [`CYCLONEDX_BOM`]: the SBOM JSON itself.
    CycloneDx(serde_json::Value),
    /// [`SLSA_PROVENANCE_V1`].
    SlsaProvenance(Box<SlsaProvenance>),
    /// [`SLSA_VSA_V1`].
    SlsaVsa(Box<SlsaVsa>),
    /// [`INTOTO_LINK_V03`].
    IntotoLink(Box<IntotoLink>),
    /// [`OPENVEX_V020`]: the OpenVEX document itself (its statements are read by consign-vuln).
    OpenVex(serde_json::Value),
    /// [`CYCLONEDX_VEX`]: the CycloneDX VEX document itself.
    CycloneDxVex(serde_json::Value),
    /// [`CSAF_VEX_V20`]: the CSAF 2.0 VEX document itself.
    CsafVex(serde_json::Value),
}

impl Predicate {
    /// Parses `predicate` as `predicate_type`. Unknown types and versions are errors.
    pub fn parse(predicate_type: &str, predicate: &serde_json::Value) -> Result<Self, AttestError> {
        fn typed<T: serde::de::DeserializeOwned>(
            predicate_type: &str,
            predicate: &serde_json::Value,
        ) -> Result<T, AttestError> {
            T::deserialize(predicate).map_err(|err| {
                AttestError::field("predicate", predicate_type.to_owned(), err.to_string())
            })
        }
        let liability = |role: &[&str]| -> Result<LiabilityPredicate, AttestError> {
            let body: LiabilityPredicate = typed(predicate_type, predicate)?;
            if !role.contains(&body.party.role.as_str()) {
                return Err(AttestError::field(
                    "predicate",
                    "party.role",
                    format!(
                        "one of {role:?} for `{predicate_type}`, found `{}`",
                        body.party.role
                    ),
                ));
            }
            validate_claims(&body.claims, "claims")?;
            Ok(body)
        };
        Ok(match predicate_type {
            COMPONENT_V01 => Self::Component(liability(&["supplier"])?),
            PRODUCT_V01 => Self::Product(liability(&["manufacturer"])?),
            CUSTODY_V01 => Self::Custody(liability(&["distributor"])?),
            MARKET_CHECK_V01 => Self::MarketCheck(liability(&["importer", "retailer"])?),
            CYCLONEDX_BOM => {
                if predicate
                    .get("bomFormat")
                    .and_then(serde_json::Value::as_str)
                    != Some("CycloneDX")
                {
                    return Err(AttestError::field(
                        "predicate",
                        "bomFormat",
                        "`CycloneDX` (the predicate must be a CycloneDX JSON BOM)",
                    ));
                }
                Self::CycloneDx(predicate.clone())
            }
            SLSA_PROVENANCE_V1 => Self::SlsaProvenance(Box::new(typed(predicate_type, predicate)?)),
            SLSA_VSA_V1 => {
                let vsa: SlsaVsa = typed(predicate_type, predicate)?;
                if vsa.verification_result != "PASSED" && vsa.verification_result != "FAILED" {
                    return Err(AttestError::field(
                        "predicate",
                        "verificationResult",
                        format!("`PASSED` or `FAILED`, found `{}`", vsa.verification_result),
                    ));
                }
                Self::SlsaVsa(Box::new(vsa))
            }
            INTOTO_LINK_V03 => Self::IntotoLink(Box::new(typed(predicate_type, predicate)?)),
            OPENVEX_V020 => {
                if predicate
                    .get("@context")
                    .and_then(serde_json::Value::as_str)
                    != Some(OPENVEX_V020)
                    || !predicate
                        .get("statements")
                        .is_some_and(serde_json::Value::is_array)
                {
                    return Err(AttestError::field(
                        "predicate",
                        "@context",
                        "an OpenVEX 0.2.0 document (`@context` `https://openvex.dev/ns/v0.2.0`, `statements`)",
                    ));
                }
                Self::OpenVex(predicate.clone())
            }
            CYCLONEDX_VEX => {
                if predicate
                    .get("bomFormat")
                    .and_then(serde_json::Value::as_str)
                    != Some("CycloneDX")
                    || !predicate
                        .get("vulnerabilities")
                        .is_some_and(serde_json::Value::is_array)
                {
                    return Err(AttestError::field(
                        "predicate",
                        "vulnerabilities",
                        "a CycloneDX document with `vulnerabilities` (CycloneDX VEX)",
                    ));
                }
                Self::CycloneDxVex(predicate.clone())
            }
            CSAF_VEX_V20 => {
                let text = |pointer: &str| {
                    predicate
                        .pointer(pointer)
                        .and_then(serde_json::Value::as_str)
                };
                if text("/document/category") != Some("csaf_vex") {
                    return Err(AttestError::field(
                        "predicate",
                        "document.category",
                        "`csaf_vex` (the predicate must be a CSAF VEX document)",
                    ));
                }
                if text("/document/csaf_version") != Some("2.0") {
                    return Err(AttestError::field(
                        "predicate",
                        "document.csaf_version",
                        format!("`2.0` for `{CSAF_VEX_V20}`"),
                    ));
                }
                if !predicate
                    .get("vulnerabilities")
                    .is_some_and(serde_json::Value::is_array)
                {
                    return Err(AttestError::field(
                        "predicate",
                        "vulnerabilities",
                        "an array (a CSAF VEX document states the status of vulnerabilities)",
                    ));
                }
                Self::CsafVex(predicate.clone())
            }
            other => {
                return Err(AttestError::UnknownPredicate {
                    predicate_type: other.chars().take(200).collect(),
                    known: KNOWN_PREDICATE_TYPES.join(", "),
                });
            }
        })
    }

    /// The predicate type URI of this predicate.
    pub fn predicate_type(&self) -> &'static str {
        match self {
            Self::Component(_) => COMPONENT_V01,
            Self::Product(_) => PRODUCT_V01,
            Self::Custody(_) => CUSTODY_V01,
            Self::MarketCheck(_) => MARKET_CHECK_V01,
            Self::CycloneDx(_) => CYCLONEDX_BOM,
            Self::SlsaProvenance(_) => SLSA_PROVENANCE_V1,
            Self::SlsaVsa(_) => SLSA_VSA_V1,
            Self::IntotoLink(_) => INTOTO_LINK_V03,
            Self::OpenVex(_) => OPENVEX_V020,
            Self::CycloneDxVex(_) => CYCLONEDX_VEX,
            Self::CsafVex(_) => CSAF_VEX_V20,
        }
    }

    /// The predicate as JSON.
    pub fn to_value(&self) -> serde_json::Value {
        let value = match self {
            Self::Component(body)
            | Self::Product(body)
            | Self::Custody(body)
            | Self::MarketCheck(body) => serde_json::to_value(body),
            Self::CycloneDx(value)
            | Self::OpenVex(value)
            | Self::CycloneDxVex(value)
            | Self::CsafVex(value) => Ok(value.clone()),
            Self::SlsaProvenance(body) => serde_json::to_value(body),
            Self::SlsaVsa(body) => serde_json::to_value(body),
            Self::IntotoLink(body) => serde_json::to_value(body),
        };
        value.unwrap_or_default()
    }
}

/// Checks the shape every claim must have: a kebab-case id, at least one `<regime>:<clause>`
/// requirement, and evidence digests of the right length.
pub fn validate_claims(claims: &[Claim], field: &str) -> Result<(), AttestError> {
    for (idx, claim) in claims.iter().enumerate() {
        let at = format!("{field}[{idx}]");
        if claim.id.is_empty()
            || !claim
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(AttestError::field(
                "predicate",
                format!("{at}.id"),
                format!(
                    "a kebab-case id such as `support-period`, found `{}`",
                    claim.id
                ),
            ));
        }
        if claim.requirements.is_empty() {
            return Err(AttestError::field(
                "predicate",
                format!("{at}.requirements"),
                "at least one requirement reference such as `cra:annexI-2-1`",
            ));
        }
        for (req_idx, requirement) in claim.requirements.iter().enumerate() {
            let valid = requirement.split_once(':').is_some_and(|(regime, clause)| {
                !regime.is_empty()
                    && !clause.is_empty()
                    && !requirement.contains(char::is_whitespace)
            });
            if !valid {
                return Err(AttestError::field(
                    "predicate",
                    format!("{at}.requirements[{req_idx}]"),
                    format!(
                        "`<regime>:<clause>` such as `etsi-en-303-645:5.3-13`, found `{requirement}`"
                    ),
                ));
            }
        }
        for (ev_idx, evidence) in claim.evidence.iter().enumerate() {
            if evidence.digest.is_empty() {
                return Err(AttestError::field(
                    "predicate",
                    format!("{at}.evidence[{ev_idx}].digest"),
                    "at least one digest",
                ));
            }
            for (algorithm, len) in [("sha256", 64), ("sha512", 128)] {
                if let Some(value) = evidence.digest.get(algorithm)
                    && (value.len() != len || !value.bytes().all(|b| b.is_ascii_hexdigit()))
                {
                    return Err(AttestError::field(
                        "predicate",
                        format!("{at}.evidence[{ev_idx}].digest.{algorithm}"),
                        format!("{len} hex characters"),
                    ));
                }
            }
        }
    }
    Ok(())
}

// The requirement references consign attaches to each claim. Kept in one place so the schema,
// the docs and the verifier's policies use the same spelling.
pub(crate) const REQ_IDENTITY: &[&str] = &["cra:annexII-1", "uk-psti:sch2-1"];
pub(crate) const REQ_CONTACT: &[&str] = &["cra:annexII-2", "cra:art13-16"];
pub(crate) const REQ_SUPPORT: &[&str] =
    &["cra:art13-8", "etsi-en-303-645:5.3-13", "uk-psti:sch1-3"];
pub(crate) const REQ_DISCLOSURE: &[&str] = &[
    "cra:annexI-2-5",
    "cra:annexI-2-6",
    "etsi-en-303-645:5.2-1",
    "uk-psti:sch1-2",
];
pub(crate) const REQ_PASSWORD: &[&str] = &["etsi-en-303-645:5.1-1", "uk-psti:sch1-1"];
pub(crate) const REQ_UPDATES: &[&str] = &[
    "cra:annexI-2-3",
    "etsi-en-303-645:5.3-2",
    "etsi-en-303-645:5.3-3",
];
pub(crate) const REQ_DEFAULTS: &[&str] = &["cra:annexI-1-3-b", "etsi-en-303-645:5.6-4"];
pub(crate) const REQ_KEYS: &[&str] = &["etsi-en-303-645:5.4-3", "etsi-en-303-645:5.4-4"];
pub(crate) const REQ_SERVICES: &[&str] = &["cra:annexI-1-3-j", "etsi-en-303-645:5.6-1"];
pub(crate) const REQ_SBOM: &[&str] = &["cra:annexI-2-1", "bsi-tr-03183-2:5"];
pub(crate) const REQ_VULNS: &[&str] = &["cra:annexI-1-2-a", "cra:annexI-2-2"];
pub(crate) const REQ_CONFORMITY: &[&str] = &["cra:art28", "cra:art30", "cra:art32"];
pub(crate) const REQ_LABELS: &[&str] = &["sg-cls:level", "us-cyber-trust-mark:label"];
pub(crate) const REQ_UK_SOC: &[&str] = &["uk-psti:sch4"];
pub(crate) const REQ_COMPONENT: &[&str] = &["cra:art13-5", "cra:annexI-2-1"];
pub(crate) const REQ_CUSTODY: &[&str] = &["cra:art20", "cra:art19-2"];
pub(crate) const REQ_DUE_CARE: &[&str] = &["cra:art20-2", "cra:art19-2"];
pub(crate) const REQ_MARKET: &[&str] = &["cra:art19", "uk-psti:s12"];

pub(crate) fn claim(id: &str, requirements: &[&str], value: serde_json::Value) -> Claim {
    Claim::new(id, requirements, value)
}

pub(crate) fn claim_with(
    id: &str,
    requirements: &[&str],
    value: serde_json::Value,
    evidence: Evidence,
) -> Claim {
    Claim::new(id, requirements, value).with_evidence(evidence)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> serde_json::Value {
        json!({
            "party": {"role": "supplier", "name": "Acme", "contact": "security@acme.example"},
            "claims": [{
                "id": "support-period",
                "requirements": ["cra:art13-8", "etsi-en-303-645:5.3-13"],
                "value": {"end": "2031-12-31"},
                "evidence": [{"name": "sbom", "digest": {"sha256": "ab".repeat(32)}}]
            }]
        })
    }

    #[test]
    fn parses_ours_and_round_trips() {
        let parsed = Predicate::parse(COMPONENT_V01, &sample()).unwrap();
        assert_eq!(parsed.to_value(), sample());
        assert_eq!(parsed.predicate_type(), COMPONENT_V01);
        let Predicate::Component(body) = parsed else {
            panic!("not a component")
        };
        assert_eq!(
            body.claim("support-period").unwrap().value["end"],
            "2031-12-31"
        );
    }

    #[track_caller]
    fn check_err(predicate_type: &str, value: &serde_json::Value, expect: &str) {
        let err = Predicate::parse(predicate_type, value)
            .unwrap_err()
            .to_string();
        assert!(err.contains(expect), "{err}");
    }

    #[test]
    fn fails_closed() {
        check_err(
            "https://consign.dev/attestation/component/v0.2",
            &sample(),
            "unknown predicate type `https://consign.dev/attestation/component/v0.2`",
        );
        check_err(
            "https://example.com/other",
            &json!({}),
            "unknown predicate type",
        );
        check_err(PRODUCT_V01, &sample(), "party.role");
        let mut extra = sample();
        extra["surprise"] = json!(1);
        check_err(COMPONENT_V01, &extra, "unknown field `surprise`");
        let mut bad = sample();
        bad["claims"][0]["requirements"] = json!(["cra annex"]);
        check_err(COMPONENT_V01, &bad, "claims[0].requirements[0]");
        let mut bad = sample();
        bad["claims"][0]["requirements"] = json!([]);
        check_err(COMPONENT_V01, &bad, "claims[0].requirements");
        let mut bad = sample();
        bad["claims"][0]["id"] = json!("Support Period");
        check_err(COMPONENT_V01, &bad, "claims[0].id");
        let mut bad = sample();
        bad["claims"][0]["evidence"][0]["digest"]["sha256"] = json!("abc");
        check_err(COMPONENT_V01, &bad, "evidence[0].digest.sha256");
        check_err(
            CYCLONEDX_BOM,
            &json!({"spdxVersion": "SPDX-2.3"}),
            "bomFormat",
        );
        check_err(
            SLSA_PROVENANCE_V1,
            &json!({}),
            "missing field `buildDefinition`",
        );
        check_err(
            SLSA_VSA_V1,
            &json!({"verifier": {"id": "x"}, "timeVerified": "t", "resourceUri": "r", "policy": {}, "verificationResult": "MAYBE"}),
            "`PASSED` or `FAILED`",
        );
    }

    #[test]
    fn standard_predicates_parse() {
        let bom = json!({"bomFormat": "CycloneDX", "specVersion": "1.6"});
        assert!(matches!(
            Predicate::parse(CYCLONEDX_BOM, &bom).unwrap(),
            Predicate::CycloneDx(_)
        ));
        let provenance = json!({
            "buildDefinition": {"buildType": "https://consign.dev/build/v0.1", "externalParameters": {}},
            "runDetails": {"builder": {"id": "https://ci.example"}}
        });
        let parsed = Predicate::parse(SLSA_PROVENANCE_V1, &provenance).unwrap();
        assert_eq!(parsed.to_value(), provenance);
        let openvex = json!({"@context": OPENVEX_V020, "statements": []});
        assert_eq!(
            Predicate::parse(OPENVEX_V020, &openvex).unwrap().to_value(),
            openvex
        );
        assert!(
            Predicate::parse(
                OPENVEX_V020,
                &json!({"@context": "https://openvex.dev/ns/v0.1"})
            )
            .is_err()
        );
        let vex = json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "vulnerabilities": []});
        assert_eq!(
            Predicate::parse(CYCLONEDX_VEX, &vex)
                .unwrap()
                .predicate_type(),
            CYCLONEDX_VEX
        );
        assert!(
            Predicate::parse(CYCLONEDX_VEX, &bom).is_err(),
            "an SBOM without vulnerabilities is not VEX"
        );
        let csaf = json!({"document": {"category": "csaf_vex", "csaf_version": "2.0"}, "vulnerabilities": []});
        assert_eq!(
            Predicate::parse(CSAF_VEX_V20, &csaf).unwrap().to_value(),
            csaf
        );
        let advisory = json!({"document": {"category": "csaf_security_advisory", "csaf_version": "2.0"}, "vulnerabilities": []});
        assert!(Predicate::parse(CSAF_VEX_V20, &advisory).is_err());
        let csaf21 = json!({"document": {"category": "csaf_vex", "csaf_version": "2.1"}, "vulnerabilities": []});
        let err = Predicate::parse(CSAF_VEX_V20, &csaf21)
            .unwrap_err()
            .to_string();
        assert!(err.contains("csaf_version"), "{err}");
        let link = json!({"name": "build", "command": ["make"]});
        assert!(matches!(
            Predicate::parse(INTOTO_LINK_V03, &link).unwrap(),
            Predicate::IntotoLink(_)
        ));
    }
}
