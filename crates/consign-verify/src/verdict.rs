//! The verdict: one result per check, and whether the shipment is accepted.

use serde::{Deserialize, Serialize};

/// The value of a verdict's `format` field.
pub const FORMAT: &str = "consign-verdict/v1";

/// How a check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The requirement is met.
    Pass,
    /// The requirement is not met and the policy makes that a rejection.
    Fail,
    /// Something to look at; it does not reject.
    Warn,
    /// The check did not apply (not in the policy, no inputs, or planned for later).
    NotApplicable,
}

impl Status {
    /// The word used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::NotApplicable => "not-applicable",
        }
    }
}

/// One check's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The check id (`support.not-expired`).
    pub id: String,
    /// Its group.
    pub group: String,
    /// What it checks.
    pub title: String,
    /// How it came out.
    pub status: Status,
    /// Why, naming the artifact, field and value.
    pub reason: String,
    /// What would fix it, when it did not pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// The requirements it answers.
    pub requirements: Vec<String>,
    /// SHA-256 of the evidence it rested on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
}

/// A piece of evidence the verdict rested on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceItem {
    /// Path inside the shipment.
    pub path: String,
    /// Its role.
    pub role: String,
    /// SHA-256 of its bytes as read (the manifest's, when absent).
    pub sha256: String,
}

/// The product the verdict is about, as its trusted release attestation names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductRef {
    /// The key used for "the same product" (manufacturer, model, hardware revision).
    pub key: String,
    /// Manufacturer name.
    pub manufacturer: Option<String>,
    /// Product name.
    pub name: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Firmware version.
    pub firmware_version: Option<String>,
}

/// How many checks came out each way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Passed.
    pub pass: usize,
    /// Failed.
    pub fail: usize,
    /// Warned.
    pub warn: usize,
    /// Not applicable.
    pub not_applicable: usize,
}

/// The verdict on one shipment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Always [`FORMAT`].
    pub format: String,
    /// The shipment's name.
    pub shipment: String,
    /// SHA-256 of its manifest.
    pub shipment_sha256: String,
    /// The policy id.
    pub policy: String,
    /// SHA-256 of the resolved policy.
    pub policy_sha256: String,
    /// SHA-256 of the trust store file.
    pub trust_sha256: String,
    /// The check date (`YYYY-MM-DD`).
    pub checked_at: String,
    /// True when no check failed.
    pub accepted: bool,
    /// The product, when a trusted release attestation names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<ProductRef>,
    /// The product's support end, when declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_end: Option<String>,
    /// How many checks came out each way.
    pub counts: Counts,
    /// One result per check the verifier knows, in catalogue order.
    pub results: Vec<CheckResult>,
    /// The vulnerability database `vulnerabilities.known` matched against: its sources, their
    /// dates and digests, so a later reader knows what was known when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vulnerability_database: Option<consign_vuln::db::DbInfo>,
    /// The evidence: every artifact of the shipment with its digest.
    pub evidence: Vec<EvidenceItem>,
}

impl Verdict {
    /// The results that failed.
    pub fn failures(&self) -> impl Iterator<Item = &CheckResult> {
        self.results.iter().filter(|r| r.status == Status::Fail)
    }

    /// One result by id.
    pub fn result(&self, id: &str) -> Option<&CheckResult> {
        self.results.iter().find(|r| r.id == id)
    }
}
