//! tar archives: ustar, GNU (long names and links) and pax (extended headers).
//!
//! Every header's checksum is verified; a bad one ends the archive with a diagnostic, since the
//! next header's position is then unknown. Member data are slices of the input.

use bytes::Bytes;
use consign_model::{Diagnostic, NodeKind};

use crate::Budget;
use crate::binary::{align_up, c_string};
use crate::fs::{FsEntry, FsListing, Probe};

const BLOCK: usize = 512;
/// Long names and pax headers larger than this are refused (real ones are a few hundred bytes).
const MAX_META: usize = 1 << 20;

/// Parses an octal (or GNU base-256) number field.
fn number(field: &[u8]) -> Option<u64> {
    if let Some((&first, rest)) = field.split_first()
        && first & 0x80 != 0
    {
        // GNU base-256: the rest of the field is a big-endian number (first byte's low bits too).
        let mut value = u64::from(first & 0x3f);
        for &byte in rest {
            value = value.checked_mul(256)?.checked_add(u64::from(byte))?;
        }
        return Some(value);
    }
    let text = field
        .iter()
        .copied()
        .skip_while(|b| *b == b' ')
        .take_while(|b| (b'0'..=b'7').contains(b));
    let mut value = 0u64;
    let mut digits = 0;
    for byte in text {
        value = value.checked_mul(8)?.checked_add(u64::from(byte - b'0'))?;
        digits += 1;
    }
    let rest_ok = field
        .iter()
        .skip_while(|b| **b == b' ')
        .skip(digits)
        .all(|b| *b == 0 || *b == b' ');
    (rest_ok).then_some(value)
}

/// True when the header's stored checksum matches its bytes.
fn checksum_ok(header: &[u8]) -> bool {
    let Some(stored) = header.get(148..156).and_then(number) else {
        return false;
    };
    let sum: u64 = header
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(b)
            }
        })
        .sum();
    sum == stored
}

/// ustar or GNU magic at 257 and a valid checksum.
pub(crate) fn probe(data: &[u8]) -> Option<Probe> {
    let header = data.get(..BLOCK)?;
    let magic = header.get(257..265)?;
    let kind = if magic == b"ustar\x0000" {
        "ustar"
    } else if magic == b"ustar  \0" {
        "gnu"
    } else if magic.starts_with(b"ustar") {
        "ustar"
    } else {
        return None;
    };
    checksum_ok(header).then(|| Probe {
        format: "tar",
        size: None,
        description: format!("tar archive ({kind})"),
    })
}

/// Reads `len` bytes of member data at `pos` (truncated to what is there).
fn member(data: &Bytes, pos: usize, len: u64) -> (Bytes, bool) {
    let available = data.len().saturating_sub(pos) as u64;
    let take = len.min(available) as usize;
    (
        data.slice(pos.min(data.len())..pos.min(data.len()) + take),
        take as u64 == len,
    )
}

/// The pax keys this reader uses; the others are skipped.
const PAX_KEYS: [&str; 3] = ["path", "linkpath", "mtime"];

/// Parses pax records (`LEN key=value\n`) into `out`, keeping only [`PAX_KEYS`], the last value of
/// each: a global header of a million records costs one lookup per member, not a million.
fn pax_records(text: &[u8], out: &mut Vec<(String, String)>) {
    let mut rest = text;
    while !rest.is_empty() {
        let Some(space) = rest.iter().position(|&b| b == b' ') else {
            return;
        };
        let Some(len) = std::str::from_utf8(rest.get(..space).unwrap_or_default())
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
        else {
            return;
        };
        let Some(record) = rest.get(space + 1..len) else {
            return;
        };
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(eq) = record.iter().position(|&b| b == b'=')
            && let Some(key) = PAX_KEYS
                .iter()
                .find(|key| record.get(..eq) == Some(key.as_bytes()))
        {
            let value =
                String::from_utf8_lossy(record.get(eq + 1..).unwrap_or_default()).into_owned();
            out.retain(|(k, _)| k != key);
            out.push(((*key).to_owned(), value));
        }
        rest = rest.get(len..).unwrap_or_default();
    }
}

