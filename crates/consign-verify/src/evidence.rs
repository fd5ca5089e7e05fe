//! What a shipment says, once read: verified envelopes, statements, claims, SBOM facts, re-scans.
//!
//! The checks never see raw bytes: they work on [`Evidence`], which this module builds from a
//! [`Shipment`] through three seams, so each can be served by the crate that owns the format:
//! [`SignatureVerifier`] (DSSE, consign-attest), [`SbomInspector`] (CycloneDX, consign-sbom) and
//! [`Rescanner`] (unpack + detect). Everything untrusted is bounded here: at most
//! [`MAX_ENVELOPES`] envelopes per shipment and [`MAX_ENVELOPE_BYTES`] per envelope.

use std::collections::BTreeSet;

use consign_model::{Digests, ProductFile, Sha256, Sha512};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{EvidenceError, RescanError, reason};
use crate::shipment::{ArtifactRole, Shipment};
use crate::trust::{KeyRef, Role, TrustStore};

/// Most envelopes read from one shipment.
pub const MAX_ENVELOPES: usize = 2048;
/// Largest single envelope.
pub const MAX_ENVELOPE_BYTES: usize = 64 << 20;

/// Bounds of the strict JSON reader for attestation files and SBOMs.
pub(crate) const STRICT: consign_model::json::JsonLimits = consign_model::json::JsonLimits {
    max_bytes: MAX_ENVELOPE_BYTES,
    max_depth: 128,
};

/// The in-toto Statement type this verifier reads.
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";

/// Known predicate types (consign-attest's constants).
pub mod predicate_types {
    pub use consign_attest::predicates::{
        COMPONENT_V01 as COMPONENT, CSAF_VEX_V20 as CSAF_VEX, CUSTODY_V01 as CUSTODY,
        CYCLONEDX_BOM as CYCLONEDX, CYCLONEDX_VEX, INTOTO_LINK_V03 as LINK,
        MARKET_CHECK_V01 as MARKET_CHECK, OPENVEX_V020 as OPENVEX, PRODUCT_V01 as PRODUCT,
        SLSA_PROVENANCE_V1 as PROVENANCE, SLSA_VSA_V1 as VSA,
    };
}

/// What kind of statement a predicate type makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum PredicateKind {
    /// A supplier vouches for a component.
    Component,
    /// A manufacturer vouches for a product release.
    Product,
    /// A distributor records custody of a lot.
    Custody,
    /// An importer or retailer records its market check.
    MarketCheck,
    /// A CycloneDX SBOM.
    Sbom,
    /// SLSA build provenance.
    Provenance,
    /// A SLSA verification summary.
    Vsa,
    /// An in-toto link.
    Link,
    /// A VEX document (OpenVEX, CycloneDX VEX or CSAF 2.0 VEX, `consign attest vex`): what the manufacturer
    /// states about vulnerabilities in its firmware.
    Vex,
}

impl PredicateKind {
    /// The kind a predicate type URI names, if the verifier knows it (exact match: another
    /// version of a known predicate is unknown).
    pub fn of(predicate_type: &str) -> Option<Self> {
        use predicate_types as p;
        Some(match predicate_type {
            p::COMPONENT => Self::Component,
            p::PRODUCT => Self::Product,
            p::CUSTODY => Self::Custody,
            p::MARKET_CHECK => Self::MarketCheck,
            p::CYCLONEDX => Self::Sbom,
            p::PROVENANCE => Self::Provenance,
            p::VSA => Self::Vsa,
            p::LINK => Self::Link,
            p::OPENVEX | p::CYCLONEDX_VEX | p::CSAF_VEX => Self::Vex,
            _ => return None,
        })
    }

