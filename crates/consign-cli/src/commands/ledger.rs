//! `consign ledger`: list and export the verdicts recorded by `consign verify`.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use consign_verify::Ledger;

use crate::exit::ExitStatus;
use crate::output;

/// The ledger file `consign verify` and `consign ledger` use when `--db`/`--ledger` is not given.
pub(crate) const DEFAULT_LEDGER: &str = "consign-ledger.sqlite";

/// Arguments of `consign ledger`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  consign ledger list --db consign-ledger.sqlite\n  consign ledger export --db consign-ledger.sqlite > verdicts.json"
)]
pub(crate) struct LedgerArgs {
    /// What to do (default: list).
    #[command(subcommand)]
    pub(crate) action: Option<LedgerAction>,
    /// The ledger database.
    #[arg(long, global = true, default_value = DEFAULT_LEDGER)]
    pub(crate) db: PathBuf,
}

/// What `consign ledger` does.
#[derive(Debug, Clone, Copy, Subcommand)]
pub(crate) enum LedgerAction {
    /// One line per recorded verdict.
    List,
    /// Every recorded verdict in full, as a JSON array.
    Export,
}

pub(crate) fn run(args: &LedgerArgs) -> anyhow::Result<ExitStatus> {
    if !args.db.exists() {
        anyhow::bail!(
            "no ledger at `{}`\n\nhint: `consign verify --ledger FILE` records verdicts; give the same file with `--db`",
            args.db.display()
        );
    }
    let ledger = Ledger::open(&args.db)?;
    match args.action.unwrap_or(LedgerAction::List) {
        LedgerAction::List => {
            let mut text = String::new();
            for entry in ledger.list()? {
                let _ = writeln!(
                    text,
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    entry.id,
                    entry.checked_at,
                    if entry.accepted {
                        "accepted"
                    } else {
                        "rejected"
                    },
                    entry.shipment,
                    entry.policy,
                    entry.product_key.as_deref().unwrap_or("-"),
                    entry.support_end.as_deref().unwrap_or("-"),
                );
            }
            if text.is_empty() {
                output::status("the ledger holds no verdict yet");
            } else {
                output::data(&text);
            }
        }
        LedgerAction::Export => output::data(&ledger.export_json()?),
    }
    Ok(ExitStatus::Success)
}
