//! The EROFS reader against the recipe's images, damaged copies of them and hand-made corner cases.

use std::fmt::Write as _;

use sha2::{Digest as _, Sha256};

use super::*;
use crate::Limits;
use crate::fs::test_support::{cuts, flip_each, gunzip, mangle, render, repo};

const IMAGES: &[&str] = &[
    "plain",
    "extended",
    "chunk",
    "chunk-index",
    "lz4",
    "lz4-big",
    "lz4-full",
    "lzma",
    "deflate",
    "zstd",
    "fragments",
    "fragments-full",
];

/// The small images: 512-byte blocks unless named `-4k`, not gzip'd (they seed the fuzzers too).
const SMALL: &[&str] = &[
    "plain",
    "chunk",
    "lz4",
    "lz4-big",
    "lz4-full",
    "lzma-4k",
    "deflate",
    "zstd",
    "fragments",
];

fn small(name: &str) -> Vec<u8> {
    std::fs::read(repo().join(format!("fixtures/unpack/erofs/small-{name}.img"))).unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    gunzip(&format!("fixtures/unpack/erofs/{name}.img.gz"))
}

fn read(data: &[u8]) -> FsListing {
    parse(data, &Budget::new(Limits::default()))
}

/// The tree the recipe wrote, as `tree.sha256` records it: (path, sha256 in hex).
fn recorded_tree(manifest: &str) -> Vec<(String, String)> {
    let text =
        std::fs::read_to_string(repo().join("fixtures/unpack/erofs").join(manifest)).unwrap();
    let mut out: Vec<(String, String)> = text
        .lines()
        .map(|line| {
            let (digest, path) = line.split_once("  ").unwrap();
            (path.trim_start_matches('.').to_owned(), digest.to_owned())
        })
        .collect();
    out.sort();
    out
}

/// Every regular file of a listing with its sha256, sorted by path.
fn file_digests(listing: &FsListing) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = listing
        .entries
        .iter()
        .filter_map(|entry| match &entry.kind {
            NodeKind::File { data } => {
                let digest = Sha256::digest(data)
                    .iter()
                    .fold(String::new(), |mut hex, b| {
                        let _ = write!(hex, "{b:02x}");
                        hex
                    });
                Some((entry.path.clone(), digest))
            }
            _ => None,
        })
        .collect();
    out.sort();
    out
}

/// Everything but the files of `/many`, which the tree digests cover.
fn shape(listing: &FsListing) -> String {
    render(listing)
        .lines()
        .filter(|line| !line.starts_with("/many/"))
        .fold(String::new(), |mut out, line| {
            out.push_str(line);
            out.push('\n');
            out
        })
}

const SHAPE: &str = "\
/a 755 dir
/big.txt 644 file 28000
/dev 755 dir
/empty 644 file 0
/lib 755 dir
/many 755 dir
/sparse.bin 644 file 12288
/system 755 dir
/a/b 755 dir
/a/b/c 755 dir
/a/b/c/deep.txt 644 file 10
/dev/null 644 char-device
/lib/link 777 symlink -> ../big.txt
/system/build.prop 644 file 96
/system/etc 755 dir
/system/etc/hard.prop 644 hardlink -> /system/build.prop
";

#[test]
fn every_fixture_reads_to_the_recipes_tree() {
    let tree = recorded_tree("tree.sha256");
    for name in IMAGES {
        let data = fixture(name);
        let found = probe(&data).unwrap_or_else(|| panic!("{name}: no probe"));
        assert_eq!(found.size, Some(data.len() as u64), "{name}");
        let listing = read(&data);
        assert_eq!(listing.diagnostics, Vec::new(), "{name}");
        assert_eq!(listing.cuts, Vec::new(), "{name}");
        assert_eq!(shape(&listing), SHAPE, "{name}");
        // Hard links are listed once as files; the tree records both paths.
        let mut want = tree.clone();
        want.retain(|(path, _)| path != "/system/etc/hard.prop");
        assert_eq!(file_digests(&listing), want, "{name}");
        for entry in &listing.entries {
            assert_eq!(entry.mtime, Some(1_700_000_000), "{name} {}", entry.path);
        }
    }
}

