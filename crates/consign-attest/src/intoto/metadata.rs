//! Signed in-toto v0.9 metadata: the classic Metablock (`{"signed": …, "signatures": […]}`,
//! hex signatures over the canonical JSON of `signed`) and the DSSE envelope in-toto 2.x and
//! later write with `--use-dsse` (payload type `application/vnd.in-toto+json`, base64 payload and
//! signatures over the DSSE pre-authentication encoding of the payload bytes).
//!
//! Parsing keeps the signed JSON *value* (Metablock) or the exact payload bytes (DSSE); signatures
//! are checked over the canonical encoding of that value or over those bytes, never over a
//! re-serialised Rust struct, so fields consign does not model are still covered.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::AttestError;
use crate::dsse::pae;
use crate::intoto::canonical;
use crate::intoto::key::IntotoKey;
use crate::keys::Signer;

/// The DSSE payload type of in-toto v0.9 links and layouts.
pub const DSSE_PAYLOAD_TYPE: &str = crate::dsse::INTOTO_PAYLOAD_TYPE;

/// The largest metadata file accepted (links list every artifact, so they can be large).
pub const MAX_METADATA_BYTES: usize = 64 * 1024 * 1024;

/// The most signatures one document may carry.
pub const MAX_SIGNATURES: usize = 256;

/// How the metadata is wrapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wrapping {
    /// `{"signed": …, "signatures": [{"keyid", "sig" (hex)}]}`.
    Metablock,
    /// A DSSE envelope with payload type `application/vnd.in-toto+json`.
    Dsse,
}

/// What the signed part is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetadataKind {
    /// `_type: link`.
    Link,
    /// `_type: layout`.
    Layout,
}

impl MetadataKind {
    /// `link` or `layout`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Link => "link",
            Self::Layout => "layout",
        }
    }
}

/// One signature: the keyid hint and the raw signature bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataSignature {
    /// The keyid the signer wrote; used only to find the key to try.
    pub keyid: String,
    /// The signature bytes (decoded from hex or base64).
    pub sig: Vec<u8>,
}

/// A parsed, not yet verified, in-toto link or layout with its signatures.
#[derive(Clone, Debug)]
pub struct Metadata {
    wrapping: Wrapping,
    kind: MetadataKind,
    signed: Value,
    /// The bytes the signatures cover: canonical JSON of `signed`, or the DSSE PAE.
    signed_bytes: Vec<u8>,
    /// The exact DSSE payload bytes (kept so re-writing an envelope keeps its signatures valid).
    payload: Option<Vec<u8>>,
    signatures: Vec<MetadataSignature>,
}

impl Metadata {
    /// Parses a Metablock or DSSE envelope. `what` names the document in errors (e.g. a file name).
    pub fn from_json(bytes: &[u8], what: &'static str) -> Result<Self, AttestError> {
        if bytes.len() > MAX_METADATA_BYTES {
            return Err(AttestError::TooLarge {
                what,
                len: bytes.len(),
                limit: MAX_METADATA_BYTES,
            });
        }
        let value: Value = crate::read_json(bytes, what)?;
        let object = value.as_object().ok_or_else(|| {
            AttestError::field(what, "$", "a JSON object (Metablock or DSSE envelope)")
        })?;
        if object.contains_key("payload") {
            Self::from_dsse(object, what)
        } else {
            Self::from_metablock(object, what)
        }
    }

    fn from_metablock(
        object: &Map<String, Value>,
        what: &'static str,
    ) -> Result<Self, AttestError> {
        let signed = object
            .get("signed")
            .ok_or_else(|| AttestError::field(what, "signed", "an object (the link or layout)"))?
            .clone();
        let kind = kind_of(&signed, what, "signed._type")?;
        let list = signature_list(object, what)?;
        let mut signatures = Vec::with_capacity(list.len());
        for (index, entry) in list.iter().enumerate() {
            let keyid = string_field(entry, "keyid", what, index)?;
            if entry.get("other_headers").is_some() {
                return Err(AttestError::IntotoUnsupported {
                    what: format!("the GPG signature `signatures[{index}]` (keyid `{keyid}`)"),
                });
            }
            let sig_hex = string_field(entry, "sig", what, index)?;
            let sig = hex::decode(sig_hex).map_err(|_| {
                AttestError::field(what, format!("signatures[{index}].sig"), "lower-case hex")
            })?;
            signatures.push(MetadataSignature {
                keyid: keyid.to_owned(),
                sig,
            });
        }
        let signed_bytes = canonical::encode(&signed)?;
        Ok(Self {
            wrapping: Wrapping::Metablock,
            kind,
            signed,
            signed_bytes,
            payload: None,
            signatures,
        })
    }

