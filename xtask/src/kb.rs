//! `cargo xtask kb`: the knowledge base of version signatures, grown from real Debian binaries.
//!
//! The product list (`crates/consign-detect/kb/products.toml`, [`products`]) says which products
//! the knowledge base covers, which Debian source packages build each, and the facts an SBOM
//! states about it (CPE, purl, home page, licence). For each product the pipeline:
//!
//! 1. finds its release in each Debian suite (bullseye, bookworm, trixie, sid; a different
//!    architecture per suite, [`releases::ARCHES`]) and downloads the binary packages through the
//!    verifying cache of [`crate::debian`];
//! 2. unpacks them with consign itself (`.deb` = `ar` + data tarball);
//! 3. searches the files for the upstream release (from the Debian version) and proposes
//!    patterns: the literal text before the version that a new release keeps, and the version's
//!    shape ([`locate`]); each candidate must read exactly the known release in the suite it was
//!    cut from ([`releases::CUT_SUITE`]) and nothing in a set of programs that link many
//!    libraries (so a library banner compiled into its users is refused, or limited to the
//!    library's own files with `only_in`);
//! 4. tests the chosen patterns on the releases of the other suites, which it was not cut from:
//!    each release found becomes a positive test (`heldout = true`), with its origin (suite,
//!    package, version, architecture, file, offset); a release it misses is cut again and that
//!    suite joins `cut_from`;
//! 5. adds a negative test: a real near miss (the anchor where the pattern must not fire) when
//!    one exists among the files read, else the anchor followed by a printf directive.
//!
//! Commands (`cargo xtask kb <command> [--refresh] [--dry-run] [PRODUCT...]`):
//! - `add`: new signature files for products that have none (review them before committing);
//! - `update`: facts from the product list into existing signature files, plus a positive test
//!   for each Debian release they do not test yet (never changing their patterns); with
//!   `--extend`, new patterns cut from the releases the existing ones miss, each refused if it
//!   reads a wrong release in any release read (`--all-arches`: in any build), and a test from
//!   every build a pattern was cut from (`suite/arch` joins `cut_from` when the suite is not in
//!   it; tests from elsewhere stay `heldout = true`);
//! - `check`: every signature on every release of every product, whole binaries, with the
//!   held-out ones counted apart; nothing is written. With `--all-arches` each release is read
//!   on every architecture of its suite ([`releases::releases_all_arches`], held-out pairs never
//!   read): a pattern cut from one compiler's string layout passes its tests yet misses (or
//!   misreads) the same release built for another CPU. A build whose files state the release
//!   that the signature misses, misreads, or reads beside another release is a failure, listed
//!   per product with a count; the mirrored layout's readings are judged and counted apart;
//! - `status`: counts from the files alone (no network): products, releases tested, held-out;
//! - `filever`: release rules from the file names the packages install ([`filever`]);
//! - `bare`: a lone-release fallback where anchored patterns depend on one string layout
//!   ([`bare`]); with `--any-lead`, existing `[[bare]]` regexes that want a NUL before the
//!   release are read after any non-printable byte instead, where every build (as
//!   `check --all-arches` reads them) is read as right or better and more are right;
//! - `mirror`: the guard on the readings consign-detect derives for the mirrored string layout
//!   (the release on the other side of a neighbouring string): `no_mirror` with the reason on
//!   each pattern whose mirror reads a wrong release anywhere ([`mirror`]);
//! - `suggest SOURCE...`: a draft product entry from Debian (home page, licence from the
//!   machine-readable copyright file, versions per suite, CPE spellings NVD records use).

mod bare;
mod filever;
mod locate;
mod mirror;
mod products;
mod releases;
mod write;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use consign_detect::Signatures;

use self::locate::Candidate;
use self::products::Product;
use self::releases::{CUT_SUITE, Indices, PackageFile, Release};
use self::write::{NewSignature, TestCase};
use crate::debian::Archive;

/// Programs that link many libraries (bookworm, the cut suite): a candidate pattern that reads a
/// version in any of them is the version of a library compiled in, not the product.
const BACKGROUND: &[&str] = &[
    "curl",
    "libcurl4",
    "wget",
    "openssh-client",
    "openssh-server",
    "hostapd",
    "wpasupplicant",
    "nginx-core",
    "lighttpd",
    "tcpdump",
    "iproute2",
    "openvpn",
    "dnsmasq-base",
    "rsync",
    "mosquitto",
    "avahi-daemon",
    "busybox",
    "systemd",
    "python3.11-minimal",
    "libgnutls30",
    "libglib2.0-0",
    "samba-libs",
    "libarchive13",
    "tar",
    "coreutils",
    "findutils",
    "grep",
    "sed",
    "gzip",
    "cpio",
    "diffutils",
    "bash",
    "util-linux",
    "e2fsprogs",
    "libc6",
    "libssl3",
    "libsqlite3-0",
    "libxml2",
    "libpython3.11",
    "strace",
    "gdbserver",
    "socat",
    "nmap",
    "bind9-host",
    "bind9-libs",
    "libperl5.36",
    "qemu-utils",
];
/// The architecture of the background packages.
const BACKGROUND_ARCH: &str = "armhf";
/// Most candidate patterns evaluated per product and release.
const MAX_CANDIDATES: usize = 80;
/// Most patterns a new signature gets.
const MAX_PATTERNS: usize = 3;
/// Bytes of context around a match in a test excerpt, tried in turn until the excerpt alone
/// gives the release.
const EXCERPT_CONTEXT: [(usize, usize); 4] = [(48, 96), (96, 160), (200, 300), (400, 500)];

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let refresh = args.iter().any(|a| a == "--refresh");
    let dry_run = args.iter().any(|a| a == "--dry-run");
    let verbose = args.iter().any(|a| a == "--verbose");
    let extend = args.iter().any(|a| a == "--extend");
    let all_arches = args.iter().any(|a| a == "--all-arches");
    let any_lead = args.iter().any(|a| a == "--any-lead");
    let rest: Vec<String> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .cloned()
        .collect();
    if let Some(unknown) = args.iter().find(|a| {
        a.starts_with("--")
            && ![
                "--refresh",
                "--dry-run",
                "--verbose",
                "--extend",
                "--all-arches",
                "--any-lead",
            ]
            .contains(&a.as_str())
    }) {
        return Err(format!("unknown option `{unknown}`\n\n{USAGE}"));
    }
    let Some((command, names)) = rest.split_first() else {
        return Err(USAGE.to_owned());
    };
    let products = products::load()?;
    match command.as_str() {
        "status" => status(&products),
        "suggest" => {
            let archive = Archive::open(Archive::default_cache())?.refreshing(refresh);
            suggest(&archive, names)
        }
        "filever" => {
            let archive = Archive::open(Archive::default_cache())?.refreshing(refresh);
            let selected = products::select(&products, names)?;
            filever::run(&archive, &selected, dry_run)
        }
        "add" | "update" | "check" | "bare" | "mirror" => {
            let archive = Archive::open(Archive::default_cache())?.refreshing(refresh);
            let selected = products::select(&products, names)?;
            let mut run = Run::new(&archive, dry_run)?;
            run.verbose = verbose;
            run.extend = extend;
            // The any-lead revisit judges every build, as `check --all-arches` does.
            run.all_arches = all_arches || any_lead;
            run.any_lead = any_lead;
            match command.as_str() {
                "add" => run.each(&selected, Run::add),
                "update" => run.each(&selected, Run::update),
                "bare" if any_lead => run.each(&selected, Run::bare_any_lead),
                "bare" => run.each(&selected, Run::bare),
                "mirror" => run.mirror(&selected),
                _ => run.check(&selected),
            }
        }
        other => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    }
}

const USAGE: &str =
    "usage: cargo xtask kb <add|update|check|status|suggest|filever|bare|mirror> [--refresh] [--dry-run] [PRODUCT...]

  add      new signature files, cut from Debian bookworm, tested on bullseye, trixie and sid
  update   product-list facts into existing signatures, plus a test per untested Debian release
  check    every signature on every Debian release of its product (whole binaries)
  status   what the signature files cover (no network)
  filever  file-name release rules learnt from the files Debian's packages install, proved
           at >= 2 releases and wrong at none ([[named_file]] + [[file_test]])
  suggest  a draft product entry for Debian source packages: suggest SOURCE...
  bare     a lone-release fallback ([[bare]]) for libraries that keep their release as a lone
           string, proved at >= 2 releases and wrong at none, with a test per release;
           --any-lead: existing [[bare]] regexes that want a NUL before the release read it
           after any non-printable byte, where that reads more builds right and none worse
  mirror   every neighbour pattern's derived reading of the mirrored string layout on its own,
           over every release, its users and the background; `no_mirror` (with where) on
           each whose mirror reads a wrong release anywhere

  --refresh  fetch Debian's signed indices again (suites move; cached packages stay)
  --dry-run  print what would be written
  --verbose  print every candidate pattern and why it was kept or refused
  --extend   update: cut new patterns from the releases the existing ones miss (their suites
             join cut_from; review the new patterns)
  --all-arches  check, update, mirror: every architecture of each suite (held-out pairs left out), not
             only the first that builds the product; a release the files state but the
             signature misses or misreads on one is a failure (check), or is cut again on that
             architecture (`update --extend`, `suite/arch` joins cut_from)";

