//! Issue 7: detection accuracy on the shared corpus, judged by the corpus's own scorer
//! (`../shared/corpus/score.py`), through the real `consign scan` (unpack, detect, SBOM).
//!
//! Thresholds from the issue: name recall >= 0.95, name-and-version recall >= 0.80, precision >= 0.95.

use std::path::Path;
use std::process::Command;

use crate::support::repo_root;

#[test]
fn corpus_scores_meet_the_issue_thresholds() {
    let corpus = repo_root().join("../shared/corpus");
    let images = corpus.join("images");
    assert!(
        images.is_dir(),
        "the shared corpus is missing at {}: it sits beside the checkout in CI",
        images.display()
    );
    let out = tempfile::tempdir().unwrap();
    let mut scanned = 0;
    for entry in std::fs::read_dir(&images).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let image = std::fs::read_dir(entry.path())
            .unwrap()
            .flatten()
            .map(|file| file.path())
            .find(|path| path.file_name().is_some_and(|file| file != "truth.json"))
            .unwrap();
        let sbom = out.path().join(format!("{name}.json"));
        let status = Command::new(env!("CARGO_BIN_EXE_consign"))
            .args(["-q", "scan"])
            .arg(&image)
            .arg("-o")
            .arg(&sbom)
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .status()
            .unwrap();
        assert!(
            status.success(),
            "consign scan {} failed: {status}",
            image.display()
        );
        scanned += 1;
    }
    assert!(scanned >= 13, "only {scanned} corpus images found");
    let totals = score(&corpus.join("score.py"), out.path(), &images);
    let get = |key: &str| totals[key].as_f64().unwrap();
    let (recall_nv, precision, name_recall) =
        (get("recall_nv"), get("precision"), get("name_recall"));
    assert!(
        name_recall >= 0.95 && recall_nv >= 0.80 && precision >= 0.95,
        "corpus scores below the issue's thresholds: name_recall={name_recall:.3} (>= 0.95), \
         recall_nv={recall_nv:.3} (>= 0.80), precision={precision:.3} (>= 0.95)\n{totals:#}"
    );
}

/// Runs the corpus scorer in JSON mode and returns its `total` object.
fn score(script: &Path, sboms: &Path, images: &Path) -> serde_json::Value {
    let output = Command::new("python3")
        .arg(script)
        .arg(sboms)
        .arg(images)
        .arg("--json")
        .output()
        .expect("python3 is needed to run the corpus scorer: `apt-get install -y python3`");
    assert!(
        output.status.success(),
        "score.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    report["total"].clone()
}
