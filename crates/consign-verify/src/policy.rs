//! Policy as data: which checks run, how much a failure weighs, the requirement each answers.
//!
//! # Format (TOML or JSON, `consign-policy/v1`)
//!
//! ```toml
//! format = "consign-policy/v1"
//! id = "acme-import"
//! title = "Acme's import policy"
//! extends = "eu-cra-import"          # a built-in profile; optional
//!
//! [checks."support.minimum-length"]
//! min-years = 7                      # override one value
//!
//! [checks."sbom.profile"]
//! severity = "warn"                  # fail | warn | off
//!
//! [checks."vulnerabilities.known"]
//! when-unavailable = "warn"          # fail (default) | warn | not-applicable
//! ```
//!
//! A policy lists checks by id (see [`CHECKS`]). Each has a `severity` (`fail`: a failed check
//! rejects the shipment; `warn`: it is reported only; `off`: not run), what happens when it
//! cannot run (`when-unavailable`: by default a check the policy requires that cannot run, for
//! want of a vulnerability database or with the re-scan turned off, is a failure; `warn` or
//! `not-applicable` says otherwise for that check, explicitly), the `requirements` it
//! answers (`cra:art19-2`, `etsi-en-303-645:5.3-13`, `uk-psti:sch1-3`, ...) and parameters. A
//! file that `extends` a profile starts from the profile's checks and overrides field by field;
//! a check it adds must name its requirements. Unknown fields, check ids or parameters a check
//! does not take are errors. Checks absent from the resolved policy are not run, and the verdict
//! says so. The built-in profiles live in `crates/consign-verify/profiles/` and the JSON schema
//! in `schemas/policy/policy.schema.json`.

use std::collections::BTreeMap;

use consign_model::Sha256;
use serde::{Deserialize, Serialize};

use crate::error::{VerifyError, cut};
use crate::trust::Role;

/// The value of a policy's `format` field.
pub const FORMAT: &str = "consign-policy/v1";

/// What a check's failure does to the verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// A failure rejects the shipment.
    Fail,
    /// A failure is reported as a warning; the shipment may still be accepted.
    Warn,
    /// The check is not run.
    Off,
}

/// What a check the policy runs does when it cannot run (see [`crate::checks`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WhenUnavailable {
    /// A failure with its reason (the default: fail closed).
    Fail,
    /// A warning with its reason; the shipment may still be accepted.
    Warn,
    /// Not-applicable with its reason: the policy accepts that the check did not run.
    NotApplicable,
}

pub use crate::checks::{CHECKS, Check, find as check_info};

/// One check's settings as written in a policy file; every field is optional so that a file can
/// override one value of a profile.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CheckConfig {
    /// What a failure does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// The requirement references it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirements: Option<Vec<String>>,
    /// What happens when the check cannot run (what it needs is missing or was not built):
    /// `fail` (the default), `warn` or `not-applicable`. Any check takes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when_unavailable: Option<WhenUnavailable>,
    /// `support.minimum-length`: years the support period must still run at the check date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_years: Option<u32>,
    /// `sbom.valid`: lowest CycloneDX spec version accepted (`1.6`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_spec_version: Option<String>,
    /// `sbom.profile`: `bsi` (TR-03183-2) or `ntia`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// `security.passwords`: allowed schemes (`unique-per-device`, `user-defined`, `none`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<String>>,
    /// `conformity.notified-body`: product classes that need one (`important-class-ii`, `critical`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<String>>,
    /// `conformity.uk-statement`: labels accepted instead of a statement of compliance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_labels: Option<Vec<String>>,
    /// `integrity.threshold`: distinct trusted keys needed per role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<BTreeMap<Role, u32>>,
    /// `integrity.required`: attestation kinds that must be present (`product`, `sbom`,
    /// `component`, `custody`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require: Option<Vec<String>>,
}

impl CheckConfig {
    fn set_params(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.min_years.is_some() {
            out.push("min-years");
        }
        if self.min_spec_version.is_some() {
            out.push("min-spec-version");
        }
        if self.profile.is_some() {
            out.push("profile");
        }
        if self.allowed.is_some() {
            out.push("allowed");
        }
        if self.classes.is_some() {
            out.push("classes");
        }
        if self.accepted_labels.is_some() {
            out.push("accepted-labels");
        }
        if self.thresholds.is_some() {
            out.push("thresholds");
        }
        if self.require.is_some() {
            out.push("require");
        }
        out
    }

