//! Benchmark of DSSE signing and verification: Ed25519 and ECDSA P-256 envelopes, verified from
//! their JSON text (parsing, base64 and PAE included), on one thread and as a rayon batch.
//!
//! Run: `cargo run --release -p consign-attest --example bench_dsse [N]`.
#![allow(clippy::print_stdout)] // A benchmark reports on stdout.
#![allow(clippy::cast_precision_loss)] // Rates are printed rounded; counts are far below 2^52.

use std::time::Instant;

use consign_attest::dsse::{self, INTOTO_PAYLOAD_TYPE};
use consign_attest::{KeyAlgorithm, PrivateKey, Signer as _, Statement};
use rayon::prelude::*;

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(20_000);
    for algorithm in [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256Sha256] {
        let key = PrivateKey::generate(algorithm).expect("key generation");
        let public = [key.public_key()];
        // A realistic payload: a statement about one firmware image with a small predicate.
        let payloads: Vec<Vec<u8>> = (0..count)
            .map(|idx| {
                Statement::for_artifact(
                    &format!("fw-{idx}.img"),
                    format!("firmware {idx}").as_bytes(),
                    "https://consign.dev/attestation/component/v0.1",
                    serde_json::json!({"party": {"role": "supplier", "name": "Acme", "contact": "security@acme.example"}, "claims": []}),
                )
                .to_json()
            })
            .collect();

        let start = Instant::now();
        let jsons: Vec<String> = payloads
            .iter()
            .map(|payload| {
                dsse::sign(INTOTO_PAYLOAD_TYPE, payload, &[&key])
                    .expect("signing")
                    .to_json()
            })
            .collect();
        let sign_secs = start.elapsed().as_secs_f64();

        let start = Instant::now();
        let cpu_start = thread_cpu_ns();
        for json in &jsons {
            dsse::verify_json(json.as_bytes(), &public, 1).expect("verification");
        }
        let single_secs = start.elapsed().as_secs_f64();
        let single_cpu_secs = thread_cpu_ns()
            .zip(cpu_start)
            .map(|(end, begin)| end.saturating_sub(begin) as f64 / 1e9);

        let start = Instant::now();
        jsons.par_iter().for_each(|json| {
            dsse::verify_json(json.as_bytes(), &public, 1).expect("verification");
        });
        let batch_secs = start.elapsed().as_secs_f64();

        let bytes: usize = jsons.iter().map(String::len).sum();
        println!(
            "{algorithm}: {count} envelopes of {} bytes on average",
            bytes / count.max(1)
        );
        println!(
            "  sign (1 thread):            {:>9.0} envelopes/s",
            count as f64 / sign_secs
        );
        println!(
            "  parse+verify (1 thread):    {:>9.0} envelopes/s",
            count as f64 / single_secs
        );
        if let Some(cpu_secs) = single_cpu_secs {
            println!(
                "  parse+verify per CPU-second of one core: {:>9.0} envelopes/s (on-CPU time, so a loaded machine does not skew it)",
                count as f64 / cpu_secs
            );
        }
        println!(
            "  parse+verify (rayon, {} threads): {:>9.0} envelopes/s",
            rayon::current_num_threads(),
            count as f64 / batch_secs
        );
        let _ = key.sign(b"keep the signer trait in use");
    }
}

/// The calling thread's on-CPU time in nanoseconds (Linux `schedstat`), if available.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}
