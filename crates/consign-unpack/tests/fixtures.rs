//! Fixtures made with the real tools by `fixtures/unpack/recipe/make.sh` (zip, cpio in three
//! formats, pax and GNU tar, multi-file and gzip uImages) and `fixtures/unpack/fat/recipe.sh`
//! (FAT12, FAT16 and FAT32, here as the partitions of a disk image): specific entries and contents.
#![allow(clippy::unwrap_used)] // Test helpers: a panic is the test failing.

use std::path::PathBuf;

use bytes::Bytes;
use consign_model::{NodeKind, Vfs};
use consign_unpack::{Budget, Limits, Unpacked, unpack, unpack_visiting};

fn run(relative: &str) -> Unpacked {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/unpack")
        .join(relative);
    let data = std::fs::read(&path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    unpack(&name, Bytes::from(data), &Limits::default())
}

fn data_of<'a>(vfs: &'a Vfs, suffix: &str) -> &'a [u8] {
    vfs.nodes
        .iter()
        .find(|n| n.path.ends_with(suffix) && n.data().is_some())
        .and_then(|n| n.data())
        .unwrap_or_else(|| {
            panic!(
                "no file ending `{suffix}` in {:#?}",
                vfs.nodes.iter().map(|n| &n.path).collect::<Vec<_>>()
            )
        })
}

const RELEASE: &[u8] = b"consign fixture\nversion=1.2.3\n";
const LONG: &str = "a-directory-name-that-is-long-enough/to-need-a-pax-or-gnu-extended-header-for-its-path/file-with-a-long-name.txt";

#[track_caller]
fn check_tree(relative: &str, format: &str) {
    let out = run(relative);
    let container = &out.report.root.containers[0];
    assert_eq!(container.format, format, "{relative}");
    assert!(
        container.diagnostics.is_empty(),
        "{relative}: {:?}",
        container.diagnostics
    );
    assert_eq!(data_of(&out.vfs, "etc/release"), RELEASE, "{relative}");
    // The recipe stamps every file with SOURCE_DATE_EPOCH (zip's DOS time, read as UTC, too).
    let release = out
        .vfs
        .nodes
        .iter()
        .find(|n| n.path.ends_with("etc/release"))
        .unwrap();
    assert_eq!(release.mtime, Some(1_700_000_000), "{relative}");
    assert_eq!(data_of(&out.vfs, LONG), b"deep file\n", "{relative}");
    let hello = out
        .vfs
        .nodes
        .iter()
        .find(|n| n.path.ends_with("bin/hello"))
        .unwrap();
    assert!(hello.is_executable(), "{relative}");
    let hi = out
        .vfs
        .nodes
        .iter()
        .find(|n| n.path.ends_with("bin/hi"))
        .unwrap();
    assert_eq!(
        hi.kind,
        NodeKind::Symlink {
            target: "hello".into()
        },
        "{relative}"
    );
}

#[test]
fn zip_cpio_and_tar_fixtures() {
    check_tree("zip/stored-deflate.zip", "zip");
    check_tree("cpio/newc.cpio", "cpio");
    check_tree("cpio/crc.cpio", "cpio");
    check_tree("cpio/odc.cpio", "cpio");
    check_tree("tar/pax.tar", "tar");
    check_tree("tar/gnu.tar", "tar");
}

#[test]
fn uimage_fixtures() {
    let out = run("uimage/multi.img");
    assert_eq!(
        data_of(&out.vfs, "uimage@0x0/image-0"),
        b"kernel part of a multi-file image\n"
    );
    // The second part is a gzip stream, found and inflated by the recursion.
    assert_eq!(data_of(&out.vfs, "image-1/gzip@0x0/decompressed"), RELEASE);
    let out = run("uimage/kernel-gzip.img");
    assert!(
        out.report.root.containers[0]
            .description
            .contains("linux mips kernel, gzip")
    );
    assert!(data_of(&out.vfs, "uimage@0x0/kernel").starts_with(b"#!/bin/sh"));
}

