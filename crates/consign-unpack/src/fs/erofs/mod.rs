//! EROFS, the read-only filesystem of Android's system, vendor and product partitions (Android 13
//! on) and of some embedded Linux root filesystems.
//!
//! Layout (the Linux kernel's `Documentation/filesystems/erofs.rst` and `erofs_fs.h`, all
//! little-endian): a 128-byte superblock at offset 1024 names the block size, the metadata area
//! (`meta_blkaddr`), the root directory's inode number (`nid`) and the feature bits. An inode sits
//! at `meta_blkaddr * block size + nid * 32`: 32 bytes (compact) or 64 (extended), then its inline
//! extended attributes, then whatever its data layout keeps inline. A directory's data is a run of
//! blocks, each an array of 12-byte entries (`nid`, name offset, type) followed by their names.
//!
//! Data layouts, all read: flat plain (contiguous blocks), flat inline (contiguous blocks and the
//! tail right after the inode), chunk-based (a table of block addresses or of 8-byte chunk indexes
//! after the inode, a null address for a hole) and compressed (`zmap.rs`: full and compact
//! logical-cluster indexes, big physical clusters, tail packing, fragments in the packed inode;
//! LZ4, `MicroLZMA`, DEFLATE and Zstandard clusters, and uncompressed clusters shifted or
//! interlaced). Compact inodes get the superblock's build time plus their own offset as mtime,
//! extended ones their own.
//!
//! Not read, each with a diagnostic naming the file or the feature: incompatible feature bits this
//! reader does not know (the 48-bit layout `0x80`, the metabox `0x100`, anything newer): the image
//! is refused whole; chunks on an extra device (`--blobdev`); clusters of an algorithm other than
//! LZ4 without `0padding` (no writer makes them: LZ4 images without it, as
//! `-E legacy-compress` writes them, are read); extents that reference part of a cluster
//! (deduplication's partial references; erofs-utils 1.8 shares whole clusters, which are read);
//! the new extent-based compressed layout; directory blocks that are not the block size. The
//! superblock checksum (CRC32C) is not checked and extended attributes are skipped, never read.
//!
//! Hostile images are bounded: every read is checked against the data, a file's output is reserved
//! from the [`Budget`] before it is allocated (its size is at most the expansion ratio times the
//! bytes its layout stores), a directory reached twice is not entered again, and a file reached
//! twice is a hard link to its first path.

mod zmap;

use std::collections::HashMap;
use std::fmt::Write as _;

use bytes::Bytes;
use consign_model::{CutReason, Diagnostic, NodeKind};

use super::{FsEntry, FsListing, Probe};
use crate::Budget;
use crate::binary::{u16le, u32le, u64le};
use crate::budget::Reservation;

/// Where the superblock starts.
const SUPER_OFFSET: usize = 1024;
const MAGIC: u32 = 0xe0f5_e1e2;
/// How deep directories may nest before the walk stops.
const MAX_DEPTH: usize = 512;
/// The longest symlink target read (Linux's `PATH_MAX`).
const MAX_SYMLINK: u64 = 4096;
/// A null block address: a hole in a chunk-based file.
const NULL_ADDR: u32 = u32::MAX;

/// Incompatible features: a reader that does not know one must not read the image.
const INCOMPAT_ZERO_PADDING: u32 = 0x01;
/// Compression configurations in the superblock, and big physical clusters (one bit).
const INCOMPAT_COMPR_CFGS: u32 = 0x02;
const INCOMPAT_CHUNKED_FILE: u32 = 0x04;
/// An extra-device table, or a second head type for compressed clusters (one bit).
const INCOMPAT_DEVICE_TABLE: u32 = 0x08;
const INCOMPAT_ZTAILPACKING: u32 = 0x10;
/// Fragments in the packed inode, or deduplicated clusters (one bit).
const INCOMPAT_FRAGMENTS: u32 = 0x20;
const INCOMPAT_XATTR_PREFIXES: u32 = 0x40;
/// Every incompatible feature this reader knows.
const INCOMPAT_KNOWN: u32 = INCOMPAT_ZERO_PADDING
    | INCOMPAT_COMPR_CFGS
    | INCOMPAT_CHUNKED_FILE
    | INCOMPAT_DEVICE_TABLE
    | INCOMPAT_ZTAILPACKING
    | INCOMPAT_FRAGMENTS
    | INCOMPAT_XATTR_PREFIXES;

