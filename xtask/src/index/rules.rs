//! The rules that turn Debian's file lists into the name index: which paths give a name, which
//! upstream project a Debian source package is, and which names are left out and why.
//!
//! Everything here is pure (no I/O), so each rule has a unit test with real Debian names.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What a name in the index is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum KeyKind {
    /// An executable in a `bin`, `sbin` or `libexec` folder, by file name.
    Program,
    /// A shared library, by the part of its file name (or SONAME) before `.so`.
    Library,
    /// A loadable module (`ngx_http_memc_module.so`, `mod_python.so`): a `*.so` file under a
    /// `lib` folder whose name does not start with `lib`, by its whole file name.
    Module,
}

/// The index key of a name: a program's or module's file name, or a library's base with `.so`
/// appended (`libfoo.so`), so a program and a library of the same spelling never meet.
pub(crate) fn key_text(kind: KeyKind, name: &str) -> String {
    match kind {
        KeyKind::Program | KeyKind::Module => name.to_owned(),
        KeyKind::Library => format!("{name}.so"),
    }
}

/// Cheap test on a `Contents` line before it is split: could its path give a name?
pub(crate) fn may_classify(line: &str) -> bool {
    let rest = line.strip_prefix("usr/").unwrap_or(line);
    rest.starts_with("bin/")
        || rest.starts_with("sbin/")
        || rest.starts_with("lib")
        || rest.starts_with("libexec/")
}

/// The name a packaged path gives, if it gives one: `usr/sbin/dnsmasq` is the program `dnsmasq`,
/// `usr/lib/x86_64-linux-gnu/libnl-3.so.200.26.0` the library `libnl-3`. Programs count in
/// `bin`, `sbin`, `usr/libexec` and one folder below it; libraries anywhere under `lib*` and
/// `usr/lib*`. Nothing under a folder whose name says it holds tests. Also says whether the file
/// is public: a program, or a library in a folder the
/// dynamic linker searches (`lib`, `usr/lib`, or the multiarch folder below them) rather than a
/// program's private plug-in folder (`usr/lib/x86_64-linux-gnu/gforth/…/libffi.so`).
pub(crate) fn classify_with_place(path: &str) -> Option<(KeyKind, &str, bool)> {
    let (kind, name) = classify_inner(path)?;
    let public = kind != KeyKind::Library || {
        let rest = path.strip_prefix("usr/").unwrap_or(path);
        let folders = rest.rsplit_once('/').map_or("", |(folders, _)| folders);
        let below: Vec<&str> = folders.split('/').skip(1).collect();
        match below.as_slice() {
            [] => true,
            [triplet] => ["-linux-", "-kfreebsd-", "-hurd-"]
                .iter()
                .any(|marker| triplet.contains(marker)),
            _ => false,
        }
    };
    Some((kind, name, public))
}

fn classify_inner(path: &str) -> Option<(KeyKind, &str)> {
    let rest = path.strip_prefix("usr/").unwrap_or(path);
    let (folders, name) = rest.rsplit_once('/')?;
    let mut parts = folders.split('/');
    let top = parts.next()?;
    let below: Vec<&str> = parts.collect();
    if below.iter().any(|part| part.contains("test")) {
        return None;
    }
    match top {
        "bin" | "sbin" if below.is_empty() => {
            valid_program(name).then_some((KeyKind::Program, name))
        }
        "libexec" if below.len() <= 1 && path.starts_with("usr/") => {
            valid_program(name).then_some((KeyKind::Program, name))
        }
        "lib" | "lib32" | "lib64" | "libx32" => {
            if let Some(base) = library_base(name) {
                Some((KeyKind::Library, base))
            } else {
                (!name.starts_with("lib") && name.strip_suffix(".so").is_some_and(valid_program))
                    .then_some((KeyKind::Module, name))
            }
        }
        _ => None,
    }
}

/// Letters, digits and `._+-@`, starting with a letter or digit, at most 64 bytes.
fn valid_program(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-' | b'@'))
}

/// A library's base name (`libnl-3.so.200` -> `libnl-3`), as detection looks it up.
pub(crate) use consign_detect::library_base;

/// Why a name is not in the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Exclusion {
    /// A script or data file by its extension (`.sh`, `.py`, `.pl`): never an object file.
    NotCode,
    /// A program name under three characters (`ip`, `ss`), or a library's under two after
    /// `lib` (`libz`, `libc`): too easy to meet by chance.
    Short,
    /// A cross tool (`arm-linux-gnueabihf-gcc`): a build host's, not a device's.
    CrossTool,
    /// A generic name a device maker may give its own program (`httpd`, `init`, `daemon`).
    Generic,
    /// Debian's own packaging tools and wrappers (`update-*`, `dpkg-*`), or a name only a
    /// Debian-native source ships.
    DebianSpecific,
    /// Shipped by more than one upstream project across the archive.
    Collision,
    /// Only shipped by packages of sections firmware does not carry (games, science, TeX).
    OffTopic,
}

impl Exclusion {
    pub(crate) const ALL: [Self; 7] = [
        Self::NotCode,
        Self::Short,
        Self::CrossTool,
        Self::Generic,
        Self::DebianSpecific,
        Self::Collision,
        Self::OffTopic,
    ];

    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::NotCode => "not-code",
            Self::Short => "short",
            Self::CrossTool => "cross-tool",
            Self::Generic => "generic",
            Self::DebianSpecific => "debian-specific",
            Self::Collision => "collision",
            Self::OffTopic => "off-topic",
        }
    }
}

