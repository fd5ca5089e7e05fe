//! Fuzz target: the `ufs2` format alone (found by `fs_magic` in a superblock at 65536; probe,
//! then extract, as the carver calls it) on arbitrary bytes: no panic, hang or unbounded
//! allocation, and the listing within the limits.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| consign_fuzz::run_format("ufs2", data));
