//! Signing keys: Ed25519 and ECDSA P-256 public keys (SPKI) and private keys (PKCS#8), the
//! [`Signer`] trait that software keys and hardware tokens implement, and key ids.
//!
//! On the wire, ECDSA signatures are DER-encoded (`SEQUENCE { r, s }`) over a SHA-256 prehash of
//! the message, as Sigstore, cosign and securesystemslib write them. Ed25519 signatures are the
//! 64 bytes of RFC 8032.

use std::fmt;

use base64::Engine as _;
use ed25519_dalek::pkcs8::DecodePublicKey as _;
use p256::pkcs8::der::pem::LineEnding;
use p256::pkcs8::der::{self, Decode as _};
use p256::pkcs8::spki::ObjectIdentifier;
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, EncodePublicKey as _};
use sha2::Digest as _;

use crate::AttestError;

/// `id-Ed25519` (RFC 8410).
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// `id-ecPublicKey` (RFC 5480).
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `prime256v1` / `secp256r1` (RFC 5480).
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// The PKCS#8 v1 prefix of an Ed25519 private key (RFC 8410 section 7): `SEQUENCE { INTEGER 0,
/// SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32 bytes) } }`. OpenSSL writes exactly
/// this form, without the optional public key, and every reader accepts it.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// Keys larger than this are not keys: refuse them before decoding.
const MAX_KEY_TEXT: usize = 64 * 1024;

/// A signature algorithm consign signs and verifies with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// Ed25519 (RFC 8032), pure (no prehash).
    Ed25519,
    /// ECDSA over NIST P-256 with SHA-256; DER signatures.
    EcdsaP256Sha256,
}

impl KeyAlgorithm {
    /// A short human name: `Ed25519` or `ECDSA P-256`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ed25519 => "Ed25519",
            Self::EcdsaP256Sha256 => "ECDSA P-256",
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone, Debug)]
enum PublicInner {
    Ed25519(ed25519_dalek::VerifyingKey),
    P256(p256::ecdsa::VerifyingKey),
}

/// A public key that verifies signatures: Ed25519 or ECDSA P-256.
///
/// Two keys are equal when their SPKI DER encodings are equal.
#[derive(Clone)]
pub struct PublicKey {
    inner: PublicInner,
    spki_der: Vec<u8>,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("algorithm", &self.algorithm())
            .field("keyid", &self.keyid())
            .finish()
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.spki_der == other.spki_der
    }
}

impl Eq for PublicKey {}

impl std::hash::Hash for PublicKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.spki_der.hash(state);
    }
}

impl PublicKey {
    /// Reads an SPKI `PUBLIC KEY` PEM holding an Ed25519 or P-256 key.
    pub fn from_pem(pem: &str) -> Result<Self, AttestError> {
        let (label, der) = decode_pem(pem, "public key (SPKI `PUBLIC KEY`)")?;
        if label != "PUBLIC KEY" {
            return Err(AttestError::Pem {
                what: "public key (SPKI `PUBLIC KEY`)",
                reason: format!("the label is `{label}`, expected `PUBLIC KEY`"),
            });
        }
        Self::from_spki_der(&der)
    }

