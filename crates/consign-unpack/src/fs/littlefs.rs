//! littlefs v2: the wear-levelled flash filesystem of ESP32 web UIs (Arduino, `PlatformIO`),
//! Tasmota, Zephyr, Mbed OS and the RP2040 SDKs, read from its specification (littlefs `SPEC.md`
//! and `DESIGN.md`).
//!
//! Everything is kept in metadata pairs: two blocks, each a log of commits that starts with a
//! 32-bit revision count. A commit is a run of 32-bit big-endian tags (valid bit, 11-bit type,
//! 10-bit id, 10-bit length), each XOR-ed with the one before (the first with `0xffffffff`) and
//! followed by its data, ended by a CRC tag whose data holds the CRC-32 (initial `0xffffffff`, no
//! final inversion) of the commit, the block's revision count included for the first. The block of
//! the pair with the newer revision (sequence comparison) is read up to its last commit whose CRC
//! holds; if it has none, the other block is. Later tags replace earlier ones of the same id;
//! create and delete tags insert and remove ids, shifting the rest.
//!
//! The superblock is id 0 of the pair at blocks 0 and 1: a name tag with the magic `littlefs`
//! (so the magic sits at offset 8 of block 0) and an inline struct with the version, block size
//! and block count. The root directory is the last pair of the tail list from blocks 0 and 1 that
//! still holds the superblock. A directory is a chain of pairs linked by hard tails; a soft tail
//! leads to the next directory of the global list and ends this one. Files are inline (their bytes
//! in the struct tag's data) or CTZ skip-lists: blocks written in order, block `n` starting with
//! `ctz(n) + 1` pointers to earlier blocks, the struct giving the last block and the size. Only
//! each block's first pointer (to block `n - 1`) is followed, backwards from the last.
//!
//! Not read: user attributes (no standard ones exist), the global move state (an entry caught
//! mid-move is listed in both directories, a CTZ file's contents under the first only), and a filesystem whose block 0 no longer holds
//! the superblock (the carver finds it by the magic in block 0). Every block is read at most once
//! per file, and no block is read for two files; directories are entered once.

use std::collections::HashSet;
use std::ops::Range;

use bytes::Bytes;
use consign_model::{CutReason, Diagnostic, NodeKind};

use super::{Claimed, FsEntry, FsListing, Probe};
use crate::Budget;
use crate::binary::{u32be, u32le};

const MAGIC: &[u8; 8] = b"littlefs";
/// The smallest block a CTZ skip-list of 32-bit sizes fits in (SPEC.md).
const MIN_BLOCK: u32 = 104;
/// Larger than any flash erase block littlefs is used on.
const MAX_BLOCK: u32 = 1 << 24;
/// Directories deeper than this are not entered (the stack holds one entry per level).
const MAX_DEPTH: usize = 256;
/// Entries create and delete tags may shift in one block: far more than any real log needs.
const MAX_SHIFTED: usize = 1 << 22;
/// The probe checks the first commit's CRC when the commit ends within this many bytes.
const PROBE_WINDOW: usize = 4096;

const TAG_VALID: u32 = 0x8000_0000;
const LENGTH_DELETED: u32 = 0x3ff;
const ID_NONE: u32 = 0x3ff;
const TYPE_REG: u32 = 0x001;
const TYPE_DIR: u32 = 0x002;
const TYPE_SUPERBLOCK: u32 = 0x0ff;
const TYPE_CREATE: u32 = 0x401;
const TYPE_DELETE: u32 = 0x4ff;
const TYPE_DIRSTRUCT: u32 = 0x200;
const TYPE_INLINESTRUCT: u32 = 0x201;
const TYPE_CTZSTRUCT: u32 = 0x202;
const TYPE_SOFTTAIL: u32 = 0x600;
const TYPE_HARDTAIL: u32 = 0x601;

/// What the superblock says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Geometry {
    version: u32,
    block_size: u32,
    block_count: u32,
}

/// One decoded tag.
#[derive(Clone, Copy, Debug)]
struct Tag(u32);

impl Tag {
    fn kind(self) -> u32 {
        (self.0 >> 20) & 0x7ff
    }
    fn id(self) -> u32 {
        (self.0 >> 10) & 0x3ff
    }
    fn deleted(self) -> bool {
        self.0 & 0x3ff == LENGTH_DELETED
    }
    /// Bytes of data after the tag.
    fn length(self) -> usize {
        if self.deleted() {
            0
        } else {
            (self.0 & 0x3ff) as usize
        }
    }
    /// A commit's CRC: types 0x500 to 0x57f (0x5ff is the erased-state CRC, an ordinary tag).
    fn is_commit_crc(self) -> bool {
        self.kind() & 0x780 == 0x500
    }
}

/// How a file or directory is stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
enum Structure {
    #[default]
    None,
    Dir([u32; 2]),
    /// The bytes, as a range of the input.
    Inline(Range<usize>),
    Ctz {
        head: u32,
        size: u32,
    },
}

