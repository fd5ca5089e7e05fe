//! SPDX 3.0.1 JSON-LD export of a consign BOM (`consign scan --format spdx3-json`), the SPDX
//! version BSI TR-03183-2 v2.1 accepts (section 4: SPDX 3.0.1 or later).
//!
//! The document is one JSON-LD object: the SPDX 3.0.1 context by its URL and a `@graph` of
//! elements, all sharing one `CreationInfo` blank node. Mapping (BSI TR-03183-2 v2.1 appendix 8.2
//! names the SPDX 3 field of each data field):
//!
//! - the `SpdxDocument` holds a `software_Sbom` (`software_sbomType` `analyzed`) whose root is the
//!   product (device) or the single firmware image; its `spdxId` is the SBOM-URI;
//! - every CycloneDX component is a `software_Package`: `name`, `software_packageVersion`,
//!   `software_primaryPurpose`, `software_packageUrl`, a `cpe23` `externalIdentifier`, every hash
//!   in `verifiedUsing`, the upstream home page as `software_homePage`;
//! - the creator (CycloneDX `manufacturer`) is an `Organization` the package is `originatedBy`,
//!   the supplier one it is `suppliedBy`; the SBOM's creator is `createdBy` of the creation info
//!   (the manufacturer from the product file, else consign as a `SoftwareAgent`), and consign is
//!   the `Tool` in `createdUsing`;
//! - licences are `simplelicensing_LicenseExpression` elements, linked by `hasConcludedLicense`
//!   (CycloneDX `acknowledgement: concluded`, the distribution licence) and `hasDeclaredLicense`
//!   (`declared` or unmarked, the original licence); a licence that is not an SPDX expression has
//!   no SPDX 3 form and is left out;
//! - containment is `contains`, `dependsOn` is `dependsOn`, each relationship with the
//!   completeness the CycloneDX composition states (`complete`, `incomplete`, else
//!   `noAssertion`);
//! - external references: `security-contact` becomes `securityOther` (`rfc-9116` too),
//!   `website` `altWebPage`; `distribution` references carry their hashes into `verifiedUsing`.
//!
//! Not mapped (no SPDX 3.0.1 field): the BSI `bsi:component:*` properties and consign's own
//! properties, and the evidence (occurrences, offsets, confidence).
//!
//! Deterministic: ids come from the BOM's serial number and the order of its components.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::cyclonedx::{
    Acknowledgement, Aggregate, Bom, Component, ComponentType, ExternalReferenceType,
    HashAlgorithm, OrganizationalEntity,
};

/// The JSON-LD context of SPDX 3.0.1.
pub const SPDX3_CONTEXT: &str = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld";

const CREATION_INFO: &str = "_:creationinfo";

fn purpose(kind: &ComponentType) -> &'static str {
    match kind {
        ComponentType::Application => "application",
        ComponentType::Framework => "framework",
        ComponentType::OperatingSystem => "operatingSystem",
        ComponentType::Device => "device",
        ComponentType::DeviceDriver => "deviceDriver",
        ComponentType::Firmware => "firmware",
        ComponentType::File => "file",
        ComponentType::Container => "container",
        ComponentType::Library => "library",
        ComponentType::Platform => "platform",
        ComponentType::Data => "data",
        _ => "other",
    }
}

fn algorithm(alg: &HashAlgorithm) -> Option<&'static str> {
    Some(match alg {
        HashAlgorithm::Sha1 => "sha1",
        HashAlgorithm::Sha256 => "sha256",
        HashAlgorithm::Sha384 => "sha384",
        HashAlgorithm::Sha512 => "sha512",
        HashAlgorithm::Sha3_256 => "sha3_256",
        HashAlgorithm::Sha3_512 => "sha3_512",
        HashAlgorithm::Md5 => "md5",
        _ => return None,
    })
}

