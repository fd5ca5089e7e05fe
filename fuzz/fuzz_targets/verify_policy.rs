//! Fuzz target: the verifier's user-written inputs, policy files (TOML and JSON, extending a
//! built-in profile or not) and trust stores (TOML with PEM keys and dates): clear errors, never
//! a panic or a hang.
#![no_main]

use consign_verify::{Policy, TrustStore};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Policy::from_text("policy.toml", text, false);
    let _ = Policy::from_text("policy.json", text, true);
    if let Ok(store) = TrustStore::from_toml("trust.toml", text) {
        for (key_ref, _) in store.keys() {
            assert!(
                store.key(key_ref).is_some(),
                "a listed key cannot be looked up"
            );
        }
    }
});
