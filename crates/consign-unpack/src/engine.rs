//! The carving and recursion engine: finds every known container in a file in one pass, keeps the
//! best non-overlapping set, extracts them (in parallel where sizes are known up front), records
//! the gaps, and scans every extracted file again, down to the depth limit.
//!
//! Probing is linear in the file: magics are searched piece by piece (in parallel), candidates
//! are probed in offset order without ever being held all at once, candidates inside an accepted
//! container are skipped, and the one probe that searches forward (zip's end record) shares one
//! search per file. Nesting is bounded by [`MAX_NESTING`] whatever `--max-depth` says, since each
//! level costs stack.

use std::ops::ControlFlow;

use bytes::Bytes;
use consign_model::{Cut, CutReason, Diagnostic, NodeKind, Provenance, VfsNode};
use rayon::prelude::*;

use crate::formats::{block_ota, streams, zip};
use crate::fs::{FsListing, Probe};
use crate::registry::{FORMATS, magics};
use crate::report::{BlobReport, ContainerReport, Region, entropy};
use crate::{Budget, Limit};

/// How deep containers may nest, whatever [`crate::Limits::max_depth`] says: the engine recurses
/// once per level and each level costs stack on a worker thread, so the input must not choose
/// how deep that goes.
pub const MAX_NESTING: u32 = 64;

/// A file to scan: the input itself or an extracted file.
pub(crate) struct Blob {
    pub(crate) path: String,
    pub(crate) provenance: Vec<Provenance>,
    pub(crate) data: Bytes,
    pub(crate) depth: u32,
}

/// What scanning one file found: the nodes inside it (not its own), its report and the cuts.
pub(crate) struct Scanned {
    pub(crate) nodes: Vec<VfsNode>,
    pub(crate) report: BlobReport,
    pub(crate) cuts: Vec<Cut>,
}

/// A container the carver accepted.
struct Accepted {
    format: usize,
    start: usize,
    size: usize,
    probe: Probe,
    listing: Option<FsListing>,
}

/// Files are searched for magics in pieces of this size, in parallel, a few pieces at a time.
const PIECE: usize = 1 << 20;

/// The largest distance from a structure's start to its magic, over every format.
fn max_magic_offset() -> usize {
    FORMATS.iter().map(|f| f.magic_offset).max().unwrap_or(0)
}

