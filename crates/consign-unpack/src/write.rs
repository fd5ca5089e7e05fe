//! The confined writer behind `consign unpack -o DIR`: puts an unpacked tree into a folder and
//! never writes outside it. The only code in this crate that touches the file system.
//!
//! Layout: each container becomes a folder named `FORMAT@OFFSET` holding its entries; a file that
//! held containers itself gets a sibling folder `NAME.extracted` for them. So
//! `flash.bin/uimage@0x0/kernel/gzip@0x0/vmlinux` is written as
//! `DIR/uimage@0x0/kernel.extracted/gzip@0x0/vmlinux`. The input file itself is not copied.
//!
//! The rules, for hostile archives:
//! - Every stored path is normalised: leading `/` and `.` components dropped; `..`, NUL and empty
//!   paths refused.
//! - Folders are created one component at a time; an existing symlink or file in the way is refused.
//! - Files are created with `O_CREAT | O_EXCL | O_NOFOLLOW`, so nothing is truncated, overwritten or
//!   opened through a link; permissions keep only the `rwx` bits (no set-uid, set-gid or sticky
//!   bits).
//! - A symlink is created only when its target, resolved from the link's folder, stays inside DIR
//!   and has no `..` after a name (so no chain of links can climb out); otherwise it is recorded.
//! - A hard link becomes a copy of the file it names, when that file was written in this run (a
//!   copy of bytes from the image, never of a file on disk that may have changed since).
//! - Device nodes, FIFOs and sockets are never created.
//!
//! And for a hostile local process that changes DIR while the writer works (swapping a folder it
//! has checked for a symlink, say): no path is ever checked and then opened. DIR is opened once,
//! and every folder below it is reached from that descriptor without following any link: on
//! Linux 5.6 and later with one `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
//! RESOLVE_NO_MAGICLINKS)` per path; elsewhere (an older kernel answers `ENOSYS`, some seccomp
//! filters `EPERM`, other Unixes have no `openat2`) one `openat(O_NOFOLLOW | O_DIRECTORY)` per
//! component, each relative to its parent's descriptor, which confines as well and costs a system
//! call per folder level. Folders are made with `mkdirat`, files opened with `openat` and links
//! made with `symlinkat`, each relative to its parent folder's descriptor; mode and modification
//! time are set through the file's descriptor. A folder held open that is moved out of DIR
//! meanwhile still takes what is written into it: moving it needs write access where it goes, so
//! that gains the mover nothing. On platforms without these calls (not Unix), extracting is
//! refused.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use consign_model::{NodeKind, Vfs, VfsNode};
use serde::Serialize;
use thiserror::Error;

