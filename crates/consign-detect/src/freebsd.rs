//! FreeBSD's packages: the database of pkg (`/var/db/pkg/local.sqlite`), the manifest inside every
//! package file (`+COMPACT_MANIFEST` and `+MANIFEST` in a `.pkg` or `.txz`), and the per-package
//! `+CONTENTS` of the older `pkg_install` (FreeBSD before 10: `/var/db/pkg/<name>-<version>/`).
//! Firewalls, NAS and other appliances built on FreeBSD (`pfSense`, `OPNsense`, `TrueNAS` CORE)
//! keep their software this way.
//!
//! # What it detects
//!
//! Every package with its name and version as pkg records it (`PORTVERSION[_PORTREVISION][,PORTEPOCH]`,
//! of which [`Versioning::Ports`] keeps the release), its port origin (`category/port`, whose last
//! part is the source package that `packages` fields of signatures are matched against) and its
//! licences, joined by the package's licence logic (`single`, `or`/`dual`, `and`/`multi`). Licence
//! names of the ports tree that have an SPDX identifier are written as it (`BSD2CLAUSE` is
//! `BSD-2-Clause`, `GPLv2+` is `GPL-2.0-or-later`); any other is kept as written.
//!
//! # Evidence
//!
//! `manifest-analysis`, high confidence, at the byte offset of the package's row in the database
//! (0 for a manifest).
//!
//! # Limits
//!
//! The database is read through [`crate::sqlite`]: rows only in a write-ahead log beside it are
//! not seen. Manifests in UCL syntax that is not JSON (pkg writes JSON) are not read.

use std::collections::HashMap;

use serde::Deserialize;

use crate::Damaged;
use crate::pkgdb::{Package, Versioning};
use crate::sqlite::{self, Value};

/// Says whether `inner_path` is pkg's database of installed packages.
pub(crate) fn is_database_path(inner_path: &str) -> bool {
    inner_path.trim_start_matches('/') == "var/db/pkg/local.sqlite"
        || inner_path.ends_with("/var/db/pkg/local.sqlite")
}

/// The installed packages of pkg's database, each at the byte offset of its row. A damaged
/// database gives the packages before the damage and what was wrong; a damaged licence table
/// gives every package, without licences, and what was wrong.
pub(crate) fn database_packages(data: &[u8]) -> (Vec<Package>, Option<Damaged>) {
    let mut packages = Vec::new();
    let damaged = read_database(data, &mut packages).err();
    (packages, damaged)
}

fn read_database(data: &[u8], packages: &mut Vec<Package>) -> Result<(), Damaged> {
    let database = sqlite::Database::open(data)?;
    let no_table = |what: &str| Damaged {
        offset: 0,
        message: format!("pkg database has no {what}"),
    };
    let table = database
        .table("packages")?
        .ok_or_else(|| no_table("`packages` table"))?;
    let (Some(name), Some(version)) = (table.column("name"), table.column("version")) else {
        return Err(no_table(
            "`name` and `version` columns in its `packages` table",
        ));
    };
    let origin = table.column("origin");
    let logic = table.column("licenselogic");
    let mut rowids = Vec::new();
    database.rows(table.root, &mut |row| {
        let text = |column: Option<usize>| match column.and_then(|at| row.values.get(at)) {
            Some(Value::Text(text)) if !text.is_empty() => {
                Some(String::from_utf8_lossy(text).into_owned())
            }
            _ => None,
        };
        let (Some(name), Some(version)) = (text(Some(name)), text(Some(version))) else {
            return;
        };
        let logic = match logic.and_then(|at| row.values.get(at)) {
            Some(Value::Integer(code)) => Logic::from_code(*code),
            _ => Logic::Single,
        };
        rowids.push((row.rowid, logic));
        packages.push(Package {
            name,
            source: text(origin).as_deref().and_then(port_name),
            version,
            offset: row.offset,
            license: None,
            versioning: Versioning::Ports,
        });
    })?;
    let licences = package_licences(&database)?;
    for (package, (rowid, logic)) in packages.iter_mut().zip(rowids) {
        if let Some(names) = licences.get(&rowid) {
            package.license = logic.join(names);
        }
    }
    Ok(())
}