/// One invocation: the archive, the indices loaded so far, the signature texts on disk.
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent command-line switches of one run"
)]
struct Run<'a> {
    archive: &'a Archive,
    indices: Indices<'a>,
    preview: bool,
    /// Print every candidate pattern and why it was kept or refused.
    verbose: bool,
    /// `update`: cut new patterns for the releases the existing ones miss.
    extend: bool,
    /// `check`, `update`: every architecture of each suite, not only the first.
    all_arches: bool,
    /// `bare`: revisit existing `[[bare]]` regexes that want a NUL before the release.
    any_lead: bool,
    /// (file name, text) of every signature file on disk.
    texts: Vec<(String, String)>,
    background: Option<Vec<PackageFile>>,
}

/// What a detection said about one product in one set of files.
struct Found {
    /// (version, file index, offset) of each versioned occurrence.
    versioned: Vec<(String, usize, Option<u64>)>,
}

impl<'a> Run<'a> {
    fn new(archive: &'a Archive, dry_run: bool) -> Result<Self, String> {
        Ok(Self {
            archive,
            indices: Indices::new(archive, releases::HeldOut::read()?),
            preview: dry_run,
            verbose: false,
            extend: false,
            all_arches: false,
            any_lead: false,
            texts: signature_texts()?,
            background: None,
        })
    }

