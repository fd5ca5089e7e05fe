//! squashfs: the read-only compressed filesystem most Linux firmware ships its root in.
//!
//! Supported: version 4.0, little- and big-endian, every compressor id (gzip, lzma, lzo, xz, lz4,
//! zstd), the compressor options block (skipped: the streams carry what decoding needs), fragments,
//! extended inodes, sparse files, hard links, symlinks, devices, FIFOs and sockets. Extended
//! attributes, the directory index, the export table and the uid/gid table are read past, not
//! used. Vendor LZMA variants (an LZMA-alone header, a 5-byte properties + dictionary header with
//! no size, or raw LZMA with the usual `lc=3 lp=0 pb=2`) are found per block by trying the
//! plausible decoders; the one that worked is tried first on the next block.
//!
//! Versions 2.x and 3.x (either byte order) are read too, in `legacy`: their bitfield inodes and
//! directories differ, the rest is shared. 2.0 is tested on a real big-endian Broadcom image with
//! vendor LZMA blocks; 3.x follows the same format description but no 3.x sample was at hand.
//!
//! A second path to an inode already seen (a hard link) is emitted as [`NodeKind::Hardlink`]
//! naming the first path, so its bytes are neither decompressed nor counted twice.
//!
//! Data blocks are decompressed in parallel (rayon, across files and across the blocks of a
//! file); metadata blocks and fragment blocks are each inflated once and cached.

mod legacy;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use bytes::Bytes;
use consign_model::{CutReason, Diagnostic, NodeKind};
use rayon::prelude::*;

use super::{FsEntry, FsListing, Probe};
use crate::binary::Endian;
use crate::budget::Reservation;
use crate::decompress::{Codec, DecompressError, decompress};
use crate::error::ReadError;
use crate::{Budget, Limit};

const SUPERBLOCK_LEN: usize = 96;
const METADATA_SIZE: usize = 8192;
const NO_FRAGMENT: u32 = 0xffff_ffff;
const BLOCK_UNCOMPRESSED: u32 = 1 << 24;
const FLAG_COMPRESSOR_OPTIONS: u16 = 0x0400;
/// How deep directories may nest before the walk stops (a loop guard on top of the visited set).
const MAX_DEPTH: usize = 512;

/// The fields of a version 4 superblock this parser uses.
#[derive(Clone, Debug)]
struct Superblock {
    endian: Endian,
    /// The major version: 2, 3 or 4.
    version: u16,
    inode_count: u32,
    block_size: u32,
    frag_count: u32,
    compressor: u16,
    flags: u16,
    root_inode: u64,
    bytes_used: u64,
    inode_table: u64,
    dir_table: u64,
    frag_table: u64,
}

fn compressor_name(id: u16) -> &'static str {
    match id {
        1 => "gzip",
        2 => "lzma",
        3 => "lzo",
        4 => "xz",
        5 => "lz4",
        6 => "zstd",
        _ => "unknown compressor",
    }
}

/// What the first bytes say: the endianness and version, before any check of the rest.
fn magic_and_version(data: &[u8]) -> Option<(Endian, u16, u16)> {
    let endian = match data.get(..4)? {
        b"hsqs" => Endian::Little,
        b"sqsh" => Endian::Big,
        _ => return None,
    };
    let major = endian.u16(data, 28)?;
    let minor = endian.u16(data, 30)?;
    Some((endian, major, minor))
}

