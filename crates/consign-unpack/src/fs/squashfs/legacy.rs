//! squashfs 2.x and 3.x: the superblock, inodes and directories of the versions before 4.0.
//!
//! Their structures are C bitfields (`inode_type:4, mode:12, uid:8, guid:8`, ...) laid out in
//! the image's byte order: from the most significant bit on big-endian images and from the least
//! significant bit on little-endian ones. [`Bits`] reads them that way, so one description serves
//! both orders. Data blocks, the 2-byte metadata headers and the uncompressed bits are the same as
//! in 4.0; the standard tools only wrote gzip, and vendor LZMA builds are handled by the shared
//! decoder's LZMA fallback.

use super::{DirEntry, Inode, InodeKind, Metadata, Superblock};
use crate::binary::Endian;
use crate::error::ReadError;

/// Reads consecutive bitfields in the image's bit order.
struct Bits<'a> {
    data: &'a [u8],
    bit: usize,
    endian: Endian,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8], endian: Endian) -> Self {
        Self {
            data,
            bit: 0,
            endian,
        }
    }

    /// The next `width` bits (at most 64); missing bytes read as zero (callers check lengths).
    fn take(&mut self, width: usize) -> u64 {
        let mut value = 0u64;
        for idx in 0..width {
            let stream = self.bit + idx;
            let byte = self.data.get(stream / 8).copied().unwrap_or_default();
            match self.endian {
                Endian::Big => value = (value << 1) | u64::from((byte >> (7 - stream % 8)) & 1),
                Endian::Little => value |= u64::from((byte >> (stream % 8)) & 1) << idx,
            }
        }
        self.bit += width;
        value
    }
}

/// Reads a 2.x or 3.x superblock (the 64-bit table offsets exist from 3.0 on).
pub(super) fn read_superblock(
    data: &[u8],
    endian: Endian,
    major: u16,
) -> Result<Superblock, ReadError> {
    let truncated = || ReadError::Truncated("superblock");
    let f32 = |off| endian.u32(data, off).ok_or_else(truncated);
    let f64 = |off| endian.u64(data, off).ok_or_else(truncated);
    let flags = u16::from(*data.get(36).ok_or_else(truncated)?);
    let block_size = f32(51)?;
    if !(4096..=(1 << 20)).contains(&block_size) || !block_size.is_power_of_two() {
        return Err(ReadError::Invalid {
            what: "superblock block size",
            value: block_size.to_string(),
            rule: "not a power of two from 4 KiB to 1 MiB",
        });
    }
    let (bytes_used, inode_table, dir_table, frag_table) = if major >= 3 {
        (f64(63)?, f64(87)?, f64(95)?, f64(103)?)
    } else {
        (
            u64::from(f32(8)?),
            u64::from(f32(20)?),
            u64::from(f32(24)?),
            u64::from(f32(59)?),
        )
    };
    let sb = Superblock {
        endian,
        version: major,
        inode_count: f32(4)?,
        block_size,
        frag_count: f32(55)?,
        // Only gzip existed; the decoder falls back to LZMA for vendor builds.
        compressor: 1,
        flags,
        root_inode: f64(43)?,
        bytes_used,
        inode_table,
        dir_table,
        frag_table,
    };
    if sb.inode_table >= sb.dir_table || sb.dir_table >= sb.bytes_used {
        return Err(ReadError::Invalid {
            what: "superblock table offsets",
            value: format!(
                "(inodes {:#x}, directories {:#x}, size {:#x})",
                sb.inode_table, sb.dir_table, sb.bytes_used
            ),
            rule: "inconsistent",
        });
    }
    Ok(sb)
}

/// Whether metadata blocks carry the extra marker byte of the `SQUASHFS_CHECK` flag.
pub(super) fn check_byte(sb: &Superblock) -> bool {
    sb.version < 4 && sb.flags & 0x04 != 0
}

