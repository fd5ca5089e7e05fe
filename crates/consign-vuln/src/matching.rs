//! Which records apply to which components: NVD configurations by CPE, OSV ranges by package.
//!
//! # NVD
//!
//! A configuration is evaluated against the whole SBOM, in three-valued logic (yes, maybe, no):
//! a CPE criteria holds when some component's CPE is admitted ([`Cpe::admits_product`]) and its
//! release is in the criteria's range (`versionStart/End` `Including/Excluding`) or equal to the
//! criteria's own version and update. A component whose release is unknown gives "maybe", never
//! "yes". Nodes join criteria with AND or OR and may be negated; configurations join nodes the
//! same way. Criteria marked `"vulnerable": false` are platforms: they must hold (an application
//! CVE that needs a given OS applies only when that OS is in the SBOM) but a component matching
//! only them is never reported. When a configuration holds, each component that matched one of
//! its vulnerable criteria is a [`Finding`], with the criteria and range as evidence.
//!
//! # OSV
//!
//! An affected package applies to a component with the same package URL, the same ecosystem and
//! name (`pkg:deb/...` is `Debian`, `pkg:pypi/...` is `PyPI`, ...), or, for the C and C++
//! projects OSS-Fuzz covers, the same project name (`hostap` for hostapd and `wpa_supplicant`).
//! The component is affected when its release is in the `versions` list (tags such as
//! `curl-7_57_0` or `OpenSSL_1_1_1-pre1` are read as releases) or inside a SEMVER or ECOSYSTEM
//! range (`introduced`, `fixed`, `last_affected`). A GIT range orders commits, which only the
//! repository knows: it decides only when the component's own commit (from `git describe`) is
//! one of the range's events; otherwise the `versions` list decides, and a component with a
//! commit that no list names is "maybe".

use std::cmp::Ordering;
use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::cpe::Cpe;
use crate::epss::EpssScore;
use crate::kev::KevEntry;
use crate::purl::Purl;
use crate::record::{
    Advisory, Affected, Applicability, Configuration, CpeMatch, Event, Operator, Origin, Range,
    RangeKind, Rating, is_cve_id, osv_key,
};
use crate::version::Version;

/// A component to match, as an SBOM describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The component's `bom-ref` (evidence: which component matched).
    pub bom_ref: String,
    /// Its name.
    pub name: String,
    /// Its release; `None` when unknown (no `version`, or a file date standing in for one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Its CPE 2.3 (or 2.2) name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpe: Option<String>,
    /// Its package URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// SHA-256 and SHA-512 digests of its files, lower-case hex (VEX products may name them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<String>,
}

/// OSS-Fuzz project names that differ from the component names consign and NVD use.
const OSS_FUZZ_PROJECTS: &[(&str, &str)] = &[
    ("hostapd", "hostap"),
    ("wpa_supplicant", "hostap"),
    ("libcurl", "curl"),
    ("mbed_tls", "mbedtls"),
    ("libexpat", "expat"),
    ("sqlite", "sqlite3"),
    ("linux_kernel", "linux"),
];

/// OSV ecosystems by package URL type.
const ECOSYSTEMS: &[(&str, &str)] = &[
    ("deb", "debian"),
    ("apk", "alpine"),
    ("pypi", "pypi"),
    ("npm", "npm"),
    ("cargo", "crates.io"),
    ("golang", "go"),
    ("maven", "maven"),
    ("gem", "rubygems"),
    ("nuget", "nuget"),
    ("composer", "packagist"),
    ("hex", "hex"),
    ("pub", "pub"),
    ("swift", "swifturl"),
];

impl Target {
    /// The CPE, parsed, when it is one.
    pub fn parsed_cpe(&self) -> Option<Cpe> {
        Cpe::parse(self.cpe.as_deref()?).ok()
    }

    /// The package URL, parsed, when it is one.
    pub fn parsed_purl(&self) -> Option<Purl> {
        Purl::parse(self.purl.as_deref()?).ok()
    }

    /// The release to compare (`None` when unknown or not a version at all).
    pub fn release(&self) -> Option<Version> {
        Version::parse(self.version.as_deref()?)
    }

    /// The keys under which records for this component are stored (see [`Advisory::keys`]).
    pub fn keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        if let Some(cpe) = self.parsed_cpe() {
            let names = std::iter::once(cpe.clone()).chain(cpe.other_names());
            keys.extend(names.filter_map(|cpe| Some(format!("cpe:{}", cpe.vendor_product()?))));
        }
        if let Some(purl) = self.parsed_purl() {
            keys.push(format!("purl:{}", purl.package()));
            for name in osv_names(&purl, &self.name) {
                keys.push(name);
            }
        }
        keys.sort();
        keys.dedup();
        keys
    }

    /// True when the component can be matched at all (it has a CPE or a package URL).
    pub fn is_matchable(&self) -> bool {
        self.parsed_cpe().is_some() || self.parsed_purl().is_some()
    }
}

