//! Secrets: private keys and certificates baked into the image.
//!
//! # What it detects
//!
//! - private keys in PEM (PKCS#1 `RSA PRIVATE KEY`, SEC1 `EC PRIVATE KEY`, `DSA PRIVATE KEY`,
//!   PKCS#8 `PRIVATE KEY` and `ENCRYPTED PRIVATE KEY`, OpenSSH `openssh-key-v1`), Dropbear's binary
//!   host keys, and PKCS#12 files, anywhere in any file (a key inside a program counts);
//! - SSH host keys (by name, or any Dropbear key): every unit built from the image shares them;
//! - X.509 certificates (PEM, and DER files named `.der`, `.cer`, `.crt`): subject, key, expiry at
//!   [`crate::Options::date`], MD5/SHA-1 signatures; bundles of CA certificates are one finding;
//! - weak keys: RSA and DSA under 2048 bits, any DSA, elliptic curves under 256 bits;
//! - host keys made at first boot (`dropbearkey`, `ssh-keygen`, `dropbear -R`) by a boot script.
//!
//! # Evidence
//!
//! The file, the line (text) or byte offset of the key, its type and size, and a fingerprint
//! (`SHA256:` as OpenSSH prints it for SSH keys; `sha256:` and 16 hex digits of the DER key
//! otherwise) so the same key can be recognised in another image. No key material is shown.
//!
//! # Limits
//!
//! A PEM block counts only when its base64 body decodes and parses as the structure its label
//! names; labels in programs without a body (`ssh-keygen` has them) are not keys. Keys in
//! compressed or encrypted blobs that consign does not unpack are not seen. PKCS#12 contents are
//! not decrypted: only their presence is reported. Keys inside cryptographic libraries
//! (`libgnutls`, `libcrypto`, `libmbedcrypto`, ...) are their published self-test keys and are
//! not reported. Certificates alone in a file under a
//! trust-store folder (`/etc/ssl/certs`, `/usr/share/ca-certificates`) are not reported one by one.

use std::fmt::Write as _;

use base64ct::{Base64, Base64Unpadded, Encoding as _};
use consign_model::{VfsNode, binary};
use memchr::memmem;
use sha2::{Digest as _, Sha256};

use crate::der::{self, Item};
use crate::finding::{Finding, Rule, Severity};
use crate::text::{self, basename};
use crate::tree::{FileSystem, Tree};
use crate::{Context, Sink};

/// What a key is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct KeyInfo {
    /// `RSA`, `EC`, `DSA`, `Ed25519`, `Ed448`, `X25519`, or the algorithm's OID.
    pub(crate) algorithm: String,
    /// The size in bits (modulus, prime or curve).
    pub(crate) bits: Option<usize>,
    /// The curve's name, for EC keys.
    pub(crate) curve: Option<&'static str>,
    /// The key is encrypted with a passphrase.
    pub(crate) encrypted: bool,
    /// The container format (`PKCS#1 PEM`, `OpenSSH`, ...).
    pub(crate) format: &'static str,
    /// The fingerprint.
    pub(crate) fingerprint: String,
}

impl KeyInfo {
    fn describe(&self) -> String {
        let mut out = self.algorithm.clone();
        if let Some(curve) = self.curve {
            out.push(' ');
            out.push_str(curve);
        } else if let Some(bits) = self.bits {
            let _ = write!(out, " {bits}-bit");
        }
        out
    }

    /// Why the key is weak, if it is.
    pub(crate) fn weakness(&self) -> Option<String> {
        match (self.algorithm.as_str(), self.bits) {
            ("DSA", _) => {
                Some("DSA is retired (FIPS 186-5) and OpenSSH no longer accepts it".to_owned())
            }
            ("RSA", Some(bits)) if bits < 2048 => Some(format!(
                "{bits}-bit RSA is under the 2048 bits NIST SP 800-131A requires"
            )),
            ("EC", Some(bits)) if bits < 256 => Some(format!(
                "a {bits}-bit curve is under the 256 bits NIST SP 800-131A requires"
            )),
            _ => None,
        }
    }
}

fn der_fingerprint(der: &[u8]) -> String {
    text::secret_digest(der)
}

