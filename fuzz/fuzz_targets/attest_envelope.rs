//! Fuzz target: parsing DSSE envelopes, `.intoto.jsonl` files, in-toto statements and every
//! predicate consign reads (CycloneDX, SLSA Provenance and VSA, link, the shared-liability
//! predicates): clear errors, never a panic, a hang or unbounded allocation.
#![no_main]

use consign_attest::{Envelope, Predicate, Statement, dsse};
use libfuzzer_sys::fuzz_target;

fn statement(json: &[u8]) {
    if let Ok(statement) = Statement::from_json(json) {
        if let Ok(predicate) = Predicate::parse(&statement.predicate_type, &statement.predicate) {
            assert_eq!(predicate.predicate_type(), statement.predicate_type);
            // What consign reads it must be able to write back and read again.
            let again = Predicate::parse(predicate.predicate_type(), &predicate.to_value());
            assert!(
                again.is_ok(),
                "a parsed predicate does not parse again: {again:?}"
            );
        }
        let _ = statement.to_json();
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = Envelope::from_json(data) {
        let _ = envelope.pae();
        let _ = envelope.to_json();
        statement(&envelope.payload);
    }
    if let Ok(envelopes) = dsse::parse_jsonl(data) {
        for envelope in &envelopes {
            statement(&envelope.payload);
        }
    }
    statement(data);
});
