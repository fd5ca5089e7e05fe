//! What an audit reports: [`Finding`]s, each of one [`Rule`], with its [`Severity`] and the
//! provisions of the UK PSTI regime, ETSI EN 303 645 and the CRA it bears on.

use serde::Serialize;

/// How much a finding matters, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// A fact worth knowing (a signed-update mechanism, host keys made at first boot).
    Info,
    /// A weakness that needs another one to matter.
    Low,
    /// A weakness on its own.
    Medium,
    /// A way in that every unit shares.
    High,
    /// A way in that attackers already try (a published default password, a shell without login).
    Critical,
}

impl Severity {
    /// The lower-case name (`high`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

/// The five areas of the audit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Accounts and passwords, and credentials given to programs.
    Accounts,
    /// Private keys and certificates.
    Secrets,
    /// Network services and consoles started at boot.
    Services,
    /// How the firmware is updated.
    Update,
    /// File permissions and the exploit mitigations of programs.
    Hygiene,
}

impl Category {
    /// The lower-case name (`accounts`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Accounts => "accounts",
            Self::Secrets => "secrets",
            Self::Services => "services",
            Self::Update => "update",
            Self::Hygiene => "hygiene",
        }
    }
}

/// UK PSTI Regulations 2023, schedule 1 paragraph 1: no universal default passwords.
pub const PSTI_PASSWORDS: &str = "uk-psti:sch1-1";
/// ETSI EN 303 645 5.1-1: no universal default passwords.
pub const ETSI_5_1_1: &str = "etsi-en-303-645:5.1-1";
/// ETSI EN 303 645 5.1-2: per-device passwords made so they cannot be guessed for a class of devices.
pub const ETSI_5_1_2: &str = "etsi-en-303-645:5.1-2";
/// ETSI EN 303 645 5.3-2: a mechanism for the secure installation of updates.
pub const ETSI_5_3_2: &str = "etsi-en-303-645:5.3-2";
/// ETSI EN 303 645 5.4-1: sensitive security parameters stored securely.
pub const ETSI_5_4_1: &str = "etsi-en-303-645:5.4-1";
/// ETSI EN 303 645 5.4-3: no hard-coded critical security parameters.
pub const ETSI_5_4_3: &str = "etsi-en-303-645:5.4-3";
/// ETSI EN 303 645 5.4-4: critical security parameters unique per device.
pub const ETSI_5_4_4: &str = "etsi-en-303-645:5.4-4";
/// ETSI EN 303 645 5.5-1: best-practice cryptography.
pub const ETSI_5_5_1: &str = "etsi-en-303-645:5.5-1";
/// ETSI EN 303 645 5.6-1: unused network and logical interfaces disabled.
pub const ETSI_5_6_1: &str = "etsi-en-303-645:5.6-1";
/// ETSI EN 303 645 5.6-4: a physically accessible debug interface disabled in software.
pub const ETSI_5_6_4: &str = "etsi-en-303-645:5.6-4";
/// ETSI EN 303 645 5.6-7: software runs with the least privileges it needs.
pub const ETSI_5_6_7: &str = "etsi-en-303-645:5.6-7";
/// CRA Annex I part I (2)(b): secure by default configuration.
pub const CRA_2B: &str = "cra:annexI-I-2b";
/// CRA Annex I part I (2)(c): vulnerabilities addressed through security updates.
pub const CRA_2C: &str = "cra:annexI-I-2c";
/// CRA Annex I part I (2)(d): protection from unauthorised access.
pub const CRA_2D: &str = "cra:annexI-I-2d";
/// CRA Annex I part I (2)(e): confidentiality of stored and transmitted data.
pub const CRA_2E: &str = "cra:annexI-I-2e";
/// CRA Annex I part I (2)(f): integrity of data, programs and configuration.
pub const CRA_2F: &str = "cra:annexI-I-2f";
/// CRA Annex I part I (2)(j): limited attack surfaces.
pub const CRA_2J: &str = "cra:annexI-I-2j";
/// CRA Annex I part I (2)(k): exploitation mitigation mechanisms.
pub const CRA_2K: &str = "cra:annexI-I-2k";

/// What a finding is. Each rule has a stable id (`account.empty-password`), a category, a title
/// and the provisions it bears on; the severity is the finding's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// An account that logs in without a password.
    EmptyPassword,
    /// An account whose password hash is that of a published default password.
    DefaultPassword,
    /// An account with a password set in the image, so the same in every unit.
    FixedPassword,
    /// A password hashed with DES or MD5 crypt.
    WeakHash,
    /// A root shell on a console without a login.
    ConsoleRootShell,
    /// A user name and password given to a program in a boot script.
    CommandLineCredential,
    /// A password written in a configuration file.
    ConfigCredential,
    /// A private key shipped in the image (not an SSH host key).
    PrivateKey,
    /// An SSH host private key shipped in the image, so shared by every unit.
    HostKey,
    /// SSH host keys are made on the device at first boot.
    HostKeyGenerated,
    /// A key too small or of a retired algorithm.
    WeakKey,
    /// A certificate baked into the image.
    Certificate,
    /// A certificate that has expired at the audit date.
    CertificateExpired,
    /// A bundle of CA certificates.
    TrustStore,
    /// A telnet server started at boot.
    Telnet,
    /// An FTP server started at boot.
    Ftp,
    /// A TFTP server started at boot.
    Tftp,
    /// The Android debug bridge daemon.
    Adb,
    /// A shell offered on the network or a console without authentication.
    DebugShell,
    /// A login prompt on a serial (UART) console.
    SerialConsole,
    /// An SSH server started at boot.
    SshServer,
    /// A signed-update mechanism and its keys.
    SignedUpdate,
    /// No signed-update mechanism that consign recognises.
    NoSignedUpdate,
    /// A set-user-ID or set-group-ID program.
    Setuid,
    /// A file or folder anyone may write.
    WorldWritable,
    /// A program or library without some exploit mitigation.
    BinaryHardening,
}

