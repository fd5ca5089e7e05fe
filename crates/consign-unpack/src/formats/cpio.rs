//! cpio archives: newc (`070701`), newc with checksums (`070702`) and portable odc (`070707`).
//!
//! Member data are slices of the input. Hard links in newc archives (same inode, data stored once
//! on the last link) become hard-link entries pointing at the member that holds the data.

use std::collections::HashMap;

use bytes::Bytes;
use consign_model::{Diagnostic, NodeKind};

use crate::Budget;
use crate::binary::{align_up, c_string};
use crate::fs::{FsEntry, FsListing, Probe};

const TRAILER: &str = "TRAILER!!!";

/// One parsed header.
struct Header {
    ino: u64,
    mode: u32,
    nlink: u64,
    mtime: u64,
    filesize: u64,
    namesize: u64,
    check: u64,
    fixed_len: usize,
    /// Newc pads name and data to 4 bytes; odc does not.
    align: usize,
}

fn hex_field(data: &[u8], index: usize) -> Option<u64> {
    let field = data.get(6 + index * 8..6 + index * 8 + 8)?;
    u64::from_str_radix(std::str::from_utf8(field).ok()?, 16).ok()
}

fn octal(data: &[u8], start: usize, len: usize) -> Option<u64> {
    let field = data.get(start..start + len)?;
    u64::from_str_radix(std::str::from_utf8(field).ok()?, 8).ok()
}

fn header(data: &[u8]) -> Option<Header> {
    match data.get(..6)? {
        b"070701" | b"070702" => Some(Header {
            ino: hex_field(data, 0)?,
            mode: hex_field(data, 1)? as u32,
            nlink: hex_field(data, 4)?,
            mtime: hex_field(data, 5)?,
            filesize: hex_field(data, 6)?,
            namesize: hex_field(data, 11)?,
            check: hex_field(data, 12)?,
            fixed_len: 110,
            align: 4,
        }),
        b"070707" => Some(Header {
            ino: octal(data, 12, 6)?,
            mode: octal(data, 18, 6)? as u32,
            nlink: octal(data, 36, 6)?,
            mtime: octal(data, 48, 11)?,
            filesize: octal(data, 65, 11)?,
            namesize: octal(data, 59, 6)?,
            check: 0,
            fixed_len: 76,
            align: 1,
        }),
        _ => None,
    }
}

/// A readable header with a name size between 1 and 4096.
pub(crate) fn probe(data: &[u8]) -> Option<Probe> {
    let header = header(data)?;
    if !(1..=4096).contains(&header.namesize) {
        return None;
    }
    let kind = match data.get(..6)? {
        b"070701" => "newc",
        b"070702" => "newc with checksums",
        _ => "odc",
    };
    Some(Probe {
        format: "cpio",
        size: None,
        description: format!("cpio archive ({kind})"),
    })
}

