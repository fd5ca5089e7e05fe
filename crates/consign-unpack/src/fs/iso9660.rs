//! ISO 9660: the installer and recovery images of appliances (`OPNsense` and `pfSense` installers,
//! NAS recovery media, set-top boxes).
//!
//! Layout (ECMA-119; Rock Ridge is IEEE P1282 over the System Use Sharing Protocol P1281; Joliet
//! is Microsoft's; El Torito is Phoenix and IBM's boot specification): 2048-byte sectors; volume
//! descriptors from sector 16, each starting with its type and `CD001` (1 primary, 2
//! supplementary, 0 boot record, 255 the end); the primary one holds the logical block size, the
//! volume size and the root directory's record. A directory is an extent of records (length,
//! extent, data length, date, flags, name, then the System Use area), none crossing a sector; a
//! record of length 0 sends the reader to the next sector. Numbers are stored both little- and
//! big-endian: the reader uses the little-endian copy and checks it against the other.
//!
//! Supported: names and symlinks from Rock Ridge (`NM`, `SL`, modes from `PX`, continuation areas
//! `CE`; relocated deep directories through `CL` and `RE`), else Joliet's UCS-2 names from its
//! supplementary descriptor, else the plain names without their `;1` version; multi-extent files
//! (records flagged as continued, joined in order); El Torito boot images, each listed as a file
//! under `/[boot]/` (no-emulation images by their sector count, floppy emulation by the floppy's
//! size, hard disk emulation by where its master boot record's last partition ends, since the
//! catalogue does not state it). Times are the records' recording dates.
//!
//! Not read: associated files and extended attribute records (their bytes are skipped), Rock
//! Ridge times (`TF`), devices' numbers (`PN`), sparse files (`SF`), zisofs compression, UDF
//! bridges (read as ISO 9660), an emulated hard disk without a master boot record. Hostile images
//! are bounded: every read is checked against the image, directories are read record by record
//! and a block a directory was read from is not read as another's (a loop, or directories that
//! overlap), continuation areas are followed at most 32 times per record and no more than the
//! image holds in all, and every file's bytes are reserved from the [`Budget`] before they are
//! copied.

use std::collections::HashSet;

use bytes::Bytes;
use consign_model::{CutReason, Diagnostic, NodeKind};

use super::{Claimed, FsEntry, FsListing, Probe};
use crate::Budget;
use crate::binary::{u16be, u16le, u32be, u32le};

const SECTOR: usize = 2048;
/// The first volume descriptor's sector.
const FIRST_DESCRIPTOR: usize = 16;
/// Where the `CD001` of the first volume descriptor sits.
pub(crate) const MAGIC_AT: usize = FIRST_DESCRIPTOR * SECTOR + 1;
/// Descriptors read before the terminator must have come.
const MAX_DESCRIPTORS: usize = 64;
/// How deep directories may nest before the walk stops.
const MAX_DEPTH: usize = 512;
/// Continuation areas followed for one record's System Use entries.
const MAX_CONTINUATIONS: usize = 32;
/// Parts of one multi-extent file.
const MAX_EXTENTS: usize = 4096;
/// Boot catalogue entries read.
const MAX_BOOT_ENTRIES: usize = 64;

const FLAG_DIRECTORY: u8 = 0x02;
const FLAG_ASSOCIATED: u8 = 0x04;
const FLAG_MULTI_EXTENT: u8 = 0x80;

/// A both-endian 32-bit number at `at`: the little-endian copy, when the big-endian one agrees.
fn both32(data: &[u8], at: usize) -> Result<u32, String> {
    let le = u32le(data, at).ok_or_else(|| format!("a number at byte {at} is cut short"))?;
    let be = u32be(data, at + 4).ok_or_else(|| format!("a number at byte {at} is cut short"))?;
    if le == be {
        Ok(le)
    } else {
        Err(format!(
            "the both-endian number at byte {at} disagrees with itself ({le} little-endian, {be} big-endian)"
        ))
    }
}

