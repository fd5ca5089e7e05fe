//! Each rule on small images built in the test: what it must find (file, line, severity) and
//! what it must not (comments, locked accounts, labels without keys, hostile input).
#![allow(clippy::unwrap_used)] // Test helpers: a panic is the test failing.

use consign_audit::{Audit, Options, Rule, Severity, audit};
use consign_model::{NodeKind, Provenance, Vfs, VfsNode};

// Throwaway keys made for these tests (OpenSSL 3, OpenSSH 9):
//   openssl genrsa -traditional -out rsa1024.pem 1024
//   openssl ecparam -name prime256v1 -genkey -noout -out ec.pem
//   openssl genpkey -algorithm ed25519 -out ed.pem
//   ssh-keygen -q -t ed25519 -N '' -C test -f ssh_host_ed25519_key
//     (`ssh-keygen -lf ssh_host_ed25519_key.pub`: SHA256:i/8NxaLy7SI+JtsKUo/Hzlb2RvcjSm+V8eDqlA/QEb8)
//   openssl req -x509 -newkey rsa:2048 -nodes -keyout /dev/null -subj /CN=device.example -days 1 \
//     -set_serial 1 -sha256 -out cert.pem          (notAfter 2026-12-06)
const RSA_1024: &str = "-----BEGIN RSA PRIVATE KEY-----
MIICXAIBAAKBgQC+LOqiS8dhs2yIYLuTBAoAGKrvCf9YPZwvUoNSS5kTMsjsKh3q
fR0rZc0jvCy99btnuLXLzQ1xdFIHHzYiZ6ehS7qdtU07oh4EsiDPYOnqzPpGWKgd
0jHxUnt92ovS3VirVHxLlx5Q81gShX1RZYLN3vcBtywtSDAxEBuzW7K3+QIDAQAB
AoGAPUBSQfuOOBWF+1bMk0lVvzoys9LQfyc4yrUUvsjCgMB2njnicMfjQTsEm2Hc
N0KSHZIMW5urnMMOOGUBFou0HVvmUeV5iyfFQui/MXKtU8/uCAapYfzWIN4tAtiD
Eranbw/ospUL4IXSHVqFQTmAVR3/5UwcN41WeVdLMKaceVECQQD7MykwpeGCO2JM
7h9RQgGfwDUPkVHnP/2LCCmKI3ZBmvcjSYRLe0S3IkSDtj3YEZ/rBZ4QPBip3OeT
D2Wa6ABrAkEAwc87UxSw/o1dlJGyamOTPvXDOHsQV4O2Hbs2XQvPOOUsEwbLyTSp
vAImJXN+GdFx4/hVxwjf3doefCscGmFyKwJBALwMV6iAdaoNlJAsrqsg86BIvjAS
RLMOF1sOWDJ+S5ffT2VOMshi1lUWRR4ovnFS+FlzUhmrM3dt1Loli5WEWlMCQE3I
G6kGPtqKZapApvgnqmq0O3speK+GvspD3leNa8cLwpqIObUwm4ZG3oRdS5iVBD5X
5iURHLdu2JlAu/Cidy0CQGj81QL8oZd6ncUK3wEvjYhFfUeoJ3llQrYxXQNh2VjE
8nVjAcfm9fUbiglzqLkBx4LTgMc0aR3upr+HiLMOB8I=
-----END RSA PRIVATE KEY-----
";
const EC_P256: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEICHthhirgjuaYkLeHbuTo75YN3dtqCklX9clP4RkiTLdoAoGCCqGSM49
AwEHoUQDQgAEAd/qrP/P0q3n0IEw+00Eimq15fwN2JrSjGvzh89dXx1vXc0PVuX5
tyHjiKWZJvIsJYqHjo+ApbHf8UML6uOfvQ==
-----END EC PRIVATE KEY-----
";
const ED25519_PKCS8: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIP+Y4xkj96M6u7kt/lWuJQ0zhNshO/6ojPRLmW6tScg+
-----END PRIVATE KEY-----
";
const OPENSSH_ED25519: &str = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACDuG5m6ITpkHGJ27OyuQeXtAvKJftU0FMLIW+MuVRRf3wAAAIhJ28KkSdvC
pAAAAAtzc2gtZWQyNTUxOQAAACDuG5m6ITpkHGJ27OyuQeXtAvKJftU0FMLIW+MuVRRf3w
AAAECKEjK2KUIYa3gkOPxXAbhQE/s8/+wb5EpnLSdXStOiv+4bmbohOmQcYnbs7K5B5e0C
8ol+1TQUwshb4y5VFF/fAAAABHRlc3QB
-----END OPENSSH PRIVATE KEY-----
";
const CERT: &str = "-----BEGIN CERTIFICATE-----
MIIDADCCAeigAwIBAgIBATANBgkqhkiG9w0BAQsFADAZMRcwFQYDVQQDDA5kZXZp
Y2UuZXhhbXBsZTAeFw0yNjEyMDUxNTI4NTBaFw0yNjEyMDYxNTI4NTBaMBkxFzAV
BgNVBAMMDmRldmljZS5leGFtcGxlMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIB
CgKCAQEAyb11P8zWnElrl4snpK+L7uU76u04FNV1BzwTo0uaqgYg5k0deaMDNMfQ
GMbMlyalD4l/Sma0JN6AsDeDyrwmk3A77vAwpcFT5yJZM4b82S/cH50UU7DYyC4g
XrHJDweTnVMIlJpxXQ0WmzrnCLXJ2fr+YQYOX4ZxdkGjzmpAnUTsfqBEHPlqohYv
ErCMTq1d4uYL7O9e5vW3+iccKNdyHtAAu9PjwIlpatdSxsl8r//MVgdwj1O5ixV5
Hq1zD3t7FRaN1oVbVOah2sjeV9nEcoaJYd9jh7rp2r6G5NsiBSznv3ImPx6CDZaR
CIDSFb2uC/xQI7FejzBHPw3InfvYswIDAQABo1MwUTAdBgNVHQ4EFgQUIju0tykm
9mMTSjmzzHjPtEfY6HwwHwYDVR0jBBgwFoAUIju0tykm9mMTSjmzzHjPtEfY6Hww
DwYDVR0TAQH/BAUwAwEB/zANBgkqhkiG9w0BAQsFAAOCAQEAw/MgC0aU9lnOgQd1
aWfoXZkSwdwclvDOrpdCk1kFmXexPnr3J72GcrxvvF1btoaDifKj0cM91nOuHDMJ
q1oQ0dNvgNexZEahYhHYzh9eZROnmCWAyZmZxzDHtkpOfhOVUP3rxhMzvr4fXbTk
O+ETO3nU0eg8eD7q54CcksbYYNd77LkKt4rLYs+hne1B20yj46hQKtuKc93rzHi5
om4SvdJvZ2Od2JWccUUktilAQ/h6rgCq5ATVC+QpaB0NWLqsRNCMwPe/g6KRyel0
HGTxIEM2t7I/qeksL/x3nVH/2OiOzM9jmP+lWxlLD62YYl/ZadkKaO4y2SAjCVar
YpwT6A==
-----END CERTIFICATE-----
";