/// The OSV keys a package URL can be found under.
fn osv_names(purl: &Purl, component_name: &str) -> Vec<String> {
    if let Some((_, ecosystem)) = ECOSYSTEMS.iter().find(|(kind, _)| *kind == purl.kind) {
        let name = match (&purl.namespace, purl.kind.as_str()) {
            (Some(ns), "maven") => format!("{ns}:{}", purl.name),
            (Some(ns), "npm" | "golang" | "composer" | "swift") => format!("{ns}/{}", purl.name),
            _ => purl.name.clone(),
        };
        return vec![osv_key(ecosystem, &name)];
    }
    // C and C++ projects: OSS-Fuzz's project names.
    let mut out = Vec::new();
    for name in [purl.name.as_str(), component_name] {
        let lower = name.to_ascii_lowercase();
        let project = OSS_FUZZ_PROJECTS
            .iter()
            .find(|(component, _)| *component == lower)
            .map_or(lower.as_str(), |(_, project)| project);
        out.push(osv_key("OSS-Fuzz", project));
    }
    out
}

/// How sure a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Certainty {
    /// The component's release is unknown (or cannot be ordered against the range): it may be
    /// affected. Reported apart, never counted as affected.
    Unknown,
    /// The component's release is in the record's range.
    Affected,
}

/// Three-valued truth.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Tri {
    No,
    Maybe,
    Yes,
}

impl Tri {
    fn not(self) -> Self {
        match self {
            Self::No => Self::Yes,
            Self::Maybe => Self::Maybe,
            Self::Yes => Self::No,
        }
    }

    fn join(op: Operator, values: impl Iterator<Item = Tri>) -> Tri {
        match op {
            Operator::And => values.min().unwrap_or(Tri::No),
            Operator::Or => values.max().unwrap_or(Tri::No),
        }
    }
}

/// Which record, which range and which component: one vulnerability affecting one component.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The vulnerability: the CVE id when there is one, else the record's id.
    pub id: String,
    /// The other ids (the OSV id of a CVE, an OSV record's aliases).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// The component's bom-ref.
    pub bom_ref: String,
    /// The component's name.
    pub component: String,
    /// The component's release, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Affected, or unknown.
    pub certainty: Certainty,
    /// The records that say so (`NVD CVE-2014-0160`, `OSV OSV-2021-777`).
    pub records: Vec<RecordRef>,
    /// The range that matched, in words (criteria and bounds, or OSV range and events).
    pub range: String,
    /// `cpe` or `purl`: which identifier of the component matched.
    pub matched_by: String,
    /// The first release outside the range, when the record says (`update to 0.9.8h or later`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// The rating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<Rating>,
    /// The record's summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Publication date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// CISA KEV: exploited in the wild.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kev: Option<KevEntry>,
    /// FIRST EPSS score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epss: Option<EpssScore>,
}

/// A record a finding rests on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecordRef {
    /// `nvd` or `osv`.
    pub origin: Origin,
    /// The record's id.
    pub id: String,
    /// Its last modification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
}

/// What the database knows that is relevant to a set of components.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Knowledge {
    /// Candidate records (found under the components' keys).
    pub advisories: Vec<Advisory>,
    /// KEV entries by CVE id.
    pub kev: BTreeMap<String, KevEntry>,
    /// EPSS scores by CVE id.
    pub epss: BTreeMap<String, EpssScore>,
}

/// A component's release, ready to compare, or why it is not.
struct Release<'a> {
    version: Option<Version>,
    target: &'a Target,
}

/// The first release outside a criteria's range.
fn nvd_fix(criteria: &CpeMatch) -> Option<String> {
    if let Some(v) = &criteria.version_end_excluding {
        Some(format!("update to {v} or later"))
    } else {
        criteria
            .version_end_including
            .as_ref()
            .map(|v| format!("update to a release after {v}"))
    }
}

/// A bound (absent, unreadable, or a version) and the order a release must have to it.
type Bound = (Option<Option<Version>>, fn(Ordering) -> bool);

