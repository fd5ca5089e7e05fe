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
//! - Files are created with `create_new`, so nothing is truncated, overwritten or opened through a
//!   link; permissions keep only the `rwx` bits (no set-uid, set-gid or sticky bits).
//! - A symlink is created only when its target, resolved from the link's folder, stays inside DIR
//!   and has no `..` after a name (so no chain of links can climb out); otherwise it is recorded.
//! - A hard link becomes a copy of the file it names, when that file was written in this run.
//! - Device nodes, FIFOs and sockets are never created.

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::{self, Write as _};
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
        source: io::Error,
    },
    /// The path exists and is not a folder.
    #[error(
        "the output path `{path}` exists and is not a folder\n\nhint: choose a new folder with `-o`"
    )]
    NotADir {
        /// The path.
        path: PathBuf,
    },
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

/// A normalised relative path, as components.
type Components = Vec<String>;

/// Normalises a stored path: drops empty, `.` and leading `/`; refuses `..` and NUL.
fn normalise(path: &str) -> Result<Components, String> {
    if path.contains('\0') {
        return Err("path contains a NUL byte".into());
    }
    let mut out = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(format!("path `{path}` contains `..`")),
            name => out.push(name.to_owned()),
        }
    }
    Ok(out)
}

/// Where a node goes, relative to DIR, from its provenance chain. `None` for the input itself.
fn disk_path(node: &VfsNode) -> Result<Option<Components>, String> {
    let Some((last, outer)) = node.provenance.split_last() else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for step in outer {
        out.push(format!("{}@{:#x}", step.format, step.offset));
        let mut inner = normalise(step.path.as_deref().unwrap_or("data"))?;
        match inner.last_mut() {
            Some(name) => name.push_str(".extracted"),
            None => return Err("a container file has an empty path".into()),
        }
        out.extend(inner);
    }
    out.push(format!("{}@{:#x}", last.format, last.offset));
    let inner = normalise(last.path.as_deref().unwrap_or("data"))?;
    if inner.is_empty() {
        return Err("entry has an empty path".into());
    }
    out.extend(inner);
    Ok(Some(out))
}

/// Creates every folder of `components` under `root`, never passing through a symlink or file.
fn make_dirs(
    root: &Path,
    components: &[String],
    report: &mut WriteReport,
) -> Result<PathBuf, String> {
    let mut current = root.to_path_buf();
    for part in components {
        current.push(part);
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_dir() => {}
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(format!(
                    "`{}` is a symlink; not writing through it",
                    current.display()
                ));
            }
            Ok(_) => {
                return Err(format!(
                    "`{}` exists and is not a folder",
                    current.display()
                ));
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&current)
                    .map_err(|err| format!("cannot create `{}`: {err}", current.display()))?;
                report.dirs += 1;
            }
            Err(err) => return Err(format!("cannot inspect `{}`: {err}", current.display())),
        }
    }
    Ok(current)
}

/// Writes `data` to a new file at `path` (never an existing one, never through a link), with the
/// container's permission bits (never set-id) and modification time.
fn write_file(
    path: &Path,
    data: &[u8],
    mode: Option<u32>,
    mtime: Option<i64>,
) -> Result<(), String> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|err| format!("cannot create `{}`: {err}", path.display()))?;
    file.write_all(data)
        .map_err(|err| format!("cannot write `{}`: {err}", path.display()))?;
    #[cfg(unix)]
    if let Some(mode) = mode {
        use std::os::unix::fs::PermissionsExt as _;
        let permissions = fs::Permissions::from_mode((mode & 0o755) | 0o600);
        file.set_permissions(permissions)
            .map_err(|err| format!("cannot set permissions of `{}`: {err}", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    if let Some(seconds) = mtime {
        let offset = std::time::Duration::from_secs(seconds.unsigned_abs());
        let time = if seconds >= 0 {
            std::time::UNIX_EPOCH.checked_add(offset)
        } else {
            std::time::UNIX_EPOCH.checked_sub(offset)
        };
        if let Some(time) = time {
            file.set_modified(time).map_err(|err| {
                format!(
                    "cannot set the modification time of `{}`: {err}",
                    path.display()
                )
            })?;
        }
    }
    Ok(())
}

/// Checks a symlink target: relative, only leading `..`, and not climbing above DIR from the
/// link's folder (`depth` components below DIR).
fn link_target_ok(target: &str, depth: usize) -> Result<(), String> {
    if target.starts_with('/') {
        return Err(format!("symlink target `{target}` is absolute"));
    }
    if target.contains('\0') || target.is_empty() {
        return Err("symlink target is empty or contains NUL".into());
    }
    let mut ups = 0usize;
    let mut seen_name = false;
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." if seen_name => {
                return Err(format!("symlink target `{target}` has `..` after a name"));
            }
            ".." => ups += 1,
            _ => seen_name = true,
        }
    }
    if ups > depth {
        return Err(format!(
            "symlink target `{target}` resolves outside the output folder"
        ));
    }
    Ok(())
}

