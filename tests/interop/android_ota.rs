//! Android OTA payloads: android-payload-dumper (PyPI) extracts the partitions of the fixture
//! payload (`fixtures/unpack/android-ota`, whose manifest the protobuf library serialised), and
//! `consign unpack` must give the same bytes for each. A payload cut inside its data blobs makes
//! the dumper fail, and consign must report the cut partitions instead of writing them.

use std::path::Path;
use std::process::Command;

use crate::support::{repo_root, tool};

const PARTITIONS: [&str; 3] = ["boot.img", "system.img", "vendor.img"];

fn fixture() -> Vec<u8> {
    std::fs::read(repo_root().join("fixtures/unpack/android-ota/payload.bin")).unwrap()
}

/// `payload-dumper -o OUT PAYLOAD`; its success and what it printed.
fn dump(payload: &Path, out: &Path) -> (bool, String) {
    let output = tool("payload-dumper")
        .arg("-o")
        .arg(out)
        .arg(payload)
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (
        output.status.success() && !printed.contains("failed"),
        printed,
    )
}

/// `consign unpack -o OUT PAYLOAD`: the folder the partitions are written to, and stderr.
fn unpack(payload: &Path, out: &Path) -> (std::path::PathBuf, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_consign"))
        .args(["unpack", "-q", "--format", "json", "-o"])
        .arg(out)
        .arg(payload)
        .output()
        .unwrap();
    assert!(output.status.success(), "consign unpack failed: {output:?}");
    (
        out.join("android-ota-payload@0x0"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn ota_payload_partitions_are_the_ones_payload_dumper_extracts() {
    let dir = tempfile::tempdir().unwrap();
    let payload = dir.path().join("payload.bin");
    std::fs::write(&payload, fixture()).unwrap();
    let (ok, printed) = dump(&payload, &dir.path().join("dumper"));
    assert!(ok, "payload-dumper failed on the fixture: {printed}");
    let (ours, report) = unpack(&payload, &dir.path().join("consign"));
    for name in PARTITIONS {
        let theirs = std::fs::read(dir.path().join("dumper").join(name)).unwrap();
        let mine = std::fs::read(ours.join(name))
            .unwrap_or_else(|err| panic!("consign wrote no {name} ({err}): {report}"));
        assert!(mine == theirs, "{name} differs from payload-dumper's");
    }
}

#[test]
fn a_cut_payload_fails_payload_dumper_and_consign_says_which_partitions_it_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let payload = dir.path().join("payload.bin");
    let mut data = fixture();
    data.truncate(data.len() - 5000);
    std::fs::write(&payload, &data).unwrap();
    let (ok, printed) = dump(&payload, &dir.path().join("dumper"));
    assert!(!ok, "payload-dumper accepted a cut payload: {printed}");
    let (ours, report) = unpack(&payload, &dir.path().join("consign"));
    assert!(
        report.contains("not built") && report.contains("past the end of the payload"),
        "{report}"
    );
    // The cut reaches the last partition's data: it is not written; the ones before it are whole.
    assert!(!ours.join("vendor.img").exists());
    assert!(ours.join("boot.img").exists());
}