/// A both-endian 16-bit number at `at`, as [`both32`].
fn both16(data: &[u8], at: usize) -> Result<u16, String> {
    let le = u16le(data, at).ok_or_else(|| format!("a number at byte {at} is cut short"))?;
    let be = u16be(data, at + 2).ok_or_else(|| format!("a number at byte {at} is cut short"))?;
    if le == be {
        Ok(le)
    } else {
        Err(format!(
            "the both-endian number at byte {at} disagrees with itself ({le} little-endian, {be} big-endian)"
        ))
    }
}

/// The checked facts of the primary volume descriptor.
#[derive(Debug)]
struct Volume {
    block_size: u64,
    /// Blocks in the volume.
    blocks: u64,
    label: String,
    /// The primary root directory record.
    root: Vec<u8>,
    /// The Joliet root directory record, when a supplementary descriptor has one.
    joliet_root: Option<Vec<u8>>,
    /// The El Torito boot catalogue's block, when a boot record names one.
    boot_catalog: Option<u64>,
}

/// Reads the volume descriptors at sector 16 on.
fn read_volume(data: &[u8]) -> Result<Volume, String> {
    let mut primary = None;
    let mut joliet_root = None;
    let mut boot_catalog = None;
    for index in 0..MAX_DESCRIPTORS {
        let at = (FIRST_DESCRIPTOR + index) * SECTOR;
        let Some(descriptor) = data.get(at..at + SECTOR) else {
            return Err(format!(
                "volume descriptor {index} at {at:#x} lies past the end of the image"
            ));
        };
        if descriptor.get(1..6) != Some(b"CD001") {
            return Err(format!(
                "volume descriptor {index} at {at:#x} has no `CD001` standard identifier"
            ));
        }
        match descriptor[0] {
            255 => break,
            1 if primary.is_none() => primary = Some(descriptor),
            2 => {
                // Joliet's escape sequences name UCS-2 levels 1 to 3: `%/@`, `%/C`, `%/E`.
                let escapes = descriptor.get(88..120).unwrap_or_default();
                let joliet = escapes
                    .windows(3)
                    .any(|seq| matches!(seq, b"%/@" | b"%/C" | b"%/E"));
                if joliet && joliet_root.is_none() {
                    joliet_root = descriptor.get(156..190).map(<[u8]>::to_vec);
                }
            }
            0 if descriptor.get(7..30) == Some(b"EL TORITO SPECIFICATION") => {
                boot_catalog = u32le(descriptor, 0x47).map(u64::from);
            }
            _ => {}
        }
    }
    let pvd = primary.ok_or("no primary volume descriptor before the terminator")?;
    if pvd.get(6) != Some(&1) {
        return Err("the primary volume descriptor's version is not 1".to_owned());
    }
    let block_size = both16(pvd, 128).map_err(|why| format!("logical block size: {why}"))?;
    if !(512..=2048).contains(&block_size) || !block_size.is_power_of_two() {
        return Err(format!(
            "logical block size {block_size} is not a power of two from 512 to 2048"
        ));
    }
    let blocks = both32(pvd, 80).map_err(|why| format!("volume space size: {why}"))?;
    if blocks == 0 {
        return Err("volume space size is zero".to_owned());
    }
    let root = pvd.get(156..190).unwrap_or_default().to_vec();
    if root.first() != Some(&34) {
        return Err("the root directory record is not 34 bytes long".to_owned());
    }
    let label = String::from_utf8_lossy(pvd.get(40..72).unwrap_or_default())
        .trim_end()
        .to_owned();
    Ok(Volume {
        block_size: u64::from(block_size),
        blocks: u64::from(blocks),
        label,
        root,
        joliet_root,
        boot_catalog,
    })
}

/// Checks for ISO 9660 volume descriptors at sector 16 of `data`.
pub fn probe(data: &[u8]) -> Option<Probe> {
    let volume = read_volume(data).ok()?;
    let mut description = format!("ISO 9660, volume {:?}", volume.label);
    if volume.joliet_root.is_some() {
        description.push_str(", Joliet");
    }
    if volume.boot_catalog.is_some() {
        description.push_str(", El Torito");
    }
    Some(Probe {
        format: "iso9660",
        size: volume.blocks.checked_mul(volume.block_size),
        description,
    })
}

