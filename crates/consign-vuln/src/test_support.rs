//! Where the tests find `../shared` (the real records in `vulndata/`, the firmware samples).

use std::path::PathBuf;

/// `../shared` beside the checkout, or `CONSIGN_SHARED_DIR` when set (a worktree kept elsewhere).
pub(crate) fn shared_dir() -> PathBuf {
    match std::env::var_os("CONSIGN_SHARED_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

/// The bytes of `../shared/vulndata/<path>`.
pub(crate) fn vulndata(path: &str) -> Vec<u8> {
    let full = shared_dir().join("vulndata").join(path);
    std::fs::read(&full).unwrap_or_else(|err| panic!("reading {}: {err}", full.display()))
}
