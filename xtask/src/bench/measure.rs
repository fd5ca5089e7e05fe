//! Timing one command the way a user runs it: wall time, CPU time and peak RSS from `rusage.py`
//! (spawn to reaping, and `wait4`'s account of the command and its descendants), stdout and stderr
//! into a log file, and what the command left on disk.

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One command to time.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    /// The program (a path, or a name looked up on the `PATH` given in `env`, else the inherited one).
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<OsString>,
    /// Extra environment variables (`PATH` and `HOME` for the peer tools).
    pub(crate) env: Vec<(String, OsString)>,
    /// stdout and stderr of the command go here (truncated first).
    pub(crate) log: PathBuf,
    /// The working directory; the repository root when `None`.
    pub(crate) cwd: Option<PathBuf>,
}

impl Job {
    pub(crate) fn new(program: impl Into<PathBuf>, log: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            log: log.into(),
            cwd: None,
        }
    }

    pub(crate) fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub(crate) fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub(crate) fn envs(mut self, env: &[(String, OsString)]) -> Self {
        self.env.extend_from_slice(env);
        self
    }

    pub(crate) fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// The command line, for logs and error messages.
    pub(crate) fn display(&self) -> String {
        let mut text = self.program.display().to_string();
        for arg in &self.args {
            text.push(' ');
            text.push_str(&arg.to_string_lossy());
        }
        text
    }
}

/// What one run of a [`Job`] cost.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) wall: Duration,
    /// Peak resident set size of the command (the largest of it and its descendants), when
    /// `python3` is there to run `rusage.py`.
    pub(crate) peak_rss_kib: Option<u64>,
    /// User plus system CPU time of the command and its descendants, to the microsecond (from
    /// `rusage.py` too): divided by the wall time it shows how many cores the tool kept busy.
    pub(crate) cpu: Option<Duration>,
    /// The exit code; `None` when killed by a signal.
    pub(crate) exit_code: Option<i32>,
}

/// Runs a command and reports its wall time, rusage and exit code (see its docstring). It replaced
/// GNU `time`, whose `%U %S` cut CPU seconds to hundredths: over the corpus scans that read 3-4%
/// less CPU than the kernel accounts, so fewer cores busy than there were.
const RUSAGE_PY: &str = include_str!("rusage.py");

/// Runs `job` once and measures it. Only a failure to start is an error: the exit code is the
/// caller's to judge, since several peer tools exit non-zero on inputs they only partly handle.
pub(crate) fn time(job: &Job) -> Result<Sample, String> {
    let log = File::create(&job.log)
        .map_err(|err| format!("creating the log {}: {err}", job.log.display()))?;
    let log_err = log
        .try_clone()
        .map_err(|err| format!("opening the log {}: {err}", job.log.display()))?;
    // The wrapper's Python is the one on this process's `PATH`, not the job's (a peer's venv), and
    // runs isolated (`-I -S`) so nothing in the job's environment changes how it starts; its own
    // start-up is outside what it times.
    let python = resolve(Path::new("python3"), &[]);
    let report = job.log.with_extension("rusage");
    let _ = std::fs::remove_file(&report);
    let measured = python.is_file();
    let mut command = if measured {
        let mut command = Command::new(&python);
        command
            .args(["-I", "-S", "-c", RUSAGE_PY])
            .arg(&report)
            .arg(resolve(&job.program, &job.env));
        command
    } else {
        Command::new(resolve(&job.program, &job.env))
    };
    command
        .args(&job.args)
        .current_dir(job.cwd.clone().unwrap_or_else(crate::util::root))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    for (key, value) in &job.env {
        command.env(key, value);
    }
    let started = Instant::now();
    let status = command
        .status()
        .map_err(|err| format!("could not start `{}`: {err}", job.display()))?;
    let outside = Sample {
        wall: started.elapsed(),
        peak_rss_kib: None,
        cpu: None,
        exit_code: status.code(),
    };
    if !measured {
        return Ok(outside);
    }
    // A command the wrapper could not start leaves no report: Python's traceback is in the log.
    let text = std::fs::read_to_string(&report).map_err(|_| {
        format!(
            "could not start `{}` (log: {})",
            job.display(),
            job.log.display()
        )
    })?;
    Ok(parse_rusage(&text).unwrap_or(outside))
}

/// Reads `rusage.py`'s line: `KIB USER SYSTEM WALL_NS EXIT`.
fn parse_rusage(text: &str) -> Option<Sample> {
    let mut fields = text.split_whitespace();
    let peak_rss_kib = fields.next()?.parse().ok()?;
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    let wall = Duration::from_nanos(fields.next()?.parse().ok()?);
    let exit: i32 = fields.next()?.parse().ok()?;
    Some(Sample {
        wall,
        peak_rss_kib: Some(peak_rss_kib),
        cpu: Duration::try_from_secs_f64(user + system).ok(),
        exit_code: (exit >= 0).then_some(exit),
    })
}

