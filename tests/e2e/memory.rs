//! Issue 13, item 6: `consign verify` reads a tar shipment as a stream with bounded memory. Each
//! test spawns the binary with `CONSIGN_REPORT_PEAK_RSS=1`, which makes it print its own peak
//! resident set (`VmHWM` of `/proc/self/status`) on exit, over hostile shipments: a 1 GiB
//! document, a 1 GiB firmware image, and two 1000 MiB members. The archives are sparse files, so
//! the test writes almost nothing to disk.

use std::io::{Seek as _, SeekFrom, Write as _};
use std::path::Path;

use crate::support::consign;

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;
/// SHA-256 of 1 GiB and of 1000 MiB of zero bytes.
const ZEROS_1GIB: &str = "49bc20df15e412a64472421e13fe86ff1c5165e18b2afccf160d4dc19fe68a14";
const ZEROS_1000MIB: &str = "da87281c9f9ab6cef8f9362935f4fc864db94606d52212614894f1253461a762";

/// A ustar header for a regular file.
fn header(path: &str, size: u64) -> [u8; 512] {
    let mut header = [0u8; 512];
    header[..path.len()].copy_from_slice(path.as_bytes());
    header[100..108].copy_from_slice(b"0000644\0");
    header[108..116].copy_from_slice(b"0000000\0");
    header[116..124].copy_from_slice(b"0000000\0");
    header[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    header[136..148].copy_from_slice(b"00000000000\0");
    header[148..156].copy_from_slice(b"        ");
    header[156] = b'0';
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    header
}

/// Writes a shipment archive whose members after the manifest are all zeros, as holes.
fn sparse_shipment(path: &Path, members: &[(&str, &str, u64, &str)]) {
    let artifacts: Vec<String> = members
        .iter()
        .map(|(path, role, size, sha256)| {
            format!(r#"{{"path":"{path}","role":"{role}","sha256":"{sha256}","size":{size}}}"#)
        })
        .collect();
    let manifest = format!(
        r#"{{"format":"consign-shipment/v1","name":"big","artifacts":[{}]}}"#,
        artifacts.join(",")
    );
    let mut file = std::fs::File::create(path).unwrap();
    file.write_all(&header("shipment.json", manifest.len() as u64))
        .unwrap();
    file.write_all(manifest.as_bytes()).unwrap();
    let pad = (512 - manifest.len() % 512) % 512;
    file.write_all(&vec![0u8; pad]).unwrap();
    for (member, _, size, _) in members {
        file.write_all(&header(member, *size)).unwrap();
        let end = file.stream_position().unwrap() + size.div_ceil(512) * 512;
        file.set_len(end).unwrap();
        file.seek(SeekFrom::Start(end)).unwrap();
    }
    let end = file.stream_position().unwrap() + 1024;
    file.set_len(end).unwrap();
}

/// Runs `consign verify ARCHIVE` and returns its peak RSS in KiB and its stdout.
fn verify_peak(dir: &Path, archive: &str) -> (u64, String) {
    let out = consign(dir)
        .args([
            "verify",
            archive,
            "--policy",
            "eu-cra-import",
            "--trust",
            "trust.toml",
            "--at",
            "2026-11-22",
            "--no-ledger",
            "--no-rescan",
        ])
        .env("CONSIGN_REPORT_PEAK_RSS", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let kib = stderr
        .lines()
        .find_map(|line| line.strip_prefix("consign: peak RSS "))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS line in\n{stderr}"));
    (kib, stdout)
}

#[test]
fn issue13_tar_shipments_are_read_with_bounded_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let out = consign(dir)
        .args(["key", "generate", "--algorithm", "ed25519", "--out", "m"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let pem = std::fs::read_to_string(dir.join("m.pub")).unwrap();
    std::fs::write(
        dir.join("trust.toml"),
        format!("format = \"consign-trust/v1\"\n[[party]]\nname = \"M\"\nroles = [\"manufacturer\"]\n[[party.key]]\npublic-key = \"\"\"\n{pem}\"\"\"\nvalid-from = 2025-01-01\nvalid-until = 2030-12-31\n"),
    )
    .unwrap();

    // A 1 GiB document is hashed as it streams by and never held.
    sparse_shipment(
        &dir.join("doc.tar"),
        &[("documents/big.bin", "document", GIB, ZEROS_1GIB)],
    );
    let (doc_kib, stdout) = verify_peak(dir, "doc.tar");
    assert!(
        stdout.contains("all 1 artifacts are present and match the manifest"),
        "{stdout}"
    );
    assert!(
        doc_kib < 200 * 1024,
        "1 GiB document: peak RSS {doc_kib} KiB"
    );

    // A 1 GiB firmware image is held once (the re-scan needs it), not copied.
    sparse_shipment(
        &dir.join("fw.tar"),
        &[("firmware/fw.img", "firmware", GIB, ZEROS_1GIB)],
    );
    let (fw_kib, stdout) = verify_peak(dir, "fw.tar");
    assert!(
        stdout.contains("all 1 artifacts are present and match the manifest"),
        "{stdout}"
    );
    assert!(
        fw_kib < 1_400 * 1024,
        "1 GiB firmware: peak RSS {fw_kib} KiB"
    );

    // Two 1000 MiB members, a firmware image and a document.
    sparse_shipment(
        &dir.join("two.tar"),
        &[
            ("firmware/fw.img", "firmware", 1000 * MIB, ZEROS_1000MIB),
            ("documents/big.bin", "document", 1000 * MIB, ZEROS_1000MIB),
        ],
    );
    let (two_kib, stdout) = verify_peak(dir, "two.tar");
    assert!(
        stdout.contains("all 2 artifacts are present and match the manifest"),
        "{stdout}"
    );
    assert!(
        two_kib < 1_400 * 1024,
        "two 1000 MiB members: peak RSS {two_kib} KiB"
    );
    eprintln!(
        "peak RSS: 1 GiB document {doc_kib} KiB, 1 GiB firmware {fw_kib} KiB, two 1000 MiB members {two_kib} KiB"
    );
}
