//! Hostile inputs, built in the test itself: zip-slip, symlink-then-write, hard-link escape,
//! `dirtraversal.tar`, a decompression bomb, an archive nested in itself and absurd header sizes.
//! Each checks both the in-memory result and, where it applies, what the confined writer did.
#![allow(clippy::unwrap_used)] // Test helpers: a panic is the test failing.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use consign_unpack::write::write_tree;
use consign_unpack::{Limits, unpack};

/// A ustar header block with its checksum.
fn tar_header(name: &str, typeflag: u8, size: usize, link: &str) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..107].copy_from_slice(b"0000644");
    h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
    h[156] = typeflag;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    h
}

fn tar(members: &[(&str, u8, &[u8], &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, typeflag, body, link) in members {
        out.extend(tar_header(name, *typeflag, body.len(), link));
        out.extend_from_slice(body);
        out.resize(out.len().next_multiple_of(512), 0);
    }
    out.extend([0u8; 1024]);
    out
}

/// A stored zip (local headers + central directory), `mode` is the Unix mode.
fn zip(members: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, body, mode) in members {
        let offset = out.len() as u32;
        let crc = crc(body);
        out.extend_from_slice(b"PK\x03\x04\x14\0\0\0\0\0\0\0\0\0");
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(body);
        central.extend_from_slice(b"PK\x01\x02\x14\x03\x14\0\0\0\0\0\0\0\0\0");
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&(body.len() as u32).to_le_bytes());
        central.extend_from_slice(&(body.len() as u32).to_le_bytes());
        central.extend_from_slice(&(name.len() as u16).to_le_bytes());
        central.extend_from_slice(&[0; 8]);
        central.extend_from_slice(&(mode << 16).to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06\0\0\0\0");
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out
}

fn crc(data: &[u8]) -> u32 {
    let mut hasher = flate2::Crc::new();
    hasher.update(data);
    hasher.sum()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// Every path under `root`, so a test can show nothing landed outside.
fn listing(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if std::fs::symlink_metadata(&path).unwrap().is_dir() {
                stack.push(path.clone());
            }
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn zip_slip_stays_inside() {
    let data = zip(&[
        ("../../evil.sh", b"rm -rf", 0o100_755),
        ("ok.txt", b"fine", 0o100_644),
    ]);
    let out = unpack("slip.zip", Bytes::from(data), &Limits::default());
    let outer = tempfile::tempdir().unwrap();
    let dir = outer.path().join("out");
    let written = write_tree(&out.vfs, &dir).unwrap();
    assert_eq!(written.files, 1);
    assert!(
        written.refused[0].reason.contains("contains `..`"),
        "{:?}",
        written.refused
    );
    assert_eq!(
        listing(outer.path()),
        [dir.clone(), dir.join("zip@0x0"), dir.join("zip@0x0/ok.txt")]
    );
}

#[test]
fn symlink_then_write_and_hard_link_escape() {
    let data = tar(&[
        ("etc", b'2', b"", "/etc"),
        ("etc/passwd", b'0', b"owned", ""),
        ("up", b'2', b"", "../../.."),
        ("up/x", b'0', b"owned", ""),
        ("shadow", b'1', b"", "../../../etc/shadow"),
        ("dev", b'3', b"", ""),
    ]);
    let out = unpack("hostile.tar", Bytes::from(data), &Limits::default());
    assert_eq!(out.report.root.containers[0].entries, 6);
    let outer = tempfile::tempdir().unwrap();
    let dir = outer.path().join("out");
    let written = write_tree(&out.vfs, &dir).unwrap();
    // The links are refused, so the files meant to go through them land in plain folders inside.
    assert_eq!((written.files, written.symlinks), (2, 0), "{written:?}");
    assert_eq!(written.refused.len(), 4);
    let t = dir.join("tar@0x0");
    assert_eq!(
        listing(outer.path()),
        [
            dir.clone(),
            t.clone(),
            t.join("etc"),
            t.join("etc/passwd"),
            t.join("up"),
            t.join("up/x")
        ]
    );
    assert!(
        !std::fs::symlink_metadata(t.join("etc"))
            .unwrap()
            .is_symlink()
    );
}

#[test]
fn dirtraversal_sample_writes_nothing_outside() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples/dirtraversal.tar");
    let out = unpack(
        "dirtraversal.tar",
        Bytes::from(std::fs::read(path).unwrap()),
        &Limits::default(),
    );
    let outer = tempfile::tempdir().unwrap();
    let dir = outer.path().join("out");
    let written = write_tree(&out.vfs, &dir).unwrap();
    let refused: Vec<_> = written
        .refused
        .iter()
        .map(|r| r.path.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(
        refused,
        ["bar", "foo", "foo2", "bar2"],
        "{:?}",
        written.refused
    );
    // The inside links were created and point inside.
    assert!(
        std::fs::symlink_metadata(dir.join("tar@0x0/README2_link"))
            .unwrap()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read(dir.join("tar@0x0/subdir/README_link")).unwrap(),
        std::fs::read(dir.join("tar@0x0/README.txt")).unwrap()
    );
    for path in listing(outer.path()) {
        assert!(path.starts_with(&dir), "{}", path.display());
    }
}

#[test]
fn decompression_bomb_is_cut_and_named() {
    let bomb = gzip(&vec![0u8; 64 << 20]);
    assert!(bomb.len() < 100_000);
    let out = unpack("bomb.gz", Bytes::from(bomb), &Limits::default());
    let gzip = &out.report.root.containers[0];
    let diagnostic = &gzip.diagnostics[0];
    assert!(
        diagnostic.message.contains("--max-ratio"),
        "{}",
        diagnostic.message
    );
    assert_eq!(diagnostic.location, "bomb.gz/gzip@0x0");
    let total: usize = out.vfs.files().map(|(_, d)| d.len()).sum::<usize>();
    assert!(total < 100 << 20, "{total}");
}

#[test]
fn archive_nested_in_itself_stops_at_the_depth_limit() {
    // A tar holding a gzip of a tar holding ... 40 levels: each level only a few bytes more.
    let mut data = tar(&[("leaf", b'0', b"bottom", "")]);
    for level in 0..40 {
        data = tar(&[(&format!("level{level}.tar.gz"), b'0', &gzip(&data), "")]);
    }
    let limits = Limits {
        max_depth: 8,
        ..Limits::default()
    };
    let out = unpack("nested.tar", Bytes::from(data), &limits);
    let depth_hit = out
        .report
        .diagnostics()
        .into_iter()
        .any(|d| d.message.contains("--max-depth"));
    assert!(depth_hit);
    let deepest = out
        .vfs
        .nodes
        .iter()
        .map(|n| n.provenance.len())
        .max()
        .unwrap();
    assert!(deepest <= 9, "{deepest}");
}

#[test]
fn absurd_header_sizes_are_diagnosed() {
    // A uImage claiming 4 GiB of data, a cpio member claiming 4 GiB, an entry count limit.
    let mut cpio = b"070701".to_vec();
    for field in [1u32, 0o100_644, 0, 0, 1, 0, 0xffff_ffff, 0, 0, 0, 0, 2, 0] {
        cpio.extend(format!("{field:08x}").as_bytes());
    }
    cpio.extend(b"a\0\0\0");
    cpio.extend(b"short");
    let out = unpack("big.cpio", Bytes::from(cpio), &Limits::default());
    let diagnostics = out.report.diagnostics();
    assert!(
        diagnostics
            .iter()
            .any(|d| d.message.contains("claims 4294967295 bytes")),
        "{diagnostics:?}"
    );

    let many: Vec<(String, u8, &[u8], &str)> = (0..50)
        .map(|i| (format!("f{i}"), b'0', &b"x"[..], ""))
        .collect();
    let members: Vec<(&str, u8, &[u8], &str)> = many
        .iter()
        .map(|(n, t, b, l)| (n.as_str(), *t, *b, *l))
        .collect();
    let limits = Limits {
        max_entries: 10,
        ..Limits::default()
    };
    let out = unpack("many.tar", Bytes::from(tar(&members)), &limits);
    assert_eq!(out.vfs.nodes.len(), 10);
    assert!(
        out.report
            .diagnostics()
            .iter()
            .any(|d| d.message.contains("--max-entries"))
    );
}

#[test]
fn damage_in_one_region_leaves_the_rest() {
    // A broken gzip, then a good tar: the tar is still unpacked.
    let mut data = gzip(b"some text to compress, some text to compress");
    let len = data.len();
    data[len / 2] ^= 0xff;
    data[len / 2 + 1] ^= 0xff;
    data.extend(tar(&[("after", b'0', b"still here", "")]));
    let out = unpack("mixed.bin", Bytes::from(data), &Limits::default());
    assert!(
        out.vfs.nodes.iter().any(
            |n| n.path.ends_with("/after") && n.data().is_some_and(|d| &d[..] == b"still here")
        )
    );
}