/// Whether a release lies in a criteria's range (or equals its version).
fn in_criteria(cpe: &Cpe, criteria: &CpeMatch, release: Option<&Version>) -> Tri {
    let bound = |text: &Option<String>| text.as_deref().map(Version::parse);
    if let Some(exact) = cpe.version_text() {
        // `cpe:...:openssl:1.0.2:beta1:...`: the criteria names one release.
        let Some(release) = release else {
            return Tri::Maybe;
        };
        return match Version::parse(&exact) {
            Some(exact) if exact == *release => Tri::Yes,
            Some(_) => Tri::No,
            None => Tri::Maybe,
        };
    }
    if cpe.version == crate::cpe::Value::Na {
        // NA: the product has no versions; a versioned component is not it.
        return if release.is_some() {
            Tri::No
        } else {
            Tri::Maybe
        };
    }
    let Some(release) = release else {
        return Tri::Maybe;
    };
    let checks: [Bound; 4] = [
        (bound(&criteria.version_start_including), Ordering::is_ge),
        (bound(&criteria.version_start_excluding), Ordering::is_gt),
        (bound(&criteria.version_end_including), Ordering::is_le),
        (bound(&criteria.version_end_excluding), Ordering::is_lt),
    ];
    let mut result = Tri::Yes;
    for (bound, ok) in checks {
        match bound {
            Some(None) => result = result.min(Tri::Maybe),
            Some(Some(bound)) if !ok(release.cmp(&bound)) => return Tri::No,
            None | Some(Some(_)) => {}
        }
    }
    result
}

/// The components with a CPE, indexed by `vendor:product` so that a criteria is compared only
/// with the components it can name (a 1,000-component SBOM against the kernel's records would
/// otherwise cost millions of comparisons).
struct CpeTargets<'a> {
    targets: Vec<(Cpe, Release<'a>)>,
    by_product: std::collections::HashMap<String, Vec<usize>>,
    /// Components whose CPE leaves vendor or product open: any criteria may name them.
    open: Vec<usize>,
}

impl<'a> CpeTargets<'a> {
    fn new(targets: &'a [Target]) -> Self {
        let mut out = Self {
            targets: Vec::new(),
            by_product: std::collections::HashMap::new(),
            open: Vec::new(),
        };
        for target in targets {
            let Some(cpe) = target.parsed_cpe() else {
                continue;
            };
            // A product NVD files under two names is a target under each; `merge` keeps one
            // finding per record and component.
            let others = cpe.other_names();
            for cpe in std::iter::once(cpe).chain(others) {
                let idx = out.targets.len();
                match cpe.vendor_product() {
                    Some(key) => out.by_product.entry(key).or_default().push(idx),
                    None => out.open.push(idx),
                }
                out.targets.push((
                    cpe,
                    Release {
                        version: target.release(),
                        target,
                    },
                ));
            }
        }
        out
    }
}

/// One criteria against the components it can name: `(component, yes or maybe)`.
fn criteria_hits(criteria: &CpeMatch, targets: &CpeTargets<'_>) -> Vec<(usize, Tri)> {
    let Ok(cpe) = Cpe::parse(&criteria.criteria) else {
        return Vec::new();
    };
    let exact = cpe.vendor_product().filter(|key| !key.contains('*'));
    let candidates: Vec<usize> = match &exact {
        Some(key) => targets
            .by_product
            .get(key)
            .into_iter()
            .flatten()
            .chain(&targets.open)
            .copied()
            .collect(),
        None => (0..targets.targets.len()).collect(),
    };
    candidates
        .into_iter()
        .filter_map(|idx| {
            let (target_cpe, release) = &targets.targets[idx];
            if !cpe.admits_product(target_cpe) {
                return None;
            }
            let hit = in_criteria(&cpe, criteria, release.version.as_ref());
            (hit != Tri::No).then_some((idx, hit))
        })
        .collect()
}

fn evaluate_nvd(
    advisory: &Advisory,
    configurations: &[Configuration],
    targets: &CpeTargets<'_>,
    out: &mut Vec<Finding>,
) {
    for configuration in configurations {
        // hits[node][criteria] = the components each criteria names.
        let hits: Vec<Vec<Vec<(usize, Tri)>>> = configuration
            .nodes
            .iter()
            .map(|node| {
                node.cpe_match
                    .iter()
                    .map(|criteria| criteria_hits(criteria, targets))
                    .collect()
            })
            .collect();
        let node_values = configuration.nodes.iter().zip(&hits).map(|(node, hits)| {
            let value = Tri::join(
                node.operator,
                hits.iter().map(|per_target| {
                    per_target
                        .iter()
                        .map(|(_, hit)| *hit)
                        .max()
                        .unwrap_or(Tri::No)
                }),
            );
            if node.negate { value.not() } else { value }
        });
        let mut value = Tri::join(configuration.operator, node_values);
        if configuration.negate {
            value = value.not();
        }
        if value == Tri::No {
            continue;
        }
        for (node, node_hits) in configuration.nodes.iter().zip(&hits) {
            if node.negate {
                continue;
            }
            for (criteria, per_target) in node.cpe_match.iter().zip(node_hits) {
                if !criteria.vulnerable {
                    continue;
                }
                for (idx, hit) in per_target {
                    let certainty = if value.min(*hit) == Tri::Yes {
                        Certainty::Affected
                    } else {
                        Certainty::Unknown
                    };
                    out.push(finding(
                        advisory,
                        targets.targets[*idx].1.target,
                        certainty,
                        criteria.describe(),
                        "cpe",
                        nvd_fix(criteria),
                    ));
                }
            }
        }
    }
}

