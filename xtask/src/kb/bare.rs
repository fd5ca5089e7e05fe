//! `cargo xtask kb bare`: a lone-release fallback for libraries whose anchored patterns hold on
//! one architecture's string layout only.
//!
//! Patterns cut from a neighbouring string (`\x00(6.2.1)\x00{1,8}0123456789ABCDEF`) read a
//! release where the compiler placed that string next to the version; another architecture or
//! compiler places it elsewhere and the release is lost (the development set's i386 and mips64el
//! images). Many libraries keep their release as a lone NUL-terminated string (`\x006.3.0\x00`),
//! which no layout moves. For each product that has no `[[bare]]` regex yet, this step
//!
//! 1. reads every Debian release of the product ([`super::releases`], held-out pairs never read)
//!    and finds the release as a lone string in the product's own libraries;
//! 2. turns each into a candidate: the regex of the release's shape between NULs, read only in
//!    files whose name or SONAME starts with that library's prefix (as the detector reads a
//!    `[[bare]]`: a value only where exactly one value occurs in the file);
//! 3. keeps a candidate only if, in every release, every file it may read gives either nothing
//!    or exactly that release, and it reads the release at >= 2 distinct upstream releases
//!    ([`judge`]); a wrong value anywhere refuses it;
//! 4. writes it as `[[bare]]` (adding the prefix to `sonames`) with a positive test per release
//!    read, cut around the lone string, each with its origin, and checks them with the detector.
//!
//! The detector reads a `[[bare]]` regex only where no pattern gave a version, so the fallback
//! never overrides an anchored pattern.
//!
//! With `--any-lead` ([`Run::bare_any_lead`]) it revisits the products that have a `[[bare]]`
//! regex wanting a NUL before the release (`\x00(...)\x00`, `\x00v(...)\x00`): GCC for x86 and
//! MIPS often places the string right after a binary constant (`...\xef\x7f2.14\x00`), where
//! such a regex reads nothing. The lead becomes any non-printable byte (`[^\x20-\x7e]`), the rest
//! of the regex as it was, only where on every build of every release (held-out pairs never
//! read) the new form reads more builds right and every other build as before; the file's tests
//! must still pass, and a build now read gives a positive test whose excerpt the old form does not
//! read. The comment above the `[[bare]]` records the figures.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::releases::{self, PackageFile, Release};
use super::{
    ExistingSignature, Run, check_tests, excerpt_test, library_prefix, locate, signature_texts,
    write,
};
use crate::kb::products::Product;

/// As the detector: how many regex matches a bare search looks at.
const MAX_BARE_MATCHES: usize = 256;

/// What one bare candidate read across the releases.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Reading {
    /// Upstream release to (file index in its release, offset of the lone string).
    pub(crate) right: BTreeMap<String, (usize, usize)>,
    /// The first wrong reading: (release, file path, value).
    pub(crate) wrong: Option<(String, String, String)>,
}

/// True if `name` starts with `prefix` as the detector compares SONAME prefixes.
fn has_prefix(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('-'))
}

/// (product, SONAME) of every signature file but `own` (a file name).
fn other_sonames(own: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (file, text) in signature_texts()? {
        if file == own {
            continue;
        }
        let table: toml::Table = toml::from_str(&text).map_err(|err| format!("{file}: {err}"))?;
        let name = table
            .get("name")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        for soname in table
            .get("sonames")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
        {
            out.push((name.to_owned(), soname.to_owned()));
        }
    }
    Ok(out)
}

/// The single value `regex` reads in `data` as the detector's bare step does (`None` when it reads
/// none or several), with the offset of its first occurrence.
pub(crate) fn lone_value(regex: &regex::bytes::Regex, data: &[u8]) -> Option<(String, usize)> {
    let mut values: BTreeSet<&[u8]> = BTreeSet::new();
    let mut first = None;
    for captures in regex.captures_iter(data).take(MAX_BARE_MATCHES) {
        let Some(value) = captures.get(1) else {
            continue;
        };
        first.get_or_insert(value.start());
        values.insert(value.as_bytes());
    }
    let [value] = values.into_iter().collect::<Vec<_>>()[..] else {
        return None;
    };
    Some((String::from_utf8(value.to_vec()).ok()?, first?))
}

