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
//!   the upstream release;
//! - Maven `META-INF/maven/<groupId>/<artifactId>/pom.properties`, which Maven writes into every JAR
//!   it builds (firmware's Java: gateways, NAS, set-top boxes; `log4j-core`): `groupId`,
//!   `artifactId` and `version`, named by the artifact with the purl `pkg:maven/<group>/<artifact>`
//!   that OSV's Maven records are matched on;
//! - Composer's `vendor/composer/installed.json` (PHP web interfaces and applications: every
//!   package Composer installed, in its 1.x list or 2.x `packages` form): `name`
//!   (`vendor/package`), `version` and `license`, with the purl `pkg:composer/<vendor>/<package>`;
//!   a branch (`dev-main`, `1.x-dev`) is not a release and is left out.
//!
//! # Evidence
//!
//! `manifest-analysis`, high confidence: the package manager wrote the name and release.
//!
//! # Limits
//!
//! Files larger than [`MAX_MANIFEST_BYTES`] are not read; names and versions must look like names
//! and versions (no spaces, no path separators beyond an npm scope, at most 128 characters). A JAR
//! that Maven did not build (no `pom.properties`) is not named: its `MANIFEST.MF` titles are free
//! text, not package names.

use consign_model::{ComponentKind, Confidence, Method, Occurrence, Upstream};

use crate::Identity;
use crate::scan::Finding;
use crate::signature::Catalog;

/// Largest manifest read. Real ones are a few KiB; a Python `METADATA` carries the whole README.
pub(crate) const MAX_MANIFEST_BYTES: usize = 1 << 20;
/// Largest Composer `installed.json` read: it holds every installed package's description and
/// autoload rules, a few MiB for a large application.
const MAX_COMPOSER_BYTES: usize = 16 << 20;
/// Longest name or version accepted.
const MAX_FIELD_CHARS: usize = 128;

/// The package managers whose manifests are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ecosystem {
    Npm,
    Bower,
    Python,
    LuaRocks,
    Maven,
    Composer,
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
            "pom.properties" if is_maven_folder(parent) => Some(Self::Maven),
            "installed.json"
                if parent == "vendor/composer" || parent.ends_with("/vendor/composer") =>
            {
                Some(Self::Composer)
            }
            _ => None,
        }
    }
}

/// `…/META-INF/maven/<groupId>/<artifactId>`, where Maven puts a JAR's `pom.properties`.
fn is_maven_folder(parent: &str) -> bool {
    let Some((before, coordinates)) = parent.rsplit_once("META-INF/maven/") else {
        return false;
    };
    (before.is_empty() || before.ends_with('/'))
        && coordinates
            .split_once('/')
            .is_some_and(|(group, artifact)| {
                !group.is_empty() && !artifact.is_empty() && !artifact.contains('/')
            })
}

/// What a manifest states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Package {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) license: Option<String>,
    /// The Maven `groupId` or the Composer vendor; `None` in the other ecosystems.
    pub(crate) group: Option<String>,
}

/// Reads a manifest: the released packages it names (one, except Composer's list), none when it
/// is not one or is damaged.
pub(crate) fn parse(ecosystem: Ecosystem, data: &[u8]) -> Vec<Package> {
    let limit = if ecosystem == Ecosystem::Composer {
        MAX_COMPOSER_BYTES
    } else {
        MAX_MANIFEST_BYTES
    };
    if data.len() > limit {
        return Vec::new();
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return Vec::new();
    };
    let packages = match ecosystem {
        Ecosystem::Npm | Ecosystem::Bower => json_manifest(text).into_iter().collect(),
        Ecosystem::Python => python_metadata(text).into_iter().collect(),
        Ecosystem::LuaRocks => rockspec(text).into_iter().collect(),
        Ecosystem::Maven => pom_properties(text).into_iter().collect(),
        Ecosystem::Composer => composer_installed(text),
    };
    packages
        .into_iter()
        .filter(|package| {
            plausible(&package.name, true)
                && plausible(&package.version, false)
                && package
                    .group
                    .as_deref()
                    .is_none_or(|group| plausible(group, true))
        })
        .collect()
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
        group: None,
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
        group: None,
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
        group: None,
    })
}