/// One directory record, decoded.
struct Record {
    /// Where it lies in the image.
    offset: u64,
    extent: u64,
    size: u64,
    flags: u8,
    mtime: Option<i64>,
    /// The name as stored (the identifier).
    raw_name: Vec<u8>,
    /// The System Use area.
    system_use: Vec<u8>,
}

/// What Rock Ridge says about one record.
#[derive(Default)]
struct RockRidge {
    name: Option<String>,
    symlink: Option<String>,
    mode: Option<u32>,
    /// `CL`: a relocated directory's real extent.
    child_link: Option<u64>,
    /// `RE`: the relocated copy, not to be listed.
    relocated: bool,
}

/// Seconds since 1970 of a 7-byte recording date (years since 1900, month, day, hour, minute,
/// second, offset from UTC in 15-minute steps); `None` when the date is not one.
fn record_date(raw: &[u8]) -> Option<i64> {
    let &[year, month, day, hour, minute, second, offset] = raw else {
        return None;
    };
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let year = 1900 + i64::from(year);
    let (month, day) = (i64::from(month), i64::from(day));
    // Days from 1970-01-01 to the date, in the proleptic Gregorian calendar.
    let shifted = if month <= 2 { year - 1 } else { year };
    let era = shifted.div_euclid(400);
    let year_of_era = shifted - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let local = days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
    Some(local - i64::from(offset.cast_signed()) * 15 * 60)
}

/// The records of a directory's extent, decoded one at a time; a record that cannot be read is
/// an `Err` with its offset.
struct DirRecords<'a> {
    bytes: &'a [u8],
    /// Where the extent starts in the image.
    start: u64,
    off: usize,
}

impl Iterator for DirRecords<'_> {
    type Item = Result<Record, (String, u64)>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.off < self.bytes.len() {
            let off = self.off;
            let len = usize::from(self.bytes[off]);
            let sector_end = (off / SECTOR + 1) * SECTOR;
            if len == 0 {
                // The rest of the sector is padding.
                self.off = sector_end;
                continue;
            }
            let at = self.start + off as u64;
            if off + len > sector_end.min(self.bytes.len()) {
                self.off = sector_end;
                return Some(Err((
                    format!(
                        "a directory record at {at:#x} of length {len} crosses its sector's end; the rest of the sector is skipped"
                    ),
                    at,
                )));
            }
            self.off = off + len;
            return Some(Reader::record(&self.bytes[off..off + len], at).map_err(|why| (why, at)));
        }
        None
    }
}

struct Reader<'a> {
    data: &'a [u8],
    volume: Volume,
    /// Joliet names are read when Rock Ridge is absent.
    joliet: bool,
    /// Rock Ridge's `SP` skip: bytes before the System Use entries in every record.
    susp_skip: Option<usize>,
    /// Bytes of continuation areas followed so far: sound images follow each once, so more than
    /// the image holds means records sharing or repeating them.
    continued: std::cell::Cell<u64>,
}

