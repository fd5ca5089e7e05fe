//! Signing with a key held in a PKCS#11 token (an HSM, a smart card, SoftHSM2), through
//! the `cryptoki` crate, addressed by an RFC 7512 `pkcs11:` URI.
//!
//! ```text
//! pkcs11:token=consign;object=release-key?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin
//! ```
//! - Path attributes: `token` (label), `serial`, `slot-id` select the token; `object` (label) and
//!   `id` (percent-encoded bytes) select the key; `type` must be `private` if given.
//! - Query attributes: `module-path` (the PKCS#11 library to load; else `CONSIGN_PKCS11_MODULE`),
//!   `pin-value`, or `pin-source=file:PATH` (else the PIN comes from `CONSIGN_PKCS11_PIN`).
//! - Other attributes (`module-name`, `library-*`, `manufacturer`, `model`, vendor `x-…`) are
//!   refused by name rather than ignored, so a URI never selects a different key than it says.
//!
//! ECDSA P-256 keys sign with `CKM_ECDSA` over a SHA-256 digest computed here; the token's raw
//! `r || s` is converted to DER, as consign writes ECDSA signatures everywhere. Ed25519 keys sign
//! with `CKM_EDDSA` (pure). The public key is read from the token's public-key object (same
//! `id`/label) and exported as SPKI, so outside verifiers can check what the token signed.
//!
//! This module is an edge: it loads a shared library and may read a PIN file. `cryptoki` calls
//! the module through FFI (its own `unsafe`); consign's code stays `unsafe`-free.

use std::sync::Mutex;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use sha2::Digest as _;

use crate::AttestError;
use crate::keys::{KeyAlgorithm, PublicKey, Signer};

/// The environment variable holding the token PIN when the URI gives none.
pub const PIN_ENV: &str = "CONSIGN_PKCS11_PIN";
/// The environment variable naming the PKCS#11 module when the URI gives no `module-path`.
pub const MODULE_ENV: &str = "CONSIGN_PKCS11_MODULE";

/// DER of the P-256 curve OID (prime256v1), as `CKA_EC_PARAMS` holds it.
const P256_EC_PARAMS: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// DER of the Ed25519 OID (1.3.101.112), one form of `CKA_EC_PARAMS` for Edwards keys.
const ED25519_OID_PARAMS: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];
/// DER of `PrintableString "edwards25519"`, the other (PKCS#11 3.0) form.
const ED25519_NAME_PARAMS: &[u8] = b"\x13\x0cedwards25519";
/// SPKI DER prefix of a P-256 key; the 65-byte uncompressed point follows.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
/// SPKI DER prefix of an Ed25519 key; the 32-byte key follows.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Where the PIN comes from, as the URI says.
#[derive(Clone, PartialEq, Eq)]
pub enum PinSource {
    /// `pin-value=…` in the URI.
    Value(String),
    /// `pin-source=file:PATH`.
    File(String),
    /// Neither: the caller supplies it (from `CONSIGN_PKCS11_PIN`).
    Caller,
}

impl std::fmt::Debug for PinSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Value(_) => f.write_str("Value(<redacted>)"),
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
            Self::Caller => f.write_str("Caller"),
        }
    }
}

/// A parsed RFC 7512 `pkcs11:` URI naming a private key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// `token`: the token label.
    pub token: Option<String>,
    /// `serial`: the token serial number.
    pub serial: Option<String>,
    /// `slot-id`.
    pub slot_id: Option<u64>,
    /// `object`: the key label.
    pub object: Option<String>,
    /// `id`: the key id bytes.
    pub id: Option<Vec<u8>>,
    /// `module-path`.
    pub module_path: Option<String>,
    /// The PIN's source.
    pub pin: PinSource,
}

fn uri_err(what: impl Into<String>, expected: impl Into<String>) -> AttestError {
    AttestError::Pkcs11Uri {
        what: what.into(),
        expected: expected.into(),
    }
}

