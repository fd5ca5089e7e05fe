//! Fuzz target: the cramfs parser must never panic, hang or allocate without bound, whatever the
//! input; the small limits keep each run's memory and time short.
#![no_main]

use consign_unpack::fs::cramfs;
use consign_unpack::{Budget, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cramfs::probe(data);
    let limits = Limits {
        max_entries: 10_000,
        max_total_bytes: 64 << 20,
        max_file_bytes: 16 << 20,
        ..Limits::default()
    };
    let _ = cramfs::parse(data, &Budget::new(limits));
});
