//! `cargo xtask bench scan` (issue 7): each corpus image from image file to SBOM, `consign scan`
//! against the pipeline `../shared/corpus/BASELINES.md` measured (unblob extracts, cve-bin-tool
//! reads the original file plus the extraction and writes CycloneDX), with the corpus's
//! `score.py` run on both output folders. Goals (issue 12): at least 50x faster end to end, better
//! accuracy; the full scan at least 3x faster than binwalk v3's extraction alone (`binwalk -e -M`,
//! timed here beside the scan); the detector at least 1 GB/s of file bytes per core (CPU time, the
//! `detectbench` example over each unpacked image); both cores busy over the whole scan (CPU time
//! over wall time of the `consign scan` runs).
//!
//! consign runs `runs` times per image (median); the peers, at tens of seconds per image, once.
//! A second section puts consign's score on the held-out images (`cargo xtask heldout`) beside
//! its score on the corpus the signatures were cut from.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use super::measure::{self, Job, cores, fresh_dir, per_core, ratio, rss, seconds};
use super::peers::Peers;
use super::report::Section;
use super::{Image, Options, build_example};

pub(crate) fn run(options: &Options, images: &[Image]) -> Result<Vec<Section>, String> {
    Peers::ensure_apt()?;
    let peers = Peers::new(&options.base);
    let peer_error = peers.ensure_python().err();
    let binwalk = peers.ensure_binwalk();
    let binwalk_scratch = options.work().join("cwd-binwalk");
    std::fs::create_dir_all(&binwalk_scratch)
        .map_err(|err| format!("creating {}: {err}", binwalk_scratch.display()))?;

    let truth_dir = options.work().join("truth");
    fresh_dir(&truth_dir)?;
    for image in images {
        let dir = truth_dir.join(&image.name);
        std::fs::create_dir_all(&dir)
            .map_err(|err| format!("creating {}: {err}", dir.display()))?;
        std::fs::copy(&image.truth, dir.join("truth.json"))
            .map_err(|err| format!("copying {}: {err}", image.truth.display()))?;
    }

    let consign_sboms = options.out("consign").join("sbom");
    let cbt_sboms = options.out("cve-bin-tool").join("sbom");
    fresh_dir(&consign_sboms)?;
    fresh_dir(&cbt_sboms)?;
    for dir in [&consign_sboms, &cbt_sboms] {
        std::fs::create_dir_all(dir).map_err(|err| format!("creating {}: {err}", dir.display()))?;
    }
    let logs = options.logs("scan");
    std::fs::create_dir_all(&logs).map_err(|err| format!("creating {}: {err}", logs.display()))?;

    let mut rows = Vec::new();
    for image in images {
        let consign = time_consign(options, image, &consign_sboms, &logs)?;
        // binwalk's extraction alone, the first step of its users' pipeline, against the whole scan.
        let extract = match &binwalk {
            Ok(binwalk) => {
                let out = options.out("binwalk").join(&image.name);
                fresh_dir(&out)?;
                let job = super::unpack::binwalk_job(
                    binwalk,
                    image,
                    &out,
                    &peers.env(),
                    &binwalk_scratch,
                    &logs,
                );
                Some(measure::time(&job)?)
            }
            Err(_) => None,
        };
        let peer = if peer_error.is_none() {
            Some(time_peers(options, &peers, image, &cbt_sboms, &logs)?)
        } else {
            None
        };
        eprintln!(
            "scan {}: consign {}, unblob + cve-bin-tool {}",
            image.name,
            seconds(consign.wall),
            peer.as_ref().map_or_else(
                || "-".to_owned(),
                |peer| seconds(peer.unblob.wall + peer.cbt.wall)
            )
        );
        rows.push((image, consign, peer, extract));
    }

    let score_path = options.corpus.join("score.py");
    let consign_score = crate::score::score_py(&score_path, &consign_sboms, &truth_dir)?;
    let cbt_score = if peer_error.is_none() {
        Some(crate::score::score_py(&score_path, &cbt_sboms, &truth_dir)?)
    } else {
        None
    };

    let mut section = Section::new(
        "scan: consign vs unblob + cve-bin-tool, image file to SBOM",
        "`consign scan IMAGE -o SBOM` against `unblob -e DIR IMAGE` then `cve-bin-tool --offline ... --sbom-output SBOM` on the original file plus unblob's extraction (unblob 26.6.4 and cve-bin-tool 3.4 from PyPI, offline with an empty CVE database, as BASELINES.md). Speed-up = (unblob + cve-bin-tool) / consign. Entries = SBOM entries after score.py's de-duplication (versioned ones in brackets); R_nv / P / R_name = recall on name+version, precision, recall on name, from the corpus's score.py.",
        &[
            "image",
            "truth",
            "consign scan",
            "unblob + cve-bin-tool",
            "speed-up",
            "consign entries",
            "cbt entries",
            "consign R_nv / P / R_name",
            "cbt R_nv / P / R_name",
            "peak RSS (peer / consign)",
            "binwalk -e -M",
            "binwalk / consign scan",
            "cores used (consign)",
            "detect per core",
        ],
    );
    let detect_rates = detection_rates(images, &logs);
    let (mut consign_total, mut unblob_total, mut cbt_total) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let (mut consign_cpu, mut binwalk_total) = (Duration::ZERO, Duration::ZERO);
    let (mut detect_bytes, mut detect_cpu, mut digest_cpu) = (0u64, Duration::ZERO, Duration::ZERO);
    let mut peer_failures = Vec::new();
    let mut data = Vec::new();
    for (idx, (image, consign, peer, extract)) in rows.iter().enumerate() {
        consign_total += consign.wall;
        consign_cpu += consign.cpu.unwrap_or_default();
        let extract_wall = extract.map(|sample| sample.wall);
        binwalk_total += extract_wall.unwrap_or_default();
        let rate = detect_rates
            .as_ref()
            .ok()
            .and_then(|rates| rates.get(idx))
            .copied();
        if let Some(rate) = rate {
            detect_bytes += rate.bytes;
            detect_cpu += rate.cpu;
            digest_cpu += rate.digest_cpu;
        }
        let ours = consign_score.pointer(&format!("/images/{}", image.name));
        let theirs = cbt_score
            .as_ref()
            .and_then(|score| score.pointer(&format!("/images/{}", image.name)));
        let (peer_time, peer_rss) = match peer {
            Some(peer) => {
                unblob_total += peer.unblob.wall;
                cbt_total += peer.cbt.wall;
                if peer.unblob.exit_code != Some(0) || peer.cbt.exit_code != Some(0) {
                    peer_failures.push(format!(
                        "{} (unblob exit {:?}, cve-bin-tool exit {:?})",
                        image.name, peer.unblob.exit_code, peer.cbt.exit_code
                    ));
                }
                (
                    format!(
                        "{} ({} + {})",
                        seconds(peer.unblob.wall + peer.cbt.wall),
                        seconds(peer.unblob.wall),
                        seconds(peer.cbt.wall)
                    ),
                    peer.unblob.peak_rss_kib.max(peer.cbt.peak_rss_kib),
                )
            }
            None => ("-".to_owned(), None),
        };
        let peer_wall = peer
            .as_ref()
            .map_or(0.0, |peer| (peer.unblob.wall + peer.cbt.wall).as_secs_f64());
        section.row(vec![
            image.name.clone(),
            ours.and_then(|r| r["truth"].as_u64())
                .map_or_else(|| "?".to_owned(), |n| n.to_string()),
            seconds(consign.wall),
            peer_time,
            ratio(peer_wall, consign.wall.as_secs_f64()),
            entries(ours),
            entries(theirs),
            scores(ours),
            scores(theirs),
            format!("{} / {}", rss(peer_rss), rss(consign.peak_rss_kib)),
            extract_wall.map_or_else(|| "-".to_owned(), seconds),
            extract_wall.map_or_else(
                || "-".to_owned(),
                |wall| ratio(wall.as_secs_f64(), consign.wall.as_secs_f64()),
            ),
            cores(consign),
            rate.map_or_else(|| "-".to_owned(), |rate| per_core(rate.bytes, rate.cpu)),
        ]);
        data.push(json!({
            "image": image.name,
            "bytes": image.bytes,
            "consign_s": consign.wall.as_secs_f64(),
            "consign_rss_kib": consign.peak_rss_kib,
            "consign_cpu_s": consign.cpu.map(|cpu| cpu.as_secs_f64()),
            "binwalk_extract_s": extract_wall.map(|wall| wall.as_secs_f64()),
            "detect_bytes": rate.map(|rate| rate.bytes),
            "detect_cpu_s": rate.map(|rate| rate.cpu.as_secs_f64()),
            "unblob_s": peer.as_ref().map(|peer| peer.unblob.wall.as_secs_f64()),
            "cve_bin_tool_s": peer.as_ref().map(|peer| peer.cbt.wall.as_secs_f64()),
            "peer_rss_kib": peer_rss,
            "consign_score": ours,
            "cve_bin_tool_score": theirs,
        }));
    }
    let peer_total = unblob_total + cbt_total;
    let consign_totals = consign_score.get("total");
    let cbt_totals = cbt_score.as_ref().and_then(|score| score.get("total"));
    section.row(vec![
        "**total**".into(),
        consign_totals
            .and_then(|t| t["truth"].as_u64())
            .map_or_else(|| "?".to_owned(), |n| n.to_string()),
        seconds(consign_total),
        if cbt_score.is_some() {
            format!(
                "{} ({} + {})",
                seconds(peer_total),
                seconds(unblob_total),
                seconds(cbt_total)
            )
        } else {
            "-".to_owned()
        },
        ratio(peer_total.as_secs_f64(), consign_total.as_secs_f64()),
        entries(consign_totals),
        entries(cbt_totals),
        scores(consign_totals),
        scores(cbt_totals),
        String::new(),
        if binwalk.is_ok() {
            seconds(binwalk_total)
        } else {
            "-".to_owned()
        },
        ratio(binwalk_total.as_secs_f64(), consign_total.as_secs_f64()),
        total_cores(consign_cpu, consign_total),
        per_core(detect_bytes, detect_cpu),
    ]);

    let speedup = peer_total.as_secs_f64() / consign_total.as_secs_f64().max(1e-9);
    let judged = cbt_score.is_some();
    section.headline(
        "(unblob + cve-bin-tool) / consign scan, end to end",
        if judged {
            format!("{speedup:.1}x")
        } else {
            "-".into()
        },
        ">= 50x",
        judged.then_some(speedup >= 50.0),
    );
    let over_binwalk = binwalk_total.as_secs_f64() / consign_total.as_secs_f64().max(1e-9);
    section.headline(
        "binwalk v3 extraction alone / consign scan, whole corpus",
        if binwalk.is_ok() {
            format!("{over_binwalk:.2}x")
        } else {
            "-".into()
        },
        ">= 3x",
        binwalk.is_ok().then_some(over_binwalk >= 3.0),
    );
    let detect_rate = bytes_per_second(detect_bytes, detect_cpu);
    let recognition_cpu = detect_cpu.saturating_sub(digest_cpu);
    section.headline(
        "detection, file bytes per CPU second (per core), whole corpus",
        per_core(detect_bytes, detect_cpu),
        ">= 1 GB/s",
        detect_rates.is_ok().then_some(detect_rate >= 1e9),
    );
    section.headline(
        "of which recognition alone (detection's CPU less the evidence digests'), per core",
        per_core(detect_bytes, recognition_cpu),
        "(information)",
        None,
    );
    let available = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let available = f64::from(u32::try_from(available).unwrap_or(u32::MAX));
    let busy = consign_cpu.as_secs_f64() / consign_total.as_secs_f64().max(1e-9);
    section.headline(
        "cores kept busy by consign scan (user+sys / wall), whole corpus",
        total_cores(consign_cpu, consign_total),
        &format!("both of {available} (>= {:.1})", 0.9 * available),
        (consign_cpu > Duration::ZERO).then_some(busy >= 0.9 * available),
    );
    let figure = |totals: Option<&Value>, key: &str| {
        totals
            .and_then(|t| t.get(key))
            .and_then(Value::as_f64)
            .unwrap_or(0.0)
    };
    let (our_recall, our_precision) = (
        figure(consign_totals, "recall_nv"),
        figure(consign_totals, "precision"),
    );
    let (their_recall, their_precision) = (
        figure(cbt_totals, "recall_nv"),
        figure(cbt_totals, "precision"),
    );
    // "Better" means no worse on either figure and better on at least one.
    let better = our_recall >= their_recall
        && our_precision >= their_precision
        && (our_recall > their_recall || our_precision > their_precision);
    section.headline(
        "accuracy, recall_nv / precision (consign vs cve-bin-tool)",
        if judged {
            format!(
                "{our_recall:.2} / {our_precision:.2} vs {their_recall:.2} / {their_precision:.2}"
            )
        } else {
            format!("{our_recall:.2} / {our_precision:.2} vs -")
        },
        "better than cve-bin-tool",
        judged.then_some(better),
    );
    if let Err(err) = &binwalk {
        section.note(format!(
            "binwalk v3 could not be installed, so the scan was not compared with it: {err}"
        ));
    }
    match &detect_rates {
        Ok(_) => {
            section.note(
                "detect per core: bytes of every file `detect` is handed (the image and each file inside it) per CPU second of all its threads, start-up excluded (`target/release/examples/detectbench IMAGE...`, log in target/bench/logs/scan/detectbench.log).",
            );
            section.note(format!(
                "recognition alone: `detect` also takes the SHA-256 and SHA-512 of every file that stays a component's evidence (the SBOM's hashes; BSI TR-03183-2 asks for SHA-512), at a rate per byte that no detector design changes (`openssl speed sha256 sha512` gives it for this processor). detectbench times those digests alone over the same files ({:.0}% of detection's CPU here); the recognition rate takes them out.",
                digest_cpu.as_secs_f64() * 100.0 / detect_cpu.as_secs_f64().max(1e-9)
            ));
        }
        Err(err) => section.note(format!("the detection rate could not be measured: {err}")),
    }
    if let Some(err) = &peer_error {
        section.note(format!(
            "unblob + cve-bin-tool could not be installed, so only consign ran: {err}"
        ));
    }
    if !peer_failures.is_empty() {
        section.note(format!(
            "a peer exited non-zero on: {} (logs in target/bench/logs/scan/); what it wrote is scored.",
            peer_failures.join(", ")
        ));
    }
    section.note(format!(
        "scores: `python3 {} target/bench/out/consign/sbom target/bench/work/truth` (and `.../out/cve-bin-tool/sbom`); consign total {}, the peers' total {}.",
        super::display_path(&score_path),
        seconds(consign_total),
        if judged { seconds(peer_total) } else { "-".into() }
    ));
    section.data = json!({
        "images": data,
        "speedup": judged.then_some(speedup),
        "binwalk_extract_over_scan": binwalk.is_ok().then_some(over_binwalk),
        "detect_bytes_per_cpu_s": detect_rates.is_ok().then_some(detect_rate),
        "recognition_bytes_per_cpu_s": detect_rates
            .is_ok()
            .then(|| bytes_per_second(detect_bytes, recognition_cpu)),
        "scan_cores_busy": busy,
        "consign_total": consign_totals,
        "cve_bin_tool_total": cbt_totals,
    });
    // The corpus is where the signatures were cut: beside it, the same consign on images it never
    // saw (issue 12). A held-out set that cannot be built here (no network for a first download)
    // is reported, not fatal to the speed figures.
    let mut sections = vec![section];
    match crate::heldout::bench_sections(&options.consign, consign_totals, images.len()) {
        Ok(more) => sections.extend(more),
        Err(err) => {
            if let Some(section) = sections.first_mut() {
                section.note(format!(
                    "the held-out images could not be built or scored: {err}"
                ));
            }
        }
    }
    Ok(sections)
}

