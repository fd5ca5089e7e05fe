//! Embeds every signature file under `signatures/` into the library at compile time.
//!
//! It writes `$OUT_DIR/signatures.rs` with two sorted tables, so adding a product is adding one
//! TOML file: no Rust change, no list to keep in sync.
//!
//! - `SIGNATURE_FILES`: (file name, TOML text), whole; the crate's tests read their test cases
//!   from it and check every rule on it.
//! - `SIGNATURE_COMPACT`: (file name, [`Compact`]) what a scan loads: the same file as JSON without
//!   its test cases (`test`, `file_test`: about four fifths of the bytes), which start-up would
//!   otherwise lex on every run. The build does not judge the signatures: it only converts them
//!   (TOML tables to JSON objects, nothing renamed or dropped but the two test arrays), and a
//!   file that is not valid TOML is embedded as it is, so the runtime reports it as before. The
//!   runtime deserialises both forms into the same `RawSignature`, unknown fields included.

use std::io::Write as _;
use std::path::PathBuf;

/// The top-level arrays a scan never reads: the signature's test cases.
const TEST_KEYS: [&str; 2] = ["test", "file_test"];

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
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut file = std::fs::File::create(out.join("signatures.rs")).expect("OUT_DIR is writable");
    writeln!(
        file,
        "/// Every signature file: (file name, contents), sorted by file name."
    )
    .expect("write");
    writeln!(
        file,
        "#[cfg_attr(not(test), allow(dead_code, reason = \"the crate's tests read the whole files\"))]"
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

    writeln!(
        file,
        "/// Every signature file as a scan loads it (see build.rs), sorted by file name."
    )
    .expect("write");
    writeln!(
        file,
        "pub(crate) static SIGNATURE_COMPACT: &[(&str, Compact<'static>)] = &["
    )
    .expect("write");
    for name in &names {
        let path = folder.join(name);
        let text = std::fs::read_to_string(&path).expect("a signature file is readable UTF-8");
        let compact = match toml::from_str::<toml::Table>(&text) {
            Ok(mut table) => {
                for key in TEST_KEYS {
                    table.remove(key);
                }
                let json = serde_json::to_string(&table).expect("a TOML table converts to JSON");
                format!("Compact::Json({json:?})")
            }
            Err(_) => format!(
                "Compact::Toml(include_str!({:?}))",
                path.display().to_string()
            ),
        };
        writeln!(file, "    ({name:?}, {compact}),").expect("write");
    }
    writeln!(file, "];").expect("write");
}