fn ssh_fingerprint(blob: &[u8]) -> String {
    format!(
        "SHA256:{}",
        Base64Unpadded::encode_string(&Sha256::digest(blob))
    )
}

const RSA: &str = "1.2.840.113549.1.1.1";
const EC: &str = "1.2.840.10045.2.1";
const DSA: &str = "1.2.840.10040.4.1";

fn curve(oid: &str) -> Option<(&'static str, usize)> {
    Some(match oid {
        "1.2.840.10045.3.1.7" => ("P-256", 256),
        "1.3.132.0.34" => ("P-384", 384),
        "1.3.132.0.35" => ("P-521", 521),
        "1.2.840.10045.3.1.1" => ("P-192", 192),
        "1.3.132.0.33" => ("P-224", 224),
        "1.3.132.0.10" => ("secp256k1", 256),
        "1.3.36.3.3.2.8.1.1.7" => ("brainpoolP256r1", 256),
        "1.3.36.3.3.2.8.1.1.11" => ("brainpoolP384r1", 384),
        _ => return None,
    })
}

fn named_algorithm(oid: &str) -> String {
    match oid {
        RSA => "RSA",
        EC => "EC",
        DSA => "DSA",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        "1.3.101.110" => "X25519",
        "1.3.101.111" => "X448",
        "1.2.643.2.2.19" => "GOST R 34.10-2001",
        "1.2.643.7.1.1.1.1" => "GOST R 34.10-2012 (256-bit)",
        "1.2.643.7.1.1.1.2" => "GOST R 34.10-2012 (512-bit)",
        other => return other.to_owned(),
    }
    .to_owned()
}

fn info(algorithm: &str, bits: Option<usize>, format: &'static str, der: &[u8]) -> KeyInfo {
    KeyInfo {
        algorithm: algorithm.to_owned(),
        bits,
        curve: None,
        encrypted: false,
        format,
        fingerprint: der_fingerprint(der),
    }
}

/// PKCS#1 `RSAPrivateKey`: version, n, e, d, ...
fn pkcs1(der: &[u8]) -> Option<KeyInfo> {
    let (body, _) = der::expect(der, der::SEQUENCE)?;
    let items = der::items(body, 16)?;
    if items.len() < 9 || items.iter().take(9).any(|i| i.tag != der::INTEGER) {
        return None;
    }
    Some(info(
        "RSA",
        Some(der::bit_length(items[1].body)),
        "PKCS#1",
        der,
    ))
}

/// SEC1 `ECPrivateKey`: version 1, key, [0] curve, [1] public key.
fn sec1(der: &[u8]) -> Option<KeyInfo> {
    let (body, _) = der::expect(der, der::SEQUENCE)?;
    let items = der::items(body, 8)?;
    if items.first()?.tag != der::INTEGER || der::small_integer(items[0].body)? != 1 {
        return None;
    }
    if items.get(1)?.tag != der::OCTET_STRING {
        return None;
    }
    let mut key = info("EC", Some(items[1].body.len() * 8), "SEC1", der);
    if let Some(params) = items.iter().find(|i| i.tag == 0xa0)
        && let Some((oid, _)) = der::expect(params.body, der::OID)
        && let Some((name, bits)) = der::oid(oid).as_deref().and_then(curve)
    {
        key.curve = Some(name);
        key.bits = Some(bits);
    }
    Some(key)
}

/// OpenSSL's `DSAPrivateKey`: 0, p, q, g, y, x.
fn dsa(der: &[u8]) -> Option<KeyInfo> {
    let (body, _) = der::expect(der, der::SEQUENCE)?;
    let items = der::items(body, 8)?;
    if items.len() != 6 || items.iter().any(|i| i.tag != der::INTEGER) {
        return None;
    }
    Some(info(
        "DSA",
        Some(der::bit_length(items[1].body)),
        "DSA",
        der,
    ))
}

/// An `AlgorithmIdentifier`'s algorithm and curve.
fn algorithm_identifier(item: Item<'_>) -> Option<(String, Option<(&'static str, usize)>)> {
    if item.tag != der::SEQUENCE {
        return None;
    }
    let (oid, rest) = der::expect(item.body, der::OID)?;
    let oid = der::oid(oid)?;
    let curve = der::expect(rest, der::OID)
        .and_then(|(param, _)| der::oid(param))
        .and_then(|param| curve(&param));
    Some((oid, curve))
}