fn time_consign(
    options: &Options,
    image: &Image,
    sboms: &Path,
    logs: &Path,
) -> Result<measure::Sample, String> {
    let sbom = sboms.join(format!("{}.json", image.name));
    let job = Job::new(
        &options.consign,
        logs.join(format!("consign-{}.log", image.name)),
    )
    .arg("scan")
    .arg(&image.file)
    .arg("-o")
    .arg(&sbom);
    let samples = (0..options.runs)
        .map(|_| measure::time_ok(&job, &[0]))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(measure::median(&samples))
}

struct PeerRun {
    unblob: measure::Sample,
    cbt: measure::Sample,
}

/// unblob, then cve-bin-tool on the original file beside unblob's extraction, exactly as
/// BASELINES.md; the tree handed to cve-bin-tool is prepared (hard links) outside the timing.
fn time_peers(
    options: &Options,
    peers: &Peers,
    image: &Image,
    sboms: &Path,
    logs: &Path,
) -> Result<PeerRun, String> {
    let env = peers.env();
    // unblob writes `unblob.log` into its working directory.
    let scratch = options.work().join("cwd-scan");
    std::fs::create_dir_all(&scratch)
        .map_err(|err| format!("creating {}: {err}", scratch.display()))?;

    let extracted = options.out("unblob").join(&image.name);
    fresh_dir(&extracted)?;
    std::fs::create_dir_all(&extracted)
        .map_err(|err| format!("creating {}: {err}", extracted.display()))?;
    let unblob = Job::new("unblob", logs.join(format!("unblob-{}.log", image.name)))
        .arg("-e")
        .arg(&extracted)
        .arg(&image.file)
        .envs(&env)
        .cwd(&scratch);
    let unblob = measure::time(&unblob)?;

    let tree = options.out("cve-bin-tool").join("scan").join(&image.name);
    fresh_dir(&tree)?;
    let original = tree.join("original");
    std::fs::create_dir_all(&original)
        .map_err(|err| format!("creating {}: {err}", original.display()))?;
    let file_name = image.file.file_name().unwrap_or_default();
    if std::fs::hard_link(&image.file, original.join(file_name)).is_err() {
        // The corpus may sit on another filesystem.
        std::fs::copy(&image.file, original.join(file_name))
            .map_err(|err| format!("copying {}: {err}", image.file.display()))?;
    }
    let copy = Command::new("cp")
        .arg("-al")
        .arg(&extracted)
        .arg(tree.join("unblob"))
        .status()
        .map_err(|err| format!("could not start `cp`: {err}"))?;
    if !copy.success() {
        return Err(format!(
            "`cp -al {} {}` failed ({copy})",
            extracted.display(),
            tree.join("unblob").display()
        ));
    }

    let sbom = sboms.join(format!("{}.json", image.name));
    let report = logs.join(format!("cve-bin-tool-{}.report.json", image.name));
    let cbt = Job::new(
        "cve-bin-tool",
        logs.join(format!("cve-bin-tool-{}.log", image.name)),
    )
    .args([
        "--offline",
        "-u",
        "never",
        "--disable-version-check",
        "--disable-validation-check",
        "-f",
        "json",
        "-o",
    ])
    .arg(&report)
    .arg("--sbom-output")
    .arg(&sbom)
    .args(["--sbom-type", "cyclonedx", "--sbom-format", "json"])
    .arg(&tree)
    .envs(&env)
    .cwd(&scratch);
    let cbt = measure::time(&cbt)?;
    Ok(PeerRun { unblob, cbt })
}