/// The nid of `path` and where its 12-byte entry sits in its parent directory (uncompressed).
fn lookup(data: &[u8], path: &str) -> (u64, u64) {
    let image = Image {
        data,
        sb: read_super(data).unwrap(),
    };
    let budget = Budget::new(Limits::default());
    let mut nid = image.sb.root_nid;
    let mut at = 0;
    for name in path.split('/').filter(|part| !part.is_empty()) {
        let inode = image.inode(nid).unwrap();
        let (bytes, _held) = read_data(&image, &inode, &budget, &mut zmap::Packed::new(0)).unwrap();
        let entry = dir_entries(&bytes, 4096, &mut Vec::new())
            .into_iter()
            .find(|entry| entry.name == name)
            .unwrap();
        // Flat layouts: whole blocks from `raw_blkaddr`, the last one inline or not.
        let head = if inode.layout == LAYOUT_FLAT_INLINE {
            inode.size.div_ceil(4096).saturating_sub(1) * 4096
        } else {
            assert_eq!(inode.layout, LAYOUT_FLAT_PLAIN, "{path}");
            inode.size
        };
        at = if entry.offset < head {
            u64::from(inode.raw) * 4096 + entry.offset
        } else {
            inode.inline_at + entry.offset - head
        };
        nid = entry.nid;
    }
    (nid, at)
}

#[test]
fn small_images_of_512_byte_blocks_read_to_their_tree() {
    let tree = recorded_tree("small-tree.sha256");
    for name in SMALL {
        let data = small(name);
        assert_eq!(
            probe(&data).unwrap().size,
            Some(data.len() as u64),
            "{name}"
        );
        let listing = read(&data);
        assert_eq!(listing.diagnostics, Vec::new(), "{name}");
        assert_eq!(
            render(&listing),
            "/a 755 dir\n/big.txt 644 file 3800\n/lib 755 dir\n/system 755 dir\n/a/deep.txt 644 file 5\n/lib/link 777 symlink -> ../big.txt\n/system/build.prop 644 file 28\n",
            "{name}"
        );
        assert_eq!(file_digests(&listing), tree, "{name}");
        let cuts: Vec<usize> = (0..data.len()).step_by(61).collect();
        mangle(&data, parse, &cuts);
    }
}

#[test]
fn the_probe_describes_the_image_and_rejects_garbage() {
    let data = fixture("lzma");
    let found = probe(&data).unwrap();
    assert_eq!(found.format, "erofs");
    assert!(
        found.description.starts_with("erofs, ") && found.description.contains("lzma"),
        "{}",
        found.description
    );
    assert_eq!(probe(&data[..1024 + 127]), None);
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut random = vec![0u8; 1 << 16];
    for byte in &mut random {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = (state >> 24) as u8;
    }
    assert_eq!(probe(&random), None);
    // The magic alone, with nonsense around it.
    random[1024..1028].copy_from_slice(&MAGIC.to_le_bytes());
    random[1024 + 12] = 40;
    assert_eq!(probe(&random), None);
    let listing = read(&random);
    assert!(
        listing.diagnostics[0]
            .message
            .starts_with("not an EROFS image: block size bits 40"),
        "{:?}",
        listing.diagnostics
    );
}

#[test]
fn an_unknown_incompatible_feature_refuses_the_image() {
    let mut data = fixture("plain");
    for (bit, name) in [
        (
            0x80u32,
            "incompatible feature bit 0x80 (48-bit block addresses) is not supported",
        ),
        (
            0x100,
            "incompatible feature bit 0x100 (metabox) is not supported",
        ),
        (
            0x4000_0000,
            "incompatible feature bit 0x40000000 is not supported",
        ),
    ] {
        let before = u32le(&data, 1024 + 80).unwrap();
        data[1024 + 80..1024 + 84].copy_from_slice(&(before | bit).to_le_bytes());
        assert!(probe(&data).is_some(), "the carver still finds it");
        let listing = read(&data);
        assert_eq!(listing.entries, Vec::new());
        assert_eq!(listing.cuts.len(), 1);
        assert_eq!(listing.cuts[0].reason, CutReason::Unsupported);
        assert!(
            listing.diagnostics[0].message.starts_with(name),
            "{}",
            listing.diagnostics[0].message
        );
        data[1024 + 80..1024 + 84].copy_from_slice(&before.to_le_bytes());
    }
}

