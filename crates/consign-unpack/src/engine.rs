//! The carving and recursion engine: finds every known container in a file in one pass, keeps the
//! best non-overlapping set, extracts them (in parallel where sizes are known up front), records
//! the gaps, and scans every extracted file again, down to the depth limit.

use bytes::Bytes;
use consign_model::{Diagnostic, NodeKind, Provenance, VfsNode};
use rayon::prelude::*;

use crate::fs::{FsListing, Probe};
use crate::registry::{FORMATS, automaton};
use crate::report::{BlobReport, ContainerReport, Region, entropy};
use crate::{Budget, Limit};

/// A file to scan: the input itself or an extracted file.
pub(crate) struct Blob {
    pub(crate) path: String,
    pub(crate) provenance: Vec<Provenance>,
    pub(crate) data: Bytes,
    pub(crate) depth: u32,
}

/// A container the carver accepted.
struct Accepted {
    format: usize,
    start: usize,
    size: usize,
    probe: Probe,
    listing: Option<FsListing>,
}

/// Blobs larger than this are searched for magics in parallel pieces.
const PIECE: usize = 4 << 20;

/// Where a format's structure could start: `(offset, format index)`, sorted, without duplicates.
fn candidates(data: &[u8]) -> Vec<(usize, usize)> {
    let (automaton, owners) = automaton();
    // A large blob (a decompressed kernel) is searched in pieces on every core. Each piece is
    // searched a little past its end, so a magic that straddles the cut is found, and keeps only
    // the matches that start inside it, so none is found twice.
    let overlap = automaton.max_pattern_len().saturating_sub(1);
    let starts: Vec<usize> = (0..data.len()).step_by(PIECE).collect();
    let mut out: Vec<(usize, usize)> = starts
        .par_iter()
        .flat_map_iter(|&from| {
            let end = data.len().min(from + PIECE);
            let piece = &data[from..data.len().min(end + overlap)];
            automaton
                .find_overlapping_iter(piece)
                .filter(move |hit| from + hit.start() < end)
                .filter_map(move |hit| {
                    let format = *owners.get(hit.pattern().as_usize())?;
                    let at = from + hit.start();
                    let start = at.checked_sub(FORMATS.get(format)?.magic_offset)?;
                    Some((start, format))
                })
        })
        .collect();
    // Formats without a magic are only tried at the very start.
    for (index, format) in FORMATS.iter().enumerate() {
        if format.magics.is_empty() {
            out.push((0, index));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Greedy selection by offset: at each offset the first format (in table order) whose probe
/// accepts wins; anything starting inside an accepted region is left to the recursion.
fn select(data: &Bytes, budget: &Budget) -> Vec<Accepted> {
    let mut accepted = Vec::new();
    let mut cursor = 0usize;
    for (start, format_index) in candidates(data) {
        if start < cursor {
            continue;
        }
        let Some(format) = FORMATS.get(format_index) else {
            continue;
        };
        let rest = data.slice(start..);
        let Some(probe) = (format.probe)(&rest) else {
            continue;
        };
        let remaining = rest.len();
        let accept = match probe.size {
            Some(size) if size > 0 => Accepted {
                format: format_index,
                start,
                size: usize::try_from(size).unwrap_or(usize::MAX).min(remaining),
                probe,
                listing: None,
            },
            _ => {
                // Streams: only decoding tells how long they are.
                let listing = (format.extract)(&rest, budget);
                if listing.entries.is_empty() && listing.size.is_none() {
                    continue;
                }
                let size = listing
                    .size
                    .and_then(|s| usize::try_from(s).ok())
                    .unwrap_or(1)
                    .clamp(1, remaining);
                Accepted {
                    format: format_index,
                    start,
                    size,
                    probe,
                    listing: Some(listing),
                }
            }
        };
        cursor = start + accept.size;
        accepted.push(accept);
    }
    accepted
}

/// Names update formats that are built on a generic container.
fn refine(format: &'static str, listing: &FsListing, description: &mut String) -> &'static str {
    let first = listing
        .entries
        .first()
        .map(|e| e.path.trim_start_matches("./"));
    let has = |prefix: &str| {
        listing
            .entries
            .iter()
            .any(|e| e.path.trim_start_matches("./").starts_with(prefix))
    };
    match format {
        "cpio" if first == Some("sw-description") => {
            *description = format!("SWUpdate image ({description})");
            "swupdate"
        }
        "tar" if first == Some("version") && has("manifest") && has("header.tar") => {
            *description = format!("Mender artifact ({description})");
            "mender"
        }
        _ => format,
    }
}

/// RAUC bundles are a squashfs followed by a CMS signature and its size as a big-endian u64.
fn rauc_signature(data: &[u8], squashfs_end: usize) -> Option<usize> {
    let size_at = data.len().checked_sub(8)?;
    let size = usize::try_from(u64::from_be_bytes(data.get(size_at..)?.try_into().ok()?)).ok()?;
    let start = size_at.checked_sub(size)?;
    (start >= squashfs_end && size > 16 && data.get(start) == Some(&0x30)).then_some(start)
}

/// Shared state of one job.
pub(crate) struct Engine<'a> {
    pub(crate) budget: &'a Budget,
}

impl Engine<'_> {
    /// Scans `blob` and everything inside it. Returns the nodes found inside (not the blob's own
    /// node) and the blob's report.
    pub(crate) fn scan(&self, blob: &Blob) -> (Vec<VfsNode>, BlobReport) {
        let mut report = BlobReport {
            path: blob.path.clone(),
            size: blob.data.len() as u64,
            containers: Vec::new(),
            unclaimed: Vec::new(),
            diagnostics: Vec::new(),
        };
        if blob.depth > self.budget.limits().max_depth {
            // Say so only when there is something that would have been unpacked.
            let found = candidates(&blob.data)
                .into_iter()
                .find_map(|(start, format)| {
                    let format = FORMATS.get(format)?;
                    (format.probe)(blob.data.get(start..)?).map(|probe| (start, probe))
                });
            if let Some((start, probe)) = found {
                report.diagnostics.push(
                    Diagnostic::warning(
                        &blob.path,
                        format!("{} not unpacked: {}", probe.format, Limit::Depth),
                    )
                    .at(start as u64)
                    .with_hint("raise `--max-depth` if this nesting is expected"),
                );
            }
            return (Vec::new(), report);
        }
        let accepted = select(&blob.data, self.budget);

        // Gaps, with entropy. Reported for the input itself and for files holding containers.
        if blob.depth == 0 || !accepted.is_empty() {
            let mut cursor = 0usize;
            let ends = accepted
                .iter()
                .map(|a| (a.start, a.start + a.size))
                .chain(std::iter::once((blob.data.len(), blob.data.len())));
            for (start, end) in ends {
                if start > cursor {
                    report.unclaimed.push(Region {
                        offset: cursor as u64,
                        size: (start - cursor) as u64,
                        entropy: entropy(blob.data.get(cursor..start).unwrap_or_default()),
                    });
                }
                cursor = cursor.max(end);
            }
        }

        // Containers side by side (a kernel and a root filesystem, say) are extracted and scanned
        // at the same time, each as one task, so a long serial chain (a kernel inflated, then
        // scanned) never waits for its neighbour's extraction; `collect` keeps their order, so the
        // output does not depend on timing.
        let done: Vec<(Vec<VfsNode>, ContainerReport)> = accepted
            .into_par_iter()
            .map(|mut found| {
                if found.listing.is_none()
                    && let Some(format) = FORMATS.get(found.format)
                {
                    let slice = blob.data.slice(found.start..found.start + found.size);
                    found.listing = Some((format.extract)(&slice, self.budget));
                }
                self.container(blob, found)
            })
            .collect();
        let mut nodes = Vec::new();
        for (container_nodes, container) in done {
            nodes.extend(container_nodes);
            report.containers.push(container);
        }
        (nodes, report)
    }

    /// Turns one accepted container into nodes, and scans its files.
    fn container(&self, blob: &Blob, found: Accepted) -> (Vec<VfsNode>, ContainerReport) {
        let mut listing = found.listing.unwrap_or_default();
        let mut description = found.probe.description;
        let mut format = refine(found.probe.format, &listing, &mut description);
        let mut size = found.size;
        if format == "squashfs" && found.start == 0 && rauc_signature(&blob.data, size).is_some() {
            format = "rauc";
            description =
                format!("RAUC bundle ({description}); the CMS signature is not checked here");
            size = blob.data.len();
        }
        let path = format!("{}/{format}@{:#x}", blob.path, found.start);
        let mut diagnostics: Vec<Diagnostic> = std::mem::take(&mut listing.diagnostics)
            .into_iter()
            .map(|mut d| {
                d.location = if d.location.is_empty() {
                    path.clone()
                } else {
                    format!("{path}/{}", d.location.trim_start_matches('/'))
                };
                d
            })
            .collect();

        let mut entries = Vec::with_capacity(listing.entries.len());
        for entry in listing.entries {
            if let Err(limit) = self.budget.take_entry() {
                diagnostics.push(
                    Diagnostic::warning(
                        &path,
                        format!("entries from `{}` on were skipped: {limit}", entry.path),
                    )
                    .with_hint("raise `--max-entries` if this input is trusted"),
                );
                break;
            }
            let inner = entry.path.trim_start_matches("./").trim_start_matches('/');
            let inner = inner.trim_end_matches('/');
            if (inner.is_empty() || inner == ".") && matches!(entry.kind, NodeKind::Dir) {
                continue;
            }
            let mut provenance = blob.provenance.clone();
            provenance.push(Provenance {
                format: format.to_owned(),
                offset: found.start as u64,
                path: Some(entry.path.clone()),
            });
            entries.push(VfsNode {
                path: format!("{path}/{inner}"),
                provenance,
                kind: entry.kind,
                mode: entry.mode,
                mtime: entry.mtime,
            });
        }
        let n_entries = entries.len() as u64;

        // Scan every extracted file again, in parallel, keeping the order.
        let depth = blob.depth + 1;
        let nested: Vec<Option<(Vec<VfsNode>, BlobReport)>> = entries
            .par_iter()
            .map(|node| {
                let data = node.data()?;
                if data.len() < 16 {
                    return None;
                }
                Some(self.scan(&Blob {
                    path: node.path.clone(),
                    provenance: node.provenance.clone(),
                    data: data.clone(),
                    depth,
                }))
            })
            .collect();
        let mut nodes = Vec::new();
        let mut children = Vec::new();
        for (node, inner) in entries.into_iter().zip(nested) {
            nodes.push(node);
            if let Some((inner_nodes, inner_report)) = inner {
                nodes.extend(inner_nodes);
                if !inner_report.is_plain() {
                    children.push(inner_report);
                }
            }
        }
        let container = ContainerReport {
            format: format.to_owned(),
            offset: found.start as u64,
            size: size as u64,
            description,
            entries: n_entries,
            diagnostics,
            children,
        };
        (nodes, container)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The piecewise search finds a magic wherever it sits, straddling a cut included, once.
    #[test]
    fn magics_across_piece_boundaries_are_found_once() {
        let squashfs = FORMATS.iter().position(|f| f.name == "squashfs").unwrap();
        let mut data = vec![0u8; 2 * PIECE + 100];
        let places = [0, PIECE - 2, PIECE + 3, 2 * PIECE - 3, 2 * PIECE + 96];
        for at in places {
            data[at..at + 4].copy_from_slice(b"hsqs");
        }
        let found: Vec<usize> = candidates(&data)
            .into_iter()
            .filter(|(_, format)| *format == squashfs)
            .map(|(start, _)| start)
            .collect();
        assert_eq!(found, places);
    }
}