/// PKCS#8 `PrivateKeyInfo` (RFC 5958 `OneAsymmetricKey`).
fn pkcs8(der: &[u8]) -> Option<KeyInfo> {
    let (body, _) = der::expect(der, der::SEQUENCE)?;
    let items = der::items(body, 8)?;
    if items.len() < 3 || items[0].tag != der::INTEGER || der::small_integer(items[0].body)? > 1 {
        return None;
    }
    let (oid, curve) = algorithm_identifier(items[1])?;
    if items[2].tag != der::OCTET_STRING {
        return None;
    }
    let mut key = match oid.as_str() {
        RSA => pkcs1(items[2].body)?,
        EC => {
            let mut key = sec1(items[2].body)?;
            if let Some((name, bits)) = curve {
                key.curve = Some(name);
                key.bits = Some(bits);
            }
            key
        }
        DSA => {
            let bits = der::expect(items[1].body, der::OID)
                .and_then(|(_, params)| der::expect(params, der::SEQUENCE))
                .and_then(|(params, _)| der::expect(params, der::INTEGER))
                .map(|(p, _)| der::bit_length(p));
            info("DSA", bits, "PKCS#8", der)
        }
        other => info(&named_algorithm(other), None, "PKCS#8", der),
    };
    key.format = "PKCS#8";
    key.fingerprint = der_fingerprint(der);
    Some(key)
}

/// PKCS#8 `EncryptedPrivateKeyInfo`: algorithm, encrypted data.
fn encrypted_pkcs8(der: &[u8]) -> Option<KeyInfo> {
    let (body, _) = der::expect(der, der::SEQUENCE)?;
    let items = der::items(body, 4)?;
    if items.len() != 2 || items[1].tag != der::OCTET_STRING {
        return None;
    }
    algorithm_identifier(items[0])?;
    let mut key = info("an unknown algorithm", None, "encrypted PKCS#8", der);
    key.encrypted = true;
    Some(key)
}

/// PKCS#12: version 3, an `authSafe` `ContentInfo` of type `data` or `signedData`.
fn pkcs12(der: &[u8]) -> Option<KeyInfo> {
    let (body, _) = der::expect(der, der::SEQUENCE)?;
    let (version, rest) = der::expect(body, der::INTEGER)?;
    if der::small_integer(version)? != 3 {
        return None;
    }
    let (content_info, _) = der::expect(rest, der::SEQUENCE)?;
    let (oid, _) = der::expect(content_info, der::OID)?;
    let oid = der::oid(oid)?;
    if oid != "1.2.840.113549.1.7.1" && oid != "1.2.840.113549.1.7.2" {
        return None;
    }
    let mut key = info("keys and certificates", None, "PKCS#12", der);
    key.encrypted = true;
    Some(key)
}

/// Reads SSH wire strings.
struct Wire<'a>(&'a [u8]);

impl<'a> Wire<'a> {
    fn string(&mut self) -> Option<&'a [u8]> {
        let length = binary::u32be(self.0, 0)? as usize;
        let value = self.0.get(4..4usize.checked_add(length)?)?;
        self.0 = &self.0[4 + length..];
        Some(value)
    }

    fn u32(&mut self) -> Option<u32> {
        let value = binary::u32be(self.0, 0)?;
        self.0 = &self.0[4..];
        Some(value)
    }
}

/// The type and size of an SSH public key blob.
fn ssh_public(blob: &[u8]) -> Option<(String, Option<usize>, Option<&'static str>)> {
    let mut wire = Wire(blob);
    let kind = std::str::from_utf8(wire.string()?).ok()?.to_owned();
    Some(match kind.as_str() {
        "ssh-rsa" => {
            wire.string()?;
            (
                "RSA".to_owned(),
                Some(der::bit_length(wire.string()?)),
                None,
            )
        }
        "ssh-dss" => (
            "DSA".to_owned(),
            Some(der::bit_length(wire.string()?)),
            None,
        ),
        "ssh-ed25519" => ("Ed25519".to_owned(), Some(256), None),
        "ecdsa-sha2-nistp256" => ("EC".to_owned(), Some(256), Some("P-256")),
        "ecdsa-sha2-nistp384" => ("EC".to_owned(), Some(384), Some("P-384")),
        "ecdsa-sha2-nistp521" => ("EC".to_owned(), Some(521), Some("P-521")),
        _ => return None,
    })
}

