//! Package manifests that language package managers leave beside the code they install.
//!
//! # What it detects
//!
//! - npm `package.json` (a device's web interface, Node.js applications): `name` and `version`,
//!   and `license`; a package marked `"private": true` is the application itself, not a
//!   dependency, and is left out, as is one without a name or version;
//! - Bower `bower.json` and `.bower.json` (web interfaces of the 2012-2018 era);
//! - Python `*.dist-info/METADATA` and `*.egg-info/PKG-INFO` (or an `.egg-info` file): `Name`,
//!   `Version`, `License`;
//! - `LuaRocks` `*.rockspec`: `package` and `version`, whose last `-N` is the rockspec revision, not
//!   the upstream release.
//!
//! # Evidence
//!
//! `manifest-analysis`, high confidence: the package manager wrote the name and release.
//!
//! # Limits
//!
//! Files larger than [`MAX_MANIFEST_BYTES`] are not read; names and versions must look like names
//! and versions (no spaces, no path separators beyond an npm scope, at most 128 characters).

use consign_model::{ComponentKind, Confidence, Method, Occurrence, Upstream};

use crate::Identity;
use crate::scan::Finding;
use crate::signature::Catalog;

/// Largest manifest read. Real ones are a few KiB; a Python `METADATA` carries the whole README.
pub(crate) const MAX_MANIFEST_BYTES: usize = 1 << 20;
/// Longest name or version accepted.
const MAX_FIELD_CHARS: usize = 128;

/// The package managers whose manifests are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ecosystem {
    Npm,
    Bower,
    Python,
    LuaRocks,
}

impl Ecosystem {
    /// Which manifest, if any, a file is by its path inside its container.
    pub(crate) fn of(inner_path: &str) -> Option<Self> {
        let (parent, name) = inner_path.rsplit_once('/').unwrap_or(("", inner_path));
        match name {
            "package.json" => Some(Self::Npm),
            "bower.json" | ".bower.json" => Some(Self::Bower),
            "METADATA" if parent.ends_with(".dist-info") => Some(Self::Python),
            "PKG-INFO" if parent.ends_with(".egg-info") => Some(Self::Python),
            _ if name.ends_with(".egg-info") => Some(Self::Python),
            _ if name.ends_with(".rockspec") => Some(Self::LuaRocks),
            _ => None,
        }
    }
}

/// What a manifest states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Package {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) license: Option<String>,
}

/// Reads a manifest; `None` when it is not one, is damaged, or names no released package.
pub(crate) fn parse(ecosystem: Ecosystem, data: &[u8]) -> Option<Package> {
    if data.len() > MAX_MANIFEST_BYTES {
        return None;
    }
    let text = std::str::from_utf8(data).ok()?;
    let package = match ecosystem {
        Ecosystem::Npm | Ecosystem::Bower => json_manifest(text)?,
        Ecosystem::Python => python_metadata(text)?,
        Ecosystem::LuaRocks => rockspec(text)?,
    };
    (plausible(&package.name, true) && plausible(&package.version, false)).then_some(package)
}

fn json_manifest(text: &str) -> Option<Package> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let object = value.as_object()?;
    if object.get("private").and_then(serde_json::Value::as_bool) == Some(true) {
        return None;
    }
    let name = object.get("name")?.as_str()?.trim().to_owned();
    let version = object.get("version")?.as_str()?.trim();
    let version = version.strip_prefix('v').unwrap_or(version).to_owned();
    let license = match object.get("license") {
        Some(serde_json::Value::String(text)) => Some(text.trim().to_owned()),
        Some(serde_json::Value::Object(old)) => old
            .get("type")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned),
        _ => None,
    }
    .filter(|text| !text.is_empty());
    Some(Package {
        name,
        version,
        license,
    })
}

