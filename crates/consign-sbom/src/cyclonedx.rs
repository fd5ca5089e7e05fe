//! Serde types for the parts of CycloneDX 1.6 and 1.7 JSON that consign writes and reads.
//!
//! The same types serve both spec versions: every field consign uses means the same in 1.6 and 1.7,
//! and [`crate::to_json`] writes the `specVersion` and `$schema` of the version asked for.
//!
//! Reading is tolerant, because other tools add fields: unknown fields are ignored (no
//! `deny_unknown_fields`), and enumerations whose value consign does not know keep the text in an
//! `Other` variant instead of failing. Writing only ever emits values the schema allows.

use serde::{Deserialize, Serialize};

/// Declares a string-valued enumeration with an `Other(String)` fallback, so that reading an
/// unknown value from another tool's SBOM never fails and never panics.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value consign does not know, kept as written.
            Other(String),
        }

        impl $name {
            /// The text CycloneDX uses for this value.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Other(text) => text,
                }
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                match text.as_str() {
                    $($text => Self::$variant,)+
                    _ => Self::Other(text),
                }
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                match value {
                    $name::Other(text) => text,
                    other => other.as_str().to_owned(),
                }
            }
        }
    };
}

string_enum! {
    /// `component.type`.
    ComponentType {
        /// `application`.
        Application => "application",
        /// `framework`.
        Framework => "framework",
        /// `library`.
        Library => "library",
        /// `container`.
        Container => "container",
        /// `platform`.
        Platform => "platform",
        /// `operating-system`.
        OperatingSystem => "operating-system",
        /// `device`.
        Device => "device",
        /// `device-driver`.
        DeviceDriver => "device-driver",
        /// `firmware`.
        Firmware => "firmware",
        /// `file`.
        File => "file",
        /// `data`.
        Data => "data",
    }
}

string_enum! {
    /// `hash.alg`.
    HashAlgorithm {
        /// `SHA-1`.
        Sha1 => "SHA-1",
        /// `SHA-256`.
        Sha256 => "SHA-256",
        /// `SHA-384`.
        Sha384 => "SHA-384",
        /// `SHA-512`.
        Sha512 => "SHA-512",
        /// `SHA3-256`.
        Sha3_256 => "SHA3-256",
        /// `SHA3-512`.
        Sha3_512 => "SHA3-512",
        /// `MD5`.
        Md5 => "MD5",
    }
}

string_enum! {
    /// `externalReference.type` (the values consign writes or looks for).
    ExternalReferenceType {
        /// `bom`: another SBOM, by BOM-Link or URL.
        Bom => "bom",
        /// `website`.
        Website => "website",
        /// `vcs`.
        Vcs => "vcs",
        /// `distribution`: where the deployable file is (BSI TR-03183-2 puts its SHA-512 here).
        Distribution => "distribution",
        /// `source-distribution`: where the source code is.
        SourceDistribution => "source-distribution",
        /// `rfc-9116`: a `security.txt` (RFC 9116).
        Rfc9116 => "rfc-9116",
        /// `security-contact`.
        SecurityContact => "security-contact",
        /// `support`.
        Support => "support",
        /// `documentation`.
        Documentation => "documentation",
        /// `other`.
        OtherType => "other",
    }
}

string_enum! {
    /// `license.acknowledgement` / `expression.acknowledgement` (CycloneDX 1.6 and later). BSI
    /// TR-03183-2 v2.1 reads the distribution licence from `concluded` and the original licence
    /// from `declared`.
    Acknowledgement {
        /// What the authors state (the original licence).
        Declared => "declared",
        /// What was concluded for this copy (the distribution licence).
        Concluded => "concluded",
    }
}

string_enum! {
    /// `composition.aggregate`.
    Aggregate {
        /// Known to be complete.
        Complete => "complete",
        /// Known to be incomplete.
        Incomplete => "incomplete",
        /// Completeness unknown.
        Unknown => "unknown",
        /// Not specified.
        NotSpecified => "not_specified",
    }
}

string_enum! {
    /// `evidence.identity.methods.technique`.
    Technique {
        /// `binary-analysis`.
        BinaryAnalysis => "binary-analysis",
        /// `manifest-analysis`.
        ManifestAnalysis => "manifest-analysis",
        /// `filename`.
        Filename => "filename",
        /// `hash-comparison`.
        HashComparison => "hash-comparison",
        /// `source-code-analysis`.
        SourceCodeAnalysis => "source-code-analysis",
        /// `other`.
        OtherTechnique => "other",
    }
}