/// A squashfs-like file system at `fw.bin/squashfs@0x0` holding `files` (path, contents, mode);
/// a path followed by ` -> ` and a target is a symbolic link.
fn image(files: &[(&str, &str, u32)]) -> Vfs {
    let nodes = files
        .iter()
        .map(|(path, contents, mode)| {
            let kind = match path.split_once(" -> ") {
                Some((_, target)) => NodeKind::Symlink {
                    target: target.to_owned(),
                },
                None => NodeKind::File {
                    data: contents.as_bytes().to_vec().into(),
                },
            };
            let path = path.split(" -> ").next().unwrap();
            VfsNode {
                path: format!("fw.bin/squashfs@0x0{path}"),
                provenance: vec![Provenance {
                    format: "squashfs".to_owned(),
                    offset: 0,
                    path: Some(path.to_owned()),
                }],
                kind,
                mode: Some(*mode),
                mtime: None,
            }
        })
        .collect();
    Vfs { nodes }
}

fn run(files: &[(&str, &str, u32)]) -> Audit {
    audit(
        &image(files),
        &Options {
            date: Some("2027-01-01".parse().unwrap()),
            ..Options::default()
        },
    )
}

fn ids(audit: &Audit) -> Vec<(&'static str, String, Severity)> {
    audit
        .findings
        .iter()
        .map(|f| (f.rule.id(), f.place(), f.severity))
        .collect()
}