impl Reader<'_> {
    /// The bytes of `len` at block `block`.
    fn extent(&self, block: u64, len: u64) -> Option<&[u8]> {
        let start = usize::try_from(block.checked_mul(self.volume.block_size)?).ok()?;
        self.data
            .get(start..start.checked_add(usize::try_from(len).ok()?)?)
    }

    /// Decodes the record at `at` of the image.
    fn record(raw: &[u8], at: u64) -> Result<Record, String> {
        let len = usize::from(*raw.first().unwrap_or(&0));
        let name_len = usize::from(*raw.get(32).unwrap_or(&0));
        if len < 34 || 33 + name_len > len {
            return Err(format!(
                "a directory record at {at:#x} of length {len} cannot hold its name of {name_len} bytes"
            ));
        }
        let raw = raw
            .get(..len)
            .ok_or_else(|| format!("a directory record at {at:#x} is cut short"))?;
        let extent = both32(raw, 2).map_err(|why| format!("record at {at:#x}: extent: {why}"))?;
        let size =
            both32(raw, 10).map_err(|why| format!("record at {at:#x}: data length: {why}"))?;
        let extended = u64::from(raw[1]);
        let system_use_at = 33 + name_len + usize::from(name_len.is_multiple_of(2));
        Ok(Record {
            offset: at,
            extent: u64::from(extent) + extended,
            size: u64::from(size),
            flags: raw[25],
            mtime: record_date(raw.get(18..25).unwrap_or_default()),
            raw_name: raw.get(33..33 + name_len).unwrap_or_default().to_vec(),
            system_use: raw.get(system_use_at..).unwrap_or_default().to_vec(),
        })
    }

    /// The records of the directory whose extent is `block`, `size` bytes long, one at a time (a
    /// hostile directory may be as long as the image), with a problem when the image ends first.
    /// `.` and `..` are left in (the root's `.` says whether Rock Ridge is used).
    fn dir_records(&self, block: u64, size: u64) -> (DirRecords<'_>, Option<(String, u64)>) {
        let start = block.saturating_mul(self.volume.block_size);
        let available = (self.data.len() as u64).saturating_sub(start).min(size);
        let problem = (available < size).then(|| {
            (
                format!(
                    "the directory's {size} bytes at {start:#x} run past the end of the image; {available} read"
                ),
                start,
            )
        });
        let records = DirRecords {
            bytes: self.extent(block, available).unwrap_or_default(),
            start,
            off: 0,
        };
        (records, problem)
    }

    /// What Rock Ridge says about `record`, following continuation areas.
    fn rock_ridge(&self, record: &Record) -> (RockRidge, Vec<String>) {
        let mut out = RockRidge::default();
        let mut problems = Vec::new();
        let Some(skip) = self.susp_skip else {
            return (out, problems);
        };
        let mut name = Vec::new();
        let mut link: Vec<String> = Vec::new();
        let mut link_part = Vec::new();
        let mut area: Vec<u8> = record.system_use.get(skip..).unwrap_or_default().to_vec();
        let mut continuations = 0;
        loop {
            let mut next = None;
            let mut off = 0;
            while off + 4 <= area.len() {
                let signature = [area[off], area[off + 1]];
                let len = usize::from(area[off + 2]);
                if len < 4 || off + len > area.len() {
                    break;
                }
                let entry = &area[off..off + len];
                match &signature {
                    b"NM" => {
                        let flags = *entry.get(4).unwrap_or(&0);
                        if flags & 0x06 == 0 {
                            name.extend_from_slice(entry.get(5..).unwrap_or_default());
                        }
                    }
                    b"SL" => {
                        let mut at = 5;
                        while at + 2 <= entry.len() {
                            let flags = entry[at];
                            let part_len = usize::from(entry[at + 1]);
                            let content = entry.get(at + 2..at + 2 + part_len).unwrap_or_default();
                            if flags & 0x02 != 0 {
                                link_part.extend_from_slice(b".");
                            } else if flags & 0x04 != 0 {
                                link_part.extend_from_slice(b"..");
                            } else if flags & 0x08 != 0 {
                                // The root: an empty first component gives the leading slash.
                            } else {
                                link_part.extend_from_slice(content);
                            }
                            if flags & 0x01 == 0 {
                                link.push(String::from_utf8_lossy(&link_part).into_owned());
                                link_part.clear();
                            }
                            at += 2 + part_len;
                        }
                    }
                    b"PX" => out.mode = u32le(entry, 4),
                    b"CL" => out.child_link = u32le(entry, 4).map(u64::from),
                    b"RE" => out.relocated = true,
                    b"CE" => {
                        next = match (u32le(entry, 4), u32le(entry, 12), u32le(entry, 20)) {
                            (Some(block), Some(offset), Some(len)) => Some((block, offset, len)),
                            _ => None,
                        };
                    }
                    b"ST" => break,
                    _ => {}
                }
                off += len;
            }
            let Some((block, offset, len)) = next else {
                break;
            };
            continuations += 1;
            if continuations > MAX_CONTINUATIONS {
                problems.push(format!(
                    "more than {MAX_CONTINUATIONS} Rock Ridge continuation areas; the rest are not read"
                ));
                break;
            }
            let followed = self.continued.get().saturating_add(u64::from(len));
            if followed > self.data.len() as u64 {
                problems.push(
                    "the image's Rock Ridge continuation areas together are longer than the image (records share or repeat them); this one is not read"
                        .to_owned(),
                );
                break;
            }
            self.continued.set(followed);
            let start = u64::from(block) * self.volume.block_size + u64::from(offset);
            match usize::try_from(start)
                .ok()
                .and_then(|start| self.data.get(start..start.checked_add(len as usize)?))
            {
                Some(bytes) if len as usize <= SECTOR => area = bytes.to_vec(),
                _ => {
                    problems.push(format!(
                        "a Rock Ridge continuation area of {len} bytes at {start:#x} lies past the end of the image or is longer than a sector"
                    ));
                    break;
                }
            }
        }
        if !name.is_empty() {
            out.name = Some(String::from_utf8_lossy(&name).into_owned());
        }
        if !link.is_empty() || !link_part.is_empty() {
            if !link_part.is_empty() {
                link.push(String::from_utf8_lossy(&link_part).into_owned());
            }
            out.symlink = Some(link.join("/"));
        }
        (out, problems)
    }

    /// The name of `record` from Joliet or the plain identifier: the version (`;1`) and a
    /// trailing dot left out.
    fn plain_name(&self, record: &Record) -> String {
        let name = if self.joliet {
            let units: Vec<u16> = record
                .raw_name
                .chunks_exact(2)
                .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        } else {
            String::from_utf8_lossy(&record.raw_name).into_owned()
        };
        let name = match name.rsplit_once(';') {
            Some((base, version)) if version.bytes().all(|b| b.is_ascii_digit()) => base.to_owned(),
            _ => name,
        };
        let name = if record.flags & FLAG_DIRECTORY == 0 {
            name.strip_suffix('.').map(str::to_owned).unwrap_or(name)
        } else {
            name
        };
        if self.joliet {
            name
        } else {
            name.to_ascii_lowercase()
        }
    }
}