/// The licence names of each package (by its rowid), from the `licenses` and `pkg_licenses`
/// tables; none when the database has no such tables.
fn package_licences(database: &sqlite::Database<'_>) -> Result<HashMap<i64, Vec<String>>, Damaged> {
    let mut by_package: HashMap<i64, Vec<String>> = HashMap::new();
    let (Some(licenses), Some(links)) =
        (database.table("licenses")?, database.table("pkg_licenses")?)
    else {
        return Ok(by_package);
    };
    let Some(name) = licenses.column("name") else {
        return Ok(by_package);
    };
    let mut names = HashMap::new();
    database.rows(licenses.root, &mut |row| {
        if let Some(Value::Text(text)) = row.values.get(name) {
            names.insert(row.rowid, String::from_utf8_lossy(text).into_owned());
        }
    })?;
    let (Some(package), Some(license)) = (links.column("package_id"), links.column("license_id"))
    else {
        return Ok(by_package);
    };
    database.rows(links.root, &mut |row| {
        if let (Some(Value::Integer(package)), Some(Value::Integer(license))) =
            (row.values.get(package), row.values.get(license))
            && let Some(name) = names.get(license)
        {
            by_package.entry(*package).or_default().push(name.clone());
        }
    })?;
    Ok(by_package)
}

/// The package a package file's manifest (`+COMPACT_MANIFEST`, `+MANIFEST`) or `pkg_install`'s
/// `+CONTENTS` describes, if `file_name` is one of them and it names a package.
pub(crate) fn package_file(file_name: &str, data: &[u8]) -> Option<Package> {
    match file_name {
        "+COMPACT_MANIFEST" | "+MANIFEST" => manifest(data),
        "+CONTENTS" => contents(data),
        _ => None,
    }
}

/// The fields of a manifest this module reads; serde skips the others (the file list of a
/// `+MANIFEST` among them) without building them.
#[derive(Deserialize)]
struct Manifest {
    name: Scalar,
    version: Scalar,
    origin: Option<String>,
    licenselogic: Option<String>,
    #[serde(default)]
    licenses: Vec<String>,
}

/// pkg accepts a number where a name or a version belongs (`"version": 20230101`).
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Number(serde_json::Number),
}

impl Scalar {
    fn into_text(self) -> String {
        match self {
            Self::Text(text) => text,
            Self::Number(number) => number.to_string(),
        }
    }
}

fn manifest(data: &[u8]) -> Option<Package> {
    let manifest: Manifest = serde_json::from_slice(data).ok()?;
    let (name, version) = (manifest.name.into_text(), manifest.version.into_text());
    if name.trim().is_empty() || version.trim().is_empty() {
        return None;
    }
    let logic = match manifest.licenselogic.as_deref() {
        Some("or" | "dual") => Logic::Or,
        Some("and" | "multi") => Logic::And,
        _ => Logic::Single,
    };
    Some(Package {
        name,
        source: manifest.origin.as_deref().and_then(port_name),
        version,
        offset: 0,
        license: logic.join(&manifest.licenses),
        versioning: Versioning::Ports,
    })
}

/// The packing list of `pkg_install`: `@name NAME-VERSION` and `@comment ORIGIN:category/port`.
fn contents(data: &[u8]) -> Option<Package> {
    let text = String::from_utf8_lossy(data);
    let mut name_version = None;
    let mut origin = None;
    for line in text.lines() {
        if let Some(value) = line.strip_prefix("@name ") {
            name_version.get_or_insert(value.trim());
        } else if let Some(value) = line.strip_prefix("@comment ORIGIN:") {
            origin.get_or_insert(value.trim());
        }
    }
    // The version is what follows the last `-`: package names hold dashes, versions do not.
    let (name, version) = name_version?.rsplit_once('-')?;
    (!name.is_empty() && !version.is_empty()).then(|| Package {
        name: name.to_owned(),
        source: origin.and_then(port_name),
        version: version.to_owned(),
        offset: 0,
        license: None,
        versioning: Versioning::Ports,
    })
}