/// OpenSSH's `openssh-key-v1` format.
fn openssh(data: &[u8]) -> Option<KeyInfo> {
    let rest = data.strip_prefix(b"openssh-key-v1\0")?;
    let mut wire = Wire(rest);
    let cipher = wire.string()?;
    wire.string()?;
    wire.string()?;
    if wire.u32()? == 0 {
        return None;
    }
    let blob = wire.string()?;
    let (algorithm, bits, curve) = ssh_public(blob)?;
    Some(KeyInfo {
        algorithm,
        bits,
        curve,
        encrypted: cipher != b"none",
        format: "OpenSSH",
        fingerprint: ssh_fingerprint(blob),
    })
}

/// Dropbear's binary host key: the SSH wire encoding of the public then the private values.
pub(crate) fn dropbear(data: &[u8]) -> Option<KeyInfo> {
    if data.len() > 16 * 1024 {
        return None;
    }
    let mut wire = Wire(data);
    let kind = wire.string()?;
    let (values, public_end) = match kind {
        b"ssh-rsa" => (5, 2),
        b"ssh-dss" => (5, 4),
        b"ecdsa-sha2-nistp256" | b"ecdsa-sha2-nistp384" | b"ecdsa-sha2-nistp521" => (3, 2),
        b"ssh-ed25519" => (1, 0),
        _ => return None,
    };
    let mut public_len = 0;
    let mut ed25519 = None;
    for index in 0..values {
        let value = wire.string()?;
        if kind == b"ssh-ed25519" {
            if value.len() != 64 {
                return None;
            }
            ed25519 = Some(&value[32..]);
        }
        if index + 1 == public_end {
            public_len = data.len() - wire.0.len();
        }
    }
    // Dropbear writes nothing after the key (RSA keys may carry extra values in newer versions).
    if wire.0.len() > 4 * 1024 {
        return None;
    }
    let blob = match ed25519 {
        Some(public) => {
            let mut blob = Vec::new();
            for part in [&b"ssh-ed25519"[..], public] {
                blob.extend_from_slice(&(part.len() as u32).to_be_bytes());
                blob.extend_from_slice(part);
            }
            blob
        }
        None => data[..public_len].to_vec(),
    };
    let (algorithm, bits, curve) = ssh_public(&blob)?;
    Some(KeyInfo {
        algorithm,
        bits,
        curve,
        encrypted: false,
        format: "Dropbear",
        fingerprint: ssh_fingerprint(&blob),
    })
}

/// A certificate's facts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CertInfo {
    pub(crate) subject: String,
    pub(crate) self_signed: bool,
    pub(crate) not_after: (u16, u8, u8),
    pub(crate) key: Option<KeyInfo>,
    pub(crate) weak_signature: Option<&'static str>,
    pub(crate) fingerprint: String,
}

fn common_name(name: &[u8]) -> Option<String> {
    for rdn in der::items(name, 64)? {
        for attribute in der::items(rdn.body, 16)? {
            let (oid, value) = der::expect(attribute.body, der::OID)?;
            if der::oid(oid)? == "2.5.4.3" {
                let (value, _) = der::read(value)?;
                return Some(String::from_utf8_lossy(value.body).into_owned());
            }
        }
    }
    None
}

