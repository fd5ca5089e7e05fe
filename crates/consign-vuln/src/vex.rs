//! VEX: what a manufacturer or supplier states about a vulnerability in its product. Three
//! formats are read into one [`VexStatement`] model: OpenVEX 0.2 (and its 0.0.x shape),
//! CycloneDX VEX (`vulnerabilities[].analysis` and `affects`), and CSAF 2.0 VEX
//! (`product_status`, `flags`, `threats`, `remediations`, the product tree and its
//! `default_component_of` relationships).
//!
//! # Which findings a statement covers
//!
//! A statement names a vulnerability (id or alias) and scopes: a product and, optionally,
//! subcomponents of it. Product identifiers are package URLs, CPE names, bom-refs (or BOM-Links
//! `urn:cdx:<serial>/<version>#<bom-ref>`) and file hashes; a name alone never matches. A scope
//! with subcomponents covers those components, and only inside a product that is the firmware
//! the SBOM describes (its root component, by any of its identifiers or its SHA-256/512). A
//! scope without subcomponents covers the component it names, or every component when it
//! names the firmware itself. A statement without products (OpenVEX allows it in an
//! attestation) covers the attestation's subject: the whole firmware.
//!
//! When several statements cover one finding, the one with the latest timestamp wins (a
//! statement without one counts as the document's), and among equals the last one read.
//!
//! # Rules enforced
//!
//! `not_affected` needs a justification or an impact statement (OpenVEX's MUST; CycloneDX's
//! justification or detail; CSAF's flag or impact threat); a statement of an unknown status is
//! refused with its pointer.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cpe::Cpe;
use crate::error::{VulnError, excerpt, from_json};
use crate::matching::{Finding, Target};
use crate::purl::Purl;
use crate::version::Version;

/// The largest VEX document read, in bytes.
pub const MAX_VEX_BYTES: usize = 64 << 20;
/// The most statements one document may hold.
pub const MAX_STATEMENTS: usize = 1_000_000;

/// A VEX status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VexStatus {
    /// Not affected (with a justification).
    NotAffected,
    /// Affected (with an action).
    Affected,
    /// Fixed in this product.
    Fixed,
    /// Being investigated.
    UnderInvestigation,
}

impl VexStatus {
    /// `not_affected`, `affected`, `fixed`, `under_investigation`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotAffected => "not_affected",
            Self::Affected => "affected",
            Self::Fixed => "fixed",
            Self::UnderInvestigation => "under_investigation",
        }
    }

    /// True when the statement resolves the finding (`not_affected`, `fixed`).
    pub fn resolves(self) -> bool {
        matches!(self, Self::NotAffected | Self::Fixed)
    }
}

impl fmt::Display for VexStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The VEX format a statement came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VexFormat {
    /// OpenVEX.
    OpenVex,
    /// CycloneDX VEX.
    CycloneDx,
    /// CSAF 2.0 VEX.
    Csaf,
}

/// How a product is identified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "type", content = "value")]
pub enum ProductId {
    /// A package URL.
    Purl(String),
    /// A CPE name.
    Cpe(String),
    /// A bom-ref, or a BOM-Link's fragment (with its serial number when given).
    BomRef {
        /// The serial number (`urn:uuid:...`) of the BOM-Link, when given.
        serial: Option<String>,
        /// The bom-ref.
        bom_ref: String,
    },
    /// A SHA-256 or SHA-512 of the product's file, lower-case hex.
    Hash(String),
    /// A name only (never matches; kept for the report).
    Name(String),
}

/// A product with, optionally, the subcomponents the statement is about.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// Identifiers of the product (any one may match).
    pub product: Vec<ProductId>,
    /// Identifiers of its subcomponents the statement is about (each a list of alternatives).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subcomponents: Vec<Vec<ProductId>>,
}

/// One statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VexStatement {
    /// The vulnerability id.
    pub vulnerability: String,
    /// Its other ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// What it is about; empty: the document's subject.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<Scope>,
    /// The status.
    pub status: VexStatus,
    /// Why not affected (OpenVEX's label, or the format's own: `code_not_reachable`,
    /// `component_not_present`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// The impact statement or analysis detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// What to do (action statement, response, remediation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// When it was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Which document and where in it (`vex.json /statements/3`).
    pub origin: String,
}

/// A parsed VEX document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VexDocument {
    /// The format.
    pub format: VexFormat,
    /// Its id (`@id`, serial number, tracking id), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Its author or publisher, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The statements.
    pub statements: Vec<VexStatement>,
}

