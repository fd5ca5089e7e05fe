//! `consign vuln`: the local vulnerability database (`db import`, `db info`) and matching an
//! SBOM against it (`match`), offline.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use consign_vuln::db::Database;
use consign_vuln::document::ReadLimits;
use consign_vuln::import::{ImportOptions, import_path};
use consign_vuln::vex::VexStatement;

use crate::exit::ExitStatus;
use crate::output;

/// Subcommands of `consign vuln`.
#[derive(Debug, Subcommand)]
pub(crate) enum VulnCommand {
    /// The local database: import NVD, OSV, KEV and EPSS data; show what it holds.
    #[command(subcommand)]
    Db(DbCommand),
    /// Match an SBOM's components against the database, applying VEX statements.
    Match(MatchArgs),
}

/// Subcommands of `consign vuln db`.
#[derive(Debug, Subcommand)]
pub(crate) enum DbCommand {
    /// Import files or folders: NVD CVE API 2.0 JSON (one record per file, or feeds), OSV JSON
    /// or YAML, the CISA KEV catalogue, EPSS CSV; plain, .gz, .xz or .zip.
    #[command(after_help = "\
Examples:
  consign vuln db import nvd/ kev/known_exploited_vulnerabilities.json osv/
  consign vuln db import --db vuln.db nvdcve-2.0-2024.json.gz epss_scores-2025-08-25.csv.gz

Each PATH is one source, recorded with its date and SHA-256; importing a source again is a no-op,
a newer record replaces an older one, and a malformed file fails its whole source (naming the file
and the JSON pointer) and leaves the database as it was. Nothing is fetched: download the data
where you have a network and bring the files.")]
    Import(ImportArgs),
    /// Show the database's sources (kind, date, digest) and counts.
    Info(InfoArgs),
}

/// Where the database is.
#[derive(Debug, Args)]
pub(crate) struct DbArg {
    /// The database file (default: `$XDG_DATA_HOME/consign/vuln.db`).
    #[arg(long, value_name = "FILE")]
    pub(crate) db: Option<PathBuf>,
}

impl DbArg {
    pub(crate) fn path(&self) -> anyhow::Result<PathBuf> {
        resolve_db(self.db.as_deref())
    }
}

/// The `--db` flag, else the default path.
pub(crate) fn resolve_db(flag: Option<&Path>) -> anyhow::Result<PathBuf> {
    match flag {
        Some(path) => Ok(path.to_owned()),
        None => consign_vuln::default_database_path().context(
            "neither XDG_DATA_HOME nor HOME is set, so there is no default database\n\nhint: name one with `--db FILE`",
        ),
    }
}

/// Arguments of `consign vuln db import`.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    #[command(flatten)]
    pub(crate) db: DbArg,
    /// Files or folders to import.
    #[arg(required = true)]
    pub(crate) paths: Vec<PathBuf>,
}

/// Arguments of `consign vuln db info`.
#[derive(Debug, Args)]
pub(crate) struct InfoArgs {
    #[command(flatten)]
    pub(crate) db: DbArg,
    /// `text` or `json`.
    #[arg(long, default_value = "text")]
    pub(crate) format: crate::cli::ReportFormat,
}

/// How `consign vuln match` writes its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum MatchFormat {
    /// A table for people.
    #[default]
    Table,
    /// The whole report as JSON.
    Json,
    /// A stand-alone CycloneDX 1.6 VEX document (BOM-Links into the SBOM).
    CyclonedxVex,
}

/// Arguments of `consign vuln match`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  consign vuln match fw.cdx.json
  consign vuln match fw.cdx.json --vex fw.openvex.json --format cyclonedx-vex -o fw.vex.cdx.json

Components are matched by CPE (NVD configurations: version ranges, AND/OR nodes, platforms) and by
package URL (OSV: SEMVER, ECOSYSTEM and GIT ranges, listed versions). A component whose release is
unknown is reported apart as `may be affected`, never as affected. VEX documents (OpenVEX,
CycloneDX VEX, CSAF VEX) given with --vex change the state of the findings they cover, with their
reason shown; `consign verify` uses only VEX signed by the manufacturer.

Exit codes: 0 no open vulnerability; 1 open vulnerabilities found; 2 unreadable input or no database.")]
pub(crate) struct MatchArgs {
    #[command(flatten)]
    pub(crate) db: DbArg,
    /// The CycloneDX SBOM (JSON), e.g. from `consign scan`.
    pub(crate) sbom: PathBuf,
    /// VEX documents to apply (repeatable).
    #[arg(long, value_name = "FILE")]
    pub(crate) vex: Vec<PathBuf>,
    /// `table`, `json` or `cyclonedx-vex`.
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: MatchFormat,
    /// Write here instead of stdout.
    #[arg(short, long)]
    pub(crate) output: Option<PathBuf>,
    /// The VEX document's timestamp, as seconds since 1970 (overrides `SOURCE_DATE_EPOCH`).
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub(crate) timestamp: Option<i64>,
}

pub(crate) fn run(command: &VulnCommand) -> anyhow::Result<ExitStatus> {
    match command {
        VulnCommand::Db(DbCommand::Import(args)) => import(args),
        VulnCommand::Db(DbCommand::Info(args)) => info(args),
        VulnCommand::Match(args) => run_match(args),
    }
}

