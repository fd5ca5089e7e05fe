//! Identifies the software components inside unpacked firmware, with evidence.
//!
//! [`detect`] takes the [`Vfs`] that unpacking produced and returns a [`Detection`]: one
//! [`Component`] per product and version, each with every [`Occurrence`] that supports it (path, byte
//! offset, matched text, method, confidence), the compilers seen in `.comment` as [`Toolchain`]
//! (never as components), and [`Diagnostic`]s. It is pure: no I/O, no clock, no randomness, and the
//! same tree always gives the same result.
//!
//! Detectors, each in its own module with "What it detects", "Evidence" and "Limits":
//! - `scan`: version signatures, one TOML file per product under `signatures/`, all anchors compiled
//!   into one anchor finder (`anchors`) so each file is read once for all products;
//! - `elf`: object-file facts through goblin (SONAME, `DT_NEEDED`, `.comment`, symbol versions, Go
//!   build info, Rust `cargo auditable`);
//! - `pkgdb`: dpkg, opkg and apk package databases, and the metadata of `.deb`, `.ipk`, `.apk` and
//!   Arch package files;
//! - `rpm`: RPM package files and rpm's databases (`rpmdb.sqlite` through `sqlite`, a read-only table
//!   reader; Berkeley DB `Packages` through `bdb`, a read-only hash database reader);
//! - `osrelease`: the operating system `os-release` and `lsb-release` name;
//! - `manifest`: npm, Bower, Python and `LuaRocks` package manifests;
//! - `kmod`: kernel modules that are not the kernel's own (vendor and out-of-tree drivers);
//! - `index`: the name index generated from Debian's file lists (`names/`, `cargo xtask index`),
//!   which names an object file by its SONAME or file name, at low confidence and without a
//!   version, when nothing above named it.
//!
//! Findings are merged per (name, version). A SONAME is a name, not a release: a library's version
//! comes from its own version string, or from its file name only where a signature's file-name rule
//! reads it: a rule `cargo xtask kb filever` learnt and proved on the real file names of several
//! releases (`[[named_file]]` with its `[[file_test]]` records), or `soname_release = true` where the
//! project's ABI number is its release. Otherwise the version is left unknown.
//!
//! ```
//! use consign_model::Vfs;
//!
//! let data = b"\0\0BusyBox v1.36.1 (2024-01-01 00:00:00 UTC) multi-call binary.\0".to_vec();
//! let detection = consign_detect::detect(&Vfs::single("busybox", data.into()));
//! let busybox = &detection.components[0];
//! assert_eq!((busybox.name.as_str(), busybox.version.as_deref()), ("busybox", Some("1.36.1")));
//! ```
//!
//! # Adding a signature
//!
//! 1. Find how the project prints its version in its source (for example lwIP's
//!    `"lwIP/" LWIP_VERSION_STRING`), then find those bytes in a real binary
//!    (`strings -t d FILE | grep …`).
//! 2. Create `signatures/<product>.toml` with `name` (the upstream name, lower case), `kind`,
//!    `cpe_vendor`, `cpe_product`, `purl`, and `packages` (Debian, opkg or apk package names that are
//!    this product, used to map package databases).
//! 3. Add a `[[pattern]]`: `anchor` is a literal that must occur (at least 4 bytes, escapes `\xNN`,
//!    `\n`, `\0`), `regex` reads the version in a window of `window` bytes (default 96) around it and
//!    must cover the whole anchor; its first group (or a group named `version`) is the version; a
//!    project that keeps its release as separate numbers uses groups named `major`, `minor` and
//!    `patch`, which are joined with dots (Dojo's `major: 1, minor: 17, patch: 3`). Pick
//!    an anchor from the product's own code, not a string that a program linking the library also
//!    carries (an `OpenSSL 3.0.x` banner is inside every program built against OpenSSL); `only_in`
//!    limits a pattern to files whose name or SONAME starts with one of the given prefixes, and
//!    `anchor_at` to an anchor at that file offset (a header's magic: `anchor_at = 0`).
//!    A release that is not ASCII text is read in one of two ways. `utf16 = true`: the anchor is
//!    searched as UTF-16LE text and the window decoded from UTF-16LE before the regex runs (rEFInd's
//!    `L"0.14.2"`; an unpaired surrogate decodes to U+FFFD, an odd last byte is left out).
//!    `fields` instead of `regex`: a template that writes the release from little-endian integers at
//!    fixed offsets from the anchor's first byte, `{u8@6}`, `{u16@4}`, `{u32@8}`, in decimal or as
//!    `{u32@8:x}` / `{u32@8:08x}` hexadecimal, between literal text, as the driver prints it
//!    (rtw88's `"{u16@4}.{u8@6}.{u8@7}"`). Every field must lie past the anchor and end within
//!    `window` bytes after it (checked when the signatures load), and a file that ends before a
//!    field gives no release.
//!    A neighbour pattern, whose release is a lone string next to the anchor's string
//!    (`\x00(\d+\.\d+)\x00{1,16}Version: %s`, or the neighbour first), also reads the release on
//!    the anchor's other side, where clang and old GCC put it (`mirror`: the regex is derived,
//!    never written, and its reading is medium). `no_mirror = "why"` turns that off for one
//!    pattern; `cargo xtask kb mirror` writes it, with where the mirror read a wrong release.
//! 4. For libraries, list `sonames` (`libz.so`): that names the product when nothing else does. Add
//!    `soname_release = true` only if the project's library file name carries its release, and a
//!    `[[bare]]` regex only if the library (or a program listed in `files`) holds its version as a
//!    lone string. A `[[named_file]]` names the product from a whole-file-name regex (its first group,
//!    if any, is the release, as in `libuClibc-0.9.30.1.so`); `objects_only = false` lets it match a
//!    non-ELF file, and a `content` regex over the file's first 4 KiB must then also match (its first
//!    group, when it takes part, is the release). A pattern over such a file says `manifest = true`.
//!    A `[[file_test]]` (`path`, `version`, `origin`) is a real file name a package installed and the
//!    release its name alone must give (no `version`: none); learnt rules carry one per release.
//! 5. Add `[[test]]` entries: `expect = "positive"` with an `excerpt` (the bytes around a real match),
//!    the expected `version`, the `file` name when a pattern needs one, and the `origin` (package,
//!    version, file, offset); and `expect = "negative"` excerpts that look similar but must not match.
//!    `cargo test -p consign-detect` runs every case of every file.
//!
//! # Adding a detector
//!
//! Write a module with a function from a file's bytes (and the facts other detectors found) to
//! findings, document it with "What it detects", "Evidence" and "Limits", call it from the per-file
//! step of [`detect`], and give it unit tests with real excerpts. Never read files or the clock there.

mod anchors;
mod bdb;
mod elf;
mod freebsd;
mod index;
mod kmod;
mod manifest;
mod mirror;
mod osrelease;
mod pkgdb;
mod rpm;
mod scan;
mod signature;
mod sqlite;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};

use consign_model::{
    Component, ComponentKind, Confidence, Cut, Diagnostic, Digests, Method, Occurrence, Severity,
    Upstream, Vfs, VfsNode,
};
use rayon::prelude::*;

pub use crate::index::{
    IndexProject, NameIndex, SignatureProduct, library_base, name_index, signature_products,
};
use crate::scan::{FileNames, Finding};
pub use crate::signature::unescape;
use crate::signature::{CATALOG, Catalog, Signature};

/// Everything [`detect`] found in one tree.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Detection {
    /// One per product and version, sorted by name then version.
    pub components: Vec<Component>,
    /// Compilers and linkers named in `.comment`: how the image was built, not what it contains.
    pub toolchain: Vec<Toolchain>,
    /// Problems met on the way; detection never stops for them.
    pub diagnostics: Vec<Diagnostic>,
    /// What detection left unread in a file (a file past the detector's bounds, see `scan.rs`'s
    /// `# Limits`): the scan is incomplete there, as for an unpacking cut.
    pub cuts: Vec<Cut>,
}

/// A compiler or linker that built files in the image (from `.comment`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toolchain {
    /// `gcc`, `clang`, `rustc`, `lld`.
    pub name: String,
    /// The release it names, when it names one.
    pub version: Option<String>,
    /// The `.comment` text as found.
    pub text: String,
    /// Files built with it, sorted.
    pub locations: Vec<String>,
}

