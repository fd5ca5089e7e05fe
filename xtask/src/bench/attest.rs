//! `cargo xtask bench attest` (issue 5): DSSE envelope signing and verification, Ed25519 and
//! ECDSA P-256, parsing included, on one thread and as a batch on every core; consign's figures
//! come from the `bench_dsse` example (in process: a process per envelope would time process
//! start-up, not verification), securesystemslib's from the same envelopes in the same run.
//! Goal: at least 20,000 Ed25519 envelope verifications per second per core.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use super::measure::{self, Job};
use super::report::Section;
use super::{Options, build_example};

/// Times securesystemslib, the Python reference implementation of DSSE, on the envelopes and
/// keys `bench_dsse --write` left: the same work as consign (JSON parse, base64, PAE, verify; for
/// signing, sign and write the JSON), one thread, then a process pool over every core (threads
/// would only share one interpreter lock).
const SSLIB_PY: &str = r#"
import base64, hashlib, json, os, sys, time
from multiprocessing import Pool
from cryptography.hazmat.primitives import serialization
from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner, SSlibKey

envelopes_path, public_path, private_path = sys.argv[1:4]
LINES = [line for line in open(envelopes_path, "rb").read().split(b"\n") if line]
KEY = None

def init():
    global KEY
    public = serialization.load_pem_public_key(open(public_path, "rb").read())
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    # securesystemslib matches signatures to keys by keyid; consign's is the SHA-256 of the SPKI DER.
    KEY = SSlibKey.from_crypto(public, keyid=hashlib.sha256(der).hexdigest())

def verify(line):
    Envelope.from_dict(json.loads(line)).verify([KEY], 1)

def verify_chunk(chunk):
    for line in chunk:
        verify(line)
    return len(chunk)

if __name__ == "__main__":
    init()
    count = len(LINES)
    start, cpu_start = time.perf_counter(), time.thread_time()
    for line in LINES:
        verify(line)
    verify_s, verify_cpu_s = time.perf_counter() - start, time.thread_time() - cpu_start
    try:
        verify(LINES[0].replace(b'"sig":"', b'"sig":"AA', 1))
        sys.exit("securesystemslib accepted a tampered envelope: the figures would mean nothing")
    except Exception:
        pass
    signer = CryptoSigner(serialization.load_pem_private_key(open(private_path, "rb").read(), None))
    payloads = [base64.b64decode(json.loads(line)["payload"]) for line in LINES]
    start = time.perf_counter()
    for payload in payloads:
        envelope = Envelope(payload, "application/vnd.in-toto+json", {})
        envelope.sign(signer)
        json.dumps(envelope.to_dict())
    sign_s = time.perf_counter() - start
    workers = os.cpu_count() or 1
    chunks = [LINES[i::workers] for i in range(workers)]
    with Pool(workers, initializer=init) as pool:
        pool.map(len, [[]] * workers)
        start = time.perf_counter()
        done = sum(pool.map(verify_chunk, chunks, chunksize=1))
        batch_s = time.perf_counter() - start
    assert done == count
    print(json.dumps({
        "count": count,
        "sign_per_s": count / sign_s,
        "verify_per_s": count / verify_s,
        "verify_per_cpu_s": count / verify_cpu_s,
        "batch_workers": workers,
        "batch_per_s": count / batch_s,
    }))
"#;

const ALGORITHMS: &[(&str, &str)] = &[("ed25519", "Ed25519"), ("p256", "ECDSA P-256")];

