//! `consign scan`: firmware images in, SBOM out (unpack, detect, write).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use consign_model::{Digests, ProductFile};
use consign_sbom::{ImageInput, OutputFormat, SbomInput, SerialNumber, Timestamp};

use crate::cli::LimitArgs;
use crate::exit::ExitStatus;
use crate::output;

/// Arguments of `consign scan`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  consign scan firmware.bin -o firmware.cdx.json
  consign scan soc.bin wifi-module.bin --product product.toml -o product.cdx.json
  consign scan firmware.bin --format table

The timestamp comes from --timestamp, else SOURCE_DATE_EPOCH, else the clock; the serial number from
--serial-number, else it is derived from the images and the product file, so the same inputs give
byte-identical SBOMs.")]
pub(crate) struct ScanArgs {
    /// The firmware images of one product (main SoC, Wi-Fi module, ...).
    #[arg(required = true)]
    pub(crate) images: Vec<PathBuf>,
    /// Write the SBOM here instead of stdout.
    #[arg(short, long)]
    pub(crate) output: Option<PathBuf>,
    /// `cyclonedx-json` (1.6), `cyclonedx-json@1.7`, `spdx-json` (SPDX 2.3) or `table`.
    #[arg(long, default_value = "cyclonedx-json", value_parser = parse_format)]
    pub(crate) format: OutputFormat,
    /// The manufacturer's product file (TOML): identity, support period, security contact.
    #[arg(long)]
    pub(crate) product: Option<PathBuf>,
    /// The SBOM's timestamp, as seconds since 1970 (overrides `SOURCE_DATE_EPOCH`).
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub(crate) timestamp: Option<i64>,
    /// The SBOM's serial number (`urn:uuid:...`).
    #[arg(long)]
    pub(crate) serial_number: Option<String>,
    #[command(flatten)]
    pub(crate) limits: LimitArgs,
}

fn parse_format(text: &str) -> Result<OutputFormat, String> {
    text.parse()
}

/// What scanning one image gave.
pub(crate) struct ScannedImage {
    pub(crate) name: String,
    pub(crate) digests: Digests,
    pub(crate) components: Vec<consign_model::Component>,
}

/// Unpacks and detects one image; reports diagnostics on stderr.
pub(crate) fn scan_image(
    path: &Path,
    limits: &consign_unpack::Limits,
) -> anyhow::Result<ScannedImage> {
    let data = fs_err::read(path).context("reading the firmware image")?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    let digests = Digests::of(&data);
    let unpacked = consign_unpack::unpack(&name, data.into(), limits);
    let detection = consign_detect::detect(&unpacked.vfs);
    let totals = &unpacked.report.totals;
    output::status(&format!(
        "{name}: {} files unpacked, {} components found",
        totals.files,
        detection.components.len()
    ));
    for diagnostic in unpacked
        .report
        .diagnostics()
        .into_iter()
        .chain(detection.diagnostics.iter())
    {
        output::verbose(&format!("  {diagnostic}"));
    }
    Ok(ScannedImage {
        name,
        digests,
        components: detection.components,
    })
}

/// The SBOM timestamp: the flag, else `SOURCE_DATE_EPOCH`, else now.
pub(crate) fn timestamp(flag: Option<i64>) -> anyhow::Result<Timestamp> {
    let seconds = match flag {
        Some(seconds) => seconds,
        None => match std::env::var("SOURCE_DATE_EPOCH") {
            Ok(text) => text.trim().parse().with_context(|| {
                format!("SOURCE_DATE_EPOCH=`{text}` is not a number of seconds")
            })?,
            Err(_) => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| {
                    i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
                }),
        },
    };
    Ok(Timestamp::from_unix_seconds(seconds)?)
}

pub(crate) fn load_product(path: &Path) -> anyhow::Result<ProductFile> {
    let text = fs_err::read_to_string(path).context("reading the product file")?;
    ProductFile::from_toml(&text).with_context(|| format!("in the product file {}", path.display()))
}

pub(crate) fn run(args: &ScanArgs) -> anyhow::Result<ExitStatus> {
    let limits = args.limits.limits();
    let product = args.product.as_deref().map(load_product).transpose()?;
    if let Some(product) = &product {
        for gap in product.gaps() {
            output::status(&format!("warning: product file: {gap}"));
        }
    }
    let scanned = args
        .images
        .iter()
        .map(|path| {
            scan_image(path, &limits).with_context(|| format!("scanning {}", path.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let images: Vec<ImageInput<'_>> = scanned
        .iter()
        .map(|image| ImageInput {
            name: &image.name,
            digests: image.digests,
            components: &image.components,
            version: None,
            supplier: None,
        })
        .collect();
    let serial_number = args
        .serial_number
        .as_deref()
        .map(str::parse::<SerialNumber>)
        .transpose()?;
    let input = SbomInput {
        images: &images,
        product: product.as_ref(),
        serial_number,
        timestamp: timestamp(args.timestamp)?,
        tool_name: "consign",
        tool_version: env!("CARGO_PKG_VERSION"),
        supplier_boms: &[],
    };
    let rendered = consign_sbom::render(&input, args.format);
    match &args.output {
        Some(path) => {
            fs_err::write(path, rendered.as_bytes()).context("writing the SBOM")?;
            output::status(&format!("wrote {}", path.display()));
        }
        None => output::data(&rendered),
    }
    Ok(ExitStatus::Success)
}
