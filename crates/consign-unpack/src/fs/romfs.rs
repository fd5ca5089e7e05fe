//! romfs: the tiny uncompressed read-only filesystem of `genromfs`, used in uClinux and boot ROMs.
//!
//! Layout (all big-endian): a superblock `-rom1fs-`, the full size, a checksum and a volume name,
//! then 16-byte aligned file headers `next | type`, `spec_info`, `size`, `checksum`, name, data.
//! romfs records only the execute bit, so modes are synthesised: `0o755` for directories and
//! executables, `0o644` for other files, `0o777` for symlinks. The superblock checksum is checked
//! (a mismatch is a diagnostic); file checksums are not (the contents are returned either way). Hard links (type 0) are emitted as [`NodeKind::Hardlink`]
//! naming the path of the header they point to, when that path is known.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use consign_model::{Diagnostic, NodeKind};

use super::{FsEntry, FsListing, Probe};
use crate::Budget;
use crate::binary::u32be;
use crate::error::ReadError;

const MAGIC: &[u8; 8] = b"-rom1fs-";
/// How deep directories may nest before the walk stops.
const MAX_DEPTH: usize = 512;

/// Reads a NUL-terminated name at `off`; returns it and the 16-aligned offset after it.
fn name_at(data: &[u8], off: usize) -> Option<(String, usize)> {
    let rest = data.get(off..)?;
    let len = rest.iter().take(4096).position(|&b| b == 0)?;
    let name = String::from_utf8_lossy(rest.get(..len)?).into_owned();
    Some((name, (off + len + 1).next_multiple_of(16)))
}

/// Checks the romfs superblock at the start of `data`.
pub fn probe(data: &[u8]) -> Option<Probe> {
    if data.get(..8)? != MAGIC {
        return None;
    }
    let size = u32be(data, 8)?;
    if size < 32 {
        return None;
    }
    let (volume, first) = name_at(data, 16)?;
    // The magic alone is not enough: programs that look for romfs (BusyBox among them) carry the
    // string `-rom1fs-` too. A real image has a valid checksum or, when damaged there, the root's
    // `.` directory as its first file header.
    if !checksum_ok(data, size) && !root_is_plausible(data, first) {
        return None;
    }
    Some(Probe {
        format: "romfs",
        size: Some(u64::from(size)),
        description: format!("romfs, volume {volume:?}, {size} bytes"),
    })
}

/// The superblock checksum: the big-endian words of the first 512 bytes (or of the whole image,
/// when smaller) sum to zero, as the kernel checks at mount.
fn checksum_ok(data: &[u8], size: u32) -> bool {
    let len = usize::try_from(size).unwrap_or(usize::MAX).min(512) & !3;
    let Some(head) = data.get(..len) else {
        return false;
    };
    head.chunks_exact(4)
        .map(|word| u32::from_be_bytes([word[0], word[1], word[2], word[3]]))
        .fold(0u32, u32::wrapping_add)
        == 0
}

/// Whether the first file header is a directory named `.`, as genromfs writes every image.
fn root_is_plausible(data: &[u8], first: usize) -> bool {
    u32be(data, first).is_some_and(|next| next & 7 == 1)
        && name_at(data, first + 16).is_some_and(|(name, _)| name == ".")
}

