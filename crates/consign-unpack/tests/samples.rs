//! Unpacking the real samples in `../shared/samples/` and the corpus images in `../shared/corpus/`:
//! specific entries (paths, sizes, known bytes), plus truncated and bit-flipped versions of every
//! sample (no panic, bounded time).
#![allow(clippy::unwrap_used)] // Test helpers: a panic is the test failing.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use consign_model::{NodeKind, Vfs};
use consign_unpack::{Limits, Unpacked, unpack};

fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn load(relative: &str) -> (String, Bytes) {
    let path = shared().join(relative);
    let data =
        std::fs::read(&path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    (name, Bytes::from(data))
}

fn run(relative: &str) -> Unpacked {
    let (name, data) = load(relative);
    unpack(&name, data, &Limits::default())
}

fn file<'a>(vfs: &'a Vfs, path: &str) -> &'a Bytes {
    vfs.nodes
        .iter()
        .find(|n| n.path == path)
        .and_then(|n| n.data())
        .unwrap_or_else(|| {
            let near: Vec<_> = vfs.nodes.iter().map(|n| n.path.as_str()).take(40).collect();
            panic!("no file `{path}`; first paths: {near:#?}")
        })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn uimage_lzma_kernel_is_inflated() {
    let out = run("samples/fact-uboot_uboot.image_with_header");
    let container = &out.report.root.containers[0];
    assert_eq!(container.format, "uimage");
    assert!(
        container.description.contains("`u-boot image`"),
        "{}",
        container.description
    );
    let kernel = file(
        &out.vfs,
        "fact-uboot_uboot.image_with_header/uimage@0x0/firmware",
    );
    assert!(
        kernel.len() > 32_753,
        "payload was not inflated: {}",
        kernel.len()
    );
    assert!(contains(kernel, b"U-Boot"));
}

#[test]
fn bzimages_yield_vmlinux_with_banner() {
    for name in [
        "fact-linuxkernel_bzImage_xz",
        "fact-linuxkernel_bzImage_lzma",
    ] {
        let out = run(&format!("samples/{name}"));
        let vmlinux = file(&out.vfs, &format!("{name}/bzimage@0x0/vmlinux"));
        assert!(contains(vmlinux, b"Linux version "), "{name}: no banner");
    }
}

#[test]
fn fit_images_are_listed() {
    let out = run("samples/fact-uboot_fit.itb");
    let fit = &out.report.root.containers[0];
    assert_eq!(fit.format, "fit");
    assert!(fit.entries >= 2, "{fit:?}");
    assert!(
        out.vfs
            .nodes
            .iter()
            .any(|n| n.path.starts_with("fact-uboot_fit.itb/fit@0x0/images/"))
    );
}

#[test]
fn android_sparse_expands() {
    let out = run("samples/fact-android_simg_simg.img");
    let image = file(
        &out.vfs,
        "fact-android_simg_simg.img/android-sparse@0x0/image.raw",
    );
    assert_eq!(image.len(), 4096 * 2560);
}

#[test]
fn tplink_header_gives_kernel_and_rootfs() {
    let out = run("samples/fact-tpl_test.tpl");
    let tpl = &out.report.root.containers[0];
    assert_eq!(tpl.format, "tplink");
    assert!(tpl.description.contains("TP-LINK Technologies"));
    let kernel = file(&out.vfs, "fact-tpl_test.tpl/tplink@0x0/kernel");
    assert_eq!(kernel.len(), 0x000d_9e1a);
}

/// The `IMG0` format of TP-Link's `VxWorks` devices: the header, then the two LZMA streams in its payload, whose
/// properties (0x6e: lc 2, lp 2, pb 2) are not the default; each inflates to the size its header
/// states.
#[test]
fn tplink_img0_payload_and_its_lzma_streams() {
    let out = run("samples/fact-tpl_wr.fw");
    let img0 = &out.report.root.containers[0];
    assert_eq!(img0.format, "tplink-img0");
    assert_eq!(img0.size, 1_539_124);
    let payload = "fact-tpl_wr.fw/tplink-img0@0x0/payload";
    assert_eq!(file(&out.vfs, payload).len(), 1_539_124 - 0x94);
    assert_eq!(
        file(&out.vfs, &format!("{payload}/lzma@0x6830/decompressed")).len(),
        698_624
    );
    let vxworks = file(&out.vfs, &format!("{payload}/lzma@0x40080/decompressed"));
    assert_eq!(vxworks.len(), 3_571_184);
    assert!(vxworks.windows(12).any(|w| w == b"VxWorks5.5.1"));
}

#[test]
fn esp_images_list_segments() {
    let out = run("samples/esp_idf_blink_esp32s2.bin");
    let esp = &out.report.root.containers[0];
    assert_eq!(esp.format, "esp-image");
    assert!(
        esp.description.starts_with("ESP32-S2"),
        "{}",
        esp.description
    );
    assert_eq!(esp.entries, 6);
    assert!(esp.diagnostics.is_empty(), "{:?}", esp.diagnostics);
    let first = file(
        &out.vfs,
        "esp_idf_blink_esp32s2.bin/esp-image@0x0/segment0-0x3f000020.bin",
    );
    assert_eq!(first.len(), 0x8c18);
    for name in [
        "bootloader_esp32_v5_2.bin",
        "bootloader_esp32c3.bin",
        "esp8266_deepsleep.bin",
    ] {
        let out = run(&format!("samples/{name}"));
        let esp = &out.report.root.containers[0];
        assert_eq!(esp.format, "esp-image", "{name}");
        assert!(esp.diagnostics.is_empty(), "{name}: {:?}", esp.diagnostics);
    }
}

