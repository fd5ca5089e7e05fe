//! Fuzz target: parsing keys (SPKI and PKCS#8, PEM and DER, cosign's encrypted JSON): clear
//! errors, never a panic, a hang or unbounded allocation; a key read is written back in a form
//! that reads again as the same key.
#![no_main]

use consign_attest::{PrivateKey, PublicKey, Signer};
use libfuzzer_sys::fuzz_target;

fn public(key: &PublicKey) {
    let again = PublicKey::from_spki_der(&key.to_spki_der()).expect("our SPKI DER reads again");
    assert_eq!(again.keyid(), key.keyid());
    let again = PublicKey::from_pem(&key.to_pem()).expect("our SPKI PEM reads again");
    assert_eq!(again.keyid(), key.keyid());
}

fn private(key: &PrivateKey) {
    let again = PrivateKey::from_pkcs8_pem(&key.to_pkcs8_pem()).expect("our PKCS#8 reads again");
    assert_eq!(again.algorithm(), key.algorithm());
    assert_eq!(again.public_key().keyid(), key.public_key().keyid());
    public(&key.public_key());
}

fuzz_target!(|data: &[u8]| {
    if let Ok(key) = PublicKey::from_spki_der(data) {
        public(&key);
        let _ = key.verify(data, data);
    }
    if let Ok(key) = PrivateKey::from_pkcs8_der(data) {
        private(&key);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(key) = PublicKey::from_pem(text) {
            public(&key);
        }
        if let Ok(key) = PrivateKey::from_pkcs8_pem(text) {
            private(&key);
        }
        // The scrypt cost is bounded by the importer; a wrong password fails fast after it.
        if let Ok(key) = consign_attest::cosign::import_cosign_key(text, b"") {
            private(&key);
        }
    }
});
