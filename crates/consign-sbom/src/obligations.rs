//! The licence obligations of a firmware distributor (`consign sbom licences`): per licence, the
//! components under it and what whoever ships them in binary form must do, each obligation with
//! the clause of the licence it comes from.
//!
//! The table covers the licences firmware commonly carries; a licence it does not know is listed
//! with no obligations and says so, never with guessed ones. Where an expression offers a choice
//! (`MIT OR GPL-2.0-only`), every alternative is listed and marked as one; the distributor meets
//! the obligations of the one it picks. This is information for a compliance review, not legal
//! advice.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

/// One obligation, and where the licence says so.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Obligation {
    /// `source-offer`, `licence-text`, `notice`, `notice-file`, `state-changes`.
    pub kind: &'static str,
    /// What to do, one sentence.
    pub text: &'static str,
    /// The clause (`GPL-2.0 section 3`).
    pub source: &'static str,
}

/// A licence and the components under it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LicenceEntry {
    /// The SPDX id (`GPL-2.0-only`), or the text when it is not SPDX.
    pub licence: String,
    /// `name version` of each component under it.
    pub components: Vec<String>,
    /// Components for which it is one alternative of a choice (`OR`).
    pub as_alternative: Vec<String>,
    /// What a distributor of the firmware must do; empty when consign does not know the licence.
    pub obligations: Vec<Obligation>,
    /// False when the table has no entry for this licence.
    pub known: bool,
}

const SOURCE_OFFER_GPL2: Obligation = Obligation {
    kind: "source-offer",
    text: "ship the complete corresponding source code with the binaries, or a written offer, valid for at least three years, to give it to any third party",
    source: "GPL-2.0 section 3",
};
const SOURCE_OFFER_GPL3: Obligation = Obligation {
    kind: "source-offer",
    text: "convey the corresponding source with the object code, or a written offer valid for at least three years (and, in a user product, the installation information)",
    source: "GPL-3.0 section 6",
};
const SOURCE_OFFER_LGPL21: Obligation = Obligation {
    kind: "source-offer",
    text: "give the complete source of the library (and of your changes to it), or a written offer valid for at least three years, and let users relink the work with a modified library",
    source: "LGPL-2.1 sections 4 and 6",
};
const SOURCE_OFFER_LGPL3: Obligation = Obligation {
    kind: "source-offer",
    text: "convey the minimal corresponding source of the library and allow relinking with a modified version (with installation information in a user product)",
    source: "LGPL-3.0 section 4 (with GPL-3.0 section 6)",
};
const LICENCE_TEXT_GPL2: Obligation = Obligation {
    kind: "licence-text",
    text: "give every recipient a copy of the licence with the binaries",
    source: "GPL-2.0 section 1",
};
const LICENCE_TEXT_GPL3: Obligation = Obligation {
    kind: "licence-text",
    text: "give every recipient a copy of the licence with the object code",
    source: "GPL-3.0 section 4",
};
const NOTICE_BSD: Obligation = Obligation {
    kind: "notice",
    text: "reproduce the copyright notice, the list of conditions and the disclaimer in the documentation or other materials shipped with the binaries",
    source: "BSD licence clause 2",
};
const NOTICE_MIT: Obligation = Obligation {
    kind: "notice",
    text: "include the copyright notice and the permission notice in all copies or substantial portions",
    source: "MIT licence, second paragraph",
};
const NOTICE_ISC: Obligation = Obligation {
    kind: "notice",
    text: "keep the copyright notice and the permission notice with all copies",
    source: "ISC licence",
};
const NOTICE_APACHE: Obligation = Obligation {
    kind: "licence-text",
    text: "give every recipient a copy of the licence",
    source: "Apache-2.0 section 4(a)",
};
const NOTICE_FILE_APACHE: Obligation = Obligation {
    kind: "notice-file",
    text: "ship the attribution notices of the work's NOTICE file, if it has one, in a NOTICE text file, the documentation or a display",
    source: "Apache-2.0 section 4(d)",
};
const CHANGES_APACHE: Obligation = Obligation {
    kind: "state-changes",
    text: "mark files you changed with a prominent notice",
    source: "Apache-2.0 section 4(b)",
};
const NOTICE_ZLIB: Obligation = Obligation {
    kind: "notice",
    text: "keep the licence notice in source distributions and mark altered versions as such (binary distributions need no notice)",
    source: "Zlib licence, conditions 2 and 3",
};
const NOTICE_CURL: Obligation = Obligation {
    kind: "notice",
    text: "include the copyright notice and the permission notice in all copies",
    source: "curl licence",
};
const NOTICE_OPENSSL: Obligation = Obligation {
    kind: "notice",
    text: "reproduce the copyright notice, conditions and disclaimer in the documentation, and the acknowledgement of the OpenSSL Project in advertising materials",
    source: "OpenSSL licence clauses 2 and 3",
};

