//! The claims files a signer writes (TOML), checked before anything is signed.
//!
//! - Supplier: [`ComponentClaims`] (`component.toml`, example `fixtures/attest/claims/component.toml`).
//! - Manufacturer: the product file, [`consign_model::ProductFile`] (`product.toml`), the same file
//!   that feeds the SBOM metadata, so the SBOM and the signed claims never disagree.
//! - Distributor: [`CustodyClaims`] (`lot.toml`, example `fixtures/attest/claims/lot.toml`).
//!
//! Every check names the field (as a dotted TOML path) and what is expected. Unknown keys are
//! rejected, so a typo is an error, not a silently missing claim.

use serde::Deserialize;

use consign_model::{Date, ProductFile, gtin_is_valid};

use crate::AttestError;

/// The largest claims file accepted, 1 MiB; real ones are a few KiB.
pub const MAX_CLAIMS_BYTES: usize = 1 << 20;

/// A party's name and contact, as written in a claims file.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PartyClaims {
    /// Registered name.
    pub name: String,
    /// E-mail or URL.
    pub contact: String,
}

/// `[component]` of a component claims file.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ComponentIdentity {
    /// The component's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Package URL, if it has one.
    #[serde(default)]
    pub purl: Option<String>,
    /// CPE 2.3, if it has one.
    #[serde(default)]
    pub cpe: Option<String>,
}

/// `[support]` of a component claims file.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ComponentSupport {
    /// The last day of security support.
    pub end: Date,
}

/// `[vulnerability-disclosure]` of a component claims file.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Disclosure {
    /// Where to report a vulnerability (e-mail or URL).
    pub contact: String,
    /// The disclosure policy.
    #[serde(default)]
    pub policy_url: Option<String>,
}

/// What the supplier states about known vulnerabilities.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VulnerabilityStatement {
    /// No known exploitable vulnerability at the time of signing.
    NoneKnown,
    /// See the VEX document given with `--vex`; its digest is the evidence.
    Vex,
}

/// `[known-vulnerabilities]` of a component claims file.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct KnownVulnerabilities {
    /// `none-known` or `vex`.
    pub statement: VulnerabilityStatement,
}

/// The supplier's claims file (`component.toml`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ComponentClaims {
    /// Who supplies the component.
    pub supplier: PartyClaims,
    /// What the component is.
    pub component: ComponentIdentity,
    /// How long it is supported.
    pub support: ComponentSupport,
    /// Where vulnerabilities are reported.
    pub vulnerability_disclosure: Disclosure,
    /// The known-vulnerability statement.
    pub known_vulnerabilities: KnownVulnerabilities,
}

/// A range of serial numbers in a lot.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SerialRange {
    /// First serial number.
    pub first: String,
    /// Last serial number.
    pub last: String,
}

/// `[lot]` of a custody claims file.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Lot {
    /// The lot id.
    pub id: String,
    /// The production batch.
    #[serde(default)]
    pub batch: Option<String>,
    /// The product's GTIN (checked).
    #[serde(default)]
    pub gtin: Option<String>,
    /// The customs HS code, digits with optional dots (`8536.69`).
    #[serde(default)]
    pub hs_code: Option<String>,
    /// Serial number ranges.
    #[serde(default)]
    pub serial_ranges: Vec<SerialRange>,
    /// The importer, where one is involved.
    #[serde(default)]
    pub importer: Option<String>,
    /// The EORI number, where used.
    #[serde(default)]
    pub eori: Option<String>,
}

/// `[received]` / `[shipped]` of a custody claims file.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Handover {
    /// The other party.
    pub party: String,
    /// The date of the handover.
    pub date: Date,
}

/// The result of a due-care check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckResult {
    /// The check passed.
    Pass,
    /// The check failed.
    Fail,
    /// The check passed with a reservation.
    Warn,
    /// The check does not apply to this lot.
    NotApplicable,
}

/// One `[[checks]]` entry: a due-care check done by the distributor.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DueCareCheck {
    /// What was checked (kebab-case), e.g. `seal-intact`, `ce-marking-present`.
    pub id: String,
    /// The result.
    pub result: CheckResult,
    /// A note for the next party.
    #[serde(default)]
    pub note: Option<String>,
}

/// The distributor's claims file (`lot.toml`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CustodyClaims {
    /// Who held the lot.
    pub distributor: PartyClaims,
    /// Which lot.
    pub lot: Lot,
    /// From whom and when it was received.
    pub received: Handover,
    /// To whom and when it was shipped (absent while still held).
    #[serde(default)]
    pub shipped: Option<Handover>,
    /// Due-care checks done.
    #[serde(default)]
    pub checks: Vec<DueCareCheck>,
}