/// A whole CycloneDX document.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bom {
    /// The JSON schema URL (`http://cyclonedx.org/schema/bom-1.6.schema.json`).
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Always `CycloneDX`.
    pub bom_format: String,
    /// `1.6` or `1.7` when consign writes it.
    pub spec_version: String,
    /// `urn:uuid:...`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// Version of this BOM for the same serial number, from 1.
    #[serde(default = "one")]
    pub version: u64,
    /// Document metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// The components, flat.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<Component>,
    /// Links to other documents (supplier SBOMs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_references: Vec<ExternalReference>,
    /// Dependency graph: one entry per bom-ref.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Dependency>,
    /// How complete the inventory is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compositions: Vec<Composition>,
    /// Document-level properties.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

fn one() -> u64 {
    1
}

/// `metadata`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// When the BOM was made, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Lifecycle phases (`post-build`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lifecycles: Vec<Lifecycle>,
    /// The tools that made the BOM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Tools>,
    /// The people who wrote the BOM.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<OrganizationalContact>,
    /// The component the BOM describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<Box<Component>>,
    /// The manufacturer of the described component (CycloneDX 1.6 and later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<OrganizationalEntity>,
    /// The supplier of the described component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<OrganizationalEntity>,
    /// Metadata properties.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

/// One `metadata.lifecycles` entry. Only pre-defined phases are modelled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    /// `design`, `pre-build`, `build`, `post-build`, `operations`, `discovery`, `decommission`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// A custom phase name (when `phase` is absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `metadata.tools`: the 1.5+ object form, or the deprecated array form older tools write.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Tools {
    /// `{ "components": [...], "services": [...] }`.
    Current {
        /// Tools as components.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        components: Vec<Component>,
        /// Tools as services, kept as written.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        services: Vec<serde_json::Value>,
    },
    /// `[ { "vendor", "name", "version" } ]` (deprecated since 1.5).
    Legacy(Vec<LegacyTool>),
}

/// A deprecated `metadata.tools[]` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyTool {
    /// Who makes the tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Tool name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tool version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// A person.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationalContact {
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// An organisation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationalEntity {
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Postal address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<PostalAddress>,
    /// Web sites.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub url: Vec<String>,
    /// Contacts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contact: Vec<OrganizationalContact>,
}

/// A postal address. consign writes the product file's one-line address as `streetAddress`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostalAddress {
    /// Country (ISO 3166-1 alpha-2 recommended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Street address (or the whole address on one line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
}

/// `other`: what [`ExternalReference::default`] starts from.
impl Default for ExternalReferenceType {
    fn default() -> Self {
        Self::OtherType
    }
}

/// `library`: the commonest kind, and what [`Component::default`] starts from.
impl Default for ComponentType {
    fn default() -> Self {
        Self::Library
    }
}

/// One component.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    /// What kind.
    #[serde(rename = "type")]
    pub component_type: ComponentType,
    /// Reference used by `dependencies` and `compositions`; unique in the document.
    #[serde(rename = "bom-ref", default, skip_serializing_if = "Option::is_none")]
    pub bom_ref: Option<String>,
    /// Who supplied it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<OrganizationalEntity>,
    /// Who made it (CycloneDX 1.6 and later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<OrganizationalEntity>,
    /// Group or namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Name.
    pub name: String,
    /// Version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Hashes of the file(s) that carry it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<Hash>,
    /// Licences.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<LicenseChoice>,
    /// CPE 2.3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpe: Option<String>,
    /// Package URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// Links (web site, another SBOM).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_references: Vec<ExternalReference>,
    /// Name-value properties (the BSI properties among them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
    /// Sub-components (the firmware images of a device).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<Component>,
    /// How it was identified and where it was seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
}

/// A hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hash {
    /// Algorithm.
    pub alg: HashAlgorithm,
    /// Lower-case hex.
    pub content: String,
}

/// A licence entry: a named licence or one SPDX expression.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LicenseChoice {
    /// `{ "expression": "..." }`.
    Expression {
        /// An SPDX licence expression.
        expression: String,
        /// Declared or concluded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        acknowledgement: Option<Acknowledgement>,
    },
    /// `{ "license": { "id" | "name" } }`.
    License {
        /// The licence.
        license: License,
    },
}

/// A single licence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct License {
    /// SPDX licence id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Free-text name, when no SPDX id applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Declared or concluded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledgement: Option<Acknowledgement>,
}

