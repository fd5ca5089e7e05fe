//! Benchmark of DSSE signing and verification: Ed25519 and ECDSA P-256 envelopes, verified from
//! their JSON text (parsing, base64 and PAE included), on one thread and as a rayon batch.
//!
//! Run: `cargo run --release -p consign-attest --example bench_dsse [COUNT] [--json] [--write DIR]`.
//!
//! `--json` prints one JSON object per algorithm instead of the text report (`cargo xtask bench
//! attest` reads it); `--write DIR` also writes the envelopes (`<alg>.envelopes.jsonl`, one per
//! line) and the keys (`<alg>.key.pem`, `<alg>.pub.pem`) so a peer implementation can be timed on
//! exactly the same envelopes.
#![allow(clippy::print_stdout)] // A benchmark reports on stdout.
#![allow(clippy::cast_precision_loss)] // Rates are printed rounded; counts are far below 2^52.

use std::path::PathBuf;
use std::time::Instant;

use consign_attest::dsse::{self, INTOTO_PAYLOAD_TYPE};
use consign_attest::{KeyAlgorithm, PrivateKey, Signer as _, Statement};
use rayon::prelude::*;

struct Options {
    count: usize,
    json: bool,
    write: Option<PathBuf>,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        count: 20_000,
        json: false,
        write: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => options.json = true,
            "--write" => {
                options.write = Some(args.next().ok_or("`--write` needs a folder")?.into());
            }
            count => {
                options.count = count
                    .parse()
                    .map_err(|_| format!("unexpected argument `{count}`: expected a count"))?;
            }
        }
    }
    Ok(options)
}

/// The short file-name tag of an algorithm.
fn tag(algorithm: KeyAlgorithm) -> &'static str {
    match algorithm {
        KeyAlgorithm::EcdsaP256Sha256 => "p256",
        _ => "ed25519",
    }
}

fn main() -> Result<(), String> {
    let options = options()?;
    let count = options.count.max(1);
    if let Some(dir) = &options.write {
        std::fs::create_dir_all(dir).map_err(|err| format!("creating {}: {err}", dir.display()))?;
    }
    for algorithm in [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256Sha256] {
        let key = PrivateKey::generate(algorithm).map_err(|err| err.to_string())?;
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

        // Signing includes writing the envelope's JSON text, as `consign attest` does.
        let start = Instant::now();
        let jsons = payloads
            .iter()
            .map(|payload| {
                dsse::sign(INTOTO_PAYLOAD_TYPE, payload, &[&key]).map(|envelope| envelope.to_json())
            })
            .collect::<Result<Vec<String>, _>>()
            .map_err(|err| err.to_string())?;
        let sign_secs = start.elapsed().as_secs_f64();

        let verify_all = |json: &String| {
            dsse::verify_json(json.as_bytes(), &public, 1)
                .map(|_| ())
                .map_err(|err| err.to_string())
        };
        let start = Instant::now();
        let cpu_start = thread_cpu_ns();
        jsons.iter().try_for_each(verify_all)?;
        let single_secs = start.elapsed().as_secs_f64();
        let single_cpu_secs = thread_cpu_ns()
            .zip(cpu_start)
            .map(|(end, begin)| end.saturating_sub(begin) as f64 / 1e9);

        let start = Instant::now();
        jsons.par_iter().try_for_each(verify_all)?;
        let batch_secs = start.elapsed().as_secs_f64();

        // A tampered envelope must fail, or the figures above would measure nothing.
        let tampered = jsons[0].replacen("\"sig\":\"", "\"sig\":\"AA", 1);
        if dsse::verify_json(tampered.as_bytes(), &public, 1).is_ok() {
            return Err(format!("{algorithm}: a tampered envelope verified"));
        }

        if let Some(dir) = &options.write {
            let write = |name: String, text: &str| {
                let path = dir.join(name);
                std::fs::write(&path, text)
                    .map_err(|err| format!("writing {}: {err}", path.display()))
            };
            write(
                format!("{}.envelopes.jsonl", tag(algorithm)),
                &(jsons.join("\n") + "\n"),
            )?;
            write(
                format!("{}.pub.pem", tag(algorithm)),
                &key.public_key().to_pem(),
            )?;
            write(format!("{}.key.pem", tag(algorithm)), &key.to_pkcs8_pem())?;
        }

        let threads = rayon::current_num_threads();
        let bytes: usize = jsons.iter().map(String::len).sum();
        if options.json {
            println!(
                "{}",
                serde_json::json!({
                    "algorithm": tag(algorithm),
                    "count": count,
                    "envelope_bytes": bytes / count,
                    "sign_per_s": count as f64 / sign_secs,
                    "verify_per_s": count as f64 / single_secs,
                    "verify_per_cpu_s": single_cpu_secs.map(|secs| count as f64 / secs),
                    "batch_threads": threads,
                    "batch_per_s": count as f64 / batch_secs,
                })
            );
            continue;
        }
        println!(
            "{algorithm}: {count} envelopes of {} bytes on average",
            bytes / count
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
            "  parse+verify (rayon, {threads} threads): {:>9.0} envelopes/s",
            count as f64 / batch_secs
        );
    }
    Ok(())
}

/// The calling thread's on-CPU time in nanoseconds (Linux `schedstat`), if available.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}
