//! Fuzz target: an Android block OTA's transfer list and new data (the input split at its first
//! NUL byte; byte 0 says whether the data is brotli), rebuilt as `unpack` rebuilds each pair it
//! finds: no panic, hang or unbounded allocation, and the listing within the limits.
#![no_main]

use bytes::Bytes;
use consign_fuzz::{LIMITS, check_listing};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let [flags, rest @ ..] = data else {
        return;
    };
    let split = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    let (list, new_data) = rest.split_at(split);
    let new_data = Bytes::copy_from_slice(new_data.get(1..).unwrap_or_default());
    let listing =
        consign_unpack::extract_block_ota(list, new_data.clone(), flags & 1 == 1, &LIMITS);
    check_listing(&new_data, &listing, &LIMITS, false);
});
