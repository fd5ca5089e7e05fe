//! Public keys in the securesystemslib dict format that in-toto v0.9 layouts carry.
//!
//! ```json
//! {"keyid": "…", "keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "<hex raw key>"}}
//! {"keyid": "…", "keytype": "ecdsa", "scheme": "ecdsa-sha2-nistp256", "keyval": {"public": "<SPKI PEM>"}}
//! ```
//! The keyid is computed as securesystemslib's `compute_default_keyid` does: the SHA-256 of the
//! canonical JSON of `{"keytype", "scheme", "keyval": {"public"}}`.
//! Keys embedded in a layout keep the keyid the layout gives them (older in-toto versions hashed
//! extra fields such as `keyid_hash_algorithms`); the layout signature vouches for that mapping.
//! RSA and GPG keys are not supported and are refused with an error naming the key.

use serde_json::{Value, json};
use sha2::Digest as _;

use crate::AttestError;
use crate::intoto::canonical;
use crate::keys::{KeyAlgorithm, PublicKey};

/// SPKI DER prefix of an Ed25519 public key (RFC 8410): the raw 32 bytes follow.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// A verification key as in-toto names it: its keyid plus the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntotoKey {
    keyid: String,
    public_key: PublicKey,
}

impl IntotoKey {
    /// The in-toto form of `public_key`, with the keyid securesystemslib computes for it.
    pub fn from_public_key(public_key: &PublicKey) -> Self {
        let (keytype, scheme, public) = key_fields(public_key);
        let dict = json!({"keytype": keytype, "scheme": scheme, "keyval": {"public": public}});
        // The dict holds only strings, so canonical encoding cannot fail; fall back to the
        // serde_json encoding (identical for this ASCII-only, sorted map) to stay panic-free.
        let bytes = canonical::encode(&dict).unwrap_or_else(|_| dict.to_string().into_bytes());
        Self {
            keyid: hex::encode(sha2::Sha256::digest(&bytes)),
            public_key: public_key.clone(),
        }
    }

    /// Reads a key dict from a layout's `keys` map, where it is stored under `keyid`.
    ///
    /// `field` names the dict in errors, e.g. `keys.<keyid>`.
    pub fn from_dict(keyid: &str, dict: &Value, field: &str) -> Result<Self, AttestError> {
        const DOC: &str = "in-toto layout";
        let object = dict
            .as_object()
            .ok_or_else(|| AttestError::field(DOC, field, "a key object"))?;
        let text = |name: &str| -> Result<&str, AttestError> {
            object
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| AttestError::field(DOC, format!("{field}.{name}"), "a string"))
        };
        let keytype = text("keytype")?;
        let scheme = text("scheme")?;
        let public = object
            .get("keyval")
            .and_then(|keyval| keyval.get("public"))
            .and_then(Value::as_str)
            .ok_or_else(|| AttestError::field(DOC, format!("{field}.keyval.public"), "a string"))?;
        if let Some(inner) = object.get("keyid").and_then(Value::as_str)
            && inner != keyid
        {
            return Err(AttestError::field(
                DOC,
                format!("{field}.keyid"),
                format!("the keyid the key is stored under (`{keyid}`), found `{inner}`"),
            ));
        }
        if object.contains_key("subkeys") {
            return Err(AttestError::IntotoUnsupported {
                what: format!("the GPG key `{keyid}` with subkeys"),
            });
        }
        let public_key = match (keytype, scheme) {
            ("ed25519", "ed25519") => {
                let raw = hex::decode(public)
                    .ok()
                    .filter(|raw| raw.len() == 32)
                    .ok_or_else(|| {
                        AttestError::field(
                            DOC,
                            format!("{field}.keyval.public"),
                            "64 hex digits (a raw Ed25519 public key)",
                        )
                    })?;
                let mut der = ED25519_SPKI_PREFIX.to_vec();
                der.extend_from_slice(&raw);
                PublicKey::from_spki_der(&der)?
            }
            ("ecdsa" | "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256") => {
                let key = PublicKey::from_pem(public)?;
                if key.algorithm() != KeyAlgorithm::EcdsaP256Sha256 {
                    return Err(AttestError::field(
                        DOC,
                        format!("{field}.keyval.public"),
                        "an ECDSA P-256 SPKI PEM, as the scheme `ecdsa-sha2-nistp256` says",
                    ));
                }
                key
            }
            _ => {
                return Err(AttestError::UnsupportedAlgorithm {
                    algorithm: format!(
                        "keytype `{keytype}` with scheme `{scheme}` (key `{keyid}`)"
                    ),
                });
            }
        };
        Ok(Self {
            keyid: keyid.to_owned(),
            public_key,
        })
    }

    /// The keyid: lower-case hex.
    pub fn keyid(&self) -> &str {
        &self.keyid
    }

    /// The key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// The securesystemslib dict, with `keyid`, as in-toto layouts store keys.
    pub fn to_dict(&self) -> Value {
        let (keytype, scheme, public) = key_fields(&self.public_key);
        json!({
            "keyid": self.keyid,
            "keytype": keytype,
            "scheme": scheme,
            "keyval": {"public": public},
        })
    }
}