struct Reader<'a> {
    file: &'a str,
}

impl Reader<'_> {
    fn invalid(&self, pointer: &str, reason: impl Into<String>) -> VulnError {
        VulnError::Invalid {
            file: self.file.to_owned(),
            pointer: pointer.to_owned(),
            reason: reason.into(),
        }
    }

    fn text(&self, value: &Value, pointer: &str) -> Result<Option<String>, VulnError> {
        match value.pointer(pointer) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(crate::record::cut(text, 4000))),
            Some(_) => Err(self.invalid(pointer, "expected a string")),
        }
    }

    fn array<'v>(&self, value: &'v Value, pointer: &str) -> Result<&'v [Value], VulnError> {
        match value.pointer(pointer) {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(items)) if items.len() <= MAX_STATEMENTS => Ok(items),
            Some(Value::Array(_)) => Err(VulnError::TooLarge {
                file: self.file.to_owned(),
                what: format!("`{pointer}`"),
                limit: format!("{MAX_STATEMENTS} items"),
            }),
            Some(_) => Err(self.invalid(pointer, "expected an array")),
        }
    }
}

/// Reads a VEX document in any of the three formats.
pub fn parse(file: &str, bytes: &[u8]) -> Result<VexDocument, VulnError> {
    if bytes.len() > MAX_VEX_BYTES {
        return Err(VulnError::TooLarge {
            file: file.to_owned(),
            what: format!("the VEX document ({} bytes)", bytes.len()),
            limit: format!("{MAX_VEX_BYTES} bytes"),
        });
    }
    crate::error::strict(file, bytes, MAX_VEX_BYTES)?;
    let value: Value = from_json(file, "", "VEX document", bytes)?;
    parse_value(file, &value)
}

/// Reads a VEX document already parsed as JSON (an attestation's predicate).
pub fn parse_value(file: &str, value: &Value) -> Result<VexDocument, VulnError> {
    let reader = Reader { file };
    if value
        .get("@context")
        .and_then(Value::as_str)
        .is_some_and(|c| c.starts_with("https://openvex.dev/ns"))
    {
        return openvex(&reader, value);
    }
    if value.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        return cyclonedx(&reader, value);
    }
    if value.pointer("/document/category").and_then(Value::as_str) == Some("csaf_vex") {
        return csaf(&reader, value);
    }
    Err(VulnError::Unrecognised {
        file: file.to_owned(),
        reason: "not an OpenVEX, CycloneDX or CSAF VEX document".to_owned(),
        hint: "OpenVEX needs `@context` `https://openvex.dev/ns/v0.2.0`, CycloneDX `bomFormat` `CycloneDX` with `vulnerabilities`, CSAF `document.category` `csaf_vex`".to_owned(),
    })
}

fn status_of(
    reader: &Reader<'_>,
    pointer: &str,
    text: Option<&str>,
) -> Result<VexStatus, VulnError> {
    Ok(match text {
        Some("not_affected") => VexStatus::NotAffected,
        Some("affected") => VexStatus::Affected,
        Some("fixed") => VexStatus::Fixed,
        Some("under_investigation") => VexStatus::UnderInvestigation,
        other => {
            return Err(reader.invalid(
                pointer,
                format!(
                    "unknown status `{}`; expected `not_affected`, `affected`, `fixed` or `under_investigation`",
                    excerpt(other.unwrap_or(""))
                ),
            ));
        }
    })
}

/// An identifier text: a package URL, a CPE, a BOM-Link, else a bom-ref-like name.
fn identify(text: &str) -> ProductId {
    if text.starts_with("pkg:") {
        ProductId::Purl(text.to_owned())
    } else if text.starts_with("cpe:") {
        ProductId::Cpe(text.to_owned())
    } else if let Some(link) = text.strip_prefix("urn:cdx:") {
        match link.split_once('#') {
            Some((serial_version, bom_ref)) => ProductId::BomRef {
                serial: Some(format!(
                    "urn:uuid:{}",
                    serial_version.split('/').next().unwrap_or_default()
                )),
                bom_ref: bom_ref.to_owned(),
            },
            None => ProductId::Name(text.to_owned()),
        }
    } else {
        ProductId::BomRef {
            serial: None,
            bom_ref: text.to_owned(),
        }
    }
}