    /// Reads an SPKI DER public key (Ed25519 or P-256).
    pub fn from_spki_der(der: &[u8]) -> Result<Self, AttestError> {
        if der.len() > MAX_KEY_TEXT {
            return Err(AttestError::TooLarge {
                what: "the public key",
                len: der.len(),
                limit: MAX_KEY_TEXT,
            });
        }
        let spki = p256::pkcs8::spki::SubjectPublicKeyInfoRef::from_der(der).map_err(|err| {
            AttestError::Der {
                what: "SPKI public key",
                reason: err.to_string(),
            }
        })?;
        let oid = spki.algorithm.oid;
        let inner = if oid == OID_ED25519 {
            let key = ed25519_dalek::VerifyingKey::from_public_key_der(der).map_err(|err| {
                AttestError::InvalidKey {
                    algorithm: "Ed25519",
                    reason: err.to_string(),
                }
            })?;
            PublicInner::Ed25519(key)
        } else if oid == OID_EC_PUBLIC_KEY {
            let curve = spki.algorithm.parameters_oid().ok();
            if curve != Some(OID_P256) {
                return Err(AttestError::UnsupportedAlgorithm {
                    algorithm: format!(
                        "EC key on curve {}",
                        curve.map_or_else(|| "(none)".to_owned(), |oid| oid.to_string())
                    ),
                });
            }
            let key = p256::ecdsa::VerifyingKey::from_public_key_der(der).map_err(|err| {
                AttestError::InvalidKey {
                    algorithm: "ECDSA P-256",
                    reason: err.to_string(),
                }
            })?;
            PublicInner::P256(key)
        } else {
            return Err(AttestError::UnsupportedAlgorithm {
                algorithm: oid.to_string(),
            });
        };
        // Re-encode so equal keys compare equal whatever optional encodings the input used.
        Ok(Self::from_inner(inner))
    }

    fn from_inner(inner: PublicInner) -> Self {
        let spki_der = match &inner {
            PublicInner::Ed25519(key) => {
                let mut der = vec![
                    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
                ];
                der.extend_from_slice(key.as_bytes());
                der
            }
            PublicInner::P256(key) => key
                .to_public_key_der()
                .map(|doc| doc.as_bytes().to_vec())
                .unwrap_or_default(),
        };
        Self { inner, spki_der }
    }

    /// The SPKI `PUBLIC KEY` PEM, 64 base64 characters a line and LF endings, as OpenSSL writes it.
    pub fn to_pem(&self) -> String {
        pem_encode("PUBLIC KEY", &self.spki_der)
    }

    /// The SPKI DER encoding.
    pub fn to_spki_der(&self) -> Vec<u8> {
        self.spki_der.clone()
    }

    /// The algorithm this key verifies.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match self.inner {
            PublicInner::Ed25519(_) => KeyAlgorithm::Ed25519,
            PublicInner::P256(_) => KeyAlgorithm::EcdsaP256Sha256,
        }
    }

    /// Verifies `signature` over `message`. ECDSA signatures are DER-encoded and cover the SHA-256
    /// of `message`; Ed25519 signatures are checked strictly (no small-order keys, canonical `R`).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), AttestError> {
        match &self.inner {
            PublicInner::Ed25519(key) => {
                let bytes: &[u8; 64] =
                    signature
                        .try_into()
                        .map_err(|_| AttestError::MalformedSignature {
                            algorithm: "Ed25519",
                            len: signature.len(),
                            expected: "exactly 64 bytes",
                        })?;
                let sig = ed25519_dalek::Signature::from_bytes(bytes);
                key.verify_strict(message, &sig)
                    .map_err(|_| AttestError::BadSignature {
                        algorithm: "Ed25519",
                        keyid: self.keyid(),
                    })
            }
            PublicInner::P256(key) => {
                let sig = p256::ecdsa::Signature::from_der(signature).map_err(|_| {
                    AttestError::MalformedSignature {
                        algorithm: "ECDSA P-256",
                        len: signature.len(),
                        expected: "a DER `SEQUENCE { INTEGER r, INTEGER s }` of at most 72 bytes",
                    }
                })?;
                p256::ecdsa::signature::Verifier::verify(key, message, &sig).map_err(|_| {
                    AttestError::BadSignature {
                        algorithm: "ECDSA P-256",
                        keyid: self.keyid(),
                    }
                })
            }
        }
    }

    /// The key id: lower-case hex SHA-256 of the SPKI DER encoding. It is the `keyid` hint consign
    /// writes in DSSE signatures and the `hint` of Sigstore bundles. It is never used to decide
    /// whether a signature is trusted, only to try the matching key first.
    pub fn keyid(&self) -> String {
        hex::encode(sha2::Sha256::digest(&self.spki_der))
    }
}

