//! `consign demo`: the bundled example runs the whole chain and ends as it says.

use crate::support::run;

#[test]
fn demo_accepts_the_original_and_rejects_the_tampered_shipment() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(tmp.path(), &["demo", "--dir", "example"]);
    assert_eq!(
        out.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    assert!(out.stderr.contains("generated example"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("original shipment: accepted (exit 0); tampered shipment: rejected (exit 1)"),
        "{}",
        out.stderr
    );
    // The rejection names its reason: the firmware is not what the manufacturer signed.
    assert!(
        out.stdout.contains("ACCEPTED: shipment `lot-42`"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("REJECTED: shipment `lot-42`"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("not the firmware the manufacturer signed"),
        "{}",
        out.stdout
    );
    // The scan found the components the example firmware holds, with their versions.
    let sbom = std::fs::read_to_string(tmp.path().join("example/firmware.cdx.json")).unwrap();
    for purl in [
        "pkg:generic/busybox@1.36.1",
        "pkg:generic/dropbear@2022.83",
        "pkg:generic/openssl@3.0.13",
        "pkg:generic/zlib@1.3",
        "pkg:generic/linux@6.1.55",
    ] {
        assert!(sbom.contains(purl), "the demo SBOM lacks {purl}");
    }
}

#[test]
fn demo_refuses_a_folder_that_is_not_empty() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("busy")).unwrap();
    std::fs::write(tmp.path().join("busy/file"), b"x").unwrap();
    let out = run(tmp.path(), &["demo", "--dir", "busy"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("exists and is not empty"),
        "{}",
        out.stderr
    );
}
