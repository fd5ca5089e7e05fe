//! The trust store: which parties the verifier trusts, in which roles, with which keys, when.
//!
//! # Format (TOML, `consign-trust/v1`)
//!
//! ```toml
//! format = "consign-trust/v1"
//!
//! [[party]]
//! name = "Example Devices GmbH"
//! roles = ["manufacturer"]
//! contact = "psirt@devices.example"        # optional
//!
//! [[party.key]]
//! public-key = """
//! -----BEGIN PUBLIC KEY-----
//! MCowBQYDK2VwAyEA...
//! -----END PUBLIC KEY-----
//! """
//! valid-from = 2025-01-01                  # TOML date or "YYYY-MM-DD"
//! valid-until = 2030-12-31                 # inclusive
//! ```
//!
//! Roles are `supplier`, `manufacturer`, `distributor`, `importer` and `retailer`. Unknown fields
//! and roles are errors, a key (its key material, however the PEM encodes it) may belong to one
//! party only, and `valid-from` must not be after
//! `valid-until`. A key is judged at the check date the caller passes, never at a time a signer
//! claims. The JSON schema is `schemas/trust/trust-store.schema.json`.

use std::collections::BTreeSet;
use std::fmt;

use consign_model::Sha256;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::error::{VerifyError, cut};

/// The value of the trust store's `format` field.
pub const FORMAT: &str = "consign-trust/v1";

/// A party's role in the supply chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Role {
    /// Supplies components (chips, modules, SDKs, libraries).
    Supplier,
    /// Makes the product and its firmware.
    Manufacturer,
    /// Carries the goods.
    Distributor,
    /// Places the goods on the market.
    Importer,
    /// Sells the goods to consumers.
    Retailer,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Supplier => "supplier",
            Role::Manufacturer => "manufacturer",
            Role::Distributor => "distributor",
            Role::Importer => "importer",
            Role::Retailer => "retailer",
        })
    }
}

/// The signature algorithm a key's SPKI names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// Ed25519 (OID 1.3.101.112).
    Ed25519,
    /// ECDSA on P-256 (id-ecPublicKey with prime256v1).
    EcdsaP256,
}

/// One trusted key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedKey {
    /// The key, read by consign-attest (the one reader of keys).
    pub public: consign_attest::PublicKey,
    /// The `SubjectPublicKeyInfo` DER, re-encoded canonically: equal keys have equal DER.
    pub spki_der: Vec<u8>,
    /// The PEM text as written in the store.
    pub pem: String,
    /// SHA-256 of the DER, the key's fingerprint in reports.
    pub fingerprint: Sha256,
    /// The algorithm.
    pub algorithm: KeyAlgorithm,
    /// First day the key may sign.
    pub valid_from: Date,
    /// Last day the key may sign (inclusive).
    pub valid_until: Date,
}

/// Whether a key may be used at a date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyValidity {
    /// Within its validity period.
    Valid,
    /// Before `valid-from`.
    NotYetValid,
    /// After `valid-until`.
    Expired,
}

impl TrustedKey {
    /// The key's validity at `date`.
    pub fn validity_at(&self, date: Date) -> KeyValidity {
        if date < self.valid_from {
            KeyValidity::NotYetValid
        } else if date > self.valid_until {
            KeyValidity::Expired
        } else {
            KeyValidity::Valid
        }
    }
}

/// A trusted party.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Party {
    /// Its name, unique in the store.
    pub name: String,
    /// The roles it holds.
    pub roles: BTreeSet<Role>,
    /// How to reach it, when given.
    pub contact: Option<String>,
    /// Its keys.
    pub keys: Vec<TrustedKey>,
}

/// A key and the party that holds it, by index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyRef {
    /// Index into [`TrustStore::parties`].
    pub party: usize,
    /// Index into that party's keys.
    pub key: usize,
}

