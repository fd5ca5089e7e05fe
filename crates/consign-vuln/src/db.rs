//! The local database: one `SQLite` file (bundled `SQLite`, as the verifier's ledger) holding the
//! normalised records, the lookup keys, the KEV catalogue, EPSS scores, and the list of sources
//! imported with their dates and digests. This is the crate's edge: everything else is pure.
//!
//! Import is idempotent and incremental: a source whose digest is already recorded is skipped;
//! a record replaces the stored one only when its modification date is not older and its
//! content differs; a withdrawn or rejected record replaces the stored one and loses its keys,
//! so it is never matched again. A KEV catalogue or EPSS file replaces the stored one only when
//! its date is not older. Each source imports in one transaction: a bad file leaves the database
//! as it was.
//!
//! The schema version is `SQLite`'s `user_version`; a database written by a newer consign is
//! refused. Values read are bounded (`SQLITE_LIMIT_LENGTH`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension as _, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::document::{Content, Document};
use crate::epss::EpssScore;
use crate::error::VulnError;
use crate::kev::KevEntry;
use crate::matching::{Knowledge, Target};
use crate::record::{Advisory, is_cve_id};

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = 1;
/// Largest value stored or read (a record's JSON).
pub const MAX_VALUE_BYTES: i32 = 64 << 20;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sources (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    kinds TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    date TEXT,
    files INTEGER NOT NULL,
    records INTEGER NOT NULL,
    imported_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS sources_sha256 ON sources(sha256);
CREATE TABLE IF NOT EXISTS advisories (
    origin TEXT NOT NULL,
    id TEXT NOT NULL,
    modified TEXT NOT NULL,
    digest TEXT NOT NULL,
    withdrawn INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (origin, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS keys (
    key TEXT NOT NULL,
    origin TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (key, origin, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS keys_by_record ON keys(origin, id);
CREATE INDEX IF NOT EXISTS advisories_by_origin ON advisories(origin, withdrawn);
CREATE TABLE IF NOT EXISTS kev (
    cve TEXT PRIMARY KEY,
    body TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS epss (
    cve TEXT PRIMARY KEY,
    epss REAL NOT NULL,
    percentile REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
";

/// One imported source, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// The path as given to `consign vuln db import`.
    pub name: String,
    /// The kinds of data found in it (`nvd`, `osv`, `kev`, `epss`), comma-separated.
    pub kinds: String,
    /// SHA-256 of the file, or of the sorted list of `path, file SHA-256` for a folder.
    pub sha256: String,
    /// The newest date the data states (feed timestamp, record modification, catalogue release).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Files read.
    pub files: u64,
    /// Records, catalogue entries or scores read.
    pub records: u64,
    /// When it was imported (the importer's clock, RFC 3339).
    pub imported_at: String,
}

/// What the database holds: its sources and counts, and one digest over the source list that
/// a verdict records to say what was known when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbInfo {
    /// The database file.
    pub path: String,
    /// SHA-256 over the sources' kinds, digests and dates, in import order.
    pub sha256: String,
    /// NVD records stored (withdrawn ones included).
    pub nvd_records: u64,
    /// OSV records stored.
    pub osv_records: u64,
    /// Withdrawn or rejected records.
    pub withdrawn: u64,
    /// KEV entries.
    pub kev_entries: u64,
    /// The KEV catalogue's release date, when one is imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kev_released: Option<String>,
    /// EPSS scores.
    pub epss_scores: u64,
    /// The EPSS score date, when scores are imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epss_date: Option<String>,
    /// The sources, in import order.
    pub sources: Vec<SourceInfo>,
}

/// What importing one source did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    /// The source's digest was already recorded: nothing was read into the database.
    pub unchanged: bool,
    /// Records added.
    pub added: u64,
    /// Records replaced by a newer version.
    pub updated: u64,
    /// Records already stored as they are, or older than the stored ones.
    pub kept: u64,
    /// Records withdrawn or rejected.
    pub withdrawn: u64,
    /// KEV entries stored (0 when the catalogue is older than the stored one).
    pub kev: u64,
    /// EPSS scores stored.
    pub epss: u64,
}

/// An open database.
#[derive(Debug)]
pub struct Database {
    connection: Connection,
    path: PathBuf,
}

impl Database {
    /// Opens the database at `path`, creating it (and its folder) when missing.
    pub fn create(path: &Path) -> Result<Self, VulnError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs_err::create_dir_all(parent).map_err(|source| VulnError::Io {
                action: "create the folder of",
                path: path.to_owned(),
                source,
            })?;
        }
        let connection = Connection::open(path).map_err(|source| VulnError::Database {
            path: path.to_owned(),
            action: "open or create it",
            source,
        })?;
        Self::init(connection, path, true)
    }

    /// Opens an existing database read-only; [`VulnError::NoDatabase`] when there is none.
    pub fn open(path: &Path) -> Result<Self, VulnError> {
        if !path.is_file() {
            return Err(VulnError::NoDatabase {
                path: path.to_owned(),
            });
        }
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| VulnError::Database {
            path: path.to_owned(),
            action: "open it",
            source,
        })?;
        Self::init(connection, path, false)
    }

    /// A database in memory (tests).
    pub fn in_memory() -> Result<Self, VulnError> {
        let path = PathBuf::from(":memory:");
        let connection = Connection::open_in_memory().map_err(|source| VulnError::Database {
            path: path.clone(),
            action: "open it",
            source,
        })?;
        Self::init(connection, &path, true)
    }

    fn err(&self, action: &'static str) -> impl FnOnce(rusqlite::Error) -> VulnError + '_ {
        move |source| VulnError::Database {
            path: self.path.clone(),
            action,
            source,
        }
    }

    fn init(connection: Connection, path: &Path, write: bool) -> Result<Self, VulnError> {
        let db = Self {
            connection,
            path: path.to_owned(),
        };
        db.connection
            .set_limit(
                rusqlite::limits::Limit::SQLITE_LIMIT_LENGTH,
                MAX_VALUE_BYTES,
            )
            .map_err(db.err("set its size limits"))?;
        db.connection
            .busy_timeout(std::time::Duration::from_secs(30))
            .map_err(db.err("set its busy timeout"))?;
        let version: i64 = db
            .connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(db.err("read its schema version (is it a SQLite database?)"))?;
        if version > SCHEMA_VERSION {
            return Err(VulnError::DatabaseFormat {
                path: db.path.clone(),
                reason: format!(
                    "schema version {version} is newer than this consign reads ({SCHEMA_VERSION})"
                ),
            });
        }
        // Bulk imports write mostly new pages: a rollback journal records only the few pages
        // they change, where WAL would write every page twice. Larger pages suit the records'
        // JSON; the cache keeps the key index in memory during an import.
        db.connection
            .execute_batch("PRAGMA cache_size = -262144;")
            .map_err(db.err("set its cache size"))?;
        if write {
            db.connection
                .execute_batch(
                    "PRAGMA page_size = 16384; PRAGMA journal_mode = DELETE; PRAGMA synchronous = NORMAL;",
                )
                .map_err(db.err("set its journal mode"))?;
            db.connection
                .execute_batch(SCHEMA)
                .map_err(db.err("create its tables"))?;
            db.connection
                .pragma_update(None, "user_version", SCHEMA_VERSION)
                .map_err(db.err("set its schema version"))?;
        } else if version == 0 {
            return Err(VulnError::DatabaseFormat {
                path: db.path.clone(),
                reason: "not a consign vulnerability database (no schema version)".to_owned(),
            });
        }
        Ok(db)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True when a source with this digest is already recorded.
    pub fn has_source(&self, sha256: &str) -> Result<bool, VulnError> {
        self.connection
            .query_row("SELECT 1 FROM sources WHERE sha256 = ?1", [sha256], |_| {
                Ok(())
            })
            .optional()
            .map(|found| found.is_some())
            .map_err(self.err("read its sources"))
    }

    /// Imports one source's documents, arriving in batches (a folder of per-record files is
    /// parsed on other threads while this one writes), in one transaction.
    pub fn import<I>(
        &mut self,
        source: &NewSource<'_>,
        batches: I,
    ) -> Result<ImportSummary, VulnError>
    where
        I: IntoIterator<Item = Result<Vec<Document>, VulnError>>,
    {
        let path = self.path.clone();
        let err = |action: &'static str| {
            let path = path.clone();
            move |source| VulnError::Database {
                path,
                action,
                source,
            }
        };
        let mut summary = ImportSummary::default();
        let mut kinds = BTreeSet::new();
        let mut dates: Vec<String> = Vec::new();
        let mut files = 0u64;
        let mut records = 0u64;
        let tx = self
            .connection
            .transaction()
            .map_err(err("start a transaction"))?;
        for batch in batches {
            for document in batch? {
                files += 1;
                kinds.insert(document.kind);
                if let Some(date) = &document.date {
                    dates.push(date.clone());
                }
                match &document.content {
                    Content::Advisories(list) => {
                        records += list.len() as u64;
                        for advisory in list {
                            store_advisory(&tx, advisory, &mut summary)
                                .map_err(err("store a record"))?;
                        }
                    }
                    Content::Kev(catalogue) => {
                        records += catalogue.entries.len() as u64;
                        let newer =
                            newer_than_meta(&tx, "kev_released", catalogue.released.as_deref())
                                .map_err(err("read the KEV date"))?;
                        if newer {
                            tx.execute("DELETE FROM kev", [])
                                .map_err(err("replace the KEV catalogue"))?;
                            let mut insert = tx
                                .prepare_cached(
                                    "INSERT OR REPLACE INTO kev (cve, body) VALUES (?1, ?2)",
                                )
                                .map_err(err("store the KEV catalogue"))?;
                            for entry in &catalogue.entries {
                                let body = serde_json::to_string(entry).unwrap_or_default();
                                insert
                                    .execute(params![entry.cve_id, body])
                                    .map_err(err("store the KEV catalogue"))?;
                                summary.kev += 1;
                            }
                            set_meta(
                                &tx,
                                "kev_released",
                                catalogue.released.as_deref().unwrap_or(""),
                            )
                            .map_err(err("store the KEV date"))?;
                        }
                    }
                    Content::Epss(scores) => {
                        records += scores.scores.len() as u64;
                        let newer = newer_than_meta(&tx, "epss_date", scores.score_date.as_deref())
                            .map_err(err("read the EPSS date"))?;
                        if newer {
                            tx.execute("DELETE FROM epss", [])
                                .map_err(err("replace the EPSS scores"))?;
                            let mut insert = tx
                                .prepare_cached(
                                    "INSERT OR REPLACE INTO epss (cve, epss, percentile) VALUES (?1, ?2, ?3)",
                                )
                                .map_err(err("store the EPSS scores"))?;
                            for score in &scores.scores {
                                insert
                                    .execute(params![score.cve, score.epss, score.percentile])
                                    .map_err(err("store the EPSS scores"))?;
                                summary.epss += 1;
                            }
                            set_meta(&tx, "epss_date", scores.score_date.as_deref().unwrap_or(""))
                                .map_err(err("store the EPSS date"))?;
                        }
                    }
                }
            }
        }
        if files == 0 {
            // Nothing was read: no source to record (the transaction rolls back on drop).
            return Ok(summary);
        }
        let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        tx.execute(
            "INSERT OR IGNORE INTO sources (name, kinds, sha256, date, files, records, imported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                source.name,
                kinds.join(","),
                source.sha256,
                dates.into_iter().max(),
                to_sql(files),
                to_sql(records),
                source.imported_at
            ],
        )
        .map_err(err("record the source"))?;
        tx.commit().map_err(err("commit the import"))?;
        Ok(summary)
    }

    /// The sources and counts.
    pub fn info(&self) -> Result<DbInfo, VulnError> {
        let mut statement = self
            .connection
            .prepare("SELECT name, kinds, sha256, date, files, records, imported_at FROM sources ORDER BY id")
            .map_err(self.err("read its sources"))?;
        let sources = statement
            .query_map([], |row| {
                Ok(SourceInfo {
                    name: row.get(0)?,
                    kinds: row.get(1)?,
                    sha256: row.get(2)?,
                    date: row.get(3)?,
                    files: from_sql(row.get(4)?),
                    records: from_sql(row.get(5)?),
                    imported_at: row.get(6)?,
                })
            })
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(self.err("read its sources"))?;
        let count = |sql: &str| -> Result<u64, VulnError> {
            self.connection
                .query_row(sql, [], |row| row.get::<_, i64>(0))
                .map(from_sql)
                .map_err(self.err("count its records"))
        };
        let mut hasher = Sha256::new();
        for source in &sources {
            hasher.update(format!(
                "{}\t{}\t{}\n",
                source.kinds,
                source.sha256,
                source.date.as_deref().unwrap_or("")
            ));
        }
        Ok(DbInfo {
            path: self.path.display().to_string(),
            sha256: hex::encode(hasher.finalize()),
            nvd_records: count("SELECT count(*) FROM advisories WHERE origin = 'nvd'")?,
            osv_records: count("SELECT count(*) FROM advisories WHERE origin = 'osv'")?,
            withdrawn: count("SELECT count(*) FROM advisories WHERE withdrawn = 1")?,
            kev_entries: count("SELECT count(*) FROM kev")?,
            kev_released: self.meta("kev_released")?,
            epss_scores: count("SELECT count(*) FROM epss")?,
            epss_date: self.meta("epss_date")?,
            sources,
        })
    }

    fn meta(&self, key: &str) -> Result<Option<String>, VulnError> {
        self.connection
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
                row.get(0)
            })
            .optional()
            .map_err(self.err("read its metadata"))
    }

    /// Everything relevant to `targets`: the records stored under their keys, the whole KEV
    /// catalogue, and the EPSS scores of those records' CVEs.
    pub fn knowledge_for(&self, targets: &[Target]) -> Result<Knowledge, VulnError> {
        let keys: BTreeSet<String> = targets.iter().flat_map(Target::keys).collect();
        let mut seen = BTreeSet::new();
        let mut bodies: Vec<(String, String, String)> = Vec::new();
        let mut lookup = self
            .connection
            .prepare_cached(
                "SELECT a.origin, a.id, a.body FROM keys k JOIN advisories a ON a.origin = k.origin AND a.id = k.id WHERE k.key = ?1 AND a.withdrawn = 0",
            )
            .map_err(self.err("look records up"))?;
        for key in &keys {
            let rows = lookup
                .query_map([key], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                    ))
                })
                .map_err(self.err("look records up"))?;
            for row in rows {
                let (origin, id, body) = row.map_err(self.err("look records up"))?;
                if seen.insert((origin.clone(), id.clone())) {
                    bodies.push((origin, id, body));
                }
            }
        }
        // Reading the records back is most of a match's work: on every core.
        let advisories: Vec<Advisory> = {
            use rayon::prelude::*;
            let path = &self.path;
            bodies
                .par_iter()
                .map(|(origin, id, body)| {
                    serde_json::from_str(body).map_err(|err| VulnError::DatabaseFormat {
                        path: path.clone(),
                        reason: format!("record `{origin}/{id}` does not read back: {err}"),
                    })
                })
                .collect::<Result<_, _>>()?
        };
        let mut kev = BTreeMap::new();
        let mut statement = self
            .connection
            .prepare("SELECT cve, body FROM kev")
            .map_err(self.err("read the KEV catalogue"))?;
        let rows = statement
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })
            .map_err(self.err("read the KEV catalogue"))?;
        for row in rows {
            let (cve, body) = row.map_err(self.err("read the KEV catalogue"))?;
            let entry: KevEntry =
                serde_json::from_str(&body).map_err(|err| VulnError::DatabaseFormat {
                    path: self.path.clone(),
                    reason: format!("KEV entry `{cve}` does not read back: {err}"),
                })?;
            kev.insert(cve, entry);
        }
        let mut epss = BTreeMap::new();
        let mut score = self
            .connection
            .prepare_cached("SELECT epss, percentile FROM epss WHERE cve = ?1")
            .map_err(self.err("read EPSS scores"))?;
        let cves: BTreeSet<&str> = advisories
            .iter()
            .flat_map(Advisory::ids)
            .filter(|id| is_cve_id(id))
            .collect();
        for cve in cves {
            if let Some((value, percentile)) = score
                .query_row([cve], |row| {
                    Ok((row.get::<_, f64>(0)?, row.get::<_, f64>(1)?))
                })
                .optional()
                .map_err(self.err("read EPSS scores"))?
            {
                epss.insert(
                    cve.to_owned(),
                    EpssScore {
                        cve: cve.to_owned(),
                        epss: value,
                        percentile,
                    },
                );
            }
        }
        Ok(Knowledge {
            advisories,
            kev,
            epss,
        })
    }
}