#[test]
fn a_directory_that_contains_itself_is_not_entered_again() {
    let mut data = fixture("extended");
    let (a, _) = lookup(&data, "/a");
    let (_, c) = lookup(&data, "/a/b/c");
    let c = c as usize;
    data[c..c + 8].copy_from_slice(&a.to_le_bytes());
    let listing = read(&data);
    let cuts = cuts(&listing);
    assert_eq!(cuts.len(), 1, "{cuts:#?}");
    assert!(
        cuts[0].starts_with("/a/b/c @")
            && cuts[0].contains(&format!(
                "the directory's entries (duplicate): the directory (inode {a}) was already read as `/a` (a loop); not entered again"
            )),
        "{cuts:#?}"
    );
    assert!(render(&listing).contains("/a/b/c 755 dir\n"));
    assert!(!render(&listing).contains("/a/b/c/deep.txt"));
}

#[test]
fn an_entry_naming_a_missing_inode_is_cut() {
    let mut data = fixture("extended");
    let (_, at) = lookup(&data, "/big.txt");
    let at = at as usize;
    data[at..at + 8].copy_from_slice(&(u64::MAX / 64).to_le_bytes());
    let listing = read(&data);
    assert_eq!(listing.cuts.len(), 1);
    assert!(
        listing.diagnostics[0].message.ends_with(
            "lies past the filesystem's end (entry at byte 36 of the directory); the entry not read"
        ),
        "{:?}",
        listing.diagnostics
    );
}

#[test]
fn a_huge_size_is_refused_by_the_budget() {
    // `/big.txt`'s size set to 4 GiB in its extended inode: its blocks are not in the image.
    let mut data = fixture("extended");
    let (nid, _) = lookup(&data, "/big.txt");
    let sb = read_super(&data).unwrap();
    let at = (sb.meta + nid * 32) as usize;
    data[at + 8..at + 16].copy_from_slice(&(4u64 << 30).to_le_bytes());
    let listing = read(&data);
    assert!(
        cuts(&listing)
            .iter()
            .any(|cut| cut.starts_with("/big.txt") && cut.contains("lie past the end of the image")),
        "{:#?}",
        cuts(&listing)
    );
    // A compressed file's size raised: its index is not there for the new clusters.
    for name in ["lz4", "lz4-full", "lzma"] {
        let mut data = fixture(name);
        let image = Image {
            data: &data,
            sb: read_super(&data).unwrap(),
        };
        let root = image.inode(image.sb.root_nid).unwrap();
        let budget = Budget::new(Limits::default());
        let (bytes, _held) = read_data(&image, &root, &budget, &mut zmap::Packed::new(0)).unwrap();
        let nid = dir_entries(&bytes, 4096, &mut Vec::new())
            .into_iter()
            .find(|entry| entry.name == "big.txt")
            .unwrap()
            .nid;
        let at = (image.sb.meta + nid * 32) as usize;
        data[at + 8..at + 12].copy_from_slice(&u32::MAX.to_le_bytes());
        let listing = read(&data);
        let cuts = cuts(&listing);
        assert!(
            cuts.iter().any(|cut| cut.starts_with("/big.txt")),
            "{name}: {cuts:#?}"
        );
    }
}

#[test]
fn limits_are_diagnosed() {
    let data = fixture("lz4");
    crate::fs::test_support::limits_are_diagnosed(&data, parse, "/big.txt", 20_000, 3);
}

#[test]
fn truncated_and_damaged_images_never_panic() {
    for name in IMAGES {
        let data = fixture(name);
        let cuts: Vec<usize> = (0..data.len()).step_by(487).collect();
        mangle(&data, parse, &cuts);
        // Flips over the superblock, the inodes and the indexes (the metadata sits in the first
        // blocks and right after each inode).
        let limits = Limits {
            max_total_bytes: 64 << 20,
            ..Limits::default()
        };
        flip_each(
            name,
            &data,
            (1024..data.len().min(16 << 10)).step_by(7),
            parse,
            limits,
            std::time::Duration::from_mins(1),
        );
    }
}

