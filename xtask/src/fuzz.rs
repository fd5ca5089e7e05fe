//! `cargo xtask fuzz`: the fuzz targets in `fuzz/` (a cargo-fuzz workspace of its own).
//!
//! - `cargo xtask fuzz`: build every target with cargo-fuzz (sanitizer and coverage build).
//! - `cargo xtask fuzz --check`: type-check every target with plain stable cargo, no cargo-fuzz;
//!   what `cargo xtask ci` runs, so a parser API change that breaks a target fails CI.
//! - `cargo xtask fuzz --run SECONDS [--runs N] [TARGET...]`: build and run each target (or only
//!   those named), one at a time, until SECONDS pass or N inputs ran (default 1,000,000),
//!   whichever comes first; seeded read-only from `fuzz/seeds/<target>/` and the shared folders
//!   in [`seeds`]; the corpus grows in `fuzz/corpus/<target>/`, crashes land in
//!   `fuzz/artifacts/<target>/`,
//!   the log in `fuzz/target/logs/<target>.log`. A crash does not stop the other targets; the
//!   table at the end (also in `fuzz/target/logs/summary.md`) says what each did.
//!
//! cargo-fuzz wants nightly for its sanitizer flags, so `RUSTC_BOOTSTRAP=1` is set for the
//! stable toolchain. Install it with `cargo install cargo-fuzz`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::util::{root, run_env};

/// The `[[bin]]` names in `fuzz/Cargo.toml`.
fn targets(manifest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin && let Some(name) = line.strip_prefix("name = ") {
            out.push(name.trim_matches('"').to_owned());
        }
    }
    out
}

/// The seed folders of a target, relative to the repository root: its own under `fuzz/seeds/`,
/// then the shared material that fits its input. Missing folders are skipped when running.
fn seeds(target: &str) -> Vec<String> {
    let images: &[&str] = &["../shared/samples", "fixtures/unpack"];
    let shared: &[&str] = match target {
        "unpack" | "detect" => images,
        t if t.starts_with("format_") || t.starts_with("fs_") => images,
        "attest_envelope" | "attest_bundle" => &["fuzz/seeds/attest", "fixtures/intoto/dsse"],
        "attest_keys" => &["fixtures/attest/cosign", "fixtures/intoto"],
        "attest_claims" => &["fixtures/attest/claims"],
        "intoto_metablock" => &["fixtures/intoto"],
        "sbom_parse" | "json_strict" => &["fixtures/sbom", "fuzz/seeds/attest"],
        "verify_policy" => &["crates/consign-verify/profiles"],
        "vuln_records" => &[
            "../shared/vulndata/kev",
            "../shared/vulndata/osv/oss-fuzz-vulns/vulns/dnsmasq",
            "../shared/vulndata/nvd/CVE-2014",
        ],
        "vuln_vex" => &["../shared/vulndata/vex", "fixtures/sbom"],
        "vuln_version" => &["fuzz/seeds/vuln_version"],
        _ => &[],
    };
    std::iter::once(format!("fuzz/seeds/{target}"))
        .chain(shared.iter().map(|dir| (*dir).to_owned()))
        .collect()
}

/// The longest input worth trying, where libFuzzer's default (the largest seed) wastes the run.
/// `detect` reads each input as 18 files, and its shared seeds are whole firmware images of
/// megabytes, which it reads as single files (it does not unpack): at their size it managed 5
/// inputs a second. Its parsers' structures (ELF headers and dynamic sections, database pages,
/// manifests, signature windows) all sit within the first 256 KiB of their seeds.
fn max_len(target: &str) -> Option<usize> {
    (target == "detect").then_some(256 << 10)
}

/// What one run did, read from libFuzzer's final statistics and the artifact folder.
struct Outcome {
    target: String,
    executions: Option<u64>,
    seconds: u64,
    corpus: usize,
    findings: Vec<String>,
    exit: String,
}