const NOTICE_BSD_STYLE: Obligation = Obligation {
    kind: "notice",
    text: "reproduce the copyright notice and the licence terms in the documentation or other materials shipped with the binaries",
    source: "the licence's binary-redistribution condition (BSD style)",
};
const NOTICE_SOURCE_ONLY: Obligation = Obligation {
    kind: "notice",
    text: "keep the notice in source distributions and mark altered versions plainly as such (binary distributions need no notice)",
    source: "the licence's conditions on source and altered versions (zlib style)",
};
const NOTICE_NTP: Obligation = Obligation {
    kind: "notice",
    text: "make the copyright notice and the permission notice appear in the supporting documentation",
    source: "NTP licence",
};
const NOTICE_TCP_WRAPPERS: Obligation = Obligation {
    kind: "notice",
    text: "duplicate the entire copyright notice in all copies, source and binary",
    source: "TCP-wrappers licence",
};
const NOTICE_IJG: Obligation = Obligation {
    kind: "notice",
    text: "state in the accompanying documentation that the software is based in part on the work of the Independent JPEG Group",
    source: "IJG licence condition (2)",
};
const NOTICE_AFL: Obligation = Obligation {
    kind: "notice",
    text: "keep all copyright, patent, trademark and attribution notices of the original work",
    source: "AFL-2.1 section 6",
};
const SOURCE_OFFER_EPL: Obligation = Obligation {
    kind: "source-offer",
    text: "make the source code available under the EPL and tell recipients how to obtain it in a reasonable manner",
    source: "EPL-2.0 section 3.1",
};
const SOURCE_OFFER_IPL: Obligation = Obligation {
    kind: "source-offer",
    text: "state that the source code is available from the contributor and tell recipients how to obtain it in a reasonable manner",
    source: "IPL-1.0 section 3",
};
const ATTRIBUTION_CC_BY: Obligation = Obligation {
    kind: "notice",
    text: "credit the creator, give the licence's URI and say whether the material was changed",
    source: "CC-BY-4.0 section 3(a)(1)",
};
const NOTICE_OFL: Obligation = Obligation {
    kind: "notice",
    text: "ship the copyright notice and the licence with the font software (embedded in the fonts or as text files beside them); do not sell the fonts on their own",
    source: "OFL-1.1 conditions 1 and 2",
};

