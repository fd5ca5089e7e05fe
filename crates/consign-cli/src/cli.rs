//! The command line: the top-level parser and global flags. Each command's own arguments live
//! beside its `run` function in `commands/<verb>.rs`.

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands;

const AFTER_HELP: &str = "\
Exit codes (the same for every command):
  0  success: accepted, valid, verified
  1  the check ran and found a problem: rejected, invalid, bad signature
  2  usage error, or an input that cannot be read at all

Start with `consign demo` to see the whole chain on a generated example.";

/// consign: make the IoT supply chain checkable.
///
/// Scan firmware for its components, write the SBOM, sign in-toto attestations along the chain
/// (supplier, manufacturer, distributor), and verify a shipment at import or retail against a policy.
#[derive(Debug, Parser)]
#[command(name = "consign", version, after_help = AFTER_HELP, propagate_version = true)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Print nothing on stderr but errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    /// Print more detail on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
}

/// Bounds on unpacking hostile input; shared by every command that unpacks firmware.
#[derive(Debug, Clone, Args)]
#[allow(clippy::struct_field_names)] // The flags are `--max-*`; the fields mirror them.
pub(crate) struct LimitArgs {
    /// How many containers deep to unpack.
    #[arg(long, value_name = "N", default_value_t = consign_unpack::Limits::default().max_depth)]
    pub(crate) max_depth: u32,
    /// How many entries (files, folders, links) in all.
    #[arg(long, value_name = "N", default_value_t = consign_unpack::Limits::default().max_entries)]
    pub(crate) max_entries: u64,
    /// How many bytes of unpacked contents in all (also the largest image read).
    #[arg(long, value_name = "BYTES", default_value_t = consign_unpack::Limits::default().max_total_bytes)]
    pub(crate) max_total_bytes: u64,
    /// How large one unpacked file or stream may be.
    #[arg(long, value_name = "BYTES", default_value_t = consign_unpack::Limits::default().max_file_bytes)]
    pub(crate) max_file_bytes: u64,
    /// How many output bytes one compressed byte may become.
    #[arg(long, value_name = "N", default_value_t = consign_unpack::Limits::default().max_ratio)]
    pub(crate) max_ratio: u64,
}

impl LimitArgs {
    pub(crate) fn limits(&self) -> consign_unpack::Limits {
        consign_unpack::Limits {
            max_depth: self.max_depth,
            max_entries: self.max_entries,
            max_total_bytes: self.max_total_bytes,
            max_file_bytes: self.max_file_bytes,
            max_ratio: self.max_ratio,
        }
    }
}

/// The format of a person-readable report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum ReportFormat {
    /// Text for a terminal.
    #[default]
    Text,
    /// JSON for programs.
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the whole chain on a generated example: keys, firmware, SBOM, attestations, verdict.
    Demo(commands::demo::DemoArgs),
    /// Find the components inside firmware images and write the SBOM.
    Scan(commands::scan::ScanArgs),
    /// Unpack a firmware image safely: list what is inside, or extract it into a folder.
    Unpack(commands::unpack::UnpackArgs),
    /// Validate, compare and report on SBOMs (CycloneDX schema; BSI TR-03183-2, NTIA, CISA 2025).
    #[command(subcommand)]
    Sbom(commands::sbom::SbomCommand),
    /// Generate, import and show signing keys (Ed25519, ECDSA P-256, PKCS#11 tokens).
    #[command(subcommand)]
    Key(commands::key::KeyCommand),
    /// Sign an in-toto attestation of what you vouch for (component, release, custody, ...).
    #[command(subcommand)]
    Attest(commands::attest::AttestCommand),
    /// Verify an attestation (DSSE envelope or Sigstore bundle) against an artifact and a key.
    VerifyAttestation(commands::attest::VerifyAttestationArgs),
    /// in-toto v0.9 layouts and links: create, sign, record a step, verify.
    #[command(subcommand)]
    Intoto(commands::intoto::IntotoCommand),
    /// Assemble a shipment: artifacts, SBOMs and attestations in one folder or archive.
    Shipment(commands::shipment::ShipmentArgs),
    /// Verify a shipment at import or retail against a policy and a trust store.
    Verify(commands::verify::VerifyArgs),
    /// List and export the verdicts recorded in the ledger.
    Ledger(commands::ledger::LedgerArgs),
}
