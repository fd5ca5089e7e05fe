//! Fuzz target: consign-vuln's readers of vulnerability data (NVD CVE 2.0 records and feeds,
//! OSV JSON and YAML, the KEV catalogue, EPSS CSV; gzip, xz and zip around them), within small
//! limits: errors that name the file and pointer, never a panic, a hang or memory past the
//! limits. A parsed record's lookup keys and serialised form must be computable.
#![no_main]

use consign_vuln::document::{self, Content, ReadLimits};

const LIMITS: ReadLimits = ReadLimits {
    max_document_bytes: 32 << 20,
    max_record_bytes: 1 << 20,
    max_members: 1_000,
};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // The file name picks the YAML reader for text that is not JSON.
    for name in ["input.json", "input.yaml"] {
        if let Ok(documents) = document::read(name, data, &LIMITS) {
            for doc in documents {
                if let Content::Advisories(list) = doc.content {
                    for advisory in list {
                        let _ = advisory.keys();
                        let body = serde_json::to_string(&advisory).expect("a record serialises");
                        let back: consign_vuln::record::Advisory =
                            serde_json::from_str(&body).expect("a stored record reads back");
                        assert_eq!(back, advisory, "a record round-trips through the database form");
                    }
                }
            }
        }
    }
});