/// A bare regex for a release of exactly as many dotted parts as `version` (`6.3.0`:
/// `\x00(\d+\.\d+\.\d+)\x00`).
fn exact_shape(version: &str, lead: &str) -> String {
    let parts = version.split('.').count();
    let group = if parts <= 1 {
        r"\d+".to_owned()
    } else {
        format!(r"\d+(?:\.\d+){{{}}}", parts - 1)
    };
    format!(r"\x00{lead}({group})\x00")
}

/// The byte class a bare regex's lead becomes: any byte that is not printable ASCII.
const ANY_LEAD: &str = r"[^\x20-\x7e]";

/// A bare regex for a release of exactly as many dotted parts as `version` (at least three, so
/// that a stray byte before `1.2` in code is not read), after any non-printable byte.
fn any_lead_shape(version: &str) -> String {
    let parts = version.split('.').count();
    format!(
        r"{ANY_LEAD}(\d+(?:\.\d+){{{}}})\x00",
        parts.saturating_sub(1)
    )
}

/// `text` with `heldout = true` removed from the tests whose origin is a package of `suite`.
fn not_held_out(text: &str, suite: &str) -> String {
    let marker = format!("origin = \"Debian {suite} ");
    text.split_inclusive("\n[[")
        .map(|block| {
            if block.starts_with("test]]") && block.contains(&marker) {
                block.replace("\nheldout = true", "")
            } else {
                block.to_owned()
            }
        })
        .collect()
}

/// Runs one candidate (`regex` read in files named by `prefix`) over every release's files.
pub(crate) fn judge(
    regex: &regex::bytes::Regex,
    prefixes: &[&str],
    releases: &[(&str, &[PackageFile])],
) -> Reading {
    let mut reading = Reading::default();
    for (upstream, files) in releases {
        for (index, file) in files.iter().enumerate() {
            if !prefixes.iter().any(|p| has_prefix(file.file_name(), p)) {
                continue;
            }
            let Some((value, offset)) = lone_value(regex, &file.data) else {
                continue;
            };
            if locate::variants(upstream).contains(&value) {
                reading
                    .right
                    .entry((*upstream).to_owned())
                    .or_insert((index, offset));
            } else if reading.wrong.is_none() {
                reading.wrong = Some(((*upstream).to_owned(), file.path.clone(), value));
            }
        }
    }
    reading
}