/// Extensions of scripts and data that sit in `bin` folders.
const NOT_CODE: &[&str] = &[
    ".sh", ".bash", ".zsh", ".csh", ".ksh", ".pl", ".pm", ".py", ".pyc", ".rb", ".tcl", ".tk",
    ".lua", ".js", ".mjs", ".php", ".awk", ".sed", ".el", ".jar", ".class", ".txt", ".md", ".conf",
    ".cfg", ".ini", ".xml", ".json", ".yaml", ".yml", ".desktop", ".html", ".ps1", ".bat", ".cmd",
    ".exe", ".dll", ".R", ".r", ".m", ".scm", ".bsh", ".groovy", ".kts",
];

/// Target triplets that mark cross tools.
const CROSS: &[&str] = &[
    "-linux-gnu",
    "-linux-musl",
    "-linux-android",
    "-none-eabi",
    "-none-elf",
    "-unknown-",
    "-w64-mingw32",
    "-elf-",
    "-kfreebsd-gnu",
    "-gnu-",
];

/// Names a device maker may give a program of its own, or that many projects implement
/// (protocol daemons, init systems, the words of a generic tool). A firmware file with one of
/// these names says nothing about which project built it.
pub(crate) const GENERIC: &[&str] = &[
    // The issue's own examples and their kin.
    "init",
    "httpd",
    "test",
    "run",
    "server",
    "daemon",
    "client",
    "main",
    "app",
    "application",
    "agent",
    "service",
    "services",
    "start",
    "stop",
    "restart",
    "setup",
    "install",
    "uninstall",
    "update",
    "upgrade",
    "config",
    "configure",
    "cli",
    "tool",
    "tools",
    "helper",
    "manager",
    "monitor",
    "watchdog",
    "logger",
    "log",
    "debug",
    "reset",
    "reboot",
    "halt",
    "poweroff",
    "shutdown",
    "login",
    "shell",
    "console",
    "terminal",
    "admin",
    "cgi",
    "web",
    "www",
    "api",
    "proxy",
    "router",
    "gateway",
    "bridge",
    "firewall",
    "network",
    "net",
    "wifi",
    "wlan",
    "led",
    "leds",
    "button",
    "gpio",
    "sensor",
    "upnp",
    "nvram",
    "flash",
    "firmware",
    "fwupdate",
    "backup",
    "restore",
    "detect",
    "scan",
    "check",
    "status",
    "info",
    "event",
    "events",
    "hotplug",
    "factory",
    "demo",
    "example",
    "sample",
    "hello",
    "dummy",
    "wrapper",
    "launcher",
    "loader",
    "boot",
    "system",
    "core",
    "common",
    "base",
    "util",
    "utils",
    "data",
    "cache",
    "build",
    "browser",
    "disk",
    "doc",
    "default",
    "defaults",
    "dump",
    "parse",
    "parser",
    "convert",
    "control",
    "ctl",
    "cmd",
    "command",
    "exec",
    "open",
    "process",
    "query",
    "report",
    "send",
    "recv",
    "receive",
    "listen",
    "player",
    "record",
    "recorder",
    "stream",
    "video",
    "audio",
    "camera",
    "display",
    "screen",
    "keyboard",
    "mouse",
    "button",
    "power",
    "battery",
    "timer",
    "clock",
    "time",
    "date",
    "calc",
    "edit",
    "editor",
    "view",
    "viewer",
    "pager",
    // Protocol daemons: named after the protocol, written by many projects.
    "ftpd",
    "tftpd",
    "telnetd",
    "sshd",
    "dhcpd",
    "dhcp6d",
    "ntpd",
    "snmpd",
    "smtpd",
    "pop3d",
    "imapd",
    "syslogd",
    "klogd",
    "crond",
    "inetd",
    "dnsd",
    "radiusd",
    "rtspd",
    "upnpd",
    "mdnsd",
    "tftp",
    "ftp",
    "telnet",
    "dhcp",
    "snmp",
    "syslog",
    "cron",
    "mail",
    "sendmail",
];

/// Name prefixes of Debian's packaging tools and wrappers.
const DEBIAN_PREFIXES: &[&str] = &[
    "dpkg",
    "dh_",
    "dh-",
    "debconf",
    "debian",
    "deb-",
    "update-",
    "apt-",
    "invoke-rc",
    "dselect",
];

/// Debian sections whose packages firmware does not carry.
pub(crate) const OFF_TOPIC_SECTIONS: &[&str] = &[
    "games",
    "science",
    "gnu-r",
    "math",
    "tex",
    "doc",
    "fonts",
    "localization",
    "education",
    "haskell",
    "ocaml",
    "lisp",
    "java",
    "javascript",
    "ruby",
    "php",
    "zope",
    "cli-mono",
    "gnustep",
    "hamradio",
    "electronics",
];

