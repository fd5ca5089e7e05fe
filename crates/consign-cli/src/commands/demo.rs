//! `consign demo`: the whole chain on a generated example.

use std::path::PathBuf;

use clap::Args;

use crate::exit::ExitStatus;

/// Arguments of `consign demo`.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  consign demo --dir consign-demo")]
pub(crate) struct DemoArgs {
    /// The folder to create the example in (keys, firmware, SBOM, attestations, verdict).
    #[arg(long, default_value = "consign-demo")]
    pub(crate) dir: PathBuf,
}

pub(crate) fn run(_args: &DemoArgs) -> anyhow::Result<ExitStatus> {
    Err(super::not_yet("`consign demo`"))
}
