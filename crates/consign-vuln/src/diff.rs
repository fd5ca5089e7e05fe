//! What changed between two releases' findings: which vulnerabilities an update fixed and which
//! it introduced, for `consign sbom diff`. Findings are compared by vulnerability id and
//! component name (a bom-ref usually carries the version, which is what changed).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::matching::Finding;

/// One vulnerability in one component, on either side.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Change {
    /// The vulnerability.
    pub id: String,
    /// The component's name.
    pub component: String,
    /// Its release before (absent for an introduced one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// Its release after (absent for a fixed one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// The difference.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VulnDiff {
    /// In the old release, not in the new one.
    pub fixed: Vec<Change>,
    /// In the new release, not in the old one.
    pub introduced: Vec<Change>,
    /// In both.
    pub unchanged: Vec<Change>,
}

/// Compares the affected findings of two releases (findings of unknown certainty are ignored:
/// they say nothing about a change).
pub fn diff(before: &[Finding], after: &[Finding]) -> VulnDiff {
    use crate::matching::Certainty::Affected;
    let key = |f: &Finding| (f.id.clone(), f.component.clone());
    let old: BTreeMap<_, _> = before
        .iter()
        .filter(|f| f.certainty == Affected)
        .map(|f| (key(f), f))
        .collect();
    let new: BTreeMap<_, _> = after
        .iter()
        .filter(|f| f.certainty == Affected)
        .map(|f| (key(f), f))
        .collect();
    let mut out = VulnDiff::default();
    for (k, f) in &old {
        let change = Change {
            id: k.0.clone(),
            component: k.1.clone(),
            before: f.version.clone(),
            after: new.get(k).and_then(|n| n.version.clone()),
        };
        if new.contains_key(k) {
            out.unchanged.push(change);
        } else {
            out.fixed.push(change);
        }
    }
    for (k, f) in &new {
        if !old.contains_key(k) {
            out.introduced.push(Change {
                id: k.0.clone(),
                component: k.1.clone(),
                before: None,
                after: f.version.clone(),
            });
        }
    }
    out
}
