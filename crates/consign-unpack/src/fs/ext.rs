//! ext2, ext3 and ext4: the Linux disk filesystems some firmware (NAS, gateways, eMMC images) uses.
//!
//! Supported: block sizes 1 to 64 KiB, 32- and 64-bit group descriptors, classic block maps
//! (direct, indirect, double and triple indirect), extent trees of any depth, holes, inline data
//! (the 60 bytes of `i_block` plus the `system.data` extended attribute in the inode body), fast
//! symlinks, and htree directories (read linearly: the index blocks look like empty entries).
//! Hard links (an inode reached a second time) are emitted as [`NodeKind::Hardlink`] naming the
//! first path. The journal is not replayed, so a filesystem unmounted uncleanly is read as it
//! stands on disk; encrypted and compressed files are listed with their stored bytes. Checksums
//! (`metadata_csum`) are not verified.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use consign_model::{Diagnostic, NodeKind};

use super::{FsEntry, FsListing, Probe};
use crate::Budget;
use crate::binary::{u16le, u32le};
use crate::error::ReadError;

const SUPERBLOCK_OFFSET: usize = 1024;
const MAGIC: u16 = 0xef53;
const ROOT_INODE: u32 = 2;
const INCOMPAT_64BIT: u32 = 0x80;
const FLAG_EXTENTS: u32 = 0x0008_0000;
const FLAG_INLINE_DATA: u32 = 0x1000_0000;
const EXTENT_MAGIC: u16 = 0xf30a;
/// Extent trees deeper than this are damaged (ext4 itself stops at 5).
const MAX_EXTENT_DEPTH: u16 = 8;
/// How deep directories may nest before the walk stops.
const MAX_DEPTH: usize = 512;

/// The superblock fields the reader needs.
#[derive(Debug)]
struct Superblock {
    inodes_count: u32,
    blocks_count: u64,
    first_data_block: u32,
    block_size: usize,
    inodes_per_group: u32,
    inode_size: usize,
    desc_size: usize,
    incompat: u32,
    volume: String,
}

fn read_superblock(data: &[u8]) -> Option<Superblock> {
    let sb = data.get(SUPERBLOCK_OFFSET..SUPERBLOCK_OFFSET + 1024)?;
    if u16le(sb, 56)? != MAGIC {
        return None;
    }
    let log_block = u32le(sb, 24)?;
    if log_block > 6 {
        return None;
    }
    let block_size = 1024usize << log_block;
    let rev = u32le(sb, 76)?;
    let inode_size = if rev == 0 {
        128
    } else {
        usize::from(u16le(sb, 88)?)
    };
    if inode_size < 128 || inode_size > block_size || !inode_size.is_power_of_two() {
        return None;
    }
    let incompat = u32le(sb, 96)?;
    let desc_size = if incompat & INCOMPAT_64BIT != 0 {
        usize::from(u16le(sb, 254)?).max(32)
    } else {
        32
    };
    let mut blocks_count = u64::from(u32le(sb, 4)?);
    if incompat & INCOMPAT_64BIT != 0 {
        blocks_count |= u64::from(u32le(sb, 0x150)?) << 32;
    }
    let inodes_per_group = u32le(sb, 40)?;
    if inodes_per_group == 0 || desc_size > 1024 {
        return None;
    }
    let name = sb.get(120..136)?;
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    Some(Superblock {
        inodes_count: u32le(sb, 0)?,
        blocks_count,
        first_data_block: u32le(sb, 20)?,
        block_size,
        inodes_per_group,
        inode_size,
        desc_size,
        incompat,
        volume: String::from_utf8_lossy(&name[..end]).into_owned(),
    })
}

/// Checks for an ext2/3/4 superblock at offset 1024 of `data`.
pub fn probe(data: &[u8]) -> Option<Probe> {
    let sb = read_superblock(data)?;
    let compat = u32le(data, SUPERBLOCK_OFFSET + 92)?;
    let kind = if sb.incompat & (0x40 | 0x80 | 0x200 | 0x8000) != 0 {
        "ext4"
    } else if compat & 0x4 != 0 {
        "ext3"
    } else {
        "ext2"
    };
    Some(Probe {
        format: "ext",
        size: sb.blocks_count.checked_mul(sb.block_size as u64),
        description: format!(
            "{kind}, volume {:?}, {} inodes, {} KiB blocks",
            sb.volume,
            sb.inodes_count,
            sb.block_size / 1024
        ),
    })
}

