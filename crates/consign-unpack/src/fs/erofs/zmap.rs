//! EROFS compressed files: the logical-cluster index after the inode, the physical clusters it
//! maps, and their decoders.
//!
//! A compressed file is cut into logical clusters (lclusters) of `block << (h_clusterbits & 7)`
//! bytes. Each has an index entry: a head (`PLAIN`, uncompressed; `HEAD1`/`HEAD2`, compressed with
//! the first or second algorithm of the map header) starts an extent at its `clusterofs` and names
//! the physical cluster (pcluster) holding it; a `NONHEAD` continues the extent before it. An
//! extent runs from its head to the next head (or the file's end) and decodes from its pcluster:
//! one lcluster of blocks, or, with big pclusters, the count the first `NONHEAD` after the head
//! stores (`CBLKCNT`). The index is kept "full" (8 bytes an lcluster) or "compact" (packs of
//! two 4-byte or sixteen 2-byte entries sharing one block address, each head's block counted from
//! it). With tail packing the last extent's pcluster sits inline after the index; with fragments
//! the file's tail (or the whole file) sits in the packed inode at an offset the map header names.
//!
//! Every compressed pcluster is aligned to its end (`0padding`): leading zeros are skipped and the
//! rest must decode to exactly the extent's length. Uncompressed pclusters are copied as they are
//! (shifted) or rotated to the block (interlaced).

use rayon::prelude::*;

use super::{
    Data, DataError, INCOMPAT_ZERO_PADDING, Image, Inode, LAYOUT_COMPRESSED_FULL, read_data,
    reserve,
};
use crate::Budget;
use crate::binary::{u16le, u32le, u64le};
use crate::budget::Reservation;
use crate::decompress::{Codec, decode_with};

const TYPE_PLAIN: u8 = 0;
const TYPE_HEAD1: u8 = 1;
const TYPE_NONHEAD: u8 = 2;
const TYPE_HEAD2: u8 = 3;

/// `delta[0]` of the first `NONHEAD` after a big pcluster's head holds its block count.
const D0_CBLKCNT: u64 = 1 << 11;
/// A head whose extent references part of its pcluster (deduplication).
const PARTIAL_REF: u16 = 1 << 15;

const ADVISE_COMPACTED_2B: u16 = 0x01;
const ADVISE_BIG_PCLUSTER_1: u16 = 0x02;
const ADVISE_BIG_PCLUSTER_2: u16 = 0x04;
const ADVISE_INLINE_PCLUSTER: u16 = 0x08;
const ADVISE_INTERLACED_PCLUSTER: u16 = 0x10;
const ADVISE_FRAGMENT_PCLUSTER: u16 = 0x20;

/// The name of compression algorithm `number` (`Z_EROFS_COMPRESSION_*`).
pub(super) fn algorithm_name(number: u16) -> &'static str {
    match number {
        0 => "lz4",
        1 => "lzma",
        2 => "deflate",
        3 => "zstd",
        _ => "an unknown algorithm",
    }
}

/// The packed inode's data (fragments), read once when a file first needs it and held, drawn
/// from the budget, for the rest of the walk.
pub(crate) struct Packed<'b> {
    nid: u64,
    data: Option<Result<Vec<u8>, String>>,
    held: Option<Reservation<'b>>,
    /// Set while the packed inode itself is read: it cannot hold fragments of its own.
    loading: bool,
}

impl<'b> Packed<'b> {
    pub(super) fn new(nid: u64) -> Self {
        Packed {
            nid,
            data: None,
            held: None,
            loading: false,
        }
    }

