//! The ledger: every verdict, with the digests of the evidence it rested on, in one `SQLite` file.
//!
//! Importers must keep the conformity documents for ten years, and "never shortened" needs the
//! support periods seen before, so every verdict is recorded with the shipment's manifest digest,
//! the policy id and digest, the trust store digest, the product key and its support end, and
//! one row per artifact with its SHA-256. The schema version is `SQLite`'s `user_version`; a ledger
//! written by a newer consign is refused rather than misread. Values are bounded
//! (`SQLITE_LIMIT_LENGTH`), so a hostile ledger file cannot make reading allocate without bound.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension as _, params};
use serde::{Deserialize, Serialize};

use crate::error::VerifyError;
use crate::evidence::SupportRecord;
use crate::verdict::Verdict;

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = 1;
/// Largest value (a verdict's JSON) stored or read.
pub const MAX_VALUE_BYTES: i32 = 16 << 20;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS verdicts (
    id INTEGER PRIMARY KEY,
    checked_at TEXT NOT NULL,
    shipment TEXT NOT NULL,
    shipment_sha256 TEXT NOT NULL,
    policy TEXT NOT NULL,
    policy_sha256 TEXT NOT NULL,
    trust_sha256 TEXT NOT NULL,
    accepted INTEGER NOT NULL,
    product_key TEXT,
    support_end TEXT,
    verdict_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS verdicts_product ON verdicts(product_key);
CREATE TABLE IF NOT EXISTS evidence (
    verdict_id INTEGER NOT NULL REFERENCES verdicts(id),
    path TEXT NOT NULL,
    role TEXT NOT NULL,
    sha256 TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS evidence_sha256 ON evidence(sha256);
";

/// One recorded verdict, as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Row id.
    pub id: i64,
    /// Check date.
    pub checked_at: String,
    /// Shipment name.
    pub shipment: String,
    /// Manifest SHA-256.
    pub shipment_sha256: String,
    /// Policy id.
    pub policy: String,
    /// Whether it was accepted.
    pub accepted: bool,
    /// The product key, when known.
    pub product_key: Option<String>,
    /// The support end, when declared.
    pub support_end: Option<String>,
}

/// An open ledger.
#[derive(Debug)]
pub struct Ledger {
    connection: Connection,
    name: String,
}

impl Ledger {
    /// Opens (creating if needed) the ledger at `path`.
    pub fn open(path: &Path) -> Result<Self, VerifyError> {
        let name = path.display().to_string();
        let connection = Connection::open(path).map_err(|source| VerifyError::Ledger {
            path: name.clone(),
            action: "open the database",
            source,
        })?;
        Self::init(connection, name)
    }

    /// A ledger in memory (tests, `--ledger` not wanted).
    pub fn in_memory() -> Result<Self, VerifyError> {
        let connection = Connection::open_in_memory().map_err(|source| VerifyError::Ledger {
            path: ":memory:".to_owned(),
            action: "open the database",
            source,
        })?;
        Self::init(connection, ":memory:".to_owned())
    }

    fn err(&self, action: &'static str) -> impl FnOnce(rusqlite::Error) -> VerifyError + '_ {
        move |source| VerifyError::Ledger {
            path: self.name.clone(),
            action,
            source,
        }
    }

    fn init(connection: Connection, name: String) -> Result<Self, VerifyError> {
        let ledger = Self { connection, name };
        ledger
            .connection
            .set_limit(
                rusqlite::limits::Limit::SQLITE_LIMIT_LENGTH,
                MAX_VALUE_BYTES,
            )
            .map_err(ledger.err("set its size limits"))?;
        ledger
            .connection
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(ledger.err("set its busy timeout"))?;
        let version: i64 = ledger
            .connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(ledger.err("read its schema version (is it a SQLite database?)"))?;
        if version > SCHEMA_VERSION {
            return Err(VerifyError::LedgerVersion {
                path: ledger.name.clone(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        ledger
            .connection
            .execute_batch(SCHEMA)
            .map_err(ledger.err("create its tables"))?;
        ledger
            .connection
            .pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(ledger.err("set its schema version"))?;
        Ok(ledger)
    }

    /// Records a verdict and its evidence; returns its row id.
    pub fn record(&mut self, verdict: &Verdict) -> Result<i64, VerifyError> {
        let json = serde_json::to_string(verdict).map_err(VerifyError::Json)?;
        let name = self.name.clone();
        let err = |action| {
            let name = name.clone();
            move |source| VerifyError::Ledger {
                path: name,
                action,
                source,
            }
        };
        let tx = self
            .connection
            .transaction()
            .map_err(err("start a transaction"))?;
        tx.execute(
            "INSERT INTO verdicts (checked_at, shipment, shipment_sha256, policy, policy_sha256, trust_sha256, accepted, product_key, support_end, verdict_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                verdict.checked_at,
                verdict.shipment,
                verdict.shipment_sha256,
                verdict.policy,
                verdict.policy_sha256,
                verdict.trust_sha256,
                verdict.accepted,
                verdict.product.as_ref().map(|p| p.key.clone()).filter(|k| !k.is_empty()),
                verdict.support_end,
                json
            ],
        )
        .map_err(err("record the verdict"))?;
        let id = tx.last_insert_rowid();
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO evidence (verdict_id, path, role, sha256) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(err("record the evidence"))?;
            for item in &verdict.evidence {
                insert
                    .execute(params![id, item.path, item.role, item.sha256])
                    .map_err(err("record the evidence"))?;
            }
        }
        tx.commit().map_err(err("commit"))?;
        Ok(id)
    }

    /// The support periods recorded for a product, oldest first.
    pub fn support_history(&self, product_key: &str) -> Result<Vec<SupportRecord>, VerifyError> {
        let mut statement = self
            .connection
            .prepare("SELECT product_key, support_end, checked_at, shipment FROM verdicts WHERE product_key = ?1 AND support_end IS NOT NULL ORDER BY id")
            .map_err(self.err("read support history"))?;
        let rows = statement
            .query_map([product_key], |row| {
                Ok(SupportRecord {
                    product_key: row.get(0)?,
                    support_end: row.get(1)?,
                    checked_at: row.get(2)?,
                    shipment: row.get(3)?,
                })
            })
            .map_err(self.err("read support history"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(self.err("read support history"))
    }

    /// Every support period recorded, oldest first (for verifying many shipments at once).
    pub fn all_support_history(&self) -> Result<Vec<SupportRecord>, VerifyError> {
        let mut statement = self
            .connection
            .prepare("SELECT product_key, support_end, checked_at, shipment FROM verdicts WHERE product_key IS NOT NULL AND support_end IS NOT NULL ORDER BY id")
            .map_err(self.err("read support history"))?;
        let rows = statement
            .query_map([], |row| {
                Ok(SupportRecord {
                    product_key: row.get(0)?,
                    support_end: row.get(1)?,
                    checked_at: row.get(2)?,
                    shipment: row.get(3)?,
                })
            })
            .map_err(self.err("read support history"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(self.err("read support history"))
    }

    /// Every recorded verdict, oldest first.
    pub fn list(&self) -> Result<Vec<LedgerEntry>, VerifyError> {
        let mut statement = self
            .connection
            .prepare("SELECT id, checked_at, shipment, shipment_sha256, policy, accepted, product_key, support_end FROM verdicts ORDER BY id")
            .map_err(self.err("list verdicts"))?;
        let rows = statement
            .query_map([], |row| {
                Ok(LedgerEntry {
                    id: row.get(0)?,
                    checked_at: row.get(1)?,
                    shipment: row.get(2)?,
                    shipment_sha256: row.get(3)?,
                    policy: row.get(4)?,
                    accepted: row.get(5)?,
                    product_key: row.get(6)?,
                    support_end: row.get(7)?,
                })
            })
            .map_err(self.err("list verdicts"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(self.err("list verdicts"))
    }

    /// One recorded verdict in full.
    pub fn verdict(&self, id: i64) -> Result<Option<Verdict>, VerifyError> {
        let json: Option<String> = self
            .connection
            .query_row(
                "SELECT verdict_json FROM verdicts WHERE id = ?1",
                [id],
                |row| row.get(0),
            )
            .optional()
            .map_err(self.err("read a verdict"))?;
        json.map(|json| serde_json::from_str(&json).map_err(VerifyError::Json))
            .transpose()
    }

    /// Every recorded verdict in full, as a JSON array (the export).
    pub fn export_json(&self) -> Result<String, VerifyError> {
        let mut statement = self
            .connection
            .prepare("SELECT verdict_json FROM verdicts ORDER BY id")
            .map_err(self.err("export verdicts"))?;
        let rows = statement
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(self.err("export verdicts"))?;
        let mut out = String::from("[");
        let mut first = true;
        for row in rows {
            let json = row.map_err(self.err("export verdicts"))?;
            // Re-parse so a damaged row is reported, never passed on.
            let verdict: Verdict = serde_json::from_str(&json).map_err(VerifyError::Json)?;
            if !first {
                out.push(',');
            }
            first = false;
            out.push('\n');
            out.push_str(&serde_json::to_string_pretty(&verdict).map_err(VerifyError::Json)?);
        }
        out.push_str("\n]\n");
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::{Counts, EvidenceItem, ProductRef};

    fn verdict(shipment: &str, end: &str) -> Verdict {
        Verdict {
            format: crate::verdict::FORMAT.to_owned(),
            shipment: shipment.to_owned(),
            shipment_sha256: "ab".repeat(32),
            policy: "eu-cra-import".to_owned(),
            policy_sha256: "cd".repeat(32),
            trust_sha256: "ef".repeat(32),
            checked_at: "2026-11-22".to_owned(),
            accepted: true,
            product: Some(ProductRef {
                key: "acme|sp-200|".to_owned(),
                manufacturer: Some("Acme".to_owned()),
                name: None,
                model: Some("SP-200".to_owned()),
                firmware_version: None,
            }),
            support_end: Some(end.to_owned()),
            counts: Counts::default(),
            results: Vec::new(),
            vulnerability_database: None,
            evidence: vec![EvidenceItem {
                path: "firmware/fw.img".to_owned(),
                role: "firmware".to_owned(),
                sha256: "00".repeat(32),
            }],
        }
    }

    #[test]
    fn round_trip_through_a_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("ledger.sqlite");
        {
            let mut ledger = Ledger::open(&path).unwrap();
            ledger.record(&verdict("lot-1", "2031-12-31")).unwrap();
            ledger.record(&verdict("lot-2", "2030-12-31")).unwrap();
        }
        let ledger = Ledger::open(&path).unwrap();
        let list = ledger.list().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].shipment, "lot-1");
        assert_eq!(list[1].support_end.as_deref(), Some("2030-12-31"));
        let history = ledger.support_history("acme|sp-200|").unwrap();
        assert_eq!(
            history
                .iter()
                .map(|r| r.support_end.as_str())
                .collect::<Vec<_>>(),
            ["2031-12-31", "2030-12-31"]
        );
        assert!(ledger.support_history("other").unwrap().is_empty());
        assert_eq!(
            ledger.verdict(1).unwrap().unwrap(),
            verdict("lot-1", "2031-12-31")
        );
        let export: Vec<Verdict> = serde_json::from_str(&ledger.export_json().unwrap()).unwrap();
        assert_eq!(export.len(), 2);
        let count: i64 = ledger
            .connection
            .query_row("SELECT count(*) FROM evidence", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 2);
    }

    #[test]
    fn refuses_newer_schema_and_non_databases() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("new.sqlite");
        {
            let connection = Connection::open(&path).unwrap();
            connection.pragma_update(None, "user_version", 9).unwrap();
        }
        let err = Ledger::open(&path).unwrap_err();
        assert!(err.to_string().contains("schema version 9"), "{err}");
        let junk = tmp.path().join("junk.sqlite");
        std::fs::write(&junk, vec![0x42u8; 4096]).unwrap();
        assert!(Ledger::open(&junk).is_err());
    }
}