    fn each(
        &mut self,
        selected: &[&Product],
        step: fn(&mut Self, &Product) -> Result<String, String>,
    ) -> Result<(), String> {
        let mut failed = Vec::new();
        for product in selected {
            match step(self, product) {
                Ok(summary) => println!("{}: {summary}", product.name),
                Err(err) => {
                    println!("{}: FAILED: {err}", product.name);
                    failed.push(product.name.clone());
                }
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} products failed: {}",
                failed.len(),
                failed.join(" ")
            ))
        }
    }

    /// The product's releases: one per suite, or one per suite and architecture under
    /// `--all-arches`.
    fn releases(&mut self, product: &Product) -> Result<Vec<Release>, String> {
        if self.all_arches {
            releases::releases_all_arches(&mut self.indices, product)
        } else {
            releases::releases(&mut self.indices, product)
        }
    }

    /// The releases whose packages download. Under `--all-arches` a build the mirror no longer
    /// serves (a point release replaced it: trixie's armel updates) is left out with a warning;
    /// otherwise every release must download.
    fn fetched(&self, releases: Vec<Release>) -> Result<Vec<Release>, String> {
        if !self.all_arches {
            releases::fetch(self.archive, &releases)?;
            return Ok(releases);
        }
        // All builds' packages at once (downloads run a few at a time), then each release
        // whose packages all arrived.
        let all: Vec<&crate::debian::Package> = releases
            .iter()
            .flat_map(|release| release.packages.iter().chain(&release.users))
            .collect();
        let failed: BTreeMap<String, String> = all
            .iter()
            .zip(self.archive.fetch_all(&all))
            .filter_map(|(package, result)| {
                result.err().map(|err| {
                    (
                        package.filename.clone(),
                        err.lines().next().unwrap_or_default().to_owned(),
                    )
                })
            })
            .collect();
        let mut out = Vec::new();
        for release in releases {
            let err = release
                .packages
                .iter()
                .chain(&release.users)
                .find_map(|p| failed.get(&p.filename))
                .cloned();
            match err {
                None => out.push(release),
                Some(err) => eprintln!(
                    "warning: {} {} left out: {err}",
                    release.key(),
                    release.upstream
                ),
            }
        }
        Ok(out)
    }

    /// The background files, unpacked once per run.
    fn background(&mut self) -> Result<&[PackageFile], String> {
        if self.background.is_none() {
            let mut packages = Vec::new();
            if let Some(index) = self.indices.get(CUT_SUITE, BACKGROUND_ARCH)? {
                packages.extend(
                    BACKGROUND
                        .iter()
                        .filter_map(|name| index.newest(name).cloned()),
                );
            }
            let refs: Vec<&crate::debian::Package> = packages.iter().collect();
            for (package, result) in refs.iter().zip(self.archive.fetch_all(&refs)) {
                result.map_err(|err| format!("background {}: {err}", package.name))?;
            }
            let mut files = Vec::new();
            for package in &packages {
                files.extend(releases::files(self.archive, package)?);
            }
            self.background = Some(files);
        }
        Ok(self.background.as_deref().unwrap_or_default())
    }

    /// Writes a signature file that passed its tests (or prints it under `--preview`) and keeps
    /// the in-memory catalog texts in step, so later products are judged against it.
    fn save(
        &mut self,
        path: &std::path::Path,
        file_name: String,
        text: String,
    ) -> Result<(), String> {
        write_or_print(path, &text, self.preview)?;
        if !self.preview {
            self.texts.retain(|(name, _)| *name != file_name);
            self.texts.push((file_name, text));
        }
        Ok(())
    }

    /// `product`'s signature file as this run holds it (read at the start, replaced on each save):
    /// its path, file name and text.
    fn signature_file(
        &self,
        product: &Product,
    ) -> Result<(std::path::PathBuf, String, String), String> {
        let path = product.signature_path();
        let file_name = file_name_of(&path);
        let text = self
            .texts
            .iter()
            .find(|(name, _)| *name == file_name)
            .map(|(_, text)| text.clone())
            .ok_or_else(|| {
                format!(
                    "no signature file {}; use `cargo xtask kb add {}`",
                    path.display(),
                    product.name
                )
            })?;
        Ok((path, file_name, text))
    }

    /// The on-disk signatures with `file`'s text replaced by `text` (or added).
    fn catalog_with(&self, file: &str, text: Option<&str>) -> Result<Signatures, String> {
        let mut files: Vec<(&str, &str)> = self
            .texts
            .iter()
            .filter(|(name, _)| name != file)
            .map(|(name, text)| (name.as_str(), text.as_str()))
            .collect();
        if let Some(text) = text {
            files.push((file, text));
        }
        Signatures::parse(files).map_err(|err| error_chain(&err))
    }

    fn release_files(&self, release: &Release, users: bool) -> Result<Vec<PackageFile>, String> {
        let mut out = Vec::new();
        let packages = if users {
            release.users.iter().collect::<Vec<_>>()
        } else {
            release.packages.iter().collect()
        };
        for package in packages {
            out.extend(releases::files(self.archive, package)?);
        }
        Ok(out)
    }

    /// `cargo xtask kb add`: a new signature for a product that has none.
    fn add(&mut self, product: &Product) -> Result<String, String> {
        let path = product.signature_path();
        let file_name = file_name_of(&path);
        if path.exists() {
            return Err(format!(
                "{} exists; use `cargo xtask kb update {}`",
                path.display(),
                product.name
            ));
        }
        let releases = releases::releases(&mut self.indices, product)?;
        if releases.is_empty() {
            return Err(format!(
                "Debian ships none of {:?} in any suite; write this signature by hand",
                product.debian
            ));
        }
        releases::fetch(self.archive, &releases)?;
        let mut report = Vec::new();
        // Cut from bookworm, or from the oldest suite that has it.
        let mut order: Vec<&Release> = releases.iter().collect();
        order.sort_by_key(|r| r.suite != CUT_SUITE);
        let mut patterns: Vec<Candidate> = Vec::new();
        let mut cut_from: Vec<String> = Vec::new();
        let mut files_of: BTreeMap<String, Vec<PackageFile>> = BTreeMap::new();
        for release in &releases {
            files_of.insert(release.key(), self.release_files(release, false)?);
        }
        let mut users: Vec<PackageFile> = Vec::new();
        for release in &releases {
            users.extend(self.release_files(release, true)?);
        }
        for release in order {
            let files = files_of
                .get(&release.key())
                .map(Vec::as_slice)
                .unwrap_or_default();
            // Is this release read already by the patterns cut so far?
            if !patterns.is_empty() {
                let text = draft(product, &patterns);
                let catalog = self.catalog_with(&file_name, Some(&text))?;
                let found = found_in(&catalog, &product.name, files);
                if reads_release(&found, &release.upstream) {
                    continue;
                }
                report.push(format!(
                    "{} {} not read by the patterns cut from {}: cutting again",
                    release.suite,
                    release.upstream,
                    cut_from.join("+")
                ));
            }
            let chosen = self.propose(product, release, files, &users, &file_name)?;
            if chosen.is_empty() {
                report.push(format!(
                    "{} {}: no pattern found",
                    release.suite, release.upstream
                ));
                continue;
            }
            for candidate in chosen {
                if patterns.len() < MAX_PATTERNS && !patterns.contains(&candidate) {
                    patterns.push(candidate);
                }
            }
            cut_from.push(release.suite.clone());
        }
        if patterns.is_empty() {
            return Err(format!(
                "no release string found that a pattern could read ({}); write this signature by hand or name it by SONAME",
                report.join("; ")
            ));
        }
        let mut signature = NewSignature {
            product,
            comment: String::new(),
            packages: package_names(product, &releases),
            sonames: {
                let mut all = sonames(&files_of);
                for prefix in patterns.iter().filter_map(|p| p.bare.clone()) {
                    if !all.contains(&prefix) {
                        all.push(prefix);
                    }
                }
                all
            },
            cut_from: cut_from.clone(),
            patterns,
            one_release: None,
            tests: Vec::new(),
        };
        let text = format!("{}{PLACEHOLDER_TEST}", signature.render());
        let catalog = self.catalog_with(&file_name, Some(&text))?;
        let (tests, outcome) = Self::positives(
            product,
            &catalog,
            &releases,
            &files_of,
            &cut_from,
            &BTreeSet::new(),
            &BTreeSet::new(),
        );
        signature.tests = tests;
        let background: Vec<PackageFile> = self
            .background()?
            .iter()
            .filter(|file| !product.debian.contains(&file.package.source))
            .cloned()
            .collect();
        let mut near: Vec<PackageFile> = users;
        near.extend(background);
        near.extend(files_of.values().flatten().cloned());
        signature
            .tests
            .push(negative(&catalog, product, &signature.patterns, &near));
        let versions: BTreeSet<&str> = releases.iter().map(|r| r.upstream.as_str()).collect();
        if versions.len() == 1 {
            signature.one_release = Some(format!(
                "Debian {} all ship {}",
                releases
                    .iter()
                    .map(|r| r.suite.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                releases
                    .first()
                    .map(|r| r.upstream.as_str())
                    .unwrap_or_default()
            ));
        }
        let cut_release = releases.iter().find(|r| cut_from.first() == Some(&r.suite));
        signature.comment = format!(
            "{}: {}\nPatterns cut by `cargo xtask kb add` from Debian {} and reviewed; tests from other suites are held out.",
            product.name,
            cut_release
                .and_then(|r| r.packages.first())
                .map(|p| p.summary.as_str())
                .unwrap_or_default(),
            cut_from.join(", ")
        );
        let text = signature.render();
        // The file must load and pass its own tests before it is written.
        let catalog = self.catalog_with(&file_name, Some(&text))?;
        check_tests(&catalog, &product.name, &signature.tests)?;
        self.save(&path, file_name, text)?;
        report.extend(outcome);
        Ok(report.join("; "))
    }

    /// Proposes patterns from one release: candidates that read exactly its release and
    /// nothing in the background, best first, covering different files.
    fn propose(
        &mut self,
        product: &Product,
        release: &Release,
        files: &[PackageFile],
        users: &[PackageFile],
        file_name: &str,
    ) -> Result<Vec<Candidate>, String> {
        let spellings = locate::variants(&release.upstream);
        let occurrences = locate::find(files, &spellings);
        let mut candidates: Vec<(Candidate, usize)> = Vec::new();
        for occurrence in &occurrences {
            let Some(file) = files.get(occurrence.file) else {
                continue;
            };
            let bare = library_prefix(file.file_name())
                .and_then(|prefix| locate::bare_candidate(&file.data, occurrence, &prefix));
            for candidate in locate::candidates(&file.data, occurrence)
                .into_iter()
                .chain(bare)
            {
                if !candidates.iter().any(|(c, _)| *c == candidate) {
                    candidates.push((candidate, occurrence.file));
                }
            }
        }
        if self.verbose {
            eprintln!(
                "  {} {}: {} files, {} occurrences of {spellings:?}, {} candidates",
                release.suite,
                release.upstream,
                files.len(),
                occurrences.len(),
                candidates.len()
            );
            for occurrence in occurrences.iter().take(20) {
                if let Some(file) = files.get(occurrence.file) {
                    let from = occurrence.offset.saturating_sub(24);
                    let to = (occurrence.offset + 24).min(file.data.len());
                    eprintln!(
                        "    {} {} @{}: {}",
                        file.package.name,
                        file.path,
                        occurrence.offset,
                        write::escape(file.data.get(from..to).unwrap_or_default())
                    );
                }
            }
        }
        candidates.truncate(MAX_CANDIDATES);
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let mut background: Vec<PackageFile> = self
            .background()?
            .iter()
            .filter(|file| !product.debian.contains(&file.package.source))
            .cloned()
            .collect();
        background.extend(users.iter().cloned());
        // A neighbouring string is only an anchor where nothing else carries it: text that other
        // programs also hold may sit beside their own version strings. A whole string with its
        // NUL (`libev\x00` after a glued `4.33\x00`) is judged by what its regex reads instead.
        let neighbours: Vec<&[u8]> = candidates
            .iter()
            .filter(|(c, _)| !c.before && c.bare.is_none() && c.anchor.last() != Some(&0))
            .map(|(c, _)| c.anchor.as_slice())
            .collect();
        if !neighbours.is_empty() {
            let automaton = aho_corasick::AhoCorasick::new(&neighbours)
                .map_err(|err| format!("candidate anchors: {err}"))?;
            let mut common: BTreeSet<Vec<u8>> = BTreeSet::new();
            for file in &background {
                for hit in automaton.find_overlapping_iter(file.data.as_ref()) {
                    if let Some(anchor) = neighbours.get(hit.pattern().as_usize()) {
                        common.insert(anchor.to_vec());
                    }
                }
            }
            candidates.retain(|(c, _)| {
                let keep = c.before
                    || c.bare.is_some()
                    || c.anchor.last() == Some(&0)
                    || !common.contains(&c.anchor);
                if !keep && self.verbose {
                    eprintln!(
                        "  {} candidate '{}': refused, other programs carry it",
                        release.suite,
                        write::escape(&c.anchor)
                    );
                }
                keep
            });
        }
        // Round one as proposed; round two limits the ones that fired in the background to
        // the libraries they were cut from.
        let mut passing: Vec<(Candidate, Vec<usize>)> = Vec::new();
        let mut round: Vec<Candidate> = candidates.iter().map(|(c, _)| c.clone()).collect();
        for _ in 0..2 {
            let texts: Vec<(String, String)> = round
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    (
                        format!("kb-candidate-{i}.toml"),
                        draft_named(
                            &format!("kb-candidate-{i}"),
                            &product.kind,
                            std::slice::from_ref(c),
                        ),
                    )
                })
                .collect();
            let catalog = Signatures::parse(texts.iter().map(|(n, t)| (n.as_str(), t.as_str())))
                .map_err(|err| error_chain(&err))?;
            let cut = detect_all(&catalog, files);
            let noise = detect_all(&catalog, &background);
            let mut next = Vec::new();
            for (i, candidate) in round.iter().enumerate() {
                let name = format!("kb-candidate-{i}");
                let show = |verdict: &str| {
                    if self.verbose {
                        eprintln!(
                            "  {} candidate '{}' /{}/{}: {verdict}",
                            release.suite,
                            write::escape(&candidate.anchor),
                            candidate.regex,
                            if candidate.only_in.is_empty() {
                                String::new()
                            } else {
                                format!(" only_in {:?}", candidate.only_in)
                            }
                        );
                    }
                };
                let Some(found) = cut.get(&name) else {
                    show("reads nothing in its own release");
                    continue;
                };
                let versions: BTreeSet<&str> =
                    found.versioned.iter().map(|(v, _, _)| v.as_str()).collect();
                if versions.len() != 1 || !versions.iter().all(|v| spellings.iter().any(|s| s == v))
                {
                    show(&format!("reads {versions:?} in its own release"));
                    continue;
                }
                let hit_files: Vec<usize> = found.versioned.iter().map(|(_, f, _)| *f).collect();
                if let Some(noise) = noise.get(&name).filter(|n| !n.versioned.is_empty()) {
                    show(&format!(
                        "reads {} in the background ({})",
                        noise
                            .versioned
                            .iter()
                            .map(|(v, _, _)| v.as_str())
                            .collect::<BTreeSet<_>>()
                            .into_iter()
                            .collect::<Vec<_>>()
                            .join(", "),
                        noise
                            .versioned
                            .iter()
                            .filter_map(|(_, f, _)| background.get(*f))
                            .map(|f| format!("{} {}", f.package.name, f.path))
                            .collect::<BTreeSet<_>>()
                            .into_iter()
                            .take(3)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                    if candidate.only_in.is_empty() && candidate.bare.is_none() {
                        let prefixes: BTreeSet<String> = hit_files
                            .iter()
                            .filter_map(|f| files.get(*f))
                            .filter_map(|f| library_prefix(f.file_name()))
                            .collect();
                        let all_libraries = hit_files.iter().all(|f| {
                            files
                                .get(*f)
                                .and_then(|f| library_prefix(f.file_name()))
                                .is_some()
                        });
                        if all_libraries && !prefixes.is_empty() {
                            let mut limited = candidate.clone();
                            limited.only_in = prefixes.into_iter().collect();
                            next.push(limited);
                        }
                    }
                    continue;
                }
                show("passes");
                passing.push((candidate.clone(), hit_files));
            }
            if next.is_empty() {
                break;
            }
            round = next;
        }
        let _ = file_name;
        // Rank: the product's name in the anchor, anchors before the version, ELF files, more
        // files read, longer anchors.
        let names: Vec<String> = std::iter::once(product.name.clone())
            .chain(product.debian.iter().cloned())
            .map(|n| n.trim_start_matches("lib").to_ascii_lowercase())
            .filter(|n| n.len() >= 3)
            .collect();
        let score = |(candidate, hit_files): &(Candidate, Vec<usize>)| {
            let anchor = String::from_utf8_lossy(&candidate.anchor).to_ascii_lowercase();
            let named = names.iter().any(|n| anchor.contains(n.as_str()));
            let elf = hit_files.iter().any(|f| {
                files
                    .get(*f)
                    .is_some_and(|f| f.data.starts_with(b"\x7fELF"))
            });
            let distinct: BTreeSet<&usize> = hit_files.iter().collect();
            // A bare regex only when no anchored pattern reads the release.
            i64::from(candidate.bare.is_some()) * -1000
                + i64::from(named) * 100
                + i64::from(candidate.before) * 40
                + i64::from(elf) * 30
                + i64::from(candidate.only_in.is_empty()) * 5
                + i64::try_from(distinct.len().min(4)).unwrap_or(4) * 5
                + i64::try_from(candidate.anchor.len().min(24)).unwrap_or(24)
        };
        passing.sort_by_key(|entry| std::cmp::Reverse(score(entry)));
        let mut chosen: Vec<Candidate> = Vec::new();
        let mut covered: BTreeSet<usize> = BTreeSet::new();
        for (candidate, hit_files) in passing {
            if chosen.len() >= MAX_PATTERNS || (candidate.bare.is_some() && !chosen.is_empty()) {
                break;
            }
            if !chosen.is_empty() && hit_files.iter().all(|f| covered.contains(f)) {
                continue;
            }
            // A neighbouring string (not text that introduces the version) read in one
            // build's layout: under `--all-arches` it is read only in the files it was cut
            // from (their library prefix or program name), never in another product's.
            let mut candidate = candidate;
            if self.all_arches
                && !candidate.before
                && candidate.bare.is_none()
                && candidate.only_in.is_empty()
            {
                candidate.only_in = hit_files
                    .iter()
                    .filter_map(|f| files.get(*f))
                    .map(|f| {
                        library_prefix(f.file_name()).unwrap_or_else(|| f.file_name().to_owned())
                    })
                    .collect::<BTreeSet<String>>()
                    .into_iter()
                    .collect();
            }
            covered.extend(hit_files);
            chosen.push(candidate);
        }
        Ok(chosen)
    }

    /// Positive tests from every release the catalog reads, one per upstream release not in
    /// `tested`; and a line for each release it misses or misreads.
    fn positives(
        product: &Product,
        catalog: &Signatures,
        releases: &[Release],
        files_of: &BTreeMap<String, Vec<PackageFile>>,
        cut_from: &[String],
        tested: &BTreeSet<String>,
        must_test: &BTreeSet<String>,
    ) -> (Vec<TestCase>, Vec<String>) {
        let mut tests = Vec::new();
        let mut outcome = Vec::new();
        let mut done: BTreeSet<String> = tested.clone();
        // Releases from the cut suites first, so the cut release gets its own test.
        let mut order: Vec<&Release> = releases.iter().collect();
        order.sort_by_key(|r| !is_cut(cut_from, r));
        for release in order {
            let files = files_of
                .get(&release.key())
                .map(Vec::as_slice)
                .unwrap_or_default();
            let found = found_in(catalog, &product.name, files);
            let heldout = !is_cut(cut_from, release);
            let tag = if heldout { " (held out)" } else { "" };
            let right: Vec<&(String, usize, Option<u64>)> = found
                .versioned
                .iter()
                .filter(|(v, _, _)| same_release(v, &release.upstream))
                .collect();
            let wrong: BTreeSet<&str> = found
                .versioned
                .iter()
                .filter(|(v, _, _)| !same_release(v, &release.upstream))
                .map(|(v, _, _)| v.as_str())
                .collect();
            if !wrong.is_empty() {
                outcome.push(format!(
                    "{} {}{tag}: also reads {}",
                    release.key(),
                    release.upstream,
                    wrong.into_iter().collect::<Vec<_>>().join(", ")
                ));
            }
            let Some(version) = right.first().map(|(v, _, _)| v.clone()) else {
                outcome.push(format!(
                    "{} {}{tag}: MISSED",
                    release.key(),
                    release.upstream
                ));
                continue;
            };
            if done.contains(&version) && !must_test.contains(&release.key()) {
                continue;
            }
            let test = right
                .iter()
                .filter(|(_, _, offset)| offset.is_some())
                .chain(right.iter().filter(|(_, _, offset)| offset.is_none()))
                .find_map(|(_, file, offset)| {
                    let file = files.get(*file)?;
                    match offset {
                        Some(offset) => {
                            let offset = usize::try_from(*offset).ok()?;
                            excerpt_test(catalog, product, release, file, offset, &version, heldout)
                        }
                        None => name_test(catalog, product, release, file, &version, heldout),
                    }
                });
            match test {
                Some(test) => {
                    outcome.push(format!("{} {}{tag}: tested", release.key(), version));
                    done.insert(version);
                    tests.push(test);
                }
                None => outcome.push(format!(
                    "{} {}{tag}: read, but no excerpt alone gives it",
                    release.key(),
                    version
                )),
            }
        }
        (tests, outcome)
    }

    /// `cargo xtask kb update`: facts from the product list and tests for untested releases.
    fn update(&mut self, product: &Product) -> Result<String, String> {
        let (path, file_name, original) = self.signature_file(product)?;
        // Tests from a pair `cargo xtask heldout` holds out go; the releases below replace them
        // from pairs that are not held out.
        let (text, dropped) = write::drop_tests(&original, |origin| {
            self.indices.held_out().holds_origin(origin)
        });
        let existing =
            ExistingSignature::parse(&text).map_err(|err| format!("{}: {err}", path.display()))?;
        let releases = self.releases(product)?;
        let releases = self.fetched(releases)?;
        let mut files_of: BTreeMap<String, Vec<PackageFile>> = BTreeMap::new();
        for release in &releases {
            files_of.insert(release.key(), self.release_files(release, false)?);
        }
        let mut cut_from = if existing.cut_from.is_empty() {
            existing.origin_suites.iter().cloned().collect::<Vec<_>>()
        } else {
            existing.cut_from.clone()
        };
        let mut text = text;
        let mut report = Vec::new();
        if dropped > 0 {
            report.push(format!("{dropped} tests from held-out pairs removed"));
        }
        // Releases a new pattern was cut from: each gets its own test, even at a version
        // another build tests already.
        let mut must_test: BTreeSet<String> = BTreeSet::new();
        if self.extend {
            // What the signature reads before any new pattern, per release: a new pattern may
            // add right releases, never a wrong one anywhere.
            let before_text = format!("{text}{PLACEHOLDER_TEST}");
            let before = self.catalog_with(&file_name, Some(&before_text))?;
            let wrong_before: BTreeMap<String, BTreeSet<String>> = releases
                .iter()
                .map(|r| {
                    let files = files_of
                        .get(&r.key())
                        .map(Vec::as_slice)
                        .unwrap_or_default();
                    (
                        r.key(),
                        wrong_versions(&found_in(&before, &product.name, files), r),
                    )
                })
                .collect();
            // The cut releases first, then the others: a release the patterns miss gets new ones.
            let mut order: Vec<&Release> = releases.iter().collect();
            order.sort_by_key(|r| (!is_cut(&cut_from, r), r.suite != CUT_SUITE));
            for release in order {
                let files = files_of
                    .get(&release.key())
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let catalog =
                    self.catalog_with(&file_name, Some(&format!("{text}{PLACEHOLDER_TEST}")))?;
                if reads_release(&found_in(&catalog, &product.name, files), &release.upstream) {
                    continue;
                }
                let chosen = self.propose(product, release, files, &[], &file_name)?;
                if chosen.is_empty() {
                    report.push(format!(
                        "{} {}: no new pattern found",
                        release.key(),
                        release.upstream
                    ));
                    continue;
                }
                let mut added = false;
                for candidate in chosen.iter().take(2) {
                    let mut next = text.clone();
                    if let Some(prefix) = &candidate.bare {
                        let mut sonames: Vec<String> = toml::from_str::<toml::Table>(&next)
                            .ok()
                            .and_then(|t| t.get("sonames").and_then(|v| v.as_array()).cloned())
                            .unwrap_or_default()
                            .iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect();
                        if !sonames.contains(prefix) {
                            sonames.push(prefix.clone());
                        }
                        let quoted: Vec<String> =
                            sonames.iter().map(|s| format!("\"{s}\"")).collect();
                        next = write::set_keys(
                            &next,
                            &[("sonames", format!("[{}]", quoted.join(", ")))],
                        );
                    }
                    next.push_str(&write::render_pattern(candidate));
                    // Proved on every other release: it reads no wrong release where the
                    // signature read none before.
                    let catalog =
                        self.catalog_with(&file_name, Some(&format!("{next}{PLACEHOLDER_TEST}")))?;
                    let new_wrong: Vec<String> = releases
                        .iter()
                        .filter_map(|r| {
                            let files = files_of
                                .get(&r.key())
                                .map(Vec::as_slice)
                                .unwrap_or_default();
                            let wrong =
                                wrong_versions(&found_in(&catalog, &product.name, files), r);
                            let old = wrong_before.get(&r.key());
                            let gained: Vec<String> = wrong
                                .into_iter()
                                .filter(|v| !old.is_some_and(|o| o.contains(v)))
                                .collect();
                            (!gained.is_empty()).then(|| {
                                format!("{} {}: {}", r.key(), r.upstream, gained.join(","))
                            })
                        })
                        .collect();
                    if !new_wrong.is_empty() {
                        report.push(format!(
                            "pattern '{}' cut from {} refused: reads a wrong release in {}",
                            write::escape(&candidate.anchor),
                            release.key(),
                            new_wrong.join("; ")
                        ));
                        continue;
                    }
                    text = next;
                    added = true;
                    report.push(format!(
                        "new pattern '{}' /{}/ cut from {}",
                        write::escape(&candidate.anchor),
                        candidate.regex,
                        release.key()
                    ));
                }
                if added {
                    must_test.insert(release.key());
                    if !is_cut(&cut_from, release) {
                        cut_from.push(if self.all_arches {
                            release.key()
                        } else {
                            release.suite.clone()
                        });
                    }
                }
            }
        }
        // A hand-written pattern may come without tests: they are what this step adds.
        let catalog = self.catalog_with(&file_name, Some(&format!("{text}{PLACEHOLDER_TEST}")))?;
        let (mut tests, outcome) = Self::positives(
            product,
            &catalog,
            &releases,
            &files_of,
            &cut_from,
            &existing.versions,
            &must_test,
        );
        if !existing.negative {
            let patterns = existing.patterns.clone();
            let near: Vec<PackageFile> = files_of.values().flatten().cloned().collect();
            tests.push(negative(&catalog, product, &patterns, &near));
        }
        let mut keys = write::facts(product);
        if !cut_from.is_empty() {
            let quoted: Vec<String> = cut_from.iter().map(|s| format!("\"{s}\"")).collect();
            keys.push(("cut_from", format!("[{}]", quoted.join(", "))));
        }
        let mut versions = existing.versions.clone();
        versions.extend(tests.iter().filter_map(|t| t.version.clone()));
        let debian: BTreeSet<&str> = releases.iter().map(|r| r.upstream.as_str()).collect();
        if versions.len() < 2
            && debian.len() == 1
            && existing.one_release.is_none()
            && existing.versioned
        {
            keys.push((
                "one_release",
                format!(
                    "\"Debian {} all ship {}\"",
                    releases
                        .iter()
                        .map(|r| r.suite.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    debian.iter().next().copied().unwrap_or_default()
                ),
            ));
        }
        let mut updated = write::set_keys(&text, &keys);
        for test in &tests {
            updated.push_str(&test.render());
        }
        let catalog = self.catalog_with(&file_name, Some(&updated))?;
        check_tests(&catalog, &product.name, &tests)?;
        if updated != original {
            self.save(&path, file_name, updated)?;
        }
        report.extend(outcome);
        Ok(if releases.is_empty() {
            "not in Debian: facts only".to_owned()
        } else if report.is_empty() {
            format!(
                "every Debian release ({}) tested already",
                releases
                    .iter()
                    .map(|r| format!("{} {}", r.suite, r.upstream))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            report.join("; ")
        })
    }

    /// `cargo xtask kb check`: every signature on whole binaries of every release.
    fn check(&mut self, selected: &[&Product]) -> Result<(), String> {
        let catalog = Signatures::parse(self.texts.iter().map(|(n, t)| (n.as_str(), t.as_str())))
            .map_err(|err| error_chain(&err))?;
        let cut_of: HashMap<String, Vec<String>> = self
            .texts
            .iter()
            .filter_map(|(_, text)| {
                let existing = ExistingSignature::parse(text).ok()?;
                let cut = if existing.cut_from.is_empty() {
                    existing.origin_suites.into_iter().collect()
                } else {
                    existing.cut_from
                };
                Some((existing.name, cut))
            })
            .collect();
        // The mirrored layout's readings, each mirror on its own (`kb mirror`).
        let mirrors = mirror::Mirrors::new(&catalog, mirror::owners(&products::load()?))?;
        let mut mirrored = mirror::Tally::default();
        let mut totals: BTreeMap<(bool, &str), usize> = BTreeMap::new();
        let mut others: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut failures: Vec<String> = Vec::new();
        for product in selected {
            let releases = match self.releases(product) {
                Ok(releases) => releases,
                Err(err) => {
                    println!("{}: {err}", product.name);
                    continue;
                }
            };
            let releases = match self.fetched(releases) {
                Ok(releases) => releases,
                Err(err) => {
                    println!("{}: {err}", product.name);
                    continue;
                }
            };
            let cut = cut_of.get(&product.name).cloned().unwrap_or_default();
            let mut line = Vec::new();
            let mut failing = Vec::new();
            for release in &releases {
                let files = self.release_files(release, false)?;
                let all = detect_all(&catalog, &files);
                let readings = mirrors.read(&files);
                mirrored.add(&readings, mirrors.judge(&readings, &files, &catalog));
                let heldout = !is_cut(&cut, release);
                let versions: BTreeSet<String> = all
                    .get(&product.name)
                    .map(|f| f.versioned.iter().map(|(v, _, _)| v.clone()).collect())
                    .unwrap_or_default();
                let verdict = verdict(&versions, release, &files);
                *totals.entry((heldout, verdict)).or_default() += 1;
                let text = format!(
                    "{}{} {} {verdict}{}",
                    release.key(),
                    if heldout { "*" } else { "" },
                    release.upstream,
                    if verdict == "right" || verdict == "not stated" {
                        String::new()
                    } else {
                        format!(" [{}]", versions.into_iter().collect::<Vec<_>>().join(","))
                    }
                );
                if matches!(verdict, "wrong" | "missed" | "right+other") {
                    failing.push(text.clone());
                }
                line.push(text);
                for (name, found) in &all {
                    if *name != product.name && !found.versioned.is_empty() {
                        let versions: BTreeSet<&str> =
                            found.versioned.iter().map(|(v, _, _)| v.as_str()).collect();
                        others
                            .entry(product.name.clone())
                            .or_default()
                            .insert(format!(
                                "{name} {} in {}",
                                versions.into_iter().collect::<Vec<_>>().join(","),
                                release.key()
                            ));
                    }
                }
            }
            if !failing.is_empty() {
                failures.push(format!("{}: {}", product.name, failing.join("; ")));
            }
            println!("{}: {}", product.name, line.join("; "));
        }
        println!(
            "\nother products read in a product's packages (statically linked or vendored copies, or false positives to review):"
        );
        for (product, found) in &others {
            println!(
                "  {product}: {}",
                found.iter().cloned().collect::<Vec<_>>().join("; ")
            );
        }
        println!(
            "\nfailures: the files state the release, the signature misses it, misreads it or also reads another ({} products):",
            failures.len()
        );
        for failure in &failures {
            println!("  {failure}");
        }
        println!(
            "\nreleases (* = held out: the signature was not cut from that suite or build; `not stated`: no file spells the release):"
        );
        for ((heldout, verdict), count) in &totals {
            println!(
                "  {:<9} {verdict:<12} {count}",
                if *heldout { "held out" } else { "cut" }
            );
        }
        println!(
            "\nmirrored layout, each mirror on its own in the products' own packages (`kb mirror`): {}",
            mirrored.summary()
        );
        for (index, (why, more)) in &mirrored.first_wrong {
            if let Some(pattern) = mirrors.patterns().get(*index) {
                println!(
                    "  {} pattern[{}]: {why}{}",
                    pattern.product,
                    pattern.pattern,
                    if *more > 0 {
                        format!(" (and {more} more)")
                    } else {
                        String::new()
                    }
                );
            }
        }
        Ok(())
    }
}

/// What the versions a signature read in one build say of its release: `right`, `right+other`
/// (beside another release), `wrong`, `missed` (the files state the release, the signature reads
/// nothing) or `not stated`.
fn verdict(versions: &BTreeSet<String>, release: &Release, files: &[PackageFile]) -> &'static str {
    if versions.iter().any(|v| same_release(v, &release.upstream)) {
        // Two spellings of the release (`1.10` and `1.10.0`) are one.
        if versions.iter().all(|v| same_release(v, &release.upstream)) {
            "right"
        } else {
            "right+other"
        }
    } else if !versions.is_empty() {
        "wrong"
    } else if !locate::find(files, &locate::variants(&release.upstream)).is_empty() {
        // A miss only counts where the files state the release at all.
        "missed"
    } else {
        "not stated"
    }
}

/// Writes a signature file, or under a preview (`--preview`, `--dry-run`) prints it instead.
fn write_or_print(path: &std::path::Path, text: &str, preview: bool) -> Result<(), String> {
    if preview {
        println!("--- {}\n{text}", path.display());
        return Ok(());
    }
    std::fs::write(path, text).map_err(|err| format!("cannot write {}: {err}", path.display()))
}

/// A signature file's name (`busybox.toml`).
fn file_name_of(path: &std::path::Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned()
}

/// Every signature file on disk as (file name, text), sorted by name.
pub(crate) fn signature_texts() -> Result<Vec<(String, String)>, String> {
    let folder = crate::util::root().join(products::SIGNATURES);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&folder)
        .map_err(|err| format!("cannot list {}: {err}", folder.display()))?
    {
        let path = entry.map_err(|err| err.to_string())?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path)
                .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
            out.push((file_name_of(&path), text));
        }
    }
    out.sort();
    Ok(out)
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A signature text with only patterns (and a placeholder test), for evaluating candidates.
fn draft(product: &Product, patterns: &[Candidate]) -> String {
    draft_named(&product.name, &product.kind, patterns)
}

