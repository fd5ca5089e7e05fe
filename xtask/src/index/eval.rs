//! `cargo xtask index eval`: file trees built from Debian packages of a suite and architecture the
//! project was not tuned on, each with a corpus-format `truth.json`, scanned with consign and
//! scored with the shared corpus's `score.py`.
//!
//! The packages are chosen by a seeded shuffle, not by a person: every binary package of the
//! architecture (not `all`) in a section firmware carries, at most 8 MiB installed, that is not a
//! `-dev`, `-dbg` or `-doc` package and whose `Contents` lists a file under a `bin`, `sbin` or
//! `lib` folder; at most one package per source. Each tree keeps the ELF files of its packages
//! (documentation, scripts and data are left out, as firmware builds do) and is packed as a tar.
//! The truth has one component per source package (split where signatures name separate
//! products, as `wpa` gives `hostapd` and `wpa_supplicant`): its name is the source, its aliases the
//! binary package names, the source's upstream spelling and the names of signatures that list
//! one of its packages; its version the upstream release.
//!
//! Usage: `cargo xtask index eval [--suite sid] [--arch riscv64] [--seed 1] [--images 4]
//! [--per-image 25] [--consign target/release/consign] [--out target/index-eval]`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use super::archive::{self, Archive, MIRROR, Package};
use super::rules::upstream_name;
use super::{cache_dir, signature_identities};
use crate::util::root;

/// Sections whose packages embedded Linux firmware carries.
const FIRMWARE_SECTIONS: &[&str] = &[
    "admin",
    "net",
    "libs",
    "utils",
    "web",
    "httpd",
    "mail",
    "database",
    "comm",
    "embedded",
    "kernel",
    "shells",
    "sound",
    "video",
    "misc",
    "otherosfs",
    "interpreters",
];
/// Largest installed size of a chosen package, in KiB.
const MAX_INSTALLED_KIB: u64 = 8 * 1024;

struct Options {
    suite: String,
    arch: String,
    seed: u64,
    images: usize,
    per_image: usize,
    consign: PathBuf,
    out: PathBuf,
    score: PathBuf,
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut options = Options {
        suite: "sid".to_owned(),
        arch: "riscv64".to_owned(),
        seed: 1,
        images: 4,
        per_image: 25,
        consign: root().join("target/release/consign"),
        out: root().join("target/index-eval"),
        score: super::shared_dir()
            .unwrap_or_else(|| root().join("../shared"))
            .join("corpus/score.py"),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .cloned()
                .ok_or_else(|| format!("`{arg}` needs a value\n{}", super::USAGE))
        };
        let number = |text: String| {
            text.parse::<u64>()
                .map_err(|_| format!("`{arg}` takes a number, got `{text}`"))
        };
        match arg.as_str() {
            "--suite" => options.suite = value()?,
            "--arch" => options.arch = value()?,
            "--seed" => options.seed = number(value()?)?,
            "--images" => options.images = number(value()?)? as usize,
            "--per-image" => options.per_image = number(value()?)? as usize,
            "--consign" => options.consign = PathBuf::from(value()?),
            "--out" => options.out = PathBuf::from(value()?),
            "--score" => options.score = PathBuf::from(value()?),
            other => return Err(format!("unknown argument `{other}`\n{}", super::USAGE)),
        }
    }
    evaluate(&options)
}

