//! `consign intoto ...`: in-toto v0.9 layouts and links.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::exit::ExitStatus;

/// Subcommands of `consign intoto`.
#[derive(Debug, Subcommand)]
pub(crate) enum IntotoCommand {
    /// Verify a layout with its links.
    #[command(
        after_help = "Example:\n  consign intoto verify --layout root.layout --layout-key owner.pub --links links/"
    )]
    Verify(IntotoVerifyArgs),
}

/// Arguments of `consign intoto verify`.
#[derive(Debug, Args)]
pub(crate) struct IntotoVerifyArgs {
    /// The signed layout.
    #[arg(long)]
    pub(crate) layout: PathBuf,
}

pub(crate) fn run(_command: &IntotoCommand) -> anyhow::Result<ExitStatus> {
    Err(super::not_yet("`consign intoto`"))
}
