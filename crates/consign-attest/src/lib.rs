//! Signed statements of what each party in the supply chain vouches for.
//!
//! - [`keys`]: Ed25519 and ECDSA P-256 keys ([`PublicKey`], [`PrivateKey`]) and the [`Signer`]
//!   trait that software keys and hardware tokens implement; [`cosign`] imports cosign's
//!   encrypted keys.
//! - [`dsse`]: DSSE envelopes ([`Envelope`]): PAE, signing, threshold verification over distinct
//!   trusted keys, `keyid` used only as a hint, [`Verified`] holding exactly the verified bytes.
//! - [`statement`]: in-toto Statement v1 ([`Statement`]), subjects matched by digest only.
//! - [`predicates`]: typed predicates ([`Predicate`]), standard and consign's own, parsed fail-closed.
//! - [`claims`]: the TOML claims files signers write, validated before signing.
//! - [`bundle`]: Sigstore bundles v0.3 with public-key material ([`Bundle`]).
//! - [`attest`]: the per-party API (`attest_component`, `attest_release`, `attest_custody`,
//!   `market_check_statements`) and [`verify_attestation`].
//! - [`AttestError`]: the one error type; every variant names the field and what was expected.
//!
//! ```
//! use consign_attest::{KeyAlgorithm, PrivateKey, Signer as _, Statement, dsse};
//!
//! let key = PrivateKey::generate(KeyAlgorithm::Ed25519)?;
//! let statement = Statement::for_artifact(
//!     "fw.img",
//!     b"firmware bytes",
//!     "https://cyclonedx.org/bom",
//!     serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.6"}),
//! );
//! let envelope = dsse::sign(dsse::INTOTO_PAYLOAD_TYPE, &statement.to_json(), &[&key])?;
//! let json = envelope.to_json();
//! let verified =
//!     consign_attest::verify_attestation(json.as_bytes(), b"firmware bytes", &[key.public_key()])?;
//! assert_eq!(verified[0].subject.name, "fw.img");
//! # Ok::<(), consign_attest::AttestError>(())
//! ```

pub mod attest;
pub mod bundle;
pub mod claims;
pub mod cosign;
pub mod dsse;
pub mod error;
pub mod intoto;
pub mod keys;
pub mod pkcs11;
pub mod predicates;
pub mod statement;

/// Reads one JSON document strictly ([`consign_model::json`]: no duplicate key at any depth,
/// at most [`dsse::MAX_ENVELOPE_BYTES`], at most 128 levels deep): every document consign-attest
/// reads goes through here.
pub(crate) fn read_json<'a, T: serde::Deserialize<'a>>(
    bytes: &'a [u8],
    what: &'static str,
) -> Result<T, AttestError> {
    let limits = consign_model::json::JsonLimits {
        max_bytes: dsse::MAX_ENVELOPE_BYTES,
        max_depth: 128,
    };
    consign_model::json::check(bytes, &limits)
        .map_err(|source| AttestError::Document { what, source })?;
    serde_json::from_slice(bytes).map_err(|source| AttestError::Json { what, source })
}

pub use attest::{Artifact, VerifiedAttestation, verify_attestation};
pub use bundle::Bundle;
pub use dsse::{Envelope, Signature, Verified};
pub use error::AttestError;
pub use keys::{KeyAlgorithm, PrivateKey, PublicKey, Signer};
pub use predicates::Predicate;
pub use statement::{Statement, Subject};
