//! `consign sbom ...`: SBOM validation and conversion.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::exit::ExitStatus;

/// Subcommands of `consign sbom`.
#[derive(Debug, Subcommand)]
pub(crate) enum SbomCommand {
    /// Check an SBOM against the official schema and a regulator's profile.
    #[command(
        after_help = "Example:\n  consign sbom validate fw.cdx.json --profile bsi-tr-03183-2"
    )]
    Validate(ValidateArgs),
}

/// Arguments of `consign sbom validate`.
#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// The SBOM file (CycloneDX JSON).
    pub(crate) file: PathBuf,
}

pub(crate) fn run(_command: &SbomCommand) -> anyhow::Result<ExitStatus> {
    Err(super::not_yet("`consign sbom validate`"))
}