fn finding(
    advisory: &Advisory,
    target: &Target,
    certainty: Certainty,
    range: String,
    matched_by: &str,
    fix: Option<String>,
) -> Finding {
    let id = advisory.cve().unwrap_or(&advisory.id).to_owned();
    let mut aliases: Vec<String> = advisory
        .ids()
        .filter(|other| *other != id)
        .map(str::to_owned)
        .collect();
    aliases.sort();
    aliases.dedup();
    Finding {
        id,
        aliases,
        bom_ref: target.bom_ref.clone(),
        component: target.name.clone(),
        version: target.version.clone(),
        certainty,
        records: vec![RecordRef {
            origin: advisory.origin,
            id: advisory.id.clone(),
            modified: advisory.modified.clone(),
        }],
        range,
        matched_by: matched_by.to_owned(),
        fix,
        rating: advisory.rating.clone(),
        summary: advisory.summary.clone(),
        published: advisory.published.clone(),
        kev: None,
        epss: None,
    }
}

/// A release named by a repository tag: `curl-7_57_0` is 7.57.0, `OpenSSL_1_1_1-pre1` is
/// 1.1.1-pre1, `v2.87rc1` is 2.87rc1, `pcre2-10.45-RC1` is 10.45-rc1.
pub fn tag_release(tag: &str, package: &str) -> Option<Version> {
    let lower = tag.to_ascii_lowercase();
    if lower.starts_with("cve-") {
        return None;
    }
    let package = package.to_ascii_lowercase();
    let rest = lower
        .strip_prefix(&package)
        .and_then(|r| r.strip_prefix(['-', '_']))
        .unwrap_or(&lower);
    // Another project prefix (`openssl_`, `hostap_`, `libpcap-`): letters, then `-` or `_`.
    let rest = match rest.find(|c: char| !c.is_ascii_alphabetic()) {
        Some(idx) if idx > 1 && rest[idx..].starts_with(['-', '_']) => &rest[idx + 1..],
        _ => rest,
    };
    Version::parse(rest)
}

/// Whether a release lies in a SEMVER or ECOSYSTEM range.
fn in_ordered_range(range: &Range, release: &Version) -> (Tri, Option<String>) {
    let semver_of = |text: &str| semver::Version::parse(text.trim_start_matches('v')).ok();
    let compare = |a: &Version, b: &str| -> Option<Ordering> {
        if range.kind == RangeKind::Semver
            && let (Some(a), Some(b)) = (semver_of(a.as_str()), semver_of(b))
        {
            return Some(a.cmp_precedence(&b));
        }
        Some(a.cmp(&Version::parse(b)?))
    };
    let mut affected = Tri::No;
    let mut fix = None;
    // Events in the order OSV defines: by version, `introduced: 0` first.
    let mut events: Vec<&Event> = range.events.iter().collect();
    events.sort_by(|a, b| match (a.value(), b.value()) {
        ("0", "0") => Ordering::Equal,
        ("0", _) => Ordering::Less,
        (_, "0") => Ordering::Greater,
        (x, y) => crate::version::compare(x, y).unwrap_or(Ordering::Equal),
    });
    for event in events {
        match event {
            Event::Introduced(v) => {
                if v == "0" {
                    affected = Tri::Yes;
                } else {
                    match compare(release, v) {
                        Some(ord) if ord.is_ge() => affected = Tri::Yes,
                        Some(_) => {}
                        None => affected = affected.max(Tri::Maybe),
                    }
                }
            }
            Event::Fixed(v) => match compare(release, v) {
                Some(ord) if ord.is_ge() => affected = Tri::No,
                Some(_) => {
                    if affected != Tri::No && fix.is_none() {
                        fix = Some(format!("update to {v} or later"));
                    }
                }
                None => affected = affected.min(Tri::Maybe),
            },
            Event::LastAffected(v) => match compare(release, v) {
                Some(ord) if ord.is_gt() => affected = Tri::No,
                Some(_) => {
                    if affected != Tri::No && fix.is_none() {
                        fix = Some(format!("update to a release after {v}"));
                    }
                }
                None => affected = affected.min(Tri::Maybe),
            },
            Event::Limit(_) => {}
        }
    }
    (affected, if affected == Tri::No { None } else { fix })
}

