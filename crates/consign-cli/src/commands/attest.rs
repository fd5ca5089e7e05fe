//! `consign attest ...` and `consign verify-attestation`: sign and check attestations.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use consign_attest::attest::{self as lib, Artifact};
use consign_attest::claims::{ComponentClaims, CustodyClaims, product_from_toml};
use consign_attest::{AttestError, Envelope, Signer, Statement, dsse};

use super::key::{load_public_key, load_signer, write_data};
use crate::exit::ExitStatus;
use crate::files::{self, ARTIFACT, Bound, DOCUMENT};
use crate::output;

/// Subcommands of `consign attest`.
#[derive(Debug, Subcommand)]
pub(crate) enum AttestCommand {
    /// Supplier: sign a component (identity, SHA-512, SBOM digest, support end, disclosure contact).
    #[command(
        after_help = "Example:\n  consign attest component --key supplier.key part.bin --sbom part.cdx.json --claims component.toml -o part.intoto.jsonl\n\n\
        The claims file is documented in fixtures/attest/claims/component.toml."
    )]
    Component(ComponentArgs),
    /// Manufacturer: sign the release (product claims, SBOM, provenance binding supplier materials).
    #[command(
        after_help = "Example:\n  consign attest release --key mfr.key fw.img --sbom fw.cdx.json --claims product.toml --materials supplier/part.intoto.jsonl -o fw.intoto.jsonl\n\n\
        Writes three envelopes, one a line: product claims, CycloneDX SBOM, SLSA provenance.\n\
        The claims file is the product file that also feeds `consign scan --product`."
    )]
    Release(ReleaseArgs),
    /// Distributor: sign custody of a lot, binding the upstream attestations by digest.
    #[command(
        after_help = "Example:\n  consign attest custody --key dist.key --lot lot.toml --upstream shipment/ -o lot.intoto.jsonl\n\n\
        Without firmware files, the subjects are those of the upstream attestations.\n\
        The lot file is documented in fixtures/attest/claims/lot.toml."
    )]
    Custody(CustodyArgs),
    /// Sign a CycloneDX SBOM about artifacts (predicate `https://cyclonedx.org/bom`).
    #[command(
        after_help = "Example:\n  consign attest sbom --key mfr.key fw.img --sbom fw.cdx.json -o fw.sbom.intoto.jsonl"
    )]
    Sbom(SbomArgs),
    /// Sign SLSA Provenance v1 for artifacts built from materials.
    #[command(
        after_help = "Example:\n  consign attest provenance --key mfr.key fw.img --builder-id https://ci.example.com/fw --materials src.tar.gz"
    )]
    Provenance(ProvenanceArgs),
    /// Manufacturer or supplier: sign a VEX document (OpenVEX 0.2, CSAF 2.0 VEX or CycloneDX VEX)
    /// about firmware.
    #[command(
        after_help = "Example:\n  consign attest vex --key mfr.key fw.img --vex fw.openvex.json -o fw.vex.intoto.jsonl\n\n\
        The predicate type is `https://openvex.dev/ns/v0.2.0` for OpenVEX, `https://cyclonedx.org/vex`\n\
        for CycloneDX VEX and `https://docs.oasis-open.org/csaf/csaf/v2.0` for CSAF 2.0 VEX (no type is\n\
        registered for CSAF: this is its specification's namespace); the subjects are the firmware files. Every statement is checked first\n\
        (`not_affected` needs a justification or an impact statement). `consign verify` applies the\n\
        statements of VEX signed by a key holding the manufacturer role to `vulnerabilities.known`."
    )]
    Vex(VexArgs),
}

/// Flags every `consign attest` subcommand takes.
#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The signing key: a PKCS#8 PEM file (`consign key generate`), or a `pkcs11:` URI.
    #[arg(long)]
    pub(crate) key: String,
    /// Write a Sigstore bundle v0.3 instead of `.intoto.jsonl` envelopes.
    #[arg(long)]
    pub(crate) bundle: bool,
    /// Write here instead of stdout. With `--bundle` and several attestations, a prefix:
    /// PREFIX.<kind>.sigstore.json.
    #[arg(short, long)]
    pub(crate) output: Option<PathBuf>,
}

/// Arguments of `consign attest component`.
#[derive(Debug, Args)]
pub(crate) struct ComponentArgs {
    #[command(flatten)]
    pub(crate) sign: SignArgs,
    /// The component file (firmware, library, module image).
    pub(crate) artifact: PathBuf,
    /// The supplier's claims file (TOML).
    #[arg(long)]
    pub(crate) claims: PathBuf,
    /// The component's CycloneDX SBOM (its digest is signed as evidence).
    #[arg(long)]
    pub(crate) sbom: Option<PathBuf>,
    /// The VEX document, when the claims say `statement = "vex"`.
    #[arg(long)]
    pub(crate) vex: Option<PathBuf>,
}

