//! The normalised vulnerability record every source is read into, and stored as: an
//! [`Advisory`] says which vulnerability, how severe, and which software it applies to, either
//! with NVD's configurations ([`Configuration`]) or with OSV's affected packages ([`Affected`]).
//!
//! Only what matching and reporting need is kept: descriptions are cut to
//! [`MAX_SUMMARY_CHARS`], references to [`MAX_REFERENCES`], and NVD's `matchCriteriaId`s and
//! metrics other than the chosen rating are dropped.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::cpe::Cpe;
use crate::purl::Purl;

/// The longest summary kept, in characters.
pub const MAX_SUMMARY_CHARS: usize = 600;
/// The most references kept per record.
pub const MAX_REFERENCES: usize = 8;

/// Where a record comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// NVD CVE API 2.0 records.
    Nvd,
    /// OSV records.
    Osv,
}

impl Origin {
    /// `NVD` or `OSV`, as CycloneDX `source.name` writes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Nvd => "NVD",
            Self::Osv => "OSV",
        }
    }

    /// `nvd` or `osv`, as stored.
    pub fn key(self) -> &'static str {
        match self {
            Self::Nvd => "nvd",
            Self::Osv => "osv",
        }
    }
}

/// A qualitative severity, ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// No impact (CVSS 0.0).
    None,
    /// Low.
    Low,
    /// Medium (CVSS v3 "medium", v2 "medium").
    Medium,
    /// High.
    High,
    /// Critical (CVSS v3 9.0 and above).
    Critical,
}

impl Level {
    /// Reads `LOW`, `Moderate`, `critical`, ...; `None` for anything else.
    pub fn from_label(text: &str) -> Option<Self> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "none" => Self::None,
            "low" => Self::Low,
            "medium" | "moderate" => Self::Medium,
            "high" | "important" => Self::High,
            "critical" => Self::Critical,
            _ => return None,
        })
    }

    /// The CVSS v3 band of a base score.
    pub fn from_cvss3(score: f64) -> Self {
        match score {
            s if s >= 9.0 => Self::Critical,
            s if s >= 7.0 => Self::High,
            s if s >= 4.0 => Self::Medium,
            s if s > 0.0 => Self::Low,
            _ => Self::None,
        }
    }

    /// Lower-case name (`high`), as CycloneDX `ratings[].severity` writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A severity rating: the method, the score when there is one, the level, the vector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rating {
    /// `CVSSv31`, `CVSSv3`, `CVSSv2` or `other` (a label only), as CycloneDX names methods.
    pub method: String,
    /// The base score, when the source gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// The level.
    pub level: Level,
    /// The vector string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector: Option<String>,
}

/// AND or OR.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Operator {
    /// Every child must hold.
    And,
    /// One child is enough (NVD's default).
    #[default]
    Or,
}

/// One CPE criteria of an NVD configuration node, with its version bounds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CpeMatch {
    /// True for the vulnerable software, false for a platform it must run on.
    pub vulnerable: bool,
    /// The CPE 2.3 criteria (`cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*`).
    pub criteria: String,
    /// `versionStartIncluding`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_start_including: Option<String>,
    /// `versionStartExcluding`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_start_excluding: Option<String>,
    /// `versionEndIncluding`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_end_including: Option<String>,
    /// `versionEndExcluding`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_end_excluding: Option<String>,
}

impl CpeMatch {
    /// True when any version bound is given.
    pub fn has_range(&self) -> bool {
        self.version_start_including.is_some()
            || self.version_start_excluding.is_some()
            || self.version_end_including.is_some()
            || self.version_end_excluding.is_some()
    }

    /// The criteria and its bounds in words: `cpe:2.3:a:openssl:openssl:*:... from 0.9.8 (incl.)
    /// to 0.9.8h (excl.)`.
    pub fn describe(&self) -> String {
        let mut text = self.criteria.clone();
        let mut bounds = Vec::new();
        if let Some(v) = &self.version_start_including {
            bounds.push(format!(">= {v}"));
        }
        if let Some(v) = &self.version_start_excluding {
            bounds.push(format!("> {v}"));
        }
        if let Some(v) = &self.version_end_including {
            bounds.push(format!("<= {v}"));
        }
        if let Some(v) = &self.version_end_excluding {
            bounds.push(format!("< {v}"));
        }
        if !bounds.is_empty() {
            text.push_str(" versions ");
            text.push_str(&bounds.join(", "));
        }
        text
    }
}

/// A node: CPE criteria joined by an operator, maybe negated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    /// How the criteria combine.
    #[serde(default)]
    pub operator: Operator,
    /// True when the node's result is inverted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub negate: bool,
    /// The criteria.
    pub cpe_match: Vec<CpeMatch>,
}

/// A configuration: nodes joined by an operator (OR when absent), maybe negated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Configuration {
    /// How the nodes combine.
    #[serde(default)]
    pub operator: Operator,
    /// True when the configuration's result is inverted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub negate: bool,
    /// The nodes.
    pub nodes: Vec<Node>,
}

/// An OSV range type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RangeKind {
    /// Semantic versions.
    Semver,
    /// The ecosystem's own versions.
    Ecosystem,
    /// Commits of a git repository.
    Git,
}

/// One OSV range event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// Affected from this version on (`0`: from the beginning).
    Introduced(String),
    /// Not affected from this version on.
    Fixed(String),
    /// The last affected version.
    LastAffected(String),
    /// An upper limit of the range (GIT only).
    Limit(String),
}