fn read_superblock(data: &[u8]) -> Result<Superblock, ReadError> {
    let (endian, major, minor) = magic_and_version(data).ok_or(ReadError::Invalid {
        what: "magic",
        value: String::from_utf8_lossy(data.get(..4).unwrap_or_default()).into_owned(),
        rule: "not a squashfs superblock (no `hsqs`/`sqsh` magic)",
    })?;
    if (2..=3).contains(&major) && minor <= 1 {
        return legacy::read_superblock(data, endian, major);
    }
    if major != 4 || minor != 0 {
        return Err(ReadError::Unsupported(format!(
            "squashfs version {major}.{minor}"
        )));
    }
    let truncated = ReadError::Truncated("superblock");
    let field16 = |off| endian.u16(data, off).ok_or(truncated.clone());
    let field32 = |off| endian.u32(data, off).ok_or(truncated.clone());
    let field64 = |off| endian.u64(data, off).ok_or(truncated.clone());
    let block_size = field32(12)?;
    let block_log = field16(22)?;
    if !(4096..=(1 << 20)).contains(&block_size)
        || !block_size.is_power_of_two()
        || u32::from(block_log) != block_size.trailing_zeros()
    {
        return Err(ReadError::Invalid {
            what: "superblock block size",
            value: format!("{block_size} (log {block_log})"),
            rule: "not a power of two from 4 KiB to 1 MiB",
        });
    }
    let sb = Superblock {
        endian,
        version: 4,
        inode_count: field32(4)?,
        block_size,
        frag_count: field32(16)?,
        compressor: field16(20)?,
        flags: field16(24)?,
        root_inode: field64(32)?,
        bytes_used: field64(40)?,
        inode_table: field64(64)?,
        dir_table: field64(72)?,
        frag_table: field64(80)?,
    };
    if !(1..=6).contains(&sb.compressor) {
        return Err(ReadError::Invalid {
            what: "superblock compressor id",
            value: sb.compressor.to_string(),
            rule: "known ones are 1 (gzip) to 6 (zstd)",
        });
    }
    if sb.bytes_used < SUPERBLOCK_LEN as u64
        || sb.inode_table < SUPERBLOCK_LEN as u64
        || sb.inode_table >= sb.dir_table
        || sb.dir_table >= sb.bytes_used
    {
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

/// Checks the header at the start of `data`: squashfs 4.0 in full, 2.x and 3.x by magic and version.
pub fn probe(data: &[u8]) -> Option<Probe> {
    let (_, major, minor) = magic_and_version(data)?;
    let sb = read_superblock(data).ok()?;
    Some(Probe {
        format: "squashfs",
        size: Some(sb.bytes_used),
        description: format!(
            "squashfs {major}.{minor}, {}, {}, {} inodes, {} KiB blocks",
            if sb.endian == Endian::Little {
                "little-endian"
            } else {
                "big-endian"
            },
            compressor_name(sb.compressor),
            sb.inode_count,
            sb.block_size / 1024
        ),
    })
}

/// Which vendor LZMA form last worked, so the next block tries it first.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LzmaForm {
    /// The `.lzma` header: properties, dictionary size, 8-byte size (squashfs-tools' own lzma).
    Alone = 0,
    /// Properties and dictionary size, then the raw stream, no size and no end marker.
    PropsDict = 1,
    /// Raw LZMA, no header, with `lc=3 lp=0 pb=2`.
    Raw = 2,
}

const LZMA_FORMS: [LzmaForm; 3] = [LzmaForm::Alone, LzmaForm::PropsDict, LzmaForm::Raw];

/// Decodes blocks of one image: the compressor id plus what was learned about vendor variants.
struct Decoder {
    compressor: u16,
    lzma_hint: AtomicU8,
    /// Set once a gzip-labelled image turned out to hold LZMA (seen in vendor images).
    gzip_is_lzma: AtomicU8,
}

/// `Ok` output, or what went wrong.
type BlockResult = Result<Vec<u8>, ReadError>;

impl Decoder {
    fn new(compressor: u16) -> Self {
        Self {
            compressor,
            lzma_hint: AtomicU8::new(0),
            gzip_is_lzma: AtomicU8::new(0),
        }
    }

    /// Inflates one block of at most `max` bytes; `exact` is the size it must have, when known.
    fn block(&self, input: &[u8], max: usize, exact: Option<usize>) -> BlockResult {
        let out = match self.compressor {
            1 => {
                if self.gzip_is_lzma.load(Ordering::Relaxed) == 1 {
                    return self.lzma(input, max, exact);
                }
                match standard(Codec::Zlib, input, max) {
                    Ok(out) => out,
                    Err(err) => {
                        if let Ok(out) = self.lzma(input, max, exact) {
                            self.gzip_is_lzma.store(1, Ordering::Relaxed);
                            return Ok(out);
                        }
                        return Err(err);
                    }
                }
            }
            2 => return self.lzma(input, max, exact),
            3 => crate::lzo::decompress_lzo1x(input, max).map_err(|err| ReadError::decode(&err))?,
            4 => standard(Codec::Xz, input, max)?,
            5 => standard(Codec::Lz4Block, input, max)?,
            6 => standard(Codec::Zstd, input, max)?,
            other => {
                return Err(ReadError::Unknown {
                    what: "compressor id",
                    value: u64::from(other),
                });
            }
        };
        check_exact(out, exact)
    }

    fn lzma(&self, input: &[u8], max: usize, exact: Option<usize>) -> BlockResult {
        let hint = self.lzma_hint.load(Ordering::Relaxed);
        let first = LZMA_FORMS
            .iter()
            .copied()
            .find(|form| *form as u8 == hint)
            .unwrap_or(LzmaForm::Alone);
        let mut first_err = None;
        for form in std::iter::once(first).chain(LZMA_FORMS.into_iter().filter(|f| *f != first)) {
            match lzma_form(form, input, max, exact) {
                Ok(out) => {
                    self.lzma_hint.store(form as u8, Ordering::Relaxed);
                    return Ok(out);
                }
                Err(err) => {
                    first_err.get_or_insert(err);
                }
            }
        }
        Err(first_err.unwrap_or(ReadError::Decode(
            "lzma block could not be decoded".to_owned(),
        )))
    }
}

fn check_exact(out: Vec<u8>, exact: Option<usize>) -> BlockResult {
    match exact {
        Some(len) if out.len() != len => Err(ReadError::Size {
            what: "block",
            expected: len as u64,
            found: out.len() as u64,
        }),
        _ => Ok(out),
    }
}

fn standard(codec: Codec, input: &[u8], max: usize) -> BlockResult {
    decompress(codec, input, max as u64)
        .map(|out| out.data)
        .map_err(|err| ReadError::decode(&err))
}

fn lzma_form(form: LzmaForm, input: &[u8], max: usize, exact: Option<usize>) -> BlockResult {
    // Past the largest block no match can reach further back, so a smaller dictionary decodes
    // the same stream with far less memory than the 8 MiB vendors write in the header.
    let dict_cap = (max.max(4096).next_power_of_two()) as u32;
    let (codec, body) = match form {
        LzmaForm::Alone => {
            // Decoded as raw LZMA with the header's properties rather than through liblzma's
            // `.lzma` reader, which would allocate whatever dictionary the (untrusted) header
            // names, up to 4 GiB.
            let props = *input.first().ok_or(ReadError::Truncated("lzma block"))?;
            let (lc, lp, pb) = split_props(props).ok_or(ReadError::OutOfRange {
                what: "lzma properties byte",
                value: u64::from(props),
            })?;
            let dict = Endian::Little
                .u32(input, 1)
                .ok_or(ReadError::Truncated("lzma block header"))?;
            let size = Endian::Little
                .u64(input, 5)
                .ok_or(ReadError::Truncated("lzma block header"))?;
            if size != u64::MAX && size > max as u64 {
                return Err(ReadError::Invalid {
                    what: "lzma header output size",
                    value: size.to_string(),
                    rule: "more than the block size",
                });
            }
            let codec = Codec::Lzma1Raw {
                lc,
                lp,
                pb,
                dict_size: dict.clamp(4096, dict_cap),
            };
            let known = usize::try_from(size).ok().filter(|_| size != u64::MAX);
            return raw_lzma(
                codec,
                input.get(13..).unwrap_or_default(),
                max,
                exact.or(known),
            );
        }
        LzmaForm::PropsDict => {
            let props = *input.first().ok_or(ReadError::Truncated("lzma block"))?;
            let dict = Endian::Little
                .u32(input, 1)
                .ok_or(ReadError::Truncated("lzma block header"))?;
            let (lc, lp, pb) = split_props(props).ok_or(ReadError::OutOfRange {
                what: "lzma properties byte",
                value: u64::from(props),
            })?;
            let codec = Codec::Lzma1Raw {
                lc,
                lp,
                pb,
                dict_size: dict.clamp(4096, dict_cap),
            };
            (codec, input.get(5..).unwrap_or_default())
        }
        LzmaForm::Raw => (
            Codec::Lzma1Raw {
                lc: 3,
                lp: 0,
                pb: 2,
                dict_size: dict_cap,
            },
            input,
        ),
    };
    raw_lzma(codec, body, max, exact)
}

/// Decodes raw LZMA that may lack an end marker: the output is complete when it has the size
/// the block must have.
fn raw_lzma(codec: Codec, body: &[u8], max: usize, exact: Option<usize>) -> BlockResult {
    match decompress(codec, body, max as u64) {
        Ok(out) => check_exact(out.data, exact),
        // Raw streams without an end marker stop with "unexpected end of input": the output is
        // complete when it has the size the block must have.
        Err(DecompressError::Corrupt { partial, .. })
            if !partial.is_empty() && exact.is_none_or(|len| partial.len() == len) =>
        {
            Ok(partial)
        }
        // Without an end marker the decoder may also run a few symbols past the true end on the
        // range coder's last bytes; the block is the first `exact` bytes.
        Err(DecompressError::TooLarge { partial, .. })
            if exact.is_some_and(|len| partial.len() == len) =>
        {
            Ok(partial)
        }
        Err(err) => Err(ReadError::decode(&err)),
    }
}

fn split_props(props: u8) -> Option<(u32, u32, u32)> {
    if props >= 9 * 5 * 5 {
        return None;
    }
    let props = u32::from(props);
    let (lc, lp, pb) = (props % 9, (props / 9) % 5, props / 45);
    (lc + lp <= 4).then_some((lc, lp, pb))
}

/// A decompressed metadata block and where the next one starts.
struct MetaBlock {
    data: Vec<u8>,
    next: u64,
}

/// Reads metadata (inodes, directories, fragment entries): 8 KiB blocks with a 2-byte header,
/// each inflated once and cached by its position.
struct Metadata<'a> {
    image: &'a [u8],
    sb: &'a Superblock,
    decoder: &'a Decoder,
    cache: HashMap<u64, Result<Arc<MetaBlock>, ReadError>>,
    /// Bytes held in the cache, bounded by `cache_limit`.
    cached: u64,
    cache_limit: u64,
    /// The cache is working memory: drawn from the budget block by block, released at the end.
    reservation: Reservation<'a>,
    /// The limit that refused more metadata, if one did.
    refused: Option<Limit>,
}

impl<'a> Metadata<'a> {
    fn new(image: &'a [u8], sb: &'a Superblock, decoder: &'a Decoder, budget: &'a Budget) -> Self {
        Self {
            image,
            sb,
            decoder,
            cache: HashMap::new(),
            cached: 0,
            cache_limit: budget.max_output_for(image.len() as u64).max(1 << 20),
            reservation: budget.working_memory(),
            refused: None,
        }
    }

