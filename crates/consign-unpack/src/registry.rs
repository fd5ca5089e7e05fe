//! The one table of formats the carver knows: magic bytes and where they sit in the structure, a
//! header probe and an extractor for each. Adding a format is adding a row here.

use std::sync::OnceLock;

use bytes::Bytes;

use crate::Budget;
use crate::formats::{
    android_boot, android_payload, android_super, ar, arcadyan, cpio, dtb, esp, esp_flash, hexrec,
    kernel, sparse, streams, tar, tplink, trx, uf2, uimage, zip,
};
use crate::fs::{self, FsListing, Probe};

/// One known format.
pub(crate) struct Format {
    /// Short name, as in reports and provenance (a probe may refine it, e.g. `dtb` to `fit`).
    pub(crate) name: &'static str,
    /// Byte strings that mark the format; empty for formats probed only at the start of a file.
    pub(crate) magics: &'static [&'static [u8]],
    /// Where the magic sits, counted from the start of the structure.
    pub(crate) magic_offset: usize,
    /// Header validation; gets the bytes from the structure's start.
    pub(crate) probe: fn(&[u8]) -> Option<Probe>,
    /// Extraction; gets the bytes from the structure's start (cut to its size when known).
    pub(crate) extract: fn(&Bytes, &Budget) -> FsListing,
}