fn has(audit: &Audit, rule: Rule, place: &str) -> bool {
    audit
        .findings
        .iter()
        .any(|f| f.rule == rule && f.place() == place)
}

#[test]
fn shadow_accounts_empty_default_fixed_and_weak() {
    let audit = run(&[
        ("/sbin/init", "", 0o755),
        (
            "/etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\nadmin:x:1000:1000::/home/admin:/bin/sh\nguest::1001:1001::/:/bin/sh\nsvc:x:1002:1002::/:/bin/false\nop:x:1003:1003::/:/bin/sh\n",
            0o644,
        ),
        (
            "/etc/shadow",
            "root:$1$abcdefgh$l/LAqC8oJERu7Cmx6trtY/:19000:0:99999:7:::\nadmin:$6$saltsalt$q2dbZLAGHBp.03EcBZkSrIziCqAx5RZb3gDx7PcfWlyWlUxZE6ldt36gyTalObFIg9baufgsBSmnMtZhpUDFj1:19000::::::\nguest::19000::::::\nsvc:!:19000::::::\nop:*:19000::::::\n",
            0o600,
        ),
    ]);
    let got = ids(&audit);
    // root: MD5-crypt of `admin`, on the Mirai list.
    let root = audit
        .findings
        .iter()
        .find(|f| f.rule == Rule::DefaultPassword)
        .unwrap();
    assert_eq!(root.place(), "/etc/shadow:1");
    assert_eq!(root.severity, Severity::Critical);
    assert!(
        root.message.contains("`admin`") && root.message.contains("Mirai"),
        "{}",
        root.message
    );
    assert!(
        !root.evidence.contains("l/LAqC8oJERu7Cmx6trtY/"),
        "{}",
        root.evidence
    );
    assert!(has(&audit, Rule::WeakHash, "/etc/shadow:1"), "{got:?}");
    // admin: SHA-512-crypt of a password on no list: fixed, not weak.
    assert!(has(&audit, Rule::FixedPassword, "/etc/shadow:2"), "{got:?}");
    assert!(!has(&audit, Rule::WeakHash, "/etc/shadow:2"), "{got:?}");
    // guest: empty in both files.
    assert!(has(&audit, Rule::EmptyPassword, "/etc/passwd:3"), "{got:?}");
    assert!(has(&audit, Rule::EmptyPassword, "/etc/shadow:3"), "{got:?}");
    // Locked accounts say nothing.
    assert!(
        !got.iter()
            .any(|(_, place, _)| place == "/etc/shadow:4" || place == "/etc/shadow:5"),
        "{got:?}"
    );
}

/// bcrypt and yescrypt (Debian 11+ writes `$y$`) are strong schemes: a fixed password in the
/// image, never a weak hash; consign has no implementation of either, so the finding says the
/// default list was not tried on them rather than pretending it was. The Markdown report of one
/// file system says "1 file system".
#[test]
fn bcrypt_and_yescrypt_are_strong_and_said_unverified() {
    let audit = run(&[
        ("/sbin/init", "", 0o755),
        (
            "/etc/shadow",
            "root:$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy:19000::::::\nadmin:$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7:19000::::::\nop:$2y$12$QjSH496pcT5CEbzjD/vtVeH03tfHKFy36d4J0Ltp3lRtee9HDxY3K:19000::::::\n",
            0o600,
        ),
    ]);
    let got = ids(&audit);
    for line in 1..=3 {
        let place = format!("/etc/shadow:{line}");
        assert!(has(&audit, Rule::FixedPassword, &place), "{got:?}");
        assert!(!has(&audit, Rule::WeakHash, &place), "{got:?}");
        assert!(!has(&audit, Rule::DefaultPassword, &place), "{got:?}");
    }
    let fixed = audit
        .findings
        .iter()
        .find(|f| f.rule == Rule::FixedPassword)
        .unwrap();
    assert!(
        fixed.message.contains("bcrypt hash")
            && fixed.message.contains("its scheme is strong")
            && fixed
                .message
                .contains("cannot check it against the default list"),
        "{}",
        fixed.message
    );
    let markdown = consign_audit::report::markdown(&audit, "img");
    assert_eq!(audit.summary.filesystems, 1, "{markdown}");
    assert!(markdown.contains("1 file system ("), "{markdown}");
}