/// Where a format's structure could start, for magics found in `data[from..from + PIECE]`:
/// `(offset, format index)`, sorted, without duplicates.
fn piece_candidates(data: &[u8], from: usize) -> Vec<(usize, usize)> {
    let magics = magics();
    // Each piece is searched a little past its end, so a magic that straddles the cut is found,
    // and keeps only the matches that start inside it, so none is found twice.
    let overlap = magics.longest().saturating_sub(1);
    let end = data.len().min(from + PIECE);
    let piece = &data[from..data.len().min(end + overlap)];
    let mut out: Vec<(usize, usize)> = magics
        .find(piece)
        .into_iter()
        .filter(|&(hit, _)| from + hit < end)
        .filter_map(|(hit, format)| {
            let at = from + hit;
            let start = at.checked_sub(FORMATS.get(format)?.magic_offset)?;
            Some((start, format))
        })
        .collect();
    if from == 0 {
        // Formats without a magic are only tried at the very start.
        for (index, format) in FORMATS.iter().enumerate() {
            if format.magics.is_empty() {
                out.push((0, index));
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Calls `visit` with every candidate `(offset, format index)` of `data`, in offset order (table
/// order at one offset), until it breaks. `visit` returns the first offset where a structure may
/// still start (the end of the container it accepted, or 0): no candidate before it is offered,
/// and the bytes before it are not searched at all, since whatever an accepted container holds is
/// unpacked and searched as its own file. Only a few pieces' candidates are held at a time.
fn for_each_candidate(data: &[u8], mut visit: impl FnMut(usize, usize) -> ControlFlow<(), usize>) {
    let batch = rayon::current_num_threads().max(1);
    let reach = max_magic_offset();
    let mut pending: Vec<(usize, usize)> = Vec::new();
    // The next byte to search, and the first offset a structure may start at.
    let mut searched = 0usize;
    let mut wanted = 0usize;
    loop {
        // A structure starting at or after `wanted` has its magic at or after it too.
        let from = searched.max(wanted);
        let group: Vec<usize> = (0..batch)
            .map(|piece| from + piece * PIECE)
            .take_while(|&start| start < data.len() || start == 0)
            .collect();
        let found: Vec<Vec<(usize, usize)>> = group
            .par_iter()
            .map(|&start| piece_candidates(data, start))
            .collect();
        pending.extend(found.into_iter().flatten());
        pending.sort_unstable();
        pending.dedup();
        searched = group.last().map_or(data.len(), |&start| start + PIECE);
        // A later piece's magic may belong to a structure starting up to `reach` bytes before
        // it: candidates that close to the unsearched rest wait for it.
        let last = searched >= data.len();
        let ready = if last {
            pending.len()
        } else {
            pending.partition_point(|&(start, _)| start + reach < searched)
        };
        for (start, format) in pending.drain(..ready) {
            if start < wanted {
                continue;
            }
            match visit(start, format) {
                ControlFlow::Break(()) => return,
                ControlFlow::Continue(next) => wanted = wanted.max(next),
            }
        }
        if last {
            return;
        }
    }
}

/// What probes that search forward share while one file is probed in offset order.
struct Lookahead<'a> {
    data: &'a [u8],
    /// The first fitting zip end record at or after `.0`, searched once and reused while the
    /// candidates stay before it.
    zip_end: Option<(usize, Option<usize>)>,
}

impl<'a> Lookahead<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            zip_end: None,
        }
    }

    /// The first fitting zip end record at or after `start`.
    fn zip_end_after(&mut self, start: usize) -> Option<usize> {
        if let Some((from, found)) = self.zip_end
            && from <= start
            && found.is_none_or(|at| at >= start)
        {
            return found;
        }
        let data = self.data;
        let found = memchr::memmem::find_iter(data.get(start..)?, zip::END_SIGNATURE)
            .map(|at| at + start)
            .find(|&at| zip::end_fits(data, at));
        self.zip_end = Some((start, found));
        found
    }

    /// Runs `format`'s probe at `start`.
    fn probe(&mut self, format: usize, start: usize) -> Option<Probe> {
        let entry = FORMATS.get(format)?;
        let rest = self.data.get(start..)?;
        if entry.name == "zip" {
            let end = self.zip_end_after(start)?;
            return zip::probe_with_end(rest, end - start);
        }
        (entry.probe)(rest)
    }
}

/// The first container `data` holds, if any: `(offset, probe)`.
fn first_container(data: &[u8]) -> Option<(usize, Probe)> {
    let mut ahead = Lookahead::new(data);
    let mut found = None;
    for_each_candidate(data, |start, format| match ahead.probe(format, start) {
        Some(probe) => {
            found = Some((start, probe));
            ControlFlow::Break(())
        }
        None => ControlFlow::Continue(0),
    });
    found
}

/// Greedy selection by offset: at each offset the first format (in table order) whose probe
/// accepts wins; anything starting inside an accepted region is left to the recursion.
fn select(data: &Bytes, budget: &Budget) -> Vec<Accepted> {
    let mut accepted = Vec::new();
    let mut cursor = 0usize;
    let mut ahead = Lookahead::new(data);
    for_each_candidate(data, |start, format_index| {
        let (Some(format), Some(probe)) =
            (FORMATS.get(format_index), ahead.probe(format_index, start))
        else {
            return ControlFlow::Continue(cursor);
        };
        let remaining = data.len() - start;
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
                let listing = (format.extract)(&data.slice(start..), budget);
                if listing.entries.is_empty() && listing.size.is_none() && listing.cuts.is_empty() {
                    return ControlFlow::Continue(cursor);
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
        ControlFlow::Continue(cursor)
    });
    accepted
}
/// A container only a file's name can tell (brotli has no magic): `*.br`, when nothing was
/// found in it by its bytes.
fn by_name(blob: &Blob, budget: &Budget) -> Option<Accepted> {
    let file_name = blob.path.rsplit('/').next()?;
    let is_br = std::path::Path::new(file_name)
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("br"));
    if !is_br || file_name.len() <= 3 {
        return None;
    }
    let listing = streams::extract_brotli(&blob.data, budget, file_name);
    if listing.entries.is_empty() && listing.cuts.is_empty() {
        return None;
    }
    Some(Accepted {
        format: usize::MAX,
        start: 0,
        size: blob.data.len(),
        probe: Probe {
            format: "brotli",
            size: Some(blob.data.len() as u64),
            description: "brotli stream (named `.br`)".to_owned(),
        },
        listing: Some(listing),
    })
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
    let size = usize::try_from(crate::binary::u64be(data, size_at)?).ok()?;
    let start = size_at.checked_sub(size)?;
    (start >= squashfs_end && size > 16 && data.get(start) == Some(&0x30)).then_some(start)
}

/// Shared state of one job.
pub(crate) struct Engine<'a> {
    pub(crate) budget: &'a Budget,
    /// Called on every file as soon as it exists (`crate::unpack_visiting`).
    pub(crate) visit: Option<crate::Visit<'a>>,
}