/// A problem with the embedded signature files. It only occurs if a signature file is broken, which
/// the crate's tests catch; [`detect`] turns it into a diagnostic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DetectError {
    /// A signature file is not valid TOML or has unknown or missing fields.
    #[error("signature file `{file}` is not a valid signature; fix the field the cause names")]
    SignatureToml {
        /// The signature file name.
        file: String,
        /// What the TOML parser said.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// An embedded signature file's compact form (build.rs converts each TOML file to JSON) has
    /// unknown or missing fields: the TOML file has them.
    #[error("signature file `{file}` is not a valid signature; fix the field the cause names")]
    SignatureCompact {
        /// The signature file name.
        file: String,
        /// What the JSON reader said of the converted file.
        #[source]
        source: Box<serde_json::Error>,
    },
    /// A version regex does not compile.
    #[error("signature file `{file}`: `{field}` is not a valid regex")]
    SignatureRegex {
        /// The signature file name.
        file: String,
        /// Which field.
        field: String,
        /// What the regex compiler said.
        #[source]
        source: regex::Error,
    },
    /// An escape sequence in an anchor or excerpt is not one of `\xNN`, `\n`, `\r`, `\t`, `\0`, `\\`.
    #[error(
        "signature file `{file}`: `{field}` has a bad escape at byte {offset}; use `\\xNN`, `\\n`, `\\r`, `\\t`, `\\0` or `\\\\`"
    )]
    SignatureEscape {
        /// The signature file name.
        file: String,
        /// Which field.
        field: String,
        /// Byte offset of the backslash.
        offset: usize,
    },
    /// A pattern's `fields` template cannot be read.
    #[error("signature file `{file}`: `{field}` is invalid at byte {offset}: {problem}")]
    SignatureFields {
        /// The signature file name.
        file: String,
        /// Which field (`pattern[0].fields`).
        field: String,
        /// Byte offset in the template.
        offset: usize,
        /// Which rule.
        problem: &'static str,
    },
    /// A signature breaks a rule of the format.
    #[error("signature file `{file}` is invalid: {problem}")]
    SignatureInvalid {
        /// The signature file name.
        file: String,
        /// Which rule.
        problem: &'static str,
    },
}

/// Loads and checks the embedded signatures, returning how many products they cover.
pub fn check_signatures() -> Result<usize, &'static DetectError> {
    CATALOG.as_ref().map(|catalog| catalog.signatures.len())
}

/// What a finding names: the product and how to cite it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) name: String,
    pub(crate) kind: ComponentKind,
    pub(crate) cpe_vendor: Option<String>,
    pub(crate) cpe_product: Option<String>,
    pub(crate) purl: Option<String>,
    pub(crate) upstream: Upstream,
}

impl Identity {
    /// A product no signature describes: its name, `pkg:generic/<name>`, no CPE, no upstream facts.
    fn generic(name: String, kind: ComponentKind) -> Self {
        Self {
            purl: Some(format!("pkg:generic/{name}")),
            name,
            kind,
            cpe_vendor: None,
            cpe_product: None,
            upstream: Upstream::default(),
        }
    }

    fn of(signature: &Signature) -> Self {
        Self {
            name: signature.name.clone(),
            kind: signature.kind,
            cpe_vendor: signature.cpe_vendor.clone(),
            cpe_product: signature.cpe_product.clone(),
            purl: signature.purl.clone(),
            upstream: signature.upstream.clone(),
        }
    }
}

/// Where a package file or package database could not be read, and why: what the readers of
/// `rpm`, `sqlite` and `bdb` give, and [`analyse_file`] reports as a diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Damaged {
    /// Byte offset in the file.
    pub(crate) offset: u64,
    pub(crate) message: String,
}

impl Damaged {
    fn diagnostic(self, location: &str, hint: &str) -> Diagnostic {
        Diagnostic::warning(location, self.message)
            .at(self.offset)
            .with_hint(hint)
    }
}

/// What one file gave.
struct FileResult {
    location: String,
    file_name: String,
    soname: Option<String>,
    needed: Vec<String>,
    findings: Vec<Finding>,
    comments: Vec<String>,
    diagnostics: Vec<Diagnostic>,
    cuts: Vec<Cut>,
    /// The file's position in the tree's file list, which stands for its digests until the end of
    /// [`detect`] (see [`pending_digests`]).
    index: usize,
    /// The file's digests, when [`Prepared::analyse`] took them ahead (see there).
    digests: Option<Digests>,
}

/// Finds the components in `vfs`. See the crate docs.
pub fn detect(vfs: &Vfs) -> Detection {
    detect_prepared(vfs, Prepared::default())
}

/// The embedded catalog, or the diagnostic that says why there is none.
fn embedded() -> (Option<&'static Catalog>, Vec<Diagnostic>) {
    match CATALOG.as_ref() {
        Ok(catalog) => (Some(catalog), Vec::new()),
        Err(err) => (
            None,
            vec![
                Diagnostic::warning(
                    "consign-detect",
                    format!("{err}; only package databases and object facts were used"),
                )
                .severity(Severity::Error),
            ],
        ),
    }
}

/// Which file of a tree a prepared analysis is of: its path and its bytes (where they sit and
/// how many), so a file of the same path with other bytes is never taken for it.
type FileKey = (String, usize, usize);

fn file_key(node: &VfsNode, data: &[u8]) -> FileKey {
    (node.path.clone(), data.as_ptr() as usize, data.len())
}

/// The per-file part of [`detect`], done ahead of time, file by file, while the tree is still
/// being built: a scan hands [`Prepared::analyse`] to `consign_unpack::unpack_visiting`, so files
/// are analysed as soon as they are unpacked and both cores work while a long decode runs, then
/// gives the tree and this to [`detect_prepared`].
///
/// The analysis of a file depends on that file alone (its path, provenance and bytes), so the
/// result is the same as [`detect`]'s, whatever the order and whichever files were analysed
/// ahead: [`detect_prepared`] analyses the others itself.
#[derive(Default)]
pub struct Prepared {
    files: Mutex<HashMap<FileKey, FileResult>>,
}

impl Prepared {
    /// Analyses one file of the tree that [`detect_prepared`] will be given; other nodes are
    /// ignored.
    pub fn analyse(&self, node: &VfsNode) {
        let Some(data) = node.data() else {
            return;
        };
        let (catalog, _) = embedded();
        let mut result = analyse_file(
            catalog,
            0,
            &node.path,
            node.file_name(),
            node.inner_path(),
            data,
        );
        // Hashing is most of the per-byte cost and would otherwise all wait for the end of the
        // unpacking; an ELF object with findings nearly always stays its component's evidence
        // (containers, whose evidence `keep_innermost` hands to their files, are rarely ELF), so
        // its digests are taken now, while a long decode keeps the other core busy.
        if !result.findings.is_empty() && data.starts_with(b"\x7fELF") {
            result.digests = Some(digests_of(data));
        }
        self.files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(file_key(node, data), result);
    }
}

/// [`detect`], taking the analyses of the files that `prepared` already holds.
pub fn detect_prepared(vfs: &Vfs, prepared: Prepared) -> Detection {
    let (catalog, diagnostics) = embedded();
    let prepared = prepared
        .files
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    detect_with(catalog, vfs, diagnostics, prepared)
}

/// Signature files given as text, compiled and applied exactly as the embedded ones are: for
/// tools that write signatures and test them on real binaries before they are embedded
/// (`cargo xtask kb`).
pub struct Signatures(Catalog);

impl Signatures {
    /// Parses and compiles signature files given as (file name, TOML text).
    pub fn parse<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, DetectError> {
        Catalog::build(files).map(Self)
    }

    /// [`detect`] with these signatures instead of the embedded ones.
    pub fn detect(&self, vfs: &Vfs) -> Detection {
        detect_with(Some(&self.0), vfs, Vec::new(), HashMap::new())
    }

    /// The product names, one per signature file.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0
            .signatures
            .iter()
            .map(|signature| signature.name.as_str())
    }

    /// Every pattern's reading of the mirrored string layout, as these signatures derived it
    /// (`no_mirror` ones left out), so that `cargo xtask kb` can run them on their own.
    pub fn mirrored_patterns(&self) -> Vec<MirroredPattern> {
        let mut out = Vec::new();
        for signature in &self.0.signatures {
            for (index, pattern) in signature.patterns.iter().enumerate() {
                if let Some(regex) = pattern.mirror_regex() {
                    out.push(MirroredPattern {
                        product: signature.name.clone(),
                        pattern: index,
                        anchor: pattern.anchor.clone(),
                        regex: regex.as_str().to_owned(),
                        window: pattern.window,
                        only_in: pattern.only_in.clone(),
                    });
                }
            }
        }
        out
    }
}

/// A neighbour pattern's reading of the mirrored string layout (the release on the other side of
/// the anchor's string than where the pattern was cut), as a catalog derived it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirroredPattern {
    /// The product (the signature's `name`).
    pub product: String,
    /// The pattern's index among the signature's `[[pattern]]` tables.
    pub pattern: usize,
    /// The anchor's bytes.
    pub anchor: Vec<u8>,
    /// The derived regex.
    pub regex: String,
    /// The pattern's window.
    pub window: usize,
    /// The pattern's `only_in` prefixes.
    pub only_in: Vec<String>,
}

