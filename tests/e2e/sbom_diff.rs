//! `consign sbom diff` between two real firmware releases: the corpus router image built from the
//! Debian 11 and Debian 12 arm64 binaries by `fixtures/sbom/releases/recipe.sh`. The versions the
//! diff must report are read from the Debian versions that recipe pins, not written here; and the
//! BSI TR-03183-2 profile check on both SBOMs finds no gap in what the knowledge base supplies.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;

use crate::support::{repo_root, run};

fn releases() -> PathBuf {
    repo_root().join("fixtures/sbom/releases")
}

const OLD: &str = "router-arm64-bullseye.cdx.json";
const NEW: &str = "router-arm64-bookworm.cdx.json";

/// The product consign names for each Debian binary package of the image whose upstream version
/// the scan reads from the binaries.
const PRODUCTS: &[(&str, &str)] = &[
    ("busybox", "busybox"),
    ("dropbear-bin", "dropbear"),
    ("zlib1g", "zlib"),
    ("dnsmasq-base", "dnsmasq"),
    // Debian renamed the library package with OpenSSL 3 (libssl1.1 -> libssl3); the product is
    // the same, so the diff must call it an upgrade, not a removal and an addition.
    ("libssl1.1", "openssl"),
    ("libssl3", "openssl"),
    ("libc6", "glibc"),
];

/// The upstream part of a Debian version: no epoch, no Debian revision, no repack suffix.
fn upstream(debian: &str) -> String {
    let no_epoch = debian.split_once(':').map_or(debian, |(_, rest)| rest);
    let no_revision = no_epoch.rsplit_once('-').map_or(no_epoch, |(up, _)| up);
    let cut = [".dfsg", "+dfsg", "+b"]
        .iter()
        .filter_map(|marker| no_revision.find(marker))
        .min()
        .unwrap_or(no_revision.len());
    no_revision[..cut].to_owned()
}

/// (product -> (bullseye version, bookworm version)), from the pins of the recipe.
fn pinned_upgrades() -> BTreeMap<&'static str, (String, String)> {
    let recipe = std::fs::read_to_string(releases().join("recipe.sh")).unwrap();
    let mut sides: BTreeMap<&str, (Option<String>, Option<String>)> = BTreeMap::new();
    for line in recipe.lines() {
        let mut words = line.split_whitespace();
        let (Some(suite), Some(path)) = (words.next(), words.next()) else {
            continue;
        };
        if suite != "bullseye" && suite != "bookworm" {
            continue;
        }
        let file = path.rsplit('/').next().unwrap();
        let mut parts = file.split('_');
        let (package, version) = (parts.next().unwrap(), parts.next().unwrap());
        let Some((_, product)) = PRODUCTS.iter().find(|(p, _)| *p == package) else {
            continue;
        };
        let entry = sides.entry(product).or_default();
        let slot = if suite == "bullseye" {
            &mut entry.0
        } else {
            &mut entry.1
        };
        *slot = Some(upstream(&version.replace("%3a", ":")));
    }
    let upgrades: BTreeMap<&str, (String, String)> = sides
        .into_iter()
        .map(|(product, (old, new))| (product, (old.unwrap(), new.unwrap())))
        .collect();
    assert_eq!(upgrades.len(), 6, "the recipe's pins changed: {upgrades:?}");
    upgrades
}

#[test]
fn upstream_versions_of_the_pins() {
    assert_eq!(upstream("1:1.30.1-6+b3"), "1.30.1");
    assert_eq!(upstream("1:1.2.11.dfsg-2+deb11u2"), "1.2.11");
    assert_eq!(upstream("1.1.1w-0+deb11u1"), "1.1.1w");
    assert_eq!(upstream("2.90-4~deb12u2"), "2.90");
    let upgrades = pinned_upgrades();
    assert_eq!(
        upgrades["busybox"],
        ("1.30.1".to_owned(), "1.35.0".to_owned())
    );
    assert_eq!(
        upgrades["openssl"],
        ("1.1.1w".to_owned(), "3.0.20".to_owned())
    );
}

