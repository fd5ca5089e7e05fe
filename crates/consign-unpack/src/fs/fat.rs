//! FAT12, FAT16 and FAT32: the boot partitions of SD-card devices, EFI system partitions, ESP32
//! data partitions and USB update images.
//!
//! Layout (Microsoft's "FAT32 File System Specification", all little-endian): a boot sector whose
//! BIOS parameter block gives the sector and cluster sizes, the reserved sectors, the number and
//! size of the file allocation tables (FATs) and, on FAT12 and FAT16, a fixed root directory
//! region; then the data area, cut into clusters numbered from 2. A file's or directory's
//! contents follow its cluster chain: the FAT entry of each cluster names the next one or marks
//! the end. Directories are arrays of 32-byte entries; a long (VFAT) name is a run of entries
//! before the short 8.3 one, each holding 13 UTF-16 units and the short name's checksum.
//!
//! Supported: FAT12, FAT16 and FAT32, the type decided by the count of clusters as the
//! specification says (under 4085 FAT12, under 65525 FAT16, else FAT32), never by the type
//! string, so no volume is read as FAT12 with more than 4084 clusters; sectors of 512 to 4096
//! bytes and any power-of-two cluster size; FAT32's root directory chain and its active FAT when
//! mirroring is off; long names with their checksum, falling back to the 8.3 name (with the case
//! bits Windows NT keeps in byte 12, bytes past ASCII read as code page 437, as Linux reads them
//! by default) when the long name is missing or broken. Directories get mode `0o755`, files
//! `0o644`, or `0o444` with the read-only attribute; the mtime is the last write time, a local
//! time of an unknown zone read as UTC.
//!
//! Not read: exFAT (another on-disk format, with `EXFAT   ` at offset 3; not carved), the
//! second FAT (never compared with the first or used when it is damaged), the backup boot sector
//! of FAT32, the `FSInfo` sector, the dirty bits, creation and access times, the hidden, system
//! and archive attributes, and partition tables (the carver finds each filesystem inside a disk
//! image by its boot sector's type string). Not taken for FAT: a boot sector without the jump
//! (`0xeb ?? 0x90` or `0xe9`) or the `0x55 0xaa` signature at 510 (DOS 1.x disks, some non-x86
//! formatters), a volume whose FAT is too small for its clusters or does not start with the
//! media byte, a FAT32 boot sector with FAT12/16 fields set. Whatever a hostile volume does
//! with its chains is bounded: the FAT is read lazily, entry by entry, and the only table the
//! reader allocates has a bit for each cluster the data holds; every cluster is read at most once
//! in the whole volume, so a chain that loops is cut where it meets itself and a chain that
//! reaches another file's or directory's cluster (cross-linked) is refused there, each with a cut
//! naming what was not read; a directory read a second time (one that contains itself or its
//! ancestor) is not entered again.

use std::collections::HashMap;

use bytes::Bytes;
use consign_model::{CutReason, Diagnostic, NodeKind};

use super::{Claimed, FsEntry, FsListing, Probe};
use crate::Budget;
use crate::binary::{u16le, u32le};
use crate::formats::zip::dos_time;

/// How deep directories may nest before the walk stops.
const MAX_DEPTH: usize = 512;
/// Bytes of one directory entry.
const ENTRY: usize = 32;
/// The specification allows a directory 65,536 entries (2 MiB); a longer chain is damage.
const MAX_DIR_BYTES: u64 = 65_536 * ENTRY as u64;
/// FAT32's largest cluster count: cluster numbers from `0x0fff_fff7` on mean bad or end.
const MAX_FAT32_CLUSTERS: u64 = 0x0fff_fff5;

const ATTR_READ_ONLY: u8 = 0x01;
const ATTR_VOLUME_ID: u8 = 0x08;
const ATTR_DIRECTORY: u8 = 0x10;
/// Read-only, hidden, system and volume together mark a long-name entry (under the mask `0x3f`).
const ATTR_LONG_NAME: u8 = 0x0f;
const LAST_LONG_ENTRY: u8 = 0x40;
/// Byte 12 of a short entry, as Windows NT writes it: the base name, the extension in lower case.
const NT_LOWER_BASE: u8 = 0x08;
const NT_LOWER_EXT: u8 = 0x10;

/// The FAT variant, by the width of its entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FatType {
    Fat12,
    Fat16,
    Fat32,
}

impl FatType {
    fn name(self) -> &'static str {
        match self {
            FatType::Fat12 => "FAT12",
            FatType::Fat16 => "FAT16",
            FatType::Fat32 => "FAT32",
        }
    }

    /// Bits of one FAT entry.
    fn bits(self) -> u64 {
        match self {
            FatType::Fat12 => 12,
            FatType::Fat16 => 16,
            FatType::Fat32 => 32,
        }
    }

    /// The smallest entry value that marks the end of a chain.
    fn end(self) -> u32 {
        match self {
            FatType::Fat12 => 0xff8,
            FatType::Fat16 => 0xfff8,
            FatType::Fat32 => 0x0fff_fff8,
        }
    }
}

/// The checked geometry of a volume, from its boot sector.
#[derive(Debug)]
struct Volume {
    kind: FatType,
    /// Bytes per cluster.
    cluster_size: usize,
    /// Where the FAT that is read starts (the active one).
    fat_offset: u64,
    /// Bytes of one FAT.
    fat_bytes: u64,
    /// FAT12 and FAT16: the fixed root directory region, as (offset, bytes).
    root_region: (u64, u64),
    /// FAT32: the root directory's first cluster.
    root_cluster: u32,
    /// Where cluster 2 starts.
    data_offset: u64,
    /// How many data clusters there are (numbered from 2).
    clusters: u32,
    /// Bytes the filesystem occupies.
    size: u64,
    /// The boot sector's volume label, when it has the extended fields.
    label: String,
}

