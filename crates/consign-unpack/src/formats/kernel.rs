//! Linux kernel images whose payload is compressed: x86 bzImage (the setup header gives the
//! payload's offset and length) and ARM zImage (the payload is found by its stream magic inside
//! the decompressor). The inflated kernel becomes the entry `vmlinux`, so its banner is readable.
//!
//! arm64 `Image.gz` is a plain gzip stream and needs nothing here.

use bytes::Bytes;
use consign_model::Diagnostic;

use crate::Budget;
use crate::binary::{u16le, u32le};
use crate::fs::{FsListing, Probe};

use super::{file, human_size, inflate, sniff_codec};

const ZIMAGE_MAGIC: u32 = 0x016f_2818;

/// bzImage: `HdrS` at 0x202 with a boot protocol of 2.08 or later (payload fields present).
pub(crate) fn probe_bzimage(data: &[u8]) -> Option<Probe> {
    if data.get(0x202..0x206)? != b"HdrS" || u16le(data, 0x1fe)? != 0xaa55 {
        return None;
    }
    let protocol = u16le(data, 0x206)?;
    if protocol < 0x208 {
        return None;
    }
    let (payload, _) = bzimage_payload(data)?;
    let codec = data.get(payload..).and_then(sniff_codec);
    Some(Probe {
        format: "bzimage",
        size: Some(bzimage_size(data)? as u64),
        description: format!(
            "Linux x86 bzImage, boot protocol {}.{:02}, {} payload",
            protocol >> 8,
            protocol & 0xff,
            codec.map_or_else(|| "unknown".to_owned(), |c| c.to_string())
        ),
    })
}

/// Offset and length of the compressed payload.
fn bzimage_payload(data: &[u8]) -> Option<(usize, usize)> {
    let setup_sects = match *data.get(0x1f1)? {
        0 => 4,
        n => usize::from(n),
    };
    let start = (setup_sects + 1) * 512 + u32le(data, 0x248)? as usize;
    Some((start, u32le(data, 0x24c)? as usize))
}

/// The whole image: setup sectors plus the protected-mode part (`syssize` paragraphs).
fn bzimage_size(data: &[u8]) -> Option<usize> {
    let setup_sects = match *data.get(0x1f1)? {
        0 => 4,
        n => usize::from(n),
    };
    let size = (setup_sects + 1) * 512 + (u32le(data, 0x1f4)? as usize).checked_mul(16)?;
    Some(size.min(data.len()))
}

/// Inflates the bzImage payload.
pub(crate) fn extract_bzimage(data: &Bytes, budget: &Budget) -> FsListing {
    let mut listing = FsListing {
        size: bzimage_size(data).map(|s| s as u64),
        ..FsListing::default()
    };
    let Some((start, len)) = bzimage_payload(data) else {
        return listing;
    };
    let Some(payload) = data.get(start..start.saturating_add(len)) else {
        listing.diagnostics.push(
            Diagnostic::warning(
                "",
                format!("bzImage payload ({len} bytes at {start:#x}) runs past the end"),
            )
            .at(0x248),
        );
        return listing;
    };
    inflate_kernel(payload, start, budget, &mut listing);
    listing
}

fn inflate_kernel(payload: &[u8], start: usize, budget: &Budget, listing: &mut FsListing) -> bool {
    let Some(codec) = sniff_codec(payload) else {
        let magic: Vec<u8> = payload.iter().take(4).copied().collect();
        let what = if magic == b"\x89LZO" || magic.starts_with(&[0x02, 0x21, 0x4c, 0x18]) {
            "lzo or legacy lz4, which is not supported yet"
        } else {
            "not a known compression format"
        };
        listing.diagnostics.push(
            Diagnostic::warning("", format!("kernel payload at {start:#x} is {what}"))
                .at(start as u64),
        );
        return false;
    };
    let inflated = inflate(
        codec,
        payload,
        budget,
        ("kernel payload", start as u64),
        listing,
    );
    match inflated.data {
        Some(kernel) => {
            listing.entries.push(file("vmlinux", kernel, None));
            true
        }
        None => false,
    }
}

/// ARM zImage: the magic at 0x24 and start/end addresses that give a sane size.
pub(crate) fn probe_zimage(data: &[u8]) -> Option<Probe> {
    if u32le(data, 0x24)? != ZIMAGE_MAGIC {
        return None;
    }
    let size = zimage_size(data)?;
    Some(Probe {
        format: "zimage",
        size: Some(size as u64),
        description: format!("Linux ARM zImage, {}", human_size(size as u64)),
    })
}

fn zimage_size(data: &[u8]) -> Option<usize> {
    let start = u32le(data, 0x28)?;
    let end = u32le(data, 0x2c)?;
    let size = end.checked_sub(start)? as usize;
    (0x30..=data.len()).contains(&size).then_some(size)
}

/// Finds the compressed kernel inside the decompressor and inflates it.
pub(crate) fn extract_zimage(data: &Bytes, budget: &Budget) -> FsListing {
    let size = zimage_size(data).unwrap_or(data.len());
    let mut listing = FsListing {
        size: Some(size as u64),
        ..FsListing::default()
    };
    let image = data.get(..size).unwrap_or_default();
    let magics: [&[u8]; 5] = [
        &[0x1f, 0x8b, 0x08],
        &[0xfd, b'7', b'z', b'X', b'Z', 0],
        &[0x5d, 0, 0],
        &[0x28, 0xb5, 0x2f, 0xfd],
        &[0x04, 0x22, 0x4d, 0x18],
    ];
    let mut candidates: Vec<usize> = magics
        .iter()
        .flat_map(|magic| memchr::memmem::find_iter(image, magic).take(256))
        .collect();
    candidates.sort_unstable();
    for start in candidates {
        let payload = image.get(start..).unwrap_or_default();
        if sniff_codec(payload).is_none() {
            continue;
        }
        let mut attempt = FsListing::default();
        if inflate_kernel(payload, start, budget, &mut attempt)
            && attempt.entries.first().and_then(|e| match &e.kind {
                consign_model::NodeKind::File { data } => Some(data.len()),
                _ => None,
            }) > Some(4096)
        {
            listing.entries.extend(attempt.entries);
            listing.diagnostics.extend(attempt.diagnostics);
            return listing;
        }
    }
    listing.diagnostics.push(
        Diagnostic::warning("", "no compressed kernel found inside the zImage")
            .with_hint("the payload may use lzo or legacy lz4, which are not supported yet"),
    );
    listing
}
