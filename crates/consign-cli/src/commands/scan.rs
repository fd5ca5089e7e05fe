//! `consign scan`: firmware images in, SBOM out.

use std::path::PathBuf;

use clap::Args;

use crate::exit::ExitStatus;

/// Arguments of `consign scan`.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  consign scan firmware.bin -o firmware.cdx.json")]
pub(crate) struct ScanArgs {
    /// The firmware images of one product (main SoC, Wi-Fi module, ...).
    #[arg(required = true)]
    pub(crate) images: Vec<PathBuf>,
    /// Write the SBOM here instead of stdout.
    #[arg(short, long)]
    pub(crate) output: Option<PathBuf>,
}

pub(crate) fn run(_args: &ScanArgs) -> anyhow::Result<ExitStatus> {
    Err(super::not_yet("`consign scan`"))
}
