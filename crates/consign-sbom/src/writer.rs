//! The SBOM writer: detected components of one product's firmware images in, one CycloneDX BOM out.
//!
//! Deterministic by construction: no clock, no randomness, no hash-map iteration order. The
//! timestamp comes from the caller, and so does the serial number, or else it is derived from the
//! image digests and the product file (see [`derive_serial_number`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};
use std::str::FromStr;

use consign_model::{self as model, ComponentKind, Digests, Method, ProductFile};
use sha2::{Digest as _, Sha256};

use crate::SbomError;
use crate::cyclonedx::{
    Acknowledgement, Aggregate, Bom, Component, ComponentType, Composition, Dependency, Evidence,
    EvidenceOccurrence, ExternalReference, ExternalReferenceType, Hash, HashAlgorithm, Identity,
    IdentityMethod, License, LicenseChoice, Lifecycle, Metadata, OrganizationalContact,
    OrganizationalEntity, PostalAddress, Property, Technique, Tools,
};
use crate::error::excerpt;

/// The CycloneDX version to write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum SpecVersion {
    /// CycloneDX 1.6, the default (BSI TR-03183-2 v2.1 asks for 1.6 or later).
    #[default]
    V1_6,
    /// CycloneDX 1.7.
    V1_7,
}

impl SpecVersion {
    /// `1.6` or `1.7`.
    pub fn as_str(self) -> &'static str {
        match self {
            SpecVersion::V1_6 => "1.6",
            SpecVersion::V1_7 => "1.7",
        }
    }

    /// The `$schema` URL of this version.
    pub fn schema_url(self) -> &'static str {
        match self {
            SpecVersion::V1_6 => "http://cyclonedx.org/schema/bom-1.6.schema.json",
            SpecVersion::V1_7 => "http://cyclonedx.org/schema/bom-1.7.schema.json",
        }
    }
}

impl fmt::Display for SpecVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A BOM serial number, `urn:uuid:` and a lower-case UUID.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SerialNumber(String);

impl SerialNumber {
    /// The `urn:uuid:...` text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The UUID without the `urn:uuid:` prefix.
    pub fn uuid(&self) -> &str {
        self.0.strip_prefix("urn:uuid:").unwrap_or(&self.0)
    }
}

impl FromStr for SerialNumber {
    type Err = SbomError;

    /// Accepts `urn:uuid:<uuid>` or a bare UUID, in either case; stores lower case.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let uuid = text.strip_prefix("urn:uuid:").unwrap_or(text);
        let groups: Vec<&str> = uuid.split('-').collect();
        let lengths: Vec<usize> = groups.iter().map(|group| group.len()).collect();
        if lengths != [8, 4, 4, 4, 12]
            || !groups
                .iter()
                .all(|group| group.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(SbomError::SerialNumber {
                text: excerpt(text),
            });
        }
        Ok(Self(format!("urn:uuid:{}", uuid.to_ascii_lowercase())))
    }
}

