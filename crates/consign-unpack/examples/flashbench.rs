//! Times the flash filesystem parsers (JFFS2, UBI + the UBIFS inside, YAFFS2) on images given on
//! the command line, for `/usr/bin/time -v` measurements:
//!
//! ```text
//! cargo build --release -p consign-unpack --example flashbench
//! /usr/bin/time -v target/release/examples/flashbench ../shared/corpus/images/*/rootfs*.{jffs2,ubi}
//! ```
#![allow(clippy::print_stdout)] // A benchmark's whole job is to print its figures.

use std::time::Instant;

use consign_model::NodeKind;
use consign_unpack::fs::{FsListing, jffs2, ubi, ubifs, yaffs2};
use consign_unpack::{Budget, Limits};

fn summary(listing: &FsListing) -> (usize, u64) {
    let bytes = listing
        .entries
        .iter()
        .filter_map(|entry| match &entry.kind {
            NodeKind::File { data } => Some(data.len() as u64),
            _ => None,
        })
        .sum();
    (listing.entries.len(), bytes)
}

fn main() -> std::io::Result<()> {
    for path in std::env::args().skip(1) {
        let data = std::fs::read(&path)?;
        let budget = Budget::new(Limits::default());
        let started = Instant::now();
        let (format, listing) = if jffs2::probe(&data).is_some() {
            ("jffs2", jffs2::parse(&data, &budget))
        } else if ubi::probe(&data).is_some() {
            let volumes = ubi::parse(&data, &budget);
            let mut all = FsListing::default();
            for volume in &volumes.entries {
                if let NodeKind::File { data } = &volume.kind
                    && ubifs::probe(data).is_some()
                {
                    let inner = ubifs::parse(data, &budget);
                    all.entries.extend(inner.entries);
                    all.diagnostics.extend(inner.diagnostics);
                }
            }
            all.diagnostics.extend(volumes.diagnostics);
            ("ubi+ubifs", all)
        } else if yaffs2::probe(&data).is_some() {
            ("yaffs2", yaffs2::parse(&data, &budget))
        } else {
            println!("{path}: not a jffs2, ubi or yaffs2 image");
            continue;
        };
        let elapsed = started.elapsed();
        let (entries, bytes) = summary(&listing);
        println!(
            "{path}: {format}, {} bytes in, {entries} entries, {bytes} file bytes out, {} diagnostics, {:.1} ms",
            data.len(),
            listing.diagnostics.len(),
            elapsed.as_secs_f64() * 1000.0
        );
    }
    Ok(())
}
