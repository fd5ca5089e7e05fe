//! Fuzz target: the one strict JSON reader (`consign_model::json`) that every signed or verified
//! document goes through: never a panic, a hang or deep recursion, and it agrees with
//! `serde_json` on what is JSON: what it accepts `serde_json` parses, and what `serde_json`
//! parses it refuses only for a repeated key (named by a pointer into the document) or a limit.
#![no_main]

use consign_model::json::{JsonError, JsonLimits, check};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let limits = JsonLimits {
        max_bytes: 1 << 20,
        max_depth: 100,
    };
    let strict = check(data, &limits);
    let loose = serde_json::from_slice::<serde_json::Value>(data);
    match (&strict, &loose) {
        (Ok(()), Err(err)) => panic!("strict accepted what serde_json refuses: {err}"),
        (Err(JsonError::Syntax { .. }), Ok(_)) => {
            // serde_json accepts a lone surrogate escape in a string value only; keys are decoded.
            assert!(
                data.windows(3).any(|w| w == b"\\ud" || w == b"\\uD"),
                "strict refused JSON serde_json reads: {strict:?}"
            );
        }
        (Err(JsonError::DuplicateKey { pointer, .. }), Ok(_)) => {
            assert!(pointer.starts_with('/'), "{pointer}");
        }
        _ => {}
    }
});