/// A parsed and checked trust store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustStore {
    /// The parties.
    pub parties: Vec<Party>,
    /// SHA-256 of the file as read: the verdict names the store it rested on.
    pub sha256: Sha256,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    format: String,
    #[serde(default)]
    party: Vec<RawParty>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParty {
    name: String,
    roles: Vec<Role>,
    #[serde(default)]
    contact: Option<String>,
    #[serde(default)]
    key: Vec<RawKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawKey {
    public_key: String,
    valid_from: toml::Value,
    valid_until: toml::Value,
}

/// Parses a date given as a TOML date or a `YYYY-MM-DD` string.
pub(crate) fn toml_date(value: &toml::Value, field: &str) -> Result<Date, VerifyError> {
    let text = match value {
        toml::Value::String(text) => text.clone(),
        toml::Value::Datetime(datetime) => datetime.to_string(),
        other => format!("{other:?}"),
    };
    parse_date(&text, field)
}

/// Parses an ISO 8601 calendar date (`2026-11-22`).
pub fn parse_date(text: &str, field: &str) -> Result<Date, VerifyError> {
    let bad = || VerifyError::Date {
        field: field.to_owned(),
        text: cut(text, 80),
    };
    if text.len() != 10 {
        return Err(bad());
    }
    text.parse::<Date>().map_err(|_| bad())
}

impl TrustStore {
    /// Parses a trust store from TOML text; `name` (the file name) is for messages.
    pub fn from_toml(name: &str, text: &str) -> Result<Self, VerifyError> {
        let raw: RawStore = toml::from_str(text).map_err(|source| VerifyError::TrustToml {
            name: name.to_owned(),
            source,
        })?;
        let bad = |reason: String| VerifyError::Trust {
            name: name.to_owned(),
            reason,
        };
        if raw.format != FORMAT {
            return Err(bad(format!(
                "`format` is `{}`, expected `{FORMAT}`",
                cut(&raw.format, 80)
            )));
        }
        if raw.party.is_empty() {
            return Err(bad(
                "it lists no `[[party]]`: nothing could be trusted".to_owned()
            ));
        }
        let mut parties = Vec::with_capacity(raw.party.len());
        let mut names = BTreeSet::new();
        let mut fingerprints = BTreeSet::new();
        for party in raw.party {
            if party.name.trim().is_empty() {
                return Err(bad("a party has an empty `name`".to_owned()));
            }
            if !names.insert(party.name.clone()) {
                return Err(bad(format!("party `{}` is listed twice", party.name)));
            }
            if party.roles.is_empty() {
                return Err(bad(format!("party `{}` has no `roles`", party.name)));
            }
            if party.key.is_empty() {
                return Err(bad(format!(
                    "party `{}` has no `[[party.key]]`",
                    party.name
                )));
            }
            let mut keys = Vec::with_capacity(party.key.len());
            for (idx, key) in party.key.into_iter().enumerate() {
                let field = |what: &str| format!("party `{}` key {} `{what}`", party.name, idx + 1);
                let public = consign_attest::PublicKey::from_pem(&key.public_key)
                    .map_err(|err| bad(format!("{} cannot be used: {err}", field("public-key"))))?;
                let algorithm = match public.algorithm() {
                    consign_attest::KeyAlgorithm::Ed25519 => KeyAlgorithm::Ed25519,
                    _ => KeyAlgorithm::EcdsaP256,
                };
                // The canonical encoding: one key is one fingerprint, however its PEM was written.
                let spki_der = public.to_spki_der();
                let valid_from = toml_date(&key.valid_from, &field("valid-from"))?;
                let valid_until = toml_date(&key.valid_until, &field("valid-until"))?;
                if valid_from > valid_until {
                    return Err(bad(format!(
                        "{} ({valid_from}) is after `valid-until` ({valid_until})",
                        field("valid-from")
                    )));
                }
                let fingerprint = Sha256::of(&spki_der);
                if !fingerprints.insert(fingerprint) {
                    return Err(bad(format!(
                        "{} is also listed elsewhere: a key belongs to one party",
                        field("public-key")
                    )));
                }
                keys.push(TrustedKey {
                    public,
                    spki_der,
                    pem: key.public_key.trim().to_owned(),
                    fingerprint,
                    algorithm,
                    valid_from,
                    valid_until,
                });
            }
            parties.push(Party {
                name: party.name,
                roles: party.roles.into_iter().collect(),
                contact: party.contact,
                keys,
            });
        }
        Ok(Self {
            parties,
            sha256: Sha256::of(text.as_bytes()),
        })
    }

    /// Every key with its reference.
    pub fn keys(&self) -> impl Iterator<Item = (KeyRef, &TrustedKey)> {
        self.parties
            .iter()
            .enumerate()
            .flat_map(|(party_idx, party)| {
                party.keys.iter().enumerate().map(move |(key_idx, key)| {
                    (
                        KeyRef {
                            party: party_idx,
                            key: key_idx,
                        },
                        key,
                    )
                })
            })
    }

    /// The key a reference points at.
    pub fn key(&self, key_ref: KeyRef) -> Option<&TrustedKey> {
        self.parties.get(key_ref.party)?.keys.get(key_ref.key)
    }

    /// The party a reference points at.
    pub fn party(&self, key_ref: KeyRef) -> Option<&Party> {
        self.parties.get(key_ref.party)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use base64::Engine as _;
    use consign_attest::Signer as _;

    use super::*;

    /// The public key, as PEM, of the Ed25519 key whose seed is 32 times `seed`.
    pub(crate) fn ed25519_pem(seed: u8) -> String {
        let mut der = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        der.extend_from_slice(&[seed; 32]);
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(der)
        );
        consign_attest::PrivateKey::from_pkcs8_pem(&pem)
            .unwrap()
            .public_key()
            .to_pem()
    }

    fn store(body: &str) -> Result<TrustStore, VerifyError> {
        TrustStore::from_toml("t.toml", &format!("format = \"consign-trust/v1\"\n{body}"))
    }

    fn party(name: &str, roles: &str, seed: u8, from: &str, until: &str) -> String {
        format!(
            "[[party]]\nname = \"{name}\"\nroles = {roles}\n[[party.key]]\npublic-key = \"\"\"\n{}\"\"\"\nvalid-from = {from}\nvalid-until = {until}\n",
            ed25519_pem(seed)
        )
    }

    #[track_caller]
    fn check_err(body: &str, expect: &str) {
        assert_eq!(store(body).unwrap_err().to_string(), expect);
    }

    #[test]
    fn parses_dates_both_ways_and_judges_validity() {
        let trust = store(&party(
            "M",
            "[\"manufacturer\"]",
            1,
            "2025-01-01",
            "\"2026-12-31\"",
        ))
        .unwrap();
        let key = &trust.parties[0].keys[0];
        assert_eq!(key.algorithm, KeyAlgorithm::Ed25519);
        let date = |text: &str| parse_date(text, "t").unwrap();
        // Truth table of the validity window, both ends inclusive.
        for (day, expect) in [
            ("2024-12-31", KeyValidity::NotYetValid),
            ("2025-01-01", KeyValidity::Valid),
            ("2026-12-31", KeyValidity::Valid),
            ("2027-01-01", KeyValidity::Expired),
        ] {
            assert_eq!(key.validity_at(date(day)), expect, "{day}");
        }
    }

    #[test]
    fn errors() {
        check_err(
            &party("M", "[\"smuggler\"]", 1, "2025-01-01", "2026-01-01"),
            "trust store `t.toml` is not valid\n\nhint: see schemas/trust/trust-store.schema.json for the format",
        );
        check_err(
            &party("M", "[\"manufacturer\"]", 1, "2027-01-01", "2026-01-01"),
            "trust store `t.toml`: party `M` key 1 `valid-from` (2027-01-01) is after `valid-until` (2026-01-01)",
        );
        check_err(
            &format!(
                "{}{}",
                party("M", "[\"manufacturer\"]", 1, "2025-01-01", "2026-01-01"),
                party("D", "[\"distributor\"]", 1, "2025-01-01", "2026-01-01")
            ),
            "trust store `t.toml`: party `D` key 1 `public-key` is also listed elsewhere: a key belongs to one party",
        );
        check_err(
            &party("M", "[\"manufacturer\"]", 1, "\"2025-1-1\"", "2026-01-01"),
            "`2025-1-1` in party `M` key 1 `valid-from` is not a date of the form YYYY-MM-DD",
        );
        check_err(
            "",
            "trust store `t.toml`: it lists no `[[party]]`: nothing could be trusted",
        );
        // Issue 13, item 2: TOML refuses a repeated key as JSON does.
        let twice = format!(
            "{}valid-until = 2027-01-01\n",
            party("M", "[\"manufacturer\"]", 1, "2025-01-01", "2026-01-01")
        );
        let err = store(&twice).unwrap_err();
        assert!(matches!(err, VerifyError::TrustToml { .. }), "{err}");
        // Issue 13, item 4: one key is one party's, whatever its encoding: a P-256 key written
        // with its point compressed is the same key material as the uncompressed one.
        let p256 =
            consign_attest::PrivateKey::generate(consign_attest::KeyAlgorithm::EcdsaP256Sha256)
                .unwrap();
        let der = p256.public_key().to_spki_der();
        let (x, y) = (&der[der.len() - 64..der.len() - 32], &der[der.len() - 32..]);
        let mut compressed = vec![
            0x30, 0x39, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x22, 0x00,
        ];
        compressed.push(if y[31] & 1 == 1 { 0x03 } else { 0x02 });
        compressed.extend_from_slice(x);
        let pem = |der: &[u8]| {
            format!(
                "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
                base64::engine::general_purpose::STANDARD.encode(der)
            )
        };
        let two_ways = format!(
            "[[party]]\nname = \"M\"\nroles = [\"manufacturer\"]\n[[party.key]]\npublic-key = \"\"\"\n{}\"\"\"\nvalid-from = 2025-01-01\nvalid-until = 2026-01-01\n[[party]]\nname = \"D\"\nroles = [\"distributor\"]\n[[party.key]]\npublic-key = \"\"\"\n{}\"\"\"\nvalid-from = 2025-01-01\nvalid-until = 2026-01-01\n",
            pem(&der),
            pem(&compressed)
        );
        check_err(
            &two_ways,
            "trust store `t.toml`: party `D` key 1 `public-key` is also listed elsewhere: a key belongs to one party",
        );
        let unknown_field = format!(
            "{}extra = 1\n",
            party("M", "[\"manufacturer\"]", 1, "2025-01-01", "2026-01-01")
        );
        assert!(matches!(
            store(&unknown_field).unwrap_err(),
            VerifyError::TrustToml { .. }
        ));
    }
}
