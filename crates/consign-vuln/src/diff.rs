//! What changed between two releases' findings: which vulnerabilities an update fixed and which
//! it introduced, for `consign sbom diff`. Findings are compared by vulnerability id and
//! component name (a bom-ref usually carries the version, which is what changed).
//!
//! VEX decides what counts on each side ([`crate::report::State::counts`]): a vulnerability the
//! manufacturer states `not_affected` or `fixed` in a release does not count in it. So a change
//! whose new release matches a record but is covered by such a statement introduces nothing; it
//! is listed apart ([`VulnDiff::resolved_by_vex`]) with the statement's reason, and a fix the
//! manufacturer states (a backported patch under an unchanged version) is a fix, with its reason.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::matching::Certainty;
use crate::report::Assessed;

/// One vulnerability in one component, on either side.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Change {
    /// The vulnerability.
    pub id: String,
    /// The component's name.
    pub component: String,
    /// Its release before (absent when the old release does not match the record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// Its release after (absent when the new release does not match the record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// The VEX statement about the old release that decided its side, as a reason
    /// (`not_affected: vulnerable_code_not_present (...)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vex_before: Option<String>,
    /// The VEX statement about the new release that decided its side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vex_after: Option<String>,
}

/// The difference.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VulnDiff {
    /// Counted in the old release, not in the new one (the record no longer matches, or a VEX
    /// statement about the new release resolves it).
    pub fixed: Vec<Change>,
    /// Counted in the new release, not in the old one.
    pub introduced: Vec<Change>,
    /// Counted in both.
    pub unchanged: Vec<Change>,
    /// Matched by a record in the new release (introduced or kept by the ranges alone) but
    /// counted on neither side, because VEX statements resolve it: listed with their reasons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved_by_vex: Vec<Change>,
}

/// Compares the affected findings of two releases after VEX (findings of unknown certainty
/// are ignored: they say nothing about a change).
pub fn diff(before: &[Assessed], after: &[Assessed]) -> VulnDiff {
    let side = |list: &[Assessed]| -> BTreeMap<(String, String), Assessed> {
        list.iter()
            .filter(|a| a.finding.certainty == Certainty::Affected)
            .map(|a| {
                (
                    (a.finding.id.clone(), a.finding.component.clone()),
                    a.clone(),
                )
            })
            .collect()
    };
    let (old, new) = (side(before), side(after));
    let keys: BTreeSet<&(String, String)> = old.keys().chain(new.keys()).collect();
    let mut out = VulnDiff::default();
    for key in keys {
        let (was, is) = (old.get(key), new.get(key));
        let counts = |a: Option<&Assessed>| a.is_some_and(|a| a.state.counts());
        let change = Change {
            id: key.0.clone(),
            component: key.1.clone(),
            before: was.and_then(|a| a.finding.version.clone()),
            after: is.and_then(|a| a.finding.version.clone()),
            vex_before: was.and_then(Assessed::vex_reason),
            vex_after: is.and_then(Assessed::vex_reason),
        };
        match (counts(was), counts(is)) {
            (true, true) => out.unchanged.push(change),
            (true, false) => out.fixed.push(change),
            (false, true) => out.introduced.push(change),
            (false, false) if is.is_some() => out.resolved_by_vex.push(change),
            // Matched only in the old release, and resolved there by VEX: nothing changed.
            (false, false) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::{Finding, RecordRef};
    use crate::record::Origin;
    use crate::report::apply_vex;
    use crate::sbom::targets_of;

    fn shared(path: &str) -> Vec<u8> {
        crate::test_support::vulndata(path)
    }

    /// What a record for CVE-2020-25649 (jackson-databind before 2.10.5.1) finds in `target`.
    fn finding(bom_ref: &str, version: &str) -> Finding {
        Finding {
            id: "CVE-2020-25649".into(),
            aliases: Vec::new(),
            bom_ref: bom_ref.into(),
            component: "jackson-databind".into(),
            version: Some(version.into()),
            certainty: Certainty::Affected,
            records: vec![RecordRef {
                origin: Origin::Nvd,
                id: "CVE-2020-25649".into(),
                modified: None,
            }],
            range: "before 2.10.5.1".into(),
            matched_by: "purl".into(),
            fix: Some("2.10.5.1".into()),
            rating: None,
            summary: None,
            published: None,
            kev: None,
            epss: None,
        }
    }

    /// CycloneDX's own VEX example: `vex.json` says the jackson-databind 2.10.0 of the BOM whose
    /// serial number is `3e671687-...` (a BOM-Link) is not affected by CVE-2020-25649. Its
    /// `bom.json` carries another serial number (`5f0f0da9-...`), so the statement does not
    /// cover that BOM as shipped; with the serial number the link names, it does. An update
    /// from a release without the library introduces the vulnerability, unless the statement
    /// covers the new release: then it is set aside, with its reason.
    #[test]
    fn real_cyclonedx_vex_sets_an_introduced_vulnerability_aside() {
        let bom: serde_json::Value =
            serde_json::from_slice(&shared("vex/cyclonedx/VEX/bom.json")).unwrap();
        let vex = crate::vex::parse("vex.json", &shared("vex/cyclonedx/VEX/vex.json")).unwrap();
        let shipped = targets_of("bom.json", &bom).unwrap();
        let jackson = shipped
            .targets
            .iter()
            .find(|t| t.name == "jackson-databind")
            .unwrap()
            .bom_ref
            .clone();
        let mut linked = shipped.clone();
        linked.subject.serial = Some("urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79".into());
        let assess = |targets: &crate::sbom::SbomTargets| {
            apply_vex(
                vec![finding(&jackson, "2.10.0")],
                &targets.targets,
                &targets.subject,
                &vex.statements,
            )
        };
        let out = diff(&[], &assess(&linked));
        assert!(out.introduced.is_empty(), "{out:?}");
        assert_eq!(out.resolved_by_vex.len(), 1, "{out:?}");
        let reason = out.resolved_by_vex[0].vex_after.as_deref().unwrap();
        assert!(
            reason.starts_with("not_affected: vulnerable_code_not_in_execute_path (code_not_reachable) (Automated dataflow analysis"),
            "{reason}"
        );
        // The BOM as shipped is another one: the same change introduces it.
        let out = diff(&[], &assess(&shipped));
        assert_eq!(out.introduced.len(), 1, "{out:?}");
        assert!(out.introduced[0].vex_after.is_none());
        assert!(out.resolved_by_vex.is_empty());
        // From the uncovered BOM to the covered one: fixed, with the statement's reason.
        let out = diff(&assess(&shipped), &assess(&linked));
        assert_eq!(out.fixed.len(), 1, "{out:?}");
        assert!(out.fixed[0].vex_after.is_some());
        assert!(out.unchanged.is_empty() && out.introduced.is_empty());
        // And back: introduced again, the old side's reason kept.
        let out = diff(&assess(&linked), &assess(&shipped));
        assert_eq!(out.introduced.len(), 1, "{out:?}");
        assert!(out.introduced[0].vex_before.is_some());
    }
}
