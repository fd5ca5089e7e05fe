//! zip archives, read from the central directory (APPNOTE 6.3.x): stored and deflate members,
//! plus bzip2 and zstd, with CRC-32 checks; ZIP64 end records and extra fields (more than 65,535
//! entries, members and offsets past 4 GiB). Encrypted members are reported, not read.
//!
//! The carver finds a zip by its first local header; the end-of-central-directory record is then
//! searched for after it, and central-directory offsets are taken relative to the zip's start (or,
//! for archives with data in front, to where the directory actually is).
//!
//! Entries are counted by walking the central directory, never taken from the end record (whose
//! 16-bit count wraps past 65,535 entries). Members whose data overlap another's, or share it
//! ("zip bombs" that reuse one compressed stream for many names), are refused: no archiver writes
//! them, and reading each would multiply one stream's output.

use std::collections::BTreeMap;

use bytes::Bytes;
use consign_model::{CutReason, Diagnostic, NodeKind, Severity};

use crate::Budget;
use crate::binary::{u16le, u32le, u64le};
use crate::decompress::Codec;
use crate::fs::{FsEntry, FsListing, Probe};

use super::inflate;

const LOCAL: &[u8] = b"PK\x03\x04";
const CENTRAL: &[u8] = b"PK\x01\x02";
const END: &[u8] = b"PK\x05\x06";
const END64: &[u8] = b"PK\x06\x06";
const LOCATOR64: &[u8] = b"PK\x06\x07";
/// The fixed part of the end record, of a central directory entry and of a local header.
const END_LEN: usize = 22;
const CENTRAL_LEN: usize = 46;
const LOCAL_LEN: usize = 30;
/// The ZIP64 extended information extra field.
const ZIP64_EXTRA: u16 = 0x0001;

/// A local header with a known method and a sane name length (the cheap part of the probe).
fn header_ok(data: &[u8]) -> bool {
    let (Some(method), Some(name_len)) = (u16le(data, 8), u16le(data, 26)) else {
        return false;
    };
    data.starts_with(LOCAL)
        && matches!(method, 0 | 8 | 9 | 12 | 14 | 93 | 95 | 99)
        && name_len != 0
        && name_len <= 4096
}

/// A local header with a known method and a sane name length, and an end record after it.
pub(crate) fn probe(data: &[u8]) -> Option<Probe> {
    if !header_ok(data) {
        return None;
    }
    probe_with_end(data, find_end(data)?)
}

/// [`probe`] given where the first end record after the header is (`end`, relative to `data`),
/// so that a carver meeting many local headers searches for end records once.
pub(crate) fn probe_with_end(data: &[u8], end: usize) -> Option<Probe> {
    if !header_ok(data) {
        return None;
    }
    let comment = usize::from(u16le(data, end + 20)?);
    Some(Probe {
        format: "zip",
        size: Some((end + END_LEN + comment) as u64),
        description: "zip archive".to_owned(),
    })
}

/// True when an end record at `at` has room for its comment in `data`.
pub(crate) fn end_fits(data: &[u8], at: usize) -> bool {
    data.get(at..at + 4) == Some(END)
        && u16le(data, at + 20)
            .is_some_and(|comment| at + END_LEN + usize::from(comment) <= data.len())
}

/// The signature of an end record, for a carver's one search of a whole file.
pub(crate) const END_SIGNATURE: &[u8] = END;

/// The offset of the end-of-central-directory record: the first one whose comment fits.
fn find_end(data: &[u8]) -> Option<usize> {
    memchr::memmem::find_iter(data, END).find(|&at| end_fits(data, at))
}

/// What the end records say.
struct End {
    /// Entries, when stated (the 16-bit count of a plain end record, or ZIP64's).
    count: u64,
    /// Whether the count came from a ZIP64 record (and so cannot have wrapped).
    zip64: bool,
    cd_size: u64,
    cd_offset: u64,
}