fn percent_decode(text: &str, attribute: &str) -> Result<Vec<u8>, AttestError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        if byte == b'%' {
            let hex_digits = bytes
                .get(index + 1..index + 3)
                .and_then(|pair| std::str::from_utf8(pair).ok())
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| {
                    uri_err(
                        format!("attribute `{attribute}`"),
                        "`%` followed by two hex digits",
                    )
                })?;
            out.push(hex_digits);
            index += 3;
        } else {
            out.push(byte);
            index += 1;
        }
    }
    Ok(out)
}

fn decode_text(text: &str, attribute: &str) -> Result<String, AttestError> {
    String::from_utf8(percent_decode(text, attribute)?).map_err(|_| {
        uri_err(
            format!("attribute `{attribute}`"),
            "UTF-8 text after percent-decoding",
        )
    })
}

impl Pkcs11Uri {
    /// Parses `pkcs11:path-attributes[?query-attributes]`.
    pub fn parse(uri: &str) -> Result<Self, AttestError> {
        let rest = uri
            .strip_prefix("pkcs11:")
            .ok_or_else(|| uri_err("scheme", "a URI starting with `pkcs11:`"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut parsed = Self {
            token: None,
            serial: None,
            slot_id: None,
            object: None,
            id: None,
            module_path: None,
            pin: PinSource::Caller,
        };
        for attribute in path.split(';').filter(|part| !part.is_empty()) {
            let (name, value) = attribute
                .split_once('=')
                .ok_or_else(|| uri_err(format!("path attribute `{attribute}`"), "`name=value`"))?;
            match name {
                "token" => parsed.token = Some(decode_text(value, name)?),
                "serial" => parsed.serial = Some(decode_text(value, name)?),
                "object" => parsed.object = Some(decode_text(value, name)?),
                "id" => parsed.id = Some(percent_decode(value, name)?),
                "slot-id" => {
                    parsed.slot_id = Some(
                        value
                            .parse()
                            .map_err(|_| uri_err("attribute `slot-id`", "a decimal number"))?,
                    );
                }
                "type" => {
                    if value != "private" {
                        return Err(uri_err(
                            "attribute `type`",
                            format!("`private` (a signing key), found `{value}`"),
                        ));
                    }
                }
                other => {
                    return Err(uri_err(
                        format!("path attribute `{other}`"),
                        "one of `token`, `serial`, `slot-id`, `object`, `id`, `type` (consign does not support the others)",
                    ));
                }
            }
        }
        for attribute in query.split('&').filter(|part| !part.is_empty()) {
            let (name, value) = attribute
                .split_once('=')
                .ok_or_else(|| uri_err(format!("query attribute `{attribute}`"), "`name=value`"))?;
            match name {
                "module-path" => parsed.module_path = Some(decode_text(value, name)?),
                "pin-value" => parsed.pin = PinSource::Value(decode_text(value, name)?),
                "pin-source" => {
                    let source = decode_text(value, name)?;
                    let path = source.strip_prefix("file:").ok_or_else(|| {
                        uri_err(
                            "attribute `pin-source`",
                            "`file:PATH` (consign reads the PIN from a file)",
                        )
                    })?;
                    // `file:///abs` and `file:/abs` name the same file.
                    let path = path.strip_prefix("//").unwrap_or(path);
                    parsed.pin = PinSource::File(path.to_owned());
                }
                other => {
                    return Err(uri_err(
                        format!("query attribute `{other}`"),
                        "one of `module-path`, `pin-value`, `pin-source` (consign does not support the others)",
                    ));
                }
            }
        }
        if parsed.object.is_none() && parsed.id.is_none() {
            return Err(uri_err(
                "key",
                "an `object` (label) or `id` attribute naming the private key",
            ));
        }
        Ok(parsed)
    }

    /// The PIN: from the URI, its PIN file (trailing newline removed), or `from_env`
    /// (the caller passes `CONSIGN_PKCS11_PIN`).
    pub fn resolve_pin(&self, from_env: Option<String>) -> Result<String, AttestError> {
        match &self.pin {
            PinSource::Value(pin) => Ok(pin.clone()),
            PinSource::File(path) => {
                let text = fs_err::read_to_string(path).map_err(|err| AttestError::Pkcs11 {
                    operation: format!("reading the PIN file `{path}`"),
                    reason: err.to_string(),
                })?;
                Ok(text.trim_end_matches(['\n', '\r']).to_owned())
            }
            PinSource::Caller => from_env.ok_or_else(|| {
                uri_err(
                    "PIN",
                    format!("`pin-value` or `pin-source=file:PATH` in the URI, or the PIN in `{PIN_ENV}`"),
                )
            }),
        }
    }

    /// The module to load: the URI's `module-path`, else `from_env` (`CONSIGN_PKCS11_MODULE`).
    pub fn resolve_module(&self, from_env: Option<String>) -> Result<String, AttestError> {
        self.module_path.clone().or(from_env).ok_or_else(|| {
            uri_err(
                "module",
                format!("`module-path=/path/to/module.so` in the URI, or the module path in `{MODULE_ENV}`"),
            )
        })
    }
}

fn token_err(operation: impl Into<String>, err: impl std::fmt::Display) -> AttestError {
    AttestError::Pkcs11 {
        operation: operation.into(),
        reason: err.to_string(),
    }
}

/// How a key is protected inside the token, read back from its attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyProtection {
    /// `CKA_EXTRACTABLE`: whether the key may leave the token (wrapped).
    pub extractable: bool,
    /// `CKA_SENSITIVE`: whether the key's value is hidden from reads.
    pub sensitive: bool,
}

/// A signer whose private key never leaves the PKCS#11 token.
pub struct Pkcs11Signer {
    // Kept alive for the session; dropping it finalizes the module.
    _context: Pkcs11,
    session: Mutex<Session>,
    private_key: ObjectHandle,
    public_key: PublicKey,
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("keyid", &self.public_key.keyid())
            .finish_non_exhaustive()
    }
}

