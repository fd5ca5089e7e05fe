//! cramfs: the compressed read-only filesystem of older embedded Linux, in either byte order.
//!
//! Layout: a 64-byte superblock (magic `0x28cd3d45`, size, flags, `Compressed ROMFS`, fsid), then
//! 12-byte inodes packed as bitfields (`mode:16 uid:16`, `size:24 gid:8`, `namelen:6 offset:26`,
//! little-endian bit order on little-endian images and big-endian bit order on big-endian ones).
//! A directory's `offset` points to its entries; a file's to an array of block end pointers, each
//! block a zlib stream of at most 4 KiB (holes are empty blocks). Symlinks store their target the
//! same way; device nodes store the device number in `size`.
//!
//! Supported: both byte orders, holes, the uncompressed-block flag of the extended block pointer
//! format. Not supported (reported per file): direct block pointers (`CRAMFS_FLAG_EXT_BLOCK_POINTERS`
//! with bit 30), which only the kernel's XIP images use. CRCs are not verified.

use std::collections::HashSet;

use bytes::Bytes;
use consign_model::{Diagnostic, NodeKind};

use super::{FsEntry, FsListing, Probe};
use crate::Budget;
use crate::binary::Endian;
use crate::decompress::{Codec, decompress};
use crate::error::ReadError;

const MAGIC: u32 = 0x28cd_3d45;
const SIGNATURE: &[u8; 16] = b"Compressed ROMFS";
const PAGE: u64 = 4096;
const FLAG_EXT_BLOCK_POINTERS: u32 = 0x800;
const S_IFMT: u16 = 0o170_000;

/// One inode with its name.
struct Inode {
    mode: u16,
    size: u32,
    name_len: usize,
    offset: usize,
}

fn inode_at(data: &[u8], off: usize, endian: Endian) -> Option<Inode> {
    let (w0, w1, w2) = (
        endian.u32(data, off)?,
        endian.u32(data, off + 4)?,
        endian.u32(data, off + 8)?,
    );
    Some(match endian {
        Endian::Little => Inode {
            mode: (w0 & 0xffff) as u16,
            size: w1 & 0x00ff_ffff,
            name_len: ((w2 & 0x3f) * 4) as usize,
            offset: ((w2 >> 6) * 4) as usize,
        },
        Endian::Big => Inode {
            mode: (w0 >> 16) as u16,
            size: w1 >> 8,
            name_len: ((w2 >> 26) * 4) as usize,
            offset: ((w2 & 0x03ff_ffff) * 4) as usize,
        },
    })
}

fn endian_of(data: &[u8]) -> Option<Endian> {
    let bytes: [u8; 4] = data.get(..4)?.try_into().ok()?;
    if u32::from_le_bytes(bytes) == MAGIC {
        Some(Endian::Little)
    } else if u32::from_be_bytes(bytes) == MAGIC {
        Some(Endian::Big)
    } else {
        None
    }
}

/// Checks the cramfs superblock at the start of `data`.
pub fn probe(data: &[u8]) -> Option<Probe> {
    let endian = endian_of(data)?;
    if data.get(16..32)? != SIGNATURE {
        return None;
    }
    let size = endian.u32(data, 4)?;
    let files = endian.u32(data, 44)?;
    Some(Probe {
        format: "cramfs",
        size: (size >= 76).then_some(u64::from(size)),
        description: format!(
            "cramfs, {}, {files} files, {size} bytes",
            if endian == Endian::Little {
                "little-endian"
            } else {
                "big-endian"
            }
        ),
    })
}