/// Reads the end record at `end`, and the ZIP64 end record its locator points at, if any.
fn read_end(data: &[u8], end: usize, listing: &mut FsListing) -> Option<End> {
    let count = u16le(data, end + 10)?;
    let cd_size = u32le(data, end + 12)?;
    let cd_offset = u32le(data, end + 16)?;
    let plain = End {
        count: u64::from(count),
        zip64: false,
        cd_size: u64::from(cd_size),
        cd_offset: u64::from(cd_offset),
    };
    let Some(locator) = end
        .checked_sub(20)
        .filter(|&at| data.get(at..at + 4) == Some(LOCATOR64))
    else {
        return Some(plain);
    };
    // The locator gives the ZIP64 record's offset from the archive's first byte; with bytes in
    // front (a self-extracting stub) it is right before the locator instead.
    let stored = u64le(data, locator + 8).and_then(|o| usize::try_from(o).ok());
    let at = stored
        .filter(|&at| data.get(at..at + 4) == Some(END64))
        .or_else(|| {
            let before = locator.checked_sub(56)?;
            (data.get(before..before + 4) == Some(END64)).then_some(before)
        });
    let record = at.and_then(|at| {
        Some(End {
            count: u64le(data, at + 32)?,
            zip64: true,
            cd_size: u64le(data, at + 40)?,
            cd_offset: u64le(data, at + 48)?,
        })
    });
    if record.is_none() {
        listing.diagnostics.push(
            Diagnostic::warning(
                "",
                "zip64 end record not found where its locator points; the plain end record is used",
            )
            .at(locator as u64),
        );
    }
    Some(record.unwrap_or(plain))
}

/// The ZIP64 extended information of a central directory entry: each 64-bit value is present
/// only when its 32-bit field (or 16-bit disk number) is saturated, in this order.
fn zip64_fields(extra: &[u8], usize32: u32, csize32: u32, offset32: u32) -> (u64, u64, u64) {
    let mut values = (u64::from(usize32), u64::from(csize32), u64::from(offset32));
    let mut rest = extra;
    while let (Some(id), Some(len)) = (u16le(rest, 0), u16le(rest, 2)) {
        let Some(body) = rest.get(4..4 + usize::from(len)) else {
            break;
        };
        if id == ZIP64_EXTRA {
            let mut at = 0;
            let mut next = |saturated: bool, current: &mut u64| {
                if saturated && let Some(value) = u64le(body, at) {
                    *current = value;
                    at += 8;
                }
            };
            next(usize32 == u32::MAX, &mut values.0);
            next(csize32 == u32::MAX, &mut values.1);
            next(offset32 == u32::MAX, &mut values.2);
            break;
        }
        rest = rest.get(4 + usize::from(len)..).unwrap_or_default();
    }
    values
}

/// The byte ranges members occupy (local header to end of data), to refuse one that overlaps or
/// shares another's.
#[derive(Default)]
struct Claimed {
    /// Start -> (end, member name).
    ranges: BTreeMap<usize, (usize, String)>,
}

impl Claimed {
    /// The member whose range meets `start..end`, if any; else claims the range for `name`.
    fn claim(&mut self, start: usize, end: usize, name: &str) -> Option<String> {
        let before = self.ranges.range(..=start).next_back();
        if let Some((_, (prev_end, prev))) = before
            && *prev_end > start
        {
            return Some(prev.clone());
        }
        if let Some((&next_start, (_, next))) = self.ranges.range(start..).next()
            && next_start < end.max(start + 1)
        {
            return Some(next.clone());
        }
        self.ranges.insert(start, (end, name.to_owned()));
        None
    }
}