/// `unpack_visiting` gives the tree `unpack` gives, and visits every file of it once: nested
/// containers (a uImage's gzip payload, several images), a filesystem, a bare file.
#[test]
fn every_file_is_visited_once_and_the_tree_is_the_same() {
    for relative in [
        "uimage/kernel-gzip.img",
        "uimage/multi.img",
        "squashfs/sq-xz.img",
        "ubi/two-volumes.ubi",
        "zip/stored-deflate.zip",
    ] {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/unpack")
            .join(relative);
        let data = Bytes::from(std::fs::read(&path).unwrap());
        let plain = unpack(relative, data.clone(), &Limits::default());
        let visited = std::sync::Mutex::new(Vec::new());
        let budget = Budget::new(Limits::default());
        let out = unpack_visiting(relative, data, &budget, &|node| {
            let data = node.data().unwrap();
            visited
                .lock()
                .unwrap()
                .push((node.path.clone(), data.as_ptr() as usize, data.len()));
        });
        assert_eq!(out.vfs, plain.vfs, "{relative}");
        assert_eq!(out.report, plain.report, "{relative}");
        let mut visited = visited.into_inner().unwrap();
        let mut files: Vec<(String, usize, usize)> = out
            .vfs
            .files()
            .map(|(node, data)| (node.path.clone(), data.as_ptr() as usize, data.len()))
            .collect();
        assert!(files.len() >= 2, "{relative}: {files:?}");
        visited.sort();
        files.sort();
        assert_eq!(visited, files, "{relative}");
    }
}

fn gunzip(relative: &str) -> Vec<u8> {
    use std::io::Read as _;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/unpack")
        .join(relative);
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&std::fs::read(path).unwrap()[..])
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// A disk image as an SD card or a gateway's flash holds one: an MBR partition table, then the
/// FAT16, FAT12 and FAT32 fixtures as its partitions from 1 MiB on, zeros after. The carver finds
/// each by its boot sector's type string (at 0x36 for FAT12 and FAT16, 0x52 for FAT32).
#[test]
fn fat_partitions_of_a_disk_image() {
    let mut disk = vec![0u8; 1 << 20];
    let mut starts = Vec::new();
    for (slot, (kind, partition_type)) in [("fat16", 0x04u8), ("fat12", 0x01), ("fat32", 0x0c)]
        .into_iter()
        .enumerate()
    {
        let image = gunzip(&format!("fat/{kind}.img.gz"));
        let entry = 446 + 16 * slot;
        disk[entry + 4] = partition_type;
        let first_sector = (disk.len() / 512) as u32;
        disk[entry + 8..entry + 12].copy_from_slice(&first_sector.to_le_bytes());
        disk[entry + 12..entry + 16].copy_from_slice(&((image.len() / 512) as u32).to_le_bytes());
        starts.push(disk.len());
        disk.extend_from_slice(&image);
    }
    disk[510..512].copy_from_slice(&[0x55, 0xaa]);
    disk.resize(disk.len() + (1 << 20), 0);
    let out = unpack("sdcard.img", Bytes::from(disk), &Limits::default());
    let found: Vec<(u64, &str, &str)> = out
        .report
        .root
        .containers
        .iter()
        .map(|c| (c.offset, c.format.as_str(), c.description.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (
                starts[0] as u64,
                "fat",
                "FAT16, volume \"CONSIGN\", 8167 clusters of 2048 bytes"
            ),
            (
                starts[1] as u64,
                "fat",
                "FAT12, volume \"CONSIGN\", 1004 clusters of 1024 bytes"
            ),
            (
                starts[2] as u64,
                "fat",
                "FAT32, volume \"CONSIGN\", 68528 clusters of 512 bytes"
            ),
        ]
    );
    assert!(
        out.report.diagnostics().is_empty(),
        "{:?}",
        out.report.diagnostics()
    );
    assert_eq!(out.report.incomplete, Vec::new());
    for start in starts {
        let prefix = format!("sdcard.img/fat@{start:#x}");
        assert_eq!(
            data_of(&out.vfs, &format!("{prefix}/boot/config.txt")),
            b"arm_64bit=1\nkernel=kernel8.img\n"
        );
        let kernel = data_of(&out.vfs, &format!("{prefix}/boot/kernel8.img"));
        assert_eq!(kernel.len(), 10_400);
        assert!(kernel.starts_with(b"line 0000 of the big file\n"));
        let long = out
            .vfs
            .nodes
            .iter()
            .find(|n| n.path == format!("{prefix}/Überlange Datei – ünïcödé ✓ 日本.txt"))
            .unwrap();
        assert_eq!(long.data().unwrap().as_ref(), b"a long name in Unicode\n");
        assert_eq!(long.mtime, Some(1_700_000_000));
        assert_eq!(long.provenance.last().unwrap().format, "fat");
        let readonly = out
            .vfs
            .nodes
            .iter()
            .find(|n| n.path == format!("{prefix}/readonly.txt"))
            .unwrap();
        assert_eq!(readonly.mode, Some(0o444));
    }
}