/// One inode's fields the reader needs.
struct Inode {
    mode: u16,
    /// Seconds since the epoch.
    mtime: i64,
    size: u64,
    flags: u32,
    block: [u8; 60],
    /// The inode body past the first 128 bytes (for inline data in extended attributes).
    extra: Vec<u8>,
}

struct Reader<'a> {
    data: &'a [u8],
    sb: Superblock,
}

impl Reader<'_> {
    fn block(&self, number: u64) -> Result<&[u8], ReadError> {
        let start = number
            .checked_mul(self.sb.block_size as u64)
            .and_then(|start| usize::try_from(start).ok())
            .ok_or(ReadError::OutOfRange {
                what: "block",
                value: number,
            })?;
        self.data
            .get(start..start.saturating_add(self.sb.block_size))
            .ok_or_else(|| ReadError::PastEnd {
                what: format!("block {number}"),
                offset: start as u64,
            })
    }

    fn inode(&self, number: u32) -> Result<Inode, ReadError> {
        if number == 0 || number > self.sb.inodes_count {
            return Err(ReadError::OutOfRange {
                what: "inode number",
                value: u64::from(number),
            });
        }
        let group = (number - 1) / self.sb.inodes_per_group;
        let index = (number - 1) % self.sb.inodes_per_group;
        let gdt_block = u64::from(self.sb.first_data_block) + 1;
        let desc_off =
            gdt_block * self.sb.block_size as u64 + u64::from(group) * self.sb.desc_size as u64;
        let desc_off = usize::try_from(desc_off).map_err(|_| ReadError::OutOfRange {
            what: "group descriptor offset",
            value: desc_off,
        })?;
        let mut table =
            u64::from(
                u32le(self.data, desc_off + 8).ok_or_else(|| ReadError::PastEnd {
                    what: format!("group descriptor {group}"),
                    offset: desc_off as u64,
                })?,
            );
        if self.sb.desc_size >= 64 {
            table |= u64::from(u32le(self.data, desc_off + 0x28).unwrap_or_default()) << 32;
        }
        let off = table
            .checked_mul(self.sb.block_size as u64)
            .and_then(|start| start.checked_add(u64::from(index) * self.sb.inode_size as u64))
            .and_then(|off| usize::try_from(off).ok())
            .ok_or(ReadError::OutOfRange {
                what: "inode table",
                value: table,
            })?;
        let raw = self
            .data
            .get(off..off + self.sb.inode_size)
            .ok_or_else(|| ReadError::PastEnd {
                what: format!("inode {number}"),
                offset: off as u64,
            })?;
        let mut block = [0; 60];
        block.copy_from_slice(&raw[0x28..0x28 + 60]);
        let size = u64::from(u32le(raw, 4).unwrap_or_default())
            | (u64::from(u32le(raw, 0x6c).unwrap_or_default()) << 32);
        // `i_mtime` is signed; a large inode whose extra part reaches `i_mtime_extra` (0x88) adds
        // two epoch bits above it (dates past 2038).
        let mut mtime = i64::from(u32le(raw, 0x10).unwrap_or_default().cast_signed());
        let extra_isize = usize::from(u16le(raw, 0x80).unwrap_or_default());
        if extra_isize >= 0x88 + 4 - 0x80 {
            mtime += i64::from(u32le(raw, 0x88).unwrap_or_default() & 3) << 32;
        }
        Ok(Inode {
            mode: u16le(raw, 0).unwrap_or_default(),
            mtime,
            size,
            flags: u32le(raw, 0x20).unwrap_or_default(),
            block,
            extra: raw.get(128..).unwrap_or_default().to_vec(),
        })
    }

    /// The physical block of each logical block of `inode`, as (logical, physical, count) runs.
    fn runs(&self, inode: &Inode) -> Result<Vec<(u64, u64, u64)>, ReadError> {
        let n_blocks = inode.size.div_ceil(self.sb.block_size as u64);
        let mut runs = Vec::new();
        if inode.flags & FLAG_EXTENTS != 0 {
            // Each node is visited once in a sound tree and leaves cover disjoint ranges; these
            // bounds stop a hostile tree (index entries repeating one child) from exploding.
            let mut nodes_left = n_blocks.saturating_add(16);
            self.extents(&inode.block, 0, n_blocks, &mut runs, &mut nodes_left)?;
            let covered: u64 = runs.iter().map(|run| run.2).sum();
            if covered > n_blocks {
                return Err(ReadError::Invalid {
                    what: "extents",
                    value: format!("covering {covered} blocks of a {n_blocks}-block file"),
                    rule: "they overlap",
                });
            }
        } else {
            self.block_map(inode, n_blocks, &mut runs)?;
        }
        Ok(runs)
    }

    fn extents(
        &self,
        node: &[u8],
        level: u16,
        n_blocks: u64,
        runs: &mut Vec<(u64, u64, u64)>,
        nodes_left: &mut u64,
    ) -> Result<(), ReadError> {
        if *nodes_left == 0 {
            return Err(ReadError::Loop(
                "extent tree has more nodes than the file has blocks",
            ));
        }
        *nodes_left -= 1;
        if u16le(node, 0) != Some(EXTENT_MAGIC) {
            return Err(ReadError::Invalid {
                what: "extent node magic",
                value: format!("{:#06x}", u16le(node, 0).unwrap_or_default()),
                rule: "not `0xf30a`",
            });
        }
        let entries = usize::from(u16le(node, 2).unwrap_or_default());
        let depth = u16le(node, 6).unwrap_or_default();
        if depth > MAX_EXTENT_DEPTH || level > MAX_EXTENT_DEPTH {
            return Err(ReadError::OutOfRange {
                what: "extent tree depth",
                value: u64::from(depth),
            });
        }
        for idx in 0..entries {
            let off = 12 + idx * 12;
            let entry = node
                .get(off..off + 12)
                .ok_or(ReadError::Truncated("extent node"))?;
            let first = u64::from(u32le(entry, 0).unwrap_or_default());
            if depth == 0 {
                let mut len = u64::from(u16le(entry, 4).unwrap_or_default());
                let uninit = len > 32768;
                if uninit {
                    len -= 32768;
                }
                let start = (u64::from(u16le(entry, 6).unwrap_or_default()) << 32)
                    | u64::from(u32le(entry, 8).unwrap_or_default());
                // Uninitialised extents read as zeros, like holes.
                if !uninit && first < n_blocks {
                    runs.push((first, start, len.min(n_blocks - first)));
                }
                if runs.len() as u64 > n_blocks {
                    return Err(ReadError::Loop("file has more extents than blocks"));
                }
            } else {
                let leaf = (u64::from(u16le(entry, 8).unwrap_or_default()) << 32)
                    | u64::from(u32le(entry, 4).unwrap_or_default());
                let child = self.block(leaf)?;
                self.extents(child, level + 1, n_blocks, runs, nodes_left)?;
            }
        }
        Ok(())
    }

    fn block_map(
        &self,
        inode: &Inode,
        n_blocks: u64,
        runs: &mut Vec<(u64, u64, u64)>,
    ) -> Result<(), ReadError> {
        let per_block = (self.sb.block_size / 4) as u64;
        let mut logical = 0u64;
        for idx in 0..12 {
            let physical = u64::from(u32le(&inode.block, idx * 4).unwrap_or_default());
            if logical < n_blocks && physical != 0 {
                runs.push((logical, physical, 1));
            }
            logical += 1;
        }
        for (level, idx) in [(1u32, 12usize), (2, 13), (3, 14)] {
            let span = per_block.pow(level);
            let pointer = u64::from(u32le(&inode.block, idx * 4).unwrap_or_default());
            if logical >= n_blocks {
                break;
            }
            if pointer != 0 {
                self.indirect(pointer, level, logical, n_blocks, runs)?;
            }
            logical = logical.saturating_add(span);
        }
        Ok(())
    }

    fn indirect(
        &self,
        pointer: u64,
        level: u32,
        base: u64,
        n_blocks: u64,
        runs: &mut Vec<(u64, u64, u64)>,
    ) -> Result<(), ReadError> {
        let block = self.block(pointer)?;
        let per_block = (self.sb.block_size / 4) as u64;
        let span = per_block.pow(level - 1);
        for (idx, chunk) in block.chunks_exact(4).enumerate() {
            let logical = base + idx as u64 * span;
            if logical >= n_blocks {
                break;
            }
            let physical = u64::from(u32le(chunk, 0).unwrap_or_default());
            if physical == 0 {
                continue;
            }
            if level == 1 {
                runs.push((logical, physical, 1));
            } else {
                self.indirect(physical, level - 1, logical, n_blocks, runs)?;
            }
        }
        Ok(())
    }

    /// How many bytes of the image the contents of `inode` take (holes take none); its size when
    /// the block map cannot be read, since reading the contents then fails on its own.
    fn stored_len(&self, inode: &Inode) -> u64 {
        if inode.flags & FLAG_INLINE_DATA != 0 {
            return inode.size;
        }
        self.runs(inode).map_or(inode.size, |runs| {
            runs.iter()
                .map(|run| run.2)
                .sum::<u64>()
                .saturating_mul(self.sb.block_size as u64)
        })
    }

    /// The contents of `inode`, with holes as zeros. `size` has been accounted by the caller.
    fn contents(&self, inode: &Inode) -> Result<Vec<u8>, (Vec<u8>, ReadError)> {
        let size = usize::try_from(inode.size).map_err(|_| {
            (
                Vec::new(),
                ReadError::OutOfRange {
                    what: "file size",
                    value: inode.size,
                },
            )
        })?;
        if inode.flags & FLAG_INLINE_DATA != 0 {
            return inline(inode, size);
        }
        let runs = self.runs(inode).map_err(|err| (Vec::new(), err))?;
        let mut out = vec![0; size];
        let bs = self.sb.block_size;
        let mut first_err = None;
        for (logical, physical, count) in runs {
            for step in 0..count {
                let Some(dest) = usize::try_from((logical + step) * bs as u64)
                    .ok()
                    .filter(|dest| *dest < size)
                else {
                    break;
                };
                match self.block(physical + step) {
                    Ok(bytes) => {
                        let len = bs.min(size - dest);
                        out[dest..dest + len].copy_from_slice(&bytes[..len]);
                    }
                    Err(err) => {
                        first_err.get_or_insert(err);
                    }
                }
            }
        }
        match first_err {
            None => Ok(out),
            Some(err) => Err((out, err)),
        }
    }
}

