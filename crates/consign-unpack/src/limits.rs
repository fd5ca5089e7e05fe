//! Resource limits for unpacking hostile input.

use std::fmt;

use consign_model::CutReason;
use serde::{Deserialize, Serialize};

/// Bounds on what unpacking may produce. Every untrusted size is checked against one of these.
///
/// When a limit is reached, unpacking records a diagnostic naming the limit and the place, skips
/// that part and goes on with the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// How many containers deep unpacking may go (an image inside a filesystem inside an image...).
    pub max_depth: u32,
    /// How many entries (files, directories, links) in all.
    pub max_entries: u64,
    /// How many bytes of file contents in all, across every level.
    pub max_total_bytes: u64,
    /// How large a single decompressed stream or file may be.
    pub max_file_bytes: u64,
    /// How many output bytes one input byte may become in a single decompression (inputs under
    /// 4 KiB count as 4 KiB, so tiny headers may still hold a normal block), and how many bytes
    /// all decoders of one job together may produce per byte of the job's input, kept or not (so
    /// nested bombs cannot multiply it level by level).
    pub max_ratio: u64,
    /// How many seconds one job may run; 0 for no deadline. Checked at every entry and every
    /// reservation of output, so a job stops within moments of it and says what it did not read.
    #[serde(default)]
    pub max_seconds: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 16,
            max_entries: 1_000_000,
            max_total_bytes: 4 << 30,
            max_file_bytes: 1 << 30,
            max_ratio: 1000,
            max_seconds: 300,
        }
    }
}

/// Which limit was reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Limit {
    /// [`Limits::max_depth`].
    Depth,
    /// [`Limits::max_entries`].
    Entries,
    /// [`Limits::max_total_bytes`].
    TotalBytes,
    /// [`Limits::max_file_bytes`].
    FileBytes,
    /// [`Limits::max_ratio`].
    Ratio,
    /// [`Limits::max_seconds`].
    Time,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::Depth => "nesting depth limit (`--max-depth`) reached",
            Limit::Entries => "entry count limit (`--max-entries`) reached",
            Limit::TotalBytes => "total output limit (`--max-total-bytes`) reached",
            Limit::FileBytes => "single file size limit (`--max-file-bytes`) reached",
            Limit::Ratio => "expansion ratio limit (`--max-ratio`) reached",
            Limit::Time => "time limit (`--max-seconds`) reached",
        })
    }
}

impl Limit {
    /// The hint for a diagnostic about this limit.
    pub fn hint(self) -> &'static str {
        match self {
            Limit::Depth => "raise `--max-depth` if this nesting is expected",
            Limit::Entries => "raise `--max-entries` if this input is trusted",
            Limit::TotalBytes => "raise `--max-total-bytes` if this input is trusted",
            Limit::FileBytes => "raise `--max-file-bytes` if this input is trusted",
            Limit::Ratio => "raise `--max-ratio` if this input is trusted",
            Limit::Time => "raise `--max-seconds` (0 for no deadline) if this input is trusted",
        }
    }
}

impl From<Limit> for CutReason {
    fn from(limit: Limit) -> Self {
        match limit {
            Limit::Depth => CutReason::DepthLimit,
            Limit::Entries => CutReason::EntryLimit,
            Limit::TotalBytes => CutReason::TotalBytesLimit,
            Limit::FileBytes => CutReason::FileBytesLimit,
            Limit::Ratio => CutReason::RatioLimit,
            Limit::Time => CutReason::TimeLimit,
        }
    }
}