fn spki(item: Item<'_>) -> Option<KeyInfo> {
    let items = der::items(item.body, 4)?;
    let (oid, curve) = algorithm_identifier(*items.first()?)?;
    let key_bits = items
        .get(1)
        .filter(|i| i.tag == der::BIT_STRING)?
        .body
        .get(1..)?;
    let mut key = info(&named_algorithm(&oid), None, "X.509", item.body);
    match oid.as_str() {
        RSA => {
            let (modulus, _) = der::expect(der::expect(key_bits, der::SEQUENCE)?.0, der::INTEGER)?;
            key.bits = Some(der::bit_length(modulus));
        }
        EC => {
            if let Some((name, bits)) = curve {
                key.curve = Some(name);
                key.bits = Some(bits);
            }
        }
        DSA => {
            key.bits = der::expect(items[0].body, der::OID)
                .and_then(|(_, params)| der::expect(params, der::SEQUENCE))
                .and_then(|(params, _)| der::expect(params, der::INTEGER))
                .map(|(p, _)| der::bit_length(p));
        }
        _ => {}
    }
    Some(key)
}

/// An X.509 certificate.
pub(crate) fn certificate(data: &[u8]) -> Option<CertInfo> {
    let (body, _) = der::expect(data, der::SEQUENCE)?;
    let outer = der::items(body, 4)?;
    if outer.len() != 3 || outer[0].tag != der::SEQUENCE {
        return None;
    }
    let mut tbs = der::items(outer[0].body, 16)?;
    if tbs.first()?.tag == 0xa0 {
        tbs.remove(0);
    }
    // serial, signature, issuer, validity, subject, subjectPublicKeyInfo
    if tbs.len() < 6 || tbs[0].tag != der::INTEGER || tbs[3].tag != der::SEQUENCE {
        return None;
    }
    let validity = der::items(tbs[3].body, 2)?;
    let not_after = der::date(*validity.get(1)?)?;
    let signature = der::expect(outer[1].body, der::OID)
        .and_then(|(oid, _)| der::oid(oid))
        .unwrap_or_default();
    let weak_signature = match signature.as_str() {
        "1.2.840.113549.1.1.4" => Some("MD5"),
        "1.2.840.113549.1.1.2" => Some("MD2"),
        "1.2.840.113549.1.1.5" | "1.2.840.10040.4.3" | "1.2.840.10045.4.1" => Some("SHA-1"),
        _ => None,
    };
    let subject = common_name(tbs[4].body).unwrap_or_else(|| "(no common name)".to_owned());
    Some(CertInfo {
        subject: text::clip(&subject, 80),
        self_signed: tbs[2].body == tbs[4].body,
        not_after,
        key: spki(tbs[5]),
        weak_signature,
        fingerprint: format!("sha256:{}", text::hex(&Sha256::digest(data))),
    })
}

/// One PEM block found in a file.
struct Block {
    label: String,
    encrypted: bool,
    der: Vec<u8>,
    offset: usize,
}

/// The PEM blocks in `data`, at most `max`.
fn pem_blocks(data: &[u8], max: usize) -> Vec<Block> {
    let mut out = Vec::new();
    let finder = memmem::Finder::new(b"-----BEGIN ");
    let mut from = 0;
    while out.len() < max {
        let Some(found) = finder.find(&data[from..]) else {
            break;
        };
        let start = from + found;
        from = start + 11;
        let Some(label_end) = memmem::find(&data[from..(from + 64).min(data.len())], b"-----")
        else {
            continue;
        };
        let label = String::from_utf8_lossy(&data[from..from + label_end]).into_owned();
        if !label
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b == b' ' || b.is_ascii_digit())
        {
            continue;
        }
        let body_start = from + label_end + 5;
        let end_marker = format!("-----END {label}-----");
        let window = &data[body_start..(body_start + (1 << 20)).min(data.len())];
        let Some(body_len) = memmem::find(window, end_marker.as_bytes()) else {
            continue;
        };
        let body = &window[..body_len];
        from = body_start + body_len + end_marker.len();
        let mut encrypted = false;
        let mut base64 = Vec::with_capacity(body.len());
        for line in body.split(|&b| b == b'\n') {
            let line = line.trim_ascii();
            if line.contains(&b':') {
                encrypted |= line.starts_with(b"Proc-Type:") && line.ends_with(b"ENCRYPTED");
                continue;
            }
            base64.extend(line.iter().copied().filter(|b| !b.is_ascii_whitespace()));
        }
        let Ok(der) = Base64::decode_vec(&String::from_utf8_lossy(&base64)) else {
            continue;
        };
        out.push(Block {
            label,
            encrypted,
            der,
            offset: start,
        });
    }
    out
}

