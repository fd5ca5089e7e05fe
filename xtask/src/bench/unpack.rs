//! `cargo xtask bench unpack` (issue 3): extraction speed against the practical floor and the
//! practical peer.
//!
//! 1. The squashfs filesystems inside the corpus images, carved out first, extracted by
//!    `unsquashfs -p 2` (squashfs-tools, C, two threads) and by `consign unpack FS -o DIR`. Goal:
//!    consign within 1.3x. A third column times the parser alone in process (the `fsbench`
//!    example), which splits consign's time into parsing and writing.
//! 2. Every corpus image, extracted by binwalk v3 (`binwalk -e -M -q -C DIR IMAGE`) and by
//!    `consign unpack IMAGE -o DIR`. Goal: consign at least 3x faster over the whole corpus.
//!
//! Each tool gets an empty output folder per run; both tools run in turn, alternating which goes
//! first, `runs` times, and the median counts. Beside each ratio: the files and bytes each wrote.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;

use super::measure::{
    self, Job, Sample, TreeStats, cores, fresh_dir, megabytes, ratio, rss, seconds,
};
use super::peers::Peers;
use super::report::Section;
use super::{Image, Options, build_example};

pub(crate) fn run(options: &Options, images: &[Image]) -> Result<Vec<Section>, String> {
    Peers::ensure_apt()?;
    let peers = Peers::new(&options.base);
    let squashfs = squashfs_section(options, images)?;
    let binwalk = match peers.ensure_binwalk() {
        Ok(binwalk) => binwalk_section(options, images, &peers, &binwalk)?,
        Err(err) => {
            let mut section = Section::new(
                "unpack: consign vs binwalk v3, every corpus image",
                "binwalk v3 could not be installed, so this comparison did not run.",
                &[],
            );
            section.note(format!("installing binwalk failed: {err}"));
            section.headline("binwalk / consign, whole corpus", "-".into(), ">= 3x", None);
            section
        }
    };
    Ok(vec![squashfs, binwalk])
}

/// A squashfs filesystem carved out of a corpus image.
struct Filesystem {
    /// `<image>@0x<offset>` or `<image>/<file in the bundle>@0x<offset>`.
    name: String,
    path: PathBuf,
    bytes: u64,
}

