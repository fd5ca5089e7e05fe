//! `SHA256SUMS` manifests, as `sha256sum` writes them: the vendored schemas and the fixtures are
//! pinned by them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

/// The `(sha256, path)` lines of a `SHA256SUMS`, sorted by path, `./` prefixes removed. A line that
/// is not `SHA256  NAME`, or a name that leaves the manifest's folder, is an error.
pub(crate) fn entries(manifest: &Path) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(manifest)
        .map_err(|err| format!("reading {}: {err}", manifest.display()))?;
    let mut entries = Vec::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let Some((hash, name)) = line.split_once("  ") else {
            return Err(format!(
                "{}: `{line}` is not `SHA256  NAME` (two spaces, as sha256sum writes)",
                manifest.display()
            ));
        };
        let name = name.trim().trim_start_matches("./").to_owned();
        if name.contains("..") || name.starts_with('/') {
            return Err(format!(
                "{}: `{name}` leaves its folder",
                manifest.display()
            ));
        }
        entries.push((hash.to_owned(), name));
    }
    entries.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(entries)
}

/// Checks every file a manifest lists against its recorded sha256, adding a line to `problems`
/// for each mismatch or unreadable file; returns the paths it listed.
pub(crate) fn check(manifest: &Path, problems: &mut String) -> Result<Vec<PathBuf>, String> {
    let folder = manifest.parent().unwrap_or(manifest);
    let mut listed = Vec::new();
    for (want, name) in entries(manifest)? {
        let path = folder.join(&name);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let got = hex::encode(Sha256::digest(&bytes));
                if got != want {
                    let _ = writeln!(
                        problems,
                        "{}: sha256 {got}, {} says {want}",
                        path.display(),
                        manifest.display()
                    );
                }
            }
            Err(err) => {
                let _ = writeln!(problems, "{}: {err}", path.display());
            }
        }
        listed.push(path);
    }
    Ok(listed)
}
