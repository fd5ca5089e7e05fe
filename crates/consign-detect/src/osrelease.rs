//! The operating system a root filesystem says it is: `os-release`, `lsb-release`, Android's
//! `build.prop` and an Android OTA package's metadata.
//!
//! # What it detects
//!
//! The distribution the image was built as, from the file systemd's `os-release(5)` defines
//! (`/etc/os-release`, `/usr/lib/os-release`: `ID`, `VERSION_ID`, `CPE_NAME`) or the older LSB
//! `lsb-release` (`DISTRIB_ID`, `DISTRIB_RELEASE`). Yocto (`poky`), Buildroot, `OpenWrt` and every
//! Debian- or Ubuntu-based firmware write one; it says which base the vendor built on and which
//! release of it, which is what a distribution's advisories are filed against. Android keeps its
//! release in the system properties of `build.prop` (`/system/build.prop`, and the ramdisk's
//! `default.prop` or `prop.default` on older releases): `ro.build.version.release` (`14`,
//! `8.1.0`, `4.4.2`), named `android` with Google's CPE; the security patch level beside it
//! (`ro.build.version.security_patch`) is kept in the evidence's line. A boot image (`ANDROID!`)
//! states the release and patch level too, packed in its header's `os_version` (`mkbootimg
//! --os_version 14.0.0 --os_patch_level 2024-01`): the one statement of it left when the system
//! partition cannot be read. It is written as `build.prop` writes it: `14` for `14.0.0`, `8.1.0`
//! as is. An OTA package's `META-INF/com/android/metadata` states the release it updates to, in
//! the `post-build` fingerprint (`brand/product/device:14/UQ1A.240505.001/...`).
//!
//! # Evidence
//!
//! `manifest-analysis`, high confidence, at the byte offset of the version line.
//!
//! # Limits
//!
//! A version that does not start with a digit (`snapshot`, a code name) is not a release: the system
//! is named without one. The point release Debian keeps in `/etc/debian_version` is not read. A
//! distribution a signature describes (`OpenWrt`) takes that signature's identity; others are named
//! by their `ID`, with the CPE their `CPE_NAME` gives, if any.

/// The largest release file read: real ones are a few hundred bytes.
const MAX_BYTES: usize = 64 << 10;

/// Which of the two formats a file name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// systemd's `os-release`.
    OsRelease,
    /// The LSB's `lsb-release`.
    LsbRelease,
    /// Android's system properties (`build.prop`, `default.prop`, `prop.default`).
    AndroidProperties,
    /// An Android OTA package's `META-INF/com/android/metadata`.
    AndroidOtaMetadata,
}

impl Format {
    /// The format of the file at `path` (its path inside the image), if it is one.
    pub(crate) fn of(path: &str) -> Option<Self> {
        let file_name = path.rsplit('/').next().unwrap_or(path);
        match file_name {
            "os-release" => Some(Self::OsRelease),
            "lsb-release" => Some(Self::LsbRelease),
            "build.prop" | "default.prop" | "prop.default" => Some(Self::AndroidProperties),
            "metadata" if path.ends_with("META-INF/com/android/metadata") => {
                Some(Self::AndroidOtaMetadata)
            }
            _ => None,
        }
    }
}

/// What a release file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Release {
    /// `ID` (or `DISTRIB_ID`), lower case: `debian`, `poky`, `openwrt`.
    pub(crate) id: String,
    /// `VERSION_ID` (or `DISTRIB_RELEASE`), when it is a release number.
    pub(crate) version: Option<String>,
    /// The line the version (else the name) was read from, as written.
    pub(crate) line: String,
    /// Byte offset of that line.
    pub(crate) offset: u64,
    /// (vendor, product) of `CPE_NAME`.
    pub(crate) cpe: Option<(String, String)>,
}

