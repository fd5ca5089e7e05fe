//! Fuzz target: the `esp-flash` format alone (the ESP-IDF partition table found by its probe, then
//! the partitions extracted, as the carver calls it) on arbitrary bytes: no panic, hang or
//! unbounded allocation, and the listing within the limits.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| consign_fuzz::run_format("esp-flash", data));
