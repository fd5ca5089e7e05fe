//! One input file, whatever its format: decompressed (gzip, xz, zip, through consign-unpack's
//! bounded decoders), recognised (NVD record or feed, OSV record or list, KEV catalogue, EPSS
//! CSV) and parsed. Pure: bytes in, [`Document`]s out.
//!
//! A feed's `vulnerabilities` array is first split into raw items, then the items are parsed on
//! every core; one bad item fails the whole file with the item's JSON pointer, so a database
//! never silently lacks part of a source.

use bytes::Bytes;
use consign_model::NodeKind;
use consign_unpack::decompress::{Codec, decompress};
use rayon::prelude::*;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use crate::epss::{self, Scores};
use crate::error::{VulnError, from_json};
use crate::kev::{self, Catalogue};
use crate::nvd;
use crate::osv;
use crate::record::Advisory;

/// Bounds on reading one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadLimits {
    /// Largest decompressed document, in bytes (NVD's largest yearly 2.0 feed is about 600 MB).
    pub max_document_bytes: u64,
    /// Largest single record inside a feed, in bytes.
    pub max_record_bytes: usize,
    /// Most members read from one zip archive.
    pub max_members: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            max_document_bytes: 2 << 30,
            max_record_bytes: 32 << 20,
            max_members: 2_000_000,
        }
    }
}

/// What a document holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Content {
    /// NVD or OSV records.
    Advisories(Vec<Advisory>),
    /// The KEV catalogue.
    Kev(Catalogue),
    /// EPSS scores.
    Epss(Scores),
}

/// What the source kind of a document is, for the database's source list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// NVD CVE 2.0.
    Nvd,
    /// OSV.
    Osv,
    /// CISA KEV.
    Kev,
    /// FIRST EPSS.
    Epss,
}

impl Kind {
    /// `nvd`, `osv`, `kev`, `epss`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nvd => "nvd",
            Self::Osv => "osv",
            Self::Kev => "kev",
            Self::Epss => "epss",
        }
    }
}

/// One parsed document.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// The file name (and `!member` inside an archive).
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    /// The date the document states: a feed's `timestamp`, the newest record's modification,
    /// the catalogue's `dateReleased`, EPSS's `score_date`.
    pub date: Option<String>,
    /// What it holds.
    pub content: Content,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe<'a> {
    #[serde(borrow, default)]
    vulnerabilities: Option<&'a RawValue>,
    #[serde(default)]
    catalog_version: Option<IgnoredAny>,
    #[serde(default, rename = "CVE_Items")]
    cve_items: Option<IgnoredAny>,
    #[serde(default)]
    bom_format: Option<IgnoredAny>,
    #[serde(default, rename = "@context")]
    context: Option<IgnoredAny>,
    #[serde(default)]
    document: Option<IgnoredAny>,
    #[serde(default)]
    id: Option<IgnoredAny>,
    #[serde(default)]
    affected: Option<IgnoredAny>,
    #[serde(default)]
    schema_version: Option<IgnoredAny>,
    #[serde(default)]
    configurations: Option<IgnoredAny>,
    #[serde(default)]
    source_identifier: Option<IgnoredAny>,
    #[serde(default)]
    vuln_status: Option<IgnoredAny>,
    #[serde(default)]
    descriptions: Option<IgnoredAny>,
    #[serde(default)]
    modified: Option<IgnoredAny>,
    #[serde(default)]
    timestamp: Option<String>,
}

fn too_large(name: &str, limits: &ReadLimits) -> VulnError {
    VulnError::TooLarge {
        file: name.to_owned(),
        what: "the decompressed document".to_owned(),
        limit: format!("{} bytes", limits.max_document_bytes),
    }
}

/// Reads `bytes` (a file called `name`) into documents: one, or one per member of a zip.
pub fn read(name: &str, bytes: &[u8], limits: &ReadLimits) -> Result<Vec<Document>, VulnError> {
    let mut out = Vec::new();
    read_into(name, bytes, limits, 0, &mut out)?;
    Ok(out)
}

