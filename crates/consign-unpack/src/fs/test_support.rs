//! Helpers shared by the unpacker's unit tests: reading fixtures, rendering a listing, writing an
//! LZMA-alone stream, and the damage test (truncations and bit flips) every parser must survive.
#![allow(clippy::unwrap_used)] // Test scaffolding: a panic here is a failed test.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use consign_model::{CutReason, NodeKind};

use crate::fs::FsListing;
use crate::{Budget, Limits};

/// `data` as an LZMA-alone (`.lzma`) stream, as liblzma's encoder writes it at preset 6.
pub(crate) fn lzma_alone(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let options = liblzma::stream::LzmaOptions::new_preset(6).unwrap();
    let stream = liblzma::stream::Stream::new_lzma_encoder(&options).unwrap();
    let mut encoder = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One line per entry: path, mode, what it is.
pub(crate) fn render(listing: &FsListing) -> String {
    let mut out = String::new();
    for entry in &listing.entries {
        let what = match &entry.kind {
            NodeKind::File { data } => format!("file {}", data.len()),
            NodeKind::Dir => "dir".to_owned(),
            NodeKind::Symlink { target } => format!("symlink -> {target}"),
            NodeKind::Hardlink { target } => format!("hardlink -> {target}"),
            NodeKind::Special { what } => what.clone(),
            other => format!("{other:?}"),
        };
        let mode = entry
            .mode
            .map(|mode| format!("{mode:o}"))
            .unwrap_or_default();
        writeln!(out, "{} {mode} {what}", entry.path).unwrap();
    }
    out
}

pub(crate) fn file<'a>(listing: &'a FsListing, path: &str) -> &'a [u8] {
    let entry = listing
        .entries
        .iter()
        .find(|entry| entry.path == path)
        .unwrap();
    match &entry.kind {
        NodeKind::File { data } => data,
        other => panic!("{path} is {other:?}"),
    }
}

/// A gzip'd fixture under the repository, decompressed.
pub(crate) fn gunzip(path: &str) -> Vec<u8> {
    use std::io::Read as _;
    let packed = std::fs::read(repo().join(path)).unwrap();
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&packed[..])
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// The cuts of a listing, one line each: `location @offset: what (reason): message`, the message
/// being the diagnostic that says it.
pub(crate) fn cuts(listing: &FsListing) -> Vec<String> {
    listing
        .cuts
        .iter()
        .map(|cut| {
            let message = listing
                .diagnostics
                .iter()
                .find(|d| d.location == cut.location && d.offset == cut.offset)
                .map_or("", |d| d.message.as_str());
            format!(
                "{} @{:#x}: {} ({}): {message}",
                cut.location,
                cut.offset.unwrap_or_default(),
                cut.what,
                cut.reason.as_str()
            )
        })
        .collect()
}

/// Asserts that a loop was recorded as a cut at `location`, whose message says `before` (where the
/// directory was read first): said, and a cut, so that the report says the tree was not read whole.
#[track_caller]
pub(crate) fn assert_loop_cut(listing: &FsListing, location: &str, before: &str) {
    let found = listing.cuts.iter().any(|cut| {
        cut.location == location
            && cut.reason == CutReason::Duplicate
            && listing.diagnostics.iter().any(|d| {
                d.location == location
                    && d.message == format!("{before} (a loop); not entered again")
            })
    });
    assert!(found, "no loop cut at {location}: {:#?}", cuts(listing));
}

/// Every file entry's path and bytes, in listing order.
pub(crate) fn files(listing: &FsListing) -> Vec<(String, Vec<u8>)> {
    listing
        .entries
        .iter()
        .map(|entry| match &entry.kind {
            NodeKind::File { data } => (entry.path.clone(), data.to_vec()),
            other => panic!("{} is {other:?}", entry.path),
        })
        .collect()
}

pub(crate) fn big_file() -> Vec<u8> {
    (0..400)
        .flat_map(|i| format!("line {i:04} of the big file\n").into_bytes())
        .collect()
}

/// Each byte at `offsets` flipped three ways (all bits, the lowest, the highest), parsed with
/// `limits` and put back: never a panic, and all of it within `within` (`what` names the image).
#[track_caller]
pub(crate) fn flip_each(
    what: &str,
    data: &[u8],
    offsets: impl Iterator<Item = usize>,
    parse: fn(&[u8], &Budget) -> FsListing,
    limits: Limits,
    within: Duration,
) {
    let started = Instant::now();
    let mut copy = data.to_vec();
    for at in offsets {
        for mask in [0xff, 0x01, 0x80] {
            copy[at] ^= mask;
            let _ = parse(&copy, &Budget::new(limits));
            copy[at] ^= mask;
        }
    }
    assert!(started.elapsed() < within, "{what}");
}

/// Truncations and a spread of bit flips: never a panic, never slow; truncation is reported.
#[track_caller]
pub(crate) fn mangle(data: &[u8], parse: fn(&[u8], &Budget) -> FsListing, cuts: &[usize]) {
    let limits = Limits {
        max_total_bytes: 64 << 20,
        ..Limits::default()
    };
    let started = Instant::now();
    for &cut in cuts {
        let listing = parse(&data[..cut], &Budget::new(limits));
        assert!(!listing.diagnostics.is_empty(), "truncated at {cut}");
    }
    let mut seed = 0x9e37_79b9_u32;
    for _ in 0..60 {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let mut copy = data.to_vec();
        let idx = seed as usize % copy.len();
        copy[idx] ^= 1 << (seed >> 29);
        let _ = parse(&copy, &Budget::new(limits));
    }
    assert!(started.elapsed() < Duration::from_mins(1));
}

/// The two limits every reader must keep and say it kept: with `max_file_bytes` below the size of
/// the file at `big`, that file is cut with a diagnostic at its path; with `max_entries`, the
/// listing holds that many entries and its first cut is the entry limit.
#[track_caller]
pub(crate) fn limits_are_diagnosed(
    data: &[u8],
    parse: fn(&[u8], &Budget) -> FsListing,
    big: &str,
    max_file_bytes: u64,
    max_entries: u64,
) {
    let listing = parse(
        data,
        &Budget::new(Limits {
            max_file_bytes,
            ..Limits::default()
        }),
    );
    let cut = listing
        .cuts
        .iter()
        .find(|cut| cut.location == big && cut.reason == CutReason::FileBytesLimit);
    assert!(
        cut.is_some(),
        "no file size cut at {big}: {:#?}",
        cuts(&listing)
    );
    let said = listing
        .diagnostics
        .iter()
        .any(|d| d.location == big && d.message.contains("single file size limit"));
    assert!(said, "no diagnostic at {big}: {:#?}", listing.diagnostics);
    let listing = parse(
        data,
        &Budget::new(Limits {
            max_entries,
            ..Limits::default()
        }),
    );
    assert_eq!(listing.entries.len() as u64, max_entries);
    assert_eq!(
        listing.cuts[0].reason,
        CutReason::EntryLimit,
        "{:#?}",
        cuts(&listing)
    );
}