fn squashfs_section(options: &Options, images: &[Image]) -> Result<Section, String> {
    let filesystems = carve_filesystems(options, images)?;
    let fsbench = build_example("consign-unpack", "fsbench")?;
    let consign = &options.consign;
    let logs = options.logs("unpack");
    std::fs::create_dir_all(&logs).map_err(|err| format!("creating {}: {err}", logs.display()))?;

    let mut peer_samples = vec![Vec::new(); filesystems.len()];
    let mut consign_samples = vec![Vec::new(); filesystems.len()];
    let mut parse_samples = vec![Vec::new(); filesystems.len()];
    for run in 0..options.runs {
        for (idx, fs) in filesystems.iter().enumerate() {
            let peer_out = options.out("unsquashfs").join(&fs.name);
            let consign_out = options.out("consign").join("squashfs").join(&fs.name);
            // `-d` must not exist; `-n` drops the progress bar, which would otherwise be drawn
            // into the log.
            let peer = Job::new(
                "unsquashfs",
                logs.join(format!("unsquashfs-{}.log", fs.name)),
            )
            .args(["-p", "2", "-n", "-d"])
            .arg(&peer_out)
            .arg(&fs.path);
            let ours = Job::new(consign, logs.join(format!("consign-{}.log", fs.name)))
                .arg("unpack")
                .arg(&fs.path)
                .arg("-o")
                .arg(&consign_out);
            let timed = |job: &Job, out: &Path, ok: &[i32]| -> Result<Sample, String> {
                fresh_dir(out)?;
                measure::time_ok(job, ok)
            };
            // Alternating the order spreads any drift in machine load over both tools.
            if run % 2 == 0 {
                peer_samples[idx].push(timed(&peer, &peer_out, &[0, 2])?);
                consign_samples[idx].push(timed(&ours, &consign_out, &[0])?);
            } else {
                consign_samples[idx].push(timed(&ours, &consign_out, &[0])?);
                peer_samples[idx].push(timed(&peer, &peer_out, &[0, 2])?);
            }
        }
        let parse_times = run_fsbench(&fsbench, &filesystems, &logs)?;
        for (idx, parse) in parse_times.into_iter().enumerate() {
            parse_samples[idx].push(parse);
        }
    }

    let mut section = Section::new(
        "unpack: consign vs unsquashfs -p 2, squashfs filesystems of the corpus",
        "Each squashfs is carved out of its image first. `unsquashfs -p 2 -n -d DIR FS` against `consign unpack FS -o DIR` (both write every file); \"parse only\" is consign's parser in process with no writing (the `fsbench` example). Ratio = consign time / unsquashfs time (lower is better). Cores used = CPU time / wall time.",
        &[
            "filesystem",
            "size",
            "unsquashfs -p 2",
            "consign unpack -o",
            "consign / unsquashfs",
            "consign parse only",
            "cores used (unsq / consign)",
            "unsquashfs wrote",
            "consign wrote",
            "peak RSS (unsq / consign)",
        ],
    );
    let (mut peer_total, mut consign_total, mut parse_total) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut data = Vec::new();
    for (idx, fs) in filesystems.iter().enumerate() {
        let peer = measure::median(&peer_samples[idx]);
        let ours = measure::median(&consign_samples[idx]);
        let parse = median_duration(&mut parse_samples[idx]);
        peer_total += peer.wall;
        consign_total += ours.wall;
        parse_total += parse;
        let peer_stats = measure::tree_stats(&options.out("unsquashfs").join(&fs.name));
        let consign_stats =
            measure::tree_stats(&options.out("consign").join("squashfs").join(&fs.name));
        section.row(vec![
            fs.name.clone(),
            megabytes(fs.bytes),
            seconds(peer.wall),
            seconds(ours.wall),
            ratio(ours.wall.as_secs_f64(), peer.wall.as_secs_f64()),
            seconds(parse),
            format!("{} / {}", cores(&peer), cores(&ours)),
            wrote(&peer_stats),
            wrote(&consign_stats),
            format!("{} / {}", rss(peer.peak_rss_kib), rss(ours.peak_rss_kib)),
        ]);
        data.push(json!({
            "filesystem": fs.name,
            "bytes": fs.bytes,
            "unsquashfs_s": peer.wall.as_secs_f64(),
            "consign_s": ours.wall.as_secs_f64(),
            "consign_parse_only_s": parse.as_secs_f64(),
            "unsquashfs_rss_kib": peer.peak_rss_kib,
            "consign_rss_kib": ours.peak_rss_kib,
            "unsquashfs_wrote": stats_json(&peer_stats),
            "consign_wrote": stats_json(&consign_stats),
        }));
    }
    let total_ratio = consign_total.as_secs_f64() / peer_total.as_secs_f64().max(1e-9);
    section.row(vec![
        "**total**".into(),
        megabytes(filesystems.iter().map(|fs| fs.bytes).sum()),
        seconds(peer_total),
        seconds(consign_total),
        ratio(consign_total.as_secs_f64(), peer_total.as_secs_f64()),
        seconds(parse_total),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    ]);
    section.headline(
        "consign / unsquashfs -p 2, all squashfs filesystems",
        format!("{total_ratio:.2}x"),
        "<= 1.3x",
        Some(total_ratio <= 1.3),
    );
    section.note(format!(
        "consign's parser alone takes {:.0}% of its end-to-end time; the rest is reading the image, writing the files and the report.",
        100.0 * parse_total.as_secs_f64() / consign_total.as_secs_f64().max(1e-9)
    ));
    section.data = json!({ "filesystems": data, "total_ratio": total_ratio });
    Ok(section)
}

