//! Sigstore bundles v0.3 (`application/vnd.dev.sigstore.bundle.v0.3+json`) holding a DSSE
//! envelope and public-key verification material.
//!
//! What is written: `mediaType`, `verificationMaterial.publicKey.hint` (the key's
//! [`PublicKey::keyid`](crate::PublicKey::keyid)), an empty `tlogEntries` list, and the
//! `dsseEnvelope` with exactly one signature, as the bundle specification requires.
//!
//! What is deliberately not supported (and why): certificate (keyless) verification material,
//! `messageSignature` bundles, and transparency-log or timestamp checks. consign verifies offline
//! against keys its user trusts; a bundle of another shape is rejected with a message saying so,
//! never half-checked. Any `tlogEntries` and `timestampVerificationData` present are ignored: they
//! can add assurance but never replace the signature check done here.

use serde::{Deserialize, Serialize};

use crate::AttestError;
use crate::dsse::{self, Envelope, Verified};
use crate::keys::{PublicKey, Signer};

/// The media type consign writes.
pub const BUNDLE_MEDIA_TYPE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// Media types of bundles consign reads (the DSSE + public-key shape is the same in all three).
const READABLE_MEDIA_TYPES: &[&str] = &[
    BUNDLE_MEDIA_TYPE_V03,
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
];

const DOCUMENT: &str = "Sigstore bundle";

