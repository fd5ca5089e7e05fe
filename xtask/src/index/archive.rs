//! A small client for a Debian archive mirror, and readers for its `Packages` and `Contents` files.
//!
//! - [`Archive::release`] fetches `dists/<suite>/InRelease`, checks its signature with `gpgv` against
//!   Debian's archive keyring (fail closed: no keyring or a bad signature is an error) and reads the
//!   sha256 of every index file it lists.
//! - [`Archive::index_file`] fetches one of those files (`main/Contents-amd64.gz`) and
//!   [`Archive::pool_file`] a `.deb` named by a `Packages` entry; both are checked against the sha256
//!   the signed release (or the `Packages` entry it pins) gives, and kept in a content-addressed
//!   cache (`target/debian-cache/by-sha256/`), so a second run reads the disk.
//! - [`packages`] and [`contents`] parse the two text formats.
//!
//! Downloads go through `curl`, the only network tool the recipe needs.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest as _, Sha256};

/// Debian's archive keyring, as the `debian-archive-keyring` package installs it.
pub(crate) const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";
/// The mirror the recipes use unless told otherwise.
pub(crate) const MIRROR: &str = "http://deb.debian.org/debian";

/// Why a file could not be had.
#[derive(Debug)]
pub(crate) enum FetchError {
    /// The mirror served bytes whose sha256 is not the one the signed release (or `Packages`
    /// entry) gives: a mirror half-way through an update. The bytes are never used.
    Mismatch(String),
    /// Anything else: no network, no such file, a disk error.
    Other(String),
}

impl From<FetchError> for String {
    fn from(err: FetchError) -> Self {
        match err {
            FetchError::Mismatch(message) | FetchError::Other(message) => message,
        }
    }
}

impl From<String> for FetchError {
    fn from(message: String) -> Self {
        Self::Other(message)
    }
}

/// A mirror and the cache its files are kept in.
pub(crate) struct Archive {
    mirror: String,
    cache: PathBuf,
    keyring: PathBuf,
}

/// What a signed `InRelease` says.
pub(crate) struct Release {
    pub(crate) suite: String,
    /// The `Date:` field.
    pub(crate) date: String,
    /// The sha256 of the `InRelease` file itself.
    pub(crate) sha256: String,
    pub(crate) components: Vec<String>,
    pub(crate) architectures: Vec<String>,
    /// Every index file the release lists: path under `dists/<suite>/` to (sha256, size).
    pub(crate) files: BTreeMap<String, (String, u64)>,
}

impl Archive {
    pub(crate) fn new(mirror: &str, cache: &Path) -> Self {
        Self {
            mirror: mirror.trim_end_matches('/').to_owned(),
            cache: cache.to_owned(),
            keyring: PathBuf::from(KEYRING),
        }
    }

    pub(crate) fn mirror(&self) -> &str {
        &self.mirror
    }