/// Every format, most specific first: when two accept the same offset, the earlier row wins.
pub(crate) static FORMATS: &[Format] = &[
    Format {
        name: "uimage",
        magics: &[&[0x27, 0x05, 0x19, 0x56]],
        magic_offset: 0,
        probe: uimage::probe,
        extract: uimage::extract,
    },
    Format {
        name: "trx",
        magics: &[b"HDR0"],
        magic_offset: 0,
        probe: trx::probe,
        extract: trx::extract,
    },
    Format {
        name: "tplink",
        magics: &[b"\x01\x00\x00\x00TP-LINK", b"\x02\x00\x00\x00TP-LINK"],
        magic_offset: 0,
        probe: tplink::probe,
        extract: tplink::extract,
    },
    Format {
        name: "tplink-img0",
        magics: &[b"IMG0"],
        magic_offset: 0x14,
        probe: tplink::probe_img0,
        extract: tplink::extract_img0,
    },
    Format {
        name: "dtb",
        magics: &[&[0xd0, 0x0d, 0xfe, 0xed]],
        magic_offset: 0,
        probe: dtb::probe,
        extract: dtb::extract,
    },
    Format {
        name: "bzimage",
        magics: &[b"HdrS"],
        magic_offset: 0x202,
        probe: kernel::probe_bzimage,
        extract: kernel::extract_bzimage,
    },
    Format {
        name: "zimage",
        magics: &[&[0x18, 0x28, 0x6f, 0x01]],
        magic_offset: 0x24,
        probe: kernel::probe_zimage,
        extract: kernel::extract_zimage,
    },
    Format {
        name: "android-sparse",
        magics: &[&[0x3a, 0xff, 0x26, 0xed]],
        magic_offset: 0,
        probe: sparse::probe,
        extract: sparse::extract,
    },
    Format {
        name: "squashfs",
        magics: &[b"hsqs", b"sqsh"],
        magic_offset: 0,
        probe: fs::squashfs::probe,
        extract: |data, budget| fs::squashfs::parse(data, budget),
    },
    Format {
        name: "ubi",
        magics: &[b"UBI#"],
        magic_offset: 0,
        probe: fs::ubi::probe,
        extract: |data, budget| fs::ubi::parse(data, budget),
    },
    Format {
        name: "ubifs",
        magics: &[&[0x31, 0x18, 0x10, 0x06]],
        magic_offset: 0,
        probe: fs::ubifs::probe,
        extract: |data, budget| fs::ubifs::parse(data, budget),
    },
    Format {
        name: "cramfs",
        magics: &[&[0x45, 0x3d, 0xcd, 0x28], &[0x28, 0xcd, 0x3d, 0x45]],
        magic_offset: 0,
        probe: fs::cramfs::probe,
        extract: |data, budget| fs::cramfs::parse(data, budget),
    },
    Format {
        name: "romfs",
        magics: &[b"-rom1fs-"],
        magic_offset: 0,
        probe: fs::romfs::probe,
        extract: |data, budget| fs::romfs::parse(data, budget),
    },
    Format {
        name: "ext",
        magics: &[&[0x53, 0xef]],
        magic_offset: 1080,
        probe: fs::ext::probe,
        extract: |data, budget| fs::ext::parse(data, budget),
    },
    // UFS keeps its superblock 8192 bytes in (UFS1, and UFS2 as NetBSD's makefs writes it) or
    // 65536 bytes in (UFS2 as FreeBSD's newfs writes it), `fs_magic` 1372 bytes into it, in the
    // byte order of the machine that made it; both rows report `ufs`.
    Format {
        name: "ufs",
        magics: &[
            &[0x54, 0x19, 0x01, 0x00],
            &[0x00, 0x01, 0x19, 0x54],
            &[0x19, 0x01, 0x54, 0x19],
            &[0x19, 0x54, 0x01, 0x19],
        ],
        magic_offset: fs::ufs::SBLOCK_UFS1 + fs::ufs::MAGIC_AT,
        probe: fs::ufs::probe,
        extract: |data, budget| fs::ufs::parse(data, budget),
    },
    Format {
        name: "ufs2",
        magics: &[&[0x19, 0x01, 0x54, 0x19], &[0x19, 0x54, 0x01, 0x19]],
        magic_offset: fs::ufs::SBLOCK_UFS2 + fs::ufs::MAGIC_AT,
        probe: fs::ufs::probe_ufs2,
        extract: |data, budget| fs::ufs::parse(data, budget),
    },
    Format {
        name: "erofs",
        magics: &[&[0xe2, 0xe1, 0xf5, 0xe0]],
        magic_offset: 1024,
        probe: fs::erofs::probe,
        extract: |data, budget| fs::erofs::parse(data, budget),
    },
    // FAT's boot sector names its type where the BIOS parameter block ends: at 0x36 for FAT12 and
    // FAT16 (the specification allows `FAT     ` there too), at 0x52 for FAT32. The string is only
    // informational, so the probe checks the parameter block and the FAT behind it, and decides
    // the type from the cluster count; both rows report `fat`.
    Format {
        name: "fat",
        magics: &[b"FAT12   ", b"FAT16   ", b"FAT     "],
        magic_offset: 0x36,
        probe: fs::fat::probe,
        extract: |data, budget| fs::fat::parse(data, budget),
    },
    Format {
        name: "fat32",
        magics: &[b"FAT32   "],
        magic_offset: 0x52,
        probe: fs::fat::probe,
        extract: |data, budget| fs::fat::parse(data, budget),
    },
    // ISO 9660's first volume descriptor is at sector 16; `CD001` follows its type byte.
    Format {
        name: "iso9660",
        magics: &[b"CD001"],
        magic_offset: fs::iso9660::MAGIC_AT,
        probe: fs::iso9660::probe,
        extract: |data, budget| fs::iso9660::parse(data, budget),
    },
    Format {
        name: "jffs2",
        magics: &[&[0x85, 0x19], &[0x19, 0x85]],
        magic_offset: 0,
        probe: fs::jffs2::probe,
        extract: |data, budget| fs::jffs2::parse(data, budget),
    },
    Format {
        name: "littlefs",
        magics: &[b"littlefs"],
        magic_offset: 8,
        probe: fs::littlefs::probe,
        extract: |data, budget| fs::littlefs::parse(data, budget),
    },
    Format {
        name: "yaffs2",
        magics: &[],
        magic_offset: 0,
        probe: fs::yaffs2::probe,
        extract: |data, budget| fs::yaffs2::parse(data, budget),
    },
    Format {
        name: "tar",
        magics: &[b"ustar"],
        magic_offset: 257,
        probe: tar::probe,
        extract: tar::extract,
    },
    Format {
        name: "ar",
        magics: &[b"!<arch>\n"],
        magic_offset: 0,
        probe: ar::probe,
        extract: ar::extract,
    },
    Format {
        name: "cpio",
        magics: &[b"070701", b"070702", b"070707"],
        magic_offset: 0,
        probe: cpio::probe,
        extract: cpio::extract,
    },
    Format {
        name: "zip",
        magics: &[b"PK\x03\x04"],
        magic_offset: 0,
        probe: zip::probe,
        extract: zip::extract,
    },
    Format {
        name: "gzip",
        magics: &[&[0x1f, 0x8b, 0x08]],
        magic_offset: 0,
        probe: streams::probe_gzip,
        extract: streams::extract_gzip,
    },
    Format {
        name: "xz",
        magics: &[&[0xfd, b'7', b'z', b'X', b'Z', 0]],
        magic_offset: 0,
        probe: streams::probe_xz,
        extract: streams::extract_xz,
    },
    Format {
        name: "zstd",
        magics: &[&[0x28, 0xb5, 0x2f, 0xfd]],
        magic_offset: 0,
        probe: streams::probe_zstd,
        extract: streams::extract_zstd,
    },
    Format {
        name: "lz4",
        magics: &[&[0x04, 0x22, 0x4d, 0x18]],
        magic_offset: 0,
        probe: streams::probe_lz4,
        extract: streams::extract_lz4,
    },
    Format {
        name: "bzip2",
        magics: &[b"BZh"],
        magic_offset: 0,
        probe: streams::probe_bzip2,
        extract: streams::extract_bzip2,
    },
    Format {
        name: "arcadyan",
        // The LZMA header (0x5d, an 8 MiB dictionary) as the obfuscation leaves it at 0x68.
        magics: &[&[0x00, 0xd5, 0x08, 0x00]],
        magic_offset: 0x68,
        probe: arcadyan::probe,
        extract: arcadyan::extract,
    },
    Format {
        name: "lzma",
        // Properties 0x5d (lc 3, lp 0, pb 2: the LZMA SDK's default) and the lp 2 variants of
        // 32-bit firmware builds (0x6d: lc 1; 0x6e: lc 2, as TP-Link's VxWorks images use), each
        // with a dictionary of a multiple of 64 KiB.
        magics: &[&[0x5d, 0, 0], &[0x6d, 0, 0], &[0x6e, 0, 0]],
        magic_offset: 0,
        probe: streams::probe_lzma,
        extract: streams::extract_lzma,
    },
    // A whole ESP32-family flash image: its partition table, looked for at 4 KiB boundaries, gives
    // partitions by their flash offsets, so it is read from an input's start only, before the
    // bootloader at 0x0 (C3, S3 and later) could be taken for the whole input.
    Format {
        name: "esp-flash",
        magics: &[],
        magic_offset: 0,
        probe: esp_flash::probe,
        extract: esp_flash::extract,
    },
    Format {
        name: "esp-image",
        magics: &[],
        magic_offset: 0,
        probe: esp::probe,
        extract: esp::extract,
    },
    Format {
        // Boot and vendor boot images; the probe says which.
        name: "android-boot",
        magics: &[b"ANDROID!", b"VNDRBOOT"],
        magic_offset: 0,
        probe: android_boot::probe,
        extract: android_boot::extract,
    },
    Format {
        // Dynamic partitions' `super`: liblp's geometry (magic "gDla") 4096 bytes in.
        name: "android-super",
        magics: &[b"gDla"],
        magic_offset: 4096,
        probe: android_super::probe,
        extract: android_super::extract,
    },
    Format {
        // A/B OTA update payloads (`payload.bin` of an OTA zip).
        name: "android-ota-payload",
        magics: &[b"CrAU"],
        magic_offset: 0,
        probe: android_payload::probe,
        extract: android_payload::extract,
    },
    Format {
        name: "uf2",
        // The first two magics of a block, "UF2\n" and 0x9e5d5157, little-endian.
        magics: &[b"UF2\nWQ]\x9e"],
        magic_offset: 0,
        probe: uf2::probe,
        extract: uf2::extract,
    },
    Format {
        // Intel HEX, or Motorola S-records (the probe says which): text, tried at a file's start.
        name: "ihex",
        magics: &[],
        magic_offset: 0,
        probe: hexrec::probe,
        extract: hexrec::extract,
    },
];