    fn get(&mut self, image: &Image<'_>, budget: &'b Budget) -> Result<&[u8], String> {
        if self.loading {
            return Err("the packed inode refers to fragments of itself".to_owned());
        }
        if self.data.is_none() {
            self.loading = true;
            let read = image
                .inode(self.nid)
                .map_err(|why| format!("the packed inode: {why}"))
                .and_then(|inode| {
                    let mut nested = Packed::new(self.nid);
                    nested.loading = true;
                    read_data(image, &inode, budget, &mut nested).map_err(|err| {
                        format!("the packed inode (nid {}): {}", self.nid, err.message)
                    })
                });
            self.loading = false;
            self.data = Some(match read {
                Ok((bytes, reservation)) => {
                    self.held = Some(reservation);
                    Ok(bytes)
                }
                Err(why) => Err(why),
            });
        }
        match &self.data {
            Some(Ok(bytes)) => Ok(bytes),
            Some(Err(why)) => Err(why.clone()),
            None => Err("the packed inode was not read".to_owned()),
        }
    }
}

/// One logical cluster's index entry.
#[derive(Clone, Copy, Debug)]
struct Lcluster {
    kind: u8,
    /// Heads: where the extent starts in the lcluster.
    clusterofs: u64,
    /// Heads: the pcluster's first block.
    pblk: u64,
    /// The first `NONHEAD` after a big pcluster's head: the pcluster's block count.
    blocks: Option<u64>,
    partial: bool,
    /// Where the index goes on after this entry's pack (tail packing puts the tail there).
    next: u64,
}

/// The map header and index of one compressed inode.
struct Index<'i, 'a> {
    image: &'i Image<'a>,
    inode: &'i Inode,
    /// Where the map header is.
    header: u64,
    advise: u16,
    algorithms: [u8; 2],
    lclusterbits: u32,
    full: bool,
}

impl Index<'_, '_> {
    fn lcluster(&self) -> u64 {
        1 << self.lclusterbits
    }

    fn damaged(&self, message: String) -> DataError {
        DataError::damaged(message, self.header)
    }

    /// The index entry of `lcn`.
    fn load(&self, lcn: u64) -> Result<Lcluster, DataError> {
        if self.full {
            self.load_full(lcn)
        } else {
            self.load_compact(lcn)
        }
    }

    fn load_full(&self, lcn: u64) -> Result<Lcluster, DataError> {
        // The map header, then 8 reserved bytes, then one entry per lcluster.
        let pos = self.header + 16 + lcn * 8;
        let entry = self.image.bytes(pos, 8).ok_or_else(|| {
            self.damaged(format!(
                "the index entry of logical cluster {lcn} at {pos:#x} lies past the end of the image"
            ))
        })?;
        let advise = u16le(entry, 0).unwrap_or(0);
        let kind = (advise & 3) as u8;
        let mut out = Lcluster {
            kind,
            clusterofs: 0,
            pblk: 0,
            blocks: None,
            partial: advise & PARTIAL_REF != 0,
            next: pos + 8,
        };
        if kind == TYPE_NONHEAD {
            let delta0 = u64::from(u16le(entry, 4).unwrap_or(0));
            if delta0 & D0_CBLKCNT != 0 {
                out.blocks = Some(delta0 & !D0_CBLKCNT);
            }
        } else {
            out.clusterofs = u64::from(u16le(entry, 2).unwrap_or(0));
            out.pblk = u64::from(u32le(entry, 4).unwrap_or(0));
        }
        Ok(out)
    }