/// Runs `job` and fails unless it exits with one of `ok_codes`, pointing at its log.
pub(crate) fn time_ok(job: &Job, ok_codes: &[i32]) -> Result<Sample, String> {
    let sample = time(job)?;
    match sample.exit_code {
        Some(code) if ok_codes.contains(&code) => Ok(sample),
        other => Err(format!(
            "`{}` exited with {} (log: {})",
            job.display(),
            other.map_or_else(|| "a signal".to_owned(), |code| code.to_string()),
            job.log.display()
        )),
    }
}

/// Looks a bare program name up on the `PATH` the job sets, so that the wrapper runs the peer tool
/// from `target/bench/` and not one that happens to be on the caller's `PATH`.
fn resolve(program: &Path, env: &[(String, OsString)]) -> PathBuf {
    if program.components().count() != 1 {
        return program.to_path_buf();
    }
    let path = env
        .iter()
        .rev()
        .find(|(key, _)| key == "PATH")
        .map(|(_, value)| value.clone())
        .or_else(|| std::env::var_os("PATH"));
    path.and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    })
    .unwrap_or_else(|| program.to_path_buf())
}

/// The median of some samples' wall times (the lower middle for an even count), with the peak
/// RSS of the run it came from.
pub(crate) fn median(samples: &[Sample]) -> Sample {
    let mut sorted = samples.to_vec();
    sorted.sort_by_key(|sample| sample.wall);
    sorted
        .get(sorted.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or(Sample {
            wall: Duration::ZERO,
            peak_rss_kib: None,
            cpu: None,
            exit_code: None,
        })
}

/// What a tool left in its output folder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TreeStats {
    /// Regular files.
    pub(crate) files: u64,
    /// Their bytes (apparent size).
    pub(crate) bytes: u64,
    /// Symbolic links (never followed).
    pub(crate) links: u64,
    pub(crate) dirs: u64,
}

/// Walks `dir` without following links. A missing folder counts as empty: some tools write
/// nothing when they find nothing.
pub(crate) fn tree_stats(dir: &Path) -> TreeStats {
    let mut stats = TreeStats::default();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            if file_type.is_symlink() {
                stats.links += 1;
            } else if file_type.is_dir() {
                stats.dirs += 1;
                pending.push(entry.path());
            } else if file_type.is_file() {
                stats.files += 1;
                stats.bytes += entry.metadata().map_or(0, |meta| meta.len());
            }
        }
    }
    stats
}

/// Removes a previous run's output so each run starts from an empty folder (not timed).
pub(crate) fn fresh_dir(dir: &Path) -> Result<(), String> {
    if dir.exists() {
        make_writable(dir);
        std::fs::remove_dir_all(dir).map_err(|err| format!("removing {}: {err}", dir.display()))?;
    }
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|err| format!("creating {}: {err}", parent.display()))?;
    }
    Ok(())
}

/// Extractors copy permissions from the image, so a folder can come out read-only (mode 0555 is
/// common in firmware) and would then refuse the removal of its entries for a non-root user.
fn make_writable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&current) else {
            continue;
        };
        if !meta.is_dir() {
            continue;
        }
        let mode = meta.permissions().mode();
        if mode & 0o700 != 0o700 {
            let _ =
                std::fs::set_permissions(&current, std::fs::Permissions::from_mode(mode | 0o700));
        }
        if let Ok(entries) = std::fs::read_dir(&current) {
            pending.extend(entries.flatten().map(|entry| entry.path()));
        }
    }
}

/// CPU time over wall time: `1.8` means nearly two cores kept busy; `?` when unknown, `-` under
/// 50 ms, where the process's start-up and exit are most of the run.
pub(crate) fn cores(sample: &Sample) -> String {
    match sample.cpu {
        _ if sample.wall < Duration::from_millis(50) => "-".to_owned(),
        Some(cpu) => {
            format!("{:.1}", cpu.as_secs_f64() / sample.wall.as_secs_f64())
        }
        _ => "?".to_owned(),
    }
}

/// `1.23 s`, `45 ms`: short and with a sensible number of digits.
pub(crate) fn seconds(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs >= 10.0 {
        format!("{secs:.1} s")
    } else if secs >= 1.0 {
        format!("{secs:.2} s")
    } else {
        format!("{:.0} ms", secs * 1000.0)
    }
}

/// `12.3 MB` (decimal units, as the corpus baselines use).
#[allow(clippy::cast_precision_loss)] // Rounded for display.
pub(crate) fn megabytes(bytes: u64) -> String {
    let mb = bytes as f64 / 1e6;
    if mb >= 10.0 {
        format!("{mb:.0} MB")
    } else {
        format!("{mb:.1} MB")
    }
}

/// The peak RSS in MB, or `?` when unknown.
pub(crate) fn rss(kib: Option<u64>) -> String {
    kib.map_or_else(|| "?".to_owned(), |kib| megabytes(kib * 1024))
}