#[test]
fn a_block_ota_package_gives_back_the_partitions_it_writes() {
    // `fixtures/unpack/android-ota/make_payload.py`: system as a transfer list and brotli data
    // (commands out of block order), vendor uncompressed; the recipe recorded the SHA-256 of the
    // system image it started from.
    let out = run("android-ota/block-ota.zip");
    assert!(
        out.report.root.containers[0].diagnostics.is_empty(),
        "{:?}",
        out.report.root.containers[0].diagnostics
    );
    let system = data_of(
        &out.vfs,
        "system.new.dat.br/android-block-ota@0x0/system.img",
    );
    let expected = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/unpack/android-ota/block-ota-system.sha256"),
    )
    .unwrap();
    assert_eq!(consign_model::Sha256::of(system).to_hex(), expected.trim());
    let vendor = data_of(&out.vfs, "vendor.new.dat/android-block-ota@0x0/vendor.img");
    assert_eq!(vendor.len(), 8192);
    assert!(vendor.starts_with(b"vendor partition line 0000\n"));
    // The system partition's files are read from the rebuilt image; the brotli data file is not
    // searched again on its own.
    assert!(
        out.vfs
            .nodes
            .iter()
            .any(|n| n.path.ends_with("system.img/ext@0x0/system/build.prop"))
    );
    assert!(
        !out.vfs
            .nodes
            .iter()
            .any(|n| n.path.contains("system.new.dat.br/brotli@"))
    );
}

#[test]
fn a_file_named_br_is_read_as_brotli() {
    // Pre-compressed web assets (`app.js.br`): a brotli stream has no magic, its name says it.
    let compressed = [
        0x1b, 0xff, 0x3f, 0xf8, 0x25, 0xc4, 0xe2, 0xb1, 0x40, 0x20, 0xf7, 0x06, 0x00,
    ];
    let out = unpack(
        "app.js.br",
        Bytes::copy_from_slice(&compressed),
        &Limits::default(),
    );
    assert_eq!(out.report.root.containers[0].format, "brotli");
    assert_eq!(data_of(&out.vfs, "brotli@0x0/app.js"), vec![b'b'; 16384]);
    // The same bytes under another name are not guessed at.
    let other = unpack(
        "app.js",
        Bytes::copy_from_slice(&compressed),
        &Limits::default(),
    );
    assert!(other.report.root.containers.is_empty());
}

/// Three EROFS images of `fixtures/unpack/erofs/recipe.sh` (`MicroLZMA`, LZ4 with big pclusters,
/// chunk-based) back to back in erased flash, as an Android device's dynamic partitions lie: the
/// carver finds each by its superblock magic at 1024 and reads it whole.
#[test]
fn erofs_partitions_of_a_flash_image() {
    let mut flash = vec![0xffu8; 0x10000];
    let mut starts = Vec::new();
    for name in ["lzma", "lz4-big", "chunk"] {
        starts.push(flash.len());
        flash.extend_from_slice(&gunzip(&format!("erofs/{name}.img.gz")));
        flash.resize(flash.len() + 0x3000, 0xff);
    }
    let out = unpack("super.img", Bytes::from(flash), &Limits::default());
    let found: Vec<(u64, &str)> = out
        .report
        .root
        .containers
        .iter()
        .map(|c| (c.offset, c.format.as_str()))
        .collect();
    assert_eq!(
        found,
        starts
            .iter()
            .map(|&start| (start as u64, "erofs"))
            .collect::<Vec<_>>()
    );
    assert!(
        out.report.diagnostics().is_empty(),
        "{:?}",
        out.report.diagnostics()
    );
    assert_eq!(out.report.incomplete, Vec::new());
    for start in starts {
        let prefix = format!("super.img/erofs@{start:#x}");
        assert!(
            data_of(&out.vfs, &format!("{prefix}/system/build.prop"))
                .starts_with(b"ro.build.version.release=14\n")
        );
        let big = data_of(&out.vfs, &format!("{prefix}/big.txt"));
        assert_eq!(big.len(), 28_000);
        assert!(big.starts_with(b"line 0000 "));
        let link = out
            .vfs
            .nodes
            .iter()
            .find(|n| n.path == format!("{prefix}/lib/link"))
            .unwrap();
        assert_eq!(
            link.kind,
            NodeKind::Symlink {
                target: "../big.txt".into()
            }
        );
        assert_eq!(link.provenance.last().unwrap().format, "erofs");
    }
}