impl fmt::Display for SerialNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A UTC time written `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339), given by the caller.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(String);

impl Timestamp {
    /// The RFC 3339 text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Seconds since 1970-01-01T00:00:00Z (for example `SOURCE_DATE_EPOCH`), from year 1970 to 9999.
    pub fn from_unix_seconds(seconds: i64) -> Result<Self, SbomError> {
        const MAX: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
        if !(0..=MAX).contains(&seconds) {
            return Err(SbomError::Timestamp {
                text: seconds.to_string(),
            });
        }
        let days = seconds / 86_400;
        let rest = seconds % 86_400;
        let (year, month, day) = civil_from_days(days);
        Ok(Self(format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            rest / 3600,
            rest % 3600 / 60,
            rest % 60
        )))
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl FromStr for Timestamp {
    type Err = SbomError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || SbomError::Timestamp {
            text: excerpt(text),
        };
        let bytes = text.as_bytes();
        let shape_ok = bytes.len() == 20
            && bytes.iter().enumerate().all(|(idx, &b)| match idx {
                4 | 7 => b == b'-',
                10 => b == b'T',
                13 | 16 => b == b':',
                19 => b == b'Z',
                _ => b.is_ascii_digit(),
            });
        if !shape_ok {
            return Err(err());
        }
        // The date part must exist on the calendar.
        text.get(..10)
            .ok_or_else(err)?
            .parse::<model::Date>()
            .map_err(|_| err())?;
        let field = |range: std::ops::Range<usize>| -> u32 {
            text.get(range)
                .and_then(|part| part.parse().ok())
                .unwrap_or(99)
        };
        if field(11..13) > 23 || field(14..16) > 59 || field(17..19) > 59 {
            return Err(err());
        }
        Ok(Self(text.to_owned()))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One firmware image of the product and what detection found in it.
#[derive(Clone, Copy, Debug)]
pub struct ImageInput<'a> {
    /// The image's file name (`fw.img`), used as the firmware component's name and filename.
    pub name: &'a str,
    /// Digests of the whole image file.
    pub digests: Digests,
    /// The components detected in it.
    pub components: &'a [model::Component],
    /// The image's own version, when known (for a single image with a product file, the product
    /// file's firmware version is used when this is `None`).
    pub version: Option<&'a str>,
    /// Who supplied this image (a Wi-Fi module vendor), when it is not the manufacturer.
    pub supplier: Option<&'a str>,
}

/// A supplier's SBOM to link from the product SBOM (never merged into it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SupplierLink {
    /// The BOM-Link `urn:cdx:<uuid>/<version>` (see [`crate::supplier::SupplierBom::bom_link`]),
    /// or a URL where the document is published.
    pub url: String,
    /// Digests of the supplier SBOM file, so the link is pinned.
    pub digests: Option<Digests>,
    /// A note for the reader (`Wi-Fi module SBOM from Example Radio Ltd`).
    pub comment: Option<String>,
}

/// Everything [`build`] needs.
#[derive(Clone, Debug)]
pub struct SbomInput<'a> {
    /// The firmware images of one product, in the order the user gave them.
    pub images: &'a [ImageInput<'a>],
    /// The manufacturer's product file, when there is one.
    pub product: Option<&'a ProductFile>,
    /// The serial number; when `None`, [`derive_serial_number`] makes one from the images and product file.
    pub serial_number: Option<SerialNumber>,
    /// When the SBOM is made (the CLI takes it from `SOURCE_DATE_EPOCH` or a flag).
    pub timestamp: Timestamp,
    /// The tool's name (`consign`).
    pub tool_name: &'a str,
    /// The tool's version.
    pub tool_version: &'a str,
    /// Supplier SBOMs to link.
    pub supplier_boms: &'a [SupplierLink],
    /// What `version` holds for a component whose binaries state no release.
    pub missing_version: MissingVersion,
}

/// A serial number that depends only on the image digests and the product file: the same inputs
/// give the same serial, different inputs a different one. It is a UUID version 8 (RFC 9562,
/// custom) made from SHA-256 over a fixed label, every image's name and SHA-256, and the product
/// file's JSON form.
pub fn derive_serial_number(
    images: &[ImageInput<'_>],
    product: Option<&ProductFile>,
) -> SerialNumber {
    let mut hasher = Sha256::new();
    hasher.update(b"consign-sbom serial v1\0");
    for image in images {
        hasher.update(image.name.as_bytes());
        hasher.update(b"\0");
        hasher.update(image.digests.sha256.0);
    }
    if let Some(product) = product {
        hasher.update(b"product\0");
        hasher.update(serde_json::to_vec(product).unwrap_or_default());
    }
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(digest.get(..16).unwrap_or(&[0u8; 16]));
    bytes[6] = (bytes[6] & 0x0f) | 0x80; // version 8
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 9562 variant
    let hex = hex::encode(bytes);
    SerialNumber(format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

/// BSI TR-03183-2 v2.1 property names (section 5.2.2).
pub mod bsi {
    /// The actual file name of the component (not a path).
    pub const FILENAME: &str = "bsi:component:filename";
    /// `executable` or `non-executable`.
    pub const EXECUTABLE: &str = "bsi:component:executable";
    /// `archive` or `no archive`.
    pub const ARCHIVE: &str = "bsi:component:archive";
    /// `structured` or `unstructured`.
    pub const STRUCTURED: &str = "bsi:component:structured";
}

/// Property on a component for which no binary states a release: `none` (its `version` is left
/// out: only its supplier or the manufacturer can tell), or `file-modification-time` (its `version`
/// holds the file's modification date, see [`MissingVersion::FileDate`]).
pub const VERSION_SOURCE: &str = "consign:version-source";

/// Property with the modification date (RFC 3339) that the container records for the file of a
/// component whose binaries state no release.
pub const FILE_MODIFIED: &str = "consign:file-modified";

/// What a component's `version` holds when no binary states its release.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MissingVersion {
    /// Left out (the default). A vulnerability matcher would read a date in `version` as a
    /// release, newer than every fix, and miss the component's vulnerabilities; the date stays in
    /// the [`FILE_MODIFIED`] property.
    #[default]
    Omit,
    /// The file's modification date, which BSI TR-03183-2 section 5.2.2 asks for when no version
    /// exists, marked by [`VERSION_SOURCE`]. Purl and CPE stay without a version.
    FileDate,
}

impl FromStr for MissingVersion {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "omit" => Ok(Self::Omit),
            "file-date" => Ok(Self::FileDate),
            other => Err(format!(
                "unknown value `{other}`; use `omit` or `file-date`"
            )),
        }
    }
}

/// Builds the BOM. Never fails: missing facts stay missing (see [`ProductFile::gaps`] and
/// [`crate::check_profile`] for the report), nothing is invented.
///
/// Shape: `metadata.component` is a `device` with one `firmware` sub-component per image when a
/// product file is given or several images are, else the single image's `firmware` component. The
/// detected components are listed flat in `components`, sorted per image by name, version and purl.
/// `dependencies` has one entry for every bom-ref: the device needs its firmware images, an image
/// contains its components, and a component needs what its `DT_NEEDED` names resolve to in the same
/// image. `compositions` says `unknown`, because binary analysis cannot prove an inventory complete.
pub fn build(input: &SbomInput<'_>) -> Bom {
    let serial = input
        .serial_number
        .clone()
        .unwrap_or_else(|| derive_serial_number(input.images, input.product));
    let product = input.product;
    let manufacturer = product.and_then(manufacturer_entity);
    let mut refs = RefAllocator::default();

    let with_device = product.is_some() || input.images.len() != 1;
    let device_ref = with_device.then(|| refs.allocate("device"));

    let mut firmware_components = Vec::new();
    let mut components = Vec::new();
    let mut dependencies: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();

    for image in input.images {
        let firmware_ref = refs.allocate(&format!("firmware:{}", image.name));
        let version = image.version.map(str::to_owned).or_else(|| {
            (input.images.len() == 1)
                .then(|| product.and_then(|p| p.product.firmware_version.clone()))
                .flatten()
        });
        let mut firmware = Component {
            component_type: ComponentType::Firmware,
            bom_ref: Some(firmware_ref.clone()),
            supplier: image.supplier.map(named_entity),
            manufacturer: if image.supplier.is_none() && input.images.len() == 1 {
                manufacturer.clone()
            } else {
                None
            },
            group: None,
            name: image.name.to_owned(),
            version,
            description: None,
            hashes: vec![
                hash(HashAlgorithm::Sha512, image.digests.sha512.to_hex()),
                hash(HashAlgorithm::Sha256, image.digests.sha256.to_hex()),
            ],
            licenses: if image.supplier.is_none() {
                licenses(
                    &product
                        .and_then(|p| p.product.firmware_license.clone())
                        .into_iter()
                        .collect::<Vec<_>>(),
                )
            } else {
                Vec::new()
            },
            cpe: None,
            purl: None,
            external_references: Vec::new(),
            properties: vec![
                Property::new(bsi::FILENAME, file_name(image.name)),
                Property::new(bsi::EXECUTABLE, "executable"),
                Property::new(bsi::ARCHIVE, "archive"),
                Property::new(bsi::STRUCTURED, "structured"),
            ],
            components: Vec::new(),
            evidence: None,
        };
        if !with_device {
            firmware.external_references = product_references(product);
        }
        firmware.external_references.push(distribution_reference(
            image.name,
            &image.digests,
            "the deployable firmware image, by its file name",
        ));
        let firmware_deps = dependencies.entry(firmware_ref.clone()).or_default();
        let mut sorted: Vec<&model::Component> = image.components.iter().collect();
        sorted.sort_by(|a, b| (&a.name, &a.version, &a.purl).cmp(&(&b.name, &b.version, &b.purl)));
        let mut by_name: BTreeMap<&str, String> = BTreeMap::new();
        let mut image_components = Vec::new();
        for detected in sorted {
            let base = detected
                .purl_with_version()
                .unwrap_or_else(|| match &detected.version {
                    Some(version) => format!("{}@{version}", detected.name),
                    None => detected.name.clone(),
                });
            let bom_ref = refs.allocate(&base);
            firmware_deps.insert(bom_ref.clone());
            by_name
                .entry(detected.name.as_str())
                .or_insert_with(|| bom_ref.clone());
            image_components.push((bom_ref, detected));
        }
        for (bom_ref, detected) in image_components {
            let needs: BTreeSet<String> = detected
                .depends_on
                .iter()
                .filter_map(|name| by_name.get(name.as_str()).cloned())
                .filter(|target| *target != bom_ref)
                .collect();
            dependencies.insert(bom_ref.clone(), needs);
            components.push(component(detected, bom_ref, input.missing_version));
        }
        firmware_components.push(firmware);
    }

    let root = if let Some(device_ref) = &device_ref {
        let firmware_refs: BTreeSet<String> = firmware_components
            .iter()
            .filter_map(|c| c.bom_ref.clone())
            .collect();
        dependencies.insert(device_ref.clone(), firmware_refs);
        device_component(
            device_ref,
            product,
            manufacturer.clone(),
            firmware_components,
        )
    } else {
        firmware_components
            .into_iter()
            .next()
            .unwrap_or_else(|| Component {
                component_type: ComponentType::Firmware,
                bom_ref: None,
                supplier: None,
                manufacturer: None,
                group: None,
                name: "firmware".to_owned(),
                version: None,
                description: None,
                hashes: Vec::new(),
                licenses: Vec::new(),
                cpe: None,
                purl: None,
                external_references: Vec::new(),
                properties: Vec::new(),
                components: Vec::new(),
                evidence: None,
            })
    };

    let all_refs: Vec<String> = dependencies.keys().cloned().collect();
    let mut assemblies: Vec<String> = Vec::new();
    if let Some(device_ref) = &device_ref {
        assemblies.push(device_ref.clone());
    }
    assemblies.extend(refs.firmware_refs().cloned());
    assemblies.sort();

    let authors = product
        .and_then(|p| {
            let email = p.manufacturer.email.clone();
            let name = p.manufacturer.name.clone();
            (email.is_some() || name.is_some()).then_some(OrganizationalContact {
                name,
                email,
                phone: None,
            })
        })
        .into_iter()
        .collect();

    Bom {
        schema: None,
        bom_format: "CycloneDX".to_owned(),
        spec_version: SpecVersion::default().as_str().to_owned(),
        serial_number: Some(serial.0),
        version: 1,
        metadata: Some(Metadata {
            timestamp: Some(input.timestamp.0.clone()),
            lifecycles: vec![Lifecycle {
                phase: Some("post-build".to_owned()),
                name: None,
            }],
            tools: Some(Tools::Current {
                components: vec![Component {
                    component_type: ComponentType::Application,
                    bom_ref: None,
                    supplier: None,
                    manufacturer: None,
                    group: None,
                    name: input.tool_name.to_owned(),
                    version: Some(input.tool_version.to_owned()),
                    description: None,
                    hashes: Vec::new(),
                    licenses: Vec::new(),
                    cpe: None,
                    purl: None,
                    external_references: Vec::new(),
                    properties: Vec::new(),
                    components: Vec::new(),
                    evidence: None,
                }],
                services: Vec::new(),
            }),
            authors,
            component: Some(Box::new(root)),
            manufacturer,
            supplier: None,
            properties: Vec::new(),
        }),
        components,
        external_references: input
            .supplier_boms
            .iter()
            .map(|link| ExternalReference {
                reference_type: ExternalReferenceType::Bom,
                url: link.url.clone(),
                comment: link.comment.clone(),
                hashes: link
                    .digests
                    .map(|d| {
                        vec![
                            hash(HashAlgorithm::Sha512, d.sha512.to_hex()),
                            hash(HashAlgorithm::Sha256, d.sha256.to_hex()),
                        ]
                    })
                    .unwrap_or_default(),
            })
            .collect(),
        dependencies: dependencies
            .into_iter()
            .map(|(dependency_ref, depends_on)| Dependency {
                dependency_ref,
                depends_on: depends_on.into_iter().collect(),
            })
            .collect(),
        compositions: vec![Composition {
            aggregate: Aggregate::Unknown,
            assemblies,
            dependencies: all_refs,
        }],
        properties: Vec::new(),
    }
}

/// Hands out unique bom-refs: the first use of a base keeps it, later ones get `#2`, `#3`, ...
#[derive(Default)]
struct RefAllocator {
    used: BTreeSet<String>,
    firmware: Vec<String>,
}