fn evaluate(options: &Options) -> Result<(), String> {
    let archive = Archive::new(MIRROR, &cache_dir());
    let release = archive.release(&options.suite)?;
    let packages_path = format!("main/binary-{}/Packages.gz", options.arch);
    let text = archive.index_file(&release, &packages_path)?;
    let packages = archive::packages(&String::from_utf8_lossy(&text));
    let mut with_code: BTreeSet<String> = BTreeSet::new();
    let reader = archive.index_reader(&release, &format!("main/Contents-{}.gz", options.arch))?;
    archive::contents(reader, may_hold_code, |_, owners| {
        for (_, package) in owners {
            if !with_code.contains(*package) {
                with_code.insert((*package).to_owned());
            }
        }
    })?;
    let chosen = choose(&packages, &with_code, options);
    let signatures = signature_identities()?;

    let images_dir = options.out.join("images");
    let sboms_dir = options.out.join("sboms");
    for dir in [&images_dir, &sboms_dir, &options.out.join("trees")] {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).map_err(|err| format!("creating {}: {err}", dir.display()))?;
    }
    for (number, image) in chosen.iter().enumerate() {
        let name = format!("{}-{}-{number}", options.suite, options.arch);
        let tree = options.out.join("trees").join(&name);
        let mut components: BTreeMap<String, Component> = BTreeMap::new();
        let mut not_scored = Vec::new();
        for package in image {
            let deb = archive.pool_file(&package.filename, &package.sha256)?;
            let files = extract_code(&deb, &tree, &options.out.join("work"))?;
            if files.is_empty() {
                not_scored.push(json!({"package": package.package, "reason": "no object file"}));
                continue;
            }
            let listing: Vec<&str> = signatures
                .iter()
                .filter(|s| {
                    s.packages
                        .iter()
                        .any(|p| *p == package.package || *p == package.source)
                })
                .map(|s| s.name.as_str())
                .collect();
            let key = match listing.as_slice() {
                [one] => (*one).to_owned(),
                _ => package.source.clone(),
            };
            let component = components.entry(key.clone()).or_insert_with(|| Component {
                name: key,
                source: package.source.clone(),
                debian_version: package.source_version.clone(),
                aliases: BTreeSet::new(),
                packages: Vec::new(),
                files: Vec::new(),
            });
            component.aliases.insert(package.package.clone());
            component.aliases.insert(package.source.clone());
            component.aliases.insert(upstream_name(&package.source));
            component
                .aliases
                .extend(listing.iter().map(|name| (*name).to_owned()));
            component.packages.push(json!({
                "package": package.package,
                "version": package.version,
                "architecture": package.architecture,
            }));
            component.files.extend(files);
        }
        let image_dir = images_dir.join(&name);
        std::fs::create_dir_all(&image_dir)
            .map_err(|err| format!("creating {}: {err}", image_dir.display()))?;
        let file = format!("{name}.tar");
        pack(&tree, &image_dir.join(&file))?;
        let bytes = std::fs::read(image_dir.join(&file)).map_err(|err| err.to_string())?;
        let truth = json!({
            "format": "fw-corpus-truth/1",
            "image": {
                "name": name,
                "file": file,
                "arch": options.arch,
                "debian_arch": options.arch,
                "recipe": "tar",
                "description": format!(
                    "cargo xtask index eval --suite {} --arch {} --seed {}: image {number}",
                    options.suite, options.arch, options.seed
                ),
                "size": bytes.len(),
                "sha256": hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)),
            },
            "status_db": null,
            "components": components.values().map(Component::truth).collect::<Vec<_>>(),
            "not_scored": not_scored,
        });
        let truth_text = serde_json::to_string_pretty(&truth).map_err(|err| err.to_string())?;
        std::fs::write(image_dir.join("truth.json"), truth_text)
            .map_err(|err| format!("writing the truth of {name}: {err}"))?;
        run_consign(
            &options.consign,
            &image_dir.join(&file),
            &sboms_dir.join(format!("{name}.json")),
        )?;
    }
    let output = Command::new("python3")
        .arg(&options.score)
        .arg(&sboms_dir)
        .arg(&images_dir)
        .output()
        .map_err(|err| format!("could not run python3 {}: {err}", options.score.display()))?;
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    print!("{report}");
    std::fs::write(options.out.join("score.txt"), &report).map_err(|err| err.to_string())?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "score.py failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// One truth component being gathered.
struct Component {
    name: String,
    source: String,
    debian_version: String,
    aliases: BTreeSet<String>,
    packages: Vec<serde_json::Value>,
    files: Vec<String>,
}

impl Component {
    fn truth(&self) -> serde_json::Value {
        let mut aliases = self.aliases.clone();
        aliases.remove(&self.name);
        let mut files = self.files.clone();
        files.sort();
        json!({
            "name": self.name,
            "aliases": aliases,
            "version": upstream_version(&self.debian_version),
            "version_aliases": [],
            "debian_source": self.source,
            "debian_version": self.debian_version,
            "debian_packages": self.packages,
            "embedded": false,
            "files": files,
        })
    }
}

/// `1:2.3.4-5+b1` -> `2.3.4`.
fn upstream_version(version: &str) -> String {
    let version = version.split_once(':').map_or(version, |(_, rest)| rest);
    version
        .rsplit_once('-')
        .map_or(version, |(upstream, _)| upstream)
        .to_owned()
}

fn may_hold_code(line: &str) -> bool {
    let rest = line.strip_prefix("usr/").unwrap_or(line);
    rest.starts_with("bin/") || rest.starts_with("sbin/") || rest.starts_with("lib")
}

/// The seeded choice: `images` lists of `per_image` packages, one package per source overall.
fn choose<'a>(
    packages: &'a [Package],
    with_code: &BTreeSet<String>,
    options: &Options,
) -> Vec<Vec<&'a Package>> {
    let mut candidates: Vec<&Package> = packages
        .iter()
        .filter(|p| p.architecture == options.arch)
        .filter(|p| FIRMWARE_SECTIONS.contains(&p.section.as_str()))
        .filter(|p| p.installed_size <= MAX_INSTALLED_KIB)
        .filter(|p| {
            !["-dev", "-dbg", "-doc", "-dbgsym"]
                .iter()
                .any(|suffix| p.package.ends_with(suffix))
        })
        .filter(|p| with_code.contains(&p.package))
        .collect();
    candidates.sort_by(|a, b| a.package.cmp(&b.package));
    candidates.dedup_by(|a, b| a.package == b.package);
    let mut state = options.seed;
    for idx in (1..candidates.len()).rev() {
        let pick = (splitmix64(&mut state) % (idx as u64 + 1)) as usize;
        candidates.swap(idx, pick);
    }
    let mut sources = BTreeSet::new();
    let mut images = vec![Vec::new(); options.images];
    let mut next = 0;
    for package in candidates {
        if images.iter().all(|image| image.len() >= options.per_image) {
            break;
        }
        if !sources.insert(package.source.as_str()) {
            continue;
        }
        images[next % options.images].push(package);
        next += 1;
    }
    images
}

