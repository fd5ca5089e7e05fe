//! Regulators' profiles: which fields an SBOM must carry beyond what the schema requires.
//!
//! - [`Profile::BsiTr031832`]: BSI TR-03183-2 version 2.1.0 (2025-08-20). Each rule cites the
//!   section of the guideline that asks for the field:
//!   - 3.1 (definition of an SBOM): an SBOM MUST NOT contain vulnerability information;
//!   - 3.2.1 (component): the primary component, the product itself, is a component of the SBOM;
//!   - 4 (SBOM formats): CycloneDX 1.6 or later;
//!   - 5.2.1 (required data fields for the SBOM itself): creator, timestamp;
//!   - 5.2.2 (required data fields for each component): creator, name, version, filename,
//!     dependencies and their completeness, distribution licences, SHA-512 of the deployable form,
//!     and the `bsi:component:executable`/`archive`/`structured` properties;
//!   - 5.2.3 (additional data fields for the SBOM itself, required when they exist): the SBOM-URI;
//!   - 5.2.4 (additional data fields for each component, required when they exist): other unique
//!     identifiers (purl, CPE, SWID).
//!
//!   The BSI publishes the guideline as a PDF only; the numbering was checked against the text of
//!   v2.0.0 (where vulnerability information is excluded in 3.1 and the additional fields sit in
//!   5.3) and the public field-by-field readings of v2.1.0, which moved the additional and optional
//!   fields into 5.2.3 to 5.2.5 (sbomify's and sbomqs's v2.1 mappings, the SPDX NTIA conformance
//!   checker's BSI module).
//! - [`Profile::Ntia`]: the NTIA minimum elements (2021): supplier, component name, version, other
//!   unique identifiers, dependency relationship, author of SBOM data, timestamp.
//! - [`Profile::Cisa2025`]: CISA's "2025 Minimum Elements for a Software Bill of Materials", the
//!   public-comment draft of 2025-08-22 (the successor of the NTIA elements; no final edition was
//!   found when this was written, so where a final edition differs this profile follows the
//!   draft). Its data fields, each a rule named after it: SBOM author, software producer,
//!   component name, component version (a file date is allowed when no version exists), software
//!   identifiers (at least one), component hash (with its algorithm), license, dependency
//!   relationship, tool name, timestamp (ISO 8601), generation context (pre-build, build or
//!   post-build); and of its practices, coverage with known unknowns (stated in `compositions`).
//!
//! Checks run over plain JSON, so they apply to any tool's SBOM, and never panic on wrong types: a
//! field of the wrong type counts as missing. Every gap says who can supply the missing fact
//! ([`FactSource`]): some facts no scanner can know and only the manufacturer or the component's
//! supplier can give. A component that consign copied from a supplier's SBOM (`consign scan
//! --supplier-sbom-mode nest`, marked with the property
//! [`crate::supplier::SUPPLIER_SOURCE`]) owes all its gaps to
//! that supplier.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use serde_json::Value;

/// A profile to check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Profile {
    /// BSI TR-03183-2 v2.1 (`bsi-tr-03183-2`).
    #[serde(rename = "bsi-tr-03183-2")]
    BsiTr031832,
    /// NTIA minimum elements (`ntia`).
    Ntia,
    /// CISA's 2025 Minimum Elements for a Software Bill of Materials (`cisa-2025`).
    #[serde(rename = "cisa-2025")]
    Cisa2025,
}

impl FromStr for Profile {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "bsi-tr-03183-2" | "bsi" => Ok(Profile::BsiTr031832),
            "ntia" => Ok(Profile::Ntia),
            "cisa-2025" | "cisa" => Ok(Profile::Cisa2025),
            other => Err(format!(
                "unknown profile `{}`; use `bsi-tr-03183-2`, `ntia` or `cisa-2025`",
                crate::error::excerpt(other)
            )),
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Profile::BsiTr031832 => "bsi-tr-03183-2",
            Profile::Ntia => "ntia",
            Profile::Cisa2025 => "cisa-2025",
        })
    }
}

/// Who can supply a missing fact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FactSource {
    /// The SBOM tool should have written it.
    Tool,
    /// Only the product's manufacturer can give it (put it in the product file).
    Manufacturer,
    /// Only the component's supplier or upstream project can give it (or the manufacturer who
    /// knows the supplier).
    Supplier,
}

/// How much a gap matters under the profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Requirement {
    /// The profile requires it (BSI "MUST"/"SHALL", NTIA minimum element).
    Required,
    /// Required when it exists (BSI "if it exists").
    IfExists,
}

/// One field a profile wants that the document does not have.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProfileGap {
    /// JSON pointer of where the field belongs (`/components/3`).
    pub pointer: String,
    /// Rule id (`bsi-tr-03183-2:5.2.2:hash-sha-512`).
    pub rule: String,
    /// Section of the guideline (`5.2.2`), or the NTIA element name.
    pub section: &'static str,
    /// What to add, one line.
    pub message: String,
    /// Who can supply it.
    pub source: FactSource,
    /// Required, or required when it exists.
    pub requirement: Requirement,
}

struct Checker {
    profile: Profile,
    gaps: Vec<ProfileGap>,
}

