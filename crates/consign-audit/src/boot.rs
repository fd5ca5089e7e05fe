//! What starts at boot, and what it is given.
//!
//! # What it detects
//!
//! - from `/etc/inittab` (BusyBox and System V forms; BusyBox init's built-in table when there is
//!   none): root shells on a console without a login, login prompts on serial consoles, getty
//!   auto-login;
//! - from the boot scripts that init reaches (`rcS`, scripts it runs, globs such as
//!   `/etc/init.d/S??*` expanded over the image, `/etc/rc.d/S*`, `/etc/rc?.d/S*`, `rc.local`),
//!   `OpenWrt` `procd_set_param command`, `start-stop-daemon`, enabled systemd units (`ExecStart`
//!   of the units linked from `/etc/systemd/system/*.wants`), `inetd.conf` and `xinetd.d`:
//!   telnet, FTP and TFTP servers, `adbd`, SSH servers, shells offered on the network (`telnetd -l
//!   /bin/sh`, `nc -e /bin/sh`);
//! - credentials given on the command line: `telnetd -u user:pass`, `httpd -A user:pass`,
//!   `echo user:pass | chpasswd`, `passwd` fed from a pipe, `useradd`/`usermod -p HASH`; a password
//!   held in a variable is followed to a literal or to a file of the image (``x=`cat /etc/x` ``);
//! - passwords in configuration files under `/etc` (`password=...`, `wpa_passphrase=...`).
//!
//! # Evidence
//!
//! The file and line of the command, as written, with any literal secret redacted (a published
//! default password is named).
//!
//! # Limits
//!
//! See `shell`: conditions are not evaluated (a daemon started under an `if` counts as started),
//! functions are not followed, commands built at run time are not seen. A script in `/etc/init.d`
//! that nothing reaches is not read. Systemd units are read only when enabled by a `.wants` link.

use std::collections::{BTreeSet, HashSet, VecDeque};

use crate::accounts::{DEFAULTS, describe_source};
use crate::finding::{Finding, Rule, Severity};
use crate::shell::{self, Value};
use crate::text::{self, basename};
use crate::tree::{FileSystem, normalise};
use crate::{Context, Sink};

/// A command that runs at boot.
#[derive(Clone, Debug)]
pub(crate) struct Started {
    /// The file that runs it, inside its file system.
    pub(crate) file: String,
    /// That file's logical path.
    pub(crate) logical: String,
    /// The line, from 1.
    pub(crate) line: u32,
    /// The words, variables resolved where they hold literals.
    pub(crate) words: Vec<String>,
    /// The line as written.
    pub(crate) source: String,
}

/// What boots.
#[derive(Debug, Default)]
pub(crate) struct Booted {
    /// Every command found, in the order read.
    pub(crate) commands: Vec<Started>,
}

fn has_extension(path: &str, extension: &str) -> bool {
    std::path::Path::new(path)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case(extension))
}

const SHELLS: &[&str] = &[
    "sh", "ash", "bash", "hush", "msh", "ksh", "zsh", "dash", "mksh",
];

fn is_shell(word: &str) -> bool {
    SHELLS.contains(&basename(word.trim_start_matches('-')))
}

fn is_serial(tty: &str) -> bool {
    let tty = tty.trim_start_matches("/dev/");
    tty == "console"
        || [
            "ttyS", "ttyAMA", "ttyO", "ttyMSM", "ttymxc", "ttyUSB", "ttyPS", "ttySAC", "ttyHS",
            "ttyTHS", "ttyLP", "ttyFIQ", "ttySC", "ttyAS", "ttyATH", "ttyMT", "hvc", "ttyGS",
        ]
        .iter()
        .any(|prefix| tty.starts_with(prefix))
}

/// `*` and `?` against one path component.
fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.split_first(), name.split_first()) {
        (None, None) => true,
        (Some((b'*', rest)), _) => {
            glob_match(rest, name)
                || name
                    .split_first()
                    .is_some_and(|(_, n)| glob_match(pattern, n))
        }
        (Some((b'?', rest)), Some((_, n))) => glob_match(rest, n),
        (Some((p, rest)), Some((c, n))) if p == c => glob_match(rest, n),
        _ => false,
    }
}

