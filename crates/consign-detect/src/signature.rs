//! Signature files: what they hold, how they are checked, and how they are compiled into one finder.
//!
//! A signature file describes one product (see the crate docs for the walkthrough). This module turns
//! the embedded TOML texts into a [`Catalog`]: the parsed signatures plus one finder over every
//! anchor of every product (`anchors.rs`), so each file is read once for all products.
//!
//! A scan loads the files in the compact form build.rs wrote (JSON without the test cases, which
//! are four fifths of the bytes and most of what start-up spent lexing TOML); the crate's tests
//! and callers of [`Catalog::build`] parse the whole TOML text. Both forms go through the same
//! `RawSignature` and `parse_signature`.
//!
//! A pattern reads its release one of two ways: a `regex` over the bytes around the anchor (or
//! over their UTF-16LE decoding, `utf16 = true`: [`decode_utf16le`]), or a `fields` template over
//! little-endian integers at fixed offsets from the anchor ([`Fields`]), for firmware headers that
//! state their release only as binary fields. Both stay within the pattern's window: a template's
//! fields are checked against it when the signature loads, and a regex only sees the window.

use std::fmt::Write as _;
use std::sync::{LazyLock, OnceLock};

use consign_model::{ComponentKind, Upstream};
use rayon::prelude::*;
use regex::bytes::{Regex, RegexBuilder};
use serde::Deserialize;

use crate::DetectError;
use crate::anchors::{Anchors, Hit, Hits, MIN_ANCHOR};

include!(concat!(env!("OUT_DIR"), "/signatures.rs"));

/// A signature file's text, in one of the two forms `parse_signature` reads.
#[derive(Clone, Copy)]
pub(crate) enum Compact<'a> {
    /// The file's TOML tables as JSON, without the test cases (written by build.rs).
    Json(&'a str),
    /// TOML: a whole file given by a caller, or an embedded file build.rs could not read as
    /// TOML, kept as it is so that parsing says why.
    Toml(&'a str),
}

/// Default number of bytes on each side of an anchor that a version regex may look at.
const DEFAULT_WINDOW: usize = 96;
/// Largest window a signature may ask for, so a match never reads far from its anchor.
const MAX_WINDOW: usize = 512;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSignature {
    name: String,
    kind: RawKind,
    cpe_vendor: Option<String>,
    cpe_product: Option<String>,
    purl: Option<String>,
    /// The upstream project's home page.
    homepage: Option<String>,
    /// The licence the upstream project declares, as an SPDX expression.
    license: Option<String>,
    #[serde(default)]
    packages: Vec<String>,
    #[serde(default)]
    sonames: Vec<String>,
    #[serde(default)]
    soname_release: bool,
    #[serde(default)]
    version_from_comment: bool,
    #[serde(default)]
    files: Vec<String>,
    #[serde(default)]
    #[allow(
        dead_code,
        reason = "free text for readers of the file; kept so unknown fields stay an error"
    )]
    note: Option<String>,
    /// The Debian suites (or other sources) whose binaries the patterns were cut from, or one
    /// build of a suite (`trixie/armel`); test excerpts from anywhere else are held out.
    #[serde(default)]
    cut_from: Vec<String>,
    /// Why the version tests cover one upstream release only (Debian has shipped no other).
    one_release: Option<String>,
    #[serde(default)]
    pattern: Vec<RawPattern>,
    #[serde(default)]
    bare: Vec<RawBare>,
    #[serde(default)]
    named_file: Vec<RawNamedFile>,
    #[serde(default)]
    test: Vec<RawTest>,
    #[serde(default)]
    file_test: Vec<RawFileTest>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
enum RawKind {
    Library,
    Application,
    OperatingSystem,
    Firmware,
    Framework,
    DeviceDriver,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPattern {
    anchor: String,
    regex: Option<String>,
    window: Option<usize>,
    #[serde(default)]
    only_in: Vec<String>,
    #[serde(default)]
    manifest: bool,
    /// The anchor must start at this offset of the file (a header's magic: `0`).
    anchor_at: Option<usize>,
    /// The anchor and the window are UTF-16LE text: the anchor is encoded, the window decoded
    /// before the regex runs.
    #[serde(default)]
    utf16: bool,
    /// A template that writes the release from little-endian fields after the anchor start
    /// (`{u16@4}.{u8@6}.{u8@7}`), instead of a regex.
    fields: Option<String>,
    /// Why the release is not read in the mirrored string layout of a neighbour pattern
    /// (`mirror.rs`): what the mirror read wrong, as `cargo xtask kb mirror` recorded it.
    no_mirror: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNamedFile {
    name: String,
    content: Option<String>,
    #[serde(default = "default_true")]
    objects_only: bool,
    /// How the rule was learnt (`cargo xtask kb filever`: the releases it read); free text.
    #[allow(
        dead_code,
        reason = "free text for readers of the file; kept so unknown fields stay an error"
    )]
    learnt: Option<String>,
}

const fn default_true() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBare {
    regex: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTest {
    expect: TestExpect,
    excerpt: String,
    version: Option<String>,
    file: Option<String>,
    origin: String,
    /// True when the excerpt's release was not used to write the patterns.
    #[serde(default)]
    heldout: bool,
}

/// A real file name a product installed, and the release its name must give (none: the name alone
/// must give no release of the product).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFileTest {
    /// The path the package installs (`usr/lib/arm-linux-gnueabihf/libelf-0.188.so`).
    path: String,
    version: Option<String>,
    /// Suite, package, package version and architecture it came from.
    origin: String,
}

/// Whether a test excerpt must be recognised or must not be.
#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum TestExpect {
    /// The excerpt must give this product (with `version` when set).
    Positive,
    /// The excerpt must not give this product.
    Negative,
}

/// One literal anchor and the regex that reads the version near it.
pub(crate) struct Pattern {
    /// The literal bytes that must occur.
    pub(crate) anchor: Vec<u8>,
    /// Reads the version around the anchor; `None` names the product without a version.
    pub(crate) regex: Option<LazyRegex>,
    /// Bytes on each side of the anchor the regex may see.
    pub(crate) window: usize,
    /// File-name or SONAME prefixes the pattern is limited to; empty means any file.
    pub(crate) only_in: Vec<String>,
    /// True when the file the pattern reads is a record the build system wrote (a release file),
    /// so a match is `manifest-analysis` evidence rather than `binary-analysis`.
    pub(crate) manifest: bool,
    /// The file offset the anchor must start at; `None`: anywhere.
    pub(crate) anchor_at: Option<usize>,
    /// The anchor was given as text and is searched as UTF-16LE; the regex reads the window
    /// decoded from UTF-16LE ([`decode_utf16le`]).
    pub(crate) utf16: bool,
    /// Reads the release from binary fields instead of a regex.
    pub(crate) fields: Option<Fields>,
    /// Whether the release is also read with the two strings the other way round
    /// ([`Pattern::mirror_regex`]).
    pub(crate) mirror: Mirror,
}

