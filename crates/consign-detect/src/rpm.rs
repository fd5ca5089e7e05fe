//! RPM package files (`.rpm`) and rpm's installed-package databases.
//!
//! # What it detects
//!
//! Every package an image's rpm database (`/var/lib/rpm`, `/usr/lib/sysimage/rpm`) records as
//! installed: each row of an `rpmdb.sqlite`'s `Packages` table (rpm 4.16 and later, read with
//! `sqlite.rs`), or each record of a Berkeley DB `Packages` hash database (before: `CentOS` 7, Yocto
//! up to 3.x; `bdb.rs`), is one package's header.
//!
//! A file that starts with an RPM lead is one package: its main header's `NAME`, `EPOCH`,
//! `VERSION`, `RELEASE` and `LICENSE`, and its source package, the name part of `SOURCERPM`
//! (`openssl-libs` is built from `openssl-3.0.7-27.el9.src.rpm`). Red Hat's and SUSE's families and
//! Yocto (whose default package format is RPM) ship them, and firmware update bundles carry them.
//! The payload (a compressed cpio archive) is the unpacker's business: it finds and opens it by its
//! own magic.
//!
//! # Evidence
//!
//! `manifest-analysis`, high confidence, at the byte offset of the main header (of a package
//! file) or of the row's cell (in a database).
//!
//! # Limits
//!
//! The `Packages.db` (ndb) databases of SUSE are not read, nor Berkeley DB databases other than
//! hash ones, nor rows still only in an `rpmdb.sqlite-wal` beside the database (images are built
//! with the log checkpointed). A source RPM (no `SOURCERPM` of its own) is reported under its own
//! name. Of an internationalised string only the first (C locale) text is read. Header signatures
//! are not checked: the header is a claim of the file, like any other manifest.
//!
//! Layout (rpm's `lib/header.c` and the LSB package format): a 96-byte lead, a signature header
//! padded to 8 bytes, then the main header; each header is a magic (`8e ad e8 01`), four reserved
//! bytes, the entry count and the data size (big-endian 32-bit), the entries (tag, type, offset,
//! count: 16 bytes each) and the data they point into.

use consign_model::binary;

use crate::pkgdb::Package;
use crate::{Damaged, bdb, sqlite};

/// The first bytes of every RPM package file.
const LEAD_MAGIC: [u8; 4] = [0xed, 0xab, 0xee, 0xdb];
/// The lead is fixed-size and obsolete: everything it says is in the headers too.
const LEAD_LEN: usize = 96;
const HEADER_MAGIC: [u8; 4] = [0x8e, 0xad, 0xe8, 0x01];
/// rpm refuses headers with more entries or data than these (`hdrchkTags`, `hdrchkData`).
const MAX_ENTRIES: usize = 0xffff;
const MAX_DATA: usize = 256 << 20;

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_LICENSE: u32 = 1014;
const TAG_SOURCERPM: u32 = 1044;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// Whether `data` is an RPM package file (its lead magic).
pub(crate) fn is_package(data: &[u8]) -> bool {
    data.starts_with(&LEAD_MAGIC)
}

/// The package an RPM file holds.
pub(crate) fn package(data: &[u8]) -> Result<Package, Damaged> {
    let signature = Header::at(data, LEAD_LEN)?;
    let main_offset = signature.end.next_multiple_of(8);
    described(&Header::at(data, main_offset)?, main_offset as u64)
}

/// Where an installed-package database may be, by its path inside the image.
pub(crate) fn is_database_path(inner_path: &str) -> bool {
    // `/var/lib/rpm` (rpm before 4.17 and Yocto), `/usr/lib/sysimage/rpm` (Fedora 36+, SUSE);
    // SQLite since rpm 4.16, Berkeley DB before.
    inner_path.ends_with("/rpm/rpmdb.sqlite") || inner_path.ends_with("/rpm/Packages")
}

/// The installed packages of an rpm database, SQLite (`rpmdb.sqlite`: one header per row of its
/// `Packages` table) or Berkeley DB (`Packages`: one header per record), each at the byte offset
/// of its row or record. Rows that are not a readable header are skipped; a damaged database gives
/// the packages before the damage and what was wrong.
pub(crate) fn database_packages(data: &[u8]) -> (Vec<Package>, Option<Damaged>) {
    let mut packages = Vec::new();
    let mut add = |offset: u64, blob: &[u8]| {
        if let Ok(header) = Header::counted(blob, 0)
            && let Ok(mut package) = described(&header, 0)
        {
            package.offset = offset;
            packages.push(package);
        }
    };
    let read = if bdb::is_hash_database(data) {
        bdb::records(data, &mut |offset, _key, value| add(offset, value))
    } else {
        sqlite_rows(data, &mut add)
    };
    (packages, read.err())
}

