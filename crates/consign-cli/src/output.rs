//! Everything the binary prints goes through here: data to stdout, logs and progress to stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)] // This module is where printing lives.

use std::io::{self, IsTerminal as _, Write as _};
use std::sync::atomic::{AtomicU8, Ordering};

/// 0 quiet, 1 normal, 2+ verbose.
static LEVEL: AtomicU8 = AtomicU8::new(1);

pub(crate) fn init(quiet: bool, verbose: u8) {
    let level = if quiet { 0 } else { 1 + verbose };
    LEVEL.store(level, Ordering::Relaxed);
}

/// Writes data (an SBOM, a report) to stdout. A closed pipe is not an error worth a message.
pub(crate) fn data(text: &str) {
    let mut stdout = io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = stdout.write_all(b"\n");
    }
    let _ = stdout.flush();
}

/// A progress or status line on stderr, unless `--quiet`.
pub(crate) fn status(text: &str) {
    if LEVEL.load(Ordering::Relaxed) >= 1 {
        eprintln!("{text}");
    }
}

/// A detail line on stderr, only with `-v`.
pub(crate) fn verbose(text: &str) {
    if LEVEL.load(Ordering::Relaxed) >= 2 {
        eprintln!("{text}");
    }
}

/// The final error of a failed command, with its causes, on stderr.
pub(crate) fn error(err: &anyhow::Error) {
    eprintln!("error: {err:#}");
}

/// True when stderr is a terminal (progress bars and colour make sense).
pub(crate) fn stderr_is_terminal() -> bool {
    io::stderr().is_terminal() && LEVEL.load(Ordering::Relaxed) >= 1
}
