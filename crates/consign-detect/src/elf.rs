//! Object-file facts read through goblin: SONAME, `DT_NEEDED`, `.comment`, symbol versions, Go build
//! info and Rust `cargo auditable` data.
//!
//! # What it detects
//!
//! - The SONAME of a shared object and the SONAMEs it needs (`DT_NEEDED`), which give the dependency
//!   graph between components; PE imports play the same role for Windows binaries.
//! - Compilers named in `.comment` (`GCC: (Debian 12.2.0-14) 12.2.0`): toolchain, never a component.
//! - Versioned symbol references (`GLIBC_2.34`): kept as a minimum, never reported as a release.
//! - Go build info (`\xff Go buildinf:`): the Go version and every module with its version.
//! - Rust `cargo auditable` data (`.dep-v0`, zlib-compressed JSON): every crate with its version.
//!
//! # Evidence
//!
//! Go modules and Rust crates are `manifest-analysis` evidence with high confidence: the build tool
//! wrote them. SONAME and `.comment` are facts about the file that other detectors use.
//!
//! # Limits
//!
//! Go build info before Go 1.18 (pointer-based, no inline strings) is reported as a diagnostic, not
//! read. PE files give their imported DLLs as needed libraries; Mach-O files give no facts yet.

use crate::kmod;
use consign_model::binary::Endian;
use consign_model::{Confidence, Diagnostic, Method, Severity};
use goblin::elf::Elf;

/// Largest decompressed `cargo auditable` payload read (the format's own tools default to 8 MiB).
const MAX_AUDITABLE_BYTES: u64 = 8 << 20;
/// Largest Go module-info string read.
const MAX_GO_STRING: u64 = 1 << 20;

/// What was read from one object file.
#[derive(Debug, Default)]
pub(crate) struct ObjectFacts {
    /// `DT_SONAME`.
    pub(crate) soname: Option<String>,
    /// `DT_NEEDED` entries, or PE import DLL names.
    pub(crate) needed: Vec<String>,
    /// `.comment` strings, each once, in the order first seen.
    pub(crate) comments: Vec<String>,
    /// How many times each of `comments` occurs (one per object file the linker joined), so
    /// that the compiler that built most of a library outvotes the one of a start-up file.
    pub(crate) comment_counts: Vec<u32>,
    /// Versioned symbol dependencies (`GLIBC_2.34`), sorted and unique.
    pub(crate) symbol_versions: Vec<String>,
    /// The package the distribution built this file in, from its `.note.package`.
    pub(crate) package_note: Option<PackageNote>,
    /// A kernel module's `.modinfo` facts.
    pub(crate) modinfo: Option<kmod::ModInfo>,
    /// Modules and crates that a build tool recorded in the binary.
    pub(crate) modules: Vec<Module>,
}

/// A package a build tool recorded inside a binary (Go module, Rust crate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Module {
    pub(crate) name: String,
    pub(crate) version: String,
    /// `pkg:golang/…` or `pkg:cargo/…`, without the version.
    pub(crate) purl: String,
    pub(crate) matched: String,
    pub(crate) method: Method,
    pub(crate) confidence: Confidence,
}

/// Reads the facts of `data` when it is an ELF, PE or Mach-O file; other files give empty facts.
pub(crate) fn read(data: &[u8], location: &str, diagnostics: &mut Vec<Diagnostic>) -> ObjectFacts {
    let mut facts = ObjectFacts::default();
    if data.starts_with(b"\x7fELF") {
        match Elf::parse(data) {
            Ok(elf) => read_elf(&elf, data, &mut facts, location, diagnostics),
            Err(err) => diagnostics.push(
                Diagnostic::warning(
                    location,
                    format!("ELF headers could not be read ({err}); only its bytes were scanned"),
                )
                .severity(Severity::Info),
            ),
        }
    } else if data.starts_with(b"MZ")
        && let Ok(pe) = goblin::pe::PE::parse(data)
    {
        facts.needed = pe.libraries.iter().map(|name| (*name).to_owned()).collect();
    }
    if let Some(offset) = find(data, GO_BUILDINFO_MAGIC) {
        read_go_buildinfo(data, offset, &mut facts, location, diagnostics);
    }
    facts
}

