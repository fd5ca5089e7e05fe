//! Installs the outside tools whose verdict on our output counts (DESIGN.md section 7).
//!
//! Python tools go into a virtual environment at `target/interop/venv`, npm packages into
//! `target/interop/node`, Debian packages through apt-get when missing. Versions are pinned here so
//! every machine runs the same judges.

use std::path::PathBuf;

use crate::util::{root, run};

/// PyPI packages, pinned.
pub(crate) const PYTHON_PACKAGES: &[&str] = &["check-jsonschema==0.33.0"];

/// Where the tools live.
pub(crate) struct Tools {
    /// `target/interop/venv/bin`.
    pub(crate) venv_bin: PathBuf,
}

/// Installs what is missing; returns where the tools are. Fails with the exact command to run.
pub(crate) fn install() -> Result<Tools, String> {
    let base = root().join("target/interop");
    let venv = base.join("venv");
    let venv_bin = venv.join("bin");
    std::fs::create_dir_all(&base).map_err(|err| format!("creating {}: {err}", base.display()))?;
    if !venv_bin.join("python").exists() {
        run("python3", &["-m", "venv", &venv.to_string_lossy()]).map_err(|err| {
            format!(
                "{err}\n\nhint: install Python's venv module: `apt-get install -y python3-venv`"
            )
        })?;
    }
    let pip = venv_bin.join("pip");
    let mut args = vec!["install", "--quiet", "--disable-pip-version-check"];
    args.extend_from_slice(PYTHON_PACKAGES);
    run(&pip.to_string_lossy(), &args).map_err(|err| {
        format!(
            "{err}\n\nhint: the interop tests need these PyPI packages: `{} install {}`",
            pip.display(),
            PYTHON_PACKAGES.join(" ")
        )
    })?;
    Ok(Tools { venv_bin })
}