/// Something that signs: a private key in memory, or a hardware token.
pub trait Signer: Send + Sync {
    /// The public half, used to verify what this signer signs.
    fn public_key(&self) -> PublicKey;
    /// Signs `message`. Ed25519: 64 bytes. ECDSA P-256: DER-encoded, over the SHA-256 of `message`.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, AttestError>;
}

enum PrivateInner {
    Ed25519(ed25519_dalek::SigningKey),
    P256(p256::ecdsa::SigningKey),
}

/// A private key held in memory: Ed25519 or ECDSA P-256. Its `Debug` shows only the key id.
pub struct PrivateKey {
    inner: PrivateInner,
    public: PublicKey,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("algorithm", &self.public.algorithm())
            .field("keyid", &self.public.keyid())
            .finish_non_exhaustive()
    }
}

impl PrivateKey {
    fn from_inner(inner: PrivateInner) -> Self {
        let public = match &inner {
            PrivateInner::Ed25519(key) => {
                PublicKey::from_inner(PublicInner::Ed25519(key.verifying_key()))
            }
            PrivateInner::P256(key) => {
                PublicKey::from_inner(PublicInner::P256(*key.verifying_key()))
            }
        };
        Self { inner, public }
    }

    /// Generates a new key from the operating system's randomness.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self, AttestError> {
        use rand_core::RngCore as _;
        let mut seed = zeroizing_seed();
        rand_core::OsRng
            .try_fill_bytes(&mut seed.0)
            .map_err(|source| AttestError::Random { source })?;
        let inner = match algorithm {
            KeyAlgorithm::Ed25519 => {
                PrivateInner::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed.0))
            }
            KeyAlgorithm::EcdsaP256Sha256 => {
                PrivateInner::P256(p256::ecdsa::SigningKey::random(&mut rand_core::OsRng))
            }
        };
        Ok(Self::from_inner(inner))
    }

    /// Reads a PKCS#8 `PRIVATE KEY` PEM (unencrypted) holding an Ed25519 or P-256 key. A SEC1
    /// `EC PRIVATE KEY` PEM (as `openssl ecparam -genkey` writes) is read too.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, AttestError> {
        const WHAT: &str = "private key (PKCS#8 `PRIVATE KEY`)";
        let (label, der) = decode_pem(pem, WHAT)?;
        match label.as_str() {
            "PRIVATE KEY" => Self::from_pkcs8_der(&der),
            "EC PRIVATE KEY" => {
                let secret = p256::SecretKey::from_sec1_der(&der).map_err(|err| {
                    AttestError::InvalidKey {
                        algorithm: "ECDSA P-256",
                        reason: format!("SEC1 `EC PRIVATE KEY`: {err}"),
                    }
                })?;
                Ok(Self::from_inner(PrivateInner::P256(secret.into())))
            }
            "ENCRYPTED PRIVATE KEY" => Err(AttestError::Pem {
                what: WHAT,
                reason: "the key is password-encrypted; decrypt it first (`openssl pkcs8 -in KEY -out PLAIN.key`)".to_owned(),
            }),
            "ENCRYPTED COSIGN PRIVATE KEY" | "ENCRYPTED SIGSTORE PRIVATE KEY" => Err(AttestError::Pem {
                what: WHAT,
                reason: "this is a cosign key; import it first with `consign key import-cosign`".to_owned(),
            }),
            other => Err(AttestError::Pem {
                what: WHAT,
                reason: format!("the label is `{other}`, expected `PRIVATE KEY`"),
            }),
        }
    }

    /// Reads a PKCS#8 DER private key (v1 or v2) holding an Ed25519 or P-256 key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, AttestError> {
        if der.len() > MAX_KEY_TEXT {
            return Err(AttestError::TooLarge {
                what: "the private key",
                len: der.len(),
                limit: MAX_KEY_TEXT,
            });
        }
        let info = p256::pkcs8::PrivateKeyInfo::from_der(der).map_err(|err| AttestError::Der {
            what: "PKCS#8 private key",
            reason: err.to_string(),
        })?;
        let oid = info.algorithm.oid;
        let inner = if oid == OID_ED25519 {
            let key = ed25519_dalek::SigningKey::from_pkcs8_der(der).map_err(|err| {
                AttestError::InvalidKey {
                    algorithm: "Ed25519",
                    reason: err.to_string(),
                }
            })?;
            PrivateInner::Ed25519(key)
        } else if oid == OID_EC_PUBLIC_KEY {
            let curve = info.algorithm.parameters_oid().ok();
            if curve != Some(OID_P256) {
                return Err(AttestError::UnsupportedAlgorithm {
                    algorithm: format!(
                        "EC key on curve {}",
                        curve.map_or_else(|| "(none)".to_owned(), |oid| oid.to_string())
                    ),
                });
            }
            let key = p256::ecdsa::SigningKey::from_pkcs8_der(der).map_err(|err| {
                AttestError::InvalidKey {
                    algorithm: "ECDSA P-256",
                    reason: err.to_string(),
                }
            })?;
            PrivateInner::P256(key)
        } else {
            return Err(AttestError::UnsupportedAlgorithm {
                algorithm: oid.to_string(),
            });
        };
        Ok(Self::from_inner(inner))
    }

    /// The PKCS#8 `PRIVATE KEY` PEM. Ed25519 keys are written in the RFC 8410 v1 form OpenSSL
    /// writes; P-256 keys hold a SEC1 `ECPrivateKey` with the public point. OpenSSL and Python
    /// `cryptography` read both.
    pub fn to_pkcs8_pem(&self) -> String {
        match &self.inner {
            PrivateInner::Ed25519(key) => {
                let mut der = ED25519_PKCS8_PREFIX.to_vec();
                der.extend_from_slice(key.as_bytes());
                let pem = pem_encode("PRIVATE KEY", &der);
                zeroize_vec(&mut der);
                pem
            }
            PrivateInner::P256(key) => key
                .to_pkcs8_der()
                .map(|doc| pem_encode("PRIVATE KEY", doc.as_bytes()))
                .unwrap_or_default(),
        }
    }

    /// The algorithm of this key.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.public.algorithm()
    }
}

