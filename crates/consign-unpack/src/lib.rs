//! Unpacks firmware images into a [`consign_model::Vfs`], in process, with bounded resources.
//!
//! - [`unpack`] is the entry point: input bytes in, an [`Unpacked`] out: the flat file tree (every
//!   node with its provenance chain) and a [`Report`] (the tree of containers found, the regions
//!   nothing claimed, and every diagnostic). It never fails: damaged input gives diagnostics.
//! - [`Limits`] bounds depth, entry count, output bytes, expansion ratio and time; [`Budget`] is
//!   the running account of one unpacking job against them, shared by parallel workers, which
//!   every decoder draws from before it allocates.
//! - Whatever a limit, an unsupported feature or a refused construction kept from being read is a
//!   [`consign_model::Cut`] in [`Report::incomplete`]: an incomplete result never looks complete.
//! - [`decompress`] inflates every stream codec firmware uses, never past a given bound.
//! - [`fs`] holds the filesystem parsers, each `&[u8] -> FsListing`.
//! - [`write::write_tree`] puts an unpacked tree into a folder without ever writing outside it. It
//!   is the only code in this crate that touches the file system.
//!
//! ```
//! use consign_unpack::{Limits, unpack};
//!
//! let unpacked = unpack("empty.bin", bytes::Bytes::from_static(b"no containers here"), &Limits::default());
//! assert_eq!(unpacked.vfs.nodes.len(), 1);
//! assert!(unpacked.report.root.containers.is_empty());
//! ```

use consign_model::binary;
mod budget;
pub mod decompress;
mod engine;
mod error;
mod formats;
pub mod fs;
mod limits;
mod lzo;
mod registry;
mod report;
pub mod write;

use bytes::Bytes;
use consign_model::{Vfs, VfsNode};

pub use budget::{Budget, Reservation};
pub use engine::MAX_NESTING;
pub use limits::{Limit, Limits};
pub use report::{BlobReport, ContainerReport, Region, Report, Totals, entropy};

/// What [`unpack`] produced.
#[derive(Clone, Debug)]
pub struct Unpacked {
    /// Every entry found: the input first (as a file named after it), then the contents of each
    /// container, each followed by what was found inside it.
    pub vfs: Vfs,
    /// The tree of containers, unclaimed regions and diagnostics.
    pub report: Report,
}

/// The names of the formats the carver recognises, in the order it prefers them.
pub fn formats() -> Vec<&'static str> {
    registry::FORMATS.iter().map(|f| f.name).collect()
}

/// Runs one format's probe and extractor on `data` as if the structure started at offset 0,
/// without recursion. `None` when `format` is not one of [`formats`] or its probe rejects the
/// header. For tests and fuzz targets that exercise a single parser.
pub fn extract_format(format: &str, data: Bytes, limits: &Limits) -> Option<fs::FsListing> {
    let entry = registry::FORMATS.iter().find(|f| f.name == format)?;
    let probe = (entry.probe)(&data)?;
    let data = match probe.size.and_then(|size| usize::try_from(size).ok()) {
        Some(size) if size < data.len() => data.slice(..size),
        _ => data,
    };
    let budget = Budget::new(*limits);
    budget.start(data.len() as u64);
    Some((entry.extract)(&data, &budget))
}

/// Rebuilds the partition an Android block OTA's `NAME.transfer.list` and `NAME.new.dat` (or,
/// with `brotli`, `NAME.new.dat.br`) describe, as a listing of one file, without recursion: what
/// [`unpack`] does for each such pair of files it finds side by side. For tests and fuzz targets.
pub fn extract_block_ota(
    transfer_list: &[u8],
    new_data: Bytes,
    brotli: bool,
    limits: &Limits,
) -> fs::FsListing {
    let budget = Budget::new(*limits);
    budget.start(new_data.len() as u64);
    formats::block_ota::extract(transfer_list, new_data, brotli, &budget)
}

/// Unpacks `data` (a file called `name`) recursively, within `limits`.
///
/// The input itself is the first node of the tree, so detectors see it too (a bare ELF or ROM).
/// Files extracted from containers are scanned again, down to `limits.max_depth`. Logical paths
/// look like `flash.bin/uimage@0x0/kernel`.
pub fn unpack(name: &str, data: Bytes, limits: &Limits) -> Unpacked {
    unpack_with_budget(name, data, &Budget::new(*limits))
}

/// [`unpack`] against a budget the caller holds, so another thread can watch the job's progress
/// ([`Budget::entries_used`], [`Budget::bytes_used`]) while it runs. The budget should be fresh.
pub fn unpack_with_budget(name: &str, data: Bytes, budget: &Budget) -> Unpacked {
    run(name, data, budget, None)
}

/// What [`unpack_visiting`] calls for each file: the node, as it will be in [`Unpacked::vfs`].
pub type Visit<'a> = &'a (dyn Fn(&VfsNode) + Sync);

/// [`unpack_with_budget`] that also calls `visit` on every file of the tree (every node that
/// has data, the input first) as soon as the file exists, on the job's worker threads, while the
/// rest of the tree is still being unpacked; a file that holds containers is visited beside its
/// own scan. So work on each file (detection) keeps a core busy while a long serial chain (a
/// kernel inflated, then searched) runs on the other. The order of the calls depends on timing;
/// the result does not, and is that of [`unpack_with_budget`]. What `visit` costs is time of the
/// job: the time limit counts it.
pub fn unpack_visiting(name: &str, data: Bytes, budget: &Budget, visit: Visit<'_>) -> Unpacked {
    run(name, data, budget, Some(visit))
}

fn run(name: &str, data: Bytes, budget: &Budget, visit: Option<Visit<'_>>) -> Unpacked {
    budget.start(data.len() as u64);
    let _ = budget.take_entry();
    let engine = engine::Engine { budget, visit };
    let root = engine::Blob {
        path: name.to_owned(),
        provenance: Vec::new(),
        data: data.clone(),
        depth: 0,
    };
    let mut vfs = Vfs::single(name, data);
    let scanned = match (visit, vfs.nodes.first()) {
        (Some(visit), Some(node)) => rayon::join(|| engine.scan(&root), || visit(node)).0,
        _ => engine.scan(&root),
    };
    vfs.nodes.extend(scanned.nodes);
    let mut report = Report {
        root: scanned.report,
        totals: Totals::default(),
        incomplete: scanned.cuts,
    };
    report.totals = totals(&vfs.nodes, &report);
    Unpacked { vfs, report }
}

fn totals(nodes: &[VfsNode], report: &Report) -> Totals {
    fn containers(blob: &BlobReport) -> u64 {
        blob.containers
            .iter()
            .map(|c| 1 + c.children.iter().map(containers).sum::<u64>())
            .sum()
    }
    Totals {
        files: nodes.iter().filter(|n| n.data().is_some()).count() as u64,
        bytes: nodes
            .iter()
            .filter_map(|n| n.data())
            .map(|d| d.len() as u64)
            .sum(),
        containers: containers(&report.root),
        diagnostics: report.diagnostics().len() as u64,
        cuts: report.incomplete.len() as u64,
    }
}
