//! zip archives, read from the central directory (APPNOTE 6.3.x): stored and deflate members,
//! plus bzip2 and zstd, with CRC-32 checks. Encrypted members and ZIP64 are reported, not read.
//!
//! The carver finds a zip by its first local header; the end-of-central-directory record is then
//! searched for after it, and central-directory offsets are taken relative to the zip's start (or,
//! for archives with data in front, to where the directory actually is).

use bytes::Bytes;
use consign_model::{Diagnostic, NodeKind};

use crate::Budget;
use crate::decompress::Codec;
use crate::fs::{FsEntry, FsListing, Probe};

use super::{inflate, u16le, u32le};

const LOCAL: &[u8] = b"PK\x03\x04";
const CENTRAL: &[u8] = b"PK\x01\x02";
const END: &[u8] = b"PK\x05\x06";

/// A local header with a known method and a sane name length.
pub(crate) fn probe(data: &[u8]) -> Option<Probe> {
    if !data.starts_with(LOCAL) {
        return None;
    }
    let method = u16le(data, 8)?;
    let name_len = u16le(data, 26)?;
    if !matches!(method, 0 | 8 | 9 | 12 | 14 | 93 | 95 | 99) || name_len == 0 || name_len > 4096 {
        return None;
    }
    find_end(data)?;
    Some(Probe {
        format: "zip",
        size: None,
        description: "zip archive".to_owned(),
    })
}

/// The offset of the end-of-central-directory record: the first one whose comment fits.
fn find_end(data: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = data
        .get(from..)?
        .windows(4)
        .position(|w| w == END)
        .map(|p| p + from)
    {
        if let Some(comment) = u16le(data, found + 20)
            && found + 22 + usize::from(comment) <= data.len()
        {
            return Some(found);
        }
        from = found + 1;
    }
    None
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
    let (Some(count), Some(cd_size), Some(cd_offset), Some(comment)) = (
        u16le(data, end + 10),
        u32le(data, end + 12),
        u32le(data, end + 16),
        u16le(data, end + 20),
    ) else {
        return listing;
    };
    listing.size = Some((end + 22 + usize::from(comment)) as u64);
    if cd_offset == u32::MAX || count == u16::MAX {
        listing
            .diagnostics
            .push(Diagnostic::warning("", "zip64 archives are not supported yet").at(end as u64));
        return listing;
    }
    // Where the central directory is: at its stored offset, or right before the end record when
    // the archive has bytes in front of it (self-extracting archives).
    let mut base = 0usize;
    let stored = cd_offset as usize;
    if data.get(stored..stored + 4) != Some(CENTRAL) {
        let actual = end.saturating_sub(cd_size as usize);
        if data.get(actual..actual + 4) == Some(CENTRAL) {
            base = actual.saturating_sub(stored);
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
    let mut pos = base + stored;
    for _ in 0..count {
        if data.get(pos..pos + 4) != Some(CENTRAL) {
            listing.diagnostics.push(
                Diagnostic::warning(
                    "",
                    "zip central directory entry is damaged; the rest are skipped",
                )
                .at(pos as u64),
            );
            break;
        }
        let field16 = |o: usize| u16le(data, pos + o).unwrap_or(0);
        let field32 = |o: usize| u32le(data, pos + o).unwrap_or(0);
        let made_by = field16(4) >> 8;
        let flags = field16(8);
        let method = field16(10);
        let crc = field32(16);
        let csize = field32(20) as usize;
        let usize_ = field32(24);
        let name_len = usize::from(field16(28));
        let extra_len = usize::from(field16(30));
        let comment_len = usize::from(field16(32));
        let attributes = field32(38);
        let local = base + field32(42) as usize;
        let name = data
            .get(pos + 46..pos + 46 + name_len)
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let extra = data
            .get(pos + 46 + name_len..pos + 46 + name_len + extra_len)
            .unwrap_or_default();
        let mtime = unix_time(extra).or_else(|| dos_time(field16(14), field16(12)));
        pos += 46 + name_len + extra_len + comment_len;
        let entry_at = local as u64;
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
        let (Some(lname), Some(lextra)) = (u16le(data, local + 26), u16le(data, local + 28)) else {
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
        let start = local + 30 + usize::from(lname) + usize::from(lextra);
        let Some(raw) = data.get(start..start.saturating_add(csize)) else {
            listing.diagnostics.push(
                Diagnostic::warning(
                    "",
                    format!("zip member `{name}` runs past the end of the archive"),
                )
                .at(entry_at),
            );
            continue;
        };
        if flags & 1 != 0 {
            listing.diagnostics.push(
                Diagnostic::warning(
                    "",
                    format!("zip member `{name}` is encrypted; its contents are not available"),
                )
                .at(entry_at),
            );
            continue;
        }
        let contents = match method {
            0 => Some(data.slice(start..start + csize)),
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
                    &format!("zip member `{name}`"),
                    start as u64,
                );
                listing.diagnostics.extend(inflated.diagnostic);
                inflated.data
            }
            other => {
                listing.diagnostics.push(
                    Diagnostic::warning(
                        "",
                        format!("zip member `{name}` uses compression method {other}, which is not supported"),
                    )
                    .at(entry_at),
                );
                None
            }
        };
        let Some(contents) = contents else { continue };
        if contents.len() as u64 == u64::from(usize_) && crc32fast::hash(&contents) != crc {
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
    listing
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

/// An MS-DOS date and time (local time of an unknown zone, two-second steps), read as UTC.
fn dos_time(date: u16, time: u16) -> Option<i64> {
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
}
