//! Accounts: `/etc/passwd`, `/etc/shadow` and the copies vendors keep (`passwd-`, `default.passwd`,
//! `/etc_ro/shadow`, ...).
//!
//! # What it detects
//!
//! - an account that logs in without a password (empty password field);
//! - an account whose hash is that of a published default password (`data/default-credentials.tsv`,
//!   or the account's own name), tried with the real algorithm (DES, MD5, SHA-256, SHA-512 crypt);
//! - any other usable password set in the image: every unit built from it shares that password;
//! - a password hashed with DES or MD5 crypt.
//!
//! # Evidence
//!
//! The file and line; the hash itself is never shown, only its scheme and a digest prefix.
//!
//! # Limits
//!
//! A file holds accounts when its name says so and most of its lines parse as `passwd` or `shadow`
//! lines. Trying passwords is bounded by [`crate::Limits::max_crypt_cost`]: past it, the remaining
//! hashes are reported as fixed without being tried, with a diagnostic. bcrypt and yescrypt hashes
//! are not tried. A password set at first boot by a script is not seen here (see `shell`).

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use consign_model::{Diagnostic, Severity as DiagnosticSeverity};

use crate::crypt::{self, Scheme};
use crate::finding::{Finding, Rule, Severity};
use crate::text::{self, basename};
use crate::tree::FileSystem;
use crate::{Context, Sink};

/// File names that hold accounts.
const ACCOUNT_FILES: &[&str] = &[
    "passwd",
    "shadow",
    "passwd-",
    "shadow-",
    "passwd.bak",
    "shadow.bak",
    "passwd.orig",
    "shadow.orig",
    "passwd.default",
    "shadow.default",
    "default.passwd",
    "default.shadow",
];

/// The published default credentials, parsed once.
pub(crate) static DEFAULTS: LazyLock<Defaults> =
    LazyLock::new(|| Defaults::parse(include_str!("../data/default-credentials.tsv")));

/// Published default credentials.
pub(crate) struct Defaults {
    /// Every distinct password, in file order.
    pub(crate) passwords: Vec<&'static str>,
    /// Which source lists each password.
    sources: HashMap<&'static str, &'static str>,
}

impl Defaults {
    fn parse(text: &'static str) -> Self {
        let mut passwords = Vec::new();
        let mut sources = HashMap::new();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let mut fields = line.split('\t');
            let (Some(_user), Some(password), Some(source)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            if !sources.contains_key(password) {
                sources.insert(password, source);
                passwords.push(password);
            }
        }
        Self { passwords, sources }
    }

    /// The list that names `password`, when it is a published default.
    pub(crate) fn source(&self, password: &str) -> Option<&'static str> {
        self.sources.get(password).copied()
    }
}

/// Where a source name points.
pub(crate) fn describe_source(source: &str) -> &'static str {
    match source {
        "mirai" => "the Mirai botnet's list",
        "seclists" => "SecLists' telnet default list",
        _ => "the default-credential list",
    }
}

/// One account line.
struct Account {
    name: String,
    password: String,
    shell: Option<String>,
    line: u32,
    raw: String,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'$'))
}

/// Parses `passwd` (7 fields) and `shadow` (2 to 9 fields) lines; `None` when too few lines
/// parse for this to be an account file.
fn parse(data: &[u8]) -> Option<Vec<Account>> {
    if !text::is_text(data) {
        return None;
    }
    let mut accounts = Vec::new();
    let mut others = 0usize;
    for (number, line) in text::lines(data) {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = trimmed.split(':').collect();
        let numeric = |index: usize| {
            fields
                .get(index)
                .is_some_and(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
        };
        let account = if fields.len() >= 7 && numeric(2) && numeric(3) {
            Some(Account {
                name: fields[0].to_owned(),
                password: fields[1].to_owned(),
                shell: fields.get(6).map(|s| (*s).to_owned()),
                line: number,
                raw: trimmed.to_owned(),
            })
        } else if (2..=9).contains(&fields.len())
            && fields
                .get(2)
                .is_none_or(|f| f.is_empty() || f.bytes().all(|b| b.is_ascii_digit()))
        {
            Some(Account {
                name: fields[0].to_owned(),
                password: fields[1].to_owned(),
                shell: None,
                line: number,
                raw: trimmed.to_owned(),
            })
        } else {
            None
        };
        match account {
            Some(account) if valid_name(&account.name) => accounts.push(account),
            _ => others += 1,
        }
    }
    (!accounts.is_empty() && others <= accounts.len() / 2).then_some(accounts)
}

fn is_account_file(path: &str) -> bool {
    ACCOUNT_FILES.contains(&basename(path))
        && !path.starts_with("/usr/share/")
        && !path.starts_with("/usr/lib/python")
        && !path.starts_with("/proc/")
}

/// A shell that cannot be logged into.
fn no_login(shell: Option<&str>) -> bool {
    shell.is_some_and(|shell| {
        matches!(
            basename(shell.trim()),
            "nologin" | "false" | "true" | "sync" | "shutdown" | "halt"
        )
    })
}

fn locked(password: &str) -> bool {
    password.starts_with('!')
        || password.starts_with('*')
        || matches!(password, "x" | "LK" | "NP" | "*LK*")
}

/// Tries the published defaults and the account's name on `hash`, within the budget.
struct Cracker<'a> {
    cache: HashMap<String, Option<&'static str>>,
    spent: u64,
    limit: u64,
    skipped: usize,
    sink: &'a mut Vec<Diagnostic>,
}