pub(crate) fn run(options: &Options) -> Result<Vec<Section>, String> {
    let example = build_example("consign-attest", "bench_dsse")?;
    let count = if options.quick { 2_000 } else { 20_000 };
    let logs = options.logs("attest");
    let envelopes = options.out("consign").join("dsse");
    measure::fresh_dir(&envelopes)?;
    std::fs::create_dir_all(&logs).map_err(|err| format!("creating {}: {err}", logs.display()))?;

    // consign, `runs` times (the envelopes of the last run are the ones the peer verifies).
    let mut consign_runs: Vec<Vec<Value>> = Vec::new();
    for _ in 0..options.runs {
        let log = logs.join("bench_dsse.log");
        let job = Job::new(&example, &log)
            .arg(count.to_string())
            .arg("--json")
            .arg("--write")
            .arg(&envelopes);
        measure::fresh_dir(&envelopes)?;
        measure::time_ok(&job, &[0])?;
        consign_runs.push(json_lines(&log)?);
    }

    let (python, peer_note) = match securesystemslib_python(options) {
        Ok(python) => (Some(python), None),
        Err(err) => (None, Some(err)),
    };
    let mut peer: Vec<Option<Value>> = Vec::new();
    let mut peer_errors = Vec::new();
    for (tag, _) in ALGORITHMS {
        let Some(python) = &python else {
            peer.push(None);
            continue;
        };
        match run_securesystemslib(python, &envelopes, tag, &logs) {
            Ok(value) => peer.push(Some(value)),
            Err(err) => {
                peer_errors.push(err);
                peer.push(None);
            }
        }
    }

    let mut section = Section::new(
        "attest: DSSE envelopes, consign vs securesystemslib",
        &format!(
            "{count} in-toto Statement envelopes per algorithm, signed and verified from their JSON text (parse, base64, PAE, signature) by the `bench_dsse` example, then by securesystemslib (Python, `cryptography`/OpenSSL underneath) on the same envelopes and keys. \"per CPU-second\" divides by the thread's on-CPU time, so a loaded machine does not skew it; the batch runs on every core (rayon for consign, a process pool for Python) and is shown per core. Ratio = consign / securesystemslib (higher is better)."
        ),
        &[
            "algorithm, operation",
            "consign /s",
            "securesystemslib /s",
            "consign / sslib",
        ],
    );
    let mut data = Vec::new();
    for (idx, (tag, name)) in ALGORITHMS.iter().enumerate() {
        let ours: Vec<&Value> = consign_runs
            .iter()
            .filter_map(|run| run.iter().find(|line| line["algorithm"] == *tag))
            .collect();
        if ours.is_empty() {
            return Err(format!("bench_dsse printed no figures for {name}"));
        }
        let theirs = peer.get(idx).and_then(Option::as_ref);
        let threads = median(&ours, "batch_threads").max(1.0);
        let workers = theirs.map_or(1.0, |t| t["batch_workers"].as_f64().unwrap_or(1.0).max(1.0));
        let lines = [
            (
                "sign, 1 thread",
                median(&ours, "sign_per_s"),
                peer_figure(theirs, "sign_per_s", 1.0),
            ),
            (
                "parse+verify, 1 thread",
                median(&ours, "verify_per_s"),
                peer_figure(theirs, "verify_per_s", 1.0),
            ),
            (
                "parse+verify, per CPU-second of one core",
                median(&ours, "verify_per_cpu_s"),
                peer_figure(theirs, "verify_per_cpu_s", 1.0),
            ),
            (
                "parse+verify, batch on all cores, per core",
                median(&ours, "batch_per_s") / threads,
                peer_figure(theirs, "batch_per_s", workers),
            ),
        ];
        for (operation, consign, sslib) in lines {
            section.row(vec![
                format!("{name}: {operation}"),
                format!("{consign:.0}"),
                sslib.map_or_else(|| "-".to_owned(), |rate| format!("{rate:.0}")),
                sslib.map_or_else(|| "-".to_owned(), |rate| measure::ratio(consign, rate)),
            ]);
        }
        if *tag == "ed25519" {
            let per_cpu = median(&ours, "verify_per_cpu_s");
            let per_core_batch = median(&ours, "batch_per_s") / threads;
            section.headline(
                "Ed25519 verifications per second per core (parse included)",
                format!(
                    "{per_cpu:.0} per CPU-second on one thread; {per_core_batch:.0} per core in the {threads:.0}-thread batch (wall time)"
                ),
                ">= 20,000",
                Some(per_cpu >= 20_000.0),
            );
        }
        data.push(json!({
            "algorithm": tag,
            "consign_runs": ours,
            "securesystemslib": theirs,
        }));
    }
    if let Some(note) = peer_note {
        section.note(format!("securesystemslib did not run: {note}"));
    }
    for err in peer_errors {
        section.note(format!("securesystemslib failed: {err}"));
    }
    section.data = json!({ "count": count, "algorithms": data });
    Ok(vec![section])
}