impl Checker {
    fn gap(
        &mut self,
        pointer: &str,
        (section, id): (&'static str, &str),
        message: String,
        source: FactSource,
        requirement: Requirement,
    ) {
        self.gaps.push(ProfileGap {
            pointer: pointer.to_owned(),
            rule: format!("{}:{section}:{id}", self.profile),
            section,
            message,
            source,
            requirement,
        });
    }
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

fn array<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// An organisation with an e-mail or URL (what BSI accepts as "creator").
fn entity_has_contact(entity: Option<&Value>) -> bool {
    let Some(entity) = entity else { return false };
    array(entity, "url")
        .iter()
        .any(|u| u.as_str().is_some_and(|s| !s.is_empty()))
        || array(entity, "contact")
            .iter()
            .any(|c| text(c, "email").is_some())
}

fn entity_has_name(entity: Option<&Value>) -> bool {
    entity.is_some_and(|e| text(e, "name").is_some())
}

/// Every component with its pointer: the metadata component, then `components`, with nested ones.
fn components(bom: &Value) -> Vec<(String, &Value)> {
    fn walk<'a>(
        pointer: String,
        component: &'a Value,
        out: &mut Vec<(String, &'a Value)>,
        depth: usize,
    ) {
        if !component.is_object() || depth > 32 {
            return;
        }
        for (idx, child) in array(component, "components").iter().enumerate() {
            walk(format!("{pointer}/components/{idx}"), child, out, depth + 1);
        }
        out.push((pointer, component));
    }
    let mut out = Vec::new();
    if let Some(root) = bom.get("metadata").and_then(|m| m.get("component")) {
        walk("/metadata/component".to_owned(), root, &mut out, 0);
    }
    for (idx, component) in array(bom, "components").iter().enumerate() {
        walk(format!("/components/{idx}"), component, &mut out, 0);
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn property_values<'a>(component: &'a Value, name: &str) -> Vec<&'a str> {
    array(component, "properties")
        .iter()
        .filter(|p| p.get("name").and_then(Value::as_str) == Some(name))
        .filter_map(|p| p.get("value").and_then(Value::as_str))
        .collect()
}

fn is_root(pointer: &str) -> bool {
    pointer.starts_with("/metadata/component")
}

/// Checks `bom` (CycloneDX JSON) against `profile`. An empty list means no gaps.
pub fn check_profile(bom: &Value, profile: Profile) -> Vec<ProfileGap> {
    let mut checker = Checker {
        profile,
        gaps: Vec::new(),
    };
    match profile {
        Profile::BsiTr031832 => bsi(bom, &mut checker),
        Profile::Ntia => ntia(bom, &mut checker),
        Profile::Cisa2025 => cisa(bom, &mut checker),
    }
    checker.gaps
}

fn spec_at_least_1_6(bom: &Value) -> bool {
    let Some(version) = text(bom, "specVersion") else {
        return false;
    };
    let mut parts = version.split('.').map(str::parse::<u32>);
    matches!((parts.next(), parts.next()), (Some(Ok(major)), Some(Ok(minor))) if major > 1 || (major == 1 && minor >= 6))
}

fn dependency_refs(bom: &Value) -> BTreeSet<&str> {
    array(bom, "dependencies")
        .iter()
        .filter_map(|d| d.get("ref").and_then(Value::as_str))
        .collect()
}

fn bsi(bom: &Value, c: &mut Checker) {
    use FactSource::{Manufacturer, Tool};
    use Requirement::{IfExists, Required};
    if text(bom, "bomFormat") != Some("CycloneDX") || !spec_at_least_1_6(bom) {
        c.gap(
            "/specVersion",
            ("4", "format"),
            "write the SBOM as CycloneDX 1.6 or later (TR-03183-2 v2.1 accepts no earlier version)"
                .into(),
            Tool,
            Required,
        );
    }
    let metadata = bom.get("metadata");
    let creator = metadata.is_some_and(|m| {
        entity_has_contact(m.get("manufacturer"))
            || entity_has_contact(m.get("supplier"))
            || array(m, "authors")
                .iter()
                .any(|a| text(a, "email").is_some())
    });
    if !creator {
        c.gap(
            "/metadata/manufacturer",
            ("5.2.1", "creator"),
            "add the SBOM creator's e-mail or URL (`metadata.manufacturer.contact[].email` or `.url`); with consign: `manufacturer.email` in the product file".into(),
            Manufacturer,
            Required,
        );
    }
    if metadata.and_then(|m| text(m, "timestamp")).is_none() {
        c.gap(
            "/metadata/timestamp",
            ("5.2.1", "timestamp"),
            "add `metadata.timestamp`, the time the SBOM was made".into(),
            Tool,
            Required,
        );
    }
    if text(bom, "serialNumber").is_none() {
        c.gap(
            "/serialNumber",
            ("5.2.3", "sbom-uri"),
            "add `serialNumber` (with `version` it forms the SBOM-URI `urn:cdx:<serial>/<version>`); a tool can always make one".into(),
            Tool,
            IfExists,
        );
    }
    if metadata.and_then(|m| m.get("component")).is_none() {
        c.gap(
            "/metadata/component",
            ("3.2.1", "primary-component"),
            "add `metadata.component`, the product or firmware the SBOM describes".into(),
            Tool,
            Required,
        );
    }
    if !array(bom, "vulnerabilities").is_empty() {
        c.gap(
            "/vulnerabilities",
            ("3.1", "no-vulnerabilities"),
            "remove `vulnerabilities`: TR-03183-2 keeps vulnerability information out of the SBOM (use a separate VEX or CSAF document)".into(),
            Tool,
            Required,
        );
    }
    let deps = dependency_refs(bom);
    let components = components(bom);
    // Once for the document: the completeness of the dependency enumeration is stated in
    // `compositions`, not per component.
    if !components.is_empty() && array(bom, "compositions").is_empty() {
        c.gap(
            "/compositions",
            ("5.2.2", "dependencies-completeness"),
            "add `compositions` stating how complete the dependency information is".into(),
            Tool,
            Required,
        );
    }
    let covered = (!array(bom, "compositions").is_empty()).then(|| completeness_stated(bom));
    for (pointer, component) in components {
        let first_gap = c.gaps.len();
        bsi_component(c, &pointer, component, &deps);
        // 5.2.2: the completeness of each component's dependencies is stated, by a composition
        // whose `dependencies` (or `assemblies`) name it with an aggregate other than
        // `not_specified`.
        if let Some(covered) = &covered
            && !bom_ref(component).is_some_and(|r| covered.contains(r))
        {
            let name = text(component, "name").unwrap_or("(unnamed)");
            c.gap(
                &pointer,
                ("5.2.2", "dependencies-completeness"),
                format!("state how complete the dependencies of `{name}` are: name its `bom-ref` in a composition's `dependencies` with an `aggregate` (`complete`, `incomplete`, `unknown`, ...)"),
                Tool,
                Required,
            );
        }
        // What a supplier's SBOM declared (nested by consign, not scanned) only that supplier can
        // complete: its file name, hash or licence are not facts the scanner saw.
        if !property_values(component, crate::supplier::SUPPLIER_SOURCE).is_empty() {
            for gap in &mut c.gaps[first_gap..] {
                gap.source = FactSource::Supplier;
            }
        }
    }
}

/// The bom-refs some composition states the completeness of.
fn completeness_stated(bom: &Value) -> BTreeSet<&str> {
    array(bom, "compositions")
        .iter()
        .filter(|c| text(c, "aggregate").is_some_and(|a| a != "not_specified"))
        .flat_map(|c| {
            array(c, "dependencies")
                .iter()
                .chain(array(c, "assemblies"))
        })
        .filter_map(Value::as_str)
        .collect()
}

fn bsi_component(c: &mut Checker, pointer: &str, component: &Value, deps: &BTreeSet<&str>) {
    use FactSource::{Manufacturer, Supplier, Tool};
    use Requirement::{IfExists, Required};
    let kind = text(component, "type").unwrap_or("");
    let who = if is_root(pointer) {
        Manufacturer
    } else {
        Supplier
    };
    let name = text(component, "name").unwrap_or("(unnamed)");
    let creator = entity_has_contact(component.get("manufacturer"))
        || entity_has_contact(component.get("supplier"))
        || array(component, "authors")
            .iter()
            .any(|a| text(a, "email").is_some());
    if !creator {
        c.gap(
            pointer,
            ("5.2.2", "component-creator"),
            format!("add an e-mail or URL of the creator of `{name}` (`manufacturer.url` or `manufacturer.contact[].email`)"),
            who,
            Required,
        );
    }
    if text(component, "name").is_none() {
        c.gap(
            pointer,
            ("5.2.2", "name"),
            "add the component name".into(),
            Tool,
            Required,
        );
    }
    if text(component, "version").is_none() {
        // consign marks a component whose binaries state no release: no scanner can tell it,
        // only who built or supplied it.
        let scanner_found_nothing =
            property_values(component, crate::VERSION_SOURCE).contains(&"none");
        let date = property_values(component, crate::FILE_MODIFIED)
            .first()
            .map(|date| {
                format!(" ({date} here; `consign scan --missing-version file-date` writes it)")
            })
            .unwrap_or_default();
        c.gap(
            pointer,
            ("5.2.2", "version"),
            format!("add the version of `{name}`, or, when none exists, the file's modification date in RFC 3339{date}"),
            if is_root(pointer) {
                Manufacturer
            } else if scanner_found_nothing {
                Supplier
            } else {
                Tool
            },
            Required,
        );
    }
    if kind == "device" {
        // Hardware: no file, so filename, hash and the file properties do not apply.
        return;
    }
    if property_values(component, crate::bsi::FILENAME).is_empty() {
        c.gap(
            pointer,
            ("5.2.2", "filename"),
            format!(
                "add property `{}` with the file name of `{name}`",
                crate::bsi::FILENAME
            ),
            Tool,
            Required,
        );
    }
    match bom_ref(component) {
        Some(r) if deps.contains(r) => {}
        _ => c.gap(
            pointer,
            ("5.2.2", "dependencies"),
            format!("add a `bom-ref` for `{name}` and a `dependencies` entry for it (an empty `dependsOn` when it needs nothing)"),
            Tool,
            Required,
        ),
    }
    // Appendix 8.2: the distribution licence is the one marked `acknowledgement: concluded`, the
    // original licence (5.2.4) the one marked `declared`.
    let licences = array(component, "licenses");
    let concluded: Vec<(usize, &Value)> = licences
        .iter()
        .enumerate()
        .filter(|(_, choice)| acknowledgement(choice) == Some("concluded"))
        .collect();
    if concluded.is_empty() {
        let message = if licences.is_empty() {
            format!(
                "add the distribution licence of `{name}` as an SPDX identifier or expression, marked `acknowledgement: concluded`"
            )
        } else {
            format!(
                "mark the distribution licence of `{name}` with `acknowledgement: concluded` (appendix 8.2 reads it from there; `declared` is the original licence)"
            )
        };
        c.gap(pointer, ("5.2.2", "licence"), message, who, Required);
    }
    // BSI wants SPDX: a licence known only by a free-text name is a gap of its own.
    for (idx, choice) in licences.iter().enumerate() {
        let spdx = text(choice, "expression")
            .or_else(|| choice.get("license").and_then(|l| text(l, "id")))
            .is_some_and(|t| crate::spdx_expression(t).is_some());
        if spdx {
            continue;
        }
        let named = choice
            .get("license")
            .and_then(|l| text(l, "name"))
            .unwrap_or("(unnamed)");
        let is_distribution = concluded.iter().any(|(at, _)| *at == idx);
        c.gap(
            &format!("{pointer}/licenses/{idx}"),
            if is_distribution { ("5.2.2", "licence-spdx") } else { ("5.2.4", "original-licence-spdx") },
            format!("`{named}` (a licence of `{name}`) is not an SPDX identifier or expression: use its SPDX identifier, or a `LicenseRef-` of your own"),
            who,
            if is_distribution { Required } else { IfExists },
        );
    }
    if !has_hash(component, Some("SHA-512")) {
        c.gap(
            pointer,
            ("5.2.2", "hash-sha-512"),
            format!("add the SHA-512 of the deployable file of `{name}` (`externalReferences[type=distribution].hashes`, as appendix 8.2 maps it, or `hashes`)"),
            Tool,
            Required,
        );
    }
    for (property, allowed) in [
        (crate::bsi::EXECUTABLE, ["executable", "non-executable"]),
        (crate::bsi::ARCHIVE, ["archive", "no archive"]),
        (crate::bsi::STRUCTURED, ["structured", "unstructured"]),
    ] {
        let values = property_values(component, property);
        if values.len() != 1 || !allowed.contains(values.first().unwrap_or(&"")) {
            c.gap(
                pointer,
                ("5.2.2", property.trim_start_matches("bsi:component:")),
                format!(
                    "add exactly one property `{property}` with value `{}` or `{}`",
                    allowed[0], allowed[1]
                ),
                Tool,
                Required,
            );
        }
    }
    if !is_root(pointer) && text(component, "purl").is_none() && text(component, "cpe").is_none() {
        c.gap(
            pointer,
            ("5.2.4", "other-unique-identifiers"),
            format!("add a purl or CPE for `{name}` when one exists"),
            Tool,
            IfExists,
        );
    }
}

/// `acknowledgement` of a licence choice (`{"expression", "acknowledgement"}` or
/// `{"license": {..., "acknowledgement"}}`).
fn acknowledgement(choice: &Value) -> Option<&str> {
    text(choice, "acknowledgement").or_else(|| {
        choice
            .get("license")
            .and_then(|l| text(l, "acknowledgement"))
    })
}

/// A hash (of `algorithm`, or any) in `hashes` or in a `distribution` external reference: BSI
/// TR-03183-2 v2.1 appendix 8.2 places the deployable file's SHA-512 in
/// `externalReferences[type=distribution].hashes`, and tools write it in `hashes`; both count.
fn has_hash(component: &Value, algorithm: Option<&str>) -> bool {
    let matches = |list: &[Value]| {
        list.iter().any(|h| {
            text(h, "content").is_some() && algorithm.is_none_or(|alg| text(h, "alg") == Some(alg))
        })
    };
    matches(array(component, "hashes"))
        || array(component, "externalReferences")
            .iter()
            .filter(|r| text(r, "type") == Some("distribution"))
            .any(|r| matches(array(r, "hashes")))
}

fn bom_ref(component: &Value) -> Option<&str> {
    text(component, "bom-ref")
}

fn ntia(bom: &Value, c: &mut Checker) {
    use FactSource::{Manufacturer, Supplier, Tool};
    use Requirement::Required;
    let metadata = bom.get("metadata");
    let author = metadata.is_some_and(|m| {
        !array(m, "authors").is_empty()
            || entity_has_name(m.get("manufacturer"))
            || entity_has_name(m.get("supplier"))
            || match m.get("tools") {
                Some(Value::Array(list)) => !list.is_empty(),
                Some(Value::Object(tools)) => tools
                    .values()
                    .any(|v| v.as_array().is_some_and(|a| !a.is_empty())),
                _ => false,
            }
    });
    if !author {
        c.gap(
            "/metadata/authors",
            ("author", "author-of-sbom-data"),
            "add `metadata.authors` or `metadata.manufacturer` (who made the SBOM)".into(),
            Manufacturer,
            Required,
        );
    }
    if metadata.and_then(|m| text(m, "timestamp")).is_none() {
        c.gap(
            "/metadata/timestamp",
            ("timestamp", "timestamp"),
            "add `metadata.timestamp`".into(),
            Tool,
            Required,
        );
    }
    let deps = dependency_refs(bom);
    for (pointer, component) in components(bom) {
        let name = text(component, "name").unwrap_or("(unnamed)");
        let supplier = entity_has_name(component.get("supplier"))
            || entity_has_name(component.get("manufacturer"))
            || text(component, "publisher").is_some()
            || !array(component, "authors").is_empty();
        if !supplier {
            c.gap(
                &pointer,
                ("supplier", "supplier-name"),
                format!("add the supplier of `{name}` (`supplier.name`)"),
                if is_root(&pointer) {
                    Manufacturer
                } else {
                    Supplier
                },
                Required,
            );
        }
        if text(component, "name").is_none() {
            c.gap(
                &pointer,
                ("component-name", "component-name"),
                "add the component name".into(),
                Tool,
                Required,
            );
        }
        if text(component, "version").is_none() {
            c.gap(
                &pointer,
                ("version", "version"),
                format!("add the version of `{name}`"),
                if is_root(&pointer) {
                    Manufacturer
                } else {
                    Tool
                },
                Required,
            );
        }
        let kind = text(component, "type").unwrap_or("");
        let unique = text(component, "purl").is_some()
            || text(component, "cpe").is_some()
            || component.get("swid").is_some()
            || (kind == "firmware" && !array(component, "hashes").is_empty())
            || kind == "device";
        if !unique {
            c.gap(
                &pointer,
                ("other-unique-identifiers", "unique-identifier"),
                format!("add a purl, CPE or SWID tag for `{name}`"),
                Tool,
                Required,
            );
        }
        if !bom_ref(component).is_some_and(|r| deps.contains(r)) {
            c.gap(
                &pointer,
                ("dependency-relationship", "dependency"),
                format!("add a `dependencies` entry for `{name}`"),
                Tool,
                Required,
            );
        }
    }
}

/// The lifecycle phases CISA's generation context names, as CycloneDX writes them.
const GENERATION_CONTEXTS: [&str; 3] = ["pre-build", "build", "post-build"];

fn cisa(bom: &Value, c: &mut Checker) {
    use FactSource::{Manufacturer, Supplier, Tool};
    use Requirement::Required;
    let metadata = bom.get("metadata");
    let author = metadata.is_some_and(|m| {
        array(m, "authors")
            .iter()
            .any(|a| text(a, "name").is_some() || text(a, "email").is_some())
            || entity_has_name(m.get("manufacturer"))
            || entity_has_name(m.get("supplier"))
    });
    if !author {
        c.gap(
            "/metadata/authors",
            ("sbom-author", "sbom-author"),
            "add the entity that made the SBOM data (`metadata.authors` or `metadata.manufacturer.name`); a tool is not an author".into(),
            Manufacturer,
            Required,
        );
    }
    let tools = match metadata.and_then(|m| m.get("tools")) {
        Some(Value::Array(list)) => list.iter().any(|t| text(t, "name").is_some()),
        Some(tools @ Value::Object(_)) => ["components", "services"]
            .iter()
            .any(|key| array(tools, key).iter().any(|t| text(t, "name").is_some())),
        _ => false,
    };
    if !tools {
        c.gap(
            "/metadata/tools",
            ("tool-name", "tool-name"),
            "add the name of the tool that made the SBOM (`metadata.tools.components[].name`)"
                .into(),
            Tool,
            Required,
        );
    }
    if metadata.and_then(|m| text(m, "timestamp")).is_none() {
        c.gap(
            "/metadata/timestamp",
            ("timestamp", "timestamp"),
            "add `metadata.timestamp` (ISO 8601)".into(),
            Tool,
            Required,
        );
    }
    let context = metadata.is_some_and(|m| {
        array(m, "lifecycles")
            .iter()
            .any(|l| text(l, "phase").is_some_and(|p| GENERATION_CONTEXTS.contains(&p)))
    });
    if !context {
        c.gap(
            "/metadata/lifecycles",
            ("generation-context", "generation-context"),
            "add when the SBOM was made: `metadata.lifecycles[].phase` `pre-build`, `build` or `post-build`".into(),
            Tool,
            Required,
        );
    }
    let components = components(bom);
    if !components.is_empty() && array(bom, "compositions").is_empty() {
        c.gap(
            "/compositions",
            ("coverage", "known-unknowns"),
            "state how complete the inventory is (`compositions[].aggregate`), so known unknowns are flagged".into(),
            Tool,
            Required,
        );
    }
    let deps = dependency_refs(bom);
    for (pointer, component) in components {
        let first_gap = c.gaps.len();
        let name = text(component, "name").unwrap_or("(unnamed)");
        let who = if is_root(&pointer) {
            Manufacturer
        } else {
            Supplier
        };
        let kind = text(component, "type").unwrap_or("");
        let producer = entity_has_name(component.get("supplier"))
            || entity_has_name(component.get("manufacturer"))
            || text(component, "publisher").is_some();
        if !producer {
            c.gap(
                &pointer,
                ("software-producer", "software-producer"),
                format!("add the name of the producer of `{name}` (`manufacturer.name` or `supplier.name`)"),
                who,
                Required,
            );
        }
        if text(component, "name").is_none() {
            c.gap(
                &pointer,
                ("component-name", "component-name"),
                "add the component name".into(),
                Tool,
                Required,
            );
        }
        if text(component, "version").is_none() {
            c.gap(
                &pointer,
                ("component-version", "component-version"),
                format!(
                    "add the version of `{name}`, or when none exists its file's creation date"
                ),
                if is_root(&pointer)
                    || property_values(component, crate::VERSION_SOURCE).contains(&"none")
                {
                    who
                } else {
                    Tool
                },
                Required,
            );
        }
        let identified = text(component, "purl").is_some()
            || text(component, "cpe").is_some()
            || component.get("swid").is_some()
            || array(component, "omniborId").iter().any(Value::is_string)
            || array(component, "swhid").iter().any(Value::is_string);
        if !identified && kind != "device" && !is_root(&pointer) {
            c.gap(
                &pointer,
                ("software-identifiers", "software-identifiers"),
                format!(
                    "add at least one software identifier for `{name}` (purl, CPE, OmniBOR, SWHID)"
                ),
                Tool,
                Required,
            );
        }
        if kind != "device" && !has_hash(component, None) {
            c.gap(
                &pointer,
                ("component-hash", "component-hash"),
                format!("add a hash of `{name}` with its algorithm (`hashes`)"),
                Tool,
                Required,
            );
        }
        // A device is hardware: no licence of its own, its firmware carries them.
        if kind != "device" && array(component, "licenses").is_empty() {
            c.gap(
                &pointer,
                ("license", "license"),
                format!("add the licence of `{name}`"),
                who,
                Required,
            );
        }
        if !bom_ref(component).is_some_and(|r| deps.contains(r)) {
            c.gap(
                &pointer,
                ("dependency-relationship", "dependency-relationship"),
                format!("add a `dependencies` entry for `{name}`"),
                Tool,
                Required,
            );
        }
        if !property_values(component, crate::supplier::SUPPLIER_SOURCE).is_empty() {
            for gap in &mut c.gaps[first_gap..] {
                gap.source = Supplier;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_bom_has_document_gaps() {
        let gaps = check_profile(
            &json!({"bomFormat": "CycloneDX", "specVersion": "1.5"}),
            Profile::BsiTr031832,
        );
        let rules: Vec<&str> = gaps.iter().map(|g| g.rule.as_str()).collect();
        assert_eq!(
            rules,
            [
                "bsi-tr-03183-2:4:format",
                "bsi-tr-03183-2:5.2.1:creator",
                "bsi-tr-03183-2:5.2.1:timestamp",
                "bsi-tr-03183-2:5.2.3:sbom-uri",
                "bsi-tr-03183-2:3.2.1:primary-component"
            ]
        );
        assert_eq!(gaps[1].source, FactSource::Manufacturer);
    }

    #[test]
    fn wrong_types_count_as_missing() {
        let bom = json!({"bomFormat": 3, "metadata": [], "components": [7, {"name": ["x"], "hashes": "no"}], "dependencies": {"a": 1}});
        let gaps = check_profile(&bom, Profile::BsiTr031832);
        assert!(
            gaps.iter()
                .any(|g| g.pointer == "/components/1" && g.rule.ends_with("hash-sha-512"))
        );
        let gaps = check_profile(&bom, Profile::Ntia);
        assert!(gaps.iter().any(|g| g.pointer == "/components/1"));
    }

    fn fixture(name: &str) -> Value {
        let path = format!("{}/../../fixtures/sbom/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// (pointer, rule without the profile prefix, source) of every gap.
    fn gap_list(gaps: &[ProfileGap]) -> Vec<(&str, &str, FactSource)> {
        gaps.iter()
            .map(|g| {
                (
                    g.pointer.as_str(),
                    g.rule.trim_start_matches("bsi-tr-03183-2:"),
                    g.source,
                )
            })
            .collect()
    }

    /// The file-level fields BSI asks of every non-device component, which neither cve-bin-tool
    /// nor blint writes.
    const FILE_FIELDS: [&str; 5] = [
        "5.2.2:filename",
        "5.2.2:hash-sha-512",
        "5.2.2:executable",
        "5.2.2:archive",
        "5.2.2:structured",
    ];

    /// cve-bin-tool 3.4's own SBOM of a corpus router image (see fixtures/sbom/README.md):
    /// schema-valid, names every component with a version, supplier name and CPE, but carries no
    /// file facts, no licences, no creator contact, and dependencies only from its top.
    #[test]
    fn cve_bin_tool_sbom_gets_its_real_gaps() {
        use FactSource::{Manufacturer, Supplier, Tool};
        let bom = fixture("cve-bin-tool-3.4.cdx.json");
        assert_eq!(crate::validate_schema(&bom), Vec::new());
        let gaps = check_profile(&bom, Profile::BsiTr031832);
        let list = gap_list(&gaps);
        // Document level: who made the SBOM, and how complete its dependencies are.
        for want in [
            ("/metadata/manufacturer", "5.2.1:creator", Manufacturer),
            ("/compositions", "5.2.2:dependencies-completeness", Tool),
        ] {
            assert!(list.contains(&want), "{want:?} missing: {list:#?}");
        }
        // dnsmasq, found with version and CPE: every file fact missing, its creator and licence
        // are its supplier's to give, and no `dependencies` entry of its own.
        let dnsmasq: Vec<_> = list
            .iter()
            .filter(|g| g.0 == "/components/1")
            .map(|g| (g.1, g.2))
            .collect();
        let mut want = vec![
            ("5.2.2:component-creator", Supplier),
            ("5.2.2:dependencies", Tool),
            ("5.2.2:licence", Supplier),
        ];
        want.extend(FILE_FIELDS.iter().map(|f| (*f, Tool)));
        let mut got = dnsmasq.clone();
        got.sort();
        want.sort();
        assert_eq!(got, want);
        // What it has is not reported: spec version, timestamp, serial number, versions, CPEs.
        for rule in ["4:format", "5.2.1:timestamp", "5.2.3:sbom-uri"] {
            assert!(!list.iter().any(|g| g.1 == rule), "{rule}: {list:#?}");
        }
        let components = bom["components"].as_array().unwrap();
        for (idx, component) in components.iter().enumerate().skip(1) {
            let pointer = format!("/components/{idx}");
            assert!(component["version"].is_string() && component["cpe"].is_string());
            assert!(!list.iter().any(|g| g.0 == pointer
                && (g.1 == "5.2.2:version" || g.1 == "5.2.4:other-unique-identifiers")));
        }
        // Its stand-in for the scanned directory has neither version nor identifier.
        assert!(list.contains(&("/components/0", "5.2.2:version", Tool)));
        let if_exists: Vec<_> = gaps
            .iter()
            .filter(|g| g.requirement == Requirement::IfExists)
            .map(|g| (g.pointer.as_str(), g.section))
            .collect();
        assert_eq!(if_exists, [("/components/0", "5.2.4")]);

        let ntia = check_profile(&bom, Profile::Ntia);
        let rules: BTreeSet<(&str, &str)> = ntia
            .iter()
            .map(|g| (g.pointer.as_str(), g.section))
            .collect();
        for idx in 1..components.len() {
            let pointer = format!("/components/{idx}");
            assert!(rules.contains(&(pointer.as_str(), "dependency-relationship")));
            assert!(!rules.contains(&(pointer.as_str(), "supplier")));
        }
        assert!(rules.contains(&("/metadata/component", "version")));
    }

    /// blint 4.0.1's SBOM of one dynamically linked binary (dnsmasq from a corpus image): the
    /// libraries it needs are named by SONAME only, so version, licence, creator and every file
    /// fact are missing, but the dependency graph is complete.
    #[test]
    fn blint_sbom_gets_its_real_gaps() {
        use FactSource::{Manufacturer, Supplier, Tool};
        let bom = fixture("blint-4.0.1.cdx.json");
        assert_eq!(crate::validate_schema(&bom), Vec::new());
        let gaps = check_profile(&bom, Profile::BsiTr031832);
        let list = gap_list(&gaps);
        let components = bom["components"].as_array().unwrap();
        assert!(!components.is_empty());
        for idx in 0..components.len() {
            let pointer = format!("/components/{idx}");
            let mut got: Vec<_> = list
                .iter()
                .filter(|g| g.0 == pointer)
                .map(|g| (g.1, g.2))
                .collect();
            let mut want = vec![
                ("5.2.2:component-creator", Supplier),
                ("5.2.2:version", Tool),
                ("5.2.2:licence", Supplier),
            ];
            want.extend(FILE_FIELDS.iter().map(|f| (*f, Tool)));
            got.sort();
            want.sort();
            assert_eq!(got, want, "{pointer}");
        }
        for want in [
            ("/metadata/manufacturer", "5.2.1:creator", Manufacturer),
            ("/metadata/component", "5.2.2:version", Manufacturer),
            ("/metadata/component", "5.2.2:licence", Manufacturer),
        ] {
            assert!(list.contains(&want), "{want:?} missing: {list:#?}");
        }
        assert!(
            !list.iter().any(|g| g.1 == "5.2.2:dependencies"),
            "{list:#?}"
        );
    }

    /// A component nested from a supplier's SBOM owes every gap to that supplier.
    #[test]
    fn supplier_declared_components_owe_their_gaps_to_the_supplier() {
        let bom = json!({
            "bomFormat": "CycloneDX", "specVersion": "1.6",
            "components": [
                {"type": "library", "name": "scanned"},
                {"type": "library", "name": "declared", "properties": [
                    {"name": crate::supplier::SUPPLIER_SOURCE, "value": "urn:cdx:x/1#/components/0"}
                ]}
            ]
        });
        let gaps = check_profile(&bom, Profile::BsiTr031832);
        let of = |pointer: &str| -> BTreeSet<FactSource> {
            gaps.iter()
                .filter(|g| g.pointer == pointer)
                .map(|g| g.source)
                .collect()
        };
        assert!(of("/components/0").contains(&FactSource::Tool));
        assert_eq!(of("/components/1"), BTreeSet::from([FactSource::Supplier]));
    }

    #[test]
    fn broken_fixture_fails_schema_and_profile_without_panic() {
        let bom = fixture("broken.cdx.json");
        let issues = crate::validate_schema(&bom);
        let pointers: BTreeSet<&str> = issues.iter().map(|i| i.pointer.as_str()).collect();
        for want in [
            "/serialNumber",
            "/version",
            "/metadata/timestamp",
            "/metadata/component/type",
            "/components/0/name",
            "/components/0/hashes/0/content",
            "/dependencies",
        ] {
            assert!(pointers.contains(want), "{want}: {issues:#?}");
        }
        for profile in [Profile::BsiTr031832, Profile::Ntia, Profile::Cisa2025] {
            assert!(!check_profile(&bom, profile).is_empty());
        }
    }

    /// (pointer, rule without the profile prefix) of every gap.
    fn rules(gaps: &[ProfileGap]) -> BTreeSet<(String, String)> {
        gaps.iter()
            .map(|g| {
                (
                    g.pointer.clone(),
                    g.rule.split_once(':').map_or("", |(_, r)| r).to_owned(),
                )
            })
            .collect()
    }

    /// CISA 2025 on other tools' real SBOMs: cve-bin-tool names a producer (its CPE vendor) and
    /// a version for each library but no hash, licence or generation context; blint's libraries
    /// have neither producer, version, hash nor licence, but its dependency graph is complete.
    #[test]
    fn cisa_2025_on_other_tools_sboms() {
        let cve_bin_tool = check_profile(&fixture("cve-bin-tool-3.4.cdx.json"), Profile::Cisa2025);
        let got = rules(&cve_bin_tool);
        for want in [
            ("/metadata/authors", "sbom-author:sbom-author"),
            (
                "/metadata/lifecycles",
                "generation-context:generation-context",
            ),
            ("/compositions", "coverage:known-unknowns"),
            ("/components/1", "component-hash:component-hash"),
            ("/components/1", "license:license"),
            (
                "/components/1",
                "dependency-relationship:dependency-relationship",
            ),
        ] {
            assert!(
                got.contains(&(want.0.to_owned(), want.1.to_owned())),
                "{want:?}: {got:#?}"
            );
        }
        for absent in ["tool-name:tool-name", "timestamp:timestamp"] {
            assert!(!got.iter().any(|(_, r)| r == absent), "{absent}");
        }
        assert!(!got.contains(&(
            "/components/1".to_owned(),
            "software-producer:software-producer".to_owned()
        )));
        let blint = rules(&check_profile(
            &fixture("blint-4.0.1.cdx.json"),
            Profile::Cisa2025,
        ));
        for want in [
            ("/components/0", "software-producer:software-producer"),
            ("/components/0", "component-version:component-version"),
            ("/components/0", "component-hash:component-hash"),
            ("/components/0", "license:license"),
        ] {
            assert!(
                blint.contains(&(want.0.to_owned(), want.1.to_owned())),
                "{want:?}: {blint:#?}"
            );
        }
        // blint says when it ran (post-build) and lists every dependency.
        assert!(
            !blint
                .iter()
                .any(|(_, r)| r.starts_with("generation-context")
                    || r.starts_with("dependency-relationship"))
        );
    }

    /// BSI on the broken fixture and on a document with vulnerabilities: rejected with the
    /// section that forbids it; both SHA-512 placements are accepted, neither is invented.
    #[test]
    fn bsi_hash_placements_and_vulnerabilities() {
        let component = |hashes: Value, refs: Value| {
            json!({"bomFormat": "CycloneDX", "specVersion": "1.6",
                "components": [{"type": "library", "name": "x", "bom-ref": "x",
                    "hashes": hashes, "externalReferences": refs}],
                "vulnerabilities": [{"id": "CVE-2024-0001"}]})
        };
        let sha512 = json!([{"alg": "SHA-512", "content": "ab".repeat(64)}]);
        let sha256 = json!([{"alg": "SHA-256", "content": "ab".repeat(32)}]);
        for (bom, want_gap) in [
            (component(sha512.clone(), json!([])), false),
            (
                component(
                    json!([]),
                    json!([{"type": "distribution", "url": "x", "hashes": sha512}]),
                ),
                false,
            ),
            (
                component(
                    sha256.clone(),
                    json!([{"type": "website", "url": "x", "hashes": sha512}]),
                ),
                true,
            ),
            (component(sha256, json!([])), true),
        ] {
            let got = rules(&check_profile(&bom, Profile::BsiTr031832));
            assert_eq!(
                got.contains(&("/components/0".to_owned(), "5.2.2:hash-sha-512".to_owned())),
                want_gap,
                "{bom}"
            );
            assert!(got.contains(&(
                "/vulnerabilities".to_owned(),
                "3.1:no-vulnerabilities".to_owned()
            )));
        }
    }

    #[test]
    fn profile_names() {
        assert_eq!("cisa-2025".parse::<Profile>().unwrap(), Profile::Cisa2025);
        assert_eq!(
            "bsi-tr-03183-2".parse::<Profile>().unwrap(),
            Profile::BsiTr031832
        );
        assert!("cra".parse::<Profile>().is_err());
    }
}
