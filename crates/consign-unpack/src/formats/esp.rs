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

/// The text of a NUL-padded descriptor field, printable ASCII only (it goes into reports).
fn field(data: &[u8], range: std::ops::Range<usize>) -> Option<String> {
    let text: String = crate::binary::c_string(data.get(range)?)
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .collect();
    (!text.is_empty()).then_some(text)
}

/// What the first segment says the image is: ESP-IDF applications start it with
/// `esp_app_desc_t` (magic `0xABCD5432`; version, project name and ESP-IDF version at 16, 48 and
/// 112), bootloaders of ESP-IDF 5.1 and later with `esp_bootloader_desc_t` (magic byte `0x50`;
/// the ESP-IDF version at 8).
fn identity(first: &[u8]) -> Option<String> {
    if u32le(first, 0)? == 0xabcd_5432 {
        let project = field(first, 48..80).unwrap_or_else(|| "?".to_owned());
        let version = field(first, 16..48).unwrap_or_else(|| "?".to_owned());
        let idf = field(first, 112..144).unwrap_or_else(|| "?".to_owned());
        return Some(format!(
            "application image `{project}` {version} (ESP-IDF {idf})"
        ));
    }
    if first.len() >= 80 && first.first() == Some(&0x50) {
        let idf = field(first, 8..40).filter(|idf| idf.starts_with('v'))?;
        return Some(format!("bootloader image (ESP-IDF {idf})"));
    }
    None
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
            "{} {}, {} segments, entry {:#010x}",
            layout.chip,
            segments
                .first()
                .and_then(|(_, range)| identity(data.get(range.clone())?))
                .unwrap_or_else(|| "application image".to_owned()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::test_support::gunzip;

    /// The images esptool's `image-info` read back in `fixtures/unpack/esp/make_flash.py` name
    /// themselves through their descriptors.
    #[test]
    fn descriptors_name_the_image() {
        let flash = gunzip("fixtures/unpack/esp/flash.bin.gz");
        let describe = |at: usize| probe(&flash[at..]).unwrap().description;
        assert_eq!(
            describe(0x1000),
            "ESP32 bootloader image (ESP-IDF v5.1.2), 2 segments, entry 0x40080400"
        );
        assert_eq!(
            describe(0x10000),
            "ESP32 application image `esp-demo-app` 2.3.1 (ESP-IDF v5.1.2), 2 segments, entry \
             0x40080400"
        );
        assert_eq!(
            describe(0x20000),
            "ESP32 application image `esp-demo-app` 2.4.0 (ESP-IDF v5.1.2), 2 segments, entry \
             0x40080400"
        );
        // Without a descriptor, an image is what it always was.
        let mut bare = flash[0x10000..0x10000 + 432].to_vec();
        bare[32] ^= 0xff;
        assert_eq!(
            probe(&bare).unwrap().description,
            "ESP32 application image, 2 segments, entry 0x40080400"
        );
    }
}
