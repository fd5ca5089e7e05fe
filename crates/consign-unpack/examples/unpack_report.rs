//! Prints the JSON report of unpacking one file: `cargo run -p consign-unpack --example unpack_report -- FILE`.
#![allow(clippy::print_stdout, clippy::unwrap_used)] // A developer tool.

fn main() {
    let path = std::env::args().nth(1).expect("usage: unpack_report FILE");
    let data = std::fs::read(&path).unwrap();
    let name = std::path::Path::new(&path)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let out = consign_unpack::unpack(&name, data.into(), &consign_unpack::Limits::default());
    println!("{}", serde_json::to_string_pretty(&out.report).unwrap());
}
