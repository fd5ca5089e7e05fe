//! The ISO 9660 reader against the recipe's images, damaged copies of them and hand-made cases.

use super::*;
use crate::Limits;
use crate::fs::test_support::{file, flip_each, gunzip, mangle, render};

fn fixture(name: &str) -> Vec<u8> {
    gunzip(&format!("fixtures/unpack/iso9660/{name}.iso.gz"))
}

fn read(data: &[u8]) -> FsListing {
    parse(data, &Budget::new(Limits::default()))
}

/// The tree `recipe.sh` writes, as the reader lists it from each image (directories in the order
/// their records sort).
fn tree(name: &str) -> String {
    let (modes, long) = match name {
        "rr-joliet" | "relocated" => (true, "A long file name with several.dots.txt"),
        "joliet" => (false, "A long file name with several.dots.txt"),
        _ => (false, "a_long_f.txt"),
    };
    let mut out = String::new();
    let dirs = [
        "/a",
        "/a/b",
        "/a/b/c",
        "/a/b/c/d",
        "/a/b/c/d/e",
        "/a/b/c/d/e/f",
        "/a/b/c/d/e/f/g",
    ];
    let line = |path: &str, mode: &str, what: &str| {
        let mode = if modes { mode } else { "" };
        format!("{path} {mode} {what}\n")
    };
    out += &line("/a", "755", "dir");
    out += &line("/bin", "755", "dir");
    if name == "rr-joliet" {
        out += &line("/boot.catalog", "444", "file 2048");
    }
    out += &line("/etc", "755", "dir");
    for dir in &dirs[1..] {
        out += &line(dir, "755", "dir");
    }
    out += &line("/a/b/c/d/e/f/g/h", "755", "dir");
    out += &line("/a/b/c/d/e/f/g/h/i", "755", "dir");
    out += &line("/a/b/c/d/e/f/g/h/i/deep.txt", "644", "file 10");
    out += &line("/bin/big", "644", "file 10400");
    out += &line("/bin/boot.img", "644", "file 1984");
    if modes {
        out += &line("/bin/motd-link", "777", "symlink -> ../etc/motd");
    }
    out += &line(&format!("/etc/{long}"), "644", "file 12");
    out += &line("/etc/empty", "644", "file 0");
    out += &line("/etc/motd", "644", "file 19");
    if name == "rr-joliet" {
        out += "/[boot]  dir\n/[boot]/entry-1.img  file 2048\n";
    }
    out
}

fn boot_image() -> Vec<u8> {
    b"boot code of consign, 32 bytes\n".repeat(64)
}

fn big() -> Vec<u8> {
    crate::fs::test_support::big_file()
}

/// The offset of the directory record whose identifier is `name`, searched from `from`.
fn record_at(data: &[u8], name: &[u8], from: usize) -> usize {
    (from..data.len() - 34)
        .find(|&at| {
            let len = usize::from(data[at + 32]);
            len == name.len()
                && &data[at + 33..at + 33 + len] == name
                && usize::from(data[at]) >= 33 + len
        })
        .unwrap()
}

/// Sets a both-endian 32-bit number at `at`.
fn put_both(data: &mut [u8], at: usize, value: u32) {
    data[at..at + 4].copy_from_slice(&value.to_le_bytes());
    data[at + 4..at + 8].copy_from_slice(&value.to_be_bytes());
}

