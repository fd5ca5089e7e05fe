//! CISA's Known Exploited Vulnerabilities catalogue (`known_exploited_vulnerabilities.json`):
//! which CVEs are exploited in the wild, since when (`dateAdded`), what to do
//! (`requiredAction`) and by when (`dueDate`).

use serde::{Deserialize, Serialize};

use crate::error::{VulnError, excerpt, from_json};
use crate::record::{cut, is_cve_id};

/// The most entries a catalogue may hold (1,404 in August 2025).
pub const MAX_ENTRIES: usize = 1_000_000;

/// One catalogue entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KevEntry {
    /// `CVE-2014-0160`.
    #[serde(rename = "cveID")]
    pub cve_id: String,
    /// `OpenSSL`.
    #[serde(default)]
    pub vendor_project: String,
    /// `OpenSSL`.
    #[serde(default)]
    pub product: String,
    /// `OpenSSL Information Disclosure Vulnerability`.
    #[serde(default)]
    pub vulnerability_name: String,
    /// When CISA listed it (`2022-05-04`).
    pub date_added: String,
    /// What to do.
    #[serde(default)]
    pub required_action: String,
    /// By when US federal agencies must have done it.
    #[serde(default)]
    pub due_date: String,
    /// `Known` or `Unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_ransomware_campaign_use: Option<String>,
}

/// A parsed catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Catalogue {
    /// `catalogVersion` (`2025.08.25`).
    pub version: Option<String>,
    /// `dateReleased`.
    pub released: Option<String>,
    /// The entries.
    pub entries: Vec<KevEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCatalogue {
    #[serde(default)]
    catalog_version: Option<String>,
    #[serde(default)]
    date_released: Option<String>,
    vulnerabilities: Vec<KevEntry>,
}

fn is_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(idx, b)| idx == 4 || idx == 7 || b.is_ascii_digit())
}

/// Reads the catalogue.
pub fn parse(file: &str, bytes: &[u8]) -> Result<Catalogue, VulnError> {
    let raw: RawCatalogue = from_json(file, "", "CISA KEV catalogue", bytes)?;
    if raw.vulnerabilities.len() > MAX_ENTRIES {
        return Err(VulnError::TooLarge {
            file: file.to_owned(),
            what: "the number of catalogue entries".to_owned(),
            limit: MAX_ENTRIES.to_string(),
        });
    }
    let mut entries = raw.vulnerabilities;
    for (idx, entry) in entries.iter_mut().enumerate() {
        let invalid = |field: &str, reason: String| VulnError::Invalid {
            file: file.to_owned(),
            pointer: format!("/vulnerabilities/{idx}/{field}"),
            reason,
        };
        if !is_cve_id(&entry.cve_id) {
            return Err(invalid(
                "cveID",
                format!("`{}` is not a CVE id", excerpt(&entry.cve_id)),
            ));
        }
        for (field, value) in [
            ("dateAdded", &entry.date_added),
            ("dueDate", &entry.due_date),
        ] {
            let optional_and_empty = field == "dueDate" && value.is_empty();
            if !optional_and_empty && !is_date(value) {
                return Err(invalid(
                    field,
                    format!("`{}` is not a date (`YYYY-MM-DD`)", excerpt(value)),
                ));
            }
        }
        entry.required_action = cut(&entry.required_action, 1000);
        entry.vulnerability_name = cut(&entry.vulnerability_name, 300);
    }
    Ok(Catalogue {
        version: raw.catalog_version,
        released: raw.date_released,
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_real_catalogue() {
        let bytes = crate::test_support::vulndata("kev/known_exploited_vulnerabilities.json");
        let catalogue = parse("kev.json", &bytes).unwrap();
        assert_eq!(catalogue.version.as_deref(), Some("2025.08.25"));
        assert_eq!(catalogue.entries.len(), 1404);
        let heartbleed = catalogue
            .entries
            .iter()
            .find(|e| e.cve_id == "CVE-2014-0160")
            .unwrap();
        assert_eq!(heartbleed.date_added, "2022-05-04");
    }

    #[test]
    fn refuses_bad_entries() {
        let err = parse(
            "k.json",
            br#"{"vulnerabilities": [{"cveID": "CVE-2020-0001", "dateAdded": "2020-01-01"}, {"cveID": "CVE-2020-0002", "dateAdded": "yesterday"}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("at `/vulnerabilities/1/dateAdded`"), "{err}");
        let err = parse("k.json", br#"{"vulnerabilities": [{"cveID": 7}]}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("at `/vulnerabilities/0/cveID`"), "{err}");
    }
}
