//! Evidence of secure defaults, read from the firmware itself.
//!
//! [`audit`] takes the [`Vfs`] that unpacking produced and returns an [`Audit`]: [`Finding`]s,
//! each of one [`Rule`] with its [`Severity`], the file and line (or byte offset) that shows it,
//! the evidence text with every secret redacted, and the provisions it bears on (UK PSTI schedule
//! 1 paragraph 1, ETSI EN 303 645 5.1 to 5.6, CRA Annex I part I (2)). It is pure: no I/O, and no
//! clock; the only date, for certificate expiry, comes from the caller in [`Options::date`].
//!
//! The five areas, each a module with "What it detects", "Evidence" and "Limits":
//! - `accounts`: `passwd` and `shadow` files: empty passwords, published default passwords
//!   (tried with the real crypt algorithms against `data/default-credentials.tsv`), passwords set
//!   in the image, DES and MD5 hashes;
//! - `boot` (with `shell`): what starts at boot, from `inittab`, init scripts (`rcS`,
//!   `/etc/init.d`, `OpenWrt` `procd`), systemd units, `inetd.conf` and `xinetd.d`: telnet, FTP,
//!   TFTP, `adbd`, shells offered without authentication, serial consoles, SSH servers and
//!   whether they make their host keys at first boot; credentials given on the command line
//!   (`telnetd -u user:pass`, `echo root:pass | chpasswd`); credentials in configuration files;
//! - `keys`: private keys (PEM PKCS#1, SEC1, PKCS#8 and encrypted PKCS#8, OpenSSH
//!   `openssh-key-v1`, Dropbear's binary host keys, PKCS#12) and X.509 certificates anywhere in
//!   the image: algorithm, size, weakness, expiry, fingerprint;
//! - `update`: `SWUpdate`, RAUC, Mender, `OpenWrt` `sysupgrade`/`usign` and their public keys;
//! - `hygiene`: set-user-ID files, world-writable files, and programs without NX, RELRO, PIE or
//!   stack protector (ELF headers read through goblin).
//!
//! ```
//! use consign_model::{NodeKind, Provenance, Vfs, VfsNode};
//!
//! let inittab = b"::sysinit:/etc/init.d/rcS\n::respawn:-/bin/sh\n";
//! let vfs = Vfs {
//!     nodes: vec![VfsNode {
//!         path: "fw.bin/squashfs@0x0/etc/inittab".to_owned(),
//!         provenance: vec![Provenance {
//!             format: "squashfs".to_owned(),
//!             offset: 0,
//!             path: Some("/etc/inittab".to_owned()),
//!         }],
//!         kind: NodeKind::File { data: inittab.to_vec().into() },
//!         mode: Some(0o644),
//!         mtime: None,
//!     }],
//! };
//! let audit = consign_audit::audit(&vfs, &consign_audit::Options::default());
//! let finding = &audit.findings[0];
//! assert_eq!(finding.rule.id(), "account.console-root-shell");
//! assert_eq!((finding.file.as_deref(), finding.line), (Some("/etc/inittab"), Some(2)));
//! ```

mod accounts;
mod boot;
mod crypt;
mod der;
mod finding;
mod hygiene;
mod keys;
pub mod report;
mod shell;
mod text;
mod tree;
mod update;

use consign_model::{Date, Diagnostic, Severity as DiagnosticSeverity, Vfs};
use rayon::prelude::*;
use serde::Serialize;

pub use finding::*;

/// Bounds on the work one audit does, whatever the image holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest text file read line by line (scripts, `passwd`, configuration).
    pub max_text_bytes: usize,
    /// The most findings kept; the rest are counted in a diagnostic.
    pub max_findings: usize,
    /// The crypt work spent trying default passwords, in units of 500 SHA-crypt rounds (one
    /// SHA-512-crypt hash at the default 5,000 rounds against the whole list is about 1,500).
    pub max_crypt_cost: u64,
    /// The most PEM blocks read in one file (a CA bundle holds about 150).
    pub max_pem_blocks: usize,
    /// The most scripts followed from the boot scripts.
    pub max_scripts: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_text_bytes: 1 << 20,
            max_findings: 20_000,
            max_crypt_cost: 30_000,
            max_pem_blocks: 4_096,
            max_scripts: 512,
        }
    }
}