/// A pattern's reading of the mirrored string layout (`mirror.rs`).
pub(crate) enum Mirror {
    /// Not a neighbour pattern, or not a text regex over any file's bytes.
    None,
    /// A neighbour pattern (the release a lone string next to the anchor's string), or in the
    /// embedded catalog one that may be: the regex that reads the release with the two strings
    /// the other way round, derived from `regex` when first needed (when the catalog is built
    /// from given files, so that one that does not compile is an error there; in a scan, when
    /// the anchor is first found where `regex` reads nothing, as regexes are compiled: parsing
    /// all 400 when the embedded catalog is built took it from 2.0 to 4.8 ms). Empty: not a
    /// neighbour pattern after all.
    /// A mirror is tried only where `regex` reads nothing, and its reading is less sure
    /// (medium) than one of the layout the pattern was cut from.
    Derived(OnceLock<Option<LazyRegex>>),
    /// A neighbour pattern whose mirror read a wrong release (`no_mirror`, which says where).
    Refused,
}

impl Pattern {
    /// The regex of the mirrored layout's reading, derived the first time it is asked for.
    pub(crate) fn mirror_regex(&self) -> Option<&LazyRegex> {
        let Mirror::Derived(cell) = &self.mirror else {
            return None;
        };
        cell.get_or_init(|| {
            let (text, _) = crate::mirror::mirror(self.regex.as_ref()?.as_str())?;
            LazyRegex::new(&text, true, Origin::Embedded, "", String::new).ok()
        })
        .as_ref()
    }
}

/// Most fields a `fields` template may have.
const MAX_FIELDS: usize = 8;
/// Longest `fields` template, in bytes.
const MAX_TEMPLATE: usize = 64;

/// A `fields` template: literal text and little-endian integers at fixed offsets from the
/// anchor's start, each written in decimal or hexadecimal, as a driver prints the release it
/// reads from a firmware header (rtw88's `"%u.%u.%u"` of a u16 and two u8s).
///
/// The text is `{TYPE@OFFSET}` or `{TYPE@OFFSET:FORMAT}` between literal characters (no braces):
/// `TYPE` is `u8`, `u16` or `u32` (little-endian), `OFFSET` a decimal byte offset from the anchor's
/// first byte, past the anchor and inside the window after it; `FORMAT` is `x` (hexadecimal, lower
/// case) or `0Nx` (hexadecimal padded with zeros to `N` digits, 1 to 8). A field that does not fit
/// in the file gives no release.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Fields {
    parts: Vec<FieldPart>,
    /// Bytes from the anchor's start that the fields need.
    pub(crate) extent: usize,
}

#[derive(Debug, PartialEq, Eq)]
enum FieldPart {
    Text(String),
    Field {
        offset: usize,
        width: usize,
        format: FieldFormat,
    },
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum FieldFormat {
    Decimal,
    /// Lower-case hexadecimal, zero-padded to this many digits (0: no padding).
    Hex(usize),
}

/// Why a `fields` template was refused, and where.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct FieldsError {
    /// Byte offset in the template.
    pub(crate) offset: usize,
    pub(crate) problem: &'static str,
}

impl Fields {
    /// Parses `template`; every field must lie after an anchor of `anchor_len` bytes and end
    /// within `window` bytes after it.
    pub(crate) fn parse(
        template: &str,
        anchor_len: usize,
        window: usize,
    ) -> Result<Self, FieldsError> {
        let err = |offset: usize, problem: &'static str| FieldsError { offset, problem };
        if template.len() > MAX_TEMPLATE {
            return Err(err(0, "a template is at most 64 bytes"));
        }
        let mut parts = Vec::new();
        let mut fields = 0;
        let mut extent = 0;
        let mut rest = template;
        while !rest.is_empty() {
            let at = template.len() - rest.len();
            let Some(open) = rest.find(['{', '}']) else {
                parts.push(FieldPart::Text(rest.to_owned()));
                break;
            };
            if rest.as_bytes().get(open) == Some(&b'}') {
                return Err(err(at + open, "`}` without `{`"));
            }
            if open > 0 {
                parts.push(FieldPart::Text(rest[..open].to_owned()));
            }
            let Some(close) = rest[open..].find('}').map(|close| open + close) else {
                return Err(err(at + open, "`{` without `}`"));
            };
            let spec = &rest[open + 1..close];
            let field_at = at + open;
            let (field, format) = spec.split_once(':').unwrap_or((spec, ""));
            let Some((kind, offset)) = field.split_once('@') else {
                return Err(err(
                    field_at,
                    "a field is `{u8@OFFSET}`, `{u16@OFFSET}` or `{u32@OFFSET}`",
                ));
            };
            let width = match kind {
                "u8" => 1,
                "u16" => 2,
                "u32" => 4,
                _ => return Err(err(field_at, "a field's type is `u8`, `u16` or `u32`")),
            };
            let offset: usize = offset
                .parse()
                .map_err(|_| err(field_at, "a field's offset is a decimal number of bytes"))?;
            let format = match format {
                "" => FieldFormat::Decimal,
                "x" => FieldFormat::Hex(0),
                padded => {
                    let digits = padded
                        .strip_prefix('0')
                        .and_then(|rest| rest.strip_suffix('x'))
                        .and_then(|digits| digits.parse::<usize>().ok())
                        .filter(|digits| (1..=8).contains(digits));
                    match digits {
                        Some(digits) => FieldFormat::Hex(digits),
                        None => {
                            return Err(err(
                                field_at,
                                "a field's format is `x` or `0Nx` (N from 1 to 8)",
                            ));
                        }
                    }
                }
            };
            if offset < anchor_len {
                return Err(err(
                    field_at,
                    "a field must start after the anchor (it would read the anchor's own bytes)",
                ));
            }
            let end = offset.saturating_add(width);
            if end > anchor_len.saturating_add(window) {
                return Err(err(
                    field_at,
                    "a field must end within `window` bytes after the anchor",
                ));
            }
            fields += 1;
            if fields > MAX_FIELDS {
                return Err(err(field_at, "a template has at most 8 fields"));
            }
            extent = extent.max(end);
            parts.push(FieldPart::Field {
                offset,
                width,
                format,
            });
            rest = &rest[close + 1..];
        }
        if fields == 0 {
            return Err(err(0, "a template needs at least one field"));
        }
        Ok(Self { parts, extent })
    }

    /// The release the fields state in `bytes` (the file from the anchor's start on); `None`
    /// when the file ends before the last field.
    pub(crate) fn read(&self, bytes: &[u8]) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                FieldPart::Text(text) => out.push_str(text),
                FieldPart::Field {
                    offset,
                    width,
                    format,
                } => {
                    let field = bytes.get(*offset..offset.checked_add(*width)?)?;
                    let value = field
                        .iter()
                        .rev()
                        .fold(0_u32, |value, &byte| (value << 8) | u32::from(byte));
                    // Writing to a `String` cannot fail.
                    let _ = match format {
                        FieldFormat::Decimal => write!(out, "{value}"),
                        FieldFormat::Hex(digits) => {
                            write!(out, "{value:0digits$x}", digits = *digits)
                        }
                    };
                }
            }
        }
        Some(out)
    }
}

