//! Fuzz target: parsing Sigstore bundles (and any attestation file `read_envelopes` accepts) must
//! never panic, hang or allocate without bound, whatever the input.
#![no_main]

use consign_attest::Bundle;
use consign_attest::attest::read_envelopes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Bundle::from_json(data);
    let _ = read_envelopes(data);
});