/// Moves `listing`'s diagnostics and cuts under `path` (they are relative to the container).
fn relocate(path: &str, location: &mut String) {
    *location = if location.is_empty() {
        path.to_owned()
    } else {
        format!("{path}/{}", location.trim_start_matches('/'))
    };
}

impl Engine<'_> {
    /// Scans `blob` and everything inside it.
    pub(crate) fn scan(&self, blob: &Blob) -> Scanned {
        let mut scanned = Scanned {
            nodes: Vec::new(),
            report: BlobReport {
                path: blob.path.clone(),
                size: blob.data.len() as u64,
                containers: Vec::new(),
                unclaimed: Vec::new(),
                diagnostics: Vec::new(),
            },
            cuts: Vec::new(),
        };
        let max_depth = self.budget.limits().max_depth;
        if blob.depth > max_depth.min(MAX_NESTING) {
            // Say so only when there is something that would have been unpacked.
            if let Some((start, probe)) = first_container(&blob.data) {
                let (message, hint) = if blob.depth > max_depth {
                    (Limit::Depth.to_string(), Limit::Depth.hint().to_owned())
                } else {
                    (
                        format!(
                            "containers nested more than {MAX_NESTING} deep are never unpacked"
                        ),
                        "this bound protects the stack and does not move with `--max-depth`"
                            .to_owned(),
                    )
                };
                scanned.cuts.push(Cut {
                    location: blob.path.clone(),
                    offset: Some(start as u64),
                    what: format!("{} and everything inside it", probe.format),
                    reason: CutReason::DepthLimit,
                });
                scanned.report.diagnostics.push(
                    Diagnostic::warning(
                        &blob.path,
                        format!("{} not unpacked: {message}", probe.format),
                    )
                    .at(start as u64)
                    .with_hint(hint),
                );
            }
            return scanned;
        }
        if let Err(limit) = self.budget.check_time() {
            scanned.cuts.push(Cut {
                location: blob.path.clone(),
                offset: None,
                what: "this file (not searched for containers)".to_owned(),
                reason: limit.into(),
            });
            scanned.report.diagnostics.push(
                Diagnostic::warning(&blob.path, format!("not searched for containers: {limit}"))
                    .with_hint(limit.hint()),
            );
            return scanned;
        }
        let mut accepted = select(&blob.data, self.budget);
        if accepted.is_empty()
            && let Some(found) = by_name(blob, self.budget)
        {
            accepted.push(found);
        }

        // Gaps, with entropy. Reported for the input itself and for files holding containers.
        if blob.depth == 0 || !accepted.is_empty() {
            let mut cursor = 0usize;
            let ends = accepted
                .iter()
                .map(|a| (a.start, a.start + a.size))
                .chain(std::iter::once((blob.data.len(), blob.data.len())));
            for (start, end) in ends {
                if start > cursor {
                    scanned.report.unclaimed.push(Region {
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
        let done: Vec<(Vec<VfsNode>, Vec<Cut>, ContainerReport)> = accepted
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
        for (nodes, cuts, container) in done {
            scanned.nodes.extend(nodes);
            scanned.cuts.extend(cuts);
            scanned.report.containers.push(container);
        }
        scanned
    }

    /// Turns one accepted container into nodes, and scans its files.
    fn container(&self, blob: &Blob, found: Accepted) -> (Vec<VfsNode>, Vec<Cut>, ContainerReport) {
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
        let mut diagnostics: Vec<Diagnostic> = std::mem::take(&mut listing.diagnostics);
        for diagnostic in &mut diagnostics {
            relocate(&path, &mut diagnostic.location);
        }
        let mut cuts: Vec<Cut> = std::mem::take(&mut listing.cuts);
        for cut in &mut cuts {
            relocate(&path, &mut cut.location);
        }

        // What every node of this container carries besides its own path: the provenance chain.
        let chain: usize = blob
            .provenance
            .iter()
            .map(|step| step.format.len() + step.path.as_ref().map_or(0, String::len) + 64)
            .sum();
        let mut entries = Vec::with_capacity(listing.entries.len());
        for entry in listing.entries {
            let inner = entry.path.trim_start_matches("./").trim_start_matches('/');
            let inner = inner.trim_end_matches('/');
            let skip = (inner.is_empty() || inner == ".") && matches!(entry.kind, NodeKind::Dir);
            let names = path.len() + inner.len() + entry.path.len() + chain + 128;
            if let Err(limit) = self.budget.take_entry_with(names as u64) {
                cuts.push(Cut {
                    location: path.clone(),
                    offset: None,
                    what: format!("entries from `{}` on", entry.path),
                    reason: limit.into(),
                });
                diagnostics.push(
                    Diagnostic::warning(
                        &path,
                        format!("entries from `{}` on were skipped: {limit}", entry.path),
                    )
                    .with_hint(limit.hint()),
                );
                break;
            }
            if skip {
                continue;
            }
            let node_path = format!("{path}/{inner}");
            let mut provenance = blob.provenance.clone();
            provenance.push(Provenance {
                format: format.to_owned(),
                offset: found.start as u64,
                path: Some(entry.path),
            });
            entries.push(VfsNode {
                path: node_path,
                provenance,
                kind: entry.kind,
                mode: entry.mode,
                mtime: entry.mtime,
            });
        }
        // Partitions an Android block OTA's files describe, beside them; their data files are
        // those partitions' blocks, not searched again on their own.
        let derived = block_ota::derive(&entries, self.budget);
        diagnostics.extend(derived.diagnostics);
        cuts.extend(derived.cuts);
        for node in derived.nodes {
            if let Err(limit) = self
                .budget
                .take_entry_with((node.path.len() + chain + 128) as u64)
            {
                cuts.push(Cut {
                    location: node.path.clone(),
                    offset: None,
                    what: "the partition rebuilt here".to_owned(),
                    reason: limit.into(),
                });
                break;
            }
            entries.push(node);
        }
        let n_entries = entries.len() as u64;

        // Scan every extracted file again, in parallel, keeping the order.
        let depth = blob.depth + 1;
        let nested: Vec<Option<Scanned>> = entries
            .par_iter()
            .enumerate()
            .map(|(index, node)| {
                let data = node.data()?;
                if data.len() < 16 || derived.consumed.contains(&index) {
                    if let Some(visit) = self.visit {
                        visit(node);
                    }
                    return None;
                }
                let scan = || {
                    self.scan(&Blob {
                        path: node.path.clone(),
                        provenance: node.provenance.clone(),
                        data: data.clone(),
                        depth,
                    })
                };
                // The scan first: it is the job's critical path (a decode chain), and the visit
                // waits to be taken by an idle worker, else runs when the scan is done.
                Some(match self.visit {
                    Some(visit) => rayon::join(scan, || visit(node)).0,
                    None => scan(),
                })
            })
            .collect();
        let mut nodes = Vec::new();
        let mut children = Vec::new();
        for (node, inner) in entries.into_iter().zip(nested) {
            nodes.push(node);
            if let Some(inner) = inner {
                nodes.extend(inner.nodes);
                cuts.extend(inner.cuts);
                if !inner.report.is_plain() {
                    children.push(inner.report);
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
        (nodes, cuts, container)
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
        let mut found = Vec::new();
        for_each_candidate(&data, |start, format| {
            if format == squashfs {
                found.push(start);
            }
            ControlFlow::Continue(0)
        });
        assert_eq!(found, places);
    }

    /// Once a container is accepted, nothing starting inside it is offered, in this piece or in
    /// later ones, and what follows it still is.
    #[test]
    fn nothing_inside_an_accepted_container_is_offered() {
        let squashfs = FORMATS.iter().position(|f| f.name == "squashfs").unwrap();
        let mut data = vec![0u8; 5 * PIECE];
        let places = [10, 20, PIECE + 5, 3 * PIECE + 7, 4 * PIECE + 9];
        for at in places {
            data[at..at + 4].copy_from_slice(b"hsqs");
        }
        let mut found = Vec::new();
        for_each_candidate(&data, |start, format| {
            if format != squashfs {
                return ControlFlow::Continue(0);
            }
            found.push(start);
            // The first one claims everything up to 3 MiB.
            ControlFlow::Continue(if start == 10 { 3 * PIECE } else { 0 })
        });
        assert_eq!(found, [10, 3 * PIECE + 7, 4 * PIECE + 9]);
    }
}