    fn from_dsse(object: &Map<String, Value>, what: &'static str) -> Result<Self, AttestError> {
        let payload_type = object
            .get("payloadType")
            .and_then(Value::as_str)
            .ok_or_else(|| AttestError::field(what, "payloadType", "a string"))?;
        if payload_type != DSSE_PAYLOAD_TYPE {
            return Err(AttestError::field(
                what,
                "payloadType",
                format!("`{DSSE_PAYLOAD_TYPE}`, found `{payload_type}`"),
            ));
        }
        let payload_b64 = object
            .get("payload")
            .and_then(Value::as_str)
            .ok_or_else(|| AttestError::field(what, "payload", "a base64 string"))?;
        let payload = decode_base64(payload_b64, "payload")?;
        let signed: Value = crate::read_json(&payload, "DSSE payload (in-toto link or layout)")?;
        let kind = kind_of(&signed, what, "payload._type")?;
        let list = signature_list(object, what)?;
        let mut signatures = Vec::with_capacity(list.len());
        for (index, entry) in list.iter().enumerate() {
            // DSSE makes keyid optional; an absent one matches no key by id.
            let keyid = entry
                .get("keyid")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let sig_b64 = string_field(entry, "sig", what, index)?;
            let sig = decode_base64(sig_b64, &format!("signatures[{index}].sig"))?;
            signatures.push(MetadataSignature {
                keyid: keyid.to_owned(),
                sig,
            });
        }
        Ok(Self {
            wrapping: Wrapping::Dsse,
            kind,
            signed,
            signed_bytes: pae(DSSE_PAYLOAD_TYPE, &payload),
            payload: Some(payload),
            signatures,
        })
    }

    /// Metablock or DSSE.
    pub fn wrapping(&self) -> Wrapping {
        self.wrapping
    }

    /// Link or layout.
    pub fn kind(&self) -> MetadataKind {
        self.kind
    }

    /// The signed JSON value (the link or layout).
    pub fn signed(&self) -> &Value {
        &self.signed
    }

    /// The signatures, in file order.
    pub fn signatures(&self) -> &[MetadataSignature] {
        &self.signatures
    }

    /// Verifies the signature made by `key`, as in-toto does: the first signature whose keyid is
    /// the key's keyid must verify.
    pub fn verify_signature(&self, key: &IntotoKey) -> Result<(), AttestError> {
        let signature = self
            .signatures
            .iter()
            .find(|signature| signature.keyid == key.keyid())
            .ok_or_else(|| AttestError::BadSignature {
                algorithm: key.public_key().algorithm().name(),
                keyid: format!("{} (no signature carries this keyid)", key.keyid()),
            })?;
        key.public_key()
            .verify(&self.signed_bytes, &signature.sig)
            .map_err(|_| AttestError::BadSignature {
                algorithm: key.public_key().algorithm().name(),
                keyid: key.keyid().to_owned(),
            })
    }

    /// Signs `signed` (a link or layout value) with each signer, as a Metablock or DSSE envelope.
    pub fn sign(
        signed: Value,
        wrapping: Wrapping,
        signers: &[&dyn Signer],
    ) -> Result<Self, AttestError> {
        let kind = kind_of(&signed, "in-toto metadata to sign", "_type")?;
        let (signed_bytes, payload) = match wrapping {
            Wrapping::Metablock => (canonical::encode(&signed)?, None),
            Wrapping::Dsse => {
                // Check the value is canonical-encodable (no floats) so both wrappings accept
                // the same inputs; the payload itself is plain sorted JSON, as in-toto writes it.
                canonical::encode(&signed)?;
                let payload = dsse_payload(&signed)?;
                (pae(DSSE_PAYLOAD_TYPE, &payload), Some(payload))
            }
        };
        let mut metadata = Self {
            wrapping,
            kind,
            signed,
            signed_bytes,
            payload,
            signatures: Vec::new(),
        };
        for signer in signers {
            metadata.add_signature(*signer)?;
        }
        Ok(metadata)
    }