fn draft_named(name: &str, kind: &str, patterns: &[Candidate]) -> String {
    let mut out = format!("name = \"{name}\"\nkind = \"{kind}\"\n");
    let sonames: Vec<String> = patterns
        .iter()
        .filter_map(|p| p.bare.as_ref().map(|s| format!("\"{s}\"")))
        .collect();
    if !sonames.is_empty() {
        out = format!("{out}sonames = [{}]\n", sonames.join(", "));
    }
    for pattern in patterns {
        if pattern.bare.is_some() {
            out = format!("{out}[[bare]]\nregex = '{}'\n", pattern.regex);
            continue;
        }
        out = format!(
            "{out}[[pattern]]\nanchor = '{}'\nregex = '{}'\n",
            write::escape(&pattern.anchor),
            pattern.regex
        );
        if !pattern.only_in.is_empty() {
            let quoted: Vec<String> = pattern.only_in.iter().map(|p| format!("\"{p}\"")).collect();
            out = format!("{out}only_in = [{}]\n", quoted.join(", "));
        }
    }
    out.push_str(PLACEHOLDER_TEST);
    out
}

/// A test case that lets a draft signature load (the loader wants one) before its real tests
/// are cut.
const PLACEHOLDER_TEST: &str =
    "\n[[test]]\nexpect = \"positive\"\nexcerpt = 'x'\norigin = 'draft'\n";

