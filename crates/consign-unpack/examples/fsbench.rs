//! Times the squashfs, cramfs, romfs and ext parsers on images given on the command line, for
//! `/usr/bin/time -v` measurements against the reference tools (`unsquashfs -p 2`):
//!
//! ```text
//! cargo build --release -p consign-unpack --example fsbench
//! /usr/bin/time -v target/release/examples/fsbench rootfs.squashfs
//! ```
//!
//! Each image is probed with every parser at offset 0, then at the first `hsqs` magic, so a
//! flash dump with a squashfs inside works too.
#![allow(clippy::print_stdout)] // A benchmark's whole job is to print its figures.

use std::time::Instant;

use consign_model::NodeKind;
use consign_unpack::fs::{FsListing, Probe, cramfs, ext, romfs, squashfs};
use consign_unpack::{Budget, Limits};

type Parser = (fn(&[u8]) -> Option<Probe>, fn(&[u8], &Budget) -> FsListing);

const PARSERS: [Parser; 4] = [
    (squashfs::probe, squashfs::parse),
    (cramfs::probe, cramfs::parse),
    (romfs::probe, romfs::parse),
    (ext::probe, ext::parse),
];

fn main() -> std::io::Result<()> {
    for path in std::env::args().skip(1) {
        let data = std::fs::read(&path)?;
        let squashfs_at = data.windows(4).position(|window| window == b"hsqs");
        let found = PARSERS
            .iter()
            .find_map(|(probe, parse)| probe(&data).map(|probe| (0, probe, parse)));
        let found = found.or_else(|| {
            let offset = squashfs_at?;
            squashfs::probe(data.get(offset..)?).map(|probe| (offset, probe, &PARSERS[0].1))
        });
        let Some((offset, probe, parse)) = found else {
            println!("{path}: no filesystem found");
            continue;
        };
        let started = Instant::now();
        let listing = parse(&data[offset..], &Budget::new(Limits::default()));
        let elapsed = started.elapsed();
        let bytes: u64 = listing
            .entries
            .iter()
            .filter_map(|entry| match &entry.kind {
                NodeKind::File { data } => Some(data.len() as u64),
                _ => None,
            })
            .sum();
        println!(
            "{path} @{offset:#x}: {}: {} entries, {bytes} bytes, {} diagnostics, {:.3} s",
            probe.description,
            listing.entries.len(),
            listing.diagnostics.len(),
            elapsed.as_secs_f64()
        );
    }
    Ok(())
}