/// The entries of `fs` that an absolute glob (`/etc/init.d/S??*`) names; only the last component
/// may hold wildcards.
fn expand(fs: &FileSystem<'_>, pattern: &str) -> Vec<String> {
    let Some((folder, name)) = pattern.rsplit_once('/') else {
        return Vec::new();
    };
    if folder.contains(['*', '?']) || name.len() > 64 {
        return Vec::new();
    }
    fs.under(folder)
        .filter_map(|(path, _)| {
            let rest = path.strip_prefix(&format!("{folder}/"))?;
            (!rest.contains('/') && glob_match(name.as_bytes(), rest.as_bytes()))
                .then(|| path.clone())
        })
        .collect()
}

struct Reader<'f, 'v, 'c> {
    fs: &'f FileSystem<'v>,
    context: &'c Context<'c>,
    queue: VecDeque<String>,
    seen: HashSet<String>,
    booted: Booted,
}

impl Reader<'_, '_, '_> {
    fn enqueue(&mut self, path: &str) {
        let Some((resolved, _)) = self.fs.resolve(path) else {
            return;
        };
        if self.seen.len() < self.context.limits.max_scripts && self.seen.insert(resolved.clone()) {
            self.queue.push_back(resolved);
        }
    }

    /// A file is a script to follow when it is text and starts with `#!` or is named `.sh`/`rc*`.
    fn is_script(&self, path: &str) -> bool {
        self.fs.read(path).is_some_and(|(resolved, _, data)| {
            text::is_text(data)
                && (data.starts_with(b"#!")
                    || has_extension(&resolved, "sh")
                    || basename(&resolved).starts_with("rc"))
        })
    }
}

/// Audits how `fs` boots and returns what it starts.
pub(crate) fn audit(fs: &FileSystem<'_>, context: &Context<'_>, sink: &mut Sink) -> Booted {
    let mut reader = Reader {
        fs,
        context,
        queue: VecDeque::new(),
        seen: HashSet::new(),
        booted: Booted::default(),
    };
    inittab(&mut reader, sink);
    for start in ["/etc/rc.local", "/etc/rc.d/rc.local"] {
        if fs.lookup(start).is_some() {
            reader.enqueue(start);
        }
    }
    for pattern in [
        "/etc/rc.d/S*",
        "/etc/rcS.d/S*",
        "/etc/rc2.d/S*",
        "/etc/rc3.d/S*",
        "/etc/rc5.d/S*",
    ] {
        for path in expand(fs, pattern) {
            reader.enqueue(&path);
        }
    }
    while let Some(path) = reader.queue.pop_front() {
        script(&mut reader, &path, sink);
    }
    systemd(&mut reader, sink);
    inetd(&mut reader, sink);
    xinetd(&mut reader, sink);
    config_credentials(fs, context, sink);
    reader.booted
}

fn inittab(reader: &mut Reader<'_, '_, '_>, sink: &mut Sink) {
    let fs = reader.fs;
    let Some((path, node, data)) = fs.read("/etc/inittab") else {
        // BusyBox init without an inittab runs its built-in table.
        let busybox_init = fs
            .lookup("/sbin/init")
            .and_then(|node| match &node.kind {
                consign_model::NodeKind::Symlink { target } => Some(basename(target) == "busybox"),
                _ => None,
            })
            .unwrap_or(false);
        if busybox_init {
            if let Some(node) = fs.lookup("/sbin/init") {
                sink.push(
                    Finding::new(Rule::ConsoleRootShell, Severity::High, &node.path)
                        .file("/sbin/init")
                        .message(
                            "there is no /etc/inittab, so BusyBox init runs its built-in table, which offers a root shell without a login on the console (`::askfirst:-/bin/sh`)",
                        )
                        .evidence("/sbin/init -> busybox; /etc/inittab absent"),
                );
            }
            if fs.lookup("/etc/init.d/rcS").is_some() {
                reader.enqueue("/etc/init.d/rcS");
            }
        }
        return;
    };
    if !text::is_text(data) || data.len() > reader.context.limits.max_text_bytes {
        return;
    }
    for (number, line) in text::lines(data) {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = trimmed.splitn(4, ':').collect();
        let [id, _runlevels, action, process] = fields.as_slice() else {
            continue;
        };
        let words: Vec<String> = process.split_whitespace().map(str::to_owned).collect();
        let Some(program) = words.first() else {
            continue;
        };
        let base = |rule: Rule, severity: Severity| {
            Finding::new(rule, severity, &node.path)
                .file(&path)
                .line(number)
        };
        let interactive = matches!(
            *action,
            "respawn" | "askfirst" | "once" | "wait" | "sysinit"
        );
        if interactive && is_shell(program) && words[1..].iter().all(|w| w.starts_with('-')) {
            let tty = if id.is_empty() { "the console" } else { id };
            let when = if *action == "askfirst" {
                " after Enter is pressed"
            } else {
                ""
            };
            sink.push(
                base(Rule::ConsoleRootShell, Severity::Critical)
                    .message(format!(
                        "init starts a root shell on {tty} without a login{when}: anyone with the serial port has root"
                    ))
                    .evidence(trimmed),
            );
            continue;
        }
        let started = Started {
            file: path.clone(),
            logical: node.path.clone(),
            line: number,
            words: words
                .iter()
                .enumerate()
                .map(|(i, w)| if i == 0 { w.trim_start_matches('-') } else { w }.to_owned())
                .collect(),
            source: trimmed.to_owned(),
        };
        if getty(&started, Some(id), sink) {
            continue;
        }
        check(reader, &started, None, sink);
        let program = program.trim_start_matches('-');
        if program.starts_with('/') && reader.is_script(program) {
            reader.enqueue(program);
        }
        for word in &words[1..] {
            if word.starts_with('/') && reader.is_script(word) {
                reader.enqueue(word);
            }
        }
        reader.booted.commands.push(started);
    }
}