/// Reads and checks the boot sector at the start of `data`.
fn read_volume(data: &[u8]) -> Option<Volume> {
    let boot = data.get(..512)?;
    let jump =
        (boot.first() == Some(&0xeb) && boot.get(2) == Some(&0x90)) || boot.first() == Some(&0xe9);
    if !jump || boot.get(510..512) != Some(&[0x55, 0xaa]) {
        return None;
    }
    let bytes_per_sector = u16le(boot, 11)?;
    if !bytes_per_sector.is_power_of_two() || !(512..=4096).contains(&bytes_per_sector) {
        return None;
    }
    let sectors_per_cluster = *boot.get(13)?;
    let reserved = u16le(boot, 14)?;
    let n_fats = *boot.get(16)?;
    let root_entries = u16le(boot, 17)?;
    let total16 = u16le(boot, 19)?;
    let media = *boot.get(21)?;
    let fat_size16 = u16le(boot, 22)?;
    let total32 = u32le(boot, 32)?;
    if !sectors_per_cluster.is_power_of_two()
        || reserved == 0
        || !(1..=4).contains(&n_fats)
        || (media != 0xf0 && media < 0xf8)
    {
        return None;
    }
    let fat_size = if fat_size16 == 0 {
        u32le(boot, 36)?
    } else {
        u32::from(fat_size16)
    };
    let total = if total16 == 0 {
        total32
    } else {
        u32::from(total16)
    };
    if fat_size == 0 || total == 0 {
        return None;
    }
    let sector = u64::from(bytes_per_sector);
    let root_sectors = (u64::from(root_entries) * ENTRY as u64).div_ceil(sector);
    let fats = u64::from(n_fats) * u64::from(fat_size);
    let meta = u64::from(reserved) + fats + root_sectors;
    let clusters = u64::from(total).checked_sub(meta)? / u64::from(sectors_per_cluster);
    let kind = match clusters {
        0 => return None,
        1..4085 => FatType::Fat12,
        4085..65525 => FatType::Fat16,
        _ => FatType::Fat32,
    };
    // FAT32 has no fixed root directory and keeps its sizes in the 32-bit fields only; FAT12 and
    // FAT16 must have the fixed root. The extended fields (drive, signature, label) follow.
    let (root_cluster, ext_flags, extended) = if kind == FatType::Fat32 {
        let root = u32le(boot, 44)?;
        if root_entries != 0
            || fat_size16 != 0
            || total16 != 0
            || clusters > MAX_FAT32_CLUSTERS
            || root < 2
            || u64::from(root) >= clusters + 2
        {
            return None;
        }
        (root, u16le(boot, 40)?, 0x40)
    } else {
        if root_entries == 0 {
            return None;
        }
        (0, 0, 0x24)
    };
    let fat_bytes = u64::from(fat_size) * sector;
    if fat_bytes * 8 < (clusters + 2) * kind.bits() {
        return None;
    }
    // With mirroring off (bit 7), FAT32 keeps one FAT current and the others stale.
    let active = match ext_flags & 0x0f {
        active if ext_flags & 0x80 != 0 && u64::from(active) < u64::from(n_fats) => active,
        _ => 0,
    };
    let fat_offset = u64::from(reserved) * sector + u64::from(active) * fat_bytes;
    // The first FAT entry repeats the media byte. A type string that happens to sit in a
    // program's data, even after a plausible boot sector, has no FAT behind it.
    if usize::try_from(fat_offset).ok().and_then(|at| data.get(at)) != Some(&media) {
        return None;
    }
    let label = if boot.get(extended + 2) == Some(&0x29) {
        oem_string(boot.get(extended + 7..extended + 18)?)
    } else {
        String::new()
    };
    Some(Volume {
        kind,
        cluster_size: usize::from(bytes_per_sector) * usize::from(sectors_per_cluster),
        fat_offset,
        fat_bytes,
        root_region: (
            (u64::from(reserved) + fats) * sector,
            u64::from(root_entries) * ENTRY as u64,
        ),
        root_cluster,
        data_offset: meta * sector,
        clusters: clusters as u32,
        size: u64::from(total) * sector,
        label,
    })
}

/// Checks for a FAT boot sector, and a FAT behind it, at the start of `data`.
pub fn probe(data: &[u8]) -> Option<Probe> {
    let volume = read_volume(data)?;
    Some(Probe {
        format: "fat",
        size: Some(volume.size),
        description: format!(
            "{}, volume {:?}, {} clusters of {} bytes",
            volume.kind.name(),
            volume.label,
            volume.clusters,
            volume.cluster_size
        ),
    })
}

/// Code page 437 from 0x80 on: how Linux reads the bytes of short names by default.
const CP437_HIGH: [char; 128] = [
    'Ç', 'ü', 'é', 'â', 'ä', 'à', 'å', 'ç', 'ê', 'ë', 'è', 'ï', 'î', 'ì', 'Ä', 'Å', //
    'É', 'æ', 'Æ', 'ô', 'ö', 'ò', 'û', 'ù', 'ÿ', 'Ö', 'Ü', '¢', '£', '¥', '₧', 'ƒ', //
    'á', 'í', 'ó', 'ú', 'ñ', 'Ñ', 'ª', 'º', '¿', '⌐', '¬', '½', '¼', '¡', '«', '»', //
    '░', '▒', '▓', '│', '┤', '╡', '╢', '╖', '╕', '╣', '║', '╗', '╝', '╜', '╛', '┐', //
    '└', '┴', '┬', '├', '─', '┼', '╞', '╟', '╚', '╔', '╩', '╦', '╠', '═', '╬', '╧', //
    '╨', '╤', '╥', '╙', '╘', '╒', '╓', '╫', '╪', '┘', '┌', '█', '▄', '▌', '▐', '▀', //
    'α', 'ß', 'Γ', 'π', 'Σ', 'σ', 'µ', 'τ', 'Φ', 'Θ', 'Ω', 'δ', '∞', 'φ', 'ε', '∩', //
    '≡', '±', '≥', '≤', '⌠', '⌡', '÷', '≈', '°', '∙', '·', '√', 'ⁿ', '²', '■', '\u{a0}',
];

fn oem_char(byte: u8) -> char {
    match byte.checked_sub(0x80) {
        Some(high) => CP437_HIGH
            .get(usize::from(high))
            .copied()
            .unwrap_or(char::REPLACEMENT_CHARACTER),
        None => char::from(byte),
    }
}

/// A space-padded OEM string (a label, one part of a short name), without its padding.
fn oem_string(raw: &[u8]) -> String {
    let len = raw
        .iter()
        .rposition(|&b| b != b' ')
        .map_or(0, |last| last + 1);
    raw.iter().take(len).copied().map(oem_char).collect()
}

/// The 8.3 name of a short entry: base and extension without padding, each in lower case when
/// byte 12 says so, joined by a dot when there is an extension.
fn short_name(raw: [u8; 11], case: u8) -> String {
    let mut raw = raw;
    // 0xe5 marks a deleted entry, so a name starting with that byte stores 0x05.
    if raw[0] == 0x05 {
        raw[0] = 0xe5;
    }
    let part = |bytes: &[u8], lower: bool| {
        let bytes: Vec<u8> = if lower {
            bytes.to_ascii_lowercase()
        } else {
            bytes.to_vec()
        };
        oem_string(&bytes)
    };
    let base = part(&raw[..8], case & NT_LOWER_BASE != 0);
    let ext = part(&raw[8..], case & NT_LOWER_EXT != 0);
    if ext.is_empty() {
        base
    } else {
        format!("{base}.{ext}")
    }
}

/// The checksum of a short name that each of its long-name entries repeats.
fn short_checksum(raw: &[u8; 11]) -> u8 {
    raw.iter()
        .fold(0u8, |sum, &byte| sum.rotate_right(1).wrapping_add(byte))
}