/// Parses an ISO 9660 image at the start of `data`.
pub fn parse(data: &[u8], budget: &Budget) -> FsListing {
    let mut listing = FsListing::default();
    let volume = match read_volume(data) {
        Ok(volume) => volume,
        Err(why) => {
            listing.diagnostics.push(
                Diagnostic::warning("", format!("not an ISO 9660 image: {why}"))
                    .at((FIRST_DESCRIPTOR * SECTOR) as u64),
            );
            return listing;
        }
    };
    let size = volume.blocks * volume.block_size;
    listing.size = Some(size);
    if size > data.len() as u64 {
        listing.diagnostics.push(
            Diagnostic::warning(
                "",
                format!(
                    "image is truncated: the volume descriptor says {size} bytes, {} are present",
                    data.len()
                ),
            )
            .at(data.len() as u64),
        );
    }
    let mut reader = Reader {
        data,
        volume,
        joliet: false,
        susp_skip: None,
        continued: std::cell::Cell::new(0),
    };
    let root = match Reader::record(
        &reader.volume.root.clone(),
        (FIRST_DESCRIPTOR * SECTOR + 156) as u64,
    ) {
        Ok(root) => root,
        Err(why) => {
            listing.diagnostics.push(Diagnostic::warning(
                "/",
                format!("the root directory is not read: {why}"),
            ));
            return listing;
        }
    };
    // Rock Ridge announces itself with `SP` in the root's `.` record.
    let (mut records, _) = reader.dir_records(root.extent, root.size);
    if let Some(Ok(dot)) = records.next()
        && dot.system_use.get(..2) == Some(b"SP")
        && dot.system_use.get(4..6) == Some(&[0xbe, 0xef])
    {
        reader.susp_skip = Some(usize::from(*dot.system_use.get(6).unwrap_or(&0)));
    }
    let root = if reader.susp_skip.is_none()
        && let Some(joliet) = reader.volume.joliet_root.clone()
    {
        match Reader::record(&joliet, 0) {
            Ok(joliet) => {
                reader.joliet = true;
                joliet
            }
            Err(_) => root,
        }
    } else {
        root
    };
    read_tree(&reader, &root, budget, &mut listing);
    if let Some(catalog) = reader.volume.boot_catalog {
        read_boot_catalog(&reader, catalog, budget, &mut listing);
    }
    listing
}

