//! The Debian archive as a source of real binaries: signed indices, verified downloads, a cache.
//!
//! Used by `cargo xtask kb` (signatures cut from and tested on real packages) and meant for any
//! other task that needs real Debian binaries (held-out images). Everything goes over plain HTTP
//! to `http://deb.debian.org/debian` (or `$CONSIGN_DEBIAN_MIRROR`), and nothing is trusted on
//! the way:
//!
//! 1. `dists/<suite>/InRelease` is checked with `gpgv` against the Debian archive keyring
//!    (`/usr/share/keyrings/debian-archive-keyring.gpg`, package `debian-archive-keyring`); a
//!    missing tool or keyring is an error, never a skipped check;
//! 2. each `Packages.xz` must have the SHA-256 the signed `InRelease` gives;
//! 3. each `.deb` must have the SHA-256 its `Packages` entry gives.
//!
//! The cache (`target/kb-cache/debian/` by default, never committed) mirrors the archive's
//! layout. Indices are reused until [`Archive::refreshing`] asks for new ones; a cached file is
//! verified again each time it is used. Suites move (sid daily, stable at point releases), so a
//! package version that has left the mirror is only available from the cache.
//!
//! ```text
//! let archive = Archive::open(Archive::default_cache())?;
//! let index = archive.index("bookworm", "main", "armhf")?;
//! let busybox = index.package("busybox").ok_or("no busybox")?;
//! let deb: PathBuf = archive.fetch(busybox)?;
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use sha2::{Digest, Sha256};

/// The Debian mirror used unless `$CONSIGN_DEBIAN_MIRROR` names another.
pub(crate) const MIRROR: &str = "http://deb.debian.org/debian";
/// The keyring that signs the archive's `InRelease` files.
pub(crate) const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";
/// The suites served by the mirror that each usually carry a different upstream release, oldest
/// first.
pub(crate) const SUITES: [&str; 4] = ["bullseye", "bookworm", "trixie", "sid"];
/// Largest index or package downloaded (the biggest `.deb`s, kernels and firmware, are ~100 MiB).
const MAX_DOWNLOAD: u64 = 1 << 30;
/// Largest decompressed `Packages` index (sid's amd64 index is ~70 MiB).
const MAX_INDEX: u64 = 1 << 29;
/// Downloads in flight at once in [`Archive::fetch_all`].
const PARALLEL_DOWNLOADS: usize = 4;

/// The Debian archive through a verifying cache.
pub(crate) struct Archive {
    mirror: String,
    cache: PathBuf,
    refresh: bool,
    agent: ureq::Agent,
}

/// One binary package entry of a `Packages` index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Package {
    /// The binary package name (`busybox-static`).
    pub(crate) name: String,
    /// Its version (`1:1.35.0-4+b3`).
    pub(crate) version: String,
    /// The source package (`busybox`).
    pub(crate) source: String,
    /// The source package's version, which differs from `version` after binary-only uploads.
    pub(crate) source_version: String,
    /// `armhf`, `all`, ...
    pub(crate) architecture: String,
    /// Path of the `.deb` below the mirror root (`pool/main/b/busybox/...deb`).
    pub(crate) filename: String,
    /// Size in bytes of the `.deb`.
    pub(crate) size: u64,
    /// SHA-256 of the `.deb`, lower-case hex.
    pub(crate) sha256: String,
    /// The `Section` (`utils`, `libs`, `debian-installer`).
    pub(crate) section: String,
    /// The upstream home page, when the package names one.
    pub(crate) homepage: Option<String>,
    /// `Depends` and `Pre-Depends`, as written.
    pub(crate) depends: String,
    /// `Built-Using`, as written (the sources statically linked in).
    pub(crate) built_using: String,
    /// The first line of the description.
    pub(crate) summary: String,
    /// The suite of the index this entry came from.
    pub(crate) suite: String,
}

/// A `Packages` index of one suite, component and architecture.
pub(crate) struct Index {
    /// `main`, ...
    pub(crate) component: String,
    /// The index's architecture (`armhf`, or `all`).
    pub(crate) arch: String,
    /// Every entry, in index order.
    pub(crate) packages: Vec<Package>,
}

impl Index {
    /// The entry of binary package `name` (the highest version if several are listed).
    pub(crate) fn package(&self, name: &str) -> Option<&Package> {
        self.packages
            .iter()
            .filter(|package| package.name == name)
            .max_by(|a, b| compare_versions(&a.version, &b.version))
    }

