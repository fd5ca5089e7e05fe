//! `consign vuln db import PATH...`: reads files and folders from disk into the [`Database`].
//! This module and [`crate::db`] are the crate's edge; parsing ([`crate::document`]) is pure.
//!
//! A PATH is one source. A file is its own digest (`sha256sum` gives the same); a folder's
//! digest is that of the sorted list of `relative path TAB file SHA-256` lines, so the same tree
//! gives the same digest wherever it sits. A source whose digest the database already records
//! is not read again. Inside a folder, files that hold none of the formats (a README, a
//! manifest, VEX documents) are skipped and listed; a file that looks like records but breaks
//! the format fails the whole source, naming the file and the JSON pointer.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::{Digest as _, Sha256};

use crate::db::{Database, ImportSummary, NewSource};
use crate::document::{self, Document, ReadLimits};
use crate::error::VulnError;

/// The most files one folder source may hold.
pub const MAX_FILES: usize = 5_000_000;
/// Files parsed per batch handed to the database writer, at most.
const BATCH: usize = 512;
/// Input bytes per batch, at most (a batch holds at least one file): parsing the next batch on
/// the other cores overlaps with writing this one, and memory stays bounded.
const BATCH_BYTES: u64 = 24 << 20;

/// How to import.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// Bounds on each file.
    pub limits: ReadLimits,
    /// When the import runs (RFC 3339), recorded with each source.
    pub imported_at: String,
}

/// What importing one PATH did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PathReport {
    /// The source's digest.
    pub sha256: String,
    /// Files read.
    pub files: usize,
    /// Files inside a folder that hold no vulnerability data, skipped.
    pub skipped: Vec<String>,
    /// What the database did.
    pub summary: ImportSummary,
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> VulnError + 'a {
    move |source| VulnError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// Every regular file under `root`, sorted; links are not followed.
fn list_files(root: &Path) -> Result<Vec<PathBuf>, VulnError> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in fs_err::read_dir(&dir).map_err(io("read the folder", &dir))? {
            let entry = entry.map_err(io("read the folder", &dir))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(io("read the folder", &path))?;
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                out.push(path);
                if out.len() > MAX_FILES {
                    return Err(VulnError::TooLarge {
                        file: root.display().to_string(),
                        what: "the number of files in the folder".to_owned(),
                        limit: MAX_FILES.to_string(),
                    });
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

fn read_bounded(path: &Path, limits: &ReadLimits) -> Result<Vec<u8>, VulnError> {
    let size = fs_err::metadata(path).map_err(io("read", path))?.len();
    if size > limits.max_document_bytes {
        return Err(VulnError::TooLarge {
            file: path.display().to_string(),
            what: format!("the file ({size} bytes)"),
            limit: format!("{} bytes", limits.max_document_bytes),
        });
    }
    fs_err::read(path).map_err(io("read", path))
}

/// Splits `files` into batches of at most [`BATCH`] files and [`BATCH_BYTES`] bytes.
fn batches<'f>(files: &'f [PathBuf], sizes: &[u64]) -> Vec<&'f [PathBuf]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (idx, size) in sizes.iter().enumerate() {
        if idx > start && (idx - start >= BATCH || bytes + size > BATCH_BYTES) {
            out.push(&files[start..idx]);
            start = idx;
            bytes = 0;
        }
        bytes += size;
    }
    if start < files.len() {
        out.push(&files[start..]);
    }
    out
}

