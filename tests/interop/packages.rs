//! Package files and databases: the package managers' own tools build `.rpm` and `.deb` files
//! (Debian `rpm`'s `rpmbuild`, `dpkg-deb`) and rpm databases (`rpm --initdb`/`-i --justdb` for
//! SQLite, Berkeley DB's `db5.3_load` for the `Packages` hash database of rpm before 4.16), read them
//! back (`rpm -qp`, `rpm -qa`, `dpkg-deb --field`, `db5.3_dump`), and consign must name each package
//! the way they do, mapped to the upstream product it is a packaging of. Truncated inputs, which the
//! tools refuse, must give a diagnostic and no package.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The spec of a source package `curl` with one binary package, `libcurl`, holding one small file:
/// the binary package's name is not the product's, its SOURCERPM is.
const SPEC: &str = r"
Name: curl
Version: 7.88.1
Release: 3.fc40
Epoch: 2
Summary: interop fixture
License: curl
URL: https://curl.se/
%description
interop fixture
%package -n libcurl
Summary: interop fixture library
%description -n libcurl
interop fixture library
%install
mkdir -p %{buildroot}/usr/share/doc/libcurl
echo 'not a binary' > %{buildroot}/usr/share/doc/libcurl/README
%files -n libcurl
/usr/share/doc/libcurl/README
";

/// `rpmbuild -bb` of [`SPEC`] with the payload compressed by `payload` (`w9.gzdio`, `w19.zstdio`).
fn build_rpm(dir: &Path, payload: &str) -> PathBuf {
    let top = dir.join(format!("rpmbuild-{payload}"));
    std::fs::create_dir_all(top.join("SPECS")).unwrap();
    let spec = top.join("SPECS/curl.spec");
    std::fs::write(&spec, SPEC).unwrap();
    let output = Command::new("rpmbuild")
        .arg("--define")
        .arg(format!("_topdir {}", top.display()))
        .args([
            "--define",
            &format!("_binary_payload {payload}"),
            "--define",
            "debug_package %{nil}",
            "--define",
            "_build_id_links none",
            "-bb",
        ])
        .arg(&spec)
        .env("HOME", dir)
        .output()
        .unwrap_or_else(|err| {
            panic!(
                "could not run rpmbuild: {err}\n\nhint: run `cargo xtask tools` (it installs Debian's `rpm`)"
            )
        });
    assert!(
        output.status.success(),
        "rpmbuild failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let arch_dir = std::fs::read_dir(top.join("RPMS"))
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    std::fs::read_dir(arch_dir)
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.to_string_lossy().contains("libcurl-7.88.1"))
        .unwrap()
}

