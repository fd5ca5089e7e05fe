//! A small client for the Debian archive, through Debian's own tools: `apt-get update` into a
//! private state folder for a suite's signed `Packages` index (any suite, any architecture, the
//! host's apt configuration untouched), `apt-helper download-file` for a pinned `.deb` with its
//! sha256 (checked again here), `dpkg-deb` to read and unpack it.
//!
//! The mirror is the one this machine's apt already uses (the first `.../debian` URI in
//! `/etc/apt/sources.list` or `sources.list.d/`), or `CONSIGN_DEBIAN_MIRROR`. Paths inside the
//! archive (`pool/main/...`) are what callers pin, so a lock file names no host.
//!
//! Also here, because every user of Debian metadata needs the same answers: control-stanza and
//! relation parsing, Debian version ordering (Debian Policy 5.6.12) and the upstream version of a
//! Debian version.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest as _, Sha256};

/// Where Debian's archive is reached.
#[derive(Debug, Clone)]
pub(crate) struct Mirror {
    /// The archive root, e.g. `http://HOST/debian`, without a trailing slash.
    pub(crate) url: String,
}

impl Mirror {
    /// `CONSIGN_DEBIAN_MIRROR`, else the first Debian archive URI of the host's apt sources.
    pub(crate) fn from_system() -> Result<Self, String> {
        if let Ok(url) = std::env::var("CONSIGN_DEBIAN_MIRROR")
            && !url.trim().is_empty()
        {
            return Ok(Self {
                url: url.trim().trim_end_matches('/').to_owned(),
            });
        }
        let mut texts = Vec::new();
        if let Ok(text) = std::fs::read_to_string("/etc/apt/sources.list") {
            texts.push(text);
        }
        if let Ok(entries) = std::fs::read_dir("/etc/apt/sources.list.d") {
            let mut paths: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
            paths.sort();
            for path in paths {
                let name = path.to_string_lossy();
                if (name.ends_with(".list") || name.ends_with(".sources"))
                    && let Ok(text) = std::fs::read_to_string(&path)
                {
                    texts.push(text);
                }
            }
        }
        texts
            .iter()
            .find_map(|text| debian_uri(text))
            .map(|url| Self { url })
            .ok_or_else(|| {
                "no Debian archive in the host's apt sources (/etc/apt/sources.list, sources.list.d/)\n\nhint: set CONSIGN_DEBIAN_MIRROR to a Debian mirror's archive root (the URL that holds `dists/` and `pool/`)".to_owned()
            })
    }

    /// The URL of a path inside the archive.
    pub(crate) fn file(&self, path: &str) -> String {
        format!("{}/{}", self.url, path.trim_start_matches('/'))
    }
}

/// The first URI ending in `/debian` in a one-line or deb822 sources file.
fn debian_uri(text: &str) -> Option<String> {
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let candidates: Vec<&str> = if let Some(rest) = line.strip_prefix("URIs:") {
            rest.split_whitespace().collect()
        } else if line.starts_with("deb ") {
            line.split_whitespace()
                .filter(|word| word.contains("://"))
                .collect()
        } else {
            Vec::new()
        };
        if let Some(uri) = candidates
            .into_iter()
            .map(|uri| uri.trim_end_matches('/'))
            .find(|uri| uri.ends_with("/debian"))
        {
            return Some(uri.to_owned());
        }
    }
    None
}

/// One binary package of an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BinaryPackage {
    pub(crate) package: String,
    pub(crate) version: String,
    pub(crate) architecture: String,
    /// The source package (the binary's own name when the index does not say).
    pub(crate) source: String,
    /// The source version (the binary's version when the index does not say).
    pub(crate) source_version: String,
    pub(crate) depends: Vec<Vec<String>>,
    pub(crate) provides: Vec<String>,
    /// The path inside the archive.
    pub(crate) filename: String,
    pub(crate) size: u64,
    pub(crate) sha256: String,
}