    fn block(&mut self, pos: u64) -> Result<Arc<MetaBlock>, ReadError> {
        if let Some(cached) = self.cache.get(&pos) {
            return cached.clone();
        }
        if let Err(limit) = self.reservation.grow(METADATA_SIZE as u64) {
            self.refused.get_or_insert(limit);
            return Err(ReadError::Limit(limit).at(format!("metadata block at {pos:#x}")));
        }
        let res = self.inflate(pos).map(Arc::new);
        if let Ok(block) = &res {
            self.cached += block.data.len() as u64;
        }
        self.cache.insert(pos, res.clone());
        res
    }

    fn inflate(&self, pos: u64) -> Result<MetaBlock, ReadError> {
        let at = || format!("metadata block at {pos:#x}");
        if self.cached > self.cache_limit {
            // More metadata than the image could expand to.
            return Err(ReadError::Limit(Limit::Ratio).at(at()));
        }
        let start = usize::try_from(pos).map_err(|_| ReadError::OutOfRange {
            what: "metadata offset",
            value: pos,
        })?;
        let header = self
            .sb
            .endian
            .u16(self.image, start)
            .ok_or_else(|| ReadError::PastEnd {
                what: "metadata block".to_owned(),
                offset: pos,
            })?;
        let len = usize::from(header & 0x7fff);
        // 2.x/3.x images made with `-check_data` put a marker byte after each header.
        let skip = if legacy::check_byte(self.sb) { 3 } else { 2 };
        let body = self
            .image
            .get(start + skip..start + skip + len)
            .ok_or_else(|| ReadError::PastEnd {
                what: format!("metadata block of {len} bytes"),
                offset: pos,
            })?;
        if len == 0 {
            return Err(ReadError::Invalid {
                what: "length",
                value: "0".to_owned(),
                rule: "a metadata block holds at least one byte",
            }
            .at(at()));
        }
        let data = if header & 0x8000 == 0 {
            self.decoder
                .block(body, METADATA_SIZE, None)
                .map_err(|err| err.at(at()))?
        } else {
            body.to_vec()
        };
        if data.len() > METADATA_SIZE {
            return Err(ReadError::Size {
                what: "metadata block",
                expected: METADATA_SIZE as u64,
                found: data.len() as u64,
            }
            .at(at()));
        }
        Ok(MetaBlock {
            data,
            next: pos + (skip + len) as u64,
        })
    }

    /// Reads `len` bytes starting `offset` bytes into the block at `pos`, following the chain.
    /// Returns the bytes and the position just after them.
    fn read(
        &mut self,
        mut pos: u64,
        mut offset: usize,
        len: usize,
    ) -> Result<(Vec<u8>, u64, usize), ReadError> {
        let mut out = Vec::with_capacity(len.min(1 << 20));
        while out.len() < len {
            let block = self.block(pos)?;
            if offset > block.data.len() || (offset == block.data.len() && block.data.is_empty()) {
                return Err(ReadError::OutOfRange {
                    what: "metadata offset",
                    value: offset as u64,
                }
                .at(format!("metadata block at {pos:#x}")));
            }
            let want = len - out.len();
            let avail = block.data.get(offset..).unwrap_or_default();
            let take = want.min(avail.len());
            out.extend_from_slice(&avail[..take]);
            offset += take;
            if out.len() < len {
                pos = block.next;
                offset = 0;
            }
        }
        Ok((out, pos, offset))
    }
}

/// A cursor in a metadata stream.
struct Cursor {
    pos: u64,
    offset: usize,
}

impl Cursor {
    fn take(&mut self, meta: &mut Metadata<'_>, len: usize) -> Result<Vec<u8>, ReadError> {
        let (bytes, pos, offset) = meta.read(self.pos, self.offset, len)?;
        self.pos = pos;
        self.offset = offset;
        Ok(bytes)
    }
}

/// A regular file's layout.
#[derive(Clone, Debug)]
struct FileInode {
    blocks_start: u64,
    file_size: u64,
    fragment: Option<(u32, u32)>,
    block_sizes: Vec<u32>,
}

