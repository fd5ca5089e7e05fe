//! `cargo xtask bench verify` (issue 6): verify 1,000 generated shipments (five envelopes each:
//! component, release product, SBOM and provenance, custody; no re-scan) on every core. Timed
//! twice: in process by the `bench_verify` example (the library's rate), and through
//! `consign verify lot-*/ --no-rescan` on the same shipments written as folders (what a user
//! gets, reading from disk and starting the process included). No peer tool does this check.
//! Goal: at least 1,000 shipments per second on 2 cores.

use serde_json::{Value, json};

use super::measure::{self, Job, rss, seconds};
use super::report::Section;
use super::{Options, build_example};

/// The check date handed to `consign verify`: inside every key's and support period's validity
/// in the generated trust store and claims, so every shipment must be accepted.
const CHECK_DATE: &str = "2026-11-22";

#[allow(clippy::cast_precision_loss)] // Counts are far below 2^52.
pub(crate) fn run(options: &Options) -> Result<Vec<Section>, String> {
    let example = build_example("consign-verify", "bench_verify")?;
    let count: usize = if options.quick { 200 } else { 1_000 };
    let logs = options.logs("verify");
    std::fs::create_dir_all(&logs).map_err(|err| format!("creating {}: {err}", logs.display()))?;
    let shipments = options.out("consign").join("shipments");

    // In process, `runs` times; the last run's shipments stay on disk for the CLI.
    let mut in_process = Vec::new();
    for _ in 0..options.runs {
        measure::fresh_dir(&shipments)?;
        let log = logs.join("bench_verify.log");
        let job = Job::new(&example, &log)
            .arg(count.to_string())
            .arg("--json")
            .arg("--write")
            .arg(&shipments);
        measure::time_ok(&job, &[0])?;
        let text = std::fs::read_to_string(&log)
            .map_err(|err| format!("reading {}: {err}", log.display()))?;
        let figures: Value = text
            .lines()
            .rev()
            .find(|line| line.starts_with('{'))
            .and_then(|line| serde_json::from_str(line).ok())
            .ok_or_else(|| format!("bench_verify printed no figures (see {})", log.display()))?;
        if figures["accepted"].as_u64() != Some(count as u64) {
            return Err(format!(
                "bench_verify accepted {} of {count} shipments: the generated shipments must all pass (see {})",
                figures["accepted"],
                log.display()
            ));
        }
        in_process.push(figures);
    }

    let mut lots: Vec<_> = std::fs::read_dir(&shipments)
        .map_err(|err| format!("reading {}: {err}", shipments.display()))?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    lots.sort();
    if lots.len() != count {
        return Err(format!(
            "expected {count} shipment folders in {}, found {}",
            shipments.display(),
            lots.len()
        ));
    }
    let cli = Job::new(&options.consign, logs.join("consign-verify.log"))
        .arg("verify")
        .args(&lots)
        .arg("--policy")
        .arg(shipments.join("policy.toml"))
        .arg("--trust")
        .arg(shipments.join("trust.toml"))
        .args([
            "--at",
            CHECK_DATE,
            "--no-rescan",
            "--no-ledger",
            "--format",
            "json",
        ]);
    // Exit 0 means every shipment was accepted. At under a second a run, five runs cost little
    // and steady the median on a shared machine.
    let samples = (0..options.runs.max(5))
        .map(|_| measure::time_ok(&cli, &[0]))
        .collect::<Result<Vec<_>, _>>()?;
    let cli_sample = measure::median(&samples);

    let mut rates: Vec<f64> = in_process
        .iter()
        .filter_map(|figures| figures["shipments_per_s"].as_f64())
        .collect();
    rates.sort_by(f64::total_cmp);
    let library_rate = rates
        .get(rates.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or(0.0);
    let threads = in_process
        .first()
        .and_then(|figures| figures["threads"].as_u64())
        .unwrap_or(0);
    let cli_rate = count as f64 / cli_sample.wall.as_secs_f64().max(1e-9);
    // User + system time: what the work costs whatever else the machine is doing.
    let per_cpu = cli_sample
        .cpu
        .filter(|cpu| !cpu.is_zero())
        .map(|cpu| count as f64 / cpu.as_secs_f64());

    let mut section = Section::new(
        "verify: shipments per second",
        &format!(
            "{count} generated shipments, five DSSE envelopes each (component; release product, SBOM, provenance; custody), policy `eu-cra-import` with the re-scan and the vulnerability database marked `when-unavailable = \"not-applicable\"` (`policy.toml`), no re-scan, all accepted. In process: the `bench_verify` example (rayon, {threads} threads). CLI: `consign verify lot-*/ --policy policy.toml --trust trust.toml --at {CHECK_DATE} --no-rescan --no-ledger --format json` on the same shipments as folders, timed here (process start, reading {count} folders, JSON output included). No peer tool verifies these shipments."
        ),
        &[
            "how",
            "time",
            "shipments/s",
            "envelopes/s",
            "shipments per CPU-second",
            "peak RSS",
            "cores used",
        ],
    );
    let envelopes = (count * 5) as f64;
    section.row(vec![
        "in process (bench_verify)".into(),
        seconds(std::time::Duration::from_secs_f64(
            count as f64 / library_rate.max(1e-9),
        )),
        format!("{library_rate:.0}"),
        format!("{:.0}", library_rate * 5.0),
        "-".into(),
        "-".into(),
        "-".into(),
    ]);
    section.row(vec![
        "consign verify (CLI)".into(),
        seconds(cli_sample.wall),
        format!("{cli_rate:.0}"),
        format!("{:.0}", envelopes / cli_sample.wall.as_secs_f64().max(1e-9)),
        per_cpu.map_or_else(|| "?".to_owned(), |rate| format!("{rate:.0}")),
        rss(cli_sample.peak_rss_kib),
        measure::cores(&cli_sample),
    ]);
    section.headline(
        "shipments verified per second through `consign verify`",
        format!(
            "{cli_rate:.0} (in process: {library_rate:.0}; CLI per CPU-second: {})",
            per_cpu.map_or_else(|| "?".to_owned(), |rate| format!("{rate:.0}"))
        ),
        ">= 1,000 on 2 cores",
        Some(cli_rate >= 1_000.0),
    );
    section.data = json!({
        "shipments": count,
        "in_process": in_process,
        "cli_s": cli_sample.wall.as_secs_f64(),
        "cli_per_s": cli_rate,
        "cli_rss_kib": cli_sample.peak_rss_kib,
        "cli_per_cpu_s": per_cpu,
    });
    Ok(vec![section])
}