const SOURCE_OFFER_MPL2: Obligation = Obligation {
    kind: "source-offer",
    text: "make the source code of the MPL-covered files available and tell recipients of the binaries how to obtain it",
    source: "MPL-2.0 section 3.2",
};
const SOURCE_OFFER_MPL11: Obligation = Obligation {
    kind: "source-offer",
    text: "make the source code of the covered code available and include a notice in the binaries' documentation saying where it is",
    source: "MPL-1.1 sections 3.2 and 3.6",
};
const SOURCE_OFFER_CDDL: Obligation = Obligation {
    kind: "source-offer",
    text: "make the source code of the covered software available and tell recipients of the binaries how they can obtain it",
    source: "CDDL-1.0 section 3.1",
};
const SOURCE_OFFER_SLEEPYCAT: Obligation = Obligation {
    kind: "source-offer",
    text: "accompany every distribution with information on how to obtain the complete source of the DB software and of any software that uses it",
    source: "Sleepycat licence, clause 3",
};
const SOURCE_OFFER_GPL1: Obligation = Obligation {
    kind: "source-offer",
    text: "accompany the binaries with the complete source, or a written offer valid for at least three years to give it",
    source: "GPL-1.0 section 3",
};
const SOURCE_OFFER_ARTISTIC: Obligation = Obligation {
    kind: "source-offer",
    text: "distribute the standard version's source with the compiled form, or complete instructions on how to get it",
    source: "Artistic licence (1.0 clause 4, 2.0 section 5)",
};
const SOURCE_OFFER_RUBY: Obligation = Obligation {
    kind: "source-offer",
    text: "distribute the binaries with the source, or with instructions on where to get the original distribution, or rename non-standard binaries",
    source: "Ruby licence, clause 3",
};
const NOTICE_PERMISSIVE: Obligation = Obligation {
    kind: "notice",
    text: "keep the copyright notice and the permission notice in all copies, including the documentation shipped with the binaries",
    source: "the licence's notice condition (MIT style)",
};

/// What the distributor of binaries must do under `id` (an SPDX licence id, without `+`).
fn obligations(id: &str) -> Option<Vec<Obligation>> {
    let id = id.trim_end_matches('+');
    Some(match id {
        "GPL-2.0-only" | "GPL-2.0-or-later" | "GPL-2.0" => {
            vec![SOURCE_OFFER_GPL2, LICENCE_TEXT_GPL2]
        }
        "GPL-3.0-only" | "GPL-3.0-or-later" | "GPL-3.0" | "AGPL-3.0-only" | "AGPL-3.0-or-later" => {
            vec![SOURCE_OFFER_GPL3, LICENCE_TEXT_GPL3]
        }
        "LGPL-2.0-only" | "LGPL-2.0-or-later" | "LGPL-2.1-only" | "LGPL-2.1-or-later"
        | "LGPL-2.1" | "LGPL-2.0" => vec![SOURCE_OFFER_LGPL21, LICENCE_TEXT_GPL2],
        "LGPL-3.0-only" | "LGPL-3.0-or-later" | "LGPL-3.0" => {
            vec![SOURCE_OFFER_LGPL3, LICENCE_TEXT_GPL3]
        }
        "BSD-2-Clause" | "BSD-3-Clause" | "BSD-3-Clause-Clear" | "BSD-4-Clause" => {
            vec![NOTICE_BSD]
        }
        "MIT" | "X11" | "X11-distribute-modifications-variant" => vec![NOTICE_MIT],
        "ISC" => vec![NOTICE_ISC],
        "Apache-2.0" => vec![NOTICE_APACHE, NOTICE_FILE_APACHE, CHANGES_APACHE],
        "Zlib" => vec![NOTICE_ZLIB],
        "curl" => vec![NOTICE_CURL],
        "OpenSSL" | "SSLeay" => vec![NOTICE_OPENSSL],
        "SSH-OpenSSH"
        | "BSD-2-Clause-Patent"
        | "OLDAP-2.8"
        | "BSD-3-Clause-LBNL"
        | "BSD-Attribution-HPND-disclaimer"
        | "PHP-3.01"
        | "radvd"
        | "lsof" => {
            vec![NOTICE_BSD_STYLE]
        }
        "bzip2-1.0.6" | "libpng-2.0" | "BSL-1.0" => vec![NOTICE_SOURCE_ONLY],
        "NTP" => vec![NOTICE_NTP],
        "TCP-wrappers" => vec![NOTICE_TCP_WRAPPERS],
        "IJG" => vec![NOTICE_IJG],
        "AFL-2.1" => vec![NOTICE_AFL],
        "EPL-2.0" => vec![SOURCE_OFFER_EPL],
        "IPL-1.0" => vec![SOURCE_OFFER_IPL],
        "CC-BY-4.0" => vec![ATTRIBUTION_CC_BY],
        "MPL-2.0" => vec![SOURCE_OFFER_MPL2],
        "MPL-1.1" => vec![SOURCE_OFFER_MPL11],
        "CDDL-1.0" => vec![SOURCE_OFFER_CDDL],
        "Sleepycat" => vec![SOURCE_OFFER_SLEEPYCAT],
        "GPL-1.0-only" | "GPL-1.0-or-later" => vec![SOURCE_OFFER_GPL1],
        "Artistic-1.0-Perl" | "Artistic-1.0" | "Artistic-2.0" => vec![SOURCE_OFFER_ARTISTIC],
        "Ruby" => vec![SOURCE_OFFER_RUBY],
        "MIT-Modern-Variant" | "PostgreSQL" | "TCL" | "libtiff" | "xinetd" | "Python-2.0"
        | "GD" | "Unicode-3.0" => {
            vec![NOTICE_PERMISSIVE]
        }
        "OFL-1.1" => vec![NOTICE_OFL],
        // Public-domain dedications and the like ask nothing of a distributor.
        "0BSD" | "Unlicense" | "blessing" | "CC0-1.0" | "WTFPL" => Vec::new(),
        _ => return None,
    })
}

