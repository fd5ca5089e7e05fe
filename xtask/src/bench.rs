//! `cargo xtask bench [unpack|scan|attest|verify|vuln|all] [--quick] [--runs N] [--corpus DIR]`:
//! consign side by side with the peer tools, in the same run, reported as ratios because the
//! machine is shared and absolute times drift from one minute to the next.
//!
//! - `unpack` (issue 3): `consign unpack -o` against `unsquashfs -p 2` on the corpus's squashfs
//!   filesystems, and against binwalk v3 (`-e -M`) on every corpus image.
//! - `scan` (issue 7): image file to SBOM, `consign scan` against unblob + cve-bin-tool, with the
//!   corpus's `score.py` accuracy of both.
//! - `attest` (issue 5): DSSE signing and verification per core (the `bench_dsse` example), against
//!   securesystemslib on the same envelopes.
//! - `verify` (issue 6): 1,000 generated shipments, in process (the `bench_verify` example) and
//!   through `consign verify` itself.
//! - `vuln` (issue 14): importing 300,000 synthetic NVD records and matching a 1,000-component
//!   SBOM, against cve-bin-tool's own loader and matcher on the same records and components.
//!
//! consign is always the release binary a user runs (`cargo build --release -p consign-cli`),
//! timed here around spawn and wait; the peers are installed under `target/bench/` by
//! [`peers`]. Every tool writes under `target/bench/out/<tool>/`, logs go to
//! `target/bench/logs/`, and the results to `target/bench/report.md` and `report.json`.

mod attest;
mod audit;
mod measure;
mod peers;
pub(crate) mod report;
mod scan;
mod unpack;
mod verify;
mod vuln;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{root, run};

/// Images the `--quick` smoke run uses: one per kind of container the full run covers (tar.gz
/// bundle with a squashfs inside, raw flash with uImage + squashfs, JFFS2, a bare ELF).
const QUICK_IMAGES: &[&str] = &[
    "hub-armhf-bundle",
    "router-armhf-uimage",
    "plc-mipsel-jffs2",
    "busybox-static-mips64el",
];

/// What `cargo xtask bench` was asked to do.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) quick: bool,
    /// Repetitions of each consign command (and of each peer command cheap enough to repeat);
    /// the median is reported.
    pub(crate) runs: usize,
    /// `../shared/corpus` by default.
    pub(crate) corpus: PathBuf,
    /// `target/bench`.
    pub(crate) base: PathBuf,
    /// The release `consign` binary a user runs.
    pub(crate) consign: PathBuf,
}

impl Options {
    pub(crate) fn out(&self, tool: &str) -> PathBuf {
        self.base.join("out").join(tool)
    }

    pub(crate) fn logs(&self, tool: &str) -> PathBuf {
        self.base.join("logs").join(tool)
    }

    pub(crate) fn work(&self) -> PathBuf {
        self.base.join("work")
    }
}

/// One image of the corpus: `images/<name>/<file>` beside `truth.json`.
#[derive(Debug, Clone)]
pub(crate) struct Image {
    pub(crate) name: String,
    pub(crate) file: PathBuf,
    pub(crate) truth: PathBuf,
    pub(crate) bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bench {
    Unpack,
    Scan,
    Attest,
    Verify,
    Vuln,
    Audit,
}

const USAGE: &str = "usage: cargo xtask bench [unpack|scan|attest|verify|vuln|audit|all]... [--quick] [--runs N] [--corpus DIR]