fn binwalk_section(
    options: &Options,
    images: &[Image],
    peers: &Peers,
    binwalk: &Path,
) -> Result<Section, String> {
    let consign = &options.consign;
    let logs = options.logs("unpack");
    let env = peers.env();
    // binwalk's helpers write scratch files into the working directory.
    let scratch = options.work().join("cwd-binwalk");
    std::fs::create_dir_all(&scratch)
        .map_err(|err| format!("creating {}: {err}", scratch.display()))?;

    let mut peer_samples = vec![Vec::new(); images.len()];
    let mut consign_samples = vec![Vec::new(); images.len()];
    for run in 0..options.runs {
        for (idx, image) in images.iter().enumerate() {
            let peer_out = options.out("binwalk").join(&image.name);
            let consign_out = options.out("consign").join("unpack").join(&image.name);
            let peer = binwalk_job(binwalk, image, &peer_out, &env, &scratch, &logs);
            let ours = Job::new(consign, logs.join(format!("consign-{}.log", image.name)))
                .arg("unpack")
                .arg(&image.file)
                .arg("-o")
                .arg(&consign_out);
            // binwalk exits non-zero when an extractor fails on one region and carries on; its
            // output is counted either way and the log shows why.
            let timed = |job: &Job, out: &Path, ok: Option<&[i32]>| -> Result<Sample, String> {
                fresh_dir(out)?;
                match ok {
                    Some(codes) => measure::time_ok(job, codes),
                    None => measure::time(job),
                }
            };
            if run % 2 == 0 {
                peer_samples[idx].push(timed(&peer, &peer_out, None)?);
                consign_samples[idx].push(timed(&ours, &consign_out, Some(&[0]))?);
            } else {
                consign_samples[idx].push(timed(&ours, &consign_out, Some(&[0]))?);
                peer_samples[idx].push(timed(&peer, &peer_out, None)?);
            }
        }
    }

    let mut section = Section::new(
        "unpack: consign vs binwalk v3, every corpus image",
        "`binwalk -e -M -q -C DIR IMAGE` (binwalk 3.1.0 from crates.io, helpers from Debian, the sasquatch stand-in of BASELINES.md) against `consign unpack IMAGE -o DIR`. Speed-up = binwalk time / consign time (higher is better). \"wrote\" counts regular files (and symlinks) and their bytes in each output folder.",
        &[
            "image",
            "size",
            "binwalk -e -M",
            "consign unpack -o",
            "binwalk / consign",
            "cores used (binwalk / consign)",
            "binwalk wrote",
            "consign wrote",
            "peak RSS (binwalk / consign)",
        ],
    );
    let (mut peer_total, mut consign_total) = (Duration::ZERO, Duration::ZERO);
    let (mut peer_written, mut consign_written) = (TreeStats::default(), TreeStats::default());
    let mut failed = Vec::new();
    let mut data = Vec::new();
    for (idx, image) in images.iter().enumerate() {
        let peer = measure::median(&peer_samples[idx]);
        let ours = measure::median(&consign_samples[idx]);
        if peer_samples[idx]
            .iter()
            .any(|sample| sample.exit_code != Some(0))
        {
            failed.push(image.name.clone());
        }
        peer_total += peer.wall;
        consign_total += ours.wall;
        let peer_stats = measure::tree_stats(&options.out("binwalk").join(&image.name));
        let consign_stats =
            measure::tree_stats(&options.out("consign").join("unpack").join(&image.name));
        add(&mut peer_written, &peer_stats);
        add(&mut consign_written, &consign_stats);
        section.row(vec![
            image.name.clone(),
            megabytes(image.bytes),
            seconds(peer.wall),
            seconds(ours.wall),
            ratio(peer.wall.as_secs_f64(), ours.wall.as_secs_f64()),
            format!("{} / {}", cores(&peer), cores(&ours)),
            wrote(&peer_stats),
            wrote(&consign_stats),
            format!("{} / {}", rss(peer.peak_rss_kib), rss(ours.peak_rss_kib)),
        ]);
        data.push(json!({
            "image": image.name,
            "bytes": image.bytes,
            "binwalk_s": peer.wall.as_secs_f64(),
            "consign_s": ours.wall.as_secs_f64(),
            "binwalk_exit_code": peer.exit_code,
            "binwalk_rss_kib": peer.peak_rss_kib,
            "consign_rss_kib": ours.peak_rss_kib,
            "binwalk_wrote": stats_json(&peer_stats),
            "consign_wrote": stats_json(&consign_stats),
        }));
    }
    let speedup = peer_total.as_secs_f64() / consign_total.as_secs_f64().max(1e-9);
    section.row(vec![
        "**total**".into(),
        megabytes(images.iter().map(|image| image.bytes).sum()),
        seconds(peer_total),
        seconds(consign_total),
        ratio(peer_total.as_secs_f64(), consign_total.as_secs_f64()),
        String::new(),
        wrote(&peer_written),
        wrote(&consign_written),
        String::new(),
    ]);
    section.headline(
        "binwalk / consign, whole corpus",
        format!("{speedup:.2}x"),
        ">= 3x",
        Some(speedup >= 3.0),
    );
    if !failed.is_empty() {
        section.note(format!(
            "binwalk exited non-zero on {} (see target/bench/logs/unpack/binwalk-<image>.log); what it wrote is counted.",
            failed.join(", ")
        ));
    }
    section.data = json!({ "images": data, "speedup": speedup });
    Ok(section)
}

