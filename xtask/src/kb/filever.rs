//! `cargo xtask kb filever`: release rules learnt from the file names Debian installs.
//!
//! Many libraries never state their release in their bytes, but their installed file names do
//! (`libelf-0.188.so`, `libtommath.so.1.2.0`). Many others carry a libtool interface number that
//! is not the release (`libmnl.so.0.2.0` is libmnl 1.0.5). So a rule is never assumed: for each
//! product the pipeline
//!
//! 1. takes the binary packages [`super::releases`] reads in each suite (bullseye, bookworm,
//!    trixie, sid, on the architectures it uses there; the held-out pairs of `xtask/heldout.toml`
//!    are never read) and lists the files they install from the suite's `Contents-<arch>.gz`,
//!    checked against the signed `InRelease` ([`crate::index::archive`]);
//! 2. finds file names, in library and program folders, in which the package's upstream release
//!    (the Debian version without epoch, revision, `+dfsg`/`+ds`/`~` parts) is a whole dotted
//!    component: not part of a longer dotted number;
//! 3. turns each such name into candidate rules: the whole name as a regex, the release replaced
//!    by a group, in three shapes (any dotted number, at least two parts, exactly as many parts);
//! 4. keeps a candidate only if, over every file name of every release seen, it reads the right
//!    release at >= 2 distinct upstream releases and never a wrong one ([`learn`]). The rules kept
//!    go into the product's signature as `[[named_file]]` entries with `learnt` provenance, and
//!    every real name they read becomes a `[[file_test]]` (path, release, origin), with near
//!    misses (the product's other numbered names, which must give no release).
//!
//! A product none of whose names carries its release, or whose candidates read a wrong release
//! anywhere, gets no rule; the report counts each reason.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use super::products::Product;
use super::releases::{self, HeldOut, Indices, Release};
use super::write;
use crate::debian::Archive;
use crate::index::archive as contents;

/// Most rules kept per product.
const MAX_RULES: usize = 8;
/// Most near-miss names written per rule.
const MAX_NEAR_MISSES: usize = 2;

/// One file a package installs, in one release of the product.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct InstalledFile {
    pub(crate) suite: String,
    pub(crate) arch: String,
    pub(crate) package: String,
    pub(crate) package_version: String,
    /// The product's upstream release in that suite.
    pub(crate) upstream: String,
    /// The path the package installs (`usr/lib/arm-linux-gnueabihf/libelf-0.188.so`).
    pub(crate) path: String,
}

impl InstalledFile {
    fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }

    fn origin(&self) -> String {
        format!(
            "Debian {} {} {} ({})",
            self.suite, self.package, self.package_version, self.arch
        )
    }
}

/// A rule the names proved.
#[derive(Clone, Debug)]
pub(crate) struct Learnt {
    /// The whole-name regex; its group is the release.
    pub(crate) regex: String,
    /// One name per upstream release it reads, with that release.
    pub(crate) reads: Vec<(String, InstalledFile)>,
    /// Names of the product that it must not read a release from.
    pub(crate) near_misses: Vec<InstalledFile>,
}

/// What the names say about one product.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Rules that read the right release at >= 2 releases and a wrong one nowhere.
    Learnt(Vec<Learnt>),
    /// No file name carries the release as a whole component.
    NotInNames,
    /// Names carry it, but every candidate also reads a wrong release somewhere: the number does
    /// not track the release (the first such reading, as an example).
    Refused(String),
    /// Names carry it and nothing contradicts it, but at one upstream release only: unproven.
    OneRelease(String),
}