    /// Fills the fields `self` leaves unset from `base`.
    fn over(self, base: &CheckConfig) -> CheckConfig {
        CheckConfig {
            severity: self.severity.or(base.severity),
            requirements: self.requirements.or_else(|| base.requirements.clone()),
            when_unavailable: self.when_unavailable.or(base.when_unavailable),
            min_years: self.min_years.or(base.min_years),
            min_spec_version: self
                .min_spec_version
                .or_else(|| base.min_spec_version.clone()),
            profile: self.profile.or_else(|| base.profile.clone()),
            allowed: self.allowed.or_else(|| base.allowed.clone()),
            classes: self.classes.or_else(|| base.classes.clone()),
            accepted_labels: self
                .accepted_labels
                .or_else(|| base.accepted_labels.clone()),
            thresholds: self.thresholds.or_else(|| base.thresholds.clone()),
            require: self.require.or_else(|| base.require.clone()),
        }
    }
}

/// A policy file as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// The policy's id, recorded in verdicts.
    pub id: String,
    /// A title for reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A built-in profile to start from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    /// The checks, by id.
    #[serde(default)]
    pub checks: BTreeMap<String, CheckConfig>,
}

/// A check as the resolved policy runs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolicyCheck {
    /// What a failure does.
    pub severity: Severity,
    /// The requirement references it answers.
    pub requirements: Vec<String>,
    /// All settings, for the parameters.
    pub config: CheckConfig,
}

/// A resolved policy: a profile with a user's overrides applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// The id.
    pub id: String,
    /// The title.
    pub title: String,
    /// The profile it extends, if any.
    pub extends: Option<String>,
    /// The checks it runs, by id.
    pub checks: BTreeMap<String, PolicyCheck>,
    /// SHA-256 of the resolved policy's canonical JSON, recorded in verdicts.
    #[serde(skip)]
    pub sha256: Sha256,
}

/// The built-in profiles: name and TOML text.
pub const PROFILES: &[(&str, &str)] = &[
    (
        "eu-cra-import",
        include_str!("../profiles/eu-cra-import.toml"),
    ),
    (
        "uk-psti-retail",
        include_str!("../profiles/uk-psti-retail.toml"),
    ),
];