/// Names the first incompatible feature bit of `bits` this reader does not know.
fn unknown_incompat(bits: u32) -> Option<String> {
    let unknown = bits & !INCOMPAT_KNOWN;
    if unknown == 0 {
        return None;
    }
    let bit = 1u32 << unknown.trailing_zeros();
    let name = match bit {
        0x80 => " (48-bit block addresses)",
        0x100 => " (metabox)",
        _ => "",
    };
    Some(format!(
        "incompatible feature bit {bit:#x}{name} is not supported (feature_incompat {bits:#x}); the image is not read"
    ))
}

/// The checked superblock.
#[derive(Debug)]
pub(super) struct Super {
    pub(super) blkszbits: u32,
    /// Bytes per block.
    pub(super) block: u64,
    root_nid: u64,
    inos: u64,
    build_time: i64,
    /// Bytes the filesystem occupies.
    size: u64,
    /// Where the inodes start.
    meta: u64,
    pub(super) incompat: u32,
    /// Compression algorithms the image may use (a bit per algorithm; LZ4 alone without
    /// configurations).
    pub(super) algorithms: u16,
    pub(super) packed_nid: u64,
    volume: String,
}

fn read_super(data: &[u8]) -> Result<Super, String> {
    let sb = data
        .get(SUPER_OFFSET..SUPER_OFFSET + 128)
        .ok_or("the superblock (128 bytes at 1024) is past the end of the data")?;
    if u32le(sb, 0) != Some(MAGIC) {
        return Err("no EROFS magic 0xe0f5e1e2 at 1024".to_owned());
    }
    let blkszbits = u32::from(*sb.get(12).unwrap_or(&0));
    if !(9..=16).contains(&blkszbits) {
        return Err(format!(
            "block size bits {blkszbits} (at 0x40c) are outside 9 to 16"
        ));
    }
    let block = 1u64 << blkszbits;
    let root_nid = u64::from(u16le(sb, 14).unwrap_or(0));
    let inos = u64le(sb, 16).unwrap_or(0);
    let build_time = u64le(sb, 24).unwrap_or(0);
    let blocks = u64::from(u32le(sb, 36).unwrap_or(0));
    let meta_blkaddr = u64::from(u32le(sb, 40).unwrap_or(0));
    let incompat = u32le(sb, 80).unwrap_or(0);
    let algorithms = u16le(sb, 84).unwrap_or(0);
    let dirblkbits = *sb.get(90).unwrap_or(&0);
    let packed_nid = u64le(sb, 96).unwrap_or(0);
    if inos == 0 {
        return Err("the superblock counts no inodes (`inos` at 0x410 is 0)".to_owned());
    }
    let size = blocks * block;
    // The superblock lies in the first block (or the first 4 KiB for 512-byte blocks).
    if size < SUPER_OFFSET as u64 + 128 {
        return Err(format!(
            "the superblock says {blocks} blocks of {block} bytes, less than the superblock itself"
        ));
    }
    if dirblkbits != 0 {
        return Err(format!(
            "directory block bits {dirblkbits} (at 0x45a) are not 0: directory blocks other than the block size are not supported"
        ));
    }
    let meta = meta_blkaddr * block;
    let root = meta + root_nid * 32;
    if root + 32 > size {
        return Err(format!(
            "the root inode (nid {root_nid}, at {root:#x}) lies past the filesystem's {size} bytes"
        ));
    }
    let volume = sb
        .get(64..80)
        .map(|raw| {
            let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
            String::from_utf8_lossy(raw.get(..end).unwrap_or_default()).into_owned()
        })
        .unwrap_or_default();
    Ok(Super {
        blkszbits,
        block,
        root_nid,
        inos,
        build_time: i64::try_from(build_time).unwrap_or(i64::MAX),
        size,
        meta,
        incompat,
        algorithms: if incompat & INCOMPAT_COMPR_CFGS != 0 {
            algorithms
        } else {
            1
        },
        packed_nid,
        volume,
    })
}

