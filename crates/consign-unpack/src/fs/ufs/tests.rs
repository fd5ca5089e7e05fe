//! The UFS reader against the recipe's images, damaged copies of them and hand-made corner cases.

use super::*;
use crate::Limits;
use crate::fs::test_support::{cuts, file, flip_each, gunzip, mangle, render, repo};

fn fixture(name: &str) -> Vec<u8> {
    gunzip(&format!("fixtures/unpack/ufs/{name}.img.gz"))
}

fn read(data: &[u8]) -> FsListing {
    parse(data, &Budget::new(Limits::default()))
}

const IMAGES: &[&str] = &["ufs1-le", "ufs1-be", "ufs2-le", "ufs2-be"];

const LONG_TARGET: &str = "/a/long/target/path/that/does/not/fit/in/the/block/pointers/of/the/inode/neither/in/ufs1/nor/in/ufs2/which/keep/sixty/and/one/hundred/twenty/bytes";

/// The tree `recipe.sh` writes, as the reader lists it (directories in on-disk order).
const TREE: &str = "\
/etc 755 dir
/empty-dir 755 dir
/usr 755 dir
/var 755 dir
/bin 755 dir
/etc/fifo 600 fifo
/etc/rc.d 755 dir
/etc/motd 644 file 19
/etc/motd.hard 644 hardlink -> /etc/motd
/etc/empty 644 file 0
/etc/rc.d/consign 755 file 21
/usr/share 755 dir
/usr/share/zeros 644 file 4718656
/usr/share/deep 755 dir
/usr/share/deep/er 755 dir
/usr/share/deep/er/still 755 dir
/usr/share/deep/er/still/deep.txt 644 file 10
/var/db 755 dir
/var/db/pkg 755 dir
/var/db/pkg/local.sqlite 644 file 82944
/bin/long-link 777 symlink -> LONG
/bin/motd-link 777 symlink -> ../etc/motd
/bin/big 755 file 216000
";

/// `bin/big` as the recipe writes it.
fn big_bytes() -> Vec<u8> {
    (0..8000)
        .flat_map(|i| format!("line {i:05} of the big file\n").into_bytes())
        .collect()
}

/// `usr/share/zeros` as the recipe writes it.
fn zeros_bytes() -> Vec<u8> {
    let mut out = b"start of the sparse-looking file\n".to_vec();
    out.resize(out.len() + 4_718_592, 0);
    out.extend_from_slice(b"end of the sparse-looking file\n");
    out
}

/// The reader over `data`, for tests that look at its structures.
fn reader(data: &[u8]) -> Reader<'_> {
    Reader {
        data,
        sb: read_superblock(data, SBLOCK_UFS1).unwrap(),
    }
}

/// The inode number a path names, looked up through the directories.
fn lookup(data: &[u8], path: &str) -> u32 {
    let reader = reader(data);
    let budget = Budget::new(Limits::default());
    let mut number = ROOT_INODE;
    for part in path.trim_start_matches('/').split('/') {
        let mut claimed = reader.claimed();
        let entries = read_dir(
            &reader,
            number,
            &budget,
            &mut claimed,
            "",
            &mut FsListing::default(),
        )
        .unwrap();
        number = entries.iter().find(|entry| entry.0 == part).unwrap().1;
    }
    number
}

/// Where the inode of `path` lies, and the reader's view of it.
fn inode_of(data: &[u8], path: &str) -> Inode {
    reader(data).inode(lookup(data, path)).unwrap()
}

/// Writes `value` in the image's byte order, `width` bytes wide, at `at`.
fn put(data: &mut [u8], at: u64, value: u64, width: usize) {
    let big = read_superblock(data, SBLOCK_UFS1).unwrap().endian == Endian::Big;
    let bytes = value.to_le_bytes();
    let mut field = bytes[..width].to_vec();
    if big {
        field.reverse();
    }
    let at = at as usize;
    data[at..at + width].copy_from_slice(&field);
}