impl Signer for PrivateKey {
    fn public_key(&self) -> PublicKey {
        self.public.clone()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, AttestError> {
        Ok(match &self.inner {
            PrivateInner::Ed25519(key) => ed25519_dalek::Signer::sign(key, message)
                .to_bytes()
                .to_vec(),
            PrivateInner::P256(key) => {
                let sig: p256::ecdsa::Signature =
                    p256::ecdsa::signature::Signer::try_sign(key, message).map_err(|err| {
                        AttestError::Signing {
                            reason: err.to_string(),
                        }
                    })?;
                sig.to_der().as_bytes().to_vec()
            }
        })
    }
}

/// Signs with ECDSA P-256 and returns the raw `r || s` encoding (64 bytes) instead of DER.
/// Only the DSSE specification's test vector uses this encoding; consign never writes it.
#[cfg(test)]
pub(crate) fn sign_p256_raw(key: &PrivateKey, message: &[u8]) -> Option<Vec<u8>> {
    match &key.inner {
        PrivateInner::P256(key) => {
            let sig: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(key, message);
            Some(sig.to_bytes().to_vec())
        }
        PrivateInner::Ed25519(_) => None,
    }
}

/// Builds a P-256 private key from its scalar (32 big-endian bytes), for test vectors.
#[cfg(test)]
pub(crate) fn p256_from_scalar(scalar: &[u8; 32]) -> PrivateKey {
    let key = p256::ecdsa::SigningKey::from_bytes(scalar.into()).unwrap();
    PrivateKey::from_inner(PrivateInner::P256(key))
}

struct Seed([u8; 32]);

impl Drop for Seed {
    fn drop(&mut self) {
        // Keep the secret out of freed memory; `volatile` writes are not needed for this threat model.
        self.0.fill(0);
    }
}

fn zeroizing_seed() -> Seed {
    Seed([0; 32])
}

fn zeroize_vec(bytes: &mut [u8]) {
    bytes.fill(0);
}

/// Splits a PEM document into its label and DER bytes, with errors that say what was expected.
pub(crate) fn decode_pem(pem: &str, what: &'static str) -> Result<(String, Vec<u8>), AttestError> {
    if pem.len() > MAX_KEY_TEXT {
        return Err(AttestError::TooLarge {
            what: "the PEM document",
            len: pem.len(),
            limit: MAX_KEY_TEXT,
        });
    }
    let text = pem.trim();
    let label = text
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("-----BEGIN "))
        .and_then(|line| line.strip_suffix("-----"))
        .ok_or_else(|| AttestError::Pem {
            what,
            reason: "no `-----BEGIN ...-----` line at the start".to_owned(),
        })?;
    let end = format!("-----END {label}-----");
    let mut lines = text.lines().skip(1);
    let mut body = String::new();
    let mut ended = false;
    for line in lines.by_ref() {
        let line = line.trim_end_matches('\r');
        if line == end {
            ended = true;
            break;
        }
        if line.contains(':') {
            return Err(AttestError::Pem {
                what,
                reason: "PEM headers (`Proc-Type`, `DEK-Info`) mean an encrypted legacy key; consign reads unencrypted PKCS#8".to_owned(),
            });
        }
        body.push_str(line.trim());
    }
    if !ended {
        return Err(AttestError::Pem {
            what,
            reason: format!("no `{end}` line"),
        });
    }
    if lines.any(|line| !line.trim().is_empty()) {
        return Err(AttestError::Pem {
            what,
            reason: format!("text after the `{end}` line"),
        });
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .map_err(|err| AttestError::Pem {
            what,
            reason: format!("bad base64 inside: {err}"),
        })?;
    Ok((label.to_owned(), der))
}

/// Encodes DER as PEM: 64 characters a line, LF endings, a final newline.
pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    let text = der::pem::encode_string(label, LineEnding::LF, der).unwrap_or_default();
    if text.ends_with('\n') {
        text
    } else {
        text + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_sign_verify_roundtrip() {
        for algorithm in [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256Sha256] {
            let key = PrivateKey::generate(algorithm).unwrap();
            let sig = key.sign(b"hello").unwrap();
            let public = key.public_key();
            assert_eq!(public.algorithm(), algorithm);
            public.verify(b"hello", &sig).unwrap();
            assert!(matches!(
                public.verify(b"hellO", &sig),
                Err(AttestError::BadSignature { .. })
            ));
            // PEM round trips keep the same key.
            let again = PrivateKey::from_pkcs8_pem(&key.to_pkcs8_pem()).unwrap();
            assert_eq!(again.public_key(), public);
            let public_again = PublicKey::from_pem(&public.to_pem()).unwrap();
            assert_eq!(public_again, public);
            assert_eq!(public_again.keyid(), public.keyid());
            assert_eq!(public.keyid().len(), 64);
        }
    }

    #[test]
    fn ed25519_pkcs8_is_the_openssl_form() {
        let key = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let pem = key.to_pkcs8_pem();
        let (label, der) = decode_pem(&pem, "test").unwrap();
        assert_eq!(label, "PRIVATE KEY");
        assert_eq!(der.len(), 48);
        assert_eq!(der.get(..16).unwrap(), ED25519_PKCS8_PREFIX);
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(pem.ends_with("-----END PRIVATE KEY-----\n"));
    }

    /// RFC 8410 section 10.1: the example Ed25519 public key.
    #[test]
    fn rfc8410_public_key() {
        let pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
        let key = PublicKey::from_pem(pem).unwrap();
        assert_eq!(key.algorithm(), KeyAlgorithm::Ed25519);
        assert_eq!(key.to_pem(), pem);
    }

    /// RFC 8410 section 10.3: the example Ed25519 private key (v1) gives the section 10.1 public key.
    #[test]
    fn rfc8410_private_key() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";
        let key = PrivateKey::from_pkcs8_pem(pem).unwrap();
        assert_eq!(key.to_pkcs8_pem(), pem);
        assert_eq!(
            key.public_key().to_pem(),
            "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n"
        );
    }