/// The detector's work on one image: bytes handed to it per run and CPU time per run.
#[derive(Debug, Clone, Copy, PartialEq)]
struct DetectRate {
    bytes: u64,
    cpu: Duration,
    /// Of `cpu`, what the SHA-256 and SHA-512 of the evidence files take.
    digest_cpu: Duration,
}

/// Runs the `detectbench` example over every image, one rate per image in order.
fn detection_rates(images: &[Image], logs: &Path) -> Result<Vec<DetectRate>, String> {
    let detectbench = build_example("consign-detect", "detectbench")?;
    let log = logs.join("detectbench.log");
    let job = Job::new(&detectbench, &log).args(images.iter().map(|image| image.file.clone()));
    measure::time_ok(&job, &[0])?;
    let text =
        std::fs::read_to_string(&log).map_err(|err| format!("reading {}: {err}", log.display()))?;
    let rates: Vec<DetectRate> = text.lines().filter_map(detectbench_line).collect();
    if rates.len() == images.len() {
        Ok(rates)
    } else {
        Err(format!(
            "detectbench measured {} of {} images (see {})",
            rates.len(),
            images.len(),
            log.display()
        ))
    }
}

/// Reads `PATH: F files, B bytes, R runs, cpu C s, wall W s, digested D bytes, digest cpu X s`
/// into bytes, CPU time and digest CPU time per run.
fn detectbench_line(line: &str) -> Option<DetectRate> {
    let (_, figures) = line.rsplit_once(": ")?;
    let mut fields = figures.split(", ");
    let seconds = |field: &str, prefix: &str| {
        let value: f64 = field
            .strip_prefix(prefix)?
            .strip_suffix(" s")?
            .parse()
            .ok()?;
        Duration::try_from_secs_f64(value).ok()
    };
    let _files = fields.next()?.strip_suffix(" files")?;
    let bytes: u64 = fields.next()?.strip_suffix(" bytes")?.parse().ok()?;
    let runs: u32 = fields.next()?.strip_suffix(" runs")?.parse().ok()?;
    let cpu = seconds(fields.next()?, "cpu ")?;
    let _wall = seconds(fields.next()?, "wall ")?;
    let _digested = fields.next()?.strip_prefix("digested ")?;
    let digest_cpu = seconds(fields.next()?, "digest cpu ")?;
    (runs > 0).then(|| DetectRate {
        bytes,
        cpu: cpu / runs,
        digest_cpu: digest_cpu / runs,
    })
}

