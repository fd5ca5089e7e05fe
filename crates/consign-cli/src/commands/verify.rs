//! `consign verify`: check shipments against a policy and a trust store, offline, fail closed.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use consign_verify::{Ledger, Policy, TrustStore, report};

use crate::exit::ExitStatus;
use crate::files::{self, DOCUMENT, KEY, Output};
use crate::output;

/// The format of the verdict report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum VerdictFormat {
    /// A summary for the terminal.
    #[default]
    Text,
    /// The verdict as JSON.
    Json,
    /// A Markdown report for an officer.
    Markdown,
    /// A self-contained HTML report.
    Html,
}

/// Arguments of `consign verify`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  consign verify shipment/ --policy eu-cra-import --trust trust.toml\n  consign verify lot-*.tar --policy uk-psti-retail --trust trust.toml --at 2026-11-22 --no-rescan\n\nExit codes: 0 accepted, 1 rejected, 2 usage error or a shipment that cannot be read at all."
)]
pub(crate) struct VerifyArgs {
    /// Shipment folders or `.tar` archives; several are checked in parallel.
    #[arg(required = true)]
    pub(crate) shipments: Vec<PathBuf>,
    /// A built-in policy profile (`eu-cra-import`, `uk-psti-retail`) or a policy file (TOML or JSON).
    #[arg(long)]
    pub(crate) policy: String,
    /// The trust store: parties, roles, keys, validity periods (TOML).
    #[arg(long)]
    pub(crate) trust: PathBuf,
    /// The check date, `YYYY-MM-DD` (default: today, UTC). Keys and support periods are judged on it.
    #[arg(long)]
    pub(crate) at: Option<String>,
    /// The ledger database the verdicts are recorded in.
    #[arg(long, default_value = super::ledger::DEFAULT_LEDGER)]
    pub(crate) ledger: PathBuf,
    /// Do not record the verdicts (nor read earlier support periods).
    #[arg(long)]
    pub(crate) no_ledger: bool,
    /// The report format.
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: VerdictFormat,
    /// Write the report to this file instead of stdout (one shipment only).
    #[arg(long)]
    pub(crate) report: Option<PathBuf>,
    /// Sign the verdict (market-check predicate + SLSA VSA) with this PKCS#8 PEM key, written as
    /// `<report or shipment name>.verdict.intoto.jsonl`.
    #[arg(long)]
    pub(crate) sign_with: Option<PathBuf>,
    /// Skip the re-scan of the firmware against the SBOM (reported as a warning).
    #[arg(long)]
    pub(crate) no_rescan: bool,
}

pub(crate) fn run(args: &VerifyArgs) -> anyhow::Result<ExitStatus> {
    // The shipments are read by the verifier itself: no report or signed verdict may replace
    // one, or land inside a shipment folder.
    for shipment in &args.shipments {
        files::check_file_or_folder(shipment)
            .with_context(|| format!("reading the shipment `{}`", shipment.display()))?;
    }
    files::note_inputs(&args.shipments);
    if let Some(report) = &args.report {
        Output::FILE.check(report)?;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default();
    let date = match &args.at {
        Some(text) => consign_verify::trust::parse_date(text, "`--at`")?,
        None => consign_verify::date_from_unix_seconds(now)?,
    };
    let policy = if consign_verify::policy::PROFILES
        .iter()
        .any(|(name, _)| *name == args.policy)
    {
        Policy::builtin(&args.policy)?
    } else {
        let path = PathBuf::from(&args.policy);
        let text = files::read_to_string(&path, DOCUMENT).with_context(|| {
            format!(
                "reading the policy file `{}` (not a built-in profile: those are `eu-cra-import`, `uk-psti-retail`)",
                args.policy
            )
        })?;
        Policy::from_text(
            &args.policy,
            &text,
            path.extension().is_some_and(|e| e == "json"),
        )?
    };
    let trust_text =
        files::read_to_string(&args.trust, DOCUMENT).context("reading the trust store")?;
    let trust = TrustStore::from_toml(&args.trust.display().to_string(), &trust_text)?;
    let mut ledger = if args.no_ledger {
        None
    } else {
        Some(Ledger::open(&args.ledger)?)
    };
    let history = match &ledger {
        Some(ledger) => ledger.all_support_history()?,
        None => Vec::new(),
    };
    let signer = match &args.sign_with {
        Some(path) => {
            let pem = files::read_to_string(path, KEY).context("reading the `--sign-with` key")?;
            Some(
                consign_attest::PrivateKey::from_pkcs8_pem(&pem)
                    .with_context(|| format!("reading {}", path.display()))?,
            )
        }
        None => None,
    };
    if args.report.is_some() && args.shipments.len() > 1 {
        anyhow::bail!(
            "`--report` takes one shipment\n\nhint: verify shipments one at a time to write a report for each"
        );
    }
    let run = consign_verify::Run {
        policy: &policy,
        trust: &trust,
        date,
        history: &history,
        rescan: !args.no_rescan,
        limits: consign_verify::shipment::ShipmentLimits::default(),
    };
    let results = consign_verify::verify_paths(&run, &args.shipments)?;
    let many = args.shipments.len() > 1;
    let (mut accepted, mut rejected, mut unreadable) = (0usize, 0usize, 0usize);
    let mut json_all = Vec::new();
    for (path, result) in args.shipments.iter().zip(results) {
        let (shipment, verdict) = match result {
            Ok(pair) => pair,
            Err(err) => {
                unreadable += 1;
                output::error(
                    &anyhow::Error::new(err)
                        .context(format!("reading the shipment `{}`", path.display())),
                );
                continue;
            }
        };
        if verdict.accepted {
            accepted += 1;
        } else {
            rejected += 1;
        }
        if let Some(ledger) = ledger.as_mut() {
            ledger.record(&verdict)?;
        }
        if let Some(signer) = &signer {
            let jsonl = consign_verify::backend::sign_verdict(
                &verdict,
                &shipment,
                &trust,
                signer,
                &format!("{date}T00:00:00Z"),
            )?;
            let target = match &args.report {
                Some(report) => report.with_extension("verdict.intoto.jsonl"),
                None => PathBuf::from(format!(
                    "{}.verdict.intoto.jsonl",
                    sanitize(&verdict.shipment)
                )),
            };
            files::write(&target, jsonl)?;
            output::status(&format!("signed verdict written to {}", target.display()));
        }
        if many {
            if args.format == VerdictFormat::Json {
                json_all.push(verdict);
            } else {
                output::data(&report::one_line(&verdict));
            }
            continue;
        }
        let rendered = match args.format {
            VerdictFormat::Text => report::text(&verdict),
            VerdictFormat::Json => report::json(&verdict)?,
            VerdictFormat::Markdown => report::markdown(&verdict),
            VerdictFormat::Html => report::html(&verdict),
        };
        match &args.report {
            Some(path) => {
                files::write(path, rendered)?;
                output::status(&report::one_line(&verdict));
            }
            None => output::data(&rendered),
        }
    }
    if many {
        if args.format == VerdictFormat::Json {
            output::data(&serde_json::to_string_pretty(&json_all)?);
        }
        output::status(&format!(
            "{} shipment(s): {accepted} accepted, {rejected} rejected, {unreadable} unreadable",
            args.shipments.len()
        ));
    }
    Ok(if unreadable > 0 {
        ExitStatus::Error
    } else if rejected > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}