/// The rules that need only the name.
pub(crate) fn name_exclusion(kind: KeyKind, name: &str) -> Option<Exclusion> {
    let lower = name.to_ascii_lowercase();
    match kind {
        KeyKind::Program => {
            if NOT_CODE.iter().any(|ext| name.ends_with(ext)) {
                Some(Exclusion::NotCode)
            } else if name.len() < 3 {
                Some(Exclusion::Short)
            } else if CROSS.iter().any(|triplet| lower.contains(triplet)) {
                Some(Exclusion::CrossTool)
            } else if GENERIC.contains(&lower.as_str()) {
                Some(Exclusion::Generic)
            } else if DEBIAN_PREFIXES.iter().any(|p| lower.starts_with(p))
                || lower.ends_with("-debian")
            {
                Some(Exclusion::DebianSpecific)
            } else {
                None
            }
        }
        KeyKind::Module => {
            let stem = name.strip_suffix(".so").unwrap_or(name);
            name_exclusion(KeyKind::Program, stem)
        }
        KeyKind::Library => {
            let stem = lower.strip_prefix("lib").unwrap_or(&lower);
            if stem.len() < 2 {
                Some(Exclusion::Short)
            } else if CROSS.iter().any(|triplet| lower.contains(triplet)) {
                Some(Exclusion::CrossTool)
            } else if DEBIAN_PREFIXES
                .iter()
                .any(|p| stem.starts_with(p.trim_end_matches(['-', '_'])))
            {
                Some(Exclusion::DebianSpecific)
            } else {
                None
            }
        }
    }
}

/// True when a Debian version has no Debian revision: the source is Debian's own (native).
pub(crate) fn is_native(version: &str) -> bool {
    let without_epoch = version.split_once(':').map_or(version, |(_, rest)| rest);
    !without_epoch.contains('-')
}

/// Suffixes Debian adds to a source name that are not the project's.
const DEBIAN_SUFFIXES: &[&str] = &[
    "-opensource-src",
    "-everywhere-src",
    "-src",
    "-dfsg",
    "-nonfree",
    "-non-free",
    "-debian",
    "-defaults",
    "-toolchain",
    // Debian builds cross toolchains as sources of their own (`gcc-12-cross-ports`).
    "-cross",
    "-ports",
    "-mipsen",
];

/// The upstream project name of a Debian source package, by spelling alone: lower case, without
/// Debian's suffixes (`qtbase-opensource-src` -> `qtbase`, `gcc-defaults` -> `gcc`) and without
/// a version Debian puts in the name to ship several at once (`gcc-12` -> `gcc`,
/// `glib2.0` -> `glib`, `lua5.3` -> `lua`, `libtasn1-6` -> `libtasn1`), as long as three
/// characters remain (`db5.3` stays). A number glued to the name (`libxml2`, `bzip2`, `lz4`) is
/// the project's own and stays; [`Projects`] drops it only when another source is named without
/// it.
pub(crate) fn upstream_name(source: &str) -> String {
    let mut name = source.to_ascii_lowercase();
    loop {
        let before = name.len();
        for suffix in DEBIAN_SUFFIXES {
            if let Some(stem) = name.strip_suffix(suffix)
                && stem.len() >= 3
            {
                name.truncate(stem.len());
            }
        }
        // `-12`, `-1.0`: a version after a hyphen.
        if let Some((stem, tail)) = name.rsplit_once('-')
            && is_version(tail)
            && stem.len() >= 3
        {
            name.truncate(stem.len());
        }
        // `2.0`, `5.3`, `3.11` glued to letters: a version with a dot.
        let digits_start = name
            .rfind(|c: char| !(c.is_ascii_digit() || c == '.'))
            .map_or(0, |idx| idx + 1);
        let tail = &name[digits_start..];
        if tail.contains('.')
            && is_version(tail)
            && digits_start >= 3
            && name[..digits_start].ends_with(|c: char| c.is_ascii_alphabetic() || c == '+')
        {
            name.truncate(digits_start);
        }
        if name.len() == before {
            return name;
        }
    }
}

/// `12`, `1.0`, `3.11`.
fn is_version(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with('.')
        && !text.ends_with('.')
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.bytes().any(|b| b.is_ascii_digit())
}

/// The site a home page names: the host without `www.`, plus the project's part of the path on
/// hosts that serve many projects (`github.com/owner/repo`, `gnu.org/software/bash`).
pub(crate) fn site_key(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.to_ascii_lowercase();
    let host = host.split(':').next().unwrap_or(&host);
    let host = host.strip_prefix("www.").unwrap_or(host);
    if host.is_empty() || !host.contains('.') {
        return None;
    }
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches(".git").to_ascii_lowercase())
        .collect();
    let take = match host {
        "github.com"
        | "gitlab.com"
        | "bitbucket.org"
        | "codeberg.org"
        | "salsa.debian.org"
        | "gitlab.freedesktop.org"
        | "gitlab.gnome.org"
        | "invent.kde.org"
        | "git.sr.ht"
        | "sourceforge.net"
        | "savannah.gnu.org"
        | "savannah.nongnu.org"
        | "gnu.org"
        | "pagure.io"
        | "code.google.com" => 2,
        "launchpad.net" | "nongnu.org" | "pypi.org" | "crates.io" | "metacpan.org" => 1,
        _ => 0,
    };
    if segments.len() < take {
        return (take == 0).then(|| host.to_owned());
    }
    let mut key = host.to_owned();
    for segment in &segments[..take] {
        key.push('/');
        key.push_str(segment);
    }
    Some(key)
}

