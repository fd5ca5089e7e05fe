//! `consign intoto ...`: in-toto v0.9 layouts and links, for teams that use in-toto today.
//!
//! `layout create` completes a template into a layout (and signs it when given keys),
//! `layout sign` adds signatures, `record` hashes a step's materials and products (running its
//! command only when one follows `--`) and writes the signed link, `verify` checks a layout with
//! its links. Inspections are never run unless `--run-inspections` is given.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use consign_attest::Signer;
use consign_attest::intoto::fs::{RunInspections, read_link_dir, record_artifacts, run_command};
use consign_attest::intoto::layout::UtcTime;
use consign_attest::intoto::record::{DEFAULT_EXCLUDES, link_for_step};
use consign_attest::intoto::{
    InspectionRunner, IntotoKey, Layout, Link, Metadata, MetadataKind, RefuseInspections,
    VerifyOptions, Wrapping, verify,
};

use super::key::{load_public_key, load_signer};
use crate::exit::ExitStatus;
use crate::files::{self, DOCUMENT, KEY, Output};
use crate::output;

/// Subcommands of `consign intoto`.
#[derive(Debug, Subcommand)]
pub(crate) enum IntotoCommand {
    /// Create or sign a layout.
    #[command(subcommand)]
    Layout(LayoutCommand),
    /// Record a step: hash materials, optionally run the command after `--`, hash products, sign the link.
    #[command(
        after_help = "Example:\n  consign intoto record --step package --key alice.key --materials foo.py \
        --products foo.py foo.tar.gz -- tar czf foo.tar.gz foo.py\n\n\
        Writes `package.<first 8 hex digits of the keyid>.link`. Without a command after `--`, \
        the link records the artifacts only. `--key` also takes a `pkcs11:` URI."
    )]
    Record(RecordArgs),
    /// Verify a layout with its links.
    #[command(
        after_help = "Example:\n  consign intoto verify --layout root.layout --layout-key owner.pub --links links/\n\n\
        Exit status: 0 verified, 1 verification failed, 2 an input could not be read.\n\
        Inspections in the layout are refused unless `--run-inspections` is given."
    )]
    Verify(IntotoVerifyArgs),
}

/// Subcommands of `consign intoto layout`.
#[derive(Debug, Subcommand)]
pub(crate) enum LayoutCommand {
    /// Complete a layout template (defaults, functionary keys) and sign it if keys are given.
    #[command(
        after_help = "Example:\n  consign intoto layout create --template layout.json --key owner.key --out root.layout\n\n\
        The template is the layout's JSON; `_type`s, `readme`, `keys`, `inspect`, a step's `threshold` (1) \
        and empty lists may be left out. A `pubkeys` entry that is not a keyid is read as a public key \
        file (SPKI PEM, relative to the template) and replaced by its keyid."
    )]
    Create(LayoutCreateArgs),
    /// Add signatures to a layout.
    #[command(
        after_help = "Example:\n  consign intoto layout sign --layout root.layout --key owner.key"
    )]
    Sign(LayoutSignArgs),
}

/// Arguments of `consign intoto layout create`.
#[derive(Debug, Args)]
pub(crate) struct LayoutCreateArgs {
    /// The layout template (JSON).
    #[arg(long)]
    pub(crate) template: PathBuf,
    /// Sign with these keys (PKCS#8 PEM files or `pkcs11:` URIs); none writes an unsigned layout.
    #[arg(long = "key")]
    pub(crate) keys: Vec<String>,
    /// Wrap in a DSSE envelope instead of a Metablock.
    #[arg(long)]
    pub(crate) dsse: bool,
    /// Where to write the layout.
    #[arg(long)]
    pub(crate) out: PathBuf,
}

/// Arguments of `consign intoto layout sign`.
#[derive(Debug, Args)]
pub(crate) struct LayoutSignArgs {
    /// The layout to sign.
    #[arg(long)]
    pub(crate) layout: PathBuf,
    /// Keys to sign with (PKCS#8 PEM files or `pkcs11:` URIs).
    #[arg(long = "key", required = true)]
    pub(crate) keys: Vec<String>,
    /// Where to write the signed layout (default: in place).
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
}