fn stat(log: &str, name: &str) -> Option<u64> {
    log.lines()
        .rev()
        .find_map(|line| line.strip_prefix(&format!("stat::{name}:")))
        .and_then(|value| value.trim().parse().ok())
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The host triple, where `cargo fuzz build` puts the binaries (`fuzz/target/<triple>/release`).
fn host_triple() -> Result<String, String> {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .map_err(|err| format!("could not run `rustc -vV`: {err}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_owned)
        .ok_or_else(|| "`rustc -vV` names no host triple".to_owned())
}

/// Runs the binary `cargo fuzz build` made, not `cargo fuzz run`: every target of one run then
/// tests the same build, and an edit elsewhere in the tree meanwhile cannot stop the run.
fn run_one(binary: &Path, target: &str, seconds: u64, runs: u64) -> Result<Outcome, String> {
    let fuzz = root().join("fuzz");
    let corpus = fuzz.join("corpus").join(target);
    let artifacts = fuzz.join("artifacts").join(target);
    let logs = fuzz.join("target/logs");
    for dir in [&corpus, &artifacts, &logs] {
        std::fs::create_dir_all(dir).map_err(|err| format!("creating {}: {err}", dir.display()))?;
    }
    let before = files_in(&artifacts);
    let mut args: Vec<String> = vec![corpus.to_string_lossy().into_owned()];
    args.extend(
        seeds(target)
            .into_iter()
            .map(|dir| root().join(dir))
            .filter(|dir| dir.is_dir())
            .map(|dir| dir.to_string_lossy().into_owned()),
    );
    args.extend([
        format!("-max_total_time={seconds}"),
        format!("-runs={runs}"),
        "-rss_limit_mb=2048".into(),
        "-timeout=10".into(),
        "-print_final_stats=1".into(),
        format!("-artifact_prefix={}/", artifacts.display()),
    ]);
    if let Some(bytes) = max_len(target) {
        args.push(format!("-max_len={bytes}"));
    }
    let log_path = logs.join(format!("{target}.log"));
    let log = std::fs::File::create(&log_path)
        .map_err(|err| format!("creating {}: {err}", log_path.display()))?;
    let log_err = log
        .try_clone()
        .map_err(|err| format!("{}: {err}", log_path.display()))?;
    eprintln!(
        "$ {} {}  (log: {})",
        binary.display(),
        args.join(" "),
        log_path.display()
    );
    let started = Instant::now();
    let status = Command::new(binary)
        .args(&args)
        // The bundled SQLite amalgamation (the verifier's ledger) has two function-local statics
        // of one name, which AddressSanitizer reports as an ODR violation at start-up in some
        // builds of `sbom_parse`; it is C linkage, not a bug in what is fuzzed.
        .env("ASAN_OPTIONS", "detect_odr_violation=0")
        .current_dir(root())
        .stdout(log)
        .stderr(log_err)
        .status()
        .map_err(|err| format!("could not start {}: {err}", binary.display()))?;
    let seconds = started.elapsed().as_secs();
    let text = std::fs::read_to_string(&log_path).unwrap_or_default();
    let findings = files_in(&artifacts)
        .into_iter()
        .filter(|name| !before.contains(name))
        .collect();
    Ok(Outcome {
        target: target.to_owned(),
        executions: stat(&text, "number_of_executed_units"),
        seconds,
        corpus: files_in(&corpus).len(),
        findings,
        exit: status
            .code()
            .map_or_else(|| "signal".to_owned(), |code| code.to_string()),
    })
}

fn table(outcomes: &[Outcome]) -> String {
    let mut out = String::from(
        "| target | executions | seconds | corpus | exit | new findings |\n|---|---:|---:|---:|---:|---|\n",
    );
    for o in outcomes {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            o.target,
            o.executions
                .map_or_else(|| "?".to_owned(), |n| n.to_string()),
            o.seconds,
            o.corpus,
            o.exit,
            if o.findings.is_empty() {
                "none".to_owned()
            } else {
                o.findings.join(", ")
            }
        );
    }
    out
}

/// `cargo check` of every fuzz target with stable cargo: no cargo-fuzz, no sanitizer runtime,
/// no network beyond the crates CI already fetches. Catches a target that no longer builds
/// against the parsers' API at a fraction of a sanitizer build's cost. libFuzzer (C++) is left
/// out, and the main target folder is used, so what the workspace already built (build scripts,
/// C libraries, proc macros) is not built again: a fresh CI spent minutes building it twice.
pub(crate) fn check() -> Result<(), String> {
    let target = root().join("target");
    run_env(
        "cargo",
        &[
            "check",
            "--manifest-path",
            "fuzz/Cargo.toml",
            "--bins",
            "--locked",
            "--no-default-features",
            "--target-dir",
            &target.to_string_lossy(),
        ],
        &[],
    )
    .map_err(|err| {
        format!("{err}\n\nhint: a fuzz target in fuzz/fuzz_targets/ no longer builds; fix it with the parser")
    })
}

fn usage() -> String {
    "usage: cargo xtask fuzz [--check | --run SECONDS [--runs N] [TARGET...]]".to_owned()
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let manifest = std::fs::read_to_string(root().join("fuzz/Cargo.toml"))
        .map_err(|err| format!("reading fuzz/Cargo.toml: {err}"))?;
    let all = targets(&manifest);
    let (seconds, runs, chosen) = match args {
        [] => (None, 0, Vec::new()),
        [flag] if flag == "--check" => return check(),
        [flag, seconds, rest @ ..] if flag == "--run" => {
            let seconds = seconds
                .parse::<u64>()
                .map_err(|_| format!("`--run` wants a number of seconds, not `{seconds}`"))?;
            let (runs, names) = match rest {
                [flag, runs, names @ ..] if flag == "--runs" => (
                    runs.parse::<u64>()
                        .map_err(|_| format!("`--runs` wants a number, not `{runs}`"))?,
                    names,
                ),
                names => (1_000_000, names),
            };
            (Some(seconds), runs, names.to_vec())
        }
        _ => return Err(usage()),
    };
    if let Some(unknown) = chosen.iter().find(|name| !all.contains(name)) {
        return Err(format!(
            "no fuzz target `{unknown}`; the targets are: {}",
            all.join(", ")
        ));
    }
    let env = [("RUSTC_BOOTSTRAP", "1".to_owned())];
    let hint =
        |err: String| format!("{err}\n\nhint: install cargo-fuzz with `cargo install cargo-fuzz`");
    // A sanitizer build of every target takes many CPU-minutes: build only the ones asked for.
    if chosen.is_empty() {
        run_env("cargo", &["fuzz", "build", "--fuzz-dir", "fuzz"], &env).map_err(hint)?;
    }
    for target in &chosen {
        run_env(
            "cargo",
            &["fuzz", "build", "--fuzz-dir", "fuzz", target],
            &env,
        )
        .map_err(hint)?;
    }
    let Some(seconds) = seconds else {
        return Ok(());
    };
    let chosen = if chosen.is_empty() { all } else { chosen };
    let binaries = root()
        .join("fuzz/target")
        .join(host_triple()?)
        .join("release");
    let mut outcomes = Vec::new();
    for target in &chosen {
        let outcome = run_one(&binaries.join(target), target, seconds, runs)?;
        eprintln!("{}", table(std::slice::from_ref(&outcome)));
        outcomes.push(outcome);
    }
    let summary = table(&outcomes);
    let path: PathBuf = root().join("fuzz/target/logs/summary.md");
    std::fs::write(&path, &summary).map_err(|err| format!("writing {}: {err}", path.display()))?;
    println!("{summary}");
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|o| !o.findings.is_empty() || o.exit != "0")
        .map(|o| o.target.as_str())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "fuzzing found problems in {}; the inputs are in fuzz/artifacts/<target>/ (reproduce with `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run <target> <file>`)",
            failed.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fuzz_target_has_a_file() {
        let manifest = std::fs::read_to_string(root().join("fuzz/Cargo.toml")).unwrap();
        let names = targets(&manifest);
        assert!(names.contains(&"unpack".to_owned()));
        for name in names {
            assert!(
                root()
                    .join(format!("fuzz/fuzz_targets/{name}.rs"))
                    .is_file(),
                "{name}"
            );
        }
    }

    #[test]
    fn every_file_is_a_target_and_every_format_has_one() {
        let manifest = std::fs::read_to_string(root().join("fuzz/Cargo.toml")).unwrap();
        let names = targets(&manifest);
        for entry in std::fs::read_dir(root().join("fuzz/fuzz_targets")).unwrap() {
            let file = entry.unwrap().file_name().to_string_lossy().into_owned();
            let name = file.trim_end_matches(".rs");
            assert!(names.iter().any(|n| n == name), "{file} is not a [[bin]]");
        }
        // Every format the carver knows, as named in consign-unpack's registry.
        let registry =
            std::fs::read_to_string(root().join("crates/consign-unpack/src/registry.rs")).unwrap();
        for line in registry.lines().map(str::trim) {
            if let Some(name) = line
                .strip_prefix("name: \"")
                .and_then(|rest| rest.strip_suffix("\","))
            {
                let target = format!("format_{}", name.replace('-', "_"));
                assert!(names.contains(&target), "format `{name}` has no `{target}`");
            }
        }
    }

    #[test]
    fn stats_are_read_from_the_log() {
        let log = "#1 INITED\nstat::number_of_executed_units: 1234\nstat::peak_rss_mb: 80\n";
        assert_eq!(stat(log, "number_of_executed_units"), Some(1234));
        assert_eq!(stat(log, "peak_rss_mb"), Some(80));
        assert_eq!(stat(log, "missing"), None);
    }
}
