//! Each image's truth, in the shared corpus's `truth.json` format (`fw-corpus-truth/1`, read by
//! `../shared/corpus/score.py`), derived from the packages' own control data, never by hand:
//!
//! - one component per upstream product and release: the binary packages of one Debian source that
//!   ship one product are merged (`libssl3t64` + `openssl` -> `openssl`), a source that ships
//!   several products is split by the recipe's product table (`wpa` -> `hostapd`, `wpa_supplicant`);
//! - a package counts only when a file it left in the image is code (an ELF file, or the kernel);
//!   packages that left only data, configuration or scripts are listed under `not_scored`, and so
//!   are the sources a package's `Built-Using` says it linked statically (not checked in the binary);
//! - the version is the upstream release of the *source* version ([`crate::debian::upstream_version`]);
//!   `version_aliases` hold other spellings (`1.37` for `1.37.0`, `9.2` for `9.2p1`, the part
//!   before a `+` or `~`);
//! - the name is the product table's, else the source name less a trailing version number; the
//!   aliases are the Debian source and binary package names, the CPE product and the table's.
//!
//! Beside the truth, each component records whether its code states its release at all (the
//! version, or an alias, as a string not run into other digits): the exact-release evidence that
//! bounds what any detector reading the binaries can reach.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use super::recipe::Recipe;
use crate::debian::upstream_version;

/// A package as it ended up in an image.
#[derive(Debug, Clone)]
pub(crate) struct Installed {
    pub(crate) package: String,
    pub(crate) version: String,
    pub(crate) architecture: String,
    pub(crate) source: String,
    pub(crate) source_version: String,
    pub(crate) built_using: Vec<(String, String)>,
    /// Whether this is the kernel (its one file is code whatever its format).
    pub(crate) kernel: bool,
    /// Its files in the image: (location as truth names it, the staged file, is it code).
    pub(crate) files: Vec<(String, PathBuf, bool)>,
}

/// One truth component under construction.
#[derive(Debug, Default)]
struct Component {
    name: String,
    version: String,
    aliases: BTreeSet<String>,
    cpe: Option<String>,
    source: String,
    source_version: String,
    packages: BTreeMap<String, (String, String)>,
    files: BTreeSet<String>,
    staged: Vec<PathBuf>,
    kernel: bool,
}