fn hash_ids(hashes: Option<&Value>) -> Vec<ProductId> {
    let Some(Value::Object(map)) = hashes else {
        return Vec::new();
    };
    map.iter()
        .filter(|(alg, _)| alg.contains("256") || alg.contains("512"))
        .filter_map(|(_, v)| v.as_str())
        .map(|v| ProductId::Hash(v.to_ascii_lowercase()))
        .collect()
}

/// OpenVEX product or subcomponent: a string (0.0.x) or an object with `@id`, `identifiers`,
/// `hashes`.
fn openvex_component(value: &Value) -> Vec<ProductId> {
    match value {
        Value::String(text) => vec![identify(text)],
        Value::Object(map) => {
            let mut ids = Vec::new();
            if let Some(id) = map.get("@id").and_then(Value::as_str) {
                ids.push(identify(id));
            }
            if let Some(Value::Object(identifiers)) = map.get("identifiers") {
                for (key, v) in identifiers {
                    if let Some(text) = v.as_str() {
                        ids.push(match key.as_str() {
                            "purl" => ProductId::Purl(text.to_owned()),
                            "cpe23" | "cpe22" => ProductId::Cpe(text.to_owned()),
                            _ => ProductId::Name(text.to_owned()),
                        });
                    }
                }
            }
            ids.extend(hash_ids(map.get("hashes")));
            ids
        }
        _ => Vec::new(),
    }
}