fn read_elf(
    elf: &Elf<'_>,
    data: &[u8],
    facts: &mut ObjectFacts,
    location: &str,
    diagnostics: &mut Vec<Diagnostic>,
) {
    facts.soname = elf.soname.map(str::to_owned);
    facts.needed = elf
        .libraries
        .iter()
        .map(|name| (*name).to_owned())
        .collect();
    if let Some(verneed) = &elf.verneed {
        for need in verneed {
            for aux in &need {
                if let Some(name) = elf.dynstrtab.get_at(aux.vna_name) {
                    facts.symbol_versions.push(name.to_owned());
                }
            }
        }
        facts.symbol_versions.sort();
        facts.symbol_versions.dedup();
    }
    for header in &elf.section_headers {
        let Some(name) = elf.shdr_strtab.get_at(header.sh_name) else {
            continue;
        };
        let Some(range) = header.file_range() else {
            continue;
        };
        let Some(section) = data.get(range) else {
            continue;
        };
        match name {
            ".comment" => {
                for text in section.split(|byte| *byte == 0) {
                    let Ok(text) = std::str::from_utf8(text) else {
                        continue;
                    };
                    if text.trim().is_empty() {
                        continue;
                    }
                    if let Some(idx) = facts.comments.iter().position(|seen| seen == text) {
                        if let Some(count) = facts.comment_counts.get_mut(idx) {
                            *count = count.saturating_add(1);
                        }
                    } else {
                        facts.comments.push(text.to_owned());
                        facts.comment_counts.push(1);
                    }
                }
            }
            ".dep-v0" => read_auditable(section, facts, location, diagnostics),
            ".modinfo" => facts.modinfo = Some(kmod::parse(section)),
            ".note.package" => facts.package_note = package_note(section, elf.little_endian),
            _ => {}
        }
    }
}

/// What a distribution's build recorded in an ELF file's `.note.package`: the package metadata
/// note (<https://systemd.io/ELF_PACKAGE_METADATA/>), owner `FDO`, type `0xcafe1a7e`, a JSON
/// object such as `{"type":"deb","os":"debian","name":"gcc-14","version":"14.2.0-19",...}`.
/// Debian (from trixie) and Fedora (from 36) stamp every binary they build with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PackageNote {
    /// `deb` or `rpm`.
    pub(crate) kind: String,
    /// The (source) package name.
    pub(crate) name: String,
    /// The package version, with the distribution's revision.
    pub(crate) version: String,
    /// The note's JSON, for the evidence.
    pub(crate) text: String,
}

/// The note type of the package metadata note.
const NT_FDO_PACKAGING_METADATA: u32 = 0xcafe_1a7e;
/// Longest note description read; real ones are under 200 bytes.
const MAX_PACKAGE_NOTE: usize = 4096;

fn package_note(section: &[u8], little_endian: bool) -> Option<PackageNote> {
    let order = if little_endian {
        Endian::Little
    } else {
        Endian::Big
    };
    let word = |at: usize| order.u32(section, at);
    let mut at = 0usize;
    // A section may hold several notes; read until the first package note.
    while at.checked_add(12)? <= section.len() {
        let name_size = word(at)? as usize;
        let desc_size = word(at + 4)? as usize;
        let kind = word(at + 8)?;
        let name_at = at + 12;
        let desc_at = name_at.checked_add(name_size.checked_next_multiple_of(4)?)?;
        let end = desc_at.checked_add(desc_size.checked_next_multiple_of(4)?)?;
        let name = section.get(name_at..name_at.checked_add(name_size)?)?;
        let desc = section.get(desc_at..desc_at.checked_add(desc_size)?)?;
        if kind == NT_FDO_PACKAGING_METADATA && name == b"FDO\0" && desc.len() <= MAX_PACKAGE_NOTE {
            let text = std::str::from_utf8(desc).ok()?.trim_end_matches('\0');
            let value: serde_json::Value = serde_json::from_str(text).ok()?;
            let field = |key: &str| {
                value
                    .get(key)
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
            };
            return Some(PackageNote {
                kind: field("type")?,
                name: field("name")?,
                version: field("version")?,
                text: text.to_owned(),
            });
        }
        at = end;
    }
    None
}

/// Go's build-info header: 14 magic bytes, pointer size, flags.
const GO_BUILDINFO_MAGIC: &[u8] = b"\xff Go buildinf:";