/// Decodes UTF-16LE `bytes` for a `utf16` pattern's regex: the text as UTF-8, and for each of its
/// bytes (and one past the end) the offset in `bytes` of the code unit it came from.
///
/// An unpaired surrogate becomes U+FFFD (which no version regex reads), and an odd last byte is
/// left out. Both vectors are at most three times the window, which `MAX_WINDOW` bounds.
pub(crate) fn decode_utf16le(bytes: &[u8]) -> (Vec<u8>, Vec<usize>) {
    let units = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]));
    let mut text = Vec::with_capacity(bytes.len());
    let mut source = Vec::with_capacity(bytes.len() + 1);
    let mut unit_idx = 0;
    for decoded in char::decode_utf16(units) {
        let (ch, units_used) = match decoded {
            Ok(ch) => (ch, ch.len_utf16()),
            Err(_) => (char::REPLACEMENT_CHARACTER, 1),
        };
        let mut buf = [0; 4];
        for &byte in ch.encode_utf8(&mut buf).as_bytes() {
            text.push(byte);
            source.push(unit_idx * 2);
        }
        unit_idx += units_used;
    }
    source.push(unit_idx * 2);
    (text, source)
}

/// A signature's regex (a pattern's version regex, a bare version regex, a named file's name or
/// content regex), compiled the first time it is used in the embedded catalog, or when the
/// signatures are parsed, for [`Catalog::build`].
///
/// The embedded catalog has some 950 of them and a small image meets a handful: compiling them all
/// was most of a scan's start-up. The crate's tests compile every embedded one
/// (`every_embedded_signature_compiles`), so a regex that does not compile cannot ship; if one
/// did, it would never match.
pub(crate) struct LazyRegex {
    text: String,
    /// The regex must have a version group (`compile`), not only parse (`build_regex`).
    version: bool,
    compiled: OnceLock<Option<Regex>>,
}

impl LazyRegex {
    /// Compiles `text` now (an error says which `field` of which `file`) for [`Origin::Given`],
    /// else on first use.
    fn new(
        text: &str,
        version: bool,
        origin: Origin,
        file: &str,
        field: impl FnOnce() -> String,
    ) -> Result<Self, DetectError> {
        let compiled = match origin {
            Origin::Given => {
                let field = field();
                let regex = if version {
                    compile(text, file, &field)?
                } else {
                    build_regex(text, file, &field)?
                };
                OnceLock::from(Some(regex))
            }
            Origin::Embedded => OnceLock::new(),
        };
        Ok(Self {
            text: text.to_owned(),
            version,
            compiled,
        })
    }

    /// The compiled regex; `None` if it does not compile (or has no version group when it needs
    /// one).
    pub(crate) fn get(&self) -> Option<&Regex> {
        self.compiled
            .get_or_init(|| {
                if self.version {
                    compile(&self.text, "", "").ok()
                } else {
                    build_regex(&self.text, "", "").ok()
                }
            })
            .as_ref()
    }

    /// The regex's text.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }
}

/// Where a catalog's signatures come from, which decides what is checked while parsing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Files a caller gave (`cargo xtask kb`, the crate's tests): every version regex is compiled
    /// while parsing, so one that does not compile is an error of the catalog, and every rule is
    /// checked, the test cases included.
    Given,
    /// The crate's own files in the compact form a scan loads: version regexes are compiled the
    /// first time a pattern's anchor is found, and the test cases are not there (build.rs left
    /// them out), so the rules about them are not checked here. The crate's tests check the same
    /// files whole, as [`Origin::Given`].
    Embedded,
}

/// Most bytes of a file that a [`NamedFile`] content regex reads: release files are a few lines.
pub(crate) const NAMED_FILE_CONTENT_BYTES: usize = 4096;

/// A file that a product installs under a name of its own, optionally checked by its content.
///
/// The name regex must match the whole file name; its first group, if it has one, is the release
/// (`libuClibc-0.9.30.1.so`). The content regex, if given, must match the file's first
/// [`NAMED_FILE_CONTENT_BYTES`] bytes, and its first group, when it takes part, is the release.
pub(crate) struct NamedFile {
    pub(crate) name: LazyRegex,
    /// What every name `name` matches starts with ([`literal_prefix`]): a file name without it
    /// is passed over before the regex is compiled or run. Every file meets every named-file
    /// rule, and compiling them all was a fifth of a small scan's start-up.
    pub(crate) name_prefix: String,
    pub(crate) content: Option<LazyRegex>,
    /// Only ELF objects count (a library); otherwise any regular file (a release file).
    pub(crate) objects_only: bool,
}

/// A test case from a signature file.
#[cfg_attr(
    not(test),
    allow(dead_code, reason = "only the signature test cases read them")
)]
pub(crate) struct SignatureTest {
    pub(crate) expect: TestExpect,
    pub(crate) excerpt: Vec<u8>,
    pub(crate) version: Option<String>,
    pub(crate) file: Option<String>,
    pub(crate) origin: String,
    pub(crate) heldout: bool,
}

/// A real file name a product installed and the release its name alone must give (`None`: no
/// release of the product, though it may name the product).
#[cfg_attr(
    not(test),
    allow(dead_code, reason = "only the signature test cases read them")
)]
pub(crate) struct FileTest {
    pub(crate) path: String,
    pub(crate) version: Option<String>,
    pub(crate) origin: String,
}

/// One product's signature, parsed and compiled.
#[cfg_attr(
    not(test),
    allow(
        dead_code,
        reason = "`file` and `tests` are read by the signature test cases"
    )
)]
pub(crate) struct Signature {
    /// The signature file it came from.
    pub(crate) file: String,
    pub(crate) name: String,
    pub(crate) kind: ComponentKind,
    pub(crate) cpe_vendor: Option<String>,
    pub(crate) cpe_product: Option<String>,
    pub(crate) purl: Option<String>,
    /// What the knowledge base says of the upstream project.
    pub(crate) upstream: Upstream,
    /// Package-database names (binary and source) that are this product.
    pub(crate) packages: Vec<String>,
    /// SONAME or file-name prefixes (`libz.so`) of this product's libraries.
    pub(crate) sonames: Vec<String>,
    /// True when this product's own libraries are built by itself and `.comment` gives the release (GCC).
    pub(crate) version_from_comment: bool,
    /// File names that raise confidence.
    pub(crate) files: Vec<String>,
    pub(crate) patterns: Vec<Pattern>,
    /// Version regexes run over a whole file that `sonames` or `files` identified as this product.
    pub(crate) bare: Vec<LazyRegex>,
    /// Files known by their name (and content), which name the product and may carry its release:
    /// the one mechanism for releases read from file names (`soname_release` is written as one).
    pub(crate) named_files: Vec<NamedFile>,
    pub(crate) tests: Vec<SignatureTest>,
    /// Real file names and the release each must give.
    pub(crate) file_tests: Vec<FileTest>,
    /// Where the patterns were cut from (Debian suites).
    pub(crate) cut_from: Vec<String>,
    /// Why only one release is tested, when that is so.
    pub(crate) one_release: Option<String>,
}