/// The output folder could not be prepared; nothing was written.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The folder could not be created.
    #[error("cannot create the output folder `{path}`")]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The path exists and is not a folder.
    #[error(
        "the output path `{path}` exists and is not a folder\n\nhint: choose a new folder with `-o`"
    )]
    NotADir {
        /// The path.
        path: PathBuf,
    },
    /// The folder exists (or was just created) but could not be opened.
    #[error("cannot open the output folder `{path}`")]
    OpenDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// This platform cannot open paths relative to a folder without following links.
    #[error(
        "extracting into a folder is not supported on this platform\n\nhint: run without `-o` to list what is inside"
    )]
    Unsupported,
    /// An entry's stored path holds a NUL byte. The variants from here on are why one entry was
    /// not written: [`write_tree`] lists them in [`WriteReport::refused`] and goes on.
    #[error("path `{}` contains a NUL byte; not written", .path.escape_debug())]
    PathNul {
        /// The stored path.
        path: String,
    },
    /// An entry's stored path climbs with `..`.
    #[error("path `{path}` contains `..`; not written outside its container's folder")]
    PathClimbs {
        /// The stored path.
        path: String,
    },
    /// A container's format name is not one file name.
    #[error("container format `{}` is not a file name", .format.escape_debug())]
    FormatName {
        /// The format name.
        format: String,
    },
    /// A file holding containers has an empty path, so its `.extracted` folder has no name.
    #[error("a container file has an empty path; its contents are not written")]
    EmptyContainerPath,
    /// An entry's path is empty once normalised (`/`, `.`).
    #[error("entry has an empty path; not written")]
    EmptyPath,
    /// A symlink's target is absolute.
    #[error(
        "symlink target `{target}` is absolute; not created (it would point outside the output folder)"
    )]
    LinkAbsolute {
        /// The target.
        target: String,
    },
    /// A symlink's target is empty or holds a NUL byte.
    #[error("symlink target `{}` is empty or contains NUL; not created", .target.escape_debug())]
    LinkEmpty {
        /// The target.
        target: String,
    },
    /// A symlink's target has `..` after a name, which a chain of links could use to climb out.
    #[error("symlink target `{target}` has `..` after a name; not created")]
    LinkClimbsAfterName {
        /// The target.
        target: String,
    },
    /// A symlink's target, resolved from its folder, lies above the output folder.
    #[error("symlink target `{target}` resolves outside the output folder; not created")]
    LinkOutside {
        /// The target.
        target: String,
    },
    /// A hard link's target is not a path this writer can use.
    #[error("hard link target")]
    HardLinkTarget {
        /// Why.
        #[source]
        source: Box<WriteError>,
    },
    /// A hard link names a file not written in this run; it is never copied from the disk.
    #[error("hard link target `{target}` is not a file written here; not created")]
    HardLinkNotWritten {
        /// The target.
        target: String,
    },
    /// A device node, FIFO or socket.
    #[error("{what} is never created")]
    Special {
        /// What it is (`char-device`).
        what: String,
    },
    /// An entry kind this writer does not know.
    #[error("unknown entry kind; not written")]
    UnknownKind,
    /// The output folder's descriptor could not be duplicated (out of descriptors).
    #[error("cannot duplicate the output folder's descriptor")]
    Descriptor {
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A folder below the output folder is a symlink (made or swapped in by another process).
    #[error("`{path}` is a symlink; not writing through it")]
    EntrySymlink {
        /// The folder, relative to the output folder.
        path: String,
    },
    /// A path below the output folder that must be a folder is something else.
    #[error("`{path}` exists and is not a folder; not writing into it")]
    EntryNotAFolder {
        /// The path, relative to the output folder.
        path: String,
    },
    /// A file or symlink of that name exists already (the output folder was not empty, or the
    /// archive holds the name twice).
    #[error("`{path}` exists already; not overwriting it (hint: unpack into a new folder)")]
    Exists {
        /// The path, relative to the output folder.
        path: String,
    },
    /// A folder below the output folder could not be created.
    #[error("cannot create the folder `{path}`")]
    CreateFolder {
        /// The folder, relative to the output folder.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A folder below the output folder could not be opened.
    #[error("cannot open the folder `{path}`")]
    OpenFolder {
        /// The folder, relative to the output folder.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be created, written or given its mode or time.
    #[error("cannot {what} `{path}`")]
    File {
        /// What failed (`create`, `write`, `set permissions of`, `set the modification time of`).
        what: &'static str,
        /// The file, relative to the output folder.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A symlink could not be created.
    #[error("cannot create the symlink `{path}`")]
    CreateSymlink {
        /// The symlink, relative to the output folder.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl WriteError {
    /// This error and its causes on one line, as [`Refusal::reason`] shows them.
    fn reason(&self) -> String {
        let mut out = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(err) = source {
            out.push_str(": ");
            out.push_str(&err.to_string());
            source = err.source();
        }
        out
    }
}

/// One entry that was not written, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// The logical path of the entry.
    pub path: String,
    /// Why it was not written, one lower-case line.
    pub reason: String,
}

/// What [`write_tree`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WriteReport {
    /// Regular files written (hard links written as copies included).
    pub files: u64,
    /// Folders created.
    pub dirs: u64,
    /// Symlinks created.
    pub symlinks: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Entries not written.
    pub refused: Vec<Refusal>,
}

/// A normalised relative path, as components: none is empty, `.`, `..`, or holds `/` or NUL.
type Components = Vec<String>;

/// Normalises a stored path: drops empty, `.` and leading `/`; refuses `..` and NUL.
#[cfg_attr(not(unix), allow(dead_code))]
fn normalise(path: &str) -> Result<Components, WriteError> {
    if path.contains('\0') {
        return Err(WriteError::PathNul {
            path: path.to_owned(),
        });
    }
    let mut out = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(WriteError::PathClimbs {
                    path: path.to_owned(),
                });
            }
            name => out.push(name.to_owned()),
        }
    }
    Ok(out)
}

/// The folder name of a container: `FORMAT@OFFSET`. The format name comes from the registry, but
/// it is still never allowed to be more than one file name.
#[cfg_attr(not(unix), allow(dead_code))]
fn container_folder(format: &str, offset: u64) -> Result<String, WriteError> {
    if format.is_empty() || format.contains(['/', '\0']) {
        return Err(WriteError::FormatName {
            format: format.to_owned(),
        });
    }
    Ok(format!("{format}@{offset:#x}"))
}