fn detect_with(
    catalog: Option<&Catalog>,
    vfs: &Vfs,
    diagnostics: Vec<Diagnostic>,
    mut prepared: HashMap<FileKey, FileResult>,
) -> Detection {
    let files: Vec<_> = vfs.files().collect();
    let done: Vec<Option<FileResult>> = files
        .iter()
        .map(|(node, data)| prepared.remove(&file_key(node, data)))
        .collect();
    let results: Vec<FileResult> = files
        .par_iter()
        .zip(done)
        .enumerate()
        .map(|(index, ((node, data), done))| match done {
            Some(mut result) => {
                result.index = index;
                result
            }
            None => analyse_file(
                catalog,
                index,
                &node.path,
                node.file_name(),
                node.inner_path(),
                data,
            ),
        })
        .collect();
    let ahead: HashMap<usize, Digests> = results
        .iter()
        .filter_map(|result| Some((result.index, result.digests?)))
        .collect();
    let mut detection = merge(results, diagnostics);
    hash_evidence(&mut detection, &files, ahead);
    let mtimes: HashMap<&str, i64> = files
        .iter()
        .filter_map(|(node, _)| Some((node.path.as_str(), node.mtime?)))
        .collect();
    for component in &mut detection.components {
        component.modified = component
            .files
            .iter()
            .filter_map(|(path, _)| mtimes.get(path.as_str()).copied())
            .max();
    }
    detection
}

fn analyse_file(
    catalog: Option<&Catalog>,
    index: usize,
    location: &str,
    file_name: &str,
    inner_path: &str,
    data: &[u8],
) -> FileResult {
    let mut diagnostics = Vec::new();
    let mut cuts = Vec::new();
    let facts = elf::read(data, location, &mut diagnostics);
    let mut findings = Vec::new();
    if let Some(catalog) = catalog {
        let names = FileNames {
            file_name,
            soname: facts.soname.as_deref(),
            is_object: data.starts_with(b"\x7fELF"),
        };
        let scanned = scan::scan_file(catalog, location, data, &names, &facts);
        findings = scanned.findings;
        if let Some(cut) = scanned.cut {
            diagnostics.push(cut.diagnostic(location));
            cuts.push(cut.as_cut(location));
        }
        if let Some(kind) = pkgdb::database_kind(location, inner_path) {
            findings.extend(package_findings(
                catalog,
                location,
                pkgdb::parse(kind, data),
            ));
        }
        if rpm::is_database_path(inner_path) {
            let (packages, damaged) = rpm::database_packages(data);
            findings.extend(package_findings(catalog, location, packages));
            diagnostics.extend(damaged.map(|damaged| {
                damaged.diagnostic(location, "the rpm database could not be read to its end; the packages after the damage are not named")
            }));
        }
        if freebsd::is_database_path(inner_path) {
            let (packages, damaged) = freebsd::database_packages(data);
            findings.extend(package_findings(catalog, location, packages));
            diagnostics.extend(damaged.map(|damaged| {
                damaged.diagnostic(location, "the pkg database could not be read to its end; the packages after the damage, or their licences, are not named")
            }));
        }
        if let Some(package) = freebsd::package_file(file_name, data) {
            findings.extend(package_findings(catalog, location, vec![package]));
        }
        if rpm::is_package(data) {
            match rpm::package(data) {
                Ok(package) => findings.extend(package_findings(catalog, location, vec![package])),
                Err(damaged) => diagnostics.push(damaged.diagnostic(
                    location,
                    "the file starts like an RPM package; its header was not read, so the package it holds is not named",
                )),
            }
        }
    }
    if let Some(note) = &facts.package_note {
        findings.extend(package_note_finding(catalog, note, location));
    }
    if let Some(format) = osrelease::Format::of(inner_path)
        && let Some(release) = osrelease::parse(format, data)
    {
        findings.push(operating_system_finding(catalog, release, location));
    }
    if let Some(release) = osrelease::android_boot_header(data) {
        findings.push(operating_system_finding(catalog, release, location));
    }
    if let Some(ecosystem) = manifest::Ecosystem::of(inner_path) {
        findings.extend(manifest::findings(catalog, ecosystem, data, location));
    }
    if let Some(info) = &facts.modinfo
        && let Some(finding) = kmod::finding(info, file_name, location)
    {
        findings.push(finding);
    }
    if findings.is_empty() {
        findings = index::findings(
            catalog,
            location,
            file_name,
            facts.soname.as_deref(),
            &facts.needed,
            data,
        );
    }
    for module in &facts.modules {
        findings.push(Finding {
            identity: Identity {
                name: module.name.clone(),
                kind: ComponentKind::Library,
                cpe_vendor: None,
                cpe_product: None,
                purl: Some(module.purl.clone()),
                upstream: Upstream::default(),
            },
            version: Some(module.version.clone()),
            license: None,
            occurrence: Occurrence {
                location: location.to_owned(),
                offset: None,
                matched: Some(module.matched.clone()),
                method: module.method,
                confidence: module.confidence,
                states: Some(module.version.clone()),
                count: None,
            },
        });
    }
    let findings = choose_versions(findings);
    FileResult {
        location: location.to_owned(),
        file_name: file_name.to_owned(),
        soname: facts.soname,
        needed: facts.needed,
        findings,
        comments: facts.comments,
        diagnostics,
        cuts,
        index,
        digests: None,
    }
}

/// The placeholder [`merge`] files a component's file under: the file's index in the tree's file
/// list, in the first bytes of the SHA-256, until [`hash_evidence`] puts the real digests there.
fn pending_digests(index: usize) -> Digests {
    let mut sha256 = [0u8; 32];
    sha256[..8].copy_from_slice(&(index as u64).to_le_bytes());
    Digests {
        sha256: consign_model::Sha256(sha256),
        sha512: consign_model::Sha512([0u8; 64]),
    }
}

/// The file index a [`pending_digests`] placeholder stands for.
fn pending_index(digests: &Digests) -> usize {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digests.sha256.0[..8]);
    usize::try_from(u64::from_le_bytes(bytes)).unwrap_or(usize::MAX)
}

/// Hashes the files that are still some component's evidence after merging, each once, on every
/// core. Hashing is most of the detector's cost per byte, and most of the bytes are containers (the
/// image, a filesystem, a kernel) whose evidence `keep_innermost` replaces by the files inside them,
/// so only the files that stay are hashed. `ahead` holds digests already taken, by file index.
fn hash_evidence<D: AsRef<[u8]> + Sync>(
    detection: &mut Detection,
    files: &[(&VfsNode, &D)],
    ahead: HashMap<usize, Digests>,
) {
    let wanted: BTreeSet<usize> = detection
        .components
        .iter()
        .flat_map(|component| component.files.iter().map(|(_, d)| pending_index(d)))
        .filter(|index| !ahead.contains_key(index))
        .collect();
    let mut digests: HashMap<usize, Digests> = wanted
        .into_par_iter()
        .filter_map(|index| {
            let (_, data) = files.get(index)?;
            Some((index, digests_of(data.as_ref())))
        })
        .collect();
    digests.extend(ahead);
    for component in &mut detection.components {
        for (_, file) in &mut component.files {
            if let Some(real) = digests.get(&pending_index(file)) {
                *file = *real;
            }
        }
    }
}

/// SHA-256 and SHA-512 of one file, the two side by side when the file is large enough for it to pay.
fn digests_of(data: &[u8]) -> Digests {
    const SPLIT_BYTES: usize = 1 << 20;
    if data.len() < SPLIT_BYTES {
        return Digests::of(data);
    }
    let (sha256, sha512) = rayon::join(
        || consign_model::Sha256::of(data),
        || consign_model::Sha512::of(data),
    );
    Digests { sha256, sha512 }
}

/// One finding per package a database or package file records.
fn package_findings(
    catalog: &Catalog,
    location: &str,
    packages: Vec<pkgdb::Package>,
) -> Vec<Finding> {
    packages
        .into_iter()
        .map(|package| {
            let identity = package_identity(catalog, &package.name, package.source.as_deref());
            let version = package.versioning.upstream(&package.version);
            Finding {
                identity,
                license: package.license.clone(),
                occurrence: Occurrence {
                    location: location.to_owned(),
                    offset: Some(package.offset),
                    matched: Some(format!("{} {}", package.name, package.version)),
                    method: Method::ManifestAnalysis,
                    confidence: Confidence::High,
                    states: Some(version.clone()),
                    count: None,
                },
                version: Some(version),
            }
        })
        .collect()
}

/// One file is one build: of each product it states one release, the one with the strongest
/// evidence and then the most statements (`libgcc_s.so.1` of a real router says GCC 3.3.2 twice,
/// in its start-up files, and 4.3.3 1,743 times). The other candidates stay as occurrences of the
/// chosen release, each with the release it `states`, so the disagreement is visible. Package
/// databases are left alone: each of their entries is a package of its own, and one database may
/// rightly list two releases of one product (`libssl1.1` and `libssl3`).
fn choose_versions(mut findings: Vec<Finding>) -> Vec<Finding> {
    let mut chosen: HashMap<String, (Confidence, u32, String)> = HashMap::new();
    for finding in &findings {
        if finding.occurrence.method == Method::ManifestAnalysis {
            continue;
        }
        let Some(version) = &finding.version else {
            continue;
        };
        let support = (
            finding.occurrence.confidence,
            finding.occurrence.count.unwrap_or(1),
        );
        let entry = chosen
            .entry(finding.identity.name.clone())
            .or_insert_with(|| (support.0, support.1, version.clone()));
        // Ties keep the first seen, which is the earliest in the file.
        if support > (entry.0, entry.1) {
            *entry = (support.0, support.1, version.clone());
        }
    }
    for finding in &mut findings {
        if finding.occurrence.method == Method::ManifestAnalysis || finding.version.is_none() {
            continue;
        }
        if let Some((_, _, version)) = chosen.get(&finding.identity.name) {
            finding.version = Some(version.clone());
        }
    }
    findings
}

