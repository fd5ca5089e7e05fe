//! Filesystem parsers: each turns the bytes of one filesystem image into an [`FsListing`].
//!
//! Every parser module has the same shape:
//!
//! - `pub fn probe(data: &[u8]) -> Option<Probe>`: cheap header validation at offset 0, used by
//!   the carver after a magic match. It must reject garbage quickly and never allocate much.
//! - `pub fn parse(data: &[u8], budget: &Budget) -> FsListing`: the whole filesystem.
//!
//! Parsers never fail on damaged input: they return what they could read and diagnostics for the
//! rest. They never touch the disk, never follow links, and take every size from the input as
//! untrusted (bounded by the slice length and the [`Budget`]). Paths are returned as stored
//! (untrusted); the confined writer normalises them.

pub mod cramfs;
pub mod erofs;
pub mod ext;
pub mod fat;
pub mod iso9660;
pub mod jffs2;
pub mod littlefs;
pub mod romfs;
pub mod squashfs;
pub mod ubi;
pub mod ubifs;
pub mod ufs;
pub mod yaffs2;

use consign_model::{Cut, CutReason, Diagnostic, NodeKind};

#[allow(unused_imports)] // Used by every parser module.
use crate::Budget;

/// What a probe learned from a valid-looking header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    /// The format's short name (`squashfs`, `jffs2`, ...).
    pub format: &'static str,
    /// How many bytes the filesystem occupies from offset 0, when the header says.
    pub size: Option<u64>,
    /// A one-line description for reports (`squashfs 4.0, xz, 212 inodes`).
    pub description: String,
}

/// The Unix file types that are neither file, folder nor symlink (`S_IFCHR`, `S_IFBLK`,
/// `S_IFIFO`, `S_IFSOCK`), as they stand in a mode's type bits (`mode & 0o170000`); a reader
/// matching those bits hands these to [`special_node`].
pub(crate) const CHAR_DEVICE: u16 = 0o020_000;
pub(crate) const BLOCK_DEVICE: u16 = 0o060_000;
pub(crate) const FIFO: u16 = 0o010_000;
pub(crate) const SOCKET: u16 = 0o140_000;

/// One bit per unit (block, cluster, fragment) an image holds, set once something has read it:
/// how the file system readers tell a loop or a cross-link from a first read. Sized by the data
/// in hand, never by a count the image states; a unit past it is never claimed.
pub(crate) struct Claimed(Vec<u64>);

impl Claimed {
    /// A bit for each of `units` units.
    pub(crate) fn new(units: u64) -> Self {
        Self(vec![0; usize::try_from(units.div_ceil(64)).unwrap_or(0)])
    }

    /// True when `unit` was claimed.
    pub(crate) fn has(&self, unit: u64) -> bool {
        usize::try_from(unit / 64)
            .ok()
            .and_then(|word| self.0.get(word))
            .is_some_and(|word| word & (1 << (unit % 64)) != 0)
    }

    /// Claims `unit` (nothing past the units it holds).
    pub(crate) fn set(&mut self, unit: u64) {
        if let Some(word) = usize::try_from(unit / 64)
            .ok()
            .and_then(|word| self.0.get_mut(word))
        {
            *word |= 1 << (unit % 64);
        }
    }

    /// Claims `unit`; false when it was claimed before or lies past the units it holds.
    pub(crate) fn claim(&mut self, unit: u64) -> bool {
        let fresh =
            !self.has(unit) && usize::try_from(unit / 64).is_ok_and(|word| word < self.0.len());
        self.set(unit);
        fresh
    }
}

/// The node every reader of Unix modes lists for a special file type, by its type bits.
pub(crate) fn special_node(file_type: u16) -> NodeKind {
    let what = match file_type {
        CHAR_DEVICE => "char-device",
        BLOCK_DEVICE => "block-device",
        FIFO => "fifo",
        SOCKET => "socket",
        _ => "other",
    };
    NodeKind::Special {
        what: what.to_owned(),
    }
}

