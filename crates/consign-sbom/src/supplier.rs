//! Supplier SBOMs: read CycloneDX 1.3 to 1.7 JSON written by other tools, link it from the product
//! SBOM or nest it there, and match its components to the scanned ones by hash. Nothing is ever
//! merged: a supplier's component never becomes a scanned one or changes one. What matching found
//! is written into the product SBOM as properties ([`record`]) and reported, and the user decides.
//!
//! The reader works over plain JSON rather than a typed model, because suppliers' tools disagree on
//! optional fields across five spec versions; it takes only identity, version, purl, CPE and
//! hashes, and reports a field of the wrong type with its JSON pointer.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use consign_model::{Sha256, Sha512};
use serde::Serialize;
use serde_json::Value;

use crate::cyclonedx::{
    Aggregate, Bom, Component, ComponentType, Composition, Dependency, ExternalReference,
    ExternalReferenceType, Hash, HashAlgorithm, Property,
};
use crate::{SbomError, SupplierLink};

/// Property on a component consign copied from a supplier's SBOM (nest mode): where it came from,
/// `<document>#<JSON pointer>`. The profile checks owe such a component's gaps to the supplier.
pub const SUPPLIER_SOURCE: &str = "consign:supplier-sbom:source";
/// Property on a scanned component whose hash a supplier component carries under the same name and
/// version (and on that supplier component, when nested): the other side, and the algorithm.
pub const SUPPLIER_MATCH: &str = "consign:supplier-sbom:match";
/// Like [`SUPPLIER_MATCH`], but the supplier names the file differently: one of the two documents
/// is wrong, and consign does not guess which.
pub const SUPPLIER_CONFLICT: &str = "consign:supplier-sbom:conflict";
/// Property on a nested supplier component that matched nothing scanned, and why.
pub const SUPPLIER_UNMATCHED: &str = "consign:supplier-sbom:unmatched";
/// Property of the product SBOM: one line per supplier SBOM saying what matching found.
pub const SUPPLIER_SUMMARY: &str = "consign:supplier-sbom:summary";

/// The spec versions the reader accepts.
pub const SUPPORTED_SPEC_VERSIONS: &[&str] = &["1.3", "1.4", "1.5", "1.6", "1.7"];

/// Most components read from one supplier SBOM (nested ones included).
pub const MAX_SUPPLIER_COMPONENTS: usize = 100_000;

/// What consign takes from a supplier's SBOM.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SupplierBom {
    /// `specVersion`.
    pub spec_version: String,
    /// `serialNumber`, when present.
    pub serial_number: Option<String>,
    /// `version` (1 when absent).
    pub version: u64,
    /// The described component's name, when present.
    pub subject: Option<String>,
    /// The described component's `type` and `version`, when present.
    pub subject_type: Option<String>,
    /// See `subject_type`.
    pub subject_version: Option<String>,
    /// All components, in pointer order: `metadata.component` (the supplied part itself, whose
    /// hash may be that of a whole firmware image the product carries), `components`, and every
    /// nested one.
    pub components: Vec<SupplierComponent>,
}

/// One component of a supplier SBOM.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SupplierComponent {
    /// JSON pointer in the supplier document.
    pub pointer: String,
    /// `bom-ref`.
    pub bom_ref: Option<String>,
    /// `type`.
    pub component_type: Option<String>,
    /// `name`.
    pub name: String,
    /// `version`.
    pub version: Option<String>,
    /// `purl`.
    pub purl: Option<String>,
    /// `cpe`.
    pub cpe: Option<String>,
    /// SHA-256 values from `hashes`.
    pub sha256: Vec<Sha256>,
    /// SHA-512 values from `hashes`.
    pub sha512: Vec<Sha512>,
}

impl SupplierBom {
    /// The BOM-Link to this document (`urn:cdx:<uuid>/<version>`), when it has a UUID serial number.
    pub fn bom_link(&self) -> Option<String> {
        let uuid = self.serial_number.as_deref()?.strip_prefix("urn:uuid:")?;
        let serial: crate::SerialNumber = uuid.parse().ok()?;
        Some(format!("urn:cdx:{}/{}", serial.uuid(), self.version))
    }
}

fn field_error(pointer: &str, problem: &str) -> SbomError {
    SbomError::Field {
        pointer: pointer.to_owned(),
        problem: problem.to_owned(),
    }
}