  unpack   consign unpack -o vs unsquashfs -p 2 (squashfs) and binwalk v3 -e -M (every image)
  scan     consign scan vs unblob + cve-bin-tool, image file to SBOM, with score.py accuracy
  attest   DSSE sign/verify per core (Ed25519, P-256) vs securesystemslib on the same envelopes
  verify   1,000 generated shipments, in process and through `consign verify`
  vuln     import 300,000 synthetic NVD records; match a 1,000-component SBOM; vs cve-bin-tool
  audit    consign scan with and without --audit: what the secure-defaults audit adds
  --quick  a smoke run: 4 images, fewer envelopes and shipments, one run each
  --runs N repetitions of each consign command and cheap peer command (median; default 3)";

pub(crate) fn run_bench(args: &[String]) -> Result<(), String> {
    let (options, benches) = parse(args)?;
    for dir in ["out", "logs", "work"] {
        let path = options.base.join(dir);
        std::fs::create_dir_all(&path)
            .map_err(|err| format!("creating {}: {err}", path.display()))?;
    }
    let images = corpus_images(&options)?;
    build_consign()?;

    let preamble = preamble(&options, &images);
    println!("{preamble}");
    let mut sections = Vec::new();
    let mut failures = Vec::new();
    for bench in benches {
        let load_before = load_average();
        let result = match bench {
            Bench::Unpack => unpack::run(&options, &images),
            Bench::Scan => scan::run(&options, &images),
            Bench::Attest => attest::run(&options),
            Bench::Verify => verify::run(&options),
            Bench::Vuln => vuln::run(&options),
            Bench::Audit => audit::run(&options, &images),
        };
        // One benchmark failing (a peer that cannot be installed here) must not hide the others.
        match result {
            Ok(done) => {
                let load_after = load_average();
                for mut section in done {
                    // Other work on a shared machine takes cores from every tool alike, so the
                    // ratios stand, but "cores used" and per-core rates do not: say how busy it was.
                    section.note(format!(
                        "load average (1 min) on this {}-core machine: {load_before} before, {load_after} after this benchmark.",
                        std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
                    ));
                    print!("{}", section.text());
                    sections.push(section);
                }
            }
            Err(err) => {
                eprintln!("error: bench {bench:?}: {err}");
                failures.push(format!("{bench:?}: {err}"));
            }
        }
        report::write(&options.base, &preamble, &sections)?;
    }
    println!(
        "\nreport: {} and report.json",
        options.base.join("report.md").display()
    );
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("some benchmarks failed:\n{}", failures.join("\n")))
    }
}

fn parse(args: &[String]) -> Result<(Options, Vec<Bench>), String> {
    let mut options = Options {
        quick: false,
        runs: 3,
        corpus: root().join("../shared/corpus"),
        base: root().join("target/bench"),
        consign: release_dir().join("consign"),
    };
    let mut runs = None;
    let mut benches = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "unpack" => benches.push(Bench::Unpack),
            "scan" => benches.push(Bench::Scan),
            "attest" => benches.push(Bench::Attest),
            "verify" => benches.push(Bench::Verify),
            "vuln" => benches.push(Bench::Vuln),
            "audit" => benches.push(Bench::Audit),
            "all" => benches.extend([
                Bench::Unpack,
                Bench::Scan,
                Bench::Attest,
                Bench::Verify,
                Bench::Vuln,
                Bench::Audit,
            ]),
            "--quick" => options.quick = true,
            "--runs" => {
                let value = args.next().ok_or("`--runs` needs a number")?;
                runs = Some(
                    value
                        .parse::<usize>()
                        .ok()
                        .filter(|&runs| runs > 0)
                        .ok_or_else(|| format!("`--runs {value}`: expected a positive number"))?,
                );
            }
            "--corpus" => {
                options.corpus = args.next().ok_or("`--corpus` needs a folder")?.into();
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    options.runs = runs.unwrap_or(if options.quick { 1 } else { 3 });
    if benches.is_empty() {
        benches.extend([
            Bench::Unpack,
            Bench::Scan,
            Bench::Attest,
            Bench::Verify,
            Bench::Vuln,
            Bench::Audit,
        ]);
    }
    benches.dedup();
    Ok((options, benches))
}

/// The corpus images (all, or the `--quick` subset), read once so the page cache holds them
/// before any tool is timed: no tool pays for the first read.
fn corpus_images(options: &Options) -> Result<Vec<Image>, String> {
    let dir = options.corpus.join("images");
    let entries = std::fs::read_dir(&dir).map_err(|err| {
        format!(
            "reading the corpus {}: {err}\n\nhint: pass `--corpus DIR` (the folder with `images/` and `score.py`)",
            dir.display()
        )
    })?;
    let mut images = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if options.quick && !QUICK_IMAGES.contains(&name.as_str()) {
            continue;
        }
        let truth = entry.path().join("truth.json");
        if !truth.is_file() {
            continue;
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(entry.path())
            .map_err(|err| format!("reading {}: {err}", entry.path().display()))?
            .flatten()
            .map(|file| file.path())
            .filter(|path| path.is_file() && path.file_name() != Some("truth.json".as_ref()))
            .collect();
        files.sort();
        let [file] = files.as_slice() else {
            return Err(format!(
                "{}: expected one image file beside truth.json, found {}",
                entry.path().display(),
                files.len()
            ));
        };
        let bytes = std::fs::read(file)
            .map_err(|err| format!("reading {}: {err}", file.display()))?
            .len() as u64;
        images.push(Image {
            name,
            file: file.clone(),
            truth,
            bytes,
        });
    }
    images.sort_by(|a, b| a.name.cmp(&b.name));
    if images.is_empty() {
        return Err(format!(
            "no images with a truth.json under {}",
            dir.display()
        ));
    }
    Ok(images)
}

/// Where `cargo build --release` puts its binaries: under `CARGO_TARGET_DIR` when that is set
/// (cargo reads a relative one from the directory it runs in, the repository root here), else
/// under `target/`. The bench's own files stay in `target/bench` either way.
fn release_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|dir| !dir.is_empty())
        .map_or_else(|| root().join("target"), |dir| root().join(dir))
        .join("release")
}

