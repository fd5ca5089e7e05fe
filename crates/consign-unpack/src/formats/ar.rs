//! `ar` archives (`!<arch>\n`): Debian packages (`.deb`: `debian-binary`, `control.tar.*`,
//! `data.tar.*`), static libraries and some vendor update bundles.
//!
//! Each member has a 60-byte header: name (16), mtime (12, decimal), uid (6), gid (6), mode (8,
//! octal), size (10, decimal) and the terminator `` `\n ``; its data follow, padded to an even
//! offset. System V/GNU names end in `/` and a name `/N` is an offset into the `//` long-name
//! table; BSD names `#1/N` store the name in the first N bytes of the data. The symbol tables
//! (`/`, `/SYM64/`, `__.SYMDEF`) are skipped. Thin archives (`!<thin>\n`) hold no data and are not
//! probed. Member data are slices of the input.

use bytes::Bytes;
use consign_model::Diagnostic;

use crate::Budget;
use crate::fs::{FsListing, Probe};

use super::file;

const MAGIC: &[u8] = b"!<arch>\n";
const HEADER: usize = 60;
/// A BSD long name longer than this is refused (real ones are file names).
const MAX_BSD_NAME: usize = 4096;

/// One member header, as read.
struct Header {
    name: String,
    mtime: Option<i64>,
    mode: Option<u32>,
    size: u64,
}

