//! `consign scan`: firmware images in, SBOM out (unpack, detect, write).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use consign_model::{Digests, ProductFile};
use consign_sbom::supplier::{
    MatchReport, SupplierBom, SupplierMode, match_components, read_supplier_bom, record,
};
use consign_sbom::{
    ImageInput, MissingVersion, OutputFormat, Profile, ReadLimits, SbomInput, SerialNumber,
    SupplierLink, Timestamp,
};

use crate::cli::LimitArgs;
use crate::exit::ExitStatus;
use crate::files::{self, Bound, DOCUMENT, Output};
use crate::output;

/// Arguments of `consign scan`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  consign scan firmware.bin -o firmware.cdx.json
  consign scan soc.bin wifi-module.bin --product product.toml -o product.cdx.json
  consign scan firmware.bin --format table
  consign scan firmware.bin --supplier-sbom wifi-module.cdx.json -o firmware.cdx.json
  consign scan soc.bin wifi.bin --supplier-sbom wifi.cdx.json --supplier-sbom-mode nest -o product.cdx.json

The timestamp comes from --timestamp, else SOURCE_DATE_EPOCH, else the clock; the serial number from
--serial-number, else it is derived from the images and the product file, so the same inputs give
byte-identical SBOMs.

A supplier SBOM (CycloneDX 1.3 to 1.7 JSON) is never merged into the scan. With
--supplier-sbom-mode link (the default) the product SBOM refers to it by an external reference of type
`bom` (its BOM-Link when it has a serial number, else its file name), pinned by its SHA-512 and SHA-256.
With nest, the product SBOM gets one component for the supplied part that holds the supplier's
components, each marked `consign:supplier-sbom:source`, with a composition of its own. Either way the
supplier's components are matched to the scanned ones by SHA-512 or SHA-256: scanned components get a
`consign:supplier-sbom:match` property (same name and version) or `consign:supplier-sbom:conflict`
(same hash, another name or version), the SBOM a `consign:supplier-sbom:summary`, and stderr says
which matched, which conflict and which matched nothing.

A component whose binaries state no release gets no `version` (--missing-version omit, the default),
the property `consign:version-source` = `none` and, when its container (squashfs, ext, jffs2, UBIFS,
YAFFS2, tar, cpio, zip, gzip) records one, its file's modification date in `consign:file-modified`.
--missing-version file-date writes that date as the `version` instead, as BSI TR-03183-2 section 5.2.2
asks when no version exists; vulnerability matchers may then read the date as a release newer than
every fix, so keep the default for SBOMs that feed vulnerability management.")]
pub(crate) struct ScanArgs {
    /// The firmware images of one product (main SoC, Wi-Fi module, ...).
    #[arg(required = true)]
    pub(crate) images: Vec<PathBuf>,
    /// Write the SBOM here instead of stdout.
    #[arg(short, long)]
    pub(crate) output: Option<PathBuf>,
    /// `cyclonedx-json` (1.6), `cyclonedx-json@1.7`, `spdx-json` (SPDX 2.3), `spdx3-json` (SPDX
    /// 3.0.1 JSON-LD) or `table`.
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
    /// A supplier's CycloneDX SBOM to link (or nest) and match by hash (repeatable).
    #[arg(long, value_name = "FILE")]
    pub(crate) supplier_sbom: Vec<PathBuf>,
    /// How supplier SBOMs enter the product SBOM: `link` (external reference) or `nest`.
    #[arg(long, value_name = "MODE", default_value = "link", value_parser = parse_mode)]
    pub(crate) supplier_sbom_mode: SupplierMode,
    /// `version` of a component whose binaries state no release: `omit` or `file-date`.
    #[arg(long, value_name = "WHAT", default_value = "omit", value_parser = parse_missing_version)]
    pub(crate) missing_version: MissingVersion,
    #[command(flatten)]
    pub(crate) limits: LimitArgs,
}

fn parse_format(text: &str) -> Result<OutputFormat, String> {
    text.parse()
}

fn parse_mode(text: &str) -> Result<SupplierMode, String> {
    text.parse()
}

