//! The in-memory file tree that unpacking produces and detection reads.
//!
//! It is flat on purpose: detectors look at every file and care about its bytes and where it came
//! from, not about directory traversal. Bytes are [`Bytes`], so a file carved out of an image shares
//! the image's buffer instead of copying it.

use std::fmt;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// One step in the chain of containers that leads to a file.
///
/// The chain for `/usr/sbin/dropbear` in a raw flash image might be: the image itself, a squashfs
/// found at offset `0x140000`, then the path inside that squashfs.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Provenance {
    /// The container format that held the next step, as a short lower-case name (`squashfs`,
    /// `uimage`, `gzip`, ...).
    pub format: String,
    /// Byte offset of that container inside its parent.
    pub offset: u64,
    /// Path of the entry inside the container, when the container has paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// What a [`VfsNode`] is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
#[non_exhaustive]
pub enum NodeKind {
    /// A regular file (or a carved region) and its contents.
    File {
        /// The contents.
        #[serde(skip)]
        data: Bytes,
    },
    /// A directory.
    Dir,
    /// A symbolic link, never followed by consign.
    Symlink {
        /// The link target as stored, untrusted.
        target: String,
    },
    /// A hard link to another path in the same container.
    Hardlink {
        /// The path it links to, untrusted.
        target: String,
    },
    /// A device node, FIFO or socket: recorded, never created on disk.
    Special {
        /// What it is (`char-device`, `block-device`, `fifo`, `socket`).
        what: String,
    },
}

/// One entry found while unpacking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VfsNode {
    /// The logical path: the container chain and the path inside the innermost one, joined as
    /// `firmware.bin/squashfs@0x140000/usr/sbin/dropbear`. Unique within a [`Vfs`]; for display and
    /// for SBOM occurrences.
    pub path: String,
    /// The chain of containers, outermost first.
    pub provenance: Vec<Provenance>,
    /// What it is.
    #[serde(flatten)]
    pub kind: NodeKind,
    /// Unix permission bits, when the container records them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// Modification time in seconds since 1970-01-01T00:00:00Z, when the container records one.
    /// BSI TR-03183-2 asks for it in place of a version that no binary states.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime: Option<i64>,
}

impl VfsNode {
    /// The contents, if this is a file.
    pub fn data(&self) -> Option<&Bytes> {
        match &self.kind {
            NodeKind::File { data } => Some(data),
            _ => None,
        }
    }

    /// The last component of the path inside the innermost container (`dropbear` above).
    pub fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }

    /// The path inside the innermost container that has paths (`/usr/sbin/dropbear` above), or the
    /// logical path when there is none.
    pub fn inner_path(&self) -> &str {
        self.provenance
            .last()
            .and_then(|step| step.path.as_deref())
            .unwrap_or(&self.path)
    }

    /// True if the Unix mode says any execute bit is set.
    pub fn is_executable(&self) -> bool {
        self.mode.is_some_and(|mode| mode & 0o111 != 0)
    }
}

/// All entries found in one input, in the order they were found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vfs {
    /// The entries.
    pub nodes: Vec<VfsNode>,
}

impl Vfs {
    /// The regular files and their contents.
    pub fn files(&self) -> impl Iterator<Item = (&VfsNode, &Bytes)> {
        self.nodes
            .iter()
            .filter_map(|node| node.data().map(|data| (node, data)))
    }

    /// A single-file tree, for inputs that are not containers (one ELF, one ROM).
    pub fn single(name: &str, data: Bytes) -> Self {
        Self {
            nodes: vec![VfsNode {
                path: name.to_owned(),
                provenance: Vec::new(),
                kind: NodeKind::File { data },
                mode: None,
                mtime: None,
            }],
        }
    }
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{:#x}", self.format, self.offset)?;
        if let Some(path) = &self.path {
            write!(f, "{path}")?;
        }
        Ok(())
    }
}