/// Getty and login on a console: auto-login and shells are root shells, others serial prompts.
/// True when the command was one.
fn getty(started: &Started, id: Option<&str>, sink: &mut Sink) -> bool {
    let name = basename(started.words.first().map_or("", String::as_str));
    if !(name.contains("getty") || name == "login") {
        return false;
    }
    let args = &started.words[1..];
    let tty = args
        .iter()
        .find(|a| {
            a.starts_with("tty")
                || a.starts_with("/dev/")
                || *a == "console"
                || a.starts_with("hvc")
        })
        .map(String::as_str)
        .or(id.filter(|id| !id.is_empty()))
        .unwrap_or("console");
    let base = |rule: Rule, severity: Severity| {
        Finding::new(rule, severity, &started.logical)
            .file(&started.file)
            .line(started.line)
            .evidence(started.source.clone())
    };
    let autologin = args.iter().enumerate().find_map(|(i, a)| {
        if a == "-a" || a == "--autologin" {
            args.get(i + 1).cloned()
        } else {
            a.strip_prefix("--autologin=").map(str::to_owned)
        }
    });
    let shell_login = args
        .windows(2)
        .any(|pair| pair[0] == "-l" && is_shell(&pair[1]))
        || args
            .windows(2)
            .any(|pair| pair[0] == "-n" && pair[1] == "-l");
    if let Some(user) = autologin.as_deref().filter(|u| *u == "root") {
        sink.push(
            base(Rule::ConsoleRootShell, Severity::Critical).message(format!(
                "`{name}` logs `{user}` in on {tty} without a password"
            )),
        );
    } else if shell_login && args.windows(2).any(|p| p[0] == "-l" && is_shell(&p[1])) {
        sink.push(
            base(Rule::ConsoleRootShell, Severity::Critical)
                .message(format!("`{name}` runs a shell on {tty} instead of a login")),
        );
    } else if is_serial(tty) {
        sink.push(
            base(Rule::SerialConsole, Severity::Low)
                .message(format!("a login prompt on the serial console {tty}")),
        );
    }
    true
}

/// The command a wrapper runs (`busybox telnetd`, `start-stop-daemon --exec X`, `tcpsvd ... ftpd`,
/// `procd_set_param command X`), or the words themselves.
fn unwrap(words: &[String]) -> &[String] {
    let Some(first) = words.first() else {
        return words;
    };
    match basename(first) {
        "busybox" | "tcpd" | "nohup" | "setsid" | "chroot" if words.len() > 1 => {
            let skip = if basename(first) == "chroot" { 2 } else { 1 };
            unwrap(words.get(skip..).unwrap_or_default())
        }
        "procd_set_param" if words.get(1).is_some_and(|w| w == "command") => unwrap(&words[2..]),
        "start-stop-daemon" => {
            let exec = words
                .iter()
                .position(|w| matches!(w.as_str(), "--exec" | "-x" | "--startas" | "-a"));
            match exec {
                Some(index) if index + 1 < words.len() => {
                    let end = words
                        .iter()
                        .position(|w| w == "--")
                        .map_or(index + 2, |end| end.max(index + 2));
                    // The program, then what follows `--`.
                    let _ = end;
                    &words[index + 1..]
                }
                _ => words,
            }
        }
        "tcpsvd" | "udpsvd" | "inetd" => {
            match words
                .iter()
                .skip(1)
                .position(|w| DAEMONS.contains(&basename(w)))
            {
                Some(index) => &words[index + 1..],
                None => words,
            }
        }
        _ => words,
    }
}