/// Lists a zip archive.
pub(crate) fn extract(data: &Bytes, budget: &Budget) -> FsListing {
    let mut listing = FsListing::default();
    let Some(end) = find_end(data) else {
        listing.diagnostics.push(
            Diagnostic::warning("", "zip end-of-central-directory record not found")
                .with_hint("the archive is truncated"),
        );
        return listing;
    };
    let comment = u16le(data, end + 20).unwrap_or(0);
    listing.size = Some((end + END_LEN + usize::from(comment)) as u64);
    let Some(record) = read_end(data, end, &mut listing) else {
        return listing;
    };
    let (Ok(stored), Ok(cd_size)) = (
        usize::try_from(record.cd_offset),
        usize::try_from(record.cd_size),
    ) else {
        listing.diagnostics.push(
            Diagnostic::warning("", "zip central directory offset or size is out of range")
                .at(end as u64),
        );
        return listing;
    };
    // Where the central directory is: at its stored offset, or right before the end records when
    // the archive has bytes in front of it (self-extracting archives).
    let mut base = 0usize;
    if data.get(stored..stored.saturating_add(4)) != Some(CENTRAL) {
        let records = if record.zip64 {
            // The ZIP64 record (56 bytes with no extensible data) and its locator (20).
            end.saturating_sub(76)
        } else {
            end
        };
        let actual = records.saturating_sub(cd_size);
        if data.get(actual..actual + 4) == Some(CENTRAL) && actual >= stored {
            base = actual - stored;
        } else {
            listing.diagnostics.push(
                Diagnostic::warning(
                    "",
                    format!("zip central directory not found at offset {stored:#x}"),
                )
                .at(end as u64),
            );
            return listing;
        }
    }
    let cd_start = base + stored;
    let cd_end = cd_start.saturating_add(cd_size).min(end);
    // Entries are held before the engine counts them: never more than the limit leaves.
    let room = budget
        .limits()
        .max_entries
        .saturating_sub(budget.entries_used());
    let mut claimed = Claimed::default();
    let mut walked = 0u64;
    let mut pos = cd_start;
    while pos < cd_end {
        if data.get(pos..pos + 4) != Some(CENTRAL) {
            break;
        }
        if walked >= room {
            listing.cut(
                Diagnostic::warning(
                    "",
                    format!(
                        "zip entries from number {} on not read: {}",
                        walked + 1,
                        crate::Limit::Entries
                    ),
                )
                .at(pos as u64)
                .with_hint(crate::Limit::Entries.hint()),
                format!("entries from number {} on", walked + 1),
                CutReason::EntryLimit,
            );
            return listing;
        }
        walked += 1;
        let field16 = |o: usize| u16le(data, pos + o).unwrap_or(0);
        let field32 = |o: usize| u32le(data, pos + o).unwrap_or(0);
        let made_by = field16(4) >> 8;
        let flags = field16(8);
        let method = field16(10);
        let crc = field32(16);
        let name_len = usize::from(field16(28));
        let extra_len = usize::from(field16(30));
        let comment_len = usize::from(field16(32));
        let attributes = field32(38);
        let name = data
            .get(pos + CENTRAL_LEN..pos + CENTRAL_LEN + name_len)
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let extra = data
            .get(pos + CENTRAL_LEN + name_len..pos + CENTRAL_LEN + name_len + extra_len)
            .unwrap_or_default();
        let (usize_, csize, local) = zip64_fields(extra, field32(24), field32(20), field32(42));
        let mtime = unix_time(extra).or_else(|| dos_time(field16(14), field16(12)));
        pos += CENTRAL_LEN + name_len + extra_len + comment_len;
        // Inside the data, so nothing added to it below can overflow (a ZIP64 offset near 2^64
        // did: found by the `format_zip` fuzz target).
        let local = usize::try_from(local)
            .ok()
            .and_then(|local| local.checked_add(base))
            .filter(|&local| local < data.len());
        let entry_at = local.unwrap_or(usize::MAX) as u64;
        let mode = (made_by == 3)
            .then_some(attributes >> 16)
            .filter(|m| *m != 0);
        if name.ends_with('/') || mode.is_some_and(|m| m & 0o170_000 == 0o040_000) {
            listing.entries.push(FsEntry {
                path: name,
                kind: NodeKind::Dir,
                mode: mode.map(|m| m & 0o7777),
                mtime,
            });
            continue;
        }
        let (Some(local), Some(lname), Some(lextra)) = (
            local,
            local.and_then(|local| u16le(data, local + 26)),
            local.and_then(|local| u16le(data, local + 28)),
        ) else {
            listing.diagnostics.push(
                Diagnostic::warning(
                    "",
                    format!("zip member `{name}`: local header is outside the archive"),
                )
                .at(entry_at),
            );
            continue;
        };
        if data.get(local..local + 4) != Some(LOCAL) {
            listing.diagnostics.push(
                Diagnostic::warning(
                    "",
                    format!("zip member `{name}`: local header signature is wrong"),
                )
                .at(entry_at),
            );
            continue;
        }
        let start = local + LOCAL_LEN + usize::from(lname) + usize::from(lextra);
        let raw = usize::try_from(csize)
            .ok()
            .and_then(|csize| data.get(start..start.checked_add(csize)?));
        let Some(raw) = raw else {
            listing.diagnostics.push(
                Diagnostic::warning(
                    "",
                    format!("zip member `{name}` runs past the end of the archive"),
                )
                .at(entry_at),
            );
            continue;
        };
        if let Some(other) = claimed.claim(local, start + raw.len(), &name) {
            listing.cut(
                Diagnostic::warning(
                    "",
                    format!(
                        "zip member `{name}` overlaps the data of `{other}`; refused (a zip bomb)"
                    ),
                )
                .at(entry_at)
                .with_hint("no archiver writes members that share or overlap data; the archive was built to expand"),
                format!("zip member `{name}`"),
                CutReason::Refused,
            );
            continue;
        }
        if flags & 1 != 0 {
            listing.cut(
                Diagnostic::warning(
                    "",
                    format!("zip member `{name}` is encrypted; its contents are not available"),
                )
                .at(entry_at),
                format!("zip member `{name}` (encrypted)"),
                CutReason::Unsupported,
            );
            continue;
        }
        let contents = match method {
            0 => Some(data.slice(start..start + raw.len())),
            8 | 12 | 93 => {
                let codec = match method {
                    8 => Codec::Deflate,
                    12 => Codec::Bzip2,
                    _ => Codec::Zstd,
                };
                let inflated = inflate(
                    codec,
                    raw,
                    budget,
                    (&format!("zip member `{name}`"), start as u64),
                    &mut listing,
                );
                inflated.data
            }
            other => {
                listing.cut(
                    Diagnostic::warning(
                        "",
                        format!("zip member `{name}` uses compression method {other}, which is not supported"),
                    )
                    .at(entry_at),
                    format!("zip member `{name}` (compression method {other})"),
                    CutReason::Unsupported,
                );
                None
            }
        };
        let Some(contents) = contents else { continue };
        if contents.len() as u64 == usize_ && crc32fast::hash(&contents) != crc {
            listing.diagnostics.push(
                Diagnostic::warning("", format!("zip member `{name}` fails its CRC-32 check"))
                    .at(entry_at),
            );
        }
        let kind = if mode.is_some_and(|m| m & 0o170_000 == 0o120_000) {
            NodeKind::Symlink {
                target: String::from_utf8_lossy(&contents).into_owned(),
            }
        } else {
            NodeKind::File { data: contents }
        };
        listing.entries.push(FsEntry {
            path: name,
            kind,
            mode: mode.map(|m| m & 0o7777),
            mtime,
        });
    }
    count_check(&record, walked, pos, cd_end, &mut listing);
    listing
}