impl RefAllocator {
    fn allocate(&mut self, base: &str) -> String {
        let mut candidate = base.to_owned();
        let mut counter = 2u64;
        while self.used.contains(&candidate) {
            candidate = format!("{base}#{counter}");
            counter += 1;
        }
        self.used.insert(candidate.clone());
        if base.starts_with("firmware:") {
            self.firmware.push(candidate.clone());
        }
        candidate
    }

    fn firmware_refs(&self) -> impl Iterator<Item = &String> {
        self.firmware.iter()
    }
}

fn hash(alg: HashAlgorithm, content: String) -> Hash {
    Hash { alg, content }
}

fn named_entity(name: &str) -> OrganizationalEntity {
    OrganizationalEntity {
        name: Some(name.to_owned()),
        ..OrganizationalEntity::default()
    }
}

/// The last path segment (BSI wants the file name, not a path).
fn file_name(path: &str) -> &str {
    path.rsplit('/')
        .find(|part| !part.is_empty())
        .unwrap_or(path)
}

fn manufacturer_entity(product: &ProductFile) -> Option<OrganizationalEntity> {
    let m = &product.manufacturer;
    if m.name.is_none() && m.url.is_none() && m.email.is_none() && m.address.is_none() {
        return None;
    }
    Some(OrganizationalEntity {
        name: m.name.clone(),
        address: m.address.as_ref().map(|line| PostalAddress {
            country: None,
            street_address: Some(line.clone()),
        }),
        url: m.url.iter().cloned().collect(),
        contact: m
            .email
            .iter()
            .map(|email| OrganizationalContact {
                name: None,
                email: Some(email.clone()),
                phone: None,
            })
            .collect(),
    })
}

/// Web site, security contact and disclosure policy of the product, as external references.
fn product_references(product: Option<&ProductFile>) -> Vec<ExternalReference> {
    let Some(product) = product else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(url) = &product.manufacturer.url {
        out.push(ExternalReference {
            reference_type: ExternalReferenceType::Website,
            url: url.clone(),
            comment: None,
            hashes: Vec::new(),
        });
    }
    if let Some(contact) = &product.vulnerability_disclosure.contact {
        let url = if contact.contains('@') && !contact.contains(':') {
            format!("mailto:{contact}")
        } else {
            contact.clone()
        };
        out.push(ExternalReference {
            reference_type: ExternalReferenceType::SecurityContact,
            url,
            comment: Some("vulnerability disclosure contact".to_owned()),
            hashes: Vec::new(),
        });
    }
    if let Some(policy) = &product.vulnerability_disclosure.policy_url {
        out.push(ExternalReference {
            reference_type: ExternalReferenceType::SecurityContact,
            url: policy.clone(),
            comment: Some("vulnerability disclosure policy".to_owned()),
            hashes: Vec::new(),
        });
    }
    // BSI TR-03183-2 v2.1 5.2.5: the URL of the creator's security.txt, type `rfc-9116`.
    if let Some(url) = &product.vulnerability_disclosure.security_txt {
        out.push(ExternalReference {
            reference_type: ExternalReferenceType::Rfc9116,
            url: url.clone(),
            comment: Some("security.txt (RFC 9116)".to_owned()),
            hashes: Vec::new(),
        });
    }
    out
}

fn device_component(
    bom_ref: &str,
    product: Option<&ProductFile>,
    manufacturer: Option<OrganizationalEntity>,
    firmware: Vec<Component>,
) -> Component {
    let facts = product.map(|p| &p.product);
    let mut properties = Vec::new();
    if let Some(product) = product {
        let p = &product.product;
        let mut push = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                properties.push(Property::new(name, value));
            }
        };
        push("consign:product:model", p.model.clone());
        push(
            "consign:product:hardware-revision",
            p.hardware_revision.clone(),
        );
        push("consign:product:batch", p.batch.clone());
        push("consign:product:gtin", p.gtin.clone());
        push(
            "consign:product:support-start",
            product.support.start.map(|d| d.to_string()),
        );
        push(
            "consign:product:support-end",
            product.support.end.map(|d| d.to_string()),
        );
        for identifier in &p.identifiers {
            push(
                &format!("consign:product:id:{}", identifier.scheme),
                Some(identifier.value.clone()),
            );
        }
    }
    Component {
        component_type: ComponentType::Device,
        bom_ref: Some(bom_ref.to_owned()),
        supplier: None,
        manufacturer,
        group: None,
        name: facts
            .and_then(|p| p.name.clone().or_else(|| p.model.clone()))
            .unwrap_or_else(|| "device".to_owned()),
        version: facts.and_then(|p| p.firmware_version.clone()),
        description: None,
        hashes: Vec::new(),
        licenses: Vec::new(),
        cpe: None,
        purl: None,
        external_references: product_references(product),
        properties,
        components: firmware,
        evidence: None,
    }
}