const TELNET: &[&str] = &["telnetd", "utelnetd", "in.telnetd", "telnetd.sh"];
const FTP: &[&str] = &[
    "ftpd",
    "vsftpd",
    "proftpd",
    "pure-ftpd",
    "bftpd",
    "in.ftpd",
    "stupid-ftpd",
    "uftpd",
];
const TFTP: &[&str] = &["tftpd", "in.tftpd", "atftpd", "tftpd-hpa"];
const SSH: &[&str] = &["dropbear", "sshd"];
const DAEMONS: &[&str] = &[
    "telnetd",
    "utelnetd",
    "in.telnetd",
    "ftpd",
    "vsftpd",
    "proftpd",
    "pure-ftpd",
    "bftpd",
    "in.ftpd",
    "uftpd",
    "tftpd",
    "in.tftpd",
    "atftpd",
    "dropbear",
    "sshd",
    "adbd",
    "httpd",
];

/// Reads one boot script.
fn script(reader: &mut Reader<'_, '_, '_>, path: &str, sink: &mut Sink) {
    let fs = reader.fs;
    let Some((path, node, data)) = fs.read(path) else {
        return;
    };
    if !text::is_text(data) || data.len() > reader.context.limits.max_text_bytes {
        return;
    }
    let parsed = shell::parse(&String::from_utf8_lossy(data));
    for command in &parsed.commands {
        let words: Vec<String> = command
            .words
            .iter()
            .map(|word| match parsed.value_of(&word.text) {
                Value::Literal(text) => text,
                _ => word.text.clone(),
            })
            .collect();
        // Scripts this one runs: globs, paths, `sh X`, `. X`.
        for word in &words {
            if word.starts_with('/') && word.contains(['*', '?']) {
                for found in expand(fs, word) {
                    if reader.is_script(&found) {
                        reader.enqueue(&found);
                    }
                }
            }
        }
        let target = match words.first().map(String::as_str) {
            Some("." | "source") => words.get(1),
            Some(first) if is_shell(first) => words.get(1),
            first => first.and_then(|_| words.first()),
        };
        if let Some(target) = target
            && target.starts_with('/')
            && !target.contains(['*', '?'])
            && reader.is_script(target)
        {
            reader.enqueue(target);
        }
        let started = Started {
            file: path.clone(),
            logical: node.path.clone(),
            line: command.line,
            words,
            source: command.source.clone(),
        };
        getty(&started, None, sink);
        check(reader, &started, Some((&parsed, command)), sink);
        reader.booted.commands.push(started);
    }
}