    /// Adds a signature by `signer`, replacing an earlier one with the same keyid.
    pub fn add_signature(&mut self, signer: &dyn Signer) -> Result<(), AttestError> {
        let keyid = IntotoKey::from_public_key(&signer.public_key())
            .keyid()
            .to_owned();
        let sig = signer.sign(&self.signed_bytes)?;
        self.signatures.retain(|existing| existing.keyid != keyid);
        self.signatures.push(MetadataSignature { keyid, sig });
        Ok(())
    }

    /// The JSON document: a Metablock or a DSSE envelope.
    pub fn to_json(&self) -> Result<Value, AttestError> {
        Ok(match self.wrapping {
            Wrapping::Metablock => json!({
                "signatures": self.signatures.iter().map(|signature| json!({
                    "keyid": signature.keyid,
                    "sig": hex::encode(&signature.sig),
                })).collect::<Vec<_>>(),
                "signed": self.signed,
            }),
            Wrapping::Dsse => {
                let engine = base64::engine::general_purpose::STANDARD;
                json!({
                    "payload": engine.encode(match &self.payload {
                        Some(payload) => payload.clone(),
                        None => dsse_payload(&self.signed)?,
                    }),
                    "payloadType": DSSE_PAYLOAD_TYPE,
                    "signatures": self.signatures.iter().map(|signature| json!({
                        "keyid": signature.keyid,
                        "sig": engine.encode(&signature.sig),
                    })).collect::<Vec<_>>(),
                })
            }
        })
    }

    /// The file bytes: pretty JSON with a trailing newline (the signature does not depend on it).
    pub fn to_bytes(&self) -> Result<Vec<u8>, AttestError> {
        let mut bytes =
            serde_json::to_vec_pretty(&self.to_json()?).map_err(|source| AttestError::Json {
                what: "in-toto metadata",
                source,
            })?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

/// The DSSE payload of a link or layout: plain JSON with sorted keys. A payload parsed from an
/// envelope is kept byte for byte; this encoding is used only for new envelopes.
fn dsse_payload(signed: &Value) -> Result<Vec<u8>, AttestError> {
    serde_json::to_vec(signed).map_err(|source| AttestError::Json {
        what: "DSSE payload (in-toto link or layout)",
        source,
    })
}

fn decode_base64(text: &str, field: &str) -> Result<Vec<u8>, AttestError> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
        .ok_or_else(|| AttestError::Base64 {
            field: field.to_owned(),
            reason: "not standard or URL-safe base64".to_owned(),
        })
}

fn kind_of(signed: &Value, what: &'static str, field: &str) -> Result<MetadataKind, AttestError> {
    match signed.get("_type").and_then(Value::as_str) {
        Some("link") => Ok(MetadataKind::Link),
        Some("layout") => Ok(MetadataKind::Layout),
        Some(other) => Err(AttestError::field(
            what,
            field,
            format!("`link` or `layout`, found `{other}`"),
        )),
        None => Err(AttestError::field(what, field, "`link` or `layout`")),
    }
}

fn signature_list<'a>(
    object: &'a Map<String, Value>,
    what: &'static str,
) -> Result<&'a Vec<Value>, AttestError> {
    let list = object
        .get("signatures")
        .and_then(Value::as_array)
        .ok_or_else(|| AttestError::field(what, "signatures", "an array"))?;
    if list.len() > MAX_SIGNATURES {
        return Err(AttestError::field(
            what,
            "signatures",
            format!("at most {MAX_SIGNATURES} signatures, found {}", list.len()),
        ));
    }
    Ok(list)
}