/// Parses a cramfs image at the start of `data`.
pub fn parse(data: &[u8], budget: &Budget) -> FsListing {
    let mut listing = FsListing::default();
    let (Some(probe), Some(endian)) = (probe(data), endian_of(data)) else {
        listing.diagnostics.push(
            Diagnostic::warning(
                "",
                "not a cramfs image (no magic `0x28cd3d45` and `Compressed ROMFS` signature)",
            )
            .at(0),
        );
        return listing;
    };
    listing.size = probe.size;
    listing.note_truncation(probe.size.unwrap_or_default(), data.len());
    let flags = endian.u32(data, 8).unwrap_or_default();
    let Some(root) = inode_at(data, 64, endian) else {
        return listing;
    };
    let mut visited = HashSet::new();
    // (directory path, entries offset, entries size)
    let mut stack = vec![(String::new(), root.offset, root.size as usize)];
    while let Some((dir, start, size)) = stack.pop() {
        if !visited.insert(start) {
            listing.cut_loop(
                &dir,
                Some(start as u64),
                &format!("the directory at byte {start} was already read"),
            );
            continue;
        }
        let mut subdirs = Vec::new();
        let end = start.saturating_add(size);
        let mut off = start;
        while off < end {
            let Some(inode) = inode_at(data, off, endian) else {
                listing.diagnostics.push(
                    Diagnostic::warning(
                        dir.clone(),
                        "directory entry lies past the end of the image",
                    )
                    .at(off as u64),
                );
                break;
            };
            let Some(raw_name) = data.get(off + 12..off + 12 + inode.name_len) else {
                listing.diagnostics.push(
                    Diagnostic::warning(dir.clone(), "entry name lies past the end of the image")
                        .at(off as u64),
                );
                break;
            };
            let header = off;
            off += 12 + inode.name_len;
            if inode.name_len == 0 {
                listing.diagnostics.push(
                    Diagnostic::warning(
                        dir.clone(),
                        "entry has an empty name; the rest of this directory is skipped",
                    )
                    .at(header as u64),
                );
                break;
            }
            let name_end = raw_name
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(raw_name.len());
            let path = format!("{dir}/{}", String::from_utf8_lossy(&raw_name[..name_end]));
            if let Err(limit) = budget.take_entry_with(path.len() as u64) {
                listing.cut_rest(path, limit);
                return listing;
            }
            let mode = Some(u32::from(inode.mode & 0o7777));
            let kind = match inode.mode & S_IFMT {
                0o040_000 => {
                    if inode.offset != 0 && inode.size != 0 {
                        subdirs.push((path.clone(), inode.offset, inode.size as usize));
                    }
                    NodeKind::Dir
                }
                0o100_000 | 0o120_000 => {
                    let is_link = inode.mode & S_IFMT == 0o120_000;
                    let size = u64::from(inode.size);
                    let bytes = match budget
                        .reserve_expansion(size, stored_len(data, endian, flags, &inode))
                    {
                        Err(limit) => {
                            listing.cut(
                                Diagnostic::warning(
                                    path.clone(),
                                    format!(
                                        "{limit}: the file has {size} bytes; listed without contents"
                                    ),
                                )
                                .at(inode.offset as u64)
                                .with_hint(limit.hint()),
                                "the file's contents",
                                limit.into(),
                            );
                            Vec::new()
                        }
                        Ok(reservation) => {
                            let bytes = read_file(data, endian, flags, &inode).unwrap_or_else(
                                |(partial, err)| {
                                    listing.diagnostics.push(
                                        Diagnostic::warning(
                                            path.clone(),
                                            format!("{err}; damaged blocks zero-filled"),
                                        )
                                        .at(inode.offset as u64),
                                    );
                                    partial
                                },
                            );
                            reservation.commit(bytes.len() as u64);
                            bytes
                        }
                    };
                    if is_link {
                        NodeKind::Symlink {
                            target: String::from_utf8_lossy(&bytes).into_owned(),
                        }
                    } else {
                        NodeKind::File {
                            data: Bytes::from(bytes),
                        }
                    }
                }
                special @ (super::CHAR_DEVICE
                | super::BLOCK_DEVICE
                | super::FIFO
                | super::SOCKET) => super::special_node(special),
                other => {
                    listing.diagnostics.push(
                        Diagnostic::warning(
                            path,
                            format!("mode {other:#o} is not a known file type"),
                        )
                        .at(header as u64),
                    );
                    continue;
                }
            };
            // cramfs records no times.
            listing.entries.push(FsEntry {
                path,
                kind,
                mode,
                mtime: None,
            });
        }
        stack.extend(subdirs.into_iter().rev());
    }
    listing
}

/// How many bytes of the image a file's blocks take (its pointer table and its blocks, holes
/// taking none), for the expansion ratio.
fn stored_len(data: &[u8], endian: Endian, flags: u32, inode: &Inode) -> u64 {
    let n_blocks = u64::from(inode.size).div_ceil(PAGE) as usize;
    let table = n_blocks as u64 * 4;
    let last = n_blocks
        .checked_sub(1)
        .and_then(|last| endian.u32(data, inode.offset + last * 4));
    let end = match last {
        Some(pointer) if flags & FLAG_EXT_BLOCK_POINTERS != 0 => (pointer & 0x3fff_ffff) as u64,
        Some(pointer) => u64::from(pointer),
        None => 0,
    };
    end.saturating_sub(inode.offset as u64).max(table)
}