/// Inline data: the 60 bytes of `i_block`, then the `system.data` attribute.
fn inline(inode: &Inode, size: usize) -> Result<Vec<u8>, (Vec<u8>, ReadError)> {
    let mut out = inode.block[..size.min(60)].to_vec();
    if size > 60 {
        match inline_xattr(&inode.extra) {
            Some(more) => out.extend_from_slice(&more[..more.len().min(size - 60)]),
            None => {
                return Err((
                    out,
                    ReadError::Truncated("inline data (its `system.data` attribute is missing)"),
                ));
            }
        }
    }
    Ok(out)
}

/// Finds the value of the `system.data` extended attribute in an inode body (`extra` starts at
/// byte 128 of the inode: `i_extra_isize`, then the attributes after it).
fn inline_xattr(extra: &[u8]) -> Option<&[u8]> {
    let extra_isize = usize::from(u16le(extra, 0)?);
    let header = extra_isize;
    if u32le(extra, header)? != 0xea02_0000 {
        return None;
    }
    let first = header + 4;
    let mut off = first;
    loop {
        let name_len = usize::from(*extra.get(off)?);
        let index = *extra.get(off + 1)?;
        if name_len == 0 && index == 0 {
            return None;
        }
        let value_off = usize::from(u16le(extra, off + 2)?);
        let value_size = u32le(extra, off + 8)? as usize;
        let name = extra.get(off + 16..off + 16 + name_len)?;
        if index == 7 && name == b"data" {
            return extra.get(first + value_off..first + value_off + value_size);
        }
        off = (off + 16 + name_len).next_multiple_of(4);
    }
}