fn string_field<'a>(
    entry: &'a Value,
    name: &str,
    what: &'static str,
    index: usize,
) -> Result<&'a str, AttestError> {
    entry
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| AttestError::field(what, format!("signatures[{index}].{name}"), "a string"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyAlgorithm, PrivateKey};

    fn link() -> Value {
        json!({"_type": "link", "name": "build", "command": [], "materials": {}, "products": {},
               "byproducts": {"stdout": "a\tb\r\\n é"}, "environment": {}})
    }

    #[test]
    fn sign_parse_verify_both_wrappings() {
        for algorithm in [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256Sha256] {
            let key = PrivateKey::generate(algorithm).unwrap();
            let intoto_key = IntotoKey::from_public_key(&key.public_key());
            for wrapping in [Wrapping::Metablock, Wrapping::Dsse] {
                let signed = Metadata::sign(link(), wrapping, &[&key]).unwrap();
                let bytes = signed.to_bytes().unwrap();
                let parsed = Metadata::from_json(&bytes, "link").unwrap();
                assert_eq!(parsed.wrapping(), wrapping);
                assert_eq!(parsed.kind(), MetadataKind::Link);
                parsed.verify_signature(&intoto_key).unwrap();
                // Tampering with the signed content breaks the signature.
                let tampered = String::from_utf8(bytes).unwrap().replace("build", "built");
                let tampered = if wrapping == Wrapping::Dsse {
                    let mut value: Value = serde_json::from_str(&tampered).unwrap();
                    value["payload"] = json!(
                        base64::engine::general_purpose::STANDARD
                            .encode(br#"{"_type":"link","name":"x"}"#)
                    );
                    value.to_string()
                } else {
                    tampered
                };
                let parsed = Metadata::from_json(tampered.as_bytes(), "link").unwrap();
                assert!(parsed.verify_signature(&intoto_key).is_err());
            }
        }
    }

    #[test]
    fn wrong_key_fails() {
        let key = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let other = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let signed = Metadata::sign(link(), Wrapping::Metablock, &[&key]).unwrap();
        let err = signed
            .verify_signature(&IntotoKey::from_public_key(&other.public_key()))
            .unwrap_err();
        assert!(
            err.to_string().contains("no signature carries this keyid"),
            "{err}"
        );
    }

    #[test]
    fn hostile_documents_give_errors() {
        let cases: &[(&str, &str)] = &[
            ("", "malformed x JSON"),
            (
                "[]",
                "x: field `$`: expected a JSON object (Metablock or DSSE envelope)",
            ),
            (
                "{}",
                "x: field `signed`: expected an object (the link or layout)",
            ),
            (
                r#"{"signed":{"_type":"other"},"signatures":[]}"#,
                "x: field `signed._type`: expected `link` or `layout`, found `other`",
            ),
            (
                r#"{"signed":{"_type":"link"}}"#,
                "x: field `signatures`: expected an array",
            ),
            (
                r#"{"signed":{"_type":"link"},"signatures":[{"keyid":"a","sig":"zz"}]}"#,
                "x: field `signatures[0].sig`: expected lower-case hex",
            ),
            (
                r#"{"signed":{"_type":"link","x":1.5},"signatures":[]}"#,
                "cannot encode canonical JSON at `$.x`: `1.5` is a floating-point number, which canonical JSON cannot encode",
            ),
            (
                r#"{"payload":"e30=","payloadType":"text/plain","signatures":[]}"#,
                "x: field `payloadType`: expected `application/vnd.in-toto+json`, found `text/plain`",
            ),
            (
                r#"{"payload":"!!","payloadType":"application/vnd.in-toto+json","signatures":[]}"#,
                "field `payload` is not valid base64 (standard or URL-safe, padded or not): not standard or URL-safe base64",
            ),
            (
                r#"{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[]}"#,
                "x: field `payload._type`: expected `link` or `layout`",
            ),
        ];
        for (input, expect) in cases {
            let err = Metadata::from_json(input.as_bytes(), "x").unwrap_err();
            assert_eq!(err.to_string(), *expect, "input: {input}");
        }
    }
}
