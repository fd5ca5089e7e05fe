//! Espressif application and bootloader images (esptool's image format): a header with magic
//! `0xE9`, then segments (load address, length, data), a checksum byte and, on ESP32-family chips,
//! an optional SHA-256 of the whole image. Only probed at the start of an input.

use bytes::Bytes;
use consign_model::Diagnostic;
use sha2::Digest as _;

use crate::Budget;
use crate::binary::{align_up, u16le, u32le};
use crate::fs::{FsListing, Probe};

use super::file;

const MAX_SEGMENTS: usize = 16;
const MAX_SEGMENT: usize = 16 << 20;

fn chip_name(id: u16) -> Option<&'static str> {
    Some(match id {
        0 => "ESP32",
        2 => "ESP32-S2",
        5 => "ESP32-C3",
        9 => "ESP32-S3",
        12 => "ESP32-C2",
        13 => "ESP32-C6",
        16 => "ESP32-H2",
        18 => "ESP32-P4",
        20 => "ESP32-C61",
        23 => "ESP32-C5",
        _ => return None,
    })
}

/// What the header says.
struct Layout {
    chip: &'static str,
    segments_at: usize,
    count: usize,
    hash_appended: bool,
    entry: u32,
}

fn layout(data: &[u8]) -> Option<Layout> {
    if *data.first()? != 0xe9 {
        return None;
    }
    let count = usize::from(*data.get(1)?);
    if count == 0 || count > MAX_SEGMENTS || *data.get(2)? > 5 {
        return None;
    }
    let entry = u32le(data, 4)?;
    // ESP32-family images have a 16-byte extended header with a chip id and reserved zero bytes.
    let extended = chip_name(u16le(data, 12)?).filter(|_| {
        data.get(19..23).is_some_and(|r| r.iter().all(|&b| b == 0))
            && data.get(23).is_some_and(|&b| b <= 1)
    });
    Some(match extended {
        Some(chip) => Layout {
            chip,
            segments_at: 24,
            count,
            hash_appended: *data.get(23)? == 1,
            entry,
        },
        None => Layout {
            chip: "ESP8266",
            segments_at: 8,
            count,
            hash_appended: false,
            entry,
        },
    })
}

/// A segment's load address and where its bytes are.
type Segment = (u32, std::ops::Range<usize>);

/// Segment ranges and where the image ends (after checksum and hash). `None` when a segment does
/// not fit, which the probe takes as "not an image".
fn segments(data: &[u8], layout: &Layout) -> Option<(Vec<Segment>, usize)> {
    let mut pos = layout.segments_at;
    let mut out = Vec::new();
    for _ in 0..layout.count {
        let address = u32le(data, pos)?;
        let len = u32le(data, pos + 4)? as usize;
        if len > MAX_SEGMENT {
            return None;
        }
        let start = pos + 8;
        let end = start.checked_add(len)?;
        if end > data.len() {
            return None;
        }
        out.push((address, start..end));
        pos = end;
    }
    // The checksum byte sits in the last byte of a 16-byte aligned block.
    let mut end = align_up(pos + 1, 16)?;
    if layout.hash_appended {
        end += 32;
    }
    Some((out, end))
}

/// A valid header whose segments all fit, each at a plausible address.
pub(crate) fn probe(data: &[u8]) -> Option<Probe> {
    let layout = layout(data)?;
    let (segments, end) = segments(data, &layout)?;
    if !segments
        .iter()
        .all(|(address, _)| (0x3f00_0000..0x6000_0000).contains(address))
    {
        return None;
    }
    Some(Probe {
        format: "esp-image",
        size: Some(end.min(data.len()) as u64),
        description: format!(
            "{} application image, {} segments, entry {:#010x}",
            layout.chip,
            segments.len(),
            layout.entry
        ),
    })
}

/// Lists the segments (named by index and load address) and checks the checksum and hash.
pub(crate) fn extract(data: &Bytes, _budget: &Budget) -> FsListing {
    let mut listing = FsListing::default();
    let Some(layout) = layout(data) else {
        return listing;
    };
    let Some((segments, end)) = segments(data, &layout) else {
        listing.diagnostics.push(Diagnostic::warning(
            "",
            "ESP image segment runs past the end of the input",
        ));
        return listing;
    };
    let mut checksum = 0xefu8;
    for (index, (address, range)) in segments.iter().enumerate() {
        for &byte in data.get(range.clone()).unwrap_or_default() {
            checksum ^= byte;
        }
        listing.entries.push(file(
            format!("segment{index}-{address:#010x}.bin"),
            data.slice(range.clone()),
            None,
        ));
    }
    let checksum_at = if layout.hash_appended {
        end - 33
    } else {
        end - 1
    };
    match data.get(checksum_at) {
        Some(&stored) if stored != checksum => listing.diagnostics.push(
            Diagnostic::warning(
                "",
                format!("ESP image checksum is {stored:#04x}, segments give {checksum:#04x}"),
            )
            .at(checksum_at as u64),
        ),
        None => listing.diagnostics.push(Diagnostic::warning(
            "",
            "ESP image ends before its checksum",
        )),
        _ => {}
    }
    if layout.hash_appended {
        let hashed = data.get(..end - 32).map(sha2::Sha256::digest);
        if hashed.as_deref() != data.get(end - 32..end) {
            listing.diagnostics.push(
                Diagnostic::warning("", "ESP image SHA-256 does not match the appended hash")
                    .at((end - 32) as u64),
            );
        }
    }
    listing.size = Some(end.min(data.len()) as u64);
    listing
}