/// A space-padded decimal field; empty means absent.
fn decimal(field: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(field).ok()?.trim_end_matches(' ');
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn header(data: &[u8]) -> Option<Header> {
    let raw = data.get(..HEADER)?;
    if raw.get(58..60)? != b"`\n" {
        return None;
    }
    let size = decimal(raw.get(48..58)?)?;
    let name = String::from_utf8_lossy(raw.get(..16)?)
        .trim_end_matches(' ')
        .to_owned();
    let mtime = decimal(raw.get(16..28)?).and_then(|t| i64::try_from(t).ok());
    let mode = std::str::from_utf8(raw.get(40..48)?)
        .ok()
        .and_then(|text| u32::from_str_radix(text.trim_end_matches(' '), 8).ok())
        .map(|mode| mode & 0o7777);
    Some(Header {
        name,
        mtime,
        mode,
        size,
    })
}

/// The magic followed by a well-formed first member header (or nothing: an empty archive).
pub(crate) fn probe(data: &[u8]) -> Option<Probe> {
    if data.get(..MAGIC.len())? != MAGIC {
        return None;
    }
    let rest = data.get(MAGIC.len()..).unwrap_or_default();
    if rest.is_empty() {
        return Some(Probe {
            format: "ar",
            size: Some(MAGIC.len() as u64),
            description: "ar archive (empty)".into(),
        });
    }
    let first = header(rest)?;
    let kind = if first.name == "debian-binary" {
        "Debian package"
    } else {
        "ar archive"
    };
    Some(Probe {
        format: "ar",
        size: None,
        description: kind.into(),
    })
}

/// The name a GNU `/N` entry points to in the long-name table (entries end in `/\n`).
fn long_name(table: &[u8], offset: usize) -> Option<String> {
    let rest = table.get(offset..)?;
    let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    let name = rest.get(..end)?;
    let name = name.strip_suffix(b"/").unwrap_or(name);
    Some(String::from_utf8_lossy(name).into_owned())
}

/// Lists an `ar` archive.
pub(crate) fn extract(data: &Bytes, _budget: &Budget) -> FsListing {
    let mut listing = FsListing::default();
    if data.get(..MAGIC.len()) != Some(MAGIC) {
        return listing;
    }
    let mut pos = MAGIC.len();
    let mut names: Option<Bytes> = None;
    while pos < data.len() {
        // A lone newline pads some archives to an even size.
        if data.len() - pos == 1 && data.get(pos) == Some(&b'\n') {
            pos += 1;
            break;
        }
        let Some(member) = data.get(pos..).and_then(header) else {
            listing.diagnostics.push(
                Diagnostic::warning(
                    "",
                    "ar member header is damaged or cut short; the rest of the archive is skipped",
                )
                .at(pos as u64)
                .with_hint("the archive is damaged or truncated"),
            );
            break;
        };
        let start = pos + HEADER;
        let available = (data.len() - start) as u64;
        let complete = member.size <= available;
        let end = start + member.size.min(available) as usize;
        if !complete {
            listing.diagnostics.push(
                Diagnostic::warning(
                    "",
                    format!(
                        "ar member `{}` claims {} bytes but only {available} remain",
                        member.name, member.size
                    ),
                )
                .at(pos as u64),
            );
        }
        let mut contents = data.slice(start..end);
        let name = match member.name.as_str() {
            "/" | "/SYM64/" | "__.SYMDEF" | "__.SYMDEF SORTED" => None,
            "//" => {
                names = Some(contents.clone());
                None
            }
            other => {
                if let Some(digits) = other.strip_prefix("#1/") {
                    let length = decimal(digits.as_bytes())
                        .and_then(|len| usize::try_from(len).ok())
                        .filter(|len| *len <= MAX_BSD_NAME && *len <= contents.len());
                    if let Some(len) = length {
                        let name = contents.slice(..len);
                        contents = contents.slice(len..);
                        Some(crate::binary::c_string(&name))
                    } else {
                        listing.diagnostics.push(
                            Diagnostic::warning(
                                "",
                                format!("ar member name `{other}` has a bad length"),
                            )
                            .at(pos as u64),
                        );
                        None
                    }
                } else if let Some(digits) = other.strip_prefix('/') {
                    let found = decimal(digits.as_bytes())
                        .and_then(|offset| usize::try_from(offset).ok())
                        .and_then(|offset| long_name(names.as_deref()?, offset));
                    if found.is_none() {
                        listing.diagnostics.push(
                            Diagnostic::warning(
                                "",
                                format!(
                                    "ar member name `{other}` points outside the long-name table"
                                ),
                            )
                            .at(pos as u64),
                        );
                    }
                    found
                } else {
                    Some(other.strip_suffix('/').unwrap_or(other).to_owned())
                }
            }
        };
        if let Some(name) = name.filter(|name| !name.is_empty()) {
            let mut entry = file(name, contents, member.mode);
            entry.mtime = member.mtime;
            listing.entries.push(entry);
        }
        if !complete {
            pos = data.len();
            break;
        }
        // Data are padded to an even offset.
        pos = end + (end % 2);
    }
    listing.size = Some(pos.min(data.len()) as u64);
    listing
}

#[cfg(test)]
mod tests {
    use consign_model::NodeKind;

    use super::*;
    use crate::Limits;

    fn member(name: &str, body: &[u8]) -> Vec<u8> {
        let mut out = format!(
            "{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            1_700_000_000,
            0,
            0,
            "100644",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(body);
        if out.len() % 2 == 1 {
            out.push(b'\n');
        }
        out
    }

    fn list(data: Vec<u8>) -> FsListing {
        extract(&Bytes::from(data), &Budget::new(Limits::default()))
    }

    #[test]
    fn a_debian_package_lists_its_three_members() {
        let mut data = MAGIC.to_vec();
        data.extend(member("debian-binary", b"2.0\n"));
        data.extend(member("control.tar.xz", b"ctl"));
        data.extend(member("data.tar.xz/", b"payload"));
        let len = data.len();
        let probed = probe(&data).unwrap();
        assert_eq!(probed.description, "Debian package");
        let listing = list(data);
        let names: Vec<&str> = listing.entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(names, ["debian-binary", "control.tar.xz", "data.tar.xz"]);
        assert_eq!(
            listing.entries[2].kind,
            NodeKind::File {
                data: Bytes::from_static(b"payload")
            }
        );
        assert_eq!(listing.entries[0].mode, Some(0o644));
        assert_eq!(listing.entries[0].mtime, Some(1_700_000_000));
        assert_eq!(listing.size, Some(len as u64));
        assert!(listing.diagnostics.is_empty(), "{:?}", listing.diagnostics);
    }

    #[test]
    fn gnu_and_bsd_long_names() {
        let mut data = MAGIC.to_vec();
        data.extend(member("/", b"\0\0\0\0"));
        data.extend(member("//", b"a_rather_long_object_name.o/\n"));
        data.extend(member("/0", b"gnu"));
        data.extend(member("#1/20", b"bsd_long_name_here.obsd"));
        data.extend(member("/99", b"lost"));
        let listing = list(data);
        let names: Vec<&str> = listing.entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            names,
            ["a_rather_long_object_name.o", "bsd_long_name_here.o"]
        );
        assert_eq!(
            listing.entries[1].kind,
            NodeKind::File {
                data: Bytes::from_static(b"bsd")
            }
        );
        assert_eq!(listing.diagnostics.len(), 1);
        assert!(listing.diagnostics[0].message.contains("`/99`"));
    }

    #[test]
    fn damaged_archives_give_diagnostics() {
        assert!(
            probe(b"!<arch>\nnot a header at all, sixty bytes are needed here......").is_none()
        );
        assert!(probe(b"!<thin>\n").is_none());
        let mut data = MAGIC.to_vec();
        data.extend(member("big", b"0123"));
        // Claim more than is there.
        let size_field = MAGIC.len() + 48;
        data[size_field..size_field + 10].copy_from_slice(b"999999    ");
        let listing = list(data);
        assert_eq!(listing.entries.len(), 1);
        assert!(
            listing.diagnostics[0]
                .message
                .contains("claims 999999 bytes")
        );

        let mut data = MAGIC.to_vec();
        data.extend(member("ok", b"x"));
        data.extend(b"garbage that is not a header");
        let listing = list(data);
        assert_eq!(listing.entries.len(), 1);
        assert!(listing.diagnostics[0].message.contains("damaged"));
    }

    /// A real `.deb` goes through the engine down to the files of its data tarball.
    #[test]
    fn the_engine_unpacks_a_deb_to_its_files() {
        let tar = crate::formats::tar::tests::archive(&[("./usr/bin/hello", b'0', b"hi", "")]);
        let mut data = MAGIC.to_vec();
        data.extend(member("debian-binary", b"2.0\n"));
        data.extend(member("data.tar", &tar));
        let unpacked = crate::unpack("hello.deb", Bytes::from(data), &Limits::default());
        assert!(
            unpacked
                .vfs
                .nodes
                .iter()
                .any(|node| node.path.ends_with("data.tar/tar@0x0/usr/bin/hello")),
            "{:?}",
            unpacked
                .vfs
                .nodes
                .iter()
                .map(|n| &n.path)
                .collect::<Vec<_>>()
        );
    }
}