/// The truth of one image, and per component whether its release is stated in its code.
pub(crate) fn truth(recipe: &Recipe, image: &Value, installed: &[Installed]) -> Value {
    let mut components: BTreeMap<(String, String), Component> = BTreeMap::new();
    let mut not_scored = Vec::new();
    for package in installed {
        let code: Vec<&(String, PathBuf, bool)> = package
            .files
            .iter()
            .filter(|(_, _, code)| *code || package.kernel)
            .collect();
        if code.is_empty() {
            not_scored.push(json!({
                "package": package.package,
                "version": package.version,
                "reason": "no code left in the image (data, configuration or scripts only)",
            }));
            continue;
        }
        let product = recipe.product_for(&package.source, &package.package);
        let name = product.map_or_else(
            || default_name(&package.source),
            |product| product.name.clone(),
        );
        // A kernel's release is its binary package's version. The signed kernels of amd64, arm64
        // and i386 come from a template source (`linux-signed-amd64 5.10.223+1`) whose version
        // only wraps the kernel's: the binary package `linux-image-5.10.0-32-cloud-amd64
        // 5.10.223-1` is built from `linux 5.10.223-1`, and its vmlinuz says "Debian 5.10.223-1".
        let source_version = if package.kernel {
            &package.version
        } else {
            &package.source_version
        };
        let version = upstream_version(source_version);
        let component = components
            .entry((name.clone(), version.clone()))
            .or_insert_with(|| Component {
                name: name.clone(),
                version: version.clone(),
                source: package.source.clone(),
                source_version: source_version.clone(),
                ..Component::default()
            });
        if let Some(product) = product {
            component.aliases.extend(product.aliases.iter().cloned());
            if let Some(cpe) = &product.cpe {
                component.cpe = Some(cpe.clone());
                if let Some((_, cpe_product)) = cpe.split_once(':') {
                    component.aliases.insert(cpe_product.to_owned());
                }
            }
        }
        component.aliases.insert(package.source.clone());
        component.aliases.insert(package.package.clone());
        component.kernel |= package.kernel;
        component.packages.insert(
            package.package.clone(),
            (package.version.clone(), package.architecture.clone()),
        );
        for (location, staged, _) in code {
            component.files.insert(location.clone());
            component.staged.push(staged.clone());
        }
        for (source, version) in &package.built_using {
            not_scored.push(json!({
                "source": source,
                "version": version,
                "embedded_in": package.package,
                "reason": "statically linked according to Built-Using; not checked in the binary",
            }));
        }
    }

    let mut out = Vec::new();
    for component in components.into_values() {
        let mut aliases: Vec<String> = component
            .aliases
            .into_iter()
            .filter(|alias| !alias.eq_ignore_ascii_case(&component.name))
            .collect();
        aliases.sort();
        let mut version_aliases = version_aliases(&component.version);
        let mut version_notes = Vec::new();
        for alias in recipe.version_alias.iter().filter(|alias| {
            alias.source == component.source && alias.version == component.source_version
        }) {
            version_aliases.push(alias.alias.clone());
            version_notes.push(format!("{}: {}", alias.alias, alias.reason));
        }
        let mut wanted: Vec<String> = vec![component.version.clone()];
        wanted.extend(version_aliases.iter().cloned());
        let evidence = release_evidence(&component.staged, &wanted, component.kernel);
        out.push(json!({
            "name": component.name,
            "aliases": aliases,
            "version": component.version,
            "version_aliases": version_aliases,
            "version_notes": version_notes,
            "debian_source": component.source,
            "debian_version": component.source_version,
            "debian_packages": component.packages.iter().map(|(package, (version, arch))| json!({
                "package": package, "version": version, "architecture": arch,
            })).collect::<Vec<_>>(),
            "cpe": component.cpe.as_ref().map(|cpe| format!("cpe:2.3:a:{cpe}:{}:*:*:*:*:*:*:*", component.version)),
            "embedded": false,
            "files": component.files,
            "release_evidence": evidence,
        }));
    }
    json!({
        "format": "fw-corpus-truth/1",
        "image": image,
        "status_db": Value::Null,
        "components": out,
        "not_scored": not_scored,
    })
}

/// A source without a product entry: its name, less a trailing version number that a dot or a
/// hyphen marks as one (`lua5.4` -> `lua`, `libevent-2.1` -> `libevent`, `libtasn1-6` ->
/// `libtasn1`); plain trailing digits are part of the name (`pcre2`, `lz4`, `nghttp3`).
pub(crate) fn default_name(source: &str) -> String {
    let bytes = source.as_bytes();
    let digits_from = |end: usize| {
        let mut start = end;
        while start > 0 && (bytes[start - 1].is_ascii_digit() || bytes[start - 1] == b'.') {
            start -= 1;
        }
        start
    };
    let start = digits_from(bytes.len());
    let tail = &source[start..];
    let stem = &source[..start];
    let trimmed = if tail.contains('.') && tail.starts_with(|c: char| c.is_ascii_digit()) {
        stem.trim_end_matches('-')
    } else if let Some(stem) = stem.strip_suffix('-')
        && !tail.is_empty()
    {
        stem
    } else {
        source
    };
    if trimmed.len() >= 2 {
        trimmed.to_owned()
    } else {
        source.to_owned()
    }
}