#[test]
fn inittab_getty_and_console_shells() {
    let audit = run(&[
        (
            "/etc/inittab",
            "# ::respawn:-/bin/sh\nttyS0::respawn:/sbin/getty -L ttyS0 115200 vt100\ntty1::respawn:/sbin/getty -n -l /bin/sh tty1 38400\n::sysinit:/etc/init.d/rcS\n::askfirst:/bin/login\n",
            0o644,
        ),
        ("/etc/init.d/rcS", "#!/bin/sh\n/usr/sbin/adbd &\n", 0o755),
    ]);
    let got = ids(&audit);
    assert!(
        has(&audit, Rule::SerialConsole, "/etc/inittab:2"),
        "{got:?}"
    );
    assert!(
        has(&audit, Rule::ConsoleRootShell, "/etc/inittab:3"),
        "{got:?}"
    );
    assert!(
        !got.iter().any(|(_, place, _)| place == "/etc/inittab:1"),
        "{got:?}"
    );
    assert!(has(&audit, Rule::Adb, "/etc/init.d/rcS:2"), "{got:?}");
}

#[test]
fn boot_script_credentials_are_found_and_redacted() {
    let audit = run(&[
        ("/etc/inittab", "::sysinit:/etc/init.d/rcS\n", 0o644),
        (
            "/etc/init.d/rcS",
            "#!/bin/sh\nfor s in /etc/init.d/S??* ; do $s start; done\necho \"root:xc3511\" | chpasswd\n",
            0o755,
        ),
        (
            "/etc/init.d/S50services",
            "#!/bin/sh\nPW=Zq8-unique-not-listed\ntelnetd -l /bin/sh -p 2323 &\nhttpd -A admin:$PW -h /www\nnc -ll -p 4444 -e /bin/sh &\nutelnetd -u support:`nvram get pw` &\n",
            0o755,
        ),
        ("/etc/init.d/K50never", "#!/bin/sh\ntelnetd &\n", 0o755),
    ]);
    let got = ids(&audit);
    let chpasswd = audit
        .findings
        .iter()
        .find(|f| f.rule == Rule::CommandLineCredential && f.place() == "/etc/init.d/rcS:3")
        .unwrap_or_else(|| panic!("{got:?}"));
    assert!(
        chpasswd.message.contains("`xc3511`"),
        "{}",
        chpasswd.message
    );
    assert!(
        has(&audit, Rule::DebugShell, "/etc/init.d/S50services:3"),
        "{got:?}"
    );
    assert!(
        has(&audit, Rule::Telnet, "/etc/init.d/S50services:3"),
        "{got:?}"
    );
    let httpd = audit
        .findings
        .iter()
        .find(|f| f.rule == Rule::CommandLineCredential && f.place() == "/etc/init.d/S50services:4")
        .unwrap_or_else(|| panic!("{got:?}"));
    assert_eq!(httpd.severity, Severity::Critical);
    let json = serde_json::to_string(&audit).unwrap();
    assert!(!json.contains("Zq8-unique-not-listed"), "{json}");
    assert!(
        has(&audit, Rule::DebugShell, "/etc/init.d/S50services:5"),
        "{got:?}"
    );
    // A password known only at run time is low, not critical.
    let runtime = audit
        .findings
        .iter()
        .find(|f| f.rule == Rule::CommandLineCredential && f.place() == "/etc/init.d/S50services:6")
        .unwrap_or_else(|| panic!("{got:?}"));
    assert_eq!(runtime.severity, Severity::Low);
    // K scripts are not reached by the S??* glob.
    assert!(
        !got.iter()
            .any(|(_, place, _)| place.starts_with("/etc/init.d/K50never")),
        "{got:?}"
    );
}