/// A Sigstore bundle with a DSSE envelope and a public-key hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundle {
    /// The key hint (`verificationMaterial.publicKey.hint`): only a hint, never trusted.
    pub hint: String,
    /// The DSSE envelope, with exactly one signature.
    pub envelope: Envelope,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBundle {
    media_type: String,
    verification_material: RawMaterial,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dsse_envelope: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message_signature: Option<serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMaterial {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    public_key: Option<RawPublicKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    certificate: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    x509_certificate_chain: Option<serde_json::Value>,
    #[serde(default)]
    tlog_entries: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    timestamp_verification_data: Option<serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
struct RawPublicKey {
    #[serde(default)]
    hint: String,
}

impl Bundle {
    /// Signs `payload` with one signer and wraps the envelope in a bundle.
    pub fn sign(
        payload_type: &str,
        payload: &[u8],
        signer: &dyn Signer,
    ) -> Result<Self, AttestError> {
        let envelope = dsse::sign(payload_type, payload, &[signer])?;
        Ok(Self {
            hint: signer.public_key().keyid(),
            envelope,
        })
    }

    /// Wraps an envelope that has exactly one signature.
    pub fn from_envelope(envelope: Envelope, hint: &str) -> Result<Self, AttestError> {
        if envelope.signatures.len() != 1 {
            return Err(AttestError::field(
                DOCUMENT,
                "dsseEnvelope.signatures",
                format!(
                    "exactly one signature (the bundle format allows one), found {}",
                    envelope.signatures.len()
                ),
            ));
        }
        Ok(Self {
            hint: hint.to_owned(),
            envelope,
        })
    }

    /// The bundle as JSON (one line).
    pub fn to_json(&self) -> String {
        let envelope: serde_json::Value =
            serde_json::from_str(&self.envelope.to_json()).unwrap_or_default();
        let raw = RawBundle {
            media_type: BUNDLE_MEDIA_TYPE_V03.to_owned(),
            verification_material: RawMaterial {
                public_key: Some(RawPublicKey {
                    hint: self.hint.clone(),
                }),
                certificate: None,
                x509_certificate_chain: None,
                tlog_entries: Vec::new(),
                timestamp_verification_data: None,
            },
            dsse_envelope: Some(envelope),
            message_signature: None,
        };
        serde_json::to_string(&raw).unwrap_or_default()
    }

    /// Parses a bundle. Only DSSE bundles with public-key material are accepted (see the module
    /// docs for why).
    pub fn from_json(json: &[u8]) -> Result<Self, AttestError> {
        if json.len() > dsse::MAX_ENVELOPE_BYTES {
            return Err(AttestError::TooLarge {
                what: "the Sigstore bundle",
                len: json.len(),
                limit: dsse::MAX_ENVELOPE_BYTES,
            });
        }
        let raw: RawBundle = crate::read_json(json, DOCUMENT)?;
        if !READABLE_MEDIA_TYPES.contains(&raw.media_type.as_str()) {
            return Err(AttestError::field(
                DOCUMENT,
                "mediaType",
                format!(
                    "`{BUNDLE_MEDIA_TYPE_V03}` (or v0.2), found `{}`",
                    raw.media_type.chars().take(100).collect::<String>()
                ),
            ));
        }
        let material = raw.verification_material;
        if material.certificate.is_some() || material.x509_certificate_chain.is_some() {
            return Err(AttestError::field(
                DOCUMENT,
                "verificationMaterial",
                "`publicKey` material; keyless (certificate) bundles are not supported by consign, which verifies offline against keys you trust",
            ));
        }
        let hint = material
            .public_key
            .ok_or_else(|| {
                AttestError::field(
                    DOCUMENT,
                    "verificationMaterial.publicKey",
                    "a public-key hint",
                )
            })?
            .hint;
        if raw.message_signature.is_some() {
            return Err(AttestError::field(
                DOCUMENT,
                "messageSignature",
                "a `dsseEnvelope`; message-signature bundles are not supported",
            ));
        }
        let envelope_value = raw
            .dsse_envelope
            .ok_or_else(|| AttestError::field(DOCUMENT, "dsseEnvelope", "a DSSE envelope"))?;
        let envelope_json =
            serde_json::to_vec(&envelope_value).map_err(|source| AttestError::Json {
                what: DOCUMENT,
                source,
            })?;
        let envelope = Envelope::from_json(&envelope_json)?;
        Self::from_envelope(envelope, &hint)
    }

    /// Verifies the bundle's envelope with one of `keys` (threshold 1).
    pub fn verify(&self, keys: &[PublicKey]) -> Result<Verified, AttestError> {
        dsse::verify(&self.envelope, keys, 1)
    }
}

/// Parses a bundle and verifies it: [`Bundle::from_json`] then [`Bundle::verify`].
pub fn verify_bundle_json(json: &[u8], keys: &[PublicKey]) -> Result<Verified, AttestError> {
    Bundle::from_json(json)?.verify(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyAlgorithm, PrivateKey};

    #[test]
    fn write_read_verify() {
        for algorithm in [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256Sha256] {
            let key = PrivateKey::generate(algorithm).unwrap();
            let bundle = Bundle::sign(dsse::INTOTO_PAYLOAD_TYPE, b"{}", &key).unwrap();
            let json = bundle.to_json();
            let value: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert_eq!(value["mediaType"], BUNDLE_MEDIA_TYPE_V03);
            assert_eq!(
                value["verificationMaterial"]["publicKey"]["hint"],
                key.public_key().keyid()
            );
            assert_eq!(
                value["verificationMaterial"]["tlogEntries"],
                serde_json::json!([])
            );
            let verified = verify_bundle_json(json.as_bytes(), &[key.public_key()]).unwrap();
            assert_eq!(verified.payload, b"{}");
            let other = PrivateKey::generate(algorithm).unwrap();
            assert!(verify_bundle_json(json.as_bytes(), &[other.public_key()]).is_err());
            let tampered = json.replace("\"payload\":\"e30=\"", "\"payload\":\"e31=\"");
            assert_ne!(tampered, json);
            assert!(verify_bundle_json(tampered.as_bytes(), &[key.public_key()]).is_err());
        }
    }

    #[track_caller]
    fn check_err(input: &str, expect: &str) {
        let err = Bundle::from_json(input.as_bytes()).unwrap_err();
        let text = format!(
            "{err}: {}",
            std::error::Error::source(&err)
                .map(ToString::to_string)
                .unwrap_or_default()
        );
        assert!(text.contains(expect), "{text}");
    }

    #[test]
    fn hostile_bundles() {
        check_err("{}", "missing field `mediaType`");
        check_err(
            r#"{"mediaType":"x","verificationMaterial":{}}"#,
            "field `mediaType`",
        );
        check_err(
            r#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"certificate":{"rawBytes":""}}}"#,
            "keyless (certificate) bundles are not supported",
        );
        check_err(
            r#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":""}},"messageSignature":{}}"#,
            "message-signature bundles are not supported",
        );
        check_err(
            r#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":""}}}"#,
            "field `dsseEnvelope`",
        );
        check_err(
            r#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":""}},"dsseEnvelope":{"payload":"","payloadType":"t","signatures":[]}}"#,
            "exactly one signature",
        );
    }
}
