//! DSSE (Dead Simple Signing Envelope) v1: the pre-authentication encoding, signing and
//! threshold verification, and the JSON envelope.
//!
//! What the verifier guarantees:
//! - a signature counts only when it verifies with one of the trusted keys over
//!   `PAE(payloadType, payload)`; `keyid` is a hint that orders which key is tried first, never a
//!   reason to accept or reject;
//! - the threshold counts distinct trusted keys, so two signatures by one key count once;
//! - [`Verified`] hands back exactly the bytes whose signature verified: callers parse those,
//!   never the envelope again.
//!
//! Base64 on input may be standard or URL-safe, padded or not (the protocol requires accepting
//! both); consign writes standard padded base64.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::{Deserialize, Serialize};

use crate::AttestError;
use crate::keys::{PublicKey, Signer};

/// The payload type of in-toto statements.
pub const INTOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// The largest envelope consign parses (JSON text), 64 MiB: an SBOM predicate can be large.
pub const MAX_ENVELOPE_BYTES: usize = 64 * 1024 * 1024;

/// The most signatures one envelope may carry; each costs up to one verification per trusted key.
pub const MAX_SIGNATURES: usize = 64;

const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes standard or URL-safe base64, padded or not. `field` names the JSON field in errors.
pub(crate) fn decode_base64(text: &str, field: &str) -> Result<Vec<u8>, AttestError> {
    let url_safe = text.bytes().any(|byte| byte == b'-' || byte == b'_');
    let engine = if url_safe {
        &URL_SAFE_LENIENT
    } else {
        &STANDARD_LENIENT
    };
    engine.decode(text).map_err(|err| AttestError::Base64 {
        field: field.to_owned(),
        reason: err.to_string(),
    })
}

/// Encodes standard padded base64.
pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The pre-authentication encoding that DSSE signatures cover:
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in ASCII decimal.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let type_len = payload_type.len().to_string();
    let body_len = payload.len().to_string();
    let mut out = Vec::with_capacity(
        10 + type_len.len() + payload_type.len() + body_len.len() + payload.len(),
    );
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(type_len.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(body_len.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// One signature of an envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// The unauthenticated key hint (consign writes [`PublicKey::keyid`]); `None` when absent.
    pub keyid: Option<String>,
    /// The signature bytes (ECDSA: DER).
    pub sig: Vec<u8>,
}

/// A DSSE envelope: the payload, its type and the signatures over their PAE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// How to interpret the payload, e.g. [`INTOTO_PAYLOAD_TYPE`].
    pub payload_type: String,
    /// The signed bytes.
    pub payload: Vec<u8>,
    /// The signatures.
    pub signatures: Vec<Signature>,
}

/// The envelope as JSON text: field order as the DSSE specification and securesystemslib write it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnvelope<'a> {
    #[serde(borrow)]
    payload: std::borrow::Cow<'a, str>,
    #[serde(rename = "payloadType", borrow)]
    payload_type: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    signatures: Vec<RawSignature<'a>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSignature<'a> {
    #[serde(default, skip_serializing_if = "Option::is_none", borrow)]
    keyid: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    sig: std::borrow::Cow<'a, str>,
}

impl Envelope {
    /// Parses a JSON envelope, decoding every base64 field. Rejects unknown fields, more than
    /// [`MAX_SIGNATURES`] signatures and inputs over [`MAX_ENVELOPE_BYTES`].
    pub fn from_json(json: &[u8]) -> Result<Self, AttestError> {
        if json.len() > MAX_ENVELOPE_BYTES {
            return Err(AttestError::TooLarge {
                what: "the DSSE envelope",
                len: json.len(),
                limit: MAX_ENVELOPE_BYTES,
            });
        }
        let raw: RawEnvelope<'_> = crate::read_json(json, "DSSE envelope")?;
        if raw.signatures.len() > MAX_SIGNATURES {
            return Err(AttestError::field(
                "DSSE envelope",
                "signatures",
                format!(
                    "at most {MAX_SIGNATURES} signatures, found {}",
                    raw.signatures.len()
                ),
            ));
        }
        let payload = decode_base64(&raw.payload, "payload")?;
        let signatures = raw
            .signatures
            .iter()
            .enumerate()
            .map(|(idx, sig)| {
                Ok(Signature {
                    keyid: sig
                        .keyid
                        .as_deref()
                        .filter(|keyid| !keyid.is_empty())
                        .map(str::to_owned),
                    sig: decode_base64(&sig.sig, &format!("signatures[{idx}].sig"))?,
                })
            })
            .collect::<Result<Vec<_>, AttestError>>()?;
        Ok(Self {
            payload_type: raw.payload_type.into_owned(),
            payload,
            signatures,
        })
    }