fn build_consign() -> Result<(), String> {
    run(
        "cargo",
        &["build", "--release", "--quiet", "-p", "consign-cli"],
    )
}

/// Builds a release example of `package` and returns its path.
pub(crate) fn build_example(package: &str, example: &str) -> Result<PathBuf, String> {
    run(
        "cargo",
        &[
            "build",
            "--release",
            "--quiet",
            "-p",
            package,
            "--example",
            example,
        ],
    )?;
    Ok(release_dir().join("examples").join(example))
}

/// The circumstances of the run, so figures from different days are not compared blindly.
fn preamble(options: &Options, images: &[Image]) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|model| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let load = load_average();
    let stdout = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .current_dir(root())
            .output()
            .ok()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    let date = stdout("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let commit = stdout("git", &["rev-parse", "--short", "HEAD"]);
    let dirty = if stdout("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty() {
        ""
    } else {
        " (with uncommitted changes)"
    };
    format!(
        "{date}, consign {commit}{dirty}, {cores} cores ({cpu}), load average {load} at the start; {} mode, {} run(s) per consign command (median), {} corpus images from {}.\nRatios compare tools run one after the other in the same bench, so they hold up better than absolute times on a shared machine.",
        if options.quick { "quick" } else { "full" },
        options.runs,
        images.len(),
        display_path(&options.corpus)
    )
}

/// The one-minute load average, `?` where `/proc` does not tell.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(ToOwned::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// A path relative to the repository when it is inside or beside it.
pub(crate) fn display_path(path: &Path) -> String {
    let root = root();
    if let Ok(relative) = path.strip_prefix(&root) {
        return relative.display().to_string();
    }
    if let Some(parent) = root.parent()
        && let Ok(relative) = path.strip_prefix(parent)
    {
        return format!("../{}", relative.display());
    }
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(ToOwned::to_owned).collect()
    }

    #[test]
    fn arguments_select_benchmarks_and_modes() {
        let (options, benches) = parse(&[]).unwrap();
        assert_eq!(
            benches,
            [
                Bench::Unpack,
                Bench::Scan,
                Bench::Attest,
                Bench::Verify,
                Bench::Vuln,
                Bench::Audit
            ]
        );
        assert_eq!((options.quick, options.runs), (false, 3));
        assert_eq!(parse(&args("vuln")).unwrap().1, [Bench::Vuln]);

        let (options, benches) = parse(&args("scan --quick")).unwrap();
        assert_eq!(benches, [Bench::Scan]);
        assert_eq!((options.quick, options.runs), (true, 1));

        let (options, _) = parse(&args("attest --quick --runs 5")).unwrap();
        assert_eq!(options.runs, 5);

        assert!(parse(&args("--runs 0")).unwrap_err().contains("positive"));
        assert!(
            parse(&args("speed"))
                .unwrap_err()
                .contains("unknown argument `speed`")
        );
    }

    #[test]
    fn paths_beside_the_repository_are_shown_relative() {
        assert_eq!(display_path(&root().join("target/bench")), "target/bench");
        let beside = root().parent().unwrap().join("shared/corpus");
        assert_eq!(display_path(&beside), "../shared/corpus");
    }
}