impl Rule {
    /// Every rule, in report order.
    pub const ALL: [Rule; 26] = [
        Rule::EmptyPassword,
        Rule::DefaultPassword,
        Rule::FixedPassword,
        Rule::WeakHash,
        Rule::ConsoleRootShell,
        Rule::CommandLineCredential,
        Rule::ConfigCredential,
        Rule::PrivateKey,
        Rule::HostKey,
        Rule::HostKeyGenerated,
        Rule::WeakKey,
        Rule::Certificate,
        Rule::CertificateExpired,
        Rule::TrustStore,
        Rule::Telnet,
        Rule::Ftp,
        Rule::Tftp,
        Rule::Adb,
        Rule::DebugShell,
        Rule::SerialConsole,
        Rule::SshServer,
        Rule::SignedUpdate,
        Rule::NoSignedUpdate,
        Rule::Setuid,
        Rule::WorldWritable,
        Rule::BinaryHardening,
    ];

    /// The stable id.
    pub fn id(self) -> &'static str {
        match self {
            Self::EmptyPassword => "account.empty-password",
            Self::DefaultPassword => "account.default-password",
            Self::FixedPassword => "account.fixed-password",
            Self::WeakHash => "account.weak-hash",
            Self::ConsoleRootShell => "account.console-root-shell",
            Self::CommandLineCredential => "credential.command-line",
            Self::ConfigCredential => "credential.config",
            Self::PrivateKey => "secret.private-key",
            Self::HostKey => "secret.host-key",
            Self::HostKeyGenerated => "secret.host-key-generated",
            Self::WeakKey => "secret.weak-key",
            Self::Certificate => "secret.certificate",
            Self::CertificateExpired => "secret.certificate-expired",
            Self::TrustStore => "secret.trust-store",
            Self::Telnet => "service.telnet",
            Self::Ftp => "service.ftp",
            Self::Tftp => "service.tftp",
            Self::Adb => "service.adb",
            Self::DebugShell => "service.debug-shell",
            Self::SerialConsole => "service.serial-console",
            Self::SshServer => "service.ssh",
            Self::SignedUpdate => "update.signed",
            Self::NoSignedUpdate => "update.none-found",
            Self::Setuid => "hygiene.setuid",
            Self::WorldWritable => "hygiene.world-writable",
            Self::BinaryHardening => "hygiene.binary-hardening",
        }
    }

    /// The rule with this id.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|rule| rule.id() == id)
    }

    /// Its area.
    pub fn category(self) -> Category {
        match self {
            Self::EmptyPassword
            | Self::DefaultPassword
            | Self::FixedPassword
            | Self::WeakHash
            | Self::ConsoleRootShell
            | Self::CommandLineCredential
            | Self::ConfigCredential => Category::Accounts,
            Self::PrivateKey
            | Self::HostKey
            | Self::HostKeyGenerated
            | Self::WeakKey
            | Self::Certificate
            | Self::CertificateExpired
            | Self::TrustStore => Category::Secrets,
            Self::Telnet
            | Self::Ftp
            | Self::Tftp
            | Self::Adb
            | Self::DebugShell
            | Self::SerialConsole
            | Self::SshServer => Category::Services,
            Self::SignedUpdate | Self::NoSignedUpdate => Category::Update,
            Self::Setuid | Self::WorldWritable | Self::BinaryHardening => Category::Hygiene,
        }
    }

    /// One line saying what the rule finds.
    pub fn title(self) -> &'static str {
        match self {
            Self::EmptyPassword => "an account logs in without a password",
            Self::DefaultPassword => "an account has a published default password",
            Self::FixedPassword => {
                "an account has a password set in the image, shared by every unit"
            }
            Self::WeakHash => "a password is hashed with DES or MD5 crypt",
            Self::ConsoleRootShell => "a console gives a root shell without a login",
            Self::CommandLineCredential => "a boot script gives a program a fixed credential",
            Self::ConfigCredential => "a configuration file holds a password",
            Self::PrivateKey => "a private key is shipped in the image",
            Self::HostKey => "an SSH host private key is shipped in the image",
            Self::HostKeyGenerated => "SSH host keys are generated on the device",
            Self::WeakKey => "a key is too small or of a retired algorithm",
            Self::Certificate => "a certificate is baked into the image",
            Self::CertificateExpired => "a certificate has expired",
            Self::TrustStore => "a bundle of CA certificates",
            Self::Telnet => "a telnet server is started",
            Self::Ftp => "an FTP server is started",
            Self::Tftp => "a TFTP server is started",
            Self::Adb => "the Android debug bridge is started",
            Self::DebugShell => "a shell is offered without authentication",
            Self::SerialConsole => "a login prompt on a serial console",
            Self::SshServer => "an SSH server is started",
            Self::SignedUpdate => "a signed-update mechanism is present",
            Self::NoSignedUpdate => "no signed-update mechanism was recognised",
            Self::Setuid => "a set-user-ID or set-group-ID program",
            Self::WorldWritable => "a file or folder anyone may write",
            Self::BinaryHardening => "a program lacks exploit mitigations",
        }
    }

    /// The provisions it bears on, as requirement references (`uk-psti:sch1-1`).
    pub fn provisions(self) -> &'static [&'static str] {
        match self {
            Self::EmptyPassword | Self::DefaultPassword | Self::FixedPassword => {
                &[PSTI_PASSWORDS, ETSI_5_1_1, ETSI_5_1_2, CRA_2B, CRA_2D]
            }
            Self::CommandLineCredential | Self::ConfigCredential => &[
                PSTI_PASSWORDS,
                ETSI_5_1_1,
                ETSI_5_1_2,
                ETSI_5_4_3,
                CRA_2B,
                CRA_2D,
            ],
            Self::WeakHash => &[ETSI_5_4_1, ETSI_5_5_1, CRA_2E],
            Self::ConsoleRootShell => &[ETSI_5_6_4, CRA_2B, CRA_2D, CRA_2J],
            Self::PrivateKey | Self::HostKey => &[ETSI_5_4_1, ETSI_5_4_3, ETSI_5_4_4, CRA_2E],
            Self::HostKeyGenerated => &[ETSI_5_4_4],
            Self::WeakKey => &[ETSI_5_5_1, CRA_2E],
            Self::Certificate | Self::CertificateExpired | Self::TrustStore => {
                &[ETSI_5_5_1, CRA_2E]
            }
            Self::Telnet | Self::Ftp | Self::Tftp => &[ETSI_5_5_1, ETSI_5_6_1, CRA_2B, CRA_2J],
            Self::Adb | Self::DebugShell | Self::SerialConsole => {
                &[ETSI_5_6_1, ETSI_5_6_4, CRA_2B, CRA_2D, CRA_2J]
            }
            Self::SshServer => &[ETSI_5_6_1, CRA_2J],
            Self::SignedUpdate | Self::NoSignedUpdate => &[ETSI_5_3_2, CRA_2C, CRA_2F],
            Self::Setuid | Self::WorldWritable => &[ETSI_5_6_7, CRA_2F],
            Self::BinaryHardening => &[CRA_2K],
        }
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

/// One thing the audit found, with where and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What it is.
    #[serde(rename = "id")]
    pub rule: Rule,
    /// How much it matters.
    pub severity: Severity,
    /// The file, as a logical path of the unpacked tree (`fw.bin/squashfs@0x0/etc/inittab`).
    pub path: String,
    /// The path inside its file system (`/etc/inittab`), when the file is in one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The line (from 1) of a text file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// The byte offset in a binary file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// What was found, in one sentence.
    pub message: String,
    /// The text that shows it (a line of the file), with every secret redacted.
    pub evidence: String,
    /// A key's or certificate's fingerprint (`SHA256:…` for SSH keys, `sha256:<hex>` of the
    /// public key or certificate otherwise), or a redacted password's digest prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The provisions it bears on.
    pub provisions: &'static [&'static str],
}