/// What a package manager tool prints for `args` (trimmed).
fn query(program: &str, args: &[&str], file: &Path) -> String {
    let output = Command::new(program).args(args).arg(file).output().unwrap();
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// `consign -v scan` of one file: (name, version, CPE) of every component, and what it printed
/// (diagnostics included).
fn scan(file: &Path, dir: &Path) -> (Vec<(String, String, String)>, String) {
    let sbom = dir.join(format!(
        "{}.cdx.json",
        file.file_name().unwrap().to_string_lossy()
    ));
    let output = Command::new(env!("CARGO_BIN_EXE_consign"))
        .args(["-v", "scan"])
        .arg(file)
        .arg("-o")
        .arg(&sbom)
        .output()
        .unwrap();
    assert!(output.status.success(), "consign scan failed: {output:?}");
    let bom: serde_json::Value = serde_json::from_slice(&std::fs::read(&sbom).unwrap()).unwrap();
    let field = |component: &serde_json::Value, key: &str| {
        component[key].as_str().unwrap_or_default().to_owned()
    };
    let components = bom["components"]
        .as_array()
        .map(|components| {
            components
                .iter()
                .map(|c| (field(c, "name"), field(c, "version"), field(c, "cpe")))
                .collect()
        })
        .unwrap_or_default();
    (
        components,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn rpm_files_are_named_as_rpm_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    for payload in ["w9.gzdio", "w6.xzdio", "w19.zstdio"] {
        let rpm = build_rpm(dir.path(), payload);
        assert_eq!(
            query(
                "rpm",
                &["-qp", "--qf", "%{NAME} %{VERSION} %{SOURCERPM}"],
                &rpm
            ),
            "libcurl 7.88.1 curl-7.88.1-3.fc40.src.rpm"
        );
        let (components, _) = scan(&rpm, dir.path());
        assert!(
            components.iter().any(|(name, version, cpe)| name == "curl"
                && version == "7.88.1"
                && cpe.contains(":haxx:curl:7.88.1:")),
            "{payload}: {components:?}"
        );
    }
}

#[test]
fn truncated_rpm_is_refused_by_rpm_and_named_by_no_one() {
    let dir = tempfile::tempdir().unwrap();
    let whole = std::fs::read(build_rpm(dir.path(), "w9.gzdio")).unwrap();
    // Cut inside the signature header: rpm cannot read it, and neither may consign pretend to.
    let cut = dir.path().join("cut.rpm");
    std::fs::write(&cut, &whole[..200]).unwrap();
    let rpm = Command::new("rpm")
        .args(["-qp"])
        .arg(&cut)
        .output()
        .unwrap();
    assert!(!rpm.status.success(), "rpm read a truncated package");
    let (components, stderr) = scan(&cut, dir.path());
    assert!(components.is_empty(), "{components:?}");
    assert!(
        stderr.contains("cut.rpm") && stderr.contains("rpm") && stderr.contains("0x"),
        "{stderr}"
    );
}

#[test]
fn deb_files_are_named_as_dpkg_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(root.join("usr/share/doc/libcurl4")).unwrap();
    std::fs::write(root.join("usr/share/doc/libcurl4/README"), "not a binary\n").unwrap();
    std::fs::write(
        root.join("DEBIAN/control"),
        "Package: libcurl4\nSource: curl (7.88.1-10+deb12u15)\nVersion: 7.88.1-10+deb12u15+b1\nArchitecture: all\nMaintainer: interop <interop@example.org>\nDescription: interop fixture\n",
    )
    .unwrap();
    for compression in ["xz", "gzip", "zstd"] {
        let deb = dir.path().join(format!("libcurl4-{compression}.deb"));
        let output = Command::new("dpkg-deb")
            .args(["--root-owner-group", &format!("-Z{compression}"), "--build"])
            .arg(&root)
            .arg(&deb)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "dpkg-deb --build failed: {output:?}"
        );
        assert_eq!(
            query("dpkg-deb", &["--field"], &deb).lines().next(),
            Some("Package: libcurl4")
        );
        let (components, _) = scan(&deb, dir.path());
        assert!(
            components
                .iter()
                .any(|(name, version, _)| name == "curl" && version == "7.88.1"),
            "{compression}: {components:?}"
        );
    }
}

/// `rpm --dbpath DIR ARGS`, asserting success; its standard output.
fn rpm_db(db: &Path, args: &[&str], files: &[&Path]) -> String {
    let output = Command::new("rpm")
        .arg("--dbpath")
        .arg(db)
        .args(args)
        .args(files)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "rpm {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// A tar image at `image` holding `root`'s `var/lib/rpm/FILE`.
fn tar_database(root: &Path, file: &str, image: &Path) -> PathBuf {
    let status = Command::new("tar")
        .arg("-C")
        .arg(root)
        .arg("-cf")
        .arg(image)
        .arg(format!("var/lib/rpm/{file}"))
        .status()
        .unwrap();
    assert!(status.success(), "tar failed: {status}");
    image.to_owned()
}

/// [`SPEC`]'s `libcurl` package, built and installed with `rpm --justdb` into a new SQLite
/// database at `db`.
fn install_into_database(dir: &Path, db: &Path) {
    let rpm = build_rpm(dir, "w9.gzdio");
    std::fs::create_dir_all(db).unwrap();
    rpm_db(db, &["--initdb"], &[]);
    let justdb = [
        "-i",
        "--justdb",
        "--nodeps",
        "--noscripts",
        "--ignorearch",
        "--ignoreos",
    ];
    rpm_db(db, &justdb, &[&rpm]);
}

/// `consign scan` of `image` names curl 7.88.1.
fn assert_names_curl(image: &Path, dir: &Path) {
    let (components, stderr) = scan(image, dir);
    assert!(
        components
            .iter()
            .any(|(name, version, _)| name == "curl" && version == "7.88.1"),
        "{components:?}\n{stderr}"
    );
}

#[test]
fn rpm_database_is_read_as_rpm_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("rootfs");
    let db = root.join("var/lib/rpm");
    install_into_database(dir.path(), &db);
    assert_eq!(
        rpm_db(&db, &["-qa", "--qf", "%{NAME} %{VERSION}\n"], &[]).trim(),
        "libcurl 7.88.1"
    );
    // The database as an image holds it: a tar of the root file system.
    let image = tar_database(&root, "rpmdb.sqlite", &dir.path().join("rootfs.tar"));
    assert_names_curl(&image, dir.path());
    // Cut short, rpm refuses it and consign names nothing from it, with the place it stopped.
    let cut_root = dir.path().join("cut");
    std::fs::create_dir_all(cut_root.join("var/lib/rpm")).unwrap();
    let whole = std::fs::read(db.join("rpmdb.sqlite")).unwrap();
    std::fs::write(cut_root.join("var/lib/rpm/rpmdb.sqlite"), &whole[..4096]).unwrap();
    let refused = Command::new("rpm")
        .arg("--dbpath")
        .arg(cut_root.join("var/lib/rpm"))
        .args(["-qa"])
        .output()
        .unwrap();
    assert!(
        !refused.status.success() || refused.stdout.is_empty(),
        "rpm read packages from a truncated database"
    );
    let cut_image = tar_database(&cut_root, "rpmdb.sqlite", &dir.path().join("cut.tar"));
    let (components, stderr) = scan(&cut_image, dir.path());
    assert!(components.is_empty(), "{components:?}");
    assert!(
        stderr.contains("rpmdb.sqlite") && stderr.contains("sqlite"),
        "{stderr}"
    );
}