/// Reads a release file; `None` if it names no system.
pub(crate) fn parse(format: Format, data: &[u8]) -> Option<Release> {
    if data.len() > MAX_BYTES {
        return None;
    }
    let text = std::str::from_utf8(data).ok()?;
    let (id_key, version_key) = match format {
        Format::OsRelease => ("ID", "VERSION_ID"),
        Format::LsbRelease => ("DISTRIB_ID", "DISTRIB_RELEASE"),
        Format::AndroidProperties => return android(text),
        Format::AndroidOtaMetadata => return android_ota(text),
    };
    let mut id = None;
    let mut version = None;
    let mut cpe = None;
    for (key, value, line, start) in assignments(text) {
        let value = unquote(value);
        if value.is_empty() {
            continue;
        }
        if key == id_key && id.is_none() {
            id = Some((value.to_ascii_lowercase(), line.to_owned(), start));
        } else if key == version_key && version.is_none() {
            version = Some((value, line.to_owned(), start));
        } else if key == "CPE_NAME" && cpe.is_none() {
            cpe = cpe_vendor_product(&value);
        }
    }
    let (id, id_line, id_offset) = id?;
    // An `ID` is a lower-case word by the specification; anything else is not this file.
    if id.is_empty()
        || id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        return None;
    }
    let version = version.filter(|(value, _, _)| {
        value.starts_with(|c: char| c.is_ascii_digit()) && value.len() <= 64
    });
    let (version, line, offset) = match version {
        Some((value, line, offset)) => (Some(value), line, offset),
        None => (None, id_line, id_offset),
    };
    Some(Release {
        id,
        version,
        line,
        offset,
        cpe,
    })
}

/// The Android release an Android boot image's header states (`os_version`, read by
/// [`consign_model::android::BootOsVersion`], which the unpacker's description reads too); `None`
/// for other files and for a header that states none.
pub(crate) fn android_boot_header(data: &[u8]) -> Option<Release> {
    let (os, offset) = consign_model::android::BootOsVersion::of_header(data)?;
    let [a, b, c] = os.release;
    if a == 0 {
        return None;
    }
    let version = if b == 0 && c == 0 {
        a.to_string()
    } else {
        format!("{a}.{b}.{c}")
    };
    let (year, month) = (os.patch_year, os.patch_month);
    let patch = if month == 0 {
        String::new()
    } else {
        format!(", security patch {year}-{month:02}")
    };
    Some(Release {
        id: "android".to_owned(),
        line: format!("boot image os_version {a}.{b}.{c}{patch}"),
        version: Some(version),
        offset: offset as u64,
        cpe: Some(("google".to_owned(), "android".to_owned())),
    })
}

/// The `KEY=VALUE` lines of a release or property file: key, value (as written), the trimmed line
/// and its byte offset.
fn assignments(text: &str) -> impl Iterator<Item = (&str, &str, &str, u64)> {
    let mut offset = 0u64;
    text.split_inclusive('\n').filter_map(move |line| {
        let start = offset;
        offset += line.len() as u64;
        let trimmed = line.trim();
        let (key, value) = trimmed.split_once('=')?;
        Some((key, value, trimmed, start))
    })
}