fn open_session(
    uri: &Pkcs11Uri,
    module: &str,
    pin: &str,
) -> Result<(Pkcs11, Session), AttestError> {
    let context = Pkcs11::new(module)
        .map_err(|err| token_err(format!("loading the PKCS#11 module `{module}`"), err))?;
    match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(
            cryptoki::error::RvError::CryptokiAlreadyInitialized,
            _,
        )) => {}
        Err(err) => {
            return Err(token_err(
                format!("initializing the PKCS#11 module `{module}`"),
                err,
            ));
        }
    }
    let slot = find_slot(&context, uri)?;
    let session = context
        .open_rw_session(slot)
        .map_err(|err| token_err("opening a session on the token", err))?;
    let auth = AuthPin::from(pin.to_owned());
    match session.login(UserType::User, Some(&auth)) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {
        }
        Err(err) => return Err(token_err("logging in to the token (check the PIN)", err)),
    }
    Ok((context, session))
}

fn find_slot(context: &Pkcs11, uri: &Pkcs11Uri) -> Result<Slot, AttestError> {
    let slots = context
        .get_slots_with_token()
        .map_err(|err| token_err("listing the slots with a token", err))?;
    let mut seen = Vec::new();
    for slot in slots {
        if uri.slot_id.is_some_and(|id| id != slot.id()) {
            continue;
        }
        let info = context
            .get_token_info(slot)
            .map_err(|err| token_err("reading the token information", err))?;
        let label = info.label().trim_end().to_owned();
        let serial = info.serial_number().trim_end().to_owned();
        let label_ok = uri.token.as_deref().is_none_or(|token| token == label);
        let serial_ok = uri.serial.as_deref().is_none_or(|wanted| wanted == serial);
        if label_ok && serial_ok {
            return Ok(slot);
        }
        seen.push(format!("`{label}` (serial {serial}, slot {})", slot.id()));
    }
    Err(token_err(
        "finding the token",
        format!(
            "no token matches the URI; tokens present: {}",
            if seen.is_empty() {
                "none".to_owned()
            } else {
                seen.join(", ")
            }
        ),
    ))
}