    /// Every binary package built from source package `source`.
    pub(crate) fn by_source<'a>(&'a self, source: &'a str) -> impl Iterator<Item = &'a Package> {
        self.packages
            .iter()
            .filter(move |package| package.source == source)
    }
}

impl Archive {
    /// The default cache folder: `target/kb-cache/debian` under the repository.
    pub(crate) fn default_cache() -> PathBuf {
        crate::util::root().join("target/kb-cache/debian")
    }

    /// The archive at [`MIRROR`] (or `$CONSIGN_DEBIAN_MIRROR`) cached under `cache`.
    pub(crate) fn open(cache: PathBuf) -> Result<Self, String> {
        fs::create_dir_all(&cache)
            .map_err(|err| format!("cannot create the cache {}: {err}", cache.display()))?;
        let mirror = std::env::var("CONSIGN_DEBIAN_MIRROR")
            .ok()
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| MIRROR.to_owned());
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_recv_body(Some(Duration::from_mins(10)))
            .user_agent("consign-xtask (+https://example.invalid/consign)")
            .build()
            .into();
        Ok(Self {
            mirror: mirror.trim_end_matches('/').to_owned(),
            cache,
            refresh: false,
            agent,
        })
    }

    /// Fetch `InRelease` files again instead of reusing cached ones (and so the indices they
    /// name when those changed).
    pub(crate) fn refreshing(mut self, refresh: bool) -> Self {
        self.refresh = refresh;
        self
    }

    /// The signed `InRelease` of `suite`, verified: the SHA-256 of every index file it lists,
    /// keyed by path (`main/binary-armhf/Packages.xz`), and its `Architectures`.
    pub(crate) fn release(&self, suite: &str) -> Result<Release, String> {
        let path = self.cache.join(format!("dists/{suite}/InRelease"));
        if self.refresh || !path.exists() {
            self.download(&format!("dists/{suite}/InRelease"), &path, None)?;
        }
        let text = verify_signature(&path)?;
        Release::parse(suite, &text)
    }

    /// The `Packages` index of `suite`/`component`/`arch`, verified against the signed release.
    pub(crate) fn index(&self, suite: &str, component: &str, arch: &str) -> Result<Index, String> {
        let release = self.release(suite)?;
        let name = format!("{component}/binary-{arch}/Packages.xz");
        let (sha256, size) = release.files.get(&name).ok_or_else(|| {
            format!(
                "Debian {suite} has no {name} (architectures: {}); pick another architecture",
                release.architectures.join(" ")
            )
        })?;
        let path = self.cache.join(format!("dists/{suite}/{name}"));
        let fresh = fs::read(&path)
            .ok()
            .is_some_and(|data| data.len() as u64 == *size && sha256_hex(&data) == *sha256);
        if !fresh {
            // By hash first: those paths never change, so a mirror halfway through an update
            // cannot pair a new index with the old InRelease.
            let by_hash =
                format!("dists/{suite}/{component}/binary-{arch}/by-hash/SHA256/{sha256}");
            if self.download(&by_hash, &path, Some(sha256)).is_err() {
                self.download(&format!("dists/{suite}/{name}"), &path, Some(sha256))?;
            }
        }
        let compressed =
            fs::read(&path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        if sha256_hex(&compressed) != *sha256 {
            return Err(format!(
                "{} does not have the SHA-256 that the signed InRelease gives; delete it and run again",
                path.display()
            ));
        }
        let text = consign_unpack::decompress::decompress(
            consign_unpack::decompress::Codec::Xz,
            &compressed,
            MAX_INDEX,
        )
        .map_err(|err| format!("{}: {err}", path.display()))?
        .data;
        let text = String::from_utf8_lossy(&text);
        Ok(Index {
            component: component.to_owned(),
            arch: arch.to_owned(),
            packages: parse_packages(&text, suite),
        })
    }

    /// Where `package`'s `.deb` sits in the cache (whether or not it was fetched yet).
    pub(crate) fn deb_path(&self, package: &Package) -> PathBuf {
        self.cache.join(&package.filename)
    }

    /// The `.deb` of `package`, from the cache or the mirror, with the SHA-256 its index gives.
    pub(crate) fn fetch(&self, package: &Package) -> Result<PathBuf, String> {
        if package.filename.contains("..") || package.filename.starts_with('/') {
            return Err(format!(
                "index entry {} has an unsafe file name `{}`",
                package.name, package.filename
            ));
        }
        let path = self.deb_path(package);
        if let Ok(data) = fs::read(&path) {
            if data.len() as u64 == package.size && sha256_hex(&data) == package.sha256 {
                return Ok(path);
            }
            eprintln!(
                "{} does not match its index entry; downloading it again",
                path.display()
            );
        }
        self.download(&package.filename, &path, Some(&package.sha256))?;
        Ok(path)
    }

    /// [`Archive::fetch`] for several packages, a few at a time; results in the same order.
    pub(crate) fn fetch_all(&self, packages: &[&Package]) -> Vec<Result<PathBuf, String>> {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let results: Vec<std::sync::Mutex<Option<Result<PathBuf, String>>>> = packages
            .iter()
            .map(|_| std::sync::Mutex::new(None))
            .collect();
        std::thread::scope(|scope| {
            for _ in 0..PARALLEL_DOWNLOADS.min(packages.len()) {
                scope.spawn(|| {
                    loop {
                        let at = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(package) = packages.get(at) else {
                            break;
                        };
                        let result = self.fetch(package);
                        if let Some(slot) = results.get(at)
                            && let Ok(mut slot) = slot.lock()
                        {
                            *slot = Some(result);
                        }
                    }
                });
            }
        });
        results
            .into_iter()
            .map(|slot| {
                slot.into_inner()
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| Err("download thread failed".to_owned()))
            })
            .collect()
    }

    /// Downloads `relative` (below the mirror root) to `path` through a temporary file, checking
    /// the SHA-256 when one is given; the file appears only when complete and correct.
    fn download(&self, relative: &str, path: &Path, sha256: Option<&str>) -> Result<(), String> {
        let url = format!("{}/{relative}", self.mirror);
        eprintln!("GET {url}");
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .map_err(|err| format!("cannot create {}: {err}", parent.display()))?;
        }
        let mut last_error = String::new();
        for attempt in 1..=3 {
            match self.try_download(&url, path, sha256) {
                Ok(()) => return Ok(()),
                Err(err) => {
                    last_error = err;
                    if attempt < 3 {
                        std::thread::sleep(Duration::from_secs(2 * attempt));
                    }
                }
            }
        }
        Err(last_error)
    }

    fn try_download(&self, url: &str, path: &Path, sha256: Option<&str>) -> Result<(), String> {
        let mut response = self
            .agent
            .get(url)
            .call()
            .map_err(|err| format!("GET {url}: {err}"))?;
        let mut reader = response
            .body_mut()
            .with_config()
            .limit(MAX_DOWNLOAD)
            .reader();
        let partial = path.with_extension("part");
        let mut out = fs::File::create(&partial)
            .map_err(|err| format!("cannot create {}: {err}", partial.display()))?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 1 << 16];
        loop {
            let read = reader
                .read(&mut buffer)
                .map_err(|err| format!("GET {url}: {err}"))?;
            let Some(chunk) = buffer.get(..read) else {
                break;
            };
            if chunk.is_empty() {
                break;
            }
            hasher.update(chunk);
            out.write_all(chunk)
                .map_err(|err| format!("cannot write {}: {err}", partial.display()))?;
        }
        drop(out);
        let got = hex::encode(hasher.finalize());
        if let Some(want) = sha256
            && got != want
        {
            let _ = fs::remove_file(&partial);
            return Err(format!(
                "GET {url}: SHA-256 {got} is not the {want} the index gives"
            ));
        }
        fs::rename(&partial, path)
            .map_err(|err| format!("cannot move {} into place: {err}", partial.display()))
    }
}

