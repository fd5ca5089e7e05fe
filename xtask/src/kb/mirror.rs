//! `cargo xtask kb mirror`: the guard on the mirrored string layout's readings.
//!
//! consign-detect derives, from every neighbour pattern (the release a lone string next to the
//! anchor's string), the regex that reads the release with the two strings the other way round
//! (`crates/consign-detect/src/mirror.rs`: clang and old GCC lay a call's strings out in the
//! order GCC reverses). Debian builds everything with GCC, so its binaries cannot show that the
//! mirror is right in the layout it was made for; they can show where it is wrong. This step:
//!
//! 1. runs every derived mirror on its own, each as a draft signature of one pattern
//!    ([`Mirrors`]), over the files of every release of the products given (all, by default;
//!    `--all-arches`: every build; held-out pairs never read), the packages that link them, and
//!    the background programs that link many libraries;
//! 2. judges each reading ([`Mirrors::judge`]): in a package built from one of the product's
//!    Debian sources it must be that package's upstream release; anywhere else it must be a
//!    release that the file's strong evidence (the product's patterns in the layout they were
//!    cut from, high confidence) states too, as it must be where it is not the package's;
//! 3. writes `no_mirror` with the first wrong reading into each pattern whose mirror read a wrong
//!    release anywhere (`--dry-run`: prints them), so that pattern reads only its own layout.
//!
//! `kb check` runs the same judge over each release's own packages and counts the mirrors'
//! readings apart, which must show none wrong.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use consign_detect::{MirroredPattern, Signatures};
use consign_model::Confidence;

use super::releases::{self, PackageFile};
use super::{Run, error_chain, same_release, write};
use crate::debian::upstream_version;
use crate::kb::products::Product;

/// Every mirror the catalog derives, each run as a draft signature of its own.
pub(crate) struct Mirrors {
    catalog: Signatures,
    patterns: Vec<MirroredPattern>,
    /// Draft signature name (`radvd@0`) to its index in `patterns`.
    by_name: HashMap<String, usize>,
    /// Debian source package to the products it builds (the product list's `debian`).
    owners: HashMap<String, BTreeSet<String>>,
}

/// One mirror's reading in a set of files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reading {
    /// Index into the mirrors' patterns.
    pub(crate) mirror: usize,
    pub(crate) version: String,
    /// Index into the files read.
    pub(crate) file: usize,
    pub(crate) offset: Option<u64>,
}

/// What a reading is worth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The upstream release of the package the file is in, built from the product's source.
    Right,
    /// Another release, or in another product's package: one the file's strong evidence
    /// states too.
    Confirmed,
    /// Anything else; the text says where and what.
    Wrong(String),
}

/// Debian source package to the products it builds.
pub(crate) fn owners(products: &[Product]) -> HashMap<String, BTreeSet<String>> {
    let mut out: HashMap<String, BTreeSet<String>> = HashMap::new();
    for product in products {
        for source in &product.debian {
            out.entry(source.clone())
                .or_default()
                .insert(product.name.clone());
        }
    }
    out
}

impl Mirrors {
    /// The mirrors that `full` derives; `owners` says which products each Debian source builds.
    pub(crate) fn new(
        full: &Signatures,
        owners: HashMap<String, BTreeSet<String>>,
    ) -> Result<Self, String> {
        let patterns = full.mirrored_patterns();
        let drafts: Vec<(String, String)> = patterns
            .iter()
            .map(|pattern| {
                let name = draft_name(pattern);
                (format!("{name}.toml"), draft(&name, pattern))
            })
            .collect();
        let catalog = Signatures::parse(drafts.iter().map(|(n, t)| (n.as_str(), t.as_str())))
            .map_err(|err| format!("the mirrors as drafts: {}", error_chain(&err)))?;
        let by_name = patterns
            .iter()
            .enumerate()
            .map(|(index, pattern)| (draft_name(pattern), index))
            .collect();
        Ok(Self {
            catalog,
            patterns,
            by_name,
            owners,
        })
    }

    /// The mirrored patterns, in the order readings index them.
    pub(crate) fn patterns(&self) -> &[MirroredPattern] {
        &self.patterns
    }

    /// The pattern a reading comes from.
    pub(crate) fn pattern(&self, reading: &Reading) -> Option<&MirroredPattern> {
        self.patterns.get(reading.mirror)
    }

