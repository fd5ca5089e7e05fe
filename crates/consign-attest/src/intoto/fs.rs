//! The edge of the in-toto code that touches the system: hashing artifacts under a base
//! directory, reading a link directory, and running a step's or an inspection's command.
//!
//! Everything here is called by the CLI (or tests); the model, rules and verifier never do I/O.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use sha2::Digest as _;

use crate::AttestError;
use crate::intoto::layout::Inspection;
use crate::intoto::link::{ArtifactMap, Byproducts, Link, MAX_ARTIFACTS};
use crate::intoto::metadata::MAX_METADATA_BYTES;
use crate::intoto::record::{decode_stream, hash_dict, is_excluded, link_for_step};
use crate::intoto::verify::InspectionRunner;

/// The most link files read from one directory.
pub const MAX_LINK_FILES: usize = 10_000;

/// Hashes (SHA-256) the artifacts named by `paths` (files or directories, relative to `base`),
/// skipping paths matched by `excludes`. Keys are `/`-separated paths relative to `base`,
/// normalised as the reference does (`./a/../b` becomes `b`). Directories are walked
/// recursively; symbolic links to files are followed, symbolic links to directories are not
/// (so a link loop cannot hang the walk).
pub fn record_artifacts(
    base: &Path,
    paths: &[String],
    excludes: &[String],
) -> Result<ArtifactMap, AttestError> {
    let mut out = ArtifactMap::new();
    for path in paths {
        let relative = normalize(path).ok_or_else(|| {
            AttestError::field(
                "in-toto artifact list",
                path.clone(),
                "a path inside the base directory (no leading `/`, no `..` above it)",
            )
        })?;
        let full = if relative.is_empty() {
            base.to_path_buf()
        } else {
            base.join(&relative)
        };
        let metadata = fs_err::metadata(&full).map_err(|source| AttestError::IntotoIo {
            action: "read the artifact",
            path: full.display().to_string(),
            source,
        })?;
        if metadata.is_dir() {
            walk(&full, &relative, excludes, &mut out)?;
        } else if !relative.is_empty() && !is_excluded(&relative, excludes) {
            out.insert(relative.clone(), hash_dict(&hash_file(&full)?));
        }
    }
    Ok(out)
}

fn walk(
    dir: &Path,
    relative: &str,
    excludes: &[String],
    out: &mut ArtifactMap,
) -> Result<(), AttestError> {
    let io_err = |source| AttestError::IntotoIo {
        action: "list the directory",
        path: dir.display().to_string(),
        source,
    };
    let mut entries: Vec<_> = fs_err::read_dir(dir)
        .map_err(io_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(io_err)?;
    entries.sort_by_key(fs_err::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let child = if relative.is_empty() {
            name
        } else {
            format!("{relative}/{name}")
        };
        if is_excluded(&child, excludes) {
            continue;
        }
        let path = entry.path();
        let file_type = entry.file_type().map_err(io_err)?;
        if file_type.is_dir() {
            walk(&path, &child, excludes, out)?;
        } else if file_type.is_file() || (file_type.is_symlink() && path.is_file()) {
            if out.len() >= MAX_ARTIFACTS {
                return Err(AttestError::field(
                    "in-toto artifact list",
                    child,
                    format!("at most {MAX_ARTIFACTS} artifacts; use `--exclude` to leave some out"),
                ));
            }
            out.insert(child, hash_dict(&hash_file(&path)?));
        }
    }
    Ok(())
}

/// `os.path.normpath` for a relative path, with `/` separators; `None` if it leaves the base.
fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.join("/"))
}

fn hash_file(path: &Path) -> Result<[u8; 32], AttestError> {
    let io_err = |source| AttestError::IntotoIo {
        action: "hash the artifact",
        path: path.display().to_string(),
        source,
    };
    let mut file = fs_err::File::open(path).map_err(io_err)?;
    let mut hasher = sha2::Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = file.read(&mut buffer).map_err(io_err)?;
        if read == 0 {
            break;
        }
        hasher.update(buffer.get(..read).unwrap_or_default());
    }
    Ok(hasher.finalize().into())
}