/// All signatures and the finder of their anchors.
pub(crate) struct Catalog {
    pub(crate) signatures: Vec<Signature>,
    /// Anchors of every pattern of every signature that may occur anywhere, in the order of
    /// `anchor_owner`.
    pub(crate) anchors: Anchors,
    /// For each anchor of `anchors`, then each of `fixed`: (signature index, pattern index).
    pub(crate) anchor_owner: Vec<(usize, usize)>,
    /// The entries of `anchor_owner` (its tail) whose pattern's anchor sits at a fixed file offset
    /// (`anchor_at`): compared there, never searched for, so a short header magic (rtw88's
    /// `"\x88\0\0`) costs nothing in the files it is not at the start of.
    pub(crate) fixed: std::ops::Range<usize>,
}

/// The catalog built from the embedded files, once per process.
pub(crate) static CATALOG: LazyLock<Result<Catalog, DetectError>> =
    LazyLock::new(|| Catalog::build_with(SIGNATURE_COMPACT, Origin::Embedded));

/// The embedded files parsed whole, test cases included, with every rule checked: what the
/// crate's tests read the cases from (and run through [`CATALOG`], as a scan would).
#[cfg(test)]
pub(crate) static TESTED: LazyLock<Catalog> = LazyLock::new(|| {
    Catalog::build(SIGNATURE_FILES.iter().copied())
        .unwrap_or_else(|err| panic!("the embedded signatures: {err}"))
});