/// One id of a metadata pair.
#[derive(Clone, Debug, Default)]
struct Entry {
    /// The name tag's type (regular file, directory, superblock) and the name's range of the input.
    name: Option<(u32, Range<usize>)>,
    structure: Structure,
}

/// A metadata pair as of its last valid commit.
#[derive(Debug, Default)]
struct Pair {
    entries: Vec<Entry>,
    /// The tail pair and whether it is a hard tail (the same directory goes on).
    tail: Option<([u32; 2], bool)>,
}

/// The superblock of block 0, when its first tags are the superblock's name and inline struct.
fn superblock(data: &[u8]) -> Option<Geometry> {
    if data.get(8..16)? != MAGIC {
        return None;
    }
    let name = u32be(data, 4)? ^ 0xffff_ffff;
    if name != (TYPE_SUPERBLOCK << 20) | 8 {
        return None;
    }
    let inline = Tag(u32be(data, 16)? ^ name);
    if inline.0 & TAG_VALID != 0
        || inline.kind() != TYPE_INLINESTRUCT
        || inline.id() != 0
        || inline.length() < 24
    {
        return None;
    }
    let geometry = Geometry {
        version: u32le(data, 20)?,
        block_size: u32le(data, 24)?,
        block_count: u32le(data, 28)?,
    };
    (geometry.version >> 16 == 2
        && (MIN_BLOCK..=MAX_BLOCK).contains(&geometry.block_size)
        && geometry.block_count >= 2)
        .then_some(geometry)
}

/// Walks a metadata block's commits: where the last one whose CRC holds ends (the first one,
/// with `first_only`), and whether the walk ran out of bytes rather than meeting an unwritten or
/// broken tag or a CRC that does not hold.
fn commits(block: &[u8], first_only: bool) -> (Option<usize>, bool) {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(block.get(..4).unwrap_or_default());
    let mut at = 4usize;
    let mut previous = 0xffff_ffffu32;
    let mut last = None;
    loop {
        let Some(raw) = u32be(block, at) else {
            return (last, true);
        };
        let tag = Tag(raw ^ previous);
        if tag.0 & TAG_VALID != 0 {
            return (last, false);
        }
        let end = at + 4 + tag.length();
        let Some(bytes) = block.get(at..end) else {
            return (last, true);
        };
        if tag.is_commit_crc() {
            hasher.update(bytes.get(..4).unwrap_or_default());
            if u32le(block, at + 4) != Some(!hasher.finalize()) {
                return (last, false);
            }
            last = Some(end);
            if first_only {
                return (last, false);
            }
            hasher = crc32fast::Hasher::new();
            previous = tag.0 ^ ((tag.kind() & 1) << 31);
        } else {
            hasher.update(bytes);
            previous = tag.0;
        }
        at = end;
    }
}

/// The filesystem's blocks, as ranges of the input.
struct Disk<'a> {
    data: &'a [u8],
    geometry: Geometry,
}