fn parse_missing_version(text: &str) -> Result<MissingVersion, String> {
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
    let data = files::read(path, Bound::firmware(limits)).context("reading the firmware image")?;
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

/// A supplier SBOM read from a file, and how the product SBOM links it.
struct SupplierFile {
    name: String,
    bom: SupplierBom,
    link: SupplierLink,
    /// How many BSI TR-03183-2 gaps the supplier's document has itself.
    bsi_gaps: usize,
}

fn load_supplier_sbom(path: &Path) -> anyhow::Result<SupplierFile> {
    let bytes = files::read(path, DOCUMENT)?;
    let json = consign_sbom::parse_json(&bytes, &ReadLimits::default())?;
    let bom = read_supplier_bom(&json)?;
    let bsi_gaps = consign_sbom::check_profile(&json, Profile::BsiTr031832).len();
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    let subject = bom.subject.as_deref().unwrap_or("a supplied part");
    let link = SupplierLink {
        // The BOM-Link names the document whatever file it travels in; without a serial number
        // the file name is all there is, and the digests pin the content either way.
        url: bom.bom_link().unwrap_or_else(|| name.clone()),
        digests: Some(Digests::of(&bytes)),
        comment: Some(format!(
            "supplier SBOM of {subject} (CycloneDX {}, {} components), not merged",
            bom.spec_version,
            bom.components.len()
        )),
    };
    Ok(SupplierFile {
        name,
        bom,
        link,
        bsi_gaps,
    })
}

/// Says on stderr what matched; a hash match under another name or version is a warning,
/// because one of the two documents is wrong and consign does not guess which.
fn report_matches(supplier: &SupplierFile, report: &MatchReport, mode: SupplierMode) {
    output::status(&format!(
        "supplier SBOM {} ({mode}): {}",
        supplier.name,
        report.summary(supplier.bom.components.len())
    ));
    for hit in &report.matched {
        if hit.same_name_and_version {
            output::verbose(&format!(
                "  {} (`{}`) is scanned component `{}` ({})",
                hit.supplier_pointer, hit.supplier_label, hit.scanned_ref, hit.algorithm
            ));
        } else {
            output::status(&format!(
                "warning: {} {} (`{}`) has the {} of scanned component `{}`, which the scan names differently; not merged: check which is right",
                supplier.name,
                hit.supplier_pointer,
                hit.supplier_label,
                hit.algorithm,
                hit.scanned_ref
            ));
        }
    }
    for pointer in &report.supplier_unmatched {
        output::verbose(&format!("  {pointer} matches no scanned file"));
    }
    if supplier.bsi_gaps > 0 && mode == SupplierMode::Link {
        // TR-03183-2 section 5.1 lets a product SBOM link a component's SBOM instead of merging
        // it only when that SBOM complies itself.
        output::status(&format!(
            "warning: supplier SBOM {} has {} BSI TR-03183-2 gap(s) of its own; TR-03183-2 5.1 allows linking only a compliant SBOM (see `consign sbom validate {} --profile bsi-tr-03183-2`)",
            supplier.name, supplier.bsi_gaps, supplier.name
        ));
    }
}

pub(crate) fn load_product(path: &Path) -> anyhow::Result<ProductFile> {
    let text = files::read_to_string(path, DOCUMENT).context("reading the product file")?;
    ProductFile::from_toml(&text).with_context(|| format!("in the product file {}", path.display()))
}

pub(crate) fn run(args: &ScanArgs) -> anyhow::Result<ExitStatus> {
    // Refused before the work, not after: `-o` naming an image, a device or a folder.
    files::note_inputs(
        args.images
            .iter()
            .chain(&args.supplier_sbom)
            .chain(&args.product),
    );
    if let Some(path) = &args.output {
        Output::FILE.check(path)?;
    }
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
    let suppliers = args
        .supplier_sbom
        .iter()
        .map(|path| {
            load_supplier_sbom(path)
                .with_context(|| format!("in the supplier SBOM {}", path.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mode = args.supplier_sbom_mode;
    // In link mode the product SBOM refers to each document from its top level; in nest mode
    // the reference sits on the component that holds the supplier's components.
    let links: Vec<SupplierLink> = match mode {
        SupplierMode::Link => suppliers.iter().map(|s| s.link.clone()).collect(),
        SupplierMode::Nest => Vec::new(),
    };
    let input = SbomInput {
        images: &images,
        product: product.as_ref(),
        serial_number,
        timestamp: timestamp(args.timestamp)?,
        tool_name: "consign",
        tool_version: env!("CARGO_PKG_VERSION"),
        supplier_boms: &links,
        missing_version: args.missing_version,
    };
    let mut bom = consign_sbom::build(&input);
    // Every supplier is matched against the scan alone, before anything is nested, so one
    // supplier's components can never match another's.
    let reports: Vec<MatchReport> = suppliers
        .iter()
        .map(|supplier| match_components(&supplier.bom, &bom))
        .collect();
    for (supplier, report) in suppliers.iter().zip(&reports) {
        report_matches(supplier, report, mode);
        record(&mut bom, &supplier.bom, &supplier.link, report, mode);
    }
    let rendered = consign_sbom::render_bom(&bom, args.format);
    match &args.output {
        Some(path) => {
            files::write(path, rendered).context("writing the SBOM")?;
            output::status(&format!("wrote {}", path.display()));
        }
        None => output::data(&rendered),
    }
    Ok(ExitStatus::Success)
}