/// Reads the tree from the root directory record.
fn read_tree(reader: &Reader<'_>, root: &Record, budget: &Budget, listing: &mut FsListing) {
    let mut seen: HashSet<u64> = HashSet::from([root.extent]);
    // One bit per block the image holds, set once a directory is read from it.
    let mut claimed = Claimed::new((reader.data.len() as u64).div_ceil(reader.volume.block_size));
    let mut stack = vec![(String::new(), root.extent, root.size, 0usize)];
    while let Some((dir, extent, size, depth)) = stack.pop() {
        let shown = if dir.is_empty() { "/" } else { dir.as_str() };
        let (records, problem) = reader.dir_records(extent, size);
        if let Some((why, at)) = problem {
            listing.cut(
                Diagnostic::warning(shown, why).at(at),
                "the rest of the directory's entries",
                CutReason::Truncated,
            );
        }
        // Directories never share blocks: one that reaches another's (a hostile image making
        // every directory the whole image) is refused, so all of them together are read once.
        let readable = (reader.data.len() as u64)
            .saturating_sub(extent.saturating_mul(reader.volume.block_size))
            .min(size);
        let blocks = readable.div_ceil(reader.volume.block_size);
        if let Some(taken) =
            (extent..extent.saturating_add(blocks)).find(|&block| claimed.has(block))
        {
            listing.cut(
                Diagnostic::warning(
                    shown,
                    format!("the directory's extent reaches block {taken}, which another directory holds; not read"),
                )
                .at(extent.saturating_mul(reader.volume.block_size)),
                "the directory's entries",
                CutReason::Refused,
            );
            continue;
        }
        for block in extent..extent.saturating_add(blocks) {
            claimed.set(block);
        }
        let mut subdirs = Vec::new();
        let mut records = records.peekable();
        while let Some(record) = records.next() {
            let record = match record {
                Ok(record) => record,
                Err((why, at)) => {
                    listing.cut(
                        Diagnostic::warning(shown, why).at(at),
                        "the directory record",
                        CutReason::Truncated,
                    );
                    continue;
                }
            };
            if record.raw_name == [0]
                || record.raw_name == [1]
                || record.flags & FLAG_ASSOCIATED != 0
            {
                continue;
            }
            // A multi-extent file: this record and the ones after it flagged as continued.
            let mut parts = vec![(record.extent, record.size)];
            let mut last_flags = record.flags;
            while last_flags & FLAG_MULTI_EXTENT != 0 && parts.len() < MAX_EXTENTS {
                let Some(Ok(next)) = records
                    .next_if(|next| matches!(next, Ok(next) if next.raw_name == record.raw_name))
                else {
                    break;
                };
                parts.push((next.extent, next.size));
                last_flags = next.flags;
            }
            let (rock, problems) = reader.rock_ridge(&record);
            if rock.relocated {
                continue;
            }
            let name = rock
                .name
                .clone()
                .unwrap_or_else(|| reader.plain_name(&record));
            if name.is_empty()
                || name == "."
                || name == ".."
                || name.contains('/')
                || name.contains('\0')
            {
                listing.cut(
                    Diagnostic::warning(
                        shown,
                        format!("a record names {name:?}, which no path can hold; skipped"),
                    )
                    .at(record.offset),
                    "the entry",
                    CutReason::Refused,
                );
                continue;
            }
            let path = format!("{dir}/{name}");
            for why in problems {
                listing
                    .diagnostics
                    .push(Diagnostic::warning(path.clone(), why).at(record.offset));
            }
            if let Err(limit) = budget.take_entry_with(path.len() as u64) {
                listing.cut_rest(path, limit);
                return;
            }
            let file_type = rock.mode.map(|mode| mode & 0o170_000);
            let mode = rock.mode.map(|mode| mode & 0o7777);
            let kind = if rock.symlink.is_some() || file_type == Some(0o120_000) {
                NodeKind::Symlink {
                    target: rock.symlink.clone().unwrap_or_default(),
                }
            } else if record.flags & FLAG_DIRECTORY != 0 || rock.child_link.is_some() {
                let (extent, size) = match rock.child_link {
                    // A relocated directory: its own `.` record gives its size.
                    Some(block) => {
                        let (mut dot, _) = reader.dir_records(block, reader.volume.block_size);
                        (
                            block,
                            dot.next()
                                .and_then(Result::ok)
                                .map_or(reader.volume.block_size, |dot| dot.size),
                        )
                    }
                    None => (record.extent, record.size),
                };
                if !seen.insert(extent) {
                    listing.cut_loop(
                        &path,
                        Some(record.offset),
                        &format!("the directory at block {extent} was already read"),
                    );
                } else if depth + 1 > MAX_DEPTH {
                    listing.cut_too_deep(&path, Some(record.offset), MAX_DEPTH);
                } else {
                    subdirs.push((path.clone(), extent, size, depth + 1));
                }
                NodeKind::Dir
            } else {
                match file_type.and_then(|t| u16::try_from(t).ok()) {
                    Some(
                        special @ (super::CHAR_DEVICE
                        | super::BLOCK_DEVICE
                        | super::FIFO
                        | super::SOCKET),
                    ) => super::special_node(special),
                    _ => NodeKind::File {
                        data: read_file(reader, &path, &parts, record.offset, budget, listing),
                    },
                }
            };
            listing.entries.push(FsEntry {
                path,
                kind,
                mode,
                mtime: record.mtime,
            });
        }
        stack.extend(subdirs.into_iter().rev());
    }
}