/// The product a package is: the signature that lists the package (or its source, or its name
/// without an ABI suffix), else the source package's own name.
fn package_identity(catalog: &Catalog, name: &str, source: Option<&str>) -> Identity {
    let signature = catalog
        .by_package(name)
        .or_else(|| source.and_then(|source| catalog.by_package(source)))
        .or_else(|| without_abi_suffix(name).and_then(|stem| catalog.by_package(stem)));
    signature.map_or_else(
        || {
            Identity::generic(
                source.unwrap_or(name).to_lowercase(),
                ComponentKind::Library,
            )
        },
        Identity::of,
    )
}

/// The package a distribution stamped into a binary (`.note.package`, see `elf::PackageNote`).
/// The note names the source package (`gcc-14`), which is the product itself, a packaging of it
/// with a release number in its name, or a package a signature lists.
fn package_note_finding(
    catalog: Option<&Catalog>,
    note: &elf::PackageNote,
    location: &str,
) -> Option<Finding> {
    let plausible = |text: &str| {
        !text.is_empty()
            && text.len() <= 128
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-._~:".contains(&b))
    };
    if !plausible(&note.name) || !plausible(&note.version) {
        return None;
    }
    let name = note.name.to_lowercase();
    let identity = match catalog {
        Some(catalog) => {
            let stem = without_abi_suffix(&name);
            match catalog
                .by_name(&name)
                .or_else(|| stem.and_then(|stem| catalog.by_name(stem)))
            {
                Some(signature) => Identity::of(signature),
                None => package_identity(catalog, &name, None),
            }
        }
        None => Identity::generic(name.clone(), ComponentKind::Library),
    };
    let version = pkgdb::upstream_version(&note.version);
    Some(Finding {
        identity,
        license: None,
        occurrence: Occurrence {
            location: location.to_owned(),
            offset: None,
            matched: Some(format!("package note {}", note.text)),
            method: Method::ManifestAnalysis,
            confidence: Confidence::High,
            states: Some(version.clone()),
            count: None,
        },
        version: Some(version),
    })
}

/// The system a release file names: a signature's identity when one describes it (`OpenWrt`),
/// else its `ID`, with the CPE of its `CPE_NAME`.
fn operating_system_finding(
    catalog: Option<&Catalog>,
    release: osrelease::Release,
    location: &str,
) -> Finding {
    let identity = catalog
        .and_then(|catalog| catalog.by_name(&release.id))
        .map_or_else(
            || {
                let (cpe_vendor, cpe_product) = release.cpe.clone().unzip();
                Identity {
                    cpe_vendor,
                    cpe_product,
                    ..Identity::generic(release.id.clone(), ComponentKind::OperatingSystem)
                }
            },
            Identity::of,
        );
    Finding {
        identity,
        license: None,
        occurrence: Occurrence {
            location: location.to_owned(),
            offset: Some(release.offset),
            matched: Some(release.line),
            method: Method::ManifestAnalysis,
            confidence: Confidence::High,
            states: release.version.clone(),
            count: None,
        },
        version: release.version,
    }
}

/// `OpenWrt` (and Debian) put a library's ABI number at the end of its package name
/// (`libubox20230523`, `libjson-c5`); the name without it is how signatures list the product.
fn without_abi_suffix(name: &str) -> Option<&str> {
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit());
    let stem = stem.strip_suffix('-').unwrap_or(stem);
    (stem.len() < name.len()
        && stem.len() >= 3
        && stem.ends_with(|c: char| c.is_ascii_alphabetic()))
    .then_some(stem)
}

/// A match in a container (a cpio stream, a filesystem image) that is also found in a file
/// extracted from it is the same bytes seen twice. Only the innermost places are kept, so the
/// component's evidence and file hashes are those of its own files, not of the archive around them.
fn keep_innermost(component: &mut Component) {
    let locations: Vec<String> = component
        .occurrences
        .iter()
        .map(|o| o.location.clone())
        .collect();
    let has_inner = |outer: &str| {
        locations.iter().any(|inner| {
            inner
                .strip_prefix(outer)
                .is_some_and(|rest| rest.starts_with('/'))
        })
    };
    component.occurrences.retain(|o| !has_inner(&o.location));
    component.files.retain(|(path, _)| !has_inner(path));
}

/// A container whose bytes name a product without a release, where a file unpacked from it names
/// that product (in any release), says nothing more: the match is the inner file seen through
/// the container's bytes (an uncompressed run of an LZ4 stream, a file stored whole), and
/// [`keep_innermost`], which compares whole components, would keep it as an entry of its own.
/// A container's versioned finding is left alone: a release no inner file states may sit in a
/// part that was not unpacked.
fn drop_names_of_unpacked_containers(
    components: &mut BTreeMap<(String, Option<String>), Component>,
) {
    let mut inner: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ((name, version), component) in components.iter() {
        if version.is_some() {
            inner
                .entry(name.clone())
                .or_default()
                .extend(component.occurrences.iter().map(|o| o.location.clone()));
        }
    }
    let holds = |outer: &str, locations: &[String]| {
        locations.iter().any(|location| {
            location
                .strip_prefix(outer)
                .is_some_and(|rest| rest.starts_with('/'))
        })
    };
    components.retain(|(name, version), component| {
        let Some(locations) = inner.get(name).filter(|_| version.is_none()) else {
            return true;
        };
        component
            .occurrences
            .retain(|o| !holds(&o.location, locations));
        component.files.retain(|(path, _)| !holds(path, locations));
        !component.occurrences.is_empty()
    });
}