#[test]
fn systemd_inetd_xinetd_and_config_files() {
    let audit = run(&[
        ("/lib/systemd/systemd", "", 0o755),
        (
            "/lib/systemd/system/serial-getty@.service",
            "[Service]\nExecStart=-/sbin/agetty -o '-p -- \\\\u' --keep-baud 115200 %I $TERM\n",
            0o644,
        ),
        (
            "/etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service -> /lib/systemd/system/serial-getty@.service",
            "",
            0o777,
        ),
        (
            "/lib/systemd/system/tftpd.service",
            "[Service]\nExecStart=/usr/sbin/in.tftpd -L /srv\n",
            0o644,
        ),
        (
            "/etc/inetd.conf",
            "#telnet stream tcp nowait root /usr/sbin/telnetd telnetd\nftp stream tcp nowait root /usr/sbin/tcpd in.ftpd\n",
            0o644,
        ),
        (
            "/etc/xinetd.d/telnet",
            "service telnet\n{\n\tdisable = no\n\tserver = /usr/sbin/in.telnetd\n}\n",
            0o644,
        ),
        (
            "/etc/xinetd.d/tftp",
            "service tftp\n{\n\tdisable = yes\n\tserver = /usr/sbin/in.tftpd\n}\n",
            0o644,
        ),
        (
            "/etc/wifi.conf",
            "ssid=home\nwpa_passphrase=password\n# password=commented\nadmin_password = \"S3cret-for-all\"\nPasswordAuthentication yes\n",
            0o644,
        ),
    ]);
    let got = ids(&audit);
    assert!(
        has(
            &audit,
            Rule::SerialConsole,
            "/lib/systemd/system/serial-getty@.service:2"
        ),
        "{got:?}"
    );
    // Not enabled: no finding.
    assert!(
        !got.iter().any(|(id, _, _)| *id == "service.tftp"),
        "{got:?}"
    );
    assert!(has(&audit, Rule::Ftp, "/etc/inetd.conf:2"), "{got:?}");
    assert!(!has(&audit, Rule::Telnet, "/etc/inetd.conf:1"), "{got:?}");
    assert!(
        has(&audit, Rule::Telnet, "/etc/xinetd.d/telnet:1"),
        "{got:?}"
    );
    let wifi = audit
        .findings
        .iter()
        .find(|f| f.place() == "/etc/wifi.conf:2")
        .unwrap_or_else(|| panic!("{got:?}"));
    assert_eq!(
        (wifi.rule, wifi.severity),
        (Rule::ConfigCredential, Severity::High)
    );
    assert!(
        has(&audit, Rule::ConfigCredential, "/etc/wifi.conf:4"),
        "{got:?}"
    );
    assert!(
        !got.iter()
            .any(|(_, place, _)| place == "/etc/wifi.conf:3" || place == "/etc/wifi.conf:5"),
        "{got:?}"
    );
    assert!(
        !serde_json::to_string(&audit)
            .unwrap()
            .contains("S3cret-for-all")
    );
}

#[test]
fn keys_certificates_and_host_keys() {
    let audit = run(&[
        ("/sbin/init", "", 0o755),
        ("/etc/ssh/ssh_host_ed25519_key", OPENSSH_ED25519, 0o600),
        ("/etc/ssl/private/server.key", RSA_1024, 0o600),
        ("/usr/share/app/ec.pem", EC_P256, 0o644),
        ("/usr/share/app/ed.pem", ED25519_PKCS8, 0o644),
        ("/etc/app/device.crt", CERT, 0o644),
        (
            "/usr/bin/ssh-keygen",
            "\u{1}ELF-ish\u{0}-----BEGIN OPENSSH PRIVATE KEY-----\n\u{0}-----END OPENSSH PRIVATE KEY-----\n",
            0o755,
        ),
        (
            "/etc/init.d/S50dropbear",
            "#!/bin/sh\ndropbearkey -t rsa -f /etc/dropbear/dropbear_rsa_host_key\ndropbear -R\n",
            0o755,
        ),
        ("/etc/inittab", "::sysinit:/etc/init.d/S50dropbear\n", 0o644),
    ]);
    let got = ids(&audit);
    let host = audit
        .findings
        .iter()
        .find(|f| f.rule == Rule::HostKey)
        .unwrap_or_else(|| panic!("{got:?}"));
    assert_eq!(host.place(), "/etc/ssh/ssh_host_ed25519_key:1");
    assert_eq!(
        host.fingerprint.as_deref(),
        Some("SHA256:i/8NxaLy7SI+JtsKUo/Hzlb2RvcjSm+V8eDqlA/QEb8")
    );
    assert!(
        has(&audit, Rule::PrivateKey, "/etc/ssl/private/server.key:1"),
        "{got:?}"
    );
    assert!(
        has(&audit, Rule::WeakKey, "/etc/ssl/private/server.key:1"),
        "{got:?}"
    );
    let ec = audit
        .findings
        .iter()
        .find(|f| f.place() == "/usr/share/app/ec.pem:1")
        .unwrap();
    assert!(ec.message.contains("EC P-256, SEC1"), "{}", ec.message);
    let ed = audit
        .findings
        .iter()
        .find(|f| f.place() == "/usr/share/app/ed.pem:1")
        .unwrap();
    assert!(ed.message.contains("Ed25519, PKCS#8"), "{}", ed.message);
    assert!(
        has(&audit, Rule::Certificate, "/etc/app/device.crt:1"),
        "{got:?}"
    );
    let expired = audit
        .findings
        .iter()
        .find(|f| f.rule == Rule::CertificateExpired)
        .unwrap_or_else(|| panic!("{got:?}"));
    assert!(expired.message.contains("device.example") && expired.message.contains("2026-12-06"));
    assert!(
        !got.iter()
            .any(|(_, place, _)| place.starts_with("/usr/bin/ssh-keygen")),
        "{got:?}"
    );
    assert!(
        has(&audit, Rule::HostKeyGenerated, "/etc/init.d/S50dropbear:2"),
        "{got:?}"
    );
    assert!(
        has(&audit, Rule::SshServer, "/etc/init.d/S50dropbear:3"),
        "{got:?}"
    );
    // Nothing of the keys themselves in the report.
    let json = serde_json::to_string(&audit).unwrap();
    assert!(!json.contains("MII"), "{json}");
}