/// Bytes per CPU second, which is a rate per core: `1.25 GB/s`, `480 MB/s`; `-` without CPU time.
#[allow(clippy::cast_precision_loss)] // Rounded for display.
pub(crate) fn per_core(bytes: u64, cpu: Duration) -> String {
    let secs = cpu.as_secs_f64();
    if secs <= 0.0 {
        return "-".to_owned();
    }
    let rate = bytes as f64 / secs;
    if rate >= 1e9 {
        format!("{:.2} GB/s", rate / 1e9)
    } else {
        format!("{:.0} MB/s", rate / 1e6)
    }
}

/// `a / b` as a ratio printed `3.2x`; `-` when `b` is zero.
pub(crate) fn ratio(numerator: f64, denominator: f64) -> String {
    if denominator > 0.0 {
        format!("{:.2}x", numerator / denominator)
    } else {
        "-".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_takes_the_lower_middle() {
        let sample = |ms| Sample {
            wall: Duration::from_millis(ms),
            peak_rss_kib: Some(ms),
            cpu: None,
            exit_code: Some(0),
        };
        let got = median(&[sample(30), sample(10), sample(20), sample(40)]);
        assert_eq!(got.wall, Duration::from_millis(20));
        assert_eq!(got.peak_rss_kib, Some(20));
        assert_eq!(median(&[]).wall, Duration::ZERO);
    }

    #[test]
    fn tree_stats_counts_files_bytes_and_links_without_following() {
        let dir = std::env::temp_dir().join(format!("xtask-bench-tree-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("a/b")).unwrap();
        std::fs::write(dir.join("a/one"), b"12345").unwrap();
        std::fs::write(dir.join("a/b/two"), b"123").unwrap();
        std::os::unix::fs::symlink("/", dir.join("a/root")).unwrap();
        let stats = tree_stats(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            stats,
            TreeStats {
                files: 2,
                bytes: 8,
                links: 1,
                dirs: 2
            }
        );
        assert_eq!(tree_stats(&dir), TreeStats::default());
    }

    #[test]
    fn time_reports_the_exit_code_and_writes_the_log() {
        let log = std::env::temp_dir().join(format!("xtask-bench-time-{}.log", std::process::id()));
        let job = Job::new("sh", &log).args(["-c", "echo hello; exit 3"]);
        let sample = time(&job).unwrap();
        assert_eq!(sample.exit_code, Some(3));
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "hello\n");
        assert!(time_ok(&job, &[0]).unwrap_err().contains("exited with 3"));
        // CPU to the microsecond: a busy loop of a few milliseconds is not read as zero.
        let busy =
            Job::new("sh", &log).args(["-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"]);
        let sample = time_ok(&busy, &[0]).unwrap();
        let cpu = sample.cpu.expect("python3 runs the wrapper");
        assert!(cpu > Duration::ZERO && cpu <= sample.wall * 2, "{sample:?}");
        assert!(sample.peak_rss_kib.is_some_and(|kib| kib > 0));
        // Killed by a signal: no exit code.
        let killed = Job::new("sh", &log).args(["-c", "kill -9 $$"]);
        assert_eq!(time(&killed).unwrap().exit_code, None);
        // A program that does not exist is an error naming it, not a sample.
        let missing = Job::new("/nonexistent/program", &log);
        assert!(time(&missing).unwrap_err().contains("/nonexistent/program"));
        let _ = std::fs::remove_file(&log);
        let _ = std::fs::remove_file(log.with_extension("rusage"));
    }

    #[test]
    fn rusage_figures_are_read() {
        let sample = parse_rusage("2048 1.500000 0.250001 123456789 3\n").unwrap();
        assert_eq!(sample.peak_rss_kib, Some(2048));
        assert_eq!(sample.cpu, Some(Duration::from_micros(1_750_001)));
        assert_eq!(sample.wall, Duration::from_nanos(123_456_789));
        assert_eq!(sample.exit_code, Some(3));
        assert_eq!(parse_rusage("2048 0.1 0.2 100 -9").unwrap().exit_code, None);
        assert!(parse_rusage("").is_none());
        assert!(parse_rusage("2048 1.5").is_none());
    }

    #[test]
    fn ratios_and_units_read_well() {
        assert_eq!(ratio(3.0, 2.0), "1.50x");
        assert_eq!(ratio(3.0, 0.0), "-");
        assert_eq!(seconds(Duration::from_millis(1234)), "1.23 s");
        assert_eq!(seconds(Duration::from_millis(45)), "45 ms");
        assert_eq!(megabytes(12_345_678), "12 MB");
        assert_eq!(rss(None), "?");
        let sample = |wall_ms, cpu_ms| Sample {
            wall: Duration::from_millis(wall_ms),
            peak_rss_kib: None,
            cpu: Some(Duration::from_millis(cpu_ms)),
            exit_code: Some(0),
        };
        assert_eq!(cores(&sample(1000, 1800)), "1.8");
        assert_eq!(per_core(2_500_000_000, Duration::from_secs(2)), "1.25 GB/s");
        assert_eq!(per_core(480_000_000, Duration::from_secs(1)), "480 MB/s");
        assert_eq!(per_core(1, Duration::ZERO), "-");
        assert_eq!(cores(&sample(20, 10)), "-");
    }
}