fn openvex(reader: &Reader<'_>, doc: &Value) -> Result<VexDocument, VulnError> {
    let document_time = reader.text(doc, "/timestamp")?;
    let mut statements = Vec::new();
    for (idx, statement) in reader.array(doc, "/statements")?.iter().enumerate() {
        let at = format!("/statements/{idx}");
        let (vulnerability, aliases) = match statement.get("vulnerability") {
            Some(Value::String(name)) => (name.clone(), Vec::new()),
            Some(Value::Object(map)) => {
                let name = map
                    .get("name")
                    .or_else(|| map.get("@id"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        reader.invalid(&format!("{at}/vulnerability/name"), "missing")
                    })?;
                let aliases = map
                    .get("aliases")
                    .and_then(Value::as_array)
                    .map(|list| {
                        list.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                (name.to_owned(), aliases)
            }
            _ => return Err(reader.invalid(&format!("{at}/vulnerability"), "missing")),
        };
        let status = status_of(
            reader,
            &format!("{at}/status"),
            statement.get("status").and_then(Value::as_str),
        )?;
        let justification = reader.text(doc, &format!("{at}/justification"))?;
        let detail = reader.text(doc, &format!("{at}/impact_statement"))?;
        if status == VexStatus::NotAffected && justification.is_none() && detail.is_none() {
            return Err(reader.invalid(
                &at,
                "a `not_affected` statement needs a `justification` or an `impact_statement`",
            ));
        }
        let mut scopes = Vec::new();
        for product in reader.array(doc, &format!("{at}/products"))? {
            let mut scope = Scope {
                product: openvex_component(product),
                subcomponents: Vec::new(),
            };
            if let Some(Value::Array(subs)) = product.get("subcomponents") {
                scope.subcomponents = subs.iter().map(openvex_component).collect();
            }
            scopes.push(scope);
        }
        statements.push(VexStatement {
            vulnerability,
            aliases,
            scopes,
            status,
            justification,
            detail,
            action: reader.text(doc, &format!("{at}/action_statement"))?,
            timestamp: reader
                .text(doc, &format!("{at}/timestamp"))?
                .or_else(|| document_time.clone()),
            origin: format!("{} {at}", reader.file),
        });
    }
    Ok(VexDocument {
        format: VexFormat::OpenVex,
        id: reader.text(doc, "/@id")?,
        author: reader.text(doc, "/author")?,
        statements,
    })
}

/// CycloneDX justifications, and the OpenVEX label each corresponds to.
fn cyclonedx_justification(text: &str) -> String {
    let label = match text {
        "code_not_present" => "vulnerable_code_not_present",
        "code_not_reachable" => "vulnerable_code_not_in_execute_path",
        "requires_configuration" | "requires_dependency" | "requires_environment" => {
            "vulnerable_code_cannot_be_controlled_by_adversary"
        }
        "protected_by_compiler"
        | "protected_at_runtime"
        | "protected_at_perimeter"
        | "protected_by_mitigating_control" => "inline_mitigations_already_exist",
        other => other,
    };
    if label == text {
        text.to_owned()
    } else {
        format!("{label} ({text})")
    }
}

fn cyclonedx(reader: &Reader<'_>, doc: &Value) -> Result<VexDocument, VulnError> {
    let time = reader.text(doc, "/metadata/timestamp")?;
    let serial = reader.text(doc, "/serialNumber")?;
    let mut statements = Vec::new();
    for (idx, vulnerability) in reader.array(doc, "/vulnerabilities")?.iter().enumerate() {
        let at = format!("/vulnerabilities/{idx}");
        let Some(analysis) = vulnerability.get("analysis") else {
            // A vulnerability without analysis states nothing about the products.
            continue;
        };
        let id = vulnerability
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| reader.invalid(&format!("{at}/id"), "missing"))?;
        let state = analysis.get("state").and_then(Value::as_str);
        let status = match state {
            Some("resolved" | "resolved_with_pedigree") => VexStatus::Fixed,
            Some("exploitable") => VexStatus::Affected,
            Some("in_triage") => VexStatus::UnderInvestigation,
            Some("not_affected" | "false_positive") => VexStatus::NotAffected,
            other => {
                return Err(reader.invalid(
                    &format!("{at}/analysis/state"),
                    format!(
                        "unknown state `{}`; expected `resolved`, `resolved_with_pedigree`, `exploitable`, `in_triage`, `false_positive` or `not_affected`",
                        excerpt(other.unwrap_or(""))
                    ),
                ));
            }
        };
        let justification = match (state, analysis.get("justification").and_then(Value::as_str)) {
            (Some("false_positive"), None) => Some("false_positive".to_owned()),
            (_, Some(text)) => Some(cyclonedx_justification(text)),
            (_, None) => None,
        };
        let detail = analysis
            .get("detail")
            .and_then(Value::as_str)
            .map(|d| crate::record::cut(d, 4000));
        if status == VexStatus::NotAffected && justification.is_none() && detail.is_none() {
            return Err(reader.invalid(
                &format!("{at}/analysis"),
                "a `not_affected` analysis needs a `justification` or a `detail`",
            ));
        }
        let responses: Vec<&str> = analysis
            .get("response")
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let recommendation = vulnerability.get("recommendation").and_then(Value::as_str);
        let action = match (responses.is_empty(), recommendation) {
            (true, None) => None,
            (false, None) => Some(responses.join(", ")),
            (true, Some(r)) => Some(crate::record::cut(r, 2000)),
            (false, Some(r)) => Some(format!(
                "{}: {}",
                responses.join(", "),
                crate::record::cut(r, 2000)
            )),
        };
        let mut scopes = Vec::new();
        for (a_idx, affect) in reader
            .array(doc, &format!("{at}/affects"))?
            .iter()
            .enumerate()
        {
            let reference = affect
                .get("ref")
                .and_then(Value::as_str)
                .ok_or_else(|| reader.invalid(&format!("{at}/affects/{a_idx}/ref"), "missing"))?;
            let mut id = identify(reference);
            if let ProductId::BomRef {
                serial: None,
                bom_ref,
            } = &id
            {
                id = ProductId::BomRef {
                    serial: serial.clone(),
                    bom_ref: bom_ref.clone(),
                };
            }
            scopes.push(Scope {
                product: vec![id],
                subcomponents: Vec::new(),
            });
        }
        let aliases = vulnerability
            .get("references")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|r| r.get("id").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        statements.push(VexStatement {
            vulnerability: id.to_owned(),
            aliases,
            scopes,
            status,
            justification,
            detail,
            action,
            timestamp: reader
                .text(doc, &format!("{at}/updated"))?
                .or(reader.text(doc, &format!("{at}/published"))?)
                .or_else(|| time.clone()),
            origin: format!("{} {at}", reader.file),
        });
    }
    Ok(VexDocument {
        format: VexFormat::CycloneDx,
        id: serial,
        author: reader.text(doc, "/metadata/manufacturer/name")?,
        statements,
    })
}

/// CSAF product identification: `product_id` to the identifiers its helper gives.
fn csaf_products(doc: &Value) -> BTreeMap<String, Scope> {
    fn helper_ids(product: &Value) -> Vec<ProductId> {
        let mut ids = Vec::new();
        if let Some(helper) = product.get("product_identification_helper") {
            if let Some(purl) = helper.get("purl").and_then(Value::as_str) {
                ids.push(ProductId::Purl(purl.to_owned()));
            }
            if let Some(cpe) = helper.get("cpe").and_then(Value::as_str) {
                ids.push(ProductId::Cpe(cpe.to_owned()));
            }
            for file in helper
                .get("hashes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                for hash in file
                    .get("file_hashes")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(value) = hash.get("value").and_then(Value::as_str) {
                        ids.push(ProductId::Hash(value.to_ascii_lowercase()));
                    }
                }
            }
        }
        if let Some(name) = product.get("name").and_then(Value::as_str) {
            ids.push(ProductId::Name(name.to_owned()));
        }
        ids
    }
    fn walk(branch: &Value, out: &mut BTreeMap<String, Scope>, depth: usize) {
        if depth > 32 {
            return;
        }
        if let Some(product) = branch.get("product")
            && let Some(id) = product.get("product_id").and_then(Value::as_str)
        {
            out.insert(
                id.to_owned(),
                Scope {
                    product: helper_ids(product),
                    subcomponents: Vec::new(),
                },
            );
        }
        for child in branch
            .get("branches")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            walk(child, out, depth + 1);
        }
    }
    let mut out = BTreeMap::new();
    if let Some(tree) = doc.get("product_tree") {
        walk(tree, &mut out, 0);
        for product in tree
            .get("full_product_names")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(id) = product.get("product_id").and_then(Value::as_str) {
                out.insert(
                    id.to_owned(),
                    Scope {
                        product: helper_ids(product),
                        subcomponents: Vec::new(),
                    },
                );
            }
        }
        for relation in tree
            .get("relationships")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let category = relation.get("category").and_then(Value::as_str);
            let (Some(component), Some(product), Some(id)) = (
                relation.get("product_reference").and_then(Value::as_str),
                relation
                    .get("relates_to_product_reference")
                    .and_then(Value::as_str),
                relation
                    .pointer("/full_product_name/product_id")
                    .and_then(Value::as_str),
            ) else {
                continue;
            };
            if !matches!(
                category,
                Some("default_component_of" | "installed_on" | "installed_with")
            ) {
                continue;
            }
            let component_ids = out
                .get(component)
                .map(|s| s.product.clone())
                .unwrap_or_default();
            let product_ids = out
                .get(product)
                .map(|s| s.product.clone())
                .unwrap_or_default();
            out.insert(
                id.to_owned(),
                Scope {
                    product: product_ids,
                    subcomponents: vec![component_ids],
                },
            );
        }
    }
    out
}