fn component_type(kind: ComponentKind) -> ComponentType {
    match kind {
        ComponentKind::Application => ComponentType::Application,
        ComponentKind::OperatingSystem => ComponentType::OperatingSystem,
        ComponentKind::Firmware => ComponentType::Firmware,
        ComponentKind::Framework => ComponentType::Framework,
        ComponentKind::DeviceDriver => ComponentType::DeviceDriver,
        // `Library`, and any kind added to the model later: `library` is the least wrong claim
        // for code found in a binary.
        _ => ComponentType::Library,
    }
}

fn technique(method: Method) -> Technique {
    match method {
        Method::BinaryAnalysis => Technique::BinaryAnalysis,
        Method::ManifestAnalysis => Technique::ManifestAnalysis,
        Method::Filename => Technique::Filename,
        Method::HashComparison => Technique::HashComparison,
        _ => Technique::OtherTechnique,
    }
}

fn method_name(method: Method) -> &'static str {
    match method {
        Method::BinaryAnalysis => "binary-analysis",
        Method::ManifestAnalysis => "manifest-analysis",
        Method::Filename => "filename",
        Method::HashComparison => "hash-comparison",
        _ => "other",
    }
}

/// Licences the manufacturer states for its own firmware (the product file's `firmware-license`):
/// its distribution licence, so `acknowledgement: concluded`. Valid SPDX expressions become one
/// `expression` (several are all claimed, so they are joined with `AND`). CycloneDX cannot mix an
/// expression with named licences, so when any text is not an SPDX expression ("GPLv2", "BSD"),
/// each is listed on its own: an SPDX id as `id`, anything else as `name`, never passed off as an
/// expression.
fn licenses(texts: &[String]) -> Vec<LicenseChoice> {
    let stated = Stated::of(texts);
    if let Some(expression) = stated.expression() {
        return vec![LicenseChoice::Expression {
            expression,
            acknowledgement: Some(Acknowledgement::Concluded),
        }];
    }
    stated.listed(&Acknowledgement::Concluded)
}

/// Licence texts as written somewhere (a package database, a product file), each with its SPDX
/// form when it is one.
struct Stated<'a>(Vec<(&'a str, Option<String>)>);

