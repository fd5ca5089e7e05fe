//! `xtask/heldout.toml` (what the held-out set is made of, and the rules that pick its packages) and
//! `xtask/heldout.lock.json` (what those rules picked, pinned).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::debian::{Index, Package as BinaryPackage};

/// The recipe: `xtask/heldout.toml` (or `xtask/devset.toml`, which takes its pool, pruning and
/// truth names from the file its `shares` names, so both sets are built from one package pool).
#[derive(Debug, Clone)]
pub(crate) struct Recipe {
    pub(crate) format: u32,
    pub(crate) seed: String,
    pub(crate) epoch: u64,
    pub(crate) apps_per_image: usize,
    pub(crate) max_kernel_deb_bytes: u64,
    pub(crate) target: Vec<Target>,
    pub(crate) pool: Pool,
    pub(crate) prune: Prune,
    pub(crate) product: Vec<Product>,
    pub(crate) version_alias: Vec<VersionAlias>,
    pub(crate) floor: Floor,
}

/// A recipe file as written. A file with `shares = "heldout.toml"` names no pool, pruning, truth
/// names or version aliases: they come from that file (beside it), the one list of each.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecipeFile {
    format: u32,
    seed: String,
    epoch: u64,
    apps_per_image: usize,
    max_kernel_deb_bytes: u64,
    #[serde(default)]
    shares: Option<String>,
    target: Vec<Target>,
    #[serde(default)]
    pool: Option<Pool>,
    #[serde(default)]
    prune: Option<Prune>,
    #[serde(default)]
    product: Option<Vec<Product>>,
    #[serde(default)]
    version_alias: Option<Vec<VersionAlias>>,
    floor: Floor,
}

/// What a recipe takes from the file it shares.
struct Shared {
    pool: Pool,
    prune: Prune,
    product: Vec<Product>,
    version_alias: Vec<VersionAlias>,
}

/// Another version a source's binaries state, with the fact that explains it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VersionAlias {
    pub(crate) source: String,
    /// The Debian source version it applies to.
    pub(crate) version: String,
    pub(crate) alias: String,
    pub(crate) reason: String,
}

/// One held-out suite/architecture pair and the images built from it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Target {
    pub(crate) suite: String,
    pub(crate) arch: String,
    /// The kernel flavour (`linux-image-<ABI>-<kernel>`), when the images may carry one.
    #[serde(default)]
    pub(crate) kernel: Option<String>,
    /// mkimage's `-A` for this architecture.
    #[serde(default)]
    pub(crate) uimage_arch: Option<String>,
    /// The kernel's load and entry address in its uImage.
    #[serde(default)]
    pub(crate) load_address: Option<String>,
    pub(crate) images: Vec<ImageSpec>,
}

/// One image: its name, how it is packed, what it says it is.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImageSpec {
    pub(crate) name: String,
    pub(crate) format: Format,
    pub(crate) description: String,
}

/// How an image is packed (see `pack.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Format {
    /// Raw flash: kernel uImage, then squashfs-xz, each erase-block aligned.
    UimageSquashfs,
    /// Raw flash: kernel uImage, then a ramdisk uImage with a gzip cpio.
    UimageInitramfs,
    /// JFFS2, little-endian.
    Jffs2,
    /// ext4.
    Ext4,
    /// squashfs with gzip.
    SquashfsGzip,
    /// tar.gz holding a squashfs-xz and a text manifest.
    BundleTgz,
    /// EROFS with LZ4HC and tail packing, as Android 13 and later pack read-only partitions.
    Erofs,
    /// The same EROFS in Android's sparse image format, as factory images ship `system.img`.
    ErofsSparse,
    /// UFS2, little-endian, as FreeBSD appliances ship their root file system.
    Ufs2,
    /// ISO 9660 with Rock Ridge and Joliet, as installer and recovery media are.
    Iso9660,
}