/// A key or certificate in one PEM block.
enum Pem {
    Key(KeyInfo),
    Cert(Box<CertInfo>),
}

fn parse_block(block: &Block) -> Option<Pem> {
    let der = block.der.as_slice();
    let key = match block.label.as_str() {
        "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE" => {
            return certificate(der).map(|c| Pem::Cert(Box::new(c)));
        }
        "RSA PRIVATE KEY" if block.encrypted => {
            let mut key = info("RSA", None, "PKCS#1", der);
            key.encrypted = true;
            key
        }
        "EC PRIVATE KEY" if block.encrypted => {
            let mut key = info("EC", None, "SEC1", der);
            key.encrypted = true;
            key
        }
        "DSA PRIVATE KEY" if block.encrypted => {
            let mut key = info("DSA", None, "DSA", der);
            key.encrypted = true;
            key
        }
        "RSA PRIVATE KEY" => pkcs1(der)?,
        "EC PRIVATE KEY" => sec1(der)?,
        "DSA PRIVATE KEY" => dsa(der)?,
        "PRIVATE KEY" => pkcs8(der)?,
        "ENCRYPTED PRIVATE KEY" => encrypted_pkcs8(der)?,
        "OPENSSH PRIVATE KEY" => openssh(der)?,
        _ => return None,
    };
    Some(Pem::Key(key))
}

/// True for SSH host key names (`ssh_host_rsa_key`, `dropbear_rsa_host_key`, `rsa_host_key`).
pub(crate) fn is_host_key_path(path: &str) -> bool {
    let name = basename(path);
    (name.contains("host_key")
        || name.contains("hostkey")
        || (name.starts_with("ssh_host_") && name.ends_with("_key"))
        || path.starts_with("/etc/dropbear/"))
        && !std::path::Path::new(name)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("pub"))
}

fn is_trust_store(path: &str) -> bool {
    [
        "/etc/ssl/certs/",
        "/usr/share/ca-certificates/",
        "/etc/pki/",
        "/usr/local/share/ca-certificates/",
        "/etc/ca-certificates/",
    ]
    .iter()
    .any(|prefix| path.starts_with(prefix))
}

