//! Known vulnerabilities, offline: a local database of NVD, OSV, CISA KEV and EPSS data, the
//! matching of an SBOM's components against it, VEX statements that change the result, and the
//! import check's decision.
//!
//! - [`document`] reads one input (NVD CVE 2.0 record or feed, OSV JSON/YAML record or list,
//!   the KEV catalogue, an EPSS CSV; plain, gzip, xz or zip) into normalised
//!   [`record::Advisory`]s, naming the file and JSON pointer of anything malformed; [`nvd`],
//!   [`osv`], [`kev`], [`epss`] are the per-format readers.
//! - [`db::Database`] stores them in one `SQLite` file; [`import::import_path`] brings a file or
//!   folder in, idempotently, recording each source's date and digest. These two modules are
//!   the only ones that touch the disk.
//! - [`version::Version`] orders the release styles firmware carries; [`cpe`] and [`purl`] read
//!   component identifiers; [`matching::evaluate`] applies NVD configurations and OSV ranges
//!   to [`matching::Target`]s read from a CycloneDX SBOM by [`sbom::targets`].
//! - [`vex`] reads OpenVEX, CycloneDX VEX and CSAF VEX into one statement model;
//!   [`report::Report`] applies them and renders a table, JSON, CycloneDX `vulnerabilities`
//!   and a stand-alone CycloneDX VEX document.
//! - [`assess::assess`] is the `vulnerabilities.known` decision (KEV, severity threshold);
//!   [`diff::diff`] says what an update fixed and introduced.
//!
//! ```
//! use consign_vuln::{db::Database, document, matching, sbom};
//!
//! let record = br#"{"id": "CVE-2009-0001", "lastModified": "2024-01-01T00:00:00.000",
//!   "configurations": [{"nodes": [{"operator": "OR", "negate": false, "cpeMatch": [
//!     {"vulnerable": true, "criteria": "cpe:2.3:a:busybox:busybox:*:*:*:*:*:*:*:*",
//!      "versionEndExcluding": "1.15.0"}]}]}]}"#;
//! let mut db = Database::in_memory()?;
//! let documents = document::read("CVE-2009-0001.json", record, &Default::default())?;
//! let source = consign_vuln::db::NewSource { name: "example", sha256: "00", imported_at: "2026-01-01T00:00:00Z" };
//! db.import(&source, [Ok(documents)])?;
//! let bom = br#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": "application",
//!   "bom-ref": "bb", "name": "busybox", "version": "1.14.1",
//!   "cpe": "cpe:2.3:a:busybox:busybox:1.14.1:*:*:*:*:*:*:*"}]}"#;
//! let targets = sbom::targets("fw.cdx.json", bom)?;
//! let found = matching::evaluate(&targets.targets, &db.knowledge_for(&targets.targets)?);
//! assert_eq!(found[0].id, "CVE-2009-0001");
//! assert_eq!(found[0].fix.as_deref(), Some("update to 1.15.0 or later"));
//! # Ok::<(), consign_vuln::VulnError>(())
//! ```

pub mod assess;
pub mod cpe;
pub mod cvss;
pub mod db;
pub mod diff;
pub mod document;
pub mod epss;
mod error;
pub mod import;
pub mod kev;
pub mod matching;
pub mod nvd;
pub mod osv;
pub mod purl;
pub mod record;
pub mod report;
pub mod sbom;
pub mod version;
pub mod vex;

use std::path::{Path, PathBuf};

pub use error::VulnError;

/// Matches an SBOM (`bytes`, read from `file`) against `db`, applying `statements`.
pub fn match_sbom(
    db: &db::Database,
    file: &str,
    bytes: &[u8],
    statements: &[vex::VexStatement],
) -> Result<(report::Report, sbom::SbomTargets), VulnError> {
    let targets = sbom::targets(file, bytes)?;
    let report = match_targets(db, file, &targets, statements)?;
    Ok((report, targets))
}

/// Matches targets already read (the verifier has the SBOM parsed).
pub fn match_targets(
    db: &db::Database,
    file: &str,
    targets: &sbom::SbomTargets,
    statements: &[vex::VexStatement],
) -> Result<report::Report, VulnError> {
    let knowledge = db.knowledge_for(&targets.targets)?;
    let findings = matching::evaluate(&targets.targets, &knowledge);
    Ok(report::Report::new(
        file,
        db.info()?,
        targets,
        findings,
        statements,
    ))
}

/// The default database: `$XDG_DATA_HOME/consign/vuln.db`, else
/// `$HOME/.local/share/consign/vuln.db`; `None` when neither variable is set.
pub fn default_database_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|home| Path::new(&home).join(".local/share"))
        })?;
    Some(base.join("consign").join("vuln.db"))
}

#[cfg(test)]
mod test_support;
