//! `consign shipment`: assemble a shipment folder or archive.

use std::path::PathBuf;

use clap::Args;

use crate::exit::ExitStatus;

/// Arguments of `consign shipment`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  consign shipment --out shipment/ fw.img fw.cdx.json *.intoto.jsonl"
)]
pub(crate) struct ShipmentArgs {
    /// The folder to create.
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Files to put in it.
    pub(crate) files: Vec<PathBuf>,
}

pub(crate) fn run(_args: &ShipmentArgs) -> anyhow::Result<ExitStatus> {
    Err(super::not_yet("`consign shipment`"))
}
