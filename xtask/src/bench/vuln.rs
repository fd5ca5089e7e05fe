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
//! Side by side, cve-bin-tool 3.4 (the peer `../shared/corpus/BASELINES.md` sets up) on the
//! same records and the same components, offline. It fills its database only over the network,
//! so our driver `cve_bin_tool_import.py` (ours, run with the bench venv's Python and `HOME` at
//! `target/bench/home-vuln`, never the user's) feeds the generated feeds' items to its own
//! loader, `NVD_Source.format_data_api2`, and its own `CVEDB.populate_db`, and the KEV catalogue
//! to its own `CVEDB.update_exploits` with only that function's download answered from the file.
//! Then `cve-bin-tool --offline --sbom cyclonedx --sbom-file SBOM --format json` matches.
//! Two limits keep its part within minutes on this machine, both said in the report:
//!
//! - it imports the first [`PEER_RECORDS`] records (the `--quick` set; consign imports those
//!   same records too, in the full run, for the like-for-like ratio);
//! - it matches every [`PEER_SAMPLE_EVERY`]th component and every `linux_kernel` (consign
//!   matches the same sample against the same records): it reads its range table with a full
//!   scan per query, two per vendor it tries, and it tries every vendor with the component's
//!   product name, which the synthetic vendor copies multiply, so the whole SBOM would take it
//!   tens of minutes (about 40 at the sample's rate, scaled).
//!
//! Findings are compared as (component, CVE) pairs; cve-bin-tool's rows on vendors other than
//! the component's CPE vendor are counted apart.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::Options;
use super::measure::{self, Job, Sample, rss, seconds};
use super::peers::Peers;
use super::report::Section;

/// Records per generated feed file.
const PER_FEED: usize = 10_000;

/// Records cve-bin-tool is timed on: the first ones, the `--quick` set (see the module doc).
const PEER_RECORDS: usize = 30_000;

/// cve-bin-tool matches every this many components of the SBOM (see the module doc).
const PEER_SAMPLE_EVERY: usize = 20;

/// Our driver that fills cve-bin-tool's database with its own loader (see the module doc).
const IMPORT_PY: &str = include_str!("cve_bin_tool_import.py");

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

/// cve-bin-tool's side of the bench: the same records through its own loader, the sample SBOM
/// through its own matcher.
struct Peer {
    import: Sample,
    matched: Sample,
    db_bytes: u64,
    /// Rows of its `cve_range` table (one per vulnerable CPE match).
    range_rows: u64,
    agreement: Agreement,
}

/// Fills cve-bin-tool's database under `target/bench/home-vuln` with [`IMPORT_PY`] from the
/// given feeds and the KEV catalogue, then runs `cve-bin-tool --offline` on the sample SBOM and
/// compares its rows with consign's report on the same SBOM.
fn peer(
    options: &Options,
    feeds: &[PathBuf],
    kev: &Path,
    sample: &Path,
    consign_report: &Value,
) -> Result<Peer, String> {
    let peers = Peers::new(&options.base);
    peers.ensure_python()?;
    let home = options.base.join("home-vuln");
    measure::fresh_dir(&home)?;
    peers.ensure_version_map(&home)?;
    let env = peers.env_with_home(&home);
    let logs = options.logs("vuln");
    let driver = options.work().join("vuln/cve_bin_tool_import.py");
    std::fs::write(&driver, IMPORT_PY)
        .map_err(|err| format!("writing {}: {err}", driver.display()))?;
    let import_log = logs.join("cve-bin-tool-import.log");
    let importer = Job::new(peers.venv_bin().join("python"), &import_log)
        .arg(&driver)
        .arg(kev)
        .args(feeds)
        .envs(&env);
    let import = measure::time_ok(&importer, &[0])?;
    // The driver's last line says what its database holds.
    let counts: Value = std::fs::read_to_string(&import_log)
        .ok()
        .and_then(|log| {
            log.lines()
                .rev()
                .find_map(|line| serde_json::from_str(line).ok())
        })
        .ok_or_else(|| {
            format!(
                "no counts from the import driver (log: {})",
                import_log.display()
            )
        })?;
    let db = home.join(".cache/cve-bin-tool/cve.db");
    let out_dir = options.out("cve-bin-tool");
    std::fs::create_dir_all(&out_dir)
        .map_err(|err| format!("creating {}: {err}", out_dir.display()))?;
    let out = out_dir.join("vuln-match.json");
    // cve-bin-tool picks another name when the output file exists.
    let _ = std::fs::remove_file(&out);
    let matcher = Job::new("cve-bin-tool", logs.join("cve-bin-tool-match.log"))
        .args(["--offline", "--sbom", "cyclonedx", "--sbom-file"])
        .arg(sample)
        .args(["--format", "json", "--output-file"])
        .arg(&out)
        .envs(&env);
    // Exit 1: some product has CVEs, as it must.
    let matched = measure::time_ok(&matcher, &[1])?;
    let rows = read_json(&out)?;
    Ok(Peer {
        import,
        matched,
        db_bytes: std::fs::metadata(&db).map_or(0, |m| m.len()),
        range_rows: counts["range_rows"].as_u64().unwrap_or(0),
        agreement: agreement(&read_json(sample)?, consign_report, &rows),
    })
}