/// A source about to be imported.
#[derive(Clone, Debug)]
pub struct NewSource<'a> {
    /// The path as given.
    pub name: &'a str,
    /// Its digest (see [`SourceInfo::sha256`]).
    pub sha256: &'a str,
    /// When the import runs (RFC 3339), from the caller's clock.
    pub imported_at: &'a str,
}

fn to_sql(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn from_sql(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn newer_than_meta(
    tx: &rusqlite::Transaction<'_>,
    key: &str,
    date: Option<&str>,
) -> Result<bool, rusqlite::Error> {
    let stored: Option<String> = tx
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
            row.get(0)
        })
        .optional()?;
    Ok(match (stored, date) {
        (None, _) => true,
        (Some(stored), Some(date)) => date >= stored.as_str(),
        (Some(_), None) => false,
    })
}

fn set_meta(tx: &rusqlite::Transaction<'_>, key: &str, value: &str) -> Result<(), rusqlite::Error> {
    tx.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
        params![key, value],
    )
    .map(|_| ())
}

fn store_advisory(
    tx: &rusqlite::Transaction<'_>,
    advisory: &Advisory,
    summary: &mut ImportSummary,
) -> Result<(), rusqlite::Error> {
    let body = serde_json::to_string(advisory).unwrap_or_default();
    let digest = hex::encode(&Sha256::digest(body.as_bytes())[..16]);
    let origin = advisory.origin.key();
    let modified = advisory.modified.clone().unwrap_or_default();
    let stored: Option<(String, String)> = tx
        .prepare_cached("SELECT modified, digest FROM advisories WHERE origin = ?1 AND id = ?2")?
        .query_row(params![origin, advisory.id], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?;
    match &stored {
        Some((old_modified, old_digest)) if *old_digest == digest || modified < *old_modified => {
            summary.kept += 1;
            return Ok(());
        }
        Some(_) => summary.updated += 1,
        None => summary.added += 1,
    }
    if advisory.withdrawn {
        summary.withdrawn += 1;
    }
    tx.prepare_cached(
        "INSERT OR REPLACE INTO advisories (origin, id, modified, digest, withdrawn, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![origin, advisory.id, modified, digest, advisory.withdrawn, body])?;
    if stored.is_some() {
        tx.prepare_cached("DELETE FROM keys WHERE origin = ?1 AND id = ?2")?
            .execute(params![origin, advisory.id])?;
    }
    if !advisory.withdrawn {
        let mut insert =
            tx.prepare_cached("INSERT OR IGNORE INTO keys (key, origin, id) VALUES (?1, ?2, ?3)")?;
        for key in advisory.keys() {
            insert.execute(params![key, origin, advisory.id])?;
        }
    }
    Ok(())
}
