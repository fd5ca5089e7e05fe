//! SBOM (group 2): schema validity and spec version, the BSI / NTIA profiles, vulnerabilities listed in
//! the SBOM, and the re-scan of the firmware against what the SBOM declares.

use super::prelude::*;

pub(super) fn sbom_valid(evidence: &Evidence<'_>, config: &CheckConfig) -> Outcome {
    if evidence.sboms.is_empty() {
        return fail(
            "the shipment holds no SBOM",
            "ask the manufacturer for the release's CycloneDX SBOM (`consign scan`) and add it to the shipment",
        );
    }
    let minimum = config
        .min_spec_version
        .as_deref()
        .and_then(parse_spec_version);
    let mut problems = Vec::new();
    for sbom in &evidence.sboms {
        match &sbom.facts {
            Err(reason) => problems.push(format!("`{}` {reason}", sbom.artifact)),
            Ok(facts) => {
                if !facts.schema_errors.is_empty() {
                    problems.push(format!(
                        "`{}` is not valid CycloneDX: {}",
                        sbom.artifact,
                        join(&facts.schema_errors)
                    ));
                }
                let version = facts.spec_version.as_deref().and_then(parse_spec_version);
                match (version, minimum) {
                    (None, _) => {
                        problems.push(format!("`{}` has no readable `specVersion`", sbom.artifact));
                    }
                    (Some(found), Some(min)) if found < min => problems.push(format!(
                        "`{}` is CycloneDX {}.{}, the policy needs {}.{} or later",
                        sbom.artifact, found.0, found.1, min.0, min.1
                    )),
                    _ => {}
                }
            }
        }
    }
    let digests = evidence.sboms.iter().map(|s| s.sha256.to_hex());
    if problems.is_empty() {
        pass(format!(
            "{} SBOM(s), valid CycloneDX of an accepted spec version",
            evidence.sboms.len()
        ))
        .with_evidence(digests)
    } else {
        fail(join(&problems), "ask the manufacturer for a schema-valid CycloneDX 1.6 SBOM (`consign sbom validate` shows the errors)")
            .with_evidence(digests)
    }
}

pub(super) fn sbom_profile(evidence: &Evidence<'_>, config: &CheckConfig) -> Outcome {
    let profile = config.profile.as_deref().unwrap_or("bsi");
    if evidence.sboms.is_empty() {
        return fail("the shipment holds no SBOM", "see `sbom.valid`");
    }
    let mut problems = Vec::new();
    for sbom in &evidence.sboms {
        match &sbom.facts {
            Err(reason) => problems.push(format!("`{}` {reason}", sbom.artifact)),
            Ok(facts) => {
                let gaps = if profile == "ntia" {
                    &facts.ntia_gaps
                } else {
                    &facts.bsi_gaps
                };
                if !gaps.is_empty() {
                    problems.push(format!("`{}`: {}", sbom.artifact, join(gaps)));
                }
            }
        }
    }
    let name = if profile == "ntia" {
        "NTIA minimum elements"
    } else {
        "BSI TR-03183-2"
    };
    if problems.is_empty() {
        pass(format!("every SBOM has the fields {name} requires"))
    } else {
        fail(
            format!("{name} fields missing: {}", join(&problems)),
            "ask the manufacturer to complete the SBOM (`consign sbom validate FILE --profile bsi-tr-03183-2` lists the gaps)",
        )
    }
}

pub(super) fn sbom_vulnerabilities(evidence: &Evidence<'_>) -> Outcome {
    let mut problems = Vec::new();
    let mut read = 0;
    for sbom in &evidence.sboms {
        if let Ok(facts) = &sbom.facts {
            read += 1;
            if !facts.vulnerabilities.is_empty() {
                problems.push(format!(
                    "`{}` lists {} vulnerabilit{}: {}",
                    sbom.artifact,
                    facts.vulnerabilities.len(),
                    if facts.vulnerabilities.len() == 1 {
                        "y"
                    } else {
                        "ies"
                    },
                    join(&facts.vulnerabilities)
                ));
            }
        }
    }
    if read == 0 {
        return fail(
            "no readable SBOM to look for vulnerabilities in",
            "see `sbom.valid`",
        );
    }
    if problems.is_empty() {
        pass("no SBOM lists a vulnerability")
    } else {
        fail(
            join(&problems),
            "ask the manufacturer for a release that fixes them, or for a signed VEX statement showing they are not exploitable",
        )
    }
}

/// Runs only with the re-scan on and firmware present (its [`super::Input`]s).
pub(super) fn rescan(evidence: &Evidence<'_>) -> Outcome {
    // Only the release's SBOMs: a supplier's SBOM cannot declare what the firmware may hold.
    let release = evidence.release_sboms();
    if release.is_empty() && !evidence.sboms.is_empty() {
        return fail(
            "no SBOM in the shipment is the release's (bound by the manufacturer: the release attestation's SBOM digest, or a manufacturer-signed CycloneDX statement about the firmware); a supplier's SBOM describes its own component only",
            "ask the manufacturer for the release SBOM it attested and add it to the shipment",
        );
    }
    let declared: Vec<&crate::evidence::DeclaredComponent> = release
        .iter()
        .filter_map(|s| s.facts.as_ref().ok())
        .flat_map(|facts| facts.components.iter())
        .collect();
    if declared.is_empty() && release.iter().all(|s| s.facts.is_err()) {
        return fail(
            "no readable SBOM to compare the re-scan with",
            "see `sbom.valid`",
        );
    }
    let mut problems = Vec::new();
    let mut found_count = 0;
    let mut unreadable = false;
    for firmware in &evidence.firmware {
        match &firmware.rescan {
            None => {}
            Some(Err(reason)) => {
                unreadable = true;
                problems.push(format!(
                    "re-scanning `{}` failed: {reason}",
                    firmware.artifact
                ));
            }
            Some(Ok(found)) => {
                for component in found {
                    found_count += 1;
                    let same_name: Vec<_> = declared
                        .iter()
                        .filter(|d| d.name.eq_ignore_ascii_case(&component.name))
                        .collect();
                    let version = component.version.as_deref().unwrap_or("unknown version");
                    if same_name.is_empty() {
                        problems.push(format!(
                            "`{}` {version} found at `{}` is not declared in the SBOM",
                            component.name, component.location
                        ));
                    } else if let Some(found_version) = &component.version
                        && !same_name
                            .iter()
                            .any(|d| d.version.as_deref() == Some(found_version.as_str()))
                    {
                        let versions: Vec<&str> = same_name
                            .iter()
                            .map(|d| d.version.as_deref().unwrap_or("no version"))
                            .collect();
                        problems.push(format!(
                            "`{}`: the SBOM declares {}, the re-scan finds {found_version} at `{}`",
                            component.name,
                            versions.join(", "),
                            component.location
                        ));
                    }
                }
            }
        }
    }
    let digests = evidence.firmware.iter().map(|f| f.sha256.to_hex());
    if problems.is_empty() {
        pass(format!(
            "the re-scan found {found_count} component(s), each declared in the SBOM at the same version"
        ))
        .with_evidence(digests)
    } else {
        let fix = if unreadable {
            "consign could not read all of the firmware, so it cannot tell whether the SBOM describes it: `consign scan` of the image lists what was not read and why; ask the manufacturer for firmware consign reads in full"
        } else {
            "the SBOM does not describe the firmware shipped: ask the manufacturer for an SBOM generated from this image (`consign scan`)"
        };
        fail(join(&problems), fix).with_evidence(digests)
    }
}