/// True for a path in a folder that holds libraries or programs.
fn eligible(path: &str) -> bool {
    let folder = path.rsplit_once('/').map_or("", |(folder, _)| folder);
    let lib = [
        "lib/",
        "usr/lib/",
        "lib32/",
        "lib64/",
        "usr/lib32/",
        "usr/lib64/",
    ]
    .iter()
    .any(|prefix| folder.starts_with(prefix.trim_end_matches('/')) && path.starts_with(prefix));
    let bin =
        matches!(folder, "bin" | "sbin" | "usr/bin" | "usr/sbin") || folder.contains("libexec");
    // Interpreters' module trees name the modules, not the product.
    let modules = [
        "/python",
        "/perl",
        "/ruby",
        "/node_modules",
        "/jvm",
        "/debug/",
    ]
    .iter()
    .any(|part| folder.contains(part));
    (lib || bin) && !modules && !path.starts_with("usr/lib/debug")
}

/// The release spellings worth looking for: dotted numbers only.
fn spellings(upstream: &str) -> Vec<String> {
    super::locate::variants(upstream)
        .into_iter()
        .filter(|v| {
            !v.starts_with('.')
                && !v.ends_with('.')
                && !v.contains("..")
                && v.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        })
        .collect()
}

/// Where `spelling` sits in `name` as a whole dotted component: not inside a longer number.
fn whole_components(name: &str, spelling: &str) -> Vec<usize> {
    let bytes = name.as_bytes();
    let digit_at = |i: Option<usize>| i.and_then(|i| bytes.get(i)).is_some_and(u8::is_ascii_digit);
    let mut out = Vec::new();
    for (at, _) in name.match_indices(spelling) {
        let end = at + spelling.len();
        let before = at.checked_sub(1).and_then(|i| bytes.get(i)).copied();
        let after = bytes.get(end).copied();
        let before_ok = match before {
            None | Some(b'-' | b'_') => true,
            Some(b'.') => !digit_at(at.checked_sub(2)),
            Some(_) => false,
        };
        let after_ok = match after {
            None | Some(b'-' | b'_') => true,
            Some(b'.') => !digit_at(Some(end + 1)),
            Some(_) => false,
        };
        if before_ok && after_ok {
            out.push(at);
        }
    }
    out
}

/// Candidate rules from one name: the release at `at` replaced by a group of each shape.
fn candidates(name: &str, at: usize, spelling: &str) -> Vec<(String, u8)> {
    let escape = |text: &str| regex::escape(text);
    let prefix = escape(name.get(..at).unwrap_or_default());
    let suffix = escape(name.get(at + spelling.len()..).unwrap_or_default());
    let parts = spelling.split('.').count();
    let mut shapes = vec![(r"(\d+(?:\.\d+)*)".to_owned(), 0)];
    if parts >= 2 {
        shapes.push((r"(\d+(?:\.\d+)+)".to_owned(), 1));
    }
    shapes.push((
        if parts == 1 {
            r"(\d+)".to_owned()
        } else {
            format!(r"(\d+(?:\.\d+){{{}}})", parts - 1)
        },
        2,
    ));
    shapes
        .into_iter()
        .map(|(group, generality)| (format!("^{prefix}{group}{suffix}$"), generality))
        .collect()
}

/// True if a name reads the release exactly as upstream spells it. A name that adds or drops a
/// `.0` (`libbpf.so.0.3.0` of libbpf 0.3) cannot tell `0.3` from `0.3.0`, and an SBOM's purl and
/// CPE name the release as upstream spells it, so such a reading is wrong and refuses the rule.
fn exact_release(found: &str, upstream: &str) -> bool {
    super::locate::variants(upstream)
        .iter()
        .any(|spelling| spelling == found)
}

