//! Checks `schemas/` against the sha256 manifests of the vendored schemas.

use std::fmt::Write as _;

use sha2::{Digest as _, Sha256};

use crate::util::root;

/// Every `SHA256SUMS` under `schemas/` lists files beside it; each must match.
pub(crate) fn check() -> Result<(), String> {
    let schemas = root().join("schemas");
    let mut problems = String::new();
    let mut checked = 0;
    for dir in std::fs::read_dir(&schemas)
        .map_err(|err| format!("reading {}: {err}", schemas.display()))?
    {
        let dir = dir.map_err(|err| err.to_string())?.path();
        let manifest = dir.join("SHA256SUMS");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            let Some((want, name)) = line.split_once("  ") else {
                let _ = writeln!(problems, "{}: malformed line `{line}`", manifest.display());
                continue;
            };
            let path = dir.join(name.trim());
            match std::fs::read(&path) {
                Ok(bytes) => {
                    let got = hex::encode(Sha256::digest(&bytes));
                    if got != want {
                        let _ = writeln!(
                            problems,
                            "{}: sha256 {got}, manifest says {want}",
                            path.display()
                        );
                    }
                    checked += 1;
                }
                Err(err) => {
                    let _ = writeln!(problems, "{}: {err}", path.display());
                }
            }
        }
    }
    if checked == 0 {
        return Err("no SHA256SUMS manifests found under schemas/".into());
    }
    if problems.is_empty() {
        eprintln!("schemas: {checked} files match their sha256 manifests");
        Ok(())
    } else {
        Err(format!(
            "schemas/ does not match its manifests:\n{problems}\nhint: restore the files with `git checkout schemas/`, or if the change is deliberate, update SHA256SUMS and SOURCE.md"
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn vendored_schemas_match_manifest() {
        super::check().unwrap();
    }
}
