//! A product's releases in Debian: which suite and architecture, which binary packages, and
//! their files, unpacked by consign itself.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use consign_model::{NodeKind, Vfs, VfsNode};

use super::products::Product;
use crate::debian::{Archive, Index, Package, SUITES, compare_versions, upstream_version};

/// The architectures tried in each suite, in order: embedded CPUs first, a different one per
/// suite where the suite has it, so that releases also differ in architecture. `bookworm` is
/// where new patterns are cut (the shared corpus is bookworm too). The pairs `xtask/heldout.toml`
/// holds out for `cargo xtask heldout` ([`HeldOut`]) are skipped: nothing is cut from or tested
/// on them.
pub(crate) const ARCHES: [(&str, &[&str]); 4] = [
    ("bullseye", &["armhf", "arm64", "i386", "amd64"]),
    (
        "bookworm",
        &["armhf", "mipsel", "arm64", "mips64el", "i386", "amd64"],
    ),
    (
        "trixie",
        &["arm64", "riscv64", "armel", "armhf", "i386", "amd64"],
    ),
    (
        "sid",
        &["riscv64", "arm64", "loong64", "armhf", "i386", "amd64"],
    ),
];
/// The suite new patterns are cut from.
pub(crate) const CUT_SUITE: &str = "bookworm";
/// Most binary packages read per product and release when the product list does not name them.
const MAX_BINARIES: usize = 6;
/// Most bytes of `.deb`s read per product and release when the product list does not name them.
const MAX_RELEASE_BYTES: u64 = 120 << 20;
/// Binary packages that never hold the product's code.
const SKIP_SUFFIXES: &[&str] = &[
    "-dev",
    "-doc",
    "-dbg",
    "-dbgsym",
    "-udeb",
    "-locales",
    "-l10n",
    "-examples",
    "-tests",
    "-test",
    "-headers",
    "-source",
    "-src",
];

/// The suite/architecture pairs of the held-out evaluation, read from `xtask/heldout.toml`
/// (`target[].suite`, `target[].arch`): the knowledge base never reads a package of one, so no
/// pattern is cut from them and no test comes from them.
#[derive(Clone, Debug, Default)]
pub(crate) struct HeldOut {
    pairs: BTreeSet<(String, String)>,
}

impl HeldOut {
    /// The pairs of the committed recipe.
    pub(crate) fn read() -> Result<Self, String> {
        let (recipe, _) =
            crate::heldout::recipe::Recipe::read(&crate::heldout::Paths::new().recipe)?;
        Ok(Self::of(&crate::heldout::recipe::pairs(&recipe)))
    }

    /// The pairs from their `suite/arch` spellings.
    pub(crate) fn of(pairs: &[String]) -> Self {
        Self {
            pairs: pairs
                .iter()
                .filter_map(|pair| pair.split_once('/'))
                .map(|(suite, arch)| (suite.to_owned(), arch.to_owned()))
                .collect(),
        }
    }

    pub(crate) fn contains(&self, suite: &str, arch: &str) -> bool {
        self.pairs.contains(&(suite.to_owned(), arch.to_owned()))
    }

    /// True when a test origin (`Debian bullseye radvd 1:2.18-3 (armhf), usr/sbin/radvd, ...`)
    /// names a package of a held-out pair.
    pub(crate) fn holds_origin(&self, origin: &str) -> bool {
        origin_pair(origin).is_some_and(|(suite, arch)| self.contains(suite, arch))
    }

    /// The architectures of [`ARCHES`] tried in `suite`, held-out ones left out.
    pub(crate) fn arches(&self, suite: &str) -> Vec<&'static str> {
        ARCHES
            .iter()
            .filter(|(s, _)| *s == suite)
            .flat_map(|(_, arches)| arches.iter().copied())
            .filter(|arch| !self.contains(suite, arch))
            .collect()
    }
}

/// The loaded indices: (suite, arch) to index, loaded on first use.
pub(crate) struct Indices<'a> {
    archive: &'a Archive,
    held_out: HeldOut,
    loaded: BTreeMap<(String, String), Option<Index>>,
}

