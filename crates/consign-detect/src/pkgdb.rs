//! Package databases: dpkg `status` and `status.d/*`, opkg `status` and `*.control`, apk `installed`;
//! and the metadata of package files: the `control` file of a `.deb` or `.ipk` (inside its
//! `control.tar.*`) and the `.PKGINFO` of an Alpine `.apk` or Arch `.pkg.tar.*` (RPM package files:
//! `rpm.rs`).
//!
//! # What it detects
//!
//! Every installed package with its exact name and version, as the distribution recorded it, and
//! its licence where the database keeps one (opkg control files' `License`, apk's `L`), as written:
//! the SBOM writer decides whether it is an SPDX expression. A package file found in an image (an
//! update bundle, a package cache) is one package, named and versioned by its own metadata.
//!
//! # Evidence
//!
//! `manifest-analysis`, high confidence, pointing at the database file and the byte offset of the
//! package's stanza. Package names are mapped to upstream product names through the `packages` field
//! of the signature files (binary or source package name); a package no signature claims is reported
//! under its source (or binary) package name.
//!
//! # Limits
//!
//! RPM databases are read by `rpm.rs`, FreeBSD's by `freebsd.rs`. Packages whose dpkg `Status` is not
//! `install ok installed` are skipped. The Debian revision and epoch are removed from versions, and so
//! are the repack suffixes `+dfsg`, `+ds` and `+repack`, which are not part of the upstream release.

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Package {
    /// Binary package name.
    pub(crate) name: String,
    /// Source package name, when the database records one.
    pub(crate) source: Option<String>,
    /// The version as recorded (epoch and revision included).
    pub(crate) version: String,
    /// Byte offset of the stanza in the database file.
    pub(crate) offset: u64,
    /// The licence as the database records it (opkg `License`, apk `L`); dpkg records none.
    pub(crate) license: Option<String>,
    /// How `version` is written.
    pub(crate) versioning: Versioning,
}

/// How a package manager writes a version around the upstream release it packages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Versioning {
    /// `[EPOCH:]UPSTREAM[-REVISION]`: dpkg, opkg, apk, rpm and pacman.
    #[default]
    Revisioned,
    /// `UPSTREAM[_REVISION][,EPOCH]`: FreeBSD's ports and pkg (`PORTVERSION`, `PORTREVISION`,
    /// `PORTEPOCH`).
    Ports,
}

impl Versioning {
    /// The upstream release in a version written this way.
    pub(crate) fn upstream(self, version: &str) -> String {
        match self {
            Self::Revisioned => upstream_version(version),
            Self::Ports => {
                let numbered =
                    |tail: &str| !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit());
                let without_epoch = version
                    .rsplit_once(',')
                    .filter(|(_, epoch)| numbered(epoch))
                    .map_or(version, |(rest, _)| rest);
                without_epoch
                    .rsplit_once('_')
                    .filter(|(_, revision)| numbered(revision))
                    .map_or(without_epoch, |(upstream, _)| upstream)
                    .to_owned()
            }
        }
    }
}

/// The kind of package database a path names, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Database {
    /// Debian-style stanzas (dpkg status, opkg status, opkg control files).
    Deb822,
    /// Alpine `installed`: one-letter keys.
    Apk,
    /// The `.PKGINFO` of an Alpine or Arch package file: `key = value` lines.
    PkgInfo,
}

/// Says whether the file at `inner_path` (its logical path being `location`) is a package database
/// or package metadata this module reads.
pub(crate) fn database_kind(location: &str, inner_path: &str) -> Option<Database> {
    let path = inner_path.trim_start_matches('/');
    let in_package = path.trim_start_matches("./");
    // A `.deb` (an ar archive) and an `.ipk` (a tar or ar archive) keep their metadata in a
    // member named `control.tar.gz`, `.xz` or `.zst`, whose `control` is one stanza.
    if in_package == "control" && location.contains("/control.tar") {
        return Some(Database::Deb822);
    }
    if in_package == ".PKGINFO" {
        return Some(Database::PkgInfo);
    }
    if path.ends_with("var/lib/dpkg/status")
        || path.contains("var/lib/dpkg/status.d/")
        || path.ends_with("opkg/status")
        || (path.contains("/opkg/info/") && path.ends_with(".control"))
        || (path.contains("lib/opkg/") && path.ends_with(".control"))
    {
        Some(Database::Deb822)
    } else if path.ends_with("lib/apk/db/installed") {
        Some(Database::Apk)
    } else {
        None
    }
}

/// Reads the installed packages of a database. Damaged stanzas are skipped, never fatal.
pub(crate) fn parse(kind: Database, data: &[u8]) -> Vec<Package> {
    match kind {
        Database::Deb822 => parse_stanzas(kind, ("Package", "Version", "Source", "License"), data),
        Database::Apk => parse_stanzas(kind, ("P", "V", "o", "L"), data),
        Database::PkgInfo => parse_pkginfo(data).into_iter().collect(),
    }
}