/// What the caller gives an audit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// The date certificates are judged at; without one, expiry is not judged.
    pub date: Option<Date>,
    /// Bounds.
    pub limits: Limits,
}

/// Everything [`audit`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Audit {
    /// The findings, sorted by severity (highest first), then rule, then path and line.
    pub findings: Vec<Finding>,
    /// What was looked at.
    pub summary: Summary,
    /// Problems met on the way; the audit never stops for them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<Diagnostic>,
}

/// What an audit looked at.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// File systems found in the image.
    pub filesystems: usize,
    /// Of those, the ones with an init (an operating system's root).
    pub os_roots: usize,
    /// Files read.
    pub files: usize,
    /// ELF programs and libraries whose mitigations were read.
    pub elf_checked: usize,
    /// The date certificates were judged at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<Date>,
}

impl Audit {
    /// How many findings have each severity, highest first.
    pub fn counts(&self) -> Vec<(Severity, usize)> {
        let mut counts = Vec::new();
        for severity in [
            Severity::Critical,
            Severity::High,
            Severity::Medium,
            Severity::Low,
            Severity::Info,
        ] {
            let n = self
                .findings
                .iter()
                .filter(|f| f.severity == severity)
                .count();
            counts.push((severity, n));
        }
        counts
    }

    /// The highest severity found, if any.
    pub fn highest(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// What every check reads.
pub(crate) struct Context<'a> {
    pub(crate) limits: &'a Limits,
    pub(crate) date: Option<Date>,
}

/// Where checks put what they find.
#[derive(Default)]
pub(crate) struct Sink {
    pub(crate) findings: Vec<Finding>,
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// ELF files whose mitigations were read.
    pub(crate) elf_checked: usize,
}

impl Sink {
    pub(crate) fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }
}

/// Audits the unpacked tree. See the crate docs.
pub fn audit(vfs: &Vfs, options: &Options) -> Audit {
    let context = Context {
        limits: &options.limits,
        date: options.date,
    };
    let tree = tree::Tree::new(vfs);
    let mut sink = Sink::default();

    // Per file, in parallel: keys and certificates anywhere, ELF mitigations, permissions.
    let files: Vec<_> = vfs.files().collect();
    let per_file: Vec<Sink> = files
        .par_iter()
        .map(|(node, data)| {
            let mut sink = Sink::default();
            keys::audit_file(node, data, &tree, &context, &mut sink);
            hygiene::audit_file(node, data, &mut sink);
            sink
        })
        .collect();
    let mut elf_checked = 0;
    for file_sink in per_file {
        elf_checked += file_sink.elf_checked;
        sink.findings.extend(file_sink.findings);
        sink.diagnostics.extend(file_sink.diagnostics);
    }
    keys::drop_copies_in_containers(&mut sink.findings, &tree);
    hygiene::audit_modes(vfs, &mut sink);

    // Per file system: accounts, boot, update.
    let mut os_roots = 0;
    for fs in &tree.filesystems {
        accounts::audit(fs, &context, &mut sink);
        let booted = boot::audit(fs, &context, &mut sink);
        if fs.is_os_root() {
            os_roots += 1;
            update::audit(fs, &booted, &mut sink);
        }
        keys::audit_generation(fs, &booted, &mut sink);
    }

    let mut findings = sink.findings;
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.rule.cmp(&b.rule))
            .then(a.path.cmp(&b.path))
            .then(a.line.cmp(&b.line))
            .then(a.offset.cmp(&b.offset))
            .then(a.message.cmp(&b.message))
    });
    findings.dedup();
    let mut diagnostics = sink.diagnostics;
    if findings.len() > options.limits.max_findings {
        diagnostics.push(
            Diagnostic::warning(
                "consign-audit",
                format!(
                    "{} findings past the limit of {} were left out (the lowest severities)",
                    findings.len() - options.limits.max_findings,
                    options.limits.max_findings
                ),
            )
            .severity(DiagnosticSeverity::Warning),
        );
        findings.truncate(options.limits.max_findings);
    }
    Audit {
        findings,
        summary: Summary {
            filesystems: tree.filesystems.len(),
            os_roots,
            files: files.len(),
            elf_checked,
            date: options.date,
        },
        diagnostics,
    }
}
