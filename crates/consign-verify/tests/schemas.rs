//! The published JSON schemas of policy files and trust stores agree with the parsers: what the
//! parser accepts the schema accepts, and each kind of mistake is refused by both. Users validate
//! their files with the schema in their editors and CI; a schema looser or stricter than the
//! verifier would mislead them.
#![allow(clippy::unwrap_used)] // Test scaffolding.

use std::path::Path;

use consign_attest::{KeyAlgorithm, PrivateKey, Signer as _};
use consign_verify::policy::PROFILES;
use consign_verify::{Policy, TrustStore};
use serde_json::Value;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn validator(schema: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo().join("schemas").join(schema)).unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

/// TOML as the JSON data model the schemas describe: dates become `YYYY-MM-DD` strings.
fn toml_to_json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Value::Object(
            table
                .into_iter()
                .map(|(k, v)| (k, toml_to_json(v)))
                .collect(),
        ),
    }
}

fn schema_errors(validator: &jsonschema::Validator, toml_text: &str) -> Vec<String> {
    let value = toml_to_json(toml::from_str(toml_text).unwrap());
    validator
        .iter_errors(&value)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

const USER_POLICY: &str = r#"
format = "consign-policy/v1"
id = "acme-import"
title = "Acme's import policy"
extends = "eu-cra-import"

[checks."support.minimum-length"]
min-years = 7

[checks."sbom.profile"]
severity = "warn"
"#;

#[test]
fn built_in_profiles_and_a_user_policy_pass_schema_and_parser() {
    let schema = validator("policy/policy.schema.json");
    for (name, text) in PROFILES {
        assert_eq!(schema_errors(&schema, text), Vec::<String>::new(), "{name}");
        Policy::builtin(name).unwrap();
    }
    assert_eq!(schema_errors(&schema, USER_POLICY), Vec::<String>::new());
    Policy::from_text("acme.toml", USER_POLICY, false).unwrap();
}

#[test]
fn policy_mistakes_are_refused_by_schema_and_parser_alike() {
    let schema = validator("policy/policy.schema.json");
    let mistakes = [
        (
            "unknown top-level field",
            USER_POLICY.replace("title =", "titel ="),
        ),
        (
            "wrong format",
            USER_POLICY.replace("consign-policy/v1", "consign-policy/v9"),
        ),
        (
            "unknown severity",
            USER_POLICY.replace("severity = \"warn\"", "severity = \"maybe\""),
        ),
        (
            "wrong type",
            USER_POLICY.replace("min-years = 7", "min-years = \"seven\""),
        ),
    ];
    for (what, text) in mistakes {
        assert!(
            !schema_errors(&schema, &text).is_empty(),
            "the schema accepts a policy with {what}"
        );
        assert!(
            Policy::from_text("p.toml", &text, false).is_err(),
            "the parser accepts a policy with {what}"
        );
    }
}

fn trust_text() -> String {
    let key = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
    format!(
        "format = \"consign-trust/v1\"\n\n[[party]]\nname = \"Example Devices GmbH\"\nroles = [\"manufacturer\"]\ncontact = \"psirt@devices.example\"\n\n[[party.key]]\npublic-key = \"\"\"\n{}\"\"\"\nvalid-from = 2025-01-01\nvalid-until = \"2030-12-31\"\n",
        key.public_key().to_pem()
    )
}

#[test]
fn a_trust_store_passes_schema_and_parser() {
    let schema = validator("trust/trust-store.schema.json");
    let text = trust_text();
    assert_eq!(schema_errors(&schema, &text), Vec::<String>::new());
    TrustStore::from_toml("trust.toml", &text).unwrap();
}

#[test]
fn trust_store_mistakes_are_refused_by_schema_and_parser_alike() {
    let schema = validator("trust/trust-store.schema.json");
    let good = trust_text();
    let mistakes = [
        (
            "an unknown role",
            good.replace("[\"manufacturer\"]", "[\"auditor\"]"),
        ),
        (
            "an unknown party field",
            good.replace("contact =", "kontakt ="),
        ),
        (
            "a party without a name",
            good.replace("name = ", "# name = "),
        ),
        ("a key without its public key", {
            let start = good.find("public-key").unwrap();
            let end = good.find("valid-from").unwrap();
            format!("{}{}", &good[..start], &good[end..])
        }),
        (
            "an unknown format",
            good.replace("consign-trust/v1", "consign-trust/v2"),
        ),
    ];
    for (what, text) in mistakes {
        assert!(
            !schema_errors(&schema, &text).is_empty(),
            "the schema accepts a trust store with {what}"
        );
        assert!(
            TrustStore::from_toml("t.toml", &text).is_err(),
            "the parser accepts a trust store with {what}"
        );
    }
}