impl Run<'_> {
    /// `cargo xtask kb bare`: a `[[bare]]` fallback proved on the product's releases.
    pub(super) fn bare(&mut self, product: &Product) -> Result<String, String> {
        let (path, file_name, text) = self.signature_file(product)?;
        let table: toml::Table = toml::from_str(&text).map_err(|err| err.to_string())?;
        if table.get("bare").is_some() {
            return Ok("has a [[bare]] regex already".to_owned());
        }
        let existing =
            ExistingSignature::parse(&text).map_err(|err| format!("{}: {err}", path.display()))?;
        let releases = releases::releases(&mut self.indices, product)?;
        releases::fetch(self.archive, &releases)?;
        let mut files_of: Vec<(&Release, Vec<PackageFile>)> = Vec::new();
        for release in &releases {
            files_of.push((release, self.release_files(release, false)?));
        }
        // Candidates: (regex, prefix) of every lone release string in a library.
        let mut candidates: Vec<(String, String)> = Vec::new();
        for (release, files) in &files_of {
            let spellings = locate::variants(&release.upstream);
            for occurrence in locate::find(files, &spellings) {
                let Some(file) = files.get(occurrence.file) else {
                    continue;
                };
                let Some(prefix) = library_prefix(file.file_name()) else {
                    continue;
                };
                // A release right after binary data (a table's last byte, not a NUL), as gmp's
                // and dav1d's builds place it on some architectures.
                let start = occurrence.offset;
                let end = start + occurrence.text.len();
                let after_binary = start
                    .checked_sub(1)
                    .and_then(|i| file.data.get(i))
                    .is_some_and(|b| !(0x20..0x7f).contains(b) && *b != 0)
                    && file.data.get(end) == Some(&0);
                if after_binary && occurrence.text.split('.').count() >= 3 {
                    candidates.push((any_lead_shape(&occurrence.text), prefix.clone()));
                }
                if let Some(candidate) = locate::bare_candidate(&file.data, &occurrence, &prefix) {
                    let lead = if candidate.regex.starts_with(r"\x00v") {
                        "v"
                    } else {
                        ""
                    };
                    candidates.push((candidate.regex, prefix.clone()));
                    // As many parts as this release has: a library that also holds a lone
                    // `2.4` beside its `6.3.0` still gives one value.
                    candidates.push((exact_shape(&occurrence.text, lead), prefix));
                }
            }
        }
        if candidates.is_empty() {
            return Ok("no lone release string in its libraries".to_owned());
        }
        // The exact shape first, so that it wins a tie (a stray `0.0.0.0` in another library of
        // the product on an architecture not read here cannot match it); a lead of any byte last.
        candidates.sort_by_key(|(regex, prefix)| {
            (
                regex.starts_with('['),
                regex.contains(",3}"),
                prefix.clone(),
            )
        });
        candidates.dedup();
        let by_release: Vec<(&str, &[PackageFile])> = files_of
            .iter()
            .map(|(release, files)| (release.upstream.as_str(), files.as_slice()))
            .collect();
        let existing_sonames: Vec<String> = table
            .get("sonames")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        let others = other_sonames(&file_name)?;
        let mut best: Option<(String, String, Reading)> = None;
        let mut refusals = Vec::new();
        for (text_regex, prefix) in candidates {
            // The prefix would also read another product's library: musl's `libc.so` is a prefix
            // of glibc's `libc.so.6`, whose lone strings are not musl's release.
            if let Some((other, soname)) = others
                .iter()
                .find(|(_, soname)| has_prefix(soname, &prefix))
            {
                refusals.push(format!("{prefix}* would also read {other}'s {soname}"));
                continue;
            }
            let Ok(regex) = regex::bytes::RegexBuilder::new(&text_regex)
                .unicode(false)
                .build()
            else {
                continue;
            };
            // The detector reads a [[bare]] in every file any of the signature's SONAME prefixes
            // names, not only the library it was found in: all of them are judged.
            let mut prefixes: Vec<&str> = existing_sonames.iter().map(String::as_str).collect();
            prefixes.push(&prefix);
            let reading = judge(&regex, &prefixes, &by_release);
            if let Some((upstream, file, value)) = &reading.wrong {
                refusals.push(format!(
                    "/{text_regex}/ in {prefix}* reads {value} in {file} of {upstream}"
                ));
                continue;
            }
            if reading.right.len() < 2 {
                refusals.push(format!(
                    "/{text_regex}/ in {prefix}* reads {} release(s) only",
                    reading.right.len()
                ));
                continue;
            }
            if best
                .as_ref()
                .is_none_or(|(_, _, b)| reading.right.len() > b.right.len())
            {
                best = Some((text_regex, prefix, reading));
            }
        }
        let Some((regex, prefix, reading)) = best else {
            return Ok(format!("no fallback: {}", refusals.join("; ")));
        };

        let mut sonames = existing_sonames.clone();
        if !sonames.contains(&prefix) {
            sonames.push(prefix.clone());
        }
        let quoted: Vec<String> = sonames.iter().map(|s| format!("\"{s}\"")).collect();
        // The regex is "cut" from a suite it reads: one the signature was cut from already, else
        // bookworm, else the first; tests from the other suites stay held out.
        let reads: Vec<&str> = files_of
            .iter()
            .filter(|(release, _)| reading.right.contains_key(&release.upstream))
            .map(|(release, _)| release.suite.as_str())
            .collect();
        let cut_suite = reads
            .iter()
            .find(|suite| existing.cut_from.iter().any(|c| c == *suite))
            .or_else(|| reads.iter().find(|suite| **suite == super::CUT_SUITE))
            .or_else(|| reads.first())
            .map(|suite| (*suite).to_owned());
        let mut cut_from = existing.cut_from.clone();
        if let Some(suite) = &cut_suite
            && !cut_from.contains(suite)
        {
            cut_from.push(suite.clone());
        }
        let mut keys = vec![("sonames", format!("[{}]", quoted.join(", ")))];
        if !cut_from.is_empty() {
            let quoted: Vec<String> = cut_from.iter().map(|s| format!("\"{s}\"")).collect();
            keys.push(("cut_from", format!("[{}]", quoted.join(", "))));
        }
        let mut updated = write::set_keys(&text, &keys);
        // Tests of a suite that joins cut_from are no longer held out.
        if let Some(suite) = &cut_suite
            && !existing.cut_from.contains(suite)
        {
            updated = not_held_out(&updated, suite);
        }
        let _ = write!(
            updated,
            "\n# A lone-release fallback (`cargo xtask kb bare`): read only where no pattern gave a release,\n# in files named {prefix}*, where exactly one such string occurs; right at {}, wrong nowhere.\n[[bare]]\nregex = '{regex}'\n",
            reading.right.keys().cloned().collect::<Vec<_>>().join(", ")
        );
        let catalog = self.catalog_with(
            &file_name,
            Some(&format!("{updated}{}", super::PLACEHOLDER_TEST)),
        )?;
        let mut tests = Vec::new();
        let mut done: BTreeSet<&str> = BTreeSet::new();
        for (release, files) in &files_of {
            let Some(&(index, offset)) = reading.right.get(&release.upstream) else {
                continue;
            };
            if !done.insert(release.upstream.as_str()) {
                continue;
            }
            let Some(file) = files.get(index) else {
                continue;
            };
            let heldout = !cut_from.contains(&release.suite);
            if let Some(test) = excerpt_test(
                &catalog,
                product,
                release,
                file,
                offset,
                &release.upstream,
                heldout,
            ) {
                tests.push(test);
            }
        }
        if tests.len() < 2 {
            return Ok(format!(
                "no fallback: only {} excerpt(s) alone give the release",
                tests.len()
            ));
        }
        for test in &tests {
            updated.push_str(&test.render());
        }
        let catalog = self.catalog_with(&file_name, Some(&updated))?;
        check_tests(&catalog, &product.name, &tests)?;
        self.save(&path, file_name, updated)?;
        Ok(format!(
            "[[bare]] /{regex}/ in {prefix}*: {} tests ({})",
            tests.len(),
            reading.right.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    }
}

/// `text` with every `[[bare]]` regex that wants a NUL before the release (`\x00(`, `\x00v(`)
/// starting with [`ANY_LEAD`] instead, the rest of each regex as it was, and `comment` (lines
/// without their `# `) above each `[[bare]]` switched; `None` when there is none to switch.
fn with_any_lead(text: &str, comment: &str) -> Option<String> {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
    let mut header = None;
    let mut switched = Vec::new();
    for (at, line) in lines.iter_mut().enumerate() {
        if line.starts_with('[') {
            header = (line.trim_end() == "[[bare]]").then_some(at);
            continue;
        }
        let Some(bare) = header else {
            continue;
        };
        if let Some(rest) = line.strip_prefix(r"regex = '\x00")
            && (rest.starts_with('(') || rest.starts_with("v("))
        {
            *line = format!("regex = '{ANY_LEAD}{rest}");
            switched.push(bare);
        }
    }
    if switched.is_empty() {
        return None;
    }
    let comment = comment.lines().fold(String::new(), |mut out, line| {
        let _ = writeln!(out, "# {line}");
        out
    });
    for at in switched.into_iter().rev() {
        if let Some(line) = lines.get_mut(at) {
            line.insert_str(0, &comment);
        }
    }
    Some(lines.concat())
}

/// `text` as lines of at most 98 characters (a word longer than that on a line of its own),
/// for a comment with `# ` before each.
fn wrap(text: &str) -> String {
    let mut out = String::new();
    let mut line_len = 0;
    for word in text.split_whitespace() {
        if line_len > 0 && line_len + 1 + word.len() > 98 {
            out.push('\n');
            line_len = 0;
        } else if line_len > 0 {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += word.len();
    }
    out
}

/// The `[[test]]` tables of a signature text, as test cases.
fn file_tests(text: &str) -> Result<Vec<write::TestCase>, String> {
    let table: toml::Table = toml::from_str(text).map_err(|err| err.to_string())?;
    let mut out = Vec::new();
    for test in table
        .get("test")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
        .filter_map(toml::Value::as_table)
    {
        let text_of = |key: &str| test.get(key).and_then(|v| v.as_str()).map(str::to_owned);
        let excerpt = text_of("excerpt").unwrap_or_default();
        out.push(write::TestCase {
            positive: text_of("expect").as_deref() == Some("positive"),
            excerpt: consign_detect::unescape(&excerpt)
                .map_err(|at| format!("test excerpt: bad escape at {at}"))?,
            version: text_of("version"),
            file: text_of("file"),
            origin: text_of("origin").unwrap_or_default(),
            heldout: false,
        });
    }
    Ok(out)
}

/// One build as an old and a new catalog read it: the product's versions and the verdict.
struct Compared {
    key: String,
    upstream: String,
    before: (&'static str, BTreeSet<String>),
    after: (&'static str, BTreeSet<String>),
}

impl Compared {
    /// A build the old form did not read and the new reads right.
    fn gained(&self) -> bool {
        self.after.0 == "right" && matches!(self.before.0, "missed" | "not stated")
    }

    fn describe(&self) -> String {
        let show = |(verdict, versions): &(&str, BTreeSet<String>)| {
            if versions.is_empty() {
                (*verdict).to_owned()
            } else {
                format!(
                    "{verdict} [{}]",
                    versions.iter().cloned().collect::<Vec<_>>().join(",")
                )
            }
        };
        format!(
            "{} {}: {} -> {}",
            self.key,
            self.upstream,
            show(&self.before),
            show(&self.after)
        )
    }
}

impl Run<'_> {
    /// `cargo xtask kb bare --any-lead`: each `[[bare]]` regex that wants a NUL before the
    /// release, read after any non-printable byte instead (GCC for x86 and MIPS may place the
    /// string right after a binary constant: `...\xef\x7f2.14\x00`), where on every build of
    /// every release (as `check --all-arches` reads them) it reads more builds right and no build
    /// other than as before or right; every test of the file must still pass, and a build now
    /// read gives a positive test.
    pub(super) fn bare_any_lead(&mut self, product: &Product) -> Result<String, String> {
        let (path, file_name, text) = self.signature_file(product)?;
        let Some(candidate) = with_any_lead(&text, "") else {
            return Ok("no [[bare]] regex with a NUL before the release".to_owned());
        };
        let existing =
            ExistingSignature::parse(&text).map_err(|err| format!("{}: {err}", path.display()))?;
        let releases = self.releases(product)?;
        let releases = self.fetched(releases)?;
        let old = self.catalog_with(&file_name, Some(&text))?;
        let new = self.catalog_with(&file_name, Some(&candidate))?;
        let mut compared = Vec::new();
        // (release, file, offset) of a reading in a gained build that the old form did not make.
        let mut gained: Vec<(&Release, PackageFile, usize)> = Vec::new();
        for release in &releases {
            let files = self.release_files(release, false)?;
            let before = super::found_in(&old, &product.name, &files);
            let after = super::found_in(&new, &product.name, &files);
            let versions = |found: &super::Found| -> BTreeSet<String> {
                found.versioned.iter().map(|(v, _, _)| v.clone()).collect()
            };
            let (before_versions, after_versions) = (versions(&before), versions(&after));
            let row = Compared {
                key: release.key(),
                upstream: release.upstream.clone(),
                before: (
                    super::verdict(&before_versions, release, &files),
                    before_versions,
                ),
                after: (
                    super::verdict(&after_versions, release, &files),
                    after_versions,
                ),
            };
            if row.gained()
                && let Some((index, offset)) = after
                    .versioned
                    .iter()
                    .filter(|(v, _, _)| super::same_release(v, &release.upstream))
                    .find_map(|(_, index, offset)| {
                        Some((*index, usize::try_from((*offset)?).ok()?))
                    })
                && let Some(file) = files.get(index)
            {
                gained.push((release, file.clone(), offset));
            }
            compared.push(row);
        }
        let count = |after: bool, verdict: &str| {
            compared
                .iter()
                .filter(|c| if after { c.after.0 } else { c.before.0 } == verdict)
                .count()
        };
        let tally = ["right", "missed", "wrong", "right+other"]
            .map(|verdict| {
                format!(
                    "{verdict} {} -> {}",
                    count(false, verdict),
                    count(true, verdict)
                )
            })
            .join(", ");
        let figures = format!("{} builds: {tally}", compared.len());
        let worse: Vec<String> = compared
            .iter()
            .filter(|c| c.before != c.after && !c.gained())
            .map(Compared::describe)
            .collect();
        if !worse.is_empty() {
            return Ok(format!(
                "kept: {figures}; read otherwise: {}",
                worse.join("; ")
            ));
        }
        let gained_keys: Vec<String> = compared
            .iter()
            .filter(|c| c.gained())
            .map(|c| format!("{} {}", c.key, c.upstream))
            .collect();
        if gained_keys.is_empty() {
            return Ok(format!("kept: no build gained ({figures})"));
        }
        // The figures on a line of their own, so that no `a -> b` is broken.
        let comment = format!(
            "{}\n{tally}.\n{}",
            wrap(
                "After any non-printable byte, not only a NUL (`cargo xtask kb bare --any-lead`): compilers may place the release right after binary data (a constant, a table's last byte). Every build of every release, as `kb check --all-arches` reads them:"
            ),
            wrap(&format!("Now read: {}.", gained_keys.join(", ")))
        );
        let mut updated = with_any_lead(&text, &comment).unwrap_or_default();
        let new = self.catalog_with(&file_name, Some(&updated))?;
        // A test from a build now read, which the old form does not read in the excerpt alone:
        // from a suite the signature was cut from when there is one.
        gained.sort_by_key(|(release, _, _)| !super::is_cut(&existing.cut_from, release));
        let test = gained.iter().find_map(|(release, file, offset)| {
            let heldout = !super::is_cut(&existing.cut_from, release);
            let test = excerpt_test(
                &new,
                product,
                release,
                file,
                *offset,
                &release.upstream,
                heldout,
            )?;
            check_tests(&old, &product.name, std::slice::from_ref(&test))
                .is_err()
                .then_some(test)
        });
        let Some(test) = test else {
            return Ok(format!(
                "kept: no excerpt of a build now read gives the release alone ({figures})"
            ));
        };
        updated.push_str(&test.render());
        let catalog = self.catalog_with(&file_name, Some(&updated))?;
        let mut tests = file_tests(&updated)?;
        tests.push(test.clone());
        check_tests(&catalog, &product.name, &tests)?;
        self.save(&path, file_name, updated)?;
        Ok(format!(
            "switched: {figures}; now read: {}; test from {}",
            gained_keys.join(", "),
            test.origin
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, data: &[u8]) -> PackageFile {
        PackageFile::for_test("gmp", "2:6.3.0+dfsg-3", path, data)
    }

    fn regex(text: &str) -> regex::bytes::Regex {
        regex::bytes::RegexBuilder::new(text)
            .unicode(false)
            .build()
            .unwrap()
    }

    #[test]
    fn a_lone_release_at_two_releases_is_right_and_another_value_is_wrong() {
        let r = regex(r"\x00(\d+(?:\.\d+){1,3})\x00");
        let old = [file("usr/lib/x/libgmp.so.10.4.1", b"a\x006.2.1\x00b")];
        let new = [
            file("usr/lib/x/libgmp.so.10.5.0", b"GNU MP\x006.3.0\x00-0.%se"),
            file("usr/bin/other", b"\x009.9\x00"),
        ];
        let reading = judge(&r, &["libgmp.so"], &[("6.2.1", &old), ("6.3.0", &new)]);
        assert_eq!(reading.right.len(), 2);
        assert_eq!(reading.wrong, None);
        // A release the lone string does not state is a wrong reading.
        let reading = judge(&r, &["libgmp.so"], &[("6.2.2", &old)]);
        assert_eq!(
            reading.wrong,
            Some((
                "6.2.2".to_owned(),
                "usr/lib/x/libgmp.so.10.4.1".to_owned(),
                "6.2.1".to_owned()
            ))
        );
    }

    #[test]
    fn an_exact_shape_passes_over_a_shorter_lone_number() {
        let shape = exact_shape("6.3.0", "");
        assert_eq!(shape, r"\x00(\d+(?:\.\d+){2})\x00");
        assert_eq!(
            lone_value(&regex(&shape), b"\x002.4\x00\x006.3.0\x00"),
            Some(("6.3.0".to_owned(), 6))
        );
        let shape = exact_shape("1.15.0", "v");
        assert_eq!(
            lone_value(&regex(&shape), b"\x00v1.15.0\x00<invalid interface>"),
            Some(("1.15.0".to_owned(), 2))
        );
    }

    #[test]
    fn a_release_after_binary_data_is_read_with_any_lead() {
        // gmp 6.2.1 (Debian bookworm armhf) follows a table's last byte, 0xff.
        let shape = any_lead_shape("6.2.1");
        assert_eq!(shape, r"[^\x20-\x7e](\d+(?:\.\d+){2})\x00");
        assert_eq!(
            lone_value(&regex(&shape), b"U\xff6.2.1\x00\x00\x000123456789ABCDEF"),
            Some(("6.2.1".to_owned(), 2))
        );
        assert_eq!(lone_value(&regex(&shape), b"x6.2.1\x00"), None);
    }

    #[test]
    fn a_nul_lead_becomes_any_non_printable_byte_and_the_rest_stays() {
        let text = "name = \"x\"\n\n[[pattern]]\nanchor = 'a'\nregex = '\\x00(\\d+)\\x00'\n\n# Why.\n[[bare]]\nregex = '\\x00v(\\d+(?:\\.\\d+){2})\\x00'\n\n[[bare]]\nregex = '[^0-9.](1\\.\\d)\\x00'\n";
        let out = with_any_lead(text, "Read after\nany byte.").unwrap();
        assert_eq!(
            out,
            "name = \"x\"\n\n[[pattern]]\nanchor = 'a'\nregex = '\\x00(\\d+)\\x00'\n\n# Why.\n# Read after\n# any byte.\n[[bare]]\nregex = '[^\\x20-\\x7e]v(\\d+(?:\\.\\d+){2})\\x00'\n\n[[bare]]\nregex = '[^0-9.](1\\.\\d)\\x00'\n"
        );
        // Nothing to switch: a pattern's NUL lead is not a bare regex's.
        assert_eq!(with_any_lead(&out, ""), None);
        let comment = wrap(&"word ".repeat(40));
        assert!(comment.lines().all(|line| line.len() <= 98));
        assert_eq!(comment.lines().count(), 3);
    }

    #[test]
    fn a_suite_that_joins_cut_from_has_no_held_out_tests() {
        let text = "name = \"x\"\n\n[[test]]\norigin = \"Debian trixie x 1-1 (arm64), f, offset 0\"\nheldout = true\n\n[[test]]\norigin = \"Debian sid x 2-1 (riscv64), f, offset 0\"\nheldout = true\n";
        let out = not_held_out(text, "trixie");
        assert_eq!(out.matches("heldout = true").count(), 1);
        assert!(out.contains("sid x 2-1 (riscv64), f, offset 0\"\nheldout = true"));
    }

    #[test]
    fn two_values_read_nothing_as_in_the_detector() {
        let r = regex(r"\x00(\d+(?:\.\d+){1,3})\x00");
        assert_eq!(lone_value(&r, b"\x002.4\x00\x005.9\x00"), None);
        assert_eq!(
            lone_value(&r, b"x\x005.9\x00y\x005.9\x00"),
            Some(("5.9".to_owned(), 2))
        );
        let files = [file("usr/lib/libsnmp.so.40", b"\x002.4\x00\x005.9\x00")];
        let reading = judge(&r, &["libsnmp.so"], &[("5.9", &files)]);
        assert_eq!(reading, Reading::default());
    }
}
