//! Tidy checks that run as tests: every Rust file says what it is for, every crate uses the
//! workspace lints.

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use crate::util::root;

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if name == "target" || name.to_string_lossy().starts_with('.') {
                continue;
            }
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn every_rust_file_starts_with_a_module_doc() {
        let mut files = Vec::new();
        for dir in ["crates", "xtask", "tests", "fuzz"] {
            rust_files(&root().join(dir), &mut files);
        }
        assert!(files.len() > 10, "found only {} Rust files", files.len());
        let missing: Vec<String> = files
            .iter()
            .filter(|path| {
                let text = std::fs::read_to_string(path).unwrap_or_default();
                let first = text
                    .lines()
                    .find(|line| !line.trim().is_empty())
                    .unwrap_or("");
                !first.starts_with("//!") && !first.starts_with("#![")
            })
            .map(|path| {
                path.strip_prefix(root())
                    .unwrap_or(path)
                    .display()
                    .to_string()
            })
            .collect();
        assert!(
            missing.is_empty(),
            "these files do not start with a `//!` comment saying what they are for:\n{}",
            missing.join("\n")
        );
    }

    #[test]
    fn every_crate_uses_workspace_lints() {
        let mut manifests = vec![root().join("xtask/Cargo.toml")];
        for entry in std::fs::read_dir(root().join("crates")).unwrap().flatten() {
            manifests.push(entry.path().join("Cargo.toml"));
        }
        for manifest in manifests {
            let text = std::fs::read_to_string(&manifest).unwrap();
            assert!(
                text.contains("[lints]\nworkspace = true"),
                "{} lacks `[lints] workspace = true`",
                manifest.display()
            );
        }
    }
}
