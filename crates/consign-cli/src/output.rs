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

/// The process's peak resident set (`VmHWM` of `/proc/self/status`) on stderr, as
/// `consign: peak RSS <N> kB`; nothing where the kernel does not tell.
pub(crate) fn peak_rss() {
    let status = fs_err::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(value) = status.lines().find_map(|line| line.strip_prefix("VmHWM:")) {
        eprintln!("consign: peak RSS {}", value.trim());
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

/// Redraws `line()` in place on stderr every tenth of a second while `job` runs, when stderr is a
/// terminal and the job takes longer than half a second; the line is erased when `job` ends, so
/// nothing of it is left in logs or between the other messages.
pub(crate) fn with_progress<T>(line: impl Fn() -> String + Sync, job: impl FnOnce() -> T) -> T {
    if !stderr_is_terminal() {
        return job();
    }
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let started = std::time::Instant::now();
            let mut drawn = false;
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(100));
                if started.elapsed().as_millis() >= 500 && !done.load(Ordering::Relaxed) {
                    // `\r` and erase-line: the same line, redrawn.
                    eprint!(
                        "\r\x1b[2K{} ({:.1} s)",
                        line(),
                        started.elapsed().as_secs_f64()
                    );
                    drawn = true;
                }
            }
            if drawn {
                eprint!("\r\x1b[2K");
            }
        });
        let out = job();
        done.store(true, Ordering::Relaxed);
        out
    })
}

/// A byte count for people: `532 B`, `14.2 KiB`, `3.1 MiB`, `1.4 GiB`.
pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    #[allow(clippy::cast_precision_loss)] // shown rounded to one decimal
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_bytes_picks_the_unit() {
        assert_eq!(human_bytes(532), "532 B");
        assert_eq!(human_bytes(14_540), "14.2 KiB");
        assert_eq!(human_bytes(3 << 20), "3.0 MiB");
        assert_eq!(human_bytes(u64::MAX), "16777216.0 TiB");
    }

    #[test]
    fn progress_runs_the_job_once_and_returns_its_value() {
        let calls = std::sync::atomic::AtomicU32::new(0);
        let out = with_progress(
            || "working".to_owned(),
            || calls.fetch_add(1, Ordering::Relaxed) + 41,
        );
        assert_eq!(out, 41);
        assert_eq!(calls.load(Ordering::Relaxed), 1);
    }
}