/// Where a node goes, relative to DIR, from its provenance chain. `None` for the input itself.
#[cfg_attr(not(unix), allow(dead_code))]
fn disk_path(node: &VfsNode) -> Result<Option<Components>, WriteError> {
    let Some((last, outer)) = node.provenance.split_last() else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for step in outer {
        out.push(container_folder(&step.format, step.offset)?);
        let mut inner = normalise(step.path.as_deref().unwrap_or("data"))?;
        match inner.last_mut() {
            Some(name) => name.push_str(".extracted"),
            None => return Err(WriteError::EmptyContainerPath),
        }
        out.extend(inner);
    }
    out.push(container_folder(&last.format, last.offset)?);
    let inner = normalise(last.path.as_deref().unwrap_or("data"))?;
    if inner.is_empty() {
        return Err(WriteError::EmptyPath);
    }
    out.extend(inner);
    Ok(Some(out))
}

/// Checks a symlink target: relative, only leading `..`, and not climbing above DIR from the
/// link's folder (`depth` components below DIR).
#[cfg_attr(not(unix), allow(dead_code))]
fn link_target_ok(target: &str, depth: usize) -> Result<(), WriteError> {
    if target.starts_with('/') {
        return Err(WriteError::LinkAbsolute {
            target: target.to_owned(),
        });
    }
    if target.contains('\0') || target.is_empty() {
        return Err(WriteError::LinkEmpty {
            target: target.to_owned(),
        });
    }
    let mut ups = 0usize;
    let mut seen_name = false;
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." if seen_name => {
                return Err(WriteError::LinkClimbsAfterName {
                    target: target.to_owned(),
                });
            }
            ".." => ups += 1,
            _ => seen_name = true,
        }
    }
    if ups > depth {
        return Err(WriteError::LinkOutside {
            target: target.to_owned(),
        });
    }
    Ok(())
}

/// Writes every node of `vfs` under `dir` (created if missing), following the rules above.
/// Entries that cannot be written safely are listed in [`WriteReport::refused`].
pub fn write_tree(vfs: &Vfs, dir: &Path) -> Result<WriteReport, WriteError> {
    #[cfg(unix)]
    {
        let root = disk::Root::open(dir, disk::Resolve::best())?;
        Ok(write_nodes(vfs, &root))
    }
    #[cfg(not(unix))]
    {
        let _ = (vfs, dir);
        Err(WriteError::Unsupported)
    }
}

/// Writes the nodes under `root`, one after the other.
#[cfg(unix)]
fn write_nodes(vfs: &Vfs, root: &disk::Root) -> WriteReport {
    let mut report = WriteReport::default();
    // Regular files written in this run, by relative disk path, for hard links.
    let mut written: HashMap<Components, Bytes> = HashMap::new();
    for node in &vfs.nodes {
        let refuse = |report: &mut WriteReport, err: &WriteError| {
            report.refused.push(Refusal {
                path: node.path.clone(),
                reason: err.reason(),
            });
        };
        let components = match disk_path(node) {
            Ok(Some(components)) => components,
            Ok(None) => continue,
            Err(err) => {
                refuse(&mut report, &err);
                continue;
            }
        };
        let Some((name, parents)) = components.split_last() else {
            continue;
        };
        if let NodeKind::Special { what } = &node.kind {
            refuse(&mut report, &WriteError::Special { what: what.clone() });
            continue;
        }
        let shown = components.join("/");
        let result = match &node.kind {
            NodeKind::Dir => root.folder(&components, &mut report).map(drop),
            NodeKind::File { data } => root
                .folder(parents, &mut report)
                .and_then(|folder| disk::create_file(&folder, name, &shown, data, node))
                .map(|()| {
                    report.files += 1;
                    report.bytes += data.len() as u64;
                    written.insert(components.clone(), data.clone());
                }),
            NodeKind::Symlink { target } => link_target_ok(target, parents.len())
                .and_then(|()| root.folder(parents, &mut report))
                .and_then(|folder| disk::create_symlink(&folder, name, &shown, target))
                .map(|()| report.symlinks += 1),
            NodeKind::Hardlink { target } => match hard_link_source(node, &components, target) {
                Ok(full) => match written.get(&full).cloned() {
                    Some(data) => root
                        .folder(parents, &mut report)
                        .and_then(|folder| disk::create_file(&folder, name, &shown, &data, node))
                        .map(|()| {
                            report.files += 1;
                            report.bytes += data.len() as u64;
                            written.insert(components.clone(), data);
                        }),
                    None => Err(WriteError::HardLinkNotWritten {
                        target: target.clone(),
                    }),
                },
                Err(err) => Err(WriteError::HardLinkTarget {
                    source: Box::new(err),
                }),
            },
            _ => Err(WriteError::UnknownKind),
        };
        if let Err(err) = result {
            refuse(&mut report, &err);
        }
    }
    report
}

