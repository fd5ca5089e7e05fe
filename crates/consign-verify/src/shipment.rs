//! The shipment format: a folder (or a plain tar of it) with a `shipment.json` manifest.
//!
//! # Format `consign-shipment/v1`
//!
//! A shipment is a folder holding the evidence that travels with the goods, and a manifest at
//! its top, `shipment.json`:
//!
//! ```json
//! {
//!   "format": "consign-shipment/v1",
//!   "name": "lot-2026-0042",
//!   "artifacts": [
//!     { "path": "firmware/fw.img", "role": "firmware", "sha256": "…", "size": 1048576 },
//!     { "path": "sbom/fw.cdx.json", "role": "sbom", "sha256": "…", "size": 5120 },
//!     { "path": "attestations/release.intoto.jsonl", "role": "attestation", "sha256": "…", "size": 2048 },
//!     { "path": "documents/eu-doc.pdf", "role": "document", "sha256": "…", "size": 40960 }
//!   ]
//! }
//! ```
//!
//! - `role` is one of `firmware` (an image as flashed), `sbom` (a CycloneDX JSON SBOM),
//!   `attestation` (DSSE envelopes, one JSON object per line, or a Sigstore bundle holding one),
//!   and `document` (a declaration of conformity, a statement of compliance, instructions).
//! - `path` is relative, `/`-separated, made of the characters `A-Z a-z 0-9 . _ - + @`, with no
//!   empty, `.` or `..` component, at most 200 bytes; paths are unique.
//! - `sha256` and `size` are those of the file. A file that is missing or differs is a finding
//!   of the verdict (the shipment is rejected), not a read error.
//!
//! The single-file form is an uncompressed tar archive of the folder (ustar, PAX or GNU headers),
//! with `shipment.json` as its first member; only regular files and directories are accepted
//! (no links, devices, FIFOs or sparse files), so nothing in it can point outside it. It is read
//! as a stream ([`from_tar_reader`]): each member once, its size checked against its role's limit
//! before it is read, documents hashed and never held.
//!
//! # Bounds
//!
//! [`ShipmentLimits`] bounds the number of artifacts, each file and the total; reading never
//! allocates more than the limits allow, whatever the manifest or the tar headers claim.
//! This module is the only code in the crate that touches the file system.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::path::Path;

use consign_model::Sha256;
use serde::{Deserialize, Serialize};

use crate::error::{VerifyError, cut};

/// The manifest's file name at the top of a shipment.
pub const MANIFEST_NAME: &str = "shipment.json";
/// The value of the manifest's `format` field.
pub const FORMAT: &str = "consign-shipment/v1";

/// What an artifact is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ArtifactRole {
    /// A firmware image as flashed.
    Firmware,
    /// A CycloneDX JSON SBOM.
    Sbom,
    /// DSSE envelopes (JSON lines) or a Sigstore bundle.
    Attestation,
    /// A declaration of conformity, statement of compliance or other document.
    Document,
}

impl ArtifactRole {
    /// The folder `assemble` puts artifacts of this role in.
    pub fn folder(self) -> &'static str {
        match self {
            ArtifactRole::Firmware => "firmware",
            ArtifactRole::Sbom => "sbom",
            ArtifactRole::Attestation => "attestations",
            ArtifactRole::Document => "documents",
        }
    }

    /// The role's name as written in the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactRole::Firmware => "firmware",
            ArtifactRole::Sbom => "sbom",
            ArtifactRole::Attestation => "attestation",
            ArtifactRole::Document => "document",
        }
    }
}

/// One line of the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactEntry {
    /// Relative path inside the shipment.
    pub path: String,
    /// What it is.
    pub role: ArtifactRole,
    /// SHA-256 of the file.
    pub sha256: Sha256,
    /// Size of the file in bytes.
    pub size: u64,
}

/// The manifest, `shipment.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// A name for the shipment (a lot number), for reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The artifacts.
    pub artifacts: Vec<ArtifactEntry>,
}

/// Bounds on reading a shipment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShipmentLimits {
    /// Most artifacts a manifest may list.
    pub max_artifacts: usize,
    /// Largest single file.
    pub max_file_bytes: u64,
    /// Largest sum of all files.
    pub max_total_bytes: u64,
    /// Largest manifest.
    pub max_manifest_bytes: u64,
}

impl Default for ShipmentLimits {
    fn default() -> Self {
        Self {
            max_artifacts: 4096,
            max_file_bytes: 1 << 30,
            max_total_bytes: 2 << 30,
            max_manifest_bytes: 4 << 20,
        }
    }
}

/// An artifact as found: its manifest entry and its bytes, or why they are not usable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    /// The manifest entry.
    pub entry: ArtifactEntry,
    /// The bytes, when the file was present and within limits (whether or not the digest matches).
    /// Documents are hashed as they are read and never held: only their digest is needed.
    pub data: Option<Vec<u8>>,
    /// The file's actual SHA-256, when it was read or hashed.
    pub actual_sha256: Option<Sha256>,
    /// The file's actual size, when it was read or hashed.
    pub actual_size: Option<u64>,
    /// Why the file is not usable: missing, too large, not a regular file.
    pub problem: Option<String>,
}

