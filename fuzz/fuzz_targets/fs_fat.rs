//! Fuzz target: the FAT12/16/32 parser called directly, probe and parse, on arbitrary bytes (also
//! the ones its probe rejects): no panic, hang or unbounded allocation, and the listing within the
//! limits.
#![no_main]

use consign_unpack::fs::fat;

libfuzzer_sys::fuzz_target!(|data: &[u8]| consign_fuzz::run_fs(fat::probe, fat::parse, data));
