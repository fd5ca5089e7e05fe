//! Importing cosign's encrypted private keys (`-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----`, or
//! `ENCRYPTED SIGSTORE PRIVATE KEY` as newer cosign writes).
//!
//! The PEM body is JSON: a scrypt KDF (`N`, `r`, `p`, `salt`) derives a 32-byte key from the password,
//! and `nacl/secretbox` (XSalsa20-Poly1305, `nonce`) encrypts a PKCS#8 DER private key (`ciphertext`).
//! The scrypt cost is bounded ([`MAX_SCRYPT_LOG_N`]) so a hostile file cannot make the import take
//! gigabytes of memory.

use crypto_secretbox::aead::{Aead as _, KeyInit as _};
use serde::Deserialize;

use crate::AttestError;
use crate::dsse::decode_base64;
use crate::keys::{PrivateKey, decode_pem};

/// The largest scrypt cost accepted: `N = 2^17` (128 MiB with `r = 8`); cosign writes `2^15` or `2^16`.
pub const MAX_SCRYPT_LOG_N: u8 = 17;

#[derive(Deserialize)]
struct CosignKey {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Deserialize)]
struct Kdf {
    name: String,
    params: KdfParams,
    salt: String,
}

#[derive(Deserialize)]
#[allow(non_snake_case)] // The field names are cosign's.
struct KdfParams {
    N: u64,
    r: u32,
    p: u32,
}

#[derive(Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

