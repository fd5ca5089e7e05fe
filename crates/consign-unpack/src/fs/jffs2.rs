//! JFFS2 (the journalling flash filesystem v2), little- and big-endian.
//!
//! JFFS2 has no superblock: the image is a log of nodes, each starting with the magic `0x1985`
//! on a 4-byte boundary. The parser scans every node, checks its CRCs (bad nodes become
//! diagnostics and are skipped), keeps the newest directory entry per (parent, name) (a newest
//! entry pointing at inode 0 is a deletion), and assembles each reachable inode from its data
//! nodes, in version order, by offset. Data nodes are decompressed in parallel, one file per task.
//!
//! Compressors: none, zero, zlib, rtime, LZMA (raw LZMA1, lc=0 lp=0 pb=0, 8 KiB dictionary, as
//! `OpenWrt`'s kernels write it) and LZO. The rubin compressors (rubinmips, dynrubin) are not
//! supported: no kernel enables them by default and no tool writes them; such nodes become
//! diagnostics. Extended attributes, summary and cleanmarker nodes are skipped.

use std::collections::{BTreeMap, HashMap};

use consign_model::{Cut, CutReason, Diagnostic, NodeKind, Severity};
use rayon::prelude::*;

use super::{FsEntry, FsListing, Probe};
use crate::Budget;
use crate::binary::Endian;
use crate::decompress::{Codec, decompress};
use crate::error::ReadError;

const MAGIC: u16 = 0x1985;
const NODE_ACCURATE: u16 = 0x2000;
const FEATURE_MASK: u16 = 0xc000;
const FEATURE_INCOMPAT: u16 = 0xc000;
const TYPE_DIRENT: u16 = 0xe001;
const TYPE_INODE: u16 = 0xe002;
const HEADER_LEN: usize = 12;
const DIRENT_LEN: usize = 40;
const INODE_LEN: usize = 68;
const ROOT_INO: u32 = 1;
/// Deepest directory nesting followed when building paths; deeper chains are loops or hostile.
const MAX_DEPTH: usize = 512;
/// Diagnostics kept per image; the rest are counted in one final line.
const MAX_DIAGNOSTICS: usize = 200;

/// The raw CRC-32 (reflected, polynomial 0xEDB88320) without the usual pre- and post-inversion,
/// as Linux's `crc32_le(seed, ...)` computes it. JFFS2 uses seed 0; UBI and UBIFS use `!0`.
pub(super) fn crc32_raw(seed: u32, data: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new_with_initial(!seed);
    hasher.update(data);
    !hasher.finalize()
}

/// A capped list of diagnostics, so a damaged image cannot produce millions of them.
#[derive(Default)]
pub(super) struct Diags {
    list: Vec<Diagnostic>,
    dropped: u64,
    cuts: Vec<Cut>,
}

impl Diags {
    pub(super) fn push(&mut self, diagnostic: Diagnostic) {
        if self.list.len() < MAX_DIAGNOSTICS {
            self.list.push(diagnostic);
        } else {
            self.dropped += 1;
        }
    }

    pub(super) fn extend(&mut self, diagnostics: impl IntoIterator<Item = Diagnostic>) {
        for diagnostic in diagnostics {
            self.push(diagnostic);
        }
    }

    /// Records a cut (see [`FsListing::cut`]); every cut is kept, its diagnostic within the cap.
    pub(super) fn cut(
        &mut self,
        diagnostic: Diagnostic,
        what: impl Into<String>,
        reason: CutReason,
    ) {
        self.cuts.push(Cut {
            location: diagnostic.location.clone(),
            offset: diagnostic.offset,
            what: what.into(),
            reason,
        });
        self.push(diagnostic);
    }

    /// Takes over everything `other` holds.
    pub(super) fn absorb(&mut self, other: Diags) {
        self.cuts.extend(other.cuts);
        self.dropped += other.dropped;
        self.extend(other.list);
    }

    /// Moves the diagnostics and cuts into `listing`.
    pub(super) fn finish_into(mut self, listing: &mut FsListing) {
        listing.cuts.append(&mut self.cuts);
        listing.diagnostics = self.finish();
    }

    pub(super) fn finish(mut self) -> Vec<Diagnostic> {
        if self.dropped > 0 {
            self.list.push(Diagnostic::warning(
                "",
                format!("{} more problems were found and not listed", self.dropped),
            ));
        }
        self.list
    }
}

/// Which byte order a node header at `at` uses, if its magic and header CRC are valid.
fn header_at(data: &[u8], at: usize) -> Option<Endian> {
    let head = data.get(at..at + HEADER_LEN)?;
    let endian = match head.get(..2)? {
        [0x85, 0x19] => Endian::Little,
        [0x19, 0x85] => Endian::Big,
        _ => return None,
    };
    let crc = endian.u32(head, 8)?;
    (crc32_raw(0, head.get(..8)?) == crc).then_some(endian)
}

/// Accepts an image whose first node header is valid in either byte order and names a node type
/// that `mkfs.jffs2` or the kernel writes.
pub fn probe(data: &[u8]) -> Option<Probe> {
    let endian = header_at(data, 0)?;
    let nodetype = endian.u16(data, 2)?;
    let totlen = endian.u32(data, 4)?;
    let known = matches!(
        nodetype | NODE_ACCURATE,
        TYPE_DIRENT | TYPE_INODE | 0x2003 | 0x2004 | 0x2006 | 0xe008 | 0xe009
    );
    if (totlen as usize) < HEADER_LEN || !known {
        return None;
    }
    Some(Probe {
        format: "jffs2",
        size: None,
        description: format!("jffs2, {}", endian.name()),
    })
}