fn read_into(
    name: &str,
    bytes: &[u8],
    limits: &ReadLimits,
    depth: u32,
    out: &mut Vec<Document>,
) -> Result<(), VulnError> {
    if bytes.len() as u64 > limits.max_document_bytes {
        return Err(too_large(name, limits));
    }
    let codec = if bytes.starts_with(&[0x1f, 0x8b]) {
        Some(Codec::Gzip)
    } else if bytes.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some(Codec::Xz)
    } else {
        None
    };
    if let Some(codec) = codec {
        if depth >= 3 {
            return Err(unrecognised(name, "compressed too many times over"));
        }
        let inflated = decompress(codec, bytes, limits.max_document_bytes).map_err(|source| {
            if matches!(
                source,
                consign_unpack::decompress::DecompressError::TooLarge { .. }
            ) {
                too_large(name, limits)
            } else {
                VulnError::Decompress {
                    file: name.to_owned(),
                    source,
                }
            }
        })?;
        return read_into(name, &inflated.data, limits, depth + 1, out);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        if depth >= 3 {
            return Err(unrecognised(name, "archives nested too deep"));
        }
        let unpack_limits = consign_unpack::Limits {
            max_depth: 1,
            max_entries: limits.max_members,
            max_total_bytes: limits.max_document_bytes.saturating_mul(4),
            max_file_bytes: limits.max_document_bytes,
            max_ratio: 10_000,
            ..consign_unpack::Limits::default()
        };
        let listing =
            consign_unpack::extract_format("zip", Bytes::copy_from_slice(bytes), &unpack_limits)
                .ok_or_else(|| unrecognised(name, "not a zip archive consign can read"))?;
        if let Some(diagnostic) = listing.diagnostics.first() {
            return Err(VulnError::Invalid {
                file: name.to_owned(),
                pointer: if diagnostic.location.is_empty() {
                    "the archive".to_owned()
                } else {
                    format!("member `{}`", diagnostic.location)
                },
                reason: diagnostic.message.clone(),
            });
        }
        let mut members: Vec<_> = listing
            .entries
            .into_iter()
            .filter_map(|entry| match entry.kind {
                NodeKind::File { data } => Some((entry.path, data)),
                _ => None,
            })
            .filter(|(path, _)| is_data_name(path))
            .collect();
        members.sort_by(|a, b| a.0.cmp(&b.0));
        for (path, data) in members {
            read_into(&format!("{name}!{path}"), &data, limits, depth + 1, out)?;
        }
        return Ok(());
    }
    out.push(parse(name, bytes, limits)?);
    Ok(())
}