impl Artifact {
    /// True when the file was read or hashed and matches the manifest's digest and size.
    pub fn verified(&self) -> bool {
        self.actual_sha256 == Some(self.entry.sha256) && self.actual_size == Some(self.entry.size)
    }

    /// The bytes, only when present and matching the manifest's digest and size.
    pub fn verified_data(&self) -> Option<&[u8]> {
        let data = self.data.as_deref()?;
        (self.actual_sha256 == Some(self.entry.sha256) && data.len() as u64 == self.entry.size)
            .then_some(data)
    }
}

/// A shipment read into memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shipment {
    /// A name for reports: the manifest's `name`, else the folder or archive name.
    pub name: String,
    /// The manifest.
    pub manifest: Manifest,
    /// SHA-256 of the manifest bytes: the identity of the shipment in the ledger.
    pub manifest_sha256: Sha256,
    /// The artifacts, in manifest order.
    pub artifacts: Vec<Artifact>,
    /// Files present in the folder or archive but not listed in the manifest.
    pub unlisted: Vec<String>,
}

impl Shipment {
    /// The artifacts of one role.
    pub fn of_role(&self, role: ArtifactRole) -> impl Iterator<Item = &Artifact> {
        self.artifacts
            .iter()
            .filter(move |artifact| artifact.entry.role == role)
    }

    /// Builds a shipment from a manifest and a way to fetch each listed file.
    ///
    /// `fetch(entry, max_bytes)` returns `Ok(None)` when the file is absent, `Err(reason)` when
    /// it is present but unusable (larger than `max_bytes`, not a regular file). `max_bytes` is
    /// the least of the file limit, what is left of the total, and the role's own limit
    /// ([`role_limit`]), so a document is refused by its size before anything is read.
    pub fn from_parts(
        fallback_name: &str,
        manifest_bytes: &[u8],
        limits: &ShipmentLimits,
        mut fetch: impl FnMut(&ArtifactEntry, u64) -> Result<Option<Fetched>, String>,
    ) -> Result<Self, VerifyError> {
        let manifest = parse_manifest(fallback_name, manifest_bytes, limits)?;
        let name = manifest
            .name
            .clone()
            .unwrap_or_else(|| fallback_name.to_owned());
        let mut total: u64 = 0;
        let mut artifacts = Vec::with_capacity(manifest.artifacts.len());
        for entry in &manifest.artifacts {
            let budget = limits
                .max_file_bytes
                .min(limits.max_total_bytes.saturating_sub(total))
                .min(role_limit(entry.role));
            let mut artifact = Artifact {
                entry: entry.clone(),
                data: None,
                actual_sha256: None,
                actual_size: None,
                problem: None,
            };
            match fetch(entry, budget) {
                Ok(Some(Fetched::Held(data))) if data.len() as u64 > budget => {
                    artifact.problem = Some(format!(
                        "is {} bytes, over the limit of {budget} bytes",
                        data.len()
                    ));
                }
                Ok(Some(Fetched::Held(data))) => {
                    artifact.actual_sha256 = Some(Sha256::of(&data));
                    artifact.actual_size = Some(data.len() as u64);
                    artifact.data = Some(data);
                }
                Ok(Some(Fetched::Hashed { sha256, size })) => {
                    artifact.actual_sha256 = Some(sha256);
                    artifact.actual_size = Some(size);
                }
                Ok(None) => {
                    artifact.problem =
                        Some("listed in the manifest but not in the shipment".to_owned());
                }
                Err(reason) => artifact.problem = Some(reason),
            }
            total = total.saturating_add(artifact.actual_size.unwrap_or(0));
            artifacts.push(artifact);
        }
        Ok(Self {
            name,
            manifest_sha256: Sha256::of(manifest_bytes),
            manifest,
            artifacts,
            unlisted: Vec::new(),
        })
    }
}

/// A listed file as fetched: its bytes, or (documents) only its digest and size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fetched {
    /// The bytes, held for the checks that read them.
    Held(Vec<u8>),
    /// Hashed while read and not kept.
    Hashed {
        /// SHA-256 of the bytes.
        sha256: Sha256,
        /// Their number.
        size: u64,
    },
}

/// The largest file of a role: attestations and SBOMs are JSON documents read whole, so they
/// are bounded by the strict JSON reader's limit before they are read; firmware and documents
/// by [`ShipmentLimits::max_file_bytes`] alone (documents are only hashed).
pub fn role_limit(role: ArtifactRole) -> u64 {
    match role {
        ArtifactRole::Attestation | ArtifactRole::Sbom => {
            crate::evidence::MAX_ENVELOPE_BYTES as u64
        }
        ArtifactRole::Firmware | ArtifactRole::Document => u64::MAX,
    }
}

