//! `cargo xtask`: the project's automation, in Rust so it runs wherever cargo does.
//!
//! - `ci`: what `.ci/run` runs: format check, clippy with warnings denied, every test, then the
//!   outside tools (installed by [`tools`]) and the interop tests that run them.
//! - `tools`: install the outside tools only (Python venv and npm packages under `target/interop/`,
//!   Debian packages with apt-get).
//! - `fixtures [--check]`: rebuild `fixtures/` from their recipes, or check they are current.
//! - `bench`: the benchmarks, side by side with the peer tools.
//! - `fuzz`: build (and with `--run SECONDS`, run) the fuzz targets.
//! - `debian SUITE ARCH PACKAGE...`: fetch real Debian binary packages into the verified cache
//!   ([`debian`], the one Debian client, shared by `kb` and `heldout`).
//! - `kb`: the signature knowledge base, cut from and tested on real Debian binaries ([`kb`]).
//! - `heldout`: build firmware images from Debian suites and architectures no signature was cut
//!   from, scan them, score the SBOMs: the honest recognition figures.
//! - `index`: generate consign-detect's name index from the Debian archive (`index eval`:
//!   measure it on file trees of another suite and architecture).
#![allow(clippy::print_stdout, clippy::print_stderr)] // A build tool talks to its user.

mod bench;
mod ci;
mod debian;
mod fixtures;
mod fuzz;
mod heldout;
mod index;
mod kb;
mod manifest;
mod schemas;
mod score;
mod tidy;
mod tools;
mod util;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(&args[1..]),
        Some("tools") => tools::install().map(|_| ()),
        Some("schemas") => schemas::check(),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("fixtures") => fixtures::run(&args[1..]),
        Some("bench") => bench::run_bench(&args[1..]),
        Some("heldout") => heldout::run(&args[1..]),
        Some("debian") => debian::run(&args[1..]),
        Some("kb") => kb::run(&args[1..]),
        Some("index") => index::run(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci|tools|schemas|fixtures|bench|heldout|fuzz|index|debian|kb>\n\n  ci        format check, clippy, all tests, interop tests with the outside tools\n  tools     install the outside tools the interop tests run\n  schemas   check schemas/ against its sha256 manifest\n  fixtures  rebuild fixtures/ from their recipes (--check to verify)\n  bench     benchmarks against the peer tools: [unpack|scan|attest|verify|all] [--quick] [--runs N]\n  heldout   build images from held-out Debian suites/architectures, scan and score them [--check] [--update-lock]\n  fuzz      build and run the fuzz targets\n  index     generate the name index from the Debian archive (`index eval` measures it)\n  debian    fetch Debian binary packages, verified, into target/kb-cache: SUITE ARCH PACKAGE...\n  kb        grow and test the signature knowledge base from real Debian binaries (see `cargo xtask kb`)"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