    /// The JSON envelope on one line (as `.intoto.jsonl` wants), standard padded base64.
    pub fn to_json(&self) -> String {
        let raw = RawEnvelope {
            payload: encode_base64(&self.payload).into(),
            payload_type: self.payload_type.as_str().into(),
            signatures: self
                .signatures
                .iter()
                .map(|sig| RawSignature {
                    keyid: sig.keyid.as_deref().map(Into::into),
                    sig: encode_base64(&sig.sig).into(),
                })
                .collect(),
        };
        serde_json::to_string(&raw).unwrap_or_default()
    }

    /// The bytes the signatures cover.
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }
}

/// Signs `payload` with every signer. Each signature's `keyid` is the signer's
/// [`PublicKey::keyid`].
pub fn sign(
    payload_type: &str,
    payload: &[u8],
    signers: &[&dyn Signer],
) -> Result<Envelope, AttestError> {
    if signers.is_empty() {
        return Err(AttestError::Signing {
            reason: "no signer was given".to_owned(),
        });
    }
    let message = pae(payload_type, payload);
    let signatures = signers
        .iter()
        .map(|signer| {
            Ok(Signature {
                keyid: Some(signer.public_key().keyid()),
                sig: signer.sign(&message)?,
            })
        })
        .collect::<Result<Vec<_>, AttestError>>()?;
    Ok(Envelope {
        payload_type: payload_type.to_owned(),
        payload: payload.to_vec(),
        signatures,
    })
}

/// What a successful verification hands back: exactly the verified bytes and who signed them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The payload type, covered by the signatures.
    pub payload_type: String,
    /// The payload bytes, covered by the signatures. Parse these, nothing else.
    pub payload: Vec<u8>,
    /// The distinct trusted keys whose signature verified, in the order they were found.
    pub signed_by: Vec<PublicKey>,
}

/// Trusted keys prepared once for many verifications: each distinct key (by key material) once,
/// with its keyid hint computed once.
#[derive(Clone, Debug)]
pub struct TrustedKeys {
    /// Distinct keys, their keyid, and the position of their first occurrence in the input.
    keys: Vec<(PublicKey, String, usize)>,
}

impl TrustedKeys {
    /// Prepares `keys`; a key given twice (however it was encoded) is kept once, at its first
    /// position.
    pub fn new<'k>(keys: impl IntoIterator<Item = &'k PublicKey>) -> Self {
        let mut out: Vec<(PublicKey, String, usize)> = Vec::new();
        for (position, key) in keys.into_iter().enumerate() {
            if !out.iter().any(|(seen, _, _)| seen == key) {
                out.push((key.clone(), key.keyid(), position));
            }
        }
        Self { keys: out }
    }

    /// The number of distinct keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when no key was given.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The one signature check of consign: the input positions of the distinct trusted keys
    /// whose signature over the envelope's PAE verifies, in the order found, stopping at `limit`.
    ///
    /// Every signature is tried against the keys not yet counted, the one whose keyid equals the
    /// signature's `keyid` first; the hint only orders the attempts. A signature that verifies
    /// with no trusted key is skipped, as the protocol says; two signatures by one key count once.
    pub fn signers(&self, envelope: &Envelope, limit: usize) -> Vec<usize> {
        let message = envelope.pae();
        let mut accepted = vec![false; self.keys.len()];
        let mut found = Vec::new();
        for signature in &envelope.signatures {
            if found.len() >= limit {
                break;
            }
            let hinted = signature.keyid.as_deref();
            let order = self
                .keys
                .iter()
                .enumerate()
                .filter(|(_, (_, keyid, _))| Some(keyid.as_str()) == hinted)
                .chain(
                    self.keys
                        .iter()
                        .enumerate()
                        .filter(|(_, (_, keyid, _))| Some(keyid.as_str()) != hinted),
                );
            for (idx, (key, _, position)) in order {
                if accepted.get(idx).copied().unwrap_or(true) {
                    continue;
                }
                if key.verify(&message, &signature.sig).is_ok() {
                    if let Some(slot) = accepted.get_mut(idx) {
                        *slot = true;
                    }
                    found.push(*position);
                    break;
                }
            }
        }
        found
    }
}

