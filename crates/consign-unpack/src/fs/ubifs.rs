//! UBIFS: the filesystem UBI volumes carry on raw NAND.
//!
//! A UBIFS volume image is a sequence of logical erase blocks (LEBs) of the size the superblock
//! gives. The parser reads the superblock (LEB 0), picks the newest valid master node (LEBs 1
//! and 2), walks the index B-tree from its root, and collects the inode, directory-entry and data
//! nodes the index points at. Every node's CRC is checked. File contents are assembled from 4 KiB
//! data blocks, decompressed in parallel (none, LZO, zlib, zstd), and paths are built from the
//! directory entries.
//!
//! When the index cannot be walked (a damaged root), the parser falls back to scanning every LEB
//! for nodes, keeping the newest node per key, and says so in a diagnostic. What is deliberately
//! ignored: the journal (nodes written after the last commit are not in the index; images made
//! by `mkfs.ubifs` have none), extended attributes, and encrypted or authenticated
//! filesystems (reported as not supported).

use std::collections::{BTreeMap, HashMap, HashSet};

use consign_model::{Diagnostic, NodeKind, Severity};
use rayon::prelude::*;

use super::jffs2::{Diags, crc32_raw, special_kind};
use super::{FsEntry, FsListing, Probe};
use crate::Budget;
use crate::binary::{u16le, u32le, u64le};
use crate::decompress::{Codec, decompress};
use crate::error::ReadError;

const MAGIC: u32 = 0x0610_1831;
const CH_LEN: usize = 24;
const INO_NODE: u8 = 0;
const DATA_NODE: u8 = 1;
const DENT_NODE: u8 = 2;
const SB_NODE: u8 = 6;
const MST_NODE: u8 = 7;
const IDX_NODE: u8 = 9;
const INO_NODE_LEN: usize = 160;
const DENT_NODE_LEN: usize = 56;
const DATA_NODE_LEN: usize = 48;
const IDX_NODE_LEN: usize = 28;
const BLOCK_SIZE: usize = 4096;
const ROOT_INUM: u64 = 1;
const FLAG_ENCRYPTION: u32 = 0x08;
const FLAG_AUTHENTICATION: u32 = 0x10;
/// B-tree levels we follow; UBIFS trees are a handful of levels deep.
const MAX_LEVELS: u16 = 64;

/// A node with a valid magic, length and CRC at `at`: `(node_type, sqnum, bytes)`.
fn node_at(data: &[u8], at: usize) -> Option<(u8, u64, &[u8])> {
    if u32le(data, at)? != MAGIC {
        return None;
    }
    let len = u32le(data, at + 16)? as usize;
    if len < CH_LEN {
        return None;
    }
    let node = data.get(at..at.checked_add(len)?)?;
    if crc32_raw(!0, &node[8..]) != u32le(node, 4)? {
        return None;
    }
    Some((node[20], u64le(node, 8)?, node))
}

/// The superblock facts the parser needs.
#[derive(Clone, Copy, Debug)]
struct Superblock {
    leb_size: usize,
    leb_cnt: u32,
    default_compr: u16,
    flags: u32,
    fmt_version: u32,
}

fn superblock(data: &[u8]) -> Option<Superblock> {
    // Every UBIFS node starts with the magic; look at the type before paying for a CRC.
    if data.get(20) != Some(&SB_NODE) {
        return None;
    }
    let (node_type, _, node) = node_at(data, 0)?;
    if node_type != SB_NODE {
        return None;
    }
    let leb_size = u32le(node, 36)? as usize;
    let min_io = u32le(node, 32)? as usize;
    if !(4096..=(16 << 20)).contains(&leb_size) || min_io == 0 || min_io > leb_size {
        return None;
    }
    Some(Superblock {
        leb_size,
        leb_cnt: u32le(node, 40)?,
        default_compr: u16le(node, 84)?,
        flags: u32le(node, 28)?,
        fmt_version: u32le(node, 80)?,
    })
}

fn compr_name(compr: u16) -> &'static str {
    match compr {
        0 => "none",
        1 => "lzo",
        2 => "zlib",
        3 => "zstd",
        _ => "unknown compressor",
    }
}

