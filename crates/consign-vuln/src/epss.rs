//! FIRST's EPSS scores (`epss_scores-YYYY-MM-DD.csv`): the probability that a CVE is exploited
//! in the next 30 days, and its percentile. The file starts with
//! `#model_version:v2025.03.14,score_date:2025-08-25T12:55:00Z`, then `cve,epss,percentile`.

use serde::{Deserialize, Serialize};

use crate::error::{VulnError, excerpt};
use crate::record::is_cve_id;

/// The most rows read (about 300,000 CVEs are scored today).
pub const MAX_ROWS: usize = 5_000_000;

/// One CVE's score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpssScore {
    /// The CVE.
    pub cve: String,
    /// Probability of exploitation in the next 30 days, 0 to 1.
    pub epss: f64,
    /// Percentile among all scored CVEs, 0 to 1.
    pub percentile: f64,
}

/// A parsed EPSS file.
#[derive(Clone, Debug, PartialEq)]
pub struct Scores {
    /// `model_version` from the comment line.
    pub model_version: Option<String>,
    /// `score_date` from the comment line.
    pub score_date: Option<String>,
    /// The rows.
    pub scores: Vec<EpssScore>,
}

/// True when `bytes` look like an EPSS CSV (comment line or header first).
pub fn looks_like(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(64)];
    head.starts_with(b"#model_version") || head.starts_with(b"cve,epss")
}

/// Reads an EPSS CSV file.
pub fn parse(file: &str, bytes: &[u8]) -> Result<Scores, VulnError> {
    let text = std::str::from_utf8(bytes).map_err(|err| VulnError::Invalid {
        file: file.to_owned(),
        pointer: format!("byte {}", err.valid_up_to()),
        reason: "not UTF-8".to_owned(),
    })?;
    let mut out = Scores {
        model_version: None,
        score_date: None,
        scores: Vec::new(),
    };
    let mut header_seen = false;
    for (idx, line) in text.lines().enumerate() {
        let line_no = idx + 1;
        let invalid = |reason: String| VulnError::Invalid {
            file: file.to_owned(),
            pointer: format!("line {line_no}"),
            reason,
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            for pair in comment.split(',') {
                match pair.split_once(':') {
                    Some(("model_version", value)) => out.model_version = Some(excerpt(value)),
                    Some(("score_date", value)) => out.score_date = Some(excerpt(value)),
                    _ => {}
                }
            }
            continue;
        }
        if !header_seen {
            if line != "cve,epss,percentile" {
                return Err(invalid(format!(
                    "expected the header `cve,epss,percentile`, found `{}`",
                    excerpt(line)
                )));
            }
            header_seen = true;
            continue;
        }
        if out.scores.len() >= MAX_ROWS {
            return Err(VulnError::TooLarge {
                file: file.to_owned(),
                what: "the number of rows".to_owned(),
                limit: MAX_ROWS.to_string(),
            });
        }
        let mut fields = line.split(',');
        let (Some(cve), Some(epss), Some(percentile), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(invalid(
                "expected three fields: `cve,epss,percentile`".to_owned(),
            ));
        };
        if !is_cve_id(cve) {
            return Err(invalid(format!("`{}` is not a CVE id", excerpt(cve))));
        }
        let number = |text: &str| {
            text.parse::<f64>()
                .ok()
                .filter(|v| (0.0..=1.0).contains(v))
                .ok_or_else(|| invalid(format!("`{}` is not a number from 0 to 1", excerpt(text))))
        };
        out.scores.push(EpssScore {
            cve: cve.to_owned(),
            epss: number(epss)?,
            percentile: number(percentile)?,
        });
    }
    if !header_seen {
        return Err(VulnError::Invalid {
            file: file.to_owned(),
            pointer: "line 1".to_owned(),
            reason: "no `cve,epss,percentile` header".to_owned(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_refuses() {
        let text = "#model_version:v2025.03.14,score_date:2025-08-25T12:55:00Z\ncve,epss,percentile\nCVE-2014-0160,0.94468,0.99984\nCVE-1999-0001,0.01141,0.83112\n";
        assert!(looks_like(text.as_bytes()));
        let scores = parse("e.csv", text.as_bytes()).unwrap();
        assert_eq!(scores.score_date.as_deref(), Some("2025-08-25T12:55:00Z"));
        assert_eq!(scores.scores.len(), 2);
        assert!((scores.scores[0].epss - 0.94468).abs() < 1e-9);
        let err = parse("e.csv", b"cve,epss,percentile\nCVE-2014-0160,1.5,0.2\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`e.csv`: line 2"), "{err}");
        assert!(parse("e.csv", b"cve,epss,percentile\nCVE-2014-0160,0.5\n").is_err());
        assert!(parse("e.csv", b"").is_err());
    }
}