/// A long name being gathered from its entries, last part first.
struct LongName {
    checksum: u8,
    /// The sequence number the next entry must have (0 once the first part is read).
    next: u8,
    /// 13 UTF-16 units per entry.
    units: Vec<u16>,
    /// Why it cannot be used, once that is known.
    broken: Option<&'static str>,
}

impl LongName {
    fn broken(why: &'static str) -> Self {
        LongName {
            checksum: 0,
            next: 0,
            units: Vec::new(),
            broken: Some(why),
        }
    }

    /// Adds one long-name entry.
    fn add(&mut self, entry: &[u8]) {
        if self.broken.is_some() {
            return;
        }
        let seq = entry.first().map_or(0, |ord| ord & 0x1f);
        if seq == 0
            || seq != self.next
            || entry.get(13) != Some(&self.checksum)
            || entry.get(12) != Some(&0)
            || u16le(entry, 26) != Some(0)
        {
            self.broken = Some("its entries are out of order or disagree");
            return;
        }
        let start = usize::from(seq - 1) * 13;
        let offsets = (1..11)
            .step_by(2)
            .chain((14..26).step_by(2))
            .chain([28, 30]);
        for (slot, at) in offsets.enumerate() {
            if let (Some(unit), Some(value)) = (self.units.get_mut(start + slot), u16le(entry, at))
            {
                *unit = value;
            }
        }
        self.next -= 1;
    }

    /// The name, if it is whole and belongs to the short entry with `checksum`.
    fn finish(self, checksum: u8) -> Result<String, &'static str> {
        if let Some(why) = self.broken {
            return Err(why);
        }
        if self.next != 0 {
            return Err("some of its entries are missing");
        }
        if self.checksum != checksum {
            return Err("its checksum is not the short name's");
        }
        // The name ends at a NUL unit, then 0xffff pads the last entry.
        let len = self
            .units
            .iter()
            .position(|&unit| unit == 0 || unit == 0xffff)
            .unwrap_or(self.units.len());
        let units = self.units.get(..len).unwrap_or_default();
        if units.is_empty() {
            return Err("it is empty");
        }
        Ok(String::from_utf16_lossy(units))
    }
}

/// One directory entry with its name.
struct DirEntry {
    name: String,
    /// Why the long name was not used, when there was one.
    long_name_problem: Option<&'static str>,
    attr: u8,
    cluster: u32,
    size: u32,
    mtime: Option<i64>,
    /// Where the short entry sits in the image.
    offset: u64,
}

/// The entries of a directory, read from its pieces (the fixed root region, or its clusters) in
/// order: long names joined to their short entries; deleted entries, long-name leftovers, volume
/// labels, `.` and `..` left out; the first entry starting with a NUL byte ends the directory.
struct DirEntries<'p, 'a> {
    pieces: &'p [(u64, &'a [u8])],
    piece: usize,
    at: usize,
    kind: FatType,
    long: Option<LongName>,
}

impl Iterator for DirEntries<'_, '_> {
    type Item = DirEntry;

    fn next(&mut self) -> Option<DirEntry> {
        loop {
            let &(base, piece) = self.pieces.get(self.piece)?;
            // Clusters hold whole entries; a piece cut short by the image's end does not.
            let Some(entry) = piece.get(self.at..self.at + ENTRY) else {
                self.piece += 1;
                self.at = 0;
                continue;
            };
            let offset = base + self.at as u64;
            self.at += ENTRY;
            let raw: [u8; 11] = entry.get(..11)?.try_into().ok()?;
            let attr = *entry.get(11)?;
            match raw[0] {
                0x00 => {
                    self.pieces = &[];
                    return None;
                }
                0xe5 => {
                    self.long = None;
                    continue;
                }
                _ => {}
            }
            if attr & 0x3f == ATTR_LONG_NAME {
                let ord = raw[0];
                if ord & LAST_LONG_ENTRY != 0 {
                    let count = ord & 0x1f;
                    self.long = Some(if (1..=20).contains(&count) {
                        LongName {
                            checksum: *entry.get(13)?,
                            next: count,
                            units: vec![0xffff; usize::from(count) * 13],
                            broken: None,
                        }
                    } else {
                        LongName::broken("its entry count is out of range")
                    });
                } else if self.long.is_none() {
                    self.long = Some(LongName::broken("its last part is missing"));
                }
                if let Some(long) = &mut self.long {
                    long.add(entry);
                }
                continue;
            }
            let long = self.long.take();
            if attr & ATTR_VOLUME_ID != 0 || &raw == b".          " || &raw == b"..         " {
                continue;
            }
            let (name, long_name_problem) = match long.map(|long| long.finish(short_checksum(&raw)))
            {
                Some(Ok(name)) => (name, None),
                Some(Err(why)) => (short_name(raw, *entry.get(12)?), Some(why)),
                None => (short_name(raw, *entry.get(12)?), None),
            };
            let high = if self.kind == FatType::Fat32 {
                u32::from(u16le(entry, 20)?) << 16
            } else {
                0
            };
            return Some(DirEntry {
                name,
                long_name_problem,
                attr,
                cluster: high | u32::from(u16le(entry, 26)?),
                size: u32le(entry, 28)?,
                mtime: dos_time(u16le(entry, 24)?, u16le(entry, 22)?),
                offset,
            });
        }
    }
}

/// What a FAT entry says about the cluster after its own.
#[derive(Debug, PartialEq, Eq)]
enum Link {
    Next(u32),
    End,
    Free,
    Bad,
    /// 1, or a cluster number past the data area.
    Outside(u32),
}

/// Why a cluster chain stopped.
#[derive(Debug)]
enum Stop {
    /// As many bytes as were wanted were read.
    Enough,
    /// The chain's end mark.
    End,
    /// The chain reached one of its own clusters again; `at` is the FAT entry naming it.
    Loop { cluster: u32, at: u64 },
    /// The chain reached a cluster another chain already holds.
    Shared { cluster: u32, at: u64 },
    /// The chain breaks there.
    Broken { why: String, at: u64 },
}

/// A cluster chain as far as it was read: each cluster's bytes (views into the image, the last
/// one cut to what was wanted) with its offset, and why it stopped.
struct Chain<'a> {
    pieces: Vec<(u64, &'a [u8])>,
    len: u64,
    stop: Stop,
}

struct Reader<'a> {
    data: &'a [u8],
    volume: Volume,
}

impl<'a> Reader<'a> {
    /// Where the FAT entry of `cluster` starts.
    fn entry_offset(&self, cluster: u32) -> u64 {
        let n = u64::from(cluster);
        self.volume.fat_offset
            + match self.volume.kind {
                FatType::Fat12 => n + n / 2,
                FatType::Fat16 => 2 * n,
                FatType::Fat32 => 4 * n,
            }
    }