fn csaf(reader: &Reader<'_>, doc: &Value) -> Result<VexDocument, VulnError> {
    let products = csaf_products(doc);
    let time = reader.text(doc, "/document/tracking/current_release_date")?;
    let mut statements = Vec::new();
    for (idx, vulnerability) in reader.array(doc, "/vulnerabilities")?.iter().enumerate() {
        let at = format!("/vulnerabilities/{idx}");
        let Some(id) = vulnerability
            .get("cve")
            .and_then(Value::as_str)
            .or_else(|| vulnerability.pointer("/ids/0/text").and_then(Value::as_str))
        else {
            return Err(reader.invalid(&format!("{at}/cve"), "missing (and no `ids`)"));
        };
        let per_product = |list: &str, product: &str| -> Option<String> {
            vulnerability
                .get(list)
                .and_then(Value::as_array)?
                .iter()
                .find(|item| {
                    item.get("product_ids")
                        .and_then(Value::as_array)
                        .is_some_and(|ids| ids.iter().any(|p| p.as_str() == Some(product)))
                })
                .and_then(|item| item.get("details").or_else(|| item.get("label")))
                .and_then(Value::as_str)
                .map(|t| crate::record::cut(t, 4000))
        };
        let Some(Value::Object(status_map)) = vulnerability.get("product_status") else {
            continue;
        };
        for (category, ids) in status_map {
            let status = match category.as_str() {
                "known_not_affected" => VexStatus::NotAffected,
                "known_affected" | "first_affected" | "last_affected" => VexStatus::Affected,
                "fixed" | "first_fixed" => VexStatus::Fixed,
                "under_investigation" => VexStatus::UnderInvestigation,
                // `recommended` says which version to take, nothing about this one.
                _ => continue,
            };
            for (p_idx, product) in ids.as_array().into_iter().flatten().enumerate() {
                let Some(product) = product.as_str() else {
                    return Err(reader.invalid(
                        &format!("{at}/product_status/{category}/{p_idx}"),
                        "expected a product id",
                    ));
                };
                let justification = vulnerability
                    .get("flags")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .find(|flag| {
                        flag.get("product_ids")
                            .and_then(Value::as_array)
                            .is_some_and(|ids| ids.iter().any(|p| p.as_str() == Some(product)))
                    })
                    .and_then(|flag| flag.get("label").and_then(Value::as_str))
                    .map(str::to_owned);
                let detail = vulnerability
                    .get("threats")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter(|t| t.get("category").and_then(Value::as_str) == Some("impact"))
                    .find(|t| {
                        t.get("product_ids")
                            .and_then(Value::as_array)
                            .is_some_and(|ids| ids.iter().any(|p| p.as_str() == Some(product)))
                    })
                    .and_then(|t| t.get("details").and_then(Value::as_str))
                    .map(|t| crate::record::cut(t, 4000));
                if status == VexStatus::NotAffected && justification.is_none() && detail.is_none() {
                    return Err(reader.invalid(
                        &format!("{at}/product_status/{category}/{p_idx}"),
                        "a `known_not_affected` product needs a flag or an impact threat",
                    ));
                }
                statements.push(VexStatement {
                    vulnerability: id.to_owned(),
                    aliases: Vec::new(),
                    scopes: vec![products.get(product).cloned().unwrap_or_else(|| Scope {
                        product: vec![ProductId::Name(product.to_owned())],
                        subcomponents: Vec::new(),
                    })],
                    status,
                    justification,
                    detail,
                    action: per_product("remediations", product),
                    timestamp: time.clone(),
                    origin: format!("{} {at}/product_status/{category}/{p_idx}", reader.file),
                });
            }
        }
    }
    Ok(VexDocument {
        format: VexFormat::Csaf,
        id: reader.text(doc, "/document/tracking/id")?,
        author: reader.text(doc, "/document/publisher/name")?,
        statements,
    })
}

