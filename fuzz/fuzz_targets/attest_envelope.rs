//! Fuzz target: parsing DSSE envelopes, `.intoto.jsonl` files and in-toto statements must never
//! panic, hang or allocate without bound, whatever the input.
#![no_main]

use consign_attest::{Envelope, Statement, dsse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = Envelope::from_json(data) {
        let _ = envelope.pae();
        let _ = Statement::from_json(&envelope.payload);
    }
    let _ = dsse::parse_jsonl(data);
    let _ = Statement::from_json(data);
});
