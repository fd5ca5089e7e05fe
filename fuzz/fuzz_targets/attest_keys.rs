//! Fuzz target: parsing keys (SPKI and PKCS#8, PEM and DER, cosign JSON) must never panic, hang or
//! allocate without bound, whatever the input.
#![no_main]

use consign_attest::{PrivateKey, PublicKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = PublicKey::from_spki_der(data);
    let _ = PrivateKey::from_pkcs8_der(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = PublicKey::from_pem(text);
        let _ = PrivateKey::from_pkcs8_pem(text);
        // The scrypt cost is bounded by the importer; a wrong password fails fast after it.
        let _ = consign_attest::cosign::import_cosign_key(text, b"");
    }
    if let Ok(key) = PublicKey::from_spki_der(data.get(..data.len().min(91)).unwrap_or_default()) {
        let _ = key.verify(data, data);
    }
});