/// Every magic of the table, found in one pass: each magic keys on one of its 2-byte windows
/// (the first with the fewest `0x00` and `0xff` bytes, which fill firmware), a pass tests one bit
/// of an 8 KiB table per position, and only where it is set compares the magics keyed there.
/// Unlike an automaton walking its states, no position waits for the previous one, so the
/// processor overlaps them (about an eighth less CPU than the Aho-Corasick DFA it replaced, over
/// the corpus images; text-heavy files meet the letter pairs of `ustar` or `hsqs` often).
pub(crate) struct Magics {
    /// One bit per 2-byte value: set when some magic keys on it.
    filter: Box<[u64; 1 << 10]>,
    /// (key, format index, magic, offset of the key inside the magic), sorted by key.
    keyed: Vec<(u16, usize, &'static [u8], usize)>,
    /// The longest magic's length.
    longest: usize,
}

impl Magics {
    fn new() -> Self {
        let mut filter = Box::new([0u64; 1 << 10]);
        let mut keyed = Vec::new();
        let mut longest = 0;
        for (index, format) in FORMATS.iter().enumerate() {
            for magic in format.magics {
                longest = longest.max(magic.len());
                let Some((offset, key)) = magic
                    .windows(2)
                    .enumerate()
                    .map(|(offset, pair)| (offset, u16::from_le_bytes([pair[0], pair[1]])))
                    .min_by_key(|&(offset, key)| {
                        let filler = key
                            .to_le_bytes()
                            .iter()
                            .filter(|&&byte| byte == 0 || byte == 0xff)
                            .count();
                        (filler, offset)
                    })
                else {
                    continue;
                };
                if let Some(word) = filter.get_mut(usize::from(key) >> 6) {
                    *word |= 1 << (key & 63);
                }
                keyed.push((key, index, *magic, offset));
            }
        }
        keyed.sort_by_key(|&(key, index, _, offset)| (key, index, offset));
        Self {
            filter,
            keyed,
            longest,
        }
    }

