//! What every command does with the files it is given: only regular files are read, within a
//! bound; an output is never an input, and is replaced whole or not at all.
#![cfg(unix)]

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{Run, consign, run};

/// Runs `consign ARGS` in `dir`, killing it (and failing the test) if it runs for more than
/// 20 s or holds more than 512 MiB: a FIFO must not block it, a device must not fill memory.
fn run_guarded(dir: &Path, args: &[&str]) -> Run {
    let mut child = consign(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running consign");
    let started = Instant::now();
    let status_file = format!("/proc/{}/status", child.id());
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap().into();
        }
        let rss_kib = std::fs::read_to_string(&status_file)
            .ok()
            .and_then(|status| {
                let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
                line.split_whitespace().nth(1)?.parse::<u64>().ok()
            })
            .unwrap_or(0);
        let reason = if started.elapsed() > Duration::from_secs(20) {
            Some(format!("still running after {:?}", started.elapsed()))
        } else if rss_kib > 512 * 1024 {
            Some(format!("holds {rss_kib} KiB"))
        } else {
            None
        };
        if let Some(reason) = reason {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`consign {}` {reason}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A small input that is no container: scanning it is quick and gives a real SBOM.
fn image(dir: &Path) -> Vec<u8> {
    let data: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.join("image.bin"), &data).unwrap();
    data
}

#[test]
fn a_fifo_is_refused_without_waiting_for_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.bin");
    rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::from(0o600)).unwrap();
    for args in [
        &["scan", "fifo.bin"][..],
        &["unpack", "fifo.bin"],
        &["sbom", "validate", "fifo.bin"],
        &["key", "public", "fifo.bin"],
        &["scan", "image.bin", "--product", "fifo.bin"],
        &[
            "verify",
            "fifo.bin",
            "--policy",
            "eu-cra-import",
            "--trust",
            "image.bin",
        ],
    ] {
        image(dir.path());
        let out = run_guarded(dir.path(), args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr
                .contains("`fifo.bin` is a FIFO (named pipe), not a regular file"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(out.stderr.contains("hint:"), "{}", out.stderr);
    }
}

#[test]
fn a_device_is_never_read() {
    let dir = tempfile::tempdir().unwrap();
    image(dir.path());
    for args in [
        &["scan", "/dev/zero"][..],
        &["unpack", "/dev/zero"],
        &["scan", "image.bin", "--supplier-sbom", "/dev/zero"],
        &[
            "verify-attestation",
            "/dev/zero",
            "--attestation",
            "image.bin",
            "--key",
            "image.bin",
        ],
        &[
            "shipment",
            "assemble",
            "--out",
            "s.tar",
            "--firmware",
            "/dev/zero",
        ],
    ] {
        let out = run_guarded(dir.path(), args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("`/dev/zero` is a character device"),
            "{args:?}: {}",
            out.stderr
        );
    }
}

#[test]
fn an_input_larger_than_the_limits_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    image(dir.path());
    let out = run(
        dir.path(),
        &["scan", "image.bin", "--max-total-bytes", "4095"],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("`image.bin` is 4096 bytes, over the 4095 bytes read from this input"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--max-total-bytes"), "{}", out.stderr);
}

#[test]
fn an_output_that_is_an_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = image(dir.path());
    std::fs::hard_link(dir.path().join("image.bin"), dir.path().join("hard.bin")).unwrap();
    std::os::unix::fs::symlink("image.bin", dir.path().join("soft.bin")).unwrap();
    for output in ["image.bin", "hard.bin", "soft.bin", "./image.bin"] {
        let out = run(dir.path(), &["scan", "image.bin", "-o", output]);
        assert_eq!(out.code, 2, "{output}: {}", out.stderr);
        assert!(
            out.stderr.contains("writing it would destroy the input"),
            "{output}: {}",
            out.stderr
        );
        // Refused before the scan, not after it.
        assert!(!out.stderr.contains("files unpacked"), "{}", out.stderr);
    }
    // Another command, another output option: the archive would replace its own firmware.
    let out = run(
        dir.path(),
        &[
            "shipment",
            "assemble",
            "--out",
            "image.tar",
            "--firmware",
            "image.bin",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    std::os::unix::fs::symlink("image.tar", dir.path().join("link.tar")).unwrap();
    let tar = std::fs::read(dir.path().join("image.tar")).unwrap();
    let out = run(
        dir.path(),
        &[
            "shipment",
            "assemble",
            "--out",
            "link.tar",
            "--firmware",
            "image.tar",
        ],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("is the input"), "{}", out.stderr);
    assert_eq!(std::fs::read(dir.path().join("image.tar")).unwrap(), tar);
    // A verification report neither replaces the shipment nor lands inside a shipment folder.
    let out = run(
        dir.path(),
        &[
            "verify",
            "image.tar",
            "--policy",
            "eu-cra-import",
            "--trust",
            "missing.toml",
            "--report",
            "image.tar",
        ],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("is the input"), "{}", out.stderr);
    std::fs::create_dir(dir.path().join("shipment")).unwrap();
    let out = run(
        dir.path(),
        &[
            "verify",
            "shipment",
            "--policy",
            "eu-cra-import",
            "--trust",
            "missing.toml",
            "--report",
            "shipment/report.html",
        ],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("inside the input folder"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read(dir.path().join("image.bin")).unwrap(), data);
    // Not a regular file: a rename would replace it whole.
    let out = run(dir.path(), &["scan", "image.bin", "-o", "/dev/null"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("`/dev/null` is a character device"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_failed_write_leaves_the_old_output_whole() {
    let dir = tempfile::tempdir().unwrap();
    image(dir.path());
    let old = "{\"the\": \"previous SBOM, kept until a whole new one is on disk\"}\n";
    std::fs::write(dir.path().join("out.json"), old).unwrap();
    // Files may grow to 1 block (512 or 1024 bytes) and no more: writing the SBOM fails half
    // way with EFBIG (the signal is ignored, so the write returns the error instead).
    let out: Run = std::process::Command::new("sh")
        .current_dir(dir.path())
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args([
            "-c",
            "trap '' XFSZ; ulimit -f 1 && exec \"$0\" \"$@\"",
            env!("CARGO_BIN_EXE_consign"),
            "scan",
            "image.bin",
            "-o",
            "out.json",
        ])
        .output()
        .unwrap()
        .into();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.json")).unwrap(),
        old
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("cannot write `out.json`"),
        "{}",
        out.stderr
    );
    // Without the limit the SBOM replaces it, and nothing is left beside it.
    let out = run(dir.path(), &["scan", "image.bin", "-o", "out.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let sbom = std::fs::read_to_string(dir.path().join("out.json")).unwrap();
    assert!(sbom.contains("\"bomFormat\": \"CycloneDX\""), "{sbom}");
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["image.bin", "out.json"]);
}