/// `cargo xtask debian [--refresh] SUITE ARCH NAME...`: fetches binary packages into the cache
/// (verified) and prints, for each, its name, version, upstream release, source and path. A NAME
/// of the form `src:SOURCE` stands for every binary package built from that source.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let refresh = args.iter().any(|arg| arg == "--refresh");
    let rest: Vec<&String> = args.iter().filter(|arg| *arg != "--refresh").collect();
    let [suite, arch, names @ ..] = rest.as_slice() else {
        return Err(format!(
            "usage: cargo xtask debian [--refresh] SUITE ARCH NAME...\n\n  fetches Debian binary packages (verified) into target/kb-cache/debian and prints their paths;\n  SUITE is one of {}; NAME is a binary package or src:SOURCE",
            SUITES.join(", ")
        ));
    };
    let archive = Archive::open(Archive::default_cache())?.refreshing(refresh);
    let indices = [
        archive.index(suite, "main", arch)?,
        archive.index(suite, "main", "all")?,
    ];
    let mut packages = Vec::new();
    for name in names {
        let found: Vec<&Package> = if let Some(source) = name.strip_prefix("src:") {
            indices
                .iter()
                .flat_map(|index| index.by_source(source))
                .collect()
        } else {
            indices
                .iter()
                .filter_map(|index| index.package(name))
                .take(1)
                .collect()
        };
        if found.is_empty() {
            return Err(format!(
                "Debian {suite} has no {name} in {}",
                indices
                    .iter()
                    .map(|index| format!("{}/binary-{}", index.component, index.arch))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ));
        }
        packages.extend(found);
    }
    for (package, result) in packages.iter().zip(archive.fetch_all(&packages)) {
        let path = result?;
        println!(
            "{}\t{}\t{}\t{}\t{}",
            package.name,
            package.version,
            upstream_version(&package.version),
            package.source,
            path.display()
        );
    }
    Ok(())
}