/// Lists a cpio archive.
pub(crate) fn extract(data: &Bytes, _budget: &Budget) -> FsListing {
    let mut listing = FsListing::default();
    let mut pos = 0usize;
    // Inode -> index of the entry holding the data, for newc hard links.
    let mut holders: HashMap<u64, usize> = HashMap::new();
    let mut empty_links: Vec<(usize, u64)> = Vec::new();
    while let Some(rest) = data.get(pos..) {
        if rest.is_empty() {
            listing.diagnostics.push(
                Diagnostic::warning("", "cpio archive ends without a `TRAILER!!!` entry")
                    .at(pos as u64),
            );
            break;
        }
        let Some(h) = header(rest) else {
            listing.diagnostics.push(
                Diagnostic::warning(
                    "",
                    "cpio header is damaged; the rest of the archive is skipped",
                )
                .at(pos as u64),
            );
            break;
        };
        let name_start = pos + h.fixed_len;
        let Some(name_end) = usize::try_from(h.namesize)
            .ok()
            .and_then(|n| name_start.checked_add(n))
        else {
            break;
        };
        let Some(name_bytes) = data.get(name_start..name_end) else {
            listing.diagnostics.push(
                Diagnostic::warning("", "cpio name runs past the end of the input").at(pos as u64),
            );
            break;
        };
        let name = c_string(name_bytes);
        let Some(data_start) = align_up(name_end, h.align) else {
            break;
        };
        if name == TRAILER {
            pos = data_start.min(data.len());
            break;
        }
        let available = data.len().saturating_sub(data_start) as u64;
        let take = h.filesize.min(available) as usize;
        let start = data_start.min(data.len());
        let contents = data.slice(start..start + take);
        if (take as u64) < h.filesize {
            listing.diagnostics.push(
                Diagnostic::warning(
                    "",
                    format!(
                        "cpio member `{name}` claims {} bytes but only {take} remain",
                        h.filesize
                    ),
                )
                .at(pos as u64),
            );
        }
        if rest.get(..6) == Some(b"070702") && h.mode & 0o170_000 == 0o100_000 {
            let sum = contents
                .iter()
                .fold(0u32, |acc, &b| acc.wrapping_add(u32::from(b)));
            if u64::from(sum) != h.check && take as u64 == h.filesize {
                listing.diagnostics.push(
                    Diagnostic::warning(
                        "",
                        format!(
                            "cpio member `{name}` checksum is {sum:#x}, header says {:#x}",
                            h.check
                        ),
                    )
                    .at(pos as u64),
                );
            }
        }
        let kind = match h.mode & 0o170_000 {
            0o040_000 => NodeKind::Dir,
            0o120_000 => NodeKind::Symlink {
                target: String::from_utf8_lossy(&contents).into_owned(),
            },
            0o020_000 => NodeKind::Special {
                what: "char-device".into(),
            },
            0o060_000 => NodeKind::Special {
                what: "block-device".into(),
            },
            0o010_000 => NodeKind::Special {
                what: "fifo".into(),
            },
            0o140_000 => NodeKind::Special {
                what: "socket".into(),
            },
            _ => NodeKind::File { data: contents },
        };
        if matches!(kind, NodeKind::File { .. }) && h.nlink > 1 && h.align == 4 {
            if h.filesize == 0 {
                empty_links.push((listing.entries.len(), h.ino));
            } else {
                holders.insert(h.ino, listing.entries.len());
            }
        }
        listing.entries.push(FsEntry {
            path: name,
            kind,
            mode: Some(h.mode & 0o7777),
            mtime: i64::try_from(h.mtime).ok(),
        });
        let Some(next) = usize::try_from(h.filesize)
            .ok()
            .and_then(|size| data_start.checked_add(size))
            .and_then(|end| align_up(end, h.align))
        else {
            break;
        };
        if next > data.len() {
            pos = data.len();
            break;
        }
        pos = next;
    }
    for (index, ino) in empty_links {
        if let Some(&holder) = holders.get(&ino) {
            let target = listing
                .entries
                .get(holder)
                .map(|e| e.path.clone())
                .unwrap_or_default();
            if let Some(entry) = listing.entries.get_mut(index) {
                entry.kind = NodeKind::Hardlink { target };
            }
        }
    }
    listing.size = Some(pos as u64);
    listing
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Limits;

    /// One newc member for tests.
    pub(crate) fn newc(name: &str, mode: u32, body: &[u8]) -> Vec<u8> {
        let mut out = format!(
            "070701{:08x}{mode:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            1,
            0,
            0,
            1,
            0,
            body.len(),
            0,
            0,
            0,
            0,
            name.len() + 1,
            0
        )
        .into_bytes();
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.resize(out.len().next_multiple_of(4), 0);
        out.extend_from_slice(body);
        out.resize(out.len().next_multiple_of(4), 0);
        out
    }

    #[test]
    fn newc_members() {
        let mut data = newc("sw-description", 0o100_644, b"software = {}");
        data.extend(newc("bin", 0o040_755, b""));
        data.extend(newc("bin/sh", 0o120_777, b"busybox"));
        let end = data.len() + newc(TRAILER, 0, b"").len();
        data.extend(newc(TRAILER, 0, b""));
        data.extend([0u8; 300]);
        assert!(probe(&data).is_some());
        let listing = extract(&Bytes::from(data), &Budget::new(Limits::default()));
        assert_eq!(listing.size, Some(end as u64));
        assert_eq!(listing.entries.len(), 3);
        assert_eq!(
            listing.entries[2].kind,
            NodeKind::Symlink {
                target: "busybox".into()
            }
        );
        assert!(listing.diagnostics.is_empty());
    }
}
