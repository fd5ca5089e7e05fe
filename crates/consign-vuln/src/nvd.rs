//! NVD CVE API 2.0 records (the `cve` object: one file per CVE, as fkie-cad and vulnz write
//! them, or an item of a feed's `vulnerabilities` array) read into an [`Advisory`].
//!
//! Kept: id, dates, status (a `Rejected` record is stored as withdrawn), the English
//! description, one rating (CVSS v3.1, else v4.0, else v3.0, else v2; NVD's own `Primary` score
//! first), the configurations, and the first references. Unknown fields are ignored, because NVD
//! adds fields over time; every CPE criteria must parse, or the record is refused with the JSON
//! pointer of the criteria.

use serde::Deserialize;

use crate::cpe::Cpe;
use crate::error::{VulnError, excerpt, from_json};
use crate::record::{
    Advisory, Applicability, Configuration, Level, MAX_REFERENCES, MAX_SUMMARY_CHARS, Origin,
    Rating, cut, is_cve_id,
};

/// The most CPE criteria one record may hold (the largest real records hold a few thousand).
pub const MAX_CRITERIA_PER_RECORD: usize = 100_000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawCve {
    id: String,
    #[serde(default)]
    published: Option<String>,
    #[serde(default)]
    last_modified: Option<String>,
    #[serde(default)]
    vuln_status: Option<String>,
    #[serde(default)]
    descriptions: Vec<RawText>,
    #[serde(default)]
    metrics: RawMetrics,
    #[serde(default)]
    configurations: Vec<Configuration>,
    #[serde(default)]
    references: Vec<RawReference>,
}

#[derive(Deserialize)]
struct RawText {
    #[serde(default)]
    lang: String,
    value: String,
}

#[derive(Deserialize)]
struct RawReference {
    url: String,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(clippy::struct_field_names)] // NVD's own names.