/// Accepts a volume image that starts with a valid UBIFS superblock node.
pub fn probe(data: &[u8]) -> Option<Probe> {
    let sb = superblock(data)?;
    Some(Probe {
        format: "ubifs",
        size: Some(sb.leb_size as u64 * sb.leb_cnt as u64),
        description: format!(
            "ubifs format {}, {} LEBs of {} bytes, {}",
            sb.fmt_version,
            sb.leb_cnt,
            sb.leb_size,
            compr_name(sb.default_compr)
        ),
    })
}

#[derive(Clone, Debug)]
struct Inode {
    sqnum: u64,
    offset: usize,
    size: u64,
    mode: u32,
    /// `mtime_sec`, seconds since the epoch (signed on disk).
    mtime: i64,
    nlink: u32,
    data: Vec<u8>,
}

#[derive(Clone, Debug)]
struct Dent {
    sqnum: u64,
    offset: usize,
    parent: u64,
    inum: u64,
    dtype: u8,
    name: Vec<u8>,
}

#[derive(Clone, Copy, Debug)]
struct DataRef {
    sqnum: u64,
    offset: usize,
}

#[derive(Default)]
struct Nodes {
    inodes: HashMap<u64, Inode>,
    dents: HashMap<(u64, Vec<u8>), Dent>,
    data: HashMap<u64, BTreeMap<u32, DataRef>>,
}

impl Nodes {
    /// Records one leaf node; the newest (highest sqnum) per key wins.
    fn add(&mut self, node: &[u8], sqnum: u64, offset: usize, diags: &mut Diags) {
        let Some(inum) = u32le(node, 24) else {
            return;
        };
        let inum = inum as u64;
        let key_low = u32le(node, 28).unwrap_or(0);
        match node[20] {
            INO_NODE => {
                let Some(data_len) = u32le(node, 112) else {
                    return;
                };
                let Some(inline) =
                    node.get(INO_NODE_LEN..INO_NODE_LEN.saturating_add(data_len as usize))
                else {
                    diags.push(
                        Diagnostic::warning(
                            "",
                            format!("ubifs inode {inum} has inline data longer than its node"),
                        )
                        .at(offset as u64),
                    );
                    return;
                };
                let inode = Inode {
                    sqnum,
                    offset,
                    size: u64le(node, 48).unwrap_or(0),
                    mode: u32le(node, 104).unwrap_or(0),
                    mtime: u64le(node, 72).unwrap_or(0).cast_signed(),
                    nlink: u32le(node, 92).unwrap_or(0),
                    data: inline.to_vec(),
                };
                if self.inodes.get(&inum).is_none_or(|old| old.sqnum < sqnum) {
                    self.inodes.insert(inum, inode);
                }
            }
            DENT_NODE => {
                let nlen = u16le(node, 50).unwrap_or(0) as usize;
                let Some(name) = node.get(DENT_NODE_LEN..DENT_NODE_LEN + nlen) else {
                    diags.push(
                        Diagnostic::warning(
                            "",
                            "ubifs directory entry has a name longer than its node",
                        )
                        .at(offset as u64),
                    );
                    return;
                };
                let dent = Dent {
                    sqnum,
                    offset,
                    parent: inum,
                    inum: u64le(node, 40).unwrap_or(0),
                    dtype: node.get(49).copied().unwrap_or(0),
                    name: name.to_vec(),
                };
                let key = (inum, dent.name.clone());
                if self.dents.get(&key).is_none_or(|old| old.sqnum < sqnum) {
                    self.dents.insert(key, dent);
                }
            }
            DATA_NODE => {
                let block = key_low & 0x1fff_ffff;
                let blocks = self.data.entry(inum).or_default();
                if blocks.get(&block).is_none_or(|old| old.sqnum < sqnum) {
                    blocks.insert(block, DataRef { sqnum, offset });
                }
            }
            // Extended attributes, truncations and the rest carry nothing we list.
            _ => {}
        }
    }
}