impl Format {
    /// Every packing, for the tests that go through them all.
    #[cfg(test)]
    pub(crate) const ALL: [Self; 10] = [
        Self::UimageSquashfs,
        Self::UimageInitramfs,
        Self::Jffs2,
        Self::Ext4,
        Self::SquashfsGzip,
        Self::BundleTgz,
        Self::Erofs,
        Self::ErofsSparse,
        Self::Ufs2,
        Self::Iso9660,
    ];

    pub(crate) fn has_kernel(self) -> bool {
        matches!(self, Self::UimageSquashfs | Self::UimageInitramfs)
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::UimageSquashfs => "uimage-squashfs",
            Self::UimageInitramfs => "uimage-initramfs",
            Self::Jffs2 => "jffs2",
            Self::Ext4 => "ext4",
            Self::SquashfsGzip => "squashfs-gzip",
            Self::BundleTgz => "bundle-tgz",
            Self::Erofs => "erofs",
            Self::ErofsSparse => "erofs-sparse",
            Self::Ufs2 => "ufs2",
            Self::Iso9660 => "iso9660",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Pool {
    pub(crate) packages: Vec<String>,
    pub(crate) exclude: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Prune {
    pub(crate) paths: Vec<String>,
}

/// A truth name for a Debian source package (or some of its binary packages).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Product {
    /// The source package name; `*` matches any run of characters.
    pub(crate) source: String,
    /// Only these binary packages of the source (all when empty).
    #[serde(default)]
    pub(crate) packages: Vec<String>,
    pub(crate) name: String,
    /// NVD `vendor:product`.
    #[serde(default)]
    pub(crate) cpe: Option<String>,
    #[serde(default)]
    pub(crate) aliases: Vec<String>,
}

/// The figures below which `--check` fails.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Floor {
    /// When and on what the floor was measured (free text, for the reader).
    pub(crate) measured: String,
    pub(crate) name_recall: f64,
    pub(crate) recall_nv: f64,
    pub(crate) precision: f64,
}

impl Recipe {
    /// Reads a recipe, and the file it `shares` when it names one. The text returned is both
    /// files' (what the images were built from).
    pub(crate) fn read(path: &Path) -> Result<(Self, String), String> {
        let read = |path: &Path| {
            std::fs::read_to_string(path)
                .map_err(|err| format!("reading {}: {err}", path.display()))
        };
        let text = read(path)?;
        let file = parse_file(&text).map_err(|err| format!("{}: {err}", path.display()))?;
        let Some(shares) = file.shares.clone() else {
            let recipe = Self::parse(&text).map_err(|err| format!("{}: {err}", path.display()))?;
            return Ok((recipe, text));
        };
        if shares.contains('/') || shares.contains('\\') {
            return Err(format!(
                "{}: `shares = \"{shares}\"`: name a file beside this one",
                path.display()
            ));
        }
        let base_path = path.with_file_name(&shares);
        let base_text = read(&base_path)?;
        let base =
            parse_file(&base_text).map_err(|err| format!("{}: {err}", base_path.display()))?;
        if base.shares.is_some() {
            return Err(format!(
                "{}: shares {}, which itself shares another file; share the file that holds the pool",
                path.display(),
                base_path.display()
            ));
        }
        let shared = owned(base).map_err(|err| format!("{}: {err}", base_path.display()))?;
        let recipe = Self::from_file(file, Some(shared))
            .map_err(|err| format!("{}: {err}", path.display()))?;
        Ok((recipe, format!("{text}\n# shares {shares}:\n{base_text}")))
    }

    /// A recipe that holds its own pool, pruning and truth names.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        Self::from_file(parse_file(text)?, None)
    }