#[test]
fn diff_of_two_debian_releases_lists_the_real_upgrades_in_text_json_and_markdown() {
    let upgrades = pinned_upgrades();
    let dir = releases();

    let text = run(&dir, &["sbom", "diff", OLD, NEW]);
    assert_eq!(text.code, 0, "{}{}", text.stdout, text.stderr);
    assert!(
        text.stdout
            .contains(&format!("upgraded ({})\n", upgrades.len())),
        "{}",
        text.stdout
    );
    for (product, (old, new)) in &upgrades {
        let line = format!("\n  {product} {old} -> {new}\n");
        assert!(text.stdout.contains(&line), "{line:?} in\n{}", text.stdout);
    }
    assert!(!text.stdout.contains("downgraded"), "{}", text.stdout);
    // Debian rebuilt libtomcrypt 1.18.2 (-5 -> -6): same release, other bytes, reported as such;
    // libgcc and the other components named without a version are listed apart.
    assert!(
        text.stdout
            .contains("hash changed at the same version (suspicious)"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("  libtomcrypt 1.18.2: other file hashes than before"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("other files, no version on either side"),
        "{}",
        text.stdout
    );

    let json = run(&dir, &["sbom", "diff", OLD, NEW, "--format", "json"]);
    assert_eq!(json.code, 0, "{}{}", json.stdout, json.stderr);
    let report: Value = serde_json::from_str(&json.stdout).unwrap();
    let diff = &report["diff"];
    let listed: BTreeMap<String, (String, String)> = diff["upgraded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| {
            let field = |side: &str, key: &str| change[side][key].as_str().unwrap().to_owned();
            assert_eq!(field("old", "name"), field("new", "name"));
            (
                field("old", "name"),
                (field("old", "version"), field("new", "version")),
            )
        })
        .collect();
    let want: BTreeMap<String, (String, String)> = upgrades
        .iter()
        .map(|(product, versions)| ((*product).to_owned(), versions.clone()))
        .collect();
    assert_eq!(listed, want);
    assert_eq!(diff["downgraded"], serde_json::json!([]));
    // The same-version changes are the rebuilds of GMP (6.2.1 in both), libtomcrypt and
    // libtommath (1.2.0, read from its file name); libgcc and the others the scan names without
    // a version changed too, listed apart.
    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|change| change["new"]["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(&diff["hash_changed"]),
        ["gmp", "libtomcrypt", "libtommath"]
    );
    assert!(
        names(&diff["unversioned_changed"]).contains(&"gcc".to_owned()),
        "{diff}"
    );
    // No product of the pins is reported as removed or added with a version.
    for side in ["added", "removed"] {
        for component in diff[side].as_array().unwrap() {
            let name = component["name"].as_str().unwrap();
            assert!(
                !want.contains_key(name) || component["version"].is_null(),
                "{side}: {component}"
            );
        }
    }

    let markdown = run(&dir, &["sbom", "diff", OLD, NEW, "--format", "markdown"]);
    assert_eq!(markdown.code, 0, "{}{}", markdown.stdout, markdown.stderr);
    assert!(
        markdown
            .stdout
            .starts_with(&format!("# SBOM diff: `{OLD}` to `{NEW}`")),
        "{}",
        markdown.stdout
    );
    assert!(
        markdown
            .stdout
            .contains(&format!("## upgraded ({})\n\n", upgrades.len())),
        "{}",
        markdown.stdout
    );
    for (product, (old, new)) in &upgrades {
        let line = format!("\n- {product} {old} -> {new}\n");
        assert!(
            markdown.stdout.contains(&line),
            "{line:?} in\n{}",
            markdown.stdout
        );
    }
}

#[test]
fn going_back_a_release_fails_on_downgrade() {
    let upgrades = pinned_upgrades();
    let dir = releases();
    let forward = run(&dir, &["sbom", "diff", OLD, NEW, "--fail-on", "downgrade"]);
    assert_eq!(forward.code, 0, "{}{}", forward.stdout, forward.stderr);
    let back = run(&dir, &["sbom", "diff", NEW, OLD, "--fail-on", "downgrade"]);
    assert_eq!(back.code, 1, "{}{}", back.stdout, back.stderr);
    assert!(
        back.stdout
            .contains(&format!("downgraded ({})\n", upgrades.len())),
        "{}",
        back.stdout
    );
    for (product, (old, new)) in &upgrades {
        let line = format!("\n  {product} {new} -> {old}\n");
        assert!(back.stdout.contains(&line), "{line:?} in\n{}", back.stdout);
    }
    assert!(!back.stdout.contains("upgraded"), "{}", back.stdout);
}

/// The bar: with no product file, the only required BSI gaps left are the manufacturer's
/// own facts. What the scan still misses is measured here too: components whose release the
/// binaries did not reveal have no version, a gap the profile puts on the component's supplier.
/// Every other fact of every component (creator, licence, hashes, file name, flags) is there.
#[test]
fn bsi_profile_gaps_of_both_releases_are_the_manufacturers_and_unknown_versions() {
    let dir = releases();
    for file in [OLD, NEW] {
        let bom: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap();
        let out = run(
            &dir,
            &[
                "sbom",
                "validate",
                file,
                "--profile",
                "bsi-tr-03183-2",
                "--format",
                "json",
            ],
        );
        assert_eq!(out.code, 1, "{file}: {}{}", out.stdout, out.stderr);
        let report: Value = serde_json::from_str(&out.stdout).unwrap();
        let gaps = report["profileGaps"].as_array().unwrap();
        let required = gaps.iter().filter(|gap| gap["requirement"] == "required");
        let mut manufacturer = BTreeSet::new();
        let mut unversioned = BTreeSet::new();
        for gap in required {
            let rule = gap["rule"].as_str().unwrap();
            let pointer = gap["pointer"].as_str().unwrap();
            if gap["source"] == "manufacturer" {
                manufacturer.insert((rule.to_owned(), pointer.to_owned()));
                continue;
            }
            // Anything else must be a component without a version.
            assert_eq!(rule, "bsi-tr-03183-2:5.2.2:version", "{file}: {gap}");
            let component = bom.pointer(pointer).unwrap();
            assert!(component["version"].is_null(), "{file}: {gap}");
            unversioned.insert(component["name"].as_str().unwrap().to_owned());
        }
        let want: BTreeSet<(String, String)> = [
            ("bsi-tr-03183-2:5.2.1:creator", "/metadata/manufacturer"),
            (
                "bsi-tr-03183-2:5.2.2:component-creator",
                "/metadata/component",
            ),
            ("bsi-tr-03183-2:5.2.2:version", "/metadata/component"),
            ("bsi-tr-03183-2:5.2.2:licence", "/metadata/component"),
        ]
        .iter()
        .map(|(rule, pointer)| ((*rule).to_owned(), (*pointer).to_owned()))
        .collect();
        assert_eq!(manufacturer, want, "{file}");
        // Every product of the pins has its version.
        for (_, product) in PRODUCTS {
            assert!(
                bom["components"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c["name"] == *product && c["version"].is_string()),
                "{file}: {product}"
            );
        }
        assert!(!unversioned.contains("busybox"), "{file}: {unversioned:?}");
    }
}
