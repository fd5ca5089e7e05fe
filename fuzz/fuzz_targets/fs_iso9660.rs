//! Fuzz target: the ISO 9660 parser called directly, probe and parse, on arbitrary bytes (also the
//! ones its probe rejects): no panic, hang or unbounded allocation, and the listing within the
//! limits.
#![no_main]

use consign_unpack::fs::iso9660;

libfuzzer_sys::fuzz_target!(|data: &[u8]| consign_fuzz::run_fs(
    iso9660::probe,
    iso9660::parse,
    data
));