/// Walks the index B-tree from the root; returns false when the root itself is unusable.
fn walk_index(
    data: &[u8],
    leb_size: usize,
    root: (u32, u32),
    nodes: &mut Nodes,
    diags: &mut Diags,
) -> bool {
    let position = |lnum: u32, offs: u32| -> Option<usize> {
        if offs as usize >= leb_size {
            return None;
        }
        (lnum as usize)
            .checked_mul(leb_size)?
            .checked_add(offs as usize)
    };
    let Some(root_at) = position(root.0, root.1) else {
        return false;
    };
    match node_at(data, root_at) {
        Some((IDX_NODE, _, _)) => {}
        _ => return false,
    }
    let mut seen: HashSet<usize> = HashSet::new();
    let mut stack: Vec<(usize, u16)> = vec![(root_at, MAX_LEVELS)];
    while let Some((at, max_level)) = stack.pop() {
        if !seen.insert(at) {
            continue;
        }
        let Some((node_type, sqnum, node)) = node_at(data, at) else {
            diags.push(
                Diagnostic::warning(
                    "",
                    "ubifs index points at a damaged or missing node; that subtree is skipped",
                )
                .at(at as u64),
            );
            continue;
        };
        if node_type != IDX_NODE {
            nodes.add(node, sqnum, at, diags);
            continue;
        }
        let child_cnt = u16le(node, 24).unwrap_or(0) as usize;
        let level = u16le(node, 26).unwrap_or(0);
        if level >= max_level || child_cnt == 0 {
            diags.push(
                Diagnostic::warning(
                    "",
                    format!("ubifs index node at level {level} has {child_cnt} children and breaks the tree order; skipped"),
                )
                .at(at as u64),
            );
            continue;
        }
        // Branches are lnum, offs, len and a key, plus a hash on authenticated images: the
        // branch size follows from the node length.
        let branch_len = (node.len() - IDX_NODE_LEN.min(node.len())) / child_cnt;
        if branch_len < 20 {
            diags.push(
                Diagnostic::warning(
                    "",
                    format!("ubifs index node is too short for its {child_cnt} children"),
                )
                .at(at as u64),
            );
            continue;
        }
        for idx in (0..child_cnt).rev() {
            let branch = IDX_NODE_LEN + idx * branch_len;
            let (Some(lnum), Some(offs)) = (u32le(node, branch), u32le(node, branch + 4)) else {
                continue;
            };
            match position(lnum, offs) {
                Some(child) if child < data.len() => stack.push((child, level)),
                _ => diags.push(
                    Diagnostic::warning(
                        "",
                        format!("ubifs index branch points at LEB {lnum} offset {offs}, outside the volume"),
                    )
                    .at(at as u64),
                ),
            }
        }
    }
    true
}

/// Scans every LEB for nodes, for when the index is damaged.
fn scan_all(data: &[u8], leb_size: usize, nodes: &mut Nodes, diags: &mut Diags) {
    let mut at = 0;
    while at + CH_LEN <= data.len() {
        if let Some((node_type, sqnum, node)) = node_at(data, at) {
            if matches!(node_type, INO_NODE | DENT_NODE | DATA_NODE) {
                nodes.add(node, sqnum, at, diags);
            }
            at += node.len().next_multiple_of(8);
        } else if data.get(at..at + 8) == Some(&[0xff; 8]) {
            // Free space runs to the end of the LEB.
            at = (at / leb_size + 1) * leb_size;
        } else {
            at += 8;
        }
    }
}

/// The newest valid master node: `(root lnum, root offs)`.
fn master(data: &[u8], leb_size: usize) -> Option<(u32, u32)> {
    let mut best: Option<(u64, u32, u32)> = None;
    for lnum in 1..=2 {
        let start = lnum * leb_size;
        let Some(leb) = data.get(start..(start + leb_size).min(data.len())) else {
            continue;
        };
        let mut at = 0;
        while at + CH_LEN <= leb.len() {
            match node_at(leb, at) {
                Some((node_type, sqnum, node)) => {
                    if node_type == MST_NODE
                        && best.is_none_or(|(best_sqnum, ..)| sqnum > best_sqnum)
                        && let (Some(root_lnum), Some(root_offs)) =
                            (u32le(node, 48), u32le(node, 52))
                    {
                        best = Some((sqnum, root_lnum, root_offs));
                    }
                    at += node.len().next_multiple_of(8);
                }
                None => at += 8,
            }
        }
    }
    best.map(|(_, lnum, offs)| (lnum, offs))
}

