//! The product file: facts about a product that no binary can tell, written once by the manufacturer.
//!
//! One TOML file (`product.toml`, schema `schemas/consign/product.schema.json`, example
//! `fixtures/sbom/product.toml`) feeds both the SBOM metadata and the manufacturer's attestation
//! claims, so the two can never disagree. Every fact is optional when parsing: a missing fact is
//! reported by [`ProductFile::gaps`], never invented. Unknown keys are rejected, so a typo is an error
//! rather than a silently missing fact.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Largest product file accepted by [`ProductFile::from_toml`], in bytes. Real ones are a few KiB.
pub const PRODUCT_FILE_MAX_BYTES: usize = 1 << 20;

/// Why a product file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProductFileError {
    /// The file is larger than [`PRODUCT_FILE_MAX_BYTES`].
    #[error("product file is {len} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The TOML does not parse or does not match the product file's shape (the message names the
    /// key and line).
    #[error("product file is not valid: {message}")]
    Invalid {
        /// What the TOML parser said, with line and key.
        message: String,
    },
}

/// A calendar date written `YYYY-MM-DD` (ISO 8601), checked to exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Date {
    /// Year, 1000 to 9999.
    pub year: u16,
    /// Month, 1 to 12.
    pub month: u8,
    /// Day of the month, 1 to 31 (checked against the month).
    pub day: u8,
}

/// Text that is not a `YYYY-MM-DD` date that exists.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a date written `YYYY-MM-DD` (for example `2031-12-31`)")]
pub struct DateError {
    /// The rejected text, cut to 40 characters.
    pub text: String,
}

impl FromStr for Date {
    type Err = DateError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || DateError {
            text: text.chars().take(40).collect(),
        };
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
            return Err(err());
        }
        let number = |range: std::ops::Range<usize>| -> Result<u16, DateError> {
            let part = text.get(range).ok_or_else(err)?;
            if !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err());
            }
            part.parse().map_err(|_| err())
        };
        let year = number(0..4)?;
        let month = number(5..7)?;
        let day = number(8..10)?;
        if year < 1000 || !(1..=12).contains(&month) {
            return Err(err());
        }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days_in_month = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        if day == 0 || day > days_in_month {
            return Err(err());
        }
        Ok(Self {
            year,
            month: month as u8,
            day: day as u8,
        })
    }
}

impl TryFrom<String> for Date {
    type Error = DateError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Date> for String {
    fn from(date: Date) -> Self {
        date.to_string()
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The whole product file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProductFile {
    /// Who places the product on the market.
    #[serde(default)]
    pub manufacturer: Manufacturer,
    /// What the product is.
    #[serde(default)]
    pub product: Product,
    /// How long it receives security updates.
    #[serde(default)]
    pub support: SupportPeriod,
    /// Where vulnerabilities are reported and how they are handled.
    #[serde(default)]
    pub vulnerability_disclosure: VulnerabilityDisclosure,
    /// Security properties of the product as shipped (passwords, updates, defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<SecurityProperties>,
    /// Conformity assessment (CE marking, notified body, declaration of conformity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conformity: Option<Conformity>,
    /// Security labels held (Singapore CLS, US Cyber Trust Mark).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    /// The UK PSTI statement of compliance, for products sold in the UK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uk_statement_of_compliance: Option<UkStatementOfCompliance>,
}

/// The manufacturer's identity and contact.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Manufacturer {
    /// Registered name (`Example Devices GmbH`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Postal address, one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Web site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// General contact e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// The product's identity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Product {
    /// Commercial name (`Example Smart Plug`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Model number (`ESP-200`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Hardware revision (`rev C`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware_revision: Option<String>,
    /// Firmware release this file describes (`2.4.1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware_version: Option<String>,
    /// Licence under which the firmware is distributed, as an SPDX expression
    /// (`LicenseRef-Example-EULA AND GPL-2.0-only`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware_license: Option<String>,
    /// Production batch, when the release is tied to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
    /// GS1 Global Trade Item Number (8, 12, 13 or 14 digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtin: Option<String>,
    /// The EU CRA product class: `default`, `important-class-i`, `important-class-ii`, `critical`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cra_class: Option<CraClass>,
    /// Other identifiers (`scheme` such as `mpn`, `ean`, `fcc-id`, `sku`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifiers: Vec<Identifier>,
}

/// The EU Cyber Resilience Act product class (Annex III and IV), which decides the conformity route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CraClass {
    /// Not listed in Annex III or IV: self-assessment (module A) allowed.
    Default,
    /// Annex III class I.
    ImportantClassI,
    /// Annex III class II: third-party assessment.
    ImportantClassIi,
    /// Annex IV.
    Critical,
}

/// One extra product identifier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identifier {
    /// What kind of identifier (`mpn`, `sku`, `fcc-id`, ...).
    pub scheme: String,
    /// Its value.
    pub value: String,
}