fn key_template(uri: &Pkcs11Uri, class: ObjectClass) -> Vec<Attribute> {
    let mut template = vec![Attribute::Class(class)];
    if let Some(label) = &uri.object {
        template.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = &uri.id {
        template.push(Attribute::Id(id.clone()));
    }
    template
}

fn find_one(
    session: &Session,
    uri: &Pkcs11Uri,
    class: ObjectClass,
    what: &str,
) -> Result<ObjectHandle, AttestError> {
    let found = session
        .find_objects(&key_template(uri, class))
        .map_err(|err| token_err(format!("searching the {what}"), err))?;
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(token_err(
            format!("finding the {what}"),
            "no object matches the URI's `object`/`id`",
        )),
        more => Err(token_err(
            format!("finding the {what}"),
            format!(
                "{} objects match; add `id` or `object` to the URI to pick one",
                more.len()
            ),
        )),
    }
}

/// Strips a DER OCTET STRING header if `point` is wrapped in one (most modules wrap `CKA_EC_POINT`).
fn unwrap_octet_string(point: &[u8], expected_len: usize) -> Option<&[u8]> {
    if point.len() == expected_len {
        return Some(point);
    }
    match point {
        [0x04, len, rest @ ..]
            if usize::from(*len) == expected_len && rest.len() == expected_len =>
        {
            Some(rest)
        }
        [0x04, 0x81, len, rest @ ..]
            if usize::from(*len) == expected_len && rest.len() == expected_len =>
        {
            Some(rest)
        }
        _ => None,
    }
}

fn read_public_key(session: &Session, handle: ObjectHandle) -> Result<PublicKey, AttestError> {
    let attributes = session
        .get_attributes(
            handle,
            &[
                AttributeType::KeyType,
                AttributeType::EcParams,
                AttributeType::EcPoint,
            ],
        )
        .map_err(|err| token_err("reading the public key", err))?;
    let (mut key_type, mut params, mut point) = (None, None, None);
    for attribute in attributes {
        match attribute {
            Attribute::KeyType(value) => key_type = Some(value),
            Attribute::EcParams(value) => params = Some(value),
            Attribute::EcPoint(value) => point = Some(value),
            _ => {}
        }
    }
    let (Some(params), Some(point)) = (params, point) else {
        return Err(AttestError::UnsupportedAlgorithm {
            algorithm: format!(
                "PKCS#11 key type {key_type:?} (consign signs with EC P-256 and Ed25519 token keys)"
            ),
        });
    };
    let der = if key_type == Some(KeyType::EC) && params == P256_EC_PARAMS {
        let raw = unwrap_octet_string(&point, 65).ok_or_else(|| {
            token_err(
                "reading the public key",
                "`CKA_EC_POINT` is not a 65-byte uncompressed P-256 point",
            )
        })?;
        [P256_SPKI_PREFIX.as_slice(), raw].concat()
    } else if key_type == Some(KeyType::EC_EDWARDS)
        && (params == ED25519_OID_PARAMS || params == ED25519_NAME_PARAMS)
    {
        let raw = unwrap_octet_string(&point, 32).ok_or_else(|| {
            token_err(
                "reading the public key",
                "`CKA_EC_POINT` is not a 32-byte Ed25519 key",
            )
        })?;
        [ED25519_SPKI_PREFIX.as_slice(), raw].concat()
    } else {
        return Err(AttestError::UnsupportedAlgorithm {
            algorithm: format!(
                "PKCS#11 key type {key_type:?} with EC parameters {}",
                hex::encode(&params)
            ),
        });
    };
    PublicKey::from_spki_der(&der)
}

