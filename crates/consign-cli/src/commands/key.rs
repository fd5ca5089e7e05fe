//! `consign key ...`: signing keys.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::exit::ExitStatus;

/// Subcommands of `consign key`.
#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Generate a key pair (PKCS#8 PEM private key, SPKI PEM public key).
    #[command(after_help = "Example:\n  consign key generate --out mfr")]
    Generate(GenerateArgs),
}

/// Arguments of `consign key generate`.
#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// Path prefix: writes PREFIX.key and PREFIX.pub.
    #[arg(long)]
    pub(crate) out: PathBuf,
}

pub(crate) fn run(_command: &KeyCommand) -> anyhow::Result<ExitStatus> {
    Err(super::not_yet("`consign key`"))
}