/// Cryptographic libraries carry published keys for their self-tests (`GnuTLS`, OpenSSL FIPS
/// providers, mbed TLS, wolfSSL): those are not the device's secrets.
fn is_crypto_library(name: &str, data: &[u8]) -> bool {
    data.starts_with(b"\x7fELF")
        && [
            "libgnutls",
            "libcrypto",
            "libssl",
            "libmbedcrypto",
            "libmbedtls",
            "libmbedx509",
            "libwolfssl",
            "libnettle",
            "libhogweed",
            "fips.so",
            "libgcrypt",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

fn line_of(data: &[u8], offset: usize) -> u32 {
    u32::try_from(memchr::memchr_iter(b'\n', &data[..offset]).count() + 1).unwrap_or(u32::MAX)
}

/// Audits one file for keys and certificates.
pub(crate) fn audit_file(
    node: &VfsNode,
    data: &[u8],
    _tree: &Tree<'_>,
    context: &Context<'_>,
    sink: &mut Sink,
) {
    let file = node
        .provenance
        .last()
        .and_then(|p| p.path.as_deref())
        .map(crate::tree::normalise);
    let inner = file.clone().unwrap_or_else(|| node.path.clone());
    let base = |rule: Rule, severity: Severity| {
        let finding = Finding::new(rule, severity, &node.path);
        match &file {
            Some(file) => finding.file(file),
            None => finding,
        }
    };
    let is_text = text::is_text(data);

    // Dropbear's binary keys, PKCS#12 and DER certificates are whole files.
    if let Some(key) = dropbear(data) {
        report_key(
            &key,
            true,
            base(Rule::HostKey, Severity::High).offset(0),
            "",
            sink,
        );
        return;
    }
    let name = basename(&inner).to_ascii_lowercase();
    if data.first() == Some(&der::SEQUENCE) && data.len() <= 256 * 1024 {
        if let Some(key) = pkcs12(data) {
            report_key(
                &key,
                false,
                base(Rule::PrivateKey, Severity::High).offset(0),
                "",
                sink,
            );
            return;
        }
        if [".der", ".cer", ".crt", ".cert", ".key"]
            .iter()
            .any(|e| name.ends_with(e))
        {
            if let Some(cert) = certificate(data) {
                report_certs(&[(cert, 0)], &inner, data, false, &base, context, sink);
                return;
            }
            if let Some(key) = pkcs8(data).or_else(|| pkcs1(data)).or_else(|| sec1(data)) {
                let host = is_host_key_path(&inner);
                let rule = if host {
                    Rule::HostKey
                } else {
                    Rule::PrivateKey
                };
                report_key(&key, host, base(rule, Severity::High).offset(0), "", sink);
                return;
            }
        }
    }

    if memmem::find(data, b"-----BEGIN ").is_none() || is_crypto_library(&name, data) {
        return;
    }
    let blocks = pem_blocks(data, context.limits.max_pem_blocks);
    let mut certs = Vec::new();
    for block in &blocks {
        match parse_block(block) {
            Some(Pem::Key(key)) => {
                let host = is_host_key_path(&inner) && key.format != "PKCS#12";
                let rule = if host {
                    Rule::HostKey
                } else {
                    Rule::PrivateKey
                };
                let mut finding = base(rule, Severity::High).offset(block.offset as u64);
                if is_text {
                    finding = finding.line(line_of(data, block.offset));
                }
                report_key(&key, host, finding, &block.label, sink);
            }
            Some(Pem::Cert(cert)) => certs.push((*cert, block.offset)),
            None => {}
        }
    }
    if !certs.is_empty() {
        report_certs(&certs, &inner, data, is_text, &base, context, sink);
    }
}

fn report_key(key: &KeyInfo, host: bool, finding: Finding, label: &str, sink: &mut Sink) {
    let what = key.describe();
    let protection = if key.encrypted {
        ", encrypted with a passphrase that the device must also hold"
    } else {
        ", unencrypted"
    };
    let severity = if key.encrypted && !host {
        Severity::Medium
    } else {
        Severity::High
    };
    let message = if host {
        format!(
            "an SSH host private key ({what}, {} format{protection}) is shipped in the image: every unit has the same host key, so one unit's key lets anyone impersonate or decrypt all of them",
            key.format
        )
    } else {
        format!(
            "a private key ({what}, {} format{protection}) is shipped in the image, the same in every unit",
            key.format
        )
    };
    let evidence = if label.is_empty() {
        format!("{} key, {what}", key.format)
    } else {
        format!("-----BEGIN {label}----- ({what})")
    };
    let mut finding = finding
        .message(message)
        .evidence(evidence)
        .fingerprint(key.fingerprint.clone());
    finding.severity = severity;
    if let Some(weakness) = key.weakness() {
        let mut weak = finding.clone();
        weak.rule = Rule::WeakKey;
        weak.severity = Severity::Medium;
        weak.provisions = Rule::WeakKey.provisions();
        weak.message = format!("a shipped key is weak: {weakness}");
        sink.push(weak);
    }
    sink.push(finding);
}

fn date_text((y, m, d): (u16, u8, u8)) -> String {
    format!("{y:04}-{m:02}-{d:02}")
}

fn report_certs(
    certs: &[(CertInfo, usize)],
    inner: &str,
    data: &[u8],
    is_text: bool,
    base: &dyn Fn(Rule, Severity) -> Finding,
    context: &Context<'_>,
    sink: &mut Sink,
) {
    let expired = |cert: &CertInfo| {
        context
            .date
            .is_some_and(|date| cert.not_after < (date.year, date.month, date.day))
    };
    if certs.len() >= 4 || (is_trust_store(inner) && certs.len() > 1) {
        let gone = certs.iter().filter(|(c, _)| expired(c)).count();
        let date_note = match context.date {
            Some(date) if gone > 0 => format!(", {gone} of them expired at {date}"),
            _ => String::new(),
        };
        sink.push(
            base(Rule::TrustStore, Severity::Info)
                .message(format!(
                    "a bundle of {} CA certificates{date_note}; the device trusts whoever they vouch for, and it must be updated as CAs are withdrawn",
                    certs.len()
                ))
                .evidence(format!("{} certificates, the first `{}`", certs.len(), certs[0].0.subject)),
        );
        return;
    }
    if is_trust_store(inner) {
        return;
    }
    for (cert, offset) in certs {
        let place = |finding: Finding| {
            let finding = finding.offset(*offset as u64);
            if is_text {
                finding.line(line_of(data, *offset))
            } else {
                finding
            }
        };
        let key = cert
            .key
            .as_ref()
            .map_or_else(|| "an unknown key".to_owned(), KeyInfo::describe);
        let evidence = format!(
            "subject `{}`, {key}, valid until {}{}",
            cert.subject,
            date_text(cert.not_after),
            if cert.self_signed {
                ", self-signed"
            } else {
                ""
            }
        );
        sink.push(
            place(base(Rule::Certificate, Severity::Info))
                .message(format!(
                    "a certificate for `{}` ({key}) is baked into the image",
                    cert.subject
                ))
                .evidence(evidence.clone())
                .fingerprint(cert.fingerprint.clone()),
        );
        if expired(cert) {
            sink.push(
                place(base(Rule::CertificateExpired, Severity::Low))
                    .message(format!(
                        "the certificate for `{}` expired on {}",
                        cert.subject,
                        date_text(cert.not_after)
                    ))
                    .evidence(evidence.clone())
                    .fingerprint(cert.fingerprint.clone()),
            );
        }
        let weakness = cert.key.as_ref().and_then(KeyInfo::weakness).or_else(|| {
            cert.weak_signature
                .map(|s| format!("it is signed with {s}, which is broken for signatures"))
        });
        if let Some(weakness) = weakness {
            sink.push(
                place(base(Rule::WeakKey, Severity::Medium))
                    .message(format!(
                        "the certificate for `{}` is weak: {weakness}",
                        cert.subject
                    ))
                    .evidence(evidence)
                    .fingerprint(cert.fingerprint.clone()),
            );
        }
    }
}

/// Drops a secret found in a container's raw bytes when the same key or certificate was also found
/// in a file extracted from it.
pub(crate) fn drop_copies_in_containers(findings: &mut Vec<Finding>, tree: &Tree<'_>) {
    let extracted: std::collections::HashSet<String> = findings
        .iter()
        .filter(|f| !tree.containers.contains(&f.path))
        .filter_map(|f| f.fingerprint.clone())
        .collect();
    findings.retain(|f| {
        f.rule.category() != crate::Category::Secrets
            || !tree.containers.contains(&f.path)
            || f.fingerprint
                .as_ref()
                .is_none_or(|fp| !extracted.contains(fp))
    });
}

/// Reports boot scripts that make SSH host keys on the device.
pub(crate) fn audit_generation(fs: &FileSystem<'_>, booted: &crate::boot::Booted, sink: &mut Sink) {
    for started in &booted.commands {
        let name = basename(started.words.first().map_or("", String::as_str));
        let args = &started.words[1..];
        let generates = match name {
            "dropbearkey" => true,
            "ssh-keygen" => {
                args.iter().any(|a| a == "-A")
                    || args
                        .iter()
                        .any(|a| a.contains("host_key") || a.contains('$'))
                        && args.iter().any(|a| a == "-f")
            }
            "dropbear" => args.iter().any(|a| a == "-R"),
            _ => false,
        };
        if generates {
            sink.push(
                Finding::new(Rule::HostKeyGenerated, Severity::Info, &started.logical)
                    .file(&started.file)
                    .line(started.line)
                    .message(format!(
                        "SSH host keys are generated on the device at boot by `{name}` in {}",
                        fs.root
                    ))
                    .evidence(started.source.clone()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_without_a_body_is_not_a_key() {
        let data =
            b"\0usage\0-----BEGIN OPENSSH PRIVATE KEY-----\n\0-----END OPENSSH PRIVATE KEY-----\n";
        for block in pem_blocks(data, 10) {
            assert!(parse_block(&block).is_none());
        }
        assert!(dropbear(b"\0\0\0\x07ssh-rsa\0\0\0\x01").is_none());
        assert!(dropbear(b"").is_none());
    }
}