impl BinaryPackage {
    /// Reads one `Packages` stanza; `None` when a field a download needs is missing.
    pub(crate) fn from_stanza(fields: &BTreeMap<String, String>) -> Option<Self> {
        let package = fields.get("Package")?.clone();
        let version = fields.get("Version")?.clone();
        let (source, source_version) = source_of(fields.get("Source").map(String::as_str))
            .unwrap_or_else(|| (package.clone(), version.clone()));
        let source_version = if source_version.is_empty() {
            version.clone()
        } else {
            source_version
        };
        let mut depends = Vec::new();
        for key in ["Pre-Depends", "Depends"] {
            if let Some(value) = fields.get(key) {
                depends.extend(parse_relations(value));
            }
        }
        let provides = fields
            .get("Provides")
            .map(|value| parse_relations(value).into_iter().flatten().collect())
            .unwrap_or_default();
        Some(Self {
            package,
            version,
            architecture: fields.get("Architecture")?.clone(),
            source,
            source_version,
            depends,
            provides,
            filename: fields.get("Filename")?.clone(),
            size: fields.get("Size")?.parse().ok()?,
            sha256: fields.get("SHA256")?.to_ascii_lowercase(),
        })
    }
}

/// `Source: name (version)` or `Source: name`.
fn source_of(value: Option<&str>) -> Option<(String, String)> {
    let value = value?.trim();
    let (name, rest) = value.split_once(' ').unwrap_or((value, ""));
    let version = rest
        .trim()
        .strip_prefix('(')
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or("")
        .trim();
    Some((name.to_owned(), version.to_owned()))
}

/// A suite's binary packages for one architecture (plus `all`), as its signed index lists them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Index {
    /// Every version of every package, by name.
    pub(crate) packages: BTreeMap<String, Vec<BinaryPackage>>,
    /// Virtual package -> the packages that provide it.
    pub(crate) providers: BTreeMap<String, Vec<String>>,
    /// The `Date` of the suite's signed Release file, when it was read from the archive.
    pub(crate) date: Option<String>,
}

impl Index {
    /// Builds the index from the text of a `Packages` file.
    pub(crate) fn parse(text: &str) -> Self {
        let mut index = Self::default();
        for stanza in stanzas(text) {
            if let Some(package) = BinaryPackage::from_stanza(&stanza) {
                for provided in &package.provides {
                    index
                        .providers
                        .entry(provided.clone())
                        .or_default()
                        .push(package.package.clone());
                }
                index
                    .packages
                    .entry(package.package.clone())
                    .or_default()
                    .push(package);
            }
        }
        for versions in index.packages.values_mut() {
            versions.sort_by(|a, b| compare_versions(&a.version, &b.version));
        }
        for providers in index.providers.values_mut() {
            providers.sort();
            providers.dedup();
        }
        index
    }

    /// The newest version of `name`.
    pub(crate) fn newest(&self, name: &str) -> Option<&BinaryPackage> {
        self.packages.get(name).and_then(|versions| versions.last())
    }

