//! `consign verify`: check a shipment against a policy and a trust store.

use std::path::PathBuf;

use clap::Args;

use crate::exit::ExitStatus;

/// Arguments of `consign verify`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  consign verify shipment/ --policy eu-cra-import --trust trust.toml"
)]
pub(crate) struct VerifyArgs {
    /// Shipment folders or archives.
    #[arg(required = true)]
    pub(crate) shipments: Vec<PathBuf>,
    /// A built-in policy profile (`eu-cra-import`, `uk-psti-retail`) or a policy file.
    #[arg(long)]
    pub(crate) policy: String,
    /// The trust store: parties, roles, keys, validity.
    #[arg(long)]
    pub(crate) trust: PathBuf,
}

pub(crate) fn run(_args: &VerifyArgs) -> anyhow::Result<ExitStatus> {
    Err(super::not_yet("`consign verify`"))
}