fn parse_toml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, AttestError> {
    if text.len() > MAX_CLAIMS_BYTES {
        return Err(AttestError::TooLarge {
            what: "the claims file",
            len: text.len(),
            limit: MAX_CLAIMS_BYTES,
        });
    }
    toml::from_str(text).map_err(|source| AttestError::ClaimsToml { source })
}

fn require(field: &str, value: &str, what: &str) -> Result<(), AttestError> {
    if value.trim().is_empty() {
        return Err(AttestError::claim(field, what));
    }
    Ok(())
}

fn require_contact(field: &str, value: &str) -> Result<(), AttestError> {
    let looks_ok = (value.contains('@') && !value.starts_with('@') && !value.ends_with('@'))
        || value.starts_with("https://")
        || value.starts_with("http://");
    if !looks_ok || value.contains(char::is_whitespace) {
        return Err(AttestError::claim(
            field,
            format!("an e-mail address or an `https://` URL, found `{value}`"),
        ));
    }
    Ok(())
}

fn require_kebab(field: &str, value: &str) -> Result<(), AttestError> {
    if value.is_empty()
        || !value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(AttestError::claim(
            field,
            format!("a kebab-case id such as `seal-intact`, found `{value}`"),
        ));
    }
    Ok(())
}

impl ComponentClaims {
    /// Parses and checks a component claims file.
    pub fn from_toml(text: &str) -> Result<Self, AttestError> {
        let claims: Self = parse_toml(text)?;
        claims.validate()?;
        Ok(claims)
    }

    /// Checks the values (names present, contacts that look like contacts, purl and CPE syntax).
    pub fn validate(&self) -> Result<(), AttestError> {
        require(
            "supplier.name",
            &self.supplier.name,
            "the supplier's registered name",
        )?;
        require_contact("supplier.contact", &self.supplier.contact)?;
        require(
            "component.name",
            &self.component.name,
            "the component's name",
        )?;
        require(
            "component.version",
            &self.component.version,
            "the component's version",
        )?;
        if let Some(purl) = &self.component.purl
            && !purl.starts_with("pkg:")
        {
            return Err(AttestError::claim(
                "component.purl",
                format!("a package URL starting with `pkg:`, found `{purl}`"),
            ));
        }
        if let Some(cpe) = &self.component.cpe
            && (!cpe.starts_with("cpe:2.3:") || cpe.split(':').count() != 13)
        {
            return Err(AttestError::claim(
                "component.cpe",
                format!(
                    "a CPE 2.3 name with 13 `:`-separated parts (`cpe:2.3:a:vendor:product:version:*:*:*:*:*:*:*`), found `{cpe}`"
                ),
            ));
        }
        require_contact(
            "vulnerability-disclosure.contact",
            &self.vulnerability_disclosure.contact,
        )?;
        Ok(())
    }
}

impl CustodyClaims {
    /// Parses and checks a custody claims file.
    pub fn from_toml(text: &str) -> Result<Self, AttestError> {
        let claims: Self = parse_toml(text)?;
        claims.validate()?;
        Ok(claims)
    }

    /// Checks the values (GTIN check digit, HS code and EORI syntax, dates in order, check ids).
    pub fn validate(&self) -> Result<(), AttestError> {
        require(
            "distributor.name",
            &self.distributor.name,
            "the distributor's registered name",
        )?;
        require_contact("distributor.contact", &self.distributor.contact)?;
        require("lot.id", &self.lot.id, "the lot id")?;
        if let Some(gtin) = &self.lot.gtin
            && !gtin_is_valid(gtin)
        {
            return Err(AttestError::claim(
                "lot.gtin",
                format!("a GTIN (8, 12, 13 or 14 digits with a valid check digit), found `{gtin}`"),
            ));
        }
        if let Some(hs) = &self.lot.hs_code {
            let digits = hs.bytes().filter(u8::is_ascii_digit).count();
            if !hs.bytes().all(|b| b.is_ascii_digit() || b == b'.') || !(4..=10).contains(&digits) {
                return Err(AttestError::claim(
                    "lot.hs-code",
                    format!("an HS code of 4 to 10 digits, dots allowed (`8536.69`), found `{hs}`"),
                ));
            }
        }
        if let Some(eori) = &self.lot.eori {
            let valid = eori.len() >= 3
                && eori.len() <= 17
                && eori.bytes().take(2).all(|b| b.is_ascii_uppercase())
                && eori.bytes().skip(2).all(|b| b.is_ascii_alphanumeric());
            if !valid {
                return Err(AttestError::claim(
                    "lot.eori",
                    format!(
                        "an EORI number: a two-letter country code and up to 15 letters or digits, found `{eori}`"
                    ),
                ));
            }
        }
        for (idx, range) in self.lot.serial_ranges.iter().enumerate() {
            require(
                &format!("lot.serial-ranges[{idx}].first"),
                &range.first,
                "the first serial number",
            )?;
            require(
                &format!("lot.serial-ranges[{idx}].last"),
                &range.last,
                "the last serial number",
            )?;
        }
        require(
            "received.party",
            &self.received.party,
            "who the lot was received from",
        )?;
        if let Some(shipped) = &self.shipped {
            require(
                "shipped.party",
                &shipped.party,
                "who the lot was shipped to",
            )?;
            if shipped.date < self.received.date {
                return Err(AttestError::claim(
                    "shipped.date",
                    format!(
                        "a date on or after `received.date` ({}), found {}",
                        self.received.date, shipped.date
                    ),
                ));
            }
        }
        for (idx, check) in self.checks.iter().enumerate() {
            require_kebab(&format!("checks[{idx}].id"), &check.id)?;
        }
        Ok(())
    }
}