#[test]
fn fixtures_read_back_as_the_recipe_wrote_them() {
    for (name, description) in [
        (
            "rr-joliet",
            "ISO 9660, volume \"CONSIGN\", Joliet, El Torito",
        ),
        ("joliet", "ISO 9660, volume \"CONSIGN\", Joliet"),
        ("plain", "ISO 9660, volume \"CONSIGN\""),
    ] {
        let data = fixture(name);
        let probed = probe(&data).unwrap();
        assert_eq!(probed.description, description);
        assert_eq!(probed.size, Some(data.len() as u64));
        let listing = read(&data);
        assert_eq!(listing.diagnostics, Vec::new(), "{name}");
        assert_eq!(listing.cuts, Vec::new(), "{name}");
        assert_eq!(render(&listing), tree(name), "{name}");
        assert_eq!(file(&listing, "/bin/big"), big(), "{name}");
        assert_eq!(file(&listing, "/etc/motd"), b"hello from consign\n");
        assert_eq!(
            file(&listing, "/a/b/c/d/e/f/g/h/i/deep.txt"),
            b"deep file\n"
        );
        assert_eq!(file(&listing, "/bin/boot.img"), boot_image());
        for entry in &listing.entries {
            if !entry.path.starts_with("/[boot]") {
                assert_eq!(entry.mtime, Some(1_700_000_000), "{name} {}", entry.path);
            }
        }
    }
    // The boot image as the catalogue gives it: four 512-byte sectors from the image's start.
    let listing = read(&fixture("rr-joliet"));
    let mut want = boot_image();
    want.resize(2048, 0);
    assert_eq!(file(&listing, "/[boot]/entry-1.img"), want);
}

#[test]
fn both_endian_numbers_must_agree() {
    let mut data = fixture("plain");
    // The big-endian copy of the root record's extent, in the primary volume descriptor.
    data[0x8000 + 156 + 6] ^= 1;
    let listing = read(&data);
    assert_eq!(
        listing.diagnostics[0].message,
        "the root directory is not read: record at 0x809c: extent: the both-endian number at byte 2 disagrees with itself (18 little-endian, 16777234 big-endian)"
    );
    let mut data = fixture("plain");
    data[0x8000 + 130] ^= 1;
    assert_eq!(probe(&data), None);
    assert_eq!(
        read(&data).diagnostics[0].message,
        "not an ISO 9660 image: logical block size: the both-endian number at byte 128 disagrees with itself (2048 little-endian, 2304 big-endian)"
    );
}

#[test]
fn a_directory_that_contains_itself_is_not_entered_again() {
    for name in ["rr-joliet", "joliet", "plain"] {
        let mut data = fixture(name);
        let reader_root = u32le(&data, 0x8000 + 156 + 2).unwrap();
        // In the tree this image is read through (Rock Ridge's or Joliet's or the plain one),
        // `c`'s record names the root's extent.
        let c = if name == "joliet" {
            &b"\0c"[..]
        } else {
            &b"C"[..]
        };
        let root = if name == "joliet" {
            let joliet = (16..32).find(|sector| data[sector * 2048] == 2).unwrap();
            u32le(&data, joliet * 2048 + 156 + 2).unwrap()
        } else {
            reader_root
        };
        let at = record_at(&data, c, 0x8800);
        put_both(&mut data, at + 2, root);
        let listing = read(&data);
        assert_eq!(listing.cuts.len(), 1, "{name}: {:#?}", listing.diagnostics);
        assert_eq!(listing.cuts[0].reason, CutReason::Duplicate);
        assert_eq!(
            listing.diagnostics[0].message,
            format!("the directory at block {root} was already read (a loop); not entered again")
        );
        assert!(!render(&listing).contains("deep.txt"));
    }
}

#[test]
fn multi_extent_files_are_joined() {
    // `bin/big` cut into two records, the first flagged as continued: its first two sectors,
    // then the rest, as a file of more than 4 GiB is written.
    let mut data = fixture("plain");
    let at = record_at(&data, b"BIG.;1", 0x8800);
    let len = usize::from(data[at]);
    let extent = u32le(&data, at + 2).unwrap();
    let mut second = data[at..at + len].to_vec();
    put_both(&mut second, 2, extent + 2);
    put_both(&mut second, 10, 10400 - 4096);
    put_both(&mut data, at + 10, 4096);
    data[at + 25] |= FLAG_MULTI_EXTENT;
    let sector_end = (at / SECTOR + 1) * SECTOR;
    assert!(data[sector_end - len..sector_end].iter().all(|&b| b == 0));
    data.copy_within(at + len..sector_end - len, at + 2 * len);
    data[at + len..at + 2 * len].copy_from_slice(&second);
    let listing = read(&data);
    assert_eq!(listing.diagnostics, Vec::new());
    assert_eq!(file(&listing, "/bin/big"), big());
    assert_eq!(file(&listing, "/bin/boot.img"), boot_image());
}