/// Checks for an EROFS superblock at 1024 of `data`.
pub fn probe(data: &[u8]) -> Option<Probe> {
    let sb = read_super(data).ok()?;
    let mut features = Vec::new();
    if sb.incompat & INCOMPAT_CHUNKED_FILE != 0 {
        features.push("chunks");
    }
    if sb.incompat & INCOMPAT_ZTAILPACKING != 0 {
        features.push("tail packing");
    }
    if sb.incompat & INCOMPAT_FRAGMENTS != 0 {
        features.push("fragments");
    }
    let algorithms: Vec<&str> = (0..4)
        .filter(|bit| sb.incompat & INCOMPAT_ZERO_PADDING != 0 && sb.algorithms & (1 << bit) != 0)
        .map(zmap::algorithm_name)
        .collect();
    let mut description = format!(
        "erofs, {} bytes in {}-byte blocks, {} inodes",
        sb.size, sb.block, sb.inos
    );
    if !sb.volume.is_empty() {
        let _ = write!(description, ", volume {:?}", sb.volume);
    }
    for part in algorithms.iter().chain(&features) {
        description.push_str(", ");
        description.push_str(part);
    }
    Some(Probe {
        format: "erofs",
        size: Some(sb.size),
        description,
    })
}

/// The data layouts of `i_format` bits 1-3.
pub(super) const LAYOUT_FLAT_PLAIN: u8 = 0;
pub(super) const LAYOUT_COMPRESSED_FULL: u8 = 1;
pub(super) const LAYOUT_FLAT_INLINE: u8 = 2;
pub(super) const LAYOUT_COMPRESSED_COMPACT: u8 = 3;
pub(super) const LAYOUT_CHUNK_BASED: u8 = 4;

/// One inode, its fields checked against the data.
#[derive(Clone, Debug)]
pub(super) struct Inode {
    /// Where the inode starts in the image.
    pub(super) at: u64,
    /// Where its inline part starts: after the inode and its extended attributes.
    pub(super) inline_at: u64,
    pub(super) layout: u8,
    mode: u16,
    pub(super) size: u64,
    /// `i_u`: the first block, the chunk format, a device number or the compressed block count.
    pub(super) raw: u32,
    mtime: i64,
}

const S_IFMT: u16 = 0o170_000;
const S_IFDIR: u16 = 0o040_000;
const S_IFREG: u16 = 0o100_000;
const S_IFLNK: u16 = 0o120_000;

/// The image and what every reader of it needs.
pub(super) struct Image<'a> {
    pub(super) data: &'a [u8],
    pub(super) sb: Super,
}

impl Image<'_> {
    /// The inode `nid`, or why it cannot be read.
    pub(super) fn inode(&self, nid: u64) -> Result<Inode, String> {
        let at = nid
            .checked_mul(32)
            .and_then(|off| off.checked_add(self.sb.meta))
            .filter(|&at| at < self.sb.size)
            .ok_or_else(|| format!("inode {nid} lies past the filesystem's end"))?;
        let start = usize::try_from(at).map_err(|_| format!("inode {nid} is out of reach"))?;
        let past = || format!("inode {nid} at {at:#x} lies past the end of the image");
        let compact = self.data.get(start..start + 32).ok_or_else(past)?;
        let format = u16le(compact, 0).unwrap_or(0);
        if format & !0x1f != 0 {
            return Err(format!(
                "inode {nid} at {at:#x} has unknown format bits {format:#06x}"
            ));
        }
        let extended = format & 1 != 0;
        let layout = ((format >> 1) & 7) as u8;
        let xattr_icount = u64::from(u16le(compact, 2).unwrap_or(0));
        let mode = u16le(compact, 4).unwrap_or(0);
        let (isize, size, raw, mtime) = if extended {
            let inode = self.data.get(start..start + 64).ok_or_else(past)?;
            (
                64,
                u64le(inode, 8).unwrap_or(0),
                u32le(inode, 16).unwrap_or(0),
                u64le(inode, 32).map_or(0, |t| i64::try_from(t).unwrap_or(i64::MAX)),
            )
        } else {
            (
                32,
                u64::from(u32le(compact, 8).unwrap_or(0)),
                u32le(compact, 16).unwrap_or(0),
                self.sb
                    .build_time
                    .saturating_add(i64::from(u32le(compact, 12).unwrap_or(0))),
            )
        };
        // The inline extended attributes: a 12-byte header and 4 bytes per further slot.
        let xattrs = if xattr_icount == 0 {
            0
        } else {
            12 + 4 * (xattr_icount - 1)
        };
        Ok(Inode {
            at,
            inline_at: at + isize + xattrs,
            layout,
            mode,
            size,
            raw,
            mtime,
        })
    }

    /// `len` bytes at `at`, when the image holds them.
    pub(super) fn bytes(&self, at: u64, len: u64) -> Option<&[u8]> {
        let start = usize::try_from(at).ok()?;
        let len = usize::try_from(len).ok()?;
        self.data.get(start..start.checked_add(len)?)
    }
}