fn read_json(path: &Path) -> Result<Value, String> {
    serde_json::from_slice(
        &std::fs::read(path).map_err(|err| format!("reading {}: {err}", path.display()))?,
    )
    .map_err(|err| format!("{}: {err}", path.display()))
}

/// The SBOM cve-bin-tool matches: every [`PEER_SAMPLE_EVERY`]th component of the 1,000 and
/// every `linux_kernel` (the product with the most records; six components, vendors `linux`,
/// `kernel` and `ubuntu` and their first synthetic copies).
fn write_sample(sbom: &Path, sample: &Path) -> Result<usize, String> {
    let mut bom = read_json(sbom)?;
    let components: Vec<Value> = bom["components"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(index, component)| {
            index % PEER_SAMPLE_EVERY == 0 || component["name"] == "linux_kernel"
        })
        .map(|(_, component)| component.clone())
        .collect();
    let count = components.len();
    bom["components"] = Value::Array(components);
    std::fs::write(
        sample,
        serde_json::to_vec(&bom).map_err(|err| err.to_string())?,
    )
    .map_err(|err| format!("writing {}: {err}", sample.display()))?;
    Ok(count)
}

/// `consign vuln db import` into a fresh database.
fn consign_import(
    options: &Options,
    db: &Path,
    inputs: &[PathBuf],
    log: PathBuf,
) -> Result<Sample, String> {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    if let Some(parent) = db.parent() {
        std::fs::create_dir_all(parent).map_err(|err| err.to_string())?;
    }
    let job = Job::new(&options.consign, log)
        .args(["vuln", "db", "import", "--db"])
        .arg(db)
        .args(inputs);
    measure::time_ok(&job, &[0])
}

/// `consign vuln match --format json`, `runs` times (at least 5: it is short); the median and
/// the report.
fn consign_match(
    options: &Options,
    db: &Path,
    sbom: &Path,
    out: &Path,
    log: PathBuf,
) -> Result<(Sample, Value), String> {
    let matcher = Job::new(&options.consign, log)
        .args(["vuln", "match", "--db"])
        .arg(db)
        .arg(sbom)
        .args(["--format", "json", "-o"])
        .arg(out);
    // Exit 1: open vulnerabilities were found, as they must be.
    let matches = (0..options.runs.max(5))
        .map(|_| measure::time_ok(&matcher, &[1]))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((measure::median(&matches), read_json(out)?))
}