impl<'a> Indices<'a> {
    pub(crate) fn new(archive: &'a Archive, held_out: HeldOut) -> Self {
        Self {
            archive,
            held_out,
            loaded: BTreeMap::new(),
        }
    }

    /// The held-out pairs this never reads.
    pub(crate) fn held_out(&self) -> &HeldOut {
        &self.held_out
    }

    /// The `main` index of `suite`/`arch`; `None` when the suite does not carry the architecture
    /// or the pair is held out.
    pub(crate) fn get(&mut self, suite: &str, arch: &str) -> Result<Option<&Index>, String> {
        if self.held_out.contains(suite, arch) {
            return Ok(None);
        }
        let key = (suite.to_owned(), arch.to_owned());
        if !self.loaded.contains_key(&key) {
            let release = self.archive.release(suite)?;
            let index = if arch == "all" {
                // Architecture-independent packages rarely hold code; an index the mirror
                // serves out of step with the signed InRelease is left out (never used
                // unverified), with a warning.
                match self.archive.index(suite, "main", arch) {
                    Ok(index) => Some(index),
                    Err(err) => {
                        eprintln!("warning: Debian {suite} binary-all left out: {err}");
                        None
                    }
                }
            } else if release.architectures.iter().any(|a| a == arch) {
                Some(self.archive.index(suite, "main", arch)?)
            } else {
                None
            };
            self.loaded.insert(key.clone(), index);
        }
        Ok(self.loaded.get(&key).and_then(Option::as_ref))
    }
}

/// One upstream release of a product as one Debian suite ships it.
#[derive(Clone, Debug)]
pub(crate) struct Release {
    pub(crate) suite: String,
    pub(crate) arch: String,
    /// The source package's Debian version.
    pub(crate) debian_version: String,
    /// The upstream release in it.
    pub(crate) upstream: String,
    /// The binary packages read.
    pub(crate) packages: Vec<Package>,
    /// Packages that link the product, read for negative evidence.
    pub(crate) users: Vec<Package>,
}

impl Release {
    /// `bookworm/armhf`: the suite and architecture, the key of one build of a release.
    pub(crate) fn key(&self) -> String {
        format!("{}/{}", self.suite, self.arch)
    }

    /// `Debian bookworm busybox 1:1.35.0-4 (armhf)`.
    pub(crate) fn describe(&self, package: &Package) -> String {
        format!(
            "Debian {} {} {} ({})",
            self.suite, package.name, package.version, package.architecture
        )
    }
}

fn useful(package: &Package) -> bool {
    !SKIP_SUFFIXES
        .iter()
        .any(|suffix| package.name.ends_with(suffix))
        && package.section != "debian-installer"
        && !package.name.starts_with("python3-")
        && !package.name.starts_with("golang-")
}

/// The product's release in each suite where Debian ships it, on the first architecture of
/// [`ARCHES`] (held-out pairs left out) that has it.
pub(crate) fn releases(
    indices: &mut Indices<'_>,
    product: &Product,
) -> Result<Vec<Release>, String> {
    let mut out = Vec::new();
    for (suite, _) in ARCHES {
        let arches = indices.held_out.arches(suite);
        out.extend(release_in(indices, product, suite, &arches)?);
    }
    Ok(out)
}

/// The product's release on every architecture of each suite (held-out pairs left out) where
/// Debian builds it: the same upstream release compiled by other compilers for other
/// instruction sets, where a pattern that depends on one build's string layout shows. A product
/// only in `Architecture: all` packages counts once per suite.
pub(crate) fn releases_all_arches(
    indices: &mut Indices<'_>,
    product: &Product,
) -> Result<Vec<Release>, String> {
    let mut out: Vec<Release> = Vec::new();
    for (suite, _) in ARCHES {
        for arch in indices.held_out.arches(suite) {
            if let Some(release) = release_in(indices, product, suite, &[arch])?
                && !(release.arch == "all"
                    && out.iter().any(|r| r.suite == suite && r.arch == "all"))
            {
                out.push(release);
            }
        }
    }
    Ok(out)
}