/// The Android release a property file states, with its security patch level.
fn android(text: &str) -> Option<Release> {
    let mut release = None;
    let mut patch = None;
    for (key, value, line, start) in assignments(text) {
        let value = value.trim();
        match key.trim() {
            "ro.build.version.release" if release.is_none() => {
                release = Some((value.to_owned(), line.to_owned(), start));
            }
            "ro.build.version.security_patch" if patch.is_none() && !value.is_empty() => {
                patch = Some(value.to_owned());
            }
            _ => {}
        }
    }
    let (version, line, offset) = release?;
    // A release is a number (`14`, `8.1.0`); a preview states a code name there.
    let version = (version.len() <= 16
        && version.starts_with(|c: char| c.is_ascii_digit())
        && version.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
    .then_some(version);
    Some(Release {
        id: "android".to_owned(),
        version,
        line: match patch {
            Some(patch) => format!("{line} (security patch {patch})"),
            None => line,
        },
        offset,
        cpe: Some(("google".to_owned(), "android".to_owned())),
    })
}

/// The Android release an OTA package updates to: the release field of its `post-build`
/// fingerprint (`brand/product/device:RELEASE/BUILD_ID/INCREMENTAL:type/tags`), with
/// `post-security-patch-level` beside it. An OTA zip holds the payload, whose system partition
/// states the release too; this line names it when the partitions cannot be read (an
/// incremental OTA).
fn android_ota(text: &str) -> Option<Release> {
    let mut build = None;
    let mut patch = None;
    for (key, value, line, start) in assignments(text) {
        match key.trim() {
            "post-build" if build.is_none() => build = Some((value.trim(), line, start)),
            "post-security-patch-level" if patch.is_none() && !value.trim().is_empty() => {
                patch = Some(value.trim());
            }
            _ => {}
        }
    }
    let (fingerprint, line, offset) = build?;
    // An incremental package may name several builds (`a|b`); the first is as good as any.
    let fingerprint = fingerprint.split('|').next()?;
    let mut parts = fingerprint.split(':');
    let (_device, release) = (parts.next()?, parts.next()?);
    let version = release.split('/').next()?;
    let version = (!version.is_empty()
        && version.len() <= 16
        && version.starts_with(|c: char| c.is_ascii_digit())
        && version.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
    .then(|| version.to_owned());
    version.as_ref()?;
    Some(Release {
        id: "android".to_owned(),
        version,
        line: match patch {
            Some(patch) => format!("{line} (security patch {patch})"),
            None => line.to_owned(),
        },
        offset,
        cpe: Some(("google".to_owned(), "android".to_owned())),
    })
}

/// A shell-style value without its quotes (`"22.04"`, `'OpenWrt'`).
fn unquote(value: &str) -> String {
    let value = value.trim();
    let inner = ['"', '\'']
        .iter()
        .find_map(|&q| value.strip_prefix(q).and_then(|rest| rest.strip_suffix(q)))
        .unwrap_or(value);
    inner.replace("\\\"", "\"").replace("\\\\", "\\")
}

/// (vendor, product) of a CPE 2.2 URI (`cpe:/o:fedoraproject:fedora:39`) or 2.3 name.
fn cpe_vendor_product(cpe: &str) -> Option<(String, String)> {
    let mut parts = if let Some(rest) = cpe.strip_prefix("cpe:/") {
        rest.split(':').skip(1)
    } else {
        cpe.strip_prefix("cpe:2.3:")?.split(':').skip(1)
    };
    let vendor = parts.next()?.to_ascii_lowercase();
    let product = parts.next()?.to_ascii_lowercase();
    let word = |s: &str| {
        !s.is_empty()
            && s != "*"
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    };
    (word(&vendor) && word(&product)).then_some((vendor, product))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_os_release() {
        // Debian bookworm's base-files 12.4+deb12u5, usr/lib/os-release.
        let text = b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\nHOME_URL=\"https://www.debian.org/\"\n";
        let release = parse(Format::OsRelease, text).unwrap();
        assert_eq!(release.id, "debian");
        assert_eq!(release.version.as_deref(), Some("12"));
        assert_eq!(release.line, "VERSION_ID=\"12\"");
        assert_eq!(release.offset, 69);
        assert_eq!(release.cpe, None);
    }

    #[test]
    fn fedora_cpe_and_openwrt_quotes() {
        let fedora = parse(
            Format::OsRelease,
            b"NAME=\"Fedora Linux\"\nVERSION_ID=39\nID=fedora\nCPE_NAME=\"cpe:/o:fedoraproject:fedora:39\"\n",
        )
        .unwrap();
        assert_eq!(
            fedora.cpe,
            Some(("fedoraproject".to_owned(), "fedora".to_owned()))
        );
        let openwrt = parse(
            Format::OsRelease,
            b"NAME=\"OpenWrt\"\nVERSION=\"23.05.2\"\nID=\"openwrt\"\nID_LIKE=\"lede openwrt\"\nVERSION_ID=\"23.05.2\"\nOPENWRT_RELEASE=\"OpenWrt 23.05.2 r23630-842932a63d\"\n",
        )
        .unwrap();
        assert_eq!(
            (openwrt.id.as_str(), openwrt.version.as_deref()),
            ("openwrt", Some("23.05.2"))
        );
    }

    #[test]
    fn lsb_release() {
        // The binwalk test suite's cramfs image holds Ubuntu 22.04's lsb-release.
        let text = b"DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\nDISTRIB_CODENAME=jammy\nDISTRIB_DESCRIPTION=\"Ubuntu 22.04.5 LTS\"\n";
        let release = parse(Format::LsbRelease, text).unwrap();
        assert_eq!(
            (release.id.as_str(), release.version.as_deref()),
            ("ubuntu", Some("22.04"))
        );
    }

    #[test]
    fn android_build_properties() {
        // The head of an Android 14 `/system/build.prop`, as the build system writes it.
        let text = b"\n# begin common build properties\n# autogenerated by build/make/tools/buildinfo_common.sh\nro.system.build.date=Mon Jan  8 12:00:00 UTC 2024\nro.system.build.version.release=14\n\n# begin build properties\n# autogenerated by buildinfo.sh\nro.build.id=UQ1A.240105.004\nro.build.version.incremental=11206848\nro.build.version.sdk=34\nro.build.version.release=14\nro.build.version.security_patch=2024-01-05\n";
        let release = parse(Format::of("build.prop").unwrap(), text).unwrap();
        assert_eq!(release.id, "android");
        assert_eq!(release.version.as_deref(), Some("14"));
        assert_eq!(
            release.line,
            "ro.build.version.release=14 (security patch 2024-01-05)"
        );
        assert_eq!(
            &text[release.offset as usize..][..24],
            b"ro.build.version.release"
        );
        assert_eq!(
            release.cpe,
            Some(("google".to_owned(), "android".to_owned()))
        );
        // Older releases keep it in the ramdisk's default.prop; a preview states a code name.
        let old = parse(
            Format::of("default.prop").unwrap(),
            b"ro.build.version.release=4.4.2\n",
        )
        .unwrap();
        assert_eq!(old.version.as_deref(), Some("4.4.2"));
        let preview = parse(
            Format::AndroidProperties,
            b"ro.build.version.release=VanillaIceCream\n",
        )
        .unwrap();
        assert_eq!(preview.version, None);
        // A property file that states no release names nothing.
        assert_eq!(
            parse(Format::AndroidProperties, b"ro.product.model=x\n"),
            None
        );
    }

    #[test]
    fn android_ota_metadata() {
        // The metadata of an A/B OTA package, as ota_from_target_files writes it.
        let text = b"ota-property-files=payload_metadata.bin:2392:36983,payload.bin:2392:1034812445 \nota-required-cache=0\nota-type=AB\npost-build=google/sunfish/sunfish:11/RQ3A.210805.001.A1/7474174:user/release-keys\npost-build-incremental=7474174\npost-sdk-level=30\npost-security-patch-level=2021-08-05\npost-timestamp=1626219456\npre-device=sunfish\n";
        let path = "ota.zip/zip@0x0/META-INF/com/android/metadata";
        let release = parse(Format::of(path).unwrap(), text).unwrap();
        assert_eq!(release.id, "android");
        assert_eq!(release.version.as_deref(), Some("11"));
        assert_eq!(
            release.line,
            "post-build=google/sunfish/sunfish:11/RQ3A.210805.001.A1/7474174:user/release-keys (security patch 2021-08-05)"
        );
        assert_eq!(release.offset, 113);
        // Another file called `metadata`, and metadata without a usable fingerprint.
        assert_eq!(Format::of("fs/etc/metadata"), None);
        for text in [
            &b"post-build=garbage\n"[..],
            b"post-build=a/b/c:Tiramisu/X/1:user/keys\n",
            b"ota-type=AB\n",
        ] {
            assert_eq!(parse(Format::AndroidOtaMetadata, text), None);
        }
    }

    #[test]
    fn android_boot_image_headers() {
        let header = |version: u32, os_version: u32| {
            let mut data = vec![0u8; 2048];
            data[..8].copy_from_slice(b"ANDROID!");
            data[40..44].copy_from_slice(&version.to_le_bytes());
            let at = if version >= 3 { 16 } else { 44 };
            data[at..at + 4].copy_from_slice(&os_version.to_le_bytes());
            data
        };
        // mkbootimg --os_version 14.0.0 --os_patch_level 2024-01, in a version 4 header.
        let v4 = android_boot_header(&header(4, (14 << 25) | (24 << 4) | 1)).unwrap();
        assert_eq!(v4.version.as_deref(), Some("14"));
        assert_eq!(
            v4.line,
            "boot image os_version 14.0.0, security patch 2024-01"
        );
        assert_eq!(v4.offset, 16);
        // 8.1.0 in a version 0 header, no patch level.
        let v0 = android_boot_header(&header(0, (8 << 25) | (1 << 18))).unwrap();
        assert_eq!(v0.version.as_deref(), Some("8.1.0"));
        assert_eq!(v0.offset, 44);
        // No release stated, an unknown header version, not a boot image.
        assert_eq!(android_boot_header(&header(2, 0)), None);
        assert_eq!(android_boot_header(&header(9, 14 << 25)), None);
        assert_eq!(android_boot_header(b"ANDROID!"), None);
        assert_eq!(android_boot_header(b"VNDRBOOT\x04\0\0\0"), None);
    }

    #[test]
    fn no_release_number_no_version() {
        let snapshot = parse(Format::OsRelease, b"ID=openwrt\nVERSION_ID=\"snapshot\"\n").unwrap();
        assert_eq!(snapshot.version, None);
        assert_eq!(snapshot.line, "ID=openwrt");
        // Not a release file: no ID, an ID that is not a word, not text, too large.
        assert_eq!(parse(Format::OsRelease, b"VERSION_ID=1\n"), None);
        assert_eq!(parse(Format::OsRelease, b"ID=\"rm -rf /\"\n"), None);
        assert_eq!(parse(Format::OsRelease, b"ID=x\xff\n"), None);
        assert_eq!(parse(Format::OsRelease, &vec![b'\n'; MAX_BYTES + 1]), None);
        assert_eq!(cpe_vendor_product("cpe:2.3:o:*:fedora:39"), None);
    }
}
