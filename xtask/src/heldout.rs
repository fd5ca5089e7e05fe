//! `cargo xtask heldout [--check] [--update-lock] [--record-outputs] [--consign PATH]`: the honest
//! measure of recognition (issue 12). Builds firmware images from real Debian packages of suites and
//! architectures no signature was cut from (`xtask/heldout.toml` names them and the rules that pick
//! the packages; `xtask/heldout.lock.json` pins what they picked), derives each image's truth from
//! the packages' control data, scans every image with consign, and scores the SBOMs with the shared
//! corpus's `score.py`, beside the exact-release evidence ceiling.
//!
//! - `recipe`: the recipe and the lock, the seeded sample and the dependency closure;
//! - `pack`: staging a root file system and packing it with Debian's tools;
//! - `truth`: `truth.json` and the release evidence of each component.
//!
//! The `.deb` files and signed indices come through the one Debian client ([`crate::debian`]) and
//! its verifying cache (`target/kb-cache/debian/`, shared with `cargo xtask kb`). Everything else
//! is written under `target/heldout/`: `cache/kernel/` (kernels taken out of their packages), `work/` (staging), `images/<name>/` (the image and its `truth.json`, the corpus
//! layout), `sbom/`, `report.md` and `report.json`.

pub(crate) mod pack;
pub(crate) mod recipe;
pub(crate) mod truth;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::debian::{self, Archive};
use crate::util::root;
use recipe::{Lock, LockedImage, Recipe};

const USAGE: &str = "usage: cargo xtask heldout [--set heldout|dev] [--check] [--update-lock] [--record-outputs] [--consign PATH]
       cargo xtask heldout [--set heldout|dev] --pairs

  (no flag)         build the images from the lock, scan them with the release consign, score them
  --check           also fail when a total falls below heldout.toml's [floor] (what CI runs)
  --update-lock     pick the packages again from today's Debian indexes and rewrite heldout.lock.json
  --record-outputs  accept the images' new sha256 in the lock (after a deliberate packing change)
  --consign PATH    scan with this consign binary instead of building the release one
  --pairs           print the set's suite/architecture pairs, one per line (no signature may be cut from the held-out ones)
  --set dev         the development set instead (xtask/devset.toml, its lock, target/devset/): the same recipe
                    and package pool on other suite/architecture pairs, for finding what to fix; the held-out
                    set stays a measure nobody writes rules from";

/// Which set of images: the held-out one (the measure) or the development one (for finding what
/// to fix, so that nobody writes rules from the held-out set's misses).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Set {
    #[default]
    HeldOut,
    Dev,
}

impl Set {
    /// (recipe, lock, output folder under `target/`).
    fn files(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::HeldOut => ("xtask/heldout.toml", "xtask/heldout.lock.json", "heldout"),
            Self::Dev => ("xtask/devset.toml", "xtask/devset.lock.json", "devset"),
        }
    }

    /// The report's title.
    fn title(self) -> &'static str {
        match self {
            Self::HeldOut => "held-out recognition",
            Self::Dev => "development-set recognition",
        }
    }
}

/// The recipe, the lock, the output folder.
pub(crate) struct Paths {
    pub(crate) recipe: PathBuf,
    pub(crate) lock: PathBuf,
    pub(crate) base: PathBuf,
    pub(crate) score_py: PathBuf,
    pub(crate) set: Set,
}

impl Paths {
    /// The held-out set's.
    pub(crate) fn new() -> Self {
        Self::of(Set::HeldOut)
    }

    pub(crate) fn of(set: Set) -> Self {
        let root = root();
        let (recipe, lock, base) = set.files();
        Self {
            recipe: root.join(recipe),
            lock: root.join(lock),
            base: root.join("target").join(base),
            score_py: shared_score_py(&root),
            set,
        }
    }

    fn images(&self) -> PathBuf {
        self.base.join("images")
    }

    fn sboms(&self) -> PathBuf {
        self.base.join("sbom")
    }
}

/// `../shared/corpus/score.py` beside the checkout (or beside the folder of worktrees).
fn shared_score_py(root: &Path) -> PathBuf {
    let candidates = [
        root.join("../shared/corpus/score.py"),
        root.join("../../shared/corpus/score.py"),
    ];
    candidates
        .iter()
        .find(|path| path.is_file())
        .unwrap_or(&candidates[0])
        .clone()
}

/// What to do with the lock.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockMode {
    /// Build what it pins; an image whose bytes differ from its pin is an error.
    #[default]
    Keep,
    /// Pick the packages again from today's indexes and pin them.
    Update,
    /// Keep the packages, pin the images' new bytes.
    RecordOutputs,
}

