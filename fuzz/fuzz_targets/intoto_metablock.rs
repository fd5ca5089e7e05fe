//! Fuzz target: the in-toto v0.9 metadata parser (Metablock and DSSE), the link and layout
//! models (steps, inspections, rules, keys, expiry) and canonical JSON: clear errors, never a
//! panic, a hang or unbounded allocation; metadata read is written back in a form that reads
//! again.
#![no_main]

use consign_attest::intoto::{Layout, Link, Metadata, MetadataKind, canonical};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(metadata) = Metadata::from_json(data, "fuzz input") else {
        return;
    };
    let _ = canonical::encode(metadata.signed());
    match metadata.kind() {
        MetadataKind::Layout => {
            let _ = Layout::from_value(metadata.signed());
        }
        MetadataKind::Link => {
            let _ = Link::from_value(metadata.signed());
        }
    }
    if let Ok(bytes) = metadata.to_bytes() {
        let again = Metadata::from_json(&bytes, "written back");
        assert!(again.is_ok(), "metadata does not read again: {again:?}");
    }
});