    fn from_file(file: RecipeFile, shared: Option<Shared>) -> Result<Self, String> {
        let own = match shared {
            None => owned(file.clone())?,
            Some(shared) => {
                if file.pool.is_some()
                    || file.prune.is_some()
                    || file.product.is_some()
                    || file.version_alias.is_some()
                {
                    return Err(format!(
                        "it shares `{}`, so `[pool]`, `[prune]`, `[[product]]` and `[[version_alias]]` come from there; remove them here",
                        file.shares.as_deref().unwrap_or_default()
                    ));
                }
                shared
            }
        };
        let recipe = Self {
            format: file.format,
            seed: file.seed,
            epoch: file.epoch,
            apps_per_image: file.apps_per_image,
            max_kernel_deb_bytes: file.max_kernel_deb_bytes,
            target: file.target,
            pool: own.pool,
            prune: own.prune,
            product: own.product,
            version_alias: own.version_alias,
            floor: file.floor,
        };
        if recipe.format != 1 {
            return Err(format!(
                "format {} is not known (expected 1)",
                recipe.format
            ));
        }
        let mut names = BTreeSet::new();
        for target in &recipe.target {
            for image in &target.images {
                if !names.insert(image.name.clone()) {
                    return Err(format!("image `{}` is listed twice", image.name));
                }
                if image.name.is_empty()
                    || !image
                        .name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                {
                    return Err(format!(
                        "image name `{}`: use letters, digits, `-` and `_`",
                        image.name
                    ));
                }
                if image.format.has_kernel()
                    && (target.kernel.is_none()
                        || target.uimage_arch.is_none()
                        || target.load_address.is_none())
                {
                    return Err(format!(
                        "image `{}` ({}) carries a kernel, but its target {} {} names no `kernel`, `uimage_arch` and `load_address`",
                        image.name,
                        image.format.name(),
                        target.suite,
                        target.arch
                    ));
                }
            }
        }
        Ok(recipe)
    }

    /// The part of the recipe that decides which packages are picked: the lock is stale when it
    /// changes.
    pub(crate) fn selection_digest(&self) -> String {
        let targets: Vec<Value> = self
            .target
            .iter()
            .map(|target| {
                json!({
                    "suite": target.suite,
                    "arch": target.arch,
                    "kernel": target.kernel,
                    "images": target.images.iter().map(|image| json!([image.name, image.format.has_kernel()])).collect::<Vec<_>>(),
                })
            })
            .collect();
        let key = json!({
            "seed": self.seed,
            "apps_per_image": self.apps_per_image,
            "max_kernel_deb_bytes": self.max_kernel_deb_bytes,
            "target": targets,
            "pool": self.pool,
        });
        hex::encode(Sha256::digest(key.to_string().as_bytes()))
    }

    /// The product a binary package of `source` belongs to, if the table names it.
    pub(crate) fn product_for(&self, source: &str, package: &str) -> Option<&Product> {
        self.product.iter().find(|product| {
            glob_match(&product.source, source)
                && (product.packages.is_empty() || product.packages.iter().any(|p| p == package))
        })
    }
}

fn parse_file(text: &str) -> Result<RecipeFile, String> {
    toml::from_str(text).map_err(|err| err.to_string())
}

/// The pool, pruning and truth names a recipe file holds itself.
fn owned(file: RecipeFile) -> Result<Shared, String> {
    let missing = |what: &str| format!("no `{what}` (and no `shares` naming a file that has it)");
    Ok(Shared {
        pool: file.pool.ok_or_else(|| missing("[pool]"))?,
        prune: file.prune.ok_or_else(|| missing("[prune]"))?,
        product: file.product.ok_or_else(|| missing("[[product]]"))?,
        version_alias: file.version_alias.unwrap_or_default(),
    })
}

/// The held-out pairs as `suite/arch`, for anyone who must avoid them.
pub(crate) fn pairs(recipe: &Recipe) -> Vec<String> {
    recipe
        .target
        .iter()
        .map(|target| format!("{}/{}", target.suite, target.arch))
        .collect()
}

/// `*` matches any run of characters (including `/`); everything else matches itself.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some((b'*', rest)) => {
                let rest = {
                    let mut rest = rest;
                    while let Some((b'*', more)) = rest.split_first() {
                        rest = more;
                    }
                    rest
                };
                (0..=t.len()).any(|skip| go(rest, &t[skip..]))
            }
            Some((c, rest)) => t.first() == Some(c) && go(rest, &t[1..]),
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