/// The support period: the time during which the manufacturer provides security updates.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SupportPeriod {
    /// First day of support (usually placing on the market).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Date>,
    /// Last day of support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Date>,
}

/// Coordinated vulnerability disclosure.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct VulnerabilityDisclosure {
    /// Security contact: an e-mail address or a URL (`security@example.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// Published vulnerability disclosure policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_url: Option<String>,
    /// Days within which a report is acknowledged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledgement_days: Option<u32>,
    /// Where the manufacturer's `security.txt` (RFC 9116) is published
    /// (`https://example.com/.well-known/security.txt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_txt: Option<String>,
}

/// Security properties of the product as shipped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SecurityProperties {
    /// How default passwords work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_scheme: Option<PasswordScheme>,
    /// How updates are delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_mechanism: Option<UpdateMechanism>,
    /// Debug interfaces (JTAG, UART console, telnet) are off in the shipped configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug_interfaces_disabled: Option<bool>,
    /// Where the product's private keys (TLS keys, SSH host keys) come from; `per-device` and
    /// `none` both say the image holds no private key (`consign verify`'s `security.secrets`
    /// holds this against the firmware).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_keys: Option<DeviceKeys>,
    /// The network services and consoles the product starts by default, by the names of the
    /// audit's service rules (`ssh`, `telnet`, `ftp`, `tftp`, `adb`, `debug-shell`,
    /// `serial-console`) or others (`https`, `mqtt`); `[]` says none (`security.services`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_services: Option<Vec<String>>,
    /// Secure-defaults findings the manufacturer declares and justifies, so `verify` shows them
    /// instead of failing them (secrets and services only; never passwords).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub declared_findings: Vec<DeclaredFinding>,
}

/// Where a product's private keys come from (ETSI EN 303 645 5.4-3, 5.4-4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceKeys {
    /// Made on each device (at first boot) or provisioned per unit: none is in the image.
    PerDevice,
    /// The product holds no private keys.
    None,
}

/// One audit finding the manufacturer declares, with where it is and why it is acceptable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DeclaredFinding {
    /// The audit rule id (`service.telnet`, `secret.host-key`).
    pub rule: String,
    /// The file inside the image, as the audit names it (`/etc/init.d/S50telnet`).
    pub path: String,
    /// Why it is acceptable (`telnetd on the UART-only debug build, disabled by default`).
    pub justification: String,
}

/// How the product's passwords are set (ETSI EN 303 645 provision 5.1-1, UK PSTI schedule 1 §1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PasswordScheme {
    /// A different password per device.
    UniquePerDevice,
    /// The user must set one before use.
    UserDefined,
    /// The product has no passwords.
    None,
}

/// How security updates reach the product.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct UpdateMechanism {
    /// Updates are signed and the signature is checked on the device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed: Option<bool>,
    /// Updates install automatically unless the user turns that off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automatic_by_default: Option<bool>,
}