impl Finding {
    pub(crate) fn new(rule: Rule, severity: Severity, path: &str) -> Self {
        Self {
            rule,
            severity,
            path: path.to_owned(),
            file: None,
            line: None,
            offset: None,
            message: String::new(),
            evidence: String::new(),
            fingerprint: None,
            provisions: rule.provisions(),
        }
    }

    pub(crate) fn file(mut self, file: &str) -> Self {
        self.file = Some(file.to_owned());
        self
    }

    pub(crate) fn line(mut self, line: u32) -> Self {
        self.line = Some(line);
        self
    }

    pub(crate) fn offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    pub(crate) fn message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    pub(crate) fn evidence(mut self, evidence: impl Into<String>) -> Self {
        let evidence: String = evidence.into();
        self.evidence = crate::text::clip(evidence.trim(), 240);
        self
    }

    pub(crate) fn fingerprint(mut self, fingerprint: impl Into<String>) -> Self {
        self.fingerprint = Some(fingerprint.into());
        self
    }

    /// `path:line` or `path@offset`, for messages.
    pub fn place(&self) -> String {
        let where_ = self.file.as_deref().unwrap_or(&self.path);
        match (self.line, self.offset) {
            (Some(line), _) => format!("{where_}:{line}"),
            (None, Some(offset)) => format!("{where_}@{offset:#x}"),
            (None, None) => where_.to_owned(),
        }
    }
}
