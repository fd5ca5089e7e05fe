//! Fuzz target: the whole engine (carving, every format, recursion) on arbitrary bytes: no
//! panic, hang or unbounded allocation, and the tree within the limits.
#![no_main]

use bytes::Bytes;
use consign_fuzz::{LIMITS, check_vfs};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let input = Bytes::copy_from_slice(data);
    let unpacked = consign_unpack::unpack("fuzz.bin", input.clone(), &LIMITS);
    check_vfs(&input, &unpacked.vfs, &LIMITS);
});