impl Disk<'_> {
    fn block_size(&self) -> usize {
        self.geometry.block_size as usize
    }

    /// Where block `index` lies in the input, or why it cannot be read.
    fn block(&self, index: u32) -> Result<Range<usize>, String> {
        if index >= self.geometry.block_count {
            return Err(format!(
                "block {index} is past the filesystem's {} blocks",
                self.geometry.block_count
            ));
        }
        let start = index as usize * self.block_size();
        let end = start + self.block_size();
        if end > self.data.len() {
            return Err(format!(
                "block {index} ({start:#x}..{end:#x}) is past the end of the input ({:#x})",
                self.data.len()
            ));
        }
        Ok(start..end)
    }

    /// Where the last commit of block `index` whose CRC holds ends.
    fn last_commit(&self, index: u32) -> Result<Option<usize>, String> {
        let range = self.block(index)?;
        Ok(commits(self.data.get(range).unwrap_or_default(), false).0)
    }

    /// The pair's state: its newer block with a valid commit, read up to its last one.
    fn fetch(&self, pair: [u32; 2]) -> Result<Pair, String> {
        let revision = |index: u32| {
            self.block(index)
                .ok()
                .and_then(|range| u32le(self.data, range.start))
        };
        let mut order = pair;
        if let (Some(first), Some(second)) = (revision(pair[0]), revision(pair[1]))
            && second.wrapping_sub(first).cast_signed() > 0
        {
            order = [pair[1], pair[0]];
        }
        let mut problems = Vec::new();
        for index in order {
            match self.last_commit(index) {
                Ok(Some(end)) => return self.replay(index, end),
                Ok(None) => problems.push(format!("block {index} holds no valid commit")),
                Err(why) => problems.push(why),
            }
        }
        Err(format!(
            "metadata pair {{{}, {}}} cannot be read: {}",
            pair[0],
            pair[1],
            problems.join("; ")
        ))
    }

    /// Applies the tags of block `index` up to `end` (where its last valid commit ends). Ids are
    /// 10 bits, so a pair has fewer than 1023 of them; the entries create and delete tags shift are
    /// counted, so a block of nothing but such tags costs a bounded amount of work.
    fn replay(&self, index: u32, end: usize) -> Result<Pair, String> {
        let mut pair = Pair::default();
        let range = self.block(index)?;
        let mut shifted = 0usize;
        let base = range.start;
        let block = self.data.get(range).unwrap_or_default();
        let mut at = 4usize;
        let mut previous = 0xffff_ffffu32;
        while at < end {
            let Some(raw) = u32be(block, at) else {
                break;
            };
            let tag = Tag(raw ^ previous);
            let body = at + 4..at + 4 + tag.length();
            at = body.end;
            if tag.is_commit_crc() {
                previous = tag.0 ^ ((tag.kind() & 1) << 31);
                continue;
            }
            previous = tag.0;
            let id = tag.id() as usize;
            let kind = tag.kind();
            let absolute = base + body.start..base + body.end;
            match kind {
                TYPE_CREATE | TYPE_DELETE if tag.id() != ID_NONE => {
                    shifted += pair.entries.len().saturating_sub(id) + 1;
                    if shifted > MAX_SHIFTED {
                        return Err(format!(
                            "block {index}: its create and delete tags shift more than \
                             {MAX_SHIFTED} entries"
                        ));
                    }
                    if kind == TYPE_DELETE {
                        if id < pair.entries.len() {
                            pair.entries.remove(id);
                        }
                    } else {
                        if id > pair.entries.len() {
                            pair.entries.resize_with(id, Entry::default);
                        }
                        pair.entries.insert(id, Entry::default());
                        pair.entries.truncate(ID_NONE as usize);
                    }
                }
                TYPE_SOFTTAIL | TYPE_HARDTAIL => {
                    pair.tail = match (
                        tag.deleted(),
                        u32le(block, body.start),
                        u32le(block, body.start + 4),
                    ) {
                        (false, Some(first), Some(second)) if body.len() >= 8 => {
                            Some(([first, second], kind == TYPE_HARDTAIL))
                        }
                        _ => None,
                    };
                }
                _ if tag.id() == ID_NONE => {}
                0x000..=0x0ff | TYPE_DIRSTRUCT | TYPE_INLINESTRUCT | TYPE_CTZSTRUCT => {
                    if id >= pair.entries.len() {
                        pair.entries.resize_with(id + 1, Entry::default);
                    }
                    let Some(entry) = pair.entries.get_mut(id) else {
                        continue;
                    };
                    let pointer = |at: usize| u32le(block, body.start + at);
                    match kind {
                        0x000..=0x0ff => entry.name = Some((kind, absolute)),
                        _ if tag.deleted() => entry.structure = Structure::None,
                        TYPE_DIRSTRUCT => {
                            if let (Some(first), Some(second)) = (pointer(0), pointer(4)) {
                                entry.structure = Structure::Dir([first, second]);
                            }
                        }
                        TYPE_INLINESTRUCT => entry.structure = Structure::Inline(absolute),
                        _ => {
                            if let (Some(head), Some(size)) = (pointer(0), pointer(4)) {
                                entry.structure = Structure::Ctz { head, size };
                            }
                        }
                    }
                }
                // User attributes, global state, erased-state CRCs.
                _ => {}
            }
        }
        Ok(pair)
    }
}

/// The pair's superblock entry holds: id 0 named `littlefs` with the superblock type.
fn holds_superblock(disk: &Disk<'_>, pair: &Pair) -> bool {
    pair.entries.first().is_some_and(|entry| {
        entry.name.as_ref().is_some_and(|(kind, name)| {
            *kind == TYPE_SUPERBLOCK && disk.data.get(name.clone()) == Some(MAGIC.as_slice())
        })
    })
}

/// A littlefs v2 superblock at the start of block 0, whose first commit's CRC holds. The CRC is
/// checked only when the commit ends within the block's first 4 KiB, so a probe costs little
/// wherever the magic appears.
pub fn probe(data: &[u8]) -> Option<Probe> {
    let geometry = superblock(data)?;
    let window = data.get(
        ..(geometry.block_size as usize)
            .min(PROBE_WINDOW)
            .min(data.len()),
    )?;
    match commits(window, true) {
        (Some(_), _) => {}
        // The commit goes on past the window (a compacted root of many entries).
        (None, true) if window.len() == PROBE_WINDOW => {}
        _ => return None,
    }
    Some(Probe {
        format: "littlefs",
        size: Some(u64::from(geometry.block_size) * u64::from(geometry.block_count)),
        description: format!(
            "LittleFS v{}.{}, {} blocks of {} bytes",
            geometry.version >> 16,
            geometry.version & 0xffff,
            geometry.block_count,
            geometry.block_size
        ),
    })
}