/// What trying the defaults on a hash gave.
enum Tried {
    /// This published default (or the account's name) is the password.
    Found(String),
    /// None of them is.
    NotFound,
    /// The hash was not tried (its scheme is not tried, or the budget was spent).
    Skipped,
}

impl Cracker<'_> {
    fn try_defaults(&mut self, user: &str, hash: &str) -> Tried {
        let found =
            |known: Option<&str>| known.map_or(Tried::NotFound, |p| Tried::Found(p.to_owned()));
        if let Some(known) = self.cache.get(hash) {
            return found(*known);
        }
        let per_try = crypt::cost(hash);
        if per_try == 0 {
            return Tried::Skipped;
        }
        let candidates = DEFAULTS.passwords.len() as u64 + 1;
        if self.spent + per_try * candidates > self.limit {
            self.skipped += 1;
            return Tried::Skipped;
        }
        self.spent += per_try * candidates;
        if crypt::matches(user, hash) {
            // The account's own name is not on the list, so it is not cached as a default.
            return Tried::Found(user.to_owned());
        }
        let known = DEFAULTS
            .passwords
            .iter()
            .copied()
            .find(|candidate| crypt::matches(candidate, hash));
        self.cache.insert(hash.to_owned(), known);
        found(known)
    }
}

/// Audits every account file of `fs`.
pub(crate) fn audit(fs: &FileSystem<'_>, context: &Context<'_>, sink: &mut Sink) {
    // Shells come from `passwd`; `shadow` lines take their account's shell from it.
    let mut shells: BTreeMap<String, String> = BTreeMap::new();
    let mut files = Vec::new();
    for (path, node) in &fs.entries {
        if !is_account_file(path) {
            continue;
        }
        let Some(data) = node.data() else { continue };
        if data.len() > context.limits.max_text_bytes {
            continue;
        }
        let Some(accounts) = parse(data) else {
            continue;
        };
        for account in &accounts {
            if let Some(shell) = &account.shell {
                shells
                    .entry(account.name.clone())
                    .or_insert_with(|| shell.clone());
            }
        }
        files.push((path.clone(), node.path.clone(), accounts));
    }
    let mut diagnostics = Vec::new();
    let mut cracker = Cracker {
        cache: HashMap::new(),
        spent: 0,
        limit: context.limits.max_crypt_cost,
        skipped: 0,
        sink: &mut diagnostics,
    };
    for (file, logical, accounts) in &files {
        for account in accounts {
            let shell = account
                .shell
                .as_deref()
                .or_else(|| shells.get(&account.name).map(String::as_str));
            check_account(file, logical, account, shell, &mut cracker, sink);
        }
    }
    if cracker.skipped > 0 {
        cracker.sink.push(
            Diagnostic::warning(
                &fs.root,
                format!(
                    "{} password hashes were not tried against the default list: the audit's hashing budget was spent",
                    cracker.skipped
                ),
            )
            .severity(DiagnosticSeverity::Info),
        );
    }
    sink.diagnostics.extend(diagnostics);
}

