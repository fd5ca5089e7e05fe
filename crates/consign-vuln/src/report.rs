//! What matching found, after VEX, and its renderings: a table for people, JSON for programs,
//! CycloneDX 1.6 `vulnerabilities` entries for an SBOM, and a stand-alone CycloneDX VEX
//! document. Pure: the timestamp and serial number come from the caller or the content.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::db::DbInfo;
use crate::matching::{Certainty, Finding, Target};
use crate::record::Origin;
use crate::sbom::SbomTargets;
use crate::vex::{Subject, VexStatement, VexStatus, deciding};

/// The state of a finding after VEX.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Affected: no statement says otherwise (or one confirms it).
    Affected,
    /// A statement says it is being investigated: still counts as affected.
    UnderInvestigation,
    /// A statement says the product is not affected, with its justification.
    NotAffected,
    /// A statement says it is fixed in this product.
    Fixed,
}

impl State {
    /// `affected`, `under_investigation`, `not_affected`, `fixed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Affected => "affected",
            Self::UnderInvestigation => "under_investigation",
            Self::NotAffected => "not_affected",
            Self::Fixed => "fixed",
        }
    }

    /// True when the finding still counts (affected or under investigation).
    pub fn counts(self) -> bool {
        matches!(self, Self::Affected | Self::UnderInvestigation)
    }
}

/// The VEX statement that decided a finding, as shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedVex {
    /// Its status.
    pub status: VexStatus,
    /// Its justification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// Its impact statement or detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Its action statement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Where it was read.
    pub origin: String,
}

/// A finding and its state after VEX.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assessed {
    /// What matching found.
    #[serde(flatten)]
    pub finding: Finding,
    /// The state after VEX.
    pub state: State,
    /// The statement that decided it, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vex: Option<AppliedVex>,
}

impl Assessed {
    /// The reason a person reads: `not_affected: vulnerable_code_not_present (the function is
    /// compiled out)`.
    pub fn vex_reason(&self) -> Option<String> {
        let vex = self.vex.as_ref()?;
        let mut text = vex.status.as_str().to_owned();
        if let Some(j) = &vex.justification {
            let _ = write!(text, ": {j}");
        }
        if let Some(d) = &vex.detail {
            let _ = write!(text, " ({d})");
        }
        if let Some(a) = &vex.action {
            let _ = write!(text, "; action: {a}");
        }
        Some(text)
    }
}

/// Applies VEX statements to findings: the latest covering statement decides each.
pub fn apply_vex(
    findings: Vec<Finding>,
    targets: &[Target],
    subject: &Subject,
    statements: &[VexStatement],
) -> Vec<Assessed> {
    let by_ref: BTreeMap<&str, &Target> = targets.iter().map(|t| (t.bom_ref.as_str(), t)).collect();
    findings
        .into_iter()
        .map(|finding| {
            let decided = by_ref
                .get(finding.bom_ref.as_str())
                .and_then(|target| deciding(statements, &finding, target, subject));
            let state = match decided.map(|s| s.status) {
                None | Some(VexStatus::Affected) => State::Affected,
                Some(VexStatus::UnderInvestigation) => State::UnderInvestigation,
                Some(VexStatus::NotAffected) => State::NotAffected,
                Some(VexStatus::Fixed) => State::Fixed,
            };
            Assessed {
                finding,
                state,
                vex: decided.map(|s| AppliedVex {
                    status: s.status,
                    justification: s.justification.clone(),
                    detail: s.detail.clone(),
                    action: s.action.clone(),
                    origin: s.origin.clone(),
                }),
            }
        })
        .collect()
}

/// Everything `consign vuln match` found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The SBOM matched.
    pub sbom: String,
    /// What the database held.
    pub database: DbInfo,
    /// Components matched (with a package URL or CPE).
    pub components: usize,
    /// Components without either, which nothing can match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmatchable: Vec<String>,
    /// Vulnerabilities whose records' ranges include the component's release.
    pub findings: Vec<Assessed>,
    /// Records that may apply to components whose release is unknown: reported apart.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<Assessed>,
}

impl Report {
    /// Builds the report from matched findings, applying `statements`.
    pub fn new(
        sbom: &str,
        database: DbInfo,
        targets: &SbomTargets,
        findings: Vec<Finding>,
        statements: &[VexStatement],
    ) -> Self {
        let assessed = apply_vex(findings, &targets.targets, &targets.subject, statements);
        let (findings, unknown): (Vec<_>, Vec<_>) = assessed
            .into_iter()
            .partition(|a| a.finding.certainty == Certainty::Affected);
        Self {
            sbom: sbom.to_owned(),
            database,
            components: targets.targets.len(),
            unmatchable: targets.unmatchable.clone(),
            findings,
            unknown,
        }
    }