/// Why a file's data was not read in whole.
#[derive(Debug)]
pub(super) struct DataError {
    /// For people: what is wrong, naming the field or the offset.
    pub(super) message: String,
    /// Where it is.
    pub(super) at: u64,
    pub(super) reason: CutReason,
    /// The limit that refused it, for its hint.
    pub(super) limit: Option<crate::Limit>,
}

impl DataError {
    pub(super) fn damaged(message: impl Into<String>, at: u64) -> Self {
        DataError {
            message: message.into(),
            at,
            reason: CutReason::Truncated,
            limit: None,
        }
    }

    pub(super) fn unsupported(message: impl Into<String>, at: u64) -> Self {
        DataError {
            message: message.into(),
            at,
            reason: CutReason::Unsupported,
            limit: None,
        }
    }

    pub(super) fn limit(limit: crate::Limit, at: u64) -> Self {
        DataError {
            message: limit.to_string(),
            at,
            reason: limit.into(),
            limit: Some(limit),
        }
    }
}

/// The reservation of a file's output: what the layout stores bounds what it may expand to.
pub(super) fn reserve<'b>(
    budget: &'b Budget,
    inode: &Inode,
    stored: u64,
) -> Result<Reservation<'b>, DataError> {
    budget
        .reserve_expansion(inode.size, stored)
        .map_err(|limit| DataError::limit(limit, inode.at))
}

/// What a file holds, with the reservation its bytes were drawn from: committed for a file,
/// dropped once a directory's entries or a link's target are read.
pub(super) type Data<'b> = (Vec<u8>, Reservation<'b>);

/// The whole data of `inode`, whatever its layout.
pub(super) fn read_data<'b>(
    image: &Image<'_>,
    inode: &Inode,
    budget: &'b Budget,
    packed: &mut zmap::Packed<'b>,
) -> Result<Data<'b>, DataError> {
    if inode.size == 0 {
        return Ok((Vec::new(), budget.reservation()));
    }
    match inode.layout {
        LAYOUT_FLAT_PLAIN | LAYOUT_FLAT_INLINE => read_flat(image, inode, budget),
        LAYOUT_CHUNK_BASED => read_chunks(image, inode, budget),
        LAYOUT_COMPRESSED_FULL | LAYOUT_COMPRESSED_COMPACT => {
            zmap::read_compressed(image, inode, budget, packed)
        }
        other => Err(DataError::unsupported(
            format!("data layout {other} (inode format bits 1-3) is not known"),
            inode.at,
        )),
    }
}

/// Flat plain (every block at `raw_blkaddr` on) and flat inline (the last block's part after the
/// inode instead).
fn read_flat<'b>(
    image: &Image<'_>,
    inode: &Inode,
    budget: &'b Budget,
) -> Result<Data<'b>, DataError> {
    let block = image.sb.block;
    let (head, tail) = if inode.layout == LAYOUT_FLAT_INLINE {
        let head = inode.size.div_ceil(block).saturating_sub(1) * block;
        (head, inode.size - head)
    } else {
        (inode.size, 0)
    };
    let start = u64::from(inode.raw) * block;
    if head > 0 && image.bytes(start, head).is_none() {
        return Err(DataError::damaged(
            format!(
                "its {head} bytes of blocks at {start:#x} (block {}) lie past the end of the image",
                inode.raw
            ),
            inode.at,
        ));
    }
    if tail > 0 {
        if (inode.inline_at % block) + tail > block {
            return Err(DataError::damaged(
                format!(
                    "its inline tail of {tail} bytes at {:#x} crosses a block boundary",
                    inode.inline_at
                ),
                inode.at,
            ));
        }
        if image.bytes(inode.inline_at, tail).is_none() {
            return Err(DataError::damaged(
                format!(
                    "its inline tail of {tail} bytes at {:#x} lies past the end of the image",
                    inode.inline_at
                ),
                inode.at,
            ));
        }
    }
    let reservation = reserve(budget, inode, inode.size)?;
    let mut out = Vec::with_capacity(usize::try_from(inode.size).unwrap_or(0));
    out.extend_from_slice(image.bytes(start, head).unwrap_or_default());
    out.extend_from_slice(image.bytes(inode.inline_at, tail).unwrap_or_default());
    Ok((out, reservation))
}