/// Writes every node of `vfs` under `dir` (created if missing), following the rules above.
/// Entries that cannot be written safely are listed in [`WriteReport::refused`].
pub fn write_tree(vfs: &Vfs, dir: &Path) -> Result<WriteReport, WriteError> {
    match fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            // A symlink to a folder given by the user is the user's choice; anything else is not.
            if !fs::metadata(dir).is_ok_and(|m| m.is_dir()) {
                return Err(WriteError::NotADir {
                    path: dir.to_path_buf(),
                });
            }
        }
        Err(_) => fs::create_dir_all(dir).map_err(|source| WriteError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?,
    }
    let mut report = WriteReport::default();
    // Regular files written in this run, by relative disk path, for hard links.
    let mut written: HashMap<Components, Bytes> = HashMap::new();
    for node in &vfs.nodes {
        let refuse = |report: &mut WriteReport, reason: String| {
            report.refused.push(Refusal {
                path: node.path.clone(),
                reason,
            });
        };
        let components = match disk_path(node) {
            Ok(Some(components)) => components,
            Ok(None) => continue,
            Err(reason) => {
                refuse(&mut report, reason);
                continue;
            }
        };
        let Some((name, parents)) = components.split_last() else {
            continue;
        };
        if let NodeKind::Special { what } = &node.kind {
            refuse(&mut report, format!("{what} is never created"));
            continue;
        }
        let folder = match make_dirs(dir, parents, &mut report) {
            Ok(folder) => folder,
            Err(reason) => {
                refuse(&mut report, reason);
                continue;
            }
        };
        let path = folder.join(name);
        let result = match &node.kind {
            NodeKind::Dir => make_dirs(dir, &components, &mut report).map(|_| ()),
            NodeKind::File { data } => write_file(&path, data, node.mode, node.mtime).map(|()| {
                report.files += 1;
                report.bytes += data.len() as u64;
                written.insert(components.clone(), data.clone());
            }),
            NodeKind::Symlink { target } => link_target_ok(target, parents.len()).and_then(|()| {
                create_symlink(target, &path)?;
                report.symlinks += 1;
                Ok(())
            }),
            NodeKind::Hardlink { target } => {
                // The target is a path in the same container: same folder prefix as this entry.
                // The entry's own part is the one `disk_path` appended (`data` for a step with
                // no path), so it is never longer than `components`.
                let inner = node
                    .provenance
                    .last()
                    .and_then(|step| step.path.as_deref())
                    .unwrap_or("data");
                let prefix_len = components
                    .len()
                    .saturating_sub(normalise(inner).map_or(0, |c| c.len()));
                let resolved = normalise(target).map(|t| {
                    let mut full: Components =
                        components.get(..prefix_len).unwrap_or_default().to_vec();
                    full.extend(t);
                    full
                });
                match resolved {
                    Ok(full) => match written.get(&full).cloned() {
                        Some(data) => write_file(&path, &data, node.mode, node.mtime).map(|()| {
                            report.files += 1;
                            report.bytes += data.len() as u64;
                            written.insert(components.clone(), data);
                        }),
                        None => Err(format!(
                            "hard link target `{target}` is not a file written here"
                        )),
                    },
                    Err(reason) => Err(format!("hard link target: {reason}")),
                }
            }
            _ => Err("unknown entry kind".into()),
        };
        if let Err(reason) = result {
            refuse(&mut report, reason);
        }
    }
    Ok(report)
}

#[cfg(unix)]
fn create_symlink(target: &str, path: &Path) -> Result<(), String> {
    std::os::unix::fs::symlink(target, path)
        .map_err(|err| format!("cannot create symlink `{}`: {err}", path.display()))
}

#[cfg(not(unix))]
fn create_symlink(_target: &str, path: &Path) -> Result<(), String> {
    Err(format!(
        "symlinks are not created on this platform: `{}`",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
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
}
