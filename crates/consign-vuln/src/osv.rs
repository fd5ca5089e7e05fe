//! OSV records (JSON or YAML, the Open Source Vulnerability schema 1.x) read into an
//! [`Advisory`].
//!
//! Kept: id, aliases, dates, `withdrawn`, summary (else the first paragraph of `details`), one
//! rating (a CVSS v3 vector's base score, else a severity label from `database_specific` or
//! `ecosystem_specific`, as GitHub and OSS-Fuzz write them), and each affected package with its
//! ranges (SEMVER, ECOSYSTEM, GIT) and listed versions. Each event must hold exactly one of
//! `introduced`, `fixed`, `last_affected`, `limit`; a range of an unknown type is refused with
//! its pointer, because silently dropping it could hide an affected version.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::cvss::base_score_v3;
use crate::error::{VulnError, excerpt, from_json};
use crate::record::{
    Advisory, Affected, Applicability, Event, Level, MAX_REFERENCES, MAX_SUMMARY_CHARS, Origin,
    Range, RangeKind, Rating, cut,
};

/// The most affected packages, ranges, events or listed versions one record may hold.
pub const MAX_ITEMS: usize = 100_000;
/// The largest YAML document read, in bytes.
pub const MAX_YAML_BYTES: usize = 16 << 20;

#[derive(Deserialize)]
pub(crate) struct RawOsv {
    id: String,
    #[serde(default)]
    modified: Option<String>,
    #[serde(default)]
    published: Option<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    severity: Vec<RawSeverity>,
    #[serde(default)]
    affected: Vec<RawAffected>,
    #[serde(default)]
    references: Vec<RawReference>,
    #[serde(default)]
    database_specific: Option<RawSpecific>,
}

#[derive(Deserialize)]
struct RawSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize)]
struct RawReference {
    url: String,
}