    /// The roles allowed to sign a statement of this kind.
    pub fn signer_roles(self) -> &'static [Role] {
        match self {
            Self::Component => &[Role::Supplier],
            Self::Product | Self::Vex => &[Role::Manufacturer],
            Self::Custody => &[Role::Distributor, Role::Importer],
            Self::MarketCheck | Self::Vsa => &[Role::Importer, Role::Retailer],
            Self::Sbom | Self::Provenance => &[Role::Manufacturer, Role::Supplier],
            Self::Link => &[
                Role::Supplier,
                Role::Manufacturer,
                Role::Distributor,
                Role::Importer,
                Role::Retailer,
            ],
        }
    }

    /// The name used in policies (`integrity.required`) and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Component => "component",
            Self::Product => "product",
            Self::Custody => "custody",
            Self::MarketCheck => "market-check",
            Self::Sbom => "sbom",
            Self::Provenance => "provenance",
            Self::Vsa => "vsa",
            Self::Link => "link",
            Self::Vex => "vex",
        }
    }
}

/// The result of checking one DSSE envelope's signatures against the trust store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedEnvelope {
    /// The envelope's `payloadType`.
    pub payload_type: String,
    /// Exactly the bytes the signatures cover.
    pub payload: Vec<u8>,
    /// Distinct trusted keys with a valid signature, whatever their validity period.
    pub signers: Vec<KeyRef>,
}

/// Checks DSSE envelope signatures (the seam to consign-attest).
pub trait SignatureVerifier: Sync {
    /// Parses `envelope` and returns the payload and every trusted key whose signature over it
    /// verifies. `Err` says why the envelope is unusable (malformed, no valid trusted signature).
    fn verify(
        &self,
        envelope: &[u8],
        trust: &TrustStore,
    ) -> Result<VerifiedEnvelope, EvidenceError>;
}

/// A component an SBOM declares.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DeclaredComponent {
    /// `bom-ref`, when given.
    pub bom_ref: Option<String>,
    /// Name.
    pub name: String,
    /// Version, when given.
    pub version: Option<String>,
    /// SHA-256 digests listed in `hashes`.
    pub sha256: Vec<Sha256>,
    /// SHA-512 digests listed in `hashes`.
    pub sha512: Vec<Sha512>,
}

/// What an SBOM says and how valid it is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SbomFacts {
    /// `specVersion`, when present.
    pub spec_version: Option<String>,
    /// Why it is not valid CycloneDX (schema errors), empty when valid.
    pub schema_errors: Vec<String>,
    /// Fields the BSI TR-03183-2 profile needs that are missing.
    pub bsi_gaps: Vec<String>,
    /// Fields the NTIA minimum elements need that are missing.
    pub ntia_gaps: Vec<String>,
    /// The components, flattened.
    pub components: Vec<DeclaredComponent>,
    /// Ids of the vulnerabilities the SBOM lists.
    pub vulnerabilities: Vec<String>,
    /// `metadata.manufacturer.name` (or `metadata.component.manufacturer.name`).
    pub manufacturer: Option<String>,
    /// `metadata.component.name`.
    pub product_name: Option<String>,
    /// `metadata.component.version`.
    pub product_version: Option<String>,
}

/// Reads SBOMs (the seam to consign-sbom).
pub trait SbomInspector: Sync {
    /// Reads `data` as a CycloneDX JSON SBOM. `Err` when it is not JSON at all.
    fn inspect(&self, data: &[u8]) -> Result<SbomFacts, EvidenceError>;
}

/// A component the re-scan found in a firmware image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FoundComponent {
    /// Canonical name, lower case.
    pub name: String,
    /// Version, when the evidence tells.
    pub version: Option<String>,
    /// Where it was seen (first occurrence).
    pub location: String,
}

/// A secure-defaults finding of the firmware (from consign-audit), as the checks read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditFinding {
    /// The rule id (`account.default-password`).
    pub rule: String,
    /// `critical`, `high`, `medium`, `low` or `info`.
    pub severity: String,
    /// `file:line` or `file@offset` inside the image.
    pub place: String,
    /// The file inside its file system (`/etc/inittab`), else its logical path; declared
    /// findings are matched on it.
    pub file: String,
    /// What was found.
    pub message: String,
}

/// What [`Rescanner::rescan_and_audit`] gives: the components, and the audit when one ran.
pub type RescanAndAudit = (
    Result<Vec<FoundComponent>, RescanError>,
    Option<Result<Vec<AuditFinding>, RescanError>>,
);

