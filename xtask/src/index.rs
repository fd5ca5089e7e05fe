//! `cargo xtask index`: generates consign-detect's name index (`crates/consign-detect/names/`)
//! from the whole Debian archive, and `cargo xtask index eval` measures it on file trees built
//! from another suite and architecture.
//!
//! The recipe reads, for every suite (bullseye, bookworm, trixie and sid by default), every
//! component's `Contents-<arch>.gz` and `Packages.gz` (amd64, arm64, armhf and `all`), all
//! checked against the suite's signed `InRelease`. Each path in a `bin`, `sbin` or `libexec`
//! folder gives a program name, each `lib*.so*` under a `lib` folder a library name; each name
//! maps to the upstream project of the source package that ships it (a signature's identity when
//! a signature lists that package). [`rules`] then leaves out collisions, short and generic names,
//! Debian's own tools, scripts, cross tools and off-topic sections; CPEs come only from
//! signatures and from NVD records (`../shared/vulndata/nvd`, read if present) that cite the
//! project's home page. The output is `names.tsv` (provenance in its `#` lines) and
//! `SHA256SUMS`; `README.md` beside them describes the rules.
//!
//! Usage: `cargo xtask index [--suites a,b] [--archs a,b] [--mirror URL] [--nvd DIR] [--out DIR]`.

pub(crate) mod archive;
mod eval;
mod rules;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use self::archive::{Archive, FetchError, MIRROR};
use self::rules::{BinaryFacts, Collector, Exclusion, NvdCpes, SignatureIdentity};
use crate::util::root;

const USAGE: &str = "usage: cargo xtask index [--suites a,b] [--archs a,b] [--mirror URL] [--nvd DIR] [--out DIR]
       cargo xtask index eval [--suite S] [--arch A] [--seed N] [--images N] [--per-image N] [--consign BIN] [--out DIR]";

/// The suites the archive serves here.
const SUITES: &[&str] = &["bullseye", "bookworm", "trixie", "sid"];
/// The architectures read besides `all`: the PC and the two ARM flavours most devices run.
const ARCHS: &[&str] = &["amd64", "arm64", "armhf"];

