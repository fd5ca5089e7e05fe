//! Running commands and finding the repository.

use std::path::PathBuf;
use std::process::Command;

/// The repository root (the parent of `xtask/`).
pub(crate) fn root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map_or(manifest_dir.clone(), PathBuf::from)
}

/// Runs a command in the repository root, echoing it; an error names the command.
pub(crate) fn run(program: &str, args: &[&str]) -> Result<(), String> {
    run_env(program, args, &[])
}

/// Like [`run`] with extra environment variables.
pub(crate) fn run_env(program: &str, args: &[&str], env: &[(&str, String)]) -> Result<(), String> {
    eprintln!("$ {program} {}", args.join(" "));
    let mut command = Command::new(program);
    command.args(args).current_dir(root());
    for (key, value) in env {
        command.env(key, value);
    }
    let status = command
        .status()
        .map_err(|err| format!("could not start `{program}`: {err}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}