/// What identifies the firmware a set of findings is about: the SBOM's root component and
/// the digests of the attested files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subject {
    /// The root component (the firmware or device), when the SBOM has one.
    pub root: Option<Target>,
    /// SHA-256 and SHA-512 digests (lower-case hex) of the firmware files.
    pub digests: Vec<String>,
    /// The SBOM's serial number.
    pub serial: Option<String>,
}

fn same_version(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(a), Some(b)) => match (Version::parse(a), Version::parse(b)) {
            (Some(a), Some(b)) => a == b,
            _ => a == b,
        },
    }
}

/// True when `id` names `target`.
fn names(id: &ProductId, target: &Target, serial: Option<&str>) -> bool {
    match id {
        ProductId::Purl(text) => {
            let (Ok(theirs), Some(ours)) = (Purl::parse(text), target.parsed_purl()) else {
                return false;
            };
            theirs.same_package(&ours)
                && same_version(
                    theirs.version.as_deref(),
                    target.version.as_deref().or(ours.version.as_deref()),
                )
        }
        ProductId::Cpe(text) => {
            let (Ok(theirs), Some(ours)) = (Cpe::parse(text), target.parsed_cpe()) else {
                return false;
            };
            theirs.vendor_product().is_some()
                && theirs.vendor_product() == ours.vendor_product()
                && same_version(theirs.version_text().as_deref(), target.version.as_deref())
        }
        ProductId::BomRef {
            serial: theirs,
            bom_ref,
        } => {
            *bom_ref == target.bom_ref
                && match (theirs, serial) {
                    (Some(theirs), Some(ours)) => theirs == ours,
                    _ => true,
                }
        }
        ProductId::Hash(hex) => target.hashes.iter().any(|h| h == hex),
        ProductId::Name(_) => false,
    }
}

fn names_subject(id: &ProductId, subject: &Subject) -> bool {
    if let ProductId::Hash(hex) = id
        && subject.digests.iter().any(|d| d == hex)
    {
        return true;
    }
    subject
        .root
        .as_ref()
        .is_some_and(|root| names(id, root, subject.serial.as_deref()))
}

/// True when `statement` covers `finding` in `target` of `subject`.
pub fn covers(
    statement: &VexStatement,
    finding: &Finding,
    target: &Target,
    subject: &Subject,
) -> bool {
    let ids: Vec<&str> = std::iter::once(finding.id.as_str())
        .chain(finding.aliases.iter().map(String::as_str))
        .collect();
    let about = std::iter::once(statement.vulnerability.as_str())
        .chain(statement.aliases.iter().map(String::as_str))
        .any(|v| ids.iter().any(|id| id.eq_ignore_ascii_case(v)));
    if !about {
        return false;
    }
    if statement.scopes.is_empty() {
        return true;
    }
    let serial = subject.serial.as_deref();
    statement.scopes.iter().any(|scope| {
        let is_subject = scope.product.iter().any(|id| names_subject(id, subject));
        if scope.subcomponents.is_empty() {
            is_subject || scope.product.iter().any(|id| names(id, target, serial))
        } else {
            is_subject
                && scope
                    .subcomponents
                    .iter()
                    .any(|alternatives| alternatives.iter().any(|id| names(id, target, serial)))
        }
    })
}

