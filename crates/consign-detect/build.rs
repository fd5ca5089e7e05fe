//! Embeds every signature file under `signatures/` into the library at compile time.
//!
//! It writes `$OUT_DIR/signatures.rs`, a sorted table of `(file name, include_str!(..))`, so adding a
//! product is adding one TOML file: no Rust change, no list to keep in sync.

use std::io::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest_dir = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let folder = manifest_dir.join("signatures");
    println!("cargo:rerun-if-changed={}", folder.display());
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .expect("the signatures folder exists")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let is_toml = path.extension().is_some_and(|ext| ext == "toml");
            is_toml
                .then(|| path.file_name()?.to_str().map(str::to_owned))
                .flatten()
        })
        .collect();
    names.sort();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("signatures.rs");
    let mut file = std::fs::File::create(&out).expect("OUT_DIR is writable");
    writeln!(
        file,
        "/// Every signature file: (file name, contents), sorted by file name."
    )
    .expect("write");
    writeln!(
        file,
        "pub(crate) static SIGNATURE_FILES: &[(&str, &str)] = &["
    )
    .expect("write");
    for name in &names {
        let path = folder.join(name);
        println!("cargo:rerun-if-changed={}", path.display());
        writeln!(
            file,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("write");
    }
    writeln!(file, "];").expect("write");
}