/// The targets of one relationship and the completeness stated for them.
type Edge = (Vec<String>, Option<&'static str>);

/// Builds the graph, handing out ids under one namespace.
struct Graph {
    namespace: String,
    elements: Vec<Value>,
    /// Every element id, for the document's and the SBOM's `element` lists.
    ids: Vec<String>,
    /// Organisations already written, by the key of their facts.
    organisations: BTreeMap<String, String>,
    /// Licence expressions already written, by expression.
    licences: BTreeMap<String, String>,
    next_relationship: usize,
}

impl Graph {
    fn id(&self, local: &str) -> String {
        format!("{}#{local}", self.namespace)
    }

    fn push(&mut self, element: Value) {
        if let Some(id) = element.get("spdxId").and_then(Value::as_str) {
            self.ids.push(id.to_owned());
        }
        self.elements.push(element);
    }

    /// An `Organization` for a CycloneDX organisational entity, written once per distinct entity.
    fn organisation(&mut self, entity: &OrganizationalEntity) -> Option<String> {
        let urls: Vec<&str> = entity.url.iter().map(String::as_str).collect();
        let emails: Vec<&str> = entity
            .contact
            .iter()
            .filter_map(|c| c.email.as_deref())
            .collect();
        if entity.name.is_none() && urls.is_empty() && emails.is_empty() {
            return None;
        }
        let key = format!(
            "{}|{}|{}",
            entity.name.as_deref().unwrap_or(""),
            urls.join(" "),
            emails.join(" ")
        );
        if let Some(id) = self.organisations.get(&key) {
            return Some(id.clone());
        }
        let id = self.id(&format!("Organization-{}", self.organisations.len() + 1));
        let mut organisation = json!({
            "type": "Organization",
            "spdxId": id,
            "creationInfo": CREATION_INFO,
        });
        if let Some(object) = organisation.as_object_mut() {
            if let Some(name) = &entity.name {
                object.insert("name".into(), json!(name));
            }
            let mut refs: Vec<Value> = urls
                .iter()
                .map(|url| json!({"type": "ExternalRef", "externalRefType": "altWebPage", "locator": [url]}))
                .collect();
            refs.extend(emails.iter().map(|email| {
                json!({"type": "ExternalRef", "externalRefType": "other", "locator": [format!("mailto:{email}")], "comment": "e-mail"})
            }));
            if !refs.is_empty() {
                object.insert("externalRef".into(), Value::Array(refs));
            }
        }
        self.push(organisation);
        self.organisations.insert(key, id.clone());
        Some(id)
    }

    fn licence(&mut self, expression: &str) -> String {
        if let Some(id) = self.licences.get(expression) {
            return id.clone();
        }
        let id = self.id(&format!("LicenseExpression-{}", self.licences.len() + 1));
        self.push(json!({
            "type": "simplelicensing_LicenseExpression",
            "spdxId": id,
            "creationInfo": CREATION_INFO,
            "simplelicensing_licenseExpression": expression,
        }));
        self.licences.insert(expression.to_owned(), id.clone());
        id
    }

    fn relationship(&mut self, from: &str, kind: &str, to: &[String], completeness: Option<&str>) {
        if to.is_empty() {
            return;
        }
        self.next_relationship += 1;
        let mut relationship = json!({
            "type": "Relationship",
            "spdxId": self.id(&format!("Relationship-{}", self.next_relationship)),
            "creationInfo": CREATION_INFO,
            "from": from,
            "relationshipType": kind,
            "to": to,
        });
        if let (Some(object), Some(completeness)) = (relationship.as_object_mut(), completeness) {
            object.insert("completeness".into(), json!(completeness));
        }
        self.push(relationship);
    }
}

fn package(graph: &mut Graph, id: &str, component: &Component) -> Value {
    let mut package = json!({
        "type": "software_Package",
        "spdxId": id,
        "creationInfo": CREATION_INFO,
        "name": component.name,
        "software_primaryPurpose": purpose(&component.component_type),
    });
    let creator = component
        .manufacturer
        .as_ref()
        .and_then(|m| graph.organisation(m));
    let supplier = component
        .supplier
        .as_ref()
        .and_then(|s| graph.organisation(s));
    let Some(object) = package.as_object_mut() else {
        return package;
    };
    if let Some(version) = &component.version {
        object.insert("software_packageVersion".into(), json!(version));
    }
    if let Some(purl) = &component.purl {
        object.insert("software_packageUrl".into(), json!(purl));
    }
    if let Some(cpe) = &component.cpe {
        object.insert(
            "externalIdentifier".into(),
            json!([{"type": "ExternalIdentifier", "externalIdentifierType": "cpe23", "identifier": cpe}]),
        );
    }
    if let Some(creator) = creator {
        object.insert("originatedBy".into(), json!([creator]));
    }
    if let Some(supplier) = supplier {
        object.insert("suppliedBy".into(), json!(supplier));
    }
    // Every hash once: of the files (`hashes`) and of the deployable form (`distribution`).
    let mut hashes: Vec<(&'static str, &str)> = component
        .hashes
        .iter()
        .chain(
            component
                .external_references
                .iter()
                .filter(|r| r.reference_type == ExternalReferenceType::Distribution)
                .flat_map(|r| &r.hashes),
        )
        .filter_map(|h| Some((algorithm(&h.alg)?, h.content.as_str())))
        .collect();
    hashes.dedup();
    let mut seen = std::collections::BTreeSet::new();
    hashes.retain(|hash| seen.insert(*hash));
    if !hashes.is_empty() {
        object.insert(
            "verifiedUsing".into(),
            Value::Array(
                hashes
                    .iter()
                    .map(|(alg, value)| json!({"type": "Hash", "algorithm": alg, "hashValue": value}))
                    .collect(),
            ),
        );
    }
    let mut refs = Vec::new();
    for reference in &component.external_references {
        let kind = match reference.reference_type {
            ExternalReferenceType::Website => {
                if !object.contains_key("software_homePage") {
                    object.insert("software_homePage".into(), json!(reference.url));
                    continue;
                }
                "altWebPage"
            }
            ExternalReferenceType::SecurityContact | ExternalReferenceType::Rfc9116 => {
                "securityOther"
            }
            ExternalReferenceType::Vcs => "vcs",
            ExternalReferenceType::SourceDistribution => "sourceArtifact",
            ExternalReferenceType::Documentation => "documentation",
            ExternalReferenceType::Support => "support",
            // The deployable file's hashes are in `verifiedUsing`; its path inside the image is
            // not a download location.
            ExternalReferenceType::Distribution | ExternalReferenceType::Bom => continue,
            _ => "other",
        };
        let mut entry =
            json!({"type": "ExternalRef", "externalRefType": kind, "locator": [reference.url]});
        if let (Some(comment), Some(entry)) = (&reference.comment, entry.as_object_mut()) {
            entry.insert("comment".into(), json!(comment));
        }
        refs.push(entry);
    }
    if !refs.is_empty() {
        object.insert("externalRef".into(), Value::Array(refs));
    }
    package
}

/// Converts the BOM to SPDX 3.0.1 JSON-LD, pretty, with a trailing newline.
pub fn to_spdx3_json(bom: &Bom) -> String {
    let serial = bom
        .serial_number
        .as_deref()
        .unwrap_or("urn:uuid:00000000-0000-0000-0000-000000000000");
    let mut graph = Graph {
        namespace: serial.to_owned(),
        elements: Vec::new(),
        ids: Vec::new(),
        organisations: BTreeMap::new(),
        licences: BTreeMap::new(),
        next_relationship: 0,
    };
    let metadata = bom.metadata.as_ref();

    // Who made the SBOM, and with what.
    let tool_id = graph.id("Tool-1");
    let tool_name = match metadata.and_then(|m| m.tools.as_ref()) {
        Some(crate::cyclonedx::Tools::Current { components, .. }) => components.first().map(|t| {
            format!("{} {}", t.name, t.version.as_deref().unwrap_or(""))
                .trim()
                .to_owned()
        }),
        _ => None,
    }
    .unwrap_or_else(|| "unknown".to_owned());
    graph.push(json!({"type": "Tool", "spdxId": tool_id, "creationInfo": CREATION_INFO, "name": tool_name}));
    let author = metadata
        .and_then(|m| m.manufacturer.as_ref())
        .and_then(|m| graph.organisation(m))
        .unwrap_or_else(|| {
            let id = graph.id("SoftwareAgent-1");
            graph.push(json!({"type": "SoftwareAgent", "spdxId": id, "creationInfo": CREATION_INFO, "name": tool_name}));
            id
        });
    let creation_info = json!({
        "type": "CreationInfo",
        "@id": CREATION_INFO,
        "specVersion": "3.0.1",
        "created": metadata.and_then(|m| m.timestamp.clone()).unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned()),
        "createdBy": [author],
        "createdUsing": [tool_id],
    });

    // Packages, root first, in the BOM's order; bom-refs to ids.
    let mut refs: BTreeMap<&str, String> = BTreeMap::new();
    let mut packages = 0usize;
    let mut add = |graph: &mut Graph, component: &Component| -> String {
        packages += 1;
        let id = graph.id(&format!("Package-{packages}"));
        let package = package(graph, &id, component);
        graph.push(package);
        id
    };
    let mut containment: Vec<(String, Vec<String>)> = Vec::new();
    let mut all: Vec<(String, &Component)> = Vec::new();
    let root = metadata.and_then(|m| m.component.as_deref());
    let mut root_id = None;
    let mut walk = Vec::new();
    if let Some(root) = root {
        walk.push(root);
    }
    walk.extend(bom.components.iter());
    for top in walk {
        let id = add(&mut graph, top);
        if root_id.is_none() && root.is_some() {
            root_id = Some(id.clone());
        }
        let children: Vec<String> = top
            .components
            .iter()
            .map(|child| {
                let child_id = add(&mut graph, child);
                all.push((child_id.clone(), child));
                child_id
            })
            .collect();
        containment.push((id.clone(), children));
        all.push((id, top));
    }
    for (id, component) in &all {
        if let Some(bom_ref) = component.bom_ref.as_deref() {
            refs.insert(bom_ref, id.clone());
        }
    }

    // What the compositions say of each bom-ref's dependencies.
    let completeness = |bom_ref: Option<&str>| -> Option<&'static str> {
        let bom_ref = bom_ref?;
        let aggregate = bom
            .compositions
            .iter()
            .find(|c| {
                c.dependencies
                    .iter()
                    .chain(&c.assemblies)
                    .any(|r| r == bom_ref)
            })?
            .aggregate
            .clone();
        Some(match aggregate {
            Aggregate::Complete => "complete",
            Aggregate::Incomplete => "incomplete",
            _ => "noAssertion",
        })
    };
    // Containers (the root, its firmware images, a supplier's nested part) contain what their
    // dependency entries list; other components depend on it. One relationship per source and
    // kind, targets merged.
    let mut containers: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for (_, component) in &all {
        let is_root = root.is_some_and(|r| std::ptr::eq(r, *component));
        let is_image =
            root.is_some_and(|r| r.components.iter().any(|f| std::ptr::eq(f, *component)));
        if (is_root || is_image || !component.components.is_empty())
            && let Some(bom_ref) = component.bom_ref.as_deref()
        {
            containers.insert(bom_ref);
        }
    }
    let mut edges: BTreeMap<(String, &'static str), Edge> = BTreeMap::new();
    for (from, children) in containment {
        edges
            .entry((from, "contains"))
            .or_default()
            .0
            .extend(children);
    }
    for dependency in &bom.dependencies {
        let Some(from) = refs.get(dependency.dependency_ref.as_str()).cloned() else {
            continue;
        };
        let kind = if containers.contains(dependency.dependency_ref.as_str()) {
            "contains"
        } else {
            "dependsOn"
        };
        let entry = edges.entry((from, kind)).or_default();
        entry.0.extend(
            dependency
                .depends_on
                .iter()
                .filter_map(|target| refs.get(target.as_str()).cloned()),
        );
        entry.1 = completeness(Some(dependency.dependency_ref.as_str()));
    }
    for ((from, kind), (mut to, completeness)) in edges {
        let mut seen = std::collections::BTreeSet::new();
        to.retain(|id| seen.insert(id.clone()));
        graph.relationship(&from, kind, &to, completeness);
    }
    for (id, component) in &all {
        for (acknowledgement, kind) in [
            (Acknowledgement::Concluded, "hasConcludedLicense"),
            (Acknowledgement::Declared, "hasDeclaredLicense"),
        ] {
            if let Some(expression) = crate::license::of_component(component, &acknowledgement) {
                let licence = graph.licence(&expression);
                graph.relationship(id, kind, &[licence], None);
            }
        }
    }

    let sbom_id = graph.id("SBOM");
    let document_id = graph.id("SpdxDocument");
    let name = root.map_or_else(
        || "sbom".to_owned(),
        |r| match &r.version {
            Some(v) => format!("{}-{v}", r.name),
            None => r.name.clone(),
        },
    );
    let elements = graph.ids.clone();
    let sbom = json!({
        "type": "software_Sbom",
        "spdxId": sbom_id,
        "creationInfo": CREATION_INFO,
        "name": name,
        "software_sbomType": ["analyzed"],
        "rootElement": root_id.iter().collect::<Vec<_>>(),
        "element": elements,
    });
    let mut document_elements = vec![sbom_id.clone()];
    document_elements.extend(graph.ids.iter().cloned());
    let document = json!({
        "type": "SpdxDocument",
        "spdxId": document_id,
        "creationInfo": CREATION_INFO,
        "name": name,
        "profileConformance": ["core", "software", "simpleLicensing"],
        "rootElement": [sbom_id],
        "element": document_elements,
    });
    let mut items = vec![creation_info, document, sbom];
    items.append(&mut graph.elements);
    let out = json!({
        "@context": SPDX3_CONTEXT,
        "@graph": items,
    });
    let mut text = serde_json::to_string_pretty(&out).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cyclonedx::{Dependency, License, LicenseChoice};

    /// Every id a property refers to is an element of the graph, every element is listed in the
    /// document, and the same BOM gives the same bytes.
    #[test]
    fn references_resolve_and_bytes_repeat() {
        let library = |name: &str, licence: &str| Component {
            bom_ref: Some(name.to_owned()),
            name: name.to_owned(),
            version: Some("1.0".to_owned()),
            manufacturer: Some(OrganizationalEntity {
                url: vec![format!("https://{name}.example/")],
                ..OrganizationalEntity::default()
            }),
            licenses: vec![LicenseChoice::License {
                license: License {
                    id: Some(licence.to_owned()),
                    name: None,
                    acknowledgement: Some(Acknowledgement::Concluded),
                },
            }],
            ..Component::default()
        };
        let bom = Bom {
            bom_format: "CycloneDX".into(),
            spec_version: "1.6".into(),
            serial_number: Some("urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79".into()),
            version: 1,
            components: vec![library("a", "MIT"), library("b", "MIT")],
            dependencies: vec![Dependency {
                dependency_ref: "a".into(),
                depends_on: vec!["b".into(), "nowhere".into()],
            }],
            ..Bom::default()
        };
        let text = to_spdx3_json(&bom);
        assert_eq!(text, to_spdx3_json(&bom));
        let json: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["@context"], SPDX3_CONTEXT);
        let graph = json["@graph"].as_array().unwrap();
        let ids: Vec<&str> = graph.iter().filter_map(|e| e["spdxId"].as_str()).collect();
        let document = graph.iter().find(|e| e["type"] == "SpdxDocument").unwrap();
        let listed: Vec<&str> = document["element"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for id in &ids {
            assert!(
                listed.contains(id) || *id == document["spdxId"],
                "{id} not listed"
            );
        }
        for element in graph {
            for key in [
                "from",
                "originatedBy",
                "to",
                "createdBy",
                "createdUsing",
                "rootElement",
            ] {
                let values: Vec<&str> = match &element[key] {
                    Value::String(one) => vec![one.as_str()],
                    Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
                    _ => Vec::new(),
                };
                for value in values {
                    assert!(ids.contains(&value), "{key} -> {value}");
                }
            }
        }
        // One licence element for the two components, each linked as concluded.
        let licences = graph
            .iter()
            .filter(|e| e["type"] == "simplelicensing_LicenseExpression")
            .count();
        assert_eq!(licences, 1);
        let concluded = graph
            .iter()
            .filter(|e| e["relationshipType"] == "hasConcludedLicense")
            .count();
        assert_eq!(concluded, 2);
        // The dependency on a bom-ref that is not in the BOM is dropped, not invented.
        let depends: Vec<&Value> = graph
            .iter()
            .filter(|e| e["relationshipType"] == "dependsOn")
            .collect();
        assert_eq!(depends.len(), 1);
        assert_eq!(depends[0]["to"].as_array().unwrap().len(), 1);
    }
}
