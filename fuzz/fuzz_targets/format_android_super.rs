//! Fuzz target: the `android-super` format (dynamic partitions' liblp metadata; probe, then
//! extract, as the carver calls it) on arbitrary bytes: no panic, hang or unbounded allocation,
//! and the listing within the limits.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| consign_fuzz::run_format("android-super", data));