/// Re-scans firmware (the seam to consign-unpack and consign-detect).
pub trait Rescanner: Sync {
    /// Unpacks and scans `data`, named `name`.
    /// An `Err` when the firmware could not be read in full: a partial list is never given.
    fn rescan(&self, name: &str, data: &[u8]) -> Result<Vec<FoundComponent>, RescanError>;

    /// Unpacks `data` once, scans it and audits its secure defaults; `None` for the audit when
    /// this re-scanner does not audit.
    fn rescan_and_audit(&self, name: &str, data: &[u8]) -> RescanAndAudit {
        (self.rescan(name, data), None)
    }
}

pub use consign_attest::statement::{KnownDigests, Subject};

/// A statement's claims, read according to its kind.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub enum Claims {
    /// A supplier's component claims.
    Component(ComponentClaims),
    /// A manufacturer's product claims.
    Product(Box<ProductClaims>),
    /// A distributor's custody claims.
    Custody(CustodyClaims),
    /// A CycloneDX SBOM carried in the predicate.
    Sbom(Value),
    /// A VEX document carried in the predicate (read by consign-vuln at the check).
    Vex(Value),
    /// A kind whose claims no check reads.
    Other,
}

/// A supplier's claims about one component.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ComponentClaims {
    /// Component name.
    pub name: Option<String>,
    /// Component version.
    pub version: Option<String>,
    /// Last day of the supplier's security support.
    pub support_end: Option<Date>,
    /// The supplier's vulnerability disclosure contact.
    pub disclosure_contact: Option<String>,
}

/// A manufacturer's claims about a product release.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ProductClaims {
    /// The product file facts.
    pub product: ProductFile,
    /// SHA-256 of the release SBOM, when bound.
    pub sbom_sha256: Option<Sha256>,
    /// Digests of the materials relied on (supplier attestations or component files).
    pub materials: Vec<Sha256>,
}

/// A distributor's custody claims.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CustodyClaims {
    /// Lot id.
    pub lot: Option<String>,
    /// The party the goods came from, by name.
    pub received_from: Option<String>,
    /// The party the goods went to.
    pub shipped_to: Option<String>,
    /// SHA-256 digests of the upstream attestations relied on.
    pub upstream: Vec<Sha256>,
}

/// A parsed in-toto Statement v1.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Statement {
    /// `predicateType`.
    pub predicate_type: String,
    /// Its kind, when known.
    pub kind: Option<PredicateKind>,
    /// `subject`.
    pub subjects: Vec<Subject>,
    /// The claims, when the kind is known and the predicate reads.
    pub claims: Claims,
    /// Why the predicate of a known kind could not be read.
    pub claims_problem: Option<String>,
}

/// Reads a predicate into claims (the seam to consign-attest's predicate types).
pub trait ClaimsReader: Sync {
    /// Reads the predicate of a statement of a known kind.
    fn read(
        &self,
        kind: PredicateKind,
        predicate_type: &str,
        predicate: &Value,
    ) -> Result<Claims, EvidenceError>;
}

/// One envelope found in a shipment and what became of it.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvelopeEvidence {
    /// The artifact it came from.
    pub artifact: String,
    /// Its line (1-based) in that artifact.
    pub line: usize,
    /// Digests that name it: the line's bytes, the whole file's (shared by every envelope in the
    /// file), and the payload's. Custody records refer to upstream attestations by any of these.
    pub digests: Vec<Sha256>,
    /// SHA-256 of the payload (the statement), which groups separately signed copies.
    pub payload_sha256: Option<Sha256>,
    /// Trusted keys whose signature verified.
    pub signers: Vec<KeyRef>,
    /// Why the signatures could not be used.
    pub signature_problem: Option<String>,
    /// The statement, when the payload parsed.
    pub statement: Option<Statement>,
    /// Why the payload is not a statement.
    pub statement_problem: Option<String>,
}

