//! Linux kernel modules that are not part of the kernel: vendor drivers and out-of-tree modules.
//!
//! # What it detects
//!
//! A `.ko` file's `.modinfo` section is a list of `key=value` strings the module build writes:
//! `name`, `version` (`MODULE_VERSION`), `license`, `author`, `description`, `vermagic` (the kernel
//! release it was built for) and, since Linux 3.2, `intree=Y` for every module built from the
//! kernel's own tree. A module is a component of its own when it is not the kernel's:
//! - it lacks `intree=Y` while its kernel is 3.2 or later (modpost marks every in-tree module there);
//! - for older kernels, which mark none, when it states a `version` of its own (a vendor driver such
//!   as `rt2860v2_ap 2.4.0.0`); an older module without one cannot be told apart from the kernel's
//!   own and is left to the kernel.
//!
//! In-tree modules name nothing new: their `vermagic` is the kernel's release, which the `linux`
//! signature reads.
//!
//! # Evidence
//!
//! `manifest-analysis` (the build wrote these facts), high confidence when the module states its
//! version, medium when it is named only. The licence is the module's own `license` string, as
//! written (`GPL`, `Dual BSD/GPL`, `Proprietary`).
//!
//! # Limits
//!
//! Only the first [`MAX_MODINFO_BYTES`] of the section are read, and values are cut to
//! [`MAX_VALUE_CHARS`] characters.

use consign_model::{ComponentKind, Confidence, Method, Occurrence};

use crate::Identity;
use crate::scan::Finding;

/// Most bytes of `.modinfo` read; real ones are a few hundred bytes to a few KiB.
pub(crate) const MAX_MODINFO_BYTES: usize = 64 << 10;
/// Longest value kept.
const MAX_VALUE_CHARS: usize = 200;

/// The `.modinfo` facts of one module.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ModInfo {
    pub(crate) name: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) license: Option<String>,
    pub(crate) vermagic: Option<String>,
    pub(crate) intree: bool,
}

/// Parses a `.modinfo` section: NUL-separated `key=value` strings.
pub(crate) fn parse(section: &[u8]) -> ModInfo {
    let section = section.get(..MAX_MODINFO_BYTES).unwrap_or(section);
    let mut info = ModInfo::default();
    for entry in section.split(|byte| *byte == 0) {
        let Ok(entry) = std::str::from_utf8(entry) else {
            continue;
        };
        let Some((key, value)) = entry.split_once('=') else {
            continue;
        };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let value: String = value.chars().take(MAX_VALUE_CHARS).collect();
        match key {
            "name" => info.name = Some(value),
            "version" => info.version = Some(value),
            "license" => info.license = Some(value),
            "vermagic" => info.vermagic = Some(value),
            "intree" => info.intree = value == "Y",
            _ => {}
        }
    }
    info
}

