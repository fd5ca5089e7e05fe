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
is suspicious: a rebuilt, patched or replaced binary under an old version. With a vulnerability
database (`--vuln-db FILE`, else the default one, built by `consign vuln db import`), the diff also
lists the vulnerabilities each release is affected by that the other is not (fixed, introduced);
`--fail-on new-vuln` needs one. The manufacturer's VEX documents (`--vex FILE...`: OpenVEX,
CycloneDX VEX, CSAF VEX) decide what counts in each release: a vulnerability stated `not_affected`
or `fixed` is neither introduced nor kept, and is listed apart with the statement's reason.
  consign sbom diff old.cdx.json new.cdx.json --vuln-db vuln.db --fail-on new-vuln
  consign sbom diff old.cdx.json new.cdx.json --vuln-db vuln.db --vex fw.openvex.json")]
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
    /// A vulnerability the new release is affected by and the old one is not (needs a
    /// vulnerability database).
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
    /// Match both SBOMs against this vulnerability database and list what the change fixed and
    /// introduced (default with `--fail-on new-vuln`: the database in the user's data folder).
    #[arg(long, value_name = "FILE")]
    pub(crate) vuln_db: Option<PathBuf>,
    /// The manufacturer's VEX documents (OpenVEX, CycloneDX VEX, CSAF VEX; repeatable): a
    /// vulnerability they state `not_affected` or `fixed` in a release does not count in it,
    /// and the diff shows their reason (implies matching against the database).
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub(crate) vex: Vec<PathBuf>,
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

/// What each release is affected by, matched against the vulnerability database and decided by
/// the VEX statements (consign-vuln owns matching, VEX and the fixed/introduced diff).
fn vuln_diff(
    db_path: Option<&std::path::Path>,
    vex: &[PathBuf],
    sides: [(&str, &serde_json::Value); 2],
) -> anyhow::Result<consign_vuln::diff::VulnDiff> {
    let statements = super::vuln::load_vex(vex)?;
    let path = super::vuln::resolve_db(db_path)?;
    let db = consign_vuln::db::Database::open(&path)?;
    let mut findings = Vec::new();
    for (name, bom) in sides {
        let targets = consign_vuln::sbom::targets_of(name, bom)?;
        let report = consign_vuln::match_targets(&db, name, &targets, &statements)?;
        findings.push(report.findings);
    }
    Ok(consign_vuln::diff::diff(&findings[0], &findings[1]))
}

fn diff(args: &DiffArgs) -> anyhow::Result<ExitStatus> {
    let old = read_sbom(&args.old)?;
    let new = read_sbom(&args.new)?;
    let result = consign_sbom::diff(&old, &new);
    let (old_name, new_name) = (
        args.old.display().to_string(),
        args.new.display().to_string(),
    );
    let vulns = if args.vuln_db.is_some()
        || !args.vex.is_empty()
        || args.fail_on.contains(&FailOn::NewVuln)
    {
        Some(
            vuln_diff(
                args.vuln_db.as_deref(),
                &args.vex,
                [(&old_name, &old), (&new_name, &new)],
            )
            .context("`--fail-on new-vuln`, `--vuln-db` and `--vex` match both SBOMs against a vulnerability database")?,
        )
    } else {
        None
    };
    match args.format {
        DocumentFormat::Json => {
            let mut json = serde_json::json!({
                "old": old_name,
                "new": new_name,
                "diff": result,
            });
            if let Some(vulns) = &vulns {
                json["vulnerabilities"] = serde_json::to_value(vulns)?;
            }
            output::data(&serde_json::to_string_pretty(&json)?);
        }
        DocumentFormat::Text | DocumentFormat::Markdown => {
            let markdown = matches!(args.format, DocumentFormat::Markdown);
            let mut text = diff_text(&old_name, &new_name, &result, markdown);
            if let Some(vulns) = &vulns {
                text.push_str(&vuln_text(vulns, markdown));
            }
            output::data(&text);
        }
    }
    let happened = |kind: FailOn| match kind {
        FailOn::Added => !result.added.is_empty(),
        FailOn::Removed => !result.removed.is_empty(),
        FailOn::Upgrade => !result.upgraded.is_empty(),
        FailOn::Downgrade => !result.downgraded.is_empty(),
        FailOn::VersionChange => !result.version_changed.is_empty(),
        FailOn::LicenceChange => !result.licence_changed.is_empty(),
        FailOn::HashChange => !result.hash_changed.is_empty(),
        FailOn::NewVuln => vulns.as_ref().is_some_and(|v| !v.introduced.is_empty()),
    };
    Ok(if args.fail_on.iter().any(|kind| happened(*kind)) {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

fn vuln_text(vulns: &consign_vuln::diff::VulnDiff, markdown: bool) -> String {
    let mut out = String::new();
    let (heading, item) = if markdown {
        ("\n## ", "- ")
    } else {
        ("", "  ")
    };
    // The VEX section appears only when statements set something aside.
    for (title, list, always) in [
        ("vulnerabilities introduced", &vulns.introduced, true),
        ("vulnerabilities fixed", &vulns.fixed, true),
        (
            "vulnerabilities set aside by the VEX statements",
            &vulns.resolved_by_vex,
            false,
        ),
    ] {
        if list.is_empty() && !always {
            continue;
        }
        let _ = writeln!(out, "{heading}{title} ({})", list.len());
        if markdown && !list.is_empty() {
            out.push('\n');
        }
        for change in list {
            let _ = write!(
                out,
                "{item}{} in {} {} -> {}",
                change.id,
                change.component,
                change.before.as_deref().unwrap_or("(none)"),
                change.after.as_deref().unwrap_or("(none)")
            );
            for (side, reason) in [("old", &change.vex_before), ("new", &change.vex_after)] {
                if let Some(reason) = reason {
                    let _ = write!(out, "; VEX ({side}): {reason}");
                }
            }
            out.push('\n');
        }
    }
    let _ = writeln!(out, "{item}{} affect both releases", vulns.unchanged.len());
    out
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
    section(
        "other files, no version on either side",
        result
            .unversioned_changed
            .iter()
            .map(|c| format!("{}: other file hashes than before", c.new.name))
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