/// Reads a 2.x or 3.x inode at `cursor`, given its first bytes were already fetched by `fetch`.
pub(super) fn read_inode(
    meta: &mut Metadata<'_>,
    mut fetch: impl FnMut(&mut Metadata<'_>, usize) -> Result<Vec<u8>, ReadError>,
    budget: &crate::Budget,
) -> Result<Inode, ReadError> {
    let sb = meta.sb;
    let (endian, v3) = (sb.endian, sb.version >= 3);
    // The common header: 4 bytes in 2.x, 12 (with mtime and inode number) in 3.x.
    let header = fetch(meta, if v3 { 12 } else { 4 })?;
    let mut bits = Bits::new(&header, endian);
    let itype = bits.take(4);
    let mode = (bits.take(12) & 0o7777) as u32;
    let mut mtime = None;
    if v3 {
        bits.take(16); // uid, guid
        mtime = Some(i64::from(bits.take(32) as u32));
    }
    let kind = match itype {
        1 => {
            // 2.x: file_size:19 offset:13 mtime:32 start_block:24.
            // 3.x: nlink:32 file_size:19 offset:13 start_block:32 parent:32.
            let body = fetch(meta, if v3 { 16 } else { 11 })?;
            let mut bits = Bits::new(&body, endian);
            if v3 {
                bits.take(32);
            }
            let file_size = bits.take(19) as u32;
            let offset = bits.take(13) as u16;
            if !v3 {
                bits.take(32);
            }
            let start_block = bits.take(if v3 { 32 } else { 24 }) as u32;
            InodeKind::Dir {
                start_block,
                offset,
                file_size,
            }
        }
        8 => {
            // 2.x: file_size:27 offset:13 mtime:32 start_block:24 i_count:16.
            // 3.x: nlink:32 file_size:27 offset:13 start_block:32 i_count:16 parent:32.
            let body = fetch(meta, if v3 { 19 } else { 14 })?;
            let mut bits = Bits::new(&body, endian);
            if v3 {
                bits.take(32);
            }
            let file_size = bits.take(27) as u32;
            let offset = bits.take(13) as u16;
            if !v3 {
                bits.take(32);
            }
            let start_block = bits.take(if v3 { 32 } else { 24 }) as u32;
            InodeKind::Dir {
                start_block,
                offset,
                file_size,
            }
        }
        2 | 9 => {
            // 2.x: mtime:32 start_block:32 fragment:32 offset:32 file_size:32.
            // 3.x: start_block:64 fragment:32 offset:32 file_size:32.
            // 3.x type 9: nlink:32 start_block:64 fragment:32 offset:32 file_size:64.
            let (blocks_start, frag, frag_offset, file_size) = if !v3 {
                let b = fetch(meta, 20)?;
                let r = |off| endian.u32(&b, off).unwrap_or_default();
                mtime = Some(i64::from(r(0)));
                (u64::from(r(4)), r(8), r(12), u64::from(r(16)))
            } else if itype == 2 {
                let b = fetch(meta, 20)?;
                let r = |off| endian.u32(&b, off).unwrap_or_default();
                (
                    endian.u64(&b, 0).unwrap_or_default(),
                    r(8),
                    r(12),
                    u64::from(r(16)),
                )
            } else {
                let b = fetch(meta, 28)?;
                let r = |off| endian.u32(&b, off).unwrap_or_default();
                (
                    endian.u64(&b, 4).unwrap_or_default(),
                    r(12),
                    r(16),
                    endian.u64(&b, 20).unwrap_or_default(),
                )
            };
            return super::file_inode(
                meta,
                &mut fetch,
                budget,
                (mode, mtime),
                (blocks_start, frag, frag_offset, file_size),
            );
        }
        3 => {
            let b = fetch(meta, if v3 { 6 } else { 2 })?;
            let len = endian.u16(&b, if v3 { 4 } else { 0 }).unwrap_or_default();
            let target = fetch(meta, usize::from(len))?;
            InodeKind::Symlink(String::from_utf8_lossy(&target).into_owned())
        }
        4 => InodeKind::Special("block-device"),
        5 => InodeKind::Special("char-device"),
        6 => InodeKind::Special("fifo"),
        7 => InodeKind::Special("socket"),
        other => {
            return Err(ReadError::Unknown {
                what: "inode type",
                value: other,
            });
        }
    };
    Ok(Inode { kind, mode, mtime })
}

/// Parses a 2.x or 3.x directory listing (already read, `.` and `..` excluded).
pub(super) fn parse_dir(listing: &[u8], sb: &Superblock) -> Result<Vec<DirEntry>, ReadError> {
    let v3 = sb.version >= 3;
    let (header_len, entry_len) = if v3 { (9, 5) } else { (4, 3) };
    let mut entries = Vec::new();
    let mut pos = 0;
    while pos + header_len <= listing.len() {
        let mut bits = Bits::new(&listing[pos..pos + header_len], sb.endian);
        let count = bits.take(8) as usize + 1;
        let start = bits.take(if v3 { 32 } else { 24 });
        pos += header_len;
        for _ in 0..count {
            let entry = listing
                .get(pos..pos + entry_len)
                .ok_or(ReadError::Truncated("directory listing inside an entry"))?;
            let mut bits = Bits::new(entry, sb.endian);
            let offset = bits.take(13);
            bits.take(3);
            let name_len = bits.take(8) as usize + 1;
            let name = listing
                .get(pos + entry_len..pos + entry_len + name_len)
                .ok_or(ReadError::Truncated("directory listing inside a name"))?;
            pos += entry_len + name_len;
            entries.push(DirEntry {
                name: String::from_utf8_lossy(name).into_owned(),
                inode_ref: (start << 16) | offset,
            });
        }
    }
    Ok(entries)
}

/// Fragment entry layout: (entry size, index pointer size).
pub(super) fn fragment_layout(sb: &Superblock) -> (u64, u64) {
    if sb.version >= 3 { (16, 8) } else { (8, 4) }
}

/// Reads a fragment entry's (start, size word) in a 2.x or 3.x image.
pub(super) fn fragment_entry(entry: &[u8], sb: &Superblock) -> (u64, u32) {
    if sb.version >= 3 {
        (
            sb.endian.u64(entry, 0).unwrap_or_default(),
            sb.endian.u32(entry, 8).unwrap_or_default(),
        )
    } else {
        (
            u64::from(sb.endian.u32(entry, 0).unwrap_or_default()),
            sb.endian.u32(entry, 4).unwrap_or_default(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitfields_in_both_orders() {
        // type 2, mode 0o755, uid 1, gid 2 in each byte order.
        let mut be = Bits::new(&[0x21, 0xed, 0x01, 0x02], Endian::Big);
        assert_eq!(
            (be.take(4), be.take(12), be.take(8), be.take(8)),
            (2, 0o755, 1, 2)
        );
        let packed: u32 = 2 | (0o755 << 4) | (1 << 16) | (2 << 24);
        let bytes = packed.to_le_bytes();
        let mut le = Bits::new(&bytes, Endian::Little);
        assert_eq!(
            (le.take(4), le.take(12), le.take(8), le.take(8)),
            (2, 0o755, 1, 2)
        );
    }
}
