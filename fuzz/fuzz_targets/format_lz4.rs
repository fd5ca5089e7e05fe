//! Fuzz target: the `lz4` parser alone (probe, then extract), on arbitrary bytes.
#![no_main]

use consign_unpack::{Limits, extract_format};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_total_bytes: 64 << 20,
        max_file_bytes: 32 << 20,
        ..Limits::default()
    };
    let _ = extract_format("lz4", bytes::Bytes::copy_from_slice(data), &limits);
});
