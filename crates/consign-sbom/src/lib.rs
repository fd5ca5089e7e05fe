//! CycloneDX 1.6/1.7, SPDX 2.3 and SPDX 3.0.1 SBOMs for consign: write them from detected components, validate
//! them against the official schemas offline, check them against regulators' profiles, and read
//! suppliers' SBOMs.
//!
//! - [`build`] turns the components detected in a product's firmware images ([`SbomInput`]) into a
//!   [`Bom`]; [`to_json`] writes it as CycloneDX 1.6 (default) or 1.7, [`to_spdx_json`] as SPDX 2.3,
//!   [`to_spdx3_json`] as SPDX 3.0.1 JSON-LD,
//!   [`scan_summary_table`] as a plain-text table. [`render`] does all of that from an
//!   [`OutputFormat`], for `consign scan --format`.
//! - [`validate_schema`] checks any CycloneDX 1.5-1.7 JSON against the vendored schema;
//!   [`check_profile`] checks it against BSI TR-03183-2 v2.1 or the NTIA minimum elements.
//! - [`supplier`] reads suppliers' CycloneDX 1.3-1.7 SBOMs and matches their components to the
//!   scanned ones by hash; [`SupplierLink`] links them from the product SBOM, or
//!   [`supplier::record`] nests them, and writes what matching found into the product SBOM as
//!   properties. Nothing is merged.
//! - [`parse_json`] reads untrusted SBOM bytes within [`ReadLimits`].
//! - [`diff`] compares two SBOMs of a product (added, removed, upgraded, downgraded, licence and
//!   same-version hash changes); [`licence_report`] groups components by distribution licence
//!   with the obligations of a firmware distributor.
//!
//! Nothing here does I/O, reads the clock or draws random numbers: the same input gives the same bytes.
//!
//! ```
//! use consign_model::Digests;
//! use consign_sbom::{
//!     ImageInput, MissingVersion, SbomInput, SpecVersion, Timestamp, build, to_json, validate_schema,
//! };
//!
//! let images = [ImageInput {
//!     name: "fw.img",
//!     digests: Digests::of(b"firmware bytes"),
//!     components: &[],
//!     version: Some("1.0"),
//!     supplier: None,
//! }];
//! let input = SbomInput {
//!     images: &images,
//!     product: None,
//!     serial_number: None,
//!     timestamp: Timestamp::from_unix_seconds(1_700_000_000).unwrap(),
//!     tool_name: "consign",
//!     tool_version: "0.1.0",
//!     supplier_boms: &[],
//!     missing_version: MissingVersion::Omit,
//! };
//! let json = to_json(&build(&input), SpecVersion::V1_6);
//! let value: serde_json::Value = serde_json::from_str(&json).unwrap();
//! assert!(validate_schema(&value).is_empty());
//! ```

pub mod cyclonedx;
mod diff;
mod error;
mod license;
mod obligations;
mod profile;
mod read;
mod schema;
mod spdx;
mod spdx3;
pub mod supplier;
mod table;
mod writer;

use std::fmt;
use std::str::FromStr;

pub use cyclonedx::Bom;
pub use diff::{Change, DiffComponent, SbomDiff, compare_versions, diff};
pub use error::SbomError;
pub use license::spdx_expression;
pub use obligations::{LicenceEntry, Obligation, licence_report};
pub use profile::{FactSource, Profile, ProfileGap, Requirement, check_profile};
pub use read::{ReadLimits, parse_json};
pub use schema::{MAX_ISSUES, SchemaIssue, validate_schema, validate_spdx_schema};
pub use spdx::to_spdx_json;
pub use spdx3::{SPDX3_CONTEXT, to_spdx3_json};
pub use table::scan_summary_table;
pub use writer::{
    CREATOR_SOURCE, FILE_MODIFIED, ImageInput, LICENCE_CONCLUDED_FROM, LICENCE_DECLARED,
    LICENCE_KNOWLEDGE_BASE, MissingVersion, SbomInput, SerialNumber, SpecVersion, SupplierLink,
    Timestamp, VERSION_SOURCE, bsi, build, derive_serial_number, to_json,
};

/// What `consign scan --format` writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OutputFormat {
    /// `cyclonedx-json` (1.6) or `cyclonedx-json@1.7`.
    CycloneDxJson(SpecVersion),
    /// `spdx-json` (SPDX 2.3).
    SpdxJson,
    /// `spdx3-json` (SPDX 3.0.1 JSON-LD).
    Spdx3Json,
    /// `table`: plain text for people.
    Table,
    /// The default: CycloneDX 1.6 JSON.
    #[default]
    Default,
}

impl FromStr for OutputFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "cyclonedx-json" | "cyclonedx-json@1.6" => Ok(Self::CycloneDxJson(SpecVersion::V1_6)),
            "cyclonedx-json@1.7" => Ok(Self::CycloneDxJson(SpecVersion::V1_7)),
            "spdx-json" => Ok(Self::SpdxJson),
            "spdx3-json" => Ok(Self::Spdx3Json),
            "table" => Ok(Self::Table),
            other => Err(format!(
                "unknown format `{}`; use `cyclonedx-json`, `cyclonedx-json@1.7`, `spdx-json`, `spdx3-json` or `table`",
                error::excerpt(other)
            )),
        }
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CycloneDxJson(SpecVersion::V1_7) => f.write_str("cyclonedx-json@1.7"),
            Self::CycloneDxJson(_) | Self::Default => f.write_str("cyclonedx-json"),
            Self::SpdxJson => f.write_str("spdx-json"),
            Self::Spdx3Json => f.write_str("spdx3-json"),
            Self::Table => f.write_str("table"),
        }
    }
}

/// Everything after detection, for `consign scan`: builds the BOM and renders it in `format`.
pub fn render(input: &SbomInput<'_>, format: OutputFormat) -> String {
    render_bom(&build(input), format)
}

/// Renders a BOM that [`build`] made (and [`supplier::record`] may have added to) in `format`.
pub fn render_bom(bom: &Bom, format: OutputFormat) -> String {
    match format {
        OutputFormat::CycloneDxJson(spec) => to_json(bom, spec),
        OutputFormat::Default => to_json(bom, SpecVersion::default()),
        OutputFormat::SpdxJson => to_spdx_json(bom),
        OutputFormat::Spdx3Json => to_spdx3_json(bom),
        OutputFormat::Table => scan_summary_table(bom),
    }
}