#[derive(Clone, Debug)]
enum InodeKind {
    Dir {
        start_block: u32,
        offset: u16,
        file_size: u32,
    },
    File(FileInode),
    /// A regular file whose size a limit refused.
    FileOverLimit {
        file_size: u64,
        limit: Limit,
    },
    Symlink(String),
    Special(&'static str),
}

#[derive(Clone, Debug)]
struct Inode {
    kind: InodeKind,
    mode: u32,
    /// Seconds since the epoch (2.x records it only for files and directories).
    mtime: Option<i64>,
}

/// Reads the inode at `inode_ref`. A regular file's size is accounted against `budget` here,
/// before its block list is read, so a file over the limits costs no more than its header.
fn read_inode(
    meta: &mut Metadata<'_>,
    inode_ref: u64,
    budget: &Budget,
) -> Result<Inode, ReadError> {
    let sb = meta.sb;
    let endian = sb.endian;
    let mut cursor = Cursor {
        pos: sb.inode_table + (inode_ref >> 16),
        offset: (inode_ref & 0xffff) as usize,
    };
    if sb.version < 4 {
        return legacy::read_inode(meta, |meta, len| cursor.take(meta, len), budget);
    }
    let header = cursor.take(meta, 16)?;
    let itype = endian.u16(&header, 0).unwrap_or_default();
    let mode = u32::from(endian.u16(&header, 2).unwrap_or_default() & 0o7777);
    let mtime = endian.u32(&header, 8).map(i64::from);
    let r16 = |b: &[u8], off| endian.u16(b, off).unwrap_or_default();
    let r32 = |b: &[u8], off| endian.u32(b, off).unwrap_or_default();
    let r64 = |b: &[u8], off| endian.u64(b, off).unwrap_or_default();
    let kind = match itype {
        1 => {
            let b = cursor.take(meta, 16)?;
            InodeKind::Dir {
                start_block: r32(&b, 0),
                file_size: u32::from(r16(&b, 8)),
                offset: r16(&b, 10),
            }
        }
        8 => {
            // The directory index that follows is only a lookup accelerator; it is not read.
            let b = cursor.take(meta, 24)?;
            InodeKind::Dir {
                file_size: r32(&b, 4),
                start_block: r32(&b, 8),
                offset: r16(&b, 18),
            }
        }
        2 | 9 => {
            let (blocks_start, frag, frag_offset, file_size) = if itype == 2 {
                let b = cursor.take(meta, 16)?;
                (
                    u64::from(r32(&b, 0)),
                    r32(&b, 4),
                    r32(&b, 8),
                    u64::from(r32(&b, 12)),
                )
            } else {
                let b = cursor.take(meta, 40)?;
                (r64(&b, 0), r32(&b, 28), r32(&b, 32), r64(&b, 8))
            };
            return file_inode(
                meta,
                &mut |meta, len| cursor.take(meta, len),
                budget,
                (mode, mtime),
                (blocks_start, frag, frag_offset, file_size),
            );
        }
        3 | 10 => {
            let b = cursor.take(meta, 8)?;
            let target_len = r32(&b, 4) as usize;
            if target_len > 65_535 {
                return Err(ReadError::OutOfRange {
                    what: "symlink target length",
                    value: target_len as u64,
                });
            }
            let target = cursor.take(meta, target_len)?;
            InodeKind::Symlink(String::from_utf8_lossy(&target).into_owned())
        }
        4 | 11 => InodeKind::Special("block-device"),
        5 | 12 => InodeKind::Special("char-device"),
        6 | 13 => InodeKind::Special("fifo"),
        7 | 14 => InodeKind::Special("socket"),
        other => {
            return Err(ReadError::Unknown {
                what: "inode type",
                value: u64::from(other),
            });
        }
    };
    Ok(Inode { kind, mode, mtime })
}

/// Finishes a regular file inode: accounts its size, then reads its block list.
fn file_inode(
    meta: &mut Metadata<'_>,
    fetch: &mut impl FnMut(&mut Metadata<'_>, usize) -> Result<Vec<u8>, ReadError>,
    budget: &Budget,
    (mode, mtime): (u32, Option<i64>),
    (blocks_start, frag, frag_offset, file_size): (u64, u32, u32, u64),
) -> Result<Inode, ReadError> {
    let over = |limit| {
        Ok(Inode {
            kind: InodeKind::FileOverLimit { file_size, limit },
            mode,
            mtime,
        })
    };
    if file_size > budget.limits().max_file_bytes {
        return over(Limit::FileBytes);
    }
    let block_size = u64::from(meta.sb.block_size);
    let n_blocks = if frag == NO_FRAGMENT {
        file_size.div_ceil(block_size)
    } else {
        file_size / block_size
    };
    // Each block needs a 4-byte entry in metadata, which cannot hold more entries than the image
    // could describe; this rejects absurd sizes before any allocation.
    let list_len = n_blocks
        .checked_mul(4)
        .filter(|len| *len <= meta.cache_limit)
        .ok_or(ReadError::Invalid {
            what: "file size",
            value: file_size.to_string(),
            rule: "needs more block entries than the image can hold",
        })?;
    let list = fetch(meta, list_len as usize)?;
    let endian = meta.sb.endian;
    let block_sizes: Vec<u32> = list
        .chunks_exact(4)
        .map(|chunk| endian.u32(chunk, 0).unwrap_or_default())
        .collect();
    // Accounted here, in listing order, so which files a limit skips does not depend on
    // scheduling. Sparse blocks store nothing and the tail sits in a shared fragment: what the
    // file stores is its block list, its blocks and its tail, and its size may be at most the
    // expansion ratio times that.
    let stored = list_len
        + block_sizes
            .iter()
            .map(|word| u64::from(word & (BLOCK_UNCOMPRESSED - 1)))
            .sum::<u64>()
        + if frag == NO_FRAGMENT {
            0
        } else {
            file_size % block_size
        };
    match budget.reserve_expansion(file_size, stored) {
        Ok(reservation) => reservation.commit(file_size),
        Err(limit) => return over(limit),
    }
    Ok(Inode {
        kind: InodeKind::File(FileInode {
            blocks_start,
            file_size,
            fragment: (frag != NO_FRAGMENT).then_some((frag, frag_offset)),
            block_sizes,
        }),
        mode,
        mtime,
    })
}

/// One directory entry.
struct DirEntry {
    name: String,
    inode_ref: u64,
}

fn read_dir(
    meta: &mut Metadata<'_>,
    start_block: u32,
    offset: u16,
    file_size: u32,
) -> Result<Vec<DirEntry>, ReadError> {
    let endian = meta.sb.endian;
    // The stored size counts `.` and `..`, which take no space (from 3.0 on).
    let len = if meta.sb.version >= 3 {
        file_size.saturating_sub(3)
    } else {
        file_size
    } as usize;
    if len == 0 {
        return Ok(Vec::new());
    }
    let mut cursor = Cursor {
        pos: meta.sb.dir_table + u64::from(start_block),
        offset: usize::from(offset),
    };
    let listing = cursor.take(meta, len)?;
    if meta.sb.version < 4 {
        return legacy::parse_dir(&listing, meta.sb);
    }
    let mut entries = Vec::new();
    let mut pos = 0;
    while pos + 12 <= listing.len() {
        let count = endian.u32(&listing, pos).unwrap_or_default() as usize + 1;
        let start = endian.u32(&listing, pos + 4).unwrap_or_default();
        pos += 12;
        if count > 256 {
            return Err(ReadError::Invalid {
                what: "directory header entry count",
                value: count.to_string(),
                rule: "at most 256",
            }
            .at(format!("listing offset {}", pos - 12)));
        }
        for _ in 0..count {
            let entry_off = endian
                .u16(&listing, pos)
                .ok_or(ReadError::Truncated("directory listing inside an entry"))?;
            let name_len = usize::from(
                endian
                    .u16(&listing, pos + 6)
                    .ok_or(ReadError::Truncated("directory listing inside an entry"))?,
            ) + 1;
            let name = listing
                .get(pos + 8..pos + 8 + name_len)
                .ok_or(ReadError::Truncated("directory listing inside a name"))?;
            pos += 8 + name_len;
            entries.push(DirEntry {
                name: String::from_utf8_lossy(name).into_owned(),
                inode_ref: (u64::from(start) << 16) | u64::from(entry_off),
            });
        }
    }
    Ok(entries)
}

/// A file whose contents still have to be decompressed.
struct FileJob {
    entry_idx: usize,
    path: String,
    inode: FileInode,
}

/// Parses a squashfs image at the start of `data`.
pub fn parse(data: &[u8], budget: &Budget) -> FsListing {
    let mut listing = FsListing::default();
    let sb = match read_superblock(data) {
        Ok(sb) => sb,
        Err(message) => {
            listing
                .diagnostics
                .push(Diagnostic::warning("", message.to_string()).at(0).with_hint(
                    "only squashfs 2.0 to 4.0 are read; `unsquashfs -s` shows what the header says",
                ));
            return listing;
        }
    };
    listing.size = Some(sb.bytes_used);
    listing.note_truncation(sb.bytes_used, data.len());
    let decoder = Decoder::new(sb.compressor);
    if sb.flags & FLAG_COMPRESSOR_OPTIONS != 0 {
        // The options block only tunes the encoder (levels, window, filters) or, for lz4, names
        // format version 1, the only one; each stream carries what decoding needs.
    }
    let mut meta = Metadata::new(data, &sb, &decoder, budget);
    let mut jobs = Vec::new();
    walk(&mut meta, budget, &mut listing, &mut jobs);
    let (fragments, held) = read_fragments(&mut meta, &jobs, budget, &mut listing);
    if let Some(limit) = meta.refused {
        listing.cut(
            Diagnostic::warning(
                "",
                format!("metadata (inodes, directories) past some point not read: {limit}"),
            )
            .with_hint(limit.hint()),
            "the entries whose metadata was not read",
            limit.into(),
        );
    }
    drop(meta);
    fill_files(data, &sb, &decoder, &fragments, &jobs, budget, &mut listing);
    drop(held);
    listing
}

/// Walks the directory tree from the root, emitting entries and collecting file jobs.
fn walk(
    meta: &mut Metadata<'_>,
    budget: &Budget,
    listing: &mut FsListing,
    jobs: &mut Vec<FileJob>,
) {
    let root_ref = meta.sb.root_inode;
    let root = match read_inode(meta, root_ref, budget) {
        Ok(inode) => inode,
        Err(err) => {
            listing.diagnostics.push(
                Diagnostic::warning("", format!("root inode {root_ref:#x}: {err}"))
                    .at(meta.sb.inode_table),
            );
            return;
        }
    };
    let mut visited_dirs = HashSet::from([root_ref]);
    let mut seen_inodes: HashMap<u64, (String, u32, Option<i64>)> = HashMap::new();
    // Depth-first, children in directory order; the stack holds (path, directory inode, depth).
    let mut stack = vec![(String::new(), root, 0usize)];
    while let Some((dir_path, dir_inode, depth)) = stack.pop() {
        let InodeKind::Dir {
            start_block,
            offset,
            file_size,
        } = dir_inode.kind
        else {
            continue;
        };
        let entries = match read_dir(meta, start_block, offset, file_size) {
            Ok(entries) => entries,
            Err(err) => {
                listing.diagnostics.push(
                    Diagnostic::warning(dir_path.clone(), format!("directory listing: {err}"))
                        .at(meta.sb.dir_table + u64::from(start_block)),
                );
                continue;
            }
        };
        let mut subdirs = Vec::new();
        for entry in entries {
            let path = format!("{dir_path}/{}", entry.name);
            if entry.name.is_empty() {
                continue;
            }
            if let Some((first, mode, mtime)) = seen_inodes.get(&entry.inode_ref) {
                // A hard link: the inode is not read again.
                if let Err(limit) = budget.take_entry_with(path.len() as u64) {
                    listing.cut_rest(path, limit);
                    return;
                }
                listing.entries.push(FsEntry {
                    path,
                    kind: NodeKind::Hardlink {
                        target: first.clone(),
                    },
                    mode: Some(*mode),
                    mtime: *mtime,
                });
                continue;
            }
            if visited_dirs.contains(&entry.inode_ref) {
                let before = format!("directory inode {:#x} was already read", entry.inode_ref);
                listing.cut_loop(&path, None, &before);
                continue;
            }
            let inode = match read_inode(meta, entry.inode_ref, budget) {
                Ok(inode) => inode,
                Err(err) => {
                    listing.diagnostics.push(
                        Diagnostic::warning(path, format!("inode {:#x}: {err}", entry.inode_ref))
                            .at(meta.sb.inode_table + (entry.inode_ref >> 16)),
                    );
                    continue;
                }
            };
            if let Err(limit) = budget.take_entry_with(path.len() as u64) {
                listing.cut_rest(path, limit);
                return;
            }
            let mode = Some(inode.mode);
            let kind = match &inode.kind {
                InodeKind::Dir { .. } => {
                    if !visited_dirs.insert(entry.inode_ref) {
                        let before =
                            format!("directory inode {:#x} was already read", entry.inode_ref);
                        listing.cut_loop(&path, None, &before);
                        continue;
                    }
                    if depth + 1 > MAX_DEPTH {
                        listing.cut_too_deep(&path, None, MAX_DEPTH);
                        continue;
                    }
                    subdirs.push((path.clone(), inode.clone(), depth + 1));
                    NodeKind::Dir
                }
                InodeKind::File(file) => {
                    seen_inodes.insert(entry.inode_ref, (path.clone(), inode.mode, inode.mtime));
                    jobs.push(FileJob {
                        entry_idx: listing.entries.len(),
                        path: path.clone(),
                        inode: file.clone(),
                    });
                    NodeKind::File { data: Bytes::new() }
                }
                InodeKind::FileOverLimit { file_size, limit } => {
                    seen_inodes.insert(entry.inode_ref, (path.clone(), inode.mode, inode.mtime));
                    listing.cut(
                        Diagnostic::warning(
                            path.clone(),
                            format!(
                                "{limit}: the file has {file_size} bytes; listed without contents"
                            ),
                        )
                        .with_hint(limit.hint()),
                        "the file's contents",
                        CutReason::from(*limit),
                    );
                    NodeKind::File { data: Bytes::new() }
                }
                InodeKind::Symlink(target) => NodeKind::Symlink {
                    target: target.clone(),
                },
                InodeKind::Special(what) => NodeKind::Special {
                    what: (*what).to_owned(),
                },
            };
            listing.entries.push(FsEntry {
                path,
                kind,
                mode,
                mtime: inode.mtime,
            });
        }
        // Reverse so the first subdirectory is walked first.
        stack.extend(subdirs.into_iter().rev());
    }
}

/// Fragment blocks the files need, each inflated once (in parallel).
type Fragments = HashMap<u32, Result<Arc<Vec<u8>>, ReadError>>;

fn read_fragments<'b>(
    meta: &mut Metadata<'_>,
    jobs: &[FileJob],
    budget: &'b Budget,
    listing: &mut FsListing,
) -> (Fragments, Reservation<'b>) {
    let sb = meta.sb;
    let mut wanted: Vec<u32> = jobs
        .iter()
        .filter_map(|job| job.inode.fragment.map(|(idx, _)| idx))
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut fragments = Fragments::new();
    let mut locations = Vec::new();
    for idx in wanted {
        let res = fragment_location(meta, idx);
        match res {
            Ok(location) => locations.push((idx, location)),
            Err(err) => {
                fragments.insert(idx, Err(err));
            }
        }
    }
    // Fragment blocks are working memory, not output: drawn from the budget before they are
    // inflated, held until the files are filled, then released.
    let mut held = budget.working_memory();
    let mut bounded = Vec::new();
    let mut refused = None;
    for (idx, (start, size)) in locations {
        if let Err(limit) = held.grow(u64::from(sb.block_size)) {
            refused.get_or_insert((idx, limit));
            fragments.insert(idx, Err(ReadError::Limit(limit)));
            continue;
        }
        bounded.push((idx, start, size));
    }
    if let Some((idx, limit)) = refused {
        listing.cut(
            Diagnostic::warning(
                "",
                format!("fragment blocks from {idx} on not read: {limit}"),
            )
            .with_hint(limit.hint()),
            format!("the tails of files in fragment blocks from {idx} on"),
            limit.into(),
        );
    }
    let image = meta.image;
    let decoder = meta.decoder;
    let inflated: Vec<_> = bounded
        .par_iter()
        .map(|&(idx, start, size)| {
            (
                idx,
                data_block(image, decoder, sb.block_size as usize, start, size, None),
            )
        })
        .collect();
    for (idx, res) in inflated {
        fragments.insert(
            idx,
            res.map(Arc::new)
                .map_err(|err| err.at(format!("fragment block {idx}"))),
        );
    }
    (fragments, held)
}

/// Where fragment block `idx` is stored: (start, size word).
fn fragment_location(meta: &mut Metadata<'_>, idx: u32) -> Result<(u64, u32), ReadError> {
    let sb = meta.sb;
    if idx >= sb.frag_count {
        return Err(ReadError::Invalid {
            what: "fragment index",
            value: idx.to_string(),
            rule: "past the fragment table",
        });
    }
    let (entry_len, pointer_len) = if sb.version < 4 {
        legacy::fragment_layout(sb)
    } else {
        (16, 8)
    };
    let byte = u64::from(idx) * entry_len;
    let index_pos = sb.frag_table + (byte / METADATA_SIZE as u64) * pointer_len;
    let index_at = usize::try_from(index_pos).unwrap_or(usize::MAX);
    let block_pos = if pointer_len == 8 {
        sb.endian.u64(meta.image, index_at)
    } else {
        sb.endian.u32(meta.image, index_at).map(u64::from)
    }
    .ok_or_else(|| ReadError::PastEnd {
        what: "fragment table index".to_owned(),
        offset: index_pos,
    })?;
    let mut cursor = Cursor {
        pos: block_pos,
        offset: (byte % METADATA_SIZE as u64) as usize,
    };
    let entry = cursor.take(meta, entry_len as usize)?;
    if sb.version < 4 {
        return Ok(legacy::fragment_entry(&entry, sb));
    }
    Ok((
        sb.endian.u64(&entry, 0).unwrap_or_default(),
        sb.endian.u32(&entry, 8).unwrap_or_default(),
    ))
}

/// Reads one data or fragment block: `size_word` is the on-disk size with the uncompressed bit.
fn data_block(
    image: &[u8],
    decoder: &Decoder,
    block_size: usize,
    start: u64,
    size_word: u32,
    exact: Option<usize>,
) -> BlockResult {
    let len = (size_word & (BLOCK_UNCOMPRESSED - 1)) as usize;
    if len > block_size {
        return Err(ReadError::Invalid {
            what: "block size",
            value: len.to_string(),
            rule: "more than the filesystem's block size",
        }
        .at(format!("block at {start:#x}")));
    }
    let begin = usize::try_from(start).map_err(|_| ReadError::OutOfRange {
        what: "block offset",
        value: start,
    })?;
    let raw = image
        .get(begin..begin.saturating_add(len))
        .ok_or_else(|| ReadError::PastEnd {
            what: format!("block of {len} bytes"),
            offset: start,
        })?;
    if size_word & BLOCK_UNCOMPRESSED != 0 {
        let keep = exact.unwrap_or(raw.len()).min(raw.len());
        return check_exact(raw[..keep].to_vec(), exact);
    }
    decoder.block(raw, exact.unwrap_or(block_size), exact)
}

/// What became of one file: its bytes and the problems met.
struct FileOutput {
    data: Vec<u8>,
    diagnostics: Vec<Diagnostic>,
    /// Blocks the budget refused to decode (zero-filled): the first one's index and the limit.
    refused: Option<(usize, Limit)>,
}

fn fill_files(
    image: &[u8],
    sb: &Superblock,
    decoder: &Decoder,
    fragments: &Fragments,
    jobs: &[FileJob],
    budget: &Budget,
    listing: &mut FsListing,
) {
    // Sizes were accounted while walking, in listing order, so which files a limit skips does
    // not depend on scheduling.
    let outputs: Vec<(usize, FileOutput)> = jobs
        .par_iter()
        .map(|job| {
            let output = read_file(image, sb, decoder, fragments, job, budget);
            (job.entry_idx, output)
        })
        .collect();
    for ((entry_idx, output), job) in outputs.into_iter().zip(jobs) {
        if let Some(entry) = listing.entries.get_mut(entry_idx) {
            entry.kind = NodeKind::File {
                data: Bytes::from(output.data),
            };
        }
        listing.diagnostics.extend(output.diagnostics);
        if let Some((idx, limit)) = output.refused {
            let block_size = u64::from(sb.block_size);
            listing.cut(
                Diagnostic::warning(
                    job.path.clone(),
                    format!("data blocks from {idx} on not decoded: {limit}; zero-filled"),
                )
                .at(job.inode.blocks_start)
                .with_hint(limit.hint()),
                format!(
                    "bytes from {} on of the file (some blocks)",
                    idx as u64 * block_size
                ),
                limit.into(),
            );
        }
    }
}

fn read_file(
    image: &[u8],
    sb: &Superblock,
    decoder: &Decoder,
    fragments: &Fragments,
    job: &FileJob,
    budget: &Budget,
) -> FileOutput {
    let inode = &job.inode;
    let block_size = sb.block_size as usize;
    let file_size = inode.file_size as usize;
    // Block positions follow each other from `blocks_start`.
    let mut positions = Vec::with_capacity(inode.block_sizes.len());
    let mut pos = inode.blocks_start;
    for &word in &inode.block_sizes {
        positions.push(pos);
        pos = pos.saturating_add(u64::from(word & (BLOCK_UNCOMPRESSED - 1)));
    }
    // One buffer of the file's size (reserved when the inode was read), filled block by block in
    // parallel: sparse and damaged blocks stay zeros, and no block is held twice.
    let mut data = vec![0u8; file_size];
    let blocks_len = inode
        .block_sizes
        .len()
        .saturating_mul(block_size)
        .min(file_size);
    let (blocks, tail_space) = data.split_at_mut(blocks_len);
    let problems: Vec<BlockProblem> = blocks
        .par_chunks_mut(block_size)
        .zip(inode.block_sizes.par_iter())
        .zip(positions.par_iter())
        .enumerate()
        .filter_map(|(idx, ((chunk, &word), &start))| {
            if word & (BLOCK_UNCOMPRESSED - 1) == 0 {
                // A sparse block: zeros, nothing stored.
                return None;
            }
            // Each block decodes into a buffer of its own before it is copied into the file:
            // drawn from the budget first, so parallel decoders cannot together hold more than
            // the limits allow (a block may be 1 MiB, times every thread).
            let mut scratch = budget.working_memory();
            if let Err(limit) = scratch.grow(chunk.len() as u64) {
                return Some(BlockProblem::Refused(idx, limit));
            }
            match data_block(image, decoder, block_size, start, word, Some(chunk.len())) {
                Ok(bytes) => {
                    let len = bytes.len().min(chunk.len());
                    chunk[..len].copy_from_slice(&bytes[..len]);
                    None
                }
                Err(err) => Some(BlockProblem::Damaged(
                    Diagnostic::warning(
                        job.path.clone(),
                        format!("data block {idx} at {start:#x}: {err}; zero-filled"),
                    )
                    .at(inode.blocks_start),
                )),
            }
        })
        .collect();
    let mut diagnostics = Vec::new();
    let mut refused = None;
    for problem in problems {
        match problem {
            BlockProblem::Damaged(diagnostic) => diagnostics.push(diagnostic),
            // In block order, so the first refused block is the one named.
            BlockProblem::Refused(idx, limit) => {
                refused.get_or_insert((idx, limit));
            }
        }
    }
    if let Some((idx, offset)) = inode.fragment {
        let tail = tail_space.len();
        let res = match fragments.get(&idx) {
            Some(Ok(block)) => block
                .get(offset as usize..(offset as usize).saturating_add(tail))
                .ok_or_else(|| {
                    ReadError::Size {
                        what: "fragment block",
                        expected: u64::from(offset) + tail as u64,
                        found: block.len() as u64,
                    }
                    .at(format!("fragment {idx}"))
                }),
            Some(Err(err)) => Err(err.clone()),
            None => Err(ReadError::Truncated("fragment table").at(format!("fragment {idx}"))),
        };
        match res {
            Ok(bytes) => tail_space.copy_from_slice(bytes),
            Err(err) => {
                diagnostics.push(Diagnostic::warning(
                    job.path.clone(),
                    format!("{err}; tail zero-filled"),
                ));
            }
        }
    }
    FileOutput {
        data,
        diagnostics,
        refused,
    }
}

/// Why one data block of a file was left as zeros.
enum BlockProblem {
    /// It could not be read or decoded.
    Damaged(Diagnostic),
    /// The budget refused the memory to decode it (block index, the limit).
    Refused(usize, Limit),
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::Limits;
    use crate::fs::test_support::{big_file, file, render, repo};

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(repo().join("fixtures/unpack/squashfs").join(name)).unwrap()
    }