fn optional_text(value: &Value, key: &str, pointer: &str) -> Result<Option<String>, SbomError> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(field_error(&format!("{pointer}/{key}"), "must be a string")),
    }
}

/// Reads a supplier's CycloneDX JSON (1.3 to 1.7).
pub fn read_supplier_bom(json: &Value) -> Result<SupplierBom, SbomError> {
    if json.get("bomFormat").and_then(Value::as_str) != Some("CycloneDX") {
        return Err(field_error(
            "/bomFormat",
            "must be \"CycloneDX\"; consign reads supplier SBOMs in CycloneDX JSON only",
        ));
    }
    let spec_version = match json.get("specVersion") {
        Some(Value::String(text)) if SUPPORTED_SPEC_VERSIONS.contains(&text.as_str()) => {
            text.clone()
        }
        Some(Value::String(text)) => {
            return Err(field_error(
                "/specVersion",
                &format!(
                    "is `{}`; consign reads CycloneDX 1.3 to 1.7",
                    crate::error::excerpt(text)
                ),
            ));
        }
        _ => {
            return Err(field_error(
                "/specVersion",
                "must be a string such as \"1.6\"",
            ));
        }
    };
    let version = match json.get("version") {
        None => 1,
        Some(value) => value
            .as_u64()
            .ok_or_else(|| field_error("/version", "must be a whole number from 1"))?,
    };
    let serial_number = optional_text(json, "serialNumber", "")?;
    let root = json
        .get("metadata")
        .and_then(|m| m.get("component"))
        .filter(|c| !c.is_null());
    let subject_text = |key: &str| {
        root.and_then(|c| c.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let (subject, subject_type, subject_version) = (
        subject_text("name"),
        subject_text("type"),
        subject_text("version"),
    );
    let mut components = Vec::new();
    // Iterative walk with an explicit stack: nesting depth cannot exhaust the call stack.
    let mut stack: Vec<(String, &Value)> = Vec::new();
    push_children(json, "", &mut stack)?;
    if let Some(root) = root {
        stack.push(("/metadata/component".to_owned(), root));
    }
    while let Some((pointer, value)) = stack.pop() {
        if components.len() >= MAX_SUPPLIER_COMPONENTS {
            return Err(field_error(
                "/components",
                &format!("holds more than {MAX_SUPPLIER_COMPONENTS} components; split the SBOM"),
            ));
        }
        if !value.is_object() {
            return Err(field_error(&pointer, "must be an object"));
        }
        let name = optional_text(value, "name", &pointer)?
            .ok_or_else(|| field_error(&format!("{pointer}/name"), "is missing"))?;
        let mut sha256 = Vec::new();
        let mut sha512 = Vec::new();
        if let Some(hashes) = value.get("hashes") {
            let list = hashes
                .as_array()
                .ok_or_else(|| field_error(&format!("{pointer}/hashes"), "must be an array"))?;
            for (idx, hash) in list.iter().enumerate() {
                let at = format!("{pointer}/hashes/{idx}");
                let alg = optional_text(hash, "alg", &at)?.unwrap_or_default();
                let content = optional_text(hash, "content", &at)?.unwrap_or_default();
                match HashAlgorithm::from(alg) {
                    HashAlgorithm::Sha256 => sha256.push(content.parse().map_err(|_| {
                        field_error(&format!("{at}/content"), "is not a SHA-256 hex digest")
                    })?),
                    HashAlgorithm::Sha512 => sha512.push(content.parse().map_err(|_| {
                        field_error(&format!("{at}/content"), "is not a SHA-512 hex digest")
                    })?),
                    _ => {}
                }
            }
        }
        components.push(SupplierComponent {
            bom_ref: optional_text(value, "bom-ref", &pointer)?,
            component_type: optional_text(value, "type", &pointer)?,
            version: optional_text(value, "version", &pointer)?,
            purl: optional_text(value, "purl", &pointer)?,
            cpe: optional_text(value, "cpe", &pointer)?,
            name,
            sha256,
            sha512,
            pointer: pointer.clone(),
        });
        push_children(value, &pointer, &mut stack)?;
    }
    components.sort_by(|a, b| a.pointer.cmp(&b.pointer));
    Ok(SupplierBom {
        spec_version,
        serial_number,
        version,
        subject,
        subject_type,
        subject_version,
        components,
    })
}

fn push_children<'a>(
    value: &'a Value,
    pointer: &str,
    stack: &mut Vec<(String, &'a Value)>,
) -> Result<(), SbomError> {
    match value.get("components") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(list)) => {
            for (idx, child) in list.iter().enumerate().rev() {
                stack.push((format!("{pointer}/components/{idx}"), child));
            }
            Ok(())
        }
        Some(_) => Err(field_error(
            &format!("{pointer}/components"),
            "must be an array",
        )),
    }
}