/// The kernel release `vermagic` starts with, as (major, minor).
fn kernel_release(vermagic: &str) -> Option<(u32, u32)> {
    let release = vermagic.split_whitespace().next()?;
    let mut parts = release.split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// The component a module is, when it is not part of the kernel (see the module docs).
pub(crate) fn finding(info: &ModInfo, file_name: &str, location: &str) -> Option<Finding> {
    if info.intree {
        return None;
    }
    let marks_in_tree = info
        .vermagic
        .as_deref()
        .and_then(kernel_release)
        .is_some_and(|release| release >= (3, 2));
    if !marks_in_tree && info.version.is_none() {
        return None;
    }
    let name = info
        .name
        .clone()
        .or_else(|| file_name.strip_suffix(".ko").map(str::to_owned))?
        .replace('-', "_")
        .to_lowercase();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    let version = info.version.clone().filter(|version| {
        version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_+~:".contains(&b))
    });
    let matched = match &version {
        Some(version) => format!("{name} version={version}"),
        None => format!("{name} (out-of-tree module)"),
    };
    Some(Finding {
        identity: Identity::generic(name, ComponentKind::DeviceDriver),
        license: info.license.clone(),
        occurrence: Occurrence {
            location: location.to_owned(),
            offset: None,
            matched: Some(matched),
            method: Method::ManifestAnalysis,
            confidence: if version.is_some() {
                Confidence::High
            } else {
                Confidence::Medium
            },
            states: version.clone(),
            count: None,
        },
        version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modinfo(entries: &[&str]) -> Vec<u8> {
        let mut section = Vec::new();
        for entry in entries {
            section.extend_from_slice(entry.as_bytes());
            section.push(0);
        }
        section
    }

    /// A vendor Wi-Fi driver for an old kernel states its own version.
    #[test]
    fn a_vendor_module_with_a_version_is_a_component() {
        let info = parse(&modinfo(&[
            "version=2.4.0.0",
            "license=Proprietary",
            "depends=",
            "vermagic=2.6.33.2 mod_unload MIPS32_R2 32BIT ",
        ]));
        let driver = finding(&info, "rt2860v2_ap.ko", "/lib/modules/rt2860v2_ap.ko").unwrap();
        assert_eq!(driver.identity.name, "rt2860v2_ap");
        assert_eq!(driver.version.as_deref(), Some("2.4.0.0"));
        assert_eq!(driver.license.as_deref(), Some("Proprietary"));
        assert_eq!(driver.identity.kind, ComponentKind::DeviceDriver);
    }

    /// From Linux 3.2 on, a module without `intree=Y` was built outside the kernel tree.
    #[test]
    fn modern_out_of_tree_modules_are_named_in_tree_ones_are_not() {
        let out_of_tree = parse(&modinfo(&[
            "license=GPL",
            "name=8821cu",
            "vermagic=5.10.0-28-armmp SMP mod_unload modversions ARMv7 p2v8 ",
        ]));
        let named = finding(&out_of_tree, "8821cu.ko", "/lib/modules/8821cu.ko").unwrap();
        assert_eq!(
            (named.identity.name.as_str(), named.version),
            ("8821cu", None)
        );
        let in_tree = parse(&modinfo(&[
            "version=7.3.21-k8-NAPI",
            "license=GPL v2",
            "intree=Y",
            "name=e1000",
            "vermagic=6.1.0-18-amd64 SMP preempt mod_unload modversions ",
        ]));
        assert!(finding(&in_tree, "e1000.ko", "/lib/modules/e1000.ko").is_none());
    }

    /// Before 3.2 nothing marks in-tree modules: one without a version of its own is left to the
    /// kernel, as the real netfilter helpers of a TEW-733GR router are.
    #[test]
    fn old_modules_without_a_version_are_the_kernels() {
        let info = parse(&modinfo(&[
            "description=SIP NAT helper",
            "author=Christian Hentschel <chentschel@arnet.com.ar>",
            "license=GPL",
            "depends=nf_conntrack_sip",
            "vermagic=2.6.33.2 mod_unload MIPS32_R2 32BIT ",
        ]));
        assert!(finding(&info, "nf_nat_sip.ko", "/lib/modules/nf_nat_sip.ko").is_none());
    }

    #[test]
    fn hostile_sections() {
        assert_eq!(parse(b""), ModInfo::default());
        let info = parse(b"version=../../etc\0vermagic=9.9\0");
        let named = finding(&info, "x.ko", "/x.ko").unwrap();
        assert_eq!(
            named.version, None,
            "a version with a path in it is not kept"
        );
        let info = parse(b"version=1.0\0name=bad name/..\0vermagic=2.6.1\0");
        assert!(finding(&info, "x.ko", "/x.ko").is_none());
        let long = format!("version={}\0", "9".repeat(10_000));
        let info = parse(long.as_bytes());
        assert_eq!(info.version.map(|v| v.len()), Some(MAX_VALUE_CHARS));
    }
}
