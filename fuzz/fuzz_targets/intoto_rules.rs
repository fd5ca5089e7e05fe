//! Fuzz target: in-toto artifact rules, parsed from a layout's rule lists and applied to a link's
//! materials and products (with `MATCH ... FROM` another link), and the `fnmatch` patterns they
//! use: clear errors, never a panic, and no pattern that makes matching explode.
//!
//! The input is lines: a line starting with a rule keyword is a rule (words split on spaces),
//! any other line an artifact path, alternately a material and a product of step `a` and of
//! step `b`.
#![no_main]

use std::collections::BTreeMap;

use consign_attest::intoto::Link;
use consign_attest::intoto::rules::{ArtifactRule, ArtifactSet, apply_rules, fnmatch};
use serde_json::Map;

const KEYWORDS: [&str; 7] = [
    "match", "create", "delete", "modify", "allow", "disallow", "require",
];

fn link(name: &str) -> Link {
    Link {
        name: name.to_owned(),
        command: Vec::new(),
        materials: BTreeMap::new(),
        products: BTreeMap::new(),
        byproducts: Map::new(),
        environment: Map::new(),
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut rules = Vec::new();
    let mut patterns = Vec::new();
    let mut links = BTreeMap::from([("a".to_owned(), link("a")), ("b".to_owned(), link("b"))]);
    for (index, line) in text.lines().take(256).enumerate() {
        let words: Vec<String> = line.split(' ').map(str::to_owned).collect();
        let first = words
            .first()
            .map(|w| w.to_ascii_lowercase())
            .unwrap_or_default();
        if KEYWORDS.contains(&first.as_str()) {
            if let Ok(rule) = ArtifactRule::parse(&words) {
                patterns.push(rule.pattern.clone());
                rules.push(rule);
            }
            continue;
        }
        // A digest that differs between materials and products for some paths, so MODIFY and
        // MATCH see both outcomes.
        let digest = BTreeMap::from([("sha256".to_owned(), format!("{:064x}", index % 3))]);
        let step = if index % 4 < 2 { "a" } else { "b" };
        let Some(target) = links.get_mut(step) else {
            continue;
        };
        if index % 2 == 0 {
            target.materials.insert(line.to_owned(), digest);
        } else {
            target.products.insert(line.to_owned(), digest);
        }
    }
    for set in [ArtifactSet::Materials, ArtifactSet::Products] {
        let _ = apply_rules("step a", "a", set, &rules, &links);
    }
    for pattern in patterns.iter().take(16) {
        for path in links
            .values()
            .flat_map(|l| l.materials.keys().chain(l.products.keys()))
            .take(64)
        {
            let _ = fnmatch(path, pattern);
        }
    }
});
