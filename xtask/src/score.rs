//! Running the shared corpus's `score.py` (the one judge of SBOM accuracy, for the corpus and the
//! held-out images alike).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// `python3 score.py SBOM_DIR TRUTH_DIR --json`: per image under `images`, and `total`.
pub(crate) fn score_py(script: &Path, sboms: &Path, truth: &Path) -> Result<Value, String> {
    let out = Command::new("python3")
        .arg(script)
        .arg(sboms)
        .arg(truth)
        .arg("--json")
        .output()
        .map_err(|err| format!("could not start python3 for {}: {err}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "`python3 {} {} {} --json` failed ({}): {}\n\nhint: score.py lives in ../shared/corpus beside the checkout",
            script.display(),
            sboms.display(),
            truth.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|err| format!("reading score.py's JSON: {err}"))
}