impl Catalog {
    /// Parses and compiles signature files given as (file name, text); any regex that does not
    /// compile is an error.
    pub(crate) fn build<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, DetectError> {
        let files: Vec<(&str, Compact<'_>)> = files
            .into_iter()
            .map(|(file, text)| (file, Compact::Toml(text)))
            .collect();
        Self::build_with(&files, Origin::Given)
    }

    fn build_with(files: &[(&str, Compact<'_>)], origin: Origin) -> Result<Self, DetectError> {
        // Whole TOML files with every regex compiled (`cargo xtask kb`, the tests) take every
        // core. The embedded catalog is built on one thread: it is quick in its compact form, and
        // it is first used from the unpacker's worker threads (`Prepared`), which must never wait
        // on a build that waits for them. The order, and the first error in file order, are
        // those of a sequential loop.
        let parse = |&(file, text): &(&str, Compact<'_>)| parse_signature(file, text, origin);
        let parsed: Vec<Result<Signature, DetectError>> = match origin {
            Origin::Given => files.par_iter().map(parse).collect(),
            Origin::Embedded => files.iter().map(parse).collect(),
        };
        let signatures = parsed.into_iter().collect::<Result<Vec<_>, _>>()?;
        let mut anchors: Vec<&[u8]> = Vec::new();
        let mut anchor_owner = Vec::new();
        let mut fixed_owners = Vec::new();
        for (sig_idx, signature) in signatures.iter().enumerate() {
            for (pattern_idx, pattern) in signature.patterns.iter().enumerate() {
                if pattern.anchor_at.is_some() {
                    fixed_owners.push((sig_idx, pattern_idx));
                } else {
                    anchors.push(&pattern.anchor);
                    anchor_owner.push((sig_idx, pattern_idx));
                }
            }
        }
        let fixed = anchor_owner.len()..anchor_owner.len() + fixed_owners.len();
        anchor_owner.extend(fixed_owners);
        let anchors = Anchors::new(&anchors).map_err(|index| {
            let file = anchor_owner
                .get(index)
                .and_then(|(sig_idx, _)| signatures.get(*sig_idx))
                .map_or_else(String::new, |signature| signature.file.clone());
            DetectError::SignatureInvalid {
                file,
                problem: "an anchor must be at least 4 bytes, or it matches everywhere",
            }
        })?;
        Ok(Self {
            signatures,
            anchors,
            anchor_owner,
            fixed,
        })
    }

    /// Every anchor in `data`: those at their fixed offsets first, then what the finder finds (at
    /// most `max_hits`, plus each anchor's first: [`Anchors::find`]).
    pub(crate) fn find_anchors(&self, data: &[u8], max_hits: usize) -> Hits {
        let mut hits: Vec<Hit> = self
            .fixed
            .clone()
            .filter_map(|owner_idx| {
                let &(sig_idx, pattern_idx) = self.anchor_owner.get(owner_idx)?;
                let pattern = self.signatures.get(sig_idx)?.patterns.get(pattern_idx)?;
                let start = pattern.anchor_at?;
                let end = start.checked_add(pattern.anchor.len())?;
                (data.get(start..end)? == pattern.anchor.as_slice()).then_some(Hit {
                    anchor: owner_idx,
                    start,
                    end,
                })
            })
            .collect();
        let found = self.anchors.find(data, max_hits);
        hits.extend(found.kept);
        Hits {
            kept: hits,
            ..found
        }
    }

    /// The signature of the product called `name`.
    pub(crate) fn by_name(&self, name: &str) -> Option<&Signature> {
        self.signatures
            .iter()
            .find(|signature| signature.name == name)
    }

    /// The signature whose `packages` list holds `package`.
    pub(crate) fn by_package(&self, package: &str) -> Option<&Signature> {
        self.signatures
            .iter()
            .find(|signature| signature.packages.iter().any(|name| name == package))
    }
}

fn parse_signature(
    file: &str,
    text: Compact<'_>,
    origin: Origin,
) -> Result<Signature, DetectError> {
    let raw: RawSignature = match text {
        Compact::Toml(text) => {
            toml::from_str(text).map_err(|source| DetectError::SignatureToml {
                file: file.to_owned(),
                source: Box::new(source),
            })?
        }
        Compact::Json(text) => {
            serde_json::from_str(text).map_err(|source| DetectError::SignatureCompact {
                file: file.to_owned(),
                source: Box::new(source),
            })?
        }
    };
    let invalid = |problem: &'static str| DetectError::SignatureInvalid {
        file: file.to_owned(),
        problem,
    };
    if raw.name.is_empty() || raw.name != raw.name.to_lowercase() {
        return Err(invalid(
            "`name` must be the lower-case upstream product name",
        ));
    }
    if raw.pattern.is_empty()
        && raw.sonames.is_empty()
        && raw.files.is_empty()
        && raw.packages.is_empty()
        && raw.named_file.is_empty()
    {
        return Err(invalid(
            "a signature needs at least one `pattern`, `sonames`, `files`, `named_file` or `packages` entry",
        ));
    }
    if origin == Origin::Given
        && !raw
            .test
            .iter()
            .any(|test| test.expect == TestExpect::Positive)
        && !raw.file_test.iter().any(|test| test.version.is_some())
    {
        return Err(invalid(
            "a signature needs at least one positive `test` (or a `file_test` with a version)",
        ));
    }
    let mut patterns = Vec::with_capacity(raw.pattern.len());
    for (index, pattern) in raw.pattern.iter().enumerate() {
        let anchor = unescape(&pattern.anchor).map_err(|offset| DetectError::SignatureEscape {
            file: file.to_owned(),
            field: format!("pattern[{index}].anchor"),
            offset,
        })?;
        let anchor = if pattern.utf16 {
            let text = std::str::from_utf8(&anchor).map_err(|_| {
                invalid("a `utf16` pattern's anchor must be text (UTF-8 in the file)")
            })?;
            text.encode_utf16().flat_map(u16::to_le_bytes).collect()
        } else {
            anchor
        };
        if anchor.len() < MIN_ANCHOR {
            return Err(invalid(
                "an anchor must be at least 4 bytes, or it matches everywhere",
            ));
        }
        if pattern.fields.is_some() && (pattern.regex.is_some() || pattern.utf16) {
            return Err(invalid(
                "a pattern reads its release with `regex` (text, optionally `utf16`) or `fields` (binary), not both",
            ));
        }
        let regex = pattern
            .regex
            .as_deref()
            .map(|text| {
                LazyRegex::new(text, true, origin, file, || {
                    format!("pattern[{index}].regex")
                })
            })
            .transpose()?;
        let window = pattern.window.unwrap_or(DEFAULT_WINDOW);
        if window > MAX_WINDOW {
            return Err(invalid("`window` is larger than 512 bytes"));
        }
        let mirror = mirror_of(pattern, index, origin, file)?;
        let fields = pattern
            .fields
            .as_deref()
            .map(|template| {
                Fields::parse(template, anchor.len(), window).map_err(|err| {
                    DetectError::SignatureFields {
                        file: file.to_owned(),
                        field: format!("pattern[{index}].fields"),
                        offset: err.offset,
                        problem: err.problem,
                    }
                })
            })
            .transpose()?;
        patterns.push(Pattern {
            anchor,
            regex,
            window,
            only_in: pattern.only_in.clone(),
            manifest: pattern.manifest,
            anchor_at: pattern.anchor_at,
            utf16: pattern.utf16,
            fields,
            mirror,
        });
    }
    let mut bare = Vec::with_capacity(raw.bare.len());
    for (index, entry) in raw.bare.iter().enumerate() {
        bare.push(LazyRegex::new(&entry.regex, true, origin, file, || {
            format!("bare[{index}].regex")
        })?);
    }
    if !bare.is_empty() && raw.sonames.is_empty() && raw.files.is_empty() {
        return Err(invalid(
            "`bare` regexes need `sonames` or `files` to say which files they may read",
        ));
    }
    let mut named_files = Vec::with_capacity(raw.named_file.len());
    for (index, entry) in raw.named_file.iter().enumerate() {
        // A name regex that is not anchored at both ends would also accept `libfoo.so.bak` or
        // `old-libfoo.so`, which are not what the product installed.
        if !entry.name.starts_with('^') || !entry.name.ends_with('$') {
            return Err(invalid(
                "a `named_file` name regex must match the whole name (start with ^, end with $)",
            ));
        }
        let name = LazyRegex::new(&entry.name, false, origin, file, || {
            format!("named_file[{index}].name")
        })?;
        let content = entry
            .content
            .as_deref()
            .map(|text| {
                LazyRegex::new(text, false, origin, file, || {
                    format!("named_file[{index}].content")
                })
            })
            .transpose()?;
        named_files.push(NamedFile {
            name_prefix: literal_prefix(&entry.name),
            name,
            content,
            objects_only: entry.objects_only,
        });
    }
    if raw.soname_release {
        if raw.sonames.is_empty() {
            return Err(invalid("`soname_release` needs `sonames`"));
        }
        // `libzstd.so.1.5.4`: the numbers after the SONAME prefix, at least two of them, are the
        // release. The same rule as a learnt one, written for the product by hand.
        for (index, prefix) in raw.sonames.iter().enumerate() {
            let text = format!(r"^{}\.(\d+(?:\.\d+)+)$", regex::escape(prefix));
            named_files.push(NamedFile {
                name_prefix: literal_prefix(&text),
                name: LazyRegex::new(&text, false, origin, file, || {
                    format!("sonames[{index}] (soname_release)")
                })?,
                content: None,
                objects_only: false,
            });
        }
    }
    let mut tests = Vec::with_capacity(raw.test.len());
    for (index, test) in raw.test.into_iter().enumerate() {
        let excerpt = unescape(&test.excerpt).map_err(|offset| DetectError::SignatureEscape {
            file: file.to_owned(),
            field: format!("test[{index}].excerpt"),
            offset,
        })?;
        tests.push(SignatureTest {
            expect: test.expect,
            excerpt,
            version: test.version,
            file: test.file,
            origin: test.origin,
            heldout: test.heldout,
        });
    }
    let file_tests = raw
        .file_test
        .into_iter()
        .map(|test| FileTest {
            path: test.path,
            version: test.version,
            origin: test.origin,
        })
        .collect();
    Ok(Signature {
        file: file.to_owned(),
        name: raw.name,
        kind: match raw.kind {
            RawKind::Library => ComponentKind::Library,
            RawKind::Application => ComponentKind::Application,
            RawKind::OperatingSystem => ComponentKind::OperatingSystem,
            RawKind::Firmware => ComponentKind::Firmware,
            RawKind::Framework => ComponentKind::Framework,
            RawKind::DeviceDriver => ComponentKind::DeviceDriver,
        },
        cpe_vendor: raw.cpe_vendor,
        cpe_product: raw.cpe_product,
        purl: raw.purl,
        upstream: Upstream {
            homepage: raw.homepage,
            license: raw.license,
        },
        packages: raw.packages,
        sonames: raw.sonames,
        version_from_comment: raw.version_from_comment,
        files: raw.files,
        patterns,
        bare,
        named_files,
        tests,
        file_tests,
        cut_from: raw.cut_from,
        one_release: raw.one_release,
    })
}

/// The mirrored reading of a pattern (`mirror.rs`): for a text regex over any file's bytes (not
/// UTF-16, not a release file the build wrote, not a header at a fixed offset) of one of the
/// neighbour shapes, unless the pattern opts out with `no_mirror`.
fn mirror_of(
    pattern: &RawPattern,
    index: usize,
    origin: Origin,
    file: &str,
) -> Result<Mirror, DetectError> {
    let invalid = |problem: &'static str| DetectError::SignatureInvalid {
        file: file.to_owned(),
        problem,
    };
    let text = pattern
        .regex
        .as_deref()
        .filter(|_| !pattern.utf16 && !pattern.manifest && pattern.anchor_at.is_none());
    match (&pattern.no_mirror, origin) {
        (Some(reason), _) if reason.trim().is_empty() => Err(invalid(
            "`no_mirror` must say why (what the mirror read wrong)",
        )),
        (Some(_), _) => match text.and_then(crate::mirror::mirror) {
            Some(_) => Ok(Mirror::Refused),
            None => Err(invalid(
                "`no_mirror` on a pattern that has no mirrored reading (not a neighbour pattern)",
            )),
        },
        (None, Origin::Given) => match text.and_then(crate::mirror::mirror) {
            Some((mirrored, _)) => LazyRegex::new(&mirrored, true, origin, file, || {
                format!("pattern[{index}].regex (mirrored)")
            })
            .map(|regex| Mirror::Derived(OnceLock::from(Some(regex)))),
            None => Ok(Mirror::None),
        },
        (None, Origin::Embedded) => Ok(if text.is_some_and(crate::mirror::may_mirror) {
            Mirror::Derived(OnceLock::new())
        } else {
            Mirror::None
        }),
    }
}

/// The literal text every match of a `^`-anchored regex starts with: its leading characters up
/// to the first one that is not a plain or escaped literal (`^libcapnp\-(\d+)\.so$` gives
/// `libcapnp-`). A literal that a quantifier makes optional is left out (`^ab?c` gives `a`), and a
/// regex with an alternation outside any group gives nothing, since its other branches need not
/// start the same way. Nothing is always a safe answer: every name starts with it.
fn literal_prefix(regex: &str) -> String {
    let Some(body) = regex.strip_prefix('^') else {
        return String::new();
    };
    if has_top_level_alternation(body) {
        return String::new();
    }
    let mut prefix = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped) if escaped.is_ascii_punctuation() => prefix.push(escaped),
                _ => break,
            },
            '?' | '*' | '{' => {
                prefix.pop();
                break;
            }
            '.' | '[' | '(' | ')' | '|' | '+' | '}' | '^' | '$' => break,
            literal => prefix.push(literal),
        }
    }
    prefix
}