fn key_fields(public_key: &PublicKey) -> (&'static str, &'static str, String) {
    match public_key.algorithm() {
        KeyAlgorithm::Ed25519 => {
            let der = public_key.to_spki_der();
            let raw = der.get(ED25519_SPKI_PREFIX.len()..).unwrap_or_default();
            ("ed25519", "ed25519", hex::encode(raw))
        }
        // `KeyAlgorithm` is non-exhaustive only towards other crates; P-256 is the other case.
        KeyAlgorithm::EcdsaP256Sha256 => ("ecdsa", "ecdsa-sha2-nistp256", public_key.to_pem()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A P-256 key and the keyid securesystemslib 1.6 computes for it
    /// (`SSlibKey.from_crypto(load_pem_public_key(PEM)).keyid`);
    /// the P-256 key is `ec.derive_private_key(12345678901234567890, SECP256R1())`, the Ed25519 key
    /// has the all-zero seed.
    const P256_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEPteijsZI7c5dW34lL2sqr7tEg1EU\noks8qo9xD2SZO8JXEaNM3JIpCAtjnwmXf+t8qR7M4WSb/qithccrIGrefg==\n-----END PUBLIC KEY-----\n";
    const P256_KEYID: &str = "a6b9b3693826c1e55cd10bb20df11a1a0e9116204737140057db65ca26d848c4";
    /// An Ed25519 key (raw hex) and its securesystemslib keyid.
    const ED25519_HEX: &str = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29";
    const ED25519_KEYID: &str = "4cc3f338069d638e761ed397f5c53df4129a276face46a446c202617331ca1b3";

    #[test]
    fn keyids_match_securesystemslib() {
        let key = IntotoKey::from_public_key(&PublicKey::from_pem(P256_PEM).unwrap());
        assert_eq!(key.keyid(), P256_KEYID);
        let dict =
            json!({"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": ED25519_HEX}});
        let parsed = IntotoKey::from_dict(ED25519_KEYID, &dict, "keys.x").unwrap();
        assert_eq!(
            IntotoKey::from_public_key(parsed.public_key()).keyid(),
            ED25519_KEYID
        );
    }

    #[test]
    fn dict_roundtrip() {
        let key = IntotoKey::from_public_key(&PublicKey::from_pem(P256_PEM).unwrap());
        let back = IntotoKey::from_dict(key.keyid(), &key.to_dict(), "keys.x").unwrap();
        assert_eq!(back, key);
    }

    #[test]
    fn hostile_dicts_are_refused() {
        let cases = [
            (
                json!("x"),
                "in-toto layout: field `keys.k`: expected a key object",
            ),
            (
                json!({"keytype": "rsa", "scheme": "rsassa-pss-sha256", "keyval": {"public": "x"}}),
                "unsupported key algorithm `keytype `rsa` with scheme `rsassa-pss-sha256` (key `k`)`\n\nhint: consign supports Ed25519 and ECDSA P-256 (prime256v1) keys",
            ),
            (
                json!({"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "zz"}}),
                "in-toto layout: field `keys.k.keyval.public`: expected 64 hex digits (a raw Ed25519 public key)",
            ),
            (
                json!({"keytype": "ed25519", "scheme": "ed25519"}),
                "in-toto layout: field `keys.k.keyval.public`: expected a string",
            ),
        ];
        for (dict, expect) in cases {
            let err = IntotoKey::from_dict("k", &dict, "keys.k").unwrap_err();
            assert_eq!(err.to_string(), expect);
        }
    }
}
