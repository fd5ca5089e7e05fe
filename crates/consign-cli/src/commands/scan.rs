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
every fix, so keep the default for SBOMs that feed vulnerability management.

When a limit, the deadline, an unsupported feature or a refused construction kept part of an image
from being read, stderr says INCOMPLETE and lists what was not read, the SBOM still gets written, its
firmware component moves to a `compositions` entry of aggregate `incomplete` with one
`consign:unpack:cut` property per part not read, and the exit code is 1.")]
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
    /// Match the components against the local vulnerability database and add CycloneDX
    /// `vulnerabilities` to the SBOM (see `consign vuln match`).
    #[arg(long)]
    pub(crate) vulns: bool,
    /// The vulnerability database for `--vulns` (default: `$XDG_DATA_HOME/consign/vuln.db`).
    #[arg(long, value_name = "FILE", requires = "vulns")]
    pub(crate) vuln_db: Option<PathBuf>,
    /// Also audit the images for secure defaults (as `consign audit` does) and write the findings
    /// as JSON to FILE; the SBOM's metadata gets `consign:audit:*` properties that name the report,
    /// pin its SHA-256 and count the findings of each image.
    #[arg(long, value_name = "FILE")]
    pub(crate) audit: Option<PathBuf>,
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
    /// What unpacking did not read; empty when the image was read in full.
    pub(crate) cuts: Vec<consign_model::Cut>,
    /// The secure-defaults audit, when asked for.
    pub(crate) audit: Option<consign_audit::Audit>,
}