/// Learns the file-name rules of one product from every file its packages install.
pub(crate) fn learn(files: &[InstalledFile]) -> Verdict {
    let files: Vec<&InstalledFile> = files.iter().filter(|f| eligible(&f.path)).collect();
    // Candidate regex to its generality (lower is more general).
    let mut found: BTreeMap<String, u8> = BTreeMap::new();
    for file in &files {
        let name = file.file_name();
        for spelling in spellings(&file.upstream) {
            for at in whole_components(name, &spelling) {
                for (regex, generality) in candidates(name, at, &spelling) {
                    found.entry(regex).or_insert(generality);
                }
            }
        }
    }
    if found.is_empty() {
        return Verdict::NotInNames;
    }
    let mut passing: Vec<(Learnt, u8)> = Vec::new();
    let mut refusal: Option<String> = None;
    let mut one_release: Option<String> = None;
    for (text, generality) in &found {
        // As the signature loader compiles it: `\d` is an ASCII digit.
        let Ok(regex) = regex::RegexBuilder::new(text).unicode(false).build() else {
            continue;
        };
        // Upstream release to (what the rule read, the file it read it from).
        let mut reads: BTreeMap<String, (String, InstalledFile)> = BTreeMap::new();
        let mut wrong: Option<String> = None;
        for file in &files {
            let Some(value) = regex
                .captures(file.file_name())
                .and_then(|c| c.get(1))
                .map(|m| m.as_str().to_owned())
            else {
                continue;
            };
            if exact_release(&value, &file.upstream) {
                reads
                    .entry(file.upstream.clone())
                    .or_insert((value, (*file).clone()));
            } else {
                wrong = Some(format!(
                    "/{text}/ reads {value} in {} of {} {}",
                    file.path,
                    file.origin(),
                    file.upstream
                ));
                break;
            }
        }
        if let Some(wrong) = wrong {
            refusal.get_or_insert(wrong);
            continue;
        }
        if reads.len() < 2 {
            one_release.get_or_insert(format!(
                "/{text}/ reads {} only",
                reads.keys().cloned().collect::<Vec<_>>().join(", ")
            ));
            continue;
        }
        let near_misses = near_misses(&files, &regex, text);
        passing.push((
            Learnt {
                regex: text.clone(),
                reads: reads.into_values().collect(),
                near_misses,
            },
            *generality,
        ));
    }
    if passing.is_empty() {
        return match (refusal, one_release) {
            (Some(reason), _) => Verdict::Refused(reason),
            (None, Some(reason)) => Verdict::OneRelease(reason),
            (None, None) => Verdict::NotInNames,
        };
    }
    // Every file name that proved itself is kept (a firmware may hold `libelf-0.192.so` and not
    // `libdw-0.192.so`), in its most general passing shape; the names that read the most
    // releases first.
    passing.sort_by(|(a, ga), (b, gb)| {
        b.reads
            .len()
            .cmp(&a.reads.len())
            .then(ga.cmp(gb))
            .then(a.regex.cmp(&b.regex))
    });
    let mut stems: BTreeSet<String> = BTreeSet::new();
    let mut kept = Vec::new();
    for (rule, _) in passing {
        if kept.len() >= MAX_RULES {
            break;
        }
        if stems.insert(stem(&rule.regex)) {
            kept.push(rule);
        }
    }
    // A near miss of one rule may be what another reads (`libcjson_utils.so.1.7.19`): a near miss
    // is a name no kept rule reads, written once.
    let regexes: Vec<regex::Regex> = kept
        .iter()
        .filter_map(|rule| {
            regex::RegexBuilder::new(&rule.regex)
                .unicode(false)
                .build()
                .ok()
        })
        .collect();
    let mut written: BTreeSet<String> = BTreeSet::new();
    for rule in &mut kept {
        rule.near_misses.retain(|file| {
            !regexes.iter().any(|r| r.is_match(file.file_name()))
                && written.insert(file.file_name().to_owned())
        });
    }
    Verdict::Learnt(kept)
}

/// A candidate without its release group: the name it stands for.
fn stem(regex: &str) -> String {
    match (regex.find("(\\d+"), regex.rfind(')')) {
        (Some(start), Some(end)) if start < end => {
            format!("{}{}", &regex[..start], &regex[end + 1..])
        }
        _ => regex.to_owned(),
    }
}