struct RawMetrics {
    #[serde(default)]
    cvss_metric_v40: Vec<RawMetric>,
    #[serde(default)]
    cvss_metric_v31: Vec<RawMetric>,
    #[serde(default)]
    cvss_metric_v30: Vec<RawMetric>,
    #[serde(default)]
    cvss_metric_v2: Vec<RawMetric>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMetric {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    cvss_data: RawCvssData,
    /// CVSS v2 puts the severity beside `cvssData`.
    #[serde(default)]
    base_severity: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCvssData {
    #[serde(default)]
    vector_string: Option<String>,
    #[serde(default)]
    base_score: Option<f64>,
    #[serde(default)]
    base_severity: Option<String>,
}

/// An NVD feed item: `{"cve": {...}}`.
#[derive(Deserialize)]
pub(crate) struct RawItem {
    pub(crate) cve: RawCve,
}

fn pick(metrics: &[RawMetric]) -> Option<&RawMetric> {
    metrics
        .iter()
        .find(|m| m.kind.as_deref() == Some("Primary"))
        .or_else(|| metrics.first())
}

fn rating(metrics: &RawMetrics) -> Option<Rating> {
    let v3 = |metric: &RawMetric, method: &str| {
        let score = metric.cvss_data.base_score?;
        if !(0.0..=10.0).contains(&score) {
            return None;
        }
        let level = metric
            .cvss_data
            .base_severity
            .as_deref()
            .and_then(Level::from_label)
            .unwrap_or_else(|| Level::from_cvss3(score));
        Some(Rating {
            method: method.to_owned(),
            score: Some(score),
            level,
            vector: metric.cvss_data.vector_string.clone(),
        })
    };
    if let Some(r) = pick(&metrics.cvss_metric_v31).and_then(|m| v3(m, "CVSSv31")) {
        return Some(r);
    }
    if let Some(r) = pick(&metrics.cvss_metric_v40).and_then(|m| v3(m, "CVSSv4")) {
        return Some(r);
    }
    if let Some(r) = pick(&metrics.cvss_metric_v30).and_then(|m| v3(m, "CVSSv3")) {
        return Some(r);
    }
    let metric = pick(&metrics.cvss_metric_v2)?;
    let score = metric
        .cvss_data
        .base_score
        .filter(|s| (0.0..=10.0).contains(s))?;
    let level = metric
        .base_severity
        .as_deref()
        .and_then(Level::from_label)
        .unwrap_or(match score {
            s if s >= 7.0 => Level::High,
            s if s >= 4.0 => Level::Medium,
            _ => Level::Low,
        });
    Some(Rating {
        method: "CVSSv2".to_owned(),
        score: Some(score),
        level,
        vector: metric.cvss_data.vector_string.clone(),
    })
}

/// Turns a parsed record into an [`Advisory`], checking what matching relies on.
pub(crate) fn advisory(file: &str, prefix: &str, raw: RawCve) -> Result<Advisory, VulnError> {
    let invalid = |pointer: String, reason: String| VulnError::Invalid {
        file: file.to_owned(),
        pointer: format!("{prefix}{pointer}"),
        reason,
    };
    if !is_cve_id(&raw.id) {
        return Err(invalid(
            "/id".to_owned(),
            format!("`{}` is not a CVE id (`CVE-YYYY-NNNN`)", excerpt(&raw.id)),
        ));
    }
    let mut criteria_count = 0usize;
    for (c_idx, configuration) in raw.configurations.iter().enumerate() {
        for (n_idx, node) in configuration.nodes.iter().enumerate() {
            criteria_count += node.cpe_match.len();
            if criteria_count > MAX_CRITERIA_PER_RECORD {
                return Err(VulnError::TooLarge {
                    file: file.to_owned(),
                    what: format!("the number of CPE criteria of `{}`", raw.id),
                    limit: MAX_CRITERIA_PER_RECORD.to_string(),
                });
            }
            for (m_idx, criteria) in node.cpe_match.iter().enumerate() {
                if let Err(err) = Cpe::parse(&criteria.criteria) {
                    return Err(invalid(
                        format!("/configurations/{c_idx}/nodes/{n_idx}/cpeMatch/{m_idx}/criteria"),
                        format!("`{}` is not a CPE name: {err}", excerpt(&criteria.criteria)),
                    ));
                }
            }
        }
    }
    let summary = raw
        .descriptions
        .iter()
        .find(|d| d.lang == "en")
        .or_else(|| raw.descriptions.first())
        .map(|d| cut(d.value.trim(), MAX_SUMMARY_CHARS));
    Ok(Advisory {
        rating: rating(&raw.metrics),
        withdrawn: raw
            .vuln_status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("rejected")),
        id: raw.id,
        origin: Origin::Nvd,
        aliases: Vec::new(),
        published: raw.published,
        modified: raw.last_modified,
        summary,
        references: raw
            .references
            .into_iter()
            .take(MAX_REFERENCES)
            .map(|r| cut(&r.url, 500))
            .collect(),
        applies: Applicability::Nvd(raw.configurations),
    })
}

/// Reads one NVD `cve` object.
pub fn parse_cve(file: &str, bytes: &[u8]) -> Result<Advisory, VulnError> {
    let raw: RawCve = from_json(file, "", "NVD CVE record", bytes)?;
    advisory(file, "", raw)
}

/// Reads one feed item (`{"cve": {...}}`) found at `prefix` in `file`.
pub(crate) fn parse_item(file: &str, prefix: &str, bytes: &[u8]) -> Result<Advisory, VulnError> {
    let raw: RawItem = from_json(file, prefix, "NVD feed item", bytes)?;
    advisory(file, &format!("{prefix}/cve"), raw.cve)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Operator;

    fn shared(path: &str) -> Vec<u8> {
        crate::test_support::vulndata(path)
    }

    #[test]
    fn reads_a_real_record() {
        let record = parse_cve(
            "CVE-2016-2108.json",
            &shared("nvd/CVE-2016/CVE-2016-2108.json"),
        )
        .unwrap();
        assert_eq!(record.id, "CVE-2016-2108");
        let rating = record.rating.as_ref().unwrap();
        assert_eq!(rating.method, "CVSSv3");
        assert_eq!(rating.score, Some(9.8));
        assert_eq!(rating.level, Level::Critical);
        assert!(record.keys().contains(&"cpe:openssl:openssl".to_owned()));
        let Applicability::Nvd(configurations) = &record.applies else {
            panic!()
        };
        assert!(
            configurations
                .iter()
                .all(|c| c.operator == Operator::Or || c.nodes.len() > 1)
        );
        assert!(!record.withdrawn);
    }

    #[test]
    fn errors_name_the_pointer() {
        let err = parse_cve("x.json", br#"{"id": "CVE-2020-0001", "configurations": [{"nodes": [{"operator": "OR", "cpeMatch": [{"vulnerable": true, "criteria": "cpe:2.3:a:x"}]}]}]}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("at `/configurations/0/nodes/0/cpeMatch/0/criteria`"),
            "{err}"
        );
        let err = parse_cve("x.json", br#"{"id": "CVE-2020-0001", "configurations": [{"nodes": [{"operator": "XOR", "cpeMatch": []}]}]}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`x.json`: at `/configurations/0/nodes/0/operator`"),
            "{err}"
        );
        let err = parse_cve("x.json", br#"{"id": "not-a-cve"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("at `/id`"), "{err}");
        let err = parse_cve("x.json", b"[1, 2").unwrap_err().to_string();
        assert!(err.contains("`x.json`"), "{err}");
    }
}