/// The header blobs of an `rpmdb.sqlite`, as (instance, blob), read by Python's `sqlite3`.
fn sqlite_blobs(database: &Path) -> Vec<(u32, Vec<u8>)> {
    let output = Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys\nfor hnum, blob in sqlite3.connect(sys.argv[1]).execute('select hnum, blob from Packages'):\n    print(hnum, blob.hex())",
        ])
        .arg(database)
        .output()
        .unwrap();
    assert!(output.status.success(), "python3 sqlite3: {output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let (hnum, hex) = line.split_once(' ').unwrap();
            let blob = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            (hnum.parse().unwrap(), blob)
        })
        .collect()
}

#[test]
fn berkeley_db_packages_are_read_as_db_dump_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite_db = dir.path().join("sqlite");
    install_into_database(dir.path(), &sqlite_db);
    let blobs = sqlite_blobs(&sqlite_db.join("rpmdb.sqlite"));
    assert_eq!(blobs.len(), 1);
    // rpm before 4.16 keeps the same headers in a Berkeley DB hash database, keyed by instance
    // number in the machine's byte order; db5.3_load writes one from its dump format.
    let mut dump =
        String::from("VERSION=3\nformat=bytevalue\ntype=hash\ndb_pagesize=4096\nHEADER=END\n");
    for (instance, blob) in &blobs {
        for bytes in [&instance.to_le_bytes()[..], blob] {
            dump.push(' ');
            for byte in bytes {
                write!(dump, "{byte:02x}").unwrap();
            }
            dump.push('\n');
        }
    }
    dump.push_str("DATA=END\n");
    let root = dir.path().join("rootfs");
    let db = root.join("var/lib/rpm");
    std::fs::create_dir_all(&db).unwrap();
    let input = dir.path().join("packages.dump");
    std::fs::write(&input, dump).unwrap();
    let load = Command::new("db5.3_load")
        .arg("-f")
        .arg(&input)
        .arg(db.join("Packages"))
        .output()
        .unwrap_or_else(|err| {
            panic!("could not run db5.3_load: {err}\n\nhint: run `cargo xtask tools` (it installs Debian's `db5.3-util`)")
        });
    assert!(load.status.success(), "db5.3_load: {load:?}");
    let dumped = query("db5.3_dump", &["-p"], &db.join("Packages"));
    assert_eq!(
        dumped.lines().filter(|line| line.starts_with(' ')).count(),
        2
    );
    let image = tar_database(&root, "Packages", &dir.path().join("bdb.tar"));
    assert_names_curl(&image, dir.path());
    // Cut before its overflow page, db5.3_dump fails and consign names nothing, saying where.
    let whole = std::fs::read(db.join("Packages")).unwrap();
    let cut_root = dir.path().join("cut-bdb");
    std::fs::create_dir_all(cut_root.join("var/lib/rpm")).unwrap();
    std::fs::write(
        cut_root.join("var/lib/rpm/Packages"),
        &whole[..whole.len() - 4096],
    )
    .unwrap();
    let refused = Command::new("db5.3_dump")
        .arg("-p")
        .arg(cut_root.join("var/lib/rpm/Packages"))
        .output()
        .unwrap();
    assert!(
        !refused.status.success(),
        "db5.3_dump read a truncated database"
    );
    let cut_image = tar_database(&cut_root, "Packages", &dir.path().join("cut-bdb.tar"));
    let (components, stderr) = scan(&cut_image, dir.path());
    assert!(components.is_empty(), "{components:?}");
    assert!(
        stderr.contains("Packages") && stderr.contains("berkeley db"),
        "{stderr}"
    );
}