impl<'a> Stated<'a> {
    fn of(texts: &'a [String]) -> Self {
        let mut cleaned: Vec<&str> = texts
            .iter()
            .map(|e| e.trim())
            .filter(|e| !e.is_empty())
            .collect();
        cleaned.dedup();
        Self(
            cleaned
                .into_iter()
                .map(|text| (text, crate::spdx_expression(text)))
                .collect(),
        )
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// All of them as one SPDX expression, when every one is SPDX.
    fn expression(&self) -> Option<String> {
        let valid: Option<Vec<String>> = self.0.iter().map(|(_, e)| e.clone()).collect();
        crate::license::all_of(&valid?)
    }

    /// One entry each: an SPDX id as `id`, anything else as `name`.
    fn listed(&self, acknowledgement: &Acknowledgement) -> Vec<LicenseChoice> {
        self.0
            .iter()
            .map(|(text, expression)| {
                let id = expression
                    .clone()
                    .filter(|e| crate::license::is_listed_id(e));
                LicenseChoice::License {
                    license: License {
                        name: id.is_none().then(|| (*text).to_owned()),
                        id,
                        acknowledgement: Some(acknowledgement.clone()),
                    },
                }
            })
            .collect()
    }

    fn joined(&self) -> String {
        self.0
            .iter()
            .map(|(text, _)| *text)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Property naming where a component's distribution licence (`acknowledgement: concluded`) was
/// concluded from: `package-database` (the supplier's own statement in the image, which wins) or
/// `knowledge-base` (the licence the upstream project declares, from consign's signature of the
/// product).
pub const LICENCE_CONCLUDED_FROM: &str = "consign:licence:concluded-from";
/// Property with the knowledge base's licence of a component whose package database states
/// another: the supplier's statement won, and this is the difference.
pub const LICENCE_KNOWLEDGE_BASE: &str = "consign:licence:knowledge-base";
/// Property with the licence texts the image states (`acknowledgement: declared`) when CycloneDX
/// cannot list them beside a concluded licence that is a compound expression.
pub const LICENCE_DECLARED: &str = "consign:licence:declared";
/// Property naming where a component's creator (`manufacturer.url`) comes from: `knowledge-base`.
pub const CREATOR_SOURCE: &str = "consign:creator:source";

/// A component's licences: what its image states (a package database's `License:`, the
/// supplier's own statement, written `declared`), and the distribution licence consign concludes
/// (`concluded`): the statement when it is SPDX, else the licence the knowledge base holds for the
/// upstream project. The properties say where the conclusion came from and, when the statement
/// and the knowledge base disagree, what the knowledge base says.
fn component_licences(
    stated: &[String],
    upstream: Option<&str>,
) -> (Vec<LicenseChoice>, Vec<Property>) {
    let stated = Stated::of(stated);
    let known = upstream.and_then(crate::spdx_expression);
    let mut properties = Vec::new();
    let concluded = match (stated.expression(), &known) {
        (Some(expression), _) => Some((expression, "package-database")),
        (None, Some(known)) => Some((known.clone(), "knowledge-base")),
        (None, None) => None,
    };
    if let Some((expression, source)) = &concluded {
        properties.push(Property::new(LICENCE_CONCLUDED_FROM, *source));
        if let Some(known) = &known
            && !stated.is_empty()
            && known != expression
        {
            properties.push(Property::new(LICENCE_KNOWLEDGE_BASE, known.clone()));
        }
    }
    let choices = match concluded {
        None => stated.listed(&Acknowledgement::Declared),
        // A single id sits in a list beside what the image states.
        Some((id, _)) if crate::license::is_listed_id(&id) => {
            let mut list = stated.listed(&Acknowledgement::Declared);
            list.push(LicenseChoice::License {
                license: License {
                    id: Some(id),
                    name: None,
                    acknowledgement: Some(Acknowledgement::Concluded),
                },
            });
            list
        }
        // CycloneDX allows exactly one expression and nothing beside it.
        Some((expression, _)) => {
            if !stated.is_empty() {
                properties.push(Property::new(LICENCE_DECLARED, stated.joined()));
            }
            vec![LicenseChoice::Expression {
                expression,
                acknowledgement: Some(Acknowledgement::Concluded),
            }]
        }
    };
    (choices, properties)
}

/// `path` as an IRI reference (RFC 3987): characters outside the unreserved and sub-delimiter
/// sets, `/`, `@` and `:` are percent-encoded, and a `:` before the first `/` too, so the path can
/// never read as a scheme.
fn iri_reference(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_first_segment = true;
    for byte in path.bytes() {
        let keep = byte.is_ascii_alphanumeric()
            || b"-._~!$&'()*+,;=/@".contains(&byte)
            || (byte == b':' && !in_first_segment);
        if byte == b'/' {
            in_first_segment = false;
        }
        if keep {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// The deployable file: an external reference of type `distribution` with its hashes, where BSI
/// TR-03183-2 v2.1 (appendix 8.2) reads the SHA-512 of the deployable form. The URL is the file's
/// logical path inside the firmware image (image, containers with their offsets, path).
fn distribution_reference(location: &str, digests: &Digests, comment: &str) -> ExternalReference {
    ExternalReference {
        reference_type: ExternalReferenceType::Distribution,
        url: iri_reference(location),
        comment: Some(comment.to_owned()),
        hashes: vec![
            hash(HashAlgorithm::Sha512, digests.sha512.to_hex()),
            hash(HashAlgorithm::Sha256, digests.sha256.to_hex()),
        ],
    }
}

fn component(
    detected: &model::Component,
    bom_ref: String,
    missing_version: MissingVersion,
) -> Component {
    let mut hashes = Vec::new();
    for (_, digests) in &detected.files {
        hashes.push(hash(HashAlgorithm::Sha512, digests.sha512.to_hex()));
    }
    for (_, digests) in &detected.files {
        hashes.push(hash(HashAlgorithm::Sha256, digests.sha256.to_hex()));
    }
    let mut file_names: Vec<&str> = detected
        .files
        .iter()
        .map(|(path, _)| file_name(path))
        .collect();
    if file_names.is_empty() {
        file_names.extend(detected.occurrences.first().map(|o| file_name(&o.location)));
    }
    file_names.dedup();
    let mut properties: Vec<Property> = file_names
        .iter()
        .map(|name| Property::new(bsi::FILENAME, *name))
        .collect();
    properties.push(Property::new(bsi::EXECUTABLE, "executable"));
    properties.push(Property::new(bsi::ARCHIVE, "no archive"));
    properties.push(Property::new(bsi::STRUCTURED, "unstructured"));
    // No binary states a release: say so, and give the file's date (a time of 0 is an unset
    // field, not 1970), in `version` only when asked (see `MissingVersion`).
    let mut version = detected.version.clone();
    if version.is_none() {
        let modified = detected
            .modified
            .filter(|t| *t > 0)
            .and_then(|t| Timestamp::from_unix_seconds(t).ok());
        if let Some(date) = &modified {
            properties.push(Property::new(FILE_MODIFIED, date.as_str()));
        }
        match modified {
            Some(date) if missing_version == MissingVersion::FileDate => {
                properties.push(Property::new(VERSION_SOURCE, "file-modification-time"));
                version = Some(date.as_str().to_owned());
            }
            _ => properties.push(Property::new(VERSION_SOURCE, "none")),
        }
    }

    let mut methods: BTreeMap<Method, (model::Confidence, Option<String>)> = BTreeMap::new();
    for occurrence in &detected.occurrences {
        let entry = methods
            .entry(occurrence.method)
            .or_insert((occurrence.confidence, occurrence.matched.clone()));
        if occurrence.confidence > entry.0 {
            *entry = (occurrence.confidence, occurrence.matched.clone());
        }
    }
    let identity_field = if detected.purl.is_some() {
        "purl"
    } else {
        "name"
    };
    let concluded = detected
        .purl_with_version()
        .unwrap_or_else(|| detected.name.clone());
    let evidence = Evidence {
        identity: vec![Identity {
            field: identity_field.to_owned(),
            confidence: Some(detected.confidence.score()),
            concluded_value: Some(concluded),
            methods: methods
                .into_iter()
                .map(|(method, (confidence, value))| IdentityMethod {
                    technique: technique(method),
                    confidence: confidence.score(),
                    value,
                })
                .collect(),
        }],
        occurrences: detected
            .occurrences
            .iter()
            .map(|o| EvidenceOccurrence {
                location: o.location.clone(),
                offset: o.offset,
                additional_context: Some(occurrence_context(o, detected.version.as_deref())),
            })
            .collect(),
    };

    let (licences, licence_properties) =
        component_licences(&detected.licenses, detected.upstream.license.as_deref());
    properties.extend(licence_properties);
    // The creator, from the knowledge base: the upstream project's home page (BSI TR-03183-2
    // 5.2.2 takes a URL when no e-mail is known; appendix 8.2 maps it to `manufacturer.url`).
    let manufacturer = detected.upstream.homepage.as_ref().map(|url| {
        properties.push(Property::new(CREATOR_SOURCE, "knowledge-base"));
        OrganizationalEntity {
            url: vec![url.clone()],
            ..OrganizationalEntity::default()
        }
    });
    let mut external_references: Vec<ExternalReference> = detected
        .upstream
        .homepage
        .iter()
        .map(|url| ExternalReference {
            reference_type: ExternalReferenceType::Website,
            url: url.clone(),
            comment: Some("the upstream project (consign's knowledge base)".to_owned()),
            hashes: Vec::new(),
        })
        .collect();
    external_references.extend(detected.files.iter().map(|(path, digests)| {
        distribution_reference(
            path,
            digests,
            "the deployable file, by its path inside the firmware image",
        )
    }));

    Component {
        component_type: component_type(detected.kind),
        bom_ref: Some(bom_ref),
        supplier: detected.supplier.as_deref().map(named_entity),
        manufacturer,
        group: None,
        name: detected.name.clone(),
        version,
        description: None,
        hashes,
        licenses: licences,
        cpe: detected.cpe(),
        purl: detected.purl_with_version(),
        external_references,
        properties,
        components: Vec::new(),
        evidence: Some(evidence),
    }
}

/// What one occurrence says, for `evidence.occurrences[].additionalContext`: how it was found, the
/// text, how many times the file states it, and, when it states another release than the
/// component's, that it lost the vote in its file (a reader sees both candidates).
fn occurrence_context(occurrence: &model::Occurrence, chosen: Option<&str>) -> String {
    let mut text = method_name(occurrence.method).to_owned();
    if let Some(matched) = &occurrence.matched {
        text.push_str(": ");
        text.push_str(matched);
    }
    if let Some(count) = occurrence.count.filter(|count| *count > 1) {
        let _ = write!(text, " ({count} times)");
    }
    if let (Some(states), Some(chosen)) = (occurrence.states.as_deref(), chosen)
        && states != chosen
    {
        let _ = write!(
            text,
            " [states {states}; not chosen: this file's evidence for {chosen} is stronger]"
        );
    }
    text
}

/// Serialises the BOM as pretty JSON for `spec` (setting `specVersion` and `$schema`), with a
/// trailing newline. The same BOM always gives the same bytes.
pub fn to_json(bom: &Bom, spec: SpecVersion) -> String {
    let mut bom = bom.clone();
    bom.schema = Some(spec.schema_url().to_owned());
    spec.as_str().clone_into(&mut bom.spec_version);
    let mut text = serde_json::to_string_pretty(&bom).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use consign_model::{Confidence, Occurrence, Upstream};
    use serde_json::Value;

    fn detected(
        name: &str,
        version: Option<&str>,
        files: &[&str],
        needs: &[&str],
    ) -> model::Component {
        model::Component {
            name: name.into(),
            version: version.map(Into::into),
            kind: ComponentKind::Library,
            cpe_vendor: Some(name.into()),
            cpe_product: Some(name.into()),
            purl: Some(format!("pkg:generic/{name}")),
            supplier: None,
            licenses: vec!["Apache-2.0".into()],
            upstream: Upstream::default(),
            occurrences: files
                .iter()
                .map(|path| Occurrence {
                    location: format!("fw.img/squashfs@0x40000{path}"),
                    offset: Some(0x1234),
                    matched: Some(format!("{name} {}", version.unwrap_or("?"))),
                    method: Method::BinaryAnalysis,
                    confidence: Confidence::High,
                    states: None,
                    count: None,
                })
                .collect(),
            confidence: Confidence::High,
            files: files
                .iter()
                .map(|path| ((*path).to_owned(), Digests::of(path.as_bytes())))
                .collect(),
            modified: None,
            depends_on: needs.iter().map(|n| (*n).to_owned()).collect(),
        }
    }

    fn components() -> Vec<model::Component> {
        vec![
            detected(
                "openssl",
                Some("3.0.11"),
                &["/usr/lib/libssl.so.3", "/usr/lib/libcrypto.so.3"],
                &["glibc"],
            ),
            detected("glibc", Some("2.36"), &["/lib/libc.so.6"], &[]),
            detected("busybox", None, &["/bin/busybox"], &["glibc", "missing"]),
        ]
    }

    /// One image, `fw.img`, carrying `found`.
    fn fw_img<'a>(found: &'a [model::Component], version: Option<&'a str>) -> [ImageInput<'a>; 1] {
        [ImageInput {
            name: "fw.img",
            digests: Digests::of(b"img"),
            components: found,
            version,
            supplier: None,
        }]
    }

    fn product() -> ProductFile {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/sbom/product.toml"
        ))
        .unwrap();
        ProductFile::from_toml(&text).unwrap()
    }

    fn input<'a>(images: &'a [ImageInput<'a>], product: Option<&'a ProductFile>) -> SbomInput<'a> {
        SbomInput {
            images,
            product,
            serial_number: None,
            timestamp: Timestamp::from_unix_seconds(1_767_225_600).unwrap(),
            tool_name: "consign",
            tool_version: "0.1.0",
            supplier_boms: &[],
            missing_version: MissingVersion::Omit,
        }
    }

    #[test]
    fn timestamps_and_serials() {
        assert_eq!(
            Timestamp::from_unix_seconds(0).unwrap().as_str(),
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(
            Timestamp::from_unix_seconds(951_782_400).unwrap().as_str(),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            Timestamp::from_unix_seconds(1_767_225_599)
                .unwrap()
                .as_str(),
            "2025-12-31T23:59:59Z"
        );
        assert!(Timestamp::from_unix_seconds(-1).is_err());
        assert!("2025-12-31T23:59:59Z".parse::<Timestamp>().is_ok());
        for bad in [
            "2025-12-31 23:59:59Z",
            "2025-02-30T00:00:00Z",
            "2025-12-31T24:00:00Z",
            "x",
        ] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad}");
        }
        let serial: SerialNumber = "3E671687-395B-41F5-A30F-A58921A69B79".parse().unwrap();
        assert_eq!(
            serial.as_str(),
            "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"
        );
        assert!("urn:uuid:xyz".parse::<SerialNumber>().is_err());
    }

    /// No release in the binaries: the file's modification date is recorded, and stands in for
    /// the version (BSI TR-03183-2 5.2.2) only when asked, marked, and never in purl or CPE. The
    /// gap left is one only the supplier can fill.
    #[test]
    fn version_unknown_takes_the_file_date() {
        let mut dated = detected("busybox", None, &["/bin/busybox"], &[]);
        dated.modified = Some(1_700_000_000);
        let mut undated = detected("dropbear", None, &["/usr/sbin/dropbear"], &[]);
        undated.modified = Some(0); // An unset field, not 1970.
        let found = [dated, undated];
        let images = fw_img(&found, Some("1.2"));
        let product = product();
        let property = |component: &Value, name: &str| -> Vec<String> {
            component["properties"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["name"] == name)
                .map(|p| p["value"].as_str().unwrap().to_owned())
                .collect()
        };
        let version_gaps = |json: &Value| -> Vec<(String, crate::FactSource)> {
            crate::check_profile(json, crate::Profile::BsiTr031832)
                .into_iter()
                .filter(|g| g.rule.ends_with(":version"))
                .map(|g| (g.pointer, g.source))
                .collect()
        };
        for mode in [MissingVersion::Omit, MissingVersion::FileDate] {
            let mut input = input(&images, Some(&product));
            input.missing_version = mode;
            let json: Value =
                serde_json::from_str(&to_json(&build(&input), SpecVersion::V1_6)).unwrap();
            assert!(crate::validate_schema(&json).is_empty());
            let busybox = &json["components"][0];
            assert_eq!(busybox["name"], "busybox");
            assert_eq!(property(busybox, FILE_MODIFIED), ["2023-11-14T22:13:20Z"]);
            assert_eq!(busybox["purl"], "pkg:generic/busybox");
            assert_eq!(busybox["cpe"], "cpe:2.3:a:busybox:busybox:*:*:*:*:*:*:*:*");
            let dropbear = &json["components"][1];
            assert!(dropbear.get("version").is_none());
            assert_eq!(property(dropbear, FILE_MODIFIED), Vec::<String>::new());
            assert_eq!(property(dropbear, VERSION_SOURCE), ["none"]);
            let supplier = crate::FactSource::Supplier;
            if mode == MissingVersion::Omit {
                assert!(busybox.get("version").is_none());
                assert_eq!(property(busybox, VERSION_SOURCE), ["none"]);
                assert_eq!(
                    version_gaps(&json),
                    [
                        ("/components/0".to_owned(), supplier),
                        ("/components/1".to_owned(), supplier)
                    ]
                );
            } else {
                assert_eq!(busybox["version"], "2023-11-14T22:13:20Z");
                assert_eq!(
                    property(busybox, VERSION_SOURCE),
                    ["file-modification-time"]
                );
                assert_eq!(
                    version_gaps(&json),
                    [("/components/1".to_owned(), supplier)]
                );
            }
        }
        assert_eq!("file-date".parse(), Ok(MissingVersion::FileDate));
        assert!("date".parse::<MissingVersion>().is_err());
    }

    /// A component's licences, one line each (`acknowledgement id= name= expression=`), then its
    /// licence properties (`name=value`), for the statement in the image and the knowledge base.
    #[track_caller]
    fn check_licences(stated: &[&str], known: Option<&str>, want: &str) {
        let texts: Vec<String> = stated.iter().map(|t| (*t).to_owned()).collect();
        let (choices, properties) = component_licences(&texts, known);
        let or_dash = |value: Option<&str>| value.unwrap_or("-").to_owned();
        let mut lines: Vec<String> = choices
            .into_iter()
            .map(|choice| match choice {
                LicenseChoice::Expression {
                    expression,
                    acknowledgement,
                } => format!(
                    "{} id=- name=- expression={expression}",
                    or_dash(acknowledgement.as_ref().map(Acknowledgement::as_str))
                ),
                LicenseChoice::License { license } => format!(
                    "{} id={} name={} expression=-",
                    or_dash(
                        license
                            .acknowledgement
                            .as_ref()
                            .map(Acknowledgement::as_str)
                    ),
                    or_dash(license.id.as_deref()),
                    or_dash(license.name.as_deref())
                ),
            })
            .collect();
        lines.extend(
            properties
                .into_iter()
                .map(|p| format!("{}={}", p.name, p.value.unwrap_or_default())),
        );
        assert_eq!(lines.join("\n"), want.trim(), "{stated:?} {known:?}");
    }

    /// The statement in the image (a package database's `License:`) is `declared` and, when it
    /// is SPDX, wins as the `concluded` distribution licence; otherwise the knowledge base's
    /// licence is concluded. Every conclusion names its source, and a knowledge base that
    /// disagrees with the statement is kept beside it.
    #[test]
    fn licences_declared_concluded_and_their_source() {
        check_licences(
            &[],
            Some("GPL-2.0-only"),
            "concluded id=GPL-2.0-only name=- expression=-
consign:licence:concluded-from=knowledge-base",
        );
        check_licences(
            &["gpl-2.0-only"],
            Some("GPL-2.0-only"),
            "declared id=GPL-2.0-only name=- expression=-
concluded id=GPL-2.0-only name=- expression=-
consign:licence:concluded-from=package-database",
        );
        // The supplier's statement wins, and the difference is recorded.
        check_licences(
            &["MIT"],
            Some("GPL-2.0-only"),
            "declared id=MIT name=- expression=-
concluded id=MIT name=- expression=-
consign:licence:concluded-from=package-database
consign:licence:knowledge-base=GPL-2.0-only",
        );
        // Free text is named, never passed off as SPDX; the knowledge base concludes.
        check_licences(
            &["GPLv2", "MIT"],
            Some("GPL-2.0-only"),
            "declared id=- name=GPLv2 expression=-
declared id=MIT name=- expression=-
concluded id=GPL-2.0-only name=- expression=-
consign:licence:concluded-from=knowledge-base",
        );
        // CycloneDX holds one expression and nothing beside it: the statement moves to a property.
        check_licences(
            &["gpl-2.0-only", "MIT or Apache-2.0"],
            None,
            "concluded id=- name=- expression=(GPL-2.0-only) AND (MIT OR Apache-2.0)
consign:licence:concluded-from=package-database
consign:licence:declared=gpl-2.0-only; MIT or Apache-2.0",
        );
        check_licences(
            &["BSD"],
            Some("LicenseRef-sash"),
            "concluded id=- name=- expression=LicenseRef-sash
consign:licence:concluded-from=knowledge-base
consign:licence:declared=BSD",
        );
        // Nothing concluded: the statement alone, declared.
        check_licences(&["GPLv2"], None, "declared id=- name=GPLv2 expression=-");
        check_licences(&[], None, "");
        // A knowledge-base value that is not SPDX is never written.
        check_licences(&[], Some("GPL v2"), "");
    }

    /// Written into a BOM: schema-valid, and BSI finds the distribution licence; a free-text
    /// statement with nothing to conclude from is a gap the supplier must fill.
    #[test]
    fn licences_in_the_bom_pass_schema_and_bsi() {
        let mut known = detected("dropbear", Some("2022.83"), &["/usr/sbin/dropbear"], &[]);
        known.licenses = vec!["MIT".into(), "BSD".into()];
        known.upstream.license = Some("MIT".into());
        let mut unknown = detected("toybox", Some("0.8.9"), &["/bin/toybox"], &[]);
        unknown.licenses = vec!["BSD".into()];
        let found = [known, unknown];
        let images = fw_img(&found, Some("1.2"));
        let bom = build(&input(&images, None));
        let json: Value = serde_json::from_str(&to_json(&bom, SpecVersion::V1_6)).unwrap();
        assert_eq!(crate::validate_schema(&json), Vec::new());
        let gaps: Vec<(String, String)> = crate::check_profile(&json, crate::Profile::BsiTr031832)
            .into_iter()
            .filter(|g| g.rule.contains("licence") && g.pointer.starts_with("/components"))
            .map(|g| (g.pointer, g.rule))
            .collect();
        assert_eq!(
            gaps,
            [
                (
                    "/components/0/licenses/1".to_owned(),
                    "bsi-tr-03183-2:5.2.4:original-licence-spdx".to_owned()
                ),
                (
                    "/components/1".to_owned(),
                    "bsi-tr-03183-2:5.2.2:licence".to_owned()
                ),
                (
                    "/components/1/licenses/0".to_owned(),
                    "bsi-tr-03183-2:5.2.4:original-licence-spdx".to_owned()
                ),
            ]
        );
        let spdx: Value = serde_json::from_str(&crate::to_spdx_json(&bom)).unwrap();
        assert!(crate::validate_spdx_schema(&spdx).is_empty());
        let dropbear = spdx["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "dropbear")
            .unwrap();
        assert_eq!(dropbear["licenseDeclared"], "NOASSERTION");
        assert_eq!(dropbear["licenseConcluded"], "MIT");
    }

    /// Paths become IRI references that no validator can take for a scheme or reject.
    #[test]
    fn paths_as_iri_references() {
        for (path, want) in [
            (
                "fw.img/squashfs@0x40000/usr/lib/libz.so.1",
                "fw.img/squashfs@0x40000/usr/lib/libz.so.1",
            ),
            ("a:b/c d/é", "a%3Ab/c%20d/%C3%A9"),
            ("x/y:z%", "x/y:z%25"),
        ] {
            assert_eq!(iri_reference(path), want);
        }
    }

    #[test]
    fn single_image_shape() {
        let found = components();
        let images = fw_img(&found, Some("1.2"));
        let bom = build(&input(&images, None));
        let root = bom.metadata.as_ref().unwrap().component.as_deref().unwrap();
        assert_eq!(root.component_type, ComponentType::Firmware);
        assert_eq!(root.bom_ref.as_deref(), Some("firmware:fw.img"));
        let names: Vec<&str> = bom.components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["busybox", "glibc", "openssl"]);
        let openssl = &bom.components[2];
        assert_eq!(openssl.purl.as_deref(), Some("pkg:generic/openssl@3.0.11"));
        assert_eq!(
            openssl
                .hashes
                .iter()
                .filter(|h| h.alg == HashAlgorithm::Sha512)
                .count(),
            2
        );
        let deps: BTreeMap<&str, Vec<&str>> = bom
            .dependencies
            .iter()
            .map(|d| {
                (
                    d.dependency_ref.as_str(),
                    d.depends_on.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            deps["pkg:generic/openssl@3.0.11"],
            ["pkg:generic/glibc@2.36"]
        );
        assert_eq!(deps["pkg:generic/busybox"], ["pkg:generic/glibc@2.36"]);
        assert_eq!(deps["firmware:fw.img"].len(), 3);
        assert_eq!(deps.len(), 4);
    }

    #[test]
    fn device_with_two_images_and_colliding_refs() {
        let found = components();
        let radio = vec![detected("openssl", Some("3.0.11"), &["/radio.bin"], &[])];
        let images = [
            ImageInput {
                name: "main.img",
                digests: Digests::of(b"a"),
                components: &found,
                version: None,
                supplier: None,
            },
            ImageInput {
                name: "radio.bin",
                digests: Digests::of(b"b"),
                components: &radio,
                version: Some("7"),
                supplier: Some("Example Radio Ltd"),
            },
        ];
        let product = product();
        let bom = build(&input(&images, Some(&product)));
        let root = bom.metadata.as_ref().unwrap().component.as_deref().unwrap();
        assert_eq!(root.component_type, ComponentType::Device);
        assert_eq!(root.components.len(), 2);
        assert_eq!(root.name, "Example Smart Plug");
        let refs: Vec<&str> = bom
            .components
            .iter()
            .filter_map(|c| c.bom_ref.as_deref())
            .collect();
        assert!(refs.contains(&"pkg:generic/openssl@3.0.11#2"), "{refs:?}");
        let mut all: Vec<String> = bom
            .all_components()
            .iter()
            .filter_map(|(_, c)| c.bom_ref.clone())
            .collect();
        let count = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), count, "bom-refs are unique");
        let dep_refs: BTreeSet<&str> = bom
            .dependencies
            .iter()
            .map(|d| d.dependency_ref.as_str())
            .collect();
        for r in &all {
            assert!(
                dep_refs.contains(r.as_str()),
                "{r} has no dependencies entry"
            );
        }
    }

    fn all_outputs() -> Vec<(String, String)> {
        let found = components();
        let images = fw_img(&found, None);
        let product = product();
        let mut out = Vec::new();
        for (label, product) in [("plain", None), ("product", Some(&product))] {
            let bom = build(&input(&images, product));
            out.push((format!("{label}-1.6"), to_json(&bom, SpecVersion::V1_6)));
            out.push((format!("{label}-1.7"), to_json(&bom, SpecVersion::V1_7)));
            out.push((format!("{label}-spdx"), crate::to_spdx_json(&bom)));
        }
        out
    }

    #[test]
    fn deterministic_bytes() {
        assert_eq!(all_outputs(), all_outputs());
    }

    #[test]
    fn outputs_are_schema_valid() {
        for (label, text) in all_outputs() {
            let json: Value = serde_json::from_str(&text).unwrap();
            let issues = if label.ends_with("spdx") {
                crate::validate_spdx_schema(&json)
            } else {
                crate::validate_schema(&json)
            };
            assert_eq!(issues, Vec::new(), "{label}");
            assert!(text.ends_with("}\n"));
        }
    }

    #[test]
    fn round_trip_through_the_model() {
        for (label, text) in all_outputs() {
            if label.ends_with("spdx") {
                continue;
            }
            let bom: Bom = serde_json::from_str(&text).unwrap();
            let spec = if label.ends_with("1.7") {
                SpecVersion::V1_7
            } else {
                SpecVersion::V1_6
            };
            assert_eq!(to_json(&bom, spec), text, "{label}");
        }
    }

    #[test]
    fn broken_sbom_fails_schema() {
        let (_, text) = &all_outputs()[0];
        let mut json: Value = serde_json::from_str(text).unwrap();
        json["components"][0]["hashes"][0]["content"] = Value::from("not hex");
        json["components"][1]["type"] = Value::from("gadget");
        let issues = crate::validate_schema(&json);
        let pointers: Vec<&str> = issues.iter().map(|i| i.pointer.as_str()).collect();
        assert!(
            pointers.contains(&"/components/0/hashes/0/content"),
            "{issues:#?}"
        );
        assert!(pointers.contains(&"/components/1/type"), "{issues:#?}");
    }

    #[test]
    fn bsi_profile_on_own_sbom() {
        let outputs = all_outputs();
        let with_product: Value = serde_json::from_str(&outputs[3].1).unwrap();
        let gaps = crate::check_profile(&with_product, crate::Profile::BsiTr031832);
        // Left: component creators (no detector knows the upstream's URL) and busybox's version.
        let rules: BTreeSet<&str> = gaps.iter().map(|g| g.rule.as_str()).collect();
        assert_eq!(
            rules.into_iter().collect::<Vec<_>>(),
            [
                "bsi-tr-03183-2:5.2.2:component-creator",
                "bsi-tr-03183-2:5.2.2:version"
            ],
            "{gaps:#?}"
        );
        assert!(gaps.iter().all(|g| g.pointer.starts_with("/components/")));
        let plain: Value = serde_json::from_str(&outputs[0].1).unwrap();
        let gaps = crate::check_profile(&plain, crate::Profile::BsiTr031832);
        let manufacturer_only: Vec<&str> = gaps
            .iter()
            .filter(|g| g.source == crate::FactSource::Manufacturer)
            .map(|g| g.rule.as_str())
            .collect();
        assert_eq!(
            manufacturer_only,
            [
                "bsi-tr-03183-2:5.2.1:creator",
                "bsi-tr-03183-2:5.2.2:component-creator",
                "bsi-tr-03183-2:5.2.2:version",
                "bsi-tr-03183-2:5.2.2:licence"
            ]
        );
        let ntia = crate::check_profile(&with_product, crate::Profile::Ntia);
        let rules: BTreeSet<&str> = ntia.iter().map(|g| g.rule.as_str()).collect();
        assert_eq!(
            rules.into_iter().collect::<Vec<_>>(),
            ["ntia:supplier:supplier-name", "ntia:version:version"],
            "{ntia:#?}"
        );
    }

    /// A large inventory: 5,000 components, written, validated and profile-checked.
    #[test]
    fn large_inventory_stays_valid() {
        let found: Vec<model::Component> = (0..5000)
            .map(|idx| {
                let name = format!("lib{idx}");
                detected(
                    &name,
                    Some("1.0"),
                    &[&format!("/usr/lib/{name}.so")],
                    &["lib0"],
                )
            })
            .collect();
        let images = [ImageInput {
            name: "big.img",
            digests: Digests::of(b"big"),
            components: &found,
            version: Some("1"),
            supplier: None,
        }];
        let started = std::time::Instant::now();
        let text = to_json(&build(&input(&images, None)), SpecVersion::V1_6);
        let built = started.elapsed();
        let json = crate::parse_json(text.as_bytes(), &crate::ReadLimits::default()).unwrap();
        assert_eq!(crate::validate_schema(&json), Vec::new());
        let validated = started.elapsed();
        let gaps = crate::check_profile(&json, crate::Profile::BsiTr031832);
        let component_gaps: Vec<&str> = gaps
            .iter()
            .filter(|g| g.pointer.starts_with("/components/"))
            .map(|g| g.rule.as_str())
            .collect();
        assert_eq!(component_gaps.len(), 5000);
        assert!(
            component_gaps
                .iter()
                .all(|r| *r == "bsi-tr-03183-2:5.2.2:component-creator")
        );
        println!(
            "5000 components, {} bytes: build+serialise {built:?}, +parse+schema {validated:?}, +profile {:?}",
            text.len(),
            started.elapsed()
        );
    }

    #[test]
    fn snapshot_with_product() {
        let found = components();
        let images = fw_img(&found, None);
        let product = product();
        let bom = build(&input(&images, Some(&product)));
        insta::assert_snapshot!("sbom_with_product_1_6", to_json(&bom, SpecVersion::V1_6));
    }
}