/// Numbered names of the product that share the rule's leading word but that it reads nothing
/// from (`libelf.so.1` for `^libelf-(…)\.so$`), newest release first.
fn near_misses(files: &[&InstalledFile], regex: &regex::Regex, text: &str) -> Vec<InstalledFile> {
    let literal: String = text
        .trim_start_matches('^')
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut out = Vec::new();
    for file in files.iter().rev() {
        let name = file.file_name();
        if out.len() >= MAX_NEAR_MISSES {
            break;
        }
        if literal.len() >= 3
            && name.starts_with(&literal)
            && name.bytes().any(|b| b.is_ascii_digit())
            && !regex.is_match(name)
            && seen.insert(name)
        {
            out.push((*file).clone());
        }
    }
    out
}

/// The `[[named_file]]` and `[[file_test]]` tables of learnt rules.
pub(crate) fn render(rules: &[Learnt]) -> String {
    let mut out = String::new();
    for rule in rules {
        let releases: Vec<&str> = rule.reads.iter().map(|(v, _)| v.as_str()).collect();
        // `reads` holds what the rule read (`6.4` in `libtic.so.6.4` of ncurses 6.4+20221231).
        let _ = write!(
            out,
            "\n[[named_file]]\nname = '{}'\nobjects_only = false\nlearnt = \"cargo xtask kb filever: the release in the file names Debian installs; reads {} right and no release wrong in every file name of the product's packages\"\n",
            rule.regex,
            releases.join(", ")
        );
        for (version, file) in &rule.reads {
            let _ = write!(
                out,
                "\n[[file_test]]\npath = \"{}\"\nversion = \"{}\"\norigin = \"{}\"\n",
                write::basic(&file.path),
                write::basic(version),
                write::basic(&file.origin())
            );
        }
        for file in &rule.near_misses {
            let _ = write!(
                out,
                "\n[[file_test]]\npath = \"{}\"\norigin = \"{}: a near miss, its number is not the release\"\n",
                write::basic(&file.path),
                write::basic(&file.origin())
            );
        }
    }
    out
}

/// True for the tables this step writes (and replaces on the next run).
fn learnt_table(header: &str, table: &str) -> bool {
    header == "[[file_test]]" || (header == "[[named_file]]" && table.contains("\nlearnt = "))
}

/// Counts per verdict, for the report.
#[derive(Default)]
struct Tally {
    learnt: Vec<String>,
    created: Vec<String>,
    refused: Vec<String>,
    one_release: Vec<String>,
    not_in_names: usize,
    not_in_debian: usize,
    collisions: Vec<String>,
}

