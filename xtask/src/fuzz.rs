//! `cargo xtask fuzz [--run SECONDS]`: builds every fuzz target in `fuzz/` (a cargo-fuzz workspace
//! of its own), and with `--run` runs each for SECONDS, seeded from `../shared/samples/` and
//! `fixtures/unpack/` when they are there.
//!
//! Needs `cargo install cargo-fuzz`; cargo-fuzz wants nightly, so `RUSTC_BOOTSTRAP=1` is set for
//! the stable toolchain. A crash stops the run; keep its input as a regression test.

use std::path::Path;

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

/// Copies every file of `from` (not recursing into hidden folders) into `to`.
fn seed(from: &Path, to: &Path) -> Result<(), String> {
    let Ok(entries) = std::fs::read_dir(from) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            seed(&path, to)?;
        } else if std::fs::metadata(&path).is_ok_and(|m| m.len() <= 4 << 20) {
            let target = to.join(format!(
                "{}-{name}",
                from.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            ));
            std::fs::copy(&path, &target)
                .map_err(|err| format!("seeding {}: {err}", target.display()))?;
        }
    }
    Ok(())
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let seconds = match args {
        [] => None,
        [flag, seconds] if flag == "--run" => Some(
            seconds
                .parse::<u64>()
                .map_err(|_| format!("`--run` wants a number of seconds, not `{seconds}`"))?,
        ),
        _ => return Err("usage: cargo xtask fuzz [--run SECONDS]".into()),
    };
    let manifest = std::fs::read_to_string(root().join("fuzz/Cargo.toml"))
        .map_err(|err| format!("reading fuzz/Cargo.toml: {err}"))?;
    let env = [("RUSTC_BOOTSTRAP", "1".to_owned())];
    run_env("cargo", &["fuzz", "build", "--fuzz-dir", "fuzz"], &env).map_err(|err| {
        format!("{err}\n\nhint: install cargo-fuzz with `cargo install cargo-fuzz`")
    })?;
    let Some(seconds) = seconds else {
        return Ok(());
    };
    for target in targets(&manifest) {
        let corpus = root().join("fuzz/corpus").join(&target);
        std::fs::create_dir_all(&corpus)
            .map_err(|err| format!("creating {}: {err}", corpus.display()))?;
        seed(&root().join("../shared/samples"), &corpus)?;
        seed(&root().join("fixtures/unpack"), &corpus)?;
        let corpus = corpus.to_string_lossy().into_owned();
        let time = format!("-max_total_time={seconds}");
        run_env(
            "cargo",
            &[
                "fuzz",
                "run",
                "--fuzz-dir",
                "fuzz",
                &target,
                &corpus,
                "--",
                &time,
                "-rss_limit_mb=2048",
                "-timeout=20",
            ],
            &env,
        )?;
    }
    Ok(())
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
}
