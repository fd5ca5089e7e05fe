//! The import check's decision (`vulnerabilities.known`), so that the verifier only calls it:
//! given what matching found after the trusted VEX statements, and the policy's thresholds,
//! which findings block the shipment and why.
//!
//! A finding blocks when it still counts (affected, or under investigation) and either it is
//! in CISA's KEV catalogue and the policy fails on KEV, or its severity is at or above the
//! policy's threshold. A finding without any rating blocks under a threshold too: its severity
//! is unknown, and unknown is not below anything. Findings for components of unknown release
//! never block (they are not affected-for-sure) but are counted in the reason.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::db::DbInfo;
use crate::record::Level;
use crate::report::{Assessed, Report};

/// What the policy asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Fail on any KEV-listed vulnerability not resolved by VEX.
    pub fail_on_kev: bool,
    /// Fail on any vulnerability at or above this severity not resolved by VEX.
    pub min_severity: Option<Level>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            fail_on_kev: true,
            min_severity: Some(Level::Critical),
        }
    }
}

/// One blocking finding and why it blocks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Blocking {
    /// The finding.
    pub finding: Assessed,
    /// `KEV-listed since 2022-05-04`, `critical 9.8 >= critical`, ...
    pub why: String,
}

/// The decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    /// True when nothing blocks.
    pub pass: bool,
    /// What blocks.
    pub blocking: Vec<Blocking>,
    /// Findings a VEX statement resolved (`not_affected`, `fixed`), with the statement.
    pub resolved: Vec<Assessed>,
    /// Open findings below the policy's thresholds.
    pub below_threshold: usize,
    /// Records that may apply to components of unknown release.
    pub unknown: usize,
    /// The database the decision rests on.
    pub database: DbInfo,
}

/// Decides `report` under `policy`.
pub fn assess(report: &Report, policy: &Policy) -> Assessment {
    let mut blocking = Vec::new();
    let mut resolved = Vec::new();
    let mut below_threshold = 0;
    for assessed in &report.findings {
        if !assessed.state.counts() {
            resolved.push(assessed.clone());
            continue;
        }
        let f = &assessed.finding;
        let mut why = Vec::new();
        if policy.fail_on_kev
            && let Some(kev) = &f.kev
        {
            why.push(format!(
                "KEV-listed since {} (CISA due date {})",
                kev.date_added, kev.due_date
            ));
        }
        if let Some(threshold) = policy.min_severity {
            match &f.rating {
                Some(rating) if rating.level >= threshold => why.push(match rating.score {
                    Some(score) => format!(
                        "{} {score:.1} ({}) >= {threshold}",
                        rating.level, rating.method
                    ),
                    None => format!("{} >= {threshold}", rating.level),
                }),
                Some(_) => {}
                None => why.push(format!(
                    "no severity rating, so not known to be below {threshold}"
                )),
            }
        }
        if why.is_empty() {
            below_threshold += 1;
        } else {
            blocking.push(Blocking {
                finding: assessed.clone(),
                why: why.join("; "),
            });
        }
    }
    Assessment {
        pass: blocking.is_empty(),
        blocking,
        resolved,
        below_threshold,
        unknown: report.unknown.len(),
        database: report.database.clone(),
    }
}

impl Blocking {
    /// One line: `CVE-2010-1234 in linux_kernel 2.6.33.2 (bom-ref): KEV-listed since ...;
    /// fix: update to 2.6.34 or later; CISA: Apply updates per vendor instructions.`
    pub fn line(&self) -> String {
        let f = &self.finding.finding;
        let mut text = format!(
            "{} in {} {} (`{}`): {}",
            f.id,
            f.component,
            f.version.as_deref().unwrap_or("?"),
            f.bom_ref,
            self.why
        );
        if let Some(fix) = &f.fix {
            let _ = write!(text, "; fix: {fix}");
        }
        if let Some(kev) = &f.kev
            && !kev.required_action.is_empty()
        {
            let _ = write!(text, "; CISA: {}", kev.required_action);
        }
        if let Some(reason) = self.finding.vex_reason() {
            let _ = write!(text, "; VEX: {reason}");
        }
        text
    }
}

impl Assessment {
    /// The sources the decision rests on, one line each: kinds, name, date, digest.
    pub fn sources_line(&self) -> String {
        self.database
            .sources
            .iter()
            .map(|s| {
                format!(
                    "{} `{}` dated {} (sha256 {})",
                    s.kinds,
                    s.name,
                    s.date.as_deref().unwrap_or("unknown"),
                    s.sha256
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The resolved findings, one line each, with the statement's reason.
    pub fn resolved_lines(&self) -> Vec<String> {
        self.resolved
            .iter()
            .map(|a| {
                format!(
                    "{} in {} {}: {}",
                    a.finding.id,
                    a.finding.component,
                    a.finding.version.as_deref().unwrap_or("?"),
                    a.vex_reason().unwrap_or_default()
                )
            })
            .collect()
    }
}