#[test]
fn truncated_and_damaged_images_never_panic() {
    for name in ["rr-joliet", "joliet", "plain"] {
        let data = fixture(name);
        let used = data.iter().rposition(|&b| b != 0).unwrap() + 1;
        let cuts: Vec<usize> = [0, 0x8000, 0x8001, 0x8800, 0x9800, 0xa000]
            .into_iter()
            .chain((0xa000..used).step_by(4093))
            .collect();
        mangle(&data, parse, &cuts);
        flip_each(
            name,
            &data,
            (0x8000..used).step_by(7),
            parse,
            Limits::default(),
            std::time::Duration::from_mins(1),
        );
    }
}

#[test]
fn the_carver_finds_iso9660_inside_a_disk_image() {
    let mut disk = vec![0u8; 0x8000];
    disk.extend(fixture("rr-joliet"));
    disk.extend(vec![0xff; 4096]);
    let unpacked = crate::unpack("disk.img", Bytes::from(disk), &Limits::default());
    assert!(
        unpacked
            .vfs
            .nodes
            .iter()
            .any(|node| node.path == "disk.img/iso9660@0x8000/etc/motd"),
        "{:?}",
        unpacked
            .vfs
            .nodes
            .iter()
            .map(|n| &n.path)
            .collect::<Vec<_>>()
    );
}

#[test]
fn limits_are_diagnosed() {
    let data = fixture("rr-joliet");
    crate::fs::test_support::limits_are_diagnosed(&data, parse, "/bin/big", 5000, 2);
}

#[test]
fn recording_dates() {
    assert_eq!(
        record_date(&[123, 11, 14, 22, 13, 20, 0]),
        Some(1_700_000_000)
    );
    // The same instant written one hour east of UTC.
    assert_eq!(
        record_date(&[123, 11, 14, 23, 13, 20, 4]),
        Some(1_700_000_000)
    );
    assert_eq!(record_date(&[70, 1, 1, 0, 0, 0, 0]), Some(0));
    assert_eq!(record_date(&[0; 7]), None);
}

#[test]
fn directories_that_share_blocks_are_refused() {
    // `/a/b` made to start in the block before the root's and span both: it overlaps a
    // directory already read.
    let mut data = fixture("plain");
    let root = u32le(&data, 0x8000 + 156 + 2).unwrap();
    let b = record_at(&data, b"B", 0x8800);
    put_both(&mut data, b + 2, root - 1);
    put_both(&mut data, b + 10, 4096);
    let listing = read(&data);
    assert_eq!(listing.cuts.len(), 1, "{:#?}", listing.diagnostics);
    assert_eq!(listing.cuts[0].reason, CutReason::Refused);
    assert!(
        listing.diagnostics[0]
            .message
            .contains("which another directory holds")
    );
    // A directory of 4 GiB beyond the image's end costs nothing.
    let mut data = fixture("plain");
    let b = record_at(&data, b"B", 0x8800);
    put_both(&mut data, b + 2, 0x00ff_ffff);
    put_both(&mut data, b + 10, u32::MAX);
    let listing = read(&data);
    assert!(
        listing.diagnostics[0]
            .message
            .contains("run past the end of the image; 0 read"),
        "{:#?}",
        listing.diagnostics
    );
}

