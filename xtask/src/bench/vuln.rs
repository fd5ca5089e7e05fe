//! `cargo xtask bench vuln` (issue 14): building the local vulnerability database and matching
//! an SBOM against it.
//!
//! The records are synthetic, generated from the shapes of the 3,651 real NVD CVE 2.0 records
//! in `../shared/vulndata/nvd`: record `i` is real record `i mod 3651` with a new CVE id and,
//! from the second pass over the real ones on, every CPE vendor suffixed `_v<pass>`, so the
//! database holds as many distinct products as passes times real products, with the real
//! records' configurations, ranges and sizes. They are written as NVD 2.0 yearly-style feeds of
//! 10,000 records, gzip-compressed as NVD ships them. Then:
//!
//! - import: `consign vuln db import --db FILE feeds/` plus the real KEV catalogue, fresh each
//!   run (goal: 300,000 records in under 60 s);
//! - match: `consign vuln match --db FILE sbom.cdx.json --format json` on a generated SBOM of
//!   1,000 components, each a product and release the records name, the Linux kernel among
//!   them (goal: under 1 s).
//!
//! No peer is timed here yet: cve-bin-tool matches only against its own database, which it
//! fills from NVD over the network; loading the same synthetic records into it is not built.
//! The way to build it offline: cve-bin-tool 3.4's own loader, `NVD_Source.format_data_api2`
//! (`cve_bin_tool/data_sources/nvd_source.py`), turns NVD API 2.0 items into its rows, and
//! `CVEDB.populate_severity` / `populate_affected` (`cvedb.py`) store them; fed the generated
//! feeds' items, then `cve-bin-tool --offline --sbom cyclonedx --sbom-file sbom.cdx.json`
//! matches the same 1,000 components against the same records.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::Options;
use super::measure::{self, Job, rss, seconds};
use super::report::Section;

/// Records per generated feed file.
const PER_FEED: usize = 10_000;

/// `../shared/vulndata`, beside the corpus (`--corpus` moves both).
fn vulndata(options: &Options) -> PathBuf {
    options.corpus.join("../vulndata")
}

fn real_records(options: &Options) -> Result<Vec<Value>, String> {
    let dir = vulndata(options).join("nvd");
    let mut files = Vec::new();
    for year in
        std::fs::read_dir(&dir).map_err(|err| format!("reading {}: {err}", dir.display()))?
    {
        let year = year.map_err(|err| err.to_string())?.path();
        for file in
            std::fs::read_dir(&year).map_err(|err| format!("reading {}: {err}", year.display()))?
        {
            files.push(file.map_err(|err| err.to_string())?.path());
        }
    }
    files.sort();
    files
        .iter()
        .map(|path| {
            let bytes =
                std::fs::read(path).map_err(|err| format!("reading {}: {err}", path.display()))?;
            serde_json::from_slice(&bytes).map_err(|err| format!("{}: {err}", path.display()))
        })
        .collect()
}

/// `cpe:2.3:a:vendor:product:...` with the vendor suffixed.
fn rename_vendor(criteria: &str, pass: usize) -> String {
    let mut parts: Vec<String> = criteria.split(':').map(str::to_owned).collect();
    if parts.len() > 4 && pass > 0 {
        parts[3] = format!("{}_v{pass}", parts[3]);
    }
    parts.join(":")
}

fn synthetic(real: &Value, index: usize, count_real: usize) -> Value {
    let pass = index / count_real;
    let mut record = real.clone();
    record["id"] = json!(format!(
        "CVE-{}-{:06}",
        2000 + index / 100_000,
        100_000 + index % 100_000
    ));
    if pass > 0
        && let Some(configurations) = record
            .get_mut("configurations")
            .and_then(Value::as_array_mut)
    {
        for configuration in configurations {
            for node in configuration["nodes"].as_array_mut().into_iter().flatten() {
                for criteria in node["cpeMatch"].as_array_mut().into_iter().flatten() {
                    if let Some(text) = criteria["criteria"].as_str() {
                        criteria["criteria"] = json!(rename_vendor(text, pass));
                    }
                }
            }
        }
    }
    record
}