/// Reads a listed file from `reader`, at most `max` bytes: documents hashed in 64 KiB pieces
/// and dropped, everything else held once.
fn fetch_from(
    reader: &mut dyn std::io::Read,
    role: ArtifactRole,
    size_hint: u64,
    max: u64,
) -> std::io::Result<Result<Fetched, String>> {
    let mut limited = reader.take(max.saturating_add(1));
    if role == ArtifactRole::Document {
        use sha2::Digest as _;
        let mut hasher = sha2::Sha256::new();
        let mut buffer = vec![0u8; 64 << 10];
        let mut size = 0u64;
        loop {
            let read = limited.read(&mut buffer)?;
            if read == 0 {
                break;
            }
            hasher.update(buffer.get(..read).unwrap_or_default());
            size += read as u64;
        }
        if size > max {
            return Ok(Err(format!("is over the limit of {max} bytes")));
        }
        return Ok(Ok(Fetched::Hashed {
            sha256: Sha256(hasher.finalize().into()),
            size,
        }));
    }
    let capacity = usize::try_from(size_hint.min(max)).unwrap_or(0);
    let mut data = Vec::with_capacity(capacity);
    limited.read_to_end(&mut data)?;
    if data.len() as u64 > max {
        return Ok(Err(format!("is over the limit of {max} bytes")));
    }
    Ok(Ok(Fetched::Held(data)))
}

/// Parses and checks a manifest.
pub fn parse_manifest(
    name: &str,
    bytes: &[u8],
    limits: &ShipmentLimits,
) -> Result<Manifest, VerifyError> {
    if bytes.len() as u64 > limits.max_manifest_bytes {
        return Err(VerifyError::TooLarge {
            what: format!("{name}/{MANIFEST_NAME}"),
            size: bytes.len() as u64,
            limit: limits.max_manifest_bytes,
        });
    }
    let strict = consign_model::json::JsonLimits {
        max_bytes: usize::try_from(limits.max_manifest_bytes).unwrap_or(usize::MAX),
        max_depth: 16,
    };
    let manifest: Manifest =
        crate::error::read_json(bytes, &strict).map_err(|source| VerifyError::ManifestJson {
            name: name.to_owned(),
            source,
        })?;
    let bad = |reason: String| VerifyError::Manifest {
        name: name.to_owned(),
        reason,
    };
    if manifest.format != FORMAT {
        return Err(bad(format!(
            "`format` is `{}`, expected `{FORMAT}`",
            cut(&manifest.format, 80)
        )));
    }
    if manifest.artifacts.len() > limits.max_artifacts {
        return Err(bad(format!(
            "lists {} artifacts, over the limit of {}",
            manifest.artifacts.len(),
            limits.max_artifacts
        )));
    }
    let mut seen = BTreeSet::new();
    for entry in &manifest.artifacts {
        check_path(&entry.path)?;
        if !seen.insert(entry.path.as_str()) {
            return Err(bad(format!("`{}` is listed twice", entry.path)));
        }
    }
    Ok(manifest)
}

/// Checks that a path inside a shipment is relative, plain, and cannot escape the folder.
pub fn check_path(path: &str) -> Result<(), VerifyError> {
    let fail = |reason| VerifyError::UnsafePath {
        path: cut(path, 200),
        reason,
    };
    if path.is_empty() || path.len() > 200 {
        return Err(fail("paths have 1 to 200 bytes"));
    }
    if path == MANIFEST_NAME {
        return Err(fail("the manifest cannot list itself"));
    }
    for part in path.split('/') {
        if part.is_empty() || part == "." || part == ".." {
            return Err(fail("empty, `.` and `..` components are not allowed"));
        }
        if !part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+' | b'@'))
        {
            return Err(fail("only `A-Z a-z 0-9 . _ - + @` and `/` are allowed"));
        }
    }
    Ok(())
}

/// A file to put into a new shipment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewArtifact {
    /// Path inside the shipment (see [`check_path`]); [`NewArtifact::named`] picks one.
    pub path: String,
    /// Its role.
    pub role: ArtifactRole,
    /// Its bytes.
    pub data: Vec<u8>,
}

impl NewArtifact {
    /// An artifact placed as `<role folder>/<file_name>`, with characters outside the allowed set
    /// replaced by `_`.
    pub fn named(role: ArtifactRole, file_name: &str, data: Vec<u8>) -> Self {
        let mut clean: String = file_name
            .chars()
            .map(|ch| {
                if ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-' | '+' | '@') {
                    ch
                } else {
                    '_'
                }
            })
            .take(150)
            .collect();
        if clean.is_empty() || clean == "." || clean == ".." {
            "artifact".clone_into(&mut clean);
        }
        Self {
            path: format!("{}/{clean}", role.folder()),
            role,
            data,
        }
    }
}

/// A shipment built in memory, ready to be written as a folder or a tar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assembled {
    /// The manifest bytes (pretty JSON, trailing newline).
    pub manifest_bytes: Vec<u8>,
    /// The files, in manifest order.
    pub files: Vec<NewArtifact>,
}