#[test]
fn dirtraversal_tar_is_listed_with_its_hostile_links() {
    let out = run("samples/dirtraversal.tar");
    let tar = &out.report.root.containers[0];
    assert_eq!(tar.format, "tar");
    assert_eq!(tar.entries, 11);
    let bar = out
        .vfs
        .nodes
        .iter()
        .find(|n| n.path == "dirtraversal.tar/tar@0x0/bar")
        .unwrap();
    assert_eq!(
        bar.kind,
        NodeKind::Symlink {
            target: "/etc/passwd".into()
        }
    );
    assert_eq!(file(&out.vfs, "dirtraversal.tar/tar@0x0/ls").len(), 133_792);
}

/// Arcadyan's obfuscation (the stream's first 32 bytes swapped with those at 0x68, nibbles and
/// byte pairs swapped) is undone and the LZMA stream decodes whole: the firmware of a Belkin
/// N300 (F9K1001 v5), with its Broadcom Wi-Fi driver's release in it. What follows the stream
/// stays unclaimed.
#[test]
fn arcadyan_obfuscated_firmware_is_restored() {
    let out = run("samples/binwalk-arcadyan.bin");
    let arcadyan = &out.report.root.containers[0];
    assert_eq!(arcadyan.format, "arcadyan");
    assert_eq!(arcadyan.offset, 0);
    assert_eq!(arcadyan.size, 733_166);
    assert!(
        out.report.root.diagnostics.is_empty(),
        "{:?}",
        out.report.root.diagnostics
    );
    let firmware = file(&out.vfs, "binwalk-arcadyan.bin/arcadyan@0x0/decompressed");
    assert_eq!(
        firmware.len(),
        0x002a_ed44,
        "the size the LZMA header states"
    );
    let has = |text: &[u8]| firmware.windows(text.len()).any(|w| w == text);
    assert!(has(b"/update/files/F9K1001/v5/WW/version.html"));
    assert!(has(b"wl_version=5.10.56.46"));
}

#[test]
fn corpus_router_flash_uimage_and_rest() {
    let out = run("corpus/images/router-armhf-uimage/flash.bin");
    let formats: Vec<_> = out
        .report
        .root
        .containers
        .iter()
        .map(|c| c.format.as_str())
        .collect();
    assert_eq!(formats.first(), Some(&"uimage"), "{formats:?}");
    // The zImage inside the uImage is inflated so the banner is readable.
    let banner = out
        .vfs
        .files()
        .any(|(node, data)| node.path.ends_with("/vmlinux") && contains(data, b"Linux version "));
    assert!(banner, "no inflated kernel with a banner");
}

#[test]
fn corpus_initramfs_cpio_gz() {
    let out = run("corpus/images/initramfs-arm64/initrd.img");
    let gzip = &out.report.root.containers[0];
    assert_eq!(gzip.format, "gzip");
    let busybox = out
        .vfs
        .files()
        .find(|(node, _)| node.path.ends_with("/bin/busybox"))
        .expect("bin/busybox in the initramfs");
    assert!(busybox.1.starts_with(b"\x7fELF"));
}

#[test]
fn corpus_tar_gz_bundle() {
    let out = run("corpus/images/hub-armhf-bundle/hub_fw_2.4.1.tar.gz");
    let paths: Vec<_> = out.vfs.nodes.iter().map(|n| n.path.as_str()).collect();
    assert!(
        paths
            .iter()
            .any(|p| p.contains("/gzip@0x0/") && p.contains("/tar@0x0/")),
        "{paths:#?}"
    );
}

#[test]
fn corpus_fit_carries_bl31() {
    let out = run("corpus/images/uboot-pine64-spl/u-boot-sunxi-with-spl.fit.itb");
    let fit = out
        .report
        .root
        .containers
        .iter()
        .find(|c| c.format == "fit")
        .expect("a FIT image");
    assert!(fit.entries >= 2, "{fit:?}");
}

/// Every sample, cut short and with bits flipped: no panic, and each run stays fast.
#[test]
fn damaged_samples_never_panic() {
    let dir = shared().join("samples");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.to_ascii_lowercase().ends_with(".md") && n != "SHA256SUMS")
        .collect();
    names.sort();
    let limits = Limits {
        max_total_bytes: 256 << 20,
        ..Limits::default()
    };
    for name in names {
        let (_, data) = load(&format!("samples/{name}"));
        let mut variants: Vec<Vec<u8>> = Vec::new();
        for cut in [
            7usize,
            64,
            600,
            data.len() / 3,
            data.len() / 2 + 13,
            data.len().saturating_sub(5),
        ] {
            variants.push(data.get(..cut.min(data.len())).unwrap().to_vec());
        }
        for seed in 0..3u64 {
            let mut flipped = data.to_vec();
            let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xdead_beef;
            for _ in 0..16 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let at = (state % flipped.len() as u64) as usize;
                flipped[at] ^= 1 << (state % 8);
            }
            // Always hit the first header too.
            flipped[(seed as usize * 5) % 64] ^= 0x40;
            variants.push(flipped);
        }
        for variant in variants {
            let started = Instant::now();
            let out = unpack(&name, Bytes::from(variant), &limits);
            assert!(!out.vfs.nodes.is_empty());
            assert!(
                started.elapsed() < Duration::from_mins(1),
                "{name} took {:?}",
                started.elapsed()
            );
        }
    }
}
