//! Fuzz target: parsing Sigstore bundles (and any attestation file `read_envelopes` accepts):
//! clear errors, never a panic, a hang or unbounded allocation; a bundle read is written back in
//! a form that reads again.
#![no_main]

use consign_attest::Bundle;
use consign_attest::attest::read_envelopes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = Bundle::from_json(data) {
        let again = Bundle::from_json(bundle.to_json().as_bytes());
        assert!(
            again.is_ok(),
            "a parsed bundle does not parse again: {again:?}"
        );
        let _ = bundle.verify(&[]);
    }
    let _ = read_envelopes(data);
});