    /// Every reading of every mirror in `files`.
    pub(crate) fn read(&self, files: &[PackageFile]) -> Vec<Reading> {
        let vfs = releases::vfs(files);
        let index = releases::node_indices(&vfs);
        let mut out = Vec::new();
        for component in self.catalog.detect(&vfs).components {
            let (Some(&mirror), Some(version)) =
                (self.by_name.get(&component.name), &component.version)
            else {
                continue;
            };
            for occurrence in &component.occurrences {
                if let Some(&file) = index.get(occurrence.location.as_str()) {
                    out.push(Reading {
                        mirror,
                        version: occurrence.states.clone().unwrap_or(version.clone()),
                        file,
                        offset: occurrence.offset,
                    });
                }
            }
        }
        out
    }

    /// Judges readings in `files`: in a package of the product's own Debian source, its
    /// upstream release is right; otherwise a reading must be what `full`'s high-confidence
    /// evidence states in that file (computed when first needed).
    pub(crate) fn judge(
        &self,
        readings: &[Reading],
        files: &[PackageFile],
        full: &Signatures,
    ) -> Vec<Verdict> {
        let mut strong: Option<BTreeSet<(String, String, usize)>> = None;
        readings
            .iter()
            .map(|reading| {
                let (Some(pattern), Some(file)) = (self.pattern(reading), files.get(reading.file))
                else {
                    return Verdict::Wrong("a reading of no mirror or file".to_owned());
                };
                let package = &file.package;
                let own = self
                    .owners
                    .get(&package.source)
                    .is_some_and(|products| products.contains(&pattern.product));
                let release = upstream_version(&package.source_version);
                if own && same_release(&reading.version, &release) {
                    return Verdict::Right;
                }
                let strong = strong.get_or_insert_with(|| strong_readings(full, files));
                if strong.contains(&(
                    pattern.product.clone(),
                    reading.version.clone(),
                    reading.file,
                )) {
                    return Verdict::Confirmed;
                }
                let expected = if own {
                    format!("where the release is {release}")
                } else {
                    "where nothing else states it".to_owned()
                };
                let offset = reading
                    .offset
                    .map_or_else(String::new, |offset| format!(", offset {offset}"));
                Verdict::Wrong(format!(
                    "reads {} in Debian {} {} {} ({}), {}{offset}, {expected}",
                    reading.version,
                    package.suite,
                    package.name,
                    package.version,
                    package.architecture,
                    file.path
                ))
            })
            .collect()
    }
}

/// (product, release, file index) of every high-confidence versioned occurrence `full` finds in
/// `files`: what the patterns' own layouts (and other strong evidence) state there.
fn strong_readings(full: &Signatures, files: &[PackageFile]) -> BTreeSet<(String, String, usize)> {
    let vfs = releases::vfs(files);
    let index = releases::node_indices(&vfs);
    let mut out = BTreeSet::new();
    for component in full.detect(&vfs).components {
        let Some(version) = &component.version else {
            continue;
        };
        for occurrence in &component.occurrences {
            if occurrence.confidence == Confidence::High
                && let Some(&file) = index.get(occurrence.location.as_str())
            {
                let stated = occurrence.states.clone().unwrap_or(version.clone());
                out.insert((component.name.clone(), stated, file));
            }
        }
    }
    out
}

/// `radvd@0`: the draft signature of a product's pattern 0's mirror.
fn draft_name(pattern: &MirroredPattern) -> String {
    format!("{}@{}", pattern.product, pattern.pattern)
}

/// A signature of one pattern whose regex is the mirror, which must not read a mirror of its own.
fn draft(name: &str, pattern: &MirroredPattern) -> String {
    let mut out = format!(
        "name = \"{}\"\nkind = \"application\"\n\n[[pattern]]\nanchor = '{}'\nregex = \"{}\"\nwindow = {}\n",
        write::basic(name),
        write::escape(&pattern.anchor),
        write::basic(&pattern.regex),
        pattern.window,
    );
    if !pattern.only_in.is_empty() {
        let quoted: Vec<String> = pattern
            .only_in
            .iter()
            .map(|prefix| format!("\"{}\"", write::basic(prefix)))
            .collect();
        let _ = writeln!(out, "only_in = [{}]", quoted.join(", "));
    }
    out.push_str("no_mirror = \"a draft of `kb mirror`: the mirrored reading alone\"\n");
    out.push_str(super::PLACEHOLDER_TEST);
    out
}

/// Counts of verdicts, and the first wrong reading of each mirror (by its index).
#[derive(Default)]
pub(crate) struct Tally {
    pub(crate) right: usize,
    pub(crate) confirmed: usize,
    pub(crate) wrong: usize,
    pub(crate) first_wrong: BTreeMap<usize, (String, usize)>,
}