/// Chunk-based files: a table after the inode names each chunk's first block (4-byte block map
/// entries, or 8-byte chunk indexes with a device id); a null address is a hole.
fn read_chunks<'b>(
    image: &Image<'_>,
    inode: &Inode,
    budget: &'b Budget,
) -> Result<Data<'b>, DataError> {
    let format = inode.raw & 0xffff;
    if format & !0x3f != 0 {
        return Err(DataError::unsupported(
            format!("chunk format {format:#x} has unknown bits (48-bit chunk indexes?)"),
            inode.at,
        ));
    }
    let indexes = format & 0x20 != 0;
    let chunkbits = image.sb.blkszbits + (format & 0x1f);
    if chunkbits > 40 {
        return Err(DataError::damaged(
            format!("chunk size bits {chunkbits} are more than 40"),
            inode.at,
        ));
    }
    let chunk = 1u64 << chunkbits;
    let unit: u64 = if indexes { 8 } else { 4 };
    let table = inode.inline_at.next_multiple_of(unit);
    let count = inode.size.div_ceil(chunk);
    let Some(entries) = count
        .checked_mul(unit)
        .and_then(|len| image.bytes(table, len))
    else {
        return Err(DataError::damaged(
            format!("its table of {count} chunks at {table:#x} lies past the end of the image"),
            inode.at,
        ));
    };
    let mut addresses = Vec::new();
    for (index, entry) in entries.chunks_exact(unit as usize).enumerate() {
        let (device, blkaddr) = if indexes {
            (u16le(entry, 2).unwrap_or(0), u32le(entry, 4).unwrap_or(0))
        } else {
            (0, u32le(entry, 0).unwrap_or(0))
        };
        if blkaddr == NULL_ADDR {
            addresses.push(None);
            continue;
        }
        if device != 0 {
            return Err(DataError::unsupported(
                format!("chunk {index} is stored on extra device {device}, which is not read"),
                table + index as u64 * unit,
            ));
        }
        let start = u64::from(blkaddr) * image.sb.block;
        let len = chunk.min(inode.size - index as u64 * chunk);
        if image.bytes(start, len).is_none() {
            return Err(DataError::damaged(
                format!(
                    "chunk {index} at {start:#x} (block {blkaddr}) lies past the end of the image"
                ),
                table + index as u64 * unit,
            ));
        }
        addresses.push(Some((start, len)));
    }
    let stored =
        addresses.iter().flatten().map(|&(_, len)| len).sum::<u64>() + entries.len() as u64;
    let reservation = reserve(budget, inode, stored)?;
    let mut out = Vec::with_capacity(usize::try_from(inode.size).unwrap_or(0));
    for (index, address) in addresses.iter().enumerate() {
        let len = chunk.min(inode.size - index as u64 * chunk);
        match address {
            Some((start, len)) => {
                out.extend_from_slice(image.bytes(*start, *len).unwrap_or_default());
            }
            None => out.resize(out.len() + usize::try_from(len).unwrap_or(0), 0),
        }
    }
    Ok((out, reservation))
}

/// Bytes of one directory entry's record (`nid`, name offset, file type, reserved).
const DIRENT: usize = 12;

/// One directory entry.
struct DirEntry {
    nid: u64,
    name: String,
    /// Where its 12-byte record sits in the directory's data.
    offset: u64,
}