fn merge(results: Vec<FileResult>, mut diagnostics: Vec<Diagnostic>) -> Detection {
    // Which component names each SONAME (or library file name) provides.
    let mut providers: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for result in &results {
        for finding in &result.findings {
            if let Some(soname) = &result.soname {
                providers
                    .entry(soname.as_str())
                    .or_default()
                    .insert(finding.identity.name.as_str());
            }
            providers
                .entry(result.file_name.as_str())
                .or_default()
                .insert(finding.identity.name.as_str());
        }
    }
    let mut depends: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for result in &results {
        let needed: BTreeSet<&str> = result
            .needed
            .iter()
            .filter_map(|soname| providers.get(soname.as_str()))
            .flatten()
            .copied()
            .collect();
        for finding in &result.findings {
            let entry = depends.entry(finding.identity.name.clone()).or_default();
            entry.extend(
                needed
                    .iter()
                    .filter(|name| **name != finding.identity.name)
                    .map(|name| (*name).to_owned()),
            );
        }
    }

    let mut toolchain: BTreeMap<String, Toolchain> = BTreeMap::new();
    let mut components: BTreeMap<(String, Option<String>), Component> = BTreeMap::new();
    let mut cuts = Vec::new();
    for result in results {
        diagnostics.extend(result.diagnostics);
        cuts.extend(result.cuts);
        for comment in &result.comments {
            if let Some((name, version)) = elf::toolchain_of(comment) {
                toolchain
                    .entry(comment.clone())
                    .or_insert_with(|| Toolchain {
                        name,
                        version,
                        text: comment.clone(),
                        locations: Vec::new(),
                    })
                    .locations
                    .push(result.location.clone());
            }
        }
        for finding in result.findings {
            let key = (finding.identity.name.clone(), finding.version.clone());
            let component = components
                .entry(key)
                .or_insert_with(|| new_component(&finding));
            if let Some(license) = finding.license
                && !component.licenses.contains(&license)
            {
                component.licenses.push(license);
            }
            component.occurrences.push(finding.occurrence);
            if !component
                .files
                .iter()
                .any(|(path, _)| *path == result.location)
            {
                component
                    .files
                    .push((result.location.clone(), pending_digests(result.index)));
            }
        }
    }

    // A packaging suffix is not a different release: `30+20221128` from a package database and `30`
    // from the binary are one component, kept under the release the binary states.
    let keys: Vec<(String, Option<String>)> = components.keys().cloned().collect();
    for (name, version) in &keys {
        let Some(version) = version else { continue };
        let Some(base) = keys.iter().find_map(|(other_name, other)| {
            let other = other.as_ref()?;
            let rest = version.strip_prefix(other.as_str())?;
            (other_name == name && (rest.starts_with('+') || rest.starts_with('~')))
                .then(|| other.clone())
        }) else {
            continue;
        };
        if let Some(suffixed) = components.remove(&(name.clone(), Some(version.clone())))
            && let Some(target) = components.get_mut(&(name.clone(), Some(base)))
        {
            target.occurrences.extend(suffixed.occurrences);
            target.licenses.extend(suffixed.licenses);
            for file in suffixed.files {
                if !target.files.iter().any(|(path, _)| *path == file.0) {
                    target.files.push(file);
                }
            }
        }
    }

    join_sibling_libraries(&mut components);
    drop_names_of_unpacked_containers(&mut components);

    // Otherwise a name seen without a version stays without one: a component never borrows a
    // release from another file (a static binary is not the release of the shared library beside
    // it).
    let names: BTreeSet<String> = components.keys().map(|(name, _)| name.clone()).collect();
    for name in names {
        let known: Vec<&String> = components
            .keys()
            .filter(|(key, _)| *key == name)
            .filter_map(|(_, version)| version.as_ref())
            .collect();
        if known.len() > 1 {
            let manifest: Vec<&String> = known
                .iter()
                .copied()
                .filter(|version| {
                    components
                        .get(&(name.clone(), Some((*version).clone())))
                        .is_some_and(|component| {
                            component
                                .occurrences
                                .iter()
                                .any(|occurrence| occurrence.method == Method::ManifestAnalysis)
                        })
                })
                .collect();
            if !manifest.is_empty() {
                diagnostics.push(
                    Diagnostic::warning(
                        name.clone(),
                        format!(
                            "the package database says {name} {} but the binaries say {}; both are reported",
                            join(&manifest),
                            join(&known.iter().copied().filter(|v| !manifest.contains(v)).collect::<Vec<_>>())
                        ),
                    )
                    .with_hint("check whether the image carries two builds of it or a stale package database"),
                );
            }
        }
    }

    let mut components: Vec<Component> = components
        .into_values()
        .map(|mut component| {
            component
                .occurrences
                .sort_by(|a, b| (&a.location, a.offset).cmp(&(&b.location, b.offset)));
            component.occurrences.dedup();
            keep_innermost(&mut component);
            component.files.sort_by(|a, b| a.0.cmp(&b.0));
            component.licenses.sort();
            component.licenses.dedup();
            let best = component
                .occurrences
                .iter()
                .map(|o| o.confidence)
                .max()
                .unwrap_or(Confidence::Low);
            let methods: BTreeSet<Method> =
                component.occurrences.iter().map(|o| o.method).collect();
            component.confidence = if methods.len() > 1 && best >= Confidence::Medium {
                Confidence::High
            } else {
                best
            };
            if let Some(deps) = depends.get(&component.name) {
                component.depends_on = deps.iter().cloned().collect();
            }
            component
        })
        .collect();
    components.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    let mut toolchain: Vec<Toolchain> = toolchain.into_values().collect();
    for tool in &mut toolchain {
        tool.locations.sort();
        tool.locations.dedup();
    }
    diagnostics.sort_by(|a, b| {
        (&a.location, a.offset, &a.message).cmp(&(&b.location, b.offset, &b.message))
    });
    cuts.sort_by(|a, b| (&a.location, a.offset).cmp(&(&b.location, b.offset)));
    Detection {
        components,
        toolchain,
        diagnostics,
        cuts,
    }
}

/// The libraries of one build are installed side by side: glibc's `libm.so.6` states no release,
/// but sits in the folder of `libc.so.6`, which does. A file named by its SONAME or file name alone
/// joins the release of its product stated by another file of the same folder, when exactly one
/// release is stated there; its occurrence says so. Nothing else is joined: a program, a file in
/// another folder (a static binary in `/bin`) or a folder with two releases keeps "version unknown".
fn join_sibling_libraries(components: &mut BTreeMap<(String, Option<String>), Component>) {
    fn folder(path: &str) -> &str {
        path.rsplit_once('/').map_or("", |(folder, _)| folder)
    }
    let unversioned: Vec<String> = components
        .keys()
        .filter(|(_, version)| version.is_none())
        .map(|(name, _)| name.clone())
        .collect();
    for name in unversioned {
        // (folder -> (release, a file there that states it)) for every versioned file of `name`.
        let mut stated: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
        for ((key, version), component) in components.iter() {
            let (true, Some(version)) = (*key == name, version) else {
                continue;
            };
            for occurrence in &component.occurrences {
                if occurrence.states.as_deref() == Some(version.as_str()) {
                    stated
                        .entry(folder(&occurrence.location))
                        .or_default()
                        .entry(version.as_str())
                        .or_insert(occurrence.location.as_str());
                }
            }
        }
        let mut moves: Vec<(String, String, String)> = Vec::new();
        if let Some(component) = components.get(&(name.clone(), None)) {
            for occurrence in &component.occurrences {
                if !scan::names_only(occurrence) {
                    continue;
                }
                if let Some(releases) = stated.get(folder(&occurrence.location))
                    && releases.len() == 1
                    && let Some((version, witness)) = releases.iter().next()
                {
                    moves.push((
                        occurrence.location.clone(),
                        (*version).to_owned(),
                        (*witness).to_owned(),
                    ));
                }
            }
        }
        for (location, version, witness) in moves {
            let Some(source) = components.get_mut(&(name.clone(), None)) else {
                continue;
            };
            let (moved, kept): (Vec<Occurrence>, Vec<Occurrence>) =
                std::mem::take(&mut source.occurrences)
                    .into_iter()
                    .partition(|o| o.location == location && scan::names_only(o));
            source.occurrences = kept;
            let files: Vec<(String, Digests)> = source
                .files
                .iter()
                .filter(|(path, _)| *path == location)
                .cloned()
                .collect();
            source.files.retain(|(path, _)| *path != location);
            if source.occurrences.is_empty() {
                components.remove(&(name.clone(), None));
            }
            let Some(target) = components.get_mut(&(name.clone(), Some(version.clone()))) else {
                continue;
            };
            let witness_name = witness
                .rsplit_once('/')
                .map_or(witness.as_str(), |(_, n)| n);
            for mut occurrence in moved {
                occurrence.matched = Some(format!(
                    "{} (states no release; a library of the same build beside {witness_name}, which states {version})",
                    occurrence.matched.as_deref().unwrap_or_default()
                ));
                target.occurrences.push(occurrence);
            }
            for file in files {
                if !target.files.iter().any(|(path, _)| *path == file.0) {
                    target.files.push(file);
                }
            }
        }
    }
}