impl Policy {
    /// A built-in profile by name.
    pub fn builtin(name: &str) -> Result<Self, VerifyError> {
        let (_, text) = PROFILES
            .iter()
            .find(|(profile, _)| *profile == name)
            .ok_or_else(|| VerifyError::Policy {
                name: name.to_owned(),
                reason: format!(
                    "no built-in profile of this name; the profiles are {}",
                    PROFILES
                        .iter()
                        .map(|(n, _)| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
        let file = parse_file(name, text, false)?;
        if file.extends.is_some() {
            return Err(VerifyError::Policy {
                name: name.to_owned(),
                reason: "a built-in profile cannot extend another".to_owned(),
            });
        }
        resolve(name, file, None)
    }

    /// A user policy file; `json` says whether `text` is JSON (else TOML). `name` is for messages.
    pub fn from_text(name: &str, text: &str, json: bool) -> Result<Self, VerifyError> {
        let file = parse_file(name, text, json)?;
        let base = match &file.extends {
            Some(profile) => Some(Policy::builtin(profile)?),
            None => None,
        };
        resolve(name, file, base.as_ref())
    }

    /// The check's settings, when the policy runs it (severity not `off`).
    pub fn check(&self, id: &str) -> Option<&PolicyCheck> {
        self.checks
            .get(id)
            .filter(|check| check.severity != Severity::Off)
    }
}

fn parse_file(name: &str, text: &str, json: bool) -> Result<PolicyFile, VerifyError> {
    let parsed = if json {
        crate::error::read_json::<PolicyFile>(
            text.as_bytes(),
            &consign_model::json::JsonLimits {
                max_bytes: 4 << 20,
                max_depth: 16,
            },
        )
        .map_err(|err| err.to_string())
    } else {
        toml::from_str::<PolicyFile>(text).map_err(|err| err.to_string())
    };
    let file = parsed.map_err(|reason| VerifyError::PolicyParse {
        name: name.to_owned(),
        reason: reason.trim().replace('\n', " "),
    })?;
    if file.format != FORMAT {
        return Err(VerifyError::Policy {
            name: name.to_owned(),
            reason: format!(
                "`format` is `{}`, expected `{FORMAT}`",
                cut(&file.format, 80)
            ),
        });
    }
    Ok(file)
}

fn resolve(name: &str, file: PolicyFile, base: Option<&Policy>) -> Result<Policy, VerifyError> {
    let bad = |reason: String| VerifyError::Policy {
        name: name.to_owned(),
        reason,
    };
    if file.id.trim().is_empty() {
        return Err(bad("`id` is empty".to_owned()));
    }
    let mut checks = base.map(|base| base.checks.clone()).unwrap_or_default();
    for (id, config) in file.checks {
        let info = check_info(&id).ok_or_else(|| {
            bad(format!(
                "unknown check `{}`; the checks are listed in crates/consign-verify/README.md",
                cut(&id, 80)
            ))
        })?;
        if let Some(param) = config
            .set_params()
            .into_iter()
            .find(|p| !info.params.contains(p))
        {
            return Err(bad(format!(
                "check `{id}` takes no parameter `{param}`{}",
                if info.params.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; it takes {}",
                        info.params
                            .iter()
                            .map(|p| format!("`{p}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            )));
        }
        let merged = match checks.get(&id) {
            Some(existing) => config.over(&existing.config),
            None => config,
        };
        let requirements = merged.requirements.clone().unwrap_or_default();
        if requirements.is_empty() {
            return Err(bad(format!(
                "check `{id}` names no `requirements`: every check says which requirement it answers"
            )));
        }
        let severity = merged.severity.unwrap_or(Severity::Fail);
        validate_params(&id, &merged).map_err(bad)?;
        checks.insert(
            id,
            PolicyCheck {
                severity,
                requirements,
                config: merged,
            },
        );
    }
    let mut policy = Policy {
        id: file.id,
        title: file.title.unwrap_or_else(|| name.to_owned()),
        extends: file.extends,
        checks,
        sha256: Sha256::of(b""),
    };
    let canonical = serde_json::to_vec(&policy).map_err(VerifyError::Json)?;
    policy.sha256 = Sha256::of(&canonical);
    Ok(policy)
}

fn validate_params(id: &str, config: &CheckConfig) -> Result<(), String> {
    if let Some(version) = &config.min_spec_version
        && parse_spec_version(version).is_none()
    {
        return Err(format!(
            "check `{id}` `min-spec-version` is `{}`, expected a version such as `1.6`",
            cut(version, 40)
        ));
    }
    if let Some(profile) = &config.profile
        && !matches!(profile.as_str(), "bsi" | "ntia")
    {
        return Err(format!(
            "check `{id}` `profile` is `{}`, expected `bsi` or `ntia`",
            cut(profile, 40)
        ));
    }
    for scheme in config.allowed.iter().flatten() {
        if !matches!(
            scheme.as_str(),
            "unique-per-device" | "user-defined" | "none"
        ) {
            return Err(format!(
                "check `{id}` `allowed` has `{}`; the schemes are `unique-per-device`, `user-defined`, `none`",
                cut(scheme, 40)
            ));
        }
    }
    for kind in config.require.iter().flatten() {
        if !matches!(
            kind.as_str(),
            "product" | "sbom" | "component" | "custody" | "provenance"
        ) {
            return Err(format!(
                "check `{id}` `require` has `{}`; the kinds are `product`, `sbom`, `component`, `custody`, `provenance`",
                cut(kind, 40)
            ));
        }
    }
    if id == "support.minimum-length" && config.min_years.is_none() {
        return Err(format!("check `{id}` needs `min-years`"));
    }
    Ok(())
}

/// Parses `major.minor` into a comparable pair.
pub fn parse_spec_version(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_load_and_name_requirements() {
        for (name, _) in PROFILES {
            let policy = Policy::builtin(name).unwrap();
            assert_eq!(&policy.id, name);
            assert!(policy.checks.len() >= 10, "{name}");
            for (id, check) in &policy.checks {
                assert!(check_info(id).is_some(), "{id}");
                assert!(!check.requirements.is_empty(), "{id}");
            }
        }
        let cra = Policy::builtin("eu-cra-import").unwrap();
        assert_eq!(
            cra.check("support.minimum-length")
                .unwrap()
                .config
                .min_years,
            Some(5)
        );
        assert!(cra.check("conformity.ce-marking").is_some());
        let psti = Policy::builtin("uk-psti-retail").unwrap();
        assert!(psti.check("conformity.uk-statement").is_some());
        assert!(psti.check("conformity.ce-marking").is_none());
    }

    #[test]
    fn user_file_overrides_field_by_field() {
        let text = r#"
format = "consign-policy/v1"
id = "acme"
title = "Acme"
extends = "eu-cra-import"
[checks."support.minimum-length"]
min-years = 7
[checks."sbom.profile"]
severity = "off"
"#;
        let policy = Policy::from_text("acme.toml", text, false).unwrap();
        let base = Policy::builtin("eu-cra-import").unwrap();
        let minimum = policy.check("support.minimum-length").unwrap();
        assert_eq!(minimum.config.min_years, Some(7));
        assert_eq!(
            minimum.requirements,
            base.checks["support.minimum-length"].requirements
        );
        assert_eq!(
            minimum.severity,
            base.checks["support.minimum-length"].severity
        );
        assert!(policy.check("sbom.profile").is_none());
        assert_ne!(policy.sha256, base.sha256);
        // The same policy in JSON resolves to the same digest.
        let json = r#"{"format":"consign-policy/v1","id":"acme","title":"Acme","extends":"eu-cra-import","checks":{"support.minimum-length":{"min-years":7},"sbom.profile":{"severity":"off"}}}"#;
        assert_eq!(
            Policy::from_text("acme.json", json, true).unwrap().sha256,
            policy.sha256
        );
    }

    #[track_caller]
    fn check_err(body: &str, expect: &str) {
        let text = format!(
            "format = \"consign-policy/v1\"\nid = \"p\"\nextends = \"eu-cra-import\"\n{body}"
        );
        assert_eq!(
            Policy::from_text("p.toml", &text, false)
                .unwrap_err()
                .to_string(),
            expect
        );
    }

    #[test]
    fn errors() {
        check_err(
            "[checks.\"made.up\"]\nseverity = \"warn\"",
            "policy `p.toml`: unknown check `made.up`; the checks are listed in crates/consign-verify/README.md",
        );
        check_err(
            "[checks.\"sbom.valid\"]\nmin-years = 3",
            "policy `p.toml`: check `sbom.valid` takes no parameter `min-years`; it takes `min-spec-version`",
        );
        check_err(
            "[checks.\"security.passwords\"]\nallowed = [\"admin\"]",
            "policy `p.toml`: check `security.passwords` `allowed` has `admin`; the schemes are `unique-per-device`, `user-defined`, `none`",
        );
        let err = Policy::from_text(
            "p.toml",
            "format = \"consign-policy/v1\"\nid = \"p\"\nsurprise = 1",
            false,
        )
        .unwrap_err();
        assert!(matches!(err, VerifyError::PolicyParse { .. }), "{err}");
        let err = Policy::from_text("p.toml", "format = \"consign-policy/v1\"\nid = \"p\"\n[checks.\"sbom.valid\"]\nseverity = \"warn\"", false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "policy `p.toml`: check `sbom.valid` names no `requirements`: every check says which requirement it answers"
        );
        // Issue 13, item 2: duplicate keys, JSON and TOML alike.
        let err = Policy::from_text(
            "p.json",
            r#"{"format":"consign-policy/v1","id":"p","extends":"eu-cra-import","checks":{"sbom.valid":{"severity":"warn","severity":"off"}}}"#,
            true,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("duplicate key `/checks/sbom.valid/severity`"),
            "{err}"
        );
        let err = Policy::from_text(
            "p.toml",
            "format = \"consign-policy/v1\"\nid = \"p\"\nid = \"q\"\n",
            false,
        )
        .unwrap_err();
        assert!(matches!(err, VerifyError::PolicyParse { .. }), "{err}");
        let err = Policy::builtin("us-fcc").unwrap_err();
        assert_eq!(
            err.to_string(),
            "policy `us-fcc`: no built-in profile of this name; the profiles are `eu-cra-import`, `uk-psti-retail`"
        );
    }
}
