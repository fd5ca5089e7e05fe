//! Fuzz target: the small files signers write, component, custody and product claims (TOML,
//! validated before anything is signed), and RFC 7512 `pkcs11:` URIs: clear errors naming the
//! field, never a panic.
#![no_main]

use consign_attest::claims::{ComponentClaims, CustodyClaims, product_from_toml};
use consign_attest::pkcs11::Pkcs11Uri;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = ComponentClaims::from_toml(text);
    let _ = CustodyClaims::from_toml(text);
    let _ = product_from_toml(text);
    // Not `resolve_pin`: it reads the file the URI names, and the fuzzer would name any.
    if let Ok(uri) = Pkcs11Uri::parse(text) {
        let _ = uri.resolve_module(None);
    }
});