    #[track_caller]
    fn check_public_err(input: &str, expect: &str) {
        let err = PublicKey::from_pem(input).unwrap_err().to_string();
        assert!(err.contains(expect), "{err}");
    }

    #[test]
    fn hostile_public_keys() {
        check_public_err("", "no `-----BEGIN");
        check_public_err(
            "-----BEGIN PUBLIC KEY-----\nAAAA\n",
            "no `-----END PUBLIC KEY-----` line",
        );
        check_public_err(
            "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n",
            "bad base64",
        );
        check_public_err(
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            "malformed DER",
        );
        check_public_err(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "expected `PUBLIC KEY`",
        );
        // An RSA SPKI (rsaEncryption OID) with a tiny modulus.
        let rsa = pem_encode(
            "PUBLIC KEY",
            &hex::decode("301c300d06092a864886f70d0101010500030b003008020300c35d020103").unwrap(),
        );
        check_public_err(&rsa, "unsupported key algorithm `1.2.840.113549.1.1.1`");
        // An Ed25519 SPKI whose key is 31 bytes.
        let short = pem_encode(
            "PUBLIC KEY",
            &hex::decode(format!("3029300506032b6570032000{}", "11".repeat(31))).unwrap(),
        );
        check_public_err(&short, "Ed25519");
        // A P-256 SPKI whose point is not on the curve.
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
        let mut der = key.public_key().to_spki_der();
        let last = der.len() - 1;
        der[last] ^= 1;
        let err = PublicKey::from_spki_der(&der).unwrap_err().to_string();
        assert!(err.contains("invalid ECDSA P-256 key"), "{err}");
    }

