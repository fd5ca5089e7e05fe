//! Fuzz target: the `iso9660` format alone (found by `CD001` in the volume descriptor at sector
//! 16; probe, then extract, as the carver calls it) on arbitrary bytes: no panic, hang or
//! unbounded allocation, and the listing within the limits.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| consign_fuzz::run_format("iso9660", data));