/// Arguments of `consign attest release`.
#[derive(Debug, Args)]
pub(crate) struct ReleaseArgs {
    #[command(flatten)]
    pub(crate) sign: SignArgs,
    /// The firmware images of the release.
    #[arg(required = true)]
    pub(crate) artifacts: Vec<PathBuf>,
    /// The release's CycloneDX SBOM.
    #[arg(long)]
    pub(crate) sbom: PathBuf,
    /// The product file (TOML), the same one `consign scan --product` reads.
    #[arg(long)]
    pub(crate) claims: PathBuf,
    /// Supplier attestations the release relies on (bound by digest).
    #[arg(long, num_args = 1..)]
    pub(crate) materials: Vec<PathBuf>,
    /// The VEX document describing vulnerability status at release.
    #[arg(long)]
    pub(crate) vex: Option<PathBuf>,
    /// Who built the release (a URI), written as the provenance builder.
    #[arg(
        long,
        default_value = "https://consign.dev/builder/manufacturer-release"
    )]
    pub(crate) builder_id: String,
}

/// Arguments of `consign attest custody`.
#[derive(Debug, Args)]
pub(crate) struct CustodyArgs {
    #[command(flatten)]
    pub(crate) sign: SignArgs,
    /// The lot file (TOML).
    #[arg(long)]
    pub(crate) lot: PathBuf,
    /// Upstream attestations relied on: files, or folders whose `*.jsonl` / `*.json` files are read.
    #[arg(long, num_args = 1.., required = true)]
    pub(crate) upstream: Vec<PathBuf>,
    /// Firmware files of the lot (default: the subjects of the upstream attestations).
    pub(crate) artifacts: Vec<PathBuf>,
}

/// Arguments of `consign attest sbom`.
#[derive(Debug, Args)]
pub(crate) struct SbomArgs {
    #[command(flatten)]
    pub(crate) sign: SignArgs,
    /// The artifacts the SBOM describes.
    #[arg(required = true)]
    pub(crate) artifacts: Vec<PathBuf>,
    /// The CycloneDX SBOM (JSON).
    #[arg(long)]
    pub(crate) sbom: PathBuf,
}

/// Arguments of `consign attest provenance`.
#[derive(Debug, Args)]
pub(crate) struct ProvenanceArgs {
    #[command(flatten)]
    pub(crate) sign: SignArgs,
    /// The artifacts built.
    #[arg(required = true)]
    pub(crate) artifacts: Vec<PathBuf>,
    /// Who built them (a URI).
    #[arg(long)]
    pub(crate) builder_id: String,
    /// The materials they were built from.
    #[arg(long, num_args = 1..)]
    pub(crate) materials: Vec<PathBuf>,
}

/// Arguments of `consign attest vex`.
#[derive(Debug, Args)]
pub(crate) struct VexArgs {
    #[command(flatten)]
    pub(crate) sign: SignArgs,
    /// The firmware files the statements are about.
    #[arg(required = true)]
    pub(crate) artifacts: Vec<PathBuf>,
    /// The VEX document: OpenVEX 0.2, CSAF 2.0 VEX or CycloneDX VEX (JSON).
    #[arg(long)]
    pub(crate) vex: PathBuf,
}

/// Arguments of `consign verify-attestation`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  consign verify-attestation fw.img --attestation fw.intoto.jsonl --key mfr.pub\n\n\
    Exit codes: 0 every envelope verified and names the artifact; 1 a bad signature, an untrusted key,\n\
    a subject mismatch or an unknown predicate; 2 a file that cannot be read or parsed."
)]
pub(crate) struct VerifyAttestationArgs {
    /// The artifact the attestation should be about.
    pub(crate) artifact: PathBuf,
    /// The envelope (`.intoto.jsonl`, `.dsse.json`) or Sigstore bundle.
    #[arg(long)]
    pub(crate) attestation: PathBuf,
    /// The trusted public key(s) (SPKI PEM); repeat for several.
    #[arg(long, required = true)]
    pub(crate) key: Vec<PathBuf>,
}

/// A file read into memory, with its file name for the statement.
struct Loaded {
    name: String,
    data: Vec<u8>,
}

impl Loaded {
    fn read(path: &Path, bound: Bound) -> anyhow::Result<Self> {
        let data = files::read(path, bound)?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Ok(Self { name, data })
    }

    fn artifact(&self) -> Artifact<'_> {
        Artifact {
            name: &self.name,
            data: &self.data,
        }
    }
}

fn read_all(paths: &[PathBuf], bound: Bound) -> anyhow::Result<Vec<Loaded>> {
    paths.iter().map(|p| Loaded::read(p, bound)).collect()
}

fn read_optional(path: Option<&PathBuf>) -> anyhow::Result<Option<Loaded>> {
    path.map(|p| Loaded::read(p, DOCUMENT)).transpose()
}

