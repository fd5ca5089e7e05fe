//! Fuzz target: the `fat` format alone (FAT12 and FAT16, found by the type string at 0x36; probe,
//! then extract, as the carver calls it) on arbitrary bytes: no panic, hang or unbounded
//! allocation, and the listing within the limits.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| consign_fuzz::run_format("fat", data));