    fn shared(path: &str) -> Vec<u8> {
        std::fs::read(repo().join("../shared").join(path)).unwrap()
    }

    const FIXTURE_TREE: &str = "\
/bin 755 dir
/dev 755 dir
/empty-dir 755 dir
/etc 755 dir
/bin/big 755 file 10400
/bin/motd-link 777 symlink -> ../etc/motd
/dev/fifo 600 fifo
/dev/null 666 char-device
/etc/empty 644 file 0
/etc/init.d 755 dir
/etc/motd 644 file 19
/etc/motd.hard 644 hardlink -> /etc/motd
/etc/init.d/rcS 755 file 21
";

    #[track_caller]
    fn check_fixture(name: &str, description: &str) {
        let data = fixture(name);
        assert_eq!(probe(&data).unwrap().description, description);
        let listing = parse(&data, &Budget::new(Limits::default()));
        assert_eq!(listing.diagnostics, Vec::new(), "{name}");
        assert_eq!(render(&listing), FIXTURE_TREE, "{name}");
        assert_eq!(file(&listing, "/bin/big"), big_file(), "{name}");
        assert_eq!(file(&listing, "/etc/motd"), b"hello from consign\n");
        assert_eq!(
            file(&listing, "/etc/init.d/rcS"),
            b"#!/bin/sh\necho start\n"
        );
        assert_eq!(
            listing.size,
            Some(u64::from(u32::from_le_bytes(
                data[40..44].try_into().unwrap()
            )))
        );
    }