#[derive(Clone, Debug)]
struct Dirent {
    offset: usize,
    pino: u32,
    version: u32,
    ino: u32,
    dtype: u8,
    name: Vec<u8>,
}

#[derive(Clone, Debug)]
struct InodeNode {
    offset: usize,
    version: u32,
    mode: u32,
    mtime: u32,
    isize: u32,
    data_offset: u32,
    csize: u32,
    dsize: u32,
    compr: u8,
    data_crc: u32,
}

/// Per inode: the mode and mtime of its newest node, and its contents.
type Assembled = (u32, Option<u32>, Option<Vec<u8>>);

#[derive(Default)]
struct Scan {
    dirents: Vec<Dirent>,
    inodes: HashMap<u32, Vec<InodeNode>>,
    end: usize,
    nodes: u64,
}

/// Reads the whole log. Garbage between nodes is reported once per contiguous region.
fn scan(data: &[u8], endian: Endian, diags: &mut Diags) -> Scan {
    let mut result = Scan::default();
    let mut pos = 0usize;
    let mut garbage_start: Option<usize> = None;
    let flush_garbage = |garbage_start: &mut Option<usize>, pos: usize, diags: &mut Diags| {
        if let Some(start) = garbage_start.take() {
            diags.push(
                Diagnostic::warning(
                    "",
                    format!(
                        "{} bytes of unrecognised data between jffs2 nodes",
                        pos - start
                    ),
                )
                .at(start as u64),
            );
        }
    };
    while pos + 4 <= data.len() {
        let word = &data[pos..pos + 4];
        if word == [0xff; 4] {
            flush_garbage(&mut garbage_start, pos, diags);
            // Erased flash: jump over the whole 0xFF run at once.
            let run = data[pos..]
                .iter()
                .position(|&byte| byte != 0xff)
                .unwrap_or(data.len() - pos);
            pos += run & !3;
            if run & 3 != 0 {
                pos += 4;
            }
            continue;
        }
        if endian.u16(data, pos) != Some(MAGIC) {
            if word == [0; 4] && garbage_start.is_none() {
                // Zero padding is what old mkfs versions write at the end; not worth a warning.
                pos += 4;
                continue;
            }
            garbage_start.get_or_insert(pos);
            pos += 4;
            continue;
        }
        if header_at(data, pos) != Some(endian) {
            garbage_start.get_or_insert(pos);
            pos += 4;
            continue;
        }
        flush_garbage(&mut garbage_start, pos, diags);
        let nodetype = endian.u16(data, pos + 2).unwrap_or(0);
        let totlen = endian.u32(data, pos + 4).unwrap_or(0) as usize;
        let Some(node) = data
            .get(pos..pos.saturating_add(totlen))
            .filter(|_| totlen >= HEADER_LEN)
        else {
            diags.push(
                Diagnostic::warning(
                    "",
                    format!(
                        "jffs2 node of type {nodetype:#06x} claims {totlen} bytes but only {} remain; skipped",
                        data.len() - pos
                    ),
                )
                .at(pos as u64),
            );
            pos += 4;
            continue;
        };
        let advance = (totlen + 3) & !3;
        result.nodes += 1;
        result.end = pos + totlen;
        if nodetype & NODE_ACCURATE == 0 {
            // Obsolete node: superseded on the device, never to be used.
            pos += advance;
            continue;
        }
        match nodetype {
            TYPE_DIRENT => {
                if let Some(dirent) = read_dirent(node, endian, pos, diags) {
                    result.dirents.push(dirent);
                }
            }
            TYPE_INODE => {
                if let Some((ino, inode)) = read_inode(node, endian, pos, diags) {
                    result.inodes.entry(ino).or_default().push(inode);
                }
            }
            other if other & FEATURE_MASK == FEATURE_INCOMPAT => {
                diags.push(
                    Diagnostic::warning(
                        "",
                        format!("jffs2 node type {other:#06x} is not supported; skipped"),
                    )
                    .at(pos as u64),
                );
            }
            // Cleanmarkers, padding, summaries and the compatible kinds carry no file data.
            _ => {}
        }
        pos += advance;
    }
    flush_garbage(&mut garbage_start, pos.min(data.len()), diags);
    result
}

fn read_dirent(node: &[u8], endian: Endian, pos: usize, diags: &mut Diags) -> Option<Dirent> {
    let bad = |diags: &mut Diags, why: &str| {
        diags.push(
            Diagnostic::warning("", format!("jffs2 directory entry node {why}; skipped"))
                .at(pos as u64),
        );
    };
    let Some(head) = node.get(..DIRENT_LEN) else {
        bad(diags, "is shorter than its header");
        return None;
    };
    if crc32_raw(0, &head[..32]) != endian.u32(head, 32)? {
        bad(diags, "has a bad node crc");
        return None;
    }
    let nsize = head[28] as usize;
    let Some(name) = node.get(DIRENT_LEN..DIRENT_LEN + nsize) else {
        bad(diags, "has a name longer than the node");
        return None;
    };
    if crc32_raw(0, name) != endian.u32(head, 36)? {
        bad(diags, "has a bad name crc");
        return None;
    }
    Some(Dirent {
        offset: pos,
        pino: endian.u32(head, 12)?,
        version: endian.u32(head, 16)?,
        ino: endian.u32(head, 20)?,
        dtype: head[29],
        name: name.to_vec(),
    })
}