/// Runs the catalog over files and groups the versioned findings by product.
fn detect_all(catalog: &Signatures, files: &[PackageFile]) -> BTreeMap<String, Found> {
    let vfs = releases::vfs(files);
    let index = releases::node_indices(&vfs);
    let detection = catalog.detect(&vfs);
    let mut out: BTreeMap<String, Found> = BTreeMap::new();
    for component in detection.components {
        let entry = out.entry(component.name.clone()).or_insert(Found {
            versioned: Vec::new(),
        });
        let Some(version) = component.version else {
            continue;
        };
        for occurrence in component.occurrences {
            if let Some(file) = index.get(occurrence.location.as_str()) {
                entry
                    .versioned
                    .push((version.clone(), *file, occurrence.offset));
            }
        }
    }
    out
}

fn found_in(catalog: &Signatures, name: &str, files: &[PackageFile]) -> Found {
    detect_all(catalog, files).remove(name).unwrap_or(Found {
        versioned: Vec::new(),
    })
}

fn reads_release(found: &Found, upstream: &str) -> bool {
    found
        .versioned
        .iter()
        .any(|(v, _, _)| same_release(v, upstream))
}

/// True when the signature's patterns were cut from the release's suite (`bookworm`: any of its
/// architectures) or from its build (`bookworm/i386`); its tests are held out otherwise.
fn is_cut(cut_from: &[String], release: &Release) -> bool {
    cut_from
        .iter()
        .any(|c| *c == release.suite || *c == release.key())
}