/// Reads every `*.link` file of `dir` (not recursive), refusing files over the metadata limit.
pub fn read_link_dir(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>, AttestError> {
    let io_err = |source| AttestError::IntotoIo {
        action: "list the link directory",
        path: dir.display().to_string(),
        source,
    };
    let mut out = BTreeMap::new();
    for entry in fs_err::read_dir(dir).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // in-toto names link files `*.link` exactly; other cases are not link files.
        #[allow(clippy::case_sensitive_file_extension_comparisons)]
        let is_link = name.ends_with(".link");
        if !is_link || !entry.path().is_file() {
            continue;
        }
        if out.len() >= MAX_LINK_FILES {
            return Err(AttestError::field(
                "in-toto link directory",
                dir.display().to_string(),
                format!("at most {MAX_LINK_FILES} link files"),
            ));
        }
        let path = entry.path();
        let len = entry.metadata().map_err(io_err)?.len();
        if len > MAX_METADATA_BYTES as u64 {
            return Err(AttestError::TooLarge {
                what: "an in-toto link file",
                len: usize::try_from(len).unwrap_or(usize::MAX),
                limit: MAX_METADATA_BYTES,
            });
        }
        let bytes = fs_err::read(&path).map_err(|source| AttestError::IntotoIo {
            action: "read the link file",
            path: path.display().to_string(),
            source,
        })?;
        out.insert(name, bytes);
    }
    Ok(out)
}

/// Runs `command` (no shell) in `dir`, capturing standard output and error exactly.
pub fn run_command(command: &[String], dir: &Path) -> Result<Byproducts, AttestError> {
    let (program, args) = command.split_first().ok_or_else(|| {
        AttestError::field("in-toto step", "command", "a command to run, found nothing")
    })?;
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| AttestError::IntotoIo {
            action: "run the command",
            path: command.join(" "),
            source,
        })?;
    Ok(Byproducts {
        stdout: decode_stream(&output.stdout),
        stderr: decode_stream(&output.stderr),
        return_value: exit_value(output.status),
    })
}

#[cfg(unix)]
fn exit_value(status: std::process::ExitStatus) -> i64 {
    use std::os::unix::process::ExitStatusExt as _;
    status
        .code()
        .map_or_else(|| -i64::from(status.signal().unwrap_or(0)), i64::from)
}

#[cfg(not(unix))]
fn exit_value(status: std::process::ExitStatus) -> i64 {
    status.code().map_or(-1, i64::from)
}

/// Runs inspections for real, in `base`, recording `.` before and after as the reference does.
/// Only the CLI's `--run-inspections` creates one.
#[derive(Clone, Debug)]
pub struct RunInspections {
    /// The directory the commands run in and whose files are recorded.
    pub base: PathBuf,
    /// Exclude patterns for the recording.
    pub excludes: Vec<String>,
}

impl InspectionRunner for RunInspections {
    fn run(&self, inspection: &Inspection) -> Result<Link, AttestError> {
        let everything = [".".to_owned()];
        let materials = record_artifacts(&self.base, &everything, &self.excludes)?;
        let byproducts = run_command(&inspection.run, &self.base)?;
        let products = record_artifacts(&self.base, &everything, &self.excludes)?;
        Ok(link_for_step(
            &inspection.name,
            &inspection.run,
            materials,
            products,
            Some(&byproducts),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_like_normpath() {
        assert_eq!(normalize("./a/../b/./c").as_deref(), Some("b/c"));
        assert_eq!(normalize(".").as_deref(), Some(""));
        assert_eq!(normalize("../x"), None);
        assert_eq!(normalize("/etc"), None);
    }

    #[test]
    fn records_a_tree_with_excludes() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(dir.path().join("src/.git")).unwrap();
        fs_err::write(dir.path().join("src/a.c"), b"a").unwrap();
        fs_err::write(dir.path().join("src/.git/HEAD"), b"x").unwrap();
        fs_err::write(dir.path().join("b.link"), b"{}").unwrap();
        let excludes: Vec<String> = crate::intoto::record::DEFAULT_EXCLUDES
            .iter()
            .map(|p| (*p).to_owned())
            .collect();
        let artifacts = record_artifacts(dir.path(), &[".".to_owned()], &excludes).unwrap();
        assert_eq!(artifacts.keys().collect::<Vec<_>>(), ["src/a.c"]);
        let artifacts = record_artifacts(dir.path(), &["src/a.c".to_owned()], &[]).unwrap();
        assert_eq!(
            artifacts["src/a.c"]["sha256"],
            "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
        );
        let err = record_artifacts(dir.path(), &["missing".to_owned()], &[]).unwrap_err();
        assert!(
            err.to_string().starts_with("cannot read the artifact"),
            "{err}"
        );
        let links = read_link_dir(dir.path()).unwrap();
        assert_eq!(links.keys().collect::<Vec<_>>(), ["b.link"]);
    }

    #[test]
    fn runs_a_command_capturing_exact_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let command: Vec<String> = [
            "sh",
            "-c",
            "printf 'a\\tb\\r\\\\n\\303\\251'; printf err >&2; exit 3",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let byproducts = run_command(&command, dir.path()).unwrap();
        assert_eq!(byproducts.stdout, "a\tb\r\\n\u{e9}");
        assert_eq!(byproducts.stderr, "err");
        assert_eq!(byproducts.return_value, 3);
    }
}