    #[test]
    fn every_compressor() {
        for (comp, inodes) in [
            ("gzip", 13),
            ("lzo", 13),
            ("lz4", 13),
            ("xz", 13),
            ("zstd", 13),
            ("lzma", 13),
        ] {
            check_fixture(
                &format!("sq-{comp}.img"),
                &format!("squashfs 4.0, little-endian, {comp}, {inodes} inodes, 4 KiB blocks"),
            );
        }
    }

    #[test]
    fn uncompressed_tables_and_no_devices() {
        let listing = parse(
            &fixture("sq-uncompressed.img"),
            &Budget::new(Limits::default()),
        );
        assert_eq!(listing.diagnostics, Vec::new());
        assert_eq!(file(&listing, "/bin/big"), big_file());
        assert_eq!(listing.entries.len(), 10);
    }

    #[test]
    fn vendor_lzma_router_rootfs() {
        let data = shared("samples/router-tew733gr-rootfs.squashfs");
        let listing = parse(&data, &Budget::new(Limits::default()));
        assert_eq!(listing.diagnostics, Vec::new());
        assert_eq!(listing.entries.len(), 1810);
        for (path, size) in [
            ("/bin/busybox", 499_376),
            ("/lib/libuClibc-0.9.30.1.so", 433_000),
            ("/lib/ld-uClibc-0.9.30.1.so", 22_500),
            ("/usr/sbin/hostapd", 381_644),
            ("/sbin/httpd", 91_780),
        ] {
            let bytes = file(&listing, path);
            assert_eq!(bytes.len(), size, "{path}");
            assert_eq!(&bytes[..4], b"\x7fELF", "{path}");
        }
        let rendered = render(&listing);
        assert!(rendered.contains("/lib/libc.so.0 777 symlink -> libuClibc-0.9.30.1.so\n"));
        assert!(rendered.contains("/bin/cat 777 symlink -> busybox\n"));
    }