/// Lists a tar archive.
///
/// Member data are slices of the input, but names are not: a global pax header names every
/// member after it, so a 1 MiB path in one header and a few thousand empty members would be
/// gigabytes of names. Every name is drawn from the budget before it is kept.
pub(crate) fn extract(data: &Bytes, budget: &Budget) -> FsListing {
    let mut listing = FsListing::default();
    let mut names = budget.working_memory();
    let mut pos = 0usize;
    let mut long_name: Option<String> = None;
    let mut long_link: Option<String> = None;
    let mut pax: Vec<(String, String)> = Vec::new();
    let mut global_pax: Vec<(String, String)> = Vec::new();
    loop {
        let Some(header) = data.get(pos..pos + BLOCK) else {
            if pos < data.len() {
                listing.diagnostics.push(
                    Diagnostic::warning("", "tar archive ends inside a header block")
                        .at(pos as u64),
                );
            }
            pos = pos.min(data.len());
            break;
        };
        if header.iter().all(|&b| b == 0) {
            // End of archive: one or two zero blocks.
            pos += BLOCK;
            if data
                .get(pos..pos + BLOCK)
                .is_some_and(|b| b.iter().all(|&x| x == 0))
            {
                pos += BLOCK;
            }
            break;
        }
        if !checksum_ok(header) {
            listing.diagnostics.push(
                Diagnostic::warning(
                    "",
                    "tar header checksum is wrong; the rest of the archive is skipped",
                )
                .at(pos as u64)
                .with_hint("the archive is damaged or this is not a tar header"),
            );
            break;
        }
        let Some(size) = header.get(124..136).and_then(number) else {
            listing.diagnostics.push(
                Diagnostic::warning("", "tar header has an unreadable size field").at(pos as u64),
            );
            break;
        };
        let typeflag = header.get(156).copied().unwrap_or(0);
        let data_start = pos + BLOCK;
        let Some(padded) = usize::try_from(size).ok().and_then(|s| align_up(s, BLOCK)) else {
            break;
        };
        let (contents, complete) = member(data, data_start, size);
        if !complete {
            listing.diagnostics.push(
                Diagnostic::warning(
                    "",
                    format!(
                        "tar member claims {size} bytes but only {} remain",
                        contents.len()
                    ),
                )
                .at(pos as u64),
            );
        }
        match typeflag {
            b'L' | b'K' | b'x' | b'g' => {
                if contents.len() > MAX_META {
                    listing.diagnostics.push(
                        Diagnostic::warning(
                            "",
                            format!("tar metadata record of {size} bytes is too large"),
                        )
                        .at(pos as u64),
                    );
                } else if typeflag == b'L' {
                    long_name = Some(c_string(&contents));
                } else if typeflag == b'K' {
                    long_link = Some(c_string(&contents));
                } else if typeflag == b'x' {
                    pax_records(&contents, &mut pax);
                } else {
                    pax_records(&contents, &mut global_pax);
                }
            }
            _ => {
                let mut name = c_string(header.get(..100).unwrap_or_default());
                let prefix = header.get(345..500).map(c_string).unwrap_or_default();
                if !prefix.is_empty() && header.get(257..263) == Some(b"ustar\0") {
                    name = format!("{prefix}/{name}");
                }
                let mut link = c_string(header.get(157..257).unwrap_or_default());
                let mut mtime = header
                    .get(136..148)
                    .and_then(number)
                    .and_then(|t| i64::try_from(t).ok());
                if let Some(long) = long_name.take() {
                    name = long;
                }
                if let Some(long) = long_link.take() {
                    link = long;
                }
                for (key, value) in global_pax.iter().chain(pax.iter()) {
                    match key.as_str() {
                        "path" => name.clone_from(value),
                        "linkpath" => link.clone_from(value),
                        // Decimal seconds, maybe negative, maybe with a fraction.
                        "mtime" => {
                            if let Ok(seconds) = value.split('.').next().unwrap_or("").parse() {
                                mtime = Some(seconds);
                            }
                        }
                        _ => {}
                    }
                }
                pax.clear();
                if let Err(limit) = names.grow((name.len() + link.len()) as u64) {
                    listing.cut(
                        Diagnostic::warning(
                            "",
                            format!("tar members from `{name}` on were not read: {limit}"),
                        )
                        .at(pos as u64)
                        .with_hint(limit.hint()),
                        format!("tar members from offset {pos:#x} on"),
                        limit.into(),
                    );
                    break;
                }
                let mode = header
                    .get(100..108)
                    .and_then(number)
                    .map(|m| (m & 0o7777) as u32);
                let kind = match typeflag {
                    b'0' | 0 | b'7' => NodeKind::File { data: contents },
                    b'1' => NodeKind::Hardlink { target: link },
                    b'2' => NodeKind::Symlink { target: link },
                    b'3' => NodeKind::Special {
                        what: "char-device".into(),
                    },
                    b'4' => NodeKind::Special {
                        what: "block-device".into(),
                    },
                    b'5' => NodeKind::Dir,
                    b'6' => NodeKind::Special {
                        what: "fifo".into(),
                    },
                    other => {
                        listing.diagnostics.push(
                            Diagnostic::warning(
                                "",
                                format!(
                                    "tar member `{name}` has unknown type `{}`; kept as a file",
                                    other.escape_ascii()
                                ),
                            )
                            .at(pos as u64),
                        );
                        NodeKind::File { data: contents }
                    }
                };
                listing.entries.push(FsEntry {
                    path: name,
                    kind,
                    mode,
                    mtime,
                });
            }
        }
        pos = match data_start.checked_add(padded) {
            Some(next) if next <= data.len() => next,
            _ => {
                pos = data.len();
                break;
            }
        };
    }
    listing.size = Some(pos as u64);
    listing
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Limits;

    /// Builds one tar header block for tests (ustar, checksum filled in).
    pub(crate) fn header(name: &str, typeflag: u8, size: usize, link: &str) -> Vec<u8> {
        let mut h = vec![0u8; BLOCK];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..107].copy_from_slice(b"0000644");
        h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
        h[156] = typeflag;
        h[157..157 + link.len()].copy_from_slice(link.as_bytes());
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        h
    }

    /// A whole archive of `(name, typeflag, data, link)` members.
    pub(crate) fn archive(members: &[(&str, u8, &[u8], &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, typeflag, body, link) in members {
            out.extend(header(name, *typeflag, body.len(), link));
            out.extend_from_slice(body);
            out.resize(out.len().next_multiple_of(BLOCK), 0);
        }
        out.extend([0u8; 1024]);
        out
    }

    #[test]
    fn members_links_and_pax() {
        let pax = b"29 path=a/very/long/pax/name\n";
        let data = archive(&[
            ("dir/", b'5', b"", ""),
            ("dir/f", b'0', b"hello", ""),
            ("l", b'2', b"", "../../etc"),
            ("pax", b'x', pax, ""),
            ("short", b'0', b"x", ""),
        ]);
        let len = data.len();
        assert!(probe(&data).is_some());
        let listing = extract(&Bytes::from(data), &Budget::new(Limits::default()));
        assert_eq!(listing.size, Some(len as u64));
        let paths: Vec<_> = listing.entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["dir/", "dir/f", "l", "a/very/long/pax/name"]);
        assert_eq!(
            listing.entries[1].kind,
            NodeKind::File {
                data: Bytes::from_static(b"hello")
            }
        );
        assert!(listing.diagnostics.is_empty());
    }

    #[test]
    fn absurd_size_is_a_diagnostic() {
        let mut data = header("big", b'0', 0, "");
        data[124..136].copy_from_slice(b"77777777777\0");
        data[148..156].copy_from_slice(b"        ");
        let sum: u32 = data.iter().map(|&b| u32::from(b)).sum();
        data[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        let listing = extract(&Bytes::from(data), &Budget::new(Limits::default()));
        assert_eq!(listing.entries.len(), 1);
        assert!(
            listing.diagnostics[0]
                .message
                .contains("claims 8589934591 bytes")
        );
    }

    /// A global pax header names every member after it: a 1 MiB path and 2,000 empty members
    /// would be 2 GiB of names. They are drawn from the budget, and the members it refuses are a
    /// cut. Fifty thousand small global records cost one lookup per member, the last value winning.
    #[test]
    fn a_global_pax_name_cannot_multiply_memory() {
        let path = "p".repeat((1 << 20) - 64);
        let len = "path=".len() + path.len() + 1;
        // The record's length counts its own digits.
        let record = format!("{} path={path}\n", len + 8);
        assert_eq!(record.len(), len + 8);
        let mut members: Vec<(String, u8, Vec<u8>)> = vec![("g".into(), b'g', record.into_bytes())];
        for i in 0..2000 {
            members.push((format!("f{i}"), b'0', Vec::new()));
        }
        let borrowed: Vec<(&str, u8, &[u8], &str)> = members
            .iter()
            .map(|(name, flag, body)| (name.as_str(), *flag, body.as_slice(), ""))
            .collect();
        let budget = Budget::new(Limits {
            max_total_bytes: 64 << 20,
            ..Limits::default()
        });
        let listing = extract(&Bytes::from(archive(&borrowed)), &budget);
        assert!(listing.entries.len() <= 64, "{}", listing.entries.len());
        assert_eq!(listing.cuts.len(), 1);
        assert_eq!(
            listing.cuts[0].reason,
            consign_model::CutReason::TotalBytesLimit
        );
        assert_eq!(budget.bytes_used(), 0, "the names' reservation is released");

        let mut records = String::new();
        for i in 0..50_000 {
            std::fmt::Write::write_fmt(&mut records, format_args!("13 k{i:06}=v\n")).unwrap();
        }
        records.push_str("14 mtime=1234\n");
        let data = archive(&[
            ("g", b'g', records.as_bytes(), ""),
            ("a", b'0', b"", ""),
            ("b", b'0', b"", ""),
        ]);
        let listing = extract(&Bytes::from(data), &Budget::new(Limits::default()));
        assert_eq!(listing.entries.len(), 2);
        assert_eq!(listing.entries[1].mtime, Some(1234));
    }
}
