//! The release and security patch level an Android boot image header packs into its `os_version`
//! (AOSP's `include/bootimg/bootimg.h`): the unpacker reads it to describe the image, detection to
//! name Android, both through this one reader.

use crate::binary::u32le;

/// The magic of a boot image (a vendor boot image's, `VNDRBOOT`, has no `os_version`).
pub const BOOT_MAGIC: &[u8; 8] = b"ANDROID!";

/// What `os_version` states: release `A.B.C` and the patch level's year and month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootOsVersion {
    /// `[A, B, C]`.
    pub release: [u32; 3],
    /// The patch level's year.
    pub patch_year: u32,
    /// The patch level's month; 0 when the header states no patch level.
    pub patch_month: u32,
}

impl BootOsVersion {
    /// Where `os_version` is in a boot image header of `header_version` (itself at offset 40 in
    /// every version): 44 in versions 0-2, 16 in 3 and 4; `None` for versions not defined.
    pub fn offset(header_version: u32) -> Option<usize> {
        match header_version {
            0..=2 => Some(44),
            3 | 4 => Some(16),
            _ => None,
        }
    }

    /// A, B and C in 7 bits each from bit 25, the year since 2000 in 7 bits from bit 4, the month
    /// in the last 4; `None` for 0, a header that states nothing.
    pub fn from_bits(value: u32) -> Option<Self> {
        (value != 0).then(|| Self {
            release: [value >> 25, (value >> 18) & 0x7f, (value >> 11) & 0x7f],
            patch_year: 2000 + ((value >> 4) & 0x7f),
            patch_month: value & 0xf,
        })
    }

    /// The `os_version` of a boot image header at the start of `data`, and its offset; `None` for
    /// other data, a header version not defined, or a header that states nothing.
    pub fn of_header(data: &[u8]) -> Option<(Self, usize)> {
        if !data.starts_with(BOOT_MAGIC) {
            return None;
        }
        let offset = Self::offset(u32le(data, 40)?)?;
        Some((Self::from_bits(u32le(data, offset)?)?, offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_and_offsets() {
        // mkbootimg --os_version 14.0.0 --os_patch_level 2024-01.
        let os = BootOsVersion::from_bits((14 << 25) | (24 << 4) | 1).unwrap();
        assert_eq!(os.release, [14, 0, 0]);
        assert_eq!((os.patch_year, os.patch_month), (2024, 1));
        assert_eq!(BootOsVersion::from_bits(0), None);
        assert_eq!(BootOsVersion::offset(2), Some(44));
        assert_eq!(BootOsVersion::offset(4), Some(16));
        assert_eq!(BootOsVersion::offset(5), None);
        let mut header = vec![0u8; 64];
        header[..8].copy_from_slice(BOOT_MAGIC);
        header[40..44].copy_from_slice(&3u32.to_le_bytes());
        header[16..20].copy_from_slice(&(8u32 << 25 | 1 << 18).to_le_bytes());
        let (os, offset) = BootOsVersion::of_header(&header).unwrap();
        assert_eq!((os.release, offset), ([8, 1, 0], 16));
        assert_eq!(BootOsVersion::of_header(&header[..18]), None);
        assert_eq!(BootOsVersion::of_header(b"VNDRBOOT\x04\0\0\0"), None);
    }
}
