//! Finding the outside tools, failing loudly when one is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A command for an outside tool installed by `cargo xtask tools`. Panics with the install command
/// when the tool is not there: a missing judge is a failure, never a skip.
pub(crate) fn tool(name: &str) -> Command {
    let venv = repo_root().join("target/interop/venv/bin").join(name);
    let node = repo_root()
        .join("target/interop/node/node_modules/.bin")
        .join(name);
    for candidate in [venv, node] {
        if candidate.exists() {
            return Command::new(candidate);
        }
    }
    panic!(
        "the outside tool `{name}` is not installed\n\nhint: run `cargo xtask tools` (it installs every tool the interop tests run)"
    );
}
