//! The signature detector: one pass of the anchor finder over a file's bytes, then the version
//! regexes near each anchor, then the file-name and SONAME rules of each signature.
//!
//! # What it detects
//!
//! Every product that has a signature file: version strings (`BusyBox v1.35.0`, `expat_2.5.0`, the
//! Linux banner), in ASCII or UTF-16LE (`utf16`, EFI applications), releases that firmware headers
//! state as little-endian fields after a magic (`fields`, rtw88's `9.9.15`), bare version strings
//! inside a library or program that its SONAME or file name identifies, files a product installs
//! under a name of its own, with the release in the name where the signature's rule reads it
//! (`libuClibc-0.9.30.1.so`, `libelf-0.188.so`, `libzstd.so.1.5.4` for a project whose ABI number
//! is its release; rules learnt by `cargo xtask kb filever` from the
//! file names Debian installs, or written by hand) and `/etc/openwrt_version` checked by content
//! where the name alone is not enough, GCC runtime libraries through their own `.comment`, and
//! product names alone from SONAMEs and file names. A library belongs to one product: when one
//! product reads its release in a file whose name it claims, other products' claims on that file
//! from the name alone are dropped (a `libcrypto.so.50` that says `LibreSSL 3.7.3` is not OpenSSL's).
//!
//! # Evidence
//!
//! Anchored version strings are `binary-analysis` with high confidence, or `manifest-analysis` for
//! patterns over release files the build wrote (`/etc/openwrt_release`). A neighbour pattern's
//! release read in the mirrored string layout (`mirror.rs`: the release on the other side of the
//! anchor's string, as clang and old GCC lay it out), tried only where the pattern's own regex reads
//! nothing at that anchor, is `binary-analysis`, medium. Bare version strings in an
//! identified file and GCC's `.comment` are medium. Release numbers read from a file name are
//! `filename`, medium, after the bytes' own statements (which win a tie); a named file whose content
//! was checked is `manifest-analysis`. A SONAME or file
//! name without a version is low confidence and carries no version.
//!
//! # Limits
//!
//! Every anchor hit is read until its pattern has read [`MAX_READINGS_PER_PATTERN`] releases in
//! the file, whatever the order of the strings: a release is not lost because a program repeats its
//! anchor in other messages first (sid's openvpn holds 74 other `OpenVPN ` strings before its
//! title), since a hit that reads nothing does not count. The first readings are the pattern's
//! votes in `choose_versions`, as the first 64 hits were before; counting every one would let an
//! upstream changelog's old release, named twice, outvote the newest it names first. What bounds
//! the work is the file's size, not a count per anchor:
//!
//! - the anchor finder keeps one hit per [`BYTES_PER_HIT`] bytes of the file plus [`HITS_BASE`],
//!   and each anchor's first hit beyond that (memory);
//! - the readings of the hits, in file order, may be handed [`WORK_PER_BYTE`] bytes of window per
//!   byte of the file plus [`WORK_BASE`] ([`Budget`]: each regex's window, decoded from UTF-16LE
//!   into at most three times its size for a `utf16` pattern, again for the mirrored reading;
//!   a `fields` template's extent; a name-only anchor's bytes, its first hit only, since the others
//!   would say the same); once that is spent, only the first hit of a pattern not read yet in the
//!   file is, so a flood of one anchor does not hide another product;
//! - a product is read as at most [`MAX_VERSIONS_PER_PRODUCT`] different releases in one file
//!   (each is an occurrence of its own); a further one is not kept.
//!
//! A regex sees only its pattern's window and a `fields` template only bytes within the window
//! after its anchor. Real files come nowhere near these bounds: over the 13 shared corpus images
//! (667 files, 297 MB unpacked) and 8,017 Debian packages of `cargo xtask kb`'s cache (over
//! 300,000 files, 26 GB), no file used a seventh of its budget (of those over 64 KiB, the most
//! one's readings were handed was 0.89 bytes per byte, a package's control tarball), none over
//! 4 KiB held more than one hit per 62 bytes, and the most releases of one product a file was read
//! as was 160 (Knot DNS's changelog; a program states one or two). A file past a bound
//! gets a warning that says what was left unread and from which offset ([`Cut`]), and a cut of
//! the scan (`detection-limit`), so the image's inventory is marked incomplete; a crafted
//! 64 MiB file of one anchor costs about twice the CPU time the 64-hit cap it replaced did. A
//! version string that no signature anchors is not found.

use std::collections::{BTreeSet, HashMap};

use consign_model::{Confidence, Diagnostic, Method, Occurrence};

use crate::Identity;
use crate::elf::{ObjectFacts, toolchain_of};
use crate::signature::{Catalog, LazyRegex, NAMED_FILE_CONTENT_BYTES, Signature, decode_utf16le};

/// Bytes of window the version readings of one file may be handed, per byte of the file: with
/// [`WORK_BASE`], the bound on the work after the anchor pass ([`Budget`]).
const WORK_PER_BYTE: usize = 4;
/// Bytes of window every file may have read, whatever its size (a small file's windows can be
/// larger than the file).
const WORK_BASE: usize = 1 << 18;
/// Anchor hits the finder keeps per byte of a file is one per this many bytes, plus [`HITS_BASE`]
/// (and each anchor's first whatever the bound): what a file full of anchors costs in memory.
const BYTES_PER_HIT: usize = 32;
/// Anchor hits every file may keep, whatever its size.
const HITS_BASE: usize = 1 << 14;
/// Readings of one pattern in one file that count as statements (votes in `choose_versions`);
/// its later hits are not read. Hits that read nothing do not count, so a release after any
/// number of other messages with the same anchor is read, but an upstream changelog that names
/// an old release twice among a hundred does not outvote the newest it names first.
const MAX_READINGS_PER_PATTERN: u32 = 64;
/// Most different releases one product is read as in one file; a reading of yet another is
/// counted as cut. Each kept one is an occurrence in the SBOM. Upstream changelogs list every
/// release: Knot DNS's names 160.
const MAX_VERSIONS_PER_PRODUCT: usize = 256;
/// How many regex matches a bare-version search looks at before giving up.
const MAX_BARE_MATCHES: usize = 256;
/// Longest matched text kept in an occurrence.
const MAX_MATCHED_CHARS: usize = 160;