    /// Finds the squashfs inside a flash image by its magic, as the carver would.
    fn embedded(data: &[u8]) -> &[u8] {
        let start = data
            .windows(4)
            .position(|window| window == b"hsqs")
            .unwrap();
        &data[start..]
    }

    #[test]
    fn corpus_xz_filesystems() {
        for (image, entries, path, size) in [
            (
                "corpus/images/router-armhf-uimage/flash.bin",
                313,
                "/usr/sbin/dnsmasq",
                None,
            ),
            (
                "corpus/images/ipcam-mipsel-uimage/firmware.bin",
                141,
                "/bin/busybox",
                None,
            ),
        ] {
            let data = shared(image);
            let fs = embedded(&data);
            assert!(probe(fs).unwrap().description.contains("xz"));
            let listing = parse(fs, &Budget::new(Limits::default()));
            assert_eq!(listing.diagnostics, Vec::new(), "{image}");
            assert_eq!(listing.entries.len(), entries, "{image}");
            let bytes = file(&listing, path);
            assert_eq!(&bytes[..4], b"\x7fELF", "{image} {path}");
            if let Some(size) = size {
                assert_eq!(bytes.len(), size);
            }
        }
    }

    #[test]
    fn corpus_bundle_inside_tar_gz() {
        use std::io::Read as _;
        let packed = shared("corpus/images/hub-armhf-bundle/hub_fw_2.4.1.tar.gz");
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&packed[..])
            .read_to_end(&mut tar)
            .unwrap();
        // Walk the ustar headers to the `app.squashfs` member.
        let mut off = 0;
        let fs = loop {
            let header = &tar[off..off + 512];
            let name_end = header[..100].iter().position(|&b| b == 0).unwrap_or(100);
            let size_text = std::str::from_utf8(&header[124..135])
                .unwrap()
                .trim_matches(char::from(0));
            let size = usize::from_str_radix(size_text.trim(), 8).unwrap();
            if &header[..name_end] == b"app.squashfs" {
                break &tar[off + 512..off + 512 + size];
            }
            off += 512 + size.next_multiple_of(512);
        };
        let listing = parse(fs, &Budget::new(Limits::default()));
        assert_eq!(listing.diagnostics, Vec::new());
        assert_eq!(listing.entries.len(), 65);
    }

    /// Every prefix length class and a spread of bit flips: never a panic, never slow.
    #[track_caller]
    fn mangle(data: &[u8]) {
        let limits = Limits {
            max_total_bytes: 64 << 20,
            ..Limits::default()
        };
        let started = Instant::now();
        let used = probe(data)
            .and_then(|probe| probe.size)
            .unwrap_or(data.len() as u64) as usize;
        let used = used.min(data.len());
        for cut in [0, 4, 95, 96, 200, used / 3, used / 2, used - 1] {
            let listing = parse(&data[..cut], &Budget::new(limits));
            assert!(!listing.diagnostics.is_empty(), "truncated at {cut}");
        }
        let mut seed = 0x9e37_79b9_u32;
        for _ in 0..40 {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let mut copy = data.to_vec();
            let idx = seed as usize % copy.len();
            copy[idx] ^= 1 << (seed >> 29);
            let _ = parse(&copy, &Budget::new(limits));
        }
        assert!(started.elapsed() < Duration::from_mins(1));
    }

    #[test]
    fn truncated_and_bit_flipped() {
        for comp in ["gzip", "lzo", "lz4", "xz", "zstd", "lzma", "uncompressed"] {
            mangle(&fixture(&format!("sq-{comp}.img")));
        }
        let data = shared("samples/router-tew733gr-rootfs.squashfs");
        mangle(&data[..data.len().min(1 << 20)]);
    }

    #[test]
    fn damaged_block_is_reported_and_the_rest_kept() {
        let mut data = fixture("sq-gzip.img");
        let listing = parse(&data, &Budget::new(Limits::default()));
        assert!(listing.diagnostics.is_empty());
        // The first data block of /bin/big starts right after the superblock.
        data[SUPERBLOCK_LEN + 4..SUPERBLOCK_LEN + 40].fill(0xff);
        let listing = parse(&data, &Budget::new(Limits::default()));
        assert_eq!(render(&listing), FIXTURE_TREE);
        assert_eq!(file(&listing, "/etc/motd"), b"hello from consign\n");
        let message = &listing.diagnostics[0];
        assert_eq!(message.location, "/bin/big");
        assert!(
            message.message.starts_with("data block 0 at 0x60:"),
            "{message}"
        );
    }

    #[test]
    fn directory_loop_is_cut() {
        let mut data = fixture("sq-uncompressed.img");
        let sb = read_superblock(&data).unwrap();
        assert_eq!(sb.root_inode >> 16, 0);
        let dir_table = sb.dir_table as usize;
        let name = data[dir_table..]
            .windows(3)
            .position(|window| window == b"bin")
            .unwrap()
            + dir_table;
        // Point the `bin` entry at the root directory's inode.
        data[name - 8..name - 6].copy_from_slice(&((sb.root_inode & 0xffff) as u16).to_le_bytes());
        let listing = parse(&data, &Budget::new(Limits::default()));
        assert!(render(&listing).contains("/etc/motd 644 file 19\n"));
        let root = sb.root_inode;
        let before = format!("directory inode {root:#x} was already read");
        crate::fs::test_support::assert_loop_cut(&listing, "/bin", &before);
    }

    #[test]
    fn limits_are_diagnosed() {
        let data = fixture("sq-xz.img");
        crate::fs::test_support::limits_are_diagnosed(&data, parse, "/bin/big", 1000, 3);
    }

    /// A data block decodes into a buffer of its own before it is copied into the file: that
    /// buffer is drawn from the budget too, so with no room left for one block the file's blocks
    /// are cut (zero-filled, said in a cut) instead of held past the limits.
    #[test]
    fn block_buffers_are_drawn_from_the_budget() {
        let data = fixture("sq-xz.img");
        let sb = read_superblock(&data).unwrap();
        let decoder = Decoder::new(sb.compressor);
        let budget = Budget::new(Limits::default());
        let mut meta = Metadata::new(&data, &sb, &decoder, &budget);
        let mut listing = FsListing::default();
        let mut jobs = Vec::new();
        walk(&mut meta, &budget, &mut listing, &mut jobs);
        let (fragments, _held) = read_fragments(&mut meta, &jobs, &budget, &mut listing);
        drop(meta);
        // The files' contents were reserved while walking; a block more does not fit.
        let full = Budget::new(Limits {
            max_total_bytes: u64::from(sb.block_size) - 1,
            ..Limits::default()
        });
        let mut cut = listing.clone();
        fill_files(&data, &sb, &decoder, &fragments, &jobs, &full, &mut cut);
        let big = cut.cuts.iter().find(|cut| cut.location == "/bin/big");
        let big = big.unwrap_or_else(|| panic!("no cut for /bin/big: {:?}", cut.cuts));
        assert!(big.what.contains("bytes from 0 on"), "{big:?}");
        // Its whole blocks are zeros; its tail sits in a fragment block, read before: it is there.
        let blocks = 10_400 / sb.block_size as usize * sb.block_size as usize;
        let (zeros, tail) = file(&cut, "/bin/big").split_at(blocks);
        assert!(zeros.iter().all(|&byte| byte == 0));
        assert_eq!(tail, &big_file()[blocks..]);
        assert_eq!(full.bytes_used(), 0, "scratch buffers are released");
        // With room, every block is decoded.
        let room = Budget::new(Limits::default());
        fill_files(&data, &sb, &decoder, &fragments, &jobs, &room, &mut listing);
        assert_eq!(listing.cuts, Vec::new());
        assert_eq!(file(&listing, "/bin/big"), big_file());
    }

    #[test]
    fn absurd_file_size_is_rejected_without_allocating() {
        let mut data = fixture("sq-uncompressed.img");
        let sb = read_superblock(&data).unwrap();
        // Find the basic file inode of /etc/init.d/rcS (21 bytes, a fragment) and claim 4 GiB - 1.
        let inodes = sb.inode_table as usize + 2..sb.dir_table as usize;
        let mut patched = false;
        let mut off = inodes.start;
        while off + 32 <= inodes.end {
            if u16::from_le_bytes([data[off], data[off + 1]]) == 2
                && u32::from_le_bytes(data[off + 28..off + 32].try_into().unwrap()) == 21
            {
                data[off + 28..off + 32].copy_from_slice(&u32::MAX.to_le_bytes());
                patched = true;
                break;
            }
            off += 1;
        }
        assert!(patched);
        let listing = parse(
            &data,
            &Budget::new(Limits {
                max_file_bytes: 1 << 20,
                ..Limits::default()
            }),
        );
        assert!(!listing.diagnostics.is_empty());
        assert_eq!(file(&listing, "/bin/big"), big_file());
    }

    #[test]
    fn version_2_big_endian_vendor_lzma() {
        let data = shared("samples/binwalk-squashfs_v2.bin");
        assert_eq!(
            probe(&data).unwrap().description,
            "squashfs 2.0, big-endian, gzip, 431 inodes, 64 KiB blocks"
        );
        let listing = parse(&data, &Budget::new(Limits::default()));
        assert_eq!(listing.diagnostics, Vec::new());
        assert_eq!(listing.entries.len(), 430);
        for (path, size) in [
            ("/bin/busybox", 224_756),
            ("/bin/cfm", 1_198_588),
            ("/lib/libc.so.0", 207_548),
            ("/lib/libcrypto.so.0.9.7", 781_000),
        ] {
            let bytes = file(&listing, path);
            assert_eq!(bytes.len(), size, "{path}");
            assert_eq!(&bytes[..6], b"\x7fELF\x01\x02", "{path}");
        }
        assert!(file(&listing, "/etc/default.cfg").starts_with(b"<psitree>\n<AtmCfg>"));
        // 2.x keeps a file's mtime in its own inode: `TZ=UTC unsquashfs -lln` shows
        // 2009-02-12 09:09 for both (it prints minutes).
        for path in ["/bin/busybox", "/lib/libc.so.0"] {
            let entry = listing.entries.iter().find(|e| e.path == path).unwrap();
            let mtime = entry.mtime.unwrap();
            assert!(
                (1_234_429_740..1_234_429_800).contains(&mtime),
                "{path}: {mtime}"
            );
        }
        let rendered = render(&listing);
        assert!(rendered.contains("/linuxrc 777 symlink -> bin/busybox\n"));
        mangle(&data[..1 << 20]);
    }

    /// Found by `cargo fuzz` (`fs_squashfs`): an lzma block header naming a 3 GiB dictionary made
    /// liblzma allocate it. The dictionary is now clamped to the block size.
    #[test]
    fn fuzz_lzma_dictionary_is_clamped() {
        let data = fixture("regress/oom-lzma-dictionary.bin");
        let limits = Limits {
            max_total_bytes: 64 << 20,
            max_file_bytes: 16 << 20,
            ..Limits::default()
        };
        let listing = parse(&data, &Budget::new(limits));
        assert!(!listing.diagnostics.is_empty());
    }

    #[test]
    fn unknown_versions_are_refused() {
        let mut data = fixture("sq-gzip.img");
        data[28] = 5;
        assert_eq!(probe(&data), None);
        let listing = parse(&data, &Budget::new(Limits::default()));
        assert!(
            listing.diagnostics[0]
                .message
                .contains("version 5.0 is not supported"),
            "{:?}",
            listing.diagnostics
        );
        assert_eq!(probe(b"hsqs"), None);
        assert_eq!(probe(b"garbage garbage"), None);
    }
}