/// Decompresses one data node's payload into its block.
fn data_block(node: &[u8]) -> Result<Vec<u8>, ReadError> {
    let size = u32le(node, 40).unwrap_or(0) as usize;
    let compr = u16le(node, 44).unwrap_or(0);
    if size > BLOCK_SIZE {
        return Err(ReadError::Invalid {
            what: "data node size",
            value: size.to_string(),
            rule: "more than a 4096-byte block",
        });
    }
    let payload = node.get(DATA_NODE_LEN..).unwrap_or_default();
    let out = match compr {
        0 => payload.to_vec(),
        1 => crate::lzo::decompress_lzo1x(payload, size).map_err(|err| ReadError::decode(&err))?,
        2 => {
            decompress(Codec::Deflate, payload, size as u64)
                .map_err(|err| ReadError::decode(&err))?
                .data
        }
        3 => {
            decompress(Codec::Zstd, payload, size as u64)
                .map_err(|err| ReadError::decode(&err))?
                .data
        }
        other => return Err(ReadError::Unsupported(format!("compressor {other}"))),
    };
    if out.len() < size {
        return Err(ReadError::Size {
            what: compr_name(compr),
            expected: size as u64,
            found: out.len() as u64,
        }
        .at("data node"));
    }
    Ok(out)
}

/// Assembles a regular file from its data blocks. Its size is reserved from the budget first, and
/// may be at most the expansion ratio times its stored blocks (holes count).
fn assemble(
    data: &[u8],
    inode: &Inode,
    blocks: Option<&BTreeMap<u32, DataRef>>,
    path: &str,
    budget: &Budget,
) -> (Option<Vec<u8>>, Diags) {
    let mut diagnostics = Diags::default();
    let size = inode.size;
    let stored: u64 = blocks.map_or(0, |blocks| blocks.len() as u64 * BLOCK_SIZE as u64);
    let reservation = match budget.reserve_expansion(size, stored) {
        Ok(reservation) => reservation,
        Err(limit) => {
            diagnostics.cut(
                Diagnostic::warning(
                    path,
                    format!(
                        "ubifs inode of {size} bytes with {} data blocks not unpacked: {limit}",
                        blocks.map_or(0, BTreeMap::len),
                    ),
                )
                .at(inode.offset as u64)
                .with_hint(limit.hint()),
                "the file's contents",
                limit.into(),
            );
            return (None, diagnostics);
        }
    };
    let size = size as usize;
    let mut out = vec![0u8; size];
    for (&block, reference) in blocks.into_iter().flatten() {
        let start = block as usize * BLOCK_SIZE;
        if start >= size {
            continue;
        }
        let Some((_, _, node)) = node_at(data, reference.offset) else {
            continue;
        };
        match data_block(node) {
            Ok(bytes) => {
                let len = bytes.len().min(size - start).min(BLOCK_SIZE);
                out[start..start + len].copy_from_slice(&bytes[..len]);
            }
            Err(why) => diagnostics.push(
                Diagnostic::warning(path, format!("ubifs block {block} not decompressed: {why}"))
                    .at(reference.offset as u64),
            ),
        }
    }
    reservation.commit(out.len() as u64);
    (Some(out), diagnostics)
}

const S_IFMT: u32 = 0o170_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFREG: u32 = 0o100_000;
const S_IFLNK: u32 = 0o120_000;