impl EnvelopeEvidence {
    /// The signers whose key is valid at `date`.
    pub fn signers_valid_at(&self, trust: &TrustStore, date: Date) -> Vec<KeyRef> {
        self.signers
            .iter()
            .copied()
            .filter(|key_ref| {
                trust
                    .key(*key_ref)
                    .is_some_and(|key| key.validity_at(date) == crate::trust::KeyValidity::Valid)
            })
            .collect()
    }

    /// The valid signers whose party holds one of the roles the statement's kind needs.
    pub fn authorised_signers(&self, trust: &TrustStore, date: Date) -> Vec<KeyRef> {
        let Some(kind) = self.statement.as_ref().and_then(|s| s.kind) else {
            return Vec::new();
        };
        self.signers_valid_at(trust, date)
            .into_iter()
            .filter(|key_ref| {
                trust.party(*key_ref).is_some_and(|party| {
                    kind.signer_roles()
                        .iter()
                        .any(|role| party.roles.contains(role))
                })
            })
            .collect()
    }

    /// True when an authorised signer (see [`EnvelopeEvidence::authorised_signers`]) belongs to
    /// a party holding `role`.
    pub fn signed_as(&self, trust: &TrustStore, date: Date, role: Role) -> bool {
        self.authorised_signers(trust, date).iter().any(|key_ref| {
            trust
                .party(*key_ref)
                .is_some_and(|p| p.roles.contains(&role))
        })
    }

    /// The first authorised signer's party name.
    pub fn signer_name<'t>(&self, trust: &'t TrustStore, date: Date) -> Option<&'t str> {
        let key_ref = *self.authorised_signers(trust, date).first()?;
        trust.party(key_ref).map(|party| party.name.as_str())
    }
}

/// An SBOM artifact and its facts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SbomEvidence {
    /// The artifact path.
    pub artifact: String,
    /// SHA-256 of its bytes.
    pub sha256: Sha256,
    /// SHA-512 of its bytes.
    pub sha512: Sha512,
    /// Its parsed JSON, for comparison with SBOM predicates.
    pub json: Option<Value>,
    /// The facts, or why it could not be read.
    pub facts: Result<SbomFacts, String>,
}

/// A firmware artifact and its re-scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirmwareEvidence {
    /// The artifact path.
    pub artifact: String,
    /// SHA-256 of its bytes.
    pub sha256: Sha256,
    /// SHA-512 of its bytes.
    pub sha512: Sha512,
    /// The re-scan, `None` when it was not run.
    pub rescan: Option<Result<Vec<FoundComponent>, RescanError>>,
    /// The secure-defaults audit, `None` when it was not run.
    pub audit: Option<Result<Vec<AuditFinding>, RescanError>>,
}

impl FirmwareEvidence {
    /// Both digests, for [`Subject::matches`].
    pub fn digests(&self) -> Digests {
        Digests {
            sha256: self.sha256,
            sha512: self.sha512,
        }
    }
}

/// A support period recorded earlier for a product (from the ledger).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportRecord {
    /// The product key (see [`product_key`]).
    pub product_key: String,
    /// The support end recorded.
    pub support_end: String,
    /// When the verdict recording it was made.
    pub checked_at: String,
    /// The shipment it came from.
    pub shipment: String,
}

/// The key that identifies "the same product" across shipments: manufacturer, model, hardware
/// revision.
pub fn product_key(product: &ProductFile) -> Option<String> {
    let manufacturer = product.manufacturer.name.as_deref()?.trim().to_lowercase();
    let model = product.product.model.as_deref()?.trim().to_lowercase();
    let revision = product
        .product
        .hardware_revision
        .as_deref()
        .unwrap_or("")
        .trim()
        .to_lowercase();
    Some(format!("{manufacturer}|{model}|{revision}"))
}

/// Everything the checks look at.
#[derive(Clone, Debug)]
pub struct Evidence<'a> {
    /// The shipment.
    pub shipment: &'a Shipment,
    /// The trust store.
    pub trust: &'a TrustStore,
    /// The check date.
    pub date: Date,
    /// Every envelope found.
    pub envelopes: Vec<EnvelopeEvidence>,
    /// Attestation artifacts that hold no envelope at all, with the reason.
    pub unreadable_attestations: Vec<(String, String)>,
    /// Every SBOM artifact.
    pub sboms: Vec<SbomEvidence>,
    /// Every firmware artifact.
    pub firmware: Vec<FirmwareEvidence>,
    /// Earlier support periods from the ledger.
    pub history: &'a [SupportRecord],
    /// Whether the re-scan ran.
    pub rescanned: bool,
    /// The local vulnerability database given to the verifier, `None` when there is none.
    pub vulnerability_database: Option<VulnerabilityDatabase>,
}