#[derive(Debug, Default)]
struct Options {
    check: bool,
    pairs: bool,
    set: Set,
    lock: LockMode,
    consign: Option<PathBuf>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--check" => options.check = true,
            "--update-lock" => options.lock = LockMode::Update,
            "--record-outputs" => options.lock = LockMode::RecordOutputs,
            "--pairs" => options.pairs = true,
            "--set" => {
                options.set = match args.next().map(String::as_str) {
                    Some("heldout") => Set::HeldOut,
                    Some("dev") => Set::Dev,
                    Some(other) => {
                        return Err(format!(
                            "`--set {other}`: the sets are `heldout` and `dev`\n\n{USAGE}"
                        ));
                    }
                    None => return Err("`--set` needs `heldout` or `dev`".to_owned()),
                };
            }
            "--consign" => {
                options.consign = Some(args.next().ok_or("`--consign` needs a path")?.into());
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    Ok(options)
}

/// `cargo xtask heldout ...`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let options = parse(args)?;
    let paths = Paths::of(options.set);
    if options.set == Set::Dev {
        let (dev, _) = Recipe::read(&paths.recipe)?;
        let (held_out, _) = Recipe::read(&Paths::new().recipe)?;
        disjoint(&dev, &held_out)?;
    }
    if options.pairs {
        let (recipe, _) = Recipe::read(&paths.recipe)?;
        for pair in recipe::pairs(&recipe) {
            println!("{pair}");
        }
        return Ok(());
    }
    let consign = if let Some(path) = &options.consign {
        path.clone()
    } else {
        crate::util::run(
            "cargo",
            &["build", "--release", "--quiet", "-p", "consign-cli"],
        )?;
        root().join("target/release/consign")
    };
    let started = Instant::now();
    let built = build(&paths, options.lock)?;
    let build_time = started.elapsed();
    let result = evaluate(&paths, &built, &consign)?;
    let report = Report {
        result,
        build_time,
        set: options.set,
    };
    println!("{}", report.text());
    report.write(&paths.base)?;
    println!("report: {}", paths.base.join("report.md").display());
    if options.check {
        let (recipe, _) = Recipe::read(&paths.recipe)?;
        report.result.check_floor(&recipe.floor)?;
    }
    Ok(())
}

/// The development set's pairs must all be pairs the held-out set does not use: otherwise rules
/// written from the development set's misses would be tested on held-out images.
pub(crate) fn disjoint(dev: &Recipe, held_out: &Recipe) -> Result<(), String> {
    let held_out = recipe::pairs(held_out);
    let shared: Vec<String> = recipe::pairs(dev)
        .into_iter()
        .filter(|pair| held_out.contains(pair))
        .collect();
    if shared.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the development set uses the held-out pair(s) {}\n\nhint: pick other suite/architecture pairs in xtask/devset.toml (`cargo xtask heldout --pairs` lists the held-out ones)",
            shared.join(", ")
        ))
    }
}

/// What `cargo xtask ci` runs: the images from the lock, scanned with `consign` (the debug build CI
/// already has), held to the floor.
pub(crate) fn run_ci(consign: &Path) -> Result<(), String> {
    run(&[
        "--check".to_owned(),
        "--consign".to_owned(),
        consign.display().to_string(),
    ])
}

/// One built image.
#[derive(Debug, Clone)]
pub(crate) struct Built {
    pub(crate) name: String,
    pub(crate) pair: String,
    pub(crate) format: &'static str,
    pub(crate) file: PathBuf,
    pub(crate) truth: Value,
}

/// Builds every image from the lock (taking the lock first when asked, or when there is none).
pub(crate) fn build(paths: &Paths, mode: LockMode) -> Result<Vec<Built>, String> {
    let (recipe, recipe_text) = Recipe::read(&paths.recipe)?;
    crate::tools::install_apt(
        pack::TOOLS,
        "`cargo xtask heldout` (packing firmware images)",
    )?;
    let taking = mode == LockMode::Update || !paths.lock.exists();
    // Taking the lock reads today's signed indices, never cached ones.
    let archive = Archive::open(Archive::default_cache())?.refreshing(taking);
    let mut lock = if taking {
        let lock = take_lock(&recipe, &archive)?;
        lock.write(&paths.lock)?;
        eprintln!("heldout: wrote {}", paths.lock.display());
        lock
    } else {
        Lock::read(&paths.lock)?
    };
    if lock.selection_digest != recipe.selection_digest() {
        return Err(format!(
            "{} was taken with another selection recipe than {} (the seed, pool, targets or limits changed)\n\nhint: take it again with `cargo xtask heldout --update-lock` and commit both",
            paths.lock.display(),
            paths.recipe.display()
        ));
    }
    let mut built = Vec::new();
    let mut changed = Vec::new();
    for target in &recipe.target {
        for spec in &target.images {
            let locked = lock
                .images
                .iter_mut()
                .find(|image| image.name == spec.name)
                .ok_or_else(|| {
                    format!(
                        "{} has no image `{}`\n\nhint: `cargo xtask heldout --update-lock`",
                        paths.lock.display(),
                        spec.name
                    )
                })?;
            let stamp = stamp(&recipe_text, locked)?;
            let image = if let Some(image) = reuse(paths, target, spec, locked, &stamp) {
                eprintln!(
                    "heldout: {} is current (same recipe, lock and xtask)",
                    spec.name
                );
                image
            } else {
                let started = Instant::now();
                let image = build_image(&recipe, target, spec, locked, &archive, paths)?;
                eprintln!(
                    "heldout: built {} in {:.1} s",
                    spec.name,
                    started.elapsed().as_secs_f64()
                );
                image
            };
            let sha256 = sha256_file(&image.file)?;
            match &locked.sha256 {
                Some(pinned) if *pinned == sha256 => {}
                Some(pinned) if mode != LockMode::RecordOutputs => {
                    return Err(format!(
                        "{}: sha256 {sha256}, but {} pins {pinned}: the same packages gave other bytes (a packing rule or a Debian tool changed)\n\nhint: if the change is deliberate, accept it with `cargo xtask heldout --record-outputs` and commit the lock",
                        image.file.display(),
                        paths.lock.display()
                    ));
                }
                _ => {
                    locked.sha256 = Some(sha256);
                    changed.push(spec.name.clone());
                }
            }
            let stamp_path = image.file.with_file_name(".stamp");
            std::fs::write(&stamp_path, &stamp)
                .map_err(|err| format!("writing {}: {err}", stamp_path.display()))?;
            built.push(image);
        }
    }
    let names: BTreeSet<&str> = built.iter().map(|image| image.name.as_str()).collect();
    remove_stale_images(&paths.images(), &names)?;
    if !changed.is_empty() {
        lock.write(&paths.lock)?;
        eprintln!(
            "heldout: recorded the sha256 of {} in {}",
            changed.join(", "),
            paths.lock.display()
        );
    }
    Ok(built)
}