/// The entries of a directory's data, block by block, without `.` and `..`; problems go to
/// `problems`.
fn dir_entries(dir: &[u8], block: usize, problems: &mut Vec<String>) -> Vec<DirEntry> {
    let mut out = Vec::new();
    for (index, blk) in dir.chunks(block).enumerate() {
        let Some(first) = u16le(blk, 8).map(usize::from) else {
            problems.push(format!("block {index} is too short for an entry"));
            continue;
        };
        if first < DIRENT || first % DIRENT != 0 || first > blk.len() {
            problems.push(format!(
                "block {index}: the first name offset {first} is not a multiple of 12 within the block"
            ));
            continue;
        }
        let count = first / DIRENT;
        for i in 0..count {
            let record = i * DIRENT;
            let nid = u64le(blk, record).unwrap_or(0);
            let start = usize::from(u16le(blk, record + 8).unwrap_or(0));
            let end = if i + 1 < count {
                usize::from(u16le(blk, record + DIRENT + 8).unwrap_or(0))
            } else {
                blk.len()
            };
            let Some(raw) = blk.get(start..end).filter(|_| start >= first) else {
                problems.push(format!(
                    "block {index}, entry {i}: its name ({start}..{end}) is out of order or outside the block"
                ));
                continue;
            };
            // The last name of a block may be followed by NUL padding.
            let len = if i + 1 == count {
                raw.iter().position(|&b| b == 0).unwrap_or(raw.len())
            } else {
                raw.len()
            };
            let raw = raw.get(..len).unwrap_or_default();
            if raw == b"." || raw == b".." {
                continue;
            }
            out.push(DirEntry {
                nid,
                name: String::from_utf8_lossy(raw).into_owned(),
                offset: (index * block + record) as u64,
            });
        }
    }
    out
}

/// Records `error` for `path` as a cut of `what`.
fn cut(listing: &mut FsListing, path: &str, what: &str, error: &DataError) {
    let mut diagnostic =
        Diagnostic::warning(path, format!("{}; {what} not read", error.message)).at(error.at);
    if let Some(limit) = error.limit {
        diagnostic = diagnostic.with_hint(limit.hint());
    }
    listing.cut(diagnostic, what, error.reason);
}