/// A signature's identity, as the recipe reuses it (one identity per product).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SignatureIdentity {
    pub(crate) name: String,
    pub(crate) library: bool,
    pub(crate) cpe: Option<String>,
    pub(crate) purl: Option<String>,
    pub(crate) packages: Vec<String>,
}

/// What the archive says about one source package, over every suite read.
#[derive(Debug, Clone, Default)]
pub(crate) struct SourceInfo {
    pub(crate) homepage: Option<String>,
    /// False once any suite shows a Debian revision.
    pub(crate) native: bool,
    pub(crate) seen: bool,
    pub(crate) binaries: BTreeSet<String>,
}

/// A binary package that ships a name, its source, and whether the file is public (see
/// [`classify_with_place`]).
pub(crate) type Owner = (String, String, bool);

/// Every name and who ships it, gathered suite by suite, then resolved into the index.
#[derive(Default)]
pub(crate) struct Collector {
    pub(crate) sources: BTreeMap<String, SourceInfo>,
    /// Binary package to its sections (over suites).
    pub(crate) sections: HashMap<String, BTreeSet<String>>,
    /// (kind, name) to the (binary package, source, public) triples that ship it.
    pub(crate) names: HashMap<(KeyKind, String), BTreeSet<Owner>>,
}

/// A binary package's facts from one suite's `Packages` files.
pub(crate) struct BinaryFacts<'a> {
    pub(crate) source: &'a str,
    pub(crate) source_version: &'a str,
    pub(crate) section: &'a str,
    pub(crate) homepage: Option<&'a str>,
}

impl Collector {
    /// Records that `package` (described by `facts`) ships `path`.
    pub(crate) fn add(&mut self, path: &str, package: &str, facts: &BinaryFacts<'_>) {
        let Some((kind, name, public)) = classify_with_place(path) else {
            return;
        };
        self.names
            .entry((kind, name.to_owned()))
            .or_default()
            .insert((package.to_owned(), facts.source.to_owned(), public));
        self.note_package(package, facts);
    }

    /// Records a binary package's source, section and home page.
    pub(crate) fn note_package(&mut self, package: &str, facts: &BinaryFacts<'_>) {
        let source = self.sources.entry(facts.source.to_owned()).or_default();
        if !source.seen {
            source.seen = true;
            source.native = true;
        }
        source.native &= is_native(facts.source_version);
        if source.homepage.is_none() {
            source.homepage = facts.homepage.map(str::to_owned);
        }
        if !source.binaries.contains(package) {
            source.binaries.insert(package.to_owned());
        }
        let sections = self.sections.entry(package.to_owned()).or_default();
        if !sections.contains(facts.section) {
            sections.insert(facts.section.to_owned());
        }
    }
}

/// One upstream project of the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Project {
    pub(crate) name: String,
    pub(crate) library: bool,
    /// `vendor:product`, only from a signature or an NVD record.
    pub(crate) cpe: Option<String>,
    pub(crate) purl: String,
}

/// The index: projects sorted by name, and (key, project index) sorted by key.
#[derive(Debug, Default)]
pub(crate) struct Index {
    pub(crate) projects: Vec<Project>,
    /// (key, project number, only in a public library folder).
    pub(crate) names: Vec<(String, usize, bool)>,
    /// How many names each rule left out.
    pub(crate) excluded: BTreeMap<Exclusion, usize>,
    /// Examples of collisions, for the README: (key, projects).
    pub(crate) collision_examples: Vec<(String, Vec<String>)>,
}

/// How sources map to projects.
pub(crate) struct Projects<'a> {
    signatures: &'a [SignatureIdentity],
    by_package: HashMap<&'a str, usize>,
    /// Source name to project name.
    names: HashMap<String, String>,
}

impl<'a> Projects<'a> {
    /// Names every source: a signature that lists the binary package (or the source) wins;
    /// otherwise [`upstream_name`], without a number glued to its end when the shorter name is a
    /// project too (`python3` is `python`). Two sources with the same home page are not merged:
    /// `apr-util` shares `apr.apache.org` with `apr` and is a project with its own releases.
    pub(crate) fn new(collector: &Collector, signatures: &'a [SignatureIdentity]) -> Self {
        let mut by_package = HashMap::new();
        for (idx, signature) in signatures.iter().enumerate() {
            for package in &signature.packages {
                by_package.entry(package.as_str()).or_insert(idx);
            }
        }
        let mut names: HashMap<String, String> = collector
            .sources
            .keys()
            .map(|source| (source.clone(), upstream_name(source)))
            .collect();
        let projects: BTreeSet<String> = names.values().cloned().collect();
        for project in names.values_mut() {
            let stem = project.trim_end_matches(|c: char| c.is_ascii_digit());
            if stem.len() >= 3
                && stem.len() < project.len()
                && stem.ends_with(|c: char| c.is_ascii_alphabetic())
                && projects.contains(stem)
            {
                *project = stem.to_owned();
            }
        }
        Self {
            signatures,
            by_package,
            names,
        }
    }