/// Every `Packages` blob of an `rpmdb.sqlite`.
fn sqlite_rows(data: &[u8], add: &mut dyn FnMut(u64, &[u8])) -> Result<(), Damaged> {
    let database = sqlite::Database::open(data)?;
    let Some(root) = database.table_root("Packages")? else {
        return Err(Damaged {
            offset: 0,
            message: "rpm database has no `Packages` table".to_owned(),
        });
    };
    database.rows(root, &mut |row| {
        if let Some(sqlite::Value::Blob(blob)) = row.values.get(1) {
            add(row.offset, blob);
        }
    })
}

/// The package a main header describes; `offset` is where the header is, for errors.
fn described(header: &Header<'_>, offset: u64) -> Result<Package, Damaged> {
    let missing = |what: &str| Damaged {
        offset,
        message: format!("rpm header has no {what}"),
    };
    let name = header.string(TAG_NAME).ok_or_else(|| missing("NAME"))?;
    let version = header
        .string(TAG_VERSION)
        .ok_or_else(|| missing("VERSION"))?;
    // Recorded as rpm prints it (`[EPOCH:]VERSION-RELEASE`); `pkgdb::upstream_version` keeps
    // VERSION, which can hold neither `:` nor `-`.
    let mut recorded = header
        .int32(TAG_EPOCH)
        .map_or_else(String::new, |epoch| format!("{epoch}:"));
    recorded.push_str(version);
    if let Some(release) = header.string(TAG_RELEASE) {
        recorded.push('-');
        recorded.push_str(release);
    }
    Ok(Package {
        name: name.to_owned(),
        source: header.string(TAG_SOURCERPM).and_then(source_name),
        version: recorded,
        offset,
        license: header.string(TAG_LICENSE).map(str::to_owned),
        versioning: crate::pkgdb::Versioning::Revisioned,
    })
}

/// `openssl-3.0.7-27.el9.src.rpm` -> `openssl`: the name of the source package a binary package
/// was built from (name, version and release are joined by `-`, and only the name may hold one).
fn source_name(file: &str) -> Option<String> {
    let stem = file
        .strip_suffix(".src.rpm")
        .or_else(|| file.strip_suffix(".nosrc.rpm"))?;
    let mut parts = stem.rsplitn(3, '-');
    let (_release, _version, name) = (parts.next()?, parts.next()?, parts.next()?);
    (!name.is_empty()).then(|| name.to_owned())
}

/// One header structure inside the file: its entries and the data they point into.
struct Header<'a> {
    entries: &'a [u8],
    store: &'a [u8],
    /// Offset of the first byte after the header.
    end: usize,
}

impl<'a> Header<'a> {
    /// The header structure at `offset` of a package file: magic, four reserved bytes, the rest.
    fn at(data: &'a [u8], offset: usize) -> Result<Self, Damaged> {
        let magic = data
            .get(offset..offset.saturating_add(8))
            .ok_or_else(|| Damaged {
                offset: offset as u64,
                message: "rpm file ends inside a header".to_owned(),
            })?;
        if magic[..4] != HEADER_MAGIC {
            return Err(Damaged {
                offset: offset as u64,
                message: "no rpm header magic (8e ad e8 01) here".to_owned(),
            });
        }
        Self::counted(data, offset + 8)
    }

    /// A header as the package database stores it, without magic: the entry count and data size,
    /// the entries, the data.
    fn counted(data: &'a [u8], offset: usize) -> Result<Self, Damaged> {
        let damaged = |message: String| Damaged {
            offset: offset as u64,
            message,
        };
        let (Some(count), Some(size)) = (
            binary::u32be(data, offset),
            binary::u32be(data, offset.saturating_add(4)),
        ) else {
            return Err(damaged("rpm header ends inside its counts".to_owned()));
        };
        let (count, size) = (count as usize, size as usize);
        if count > MAX_ENTRIES || size > MAX_DATA {
            return Err(damaged(format!(
                "rpm header claims {count} entries and {size} data bytes, more than rpm itself accepts"
            )));
        }
        let entries_start = offset + 8;
        let store_start = entries_start + count * 16;
        let end = store_start + size;
        let (Some(entries), Some(store)) = (
            data.get(entries_start..store_start),
            data.get(store_start..end),
        ) else {
            return Err(damaged(format!(
                "rpm header of {count} entries and {size} data bytes runs past the end of the file"
            )));
        };
        Ok(Self {
            entries,
            store,
            end,
        })
    }