/// A GIT range against a known commit (abbreviated hashes match by prefix).
fn in_git_range(range: &Range, commit: &str) -> Tri {
    let commit = commit.to_ascii_lowercase();
    let same = |value: &str| value.to_ascii_lowercase().starts_with(&commit) && commit.len() >= 7;
    for event in &range.events {
        match event {
            Event::Introduced(v) | Event::LastAffected(v) if same(v) => return Tri::Yes,
            Event::Fixed(v) | Event::Limit(v) if same(v) => return Tri::No,
            _ => {}
        }
    }
    Tri::Maybe
}

fn package_applies(package: &Affected, target: &Target, target_keys: &[String]) -> bool {
    if let (Some(theirs), Some(ours)) = (
        package.purl.as_deref().and_then(|p| Purl::parse(p).ok()),
        target.parsed_purl(),
    ) && theirs.same_package(&ours)
    {
        return true;
    }
    let key = osv_key(&package.ecosystem, &package.name);
    target_keys.contains(&key)
}

fn evaluate_osv(
    advisory: &Advisory,
    affected: &[Affected],
    target: &Target,
    target_keys: &[String],
    out: &mut Vec<Finding>,
) {
    let release = target.release();
    for package in affected {
        if !package_applies(package, target, target_keys) {
            continue;
        }
        let Some(release) = &release else {
            out.push(finding(
                advisory,
                target,
                Certainty::Unknown,
                format!("{} `{}`, release unknown", package.ecosystem, package.name),
                "purl",
                None,
            ));
            continue;
        };
        if let Some(listed) = package
            .versions
            .iter()
            .find(|tag| tag_release(tag, &package.name).is_some_and(|listed| listed == *release))
        {
            out.push(finding(
                advisory,
                target,
                Certainty::Affected,
                format!(
                    "{} `{}` lists version `{listed}`",
                    package.ecosystem, package.name
                ),
                "purl",
                None,
            ));
            continue;
        }
        let mut best: Option<(Tri, String, Option<String>)> = None;
        for range in &package.ranges {
            let (value, fix) = match range.kind {
                RangeKind::Git => match release.commit() {
                    Some(commit) => (in_git_range(range, commit), None),
                    // The listed versions (checked above) are the releases inside the range.
                    None => (Tri::No, None),
                },
                RangeKind::Semver | RangeKind::Ecosystem => in_ordered_range(range, release),
            };
            if value > best.as_ref().map_or(Tri::No, |b| b.0) {
                best = Some((value, range.describe(), fix));
            }
        }
        if let Some((value, range, fix)) = best {
            out.push(finding(
                advisory,
                target,
                if value == Tri::Yes {
                    Certainty::Affected
                } else {
                    Certainty::Unknown
                },
                format!("{} `{}` {range}", package.ecosystem, package.name),
                "purl",
                fix,
            ));
        }
    }
}

/// Matches every target against the candidate records; one finding per vulnerability and
/// component (an NVD record and an OSV record naming the same CVE merge into one, NVD's range
/// first), sorted by component then id, with KEV and EPSS attached.
pub fn evaluate(targets: &[Target], knowledge: &Knowledge) -> Vec<Finding> {
    let cpe_targets = CpeTargets::new(targets);
    let target_keys: Vec<Vec<String>> = targets.iter().map(Target::keys).collect();
    // Records are independent: evaluated on every core, in order.
    let raw: Vec<Finding> = knowledge
        .advisories
        .par_iter()
        .flat_map_iter(|advisory| {
            let mut found = Vec::new();
            if advisory.withdrawn {
                return found;
            }
            match &advisory.applies {
                Applicability::Nvd(configurations) => {
                    evaluate_nvd(advisory, configurations, &cpe_targets, &mut found);
                }
                Applicability::Osv(affected) => {
                    for (target, keys) in targets.iter().zip(&target_keys) {
                        evaluate_osv(advisory, affected, target, keys, &mut found);
                    }
                }
            }
            found
        })
        .collect();
    merge(raw, knowledge)
}

