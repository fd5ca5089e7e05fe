//! `cargo xtask bench audit` (issue 16): what the secure-defaults audit adds to a scan.
//!
//! Each corpus image is scanned with `consign scan IMAGE -o SBOM` and with `consign scan IMAGE -o
//! SBOM --audit REPORT` (one unpack for both, so the difference is the audit itself), in turn,
//! alternating which goes first, `runs` times; the medians count. Goal: the audit adds under 15%
//! of the scan's time over the whole corpus.

use std::time::Duration;

use super::measure::{self, Job, fresh_dir, seconds};
use super::report::Section;
use super::{Image, Options};

pub(crate) fn run(options: &Options, images: &[Image]) -> Result<Vec<Section>, String> {
    let out = options.out("consign").join("audit");
    fresh_dir(&out)?;
    std::fs::create_dir_all(&out).map_err(|err| format!("creating {}: {err}", out.display()))?;
    let logs = options.logs("audit");
    std::fs::create_dir_all(&logs).map_err(|err| format!("creating {}: {err}", logs.display()))?;
    let mut section = Section::new(
        "audit: what `scan --audit` adds to `scan`",
        "`consign scan IMAGE -o SBOM` against `consign scan IMAGE -o SBOM --audit REPORT` (the audit reads the tree the scan unpacked). Overhead = (with audit - without) / without.",
        &["image", "scan", "scan --audit", "overhead", "findings"],
    );
    let (mut plain_total, mut audit_total) = (Duration::ZERO, Duration::ZERO);
    for image in images {
        let sbom = out.join(format!("{}.cdx.json", image.name));
        let report = out.join(format!("{}.audit.json", image.name));
        let plain = Job::new(
            &options.consign,
            logs.join(format!("scan-{}.log", image.name)),
        )
        .arg("scan")
        .arg(&image.file)
        .arg("-o")
        .arg(&sbom);
        let audited = Job::new(
            &options.consign,
            logs.join(format!("audit-{}.log", image.name)),
        )
        .arg("scan")
        .arg(&image.file)
        .arg("-o")
        .arg(&sbom)
        .arg("--audit")
        .arg(&report);
        let (mut plain_samples, mut audit_samples) = (Vec::new(), Vec::new());
        for run in 0..options.runs {
            if run % 2 == 0 {
                plain_samples.push(measure::time_ok(&plain, &[0])?);
                audit_samples.push(measure::time_ok(&audited, &[0])?);
            } else {
                audit_samples.push(measure::time_ok(&audited, &[0])?);
                plain_samples.push(measure::time_ok(&plain, &[0])?);
            }
        }
        let plain = measure::median(&plain_samples).wall;
        let audited = measure::median(&audit_samples).wall;
        plain_total += plain;
        audit_total += audited;
        let findings = std::fs::read(&report)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .and_then(|json| {
                json.pointer("/images/0/audit/findings")
                    .and_then(serde_json::Value::as_array)
                    .map(Vec::len)
            })
            .map_or_else(|| "-".to_owned(), |n| n.to_string());
        section.row(vec![
            image.name.clone(),
            seconds(plain),
            seconds(audited),
            overhead(plain, audited),
            findings,
        ]);
    }
    let share = audit_total.as_secs_f64() / plain_total.as_secs_f64().max(1e-9) - 1.0;
    section.headline(
        "audit overhead on scan, whole corpus",
        overhead(plain_total, audit_total),
        "< 15%",
        Some(share < 0.15),
    );
    Ok(vec![section])
}

fn overhead(plain: Duration, audited: Duration) -> String {
    let share = audited.as_secs_f64() / plain.as_secs_f64().max(1e-9) - 1.0;
    format!("{:.1}%", share * 100.0)
}
