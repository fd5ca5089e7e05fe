//! Fuzz target: the LittleFS v2 parser called directly, probe and parse, on arbitrary bytes (also
//! the ones its probe rejects): no panic, hang or unbounded allocation, and the listing within the
//! limits.
#![no_main]

use consign_unpack::fs::littlefs;

libfuzzer_sys::fuzz_target!(|data: &[u8]| consign_fuzz::run_fs(
    littlefs::probe,
    littlefs::parse,
    data
));