/// Expands folders into their attestation files (`*.jsonl`, `*.json`), sorted by name.
fn expand_upstream(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = fs_err::read_dir(path)?
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|p| {
                    p.is_file()
                        && p.extension()
                            .is_some_and(|ext| ext == "jsonl" || ext == "json")
                })
                .collect();
            found.sort();
            if found.is_empty() {
                anyhow::bail!(
                    "no attestation files (`*.jsonl`, `*.json`) in {}",
                    path.display()
                );
            }
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

fn emit(
    sign: &SignArgs,
    signer: &dyn Signer,
    statements: &[(&str, Statement)],
) -> anyhow::Result<()> {
    if sign.bundle {
        if statements.len() == 1 {
            let (_, statement) = &statements[0];
            let bundle = lib::sign_statement_bundle(statement, signer)?;
            write_data(sign.output.as_deref(), &(bundle.to_json() + "\n"))?;
        } else {
            let prefix = sign.output.as_ref().context(
                "several attestations as bundles need `-o PREFIX` (writes PREFIX.<kind>.sigstore.json)",
            )?;
            for (kind, statement) in statements {
                let bundle = lib::sign_statement_bundle(statement, signer)?;
                let mut name = prefix.as_os_str().to_owned();
                name.push(format!(".{kind}.sigstore.json"));
                let path = PathBuf::from(name);
                files::write(&path, bundle.to_json() + "\n")?;
                output::status(&format!("wrote {}", path.display()));
            }
        }
    } else {
        let envelopes: Vec<Envelope> = statements
            .iter()
            .map(|(_, statement)| lib::sign_statement(statement, &[signer]))
            .collect::<Result<_, _>>()?;
        write_data(sign.output.as_deref(), &dsse::to_jsonl(&envelopes))?;
    }
    let public = signer.public_key();
    output::status(&format!(
        "signed {} attestation(s) with {} key {}",
        statements.len(),
        public.algorithm(),
        public.keyid()
    ));
    Ok(())
}

