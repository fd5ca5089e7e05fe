//! The unpacker's bounds against hostile inputs (issue 13): peak memory within the configured
//! limits, measured in a child process; bombs refused or cut and said so; probing linear in the
//! input; zip64 and entry counts from the central directory; nesting deeper than any stack; a
//! folder chain thousands deep. Every input is built here from a few parameters.
#![allow(clippy::unwrap_used, clippy::print_stdout)] // Test code: a panic is the test failing.

mod hostile;

use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use consign_model::CutReason;
use consign_unpack::{Limits, MAX_NESTING, Unpacked, unpack};

const MIB: u64 = 1 << 20;

/// The hostile inputs the memory test runs, by name.
fn build(case: &str) -> Vec<u8> {
    match case {
        // 42.zip's shape: 6 levels of 16, 4 MiB of zeros at the bottom (16^6 x 4 MiB = 64 TiB).
        "nested-zip" => hostile::nested_zip(6, 16, 4 * MIB),
        // One 256 MiB stream behind 1,000 names.
        "shared-zip" => hostile::shared_stream_zip(1000, 256 * MIB),
        // 1,000 entries overlapping on a 256 MiB kernel: 256 GB if each were read.
        "overlapping-zip" => hostile::overlapping_zip(1000, 256 * MIB),
        // 10 GiB of zeros in one gzip member of about 10 MB.
        "gzip-zeros" => hostile::gzip_of_zeros(10 << 30),
        // 10 GiB of zeros in one xz block of about 2.3 MB.
        "xz-zeros" => hostile::xz_of_zeros(10 << 30),
        // Four 1 GiB files of sparse blocks in a 130 KB squashfs.
        "sparse-squashfs" => hostile::sparse_squashfs(4, 1 << 30),
        // 10,000 zip local headers leading nowhere, then 64 MiB of zeros, gzipped.
        "probe-trap" => hostile::probe_trap(10_000, 64 << 20),
        // The same at a tenth of the size, and at the size of the linearity test's 10x.
        "probe-1x" => hostile::probe_trap(1000, 6 << 20),
        "probe-10x" => hostile::probe_trap(10_000, 60 << 20),
        other => panic!("no hostile case `{other}`"),
    }
}

/// The limits a child runs with: the defaults, or tight ones.
fn limits(name: &str) -> Limits {
    match name {
        "default" => Limits::default(),
        "tight" => Limits {
            max_total_bytes: 64 * MIB,
            max_file_bytes: 32 * MIB,
            ..Limits::default()
        },
        // The ratio raised so that a probe trap's zeros are decompressed and probed at every
        // size (its gzip compresses better than 1000:1).
        "probe" => Limits {
            max_ratio: 100_000,
            ..Limits::default()
        },
        other => panic!("no limits `{other}`"),
    }
}

/// `VmHWM` (peak resident set) of this process, in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

/// The child's side: builds the input, resets the peak (`clear_refs` 5), unpacks, and prints
/// the peak and the figures on one line for the parent.
#[test]
fn child() {
    let (Ok(case), Ok(limit_name)) = (
        std::env::var("CONSIGN_HOSTILE_CASE"),
        std::env::var("CONSIGN_HOSTILE_LIMITS"),
    ) else {
        return; // Only runs when the parent asks.
    };
    let input = Bytes::from(build(&case));
    let runs: usize = std::env::var("CONSIGN_HOSTILE_RUNS")
        .ok()
        .and_then(|runs| runs.parse().ok())
        .unwrap_or(1);
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    // The best of `runs` (timing), the last one's figures.
    let mut seconds = f64::INFINITY;
    let mut out = None;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        out = Some(unpack(&case, input.clone(), &limits(&limit_name)));
        seconds = seconds.min(started.elapsed().as_secs_f64());
    }
    let out = out.unwrap();
    let peak = peak_rss();
    let mut reasons: Vec<&str> = out
        .report
        .incomplete
        .iter()
        .map(|c| c.reason.as_str())
        .collect();
    reasons.sort_unstable();
    reasons.dedup();
    println!(
        "RESULT input={} peak={peak} reset={reset} seconds={seconds:.3} files={} bytes={} cuts={} reasons={}",
        input.len(),
        out.report.totals.files,
        out.report.totals.bytes,
        out.report.incomplete.len(),
        reasons.join(",")
    );
}

