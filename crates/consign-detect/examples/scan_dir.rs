//! Development tool: reads a folder extracted with host tools into a `Vfs`, runs `detect`, and writes
//! a minimal CycloneDX 1.6 JSON that `corpus/score.py` can score.
//!
//! Usage: `cargo run --release -p consign-detect --example scan_dir -- IN_DIR OUT.json`, or
//! `… -- --corpus EXTRACTED_ROOT OUT_DIR` to scan every `EXTRACTED_ROOT/<image>/` into `OUT_DIR/<image>.json`.
//! Symbolic links are recorded, never followed. Timing goes to stderr.

#![allow(
    clippy::print_stderr,
    reason = "a development tool reports its timing on stderr"
)]
#![allow(
    clippy::cast_precision_loss,
    reason = "sizes and rates are shown with one decimal"
)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use consign_model::{NodeKind, Vfs, VfsNode};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, root, out] if flag == "--corpus" => {
            std::fs::create_dir_all(out)?;
            let mut images: Vec<PathBuf> = std::fs::read_dir(root)?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect();
            images.sort();
            let (mut files, mut bytes, mut seconds) = (0usize, 0u64, 0f64);
            for image in images {
                let name = image
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default()
                    .to_owned();
                let (n_files, n_bytes, secs) =
                    scan(&image, &Path::new(out).join(format!("{name}.json")))?;
                eprintln!(
                    "{name}: {n_files} files, {:.1} MB, detect {secs:.3} s",
                    n_bytes as f64 / 1e6
                );
                files += n_files;
                bytes += n_bytes;
                seconds += secs;
            }
            eprintln!(
                "total: {files} files, {:.1} MB, detect {seconds:.3} s ({:.0} files/s, {:.0} MB/s)",
                bytes as f64 / 1e6,
                files as f64 / seconds,
                bytes as f64 / 1e6 / seconds
            );
        }
        [input, out] => {
            scan(Path::new(input), Path::new(out))?;
        }
        _ => return Err("usage: scan_dir IN_DIR OUT.json | scan_dir --corpus ROOT OUT_DIR".into()),
    }
    Ok(())
}

fn scan(root: &Path, out: &Path) -> Result<(usize, u64, f64), Box<dyn std::error::Error>> {
    let mut vfs = Vfs::default();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        entries.sort();
        for path in entries {
            let meta = std::fs::symlink_metadata(&path)?;
            let logical = format!("/{}", path.strip_prefix(root)?.display());
            if meta.is_dir() {
                stack.push(path);
            } else if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path)?.display().to_string();
                vfs.nodes.push(VfsNode {
                    path: logical,
                    provenance: Vec::new(),
                    kind: NodeKind::Symlink { target },
                    mode: None,
                    mtime: None,
                });
            } else if meta.is_file() {
                let data = std::fs::read(&path)?;
                vfs.nodes.push(VfsNode {
                    path: logical,
                    provenance: Vec::new(),
                    kind: NodeKind::File { data: data.into() },
                    mode: None,
                    mtime: None,
                });
            }
        }
    }
    let n_files = vfs.files().count();
    let n_bytes: u64 = vfs.files().map(|(_, data)| data.len() as u64).sum();
    let started = Instant::now();
    let detection = consign_detect::detect(&vfs);
    let seconds = started.elapsed().as_secs_f64();
    let components: Vec<serde_json::Value> = detection
        .components
        .iter()
        .map(|component| {
            let mut value = serde_json::json!({
                "type": match component.kind {
                    consign_model::ComponentKind::Application => "application",
                    consign_model::ComponentKind::OperatingSystem => "operating-system",
                    consign_model::ComponentKind::Firmware => "firmware",
                    consign_model::ComponentKind::Framework => "framework",
                    consign_model::ComponentKind::DeviceDriver => "device-driver",
                    _ => "library",
                },
                "name": component.name,
                "bom-ref": bom_ref(&component.name, component.version.as_deref()),
            });
            if let Some(version) = &component.version {
                value["version"] = version.clone().into();
            }
            if let Some(purl) = component.purl_with_version() {
                value["purl"] = purl.into();
            }
            if let Some(cpe) = component.cpe() {
                value["cpe"] = cpe.into();
            }
            value
        })
        .collect();
    let dependencies: Vec<serde_json::Value> = detection
        .components
        .iter()
        .map(|component| {
            let depends_on: Vec<String> = component
                .depends_on
                .iter()
                .flat_map(|name| detection.components.iter().filter(move |c| &c.name == name))
                .map(|c| bom_ref(&c.name, c.version.as_deref()))
                .collect();
            serde_json::json!({"ref": bom_ref(&component.name, component.version.as_deref()), "dependsOn": depends_on})
        })
        .collect();
    let bom = serde_json::json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "components": components,
        "dependencies": dependencies,
    });
    std::fs::write(out, serde_json::to_vec_pretty(&bom)?)?;
    Ok((n_files, n_bytes, seconds))
}

fn bom_ref(name: &str, version: Option<&str>) -> String {
    format!("{name}@{}", version.unwrap_or("unknown"))
}