    /// Downloads (with `apt-get update`, into `state`) and reads `suite`'s `main` index for
    /// `arch`. apt checks the Release signature with the host's Debian keyring.
    pub(crate) fn fetch(
        mirror: &Mirror,
        state: &Path,
        suite: &str,
        arch: &str,
    ) -> Result<Self, String> {
        let lists = state.join("lists");
        let cache = state.join("cache");
        let parts = state.join("sources.list.d");
        for dir in [
            lists.join("partial"),
            cache.join("archives/partial"),
            parts.clone(),
        ] {
            std::fs::create_dir_all(&dir)
                .map_err(|err| format!("creating {}: {err}", dir.display()))?;
        }
        let sources = state.join("sources.list");
        std::fs::write(
            &sources,
            format!(
                "deb [arch={arch} target=Packages] {} {suite} main\n",
                mirror.url
            ),
        )
        .map_err(|err| format!("writing {}: {err}", sources.display()))?;
        let status = state.join("status");
        std::fs::write(&status, "")
            .map_err(|err| format!("writing {}: {err}", status.display()))?;
        let options = [
            format!("Dir::State={}", state.display()),
            format!("Dir::State::Lists={}", lists.display()),
            format!("Dir::State::status={}", status.display()),
            format!("Dir::Cache={}", cache.display()),
            format!("Dir::Etc::SourceList={}", sources.display()),
            format!("Dir::Etc::SourceParts={}", parts.display()),
            format!("APT::Architecture={arch}"),
            format!("APT::Architectures={arch}"),
            "Acquire::Languages=none".to_owned(),
            "Debug::NoLocking=1".to_owned(),
        ];
        let mut command = Command::new("apt-get");
        command.arg("-q").arg("update");
        for option in &options {
            command.arg("-o").arg(option);
        }
        if is_root() {
            command.arg("-o").arg("APT::Sandbox::User=root");
        }
        eprintln!(
            "$ apt-get update (Debian {suite} {arch}, index under {})",
            state.display()
        );
        let output = command.output().map_err(|err| {
            format!("could not start apt-get: {err}\n\nhint: run this on a Debian host")
        })?;
        if !output.status.success() {
            return Err(format!(
                "`apt-get update` for Debian {suite} {arch} failed ({}):\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        let suffix = format!("_dists_{suite}_main_binary-{arch}_Packages");
        let file = std::fs::read_dir(&lists)
            .map_err(|err| format!("reading {}: {err}", lists.display()))?
            .flatten()
            .map(|entry| entry.path())
            .find(|path| {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                name.ends_with(&suffix) || name.contains(&format!("{suffix}."))
            })
            .ok_or_else(|| {
                format!(
                    "apt-get update for Debian {suite} {arch} left no Packages index in {}",
                    lists.display()
                )
            })?;
        // apt may keep the index compressed (Acquire::GzipIndexes); its own helper reads any form.
        let output = Command::new(APT_HELPER)
            .arg("cat-file")
            .arg(&file)
            .output()
            .map_err(|err| format!("could not start {APT_HELPER}: {err}"))?;
        if !output.status.success() {
            return Err(format!(
                "`{APT_HELPER} cat-file {}` failed ({})",
                file.display(),
                output.status
            ));
        }
        let mut index = Self::parse(&String::from_utf8_lossy(&output.stdout));
        index.date = std::fs::read_dir(&lists)
            .ok()
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .find(|path| {
                path.to_string_lossy()
                    .ends_with(&format!("_dists_{suite}_InRelease"))
            })
            .and_then(|path| std::fs::read_to_string(path).ok())
            .and_then(|text| {
                text.lines().find_map(|line| {
                    line.strip_prefix("Date:")
                        .map(|date| date.trim().to_owned())
                })
            });
        if index.packages.is_empty() {
            return Err(format!(
                "the Debian {suite} {arch} index {} lists no packages",
                file.display()
            ));
        }
        Ok(index)
    }
}

const APT_HELPER: &str = "/usr/lib/apt/apt-helper";

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

/// The stanzas of a control file (`Packages`, `status`, a `.deb`'s `control`): field name to
/// value, continuation lines joined with newlines.
pub(crate) fn stanzas(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut out = Vec::new();
    let mut current: BTreeMap<String, String> = BTreeMap::new();
    let mut last_key: Option<String> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            last_key = None;
        } else if line.starts_with([' ', '\t']) {
            if let Some(key) = &last_key
                && let Some(value) = current.get_mut(key)
            {
                value.push('\n');
                value.push_str(line.trim_start());
            }
        } else if let Some((key, value)) = line.split_once(':') {
            current.insert(key.trim().to_owned(), value.trim().to_owned());
            last_key = Some(key.trim().to_owned());
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// A relation field (`Depends`, `Provides`, `Built-Using`): for each comma-separated entry, its
/// alternatives' package names, with version constraints, architecture qualifiers and
/// restrictions dropped.
pub(crate) fn parse_relations(value: &str) -> Vec<Vec<String>> {
    value
        .split(',')
        .map(|entry| {
            entry
                .split('|')
                .filter_map(|alternative| {
                    let name = alternative
                        .trim()
                        .split(|c: char| c.is_whitespace() || c == '(' || c == '[' || c == '<')
                        .next()?;
                    let name = name.split(':').next()?;
                    (!name.is_empty()).then(|| name.to_owned())
                })
                .collect::<Vec<_>>()
        })
        .filter(|alternatives| !alternatives.is_empty())
        .collect()
}

/// `Built-Using: a (= 1.2-3), b (= 4)`: (source, version) pairs.
pub(crate) fn parse_built_using(value: &str) -> Vec<(String, String)> {
    value
        .split(',')
        .filter_map(|entry| {
            let entry = entry.trim();
            let (name, rest) = entry.split_once(' ')?;
            let version = rest
                .trim()
                .trim_start_matches('(')
                .trim_end_matches(')')
                .trim();
            let version = version.trim_start_matches('=').trim();
            (!name.is_empty() && !version.is_empty()).then(|| (name.to_owned(), version.to_owned()))
        })
        .collect()
}

/// Orders two Debian versions as dpkg does (Debian Policy 5.6.12: epoch, then upstream version,
/// then revision, each compared by alternating non-digit and digit runs, `~` before everything).
pub(crate) fn compare_versions(a: &str, b: &str) -> Ordering {
    fn split(version: &str) -> (u64, &str, &str) {
        let (epoch, rest) = match version.split_once(':') {
            Some((epoch, rest)) if epoch.bytes().all(|b| b.is_ascii_digit()) => {
                (epoch.parse().unwrap_or(0), rest)
            }
            _ => (0, version),
        };
        match rest.rsplit_once('-') {
            Some((upstream, revision)) => (epoch, upstream, revision),
            None => (epoch, rest, ""),
        }
    }
    fn order(c: u8) -> i32 {
        match c {
            b'~' => -1,
            c if c.is_ascii_alphabetic() => i32::from(c),
            0 => 0,
            c => i32::from(c) + 256,
        }
    }
    fn part(mut a: &[u8], mut b: &[u8]) -> Ordering {
        while !a.is_empty() || !b.is_empty() {
            // The non-digit prefix, character by character (an absent character sorts as 0).
            loop {
                let ca = a.first().copied().filter(|c| !c.is_ascii_digit());
                let cb = b.first().copied().filter(|c| !c.is_ascii_digit());
                if ca.is_none() && cb.is_none() {
                    break;
                }
                let ordering = order(ca.unwrap_or(0)).cmp(&order(cb.unwrap_or(0)));
                if ordering != Ordering::Equal {
                    return ordering;
                }
                if ca.is_some() {
                    a = &a[1..];
                }
                if cb.is_some() {
                    b = &b[1..];
                }
            }
            let digits = |s: &[u8]| s.iter().take_while(|c| c.is_ascii_digit()).count();
            let (da, db) = (digits(a), digits(b));
            let na = trim_zeros(&a[..da]);
            let nb = trim_zeros(&b[..db]);
            let ordering = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
            if ordering != Ordering::Equal {
                return ordering;
            }
            a = &a[da..];
            b = &b[db..];
        }
        Ordering::Equal
    }
    fn trim_zeros(digits: &[u8]) -> &[u8] {
        let zeros = digits.iter().take_while(|&&c| c == b'0').count();
        &digits[zeros..]
    }
    let (ea, ua, ra) = split(a);
    let (eb, ub, rb) = split(b);
    ea.cmp(&eb)
        .then_with(|| part(ua.as_bytes(), ub.as_bytes()))
        .then_with(|| part(ra.as_bytes(), rb.as_bytes()))
}

/// The upstream release in a Debian version: the epoch, the Debian revision, a `+really` prefix
/// and repack suffixes (`+dfsg`, `+ds`, `+repack`, with what follows) removed.
/// `1:1.36.1-9+deb13u1` -> `1.36.1`; `2.10+dfsg-1` -> `2.10`; `1.2+really1.1-3` -> `1.1`.
pub(crate) fn upstream_version(debian_version: &str) -> String {
    let mut version = debian_version.trim();
    if let Some((epoch, rest)) = version.split_once(':')
        && !epoch.is_empty()
        && epoch.bytes().all(|b| b.is_ascii_digit())
    {
        version = rest;
    }
    if let Some((upstream, _revision)) = version.rsplit_once('-') {
        version = upstream;
    }
    if let Some((_, real)) = version.split_once("+really") {
        version = real;
    }
    let lower = version.to_ascii_lowercase();
    let cut = [
        "+dfsg", "~dfsg", ".dfsg", "+ds", "~ds", "+repack", "~repack",
    ]
    .iter()
    .filter_map(|marker| lower.find(marker))
    .min();
    match cut {
        Some(at) if at > 0 => version[..at].to_owned(),
        _ => version.to_owned(),
    }
}

/// A downloaded, verified `.deb`.
#[derive(Debug, Clone)]
pub(crate) struct Deb {
    pub(crate) path: PathBuf,
}

/// Downloads the archive file `filename` (a `pool/...` path) into `cache` unless a file with the
/// same name and sha256 is there; checks size and sha256 either way.
pub(crate) fn download(
    mirror: &Mirror,
    cache: &Path,
    filename: &str,
    size: u64,
    sha256: &str,
) -> Result<Deb, String> {
    std::fs::create_dir_all(cache).map_err(|err| format!("creating {}: {err}", cache.display()))?;
    let name = filename.rsplit('/').next().unwrap_or(filename);
    let path = cache.join(name);
    if verify_file(&path, size, sha256).is_ok() {
        return Ok(Deb { path });
    }
    let partial = cache.join(format!("{name}.partial"));
    let _ = std::fs::remove_file(&partial);
    let url = mirror.file(filename);
    let mut command = Command::new(APT_HELPER);
    if is_root() {
        command.arg("-o").arg("APT::Sandbox::User=root");
    }
    command
        .arg("download-file")
        .arg(&url)
        .arg(&partial)
        .arg(format!("SHA256:{sha256}"));
    let output = command
        .output()
        .map_err(|err| format!("could not start {APT_HELPER}: {err}"))?;
    if !output.status.success() {
        return Err(format!(
            "downloading {url} failed ({}):\n{}\n\nhint: if the archive no longer has this version (a point release replaced it), take the current one with `cargo xtask heldout --update-lock`",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    verify_file(&partial, size, sha256)?;
    std::fs::rename(&partial, &path).map_err(|err| {
        format!(
            "renaming {} to {}: {err}",
            partial.display(),
            path.display()
        )
    })?;
    Ok(Deb { path })
}

/// Checks a file's size and sha256.
pub(crate) fn verify_file(path: &Path, size: u64, sha256: &str) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|err| format!("reading {}: {err}", path.display()))?;
    if bytes.len() as u64 != size {
        return Err(format!(
            "{}: {} bytes, expected {size}",
            path.display(),
            bytes.len()
        ));
    }
    let actual = hex::encode(Sha256::digest(&bytes));
    if !actual.eq_ignore_ascii_case(sha256) {
        return Err(format!(
            "{}: sha256 {actual}, expected {sha256}",
            path.display()
        ));
    }
    Ok(())
}

impl Deb {
    /// The package's own control fields (`dpkg-deb --field`).
    pub(crate) fn control(&self) -> Result<BTreeMap<String, String>, String> {
        let output = Command::new("dpkg-deb")
            .arg("--field")
            .arg(&self.path)
            .output()
            .map_err(|err| format!("could not start dpkg-deb: {err}"))?;
        if !output.status.success() {
            return Err(format!(
                "`dpkg-deb --field {}` failed ({}): {}",
                self.path.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        stanzas(&String::from_utf8_lossy(&output.stdout))
            .into_iter()
            .next()
            .ok_or_else(|| format!("{}: empty control file", self.path.display()))
    }

    /// Unpacks only the members matching the tar wildcard `pattern` (such as `./boot/vmlinuz-*`)
    /// into `dest`: `dpkg-deb --fsys-tarfile` into `tar --extract --wildcards`.
    pub(crate) fn extract_matching(&self, dest: &Path, pattern: &str) -> Result<(), String> {
        std::fs::create_dir_all(dest)
            .map_err(|err| format!("creating {}: {err}", dest.display()))?;
        let mut dpkg = Command::new("dpkg-deb")
            .arg("--fsys-tarfile")
            .arg(&self.path)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .map_err(|err| format!("could not start dpkg-deb: {err}"))?;
        let stdout = dpkg
            .stdout
            .take()
            .ok_or("dpkg-deb has no standard output")?;
        let tar = Command::new("tar")
            .arg("--extract")
            .arg("--directory")
            .arg(dest)
            .arg("--wildcards")
            .arg(pattern)
            .stdin(stdout)
            .output()
            .map_err(|err| format!("could not start tar: {err}"))?;
        let dpkg = dpkg
            .wait()
            .map_err(|err| format!("waiting for dpkg-deb: {err}"))?;
        if dpkg.success() && tar.status.success() {
            Ok(())
        } else {
            Err(format!(
                "extracting `{pattern}` from {} failed (dpkg-deb {dpkg}, tar {}): {}",
                self.path.display(),
                tar.status,
                String::from_utf8_lossy(&tar.stderr).trim()
            ))
        }
    }

    /// Unpacks the package's files into `dest` (`dpkg-deb --extract`; nothing is installed).
    pub(crate) fn extract(&self, dest: &Path) -> Result<(), String> {
        std::fs::create_dir_all(dest)
            .map_err(|err| format!("creating {}: {err}", dest.display()))?;
        let output = Command::new("dpkg-deb")
            .arg("--extract")
            .arg(&self.path)
            .arg(dest)
            .output()
            .map_err(|err| format!("could not start dpkg-deb: {err}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "`dpkg-deb --extract {} {}` failed ({}): {}",
                self.path.display(),
                dest.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_as_dpkg_does() {
        use Ordering::{Equal, Greater, Less};
        for (a, b, want) in [
            ("1.0", "1.0", Equal),
            ("1.0~rc1", "1.0", Less),
            ("1:0.9", "2.0", Greater),
            ("1.2.10", "1.2.9", Greater),
            ("6.12.117-1", "6.12.107-1", Greater),
            ("2.41-12", "2.41-12+deb13u1", Less),
            ("1.0a", "1.0", Greater),
            ("1.0-1", "1.0+b1", Less),
            ("3.0.20-1~deb12u1", "3.0.20-1", Less),
            ("007", "7", Equal),
        ] {
            assert_eq!(compare_versions(a, b), want, "{a} vs {b}");
            assert_eq!(compare_versions(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn upstream_versions_drop_debian_parts() {
        for (debian, upstream) in [
            ("1:1.36.1-9+deb13u1", "1.36.1"),
            ("2.10+dfsg-1", "2.10"),
            ("3.5.4-1~deb13u1", "3.5.4"),
            ("1.2+really1.1-3", "1.1"),
            ("2:2.10-12", "2.10"),
            ("6.12.117-1", "6.12.117"),
            ("0.8.1", "0.8.1"),
            ("1.4.10+ds-2", "1.4.10"),
            ("9.2p1-2+deb12u3", "9.2p1"),
        ] {
            assert_eq!(upstream_version(debian), upstream, "{debian}");
        }
    }

    #[test]
    fn stanzas_and_relations_parse() {
        let text = "Package: curl\nVersion: 8.14.1-2\nSource: curl (8.14.1-2)\nDepends: libc6 (>= 2.34), libcurl4t64 (= 8.14.1-2) | libcurl4, zlib1g:any\nDescription: one\n more\n\nPackage: zlib1g\nVersion: 1:1.3.dfsg-3.1\n";
        let parsed = stanzas(text);
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0]["Description"], "one\nmore");
        assert_eq!(
            parse_relations(&parsed[0]["Depends"]),
            vec![
                vec!["libc6".to_owned()],
                vec!["libcurl4t64".to_owned(), "libcurl4".to_owned()],
                vec!["zlib1g".to_owned()]
            ]
        );
        assert_eq!(
            parse_built_using("gcc-14 (= 14.2.0-19), glibc (= 2.41-12)"),
            vec![
                ("gcc-14".to_owned(), "14.2.0-19".to_owned()),
                ("glibc".to_owned(), "2.41-12".to_owned())
            ]
        );
        assert_eq!(
            source_of(Some("openssl (3.5.4-1~deb13u1)")),
            Some(("openssl".to_owned(), "3.5.4-1~deb13u1".to_owned()))
        );
    }

    #[test]
    fn an_index_keeps_every_version_newest_last() {
        let text = "Package: a\nVersion: 1.0-2\nArchitecture: armel\nFilename: pool/main/a/a/a_1.0-2_armel.deb\nSize: 10\nSHA256: AB\nProvides: virt\n\nPackage: a\nVersion: 1.0-10\nArchitecture: armel\nFilename: pool/main/a/a/a_1.0-10_armel.deb\nSize: 11\nSHA256: cd\n\nPackage: broken\nVersion: 1\n";
        let index = Index::parse(text);
        assert_eq!(index.packages.len(), 1);
        let newest = index.newest("a").unwrap();
        assert_eq!(
            (newest.version.as_str(), newest.sha256.as_str()),
            ("1.0-10", "cd")
        );
        assert_eq!(newest.source, "a");
        assert_eq!(index.providers["virt"], ["a"]);
        assert_eq!(index.packages["a"][0].sha256, "ab");
    }

    #[test]
    fn the_mirror_is_read_from_apt_sources() {
        let deb822 = "Types: deb\n# comment\nURIs: http://mirror.example/debian\nSuites: bookworm\n\nTypes: deb\nURIs: http://mirror.example/debian-security\n";
        assert_eq!(
            debian_uri(deb822).as_deref(),
            Some("http://mirror.example/debian")
        );
        let one_line = "# deb http://old.example/debian sid main\ndeb [arch=amd64] http://m.example/debian/ bookworm main\n";
        assert_eq!(
            debian_uri(one_line).as_deref(),
            Some("http://m.example/debian")
        );
        assert_eq!(debian_uri("deb http://m.example/ubuntu noble main\n"), None);
    }
}
