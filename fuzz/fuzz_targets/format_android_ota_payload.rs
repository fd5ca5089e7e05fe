//! Fuzz target: the `android-ota-payload` format (A/B OTA `payload.bin`; probe, then extract, as
//! the carver calls it) on arbitrary bytes: no panic, hang or unbounded allocation, and the
//! listing within the limits.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| consign_fuzz::run_format("android-ota-payload", data));