fn read_go_buildinfo(
    data: &[u8],
    offset: usize,
    facts: &mut ObjectFacts,
    location: &str,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let Some(flags) = data.get(offset + 15) else {
        return;
    };
    if flags & 2 == 0 {
        diagnostics.push(
            Diagnostic::warning(location, "Go build info before Go 1.18 (pointer-based) is not supported; its module list was not read")
                .at(offset as u64)
                .severity(Severity::Info),
        );
        return;
    }
    let mut cursor = offset + 32;
    let Some(go_version) = read_varint_string(data, &mut cursor) else {
        return;
    };
    if let Some(version) = go_version.strip_prefix("go") {
        let version = version.split([' ', '-']).next().unwrap_or(version);
        facts.modules.push(Module {
            name: "go".to_owned(),
            version: version.to_owned(),
            purl: "pkg:golang/stdlib".to_owned(),
            matched: go_version.clone(),
            method: Method::ManifestAnalysis,
            confidence: Confidence::High,
        });
    }
    let Some(modinfo) = read_varint_string(data, &mut cursor) else {
        return;
    };
    for line in modinfo.lines() {
        let mut fields = line.split('\t');
        let (Some(kind), Some(path), Some(version)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if !matches!(kind, "mod" | "dep") || version == "(devel)" {
            continue;
        }
        facts.modules.push(Module {
            name: path.to_owned(),
            version: version.trim_start_matches('v').to_owned(),
            purl: format!("pkg:golang/{path}"),
            matched: line.chars().take(160).collect(),
            method: Method::ManifestAnalysis,
            confidence: Confidence::High,
        });
    }
}

/// Reads a uvarint length and that many bytes as text; `None` when it runs past the data.
fn read_varint_string(data: &[u8], cursor: &mut usize) -> Option<String> {
    let mut length: u64 = 0;
    let mut shift = 0;
    loop {
        let byte = *data.get(*cursor)?;
        *cursor += 1;
        length |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 56 {
            return None;
        }
    }
    if length > MAX_GO_STRING {
        return None;
    }
    let end = cursor.checked_add(usize::try_from(length).ok()?)?;
    let text = data.get(*cursor..end)?;
    *cursor = end;
    Some(String::from_utf8_lossy(text).into_owned())
}

#[derive(serde::Deserialize)]
struct AuditableData {
    packages: Vec<AuditablePackage>,
}

#[derive(serde::Deserialize)]
struct AuditablePackage {
    name: String,
    version: String,
    #[serde(default)]
    source: Option<String>,
}

fn read_auditable(
    section: &[u8],
    facts: &mut ObjectFacts,
    location: &str,
    diagnostics: &mut Vec<Diagnostic>,
) {
    use std::io::Read as _;
    let mut json = Vec::new();
    let decoder = flate2::read::ZlibDecoder::new(section);
    if decoder
        .take(MAX_AUDITABLE_BYTES + 1)
        .read_to_end(&mut json)
        .is_err()
        || json.len() as u64 > MAX_AUDITABLE_BYTES
    {
        diagnostics.push(Diagnostic::warning(
            location,
            "`.dep-v0` (cargo auditable) section is not zlib data of at most 8 MiB; its crate list was not read",
        ));
        return;
    }
    let Ok(parsed) = serde_json::from_slice::<AuditableData>(&json) else {
        diagnostics.push(Diagnostic::warning(location, "`.dep-v0` (cargo auditable) section is not the expected JSON; its crate list was not read"));
        return;
    };
    for package in parsed.packages {
        let registry = package
            .source
            .as_deref()
            .is_none_or(|source| source == "crates.io");
        facts.modules.push(Module {
            matched: format!("{} {}", package.name, package.version),
            purl: if registry {
                format!("pkg:cargo/{}", package.name)
            } else {
                format!("pkg:generic/{}", package.name)
            },
            name: package.name,
            version: package.version,
            method: Method::ManifestAnalysis,
            confidence: Confidence::High,
        });
    }
}

/// Compiler names and versions found in `.comment` strings.
///
/// `GCC: (Debian 12.2.0-14) 12.2.0` gives `("gcc", Some("12.2.0"))`; clang and the Rust compiler too.
pub(crate) fn toolchain_of(comment: &str) -> Option<(String, Option<String>)> {
    let (name, rest) = if let Some(rest) = comment.strip_prefix("GCC: ") {
        ("gcc", rest)
    } else if let Some(idx) = comment.find("clang version ") {
        (
            "clang",
            comment
                .get(idx + "clang version ".len()..)
                .unwrap_or_default(),
        )
    } else if let Some(rest) = comment.strip_prefix("rustc version ") {
        ("rustc", rest)
    } else if let Some(rest) = comment.strip_prefix("Linker: LLD ") {
        ("lld", rest)
    } else {
        return None;
    };
    // The release is the last token that starts with a digit (`(Debian 12.2.0-14) 12.2.0` -> `12.2.0`).
    let version = if name == "gcc" {
        rest.split_whitespace()
            .rev()
            .find(|word| word.starts_with(|c: char| c.is_ascii_digit()))
    } else {
        rest.split_whitespace().next()
    };
    Some((
        name.to_owned(),
        version.map(|text| text.trim_end_matches(')').to_owned()),
    ))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_toolchain(comment: &str, expect: Option<(&str, Option<&str>)>) {
        let got = toolchain_of(comment);
        let got = got
            .as_ref()
            .map(|(name, version)| (name.as_str(), version.as_deref()));
        assert_eq!(got, expect);
    }

    #[test]
    fn toolchains() {
        check_toolchain(
            "GCC: (Debian 12.2.0-14) 12.2.0",
            Some(("gcc", Some("12.2.0"))),
        );
        check_toolchain("GCC: (GNU) 4.3.3", Some(("gcc", Some("4.3.3"))));
        check_toolchain(
            "Debian clang version 14.0.6",
            Some(("clang", Some("14.0.6"))),
        );
        check_toolchain(
            "rustc version 1.80.0 (051478957 2024-07-21)",
            Some(("rustc", Some("1.80.0"))),
        );
        check_toolchain("hello", None);
    }

    #[test]
    fn go_buildinfo_inline_strings() {
        let mut data = vec![0u8; 8];
        data.extend_from_slice(GO_BUILDINFO_MAGIC);
        data.push(8);
        data.push(2);
        data.resize(8 + 32, 0);
        let version = b"go1.21.5";
        data.push(version.len() as u8);
        data.extend_from_slice(version);
        let modinfo = b"0123456789abcdefpath\texample.com/app\nmod\texample.com/app\t(devel)\t\ndep\tgolang.org/x/net\tv0.17.0\th1:x\n";
        data.push(modinfo.len() as u8);
        data.extend_from_slice(modinfo);
        let mut facts = ObjectFacts::default();
        let mut diagnostics = Vec::new();
        read_go_buildinfo(&data, 8, &mut facts, "app", &mut diagnostics);
        let got: Vec<(&str, &str)> = facts
            .modules
            .iter()
            .map(|m| (m.name.as_str(), m.version.as_str()))
            .collect();
        assert_eq!(got, [("go", "1.21.5"), ("golang.org/x/net", "0.17.0")]);
        assert!(diagnostics.is_empty());
        // A length that runs past the end is ignored, not a panic.
        let truncated = &data[..data.len() - 10];
        let mut facts = ObjectFacts::default();
        read_go_buildinfo(truncated, 8, &mut facts, "app", &mut diagnostics);
        assert_eq!(facts.modules.len(), 1);
    }

    #[test]
    fn auditable_section() {
        use std::io::Write as _;
        let json = br#"{"packages":[{"name":"serde","version":"1.0.200","source":"crates.io"},{"name":"app","version":"0.1.0","source":"local","root":true}]}"#;
        let mut encoder =
            flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(json).unwrap();
        let section = encoder.finish().unwrap();
        let mut facts = ObjectFacts::default();
        let mut diagnostics = Vec::new();
        read_auditable(&section, &mut facts, "app", &mut diagnostics);
        let got: Vec<(&str, &str, &str)> = facts
            .modules
            .iter()
            .map(|m| (m.name.as_str(), m.version.as_str(), m.purl.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("serde", "1.0.200", "pkg:cargo/serde"),
                ("app", "0.1.0", "pkg:generic/app")
            ]
        );
        read_auditable(b"not zlib", &mut facts, "app", &mut diagnostics);
        assert_eq!(diagnostics.len(), 1);
    }

    #[test]
    fn package_notes_survive_hostile_sizes() {
        let mut note = Vec::new();
        for word in [4u32, u32::MAX, 0xcafe_1a7e] {
            note.extend_from_slice(&word.to_le_bytes());
        }
        note.extend_from_slice(b"FDO\0{}");
        assert_eq!(package_note(&note, true), None);
        assert_eq!(package_note(&note[..7], true), None);
        assert_eq!(package_note(&[0xff; 64], false), None);
        // A first note of another kind is skipped, the package note after it is read.
        let mut two = Vec::new();
        for word in [4u32, 4, 3] {
            two.extend_from_slice(&word.to_le_bytes());
        }
        two.extend_from_slice(b"GNU\0abcd");
        let json = br#"{"type":"deb","name":"zlib","version":"1:1.3.dfsg+really1.3.1-1"}"#;
        for word in [4u32, json.len() as u32, 0xcafe_1a7e] {
            two.extend_from_slice(&word.to_le_bytes());
        }
        two.extend_from_slice(b"FDO\0");
        two.extend_from_slice(json);
        let read = package_note(&two, true).unwrap();
        assert_eq!(
            (read.name.as_str(), read.version.as_str()),
            ("zlib", "1:1.3.dfsg+really1.3.1-1")
        );
    }

    #[test]
    fn garbage_is_not_an_object() {
        let mut diagnostics = Vec::new();
        let facts = read(b"\x7fELF\x02\x01\x01garbage", "x", &mut diagnostics);
        assert!(facts.soname.is_none());
        assert_eq!(diagnostics.len(), 1);
    }
}