/// What a child reported.
#[derive(Debug)]
struct Child {
    input: u64,
    peak: u64,
    seconds: f64,
    bytes: u64,
    cuts: u64,
    reasons: String,
}

/// Runs `case` under `limit_name` in a child process (this test binary again).
fn in_child(case: &str, limit_name: &str) -> Child {
    in_child_runs(case, limit_name, 1)
}

/// [`in_child`], unpacking `runs` times; `seconds` is the best.
fn in_child_runs(case: &str, limit_name: &str, runs: usize) -> Child {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["child", "--exact", "--nocapture", "--test-threads=1"])
        .env("CONSIGN_HOSTILE_CASE", case)
        .env("CONSIGN_HOSTILE_LIMITS", limit_name)
        .env("CONSIGN_HOSTILE_RUNS", runs.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("RESULT ").map(|(_, rest)| rest))
        .unwrap_or_else(|| {
            panic!(
                "{case} ({limit_name}): the child reported nothing ({}):\n{stdout}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )
        });
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|f| f.strip_prefix(&format!("{name}=")))
            .unwrap_or_default()
            .to_owned()
    };
    Child {
        input: field("input").parse().unwrap(),
        peak: field("peak").parse().unwrap(),
        seconds: field("seconds").parse().unwrap(),
        bytes: field("bytes").parse().unwrap(),
        cuts: field("cuts").parse().unwrap(),
        reasons: field("reasons"),
    }
}