/// Parses an EROFS image at the start of `data`.
pub fn parse(data: &[u8], budget: &Budget) -> FsListing {
    let mut listing = FsListing::default();
    let sb = match read_super(data) {
        Ok(sb) => sb,
        Err(why) => {
            listing.diagnostics.push(
                Diagnostic::warning("", format!("not an EROFS image: {why}"))
                    .at(SUPER_OFFSET as u64),
            );
            return listing;
        }
    };
    listing.size = Some(sb.size);
    if let Some(why) = unknown_incompat(sb.incompat) {
        listing.cut(
            Diagnostic::warning("", why).at(SUPER_OFFSET as u64 + 80),
            "the whole filesystem",
            CutReason::Unsupported,
        );
        return listing;
    }
    listing.note_truncation(sb.size, data.len());
    let root_nid = sb.root_nid;
    let image = Image { data, sb };
    let mut packed = zmap::Packed::new(image.sb.packed_nid);
    // Each directory read, by nid, with its path; each file by nid, with its first path.
    let mut dirs: HashMap<u64, String> = HashMap::new();
    let mut files: HashMap<u64, String> = HashMap::new();
    // (directory path, nid, depth, where its inode is)
    let mut stack = vec![(String::new(), root_nid, 0usize, 0u64)];
    while let Some((dir, nid, depth, named_at)) = stack.pop() {
        let shown = if dir.is_empty() { "/" } else { &dir };
        if let Some(first) = dirs.get(&nid) {
            let first = if first.is_empty() { "/" } else { first };
            listing.cut_loop(
                &dir,
                Some(named_at),
                &format!("the directory (inode {nid}) was already read as `{first}`"),
            );
            continue;
        }
        dirs.insert(nid, dir.clone());
        let inode = match image.inode(nid) {
            Ok(inode) if inode.mode & S_IFMT == S_IFDIR => inode,
            Ok(inode) => {
                cut(
                    &mut listing,
                    shown,
                    "the directory's entries",
                    &DataError::damaged(
                        format!("inode {nid} is not a directory (mode {:o})", inode.mode),
                        inode.at,
                    ),
                );
                continue;
            }
            Err(why) => {
                cut(
                    &mut listing,
                    shown,
                    "the directory's entries",
                    &DataError::damaged(why, named_at),
                );
                continue;
            }
        };
        // A directory's data is held, drawn from the budget, while its entries are read.
        let (bytes, held) = match read_data(&image, &inode, budget, &mut packed) {
            Ok(data) => data,
            Err(error) => {
                cut(&mut listing, shown, "the directory's entries", &error);
                continue;
            }
        };
        let mut problems = Vec::new();
        let block = usize::try_from(image.sb.block).unwrap_or(4096);
        let entries = dir_entries(&bytes, block, &mut problems);
        for problem in problems {
            listing.cut(
                Diagnostic::warning(
                    shown,
                    format!("directory {problem}; its entries are not read"),
                )
                .at(inode.at),
                "some of the directory's entries",
                CutReason::Truncated,
            );
        }
        let mut subdirs = Vec::new();
        for entry in entries {
            if entry.name.is_empty() || entry.name.contains('/') {
                listing.diagnostics.push(
                    Diagnostic::warning(
                        shown,
                        format!(
                            "directory entry {:?} is not a valid name; skipped",
                            entry.name
                        ),
                    )
                    .at(inode.at),
                );
                continue;
            }
            let path = format!("{dir}/{}", entry.name);
            if let Err(limit) = budget.take_entry_with(path.len() as u64) {
                listing.cut_rest(path, limit);
                return listing;
            }
            let child = match image.inode(entry.nid) {
                Ok(child) => child,
                Err(why) => {
                    cut(
                        &mut listing,
                        &path,
                        "the entry",
                        &DataError::damaged(
                            format!("{why} (entry at byte {} of the directory)", entry.offset),
                            inode.at,
                        ),
                    );
                    continue;
                }
            };
            let mode = child.mode;
            let kind = match mode & S_IFMT {
                S_IFDIR => {
                    if depth + 1 > MAX_DEPTH {
                        listing.cut_too_deep(&path, Some(child.at), MAX_DEPTH);
                    } else {
                        subdirs.push((path.clone(), entry.nid, depth + 1, child.at));
                    }
                    NodeKind::Dir
                }
                S_IFREG => {
                    if let Some(first) = files.get(&entry.nid) {
                        NodeKind::Hardlink {
                            target: first.clone(),
                        }
                    } else {
                        files.insert(entry.nid, path.clone());
                        match read_data(&image, &child, budget, &mut packed) {
                            Ok((bytes, reservation)) => {
                                reservation.commit(bytes.len() as u64);
                                NodeKind::File {
                                    data: Bytes::from(bytes),
                                }
                            }
                            Err(error) => {
                                cut(&mut listing, &path, "the file's contents", &error);
                                NodeKind::File { data: Bytes::new() }
                            }
                        }
                    }
                }
                S_IFLNK => {
                    if child.size > MAX_SYMLINK {
                        cut(
                            &mut listing,
                            &path,
                            "the link's target",
                            &DataError::damaged(
                                format!(
                                    "the symlink's target is {} bytes, more than {MAX_SYMLINK}",
                                    child.size
                                ),
                                child.at,
                            ),
                        );
                        NodeKind::Symlink {
                            target: String::new(),
                        }
                    } else {
                        match read_data(&image, &child, budget, &mut packed) {
                            Ok((bytes, _reservation)) => NodeKind::Symlink {
                                target: String::from_utf8_lossy(&bytes).into_owned(),
                            },
                            Err(error) => {
                                cut(&mut listing, &path, "the link's target", &error);
                                NodeKind::Symlink {
                                    target: String::new(),
                                }
                            }
                        }
                    }
                }
                special @ (crate::fs::CHAR_DEVICE
                | crate::fs::BLOCK_DEVICE
                | crate::fs::FIFO
                | crate::fs::SOCKET) => crate::fs::special_node(special),
                other => {
                    listing.diagnostics.push(
                        Diagnostic::warning(
                            path.clone(),
                            format!(
                                "inode {} has an unknown file type {other:#o}; skipped",
                                entry.nid
                            ),
                        )
                        .at(child.at),
                    );
                    continue;
                }
            };
            listing.entries.push(FsEntry {
                path,
                kind,
                mode: Some(u32::from(mode & 0o7777)),
                mtime: Some(child.mtime),
            });
        }
        drop(held);
        stack.extend(subdirs.into_iter().rev());
    }
    listing
}

#[cfg(test)]
mod tests;