/// The vulnerability database `vulnerabilities.known` matches against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VulnerabilityDatabase {
    /// The database file.
    pub path: std::path::PathBuf,
    /// Its sources, dates and digests, or why it cannot be read.
    pub info: Result<consign_vuln::db::DbInfo, String>,
}

impl VulnerabilityDatabase {
    /// Opens the database at `path` and reads what it holds (its sources, their dates and
    /// digests); an absent or unreadable file is kept as the reason.
    pub fn open(path: &std::path::Path) -> Self {
        let info = consign_vuln::db::Database::open(path)
            .and_then(|db| db.info())
            .map_err(|err| err.to_string());
        Self {
            path: path.to_owned(),
            info,
        }
    }
}

impl Evidence<'_> {
    /// Envelopes whose signature, role and statement are all good: the only ones later checks
    /// rely on.
    pub fn trusted(&self) -> impl Iterator<Item = (&EnvelopeEvidence, &Statement)> {
        self.envelopes.iter().filter_map(|envelope| {
            let statement = envelope.statement.as_ref()?;
            statement.kind?;
            if envelope
                .authorised_signers(self.trust, self.date)
                .is_empty()
            {
                return None;
            }
            Some((envelope, statement))
        })
    }

    /// Trusted product statements and their claims.
    pub fn products(&self) -> Vec<(&EnvelopeEvidence, &Statement, &ProductClaims)> {
        self.trusted()
            .filter_map(|(envelope, statement)| match &statement.claims {
                Claims::Product(claims) => Some((envelope, statement, claims.as_ref())),
                _ => None,
            })
            .collect()
    }

    /// Trusted product statements whose subjects cover a firmware artifact of this shipment.
    pub fn current_products(&self) -> Vec<(&EnvelopeEvidence, &Statement, &ProductClaims)> {
        self.products()
            .into_iter()
            .filter(|(_, statement, _)| {
                statement.subjects.iter().any(|subject| {
                    self.firmware
                        .iter()
                        .any(|fw| subject.matches(&fw.digests()))
                })
            })
            .collect()
    }

    /// The SBOMs that say what the shipment's firmware holds: bound by the party that owns the
    /// release, the manufacturer (the SBOM digest of a trusted release covering the firmware, or
    /// a manufacturer-signed CycloneDX statement about the firmware carrying exactly that SBOM).
    /// Only these are what the re-scan compares with: a supplier's SBOM, signed or not, is
    /// evidence for its own component, and can never widen what the manufacturer's firmware may
    /// hold.
    pub fn release_sboms(&self) -> Vec<&SbomEvidence> {
        let currents = self.current_products();
        self.sboms
            .iter()
            .filter(|sbom| {
                currents
                    .iter()
                    .any(|(_, _, claims)| claims.sbom_sha256 == Some(sbom.sha256))
                    || self.trusted().any(|(envelope, statement)| {
                        statement.kind == Some(PredicateKind::Sbom)
                            && envelope.signed_as(self.trust, self.date, Role::Manufacturer)
                            && statement.subjects.iter().any(|subject| {
                                self.firmware.iter().any(|fw| subject.matches(&fw.digests()))
                            })
                            && matches!(&statement.claims, Claims::Sbom(value) if Some(value) == sbom.json.as_ref())
                    })
            })
            .collect()
    }

    /// The envelopes a digest names (several when it is the digest of a file holding several).
    pub fn envelopes_by_digest(&self, digest: &Sha256) -> Vec<&EnvelopeEvidence> {
        self.envelopes
            .iter()
            .filter(|envelope| envelope.digests.contains(digest))
            .collect()
    }
}