/// A file's bytes from its extents, reserved from the budget first.
fn read_file(
    reader: &Reader<'_>,
    path: &str,
    parts: &[(u64, u64)],
    offset: u64,
    budget: &Budget,
    listing: &mut FsListing,
) -> Bytes {
    let total: u64 = parts.iter().map(|part| part.1).sum();
    // A file can hold no more than the image has.
    let readable = total.min(reader.data.len() as u64);
    let reservation = match budget.reserve(readable) {
        Ok(reservation) => reservation,
        Err(limit) => {
            listing.cut(
                Diagnostic::warning(
                    path,
                    format!("{limit}: the file has {total} bytes; listed without contents"),
                )
                .at(offset)
                .with_hint(limit.hint()),
                "the file's contents",
                limit.into(),
            );
            return Bytes::new();
        }
    };
    let mut out = Vec::with_capacity(readable as usize);
    for &(block, len) in parts {
        match reader.extent(block, len) {
            Some(bytes) if out.len() as u64 + len <= readable => out.extend_from_slice(bytes),
            _ => {
                listing.cut(
                    Diagnostic::warning(
                        path,
                        format!(
                            "the extent of {len} bytes at block {block} lies past the end of the image: {} of the file's {total} bytes read",
                            out.len()
                        ),
                    )
                    .at(offset),
                    "the rest of the file",
                    CutReason::Truncated,
                );
                break;
            }
        }
    }
    reservation.commit(out.len() as u64);
    Bytes::from(out)
}

/// The size of an emulated hard disk from its master boot record: the end of its last
/// partition; `None` without the `0x55 0xaa` signature or a partition.
fn emulated_disk_size(mbr: &[u8]) -> Option<u64> {
    if mbr.get(510..512) != Some(&[0x55, 0xaa]) {
        return None;
    }
    (0..4)
        .filter_map(|slot| {
            let entry = mbr.get(446 + slot * 16..462 + slot * 16)?;
            let start = u64::from(u32le(entry, 8)?);
            let count = u64::from(u32le(entry, 12)?);
            (entry[4] != 0 && count > 0).then_some((start + count) * 512)
        })
        .max()
}