#[test]
fn lz4_without_zero_padding_stops_when_the_extent_is_whole() {
    // "abcd" then a match of 8 from offset 4, then garbage the pcluster holds after the stream.
    let block = [0x44, b'a', b'b', b'c', b'd', 4, 0, 0xff, 0xff, 0xff];
    let mut out = [0u8; 12];
    zmap::lz4_partial(&block, &mut out).unwrap();
    assert_eq!(&out, b"abcdabcdabcd");
    let mut out = [0u8; 6];
    zmap::lz4_partial(&block, &mut out).unwrap();
    assert_eq!(&out, b"abcdab");
    // A match reaching before the output's start, and input ending early.
    let mut out = [0u8; 12];
    assert!(
        zmap::lz4_partial(&[0x14, b'a', 2, 0], &mut out)
            .unwrap_err()
            .contains("reaches before the start")
    );
    assert!(zmap::lz4_partial(&[0x40, b'a'], &mut out).is_err());
}

#[test]
fn what_is_not_read_is_named_with_its_file() {
    // A chunk on an extra device (`--blobdev`): the chunk index's device id set to 1.
    let mut data = fixture("chunk-index");
    let (nid, _) = lookup(&data, "/big.txt");
    let image = Image {
        data: &data,
        sb: read_super(&data).unwrap(),
    };
    let inode = image.inode(nid).unwrap();
    assert_eq!(inode.layout, LAYOUT_CHUNK_BASED);
    let table = inode.inline_at.next_multiple_of(8) as usize;
    data[table + 2] = 1;
    let listing = read(&data);
    assert_eq!(
        cuts(&listing),
        [format!(
            "/big.txt @{table:#x}: the file's contents (unsupported): chunk 0 is stored on extra device 1, which is not read; the file's contents not read"
        )]
    );
    // The packed inode out of reach: every file with a fragment says so, the others are read.
    let mut data = fixture("fragments");
    data[1024 + 96..1024 + 104].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let listing = read(&data);
    let cuts = cuts(&listing);
    assert!(!cuts.is_empty());
    for cut in &cuts {
        assert!(
            cut.contains("its fragment cannot be read: the packed inode: inode 1099511627776 lies past the filesystem's end"),
            "{cut}"
        );
    }
    assert!(
        cuts.iter().any(|cut| cut.starts_with("/big.txt @")),
        "{cuts:#?}"
    );
    assert!(render(&listing).contains("/many 755 dir\n"));
}

#[test]
fn deduplicated_clusters_read_as_each_file_was() {
    let listing = read(&fixture("dedupe"));
    assert_eq!(listing.diagnostics, Vec::new());
    let big = crate::fs::test_support::file(&read(&fixture("plain")), "/big.txt").to_vec();
    let mut prefixed = vec![b'x'; 100];
    prefixed.extend_from_slice(&big);
    assert_eq!(crate::fs::test_support::file(&listing, "/a.txt"), big);
    assert_eq!(crate::fs::test_support::file(&listing, "/b.txt"), prefixed);
    assert_eq!(crate::fs::test_support::file(&listing, "/c.txt"), big);
}

#[test]
fn two_algorithms_and_uncompressed_clusters_in_one_image() {
    let data = fixture("mixed");
    assert!(probe(&data).unwrap().description.contains("lz4, lzma"));
    let listing = read(&data);
    assert_eq!(listing.diagnostics, Vec::new());
    let big = crate::fs::test_support::file(&read(&fixture("plain")), "/big.txt").to_vec();
    assert_eq!(crate::fs::test_support::file(&listing, "/lz4.txt"), big);
    assert_eq!(crate::fs::test_support::file(&listing, "/lzma.txt"), big);
    let random = crate::fs::test_support::file(&listing, "/random.bin");
    assert_eq!(random.len(), 10_500);
    let recorded =
        std::fs::read_to_string(repo().join("fixtures/unpack/erofs/mixed.sha256")).unwrap();
    assert_eq!(
        file_digests(&listing)
            .into_iter()
            .find(|(path, _)| path == "/random.bin")
            .unwrap()
            .1,
        recorded.split_whitespace().next().unwrap()
    );
}