/// binwalk v3 extracting every layer of `image` into `out` (run in `scratch`, where its helpers
/// leave their scratch files): the peer of `consign unpack` here and of `consign scan` in the scan
/// bench.
pub(crate) fn binwalk_job(
    binwalk: &Path,
    image: &Image,
    out: &Path,
    env: &[(String, std::ffi::OsString)],
    scratch: &Path,
    logs: &Path,
) -> Job {
    Job::new(binwalk, logs.join(format!("binwalk-{}.log", image.name)))
        .args(["-e", "-M", "-q", "-C"])
        .arg(out)
        .arg(&image.file)
        .envs(env)
        .cwd(scratch)
}

/// Carves every squashfs 4 filesystem out of the images (and out of the files of a tar bundle)
/// into `target/bench/work/squashfs/`.
fn carve_filesystems(options: &Options, images: &[Image]) -> Result<Vec<Filesystem>, String> {
    let dir = options.work().join("squashfs");
    fresh_dir(&dir)?;
    std::fs::create_dir_all(&dir).map_err(|err| format!("creating {}: {err}", dir.display()))?;
    let mut filesystems = Vec::new();
    for image in images {
        let mut sources = vec![(image.name.clone(), image.file.clone())];
        let file_name = image.file.file_name().unwrap_or_default().to_string_lossy();
        if file_name.contains(".tar") || file_name.ends_with(".tgz") {
            // A vendor bundle: the filesystem is a member of the archive (GNU tar guesses the
            // compression). consign finds it on its own; unsquashfs needs it handed over.
            let bundle = options.work().join("bundles").join(&image.name);
            fresh_dir(&bundle)?;
            std::fs::create_dir_all(&bundle)
                .map_err(|err| format!("creating {}: {err}", bundle.display()))?;
            crate::util::run(
                "tar",
                &[
                    "-xf",
                    &image.file.to_string_lossy(),
                    "-C",
                    &bundle.to_string_lossy(),
                ],
            )?;
            let mut members: Vec<PathBuf> = Vec::new();
            collect_files(&bundle, &mut members);
            members.sort();
            for member in members {
                let relative = member.strip_prefix(&bundle).unwrap_or(&member);
                sources.push((
                    format!("{}/{}", image.name, relative.display()),
                    member.clone(),
                ));
            }
        }
        for (source_name, path) in sources {
            let data =
                std::fs::read(&path).map_err(|err| format!("reading {}: {err}", path.display()))?;
            for (offset, length) in find_squashfs(&data) {
                let name = format!("{source_name}@{offset:#x}").replace('/', "_");
                let carved = dir.join(format!("{name}.sqsh"));
                std::fs::write(&carved, &data[offset..offset + length])
                    .map_err(|err| format!("writing {}: {err}", carved.display()))?;
                filesystems.push(Filesystem {
                    name,
                    path: carved,
                    bytes: length as u64,
                });
            }
        }
    }
    if filesystems.is_empty() {
        return Err("no squashfs filesystem found in the corpus images".to_owned());
    }
    Ok(filesystems)
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => collect_files(&entry.path(), out),
            Ok(kind) if kind.is_file() => out.push(entry.path()),
            _ => {}
        }
    }
}

/// `(offset, bytes_used)` of each little-endian squashfs 4 superblock whose sizes are plausible
/// and fit in `data`; a match inside a filesystem already found is skipped.
fn find_squashfs(data: &[u8]) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(position) = data
        .get(from..)
        .and_then(|rest| rest.windows(4).position(|window| window == b"hsqs"))
    {
        let offset = from + position;
        from = offset + 4;
        let Some(superblock) = data.get(offset..offset + 96) else {
            break;
        };
        let u16_at = |at: usize| u16::from_le_bytes([superblock[at], superblock[at + 1]]);
        let block_size = u32::from_le_bytes([
            superblock[12],
            superblock[13],
            superblock[14],
            superblock[15],
        ]);
        let mut bytes_used = [0u8; 8];
        bytes_used.copy_from_slice(&superblock[40..48]);
        let bytes_used = u64::from_le_bytes(bytes_used);
        let plausible = u16_at(28) == 4
            && block_size.is_power_of_two()
            && (4096..=1 << 20).contains(&block_size)
            && u32::from(u16_at(22)) == block_size.trailing_zeros()
            && bytes_used >= 96
            && usize::try_from(bytes_used).is_ok_and(|used| used <= data.len() - offset);
        if plausible {
            let length = bytes_used as usize;
            found.push((offset, length));
            from = offset + length;
        }
    }
    found
}