/// The licence ids of an expression, each with whether it sits inside an `OR` (a choice).
fn acknowledgement(choice: &Value) -> Option<&str> {
    choice
        .get("acknowledgement")
        .or_else(|| choice.get("license").and_then(|l| l.get("acknowledgement")))
        .and_then(Value::as_str)
}

fn ids(expression: &str) -> Vec<(String, bool)> {
    let has_choice = expression
        .split_whitespace()
        .any(|w| w.eq_ignore_ascii_case("OR"));
    let mut out = Vec::new();
    let mut after_with = false;
    for word in expression.replace(['(', ')'], " ").split_whitespace() {
        if word.eq_ignore_ascii_case("AND") || word.eq_ignore_ascii_case("OR") {
            continue;
        }
        if word.eq_ignore_ascii_case("WITH") {
            after_with = true;
            continue;
        }
        if after_with {
            // An exception adds permissions; the licence before it carries the obligations.
            after_with = false;
            continue;
        }
        out.push((word.to_owned(), has_choice));
    }
    out
}

/// The distribution licences of every component of a CycloneDX document (the concluded ones
/// when any are marked, else all), grouped by licence, with the obligations of each.
pub fn licence_report(bom: &Value) -> Vec<LicenceEntry> {
    let mut by_licence: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
    let mut stack: Vec<(&Value, usize)> = bom
        .get("metadata")
        .and_then(|m| m.get("component"))
        .into_iter()
        .chain(
            bom.get("components")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        )
        .map(|c| (c, 0))
        .collect();
    while let Some((component, depth)) = stack.pop() {
        if !component.is_object() || depth > 32 {
            continue;
        }
        if let Some(children) = component.get("components").and_then(Value::as_array) {
            stack.extend(children.iter().map(|c| (c, depth + 1)));
        }
        let name = component
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("(unnamed)");
        let label = match component.get("version").and_then(Value::as_str) {
            Some(version) => format!("{name} {version}"),
            None => name.to_owned(),
        };
        let list = component
            .get("licenses")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        let concluded: Vec<&Value> = list
            .iter()
            .filter(|c| acknowledgement(c) == Some("concluded"))
            .collect();
        let chosen: Vec<&Value> = if concluded.is_empty() {
            list.iter().collect()
        } else {
            concluded
        };
        for choice in chosen {
            let written = choice
                .get("expression")
                .and_then(Value::as_str)
                .or_else(|| {
                    choice
                        .get("license")
                        .and_then(|l| l.get("id").or_else(|| l.get("name")))
                        .and_then(Value::as_str)
                });
            let Some(written) = written else { continue };
            let entries = match crate::spdx_expression(written) {
                Some(expression) => ids(&expression),
                None => vec![(written.to_owned(), false)],
            };
            for (licence, alternative) in entries {
                let slot = by_licence.entry(licence).or_default();
                let target = if alternative {
                    &mut slot.1
                } else {
                    &mut slot.0
                };
                if !target.contains(&label) {
                    target.push(label.clone());
                }
            }
        }
    }
    by_licence
        .into_iter()
        .map(|(licence, (mut components, mut as_alternative))| {
            components.sort();
            as_alternative.sort();
            let found = obligations(&licence);
            LicenceEntry {
                known: found.is_some(),
                obligations: found.unwrap_or_default(),
                licence,
                components,
                as_alternative,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn obligations_per_licence_with_sources() {
        let bom = json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
            {"name": "busybox", "version": "1.36.1", "licenses": [{"license": {"id": "GPL-2.0-only", "acknowledgement": "concluded"}}]},
            {"name": "zstd", "version": "1.5.4", "licenses": [{"expression": "BSD-3-Clause OR GPL-2.0-only", "acknowledgement": "concluded"}]},
            {"name": "gcc", "licenses": [{"expression": "GPL-3.0-or-later WITH GCC-exception-3.1", "acknowledgement": "concluded"}]},
            {"name": "dropbear", "version": "2022.83", "licenses": [
                {"license": {"name": "MIT-ish", "acknowledgement": "declared"}},
                {"license": {"id": "MIT", "acknowledgement": "concluded"}}]},
            {"name": "vendor", "licenses": [{"license": {"name": "Example EULA"}}]},
            {"name": "mystery", "licenses": [{"license": {"id": "Bitstream-Vera"}}]},
        ]});
        let report = licence_report(&bom);
        let get = |id: &str| report.iter().find(|e| e.licence == id).unwrap();
        let gpl2 = get("GPL-2.0-only");
        assert_eq!(gpl2.components, ["busybox 1.36.1"]);
        assert_eq!(gpl2.as_alternative, ["zstd 1.5.4"]);
        assert_eq!(gpl2.obligations[0].kind, "source-offer");
        assert_eq!(gpl2.obligations[0].source, "GPL-2.0 section 3");
        assert_eq!(get("BSD-3-Clause").obligations[0].kind, "notice");
        // The exception is not a licence of its own.
        assert!(report.iter().all(|e| e.licence != "GCC-exception-3.1"));
        assert_eq!(
            get("GPL-3.0-or-later").obligations[0].source,
            "GPL-3.0 section 6"
        );
        // The distribution licence, not the declared one.
        assert_eq!(get("MIT").components, ["dropbear 2022.83"]);
        assert!(report.iter().all(|e| e.licence != "MIT-ish"));
        // Not SPDX, or not in the table: listed, with no obligations guessed.
        for unknown in ["Example EULA", "Bitstream-Vera"] {
            let entry = get(unknown);
            assert!(!entry.known && entry.obligations.is_empty(), "{unknown}");
        }
    }

    /// Every licence the knowledge base concludes for a product has obligations in the table
    /// (or is a `LicenseRef-` consign cannot know).
    #[test]
    fn every_knowledge_base_licence_is_known() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../consign-detect/signatures");
        let mut unknown = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let Some(licence) = text
                .lines()
                .find_map(|l| l.strip_prefix("license = \""))
                .and_then(|l| l.strip_suffix('"'))
            else {
                continue;
            };
            for (id, _) in ids(licence) {
                if obligations(&id).is_none() && !id.starts_with("LicenseRef-") {
                    unknown.push(format!("{}: {id}", path.display()));
                }
            }
        }
        assert_eq!(unknown, Vec::<String>::new());
    }
}
