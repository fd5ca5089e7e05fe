//! `consign unpack`: the text tree, JSON, exit codes, and the confined `-o DIR` writer.

use crate::support::{repo_root, run};

#[test]
fn unpack_lists_and_extracts_safely() {
    let dir = tempfile::tempdir().unwrap();
    let sample = repo_root().join("../shared/samples/dirtraversal.tar");
    let sample = sample.to_str().unwrap();
    let out = run(dir.path(), &["unpack", sample]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("dirtraversal.tar (276480 bytes)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("tar  "), "{}", out.stdout);
    assert!(out.stderr.contains("containers"), "{}", out.stderr);

    let out = run(
        dir.path(),
        &["unpack", sample, "-o", "x", "--format", "json"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["report"]["root"]["containers"][0]["format"], "tar");
    assert_eq!(json["written"]["refused"].as_array().unwrap().len(), 4);
    let readme = dir.path().join("x/tar@0x0/README.txt");
    assert!(readme.is_file());
    assert!(!dir.path().join("etc").exists());
    // Written with the member's modification time (`tar tv --utc --full-time` shows
    // 2021-09-05 15:22:08).
    let modified = std::fs::metadata(&readme).unwrap().modified().unwrap();
    let seconds = modified.duration_since(std::time::UNIX_EPOCH).unwrap();
    assert_eq!(seconds.as_secs(), 1_630_855_328);
}

#[test]
fn unpack_limits_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["unpack", "missing.bin"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("missing.bin"), "{}", out.stderr);
    let help = run(dir.path(), &["unpack", "--help"]);
    assert!(help.stdout.contains("Example"), "{}", help.stdout);
    assert!(help.stdout.contains("--max-ratio"));
    let sample = repo_root().join("../shared/samples/fact-uboot_uboot.image_with_header");
    let out = run(
        dir.path(),
        &["unpack", sample.to_str().unwrap(), "--max-ratio", "1"],
    );
    // The kernel is cut by the limit: the result is incomplete, exit 1.
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.contains("--max-ratio"), "{}", out.stdout);
    assert!(out.stderr.contains("INCOMPLETE"), "{}", out.stderr);
}

/// A zip of two stored members, the second marked encrypted (flag bit 0): one part of the input
/// cannot be read.
fn zip_with_an_encrypted_member() -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, flags) in [("plain.txt", 0u16), ("secret.txt", 1)] {
        let body = b"some text";
        let offset = out.len() as u32;
        out.extend(b"PK\x03\x04\x14\0");
        out.extend(flags.to_le_bytes());
        out.extend([0u8; 6]); // method 0 (stored), time, date
        out.extend(0u32.to_le_bytes()); // CRC not checked for encrypted data
        out.extend((body.len() as u32).to_le_bytes());
        out.extend((body.len() as u32).to_le_bytes());
        out.extend((name.len() as u16).to_le_bytes());
        out.extend([0, 0]);
        out.extend(name.as_bytes());
        out.extend(body);
        central.extend(b"PK\x01\x02\x14\x03\x14\0");
        central.extend(flags.to_le_bytes());
        central.extend([0u8; 6]);
        central.extend(0u32.to_le_bytes());
        central.extend((body.len() as u32).to_le_bytes());
        central.extend((body.len() as u32).to_le_bytes());
        central.extend((name.len() as u16).to_le_bytes());
        central.extend([0u8; 8]);
        central.extend((0o100_644u32 << 16).to_le_bytes());
        central.extend(offset.to_le_bytes());
        central.extend(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend(&central);
    out.extend(b"PK\x05\x06\0\0\0\0\x02\0\x02\0");
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend([0, 0]);
    out
}

/// The SBOM at `path` puts the firmware `firmware` in an `incomplete` composition and records a
/// cut whose text holds `cut`.
#[track_caller]
fn assert_sbom_records_a_cut(path: &std::path::Path, firmware: &str, cut: &str) {
    let sbom: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let incomplete = sbom["compositions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["aggregate"] == "incomplete")
        .unwrap();
    assert_eq!(incomplete["assemblies"][0], firmware);
    let properties = sbom["metadata"]["component"]["properties"]
        .as_array()
        .unwrap();
    assert!(
        properties.iter().any(
            |p| p["name"] == "consign:unpack:cut" && p["value"].as_str().unwrap().contains(cut)
        ),
        "{properties:#?}"
    );
}

/// A file that holds more version-string anchors than detection reads in a file of its size (here
/// 4 MiB of `OpenVPN `, whose every hit would hand the regex about 17 bytes of window per byte) is a
/// cut like an unpacking one: the scan says INCOMPLETE with the reason, the SBOM records the cut on
/// the firmware component, and the exit code is 1.
#[test]
fn a_file_detection_leaves_partly_unread_makes_the_scan_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("flood.bin"), b"OpenVPN ".repeat(1 << 19)).unwrap();
    let out = run(dir.path(), &["scan", "flood.bin", "-o", "flood.cdx.json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("INCOMPLETE: 1 part(s) not read (detection-limit)"),
        "{}",
        out.stderr
    );
    assert_sbom_records_a_cut(
        &dir.path().join("flood.cdx.json"),
        "firmware:flood.bin",
        "detection-limit",
    );

    // A real program's few hits are read in full: no cut.
    std::fs::write(
        dir.path().join("small.bin"),
        b"\0OpenVPN 2.6.3 x86_64-pc-linux-gnu [SSL (OpenSSL)]\0".repeat(100),
    )
    .unwrap();
    let out = run(dir.path(), &["scan", "small.bin", "-o", "small.cdx.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("INCOMPLETE"), "{}", out.stderr);
}

/// An incomplete result never looks complete: the summary says INCOMPLETE and what was not read,
/// the JSON report lists the cut, the SBOM marks the image `incomplete`, and the exit code is 1.
#[test]
fn incomplete_results_are_said_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fw.zip"), zip_with_an_encrypted_member()).unwrap();
    let out = run(dir.path(), &["unpack", "fw.zip"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("INCOMPLETE: 1 part(s) not read (unsupported)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("not read: fw.zip/zip@0x0"),
        "{}",
        out.stderr
    );
    let out = run(dir.path(), &["unpack", "fw.zip", "--format", "json"]);
    assert_eq!(out.code, 1);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let cut = &json["report"]["incomplete"][0];
    assert_eq!(cut["reason"], "unsupported");
    assert_eq!(cut["what"], "zip member `secret.txt` (encrypted)");

    let out = run(dir.path(), &["scan", "fw.zip", "-o", "fw.cdx.json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("INCOMPLETE"), "{}", out.stderr);
    assert_sbom_records_a_cut(
        &dir.path().join("fw.cdx.json"),
        "firmware:fw.zip",
        "secret.txt",
    );

    // The same image without the encrypted member is complete: exit 0.
    let mut whole = zip_with_an_encrypted_member();
    let flag = whole.windows(10).position(|w| w == b"secret.txt").unwrap();
    whole[flag - 24] = 0; // the local header's flag
    let central = whole.windows(10).rposition(|w| w == b"secret.txt").unwrap();
    whole[central - 38] = 0; // the central entry's flag
    std::fs::write(dir.path().join("whole.zip"), whole).unwrap();
    let out = run(dir.path(), &["unpack", "whole.zip"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("INCOMPLETE"), "{}", out.stderr);
}

#[test]
fn microcontroller_firmware_is_read_as_the_flash_it_writes() {
    // An excerpt of Debian's MicroPython for the BBC micro:bit, an Intel HEX file whose banner
    // is hexadecimal digits until it is decoded (`fixtures/unpack/mcu/recipe.sh`).
    let dir = tempfile::tempdir().unwrap();
    let fixtures = repo_root().join("fixtures/unpack/mcu");
    let found = scanned(dir.path(), &fixtures.join("microbit.hex"));
    assert!(
        found
            .iter()
            .any(|(name, version, _)| name == "micropython" && version == "1.9.2"),
        "{found:?}"
    );
    // A UF2 and an S-record file unpack to their flash regions, named by address, with the bytes
    // another decoder gives (the recipe's `.bin` files).
    for (file, format, region, expected) in [
        ("snek-board.uf2", "uf2", "0x00011200.bin", "snek-board.bin"),
        ("brickos.srec", "srec", "0x00008000.bin", "brickos.bin"),
    ] {
        let path = fixtures.join(file);
        let out = run(
            dir.path(),
            &["unpack", path.to_str().unwrap(), "-o", format],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(
            out.stdout.contains(&format!("  {format}  ")),
            "{}",
            out.stdout
        );
        let written = dir.path().join(format!("{format}/{format}@0x0/{region}"));
        assert_eq!(
            std::fs::read(&written).unwrap(),
            std::fs::read(fixtures.join(expected)).unwrap(),
            "{}",
            written.display()
        );
    }
}

#[test]
fn an_android_boot_image_names_its_kernel_and_android_release() {
    // Made by AOSP's mkbootimg (`fixtures/unpack/android/recipe.sh`): the kernel part states its
    // release, the ramdisk's build.prop Android's.
    let dir = tempfile::tempdir().unwrap();
    let found = scanned(
        dir.path(),
        &repo_root().join("fixtures/unpack/android/boot-v4.img"),
    );
    assert!(
        found.iter().any(|(name, version, cpe)| name == "android"
            && version == "14"
            && cpe == "cpe:2.3:o:google:android:14:*:*:*:*:*:*:*"),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|(name, version, _)| name == "linux_kernel" && version == "6.1.57"),
        "{found:?}"
    );
}

#[test]
fn an_erofs_partition_names_its_android_release() {
    // Made by mkfs.erofs with MicroLZMA clusters (`fixtures/unpack/erofs/recipe.sh`): the
    // system properties inside state Android's release.
    let dir = tempfile::tempdir().unwrap();
    let fixtures = repo_root().join("fixtures/unpack/erofs");
    let image = fixtures.join("lzma.img.gz");
    let found = scanned(dir.path(), &image);
    assert!(
        found.iter().any(|(name, version, cpe)| name == "android"
            && version == "14"
            && cpe == "cpe:2.3:o:google:android:14:*:*:*:*:*:*:*"),
        "{found:?}"
    );
    let sbom = std::fs::read_to_string(dir.path().join("sbom.json")).unwrap();
    assert!(
        sbom.contains("/erofs@0x0/system/build.prop"),
        "the release is read from the partition's build.prop"
    );
    // Carved out of a larger image, its files are written out as the recipe made them.
    let mut flash = vec![0xff; 0x3000];
    flash.extend(std::fs::read(fixtures.join("small-lz4.img")).unwrap());
    flash.extend(vec![0xff; 0x1000]);
    std::fs::write(dir.path().join("flash.bin"), &flash).unwrap();
    let out = run(dir.path(), &["unpack", "flash.bin", "-o", "out"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("erofs"), "{}", out.stdout);
    assert!(!out.stderr.contains("INCOMPLETE"), "{}", out.stderr);
    let prop = dir.path().join("out/erofs@0x3000/system/build.prop");
    assert_eq!(
        std::fs::read(&prop).unwrap(),
        b"ro.build.version.release=14\n",
        "{}",
        prop.display()
    );
}

#[test]
fn an_esp32_flash_image_is_read_partition_by_partition() {
    // A factory image as `esptool merge-bin` writes it: bootloader, partition table, two app
    // partitions and a LittleFS one (`fixtures/unpack/esp/make_flash.py`).
    let dir = tempfile::tempdir().unwrap();
    let image = repo_root().join("fixtures/unpack/esp/flash.bin.gz");
    let found = scanned(dir.path(), &image);
    assert!(
        found.iter().any(|(name, version, cpe)| name == "esp-idf"
            && version == "5.1.2"
            && cpe == "cpe:2.3:a:espressif:esp-idf:5.1.2:*:*:*:*:*:*:*"),
        "{found:?}"
    );
    // Each app partition's descriptor and the bootloader's state the release: each is read as
    // an image of its own.
    let sbom: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("sbom.json")).unwrap()).unwrap();
    let idf = sbom["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "esp-idf")
        .unwrap();
    let locations: Vec<&str> = idf["evidence"]["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["location"].as_str())
        .collect();
    for partition in ["bootloader", "factory", "ota_0"] {
        assert!(
            locations.iter().any(|location| location.contains(&format!(
                "/esp-flash@0x0/{partition}/esp-image@0x0/segment0-"
            ))),
            "{partition}: {locations:?}"
        );
    }
    // The partitions, named by label, with what the table says of each.
    let out = run(
        dir.path(),
        &["unpack", image.to_str().unwrap(), "-o", "flash"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    for listed in [
        "esp-flash  229376 bytes, 7 entries: ESP-IDF flash image: bootloader at 0x1000, partition \
         table at 0x8000 with MD5, 7 partitions: nvs (data/nvs, 16.0 KiB at 0x9000)",
        "factory (app/factory, 64.0 KiB at 0x10000), ota_0 (app/ota_0, 64.0 KiB at 0x20000), \
         storage (data/littlefs, 32.0 KiB at 0x30000)",
        "partitions that start past it are not in it: `coredump`",
        "esp-image  432 bytes, 2 entries: ESP32 application image `esp-demo-app` 2.3.1 (ESP-IDF \
         v5.1.2)",
        "esp-image  432 bytes, 2 entries: ESP32 application image `esp-demo-app` 2.4.0 (ESP-IDF \
         v5.1.2)",
        "esp-image  224 bytes, 2 entries: ESP32 bootloader image (ESP-IDF v5.1.2)",
    ] {
        assert!(out.stdout.contains(listed), "{listed}\n{}", out.stdout);
    }
    let factory = dir
        .path()
        .join("flash/gzip@0x0/decompressed.extracted/esp-flash@0x0/factory");
    assert_eq!(std::fs::read(&factory).unwrap().len(), 0x10000);
}

#[test]
fn a_littlefs_web_ui_names_the_libraries_it_serves() {
    // Made by littlefs-python (`fixtures/unpack/littlefs/make_images.py`): 512-byte blocks, the
    // jQuery build a CTZ skip-list of many blocks; and the same web UI in the LittleFS partition
    // of the ESP32 flash image.
    let dir = tempfile::tempdir().unwrap();
    for (image, inside) in [
        (
            "fixtures/unpack/littlefs/lfs-512.img.gz",
            "/littlefs@0x0/www/js/jquery-3.6.0.min.js",
        ),
        (
            "fixtures/unpack/esp/flash.bin.gz",
            "/esp-flash@0x0/storage/littlefs@0x0/www/js/jquery-3.6.0.min.js",
        ),
    ] {
        let found = scanned(dir.path(), &repo_root().join(image));
        assert!(
            found
                .iter()
                .any(|(name, version, _)| name == "jquery" && version == "3.6.0"),
            "{image}: {found:?}"
        );
        let sbom: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("sbom.json")).unwrap()).unwrap();
        let jquery = sbom["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "jquery")
            .unwrap();
        assert!(
            jquery["evidence"]["occurrences"]
                .as_array()
                .unwrap()
                .iter()
                .any(|o| o["location"].as_str().unwrap_or_default().ends_with(inside)),
            "{image}: {jquery}"
        );
    }
}

/// `consign scan IMAGE` in `dir`: each component's name, version and CPE (empty when absent).
#[test]
fn a_freebsd_ufs_image_names_the_packages_pkg_installed() {
    // Made by NetBSD's makefs (`fixtures/unpack/ufs/recipe.sh`): UFS2, big-endian as old Junos
    // images are, with FreeBSD pkg's database at `var/db/pkg/local.sqlite`.
    let dir = tempfile::tempdir().unwrap();
    let fixtures = repo_root().join("fixtures/unpack/ufs");
    let found = scanned(dir.path(), &fixtures.join("ufs2-be.img.gz"));
    // Named by their upstream releases (pkg's `3.0.12_2,1` is 3.0.12 with port revision and epoch).
    for (name, version) in [
        ("openssl", "3.0.12"),
        ("curl", "8.4.0"),
        ("lighttpd", "1.4.73"),
    ] {
        assert!(
            found.iter().any(|(n, v, _)| n == name && v == version),
            "{name} {version}: {found:?}"
        );
    }
    let sbom = std::fs::read_to_string(dir.path().join("sbom.json")).unwrap();
    assert!(
        sbom.contains("/ufs@0x0/var/db/pkg/local.sqlite"),
        "the packages are read from pkg's database"
    );
    // Carved out of a disk image (behind a partition table's 32 KiB), its files are written
    // out as the recipe made them.
    let image = std::fs::read(fixtures.join("ufs1-le.img.gz")).unwrap();
    let mut ufs = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&image[..]), &mut ufs).unwrap();
    let mut disk = vec![0; 0x8000];
    disk.extend(ufs);
    disk.extend(vec![0; 0x1000]);
    std::fs::write(dir.path().join("disk.img"), &disk).unwrap();
    let out = run(dir.path(), &["unpack", "disk.img", "-o", "out"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("ufs"), "{}", out.stdout);
    assert!(!out.stderr.contains("INCOMPLETE"), "{}", out.stderr);
    let motd = dir.path().join("out/ufs@0x8000/etc/motd");
    assert_eq!(
        std::fs::read(&motd).unwrap(),
        b"hello from consign\n",
        "{}",
        motd.display()
    );
}

#[test]
fn an_iso9660_installer_image_is_written_out_with_its_rock_ridge_names() {
    // Made by xorriso (`fixtures/unpack/iso9660/recipe.sh`), carved from behind 32 KiB of a
    // disk image: Rock Ridge's long names and symlinks, and the El Torito boot image.
    let dir = tempfile::tempdir().unwrap();
    let image =
        std::fs::read(repo_root().join("fixtures/unpack/iso9660/rr-joliet.iso.gz")).unwrap();
    let mut iso = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&image[..]), &mut iso).unwrap();
    let mut disk = vec![0; 0x8000];
    disk.extend(iso);
    std::fs::write(dir.path().join("disk.img"), &disk).unwrap();
    let out = run(dir.path(), &["unpack", "disk.img", "-o", "out"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("iso9660"), "{}", out.stdout);
    assert!(!out.stderr.contains("INCOMPLETE"), "{}", out.stderr);
    let root = dir.path().join("out/iso9660@0x8000");
    assert_eq!(
        std::fs::read(root.join("etc/A long file name with several.dots.txt")).unwrap(),
        b"a long name\n"
    );
    assert_eq!(
        std::fs::read_link(root.join("bin/motd-link")).unwrap(),
        std::path::Path::new("../etc/motd")
    );
    assert_eq!(
        std::fs::read(root.join("[boot]/entry-1.img"))
            .unwrap()
            .len(),
        2048
    );
}

fn scanned(dir: &std::path::Path, image: &std::path::Path) -> Vec<(String, String, String)> {
    let out = run(dir, &["scan", image.to_str().unwrap(), "-o", "sbom.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let sbom: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("sbom.json")).unwrap()).unwrap();
    let text = |value: &serde_json::Value| value.as_str().unwrap_or_default().to_owned();
    sbom["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (text(&c["name"]), text(&c["version"]), text(&c["cpe"])))
        .collect()
}

/// `consign scan` of a fixture (a path under `fixtures/unpack/`): its components as [`scanned`]
/// gives them, and the SBOM's text, for the evidence paths it cites.
fn scan_fixture(relative: &str) -> (Vec<(String, String, String)>, String) {
    let dir = tempfile::tempdir().unwrap();
    let found = scanned(
        dir.path(),
        &repo_root().join("fixtures/unpack").join(relative),
    );
    let sbom = std::fs::read_to_string(dir.path().join("sbom.json")).unwrap();
    (found, sbom)
}

/// Whether `found` holds the component `name` at `version`.
fn has(found: &[(String, String, String)], name: &str, version: &str) -> bool {
    found.iter().any(|(n, v, _)| n == name && v == version)
}

#[test]
fn an_android_ota_payload_names_what_its_partitions_hold() {
    // A full A/B OTA payload (`fixtures/unpack/android-ota/make_payload.py`): the boot partition
    // is mkbootimg's image, the system partition an ext4 file system with Android's build.prop.
    let (found, sbom) = scan_fixture("android-ota/payload.bin");
    assert!(has(&found, "android", "14"), "{found:?}");
    assert!(has(&found, "linux_kernel", "6.1.57"), "{found:?}");
    assert!(
        sbom.contains("android-ota-payload@0x0/system.img/ext@0x0/system/build.prop"),
        "the release is read from the system partition too"
    );
}

#[test]
fn an_android_block_ota_package_names_its_release_from_the_rebuilt_system_partition() {
    // A non-A/B full OTA (`fixtures/unpack/android-ota/make_payload.py`): the system partition is
    // brotli-compressed new data written by a transfer list; its build.prop says Android 10, and
    // so does the package's metadata.
    let (found, sbom) = scan_fixture("android-ota/block-ota.zip");
    assert!(has(&found, "android", "10"), "{found:?}");
    for evidence in [
        "system.new.dat.br/android-block-ota@0x0/system.img/ext@0x0/system/build.prop",
        "zip@0x0/META-INF/com/android/metadata",
    ] {
        assert!(sbom.contains(evidence), "no evidence from {evidence}");
    }
}

#[test]
fn an_android_super_image_names_what_its_logical_partitions_hold() {
    // Dynamic partitions (`fixtures/unpack/android-ota/make_payload.py`), gzip-compressed: the
    // system_a partition, in two extents out of order, is an ext4 file system with build.prop.
    let (found, sbom) = scan_fixture("android-ota/super.img.gz");
    assert!(has(&found, "android", "14"), "{found:?}");
    assert!(sbom.contains("android-super@0x0/system_a.img/ext@0x0/system/build.prop"));
}