/// Compares the entries the directory walk found with what the end record states.
fn count_check(record: &End, walked: u64, pos: usize, cd_end: usize, listing: &mut FsListing) {
    let wrapped = !record.zip64 && walked > u64::from(u16::MAX) && walked % 65_536 == record.count;
    if walked == record.count {
        return;
    }
    if wrapped {
        listing.diagnostics.push(
            Diagnostic::warning(
                "",
                format!(
                    "the end record's 16-bit entry count says {} (it wraps past 65,535); the central directory holds {walked} entries, all read",
                    record.count
                ),
            )
            .severity(Severity::Info),
        );
    } else if pos < cd_end || walked < record.count {
        listing.cut(
            Diagnostic::warning(
                "",
                format!(
                    "zip end record says {} entries; the central directory holds {walked} readable ones",
                    record.count
                ),
            )
            .at(pos as u64)
            .with_hint("the central directory is damaged or truncated"),
            format!("entries past number {walked}"),
            CutReason::Truncated,
        );
    } else {
        listing.diagnostics.push(
            Diagnostic::warning(
                "",
                format!(
                    "zip end record says {} entries; the central directory holds {walked}, all read",
                    record.count
                ),
            )
            .severity(Severity::Info),
        );
    }
}

/// The modification time of the "extended timestamp" extra field (0x5455, UTC seconds), if the
/// central directory entry carries one.
fn unix_time(mut extra: &[u8]) -> Option<i64> {
    while let (Some(id), Some(len)) = (u16le(extra, 0), u16le(extra, 2)) {
        let body = extra.get(4..4 + usize::from(len))?;
        if id == 0x5455 && body.first().is_some_and(|flags| flags & 1 != 0) {
            return u32le(body, 1).map(|t| i64::from(t.cast_signed()));
        }
        extra = extra.get(4 + usize::from(len)..)?;
    }
    None
}

