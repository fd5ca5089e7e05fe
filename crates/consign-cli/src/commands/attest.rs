//! `consign attest ...` and `consign verify-attestation`: sign and check attestations.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::exit::ExitStatus;

/// Subcommands of `consign attest`.
#[derive(Debug, Subcommand)]
pub(crate) enum AttestCommand {
    /// Manufacturer: sign the release (product claims, SBOM, supplier materials).
    #[command(
        after_help = "Example:\n  consign attest release --key mfr.key fw.img --sbom fw.cdx.json --claims product.toml"
    )]
    Release(ReleaseArgs),
}

/// Arguments of `consign attest release`.
#[derive(Debug, Args)]
pub(crate) struct ReleaseArgs {
    /// The signing key.
    #[arg(long)]
    pub(crate) key: PathBuf,
    /// The firmware image the attestation is about.
    pub(crate) artifact: PathBuf,
}

/// Arguments of `consign verify-attestation`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  consign verify-attestation fw.img --attestation fw.intoto.jsonl --key mfr.pub"
)]
pub(crate) struct VerifyAttestationArgs {
    /// The artifact the attestation should be about.
    pub(crate) artifact: PathBuf,
    /// The envelope (`.intoto.jsonl`, `.dsse.json`) or Sigstore bundle.
    #[arg(long)]
    pub(crate) attestation: PathBuf,
    /// The public key to verify with.
    #[arg(long)]
    pub(crate) key: PathBuf,
}

pub(crate) fn run(_command: &AttestCommand) -> anyhow::Result<ExitStatus> {
    Err(super::not_yet("`consign attest`"))
}

pub(crate) fn verify(_args: &VerifyAttestationArgs) -> anyhow::Result<ExitStatus> {
    Err(super::not_yet("`consign verify-attestation`"))
}
