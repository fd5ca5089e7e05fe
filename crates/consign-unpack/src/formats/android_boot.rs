//! Android boot images (`ANDROID!`, header versions 0 to 4) and vendor boot images (`VNDRBOOT`,
//! versions 3 and 4), as AOSP's `mkbootimg` writes them (`include/bootimg/bootimg.h` in
//! `platform/system/tools/mkbootimg`): the kernel, ramdisk and device trees of Android devices and
//! of the many Linux devices on Qualcomm and `MediaTek` chips that boot through Android's
//! bootloaders.
//!
//! Versions 0-2: a header page (page size in the header), then kernel, ramdisk, second-stage
//! loader, recovery DTBO (v1+) and DTB (v2), each padded to the page size. Versions 3 and 4: a
//! 4096-byte header page, kernel, ramdisk and (v4) the boot signature. Vendor boot: a header of
//! its page size, the vendor ramdisk (one or more concatenated ramdisks), the DTB, and (v4) the
//! ramdisk table and bootconfig. The header version sits at offset 40 in every boot image and
//! decides the layout. Every part is a view into the input; a part that runs past the image's end
//! is reported and left out.

use bytes::Bytes;
use consign_model::Diagnostic;
use consign_model::android::{BOOT_MAGIC, BootOsVersion};

use super::file;
use crate::Budget;
use crate::binary::u32le;
use crate::fs::{FsListing, Probe};

const VENDOR_MAGIC: &[u8; 8] = b"VNDRBOOT";
/// The page size of version 3 and 4 boot images.
const GKI_PAGE: u64 = 4096;