/// The disk path of the file a hard link names: a path in the same container, so under the same
/// folder prefix as the link itself. The link's own part is the one `disk_path` appended (`data`
/// for a step with no path), so it is never longer than `components`.
#[cfg(unix)]
fn hard_link_source(
    node: &VfsNode,
    components: &[String],
    target: &str,
) -> Result<Components, WriteError> {
    let inner = node
        .provenance
        .last()
        .and_then(|step| step.path.as_deref())
        .unwrap_or("data");
    let prefix_len = components
        .len()
        .saturating_sub(normalise(inner).map_or(0, |c| c.len()));
    normalise(target).map(|t| {
        let mut full: Components = components.get(..prefix_len).unwrap_or_default().to_vec();
        full.extend(t);
        full
    })
}

/// The system calls: every path below the output folder is reached from its descriptor.
#[cfg(unix)]
mod disk {
    use std::fs;
    use std::io::Write as _;
    use std::os::fd::{AsFd, OwnedFd};
    use std::path::Path;

    use consign_model::VfsNode;
    use rustix::fs::{CWD, Mode, OFlags, mkdirat, openat, symlinkat};
    use rustix::io::Errno;

    use super::{WriteError, WriteReport};

    /// A folder, opened to be a parent: never through a symlink at its last component.
    const FOLDER: OFlags = OFlags::RDONLY
        .union(OFlags::DIRECTORY)
        .union(OFlags::NOFOLLOW)
        .union(OFlags::CLOEXEC);

    /// A new file: never an existing one, never through a link.
    const NEW_FILE: OFlags = OFlags::WRONLY
        .union(OFlags::CREATE)
        .union(OFlags::EXCL)
        .union(OFlags::NOFOLLOW)
        .union(OFlags::CLOEXEC);