#[test]
fn continuation_areas_are_followed_no_more_than_the_image_holds() {
    // Every record's System Use area made to continue into one area that continues into itself:
    // each record follows it at most 32 times, and all of them together no more than the image.
    let mut data = fixture("rr-joliet");
    let area = data.len() - 2048;
    let len = 2048u32;
    let mut ce = vec![b'C', b'E', 28, 1];
    for value in [(area / 2048) as u32, 0, len] {
        ce.extend_from_slice(&value.to_le_bytes());
        ce.extend_from_slice(&value.to_be_bytes());
    }
    data[area..area + 28].copy_from_slice(&ce);
    let mut listing = read(&data);
    assert_eq!(listing.diagnostics, Vec::new(), "the area is not used yet");
    for at in (0x8800..data.len() - 2048).step_by(2048) {
        let mut off = at;
        while off < at + 2048 && data[off] != 0 {
            let len = usize::from(data[off]);
            let name_len = usize::from(data[off + 32]);
            let su = off + 33 + name_len + usize::from(name_len % 2 == 0);
            let dot = name_len == 1 && data[off + 33] <= 1;
            if len >= 34 && su + 28 <= off + len && !dot {
                data[su..su + 28].copy_from_slice(&ce);
            }
            off += len.max(1);
        }
    }
    let started = std::time::Instant::now();
    listing = read(&data);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(
        listing.diagnostics.iter().any(|d| d
            .message
            .contains("more than 32 Rock Ridge continuation areas")),
        "{:#?}",
        listing.diagnostics
    );
    assert!(
        listing
            .diagnostics
            .iter()
            .any(|d| d.message.contains("together are longer than the image")),
        "{:#?}",
        listing.diagnostics
    );
}

#[test]
fn relocated_directories_are_read_where_rock_ridge_puts_them() {
    // `relocated.iso` keeps ISO 9660's eight levels: `i` (the ninth) is moved under the root,
    // marked `RE` there, and `h` holds a `CL` record pointing at it.
    let data = fixture("relocated");
    assert_eq!(data.windows(4).filter(|w| w == b"CL\x0c\x01").count(), 1);
    assert_eq!(data.windows(4).filter(|w| w == b"RE\x04\x01").count(), 1);
    let listing = read(&data);
    assert_eq!(listing.diagnostics, Vec::new());
    assert_eq!(render(&listing), tree("relocated"));
    assert_eq!(
        file(&listing, "/a/b/c/d/e/f/g/h/i/deep.txt"),
        b"deep file\n"
    );
}

#[test]
fn a_hard_disk_boot_image_is_as_long_as_its_partitions() {
    // The catalogue's entry made a hard disk emulation (media type 4), and the boot image a disk
    // whose master boot record has one partition of 3 sectors from sector 1: the image is 4
    // sectors. Without the boot record's signature it is not listed.
    let pristine = fixture("rr-joliet");
    let catalog = u32le(&pristine, 17 * 2048 + 0x47).unwrap() as usize * 2048;
    let image = u32le(&pristine, catalog + 32 + 8).unwrap() as usize * 2048;
    let mut data = pristine.clone();
    data[catalog + 32 + 1] = 4;
    data[image + 446..image + 510].fill(0);
    data[image + 446 + 4] = 0x83;
    data[image + 446 + 8..image + 446 + 12].copy_from_slice(&1u32.to_le_bytes());
    data[image + 446 + 12..image + 446 + 16].copy_from_slice(&3u32.to_le_bytes());
    data[image + 510..image + 512].copy_from_slice(&[0x55, 0xaa]);
    let listing = read(&data);
    assert_eq!(
        file(&listing, "/[boot]/entry-1.img"),
        &data[image..image + 2048]
    );
    data[image + 510] = 0;
    let listing = read(&data);
    assert_eq!(listing.cuts.len(), 1);
    assert_eq!(listing.cuts[0].reason, CutReason::Unsupported);
    assert!(!render(&listing).contains("entry-1.img"));
}
