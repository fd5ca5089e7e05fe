//! Interop tests: the users' own tools judge consign's output (DESIGN.md section 7).
//!
//! `cargo xtask ci` installs the tools (`cargo xtask tools`) and puts them on PATH before running
//! this target. A missing tool fails its test with the command that installs it; nothing is skipped.
// Test scaffolding: helpers outside `#[test]` functions may unwrap; a panic is a failed test.
#![allow(clippy::unwrap_used)]

mod android_ota;
mod corpus;
mod dsse;
mod intoto;
mod packages;
mod pkcs11;
mod sbom;
mod sigstore;
mod support;