/// Every directory and file, from the root down.
pub fn parse(data: &[u8], budget: &Budget) -> FsListing {
    let mut listing = FsListing::default();
    let Some(geometry) = superblock(data) else {
        listing.diagnostics.push(Diagnostic::warning(
            "",
            "no LittleFS v2 superblock at the start of block 0",
        ));
        return listing;
    };
    let size = u64::from(geometry.block_size) * u64::from(geometry.block_count);
    listing.size = Some(size.min(data.len() as u64));
    if size > data.len() as u64 {
        listing.diagnostics.push(Diagnostic::warning(
            "",
            format!(
                "the superblock states {} blocks of {} bytes ({size} bytes), the input has {}",
                geometry.block_count,
                geometry.block_size,
                data.len()
            ),
        ));
    }
    let disk = Disk { data, geometry };
    let Some(root) = root(&disk, &mut listing) else {
        return listing;
    };
    let readable = (data.len() / disk.block_size()).min(geometry.block_count as usize);
    let mut claimed = Claimed::new(readable as u64);
    let mut entered: HashSet<[u32; 2]> = HashSet::new();
    let mut stack = vec![(String::new(), root, 0usize)];
    while let Some((dir, first, depth)) = stack.pop() {
        let mut next = Some(first);
        while let Some(pair_blocks) = next.take() {
            if let Err(limit) = budget.check_time() {
                listing.cut_rest(dir, limit);
                return listing;
            }
            let key = [
                pair_blocks[0].min(pair_blocks[1]),
                pair_blocks[0].max(pair_blocks[1]),
            ];
            if !entered.insert(key) {
                listing.cut(
                    Diagnostic::warning(
                        dir.clone(),
                        format!(
                            "metadata pair {{{}, {}}} is reached a second time (a loop); not read \
                             again",
                            pair_blocks[0], pair_blocks[1]
                        ),
                    ),
                    "the directory's entries from that pair on",
                    CutReason::Refused,
                );
                break;
            }
            let pair = match disk.fetch(pair_blocks) {
                Ok(pair) => pair,
                Err(why) => {
                    listing.cut(
                        Diagnostic::warning(dir.clone(), why)
                            .at(u64::from(pair_blocks[0]) * u64::from(geometry.block_size)),
                        "the directory's entries from that pair on",
                        CutReason::Truncated,
                    );
                    break;
                }
            };
            for entry in &pair.entries {
                let Some((kind, name)) = &entry.name else {
                    continue;
                };
                if *kind == TYPE_SUPERBLOCK {
                    continue;
                }
                let name = String::from_utf8_lossy(data.get(name.clone()).unwrap_or_default());
                if name.is_empty() {
                    listing.diagnostics.push(
                        Diagnostic::warning(dir.clone(), "an entry has an empty name; skipped")
                            .at(u64::from(pair_blocks[0]) * u64::from(geometry.block_size)),
                    );
                    continue;
                }
                let path = format!("{dir}/{name}");
                if let Err(limit) = budget.take_entry_with(path.len() as u64) {
                    listing.cut_rest(path, limit);
                    return listing;
                }
                match (*kind, &entry.structure) {
                    (TYPE_DIR, Structure::Dir(child)) => {
                        if depth + 1 > MAX_DEPTH {
                            listing.cut_too_deep(&path, None, MAX_DEPTH);
                        } else {
                            stack.push((path.clone(), *child, depth + 1));
                        }
                        listing.entries.push(FsEntry {
                            path,
                            kind: NodeKind::Dir,
                            mode: None,
                            mtime: None,
                        });
                    }
                    (TYPE_REG, structure) => {
                        let contents =
                            contents(&disk, structure, &path, budget, &mut claimed, &mut listing);
                        listing.entries.push(FsEntry {
                            path,
                            kind: NodeKind::File { data: contents },
                            mode: None,
                            mtime: None,
                        });
                    }
                    (kind, _) => listing.diagnostics.push(Diagnostic::warning(
                        path,
                        format!("entry of type {kind:#05x} without a matching struct; skipped"),
                    )),
                }
            }
            next = pair.tail.and_then(|(tail, hard)| hard.then_some(tail));
        }
    }
    listing
}

/// The root directory's first pair: the last pair of the tail list from blocks 0 and 1 that holds
/// the superblock.
fn root(disk: &Disk<'_>, listing: &mut FsListing) -> Option<[u32; 2]> {
    let mut root = None;
    let mut seen = HashSet::new();
    let mut next = Some([0u32, 1u32]);
    while let Some(pair_blocks) = next.take() {
        if !seen.insert(pair_blocks) {
            break;
        }
        let pair = match disk.fetch(pair_blocks) {
            Ok(pair) => pair,
            Err(why) if root.is_none() => {
                listing.diagnostics.push(Diagnostic::warning("", why).at(0));
                return None;
            }
            Err(_) => break,
        };
        if !holds_superblock(disk, &pair) {
            break;
        }
        root = Some(pair_blocks);
        next = pair.tail.map(|(tail, _)| tail);
    }
    if root.is_none() {
        listing
            .diagnostics
            .push(Diagnostic::warning("", "the superblock pair holds no superblock entry").at(0));
    }
    root
}

/// The data bytes block `n` of a CTZ skip-list holds: all of block 0, the rest after `ctz(n) + 1`
/// pointers (none when the block is too small for them, which no real list reaches).
fn capacity(block_size: u64, n: u64) -> u64 {
    if n == 0 {
        block_size
    } else {
        block_size.saturating_sub(4 * (u64::from(n.trailing_zeros()) + 1))
    }
}