    /// The signature that names a binary package of `source`, or `source` itself.
    fn signature_of(&self, package: &str, source: &str, collector: &Collector) -> Option<usize> {
        if let Some(idx) = self.by_package.get(package) {
            return Some(*idx);
        }
        if let Some(idx) = self.by_package.get(source) {
            return Some(*idx);
        }
        // A source none of whose listed binaries disagree: `curl`'s `libcurl3-gnutls` is curl's
        // because `libcurl4` is listed.
        let listed: BTreeSet<usize> = collector
            .sources
            .get(source)
            .map(|info| {
                info.binaries
                    .iter()
                    .filter_map(|binary| self.by_package.get(binary.as_str()).copied())
                    .collect()
            })
            .unwrap_or_default();
        if listed.len() == 1 {
            return listed.into_iter().next();
        }
        let name = self.names.get(source)?;
        self.signatures.iter().position(|s| s.name == *name)
    }

    /// The project name of one (binary package, source) pair, and the signature behind it.
    pub(crate) fn project(
        &self,
        package: &str,
        source: &str,
        collector: &Collector,
    ) -> (String, Option<&'a SignatureIdentity>) {
        if let Some(idx) = self.signature_of(package, source, collector)
            && let Some(signature) = self.signatures.get(idx)
        {
            return (signature.name.clone(), Some(signature));
        }
        let name = self
            .names
            .get(source)
            .cloned()
            .unwrap_or_else(|| upstream_name(source));
        (name, None)
    }
}

/// CPEs that NVD gives: `vendor:product` with the sites its records' references point to.
#[derive(Debug, Default)]
pub(crate) struct NvdCpes {
    pub(crate) sites: BTreeMap<String, BTreeSet<String>>,
}

impl NvdCpes {
    /// The one CPE whose product is `project` (punctuation aside) and whose records cite the
    /// project's home page; none when there is no such CPE or more than one.
    pub(crate) fn lookup(&self, project: &str, homepage: Option<&str>) -> Option<String> {
        let site = homepage.and_then(site_key)?;
        let want = loose(project);
        let hits: Vec<&String> = self
            .sites
            .iter()
            .filter(|(cpe, sites)| {
                cpe.split_once(':')
                    .is_some_and(|(_, product)| loose(product) == want)
                    && sites.contains(&site)
            })
            .map(|(cpe, _)| cpe)
            .collect();
        match hits.as_slice() {
            [one] => Some((*one).clone()),
            _ => None,
        }
    }
}