/// Whether `regex` has a `|` outside every group and class.
fn has_top_level_alternation(regex: &str) -> bool {
    let (mut depth, mut in_class, mut chars) = (0usize, false, regex.chars());
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => depth = depth.saturating_sub(1),
            '|' if !in_class && depth == 0 => return true,
            _ => {}
        }
    }
    false
}

/// Compiles a signature regex; a version group is optional.
fn build_regex(text: &str, file: &str, field: &str) -> Result<Regex, DetectError> {
    // Byte mode: firmware strings are not UTF-8, and `\d` must mean ASCII digits only.
    RegexBuilder::new(text)
        .unicode(false)
        .size_limit(1 << 20)
        .build()
        .map_err(|source| DetectError::SignatureRegex {
            file: file.to_owned(),
            field: field.to_owned(),
            source,
        })
}

/// Compiles a version regex, which must have a group for the version.
fn compile(text: &str, file: &str, field: &str) -> Result<Regex, DetectError> {
    let regex = build_regex(text, file, field)?;
    let has_version_group =
        regex.capture_names().any(|name| name == Some("version")) || regex.captures_len() > 1;
    if has_version_group {
        Ok(regex)
    } else {
        Err(DetectError::SignatureInvalid {
            file: file.to_owned(),
            problem: "a version regex needs a capture group (`version` or the first group)",
        })
    }
}

