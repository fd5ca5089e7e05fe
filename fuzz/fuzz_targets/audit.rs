//! Fuzz target: the secure-defaults audit on hostile files. The input is placed at every path the
//! audit reads as text or binary (inittab, passwd/shadow, boot scripts reached from `rcS`,
//! systemd units, inetd/xinetd, configuration, an SSH host key, a PEM bundle, a Dropbear key, a
//! PKCS#12 file, an ELF program, the SWUpdate configuration), so its shell, inittab, account,
//! crypt, DER, PEM, OpenSSH, Dropbear, X.509 and ELF readers all see it: no panic or hang, and the
//! report stays within its bounds.
#![no_main]

use bytes::Bytes;
use consign_model::{NodeKind, Provenance, Vfs, VfsNode};

const PATHS: [&str; 16] = [
    "/etc/inittab",
    "/etc/passwd",
    "/etc/shadow",
    "/etc/init.d/rcS",
    "/etc/init.d/S50fuzz",
    "/lib/systemd/system/fuzz.service",
    "/etc/inetd.conf",
    "/etc/xinetd.d/fuzz",
    "/etc/fuzz.conf",
    "/etc/ssh/ssh_host_rsa_key",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/dropbear/dropbear_rsa_host_key",
    "/etc/app/device.p12",
    "/usr/bin/fuzz",
    "/etc/swupdate.cfg",
    "/etc/rauc/system.conf",
];

fn node(path: &str, kind: NodeKind) -> VfsNode {
    VfsNode {
        path: format!("fuzz.bin/squashfs@0x0{path}"),
        provenance: vec![Provenance {
            format: "squashfs".to_owned(),
            offset: 0,
            path: Some(path.to_owned()),
        }],
        kind,
        mode: Some(0o4777),
        mtime: None,
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    let mut vfs = Vfs::single("fuzz.bin", bytes.clone());
    vfs.nodes.extend(PATHS.iter().map(|path| {
        node(
            path,
            NodeKind::File {
                data: bytes.clone(),
            },
        )
    }));
    for (path, target) in [
        ("/sbin/init", "../bin/busybox"),
        (
            "/etc/systemd/system/multi-user.target.wants/fuzz.service",
            "/lib/systemd/system/fuzz.service",
        ),
        ("/usr/bin/swupdate", "/usr/bin/fuzz"),
    ] {
        vfs.nodes.push(node(
            path,
            NodeKind::Symlink {
                target: target.to_owned(),
            },
        ));
    }
    let mut options = consign_audit::Options::default();
    // A small hashing budget keeps each run quick; the bound itself is what is under test.
    options.limits.max_crypt_cost = 2_000;
    options.limits.max_findings = 500;
    let audit = consign_audit::audit(&vfs, &options);
    assert!(audit.findings.len() <= 500, "{} findings", audit.findings.len());
    for finding in &audit.findings {
        assert!(finding.evidence.chars().count() <= 241, "evidence too long");
        assert!(!finding.provisions.is_empty());
    }
    let _ = consign_audit::report::markdown(&audit, "fuzz.bin");
    let _ = consign_audit::report::text(&audit, "fuzz.bin");
});