    /// The FAT entry of `cluster`, read where it lies (12-bit entries are packed, two in three
    /// bytes).
    fn link(&self, cluster: u32) -> Result<Link, String> {
        let at = self.entry_offset(cluster);
        let past = || format!("the FAT entry of cluster {cluster} lies past the end of the image");
        // A 12-bit entry is read as the two bytes it shares with its neighbour.
        let width = match self.volume.kind {
            FatType::Fat12 | FatType::Fat16 => 2,
            FatType::Fat32 => 4,
        };
        if at + width > self.volume.fat_offset + self.volume.fat_bytes {
            return Err(format!("cluster {cluster} has no FAT entry"));
        }
        let at = usize::try_from(at).map_err(|_| past())?;
        let value = match self.volume.kind {
            FatType::Fat12 => {
                let pair = u16le(self.data, at).ok_or_else(past)?;
                u32::from(if cluster % 2 == 1 {
                    pair >> 4
                } else {
                    pair & 0xfff
                })
            }
            FatType::Fat16 => u32::from(u16le(self.data, at).ok_or_else(past)?),
            // The top four bits are reserved.
            FatType::Fat32 => u32le(self.data, at).ok_or_else(past)? & 0x0fff_ffff,
        };
        let end = self.volume.kind.end();
        Ok(match value {
            0 => Link::Free,
            value if value >= end => Link::End,
            value if value == end - 1 => Link::Bad,
            value if value >= 2 && value - 2 < self.volume.clusters => Link::Next(value),
            value => Link::Outside(value),
        })
    }

    /// Where `cluster` starts.
    fn cluster_offset(&self, cluster: u32) -> u64 {
        self.volume.data_offset + u64::from(cluster - 2) * self.volume.cluster_size as u64
    }

    /// How many clusters the image holds, whole or in part (their bits in [`Claimed`]).
    fn claimed(&self) -> Claimed {
        let present = (self.data.len() as u64)
            .saturating_sub(self.volume.data_offset)
            .div_ceil(self.volume.cluster_size as u64)
            .min(u64::from(self.volume.clusters))
            + 2;
        Claimed::new(present)
    }

    /// Follows the chain from `first` until `want` bytes are read, the chain ends or breaks.
    /// Every cluster read is claimed: a chain never reads a cluster another has read.
    fn chain(&self, first: u32, want: u64, claimed: &mut Claimed) -> Chain<'a> {
        let mut chain = Chain {
            pieces: Vec::new(),
            len: 0,
            stop: Stop::Enough,
        };
        let mut cluster = first;
        // The FAT entry that named `cluster` (none for the first: the directory entry does).
        let mut named_at = None;
        while chain.len < want {
            if cluster < 2 || cluster - 2 >= self.volume.clusters {
                chain.stop = Stop::Broken {
                    why: format!(
                        "cluster {cluster} is outside the data area (clusters 2 to {})",
                        u64::from(self.volume.clusters) + 1
                    ),
                    at: named_at.unwrap_or(0),
                };
                return chain;
            }
            let offset = self.cluster_offset(cluster);
            let take = (want - chain.len).min(self.volume.cluster_size as u64);
            let piece = usize::try_from(offset)
                .ok()
                .and_then(|start| self.data.get(start..start.saturating_add(take as usize)));
            let Some(piece) = piece else {
                chain.stop = Stop::Broken {
                    why: format!("cluster {cluster} at {offset:#x} lies past the end of the image"),
                    at: offset,
                };
                return chain;
            };
            if claimed.has(u64::from(cluster)) {
                let at = named_at.unwrap_or(offset);
                chain.stop = if chain.pieces.iter().any(|&(start, _)| start == offset) {
                    Stop::Loop { cluster, at }
                } else {
                    Stop::Shared { cluster, at }
                };
                return chain;
            }
            claimed.set(u64::from(cluster));
            chain.pieces.push((offset, piece));
            chain.len += take;
            if chain.len == want {
                break;
            }
            let at = self.entry_offset(cluster);
            let why = match self.link(cluster) {
                Ok(Link::Next(next)) => {
                    named_at = Some(at);
                    cluster = next;
                    continue;
                }
                Ok(Link::End) => {
                    chain.stop = Stop::End;
                    return chain;
                }
                Ok(Link::Free) => format!("the FAT marks cluster {cluster}'s successor free"),
                Ok(Link::Bad) => format!("the FAT marks cluster {cluster}'s successor bad"),
                Ok(Link::Outside(next)) => format!(
                    "the FAT names cluster {next} after cluster {cluster}, outside the data area (clusters 2 to {})",
                    u64::from(self.volume.clusters) + 1
                ),
                Err(why) => why,
            };
            chain.stop = Stop::Broken { why, at };
            return chain;
        }
        chain
    }
}

/// Says why a chain stopped before `want` bytes, for a cut: the message (without what was not
/// read), its offset and the reason. `None` when nothing is missing.
fn chain_problem(stop: &Stop, clusters: usize) -> Option<(String, u64, CutReason)> {
    match stop {
        Stop::Enough => None,
        Stop::End => Some((
            format!("the cluster chain ends after {clusters} clusters"),
            0,
            CutReason::Truncated,
        )),
        Stop::Loop { cluster, at } => Some((
            format!("the cluster chain comes back to cluster {cluster} (a loop)"),
            *at,
            CutReason::Truncated,
        )),
        Stop::Shared { cluster, at } => Some((
            format!(
                "the cluster chain reaches cluster {cluster}, which another file or directory holds (cross-linked chains are refused)"
            ),
            *at,
            CutReason::Refused,
        )),
        Stop::Broken { why, at } => Some((why.clone(), *at, CutReason::Truncated)),
    }
}

/// Where a directory's entries are.
#[derive(Clone, Copy)]
enum DirAt {
    /// FAT12 and FAT16: the fixed region after the FATs.
    FixedRoot,
    /// The directory's first cluster.
    Cluster(u32),
}