/// Imports one PATH (a file or a folder) as one source.
pub fn import_path(
    db: &mut Database,
    path: &Path,
    options: &ImportOptions,
) -> Result<PathReport, VulnError> {
    let meta = fs_err::metadata(path).map_err(io("read", path))?;
    let folder = meta.is_dir();
    let files = if folder {
        list_files(path)?
    } else {
        vec![path.to_owned()]
    };
    // First pass: the digest, so that an unchanged source is not parsed at all.
    let read: Vec<(String, u64)> = files
        .par_iter()
        .map(|file| {
            let bytes = read_bounded(file, &options.limits)?;
            Ok((hex::encode(Sha256::digest(&bytes)), bytes.len() as u64))
        })
        .collect::<Result<_, VulnError>>()?;
    let (digests, sizes): (Vec<String>, Vec<u64>) = read.into_iter().unzip();
    let sha256 = if folder {
        let mut hasher = Sha256::new();
        for (file, digest) in files.iter().zip(&digests) {
            let relative = file.strip_prefix(path).unwrap_or(file);
            hasher.update(format!("{}\t{digest}\n", relative.display()));
        }
        hex::encode(hasher.finalize())
    } else {
        digests.first().cloned().unwrap_or_default()
    };
    let mut report = PathReport {
        sha256: sha256.clone(),
        files: files.len(),
        ..PathReport::default()
    };
    if db.has_source(&sha256)? {
        report.summary.unchanged = true;
        return Ok(report);
    }
    let name = path.display().to_string();
    let source = NewSource {
        name: &name,
        sha256: &sha256,
        imported_at: &options.imported_at,
    };
    let limits = options.limits;
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Result<Vec<Document>, VulnError>>(2);
    let (summary, skipped) = std::thread::scope(|scope| {
        let producer = scope.spawn(move || {
            let mut skipped = Vec::new();
            for chunk in batches(&files, &sizes) {
                let parsed: Vec<Result<Option<Vec<Document>>, VulnError>> = chunk
                    .par_iter()
                    .map(|file| {
                        let bytes = read_bounded(file, &limits)?;
                        let shown = file.display().to_string();
                        match document::read(&shown, &bytes, &limits) {
                            Ok(docs) => Ok(Some(docs)),
                            Err(VulnError::Unrecognised { .. }) if folder => Ok(None),
                            Err(err) => Err(err),
                        }
                    })
                    .collect();
                let mut batch = Vec::new();
                let mut failed = None;
                for (file, result) in chunk.iter().zip(parsed) {
                    match result {
                        Ok(Some(docs)) => batch.extend(docs),
                        Ok(None) => skipped.push(file.display().to_string()),
                        Err(err) => {
                            failed = Some(err);
                            break;
                        }
                    }
                }
                let stop = failed.is_some();
                let message = match failed {
                    Some(err) => Err(err),
                    None => Ok(batch),
                };
                if sender.send(message).is_err() || stop {
                    break;
                }
            }
            skipped
        });
        let summary = db.import(&source, receiver);
        let skipped = producer.join().unwrap_or_default();
        (summary, skipped)
    });
    report.summary = summary?;
    if folder && !skipped.is_empty() && skipped.len() == report.files {
        return Err(VulnError::Unrecognised {
            file: name,
            reason: format!("none of its {} files holds vulnerability data", report.files),
            hint: "give folders of NVD CVE 2.0 JSON, OSV JSON or YAML, the KEV catalogue or EPSS CSV; VEX documents go to `consign vuln match --vex`".to_owned(),
        });
    }
    report.skipped = skipped;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::{Certainty, Target, evaluate};

    fn options() -> ImportOptions {
        ImportOptions {
            limits: ReadLimits::default(),
            imported_at: "2026-12-05T00:00:00Z".to_owned(),
        }
    }

    #[test]
    fn imports_are_idempotent_and_fail_whole() {
        let dir = tempfile::tempdir().unwrap();
        let shared = crate::test_support::shared_dir().join("vulndata");
        let records = dir.path().join("records");
        std::fs::create_dir(&records).unwrap();
        for name in ["CVE-2014/CVE-2014-0160.json", "CVE-2008/CVE-2008-0166.json"] {
            let from = shared.join("nvd").join(name);
            std::fs::copy(&from, records.join(from.file_name().unwrap())).unwrap();
        }
        std::fs::write(records.join("README.md"), "notes").unwrap();
        let mut db = Database::create(&dir.path().join("db/vuln.db")).unwrap();
        let first = import_path(&mut db, &records, &options()).unwrap();
        assert_eq!(first.summary.added, 2);
        assert_eq!(first.skipped.len(), 1, "README.md holds no records");
        let again = import_path(&mut db, &records, &options()).unwrap();
        assert!(again.summary.unchanged);
        assert_eq!(again.sha256, first.sha256);
        // The same records under another name: read, but nothing changes.
        let copy = dir.path().join("copy");
        std::fs::create_dir(&copy).unwrap();
        for entry in std::fs::read_dir(&records).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
        }
        std::fs::write(copy.join("extra.json"), b"{\"hello\": 1}").unwrap();
        let second = import_path(&mut db, &copy, &options()).unwrap();
        assert_eq!((second.summary.added, second.summary.kept), (0, 2));
        assert_eq!(second.skipped.len(), 2);
        // A bad record fails the whole source and leaves the database as it was.
        let bad = dir.path().join("bad");
        std::fs::create_dir(&bad).unwrap();
        std::fs::copy(
            shared.join("kev/known_exploited_vulnerabilities.json"),
            bad.join("kev.json"),
        )
        .unwrap();
        std::fs::write(bad.join("x.json"), br#"{"id": "CVE-2099-0001", "configurations": [{"nodes": [{"operator": "OR", "cpeMatch": [{"vulnerable": true, "criteria": "cpe:2.3:a"}]}]}]}"#).unwrap();
        let err = import_path(&mut db, &bad, &options())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("x.json`: at `/configurations/0/nodes/0/cpeMatch/0/criteria`"),
            "{err}"
        );
        let info = db.info().unwrap();
        assert_eq!(info.sources.len(), 2);
        assert_eq!(info.kev_entries, 0);
        assert_eq!(info.nvd_records, 2);
        // Matching reads back what was stored.
        let openssl = Target {
            bom_ref: "o".into(),
            name: "openssl".into(),
            version: Some("1.0.1f".into()),
            cpe: Some("cpe:2.3:a:openssl:openssl:1.0.1f:*:*:*:*:*:*:*".into()),
            purl: None,
            hashes: Vec::new(),
        };
        let knowledge = db.knowledge_for(std::slice::from_ref(&openssl)).unwrap();
        let found = evaluate(&[openssl], &knowledge);
        assert!(
            found
                .iter()
                .any(|f| f.id == "CVE-2014-0160" && f.certainty == Certainty::Affected),
            "{found:?}"
        );
    }
}
