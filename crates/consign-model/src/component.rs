//! Identified software components and the evidence for them.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::Digests;

/// How a piece of evidence was obtained; these are CycloneDX's `evidence.identity.methods.technique`
/// values that consign uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Method {
    /// A version string or structure found in the bytes of a binary.
    BinaryAnalysis,
    /// A package database or manifest (dpkg, opkg, apk, Go build info, cargo auditable).
    ManifestAnalysis,
    /// The file name alone.
    Filename,
    /// The file's digest matched a known one.
    HashComparison,
}

/// How sure a detector is. An enum, not a number, so that every level has a meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Confidence {
    /// A hint only (a file name, an ABI number).
    Low,
    /// One strong signal (a version string in an unusual place).
    Medium,
    /// Anchored version string, or a package database entry, or several signals agreeing.
    High,
}

impl Confidence {
    /// The number CycloneDX wants in `evidence.identity.confidence` (0 to 1).
    pub fn score(self) -> f64 {
        match self {
            Confidence::Low => 0.3,
            Confidence::Medium => 0.7,
            Confidence::High => 0.95,
        }
    }
}

/// Where a component was seen and how.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Occurrence {
    /// Logical path of the file (see [`crate::VfsNode::path`]).
    pub location: String,
    /// Byte offset of the match inside that file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// The text that matched, cut to a readable length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched: Option<String>,
    /// How it was found.
    pub method: Method,
    /// How sure this one piece of evidence is.
    pub confidence: Confidence,
    /// The release this piece of evidence states, when it states one. One that differs from its
    /// component's version lost the vote in its file: another release had stronger or more
    /// evidence there (see `consign-detect`'s crate docs), and it is kept so that a reader sees
    /// both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub states: Option<String>,
    /// How many times the file states it (anchor hits, `.comment` entries), when more than once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

/// The kind of component, as CycloneDX names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ComponentKind {
    /// A library.
    Library,
    /// A program.
    Application,
    /// An operating system kernel (Linux, an RTOS).
    OperatingSystem,
    /// Firmware: a bootloader, a ROM, a boot stage.
    Firmware,
    /// A framework or SDK.
    Framework,
    /// A device driver (a kernel module that is not part of the kernel).
    DeviceDriver,
}

/// What consign's knowledge base holds about a recognised product's upstream project: facts of the
/// project (who makes it, the licence it declares), not of this copy. The SBOM marks them as
/// consign's conclusion, so a supplier's own statement can win over them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upstream {
    /// The project's home page (`https://busybox.net/`): who makes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
    /// The licence the project declares, as an SPDX expression (`GPL-2.0-only`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
}

impl Upstream {
    /// True when the knowledge base holds nothing about the project.
    pub fn is_empty(&self) -> bool {
        self.homepage.is_none() && self.license.is_none()
    }
}

/// One identified component: one per product and version, however many places it was seen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Component {
    /// Canonical upstream name, lower case (`openssl`, `busybox`, `linux`).
    pub name: String,
    /// Exact upstream release, or `None` when no evidence says which ("version unknown").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// What kind of component.
    pub kind: ComponentKind,
    /// CPE 2.3 vendor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpe_vendor: Option<String>,
    /// CPE 2.3 product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpe_product: Option<String>,
    /// Package URL without the version (`pkg:generic/openssl`); the SBOM writer adds `@version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// Who makes it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<String>,
    /// Licences stated in the image (a package database's `License:`), as written there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    /// What the knowledge base says of the upstream project (see [`Upstream`]).
    #[serde(default, skip_serializing_if = "Upstream::is_empty")]
    pub upstream: Upstream,
    /// Every place it was seen, sorted by location then offset.
    pub occurrences: Vec<Occurrence>,
    /// The overall confidence (the best of the occurrences, raised when several methods agree).
    pub confidence: Confidence,
    /// Digests of the files that carry it, keyed by logical path, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<(String, Digests)>,
    /// The latest modification time its containers record for those files, in seconds since
    /// 1970-01-01T00:00:00Z. BSI TR-03183-2 takes it in place of a version no binary states.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<i64>,
    /// Names of the other components this one needs at run time (from `DT_NEEDED`), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

impl Component {
    /// The CPE 2.3 formatted string, when vendor and product are known.
    pub fn cpe(&self) -> Option<String> {
        let vendor = self.cpe_vendor.as_deref()?;
        let product = self.cpe_product.as_deref()?;
        let version = self
            .version
            .as_deref()
            .map_or_else(|| "*".to_owned(), cpe_escape);
        Some(format!(
            "cpe:2.3:{}:{}:{}:{version}:*:*:*:*:*:*:*",
            match self.kind {
                ComponentKind::OperatingSystem => 'o',
                ComponentKind::Firmware if vendor == "linux" => 'o',
                _ => 'a',
            },
            cpe_escape(vendor),
            cpe_escape(product)
        ))
    }

    /// The package URL with the version, when a purl is known.
    pub fn purl_with_version(&self) -> Option<String> {
        let base = self.purl.as_deref()?;
        Some(match &self.version {
            Some(version) => format!("{base}@{}", purl_escape(version)),
            None => base.to_owned(),
        })
    }
}

/// Escapes a CPE 2.3 formatted-string component (backslash before every non-alphanumeric except
/// `_`, `-` and `.`).
fn cpe_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if !(ch.is_ascii_alphanumeric() || matches!(ch, '_' | '-' | '.')) {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// Percent-encodes a purl version (only unreserved characters stay).
fn purl_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(version: Option<&str>) -> Component {
        Component {
            name: "openssl".into(),
            version: version.map(Into::into),
            kind: ComponentKind::Library,
            cpe_vendor: Some("openssl".into()),
            cpe_product: Some("openssl".into()),
            purl: Some("pkg:generic/openssl".into()),
            supplier: None,
            licenses: Vec::new(),
            occurrences: Vec::new(),
            upstream: Upstream::default(),
            confidence: Confidence::High,
            files: Vec::new(),
            modified: None,
            depends_on: Vec::new(),
        }
    }

    #[test]
    fn cpe_and_purl() {
        let c = component(Some("3.0.20+x"));
        assert_eq!(
            c.cpe().unwrap(),
            "cpe:2.3:a:openssl:openssl:3.0.20\\+x:*:*:*:*:*:*:*"
        );
        assert_eq!(
            c.purl_with_version().unwrap(),
            "pkg:generic/openssl@3.0.20%2Bx"
        );
        let unknown = component(None);
        assert_eq!(
            unknown.cpe().unwrap(),
            "cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*"
        );
        assert_eq!(unknown.purl_with_version().unwrap(), "pkg:generic/openssl");
    }
}