/// The median of one figure over consign's runs.
fn median(runs: &[&Value], key: &str) -> f64 {
    let mut values: Vec<f64> = runs.iter().filter_map(|run| run[key].as_f64()).collect();
    values.sort_by(f64::total_cmp);
    values
        .get(values.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or(0.0)
}

fn peer_figure(peer: Option<&Value>, key: &str, divisor: f64) -> Option<f64> {
    peer.and_then(|value| value[key].as_f64())
        .map(|rate| rate / divisor)
}

fn json_lines(log: &Path) -> Result<Vec<Value>, String> {
    let text =
        std::fs::read_to_string(log).map_err(|err| format!("reading {}: {err}", log.display()))?;
    text.lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| {
            serde_json::from_str(line)
                .map_err(|err| format!("{}: not JSON: {err}: {line}", log.display()))
        })
        .collect()
}

/// The Python with securesystemslib: the interop venv `cargo xtask tools` fills, else the bench
/// venv, where the pin of `tools.rs` is installed.
fn securesystemslib_python(options: &Options) -> Result<PathBuf, String> {
    let importable = |python: &Path| {
        python.exists()
            && Command::new(python)
                .args(["-c", "import securesystemslib.dsse, cryptography"])
                .output()
                .is_ok_and(|out| out.status.success())
    };
    let interop = crate::util::root().join("target/interop/venv/bin/python");
    if importable(&interop) {
        return Ok(interop);
    }
    let pin = crate::tools::PYTHON_PACKAGES
        .iter()
        .find(|package| package.starts_with("securesystemslib"))
        .ok_or("tools.rs pins no securesystemslib")?;
    let venv = options.base.join("venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        crate::util::run("python3", &["-m", "venv", &venv.to_string_lossy()])?;
    }
    if !importable(&python) {
        let pip = venv.join("bin/pip");
        crate::util::run(
            &pip.to_string_lossy(),
            &["install", "--quiet", "--disable-pip-version-check", pin],
        )
        .map_err(|err| {
            format!("{err}\n\nhint: `cargo xtask tools` installs it into target/interop/venv")
        })?;
    }
    Ok(python)
}

fn run_securesystemslib(
    python: &Path,
    envelopes: &Path,
    tag: &str,
    logs: &Path,
) -> Result<Value, String> {
    let script = logs.join("sslib_bench.py");
    std::fs::write(&script, SSLIB_PY)
        .map_err(|err| format!("writing {}: {err}", script.display()))?;
    let log = logs.join(format!("securesystemslib-{tag}.log"));
    let job = Job::new(python, &log)
        .arg(&script)
        .arg(envelopes.join(format!("{tag}.envelopes.jsonl")))
        .arg(envelopes.join(format!("{tag}.pub.pem")))
        .arg(envelopes.join(format!("{tag}.key.pem")));
    measure::time_ok(&job, &[0])?;
    json_lines(&log)?.pop().ok_or_else(|| {
        format!(
            "securesystemslib printed no figures (see {})",
            log.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_run_figures() {
        let runs = [json!({"x": 3.0}), json!({"x": 1.0}), json!({"x": 2.0})];
        let refs: Vec<&Value> = runs.iter().collect();
        assert!((median(&refs, "x") - 2.0).abs() < f64::EPSILON);
        assert!(median(&refs, "missing").abs() < f64::EPSILON);
        assert_eq!(peer_figure(Some(&json!({"r": 10.0})), "r", 2.0), Some(5.0));
        assert_eq!(peer_figure(None, "r", 2.0), None);
    }
}