/// Lower case, letters and digits only.
fn loose(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Resolves every collected name into the index.
pub(crate) fn build(
    collector: &Collector,
    signatures: &[SignatureIdentity],
    nvd: &NvdCpes,
) -> Index {
    let projects = Projects::new(collector, signatures);
    let mut index = Index::default();
    // Project name -> (library-only so far, signature, a home page).
    let mut chosen: BTreeMap<String, (bool, Option<&SignatureIdentity>, Option<&str>)> =
        BTreeMap::new();
    let mut kept: Vec<(String, String, bool)> = Vec::new();
    let mut keys: Vec<&(KeyKind, String)> = collector.names.keys().collect();
    keys.sort();
    for key in keys {
        let (kind, name) = key;
        // A library the linker finds by name belongs to whoever ships it in a public folder; a
        // program's private plug-in of the same name (gforth's `libffi.so`) is no rival.
        let all = &collector.names[key];
        let public: Vec<(&str, &str)> = all
            .iter()
            .filter(|(_, _, public)| *public)
            .map(|(package, source, _)| (package.as_str(), source.as_str()))
            .collect();
        let private: Vec<(&str, &str)> = all
            .iter()
            .filter(|(_, _, public)| !*public)
            .map(|(package, source, _)| (package.as_str(), source.as_str()))
            .collect();
        let owners: Vec<(&str, &str)> = if public.is_empty() {
            private.clone()
        } else {
            public
        };
        if let Some(reason) = name_exclusion(*kind, name) {
            *index.excluded.entry(reason).or_default() += 1;
            continue;
        }
        let mut names: BTreeMap<String, Option<&SignatureIdentity>> = BTreeMap::new();
        for (package, source) in &owners {
            let (project, signature) = projects.project(package, source, collector);
            names.entry(project).or_insert(signature);
        }
        if names.len() > 1 {
            *index.excluded.entry(Exclusion::Collision).or_default() += 1;
            if index.collision_examples.len() < 4000 {
                index
                    .collision_examples
                    .push((key_text(*kind, name), names.keys().cloned().collect()));
            }
            continue;
        }
        let Some((project, signature)) = names.into_iter().next() else {
            continue;
        };
        // Another project's private plug-in of the same name: detection must then see the file
        // in a public library folder.
        let public_only = owners.len() < all.len()
            && private
                .iter()
                .any(|(package, source)| projects.project(package, source, collector).0 != project);
        let native = owners.iter().all(|(_, source)| {
            collector
                .sources
                .get(*source)
                .is_some_and(|info| info.native)
        });
        if native && signature.is_none() {
            *index.excluded.entry(Exclusion::DebianSpecific).or_default() += 1;
            continue;
        }
        let off_topic = owners.iter().all(|(package, _)| {
            collector.sections.get(*package).is_some_and(|sections| {
                sections
                    .iter()
                    .all(|section| OFF_TOPIC_SECTIONS.contains(&section.as_str()))
            })
        });
        if off_topic && signature.is_none() {
            *index.excluded.entry(Exclusion::OffTopic).or_default() += 1;
            continue;
        }
        let homepage = owners.iter().find_map(|(_, source)| {
            collector
                .sources
                .get(*source)
                .and_then(|info| info.homepage.as_deref())
        });
        let entry = chosen
            .entry(project.clone())
            .or_insert((true, signature, homepage));
        entry.0 &= *kind == KeyKind::Library;
        if entry.2.is_none() {
            entry.2 = homepage;
        }
        kept.push((key_text(*kind, name), project, public_only));
    }
    let mut ids = HashMap::new();
    for (name, (library, signature, homepage)) in chosen {
        ids.insert(name.clone(), index.projects.len());
        let project = match signature {
            Some(signature) => Project {
                library: signature.library,
                cpe: signature.cpe.clone(),
                purl: signature
                    .purl
                    .clone()
                    .unwrap_or_else(|| format!("pkg:generic/{}", signature.name)),
                name,
            },
            None => Project {
                library,
                cpe: nvd.lookup(&name, homepage),
                purl: format!("pkg:generic/{name}"),
                name,
            },
        };
        index.projects.push(project);
    }
    index.names = kept
        .into_iter()
        .filter_map(|(key, project, public_only)| Some((key, *ids.get(&project)?, public_only)))
        .collect();
    index.names.sort();
    index.names.dedup_by(|a, b| a.0 == b.0);
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(path: &str) -> Option<(KeyKind, &str)> {
        classify_with_place(path).map(|(kind, name, _)| (kind, name))
    }

    #[test]
    fn paths_that_give_names() {
        assert_eq!(
            classify("usr/sbin/dnsmasq"),
            Some((KeyKind::Program, "dnsmasq"))
        );
        assert_eq!(classify("bin/busybox"), Some((KeyKind::Program, "busybox")));
        assert_eq!(
            classify("usr/libexec/bluetooth/bluetoothd"),
            Some((KeyKind::Program, "bluetoothd"))
        );
        assert_eq!(
            classify("usr/lib/x86_64-linux-gnu/libnl-3.so.200.26.0"),
            Some((KeyKind::Library, "libnl-3"))
        );
        assert_eq!(
            classify("lib/arm-linux-gnueabihf/libz.so.1"),
            Some((KeyKind::Library, "libz"))
        );
        assert_eq!(
            classify("usr/lib/x86_64-linux-gnu/samba/libsmbd-base-samba4.so.0"),
            Some((KeyKind::Library, "libsmbd-base-samba4"))
        );
        assert_eq!(
            classify("usr/lib/nginx/modules/ngx_http_memc_module.so"),
            Some((KeyKind::Module, "ngx_http_memc_module.so"))
        );
        assert_eq!(
            classify("usr/lib/x86_64-linux-gnu/gconv/UTF-16.so"),
            Some((KeyKind::Module, "UTF-16.so"))
        );
        for nothing in [
            "usr/share/doc/dnsmasq/copyright",
            "usr/bin/",
            "usr/libexec/installed-tests/glib/cache",
            "usr/libexec/a/b/c",
            "usr/lib/x86_64-linux-gnu/libfoo.a",
            "usr/lib/x86_64-linux-gnu/libfoo.so.1.2rc",
            "usr/lib/python3/dist-packages/_foo.so",
            "usr/lib/debug/.build-id/ab/cdef.debug",
            "usr/bin/[",
            "usr/lib/openssh/sftp-server",
        ] {
            assert_eq!(classify(nothing), None, "{nothing}");
        }
    }

    #[test]
    fn names_left_out_by_their_spelling() {
        let program = |name| name_exclusion(KeyKind::Program, name);
        assert_eq!(program("ip"), Some(Exclusion::Short));
        assert_eq!(program("httpd"), Some(Exclusion::Generic));
        assert_eq!(program("init"), Some(Exclusion::Generic));
        for generic in ["test", "run", "server", "daemon"] {
            assert_eq!(program(generic), Some(Exclusion::Generic), "{generic}");
        }
        assert_eq!(program("mkinitramfs.sh"), Some(Exclusion::NotCode));
        assert_eq!(
            program("arm-linux-gnueabihf-gcc-12"),
            Some(Exclusion::CrossTool)
        );
        assert_eq!(
            program("update-alternatives"),
            Some(Exclusion::DebianSpecific)
        );
        assert_eq!(program("dpkg-deb"), Some(Exclusion::DebianSpecific));
        assert_eq!(program("dnsmasq"), None);
        let module = |name| name_exclusion(KeyKind::Module, name);
        assert_eq!(
            module("_ssl.cpython-311-x86_64-linux-gnu.so"),
            Some(Exclusion::CrossTool)
        );
        assert_eq!(module("test.so"), Some(Exclusion::Generic));
        assert_eq!(module("mod_python.so"), None);
        assert_eq!(program("wpa_supplicant"), None);
        assert_eq!(
            name_exclusion(KeyKind::Library, "libz"),
            Some(Exclusion::Short)
        );
        assert_eq!(name_exclusion(KeyKind::Library, "libpq"), None);
        assert_eq!(
            name_exclusion(KeyKind::Library, "libdpkg"),
            Some(Exclusion::DebianSpecific)
        );
        assert_eq!(name_exclusion(KeyKind::Library, "libnl-3"), None);
    }

    #[test]
    fn upstream_names_of_debian_sources() {
        for (source, upstream) in [
            ("gcc-12", "gcc"),
            ("glib2.0", "glib"),
            ("lua5.3", "lua"),
            ("python3.11", "python"),
            ("libtasn1-6", "libtasn1"),
            ("qtbase-opensource-src", "qtbase"),
            ("gcc-defaults", "gcc"),
            ("llvm-toolchain-15", "llvm"),
            ("gtk+3.0", "gtk+"),
            ("libpng1.6", "libpng"),
            ("libusb-1.0", "libusb"),
            ("db5.3", "db5.3"),
            ("libxml2", "libxml2"),
            ("bzip2", "bzip2"),
            ("lz4", "lz4"),
            ("iproute2", "iproute2"),
            ("ntfs-3g", "ntfs-3g"),
            ("e2fsprogs", "e2fsprogs"),
            ("Dnsmasq", "dnsmasq"),
            ("gcc-12-cross-ports", "gcc"),
            ("binutils-mipsen", "binutils"),
        ] {
            assert_eq!(upstream_name(source), upstream, "{source}");
        }
    }

    #[test]
    fn native_versions() {
        assert!(is_native("1.21.22"));
        assert!(is_native("2:1.0"));
        assert!(!is_native("2.90-4~deb12u1"));
        assert!(!is_native("1:1.2.13.dfsg-1"));
    }

    #[test]
    fn sites_of_home_pages() {
        assert_eq!(
            site_key("https://www.openssl.org/").as_deref(),
            Some("openssl.org")
        );
        assert_eq!(
            site_key("https://github.com/json-c/json-c/wiki").as_deref(),
            Some("github.com/json-c/json-c")
        );
        assert_eq!(
            site_key("http://www.gnu.org/software/bash/").as_deref(),
            Some("gnu.org/software/bash")
        );
        assert_eq!(site_key("https://github.com/").as_deref(), None);
        assert_eq!(site_key("not a url"), None);
    }

    fn facts<'a>(source: &'a str, version: &'a str, section: &'a str) -> BinaryFacts<'a> {
        BinaryFacts {
            source,
            source_version: version,
            section,
            homepage: None,
        }
    }

    /// The collision rule, with the issue's own examples: a name two projects ship is left out;
    /// a name two binary packages of one project ship is kept.
    #[test]
    fn collisions_are_left_out() {
        let mut collector = Collector::default();
        collector.add(
            "sbin/init",
            "systemd-sysv",
            &facts("systemd", "252-1", "admin"),
        );
        collector.add(
            "sbin/init",
            "sysvinit-core",
            &facts("sysvinit", "3.06-4", "admin"),
        );
        collector.add(
            "sbin/telinit",
            "systemd-sysv",
            &facts("systemd", "252-1", "admin"),
        );
        collector.add(
            "sbin/telinit",
            "sysvinit-core",
            &facts("sysvinit", "3.06-4", "admin"),
        );
        collector.add(
            "usr/sbin/apache2",
            "apache2-bin",
            &facts("apache2", "2.4.62-1", "httpd"),
        );
        collector.add(
            "usr/bin/htpasswd",
            "apache2-utils",
            &facts("apache2", "2.4.62-1", "httpd"),
        );
        collector.add(
            "usr/bin/htpasswd",
            "merecat",
            &facts("merecat", "2.31+git-1", "httpd"),
        );
        collector.add(
            "usr/bin/xz",
            "xz-utils",
            &facts("xz-utils", "5.4.1-1", "utils"),
        );
        collector.add(
            "usr/bin/xzcat",
            "xz-utils",
            &facts("xz-utils", "5.4.1-1", "utils"),
        );
        collector.add(
            "usr/bin/unxz",
            "xz-utils",
            &facts("xz-utils", "5.4.1-1", "utils"),
        );
        collector.add(
            "lib/x86_64-linux-gnu/liblzma.so.5.4.1",
            "liblzma5",
            &facts("xz-utils", "5.4.1-1", "libs"),
        );
        // One project under two source names (`gcc-12`, `gcc-13`) is no collision.
        collector.add(
            "usr/bin/gcov-dump",
            "gcc-12",
            &facts("gcc-12", "12.2.0-14", "devel"),
        );
        collector.add(
            "usr/bin/gcov-dump",
            "gcc-13",
            &facts("gcc-13", "13.2.0-1", "devel"),
        );
        // Debian's own tools.
        collector.add(
            "usr/bin/run-parts",
            "debianutils",
            &facts("debianutils", "5.7", "utils"),
        );
        // Off topic.
        collector.add(
            "usr/bin/xboard",
            "xboard",
            &facts("xboard", "4.9-1", "games"),
        );
        let signatures = vec![SignatureIdentity {
            name: "xz".to_owned(),
            library: false,
            cpe: Some("tukaani:xz".to_owned()),
            purl: Some("pkg:generic/xz".to_owned()),
            packages: vec!["xz-utils".to_owned(), "liblzma5".to_owned()],
        }];
        let index = build(&collector, &signatures, &NvdCpes::default());
        let names: Vec<(&str, &str)> = index
            .names
            .iter()
            .map(|(key, id, _)| (key.as_str(), index.projects[*id].name.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("apache2", "apache2"),
                ("gcov-dump", "gcc"),
                ("liblzma.so", "xz"),
                ("unxz", "xz"),
                ("xzcat", "xz")
            ]
        );
        assert_eq!(
            index.excluded[&Exclusion::Collision],
            2,
            "telinit, htpasswd"
        );
        assert_eq!(index.excluded[&Exclusion::Generic], 1, "init");
        assert_eq!(index.excluded[&Exclusion::Short], 1, "xz");
        assert_eq!(index.excluded[&Exclusion::DebianSpecific], 1, "run-parts");
        assert_eq!(index.excluded[&Exclusion::OffTopic], 1, "xboard");
        let xz = index.projects.iter().find(|p| p.name == "xz").unwrap();
        assert_eq!(xz.cpe.as_deref(), Some("tukaani:xz"));
        let apache = index.projects.iter().find(|p| p.name == "apache2").unwrap();
        assert_eq!(
            (apache.cpe.as_deref(), apache.purl.as_str()),
            (None, "pkg:generic/apache2")
        );
    }

    /// A program's private plug-in does not collide with the system library of the same name.
    #[test]
    fn private_plugins_are_no_rivals() {
        let mut collector = Collector::default();
        collector.add(
            "usr/lib/x86_64-linux-gnu/libffi.so.8.1.2",
            "libffi8",
            &facts("libffi", "3.4.4-1", "libs"),
        );
        collector.add(
            "usr/lib/x86_64-linux-gnu/gforth/0.7.3/libcc-named/libffi.so",
            "gforth-lib",
            &facts("gforth", "0.7.3+dfsg-9", "interpreters"),
        );
        collector.add(
            "usr/lib/camitk-5.0/actions/libedit.so",
            "camitk-actions",
            &facts("camitk", "5.0.2-1", "science"),
        );
        let index = build(&collector, &[], &NvdCpes::default());
        let names: Vec<(&str, &str)> = index
            .names
            .iter()
            .map(|(key, id, _)| (key.as_str(), index.projects[*id].name.as_str()))
            .collect();
        assert_eq!(names, [("libffi.so", "libffi")]);
        assert!(
            index.names[0].2,
            "gforth's plug-in: libffi counts only in a public folder"
        );
        assert_eq!(index.excluded[&Exclusion::OffTopic], 1, "camitk's plug-in");
        assert_eq!(
            classify_with_place("lib/libc.so.6"),
            Some((KeyKind::Library, "libc", true))
        );
    }

    /// Cross-compiler sources are the compiler; a project that only shares a prefix (and not its
    /// releases) stays itself.
    #[test]
    fn suffixed_sources_join_their_project() {
        let mut collector = Collector::default();
        let gcc = BinaryFacts {
            source: "gcc-12",
            source_version: "12.2.0-14",
            section: "devel",
            homepage: Some("http://gcc.gnu.org/"),
        };
        let cross = BinaryFacts {
            source: "gcc-12-cross",
            source_version: "3",
            section: "devel",
            homepage: Some("http://gcc.gnu.org/"),
        };
        let other = BinaryFacts {
            source: "gcc-python-plugin",
            source_version: "0.17-1",
            section: "devel",
            homepage: Some("https://github.com/davidmalcolm/gcc-python-plugin"),
        };
        collector.add("usr/lib/x86_64-linux-gnu/libgomp.so.1", "libgomp1", &gcc);
        collector.add(
            "usr/lib/x86_64-linux-gnu/libgomp.so.1",
            "libgomp1-arm64-cross",
            &cross,
        );
        collector.add("usr/bin/gcc-with-python3", "gcc-python3-plugin", &other);
        let apr = BinaryFacts {
            source: "apr",
            source_version: "1.7.2-3",
            section: "libs",
            homepage: Some("https://apr.apache.org/"),
        };
        let apr_util = BinaryFacts {
            source: "apr-util",
            source_version: "1.6.3-1",
            section: "libs",
            homepage: Some("https://apr.apache.org/"),
        };
        collector.add("usr/lib/x86_64-linux-gnu/libapr-1.so.0", "libapr1", &apr);
        collector.add(
            "usr/lib/x86_64-linux-gnu/libaprutil-1.so.0",
            "libaprutil1",
            &apr_util,
        );
        let index = build(&collector, &[], &NvdCpes::default());
        let names: Vec<(&str, &str)> = index
            .names
            .iter()
            .map(|(key, id, _)| (key.as_str(), index.projects[*id].name.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("gcc-with-python3", "gcc-python-plugin"),
                ("libapr-1.so", "apr"),
                ("libaprutil-1.so", "apr-util"),
                ("libgomp.so", "gcc")
            ]
        );
    }

    #[test]
    fn nvd_cpes_need_the_name_and_the_site() {
        let mut nvd = NvdCpes::default();
        nvd.sites.insert(
            "json-c_project:json-c".to_owned(),
            ["github.com/json-c/json-c".to_owned()].into(),
        );
        nvd.sites
            .insert("other:json-c".to_owned(), ["example.org".to_owned()].into());
        assert_eq!(
            nvd.lookup("json-c", Some("https://github.com/json-c/json-c"))
                .as_deref(),
            Some("json-c_project:json-c")
        );
        assert_eq!(nvd.lookup("json-c", Some("https://json-c.example/")), None);
        assert_eq!(nvd.lookup("json-c", None), None);
        assert_eq!(
            nvd.lookup("jsonc2", Some("https://github.com/json-c/json-c")),
            None
        );
    }
}