/// Bytes per second of `cpu`, 0 without CPU time.
#[allow(clippy::cast_precision_loss)] // A rate, compared with a goal of 1e9.
fn bytes_per_second(bytes: u64, cpu: Duration) -> f64 {
    if cpu.is_zero() {
        0.0
    } else {
        bytes as f64 / cpu.as_secs_f64()
    }
}

/// CPU time over wall time of a whole set of runs: `1.6`; `-` without any CPU time.
fn total_cores(cpu: Duration, wall: Duration) -> String {
    if cpu.is_zero() || wall.is_zero() {
        "-".to_owned()
    } else {
        format!("{:.1}", cpu.as_secs_f64() / wall.as_secs_f64())
    }
}

fn entries(result: Option<&Value>) -> String {
    match result {
        Some(r) => format!(
            "{} ({})",
            r["entries"].as_u64().unwrap_or(0),
            r["versioned_entries"].as_u64().unwrap_or(0)
        ),
        None => "-".to_owned(),
    }
}

fn scores(result: Option<&Value>) -> String {
    match result {
        Some(r) => format!(
            "{:.2} / {:.2} / {:.2}",
            r["recall_nv"].as_f64().unwrap_or(0.0),
            r["precision"].as_f64().unwrap_or(0.0),
            r["name_recall"].as_f64().unwrap_or(0.0)
        ),
        None => "-".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_cells_read_score_py_json() {
        let result = json!({"entries": 12, "versioned_entries": 9, "recall_nv": 0.5, "precision": 1.0, "name_recall": 0.625});
        assert_eq!(entries(Some(&result)), "12 (9)");
        assert_eq!(scores(Some(&result)), "0.50 / 1.00 / 0.62");
        assert_eq!(entries(None), "-");
    }

    #[test]
    fn detectbench_lines_give_bytes_and_cpu_per_run() {
        let rate = detectbench_line(
            "/corpus/a: b/flash.bin: 83 files, 50000000 bytes, 4 runs, cpu 0.200000 s, wall 0.110000 s, digested 30000000 bytes, digest cpu 0.120000 s",
        )
        .unwrap();
        assert_eq!(
            rate,
            DetectRate {
                bytes: 50_000_000,
                cpu: Duration::from_millis(50),
                digest_cpu: Duration::from_millis(30),
            }
        );
        assert_eq!(per_core(rate.bytes, rate.cpu), "1.00 GB/s");
        assert_eq!(
            detectbench_line(
                "x: 1 files, 2 bytes, 0 runs, cpu 1 s, wall 1 s, digested 0 bytes, digest cpu 0 s"
            ),
            None
        );
        // A line without the digests' figures is from another detectbench: not read.
        assert_eq!(
            detectbench_line("x: 1 files, 2 bytes, 1 runs, cpu 1 s, wall 1 s"),
            None
        );
        assert_eq!(detectbench_line("no figures here"), None);
        assert_eq!(
            total_cores(Duration::from_secs(3), Duration::from_secs(2)),
            "1.5"
        );
        assert_eq!(total_cores(Duration::ZERO, Duration::from_secs(2)), "-");
    }
}