/// Parses a FAT12, FAT16 or FAT32 image at the start of `data`.
pub fn parse(data: &[u8], budget: &Budget) -> FsListing {
    let mut listing = FsListing::default();
    let Some(volume) = read_volume(data) else {
        listing.diagnostics.push(
            Diagnostic::warning(
                "",
                "not a FAT image (no boot sector with a valid BIOS parameter block and a FAT behind it)",
            )
            .at(0),
        );
        return listing;
    };
    listing.size = Some(volume.size);
    if volume.size > data.len() as u64 {
        listing.diagnostics.push(
            Diagnostic::warning(
                "",
                format!(
                    "image is truncated: the boot sector says {} bytes, {} are present",
                    volume.size,
                    data.len()
                ),
            )
            .at(data.len() as u64),
        );
    }
    let root = match volume.kind {
        FatType::Fat32 => DirAt::Cluster(volume.root_cluster),
        FatType::Fat12 | FatType::Fat16 => DirAt::FixedRoot,
    };
    let reader = Reader { data, volume };
    let mut claimed = reader.claimed();
    // Each directory read, by its first cluster, with its path: one reached again is a loop.
    let mut dirs: HashMap<u32, String> = HashMap::new();
    // (directory path, where its entries are, depth, offset of the entry naming it)
    let mut stack = vec![(String::new(), root, 0usize, 0u64)];
    while let Some((dir, at, depth, named_at)) = stack.pop() {
        let Some(pieces) = dir_pieces(
            &reader,
            &dir,
            at,
            named_at,
            &mut dirs,
            &mut claimed,
            &mut listing,
        ) else {
            continue;
        };
        let mut subdirs = Vec::new();
        let entries = DirEntries {
            pieces: &pieces,
            piece: 0,
            at: 0,
            kind: reader.volume.kind,
            long: None,
        };
        for entry in entries {
            if entry.name.is_empty() {
                listing.diagnostics.push(
                    Diagnostic::warning(dir.clone(), "directory entry has an empty name; skipped")
                        .at(entry.offset),
                );
                continue;
            }
            let path = format!("{dir}/{}", entry.name);
            if let Err(limit) = budget.take_entry_with(path.len() as u64) {
                listing.cut_rest(path, limit);
                return listing;
            }
            if let Some(why) = entry.long_name_problem {
                listing.diagnostics.push(
                    Diagnostic::warning(
                        path.clone(),
                        format!("the long file name is not used: {why}; the short name stands"),
                    )
                    .at(entry.offset),
                );
            }
            let (kind, mode) = if entry.attr & ATTR_DIRECTORY != 0 {
                if entry.cluster == 0 {
                    // `..` names the root this way; any other directory doing so loops.
                    listing.cut_loop(
                        &path,
                        Some(entry.offset),
                        "the directory names cluster 0, the root directory",
                    );
                } else if depth + 1 > MAX_DEPTH {
                    listing.cut_too_deep(&path, Some(entry.offset), MAX_DEPTH);
                } else {
                    subdirs.push((
                        path.clone(),
                        DirAt::Cluster(entry.cluster),
                        depth + 1,
                        entry.offset,
                    ));
                }
                (NodeKind::Dir, 0o755)
            } else {
                let data = read_file(&reader, &path, &entry, budget, &mut claimed, &mut listing);
                let mode = if entry.attr & ATTR_READ_ONLY != 0 {
                    0o444
                } else {
                    0o644
                };
                (NodeKind::File { data }, mode)
            };
            listing.entries.push(FsEntry {
                path,
                kind,
                mode: Some(mode),
                mtime: entry.mtime,
            });
        }
        stack.extend(subdirs.into_iter().rev());
    }
    listing
}

/// The bytes of a directory's entries, as pieces of the image, with a cut for any part not read.
/// `None` when the directory is not read at all (reached before: a loop).
fn dir_pieces<'a>(
    reader: &Reader<'a>,
    dir: &str,
    at: DirAt,
    named_at: u64,
    dirs: &mut HashMap<u32, String>,
    claimed: &mut Claimed,
    listing: &mut FsListing,
) -> Option<Vec<(u64, &'a [u8])>> {
    match at {
        DirAt::FixedRoot => {
            let (start, len) = reader.volume.root_region;
            let end = (start + len).min(reader.data.len() as u64);
            let piece = reader
                .data
                .get(start as usize..end.max(start) as usize)
                .unwrap_or_default();
            if end < start + len {
                listing.cut(
                    Diagnostic::warning(
                        "/",
                        format!(
                            "the root directory region ({len} bytes at {start:#x}) lies past the end of the image"
                        ),
                    )
                    .at(end.max(start)),
                    "the rest of the root directory",
                    CutReason::Truncated,
                );
            }
            Some(vec![(start, piece)])
        }
        DirAt::Cluster(cluster) => {
            let shown = if dir.is_empty() { "/" } else { dir };
            if let Some(first) = dirs.get(&cluster) {
                let first = if first.is_empty() { "/" } else { first };
                listing.cut_loop(
                    dir,
                    Some(named_at),
                    &format!("the directory at cluster {cluster} was already read as `{first}`"),
                );
                return None;
            }
            dirs.insert(cluster, dir.to_owned());
            // One byte past the most a directory may hold: reading it means the chain is longer.
            let chain = reader.chain(cluster, MAX_DIR_BYTES + 1, claimed);
            match &chain.stop {
                Stop::End => {}
                Stop::Enough => listing.cut(
                    Diagnostic::warning(
                        shown,
                        format!(
                            "the directory's cluster chain is longer than the {MAX_DIR_BYTES} bytes (65,536 entries) FAT allows; the rest is not read"
                        ),
                    )
                    .at(chain.pieces.last().map_or(0, |piece| piece.0)),
                    "the rest of the directory",
                    CutReason::Refused,
                ),
                stop => {
                    if let Some((why, at, reason)) = chain_problem(stop, chain.pieces.len()) {
                        listing.cut(
                            Diagnostic::warning(
                                shown,
                                format!("{why}; the rest of the directory is not read"),
                            )
                            .at(if at == 0 { named_at } else { at }),
                            "the rest of the directory",
                            reason,
                        );
                    }
                }
            }
            Some(chain.pieces)
        }
    }
}