/// A Java properties file as Maven writes it: `key=value` lines after `#` comments. Only the
/// three coordinates are read; a value with an escape or a continuation is not one Maven writes
/// for them, and is refused by [`plausible`].
fn pom_properties(text: &str) -> Option<Package> {
    let mut group = None;
    let mut artifact = None;
    let mut version = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let Some((key, value)) = line.split_once(['=', ':']) else {
            continue;
        };
        let value = value.trim().to_owned();
        match key.trim() {
            "groupId" => group = Some(value),
            "artifactId" => artifact = Some(value),
            "version" => version = Some(value),
            _ => {}
        }
    }
    Some(Package {
        name: artifact?,
        version: version?,
        license: None,
        group: Some(group?),
    })
}

/// Composer's `installed.json`: a list of packages (Composer 1) or `{"packages": [...]}` (2).
fn composer_installed(text: &str) -> Vec<Package> {
    // Only the fields read; serde skips the rest (descriptions, autoload rules) without building
    // them. A package without a name or version (a path repository's) is left out, not the file.
    #[derive(serde::Deserialize)]
    struct Installed {
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        version: Option<String>,
        #[serde(default)]
        license: Option<Licence>,
    }
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Licence {
        One(String),
        Any(Vec<String>),
    }
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum File {
        Composer2 { packages: Vec<Installed> },
        Composer1(Vec<Installed>),
    }
    let Ok(File::Composer2 { packages } | File::Composer1(packages)) = serde_json::from_str(text)
    else {
        return Vec::new();
    };
    packages
        .into_iter()
        .filter_map(|installed| {
            let full_name = installed.name?;
            let (vendor, name) = full_name.trim().split_once('/')?;
            let full_version = installed.version?;
            let version = full_version.trim();
            // A branch checked out, not a release: `dev-main`, `2.x-dev`.
            if version.starts_with("dev-") || version.ends_with("-dev") {
                return None;
            }
            let version = version.strip_prefix('v').unwrap_or(version);
            Some(Package {
                name: name.to_owned(),
                version: version.to_owned(),
                // An array is a choice of licences (Composer's documentation: "or").
                license: match installed.license {
                    Some(Licence::One(one)) => Some(one),
                    Some(Licence::Any(any)) if !any.is_empty() => Some(any.join(" OR ")),
                    _ => None,
                },
                group: Some(vendor.to_owned()),
            })
        })
        .collect()
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
fn purl(ecosystem: Ecosystem, package: &Package) -> String {
    let lower = || package.name.to_lowercase();
    match ecosystem {
        Ecosystem::Npm => format!("pkg:npm/{}", lower().replace('@', "%40")),
        Ecosystem::Bower => format!("pkg:generic/{}", lower()),
        // PEP 503 normalisation, which the purl spec asks for.
        Ecosystem::Python => format!("pkg:pypi/{}", lower().replace(['_', '.'], "-")),
        Ecosystem::LuaRocks => format!("pkg:luarocks/{}", lower()),
        Ecosystem::Composer => format!(
            "pkg:composer/{}/{}",
            package.group.as_deref().unwrap_or_default().to_lowercase(),
            lower()
        ),
        // Maven coordinates are case-sensitive: kept as written.
        Ecosystem::Maven => format!(
            "pkg:maven/{}/{}",
            package.group.as_deref().unwrap_or_default(),
            package.name
        ),
    }
}

/// The findings a manifest gives. A product with a signature of its own (`jquery`) keeps that
/// signature's identity, so one product is one component whatever named it.
pub(crate) fn findings(
    catalog: Option<&Catalog>,
    ecosystem: Ecosystem,
    data: &[u8],
    location: &str,
) -> Vec<Finding> {
    parse(ecosystem, data)
        .into_iter()
        .map(|package| {
            // Composer's packages are known by vendor and name together (`symfony/console`),
            // and no signature is named so.
            let (written, signature) = match (ecosystem, &package.group) {
                (Ecosystem::Composer, Some(vendor)) => (format!("{vendor}/{}", package.name), None),
                _ => (
                    package.name.clone(),
                    catalog.and_then(|catalog| catalog.by_name(&package.name.to_lowercase())),
                ),
            };
            let lower = written.to_lowercase();
            let identity = signature.map_or_else(
                || Identity {
                    purl: Some(purl(ecosystem, &package)),
                    name: lower.clone(),
                    kind: ComponentKind::Library,
                    cpe_vendor: None,
                    cpe_product: None,
                    upstream: Upstream::default(),
                },
                Identity::of,
            );
            Finding {
                identity,
                license: package.license,
                occurrence: Occurrence {
                    location: location.to_owned(),
                    offset: None,
                    matched: Some(format!("{written} {}", package.version)),
                    method: Method::ManifestAnalysis,
                    confidence: Confidence::High,
                    states: Some(package.version.clone()),
                    count: None,
                },
                version: Some(package.version),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one package a manifest names (every ecosystem but Composer's names one at most).
    fn parse(ecosystem: Ecosystem, data: &[u8]) -> Option<Package> {
        let mut packages = super::parse(ecosystem, data);
        assert!(packages.len() <= 1, "{packages:?}");
        packages.pop()
    }

    #[test]
    fn composer_lists_every_installed_package() {
        // Composer 2's form, cut from a real application's vendor/composer/installed.json.
        let composer2 = br#"{
    "packages": [
        {
            "name": "phpmailer/phpmailer",
            "version": "v6.8.0",
            "version_normalized": "6.8.0.0",
            "source": {"type": "git", "url": "https://github.com/PHPMailer/PHPMailer.git", "reference": "df16b615e371d81fb79e506277faea67a1be18f1"},
            "require": {"ext-ctype": "*", "php": ">=5.5.0"},
            "type": "library",
            "license": ["LGPL-2.1-only"],
            "description": "PHPMailer is a full-featured email creation and transfer class for PHP"
        },
        {"name": "symfony/console", "version": "v5.4.21", "license": ["MIT"]},
        {"name": "guzzlehttp/guzzle", "version": "7.5.0", "license": ["MIT"]},
        {"name": "acme/tools", "version": "dev-main", "license": []},
        {"name": "acme/next", "version": "2.x-dev"},
        {"name": "noslash", "version": "1.0.0"},
        {"name": "acme/path-repository", "dist": {"type": "path"}},
        {"name": "acme/one-licence", "version": "3.1.0", "license": "BSD-3-Clause"}
    ],
    "dev": true,
    "dev-package-names": []
}"#;
        let packages = super::parse(Ecosystem::Composer, composer2);
        let got: Vec<(String, String, Option<String>, Option<String>)> = packages
            .iter()
            .map(|p| {
                (
                    p.group.clone().unwrap(),
                    p.name.clone(),
                    Some(p.version.clone()),
                    p.license.clone(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "phpmailer".into(),
                    "phpmailer".into(),
                    Some("6.8.0".into()),
                    Some("LGPL-2.1-only".into())
                ),
                (
                    "symfony".into(),
                    "console".into(),
                    Some("5.4.21".into()),
                    Some("MIT".into())
                ),
                (
                    "guzzlehttp".into(),
                    "guzzle".into(),
                    Some("7.5.0".into()),
                    Some("MIT".into())
                ),
                (
                    "acme".into(),
                    "one-licence".into(),
                    Some("3.1.0".into()),
                    Some("BSD-3-Clause".into())
                ),
            ]
        );
        assert_eq!(
            purl(Ecosystem::Composer, &packages[1]),
            "pkg:composer/symfony/console"
        );
        // Composer 1 wrote the list alone.
        let composer1 =
            br#"[{"name": "monolog/monolog", "version": "1.25.1", "license": ["MIT"]}]"#;
        assert_eq!(super::parse(Ecosystem::Composer, composer1).len(), 1);
        for junk in [
            &b"{}"[..],
            b"[]",
            b"{\"packages\": 3}",
            b"not json",
            b"[{\"name\": 1}]",
        ] {
            assert!(super::parse(Ecosystem::Composer, junk).is_empty());
        }
        let findings = findings(
            None,
            Ecosystem::Composer,
            composer2,
            "www/vendor/composer/installed.json",
        );
        let names: Vec<&str> = findings.iter().map(|f| f.identity.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "phpmailer/phpmailer",
                "symfony/console",
                "guzzlehttp/guzzle",
                "acme/one-licence"
            ]
        );
        assert_eq!(
            findings[1].identity.purl.as_deref(),
            Some("pkg:composer/symfony/console")
        );
        assert_eq!(
            Ecosystem::of("www/nextcloud/3rdparty/vendor/composer/installed.json"),
            Some(Ecosystem::Composer)
        );
        assert_eq!(
            Ecosystem::of("vendor/composer/installed.json"),
            Some(Ecosystem::Composer)
        );
        assert_eq!(Ecosystem::of("www/composer/installed.json"), None);
        assert_eq!(Ecosystem::of("etc/installed.json"), None);
    }

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
            (
                "META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties",
                Some(Ecosystem::Maven),
            ),
            (
                "BOOT-INF/lib/app.jar/zip@0x0/META-INF/maven/com.example/app/pom.properties",
                Some(Ecosystem::Maven),
            ),
            ("/etc/METADATA", None),
            ("/www/package.json.bak", None),
            ("/opt/app/pom.properties", None),
            ("META-INF/maven/org.example/pom.properties", None),
            ("META-INF/maven/g/a/extra/pom.properties", None),
            ("NOT-META-INF/maven/g/a/pom.properties", None),
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
                license: Some("MIT".into()),
                group: None,
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
            purl(Ecosystem::Npm, &parse(Ecosystem::Npm, scoped).unwrap()),
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
                license: Some("Apache 2.0".into()),
                group: None,
            })
        );
        let python = |name: &str| Package {
            name: name.into(),
            version: "1".into(),
            license: None,
            group: None,
        };
        assert_eq!(
            purl(Ecosystem::Python, &python("Jinja2")),
            "pkg:pypi/jinja2"
        );
        assert_eq!(
            purl(Ecosystem::Python, &python("zope.interface")),
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

    /// The whole `pom.properties` of Debian bookworm's `liblog4j2-java` 2.19.0-2
    /// (`/usr/share/java/log4j-core.jar`), and the header Maven itself writes.
    #[test]
    fn maven_pom_properties() {
        let debian = b"artifactId=log4j-core\ngroupId=org.apache.logging.log4j\nversion=2.19.0\n";
        let package = parse(Ecosystem::Maven, debian).unwrap();
        assert_eq!(
            package,
            Package {
                name: "log4j-core".into(),
                version: "2.19.0".into(),
                license: None,
                group: Some("org.apache.logging.log4j".into()),
            }
        );
        assert_eq!(
            purl(Ecosystem::Maven, &package),
            "pkg:maven/org.apache.logging.log4j/log4j-core"
        );
        let maven = b"#Generated by Maven\r\n#Tue Mar 01 10:00:00 UTC 2022\r\nversion=1.2.3\r\ngroupId=com.Example\r\nartifactId=Widget\r\n";
        let package = parse(Ecosystem::Maven, maven).unwrap();
        assert_eq!(
            purl(Ecosystem::Maven, &package),
            "pkg:maven/com.Example/Widget",
            "Maven coordinates keep their case"
        );
        // An unresolved property, a missing coordinate, a group with a space: not a package.
        for bad in [
            &b"groupId=g\nartifactId=a\nversion=${project.version}\n"[..],
            b"groupId=g\nartifactId=a\n",
            b"artifactId=a\nversion=1.0\n",
            b"groupId=org example\nartifactId=a\nversion=1.0\n",
        ] {
            assert_eq!(
                parse(Ecosystem::Maven, bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn oversized_manifests_are_not_read() {
        let mut big = br#"{"name": "x", "version": "1.0.0", "pad": ""#.to_vec();
        big.extend(std::iter::repeat_n(b'a', MAX_MANIFEST_BYTES));
        big.extend_from_slice(b"\"}");
        assert_eq!(parse(Ecosystem::Npm, &big), None);
    }
}