/// The packages of a file of blank-line-separated stanzas whose name, version, source and
/// licence fields are `keys`.
fn parse_stanzas(kind: Database, keys: (&str, &str, &str, &str), data: &[u8]) -> Vec<Package> {
    let (name_key, version_key, source_key, license_key) = keys;
    let text = String::from_utf8_lossy(data);
    let mut packages = Vec::new();
    let mut offset = 0u64;
    for stanza in text.split("\n\n") {
        let stanza_offset = offset;
        offset += stanza.len() as u64 + 2;
        let mut name = None;
        let mut version = None;
        let mut source = None;
        let mut source_name: Option<String> = None;
        let mut license = None;
        let mut installed = true;
        for line in stanza.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if key == name_key {
                name = Some(value.to_owned());
            } else if key == version_key {
                version = Some(value.to_owned());
            } else if key == license_key && !value.is_empty() {
                license = Some(value.to_owned());
            } else if key == source_key && source_name.is_none() {
                // dpkg writes `Source: name (version)` when the versions differ; opkg control
                // files of OpenWrt write the build recipe's folder (`package/libs/libubox`),
                // whose last part is the source package.
                source = value
                    .split_whitespace()
                    .next()
                    .and_then(|word| word.rsplit('/').next())
                    .filter(|word| !word.is_empty())
                    .map(str::to_owned);
            } else if kind == Database::Deb822 && key == "SourceName" && !value.is_empty() {
                // OpenWrt's own field for the source package name; it wins over `Source`.
                source_name = Some(value.to_owned());
            } else if kind == Database::Deb822 && key == "Status" {
                installed = value.ends_with(" installed") || value == "installed";
            }
        }
        let source = source_name.or(source);
        if let (Some(name), Some(version), true) = (name, version, installed)
            && !name.is_empty()
            && !version.is_empty()
        {
            packages.push(Package {
                name,
                source,
                version,
                offset: stanza_offset,
                license,
                versioning: Versioning::Revisioned,
            });
        }
    }
    packages
}

/// The package a `.PKGINFO` describes: `pkgname`, `pkgver`, the source package as Alpine's `origin`
/// or Arch's `pkgbase`, and the first `license`.
fn parse_pkginfo(data: &[u8]) -> Option<Package> {
    let text = String::from_utf8_lossy(data);
    let (mut name, mut version, mut source, mut license) = (None, None, None, None);
    for line in text.lines() {
        let Some((key, value)) = line.split_once(" = ") else {
            continue;
        };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let slot = match key.trim() {
            "pkgname" => &mut name,
            "pkgver" => &mut version,
            "origin" | "pkgbase" => &mut source,
            "license" => &mut license,
            _ => continue,
        };
        slot.get_or_insert_with(|| value.to_owned());
    }
    Some(Package {
        name: name?,
        source,
        version: version?,
        offset: 0,
        license,
        versioning: Versioning::Revisioned,
    })
}