/// The port's own name in an origin (`ftp/curl`, or `www/py-requests@py311` with a flavour).
fn port_name(origin: &str) -> Option<String> {
    let port = origin.rsplit('/').next()?;
    let port = port.split_once('@').map_or(port, |(port, _flavour)| port);
    (!port.is_empty()).then(|| port.to_owned())
}

/// How a package's licences combine (pkg's `lic_t`: `'|'`, `'&'`, or 1 for a single licence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Logic {
    Single,
    Or,
    And,
}

impl Logic {
    fn from_code(code: i64) -> Self {
        match code {
            0x7c => Self::Or,
            0x26 => Self::And,
            _ => Self::Single,
        }
    }

    /// The licences as one expression; several under `single` are all of them.
    fn join(self, names: &[String]) -> Option<String> {
        let names: Vec<&str> = names
            .iter()
            .map(|name| name.trim())
            .filter(|name| !name.is_empty())
            .map(spdx_identifier)
            .collect();
        if names.is_empty() {
            return None;
        }
        let operator = if self == Self::Or { " OR " } else { " AND " };
        Some(names.join(operator))
    }
}

/// The SPDX identifier of a licence name of the ports tree (`Mk/bsd.licenses.db.mk`), or the name.
fn spdx_identifier(name: &str) -> &str {
    match name {
        "AGPLv3" => "AGPL-3.0-only",
        "AGPLv3+" => "AGPL-3.0-or-later",
        "APACHE10" => "Apache-1.0",
        "APACHE11" => "Apache-1.1",
        "APACHE20" => "Apache-2.0",
        "ART10" => "Artistic-1.0",
        "ART20" => "Artistic-2.0",
        "ARTPERL10" => "Artistic-1.0-Perl",
        "BSD0CLAUSE" => "0BSD",
        "BSD2CLAUSE" => "BSD-2-Clause",
        "BSD3CLAUSE" => "BSD-3-Clause",
        "BSD4CLAUSE" => "BSD-4-Clause",
        "BSL" => "BSL-1.0",
        "CDDL" => "CDDL-1.0",
        "EPL" => "EPL-1.0",
        "GPLv1" => "GPL-1.0-only",
        "GPLv1+" => "GPL-1.0-or-later",
        "GPLv2" => "GPL-2.0-only",
        "GPLv2+" => "GPL-2.0-or-later",
        "GPLv3" => "GPL-3.0-only",
        "GPLv3+" => "GPL-3.0-or-later",
        "ISCL" => "ISC",
        "LGPL20" => "LGPL-2.0-only",
        "LGPL20+" => "LGPL-2.0-or-later",
        "LGPL21" => "LGPL-2.1-only",
        "LGPL21+" => "LGPL-2.1-or-later",
        "LGPL3" => "LGPL-3.0-only",
        "LGPL3+" => "LGPL-3.0-or-later",
        "MPL10" => "MPL-1.0",
        "MPL11" => "MPL-1.1",
        "MPL20" => "MPL-2.0",
        "OFL10" => "OFL-1.0",
        "OFL11" => "OFL-1.1",
        "PHP30" => "PHP-3.0",
        "PHP301" => "PHP-3.01",
        "PSFL" => "PSF-2.0",
        "RUBY" => "Ruby",
        "UNLICENSE" => "Unlicense",
        "ZLIB" => "Zlib",
        "ZPL21" => "ZPL-2.1",
        // Same in both: MIT, NCSA, OpenSSL, PostgreSQL, WTFPL, ClArtistic, CC0-1.0, CC-BY-*.
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_versions() {
        let upstream = |version: &str| Versioning::Ports.upstream(version);
        assert_eq!(upstream("8.4.0"), "8.4.0");
        assert_eq!(upstream("8.4.0_1"), "8.4.0");
        assert_eq!(upstream("3.0.12_2,1"), "3.0.12");
        assert_eq!(upstream("1.2,1"), "1.2");
        // Only a number after `_` or `,` is a revision or an epoch.
        assert_eq!(upstream("2.4.0_beta"), "2.4.0_beta");
        assert_eq!(upstream("0.9.8_"), "0.9.8_");
    }

    #[test]
    fn manifests_name_their_package() {
        let compact = br#"{"name":"curl","origin":"ftp/curl","version":"8.4.0_1","comment":"Command line tool and library for transferring data with URLs","maintainer":"sunpoet@FreeBSD.org","www":"https://curl.se/","abi":"FreeBSD:14:amd64","arch":"freebsd:14:x86:64","prefix":"/usr/local","flatsize":4871234,"licenselogic":"single","licenses":["MIT"],"desc":"curl","deps":{"ca_root_nss":{"origin":"security/ca_root_nss","version":"3.93"}},"categories":["ftp","net","www"]}"#;
        let package = package_file("+COMPACT_MANIFEST", compact).unwrap();
        assert_eq!(package.name, "curl");
        assert_eq!(package.source.as_deref(), Some("curl"));
        assert_eq!(package.versioning.upstream(&package.version), "8.4.0");
        assert_eq!(package.license.as_deref(), Some("MIT"));

        let dual = br#"{"name":"py311-cryptography","origin":"security/py-cryptography@py311","version":42,"licenselogic":"dual","licenses":["APACHE20","BSD3CLAUSE"],"files":{"/usr/local/lib/a":"1$abc"}}"#;
        let package = package_file("+MANIFEST", dual).unwrap();
        assert_eq!(package.source.as_deref(), Some("py-cryptography"));
        assert_eq!(package.version, "42");
        assert_eq!(
            package.license.as_deref(),
            Some("Apache-2.0 OR BSD-3-Clause")
        );
        let multi = br#"{"name":"x","version":"1","licenselogic":"multi","licenses":["GPLv2+","LGPL21","Custom"]}"#;
        assert_eq!(
            package_file("+MANIFEST", multi).unwrap().license.as_deref(),
            Some("GPL-2.0-or-later AND LGPL-2.1-only AND Custom")
        );
    }

    #[test]
    fn what_is_not_a_manifest_names_nothing() {
        for data in [
            &b""[..],
            b"not json",
            br#"{"name":"curl"}"#,
            br#"{"name":"","version":"1"}"#,
            br#"{"name":"curl","version":null}"#,
            br#"["curl","8.4.0"]"#,
            b"name: curl\nversion: 8.4.0\n",
        ] {
            assert!(package_file("+MANIFEST", data).is_none(), "{data:?}");
        }
        let compact = br#"{"name":"curl","version":"8.4.0"}"#;
        assert!(package_file("MANIFEST", compact).is_none());
        assert!(package_file("package.json", compact).is_none());
    }

    #[test]
    fn pkg_install_contents() {
        let contents = b"@comment PKG_FORMAT_REVISION:1.1\n@name lighttpd-1.4.28_1\n@comment ORIGIN:www/lighttpd\n@cwd /usr/local\n@pkgdep pcre-8.12\nsbin/lighttpd\n";
        let package = package_file("+CONTENTS", contents).unwrap();
        assert_eq!(package.name, "lighttpd");
        assert_eq!(package.source.as_deref(), Some("lighttpd"));
        assert_eq!(package.versioning.upstream(&package.version), "1.4.28");
        assert!(package_file("+CONTENTS", b"@name nodash\n").is_none());
        assert!(package_file("+CONTENTS", b"sbin/lighttpd\n").is_none());
    }

    #[test]
    fn database_paths() {
        assert!(is_database_path("var/db/pkg/local.sqlite"));
        assert!(is_database_path("/var/db/pkg/local.sqlite"));
        assert!(is_database_path("rootfs/var/db/pkg/local.sqlite"));
        assert!(!is_database_path("var/db/pkg/repo-FreeBSD.sqlite"));
        assert!(!is_database_path("var/db/pkg/local.sqlite-wal"));
    }

    #[test]
    fn licence_logic_codes() {
        assert_eq!(Logic::from_code(i64::from(b'|')), Logic::Or);
        assert_eq!(Logic::from_code(i64::from(b'&')), Logic::And);
        assert_eq!(Logic::from_code(1), Logic::Single);
        assert_eq!(Logic::Single.join(&[]), None);
        assert_eq!(
            Logic::Single.join(&[" BSD2CLAUSE ".to_owned()]).as_deref(),
            Some("BSD-2-Clause")
        );
    }

    /// A database SQLite itself wrote with pkg's schema (recipe:
    /// `fixtures/detect/freebsd/make_local_sqlite.py`): 161 packages over interior and overflow
    /// pages, licences in their own tables, a column added by `ALTER TABLE`.
    const LOCAL_SQLITE: &[u8] = include_bytes!("../../../fixtures/detect/freebsd/local.sqlite");

    #[test]
    fn reads_a_database_sqlite_wrote() {
        let (packages, damaged) = database_packages(LOCAL_SQLITE);
        assert_eq!(damaged, None);
        assert_eq!(packages.len(), 161);
        let find = |name: &str| {
            packages
                .iter()
                .find(|package| package.name == name)
                .unwrap()
        };
        let openssl = find("openssl");
        assert_eq!(openssl.version, "3.0.12_2,1");
        assert_eq!(openssl.versioning.upstream(&openssl.version), "3.0.12");
        assert_eq!(openssl.license.as_deref(), Some("OpenSSL"));
        assert!(openssl.offset > 0 && openssl.offset < LOCAL_SQLITE.len() as u64);
        let cryptography = find("py311-cryptography");
        assert_eq!(cryptography.source.as_deref(), Some("py-cryptography"));
        assert_eq!(
            cryptography.license.as_deref(),
            Some("Apache-2.0 OR BSD-3-Clause")
        );
        assert_eq!(
            find("gettext-runtime").license.as_deref(),
            Some("GPL-3.0-or-later AND LGPL-2.1-or-later")
        );
        assert_eq!(find("sudo").license.as_deref(), Some("sudo"));
        assert_eq!(find("filler149").license, None);
        assert_eq!(find("filler149").version, "1.149");
    }

    #[test]
    fn a_damaged_database_gives_what_it_could_read() {
        // Cut inside the table: the packages before the cut, and the damage.
        let cut = &LOCAL_SQLITE[..LOCAL_SQLITE.len() / 2];
        let (_, damaged) = database_packages(cut);
        assert!(damaged.is_some());
        // No `packages` table: an rpm database.
        let rpm = sqlite::tests::make_database("Packages", &[sqlite::tests::blob_row(b"x")]);
        let (packages, damaged) = database_packages(&rpm);
        assert!(packages.is_empty());
        assert!(damaged.unwrap().message.contains("`packages` table"));
        for junk in [&b""[..], b"SQLite format 3\0", &[0xff; 4096]] {
            let (packages, damaged) = database_packages(junk);
            assert!(packages.is_empty() && damaged.is_some());
        }
    }

    #[test]
    fn every_truncation_and_flipped_byte_is_survived() {
        for end in (0..LOCAL_SQLITE.len()).step_by(509) {
            let _ = database_packages(&LOCAL_SQLITE[..end]);
        }
        let mut data = LOCAL_SQLITE.to_vec();
        for at in (0..data.len()).step_by(97) {
            data[at] ^= 0x5a;
            let _ = database_packages(&data);
            data[at] ^= 0x5a;
        }
    }
}