    /// The longest magic's length.
    pub(crate) fn longest(&self) -> usize {
        self.longest
    }

    /// Every occurrence of every magic in `data` (overlapping ones included) as `(start of the
    /// magic, format index)`, in no particular order.
    pub(crate) fn find(&self, data: &[u8]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        // Eight positions per step, tested without a branch: a position whose two bytes key a
        // magic is rare, so the loop runs straight through and only a set bit is verified. (A
        // branch per byte ran at less than half this speed.)
        let mut base = 0usize;
        for chunk in data.chunks_exact(8) {
            let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
            let mut keyed = 0u32;
            for k in 0..7 {
                keyed |= u32::from(self.keys((word >> (8 * k)) as u16)) << k;
            }
            // The chunk's last byte pairs with the next chunk's first, when there is one.
            if let Some(&next) = data.get(base + 8) {
                let key = (word >> 56) as u16 | u16::from(next) << 8;
                keyed |= u32::from(self.keys(key)) << 7;
            }
            while keyed != 0 {
                let k = keyed.trailing_zeros() as usize;
                keyed &= keyed - 1;
                self.verify(data, base + k, &mut out);
            }
            base += 8;
        }
        for position in base..data.len().saturating_sub(1) {
            self.verify(data, position, &mut out);
        }
        out
    }

    /// True if some magic keys on the two bytes `key` (little-endian).
    fn keys(&self, key: u16) -> bool {
        self.filter[usize::from(key >> 6)] >> (key & 63) & 1 != 0
    }

