//! YAFFS2 (yet another flash filesystem 2) images as NAND dumps: data pages with their spare
//! (out-of-band) bytes.
//!
//! YAFFS2 has no magic. Each chunk is a data page followed by its spare area, which holds the
//! packed tags: sequence number, object id, chunk id and byte count. Chunk id 0 (or the
//! extra-header flag) marks an object header, which gives the object's type, parent, name, mode,
//! size, link target or hard-link target; other chunks hold file data at `(chunk_id - 1) * page`.
//! The layout (page size 512, 2048, 4096 or 8192 with its usual spare size; tags at spare offset
//! 0 or 2; either byte order) is found by trying each and checking that the first chunks hold
//! valid tags and an object header. Newer chunks (higher sequence number, then later in the
//! image) replace older ones. Objects in the `unlinked` and `deleted` pseudo-directories are
//! left out. Tag and data ECC are not checked (the NAND controller's ECC layout varies by board).

use std::collections::{BTreeMap, HashMap};

use consign_model::{Diagnostic, NodeKind, Severity};

use super::jffs2::{Diags, resolve_dir, special_kind};
use super::{FsEntry, FsListing, Probe};
use crate::Budget;
use crate::binary::Endian;

const LOWEST_SEQUENCE: u32 = 0x0000_1000;
const HIGHEST_SEQUENCE: u32 = 0xefff_ff00;
const EXTRA_HEADER_FLAG: u32 = 0x8000_0000;
const OBJ_ID_MASK: u32 = 0x0fff_ffff;
const ROOT_ID: u32 = 1;
const UNLINKED_ID: u32 = 3;
const DELETED_ID: u32 = 4;
const HEADER_MIN_LEN: usize = 512;
/// Chunks checked when guessing the layout.
const PROBE_CHUNKS: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Layout {
    page: usize,
    spare: usize,
    tags_at: usize,
    big_endian: bool,
}

impl Layout {
    fn chunk(&self) -> usize {
        self.page + self.spare
    }

    fn u32(&self, data: &[u8], at: usize) -> Option<u32> {
        let endian = if self.big_endian {
            Endian::Big
        } else {
            Endian::Little
        };
        endian.u32(data, at)
    }

    /// The tags of chunk `idx`, or `None` for an erased chunk or one whose tags make no sense.
    fn tags(&self, data: &[u8], idx: usize) -> Option<Tags> {
        let at = idx.checked_mul(self.chunk())? + self.page + self.tags_at;
        let raw = data.get(at..at + 16)?;
        if raw == [0xff; 16] {
            return None;
        }
        let seq = self.u32(raw, 0)?;
        let obj_id = self.u32(raw, 4)?;
        let chunk_id = self.u32(raw, 8)?;
        let n_bytes = self.u32(raw, 12)?;
        if !(LOWEST_SEQUENCE..=HIGHEST_SEQUENCE).contains(&seq) {
            return None;
        }
        let header = chunk_id == 0 || chunk_id & EXTRA_HEADER_FLAG != 0;
        let obj_id = if chunk_id & EXTRA_HEADER_FLAG != 0 {
            obj_id & OBJ_ID_MASK
        } else {
            obj_id
        };
        if obj_id == 0 || (!header && n_bytes as usize > self.page) {
            return None;
        }
        Some(Tags {
            seq,
            obj_id,
            chunk_id: if header { 0 } else { chunk_id },
            n_bytes,
        })
    }

    /// The object header in chunk `idx`, if it looks like one.
    fn header(&self, data: &[u8], idx: usize) -> Option<Header> {
        let at = idx.checked_mul(self.chunk())?;
        let page = data.get(at..at + self.page.max(HEADER_MIN_LEN))?;
        let kind = self.u32(page, 0)?;
        if !(1..=5).contains(&kind) {
            return None;
        }
        let name_field = page.get(10..266)?;
        let name_len = name_field.iter().position(|&byte| byte == 0)?;
        let alias_field = page.get(300..460)?;
        let alias_len = alias_field
            .iter()
            .position(|&byte| byte == 0)
            .unwrap_or(alias_field.len());
        let size_low = self.u32(page, 292)?;
        let size_high = self.u32(page, 496).unwrap_or(0);
        let size = if size_high == 0xffff_ffff {
            size_low as u64
        } else {
            ((size_high as u64) << 32) | size_low as u64
        };
        Some(Header {
            kind,
            parent: self.u32(page, 4)?,
            name: name_field[..name_len].to_vec(),
            mode: self.u32(page, 268)?,
            mtime: self.u32(page, 284)?,
            size,
            equiv_id: self.u32(page, 296)?,
            alias: alias_field[..alias_len].to_vec(),
        })
    }