/// One piece of evidence for one product in one file.
#[derive(Debug, Clone)]
pub(crate) struct Finding {
    pub(crate) identity: Identity,
    pub(crate) version: Option<String>,
    pub(crate) occurrence: Occurrence,
    /// The licence a package database records for it, as written there.
    pub(crate) license: Option<String>,
}

/// The names a file answers to: its file name and, for a shared object, its SONAME.
pub(crate) struct FileNames<'a> {
    pub(crate) file_name: &'a str,
    pub(crate) soname: Option<&'a str>,
    pub(crate) is_object: bool,
}

impl FileNames<'_> {
    /// True if the file name or the SONAME starts with one of `prefixes` at a name boundary.
    fn matches(&self, prefixes: &[String]) -> bool {
        prefixes.iter().any(|prefix| {
            name_has_prefix(self.file_name, prefix)
                || self
                    .soname
                    .is_some_and(|soname| name_has_prefix(soname, prefix))
        })
    }

    /// True if the SONAME (not only the file name) matched, which is binary evidence.
    fn soname_matches(&self, prefixes: &[String]) -> bool {
        self.soname.is_some_and(|soname| {
            prefixes
                .iter()
                .any(|prefix| name_has_prefix(soname, prefix))
        })
    }
}

/// `libz.so` is a prefix of `libz.so.1.2.13` but not of `libzstd.so.1`; `busybox` matches `busybox` only.
fn name_has_prefix(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('-'))
}

/// What [`scan_file`] found in one file, and what it left unread.
pub(crate) struct Scanned {
    pub(crate) findings: Vec<Finding>,
    /// Bytes handed to the readings of anchor hits: each version regex's window (decoded, for a
    /// `utf16` pattern; again for the mirrored reading), each `fields` template's extent, each
    /// name-only anchor. The work after the anchor pass, which [`Budget`] bounds.
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "the tests' measure of the work bound")
    )]
    pub(crate) examined: usize,
    /// Readings left out because the file held more than its bounds allow; `None` for every real
    /// binary measured so far.
    pub(crate) cut: Option<Cut>,
}

/// What a file's bounds left unread (see the module's `# Limits`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cut {
    /// Anchor hits the finder did not keep (more than the file's hit bound).
    pub(crate) dropped: usize,
    /// Anchor hits kept but not read (the file's work budget was spent).
    pub(crate) unread: usize,
    /// Readings of yet another release of a product that already had
    /// [`MAX_VERSIONS_PER_PRODUCT`] in the file.
    pub(crate) versions: usize,
    /// The smallest file offset of a hit not kept or not read.
    pub(crate) first: Option<usize>,
}

impl Cut {
    /// The warning that says what was left unread, at the first offset left.
    pub(crate) fn diagnostic(&self, location: &str) -> Diagnostic {
        let mut parts = Vec::new();
        if self.dropped > 0 {
            parts.push(format!("{} anchor hits not kept", self.dropped));
        }
        if self.unread > 0 {
            parts.push(format!("{} anchor hits not read", self.unread));
        }
        if self.versions > 0 {
            parts.push(format!(
                "{} readings of a product's release beyond its first {MAX_VERSIONS_PER_PRODUCT} different ones",
                self.versions
            ));
        }
        let diagnostic = Diagnostic::warning(
            location,
            format!(
                "the file holds more version-string anchors than the detector reads in a file of its size: {}",
                parts.join(", ")
            ),
        )
        .with_hint(
            "a release stated after the cut may be missing from this file's components; \
             a real program rarely holds this many, so the file may be crafted or a data dump",
        );
        match self.first {
            Some(offset) => diagnostic.at(offset as u64),
            None => diagnostic,
        }
    }

    /// The same, as a cut of the scan: what was left unread counts against the image's
    /// completeness wherever other cuts do (the SBOM's record of them, `verify`), not only in a
    /// warning.
    pub(crate) fn as_cut(&self, location: &str) -> consign_model::Cut {
        consign_model::Cut {
            location: location.to_owned(),
            offset: self.first.map(|offset| offset as u64),
            what: "version strings from the first anchor hit not read on".to_owned(),
            reason: consign_model::CutReason::DetectionLimit,
        }
    }

    fn is_empty(&self) -> bool {
        self.dropped == 0 && self.unread == 0 && self.versions == 0
    }

    fn at(&mut self, offset: usize) {
        self.first = Some(self.first.map_or(offset, |first| first.min(offset)));
    }
}

/// How much reading one file's anchor hits may cost: bytes of window handed to the readings,
/// [`WORK_PER_BYTE`] per byte of the file plus [`WORK_BASE`], so that the regex work is
/// proportional to the file's size whatever it holds. Hits are read in file order while the budget
/// lasts; after that, only the first hit of a pattern not read yet in the file (the catalog's size
/// bounds those), so a flood of one anchor does not hide another product.
struct Budget {
    limit: usize,
    spent: usize,
}

impl Budget {
    fn for_file(len: usize) -> Self {
        Self {
            limit: len.saturating_mul(WORK_PER_BYTE).saturating_add(WORK_BASE),
            spent: 0,
        }
    }

    fn left(&self) -> bool {
        self.spent < self.limit
    }

    fn spend(&mut self, bytes: usize) {
        self.spent = self.spent.saturating_add(bytes);
    }
}

/// What [`scan_file`] knows of one anchor (and so one pattern) in the file being read.
#[derive(Clone, Copy, Default)]
struct AnchorState {
    /// Releases it read, up to [`MAX_READINGS_PER_PATTERN`].
    readings: u32,
    /// A hit of it was examined: once the budget is spent, its later hits are not.
    examined: bool,
}

/// How many anchor hits the finder keeps in a file of `len` bytes.
fn max_hits(len: usize) -> usize {
    (len / BYTES_PER_HIT).saturating_add(HITS_BASE)
}