#[test]
fn fixtures_read_back_as_the_recipe_wrote_them() {
    let sqlite = std::fs::read(repo().join("fixtures/detect/freebsd/local.sqlite")).unwrap();
    for name in IMAGES {
        let data = fixture(name);
        let (version, order) = name.split_once('-').unwrap();
        let order = if order == "le" { "little" } else { "big" };
        let mut description = format!(
            "{}, {order}-endian, volume \"\", 3 cylinder groups, 4096-byte blocks of 512-byte fragments",
            version.to_uppercase()
        );
        if version == "ufs2" {
            description.push_str(", superblock at 8192");
        }
        let probed = probe(&data).unwrap();
        assert_eq!(probed.description, description);
        assert_eq!(probed.size, Some(data.len() as u64), "{name}");
        assert_eq!(probe_ufs2(&data), None, "{name}");
        let listing = read(&data);
        assert_eq!(listing.diagnostics, Vec::new(), "{name}");
        assert_eq!(listing.cuts, Vec::new(), "{name}");
        assert_eq!(
            render(&listing),
            TREE.replace("LONG", LONG_TARGET),
            "{name}"
        );
        assert_eq!(file(&listing, "/bin/big"), big_bytes(), "{name}");
        assert_eq!(file(&listing, "/usr/share/zeros"), zeros_bytes(), "{name}");
        assert_eq!(file(&listing, "/etc/motd"), b"hello from consign\n");
        assert_eq!(
            file(&listing, "/etc/rc.d/consign"),
            b"#!/bin/sh\necho start\n"
        );
        assert_eq!(
            file(&listing, "/usr/share/deep/er/still/deep.txt"),
            b"deep file\n"
        );
        assert_eq!(file(&listing, "/var/db/pkg/local.sqlite"), sqlite, "{name}");
        assert!(
            listing
                .entries
                .iter()
                .all(|e| e.mtime == Some(1_700_000_000))
        );
        // What the images must hold for the reads above to test anything: `bin/big` past the
        // direct blocks (a single indirect block), `usr/share/zeros` past the single indirect
        // ones (a double indirect block), `etc/motd` in one fragment, the short link in its inode
        // and the long one in a block.
        let sb = read_superblock(&data, SBLOCK_UFS1).unwrap();
        let big_inode = inode_of(&data, "/bin/big");
        assert_ne!(big_inode.indirect[0], 0);
        assert_eq!(big_inode.indirect[1], 0);
        assert_ne!(inode_of(&data, "/usr/share/zeros").indirect[1], 0);
        let motd = inode_of(&data, "/etc/motd");
        assert!(
            !motd.direct[0].is_multiple_of(sb.frag),
            "{name}: motd fills a whole block"
        );
        assert!(inode_of(&data, "/bin/motd-link").size < sb.maxsymlinklen);
        assert!(inode_of(&data, "/bin/long-link").size >= sb.maxsymlinklen);
    }
}

#[test]
fn a_superblock_at_65536_as_freebsd_writes_it() {
    // FreeBSD's newfs puts a UFS2 superblock at 65536 and none at 8192. Moved there (over inodes
    // cylinder group 0 has not initialised), with `fs_sblockloc` saying so, the tree reads the same.
    let mut data = fixture("ufs2-le");
    let sb: Vec<u8> = data[SBLOCK_UFS1..SBLOCK_UFS1 + 1536].to_vec();
    data[SBLOCK_UFS2..SBLOCK_UFS2 + 1536].copy_from_slice(&sb);
    put(
        &mut data,
        (SBLOCK_UFS2 + 1000) as u64,
        SBLOCK_UFS2 as u64,
        8,
    );
    data[SBLOCK_UFS1..SBLOCK_UFS1 + 1536].fill(0);
    assert_eq!(probe(&data), None);
    assert_eq!(
        probe_ufs2(&data).unwrap().description,
        "UFS2, little-endian, volume \"\", 3 cylinder groups, 4096-byte blocks of 512-byte fragments"
    );
    let listing = read(&data);
    assert_eq!(listing.diagnostics, Vec::new());
    assert_eq!(render(&listing), TREE.replace("LONG", LONG_TARGET));
    assert_eq!(file(&listing, "/bin/big"), big_bytes());
    // Left where it was, `fs_sblockloc` refuses the copy.
    let mut data = fixture("ufs2-le");
    data[SBLOCK_UFS2..SBLOCK_UFS2 + 1536].copy_from_slice(&sb);
    data[SBLOCK_UFS1..SBLOCK_UFS1 + 1536].fill(0);
    assert_eq!(probe_ufs2(&data), None);
    assert_eq!(
        read(&data).diagnostics[0].message,
        "not a UFS image: the superblock at 0x10000 is refused: `fs_sblockloc` 8192 is not where the superblock is (65536)"
    );
}