    /// Compact indexes: after the map header, 4-byte entries (two a pack) up to a 32-byte
    /// boundary, then (with `COMPACTED_2B`) 2-byte entries (sixteen a pack) in runs of 16, then
    /// 4-byte ones again. Each pack ends with the block address of its first head; the heads'
    /// blocks follow from it, one block each (or their `CBLKCNT` with big pclusters).
    fn load_compact(&self, lcn: u64) -> Result<Lcluster, DataError> {
        let block = self.image.sb.block;
        let total = self.inode.size.div_ceil(block);
        if lcn >= total {
            return Err(self.damaged(format!(
                "logical cluster {lcn} is past the file's {total} blocks"
            )));
        }
        let base = self.header + 8;
        let initial = ((32 - base % 32) / 4) & 7;
        let compacted_2b = if self.advise & ADVISE_COMPACTED_2B != 0 && initial < total {
            (total - initial) / 16 * 16
        } else {
            0
        };
        let (pos, shift) = if lcn < initial {
            (base + lcn * 4, 2)
        } else if lcn - initial < compacted_2b {
            (base + initial * 4 + (lcn - initial) * 2, 1)
        } else {
            (
                base + initial * 4 + compacted_2b * 2 + (lcn - initial - compacted_2b) * 4,
                2,
            )
        };
        let vcnt: u64 = match shift {
            2 if self.lclusterbits <= 14 => 2,
            1 if self.lclusterbits <= 12 => 16,
            _ => {
                return Err(DataError::unsupported(
                    format!(
                        "compact indexes of {}-byte logical clusters are not supported",
                        self.lcluster()
                    ),
                    self.header,
                ));
            }
        };
        let pack_len = vcnt << shift;
        let pack_at = pos / pack_len * pack_len;
        let pack = self.image.bytes(pack_at, pack_len).ok_or_else(|| {
            self.damaged(format!(
                "the index pack of logical cluster {lcn} at {pack_at:#x} lies past the end of the image"
            ))
        })?;
        let big = self.advise & ADVISE_BIG_PCLUSTER_1 != 0;
        let lobits = self.lclusterbits.max(12);
        let encodebits = (pack_len - 4) * 8 / vcnt;
        let decode = |i: u64| -> (u64, u8) {
            let bit = encodebits * i;
            let word = usize::try_from(bit / 8)
                .ok()
                .and_then(|at| u32le(pack, at))
                .unwrap_or(0)
                >> (bit % 8);
            (
                u64::from(word & ((1 << lobits) - 1)),
                ((word >> lobits) & 3) as u8,
            )
        };
        let i = (pos - pack_at) >> shift;
        let (lo, kind) = decode(i);
        let mut out = Lcluster {
            kind,
            clusterofs: 0,
            pblk: 0,
            blocks: None,
            partial: false,
            next: pack_at + pack_len,
        };
        if kind == TYPE_NONHEAD {
            if lo & D0_CBLKCNT != 0 {
                if !big {
                    return Err(self.damaged(format!(
                        "logical cluster {lcn} holds a block count without big pclusters"
                    )));
                }
                out.blocks = Some(lo & !D0_CBLKCNT);
            }
            return Ok(out);
        }
        out.clusterofs = lo;
        // Count the blocks of the heads before this one in the pack.
        let mut blocks = 0u64;
        let mut j = i;
        if big {
            while j > 0 {
                j -= 1;
                let (lo, kind) = decode(j);
                if kind == TYPE_NONHEAD {
                    if lo & D0_CBLKCNT != 0 {
                        j = j.saturating_sub(1);
                        blocks += lo & !D0_CBLKCNT;
                        continue;
                    }
                    if lo <= 1 {
                        return Err(self.damaged(format!(
                            "logical cluster {lcn}: a big pcluster's index has a distance of {lo}"
                        )));
                    }
                    j = j.saturating_sub(lo - 2);
                    continue;
                }
                blocks += 1;
            }
        } else {
            blocks = 1;
            let mut j = i64::try_from(i).unwrap_or(0);
            while j > 0 {
                j -= 1;
                let (lo, kind) = decode(u64::try_from(j).unwrap_or(0));
                if kind == TYPE_NONHEAD {
                    j -= i64::try_from(lo).unwrap_or(i64::MAX);
                }
                if j >= 0 {
                    blocks += 1;
                }
            }
        }
        let first = u64::from(u32le(pack, usize::try_from(pack_len - 4).unwrap_or(0)).unwrap_or(0));
        out.pblk = first + blocks;
        Ok(out)
    }
}