/// A path glob: `**` matches any run of characters, `*` any run without `/`.
pub(crate) fn path_match(pattern: &str, path: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        if let Some(rest) = p.strip_prefix(b"**") {
            return (0..=t.len()).any(|skip| go(rest, &t[skip..]));
        }
        match p.split_first() {
            None => t.is_empty(),
            Some((b'*', rest)) => {
                let limit = t.iter().position(|&c| c == b'/').unwrap_or(t.len());
                (0..=limit).any(|skip| go(rest, &t[skip..]))
            }
            Some((c, rest)) => t.first() == Some(c) && go(rest, &t[1..]),
        }
    }
    go(pattern.as_bytes(), path.as_bytes())
}

/// `SplitMix64`: a tiny, well-known generator, so the sample depends on nothing but the seed.
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    /// Seeded with the first 8 bytes (little-endian) of sha256(`text`).
    pub(crate) fn from_text(text: &str) -> Self {
        let digest = Sha256::digest(text.as_bytes());
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&digest[..8]);
        Self(u64::from_le_bytes(bytes))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `bound` (> 0), without modulo bias.
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % bound;
        loop {
            let value = self.next_u64();
            if value < zone {
                return value % bound;
            }
        }
    }
}

/// The first `count` of `items` after a seeded Fisher-Yates shuffle.
pub(crate) fn sample<T: Clone>(items: &[T], count: usize, rng: &mut SplitMix64) -> Vec<T> {
    let mut items = items.to_vec();
    let count = count.min(items.len());
    for i in 0..count {
        let j = i + rng.below((items.len() - i) as u64) as usize;
        items.swap(i, j);
    }
    items.truncate(count);
    items
}

/// The lock: what the recipe picked, pinned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Lock {
    pub(crate) format: String,
    /// [`Recipe::selection_digest`] of the recipe the packages were picked with.
    pub(crate) selection_digest: String,
    /// The date of each pair's index when the packages were picked (the Release file's `Date`).
    pub(crate) picked: String,
    pub(crate) images: Vec<LockedImage>,
}

pub(crate) const LOCK_FORMAT: &str = "consign-heldout-lock/1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LockedImage {
    pub(crate) name: String,
    pub(crate) suite: String,
    pub(crate) arch: String,
    /// The pool packages the shuffle drew, in draw order.
    pub(crate) drawn: Vec<String>,
    pub(crate) packages: Vec<LockedPackage>,
    /// The built image's sha256, when the build is reproducible (every format here is); `None`
    /// until recorded.
    pub(crate) sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LockedPackage {
    pub(crate) package: String,
    pub(crate) version: String,
    pub(crate) architecture: String,
    /// `app` (drawn from the pool), `dependency` or `kernel`.
    pub(crate) role: String,
    /// The path inside the archive.
    pub(crate) filename: String,
    pub(crate) size: u64,
    pub(crate) sha256: String,
}

impl Lock {
    pub(crate) fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| format!("reading {}: {err}", path.display()))?;
        let lock: Self =
            serde_json::from_str(&text).map_err(|err| format!("{}: {err}", path.display()))?;
        if lock.format != LOCK_FORMAT {
            return Err(format!(
                "{}: format `{}` is not `{LOCK_FORMAT}`",
                path.display(),
                lock.format
            ));
        }
        Ok(lock)
    }

    pub(crate) fn write(&self, path: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self).map_err(|err| format!("lock json: {err}"))?;
        std::fs::write(path, text + "\n")
            .map_err(|err| format!("writing {}: {err}", path.display()))
    }
}