/// Arguments of `consign intoto record`.
#[derive(Debug, Args)]
pub(crate) struct RecordArgs {
    /// The step name, as in the layout.
    #[arg(long)]
    pub(crate) step: String,
    /// The functionary's signing key (PKCS#8 PEM file or `pkcs11:` URI).
    #[arg(long)]
    pub(crate) key: String,
    /// Files or directories hashed before the command.
    #[arg(long, num_args = 1..)]
    pub(crate) materials: Vec<String>,
    /// Files or directories hashed after the command.
    #[arg(long, num_args = 1..)]
    pub(crate) products: Vec<String>,
    /// Artifact paths are relative to this directory (the command runs there too).
    #[arg(long, default_value = ".")]
    pub(crate) base_dir: PathBuf,
    /// Leave out paths matching these patterns (default: the reference's `*.link*`, `.git`, `*.pyc`, `*~`).
    #[arg(long, num_args = 1..)]
    pub(crate) exclude: Option<Vec<String>>,
    /// Wrap the link in a DSSE envelope instead of a Metablock.
    #[arg(long)]
    pub(crate) dsse: bool,
    /// Directory to write the link file to.
    #[arg(long, default_value = ".")]
    pub(crate) out_dir: PathBuf,
    /// The command to run, after `--`; stdout, stderr and the exit code are recorded.
    #[arg(last = true)]
    pub(crate) command: Vec<String>,
}

/// Arguments of `consign intoto verify`.
#[derive(Debug, Args)]
pub(crate) struct IntotoVerifyArgs {
    /// The signed layout.
    #[arg(long)]
    pub(crate) layout: PathBuf,
    /// Public keys (SPKI PEM) of the layout owners; the layout must be signed by every one.
    #[arg(long = "layout-key", required = true)]
    pub(crate) layout_keys: Vec<PathBuf>,
    /// The directory holding the link files.
    #[arg(long, default_value = ".")]
    pub(crate) links: PathBuf,
    /// Check date: `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ` (UTC); default now.
    #[arg(long)]
    pub(crate) at: Option<String>,
    /// Run the layout's inspection commands (in the current directory). Off by default: consign
    /// does not run commands from a document unless asked.
    #[arg(long)]
    pub(crate) run_inspections: bool,
}

pub(crate) fn run(command: &IntotoCommand) -> anyhow::Result<ExitStatus> {
    match command {
        IntotoCommand::Layout(LayoutCommand::Create(args)) => layout_create(args),
        IntotoCommand::Layout(LayoutCommand::Sign(args)) => layout_sign(args),
        IntotoCommand::Record(args) => record(args),
        IntotoCommand::Verify(args) => verify_command(args),
    }
}

fn load_signers(specs: &[String]) -> anyhow::Result<Vec<Box<dyn Signer>>> {
    specs.iter().map(|spec| load_signer(spec)).collect()
}

fn write_metadata(metadata: &Metadata, path: &Path, output: Output) -> anyhow::Result<()> {
    output.write(path, &metadata.to_bytes()?)
}

fn layout_create(args: &LayoutCreateArgs) -> anyhow::Result<ExitStatus> {
    let text = files::read_to_string(&args.template, DOCUMENT)?;
    let template: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("reading the layout template {}", args.template.display()))?;
    let base = args.template.parent().unwrap_or(Path::new("."));
    let mut resolve = |entry: &str| {
        let path = base.join(entry);
        let pem = files::read_to_string(&path, KEY).map_err(|err| {
            consign_attest::AttestError::IntotoIo {
                action: "read the functionary key",
                path: path.display().to_string(),
                source: std::io::Error::other(format!("{err:#}")),
            }
        })?;
        Ok(IntotoKey::from_public_key(
            &consign_attest::PublicKey::from_pem(&pem)?,
        ))
    };
    let value = Layout::from_template(&template, &mut resolve)
        .with_context(|| format!("completing the layout template {}", args.template.display()))?;
    let signers = load_signers(&args.keys)?;
    let signer_refs: Vec<&dyn Signer> = signers.iter().map(AsRef::as_ref).collect();
    let wrapping = if args.dsse {
        Wrapping::Dsse
    } else {
        Wrapping::Metablock
    };
    let metadata = Metadata::sign(value, wrapping, &signer_refs)?;
    write_metadata(&metadata, &args.out, Output::FILE)?;
    output::status(&format!(
        "wrote {} ({} signature(s))",
        args.out.display(),
        metadata.signatures().len()
    ));
    Ok(ExitStatus::Success)
}

fn layout_sign(args: &LayoutSignArgs) -> anyhow::Result<ExitStatus> {
    let bytes = files::read(&args.layout, DOCUMENT)?;
    let mut metadata = Metadata::from_json(&bytes, "in-toto layout file")
        .with_context(|| format!("reading the layout {}", args.layout.display()))?;
    if metadata.kind() != MetadataKind::Layout {
        anyhow::bail!("{} holds a link, not a layout", args.layout.display());
    }
    Layout::from_value(metadata.signed())
        .with_context(|| format!("checking the layout {}", args.layout.display()))?;
    for signer in load_signers(&args.keys)? {
        metadata.add_signature(signer.as_ref())?;
    }
    let out = args.out.as_deref().unwrap_or(&args.layout);
    // Signing in place rewrites the layout on purpose; any other input stays untouched.
    let output = Output {
        may_replace_input: files::same_file(out, &args.layout),
        ..Output::FILE
    };
    write_metadata(&metadata, out, output)?;
    output::status(&format!(
        "wrote {} ({} signature(s))",
        out.display(),
        metadata.signatures().len()
    ));
    Ok(ExitStatus::Success)
}