fn merge(raw: Vec<Finding>, knowledge: &Knowledge) -> Vec<Finding> {
    let mut by_key: BTreeMap<(String, String), Finding> = BTreeMap::new();
    for found in raw {
        let key = (found.bom_ref.clone(), found.id.clone());
        match by_key.get_mut(&key) {
            None => {
                by_key.insert(key, found);
            }
            Some(kept) => {
                // Affected before unknown, NVD's range before OSV's, a range that names the
                // fixed release before an exact-version criteria.
                let rank = |f: &Finding| {
                    (
                        f.certainty,
                        f.records[0].origin == Origin::Nvd,
                        f.fix.is_some(),
                    )
                };
                let better = rank(&found) > rank(kept);
                let mut records = kept.records.clone();
                records.extend(found.records.iter().cloned());
                let mut aliases = kept.aliases.clone();
                aliases.extend(found.aliases.iter().cloned());
                if better {
                    *kept = found;
                }
                records.sort();
                records.dedup();
                kept.records = records;
                aliases.extend(kept.records.iter().map(|r| r.id.clone()));
                aliases.retain(|alias| *alias != kept.id);
                aliases.sort();
                aliases.dedup();
                kept.aliases = aliases;
                if kept.rating.is_none() {
                    kept.rating = found_rating(&kept.records, knowledge);
                }
            }
        }
    }
    let mut out: Vec<Finding> = by_key.into_values().collect();
    for found in &mut out {
        let cves: Vec<&str> = std::iter::once(found.id.as_str())
            .chain(found.aliases.iter().map(String::as_str))
            .filter(|id| is_cve_id(id))
            .collect();
        found.kev = cves.iter().find_map(|id| knowledge.kev.get(*id)).cloned();
        found.epss = cves.iter().find_map(|id| knowledge.epss.get(*id)).cloned();
    }
    out
}

