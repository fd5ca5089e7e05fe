//! `consign ledger`: list and export recorded verdicts.

use std::path::PathBuf;

use clap::Args;

use crate::exit::ExitStatus;

/// Arguments of `consign ledger`.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  consign ledger --db consign-ledger.sqlite")]
pub(crate) struct LedgerArgs {
    /// The ledger database.
    #[arg(long)]
    pub(crate) db: Option<PathBuf>,
}

pub(crate) fn run(_args: &LedgerArgs) -> anyhow::Result<ExitStatus> {
    Err(super::not_yet("`consign ledger`"))
}