    /// How many of the first chunks fit this layout, if the first one is an object header.
    fn score(&self, data: &[u8]) -> usize {
        let Some(first) = self.tags(data, 0) else {
            return 0;
        };
        if first.chunk_id != 0 || self.header(data, 0).is_none() {
            return 0;
        }
        let chunks = data.len() / self.chunk();
        (0..chunks.min(PROBE_CHUNKS))
            .filter(|&idx| {
                self.tags(data, idx)
                    .is_some_and(|tags| tags.chunk_id != 0 || self.header(data, idx).is_some())
            })
            .count()
    }
}

#[derive(Clone, Copy, Debug)]
struct Tags {
    seq: u32,
    obj_id: u32,
    chunk_id: u32,
    n_bytes: u32,
}

#[derive(Clone, Debug)]
struct Header {
    kind: u32,
    parent: u32,
    name: Vec<u8>,
    mode: u32,
    mtime: u32,
    size: u64,
    equiv_id: u32,
    alias: Vec<u8>,
}

const LAYOUTS: [(usize, usize); 4] = [(2048, 64), (512, 16), (4096, 128), (8192, 256)];

/// The best-fitting layout, if any fits at least two chunks (or the only chunk).
fn detect(data: &[u8]) -> Option<Layout> {
    let mut best: Option<(usize, Layout)> = None;
    for (page, spare) in LAYOUTS {
        for tags_at in [0, 2] {
            for big_endian in [false, true] {
                let layout = Layout {
                    page,
                    spare,
                    tags_at,
                    big_endian,
                };
                let score = layout.score(data);
                let needed = (data.len() / layout.chunk()).clamp(1, 2);
                if score >= needed && best.is_none_or(|(old, _)| score > old) {
                    best = Some((score, layout));
                }
            }
        }
    }
    best.map(|(_, layout)| layout)
}

/// Accepts data whose first chunks are YAFFS2 chunks with valid tags, starting with an object
/// header. Strict, because YAFFS2 has no magic: only try it at offset 0 of a whole input.
pub fn probe(data: &[u8]) -> Option<Probe> {
    let layout = detect(data)?;
    Some(Probe {
        format: "yaffs2",
        size: Some((data.len() - data.len() % layout.chunk()) as u64),
        description: format!(
            "yaffs2, {}+{} byte pages, {}",
            layout.page,
            layout.spare,
            if layout.big_endian {
                "big-endian"
            } else {
                "little-endian"
            }
        ),
    })
}

#[derive(Clone, Copy, Debug)]
struct DataChunk {
    seq: u32,
    idx: usize,
    n_bytes: u32,
}

