//! `consign shipment assemble`: put artifacts, SBOMs, attestations and documents into a shipment
//! folder or a single-file archive (see `consign_verify::shipment` for the format).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use consign_verify::shipment::{self, ArtifactRole, NewArtifact};

use crate::exit::ExitStatus;
use crate::files::{self, Bound};
use crate::output;

/// Arguments of `consign shipment`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  consign shipment assemble --out shipment/ --firmware fw.img --sbom fw.cdx.json --attestation release.intoto.jsonl"
)]
pub(crate) struct ShipmentArgs {
    #[command(subcommand)]
    pub(crate) command: ShipmentCommand,
}

/// Subcommands of `consign shipment`.
#[derive(Debug, Subcommand)]
pub(crate) enum ShipmentCommand {
    /// Assemble a shipment folder (or `.tar` archive) with its `shipment.json` manifest.
    #[command(
        after_help = "Example:\n  consign shipment assemble --out lot-42.tar --name lot-42 --firmware fw.img --sbom fw.cdx.json --attestation supplier.intoto.jsonl --attestation release.intoto.jsonl --document eu-doc.pdf"
    )]
    Assemble(AssembleArgs),
}

/// Arguments of `consign shipment assemble`.
#[derive(Debug, Args)]
pub(crate) struct AssembleArgs {
    /// The folder to create (must not exist or be empty), or a file ending in `.tar`.
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// A name for the shipment (a lot number), shown in verdicts.
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Firmware images.
    #[arg(long)]
    pub(crate) firmware: Vec<PathBuf>,
    /// CycloneDX JSON SBOMs.
    #[arg(long)]
    pub(crate) sbom: Vec<PathBuf>,
    /// Attestations: DSSE envelopes (`.intoto.jsonl`) or Sigstore bundles.
    #[arg(long)]
    pub(crate) attestation: Vec<PathBuf>,
    /// Documents: declaration of conformity, statement of compliance, instructions.
    #[arg(long)]
    pub(crate) document: Vec<PathBuf>,
}

pub(crate) fn run(args: &ShipmentArgs) -> anyhow::Result<ExitStatus> {
    match &args.command {
        ShipmentCommand::Assemble(args) => assemble(args),
    }
}

fn read(role: ArtifactRole, path: &Path) -> anyhow::Result<NewArtifact> {
    // What `consign verify` reads of one shipment file, so nothing is assembled it would refuse.
    let bound = Bound {
        limit: shipment::ShipmentLimits::default().max_file_bytes,
        hint: "a shipment holds files up to this size each, what `consign verify` reads",
    };
    let data = files::read(path, bound)
        .with_context(|| format!("reading the {} `{}`", role.as_str(), path.display()))?;
    let name = path.file_name().map_or_else(
        || "artifact".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(NewArtifact::named(role, &name, data))
}

fn assemble(args: &AssembleArgs) -> anyhow::Result<ExitStatus> {
    let mut files = Vec::new();
    for (role, paths) in [
        (ArtifactRole::Firmware, &args.firmware),
        (ArtifactRole::Sbom, &args.sbom),
        (ArtifactRole::Attestation, &args.attestation),
        (ArtifactRole::Document, &args.document),
    ] {
        for path in paths {
            files.push(read(role, path)?);
        }
    }
    if files.is_empty() {
        anyhow::bail!(
            "nothing to assemble\n\nhint: give at least one `--firmware`, `--sbom`, `--attestation` or `--document`"
        );
    }
    let count = files.len();
    let assembled = shipment::assemble(args.name.as_deref(), files)?;
    if args.out.extension().is_some_and(|ext| ext == "tar") {
        let tar = assembled.to_tar()?;
        files::write(&args.out, tar).with_context(|| format!("writing {}", args.out.display()))?;
    } else {
        assembled.write_dir(&args.out)?;
    }
    output::status(&format!(
        "assembled {count} artifact(s) into {}",
        args.out.display()
    ));
    Ok(ExitStatus::Success)
}