/// Follows a CTZ skip-list back from its last block, through the first pointer of each block,
/// claiming every block, into `bytes` (the file's size): or why it cannot be read whole.
fn read_ctz(
    disk: &Disk<'_>,
    head: u32,
    bytes: &mut [u8],
    claimed: &mut Claimed,
) -> Result<(), (String, CutReason)> {
    let size = bytes.len() as u64;
    // The index of the last block, and how many bytes the blocks before it hold.
    let block_size = u64::from(disk.geometry.block_size);
    let (mut last, mut before) = (0u64, 0u64);
    while before + capacity(block_size, last) < size {
        if capacity(block_size, last) == 0 || last >= u64::from(disk.geometry.block_count) {
            return Err((
                format!("its {size} bytes need more blocks than the filesystem has"),
                CutReason::Truncated,
            ));
        }
        before += capacity(block_size, last);
        last += 1;
    }
    let mut block = head;
    let mut cursor = bytes.len();
    for n in (0..=last).rev() {
        let range = disk.block(block).map_err(|why| {
            (
                format!("block {n} of its list: {why}"),
                CutReason::Truncated,
            )
        })?;
        if !claimed.claim(u64::from(block)) {
            return Err((
                format!(
                    "block {n} of its list (block {block}) was read before, by this file or \
                     another"
                ),
                CutReason::Refused,
            ));
        }
        let skip = if n == 0 {
            0
        } else {
            4 * (n.trailing_zeros() as usize + 1)
        };
        let count = if n == last {
            size - before
        } else {
            capacity(block_size, n)
        } as usize;
        let start = range.start + skip;
        let (Some(source), Some(target)) = (
            disk.data.get(start..start + count),
            cursor
                .checked_sub(count)
                .and_then(|from| bytes.get_mut(from..cursor)),
        ) else {
            return Err((
                format!("block {n} of its list is short"),
                CutReason::Truncated,
            ));
        };
        target.copy_from_slice(source);
        cursor -= count;
        if n > 0 {
            block = u32le(disk.data, range.start).unwrap_or(u32::MAX);
        }
    }
    Ok(())
}

