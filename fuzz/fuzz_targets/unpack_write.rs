//! Fuzz target: the confined writer behind `consign unpack -o DIR`, on trees the input
//! describes (any paths, links and provenance chains, not only what a parser would produce):
//! no panic, nothing created outside DIR, and no symlink in DIR that resolves outside it.
//!
//! The input is a list of records separated by `\n`. A record is a kind byte (`f` file, `d`
//! folder, `l` symlink, `h` hard link, anything else a device node), then the provenance chain
//! as `|`-separated paths (`~` for a step without a path), then optionally `>` and the link
//! target. A file's contents are its record.
#![no_main]

use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use consign_model::{NodeKind, Provenance, Vfs, VfsNode};

fn vfs_of(data: &[u8]) -> Vfs {
    let mut nodes = vec![VfsNode {
        path: "fuzz.bin".to_owned(),
        provenance: Vec::new(),
        kind: NodeKind::File { data: Bytes::new() },
        mode: None,
        mtime: None,
    }];
    for (index, record) in data.split(|&b| b == b'\n').take(64).enumerate() {
        let Some((&kind, rest)) = record.split_first() else {
            continue;
        };
        let text = String::from_utf8_lossy(rest);
        let (chain, target) = text.split_once('>').unwrap_or((&text, ""));
        let provenance: Vec<Provenance> = chain
            .split('|')
            .enumerate()
            .map(|(depth, path)| Provenance {
                format: format!("f{}", kind % 3),
                offset: depth as u64 * 16,
                path: (path != "~").then(|| path.to_owned()),
            })
            .collect();
        let kind = match kind {
            b'f' => NodeKind::File {
                data: Bytes::copy_from_slice(record),
            },
            b'd' => NodeKind::Dir,
            b'l' => NodeKind::Symlink {
                target: target.to_owned(),
            },
            b'h' => NodeKind::Hardlink {
                target: target.to_owned(),
            },
            _ => NodeKind::Special {
                what: "fifo".to_owned(),
            },
        };
        nodes.push(VfsNode {
            path: format!("fuzz.bin/{index}/{chain}"),
            provenance,
            kind,
            mode: Some(0o7777),
            mtime: None,
        });
    }
    Vfs { nodes }
}

/// Where `path` leads once every symlink on the way is followed, also when the end does not
/// exist (a dangling link still must not name a place outside). `None` for a loop.
fn resolve(path: &Path, hops: &mut u32) -> Option<PathBuf> {
    let mut out = PathBuf::from("/");
    for component in path.components() {
        match component {
            Component::RootDir | Component::Prefix(_) => out = PathBuf::from("/"),
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(name) => {
                out.push(name);
                if let Ok(target) = std::fs::read_link(&out) {
                    *hops += 1;
                    if *hops > 40 {
                        return None;
                    }
                    out.pop();
                    out = resolve(&out.join(target), hops)?;
                }
            }
        }
    }
    Some(out)
}

fn check_inside(dir: &Path, root: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_symlink() {
            if let Some(end) = resolve(&path, &mut 0) {
                assert!(
                    end.starts_with(root),
                    "symlink {} resolves to {}, outside {}",
                    path.display(),
                    end.display(),
                    root.display()
                );
            }
        } else if kind.is_dir() {
            check_inside(&path, root);
        } else {
            assert!(
                kind.is_file(),
                "{} is neither file, folder nor link",
                path.display()
            );
        }
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    static RUN: AtomicU64 = AtomicU64::new(0);
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let run = base.join(format!(
        "consign-fuzz-write-{}-{}",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    ));
    let out = run.join("out");
    let beside = run.join("beside");
    std::fs::create_dir_all(&beside).expect("a scratch folder");
    let vfs = vfs_of(data);
    let report = consign_unpack::write::write_tree(&vfs, &out);
    let canonical = out.canonicalize().expect("the output folder exists");
    if report.is_ok() {
        check_inside(&canonical, &canonical);
    }
    let mut around: Vec<_> = std::fs::read_dir(&run)
        .expect("the scratch folder")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    around.sort();
    assert_eq!(
        around,
        ["beside", "out"],
        "something was written beside the output folder"
    );
    assert!(
        std::fs::read_dir(&beside).expect("beside").next().is_none(),
        "something was written outside the output folder"
    );
    std::fs::remove_dir_all(&run).expect("removing the scratch folder");
});