/// Runs every signature over one file.
pub(crate) fn scan_file(
    catalog: &Catalog,
    location: &str,
    data: &[u8],
    names: &FileNames<'_>,
    facts: &ObjectFacts,
) -> Scanned {
    let mut findings = Findings::default();
    let mut budget = Budget::for_file(data.len());
    let hits = catalog.find_anchors(data, max_hits(data.len()));
    let mut cut = Cut {
        dropped: hits.dropped,
        first: hits.first_dropped,
        ..Cut::default()
    };
    // Per anchor (each anchor is one pattern's): readings so far, and whether a hit was examined.
    let mut anchors = if hits.kept.is_empty() {
        Vec::new()
    } else {
        vec![AnchorState::default(); catalog.anchor_owner.len()]
    };
    for hit in &hits.kept {
        let Some(&(sig_idx, pattern_idx)) = catalog.anchor_owner.get(hit.anchor) else {
            continue;
        };
        let Some(signature) = catalog.signatures.get(sig_idx) else {
            continue;
        };
        let Some(pattern) = signature.patterns.get(pattern_idx) else {
            continue;
        };
        if !pattern.only_in.is_empty() && !names.matches(&pattern.only_in) {
            continue;
        }
        let Some(state) = anchors.get_mut(hit.anchor) else {
            continue;
        };
        if state.readings >= MAX_READINGS_PER_PATTERN {
            continue;
        }
        if !budget.left() && state.examined {
            // Once the budget is spent, only a pattern's first hit in the file is read.
            cut.unread += 1;
            cut.at(hit.start);
            continue;
        }
        state.examined = true;
        if pattern.fields.is_none() && pattern.regex.is_none() && findings.has(sig_idx, None) {
            // The product named without a version: its first hit said what the others would.
            continue;
        }
        let method = if pattern.manifest {
            Method::ManifestAnalysis
        } else {
            Method::BinaryAnalysis
        };
        // What this hit finds: where, the text matched, the version, how sure.
        let mut found = |at: usize, matched: String, version: Option<String>, confidence| {
            state.readings += 1;
            findings.push(
                sig_idx, signature, version, location, at, matched, method, confidence,
            );
        };
        if let Some(fields) = &pattern.fields {
            // The fields' extent was checked against the window at load, so this never reads
            // further from the anchor than a regex could.
            budget.spend(fields.extent);
            let header = data.get(hit.start..).unwrap_or_default();
            if let Some(version) = fields.read(header) {
                let end = hit.start.saturating_add(fields.extent).min(data.len());
                let matched = printable(data.get(hit.start..end).unwrap_or_default());
                found(hit.start, matched, Some(version), Confidence::High);
            }
            continue;
        }
        let Some(regex) = pattern.regex.as_ref().map(LazyRegex::get) else {
            budget.spend(hit.end - hit.start);
            let matched = printable(data.get(hit.start..hit.end).unwrap_or_default());
            found(hit.start, matched, None, Confidence::Medium);
            continue;
        };
        // A version regex that does not compile never matches (the crate's tests compile them all).
        let Some(regex) = regex else {
            continue;
        };
        let mut window_start = hit.start.saturating_sub(pattern.window);
        let mut window_end = hit.end.saturating_add(pattern.window).min(data.len());
        if pattern.utf16 {
            // Whole code units in step with the anchor's.
            window_start += (hit.start - window_start) % 2;
            window_end -= (window_end - window_start) % 2;
        }
        let Some(window) = data.get(window_start..window_end) else {
            continue;
        };
        let anchor_start = hit.start - window_start;
        let anchor_end = hit.end - window_start;
        let read = if pattern.utf16 {
            let (text, source) = decode_utf16le(window);
            budget.spend(window.len().saturating_add(text.len()));
            // The anchor is whole code units, so it starts and ends at a decoded character.
            let start = source.partition_point(|&at| at < anchor_start);
            let end = source.partition_point(|&at| at < anchor_end);
            read_version(regex, &text, start, end)
                .and_then(|(at, matched, version)| Some((*source.get(at)?, matched, version)))
        } else {
            budget.spend(window.len());
            read_version(regex, window, anchor_start, anchor_end)
        };
        if let Some((at, matched, version)) = read {
            found(window_start + at, matched, Some(version), Confidence::High);
        } else if let Some(mirror) = pattern.mirror_regex().and_then(LazyRegex::get)
            && let Some((at, matched, version)) = {
                budget.spend(window.len());
                read_version(mirror, window, anchor_start, anchor_end)
            }
        {
            // The same neighbour with the release on its other side: another compiler's layout
            // (`mirror.rs`), read only where the layout the pattern was cut from is not there, and
            // less sure. `utf16` patterns have no mirror, so the window is the file's bytes.
            found(
                window_start + at,
                matched,
                Some(version),
                Confidence::Medium,
            );
        }
    }
    for (sig_idx, signature) in catalog.signatures.iter().enumerate() {
        let by_soname = !signature.sonames.is_empty() && names.matches(&signature.sonames);
        let by_file = names.is_object && signature.files.iter().any(|file| file == names.file_name);
        if (by_soname || by_file) && !findings.has_version(sig_idx) {
            bare_version(&mut findings, sig_idx, signature, location, data);
        }
        if by_soname && signature.version_from_comment && !findings.has_version(sig_idx) {
            // Every release the comments name is a candidate, with as many votes as object files
            // carry it: `libgcc_s.so.1` of a real router says GCC 3.3.2 twice (start-up files)
            // and 4.3.3 1,743 times.
            for (comment, &count) in facts.comments.iter().zip(&facts.comment_counts) {
                if let Some((compiler, Some(version))) = toolchain_of(comment)
                    && compiler == signature.name
                {
                    findings.push(
                        sig_idx,
                        signature,
                        Some(version.clone()),
                        location,
                        0,
                        comment.clone(),
                        Method::BinaryAnalysis,
                        Confidence::Medium,
                    );
                    if count > 1
                        && let Some(finding) = findings.get_mut(sig_idx, Some(version.as_str()))
                    {
                        let seen = finding.occurrence.count.unwrap_or(1);
                        finding.occurrence.count = Some(seen.saturating_add(count - 1));
                    }
                }
            }
        }
        // After what the bytes state, so a release read from the file's name (`filename`,
        // medium) comes after them: in `choose_versions` the bytes win a tie.
        let by_name = named_file(&mut findings, sig_idx, signature, location, data, names);
        if !by_soname && !by_file {
            continue;
        }
        if !by_name && !findings.any_of(sig_idx) {
            let (method, confidence, matched) =
                if by_soname && names.soname_matches(&signature.sonames) {
                    (
                        Method::BinaryAnalysis,
                        Confidence::Low,
                        names.soname.unwrap_or_default().to_owned(),
                    )
                } else {
                    (
                        Method::Filename,
                        Confidence::Low,
                        names.file_name.to_owned(),
                    )
                };
            findings.push(
                sig_idx, signature, None, location, 0, matched, method, confidence,
            );
        }
    }
    cut.versions = findings.refused;
    if let Some(offset) = findings.first_refused {
        cut.at(offset);
    }

    // A product named without a version in a file that also gives its version adds nothing.
    let findings = findings.list;
    let versioned: BTreeSet<usize> = findings
        .iter()
        .filter(|(_, f)| f.version.is_some())
        .map(|(idx, _)| *idx)
        .collect();
    // A library is one product's. When a product whose SONAMEs (or library-only patterns) fit this
    // file also read its release here, another product's claim from the SONAME alone is a name
    // clash (LibreSSL and OpenSSL both ship `libcrypto.so`), not a second component.
    let owner_found = versioned.iter().any(|idx| {
        catalog.signatures.get(*idx).is_some_and(|signature| {
            names.matches(&signature.sonames)
                || signature
                    .patterns
                    .iter()
                    .any(|pattern| !pattern.only_in.is_empty() && names.matches(&pattern.only_in))
        })
    });
    let findings = findings
        .into_iter()
        .filter(|(idx, finding)| finding.version.is_some() || !versioned.contains(idx))
        .filter(|(_, finding)| !(owner_found && is_name_only(finding)))
        .map(|(_, finding)| finding)
        .collect();
    Scanned {
        findings,
        examined: budget.spent,
        cut: (!cut.is_empty()).then_some(cut),
    }
}