/// Writes the feeds (gzip when `gzip` is there) and a 1,000-component SBOM; returns the feed
/// folder and the SBOM path.
fn generate(options: &Options, dir: &Path, total: usize) -> Result<(PathBuf, PathBuf), String> {
    let real = real_records(options)?;
    let feeds = dir.join("feeds");
    measure::fresh_dir(&feeds)?;
    std::fs::create_dir_all(&feeds)
        .map_err(|err| format!("creating {}: {err}", feeds.display()))?;
    let mut products: Vec<(String, String, String, String)> = Vec::new();
    let mut seen = BTreeSet::new();
    for (feed_idx, start) in (0..total).step_by(PER_FEED).enumerate() {
        let path = feeds.join(format!("nvdcve-2.0-synthetic-{feed_idx:03}.json"));
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(&path)
                .map_err(|err| format!("creating {}: {err}", path.display()))?,
        );
        write!(out, r#"{{"format":"NVD_CVE","version":"2.0","timestamp":"2026-12-01T00:00:00.000","vulnerabilities":["#)
            .map_err(|err| err.to_string())?;
        for index in start..(start + PER_FEED).min(total) {
            let record = synthetic(&real[index % real.len()], index, real.len());
            // Products and releases for the SBOM: every product a real record names as
            // vulnerable (pass 0), then products of the first synthetic pass; the release is an
            // exact version a criteria names, else its upper bound.
            if index < 2 * real.len() {
                for node in record["configurations"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|c| c["nodes"].as_array().into_iter().flatten())
                {
                    for criteria in node["cpeMatch"].as_array().into_iter().flatten() {
                        let Some(text) = criteria["criteria"].as_str() else {
                            continue;
                        };
                        let parts: Vec<&str> = text.split(':').collect();
                        let version = if parts.len() == 13 && parts[5] != "*" && parts[5] != "-" {
                            Some(parts[5].to_owned())
                        } else {
                            criteria["versionEndIncluding"]
                                .as_str()
                                .or(criteria["versionEndExcluding"].as_str())
                                .map(str::to_owned)
                        };
                        if criteria["vulnerable"] == true
                            && parts.len() == 13
                            && let Some(version) = version
                            && seen.insert((parts[3].to_owned(), parts[4].to_owned()))
                        {
                            products.push((
                                parts[2].to_owned(),
                                parts[3].to_owned(),
                                parts[4].to_owned(),
                                version,
                            ));
                        }
                    }
                }
            }
            if index > start {
                out.write_all(b",").map_err(|err| err.to_string())?;
            }
            out.write_all(b"{\"cve\":").map_err(|err| err.to_string())?;
            serde_json::to_writer(&mut out, &record).map_err(|err| err.to_string())?;
            out.write_all(b"}").map_err(|err| err.to_string())?;
        }
        out.write_all(b"]}").map_err(|err| err.to_string())?;
        out.flush().map_err(|err| err.to_string())?;
        drop(out);
        // NVD ships its feeds gzip-compressed; so do we, when the tool is there.
        let _ = std::process::Command::new("gzip")
            .args(["-1", "-f"])
            .arg(&path)
            .status();
    }
    // 1,000 components: the kernel first (the heaviest product), then one release of each
    // other product, real ones first.
    products.sort_by_key(|(_, vendor, product, _)| {
        (
            vendor.contains("_v"),
            *product != "linux_kernel",
            vendor.clone(),
            product.clone(),
        )
    });
    let components: Vec<Value> = products
        .iter()
        .take(1_000)
        .map(|(part, vendor, product, version)| {
            let purl = format!("pkg:generic/{vendor}/{product}@{version}");
            json!({
                "type": if part == "o" { "operating-system" } else { "library" },
                "bom-ref": purl,
                "name": product,
                "version": version,
                "cpe": format!("cpe:2.3:{part}:{vendor}:{product}:{version}:*:*:*:*:*:*:*"),
                "purl": purl,
            })
        })
        .collect();
    if components.len() < 1_000 {
        return Err(format!(
            "only {} products in the generated records",
            components.len()
        ));
    }
    let sbom = dir.join("sbom-1000.cdx.json");
    let bom = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": "urn:uuid:00000000-0000-5000-8000-000000000001",
        "version": 1,
        "components": components,
    });
    std::fs::write(
        &sbom,
        serde_json::to_vec(&bom).map_err(|err| err.to_string())?,
    )
    .map_err(|err| format!("writing {}: {err}", sbom.display()))?;
    Ok((feeds, sbom))
}