fn join(versions: &[&String]) -> String {
    versions
        .iter()
        .map(|v| v.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn new_component(finding: &Finding) -> Component {
    Component {
        name: finding.identity.name.clone(),
        version: finding.version.clone(),
        kind: finding.identity.kind,
        cpe_vendor: finding.identity.cpe_vendor.clone(),
        cpe_product: finding.identity.cpe_product.clone(),
        purl: finding.identity.purl.clone(),
        supplier: None,
        licenses: Vec::new(),
        upstream: finding.identity.upstream.clone(),
        occurrences: Vec::new(),
        confidence: Confidence::Low,
        files: Vec::new(),
        modified: None,
        depends_on: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use consign_model::{NodeKind, VfsNode};

    use super::*;
    use crate::signature::TestExpect;

    fn file(path: &str, data: &[u8]) -> VfsNode {
        VfsNode {
            path: path.to_owned(),
            provenance: Vec::new(),
            kind: NodeKind::File {
                data: bytes::Bytes::copy_from_slice(data),
            },
            mode: Some(0o755),
            mtime: None,
        }
    }

    /// Runs every positive and negative case of every signature file.
    #[test]
    fn signature_cases() {
        // The cases come from the whole files; `detect` runs them through the compact catalog a
        // scan loads.
        let catalog = &*signature::TESTED;
        let mut failures = Vec::new();
        let mut positives = 0;
        for signature in &catalog.signatures {
            // Every signature proves both that it finds its product and that it stays quiet on
            // a near miss.
            for expect in [TestExpect::Positive, TestExpect::Negative] {
                let by_name = signature
                    .file_tests
                    .iter()
                    .any(|t| t.version.is_some() == (expect == TestExpect::Positive));
                if !by_name && !signature.tests.iter().any(|t| t.expect == expect) {
                    failures.push(format!("{}: no {expect:?} test case", signature.file));
                }
            }
            // A real file name gives the release it must (or no release at all), from its name
            // alone: the file is empty.
            for (idx, test) in signature.file_tests.iter().enumerate() {
                let detection = detect(&Vfs {
                    nodes: vec![file(&test.path, b"")],
                });
                let versions: Vec<Option<&str>> = detection
                    .components
                    .iter()
                    .filter(|c| c.name == signature.name)
                    .map(|c| c.version.as_deref())
                    .collect();
                let ok = match test.version.as_deref() {
                    Some(version) => {
                        positives += 1;
                        versions == [Some(version)]
                    }
                    None => versions.iter().all(Option::is_none),
                };
                if !ok {
                    failures.push(format!(
                        "{} file_test[{idx}] ({} {}): expected version {:?}, got {versions:?}",
                        signature.file, test.path, test.origin, test.version
                    ));
                }
            }
            for (idx, test) in signature.tests.iter().enumerate() {
                let name = test.file.as_deref().unwrap_or("excerpt.bin");
                let detection = detect(&Vfs {
                    nodes: vec![file(name, &test.excerpt)],
                });
                let found: Vec<&Component> = detection
                    .components
                    .iter()
                    .filter(|c| c.name == signature.name)
                    .collect();
                match test.expect {
                    TestExpect::Positive => {
                        positives += 1;
                        let ok = found.iter().any(|c| c.version == test.version);
                        if !ok {
                            failures.push(format!(
                                "{} test[{idx}] ({}): expected version {:?}, got {:?}",
                                signature.file,
                                test.origin,
                                test.version,
                                found.iter().map(|c| &c.version).collect::<Vec<_>>()
                            ));
                        }
                    }
                    TestExpect::Negative => {
                        let bad = found
                            .iter()
                            .any(|c| test.version.is_none() || c.version == test.version);
                        if bad {
                            failures.push(format!(
                                "{} test[{idx}] ({}): must not match, but did",
                                signature.file, test.origin
                            ));
                        }
                    }
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} failing signature cases:\n{}",
            failures.len(),
            failures.join("\n")
        );
        assert!(positives >= catalog.signatures.len());
    }

    #[test]
    fn merges_dependencies_and_toolchain() {
        let libz = file(
            "/lib/libz.so.1.2.13",
            b"\0 inflate 1.2.13 Copyright 1995-2022 Mark Adler \0",
        );
        let busybox = file(
            "/bin/busybox",
            b"\0BusyBox v1.35.0 (2023-01-01) multi-call binary\0",
        );
        let detection = detect(&Vfs {
            nodes: vec![busybox, libz],
        });
        let got = names_and_versions(&detection);
        assert_eq!(got, [("busybox", Some("1.35.0")), ("zlib", Some("1.2.13"))]);
        assert_eq!(detection.components[1].files.len(), 1);
        assert!(detection.components[0].confidence == Confidence::High);
    }

    #[test]
    fn a_match_inside_an_extracted_file_replaces_the_archive_around_it() {
        let text = b"\0BusyBox v1.36.1 (2024-01-01) multi-call binary\0";
        let archive = file("/fw.bin/gzip@0x0/decompressed", text);
        let inner = file("/fw.bin/gzip@0x0/decompressed/cpio@0x0/bin/busybox", text);
        let neighbour = file("/fw.bin/gzip@0x0/decompressed-2", text);
        let detection = detect(&Vfs {
            nodes: vec![archive, inner, neighbour],
        });
        let busybox = &detection.components[0];
        let places: Vec<&str> = busybox
            .occurrences
            .iter()
            .map(|o| o.location.as_str())
            .collect();
        assert_eq!(
            places,
            [
                "/fw.bin/gzip@0x0/decompressed-2",
                "/fw.bin/gzip@0x0/decompressed/cpio@0x0/bin/busybox"
            ]
        );
        assert_eq!(busybox.files.len(), 2);
    }

    /// A container's bytes naming glibc without a release add nothing when a file unpacked from it
    /// names glibc's release; a container naming a release no inner file states stays.
    #[test]
    fn a_container_named_without_a_release_gives_way_to_its_files() {
        let fatal = b"\0Fatal glibc error: Cannot allocate TLS block\n\0";
        let banner = b"\0GNU C Library (Debian GLIBC 2.36-9) stable release version 2.36.\0";
        let image = file("/rootfs.erofs", fatal);
        let libc = file("/rootfs.erofs/erofs@0x0/lib/libc.so.6", banner);
        let detection = detect(&Vfs {
            nodes: vec![image, libc],
        });
        let got = names_and_versions(&detection);
        assert_eq!(got, [("glibc", Some("2.36"))]);

        // Beside the container, not inside it: both stay.
        let image = file("/rootfs.erofs", fatal);
        let other = file("/kernel.bin/lib/libc.so.6", banner);
        let detection = detect(&Vfs {
            nodes: vec![image, other],
        });
        assert_eq!(detection.components.len(), 2);
    }

    /// Analyses prepared ahead (with the digests of ELF files) give what `detect` gives: whichever
    /// files were prepared, in any order, and an analysis of other bytes under the same path is not
    /// taken for the file.
    #[test]
    fn prepared_analyses_change_nothing() {
        // An ELF magic, so the analysis ahead also takes the digests.
        let busybox = b"\x7fELF\0BusyBox v1.36.1 (2024-01-01) multi-call binary\0";
        let mut control = file(
            "/fw.bin/squashfs@0x0/usr/lib/opkg/info/libubox20230523.control",
            b"Package: libubox20230523\nVersion: 2023.05.23~75a3b870-1\nLicense: ISC\n",
        );
        control.mtime = Some(1_700_000_000);
        let vfs = Vfs {
            nodes: vec![
                file("/fw.bin", b"not a container"),
                file("/fw.bin/gzip@0x0/decompressed", busybox),
                file(
                    "/fw.bin/gzip@0x0/decompressed/cpio@0x0/bin/busybox",
                    busybox,
                ),
                control,
                file("/fw.bin/squashfs@0x0/bin/busybox", busybox),
            ],
        };
        let plain = detect(&vfs);
        assert_eq!(plain.components.len(), 2);
        for mask in 0..(1u32 << vfs.nodes.len()) {
            let prepared = Prepared::default();
            for (index, node) in vfs.nodes.iter().enumerate().rev() {
                if mask & (1 << index) != 0 {
                    prepared.analyse(node);
                }
            }
            // Same path, other bytes: an older tree's file.
            prepared.analyse(&file(
                "/fw.bin/squashfs@0x0/bin/busybox",
                b"\x7fELF\0BusyBox v1.20.0 (2012-01-01) multi-call binary\0",
            ));
            assert_eq!(detect_prepared(&vfs, prepared), plain, "mask {mask:#b}");
        }
    }

    /// A package database's licence reaches the component; the file's mtime becomes its
    /// `modified`.
    #[test]
    fn package_licences_and_file_times() {
        let mut control = file(
            "/usr/lib/opkg/info/libubox20230523.control",
            b"Package: libubox20230523\nVersion: 2023.05.23~75a3b870-1\nSource: package/libs/libubox\nSourceName: libubox\nLicense: ISC\n",
        );
        control.mtime = Some(1_700_000_000);
        let detection = detect(&Vfs {
            nodes: vec![control],
        });
        let libubox = &detection.components[0];
        assert_eq!(libubox.name, "libubox");
        assert_eq!(libubox.licenses, ["ISC"]);
        assert_eq!(libubox.modified, Some(1_700_000_000));
    }

    #[test]
    fn package_database_and_reconciliation() {
        let status = file(
            "/var/lib/dpkg/status",
            b"Package: zlib1g\nStatus: install ok installed\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\n\nPackage: base-files\nStatus: install ok installed\nVersion: 12.4+deb12u5\n",
        );
        let libz = file(
            "/lib/libz.so.1.2.11",
            b"\0 inflate 1.2.11 Copyright 1995-2017 Mark Adler \0",
        );
        let detection = detect(&Vfs {
            nodes: vec![status, libz],
        });
        let got = names_and_versions(&detection);
        assert_eq!(
            got,
            [
                ("base-files", Some("12.4+deb12u5")),
                ("zlib", Some("1.2.11")),
                ("zlib", Some("1.2.13"))
            ]
        );
        assert_eq!(
            detection.diagnostics.len(),
            1,
            "{:?}",
            detection.diagnostics
        );
        assert!(
            detection.diagnostics[0]
                .message
                .contains("package database says zlib 1.2.13")
        );
    }

    #[test]
    fn freebsd_packages_from_the_database_and_package_files() {
        let database = file(
            "/var/db/pkg/local.sqlite",
            include_bytes!("../../../fixtures/detect/freebsd/local.sqlite"),
        );
        let manifest = file(
            "/var/cache/pkg/nginx-1.24.0_12,3.pkg/+COMPACT_MANIFEST",
            br#"{"name":"nginx","origin":"www/nginx","version":"1.24.0_12,3","licenselogic":"single","licenses":["BSD2CLAUSE"]}"#,
        );
        let detection = detect(&Vfs {
            nodes: vec![database, manifest],
        });
        let component = |name: &str| {
            detection
                .components
                .iter()
                .find(|c| c.name == name)
                .unwrap_or_else(|| panic!("no {name} in {:?}", names_and_versions(&detection)))
        };
        let openssl = component("openssl");
        assert_eq!(openssl.version.as_deref(), Some("3.0.12"));
        assert_eq!(openssl.licenses, ["OpenSSL"]);
        assert_eq!(openssl.cpe_vendor.as_deref(), Some("openssl"));
        assert_eq!(component("curl").version.as_deref(), Some("8.4.0"));
        let nginx = component("nginx");
        assert_eq!(nginx.version.as_deref(), Some("1.24.0"));
        assert_eq!(nginx.licenses, ["BSD-2-Clause"]);
        // A package no signature claims keeps its port's name.
        assert_eq!(
            component("py-cryptography").version.as_deref(),
            Some("41.0.4")
        );
        assert_eq!(detection.components.len(), 162);
        assert!(
            detection.diagnostics.is_empty(),
            "{:?}",
            detection.diagnostics
        );
    }

    #[test]
    fn an_android_boot_image_header_names_android() {
        // A version 4 header as mkbootimg writes it for --os_version 13.0.0 --os_patch_level 2023-07.
        let mut header = vec![0u8; 4096];
        header[..8].copy_from_slice(b"ANDROID!");
        header[16..20].copy_from_slice(&((13u32 << 25) | (23 << 4) | 7).to_le_bytes());
        header[40..44].copy_from_slice(&4u32.to_le_bytes());
        let detection = detect(&Vfs {
            nodes: vec![file("boot.img", &header)],
        });
        assert_eq!(names_and_versions(&detection), [("android", Some("13"))]);
        assert_eq!(
            detection.components[0].cpe_vendor.as_deref(),
            Some("google")
        );
    }

    #[test]
    fn packaging_suffix_merges_with_binary_release() {
        let status = file(
            "/var/lib/dpkg/status",
            b"Package: kmod\nStatus: install ok installed\nVersion: 30+20221128-1\n",
        );
        let kmod = file("/bin/kmod", b"\0kmod version 30\0+ZSTD +XZ\0");
        let libkmod = file("/lib/libkmod.so.2.4.0", b"\0");
        let detection = detect(&Vfs {
            nodes: vec![status, kmod, libkmod],
        });
        let got: Vec<(&str, Option<&str>, usize)> = detection
            .components
            .iter()
            .map(|c| (c.name.as_str(), c.version.as_deref(), c.occurrences.len()))
            .collect();
        // The library states no release, so it keeps none: it does not borrow the program's.
        assert_eq!(got, [("kmod", None, 1), ("kmod", Some("30"), 2)]);
        assert!(
            detection.diagnostics.is_empty(),
            "{:?}",
            detection.diagnostics
        );
    }

    /// A static program does not take the release of the shared library beside it, even when that
    /// is the only release of the product in the image.
    #[test]
    fn a_component_never_borrows_a_release_from_another_file() {
        let libz = file(
            "/lib/libz.so.1.2.13",
            b"\0 inflate 1.2.13 Copyright 1995-2022 Mark Adler \0",
        );
        let other = file("/usr/lib/libz.so.1", b"\x7fELF\x02\x01\x01\x00\0\0");
        let detection = detect(&Vfs {
            nodes: vec![libz, other],
        });
        assert_eq!(
            names_and_versions(&detection),
            [("zlib", None), ("zlib", Some("1.2.13"))]
        );
        let unversioned = &detection.components[0];
        assert_eq!(unversioned.files.len(), 1);
        assert_eq!(unversioned.files[0].0, "/usr/lib/libz.so.1");
    }

    /// A 64-bit little-endian ELF holding only the given sections.
    fn elf_with_sections(sections: &[(&str, &[u8])]) -> Vec<u8> {
        let mut shstrtab = b"\0.shstrtab\0".to_vec();
        let mut names = Vec::new();
        for (name, _) in sections {
            names.push(shstrtab.len() as u32);
            shstrtab.extend_from_slice(name.as_bytes());
            shstrtab.push(0);
        }
        let mut body = shstrtab.clone();
        let mut places = Vec::new();
        for (_, data) in sections {
            places.push((64 + body.len() as u64, data.len() as u64));
            body.extend_from_slice(data);
        }
        let headers_at = (64 + body.len() as u64).next_multiple_of(8);
        let mut elf = Vec::new();
        elf.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
        elf.extend_from_slice(&3u16.to_le_bytes()); // e_type: shared object
        elf.extend_from_slice(&62u16.to_le_bytes()); // e_machine: x86-64
        elf.extend_from_slice(&1u32.to_le_bytes());
        elf.extend_from_slice(&0u64.to_le_bytes()); // e_entry
        elf.extend_from_slice(&0u64.to_le_bytes()); // e_phoff
        elf.extend_from_slice(&headers_at.to_le_bytes()); // e_shoff
        elf.extend_from_slice(&0u32.to_le_bytes());
        let count = sections.len() as u16 + 2;
        for half in [64u16, 56, 0, 64, count, 1] {
            elf.extend_from_slice(&half.to_le_bytes());
        }
        elf.extend_from_slice(&body);
        elf.resize(headers_at as usize, 0);
        let header = |name: u32, kind: u32, offset: u64, size: u64| {
            let mut header = Vec::new();
            header.extend_from_slice(&name.to_le_bytes());
            header.extend_from_slice(&kind.to_le_bytes());
            header.extend_from_slice(&0u64.to_le_bytes()); // flags
            header.extend_from_slice(&0u64.to_le_bytes()); // addr
            header.extend_from_slice(&offset.to_le_bytes());
            header.extend_from_slice(&size.to_le_bytes());
            header.extend_from_slice(&[0; 16]); // link, info, addralign
            header.extend_from_slice(&0u64.to_le_bytes()); // entsize
            header
        };
        elf.extend_from_slice(&header(0, 0, 0, 0));
        elf.extend_from_slice(&header(1, 3, 64, shstrtab.len() as u64));
        for (name, (offset, size)) in names.iter().zip(places) {
            elf.extend_from_slice(&header(*name, 1, offset, size));
        }
        elf
    }

    fn elf_with_comments(comments: &[&str]) -> Vec<u8> {
        let mut comment = Vec::new();
        for text in comments {
            comment.extend_from_slice(text.as_bytes());
            comment.push(0);
        }
        elf_with_sections(&[(".comment", &comment)])
    }

    fn package_note(json: &str) -> Vec<u8> {
        let mut note = Vec::new();
        note.extend_from_slice(&4u32.to_le_bytes());
        note.extend_from_slice(&(json.len() as u32 + 1).to_le_bytes());
        note.extend_from_slice(&0xcafe_1a7e_u32.to_le_bytes());
        note.extend_from_slice(b"FDO\0");
        note.extend_from_slice(json.as_bytes());
        note.push(0);
        note.resize(note.len().next_multiple_of(4), 0);
        note
    }

    /// Debian trixie's `libgcc_s.so.1` carries no `.comment` and no release string, but its
    /// package metadata note (systemd's ELF package metadata spec) names the package it was built
    /// in: GCC 14.2.0. A source package (`tcp-wrappers`) maps to the product a signature lists it under.
    #[test]
    fn distribution_package_notes_name_the_package() {
        let gcc = package_note(
            r#"{"type":"deb","os":"debian","name":"gcc-14","version":"14.2.0-19","architecture":"armhf"}"#,
        );
        let wrappers = package_note(
            r#"{"type":"deb","os":"debian","name":"tcp-wrappers","version":"7.6.q-33","architecture":"armhf"}"#,
        );
        let fedora = package_note(
            r#"{"type":"rpm","name":"glibc","version":"2.37-4.fc38","architecture":"x86_64","osCpe":"cpe:/o:fedoraproject:fedora:38"}"#,
        );
        let hostile = package_note(r#"{"type":"deb","name":"../../x y","version":"1.0-1"}"#);
        let detection = detect(&Vfs {
            nodes: vec![
                file(
                    "/lib/libgcc_s.so.1",
                    &elf_with_sections(&[(".note.package", &gcc)]),
                ),
                file(
                    "/lib/libwrap.so.0",
                    &elf_with_sections(&[(".note.package", &wrappers)]),
                ),
                file(
                    "/lib64/libc.so.6",
                    &elf_with_sections(&[(".note.package", &fedora)]),
                ),
                file("/bin/x", &elf_with_sections(&[(".note.package", &hostile)])),
            ],
        });
        assert_eq!(
            names_and_versions(&detection),
            [
                ("gcc", Some("14.2.0")),
                ("glibc", Some("2.37")),
                ("tcp_wrappers", Some("7.6.q"))
            ]
        );
    }

    /// A vendor driver's `.modinfo` names it, with its version and licence; an in-tree module of the
    /// same image names nothing of its own.
    #[test]
    fn vendor_kernel_modules_from_their_modinfo() {
        let vendor = elf_with_sections(&[(
            ".modinfo",
            b"version=2.4.0.0\0license=Proprietary\0depends=\0vermagic=2.6.33.2 mod_unload MIPS32_R2 32BIT \0",
        )]);
        let in_tree = elf_with_sections(&[(
            ".modinfo",
            b"license=GPL\0intree=Y\0name=nf_nat_sip\0vermagic=5.10.0 SMP mod_unload \0",
        )]);
        let detection = detect(&Vfs {
            nodes: vec![
                file("/lib/modules/rt2860v2_ap.ko", &vendor),
                file("/lib/modules/nf_nat_sip.ko", &in_tree),
            ],
        });
        // Each module's `vermagic` is its kernel's release, read by the `linux` signature.
        assert_eq!(
            names_and_versions(&detection),
            [
                ("linux_kernel", Some("2.6.33.2")),
                ("linux_kernel", Some("5.10.0")),
                ("rt2860v2_ap", Some("2.4.0.0"))
            ]
        );
        let driver = &detection.components[2];
        assert_eq!(driver.kind, ComponentKind::DeviceDriver);
        assert_eq!(driver.licenses, ["Proprietary"]);
    }

    /// A JAR's Maven coordinates name the Java library inside it, with the purl vulnerability
    /// records of the Maven ecosystem are matched on; a `pom.properties` elsewhere names nothing.
    #[test]
    fn java_libraries_from_their_maven_coordinates() {
        let coordinates =
            b"artifactId=log4j-core\ngroupId=org.apache.logging.log4j\nversion=2.19.0\n";
        let detection = detect(&Vfs {
            nodes: vec![
                file(
                    "META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties",
                    coordinates,
                ),
                file("/opt/app/pom.properties", coordinates),
            ],
        });
        assert_eq!(
            names_and_versions(&detection),
            [("log4j-core", Some("2.19.0"))]
        );
        assert_eq!(
            detection.components[0].purl.as_deref(),
            Some("pkg:maven/org.apache.logging.log4j/log4j-core"),
            "the SBOM writer adds the version"
        );
    }

    /// `libgcc_s.so.1` of a real router (TEW-733GR) holds "GCC: (GNU) 3.3.2" twice, from its
    /// start-up files, and "GCC: (GNU) 4.3.3" 1,743 times: it is GCC 4.3.3's.
    #[test]
    fn the_compiler_of_most_object_files_gives_the_runtime_release() {
        let mut comments = vec!["GCC: (GNU) 3.3.2"; 2];
        comments.extend(vec!["GCC: (GNU) 4.3.3"; 1743]);
        let detection = detect(&Vfs {
            nodes: vec![file("/lib/libgcc_s.so.1", &elf_with_comments(&comments))],
        });
        assert_eq!(names_and_versions(&detection), [("gcc", Some("4.3.3"))]);
        let counts: Vec<(Option<&str>, Option<u32>)> = detection.components[0]
            .occurrences
            .iter()
            .map(|o| (o.states.as_deref(), o.count))
            .collect();
        assert_eq!(
            counts,
            [(Some("3.3.2"), Some(2)), (Some("4.3.3"), Some(1743))]
        );
    }

    /// glibc's `libm.so.6` states no release, but is installed beside `libc.so.6`, which does: a
    /// library named only by its name joins the one release stated in its own folder, and says
    /// so in its evidence.
    #[test]
    fn a_library_beside_one_that_states_the_release_is_of_that_build() {
        let elf = b"\x7fELF\x02\x01\x01\x00\0\0";
        let detection = detect(&Vfs {
            nodes: vec![
                file(
                    "/lib/libz.so.1.2.13",
                    b"\0 inflate 1.2.13 Copyright 1995-2022 Mark Adler \0",
                ),
                file("/lib/libz.so.1", elf),
                file("/opt/lib/libz.so.1", elf),
            ],
        });
        assert_eq!(
            names_and_versions(&detection),
            [("zlib", None), ("zlib", Some("1.2.13"))]
        );
        let zlib = &detection.components[1];
        let files: Vec<&str> = zlib.files.iter().map(|(path, _)| path.as_str()).collect();
        assert_eq!(files, ["/lib/libz.so.1", "/lib/libz.so.1.2.13"]);
        let joined = zlib
            .occurrences
            .iter()
            .find(|o| o.location == "/lib/libz.so.1")
            .unwrap();
        assert_eq!(joined.states, None);
        assert!(
            joined
                .matched
                .as_deref()
                .unwrap()
                .contains("beside libz.so.1.2.13, which states 1.2.13"),
            "{joined:?}"
        );
        assert_eq!(detection.components[0].files[0].0, "/opt/lib/libz.so.1");
    }

    /// One file gives one release of a product: the one most of its evidence states. The losing
    /// candidate stays in the evidence, saying what it states.
    #[test]
    fn the_release_most_evidence_in_a_file_states_wins() {
        let mut text = b"\0\0BusyBox v1.14.1 (2010-05-01) multi-call binary\0".to_vec();
        for _ in 0..3 {
            text.extend_from_slice(b"\0crond (busybox 1.13.2) started, log level %d\0");
            text.extend_from_slice(&[b'x'; 200]);
        }
        let detection = detect(&Vfs {
            nodes: vec![file("/bin/busybox", &text)],
        });
        // The same confidence on both sides: three statements beat one.
        assert_eq!(
            names_and_versions(&detection),
            [("busybox", Some("1.13.2"))]
        );
        let busybox = &detection.components[0];
        let states: Vec<(Option<&str>, Option<u32>)> = busybox
            .occurrences
            .iter()
            .map(|o| (o.states.as_deref(), o.count))
            .collect();
        assert_eq!(states, [(Some("1.14.1"), None), (Some("1.13.2"), Some(3))]);
    }

    fn names_and_versions(detection: &Detection) -> Vec<(&str, Option<&str>)> {
        detection
            .components
            .iter()
            .map(|c| (c.name.as_str(), c.version.as_deref()))
            .collect()
    }

    /// A shared-object number is an ABI version: the libraries below carry no release string, so
    /// each is named with "version unknown", never with the number from its file name.
    #[test]
    fn abi_numbers_are_not_releases() {
        let elf = b"\x7fELF\x02\x01\x01\x00\0\0\0\0";
        let detection = detect(&Vfs {
            nodes: vec![
                file("/usr/lib/libexpat.so.1.8.10", elf),
                file("/lib/libcrypt.so.1.1.0", elf),
                file("/lib/libubox.so.20230523", elf),
                file("/usr/lib/libxtables.so.12.7.0", elf),
            ],
        });
        assert_eq!(
            names_and_versions(&detection),
            [
                ("expat", None),
                ("iptables", None),
                ("libubox", None),
                ("libxcrypt", None)
            ]
        );
        // Where the project's own build puts its release in the file name, it is one.
        let detection = detect(&Vfs {
            nodes: vec![
                file("/lib/libuClibc-0.9.30.1.so", elf),
                file("/lib/libzstd.so.1.5.4", elf),
            ],
        });
        assert_eq!(
            names_and_versions(&detection),
            [("uclibc", Some("0.9.30.1")), ("zstd", Some("1.5.4"))]
        );
    }

    /// The `libcrypto` of `LibreSSL` has the file name of `OpenSSL`'s; its own version string decides.
    #[test]
    fn a_library_belongs_to_the_product_that_reads_its_release() {
        let libressl = file(
            "/usr/lib/libcrypto.so.50.0.1",
            b"\x7fELF\x02\x01\x01\x00\0\0LibreSSL 3.7.3\0\0",
        );
        let detection = detect(&Vfs {
            nodes: vec![libressl],
        });
        assert_eq!(
            names_and_versions(&detection),
            [("libressl", Some("3.7.3"))]
        );
        let openssl = file("/usr/lib/libcrypto.so.3", b"\x7fELF\x02\x01\x01\x00\0\0");
        let detection = detect(&Vfs {
            nodes: vec![openssl],
        });
        assert_eq!(names_and_versions(&detection), [("openssl", None)]);
    }

    /// `OpenWrt`'s opkg names libraries with their ABI number and records the source recipe.
    #[test]
    fn opkg_names_map_to_products() {
        let status = file(
            "/usr/lib/opkg/status",
            b"Package: libubox20230523\nVersion: 2023-05-23-75a3b870-1\nStatus: install hold installed\n\nPackage: uhttpd\nVersion: 2023-06-25-34a8a74d-2\nStatus: install user installed\n\nPackage: libjson-c5\nVersion: 0.16-3\nStatus: install user installed\n",
        );
        let detection = detect(&Vfs {
            nodes: vec![status],
        });
        assert_eq!(
            names_and_versions(&detection),
            [
                ("json-c", Some("0.16")),
                ("libubox", Some("2023-05-23-75a3b870")),
                ("uhttpd", Some("2023-06-25-34a8a74d"))
            ]
        );
        assert_eq!(without_abi_suffix("libubox20230523"), Some("libubox"));
        assert_eq!(without_abi_suffix("libnl-tiny2023-07-27"), None);
        assert_eq!(without_abi_suffix("lua5.1"), None);
        assert_eq!(without_abi_suffix("xz5"), None);
    }

    #[test]
    fn empty_and_garbage_input() {
        assert_eq!(detect(&Vfs::default()), Detection::default());
        let garbage: Vec<u8> = (0..100_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let detection = detect(&Vfs::single("x", garbage.into()));
        assert!(detection.components.is_empty());
    }
}