/// File names inside an archive that may hold records (README files and the like are skipped).
fn is_data_name(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    [".json", ".yaml", ".yml", ".csv", ".gz", ".xz", ".zip"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

fn unrecognised(name: &str, reason: &str) -> VulnError {
    VulnError::Unrecognised {
        file: name.to_owned(),
        reason: reason.to_owned(),
        hint: "give NVD CVE API 2.0 JSON (one record or a feed), OSV JSON or YAML, the CISA KEV catalogue JSON or an EPSS CSV, plain or as .gz, .xz or .zip".to_owned(),
    }
}

/// Parses one uncompressed document.
fn parse(name: &str, bytes: &[u8], limits: &ReadLimits) -> Result<Document, VulnError> {
    let text_start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let first = bytes.get(text_start).copied();
    if epss::looks_like(bytes) {
        let scores = epss::parse(name, bytes)?;
        return Ok(Document {
            name: name.to_owned(),
            kind: Kind::Epss,
            date: scores.score_date.clone(),
            content: Content::Epss(scores),
        });
    }
    match first {
        Some(b'{') => parse_object(name, bytes, limits),
        Some(b'[') => {
            let items: Vec<&RawValue> = from_json(name, "", "list of OSV records", bytes)?;
            let advisories = parse_items(name, &items, limits, |file, prefix, raw| {
                let raw: osv::RawOsv = from_json(file, prefix, "OSV record", raw)?;
                osv::advisory(file, prefix, raw)
            })?;
            Ok(advisories_document(name, Kind::Osv, None, advisories))
        }
        _ => {
            let yaml = std::path::Path::new(name).extension().is_some_and(|ext| {
                ext.eq_ignore_ascii_case("yaml") || ext.eq_ignore_ascii_case("yml")
            });
            if yaml {
                let advisory = osv::parse_yaml(name, bytes)?;
                Ok(advisories_document(name, Kind::Osv, None, vec![advisory]))
            } else {
                Err(unrecognised(
                    name,
                    "not JSON, YAML (by its `.yaml` name) or EPSS CSV",
                ))
            }
        }
    }
}

fn advisories_document(
    name: &str,
    kind: Kind,
    date: Option<String>,
    advisories: Vec<Advisory>,
) -> Document {
    let date = date.or_else(|| advisories.iter().filter_map(|a| a.modified.clone()).max());
    Document {
        name: name.to_owned(),
        kind,
        date,
        content: Content::Advisories(advisories),
    }
}

fn parse_items(
    name: &str,
    items: &[&RawValue],
    limits: &ReadLimits,
    parse_one: impl Fn(&str, &str, &[u8]) -> Result<Advisory, VulnError> + Sync,
) -> Result<Vec<Advisory>, VulnError> {
    let results: Vec<Result<Advisory, VulnError>> = items
        .par_iter()
        .enumerate()
        .map(|(idx, raw)| {
            let prefix = format!("/vulnerabilities/{idx}");
            let text = raw.get();
            if text.len() > limits.max_record_bytes {
                return Err(VulnError::TooLarge {
                    file: name.to_owned(),
                    what: format!("the record at `{prefix}` ({} bytes)", text.len()),
                    limit: format!("{} bytes", limits.max_record_bytes),
                });
            }
            parse_one(name, &prefix, text.as_bytes())
        })
        .collect();
    // The first bad item in document order, so the error is the same from run to run.
    results.into_iter().collect()
}

fn parse_object(name: &str, bytes: &[u8], limits: &ReadLimits) -> Result<Document, VulnError> {
    let probe: Probe<'_> = from_json(name, "", "JSON vulnerability document", bytes)?;
    if probe.bom_format.is_some() || probe.context.is_some() || probe.document.is_some() {
        return Err(VulnError::Unrecognised {
            file: name.to_owned(),
            reason: "this is a VEX or SBOM document, not vulnerability records".to_owned(),
            hint: "give VEX documents to `consign vuln match --vex FILE`; the database holds NVD, OSV, KEV and EPSS data".to_owned(),
        });
    }
    if probe.cve_items.is_some() {
        return Err(VulnError::Unrecognised {
            file: name.to_owned(),
            reason: "this is an NVD JSON 1.1 feed (`CVE_Items`), which NVD retired in 2023".to_owned(),
            hint: "use the NVD CVE API 2.0 records or the 2.0 yearly feeds (`nvdcve-2.0-YYYY.json.gz`)".to_owned(),
        });
    }
    if probe.catalog_version.is_some() {
        let catalogue = kev::parse(name, bytes)?;
        return Ok(Document {
            name: name.to_owned(),
            kind: Kind::Kev,
            date: catalogue.released.clone(),
            content: Content::Kev(catalogue),
        });
    }
    if let Some(list) = probe.vulnerabilities {
        let items: Vec<&RawValue> =
            from_json(name, "/vulnerabilities", "NVD feed", list.get().as_bytes())?;
        let advisories = parse_items(name, &items, limits, nvd::parse_item)?;
        return Ok(advisories_document(
            name,
            Kind::Nvd,
            probe.timestamp,
            advisories,
        ));
    }
    if probe.id.is_some() {
        let nvd_shaped = probe.configurations.is_some()
            || probe.source_identifier.is_some()
            || probe.vuln_status.is_some()
            || probe.descriptions.is_some();
        let osv_shaped =
            probe.affected.is_some() || probe.schema_version.is_some() || probe.modified.is_some();
        if nvd_shaped && probe.affected.is_none() {
            let advisory = nvd::parse_cve(name, bytes)?;
            return Ok(advisories_document(name, Kind::Nvd, None, vec![advisory]));
        }
        if osv_shaped {
            let advisory = osv::parse_json(name, bytes)?;
            return Ok(advisories_document(name, Kind::Osv, None, vec![advisory]));
        }
    }
    Err(unrecognised(
        name,
        "a JSON object that is neither an NVD record or feed, an OSV record nor the KEV catalogue",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn shared(path: &str) -> Vec<u8> {
        crate::test_support::vulndata(path)
    }

    fn advisories(doc: &Document) -> &[Advisory] {
        match &doc.content {
            Content::Advisories(list) => list,
            _ => panic!("not advisories"),
        }
    }

    #[test]
    fn recognises_every_kind() {
        let limits = ReadLimits::default();
        let nvd = read(
            "a.json",
            &shared("nvd/CVE-2014/CVE-2014-0160.json"),
            &limits,
        )
        .unwrap();
        assert_eq!(nvd[0].kind, Kind::Nvd);
        assert_eq!(advisories(&nvd[0])[0].id, "CVE-2014-0160");
        assert!(nvd[0].date.is_some());
        let kev = read(
            "k.json",
            &shared("kev/known_exploited_vulnerabilities.json"),
            &limits,
        )
        .unwrap();
        assert_eq!(kev[0].kind, Kind::Kev);
        assert_eq!(kev[0].date.as_deref(), Some("2025-08-25T17:04:19.9796Z"));
        let osv = read(
            "o.yaml",
            &shared("osv/oss-fuzz-vulns/vulns/openssl/OSV-2018-109.yaml"),
            &limits,
        )
        .unwrap();
        assert_eq!(osv[0].kind, Kind::Osv);
        let vex = read(
            "v.json",
            &shared("vex/openvex/vexctl/examples/openvex/demo.vex.json"),
            &limits,
        )
        .unwrap_err()
        .to_string();
        assert!(vex.contains("vuln match --vex"), "{vex}");
        let old = read("old.json", br#"{"CVE_Items": []}"#, &limits)
            .unwrap_err()
            .to_string();
        assert!(old.contains("JSON 1.1"), "{old}");
        assert!(read("x.txt", b"hello", &limits).is_err());
    }

    #[test]
    fn feeds_compressed_and_bad_items() {
        let limits = ReadLimits::default();
        let one = String::from_utf8(shared("nvd/CVE-2014/CVE-2014-0160.json")).unwrap();
        let two = String::from_utf8(shared("nvd/CVE-2008/CVE-2008-0166.json")).unwrap();
        let feed = format!(
            r#"{{"format": "NVD_CVE", "version": "2.0", "timestamp": "2024-10-25T01:15:00.000", "vulnerabilities": [{{"cve": {one}}}, {{"cve": {two}}}]}}"#
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(feed.as_bytes()).unwrap();
        let docs = read("feed.json.gz", &gz.finish().unwrap(), &limits).unwrap();
        assert_eq!(docs[0].date.as_deref(), Some("2024-10-25T01:15:00.000"));
        let ids: Vec<&str> = advisories(&docs[0]).iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["CVE-2014-0160", "CVE-2008-0166"]);
        let bad = feed.replacen("\"vulnerable\":true", "\"vulnerable\":\"yes\"", 1);
        assert_ne!(bad, feed);
        let err = read("feed.json", bad.as_bytes(), &limits)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("`feed.json`: at `/vulnerabilities/0/cve/configurations/"),
            "{err}"
        );
        let tight = ReadLimits {
            max_document_bytes: 1000,
            ..limits
        };
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&vec![b' '; 1 << 20]).unwrap();
        let err = read("bomb.gz", &gz.finish().unwrap(), &tight)
            .unwrap_err()
            .to_string();
        assert!(err.contains("over the limit"), "{err}");
    }
}
