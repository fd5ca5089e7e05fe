//! `consign unpack`: list or safely extract what is inside a firmware image.

use std::path::PathBuf;

use clap::Args;

use crate::cli::ReportFormat;
use crate::exit::ExitStatus;

/// Arguments of `consign unpack`.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  consign unpack firmware.bin -o extracted/")]
pub(crate) struct UnpackArgs {
    /// The image to unpack.
    pub(crate) image: PathBuf,
    /// Extract into this folder (created; nothing is ever written outside it).
    #[arg(short, long)]
    pub(crate) output: Option<PathBuf>,
    /// The format of the report.
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: ReportFormat,
}

pub(crate) fn run(_args: &UnpackArgs) -> anyhow::Result<ExitStatus> {
    Err(super::not_yet("`consign unpack`"))
}