fn found_rating(records: &[RecordRef], knowledge: &Knowledge) -> Option<Rating> {
    records.iter().find_map(|record| {
        knowledge
            .advisories
            .iter()
            .find(|a| a.id == record.id && a.origin == record.origin)
            .and_then(|a| a.rating.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Node;

    fn target(name: &str, version: Option<&str>, cpe: &str) -> Target {
        Target {
            bom_ref: format!("ref:{name}"),
            name: name.to_owned(),
            version: version.map(str::to_owned),
            cpe: Some(cpe.to_owned()),
            purl: Some(format!("pkg:generic/{name}")),
            hashes: Vec::new(),
        }
    }

    fn criteria(cpe: &str, vulnerable: bool) -> CpeMatch {
        CpeMatch {
            vulnerable,
            criteria: cpe.to_owned(),
            version_start_including: None,
            version_start_excluding: None,
            version_end_including: None,
            version_end_excluding: None,
        }
    }

    fn nvd(configurations: Vec<Configuration>) -> Advisory {
        Advisory {
            id: "CVE-2020-0001".to_owned(),
            origin: Origin::Nvd,
            aliases: Vec::new(),
            published: None,
            modified: None,
            summary: None,
            rating: None,
            references: Vec::new(),
            withdrawn: false,
            applies: Applicability::Nvd(configurations),
        }
    }

    fn or_node(criteria: Vec<CpeMatch>) -> Node {
        Node {
            operator: Operator::Or,
            negate: false,
            cpe_match: criteria,
        }
    }

    fn run(advisory: Advisory, targets: &[Target]) -> Vec<(String, Certainty)> {
        let knowledge = Knowledge {
            advisories: vec![advisory],
            ..Knowledge::default()
        };
        evaluate(targets, &knowledge)
            .into_iter()
            .map(|f| (f.component, f.certainty))
            .collect()
    }

    #[test]
    fn ranges_and_exact_versions() {
        let mut range = criteria("cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*", true);
        range.version_start_including = Some("0.9.8".into());
        range.version_end_excluding = Some("0.9.8h".into());
        let advisory = nvd(vec![Configuration {
            operator: Operator::Or,
            negate: false,
            nodes: vec![or_node(vec![
                range,
                criteria("cpe:2.3:a:openssl:openssl:1.0.2:beta1:*:*:*:*:*:*", true),
            ])],
        }]);
        let t = |v: Option<&str>| target("openssl", v, "cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*");
        assert_eq!(
            run(advisory.clone(), &[t(Some("0.9.8g"))]),
            [("openssl".into(), Certainty::Affected)]
        );
        assert!(run(advisory.clone(), &[t(Some("0.9.8h"))]).is_empty());
        assert!(run(advisory.clone(), &[t(Some("0.9.7m"))]).is_empty());
        assert!(run(advisory.clone(), &[t(Some("1.0.2"))]).is_empty());
        assert_eq!(run(advisory.clone(), &[t(Some("1.0.2-beta1"))]).len(), 1);
        assert_eq!(
            run(advisory, &[t(None)]),
            [("openssl".into(), Certainty::Unknown)]
        );
    }

    /// NVD files curl's library under `haxx:libcurl` (CVE-2014-3707 names only it): a component
    /// named `haxx:curl` is matched by those records too, once per record, and the reverse; an
    /// unrelated product is not.
    #[test]
    fn products_nvd_files_under_two_names() {
        let mut libcurl = criteria("cpe:2.3:a:haxx:libcurl:*:*:*:*:*:*:*:*", true);
        libcurl.version_end_excluding = Some("7.39.0".into());
        let mut curl = criteria("cpe:2.3:a:haxx:curl:*:*:*:*:*:*:*:*", true);
        curl.version_end_excluding = Some("7.39.0".into());
        let only_libcurl = nvd(vec![Configuration {
            operator: Operator::Or,
            negate: false,
            nodes: vec![or_node(vec![libcurl.clone()])],
        }]);
        let both = nvd(vec![Configuration {
            operator: Operator::Or,
            negate: false,
            nodes: vec![or_node(vec![curl, libcurl])],
        }]);
        let curl_component = target(
            "curl",
            Some("7.38.0"),
            "cpe:2.3:a:haxx:curl:*:*:*:*:*:*:*:*",
        );
        let affected = [("curl".to_owned(), Certainty::Affected)];
        assert_eq!(
            run(only_libcurl.clone(), std::slice::from_ref(&curl_component)),
            affected
        );
        assert_eq!(run(both, std::slice::from_ref(&curl_component)), affected);
        assert!(
            curl_component
                .keys()
                .contains(&"cpe:haxx:libcurl".to_owned())
        );
        let fixed = target(
            "curl",
            Some("7.39.0"),
            "cpe:2.3:a:haxx:curl:*:*:*:*:*:*:*:*",
        );
        assert!(run(only_libcurl.clone(), &[fixed]).is_empty());
        let wget = target("wget", Some("1.0"), "cpe:2.3:a:gnu:wget:*:*:*:*:*:*:*:*");
        assert!(run(only_libcurl, &[wget]).is_empty());
        let mut ppp = criteria(
            "cpe:2.3:a:point-to-point_protocol_project:point-to-point_protocol:*:*:*:*:*:*:*:*",
            true,
        );
        ppp.version_end_including = Some("2.4.8".into());
        let cve_2020_8597 = nvd(vec![Configuration {
            operator: Operator::Or,
            negate: false,
            nodes: vec![or_node(vec![ppp])],
        }]);
        let pppd = target("ppp", Some("2.4.7"), "cpe:2.3:a:samba:ppp:*:*:*:*:*:*:*:*");
        assert_eq!(
            run(cve_2020_8597, &[pppd]),
            [("ppp".to_owned(), Certainty::Affected)]
        );
    }

    #[test]
    fn platforms_and_negation() {
        // An application CVE that applies only on a given OS (AND, platform not vulnerable).
        let advisory = nvd(vec![Configuration {
            operator: Operator::And,
            negate: false,
            nodes: vec![
                or_node(vec![criteria(
                    "cpe:2.3:a:thekelleys:dnsmasq:2.45:*:*:*:*:*:*:*",
                    true,
                )]),
                or_node(vec![criteria(
                    "cpe:2.3:o:linux:linux_kernel:*:*:*:*:*:*:*:*",
                    false,
                )]),
            ],
        }]);
        let dnsmasq = target(
            "dnsmasq",
            Some("2.45"),
            "cpe:2.3:a:thekelleys:dnsmasq:2.45:*:*:*:*:*:*:*",
        );
        let linux = target(
            "linux_kernel",
            Some("2.6.33.2"),
            "cpe:2.3:o:linux:linux_kernel:2.6.33.2:*:*:*:*:*:*:*",
        );
        assert!(run(advisory.clone(), std::slice::from_ref(&dnsmasq)).is_empty());
        assert_eq!(
            run(advisory.clone(), &[dnsmasq.clone(), linux.clone()]),
            [("dnsmasq".into(), Certainty::Affected)],
            "the kernel is only the platform, never reported"
        );
        let mut negated = advisory;
        if let Applicability::Nvd(configurations) = &mut negated.applies {
            configurations[0].nodes[1].negate = true;
        }
        assert_eq!(
            run(negated.clone(), std::slice::from_ref(&dnsmasq)).len(),
            1
        );
        assert!(run(negated, &[dnsmasq, linux]).is_empty());
    }

    #[test]
    fn osv_lists_ranges_and_commits() {
        let advisory = Advisory {
            id: "OSV-2022-312".to_owned(),
            origin: Origin::Osv,
            aliases: vec!["CVE-2022-0934".into()],
            published: None,
            modified: None,
            summary: None,
            rating: None,
            references: Vec::new(),
            withdrawn: false,
            applies: Applicability::Osv(vec![Affected {
                ecosystem: "OSS-Fuzz".into(),
                name: "dnsmasq".into(),
                purl: None,
                ranges: vec![Range {
                    kind: RangeKind::Git,
                    repo: Some("git://thekelleys.org.uk/dnsmasq.git".into()),
                    events: vec![
                        Event::Introduced("a3303e196e5d304ec955c4d63afb923ade66c6e8".into()),
                        Event::Fixed("03345ecefeb0d82e3c3a4c28f27c3554f0611b39".into()),
                    ],
                }],
                versions: vec!["v2.87test9".into(), "v2.87rc1".into(), "v2.87".into()],
            }]),
        };
        let t = |v: &str| Target {
            bom_ref: "d".into(),
            name: "dnsmasq".into(),
            version: Some(v.into()),
            cpe: None,
            purl: Some("pkg:generic/dnsmasq".into()),
            hashes: Vec::new(),
        };
        let found = evaluate(
            &[t("2.87")],
            &Knowledge {
                advisories: vec![advisory.clone()],
                ..Knowledge::default()
            },
        );
        assert_eq!(found[0].id, "CVE-2022-0934");
        assert_eq!(found[0].aliases, ["OSV-2022-312"]);
        assert_eq!(found[0].certainty, Certainty::Affected);
        assert!(run(advisory.clone(), &[t("2.86")]).is_empty());
        assert!(run(advisory.clone(), &[t("2.88")]).is_empty());
        assert_eq!(
            run(advisory.clone(), &[t("2.86-3-ga3303e1")]),
            [("dnsmasq".into(), Certainty::Affected)]
        );
        assert!(run(advisory.clone(), &[t("2.87-1-g03345ec")]).is_empty());
        assert_eq!(
            run(advisory, &[t("2.86-5-g1234567")]),
            [("dnsmasq".into(), Certainty::Unknown)]
        );
    }

    #[test]
    fn osv_ordered_ranges() {
        let range = |events: Vec<Event>| Range {
            kind: RangeKind::Ecosystem,
            repo: None,
            events,
        };
        let check = |r: &Range, v: &str| in_ordered_range(r, &Version::parse(v).unwrap()).0;
        let r = range(vec![
            Event::Introduced("0".into()),
            Event::Fixed("1.2.0".into()),
            Event::Introduced("2.0".into()),
            Event::LastAffected("2.1.3".into()),
        ]);
        assert_eq!(check(&r, "1.1.9"), Tri::Yes);
        assert_eq!(check(&r, "1.2.0"), Tri::No);
        assert_eq!(check(&r, "1.9"), Tri::No);
        assert_eq!(check(&r, "2.1.3"), Tri::Yes);
        assert_eq!(check(&r, "2.1.4"), Tri::No);
        let (_, fix) = in_ordered_range(&r, &Version::parse("1.0").unwrap());
        assert_eq!(fix.as_deref(), Some("update to 1.2.0 or later"));
        let semver = Range {
            kind: RangeKind::Semver,
            repo: None,
            events: vec![
                Event::Introduced("1.0.0-rc.1".into()),
                Event::Fixed("1.0.1".into()),
            ],
        };
        assert_eq!(check(&semver, "1.0.0"), Tri::Yes);
        assert_eq!(check(&semver, "1.0.0-beta.2"), Tri::No);
    }

    #[test]
    fn tags_read_as_releases() {
        for (tag, package, release) in [
            ("curl-7_57_0", "curl", "7.57.0"),
            ("OpenSSL_1_1_1-pre1", "openssl", "1.1.1-pre1"),
            ("hostap_2_0", "hostap", "2.0"),
            ("libpcap-1.10.0", "libpcap", "1.10.0"),
            ("pcre2-10.45-RC1", "pcre2", "10.45-rc1"),
            ("v2.87rc1", "dnsmasq", "2.87rc1"),
            ("v4.6.0-stable", "wolfssl", "4.6.0"),
        ] {
            assert_eq!(tag_release(tag, package), Version::parse(release), "{tag}");
        }
        assert_eq!(tag_release("CVE-2021-3541", "libxml2"), None);
        assert_eq!(tag_release("aosp-jb-start", "hostap"), None);
    }
}