/// The versions a finding reads that are not the release.
fn wrong_versions(found: &Found, release: &Release) -> BTreeSet<String> {
    found
        .versioned
        .iter()
        .filter(|(v, _, _)| !same_release(v, &release.upstream))
        .map(|(v, _, _)| v.clone())
        .collect()
}

/// True when `found` (what a binary says) is the Debian upstream release `upstream`: one of its
/// spellings, the same with a trailing `.0` more or less (`2.9` for `2.9.0`), or with the patch
/// level Debian's version leaves out (`5.1.4` for bash `5.1`).
fn same_release(found: &str, upstream: &str) -> bool {
    locate::variants(upstream).iter().any(|spelling| {
        found == spelling
            || spelling.strip_suffix(".0") == Some(found)
            || found.strip_suffix(".0") == Some(spelling.as_str())
            || found
                .strip_prefix(spelling.as_str())
                .and_then(|rest| rest.strip_prefix('.'))
                .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// Cuts a test excerpt around a match and checks that the excerpt alone (named as a plain file,
/// or as the real file when the pattern needs the name) gives the release.
fn excerpt_test(
    catalog: &Signatures,
    product: &Product,
    release: &Release,
    file: &PackageFile,
    offset: usize,
    version: &str,
    heldout: bool,
) -> Option<TestCase> {
    for (before, after) in EXCERPT_CONTEXT {
        let start = offset.saturating_sub(before);
        let end = offset.saturating_add(after).min(file.data.len());
        let excerpt = file.data.get(start..end)?;
        for name in [None, Some(file.file_name())] {
            let case = TestCase {
                positive: true,
                excerpt: excerpt.to_vec(),
                version: Some(version.to_owned()),
                file: name.map(str::to_owned),
                origin: format!(
                    "{}, {}, offset {start}",
                    release.describe(&file.package),
                    file.path
                ),
                heldout,
            };
            if check_tests(catalog, &product.name, std::slice::from_ref(&case)).is_ok() {
                return Some(case);
            }
        }
    }
    None
}

/// A test for a release read from a file's name (a library whose file name carries its
/// release): the file's first bytes (its ELF header) under its real name.
fn name_test(
    catalog: &Signatures,
    product: &Product,
    release: &Release,
    file: &PackageFile,
    version: &str,
    heldout: bool,
) -> Option<TestCase> {
    let excerpt = file.data.get(..64.min(file.data.len()))?;
    let case = TestCase {
        positive: true,
        excerpt: excerpt.to_vec(),
        version: Some(version.to_owned()),
        file: Some(file.file_name().to_owned()),
        origin: format!(
            "{}, {} (its file name), offset 0",
            release.describe(&file.package),
            file.path
        ),
        heldout,
    };
    check_tests(catalog, &product.name, std::slice::from_ref(&case))
        .is_ok()
        .then_some(case)
}

/// Runs test cases the way the signature tests do; an error lists the ones that fail.
fn check_tests(catalog: &Signatures, name: &str, tests: &[TestCase]) -> Result<(), String> {
    let mut failures = Vec::new();
    for test in tests {
        let file = test
            .file
            .clone()
            .unwrap_or_else(|| "excerpt.bin".to_owned());
        let vfs = consign_model::Vfs::single(&file, bytes::Bytes::from(test.excerpt.clone()));
        let detection = catalog.detect(&vfs);
        let found: Vec<&Option<String>> = detection
            .components
            .iter()
            .filter(|c| c.name == name)
            .map(|c| &c.version)
            .collect();
        let ok = if test.positive {
            found.iter().any(|v| **v == test.version)
        } else {
            !found
                .iter()
                .any(|v| test.version.is_none() || **v == test.version)
        };
        if !ok {
            failures.push(format!(
                "{} ({}): got {found:?}",
                if test.positive {
                    "positive"
                } else {
                    "negative"
                },
                test.origin
            ));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("test cases fail: {}", failures.join("; ")))
    }
}

/// A negative test: a real place where an anchor occurs but the signature must not read a
/// release (a near miss), else the anchor followed by a printf directive.
fn negative(
    catalog: &Signatures,
    product: &Product,
    patterns: &[Candidate],
    near: &[PackageFile],
) -> TestCase {
    for pattern in patterns.iter().filter(|p| !p.anchor.is_empty()) {
        for file in near {
            for at in memchr::memmem::find_iter(&file.data, &pattern.anchor).take(8) {
                let start = at.saturating_sub(48);
                let end = (at + pattern.anchor.len() + 64).min(file.data.len());
                let Some(excerpt) = file.data.get(start..end) else {
                    continue;
                };
                let case = TestCase {
                    positive: false,
                    excerpt: excerpt.to_vec(),
                    version: None,
                    file: None,
                    origin: format!(
                        "a near miss: Debian {} {} {} ({}), {}, offset {start}",
                        file.package.suite,
                        file.package.name,
                        file.package.version,
                        file.package.architecture,
                        file.path
                    ),
                    heldout: false,
                };
                if check_tests(catalog, &product.name, std::slice::from_ref(&case)).is_ok() {
                    return case;
                }
            }
        }
    }
    let anchor = patterns
        .first()
        .map(|p| p.anchor.clone())
        .unwrap_or_default();
    let mut excerpt = b"\0\0".to_vec();
    excerpt.extend_from_slice(&anchor);
    excerpt.extend_from_slice(b"%s\0\0");
    TestCase {
        positive: false,
        excerpt,
        version: None,
        file: None,
        origin: "made up: the anchor followed by a printf directive where the release would be, as a program that prints it at run time carries it".to_owned(),
        heldout: false,
    }
}

/// `libfoo.so` for `libfoo.so.1.2.3` or `libfoo-2.0.so.0`.
fn library_prefix(file_name: &str) -> Option<String> {
    if !file_name.starts_with("lib") {
        return None;
    }
    let at = file_name.find(".so")?;
    let rest = file_name.get(at + 3..)?;
    let stem = file_name.get(..at)?;
    (rest.is_empty() || rest.starts_with('.')).then(|| format!("{stem}.so"))
}

/// SONAME prefixes of the shared libraries the packages install in a library folder (`lib/`,
/// `usr/lib/`, or their multiarch folder).
fn sonames(files_of: &BTreeMap<String, Vec<PackageFile>>) -> Vec<String> {
    let mut out = BTreeSet::new();
    for file in files_of.values().flatten() {
        let parts: Vec<&str> = file.path.split('/').collect();
        let folder = parts
            .get(..parts.len().saturating_sub(1))
            .unwrap_or_default();
        let in_lib = match folder {
            ["lib"] | ["usr", "lib"] => true,
            ["lib", arch] | ["usr", "lib", arch] => arch.contains("-linux-"),
            _ => false,
        };
        if in_lib
            && file.data.starts_with(b"\x7fELF")
            && let Some(prefix) = library_prefix(file.file_name())
        {
            out.insert(prefix);
        }
    }
    out.into_iter().collect()
}

/// The package names a package database may list for the product: its binaries and sources.
fn package_names(product: &Product, releases: &[Release]) -> Vec<String> {
    let mut out: BTreeSet<String> = product.debian.iter().cloned().collect();
    for release in releases {
        out.extend(release.packages.iter().map(|p| p.name.clone()));
    }
    out.into_iter().collect()
}

/// What the pipeline reads back from an existing signature file.
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent yes/no facts of a file, read once"
)]
struct ExistingSignature {
    name: String,
    cut_from: Vec<String>,
    one_release: Option<String>,
    /// Suites named in test origins (`Debian bookworm ...`).
    origin_suites: BTreeSet<String>,
    /// Versions of the positive tests.
    versions: BTreeSet<String>,
    /// True if a pattern, bare regex or named file can give a version.
    versioned: bool,
    /// Held-out positive tests.
    heldout: usize,
    /// True if there is a negative test.
    negative: bool,
    /// The anchors (and regexes) of the patterns.
    patterns: Vec<Candidate>,
    homepage: bool,
    license: bool,
    /// True if a `cargo xtask kb filever` rule reads the release from file names.
    learnt: bool,
}

impl ExistingSignature {
    fn parse(text: &str) -> Result<Self, String> {
        let value: toml::Table = toml::from_str(text).map_err(|err| err.to_string())?;
        let strings = |key: &str| -> Vec<String> {
            value
                .get(key)
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let tables = |key: &str| -> Vec<toml::Table> {
            value
                .get(key)
                .and_then(|v| v.as_array())
                .map(|a| a.iter().filter_map(|v| v.as_table().cloned()).collect())
                .unwrap_or_default()
        };
        let mut versions = BTreeSet::new();
        let mut origin_suites = BTreeSet::new();
        let mut heldout = 0;
        let mut negative = false;
        for test in tables("test") {
            if test.get("expect").and_then(|v| v.as_str()) != Some("positive") {
                negative = true;
                continue;
            }
            if let Some(version) = test.get("version").and_then(|v| v.as_str()) {
                versions.insert(version.to_owned());
            }
            if test.get("heldout").and_then(toml::Value::as_bool) == Some(true) {
                heldout += 1;
            }
            let origin = test
                .get("origin")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            for suite in crate::debian::SUITES {
                if origin.contains(&format!("Debian {suite} ")) {
                    origin_suites.insert(suite.to_owned());
                }
            }
        }
        // A real file name whose release a learnt rule reads is a tested release too.
        for test in tables("file_test") {
            if let Some(version) = test.get("version").and_then(|v| v.as_str()) {
                versions.insert(version.to_owned());
            }
        }
        let learnt = tables("named_file")
            .iter()
            .any(|n| n.contains_key("learnt"));
        let versioned = tables("pattern")
            .iter()
            .any(|p| p.contains_key("regex") || p.contains_key("fields"))
            || !tables("bare").is_empty()
            || tables("named_file").iter().any(|n| {
                n.get("name")
                    .and_then(|v| v.as_str())
                    .is_some_and(|r| r.contains('('))
                    || n.contains_key("content")
            })
            || value.get("soname_release").and_then(toml::Value::as_bool) == Some(true)
            || value
                .get("version_from_comment")
                .and_then(toml::Value::as_bool)
                == Some(true);
        Ok(Self {
            name: value
                .get("name")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned(),
            cut_from: strings("cut_from"),
            one_release: value
                .get("one_release")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            origin_suites,
            versions,
            versioned,
            heldout,
            negative,
            patterns: tables("pattern")
                .iter()
                .filter_map(|p| {
                    let anchor = p.get("anchor")?.as_str()?;
                    Some(Candidate {
                        anchor: consign_detect::unescape(anchor).ok()?,
                        regex: p
                            .get("regex")
                            .and_then(|r| r.as_str())
                            .unwrap_or_default()
                            .to_owned(),
                        only_in: Vec::new(),
                        before: true,
                        bare: None,
                    })
                })
                .collect(),
            homepage: value.contains_key("homepage"),
            license: value.contains_key("license"),
            learnt,
        })
    }
}

/// `cargo xtask kb status`: what the signature files cover.
fn status(products: &[Product]) -> Result<(), String> {
    let texts = signature_texts()?;
    let mut rows = Vec::new();
    let listed: BTreeSet<&str> = products.iter().map(|p| p.name.as_str()).collect();
    let (mut two, mut heldout, mut facts, mut one, mut versioned) = (0, 0, 0, 0, 0);
    let mut learnt = 0;
    for (file, text) in &texts {
        let existing = ExistingSignature::parse(text).map_err(|err| format!("{file}: {err}"))?;
        let releases = existing.versions.len();
        if existing.learnt {
            learnt += 1;
        }
        if existing.versioned {
            versioned += 1;
        }
        if releases >= 2 {
            two += 1;
        }
        if existing.one_release.is_some() {
            one += 1;
        }
        if existing.heldout > 0 {
            heldout += 1;
        }
        if existing.homepage && existing.license {
            facts += 1;
        }
        rows.push(format!(
            "{:<28} releases {:>2}  held-out tests {:>2}  {}{}{}",
            existing.name,
            releases,
            existing.heldout,
            if existing.homepage && existing.license {
                ""
            } else {
                "no homepage/licence  "
            },
            if listed.contains(existing.name.as_str()) {
                ""
            } else {
                "not in products.toml  "
            },
            existing
                .one_release
                .as_deref()
                .map(|r| format!("one release: {r}"))
                .unwrap_or_default()
        ));
    }
    for row in &rows {
        println!("{row}");
    }
    let with_signature: BTreeSet<String> = texts
        .iter()
        .filter_map(|(_, t)| ExistingSignature::parse(t).ok().map(|e| e.name))
        .collect();
    let missing: Vec<&str> = products
        .iter()
        .filter(|p| !with_signature.contains(&p.name))
        .map(|p| p.name.as_str())
        .collect();
    println!(
        "\n{} signatures ({versioned} read a version); {two} tested at >= 2 releases, {one} say Debian has one; {heldout} with held-out tests; {facts} with homepage and licence; {learnt} read releases from file names by a learnt rule",
        texts.len()
    );
    let mut sets: BTreeMap<&str, usize> = BTreeMap::new();
    for product in products {
        for set in &product.sets {
            *sets.entry(set.as_str()).or_default() += 1;
        }
    }
    println!(
        "products per firmware package set: {}",
        sets.iter()
            .map(|(set, n)| format!("{set} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "{} products listed; without a signature yet: {}",
        products.len(),
        if missing.is_empty() {
            "none".to_owned()
        } else {
            missing.join(" ")
        }
    );
    Ok(())
}

/// `cargo xtask kb suggest SOURCE...`: a draft product entry per Debian source package.
fn suggest(archive: &Archive, sources: &[String]) -> Result<(), String> {
    let cpes = nvd_cpes();
    let mut indices = Indices::new(archive, releases::HeldOut::read()?);
    for source in sources {
        let draft = Product {
            name: source.clone(),
            file: None,
            kind: "application".into(),
            debian: vec![source.clone()],
            binaries: Vec::new(),
            users: Vec::new(),
            cpe: None,
            purl: format!("pkg:generic/{source}"),
            homepage: String::new(),
            license: String::new(),
            sets: Vec::new(),
        };
        let releases = releases::releases(&mut indices, &draft)?;
        let Some(newest) = releases.last() else {
            println!("# {source}: not in Debian {:?}\n", crate::debian::SUITES);
            continue;
        };
        let homepage = newest
            .packages
            .iter()
            .find_map(|p| p.homepage.clone())
            .unwrap_or_default();
        let mut license = String::new();
        if let Some(package) = newest.packages.first() {
            archive.fetch(package)?;
            if let Some(text) = releases::copyright(archive, package)? {
                license = debian_license(&text).unwrap_or_default();
            }
        }
        let kind = if newest.packages.iter().any(|p| p.name.starts_with("lib")) {
            "library"
        } else {
            "application"
        };
        let wanted = source.trim_start_matches("lib").replace('-', "_");
        let guesses: Vec<&String> = cpes
            .iter()
            .filter(|cpe| {
                cpe.split_once(':').is_some_and(|(_, product)| {
                    let product = product.replace('-', "_");
                    product == wanted
                        || product == format!("lib{wanted}")
                        || product == source.replace('-', "_")
                })
            })
            .collect();
        println!("[[product]]");
        println!("name = \"{source}\"");
        println!("kind = \"{kind}\"");
        println!("debian = [\"{source}\"]");
        match guesses.as_slice() {
            [] => println!(
                "# cpe: no NVD record here names it; check https://nvd.nist.gov/products/cpe/search"
            ),
            [one] => println!("cpe = \"{one}\""),
            many => println!(
                "cpe = \"{}\"  # NVD records here also: {}",
                many[0],
                many.iter()
                    .skip(1)
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
        println!("purl = \"pkg:generic/{source}\"");
        println!("homepage = \"{homepage}\"");
        println!("license = \"{license}\"");
        println!(
            "# Debian: {}",
            releases
                .iter()
                .map(|r| format!(
                    "{} {} [{}] ({})",
                    r.suite,
                    r.upstream,
                    r.debian_version,
                    r.packages
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                ))
                .collect::<Vec<_>>()
                .join("; ")
        );
        println!();
    }
    Ok(())
}

/// The `vendor:product` pairs of application CPEs that the shared NVD records name.
fn nvd_cpes() -> BTreeSet<String> {
    let root = crate::util::root();
    let folder = [
        root.join("../shared/vulndata/nvd"),
        root.join("../../shared/vulndata/nvd"),
    ]
    .into_iter()
    .find(|p| p.is_dir());
    let mut out = BTreeSet::new();
    let Some(folder) = folder else {
        return out;
    };
    let mut stack = vec![folder];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                for piece in text.split("cpe:2.3:").skip(1) {
                    let mut parts = piece.split(':');
                    if let (Some("a" | "o"), Some(vendor), Some(product)) =
                        (parts.next(), parts.next(), parts.next())
                    {
                        out.insert(format!("{vendor}:{product}"));
                    }
                }
            }
        }
    }
    out
}

/// The licence of `Files: *` in a machine-readable Debian copyright file, as SPDX.
fn debian_license(text: &str) -> Option<String> {
    let mut in_star = false;
    for paragraph in text.split("\n\n") {
        for line in paragraph.lines() {
            if let Some(files) = line.strip_prefix("Files:") {
                in_star = files.split_whitespace().any(|f| f == "*");
            }
            if in_star && let Some(license) = line.strip_prefix("License:") {
                return Some(spdx_of_debian(license.trim()));
            }
        }
    }
    None
}

/// Debian's short licence names (`GPL-2+`, `Expat`) as SPDX ids; `or`/`and` become operators.
fn spdx_of_debian(text: &str) -> String {
    text.split_whitespace()
        .map(|word| {
            let lower = word.to_ascii_lowercase();
            let (base, plus) = match lower.strip_suffix('+') {
                Some(base) => (base.to_owned(), true),
                None => (lower.clone(), false),
            };
            let gnu = |id: &str| format!("{id}-{}", if plus { "or-later" } else { "only" });
            match base.as_str() {
                "or" => "OR".to_owned(),
                "and" => "AND".to_owned(),
                "with" => "WITH".to_owned(),
                "gpl-1" => gnu("GPL-1.0"),
                "gpl-2" | "gpl-2.0" => gnu("GPL-2.0"),
                "gpl-3" | "gpl-3.0" => gnu("GPL-3.0"),
                "lgpl-2" | "lgpl-2.0" => gnu("LGPL-2.0"),
                "lgpl-2.1" => gnu("LGPL-2.1"),
                "lgpl-3" | "lgpl-3.0" => gnu("LGPL-3.0"),
                "agpl-3" => gnu("AGPL-3.0"),
                "gfdl-1.3" => gnu("GFDL-1.3"),
                "expat" | "mit" => "MIT".to_owned(),
                "bsd-2-clause" => "BSD-2-Clause".to_owned(),
                "bsd-3-clause" => "BSD-3-Clause".to_owned(),
                "bsd-4-clause" => "BSD-4-Clause".to_owned(),
                "isc" => "ISC".to_owned(),
                "zlib" => "Zlib".to_owned(),
                "apache-2.0" | "apache-2" => "Apache-2.0".to_owned(),
                "mpl-2.0" => "MPL-2.0".to_owned(),
                "mpl-1.1" => "MPL-1.1".to_owned(),
                "epl-1.0" => "EPL-1.0".to_owned(),
                "epl-2.0" => "EPL-2.0".to_owned(),
                "openssl" => "OpenSSL".to_owned(),
                "curl" => "curl".to_owned(),
                "x11" => "X11".to_owned(),
                "psf-2" | "psf" => "Python-2.0".to_owned(),
                "artistic" | "artistic-1" => "Artistic-1.0-Perl".to_owned(),
                "sleepycat" => "Sleepycat".to_owned(),
                "public-domain" => "LicenseRef-public-domain".to_owned(),
                _ => word.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_as_binaries_spell_them() {
        assert!(same_release("5.1.4", "5.1"));
        assert!(same_release("2.9", "2.9.0"));
        assert!(same_release("30", "30+20221128"));
        assert!(!same_release("5.10", "5.1"));
        assert!(!same_release("2.9.1", "2.9.0"));
    }

    #[test]
    fn library_prefixes() {
        assert_eq!(library_prefix("libz.so.1.2.13").as_deref(), Some("libz.so"));
        assert_eq!(
            library_prefix("libglib-2.0.so.0").as_deref(),
            Some("libglib-2.0.so")
        );
        assert_eq!(library_prefix("libz.so").as_deref(), Some("libz.so"));
        assert_eq!(library_prefix("busybox"), None);
        assert_eq!(library_prefix("libsomething.sox"), None);
    }

    #[test]
    fn debian_licences_as_spdx() {
        let copyright = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: debian/*\nLicense: GPL-2+\n\nFiles: *\nCopyright: someone\nLicense: LGPL-2.1+ or Expat\n";
        assert_eq!(
            debian_license(copyright).as_deref(),
            Some("LGPL-2.1-or-later OR MIT")
        );
        assert_eq!(spdx_of_debian("GPL-2"), "GPL-2.0-only");
        assert_eq!(
            spdx_of_debian("BSD-3-clause and Zlib"),
            "BSD-3-Clause AND Zlib"
        );
    }

    #[test]
    fn existing_signatures_read_back() {
        let text = "name = \"x\"\nkind = \"library\"\nhomepage = \"h\"\ncut_from = [\"bookworm\"]\n[[pattern]]\nanchor = 'x v'\nregex = 'x v(\\d+)'\n[[test]]\nexpect = \"positive\"\nexcerpt = 'x v1'\nversion = \"1\"\norigin = \"Debian trixie x 1-1 (arm64), usr/bin/x, offset 0\"\nheldout = true\n";
        let existing = ExistingSignature::parse(text).unwrap();
        assert_eq!(existing.cut_from, ["bookworm"]);
        assert_eq!(
            existing.origin_suites.iter().collect::<Vec<_>>(),
            ["trixie"]
        );
        assert_eq!(existing.heldout, 1);
        assert!(existing.versioned && existing.homepage && !existing.license);
    }
}