/// The `splitmix64` generator: a fixed, documented sequence for a seed.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Unpacks a `.deb` with `dpkg-deb -x` and copies its ELF files (not under `usr/share` or
/// `usr/lib/debug`) into `tree`; returns their paths in the tree (`/usr/bin/x`).
fn extract_code(deb: &Path, tree: &Path, work: &Path) -> Result<Vec<String>, String> {
    let _ = std::fs::remove_dir_all(work);
    std::fs::create_dir_all(work).map_err(|err| format!("creating {}: {err}", work.display()))?;
    let status = Command::new("dpkg-deb")
        .arg("-x")
        .arg(deb)
        .arg(work)
        .status()
        .map_err(|err| format!("could not run dpkg-deb: {err}\nhint: apt-get install dpkg"))?;
    if !status.success() {
        return Err(format!("dpkg-deb -x {} failed ({status})", deb.display()));
    }
    let mut files = Vec::new();
    walk(work, &mut files)?;
    let mut kept = Vec::new();
    for file in files {
        let Ok(relative) = file.strip_prefix(work) else {
            continue;
        };
        let relative_text = relative.to_string_lossy().into_owned();
        if relative_text.starts_with("usr/share/") || relative_text.starts_with("usr/lib/debug/") {
            continue;
        }
        let mut magic = [0u8; 4];
        let is_elf = std::fs::File::open(&file)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
            .is_ok()
            && magic == *b"\x7fELF";
        if !is_elf {
            continue;
        }
        let target = tree.join(relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|err| format!("creating {}: {err}", parent.display()))?;
        }
        std::fs::copy(&file, &target)
            .map_err(|err| format!("copying to {}: {err}", target.display()))?;
        kept.push(format!("/{relative_text}"));
    }
    Ok(kept)
}

/// Regular files under `dir` (symbolic links are not followed).
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|err| format!("reading {}: {err}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|err| err.to_string())?;
        let kind = entry.file_type().map_err(|err| err.to_string())?;
        if kind.is_dir() {
            walk(&entry.path(), out)?;
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(())
}

/// A reproducible tar of `tree`.
fn pack(tree: &Path, tar: &Path) -> Result<(), String> {
    std::fs::create_dir_all(tree).map_err(|err| format!("creating {}: {err}", tree.display()))?;
    let status = Command::new("tar")
        .args([
            "--sort=name",
            "--mtime=@0",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            "-cf",
        ])
        .arg(tar)
        .arg("-C")
        .arg(tree)
        .arg(".")
        .status()
        .map_err(|err| format!("could not run tar: {err}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("tar failed for {} ({status})", tree.display()))
    }
}

fn run_consign(consign: &Path, image: &Path, sbom: &Path) -> Result<(), String> {
    let status = Command::new(consign)
        .arg("-q")
        .arg("scan")
        .arg(image)
        .arg("-o")
        .arg(sbom)
        .status()
        .map_err(|err| {
            format!(
                "could not run {}: {err}\nhint: cargo build --release -p consign-cli",
                consign.display()
            )
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "consign scan {} failed ({status})",
            image.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_without_epoch_and_revision() {
        assert_eq!(upstream_version("1:2.3.4-5+b1"), "2.3.4");
        assert_eq!(upstream_version("2022.83-1+deb12u3"), "2022.83");
        assert_eq!(upstream_version("1.21"), "1.21");
    }

    /// The same seed gives the same choice; another seed another one; one package per source.
    #[test]
    fn seeded_choice() {
        let packages: Vec<Package> = (0..200)
            .map(|i| Package {
                package: format!("pkg{i}"),
                source: format!("src{}", i / 2),
                architecture: "riscv64".to_owned(),
                section: if i % 7 == 0 { "games" } else { "net" }.to_owned(),
                installed_size: 100,
                ..Package::default()
            })
            .collect();
        let with_code: BTreeSet<String> = packages.iter().map(|p| p.package.clone()).collect();
        let options = |seed| Options {
            suite: "trixie".to_owned(),
            arch: "riscv64".to_owned(),
            seed,
            images: 3,
            per_image: 5,
            consign: PathBuf::new(),
            out: PathBuf::new(),
            score: PathBuf::new(),
        };
        let names = |seed| -> Vec<Vec<String>> {
            choose(&packages, &with_code, &options(seed))
                .iter()
                .map(|image| image.iter().map(|p| p.package.clone()).collect())
                .collect()
        };
        let first = names(1);
        assert_eq!(first, names(1));
        assert_ne!(first, names(2));
        assert!(first.iter().all(|image| image.len() == 5));
        let chosen: Vec<&Package> = choose(&packages, &with_code, &options(1))
            .into_iter()
            .flatten()
            .collect();
        let sources: BTreeSet<&str> = chosen.iter().map(|p| p.source.as_str()).collect();
        assert_eq!(sources.len(), chosen.len());
        assert!(chosen.iter().all(|p| p.section == "net"));
    }
}