#[test]
fn update_mechanisms_and_permissions() {
    let audit = run(&[
        ("/sbin/init", "", 0o755),
        ("/usr/bin/swupdate", "", 0o755),
        (
            "/etc/swupdate.cfg",
            "globals :\n{\n\tpublic-key-file = \"/etc/swupdate/public.pem\";\n};\n",
            0o644,
        ),
        (
            "/etc/swupdate/public.pem",
            "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n",
            0o644,
        ),
        ("/bin/su", "", 0o4755),
        ("/var/log/messages", "", 0o666),
    ]);
    let got = ids(&audit);
    let update = audit
        .findings
        .iter()
        .find(|f| f.rule == Rule::SignedUpdate)
        .unwrap_or_else(|| panic!("{got:?}"));
    assert!(
        update.message.contains("/etc/swupdate/public.pem"),
        "{}",
        update.message
    );
    assert!(
        !got.iter().any(|(id, _, _)| *id == "update.none-found"),
        "{got:?}"
    );
    assert!(has(&audit, Rule::Setuid, "/bin/su"), "{got:?}");
    assert!(
        has(&audit, Rule::WorldWritable, "/var/log/messages"),
        "{got:?}"
    );
}

#[test]
fn hostile_input_is_bounded_and_never_panics() {
    // A symlink loop, a script that runs itself, a glob over everything, a huge rounds count, junk.
    let rcs = "#!/bin/sh\n/etc/init.d/rcS\nfor x in /etc/*; do $x; done\n. /etc/init.d/rcS\n";
    let audit = run(&[
        (
            "/etc/inittab",
            "::sysinit:/etc/init.d/rcS\n::::::\n:\n",
            0o644,
        ),
        ("/etc/init.d/rcS", rcs, 0o755),
        ("/etc/loop -> /etc/loop2", "", 0o777),
        ("/etc/loop2 -> /etc/loop", "", 0o777),
        (
            "/etc/shadow",
            "root:$6$rounds=999999999$salt$hash:1::::::\nx:$5$rounds=-1$$:1::::::\n",
            0o600,
        ),
        (
            "/etc/junk.pem",
            "-----BEGIN RSA PRIVATE KEY-----\n!!!!\n-----END RSA PRIVATE KEY-----\n-----BEGIN ",
            0o644,
        ),
    ]);
    // The 999,999,999-round hash is not tried (it is over the budget) and is still reported.
    assert!(
        has(&audit, Rule::FixedPassword, "/etc/shadow:1"),
        "{:?}",
        ids(&audit)
    );
    for len in [0, 1, 7, 64] {
        let junk = "\u{0}\u{7f}ELF".repeat(len);
        let _ = run(&[
            ("/etc/inittab", &junk, 0o644),
            ("/etc/passwd", &junk, 0o644),
        ]);
    }
}