fn record(args: &RecordArgs) -> anyhow::Result<ExitStatus> {
    let excludes: Vec<String> = args.exclude.clone().unwrap_or_else(|| {
        DEFAULT_EXCLUDES
            .iter()
            .map(|pattern| (*pattern).to_owned())
            .collect()
    });
    let signer = load_signer(&args.key)?;
    let materials = record_artifacts(&args.base_dir, &args.materials, &excludes)?;
    let byproducts = if args.command.is_empty() {
        None
    } else {
        Some(run_command(&args.command, &args.base_dir)?)
    };
    let products = record_artifacts(&args.base_dir, &args.products, &excludes)?;
    let link = link_for_step(
        &args.step,
        &args.command,
        materials,
        products,
        byproducts.as_ref(),
    );
    let wrapping = if args.dsse {
        Wrapping::Dsse
    } else {
        Wrapping::Metablock
    };
    let metadata = Metadata::sign(link.to_value(), wrapping, &[signer.as_ref()])?;
    let keyid = IntotoKey::from_public_key(&signer.public_key())
        .keyid()
        .to_owned();
    let path = args.out_dir.join(Link::file_name(&args.step, &keyid));
    write_metadata(&metadata, &path, Output::FILE)?;
    output::status(&format!("wrote {}", path.display()));
    match byproducts {
        Some(byproducts) if byproducts.return_value != 0 => {
            output::status(&format!(
                "the command exited with {}; the link records that",
                byproducts.return_value
            ));
            Ok(ExitStatus::Failure)
        }
        _ => Ok(ExitStatus::Success),
    }
}

/// Parses `--at`, or takes the current time.
fn check_date(at: Option<&str>) -> anyhow::Result<UtcTime> {
    match at {
        None => {
            let seconds = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .context("the system clock is before 1970")?
                .as_secs();
            Ok(UtcTime::from_unix_seconds(seconds))
        }
        Some(text) => {
            let full = if text.len() == 10 {
                format!("{text}T00:00:00Z")
            } else {
                text.to_owned()
            };
            UtcTime::parse(&full).map_err(|reason| {
                anyhow::anyhow!("`--at`: {reason}\n\nhint: give a date such as `2027-01-31` or `2027-01-31T12:00:00Z` (UTC)")
            })
        }
    }
}

fn verify_command(args: &IntotoVerifyArgs) -> anyhow::Result<ExitStatus> {
    let at = check_date(args.at.as_deref())?;
    let bytes = files::read(&args.layout, DOCUMENT)?;
    let layout = Metadata::from_json(&bytes, "in-toto layout file")
        .with_context(|| format!("reading the layout {}", args.layout.display()))?;
    let layout_keys = args
        .layout_keys
        .iter()
        .map(|path| load_public_key(path).map(|key| IntotoKey::from_public_key(&key)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let link_files = read_link_dir(&args.links)?;
    let runner: Box<dyn InspectionRunner> = if args.run_inspections {
        Box::new(RunInspections {
            base: PathBuf::from("."),
            excludes: DEFAULT_EXCLUDES
                .iter()
                .map(|pattern| (*pattern).to_owned())
                .collect(),
        })
    } else {
        Box::new(RefuseInspections)
    };
    let options = VerifyOptions {
        at,
        inspections: runner.as_ref(),
    };
    match verify(&layout, &layout_keys, &link_files, &options) {
        Ok(summary) => {
            for warning in &summary.warnings {
                output::status(&format!("warning: {warning}"));
            }
            for step in &summary.steps {
                output::verbose(&format!(
                    "step `{}`: signed by {}",
                    step.name,
                    step.keyids.join(", ")
                ));
            }
            output::status(&format!(
                "in-toto verification passed: {} step(s), {} inspection(s), layout expires {}",
                summary.steps.len(),
                summary.inspections.len(),
                summary.layout.expires
            ));
            Ok(ExitStatus::Success)
        }
        Err(err) => {
            output::error(&anyhow::Error::new(err).context("in-toto verification failed"));
            Ok(ExitStatus::Failure)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_dates() {
        assert_eq!(
            check_date(Some("2027-01-31")).unwrap().to_string(),
            "2027-01-31T00:00:00Z"
        );
        assert_eq!(
            check_date(Some("2027-01-31T12:00:00Z"))
                .unwrap()
                .to_string(),
            "2027-01-31T12:00:00Z"
        );
        assert!(check_date(Some("31/01/2027")).is_err());
        assert!(check_date(None).is_ok());
    }
}