    #[test]
    fn hostile_private_keys() {
        let err = PrivateKey::from_pkcs8_pem(
            "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("malformed DER in the PKCS#8 private key"),
            "{err}"
        );
        let err = PrivateKey::from_pkcs8_pem(
            "-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED COSIGN PRIVATE KEY-----",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("import-cosign"), "{err}");
    }

    #[test]
    fn wrong_key_type_and_truncated_signatures() {
        let ed = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let ec = PrivateKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
        let ed_sig = ed.sign(b"m").unwrap();
        let ec_sig = ec.sign(b"m").unwrap();
        assert!(matches!(
            ec.public_key().verify(b"m", &ed_sig),
            Err(AttestError::MalformedSignature { .. } | AttestError::BadSignature { .. })
        ));
        assert!(matches!(
            ed.public_key().verify(b"m", &ec_sig),
            Err(AttestError::MalformedSignature { .. } | AttestError::BadSignature { .. })
        ));
        assert!(matches!(
            ed.public_key().verify(b"m", ed_sig.get(..63).unwrap()),
            Err(AttestError::MalformedSignature { len: 63, .. })
        ));
        assert!(matches!(
            ec.public_key()
                .verify(b"m", ec_sig.get(..ec_sig.len() - 1).unwrap()),
            Err(AttestError::MalformedSignature { .. })
        ));
        assert!(ec.public_key().verify(b"m", &[]).is_err());
    }

    #[test]
    fn debug_hides_the_secret() {
        let key = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let text = format!("{key:?}");
        assert!(text.contains("keyid"));
        assert!(!text.contains("SigningKey"));
    }
}