/// A supplier component whose hash equals a scanned component's (or firmware image's) hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HashMatch {
    /// Pointer of the component in the supplier SBOM.
    pub supplier_pointer: String,
    /// Its name and version as the supplier wrote them.
    pub supplier_label: String,
    /// The bom-ref of the scanned component in the product SBOM.
    pub scanned_ref: String,
    /// `SHA-512` or `SHA-256`: the strongest hash that matched.
    pub algorithm: &'static str,
    /// True when the supplier's name and version agree with the scanned ones too.
    pub same_name_and_version: bool,
}

/// The outcome of matching one supplier SBOM against the product SBOM. Nothing is merged.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MatchReport {
    /// Hash matches.
    pub matched: Vec<HashMatch>,
    /// Supplier components with hashes that match nothing scanned (pointers).
    pub supplier_unmatched: Vec<String>,
    /// Supplier components without any SHA-256/512 hash, which cannot be matched (pointers).
    pub supplier_without_hash: Vec<String>,
    /// Scanned components (bom-refs, with hashes) that no supplier component matches.
    pub scanned_unmatched: Vec<String>,
}

/// A scanned component: bom-ref, name, version.
type Scanned<'a> = (&'a str, &'a str, Option<&'a str>);

/// Matches supplier components to the product SBOM's components by SHA-512, then SHA-256.
pub fn match_components(supplier: &SupplierBom, bom: &Bom) -> MatchReport {
    let mut by_sha512: BTreeMap<String, Vec<Scanned<'_>>> = BTreeMap::new();
    let mut by_sha256: BTreeMap<String, Vec<Scanned<'_>>> = BTreeMap::new();
    let mut scanned_with_hash = Vec::new();
    for (_, component) in bom.all_components() {
        let Some(bom_ref) = component.bom_ref.as_deref() else {
            continue;
        };
        if !component.hashes.is_empty() {
            scanned_with_hash.push(bom_ref);
        }
        for hash in &component.hashes {
            let entry = (
                bom_ref,
                component.name.as_str(),
                component.version.as_deref(),
            );
            match hash.alg {
                HashAlgorithm::Sha512 => by_sha512
                    .entry(hash.content.to_ascii_lowercase())
                    .or_default()
                    .push(entry),
                HashAlgorithm::Sha256 => by_sha256
                    .entry(hash.content.to_ascii_lowercase())
                    .or_default()
                    .push(entry),
                _ => {}
            }
        }
    }
    let mut report = MatchReport::default();
    let mut matched_refs = BTreeSet::new();
    for component in &supplier.components {
        if component.sha256.is_empty() && component.sha512.is_empty() {
            report.supplier_without_hash.push(component.pointer.clone());
            continue;
        }
        let mut hits: Vec<(&str, &str, Option<&str>, &'static str)> = Vec::new();
        for digest in &component.sha512 {
            for (r, n, v) in by_sha512.get(&digest.to_hex()).into_iter().flatten() {
                hits.push((r, n, *v, "SHA-512"));
            }
        }
        if hits.is_empty() {
            for digest in &component.sha256 {
                for (r, n, v) in by_sha256.get(&digest.to_hex()).into_iter().flatten() {
                    hits.push((r, n, *v, "SHA-256"));
                }
            }
        }
        if hits.is_empty() {
            report.supplier_unmatched.push(component.pointer.clone());
        }
        hits.sort();
        hits.dedup_by(|a, b| a.0 == b.0);
        for (scanned_ref, name, version, algorithm) in hits {
            matched_refs.insert(scanned_ref);
            report.matched.push(HashMatch {
                supplier_pointer: component.pointer.clone(),
                supplier_label: match &component.version {
                    Some(v) => format!("{}@{v}", component.name),
                    None => component.name.clone(),
                },
                scanned_ref: scanned_ref.to_owned(),
                algorithm,
                same_name_and_version: name.eq_ignore_ascii_case(&component.name)
                    && version == component.version.as_deref(),
            });
        }
    }
    report.scanned_unmatched = scanned_with_hash
        .into_iter()
        .filter(|r| !matched_refs.contains(r))
        .map(str::to_owned)
        .collect();
    report.scanned_unmatched.sort();
    report
}

/// How a supplier SBOM enters the product SBOM. Neither merges: the supplier's components never
/// become scanned ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SupplierMode {
    /// An external reference of type `bom` in the product SBOM, pinned by the document's hashes.
    #[default]
    Link,
    /// One component for the supplied part, holding the supplier's components as nested ones,
    /// each marked with [`SUPPLIER_SOURCE`], plus a composition of its own (aggregate `unknown`:
    /// consign cannot vouch for the supplier's inventory).
    Nest,
}