/// Conformity assessment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Conformity {
    /// The product carries the CE marking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ce_marking: Option<bool>,
    /// The CRA conformity assessment module used (`A`, `B+C`, `H`, `EUCC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// The notified body, name and four-digit number (`TÜV Example, 0123`), when one was involved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified_body: Option<String>,
    /// Where the EU declaration of conformity is published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declaration_url: Option<String>,
    /// SHA-256 of the declaration document, lower-case hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declaration_sha256: Option<crate::Sha256>,
}

/// Security labels held.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Labels {
    /// Singapore Cybersecurity Labelling Scheme level, 1 to 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cls_level: Option<u8>,
    /// US Cyber Trust Mark registration id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cyber_trust_mark_id: Option<String>,
}

/// The UK PSTI statement of compliance (The Product Security and Telecommunications Infrastructure
/// (Security Requirements for Relevant Connectable Products) Regulations 2023, schedule 4).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct UkStatementOfCompliance {
    /// Name and function of the person who signs for the manufacturer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatory: Option<String>,
    /// Place of issue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place_of_issue: Option<String>,
    /// Date of issue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_issue: Option<Date>,
    /// Where the statement is published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// One fact a product file should carry but does not (or carries in a form that cannot be used).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductGap {
    /// The TOML key, dotted (`support.end`).
    pub field: String,
    /// What is wrong and what to add, one line.
    pub message: String,
}

impl fmt::Display for ProductGap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl ProductFile {
    /// Parses a product file from TOML text. Rejects unknown keys and dates that do not exist.
    pub fn from_toml(text: &str) -> Result<Self, ProductFileError> {
        if text.len() > PRODUCT_FILE_MAX_BYTES {
            return Err(ProductFileError::TooLarge {
                len: text.len(),
                limit: PRODUCT_FILE_MAX_BYTES,
            });
        }
        toml::from_str(text).map_err(|err| ProductFileError::Invalid {
            message: err.to_string().trim_end().replace('\n', " "),
        })
    }

    /// The facts every SBOM and manufacturer attestation needs that this file does not give.
    ///
    /// Required: manufacturer name and a contact (e-mail or URL), product name, model and firmware
    /// version, support end date (not before its start), and a vulnerability disclosure contact.
    /// A GTIN, when given, must have a valid check digit.
    pub fn gaps(&self) -> Vec<ProductGap> {
        let mut gaps = Vec::new();
        let mut missing = |field: &str, what: &str| {
            gaps.push(ProductGap {
                field: field.to_owned(),
                message: format!("missing: add {what}"),
            });
        };
        let is_blank =
            |value: &Option<String>| value.as_deref().is_none_or(|v| v.trim().is_empty());
        if is_blank(&self.manufacturer.name) {
            missing("manufacturer.name", "the manufacturer's registered name");
        }
        if is_blank(&self.manufacturer.email) && is_blank(&self.manufacturer.url) {
            missing(
                "manufacturer.email",
                "a contact e-mail (or `manufacturer.url`)",
            );
        }
        if is_blank(&self.product.name) {
            missing("product.name", "the product's commercial name");
        }
        if is_blank(&self.product.model) {
            missing("product.model", "the model number");
        }
        if is_blank(&self.product.firmware_version) {
            missing(
                "product.firmware-version",
                "the firmware release this file describes",
            );
        }
        if self.support.end.is_none() {
            missing(
                "support.end",
                "the last day of security support, `YYYY-MM-DD`",
            );
        }
        if is_blank(&self.vulnerability_disclosure.contact) {
            missing(
                "vulnerability-disclosure.contact",
                "a security contact (e-mail or URL)",
            );
        }
        for (index, declared) in self
            .security
            .iter()
            .flat_map(|security| security.declared_findings.iter())
            .enumerate()
        {
            for (field, value, what) in [
                (
                    "rule",
                    &declared.rule,
                    "the audit rule id (`service.telnet`)",
                ),
                ("path", &declared.path, "the file inside the image"),
                (
                    "justification",
                    &declared.justification,
                    "why the finding is acceptable",
                ),
            ] {
                if value.trim().is_empty() {
                    gaps.push(ProductGap {
                        field: format!("security.declared-findings[{index}].{field}"),
                        message: format!("missing: add {what}"),
                    });
                }
            }
        }
        if let (Some(start), Some(end)) = (self.support.start, self.support.end)
            && end < start
        {
            gaps.push(ProductGap {
                field: "support.end".to_owned(),
                message: format!("support ends ({end}) before it starts ({start}): fix the dates"),
            });
        }
        if let Some(gtin) = &self.product.gtin
            && !gtin_is_valid(gtin)
        {
            gaps.push(ProductGap {
                field: "product.gtin".to_owned(),
                message: format!(
                    "`{}` is not a GTIN (8, 12, 13 or 14 digits with a valid check digit)",
                    gtin.chars().take(40).collect::<String>()
                ),
            });
        }
        gaps
    }
}