/// Verifies that at least `threshold` distinct keys among `keys` signed the envelope
/// ([`TrustedKeys::signers`]). Fails with [`AttestError::ThresholdNotMet`] when fewer than
/// `threshold` keys verified.
pub fn verify(
    envelope: &Envelope,
    keys: &[PublicKey],
    threshold: usize,
) -> Result<Verified, AttestError> {
    if threshold == 0 {
        return Err(AttestError::ZeroThreshold { threshold });
    }
    let trusted = TrustedKeys::new(keys);
    let signed_by: Vec<PublicKey> = trusted
        .signers(envelope, threshold)
        .into_iter()
        .filter_map(|position| keys.get(position).cloned())
        .collect();
    if signed_by.len() < threshold {
        return Err(AttestError::ThresholdNotMet {
            threshold,
            valid: signed_by.len(),
            signatures: envelope.signatures.len(),
            keys: trusted.len(),
        });
    }
    Ok(Verified {
        payload_type: envelope.payload_type.clone(),
        payload: envelope.payload.clone(),
        signed_by,
    })
}

/// Parses a JSON envelope and verifies it: [`Envelope::from_json`] then [`verify`].
pub fn verify_json(
    json: &[u8],
    keys: &[PublicKey],
    threshold: usize,
) -> Result<Verified, AttestError> {
    verify(&Envelope::from_json(json)?, keys, threshold)
}