/// `database_specific` / `ecosystem_specific`: only `severity` is read; the rest is free-form.
#[derive(Deserialize)]
struct RawSpecific {
    #[serde(default)]
    severity: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawAffected {
    #[serde(default)]
    package: Option<RawPackage>,
    #[serde(default)]
    severity: Vec<RawSeverity>,
    #[serde(default)]
    ranges: Vec<RawRange>,
    #[serde(default)]
    versions: Vec<String>,
    #[serde(default)]
    ecosystem_specific: Option<RawSpecific>,
    #[serde(default)]
    database_specific: Option<RawSpecific>,
}

#[derive(Deserialize)]
struct RawPackage {
    ecosystem: String,
    name: String,
    #[serde(default)]
    purl: Option<String>,
}

#[derive(Deserialize)]
struct RawRange {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    repo: Option<String>,
    #[serde(default)]
    events: Vec<BTreeMap<String, String>>,
}

fn label(specific: Option<&RawSpecific>) -> Option<Level> {
    specific?
        .severity
        .as_ref()?
        .as_str()
        .and_then(Level::from_label)
}

fn rating(raw: &RawOsv) -> Option<Rating> {
    let vectors = raw
        .severity
        .iter()
        .chain(raw.affected.iter().flat_map(|a| a.severity.iter()));
    for severity in vectors {
        if severity.kind == "CVSS_V3"
            && let Some(score) = base_score_v3(&severity.score)
        {
            return Some(Rating {
                method: if severity.score.starts_with("CVSS:3.1/") {
                    "CVSSv31".to_owned()
                } else {
                    "CVSSv3".to_owned()
                },
                score: Some(score),
                level: Level::from_cvss3(score),
                vector: Some(cut(&severity.score, 200)),
            });
        }
    }
    let level = label(raw.database_specific.as_ref()).or_else(|| {
        raw.affected.iter().find_map(|a| {
            label(a.ecosystem_specific.as_ref()).or_else(|| label(a.database_specific.as_ref()))
        })
    })?;
    Some(Rating {
        method: "other".to_owned(),
        score: None,
        level,
        vector: None,
    })
}

/// Turns a parsed record into an [`Advisory`], checking ranges and events.
pub(crate) fn advisory(file: &str, prefix: &str, raw: RawOsv) -> Result<Advisory, VulnError> {
    let invalid = |pointer: String, reason: String| VulnError::Invalid {
        file: file.to_owned(),
        pointer: format!("{prefix}{pointer}"),
        reason,
    };
    let id_ok = !raw.id.is_empty()
        && raw.id.len() <= 128
        && raw
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    if !id_ok {
        return Err(invalid(
            "/id".to_owned(),
            format!("`{}` is not an OSV id", excerpt(&raw.id)),
        ));
    }
    let too_many = |what: String| VulnError::TooLarge {
        file: file.to_owned(),
        what,
        limit: MAX_ITEMS.to_string(),
    };
    if raw.affected.len() > MAX_ITEMS || raw.aliases.len() > MAX_ITEMS {
        return Err(too_many(format!("the size of `{}`", raw.id)));
    }
    let rating = rating(&raw);
    let mut affected = Vec::with_capacity(raw.affected.len());
    for (a_idx, entry) in raw.affected.into_iter().enumerate() {
        let Some(package) = entry.package else {
            // OSV allows an entry without a package (a whole-repository GIT range); nothing in
            // an SBOM can be matched against it by name.
            continue;
        };
        if entry.ranges.len() > MAX_ITEMS || entry.versions.len() > MAX_ITEMS {
            return Err(too_many(format!("`/affected/{a_idx}` of `{}`", raw.id)));
        }
        let mut ranges = Vec::with_capacity(entry.ranges.len());
        for (r_idx, range) in entry.ranges.into_iter().enumerate() {
            let at = format!("/affected/{a_idx}/ranges/{r_idx}");
            let kind = match range.kind.as_str() {
                "SEMVER" => RangeKind::Semver,
                "ECOSYSTEM" => RangeKind::Ecosystem,
                "GIT" => RangeKind::Git,
                other => {
                    return Err(invalid(
                        format!("{at}/type"),
                        format!(
                            "unknown range type `{}`; expected `SEMVER`, `ECOSYSTEM` or `GIT`",
                            excerpt(other)
                        ),
                    ));
                }
            };
            if range.events.len() > MAX_ITEMS {
                return Err(too_many(format!("`{at}/events` of `{}`", raw.id)));
            }
            let mut events = Vec::with_capacity(range.events.len());
            for (e_idx, event) in range.events.into_iter().enumerate() {
                let mut entries = event.into_iter();
                let (Some((name, value)), None) = (entries.next(), entries.next()) else {
                    return Err(invalid(
                        format!("{at}/events/{e_idx}"),
                        "an event holds exactly one of `introduced`, `fixed`, `last_affected`, `limit`".to_owned(),
                    ));
                };
                events.push(match name.as_str() {
                    "introduced" => Event::Introduced(value),
                    "fixed" => Event::Fixed(value),
                    "last_affected" => Event::LastAffected(value),
                    "limit" => Event::Limit(value),
                    other => {
                        return Err(invalid(
                            format!("{at}/events/{e_idx}/{}", excerpt(other)),
                            "unknown event; expected `introduced`, `fixed`, `last_affected` or `limit`".to_owned(),
                        ));
                    }
                });
            }
            ranges.push(Range {
                kind,
                repo: range.repo,
                events,
            });
        }
        affected.push(Affected {
            ecosystem: package.ecosystem,
            name: package.name,
            purl: package.purl,
            ranges,
            versions: entry.versions,
        });
    }
    let summary = raw
        .summary
        .filter(|s| !s.trim().is_empty())
        .or_else(|| {
            raw.details
                .as_deref()
                .and_then(|d| d.split("\n\n").next())
                .map(str::to_owned)
        })
        .map(|s| cut(s.trim(), MAX_SUMMARY_CHARS));
    Ok(Advisory {
        id: raw.id,
        origin: Origin::Osv,
        aliases: raw.aliases.into_iter().map(|a| cut(&a, 128)).collect(),
        published: raw.published,
        modified: raw.modified,
        summary,
        rating,
        references: raw
            .references
            .into_iter()
            .take(MAX_REFERENCES)
            .map(|r| cut(&r.url, 500))
            .collect(),
        withdrawn: raw.withdrawn.is_some(),
        applies: Applicability::Osv(affected),
    })
}

/// Reads one OSV record in JSON.
pub fn parse_json(file: &str, bytes: &[u8]) -> Result<Advisory, VulnError> {
    let raw: RawOsv = from_json(file, "", "OSV record", bytes)?;
    advisory(file, "", raw)
}

/// Reads one OSV record in YAML, within [`MAX_YAML_BYTES`] and serde-saphyr's budgets (no
/// alias bombs, bounded nesting).
pub fn parse_yaml(file: &str, bytes: &[u8]) -> Result<Advisory, VulnError> {
    if bytes.len() > MAX_YAML_BYTES {
        return Err(VulnError::TooLarge {
            file: file.to_owned(),
            what: format!("the YAML document ({} bytes)", bytes.len()),
            limit: format!("{MAX_YAML_BYTES} bytes"),
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|err| VulnError::Invalid {
        file: file.to_owned(),
        pointer: format!("byte {}", err.valid_up_to()),
        reason: "not UTF-8".to_owned(),
    })?;
    let raw: RawOsv = serde_saphyr::from_str(text).map_err(|source| VulnError::Yaml {
        file: file.to_owned(),
        source: Box::new(source),
    })?;
    advisory(file, "", raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(path: &str) -> Vec<u8> {
        crate::test_support::vulndata(&format!("osv/oss-fuzz-vulns/vulns/{path}"))
    }

    #[test]
    fn reads_real_yaml() {
        let record = parse_yaml("OSV-2017-1.yaml", &shared("curl/OSV-2017-1.yaml")).unwrap();
        assert_eq!(record.id, "OSV-2017-1");
        assert_eq!(record.rating.as_ref().unwrap().level, Level::Medium);
        assert_eq!(record.keys(), ["osv:oss-fuzz:curl"]);
        let Applicability::Osv(affected) = &record.applies else {
            panic!()
        };
        assert_eq!(affected[0].ranges[0].kind, RangeKind::Git);
        assert_eq!(
            affected[0].ranges[0].events[1],
            Event::Fixed("544bfdebea2a9e8be1c01fc7954cd49638fe2803".into())
        );
        let listed = parse_yaml("x.yaml", &shared("dnsmasq/OSV-2022-312.yaml")).unwrap();
        let Applicability::Osv(affected) = &listed.applies else {
            panic!()
        };
        assert!(affected[0].versions.iter().any(|v| v == "v2.87"));
    }

    #[test]
    fn json_and_errors() {
        let good = br#"{"id": "GHSA-xxxx-yyyy-zzzz", "modified": "2024-01-01T00:00:00Z", "aliases": ["CVE-2024-0001"],
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
            "affected": [{"package": {"ecosystem": "PyPI", "name": "Pillow", "purl": "pkg:pypi/pillow"},
              "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "10.0.1"}]}]}]}"#;
        let record = parse_json("g.json", good).unwrap();
        assert_eq!(record.cve(), Some("CVE-2024-0001"));
        assert_eq!(record.rating.as_ref().unwrap().score, Some(9.8));
        assert_eq!(record.keys(), ["osv:pypi:pillow", "purl:pypi/pillow"]);
        let bad = String::from_utf8_lossy(good).replace("\"fixed\"", "\"repaired\"");
        let err = parse_json("g.json", bad.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("at `/affected/0/ranges/0/events/1/repaired`"),
            "{err}"
        );
        let bad = String::from_utf8_lossy(good).replace("ECOSYSTEM", "CALVER");
        let err = parse_json("g.json", bad.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("at `/affected/0/ranges/0/type`"), "{err}");
        let bad = String::from_utf8_lossy(good).replace("\"10.0.1\"", "10");
        let err = parse_json("g.json", bad.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("at `/affected/0/ranges/0/events/1/fixed`"),
            "{err}"
        );
        let bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f]\nid: x\n";
        // Either refused by the alias budget or read without expanding the ignored keys: what
        // matters is that it returns at once, without a billion nodes in memory.
        if let Ok(record) = parse_yaml("bomb.yaml", bomb.as_bytes()) {
            assert_eq!(record.id, "x");
        }
    }
}