    /// Records the magics keyed on the two bytes at `position` that occur in full around it.
    fn verify(&self, data: &[u8], position: usize, out: &mut Vec<(usize, usize)>) {
        let Some(&[low, high]) = data.get(position..position + 2) else {
            return;
        };
        let key = u16::from_le_bytes([low, high]);
        if !self.keys(key) {
            return;
        }
        let first = self.keyed.partition_point(|entry| entry.0 < key);
        for &(entry_key, format, magic, offset) in self.keyed.get(first..).unwrap_or_default() {
            if entry_key != key {
                break;
            }
            let Some(start) = position.checked_sub(offset) else {
                continue;
            };
            if data.get(start..start + magic.len()) == Some(magic) {
                out.push((start, format));
            }
        }
    }
}

/// The finder over every magic of the table, built once.
pub(crate) fn magics() -> &'static Magics {
    static MAGICS: OnceLock<Magics> = OnceLock::new();
    MAGICS.get_or_init(Magics::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every magic of the table with its format's index, and an overlapping Aho-Corasick search
    /// over them: what [`Magics::find`] must agree with.
    fn reference() -> (Vec<&'static [u8]>, Vec<usize>, aho_corasick::AhoCorasick) {
        let mut patterns: Vec<&[u8]> = Vec::new();
        let mut owners = Vec::new();
        for (index, format) in FORMATS.iter().enumerate() {
            for magic in format.magics {
                assert!(magic.len() >= 2, "{}: a magic needs 2 bytes", format.name);
                patterns.push(magic);
                owners.push(index);
            }
        }
        let automaton = aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::Standard)
            .build(&patterns)
            .unwrap();
        (patterns, owners, automaton)
    }

    /// Magic hits as `(start, format index)`.
    type Hits = Vec<(usize, usize)>;

    /// What [`Magics::find`] finds in `data`, and what it should, both sorted.
    fn found_and_expected(
        data: &[u8],
        owners: &[usize],
        automaton: &aho_corasick::AhoCorasick,
    ) -> (Hits, Hits) {
        let mut expected: Vec<(usize, usize)> = automaton
            .find_overlapping_iter(data)
            .map(|hit| (hit.start(), owners[hit.pattern().as_usize()]))
            .collect();
        expected.sort_unstable();
        let mut found = magics().find(data);
        found.sort_unstable();
        (found, expected)
    }

    /// Every magic at every place an overlapping Aho-Corasick search finds it, and nowhere else.
    #[test]
    fn magics_are_found_where_aho_corasick_finds_them() {
        let (patterns, owners, automaton) = reference();
        // Magics whole, cut short and run together, between bytes that start many of them.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut data = Vec::new();
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let pick = usize::try_from(state >> 32).unwrap();
            if pick.is_multiple_of(3) {
                let magic = patterns[pick % patterns.len()];
                data.extend_from_slice(&magic[..=(pick >> 8) % magic.len()]);
            } else {
                data.push([0u8, 0xff, 0x5d, 0x19, 0x85, b'h', b's', b'0', b'7'][(pick >> 4) % 9]);
            }
        }
        let (found, expected) = found_and_expected(&data, &owners, &automaton);
        assert!(expected.len() > 1000);
        assert_eq!(found, expected);
        assert_eq!(magics().longest(), automaton.max_pattern_len());
    }

    /// The search steps eight bytes at a time: a magic is found at every alignment to a step, across
    /// two steps, and in the bytes after the last whole step, up to the data's last byte.
    #[test]
    fn magics_are_found_at_every_alignment_and_at_the_end() {
        let (patterns, owners, automaton) = reference();
        for magic in patterns {
            for before in 0..=17 {
                for after in 0..=9 {
                    let mut data = vec![b'.'; before];
                    data.extend_from_slice(magic);
                    data.extend(std::iter::repeat_n(b'.', after));
                    let (found, expected) = found_and_expected(&data, &owners, &automaton);
                    assert!(expected.iter().any(|&(start, _)| start == before));
                    assert_eq!(
                        found, expected,
                        "{magic:x?} after {before} bytes, {after} after it"
                    );
                }
            }
        }
    }

    #[test]
    fn every_format_has_a_unique_name_and_magics_fit() {
        let mut names: Vec<_> = FORMATS.iter().map(|f| f.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before);
        for format in FORMATS {
            assert!(
                (format.probe)(&[]).is_none(),
                "{} accepts empty input",
                format.name
            );
        }
    }
}