/// The product's release in `suite` on the first of `arches` that builds it (else from
/// `Architecture: all` packages alone).
fn release_in(
    indices: &mut Indices<'_>,
    product: &Product,
    suite: &str,
    arches: &[&str],
) -> Result<Option<Release>, String> {
    if product.debian.is_empty() {
        return Ok(None);
    }
    debug_assert!(SUITES.contains(&suite));
    let mut chosen: Option<(String, Vec<Package>)> = None;
    for arch in arches {
        let Some(index) = indices.get(suite, arch)? else {
            continue;
        };
        let found: Vec<Package> = product
            .debian
            .iter()
            .flat_map(|source| index.by_source(source))
            .cloned()
            .collect();
        if !found.is_empty() {
            chosen = Some(((*arch).to_owned(), found));
            break;
        }
    }
    let all: Vec<Package> = match indices.get(suite, "all")? {
        Some(index) => product
            .debian
            .iter()
            .flat_map(|source| index.by_source(source))
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    let (arch, mut candidates) = match chosen {
        Some((arch, found)) => (arch, found),
        None if !all.is_empty() => ("all".to_owned(), Vec::new()),
        None => return Ok(None),
    };
    candidates.extend(all);
    // Several versions of one source can sit in one index (sid during transitions): keep
    // the newest source version.
    let Some(newest) = candidates
        .iter()
        .map(|p| p.source_version.clone())
        .max_by(|a, b| compare_versions(a, b))
    else {
        return Ok(None);
    };
    candidates.retain(|p| p.source_version == newest);
    let packages = choose_binaries(product, candidates);
    if packages.is_empty() {
        return Ok(None);
    }
    let mut users = Vec::new();
    for name in &product.users {
        let found = match indices.get(suite, &arch)? {
            Some(index) => index.newest(name).cloned(),
            None => None,
        };
        let found = match found {
            Some(found) => Some(found),
            None => indices
                .get(suite, "all")?
                .and_then(|index| index.newest(name).cloned()),
        };
        users.extend(found);
    }
    Ok(Some(Release {
        suite: suite.to_owned(),
        arch,
        upstream: upstream_version(&newest),
        debian_version: newest,
        packages,
        users,
    }))
}

/// The binary packages worth reading: those the product list names, or the useful ones, the
/// product's own name first, then smaller ones, within [`MAX_BINARIES`] and [`MAX_RELEASE_BYTES`].
fn choose_binaries(product: &Product, mut candidates: Vec<Package>) -> Vec<Package> {
    candidates.sort_by(|a, b| {
        a.name
            .cmp(&b.name)
            .then(a.architecture.cmp(&b.architecture))
    });
    candidates.dedup_by(|a, b| a.name == b.name);
    if !product.binaries.is_empty() {
        return candidates
            .into_iter()
            .filter(|p| product.binaries.contains(&p.name))
            .collect();
    }
    candidates.retain(useful);
    // Transitional and meta packages (a few KiB of documentation) hold no code.
    candidates.retain(|p| p.size >= 8 << 10 || p.section == "libs");
    let named = |p: &Package| {
        p.name == product.name || product.debian.contains(&p.name) || p.name.starts_with("lib")
    };
    candidates.sort_by_key(|p| (!named(p), p.architecture == "all", p.size));
    let mut total = 0;
    let mut out = Vec::new();
    for package in candidates {
        if out.len() >= MAX_BINARIES || total + package.size > MAX_RELEASE_BYTES {
            continue;
        }
        total += package.size;
        out.push(package);
    }
    out
}

/// Downloads every package of the releases (and their users).
pub(crate) fn fetch(archive: &Archive, releases: &[Release]) -> Result<(), String> {
    let all: Vec<&Package> = releases
        .iter()
        .flat_map(|release| release.packages.iter().chain(&release.users))
        .collect();
    for (package, result) in all.iter().zip(archive.fetch_all(&all)) {
        result.map_err(|err| format!("{}: {err}", package.name))?;
    }
    Ok(())
}

/// One file of a package: its path inside the package and its bytes.
#[derive(Clone)]
pub(crate) struct PackageFile {
    pub(crate) package: Package,
    /// Path inside the package (`usr/bin/busybox`), or inside a compressed file in it
    /// (`usr/lib/modules/x.ko.xz/xz@0x0`).
    pub(crate) path: String,
    pub(crate) data: Bytes,
}

impl PackageFile {
    /// The file name detection sees.
    pub(crate) fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }

    /// A file at `path` of trixie's binary package `source` (built from the source package of that
    /// name) at Debian version `version`: what the judges of `bare` and `mirror` read in tests.
    #[cfg(test)]
    pub(crate) fn for_test(source: &str, version: &str, path: &str, data: &[u8]) -> Self {
        Self {
            package: Package {
                name: source.to_owned(),
                version: version.to_owned(),
                source: source.to_owned(),
                source_version: version.to_owned(),
                architecture: "armel".to_owned(),
                filename: String::new(),
                size: 0,
                sha256: String::new(),
                section: "net".to_owned(),
                homepage: None,
                depends: Vec::new(),
                provides: Vec::new(),
                built_using: String::new(),
                summary: String::new(),
                suite: "trixie".to_owned(),
            },
            path: path.to_owned(),
            data: Bytes::copy_from_slice(data),
        }
    }
}