/// Parses an ext2/3/4 image at the start of `data`.
pub fn parse(data: &[u8], budget: &Budget) -> FsListing {
    let mut listing = FsListing::default();
    let Some(sb) = read_superblock(data) else {
        listing.diagnostics.push(
            Diagnostic::warning(
                "",
                "not an ext2/3/4 image (no superblock with magic `0xef53` at offset 1024)",
            )
            .at(1024),
        );
        return listing;
    };
    let size = sb.blocks_count.saturating_mul(sb.block_size as u64);
    listing.size = Some(size);
    listing.note_truncation(size, data.len());
    let reader = Reader { data, sb };
    let mut seen: HashMap<u32, String> = HashMap::new();
    let mut visited_dirs = HashSet::from([ROOT_INODE]);
    let mut stack = vec![(String::new(), ROOT_INODE, 0usize)];
    while let Some((dir, number, depth)) = stack.pop() {
        let entries = match reader
            .inode(number)
            .and_then(|inode| read_dir(&reader, &inode, budget))
        {
            Ok(entries) => entries,
            Err(ReadError::Limit(limit)) => {
                listing.cut(
                    Diagnostic::warning(dir, format!("directory inode {number} not read: {limit}"))
                        .with_hint(limit.hint()),
                    "the directory and everything in it",
                    limit.into(),
                );
                continue;
            }
            Err(err) => {
                listing.diagnostics.push(Diagnostic::warning(
                    dir,
                    format!("directory inode {number}: {err}"),
                ));
                continue;
            }
        };
        let mut subdirs = Vec::new();
        for (name, child) in entries {
            if name == "." || name == ".." {
                continue;
            }
            let path = format!("{dir}/{name}");
            let inode = match reader.inode(child) {
                Ok(inode) => inode,
                Err(err) => {
                    listing
                        .diagnostics
                        .push(Diagnostic::warning(path, err.to_string()));
                    continue;
                }
            };
            if let Err(limit) = budget.take_entry_with(path.len() as u64) {
                listing.cut_rest(path, limit);
                return listing;
            }
            let mode = Some(u32::from(inode.mode & 0o7777));
            let kind = match inode.mode & 0o170_000 {
                0o040_000 => {
                    if !visited_dirs.insert(child) {
                        let before = format!("directory inode {child} was already read");
                        listing.cut_loop(&path, None, &before);
                        continue;
                    }
                    if depth + 1 > MAX_DEPTH {
                        listing.cut_too_deep(&path, None, MAX_DEPTH);
                        continue;
                    }
                    subdirs.push((path.clone(), child, depth + 1));
                    NodeKind::Dir
                }
                0o100_000 => {
                    if let Some(first) = seen.get(&child) {
                        NodeKind::Hardlink {
                            target: first.clone(),
                        }
                    } else {
                        seen.insert(child, path.clone());
                        // Holes read as zeros and take no space: they count against the
                        // expansion ratio.
                        let stored = reader.stored_len(&inode);
                        let bytes = match budget.reserve_expansion(inode.size, stored) {
                            Err(limit) => {
                                listing.cut(
                                    Diagnostic::warning(
                                        path.clone(),
                                        format!(
                                            "{limit}: the file has {} bytes, {stored} of them stored; listed without contents",
                                            inode.size
                                        ),
                                    )
                                    .with_hint(limit.hint()),
                                    "the file's contents",
                                    limit.into(),
                                );
                                Vec::new()
                            }
                            Ok(reservation) => {
                                let bytes =
                                    reader.contents(&inode).unwrap_or_else(|(partial, err)| {
                                        listing.diagnostics.push(Diagnostic::warning(
                                            path.clone(),
                                            format!("{err}; what was not read is zero-filled"),
                                        ));
                                        partial
                                    });
                                reservation.commit(bytes.len() as u64);
                                bytes
                            }
                        };
                        NodeKind::File {
                            data: Bytes::from(bytes),
                        }
                    }
                }
                0o120_000 => {
                    let fast =
                        inode.flags & (FLAG_EXTENTS | FLAG_INLINE_DATA) == 0 && inode.size < 60;
                    let target = if fast {
                        Ok(inode.block[..inode.size as usize].to_vec())
                    } else if inode.size > 4096 {
                        Err((
                            Vec::new(),
                            ReadError::OutOfRange {
                                what: "symlink target length",
                                value: inode.size,
                            },
                        ))
                    } else {
                        reader.contents(&inode)
                    };
                    let target = target.unwrap_or_else(|(partial, err)| {
                        listing.diagnostics.push(Diagnostic::warning(
                            path.clone(),
                            format!("symlink target: {err}"),
                        ));
                        partial
                    });
                    NodeKind::Symlink {
                        target: String::from_utf8_lossy(&target).into_owned(),
                    }
                }
                special @ (super::CHAR_DEVICE
                | super::BLOCK_DEVICE
                | super::FIFO
                | super::SOCKET) => super::special_node(special),
                other => {
                    listing.diagnostics.push(Diagnostic::warning(
                        path,
                        format!("mode {other:#o} is not a known file type"),
                    ));
                    continue;
                }
            };
            listing.entries.push(FsEntry {
                path,
                kind,
                mode,
                mtime: Some(inode.mtime),
            });
        }
        stack.extend(subdirs.into_iter().rev());
    }
    listing
}

