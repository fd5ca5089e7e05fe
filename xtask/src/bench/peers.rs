//! The peer tools the bench compares consign with, installed into `target/bench/` at pinned
//! versions, idempotently, exactly as `../shared/corpus/BASELINES.md` sets them up:
//!
//! - binwalk v3 from crates.io (`cargo install --root target/bench/cargo`); the PyPI `binwalk3`
//!   wheel ships only a Windows executable, so it cannot be used on Linux;
//! - unblob and cve-bin-tool from PyPI in `target/bench/venv`;
//! - the Debian helper programs both call (squashfs-tools, sleuthkit, p7zip, ...), with apt-get;
//! - a stand-in for `sasquatch` (not packaged anywhere reachable) that calls Debian's `unsquashfs`;
//! - for cve-bin-tool, which refuses to run offline without a CVE database, an empty database made
//!   with its own schema under `target/bench/home` (the vuln bench fills its own under
//!   `target/bench/home-vuln` instead, see `vuln.rs`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::tools::install_apt;
use crate::util::run;

/// The pinned versions.
pub(crate) const BINWALK_VERSION: &str = "3.1.0";
pub(crate) const PYTHON_PACKAGES: &[&str] = &["cve-bin-tool==3.4", "unblob==26.6.4"];

/// Debian packages (package, a file it installs) the peers need: binwalk's and unblob's helper
/// programs, `unsquashfs` for the squashfs comparison, and the headers binwalk builds against.
const APT_PACKAGES: &[(&str, &str)] = &[
    ("squashfs-tools", "/usr/bin/unsquashfs"),
    ("p7zip-full", "/usr/bin/7z"),
    ("lz4", "/usr/bin/lz4"),
    ("lzop", "/usr/bin/lzop"),
    ("unar", "/usr/bin/unar"),
    ("android-sdk-libsparse-utils", "/usr/bin/simg2img"),
    ("sleuthkit", "/usr/bin/tsk_recover"),
    ("erofs-utils", "/usr/bin/fsck.erofs"),
    ("lziprecover", "/usr/bin/lziprecover"),
    ("partclone", "/usr/sbin/partclone.extfs"),
    ("pkg-config", "/usr/bin/pkg-config"),
    ("libfontconfig1-dev", "/usr/include/fontconfig/fontconfig.h"),
    ("liblzma-dev", "/usr/include/lzma.h"),
    ("libbz2-dev", "/usr/include/bzlib.h"),
];

/// Forwards to `unsquashfs`, dropping the flags only sasquatch knows; enough for the standard
/// little-endian squashfs 4 the corpus uses (BASELINES.md documents the same stand-in).
const SASQUATCH: &str = r#"#!/usr/bin/env python3
import os, sys   # stand-in for sasquatch: forward to unsquashfs without sasquatch-only flags
os.execvp("unsquashfs", ["unsquashfs"] + [a for a in sys.argv[1:] if a not in ("-le", "-be", "-no-exit-code")])
"#;

/// Gives cve-bin-tool an empty CVE database with its own schema (one placeholder row, since an
/// empty table means "never updated" to it). Every statement is idempotent.
const CVE_DB_PY: &str = r#"
import sqlite3
from cve_bin_tool.cvedb import CVEDB
db = CVEDB(); db.init_database()
c = sqlite3.connect(db.dbpath)
c.execute("insert or ignore into cve_severity values('PLACEHOLDER-0000-0000','NONE','placeholder',0,3,'','NONE','2024-01-01')")
c.commit()
"#;

/// A freshly time-stamped, empty `SQLite` version map in cve-bin-tool's cache (else its `SQLite`
/// checker downloads one from sqlite.org when imported). Rerun on every bench so the time stamp
/// stays fresh; every statement is idempotent.
const VERSION_MAP_PY: &str = r#"
import sqlite3, time
from pathlib import Path
cache = Path.home() / ".cache" / "cve-bin-tool"
cache.mkdir(parents=True, exist_ok=True)
v = sqlite3.connect(str(cache / "version_map.db"))
v.execute("CREATE TABLE IF NOT EXISTS sqlite(version TEXT, sourceId TEXT PRIMARY KEY)")
v.execute("CREATE TABLE IF NOT EXISTS latest_update_sqlite(datestamp DATETIME PRIMARY KEY)")
v.execute("DELETE FROM latest_update_sqlite"); v.execute("INSERT INTO latest_update_sqlite VALUES (?)", (time.time(),))
v.commit()
"#;

/// Where the peer tools live, and the environment they run in.
#[derive(Debug, Clone)]
pub(crate) struct Peers {
    /// `target/bench`.
    pub(crate) base: PathBuf,
}

impl Peers {
    pub(crate) fn new(base: &Path) -> Self {
        Self {
            base: base.to_path_buf(),
        }
    }

    pub(crate) fn cargo_bin(&self) -> PathBuf {
        self.base.join("cargo/bin")
    }

    pub(crate) fn venv_bin(&self) -> PathBuf {
        self.base.join("venv/bin")
    }

    fn helper_bin(&self) -> PathBuf {
        self.base.join("bin")
    }

    pub(crate) fn home(&self) -> PathBuf {
        self.base.join("home")
    }

    /// `PATH` with the stand-ins, the venv and the cargo root first, and `HOME` under
    /// `target/bench` so cve-bin-tool's caches never touch the user's home.
    pub(crate) fn env(&self) -> Vec<(String, OsString)> {
        self.env_with_home(&self.home())
    }

