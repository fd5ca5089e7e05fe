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
    /// Compare two SBOMs of a product: components added, removed, upgraded, downgraded, licences
    /// changed, and hashes changed at the same version.
    ///
    /// Exit status: 0 compared (and nothing listed in --fail-on happened); 1 a change listed in
    /// --fail-on happened; 2 a file cannot be read or is not JSON.
    #[command(after_help = "\
Examples:
  consign sbom diff fw-2.4.0.cdx.json fw-2.4.1.cdx.json
  consign sbom diff old.cdx.json new.cdx.json --format markdown --fail-on downgrade,hash-change

Components are matched by purl without its version, else by name. A hash change at the same version
is suspicious: a rebuilt, patched or replaced binary under an old version. What a change fixed or
introduced needs a vulnerability database; consign has none yet, so `--fail-on new-vuln` is refused.")]
    Diff(DiffArgs),
    /// List the distribution licences of an SBOM's components and what a distributor of the
    /// firmware must do for each (source offer, licence text, notices), with the clause it comes
    /// from. Information for a compliance review, not legal advice.
    ///
    /// Exit status: 0 listed; 2 the file cannot be read or is not JSON.
    #[command(after_help = "Example:\n  consign sbom licences fw.cdx.json --format markdown")]
    Licences(LicencesArgs),
}

/// How to print a diff or licence report.
#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub(crate) enum DocumentFormat {
    /// Plain text, for people.
    #[default]
    Text,
    /// One JSON object, for programs.
    Json,
    /// Markdown, for a review or a release note.
    Markdown,
}

/// A kind of change that fails `consign sbom diff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum FailOn {
    /// A component in NEW only.
    Added,
    /// A component in OLD only.
    Removed,
    /// A newer version.
    Upgrade,
    /// An older version.
    Downgrade,
    /// Another version that cannot be ordered.
    VersionChange,
    /// Another distribution licence.
    LicenceChange,
    /// Other file hashes at the same version.
    HashChange,
    /// A vulnerability the change introduced (needs a vulnerability database: not supported yet).
    NewVuln,
}

/// Arguments of `consign sbom diff`.
#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// The earlier SBOM (CycloneDX JSON).
    pub(crate) old: PathBuf,
    /// The later SBOM (CycloneDX JSON).
    pub(crate) new: PathBuf,
    /// Output format (stdout).
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: DocumentFormat,
    /// Exit 1 when any of these happened (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub(crate) fail_on: Vec<FailOn>,
}

/// Arguments of `consign sbom licences`.
#[derive(Debug, Args)]
pub(crate) struct LicencesArgs {
    /// The SBOM (CycloneDX JSON).
    pub(crate) file: PathBuf,
    /// Output format (stdout).
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: DocumentFormat,
}

/// A profile name on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum ProfileArg {
    /// BSI TR-03183-2 v2.1 (Germany; CycloneDX 1.6 or later).
    #[value(name = "bsi-tr-03183-2")]
    Bsi,
    /// NTIA minimum elements (US, 2021).
    Ntia,
    /// CISA 2025 minimum elements (US; the 2025-08-22 draft).
    #[value(name = "cisa-2025")]
    Cisa2025,
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
        SbomCommand::Diff(args) => diff(args),
        SbomCommand::Licences(args) => licences(args),
    }
}

/// Reads an SBOM file as JSON within the read limits.
fn read_sbom(path: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    let shown = path.display().to_string();
    let limits = ReadLimits::default();
    let bound = Bound {
        limit: limits.max_bytes as u64,
        ..DOCUMENT
    };
    let bytes = files::read(path, bound).with_context(|| format!("reading the SBOM `{shown}`"))?;
    consign_sbom::parse_json(&bytes, &limits).with_context(|| format!("reading the SBOM `{shown}`"))
}

