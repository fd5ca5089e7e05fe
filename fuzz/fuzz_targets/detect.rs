//! Fuzz target: component detection on hostile files: ELF parsing (dynamic section, `.comment`,
//! Go build info, cargo-auditable data), the version-signature automaton, and the package
//! databases (dpkg, opkg, apk), the input being each of them at once: no panic or hang.
#![no_main]

use bytes::Bytes;
use consign_model::{NodeKind, Provenance, Vfs, VfsNode};

const PATHS: [&str; 4] = [
    "/usr/bin/fuzz",
    "/var/lib/dpkg/status",
    "/usr/lib/opkg/status",
    "/lib/apk/db/installed",
];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    let mut vfs = Vfs::single("fuzz.bin", bytes.clone());
    vfs.nodes.extend(PATHS.iter().map(|path| VfsNode {
        path: format!("fuzz.bin/squashfs@0x0{path}"),
        provenance: vec![Provenance {
            format: "squashfs".to_owned(),
            offset: 0,
            path: Some((*path).to_owned()),
        }],
        kind: NodeKind::File {
            data: bytes.clone(),
        },
        mode: Some(0o755),
        mtime: Some(1_700_000_000),
    }));
    let _ = consign_detect::detect(&vfs);
});
