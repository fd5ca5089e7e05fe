//! SPDX licence expressions: which texts are one, in their canonical spelling.
//!
//! Licence fields come from strangers (package databases, product files, suppliers' SBOMs) and
//! are often free text ("GPLv2", "BSD", "GPL-2.0 LGPL-2.1"). An SBOM that puts such text where an
//! SPDX expression belongs is rejected by SPDX tools, so every licence is checked here first:
//! identifiers against the SPDX licence list that CycloneDX vendors (`schemas/cyclonedx/
//! spdx.schema.json`, licences and exceptions in one list), `LicenseRef-`/`DocumentRef-`
//! references, `+`, `AND`, `OR`, `WITH` and parentheses (SPDX 2.3 annex D).

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::cyclonedx::{Acknowledgement, Component, LicenseChoice};

/// Longest expression read, and deepest nesting: licence fields are short.
const MAX_LEN: usize = 4096;
const MAX_DEPTH: usize = 16;

/// Every SPDX id (licences and exceptions), keyed by its lower-case form (SPDX ids are
/// case-insensitive), mapped to its canonical spelling.
fn ids() -> &'static HashMap<String, String> {
    static IDS: OnceLock<HashMap<String, String>> = OnceLock::new();
    IDS.get_or_init(|| {
        let text = include_str!("../../../schemas/cyclonedx/spdx.schema.json");
        serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|schema| schema.get("enum").and_then(|e| e.as_array()).cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(serde_json::Value::as_str)
            .map(|id| (id.to_ascii_lowercase(), id.to_owned()))
            .collect()
    })
}

/// `text` as a valid SPDX licence expression in canonical spelling (known ids as the list spells
/// them, operators in upper case, single spaces), or `None` when it is not one.
pub fn spdx_expression(text: &str) -> Option<String> {
    if text.len() > MAX_LEN {
        return None;
    }
    let tokens = tokens(text)?;
    let mut parser = Parser {
        tokens: &tokens,
        at: 0,
    };
    let expression = parser.expression(0)?;
    (parser.at == tokens.len()).then_some(expression)
}

/// True when `expression` is one id of the SPDX licence list, as spelled there: what CycloneDX
/// accepts as `license.id` (a `LicenseRef-`, a `+` or an operator needs the `expression` form).
pub(crate) fn is_listed_id(expression: &str) -> bool {
    ids()
        .get(&expression.to_ascii_lowercase())
        .is_some_and(|canonical| canonical == expression)
}

/// Several licences that all apply, as one expression: the only one as it is, several each in
/// parentheses and joined with `AND`; `None` for none.
pub(crate) fn all_of(expressions: &[String]) -> Option<String> {
    match expressions {
        [] => None,
        [one] => Some(one.clone()),
        many => Some(
            many.iter()
                .map(|e| format!("({e})"))
                .collect::<Vec<_>>()
                .join(" AND "),
        ),
    }
}

/// The licences of `component` with `acknowledgement` (`declared` also takes licences without
/// one, as SBOMs before CycloneDX 1.6 write them) as one valid SPDX expression joined with `AND`;
/// `None` when there is none or any one is not an SPDX expression (a partial answer would claim
/// less than the component carries). The SPDX 2.3 and 3.0.1 exports both ask here.
pub(crate) fn of_component(
    component: &Component,
    acknowledgement: &Acknowledgement,
) -> Option<String> {
    let wanted = |given: Option<&Acknowledgement>| match given {
        Some(given) => given == acknowledgement,
        None => *acknowledgement == Acknowledgement::Declared,
    };
    let expressions: Option<Vec<String>> = component
        .licenses
        .iter()
        .filter_map(|choice| match choice {
            LicenseChoice::Expression {
                expression,
                acknowledgement,
            } => wanted(acknowledgement.as_ref()).then(|| spdx_expression(expression)),
            LicenseChoice::License { license } => wanted(license.acknowledgement.as_ref())
                .then(|| license.id.as_deref().and_then(spdx_expression)),
        })
        .collect();
    all_of(&expressions?)
}

fn tokens(text: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for word in text
        .replace('(', " ( ")
        .replace(')', " ) ")
        .split_whitespace()
    {
        out.push(word.to_owned());
    }
    (!out.is_empty()).then_some(out)
}

struct Parser<'a> {
    tokens: &'a [String],
    at: usize,
}