/// One extent: its logical range and where it is stored.
#[derive(Debug)]
struct Extent {
    la: u64,
    len: u64,
    kind: u8,
    /// The pcluster, as (offset, bytes); `None` for a fragment.
    stored: Option<(u64, u64)>,
    lcn: u64,
}

/// The whole data of a compressed inode.
pub(super) fn read_compressed<'b>(
    image: &Image<'_>,
    inode: &Inode,
    budget: &'b Budget,
    packed: &mut Packed<'b>,
) -> Result<Data<'b>, DataError> {
    let header = inode.inline_at.next_multiple_of(8);
    let raw = image.bytes(header, 8).ok_or_else(|| {
        DataError::damaged(
            format!("its map header at {header:#x} lies past the end of the image"),
            inode.at,
        )
    })?;
    let clusterbits = raw.get(7).copied().unwrap_or(0);
    if clusterbits & 0x80 != 0 {
        // The whole file is a fragment of the packed inode.
        let offset = u64le(raw, 0).unwrap_or(0) & !(1 << 63);
        let reservation = reserve(budget, inode, inode.size)?;
        let bytes = fragment(image, budget, packed, offset, inode.size, header)?;
        return Ok((bytes, reservation));
    }
    let advise = u16le(raw, 4).unwrap_or(0);
    let algorithmtype = raw.get(6).copied().unwrap_or(0);
    let index = Index {
        image,
        inode,
        header,
        advise,
        algorithms: [algorithmtype & 15, algorithmtype >> 4],
        lclusterbits: image.sb.blkszbits + u32::from(clusterbits & 7),
        full: inode.layout == LAYOUT_COMPRESSED_FULL,
    };
    if index.full && advise & 1 != 0 {
        return Err(DataError::unsupported(
            "the extent-based compressed layout (map header advise bit 0x1 with full indexes) is not supported",
            header,
        ));
    }
    let zero_padding = image.sb.incompat & INCOMPAT_ZERO_PADDING != 0;
    let lcluster = index.lcluster();
    let count = inode.size.div_ceil(lcluster);
    // The index must be in the image before it is walked: its last entry bounds the count.
    index.load(count - 1)?;
    let mut extents: Vec<Extent> = Vec::new();
    for lcn in 0..count {
        let entry = index.load(lcn)?;
        if entry.kind == TYPE_NONHEAD {
            if lcn == 0 {
                return Err(index.damaged(
                    "logical cluster 0 continues an extent (it is not a head)".to_owned(),
                ));
            }
            continue;
        }
        if entry.clusterofs >= lcluster {
            return Err(index.damaged(format!(
                "logical cluster {lcn}: its extent starts at {} of a {lcluster}-byte cluster",
                entry.clusterofs
            )));
        }
        if entry.partial {
            return Err(DataError::unsupported(
                format!(
                    "logical cluster {lcn} references part of a deduplicated pcluster, which is not supported"
                ),
                header,
            ));
        }
        let la = lcn * lcluster + entry.clusterofs;
        if la >= inode.size {
            break;
        }
        if extents.is_empty() && la != 0 {
            return Err(index.damaged(format!("the first extent starts at {la}, not at 0")));
        }
        if let Some(last) = extents.last_mut() {
            last.len = la - last.la;
        }
        let head_big = match entry.kind {
            TYPE_HEAD1 => advise & ADVISE_BIG_PCLUSTER_1 != 0,
            TYPE_HEAD2 => advise & ADVISE_BIG_PCLUSTER_2 != 0,
            _ => false,
        };
        let plen = if head_big && lcn + 1 < count {
            let next = index.load(lcn + 1)?;
            match (next.kind, next.blocks) {
                (TYPE_NONHEAD, Some(blocks)) => blocks * image.sb.block,
                (TYPE_NONHEAD, None) => {
                    return Err(index.damaged(format!(
                        "logical cluster {}: a big pcluster's block count is missing",
                        lcn + 1
                    )));
                }
                _ => lcluster,
            }
        } else {
            lcluster
        };
        extents.push(Extent {
            la,
            len: inode.size - la,
            kind: entry.kind,
            stored: Some((entry.pblk * image.sb.block, plen)),
            lcn,
        });
    }
    // The tail extent: inline after the index, or a fragment of the packed inode.
    let mut fragment_at = None;
    if let Some(last) = extents.last_mut() {
        if advise & ADVISE_INLINE_PCLUSTER != 0 {
            let tail = index.load((inode.size - 1) >> index.lclusterbits)?;
            let len = u64::from(u16le(raw, 2).unwrap_or(0));
            if len == 0 || tail.next % image.sb.block + len > image.sb.block {
                return Err(index.damaged(format!(
                    "the inline tail pcluster of {len} bytes at {:#x} is empty or crosses a block",
                    tail.next
                )));
            }
            last.stored = Some((tail.next, len));
        } else if advise & ADVISE_FRAGMENT_PCLUSTER != 0 {
            let mut offset = u64::from(u32le(raw, 0).unwrap_or(0));
            if index.full {
                let head = index.load(last.lcn)?;
                offset |= head.pblk << 32;
            }
            last.stored = None;
            fragment_at = Some(offset);
        }
    }
    // Every pcluster must be in the image before the output is reserved against them.
    for extent in &extents {
        if let Some((at, plen)) = extent.stored
            && image.bytes(at, plen).is_none()
        {
            return Err(index.damaged(format!(
                "the pcluster of logical cluster {} ({plen} bytes at {at:#x}) lies past the end of the image",
                extent.lcn
            )));
        }
    }
    let stored_bytes: u64 = extents
        .iter()
        .map(|extent| extent.stored.map_or(extent.len, |(_, len)| len))
        .sum::<u64>()
        .saturating_add(8 * count)
        // Extents may share a pcluster: never count more than the image holds.
        .min(image.data.len() as u64);
    let reservation = reserve(budget, inode, stored_bytes)?;
    let mut out = vec![0u8; usize::try_from(inode.size).unwrap_or(0)];
    // The extents run back to back from 0 to the file's end: each gets its own part of the output,
    // so they decode in parallel (a fragment, from the packed inode, first and alone).
    let mut parts: Vec<(&Extent, &mut [u8])> = Vec::with_capacity(extents.len());
    let mut rest = out.as_mut_slice();
    for extent in &extents {
        let len = usize::try_from(extent.len).unwrap_or(usize::MAX);
        if len > rest.len() {
            return Err(index.damaged(format!("extent at {} is out of range", extent.la)));
        }
        let (part, tail) = std::mem::take(&mut rest).split_at_mut(len);
        if extent.stored.is_none() {
            let offset = fragment_at.unwrap_or(0);
            part.copy_from_slice(&fragment(
                image, budget, packed, offset, extent.len, header,
            )?);
        } else {
            parts.push((extent, part));
        }
        rest = tail;
    }
    let context = Decoding {
        image,
        header,
        algorithms: index.algorithms,
        interlaced: advise & ADVISE_INTERLACED_PCLUSTER != 0,
        zero_padding,
    };
    let results: Vec<Result<(), DataError>> = parts
        .par_iter_mut()
        .map(|(extent, target)| {
            budget
                .check_time()
                .map_err(|limit| DataError::limit(limit, header))?;
            context.extent(extent, target)
        })
        .collect();
    if let Some(Err(error)) = results.into_iter().find(Result::is_err) {
        return Err(error);
    }
    Ok((out, reservation))
}

