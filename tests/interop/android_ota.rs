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

/// The fixture super image, unzipped into `dir`.
fn super_image(dir: &Path) -> std::path::PathBuf {
    use std::io::Read as _;
    let packed =
        std::fs::read(repo_root().join("fixtures/unpack/android-ota/super.img.gz")).unwrap();
    let mut image = Vec::new();
    flate2::read::GzDecoder::new(&packed[..])
        .read_to_end(&mut image)
        .unwrap();
    let path = dir.join("super.img");
    std::fs::write(&path, image).unwrap();
    path
}

/// `lpunpack -o OUT IMAGE` (the liblp package's port of AOSP's tool); its success and output.
fn lpunpack(image: &Path, out: &Path) -> (bool, String) {
    std::fs::create_dir_all(out).unwrap();
    let output = tool("lpunpack")
        .arg("-o")
        .arg(out)
        .arg(image)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn super_partitions_are_the_ones_lpunpack_extracts() {
    let dir = tempfile::tempdir().unwrap();
    let image = super_image(dir.path());
    let (ok, printed) = lpunpack(&image, &dir.path().join("lpunpack"));
    assert!(ok, "lpunpack failed on the fixture: {printed}");
    let output = Command::new(env!("CARGO_BIN_EXE_consign"))
        .args(["unpack", "-q", "-o"])
        .arg(dir.path().join("consign"))
        .arg(&image)
        .output()
        .unwrap();
    assert!(output.status.success(), "consign unpack failed: {output:?}");
    let ours = dir.path().join("consign/android-super@0x0");
    for name in ["system_a.img", "vendor_a.img"] {
        let theirs = std::fs::read(dir.path().join("lpunpack").join(name)).unwrap();
        assert!(
            std::fs::read(ours.join(name)).unwrap() == theirs,
            "{name} differs from lpunpack's"
        );
    }
    // lpunpack writes the other slot's partition, which has no extents, as an empty file;
    // consign writes no file for it.
    assert!(
        std::fs::read(dir.path().join("lpunpack/system_b.img"))
            .unwrap()
            .is_empty()
    );
    assert!(!ours.join("system_b.img").exists());
}

#[test]
fn super_metadata_damaged_in_both_copies_fails_lpunpack_and_consign_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let image = super_image(dir.path());
    let mut data = std::fs::read(&image).unwrap();
    // A byte of the first partition's name, in the primary metadata and in its backup.
    for at in [12288 + 256, 12288 + 4 * 65536 / 2 + 256] {
        data[at] ^= 0x20;
    }
    std::fs::write(&image, &data).unwrap();
    let (ok, printed) = lpunpack(&image, &dir.path().join("lpunpack"));
    assert!(!ok, "lpunpack accepted damaged metadata: {printed}");
    let output = Command::new(env!("CARGO_BIN_EXE_consign"))
        .args(["unpack", "--format", "json"])
        .arg(&image)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(report.contains("and so is its backup"), "{report}");
}