/// Decrypts a cosign encrypted private key PEM with `password`.
pub fn import_cosign_key(pem: &str, password: &[u8]) -> Result<PrivateKey, AttestError> {
    let (label, json) = decode_pem(pem, "cosign private key (`ENCRYPTED COSIGN PRIVATE KEY`)")?;
    if label != "ENCRYPTED COSIGN PRIVATE KEY" && label != "ENCRYPTED SIGSTORE PRIVATE KEY" {
        return Err(AttestError::Pem {
            what: "cosign private key (`ENCRYPTED COSIGN PRIVATE KEY`)",
            reason: format!("the label is `{label}`, expected `ENCRYPTED COSIGN PRIVATE KEY`"),
        });
    }
    let key: CosignKey = crate::read_json(&json, "cosign private key")?;
    if key.kdf.name != "scrypt" {
        return Err(AttestError::CosignKey {
            field: "kdf.name",
            reason: format!("expected `scrypt`, found `{}`", key.kdf.name),
        });
    }
    if key.cipher.name != "nacl/secretbox" {
        return Err(AttestError::CosignKey {
            field: "cipher.name",
            reason: format!("expected `nacl/secretbox`, found `{}`", key.cipher.name),
        });
    }
    let params = &key.kdf.params;
    if !params.N.is_power_of_two() || params.N < 2 {
        return Err(AttestError::CosignKey {
            field: "kdf.params.N",
            reason: format!("expected a power of two, found {}", params.N),
        });
    }
    let log_n = params.N.trailing_zeros() as u8;
    if log_n > MAX_SCRYPT_LOG_N || params.r == 0 || params.r > 32 || params.p == 0 || params.p > 16
    {
        return Err(AttestError::CosignKey {
            field: "kdf.params",
            reason: format!(
                "scrypt cost N={} r={} p={} is outside the accepted range (N <= 2^{MAX_SCRYPT_LOG_N}, 1 <= r <= 32, 1 <= p <= 16)",
                params.N, params.r, params.p
            ),
        });
    }
    let salt = decode_base64(&key.kdf.salt, "kdf.salt")?;
    let nonce = decode_base64(&key.cipher.nonce, "cipher.nonce")?;
    if nonce.len() != 24 {
        return Err(AttestError::CosignKey {
            field: "cipher.nonce",
            reason: format!("expected 24 bytes, found {}", nonce.len()),
        });
    }
    let ciphertext = decode_base64(&key.ciphertext, "ciphertext")?;
    let scrypt_params = scrypt::Params::new(log_n, params.r, params.p, 32).map_err(|err| {
        AttestError::CosignKey {
            field: "kdf.params",
            reason: err.to_string(),
        }
    })?;
    let mut derived = [0u8; 32];
    scrypt::scrypt(password, &salt, &scrypt_params, &mut derived).map_err(|err| {
        AttestError::CosignKey {
            field: "kdf.params",
            reason: err.to_string(),
        }
    })?;
    let cipher = crypto_secretbox::XSalsa20Poly1305::new(&derived.into());
    derived.fill(0);
    let mut plain = cipher
        .decrypt(
            crypto_secretbox::Nonce::from_slice(&nonce),
            ciphertext.as_slice(),
        )
        .map_err(|_| AttestError::CosignDecrypt)?;
    let result = PrivateKey::from_pkcs8_der(&plain);
    plain.fill(0);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyAlgorithm, Signer as _};

    fn fixture() -> String {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../fixtures/attest/cosign/cosign_generated_encrypted_empty_private.key"),
        )
        .unwrap()
    }

    /// A key cosign itself generated (see `fixtures/attest/cosign/README.md`).
    #[test]
    fn imports_a_key_cosign_made() {
        let key = import_cosign_key(&fixture(), b"").unwrap();
        assert_eq!(key.algorithm(), KeyAlgorithm::EcdsaP256Sha256);
        let sig = key.sign(b"m").unwrap();
        key.public_key().verify(b"m", &sig).unwrap();
    }

    #[test]
    fn wrong_password_is_a_clear_error() {
        let err = import_cosign_key(&fixture(), b"not the password").unwrap_err();
        assert!(matches!(err, AttestError::CosignDecrypt));
        assert!(err.to_string().contains("COSIGN_PASSWORD"));
    }

    #[track_caller]
    fn check_err(json: &str, expect: &str) {
        let pem = crate::keys::pem_encode("ENCRYPTED COSIGN PRIVATE KEY", json.as_bytes());
        let err = import_cosign_key(&pem, b"").unwrap_err();
        let text = format!(
            "{err}: {}",
            std::error::Error::source(&err)
                .map(ToString::to_string)
                .unwrap_or_default()
        );
        assert!(text.contains(expect), "{text}");
    }

    #[test]
    fn hostile_cosign_keys() {
        check_err("{", "malformed cosign private key JSON");
        check_err(
            r#"{"kdf":{"name":"argon2","params":{"N":2,"r":1,"p":1},"salt":""},"cipher":{"name":"nacl/secretbox","nonce":""},"ciphertext":""}"#,
            "`kdf.name`",
        );
        check_err(
            r#"{"kdf":{"name":"scrypt","params":{"N":1073741824,"r":8,"p":1},"salt":""},"cipher":{"name":"nacl/secretbox","nonce":""},"ciphertext":""}"#,
            "outside the accepted range",
        );
        check_err(
            r#"{"kdf":{"name":"scrypt","params":{"N":1000,"r":8,"p":1},"salt":""},"cipher":{"name":"nacl/secretbox","nonce":""},"ciphertext":""}"#,
            "power of two",
        );
        check_err(
            r#"{"kdf":{"name":"scrypt","params":{"N":16,"r":8,"p":1},"salt":""},"cipher":{"name":"nacl/secretbox","nonce":"AAAA"},"ciphertext":""}"#,
            "expected 24 bytes",
        );
        check_err(
            r#"{"kdf":{"name":"scrypt","params":{"N":16,"r":8,"p":1},"salt":""},"cipher":{"name":"nacl/secretbox","nonce":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},"ciphertext":"AAAA"}"#,
            "wrong password",
        );
        let err = import_cosign_key(
            "-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n",
            b"",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("expected `ENCRYPTED COSIGN PRIVATE KEY`")
        );
    }
}