fn median_duration(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples
        .get(samples.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or_default()
}

/// Runs the `fsbench` example on every filesystem; its last field per line is the parse time.
fn run_fsbench(
    fsbench: &Path,
    filesystems: &[Filesystem],
    logs: &Path,
) -> Result<Vec<Duration>, String> {
    let log = logs.join("fsbench.log");
    let job = Job::new(fsbench, &log).args(filesystems.iter().map(|fs| fs.path.clone()));
    measure::time_ok(&job, &[0])?;
    let text =
        std::fs::read_to_string(&log).map_err(|err| format!("reading {}: {err}", log.display()))?;
    let times: Vec<Duration> = text
        .lines()
        .filter_map(|line| {
            let seconds = line.strip_suffix(" s")?.rsplit(", ").next()?;
            Duration::try_from_secs_f64(seconds.parse().ok()?).ok()
        })
        .collect();
    if times.len() == filesystems.len() {
        Ok(times)
    } else {
        Err(format!(
            "fsbench parsed {} of {} filesystems (see {})",
            times.len(),
            filesystems.len(),
            log.display()
        ))
    }
}

fn add(total: &mut TreeStats, stats: &TreeStats) {
    total.files += stats.files;
    total.bytes += stats.bytes;
    total.links += stats.links;
    total.dirs += stats.dirs;
}

fn wrote(stats: &TreeStats) -> String {
    let mut text = format!("{} files, {}", stats.files, megabytes(stats.bytes));
    if stats.links > 0 {
        let _ = write!(text, " (+{} links)", stats.links);
    }
    text
}

fn stats_json(stats: &TreeStats) -> serde_json::Value {
    json!({"files": stats.files, "bytes": stats.bytes, "links": stats.links, "dirs": stats.dirs})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn superblock(bytes_used: u64, block_log: u16) -> Vec<u8> {
        let mut sb = vec![0u8; 96];
        sb[..4].copy_from_slice(b"hsqs");
        sb[12..16].copy_from_slice(&(1u32 << block_log).to_le_bytes());
        sb[22..24].copy_from_slice(&block_log.to_le_bytes());
        sb[28..30].copy_from_slice(&4u16.to_le_bytes());
        sb[40..48].copy_from_slice(&bytes_used.to_le_bytes());
        sb
    }

    #[test]
    fn squashfs_is_carved_at_its_offset_with_its_own_length() {
        let mut data = vec![0xffu8; 100];
        let mut fs = superblock(200, 17);
        fs.resize(200, 0);
        data.extend_from_slice(&fs);
        data.extend_from_slice(&[0u8; 50]);
        assert_eq!(find_squashfs(&data), [(100, 200)]);
    }

    #[test]
    fn implausible_superblocks_are_skipped() {
        // Longer than the data, a block size that disagrees with its log, a stray magic.
        let mut data = superblock(10_000, 17);
        let mut wrong_log = superblock(96, 17);
        wrong_log[22] = 12;
        data.extend_from_slice(&wrong_log);
        data.extend_from_slice(b"hsqs");
        assert_eq!(find_squashfs(&data), []);
    }

    #[test]
    fn fsbench_lines_give_the_parse_time() {
        let dir = std::env::temp_dir().join(format!("xtask-bench-fsbench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fake = dir.join("fsbench");
        std::fs::write(
            &fake,
            "#!/bin/sh\necho 'a.sqsh @0x0: squashfs 4.0: 5 entries, 10 bytes, 0 diagnostics, 0.250 s'\n",
        )
        .unwrap();
        let mut perms = std::fs::metadata(&fake).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&fake, perms).unwrap();
        let filesystems = [Filesystem {
            name: "a".into(),
            path: dir.join("a.sqsh"),
            bytes: 1,
        }];
        let times = run_fsbench(&fake, &filesystems, &dir).unwrap();
        assert_eq!(times, [Duration::from_millis(250)]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