    /// Fetches and verifies `dists/<suite>/InRelease`.
    pub(crate) fn release(&self, suite: &str) -> Result<Release, String> {
        if !self.keyring.is_file() {
            return Err(format!(
                "{} is missing, so the archive's signature cannot be checked\nhint: apt-get install debian-archive-keyring",
                self.keyring.display()
            ));
        }
        let dir = self.cache.join("releases");
        std::fs::create_dir_all(&dir)
            .map_err(|err| format!("creating {}: {err}", dir.display()))?;
        let signed = dir.join(format!("{suite}.InRelease"));
        let url = format!("{}/dists/{suite}/InRelease", self.mirror);
        download(&url, &signed)?;
        let output = Command::new("gpgv")
            .arg("--keyring")
            .arg(&self.keyring)
            .arg("--output")
            .arg("-")
            .arg(&signed)
            .output()
            .map_err(|err| format!("could not run gpgv: {err}\nhint: apt-get install gpgv"))?;
        if !output.status.success() {
            return Err(format!(
                "{url}: the signature does not verify against {}:\n{}",
                self.keyring.display(),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let bytes =
            std::fs::read(&signed).map_err(|err| format!("reading {}: {err}", signed.display()))?;
        let text = String::from_utf8(output.stdout)
            .map_err(|_| format!("{url}: the signed text is not UTF-8"))?;
        parse_release(suite, &text, &sha256_hex(&bytes))
    }

    /// Fetches one index file of a release and returns its bytes, decompressed when it ends in
    /// `.gz`.
    pub(crate) fn index_file(&self, release: &Release, path: &str) -> Result<Vec<u8>, FetchError> {
        let mut bytes = Vec::new();
        self.index_reader(release, path)?
            .read_to_end(&mut bytes)
            .map_err(|err| format!("{}/dists/{}/{path}: {err}", self.mirror, release.suite))?;
        Ok(bytes)
    }

    /// Like [`Self::index_file`], as a stream (a `Contents` file inflates to hundreds of MB).
    pub(crate) fn index_reader(
        &self,
        release: &Release,
        path: &str,
    ) -> Result<Box<dyn std::io::BufRead>, FetchError> {
        let Some((sha256, _)) = release.files.get(path) else {
            return Err(FetchError::Other(format!(
                "{} does not list {path}",
                self.release_url(&release.suite)
            )));
        };
        let url = format!("{}/dists/{}/{path}", self.mirror, release.suite);
        let file = self.cached(&url, sha256)?;
        let file = std::fs::File::open(&file)
            .map_err(|err| format!("reading {}: {err}", file.display()))?;
        let file = std::io::BufReader::with_capacity(1 << 20, file);
        let gzip = Path::new(path)
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("gz"));
        Ok(if gzip {
            Box::new(std::io::BufReader::with_capacity(
                1 << 20,
                flate2::read::MultiGzDecoder::new(file),
            ))
        } else {
            Box::new(file)
        })
    }

    /// Fetches a file of the pool (`pool/main/z/zlib/zlib1g_…deb`) whose sha256 a `Packages` entry
    /// gives, and returns where it is cached.
    pub(crate) fn pool_file(&self, filename: &str, sha256: &str) -> Result<PathBuf, FetchError> {
        if filename.contains("..") || filename.starts_with('/') {
            return Err(FetchError::Other(format!(
                "`{filename}` is not a path inside the archive"
            )));
        }
        self.cached(&format!("{}/{filename}", self.mirror), sha256)
    }

    fn release_url(&self, suite: &str) -> String {
        format!("{}/dists/{suite}/InRelease", self.mirror)
    }

    /// The cached copy of `url`, downloaded if it is missing; either way its sha256 must be `want`.
    fn cached(&self, url: &str, want: &str) -> Result<PathBuf, FetchError> {
        if want.len() != 64 || !want.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(FetchError::Other(format!(
                "{url}: `{want}` is not a sha256"
            )));
        }
        let dir = self.cache.join("by-sha256");
        std::fs::create_dir_all(&dir)
            .map_err(|err| format!("creating {}: {err}", dir.display()))?;
        let path = dir.join(want.to_ascii_lowercase());
        if path.is_file() && sha256_file(&path)? == want {
            return Ok(path);
        }
        let partial = dir.join(format!("{want}.part"));
        download(url, &partial)?;
        let got = sha256_file(&partial)?;
        if got != want {
            let _ = std::fs::remove_file(&partial);
            return Err(FetchError::Mismatch(format!(
                "{url}: sha256 {got}, the signed index says {want}\nhint: the mirror may be updating; run again later"
            )));
        }
        std::fs::rename(&partial, &path)
            .map_err(|err| format!("moving {} into place: {err}", partial.display()))?;
        Ok(path)
    }
}

fn download(url: &str, to: &Path) -> Result<(), String> {
    eprintln!("fetch {url}");
    let status = Command::new("curl")
        .args([
            "--fail",
            "--silent",
            "--show-error",
            "--location",
            "--retry",
            "3",
        ])
        .arg("--output")
        .arg(to)
        .arg(url)
        .status()
        .map_err(|err| format!("could not run curl: {err}\nhint: apt-get install curl"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("curl could not fetch {url} ({status})"))
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn sha256_file(path: &Path) -> Result<String, String> {
    let mut file =
        std::fs::File::open(path).map_err(|err| format!("reading {}: {err}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file
            .read(&mut buffer)
            .map_err(|err| format!("reading {}: {err}", path.display()))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Reads the fields of a release file the recipes need.
fn parse_release(suite: &str, text: &str, sha256: &str) -> Result<Release, String> {
    let mut release = Release {
        suite: suite.to_owned(),
        date: String::new(),
        sha256: sha256.to_owned(),
        components: Vec::new(),
        architectures: Vec::new(),
        files: BTreeMap::new(),
    };
    let mut in_sha256 = false;
    for line in text.lines() {
        if let Some(entry) = line.strip_prefix(' ') {
            if in_sha256 {
                let mut fields = entry.split_whitespace();
                if let (Some(hash), Some(size), Some(path), None) =
                    (fields.next(), fields.next(), fields.next(), fields.next())
                {
                    let size = size
                        .parse()
                        .map_err(|_| format!("{suite} InRelease: bad size in `{line}`"))?;
                    release
                        .files
                        .insert(path.to_owned(), (hash.to_owned(), size));
                }
            }
            continue;
        }
        in_sha256 = false;
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key {
            "Date" => value.clone_into(&mut release.date),
            "Components" => {
                release.components = value.split_whitespace().map(str::to_owned).collect();
            }
            "Architectures" => {
                release.architectures = value.split_whitespace().map(str::to_owned).collect();
            }
            "SHA256" => in_sha256 = true,
            _ => {}
        }
    }
    if release.files.is_empty() {
        return Err(format!("{suite} InRelease lists no SHA256 files"));
    }
    Ok(release)
}

/// One binary package of a `Packages` file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(
    clippy::struct_field_names,
    reason = "the fields are named after the control fields, `Package:` among them"
)]
pub(crate) struct Package {
    pub(crate) package: String,
    pub(crate) version: String,
    /// The source package (the binary's own name when the field is absent).
    pub(crate) source: String,
    /// The source version (the binary's version when `Source:` names none).
    pub(crate) source_version: String,
    pub(crate) architecture: String,
    pub(crate) section: String,
    pub(crate) homepage: Option<String>,
    pub(crate) filename: String,
    pub(crate) sha256: String,
    /// KiB.
    pub(crate) installed_size: u64,
}

/// Parses a `Packages` file. Paragraphs without `Package:` are skipped.
pub(crate) fn packages(text: &str) -> Vec<Package> {
    let mut out = Vec::new();
    for paragraph in text.split("\n\n") {
        let mut package = Package::default();
        let mut source = None;
        for line in paragraph.lines() {
            if line.starts_with([' ', '\t']) {
                continue;
            }
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match key {
                "Package" => value.clone_into(&mut package.package),
                "Version" => value.clone_into(&mut package.version),
                "Source" => source = Some(value.to_owned()),
                "Architecture" => value.clone_into(&mut package.architecture),
                "Section" => value.clone_into(&mut package.section),
                "Homepage" => package.homepage = Some(value.to_owned()),
                "Filename" => value.clone_into(&mut package.filename),
                "SHA256" => value.clone_into(&mut package.sha256),
                "Installed-Size" => package.installed_size = value.parse().unwrap_or(0),
                _ => {}
            }
        }
        if package.package.is_empty() {
            continue;
        }
        // `Source: name (version)` when the source version differs from the binary's.
        if let Some(mut words) = source.as_deref().map(str::split_whitespace) {
            words
                .next()
                .unwrap_or(&package.package)
                .clone_into(&mut package.source);
            package.source_version = words.next().map_or_else(
                || package.version.clone(),
                |v| v.trim_matches(|c| c == '(' || c == ')').to_owned(),
            );
        } else {
            package.source.clone_from(&package.package);
            package.source_version.clone_from(&package.version);
        }
        // `contrib/net` and `non-free/utils` name the component too; the section is the last part.
        if let Some(slash) = package.section.rfind('/') {
            package.section.drain(..=slash);
        }
        out.push(package);
    }
    out
}

/// Calls `each(path, packages)` for every line of a `Contents` file read from `reader`, where
/// `packages` are the (section, package) pairs the line names. Lines that are not `PATH  LIST`, or
/// not UTF-8, are skipped; `wanted` sees each path first, so most lines are never split.
pub(crate) fn contents(
    mut reader: impl std::io::BufRead,
    wanted: impl Fn(&str) -> bool,
    mut each: impl FnMut(&str, &[(&str, &str)]),
) -> Result<(), String> {
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        let read = reader
            .read_until(b'\n', &mut buffer)
            .map_err(|err| format!("reading a Contents file: {err}"))?;
        if read == 0 {
            return Ok(());
        }
        let Ok(line) = std::str::from_utf8(&buffer) else {
            continue;
        };
        let line = line.trim_end();
        if !wanted(line) {
            continue;
        }
        let Some(split) = line.rfind([' ', '\t']) else {
            continue;
        };
        let (path, list) = (line[..split].trim_end(), &line[split + 1..]);
        if path.is_empty() || list.is_empty() {
            continue;
        }
        let mut owners: Vec<(&str, &str)> = Vec::new();
        for entry in list.split(',') {
            let mut parts = entry.rsplit('/');
            let package = parts.next().unwrap_or_default();
            let section = parts.next().unwrap_or_default();
            if !package.is_empty() {
                owners.push((section, package));
            }
        }
        each(path, &owners);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_fields_and_files() {
        let text = "Origin: Debian\nSuite: stable\nDate: Sat, 11 Jul 2026 10:16:37 UTC\nArchitectures: all amd64\nComponents: main contrib\nMD5Sum:\n 0123 12 main/Contents-all.gz\nSHA256:\n cc80fbae45044eaa2eab0b7005e6cfd4bd72472d501c532d51aa26523e1ace6d 34017224 main/Contents-all.gz\n 6777ea16514725f9427f48c240d92e0a6b8496138e37a1491d8597e66774e309 12084798 main/binary-amd64/Packages.gz\n";
        let release = parse_release("bookworm", text, "ab").unwrap();
        assert_eq!(release.date, "Sat, 11 Jul 2026 10:16:37 UTC");
        assert_eq!(release.components, ["main", "contrib"]);
        assert_eq!(release.architectures, ["all", "amd64"]);
        assert_eq!(release.files.len(), 2);
        assert_eq!(
            release.files["main/Contents-all.gz"],
            (
                "cc80fbae45044eaa2eab0b7005e6cfd4bd72472d501c532d51aa26523e1ace6d".to_owned(),
                34_017_224
            )
        );
        assert!(parse_release("x", "Date: now\n", "ab").is_err());
    }

    #[test]
    fn packages_with_and_without_source() {
        let text = "Package: libssl3\nSource: openssl (3.0.15-1~deb12u1)\nVersion: 3.0.15-1~deb12u1+b1\nArchitecture: amd64\nSection: libs\nHomepage: https://www.openssl.org/\nInstalled-Size: 6000\nDescription: Secure Sockets Layer toolkit\n shared libraries\nFilename: pool/main/o/openssl/libssl3.deb\nSHA256: 00\n\nPackage: dropbear-bin\nVersion: 2022.83-1\nSource: dropbear\nSection: contrib/net\nArchitecture: armhf\n\nVersion: 1\n";
        let parsed = packages(text);
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].source, "openssl");
        assert_eq!(parsed[0].source_version, "3.0.15-1~deb12u1");
        assert_eq!(parsed[0].installed_size, 6000);
        assert_eq!(
            parsed[0].homepage.as_deref(),
            Some("https://www.openssl.org/")
        );
        assert_eq!(parsed[1].source, "dropbear");
        assert_eq!(parsed[1].source_version, "2022.83-1");
        assert_eq!(parsed[1].section, "net");
    }

    #[test]
    fn contents_lines() {
        let text = b"usr/bin/dropbear                  net/dropbear-bin\nusr/lib/x86_64-linux-gnu/libz.so.1 libs/zlib1g,non-free/libs/other\nbroken\nusr/share/doc/a b/c text/x\n";
        let mut seen = Vec::new();
        contents(
            &text[..],
            |_| true,
            |path, owners| {
                let owners = owners
                    .iter()
                    .map(|(s, p)| format!("{s}/{p}"))
                    .collect::<Vec<_>>();
                seen.push((path.to_owned(), owners));
            },
        )
        .unwrap();
        assert_eq!(seen.len(), 3);
        assert_eq!(
            seen[0],
            (
                "usr/bin/dropbear".to_owned(),
                vec!["net/dropbear-bin".to_owned()]
            )
        );
        assert_eq!(seen[1].1, ["libs/zlib1g", "libs/other"]);
        assert_eq!(seen[2].0, "usr/share/doc/a b/c");
    }
}