/// The parts of an image, in file order: (name, size), each starting on a page.
struct Layout {
    page: u64,
    /// The header's own size in pages' terms: where the first part starts.
    header_pages: u64,
    parts: Vec<(&'static str, u64)>,
    description: String,
}

fn layout(data: &[u8]) -> Option<Layout> {
    if data.get(..8)? == BOOT_MAGIC {
        let version = u32le(data, 40)?;
        match version {
            0..=2 => {
                let page = u64::from(u32le(data, 36)?);
                let mut parts = vec![
                    ("kernel", u64::from(u32le(data, 8)?)),
                    ("ramdisk", u64::from(u32le(data, 16)?)),
                    ("second", u64::from(u32le(data, 24)?)),
                ];
                if version >= 1 {
                    parts.push(("recovery_dtbo", u64::from(u32le(data, 1632)?)));
                }
                if version >= 2 {
                    parts.push(("dtb", u64::from(u32le(data, 1648)?)));
                }
                let os = BootOsVersion::from_bits(u32le(data, BootOsVersion::offset(version)?)?);
                Some(Layout {
                    page,
                    header_pages: 1,
                    parts,
                    description: describe("Android boot image", version, os),
                })
            }
            3 | 4 => {
                let mut parts = vec![
                    ("kernel", u64::from(u32le(data, 8)?)),
                    ("ramdisk", u64::from(u32le(data, 12)?)),
                ];
                if version == 4 {
                    parts.push(("signature", u64::from(u32le(data, 1580)?)));
                }
                let os = BootOsVersion::from_bits(u32le(data, BootOsVersion::offset(version)?)?);
                Some(Layout {
                    page: GKI_PAGE,
                    header_pages: 1,
                    parts,
                    description: describe("Android boot image", version, os),
                })
            }
            _ => None,
        }
    } else if data.get(..8)? == VENDOR_MAGIC {
        let version = u32le(data, 8)?;
        if !(3..=4).contains(&version) {
            return None;
        }
        let page = u64::from(u32le(data, 12)?);
        let header_size = u64::from(u32le(data, 2096)?);
        let mut parts = vec![
            ("vendor_ramdisk", u64::from(u32le(data, 24)?)),
            ("dtb", u64::from(u32le(data, 2100)?)),
        ];
        if version == 4 {
            parts.push(("vendor_ramdisk_table", u64::from(u32le(data, 2112)?)));
            parts.push(("bootconfig", u64::from(u32le(data, 2124)?)));
        }
        Some(Layout {
            page,
            header_pages: header_size.div_ceil(page.max(1)),
            parts,
            description: describe("Android vendor boot image", version, None),
        })
    } else {
        None
    }
    .filter(|layout| {
        // Page sizes mkbootimg accepts; a header of a few pages at most.
        layout.page.is_power_of_two()
            && (2048..=16384).contains(&layout.page)
            && (1..=4).contains(&layout.header_pages)
    })
}

fn describe(what: &str, version: u32, os: Option<BootOsVersion>) -> String {
    match os {
        Some(BootOsVersion {
            release: [a, b, c],
            patch_year,
            patch_month,
        }) => format!(
            "{what} v{version}, Android {a}.{b}.{c}, patch level {patch_year}-{patch_month:02}"
        ),
        None => format!("{what} v{version}"),
    }
}

/// A part's name, and where it starts and ends in the image.
type Placed = (&'static str, u64, u64);

/// Where each part starts and ends, and where the image ends, all within `u64`.
fn placed(layout: &Layout) -> Option<(Vec<Placed>, u64)> {
    let mut at = layout.header_pages.checked_mul(layout.page)?;
    let mut placed = Vec::new();
    for &(name, size) in &layout.parts {
        if size > 0 {
            placed.push((name, at, at.checked_add(size)?));
        }
        at = at.checked_add(size.div_ceil(layout.page).checked_mul(layout.page)?)?;
    }
    Some((placed, at))
}

/// A boot or vendor boot header with a known version, a plausible page size and parts that fit in
/// 32-bit sizes.
pub(crate) fn probe(data: &[u8]) -> Option<Probe> {
    let layout = layout(data)?;
    let (parts, end) = placed(&layout)?;
    if parts.is_empty() {
        return None;
    }
    Some(Probe {
        format: if data.starts_with(BOOT_MAGIC) {
            "android-boot"
        } else {
            "android-vendor-boot"
        },
        size: Some(end),
        description: layout.description,
    })
}

/// One file per part present, named as `unpack_bootimg` names them.
pub(crate) fn extract(data: &Bytes, _budget: &Budget) -> FsListing {
    let mut listing = FsListing::default();
    let Some((parts, end)) = layout(data).as_ref().and_then(placed) else {
        return listing;
    };
    listing.size = Some(end.min(data.len() as u64));
    for (name, start, stop) in parts {
        let (Ok(start), Ok(stop)) = (usize::try_from(start), usize::try_from(stop)) else {
            continue;
        };
        if stop > data.len() {
            listing.diagnostics.push(
                Diagnostic::warning(
                    name,
                    format!(
                        "the header puts the {name} at {start:#x}..{stop:#x}, past the image's \
                         end ({:#x}); it is left out",
                        data.len()
                    ),
                )
                .at(start as u64),
            );
            continue;
        }
        listing
            .entries
            .push(file(name, data.slice(start..stop), Some(0o644)));
    }
    listing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;
    use crate::fs::test_support::files;

    fn page(header: &[u8], size: usize) -> Vec<u8> {
        let mut page = header.to_vec();
        page.resize(size, 0);
        page
    }

    /// A version 2 header as `mkbootimg --header_version 2` lays it out.
    fn v2(kernel: &[u8], ramdisk: &[u8], dtb: &[u8]) -> Vec<u8> {
        let mut header = vec![0u8; 1660];
        header[..8].copy_from_slice(BOOT_MAGIC);
        for (at, value) in [
            (8, kernel.len() as u32),
            (16, ramdisk.len() as u32),
            (36, 2048),
            (40, 2),
            // Android 12.0.0, patch level 2023-05.
            (44, (12 << 25) | (23 << 4) | 5),
            (1632, 0),
            (1644, 1660),
            (1648, dtb.len() as u32),
        ] {
            header[at..at + 4].copy_from_slice(&value.to_le_bytes());
        }
        let mut image = page(&header, 2048);
        for part in [kernel, ramdisk, dtb] {
            let padded = part.len().div_ceil(2048) * 2048;
            image.extend(page(part, padded));
        }
        image
    }

    #[test]
    fn a_version_2_image_gives_its_parts() {
        let image = v2(b"kernel bytes", b"ramdisk", b"\xd0\x0d\xfe\xed dtb");
        let probe = probe(&image).unwrap();
        assert_eq!(probe.format, "android-boot");
        assert_eq!(
            probe.description,
            "Android boot image v2, Android 12.0.0, patch level 2023-05"
        );
        assert_eq!(probe.size, Some(4 * 2048));
        let listing = extract(&Bytes::from(image), &Budget::new(Limits::default()));
        assert_eq!(
            files(&listing),
            [
                ("kernel".to_owned(), b"kernel bytes".to_vec()),
                ("ramdisk".to_owned(), b"ramdisk".to_vec()),
                ("dtb".to_owned(), b"\xd0\x0d\xfe\xed dtb".to_vec())
            ]
        );
    }

    /// Images AOSP's mkbootimg made from the parts beside them (`fixtures/unpack/android/recipe.sh`).
    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(
            crate::fs::test_support::repo()
                .join("fixtures/unpack/android")
                .join(name),
        )
        .unwrap()
    }

    #[test]
    fn images_mkbootimg_made_give_back_their_parts() {
        let (kernel, ramdisk, dtb, bootconfig) = (
            fixture("kernel"),
            fixture("ramdisk.gz"),
            fixture("dtb"),
            fixture("bootconfig"),
        );
        for (image, description, parts) in [
            (
                "boot-v0.img",
                "Android boot image v0",
                vec![("kernel", &kernel), ("ramdisk", &ramdisk)],
            ),
            (
                "boot-v2.img",
                "Android boot image v2, Android 12.0.0, patch level 2023-05",
                vec![("kernel", &kernel), ("ramdisk", &ramdisk), ("dtb", &dtb)],
            ),
            (
                "boot-v4.img",
                "Android boot image v4, Android 14.0.0, patch level 2024-01",
                vec![("kernel", &kernel), ("ramdisk", &ramdisk)],
            ),
        ] {
            let data = fixture(image);
            let probe = probe(&data).unwrap();
            assert_eq!(probe.description, description, "{image}");
            assert_eq!(probe.size, Some(data.len() as u64), "{image}");
            let listing = extract(&Bytes::from(data), &Budget::new(Limits::default()));
            let expected: Vec<(String, Vec<u8>)> = parts
                .into_iter()
                .map(|(name, bytes)| (name.to_owned(), bytes.clone()))
                .collect();
            assert_eq!(files(&listing), expected, "{image}");
            assert!(
                listing.diagnostics.is_empty(),
                "{image}: {:?}",
                listing.diagnostics
            );
        }
        let data = fixture("vendor_boot-v4.img");
        assert_eq!(probe(&data).unwrap().format, "android-vendor-boot");
        let listing = extract(&Bytes::from(data), &Budget::new(Limits::default()));
        let parts = files(&listing);
        let names: Vec<&str> = parts.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "vendor_ramdisk",
                "dtb",
                "vendor_ramdisk_table",
                "bootconfig"
            ]
        );
        assert_eq!(parts[0].1, ramdisk);
        assert_eq!(parts[1].1, dtb);
        assert!(parts[3].1.starts_with(&bootconfig));
    }

    #[test]
    fn a_part_past_the_end_is_left_out() {
        let mut image = v2(b"kernel", b"ramdisk", b"dtb");
        image.truncate(2 * 2048 + 3);
        let listing = extract(&Bytes::from(image), &Budget::new(Limits::default()));
        assert_eq!(files(&listing), [("kernel".to_owned(), b"kernel".to_vec())]);
        assert_eq!(listing.diagnostics.len(), 2);
    }

    #[test]
    fn what_is_not_a_boot_image_is_not_probed() {
        let mut image = v2(b"k", b"r", b"");
        assert!(probe(&image).is_some());
        image[40] = 5;
        assert!(probe(&image).is_none(), "unknown header version");
        let mut image = v2(b"k", b"r", b"");
        image[36..40].copy_from_slice(&1000u32.to_le_bytes());
        assert!(probe(&image).is_none(), "page size not a power of two");
        assert!(probe(b"ANDROID!").is_none());
        assert!(probe(&[0u8; 4096]).is_none());
        let mut empty = v2(b"", b"", b"");
        empty[8..12].copy_from_slice(&0u32.to_le_bytes());
        assert!(probe(&empty).is_none(), "no part at all");
    }

    #[test]
    fn sizes_near_the_top_are_refused_or_left_out() {
        let mut image = v2(b"k", b"r", b"d");
        image[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        image[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        let listing = extract(&Bytes::from(image.clone()), &Budget::new(Limits::default()));
        assert!(listing.entries.is_empty());
        for at in (0..image.len()).step_by(5) {
            let mut copy = image.clone();
            copy[at] ^= 0x81;
            let _ = probe(&copy);
            let _ = extract(&Bytes::from(copy), &Budget::new(Limits::default()));
        }
    }
}