/// Builds the manifest for `files`. Paths must be valid and unique.
pub fn assemble(name: Option<&str>, files: Vec<NewArtifact>) -> Result<Assembled, VerifyError> {
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        name: name.map(ToOwned::to_owned),
        artifacts: files
            .iter()
            .map(|file| ArtifactEntry {
                path: file.path.clone(),
                role: file.role,
                sha256: Sha256::of(&file.data),
                size: file.data.len() as u64,
            })
            .collect(),
    };
    let mut manifest_bytes = serde_json::to_vec_pretty(&manifest).map_err(VerifyError::Json)?;
    manifest_bytes.push(b'\n');
    let limits = ShipmentLimits {
        max_artifacts: usize::MAX,
        max_manifest_bytes: u64::MAX,
        ..ShipmentLimits::default()
    };
    parse_manifest(name.unwrap_or("new shipment"), &manifest_bytes, &limits)?;
    Ok(Assembled {
        manifest_bytes,
        files,
    })
}

impl Assembled {
    /// Reads it back as a [`Shipment`] without touching the disk (tests, benchmarks).
    pub fn to_shipment(&self, name: &str) -> Result<Shipment, VerifyError> {
        Shipment::from_parts(
            name,
            &self.manifest_bytes,
            &ShipmentLimits::default(),
            |entry, _| {
                Ok(self
                    .files
                    .iter()
                    .find(|file| file.path == entry.path)
                    .map(|file| match file.role {
                        ArtifactRole::Document => Fetched::Hashed {
                            sha256: Sha256::of(&file.data),
                            size: file.data.len() as u64,
                        },
                        _ => Fetched::Held(file.data.clone()),
                    }))
            },
        )
    }

    /// The plain ustar archive of the shipment.
    pub fn to_tar(&self) -> Result<Vec<u8>, VerifyError> {
        let mut out = Vec::new();
        let mut dirs = BTreeSet::new();
        write_tar_entry(&mut out, MANIFEST_NAME, b'0', &self.manifest_bytes)?;
        for file in &self.files {
            let mut prefix = String::new();
            let parts: Vec<&str> = file.path.split('/').collect();
            for part in parts.iter().take(parts.len().saturating_sub(1)) {
                prefix.push_str(part);
                prefix.push('/');
                if dirs.insert(prefix.clone()) {
                    write_tar_entry(&mut out, &prefix, b'5', &[])?;
                }
            }
            write_tar_entry(&mut out, &file.path, b'0', &file.data)?;
        }
        out.resize(out.len() + 1024, 0);
        Ok(out)
    }

    /// Writes the shipment into `dir`, which must not exist yet or be empty.
    pub fn write_dir(&self, dir: &Path) -> Result<(), VerifyError> {
        let io = |action, path: &Path| {
            let path = path.to_path_buf();
            move |source| VerifyError::Io {
                action,
                path,
                source,
            }
        };
        if dir.exists() {
            let mut entries = fs_err::read_dir(dir).map_err(io("list the folder", dir))?;
            if entries.next().is_some() {
                return Err(VerifyError::Io {
                    action: "write the shipment into",
                    path: dir.to_path_buf(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        "the folder is not empty",
                    ),
                });
            }
        }
        fs_err::create_dir_all(dir).map_err(io("create the folder", dir))?;
        for file in &self.files {
            check_path(&file.path)?;
            let target = dir.join(&file.path);
            if let Some(parent) = target.parent() {
                fs_err::create_dir_all(parent).map_err(io("create the folder", parent))?;
            }
            write_new(&target, &file.data).map_err(io("write", &target))?;
        }
        let manifest = dir.join(MANIFEST_NAME);
        write_new(&manifest, &self.manifest_bytes).map_err(io("write", &manifest))?;
        Ok(())
    }
}

fn write_new(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut file = fs_err::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(data)?;
    file.flush()
}

/// Reads a shipment folder or archive.
pub fn load(path: &Path, limits: &ShipmentLimits) -> Result<Shipment, VerifyError> {
    let meta = fs_err::metadata(path).map_err(|source| VerifyError::Io {
        action: "open the shipment",
        path: path.to_path_buf(),
        source,
    })?;
    let fallback_name = path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    if meta.is_dir() {
        load_dir(path, &fallback_name, limits)
    } else {
        // Bounded before reading: files, manifest, and room for headers and unlisted entries.
        let max = limits
            .max_total_bytes
            .saturating_add(limits.max_manifest_bytes)
            .saturating_add(64 << 20);
        if meta.len() > max {
            return Err(VerifyError::TooLarge {
                what: path.display().to_string(),
                size: meta.len(),
                limit: max,
            });
        }
        let file = fs_err::File::open(path).map_err(|source| VerifyError::Io {
            action: "open",
            path: path.to_path_buf(),
            source,
        })?;
        // Streamed: no copy of the archive is held, each member is read once.
        from_tar_reader(
            &fallback_name,
            std::io::BufReader::with_capacity(256 << 10, file.take(max)),
            limits,
        )
    }
}

fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, VerifyError> {
    let file = fs_err::File::open(path).map_err(|source| VerifyError::Io {
        action: "open",
        path: path.to_path_buf(),
        source,
    })?;
    let mut data = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(|source| VerifyError::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        })?;
    if data.len() as u64 > max {
        return Err(VerifyError::TooLarge {
            what: path.display().to_string(),
            size: data.len() as u64,
            limit: max,
        });
    }
    Ok(data)
}

fn load_dir(
    dir: &Path,
    fallback_name: &str,
    limits: &ShipmentLimits,
) -> Result<Shipment, VerifyError> {
    let manifest_path = dir.join(MANIFEST_NAME);
    let manifest_meta =
        fs_err::symlink_metadata(&manifest_path).map_err(|source| VerifyError::Io {
            action: "read the shipment manifest",
            path: manifest_path.clone(),
            source,
        })?;
    if !manifest_meta.is_file() {
        return Err(VerifyError::Manifest {
            name: fallback_name.to_owned(),
            reason: format!("`{MANIFEST_NAME}` is not a regular file"),
        });
    }
    let manifest_bytes = read_bounded(&manifest_path, limits.max_manifest_bytes)?;
    let mut shipment =
        Shipment::from_parts(fallback_name, &manifest_bytes, limits, |entry, max| {
            fetch_from_dir(dir, entry, max)
        })?;
    let listed: BTreeSet<String> = shipment
        .manifest
        .artifacts
        .iter()
        .map(|entry| entry.path.clone())
        .collect();
    let mut unlisted = Vec::new();
    list_files(dir, "", &listed, &mut unlisted, 0);
    shipment.unlisted = unlisted;
    Ok(shipment)
}

/// Reads `dir/rel`, refusing symbolic links anywhere on the way, so nothing outside `dir` is read.
fn fetch_from_dir(dir: &Path, entry: &ArtifactEntry, max: u64) -> Result<Option<Fetched>, String> {
    let mut current = dir.to_path_buf();
    let parts: Vec<&str> = entry.path.split('/').collect();
    for (idx, part) in parts.iter().enumerate() {
        current.push(part);
        let meta = match std::fs::symlink_metadata(&current) {
            Ok(meta) => meta,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(format!("cannot be read: {err}")),
        };
        let last = idx + 1 == parts.len();
        if meta.file_type().is_symlink() {
            return Err(
                "is or passes through a symbolic link, which shipments may not hold".to_owned(),
            );
        }
        if last && !meta.is_file() {
            return Err("is not a regular file".to_owned());
        }
        if !last && !meta.is_dir() {
            return Ok(None);
        }
        if last && meta.len() > max {
            return Err(format!(
                "is {} bytes, over the limit of {max} bytes",
                meta.len()
            ));
        }
    }
    let mut file = std::fs::File::open(&current).map_err(|err| format!("cannot be read: {err}"))?;
    let size = file.metadata().map_or(0, |m| m.len());
    match fetch_from(&mut file, entry.role, size, max) {
        Ok(fetched) => fetched.map(Some),
        Err(err) => Err(format!("cannot be read: {err}")),
    }
}

fn list_files(
    dir: &Path,
    prefix: &str,
    listed: &BTreeSet<String>,
    out: &mut Vec<String>,
    depth: u32,
) {
    // Bounded: a shipment is flat in practice; deeper trees are listed no further.
    if depth > 8 || out.len() > 1000 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut names: Vec<_> = entries.filter_map(Result::ok).collect();
    names.sort_by_key(std::fs::DirEntry::file_name);
    for entry in names {
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = format!("{prefix}{name}");
        if rel == MANIFEST_NAME {
            continue;
        }
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            list_files(&entry.path(), &format!("{rel}/"), listed, out, depth + 1);
        } else if !listed.contains(&rel) {
            out.push(rel);
        }
    }
}

const BLOCK: usize = 512;