/// The upstream part of a Debian, opkg or apk version: no epoch, no revision, no repack suffix.
pub(crate) fn upstream_version(version: &str) -> String {
    let without_epoch = version.split_once(':').map_or(version, |(_, rest)| rest);
    let without_revision =
        without_epoch
            .rsplit_once('-')
            .map_or(without_epoch, |(upstream, revision)| {
                // apk revisions are `-rN`; dpkg revisions hold no dot-free word like `20221128`.
                if revision.is_empty() {
                    without_epoch
                } else {
                    upstream
                }
            });
    // `1.3.dfsg+really1.3.1`: Debian's way to go back to an older release; the part after
    // `really` is what is inside.
    let mut out = without_revision
        .rsplit_once("really")
        .map_or(without_revision, |(_, real)| real);
    for marker in ["+dfsg", ".dfsg", "+ds", "+repack", "~dfsg"] {
        if let Some(idx) = out.find(marker) {
            out = out.get(..idx).unwrap_or(out);
        }
    }
    out.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_status() {
        let text = b"Package: libc6\nStatus: install ok installed\nSource: glibc\nVersion: 2.36-9+deb12u14\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1.0-1\n\nPackage: busybox-static\nSource: busybox (1:1.35.0-4+deb12u1)\nVersion: 1:1.35.0-4+deb12u1+b1\n";
        let packages = parse(Database::Deb822, text);
        let got: Vec<(&str, Option<&str>, String)> = packages
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.source.as_deref(),
                    upstream_version(&p.version),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("libc6", Some("glibc"), "2.36".to_owned()),
                ("busybox-static", Some("busybox"), "1.35.0".to_owned())
            ]
        );
    }

    #[test]
    fn opkg_control_source() {
        let text = b"Package: libubox20230523\nVersion: 2023-05-23-75a3b870-1\nSource: package/libs/libubox\nSourceName: libubox\nLicense: ISC\nStatus: install hold installed\n\nPackage: miniupnpd-nftables\nVersion: 2.3.3-1\nSource: feeds/packages/net/miniupnpd\n";
        let packages = parse(Database::Deb822, text);
        let licenses: Vec<Option<&str>> = packages.iter().map(|p| p.license.as_deref()).collect();
        assert_eq!(licenses, [Some("ISC"), None]);
        let got: Vec<(String, Option<String>, String)> = packages
            .into_iter()
            .map(|p| (p.name, p.source, upstream_version(&p.version)))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "libubox20230523".to_owned(),
                    Some("libubox".to_owned()),
                    "2023-05-23-75a3b870".to_owned()
                ),
                (
                    "miniupnpd-nftables".to_owned(),
                    Some("miniupnpd".to_owned()),
                    "2.3.3".to_owned()
                )
            ]
        );
    }

    #[test]
    fn apk_installed() {
        let packages = parse(
            Database::Apk,
            b"C:Q1abc\nP:musl\nV:1.2.4-r2\nL:MIT\no:musl\n\nP:busybox\nV:1.36.1-r5\nL:GPL-2.0-only\n",
        );
        assert_eq!(packages.len(), 2);
        assert_eq!(packages[0].license.as_deref(), Some("MIT"));
        assert_eq!(packages[1].license.as_deref(), Some("GPL-2.0-only"));
        assert_eq!(upstream_version(&packages[0].version), "1.2.4");
    }

    #[test]
    fn package_file_metadata() {
        let deb = parse(
            Database::Deb822,
            b"Package: libcurl4\nSource: curl\nVersion: 7.88.1-10+deb12u15\nArchitecture: amd64\nDescription: easy-to-use client-side URL transfer library\n continued line: with a colon\n",
        );
        assert_eq!(deb.len(), 1);
        assert_eq!(deb[0].source.as_deref(), Some("curl"));
        let apk = parse(
            Database::PkgInfo,
            b"# Generated by abuild 3.12.0-r0\npkgname = libcurl\npkgver = 8.5.0-r0\npkgdesc = The multiprotocol file transfer library\nlicense = curl\norigin = curl\ndepend = so:libc.musl-x86_64.so.1\n",
        );
        assert_eq!(
            (
                apk[0].name.as_str(),
                apk[0].source.as_deref(),
                upstream_version(&apk[0].version)
            ),
            ("libcurl", Some("curl"), "8.5.0".to_owned())
        );
        assert_eq!(apk[0].license.as_deref(), Some("curl"));
        let arch = parse(
            Database::PkgInfo,
            b"pkgname = openssl\npkgbase = openssl\npkgver = 1:3.2.1-1\nlicense = Apache-2.0\n",
        );
        assert_eq!(upstream_version(&arch[0].version), "3.2.1");
        assert!(parse(Database::PkgInfo, b"pkgname = x\n").is_empty());
        assert!(parse(Database::PkgInfo, b"\xff\xfe = \x00").is_empty());
    }

    #[test]
    fn versions() {
        assert_eq!(upstream_version("1:1.2.13.dfsg-1"), "1.2.13");
        assert_eq!(upstream_version("1.5.4+dfsg2-5"), "1.5.4");
        assert_eq!(upstream_version("30+20221128-1"), "30+20221128");
        assert_eq!(upstream_version("1:1.3.dfsg+really1.3.1-1"), "1.3.1");
        assert_eq!(upstream_version("5.0.10+really4.7.0~dfsg-4.1"), "4.7.0");
        assert_eq!(upstream_version("2022.83"), "2022.83");
    }

    #[test]
    fn database_paths() {
        let image = |path: &str| database_kind(&format!("fw.bin/squashfs@0x0{path}"), path);
        assert_eq!(image("/var/lib/dpkg/status"), Some(Database::Deb822));
        assert_eq!(image("/usr/lib/opkg/status"), Some(Database::Deb822));
        assert_eq!(
            image("/usr/lib/opkg/info/busybox.control"),
            Some(Database::Deb822)
        );
        assert_eq!(image("/lib/apk/db/installed"), Some(Database::Apk));
        assert_eq!(image("/etc/status"), None);
        // Package files' metadata: the logical path says which member of the package it is in.
        assert_eq!(
            database_kind(
                "curl_7.88.1-10_amd64.deb/ar@0x0/control.tar.xz/xz@0x0/decompressed/tar@0x0/./control",
                "./control"
            ),
            Some(Database::Deb822)
        );
        assert_eq!(
            database_kind(
                "fw.bin/squashfs@0x0/etc/init.d/control",
                "/etc/init.d/control"
            ),
            None
        );
        assert_eq!(
            database_kind(
                "data.tar.gz/gzip@0x0/decompressed/tar@0x0/control",
                "control"
            ),
            None
        );
        assert_eq!(
            database_kind(
                "curl-8.5.0-r0.apk/gzip@0x1f0/decompressed/tar@0x0/.PKGINFO",
                ".PKGINFO"
            ),
            Some(Database::PkgInfo)
        );
    }
}