/// Picks one image's packages from its pair's index by the recipe's rules.
pub(crate) fn pick(
    recipe: &Recipe,
    target: &Target,
    image: &ImageSpec,
    index: &Index,
) -> Result<LockedImage, String> {
    let excluded = |name: &str| {
        recipe
            .pool
            .exclude
            .iter()
            .any(|pattern| glob_match(pattern, name))
    };
    // Pool packages this pair has for its own architecture, in pool order.
    let candidates: Vec<String> = recipe
        .pool
        .packages
        .iter()
        .filter(|name| {
            index
                .newest(name)
                .is_some_and(|p| p.architecture == target.arch)
        })
        .cloned()
        .collect();
    let mut rng = SplitMix64::from_text(&format!(
        "{}:{}:{}:{}",
        recipe.seed, target.suite, target.arch, image.name
    ));
    let drawn = sample(&candidates, recipe.apps_per_image, &mut rng);

    let mut chosen: BTreeMap<String, (BinaryPackage, &'static str)> = BTreeMap::new();
    if image.format.has_kernel() {
        let flavour = target.kernel.as_deref().unwrap_or_default();
        let kernel = newest_kernel(index, flavour, recipe.max_kernel_deb_bytes).ok_or_else(|| {
            format!(
                "image `{}`: Debian {} {} has no linux-image-<ABI>-{flavour} of at most {} bytes",
                image.name, target.suite, target.arch, recipe.max_kernel_deb_bytes
            )
        })?;
        chosen.insert(kernel.name.clone(), (kernel.clone(), "kernel"));
    }
    let mut queue: VecDeque<BinaryPackage> = VecDeque::new();
    for name in &drawn {
        if let Some(package) = index.newest(name) {
            chosen.insert(name.clone(), (package.clone(), "app"));
            queue.push_back(package.clone());
        }
    }
    while let Some(package) = queue.pop_front() {
        for alternatives in &package.depends {
            if let Resolution::Install(dependency) =
                resolve(index, &target.arch, alternatives, &excluded)
                && !chosen.contains_key(&dependency.name)
            {
                chosen.insert(dependency.name.clone(), (dependency.clone(), "dependency"));
                queue.push_back(dependency.clone());
            }
        }
    }
    let packages = chosen
        .into_values()
        .map(|(package, role)| LockedPackage {
            package: package.name,
            version: package.version,
            architecture: package.architecture,
            role: role.to_owned(),
            filename: package.filename,
            size: package.size,
            sha256: package.sha256,
        })
        .collect();
    Ok(LockedImage {
        name: image.name.clone(),
        suite: target.suite.clone(),
        arch: target.arch.clone(),
        drawn,
        packages,
        sha256: None,
    })
}

/// What one dependency comes to.
enum Resolution<'a> {
    /// This package is installed.
    Install(&'a BinaryPackage),
    /// An `Architecture: all` package satisfies it: nothing with code to install.
    Satisfied,
    /// Nothing (or only excluded packages) can satisfy it.
    Unresolved,
}

/// Resolves one dependency: the first alternative that is a package of the index or that a
/// package provides, excluded packages skipped.
fn resolve<'a>(
    index: &'a Index,
    arch: &str,
    alternatives: &[String],
    excluded: &dyn Fn(&str) -> bool,
) -> Resolution<'a> {
    let install = |package: &'a BinaryPackage| {
        if package.architecture == arch {
            Resolution::Install(package)
        } else {
            Resolution::Satisfied
        }
    };
    for name in alternatives {
        if excluded(name) {
            continue;
        }
        if let Some(package) = index.newest(name) {
            return install(package);
        }
        let providers = index.providers(name);
        if !providers.is_empty() {
            let mut real = providers
                .iter()
                .filter(|p| !excluded(p))
                .filter_map(|p| index.newest(p));
            if let Some(package) = real.next() {
                return install(package);
            }
        }
    }
    Resolution::Unresolved
}

/// The newest `linux-image-<ABI>-<flavour>` (ABI starting with a digit; not `-dbg`, not
/// `-unsigned`) whose .deb is at most `max_bytes`.
fn newest_kernel<'a>(index: &'a Index, flavour: &str, max_bytes: u64) -> Option<&'a BinaryPackage> {
    let suffix = format!("-{flavour}");
    index
        .newest_each()
        .filter(|package| {
            package
                .name
                .strip_prefix("linux-image-")
                .and_then(|rest| rest.strip_suffix(&suffix))
                .is_some_and(is_kernel_abi)
        })
        .filter(|package| package.size <= max_bytes)
        .max_by(|a, b| {
            crate::debian::compare_versions(&a.version, &b.version)
                .then_with(|| a.name.cmp(&b.name))
        })
}

