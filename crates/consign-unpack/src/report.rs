//! What unpacking found, as a tree of containers: the data behind `consign unpack`'s text and JSON
//! output. Built by the engine; holds no file contents.

use consign_model::{Cut, Diagnostic};
use serde::Serialize;

/// The report of one unpacking job.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The input file and everything found in it.
    pub root: BlobReport,
    /// Totals over the whole job.
    pub totals: Totals,
    /// Every part of the input that was not read (a limit, the deadline, an unsupported feature,
    /// a refused construction), in the order the tree is listed. Empty when the result is
    /// complete as far as the unpacker can tell.
    pub incomplete: Vec<Cut>,
}

/// One file that was scanned for containers: the input itself, or a file extracted from a container.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BlobReport {
    /// Logical path (`flash.bin/uimage@0x0/kernel`).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Containers found in it, by offset.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<ContainerReport>,
    /// Regions no container claimed (reported for the input and for files with containers).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unclaimed: Vec<Region>,
    /// Problems with this file as a whole (a limit reached before scanning it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<Diagnostic>,
}

/// One container found inside a file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ContainerReport {
    /// Format name (`uimage`, `squashfs`, `gzip`, ...).
    pub format: String,
    /// Offset inside the file.
    pub offset: u64,
    /// Bytes it occupies.
    pub size: u64,
    /// One-line description from its header.
    pub description: String,
    /// How many entries it held.
    pub entries: u64,
    /// Problems met while extracting it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<Diagnostic>,
    /// Its files that held containers themselves or had problems (others are left out).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<BlobReport>,
}

/// A byte range nothing claimed, with its Shannon entropy so that encrypted or compressed data of
/// an unknown format (near 8 bits per byte) stands out from padding (near 0).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Region {
    /// Offset inside the file.
    pub offset: u64,
    /// Length in bytes.
    pub size: u64,
    /// Shannon entropy in bits per byte (0 to 8).
    pub entropy: f64,
}

/// Totals over the job.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Regular files in the tree, the input included.
    pub files: u64,
    /// Bytes in those files.
    pub bytes: u64,
    /// Containers found.
    pub containers: u64,
    /// Diagnostics of every severity.
    pub diagnostics: u64,
    /// Parts of the input that were not read ([`Report::incomplete`]).
    pub cuts: u64,
}

impl Report {
    /// True when nothing was cut: every container found was read in full.
    pub fn is_complete(&self) -> bool {
        self.incomplete.is_empty()
    }

    /// Every diagnostic in the report, depth first.
    pub fn diagnostics(&self) -> Vec<&Diagnostic> {
        let mut out = Vec::new();
        self.root.collect_diagnostics(&mut out);
        out
    }
}

impl BlobReport {
    fn collect_diagnostics<'a>(&'a self, out: &mut Vec<&'a Diagnostic>) {
        out.extend(&self.diagnostics);
        for container in &self.containers {
            out.extend(&container.diagnostics);
            for child in &container.children {
                child.collect_diagnostics(out);
            }
        }
    }

    /// True when there is nothing to say about this file beyond its name.
    pub(crate) fn is_plain(&self) -> bool {
        self.containers.is_empty() && self.diagnostics.is_empty()
    }
}

/// Shannon entropy of `data` in bits per byte.
pub fn entropy(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts = [0u64; 256];
    for &byte in data {
        counts[usize::from(byte)] += 1;
    }
    #[allow(clippy::cast_precision_loss)] // Counts fit an f64's mantissa for any real input.
    let total = data.len() as f64;
    let bits: f64 = counts
        .iter()
        .filter(|&&count| count > 0)
        .map(|&count| {
            #[allow(clippy::cast_precision_loss)]
            let p = count as f64 / total;
            -p * p.log2()
        })
        .sum();
    (bits * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_bounds() {
        assert!(entropy(&[0u8; 100]).abs() < f64::EPSILON);
        let all: Vec<u8> = (0..=255).collect();
        assert!((entropy(&all) - 8.0).abs() < 1e-9);
        assert!((entropy(b"abab") - 1.0).abs() < 1e-9);
    }
}
