//! A part of the input that was not read, so what was found is incomplete.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a part of the input was not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum CutReason {
    /// Containers nested deeper than the depth limit.
    DepthLimit,
    /// The entry count limit.
    EntryLimit,
    /// The limit on all output bytes.
    TotalBytesLimit,
    /// The limit on one file's or stream's size.
    FileBytesLimit,
    /// The expansion ratio limit (one decompression, or the whole job).
    RatioLimit,
    /// The time limit.
    TimeLimit,
    /// A feature the reader does not support (encryption, a compression method, ...).
    Unsupported,
    /// Refused as hostile: data shared or overlapping in a way no archiver writes.
    Refused,
    /// The same bytes reached a second time; listed once, not scanned again.
    Duplicate,
    /// The container declares more than its data holds (an entry count the directory lacks).
    Truncated,
    /// The detector's bound on reading one file's version strings: the file held more anchor
    /// hits, or more releases of one product, than it reads in a file of that size.
    DetectionLimit,
}

impl CutReason {
    /// The kebab-case name, as serialised (`entry-limit`).
    pub fn as_str(self) -> &'static str {
        match self {
            CutReason::DepthLimit => "depth-limit",
            CutReason::EntryLimit => "entry-limit",
            CutReason::TotalBytesLimit => "total-bytes-limit",
            CutReason::FileBytesLimit => "file-bytes-limit",
            CutReason::RatioLimit => "ratio-limit",
            CutReason::TimeLimit => "time-limit",
            CutReason::Unsupported => "unsupported",
            CutReason::Refused => "refused",
            CutReason::Duplicate => "duplicate",
            CutReason::Truncated => "truncated",
            CutReason::DetectionLimit => "detection-limit",
        }
    }
}

impl fmt::Display for CutReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event that cut the output: where, what was not read, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cut {
    /// The logical path of the container or file (see [`crate::Vfs`]).
    pub location: String,
    /// Byte offset inside `location`, when one applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// What was not read, one lower-case line (`entries from `etc/passwd` on`).
    pub what: String,
    /// Why.
    pub reason: CutReason,
}

impl fmt::Display for Cut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.location)?;
        if let Some(offset) = self.offset {
            write!(f, " at offset {offset:#x}")?;
        }
        write!(f, ": {} ({})", self.what, self.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_render_and_serialise() {
        let cut = Cut {
            location: "fw.bin/zip@0x0".into(),
            offset: Some(0x40),
            what: "entries from `b` on".into(),
            reason: CutReason::EntryLimit,
        };
        assert_eq!(
            cut.to_string(),
            "fw.bin/zip@0x0 at offset 0x40: entries from `b` on (entry-limit)"
        );
        let json = serde_json::to_string(&cut).unwrap();
        assert!(json.contains(r#""reason":"entry-limit""#), "{json}");
        assert_eq!(serde_json::from_str::<Cut>(&json).unwrap(), cut);
    }
}