impl Parser<'_> {
    fn peek_operator(&self, operator: &str) -> bool {
        self.tokens
            .get(self.at)
            .is_some_and(|t| t.eq_ignore_ascii_case(operator))
    }

    /// expression := term ("OR" term)*
    fn expression(&mut self, depth: usize) -> Option<String> {
        let mut out = self.term(depth)?;
        while self.peek_operator("OR") {
            self.at += 1;
            out = format!("{out} OR {}", self.term(depth)?);
        }
        Some(out)
    }

    /// term := factor ("AND" factor)*
    fn term(&mut self, depth: usize) -> Option<String> {
        let mut out = self.factor(depth)?;
        while self.peek_operator("AND") {
            self.at += 1;
            out = format!("{out} AND {}", self.factor(depth)?);
        }
        Some(out)
    }

    /// factor := "(" expression ")" | licence ["WITH" exception]
    fn factor(&mut self, depth: usize) -> Option<String> {
        let token = self.tokens.get(self.at)?;
        self.at += 1;
        if token == "(" {
            if depth >= MAX_DEPTH {
                return None;
            }
            let inner = self.expression(depth + 1)?;
            (self.tokens.get(self.at)? == ")").then_some(())?;
            self.at += 1;
            return Some(format!("({inner})"));
        }
        let licence = licence(token)?;
        if self.peek_operator("WITH") {
            self.at += 1;
            let exception = ids().get(&self.tokens.get(self.at)?.to_ascii_lowercase())?;
            self.at += 1;
            return Some(format!("{licence} WITH {exception}"));
        }
        Some(licence)
    }
}

/// One licence: a listed id (with `+` for "or later"), or a user-defined reference.
fn licence(token: &str) -> Option<String> {
    let is_idstring = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    };
    if let Some(rest) = token.strip_prefix("LicenseRef-") {
        return is_idstring(rest).then(|| token.to_owned());
    }
    if let Some(rest) = token.strip_prefix("DocumentRef-") {
        let (document, licence) = rest.split_once(":LicenseRef-")?;
        return (is_idstring(document) && is_idstring(licence)).then(|| token.to_owned());
    }
    let (id, plus) = match token.strip_suffix('+') {
        Some(id) => (id, "+"),
        None => (token, ""),
    };
    let canonical = ids().get(&id.to_ascii_lowercase())?;
    Some(format!("{canonical}{plus}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_expressions_in_canonical_spelling() {
        for (text, want) in [
            ("MIT", "MIT"),
            ("gpl-2.0-only", "GPL-2.0-only"),
            ("GPL-2.0+", "GPL-2.0+"),
            ("LGPL-2.1-or-later", "LGPL-2.1-or-later"),
            ("MIT or Apache-2.0", "MIT OR Apache-2.0"),
            (
                "(MIT OR BSD-3-Clause)  AND ISC",
                "(MIT OR BSD-3-Clause) AND ISC",
            ),
            (
                "GPL-2.0-only WITH Linux-syscall-note",
                "GPL-2.0-only WITH Linux-syscall-note",
            ),
            (
                "LicenseRef-Example-EULA AND GPL-2.0-only",
                "LicenseRef-Example-EULA AND GPL-2.0-only",
            ),
            (
                "DocumentRef-spdx-tool-1.2:LicenseRef-MIT-Style-2",
                "DocumentRef-spdx-tool-1.2:LicenseRef-MIT-Style-2",
            ),
        ] {
            assert_eq!(spdx_expression(text).as_deref(), Some(want), "{text}");
        }
    }

    /// What package databases write when they do not write SPDX.
    #[test]
    fn free_text_is_not_an_expression() {
        for text in [
            "",
            "GPLv2",
            "BSD",
            "GPL-2.0 LGPL-2.1",
            "MIT AND",
            "(MIT",
            "MIT)",
            "MIT WITH",
            "MIT WITH MIT-nonexistent-exception",
            "LicenseRef-",
            "LicenseRef-a b",
            "Public Domain",
            "see COPYING",
        ] {
            assert_eq!(spdx_expression(text), None, "{text:?}");
        }
        let deep = format!("{}MIT{}", "(".repeat(100), ")".repeat(100));
        assert_eq!(spdx_expression(&deep), None);
        assert_eq!(spdx_expression(&"MIT AND ".repeat(1000)), None);
    }

    /// The knowledge base's facts are written into every SBOM as consign's conclusion, so each
    /// signature's `license` must be an SPDX expression in canonical spelling and its `homepage`
    /// a web address.
    #[test]
    fn signature_licences_are_canonical_spdx() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../consign-detect/signatures");
        let mut with_facts = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let value: toml::Value =
                toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            if let Some(licence) = value.get("license").and_then(toml::Value::as_str) {
                assert_eq!(
                    spdx_expression(licence).as_deref(),
                    Some(licence),
                    "{}",
                    path.display()
                );
                with_facts += 1;
            }
            if let Some(homepage) = value.get("homepage").and_then(toml::Value::as_str) {
                assert!(
                    homepage.starts_with("https://") || homepage.starts_with("http://"),
                    "{}: {homepage}",
                    path.display()
                );
            }
        }
        assert!(with_facts >= 79, "{with_facts} signatures with a licence");
    }
}