/// The first match of `regex` in `haystack` that covers the anchor (`anchor_start..anchor_end`)
/// and states a version: where it starts, its text, and the version.
fn read_version(
    regex: &regex::bytes::Regex,
    haystack: &[u8],
    anchor_start: usize,
    anchor_end: usize,
) -> Option<(usize, String, String)> {
    for captures in regex.captures_iter(haystack) {
        let whole = captures.get(0)?;
        if whole.start() > anchor_start {
            return None;
        }
        if whole.end() < anchor_end {
            continue;
        }
        if let Some(version) = version_of(&captures) {
            return Some((whole.start(), printable(whole.as_bytes()), version));
        }
    }
    None
}

/// The version a pattern's match states: the group named `version`, else the first group; or, for a
/// project that keeps its release as separate numbers (Dojo's `major:1,minor:16,patch:3`), the groups
/// named `major`, `minor` and `patch` that took part, joined with dots. Empty or non-UTF-8 text is none.
fn version_of(captures: &regex::bytes::Captures<'_>) -> Option<String> {
    fn text(m: regex::bytes::Match<'_>) -> Option<&str> {
        std::str::from_utf8(m.as_bytes())
            .ok()
            .filter(|text| !text.is_empty())
    }
    if let Some(major) = captures.name("major") {
        let mut version = text(major)?.to_owned();
        for part in ["minor", "patch"] {
            if let Some(number) = captures.name(part).and_then(text) {
                version.push('.');
                version.push_str(number);
            }
        }
        return Some(version);
    }
    captures
        .name("version")
        .or_else(|| captures.get(1))
        .and_then(text)
        .map(str::to_owned)
}

/// True for a finding that rests on a SONAME or file name alone, with no version.
pub(crate) fn is_name_only(finding: &Finding) -> bool {
    finding.version.is_none() && names_only(&finding.occurrence)
}

/// True for evidence that is a SONAME or file name and nothing more.
pub(crate) fn names_only(occurrence: &Occurrence) -> bool {
    occurrence.confidence == Confidence::Low
        && matches!(occurrence.method, Method::BinaryAnalysis | Method::Filename)
}

/// Applies a signature's `named_file` entries to one file; true if one of them named the product.
fn named_file(
    findings: &mut Findings,
    sig_idx: usize,
    signature: &Signature,
    location: &str,
    data: &[u8],
    names: &FileNames<'_>,
) -> bool {
    for entry in &signature.named_files {
        if entry.objects_only && !names.is_object
            || !names.file_name.starts_with(entry.name_prefix.as_str())
        {
            continue;
        }
        // A regex that does not compile never matches (the crate's tests compile them all).
        let Some(name) = entry
            .name
            .get()
            .and_then(|regex| regex.captures(names.file_name.as_bytes()))
        else {
            continue;
        };
        let from_name = name.get(1).map(|m| m.as_bytes());
        let (version, method, confidence) = if let Some(content) = &entry.content {
            let head = data.get(..NAMED_FILE_CONTENT_BYTES).unwrap_or(data);
            let Some(captures) = content.get().and_then(|regex| regex.captures(head)) else {
                continue;
            };
            let version = captures.get(1).or(name.get(1)).map(|m| m.as_bytes());
            let confidence = if version.is_some() {
                Confidence::High
            } else {
                Confidence::Medium
            };
            (version, Method::ManifestAnalysis, confidence)
        } else {
            let confidence = if from_name.is_some() {
                Confidence::Medium
            } else {
                Confidence::Low
            };
            (from_name, Method::Filename, confidence)
        };
        let version = version
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .filter(|text| !text.is_empty())
            .map(str::to_owned);
        findings.push(
            sig_idx,
            signature,
            version,
            location,
            0,
            names.file_name.to_owned(),
            method,
            confidence,
        );
        return true;
    }
    false
}

/// The findings of one file so far, each (product, version) once, with an index so that one more
/// statement costs the same however many the file holds.
#[derive(Default)]
struct Findings {
    /// In the order first found, with the index of the product's signature.
    list: Vec<(usize, Finding)>,
    /// Where each (signature, version) is in `list`.
    index: HashMap<(usize, Option<String>), usize>,
    /// Different releases kept per signature.
    versions: HashMap<usize, usize>,
    /// Readings of a further release refused ([`MAX_VERSIONS_PER_PRODUCT`]), and the first one's
    /// offset.
    refused: usize,
    first_refused: Option<usize>,
}

