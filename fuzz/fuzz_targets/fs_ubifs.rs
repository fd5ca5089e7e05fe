//! Fuzz target: the UBIFS parser must never panic, hang or allocate without bound, whatever the input.
#![no_main]

use consign_unpack::fs::ubifs;
use consign_unpack::{Budget, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ubifs::probe(data);
    // Tighter limits than the defaults, so a run explores more inputs per second.
    let budget = Budget::new(Limits {
        max_total_bytes: 256 << 20,
        max_file_bytes: 64 << 20,
        ..Limits::default()
    });
    let _ = ubifs::parse(data, &budget);
});