/// Looks at one started command for services and credentials.
fn check(
    reader: &Reader<'_, '_, '_>,
    started: &Started,
    script: Option<(&shell::Script, &shell::Command)>,
    sink: &mut Sink,
) {
    let words = unwrap(&started.words);
    let Some(first) = words.first() else { return };
    let name = basename(first);
    let args = &words[1..];
    let base = |rule: Rule, severity: Severity| {
        Finding::new(rule, severity, &started.logical)
            .file(&started.file)
            .line(started.line)
            .evidence(started.source.clone())
    };
    let option = |flag: &str| {
        args.iter().enumerate().find_map(|(i, a)| {
            if a == flag {
                args.get(i + 1).map(String::as_str)
            } else {
                a.strip_prefix(flag)
                    .filter(|v| !v.is_empty() && flag.len() == 2)
            }
        })
    };
    if TELNET.contains(&name) {
        let shell = option("-l").filter(|l| is_shell(l));
        if let Some(shell) = shell {
            sink.push(base(Rule::DebugShell, Severity::Critical).message(format!(
                "`{name}` gives anyone on the network a root shell (`-l {shell}`) without a login"
            )));
        }
        sink.push(base(Rule::Telnet, Severity::High).message(format!(
            "a telnet server (`{name}`) is started at boot: logins and passwords cross the network in clear text"
        )));
        if let Some(credential) = option("-u") {
            credential_pair(reader, started, script, name, "-u", credential, sink);
        }
    } else if FTP.contains(&name) {
        sink.push(base(Rule::Ftp, Severity::Medium).message(format!(
            "an FTP server (`{name}`) is started at boot: logins and files cross the network in clear text"
        )));
    } else if TFTP.contains(&name) {
        sink.push(base(Rule::Tftp, Severity::Medium).message(format!(
            "a TFTP server (`{name}`) is started at boot: files are served without any authentication"
        )));
    } else if name == "adbd" {
        sink.push(base(Rule::Adb, Severity::High).message(
            "the Android debug bridge daemon (`adbd`) is started at boot, a debug interface that gives a shell",
        ));
    } else if SSH.contains(&name) {
        sink.push(
            base(Rule::SshServer, Severity::Info)
                .message(format!("an SSH server (`{name}`) is started at boot")),
        );
    } else if matches!(name, "nc" | "netcat" | "ncat")
        && args
            .iter()
            .any(|a| a == "-l" || a.starts_with("-l") || a == "-ll")
        && (option("-e").is_some_and(is_shell) || option("-c").is_some_and(is_shell))
    {
        sink.push(base(Rule::DebugShell, Severity::Critical).message(format!(
            "`{name}` listens on the network and hands each connection a shell"
        )));
    } else if name == "socat"
        && args
            .iter()
            .any(|a| a.to_ascii_lowercase().contains("listen"))
        && args.iter().any(|a| {
            let lower = a.to_ascii_lowercase();
            (lower.starts_with("exec:") || lower.starts_with("system:"))
                && SHELLS.iter().any(|s| lower.contains(s))
        })
    {
        sink.push(
            base(Rule::DebugShell, Severity::Critical)
                .message("`socat` listens on the network and hands each connection a shell"),
        );
    } else if matches!(
        name,
        "httpd" | "mini_httpd" | "thttpd" | "goahead" | "boa" | "lighttpd"
    ) {
        if let Some(credential) = option("-A") {
            credential_pair(reader, started, script, name, "-A", credential, sink);
        }
    } else if name == "chpasswd" {
        let hashed = args.iter().any(|a| a == "-e" || a == "--encrypted");
        if let Some((_, command)) = script
            && let Some(input) = &command.stdin
        {
            for line in input.lines() {
                if let Some((user, password)) = line.split_once(':') {
                    let value = if hashed {
                        Secret::Hash(password.to_owned())
                    } else {
                        Secret::Literal(password.to_owned())
                    };
                    report_secret(reader, started, name, user, value, sink);
                }
            }
        }
    } else if name == "passwd" {
        if let Some((_, command)) = script
            && let Some(input) = &command.stdin
            && let Some(password) = input.lines().next()
        {
            let user = args
                .iter()
                .find(|a| !a.starts_with('-'))
                .map_or("root", String::as_str);
            report_secret(
                reader,
                started,
                name,
                user,
                Secret::Literal(password.to_owned()),
                sink,
            );
        }
    } else if matches!(name, "useradd" | "usermod" | "adduser")
        && let Some(hash) = option("-p").or_else(|| option("--password"))
    {
        let user = args.last().map_or("?", String::as_str);
        report_secret(
            reader,
            started,
            name,
            user,
            Secret::Hash(hash.to_owned()),
            sink,
        );
    }
}

/// What a credential's secret is.
enum Secret {
    Literal(String),
    Hash(String),
    File(String),
    Unknown(String),
}

/// `user:password` given with `flag`.
fn credential_pair(
    reader: &Reader<'_, '_, '_>,
    started: &Started,
    script: Option<(&shell::Script, &shell::Command)>,
    program: &str,
    flag: &str,
    credential: &str,
    sink: &mut Sink,
) {
    // The word as written, before variables were put in, so `$x` can be followed.
    let written = script
        .and_then(|(_, command)| {
            command.words.iter().map(|w| w.text.as_str()).find(|w| {
                w.contains(':')
                    && (*w == credential
                        || credential.contains(w.split(':').next().unwrap_or_default()))
            })
        })
        .unwrap_or(credential);
    let Some((user, password)) = written.split_once(':') else {
        return;
    };
    let value = match script.map(|(s, _)| s.value_of(password)) {
        Some(Value::Literal(text)) => Secret::Literal(text),
        Some(Value::File(file)) => Secret::File(file),
        Some(Value::Unknown(text)) => Secret::Unknown(text),
        None if password.contains('$') => Secret::Unknown(password.to_owned()),
        None => Secret::Literal(password.to_owned()),
    };
    let _ = flag;
    report_secret(reader, started, program, user, value, sink);
}