impl Findings {
    /// True if the product was found with `version` (or without one, for `None`).
    fn has(&self, sig_idx: usize, version: Option<&str>) -> bool {
        self.index
            .contains_key(&(sig_idx, version.map(str::to_owned)))
    }

    /// True if the product was found with a release.
    fn has_version(&self, sig_idx: usize) -> bool {
        self.versions.get(&sig_idx).is_some_and(|&count| count > 0)
    }

    /// True if the product was found at all.
    fn any_of(&self, sig_idx: usize) -> bool {
        self.list.iter().any(|(idx, _)| *idx == sig_idx)
    }

    fn get_mut(&mut self, sig_idx: usize, version: Option<&str>) -> Option<&mut Finding> {
        let at = *self.index.get(&(sig_idx, version.map(str::to_owned)))?;
        self.list.get_mut(at).map(|(_, finding)| finding)
    }

    /// Adds a finding, or counts one more statement of a product and version already found in
    /// this file; a further release of a product that has [`MAX_VERSIONS_PER_PRODUCT`] is counted
    /// as refused instead.
    #[allow(
        clippy::too_many_arguments,
        reason = "one call site per evidence kind; a struct would only rename them"
    )]
    fn push(
        &mut self,
        sig_idx: usize,
        signature: &Signature,
        version: Option<String>,
        location: &str,
        offset: usize,
        matched: String,
        method: Method,
        confidence: Confidence,
    ) {
        let at = offset;
        let offset =
            (method == Method::BinaryAnalysis && !matched.is_empty()).then_some(offset as u64);
        let is_release = version.is_some();
        let kept = self.versions.get(&sig_idx).copied().unwrap_or(0);
        match self.index.entry((sig_idx, version)) {
            std::collections::hash_map::Entry::Occupied(entry) => {
                // The same statement again is more support for it (the vote in
                // `choose_versions`), not more evidence to list; the strongest place it was seen
                // is the one kept.
                if is_release && let Some((_, seen)) = self.list.get_mut(*entry.get()) {
                    let count = seen.occurrence.count.unwrap_or(1).saturating_add(1);
                    if confidence > seen.occurrence.confidence {
                        seen.occurrence.offset = offset;
                        seen.occurrence.matched = Some(matched);
                        seen.occurrence.method = method;
                        seen.occurrence.confidence = confidence;
                    }
                    seen.occurrence.count = Some(count);
                }
            }
            std::collections::hash_map::Entry::Vacant(entry) => {
                if is_release && kept >= MAX_VERSIONS_PER_PRODUCT {
                    self.refused += 1;
                    self.first_refused = Some(self.first_refused.map_or(at, |first| first.min(at)));
                    return;
                }
                let version = entry.key().1.clone();
                entry.insert(self.list.len());
                if is_release {
                    self.versions.insert(sig_idx, kept + 1);
                }
                self.list.push((
                    sig_idx,
                    Finding {
                        identity: Identity::of(signature),
                        license: None,
                        occurrence: Occurrence {
                            location: location.to_owned(),
                            offset,
                            matched: Some(matched),
                            method,
                            confidence,
                            states: version.clone(),
                            count: None,
                        },
                        version,
                    },
                ));
            }
        }
    }
}

/// A version string alone in a library identified by SONAME, accepted only when exactly one value occurs.
fn bare_version(
    findings: &mut Findings,
    sig_idx: usize,
    signature: &Signature,
    location: &str,
    data: &[u8],
) {
    for regex in signature.bare.iter().filter_map(LazyRegex::get) {
        let mut values: BTreeSet<&[u8]> = BTreeSet::new();
        let mut first = None;
        for captures in regex.captures_iter(data).take(MAX_BARE_MATCHES) {
            let Some(version) = captures.name("version").or_else(|| captures.get(1)) else {
                continue;
            };
            first.get_or_insert((version.start(), version.as_bytes()));
            values.insert(version.as_bytes());
        }
        if values.len() == 1
            && let Some((offset, bytes)) = first
            && let Ok(version) = std::str::from_utf8(bytes)
        {
            findings.push(
                sig_idx,
                signature,
                Some(version.to_owned()),
                location,
                offset,
                printable(bytes),
                Method::BinaryAnalysis,
                Confidence::Medium,
            );
            return;
        }
    }
}