/// Reads a file's blocks. On failure returns what was read (damaged blocks zero-filled) and why.
fn read_file(
    data: &[u8],
    endian: Endian,
    flags: u32,
    inode: &Inode,
) -> Result<Vec<u8>, (Vec<u8>, ReadError)> {
    let size = u64::from(inode.size);
    if size == 0 {
        return Ok(Vec::new());
    }
    let n_blocks = size.div_ceil(PAGE) as usize;
    let pointers = inode.offset;
    let mut block_start = pointers + n_blocks * 4;
    let mut out = Vec::with_capacity(size as usize);
    let mut first_err = None;
    for idx in 0..n_blocks {
        let expected = (size - idx as u64 * PAGE).min(PAGE) as usize;
        let Some(pointer) = endian.u32(data, pointers + idx * 4) else {
            first_err.get_or_insert(ReadError::PastEnd {
                what: format!("block pointer {idx}"),
                offset: (pointers + idx * 4) as u64,
            });
            out.resize(out.len() + expected, 0);
            continue;
        };
        let (uncompressed, block_end) = if flags & FLAG_EXT_BLOCK_POINTERS != 0 {
            if pointer & (1 << 30) != 0 {
                first_err.get_or_insert(ReadError::Unsupported(
                    "direct block pointers (XIP cramfs)".to_owned(),
                ));
                out.resize(out.len() + expected, 0);
                continue;
            }
            (pointer & (1 << 31) != 0, (pointer & 0x3fff_ffff) as usize)
        } else {
            (false, pointer as usize)
        };
        let res = if block_end == block_start {
            Ok(vec![0; expected])
        } else {
            match data.get(block_start..block_end) {
                None => Err(ReadError::PastEnd {
                    what: format!("block {idx} (to {block_end:#x})"),
                    offset: block_start as u64,
                }),
                Some(raw) if uncompressed => Ok(raw.get(..expected).unwrap_or(raw).to_vec()),
                Some(raw) => decompress(Codec::Zlib, raw, expected as u64)
                    .map(|out| out.data)
                    .map_err(|err| {
                        ReadError::decode(&err).at(format!("block {idx} at {block_start:#x}"))
                    }),
            }
        };
        match res {
            Ok(bytes) if bytes.len() == expected => out.extend_from_slice(&bytes),
            Ok(bytes) => {
                first_err.get_or_insert(
                    ReadError::Size {
                        what: "block",
                        expected: expected as u64,
                        found: bytes.len() as u64,
                    }
                    .at(format!("block {idx}")),
                );
                out.extend_from_slice(&bytes);
                out.resize(out.len() - bytes.len() + expected, 0);
            }
            Err(err) => {
                first_err.get_or_insert(err);
                out.resize(out.len() + expected, 0);
            }
        }
        if block_end > block_start {
            block_start = block_end;
        }
    }
    match first_err {
        None => Ok(out),
        Some(err) => Err((out, err)),
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::Limits;
    use crate::fs::test_support::{big_file, file, mangle, render, repo};

    const TREE: &str = "\
/bin 755 dir
/empty-dir 755 dir
/etc 755 dir
/bin/big 755 file 10400
/bin/motd-link 777 symlink -> ../etc/motd
/etc/empty 644 file 0
/etc/fifo 600 fifo
/etc/init.d 755 dir
/etc/motd 644 file 19
/etc/init.d/rcS 755 file 21
";

    #[test]
    fn fixtures_in_both_byte_orders() {
        for (name, order) in [
            ("cramfs-le.img", "little-endian"),
            ("cramfs-be.img", "big-endian"),
        ] {
            let data = std::fs::read(repo().join("fixtures/unpack/cramfs").join(name)).unwrap();
            assert_eq!(
                probe(&data).unwrap().description,
                format!("cramfs, {order}, 11 files, 4096 bytes")
            );
            let listing = parse(&data, &Budget::new(Limits::default()));
            assert_eq!(listing.diagnostics, Vec::new(), "{name}");
            assert_eq!(render(&listing), TREE, "{name}");
            assert_eq!(file(&listing, "/bin/big"), big_file(), "{name}");
            assert_eq!(
                file(&listing, "/etc/init.d/rcS"),
                b"#!/bin/sh\necho start\n"
            );
            mangle(&data, parse, &[0, 8, 40, 64, 100, 1000]);
        }
    }

    #[test]
    fn binwalk_sample() {
        let data = std::fs::read(repo().join("../shared/samples/binwalk-cramfs.bin")).unwrap();
        let listing = parse(&data, &Budget::new(Limits::default()));
        assert_eq!(listing.diagnostics, Vec::new());
        assert_eq!(render(&listing), "/lsb-release 644 file 104\n");
        assert!(file(&listing, "/lsb-release").starts_with(b"DISTRIB_ID=Ubuntu\n"));
        mangle(&data, parse, &[0, 8, 40, 64, 100]);
    }

    #[test]
    fn damaged_block_is_reported() {
        let mut data = std::fs::read(repo().join("fixtures/unpack/cramfs/cramfs-le.img")).unwrap();
        let listing = parse(&data, &Budget::new(Limits::default()));
        let big = listing
            .entries
            .iter()
            .position(|e| e.path == "/bin/big")
            .unwrap();
        let _ = big;
        // Overwrite the middle of the compressed data with garbage.
        let start = data
            .windows(2)
            .position(|w| w == [0x78, 0xda] || w == [0x78, 0x9c])
            .unwrap();
        data[start..start + 8].fill(0xff);
        let listing = parse(&data, &Budget::new(Limits::default()));
        assert!(!listing.diagnostics.is_empty());
        assert!(
            listing.diagnostics[0].message.contains("zero-filled"),
            "{:?}",
            listing.diagnostics
        );
        assert_eq!(listing.entries.len(), 10);
    }
}