/// A link to something outside the BOM.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalReference {
    /// Kind of link.
    #[serde(rename = "type")]
    pub reference_type: ExternalReferenceType,
    /// URL or BOM-Link (`urn:cdx:<serial>/<version>`).
    pub url: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Hashes of the linked document.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<Hash>,
}

/// A name-value property.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Property {
    /// Name (`bsi:component:filename`).
    pub name: String,
    /// Value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl Property {
    /// A property with a value.
    pub fn new(name: &str, value: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            value: Some(value.into()),
        }
    }
}

/// `component.evidence`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Identity evidence (an array since 1.6; a single object in 1.5, read as a one-element list).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "one_or_many"
    )]
    pub identity: Vec<Identity>,
    /// Where it was seen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub occurrences: Vec<EvidenceOccurrence>,
}

fn one_or_many<'de, D>(deserializer: D) -> Result<Vec<Identity>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Many(Vec<Identity>),
        One(Box<Identity>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::Many(list) => list,
        OneOrMany::One(one) => vec![*one],
    })
}

/// `evidence.identity[]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// Which identity field this supports (`purl`, `name`, `version`, `cpe`, `hash`).
    pub field: String,
    /// Overall confidence, 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// The value the evidence concluded (CycloneDX 1.6 and later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concluded_value: Option<String>,
    /// The methods used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<IdentityMethod>,
}

/// `evidence.identity[].methods[]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdentityMethod {
    /// How.
    pub technique: Technique,
    /// Confidence of this method, 0 to 1.
    pub confidence: f64,
    /// What it found (the matched text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// `evidence.occurrences[]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceOccurrence {
    /// Logical path of the file inside the image.
    pub location: String,
    /// Byte offset inside that file (CycloneDX 1.6 and later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// What matched and how.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_context: Option<String>,
}

/// One `dependencies[]` entry.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    /// The bom-ref this entry is about.
    #[serde(rename = "ref")]
    pub dependency_ref: String,
    /// The bom-refs it needs (an empty list means: known to need nothing further).
    #[serde(default)]
    pub depends_on: Vec<String>,
}

/// One `compositions[]` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Composition {
    /// How complete.
    pub aggregate: Aggregate,
    /// The bom-refs whose contents (sub-components) this statement is about.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assemblies: Vec<String>,
    /// The bom-refs whose dependency lists this statement is about.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
}

impl Bom {
    /// Every component in the document: the metadata component, the top-level list, and their
    /// nested components, depth first, each with its JSON pointer.
    pub fn all_components(&self) -> Vec<(String, &Component)> {
        let mut out = Vec::new();
        if let Some(root) = self.metadata.as_ref().and_then(|m| m.component.as_deref()) {
            walk("/metadata/component".to_owned(), root, &mut out);
        }
        for (idx, component) in self.components.iter().enumerate() {
            walk(format!("/components/{idx}"), component, &mut out);
        }
        out
    }
}

/// Depth-first walk: children before their parent.
fn walk<'a>(pointer: String, component: &'a Component, out: &mut Vec<(String, &'a Component)>) {
    for (idx, child) in component.components.iter().enumerate() {
        walk(format!("{pointer}/components/{idx}"), child, out);
    }
    out.push((pointer, component));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_enum_values_are_kept() {
        let json = r#"{"type":"cryptographic-asset","name":"x","hashes":[{"alg":"BLAKE3","content":"ab"}]}"#;
        let component: Component = serde_json::from_str(json).unwrap();
        assert_eq!(
            component.component_type,
            ComponentType::Other("cryptographic-asset".into())
        );
        assert_eq!(component.hashes[0].alg.as_str(), "BLAKE3");
        let back = serde_json::to_string(&component).unwrap();
        assert!(
            back.contains("cryptographic-asset") && back.contains("BLAKE3"),
            "{back}"
        );
    }

    #[test]
    fn identity_object_of_1_5_reads_as_list() {
        let json = r#"{"identity":{"field":"purl","confidence":1}}"#;
        let evidence: Evidence = serde_json::from_str(json).unwrap();
        assert_eq!(evidence.identity.len(), 1);
        assert_eq!(evidence.identity[0].field, "purl");
    }

    #[test]
    fn legacy_tools_array_reads() {
        let json = r#"{"tools":[{"vendor":"x","name":"y","version":"1"}]}"#;
        let metadata: Metadata = serde_json::from_str(json).unwrap();
        assert!(matches!(metadata.tools, Some(Tools::Legacy(ref list)) if list.len() == 1));
    }
}
