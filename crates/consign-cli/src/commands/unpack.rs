//! `consign unpack`: list or safely extract what is inside a firmware image.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use consign_unpack::{BlobReport, Budget, Report};

use crate::cli::{LimitArgs, ReportFormat};
use crate::exit::ExitStatus;
use crate::files::{self, Bound};
use crate::output;

/// Arguments of `consign unpack`.
#[derive(Debug, Args)]
#[command(
    after_help = "A limit reached is reported with its place (which limit, in which container), and the
rest of the image is still unpacked.

Example:
  consign unpack firmware.bin
  consign unpack firmware.bin -o extracted/ --format json"
)]
pub(crate) struct UnpackArgs {
    /// The image to unpack.
    pub(crate) image: PathBuf,
    /// Extract into this folder (created; nothing is ever written outside it).
    #[arg(short, long)]
    pub(crate) output: Option<PathBuf>,
    /// The format of the report.
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: ReportFormat,
    #[command(flatten)]
    pub(crate) limits: LimitArgs,
}

pub(crate) fn run(args: &UnpackArgs) -> anyhow::Result<ExitStatus> {
    let data = files::read(&args.image, Bound::firmware(&args.limits.limits()))
        .context("reading the image")?;
    let name = args
        .image
        .file_name()
        .map_or_else(|| "input".to_owned(), |n| n.to_string_lossy().into_owned());
    let budget = Budget::new(args.limits.limits());
    let unpacked = output::with_progress(
        || {
            format!(
                "unpacking {name}: {} entries, {} unpacked",
                budget.entries_used(),
                output::human_bytes(budget.bytes_used())
            )
        },
        || consign_unpack::unpack_with_budget(&name, data.into(), &budget),
    );
    let written = match &args.output {
        Some(dir) => {
            if output::stderr_is_terminal() {
                output::status(&format!("writing into {}...", dir.display()));
            }
            Some(consign_unpack::write::write_tree(&unpacked.vfs, dir)?)
        }
        None => None,
    };
    match args.format {
        ReportFormat::Json => {
            let value = serde_json::json!({
                "report": unpacked.report,
                "written": written,
            });
            output::data(&serde_json::to_string_pretty(&value)?);
        }
        ReportFormat::Text => {
            let mut text = render(&unpacked.report);
            if let Some(written) = &written {
                for refusal in &written.refused {
                    let _ = writeln!(text, "not written: {}: {}", refusal.path, refusal.reason);
                }
            }
            output::data(&text);
        }
    }
    let totals = &unpacked.report.totals;
    let mut summary = format!(
        "{} files, {} bytes, {} containers, {} diagnostics",
        totals.files, totals.bytes, totals.containers, totals.diagnostics
    );
    if let (Some(written), Some(dir)) = (&written, &args.output) {
        let _ = write!(
            summary,
            "; wrote {} files, {} folders, {} symlinks into {} ({} entries refused)",
            written.files,
            written.dirs,
            written.symlinks,
            dir.display(),
            written.refused.len()
        );
    }
    output::status(&summary);
    Ok(ExitStatus::Success)
}

/// The indented tree: one line per file scanned, container and unclaimed region.
fn render(report: &Report) -> String {
    let mut out = String::new();
    render_blob(&report.root, 0, &mut out);
    out
}

fn render_blob(blob: &BlobReport, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    let _ = writeln!(out, "{pad}{} ({} bytes)", blob.path, blob.size);
    for diagnostic in &blob.diagnostics {
        let _ = writeln!(out, "{pad}  ! {}", one_line(diagnostic));
    }
    let mut lines: Vec<(u64, String)> = Vec::new();
    for region in &blob.unclaimed {
        lines.push((
            region.offset,
            format!(
                "{pad}  {:#010x}  unclaimed  {} bytes, entropy {:.2}",
                region.offset, region.size, region.entropy
            ),
        ));
    }
    for container in &blob.containers {
        let mut text = format!(
            "{pad}  {:#010x}  {}  {} bytes, {} entries: {}",
            container.offset,
            container.format,
            container.size,
            container.entries,
            container.description
        );
        for diagnostic in &container.diagnostics {
            let _ = write!(text, "\n{pad}    ! {}", one_line(diagnostic));
        }
        for child in &container.children {
            text.push('\n');
            let mut nested = String::new();
            render_blob(child, depth + 2, &mut nested);
            text.push_str(nested.trim_end());
        }
        lines.push((container.offset, text));
    }
    lines.sort_by_key(|(offset, _)| *offset);
    for (_, line) in lines {
        let _ = writeln!(out, "{line}");
    }
}

fn one_line(diagnostic: &consign_model::Diagnostic) -> String {
    diagnostic.to_string().replace("\n\n", " ")
}