    /// The entry of `tag`: its type, and the data from its offset on.
    fn entry(&self, tag: u32) -> Option<(u32, &'a [u8])> {
        self.entries.chunks_exact(16).find_map(|entry| {
            (binary::u32be(entry, 0)? == tag).then(|| {
                let kind = binary::u32be(entry, 4)?;
                let offset = binary::u32be(entry, 8)? as usize;
                Some((kind, self.store.get(offset..).unwrap_or_default()))
            })?
        })
    }

    /// A string entry (its first string for arrays and translations), if it is valid UTF-8 and
    /// not empty.
    fn string(&self, tag: u32) -> Option<&'a str> {
        let (kind, bytes) = self.entry(tag)?;
        if ![TYPE_STRING, TYPE_STRING_ARRAY, TYPE_I18NSTRING].contains(&kind) {
            return None;
        }
        let text = &bytes[..bytes.iter().position(|&b| b == 0)?];
        std::str::from_utf8(text)
            .ok()
            .filter(|text| !text.is_empty())
    }

    fn int32(&self, tag: u32) -> Option<u32> {
        let (kind, bytes) = self.entry(tag)?;
        (kind == TYPE_INT32).then(|| binary::u32be(bytes, 0))?
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A header structure holding `strings` (tag, text) and `ints` (tag, value), as rpm lays it out.
    pub(crate) fn header(strings: &[(u32, &str)], ints: &[(u32, u32)]) -> Vec<u8> {
        let mut entries = Vec::new();
        let mut store = Vec::new();
        for &(tag, value) in ints {
            entries.extend(
                [tag, TYPE_INT32, store.len() as u32, 1]
                    .map(u32::to_be_bytes)
                    .concat(),
            );
            store.extend(value.to_be_bytes());
        }
        for &(tag, text) in strings {
            entries.extend(
                [tag, TYPE_STRING, store.len() as u32, 1]
                    .map(u32::to_be_bytes)
                    .concat(),
            );
            store.extend(text.as_bytes());
            store.push(0);
        }
        let count = (entries.len() / 16) as u32;
        let mut out = HEADER_MAGIC.to_vec();
        out.extend([0; 4]);
        out.extend(count.to_be_bytes());
        out.extend((store.len() as u32).to_be_bytes());
        out.extend(entries);
        out.extend(store);
        out
    }

    /// A package file: lead, a signature header padded to 8 bytes, the main header.
    pub(crate) fn rpm_file(main: &[u8]) -> Vec<u8> {
        let mut out = LEAD_MAGIC.to_vec();
        out.resize(LEAD_LEN, 0);
        out.extend(header(&[(1000, "sha")], &[(1007, 42)]));
        out.resize(out.len().next_multiple_of(8), 0);
        out.extend(main);
        out
    }

    #[test]
    fn reads_name_version_source_and_license() {
        let main = header(
            &[
                (TAG_NAME, "openssl-libs"),
                (TAG_VERSION, "3.0.7"),
                (TAG_RELEASE, "27.el9"),
                (TAG_LICENSE, "ASL 2.0"),
                (TAG_SOURCERPM, "openssl-3.0.7-27.el9.src.rpm"),
            ],
            &[(TAG_EPOCH, 1)],
        );
        let package = package(&rpm_file(&main)).unwrap();
        assert_eq!(package.name, "openssl-libs");
        assert_eq!(package.source.as_deref(), Some("openssl"));
        assert_eq!(package.version, "1:3.0.7-27.el9");
        assert_eq!(crate::pkgdb::upstream_version(&package.version), "3.0.7");
        assert_eq!(package.license.as_deref(), Some("ASL 2.0"));
    }

    #[test]
    fn database_rows_are_packages() {
        let header_blob = |name: &str, version: &str| {
            let source = format!("{name}-{version}-1.src.rpm");
            header(
                &[
                    (TAG_NAME, name),
                    (TAG_VERSION, version),
                    (TAG_RELEASE, "r0"),
                    (TAG_SOURCERPM, &source),
                ],
                &[],
            )[8..]
                .to_vec()
        };
        // The second header is large enough to spill into overflow pages.
        let mut busybox = header_blob("busybox", "1.36.1");
        busybox.extend(vec![0u8; 2000]);
        let rows = [
            sqlite::tests::blob_row(&header_blob("libz1", "1.3.1")),
            sqlite::tests::blob_row(&busybox),
            sqlite::tests::blob_row(b"not a header"),
        ];
        let data = sqlite::tests::make_database("Packages", &rows);
        let (packages, damaged) = database_packages(&data);
        assert_eq!(damaged, None);
        let got: Vec<(&str, &str)> = packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(got, [("libz1", "1.3.1-r0"), ("busybox", "1.36.1-r0")]);
        assert!(packages[0].offset > 512 && packages[0].offset < 1024);
        // A database without the table, and one cut short, say so.
        let other = sqlite::tests::make_database("Other", &rows);
        assert!(
            database_packages(&other)
                .1
                .unwrap()
                .message
                .contains("no `Packages`")
        );
        let (before, damaged) = database_packages(&data[..data.len() - 512]);
        assert_eq!(before.len(), 1);
        assert!(damaged.is_some());
        assert!(is_database_path("/var/lib/rpm/rpmdb.sqlite"));
        assert!(is_database_path("/usr/lib/sysimage/rpm/rpmdb.sqlite"));
        assert!(!is_database_path("/var/lib/rpm/rpmdb.sqlite-wal"));
        assert!(is_database_path("/var/lib/rpm/Packages"));
        // The same headers in a Berkeley DB hash database, as rpm before 4.16 keeps them; its
        // record 0 holds rpm's next instance number, not a header.
        let bdb = bdb::tests::make_database(&[
            (0u32.to_le_bytes().to_vec(), 7u32.to_le_bytes().to_vec()),
            (1u32.to_le_bytes().to_vec(), header_blob("libz1", "1.3.1")),
            (2u32.to_le_bytes().to_vec(), busybox.clone()),
        ]);
        let (packages, damaged) = database_packages(&bdb);
        assert_eq!(damaged, None);
        let got: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(got, ["libz1", "busybox"]);
    }

    #[test]
    fn source_names() {
        assert_eq!(
            source_name("curl-7.29.0-59.el7.src.rpm").as_deref(),
            Some("curl")
        );
        assert_eq!(
            source_name("python-urllib3-1.26.5-3.el9.nosrc.rpm").as_deref(),
            Some("python-urllib3")
        );
        assert_eq!(source_name("curl.src.rpm"), None);
        assert_eq!(source_name("-1-2.src.rpm"), None);
        assert_eq!(source_name("curl-7.29.0-59.el7.x86_64.rpm"), None);
    }

    #[test]
    fn damaged_headers_say_where() {
        let main = header(&[(TAG_NAME, "zlib"), (TAG_VERSION, "1.2.13")], &[]);
        let whole = rpm_file(&main);
        assert_eq!(package(&whole).unwrap().version, "1.2.13");
        // Cut inside the main header's data.
        let cut = package(&whole[..whole.len() - 3]).unwrap_err();
        assert!(cut.message.contains("runs past the end"), "{cut:?}");
        // At the counts, just after the magic.
        assert_eq!(cut.offset, (whole.len() - main.len() + 8) as u64);
        // A lead and nothing else.
        let lead_only = package(&whole[..LEAD_LEN]).unwrap_err();
        assert_eq!(lead_only.offset, LEAD_LEN as u64);
        // Entry counts past rpm's own limit are refused before any slicing.
        let mut huge = whole.clone();
        huge[LEAD_LEN + 8..LEAD_LEN + 12].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(
            package(&huge)
                .unwrap_err()
                .message
                .contains("more than rpm")
        );
        // No VERSION.
        let nameless = rpm_file(&header(&[(TAG_NAME, "zlib")], &[]));
        assert!(package(&nameless).unwrap_err().message.contains("VERSION"));
        // Offsets that point past the data, and strings without an end, read as nothing.
        let mut wild = header(&[(TAG_NAME, "zlib"), (TAG_VERSION, "1")], &[]);
        wild[16 + 8..16 + 12].copy_from_slice(&u32::MAX.to_be_bytes());
        let last = wild.len() - 1;
        wild[last] = b'x';
        assert!(package(&rpm_file(&wild)).is_err());
    }
}