/// One entry of a filesystem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FsEntry {
    /// Path as stored, `/`-separated, untrusted (may contain `..` or be absolute).
    pub path: String,
    /// What it is, with the contents for files.
    pub kind: NodeKind,
    /// Unix mode bits, when recorded.
    pub mode: Option<u32>,
    /// Modification time in seconds since 1970-01-01T00:00:00Z, when recorded.
    pub mtime: Option<i64>,
}

/// What a parser read from one filesystem image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FsListing {
    /// The entries, in a stable order (the order of the on-disk structures, or sorted by path).
    pub entries: Vec<FsEntry>,
    /// Problems met. `location` is the path inside the filesystem (empty for the image itself) and
    /// `offset` is relative to the start of the image; the caller prefixes its own location.
    pub diagnostics: Vec<Diagnostic>,
    /// Bytes the filesystem occupies from offset 0, when known.
    pub size: Option<u64>,
    /// The parts that were not read (a limit, an unsupported feature), each also described by a
    /// diagnostic; `location` and `offset` as for diagnostics.
    pub cuts: Vec<Cut>,
}

impl FsListing {
    /// Notes that the image's own header says it is `stated` bytes long while only `present` are
    /// there (the reader goes on with what it has). Every filesystem reader says it the same way.
    pub(crate) fn note_truncation(&mut self, stated: u64, present: usize) {
        if stated > present as u64 {
            self.diagnostics.push(
                Diagnostic::warning(
                    "",
                    format!(
                        "image is truncated: the superblock says {stated} bytes, {present} are present"
                    ),
                )
                .at(present as u64),
            );
        }
    }

    /// Records that part of the input was not read: `diagnostic` says so for people (and is
    /// pushed as is), the cut for programs, with `what` naming what was not read.
    pub(crate) fn cut(
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
        self.diagnostics.push(diagnostic);
    }

    /// Records that the directory at `path` is not entered because it was read before (a loop, or
    /// a second name for a directory): `before` says where ("the directory at block 7 was already
    /// read"), `offset` is where the second name for it is, when known. Every filesystem
    /// reader says it the same way, and as a cut: what is behind it is not listed a second time.
    pub(crate) fn cut_loop(&mut self, path: &str, offset: Option<u64>, before: &str) {
        let shown = if path.is_empty() { "/" } else { path };
        let mut diagnostic =
            Diagnostic::warning(shown, format!("{before} (a loop); not entered again"));
        diagnostic.offset = offset;
        self.cut(diagnostic, "the directory's entries", CutReason::Duplicate);
    }

    /// Records that the directory at `path` (named at `offset`, when known) is not entered because
    /// directories nest more than `max_depth` deep there. Every filesystem reader says it the same
    /// way, and as a cut: the directory's entries are not listed.
    pub(crate) fn cut_too_deep(&mut self, path: &str, offset: Option<u64>, max_depth: usize) {
        let mut diagnostic = Diagnostic::warning(
            path,
            format!("directories nest more than {max_depth} deep; not entered"),
        );
        diagnostic.offset = offset;
        self.cut(diagnostic, "the directory's entries", CutReason::Refused);
    }

    /// Records that `limit` stopped the walk at the entry `path`: that entry and everything after
    /// it in the filesystem are not listed. Every filesystem reader says it the same way.
    pub(crate) fn cut_rest(&mut self, path: String, limit: crate::Limit) {
        self.cut(
            Diagnostic::warning(
                path,
                format!("{limit}; the rest of the filesystem is skipped"),
            )
            .with_hint(limit.hint()),
            "this entry and the rest of the filesystem",
            limit.into(),
        );
    }
}

#[cfg(test)]
pub(crate) mod test_support;

#[cfg(test)]
mod tests {
    use super::Claimed;

    /// A unit is claimed once; units past the data are never claimed.
    #[test]
    fn claimed_units() {
        let mut claimed = Claimed::new(65);
        assert!(!claimed.has(64));
        assert!(claimed.claim(64));
        assert!(claimed.has(64));
        assert!(!claimed.claim(64));
        claimed.set(3);
        assert!(!claimed.claim(3));
        // 65 units take two words: 128 and beyond are past them.
        assert!(!claimed.claim(128));
        claimed.set(u64::MAX);
        assert!(!claimed.has(u64::MAX));
        assert!(!Claimed::new(0).claim(0));
    }
}