/// `cargo xtask kb filever [--dry-run] [PRODUCT...]`.
pub(crate) fn run(archive: &Archive, selected: &[&Product], dry_run: bool) -> Result<(), String> {
    let mut indices = Indices::new(archive, HeldOut::read()?);
    let mut product_releases: Vec<(&Product, Vec<Release>)> = Vec::new();
    // (suite, arch) to the binary packages whose files are wanted.
    let mut wanted: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for product in selected {
        let found = releases::releases(&mut indices, product)?;
        for release in &found {
            if release.arch == "all" {
                continue;
            }
            let entry = wanted
                .entry((release.suite.clone(), release.arch.clone()))
                .or_default();
            entry.extend(release.packages.iter().map(|p| p.name.clone()));
        }
        product_releases.push((product, found));
    }
    let listed = list_files(&wanted)?;
    let mut tally = Tally::default();
    let mut learnt: Vec<(&Product, &[Release], Vec<Learnt>)> = Vec::new();
    for (product, found) in &product_releases {
        if found.is_empty() {
            tally.not_in_debian += 1;
            continue;
        }
        let mut files = Vec::new();
        for release in found {
            let Some(by_package) = listed.get(&(release.suite.clone(), release.arch.clone()))
            else {
                continue;
            };
            for package in &release.packages {
                for path in by_package.get(&package.name).into_iter().flatten() {
                    files.push(InstalledFile {
                        suite: release.suite.clone(),
                        arch: release.arch.clone(),
                        package: package.name.clone(),
                        package_version: package.version.clone(),
                        upstream: release.upstream.clone(),
                        path: path.clone(),
                    });
                }
            }
        }
        match learn(&files) {
            Verdict::Learnt(rules) => learnt.push((product, found.as_slice(), rules)),
            Verdict::NotInNames => tally.not_in_names += 1,
            Verdict::Refused(reason) => {
                println!("{}: refused: {reason}", product.name);
                if drop_rules(product, dry_run)? {
                    println!("{}: its earlier file-name rules removed", product.name);
                }
                tally.refused.push(product.name.clone());
            }
            Verdict::OneRelease(reason) => {
                println!("{}: one release only: {reason}", product.name);
                tally.one_release.push(product.name.clone());
            }
        }
    }
    // A rule two products learnt is a name they share: neither may claim it.
    let mut owners: HashMap<String, Vec<String>> = HashMap::new();
    for (product, _, rules) in &learnt {
        for rule in rules {
            owners
                .entry(rule.regex.clone())
                .or_default()
                .push(product.name.clone());
        }
    }
    for (product, found, mut rules) in learnt {
        rules.retain(|rule| {
            let shared = owners.get(&rule.regex).is_some_and(|o| o.len() > 1);
            if shared {
                tally
                    .collisions
                    .push(format!("{} {}", product.name, rule.regex));
            }
            !shared
        });
        if rules.is_empty() {
            continue;
        }
        println!(
            "{}: {}",
            product.name,
            rules
                .iter()
                .map(|r| format!(
                    "/{}/ reads {}",
                    r.regex,
                    r.reads
                        .iter()
                        .map(|(v, _)| v.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
                .collect::<Vec<_>>()
                .join("; ")
        );
        let created = write_rules(product, found, &rules, dry_run)?;
        tally.learnt.push(product.name.clone());
        if created {
            tally.created.push(product.name.clone());
        }
    }
    println!(
        "\n{} products: {} got a file-name rule ({} new signature files); {} refused (a candidate read a wrong release: the number does not track the release); {} carry the release in names at one upstream release only; {} carry it in no file name; {} not in Debian; {} rules dropped as shared by two products",
        selected.len(),
        tally.learnt.len(),
        tally.created.len(),
        tally.refused.len(),
        tally.one_release.len(),
        tally.not_in_names,
        tally.not_in_debian,
        tally.collisions.len()
    );
    if !tally.refused.is_empty() {
        println!("refused: {}", tally.refused.join(" "));
    }
    if !tally.collisions.is_empty() {
        println!("shared: {}", tally.collisions.join("; "));
    }
    Ok(())
}

/// (suite, arch) to package to the paths it installs.
type Listed = BTreeMap<(String, String), HashMap<String, Vec<String>>>;

/// The files each wanted package installs, from each pair's `Contents-<arch>.gz`.
fn list_files(wanted: &BTreeMap<(String, String), BTreeSet<String>>) -> Result<Listed, String> {
    let archive = contents::Archive::new(contents::MIRROR, &crate::index::cache_dir());
    let mut out = BTreeMap::new();
    for ((suite, arch), packages) in wanted {
        let release = archive.release(suite)?;
        let reader = match archive.index_reader(&release, &format!("main/Contents-{arch}.gz")) {
            Ok(reader) => reader,
            // A mirror half-way through an update: that pair's names are left out (never read
            // unverified), so its releases prove nothing this run.
            Err(contents::FetchError::Mismatch(message)) => {
                eprintln!("warning: Debian {suite} {arch} left out: {message}");
                continue;
            }
            Err(contents::FetchError::Other(message)) => return Err(message),
        };
        let mut by_package: HashMap<String, Vec<String>> = HashMap::new();
        contents::contents(
            reader,
            |line| eligible(line.split([' ', '\t']).next().unwrap_or_default()),
            |path, owners| {
                for (_, package) in owners {
                    if packages.contains(*package) {
                        by_package
                            .entry((*package).to_owned())
                            .or_default()
                            .push(path.to_owned());
                    }
                }
            },
        )?;
        eprintln!(
            "Debian {suite} {arch}: files of {} of {} packages listed",
            by_package.len(),
            packages.len()
        );
        out.insert((suite.clone(), arch.clone()), by_package);
    }
    Ok(out)
}

/// Removes the rules an earlier run wrote from a product whose names now refuse a rule (the
/// learning became stricter); true if there were any.
fn drop_rules(product: &Product, dry_run: bool) -> Result<bool, String> {
    let path = product.signature_path();
    let Ok(original) = std::fs::read_to_string(&path) else {
        return Ok(false);
    };
    let (kept, dropped) = write::drop_tables(&original, learnt_table);
    if dropped == 0 {
        return Ok(false);
    }
    super::write_or_print(&path, &kept, dry_run)?;
    Ok(true)
}

/// Writes the rules into the product's signature file, replacing what an earlier run wrote;
/// creates the file (facts from the product list) when there is none. True when created.
fn write_rules(
    product: &Product,
    found: &[Release],
    rules: &[Learnt],
    dry_run: bool,
) -> Result<bool, String> {
    let path = product.signature_path();
    let (text, created) = if path.exists() {
        let original = std::fs::read_to_string(&path)
            .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        let (kept, _) = write::drop_tables(&original, learnt_table);
        (format!("{}{}", kept.trim_end_matches('\n'), "\n"), false)
    } else {
        let mut out = format!(
            "# {}: named, and its release read, from the file names its Debian packages install\n# (`cargo xtask kb filever`); no pattern reads the release from its bytes yet.\n",
            product.name
        );
        let _ = writeln!(out, "name = \"{}\"", write::basic(&product.name));
        let _ = writeln!(out, "kind = \"{}\"", write::basic(&product.kind));
        for (key, value) in write::facts(product) {
            let _ = writeln!(out, "{key} = {value}");
        }
        let quoted: Vec<String> = super::package_names(product, found)
            .iter()
            .map(|p| format!("\"{}\"", write::basic(p)))
            .collect();
        let _ = writeln!(out, "packages = [{}]", quoted.join(", "));
        (out, true)
    };
    // The file must load before it is written; `cargo test -p consign-detect` runs its tests.
    let file = super::file_name_of(&path);
    let mut others = super::signature_texts()?;
    others.retain(|(name, _)| *name != file);
    let load = |text: &str| {
        let mut all = others.clone();
        all.push((file.clone(), text.to_owned()));
        consign_detect::Signatures::parse(all.iter().map(|(n, t)| (n.as_str(), t.as_str())))
            .map_err(|err| format!("{file}: {}", super::error_chain(&err)))
    };
    // A near miss that a hand-written rule of the same signature reads (`soname_release` over
    // every SONAME) is no near miss of this product.
    let catalog = load(&format!("{text}{}", render(rules)))?;
    let mut rules = rules.to_vec();
    for rule in &mut rules {
        rule.near_misses.retain(|near| {
            let vfs = consign_model::Vfs::single(near.file_name(), bytes::Bytes::new());
            !catalog
                .detect(&vfs)
                .components
                .iter()
                .any(|c| c.name == product.name && c.version.is_some())
        });
    }
    let mut text = format!("{text}{}", render(&rules));
    if created && rules.iter().all(|rule| rule.near_misses.is_empty()) {
        // A new file needs a case that must give no release; no real near miss exists.
        if let Some((version, file)) = rules.first().and_then(|rule| rule.reads.first()) {
            let _ = write!(
                text,
                "\n[[file_test]]\npath = \"{}\"\norigin = \"made up from {}: a printf directive where the release is, as a build script template carries it\"\n",
                write::basic(&file.path.replace(version.as_str(), "%s")),
                write::basic(&file.origin())
            );
        }
    }
    load(&text)?;
    super::write_or_print(&path, &text, dry_run)?;
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real file names (Debian `Contents-<arch>` lines) of one product: (suite, package,
    /// package version, upstream, paths).
    fn files(rows: &[(&str, &str, &str, &str, &[&str])]) -> Vec<InstalledFile> {
        rows.iter()
            .flat_map(|(suite, package, version, upstream, paths)| {
                paths.iter().map(move |path| InstalledFile {
                    suite: (*suite).to_owned(),
                    arch: "armhf".to_owned(),
                    package: (*package).to_owned(),
                    package_version: (*version).to_owned(),
                    upstream: (*upstream).to_owned(),
                    path: (*path).to_owned(),
                })
            })
            .collect()
    }

    #[test]
    fn a_release_in_the_name_at_two_releases_gives_a_rule() {
        // elfutils: libelf1 installs libelf-<release>.so beside its SONAME link.
        let files = files(&[
            (
                "bullseye",
                "libelf1",
                "0.183-1",
                "0.183",
                &[
                    "usr/lib/arm-linux-gnueabihf/libelf-0.183.so",
                    "usr/lib/arm-linux-gnueabihf/libelf.so.1",
                ],
            ),
            (
                "bookworm",
                "libelf1",
                "0.188-2.1",
                "0.188",
                &[
                    "usr/lib/arm-linux-gnueabihf/libelf-0.188.so",
                    "usr/lib/arm-linux-gnueabihf/libelf.so.1",
                ],
            ),
        ]);
        let Verdict::Learnt(rules) = learn(&files) else {
            panic!("no rule");
        };
        let rule = rules.first().unwrap();
        assert_eq!(rule.regex, r"^libelf\-(\d+(?:\.\d+)*)\.so$");
        assert_eq!(
            rule.reads
                .iter()
                .map(|(v, _)| v.as_str())
                .collect::<Vec<_>>(),
            ["0.183", "0.188"]
        );
        assert_eq!(rule.near_misses.first().unwrap().file_name(), "libelf.so.1");
        let text = render(&rules);
        assert!(text.contains("[[file_test]]\npath = \"usr/lib/arm-linux-gnueabihf/libelf-0.183.so\"\nversion = \"0.183\"\norigin = \"Debian bullseye libelf1 0.183-1 (armhf)\""), "{text}");
    }

    #[test]
    fn a_link_that_reads_a_wrong_number_narrows_the_shape() {
        // libtommath: `libtommath.so.1` would read 1 with the loosest shape.
        let files = files(&[
            (
                "bullseye",
                "libtommath1",
                "1.2.0-6",
                "1.2.0",
                &[
                    "usr/lib/arm-linux-gnueabihf/libtommath.so.1",
                    "usr/lib/arm-linux-gnueabihf/libtommath.so.1.2.0",
                ],
            ),
            (
                "trixie",
                "libtommath1",
                "1.3.0-1",
                "1.3.0",
                &[
                    "usr/lib/aarch64-linux-gnu/libtommath.so.1",
                    "usr/lib/aarch64-linux-gnu/libtommath.so.1.3.0",
                ],
            ),
        ]);
        let Verdict::Learnt(rules) = learn(&files) else {
            panic!("no rule");
        };
        assert_eq!(rules.len(), 1);
        assert_eq!(
            rules.first().unwrap().regex,
            r"^libtommath\.so\.(\d+(?:\.\d+)+)$"
        );
    }

    #[test]
    fn an_interface_number_is_not_a_release() {
        // libmnl and libusb-1.0: the real names of Debian bullseye, bookworm and trixie.
        let libmnl = files(&[
            (
                "bullseye",
                "libmnl0",
                "1.0.4-3",
                "1.0.4",
                &[
                    "usr/lib/arm-linux-gnueabihf/libmnl.so.0",
                    "usr/lib/arm-linux-gnueabihf/libmnl.so.0.2.0",
                ],
            ),
            (
                "trixie",
                "libmnl0",
                "1.0.5-3",
                "1.0.5",
                &[
                    "usr/lib/aarch64-linux-gnu/libmnl.so.0",
                    "usr/lib/aarch64-linux-gnu/libmnl.so.0.2.0",
                ],
            ),
        ]);
        assert!(matches!(learn(&libmnl), Verdict::NotInNames));
        let libusb = files(&[
            (
                "bullseye",
                "libusb-1.0-0",
                "2:1.0.24-3",
                "1.0.24",
                &[
                    "lib/arm-linux-gnueabihf/libusb-1.0.so.0",
                    "lib/arm-linux-gnueabihf/libusb-1.0.so.0.3.0",
                ],
            ),
            (
                "bookworm",
                "libusb-1.0-0",
                "2:1.0.26-1",
                "1.0.26",
                &[
                    "usr/lib/arm-linux-gnueabihf/libusb-1.0.so.0",
                    "usr/lib/arm-linux-gnueabihf/libusb-1.0.so.0.3.0",
                ],
            ),
        ]);
        assert!(matches!(learn(&libusb), Verdict::NotInNames));
        // A number that equals the release once, by chance, reads a wrong one elsewhere.
        let chance = files(&[
            (
                "bullseye",
                "libx0",
                "0.2.0-1",
                "0.2.0",
                &["usr/lib/arm-linux-gnueabihf/libx.so.0.2.0"],
            ),
            (
                "trixie",
                "libx0",
                "0.3.0-1",
                "0.3.0",
                &["usr/lib/aarch64-linux-gnu/libx.so.0.2.0"],
            ),
        ]);
        assert!(
            matches!(learn(&chance), Verdict::Refused(_)),
            "{:?}",
            learn(&chance)
        );
    }

    #[test]
    fn a_name_that_adds_a_zero_to_the_release_is_refused() {
        // libbpf: Debian bullseye's 1:0.3-2, bookworm's 1:1.1.2 and sid's 1:1.7.0 install
        // these names; `0.3.0` is not how upstream spells release 0.3 (tag v0.3).
        let files = files(&[
            (
                "bullseye",
                "libbpf0",
                "1:0.3-2",
                "0.3",
                &["usr/lib/aarch64-linux-gnu/libbpf.so.0.3.0"],
            ),
            (
                "bookworm",
                "libbpf1",
                "1:1.1.2-0+deb12u1",
                "1.1.2",
                &["usr/lib/arm-linux-gnueabihf/libbpf.so.1.1.2"],
            ),
            (
                "sid",
                "libbpf1",
                "1:1.7.0-1",
                "1.7.0",
                &["usr/lib/riscv64-linux-gnu/libbpf.so.1.7.0"],
            ),
        ]);
        assert!(
            matches!(learn(&files), Verdict::Refused(ref why) if why.contains("reads 0.3.0")),
            "{:?}",
            learn(&files)
        );
        assert!(exact_release("0.3", "0.3"));
        assert!(!exact_release("0.3.0", "0.3"));
        assert!(!exact_release("1.7", "1.7.0"));
    }

    #[test]
    fn one_release_proves_nothing() {
        let files = files(&[
            (
                "bookworm",
                "libtommath1",
                "1.2.0-6",
                "1.2.0",
                &["usr/lib/arm-linux-gnueabihf/libtommath.so.1.2.0"],
            ),
            (
                "trixie",
                "libtommath1",
                "1.2.0-6",
                "1.2.0",
                &["usr/lib/aarch64-linux-gnu/libtommath.so.1.2.0"],
            ),
        ]);
        assert!(matches!(learn(&files), Verdict::OneRelease(_)));
    }

    #[test]
    fn whole_components_only() {
        assert_eq!(
            whole_components("libfoo.so.1.2.3", "2.3"),
            Vec::<usize>::new()
        );
        assert_eq!(
            whole_components("libfoo.so.1.2.3", "1.2"),
            Vec::<usize>::new()
        );
        assert_eq!(whole_components("libfoo.so.1.2.3", "1.2.3"), [10]);
        assert_eq!(whole_components("libisc-9.16.44-Debian.so", "9.16.44"), [7]);
        assert!(!eligible("usr/share/doc/libelf1/changelog.gz"));
        assert!(!eligible("usr/lib/python3/dist-packages/x-1.2.so"));
        assert!(eligible("usr/lib/arm-linux-gnueabihf/libelf-0.188.so"));
        assert!(eligible("usr/sbin/x"));
    }
}