/// Lists each El Torito boot image the catalogue at block `catalog` names as a file under
/// `/[boot]/`.
fn read_boot_catalog(reader: &Reader<'_>, catalog: u64, budget: &Budget, listing: &mut FsListing) {
    // El Torito counts 2048-byte sectors whatever the logical block size.
    let per_sector = SECTOR as u64 / reader.volume.block_size;
    let at = catalog.saturating_mul(SECTOR as u64);
    let Some(bytes) = reader.extent(catalog.saturating_mul(per_sector), SECTOR as u64) else {
        listing.diagnostics.push(
            Diagnostic::warning(
                "/[boot]",
                format!("the boot catalogue at {at:#x} lies past the end of the image"),
            )
            .at(at),
        );
        return;
    };
    // The validation entry: header 1, key bytes 0x55 0xaa, and 16-bit words summing to zero.
    let sum = bytes
        .get(..32)
        .unwrap_or_default()
        .chunks_exact(2)
        .fold(0u16, |sum, pair| {
            sum.wrapping_add(u16::from_le_bytes([pair[0], pair[1]]))
        });
    if bytes.first() != Some(&1) || bytes.get(30..32) != Some(&[0x55, 0xaa]) || sum != 0 {
        listing.diagnostics.push(
            Diagnostic::warning(
                "/[boot]",
                "the boot catalogue's validation entry is not valid; its images are not listed",
            )
            .at(at),
        );
        return;
    }
    let mut number = 0;
    for (index, entry) in bytes
        .chunks_exact(32)
        .enumerate()
        .skip(1)
        .take(MAX_BOOT_ENTRIES)
    {
        let entry_at = at + (index * 32) as u64;
        match entry[0] {
            // Section headers (more follow, or the last) carry no image.
            0x90 | 0x91 => continue,
            0x88 | 0x00 if entry[1..].iter().any(|&b| b != 0) || entry[0] == 0x88 => {}
            _ => break,
        }
        number += 1;
        let media = entry[1] & 0x0f;
        let sectors = u64::from(u16le(entry, 6).unwrap_or_default());
        let block = u64::from(u32le(entry, 8).unwrap_or_default());
        let image_at = block.saturating_mul(per_sector);
        let size = match media {
            0 => Some(sectors.max(1) * 512),
            1 => Some(1_228_800),
            2 => Some(1_474_560),
            3 => Some(2_949_120),
            // A hard disk's size is where its master boot record's last partition ends.
            4 => reader.extent(image_at, 512).and_then(emulated_disk_size),
            _ => None,
        };
        let Some(size) = size else {
            listing.cut(
                Diagnostic::warning(
                    format!("/[boot]/entry-{number}.img"),
                    format!(
                        "boot entry {number} (media type {media}) is neither a no-emulation image, a floppy nor a hard disk with a master boot record; not listed"
                    ),
                )
                .at(entry_at),
                "the boot image",
                CutReason::Unsupported,
            );
            continue;
        };
        if number == 1 {
            if let Err(limit) = budget.take_entry_with(7) {
                listing.cut_rest("/[boot]".to_owned(), limit);
                return;
            }
            listing.entries.push(FsEntry {
                path: "/[boot]".to_owned(),
                kind: NodeKind::Dir,
                mode: None,
                mtime: None,
            });
        }
        let path = format!("/[boot]/entry-{number}.img");
        if let Err(limit) = budget.take_entry_with(path.len() as u64) {
            listing.cut_rest(path, limit);
            return;
        }
        let data = read_file(
            reader,
            &path,
            &[(image_at, size)],
            entry_at,
            budget,
            listing,
        );
        listing.entries.push(FsEntry {
            path,
            kind: NodeKind::File { data },
            mode: None,
            mtime: None,
        });
    }
}

#[cfg(test)]
mod tests;