    /// Findings that still count (affected or under investigation).
    pub fn open(&self) -> impl Iterator<Item = &Assessed> {
        self.findings.iter().filter(|a| a.state.counts())
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// A table for people: one line per finding, then the resolved ones, then a summary of
    /// the unknown ones by component.
    pub fn to_table(&self) -> String {
        let mut rows = vec![[
            "COMPONENT".to_owned(),
            "VERSION".to_owned(),
            "VULNERABILITY".to_owned(),
            "SEVERITY".to_owned(),
            "KEV".to_owned(),
            "STATE".to_owned(),
            "FIX / REASON".to_owned(),
        ]];
        let mut sorted: Vec<&Assessed> = self.findings.iter().collect();
        sorted.sort_by(|a, b| {
            (b.state.counts(), b.finding.kev.is_some(), severity_rank(b))
                .cmp(&(a.state.counts(), a.finding.kev.is_some(), severity_rank(a)))
                .then_with(|| a.finding.component.cmp(&b.finding.component))
                .then_with(|| a.finding.id.cmp(&b.finding.id))
        });
        for assessed in sorted {
            let f = &assessed.finding;
            let severity = f.rating.as_ref().map_or_else(
                || "-".to_owned(),
                |r| match r.score {
                    Some(score) => format!("{} {score:.1}", r.level),
                    None => r.level.to_string(),
                },
            );
            let kev = f
                .kev
                .as_ref()
                .map_or_else(|| "-".to_owned(), |k| k.date_added.clone());
            let reason = assessed
                .vex_reason()
                .or_else(|| f.fix.clone())
                .unwrap_or_else(|| "-".to_owned());
            rows.push([
                f.component.clone(),
                f.version.clone().unwrap_or_else(|| "?".to_owned()),
                f.id.clone(),
                severity,
                kev,
                assessed.state.as_str().to_owned(),
                crate::record::cut(&reason, 100),
            ]);
        }
        let mut widths = [0usize; 7];
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in &rows {
            let mut line = String::new();
            for (idx, (cell, width)) in row.iter().zip(widths).enumerate() {
                if idx + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    let _ = write!(line, "{cell:<width$}  ");
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        let open = self.open().count();
        let kev = self.open().filter(|a| a.finding.kev.is_some()).count();
        let resolved = self.findings.len() - open;
        let _ = writeln!(
            out,
            "{open} open vulnerabilities ({kev} KEV-listed), {resolved} resolved by VEX, in {} components",
            self.components
        );
        if !self.unknown.is_empty() {
            let mut by_component: BTreeMap<&str, usize> = BTreeMap::new();
            for a in &self.unknown {
                *by_component
                    .entry(a.finding.component.as_str())
                    .or_default() += 1;
            }
            let list: Vec<String> = by_component
                .iter()
                .map(|(name, count)| format!("{name} ({count})"))
                .collect();
            let _ = writeln!(
                out,
                "release unknown, may be affected (not counted): {}",
                list.join(", ")
            );
        }
        if !self.unmatchable.is_empty() {
            let _ = writeln!(
                out,
                "{} components have no package URL or CPE and cannot be matched",
                self.unmatchable.len()
            );
        }
        let _ = writeln!(
            out,
            "database {} (sha256 {}): {} NVD and {} OSV records, {} KEV entries{}",
            self.database.path,
            &self.database.sha256[..16.min(self.database.sha256.len())],
            self.database.nvd_records,
            self.database.osv_records,
            self.database.kev_entries,
            self.database
                .kev_released
                .as_deref()
                .map(|d| format!(" (catalogue of {d})"))
                .unwrap_or_default()
        );
        out
    }
}

fn severity_rank(a: &Assessed) -> (u8, u64) {
    a.finding.rating.as_ref().map_or((0, 0), |r| {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // 0..=10
        let score = (r.score.unwrap_or(0.0) * 10.0) as u64;
        (r.level as u8 + 1, score)
    })
}

/// An RFC 3339 date-time for CycloneDX: NVD's `2014-04-07T22:55:03.893` (UTC without a zone)
/// gets its `Z`; anything that is not a date-time is dropped.
fn date_time(text: Option<&str>) -> Option<String> {
    let text = text?;
    let bytes = text.as_bytes();
    let shaped = bytes.len() >= 19
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b'T'
        && bytes[13] == b':'
        && bytes[16] == b':'
        && text.is_ascii();
    if !shaped {
        return None;
    }
    let tail = &text[19..];
    let zoned = tail.ends_with('Z') || tail.contains('+') || tail.contains('-');
    Some(if zoned {
        text.to_owned()
    } else {
        format!("{text}Z")
    })
}

/// CycloneDX's `analysis.justification` values for the OpenVEX labels.
fn cyclonedx_justification(text: &str) -> Option<&'static str> {
    let label = text.split(' ').next().unwrap_or(text);
    Some(match label {
        "vulnerable_code_not_present" | "component_not_present" | "code_not_present" => {
            "code_not_present"
        }
        "vulnerable_code_not_in_execute_path" | "code_not_reachable" => "code_not_reachable",
        "vulnerable_code_cannot_be_controlled_by_adversary" | "requires_environment" => {
            "requires_environment"
        }
        "inline_mitigations_already_exist" | "protected_by_mitigating_control" => {
            "protected_by_mitigating_control"
        }
        "requires_configuration" => "requires_configuration",
        "requires_dependency" => "requires_dependency",
        "protected_by_compiler" => "protected_by_compiler",
        "protected_at_runtime" => "protected_at_runtime",
        "protected_at_perimeter" => "protected_at_perimeter",
        _ => return None,
    })
}

fn source_of(id: &str, origin: Origin) -> Value {
    if crate::record::is_cve_id(id) {
        json!({"name": "NVD", "url": format!("https://nvd.nist.gov/vuln/detail/{id}")})
    } else if origin == Origin::Osv {
        json!({"name": "OSV", "url": format!("https://osv.dev/vulnerability/{id}")})
    } else {
        json!({"name": origin.name()})
    }
}

/// One CycloneDX 1.6 `vulnerabilities[]` entry for a finding; `affects_ref` is the component's
/// bom-ref, or a BOM-Link for a stand-alone VEX document.
pub fn cyclonedx_vulnerability(assessed: &Assessed, affects_ref: &str) -> Value {
    let f = &assessed.finding;
    let origin = f.records.first().map_or(Origin::Nvd, |r| r.origin);
    let mut entry = serde_json::Map::new();
    entry.insert(
        "bom-ref".into(),
        json!(format!("vuln:{}:{}", f.id, f.bom_ref)),
    );
    entry.insert("id".into(), json!(f.id));
    entry.insert("source".into(), source_of(&f.id, origin));
    let references: Vec<Value> = f
        .aliases
        .iter()
        .map(|alias| {
            let alias_origin = if crate::record::is_cve_id(alias) {
                Origin::Nvd
            } else {
                Origin::Osv
            };
            json!({"id": alias, "source": source_of(alias, alias_origin)})
        })
        .collect();
    if !references.is_empty() {
        entry.insert("references".into(), Value::Array(references));
    }
    if let Some(rating) = &f.rating {
        let mut r = serde_json::Map::new();
        r.insert("source".into(), json!({"name": origin.name()}));
        if let Some(score) = rating.score {
            r.insert("score".into(), json!(score));
        }
        r.insert("severity".into(), json!(rating.level.as_str()));
        let method = match rating.method.as_str() {
            m @ ("CVSSv2" | "CVSSv3" | "CVSSv31" | "CVSSv4") => m,
            _ => "other",
        };
        r.insert("method".into(), json!(method));
        if let Some(vector) = &rating.vector {
            r.insert("vector".into(), json!(vector));
        }
        entry.insert("ratings".into(), json!([Value::Object(r)]));
    }
    if let Some(summary) = &f.summary {
        entry.insert("description".into(), json!(summary));
    }
    let recommendation = match (&f.fix, &f.kev) {
        (Some(fix), Some(kev)) => Some(format!("{fix}; CISA: {}", kev.required_action)),
        (Some(fix), None) => Some(fix.clone()),
        (None, Some(kev)) => Some(format!("CISA: {}", kev.required_action)),
        (None, None) => None,
    };
    if let Some(text) = recommendation {
        entry.insert("recommendation".into(), json!(text));
    }
    if let Some(published) = date_time(f.published.as_deref()) {
        entry.insert("published".into(), json!(published));
    }
    if let Some(vex) = &assessed.vex {
        let mut analysis = serde_json::Map::new();
        let state = match vex.status {
            VexStatus::NotAffected => "not_affected",
            VexStatus::Fixed => "resolved",
            VexStatus::Affected => "exploitable",
            VexStatus::UnderInvestigation => "in_triage",
        };
        analysis.insert("state".into(), json!(state));
        if vex.status == VexStatus::NotAffected
            && let Some(j) = vex
                .justification
                .as_deref()
                .and_then(cyclonedx_justification)
        {
            analysis.insert("justification".into(), json!(j));
        }
        let detail: Vec<&str> = [
            vex.justification.as_deref(),
            vex.detail.as_deref(),
            vex.action.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !detail.is_empty() {
            analysis.insert("detail".into(), json!(detail.join("; ")));
        }
        entry.insert("analysis".into(), Value::Object(analysis));
    }
    let status = if assessed.state.counts() {
        "affected"
    } else {
        "unaffected"
    };
    let mut affects = json!({"ref": affects_ref});
    if let Some(version) = &f.version {
        affects["versions"] = json!([{"version": version, "status": status}]);
    }
    entry.insert("affects".into(), json!([affects]));
    let mut properties = vec![
        json!({"name": "consign:vuln:range", "value": f.range}),
        json!({"name": "consign:vuln:matched-by", "value": f.matched_by}),
    ];
    for record in &f.records {
        let mut value = format!("{} {}", record.origin.name(), record.id);
        if let Some(modified) = &record.modified {
            let _ = write!(value, " modified {modified}");
        }
        properties.push(json!({"name": "consign:vuln:record", "value": value}));
    }
    if let Some(kev) = &f.kev {
        properties.push(json!({"name": "consign:vuln:kev:date-added", "value": kev.date_added}));
        properties.push(json!({"name": "consign:vuln:kev:due-date", "value": kev.due_date}));
        properties.push(
            json!({"name": "consign:vuln:kev:required-action", "value": kev.required_action}),
        );
    }
    if let Some(epss) = &f.epss {
        properties.push(json!({"name": "consign:vuln:epss", "value": format!("{:.5} (percentile {:.5})", epss.epss, epss.percentile)}));
    }
    if let Some(vex) = &assessed.vex {
        properties.push(json!({"name": "consign:vuln:vex", "value": vex.origin}));
    }
    entry.insert("properties".into(), Value::Array(properties));
    Value::Object(entry)
}

/// The `vulnerabilities` array for the SBOM the findings came from (refs are its bom-refs).
pub fn cyclonedx_vulnerabilities(report: &Report) -> Vec<Value> {
    report
        .findings
        .iter()
        .map(|a| cyclonedx_vulnerability(a, &a.finding.bom_ref))
        .collect()
}

/// A stand-alone CycloneDX 1.6 VEX document: each finding's `affects` is a BOM-Link into the
/// SBOM when it has a serial number, else the bom-ref. The serial number is derived from the
/// content, the timestamp given by the caller, so the same inputs give the same bytes.
pub fn cyclonedx_vex(report: &Report, targets: &SbomTargets, timestamp: &str) -> Value {
    let link = |bom_ref: &str| match &targets.subject.serial {
        Some(serial) => format!(
            "urn:cdx:{}/{}#{bom_ref}",
            serial.trim_start_matches("urn:uuid:"),
            targets.version
        ),
        None => bom_ref.to_owned(),
    };
    let vulnerabilities: Vec<Value> = report
        .findings
        .iter()
        .map(|a| cyclonedx_vulnerability(a, &link(&a.finding.bom_ref)))
        .collect();
    let digest = Sha256::digest(serde_json::to_vec(&vulnerabilities).unwrap_or_default());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    let serial = format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    );
    json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": serial,
        "version": 1,
        "metadata": {
            "timestamp": timestamp,
            "tools": {"components": [{"type": "application", "name": "consign", "version": env!("CARGO_PKG_VERSION")}]},
            "properties": [
                {"name": "consign:vuln:database", "value": report.database.sha256},
                {"name": "consign:vuln:sbom", "value": report.sbom}
            ]
        },
        "vulnerabilities": vulnerabilities
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times() {
        assert_eq!(
            date_time(Some("2014-04-07T22:55:03.893")).as_deref(),
            Some("2014-04-07T22:55:03.893Z")
        );
        assert_eq!(
            date_time(Some("2021-01-13T00:00:01.695158Z")).as_deref(),
            Some("2021-01-13T00:00:01.695158Z")
        );
        assert_eq!(
            date_time(Some("2023-07-17T18:28:47-06:00")).as_deref(),
            Some("2023-07-17T18:28:47-06:00")
        );
        assert_eq!(date_time(Some("2014")), None);
        assert_eq!(
            cyclonedx_justification("vulnerable_code_not_in_execute_path (code_not_reachable)"),
            Some("code_not_reachable")
        );
    }
}