#[allow(clippy::cast_precision_loss)] // Counts are far below 2^52.
pub(crate) fn run(options: &Options) -> Result<Vec<Section>, String> {
    let total: usize = if options.quick { 30_000 } else { 300_000 };
    let work = options.work().join("vuln");
    std::fs::create_dir_all(&work).map_err(|err| format!("creating {}: {err}", work.display()))?;
    let logs = options.logs("vuln");
    std::fs::create_dir_all(&logs).map_err(|err| format!("creating {}: {err}", logs.display()))?;
    let (feeds, sbom) = generate(options, &work, total)?;
    let kev = vulndata(options).join("kev/known_exploited_vulnerabilities.json");
    let db = options.out("consign").join("vuln.db");
    let mut imports = Vec::new();
    for _ in 0..options.runs {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        if let Some(parent) = db.parent() {
            std::fs::create_dir_all(parent).map_err(|err| err.to_string())?;
        }
        let job = Job::new(&options.consign, logs.join("import.log"))
            .args(["vuln", "db", "import", "--db"])
            .arg(&db)
            .arg(&feeds)
            .arg(&kev);
        imports.push(measure::time_ok(&job, &[0])?);
    }
    let import = measure::median(&imports);
    let matcher = Job::new(&options.consign, logs.join("match.log"))
        .args(["vuln", "match", "--db"])
        .arg(&db)
        .arg(&sbom)
        .args(["--format", "json", "-o"])
        .arg(work.join("match.json"));
    // Exit 1: open vulnerabilities were found, as they must be.
    let matches = (0..options.runs.max(5))
        .map(|_| measure::time_ok(&matcher, &[1]))
        .collect::<Result<Vec<_>, _>>()?;
    let matched = measure::median(&matches);
    let report: Value = serde_json::from_slice(
        &std::fs::read(work.join("match.json")).map_err(|err| err.to_string())?,
    )
    .map_err(|err| err.to_string())?;
    let findings = report["findings"].as_array().map_or(0, Vec::len);
    let db_bytes = std::fs::metadata(&db).map_or(0, |m| m.len());
    let import_rate = total as f64 / import.wall.as_secs_f64().max(1e-9);
    let mut section = Section::new(
        "vuln: database import and SBOM matching",
        &format!(
            "{total} synthetic NVD CVE 2.0 records made from the shapes of the 3,651 real ones in ../shared/vulndata/nvd (new ids; vendors suffixed per pass), in gzip feeds of {PER_FEED}, plus the real KEV catalogue: `consign vuln db import --db vuln.db feeds/ kev.json` into a fresh database. Then `consign vuln match --db vuln.db sbom.cdx.json --format json` on 1,000 components (one release of each of the 936 products the real records name as vulnerable, the kernel among them, then 64 of the first synthetic pass). Database: {} on disk. No peer: cve-bin-tool cannot load these records offline.",
            measure::megabytes(db_bytes)
        ),
        &["step", "time", "rate", "peak RSS", "cores used"],
    );
    section.row(vec![
        format!("import {total} records"),
        seconds(import.wall),
        format!("{import_rate:.0} records/s"),
        rss(import.peak_rss_kib),
        measure::cores(&import),
    ]);
    section.row(vec![
        format!("match 1,000 components ({findings} findings)"),
        seconds(matched.wall),
        format!(
            "{:.0} components/s",
            1000.0 / matched.wall.as_secs_f64().max(1e-9)
        ),
        rss(matched.peak_rss_kib),
        measure::cores(&matched),
    ]);
    let scale = 300_000.0 / total as f64;
    section.headline(
        "import of 300,000 NVD records",
        if options.quick {
            format!(
                "{} for {total} (about {:.1} s at 300,000)",
                seconds(import.wall),
                import.wall.as_secs_f64() * scale
            )
        } else {
            seconds(import.wall)
        },
        "< 60 s",
        Some(import.wall.as_secs_f64() * scale < 60.0),
    );
    section.headline(
        "matching a 1,000-component SBOM",
        seconds(matched.wall),
        "< 1 s",
        Some(matched.wall.as_secs_f64() < 1.0),
    );
    section.data = json!({
        "records": total,
        "import_s": import.wall.as_secs_f64(),
        "import_rss_kib": import.peak_rss_kib,
        "match_s": matched.wall.as_secs_f64(),
        "match_rss_kib": matched.peak_rss_kib,
        "findings": findings,
        "db_bytes": db_bytes,
    });
    Ok(vec![section])
}