/// An MS-DOS date and time (local time of an unknown zone, two-second steps), read as UTC. The
/// one reader of them: FAT directory entries (`fs::fat`) store their times the same way.
pub(crate) fn dos_time(date: u16, time: u16) -> Option<i64> {
    let year = 1980 + i64::from(date >> 9);
    let month = i64::from((date >> 5) & 0xf);
    let day = i64::from(date & 0x1f);
    let (hour, minute, second) = (
        i64::from(time >> 11),
        i64::from((time >> 5) & 0x3f),
        2 * i64::from(time & 0x1f),
    );
    if !(1..=12).contains(&month) || day == 0 || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    // Days from 1970-01-01 to the civil date (H. Hinnant's `days_from_civil`).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Limits;

    /// A stored-only zip of `(name, data, unix mode)` members, for tests.
    pub(crate) fn stored_zip(members: &[(&str, &[u8], u32)]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, body, mode) in members {
            let offset = out.len() as u32;
            let crc = crc32fast::hash(body);
            out.extend_from_slice(LOCAL);
            out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            out.extend_from_slice(&crc.to_le_bytes());
            out.extend_from_slice(&(body.len() as u32).to_le_bytes());
            out.extend_from_slice(&(body.len() as u32).to_le_bytes());
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(body);
            central.extend_from_slice(CENTRAL);
            central.extend_from_slice(&[20, 3, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            central.extend_from_slice(&crc.to_le_bytes());
            central.extend_from_slice(&(body.len() as u32).to_le_bytes());
            central.extend_from_slice(&(body.len() as u32).to_le_bytes());
            central.extend_from_slice(&(name.len() as u16).to_le_bytes());
            central.extend_from_slice(&[0; 8]);
            central.extend_from_slice(&(mode << 16).to_le_bytes());
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(name.as_bytes());
        }
        let cd_offset = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(END);
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.extend_from_slice(&(members.len() as u16).to_le_bytes());
        out.extend_from_slice(&(members.len() as u16).to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out
    }

    #[test]
    fn modification_times() {
        // 2023-11-14 22:13:20 as MS-DOS date and time (`zip -X` in the fixture recipe writes it).
        let date = ((2023 - 1980) << 9) + (11 << 5) + 14;
        let time = (22 << 11) + (13 << 5) + 20 / 2;
        assert_eq!(dos_time(date, time), Some(1_700_000_000));
        assert_eq!(dos_time((1 << 5) | 1, 0), Some(315_532_800)); // 1980-01-01
        assert_eq!(dos_time(0, 0), None, "month 0 is no date");
        assert_eq!(dos_time(date, 24 << 11), None, "hour 24");
        // The extended timestamp field wins; other fields before it are skipped.
        let mut extra = vec![0x75, 0x78, 3, 0, 1, 2, 3];
        extra.extend([0x55, 0x54, 5, 0, 1]);
        extra.extend(1_700_000_001u32.to_le_bytes());
        assert_eq!(unix_time(&extra), Some(1_700_000_001));
        assert_eq!(unix_time(&extra[..10]), None, "truncated");
        assert_eq!(unix_time(&[0x55, 0x54, 1, 0, 0]), None, "no mtime flag");
    }

    #[test]
    fn stored_members_and_symlinks() {
        let data = stored_zip(&[
            ("a.txt", b"alpha", 0o100_644),
            ("link", b"/etc/passwd", 0o120_777),
        ]);
        let len = data.len();
        let mut prefixed = b"SFX stub".to_vec();
        prefixed.extend(&data);
        assert!(probe(&data).is_some());
        for input in [data, prefixed] {
            let listing = extract(&Bytes::from(input.clone()), &Budget::new(Limits::default()));
            assert!(listing.diagnostics.is_empty(), "{:?}", listing.diagnostics);
            assert_eq!(listing.entries.len(), 2);
            assert_eq!(
                listing.entries[1].kind,
                NodeKind::Symlink {
                    target: "/etc/passwd".into()
                }
            );
            assert_eq!(listing.size, Some(input.len() as u64));
        }
        let _ = len;
    }

    /// A ZIP64 local header offset near 2^64 overflowed the arithmetic after it (found by the
    /// `format_zip` fuzz target): it is outside the archive, and said so.
    #[test]
    fn a_zip64_offset_near_the_top_is_outside_the_archive() {
        let mut central = CENTRAL.to_vec();
        central.extend_from_slice(&[20, 3, 45, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        central.extend_from_slice(&crc32fast::hash(b"x").to_le_bytes());
        central.extend_from_slice(&1u32.to_le_bytes());
        central.extend_from_slice(&1u32.to_le_bytes());
        central.extend_from_slice(&1u16.to_le_bytes());
        central.extend_from_slice(&12u16.to_le_bytes());
        central.extend_from_slice(&[0; 6]);
        central.extend_from_slice(&(0o100_644u32 << 16).to_le_bytes());
        central.extend_from_slice(&u32::MAX.to_le_bytes());
        central.extend_from_slice(b"a");
        central.extend_from_slice(&[1, 0, 8, 0]);
        central.extend_from_slice(&(u64::MAX - 3).to_le_bytes());
        let mut data = central.clone();
        data.extend_from_slice(END);
        data.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
        data.extend_from_slice(&(central.len() as u32).to_le_bytes());
        data.extend_from_slice(&0u32.to_le_bytes());
        data.extend_from_slice(&[0, 0]);
        let listing = extract(&Bytes::from(data), &Budget::new(Limits::default()));
        assert!(listing.entries.is_empty());
        assert!(
            listing.diagnostics[0]
                .message
                .contains("local header is outside the archive"),
            "{:?}",
            listing.diagnostics
        );
    }
}