fn diff(args: &DiffArgs) -> anyhow::Result<ExitStatus> {
    if args.fail_on.contains(&FailOn::NewVuln) {
        anyhow::bail!(
            "`--fail-on new-vuln` needs a vulnerability database, which `consign sbom diff` does not read yet\n\nhint: leave `new-vuln` out; the diff lists version changes, which a vulnerability scanner can judge"
        );
    }
    let old = read_sbom(&args.old)?;
    let new = read_sbom(&args.new)?;
    let result = consign_sbom::diff(&old, &new);
    let (old_name, new_name) = (
        args.old.display().to_string(),
        args.new.display().to_string(),
    );
    match args.format {
        DocumentFormat::Json => output::data(&serde_json::to_string_pretty(&serde_json::json!({
            "old": old_name,
            "new": new_name,
            "diff": result,
        }))?),
        DocumentFormat::Text => output::data(&diff_text(&old_name, &new_name, &result, false)),
        DocumentFormat::Markdown => output::data(&diff_text(&old_name, &new_name, &result, true)),
    }
    let happened = |kind: FailOn| match kind {
        FailOn::Added => !result.added.is_empty(),
        FailOn::Removed => !result.removed.is_empty(),
        FailOn::Upgrade => !result.upgraded.is_empty(),
        FailOn::Downgrade => !result.downgraded.is_empty(),
        FailOn::VersionChange => !result.version_changed.is_empty(),
        FailOn::LicenceChange => !result.licence_changed.is_empty(),
        FailOn::HashChange => !result.hash_changed.is_empty(),
        FailOn::NewVuln => false,
    };
    Ok(if args.fail_on.iter().any(|kind| happened(*kind)) {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

fn label(component: &consign_sbom::DiffComponent) -> String {
    match &component.version {
        Some(version) => format!("{} {version}", component.name),
        None => format!("{} (no version)", component.name),
    }
}

fn version(component: &consign_sbom::DiffComponent) -> &str {
    component.version.as_deref().unwrap_or("(none)")
}

fn diff_text(old: &str, new: &str, result: &consign_sbom::SbomDiff, markdown: bool) -> String {
    let mut out = String::new();
    let (heading, item) = if markdown { ("## ", "- ") } else { ("", "  ") };
    if markdown {
        let _ = writeln!(out, "# SBOM diff: `{old}` to `{new}`\n");
    } else {
        let _ = writeln!(out, "{old} -> {new}");
    }
    if result.product.0 != result.product.1 {
        let _ = writeln!(
            out,
            "product: {} -> {}",
            result.product.0.as_deref().unwrap_or("(none)"),
            result.product.1.as_deref().unwrap_or("(none)")
        );
    }
    let mut section = |title: &str, lines: Vec<String>| {
        if lines.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "{}{title} ({})",
            if markdown { "\n" } else { "" }.to_owned() + heading,
            lines.len()
        );
        if markdown {
            out.push('\n');
        }
        for line in lines {
            let _ = writeln!(out, "{item}{line}");
        }
    };
    let changes = |list: &[consign_sbom::Change]| -> Vec<String> {
        list.iter()
            .map(|c| format!("{} {} -> {}", c.old.name, version(&c.old), version(&c.new)))
            .collect()
    };
    section("upgraded", changes(&result.upgraded));
    section("downgraded", changes(&result.downgraded));
    section(
        "version changed (not ordered)",
        changes(&result.version_changed),
    );
    section("added", result.added.iter().map(label).collect());
    section("removed", result.removed.iter().map(label).collect());
    section(
        "licence changed",
        result
            .licence_changed
            .iter()
            .map(|c| {
                format!(
                    "{}: {} -> {}",
                    label(&c.new),
                    c.old.licences.join(", "),
                    c.new.licences.join(", ")
                )
            })
            .collect(),
    );
    section(
        "hash changed at the same version (suspicious)",
        result
            .hash_changed
            .iter()
            .map(|c| format!("{}: other file hashes than before", label(&c.new)))
            .collect(),
    );
    if result.is_empty() {
        let _ = writeln!(out, "no component changed");
    }
    out
}

fn licences(args: &LicencesArgs) -> anyhow::Result<ExitStatus> {
    let bom = read_sbom(&args.file)?;
    let report = consign_sbom::licence_report(&bom);
    let name = args.file.display().to_string();
    match args.format {
        DocumentFormat::Json => output::data(&serde_json::to_string_pretty(&serde_json::json!({
            "file": name,
            "licences": report,
        }))?),
        DocumentFormat::Text | DocumentFormat::Markdown => {
            let markdown = matches!(args.format, DocumentFormat::Markdown);
            let mut out = String::new();
            if markdown {
                let _ = writeln!(
                    out,
                    "# Licences of `{name}`\n\nInformation for a compliance review, not legal advice."
                );
            }
            for entry in &report {
                let mut components = entry.components.clone();
                components.extend(
                    entry
                        .as_alternative
                        .iter()
                        .map(|c| format!("{c} (one alternative of a choice)")),
                );
                if markdown {
                    let _ = writeln!(
                        out,
                        "\n## {}\n\nComponents: {}\n",
                        entry.licence,
                        components.join(", ")
                    );
                } else {
                    let _ = writeln!(out, "{}: {}", entry.licence, components.join(", "));
                }
                if !entry.known {
                    let _ = writeln!(
                        out,
                        "{}consign does not know this licence's obligations: read its text",
                        if markdown { "- " } else { "  " }
                    );
                }
                for obligation in &entry.obligations {
                    let _ = writeln!(
                        out,
                        "{}{}: {} ({})",
                        if markdown { "- " } else { "  " },
                        obligation.kind,
                        obligation.text,
                        obligation.source
                    );
                }
            }
            if report.is_empty() {
                let _ = writeln!(out, "no licences in {name}");
            }
            output::data(&out);
        }
    }
    Ok(ExitStatus::Success)
}

fn validate(args: &ValidateArgs) -> anyhow::Result<ExitStatus> {
    let path = args.file.display().to_string();
    let json = read_sbom(&args.file)?;
    let issues = consign_sbom::validate_schema(&json);
    let profile = args.profile.map(|p| match p {
        ProfileArg::Bsi => Profile::BsiTr031832,
        ProfileArg::Ntia => Profile::Ntia,
        ProfileArg::Cisa2025 => Profile::Cisa2025,
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
            let section = match profile {
                Profile::BsiTr031832 => format!("TR-03183-2 section {}", gap.section),
                Profile::Cisa2025 => format!("CISA 2025 element {}", gap.section),
                _ => format!("NTIA element {}", gap.section),
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
