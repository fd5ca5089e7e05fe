//! End-to-end tests: run the `consign` binary as a user would and check exit code and output.
//!
//! One harness, built as one binary, so link time stays low. Each test runs in its own temp dir.
// Test scaffolding: helpers outside `#[test]` functions may unwrap; a panic is a failed test.
#![allow(clippy::unwrap_used)]

mod attest;
mod chain;
mod cli;
mod demo;
mod io;
mod memory;
mod sbom;
mod support;
mod unpack;