/// What a verified `InRelease` says.
pub(crate) struct Release {
    /// The architectures the suite carries.
    pub(crate) architectures: Vec<String>,
    /// Index files: path below `dists/<suite>/` to (SHA-256, size).
    pub(crate) files: BTreeMap<String, (String, u64)>,
}

impl Release {
    fn parse(suite: &str, text: &str) -> Result<Self, String> {
        let mut architectures = Vec::new();
        let mut files = BTreeMap::new();
        let mut in_sha256 = false;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("Architectures:") {
                architectures = rest.split_whitespace().map(str::to_owned).collect();
            }
            if !line.starts_with(' ') {
                in_sha256 = line.trim_end() == "SHA256:";
                continue;
            }
            if in_sha256 {
                let mut fields = line.split_whitespace();
                if let (Some(hash), Some(size), Some(name)) =
                    (fields.next(), fields.next(), fields.next())
                    && let Ok(size) = size.parse()
                {
                    files.insert(name.to_owned(), (hash.to_ascii_lowercase(), size));
                }
            }
        }
        if files.is_empty() {
            return Err(format!(
                "the InRelease of Debian {suite} lists no SHA-256 sums"
            ));
        }
        Ok(Self {
            architectures,
            files,
        })
    }
}

/// Checks the `OpenPGP` signature of an `InRelease` file with `gpgv` and returns the signed text
/// (only what the signature covers).
fn verify_signature(path: &Path) -> Result<String, String> {
    if !Path::new(KEYRING).exists() {
        return Err(format!(
            "{KEYRING} is missing, so Debian's index signatures cannot be checked\n\nhint: apt-get install debian-archive-keyring gpgv"
        ));
    }
    let output = Command::new("gpgv")
        .args(["--quiet", "--keyring", KEYRING, "--output", "-"])
        .arg(path)
        .output()
        .map_err(|err| {
            format!(
                "cannot run gpgv to check {}: {err}\n\nhint: apt-get install gpgv",
                path.display()
            )
        })?;
    if !output.status.success() {
        return Err(format!(
            "{} has no good signature from the Debian archive keyring:\n{}\nhint: delete it and run again with --refresh",
            path.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    String::from_utf8(output.stdout)
        .map_err(|_| format!("the signed text of {} is not UTF-8", path.display()))
}

/// Parses a `Packages` index (deb822 paragraphs); entries without a file name or hash are left out.
pub(crate) fn parse_packages(text: &str, suite: &str) -> Vec<Package> {
    let mut packages = Vec::new();
    for paragraph in text.split("\n\n") {
        let mut fields: BTreeMap<&str, String> = BTreeMap::new();
        let mut last: Option<&str> = None;
        for line in paragraph.lines() {
            if line.starts_with(' ') || line.starts_with('\t') {
                if let Some(key) = last
                    && let Some(value) = fields.get_mut(key)
                {
                    value.push('\n');
                    value.push_str(line.trim());
                }
                continue;
            }
            if let Some((key, value)) = line.split_once(':') {
                fields.insert(key, value.trim().to_owned());
                last = Some(key);
            }
        }
        let field = |key: &str| fields.get(key).cloned().unwrap_or_default();
        let name = field("Package");
        let version = field("Version");
        let filename = field("Filename");
        let sha256 = field("SHA256").to_ascii_lowercase();
        if name.is_empty() || version.is_empty() || filename.is_empty() || sha256.len() != 64 {
            continue;
        }
        let source_field = field("Source");
        let (source, source_version) = match source_field.split_once(' ') {
            Some((source, rest)) => (
                source.to_owned(),
                rest.trim_matches(|c| c == '(' || c == ')' || c == ' ')
                    .to_owned(),
            ),
            None if source_field.is_empty() => (name.clone(), version.clone()),
            None => (source_field.clone(), version.clone()),
        };
        let depends = [field("Pre-Depends"), field("Depends")]
            .into_iter()
            .filter(|d| !d.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
        packages.push(Package {
            size: field("Size").parse().unwrap_or(0),
            architecture: field("Architecture"),
            section: field("Section"),
            homepage: fields.get("Homepage").cloned(),
            built_using: field("Built-Using"),
            summary: field("Description").lines().next().unwrap_or("").to_owned(),
            depends,
            name,
            version,
            source,
            source_version,
            filename,
            sha256,
            suite: suite.to_owned(),
        });
    }
    packages
}

/// SHA-256 of `data`, lower-case hex.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The upstream release in a Debian version: epoch, Debian revision, stable-update and binNMU
/// suffixes and repack markers (`+dfsg`, `.dfsg`, `+ds`, `+repack`) removed; `+really` gives what
/// follows it (`1.2+really1.1` is `1.1`).
pub(crate) fn upstream_version(debian: &str) -> String {
    let no_epoch = match debian.split_once(':') {
        Some((epoch, rest)) if epoch.bytes().all(|b| b.is_ascii_digit()) => rest,
        _ => debian,
    };
    let no_revision = match no_epoch.rsplit_once('-') {
        Some((upstream, _)) if !upstream.is_empty() => upstream,
        _ => no_epoch,
    };
    let mut version = no_revision;
    if let Some((_, really)) = version.split_once("+really") {
        version = really;
    }
    for marker in [
        "+dfsg", ".dfsg", "~dfsg", "+ds", ".ds", "~ds", "+repack", "~repack", ".repack", "+debian",
    ] {
        if let Some(at) = version.find(marker) {
            version = version.get(..at).unwrap_or(version);
        }
    }
    version.to_owned()
}

/// Orders two Debian versions as dpkg does (epoch, then upstream, then revision; `~` sorts
/// before everything, letters before other characters).
pub(crate) fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    fn split(version: &str) -> (u64, &str, &str) {
        let (epoch, rest) = match version.split_once(':') {
            Some((epoch, rest)) => (epoch.parse().unwrap_or(0), rest),
            None => (0, version),
        };
        match rest.rsplit_once('-') {
            Some((upstream, revision)) => (epoch, upstream, revision),
            None => (epoch, rest, ""),
        }
    }
    fn order(c: Option<u8>) -> i32 {
        match c {
            None => 0,
            Some(b'~') => -1,
            Some(c) if c.is_ascii_alphabetic() => i32::from(c),
            Some(c) => i32::from(c) + 256,
        }
    }
    fn part(mut a: &[u8], mut b: &[u8]) -> std::cmp::Ordering {
        while !a.is_empty() || !b.is_empty() {
            loop {
                let (ca, cb) = (a.first().copied(), b.first().copied());
                let digit_a = ca.is_none_or(|c| c.is_ascii_digit());
                let digit_b = cb.is_none_or(|c| c.is_ascii_digit());
                if digit_a && digit_b {
                    break;
                }
                let ordering = order(ca.filter(|c| !c.is_ascii_digit()))
                    .cmp(&order(cb.filter(|c| !c.is_ascii_digit())));
                if ordering.is_ne() {
                    return ordering;
                }
                a = a.get(1..).unwrap_or_default();
                b = b.get(1..).unwrap_or_default();
            }
            let digits = |s: &[u8]| s.iter().take_while(|c| c.is_ascii_digit()).count();
            let (na, nb) = (digits(a), digits(b));
            let value = |s: &[u8]| {
                s.iter()
                    .fold(0u128, |acc, c| acc * 10 + u128::from(c - b'0'))
            };
            let ordering =
                value(a.get(..na).unwrap_or_default()).cmp(&value(b.get(..nb).unwrap_or_default()));
            if ordering.is_ne() {
                return ordering;
            }
            a = a.get(na..).unwrap_or_default();
            b = b.get(nb..).unwrap_or_default();
        }
        std::cmp::Ordering::Equal
    }
    let (ea, ua, ra) = split(a);
    let (eb, ub, rb) = split(b);
    ea.cmp(&eb)
        .then_with(|| part(ua.as_bytes(), ub.as_bytes()))
        .then_with(|| part(ra.as_bytes(), rb.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_versions() {
        for (debian, upstream) in [
            ("1:1.35.0-4+deb12u1+b1", "1.35.0"),
            ("1:1.2.13.dfsg-1", "1.2.13"),
            ("2:2.10-12+deb12u3", "2.10"),
            ("9.2p1-2+deb12u3", "9.2p1"),
            ("3.0.11-1~deb12u2", "3.0.11"),
            ("2.4.0+dfsg-1", "2.4.0"),
            ("1.9.1+ds-2", "1.9.1"),
            ("2.36.1-8+deb12u2", "2.36.1"),
            ("30+20221128-1", "30+20221128"),
            ("1.2+really1.1-3", "1.1"),
            ("0.9.8", "0.9.8"),
            ("2022.83-1+deb12u3", "2022.83"),
        ] {
            assert_eq!(upstream_version(debian), upstream, "{debian}");
        }
    }

    #[test]
    fn version_order_is_dpkg_order() {
        use std::cmp::Ordering::{Greater, Less};
        assert_eq!(compare_versions("1.0~rc1-1", "1.0-1"), Less);
        assert_eq!(compare_versions("1:0.9", "2.0"), Greater);
        assert_eq!(compare_versions("1.10-1", "1.9-3"), Greater);
        assert_eq!(compare_versions("1.0a-1", "1.0-1"), Greater);
        assert_eq!(compare_versions("1.0-1+b1", "1.0-1"), Greater);
        assert_eq!(
            compare_versions("2.10-12+deb12u3", "2.10-12+deb12u2"),
            Greater
        );
    }

    #[test]
    fn packages_index_paragraphs() {
        let text = "Package: busybox-static\nSource: busybox (1:1.35.0-4)\nVersion: 1:1.35.0-4+b3\nArchitecture: armhf\nDepends: libc6\nFilename: pool/main/b/busybox/busybox-static_1.35.0-4+b3_armhf.deb\nSize: 1234\nSHA256: 0000000000000000000000000000000000000000000000000000000000000001\nSection: shells\nDescription: Standalone rescue shell\n with tons of builtin utilities\nHomepage: http://www.busybox.net\n\nPackage: broken\nVersion: 1\n\nPackage: zlib1g\nVersion: 1:1.2.13.dfsg-1\nArchitecture: armhf\nPre-Depends: libc6 (>= 2.4)\nFilename: pool/main/z/zlib/zlib1g_1.2.13.dfsg-1_armhf.deb\nSize: 10\nSHA256: 00000000000000000000000000000000000000000000000000000000000000AB\n";
        let packages = parse_packages(text, "bookworm");
        assert_eq!(packages.len(), 2);
        let busybox = &packages[0];
        assert_eq!(busybox.source, "busybox");
        assert_eq!(busybox.source_version, "1:1.35.0-4");
        assert_eq!(busybox.summary, "Standalone rescue shell");
        assert_eq!(busybox.homepage.as_deref(), Some("http://www.busybox.net"));
        assert_eq!(busybox.size, 1234);
        let zlib = &packages[1];
        assert_eq!(
            (zlib.source.as_str(), zlib.source_version.as_str()),
            ("zlib1g", "1:1.2.13.dfsg-1")
        );
        assert_eq!(zlib.depends, "libc6 (>= 2.4)");
        assert!(zlib.sha256.ends_with("ab"));
    }

    #[test]
    fn release_lists_sha256_sums() {
        let text = "Origin: Debian\nArchitectures: all amd64 armhf\nMD5Sum:\n 00 1 main/binary-armhf/Packages.xz\nSHA256:\n AB 12 main/binary-armhf/Packages.xz\n cd 34 main/binary-armhf/Release\n";
        let release = Release::parse("bookworm", text).unwrap();
        assert_eq!(release.architectures, ["all", "amd64", "armhf"]);
        assert_eq!(
            release.files.get("main/binary-armhf/Packages.xz"),
            Some(&("ab".to_owned(), 12))
        );
        assert!(Release::parse("bookworm", "Origin: Debian\n").is_err());
    }
}