impl Pkcs11Signer {
    /// Opens the key named by `uri` in the module at `module`, logging in with `pin`.
    pub fn open(uri: &Pkcs11Uri, module: &str, pin: &str) -> Result<Self, AttestError> {
        let (context, session) = open_session(uri, module, pin)?;
        let private_key = find_one(&session, uri, ObjectClass::PRIVATE_KEY, "private key")?;
        let public_handle = find_one(&session, uri, ObjectClass::PUBLIC_KEY, "public key object")?;
        let public_key = read_public_key(&session, public_handle)?;
        Ok(Self {
            _context: context,
            session: Mutex::new(session),
            private_key,
            public_key,
        })
    }

    /// Generates a key pair inside the token, labelled and identified as `uri` says, with a
    /// private key that is sensitive and not extractable, then opens it.
    pub fn generate(
        uri: &Pkcs11Uri,
        module: &str,
        pin: &str,
        algorithm: KeyAlgorithm,
    ) -> Result<Self, AttestError> {
        let (context, session) = open_session(uri, module, pin)?;
        let (mechanism, params): (Mechanism<'_>, &[u8]) = match algorithm {
            KeyAlgorithm::Ed25519 => (Mechanism::EccEdwardsKeyPairGen, &ED25519_OID_PARAMS),
            KeyAlgorithm::EcdsaP256Sha256 => (Mechanism::EccKeyPairGen, &P256_EC_PARAMS),
        };
        let mut public_template = vec![
            Attribute::Token(true),
            Attribute::Verify(true),
            Attribute::EcParams(params.to_vec()),
        ];
        let mut private_template = vec![
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sign(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
        ];
        for template in [&mut public_template, &mut private_template] {
            if let Some(label) = &uri.object {
                template.push(Attribute::Label(label.as_bytes().to_vec()));
            }
            if let Some(id) = &uri.id {
                template.push(Attribute::Id(id.clone()));
            }
        }
        let (public_handle, private_key) = session
            .generate_key_pair(&mechanism, &public_template, &private_template)
            .map_err(|err| {
                token_err(
                    format!("generating an {algorithm} key pair in the token"),
                    err,
                )
            })?;
        let public_key = read_public_key(&session, public_handle)?;
        Ok(Self {
            _context: context,
            session: Mutex::new(session),
            private_key,
            public_key,
        })
    }

    /// Reads `CKA_EXTRACTABLE` and `CKA_SENSITIVE` of the private key back from the token.
    pub fn protection(&self) -> Result<KeyProtection, AttestError> {
        let session = self
            .session
            .lock()
            .map_err(|_| token_err("reading key attributes", "the session lock is poisoned"))?;
        let attributes = session
            .get_attributes(
                self.private_key,
                &[AttributeType::Extractable, AttributeType::Sensitive],
            )
            .map_err(|err| token_err("reading key attributes", err))?;
        let mut protection = KeyProtection {
            extractable: true,
            sensitive: false,
        };
        for attribute in attributes {
            match attribute {
                Attribute::Extractable(value) => protection.extractable = value,
                Attribute::Sensitive(value) => protection.sensitive = value,
                _ => {}
            }
        }
        Ok(protection)
    }
}

impl Signer for Pkcs11Signer {
    fn public_key(&self) -> PublicKey {
        self.public_key.clone()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, AttestError> {
        let session = self
            .session
            .lock()
            .map_err(|_| token_err("signing", "the session lock is poisoned"))?;
        match self.public_key.algorithm() {
            KeyAlgorithm::Ed25519 => {
                let mechanism = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
                session
                    .sign(&mechanism, self.private_key, message)
                    .map_err(|err| {
                        token_err("signing with the token's Ed25519 key (CKM_EDDSA)", err)
                    })
            }
            KeyAlgorithm::EcdsaP256Sha256 => {
                let digest = sha2::Sha256::digest(message);
                let raw = session
                    .sign(&Mechanism::Ecdsa, self.private_key, &digest)
                    .map_err(|err| {
                        token_err("signing with the token's P-256 key (CKM_ECDSA)", err)
                    })?;
                let signature = p256::ecdsa::Signature::from_slice(&raw).map_err(|_| {
                    AttestError::MalformedSignature {
                        algorithm: "ECDSA P-256",
                        len: raw.len(),
                        expected: "64 bytes `r || s` from the token",
                    }
                })?;
                Ok(signature.to_der().as_bytes().to_vec())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc7512_uris() {
        let uri = Pkcs11Uri::parse(
            "pkcs11:token=My%20Token;object=release;id=%01%02;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin",
        )
        .unwrap();
        assert_eq!(uri.token.as_deref(), Some("My Token"));
        assert_eq!(uri.object.as_deref(), Some("release"));
        assert_eq!(uri.id.as_deref(), Some([1u8, 2].as_slice()));
        assert_eq!(
            uri.module_path.as_deref(),
            Some("/usr/lib/softhsm/libsofthsm2.so")
        );
        assert_eq!(uri.pin, PinSource::File("/run/pin".into()));
        let uri = Pkcs11Uri::parse("pkcs11:object=k?pin-value=1234").unwrap();
        assert_eq!(uri.resolve_pin(None).unwrap(), "1234");
        let uri = Pkcs11Uri::parse("pkcs11:object=k").unwrap();
        assert_eq!(uri.resolve_pin(Some("9".into())).unwrap(), "9");
        assert!(
            uri.resolve_module(None)
                .unwrap_err()
                .to_string()
                .contains("CONSIGN_PKCS11_MODULE")
        );
        assert_eq!(
            format!("{:?}", PinSource::Value("secret".into())),
            "Value(<redacted>)"
        );
    }

    #[test]
    fn refuses_what_it_does_not_support() {
        let cases = [
            (
                "file:x",
                "pkcs11 URI: scheme: expected a URI starting with `pkcs11:`",
            ),
            (
                "pkcs11:token=a",
                "pkcs11 URI: key: expected an `object` (label) or `id` attribute naming the private key",
            ),
            (
                "pkcs11:object=a;model=x",
                "pkcs11 URI: path attribute `model`: expected one of `token`, `serial`, `slot-id`, `object`, `id`, `type` (consign does not support the others)",
            ),
            (
                "pkcs11:object=a;type=cert",
                "pkcs11 URI: attribute `type`: expected `private` (a signing key), found `cert`",
            ),
            (
                "pkcs11:object=%zz",
                "pkcs11 URI: attribute `object`: expected `%` followed by two hex digits",
            ),
            (
                "pkcs11:object=a%",
                "pkcs11 URI: attribute `object`: expected `%` followed by two hex digits",
            ),
            (
                "pkcs11:object=a?pin-source=https://x",
                "pkcs11 URI: attribute `pin-source`: expected `file:PATH` (consign reads the PIN from a file)",
            ),
            (
                "pkcs11:object=a;slot-id=x",
                "pkcs11 URI: attribute `slot-id`: expected a decimal number",
            ),
            (
                "pkcs11:object",
                "pkcs11 URI: path attribute `object`: expected `name=value`",
            ),
        ];
        for (input, expect) in cases {
            assert_eq!(
                Pkcs11Uri::parse(input).unwrap_err().to_string(),
                expect,
                "{input}"
            );
        }
    }

    #[test]
    fn ec_points_are_unwrapped() {
        let raw = [7u8; 32];
        let wrapped = [[0x04, 32].as_slice(), &raw].concat();
        assert_eq!(unwrap_octet_string(&wrapped, 32), Some(raw.as_slice()));
        assert_eq!(unwrap_octet_string(&raw, 32), Some(raw.as_slice()));
        assert_eq!(unwrap_octet_string(&[0x04, 31, 1], 32), None);
    }
}