/// What decoding one extent needs, shared by the threads that decode a file's extents.
struct Decoding<'i, 'a> {
    image: &'i Image<'a>,
    /// Where the map header is, for diagnostics.
    header: u64,
    algorithms: [u8; 2],
    interlaced: bool,
    zero_padding: bool,
}

impl Decoding<'_, '_> {
    /// Decodes one stored extent into `target` (its part of the file).
    fn extent(&self, extent: &Extent, target: &mut [u8]) -> Result<(), DataError> {
        let (at, plen) = extent.stored.unwrap_or_default();
        let image = self.image;
        let input = image.bytes(at, plen).ok_or_else(|| {
            DataError::damaged(
                format!(
                    "the pcluster of logical cluster {} ({plen} bytes at {at:#x}) lies past the end of the image",
                    extent.lcn
                ),
                self.header,
            )
        })?;
        let result = if extent.kind == TYPE_PLAIN {
            copy_plain(input, target, extent.la, image.sb.block, self.interlaced)
        } else {
            let algorithm = self.algorithms[usize::from(extent.kind == TYPE_HEAD2)];
            if image.sb.algorithms & (1 << algorithm) == 0 {
                Err(format!(
                    "its algorithm {algorithm} ({}) is not among the superblock's",
                    algorithm_name(u16::from(algorithm))
                ))
            } else if !self.zero_padding {
                // Without `0padding` the stream starts the pcluster and is followed by whatever
                // fills it: decoded until the extent is whole. Only LZ4 was ever written so.
                if algorithm == 0 {
                    lz4_partial(input, target)
                } else {
                    Err(format!(
                        "{} clusters without `0padding` (feature_incompat bit 0x1) are not supported",
                        algorithm_name(u16::from(algorithm))
                    ))
                }
            } else {
                let window =
                    usize::try_from(plen.min(image.sb.block - at % image.sb.block)).unwrap_or(0);
                match input
                    .get(..window)
                    .and_then(|head| head.iter().position(|&b| b != 0))
                {
                    None => Err("the pcluster holds only zeros".to_owned()),
                    Some(margin) => {
                        decode(algorithm, input.get(margin..).unwrap_or_default(), target)
                    }
                }
            }
        };
        result.map_err(|why| {
            DataError::damaged(
                format!(
                    "the extent at {} ({} bytes) from the pcluster at {at:#x}: {why}",
                    extent.la, extent.len
                ),
                self.header,
            )
        })
    }
}