/// Peak memory over every hostile input stays within the input, the output the limits allow
/// and a fixed allowance for the process, the parsers' working sets and the entries' names; and
/// each bomb is cut, never silently. Run in child processes so each peak is its own.
#[test]
fn peak_memory_stays_within_the_limits() {
    // The test binary itself, rayon's threads, one chunk and one held stream per worker.
    const ALLOWANCE: u64 = 256 * MIB;
    let cases = [
        "nested-zip",
        "shared-zip",
        "overlapping-zip",
        "gzip-zeros",
        "xz-zeros",
        "sparse-squashfs",
        "probe-trap",
    ];
    let mut failures = Vec::new();
    for case in cases {
        for limit_name in ["tight", "default"] {
            let child = in_child(case, limit_name);
            let limits = limits(limit_name);
            // Bounded by the limits, and (thanks to the job-wide ratio) by the input.
            let output_bound = limits
                .max_total_bytes
                .min(child.input.max(4096).saturating_mul(limits.max_ratio));
            let bound = child.input + output_bound + ALLOWANCE;
            println!(
                "{case:16} {limit_name:8} input {:>10} B, peak RSS {:>5} MiB (bound {:>5} MiB), {:>7.2} s, {:>10} bytes out, {} cuts ({})",
                child.input,
                child.peak / MIB,
                bound / MIB,
                child.seconds,
                child.bytes,
                child.cuts,
                child.reasons
            );
            if child.peak > bound {
                failures.push(format!(
                    "{case} ({limit_name}): peak {} > bound {bound}",
                    child.peak
                ));
            }
            if child.cuts == 0 && case != "probe-trap" {
                failures.push(format!(
                    "{case} ({limit_name}): the bomb was not reported as a cut"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

fn reasons(out: &Unpacked) -> Vec<CutReason> {
    out.report.incomplete.iter().map(|cut| cut.reason).collect()
}

/// Entries sharing one stream, or overlapping one another's data, are refused: one is read, the
/// rest are cuts naming the entry they collide with.
#[test]
fn shared_and_overlapping_zip_entries_are_refused() {
    let shared = hostile::shared_stream_zip(50, MIB);
    let out = unpack("shared.zip", Bytes::from(shared), &Limits::default());
    let files: Vec<_> = out.vfs.files().skip(1).collect();
    assert_eq!(files.len(), 1, "one name keeps the stream");
    assert_eq!(files[0].1.len() as u64, MIB);
    assert_eq!(reasons(&out), vec![CutReason::Refused; 49]);
    assert!(out.report.incomplete[0].what.contains("zip member `1`"));

    let overlapping = hostile::overlapping_zip(50, MIB);
    let out = unpack("overlap.zip", Bytes::from(overlapping), &Limits::default());
    let files: Vec<_> = out.vfs.files().skip(1).collect();
    assert_eq!(files.len(), 1, "{:?}", out.report.diagnostics());
    // The first entry holds the 49 headers it quotes and the kernel.
    assert_eq!(files[0].1.len() as u64, MIB + 49 * 38);
    assert_eq!(reasons(&out), vec![CutReason::Refused; 49]);
}

/// A 10 GiB gzip of zeros under the default limits: cut whole (nothing kept), said so.
#[test]
fn a_stream_past_its_bound_is_cut_whole() {
    let bomb = hostile::gzip_of_zeros(10 << 30);
    assert!(bomb.len() < 12 << 20);
    let out = unpack("zeros.gz", Bytes::from(bomb), &Limits::default());
    assert_eq!(out.vfs.files().count(), 1, "only the input itself");
    assert_eq!(reasons(&out), [CutReason::FileBytesLimit]);
    let cut = &out.report.incomplete[0];
    assert_eq!(cut.location, "zeros.gz/gzip@0x0");
}

/// The same for xz, whose decoder is another library: 10 GiB of zeros are cut whole. A small one
/// decodes to what it holds, so the builder makes real xz.
#[test]
fn an_xz_stream_past_its_bound_is_cut_whole() {
    let small = hostile::xz_of_zeros(4 * MIB);
    let out = consign_unpack::decompress::decompress(
        consign_unpack::decompress::Codec::Xz,
        &small,
        8 * MIB,
    )
    .unwrap();
    assert_eq!(out.data.len() as u64, 4 * MIB);
    assert!(out.data.iter().all(|&b| b == 0));
    assert_eq!(out.consumed, Some(small.len()));

    let bomb = hostile::xz_of_zeros(10 << 30);
    assert!(bomb.len() < 4 << 20, "{}", bomb.len());
    let out = unpack("zeros.xz", Bytes::from(bomb), &Limits::default());
    assert_eq!(out.vfs.files().count(), 1, "only the input itself");
    assert_eq!(reasons(&out), [CutReason::FileBytesLimit]);
    assert_eq!(out.report.incomplete[0].location, "zeros.xz/xz@0x0");
}

/// A deadline cuts a job that would run long, and the cut says so.
#[test]
fn the_deadline_cuts_a_long_job() {
    let bomb = hostile::gzip_of_zeros(40 << 30);
    let limits = Limits {
        max_seconds: 1,
        max_ratio: 1 << 40,
        max_file_bytes: 1 << 40,
        max_total_bytes: 1 << 40,
        ..Limits::default()
    };
    let started = Instant::now();
    let out = unpack("zeros.gz", Bytes::from(bomb), &limits);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(
        reasons(&out).contains(&CutReason::TimeLimit),
        "{:?}",
        out.report.incomplete
    );
}

/// Sparse squashfs blocks count against the expansion ratio: four 1 GiB files of holes in a
/// 130 KB image are cut, not allocated.
#[test]
fn sparse_squashfs_blocks_count_against_the_ratio() {
    let image = hostile::sparse_squashfs(4, 1 << 30);
    let out = unpack(
        "sparse.sqfs",
        Bytes::from(image.clone()),
        &Limits::default(),
    );
    assert_eq!(
        reasons(&out),
        vec![CutReason::RatioLimit; 4],
        "{:?}",
        out.report.diagnostics()
    );
    assert_eq!(
        out.report.totals.bytes,
        image.len() as u64,
        "only the input itself"
    );
    // Under the ratio they are read, zeros and all.
    let small = hostile::sparse_squashfs(2, 1 << 20);
    let out = unpack("small.sqfs", Bytes::from(small), &Limits::default());
    assert!(out.report.is_complete(), "{:?}", out.report.incomplete);
    let sizes: Vec<usize> = out.vfs.files().skip(1).map(|(_, d)| d.len()).collect();
    assert_eq!(sizes, [1 << 20, 1 << 20]);
}

/// A 42.zip-style nest costs at most the job's expansion ratio, and says where it stopped.
#[test]
fn a_nested_zip_bomb_stops_at_the_job_ratio() {
    let bomb = hostile::nested_zip(6, 16, 4 * MIB);
    let input = bomb.len() as u64;
    let out = unpack("42.zip", Bytes::from(bomb), &Limits::default());
    assert!(
        out.report.totals.bytes <= input + input * 1000,
        "{}",
        out.report.totals.bytes
    );
    assert!(reasons(&out).contains(&CutReason::RatioLimit));
}

/// Probing is linear in the input: ten times the fake zip headers and ten times the zeros cost
/// about ten times the time (a quadratic probe costs a hundred times). Each size is timed in a
/// child process of its own, so the other tests of this binary do not share its cores, the best
/// of three runs, twice, interleaved. Both sizes stay under what one stream holds before its
/// length is known (64 MiB), so both decompress in one pass and the ratio is the probing's.
#[test]
fn probing_is_linear_in_the_input() {
    let mut small = f64::INFINITY;
    let mut large = f64::INFINITY;
    for _ in 0..2 {
        for (case, best, headers, zeros) in [
            ("probe-1x", &mut small, 1000u64, 6 * MIB),
            ("probe-10x", &mut large, 10_000, 60 * MIB),
        ] {
            let child = in_child_runs(case, "probe", 3);
            assert_eq!(child.cuts, 0, "{case}: {}", child.reasons);
            assert_eq!(child.bytes, child.input + headers * 31 + zeros);
            *best = best.min(child.seconds);
        }
    }
    let ratio = large / small;
    println!("probe trap: {small:.3} s at 1x, {large:.3} s at 10x: ratio {ratio:.1}");
    assert!(ratio < 30.0, "10x the input took {ratio:.1}x the time");
}

/// zip64: 100,000 entries behind ZIP64 end records all come out; so do 100,000 behind a plain end
/// record whose 16-bit count wrapped (34,464), counted from the central directory.
#[test]
fn a_zip_of_100000_entries_yields_them_all() {
    for zip64 in [true, false] {
        let data = hostile::many_entries_zip(100_000, zip64);
        let out = unpack("many.zip", Bytes::from(data), &Limits::default());
        let zip = &out.report.root.containers[0];
        assert_eq!(zip.format, "zip");
        assert_eq!(zip.entries, 100_000, "zip64 {zip64}: {:?}", zip.diagnostics);
        assert!(out.report.is_complete(), "{:?}", out.report.incomplete);
        let last = out
            .vfs
            .nodes
            .iter()
            .find(|n| n.path.ends_with("/f099999"))
            .unwrap();
        assert_eq!(last.data().unwrap()[..], [(99_999 % 251) as u8]);
        if !zip64 {
            assert!(
                zip.diagnostics.iter().any(|d| d.message.contains("wraps")),
                "{:?}",
                zip.diagnostics
            );
        }
    }
}

/// A 5,000-layer gzip nest with a raised `--max-depth` does not overflow the stack: nesting stops
/// at the engine's own bound, and the cut says so.
#[test]
fn a_nest_deeper_than_any_stack_is_cut_not_fatal() {
    let nest = hostile::gzip_nest(5000);
    let limits = Limits {
        max_depth: 10_000,
        ..Limits::default()
    };
    let out = unpack("deep.gz", Bytes::from(nest), &limits);
    let deepest = out
        .vfs
        .nodes
        .iter()
        .map(|n| n.provenance.len())
        .max()
        .unwrap();
    assert_eq!(deepest as u32, MAX_NESTING + 1);
    assert_eq!(reasons(&out), [CutReason::DepthLimit]);
}

/// A 30 KB tar.gz of 2,000 empty files under one 1,900-level folder chain unpacks in moments:
/// nothing walks every folder above each file.
#[test]
fn a_deep_folder_chain_unpacks_in_linear_time() {
    let tar = hostile::deep_tar(1900, 2000);
    assert!(tar.len() < 64 << 10, "{}", tar.len());
    let started = Instant::now();
    let out = unpack("deep.tar.gz", Bytes::from(tar), &Limits::default());
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "deep folder chain: {seconds:.2} s, {} nodes",
        out.vfs.nodes.len()
    );
    assert_eq!(out.vfs.nodes.len(), 1 + 1 + 1900 + 2000);
    assert!(out.report.is_complete(), "{:?}", out.report.incomplete);
    // Far below the minutes a quadratic walk takes; generous for a loaded machine.
    assert!(seconds < 30.0, "{seconds} s");
}