/// Parses a UBIFS volume image (the bytes of one UBI volume).
pub fn parse(data: &[u8], budget: &Budget) -> FsListing {
    let mut diags = Diags::default();
    let Some(sb) = superblock(data) else {
        diags.push(
            Diagnostic::warning("", "no valid ubifs superblock at the start of the volume")
                .severity(Severity::Error)
                .with_hint("ubifs is found inside a ubi volume; unpack the ubi image first"),
        );
        return FsListing {
            diagnostics: diags.finish(),
            ..FsListing::default()
        };
    };
    if sb.flags & FLAG_ENCRYPTION != 0 {
        diags.push(Diagnostic::warning(
            "",
            "ubifs encryption is not supported: encrypted names and contents are listed as stored",
        ));
    }
    if sb.flags & FLAG_AUTHENTICATION != 0 {
        diags.push(
            Diagnostic::warning(
                "",
                "ubifs authentication hashes are not checked (only the node crcs are)",
            )
            .severity(Severity::Info),
        );
    }
    let mut nodes = Nodes::default();
    let walked = master(data, sb.leb_size)
        .is_some_and(|root| walk_index(data, sb.leb_size, root, &mut nodes, &mut diags));
    if !walked {
        diags.push(
            Diagnostic::warning(
                "",
                "ubifs master node or index root is damaged; every erase block was scanned instead",
            )
            .with_hint("files deleted before the image was taken may reappear in this listing"),
        );
        scan_all(data, sb.leb_size, &mut nodes, &mut diags);
    }

    // Directories have one parent entry; files may have several (hard links).
    let mut live: Vec<Dent> = nodes
        .dents
        .into_values()
        .filter(|dent| dent.inum != 0)
        .collect();
    live.sort_by(|a, b| (a.parent, &a.name).cmp(&(b.parent, &b.name)));
    let mut dir_parent: HashMap<u64, (u64, String)> = HashMap::new();
    for dent in &live {
        if dent.dtype == 1 {
            dir_parent.insert(
                dent.inum,
                (
                    dent.parent,
                    String::from_utf8_lossy(&dent.name).into_owned(),
                ),
            );
        }
    }
    let mut cache: HashMap<u64, Option<String>> = HashMap::new();
    cache.insert(ROOT_INUM, Some(String::new()));
    let mut entries: Vec<(String, &Dent)> = Vec::new();
    for dent in &live {
        let name = String::from_utf8_lossy(&dent.name);
        match super::jffs2::resolve_dir(dent.parent, &dir_parent, &mut cache) {
            Some(parent) if parent.is_empty() => entries.push((name.into_owned(), dent)),
            Some(parent) => entries.push((format!("{parent}/{name}"), dent)),
            None => diags.push(
                Diagnostic::warning(
                    "",
                    format!(
                        "ubifs entry `{name}` sits in directory inode {} that cannot be reached from the root; skipped",
                        dent.parent
                    ),
                )
                .at(dent.offset as u64),
            ),
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));

    let mut first_path: HashMap<u64, String> = HashMap::new();
    let mut jobs: Vec<(u64, String)> = Vec::new();
    for (path, dent) in &entries {
        if dent.dtype != 1 && !first_path.contains_key(&dent.inum) {
            first_path.insert(dent.inum, path.clone());
            if nodes
                .inodes
                .get(&dent.inum)
                .is_some_and(|inode| inode.mode & S_IFMT == S_IFREG)
            {
                jobs.push((dent.inum, path.clone()));
            }
        }
    }
    let results: Vec<(u64, Option<Vec<u8>>, Diags)> = jobs
        .into_par_iter()
        .filter_map(|(inum, path)| {
            let inode = nodes.inodes.get(&inum)?;
            let (contents, diagnostics) =
                assemble(data, inode, nodes.data.get(&inum), &path, budget);
            Some((inum, contents, diagnostics))
        })
        .collect();
    let mut contents: HashMap<u64, Vec<u8>> = HashMap::new();
    for (inum, bytes, diagnostics) in results {
        diags.absorb(diagnostics);
        if let Some(bytes) = bytes {
            contents.insert(inum, bytes);
        }
    }

    let mut listing = FsListing::default();
    for (path, dent) in entries {
        let Some(inode) = nodes.inodes.get(&dent.inum) else {
            diags.push(
                Diagnostic::warning(
                    &path,
                    format!(
                        "ubifs inode {} is missing from the index; skipped",
                        dent.inum
                    ),
                )
                .at(dent.offset as u64),
            );
            continue;
        };
        if inode.nlink == 0 {
            continue;
        }
        let mode = Some(inode.mode & 0o7777);
        let (kind, mode) = match inode.mode & S_IFMT {
            S_IFDIR => (NodeKind::Dir, mode),
            _ if first_path.get(&dent.inum) != Some(&path) => (
                NodeKind::Hardlink {
                    target: first_path.get(&dent.inum).cloned().unwrap_or_default(),
                },
                None,
            ),
            S_IFREG => match contents.remove(&dent.inum) {
                Some(bytes) => (NodeKind::File { data: bytes.into() }, mode),
                None => continue,
            },
            S_IFLNK => (
                NodeKind::Symlink {
                    target: String::from_utf8_lossy(&inode.data).into_owned(),
                },
                mode,
            ),
            _ => {
                let Some(what) = special_kind(inode.mode) else {
                    diags.push(
                        Diagnostic::warning(
                            &path,
                            format!("ubifs inode has an unknown mode {:#o}; skipped", inode.mode),
                        )
                        .at(inode.offset as u64),
                    );
                    continue;
                };
                (
                    NodeKind::Special {
                        what: what.to_owned(),
                    },
                    mode,
                )
            }
        };
        if let Err(limit) = budget.take_entry_with(path.len() as u64) {
            diags.cut(
                Diagnostic::warning(&path, format!("{limit}; stopping here"))
                    .with_hint(limit.hint()),
                "this entry and the rest of the filesystem",
                limit.into(),
            );
            break;
        }
        let mtime = mode.map(|_| inode.mtime);
        listing.entries.push(FsEntry {
            path,
            kind,
            mode,
            mtime,
        });
    }
    listing.size = Some((sb.leb_size as u64 * sb.leb_cnt as u64).min(data.len() as u64));
    diags.finish_into(&mut listing);
    listing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;
    use crate::fs::jffs2::tests::{check_hostile, file, fixture, pages_txt, render, shared};

    const FIXTURE_TREE: &str = "\
dev dir 755
dev/console char-device 600
empty-dir dir 755
etc dir 755
etc/banner file 22 644
etc/banner-hardlink hardlink -> etc/banner
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

    /// The data nodes' compressor numbers in `volume`, found by walking every node.
    fn compressors(volume: &[u8]) -> Vec<u16> {
        let mut found = Vec::new();
        let mut at = 0;
        while at + CH_LEN <= volume.len() {
            match node_at(volume, at) {
                Some((node_type, _, node)) => {
                    if node_type == DATA_NODE && !found.contains(&u16le(node, 44).unwrap()) {
                        found.push(u16le(node, 44).unwrap());
                    }
                    at += node.len().next_multiple_of(8);
                }
                None => at += 8,
            }
        }
        found
    }

    #[test]
    fn fixtures_every_compressor() {
        for (name, compr) in [("lzo", 1), ("zlib", 2), ("zstd", 3), ("none", 0)] {
            let data = fixture(&format!("ubi/{name}.ubifs"));
            // Blocks that do not shrink are stored uncompressed.
            assert!(compressors(&data).contains(&compr), "{name}");
            assert!(probe(&data).unwrap().description.ends_with(name), "{name}");
            let listing = parse(&data, &Budget::new(Limits::default()));
            assert_eq!(listing.diagnostics, Vec::new(), "{name}");
            assert_eq!(render(&listing), FIXTURE_TREE, "{name}");
            assert_eq!(file(&listing, "etc/banner"), b"consign ubifs fixture\n");
            assert_eq!(
                file(&listing, "etc/config/system"),
                b"hostname=fixture\nmode=test\n"
            );
            assert_eq!(
                file(&listing, "usr/share/doc/consign/pages.txt"),
                pages_txt()
            );
        }
    }

    fn volume_of(ubi_image: &[u8]) -> Vec<u8> {
        let listing = crate::fs::ubi::parse(ubi_image, &Budget::new(Limits::default()));
        file(&listing, "rootfs").to_vec()
    }

    #[test]
    fn volumes_inside_the_ubi_samples() {
        let fact = volume_of(&shared("samples/fact-ubi_ubi.img"));
        let listing = parse(&fact, &Budget::new(Limits::default()));
        assert_eq!(listing.diagnostics, Vec::new());
        assert_eq!(
            render(&listing),
            "generic folder dir 755\n\
             generic folder/test file 3_.txt file 20 644\n\
             testfile1 file 62 644\n\
             testfile2 file 28 644\n"
        );
        assert!(file(&listing, "testfile1").is_ascii());

        let gateway = volume_of(&shared("corpus/images/gateway-arm64-ubi/rootfs.ubi"));
        let listing = parse(&gateway, &Budget::new(Limits::default()));
        assert_eq!(listing.diagnostics, Vec::new());
        // Paths from the image's truth.json.
        for path in [
            "usr/sbin/avahi-daemon",
            "bin/hciconfig",
            "usr/bin/bluetoothctl",
            "usr/lib/aarch64-linux-gnu/libavahi-core.so.7.1.0",
        ] {
            let bytes = file(&listing, path);
            assert!(
                bytes.len() > 10_000 && bytes.starts_with(b"\x7fELF"),
                "{path}"
            );
        }
    }

    #[test]
    fn damaged_copies() {
        for name in ["lzo", "zstd"] {
            check_hostile(&fixture(&format!("ubi/{name}.ubifs")), parse);
        }
        check_hostile(&volume_of(&shared("samples/fact-ubi_ubi.img")), parse);
    }

    #[test]
    fn broken_index_falls_back_to_a_scan() {
        let mut data = fixture("ubi/zlib.ubifs");
        // Break every master node: the index root cannot be found.
        for lnum in 1..=2 {
            let start = lnum * 15360;
            data[start + 30] ^= 0xff;
            if let Some((_, _, node)) = node_at(&data, start + 512) {
                let len = node.len();
                data[start + 512 + len - 1] ^= 0xff;
            }
        }
        let listing = parse(&data, &Budget::new(Limits::default()));
        assert!(
            listing.diagnostics[0]
                .message
                .contains("every erase block was scanned")
        );
        assert_eq!(
            file(&listing, "usr/share/doc/consign/pages.txt"),
            pages_txt()
        );
    }

    #[test]
    fn index_loop_and_huge_inode_are_bounded() {
        let mut data = fixture("ubi/none.ubifs");
        // Point every branch of the root index node back at the root itself.
        let (root_lnum, root_offs) = master(&data, 15360).unwrap();
        let root = root_lnum as usize * 15360 + root_offs as usize;
        let (_, _, node) = node_at(&data, root).unwrap();
        let (len, children) = (node.len(), u16le(node, 24).unwrap() as usize);
        let branch_len = (len - IDX_NODE_LEN) / children;
        // Make it claim level 1 so its children are followed as index nodes.
        data[root + 26..root + 28].copy_from_slice(&1u16.to_le_bytes());
        for idx in 0..children {
            let at = root + IDX_NODE_LEN + idx * branch_len;
            data[at..at + 4].copy_from_slice(&root_lnum.to_le_bytes());
            data[at + 4..at + 8].copy_from_slice(&root_offs.to_le_bytes());
        }
        let crc = crc32_raw(!0, &data[root + 8..root + len]);
        data[root + 4..root + 8].copy_from_slice(&crc.to_le_bytes());
        let listing = parse(&data, &Budget::new(Limits::default()));
        assert!(listing.entries.is_empty());

        // An inode claiming an exabyte with no data blocks.
        let inode = Inode {
            sqnum: 1,
            offset: 0,
            size: 1 << 60,
            mode: 0o100_644,
            mtime: 0,
            nlink: 1,
            data: Vec::new(),
        };
        let (contents, diagnostics) =
            assemble(&data, &inode, None, "huge", &Budget::new(Limits::default()));
        assert!(contents.is_none());
        let mut listing = FsListing::default();
        diagnostics.finish_into(&mut listing);
        assert!(listing.diagnostics[0].message.contains("expansion ratio"));
        assert_eq!(listing.cuts[0].reason, consign_model::CutReason::RatioLimit);
    }

    #[test]
    fn rejects_non_ubifs() {
        assert_eq!(probe(b""), None);
        assert_eq!(probe(&[0xff; 4096]), None);
        let listing = parse(b"UBI#", &Budget::new(Limits::default()));
        assert_eq!(
            listing.diagnostics[0].hint.as_deref(),
            Some("ubifs is found inside a ubi volume; unpack the ubi image first")
        );
    }
}