fn import(args: &ImportArgs) -> anyhow::Result<ExitStatus> {
    let path = args.db.path()?;
    let mut db = Database::create(&path)?;
    let options = ImportOptions {
        limits: ReadLimits::default(),
        imported_at: super::scan::timestamp(None)?.as_str().to_owned(),
    };
    for source in &args.paths {
        let started = std::time::Instant::now();
        let report = output::with_progress(
            || format!("importing {}", source.display()),
            || import_path(&mut db, source, &options),
        )
        .with_context(|| format!("importing {}", source.display()))?;
        let s = &report.summary;
        if s.unchanged {
            output::status(&format!(
                "{}: already imported (sha256 {}), nothing to do",
                source.display(),
                report.sha256
            ));
        } else {
            output::status(&format!(
                "{}: {} files, {} records added, {} updated, {} kept, {} withdrawn, {} KEV entries, {} EPSS scores ({:.1} s)",
                source.display(),
                report.files,
                s.added,
                s.updated,
                s.kept,
                s.withdrawn,
                s.kev,
                s.epss,
                started.elapsed().as_secs_f64()
            ));
        }
        if !report.skipped.is_empty() {
            output::status(&format!(
                "  skipped {} files that hold no vulnerability data (first: {})",
                report.skipped.len(),
                report.skipped[0]
            ));
            for skipped in &report.skipped {
                output::verbose(&format!("  skipped {skipped}"));
            }
        }
    }
    output::status(&format!("database {}", path.display()));
    Ok(ExitStatus::Success)
}

fn info(args: &InfoArgs) -> anyhow::Result<ExitStatus> {
    let db = Database::open(&args.db.path()?)?;
    let info = db.info()?;
    if args.format == crate::cli::ReportFormat::Json {
        output::data(&(serde_json::to_string_pretty(&info)? + "\n"));
        return Ok(ExitStatus::Success);
    }
    let mut text = String::new();
    let _ = writeln!(text, "database   {}", info.path);
    let _ = writeln!(text, "sha256     {}", info.sha256);
    let _ = writeln!(
        text,
        "records    {} NVD, {} OSV ({} withdrawn)",
        info.nvd_records, info.osv_records, info.withdrawn
    );
    let _ = writeln!(
        text,
        "KEV        {} entries{}",
        info.kev_entries,
        info.kev_released
            .as_deref()
            .map(|d| format!(", catalogue released {d}"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        text,
        "EPSS       {} scores{}",
        info.epss_scores,
        info.epss_date
            .as_deref()
            .map(|d| format!(", scored {d}"))
            .unwrap_or_default()
    );
    let _ = writeln!(text, "sources    {}", info.sources.len());
    for source in &info.sources {
        let _ = writeln!(
            text,
            "  {}  {}  dated {}  {} files  {} records  sha256 {}  imported {}",
            source.kinds,
            source.name,
            source.date.as_deref().unwrap_or("unknown"),
            source.files,
            source.records,
            source.sha256,
            source.imported_at
        );
    }
    output::data(&text);
    Ok(ExitStatus::Success)
}

/// Reads VEX documents (any of the three formats) into statements.
pub(crate) fn load_vex(paths: &[PathBuf]) -> anyhow::Result<Vec<VexStatement>> {
    let mut statements = Vec::new();
    for path in paths {
        let bytes = crate::files::read(path, crate::files::DOCUMENT)?;
        let document = consign_vuln::vex::parse(&path.display().to_string(), &bytes)?;
        output::verbose(&format!(
            "{}: {:?} VEX, {} statements",
            path.display(),
            document.format,
            document.statements.len()
        ));
        statements.extend(document.statements);
    }
    Ok(statements)
}

fn run_match(args: &MatchArgs) -> anyhow::Result<ExitStatus> {
    let db = Database::open(&args.db.path()?)?;
    let statements = load_vex(&args.vex)?;
    let bytes = crate::files::read(&args.sbom, crate::files::DOCUMENT)?;
    let name = args.sbom.display().to_string();
    let (report, targets) = consign_vuln::match_sbom(&db, &name, &bytes, &statements)?;
    let text = match args.format {
        MatchFormat::Table => report.to_table(),
        MatchFormat::Json => report.to_json(),
        MatchFormat::CyclonedxVex => {
            let timestamp = super::scan::timestamp(args.timestamp)?;
            let document =
                consign_vuln::report::cyclonedx_vex(&report, &targets, timestamp.as_str());
            serde_json::to_string_pretty(&document)? + "\n"
        }
    };
    match &args.output {
        Some(path) => {
            fs_err::write(path, text.as_bytes())?;
            output::status(&format!("wrote {}", path.display()));
        }
        None => output::data(&text),
    }
    let open = report.open().count();
    if args.format != MatchFormat::Table {
        output::status(&format!(
            "{open} open vulnerabilities ({} KEV-listed), {} resolved by VEX, {} may apply to components of unknown release",
            report.open().filter(|a| a.finding.kev.is_some()).count(),
            report.findings.len() - open,
            report.unknown.len()
        ));
    }
    Ok(if open == 0 {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
