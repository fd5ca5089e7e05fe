//! `consign sbom ...`: SBOM validation against the official schema and a regulator's profile.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use consign_sbom::{FactSource, Profile, ProfileGap, ReadLimits, Requirement, SchemaIssue};

use crate::exit::ExitStatus;
use crate::files::{self, Bound, DOCUMENT};
use crate::output;

/// Subcommands of `consign sbom`.
#[derive(Debug, Subcommand)]
pub(crate) enum SbomCommand {
    /// Check an SBOM against the official schema and a regulator's profile.
    ///
    /// Exit status: 0 valid (and no profile gaps when a profile is asked for); 1 schema errors, or
    /// gaps in the requested profile (gaps marked "if it exists" are listed but do not fail); 2 the
    /// file cannot be read or is not JSON.
    #[command(
        after_help = "Example:\n  consign sbom validate fw.cdx.json --profile bsi-tr-03183-2"
    )]
    Validate(ValidateArgs),
}

/// A profile name on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum ProfileArg {
    /// BSI TR-03183-2 v2.1 (Germany; CycloneDX 1.6 or later).
    #[value(name = "bsi-tr-03183-2")]
    Bsi,
    /// NTIA minimum elements (US).
    Ntia,
}

/// How to print the result.
#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub(crate) enum ReportFormat {
    /// One problem per line, for people.
    #[default]
    Text,
    /// One JSON object, for programs.
    Json,
}

/// Arguments of `consign sbom validate`.
#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// The SBOM file (CycloneDX JSON, 1.5 to 1.7).
    pub(crate) file: PathBuf,
    /// Also check the fields a regulator's profile requires.
    #[arg(long, value_enum)]
    pub(crate) profile: Option<ProfileArg>,
    /// Output format of the report (stdout).
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: ReportFormat,
}

pub(crate) fn run(command: &SbomCommand) -> anyhow::Result<ExitStatus> {
    match command {
        SbomCommand::Validate(args) => validate(args),
    }
}

fn validate(args: &ValidateArgs) -> anyhow::Result<ExitStatus> {
    let path = args.file.display().to_string();
    let limits = ReadLimits::default();
    let bound = Bound {
        limit: limits.max_bytes as u64,
        ..DOCUMENT
    };
    let bytes =
        files::read(&args.file, bound).with_context(|| format!("reading the SBOM `{path}`"))?;
    let json = consign_sbom::parse_json(&bytes, &limits)
        .with_context(|| format!("reading the SBOM `{path}`"))?;
    let issues = consign_sbom::validate_schema(&json);
    let profile = args.profile.map(|p| match p {
        ProfileArg::Bsi => Profile::BsiTr031832,
        ProfileArg::Ntia => Profile::Ntia,
    });
    let gaps = profile
        .map(|p| consign_sbom::check_profile(&json, p))
        .unwrap_or_default();
    let failing_gaps = gaps
        .iter()
        .filter(|g| g.requirement == Requirement::Required)
        .count();
    let valid = issues.is_empty() && failing_gaps == 0;
    match args.format {
        ReportFormat::Text => output::data(&text_report(&path, &issues, profile, &gaps, valid)),
        ReportFormat::Json => {
            let report = serde_json::json!({
                "file": path,
                "valid": valid,
                "specVersion": json.get("specVersion"),
                "schemaIssues": issues,
                "profile": profile.map(|p| p.to_string()),
                "profileGaps": gaps,
            });
            output::data(&serde_json::to_string_pretty(&report)?);
        }
    }
    Ok(if valid {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

fn source_label(source: FactSource) -> &'static str {
    match source {
        FactSource::Tool => "the SBOM tool",
        FactSource::Manufacturer => "only the manufacturer can give this",
        FactSource::Supplier => "only the component's supplier can give this",
    }
}

fn text_report(
    path: &str,
    issues: &[SchemaIssue],
    profile: Option<Profile>,
    gaps: &[ProfileGap],
    valid: bool,
) -> String {
    let mut out = String::new();
    for issue in issues {
        let pointer = if issue.pointer.is_empty() {
            "/"
        } else {
            &issue.pointer
        };
        let _ = writeln!(
            out,
            "schema: {pointer}: {} (rule {})",
            issue.message, issue.rule
        );
    }
    if let Some(profile) = profile {
        for gap in gaps {
            let pointer = if gap.pointer.is_empty() {
                "/"
            } else {
                &gap.pointer
            };
            let level = match gap.requirement {
                Requirement::Required => "required",
                Requirement::IfExists => "if it exists",
            };
            let section = if profile == Profile::BsiTr031832 {
                format!("TR-03183-2 section {}", gap.section)
            } else {
                format!("NTIA element {}", gap.section)
            };
            let _ = writeln!(
                out,
                "{profile}: {pointer}: {} ({section}, rule {}, {level}; {})",
                gap.message,
                gap.rule,
                source_label(gap.source)
            );
        }
    }
    let required = gaps
        .iter()
        .filter(|g| g.requirement == Requirement::Required)
        .count();
    let _ = write!(
        out,
        "{path}: {} ({} schema error{}",
        if valid { "valid" } else { "invalid" },
        issues.len(),
        if issues.len() == 1 { "" } else { "s" }
    );
    if let Some(profile) = profile {
        let manufacturer_only = gaps
            .iter()
            .filter(|g| g.source == FactSource::Manufacturer)
            .count();
        let _ = write!(
            out,
            ", {required} required {profile} gap{}, {} if-exists, {manufacturer_only} only the manufacturer can fill",
            if required == 1 { "" } else { "s" },
            gaps.len() - required
        );
    }
    out.push_str(")\n");
    out
}
