//! `consign unpack`: the text tree, JSON, exit codes, and the confined `-o DIR` writer.

use crate::support::{repo_root, run};

#[test]
fn unpack_lists_and_extracts_safely() {
    let dir = tempfile::tempdir().unwrap();
    let sample = repo_root().join("../shared/samples/dirtraversal.tar");
    let sample = sample.to_str().unwrap();
    let out = run(dir.path(), &["unpack", sample]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("dirtraversal.tar (276480 bytes)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("tar  "), "{}", out.stdout);
    assert!(out.stderr.contains("containers"), "{}", out.stderr);

    let out = run(
        dir.path(),
        &["unpack", sample, "-o", "x", "--format", "json"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["report"]["root"]["containers"][0]["format"], "tar");
    assert_eq!(json["written"]["refused"].as_array().unwrap().len(), 4);
    let readme = dir.path().join("x/tar@0x0/README.txt");
    assert!(readme.is_file());
    assert!(!dir.path().join("etc").exists());
    // Written with the member's modification time (`tar tv --utc --full-time` shows
    // 2021-09-05 15:22:08).
    let modified = std::fs::metadata(&readme).unwrap().modified().unwrap();
    let seconds = modified.duration_since(std::time::UNIX_EPOCH).unwrap();
    assert_eq!(seconds.as_secs(), 1_630_855_328);
}

#[test]
fn unpack_limits_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["unpack", "missing.bin"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("missing.bin"), "{}", out.stderr);
    let help = run(dir.path(), &["unpack", "--help"]);
    assert!(help.stdout.contains("Example"), "{}", help.stdout);
    assert!(help.stdout.contains("--max-ratio"));
    let sample = repo_root().join("../shared/samples/fact-uboot_uboot.image_with_header");
    let out = run(
        dir.path(),
        &["unpack", sample.to_str().unwrap(), "--max-ratio", "1"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("--max-ratio"), "{}", out.stdout);
}