impl Event {
    /// The version or commit.
    pub fn value(&self) -> &str {
        match self {
            Self::Introduced(v) | Self::Fixed(v) | Self::LastAffected(v) | Self::Limit(v) => v,
        }
    }

    /// `introduced`, `fixed`, `last_affected` or `limit`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Introduced(_) => "introduced",
            Self::Fixed(_) => "fixed",
            Self::LastAffected(_) => "last_affected",
            Self::Limit(_) => "limit",
        }
    }
}

/// An OSV `affected[].ranges[]` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// The type.
    pub kind: RangeKind,
    /// The repository (GIT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// The events, as written.
    pub events: Vec<Event>,
}

impl Range {
    /// `GIT https://github.com/curl/curl.git introduced 7ee5951, fixed 544bfde`.
    pub fn describe(&self) -> String {
        let kind = match self.kind {
            RangeKind::Semver => "SEMVER",
            RangeKind::Ecosystem => "ECOSYSTEM",
            RangeKind::Git => "GIT",
        };
        let events: Vec<String> = self
            .events
            .iter()
            .map(|event| {
                let value = event.value();
                let shown = if self.kind == RangeKind::Git && value.len() > 12 {
                    &value[..12]
                } else {
                    value
                };
                format!("{} {shown}", event.name())
            })
            .collect();
        match &self.repo {
            Some(repo) => format!("{kind} {repo} {}", events.join(", ")),
            None => format!("{kind} {}", events.join(", ")),
        }
    }
}

/// An OSV `affected[]` entry: one package, its ranges and listed versions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affected {
    /// The ecosystem (`OSS-Fuzz`, `Debian:12`, `PyPI`).
    pub ecosystem: String,
    /// The package name in that ecosystem.
    pub name: String,
    /// The package URL, when the record gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// The ranges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
    /// Versions listed as affected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
}

/// What software a record applies to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Applicability {
    /// NVD configurations.
    Nvd(Vec<Configuration>),
    /// OSV affected packages.
    Osv(Vec<Affected>),
}

/// One vulnerability record, normalised.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    /// `CVE-2014-0160`, `OSV-2021-777`.
    pub id: String,
    /// Where it comes from.
    pub origin: Origin,
    /// Other ids of the same vulnerability (OSV `aliases`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Publication date (RFC 3339 or NVD's local form), as the source writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// Last modification, as the source writes it: newer replaces older on import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// The description or summary, cut to [`MAX_SUMMARY_CHARS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The rating used for policy thresholds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<Rating>,
    /// Reference URLs, at most [`MAX_REFERENCES`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// True for a rejected (NVD) or withdrawn (OSV) record: stored to replace an older one,
    /// never matched.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withdrawn: bool,
    /// What it applies to.
    pub applies: Applicability,
}

impl Advisory {
    /// The keys this record is found by: `cpe:vendor:product` for every vulnerable NVD criteria,
    /// `osv:ecosystem:name` and `purl:type/namespace/name` for every OSV package. Lower case,
    /// sorted, without repeats.
    pub fn keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        match &self.applies {
            Applicability::Nvd(configurations) => {
                for configuration in configurations {
                    for node in &configuration.nodes {
                        for criteria in &node.cpe_match {
                            if criteria.vulnerable
                                && let Ok(cpe) = Cpe::parse(&criteria.criteria)
                                && let Some(key) = cpe.vendor_product()
                            {
                                keys.push(format!("cpe:{key}"));
                            }
                        }
                    }
                }
            }
            Applicability::Osv(affected) => {
                for package in affected {
                    keys.push(osv_key(&package.ecosystem, &package.name));
                    if let Some(purl) = package.purl.as_deref().and_then(|p| Purl::parse(p).ok()) {
                        keys.push(format!("purl:{}", purl.package()));
                    }
                }
            }
        }
        keys.sort();
        keys.dedup();
        keys
    }

    /// Every id of the vulnerability: its own, then its aliases.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.aliases.iter().map(String::as_str))
    }

    /// The CVE id among [`Self::ids`], when there is one.
    pub fn cve(&self) -> Option<&str> {
        self.ids().find(|id| is_cve_id(id))
    }
}

/// The lookup key of an OSV package: `osv:<ecosystem without its release>:<name>`, lower case.
pub fn osv_key(ecosystem: &str, name: &str) -> String {
    let base = ecosystem.split(':').next().unwrap_or(ecosystem);
    format!(
        "osv:{}:{}",
        base.to_ascii_lowercase(),
        name.to_ascii_lowercase()
    )
}

/// True for `CVE-YYYY-NNNN...`.
pub fn is_cve_id(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, number)) = rest.split_once('-') else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && (4..=19).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// Cuts `text` to `max` characters, on a character boundary, marking the cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((idx, _)) => format!("{}…", &text[..idx]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cve_ids() {
        assert!(is_cve_id("CVE-2014-0160"));
        assert!(is_cve_id("CVE-2021-1234567"));
        assert!(!is_cve_id("CVE-14-0160"));
        assert!(!is_cve_id("OSV-2021-777"));
        assert!(!is_cve_id("CVE-2014-016"));
    }

    #[test]
    fn levels() {
        assert!(Level::Critical > Level::High);
        assert_eq!(Level::from_cvss3(9.8), Level::Critical);
        assert_eq!(Level::from_cvss3(7.0), Level::High);
        assert_eq!(Level::from_cvss3(0.0), Level::None);
        assert_eq!(Level::from_label("MODERATE"), Some(Level::Medium));
        assert_eq!(cut("héllo", 2), "hé…");
    }
}