fn read_inode(
    node: &[u8],
    endian: Endian,
    pos: usize,
    diags: &mut Diags,
) -> Option<(u32, InodeNode)> {
    let bad = |diags: &mut Diags, why: &str| {
        diags.push(
            Diagnostic::warning("", format!("jffs2 inode node {why}; skipped")).at(pos as u64),
        );
    };
    let Some(head) = node.get(..INODE_LEN) else {
        bad(diags, "is shorter than its header");
        return None;
    };
    if crc32_raw(0, &head[..60]) != endian.u32(head, 64)? {
        bad(diags, "has a bad node crc");
        return None;
    }
    let csize = endian.u32(head, 48)?;
    if INODE_LEN + csize as usize > node.len() {
        bad(diags, "has compressed data longer than the node");
        return None;
    }
    Some((
        endian.u32(head, 12)?,
        InodeNode {
            offset: pos,
            version: endian.u32(head, 16)?,
            mode: endian.u32(head, 20)?,
            mtime: endian.u32(head, 36)?,
            isize: endian.u32(head, 28)?,
            data_offset: endian.u32(head, 44)?,
            csize,
            dsize: endian.u32(head, 52)?,
            compr: head[56],
            data_crc: endian.u32(head, 60)?,
        },
    ))
}

/// JFFS2's "rtime" compressor: each (byte, repeat) pair emits the byte, then copies `repeat`
/// bytes from just after the previous occurrence of that byte.
fn rtime_decompress(input: &[u8], dsize: usize) -> Result<Vec<u8>, ReadError> {
    let mut out = Vec::with_capacity(dsize);
    let mut positions = [0usize; 256];
    let mut pos = 0;
    while out.len() < dsize {
        let (Some(&value), Some(&repeat)) = (input.get(pos), input.get(pos + 1)) else {
            return Err(ReadError::Size {
                what: "rtime data",
                expected: dsize as u64,
                found: out.len() as u64,
            });
        };
        pos += 2;
        out.push(value);
        let backoffs = positions[value as usize];
        positions[value as usize] = out.len();
        for from in backoffs..backoffs + repeat as usize {
            if out.len() >= dsize {
                break;
            }
            let byte = *out.get(from).ok_or(ReadError::Invalid {
                what: "rtime back-reference",
                value: from.to_string(),
                rule: "points past the output",
            })?;
            out.push(byte);
        }
    }
    Ok(out)
}

/// Decompresses one data node's payload to exactly `dsize` bytes.
fn decompress_node(compr: u8, input: &[u8], dsize: usize) -> Result<Vec<u8>, ReadError> {
    let out = match compr {
        0 => input.to_vec(),
        1 => vec![0; dsize],
        2 => rtime_decompress(input, dsize)?,
        6 => match decompress(Codec::Zlib, input, dsize as u64) {
            Ok(done) => done.data,
            Err(err) => return Err(ReadError::decode(&err)),
        },
        7 => crate::lzo::decompress_lzo1x(input, dsize).map_err(|err| ReadError::decode(&err))?,
        8 => {
            let codec = Codec::Lzma1Raw {
                lc: 0,
                lp: 0,
                pb: 0,
                dict_size: 0x2000,
            };
            // The stream has no end marker: the decoder stops at the end of the input and the
            // node's dsize says how much of its output counts.
            match decompress(codec, input, dsize as u64) {
                Ok(done) => done.data,
                Err(err) if err.partial().len() >= dsize => err.partial().to_vec(),
                Err(err) => return Err(ReadError::decode(&err)),
            }
        }
        3 | 5 => return Err(ReadError::Unsupported("rubin compression".to_owned())),
        other => {
            return Err(ReadError::Unknown {
                what: "compression type",
                value: u64::from(other),
            });
        }
    };
    if out.len() < dsize {
        return Err(ReadError::Size {
            what: "decompressed data",
            expected: dsize as u64,
            found: out.len() as u64,
        });
    }
    Ok(out)
}

const S_IFMT: u32 = 0o170_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFREG: u32 = 0o100_000;
const S_IFLNK: u32 = 0o120_000;

/// What a Unix mode says a non-regular, non-directory, non-link inode is.
pub(super) fn special_kind(mode: u32) -> Option<&'static str> {
    match mode & S_IFMT {
        0o020_000 => Some("char-device"),
        0o060_000 => Some("block-device"),
        0o010_000 => Some("fifo"),
        0o140_000 => Some("socket"),
        _ => None,
    }
}