/// Decodes the escapes used in signature files: `\xNN`, `\n`, `\r`, `\t`, `\0`, `\\`.
///
/// Returns the byte offset of a bad escape on error.
pub fn unescape(text: &str) -> Result<Vec<u8>, usize> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut idx = 0;
    while let Some(&byte) = bytes.get(idx) {
        if byte != b'\\' {
            out.push(byte);
            idx += 1;
            continue;
        }
        let escaped = *bytes.get(idx + 1).ok_or(idx)?;
        match escaped {
            b'x' => {
                let hex = bytes.get(idx + 2..idx + 4).ok_or(idx)?;
                let hex = std::str::from_utf8(hex).map_err(|_| idx)?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| idx)?);
                idx += 4;
                continue;
            }
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'0' => out.push(0),
            b'\\' => out.push(b'\\'),
            _ => return Err(idx),
        }
        idx += 2;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_decodes_and_rejects() {
        assert_eq!(unescape(r"a\x00b\n\\").unwrap(), b"a\0b\n\\");
        assert_eq!(unescape(r"abc\q"), Err(3));
        assert_eq!(unescape(r"\x0"), Err(0));
    }

    #[test]
    fn every_embedded_signature_compiles() {
        // Every regex now, as `cargo xtask kb` compiles them; the embedded catalog compiles a
        // pattern's version regex when its anchor is first found.
        let catalog = &*TESTED;
        assert_eq!(catalog.signatures.len(), SIGNATURE_FILES.len());
        let mut names: Vec<&str> = catalog.signatures.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(
            before,
            names.len(),
            "two signature files name the same product"
        );
    }

    /// The literal a named-file regex's matches start with, and nothing where its start is not one
    /// literal: the gate in `scan::named_file` must never pass over a name the regex matches.
    #[test]
    fn literal_prefixes_of_name_regexes() {
        for (regex, prefix) in [
            (r"^libcapnp\-(\d+(?:\.\d+)*)\.so$", "libcapnp-"),
            (
                r"^libgrpc\+\+_alts\.so\.(\d+(?:\.\d+){2})$",
                "libgrpc++_alts.so.",
            ),
            (r"^htc_(?:9271|7010)\.fw$", "htc_"),
            (r"^segment\d+-0x[0-9a-f]+\.bin$", "segment"),
            (r"^libfoo\.so$", "libfoo.so"),
            // A quantified last literal is optional or repeated: it is left out.
            (r"^libab?c\.so$", "liba"),
            (r"^lib-*x$", "lib"),
            (r"^libz{1,2}$", "lib"),
            (r"^libz+\.so$", "libz"),
            // No leading literal, or a top-level alternation: no prefix.
            (r"^(?:ld64-|ld-|lib)uClibc-(1\.\d+\.\d+)\.so$", ""),
            (r"^(?i)libfoo$", ""),
            (r"^libfoo|^bar$", ""),
            (r"^a[|]b$", "a"),
            (r"^\d+\.so$", ""),
            ("libfoo$", ""),
        ] {
            assert_eq!(literal_prefix(regex), prefix, "{regex}");
            let compiled = build_regex(regex, "", "").unwrap();
            for name in ["libfoo", "barx", "libac.so", "lib-x", "libz.so", "a|b"] {
                if compiled.is_match(name.as_bytes()) {
                    assert!(name.starts_with(prefix), "{regex} matches {name}");
                }
            }
        }
    }

    /// Every pattern in the shapes `cargo xtask kb` cuts next to a neighbouring string reads the
    /// mirrored layout too, unless it says why not: the derivation keeps up with the generator.
    #[test]
    fn neighbour_patterns_have_a_mirror() {
        let mut missing = Vec::new();
        let mut mirrored = 0;
        for signature in &TESTED.signatures {
            for (index, pattern) in signature.patterns.iter().enumerate() {
                let Some(regex) = &pattern.regex else {
                    continue;
                };
                match (&pattern.mirror, pattern.mirror_regex()) {
                    // A mirror is itself a neighbour pattern: `kb mirror` runs each on its own
                    // as a draft pattern with `no_mirror`, which needs one.
                    (_, Some(mirror)) if crate::mirror::mirror(mirror.as_str()).is_none() => {
                        missing.push(format!(
                            "{} pattern[{index}]: the mirror {} has no mirror",
                            signature.file,
                            mirror.as_str()
                        ));
                    }
                    (_, Some(_)) => mirrored += 1,
                    (Mirror::Refused, None) => {}
                    (Mirror::None | Mirror::Derived(_), None) => {
                        if regex.text.contains(crate::mirror::BETWEEN) {
                            missing.push(format!(
                                "{} pattern[{index}]: {}",
                                signature.file, regex.text
                            ));
                        }
                    }
                }
            }
        }
        assert!(missing.is_empty(), "{}", missing.join("\n"));
        assert!(mirrored > 300, "only {mirrored} patterns are mirrored");
    }

    /// What a signature says, but its test cases, in a form that can be compared.
    fn summary(signature: &Signature) -> String {
        let patterns: Vec<String> = signature
            .patterns
            .iter()
            .map(|p| {
                format!(
                    "{:?} {:?} {} {} {:?} {} {:?} {} {:?}",
                    p.anchor,
                    p.regex.as_ref().map(|r| &r.text),
                    match (&p.mirror, p.mirror_regex()) {
                        (Mirror::Refused, _) => "refused",
                        (_, Some(mirror)) => mirror.as_str(),
                        (_, None) => "none",
                    },
                    p.window,
                    p.only_in,
                    p.manifest,
                    p.anchor_at,
                    p.utf16,
                    p.fields,
                )
            })
            .collect();
        let bare: Vec<&str> = signature.bare.iter().map(LazyRegex::as_str).collect();
        let named: Vec<String> = signature
            .named_files
            .iter()
            .map(|n| {
                format!(
                    "{} {:?} {}",
                    n.name.as_str(),
                    n.content.as_ref().map(LazyRegex::as_str),
                    n.objects_only
                )
            })
            .collect();
        format!(
            "{} {} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {} {:?} {patterns:?} {bare:?} {named:?} {:?} {:?}",
            signature.file,
            signature.name,
            signature.kind,
            signature.cpe_vendor,
            signature.cpe_product,
            signature.purl,
            signature.upstream,
            signature.packages,
            signature.sonames,
            signature.version_from_comment,
            signature.files,
            signature.cut_from,
            signature.one_release,
        )
    }

    /// The compact form build.rs writes for scans says what the whole files say, test cases
    /// aside, and every embedded file has one.
    #[test]
    fn compact_catalog_is_the_files_without_their_tests() {
        let compact = CATALOG.as_ref().unwrap();
        assert_eq!(SIGNATURE_COMPACT.len(), SIGNATURE_FILES.len());
        assert!(
            SIGNATURE_COMPACT
                .iter()
                .all(|(_, text)| matches!(text, Compact::Json(_))),
            "every embedded file converts"
        );
        assert_eq!(compact.signatures.len(), TESTED.signatures.len());
        for (compact, whole) in compact.signatures.iter().zip(&TESTED.signatures) {
            assert!(compact.tests.is_empty() && compact.file_tests.is_empty());
            assert_eq!(summary(compact), summary(whole));
        }
        assert_eq!(compact.anchor_owner, TESTED.anchor_owner);
        assert_eq!(compact.fixed, TESTED.fixed);
    }

    /// The Debian suites the knowledge base cuts signatures from and tests them on.
    const SUITES: [&str; 4] = ["bullseye", "bookworm", "trixie", "sid"];

    /// The suite a test's origin names (`Debian trixie busybox ...`), if it is a Debian one.
    fn origin_suite(origin: &str) -> Option<&'static str> {
        SUITES
            .into_iter()
            .find(|suite| origin.contains(&format!("Debian {suite} ")))
    }

    /// The knowledge base's rules for where tests come from: a held-out test is from a suite
    /// the patterns were not cut from, and every Debian test from such a suite says so.
    #[test]
    fn held_out_tests_are_from_suites_not_cut_from() {
        let catalog = &*TESTED;
        let mut failures = Vec::new();
        for signature in &catalog.signatures {
            // `bookworm` (any architecture of the suite) or `bookworm/i386` (one build).
            for cut in &signature.cut_from {
                let suite = cut.split_once('/').map_or(cut.as_str(), |(suite, _)| suite);
                if !SUITES.contains(&suite) {
                    failures.push(format!(
                        "{}: cut_from names `{cut}`, not one of {SUITES:?} (or SUITE/ARCH)",
                        signature.file
                    ));
                }
            }
            for (index, test) in signature.tests.iter().enumerate() {
                let suite = origin_suite(&test.origin);
                let build = suite.and_then(|s| {
                    let arch = test.origin.split_once(" (")?.1.split_once(')')?.0;
                    Some(format!("{s}/{arch}"))
                });
                let cut = suite.is_some_and(|s| {
                    signature
                        .cut_from
                        .iter()
                        .any(|c| c == s || build.as_deref() == Some(c.as_str()))
                });
                if test.heldout && (suite.is_none() || cut) {
                    failures.push(format!(
                        "{} test[{index}]: held out, but its origin is not a Debian suite outside cut_from {:?}: {}",
                        signature.file, signature.cut_from, test.origin
                    ));
                }
                if !test.heldout
                    && !signature.cut_from.is_empty()
                    && test.expect == TestExpect::Positive
                    && suite.is_some()
                    && !cut
                {
                    failures.push(format!(
                        "{} test[{index}]: from a suite the patterns were not cut from, so `heldout = true`: {}",
                        signature.file, test.origin
                    ));
                }
            }
            if signature
                .one_release
                .as_deref()
                .is_some_and(|reason| reason.trim().is_empty())
            {
                failures.push(format!("{}: one_release must say why", signature.file));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// Reads `bytes` (the file from the anchor's start) with `template` after a 4-byte anchor and
    /// a 16-byte window.
    #[track_caller]
    fn check_fields(template: &str, bytes: &[u8], expect: Result<Option<&str>, &str>) {
        let got = Fields::parse(template, 4, 16)
            .map(|fields| fields.read(bytes))
            .map_err(|err| format!("{} at {}", err.problem, err.offset));
        let expect = expect
            .map(|version| version.map(str::to_owned))
            .map_err(str::to_owned);
        assert_eq!(got, expect);
    }

    #[test]
    fn fields_read_little_endian_integers() {
        let header = b"\x22\x88\x00\x00\x09\x00\x09\x0f\x53\x72\x9a\x09";
        check_fields("{u16@4}.{u8@6}.{u8@7}", header, Ok(Some("9.9.15")));
        check_fields("0x{u32@8:08x}", header, Ok(Some("0x099a7253")));
        check_fields("{u32@8:x}-{u8@6:02x}", header, Ok(Some("99a7253-09")));
        check_fields("v{u32@8}", header, Ok(Some("v161116755")));
        // The file ends inside a field: no release, and no panic.
        check_fields("{u16@4}.{u32@10}", header, Ok(None));
        check_fields("{u8@19}", header, Ok(None));
        check_fields("{u8@4}", b"", Ok(None));
    }

    #[test]
    fn fields_templates_are_checked() {
        let header = b"";
        check_fields(
            "{u8@2}",
            header,
            Err("a field must start after the anchor (it would read the anchor's own bytes) at 0"),
        );
        check_fields(
            "{u32@17}",
            header,
            Err("a field must end within `window` bytes after the anchor at 0"),
        );
        check_fields(
            "{u16@19}",
            header,
            Err("a field must end within `window` bytes after the anchor at 0"),
        );
        check_fields(
            "{u16@99999999999999999999999}",
            header,
            Err("a field's offset is a decimal number of bytes at 0"),
        );
        check_fields(
            "1.{i16@4}",
            header,
            Err("a field's type is `u8`, `u16` or `u32` at 2"),
        );
        check_fields(
            "{u8@4:d}",
            header,
            Err("a field's format is `x` or `0Nx` (N from 1 to 8) at 0"),
        );
        check_fields(
            "{u8@4:09x}",
            header,
            Err("a field's format is `x` or `0Nx` (N from 1 to 8) at 0"),
        );
        check_fields("{u8@4", header, Err("`{` without `}` at 0"));
        check_fields("{u8@4}}", header, Err("`}` without `{` at 6"));
        check_fields(
            "{u8}",
            header,
            Err("a field is `{u8@OFFSET}`, `{u16@OFFSET}` or `{u32@OFFSET}` at 0"),
        );
        check_fields(
            "1.2.3",
            header,
            Err("a template needs at least one field at 0"),
        );
        check_fields("", header, Err("a template needs at least one field at 0"));
        check_fields(
            &"{u8@4}".repeat(9),
            header,
            Err("a template has at most 8 fields at 48"),
        );
        check_fields(
            &"x".repeat(65),
            header,
            Err("a template is at most 64 bytes at 0"),
        );
    }

    #[test]
    fn utf16le_decodes_with_offsets() {
        let (text, source) = decode_utf16le(b"1\x00.\x002\x00");
        assert_eq!(
            (text.as_slice(), source.as_slice()),
            (&b"1.2"[..], &[0, 2, 4, 6][..])
        );
        // An odd last byte is left out.
        let (text, source) = decode_utf16le(b"1\x00.");
        assert_eq!(
            (text.as_slice(), source.as_slice()),
            (&b"1"[..], &[0, 2][..])
        );
        // An unpaired surrogate (high, then low) is U+FFFD, three bytes that come from one unit.
        let (text, source) = decode_utf16le(b"\x00\xd81\x00\x00\xdc");
        assert_eq!(text, "\u{fffd}1\u{fffd}".as_bytes());
        assert_eq!(source, [0, 0, 0, 2, 4, 4, 4, 6]);
        // A pair is one character from two units.
        let (text, source) = decode_utf16le(b"\x3d\xd8\x00\xdeA\x00");
        assert_eq!(text, "\u{1f600}A".as_bytes());
        assert_eq!(source, [0, 0, 0, 0, 4, 6]);
        assert_eq!(decode_utf16le(b""), (Vec::new(), vec![0]));
    }

    #[test]
    fn bad_signatures_are_errors() {
        static LOOSE_NAME: &[(&str, &str)] = &[(
            "z.toml",
            "name = \"z\"\nkind = \"library\"\n[[named_file]]\nname = 'libz-(\\d+)\\.so'\n[[test]]\nexpect = \"positive\"\nexcerpt = \"x\"\norigin = \"o\"\n",
        )];
        static NO_TEST: &[(&str, &str)] = &[(
            "x.toml",
            "name = \"x\"\nkind = \"library\"\nsonames = [\"libx.so\"]\n",
        )];
        static SHORT: &[(&str, &str)] = &[(
            "y.toml",
            "name = \"y\"\nkind = \"library\"\n[[pattern]]\nanchor = \"ab\"\n[[test]]\nexpect = \"positive\"\nexcerpt = \"ab\"\norigin = \"o\"\n",
        )];
        let err = Catalog::build(NO_TEST.iter().copied()).err().unwrap();
        assert_eq!(
            err.to_string(),
            "signature file `x.toml` is invalid: a signature needs at least one positive `test` (or a `file_test` with a version)"
        );

        let err = Catalog::build(SHORT.iter().copied()).err().unwrap();
        assert!(err.to_string().contains("at least 4 bytes"), "{err}");

        let err = Catalog::build(LOOSE_NAME.iter().copied()).err().unwrap();
        assert!(err.to_string().contains("whole name"), "{err}");

        let test = "[[test]]\nexpect = \"positive\"\nexcerpt = \"x\"\norigin = \"o\"\n";
        let with_pattern = |pattern: &str| {
            format!(
                "name = \"f\"\nkind = \"firmware\"\n[[pattern]]\nanchor = 'Realtech'\n{pattern}\n{test}"
            )
        };
        for (pattern, message) in [
            (
                "fields = '{u32@8:x}'\n[[pattern]]\nanchor = 'Realtech'\nfields = '{u32@101}'",
                "signature file `f.toml`: `pattern[1].fields` is invalid at byte 0: a field must end within `window` bytes after the anchor",
            ),
            (
                "fields = '{u32@8:x}'\nwindow = 2",
                "signature file `f.toml`: `pattern[0].fields` is invalid at byte 0: a field must end within `window` bytes after the anchor",
            ),
            (
                "fields = '{u32@8}'\nregex = '(x)'",
                "signature file `f.toml` is invalid: a pattern reads its release with `regex` (text, optionally `utf16`) or `fields` (binary), not both",
            ),
            (
                "fields = '{u32@8}'\nutf16 = true",
                "signature file `f.toml` is invalid: a pattern reads its release with `regex` (text, optionally `utf16`) or `fields` (binary), not both",
            ),
            ("utf16 = true\nanchor_at = -1", "signature file `f.toml`"),
            (
                "regex = '\\x00(\\d+\\.\\d+)\\x00{1,8}Realtech'\nno_mirror = ' '",
                "signature file `f.toml` is invalid: `no_mirror` must say why (what the mirror read wrong)",
            ),
            (
                "regex = 'Realtech v(\\d+\\.\\d+)'\nno_mirror = 'reads 1.0'",
                "signature file `f.toml` is invalid: `no_mirror` on a pattern that has no mirrored reading (not a neighbour pattern)",
            ),
        ] {
            let text = with_pattern(pattern);
            let err = Catalog::build([("f.toml", text.as_str())]).err().unwrap();
            assert!(err.to_string().starts_with(message), "{err}");
        }
        let text = "name = \"f\"\nkind = \"firmware\"\n[[pattern]]\nanchor = '\\xff\\xfe'\nutf16 = true\nregex = '(x)'\n[[test]]\nexpect = \"positive\"\nexcerpt = \"x\"\norigin = \"o\"\n";
        let err = Catalog::build([("f.toml", text)]).err().unwrap();
        assert_eq!(
            err.to_string(),
            "signature file `f.toml` is invalid: a `utf16` pattern's anchor must be text (UTF-8 in the file)"
        );
    }
}