struct Options {
    mirror: String,
    suites: Vec<String>,
    archs: Vec<String>,
    nvd: Option<PathBuf>,
    out: PathBuf,
    cache: PathBuf,
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if args.first().is_some_and(|arg| arg == "eval") {
        return eval::run(&args[1..]);
    }
    let mut options = Options {
        mirror: MIRROR.to_owned(),
        suites: SUITES.iter().map(|s| (*s).to_owned()).collect(),
        archs: ARCHS.iter().map(|s| (*s).to_owned()).collect(),
        nvd: shared_dir()
            .map(|dir| dir.join("vulndata/nvd"))
            .filter(|dir| dir.is_dir()),
        out: root().join("crates/consign-detect/names"),
        cache: cache_dir(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .cloned()
                .ok_or_else(|| format!("`{arg}` needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--suites" => options.suites = split_list(&value()?),
            "--archs" => options.archs = split_list(&value()?),
            "--mirror" => options.mirror = value()?,
            "--nvd" => options.nvd = Some(PathBuf::from(value()?)),
            "--out" => options.out = PathBuf::from(value()?),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    generate(&options)
}

/// The shared material beside the checkout (`../shared`, or beside a parent folder for a
/// worktree kept under the main checkout's parent).
pub(crate) fn shared_dir() -> Option<PathBuf> {
    root()
        .ancestors()
        .skip(1)
        .map(|dir| dir.join("shared"))
        .find(|dir| dir.join("corpus").is_dir())
}

/// Where downloads are kept (shared by the recipes that read the Debian archive).
pub(crate) fn cache_dir() -> PathBuf {
    root().join("target/debian-cache")
}

fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn generate(options: &Options) -> Result<(), String> {
    let archive = Archive::new(&options.mirror, &options.cache);
    let mut collector = Collector::default();
    let mut comments = vec![
        "consign name index, format 1: see README.md beside this file".to_owned(),
        format!(
            "generated {} by `cargo xtask index` from {}",
            utc_now(),
            archive.mirror()
        ),
    ];
    let mut earlier: HashMap<String, archive::Package> = HashMap::new();
    let mut skipped = 0;
    for suite in &options.suites {
        let release = archive.release(suite)?;
        comments.push(format!(
            "release {suite}: Date {}, InRelease sha256 {} (signature checked with gpgv)",
            release.date, release.sha256
        ));
        let mut archs: Vec<&str> = options.archs.iter().map(String::as_str).collect();
        archs.push("all");
        let mut facts: HashMap<String, archive::Package> = HashMap::new();
        for component in &release.components {
            for arch in &archs {
                let path = format!("{component}/binary-{arch}/Packages.gz");
                if !release.files.contains_key(&path) {
                    continue;
                }
                let text = match archive.index_file(&release, &path) {
                    Ok(text) => text,
                    Err(FetchError::Mismatch(message)) => {
                        comments.push(skipped_line(&release, &path, &mut skipped, &message));
                        continue;
                    }
                    Err(FetchError::Other(message)) => return Err(message),
                };
                let text = String::from_utf8_lossy(&text);
                for package in archive::packages(&text) {
                    facts.entry(package.package.clone()).or_insert(package);
                }
                comments.push(input_line(&release, &path));
            }
        }
        // A package this suite's lists miss (one was left out) is known from an earlier suite.
        for (name, package) in &earlier {
            if !facts.contains_key(name) {
                facts.insert(name.clone(), package.clone());
            }
        }
        for component in &release.components {
            for arch in &archs {
                let path = format!("{component}/Contents-{arch}.gz");
                if !release.files.contains_key(&path) {
                    continue;
                }
                let reader = match archive.index_reader(&release, &path) {
                    Ok(reader) => reader,
                    Err(FetchError::Mismatch(message)) => {
                        comments.push(skipped_line(&release, &path, &mut skipped, &message));
                        continue;
                    }
                    Err(FetchError::Other(message)) => return Err(message),
                };
                archive::contents(reader, rules::may_classify, |path, owners| {
                    for (_, package) in owners {
                        if let Some(facts) = facts.get(*package) {
                            collector.add(
                                path,
                                package,
                                &BinaryFacts {
                                    source: &facts.source,
                                    source_version: &facts.source_version,
                                    section: &facts.section,
                                    homepage: facts.homepage.as_deref(),
                                },
                            );
                        }
                    }
                })?;
                comments.push(input_line(&release, &path));
            }
        }
        // Every binary package's source and home page, also for packages that ship no name:
        // they decide which project a suffixed source joins.
        for package in facts.values() {
            collector.note_package(
                &package.package,
                &BinaryFacts {
                    source: &package.source,
                    source_version: &package.source_version,
                    section: &package.section,
                    homepage: package.homepage.as_deref(),
                },
            );
        }
        earlier = facts;
    }
    let signatures = signature_identities()?;
    comments.push(format!(
        "signatures: {} products of crates/consign-detect/signatures reused by their `packages`",
        signatures.len()
    ));
    let nvd = match &options.nvd {
        Some(dir) => {
            let (cpes, records) = read_nvd(dir)?;
            comments.push(format!(
                "nvd: {records} records under {} (CPEs only where a record cites the project's home page)",
                shared_dir()
                    .and_then(|shared| Some(Path::new("..").join(dir.strip_prefix(shared.parent()?).ok()?)))
                    .unwrap_or_else(|| dir.clone())
                    .display()
            ));
            cpes
        }
        None => NvdCpes::default(),
    };
    let index = rules::build(&collector, &signatures, &nvd);
    let mut excluded = String::new();
    for reason in Exclusion::ALL {
        let _ = write!(
            excluded,
            " {}={}",
            reason.label(),
            index.excluded.get(&reason).copied().unwrap_or(0)
        );
    }
    comments.push(format!("names left out:{excluded}"));
    if skipped > 0 {
        eprintln!("warning: {skipped} index files were left out (see the `left out` lines)");
    }
    let with_cpe = index.projects.iter().filter(|p| p.cpe.is_some()).count();
    comments.push(format!(
        "kept: {} names of {} projects ({with_cpe} with a CPE)",
        index.names.len(),
        index.projects.len()
    ));
    let projects: Vec<consign_detect::IndexProject<'_>> = index
        .projects
        .iter()
        .map(|project| {
            let (vendor, product) = project
                .cpe
                .as_deref()
                .and_then(|cpe| cpe.split_once(':'))
                .unzip();
            consign_detect::IndexProject {
                name: &project.name,
                library: project.library,
                cpe_vendor: vendor,
                cpe_product: product,
                purl: &project.purl,
            }
        })
        .collect();
    let text = consign_detect::NameIndex::render(&comments, &projects, &index.names);
    let parsed = consign_detect::NameIndex::parse(text.as_bytes());
    if parsed.problems() != 0 || parsed.len() != index.names.len() {
        return Err(format!(
            "the generated index does not read back ({} problems, {} of {} names)",
            parsed.problems(),
            parsed.len(),
            index.names.len()
        ));
    }
    write_pinned(&options.out, "names.tsv", text.as_bytes())?;
    // The collisions, for a reader who wants to see what the rule left out.
    let collisions = root().join("target/index-collisions.txt");
    let mut listing = String::new();
    for (key, projects) in &index.collision_examples {
        let _ = writeln!(listing, "{key}\t{}", projects.join(" "));
    }
    let _ = std::fs::write(&collisions, listing);
    eprintln!(
        "index: {} names of {} projects, {} bytes, written to {}; left out:{excluded}",
        index.names.len(),
        index.projects.len(),
        text.len(),
        options.out.display()
    );
    Ok(())
}

/// A file the mirror served with the wrong sha256: left out, and said so in the provenance.
fn skipped_line(
    release: &archive::Release,
    path: &str,
    skipped: &mut usize,
    message: &str,
) -> String {
    *skipped += 1;
    eprintln!(
        "warning: {message}\nwarning: {path} of {} is left out",
        release.suite
    );
    format!(
        "left out {}/{path}: the mirror served bytes that do not match the signed sha256",
        release.suite
    )
}

fn input_line(release: &archive::Release, path: &str) -> String {
    let sha256 = release
        .files
        .get(path)
        .map_or("?", |(sha256, _)| sha256.as_str());
    format!("input {}/{path}: sha256 {sha256}", release.suite)
}

fn signature_identities() -> Result<Vec<SignatureIdentity>, String> {
    let products = consign_detect::signature_products().map_err(ToString::to_string)?;
    Ok(products
        .into_iter()
        .map(|product| SignatureIdentity {
            cpe: product
                .cpe_vendor
                .zip(product.cpe_product)
                .map(|(vendor, product)| format!("{vendor}:{product}")),
            name: product.name,
            library: product.library,
            purl: product.purl,
            packages: product.packages,
        })
        .collect())
}

/// Reads NVD CVE records (API 2.0 `cve` objects, one per file): every `vendor:product` their
/// configurations name, with the sites their references point to.
fn read_nvd(dir: &Path) -> Result<(NvdCpes, usize), String> {
    let mut files = Vec::new();
    walk_json(dir, &mut files)?;
    let mut cpes = NvdCpes::default();
    for file in &files {
        let text =
            std::fs::read(file).map_err(|err| format!("reading {}: {err}", file.display()))?;
        let record: serde_json::Value = serde_json::from_slice(&text)
            .map_err(|err| format!("{}: not JSON: {err}", file.display()))?;
        let sites: Vec<String> = record["references"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|reference| reference["url"].as_str())
            .filter_map(rules::site_key)
            .collect();
        for configuration in record["configurations"].as_array().into_iter().flatten() {
            for node in configuration["nodes"].as_array().into_iter().flatten() {
                for matched in node["cpeMatch"].as_array().into_iter().flatten() {
                    let Some(criteria) = matched["criteria"].as_str() else {
                        continue;
                    };
                    let parts: Vec<&str> = criteria.split(':').collect();
                    if let [_, _, part, vendor, product, ..] = parts.as_slice()
                        && (*part == "a" || *part == "o")
                    {
                        let cpe =
                            format!("{}:{}", vendor.replace('\\', ""), product.replace('\\', ""));
                        cpes.sites
                            .entry(cpe)
                            .or_default()
                            .extend(sites.iter().cloned());
                    }
                }
            }
        }
    }
    Ok((cpes, files.len()))
}

fn walk_json(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|err| format!("reading {}: {err}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|err| err.to_string())?.path();
        if path.is_dir() {
            walk_json(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "json") {
            out.push(path);
        }
    }
    out.sort();
    Ok(())
}

/// Writes `name` into `dir` and records its sha256 in the folder's `SHA256SUMS`.
fn write_pinned(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|err| format!("creating {}: {err}", dir.display()))?;
    let path = dir.join(name);
    std::fs::write(&path, bytes).map_err(|err| format!("writing {}: {err}", path.display()))?;
    let manifest = dir.join("SHA256SUMS");
    let mut entries: BTreeMap<String, String> = if manifest.is_file() {
        crate::manifest::entries(&manifest)?
            .into_iter()
            .map(|(hash, file)| (file, hash))
            .collect()
    } else {
        BTreeMap::new()
    };
    entries.insert(name.to_owned(), hex::encode(Sha256::digest(bytes)));
    let mut text = String::new();
    for (file, hash) in entries {
        let _ = writeln!(text, "{hash}  {file}");
    }
    std::fs::write(&manifest, text).map_err(|err| format!("writing {}: {err}", manifest.display()))
}

/// The current time in UTC, `2026-12-05T12:00:00Z`.
fn utc_now() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format_utc(seconds)
}

/// Formats seconds since the epoch as a UTC date and time (proleptic Gregorian calendar).
fn format_utc(seconds: u64) -> String {
    let days = i64::try_from(seconds / 86_400).unwrap_or(0);
    let rest = seconds % 86_400;
    // Days to civil date, after H. Hinnant's `civil_from_days`.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
    }

    /// The vendored index is what its `SHA256SUMS` pins.
    #[test]
    fn vendored_index_matches_its_manifest() {
        let mut problems = String::new();
        let listed = crate::manifest::check(
            &root().join("crates/consign-detect/names/SHA256SUMS"),
            &mut problems,
        )
        .unwrap();
        assert!(
            problems.is_empty(),
            "{problems}\nhint: rerun `cargo xtask index`"
        );
        assert_eq!(listed.len(), 1);
    }

    #[test]
    fn nvd_records_give_cpes_with_sites() {
        let dir = std::env::temp_dir().join(format!("consign-nvd-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("CVE-2020")).unwrap();
        std::fs::write(
            dir.join("CVE-2020/CVE-2020-12762.json"),
            r#"{"id":"CVE-2020-12762","references":[{"url":"https://github.com/json-c/json-c/pull/592"}],"configurations":[{"nodes":[{"cpeMatch":[{"criteria":"cpe:2.3:a:json-c_project:json-c:*:*:*:*:*:*:*:*"},{"criteria":"cpe:2.3:o:debian:debian_linux:9.0:*:*:*:*:*:*:*"}]}]}]}"#,
        )
        .unwrap();
        let (cpes, records) = read_nvd(&dir).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(records, 1);
        assert_eq!(
            cpes.lookup("json-c", Some("https://github.com/json-c/json-c/wiki"))
                .as_deref(),
            Some("json-c_project:json-c")
        );
    }
}