/// What an image was built from: the recipe, its locked packages, and the xtask binary itself (so
/// a change to the packing or the truth rules rebuilds it).
fn stamp(recipe_text: &str, locked: &LockedImage) -> Result<String, String> {
    let exe = std::env::current_exe().map_err(|err| format!("finding the xtask binary: {err}"))?;
    let mut hasher = Sha256::new();
    hasher.update(recipe_text.as_bytes());
    hasher.update(
        serde_json::to_string(&locked.packages)
            .unwrap_or_default()
            .as_bytes(),
    );
    hasher.update(std::fs::read(&exe).map_err(|err| format!("reading {}: {err}", exe.display()))?);
    Ok(hex::encode(hasher.finalize()))
}

/// The image built by an earlier run, when its stamp, its bytes and its truth are all current.
fn reuse(
    paths: &Paths,
    target: &recipe::Target,
    spec: &recipe::ImageSpec,
    locked: &LockedImage,
    stamp: &str,
) -> Option<Built> {
    let dir = paths.images().join(&spec.name);
    let file = dir.join(pack::layout(spec.format).0);
    let pinned = locked.sha256.as_deref()?;
    if std::fs::read_to_string(dir.join(".stamp")).ok()? != stamp
        || sha256_file(&file).ok()? != pinned
    {
        return None;
    }
    let truth = serde_json::from_slice(&std::fs::read(dir.join("truth.json")).ok()?).ok()?;
    Some(Built {
        name: spec.name.clone(),
        pair: format!("{}/{}", target.suite, target.arch),
        format: spec.format.name(),
        file,
        truth,
    })
}

/// Picks every image's packages from today's indexes.
fn take_lock(recipe: &Recipe, archive: &Archive) -> Result<Lock, String> {
    let mut images = Vec::new();
    let mut dates = Vec::new();
    for target in &recipe.target {
        let index = archive.index(&target.suite, "main", &target.arch)?;
        dates.push(format!(
            "{}/{}: {}",
            target.suite,
            target.arch,
            index.date.as_deref().unwrap_or("?")
        ));
        for spec in &target.images {
            let picked = recipe::pick(recipe, target, spec, &index)?;
            eprintln!(
                "heldout: {} drew {} -> {} packages",
                spec.name,
                picked.drawn.join(", "),
                picked.packages.len()
            );
            images.push(picked);
        }
    }
    Ok(Lock {
        format: recipe::LOCK_FORMAT.to_owned(),
        selection_digest: recipe.selection_digest(),
        picked: dates.join("; "),
        images,
    })
}