impl FromStr for SupplierMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "link" => Ok(Self::Link),
            "nest" => Ok(Self::Nest),
            other => Err(format!(
                "unknown supplier SBOM mode `{}`; use `link` or `nest`",
                crate::error::excerpt(other)
            )),
        }
    }
}

impl fmt::Display for SupplierMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Link => "link",
            Self::Nest => "nest",
        })
    }
}

impl MatchReport {
    /// How many matches name the file differently from the scan.
    pub fn conflicts(&self) -> usize {
        self.matched
            .iter()
            .filter(|m| !m.same_name_and_version)
            .count()
    }

    /// One line: what matching found (`4 components: 2 match scanned ones by hash (1 under another
    /// name or version), 1 matches nothing scanned, 1 carries no hash`).
    pub fn summary(&self, components: usize) -> String {
        format!(
            "{components} component(s): {} match scanned components by hash ({} under another name or version), {} match nothing scanned, {} carry no hash",
            self.matched.len(),
            self.conflicts(),
            self.supplier_unmatched.len(),
            self.supplier_without_hash.len()
        )
    }
}

/// Where a supplier component is: `<document>#<JSON pointer>` (the pointer as a URI fragment,
/// RFC 6901 section 6).
fn locate(document: &str, pointer: &str) -> String {
    format!("{document}#{pointer}")
}

/// Writes what [`match_components`] found into the product SBOM, and in [`SupplierMode::Nest`]
/// nests the supplier's components under one component for the supplied part. `link` is how the
/// document is referred to (its BOM-Link, else its file name, with its digests); in link mode the
/// external reference itself comes from [`crate::SbomInput::supplier_boms`].
///
/// Scanned components whose hash the supplier has get a [`SUPPLIER_MATCH`] property (same name and
/// version) or a [`SUPPLIER_CONFLICT`] one (another name or version); nothing else about them
/// changes. The BOM gets a [`SUPPLIER_SUMMARY`] property. Call it once per supplier SBOM, with the
/// report made against the BOM as [`crate::build`] wrote it, before any nesting.
pub fn record(
    bom: &mut Bom,
    supplier: &SupplierBom,
    link: &SupplierLink,
    report: &MatchReport,
    mode: SupplierMode,
) {
    let document = link.url.as_str();
    let mut notes: BTreeMap<&str, Vec<Property>> = BTreeMap::new();
    for hit in &report.matched {
        let (name, verb) = if hit.same_name_and_version {
            (SUPPLIER_MATCH, "names it")
        } else {
            (SUPPLIER_CONFLICT, "names it differently:")
        };
        notes
            .entry(hit.scanned_ref.as_str())
            .or_default()
            .push(Property::new(
                name,
                format!(
                    "{} {verb} `{}` ({})",
                    locate(document, &hit.supplier_pointer),
                    hit.supplier_label,
                    hit.algorithm
                ),
            ));
    }
    for_each_component_mut(bom, &mut |component| {
        if let Some(extra) = component.bom_ref.as_deref().and_then(|r| notes.get(r)) {
            component.properties.extend(extra.iter().cloned());
        }
    });
    bom.properties.push(Property::new(
        SUPPLIER_SUMMARY,
        format!(
            "{document} ({mode}): {}",
            report.summary(supplier.components.len())
        ),
    ));
    if mode == SupplierMode::Nest {
        nest(bom, supplier, link, report);
    }
}

/// Applies `visit` to every component of the BOM, nested ones included.
fn for_each_component_mut(bom: &mut Bom, visit: &mut dyn FnMut(&mut Component)) {
    let mut stack: Vec<&mut Component> = bom.components.iter_mut().collect();
    if let Some(root) = bom
        .metadata
        .as_mut()
        .and_then(|m| m.component.as_deref_mut())
    {
        stack.push(root);
    }
    while let Some(component) = stack.pop() {
        visit(component);
        stack.extend(component.components.iter_mut());
    }
}