/// Assembles one inode's contents from its data nodes (oldest first, newer overwrite). Its size
/// is reserved from the budget first, and may be at most the expansion ratio times its nodes.
fn assemble(
    data: &[u8],
    nodes: &mut [InodeNode],
    path: &str,
    budget: &Budget,
) -> (Option<Vec<u8>>, Diags) {
    let mut diagnostics = Diags::default();
    nodes.sort_by_key(|node| node.version);
    let Some(latest) = nodes.last() else {
        return (None, diagnostics);
    };
    let size = latest.isize as usize;
    let compressed: u64 = nodes.iter().map(|node| node.csize as u64 + 68).sum();
    let reservation = match budget.reserve_expansion(size as u64, compressed) {
        Ok(reservation) => reservation,
        Err(limit) => {
            diagnostics.cut(
                Diagnostic::warning(
                    path,
                    format!(
                        "jffs2 inode of {size} bytes from {compressed} bytes of nodes not unpacked: {limit}"
                    ),
                )
                .at(latest.offset as u64)
                .with_hint(limit.hint()),
                "the file's contents",
                limit.into(),
            );
            return (None, diagnostics);
        }
    };
    let mut out = vec![0u8; size];
    for node in nodes.iter() {
        if node.dsize == 0 || node.data_offset as usize >= size {
            continue;
        }
        let start = node.offset + INODE_LEN;
        let Some(input) = data.get(start..start + node.csize as usize) else {
            continue;
        };
        if crc32_raw(0, input) != node.data_crc {
            diagnostics.push(
                Diagnostic::warning(path, "jffs2 data node has a bad data crc; skipped")
                    .at(node.offset as u64),
            );
            continue;
        }
        let dsize = node.dsize as usize;
        if dsize as u64 > budget.max_output_for(node.csize as u64) {
            diagnostics.push(
                Diagnostic::warning(
                    path,
                    format!(
                        "jffs2 data node claims {dsize} bytes from {} compressed: {}",
                        node.csize,
                        crate::Limit::Ratio
                    ),
                )
                .at(node.offset as u64),
            );
            continue;
        }
        // The node decodes into a buffer of its own before its part is copied: drawn from the
        // budget too, so parallel parsers cannot each hold a node's worth past the limits.
        let mut scratch = budget.working_memory();
        if let Err(limit) = scratch.grow(dsize as u64) {
            diagnostics.cut(
                Diagnostic::warning(
                    path,
                    format!("jffs2 data node of {dsize} bytes not decompressed: {limit}"),
                )
                .at(node.offset as u64)
                .with_hint(limit.hint()),
                format!(
                    "bytes {}..{} of the file",
                    node.data_offset,
                    u64::from(node.data_offset) + dsize as u64
                ),
                limit.into(),
            );
            continue;
        }
        match decompress_node(node.compr, input, dsize) {
            Ok(bytes) => {
                let at = node.data_offset as usize;
                let len = dsize.min(size - at);
                out[at..at + len].copy_from_slice(&bytes[..len]);
            }
            Err(why) => diagnostics.push(
                Diagnostic::warning(
                    path,
                    format!(
                        "jffs2 data node for bytes {}..{} not decompressed: {why}",
                        node.data_offset,
                        node.data_offset as u64 + dsize as u64
                    ),
                )
                .at(node.offset as u64),
            ),
        }
    }
    reservation.commit(out.len() as u64);
    (Some(out), diagnostics)
}

