//! Fuzz target: the whole engine (carving, every format, recursion) on arbitrary bytes.
#![no_main]

use consign_unpack::{Limits, unpack};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_total_bytes: 64 << 20,
        max_file_bytes: 32 << 20,
        ..Limits::default()
    };
    let _ = unpack("fuzz.bin", bytes::Bytes::copy_from_slice(data), &limits);
});