/// Folders of a package that never hold code.
const SKIP_DIRS: &[&str] = &[
    "usr/share/doc/",
    "usr/share/man/",
    "usr/share/info/",
    "usr/share/locale/",
    "usr/share/lintian/",
    "usr/share/bug/",
];

/// The files of a fetched package, unpacked with consign (the `.deb`'s `ar`, its data tarball
/// and any compressed file inside).
pub(crate) fn files(archive: &Archive, package: &Package) -> Result<Vec<PackageFile>, String> {
    let path = archive.deb_path(package);
    let data =
        std::fs::read(&path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("package.deb")
        .to_owned();
    let unpacked =
        consign_unpack::unpack(&name, Bytes::from(data), &consign_unpack::Limits::default());
    let mut out = Vec::new();
    for node in unpacked.vfs.nodes {
        let Some(inner) = package_path(&node) else {
            continue;
        };
        let NodeKind::File { data } = node.kind else {
            continue;
        };
        if data.is_empty() || SKIP_DIRS.iter().any(|dir| inner.starts_with(dir)) {
            continue;
        }
        out.push(PackageFile {
            package: package.clone(),
            path: inner,
            data,
        });
    }
    Ok(out)
}

/// The machine-readable copyright file of a fetched package (`usr/share/doc/*/copyright`).
pub(crate) fn copyright(archive: &Archive, package: &Package) -> Result<Option<String>, String> {
    let path = archive.deb_path(package);
    let data =
        std::fs::read(&path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    let unpacked = consign_unpack::unpack(
        "package.deb",
        Bytes::from(data),
        &consign_unpack::Limits::default(),
    );
    for node in unpacked.vfs.nodes {
        let Some(inner) = package_path(&node) else {
            continue;
        };
        if inner.starts_with("usr/share/doc/")
            && inner.ends_with("/copyright")
            && let NodeKind::File { data } = node.kind
        {
            return Ok(Some(String::from_utf8_lossy(&data).into_owned()));
        }
    }
    Ok(None)
}

/// The path of a node inside the package's data tarball, when the node is a member of it or a
/// decompressed member; `None` for the `.deb` itself, the control tarball and carved regions.
fn package_path(node: &VfsNode) -> Option<String> {
    let steps = &node.provenance;
    let ar = steps.iter().position(|step| step.format == "ar")?;
    if !steps.get(ar)?.path.as_deref()?.starts_with("data.tar") {
        return None;
    }
    let tar = ar
        + steps
            .get(ar..)?
            .iter()
            .position(|step| step.format == "tar")?;
    let inner = steps.get(tar)?.path.as_deref()?;
    let after = steps.get(tar + 1..)?;
    if !after.iter().all(|step| {
        step.offset == 0
            && matches!(
                step.format.as_str(),
                "gzip" | "xz" | "zstd" | "bzip2" | "lzma"
            )
    }) {
        return None;
    }
    let mut path = inner
        .trim_start_matches("./")
        .trim_start_matches('/')
        .to_owned();
    for step in after {
        path = format!("{path}/{}@0x{:x}", step.format, step.offset);
    }
    Some(path)
}

/// A tree of package files for detection; each node is `<package>/<path>`.
pub(crate) fn vfs(files: &[PackageFile]) -> Vfs {
    Vfs {
        nodes: files
            .iter()
            .map(|file| VfsNode {
                path: format!("{}/{}", file.package.name, file.path),
                provenance: Vec::new(),
                kind: NodeKind::File {
                    data: file.data.clone(),
                },
                mode: None,
                mtime: None,
            })
            .collect(),
    }
}

/// Each node's index in `vfs` by its path, to find a finding's file among the package files the
/// nodes were made from (one node per file, in order).
pub(crate) fn node_indices(vfs: &Vfs) -> std::collections::HashMap<&str, usize> {
    vfs.nodes
        .iter()
        .enumerate()
        .map(|(i, node)| (node.path.as_str(), i))
        .collect()
}

/// The suite and architecture a Debian test origin names: `Debian <suite> <package> <version>
/// (<arch>), <path>, offset <n>`.
pub(crate) fn origin_pair(origin: &str) -> Option<(&str, &str)> {
    let rest = origin.strip_prefix("Debian ")?;
    let suite = rest.split(' ').next()?;
    let open = rest.find(" (")? + 2;
    let close = open + rest.get(open..)?.find(')')?;
    Some((suite, rest.get(open..close)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pairs come from `xtask/heldout.toml` itself: each is left out of the architectures
    /// tried, and every suite keeps others to cut from and test on.
    #[test]
    fn held_out_pairs_are_never_read() {
        let held_out = HeldOut::read().unwrap();
        assert!(
            !held_out.pairs.is_empty(),
            "xtask/heldout.toml names no pairs"
        );
        for (suite, arch) in &held_out.pairs {
            assert!(
                !held_out.arches(suite).contains(&arch.as_str()),
                "{suite}/{arch} is held out but tried"
            );
        }
        for (suite, _) in ARCHES {
            assert!(
                !held_out.arches(suite).is_empty(),
                "{suite} has no architecture left"
            );
        }
        let made_up = HeldOut::of(&["bookworm/mipsel".to_owned()]);
        assert!(made_up.contains("bookworm", "mipsel"));
        assert!(!made_up.contains("bookworm", "armhf"));
        assert_eq!(made_up.arches("bookworm").first(), Some(&"armhf"));
        assert!(!made_up.arches("bookworm").contains(&"mipsel"));
        assert!(
            made_up.holds_origin(
                "Debian bookworm radvd 1:2.19-1+b1 (mipsel), usr/sbin/radvd, offset 1"
            )
        );
        assert!(
            !made_up.holds_origin(
                "Debian bookworm radvd 1:2.19-1+b1 (armhf), usr/sbin/radvd, offset 1"
            )
        );
        assert_eq!(
            origin_pair("Debian sid x 1.0-1 (riscv64), usr/lib/x.so, offset 4"),
            Some(("sid", "riscv64"))
        );
        assert_eq!(origin_pair("the anchor alone names nothing"), None);
    }

    /// No test of any signature comes from a held-out pair.
    #[test]
    fn no_signature_test_comes_from_a_held_out_pair() {
        let held_out = HeldOut::read().unwrap();
        let mut found = Vec::new();
        for (file, text) in crate::kb::signature_texts().unwrap() {
            let table: toml::Table = toml::from_str(&text).unwrap();
            for test in table
                .get("test")
                .and_then(toml::Value::as_array)
                .into_iter()
                .flatten()
            {
                let origin = test
                    .get("origin")
                    .and_then(toml::Value::as_str)
                    .unwrap_or("");
                if held_out.holds_origin(origin) {
                    found.push(format!("{file}: {origin}"));
                }
            }
        }
        assert!(
            found.is_empty(),
            "tests from held-out pairs:\n{}",
            found.join("\n")
        );
    }
}