/// The component types CycloneDX 1.6 and 1.7 allow; another value from an older or foreign
/// document would make the product SBOM invalid, so it is kept as a property instead.
pub(crate) const COMPONENT_TYPES: &[&str] = &[
    "application",
    "framework",
    "library",
    "container",
    "platform",
    "operating-system",
    "device",
    "device-driver",
    "firmware",
    "file",
    "machine-learning-model",
    "data",
    "cryptographic-asset",
];

fn component_type(text: Option<&str>, default: ComponentType) -> (ComponentType, Option<Property>) {
    match text {
        Some(text) if COMPONENT_TYPES.contains(&text) => {
            (ComponentType::from(text.to_owned()), None)
        }
        Some(text) => (
            default,
            Some(Property::new("consign:supplier-sbom:type", text)),
        ),
        None => (default, None),
    }
}

fn hashes(component: &SupplierComponent) -> Vec<Hash> {
    let sha512 = component.sha512.iter().map(|d| Hash {
        alg: HashAlgorithm::Sha512,
        content: d.to_hex(),
    });
    let sha256 = component.sha256.iter().map(|d| Hash {
        alg: HashAlgorithm::Sha256,
        content: d.to_hex(),
    });
    sha512.chain(sha256).collect()
}

/// A bom-ref not yet used in the document: `base`, else `base#2`, `base#3`, ...
fn unique_ref(used: &mut BTreeSet<String>, base: &str) -> String {
    let mut candidate = base.to_owned();
    let mut counter = 2u64;
    while used.contains(&candidate) {
        candidate = format!("{base}#{counter}");
        counter += 1;
    }
    used.insert(candidate.clone());
    candidate
}

