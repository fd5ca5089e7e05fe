//! Installs the outside tools whose verdict on our output counts (DESIGN.md section 7).
//!
//! Python tools go into a virtual environment at `target/interop/venv`, npm packages into
//! `target/interop/node`, Debian packages through apt-get when missing. Versions are pinned here so
//! every machine runs the same judges. To add a tool, add it to one of the lists below.

use std::path::PathBuf;
use std::process::Command;

use crate::util::{root, run};

/// PyPI packages, pinned.
pub(crate) const PYTHON_PACKAGES: &[&str] = &[
    "check-jsonschema==0.33.0",
    // sbom: `pyspdxtools` judges the SPDX 2.3 export.
    "spdx-tools==0.8.5",
    // sbom: the SPDX project's Python bindings of the SPDX 3.0.1 model (generated from its SHACL
    // model) read the SPDX 3 export strictly: types, enumerations, patterns, cardinalities, links.
    "spdx-python-model==0.0.6",
    // attest-dsse: the Python reference of DSSE verifies consign's envelopes and signs some for it.
    "securesystemslib[crypto]==1.6.0",
    // attest-intoto: the in-toto reference verifies consign's layouts and links and signs some for it.
    "in-toto==3.1.0",
    "android-payload-dumper==2.3.0",
    "brotli==1.2.0",
    "liblp==1.0.2",
    // fixtures: Espressif's esptool checks and merges the ESP flash image fixture's parts.
    "esptool==5.1.0",
    // fixtures: littlefs-python (the littlefs C library) makes the LittleFS images.
    "littlefs-python==0.19.0",
];

/// npm packages, pinned (installed into `target/interop/node`).
pub(crate) const NPM_PACKAGES: &[&str] = &[
    // sbom: the CycloneDX library's JSON validator and the peers it needs for it.
    "@cyclonedx/cyclonedx-library@10.3.0",
    "ajv@8.20.0",
    "ajv-formats@3.0.1",
    "ajv-formats-draft2019@1.6.1",
    // attest-dsse: Sigstore's own verifier judges consign's bundles (3.1.x runs on Node 20).
    "@sigstore/verify@3.1.1",
    "@sigstore/bundle@4.0.0",
    "@sigstore/core@3.1.0",
];

/// Debian packages: (package, a file it installs that shows it is present).
pub(crate) const APT_PACKAGES: &[(&str, &str)] = &[
    // attest-intoto: a real PKCS#11 token for the hardware-key tests.
    ("softhsm2", "/usr/lib/softhsm/libsofthsm2.so"),
    // packages: the package managers' own tools build and read the `.rpm` files consign names.
    ("rpm", "/usr/bin/rpmbuild"),
    // packages: Berkeley DB's own tools write and read the `Packages` database of rpm < 4.16.
    ("db5.3-util", "/usr/bin/db5.3_load"),
];

/// Where the tools live.
pub(crate) struct Tools {
    /// `target/interop/venv/bin`.
    pub(crate) venv_bin: PathBuf,
    /// `target/interop/node/node_modules/.bin`.
    pub(crate) node_bin: PathBuf,
}

/// Installs what is missing; returns where the tools are. Fails with the exact command to run.
pub(crate) fn install() -> Result<Tools, String> {
    let base = root().join("target/interop");
    std::fs::create_dir_all(&base).map_err(|err| format!("creating {}: {err}", base.display()))?;
    let venv_bin = install_python(&base)?;
    let node_bin = install_npm(&base)?;
    install_apt(APT_PACKAGES, "the interop tests")?;
    Ok(Tools { venv_bin, node_bin })
}

fn install_python(base: &std::path::Path) -> Result<PathBuf, String> {
    let venv = base.join("venv");
    let venv_bin = venv.join("bin");
    if venv.exists() && !venv_runs_here(&venv_bin) {
        // Its scripts name the interpreter by the folder it was made in: a moved checkout or
        // target folder leaves a venv whose `pip` cannot start. Made again, it is whole.
        std::fs::remove_dir_all(&venv)
            .map_err(|err| format!("removing the moved venv {}: {err}", venv.display()))?;
    }
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
    Ok(venv_bin)
}

/// True when the venv's `pip` starts its own interpreter, as a venv made in this folder does.
fn venv_runs_here(venv_bin: &std::path::Path) -> bool {
    let Ok(text) = std::fs::read_to_string(venv_bin.join("pip")) else {
        return false;
    };
    text.lines()
        .next()
        .and_then(|line| line.strip_prefix("#!"))
        .is_some_and(|interpreter| std::path::Path::new(interpreter.trim()).starts_with(venv_bin))
}

fn install_npm(base: &std::path::Path) -> Result<PathBuf, String> {
    let prefix = base.join("node");
    let node_bin = prefix.join("node_modules/.bin");
    if NPM_PACKAGES.is_empty() {
        return Ok(node_bin);
    }
    std::fs::create_dir_all(&prefix)
        .map_err(|err| format!("creating {}: {err}", prefix.display()))?;
    let prefix_text = prefix.to_string_lossy().into_owned();
    let mut args = vec![
        "install",
        "--no-audit",
        "--no-fund",
        "--silent",
        "--prefix",
        &prefix_text,
    ];
    args.extend_from_slice(NPM_PACKAGES);
    run("npm", &args).map_err(|err| {
        format!(
            "{err}\n\nhint: the interop tests need these npm packages: `npm install --prefix {prefix_text} {}`",
            NPM_PACKAGES.join(" ")
        )
    })?;
    Ok(node_bin)
}

/// Installs the Debian `packages` (package, a file that shows it is present) that are missing, with
/// apt-get when root; otherwise fails with the exact command. `purpose` says who needs them.
pub(crate) fn install_apt(packages: &[(&str, &str)], purpose: &str) -> Result<(), String> {
    let missing: Vec<&str> = packages
        .iter()
        .filter(|(_, witness)| !std::path::Path::new(witness).exists())
        .map(|(package, _)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let hint = format!(
        "\n\nhint: {purpose} need these Debian packages: `apt-get update && apt-get install -y {}`",
        missing.join(" ")
    );
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.starts_with(b"0"));
    if !is_root {
        return Err(format!("missing Debian packages and not root{hint}"));
    }
    run("apt-get", &["update", "-qq"]).map_err(|err| format!("{err}{hint}"))?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend_from_slice(&missing);
    run("apt-get", &args).map_err(|err| format!("{err}{hint}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moved_venv_is_told_from_one_made_here() {
        let dir = std::env::temp_dir().join(format!("consign-venv-test-{}", std::process::id()));
        let bin = dir.join("venv/bin");
        std::fs::create_dir_all(&bin).unwrap();
        assert!(!venv_runs_here(&bin), "no pip at all");
        let here = format!("#!{}/python3\nimport pip\n", bin.display());
        std::fs::write(bin.join("pip"), here).unwrap();
        assert!(venv_runs_here(&bin));
        std::fs::write(
            bin.join("pip"),
            "#!/elsewhere/venv/bin/python3\nimport pip\n",
        )
        .unwrap();
        assert!(!venv_runs_here(&bin), "made in another folder");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
