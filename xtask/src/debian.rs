//! The Debian archive as a source of real binaries: signed indices, verified downloads, a cache.
//!
//! The one Debian client of the xtask: `cargo xtask kb` (signatures cut from and tested on real
//! packages) and `cargo xtask heldout` (firmware images built from held-out suites) both use it.
//! Everything goes over plain HTTP to `$CONSIGN_DEBIAN_MIRROR`, else the first `.../debian` archive
//! of the host's apt sources, else `http://deb.debian.org/debian`, and nothing is trusted on the
//! way:
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
//! Also here, because every user of Debian metadata needs the same answers: control-stanza and
//! relation parsing, Debian version ordering (Debian Policy 5.6.12), the upstream release of a
//! Debian version, and [`Deb`], a fetched package read and unpacked with `dpkg-deb` (for the
//! held-out images, which need the files exactly as dpkg would install them).
//!
//! ```text
//! let archive = Archive::open(Archive::default_cache())?;
//! let index = archive.index("bookworm", "main", "armhf")?;
//! let busybox = index.newest("busybox").ok_or("no busybox")?;
//! let deb: PathBuf = archive.fetch(busybox)?;
//! ```

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use sha2::{Digest, Sha256};

/// The Debian mirror used when neither `$CONSIGN_DEBIAN_MIRROR` nor the host's apt sources name one.
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
    /// `Pre-Depends` and `Depends`: for each entry, its alternatives' package names.
    pub(crate) depends: Vec<Vec<String>>,
    /// The virtual packages it provides.
    pub(crate) provides: Vec<String>,
    /// `Built-Using`, as written (the sources statically linked in).
    pub(crate) built_using: String,
    /// The first line of the description.
    pub(crate) summary: String,
    /// The suite of the index this entry came from.
    pub(crate) suite: String,
}

/// A `Packages` index of one suite, component and architecture.
#[derive(Default)]
pub(crate) struct Index {
    /// `main`, ...
    pub(crate) component: String,
    /// The index's architecture (`armhf`, or `all`).
    pub(crate) arch: String,
    /// The `Date` of the suite's signed release, when the index was read from the archive.
    pub(crate) date: Option<String>,
    /// Every entry, in index order.
    pub(crate) packages: Vec<Package>,
    /// Package name to the positions of its entries in `packages`, oldest version first.
    by_name: BTreeMap<String, Vec<usize>>,
    /// Virtual package to the packages that provide it, sorted by name.
    providers: BTreeMap<String, Vec<String>>,
}

impl Index {
    /// The index of `packages` (one `Packages` file's entries).
    pub(crate) fn new(component: &str, arch: &str, packages: Vec<Package>) -> Self {
        let mut by_name: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut providers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (at, package) in packages.iter().enumerate() {
            by_name.entry(package.name.clone()).or_default().push(at);
            for provided in &package.provides {
                providers
                    .entry(provided.clone())
                    .or_default()
                    .push(package.name.clone());
            }
        }
        for positions in by_name.values_mut() {
            positions.sort_by(|a, b| match (packages.get(*a), packages.get(*b)) {
                (Some(a), Some(b)) => compare_versions(&a.version, &b.version),
                _ => Ordering::Equal,
            });
        }
        for names in providers.values_mut() {
            names.sort();
            names.dedup();
        }
        Self {
            component: component.to_owned(),
            arch: arch.to_owned(),
            date: None,
            packages,
            by_name,
            providers,
        }
    }

    /// The index of the text of a `Packages` file.
    #[cfg(test)]
    pub(crate) fn parse(text: &str) -> Self {
        Self::new("main", "", parse_packages(text, ""))
    }

    /// The entry of binary package `name` (the highest version if several are listed).
    pub(crate) fn newest(&self, name: &str) -> Option<&Package> {
        self.by_name
            .get(name)
            .and_then(|positions| positions.last())
            .and_then(|at| self.packages.get(*at))
    }

    /// The packages that provide the virtual package `name`, sorted by name.
    pub(crate) fn providers(&self, name: &str) -> &[String] {
        self.providers.get(name).map_or(&[], Vec::as_slice)
    }

