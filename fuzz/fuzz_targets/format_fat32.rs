//! Fuzz target: the `fat32` format alone (found by the type string at 0x52; probe, then extract,
//! as the carver calls it) on arbitrary bytes: no panic, hang or unbounded allocation, and the
//! listing within the limits.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| consign_fuzz::run_format("fat32", data));