/// Parses a romfs image at the start of `data`.
pub fn parse(data: &[u8], budget: &Budget) -> FsListing {
    let mut listing = FsListing::default();
    let Some(probe) = probe(data) else {
        listing
            .diagnostics
            .push(Diagnostic::warning("", "not a romfs image (no `-rom1fs-` superblock)").at(0));
        return listing;
    };
    listing.size = probe.size;
    listing.note_truncation(probe.size.unwrap_or_default(), data.len());
    if !checksum_ok(data, probe.size.map_or(0, |size| size as u32)) {
        listing.diagnostics.push(
            Diagnostic::warning(
                "",
                "superblock checksum does not match: the first 512 bytes are damaged; reading on",
            )
            .at(0),
        );
    }
    let Some((_, first)) = name_at(data, 16) else {
        return listing;
    };
    let mut visited = HashSet::new();
    let mut paths: HashMap<usize, String> = HashMap::new();
    let mut pending_links = Vec::new();
    // (directory path, first header offset, depth)
    let mut stack = vec![(String::new(), first, 0usize)];
    while let Some((dir, mut off, depth)) = stack.pop() {
        let mut subdirs = Vec::new();
        while off != 0 {
            if !visited.insert(off) {
                listing.diagnostics.push(
                    Diagnostic::warning(
                        dir.clone(),
                        "file header reached twice (a loop); the rest of this directory is skipped",
                    )
                    .at(off as u64),
                );
                break;
            }
            let (Some(next), Some(spec), Some(size)) =
                (u32be(data, off), u32be(data, off + 4), u32be(data, off + 8))
            else {
                listing.diagnostics.push(
                    Diagnostic::warning(dir.clone(), "file header lies past the end of the image")
                        .at(off as u64),
                );
                break;
            };
            let Some((name, data_off)) = name_at(data, off + 16) else {
                listing.diagnostics.push(
                    Diagnostic::warning(dir.clone(), "file name is not terminated").at(off as u64),
                );
                break;
            };
            let header = off;
            off = (next & !15) as usize;
            if name == "." || name == ".." {
                continue;
            }
            let path = format!("{dir}/{name}");
            if let Err(limit) = budget.take_entry_with(path.len() as u64) {
                listing.cut_rest(path, limit);
                return listing;
            }
            let exec = next & 8 != 0;
            let contents = || {
                data.get(data_off..data_off.saturating_add(size as usize))
                    .ok_or_else(|| ReadError::PastEnd {
                        what: format!("contents of {size} bytes"),
                        offset: data_off as u64,
                    })
            };
            let (kind, mode) = match next & 7 {
                0 => {
                    pending_links.push((listing.entries.len(), spec as usize & !15));
                    (
                        NodeKind::Hardlink {
                            target: String::new(),
                        },
                        None,
                    )
                }
                1 => {
                    if depth + 1 > MAX_DEPTH {
                        listing.cut_too_deep(&path, Some(header as u64), MAX_DEPTH);
                    } else {
                        subdirs.push((path.clone(), spec as usize & !15, depth + 1));
                    }
                    (NodeKind::Dir, Some(0o755))
                }
                2 => {
                    let bytes = match budget.reserve(u64::from(size)) {
                        Err(limit) => {
                            listing.cut(
                                Diagnostic::warning(
                                    path.clone(),
                                    format!(
                                        "{limit}: the file has {size} bytes; listed without contents"
                                    ),
                                )
                                .at(header as u64)
                                .with_hint(limit.hint()),
                                "the file's contents",
                                limit.into(),
                            );
                            Bytes::new()
                        }
                        Ok(reservation) => match contents() {
                            Ok(bytes) => {
                                reservation.commit(bytes.len() as u64);
                                Bytes::copy_from_slice(bytes)
                            }
                            Err(err) => {
                                listing.diagnostics.push(
                                    Diagnostic::warning(
                                        path.clone(),
                                        format!("{err}; listed without contents"),
                                    )
                                    .at(header as u64),
                                );
                                Bytes::new()
                            }
                        },
                    };
                    (
                        NodeKind::File { data: bytes },
                        Some(if exec { 0o755 } else { 0o644 }),
                    )
                }
                3 => match contents() {
                    Ok(target) => (
                        NodeKind::Symlink {
                            target: String::from_utf8_lossy(target).into_owned(),
                        },
                        Some(0o777),
                    ),
                    Err(err) => {
                        listing.diagnostics.push(
                            Diagnostic::warning(path.clone(), format!("symlink target: {err}"))
                                .at(header as u64),
                        );
                        continue;
                    }
                },
                4 => (
                    NodeKind::Special {
                        what: "block-device".to_owned(),
                    },
                    Some(0o600),
                ),
                5 => (
                    NodeKind::Special {
                        what: "char-device".to_owned(),
                    },
                    Some(0o600),
                ),
                6 => (
                    NodeKind::Special {
                        what: "socket".to_owned(),
                    },
                    Some(0o600),
                ),
                _ => (
                    NodeKind::Special {
                        what: "fifo".to_owned(),
                    },
                    Some(0o600),
                ),
            };
            paths.insert(header, path.clone());
            // romfs records no times.
            listing.entries.push(FsEntry {
                path,
                kind,
                mode,
                mtime: None,
            });
        }
        stack.extend(subdirs.into_iter().rev());
    }
    for (entry_idx, target_off) in pending_links {
        let target = paths.get(&target_off).cloned();
        if let Some(entry) = listing.entries.get_mut(entry_idx) {
            if let Some(target) = target {
                entry.kind = NodeKind::Hardlink { target };
            } else {
                listing.diagnostics.push(
                    Diagnostic::warning(
                        entry.path.clone(),
                        format!(
                            "hard link points to header {target_off:#x}, which is not a listed file"
                        ),
                    )
                    .at(target_off as u64),
                );
                entry.kind = NodeKind::Special {
                    what: "broken-hardlink".to_owned(),
                };
            }
        }
    }
    listing
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::Limits;
    use crate::fs::test_support::{big_file, file, mangle, render, repo};

    #[test]
    fn fixture_tree() {
        let data = std::fs::read(repo().join("fixtures/unpack/romfs/romfs.img")).unwrap();
        assert_eq!(
            probe(&data).unwrap().description,
            "romfs, volume \"consign\", 11184 bytes"
        );
        let listing = parse(&data, &Budget::new(Limits::default()));
        assert_eq!(listing.diagnostics, Vec::new());
        assert_eq!(
            render(&listing),
            "\
/etc 755 dir
/empty-dir 755 dir
/bin 755 dir
/etc/fifo 600 fifo
/etc/motd 644 file 19
/etc/motd.hard  hardlink -> /etc/motd
/etc/init.d 755 dir
/etc/empty 644 file 0
/etc/init.d/rcS 755 file 21
/bin/motd-link 777 symlink -> ../etc/motd
/bin/big 755 file 10400
"
        );
        assert_eq!(file(&listing, "/bin/big"), big_file());
        assert_eq!(file(&listing, "/etc/motd"), b"hello from consign\n");
        mangle(&data, parse, &[0, 8, 20, 40, 100, 5000, 11183]);
    }

    #[test]
    fn binwalk_sample() {
        let data = std::fs::read(repo().join("../shared/samples/binwalk-romfs.bin")).unwrap();
        let listing = parse(&data, &Budget::new(Limits::default()));
        assert_eq!(listing.diagnostics, Vec::new());
        assert_eq!(render(&listing), "/lsb-release 644 file 104\n");
        assert!(file(&listing, "/lsb-release").starts_with(b"DISTRIB_ID=Ubuntu\n"));
        mangle(&data, parse, &[0, 8, 40, 100]);
    }

    #[test]
    fn header_loop_is_cut() {
        let mut data = std::fs::read(repo().join("../shared/samples/binwalk-romfs.bin")).unwrap();
        // The root directory's `.` entry sits at 0x20 and names 0x40 next; make 0x40 point back.
        data[0x40..0x44].copy_from_slice(&0x29u32.to_be_bytes());
        let listing = parse(&data, &Budget::new(Limits::default()));
        assert!(
            listing
                .diagnostics
                .iter()
                .any(|d| d.message.contains("loop")),
            "{:?}",
            listing.diagnostics
        );
        assert_eq!(probe(b"-rom1fs-"), None);
    }

    #[test]
    fn the_magic_inside_a_program_is_not_an_image() {
        // BusyBox's volume_id code carries the magic followed by unrelated strings.
        let mut data = b"-rom1fs-\x00\x00\x10\x00romfs\x00squashfs\x00cramfs\x00".to_vec();
        data.resize(4096, b'x');
        assert_eq!(probe(&data), None);
    }

    #[test]
    fn a_damaged_superblock_is_still_read() {
        let mut data = std::fs::read(repo().join("fixtures/unpack/romfs/romfs.img")).unwrap();
        data[17] ^= 0x20; // the volume name: checksum broken, the tree intact
        assert!(probe(&data).is_some());
        let listing = parse(&data, &Budget::new(Limits::default()));
        assert!(
            listing.diagnostics[0].message.contains("checksum"),
            "{:?}",
            listing.diagnostics
        );
        assert_eq!(file(&listing, "/etc/motd"), b"hello from consign\n");
    }
}