    /// The newest entry of every package name.
    pub(crate) fn newest_each(&self) -> impl Iterator<Item = &Package> {
        self.by_name
            .values()
            .filter_map(|positions| positions.last())
            .filter_map(|at| self.packages.get(*at))
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

    /// The archive at [`mirror`] cached under `cache`.
    pub(crate) fn open(cache: PathBuf) -> Result<Self, String> {
        fs::create_dir_all(&cache)
            .map_err(|err| format!("cannot create the cache {}: {err}", cache.display()))?;
        let mirror = mirror();
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
            self.get(&format!("dists/{suite}/InRelease"), &path, None)?;
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
            if self.get(&by_hash, &path, Some(sha256)).is_err() {
                self.get(&format!("dists/{suite}/{name}"), &path, Some(sha256))?;
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
        let mut index = Index::new(component, arch, parse_packages(&text, suite));
        index.date = release.date;
        Ok(index)
    }

    /// Where `package`'s `.deb` sits in the cache (whether or not it was fetched yet).
    pub(crate) fn deb_path(&self, package: &Package) -> PathBuf {
        self.cache.join(&package.filename)
    }

    /// The `.deb` of `package`, from the cache or the mirror, with the SHA-256 its index gives.
    pub(crate) fn fetch(&self, package: &Package) -> Result<PathBuf, String> {
        self.download(&package.filename, package.size, &package.sha256)
            .map(|deb| deb.path)
    }

    /// The archive file `filename` (a `pool/...` path, as an index or a lock pins it), from the
    /// cache or the mirror; its size and SHA-256 are checked either way.
    pub(crate) fn download(&self, filename: &str, size: u64, sha256: &str) -> Result<Deb, String> {
        if filename.contains("..") || filename.starts_with('/') || filename.is_empty() {
            return Err(format!("unsafe archive file name `{filename}`"));
        }
        let path = self.cache.join(filename);
        if let Ok(data) = fs::read(&path) {
            if data.len() as u64 == size && sha256_hex(&data) == sha256 {
                return Ok(Deb { path });
            }
            eprintln!(
                "{} does not match its index entry; downloading it again",
                path.display()
            );
        }
        self.get(filename, &path, Some(sha256)).map_err(|err| {
            format!("{err}\n\nhint: a point release may have replaced this version; pick the packages again from today's index (held-out images: `cargo xtask heldout --update-lock`)")
        })?;
        let got = fs::metadata(&path).map_or(0, |m| m.len());
        if got != size {
            let _ = fs::remove_file(&path);
            return Err(format!(
                "{}: {got} bytes, but the index gives {size}",
                path.display()
            ));
        }
        Ok(Deb { path })
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
    fn get(&self, relative: &str, path: &Path, sha256: Option<&str>) -> Result<(), String> {
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
        // One partial file per process: two `xtask` runs sharing the cache may fetch the same file.
        let partial = path.with_extension(format!("part.{}", std::process::id()));
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
                .filter_map(|index| index.newest(name))
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
    /// Its `Date`.
    pub(crate) date: Option<String>,
    /// Index files: path below `dists/<suite>/` to (SHA-256, size).
    pub(crate) files: BTreeMap<String, (String, u64)>,
}

impl Release {
    fn parse(suite: &str, text: &str) -> Result<Self, String> {
        let mut architectures = Vec::new();
        let mut date = None;
        let mut files = BTreeMap::new();
        let mut in_sha256 = false;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("Architectures:") {
                architectures = rest.split_whitespace().map(str::to_owned).collect();
            }
            if let Some(rest) = line.strip_prefix("Date:") {
                date = Some(rest.trim().to_owned());
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
            date,
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

/// Parses a `Packages` index; entries without a file name or hash are left out.
pub(crate) fn parse_packages(text: &str, suite: &str) -> Vec<Package> {
    let mut packages = Vec::new();
    for fields in stanzas(text) {
        let field = |key: &str| fields.get(key).cloned().unwrap_or_default();
        let name = field("Package");
        let version = field("Version");
        let filename = field("Filename");
        let sha256 = field("SHA256").to_ascii_lowercase();
        if name.is_empty() || version.is_empty() || filename.is_empty() || sha256.is_empty() {
            continue;
        }
        let (source, source_version) = source_of(fields.get("Source").map(String::as_str))
            .unwrap_or_else(|| (name.clone(), version.clone()));
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
        packages.push(Package {
            size: field("Size").parse().unwrap_or(0),
            architecture: field("Architecture"),
            section: field("Section"),
            homepage: fields.get("Homepage").cloned(),
            built_using: field("Built-Using"),
            summary: field("Description").lines().next().unwrap_or("").to_owned(),
            depends,
            provides,
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

/// `Source: name (version)` or `Source: name`; the version is empty when not given.
fn source_of(value: Option<&str>) -> Option<(String, String)> {
    let value = value?.trim();
    if value.is_empty() {
        return None;
    }
    let (name, rest) = value.split_once(' ').unwrap_or((value, ""));
    let version = rest
        .trim()
        .strip_prefix('(')
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or("")
        .trim();
    Some((name.to_owned(), version.to_owned()))
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

/// The mirror: `$CONSIGN_DEBIAN_MIRROR`, else the first Debian archive URI of the host's apt
/// sources (`/etc/apt/sources.list`, `sources.list.d/`), else [`MIRROR`].
fn mirror() -> String {
    if let Ok(url) = std::env::var("CONSIGN_DEBIAN_MIRROR")
        && !url.trim().is_empty()
    {
        return url.trim().trim_end_matches('/').to_owned();
    }
    let mut texts = Vec::new();
    if let Ok(text) = fs::read_to_string("/etc/apt/sources.list") {
        texts.push(text);
    }
    if let Ok(entries) = fs::read_dir("/etc/apt/sources.list.d") {
        let mut paths: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
        paths.sort();
        for path in paths {
            let name = path.to_string_lossy();
            if (name.ends_with(".list") || name.ends_with(".sources"))
                && let Ok(text) = fs::read_to_string(&path)
            {
                texts.push(text);
            }
        }
    }
    texts
        .iter()
        .find_map(|text| debian_uri(text))
        .unwrap_or_else(|| MIRROR.to_owned())
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

/// A downloaded, verified `.deb` ([`Archive::download`]).
#[derive(Debug, Clone)]
pub(crate) struct Deb {
    pub(crate) path: PathBuf,
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
        fs::create_dir_all(dest).map_err(|err| format!("creating {}: {err}", dest.display()))?;
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
        fs::create_dir_all(dest).map_err(|err| format!("creating {}: {err}", dest.display()))?;
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
        assert_eq!(zlib.depends, [["libc6"]]);
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
        assert_eq!(index.newest_each().count(), 1);
        let newest = index.newest("a").unwrap();
        assert_eq!(
            (newest.version.as_str(), newest.sha256.as_str()),
            ("1.0-10", "cd")
        );
        assert_eq!(newest.source, "a");
        assert_eq!(index.providers("virt"), ["a"]);
        assert_eq!(index.packages[0].sha256, "ab");
        assert!(index.providers("none").is_empty());
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