/// Core metadata (PEP 241/314/566): RFC 822 headers up to the first blank line.
fn python_metadata(text: &str) -> Option<Package> {
    let mut name = None;
    let mut version = None;
    let mut license = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key {
            "Name" => name = Some(value.to_owned()),
            "Version" => version = Some(value.to_owned()),
            "License" if !value.is_empty() && value != "UNKNOWN" && value.len() <= 100 => {
                license = Some(value.to_owned());
            }
            "License-Expression" if !value.is_empty() => license = Some(value.to_owned()),
            _ => {}
        }
    }
    Some(Package {
        name: name?,
        version: version?,
        license,
    })
}

/// A rockspec is Lua; the two fields are plain assignments at the top level.
fn rockspec(text: &str) -> Option<Package> {
    let field = |key: &str| {
        text.lines().find_map(|line| {
            let rest = line.trim_start().strip_prefix(key)?.trim_start();
            let rest = rest.strip_prefix('=')?.trim();
            let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
            let inner = rest.get(1..)?;
            Some(inner.get(..inner.find(quote)?)?.to_owned())
        })
    };
    let name = field("package")?;
    let version = field("version")?;
    // `1.8.0-1`: the last part is the rockspec's own revision.
    let release = match version.rsplit_once('-') {
        Some((release, revision)) if revision.bytes().all(|b| b.is_ascii_digit()) => release,
        _ => version.as_str(),
    };
    Some(Package {
        name,
        version: release.to_owned(),
        license: None,
    })
}

/// A name or version as package managers allow them: no spaces, no control characters, no path
/// beyond an npm scope (`@scope/name`).
fn plausible(text: &str, is_name: bool) -> bool {
    let scoped = is_name && text.starts_with('@') && text.matches('/').count() == 1;
    !text.is_empty()
        && text.len() <= MAX_FIELD_CHARS
        && text
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || (scoped && c == '@'))
        && text.chars().all(|c| {
            c.is_ascii_alphanumeric() || "._-+~!".contains(c) || (scoped && (c == '/' || c == '@'))
        })
        && (is_name || text.chars().any(|c| c.is_ascii_digit()))
}

/// The purl of a package of `ecosystem` (without the version).
fn purl(ecosystem: Ecosystem, name: &str) -> String {
    match ecosystem {
        Ecosystem::Npm => format!("pkg:npm/{}", name.replace('@', "%40")),
        Ecosystem::Bower => format!("pkg:generic/{name}"),
        // PEP 503 normalisation, which the purl spec asks for.
        Ecosystem::Python => format!("pkg:pypi/{}", name.to_lowercase().replace(['_', '.'], "-")),
        Ecosystem::LuaRocks => format!("pkg:luarocks/{name}"),
    }
}