fn report_secret(
    reader: &Reader<'_, '_, '_>,
    started: &Started,
    program: &str,
    user: &str,
    secret: Secret,
    sink: &mut Sink,
) {
    let base = |severity: Severity| {
        Finding::new(Rule::CommandLineCredential, severity, &started.logical)
            .file(&started.file)
            .line(started.line)
    };
    let who = format!("`{user}`");
    match secret {
        Secret::Literal(password) => {
            let evidence = text::redact_in(&started.source, &password);
            let (message, fingerprint) = match DEFAULTS.source(&password) {
                Some(source) => (
                    format!(
                        "`{program}` is given user {who} with the published default password `{password}` (listed in {}), the same in every unit",
                        describe_source(source)
                    ),
                    None,
                ),
                None => (
                    format!(
                        "`{program}` is given user {who} with a password written in the boot script, the same in every unit"
                    ),
                    Some(text::secret_digest(password.as_bytes())),
                ),
            };
            let mut finding = base(Severity::Critical).message(message).evidence(evidence);
            if let Some(fingerprint) = fingerprint {
                finding = finding.fingerprint(fingerprint);
            }
            sink.push(finding);
        }
        Secret::Hash(hash) => {
            let evidence = text::redact_in(&started.source, &hash);
            sink.push(
                base(Severity::High)
                    .message(format!(
                        "`{program}` sets a password hash written in the boot script for user {who}: every unit gets the same password"
                    ))
                    .evidence(evidence)
                    .fingerprint(text::secret_digest(hash.as_bytes())),
            );
        }
        Secret::File(file) => match reader.fs.read(&file) {
            Some((resolved, _, data)) => {
                let content = String::from_utf8_lossy(data).trim().to_owned();
                let published = DEFAULTS
                    .source(&content)
                    .map(|source| format!(", a published default listed in {}", describe_source(source)))
                    .unwrap_or_default();
                sink.push(
                    base(Severity::Critical)
                        .message(format!(
                            "`{program}` is given the fixed user {who} with the password read from {resolved}, a file shipped in the image ({}{published}), so every unit built from it has the same credential",
                            text::redacted(&content)
                        ))
                        .evidence(started.source.clone())
                        .fingerprint(text::secret_digest(content.as_bytes())),
                );
            }
            None => sink.push(
                base(Severity::Low)
                    .message(format!(
                        "`{program}` is given the fixed user {who} with a password read from {file}, which is not in the image (made on the device?): check it is unique per unit"
                    ))
                    .evidence(started.source.clone()),
            ),
        },
        Secret::Unknown(text) => sink.push(
            base(Severity::Low)
                .message(format!(
                    "`{program}` is given the fixed user {who} with a password from `{}`, known only at run time: check it is unique per unit",
                    text::clip(&text, 40)
                ))
                .evidence(started.source.clone()),
        ),
    }
}

/// Enabled systemd units.
fn systemd(reader: &mut Reader<'_, '_, '_>, sink: &mut Sink) {
    let fs = reader.fs;
    let mut enabled = BTreeSet::new();
    for (path, _) in fs.under("/etc/systemd/system") {
        if let Some((folder, name)) = path.rsplit_once('/')
            && has_extension(folder, "wants")
        {
            enabled.insert(name.to_owned());
        }
    }
    for unit in enabled {
        let (template, instance) = match unit.split_once('@') {
            Some((head, tail)) => {
                let (instance, suffix) = tail.rsplit_once('.').unwrap_or((tail, "service"));
                (format!("{head}@.{suffix}"), Some(instance.to_owned()))
            }
            None => (unit.clone(), None),
        };
        let file = [
            "/etc/systemd/system",
            "/lib/systemd/system",
            "/usr/lib/systemd/system",
        ]
        .iter()
        .flat_map(|folder| [format!("{folder}/{unit}"), format!("{folder}/{template}")])
        .find_map(|path| fs.read(&path));
        let Some((path, node, data)) = file else {
            continue;
        };
        if !text::is_text(data) || data.len() > reader.context.limits.max_text_bytes {
            continue;
        }
        for (number, line) in text::lines(data) {
            let trimmed = line.trim();
            let Some((key, value)) = trimmed.split_once('=') else {
                continue;
            };
            let key = key.trim();
            if !matches!(key, "ExecStart" | "ExecStartPre" | "ExecStartPost") {
                continue;
            }
            let value = value.trim().trim_start_matches(['-', '@', ':', '+', '!']);
            let words: Vec<String> = value
                .split_whitespace()
                .map(|w| match &instance {
                    Some(instance) => w.replace("%I", instance).replace("%i", instance),
                    None => w.to_owned(),
                })
                .collect();
            let started = Started {
                file: path.clone(),
                logical: node.path.clone(),
                line: number,
                words,
                source: format!("{trimmed} ({unit})"),
            };
            getty(&started, instance.as_deref(), sink);
            check(reader, &started, None, sink);
            reader.booted.commands.push(started);
        }
    }
}

