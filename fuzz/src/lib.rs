//! What the fuzz targets share: the limits every unpacking target runs with, and the invariants
//! that must hold on whatever a parser returns, checked after each run.
//!
//! A failed check panics, which libFuzzer reports as a crash like any other: a parser that
//! returns more than its budget allows is as much a bug as one that panics.

use std::collections::HashSet;

use bytes::Bytes;
use consign_model::{NodeKind, Vfs};
use consign_unpack::fs::{FsListing, Probe};
use consign_unpack::{Budget, Limits};

/// The limits every unpacking target uses: the defaults, with the entry, total and per-file
/// bounds cut so a single run stays well inside libFuzzer's 2 GiB RSS limit and each input is
/// quick, while still far above what a 1 MiB input holds without compression.
pub const LIMITS: Limits = Limits {
    max_depth: 16,
    max_entries: 10_000,
    max_total_bytes: 64 << 20,
    max_file_bytes: 32 << 20,
    max_ratio: 1000,
    max_seconds: 0,
};

/// True when `data` is a view into `input` rather than a buffer the parser allocated.
fn within(input: &Bytes, data: &Bytes) -> bool {
    let start = input.as_ptr() as usize;
    let at = data.as_ptr() as usize;
    at >= start && at + data.len() <= start + input.len()
}

/// The invariants of one parser's listing: no file over the per-file bound, and the bytes the
/// parser allocated (files that are not views into the input, each buffer counted once) within
/// the total bound. With `entries`, also no more entries than the entry bound (the filesystem
/// parsers account entries themselves; the other formats leave it to the engine).
pub fn check_listing(input: &Bytes, listing: &FsListing, limits: &Limits, entries: bool) {
    if entries {
        assert!(
            listing.entries.len() as u64 <= limits.max_entries,
            "{} entries, over the limit of {}",
            listing.entries.len(),
            limits.max_entries
        );
    }
    let mut seen = HashSet::new();
    let mut allocated = 0u64;
    for entry in &listing.entries {
        let NodeKind::File { data } = &entry.kind else {
            continue;
        };
        assert!(
            data.len() as u64 <= limits.max_file_bytes,
            "`{}` has {} bytes, over the per-file limit of {}",
            entry.path,
            data.len(),
            limits.max_file_bytes
        );
        if !within(input, data) && seen.insert((data.as_ptr() as usize, data.len())) {
            allocated += data.len() as u64;
        }
    }
    assert!(
        allocated <= limits.max_total_bytes,
        "{allocated} bytes allocated, over the total limit of {}",
        limits.max_total_bytes
    );
}

/// The invariants of a whole unpacking: every file within the per-file bound, the bytes
/// allocated within the total bound (per level), the entries within the entry bound.
pub fn check_vfs(input: &Bytes, vfs: &Vfs, limits: &Limits) {
    assert!(
        vfs.nodes.len() as u64 <= limits.max_entries,
        "{} nodes, over the limit of {}",
        vfs.nodes.len(),
        limits.max_entries
    );
    let mut seen = HashSet::new();
    let mut allocated = 0u64;
    for node in &vfs.nodes {
        let Some(data) = node.data() else { continue };
        assert!(
            data.len() as u64 <= limits.max_file_bytes,
            "`{}` has {} bytes, over the per-file limit of {}",
            node.path,
            data.len(),
            limits.max_file_bytes
        );
        if !within(input, data) && seen.insert((data.as_ptr() as usize, data.len())) {
            allocated += data.len() as u64;
        }
    }
    // The same buffer may be sliced into several files (a fragment block, a container's payload
    // seen again one level down), so the sum can only be bounded by the total limit per level.
    let bound = limits
        .max_total_bytes
        .saturating_mul(u64::from(limits.max_depth) + 1);
    assert!(
        allocated <= bound,
        "{allocated} bytes allocated, over {bound}"
    );
}

/// One format's probe and extractor, through the public [`consign_unpack::extract_format`].
pub fn run_format(format: &str, data: &[u8]) {
    let input = Bytes::copy_from_slice(data);
    if let Some(listing) = consign_unpack::extract_format(format, input.clone(), &LIMITS) {
        check_listing(&input, &listing, &LIMITS, false);
    }
}

/// One filesystem parser called directly: its probe, then its parser on the same bytes whatever
/// the probe said (the engine only parses what probes accept, but a parser must not trust that).
pub fn run_fs(
    probe: fn(&[u8]) -> Option<Probe>,
    parse: fn(&[u8], &Budget) -> FsListing,
    data: &[u8],
) {
    let input = Bytes::copy_from_slice(data);
    if let Some(found) = probe(&input) {
        assert!(
            !found.format.is_empty(),
            "a probe accepted with no format name"
        );
    }
    let listing = parse(&input, &Budget::new(LIMITS));
    check_listing(&input, &listing, &LIMITS, true);
}
