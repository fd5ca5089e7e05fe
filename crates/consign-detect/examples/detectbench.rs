//! Times the detector alone, in CPU time, over the files that unpacking an image gives: the
//! detection-throughput figure of `cargo xtask bench scan` (issue 12: at least 1 GB/s per core).
//!
//! ```text
//! cargo build --release -p consign-detect --example detectbench
//! target/release/examples/detectbench IMAGE...
//! ```
//!
//! Each image is unpacked first (not timed), then `detect` runs over the result until it has
//! used at least half a second of CPU (at least once). The bytes counted are every file's
//! content that `detect` is handed (an image and the files inside it each count), and the CPU
//! time is that of every thread of the process (`/proc/self/task/*/schedstat`, nanoseconds),
//! so the rate is per core whatever the number of threads. The embedded signatures are parsed
//! before the clock starts, and `detect` runs once on each image untimed (it compiles the version
//! regexes of the patterns whose anchors that image holds, on first use): start-up is the scan's,
//! not the detector's per-byte cost.
//!
//! Part of `detect`'s work is not recognition: it takes the SHA-256 and SHA-512 of every file that
//! stays a component's evidence (the SBOM's hashes; BSI TR-03183-2 asks for SHA-512), and those
//! digests cost a fixed rate per byte that no detector design changes. So the same files' digests
//! are then timed alone, as many runs, and reported beside the total, so the bench can give both
//! rates: with the digests, and for recognition alone (their CPU time taken out).
//!
//! One line per image: `NAME: F files, B bytes, R runs, cpu C s, wall W s, digested D bytes,
//! digest cpu X s`.

#![allow(clippy::print_stdout)] // A benchmark's whole job is to print its figures.

use std::time::{Duration, Instant};

use consign_unpack::Limits;

/// CPU time the detector should use per image before its rate is trusted.
const MIN_CPU: Duration = Duration::from_millis(500);
/// Most repetitions per image, so a tiny image does not loop for long.
const MAX_RUNS: u32 = 1000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    consign_detect::check_signatures().map_err(ToString::to_string)?;
    for path in std::env::args().skip(1) {
        let data = std::fs::read(&path).map_err(|err| format!("reading {path}: {err}"))?;
        let name = std::path::Path::new(&path)
            .file_name()
            .map_or_else(|| path.clone(), |name| name.to_string_lossy().into_owned());
        let unpacked = consign_unpack::unpack(&name, data.into(), &Limits::default());
        let (files, bytes) = unpacked
            .vfs
            .files()
            .fold((0u64, 0u64), |(files, bytes), (_, data)| {
                (files + 1, bytes + data.len() as u64)
            });
        let evidence = evidence_files(&unpacked.vfs, &consign_detect::detect(&unpacked.vfs));
        let cpu_before = process_cpu()?;
        let started = Instant::now();
        let mut runs = 0u32;
        loop {
            std::hint::black_box(consign_detect::detect(&unpacked.vfs));
            runs += 1;
            if runs >= MAX_RUNS || process_cpu()?.saturating_sub(cpu_before) >= MIN_CPU {
                break;
            }
        }
        let wall = started.elapsed();
        let cpu = process_cpu()?.saturating_sub(cpu_before);
        let digested: u64 = evidence.iter().map(|data| data.len() as u64).sum();
        let digest_before = process_cpu()?;
        for _ in 0..runs {
            for data in &evidence {
                std::hint::black_box(consign_model::Digests::of(data));
            }
        }
        let digest_cpu = process_cpu()?.saturating_sub(digest_before);
        println!(
            "{path}: {files} files, {bytes} bytes, {runs} runs, cpu {:.6} s, wall {:.6} s, \
             digested {digested} bytes, digest cpu {:.6} s",
            cpu.as_secs_f64(),
            wall.as_secs_f64(),
            digest_cpu.as_secs_f64()
        );
    }
    Ok(())
}

/// The bytes of every file that some component keeps as evidence, each once: what `detect`
/// digests.
fn evidence_files<'a>(
    vfs: &'a consign_model::Vfs,
    detection: &consign_detect::Detection,
) -> Vec<&'a [u8]> {
    let paths: std::collections::BTreeSet<&str> = detection
        .components
        .iter()
        .flat_map(|component| component.files.iter().map(|(path, _)| path.as_str()))
        .collect();
    vfs.files()
        .filter(|(node, _)| paths.contains(node.path.as_str()))
        .map(|(_, data)| data.as_ref())
        .collect()
}

/// CPU time used so far by every live thread of this process (rayon's workers never exit).
fn process_cpu() -> Result<Duration, String> {
    let tasks = std::fs::read_dir("/proc/self/task")
        .map_err(|err| format!("reading /proc/self/task: {err} (Linux only)"))?;
    let mut total = 0u64;
    for task in tasks.flatten() {
        let path = task.path().join("schedstat");
        // A thread may exit between listing and reading; it no longer counts.
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let nanos = text
            .split_whitespace()
            .next()
            .and_then(|field| field.parse::<u64>().ok())
            .ok_or_else(|| format!("{}: unexpected contents `{text}`", path.display()))?;
        total = total.saturating_add(nanos);
    }
    Ok(Duration::from_nanos(total))
}