impl Tally {
    pub(crate) fn add(&mut self, readings: &[Reading], verdicts: Vec<Verdict>) {
        for (reading, verdict) in readings.iter().zip(verdicts) {
            match verdict {
                Verdict::Right => self.right += 1,
                Verdict::Confirmed => self.confirmed += 1,
                Verdict::Wrong(why) => {
                    self.wrong += 1;
                    self.first_wrong
                        .entry(reading.mirror)
                        .and_modify(|(_, more)| *more += 1)
                        .or_insert((why, 0));
                }
            }
        }
    }

    /// Adds `other`'s counts; a mirror's first wrong reading stays the one seen first.
    pub(crate) fn merge(&mut self, other: Tally) {
        self.right += other.right;
        self.confirmed += other.confirmed;
        self.wrong += other.wrong;
        for (mirror, (why, more)) in other.first_wrong {
            self.first_wrong
                .entry(mirror)
                .and_modify(|(_, seen)| *seen += more + 1)
                .or_insert((why, more));
        }
    }

    /// `right 12, confirmed 3, wrong 0`.
    pub(crate) fn summary(&self) -> String {
        format!(
            "right {}, confirmed {}, wrong {}",
            self.right, self.confirmed, self.wrong
        )
    }
}

impl Run<'_> {
    /// `cargo xtask kb mirror`: every mirror on every release of `selected`, their users and
    /// the background; `no_mirror` where one reads a wrong release.
    pub(super) fn mirror(&mut self, selected: &[&Product]) -> Result<(), String> {
        let full = Signatures::parse(self.texts.iter().map(|(n, t)| (n.as_str(), t.as_str())))
            .map_err(|err| error_chain(&err))?;
        let mirrors = Mirrors::new(&full, owners(&super::products::load()?))?;
        println!("{} mirrored patterns", mirrors.patterns.len());
        let mut own = Tally::default();
        let mut elsewhere = Tally::default();
        let background = self.background()?.to_vec();
        let readings = mirrors.read(&background);
        let verdicts = mirrors.judge(&readings, &background, &full);
        elsewhere.add(&readings, verdicts);
        for product in selected {
            let mut product_own = Tally::default();
            let mut product_elsewhere = Tally::default();
            let releases = match self.releases(product).and_then(|r| self.fetched(r)) {
                Ok(releases) => releases,
                Err(err) => {
                    println!("{}: {err}", product.name);
                    continue;
                }
            };
            for release in &releases {
                let files = self.release_files(release, false)?;
                let readings = mirrors.read(&files);
                let verdicts = mirrors.judge(&readings, &files, &full);
                product_own.add(&readings, verdicts);
                let users = self.release_files(release, true)?;
                let readings = mirrors.read(&users);
                let verdicts = mirrors.judge(&readings, &users, &full);
                product_elsewhere.add(&readings, verdicts);
            }
            println!(
                "{}: its packages {}; its users {}",
                product.name,
                product_own.summary(),
                product_elsewhere.summary()
            );
            own.merge(product_own);
            elsewhere.merge(product_elsewhere);
        }
        println!(
            "\nmirrored readings: in the products' packages {}; in their users and the background {}",
            own.summary(),
            elsewhere.summary()
        );
        own.merge(elsewhere);
        let wrong = own.first_wrong;
        println!(
            "mirrors refused (a wrong reading anywhere): {}",
            wrong.len()
        );
        let mut by_file: BTreeMap<String, Vec<(usize, String)>> = BTreeMap::new();
        for (mirror, (why, more)) in wrong {
            let Some(pattern) = mirrors.patterns.get(mirror) else {
                continue;
            };
            let reason = if more == 0 {
                format!("kb mirror: {why}")
            } else {
                format!("kb mirror: {why} (and {more} more)")
            };
            println!(
                "  {} pattern[{}]: {reason}",
                pattern.product, pattern.pattern
            );
            by_file
                .entry(pattern.product.clone())
                .or_default()
                .push((pattern.pattern, reason));
        }
        for (product, refusals) in by_file {
            let Some((file, text)) = self.texts.iter().find(|(_, text)| {
                toml::from_str::<toml::Table>(text)
                    .ok()
                    .and_then(|t| t.get("name").and_then(|n| n.as_str()).map(str::to_owned))
                    .as_deref()
                    == Some(product.as_str())
            }) else {
                return Err(format!("no signature file names `{product}`"));
            };
            let mut text = text.clone();
            for (index, reason) in refusals {
                text = write::set_pattern_key(
                    &text,
                    index,
                    "no_mirror",
                    &format!("\"{}\"", write::basic(&reason)),
                )
                .ok_or_else(|| format!("{file}: no `[[pattern]]` {index} with a `regex` line"))?;
            }
            let file = file.clone();
            let path = crate::util::root()
                .join(super::products::SIGNATURES)
                .join(&file);
            self.save(&path, file, text)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A catalog of rinetd's pattern, which has a mirror, and another product's.
    fn full() -> Signatures {
        let rinetd = "name = \"rinetd\"\nkind = \"application\"\n[[pattern]]\nanchor = 'rinetd %s'\nregex = '\\x00(\\d+\\.\\d+)\\x00{1,16}rinetd %s\\x0a\\x00'\n[[test]]\nexpect = \"positive\"\nexcerpt = 'x'\norigin = 'o'\n";
        let other = "name = \"other\"\nkind = \"application\"\n[[pattern]]\nanchor = 'Other v'\nregex = 'Other v(\\d+\\.\\d+)'\n[[test]]\nexpect = \"positive\"\nexcerpt = 'x'\norigin = 'o'\n";
        Signatures::parse([("rinetd.toml", rinetd), ("other.toml", other)]).unwrap()
    }

    /// The readings of the mirrors of `full` in `files` and their verdicts.
    #[track_caller]
    fn check(files: &[PackageFile], expect: &[(&str, Verdict)]) {
        let full = full();
        let owners = HashMap::from([("rinetd".to_owned(), BTreeSet::from(["rinetd".to_owned()]))]);
        let mirrors = Mirrors::new(&full, owners).unwrap();
        assert_eq!(mirrors.patterns().len(), 1);
        let readings = mirrors.read(files);
        let verdicts = mirrors.judge(&readings, files, &full);
        let got: Vec<(&str, Verdict)> = readings
            .iter()
            .map(|reading| reading.version.as_str())
            .zip(verdicts)
            .collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn a_mirror_reads_the_release_of_its_own_packages_or_is_wrong() {
        let data = b"\x00rinetd %s\n\x000.73\x00Usage";
        check(
            &[PackageFile::for_test(
                "rinetd",
                "0.73-1",
                "usr/sbin/rinetd",
                data,
            )],
            &[("0.73", Verdict::Right)],
        );
        check(
            &[PackageFile::for_test("rinetd", "0.74-1", "usr/sbin/rinetd", data)],
            &[(
                "0.73",
                Verdict::Wrong(
                    "reads 0.73 in Debian trixie rinetd 0.74-1 (armel), usr/sbin/rinetd, offset 1, where the release is 0.74".to_owned(),
                ),
            )],
        );
        // The layout the pattern was cut from is not the mirror's reading.
        let data = b"\x000.73\x00rinetd %s\n\x00";
        check(
            &[PackageFile::for_test(
                "rinetd",
                "0.74-1",
                "usr/sbin/rinetd",
                data,
            )],
            &[],
        );
    }

    #[test]
    fn elsewhere_a_mirror_must_agree_with_strong_evidence() {
        // A program that carries rinetd's code, where its own layout states the same release.
        let data = b"\x000.73\x00rinetd %s\n\x000.73\x00";
        check(
            &[PackageFile::for_test("user", "2.0-1", "usr/bin/user", data)],
            &[("0.73", Verdict::Confirmed)],
        );
        // Where nothing else states it.
        let data = b"rinetd %s\n\x001.2\x00";
        check(
            &[PackageFile::for_test("user", "2.0-1", "usr/bin/user", data)],
            &[(
                "1.2",
                Verdict::Wrong(
                    "reads 1.2 in Debian trixie user 2.0-1 (armel), usr/bin/user, offset 0, where nothing else states it".to_owned(),
                ),
            )],
        );
    }

    #[test]
    fn tallies_keep_each_mirrors_first_wrong_reading() {
        let mut tally = Tally::default();
        let reading = |mirror, version: &str| Reading {
            mirror,
            version: version.to_owned(),
            file: 0,
            offset: None,
        };
        tally.add(
            &[
                reading(0, "1"),
                reading(0, "2"),
                reading(1, "3"),
                reading(0, "4"),
            ],
            vec![
                Verdict::Wrong("first".to_owned()),
                Verdict::Wrong("second".to_owned()),
                Verdict::Confirmed,
                Verdict::Right,
            ],
        );
        assert_eq!(tally.summary(), "right 1, confirmed 1, wrong 2");
        assert_eq!(
            tally.first_wrong.into_iter().collect::<Vec<_>>(),
            [(0, ("first".to_owned(), 1))]
        );
    }
}