/// Where consign's findings and cve-bin-tool's rows agree, as (component bom-ref, CVE) pairs.
#[derive(Debug, Default, PartialEq, Eq)]
struct Agreement {
    both: usize,
    consign_only: Vec<(String, String)>,
    /// cve-bin-tool's rows on a component's own vendor that consign does not report.
    peer_only: Vec<(String, String)>,
    /// All of cve-bin-tool's rows.
    peer_rows: usize,
    /// Its rows on other vendors that merely share a component's product name: it reads the
    /// purl before the CPE, and takes from a purl only the version, so it checks every vendor
    /// its database knows for that product name.
    other_vendor_rows: usize,
}

/// Compares consign's `vuln match --format json` report with cve-bin-tool's JSON rows
/// (`vendor`, `product`, `version`, `cve_number`), tying rows to components through the SBOM's
/// CPEs.
fn agreement(bom: &Value, consign: &Value, peer_rows: &Value) -> Agreement {
    let mut components = std::collections::BTreeMap::new();
    for component in bom["components"].as_array().into_iter().flatten() {
        let (Some(cpe), Some(version), Some(bom_ref)) = (
            component["cpe"].as_str(),
            component["version"].as_str(),
            component["bom-ref"].as_str(),
        ) else {
            continue;
        };
        let parts: Vec<&str> = cpe.split(':').collect();
        if parts.len() > 4 {
            components.insert(
                (
                    parts[3].to_owned(),
                    parts[4].to_lowercase(),
                    version.to_owned(),
                ),
                bom_ref.to_owned(),
            );
        }
    }
    let ours: BTreeSet<(String, String)> = consign["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|finding| {
            Some((
                finding["bom_ref"].as_str()?.to_owned(),
                finding["id"].as_str()?.to_owned(),
            ))
        })
        .collect();
    let mut theirs = BTreeSet::new();
    let mut result = Agreement::default();
    for row in peer_rows.as_array().into_iter().flatten() {
        result.peer_rows += 1;
        let field = |name: &str| row[name].as_str().unwrap_or_default().to_owned();
        let key = (
            field("vendor"),
            field("product").to_lowercase(),
            field("version"),
        );
        match components.get(&key) {
            Some(bom_ref) => {
                theirs.insert((bom_ref.clone(), field("cve_number")));
            }
            None => result.other_vendor_rows += 1,
        }
    }
    result.both = ours.intersection(&theirs).count();
    result.consign_only = ours.difference(&theirs).cloned().collect();
    result.peer_only = theirs.difference(&ours).cloned().collect();
    result
}

/// A few pairs, for the notes: `CVE-... (bom-ref)`.
fn examples(pairs: &[(String, String)]) -> String {
    let mut text: Vec<String> = pairs
        .iter()
        .take(4)
        .map(|(bom_ref, id)| format!("{id} ({bom_ref})"))
        .collect();
    if pairs.len() > 4 {
        text.push("...".to_owned());
    }
    text.join(", ")
}

