//! Checks `schemas/` against the sha256 manifests of the vendored schemas.

use crate::manifest;
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
        if manifest.is_file() {
            checked += manifest::check(&manifest, &mut problems)?.len();
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