fn check_account(
    file: &str,
    logical: &str,
    account: &Account,
    shell: Option<&str>,
    cracker: &mut Cracker<'_>,
    sink: &mut Sink,
) {
    let password = account.password.as_str();
    // A `passwd` line whose password is in `shadow`.
    if password == "x" && account.shell.is_some() {
        return;
    }
    if locked(password) {
        return;
    }
    let can_login = !no_login(shell);
    let who = format!("`{}`", account.name);
    let base = |rule: Rule, severity: Severity| {
        Finding::new(rule, severity, logical)
            .file(file)
            .line(account.line)
    };
    if password.is_empty() {
        let (severity, how) = if can_login {
            (
                Severity::High,
                "logs in without a password on any console or login service",
            )
        } else {
            (
                Severity::Low,
                "has no password (its shell does not allow a login, other services may)",
            )
        };
        sink.push(
            base(Rule::EmptyPassword, severity)
                .message(format!("account {who} {how}"))
                .evidence(account.raw.clone()),
        );
        return;
    }
    let scheme = crypt::scheme(password);
    let shown = match scheme {
        Some(scheme) => format!("<{} hash>", scheme.name()),
        None => text::redacted(password),
    };
    let evidence = account.raw.replacen(password, &shown, 1);
    let digest = text::secret_digest(password.as_bytes());
    let default = match scheme {
        Some(_) => cracker.try_defaults(&account.name, password),
        // Not a crypt hash: the field holds the password itself.
        None if DEFAULTS.source(password).is_some() || password == account.name => {
            Tried::Found(password.to_owned())
        }
        None => Tried::NotFound,
    };
    match default {
        Tried::Found(found) => {
            let source = DEFAULTS.source(&found).map_or_else(
                || "it is the account's own name".to_owned(),
                |source| format!("listed in {}", describe_source(source)),
            );
            sink.push(
                base(Rule::DefaultPassword, Severity::Critical)
                    .message(format!(
                        "account {who} has the published default password `{found}` ({source}), the same in every unit"
                    ))
                    .evidence(evidence.clone()),
            );
        }
        tried => {
            let tried_note = match (tried, scheme) {
                (Tried::NotFound, Some(_)) => "; it is none of the published defaults tried",
                (Tried::Skipped, Some(Scheme::Bcrypt | Scheme::Yescrypt)) => {
                    "; its scheme is strong, and consign cannot check it against the default list (no bcrypt or yescrypt implementation yet)"
                }
                (Tried::Skipped, Some(Scheme::Other)) => {
                    "; its scheme is not tried against the default list"
                }
                (Tried::Skipped, _) => "; not tried against the default list (budget spent)",
                _ => "",
            };
            let stored = match scheme {
                Some(scheme) => format!("a {} hash", scheme.name()),
                None => "a password in clear text".to_owned(),
            };
            let severity = if can_login {
                Severity::High
            } else {
                Severity::Medium
            };
            sink.push(
                base(Rule::FixedPassword, severity)
                    .message(format!(
                        "account {who} has a password set in the image ({stored}), so every unit shares it{tried_note}"
                    ))
                    .evidence(evidence.clone())
                    .fingerprint(digest.clone()),
            );
        }
    }
    if let Some(scheme) = scheme
        && scheme.is_weak()
    {
        sink.push(
            base(Rule::WeakHash, Severity::Medium)
                .message(format!(
                    "the password of {who} is hashed with {}, which is fast to brute-force{}",
                    scheme.name(),
                    if scheme == Scheme::Des {
                        " and only uses the first eight characters"
                    } else {
                        ""
                    }
                ))
                .evidence(evidence)
                .fingerprint(digest),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_list_is_read_with_its_sources() {
        assert!(DEFAULTS.passwords.len() > 100);
        assert_eq!(DEFAULTS.source("xc3511"), Some("mirai"));
        assert_eq!(DEFAULTS.source("calvin"), Some("seclists"));
        assert_eq!(DEFAULTS.source(""), Some("mirai"));
        assert_eq!(DEFAULTS.source("correct horse battery staple"), None);
    }

    #[test]
    fn binary_and_prose_are_not_account_files() {
        assert!(parse(b"\x7fELF\0\0\0").is_none());
        assert!(parse(b"This is a manual page about passwd.\nIt says: see shadow(5).\n").is_none());
        let accounts = parse(
            b"root:x:0:0:root:/root:/bin/sh\n# comment\nnobody:*:65534:65534::/:/bin/false\n",
        )
        .unwrap();
        assert_eq!(accounts.len(), 2);
        assert_eq!(accounts[1].shell.as_deref(), Some("/bin/false"));
    }
}