/// A file's bytes, copied into a buffer reserved from the budget first. A file that cannot be
/// read whole is listed without contents, with a cut.
fn contents(
    disk: &Disk<'_>,
    structure: &Structure,
    path: &str,
    budget: &Budget,
    claimed: &mut Claimed,
    listing: &mut FsListing,
) -> Bytes {
    let size = match structure {
        Structure::None => return Bytes::new(),
        Structure::Inline(range) => range.len() as u64,
        Structure::Dir(_) => {
            listing.diagnostics.push(Diagnostic::warning(
                path,
                "a file with a directory struct; listed without contents",
            ));
            return Bytes::new();
        }
        Structure::Ctz { size, .. } => u64::from(*size),
    };
    if size == 0 {
        return Bytes::new();
    }
    let mut cut = |why: String, reason: CutReason| {
        listing.cut(
            Diagnostic::warning(
                path,
                format!("{why}; the file's {size} bytes are not listed"),
            ),
            "the file's contents",
            reason,
        );
        Bytes::new()
    };
    // Every block is read once at most, so a file never holds more than the input.
    if size > disk.data.len() as u64 {
        return cut(
            format!(
                "it states more bytes than the input holds ({})",
                disk.data.len()
            ),
            CutReason::Truncated,
        );
    }
    let reservation = match budget.reserve(size) {
        Ok(reservation) => reservation,
        Err(limit) => {
            listing.cut(
                Diagnostic::warning(
                    path,
                    format!("{limit}: the file has {size} bytes; listed without contents"),
                )
                .with_hint(limit.hint()),
                "the file's contents",
                limit.into(),
            );
            return Bytes::new();
        }
    };
    let mut bytes = vec![0u8; size as usize];
    match structure {
        Structure::Inline(range) => {
            bytes.copy_from_slice(disk.data.get(range.clone()).unwrap_or_default());
        }
        Structure::Ctz { head, .. } => {
            if let Err((why, reason)) = read_ctz(disk, *head, &mut bytes, claimed) {
                return cut(why, reason);
            }
        }
        Structure::None | Structure::Dir(_) => {}
    }
    reservation.commit(size);
    Bytes::from(bytes)
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;
    use crate::Limits;
    use crate::fs::test_support::{file, gunzip, mangle, render};

    fn parse_all(data: &[u8]) -> FsListing {
        parse(data, &Budget::new(Limits::default()))
    }

    fn jquery() -> Vec<u8> {
        let mut out = b"/*! jQuery v3.6.0 | (c) OpenJS Foundation and other contributors | jquery.org/license */\n".to_vec();
        for i in 0..160 {
            out.extend(
                format!("!function(e,t){{/* line {i:05} of a stand-in for the minified library */}}(this);\n")
                    .as_bytes(),
            );
        }
        out
    }

    fn log() -> Vec<u8> {
        (0..4)
            .flat_map(|part| (0..150).map(move |i| format!("boot {part} line {i:04}\n")))
            .flat_map(String::into_bytes)
            .collect()
    }

    /// What littlefs-python wrote (`fixtures/unpack/littlefs/make_images.py`), read back whole.
    #[track_caller]
    fn check(name: &str, expect: &str) -> Vec<u8> {
        let image = gunzip(&format!("fixtures/unpack/littlefs/{name}"));
        assert!(probe(&image).is_some());
        let listing = parse_all(&image);
        assert_eq!(listing.diagnostics, Vec::new());
        assert_eq!(listing.cuts, Vec::new());
        assert_eq!(render(&listing), expect);
        assert_eq!(file(&listing, "/www/js/jquery-3.6.0.min.js"), jquery());
        assert_eq!(file(&listing, "/log.txt"), log());
        assert_eq!(
            file(&listing, "/www/index.html"),
            b"<html><script src=\"js/jquery-3.6.0.min.js\"></script></html>\n"
        );
        assert_eq!(
            file(&listing, "/www/css/themes/dark.css"),
            b"body { background: #000; }\n"
        );
        image
    }

    #[test]
    fn a_4096_byte_block_image() {
        let image = check(
            "lfs-4096.img.gz",
            "/cfg00.json  file 15\n/cfg01.json  file 15\n/cfg02.json  file 15\n/empty  file 0\n\
             /log.txt  file 10200\n/www  dir\n/www/css  dir\n/www/index.html  file 60\n\
             /www/js  dir\n/www/js/jquery-3.6.0.min.js  file 12729\n/www/css/themes  dir\n\
             /www/css/themes/dark.css  file 27\n",
        );
        assert_eq!(
            probe(&image).unwrap(),
            Probe {
                format: "littlefs",
                size: Some(32 * 4096),
                description: "LittleFS v2.1, 32 blocks of 4096 bytes".to_owned(),
            }
        );
    }

    /// 512-byte blocks: files of 20 and more blocks, a root folder over several pairs.
    #[test]
    fn a_512_byte_block_image() {
        let mut expect = String::new();
        for i in 0..40 {
            let size = if i < 10 { 15 } else { 16 };
            writeln!(expect, "/cfg{i:02}.json  file {size}").unwrap();
        }
        expect.push_str(
            "/empty  file 0\n/log.txt  file 10200\n/www  dir\n/www/css  dir\n\
             /www/index.html  file 60\n/www/js  dir\n/www/js/jquery-3.6.0.min.js  file 12729\n\
             /www/css/themes  dir\n/www/css/themes/dark.css  file 27\n",
        );
        check("lfs-512.img.gz", &expect);
    }

    /// A tag to write: type, id, data (`None` for a deleted tag).
    type Written = (u32, u32, Option<Vec<u8>>);

    /// A metadata block as littlefs writes one: the revision count, then each commit's tags
    /// (type, id, data; `None` for a deleted tag) XOR-chained, each commit ended by its CRC.
    fn metadata(block_size: usize, revision: u32, commits: &[Vec<Written>]) -> Vec<u8> {
        let mut block = revision.to_le_bytes().to_vec();
        let mut previous = 0xffff_ffffu32;
        let mut start = 0;
        for commit in commits {
            for (kind, id, data) in commit {
                let length = data.as_ref().map_or(0x3ff, |d| d.len() as u32);
                let tag = (kind << 20) | (id << 10) | length;
                block.extend((tag ^ previous).to_be_bytes());
                block.extend(data.clone().unwrap_or_default());
                previous = tag;
            }
            let tag = (0x500 << 20) | (0x3ff << 10) | 4;
            block.extend((tag ^ previous).to_be_bytes());
            let crc = !crc32fast::hash(&block[start..]);
            block.extend(crc.to_le_bytes());
            previous = tag;
            start = block.len();
        }
        block.resize(block_size, 0xff);
        block
    }

    fn superblock_tags(block_size: u32, block_count: u32) -> Vec<Written> {
        let mut fields = Vec::new();
        for value in [
            0x0002_0001u32,
            block_size,
            block_count,
            255,
            0x7fff_ffff,
            1022,
        ] {
            fields.extend(value.to_le_bytes());
        }
        vec![(0x0ff, 0, Some(MAGIC.to_vec())), (0x201, 0, Some(fields))]
    }

    fn pair(first: u32, second: u32) -> Vec<u8> {
        [first.to_le_bytes(), second.to_le_bytes()].concat()
    }

    fn ctz(head: u32, size: u32) -> Vec<u8> {
        pair(head, size)
    }

    /// An image of `blocks` 256-byte blocks: the root pair at 0 and 1 holding `root` after the
    /// superblock, then `rest` written from block 2 on.
    fn image(root: Vec<Written>, rest: &[Vec<u8>], blocks: u32) -> Vec<u8> {
        let mut tags = superblock_tags(256, blocks);
        tags.extend(root);
        let mut image = metadata(256, 1, &[tags]);
        image.extend(vec![0xff; 256]);
        for block in rest {
            let mut block = block.clone();
            block.resize(256, 0xff);
            image.extend(block);
        }
        image.resize(256 * blocks as usize, 0xff);
        image
    }

    fn file_tags(id: u32, name: &str, structure: (u32, Vec<u8>)) -> Vec<Written> {
        vec![
            (0x401, id, Some(Vec::new())),
            (0x001, id, Some(name.as_bytes().to_vec())),
            (structure.0, id, Some(structure.1)),
        ]
    }

    fn messages(listing: &FsListing) -> Vec<String> {
        listing
            .diagnostics
            .iter()
            .map(|d| format!("{}: {}", d.location, d.message))
            .collect()
    }

    /// A two-block CTZ file: block 3 holds its first 256 bytes, block 2 the rest after its one
    /// pointer (to block 3).
    #[test]
    fn a_hand_made_image_with_inline_and_ctz_files() {
        let first: Vec<u8> = (0..=255).collect();
        let mut second = 3u32.to_le_bytes().to_vec();
        second.extend(b"tail");
        let mut root = file_tags(1, "inline.txt", (0x201, b"hi".to_vec()));
        root.extend(file_tags(2, "big.bin", (0x202, ctz(2, 260))));
        let data = image(root, &[second, first.clone()], 8);
        let listing = parse_all(&data);
        assert_eq!(messages(&listing), Vec::<String>::new());
        assert_eq!(
            render(&listing),
            "/inline.txt  file 2\n/big.bin  file 260\n"
        );
        let mut expected = first;
        expected.extend(b"tail");
        assert_eq!(file(&listing, "/big.bin"), expected);
    }

    /// A list that comes back to a block it has read, two files on the same blocks, a size past
    /// the input, a list pointing past the filesystem: each file is listed without contents, cut.
    #[test]
    fn lists_that_loop_share_or_overrun_are_cut() {
        let mut looping = 2u32.to_le_bytes().to_vec();
        looping.resize(256, b'x');
        let mut root = file_tags(1, "loop", (0x202, ctz(2, 300)));
        root.extend(file_tags(2, "shared", (0x202, ctz(2, 10))));
        root.extend(file_tags(3, "huge", (0x202, ctz(3, 0x00ff_ffff))));
        root.extend(file_tags(4, "far", (0x202, ctz(200, 10))));
        let data = image(root, &[looping], 8);
        let listing = parse_all(&data);
        assert_eq!(
            messages(&listing),
            [
                "/loop: block 0 of its list (block 2) was read before, by this file or another; the file's 300 bytes are not listed",
                "/shared: block 0 of its list (block 2) was read before, by this file or another; the file's 10 bytes are not listed",
                "/huge: it states more bytes than the input holds (2048); the file's 16777215 bytes are not listed",
                "/far: block 0 of its list: block 200 is past the filesystem's 8 blocks; the file's 10 bytes are not listed",
            ]
        );
        assert_eq!(
            listing.cuts.iter().map(|c| c.reason).collect::<Vec<_>>(),
            [
                CutReason::Refused,
                CutReason::Refused,
                CutReason::Truncated,
                CutReason::Truncated
            ]
        );
        assert_eq!(
            render(&listing),
            "/loop  file 0\n/shared  file 0\n/huge  file 0\n/far  file 0\n"
        );
    }

    /// A directory whose struct points back at the root, and one whose pair cannot be read.
    #[test]
    fn directory_loops_and_broken_pairs_are_cut() {
        let mut root = file_tags(1, "again", (0x200, pair(1, 0)));
        root[1].0 = 0x002;
        let mut broken = file_tags(2, "broken", (0x200, pair(4, 5)));
        broken[1].0 = 0x002;
        root.extend(broken);
        let data = image(root, &[], 8);
        let listing = parse_all(&data);
        assert_eq!(render(&listing), "/again  dir\n/broken  dir\n");
        assert_eq!(
            messages(&listing),
            [
                "/broken: metadata pair {4, 5} cannot be read: block 4 holds no valid commit; block 5 holds no valid commit",
                "/again: metadata pair {1, 0} is reached a second time (a loop); not read again",
            ]
        );
    }

    /// Contents are reserved before they are copied: a file over the limit is listed without
    /// them, and the cut names the limit.
    #[test]
    fn file_sizes_are_reserved_from_the_budget() {
        let image = gunzip("fixtures/unpack/littlefs/lfs-512.img.gz");
        let budget = Budget::new(Limits {
            max_file_bytes: 11_000,
            ..Limits::default()
        });
        let listing = parse(&image, &budget);
        assert_eq!(file(&listing, "/www/js/jquery-3.6.0.min.js"), b"");
        assert_eq!(file(&listing, "/log.txt").len(), 10_200);
        assert_eq!(
            listing
                .cuts
                .iter()
                .map(|c| (c.location.as_str(), c.reason))
                .collect::<Vec<_>>(),
            [("/www/js/jquery-3.6.0.min.js", CutReason::FileBytesLimit)]
        );
    }

    #[test]
    fn an_empty_name_is_skipped() {
        let mut root = file_tags(1, "", (0x201, b"x".to_vec()));
        root.extend(file_tags(2, "kept", (0x201, b"y".to_vec())));
        let listing = parse_all(&image(root, &[], 4));
        assert_eq!(render(&listing), "/kept  file 1\n");
        assert_eq!(
            messages(&listing),
            [": an entry has an empty name; skipped"]
        );
    }

    /// The newer block of a pair wins (sequence comparison: 0 follows 0xffffffff), unless its
    /// CRC fails; then the older one is read.
    #[test]
    fn the_newer_valid_block_of_a_pair_is_read() {
        let old = metadata(
            256,
            0xffff_ffff,
            &[file_tags(0, "old", (0x201, b"1".to_vec()))],
        );
        let new = metadata(256, 0, &[file_tags(0, "new", (0x201, b"2".to_vec()))]);
        let mut child = file_tags(1, "d", (0x200, pair(2, 3)));
        child[1].0 = 0x002;
        let data = image(child.clone(), &[old.clone(), new.clone()], 8);
        assert_eq!(render(&parse_all(&data)), "/d  dir\n/d/new  file 1\n");
        let mut damaged = new;
        damaged[10] ^= 1;
        let data = image(child, &[old, damaged], 8);
        assert_eq!(render(&parse_all(&data)), "/d  dir\n/d/old  file 1\n");
    }

    /// Later commits replace and delete: a file removed by a delete tag is gone, a struct
    /// replaced by a later one gives the later contents.
    #[test]
    fn later_commits_win() {
        let mut tags = superblock_tags(256, 4);
        tags.extend(file_tags(1, "kept", (0x201, b"first".to_vec())));
        tags.extend(file_tags(2, "removed", (0x201, b"x".to_vec())));
        let second = vec![
            (0x201, 1, Some(b"second".to_vec())),
            (0x4ff, 2, Some(Vec::new())),
        ];
        let mut data = metadata(256, 1, &[tags, second]);
        data.resize(1024, 0xff);
        let listing = parse_all(&data);
        assert_eq!(render(&listing), "/kept  file 6\n");
        assert_eq!(file(&listing, "/kept"), b"second");
    }

    /// A 1 MiB block of nothing but create tags would shift entries for minutes; it is refused.
    #[test]
    fn a_block_of_create_tags_is_refused() {
        let mut tags = superblock_tags(1 << 20, 2);
        tags.extend((0..200_000).map(|_| (0x401, 1, Some(Vec::new()))));
        let data = metadata(1 << 20, 1, &[tags]);
        let started = std::time::Instant::now();
        let listing = parse_all(&data);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert!(
            messages(&listing)
                .iter()
                .any(|m| m.contains("create and delete tags shift more than 4194304 entries")),
            "{:?}",
            messages(&listing)
        );
    }

    #[test]
    fn superblocks_littlefs_would_not_mount_are_refused() {
        assert_eq!(probe(&[0xff; 4096]), None);
        let valid = image(Vec::new(), &[], 4);
        assert!(probe(&valid).is_some());
        for (at, value) in [(20, 0x0001_0000u32), (24, 64), (28, 1)] {
            let mut bad = valid.clone();
            bad[at..at + 4].copy_from_slice(&value.to_le_bytes());
            assert_eq!(probe(&bad), None, "field at {at}");
        }
        let mut bad_crc = valid;
        // The superblock's name_max, covered by the first commit's CRC.
        bad_crc[33] ^= 1;
        assert_eq!(probe(&bad_crc), None);
    }

    /// A worn-in image (relocated pairs, a superblock expanded into a chain of pairs before the
    /// root) gives every file as littlefs-python reads it (`lfs-churn.sha256`).
    #[test]
    fn a_worn_in_image_reads_as_littlefs_reads_it() {
        use sha2::Digest as _;
        let image = gunzip("fixtures/unpack/littlefs/lfs-churn.img.gz");
        let listing = parse_all(&image);
        assert_eq!(messages(&listing), Vec::<String>::new());
        let mut mine: Vec<String> = listing
            .entries
            .iter()
            .filter_map(|entry| match &entry.kind {
                NodeKind::File { data } => Some(format!(
                    "{:x}  {}\n",
                    sha2::Sha256::digest(data),
                    entry.path
                )),
                _ => None,
            })
            .collect();
        mine.sort_by(|a, b| a[66..].cmp(&b[66..]));
        let theirs = std::fs::read_to_string(
            crate::fs::test_support::repo().join("fixtures/unpack/littlefs/lfs-churn.sha256"),
        )
        .unwrap();
        assert_eq!(mine.concat(), theirs);
        // Superblock copies beyond blocks 0 and 1: the superblock did expand.
        let superblocks = (0..image.len() / 512)
            .filter(|block| image[block * 512 + 8..block * 512 + 16] == *MAGIC)
            .count();
        assert!(superblocks > 2, "{superblocks}");
    }

    #[test]
    fn damage_is_survived() {
        let image = gunzip("fixtures/unpack/littlefs/lfs-512.img.gz");
        mangle(&image, parse, &[0, 7, 12, 600, 1030, 5000, 40_000]);
        let image = gunzip("fixtures/unpack/littlefs/lfs-4096.img.gz");
        mangle(&image, parse, &[0, 20, 4100, 9000, 70_000]);
    }
}