/// `/etc/inetd.conf`: `service socket protocol wait user server arguments...`.
fn inetd(reader: &mut Reader<'_, '_, '_>, sink: &mut Sink) {
    let Some((path, node, data)) = reader.fs.read("/etc/inetd.conf") else {
        return;
    };
    if !text::is_text(data) || data.len() > reader.context.limits.max_text_bytes {
        return;
    }
    for (number, line) in text::lines(data) {
        let trimmed = line.trim();
        if trimmed.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = trimmed.split_whitespace().collect();
        if fields.len() < 6 || fields[5] == "internal" {
            continue;
        }
        let mut words: Vec<String> = vec![fields[5].to_owned()];
        words.extend(fields.iter().skip(7).map(|w| (*w).to_owned()));
        if fields[5].ends_with("tcpd") && fields.len() > 6 {
            words = fields[6..].iter().map(|w| (*w).to_owned()).collect();
        }
        let mut started = Started {
            file: path.clone(),
            logical: node.path.clone(),
            line: number,
            words,
            source: trimmed.to_owned(),
        };
        // A service named telnet/ftp/tftp run by an unfamiliar server name is still that service.
        let service = fields[0];
        let name = basename(&started.words[0]).to_owned();
        if !DAEMONS.contains(&name.as_str()) {
            let alias = match service {
                "telnet" => Some("telnetd"),
                "ftp" => Some("ftpd"),
                "tftp" => Some("tftpd"),
                _ => None,
            };
            if let Some(alias) = alias {
                alias.clone_into(&mut started.words[0]);
            }
        }
        check(reader, &started, None, sink);
        reader.booted.commands.push(started);
    }
}

/// `/etc/xinetd.conf` and `/etc/xinetd.d/*`: services not `disable = yes`.
fn xinetd(reader: &mut Reader<'_, '_, '_>, sink: &mut Sink) {
    let fs = reader.fs;
    let mut files: Vec<String> = fs.under("/etc/xinetd.d").map(|(p, _)| p.clone()).collect();
    files.push("/etc/xinetd.conf".to_owned());
    for file in files {
        let Some((path, node, data)) = fs.read(&file) else {
            continue;
        };
        if !text::is_text(data) || data.len() > reader.context.limits.max_text_bytes {
            continue;
        }
        let mut service: Option<(u32, String)> = None;
        let mut server = String::new();
        let mut server_args = String::new();
        let mut disabled = false;
        for (number, line) in text::lines(data) {
            let trimmed = line.trim();
            if let Some(name) = trimmed.strip_prefix("service ") {
                service = Some((number, name.trim().to_owned()));
                server.clear();
                server_args.clear();
                disabled = false;
            } else if let Some((key, value)) = trimmed.split_once('=') {
                match key.trim() {
                    "server" => value.trim().clone_into(&mut server),
                    "server_args" => value.trim().clone_into(&mut server_args),
                    "disable" => disabled = value.trim() == "yes",
                    _ => {}
                }
            } else if trimmed == "}"
                && let Some((line, name)) = service.take()
                && !disabled
            {
                let mut words = vec![if server.is_empty() {
                    name.clone()
                } else {
                    server.clone()
                }];
                if !DAEMONS.contains(&basename(&words[0])) {
                    match name.as_str() {
                        "telnet" => "telnetd".clone_into(&mut words[0]),
                        "ftp" => "ftpd".clone_into(&mut words[0]),
                        "tftp" => "tftpd".clone_into(&mut words[0]),
                        _ => {}
                    }
                }
                words.extend(server_args.split_whitespace().map(str::to_owned));
                let started = Started {
                    file: path.clone(),
                    logical: node.path.clone(),
                    line,
                    words,
                    source: format!("service {name} (server {server})"),
                };
                check(reader, &started, None, sink);
                reader.booted.commands.push(started);
            }
        }
    }
}