    /// How folders below the output folder are reached.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) enum Resolve {
        /// One `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)` per path,
        /// falling back to [`Resolve::Walk`] when it fails, to say which component is wrong.
        Openat2,
        /// One `openat(O_NOFOLLOW | O_DIRECTORY)` per component, from the output folder down.
        Walk,
    }

    impl Resolve {
        /// `openat2` where the kernel has it; found out on the output folder itself.
        pub(super) fn best() -> Self {
            if cfg!(any(target_os = "linux", target_os = "android")) {
                Self::Openat2
            } else {
                Self::Walk
            }
        }
    }

    /// The output folder, held open.
    pub(super) struct Root {
        fd: OwnedFd,
        resolve: Resolve,
    }

    /// The longest path given to one `openat2`: below `PATH_MAX` (4096), so a deep tree is
    /// resolved in a few calls instead of one per level.
    const CHUNK: usize = 3072;

    impl Root {
        /// Creates `dir` if missing and opens it. A symlink the user names as DIR is followed
        /// (their choice); a folder this call created is opened without following one, so it
        /// cannot have been swapped for a link in between.
        pub(super) fn open(dir: &Path, resolve: Resolve) -> Result<Self, WriteError> {
            let created = fs::symlink_metadata(dir).is_err();
            if created {
                fs::create_dir_all(dir).map_err(|source| WriteError::CreateDir {
                    path: dir.to_path_buf(),
                    source,
                })?;
            }
            let flags = if created {
                FOLDER
            } else {
                FOLDER.difference(OFlags::NOFOLLOW)
            };
            let fd = openat(CWD, dir, flags, Mode::empty()).map_err(|err| match err {
                Errno::NOTDIR => WriteError::NotADir {
                    path: dir.to_path_buf(),
                },
                err => WriteError::OpenDir {
                    path: dir.to_path_buf(),
                    source: err.into(),
                },
            })?;
            let resolve = match resolve {
                Resolve::Openat2 if openat2_works(&fd) => Resolve::Openat2,
                _ => Resolve::Walk,
            };
            Ok(Self { fd, resolve })
        }

        /// The folder at `components` below the output folder, created where missing, never
        /// reached through a link.
        pub(super) fn folder(
            &self,
            components: &[String],
            report: &mut WriteReport,
        ) -> Result<OwnedFd, WriteError> {
            if self.resolve == Resolve::Openat2
                && let Some(fd) = self.beneath(components)
            {
                return Ok(fd);
            }
            self.walk(components, report)
        }

        /// One `openat2` per `CHUNK` bytes of path; `None` when any fails (missing, a link, a
        /// file in the way): the walk then creates what is missing or says what is wrong.
        #[cfg(any(target_os = "linux", target_os = "android"))]
        fn beneath(&self, components: &[String]) -> Option<OwnedFd> {
            let mut current = self.fd.try_clone().ok()?;
            let mut rest = components;
            while !rest.is_empty() {
                let mut take = 0;
                let mut len = 0;
                while let Some(part) = rest.get(take) {
                    if take > 0 && len + part.len() + 1 > CHUNK {
                        break;
                    }
                    len += part.len() + 1;
                    take += 1;
                }
                let (chunk, tail) = rest.split_at(take);
                current = openat2_beneath(&current, &chunk.join("/")).ok()?;
                rest = tail;
            }
            Some(current)
        }

        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        fn beneath(&self, _components: &[String]) -> Option<OwnedFd> {
            None
        }

        /// One component at a time, each opened relative to its parent's descriptor with
        /// `O_NOFOLLOW`; a missing one is made with `mkdirat` and then opened the same way.
        fn walk(
            &self,
            components: &[String],
            report: &mut WriteReport,
        ) -> Result<OwnedFd, WriteError> {
            let mut current = self
                .fd
                .try_clone()
                .map_err(|source| WriteError::Descriptor { source })?;
            for (depth, part) in components.iter().enumerate() {
                let shown = || components.get(..=depth).unwrap_or_default().join("/");
                current = match openat(&current, part.as_str(), FOLDER, Mode::empty()) {
                    Ok(fd) => fd,
                    Err(Errno::NOENT) => {
                        match mkdirat(&current, part.as_str(), Mode::from(0o755)) {
                            Ok(()) => report.dirs += 1,
                            // Made meanwhile: opened like any other below.
                            Err(Errno::EXIST) => {}
                            Err(err) => {
                                return Err(WriteError::CreateFolder {
                                    path: shown(),
                                    source: err.into(),
                                });
                            }
                        }
                        openat(&current, part.as_str(), FOLDER, Mode::empty())
                            .map_err(|err| refusal(&shown(), err))?
                    }
                    Err(err) => return Err(refusal(&shown(), err)),
                };
            }
            Ok(current)
        }
    }

    /// Says why a folder could not be opened.
    fn refusal(shown: &str, err: Errno) -> WriteError {
        let path = shown.to_owned();
        match err {
            Errno::LOOP => WriteError::EntrySymlink { path },
            Errno::NOTDIR => WriteError::EntryNotAFolder { path },
            err => WriteError::OpenFolder {
                path,
                source: err.into(),
            },
        }
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn openat2_beneath(base: &OwnedFd, path: &str) -> rustix::io::Result<OwnedFd> {
        use rustix::fs::{ResolveFlags, openat2};
        openat2(
            base,
            path,
            FOLDER,
            Mode::empty(),
            ResolveFlags::BENEATH
                .union(ResolveFlags::NO_SYMLINKS)
                .union(ResolveFlags::NO_MAGICLINKS),
        )
    }

    /// Whether `openat2` with our flags works here: `ENOSYS` before Linux 5.6, `EPERM` or
    /// `ENOSYS` under some seccomp filters, `EINVAL` where a flag is unknown.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn openat2_works(root: &OwnedFd) -> bool {
        openat2_beneath(root, ".").is_ok()
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn openat2_works(_root: &OwnedFd) -> bool {
        false
    }

    /// Writes `data` to a new file `name` in `folder` (never an existing one, never through a
    /// link), with the node's permission bits (never set-id) and modification time, both set
    /// through the file's descriptor.
    pub(super) fn create_file(
        folder: &OwnedFd,
        name: &str,
        shown: &str,
        data: &[u8],
        node: &VfsNode,
    ) -> Result<(), WriteError> {
        use std::os::unix::fs::PermissionsExt as _;
        let fd =
            openat(folder.as_fd(), name, NEW_FILE, Mode::from(0o666)).map_err(|err| match err {
                Errno::EXIST => WriteError::Exists {
                    path: shown.to_owned(),
                },
                err => file_error("create", shown, err.into()),
            })?;
        let mut file = fs::File::from(fd);
        file.write_all(data)
            .map_err(|err| file_error("write", shown, err))?;
        if let Some(mode) = node.mode {
            let permissions = fs::Permissions::from_mode((mode & 0o755) | 0o600);
            file.set_permissions(permissions)
                .map_err(|err| file_error("set permissions of", shown, err))?;
        }
        if let Some(seconds) = node.mtime {
            let offset = std::time::Duration::from_secs(seconds.unsigned_abs());
            let time = if seconds >= 0 {
                std::time::UNIX_EPOCH.checked_add(offset)
            } else {
                std::time::UNIX_EPOCH.checked_sub(offset)
            };
            if let Some(time) = time {
                file.set_modified(time)
                    .map_err(|err| file_error("set the modification time of", shown, err))?;
            }
        }
        Ok(())
    }

    /// Creates the symlink `name` in `folder`, pointing at `target` (checked by the caller).
    pub(super) fn create_symlink(
        folder: &OwnedFd,
        name: &str,
        shown: &str,
        target: &str,
    ) -> Result<(), WriteError> {
        symlinkat(target, folder.as_fd(), name).map_err(|err| match err {
            Errno::EXIST => WriteError::Exists {
                path: shown.to_owned(),
            },
            err => WriteError::CreateSymlink {
                path: shown.to_owned(),
                source: err.into(),
            },
        })
    }

    fn file_error(what: &'static str, shown: &str, source: std::io::Error) -> WriteError {
        WriteError::File {
            what,
            path: shown.to_owned(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use consign_model::Provenance;

    use super::*;

    fn node(inner: &str, kind: NodeKind) -> VfsNode {
        VfsNode {
            path: format!("in.bin/tar@0x0/{inner}"),
            provenance: vec![Provenance {
                format: "tar".into(),
                offset: 0,
                path: Some(inner.into()),
            }],
            kind,
            mode: Some(0o4755),
            mtime: None,
        }
    }

    fn file(inner: &str, data: &'static [u8]) -> VfsNode {
        node(
            inner,
            NodeKind::File {
                data: Bytes::from_static(data),
            },
        )
    }

    fn link(inner: &str, target: &str) -> VfsNode {
        node(
            inner,
            NodeKind::Symlink {
                target: target.into(),
            },
        )
    }

    #[test]
    fn hostile_paths_and_links_stay_inside() {
        let outer = tempfile::tempdir().unwrap();
        let dir = outer.path().join("out");
        let vfs = Vfs {
            nodes: vec![
                Vfs::single("in.bin", Bytes::from_static(b"x"))
                    .nodes
                    .remove(0),
                file("../../escape", b"bad"),
                file("/abs/ok", b"fine"),
                link("up", "../../../.."),
                link("etc", "/etc"),
                // Symlink then write through it.
                link("d", "."),
                file("d/through", b"bad"),
                // A chain: `s` points to the root, `t` climbs from it.
                link("a/b/s", "../.."),
                link("t", "a/b/s/.."),
                file("real", b"data"),
                node(
                    "hard",
                    NodeKind::Hardlink {
                        target: "real".into(),
                    },
                ),
                node(
                    "hard-out",
                    NodeKind::Hardlink {
                        target: "../../../etc/passwd".into(),
                    },
                ),
                node(
                    "dev",
                    NodeKind::Special {
                        what: "char-device".into(),
                    },
                ),
                file("real", b"overwrite"),
                file("a\0b", b"nul"),
            ],
        };
        fs::create_dir_all(dir.join("tar@0x0/a/b")).unwrap();
        let report = write_tree(&vfs, &dir).unwrap();
        let reasons: Vec<_> = report
            .refused
            .iter()
            .map(|r| (r.path.as_str(), r.reason.as_str()))
            .collect();
        let refused = |p: &str| reasons.iter().any(|(path, _)| path.ends_with(p));
        for path in [
            "../../escape",
            "/up",
            "/etc",
            "d/through",
            "/t",
            "hard-out",
            "/dev",
            "a\0b",
        ] {
            assert!(refused(path), "{path} not refused: {reasons:?}");
        }
        assert_eq!(fs::read(dir.join("tar@0x0/abs/ok")).unwrap(), b"fine");
        assert_eq!(fs::read(dir.join("tar@0x0/real")).unwrap(), b"data");
        assert_eq!(fs::read(dir.join("tar@0x0/hard")).unwrap(), b"data");
        assert!(!outer.path().join("escape").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(dir.join("tar@0x0/real"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o7777, 0o755);
        }
        assert_eq!(report.files, 3);
        assert_eq!(report.symlinks, 2);
    }

    #[test]
    fn refusals_are_typed_and_name_what_was_refused() {
        assert!(
            matches!(normalise("a/../b"), Err(WriteError::PathClimbs { path }) if path == "a/../b")
        );
        assert!(matches!(normalise("a\0b"), Err(WriteError::PathNul { .. })));
        assert!(matches!(
            container_folder("a/b", 0),
            Err(WriteError::FormatName { .. })
        ));
        assert!(matches!(
            link_target_ok("/etc", 3),
            Err(WriteError::LinkAbsolute { .. })
        ));
        assert!(matches!(
            link_target_ok("", 3),
            Err(WriteError::LinkEmpty { .. })
        ));
        assert!(matches!(
            link_target_ok("a/../..", 3),
            Err(WriteError::LinkClimbsAfterName { .. })
        ));
        assert!(matches!(
            link_target_ok("../../..", 2),
            Err(WriteError::LinkOutside { .. })
        ));
        assert!(link_target_ok("../..", 2).is_ok());
        let mut empty = file("x", b"");
        empty.provenance[0].path = Some("/".into());
        assert!(matches!(disk_path(&empty), Err(WriteError::EmptyPath)));
        // A cause is kept on the reason's one line.
        let err = WriteError::File {
            what: "write",
            path: "tar@0x0/a".into(),
            source: std::io::Error::other("disk full"),
        };
        assert_eq!(err.reason(), "cannot write `tar@0x0/a`: disk full");
    }

    #[cfg(unix)]
    #[test]
    fn refusals_on_disk_say_which_path_and_what_to_do() {
        let outer = tempfile::tempdir().unwrap();
        let dir = outer.path().join("out");
        let vfs = Vfs {
            nodes: vec![
                file("a", b"1"),
                file("a", b"2"),
                file("a/b", b"3"),
                node(
                    "h",
                    NodeKind::Hardlink {
                        target: "../x".into(),
                    },
                ),
                node("g", NodeKind::Hardlink { target: "y".into() }),
            ],
        };
        let report = write_tree(&vfs, &dir).unwrap();
        let reasons: Vec<&str> = report.refused.iter().map(|r| r.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "`tar@0x0/a` exists already; not overwriting it (hint: unpack into a new folder)",
                "`tar@0x0/a` exists and is not a folder; not writing into it",
                "hard link target: path `../x` contains `..`; not written outside its container's folder",
                "hard link target `y` is not a file written here; not created",
            ]
        );
    }

    #[test]
    fn hard_link_in_a_step_without_a_path_does_not_panic() {
        // Found by the `unpack_write` fuzz target (fuzz/README.md): a hard link whose last
        // provenance step has no path made the prefix length underflow.
        let outer = tempfile::tempdir().unwrap();
        let dir = outer.path().join("out");
        let mut hard = node("x", NodeKind::Hardlink { target: "a".into() });
        hard.path = "fuzz.bin/0/deep/logical/path".into();
        hard.provenance[0].path = None;
        let vfs = Vfs {
            nodes: vec![file("a", b"data"), hard],
        };
        let report = write_tree(&vfs, &dir).unwrap();
        // It is written where `disk_path` puts a pathless entry, as a copy of its target.
        assert!(report.refused.is_empty(), "{:?}", report.refused);
        assert_eq!(fs::read(dir.join("tar@0x0/data")).unwrap(), b"data");
        assert_eq!(report.files, 2);
    }

    #[cfg(unix)]
    #[test]
    fn the_output_folder_itself() {
        let outer = tempfile::tempdir().unwrap();
        let vfs = Vfs {
            nodes: vec![file("a", b"data")],
        };
        // A file is not a folder.
        fs::write(outer.path().join("file"), b"x").unwrap();
        let err = write_tree(&vfs, &outer.path().join("file")).unwrap_err();
        assert!(matches!(err, WriteError::NotADir { .. }), "{err:?}");
        // A symlink the user names as DIR is their choice, and followed.
        fs::create_dir(outer.path().join("real")).unwrap();
        std::os::unix::fs::symlink("real", outer.path().join("link")).unwrap();
        let report = write_tree(&vfs, &outer.path().join("link")).unwrap();
        assert_eq!(report.files, 1);
        assert_eq!(
            fs::read(outer.path().join("real/tar@0x0/a")).unwrap(),
            b"data"
        );
        // A container format is one file name, whatever a caller puts there.
        let mut odd = file("b", b"data");
        odd.provenance[0].format = "../../x".into();
        let report = write_tree(&Vfs { nodes: vec![odd] }, &outer.path().join("real")).unwrap();
        assert!(
            report.refused[0].reason.contains("not a file name"),
            "{report:?}"
        );
    }

    #[test]
    fn nested_containers_get_extracted_folders() {
        let mut inner = file("kernel", b"k");
        inner.provenance = vec![
            Provenance {
                format: "uimage".into(),
                offset: 0,
                path: Some("kernel".into()),
            },
            Provenance {
                format: "gzip".into(),
                offset: 0x10,
                path: Some("vmlinux".into()),
            },
        ];
        assert_eq!(
            disk_path(&inner).unwrap().unwrap(),
            ["uimage@0x0", "kernel.extracted", "gzip@0x10", "vmlinux"]
        );
    }

    /// A local process keeps swapping a folder inside DIR with a symlink to a folder outside
    /// (`renameat2(RENAME_EXCHANGE)`, so the name is always one or the other) while the writer
    /// creates files, folders and symlinks below that name. Nothing may ever land outside.
    #[cfg(unix)]
    fn race_swapped_folder(resolve: disk::Resolve, iterations: usize) {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};

        use rustix::fs::{CWD, RenameFlags, renameat_with};

        let mut nodes = Vec::new();
        for i in 0..150 {
            nodes.push(file(&format!("sub/f{i}"), b"data"));
            nodes.push(file(&format!("sub/d{i}/f"), b"data"));
            nodes.push(link(&format!("sub/l{i}"), "f0"));
        }
        let vfs = Vfs { nodes };
        let mut escaped = 0usize;
        let mut refused = 0usize;
        // On tmpfs where there is one: removing thousands of entries from a disk is slow.
        let shm = Path::new("/dev/shm");
        let scratch = if shm.is_dir() {
            tempfile::tempdir_in(shm)
        } else {
            tempfile::tempdir()
        }
        .unwrap();
        for iteration in 0..iterations {
            let outer = scratch.path().join(iteration.to_string());
            let dir = outer.join("out");
            let outside = outer.join("outside");
            fs::create_dir_all(dir.join("tar@0x0/sub")).unwrap();
            fs::create_dir(&outside).unwrap();
            let swap = dir.join("tar@0x0/swap");
            std::os::unix::fs::symlink(&outside, &swap).unwrap();
            let sub = dir.join("tar@0x0/sub");
            let stop = Arc::new(AtomicBool::new(false));
            let swapper = {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        renameat_with(CWD, &sub, CWD, &swap, RenameFlags::EXCHANGE).unwrap();
                    }
                })
            };
            let report = disk::Root::open(&dir, resolve).map(|root| write_nodes(&vfs, &root));
            stop.store(true, Ordering::Relaxed);
            swapper.join().unwrap();
            let report = report.unwrap();
            escaped += fs::read_dir(&outside).unwrap().count();
            // What the swap hid is refused, never silently lost; what was written is inside.
            let written = report.files + report.symlinks;
            assert_eq!(written as usize + report.refused.len(), vfs.nodes.len());
            // `tar@0x0`, `sub` and `swap`, then what the report says it made.
            assert_eq!(
                count_entries(&dir) as u64,
                3 + written + report.dirs,
                "{report:?}"
            );
            refused += report.refused.len();
        }
        assert_eq!(escaped, 0, "entries written outside the output folder");
        // The race was real: the swapper hid the folder from some writes.
        assert!(refused > 0, "the swapper never got in the way");
    }

    /// Entries below `dir`, without following links.
    fn count_entries(dir: &Path) -> usize {
        let mut count = 0;
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            count += 1;
            if entry.file_type().unwrap().is_dir() {
                count += count_entries(&entry.path());
            }
        }
        count
    }

    #[cfg(unix)]
    #[test]
    fn a_folder_swapped_for_a_link_while_writing_never_leads_outside() {
        race_swapped_folder(disk::Resolve::best(), 30);
    }

    /// The same race where `openat2` is missing (Linux before 5.6, some seccomp filters): the
    /// component-by-component walk confines as well.
    #[cfg(unix)]
    #[test]
    fn without_openat2_the_walk_confines_too() {
        race_swapped_folder(disk::Resolve::Walk, 30);
    }
}