#[test]
fn the_carver_finds_ufs_inside_a_disk_image() {
    for (name, padding) in [("ufs1-be", 0x10000), ("ufs2-le", 0x7e00)] {
        let mut disk = vec![0u8; padding];
        disk.extend(fixture(name));
        disk.extend(vec![0xff; 4096]);
        let unpacked = crate::unpack("disk.img", Bytes::from(disk), &Limits::default());
        let motd = format!("disk.img/ufs@{padding:#x}/etc/motd");
        assert!(
            unpacked.vfs.nodes.iter().any(|node| node.path == motd),
            "{name}: {:?}",
            unpacked
                .vfs
                .nodes
                .iter()
                .map(|n| &n.path)
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn superblock_fields_that_do_not_add_up_are_refused() {
    let pristine = fixture("ufs2-le");
    for (at, value, width, why) in [
        (
            48,
            3000,
            4,
            "`fs_bsize` 3000 is not a power of two from 4096 to 65536",
        ),
        (
            48,
            131_072,
            4,
            "`fs_bsize` 131072 is not a power of two from 4096 to 65536",
        ),
        (
            52,
            256,
            4,
            "`fs_fsize` 256 is not a power of two from 512 and an eighth of `fs_bsize` 4096 to it",
        ),
        (
            56,
            4,
            4,
            "`fs_frag` 4 is not `fs_bsize` 4096 over `fs_fsize` 512",
        ),
        (80, 11, 4, "`fs_bshift` 11 is not the shift of 4096"),
        (104, 100, 4, "`fs_sbsize` 100 is not from 1376 to 8192"),
        (
            120,
            32,
            4,
            "`fs_inopb` 32 is not `fs_bsize` 4096 over the 256 bytes of a UFS2 inode",
        ),
        (
            116,
            1024,
            4,
            "`fs_nindir` 1024 is not `fs_bsize` 4096 over the 8 bytes of a UFS2 block address",
        ),
        (44, 0, 4, "`fs_ncg` 0 is zero"),
        (
            188,
            4095,
            4,
            "`fs_fpg` 4095 is not a positive multiple of `fs_frag` 8",
        ),
        (
            184,
            7,
            4,
            "`fs_ipg` 7 is not a positive multiple of `fs_inopb` 16 that numbers `fs_ncg` 3 groups of inodes in 32 bits",
        ),
        (
            184,
            0x8000_0000,
            4,
            "`fs_ipg` 2147483648 is not a positive multiple of `fs_inopb` 16 that numbers `fs_ncg` 3 groups of inodes in 32 bits",
        ),
        (
            160,
            8192,
            4,
            "`fs_cgsize` 8192 is not from 1 to `fs_bsize` 4096",
        ),
        (
            20,
            40,
            4,
            "`fs_sblkno, fs_cblkno, fs_iblkno, fs_dblkno` 32, 48, 56, 40 are not in increasing order",
        ),
        (
            20,
            100,
            4,
            "`fs_dblkno` 100 leaves no room for the 128 fragments of inodes after `fs_iblkno` 56 or is not inside `fs_fpg` 4096",
        ),
        (
            1080,
            1 << 40,
            8,
            "`fs_size` 1099511627776 does not fill `fs_ncg` 3 groups of `fs_fpg` 4096 fragments",
        ),
        (
            1080,
            8192,
            8,
            "`fs_size` 8192 does not fill `fs_ncg` 3 groups of `fs_fpg` 4096 fragments",
        ),
        (
            1320,
            121,
            4,
            "`fs_maxsymlinklen` 121 is not from 0 to the 120 bytes of a UFS2 inode's block pointers",
        ),
    ] {
        let mut data = pristine.clone();
        put(&mut data, (SBLOCK_UFS1 + at) as u64, value, width);
        assert_eq!(probe(&data), None, "{why}");
        let listing = read(&data);
        assert_eq!(listing.entries, Vec::new());
        assert_eq!(
            listing.diagnostics[0].message,
            format!("not a UFS image: the superblock at 0x2000 is refused: {why}")
        );
    }
    // A UFS1 superblock is only ever at 8192.
    let mut data = vec![0u8; SBLOCK_UFS2];
    data.extend_from_slice(&fixture("ufs1-le")[SBLOCK_UFS1..SBLOCK_UFS1 + 2048]);
    assert_eq!(
        read_superblock(&data, SBLOCK_UFS2).unwrap_err(),
        NotUfs::Invalid("a UFS1 superblock at 0x10000: UFS1 keeps it at 0x2000".to_owned())
    );
    assert_eq!(
        read(&vec![0; 1 << 17]).diagnostics[0].message,
        "not a UFS image (no UFS1 or UFS2 `fs_magic` at 0x255c or 0x1055c)"
    );
}

#[test]
fn an_indirect_block_that_names_itself_is_cut() {
    for name in IMAGES {
        let mut data = fixture(name);
        let sb = read_superblock(&data, SBLOCK_UFS1).unwrap();
        let inode = inode_of(&data, "/bin/big");
        let pointer = inode.indirect[0];
        let width = sb.pointer_size();
        put(&mut data, pointer * sb.fsize, pointer, width);
        let listing = read(&data);
        assert_eq!(
            file(&listing, "/bin/big"),
            &big_bytes()[..12 * 4096],
            "{name}"
        );
        assert_eq!(
            cuts(&listing),
            [format!(
                "/bin/big @{:#x}: the rest of the file (truncated): block 12: fragment {pointer} is named twice in the file's block tree (a loop): 49152 of the 216000 bytes read",
                pointer * sb.fsize
            )],
            "{name}"
        );
        assert_eq!(listing.diagnostics.len(), 1);
        // A double indirect block whose first entry is itself.
        let zeros = inode_of(&data, "/usr/share/zeros");
        let double = zeros.indirect[1];
        put(&mut data, double * sb.fsize, double, width);
        let listing = read(&data);
        let base = 12 + sb.nindir;
        assert_eq!(
            file(&listing, "/usr/share/zeros"),
            &zeros_bytes()[..(base * 4096) as usize],
            "{name}"
        );
        assert_eq!(
            cuts(&listing)[0],
            format!(
                "/usr/share/zeros @{:#x}: the rest of the file (truncated): the indirect block of block {base}: fragment {double} is named twice in the file's block tree (a loop): {} of the 4718656 bytes read",
                double * sb.fsize,
                base * 4096
            ),
            "{name}"
        );
    }
}

#[test]
fn cross_linked_blocks_are_refused() {
    let mut data = fixture("ufs1-le");
    let motd = inode_of(&data, "/etc/motd");
    let zeros = inode_of(&data, "/usr/share/zeros");
    // `/etc` is read before `/usr`: its `motd` holds the fragment `zeros` then reaches.
    put(&mut data, zeros.offset + 40, motd.direct[0], 4);
    let listing = read(&data);
    assert_eq!(file(&listing, "/etc/motd"), b"hello from consign\n");
    assert_eq!(file(&listing, "/usr/share/zeros"), b"");
    assert_eq!(
        cuts(&listing),
        [format!(
            "/usr/share/zeros @{:#x}: the rest of the file (refused): block 0: fragment {} is held by another file or directory (cross-linked blocks are refused): 0 of the 4718656 bytes read",
            zeros.offset + 40,
            motd.direct[0]
        )]
    );
    // An indirect block that is another file's data is refused the same way (`/bin` is read
    // after `/usr`).
    let mut data = fixture("ufs2-be");
    let big = inode_of(&data, "/bin/big");
    let zeros = inode_of(&data, "/usr/share/zeros");
    put(&mut data, big.offset + 208, zeros.direct[1], 8);
    let listing = read(&data);
    assert_eq!(file(&listing, "/usr/share/zeros"), zeros_bytes());
    assert_eq!(file(&listing, "/bin/big"), &big_bytes()[..12 * 4096]);
    assert_eq!(
        cuts(&listing),
        [format!(
            "/bin/big @{:#x}: the rest of the file (refused): the indirect block of block 12: fragment {} is held by another file or directory (cross-linked blocks are refused): 49152 of the 216000 bytes read",
            big.offset + 208,
            zeros.direct[1]
        )]
    );
}

#[test]
fn a_directory_that_contains_itself_is_not_entered_again() {
    for name in IMAGES {
        let mut data = fixture(name);
        let reader = reader(&data);
        let budget = Budget::new(Limits::default());
        let entries = read_dir(
            &reader,
            lookup(&data, "/usr/share/deep/er"),
            &budget,
            &mut reader.claimed(),
            "",
            &mut FsListing::default(),
        )
        .unwrap();
        let still = entries.iter().find(|entry| entry.0 == "still").unwrap().2;
        let usr = lookup(&data, "/usr");
        put(&mut data, still, u64::from(usr), 4);
        let listing = read(&data);
        assert_eq!(
            cuts(&listing),
            [format!(
                "/usr/share/deep/er/still @{still:#x}: the directory's entries (duplicate): directory inode {usr} was already read as `/usr` (a loop); not entered again"
            )],
            "{name}"
        );
        let tree = render(&listing);
        assert!(tree.contains("/usr/share/deep/er/still 755 dir\n"));
        assert!(!tree.contains("deep.txt"));
    }
}

#[test]
fn holes_read_as_zeros_and_count_against_the_ratio() {
    let mut data = fixture("ufs1-be");
    let inode = inode_of(&data, "/bin/big");
    put(&mut data, inode.offset + 40 + 3 * 4, 0, 4);
    let listing = read(&data);
    let mut want = big_bytes();
    want[3 * 4096..4 * 4096].fill(0);
    assert_eq!(file(&listing, "/bin/big"), want);
    assert_eq!(listing.diagnostics, Vec::new());
    // A terabyte of holes is refused by the expansion ratio, without allocating it.
    put(&mut data, inode.offset + 8, 1 << 40, 8);
    let listing = read(&data);
    assert_eq!(file(&listing, "/bin/big"), b"");
    assert_eq!(listing.cuts[0].reason, CutReason::RatioLimit);
    assert!(
        listing.diagnostics[0]
            .message
            .contains("the file has 1099511627776 bytes, 212992 of them stored"),
        "{:?}",
        listing.diagnostics
    );
    // A size past what an inode addresses.
    put(&mut data, inode.offset + 8, u64::MAX, 8);
    let listing = read(&data);
    assert_eq!(file(&listing, "/bin/big"), b"");
    assert_eq!(listing.cuts.len(), 1, "{:?}", listing.diagnostics);
    assert!(
        listing.diagnostics[0]
            .message
            .contains("the file has 18446744073709551615 bytes, 212992 of them stored")
    );
    let reader = reader(&data);
    let map = reader.block_map(
        &reader.inode(lookup(&data, "/bin/big")).unwrap(),
        &mut reader.claimed(),
    );
    assert_eq!(
        map.problem.unwrap().why,
        "the file's size 18446744073709551615 needs more than the 1074791436 blocks an inode addresses"
    );
    assert_eq!(map.len, 1_074_791_436 * 4096);
}

#[test]
fn a_triple_indirect_block_is_followed() {
    // No fixture file is a gigabyte long: four blocks added at the end of a UFS2 image (its
    // `fs_size` grown to hold them, still inside its last cylinder group) become a triple, a
    // double and a single indirect block and a data block at logical block 12 + 512 + 512²,
    // past the double indirect ones.
    let mut data = fixture("ufs2-le");
    let sb = read_superblock(&data, SBLOCK_UFS1).unwrap();
    let last: Vec<u64> = (0..4).map(|n| sb.size + n * sb.frag).collect();
    put(
        &mut data,
        (SBLOCK_UFS1 + 1080) as u64,
        sb.size + 4 * sb.frag,
        8,
    );
    data.resize(data.len() + 4 * 4096, 0);
    let inode = inode_of(&data, "/usr/share/zeros");
    let lbn = 12 + 512 + 512 * 512;
    put(&mut data, inode.offset + 16, (lbn + 1) * 4096, 8);
    put(&mut data, inode.offset + 208 + 16, last[0], 8);
    put(&mut data, last[0] * sb.fsize, last[1], 8);
    put(&mut data, last[1] * sb.fsize, last[2], 8);
    put(&mut data, last[2] * sb.fsize, last[3], 8);
    data[(last[3] * sb.fsize) as usize..][..6].copy_from_slice(b"triple");
    let reader = reader(&data);
    let inode = reader.inode(lookup(&data, "/usr/share/zeros")).unwrap();
    let map = reader.block_map(&inode, &mut reader.claimed());
    assert!(map.problem.is_none(), "{:?}", map.problem);
    assert_eq!(map.blocks.last(), Some(&(lbn, last[3], 4096)));
    assert_eq!(map.len, (lbn + 1) * 4096);
}

#[test]
fn bad_directory_records_skip_their_chunk() {
    let mut data = fixture("ufs2-le");
    let reader = reader(&data);
    let budget = Budget::new(Limits::default());
    let entries = read_dir(
        &reader,
        lookup(&data, "/etc"),
        &budget,
        &mut reader.claimed(),
        "",
        &mut FsListing::default(),
    )
    .unwrap();
    let motd = entries.iter().find(|entry| entry.0 == "motd").unwrap().2;
    let fifo = entries.iter().find(|entry| entry.0 == "fifo").unwrap().2;
    // A name with a slash is skipped alone; a record length of 2 ends the chunk.
    data[(motd + 8) as usize] = b'/';
    let listing = read(&data);
    assert!(!render(&listing).contains("/etc/motd 644"));
    assert!(render(&listing).contains("/etc/motd.hard 644 file 19"));
    assert_eq!(
        listing.diagnostics[0].message,
        "a record names \"/otd\", with `/` or NUL in it; skipped"
    );
    put(&mut data, fifo + 4, 2, 2);
    let listing = read(&data);
    assert!(!render(&listing).contains("/etc/fifo"));
    assert!(
        listing.diagnostics[0]
            .message
            .starts_with("directory record length `d_reclen` 2 at byte"),
        "{:?}",
        listing.diagnostics
    );
}

#[test]
fn truncated_and_damaged_images_never_panic() {
    for name in IMAGES {
        let data = fixture(name);
        let len = data.len();
        mangle(
            &data,
            parse,
            &[
                0,
                9000,
                9564,
                9600,
                20_000,
                30_000,
                60_000,
                200_000,
                len / 2,
                len - 1,
            ],
        );
        // Flips over the superblock, the first cylinder group, its inodes and the first
        // directories, with a small file bound so that each parse is quick.
        let limits = Limits {
            max_file_bytes: 64 << 10,
            ..Limits::default()
        };
        flip_each(
            name,
            &data,
            (SBLOCK_UFS1..120_000).step_by(29),
            parse,
            limits,
            std::time::Duration::from_mins(2),
        );
    }
}

#[test]
fn limits_are_diagnosed() {
    let data = fixture("ufs1-le");
    crate::fs::test_support::limits_are_diagnosed(&data, parse, "/bin/big", 5000, 2);
}

#[test]
fn the_fuzzers_seeds_are_read_whole() {
    // `fuzz/seeds/fs_ufs/`: small images as makefs writes them, one with its superblock moved to
    // 65536; a seed the reader refuses would waste the fuzzer's time.
    for name in ["ufs1-le", "ufs2-be", "ufs2-sb65536"] {
        let data = std::fs::read(repo().join(format!("fuzz/seeds/fs_ufs/{name}.img"))).unwrap();
        let listing = read(&data);
        assert_eq!(listing.diagnostics, Vec::new(), "{name}");
        assert_eq!(file(&listing, "/etc/motd"), b"hello\n", "{name}");
    }
}

#[test]
fn soft_updates_and_their_journal_change_nothing_read() {
    // `fs_flags` of an image with soft updates and their journal (SU+J), as `tunefs -j enable`
    // leaves it: the description says so and the tree reads as it stands.
    let mut data = fixture("ufs2-be");
    put(
        &mut data,
        (SBLOCK_UFS1 + 1312) as u64,
        u64::from(FS_DOSOFTDEP | FS_SUJ),
        4,
    );
    assert!(
        probe(&data)
            .unwrap()
            .description
            .ends_with(", soft updates, soft updates journal, superblock at 8192")
    );
    let listing = read(&data);
    assert_eq!(listing.diagnostics, Vec::new());
    assert_eq!(render(&listing), TREE.replace("LONG", LONG_TARGET));
}

#[test]
fn the_4_2bsd_directory_format_of_old_ufs1_images() {
    // UFS1 images older than 4.4BSD (`fs_old_inodefmt` -1) have a 16-bit name length where later
    // ones have the type and an 8-bit length, and no symlinks in the inode. Every directory
    // record of the little-endian UFS1 image rewritten that way reads to the same names.
    let pristine = fixture("ufs1-le");
    let mut data = pristine.clone();
    let listing = read(&pristine);
    let reader = reader(&pristine);
    let dirs = std::iter::once("/".to_owned()).chain(
        listing
            .entries
            .iter()
            .filter(|entry| entry.kind == NodeKind::Dir)
            .map(|entry| entry.path.clone()),
    );
    for dir in dirs {
        let number = if dir == "/" {
            ROOT_INODE
        } else {
            lookup(&pristine, &dir)
        };
        let inode = reader.inode(number).unwrap();
        let map = reader.block_map(&inode, &mut reader.claimed());
        for &(_, fragment, want) in &map.blocks {
            let start = (fragment * 512) as usize;
            for chunk in (start..start + want as usize).step_by(DIRBLKSIZ) {
                let mut off = chunk;
                while off < chunk + DIRBLKSIZ {
                    let reclen = usize::from(u16le(&data, off + 4).unwrap());
                    let namlen = data[off + 7];
                    data[off + 6..off + 8].copy_from_slice(&u16::from(namlen).to_le_bytes());
                    off += reclen;
                }
            }
        }
    }
    put(
        &mut data,
        (SBLOCK_UFS1 + 1324) as u64,
        u64::from(u32::MAX),
        4,
    );
    let old = read(&data);
    let paths = |listing: &FsListing| -> Vec<String> {
        listing
            .entries
            .iter()
            .map(|entry| entry.path.clone())
            .collect()
    };
    assert_eq!(paths(&old), paths(&listing));
    assert_eq!(file(&old, "/bin/big"), big_bytes());
    // The short symlink kept in the inode is read as block pointers, as a 4.2BSD kernel would.
    assert_eq!(old.diagnostics.len(), 1, "{:#?}", old.diagnostics);
    assert_eq!(old.diagnostics[0].location, "/bin/motd-link");
}