pub(crate) fn run(command: &AttestCommand) -> anyhow::Result<ExitStatus> {
    match command {
        AttestCommand::Component(args) => {
            let claims_text = files::read_to_string(&args.claims, DOCUMENT)?;
            let claims = ComponentClaims::from_toml(&claims_text)
                .with_context(|| format!("checking the claims file {}", args.claims.display()))?;
            let artifact = Loaded::read(&args.artifact, ARTIFACT)?;
            let sbom = read_optional(args.sbom.as_ref())?;
            let vex = read_optional(args.vex.as_ref())?;
            let statement = lib::component_statement(
                artifact.artifact(),
                &claims,
                sbom.as_ref().map(Loaded::artifact),
                vex.as_ref().map(Loaded::artifact),
            )?;
            let signer = load_signer(&args.sign.key)?;
            emit(&args.sign, signer.as_ref(), &[("component", statement)])?;
        }
        AttestCommand::Release(args) => {
            let product_text = files::read_to_string(&args.claims, DOCUMENT)?;
            let product = product_from_toml(&product_text)
                .with_context(|| format!("checking the product file {}", args.claims.display()))?;
            let firmware = read_all(&args.artifacts, ARTIFACT)?;
            let firmware: Vec<Artifact<'_>> = firmware.iter().map(Loaded::artifact).collect();
            let sbom = Loaded::read(&args.sbom, DOCUMENT)?;
            let vex = read_optional(args.vex.as_ref())?;
            let materials = read_all(&args.materials, DOCUMENT)?;
            let materials: Vec<Artifact<'_>> = materials.iter().map(Loaded::artifact).collect();
            let product_st = lib::product_statement(
                &firmware,
                &product,
                sbom.artifact(),
                vex.as_ref().map(Loaded::artifact),
                &materials,
            )?;
            let sbom_st = lib::sbom_statement(&firmware, &sbom.data)
                .with_context(|| format!("reading the SBOM {}", args.sbom.display()))?;
            let mut all_materials = materials.clone();
            all_materials.push(sbom.artifact());
            let provenance_st =
                lib::provenance_statement(&firmware, &args.builder_id, &all_materials)?;
            let signer = load_signer(&args.sign.key)?;
            emit(
                &args.sign,
                signer.as_ref(),
                &[
                    ("product", product_st),
                    ("sbom", sbom_st),
                    ("provenance", provenance_st),
                ],
            )?;
        }
        AttestCommand::Custody(args) => {
            let lot_text = files::read_to_string(&args.lot, DOCUMENT)?;
            let claims = CustodyClaims::from_toml(&lot_text)
                .with_context(|| format!("checking the lot file {}", args.lot.display()))?;
            let upstream = read_all(&expand_upstream(&args.upstream)?, DOCUMENT)?;
            let upstream: Vec<Artifact<'_>> = upstream.iter().map(Loaded::artifact).collect();
            let statement = if args.artifacts.is_empty() {
                let subjects = lib::upstream_subjects(&upstream)
                    .context("reading the subjects of the upstream attestations")?;
                lib::custody_statement_for_subjects(subjects, &claims, &upstream)?
            } else {
                let firmware = read_all(&args.artifacts, ARTIFACT)?;
                let firmware: Vec<Artifact<'_>> = firmware.iter().map(Loaded::artifact).collect();
                lib::custody_statement(&firmware, &claims, &upstream)?
            };
            let signer = load_signer(&args.sign.key)?;
            emit(&args.sign, signer.as_ref(), &[("custody", statement)])?;
        }
        AttestCommand::Sbom(args) => {
            let artifacts = read_all(&args.artifacts, ARTIFACT)?;
            let artifacts: Vec<Artifact<'_>> = artifacts.iter().map(Loaded::artifact).collect();
            let sbom = files::read(&args.sbom, DOCUMENT)?;
            let statement = lib::sbom_statement(&artifacts, &sbom)
                .with_context(|| format!("reading the SBOM {}", args.sbom.display()))?;
            let signer = load_signer(&args.sign.key)?;
            emit(&args.sign, signer.as_ref(), &[("sbom", statement)])?;
        }
        AttestCommand::Vex(args) => {
            let artifacts = read_all(&args.artifacts, ARTIFACT)?;
            let artifacts: Vec<Artifact<'_>> = artifacts.iter().map(Loaded::artifact).collect();
            let vex = files::read(&args.vex, DOCUMENT)?;
            let shown = args.vex.display().to_string();
            let document = consign_vuln::vex::parse(&shown, &vex)?;
            let statement = lib::vex_statement(&artifacts, &vex)
                .with_context(|| format!("reading the VEX document {shown}"))?;
            output::status(&format!(
                "{shown}: {} statements about {} file(s)",
                document.statements.len(),
                artifacts.len()
            ));
            let signer = load_signer(&args.sign.key)?;
            emit(&args.sign, signer.as_ref(), &[("vex", statement)])?;
        }
        AttestCommand::Provenance(args) => {
            let artifacts = read_all(&args.artifacts, ARTIFACT)?;
            let artifacts: Vec<Artifact<'_>> = artifacts.iter().map(Loaded::artifact).collect();
            // Materials of a build: sources, toolchains, whatever went in.
            let materials = read_all(&args.materials, ARTIFACT)?;
            let materials: Vec<Artifact<'_>> = materials.iter().map(Loaded::artifact).collect();
            let statement = lib::provenance_statement(&artifacts, &args.builder_id, &materials)?;
            let signer = load_signer(&args.sign.key)?;
            emit(&args.sign, signer.as_ref(), &[("provenance", statement)])?;
        }
    }
    Ok(ExitStatus::Success)
}

/// True when the error means "the check ran and found a problem" (exit 1), not "cannot read" (2).
fn is_rejection(err: &AttestError) -> bool {
    matches!(
        err,
        AttestError::BadSignature { .. }
            | AttestError::ThresholdNotMet { .. }
            | AttestError::SubjectMismatch { .. }
            | AttestError::UnknownPredicate { .. }
            | AttestError::Field { .. }
    )
}

pub(crate) fn verify(args: &VerifyAttestationArgs) -> anyhow::Result<ExitStatus> {
    let artifact = files::read(&args.artifact, ARTIFACT)?;
    let document = files::read(&args.attestation, DOCUMENT)?;
    let keys = args
        .key
        .iter()
        .map(|path| load_public_key(path))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // Parse first: an unreadable document is exit 2.
    let envelopes = lib::read_envelopes(&document)
        .with_context(|| format!("reading {}", args.attestation.display()))?;
    if envelopes.is_empty() {
        anyhow::bail!("{} holds no envelope", args.attestation.display());
    }
    let mut status = ExitStatus::Success;
    for (idx, envelope) in envelopes.iter().enumerate() {
        match lib::verify_envelope(envelope, &artifact, &keys) {
            Ok(verified) => output::status(&format!(
                "verified: envelope {} `{}` about `{}` signed by {}",
                idx + 1,
                verified.statement.predicate_type,
                verified.subject.name,
                verified
                    .signed_by
                    .iter()
                    .map(consign_attest::PublicKey::keyid)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Err(err) if is_rejection(&err) => {
                output::status(&format!("rejected: envelope {}: {err}", idx + 1));
                status = ExitStatus::Failure;
            }
            Err(err) => {
                return Err(anyhow::Error::new(err).context(format!(
                    "envelope {} of {}",
                    idx + 1,
                    args.attestation.display()
                )));
            }
        }
    }
    Ok(status)
}