/// The statement that decides a finding, if any: the latest one covering it.
pub fn deciding<'a>(
    statements: &'a [VexStatement],
    finding: &Finding,
    target: &Target,
    subject: &Subject,
) -> Option<&'a VexStatement> {
    statements
        .iter()
        .filter(|s| covers(s, finding, target, subject))
        .fold(None, |best: Option<&VexStatement>, s| match best {
            Some(b) if b.timestamp > s.timestamp => Some(b),
            _ => Some(s),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::Certainty;

    fn shared(path: &str) -> Vec<u8> {
        crate::test_support::vulndata(&format!("vex/{path}"))
    }

    #[test]
    fn duplicate_keys_are_refused_with_their_pointer() {
        let text = br#"{"@context":"https://openvex.dev/ns/v0.2.0","@id":"x","author":"a","timestamp":"2026-01-01T00:00:00Z","version":1,
            "statements":[{"vulnerability":{"name":"CVE-2016-5195"},"products":[{"@id":"pkg:generic/linux"}],
            "status":"affected","status":"not_affected","justification":"component_not_present"}]}"#;
        let err = parse("vex.json", text).unwrap_err().to_string();
        assert!(
            err.contains("duplicate key `/statements/0/status`"),
            "{err}"
        );
    }

    #[test]
    fn reads_every_real_example() {
        let root = crate::test_support::shared_dir().join("vulndata/vex");
        let mut stack = vec![root];
        let mut read = 0;
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let name = path.to_string_lossy().into_owned();
                let json = path.extension().is_some_and(|ext| ext == "json");
                if !json || name.contains("schema") || name.contains("bom") {
                    continue;
                }
                let bytes = std::fs::read(&path).unwrap();
                match parse(&name, &bytes) {
                    Ok(doc) => {
                        read += 1;
                        assert!(
                            !doc.statements.is_empty() || doc.format == VexFormat::CycloneDx,
                            "{name}"
                        );
                    }
                    Err(err) => panic!("{name}: {err}"),
                }
            }
        }
        assert!(read >= 50, "{read}");
    }

    #[test]
    fn formats_map_to_one_model() {
        let open = parse(
            "v0.2.0.json",
            &shared("openvex/go-vex/pkg/vex/testdata/v0.2.0.json"),
        )
        .unwrap();
        let na = &open.statements[3];
        assert_eq!(na.vulnerability, "CVE-2023-3446");
        assert_eq!(na.status, VexStatus::NotAffected);
        assert_eq!(
            na.justification.as_deref(),
            Some("vulnerable_code_not_present")
        );
        assert_eq!(na.scopes[0].subcomponents.len(), 2);
        let cdx = parse("vex.json", &shared("cyclonedx/VEX/vex.json")).unwrap();
        let st = &cdx.statements[0];
        assert_eq!(st.status, VexStatus::NotAffected);
        assert_eq!(
            st.justification.as_deref(),
            Some("vulnerable_code_not_in_execute_path (code_not_reachable)")
        );
        assert!(
            matches!(&st.scopes[0].product[0], ProductId::BomRef { serial: Some(s), bom_ref } if s == "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79" && bom_ref.starts_with("pkg:maven/"))
        );
        let csaf = parse(
            "ms.json",
            &shared("csaf/csaf_2.0/examples/csaf/csaf_vex/2022-evd-uc-03-ms-001.json"),
        )
        .unwrap();
        let statuses: Vec<VexStatus> = csaf.statements.iter().map(|s| s.status).collect();
        assert!(statuses.contains(&VexStatus::UnderInvestigation));
        assert!(statuses.contains(&VexStatus::Fixed));
        let affected = csaf
            .statements
            .iter()
            .find(|s| s.vulnerability == "CVE-2020-11898")
            .unwrap();
        assert_eq!(affected.status, VexStatus::Affected);
        assert!(
            affected
                .action
                .as_deref()
                .unwrap()
                .contains("upstream patches")
        );
    }

    #[test]
    fn refuses_what_breaks_the_rules() {
        let err = parse(
            "v.json",
            br#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"vulnerability": {"name": "CVE-2020-0001"}, "status": "not_affected"}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("at `/statements/0`") && err.contains("justification"),
            "{err}"
        );
        let err = parse(
            "v.json",
            br#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"vulnerability": {"name": "CVE-2020-0001"}, "status": "maybe"}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("at `/statements/0/status`"), "{err}");
        assert!(parse("v.json", b"{}").is_err());
    }

    #[test]
    fn scopes_decide_coverage() {
        let busybox = Target {
            bom_ref: "pkg:generic/busybox@1.14.1".into(),
            name: "busybox".into(),
            version: Some("1.14.1".into()),
            cpe: Some("cpe:2.3:a:busybox:busybox:1.14.1:*:*:*:*:*:*:*".into()),
            purl: Some("pkg:generic/busybox@1.14.1".into()),
            hashes: Vec::new(),
        };
        let finding = Finding {
            id: "CVE-2011-2716".into(),
            aliases: Vec::new(),
            bom_ref: busybox.bom_ref.clone(),
            component: "busybox".into(),
            version: busybox.version.clone(),
            certainty: Certainty::Affected,
            records: Vec::new(),
            range: String::new(),
            matched_by: "cpe".into(),
            fix: None,
            rating: None,
            summary: None,
            published: None,
            kev: None,
            epss: None,
        };
        let subject = Subject {
            root: Some(Target {
                bom_ref: "firmware:fw.bin".into(),
                name: "fw.bin".into(),
                version: None,
                cpe: None,
                purl: Some("pkg:generic/acme/router-fw@1.2".into()),
                hashes: vec!["ab".repeat(32)],
            }),
            digests: vec!["ab".repeat(32)],
            serial: None,
        };
        let statement = |scopes: Vec<Scope>| VexStatement {
            vulnerability: "CVE-2011-2716".into(),
            aliases: Vec::new(),
            scopes,
            status: VexStatus::NotAffected,
            justification: Some("vulnerable_code_not_present".into()),
            detail: None,
            action: None,
            timestamp: None,
            origin: "t".into(),
        };
        let purl = |p: &str| ProductId::Purl(p.into());
        let cases = [
            (vec![], true),
            (
                vec![Scope {
                    product: vec![purl("pkg:generic/busybox@1.14.1")],
                    subcomponents: vec![],
                }],
                true,
            ),
            (
                vec![Scope {
                    product: vec![purl("pkg:generic/busybox@1.15.0")],
                    subcomponents: vec![],
                }],
                false,
            ),
            (
                vec![Scope {
                    product: vec![ProductId::Cpe(
                        "cpe:2.3:a:busybox:busybox:*:*:*:*:*:*:*:*".into(),
                    )],
                    subcomponents: vec![],
                }],
                true,
            ),
            (
                vec![Scope {
                    product: vec![ProductId::Hash("ab".repeat(32))],
                    subcomponents: vec![],
                }],
                true,
            ),
            (
                vec![Scope {
                    product: vec![purl("pkg:generic/acme/router-fw@1.2")],
                    subcomponents: vec![vec![purl("pkg:generic/busybox")]],
                }],
                true,
            ),
            (
                vec![Scope {
                    product: vec![purl("pkg:oci/alpine@sha256%3A12")],
                    subcomponents: vec![vec![purl("pkg:generic/busybox")]],
                }],
                false,
            ),
            (
                vec![Scope {
                    product: vec![ProductId::Name("busybox".into())],
                    subcomponents: vec![],
                }],
                false,
            ),
        ];
        for (idx, (scopes, expect)) in cases.into_iter().enumerate() {
            assert_eq!(
                covers(&statement(scopes), &finding, &busybox, &subject),
                expect,
                "case {idx}"
            );
        }
        let mut other = statement(vec![]);
        other.vulnerability = "CVE-2011-0001".into();
        assert!(!covers(&other, &finding, &busybox, &subject));
        let mut old = statement(vec![]);
        old.timestamp = Some("2020-01-01T00:00:00Z".into());
        let mut new = statement(vec![]);
        new.timestamp = Some("2021-01-01T00:00:00Z".into());
        new.status = VexStatus::Affected;
        let both = [new.clone(), old];
        assert_eq!(deciding(&both, &finding, &busybox, &subject), Some(&new));
    }
}
