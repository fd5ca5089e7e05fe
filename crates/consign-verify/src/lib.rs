//! Verifies a shipment at import or retail: offline, fail closed, against a policy and a trust
//! store, with a verdict a person can act on and a ledger that keeps it.
//!
//! - [`shipment`]: the shipment format (a folder with `shipment.json`, or a plain tar of it),
//!   [`shipment::assemble`] and [`shipment::load`]; the only file-system code besides the ledger.
//! - [`TrustStore`]: parties, roles, keys and their validity periods (TOML).
//! - [`Policy`]: which checks run, how much each weighs and which requirement it answers; the
//!   built-in profiles `eu-cra-import` and `uk-psti-retail` and user files that extend them.
//! - [`evidence`]: what a shipment says once read, through three seams (signatures, SBOMs,
//!   re-scan) so each format is read by the crate that owns it.
//! - [`checks`]: every check of DESIGN section 6 that has its inputs; [`Verdict`] holds the
//!   results and [`report`] renders them as text, JSON, Markdown or HTML.
//! - [`Ledger`]: every verdict with its evidence digests in one `SQLite` file.
//!
//! ```
//! use consign_verify::{Policy, shipment::{self, ArtifactRole, NewArtifact}};
//!
//! let policy = Policy::builtin("eu-cra-import").unwrap();
//! assert!(policy.check("support.minimum-length").is_some());
//! let assembled = shipment::assemble(Some("lot-1"), vec![
//!     NewArtifact::named(ArtifactRole::Firmware, "fw.img", b"\x7fELF...".to_vec()),
//! ]).unwrap();
//! let shipment = assembled.to_shipment("lot-1").unwrap();
//! assert_eq!(shipment.artifacts.len(), 1);
//! ```

pub mod backend;
pub mod checks;
mod error;
pub mod evidence;
pub mod ledger;
pub mod policy;
pub mod readers;
pub mod report;
pub mod shipment;
pub mod trust;
pub mod verdict;

pub use error::{EvidenceError, JsonDocumentError, RescanError, VerifyError, reason};
pub use evidence::{Engines, SupportRecord};
pub use ledger::Ledger;
pub use policy::Policy;
pub use trust::TrustStore;
pub use verdict::{CheckResult, Status, Verdict};

/// Verifies one shipment: reads its evidence through `engines` and runs every check of `policy`.
///
/// `date` is the check date: keys are judged valid or not on it, support periods against it.
/// `history` holds the support periods recorded earlier (from the [`Ledger`]).
pub fn verify(
    shipment: &shipment::Shipment,
    policy: &Policy,
    trust: &TrustStore,
    date: Date,
    history: &[SupportRecord],
    engines: Engines<'_>,
) -> Verdict {
    let evidence = evidence::gather(shipment, trust, date, history, engines);
    checks::run(&evidence, policy)
}

pub use jiff::civil::Date;

/// The calendar date (UTC) of a Unix time; the caller reads the clock, the library never does.
pub fn date_from_unix_seconds(seconds: i64) -> Result<Date, VerifyError> {
    jiff::Timestamp::from_second(seconds)
        .map(|ts| ts.to_zoned(jiff::tz::TimeZone::UTC).date())
        .map_err(|_| VerifyError::Date {
            field: "the clock".to_owned(),
            text: seconds.to_string(),
        })
}

/// Everything one verification run shares across shipments.
pub struct Run<'a> {
    /// The policy.
    pub policy: &'a Policy,
    /// The trust store.
    pub trust: &'a TrustStore,
    /// The check date.
    pub date: Date,
    /// Earlier support periods (from the ledger).
    pub history: &'a [SupportRecord],
    /// Whether to re-scan firmware.
    pub rescan: bool,
    /// Bounds on reading each shipment.
    pub limits: shipment::ShipmentLimits,
    /// The vulnerability database `vulnerabilities.known` matches against (`verify --vuln-db`,
    /// else the default one when it exists); `None`: there is none, and a policy running the
    /// check fails closed.
    pub vulnerability_database: Option<&'a std::path::Path>,
}

/// Loads and verifies many shipments in parallel; one result per path, in order. A shipment that
/// cannot be read at all is an `Err`; everything found inside a readable one is in its verdict.
/// One shipment's outcome in [`verify_paths`].
pub type PathOutcome = Result<(shipment::Shipment, Verdict), VerifyError>;

/// Loads and verifies many shipments; see [`Run`].
pub fn verify_paths(
    run: &Run<'_>,
    paths: &[std::path::PathBuf],
) -> Result<Vec<PathOutcome>, VerifyError> {
    use rayon::prelude::*;
    let signatures = backend::AttestSignatures::new(run.trust)?;
    let rescan = backend::FirmwareRescan::default();
    let engines = backend::standard_engines(&signatures, run.rescan.then_some(&rescan))
        .with_vulnerability_database(run.vulnerability_database);
    Ok(paths
        .par_iter()
        .map(|path| {
            let shipment = shipment::load(path, &run.limits)?;
            let verdict = verify(
                &shipment,
                run.policy,
                run.trust,
                run.date,
                run.history,
                engines,
            );
            Ok((shipment, verdict))
        })
        .collect())
}