/// Reads an `.intoto.jsonl` file: one JSON envelope a line, blank lines ignored.
pub fn parse_jsonl(text: &[u8]) -> Result<Vec<Envelope>, AttestError> {
    text.split(|byte| *byte == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
        .map(|(idx, line)| {
            Envelope::from_json(line).map_err(|err| {
                AttestError::field(
                    "`.intoto.jsonl` file",
                    format!("line {}", idx + 1),
                    format!("a DSSE envelope: {err}"),
                )
            })
        })
        .collect()
}

/// Writes envelopes as `.intoto.jsonl`: one JSON envelope a line, each line ending in `\n`.
pub fn to_jsonl(envelopes: &[Envelope]) -> String {
    let mut out = String::new();
    for envelope in envelopes {
        out.push_str(&envelope.to_json());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyAlgorithm, PrivateKey};

    /// The DSSE protocol's test vector (protocol.md, "Test Vectors", secure-systems-lab/dsse):
    /// ECDSA P-256 with SHA-256 and deterministic RFC 6979 nonces, raw `r || s` signature.
    #[test]
    fn dsse_spec_test_vector_byte_for_byte() {
        let d = "97358161215184420915383655311931858321456579547487070936769975997791359926199";
        let scalar = decimal_to_be32(d);
        let key = crate::keys::p256_from_scalar(&scalar);
        let pae = pae("http://example.com/HelloWorld", b"hello world");
        assert_eq!(
            pae,
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
        let raw = crate::keys::sign_p256_raw(&key, &pae).unwrap();
        let envelope = Envelope {
            payload_type: "http://example.com/HelloWorld".to_owned(),
            payload: b"hello world".to_vec(),
            signatures: vec![Signature {
                keyid: None,
                sig: raw,
            }],
        };
        // The vector's JSON, with its insignificant whitespace removed.
        assert_eq!(
            envelope.to_json(),
            r#"{"payload":"aGVsbG8gd29ybGQ=","payloadType":"http://example.com/HelloWorld","signatures":[{"sig":"A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA=="}]}"#
        );
        // The public point matches the vector's X and Y.
        let spki = key.public_key().to_spki_der();
        let point = spki.get(spki.len() - 64..).unwrap();
        assert_eq!(
            point.get(..32).unwrap(),
            decimal_to_be32(
                "46950820868899156662930047687818585632848591499744589407958293238635476079160"
            )
        );
        assert_eq!(
            point.get(32..).unwrap(),
            decimal_to_be32(
                "5640078356564379163099075877009565129882514886557779369047442380624545832820"
            )
        );
    }

    /// Converts a decimal number of up to 78 digits into 32 big-endian bytes.
    fn decimal_to_be32(decimal: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        for digit in decimal.bytes() {
            let mut carry = u32::from(digit - b'0');
            for byte in out.iter_mut().rev() {
                let value = u32::from(*byte) * 10 + carry;
                *byte = (value & 0xff) as u8;
                carry = value >> 8;
            }
            assert_eq!(carry, 0);
        }
        out
    }

    #[test]
    fn pae_examples() {
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
        assert_eq!(pae("t", b"\x00\xff"), b"DSSEv1 1 t 2 \x00\xff");
        assert_eq!(pae("ü", b"x").get(..11).unwrap(), b"DSSEv1 2 \xc3\xbc");
    }

    proptest::proptest! {
        /// PAE is injective: the type and body can be read back from the encoding.
        #[test]
        fn pae_round_trips(payload_type in ".{0,40}", body in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let encoded = pae(&payload_type, &body);
            let rest = encoded.strip_prefix(b"DSSEv1 ").unwrap();
            let space = rest.iter().position(|b| *b == b' ').unwrap();
            let type_len: usize = std::str::from_utf8(&rest[..space]).unwrap().parse().unwrap();
            let rest = &rest[space + 1..];
            proptest::prop_assert_eq!(&rest[..type_len], payload_type.as_bytes());
            let rest = &rest[type_len + 1..];
            let space = rest.iter().position(|b| *b == b' ').unwrap();
            let body_len: usize = std::str::from_utf8(&rest[..space]).unwrap().parse().unwrap();
            proptest::prop_assert_eq!(&rest[space + 1..], &body[..]);
            proptest::prop_assert_eq!(body_len, body.len());
        }
    }

    fn keys() -> (PrivateKey, PrivateKey) {
        (
            PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap(),
            PrivateKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap(),
        )
    }

    #[test]
    fn sign_and_verify_both_algorithms_with_threshold() {
        let (ed, ec) = keys();
        let envelope = sign(INTOTO_PAYLOAD_TYPE, b"{}", &[&ed, &ec]).unwrap();
        let json = envelope.to_json();
        let verified =
            verify_json(json.as_bytes(), &[ec.public_key(), ed.public_key()], 2).unwrap();
        assert_eq!(verified.payload, b"{}");
        assert_eq!(verified.payload_type, INTOTO_PAYLOAD_TYPE);
        assert_eq!(verified.signed_by, vec![ed.public_key(), ec.public_key()]);
        // A key that did not sign does not count.
        let other = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let err = verify_json(json.as_bytes(), &[other.public_key()], 1).unwrap_err();
        assert!(matches!(err, AttestError::ThresholdNotMet { valid: 0, .. }));
    }

    #[test]
    fn duplicate_signatures_from_one_key_do_not_reach_two() {
        let (ed, _) = keys();
        let mut envelope = sign(INTOTO_PAYLOAD_TYPE, b"x", &[&ed, &ed]).unwrap();
        assert_eq!(envelope.signatures.len(), 2);
        // The same key listed twice among the trusted keys does not count twice either.
        let trusted = [ed.public_key(), ed.public_key()];
        let err = verify(&envelope, &trusted, 2).unwrap_err();
        assert!(
            matches!(err, AttestError::ThresholdNotMet { valid: 1, .. }),
            "{err}"
        );
        envelope.signatures.truncate(1);
        verify(&envelope, &trusted, 1).unwrap();
    }

    #[test]
    fn keyid_is_only_a_hint() {
        let (ed, ec) = keys();
        let mut envelope = sign(INTOTO_PAYLOAD_TYPE, b"x", &[&ed]).unwrap();
        // A lying hint that names another trusted key still verifies with the right key.
        envelope.signatures[0].keyid = Some(ec.public_key().keyid());
        let verified = verify(&envelope, &[ec.public_key(), ed.public_key()], 1).unwrap();
        assert_eq!(verified.signed_by, vec![ed.public_key()]);
        // A correct hint does not make an untrusted key trusted.
        envelope.signatures[0].keyid = Some(ed.public_key().keyid());
        assert!(verify(&envelope, &[ec.public_key()], 1).is_err());
    }

    #[test]
    fn tampering_is_caught() {
        let (ed, ec) = keys();
        for key in [&ed, &ec] {
            let envelope = sign(INTOTO_PAYLOAD_TYPE, b"payload", &[key]).unwrap();
            let mut changed = envelope.clone();
            changed.payload = b"paylo4d".to_vec();
            assert!(verify(&changed, &[key.public_key()], 1).is_err());
            let mut changed = envelope.clone();
            changed.payload_type = "application/json".to_owned();
            assert!(verify(&changed, &[key.public_key()], 1).is_err());
            let mut changed = envelope;
            changed.signatures[0].sig.truncate(10);
            assert!(verify(&changed, &[key.public_key()], 1).is_err());
        }
    }

    #[test]
    fn base64_variants_are_accepted() {
        let (ed, _) = keys();
        let envelope = sign(INTOTO_PAYLOAD_TYPE, b"\xfb\xff\xfe??>", &[&ed]).unwrap();
        let json = envelope.to_json();
        assert!(json.contains("+/"));
        let payload = encode_base64(&envelope.payload);
        let sig = encode_base64(&envelope.signatures[0].sig);
        let url = |text: &str| text.replace('+', "-").replace('/', "_");
        let url_safe = json
            .replace(&payload, &url(&payload))
            .replace(&sig, &url(&sig));
        let unpadded = json
            .replace(&payload, payload.trim_end_matches('='))
            .replace(&sig, sig.trim_end_matches('='));
        assert_ne!(url_safe, json);
        for text in [json.clone(), url_safe, unpadded] {
            let parsed = Envelope::from_json(text.as_bytes()).unwrap();
            assert_eq!(parsed, envelope);
            verify(&parsed, &[ed.public_key()], 1).unwrap();
        }
    }

    #[track_caller]
    fn check_err(input: &str, expect: &str) {
        let err = Envelope::from_json(input.as_bytes()).unwrap_err();
        let text = format!(
            "{err}: {}",
            std::error::Error::source(&err)
                .map(ToString::to_string)
                .unwrap_or_default()
        );
        assert!(text.contains(expect), "{text}");
    }

    #[test]
    fn hostile_envelopes() {
        check_err(
            "",
            "malformed DSSE envelope JSON: not valid JSON at byte offset 0: unexpected end of the document",
        );
        // Issue 13, item 2: a key repeated at any depth, named by its JSON pointer.
        check_err(
            r#"{"payload":"","payloadType":"t","signatures":[{"sig":"","sig":"AA=="}]}"#,
            "duplicate key `/signatures/0/sig` at byte offset 56",
        );
        check_err("{", "malformed DSSE envelope JSON");
        check_err("[]", "malformed DSSE envelope JSON");
        check_err(
            r#"{"payload":"","signatures":[]}"#,
            "missing field `payloadType`",
        );
        check_err(
            r#"{"payload":"!!","payloadType":"t","signatures":[]}"#,
            "field `payload` is not valid base64",
        );
        check_err(
            r#"{"payload":"","payloadType":"t","signatures":[{"sig":"A"}]}"#,
            "field `signatures[0].sig` is not valid base64",
        );
        check_err(
            r#"{"payload":"","payloadType":"t","signatures":[],"extra":1}"#,
            "unknown field `extra`",
        );
        let many = format!(
            r#"{{"payload":"","payloadType":"t","signatures":[{}]}}"#,
            vec![r#"{"sig":""}"#; MAX_SIGNATURES + 1].join(",")
        );
        check_err(&many, "at most 64 signatures");
        let nested = "[".repeat(10_000);
        check_err(&nested, "malformed DSSE envelope JSON");
        assert!(matches!(
            verify(
                &Envelope::from_json(br#"{"payload":"","payloadType":"t","signatures":[]}"#)
                    .unwrap(),
                &[],
                0
            ),
            Err(AttestError::ZeroThreshold { .. })
        ));
    }

    #[test]
    fn jsonl_round_trip() {
        let (ed, ec) = keys();
        let envelopes = vec![
            sign(INTOTO_PAYLOAD_TYPE, b"a", &[&ed]).unwrap(),
            sign(INTOTO_PAYLOAD_TYPE, b"b", &[&ec]).unwrap(),
        ];
        let text = to_jsonl(&envelopes);
        assert_eq!(text.lines().count(), 2);
        assert_eq!(parse_jsonl(text.as_bytes()).unwrap(), envelopes);
        let err = parse_jsonl(format!("{text}\nnot json\n").as_bytes()).unwrap_err();
        assert!(err.to_string().contains("line 4"), "{err}");
    }
}