/// `len` bytes of the packed inode from `offset`.
fn fragment<'b>(
    image: &Image<'_>,
    budget: &'b Budget,
    packed: &mut Packed<'b>,
    offset: u64,
    len: u64,
    header: u64,
) -> Result<Vec<u8>, DataError> {
    let bytes = packed
        .get(image, budget)
        .map_err(|why| DataError::damaged(format!("its fragment cannot be read: {why}"), header))?;
    usize::try_from(offset)
        .ok()
        .zip(usize::try_from(len).ok())
        .and_then(|(start, len)| bytes.get(start..start.checked_add(len)?))
        .map(<[u8]>::to_vec)
        .ok_or_else(|| {
            DataError::damaged(
                format!(
                    "its fragment ({len} bytes at {offset} of the packed inode) lies past the packed inode's {} bytes",
                    bytes.len()
                ),
                header,
            )
        })
}

/// An uncompressed pcluster: the extent's bytes from the pcluster's start (shifted), or placed at
/// their offset in the block and wrapped around (interlaced).
fn copy_plain(
    input: &[u8],
    target: &mut [u8],
    la: u64,
    block: u64,
    interlaced: bool,
) -> Result<(), String> {
    if target.len() > input.len() {
        return Err(format!(
            "an uncompressed extent of {} bytes does not fit its {}-byte pcluster",
            target.len(),
            input.len()
        ));
    }
    if interlaced {
        let start = usize::try_from(la % block).unwrap_or(0) % input.len().max(1);
        for (k, byte) in target.iter_mut().enumerate() {
            *byte = input.get((start + k) % input.len()).copied().unwrap_or(0);
        }
    } else {
        target.copy_from_slice(input.get(..target.len()).unwrap_or_default());
    }
    Ok(())
}

