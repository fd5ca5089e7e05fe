//! `consign audit`: evidence of secure defaults from the firmware itself (accounts, keys,
//! services, update, hygiene), each finding with its file, line and provisions.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use consign_audit::{Audit, Options, Severity};

use crate::cli::LimitArgs;
use crate::exit::ExitStatus;
use crate::files::{self, Bound, Output};
use crate::output;

/// The format of an audit report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum AuditFormat {
    /// Text for a terminal.
    #[default]
    Text,
    /// JSON for programs.
    Json,
    /// Markdown for a report.
    Markdown,
}

/// Arguments of `consign audit`.
#[derive(Debug, Args)]
#[command(after_help = "\
Each finding names its file and line (or byte offset), the evidence with secrets redacted, a
severity and the provisions it bears on (UK PSTI schedule 1, ETSI EN 303 645 5.1 to 5.6, CRA Annex I
part I (2)). The exit status is 1 when a finding is at or above --fail-on.

Examples:
  consign audit firmware.bin
  consign audit firmware.bin --format markdown -o audit.md
  consign audit firmware.bin --format json --fail-on critical")]
pub(crate) struct AuditArgs {
    /// The firmware image.
    pub(crate) image: PathBuf,
    /// The report format.
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: AuditFormat,
    /// Write the report here instead of stdout.
    #[arg(short, long)]
    pub(crate) output: Option<PathBuf>,
    /// The date certificates are judged at, `YYYY-MM-DD` (default: today, UTC).
    #[arg(long, value_name = "DATE")]
    pub(crate) at: Option<String>,
    /// Exit with 1 when a finding has this severity or a higher one: `critical`, `high`,
    /// `medium`, `low`, `info`, or `never`.
    #[arg(long, value_name = "SEVERITY", default_value = "high")]
    pub(crate) fail_on: String,
    #[command(flatten)]
    pub(crate) limits: LimitArgs,
}

/// The date to judge certificates at: `--at`, else today (UTC).
pub(crate) fn audit_date(at: Option<&str>) -> anyhow::Result<consign_model::Date> {
    let text = if let Some(text) = at {
        text.to_owned()
    } else {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or_default();
        consign_verify::date_from_unix_seconds(now)?.to_string()
    };
    text.parse::<consign_model::Date>()
        .with_context(|| format!("in `--at {text}`"))
}

/// Unpacks and audits one image.
pub(crate) fn audit_image(
    path: &Path,
    limits: &consign_unpack::Limits,
    date: consign_model::Date,
) -> anyhow::Result<(String, Audit)> {
    let data = files::read(path, Bound::firmware(limits)).context("reading the firmware image")?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    let unpacked = consign_unpack::unpack(&name, data.into(), limits);
    let audit = consign_audit::audit(
        &unpacked.vfs,
        &Options {
            date: Some(date),
            ..Options::default()
        },
    );
    Ok((name, audit))
}

pub(crate) fn run(args: &AuditArgs) -> anyhow::Result<ExitStatus> {
    files::note_inputs(std::iter::once(&args.image));
    if let Some(path) = &args.output {
        Output::FILE.check(path)?;
    }
    let fail_on = match args.fail_on.as_str() {
        "never" => None,
        name => Some(Severity::from_name(name).with_context(|| {
            format!(
                "`--fail-on {name}` is not a severity (critical, high, medium, low, info or never)"
            )
        })?),
    };
    let date = audit_date(args.at.as_deref())?;
    let (name, audit) = audit_image(&args.image, &args.limits.limits(), date)
        .with_context(|| format!("auditing {}", args.image.display()))?;
    let rendered = match args.format {
        AuditFormat::Text => consign_audit::report::text(&audit, &name),
        AuditFormat::Markdown => consign_audit::report::markdown(&audit, &name),
        AuditFormat::Json => serde_json::to_string_pretty(&serde_json::json!({
            "image": name,
            "audit": audit,
        }))?,
    };
    match &args.output {
        Some(path) => {
            files::write(path, rendered).context("writing the audit report")?;
            output::status(&format!("wrote {}", path.display()));
        }
        None => output::data(&rendered),
    }
    output::status(&format!(
        "{name}: {}",
        consign_audit::report::counts(&audit)
    ));
    let failed = fail_on.is_some_and(|threshold| audit.highest().is_some_and(|h| h >= threshold));
    Ok(if failed {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}