fn write_tar_entry(
    out: &mut Vec<u8>,
    path: &str,
    kind: u8,
    data: &[u8],
) -> Result<(), VerifyError> {
    let mut header = [0u8; BLOCK];
    let (prefix, name) = if path.len() <= 100 {
        ("", path)
    } else {
        // ustar splits long paths at a `/` into a prefix (155 bytes) and a name (100 bytes).
        let split = path
            .char_indices()
            .filter(|&(idx, ch)| ch == '/' && idx <= 155 && path.len() - idx - 1 <= 100)
            .map(|(idx, _)| idx)
            .next()
            .ok_or_else(|| VerifyError::UnsafePath {
                path: cut(path, 200),
                reason: "too long for a ustar header",
            })?;
        (&path[..split], &path[split + 1..])
    };
    header[..name.len()].copy_from_slice(name.as_bytes());
    let mode: &[u8] = if kind == b'5' {
        b"0000755\0"
    } else {
        b"0000644\0"
    };
    header[100..108].copy_from_slice(mode);
    header[108..116].copy_from_slice(b"0000000\0");
    header[116..124].copy_from_slice(b"0000000\0");
    header[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
    header[136..148].copy_from_slice(b"00000000000\0");
    header[148..156].copy_from_slice(b"        ");
    header[156] = kind;
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    header[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(data);
    let pad = (BLOCK - data.len() % BLOCK) % BLOCK;
    out.resize(out.len() + pad, 0);
    Ok(())
}

/// Reads a shipment from a tar archive held in memory (see [`from_tar_reader`]).
pub fn from_tar(
    name: &str,
    bytes: &[u8],
    limits: &ShipmentLimits,
) -> Result<Shipment, VerifyError> {
    from_tar_reader(name, bytes, limits)
}

/// Reads a shipment from a tar archive as a stream (POSIX ustar, PAX and GNU headers, through
/// the `tar` crate). Only regular files and folders are accepted: links, devices, FIFOs and
/// sparse files are refused, and every path passes [`check_path`], so nothing in the archive
/// can point outside it. `shipment.json` must be the first member (as `shipment assemble`
/// writes it): each later member is then read once, bounded by its role's limit before a byte
/// of it is read, documents hashed and dropped, unlisted members skipped.
pub fn from_tar_reader(
    name: &str,
    reader: impl std::io::Read,
    limits: &ShipmentLimits,
) -> Result<Shipment, VerifyError> {
    let tar_err = |offset: u64, reason: String| VerifyError::Tar {
        name: name.to_owned(),
        offset,
        reason,
    };
    let mut archive = tar::Archive::new(reader);
    let entries = archive
        .entries()
        .map_err(|err| tar_err(0, format!("cannot be read: {err}")))?;
    let mut manifest: Option<(Vec<u8>, Manifest)> = None;
    let mut found: std::collections::BTreeMap<String, Result<Fetched, String>> =
        std::collections::BTreeMap::new();
    let mut seen = BTreeSet::new();
    let mut unlisted = Vec::new();
    let mut total = 0u64;
    let mut offset = 0u64;
    for entry in entries {
        let mut entry = entry.map_err(|err| tar_err(offset, format!("{err}")))?;
        offset = entry.raw_header_position();
        let raw_path = entry.path_bytes().into_owned();
        let path = String::from_utf8_lossy(&raw_path).into_owned();
        let kind = entry.header().entry_type();
        let size = entry.size();
        if kind.is_dir() {
            let rel = path.trim_start_matches("./").trim_end_matches('/');
            if !rel.is_empty() && rel != "." {
                check_path(rel)?;
            }
            continue;
        }
        if !kind.is_file() {
            return Err(tar_err(
                offset,
                format!(
                    "`{}` has entry type `{}`; shipments hold only regular files and folders (no links, devices, FIFOs or sparse files)",
                    cut(&path, 200),
                    char::from(kind.as_byte()).escape_default()
                ),
            ));
        }
        let rel = path.trim_start_matches("./").to_owned();
        if !seen.insert(rel.clone()) {
            return Err(tar_err(
                offset,
                format!("`{}` appears twice", cut(&rel, 200)),
            ));
        }
        if seen.len() > limits.max_artifacts.saturating_add(1) {
            return Err(tar_err(
                offset,
                format!("more than {} files", limits.max_artifacts),
            ));
        }
        let Some((_, listed)) = &manifest else {
            if rel != MANIFEST_NAME {
                return Err(tar_err(
                    offset,
                    format!(
                        "the first member is `{}`; a shipment archive starts with `{MANIFEST_NAME}` (`consign shipment assemble` writes it so)",
                        cut(&rel, 200)
                    ),
                ));
            }
            if size > limits.max_manifest_bytes {
                return Err(VerifyError::TooLarge {
                    what: format!("{name}/{MANIFEST_NAME}"),
                    size,
                    limit: limits.max_manifest_bytes,
                });
            }
            let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            (&mut entry)
                .take(limits.max_manifest_bytes)
                .read_to_end(&mut bytes)
                .map_err(|err| tar_err(offset, format!("`{MANIFEST_NAME}`: {err}")))?;
            let parsed = parse_manifest(name, &bytes, limits)?;
            manifest = Some((bytes, parsed));
            continue;
        };
        check_path(&rel)?;
        let Some(listed) = listed.artifacts.iter().find(|e| e.path == rel) else {
            // Not read: the tar reader skips its data.
            unlisted.push(rel);
            continue;
        };
        let budget = limits
            .max_file_bytes
            .min(limits.max_total_bytes.saturating_sub(total))
            .min(role_limit(listed.role));
        if size > budget {
            found.insert(
                rel,
                Err(format!("is {size} bytes, over the limit of {budget} bytes")),
            );
            continue;
        }
        let fetched = fetch_from(&mut entry, listed.role, size, budget)
            .map_err(|err| tar_err(offset, format!("`{}`: {err}", cut(&rel, 200))))?;
        total = total.saturating_add(size);
        found.insert(rel, fetched);
    }
    let (manifest_bytes, _) =
        manifest.ok_or_else(|| tar_err(0, format!("the archive has no `{MANIFEST_NAME}`")))?;
    let mut shipment = Shipment::from_parts(name, &manifest_bytes, limits, |entry, _| {
        found.remove(&entry.path).transpose()
    })?;
    shipment.unlisted = unlisted;
    Ok(shipment)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Assembled {
        assemble(
            Some("lot-1"),
            vec![
                NewArtifact::named(ArtifactRole::Firmware, "fw.img", b"firmware bytes".to_vec()),
                NewArtifact::named(ArtifactRole::Sbom, "fw.cdx.json", b"{}".to_vec()),
                NewArtifact::named(ArtifactRole::Attestation, "a b.jsonl", vec![b'x'; 700]),
            ],
        )
        .unwrap()
    }

    #[test]
    fn tar_round_trip() {
        let assembled = sample();
        let tar = assembled.to_tar().unwrap();
        let shipment = from_tar("x.tar", &tar, &ShipmentLimits::default()).unwrap();
        assert_eq!(shipment.name, "lot-1");
        assert_eq!(shipment.artifacts.len(), 3);
        assert_eq!(shipment.artifacts[2].entry.path, "attestations/a_b.jsonl");
        for artifact in &shipment.artifacts {
            assert!(artifact.verified_data().is_some(), "{artifact:?}");
        }
        assert!(shipment.unlisted.is_empty());
        assert_eq!(shipment, assembled.to_shipment("lot-1").unwrap());
    }

    #[test]
    fn dir_round_trip_and_tamper() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("ship");
        sample().write_dir(&dir).unwrap();
        let shipment = load(&dir, &ShipmentLimits::default()).unwrap();
        assert!(
            shipment
                .artifacts
                .iter()
                .all(|a| a.verified_data().is_some())
        );
        std::fs::write(dir.join("firmware/fw.img"), b"tampered").unwrap();
        std::fs::write(dir.join("extra.bin"), b"?").unwrap();
        std::fs::remove_file(dir.join("sbom/fw.cdx.json")).unwrap();
        let shipment = load(&dir, &ShipmentLimits::default()).unwrap();
        assert!(shipment.artifacts[0].verified_data().is_none());
        assert!(shipment.artifacts[0].data.is_some());
        assert_eq!(
            shipment.artifacts[1].problem.as_deref(),
            Some("listed in the manifest but not in the shipment")
        );
        assert_eq!(shipment.unlisted, vec!["extra.bin".to_owned()]);
        // Writing into a non-empty folder is refused.
        assert!(sample().write_dir(&dir).is_err());
    }

    #[test]
    fn symlinks_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("ship");
        sample().write_dir(&dir).unwrap();
        std::fs::remove_file(dir.join("firmware/fw.img")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", dir.join("firmware/fw.img")).unwrap();
        let shipment = load(&dir, &ShipmentLimits::default()).unwrap();
        assert!(shipment.artifacts[0].data.is_none());
        assert!(
            shipment.artifacts[0]
                .problem
                .as_deref()
                .unwrap()
                .contains("symbolic link")
        );
    }

    #[track_caller]
    fn check_path_err(path: &str, expect: &str) {
        assert_eq!(check_path(path).unwrap_err().to_string(), expect);
    }

    #[test]
    fn unsafe_paths() {
        check_path_err(
            "../etc/passwd",
            "`../etc/passwd` is not an allowed path inside a shipment: empty, `.` and `..` components are not allowed",
        );
        check_path_err(
            "/etc/passwd",
            "`/etc/passwd` is not an allowed path inside a shipment: empty, `.` and `..` components are not allowed",
        );
        check_path_err(
            "a\\b",
            "`a\\b` is not an allowed path inside a shipment: only `A-Z a-z 0-9 . _ - + @` and `/` are allowed",
        );
        check_path_err(
            "shipment.json",
            "`shipment.json` is not an allowed path inside a shipment: the manifest cannot list itself",
        );
        assert!(check_path("firmware/fw-1.2+b@x.img").is_ok());
    }

    fn reseal(tar: &mut [u8], at: usize) {
        let sum: u32 = tar[at..at + 512]
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u32::from(b)
                }
            })
            .sum();
        tar[at + 148..at + 156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    }

    #[track_caller]
    fn tar_err(tar: &[u8], expect: &str) {
        let err = from_tar("x.tar", tar, &ShipmentLimits::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains(expect), "{err}\n  does not contain\n{expect}");
    }

    #[test]
    fn hostile_tar_headers() {
        let tar = sample().to_tar().unwrap();
        // A manifest claiming far more than its limit is refused before it is read.
        let mut big = tar.clone();
        big[124..136].copy_from_slice(b"77777777777\0");
        reseal(&mut big, 0);
        tar_err(&big, "is 8589934591 bytes, over the limit of 4194304 bytes");
        // A member claiming more than follows: the stream ends early.
        let truncated = &tar[..tar.len() - 1024 - 600];
        assert!(from_tar("x.tar", truncated, &ShipmentLimits::default()).is_err());
        // A symlink entry (and any other non-regular type).
        for (kind, name) in [(b'2', "`2`"), (b'1', "`1`"), (b'3', "`3`"), (b'6', "`6`")] {
            let mut link = tar.clone();
            link[156] = kind;
            reseal(&mut link, 0);
            tar_err(&link, &format!("has entry type {name}"));
        }
        // A traversing path, in the name and through a PAX `path` record.
        let mut header = tar::Header::new_ustar();
        header.set_size(0);
        header.set_entry_type(tar::EntryType::Regular);
        let mut builder = tar::Builder::new(Vec::new());
        let manifest = &sample().manifest_bytes;
        let mut manifest_header = tar::Header::new_ustar();
        manifest_header.set_size(manifest.len() as u64);
        manifest_header.set_mode(0o644);
        manifest_header.set_cksum();
        builder
            .append_data(&mut manifest_header, MANIFEST_NAME, manifest.as_slice())
            .unwrap();
        builder
            .append_pax_extensions([("path", b"../../etc/passwd".as_slice())])
            .unwrap();
        header.set_path("harmless").unwrap();
        header.set_cksum();
        builder.append(&header, std::io::empty()).unwrap();
        let traversal = builder.into_inner().unwrap();
        tar_err(
            &traversal,
            "`../../etc/passwd` is not an allowed path inside a shipment",
        );
        // The manifest must come first.
        let mut builder = tar::Builder::new(Vec::new());
        header.set_path("firmware/fw.img").unwrap();
        header.set_cksum();
        builder.append(&header, std::io::empty()).unwrap();
        tar_err(
            &builder.into_inner().unwrap(),
            "the first member is `firmware/fw.img`; a shipment archive starts with `shipment.json`",
        );
        // Garbage.
        assert!(from_tar("x.tar", &[7u8; 2048], &ShipmentLimits::default()).is_err());
    }

    /// PAX and GNU headers (long paths, as GNU tar and Python write them) are read.
    #[test]
    fn pax_and_gnu_archives() {
        let assembled = assemble(
            Some("lot-1"),
            vec![NewArtifact {
                path: format!("documents/{}/doc.txt", "d".repeat(120)),
                role: ArtifactRole::Document,
                data: b"declaration".to_vec(),
            }],
        )
        .unwrap();
        for gnu in [false, true] {
            let mut builder = tar::Builder::new(Vec::new());
            for (path, data) in [
                (MANIFEST_NAME.to_owned(), assembled.manifest_bytes.clone()),
                (
                    assembled.files[0].path.clone(),
                    assembled.files[0].data.clone(),
                ),
            ] {
                let mut header = if gnu {
                    tar::Header::new_gnu()
                } else {
                    tar::Header::new_ustar()
                };
                header.set_size(data.len() as u64);
                header.set_mode(0o644);
                if gnu {
                    builder
                        .append_data(&mut header, &path, data.as_slice())
                        .unwrap();
                } else {
                    builder
                        .append_pax_extensions([("path", path.as_bytes())])
                        .unwrap();
                    header.set_path("placeholder").unwrap();
                    header.set_cksum();
                    builder.append(&header, data.as_slice()).unwrap();
                }
            }
            let tar = builder.into_inner().unwrap();
            let shipment = from_tar("x.tar", &tar, &ShipmentLimits::default()).unwrap();
            assert!(shipment.artifacts[0].verified(), "gnu {gnu}: {shipment:?}");
            assert!(
                shipment.artifacts[0].data.is_none(),
                "documents are not held"
            );
            assert!(shipment.unlisted.is_empty());
        }
    }

    #[test]
    fn manifest_rules() {
        let limits = ShipmentLimits::default();
        let err = parse_manifest(
            "s",
            br#"{"format":"consign-shipment/v1","artifacts":[],"extra":1}"#,
            &limits,
        )
        .unwrap_err();
        assert!(matches!(err, VerifyError::ManifestJson { .. }));
        // Issue 13, item 2: a repeated key, at any depth, is named by its JSON pointer.
        let err = parse_manifest(
            "s",
            br#"{"format":"consign-shipment/v1","artifacts":[{"path":"a","path":"b"}]}"#,
            &limits,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("duplicate key `/artifacts/0/path` at byte offset 57"),
            "{err}"
        );
        let err = parse_manifest("s", br#"{"format":"v0","artifacts":[]}"#, &limits).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`s`: shipment manifest: `format` is `v0`, expected `consign-shipment/v1`"
        );
        let digest = Sha256::of(b"").to_hex();
        let twice = format!(
            r#"{{"format":"consign-shipment/v1","artifacts":[{{"path":"a","role":"sbom","sha256":"{digest}","size":0}},{{"path":"a","role":"sbom","sha256":"{digest}","size":0}}]}}"#
        );
        let err = parse_manifest("s", twice.as_bytes(), &limits).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`s`: shipment manifest: `a` is listed twice"
        );
    }
}
