//! Fuzz target: component detection on hostile files: ELF parsing (dynamic section, `.comment`,
//! Go build info, cargo-auditable data), the version-signature automaton, the package databases
//! (dpkg, opkg, apk, rpm's SQLite and Berkeley DB ones, FreeBSD's pkg), package files' metadata
//! (a `.deb`'s `control`, `.PKGINFO`, RPM headers, FreeBSD's manifests and `+CONTENTS`), release
//! files (`os-release`, `lsb-release`), language package manifests (npm, Python, LuaRocks, Maven,
//! Composer) and firmware headers read as binary fields (a Realtek rtw88 file), the input being
//! each of them at once: no panic or hang.
#![no_main]

use bytes::Bytes;
use consign_model::{NodeKind, Provenance, Vfs, VfsNode};

/// (where the container is in the logical path, the path inside it)
const PATHS: [(&str, &str); 19] = [
    ("squashfs@0x0", "/usr/bin/fuzz"),
    ("squashfs@0x0", "/var/lib/dpkg/status"),
    ("squashfs@0x0", "/usr/lib/opkg/status"),
    ("squashfs@0x0", "/lib/apk/db/installed"),
    ("control.tar.xz/xz@0x0/decompressed/tar@0x0/", "./control"),
    ("tar@0x0/", ".PKGINFO"),
    ("squashfs@0x0", "/usr/lib/os-release"),
    ("squashfs@0x0", "/etc/lsb-release"),
    ("squashfs@0x0", "/var/lib/rpm/rpmdb.sqlite"),
    ("squashfs@0x0", "/var/lib/rpm/Packages"),
    ("squashfs@0x0", "/var/db/pkg/local.sqlite"),
    ("tar@0x0/", "+COMPACT_MANIFEST"),
    ("squashfs@0x0", "/var/db/pkg/lighttpd-1.4.28/+CONTENTS"),
    ("squashfs@0x0", "/www/node_modules/fuzz/package.json"),
    ("squashfs@0x0", "/usr/lib/python3/dist-packages/fuzz-1.0.dist-info/METADATA"),
    ("squashfs@0x0", "/usr/lib/luarocks/rocks/fuzz/1.0-1/fuzz-1.0-1.rockspec"),
    ("zip@0x0/", "META-INF/maven/org.fuzz/fuzz/pom.properties"),
    ("squashfs@0x0", "/www/vendor/composer/installed.json"),
    // Signatures limited to a firmware file's name (`only_in`) read binary header fields.
    ("squashfs@0x0", "/lib/firmware/rtw88/rtw8822c_fw.bin"),
];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    let mut vfs = Vfs::single("fuzz.bin", bytes.clone());
    vfs.nodes
        .extend(PATHS.iter().map(|(container, path)| VfsNode {
            path: format!("fuzz.bin/{container}{path}"),
            provenance: vec![Provenance {
                format: "tar".to_owned(),
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