/// Parses a product file and refuses to sign one with gaps ([`ProductFile::gaps`]): every fact
/// the product predicate vouches for must be there.
pub fn product_from_toml(text: &str) -> Result<ProductFile, AttestError> {
    let product = ProductFile::from_toml(text)
        .map_err(|err| AttestError::claim("(product file)", err.to_string()))?;
    validate_product(&product)?;
    Ok(product)
}

/// Checks that a product file is complete enough to sign.
pub fn validate_product(product: &ProductFile) -> Result<(), AttestError> {
    if let Some(gap) = product.gaps().into_iter().next() {
        return Err(AttestError::claim(gap.field, gap.message));
    }
    if let Some(contact) = &product.vulnerability_disclosure.contact {
        require_contact("vulnerability-disclosure.contact", contact)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../fixtures/attest/claims")
                .join(name),
        )
        .unwrap()
    }

    #[test]
    fn example_files_are_valid() {
        let component = ComponentClaims::from_toml(&fixture("component.toml")).unwrap();
        assert_eq!(
            component.known_vulnerabilities.statement,
            VulnerabilityStatement::NoneKnown
        );
        let lot = CustodyClaims::from_toml(&fixture("lot.toml")).unwrap();
        assert!(!lot.checks.is_empty());
        product_from_toml(&fixture("product.toml")).unwrap();
    }

    #[track_caller]
    fn check_component(from: &str, to: &str, expect: &str) {
        let text = fixture("component.toml");
        assert!(text.contains(from), "{from}");
        let err = ComponentClaims::from_toml(&text.replacen(from, to, 1)).unwrap_err();
        let text = format!(
            "{err}: {}",
            std::error::Error::source(&err)
                .map(ToString::to_string)
                .unwrap_or_default()
        );
        assert!(text.contains(expect), "{text}");
    }

    #[track_caller]
    fn check_lot(from: &str, to: &str, expect: &str) {
        let text = fixture("lot.toml");
        assert!(text.contains(from), "{from}");
        let err = CustodyClaims::from_toml(&text.replacen(from, to, 1)).unwrap_err();
        let text = format!(
            "{err}: {}",
            std::error::Error::source(&err)
                .map(ToString::to_string)
                .unwrap_or_default()
        );
        assert!(text.contains(expect), "{text}");
    }

    #[test]
    fn component_errors_name_the_field() {
        check_component(
            "end = \"2030-06-30\"",
            "end = \"2030-02-30\"",
            "is not a date",
        );
        check_component(
            "statement = \"none-known\"",
            "statement = \"maybe\"",
            "unknown variant `maybe`",
        );
        check_component(
            "[supplier]",
            "[supplier]\ncolour = 1",
            "unknown field `colour`",
        );
        check_component(
            "contact = \"security@",
            "contact = \"nobody at ",
            "field `supplier.contact`",
        );
        check_component("purl = \"pkg:", "purl = \"npm:", "field `component.purl`");
        check_component("cpe = \"cpe:2.3:", "cpe = \"cpe:/", "field `component.cpe`");
    }

    #[test]
    fn lot_errors_name_the_field() {
        check_lot(
            "gtin = \"4006381333931\"",
            "gtin = \"4006381333932\"",
            "field `lot.gtin`",
        );
        check_lot(
            "hs-code = \"8536.69\"",
            "hs-code = \"85x\"",
            "field `lot.hs-code`",
        );
        check_lot("eori = \"SE", "eori = \"se", "field `lot.eori`");
        check_lot(
            "result = \"pass\"",
            "result = \"ok\"",
            "unknown variant `ok`",
        );
        check_lot(
            "id = \"seal-intact\"",
            "id = \"Seal intact\"",
            "field `checks[0].id`",
        );
        check_lot(
            "date = \"2026-03-05\"",
            "date = \"2026-02-05\"",
            "field `shipped.date`",
        );
    }

    #[test]
    fn product_with_gaps_is_refused() {
        let err = product_from_toml("[product]\nname = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("claims: field `manufacturer.name`"), "{err}");
    }
}
