//! The unpacked tree seen as file systems: each container that has paths (a squashfs, a cpio, an
//! ext4) becomes a [`FileSystem`] whose entries are looked up by absolute path (`/etc/inittab`),
//! with symbolic and hard links followed inside it, never out of it.

use std::collections::{BTreeMap, HashSet};

use consign_model::{NodeKind, Vfs, VfsNode};

/// How many links are followed before a lookup gives up (a loop, or a hostile chain).
const MAX_LINK_HOPS: usize = 16;

/// One file system found in the image.
pub(crate) struct FileSystem<'v> {
    /// The logical path of its root (`fw.bin/squashfs@0x0`).
    pub(crate) root: String,
    /// Every entry by normalised absolute path.
    pub(crate) entries: BTreeMap<String, &'v VfsNode>,
}

/// The file systems of an image, and which files are containers of others.
pub(crate) struct Tree<'v> {
    pub(crate) filesystems: Vec<FileSystem<'v>>,
    /// Logical paths of files that other files were extracted from.
    pub(crate) containers: HashSet<String>,
}

/// `/etc/passwd` for `./etc/passwd`, `etc/passwd/`, `/etc//passwd`; `..` and `.` resolved
/// lexically, never above the root.
pub(crate) fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    for part in parts {
        out.push('/');
        out.push_str(part);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

impl<'v> Tree<'v> {
    pub(crate) fn new(vfs: &'v Vfs) -> Self {
        let mut by_root: BTreeMap<String, BTreeMap<String, &'v VfsNode>> = BTreeMap::new();
        let mut order: Vec<String> = Vec::new();
        let mut containers = HashSet::new();
        for node in &vfs.nodes {
            let Some(inner) = node.provenance.last().and_then(|step| step.path.as_deref()) else {
                continue;
            };
            let absolute = normalise(inner);
            let relative = absolute.trim_start_matches('/');
            let Some(root) = node
                .path
                .strip_suffix(relative)
                .map(|root| root.trim_end_matches('/'))
            else {
                continue;
            };
            if let Some((container, _)) = root.rsplit_once('/') {
                containers.insert(container.to_owned());
            }
            if !by_root.contains_key(root) {
                order.push(root.to_owned());
            }
            by_root
                .entry(root.to_owned())
                .or_default()
                .insert(absolute, node);
        }
        let filesystems = order
            .into_iter()
            .filter_map(|root| {
                let entries = by_root.remove(&root)?;
                Some(FileSystem { root, entries })
            })
            .collect();
        Self {
            filesystems,
            containers,
        }
    }
}

impl<'v> FileSystem<'v> {
    /// The entry at `path`, links followed (within this file system).
    pub(crate) fn resolve(&self, path: &str) -> Option<(String, &'v VfsNode)> {
        let mut current = normalise(path);
        for _ in 0..MAX_LINK_HOPS {
            let node = self.lookup(&current)?;
            match &node.kind {
                NodeKind::Symlink { target } => {
                    current = if target.starts_with('/') {
                        normalise(target)
                    } else {
                        let parent = current.rsplit_once('/').map_or("", |(p, _)| p);
                        normalise(&format!("{parent}/{target}"))
                    };
                }
                NodeKind::Hardlink { target } => current = normalise(target),
                _ => return Some((current, node)),
            }
        }
        None
    }

    /// The entry at `path` itself, links not followed. Folders on the way are not resolved, which
    /// is enough for the fixed paths the audit asks for.
    pub(crate) fn lookup(&self, path: &str) -> Option<&'v VfsNode> {
        self.entries.get(path).copied()
    }

    /// The contents of the regular file at `path`, links followed.
    pub(crate) fn read(&self, path: &str) -> Option<(String, &'v VfsNode, &'v [u8])> {
        let (resolved, node) = self.resolve(path)?;
        let data = node.data()?;
        Some((resolved, node, data.as_ref()))
    }

    /// Entries directly or indirectly below `folder` (`/etc/init.d`), in path order.
    pub(crate) fn under<'a>(
        &'a self,
        folder: &str,
    ) -> impl Iterator<Item = (&'a String, &'v VfsNode)> + 'a {
        let prefix = format!("{}/", folder.trim_end_matches('/'));
        self.entries
            .range(prefix.clone()..)
            .take_while(move |(path, _)| path.starts_with(&prefix))
            .map(|(path, node)| (path, *node))
    }

    /// True when this looks like an operating system's root file system (it has an init).
    pub(crate) fn is_os_root(&self) -> bool {
        [
            "/sbin/init",
            "/init",
            "/etc/inittab",
            "/lib/systemd/systemd",
            "/usr/lib/systemd/systemd",
            "/etc/init.d",
            "/etc/rc.d",
            "/sbin/procd",
        ]
        .iter()
        .any(|path| self.entries.contains_key(*path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_and_never_climb_above_the_root() {
        assert_eq!(normalise("./etc//passwd/"), "/etc/passwd");
        assert_eq!(normalise("../../etc/./shadow"), "/etc/shadow");
        assert_eq!(normalise(""), "/");
    }
}
