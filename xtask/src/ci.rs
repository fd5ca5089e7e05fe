//! `cargo xtask ci`: everything CI checks, in the order that fails fastest.

use crate::util::{root, run as sh, run_env};
use crate::{fixtures, fuzz, heldout, schemas, tools};

/// Runs one step of CI and says how long it took, so a slow CI shows which step grew.
fn step<T>(name: &str, body: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    let start = std::time::Instant::now();
    let result = body();
    eprintln!("ci: {name}: {:.0} s", start.elapsed().as_secs_f64());
    result
}

pub(crate) fn run_ci() -> Result<(), String> {
    step("fmt", || sh("cargo", &["fmt", "--all", "--", "--check"]))
        .map_err(|err| format!("{err}\n\nhint: run `cargo fmt --all` and commit the result"))?;
    step("clippy", || {
        sh(
            "cargo",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--locked",
                "--features",
                "consign-cli/interop",
                "--",
                "-D",
                "warnings",
            ],
        )
    })?;
    step("schemas", schemas::check)?;
    // The fuzz targets are a workspace of their own; type-checking them with stable cargo keeps
    // them building with the parsers (a full sanitizer build is `cargo xtask fuzz`).
    step("fuzz check", fuzz::check)?;
    let tools = step("tools", tools::install)?;
    // The consign binary the fixture recipes and heldout run, built with the packages and features
    // every later step uses: a recipe's own `cargo run -p consign-cli` would build all of it again
    // for that selection. Only the binary: the running xtask must not be rebuilt under itself.
    step("build", || {
        sh(
            "cargo",
            &[
                "build",
                "--locked",
                "--workspace",
                "--features",
                "consign-cli/interop",
                "--bin",
                "consign",
            ],
        )
    })?;
    let consign = root().join("target/debug/consign");
    step("fixtures", || fixtures::check(Some(&consign)))?;
    let path = format!(
        "{}:{}:{}",
        tools.venv_bin.display(),
        tools.node_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // One test run, interop included, with the packages and features clippy used: every crate is
    // compiled once (another selection or feature set would build its dependencies again).
    step("test", || {
        run_env(
            "cargo",
            &[
                "test",
                "--locked",
                "--workspace",
                "--features",
                "consign-cli/interop",
            ],
            &[("PATH", path)],
        )
    })?;
    // Recognition on images from Debian suites and architectures no signature was cut from, held
    // to the floor in xtask/heldout.toml. The debug consign gives the same SBOMs as the release one.
    step("heldout", || heldout::run_ci(&consign))
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if let Some(extra) = args.first() {
        return Err(format!(
            "`cargo xtask ci` takes no arguments, got `{extra}`"
        ));
    }
    run_ci()
}