/// Other spellings of an upstream version a binary may state.
pub(crate) fn version_aliases(version: &str) -> Vec<String> {
    let mut out = BTreeSet::new();
    // `1.37.0` is announced as `1.37` as often as not.
    if let Some(short) = version.strip_suffix(".0")
        && short.contains('.')
    {
        out.insert(short.to_owned());
    }
    // OpenSSH-style portable releases: `9.2p1` -> `9.2`.
    if let Some((base, patch)) = version.rsplit_once('p')
        && !patch.is_empty()
        && patch.bytes().all(|b| b.is_ascii_digit())
        && base.contains('.')
        && base.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    {
        out.insert(base.to_owned());
    }
    // Snapshots and pre-releases: the release before `+` or `~`, and `~` spelt as upstream does.
    if let Some(at) = version.find(['+', '~'])
        && at > 0
    {
        out.insert(version[..at].to_owned());
    }
    if version.contains('~') {
        out.insert(version.replace('~', "-"));
        out.insert(version.replace('~', ""));
    }
    out.remove(version);
    out.into_iter().collect()
}

/// Whether any of `files` states one of `versions` as a release string; the kernel's compressed
/// payload is inflated first (with Debian's gzip, xz, zstd, lz4 and lzop).
fn release_evidence(files: &[PathBuf], versions: &[String], kernel: bool) -> Value {
    for file in files {
        let Ok(bytes) = std::fs::read(file) else {
            continue;
        };
        let mut blobs = vec![bytes];
        if kernel {
            let payloads = inflate_payloads(&blobs[0]);
            blobs.extend(payloads);
        }
        for blob in &blobs {
            for version in versions {
                if let Some(offset) = find_release(blob, version.as_bytes()) {
                    let start = offset.saturating_sub(24);
                    let end = (offset + version.len() + 24).min(blob.len());
                    let context: String = blob[start..end]
                        .iter()
                        .map(|&b| {
                            if b.is_ascii_graphic() || b == b' ' {
                                b as char
                            } else {
                                '.'
                            }
                        })
                        .collect();
                    return json!({
                        "found": true,
                        "file": file.file_name().map(|n| n.to_string_lossy().into_owned()),
                        "string": version,
                        "context": context,
                    });
                }
            }
        }
    }
    json!({ "found": false })
}