    /// [`Self::env`] with another `HOME` under `target/bench`: cve-bin-tool keeps its database
    /// in `$HOME/.cache/cve-bin-tool`, so a bench that fills one (vuln) uses its own home and
    /// leaves the empty one the scan bench relies on alone.
    pub(crate) fn env_with_home(&self, home: &Path) -> Vec<(String, OsString)> {
        let inherited = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![self.helper_bin(), self.venv_bin(), self.cargo_bin()];
        dirs.extend(std::env::split_paths(&inherited));
        let path = std::env::join_paths(dirs).unwrap_or(inherited);
        vec![
            ("PATH".to_owned(), path),
            ("HOME".to_owned(), home.as_os_str().to_owned()),
        ]
    }

    /// The Debian packages (apt-get when root and missing, else the exact command).
    pub(crate) fn ensure_apt() -> Result<(), String> {
        install_apt(APT_PACKAGES, "the benchmarks' peer tools")
    }

    /// binwalk v3 from crates.io, unless that version is already in the cargo root. Checking
    /// cargo's own install record avoids a registry round trip on every run.
    pub(crate) fn ensure_binwalk(&self) -> Result<PathBuf, String> {
        let root = self.base.join("cargo");
        let binary = self.cargo_bin().join("binwalk");
        let record = std::fs::read_to_string(root.join(".crates.toml")).unwrap_or_default();
        let installed = record.contains(&format!("\"binwalk {BINWALK_VERSION} "));
        if !(installed && binary.exists()) {
            eprintln!("installing binwalk {BINWALK_VERSION} from crates.io (several minutes)");
            let root_text = root.to_string_lossy().into_owned();
            run(
                "cargo",
                &[
                    "install",
                    "binwalk",
                    "--locked",
                    "--version",
                    BINWALK_VERSION,
                    "--root",
                    &root_text,
                ],
            )
            .map_err(|err| {
                format!(
                    "{err}\n\nhint: binwalk needs `pkg-config libfontconfig1-dev liblzma-dev libbz2-dev`; by hand: `cargo install binwalk --locked --version {BINWALK_VERSION} --root {root_text}`"
                )
            })?;
        }
        self.ensure_sasquatch()?;
        Ok(binary)
    }

    /// unblob and cve-bin-tool from PyPI in the bench venv, unless both pins are already there.
    pub(crate) fn ensure_python(&self) -> Result<(), String> {
        let venv = self.base.join("venv");
        let python = self.venv_bin().join("python");
        if !python.exists() {
            run("python3", &["-m", "venv", &venv.to_string_lossy()]).map_err(|err| {
                format!(
                    "{err}\n\nhint: install Python's venv module: `apt-get install -y python3-venv`"
                )
            })?;
        }
        let pip = self.venv_bin().join("pip");
        let pip_text = pip.to_string_lossy().into_owned();
        let frozen = std::process::Command::new(&pip)
            .args(["list", "--format=freeze", "--disable-pip-version-check"])
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).to_lowercase())
            .unwrap_or_default();
        let missing: Vec<&str> = PYTHON_PACKAGES
            .iter()
            .copied()
            .filter(|pin| !frozen.lines().any(|line| line.trim() == pin.to_lowercase()))
            .collect();
        if !missing.is_empty() {
            let mut args = vec!["install", "--quiet", "--disable-pip-version-check"];
            args.extend_from_slice(PYTHON_PACKAGES);
            run(&pip_text, &args).map_err(|err| {
                format!(
                    "{err}\n\nhint: by hand: `{pip_text} install {}`",
                    PYTHON_PACKAGES.join(" ")
                )
            })?;
        }
        self.ensure_cve_database()
    }

    fn ensure_sasquatch(&self) -> Result<(), String> {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = self.helper_bin();
        std::fs::create_dir_all(&dir)
            .map_err(|err| format!("creating {}: {err}", dir.display()))?;
        let script = dir.join("sasquatch");
        if std::fs::read_to_string(&script).ok().as_deref() != Some(SASQUATCH) {
            std::fs::write(&script, SASQUATCH)
                .map_err(|err| format!("writing {}: {err}", script.display()))?;
        }
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
            .map_err(|err| format!("making {} executable: {err}", script.display()))?;
        // binwalk calls the big-endian variant by this name.
        let link = dir.join("sasquatch-v4be");
        if std::fs::read_link(&link).is_err() {
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink("sasquatch", &link)
                .map_err(|err| format!("linking {}: {err}", link.display()))?;
        }
        Ok(())
    }

    fn ensure_cve_database(&self) -> Result<(), String> {
        let home = self.home();
        self.python_snippet(&home, CVE_DB_PY)?;
        self.ensure_version_map(&home)
    }

    /// cve-bin-tool's `SQLite` version map under `home` (see [`VERSION_MAP_PY`]); needed before
    /// every offline run of cve-bin-tool with that home.
    pub(crate) fn ensure_version_map(&self, home: &Path) -> Result<(), String> {
        self.python_snippet(home, VERSION_MAP_PY)
    }

    fn python_snippet(&self, home: &Path, code: &str) -> Result<(), String> {
        let cache = home.join(".cache/cve-bin-tool");
        std::fs::create_dir_all(&cache)
            .map_err(|err| format!("creating {}: {err}", cache.display()))?;
        let python = self.venv_bin().join("python");
        let status = std::process::Command::new(&python)
            .args(["-c", code])
            .envs(self.env_with_home(home))
            .stdout(std::process::Stdio::null())
            .status()
            .map_err(|err| format!("could not start {}: {err}", python.display()))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!(
                "preparing cve-bin-tool's offline cache under {} failed ({status})",
                cache.display()
            ))
        }
    }
}