/// True if `text` is a GTIN-8/12/13/14 with a correct GS1 check digit.
pub fn gtin_is_valid(text: &str) -> bool {
    if !matches!(text.len(), 8 | 12 | 13 | 14) || !text.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let digits: Vec<u32> = text.bytes().map(|b| u32::from(b - b'0')).collect();
    let Some((check, body)) = digits.split_last() else {
        return false;
    };
    // GS1: from the right (excluding the check digit), weights alternate 3, 1, 3, ...
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(idx, digit)| if idx % 2 == 0 { digit * 3 } else { *digit })
        .sum();
    (10 - sum % 10) % 10 == *check
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
[manufacturer]
name = "Example Devices GmbH"
email = "info@example.com"

[product]
name = "Smart Plug"
model = "SP-200"
firmware-version = "2.4.1"
gtin = "4006381333931"

[support]
start = "2026-01-01"
end = "2031-12-31"

[vulnerability-disclosure]
contact = "security@example.com"
"#;

    #[test]
    fn dates() {
        assert_eq!(
            "2024-02-29".parse::<Date>().unwrap().to_string(),
            "2024-02-29"
        );
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "24-01-01x",
            "2024-04-31",
            "２０２４-01-01",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad}");
        }
    }

    #[test]
    fn full_file_has_no_gaps() {
        let product = ProductFile::from_toml(FULL).unwrap();
        assert_eq!(product.gaps(), Vec::new());
        assert_eq!(product.support.end.unwrap().to_string(), "2031-12-31");
    }

    #[test]
    fn empty_file_lists_every_gap() {
        let product = ProductFile::from_toml("").unwrap();
        let fields: Vec<String> = product.gaps().into_iter().map(|g| g.field).collect();
        assert_eq!(
            fields,
            [
                "manufacturer.name",
                "manufacturer.email",
                "product.name",
                "product.model",
                "product.firmware-version",
                "support.end",
                "vulnerability-disclosure.contact"
            ]
        );
    }

    #[test]
    fn errors_name_the_key() {
        let err = ProductFile::from_toml("[product]\nmodle = \"x\"\n").unwrap_err();
        assert!(err.to_string().contains("modle"), "{err}");
        let err = ProductFile::from_toml("[support]\nend = \"2031-02-30\"\n").unwrap_err();
        assert!(err.to_string().contains("2031-02-30"), "{err}");
    }

    #[test]
    fn gtin_and_reversed_dates() {
        assert!(gtin_is_valid("4006381333931"));
        assert!(!gtin_is_valid("4006381333932"));
        let text = FULL
            .replace("2026-01-01", "2032-01-01")
            .replace("4006381333931", "123");
        let gaps = ProductFile::from_toml(&text).unwrap().gaps();
        assert_eq!(gaps.len(), 2, "{gaps:?}");
    }
}