/// The finding a manifest gives. A product with a signature of its own (`jquery`) keeps that
/// signature's identity, so one product is one component whatever named it.
pub(crate) fn finding(
    catalog: Option<&Catalog>,
    ecosystem: Ecosystem,
    data: &[u8],
    location: &str,
) -> Option<Finding> {
    let package = parse(ecosystem, data)?;
    let lower = package.name.to_lowercase();
    let identity = catalog
        .and_then(|catalog| catalog.by_name(&lower))
        .map_or_else(
            || Identity {
                purl: Some(purl(ecosystem, &lower)),
                name: lower.clone(),
                kind: ComponentKind::Library,
                cpe_vendor: None,
                cpe_product: None,
                upstream: Upstream::default(),
            },
            Identity::of,
        );
    Some(Finding {
        identity,
        license: package.license,
        occurrence: Occurrence {
            location: location.to_owned(),
            offset: None,
            matched: Some(format!("{} {}", package.name, package.version)),
            method: Method::ManifestAnalysis,
            confidence: Confidence::High,
            states: Some(package.version.clone()),
            count: None,
        },
        version: Some(package.version),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_files_are_manifests() {
        let cases = [
            (
                "/www/js/node_modules/jquery/package.json",
                Some(Ecosystem::Npm),
            ),
            (
                "/www/bower_components/jquery/.bower.json",
                Some(Ecosystem::Bower),
            ),
            (
                "/usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA",
                Some(Ecosystem::Python),
            ),
            (
                "/usr/lib/python3/dist-packages/six-1.16.0.egg-info",
                Some(Ecosystem::Python),
            ),
            (
                "/usr/lib/python2.7/site-packages/foo.egg-info/PKG-INFO",
                Some(Ecosystem::Python),
            ),
            (
                "/usr/lib/luarocks/rocks-5.1/luasocket/3.0rc1-2/luasocket-3.0rc1-2.rockspec",
                Some(Ecosystem::LuaRocks),
            ),
            ("/etc/METADATA", None),
            ("/www/package.json.bak", None),
        ];
        for (path, expect) in cases {
            assert_eq!(Ecosystem::of(path), expect, "{path}");
        }
    }

    /// The `package.json` npm 1.x-era jQuery and today's express ship.
    #[test]
    fn npm_and_bower_manifests() {
        let jquery =
            br#"{"name": "jquery", "title": "jQuery", "version": "1.11.3", "license": "MIT",
            "main": "dist/jquery.js"}"#;
        assert_eq!(
            parse(Ecosystem::Npm, jquery),
            Some(Package {
                name: "jquery".into(),
                version: "1.11.3".into(),
                license: Some("MIT".into())
            })
        );
        let old = br#"{"name": "bootstrap", "version": "v3.3.7", "license": {"type": "MIT", "url": "x"}}"#;
        let package = parse(Ecosystem::Bower, old).unwrap();
        assert_eq!(
            (package.version.as_str(), package.license.as_deref()),
            ("3.3.7", Some("MIT"))
        );
        let scoped = br#"{"name": "@angular/core", "version": "15.2.9"}"#;
        assert_eq!(
            purl(Ecosystem::Npm, &parse(Ecosystem::Npm, scoped).unwrap().name),
            "pkg:npm/%40angular/core"
        );
        // The device's own web application is not a dependency of itself.
        assert_eq!(
            parse(
                Ecosystem::Npm,
                br#"{"name": "router-ui", "version": "1.0.0", "private": true}"#
            ),
            None
        );
        assert_eq!(
            parse(Ecosystem::Npm, br#"{"name": "x y", "version": "1.0.0"}"#),
            None
        );
        assert_eq!(
            parse(
                Ecosystem::Npm,
                br#"{"name": "../../etc", "version": "1.0.0"}"#
            ),
            None
        );
        assert_eq!(
            parse(Ecosystem::Npm, br#"{"name": "x", "version": "latest"}"#),
            None
        );
        assert_eq!(parse(Ecosystem::Npm, br#"["name", "version"]"#), None);
        assert_eq!(parse(Ecosystem::Npm, b"\xff\xfe{"), None);
    }

    #[test]
    fn python_metadata_and_rockspecs() {
        let metadata = b"Metadata-Version: 2.1\nName: requests\nVersion: 2.28.1\nSummary: Python HTTP for Humans.\nLicense: Apache 2.0\n\nLicense: not a header\n";
        assert_eq!(
            parse(Ecosystem::Python, metadata),
            Some(Package {
                name: "requests".into(),
                version: "2.28.1".into(),
                license: Some("Apache 2.0".into())
            })
        );
        assert_eq!(purl(Ecosystem::Python, "Jinja2"), "pkg:pypi/jinja2");
        assert_eq!(
            purl(Ecosystem::Python, "zope.interface"),
            "pkg:pypi/zope-interface"
        );
        let rockspec = b"package = \"luasocket\"\nversion = \"3.0rc1-2\"\nsource = {\n  url = \"git://github.com/diegonehab/luasocket.git\",\n}\n";
        let package = parse(Ecosystem::LuaRocks, rockspec).unwrap();
        assert_eq!(
            (package.name.as_str(), package.version.as_str()),
            ("luasocket", "3.0rc1")
        );
        assert_eq!(parse(Ecosystem::LuaRocks, b"package = luasocket\n"), None);
    }

    #[test]
    fn oversized_manifests_are_not_read() {
        let mut big = br#"{"name": "x", "version": "1.0.0", "pad": ""#.to_vec();
        big.extend(std::iter::repeat_n(b'a', MAX_MANIFEST_BYTES));
        big.extend_from_slice(b"\"}");
        assert_eq!(parse(Ecosystem::Npm, &big), None);
    }
}
