//! Fuzz target: the romfs parser must never panic, hang or allocate without bound, whatever the
//! input; the small limits keep each run's memory and time short.
#![no_main]

use consign_unpack::fs::romfs;
use consign_unpack::{Budget, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = romfs::probe(data);
    let limits = Limits {
        max_entries: 10_000,
        max_total_bytes: 64 << 20,
        max_file_bytes: 16 << 20,
        ..Limits::default()
    };
    let _ = romfs::parse(data, &Budget::new(limits));
});