/// Unpacks and detects one image; reports diagnostics on stderr.
pub(crate) fn scan_image(
    path: &Path,
    limits: &consign_unpack::Limits,
    audit_at: Option<consign_model::Date>,
) -> anyhow::Result<ScannedImage> {
    let data = files::read(path, Bound::firmware(limits)).context("reading the firmware image")?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    // The image's own digests and its unpacking read the same bytes independently: one core
    // hashes while the other starts unpacking. Each file is analysed for detection as soon as it
    // is unpacked, so a long serial decode never leaves a core idle.
    let data: bytes::Bytes = data.into();
    let prepared = consign_detect::Prepared::default();
    let (digests, mut unpacked) = std::thread::scope(|scope| {
        let digests = scope.spawn(|| Digests::of(&data));
        let budget = consign_unpack::Budget::new(*limits);
        let unpacked = consign_unpack::unpack_visiting(&name, data.clone(), &budget, &|node| {
            prepared.analyse(node);
        });
        let digests = digests
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (digests, unpacked)
    });
    let mut detection = consign_detect::detect_prepared(&unpacked.vfs, prepared);
    let totals = &unpacked.report.totals;
    // A file detection left partly unread is a cut like an unpacking one: the scan is incomplete.
    let mut cuts = std::mem::take(&mut unpacked.report.incomplete);
    cuts.append(&mut detection.cuts);
    let incomplete = if cuts.is_empty() {
        String::new()
    } else {
        format!(", INCOMPLETE: {} part(s) not read", cuts.len())
    };
    output::status(&format!(
        "{name}: {} files unpacked, {} components found{incomplete}",
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
    let audit = audit_at.map(|date| {
        consign_audit::audit(
            &unpacked.vfs,
            &consign_audit::Options {
                date: Some(date),
                ..consign_audit::Options::default()
            },
        )
    });
    Ok(ScannedImage {
        name,
        digests,
        components: detection.components,
        cuts,
        audit,
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

/// `--vulns`: matches the scanned components against the database, writes the findings into
/// the SBOM's `vulnerabilities`, and returns the table `--format table` shows.
fn add_vulnerabilities(bom: &mut consign_sbom::Bom, args: &ScanArgs) -> anyhow::Result<String> {
    if args.format == OutputFormat::SpdxJson {
        anyhow::bail!(
            "`--vulns` writes CycloneDX `vulnerabilities`, which SPDX 2.3 has no place for\n\nhint: use `--format cyclonedx-json`, or run `consign vuln match` on a CycloneDX SBOM"
        );
    }
    let path = super::vuln::resolve_db(args.vuln_db.as_deref())?;
    let db = consign_vuln::db::Database::open(&path)?;
    let value = serde_json::to_value(&*bom)?;
    let targets = consign_vuln::sbom::targets_of("the scanned SBOM", &value)?;
    let report = consign_vuln::match_targets(&db, "the scanned SBOM", &targets, &[])?;
    bom.vulnerabilities = consign_vuln::report::cyclonedx_vulnerabilities(&report);
    output::status(&format!(
        "{} known vulnerabilities ({} KEV-listed) in {} components; {} records may apply to components of unknown release (database {})",
        report.findings.len(),
        report
            .findings
            .iter()
            .filter(|a| a.finding.kev.is_some())
            .count(),
        report.components,
        report.unknown.len(),
        path.display()
    ));
    Ok(report.to_table())
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
    if let Some(path) = &args.audit {
        Output::FILE.check(path)?;
    }
    let limits = args.limits.limits();
    let audit_at = args
        .audit
        .as_ref()
        .map(|_| super::audit::audit_date(None))
        .transpose()?;
    let product = args.product.as_deref().map(load_product).transpose()?;
    if let Some(product) = &product {
        for gap in product.gaps() {
            output::status(&format!("warning: product file: {gap}"));
        }
    }
    // Compiling the signatures and loading the name index are start-up that does not depend on
    // the image: they run while the first image is read and unpacked (detection waits for them
    // if they are not done), each on a thread of its own, so that a small image waits for the
    // longer of the two, not for both.
    drop(std::thread::spawn(consign_detect::check_signatures));
    drop(std::thread::spawn(|| consign_detect::name_index().len()));
    let scanned = args
        .images
        .iter()
        .map(|path| {
            scan_image(path, &limits, audit_at)
                .with_context(|| format!("scanning {}", path.display()))
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
    let mut status = ExitStatus::Success;
    for (index, image) in scanned.iter().enumerate() {
        consign_sbom::record_incomplete(&mut bom, index, &image.cuts);
        if super::unpack::incomplete_status(&image.name, &image.cuts) != ExitStatus::Success {
            status = ExitStatus::Failure;
        }
    }
    if let Some(path) = &args.audit {
        write_audit(path, &scanned, &mut bom)?;
    }
    let vuln_table = if args.vulns {
        Some(add_vulnerabilities(&mut bom, args)?)
    } else {
        None
    };
    let mut rendered = consign_sbom::render_bom(&bom, args.format);
    if let Some(table) = vuln_table.filter(|_| args.format == OutputFormat::Table) {
        rendered.push('\n');
        rendered.push_str(&table);
    }
    match &args.output {
        Some(path) => {
            files::write(path, rendered).context("writing the SBOM")?;
            output::status(&format!("wrote {}", path.display()));
        }
        None => output::data(&rendered),
    }
    Ok(status)
}

/// Writes the audit report of `scan --audit` and records it in the SBOM's metadata properties.
fn write_audit(
    path: &Path,
    scanned: &[ScannedImage],
    bom: &mut consign_sbom::Bom,
) -> anyhow::Result<()> {
    let images: Vec<serde_json::Value> = scanned
        .iter()
        .filter_map(|image| {
            let audit = image.audit.as_ref()?;
            Some(serde_json::json!({ "image": image.name, "audit": audit }))
        })
        .collect();
    let report = serde_json::to_string_pretty(&serde_json::json!({ "images": images }))?;
    let digest = Digests::of(report.as_bytes());
    files::write(path, &report).context("writing the audit report")?;
    output::status(&format!("wrote {}", path.display()));
    let property = |name: &str, value: String| consign_sbom::cyclonedx::Property {
        name: name.to_owned(),
        value: Some(value),
    };
    let metadata = bom.metadata.get_or_insert_with(Default::default);
    let file_name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    metadata
        .properties
        .push(property("consign:audit:report", file_name));
    metadata.properties.push(property(
        "consign:audit:report:sha256",
        digest.sha256.to_hex(),
    ));
    for image in scanned {
        if let Some(audit) = &image.audit {
            output::status(&format!(
                "{}: audit: {}",
                image.name,
                consign_audit::report::counts(audit)
            ));
            metadata.properties.push(property(
                "consign:audit:findings",
                format!("{}: {}", image.name, consign_audit::report::counts(audit)),
            ));
        }
    }
    Ok(())
}