/// The seams used to build [`Evidence`].
#[derive(Clone, Copy)]
pub struct Engines<'e> {
    /// Checks signatures.
    pub signatures: &'e dyn SignatureVerifier,
    /// Reads predicates.
    pub claims: &'e dyn ClaimsReader,
    /// Reads SBOMs.
    pub sboms: &'e dyn SbomInspector,
    /// Re-scans firmware; `None` turns the re-scan off.
    pub rescanner: Option<&'e dyn Rescanner>,
    /// The vulnerability database for `vulnerabilities.known`; `None`: there is none.
    pub vulnerability_database: Option<&'e std::path::Path>,
}

impl<'e> Engines<'e> {
    /// The same engines, matching against the vulnerability database at `path`.
    #[must_use]
    pub fn with_vulnerability_database(mut self, path: Option<&'e std::path::Path>) -> Self {
        self.vulnerability_database = path;
        self
    }
}

/// Reads everything in `shipment` through `engines`.
pub fn gather<'a>(
    shipment: &'a Shipment,
    trust: &'a TrustStore,
    date: Date,
    history: &'a [SupportRecord],
    engines: Engines<'_>,
) -> Evidence<'a> {
    let mut envelopes = Vec::new();
    let mut unreadable_attestations = Vec::new();
    for artifact in shipment.of_role(ArtifactRole::Attestation) {
        let Some(data) = artifact.data.as_deref() else {
            continue;
        };
        match split_envelopes(data) {
            Ok(found) => {
                let file_sha256 = Sha256::of(data);
                for (line, bytes) in found {
                    if envelopes.len() >= MAX_ENVELOPES {
                        unreadable_attestations.push((
                            artifact.entry.path.clone(),
                            format!("more than {MAX_ENVELOPES} envelopes in the shipment; the rest were not read"),
                        ));
                        break;
                    }
                    let mut digests = vec![Sha256::of(&bytes)];
                    if !digests.contains(&file_sha256) {
                        digests.push(file_sha256);
                    }
                    envelopes.push(read_envelope(
                        &artifact.entry.path,
                        line,
                        &bytes,
                        digests,
                        trust,
                        engines,
                    ));
                }
            }
            Err(reason) => unreadable_attestations.push((artifact.entry.path.clone(), reason)),
        }
    }
    let sboms = shipment
        .of_role(ArtifactRole::Sbom)
        .filter_map(|artifact| {
            let data = artifact.data.as_deref()?;
            Some(SbomEvidence {
                artifact: artifact.entry.path.clone(),
                sha256: Sha256::of(data),
                sha512: Sha512::of(data),
                json: crate::error::read_json(data, &STRICT).ok(),
                facts: engines.sboms.inspect(data).map_err(|err| reason(&err)),
            })
        })
        .collect();
    let firmware = shipment
        .of_role(ArtifactRole::Firmware)
        .filter_map(|artifact| {
            let data = artifact.data.as_deref()?;
            let (rescan, audit) = match engines.rescanner {
                Some(scanner) => {
                    let (rescan, audit) = scanner.rescan_and_audit(&artifact.entry.path, data);
                    (Some(rescan), audit)
                }
                None => (None, None),
            };
            Some(FirmwareEvidence {
                artifact: artifact.entry.path.clone(),
                sha256: Sha256::of(data),
                sha512: Sha512::of(data),
                rescan,
                audit,
            })
        })
        .collect();
    Evidence {
        shipment,
        trust,
        date,
        envelopes,
        unreadable_attestations,
        sboms,
        firmware,
        history,
        rescanned: engines.rescanner.is_some(),
        vulnerability_database: engines
            .vulnerability_database
            .map(VulnerabilityDatabase::open),
    }
}