/// A Debian kernel ABI: `5.10.0-32`, `6.12.117+deb13`; every `-`-separated part starts with a
/// digit, so `5.10.0-32-rt` (the `rt-armmp` flavour) is not one.
fn is_kernel_abi(abi: &str) -> bool {
    !abi.is_empty()
        && abi
            .split('-')
            .all(|part| part.starts_with(|c: char| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipe_text() -> String {
        std::fs::read_to_string(crate::util::root().join("xtask/heldout.toml")).unwrap()
    }

    #[test]
    fn the_committed_recipe_parses_and_names_its_pairs() {
        let recipe = Recipe::parse(&recipe_text()).unwrap();
        let pairs = pairs(&recipe);
        assert!(!pairs.is_empty());
        // The shared corpus is cut from bookworm: a held-out pair must not be one of its.
        assert!(
            pairs.iter().all(|pair| !pair.starts_with("bookworm/")),
            "{pairs:?}"
        );
    }

    #[test]
    fn only_what_picks_packages_changes_the_selection_digest() {
        let text = recipe_text();
        let digest = Recipe::parse(&text).unwrap().selection_digest();
        let described = text.replace("JFFS2 little-endian", "JFFS2 (little-endian)");
        assert_ne!(described, text);
        assert_eq!(
            Recipe::parse(&described).unwrap().selection_digest(),
            digest
        );
        let reseeded = text.replace("seed = \"consign-heldout-1\"", "seed = \"other\"");
        assert_ne!(Recipe::parse(&reseeded).unwrap().selection_digest(), digest);
    }

    #[test]
    fn every_packing_is_read_by_the_name_it_gives() {
        #[derive(Deserialize)]
        struct One {
            format: Format,
        }
        for format in Format::ALL {
            let text = format!("format = \"{}\"", format.name());
            let one: One = toml::from_str(&text).unwrap();
            assert_eq!(one.format, format, "{text}");
        }
        let names: Vec<&str> = Format::ALL.iter().map(|format| format.name()).collect();
        assert_eq!(
            names[6..],
            ["erofs", "erofs-sparse", "ufs2", "iso9660"],
            "the packings of the file systems consign learnt to read"
        );
        // Only the flash layouts carry a kernel.
        let with_kernel: Vec<&str> = Format::ALL
            .iter()
            .filter(|format| format.has_kernel())
            .map(|format| format.name())
            .collect();
        assert_eq!(with_kernel, ["uimage-squashfs", "uimage-initramfs"]);
        let err = toml::from_str::<One>("format = \"ufs\"")
            .map(|_| ())
            .unwrap_err();
        assert!(err.to_string().contains("ufs2"), "{err}");
    }

    #[test]
    fn a_kernel_format_needs_a_kernel() {
        let text = recipe_text().replace("kernel = \"armmp\"\n", "");
        assert!(
            Recipe::parse(&text)
                .unwrap_err()
                .contains("carries a kernel")
        );
    }

    #[test]
    fn globs_match_names_and_paths() {
        assert!(glob_match("gcc-*", "gcc-14"));
        assert!(glob_match("python3*", "python3.13-minimal"));
        assert!(!glob_match("gcc-*", "gcc"));
        assert!(glob_match("dpkg", "dpkg"));
        assert!(path_match(
            "usr/share/doc/**",
            "usr/share/doc/curl/copyright"
        ));
        assert!(path_match(
            "usr/lib/*/gconv/**",
            "usr/lib/arm-linux-gnueabi/gconv/UTF-16.so"
        ));
        assert!(!path_match("usr/lib/*/gconv/**", "usr/lib/a/b/gconv/x"));
        assert!(!path_match("usr/share/doc/**", "usr/share/docs/x"));
    }

    #[test]
    fn the_sample_depends_only_on_the_seed() {
        let items: Vec<u32> = (0..50).collect();
        let a = sample(&items, 6, &mut SplitMix64::from_text("s:trixie:armel:x"));
        let b = sample(&items, 6, &mut SplitMix64::from_text("s:trixie:armel:x"));
        let c = sample(&items, 6, &mut SplitMix64::from_text("s:trixie:armel:y"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 6);
        let unique: BTreeSet<_> = a.iter().collect();
        assert_eq!(unique.len(), 6);
        assert_eq!(
            sample(&items[..3], 6, &mut SplitMix64::from_text("s")).len(),
            3
        );
        // SplitMix64's published first output for seed 0.
        assert_eq!(SplitMix64(0).next_u64(), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn picking_follows_dependencies_and_skips_exclusions() {
        let index = Index::parse(
            "Package: app\nVersion: 1\nArchitecture: armel\nDepends: libfoo | libbar, perl, data, virt\nFilename: pool/a.deb\nSize: 1\nSHA256: aa\n\n\
             Package: libfoo\nVersion: 2\nArchitecture: armel\nDepends: libc6\nFilename: pool/f.deb\nSize: 1\nSHA256: bb\n\n\
             Package: libc6\nVersion: 2.41-12\nArchitecture: armel\nFilename: pool/c.deb\nSize: 1\nSHA256: cc\n\n\
             Package: perl\nVersion: 5\nArchitecture: armel\nFilename: pool/p.deb\nSize: 1\nSHA256: dd\n\n\
             Package: data\nVersion: 1\nArchitecture: all\nFilename: pool/d.deb\nSize: 1\nSHA256: ee\n\n\
             Package: provider\nVersion: 1\nArchitecture: armel\nProvides: virt\nFilename: pool/v.deb\nSize: 1\nSHA256: ff\n",
        );
        let mut recipe = Recipe::parse(&recipe_text()).unwrap();
        recipe.pool.packages = vec!["app".into(), "missing".into()];
        recipe.pool.exclude = vec!["perl".into()];
        let target = Target {
            suite: "trixie".into(),
            arch: "armel".into(),
            kernel: None,
            uimage_arch: None,
            load_address: None,
            images: Vec::new(),
        };
        let image = ImageSpec {
            name: "t".into(),
            format: Format::Jffs2,
            description: String::new(),
        };
        let locked = pick(&recipe, &target, &image, &index).unwrap();
        assert_eq!(locked.drawn, ["app"]);
        let names: Vec<(&str, &str)> = locked
            .packages
            .iter()
            .map(|p| (p.package.as_str(), p.role.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("app", "app"),
                ("libc6", "dependency"),
                ("libfoo", "dependency"),
                ("provider", "dependency")
            ]
        );
    }

    #[test]
    fn the_newest_small_kernel_is_picked() {
        let index = Index::parse(
            "Package: linux-image-6.12.107+deb13-rpi\nVersion: 6.12.107-1\nArchitecture: armel\nFilename: a\nSize: 100\nSHA256: aa\n\n\
             Package: linux-image-6.12.117+deb13-rpi\nVersion: 6.12.117-1\nArchitecture: armel\nFilename: b\nSize: 100\nSHA256: bb\n\n\
             Package: linux-image-6.12.117+deb13-rpi-dbg\nVersion: 6.12.117-1\nArchitecture: armel\nFilename: c\nSize: 10\nSHA256: cc\n\n\
             Package: linux-image-6.12.117+deb13-rt-rpi\nVersion: 6.12.117-1\nArchitecture: armel\nFilename: f\nSize: 100\nSHA256: ff\n\n\
             Package: linux-image-rpi\nVersion: 6.12.117-1\nArchitecture: armel\nFilename: d\nSize: 1\nSHA256: dd\n\n\
             Package: linux-image-6.13.1+deb13-rpi\nVersion: 6.13.1-1\nArchitecture: armel\nFilename: e\nSize: 1000\nSHA256: ee\n",
        );
        assert_eq!(
            newest_kernel(&index, "rpi", 500).map(|p| p.name.as_str()),
            Some("linux-image-6.12.117+deb13-rpi")
        );
        assert!(newest_kernel(&index, "rpi", 50).is_none());
    }
}