fn build_image(
    recipe: &Recipe,
    target: &recipe::Target,
    spec: &recipe::ImageSpec,
    locked: &LockedImage,
    archive: &Archive,
    paths: &Paths,
) -> Result<Built, String> {
    eprintln!(
        "heldout: building {} ({} packages)",
        spec.name,
        locked.packages.len()
    );
    let work = paths.base.join("work").join(&spec.name);
    remove_tree(&work)?;
    let rootfs = work.join("rootfs");
    std::fs::create_dir_all(&rootfs)
        .map_err(|err| format!("creating {}: {err}", rootfs.display()))?;
    let (file_name, prefix) = pack::layout(spec.format);
    let mut installed = Vec::new();
    let mut kernel_file = None;
    for package in &locked.packages {
        let deb = archive.download(&package.filename, package.size, &package.sha256)?;
        let control = deb.control()?;
        let field = |name: &str| control.get(name).cloned().unwrap_or_default();
        if field("Package") != package.package || field("Version") != package.version {
            return Err(format!(
                "{}: the .deb says {} {}, the lock {} {}",
                deb.path.display(),
                field("Package"),
                field("Version"),
                package.package,
                package.version
            ));
        }
        let (source, source_version) = match control.get("Source") {
            Some(value) => {
                let (name, rest) = value.split_once(' ').unwrap_or((value.as_str(), ""));
                let version = rest
                    .trim()
                    .trim_start_matches('(')
                    .trim_end_matches(')')
                    .trim();
                (
                    name.to_owned(),
                    if version.is_empty() {
                        package.version.clone()
                    } else {
                        version.to_owned()
                    },
                )
            }
            None => (package.package.clone(), package.version.clone()),
        };
        let built_using = control
            .get("Built-Using")
            .map(|value| debian::parse_built_using(value))
            .unwrap_or_default();
        let mut files = Vec::new();
        let kernel = package.role == "kernel";
        if kernel {
            // Unpacking a kernel .deb inflates every module; keep the one file it is needed for.
            let dir = paths.base.join("cache/kernel").join(&package.sha256);
            if !dir.is_dir() {
                let partial = dir.with_extension("partial");
                remove_tree(&partial)?;
                deb.extract_matching(&partial, "./boot/vmlinuz-*")?;
                std::fs::rename(&partial, &dir)
                    .map_err(|err| format!("renaming {}: {err}", partial.display()))?;
            }
            let vmlinuz = pack::walk(&dir)?
                .into_iter()
                .find_map(|entry| match entry {
                    pack::Entry::File(path) => Some(dir.join(path)),
                    _ => None,
                })
                .ok_or_else(|| format!("{}: no boot/vmlinuz-* inside", deb.path.display()))?;
            files.push(("kernel".to_owned(), vmlinuz.clone(), true));
            kernel_file = Some(vmlinuz);
        } else {
            let dir = work.join("pkgs").join(&package.package);
            deb.extract(&dir)?;
            pack::prune(&dir, &recipe.prune.paths)?;
            for entry in pack::walk(&dir)? {
                if let pack::Entry::File(path) = entry {
                    let staged = dir.join(&path);
                    let code = is_elf(&staged);
                    files.push((format!("{prefix}/{path}"), rootfs.join(&path), code));
                }
            }
            pack::merge(&dir, &rootfs)?;
        }
        installed.push(truth::Installed {
            package: package.package.clone(),
            version: package.version.clone(),
            architecture: package.architecture.clone(),
            source,
            source_version,
            built_using,
            kernel,
            files,
        });
    }
    pack::merged_usr_links(&rootfs)?;
    pack::set_times(&rootfs, recipe.epoch)?;

    let out_dir = paths.images().join(&spec.name);
    remove_tree(&out_dir)?;
    std::fs::create_dir_all(&out_dir)
        .map_err(|err| format!("creating {}: {err}", out_dir.display()))?;
    let out = out_dir.join(file_name);
    pack::pack(
        &pack::Inputs {
            name: &spec.name,
            format: spec.format,
            target,
            rootfs: &rootfs,
            kernel: kernel_file.as_deref(),
            scratch: &work.join("pack"),
            epoch: recipe.epoch,
        },
        &out,
    )?;
    let size = std::fs::metadata(&out)
        .map_err(|err| format!("reading {}: {err}", out.display()))?
        .len();
    let image = json!({
        "name": spec.name,
        "file": file_name,
        "arch": target.arch,
        "debian_arch": target.arch,
        "debian_suite": target.suite,
        "recipe": spec.format.name(),
        "description": spec.description,
        "size": size,
        "sha256": sha256_file(&out)?,
    });
    let truth = truth::truth(recipe, &image, &installed);
    let text = serde_json::to_string_pretty(&truth).map_err(|err| format!("truth json: {err}"))?;
    std::fs::write(out_dir.join("truth.json"), text + "\n")
        .map_err(|err| format!("writing {}: {err}", out_dir.join("truth.json").display()))?;
    // The staging tree is large and rebuilt on every run.
    remove_tree(&work)?;
    Ok(Built {
        name: spec.name.clone(),
        pair: format!("{}/{}", target.suite, target.arch),
        format: spec.format.name(),
        file: out,
        truth,
    })
}

fn remove_tree(dir: &Path) -> Result<(), String> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(format!("removing {}: {err}", dir.display())),
    }
}

/// Removes the folders under `images` of images the recipe no longer names (renamed or
/// dropped): score.py scores every `truth.json` there, and an image with no SBOM counts as all
/// missed.
fn remove_stale_images(images: &Path, names: &BTreeSet<&str>) -> Result<(), String> {
    let Ok(entries) = std::fs::read_dir(images) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let stale = entry
            .file_name()
            .to_str()
            .is_none_or(|name| !names.contains(name));
        if stale && entry.path().is_dir() {
            eprintln!(
                "heldout: removing {}, an image the recipe no longer names",
                entry.path().display()
            );
            remove_tree(&entry.path())?;
        }
    }
    Ok(())
}

fn is_elf(path: &Path) -> bool {
    use std::io::Read as _;
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut file| file.read_exact(&mut magic))
        .is_ok()
        && magic == *b"\x7fELF"
}

fn sha256_file(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|err| format!("reading {}: {err}", path.display()))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// The held-out figures: score.py's result per image and in total, and the evidence ceiling.
#[derive(Debug, Clone)]
pub(crate) struct Evaluation {
    pub(crate) images: Vec<ImageResult>,
    /// score.py's `total`.
    pub(crate) total: Value,
    /// Truth components whose code states their release / truth components (score.py's count).
    pub(crate) evidence: (usize, usize),
    pub(crate) scan_time: Duration,
    pub(crate) consign: PathBuf,
    pub(crate) set: Set,
}