/// The first place `version` occurs as a whole release: not run into other digits (`1.2` is not
/// found in `1.2.13` or `11.2`), not a printf width (`%4.0f`), not followed by a letter (`4.0fns`),
/// not an ELF symbol-version name (`LIBPCI_3.13`, `GLIBC_2.41`: an ABI tag, never a release), and
/// ended as text ends: by a string's NUL, white space or punctuation, not by a binary byte
/// (`$CD2.2\xf2` in a flite voice's data is no release).
pub(crate) fn find_release(haystack: &[u8], version: &[u8]) -> Option<usize> {
    if version.is_empty() || haystack.len() < version.len() {
        return None;
    }
    let mut from = 0;
    while let Some(found) = haystack[from..]
        .windows(version.len())
        .position(|window| window == version)
    {
        let at = from + found;
        let before = at.checked_sub(1).map(|i| haystack[i]);
        let after = haystack.get(at + version.len()).copied();
        let after2 = haystack.get(at + version.len() + 1).copied();
        let bad_before = before.is_some_and(|b| b.is_ascii_digit() || b == b'.' || b == b'%')
            || (before == Some(b'_') && symbol_version_prefix(&haystack[..at - 1]));
        let bad_after = after.is_some_and(|b| {
            b.is_ascii_alphanumeric()
                || !(b == 0 || b.is_ascii_graphic() || b.is_ascii_whitespace())
        }) || (after == Some(b'.') && after2.is_some_and(|b| b.is_ascii_digit()));
        if !bad_before && !bad_after {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Whether `text` ends in an ELF symbol-version name's prefix: upper-case letters, digits and
/// `_`, starting with a letter (`LIBPCI`, `NCURSES6_TINFO`).
fn symbol_version_prefix(text: &[u8]) -> bool {
    let run = text
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || **b == b'_')
        .count();
    run >= 2
        && text[text.len() - run..]
            .first()
            .is_some_and(u8::is_ascii_uppercase)
}

/// Every compressed stream a kernel image carries, inflated by the matching Debian tool (the first
/// hit of each magic; trailing data after the stream is expected and ignored).
fn inflate_payloads(image: &[u8]) -> Vec<Vec<u8>> {
    const MAGICS: &[(&[u8], &str)] = &[
        (&[0x1f, 0x8b, 0x08], "gzip"),
        (&[0xfd, b'7', b'z', b'X', b'Z', 0x00], "xz"),
        (&[0x28, 0xb5, 0x2f, 0xfd], "zstd"),
        (&[0x02, 0x21, 0x4c, 0x18], "lz4"),
        (&[0x89, b'L', b'Z', b'O'], "lzop"),
    ];
    let mut out = Vec::new();
    for (magic, tool) in MAGICS {
        // A decompressor stub holds its format's magic as a constant: try the first few hits.
        let hits = image
            .windows(magic.len())
            .enumerate()
            .filter(|(_, window)| window == magic)
            .map(|(at, _)| at)
            .take(8);
        for at in hits {
            if let Some(payload) = inflate(tool, &image[at..]) {
                out.push(payload);
                break;
            }
        }
    }
    out
}

/// `TOOL -d -c` over `input`; what it wrote before any error about trailing data, when that is
/// more than a few bytes.
fn inflate(tool: &str, input: &[u8]) -> Option<Vec<u8>> {
    let mut child = Command::new(tool)
        .args(["-d", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let input = input.to_vec();
    let stdin = child.stdin.take();
    let writer = std::thread::spawn(move || {
        if let Some(mut stdin) = stdin {
            use std::io::Write as _;
            let _ = stdin.write_all(&input);
        }
    });
    let output = child.wait_with_output().ok();
    let _ = writer.join();
    output
        .map(|output| output.stdout)
        .filter(|stdout| stdout.len() > 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_strings_stand_alone() {
        assert_eq!(find_release(b"OpenSSL 3.5.4 30 Sep", b"3.5.4"), Some(8));
        assert_eq!(find_release(b"zlib 1.2.13", b"1.2"), None);
        assert_eq!(find_release(b"v11.2", b"1.2"), None);
        assert_eq!(find_release(b"GLIBC_2.41\0", b"2.41"), None);
        assert_eq!(find_release(b"NCURSES6_TINFO_6.2\0", b"6.2"), None);
        assert_eq!(
            find_release(b"SSH-2.0-dropbear_2025.89\r", b"2025.89"),
            Some(17)
        );
        assert_eq!(find_release(b"%4.0fns", b"4.0"), None);
        assert_eq!(find_release(b"release 4.0f", b"4.0"), None);
        // Text ends at a NUL, white space or punctuation; a binary byte after it is data.
        assert_eq!(find_release(b"$CD2.2\xf2", b"2.2"), None);
        assert_eq!(find_release(b"\xef\x7f2.14\0", b"2.14"), Some(2));
        assert_eq!(find_release(b"v2.2\n", b"2.2"), Some(1));
        assert_eq!(find_release(b"2.2", b"2.2"), Some(0));
        assert_eq!(find_release(b"(Debian 14.2.0-19)", b"14.2.0"), Some(8));
        assert_eq!(find_release(b"1.2.13 and 1.2.", b"1.2"), Some(11));
        assert_eq!(find_release(b"x", b"1.2"), None);
    }

    #[test]
    fn version_spellings() {
        assert_eq!(version_aliases("1.37.0"), ["1.37"]);
        assert_eq!(version_aliases("9.2p1"), ["9.2"]);
        assert_eq!(version_aliases("2.0"), Vec::<String>::new());
        assert_eq!(version_aliases("1.0~rc1"), ["1.0", "1.0-rc1", "1.0rc1"]);
        assert_eq!(version_aliases("0.9.0+git20200101"), ["0.9.0"]);
        assert_eq!(version_aliases("2025.88"), Vec::<String>::new());
    }

    #[test]
    fn names_without_a_table_entry() {
        assert_eq!(default_name("lua5.4"), "lua");
        assert_eq!(default_name("libevent-2.1"), "libevent");
        assert_eq!(default_name("busybox"), "busybox");
        assert_eq!(default_name("libtasn1-6"), "libtasn1");
        assert_eq!(default_name("gcc-14"), "gcc");
        assert_eq!(default_name("pcre2"), "pcre2");
        assert_eq!(default_name("nghttp3"), "nghttp3");
        assert_eq!(default_name("i2c-tools"), "i2c-tools");
        assert_eq!(default_name("glib2.0"), "glib");
        assert_eq!(default_name("x264"), "x264");
    }

    #[test]
    fn truth_merges_sources_and_splits_products() {
        let recipe = Recipe::parse(
            &std::fs::read_to_string(crate::util::root().join("xtask/heldout.toml")).unwrap(),
        )
        .unwrap();
        let package = |name: &str,
                       source: &str,
                       version: &str,
                       files: Vec<(String, PathBuf, bool)>| Installed {
            package: name.into(),
            version: version.into(),
            architecture: "armel".into(),
            source: source.into(),
            source_version: version.into(),
            built_using: Vec::new(),
            kernel: false,
            files,
        };
        let code = |path: &str| vec![(path.to_owned(), PathBuf::from("/nonexistent"), true)];
        let installed = [
            package(
                "libssl3t64",
                "openssl",
                "3.5.4-1~deb13u1",
                code("/usr/lib/libssl.so.3"),
            ),
            package(
                "openssl",
                "openssl",
                "3.5.4-1~deb13u1",
                code("/usr/bin/openssl"),
            ),
            package("hostapd", "wpa", "2:2.10-24", code("/usr/sbin/hostapd")),
            package(
                "wpasupplicant",
                "wpa",
                "2:2.10-24",
                code("/usr/sbin/wpa_supplicant"),
            ),
            package(
                "openssl-provider-legacy",
                "openssl",
                "3.5.4-1~deb13u1",
                Vec::new(),
            ),
        ];
        let truth = truth(&recipe, &json!({"name": "t"}), &installed);
        let names: Vec<(&str, &str)> = truth["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].as_str().unwrap(), c["version"].as_str().unwrap()))
            .collect();
        assert_eq!(
            names,
            [
                ("hostapd", "2.10"),
                ("openssl", "3.5.4"),
                ("wpa_supplicant", "2.10")
            ]
        );
        let openssl = &truth["components"][1];
        assert_eq!(
            openssl["files"],
            json!(["/usr/bin/openssl", "/usr/lib/libssl.so.3"])
        );
        assert!(
            openssl["aliases"]
                .as_array()
                .unwrap()
                .contains(&json!("libssl3t64"))
        );
        assert_eq!(
            openssl["cpe"],
            "cpe:2.3:a:openssl:openssl:3.5.4:*:*:*:*:*:*:*"
        );
        assert_eq!(openssl["release_evidence"]["found"], false);
        assert_eq!(truth["not_scored"][0]["package"], "openssl-provider-legacy");
    }

    #[test]
    fn a_signed_kernel_takes_its_binary_packages_release() {
        let recipe = Recipe::parse(
            &std::fs::read_to_string(crate::util::root().join("xtask/heldout.toml")).unwrap(),
        )
        .unwrap();
        let kernel = Installed {
            package: "linux-image-5.10.0-32-cloud-amd64".into(),
            version: "5.10.223-1".into(),
            architecture: "amd64".into(),
            source: "linux-signed-amd64".into(),
            source_version: "5.10.223+1".into(),
            built_using: Vec::new(),
            kernel: true,
            files: vec![("kernel".into(), PathBuf::from("/nonexistent"), true)],
        };
        let truth = truth(&recipe, &json!({"name": "t"}), &[kernel]);
        let component = &truth["components"][0];
        assert_eq!(component["name"], "linux_kernel");
        assert_eq!(component["version"], "5.10.223");
        assert_eq!(component["debian_version"], "5.10.223-1");
    }
}
