//! The audit on the real samples in `../shared/samples/` (what it must find, with path and line)
//! and on the Debian-built corpus images in `../shared/corpus/images/` (nothing false).
#![allow(clippy::unwrap_used)] // Test helpers: a panic is the test failing.

use std::path::PathBuf;

use bytes::Bytes;
use consign_audit::{Audit, Finding, Options, Rule, Severity, audit};
use consign_model::Date;

fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn run(relative: &str) -> Audit {
    let path = shared().join(relative);
    let data =
        std::fs::read(&path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let unpacked =
        consign_unpack::unpack(&name, Bytes::from(data), &consign_unpack::Limits::default());
    let options = Options {
        date: Some("2026-01-01".parse::<Date>().unwrap()),
        ..Options::default()
    };
    audit(&unpacked.vfs, &options)
}

fn show(audit: &Audit) -> String {
    audit
        .findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {} | {} | {}",
                f.severity.name(),
                f.rule.id(),
                f.place(),
                f.message,
                f.evidence
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn find<'a>(audit: &'a Audit, rule: Rule, file: &str) -> &'a Finding {
    audit
        .findings
        .iter()
        .find(|f| f.rule == rule && f.file.as_deref() == Some(file))
        .unwrap_or_else(|| panic!("no {} in {file}; found:\n{}", rule.id(), show(audit)))
}

/// The TEW-733GR router (TRENDnet): `telnetd -u Alphanetworks:$image_sign`, the password `cat` from a file
/// of the image.
#[test]
fn the_fixed_telnet_credential_of_the_tew733gr_is_reported_with_its_line() {
    let audit = run("samples/router-tew733gr-rootfs.squashfs");
    let credential = find(
        &audit,
        Rule::CommandLineCredential,
        "/etc/init0.d/S80telnetd.sh",
    );
    assert_eq!(credential.line, Some(7));
    assert_eq!(credential.severity, Severity::Critical);
    assert!(
        credential.message.contains("`Alphanetworks`"),
        "{}",
        credential.message
    );
    assert!(
        credential.message.contains("/etc/config/image_sign"),
        "{}",
        credential.message
    );
    assert!(
        credential
            .evidence
            .contains("telnetd -l /usr/sbin/login -u Alphanetworks:$image_sign")
    );
    // The password itself is never shown.
    let json = serde_json::to_string(&audit).unwrap();
    assert!(!json.contains("wrgn80_trendnet_tew733gr"));
    let telnet = find(&audit, Rule::Telnet, "/etc/init0.d/S80telnetd.sh");
    assert_eq!(telnet.line, Some(7));
    // No inittab: BusyBox init's built-in table gives the console a shell.
    let console = find(&audit, Rule::ConsoleRootShell, "/sbin/init");
    assert_eq!(console.severity, Severity::High);
    assert_eq!(audit.summary.os_roots, 1);
}

/// The Broadcom router of binwalk's squashfs v2 sample: a Dropbear RSA host key in
/// `/etc/rsa_host_key` and `::respawn:-/bin/sh` in `/etc/inittab`.
#[test]
fn the_shared_host_key_and_the_console_root_shell_of_the_squashfs_v2_router_are_reported() {
    let audit = run("samples/binwalk-squashfs_v2.bin");
    let key = find(&audit, Rule::HostKey, "/etc/rsa_host_key");
    assert_eq!(key.severity, Severity::High);
    assert!(
        key.message.contains("RSA 1040-bit, Dropbear format"),
        "{}",
        key.message
    );
    assert!(key.fingerprint.as_deref().unwrap().starts_with("SHA256:"));
    let weak = find(&audit, Rule::WeakKey, "/etc/rsa_host_key");
    assert_eq!(weak.fingerprint, key.fingerprint);
    let shell = find(&audit, Rule::ConsoleRootShell, "/etc/inittab");
    assert_eq!((shell.line, shell.severity), (Some(2), Severity::Critical));
    assert_eq!(shell.evidence, "::respawn:-/bin/sh");
    assert_eq!(find(&audit, Rule::Telnet, "/etc/inetd.conf").line, Some(12));
    assert_eq!(find(&audit, Rule::Ftp, "/etc/inetd.conf").line, Some(11));
    // The modes squashfs records: `unsquashfs -lls` shows `-rwxrwxrwx` for /etc/inittab.
    find(&audit, Rule::WorldWritable, "/etc/inittab");
    for finding in &audit.findings {
        assert!(!finding.provisions.is_empty());
    }
}

/// The corpus images are Debian packages packed as firmware: no accounts, no keys, no services
/// configured. What the audit may say about them is what is really there: BusyBox init without an
/// inittab (its built-in console shell), MIPS programs that ask for an executable stack, and no
/// recognised update mechanism.
#[test]
fn nothing_false_on_the_corpus_images() {
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(shared().join("corpus/images")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let image = std::fs::read_dir(entry.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .find(|n| n != "truth.json")
            .unwrap();
        let audit = run(&format!("corpus/images/{name}/{image}"));
        for finding in &audit.findings {
            match finding.rule {
                Rule::ConsoleRootShell => {
                    assert_eq!(
                        finding.file.as_deref(),
                        Some("/sbin/init"),
                        "{name}: {finding:?}"
                    );
                    assert!(finding.message.contains("no /etc/inittab"));
                    seen.push(name.clone());
                }
                Rule::BinaryHardening => {
                    assert!(name.contains("mips"), "{name}: {finding:?}");
                    assert!(finding.message.contains("NX"), "{name}: {finding:?}");
                    assert!(
                        !finding.message.contains("RELRO") && !finding.message.contains("PIE"),
                        "{name}: {finding:?}"
                    );
                }
                Rule::NoSignedUpdate => {}
                _ => panic!("{name}: unexpected finding\n{}", show(&audit)),
            }
        }
    }
    seen.sort();
    assert_eq!(seen, ["ipcam-mipsel-uimage", "router-armhf-uimage"]);
}