#[derive(Debug, Clone)]
pub(crate) struct ImageResult {
    pub(crate) name: String,
    pub(crate) pair: String,
    pub(crate) format: &'static str,
    pub(crate) bytes: u64,
    pub(crate) score: Value,
    pub(crate) evidence: (usize, usize),
    /// `name@version` of the truth components whose code states their release.
    pub(crate) stated: BTreeSet<String>,
    pub(crate) scan_time: Duration,
}

/// Scans every built image with `consign` and scores the SBOMs.
pub(crate) fn evaluate(
    paths: &Paths,
    built: &[Built],
    consign: &Path,
) -> Result<Evaluation, String> {
    let sboms = paths.sboms();
    remove_tree(&sboms)?;
    std::fs::create_dir_all(&sboms)
        .map_err(|err| format!("creating {}: {err}", sboms.display()))?;
    let mut times = BTreeMap::new();
    for image in built {
        let sbom = sboms.join(format!("{}.json", image.name));
        let started = Instant::now();
        let output = Command::new(consign)
            .arg("scan")
            .arg(&image.file)
            .arg("-o")
            .arg(&sbom)
            .output()
            .map_err(|err| format!("could not start {}: {err}", consign.display()))?;
        let elapsed = started.elapsed();
        if !output.status.success() {
            return Err(format!(
                "`{} scan {} -o {}` failed ({}):\n{}",
                consign.display(),
                image.file.display(),
                sbom.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        eprintln!(
            "heldout: scanned {} in {:.2} s",
            image.name,
            elapsed.as_secs_f64()
        );
        times.insert(image.name.clone(), elapsed);
    }
    let score = crate::score::score_py(&paths.score_py, &sboms, &paths.images())?;
    let mut images = Vec::new();
    let mut evidence_total = (0, 0);
    for image in built {
        let result = score
            .pointer(&format!("/images/{}", image.name))
            .cloned()
            .ok_or_else(|| format!("score.py gave no result for {}", image.name))?;
        let evidence = evidence(&image.truth);
        evidence_total.0 += evidence.0;
        evidence_total.1 += evidence.1;
        images.push(ImageResult {
            name: image.name.clone(),
            pair: image.pair.clone(),
            format: image.format,
            bytes: std::fs::metadata(&image.file).map_or(0, |m| m.len()),
            score: result,
            evidence,
            stated: stated(&image.truth),
            scan_time: times.get(&image.name).copied().unwrap_or_default(),
        });
    }
    Ok(Evaluation {
        images,
        total: score.get("total").cloned().unwrap_or(Value::Null),
        evidence: evidence_total,
        scan_time: times.values().sum(),
        consign: consign.to_path_buf(),
        set: paths.set,
    })
}

/// (components whose code states their release, components), counting name+version once as
/// score.py does.
fn evidence(truth: &Value) -> (usize, usize) {
    let mut seen: BTreeMap<(String, String), bool> = BTreeMap::new();
    for component in truth["components"].as_array().into_iter().flatten() {
        let key = (
            component["name"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_lowercase(),
            component["version"].as_str().unwrap_or_default().to_owned(),
        );
        let found = component["release_evidence"]["found"]
            .as_bool()
            .unwrap_or(false);
        *seen.entry(key).or_default() |= found;
    }
    (seen.values().filter(|found| **found).count(), seen.len())
}

/// `name@version` of each truth component whose code states its release (score.py's spelling
/// of a missed component).
fn stated(truth: &Value) -> BTreeSet<String> {
    truth["components"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|component| component["release_evidence"]["found"].as_bool() == Some(true))
        .map(|component| {
            format!(
                "{}@{}",
                component["name"].as_str().unwrap_or_default(),
                component["version"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

impl Evaluation {
    pub(crate) fn figure(&self, key: &str) -> f64 {
        self.total.get(key).and_then(Value::as_f64).unwrap_or(0.0)
    }

    pub(crate) fn ceiling(&self) -> f64 {
        ratio(self.evidence.0, self.evidence.1)
    }

    /// Fails when a total is below the floor.
    pub(crate) fn check_floor(&self, floor: &recipe::Floor) -> Result<(), String> {
        let mut below = Vec::new();
        for (name, key, minimum) in [
            ("name recall", "name_recall", floor.name_recall),
            ("name+version recall", "recall_nv", floor.recall_nv),
            ("precision", "precision", floor.precision),
        ] {
            let value = self.figure(key);
            if value < minimum {
                below.push(format!("{name} {value:.3} < floor {minimum:.3}"));
            }
        }
        if below.is_empty() {
            eprintln!(
                "heldout: every total is at or above the floor of {} ({})",
                self.set.files().0,
                floor.measured
            );
            Ok(())
        } else {
            Err(format!(
                "recognition on the {} images fell below the floor: {}\n\nhint: the report (target/{}/report.md) lists each image's misses; the floor is in {} [floor]",
                self.set.title(),
                below.join(", "),
                self.set.files().2,
                self.set.files().0
            ))
        }
    }

    /// The table rows: per image, then the total.
    pub(crate) fn rows(&self) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        for image in &self.images {
            rows.push(vec![
                image.name.clone(),
                image.pair.clone(),
                image.format.to_owned(),
                image.score["truth"].as_u64().unwrap_or(0).to_string(),
                format!("{:.2}", image.score["name_recall"].as_f64().unwrap_or(0.0)),
                format!("{:.2}", image.score["recall_nv"].as_f64().unwrap_or(0.0)),
                format!("{:.2}", ratio(image.evidence.0, image.evidence.1)),
                format!("{:.2}", image.score["precision"].as_f64().unwrap_or(0.0)),
                format!(
                    "{} ({})",
                    image.score["entries"].as_u64().unwrap_or(0),
                    image.score["versioned_entries"].as_u64().unwrap_or(0)
                ),
            ]);
        }
        rows.push(vec![
            "**total**".to_owned(),
            String::new(),
            String::new(),
            self.total["truth"].as_u64().unwrap_or(0).to_string(),
            format!("{:.2}", self.figure("name_recall")),
            format!("{:.2}", self.figure("recall_nv")),
            format!("{:.2}", self.ceiling()),
            format!("{:.2}", self.figure("precision")),
            format!(
                "{} ({})",
                self.total["entries"].as_u64().unwrap_or(0),
                self.total["versioned_entries"].as_u64().unwrap_or(0)
            ),
        ]);
        rows
    }

    pub(crate) const HEADER: [&'static str; 9] = [
        "image",
        "suite/arch",
        "packing",
        "truth",
        "name recall",
        "name+version recall",
        "evidence ceiling",
        "precision",
        "SBOM entries (versioned)",
    ];

    /// One line: the headline figures.
    pub(crate) fn summary(&self) -> String {
        format!(
            "name recall {:.2}, name+version recall {:.2} of a ceiling of {:.2} ({} of {} components state their release), precision {:.2}, over {} images ({} components)",
            self.figure("name_recall"),
            self.figure("recall_nv"),
            self.ceiling(),
            self.evidence.0,
            self.evidence.1,
            self.figure("precision"),
            self.images.len(),
            self.total["truth"].as_u64().unwrap_or(0)
        )
    }

    /// What was missed, wrong and extra, per image; a miss whose code states its release (one
    /// within the ceiling) is marked `(stated)`.
    pub(crate) fn details(&self) -> String {
        let mut text = String::new();
        for image in &self.images {
            let list = |key: &str| {
                image.score[key]
                    .as_array()
                    .map(|items| {
                        items
                            .iter()
                            .filter_map(Value::as_str)
                            .map(|item| {
                                if key == "missed" && image.stated.contains(item) {
                                    format!("{item} (stated)")
                                } else {
                                    item.to_owned()
                                }
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default()
            };
            let _ = writeln!(text, "- {}:", image.name);
            for (label, key) in [
                ("missed (name+version)", "missed"),
                ("wrong version", "wrong_version"),
                ("false positives", "false_positives"),
                ("unmatched, no version", "unversioned_unmatched"),
            ] {
                let items = list(key);
                if !items.is_empty() {
                    let _ = writeln!(text, "  - {label}: {items}");
                }
            }
        }
        text
    }

    pub(crate) fn json(&self) -> Value {
        json!({
            "consign": self.consign.display().to_string(),
            "total": self.total,
            "evidence_ceiling": self.ceiling(),
            "evidence": {"stated": self.evidence.0, "components": self.evidence.1},
            "scan_seconds": self.scan_time.as_secs_f64(),
            "images": self.images.iter().map(|image| json!({
                "name": image.name,
                "pair": image.pair,
                "packing": image.format,
                "bytes": image.bytes,
                "scan_seconds": image.scan_time.as_secs_f64(),
                "evidence": {"stated": image.evidence.0, "components": image.evidence.1},
                "score": image.score,
            })).collect::<Vec<_>>(),
        })
    }
}

#[allow(clippy::cast_precision_loss)] // Counts are far below 2^52.
fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// For `cargo xtask bench scan`: consign's accuracy on the held-out images beside its accuracy on
/// the shared corpus (`corpus_total`, score.py's total over `corpus_images` images), then the
/// held-out table itself.
pub(crate) fn bench_sections(
    consign: &Path,
    corpus_total: Option<&Value>,
    corpus_images: usize,
) -> Result<Vec<crate::bench::report::Section>, String> {
    let paths = Paths::new();
    let started = Instant::now();
    let built = build(&paths, LockMode::Keep)?;
    let build_time = started.elapsed();
    let result = evaluate(&paths, &built, consign)?;
    let mut section = crate::bench::report::Section::new(
        "accuracy: held-out images beside the shared corpus",
        "The same consign, scored by the same score.py, on the shared corpus (a training set: the signatures were cut from its binaries) and on the held-out images (Debian suites and architectures no signature was cut from, see the next section). The held-out figures are the ones that say how consign does on firmware it has not seen.",
        &[
            "set",
            "images",
            "truth",
            "name recall",
            "name+version recall",
            "evidence ceiling",
            "precision",
        ],
    );
    let cell = |total: Option<&Value>, key: &str| {
        total
            .and_then(|total| total.get(key))
            .and_then(Value::as_f64)
            .map_or_else(|| "-".to_owned(), |value| format!("{value:.2}"))
    };
    section.row(vec![
        "shared corpus (training)".to_owned(),
        corpus_images.to_string(),
        corpus_total
            .and_then(|total| total["truth"].as_u64())
            .map_or_else(|| "-".to_owned(), |n| n.to_string()),
        cell(corpus_total, "name_recall"),
        cell(corpus_total, "recall_nv"),
        "-".to_owned(),
        cell(corpus_total, "precision"),
    ]);
    section.row(vec![
        "held-out (`cargo xtask heldout`)".to_owned(),
        result.images.len().to_string(),
        result.total["truth"].as_u64().unwrap_or(0).to_string(),
        format!("{:.2}", result.figure("name_recall")),
        format!("{:.2}", result.figure("recall_nv")),
        format!("{:.2}", result.ceiling()),
        format!("{:.2}", result.figure("precision")),
    ]);
    let (recipe, _) = Recipe::read(&paths.recipe)?;
    section.headline(
        "held-out name recall / name+version recall / precision",
        format!(
            "{:.2} / {:.2} (ceiling {:.2}) / {:.2}",
            result.figure("name_recall"),
            result.figure("recall_nv"),
            result.ceiling(),
            result.figure("precision")
        ),
        ">= 0.95 / >= 0.65 / >= 0.95 (issue 12)",
        Some(
            result.figure("name_recall") >= 0.95
                && result.figure("recall_nv") >= 0.65
                && result.figure("precision") >= 0.95,
        ),
    );
    section.note(format!(
        "CI's floor for the held-out totals (xtask/heldout.toml, {}): name recall {:.2}, name+version recall {:.2}, precision {:.2}.",
        recipe.floor.measured, recipe.floor.name_recall, recipe.floor.recall_nv, recipe.floor.precision
    ));
    section.data = json!({
        "corpus_total": corpus_total,
        "corpus_images": corpus_images,
        "heldout": result.json(),
    });
    let detail = Report {
        result,
        build_time,
        set: Set::HeldOut,
    }
    .section();
    Ok(vec![section, detail])
}

/// The report `cargo xtask heldout` prints and writes.
struct Report {
    result: Evaluation,
    build_time: Duration,
    set: Set,
}

impl Report {
    fn section(&self) -> crate::bench::report::Section {
        let (recipe, lock, _) = self.set.files();
        let (title, command) = match self.set {
            Set::HeldOut => (
                "held-out recognition: images from Debian suites and architectures no signature was cut from",
                "cargo xtask heldout",
            ),
            Set::Dev => (
                "development-set recognition: the held-out recipe and package pool on other Debian suites and architectures, for finding what to fix",
                "cargo xtask heldout --set dev",
            ),
        };
        let mut section = crate::bench::report::Section::new(
            title,
            &format!(
                "Images built by `{command}` from the packages `{recipe}` picks (pinned in `{lock}`), truth from the packages' control data, scored by `../shared/corpus/score.py`. The evidence ceiling is the share of truth components whose code states their release at all: no detector reading the binaries can find a version beyond it."
            ),
            &Evaluation::HEADER,
        );
        for row in self.result.rows() {
            section.row(row);
        }
        section.note(self.result.summary());
        section.note(format!(
            "build (download, stage, pack, truth) {:.1} s; consign scan of all images {:.1} s with {}.",
            self.build_time.as_secs_f64(),
            self.result.scan_time.as_secs_f64(),
            crate::bench::display_path(&self.result.consign)
        ));
        section.data = self.result.json();
        section
    }

    fn text(&self) -> String {
        let mut text = self.section().text();
        text.push_str(&self.result.details());
        text
    }

    fn write(&self, dir: &Path) -> Result<(), String> {
        let section = self.section();
        let markdown = format!(
            "# consign {}\n\n{}## What was missed\n\n`(stated)`: the component's code states its release, so a detector could have found it.\n\n{}",
            self.set.title(),
            section.markdown(),
            self.result.details()
        );
        let path = dir.join("report.md");
        std::fs::write(&path, markdown)
            .map_err(|err| format!("writing {}: {err}", path.display()))?;
        let path = dir.join("report.json");
        let text = serde_json::to_string_pretty(&section.json())
            .map_err(|err| format!("report json: {err}"))?;
        std::fs::write(&path, text + "\n")
            .map_err(|err| format!("writing {}: {err}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments() {
        let args = |text: &str| {
            text.split_whitespace()
                .map(ToOwned::to_owned)
                .collect::<Vec<_>>()
        };
        let options = parse(&args("--check --consign target/debug/consign")).unwrap();
        assert!(options.check && options.lock == LockMode::Keep);
        assert_eq!(options.set, Set::HeldOut);
        assert_eq!(parse(&args("--set dev")).unwrap().set, Set::Dev);
        assert!(
            parse(&args("--set train"))
                .unwrap_err()
                .contains("`heldout` and `dev`")
        );
        assert_eq!(
            parse(&args("--update-lock")).unwrap().lock,
            LockMode::Update
        );
        assert_eq!(
            options.consign.as_deref(),
            Some(Path::new("target/debug/consign"))
        );
        assert!(
            parse(&args("--consign"))
                .unwrap_err()
                .contains("needs a path")
        );
        assert!(
            parse(&args("--fast"))
                .unwrap_err()
                .contains("unknown argument")
        );
    }

    #[test]
    fn images_the_recipe_no_longer_names_are_removed() {
        let dir = std::env::temp_dir().join(format!("consign-stale-{}", std::process::id()));
        for name in ["kept", "renamed-away"] {
            std::fs::create_dir_all(dir.join(name)).unwrap();
            std::fs::write(dir.join(name).join("truth.json"), "{}").unwrap();
        }
        remove_stale_images(&dir, &BTreeSet::from(["kept"])).unwrap();
        assert!(dir.join("kept/truth.json").is_file());
        assert!(!dir.join("renamed-away").exists());
        // No folder yet: nothing to do.
        remove_stale_images(&dir.join("none"), &BTreeSet::new()).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn evidence_counts_name_and_version_once() {
        let truth = json!({"components": [
            {"name": "glibc", "version": "2.41", "release_evidence": {"found": false}},
            {"name": "glibc", "version": "2.41", "release_evidence": {"found": true}},
            {"name": "libmnl", "version": "1.0.5", "release_evidence": {"found": false}},
        ]});
        assert_eq!(evidence(&truth), (1, 2));
    }

    #[test]
    fn the_floor_fails_below_and_passes_at() {
        let evaluation = Evaluation {
            images: Vec::new(),
            total: json!({"name_recall": 0.8, "recall_nv": 0.5, "precision": 0.95}),
            evidence: (0, 0),
            scan_time: Duration::ZERO,
            consign: PathBuf::new(),
            set: Set::HeldOut,
        };
        let floor = |name_recall, recall_nv, precision| recipe::Floor {
            measured: String::new(),
            name_recall,
            recall_nv,
            precision,
        };
        assert!(evaluation.check_floor(&floor(0.8, 0.5, 0.95)).is_ok());
        let err = evaluation.check_floor(&floor(0.8, 0.55, 0.9)).unwrap_err();
        assert!(
            err.contains("name+version recall 0.500 < floor 0.550"),
            "{err}"
        );
    }

    #[test]
    fn the_dev_set_shares_no_pair_with_the_held_out_set() {
        let (held_out, _) = Recipe::read(&Paths::of(Set::HeldOut).recipe).unwrap();
        let (dev, dev_text) = Recipe::read(&Paths::of(Set::Dev).recipe).unwrap();
        disjoint(&dev, &held_out).unwrap();
        // The same pool, pruning and truth names, from the one file.
        assert!(dev_text.contains("shares = \"heldout.toml\""));
        assert_eq!(dev.pool.packages, held_out.pool.packages);
        assert_eq!(dev.product.len(), held_out.product.len());
        assert_ne!(dev.seed, held_out.seed);
        // A pair in both fails.
        let mut overlapping = dev.clone();
        overlapping.target[0]
            .suite
            .clone_from(&held_out.target[0].suite);
        overlapping.target[0]
            .arch
            .clone_from(&held_out.target[0].arch);
        let err = disjoint(&overlapping, &held_out).unwrap_err();
        assert!(
            err.contains(&format!(
                "{}/{}",
                held_out.target[0].suite, held_out.target[0].arch
            )),
            "{err}"
        );
    }

    #[test]
    fn a_shared_recipe_may_not_repeat_the_pool() {
        let dir = std::env::temp_dir().join(format!("consign-devset-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let held_out = std::fs::read_to_string(Paths::new().recipe).unwrap();
        std::fs::write(dir.join("heldout.toml"), &held_out).unwrap();
        let dev = std::fs::read_to_string(Paths::of(Set::Dev).recipe).unwrap();
        std::fs::write(dir.join("devset.toml"), &dev).unwrap();
        assert!(Recipe::read(&dir.join("devset.toml")).is_ok());
        std::fs::write(
            dir.join("devset.toml"),
            format!("{dev}\n[pool]\npackages = [\"busybox\"]\nexclude = []\n"),
        )
        .unwrap();
        let err = Recipe::read(&dir.join("devset.toml")).unwrap_err();
        assert!(err.contains("come from there"), "{err}");
        std::fs::write(
            dir.join("devset.toml"),
            dev.replace("shares = \"heldout.toml\"", "shares = \"../heldout.toml\""),
        )
        .unwrap();
        assert!(Recipe::read(&dir.join("devset.toml")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_committed_locks_match_their_recipes() {
        for set in [Set::HeldOut, Set::Dev] {
            committed_lock_matches_recipe(&Paths::of(set));
        }
    }

    fn committed_lock_matches_recipe(paths: &Paths) {
        let (recipe, _) = Recipe::read(&paths.recipe).unwrap();
        let lock = Lock::read(&paths.lock).unwrap();
        assert_eq!(lock.selection_digest, recipe.selection_digest());
        let names: Vec<&str> = recipe
            .target
            .iter()
            .flat_map(|target| target.images.iter().map(|image| image.name.as_str()))
            .collect();
        let locked: Vec<&str> = lock
            .images
            .iter()
            .map(|image| image.name.as_str())
            .collect();
        assert_eq!(names, locked);
        for image in &lock.images {
            assert!(
                image.sha256.is_some(),
                "{}: no image sha256 recorded",
                image.name
            );
            for package in &image.packages {
                assert_eq!(
                    package.sha256.len(),
                    64,
                    "{} {}",
                    image.name,
                    package.package
                );
                assert!(
                    package.filename.starts_with("pool/"),
                    "{}",
                    package.filename
                );
            }
        }
    }
}