/// Makes matched bytes readable: printable ASCII kept, runs of anything else shown as one `.`.
pub(crate) fn printable(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut last_dot = false;
    for &byte in bytes {
        if out.len() >= MAX_MATCHED_CHARS {
            break;
        }
        if (0x20..0x7f).contains(&byte) {
            out.push(byte as char);
            last_dot = false;
        } else if !last_dot {
            out.push('.');
            last_dot = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert!(name_has_prefix("libz.so.1.2.13", "libz.so"));
        assert!(!name_has_prefix("libzstd.so.1", "libz.so"));
        assert!(name_has_prefix("busybox", "busybox"));
        assert!(!name_has_prefix("busyboxx", "busybox"));
    }

    #[test]
    fn versions_from_separate_numbers() {
        let regex = regex::bytes::Regex::new(
            r"(?-u)major:(?P<major>\d+),minor:(?P<minor>\d+)(?:,patch:(?P<patch>\d+))?",
        )
        .unwrap();
        let captures = regex
            .captures(b"version:{major:1,minor:16,patch:3,flag:\"\"}")
            .unwrap();
        assert_eq!(version_of(&captures).as_deref(), Some("1.16.3"));
        let captures = regex.captures(b"{major:1,minor:6}").unwrap();
        assert_eq!(version_of(&captures).as_deref(), Some("1.6"));
        let plain = regex::bytes::Regex::new(r"(?-u)v(\d+\.\d+)|x()").unwrap();
        assert_eq!(
            version_of(&plain.captures(b"v1.2").unwrap()).as_deref(),
            Some("1.2")
        );
        assert_eq!(version_of(&plain.captures(b"x").unwrap()), None);
    }

    /// A catalog of one product with a binary-fields pattern and a UTF-16 one.
    static BINARY: std::sync::LazyLock<Catalog> = std::sync::LazyLock::new(|| {
        let text = r#"
name = "fw"
kind = "firmware"

[[pattern]]
anchor = 'HDR!'
anchor_at = 0
fields = "{u16@4}.{u8@6}"
window = 4

[[pattern]]
anchor = 'Tool v'
utf16 = true
regex = 'Tool v(\d+\.\d+)'
window = 16

[[test]]
expect = "positive"
excerpt = 'HDR!\x01\x00\x02'
origin = "o"
"#;
        Catalog::build([("fw.toml", text)]).unwrap()
    });

    /// The versions `BINARY` reads in `data`, in finding order.
    #[track_caller]
    fn check_binary(data: &[u8], expect: &[&str]) {
        let names = FileNames {
            file_name: "fw.bin",
            soname: None,
            is_object: false,
        };
        let findings = scan_file(&BINARY, "fw.bin", data, &names, &ObjectFacts::default()).findings;
        let got: Vec<&str> = findings
            .iter()
            .filter_map(|finding| finding.version.as_deref())
            .collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn binary_fields_are_bounded() {
        check_binary(b"HDR!\x01\x01\x02", &["257.2"]);
        // The file ends inside the fields, or right after the anchor.
        check_binary(b"HDR!\x01\x01", &[]);
        check_binary(b"HDR!", &[]);
        // A header is only at the file's start.
        check_binary(b"\0HDR!\x01\x01\x02", &[]);
        check_binary(b"HDR!HDR!\x01\x01\x02", &["17480.82"]);
    }

    #[test]
    fn utf16_text_is_decoded() {
        let utf16 =
            |text: &str| -> Vec<u8> { text.encode_utf16().flat_map(u16::to_le_bytes).collect() };
        check_binary(&utf16("\0Tool v1.25\0"), &["1.25"]);
        // At an odd offset, the text is read in step with the anchor.
        check_binary(
            &[b"\x01".as_slice(), &utf16("Tool v1.25\0")].concat(),
            &["1.25"],
        );
        // The file ends in the middle of a code unit: the odd byte is left out.
        check_binary(&[utf16("Tool v3.4").as_slice(), b"5"].concat(), &["3.4"]);
        // The anchor at the very end of the file, and a window that ends with half a unit.
        check_binary(&utf16("Tool v"), &[]);
        check_binary(&[utf16("Tool v").as_slice(), b"7"].concat(), &[]);
        // An unpaired surrogate where a digit would be reads nothing, and one after the
        // release ends it.
        check_binary(&[utf16("Tool v1.").as_slice(), b"\x00\xd8"].concat(), &[]);
        check_binary(
            &[utf16("Tool v1.2").as_slice(), b"\x00\xdc3\x00"].concat(),
            &["1.2"],
        );
        // ASCII text is not UTF-16.
        check_binary(b"Tool v1.25", &[]);
    }

    /// A catalog of one product with a neighbour pattern of each shape, as `kb` cuts them from
    /// GCC's layout, and one that opts out of its mirror.
    static NEIGHBOURS: std::sync::LazyLock<Catalog> = std::sync::LazyLock::new(|| {
        let text = r#"
name = "tool"
kind = "application"

[[pattern]]
anchor = 'rinetd %s'
regex = '\x00(\d+\.\d+(?:\.\d+)?[a-z]*)\x00{1,16}rinetd %s\x0a\x00'

[[pattern]]
anchor = 'see www.dest-unreach.org'
regex = 'see www\.dest\-unreach\.org\x00{1,16}(?:[\x20-\x7e]{1,40}\x00{1,8})?(\d+(?:\.\d+){1,3})\x00'

[[pattern]]
anchor = 'Usage: tool'
regex = '\x00(\d+\.\d+)\x00{1,16}Usage: tool'
no_mirror = "reads 1.0 in Debian sid tool 2.0-1 (armel), usr/bin/tool, offset 10"

[[test]]
expect = "positive"
excerpt = 'x'
origin = "o"
"#;
        Catalog::build([("tool.toml", text)]).unwrap()
    });

    /// The (version, confidence) readings `NEIGHBOURS` makes in `data`, in finding order.
    #[track_caller]
    fn check_neighbours(data: &[u8], expect: &[(&str, Confidence)]) {
        let names = FileNames {
            file_name: "tool",
            soname: None,
            is_object: false,
        };
        let findings =
            scan_file(&NEIGHBOURS, "tool", data, &names, &ObjectFacts::default()).findings;
        let got: Vec<(&str, Confidence)> = findings
            .iter()
            .filter_map(|finding| {
                Some((finding.version.as_deref()?, finding.occurrence.confidence))
            })
            .collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn neighbours_are_read_in_either_layout() {
        // GCC's layout, as the pattern was cut: high.
        check_neighbours(
            b"\x00\x000.73\x00\x00\x00\x00rinetd %s\x0a\x00",
            &[("0.73", Confidence::High)],
        );
        // rinetd 0.73 built with clang 14.0.6 -O2 and GNU ld 2.40 (`CC=clang CFLAGS=-O2
        // ./configure && make`, Debian's rinetd 0.73-1 source), rinetd, offset 37744: the
        // release after its format string, medium.
        check_neighbours(
            b"Not enough memory to launch rinetd.\x0a\x00rinetd %s\x0a\x000.73\x00Usage: rinetd [OPTION]\x0a  -c, --conf-file FIL",
            &[("0.73", Confidence::Medium)],
        );
        // The neighbour-first shape mirrored: the release, then the string the pattern reads it
        // after, whose start the pattern does not spell.
        check_neighbours(
            b"\x001.7.4.4\x00\x00\x00\x00socat by Gerhard Rieger and contributors - see www.dest-unreach.org\x00",
            &[("1.7.4.4", Confidence::Medium)],
        );
        check_neighbours(
            b"\x00\x00see www.dest-unreach.org\x00\x00\x00$Rev$\x00\x001.7.4.4\x00",
            &[("1.7.4.4", Confidence::High)],
        );
        // At one anchor the layout the pattern was cut from is read first, and the mirror only
        // where it reads nothing.
        check_neighbours(
            b"\x000.73\x00rinetd %s\x0a\x000.72\x00",
            &[("0.73", Confidence::High)],
        );
    }

    #[test]
    fn near_misses_of_the_mirrored_layout_read_nothing() {
        for data in [
            // Two strings between the neighbour and the release.
            &b"rinetd %s\x0a\x00Usage: rinetd [OPTION]\x0a\x00Copyright (C) 1997\x00\x000.73\x00"[..],
            // A number inside a longer string, or one glued to the neighbour's NUL-less end.
            b"rinetd %s\x0a\x00version 0.73\x00",
            b"rinetd %s\x0a0.73\x00",
            // Not a whole string: more text after the number.
            b"rinetd %s\x0a\x000.73-final\x00",
            // The neighbour's string ends before the text the neighbour-first pattern spells.
            b"\x001.7.4.4\x00\x00see www.dest-unreach\x00.org\x00",
            // A pattern that opted out (`no_mirror`) reads only its own layout.
            b"Usage: tool\x00\x001.0\x00",
        ] {
            check_neighbours(data, &[]);
        }
        check_neighbours(b"\x002.0\x00Usage: tool", &[("2.0", Confidence::High)]);
    }

    #[test]
    fn printable_text() {
        assert_eq!(printable(b"2.10\0\0\0\0hostapd v%s"), "2.10.hostapd v%s");
    }

    /// Two products: one anchor that a program repeats in many messages, with its release in one
    /// of them (the title string of openvpn), and another product's banner.
    static REPEATED: std::sync::LazyLock<Catalog> = std::sync::LazyLock::new(|| {
        let vpn = r#"
name = "vpn"
kind = "application"

[[pattern]]
anchor = 'OpenVPN '
regex = 'OpenVPN (\d+\.\d+\.\d+) [a-z0-9_]+-[a-z0-9_-]+ \['
window = 64

[[test]]
expect = "positive"
excerpt = 'OpenVPN 2.6.3 x86_64-pc-linux-gnu [SSL (OpenSSL)]'
version = "2.6.3"
origin = "o"
"#;
        let tool = r#"
name = "tool"
kind = "application"

[[pattern]]
anchor = 'Tool v'
regex = 'Tool v(\d+\.\d+)'

[[test]]
expect = "positive"
excerpt = 'Tool v1.2'
version = "1.2"
origin = "o"
"#;
        Catalog::build([("vpn.toml", vpn), ("tool.toml", tool)]).unwrap()
    });

    fn scan_repeated(data: &[u8]) -> Scanned {
        let names = FileNames {
            file_name: "openvpn",
            soname: None,
            is_object: false,
        };
        scan_file(&REPEATED, "openvpn", data, &names, &ObjectFacts::default())
    }

    /// (product, version, statements) of each versioned finding.
    fn readings(scanned: &Scanned) -> Vec<(String, String, u32)> {
        scanned
            .findings
            .iter()
            .filter_map(|finding| {
                Some((
                    finding.identity.name.clone(),
                    finding.version.clone()?,
                    finding.occurrence.count.unwrap_or(1),
                ))
            })
            .collect()
    }

    /// The most bytes of window one hit's reading is charged: a regex over the largest window,
    /// and again for the mirrored layout.
    fn most_per_hit(catalog: &Catalog) -> usize {
        let anchor = catalog
            .signatures
            .iter()
            .flat_map(|signature| &signature.patterns)
            .map(|pattern| pattern.anchor.len() + 2 * pattern.window)
            .max()
            .unwrap_or(0);
        // UTF-16 decoding hands the regex up to three bytes per two.
        anchor * 3
    }

    #[test]
    fn a_release_after_many_hits_of_its_anchor_is_read() {
        // sid's openvpn holds 74 other `OpenVPN ` strings before its title; here 200, each
        // further from the next than a window, and then the title.
        let mut data = Vec::new();
        for index in 0..200 {
            data.extend_from_slice(
                format!(
                    "\0OpenVPN could not open file {index}: %s{}\0",
                    " ".repeat(140)
                )
                .as_bytes(),
            );
        }
        data.extend_from_slice(b"\0OpenVPN 2.6.3 x86_64-pc-linux-gnu [SSL (OpenSSL)] [LZO]\0");
        let scanned = scan_repeated(&data);
        assert_eq!(
            readings(&scanned),
            [("vpn".to_owned(), "2.6.3".to_owned(), 1)]
        );
        assert_eq!(scanned.cut, None);
        // Packed as tightly as messages in a program's strings: every window overlaps the next.
        let mut data = b"\0OpenVPN: warning %s\0\0\0".repeat(2000);
        data.extend_from_slice(b"\0OpenVPN 2.6.3 arm-unknown-linux-gnueabihf [SSL]\0");
        let scanned = scan_repeated(&data);
        assert_eq!(
            readings(&scanned),
            [("vpn".to_owned(), "2.6.3".to_owned(), 1)]
        );
        assert_eq!(scanned.cut, None);
    }

    #[test]
    fn a_pattern_votes_with_its_first_readings_however_late() {
        // 100 statements: the first 64 are votes, as when 64 hits were read.
        let statement = b"\0OpenVPN 2.6.3 x86_64-pc-linux-gnu [SSL]\0";
        let scanned = scan_repeated(&statement.repeat(100));
        assert_eq!(
            readings(&scanned),
            [("vpn".to_owned(), "2.6.3".to_owned(), 64)]
        );
        // Hits that read nothing do not count: 100 other messages first, then 70 statements.
        let mut data = b"\0OpenVPN: could not open %s\0".repeat(100);
        data.extend_from_slice(&statement.repeat(70));
        let scanned = scan_repeated(&data);
        assert_eq!(
            readings(&scanned),
            [("vpn".to_owned(), "2.6.3".to_owned(), 64)]
        );
        assert_eq!(scanned.cut, None);
        // A changelog names every release, the newest first: an old one named twice further
        // down does not outvote it (Knot DNS's changelog names 1.6.0 twice among 160).
        let mut data = Vec::new();
        for minor in (0..100).rev() {
            data.extend_from_slice(
                format!("\0OpenVPN 2.{minor}.0 x86_64-pc-linux-gnu [SSL]\0").as_bytes(),
            );
        }
        data.extend_from_slice(&statement.repeat(2));
        let scanned = scan_repeated(&data);
        let read = readings(&scanned);
        assert_eq!(read.len(), 64);
        assert_eq!(
            read.first(),
            Some(&("vpn".to_owned(), "2.99.0".to_owned(), 1))
        );
        assert!(read.iter().all(|(_, _, count)| *count == 1));
    }

    #[test]
    fn a_file_of_one_anchor_costs_work_in_proportion_to_its_size() {
        for len in [0usize, 100, 64 << 10, 4 << 20] {
            let data: Vec<u8> = b"OpenVPN ".iter().copied().cycle().take(len).collect();
            let scanned = scan_repeated(&data);
            let bound = Budget::for_file(len).limit + most_per_hit(&REPEATED) * 3;
            assert!(
                scanned.examined <= bound,
                "{len}: {} > {bound}",
                scanned.examined
            );
            assert!(scanned.findings.is_empty());
            // Reading every hit would hand the regex 136 bytes per 8 of the file.
            let every = len / 8 * 136;
            assert_eq!(
                scanned.cut.is_some(),
                every > Budget::for_file(len).limit,
                "{len}"
            );
            if len == 4 << 20 {
                // Hits beyond one per 32 bytes were not kept, and of those kept, the ones past
                // what the budget allows were not read.
                let cut = scanned.cut.unwrap();
                assert_eq!(cut.dropped, len / 8 - max_hits(len));
                // The first hits' windows are cut short by the file's start, so a few more fit.
                let read = Budget::for_file(len).limit / 136;
                assert!((max_hits(len) - cut.unread).abs_diff(read) <= 8, "{cut:?}");
                assert!(cut.first.unwrap().abs_diff(read * 8) <= 64, "{cut:?}");
            }
        }
    }

    #[test]
    fn a_flood_of_one_anchor_does_not_hide_another_product() {
        let mut data = b"OpenVPN ".repeat(1 << 20);
        data.extend_from_slice(b"\0Tool v4.5\0OpenVPN 2.6.3 x86_64-pc-linux-gnu [SSL]\0");
        let scanned = scan_repeated(&data);
        // The other product's anchor is read however late it comes; the flooded one's release is
        // past the budget, and the cut says so.
        assert_eq!(
            readings(&scanned),
            [("tool".to_owned(), "4.5".to_owned(), 1)]
        );
        let cut = scanned.cut.unwrap();
        assert!(cut.first.unwrap() < data.len() / 2);
        let diagnostic = cut.diagnostic("openvpn");
        assert!(
            diagnostic.message.contains("anchor hits not read"),
            "{diagnostic}"
        );
    }

    #[test]
    fn a_product_is_read_as_a_bounded_number_of_releases() {
        // Five patterns of one product, each reading its 64 releases: 320 in all.
        use std::fmt::Write as _;
        let mut text = String::from("name = \"many\"\nkind = \"application\"\n");
        for pattern in 0..5 {
            write!(
                text,
                "[[pattern]]\nanchor = 'Tool{pattern} v'\nregex = 'Tool{pattern} v(\\d+\\.\\d+)'\n"
            )
            .unwrap();
        }
        text.push_str(
            "[[test]]\nexpect = \"positive\"\nexcerpt = 'Tool0 v1.2'\nversion = \"1.2\"\norigin = \"o\"\n",
        );
        let catalog = Catalog::build([("many.toml", text.as_str())]).unwrap();
        let mut data = Vec::new();
        for pattern in 0..5 {
            for minor in 0..100 {
                data.extend_from_slice(format!("\0Tool{pattern} v{pattern}.{minor}\0").as_bytes());
            }
        }
        let names = FileNames {
            file_name: "tool",
            soname: None,
            is_object: false,
        };
        let scanned = scan_file(&catalog, "tool", &data, &names, &ObjectFacts::default());
        let read = readings(&scanned);
        assert_eq!(read.len(), MAX_VERSIONS_PER_PRODUCT);
        assert_eq!(read.first().map(|r| r.1.as_str()), Some("0.0"));
        let cut = scanned.cut.unwrap();
        assert_eq!(cut.versions, 5 * 64 - MAX_VERSIONS_PER_PRODUCT);
        assert_eq!((cut.dropped, cut.unread), (0, 0));
        // The first release refused is the fifth pattern's first.
        let refused = b"\0Tool4 v4.0\0";
        let first = data.windows(refused.len()).position(|w| w == refused);
        assert_eq!(cut.first, first.map(|at| at + 1));
    }

    #[test]
    fn a_file_of_every_anchor_costs_work_in_proportion_to_its_size() {
        let catalog = crate::signature::CATALOG.as_ref().unwrap();
        let patterns: usize = catalog.signatures.iter().map(|s| s.patterns.len()).sum();
        // Every anchor of the embedded signatures, each followed by a release-shaped number,
        // again and again.
        let mut unit = Vec::new();
        for signature in &catalog.signatures {
            for pattern in &signature.patterns {
                unit.extend_from_slice(&pattern.anchor);
                unit.extend_from_slice(b" 1.2.3\0");
            }
        }
        let mut data = Vec::new();
        while data.len() < 8 << 20 {
            data.extend_from_slice(&unit);
        }
        let names = FileNames {
            file_name: "x",
            soname: None,
            is_object: false,
        };
        let scanned = scan_file(catalog, "x", &data, &names, &ObjectFacts::default());
        // The budget, plus one hit over it and the first hit of every pattern after it.
        let bound = Budget::for_file(data.len()).limit + most_per_hit(catalog) * 2 * (patterns + 1);
        assert!(scanned.examined <= bound, "{} > {bound}", scanned.examined);
        assert!(scanned.cut.is_some());
        let mut per_product: HashMap<&str, usize> = HashMap::new();
        for finding in &scanned.findings {
            *per_product.entry(&finding.identity.name).or_default() += 1;
        }
        assert!(per_product.values().all(|&n| n <= MAX_VERSIONS_PER_PRODUCT));
    }
}
