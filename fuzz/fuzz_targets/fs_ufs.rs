//! Fuzz target: the UFS1/UFS2 parser called directly, probe and parse, on arbitrary bytes (also
//! the ones its probe rejects): no panic, hang or unbounded allocation, and the listing within the
//! limits.
#![no_main]

use consign_unpack::fs::ufs;

libfuzzer_sys::fuzz_target!(|data: &[u8]| consign_fuzz::run_fs(ufs::probe, ufs::parse, data));