const PASSWORD_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pass",
    "pwd",
    "passphrase",
    "wpa_passphrase",
    "psk",
    "secret",
];
const NOT_PASSWORDS: &[&str] = &[
    "yes",
    "no",
    "true",
    "false",
    "on",
    "off",
    "none",
    "null",
    "required",
    "optional",
    "default",
    "x",
    "*",
    "0",
    "1",
    "without-password",
    "prohibit-password",
    "forced-commands-only",
    "enable",
    "disable",
    "enabled",
    "disabled",
    "auto",
];

/// Passwords written in configuration files under `/etc`.
fn config_credentials(fs: &FileSystem<'_>, context: &Context<'_>, sink: &mut Sink) {
    for (path, node) in fs.under("/etc") {
        let Some(data) = node.data() else { continue };
        let name = basename(path);
        if data.len() > 64 * 1024
            || data.len() > context.limits.max_text_bytes
            || !text::is_text(data)
            || data.starts_with(b"#!")
            || path.starts_with("/etc/init.d/")
            || path.starts_with("/etc/rc")
            || path.starts_with("/etc/ssl/")
            || has_extension(name, "sh")
            || name.ends_with(".sample")
            || name.ends_with(".example")
            || has_extension(name, "pem")
            || matches!(
                name,
                "passwd" | "shadow" | "group" | "gshadow" | "services" | "protocols"
            )
        {
            continue;
        }
        for (number, line) in text::lines(data) {
            let trimmed = line.trim();
            if trimmed.starts_with(['#', ';', '/', '!']) {
                continue;
            }
            let Some((key, value)) = trimmed.split_once(['=', ':']) else {
                continue;
            };
            let key = key.trim().trim_matches('"').to_ascii_lowercase();
            let key_matches = PASSWORD_KEYS.contains(&key.as_str())
                || [
                    "_password",
                    "_passwd",
                    "_pass",
                    "_pwd",
                    "password",
                    "_psk",
                    "_passphrase",
                ]
                .iter()
                .any(|suffix| key.ends_with(suffix))
                    && key
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
            if !key_matches {
                continue;
            }
            let value = value
                .trim()
                .trim_end_matches(';')
                .trim()
                .trim_matches(['"', '\'']);
            if value.is_empty()
                || value.len() > 128
                || value.contains(['$', '%', '<', '>', '{', '}', ' ', '\t', '(', ')', '[', ']'])
                || NOT_PASSWORDS.contains(&value.to_ascii_lowercase().as_str())
            {
                continue;
            }
            let published = DEFAULTS.source(value);
            let (severity, message) = match published {
                Some(source) => (
                    Severity::High,
                    format!(
                        "{path} sets `{key}` to the published default password `{value}` (listed in {})",
                        describe_source(source)
                    ),
                ),
                None => (
                    Severity::Medium,
                    format!(
                        "{path} sets `{key}` to a password written in the image, the same in every unit"
                    ),
                ),
            };
            let mut finding = Finding::new(Rule::ConfigCredential, severity, &node.path)
                .file(path)
                .line(number)
                .message(message)
                .evidence(text::redact_in(trimmed, value));
            if published.is_none() {
                finding = finding.fingerprint(text::secret_digest(value.as_bytes()));
            }
            sink.push(finding);
        }
    }
    let _ = normalise;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_one_component() {
        assert!(glob_match(b"S??*", b"S10init.sh"));
        assert!(!glob_match(b"S??*", b"S1"));
        assert!(glob_match(b"*.service", b"a.service"));
        assert!(!glob_match(b"S*", b"K10x"));
    }

    #[test]
    fn wrappers_are_unwrapped() {
        let words = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(unwrap(&words("busybox telnetd -l /bin/sh"))[0], "telnetd");
        assert_eq!(
            unwrap(&words(
                "start-stop-daemon --start --exec /usr/sbin/dropbear -- -R"
            ))[0],
            "/usr/sbin/dropbear"
        );
        assert_eq!(unwrap(&words("tcpsvd -vE 0.0.0.0 21 ftpd -w /"))[0], "ftpd");
        assert_eq!(
            unwrap(&words("procd_set_param command /usr/sbin/telnetd -F"))[0],
            "/usr/sbin/telnetd"
        );
    }
}