/// Parses a whole JFFS2 image.
pub fn parse(data: &[u8], budget: &Budget) -> FsListing {
    let mut diags = Diags::default();
    let endian = (0..data.len().min(1 << 20))
        .step_by(4)
        .find_map(|at| header_at(data, at));
    let Some(endian) = endian else {
        diags.push(
            Diagnostic::warning("", "no valid jffs2 node header found")
                .severity(Severity::Error)
                .with_hint("the image may be byte-swapped, truncated or not jffs2 at all"),
        );
        return FsListing {
            diagnostics: diags.finish(),
            ..FsListing::default()
        };
    };
    let mut scan = scan(data, endian, &mut diags);

    // The newest entry per (parent, name) wins; one pointing at inode 0 records a deletion.
    let mut names: BTreeMap<(u32, Vec<u8>), Dirent> = BTreeMap::new();
    for dirent in std::mem::take(&mut scan.dirents) {
        let key = (dirent.pino, dirent.name.clone());
        match names.get(&key) {
            Some(old) if old.version >= dirent.version => {}
            _ => {
                names.insert(key, dirent);
            }
        }
    }
    let live: Vec<Dirent> = names
        .into_values()
        .filter(|dirent| dirent.ino != 0)
        .collect();

    // Each directory has one parent: the entry naming it with the highest version.
    let mut dir_parent: HashMap<u32, &Dirent> = HashMap::new();
    for dirent in &live {
        if dirent.dtype == 4 {
            match dir_parent.get(&dirent.ino) {
                Some(old) if old.version >= dirent.version => {}
                _ => {
                    dir_parent.insert(dirent.ino, dirent);
                }
            }
        }
    }
    let dir_parent: HashMap<u64, (u64, String)> = dir_parent
        .into_iter()
        .map(|(ino, dirent)| {
            let name = String::from_utf8_lossy(&dirent.name).into_owned();
            (ino as u64, (dirent.pino as u64, name))
        })
        .collect();
    let mut dir_paths: HashMap<u64, Option<String>> = HashMap::new();
    dir_paths.insert(ROOT_INO as u64, Some(String::new()));
    let mut entries_out: Vec<(String, u32, &Dirent)> = Vec::new();
    for dirent in &live {
        let Some(parent) = resolve_dir(dirent.pino as u64, &dir_parent, &mut dir_paths) else {
            diags.push(
                Diagnostic::warning(
                    "",
                    format!(
                        "jffs2 entry `{}` sits in directory inode {} that cannot be reached from the root; skipped",
                        String::from_utf8_lossy(&dirent.name),
                        dirent.pino
                    ),
                )
                .at(dirent.offset as u64),
            );
            continue;
        };
        let name = String::from_utf8_lossy(&dirent.name);
        let path = if parent.is_empty() {
            name.into_owned()
        } else {
            format!("{parent}/{name}")
        };
        entries_out.push((path, dirent.ino, dirent));
    }
    entries_out.sort_by(|a, b| a.0.cmp(&b.0));

    // The first path naming a non-directory inode carries the data; later ones are hard links.
    let mut first_path: HashMap<u32, usize> = HashMap::new();
    let mut wanted: Vec<(u32, String)> = Vec::new();
    for (idx, (path, ino, dirent)) in entries_out.iter().enumerate() {
        if dirent.dtype != 4 && !first_path.contains_key(ino) {
            first_path.insert(*ino, idx);
            wanted.push((*ino, path.clone()));
        }
    }
    let jobs: Vec<(u32, String, Vec<InodeNode>)> = wanted
        .into_iter()
        .map(|(ino, path)| {
            let nodes = scan.inodes.remove(&ino).unwrap_or_default();
            (ino, path, nodes)
        })
        .collect();
    let mut assembled: HashMap<u32, Assembled> = jobs
        .into_par_iter()
        .map(|(ino, path, mut nodes)| {
            let latest = nodes.iter().max_by_key(|node| node.version);
            let mode = latest.map_or(0, |node| node.mode);
            let mtime = latest.map(|node| node.mtime);
            let (contents, diagnostics) = if mode & S_IFMT == S_IFREG || mode & S_IFMT == S_IFLNK {
                assemble(data, &mut nodes, &path, budget)
            } else {
                (None, Diags::default())
            };
            (ino, (mode, mtime, contents, diagnostics))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|(ino, (mode, mtime, contents, diagnostics))| {
            diags.absorb(diagnostics);
            (ino, (mode, mtime, contents))
        })
        .collect();

    let mut listing = FsListing::default();
    let mut dir_modes: HashMap<u32, (u32, u32)> = HashMap::new();
    for (ino, nodes) in &scan.inodes {
        if let Some(node) = nodes.iter().max_by_key(|node| node.version) {
            dir_modes.insert(*ino, (node.mode, node.mtime));
        }
    }
    let first_paths: HashMap<u32, String> = first_path
        .iter()
        .filter_map(|(ino, idx)| Some((*ino, entries_out.get(*idx)?.0.clone())))
        .collect();
    for (idx, (path, ino, dirent)) in entries_out.into_iter().enumerate() {
        if let Err(limit) = budget.take_entry_with(path.len() as u64) {
            diags.cut(
                Diagnostic::warning(&path, format!("{limit}; stopping here"))
                    .with_hint(limit.hint()),
                "this entry and the rest of the filesystem",
                limit.into(),
            );
            break;
        }
        let (kind, mode, mtime) = if dirent.dtype == 4 {
            let latest = dir_modes.get(&ino);
            (
                NodeKind::Dir,
                latest.map(|(mode, _)| mode & 0o7777),
                latest.map(|(_, mtime)| *mtime),
            )
        } else if first_path.get(&ino) != Some(&idx) {
            let target = first_paths.get(&ino).cloned().unwrap_or_default();
            (NodeKind::Hardlink { target }, None, None)
        } else {
            match assembled.remove(&ino) {
                Some((mode, mtime, contents)) => {
                    let kind = match (mode & S_IFMT, contents) {
                        (S_IFLNK, Some(bytes)) => NodeKind::Symlink {
                            target: String::from_utf8_lossy(&bytes).into_owned(),
                        },
                        (S_IFREG, Some(bytes)) => NodeKind::File { data: bytes.into() },
                        (S_IFDIR, _) => NodeKind::Dir,
                        (other, _) => match special_kind(mode) {
                            Some(what) => NodeKind::Special {
                                what: what.to_owned(),
                            },
                            None if other == S_IFREG || other == S_IFLNK => continue,
                            None => {
                                diags.push(
                                    Diagnostic::warning(
                                        &path,
                                        format!(
                                            "jffs2 inode {ino} has no inode node or an unknown mode {mode:#o}; skipped"
                                        ),
                                    )
                                    .at(dirent.offset as u64),
                                );
                                continue;
                            }
                        },
                    };
                    (kind, Some(mode & 0o7777), mtime)
                }
                None => continue,
            }
        };
        listing.entries.push(FsEntry {
            path,
            kind,
            mode,
            mtime: mtime.map(i64::from),
        });
    }
    listing.size = Some(((scan.end + 3) & !3) as u64);
    diags.finish_into(&mut listing);
    listing
}

/// The path of directory `ino` from a map of directory to (parent, name), or `None` if it is not
/// reachable from the root (whose path, the empty string, must be in `cache`) or sits in a loop.
pub(super) fn resolve_dir(
    ino: u64,
    parents: &HashMap<u64, (u64, String)>,
    cache: &mut HashMap<u64, Option<String>>,
) -> Option<String> {
    if let Some(known) = cache.get(&ino) {
        return known.clone();
    }
    let mut chain = Vec::new();
    let mut current = ino;
    let base = loop {
        if let Some(known) = cache.get(&current) {
            break known.clone();
        }
        if chain.len() > MAX_DEPTH || chain.contains(&current) {
            break None;
        }
        chain.push(current);
        match parents.get(&current) {
            Some((parent, _)) => current = *parent,
            None => break None,
        }
    };
    let mut path = base;
    for &dir in chain.iter().rev() {
        path = path.and_then(|parent| {
            let (_, name) = parents.get(&dir)?;
            Some(if parent.is_empty() {
                name.clone()
            } else {
                format!("{parent}/{name}")
            })
        });
        cache.insert(dir, path.clone());
    }
    path
}

#[cfg(test)]
pub(super) mod tests {
    use std::fmt::Write as _;
    use std::path::PathBuf;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::Limits;

    /// `<repo root>/fixtures/unpack/<rel>`.
    pub(crate) fn fixture(rel: &str) -> Vec<u8> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/unpack")
            .join(rel);
        std::fs::read(&path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
    }

    /// `<repo root>/../shared/<rel>`, the read-only test material beside the checkout.
    pub(crate) fn shared(rel: &str) -> Vec<u8> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared")
            .join(rel);
        std::fs::read(&path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
    }

    /// One line per entry: path, kind (with the size of files), mode.
    pub(crate) fn render(listing: &FsListing) -> String {
        let mut out = String::new();
        for entry in &listing.entries {
            let kind = match &entry.kind {
                NodeKind::File { data } => format!("file {}", data.len()),
                NodeKind::Dir => "dir".to_owned(),
                NodeKind::Symlink { target } => format!("symlink -> {target}"),
                NodeKind::Hardlink { target } => format!("hardlink -> {target}"),
                NodeKind::Special { what } => what.clone(),
                other => format!("{other:?}"),
            };
            let mode = entry
                .mode
                .map(|mode| format!(" {mode:o}"))
                .unwrap_or_default();
            writeln!(out, "{} {kind}{mode}", entry.path).unwrap();
        }
        out
    }

    pub(crate) fn file<'a>(listing: &'a FsListing, path: &str) -> &'a [u8] {
        let entry = listing.entries.iter().find(|entry| entry.path == path);
        match entry.map(|entry| &entry.kind) {
            Some(NodeKind::File { data }) => data,
            other => panic!("{path}: {other:?}"),
        }
    }

    /// The text of `pages.txt` in the fixtures' content tree (see the recipes).
    pub(crate) fn pages_txt() -> Vec<u8> {
        let mut text = String::new();
        for idx in 0..500 {
            writeln!(
                text,
                "line {idx:04}: the quick brown fox jumps over the lazy dog"
            )
            .unwrap();
        }
        text.truncate(20600);
        text.into_bytes()
    }

    /// Parses `data` and checks that damaged copies (truncated, bit-flipped) neither panic nor
    /// take long, and still give diagnostics or entries.
    pub(crate) fn check_hostile(data: &[u8], parse: fn(&[u8], &Budget) -> FsListing) {
        let started = Instant::now();
        let steps = 13;
        for step in 1..steps {
            let cut = data.len() * step / steps;
            let _ = parse(&data[..cut], &Budget::new(Limits::default()));
        }
        let mut seed = 0x2545_f491_u64;
        for _ in 0..24 {
            let mut copy = data.to_vec();
            for _ in 0..8 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = (seed % copy.len() as u64) as usize;
                copy[at] ^= 1 << (seed % 8);
            }
            let _ = parse(&copy, &Budget::new(Limits::default()));
        }
        assert!(
            started.elapsed() < Duration::from_mins(1),
            "damaged copies took {:?}",
            started.elapsed()
        );
    }

    const FIXTURE_TREE: &str = "\
dev dir 755
dev/console char-device 600
empty-dir dir 755
etc dir 755
etc/banner file 22 644
etc/config dir 755
etc/config/system file 27 644
etc/empty file 0 644
usr dir 755
usr/share dir 755
usr/share/banner-link symlink -> ../../etc/banner 777
usr/share/doc dir 755
usr/share/doc/consign dir 755
usr/share/doc/consign/pages.txt file 20600 644
";

    #[track_caller]
    fn check_fixture(name: &str, description: &str) {
        let data = fixture(&format!("jffs2/{name}.jffs2"));
        assert_eq!(probe(&data).unwrap().description, description);
        let listing = parse(&data, &Budget::new(Limits::default()));
        assert_eq!(listing.diagnostics, Vec::new(), "{name}");
        assert_eq!(render(&listing), FIXTURE_TREE, "{name}");
        assert_eq!(file(&listing, "etc/banner"), b"consign jffs2 fixture\n");
        assert_eq!(
            file(&listing, "etc/config/system"),
            b"hostname=fixture\nmode=test\n"
        );
        assert_eq!(
            file(&listing, "usr/share/doc/consign/pages.txt"),
            pages_txt()
        );
        assert_eq!(listing.size, Some(data.len() as u64));
    }

    #[test]
    fn fixtures_every_compressor_and_byte_order() {
        check_fixture("le-zlib", "jffs2, little-endian");
        check_fixture("be-zlib", "jffs2, big-endian");
        check_fixture("le-rtime", "jffs2, little-endian");
        check_fixture("be-rtime", "jffs2, big-endian");
        check_fixture("le-lzo", "jffs2, little-endian");
        check_fixture("be-none", "jffs2, big-endian");
    }

    #[test]
    fn fact_samples_both_byte_orders() {
        for name in ["fact-jffs2_jffs2_be.img", "fact-jffs2_jffs2_le.img"] {
            let data = shared(&format!("samples/{name}"));
            let listing = parse(&data, &Budget::new(Limits::default()));
            assert_eq!(
                render(&listing),
                "generic folder dir 775\n\
                 generic folder/test file 3_.txt file 20 664\n\
                 testfile1 file 62 664\n\
                 testfile2 file 28 664\n",
                "{name}"
            );
            assert!(file(&listing, "testfile1").is_ascii());
            check_hostile(&data, parse);
        }
    }

    #[track_caller]
    fn check_corpus(image: &str, expect: &[(&str, usize)]) {
        let data = shared(&format!("corpus/images/{image}"));
        let listing = parse(&data, &Budget::new(Limits::default()));
        assert_eq!(listing.diagnostics, Vec::new(), "{image}");
        for (path, min_len) in expect {
            let bytes = file(&listing, path);
            assert!(bytes.len() >= *min_len, "{path}: {} bytes", bytes.len());
            assert!(bytes.starts_with(b"\x7fELF"), "{path} is not an ELF file");
        }
    }

    #[test]
    fn corpus_images_hold_the_truth_files() {
        // Paths from each image's truth.json.
        check_corpus(
            "plc-mipsel-jffs2/rootfs_data.jffs2",
            &[
                ("bin/busybox", 500_000),
                ("lib/mipsel-linux-gnu/libexpat.so.1.8.10", 100_000),
                ("lib/mipsel-linux-gnu/libc.so.6", 1_000_000),
            ],
        );
        check_corpus(
            "timesrv-mips64el-jffs2be/rootfs.jffs2",
            &[
                ("bin/busybox", 500_000),
                ("usr/sbin/chronyd", 100_000),
                ("lib/mips64el-linux-gnuabi64/libc.so.6", 1_000_000),
            ],
        );
    }

    #[test]
    fn fixtures_survive_damage() {
        for name in ["le-zlib", "be-rtime", "le-lzo"] {
            check_hostile(&fixture(&format!("jffs2/{name}.jffs2")), parse);
        }
    }

    #[test]
    fn corpus_truncated_and_flipped() {
        let data = shared("corpus/images/plc-mipsel-jffs2/rootfs_data.jffs2");
        let half = parse(&data[..data.len() / 2], &Budget::new(Limits::default()));
        assert!(!half.entries.is_empty());
        let mut flipped = data.clone();
        for at in (1000..flipped.len()).step_by(99_991) {
            flipped[at] ^= 0x10;
        }
        let listing = parse(&flipped, &Budget::new(Limits::default()));
        assert!(listing.entries.len() > 40);
        assert!(!listing.diagnostics.is_empty());
    }

    /// Builds JFFS2 nodes (little-endian) for hand-made images.
    struct Image(Vec<u8>);

    impl Image {
        fn node(&mut self, nodetype: u16, body: &[u8]) -> &mut Self {
            let totlen = 12 + body.len() as u32;
            let mut head = Vec::new();
            head.extend_from_slice(&MAGIC.to_le_bytes());
            head.extend_from_slice(&nodetype.to_le_bytes());
            head.extend_from_slice(&totlen.to_le_bytes());
            let crc = crc32_raw(0, &head);
            head.extend_from_slice(&crc.to_le_bytes());
            self.0.extend_from_slice(&head);
            self.0.extend_from_slice(body);
            while !self.0.len().is_multiple_of(4) {
                self.0.push(0xff);
            }
            self
        }

        fn dirent(
            &mut self,
            pino: u32,
            version: u32,
            ino: u32,
            dtype: u8,
            name: &str,
        ) -> &mut Self {
            let mut node = Vec::new();
            node.extend_from_slice(&MAGIC.to_le_bytes());
            node.extend_from_slice(&TYPE_DIRENT.to_le_bytes());
            node.extend_from_slice(&((DIRENT_LEN + name.len()) as u32).to_le_bytes());
            let crc = crc32_raw(0, &node);
            node.extend_from_slice(&crc.to_le_bytes());
            for word in [pino, version, ino, 0] {
                node.extend_from_slice(&word.to_le_bytes());
            }
            node.extend_from_slice(&[name.len() as u8, dtype, 0, 0]);
            let node_crc = crc32_raw(0, &node[..32]);
            node.extend_from_slice(&node_crc.to_le_bytes());
            node.extend_from_slice(&crc32_raw(0, name.as_bytes()).to_le_bytes());
            node.extend_from_slice(name.as_bytes());
            let body = node[12..].to_vec();
            self.node(TYPE_DIRENT, &body)
        }

        #[allow(clippy::too_many_arguments)] // Mirrors the on-disk fields.
        fn inode(
            &mut self,
            ino: u32,
            version: u32,
            mode: u32,
            isize: u32,
            offset: u32,
            compr: u8,
            payload: &[u8],
            dsize: u32,
        ) -> &mut Self {
            let mut node = Vec::new();
            node.extend_from_slice(&MAGIC.to_le_bytes());
            node.extend_from_slice(&TYPE_INODE.to_le_bytes());
            node.extend_from_slice(&((INODE_LEN + payload.len()) as u32).to_le_bytes());
            let crc = crc32_raw(0, &node);
            node.extend_from_slice(&crc.to_le_bytes());
            for word in [ino, version, mode, 0, isize, 0, 0, 0, offset] {
                node.extend_from_slice(&word.to_le_bytes());
            }
            node.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            node.extend_from_slice(&dsize.to_le_bytes());
            node.extend_from_slice(&[compr, 0, 0, 0]);
            node.extend_from_slice(&crc32_raw(0, payload).to_le_bytes());
            let node_crc = crc32_raw(0, &node[..60]);
            node.extend_from_slice(&node_crc.to_le_bytes());
            node.extend_from_slice(payload);
            let body = node[12..].to_vec();
            self.node(TYPE_INODE, &body)
        }
    }

    fn lzma_raw(data: &[u8]) -> Vec<u8> {
        use std::io::Write as _;
        let mut options = liblzma::stream::LzmaOptions::new_preset(6).unwrap();
        options
            .literal_context_bits(0)
            .literal_position_bits(0)
            .position_bits(0)
            .dict_size(0x2000);
        let mut filters = liblzma::stream::Filters::new();
        filters.lzma1(&options);
        let stream = liblzma::stream::Stream::new_raw_encoder(&filters).unwrap();
        let mut encoder = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn versions_deletions_lzma_and_overwrites() {
        let text = b"version two of the file, compressed with lzma lzma lzma".repeat(20);
        let lzma = lzma_raw(&text);
        let mut image = Image(Vec::new());
        image
            .dirent(1, 1, 2, 8, "file")
            .inode(2, 1, 0o100_644, 4, 0, 0, b"old!", 4)
            .inode(
                2,
                2,
                0o100_644,
                text.len() as u32,
                0,
                8,
                &lzma,
                text.len() as u32,
            )
            .inode(2, 3, 0o100_600, text.len() as u32, 0, 0, b"NEW", 3)
            .dirent(1, 1, 3, 8, "gone")
            .inode(3, 1, 0o100_644, 1, 0, 0, b"x", 1)
            .dirent(1, 2, 0, 8, "gone")
            .dirent(1, 1, 4, 4, "dir")
            .inode(4, 1, 0o040_755, 0, 0, 0, b"", 0)
            .dirent(4, 1, 5, 10, "link")
            .inode(5, 1, 0o120_777, 4, 0, 0, b"file", 4)
            .dirent(4, 1, 2, 8, "hard")
            .dirent(1, 1, 6, 2, "zeros")
            .inode(6, 1, 0o100_644, 5000, 0, 1, b"", 4096);
        let listing = parse(&image.0, &Budget::new(Limits::default()));
        assert_eq!(listing.diagnostics, Vec::new());
        assert_eq!(
            render(&listing),
            "dir dir 755\n\
             dir/hard file 1100 600\n\
             dir/link symlink -> file 777\n\
             file hardlink -> dir/hard\n\
             zeros file 5000 644\n"
        );
        let mut expect = text.clone();
        expect[..3].copy_from_slice(b"NEW");
        assert_eq!(file(&listing, "dir/hard"), expect);
        assert_eq!(file(&listing, "zeros"), vec![0u8; 5000]);
    }

    #[test]
    fn hostile_nodes_are_bounded() {
        let mut image = Image(Vec::new());
        image
            // A directory loop: 2 is in 3, 3 is in 2; neither reaches the root.
            .dirent(2, 1, 3, 4, "a")
            .dirent(3, 1, 2, 4, "b")
            .dirent(3, 1, 9, 8, "inside-loop")
            // A data node claiming a huge offset and size, from a few bytes.
            .dirent(1, 1, 7, 8, "huge")
            .inode(7, 1, 0o100_644, 0xffff_fff0, 0xffff_0000, 0, b"abcd", 4)
            // A node that claims more bytes than the image holds.
            .dirent(1, 1, 8, 8, "short")
            .inode(8, 1, 0o100_644, 3, 0, 0, b"abc", 3);
        let len = image.0.len();
        image.0[len - 72 + 4..len - 72 + 8].copy_from_slice(&0x7fff_0000u32.to_le_bytes());
        let started = Instant::now();
        let listing = parse(&image.0, &Budget::new(Limits::default()));
        assert!(started.elapsed() < Duration::from_secs(1));
        let messages: Vec<&str> = listing
            .diagnostics
            .iter()
            .map(|diagnostic| diagnostic.message.as_str())
            .collect();
        assert!(
            messages.iter().any(|m| m.contains("expansion ratio")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("cannot be reached")),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("unrecognised data") || m.contains("bad")),
            "{messages:?}"
        );
        assert!(!render(&listing).contains("huge"), "{}", render(&listing));
    }

    #[test]
    fn entry_limit_stops_the_listing() {
        let data = fixture("jffs2/le-zlib.jffs2");
        let budget = Budget::new(Limits {
            max_entries: 3,
            ..Limits::default()
        });
        let listing = parse(&data, &budget);
        assert_eq!(listing.entries.len(), 3);
        assert!(listing.diagnostics[0].message.contains("entry count limit"));
    }

    #[test]
    fn rtime_and_probe_edges() {
        // "a", "b", then "a" followed by 3 bytes copied from just after the previous "a".
        assert_eq!(rtime_decompress(b"a\x00b\x00a\x03", 6).unwrap(), b"ababab");
        // The input ends before the output is complete.
        assert!(rtime_decompress(b"a\x05", 10).is_err());
        assert_eq!(probe(b""), None);
        assert_eq!(
            probe(&[0x85, 0x19, 0x03, 0x20, 12, 0, 0, 0, 0, 0, 0, 0]),
            None
        );
        assert!(
            parse(b"\xff\xff\xff\xff", &Budget::new(Limits::default())).diagnostics[0]
                .message
                .contains("no valid jffs2")
        );
    }
}