/// Parses a whole YAFFS2 image.
pub fn parse(data: &[u8], budget: &Budget) -> FsListing {
    let mut diags = Diags::default();
    let Some(layout) = detect(data) else {
        diags.push(
            Diagnostic::warning("", "no yaffs2 page layout fits the start of this image")
                .severity(Severity::Error)
                .with_hint("page sizes 512, 2048, 4096 and 8192 with their usual spare areas and tags at spare offset 0 or 2 were tried"),
        );
        return FsListing {
            diagnostics: diags.finish(),
            ..FsListing::default()
        };
    };
    let chunk = layout.chunk();
    let chunks = data.len() / chunk;
    if !data.len().is_multiple_of(chunk) {
        diags.push(
            Diagnostic::warning(
                "",
                format!(
                    "yaffs2 image ends {} bytes into a chunk; the partial chunk is ignored",
                    data.len() % chunk
                ),
            )
            .at((chunks * chunk) as u64),
        );
    }
    let mut headers: HashMap<u32, (u32, usize, Header)> = HashMap::new();
    let mut contents: HashMap<u32, BTreeMap<u32, DataChunk>> = HashMap::new();
    for idx in 0..chunks {
        let Some(tags) = layout.tags(data, idx) else {
            let at = idx * chunk + layout.page + layout.tags_at;
            if data.get(at..at + 16).is_some_and(|raw| raw != [0xff; 16]) {
                diags.push(
                    Diagnostic::warning("", "yaffs2 chunk has unreadable tags; skipped")
                        .at((idx * chunk) as u64),
                );
            }
            continue;
        };
        if tags.chunk_id == 0 {
            let Some(header) = layout.header(data, idx) else {
                diags.push(
                    Diagnostic::warning(
                        "",
                        format!("yaffs2 object {} header is damaged; skipped", tags.obj_id),
                    )
                    .at((idx * chunk) as u64),
                );
                continue;
            };
            // Later chunks with the same sequence number are newer (written later in the block).
            if headers
                .get(&tags.obj_id)
                .is_none_or(|(seq, _, _)| *seq <= tags.seq)
            {
                headers.insert(tags.obj_id, (tags.seq, idx, header));
            }
        } else {
            let slot = contents.entry(tags.obj_id).or_default();
            if slot
                .get(&tags.chunk_id)
                .is_none_or(|old| old.seq <= tags.seq)
            {
                slot.insert(
                    tags.chunk_id,
                    DataChunk {
                        seq: tags.seq,
                        idx,
                        n_bytes: tags.n_bytes,
                    },
                );
            }
        }
    }

    let mut dir_parent: HashMap<u64, (u64, String)> = HashMap::new();
    for (obj_id, (_, _, header)) in &headers {
        if header.kind == 3 && *obj_id != ROOT_ID {
            dir_parent.insert(
                *obj_id as u64,
                (
                    header.parent as u64,
                    String::from_utf8_lossy(&header.name).into_owned(),
                ),
            );
        }
    }
    let mut cache: HashMap<u64, Option<String>> = HashMap::new();
    cache.insert(ROOT_ID as u64, Some(String::new()));
    let mut paths: HashMap<u32, String> = HashMap::new();
    let mut entries: Vec<(String, u32)> = Vec::new();
    for (obj_id, (_, idx, header)) in &headers {
        if *obj_id == ROOT_ID || matches!(header.parent, UNLINKED_ID | DELETED_ID) {
            continue;
        }
        let name = String::from_utf8_lossy(&header.name);
        match resolve_dir(header.parent as u64, &dir_parent, &mut cache) {
            Some(parent) => {
                let path = if parent.is_empty() {
                    name.into_owned()
                } else {
                    format!("{parent}/{name}")
                };
                paths.insert(*obj_id, path.clone());
                entries.push((path, *obj_id));
            }
            None => diags.push(
                Diagnostic::warning(
                    "",
                    format!(
                        "yaffs2 object `{name}` sits in directory {} that cannot be reached from the root; skipped",
                        header.parent
                    ),
                )
                .at((idx * chunk) as u64),
            ),
        }
    }
    entries.sort();

    let mut listing = FsListing::default();
    for (path, obj_id) in entries {
        let Some((_, idx, header)) = headers.get(&obj_id) else {
            continue;
        };
        let mode = Some(header.mode & 0o7777);
        let kind = match header.kind {
            1 => {
                let chunks_of = contents.get(&obj_id);
                match file_contents(data, layout, header, chunks_of, &path, budget) {
                    Ok(bytes) => NodeKind::File { data: bytes.into() },
                    Err((diagnostic, limit)) => {
                        diags.cut(
                            diagnostic.at((idx * chunk) as u64),
                            "the file's contents",
                            limit.into(),
                        );
                        continue;
                    }
                }
            }
            2 => NodeKind::Symlink {
                target: String::from_utf8_lossy(&header.alias).into_owned(),
            },
            3 => NodeKind::Dir,
            4 => {
                let Some(target) = paths.get(&header.equiv_id) else {
                    diags.push(
                        Diagnostic::warning(
                            &path,
                            format!(
                                "yaffs2 hard link points at object {} which is not in the image",
                                header.equiv_id
                            ),
                        )
                        .at((idx * chunk) as u64),
                    );
                    continue;
                };
                NodeKind::Hardlink {
                    target: target.clone(),
                }
            }
            _ => NodeKind::Special {
                what: special_kind(header.mode).unwrap_or("special").to_owned(),
            },
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
        // A hard link has no mode of its own: it is the target's.
        let mode = mode.filter(|_| !matches!(kind, NodeKind::Hardlink { .. }));
        let mtime = mode.map(|_| i64::from(header.mtime));
        listing.entries.push(FsEntry {
            path,
            kind,
            mode,
            mtime,
        });
    }
    listing.size = Some((chunks * chunk) as u64);
    diags.finish_into(&mut listing);
    listing
}

/// Assembles a file from its data chunks. Its size is reserved from the budget first; holes are
/// allowed, but a size far beyond the stored chunks is an expansion bomb.
fn file_contents(
    data: &[u8],
    layout: Layout,
    header: &Header,
    chunks: Option<&BTreeMap<u32, DataChunk>>,
    path: &str,
    budget: &Budget,
) -> Result<Vec<u8>, (Diagnostic, crate::Limit)> {
    let stored = chunks.map_or(0, |chunks| (chunks.len() * layout.page) as u64);
    let reservation = budget
        .reserve_expansion(header.size, stored)
        .map_err(|limit| {
            (
            Diagnostic::warning(
                path,
                format!(
                    "yaffs2 file of {} bytes with {stored} bytes of chunks not unpacked: {limit}",
                    header.size
                ),
            )
            .with_hint(limit.hint()),
            limit,
        )
        })?;
    let size = header.size as usize;
    let mut out = vec![0u8; size];
    for (&chunk_id, chunk) in chunks.into_iter().flatten() {
        let start = (chunk_id as usize - 1).saturating_mul(layout.page);
        if start >= size {
            continue;
        }
        let len = (chunk.n_bytes as usize).min(size - start);
        let at = chunk.idx * layout.chunk();
        if let Some(bytes) = data.get(at..at + len) {
            out[start..start + len].copy_from_slice(bytes);
        }
    }
    reservation.commit(out.len() as u64);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;
    use crate::fs::jffs2::tests::{check_hostile, file, render, shared};

    #[test]
    fn binwalk_sample() {
        let data = shared("samples/binwalk-yaffs2.bin");
        assert_eq!(
            probe(&data).unwrap().description,
            "yaffs2, 2048+64 byte pages, little-endian"
        );
        let listing = parse(&data, &Budget::new(Limits::default()));
        assert_eq!(listing.diagnostics, Vec::new());
        assert_eq!(
            render(&listing),
            "mkyaffs2image.c file 15107 664\n\
             mkyaffsimage.c file 13967 664\n\
             yaffs_ecc.c file 7143 664\n\
             yaffs_ecc.h file 1440 664\n\
             yaffs_guts.h file 27266 664\n\
             yaffs_hweight.c file 1689 664\n\
             yaffs_hweight.h file 656 664\n\
             yaffs_list.h file 3086 664\n\
             yaffs_packedtags2.c file 5169 664\n\
             yaffs_packedtags2.h file 1447 664\n\
             yaffs_trace.h file 1769 664\n\
             yportenv.h file 4903 664\n\
             yutilsenv.h file 844 664\n"
        );
        // mtime at header offset 284 (2024-09-24 01:56:22 UTC, as Python's struct reads it).
        let entry = listing.entries.iter().find(|e| e.path == "mkyaffs2image.c");
        assert_eq!(entry.unwrap().mtime, Some(1_727_142_982));
        let source = file(&listing, "mkyaffs2image.c");
        assert!(source.starts_with(b"/*") && source.ends_with(b"\n"));
        assert!(source.is_ascii());
    }

    #[test]
    fn damaged_copies() {
        check_hostile(&shared("samples/binwalk-yaffs2.bin"), parse);
    }

    /// Builds an image chunk by chunk in a given layout.
    struct Image {
        layout: Layout,
        bytes: Vec<u8>,
        seq: u32,
    }

    impl Image {
        fn word(&self, value: u32) -> [u8; 4] {
            if self.layout.big_endian {
                value.to_be_bytes()
            } else {
                value.to_le_bytes()
            }
        }

        fn chunk(&mut self, page: &[u8], obj_id: u32, chunk_id: u32, n_bytes: u32) -> &mut Self {
            let mut chunk = page.to_vec();
            chunk.resize(self.layout.page, 0xff);
            let mut spare = vec![0xff; self.layout.spare];
            let mut tags = Vec::new();
            for value in [self.seq, obj_id, chunk_id, n_bytes] {
                tags.extend_from_slice(&self.word(value));
            }
            spare[self.layout.tags_at..self.layout.tags_at + 16].copy_from_slice(&tags);
            self.bytes.extend_from_slice(&chunk);
            self.bytes.extend_from_slice(&spare);
            self
        }

        #[allow(clippy::too_many_arguments)] // Mirrors the header fields.
        fn header(
            &mut self,
            obj_id: u32,
            kind: u32,
            parent: u32,
            name: &str,
            mode: u32,
            size: u32,
            equiv: u32,
            alias: &str,
        ) -> &mut Self {
            let mut page = vec![0u8; 512];
            page[0..4].copy_from_slice(&self.word(kind));
            page[4..8].copy_from_slice(&self.word(parent));
            page[8..10].copy_from_slice(&[0xff, 0xff]);
            page[10..10 + name.len()].copy_from_slice(name.as_bytes());
            page[268..272].copy_from_slice(&self.word(mode));
            page[284..288].copy_from_slice(&self.word(1_700_000_000 + obj_id));
            page[292..296].copy_from_slice(&self.word(size));
            page[296..300].copy_from_slice(&self.word(equiv));
            page[300..300 + alias.len()].copy_from_slice(alias.as_bytes());
            page[496..500].copy_from_slice(&self.word(u32::MAX));
            self.chunk(&page, obj_id, 0, 0)
        }
    }

    #[test]
    fn small_pages_big_endian_deletions_and_links() {
        let layout = Layout {
            page: 512,
            spare: 16,
            tags_at: 0,
            big_endian: true,
        };
        let mut image = Image {
            layout,
            bytes: Vec::new(),
            seq: 0x1000,
        };
        let text = b"x".repeat(700);
        image
            .header(0x100, 3, 1, "etc", 0o040_755, 0, 0, "")
            .header(0x101, 1, 0x100, "data", 0o100_644, 700, 0, "")
            .chunk(&text[..512], 0x101, 1, 512)
            .chunk(&text[512..], 0x101, 2, 188)
            .header(0x102, 2, 1, "link", 0o120_777, 0, 0, "etc/data")
            .header(0x103, 4, 1, "hard", 0, 0, 0x101, "")
            .header(0x104, 5, 0x100, "tty", 0o020_600, 0, 0, "")
            .header(0x105, 1, 4, "deleted-file", 0o100_644, 1, 0, "")
            .header(0x106, 1, 1, "huge", 0o100_644, u32::MAX, 0, "");
        // A newer copy of chunk 2 replaces the old one.
        image.seq = 0x1001;
        image.chunk(&b"y".repeat(188), 0x101, 2, 188);
        let listing = parse(&image.bytes, &Budget::new(Limits::default()));
        assert_eq!(
            render(&listing),
            "etc dir 755\n\
             etc/data file 700 644\n\
             etc/tty char-device 600\n\
             hard hardlink -> etc/data\n\
             link symlink -> etc/data 777\n"
        );
        let mtimes: Vec<_> = listing.entries.iter().map(|e| e.mtime).collect();
        let stamp = |obj_id: i64| Some(1_700_000_000 + obj_id);
        // A hard link has no header fields of its own.
        assert_eq!(
            mtimes,
            [stamp(0x100), stamp(0x101), stamp(0x104), None, stamp(0x102)]
        );
        let data = file(&listing, "etc/data");
        assert_eq!(&data[..512], &text[..512]);
        assert_eq!(&data[512..], &b"y".repeat(188)[..]);
        let messages: Vec<&str> = listing
            .diagnostics
            .iter()
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(messages[0].contains("expansion ratio"));
        assert!(probe(&image.bytes).unwrap().description.contains("512+16"));
    }

    #[test]
    fn probe_is_strict() {
        assert_eq!(probe(b""), None);
        assert_eq!(probe(&[0xff; 4224]), None);
        assert_eq!(probe(&[0; 2112 * 4]), None);
        let text = b"just some text in a file, nothing like yaffs2 at all. ".repeat(200);
        assert_eq!(probe(&text), None);
        assert!(
            parse(&text, &Budget::new(Limits::default()))
                .entries
                .is_empty()
        );
    }
}