/// Reads a directory's entries linearly (htree index blocks read as empty entries).
fn read_dir(
    reader: &Reader<'_>,
    inode: &Inode,
    budget: &Budget,
) -> Result<Vec<(String, u32)>, ReadError> {
    if inode.mode & 0o170_000 != 0o040_000 {
        return Err(ReadError::Invalid {
            what: "mode",
            value: format!("{:o}", inode.mode),
            rule: "not a directory",
        });
    }
    // Directory bytes are working memory, drawn from the budget like any output (holes count
    // against the ratio) and released once read.
    let _held = budget
        .reserve_expansion(inode.size, reader.stored_len(inode))
        .map_err(ReadError::Limit)?;
    let (listing, skip) = if inode.flags & FLAG_INLINE_DATA != 0 {
        // Inline directories start with the parent's inode number, then entries.
        let bytes = reader.contents(inode).map_err(|(_, err)| err)?;
        (bytes, 4)
    } else {
        (reader.contents(inode).map_err(|(_, err)| err)?, 0)
    };
    let mut entries = Vec::new();
    let mut off = skip;
    while off + 8 <= listing.len() {
        let child = u32le(&listing, off).unwrap_or_default();
        let rec_len = usize::from(u16le(&listing, off + 4).unwrap_or_default());
        let name_len = usize::from(listing[off + 6]);
        if rec_len < 8 {
            // ext4 with 64 KiB blocks encodes 65536 as 0; anything else this small is damage.
            if rec_len == 0 && reader.sb.block_size == 65536 {
                off = (off / 65536 + 1) * 65536;
                continue;
            }
            return Err(ReadError::Invalid {
                what: "directory entry record length",
                value: rec_len.to_string(),
                rule: "shorter than an entry",
            }
            .at(format!("byte {off}")));
        }
        if child != 0 && name_len > 0 {
            let name = listing.get(off + 8..off + 8 + name_len).ok_or_else(|| {
                ReadError::Truncated("directory entry name").at(format!("byte {off}"))
            })?;
            entries.push((String::from_utf8_lossy(name).into_owned(), child));
        }
        off += rec_len;
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::Limits;
    use crate::fs::test_support::{big_file, file, gunzip, mangle, render, repo};

    const TREE: &str = "\
/lost+found 700 dir
/bin 755 dir
/empty-dir 755 dir
/etc 755 dir
/bin/big 755 file 10400
/bin/long-link 777 symlink -> /a/long/target/path/that/does/not/fit/in/the/inode/block/array/of/sixty/bytes
/bin/motd-link 777 symlink -> ../etc/motd
/etc/empty 644 file 0
/etc/fifo 600 fifo
/etc/init.d 755 dir
/etc/motd 644 file 19
/etc/motd.hard 644 hardlink -> /etc/motd
/etc/init.d/rcS 755 file 21
";

    #[test]
    fn fixtures_ext2_ext3_ext4() {
        for (kind, size) in [("ext2", 512), ("ext3", 4096), ("ext4", 512)] {
            let data = gunzip(&format!("fixtures/unpack/ext/{kind}.img.gz"));
            assert_eq!(
                probe(&data).unwrap().description,
                format!("{kind}, volume \"consign\", 64 inodes, 1 KiB blocks")
            );
            let listing = parse(&data, &Budget::new(Limits::default()));
            assert_eq!(listing.size, Some(size * 1024));
            assert_eq!(listing.diagnostics, Vec::new(), "{kind}");
            assert_eq!(render(&listing), TREE, "{kind}");
            assert_eq!(file(&listing, "/bin/big"), big_file(), "{kind}");
            assert_eq!(file(&listing, "/etc/motd"), b"hello from consign\n");
            mangle(&data[..64 << 10], parse, &[0, 1000, 1100, 2048, 5000]);
        }
    }

    #[test]
    fn corpus_ext4_rootfs() {
        let data = std::fs::read(repo().join("../shared/corpus/images/nas-i386-ext4/rootfs.ext4"))
            .unwrap();
        assert_eq!(
            probe(&data).unwrap().description,
            "ext4, volume \"rootfs\", 6912 inodes, 4 KiB blocks"
        );
        let listing = parse(&data, &Budget::new(Limits::default()));
        assert_eq!(listing.diagnostics, Vec::new());
        assert_eq!(listing.entries.len(), 102);
        for (path, size) in [
            ("/lib/i386-linux-gnu/libc.so.6", 2_225_200),
            ("/usr/sbin/ntpd", 560_900),
        ] {
            let bytes = file(&listing, path);
            assert_eq!(bytes.len(), size, "{path}");
            assert_eq!(&bytes[..4], b"\x7fELF");
        }
        assert!(
            render(&listing)
                .contains("/lib/ld-linux.so.2 777 symlink -> i386-linux-gnu/ld-linux.so.2\n")
        );
        assert!(file(&listing, "/etc/ntpsec/ntp.conf").starts_with(b"# /etc/ntpsec/ntp.conf"));
        mangle(&data[..4 << 20], parse, &[0, 1100, 4096, 1 << 20]);
    }

    /// A directory entry that names the root again is a loop: not entered, and recorded as a cut,
    /// so that the report says the tree was not read whole.
    #[test]
    fn a_directory_loop_is_a_cut() {
        let mut data = gunzip("fixtures/unpack/ext/ext2.img.gz");
        // The root's entry for `empty-dir`: inode (4 bytes), record length (2), name length 9,
        // file type 2 (a directory), then the name. Point it at the root's inode, 2.
        let name = data
            .windows(11)
            .position(|window| window == b"\x09\x02empty-dir")
            .unwrap();
        data[name - 6..name - 2].copy_from_slice(&2u32.to_le_bytes());
        let listing = parse(&data, &Budget::new(Limits::default()));
        assert_eq!(file(&listing, "/etc/motd"), b"hello from consign\n");
        let before = "directory inode 2 was already read";
        crate::fs::test_support::assert_loop_cut(&listing, "/empty-dir", before);
    }

    #[test]
    fn limits_are_diagnosed() {
        let data = gunzip("fixtures/unpack/ext/ext4.img.gz");
        crate::fs::test_support::limits_are_diagnosed(&data, parse, "/bin/big", 5000, 2);
        assert_eq!(probe(&data[..1000]), None);
    }
}
