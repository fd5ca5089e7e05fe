//! Fuzz target: the in-toto v0.9 metadata parser (Metablock and DSSE), the link and layout
//! models, and canonical JSON must never panic, hang or allocate without bound on any input.

#![no_main]

use consign_attest::intoto::{Layout, Link, Metadata, MetadataKind, canonical};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(metadata) = Metadata::from_json(data, "fuzz input") {
        let _ = canonical::encode(metadata.signed());
        match metadata.kind() {
            MetadataKind::Layout => {
                let _ = Layout::from_value(metadata.signed());
            }
            MetadataKind::Link => {
                let _ = Link::from_value(metadata.signed());
            }
        }
        let _ = metadata.to_bytes();
    }
});
