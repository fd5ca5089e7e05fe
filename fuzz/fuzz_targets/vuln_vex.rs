//! Fuzz target: VEX documents (OpenVEX, CycloneDX VEX, CSAF VEX) and SBOMs read for matching,
//! then every statement applied to every component: never a panic or a hang.
#![no_main]

use consign_vuln::matching::{Certainty, Finding};
use consign_vuln::{sbom, vex};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let document = vex::parse("vex.json", data);
    let targets = sbom::targets("sbom.json", data);
    if let (Ok(document), Ok(targets)) = (document, targets) {
        for target in targets.targets.iter().take(64) {
            let _ = target.keys();
            for statement in document.statements.iter().take(64) {
                let finding = Finding {
                    id: statement.vulnerability.clone(),
                    aliases: Vec::new(),
                    bom_ref: target.bom_ref.clone(),
                    component: target.name.clone(),
                    version: target.version.clone(),
                    certainty: Certainty::Affected,
                    records: Vec::new(),
                    range: String::new(),
                    matched_by: "cpe".to_owned(),
                    fix: None,
                    rating: None,
                    summary: None,
                    published: None,
                    kev: None,
                    epss: None,
                };
                let _ = vex::covers(statement, &finding, target, &targets.subject);
            }
        }
    }
});