fn nest(bom: &mut Bom, supplier: &SupplierBom, link: &SupplierLink, report: &MatchReport) {
    let document = link.url.as_str();
    let mut used: BTreeSet<String> = bom
        .all_components()
        .into_iter()
        .filter_map(|(_, c)| c.bom_ref.clone())
        .collect();
    let assembly_ref = unique_ref(&mut used, &format!("supplier-sbom:{document}"));

    // What matching said about each supplier component, by pointer.
    let mut status: BTreeMap<&str, Vec<Property>> = BTreeMap::new();
    for hit in &report.matched {
        let name = if hit.same_name_and_version {
            SUPPLIER_MATCH
        } else {
            SUPPLIER_CONFLICT
        };
        status
            .entry(hit.supplier_pointer.as_str())
            .or_default()
            .push(Property::new(
                name,
                format!(
                    "scanned component `{}` ({})",
                    hit.scanned_ref, hit.algorithm
                ),
            ));
    }
    for pointer in &report.supplier_unmatched {
        status
            .entry(pointer.as_str())
            .or_default()
            .push(Property::new(
                SUPPLIER_UNMATCHED,
                "no scanned file has this hash",
            ));
    }
    for pointer in &report.supplier_without_hash {
        status
            .entry(pointer.as_str())
            .or_default()
            .push(Property::new(
                SUPPLIER_UNMATCHED,
                "carries no SHA-256 or SHA-512 to match",
            ));
    }
    let properties = |component: &SupplierComponent, extra: Option<Property>| {
        let mut list = vec![Property::new(
            SUPPLIER_SOURCE,
            locate(document, &component.pointer),
        )];
        list.extend(extra);
        list.extend(
            status
                .get(component.pointer.as_str())
                .into_iter()
                .flatten()
                .cloned(),
        );
        list
    };

    let root = supplier
        .components
        .iter()
        .find(|c| c.pointer == "/metadata/component");
    let mut children = Vec::new();
    for component in supplier
        .components
        .iter()
        .filter(|c| c.pointer != "/metadata/component")
    {
        let (kind, extra) =
            component_type(component.component_type.as_deref(), ComponentType::Library);
        let base = component.bom_ref.as_deref().unwrap_or(&component.pointer);
        children.push(Component {
            component_type: kind,
            bom_ref: Some(unique_ref(&mut used, &format!("{assembly_ref}/{base}"))),
            name: component.name.clone(),
            version: component.version.clone(),
            hashes: hashes(component),
            cpe: component.cpe.clone(),
            purl: component.purl.clone(),
            properties: properties(component, extra),
            ..Component::default()
        });
    }
    let (kind, extra) = component_type(supplier.subject_type.as_deref(), ComponentType::Firmware);
    // The supplied part is the document's `metadata.component` when it has one (with its own
    // hash: a module's firmware image may be one the product carries), else the whole document.
    let (hashes, cpe, purl, properties) = if let Some(root) = root {
        (
            hashes(root),
            root.cpe.clone(),
            root.purl.clone(),
            properties(root, extra),
        )
    } else {
        let mut list = vec![Property::new(SUPPLIER_SOURCE, locate(document, ""))];
        list.extend(extra);
        (Vec::new(), None, None, list)
    };
    let mut assembly = Component {
        component_type: kind,
        bom_ref: Some(assembly_ref.clone()),
        name: supplier
            .subject
            .clone()
            .unwrap_or_else(|| format!("supplied part described by {document}")),
        version: supplier.subject_version.clone(),
        hashes,
        cpe,
        purl,
        properties,
        external_references: vec![ExternalReference {
            reference_type: ExternalReferenceType::Bom,
            url: link.url.clone(),
            comment: link.comment.clone(),
            hashes: link
                .digests
                .map(|d| {
                    vec![
                        Hash {
                            alg: HashAlgorithm::Sha512,
                            content: d.sha512.to_hex(),
                        },
                        Hash {
                            alg: HashAlgorithm::Sha256,
                            content: d.sha256.to_hex(),
                        },
                    ]
                })
                .unwrap_or_default(),
        }],
        ..Component::default()
    };
    let child_refs: Vec<String> = children.iter().filter_map(|c| c.bom_ref.clone()).collect();
    assembly.components = children;

    // The product contains the supplied part; the part contains what its supplier listed.
    if let Some(product_ref) = bom
        .metadata
        .as_ref()
        .and_then(|m| m.component.as_ref())
        .and_then(|c| c.bom_ref.clone())
    {
        match bom
            .dependencies
            .iter_mut()
            .find(|d| d.dependency_ref == product_ref)
        {
            Some(entry) => {
                entry.depends_on.push(assembly_ref.clone());
                entry.depends_on.sort();
            }
            None => bom.dependencies.push(Dependency {
                dependency_ref: product_ref,
                depends_on: vec![assembly_ref.clone()],
            }),
        }
    }
    bom.dependencies.push(Dependency {
        dependency_ref: assembly_ref.clone(),
        depends_on: child_refs.clone(),
    });
    bom.dependencies
        .extend(child_refs.iter().map(|r| Dependency {
            dependency_ref: r.clone(),
            depends_on: Vec::new(),
        }));
    bom.dependencies.sort();
    let mut described = vec![assembly_ref.clone()];
    described.extend(child_refs);
    bom.compositions.push(Composition {
        aggregate: Aggregate::Unknown,
        assemblies: vec![assembly_ref],
        dependencies: described,
    });
    bom.components.push(assembly);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_1_3_with_nesting_and_links() {
        let doc = json!({
            "bomFormat": "CycloneDX", "specVersion": "1.3", "version": 2,
            "serialNumber": "urn:uuid:3E671687-395B-41F5-A30F-A58921A69B79",
            "components": [{"type": "library", "name": "a", "components": [{"type": "file", "name": "b",
                "hashes": [{"alg": "SHA-256", "content": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}]}]}]
        });
        let bom = read_supplier_bom(&doc).unwrap();
        assert_eq!(bom.components.len(), 2);
        assert_eq!(bom.components[1].pointer, "/components/0/components/0");
        assert_eq!(bom.components[1].sha256.len(), 1);
        assert_eq!(
            bom.bom_link().unwrap(),
            "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/2"
        );
    }

    #[test]
    fn errors_have_pointers() {
        for (doc, want) in [
            (
                json!({"bomFormat": "CycloneDX", "specVersion": "1.2"}),
                "`/specVersion` is `1.2`; consign reads CycloneDX 1.3 to 1.7",
            ),
            (
                json!({"bomFormat": "CycloneDX", "specVersion": "1.4", "components": {}}),
                "`/components` must be an array",
            ),
            (
                json!({"bomFormat": "CycloneDX", "specVersion": "1.4", "components": [{"name": 1}]}),
                "`/components/0/name` must be a string",
            ),
            (
                json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{"name": "x", "hashes": [{"alg": "SHA-512", "content": "00"}]}]}),
                "`/components/0/hashes/0/content` is not a SHA-512 hex digest",
            ),
        ] {
            assert_eq!(read_supplier_bom(&doc).unwrap_err().to_string(), want);
        }
    }

    const OPENSSL_SHA256: &str = "1111111111111111111111111111111111111111111111111111111111111111";
    const BUSYBOX_SHA256: &str = "2222222222222222222222222222222222222222222222222222222222222222";

    /// A product SBOM as `build` writes it: firmware root, two scanned components.
    fn product_bom() -> Bom {
        serde_json::from_value(json!({
            "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
            "serialNumber": "urn:uuid:00000000-0000-4000-8000-000000000001",
            "metadata": {"timestamp": "2026-01-01T00:00:00Z",
                "component": {"type": "firmware", "bom-ref": "firmware:fw.bin", "name": "fw.bin"}},
            "components": [
                {"type": "library", "bom-ref": "openssl@3.0.13", "name": "openssl", "version": "3.0.13",
                 "hashes": [{"alg": "SHA-256", "content": OPENSSL_SHA256}]},
                {"type": "application", "bom-ref": "busybox@1.36.1", "name": "busybox", "version": "1.36.1",
                 "hashes": [{"alg": "SHA-256", "content": BUSYBOX_SHA256}]}
            ],
            "dependencies": [
                {"ref": "busybox@1.36.1", "dependsOn": []},
                {"ref": "firmware:fw.bin", "dependsOn": ["busybox@1.36.1", "openssl@3.0.13"]},
                {"ref": "openssl@3.0.13", "dependsOn": []}
            ],
            "compositions": [{"aggregate": "unknown", "assemblies": ["firmware:fw.bin"]}]
        }))
        .unwrap()
    }

    fn supplier_doc() -> SupplierBom {
        read_supplier_bom(&json!({
            "bomFormat": "CycloneDX", "specVersion": "1.4", "version": 1,
            "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
            "metadata": {"component": {"type": "device", "name": "Acme module", "version": "7"}},
            "components": [
                {"type": "library", "bom-ref": "ssl", "name": "openssl", "version": "3.0.13",
                 "hashes": [{"alg": "SHA-256", "content": OPENSSL_SHA256}]},
                {"type": "application", "name": "toybox", "version": "0.8.9",
                 "hashes": [{"alg": "SHA-256", "content": BUSYBOX_SHA256}]},
                {"type": "gadget", "name": "odd", "cpe": "cpe:2.3:a:acme:odd:1:*:*:*:*:*:*:*"}
            ]
        }))
        .unwrap()
    }

    fn link(supplier: &SupplierBom) -> SupplierLink {
        SupplierLink {
            url: supplier.bom_link().unwrap(),
            digests: Some(consign_model::Digests::of(b"supplier document")),
            comment: None,
        }
    }

    fn properties_named<'a>(component: &'a Component, name: &str) -> Vec<&'a str> {
        component
            .properties
            .iter()
            .filter(|p| p.name == name)
            .filter_map(|p| p.value.as_deref())
            .collect()
    }

    #[test]
    fn link_mode_annotates_scanned_components_and_merges_nothing() {
        let supplier = supplier_doc();
        let mut bom = product_bom();
        let before = bom.clone();
        let report = match_components(&supplier, &bom);
        assert_eq!(report.matched.len(), 2);
        assert_eq!(report.conflicts(), 1);
        assert_eq!(
            report.supplier_without_hash,
            ["/components/2", "/metadata/component"]
        );
        record(
            &mut bom,
            &supplier,
            &link(&supplier),
            &report,
            SupplierMode::Link,
        );
        assert_eq!(bom.components.len(), before.components.len());
        assert_eq!(bom.dependencies, before.dependencies);
        let link_url = "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1";
        assert_eq!(
            properties_named(&bom.components[0], SUPPLIER_MATCH),
            [format!(
                "{link_url}#/components/0 names it `openssl@3.0.13` (SHA-256)"
            )]
        );
        assert_eq!(
            properties_named(&bom.components[1], SUPPLIER_CONFLICT),
            [format!(
                "{link_url}#/components/1 names it differently: `toybox@0.8.9` (SHA-256)"
            )]
        );
        // Apart from the new properties, the scanned components are untouched.
        for (now, was) in bom.components.iter().zip(&before.components) {
            let mut now = now.clone();
            now.properties.clear();
            assert_eq!(&now, was);
        }
        assert_eq!(
            properties_named_bom(&bom),
            [format!(
                "{link_url} (link): 4 component(s): 2 match scanned components by hash (1 under another name or version), 0 match nothing scanned, 2 carry no hash"
            )]
        );
        let json: Value =
            serde_json::from_str(&crate::to_json(&bom, crate::SpecVersion::V1_6)).unwrap();
        assert_eq!(crate::validate_schema(&json), Vec::new());
    }

    fn properties_named_bom(bom: &Bom) -> Vec<&str> {
        bom.properties
            .iter()
            .filter(|p| p.name == SUPPLIER_SUMMARY)
            .filter_map(|p| p.value.as_deref())
            .collect()
    }

    #[test]
    fn nest_mode_holds_the_supplier_components_apart_and_valid() {
        let supplier = supplier_doc();
        let mut bom = product_bom();
        let report = match_components(&supplier, &bom);
        record(
            &mut bom,
            &supplier,
            &link(&supplier),
            &report,
            SupplierMode::Nest,
        );
        assert_eq!(bom.components.len(), 3);
        let assembly = &bom.components[2];
        let assembly_ref = assembly.bom_ref.clone().unwrap();
        assert_eq!(assembly.name, "Acme module");
        assert_eq!(assembly.component_type, ComponentType::Device);
        assert_eq!(
            assembly.external_references[0].reference_type,
            ExternalReferenceType::Bom
        );
        assert_eq!(assembly.external_references[0].hashes.len(), 2);
        let nested: Vec<(&str, Option<&str>)> = assembly
            .components
            .iter()
            .map(|c| (c.name.as_str(), c.bom_ref.as_deref()))
            .collect();
        assert_eq!(nested.len(), 3);
        assert_eq!(nested[0].0, "openssl");
        assert_eq!(nested[0].1, Some(format!("{assembly_ref}/ssl").as_str()));
        // The match is written on both sides; the unknown type is kept as a property.
        assert_eq!(
            properties_named(&assembly.components[0], SUPPLIER_MATCH),
            ["scanned component `openssl@3.0.13` (SHA-256)"]
        );
        assert_eq!(
            properties_named(&assembly.components[1], SUPPLIER_CONFLICT),
            ["scanned component `busybox@1.36.1` (SHA-256)"]
        );
        assert_eq!(
            assembly.components[2].component_type,
            ComponentType::Library
        );
        assert_eq!(
            properties_named(&assembly.components[2], "consign:supplier-sbom:type"),
            ["gadget"]
        );
        assert_eq!(
            properties_named(&assembly.components[2], SUPPLIER_UNMATCHED),
            ["carries no SHA-256 or SHA-512 to match"]
        );
        for component in std::iter::once(assembly).chain(&assembly.components) {
            assert_eq!(properties_named(component, SUPPLIER_SOURCE).len(), 1);
        }
        // Every bom-ref has a dependencies entry; the product contains the supplied part.
        let refs: BTreeSet<&str> = bom
            .dependencies
            .iter()
            .map(|d| d.dependency_ref.as_str())
            .collect();
        for (_, component) in bom.all_components() {
            assert!(refs.contains(component.bom_ref.as_deref().unwrap()));
        }
        let product = bom
            .dependencies
            .iter()
            .find(|d| d.dependency_ref == "firmware:fw.bin")
            .unwrap();
        assert!(product.depends_on.contains(&assembly_ref));
        assert!(bom.dependencies.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(bom.compositions.len(), 2);
        assert_eq!(bom.compositions[1].assemblies, [assembly_ref]);
        for spec in [crate::SpecVersion::V1_6, crate::SpecVersion::V1_7] {
            let json: Value = serde_json::from_str(&crate::to_json(&bom, spec)).unwrap();
            assert_eq!(crate::validate_schema(&json), Vec::new());
            // The profile owes the nested components' gaps to the supplier, none to the tool.
            for gap in crate::check_profile(&json, crate::Profile::BsiTr031832) {
                if gap.pointer.starts_with("/components/2") {
                    assert_eq!(gap.source, crate::FactSource::Supplier, "{gap:?}");
                }
            }
        }
        let spdx: Value = serde_json::from_str(&crate::to_spdx_json(&bom)).unwrap();
        assert_eq!(crate::validate_spdx_schema(&spdx), Vec::new());
        assert_eq!(spdx["packages"].as_array().unwrap().len(), 7);
    }

    #[test]
    fn modes_parse() {
        assert_eq!("nest".parse::<SupplierMode>().unwrap(), SupplierMode::Nest);
        assert_eq!(SupplierMode::default().to_string(), "link");
        assert!("merge".parse::<SupplierMode>().is_err());
    }
}