/// Splits an attestation file into envelopes: one JSON document (an envelope or a Sigstore
/// bundle), or JSON lines. Returns (line number, envelope bytes).
pub fn split_envelopes(data: &[u8]) -> Result<Vec<(usize, Vec<u8>)>, String> {
    let text = std::str::from_utf8(data).map_err(|_| "is not UTF-8 text".to_owned())?;
    // Every document goes through the strict reader first: a key repeated anywhere in an
    // envelope or bundle is refused with its JSON pointer before anything reads it.
    if let Ok(value) = crate::error::read_json::<Value>(text.trim().as_bytes(), &STRICT) {
        return Ok(vec![(1, unwrap_bundle(value, text.trim().as_bytes())?)]);
    }
    let mut out = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line.len() > MAX_ENVELOPE_BYTES {
            return Err(format!(
                "line {} is over {MAX_ENVELOPE_BYTES} bytes",
                idx + 1
            ));
        }
        let value: Value = crate::error::read_json(line.as_bytes(), &STRICT)
            .map_err(|err| format!("line {} is not strict JSON: {err}", idx + 1))?;
        out.push((idx + 1, unwrap_bundle(value, line.as_bytes())?));
    }
    if out.is_empty() {
        return Err("holds no envelope".to_owned());
    }
    Ok(out)
}

/// A Sigstore bundle carries its envelope under `dsseEnvelope`; anything else is taken as an
/// envelope.
fn unwrap_bundle(value: Value, raw: &[u8]) -> Result<Vec<u8>, String> {
    match value {
        Value::Object(mut map) => match map.remove("dsseEnvelope") {
            Some(envelope) => serde_json::to_vec(&envelope).map_err(|err| err.to_string()),
            None => Ok(raw.to_vec()),
        },
        _ => Err("is JSON but not an object (an envelope or a bundle)".to_owned()),
    }
}

fn read_envelope(
    artifact: &str,
    line: usize,
    bytes: &[u8],
    digests: Vec<Sha256>,
    trust: &TrustStore,
    engines: Engines<'_>,
) -> EnvelopeEvidence {
    let mut evidence = EnvelopeEvidence {
        artifact: artifact.to_owned(),
        line,
        digests,
        payload_sha256: None,
        signers: Vec::new(),
        signature_problem: None,
        statement: None,
        statement_problem: None,
    };
    match engines.signatures.verify(bytes, trust) {
        Ok(verified) => {
            let payload_sha256 = Sha256::of(&verified.payload);
            evidence.digests.push(payload_sha256);
            evidence.payload_sha256 = Some(payload_sha256);
            let mut signers = verified.signers;
            signers.sort();
            signers.dedup();
            evidence.signers = signers;
            if verified.payload_type == "application/vnd.in-toto+json" {
                match parse_statement(&verified.payload, engines.claims) {
                    Ok(statement) => evidence.statement = Some(statement),
                    Err(err) => evidence.statement_problem = Some(reason(&err)),
                }
            } else {
                evidence.statement_problem = Some(format!(
                    "payload type is `{}`, expected `application/vnd.in-toto+json`",
                    crate::error::cut(&verified.payload_type, 80)
                ));
            }
        }
        Err(err) => evidence.signature_problem = Some(reason(&err)),
    }
    evidence
}

/// Parses an in-toto Statement v1 with consign-attest (strictly: unknown fields, a wrong
/// `_type`, no subject or a malformed digest are refused) and reads its claims.
pub fn parse_statement(
    payload: &[u8],
    reader: &dyn ClaimsReader,
) -> Result<Statement, EvidenceError> {
    let raw = consign_attest::Statement::from_json(payload).map_err(EvidenceError::NotStatement)?;
    let kind = PredicateKind::of(&raw.predicate_type);
    let (claims, claims_problem) = match kind {
        Some(kind) => match reader.read(kind, &raw.predicate_type, &raw.predicate) {
            Ok(claims) => (claims, None),
            Err(err) => (Claims::Other, Some(reason(&err))),
        },
        None => (Claims::Other, None),
    };
    Ok(Statement {
        predicate_type: raw.predicate_type,
        kind,
        subjects: raw.subject,
        claims,
        claims_problem,
    })
}

/// Collects the digests of a statement's subjects, for reports.
pub fn subject_digests(statement: &Statement) -> BTreeSet<String> {
    statement
        .subjects
        .iter()
        .filter_map(|subject| subject.known_digests().sha256.map(|d| d.to_hex()))
        .collect()
}
