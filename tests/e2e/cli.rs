//! The command line itself: help, version, exit codes.

use crate::support::run;

#[test]
fn help_lists_every_command_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--help"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for command in [
        "demo",
        "scan",
        "unpack",
        "sbom",
        "key",
        "attest",
        "verify-attestation",
        "intoto",
        "shipment",
        "verify",
        "ledger",
    ] {
        assert!(
            out.stdout
                .lines()
                .any(|line| line.trim_start().starts_with(command)),
            "`consign --help` does not list `{command}`:\n{}",
            out.stdout
        );
    }
    assert!(out.stdout.contains("Exit codes"), "{}", out.stdout);
}

#[test]
fn version_prints_the_crate_version() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--version"]);
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stdout.trim(),
        format!("consign {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn usage_error_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["no-such-command"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("no-such-command"), "{}", out.stderr);
}

#[test]
fn every_command_help_has_an_example() {
    let dir = tempfile::tempdir().unwrap();
    for command in [
        &["demo"][..],
        &["scan"],
        &["unpack"],
        &["sbom", "validate"],
        &["key", "generate"],
        &["verify-attestation"],
        &["shipment"],
        &["verify"],
        &["ledger"],
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let out = run(dir.path(), &args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert!(
            out.stdout.contains("Example"),
            "`consign {}` has no example:\n{}",
            args.join(" "),
            out.stdout
        );
    }
}