/// A file's contents along its chain, cut to its size, with a cut for any part not read.
fn read_file(
    reader: &Reader<'_>,
    path: &str,
    entry: &DirEntry,
    budget: &Budget,
    claimed: &mut Claimed,
    listing: &mut FsListing,
) -> Bytes {
    let size = u64::from(entry.size);
    if size == 0 {
        return Bytes::new();
    }
    if entry.cluster == 0 {
        listing.cut(
            Diagnostic::warning(
                path,
                format!("the file has {size} bytes and names no cluster; listed without contents"),
            )
            .at(entry.offset),
            "the file's contents",
            CutReason::Truncated,
        );
        return Bytes::new();
    }
    // Every cluster is read once at most, so a file never holds more than the data area has.
    let readable = size.min((reader.data.len() as u64).saturating_sub(reader.volume.data_offset));
    let reservation = match budget.reserve(readable) {
        Ok(reservation) => reservation,
        Err(limit) => {
            listing.cut(
                Diagnostic::warning(
                    path,
                    format!("{limit}: the file has {size} bytes; listed without contents"),
                )
                .at(entry.offset)
                .with_hint(limit.hint()),
                "the file's contents",
                limit.into(),
            );
            return Bytes::new();
        }
    };
    let chain = reader.chain(entry.cluster, size, claimed);
    let mut bytes = Vec::with_capacity(chain.len as usize);
    for (_, piece) in &chain.pieces {
        bytes.extend_from_slice(piece);
    }
    reservation.commit(bytes.len() as u64);
    if let Some((why, at, reason)) = chain_problem(&chain.stop, chain.pieces.len()) {
        listing.cut(
            Diagnostic::warning(
                path,
                format!("{why}: {} of the file's {size} bytes read", bytes.len()),
            )
            .at(if at == 0 { entry.offset } else { at }),
            "the rest of the file",
            reason,
        );
    }
    Bytes::from(bytes)
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::Limits;
    use crate::fs::test_support::{big_file, cuts, file, flip_each, gunzip, mangle, render};

    fn fixture(kind: &str) -> Vec<u8> {
        gunzip(&format!("fixtures/unpack/fat/{kind}.img.gz"))
    }

    fn read(data: &[u8]) -> FsListing {
        parse(data, &Budget::new(Limits::default()))
    }

    const LONG: &str = "/Überlange Datei – ünïcödé ✓ 日本.txt";

    const TREE: &str = "\
/boot 755 dir
/EFI 755 dir
/a 755 dir
/many 755 dir
/empty.txt 644 file 0
/readonly.txt 444 file 17
/Überlange Datei – ünïcödé ✓ 日本.txt 644 file 23
/boot/config.txt 644 file 31
/boot/kernel8.img 644 file 10400
/EFI/BOOT 755 dir
/EFI/BOOT/BOOTX64.EFI 644 file 33
/a/b 755 dir
/a/b/c 755 dir
/a/b/c/d 755 dir
/a/b/c/d/deep.txt 644 file 10
/many/entry-number-00.txt 644 file 0
/many/entry-number-01.txt 644 file 0
/many/entry-number-02.txt 644 file 0
/many/entry-number-03.txt 644 file 0
/many/entry-number-04.txt 644 file 0
/many/entry-number-05.txt 644 file 0
/many/entry-number-06.txt 644 file 0
/many/entry-number-07.txt 644 file 0
/many/entry-number-08.txt 644 file 0
/many/entry-number-09.txt 644 file 0
/many/entry-number-10.txt 644 file 0
/many/entry-number-11.txt 644 file 0
";

    /// The offset of the short entry named `name` (as stored: 11 bytes, space-padded).
    fn entry_at(data: &[u8], name: &[u8; 11]) -> usize {
        (0..data.len() - ENTRY)
            .step_by(ENTRY)
            .find(|&at| &data[at..at + 11] == name)
            .unwrap()
    }

    fn cluster_of(data: &[u8], name: &[u8; 11]) -> u32 {
        let at = entry_at(data, name);
        u32::from(u16le(data, at + 26).unwrap()) | (u32::from(u16le(data, at + 20).unwrap()) << 16)
    }

    /// Writes a packed 12-bit entry of the fixture's first FAT (one reserved sector before it).
    fn set_fat12(data: &mut [u8], cluster: u32, value: u16) {
        let at = 512 + (cluster + cluster / 2) as usize;
        let pair = u16::from_le_bytes([data[at], data[at + 1]]);
        let pair = if cluster % 2 == 1 {
            (pair & 0x000f) | (value << 4)
        } else {
            (pair & 0xf000) | (value & 0x0fff)
        };
        data[at..at + 2].copy_from_slice(&pair.to_le_bytes());
    }

    #[test]
    fn fixtures_fat12_fat16_fat32() {
        for (kind, description, size) in [
            (
                "fat12",
                "FAT12, volume \"CONSIGN\", 1004 clusters of 1024 bytes",
                1 << 20,
            ),
            (
                "fat16",
                "FAT16, volume \"CONSIGN\", 8167 clusters of 2048 bytes",
                16 << 20,
            ),
            (
                "fat32",
                "FAT32, volume \"CONSIGN\", 68528 clusters of 512 bytes",
                34 << 20,
            ),
        ] {
            let data = fixture(kind);
            assert_eq!(probe(&data).unwrap().description, description);
            let listing = read(&data);
            assert_eq!(listing.size, Some(size), "{kind}");
            assert_eq!(listing.diagnostics, Vec::new(), "{kind}");
            assert_eq!(listing.cuts, Vec::new(), "{kind}");
            assert_eq!(render(&listing), TREE, "{kind}");
            assert_eq!(file(&listing, "/boot/kernel8.img"), big_file(), "{kind}");
            assert_eq!(
                file(&listing, "/boot/config.txt"),
                b"arm_64bit=1\nkernel=kernel8.img\n"
            );
            assert_eq!(file(&listing, LONG), b"a long name in Unicode\n");
            assert_eq!(file(&listing, "/a/b/c/d/deep.txt"), b"deep file\n");
            assert_eq!(file(&listing, "/readonly.txt"), b"do not change me\n");
            for entry in &listing.entries {
                // 2001-02-03T04:05:06Z, set apart by the recipe; the rest at SOURCE_DATE_EPOCH.
                let want = if entry.path == "/readonly.txt" {
                    981_173_106
                } else {
                    1_700_000_000
                };
                assert_eq!(entry.mtime, Some(want), "{kind} {}", entry.path);
            }
            // What the fixture must hold for the names above to test anything: `config.txt` as
            // an uppercase short name with the NT lower-case bits and no long name before it,
            // the long name with a code page 437 short name, and the deleted file's entry.
            let config = entry_at(&data, b"CONFIG  TXT");
            assert_eq!(data[config + 12], NT_LOWER_BASE | NT_LOWER_EXT);
            assert_ne!(data[config - ENTRY + 11], ATTR_LONG_NAME);
            entry_at(&data, b"\x9aBERLA~1TXT");
            entry_at(&data, b"\xe5ELETED TXT");
        }
    }

    #[test]
    fn fat12_entries_are_read_packed() {
        let data = fixture("fat12");
        let reader = Reader {
            volume: read_volume(&data).unwrap(),
            data: &data,
        };
        // mtools laid `kernel8.img` (11 clusters of 1 KiB) out in one run: odd and even entries.
        let first = cluster_of(&data, b"KERNEL8 IMG");
        for cluster in first..first + 10 {
            assert_eq!(reader.link(cluster), Ok(Link::Next(cluster + 1)));
        }
        assert_eq!(reader.link(first + 10), Ok(Link::End));
        assert_eq!(reader.link(1000), Ok(Link::Free));
        // The test's own writer agrees with the reader, for both halves of a byte pair.
        let mut data = data.clone();
        for (cluster, value) in [(700, 0xabc), (701, 0x123), (702, 0xff7), (703, 0xff0)] {
            set_fat12(&mut data, cluster, value);
        }
        let reader = Reader {
            volume: read_volume(&data).unwrap(),
            data: &data,
        };
        assert_eq!(reader.link(700), Ok(Link::Outside(0xabc)));
        assert_eq!(reader.link(701), Ok(Link::Next(0x123)));
        assert_eq!(reader.link(702), Ok(Link::Bad));
        assert_eq!(reader.link(703), Ok(Link::Outside(0xff0)));
        // The FAT's 3 sectors have room for 1024 entries, past the 1006 clusters.
        assert_eq!(reader.link(1023), Ok(Link::Free));
        assert_eq!(
            reader.link(1024),
            Err("cluster 1024 has no FAT entry".to_owned())
        );
    }

    #[test]
    fn a_chain_that_loops_is_cut() {
        let mut data = fixture("fat12");
        let first = cluster_of(&data, b"KERNEL8 IMG");
        set_fat12(&mut data, first + 3, (first + 1) as u16);
        let listing = read(&data);
        assert_eq!(file(&listing, "/boot/kernel8.img"), &big_file()[..4096]);
        assert_eq!(
            cuts(&listing),
            [format!(
                "/boot/kernel8.img @{:#x}: the rest of the file (truncated): the cluster chain comes back to cluster {} (a loop): 4096 of the file's 10400 bytes read",
                512 + (first + 3) * 3 / 2,
                first + 1
            )]
        );
        // A chain that comes back to its first cluster at once.
        set_fat12(&mut data, first, first as u16);
        let listing = read(&data);
        assert_eq!(file(&listing, "/boot/kernel8.img"), &big_file()[..1024]);
        assert_eq!(listing.cuts.len(), 1);
    }

    #[test]
    fn a_chain_that_breaks_or_leaves_the_data_is_cut() {
        let pristine = fixture("fat12");
        let first = cluster_of(&pristine, b"KERNEL8 IMG");
        for (value, why) in [
            (
                0xff0,
                "the FAT names cluster 4080 after cluster {c}, outside the data area (clusters 2 to 1005)",
            ),
            (
                1,
                "the FAT names cluster 1 after cluster {c}, outside the data area (clusters 2 to 1005)",
            ),
            (0, "the FAT marks cluster {c}'s successor free"),
            (0xff7, "the FAT marks cluster {c}'s successor bad"),
            (0xfff, "the cluster chain ends after 3 clusters"),
        ] {
            let mut data = pristine.clone();
            set_fat12(&mut data, first + 2, value);
            let listing = read(&data);
            assert_eq!(file(&listing, "/boot/kernel8.img"), &big_file()[..3072]);
            let why = why.replace("{c}", &(first + 2).to_string());
            assert_eq!(
                listing.diagnostics[0].message,
                format!("{why}: 3072 of the file's 10400 bytes read")
            );
            assert_eq!(listing.cuts.len(), 1, "{value:#x}");
        }
        // The image ends inside the file: what is there is read.
        let end = read_volume(&pristine).unwrap().data_offset as usize
            + (first as usize - 2 + 5) * 1024
            + 100;
        let listing = read(&pristine[..end]);
        assert_eq!(file(&listing, "/boot/kernel8.img"), &big_file()[..5120]);
        assert!(
            cuts(&listing).iter().any(|cut| cut.contains("kernel8.img")
                && cut.contains("lies past the end of the image: 5120 of")),
            "{:#?}",
            cuts(&listing)
        );
    }

    #[test]
    fn cross_linked_chains_are_refused() {
        let mut data = fixture("fat12");
        // `/readonly.txt` (in the root, read first) holds its cluster; `kernel8.img` reaches it.
        let first = cluster_of(&data, b"KERNEL8 IMG");
        let shared = cluster_of(&data, b"READONLYTXT");
        set_fat12(&mut data, first + 2, shared as u16);
        let listing = read(&data);
        assert_eq!(file(&listing, "/readonly.txt"), b"do not change me\n");
        assert_eq!(file(&listing, "/boot/kernel8.img"), &big_file()[..3072]);
        assert_eq!(
            cuts(&listing),
            [format!(
                "/boot/kernel8.img @{:#x}: the rest of the file (refused): the cluster chain reaches cluster {shared}, which another file or directory holds (cross-linked chains are refused): 3072 of the file's 10400 bytes read",
                512 + (first + 2) * 3 / 2
            )]
        );
        // Two entries naming the same first cluster: the second gets nothing.
        let mut data = fixture("fat12");
        let at = entry_at(&data, b"KERNEL8 IMG");
        data[at + 26..at + 28].copy_from_slice(&(shared as u16).to_le_bytes());
        let listing = read(&data);
        assert_eq!(file(&listing, "/boot/kernel8.img"), b"");
        assert_eq!(listing.cuts[0].reason, CutReason::Refused);
    }

    #[test]
    fn a_directory_that_contains_itself_is_not_entered_again() {
        let mut data = fixture("fat12");
        let a = cluster_of(&data, b"A          ");
        let b = entry_at(&data, b"B          ");
        data[b + 26..b + 28].copy_from_slice(&(a as u16).to_le_bytes());
        let listing = read(&data);
        assert_eq!(
            cuts(&listing),
            [format!(
                "/a/b @{b:#x}: the directory's entries (duplicate): the directory at cluster {a} was already read as `/a` (a loop); not entered again"
            )]
        );
        assert!(render(&listing).contains("/a/b 755 dir\n"));
        assert!(!render(&listing).contains("/a/b/c"));
        // A subdirectory naming cluster 0, the root of FAT12 and FAT16.
        data[b + 26..b + 28].copy_from_slice(&[0, 0]);
        let listing = read(&data);
        assert_eq!(listing.cuts.len(), 1);
        assert!(
            listing.diagnostics[0]
                .message
                .contains("cluster 0, the root directory (a loop)")
        );
        // FAT32's root is a chain like any directory.
        let mut data = fixture("fat32");
        let root = read_volume(&data).unwrap().root_cluster;
        let c = entry_at(&data, b"C          ");
        data[c + 26..c + 28].copy_from_slice(&(root as u16).to_le_bytes());
        data[c + 20..c + 22].copy_from_slice(&[0, 0]);
        let listing = read(&data);
        assert_eq!(
            cuts(&listing),
            [format!(
                "/a/b/c @{c:#x}: the directory's entries (duplicate): the directory at cluster {root} was already read as `/` (a loop); not entered again"
            )]
        );
        // A directory chain that loops: its entries are read once.
        let mut data = fixture("fat32");
        let many = cluster_of(&data, b"MANY       ");
        let reader = Reader {
            volume: read_volume(&data).unwrap(),
            data: &data,
        };
        let mut last = many;
        while let Ok(Link::Next(next)) = reader.link(last) {
            last = next;
        }
        assert_ne!(last, many, "the fixture's `/many` spans several clusters");
        let at = reader.entry_offset(last) as usize;
        data[at..at + 4].copy_from_slice(&many.to_le_bytes());
        let listing = read(&data);
        assert_eq!(render(&listing), TREE);
        assert_eq!(listing.cuts.len(), 1);
        assert!(
            listing.diagnostics[0]
                .message
                .contains("(a loop); the rest of the directory is not read")
        );
    }

    #[test]
    fn a_broken_long_name_falls_back_to_the_short_name() {
        let pristine = fixture("fat16");
        let short = entry_at(&pristine, b"\x9aBERLA~1TXT");
        for (entries, why) in [
            (&[1, 2, 3][..], "its checksum is not the short name's"),
            (&[2], "its entries are out of order or disagree"),
        ] {
            let mut data = pristine.clone();
            for back in entries {
                data[short - back * ENTRY + 13] ^= 1;
            }
            let listing = read(&data);
            assert_eq!(file(&listing, "/ÜBERLA~1.TXT"), b"a long name in Unicode\n");
            assert_eq!(
                listing.diagnostics[0].message,
                format!("the long file name is not used: {why}; the short name stands")
            );
            assert_eq!(listing.diagnostics[0].offset, Some(short as u64));
        }
        // Its last part deleted: the rest is a leftover.
        let mut data = pristine.clone();
        data[short - 3 * ENTRY] = 0xe5;
        let listing = read(&data);
        assert_eq!(file(&listing, "/ÜBERLA~1.TXT"), b"a long name in Unicode\n");
        assert!(
            listing.diagnostics[0]
                .message
                .contains("its last part is missing")
        );
    }

    /// Long-name entries for `name` before the short entry `short`, as the specification lays
    /// them out (last part first), then the end of the directory.
    fn long_name_entries(name: &str, short: &[u8; 11]) -> Vec<u8> {
        let mut units: Vec<u16> = name.encode_utf16().collect();
        let count = units.len().div_ceil(13);
        if units.len() < count * 13 {
            units.push(0);
        }
        units.resize(count * 13, 0xffff);
        let mut out = Vec::new();
        for seq in (1..=count).rev() {
            let mut entry = [0u8; ENTRY];
            entry[0] = seq as u8 | if seq == count { LAST_LONG_ENTRY } else { 0 };
            entry[11] = ATTR_LONG_NAME;
            entry[13] = short_checksum(short);
            let part = &units[(seq - 1) * 13..seq * 13];
            let offsets = (1..11)
                .step_by(2)
                .chain((14..26).step_by(2))
                .chain([28, 30]);
            for (unit, at) in part.iter().zip(offsets) {
                entry[at..at + 2].copy_from_slice(&unit.to_le_bytes());
            }
            out.extend_from_slice(&entry);
        }
        let mut entry = [0u8; ENTRY];
        entry[..11].copy_from_slice(short);
        entry[11] = 0x20;
        out.extend_from_slice(&entry);
        out.extend_from_slice(&[0; ENTRY]);
        out
    }

    #[track_caller]
    fn check_names(directory: &[u8], expect: &[(&str, Option<&str>)]) {
        let pieces = [(0x1000, directory)];
        let entries = DirEntries {
            pieces: &pieces,
            piece: 0,
            at: 0,
            kind: FatType::Fat16,
            long: None,
        };
        let got: Vec<(String, Option<&str>)> = entries
            .map(|entry| (entry.name, entry.long_name_problem))
            .collect();
        let expect: Vec<(String, Option<&str>)> = expect
            .iter()
            .map(|(name, why)| ((*name).to_owned(), *why))
            .collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn long_names() {
        // Outside the Basic Multilingual Plane (surrogate pairs), exactly 13 units (no NUL), and
        // the longest: 255 units over 20 entries.
        check_names(
            &long_name_entries("firmware-😀.bin", b"FIRMWA~1BIN"),
            &[("firmware-😀.bin", None)],
        );
        check_names(
            &long_name_entries("thirteen-char", b"THIRTE~1   "),
            &[("thirteen-char", None)],
        );
        let longest = "x".repeat(255);
        check_names(
            &long_name_entries(&longest, b"XXXXXX~1   "),
            &[(&longest, None)],
        );
        // A short name starting with 0xe5 stores 0x05; case bits apply per part.
        let mut directory = long_name_entries("a name of more than thirteen", b"\x05BC     TXT");
        directory.drain(..ENTRY);
        check_names(&directory, &[("σBC.TXT", Some("its last part is missing"))]);
        let mut entry = [0u8; ENTRY];
        entry[..11].copy_from_slice(b"README  MD ");
        entry[12] = NT_LOWER_EXT;
        check_names(&entry, &[("README.md", None)]);
        // A long-name entry numbered 0 after a whole name: it once underflowed the slot index
        // (found reading the code, before any fuzzing).
        let mut directory = long_name_entries("name", b"NAME       ");
        directory.splice(ENTRY..ENTRY, directory[..ENTRY].to_vec());
        directory[ENTRY] = 0x20;
        check_names(
            &directory,
            &[("NAME", Some("its entries are out of order or disagree"))],
        );
        // After the end marker, nothing is read.
        let mut directory = vec![0u8; ENTRY];
        directory.extend_from_slice(&entry);
        check_names(&directory, &[]);
    }

    #[test]
    fn truncated_and_damaged_images_never_panic() {
        for kind in ["fat12", "fat16", "fat32"] {
            let data = fixture(kind);
            // Every 509th byte up to the end of what the recipe wrote (zeros follow), and the
            // damage from there on: the 34 MiB of FAT32 zeros would only slow the test.
            let used = data.iter().rposition(|&b| b != 0).unwrap() + 1;
            let data = &data[..(used + 1).next_multiple_of(64 << 10).min(data.len())];
            let cuts: Vec<usize> = (0..used).step_by(509).collect();
            mangle(data, parse, &cuts);
            // Flips over the boot sector, the FATs and the directories.
            let limits = Limits {
                max_total_bytes: 64 << 20,
                ..Limits::default()
            };
            flip_each(
                kind,
                data,
                (0..used).step_by(13),
                parse,
                limits,
                std::time::Duration::from_mins(1),
            );
        }
    }

    #[test]
    fn the_probe_rejects_random_bytes_and_a_stray_type_string() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut random = vec![0u8; 1 << 20];
        for byte in &mut random {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *byte = (state >> 24) as u8;
        }
        for at in (0..random.len() - 512).step_by(97) {
            assert_eq!(probe(&random[at..]), None, "{at}");
        }
        // A program that names the filesystems it knows, the type string where FAT32 keeps it.
        let mut text = b"\xeb\x58\x90mkfs.fat".to_vec();
        text.resize(0x52, b' ');
        text.extend_from_slice(b"FAT32   \0FAT16   \0FAT12   \0exFAT\0vfat\0msdos\0");
        text.resize(4096, b'x');
        assert_eq!(probe(&text), None);
        // A real boot sector with no FAT behind it (a copy kept in a program, say).
        let data = fixture("fat32");
        let mut lone = data[..512].to_vec();
        lone.resize(64 << 10, 0);
        assert_eq!(probe(&lone), None);
        assert_eq!(probe(&data[..512]), None);
        assert!(probe(&data[..16 << 10 | 1]).is_some());
        // exFAT is not FAT.
        let mut exfat = data[..64 << 10].to_vec();
        exfat[3..11].copy_from_slice(b"EXFAT   ");
        exfat[11..64].fill(0);
        assert_eq!(probe(&exfat), None);
        let listing = read(&exfat);
        assert_eq!(listing.entries, Vec::new());
        assert!(
            listing.diagnostics[0]
                .message
                .starts_with("not a FAT image")
        );
    }

    #[test]
    fn limits_are_diagnosed() {
        let data = fixture("fat16");
        crate::fs::test_support::limits_are_diagnosed(&data, parse, "/boot/kernel8.img", 5000, 2);
    }
}
