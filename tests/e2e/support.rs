//! Running `consign` in a temporary folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A `consign` command, run in `dir`, with a fixed environment.
pub(crate) fn consign(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_consign"));
    command
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        // The user's data folder (the default vulnerability database) is the test's own.
        .env("XDG_DATA_HOME", dir.join(".consign-test-data"));
    command
}

/// The exit code, stdout and stderr of a finished command, for assertions.
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Runs `consign ARGS` in `dir`.
pub(crate) fn run(dir: &Path, args: &[&str]) -> Run {
    consign(dir)
        .args(args)
        .output()
        .expect("running consign")
        .into()
}