/// Decodes one compressed pcluster (its padding skipped) into exactly `target.len()` bytes.
fn decode(algorithm: u8, input: &[u8], target: &mut [u8]) -> Result<(), String> {
    let want = target.len();
    let fill = |codec: Codec, input: &[u8], target: &mut [u8]| -> Result<(), String> {
        match decode_with(codec, input, want as u64, |reader| {
            reader.read_exact(target)
        }) {
            Ok((Ok(()), _)) => Ok(()),
            Ok((Err(err), _)) | Err(err) => Err(format!(
                "{codec} data does not decode to {want} bytes: {err}"
            )),
        }
    };
    match algorithm {
        0 => match lz4_flex::block::decompress_into(input, target) {
            Ok(written) if written == want => Ok(()),
            Ok(written) => Err(format!(
                "lz4 data decodes to {written} bytes, not the extent's {want}"
            )),
            Err(err) => Err(format!("lz4 data is damaged: {err}")),
        },
        1 => {
            // MicroLZMA: raw LZMA1 without an end marker, whose first byte (always 0 in LZMA1)
            // holds the inverted lc/lp/pb properties byte instead.
            let props = !input.first().copied().unwrap_or(0xff);
            if props >= 9 * 5 * 5 {
                return Err(format!("MicroLZMA properties byte {props:#x} is invalid"));
            }
            let props = u32::from(props);
            let mut stream = input.to_vec();
            if let Some(first) = stream.first_mut() {
                *first = 0;
            }
            let codec = Codec::Lzma1Raw {
                lc: props % 9,
                lp: props / 9 % 5,
                pb: props / 45,
                dict_size: u32::try_from(want).unwrap_or(u32::MAX),
            };
            fill(codec, &stream, target)
        }
        2 => fill(Codec::Deflate, input, target),
        3 => fill(Codec::Zstd, input, target),
        other => Err(format!("compression algorithm {other} is not known")),
    }
}

/// An LZ4 block decoded until `target` is full, the rest of the input ignored: how images without
/// `0padding` are read (the stream's end is not marked, and garbage may follow it). The sequence
/// format of the LZ4 block specification: a token (literal count, match length), the literals, a
/// 2-byte offset back into the output, the match; counts of 15 continue in bytes while they are 255.
pub(super) fn lz4_partial(input: &[u8], target: &mut [u8]) -> Result<(), String> {
    let want = target.len();
    let mut ip = 0;
    let mut op = 0;
    let byte = |ip: &mut usize| -> Result<usize, String> {
        let value = input
            .get(*ip)
            .copied()
            .ok_or_else(|| format!("lz4 data ends before the extent's {want} bytes"))?;
        *ip += 1;
        Ok(usize::from(value))
    };
    let length = |ip: &mut usize, mut len: usize| -> Result<usize, String> {
        if len == 15 {
            loop {
                let more = byte(ip)?;
                len = len.saturating_add(more);
                if more != 255 {
                    break;
                }
            }
        }
        Ok(len)
    };
    while op < want {
        let token = byte(&mut ip)?;
        let literals = length(&mut ip, token >> 4)?;
        let take = literals.min(want - op);
        let source = input
            .get(ip..ip + take)
            .ok_or_else(|| format!("lz4 literals at input byte {ip} run past the data"))?;
        target
            .get_mut(op..op + take)
            .ok_or("lz4 output overflow")?
            .copy_from_slice(source);
        ip += take;
        op += take;
        if op == want {
            break;
        }
        let offset = byte(&mut ip)? | (byte(&mut ip)? << 8);
        if offset == 0 || offset > op {
            return Err(format!(
                "lz4 match offset {offset} at output byte {op} reaches before the start"
            ));
        }
        let len = length(&mut ip, token & 15)?
            .saturating_add(4)
            .min(want - op);
        for k in op..op + len {
            let value = target.get(k - offset).copied().unwrap_or(0);
            if let Some(slot) = target.get_mut(k) {
                *slot = value;
            }
        }
        op += len;
    }
    Ok(())
}