#[allow(clippy::cast_precision_loss, clippy::too_many_lines)] // Counts are far below 2^52.
pub(crate) fn run(options: &Options) -> Result<Vec<Section>, String> {
    let total: usize = if options.quick { 30_000 } else { 300_000 };
    let work = options.work().join("vuln");
    std::fs::create_dir_all(&work).map_err(|err| format!("creating {}: {err}", work.display()))?;
    let logs = options.logs("vuln");
    std::fs::create_dir_all(&logs).map_err(|err| format!("creating {}: {err}", logs.display()))?;
    let (feeds, sbom) = generate(options, &work, total)?;
    let kev = vulndata(options).join("kev/known_exploited_vulnerabilities.json");
    let db = options.out("consign").join("vuln.db");
    let imports = (0..options.runs)
        .map(|_| {
            consign_import(
                options,
                &db,
                &[feeds.clone(), kev.clone()],
                logs.join("import.log"),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let import = measure::median(&imports);
    let (matched, report) = consign_match(
        options,
        &db,
        &sbom,
        &work.join("match.json"),
        logs.join("match.log"),
    )?;
    let findings = report["findings"].as_array().map_or(0, Vec::len);
    let db_bytes = std::fs::metadata(&db).map_or(0, |m| m.len());

    // The side-by-side part: the first PEER_RECORDS records (all of them in --quick) into both
    // tools, then both match the same sample of the SBOM.
    let mut feed_files: Vec<PathBuf> = std::fs::read_dir(&feeds)
        .map_err(|err| format!("reading {}: {err}", feeds.display()))?
        .flatten()
        .map(|entry| entry.path())
        .collect();
    feed_files.sort();
    feed_files.truncate(PEER_RECORDS.div_ceil(PER_FEED));
    let peer_records = total.min(PEER_RECORDS);
    let (peer_db, same_import) = if peer_records == total {
        (db.clone(), None)
    } else {
        let peer_db = options.out("consign").join("vuln-peer.db");
        let mut inputs = feed_files.clone();
        inputs.push(kev.clone());
        let sample = consign_import(options, &peer_db, &inputs, logs.join("import-peer.log"))?;
        (peer_db, Some(sample))
    };
    let sample_sbom = work.join("sbom-sample.cdx.json");
    let sampled = write_sample(&sbom, &sample_sbom)?;
    let (sample_matched, sample_report) = consign_match(
        options,
        &peer_db,
        &sample_sbom,
        &work.join("match-sample.json"),
        logs.join("match-sample.log"),
    )?;
    let sample_findings = sample_report["findings"].as_array().map_or(0, Vec::len);
    let peer = peer(options, &feed_files, &kev, &sample_sbom, &sample_report);

    let mut section = Section::new(
        "vuln: database import and SBOM matching, consign vs cve-bin-tool",
        &format!(
            "{total} synthetic NVD CVE 2.0 records made from the shapes of the 3,651 real ones in ../shared/vulndata/nvd (new ids; vendors suffixed per pass), in gzip feeds of {PER_FEED}, plus the real KEV catalogue: `consign vuln db import --db vuln.db feeds/ kev.json` into a fresh database ({} on disk). Then `consign vuln match --db vuln.db sbom.cdx.json --format json` on 1,000 components (one release of each of the 936 products the real records name as vulnerable, the kernel among them, then 64 of the first synthetic pass). The peer is cve-bin-tool 3.4 (PyPI, target/bench/venv), which fills its database only over the network: our driver (xtask/src/bench/cve_bin_tool_import.py) feeds the same gzip feeds' items to its own `NVD_Source.format_data_api2` and `CVEDB.populate_db`, and the same KEV file to its `CVEDB.update_exploits` with only the download answered locally, into a fresh database under target/bench/home-vuln; then `cve-bin-tool --offline --sbom cyclonedx --sbom-file SBOM --format json` matches every {PEER_SAMPLE_EVERY}th component of the same SBOM and every `linux_kernel` ({sampled} components), and consign matches the same {sampled} against the same {peer_records} records. Findings = (component, CVE) pairs.",
            measure::megabytes(db_bytes)
        ),
        &["step", "time", "rate", "peak RSS", "cores used", "findings"],
    );
    let per_second = |count: usize, sample: &Sample, unit: &str| {
        let rate = count as f64 / sample.wall.as_secs_f64().max(1e-9);
        if rate < 10.0 {
            format!("{rate:.2} {unit}/s")
        } else {
            format!("{rate:.0} {unit}/s")
        }
    };
    let mut row = |step: String, sample: &Sample, rate: String, findings: String| {
        section.row(vec![
            step,
            seconds(sample.wall),
            rate,
            rss(sample.peak_rss_kib),
            measure::cores(sample),
            findings,
        ]);
    };
    row(
        format!("consign: import {total} records"),
        &import,
        per_second(total, &import, "records"),
        "-".to_owned(),
    );
    if let Some(same) = &same_import {
        row(
            format!("consign: import the first {peer_records} records"),
            same,
            per_second(peer_records, same, "records"),
            "-".to_owned(),
        );
    }
    if let Ok(peer) = &peer {
        row(
            format!("cve-bin-tool: import the first {peer_records} records"),
            &peer.import,
            per_second(peer_records, &peer.import, "records"),
            "-".to_owned(),
        );
    }
    row(
        format!("consign: match 1,000 components ({total} records)"),
        &matched,
        per_second(1000, &matched, "components"),
        findings.to_string(),
    );
    row(
        format!("consign: match {sampled} of them ({peer_records} records)"),
        &sample_matched,
        per_second(sampled, &sample_matched, "components"),
        sample_findings.to_string(),
    );
    if let Ok(peer) = &peer {
        row(
            format!("cve-bin-tool: match the same {sampled} ({peer_records} records)"),
            &peer.matched,
            per_second(sampled, &peer.matched, "components"),
            format!(
                "{} (+{} rows on other vendors)",
                peer.agreement.both + peer.agreement.peer_only.len(),
                peer.agreement.other_vendor_rows
            ),
        );
    }

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
    match &peer {
        Ok(peer) => {
            let ours = same_import.as_ref().unwrap_or(&import).wall.as_secs_f64();
            let theirs = peer.import.wall.as_secs_f64();
            section.headline(
                &format!("import of the same {peer_records} records, cve-bin-tool / consign"),
                measure::ratio(theirs, ours),
                "> 1x",
                Some(theirs > ours),
            );
            let (ours, theirs) = (
                sample_matched.wall.as_secs_f64(),
                peer.matched.wall.as_secs_f64(),
            );
            section.headline(
                &format!("matching the same {sampled} components, cve-bin-tool / consign"),
                measure::ratio(theirs, ours),
                "> 1x",
                Some(theirs > ours),
            );
            section.note(format!(
                "Side by side on the first {peer_records} records{}. cve-bin-tool's import ran once; at its measured rate 300,000 records would take about {:.0} s (scaled, not measured). Its matcher was given {sampled} of the 1,000 components because it reads its `cve_range` table ({} rows here, its database {} on disk) with a full scan per query (its only index leads with the CVE id), two queries per vendor it tries: at the sample's rate per component the whole SBOM would take about {:.0} s against these {peer_records} records (scaled, not measured; the sample holds every `linux_kernel`, the product with the most records, so this leans high), and longer against more records.",
                if peer_records < total {
                    format!(" of {total} (the --quick set; its SBOM components all come from the first 7,302 records, so both tools' own-vendor findings are the same as against all of them)")
                } else {
                    String::new()
                },
                peer.import.wall.as_secs_f64() * 300_000.0 / peer_records as f64,
                peer.range_rows,
                measure::megabytes(peer.db_bytes),
                peer.matched.wall.as_secs_f64() * 1000.0 / sampled.max(1) as f64
            ));
            let agreement = &peer.agreement;
            section.note(format!(
                "Findings on the {sampled} components, as (component, CVE) pairs: {} found by both; {} by consign only{}; {} by cve-bin-tool only{}. cve-bin-tool keeps only the vendor, product, version and range of each vulnerable CPE match (`parse_node_api2`), so it drops what consign checks: NVD's AND configurations (the product only on a given platform or with another product: it matches the product alone), the CPE part (an `o` record matches an `a` component) and the update field (`12:sp1` matches release 12). consign evaluates the configuration tree (AND/OR nodes, vulnerable vs platform CPEs, the whole CPE name, including/excluding bounds).",
                agreement.both,
                agreement.consign_only.len(),
                if agreement.consign_only.is_empty() {
                    String::new()
                } else {
                    format!(" (e.g. {})", examples(&agreement.consign_only))
                },
                agreement.peer_only.len(),
                if agreement.peer_only.is_empty() {
                    String::new()
                } else {
                    format!(" (e.g. {})", examples(&agreement.peer_only))
                },
            ));
            section.note(format!(
                "cve-bin-tool also reported {} rows on vendors other than the component's own (of {} rows): its SBOM reader prefers the purl to the CPE and takes only the version from a purl, so it tries every vendor its database knows for the component's product name. The synthetic records copy each product under vendors `<vendor>_v<pass>`, which multiplies those rows (and its queries); consign matches the component's CPE as given.",
                agreement.other_vendor_rows,
                agreement.peer_rows,
            ));
        }
        Err(err) => section.note(format!(
            "cve-bin-tool could not be run, so only consign was timed: {err}"
        )),
    }
    section.data = json!({
        "records": total,
        "import_s": import.wall.as_secs_f64(),
        "import_rss_kib": import.peak_rss_kib,
        "match_s": matched.wall.as_secs_f64(),
        "match_rss_kib": matched.peak_rss_kib,
        "findings": findings,
        "db_bytes": db_bytes,
        "side_by_side": {
            "records": peer_records,
            "components": sampled,
            "consign_import_s": same_import.as_ref().unwrap_or(&import).wall.as_secs_f64(),
            "consign_match_s": sample_matched.wall.as_secs_f64(),
            "consign_findings": sample_findings,
        },
        "cve_bin_tool": peer.as_ref().ok().map(|peer| json!({
            "import_s": peer.import.wall.as_secs_f64(),
            "import_rss_kib": peer.import.peak_rss_kib,
            "match_s": peer.matched.wall.as_secs_f64(),
            "match_rss_kib": peer.matched.peak_rss_kib,
            "db_bytes": peer.db_bytes,
            "range_rows": peer.range_rows,
            "rows": peer.agreement.peer_rows,
            "other_vendor_rows": peer.agreement.other_vendor_rows,
            "both": peer.agreement.both,
            "consign_only": peer.agreement.consign_only.len(),
            "peer_only": peer.agreement.peer_only.len(),
        })),
    });
    Ok(vec![section])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_records_rename_vendors_from_the_second_pass_on() {
        let criteria = "cpe:2.3:a:busybox:busybox:1.14.1:*:*:*:*:*:*:*";
        assert_eq!(rename_vendor(criteria, 0), criteria);
        assert_eq!(
            rename_vendor(criteria, 2),
            "cpe:2.3:a:busybox_v2:busybox:1.14.1:*:*:*:*:*:*:*"
        );
    }

    #[test]
    fn findings_are_compared_per_component_and_cve() {
        let bom = json!({"components": [
            {"bom-ref": "pkg:generic/busybox/busybox@1.14.1", "version": "1.14.1",
             "cpe": "cpe:2.3:a:busybox:busybox:1.14.1:*:*:*:*:*:*:*"},
            {"bom-ref": "pkg:generic/openssl/openssl@0.9.8g", "version": "0.9.8g",
             "cpe": "cpe:2.3:a:openssl:OpenSSL:0.9.8g:*:*:*:*:*:*:*"},
        ]});
        let consign = json!({"findings": [
            {"bom_ref": "pkg:generic/busybox/busybox@1.14.1", "id": "CVE-2011-2716"},
            {"bom_ref": "pkg:generic/openssl/openssl@0.9.8g", "id": "CVE-2008-0166"},
        ]});
        let peer = json!([
            {"vendor": "busybox", "product": "busybox", "version": "1.14.1", "cve_number": "CVE-2011-2716"},
            {"vendor": "openssl", "product": "openssl", "version": "0.9.8g", "cve_number": "CVE-2015-4000"},
            {"vendor": "busybox_v1", "product": "busybox", "version": "1.14.1", "cve_number": "CVE-2000-100001"},
        ]);
        let got = agreement(&bom, &consign, &peer);
        assert_eq!(
            got,
            Agreement {
                both: 1,
                consign_only: vec![(
                    "pkg:generic/openssl/openssl@0.9.8g".to_owned(),
                    "CVE-2008-0166".to_owned()
                )],
                peer_only: vec![(
                    "pkg:generic/openssl/openssl@0.9.8g".to_owned(),
                    "CVE-2015-4000".to_owned()
                )],
                peer_rows: 3,
                other_vendor_rows: 1,
            }
        );
        assert_eq!(
            examples(&got.peer_only),
            "CVE-2015-4000 (pkg:generic/openssl/openssl@0.9.8g)"
        );
    }
}
