//! U-Boot legacy images (`mkimage -A ... -T ... -C ...`): a 64-byte big-endian header with a header
//! CRC-32 and a data CRC-32, one payload or, for `multi` images, a list of sub-images.
//!
//! The payload is decompressed when the header's compression field says so (gzip, bzip2, lzma,
//! lz4, zstd; lzo is reported as not supported), so a kernel's banner is readable.

use bytes::Bytes;
use consign_model::Diagnostic;

use crate::Budget;
use crate::binary::{align_up, c_string, u32be};
use crate::decompress::Codec;
use crate::fs::{FsListing, Probe};

use super::{file, human_size, inflate};

const MAGIC: u32 = 0x2705_1956;
const HEADER: usize = 64;

fn os_name(os: u8) -> &'static str {
    match os {
        1 => "openbsd",
        2 => "netbsd",
        3 => "freebsd",
        5 => "linux",
        17 => "rtems",
        19 => "vxworks",
        20 => "qnx",
        21 => "u-boot",
        26 => "arm-trusted-firmware",
        29 => "opensbi",
        30 => "efi",
        _ => "other os",
    }
}

fn arch_name(arch: u8) -> &'static str {
    match arch {
        2 => "arm",
        3 => "x86",
        5 => "mips",
        6 => "mips64",
        7 => "nios2",
        8 => "powerpc",
        15 => "sh",
        17 => "sparc64",
        20 => "blackfin",
        21 => "avr32",
        22 => "st200",
        23 => "sandbox",
        24 => "nds32",
        25 => "openrisc",
        26 => "arm64",
        27 => "arc",
        28 => "x86_64",
        29 => "xtensa",
        30 => "riscv",
        _ => "other arch",
    }
}

fn type_name(kind: u8) -> &'static str {
    match kind {
        1 => "standalone",
        2 => "kernel",
        3 => "ramdisk",
        4 => "multi",
        5 => "firmware",
        6 => "script",
        7 => "filesystem",
        8 => "flat_dt",
        _ => "image",
    }
}

fn codec(compression: u8) -> Result<Option<Codec>, &'static str> {
    match compression {
        0 => Ok(None),
        1 => Ok(Some(Codec::Gzip)),
        2 => Ok(Some(Codec::Bzip2)),
        3 => Ok(Some(Codec::LzmaAlone)),
        4 => Err("lzo"),
        5 => Ok(Some(Codec::Lz4Frame)),
        6 => Ok(Some(Codec::Zstd)),
        _ => Err("unknown"),
    }
}

/// The header CRC of a 64-byte header (computed with the CRC field zeroed).
fn header_crc(header: &[u8]) -> Option<u32> {
    let mut copy: [u8; HEADER] = header.get(..HEADER)?.try_into().ok()?;
    copy.get_mut(4..8)?.fill(0);
    Some(crc32fast::hash(&copy))
}

/// Magic and header CRC.
pub(crate) fn probe(data: &[u8]) -> Option<Probe> {
    if u32be(data, 0)? != MAGIC || header_crc(data)? != u32be(data, 4)? {
        return None;
    }
    let size = u32be(data, 12)?;
    let name = c_string(data.get(32..64)?);
    let compression = match codec(*data.get(31)?) {
        Ok(Some(codec)) => codec.to_string(),
        Ok(None) => "uncompressed".to_owned(),
        Err(name) => name.to_owned(),
    };
    Some(Probe {
        format: "uimage",
        size: Some(HEADER as u64 + u64::from(size)),
        description: format!(
            "U-Boot legacy image `{name}`, {} {} {}, {compression}, {}",
            os_name(*data.get(28)?),
            arch_name(*data.get(29)?),
            type_name(*data.get(30)?),
            human_size(u64::from(size))
        ),
    })
}

/// Lists the payload (decompressed) or, for `multi` images, every sub-image.
pub(crate) fn extract(data: &Bytes, budget: &Budget) -> FsListing {
    let mut listing = FsListing::default();
    let (Some(size), Some(dcrc), Some(&kind), Some(&compression)) =
        (u32be(data, 12), u32be(data, 24), data.get(30), data.get(31))
    else {
        return listing;
    };
    let end = HEADER.saturating_add(size as usize);
    listing.size = Some(end as u64);
    let payload = if end <= data.len() {
        data.slice(HEADER..end)
    } else {
        listing.diagnostics.push(
            Diagnostic::warning(
                "",
                format!(
                    "uImage header says {size} bytes of data but only {} remain",
                    data.len().saturating_sub(HEADER)
                ),
            )
            .at(12),
        );
        data.slice(HEADER.min(data.len())..)
    };
    if payload.len() == size as usize && crc32fast::hash(&payload) != dcrc {
        listing
            .diagnostics
            .push(Diagnostic::warning("", "uImage data CRC-32 does not match the header").at(24));
    }
    let codec = match codec(compression) {
        Ok(codec) => codec,
        Err(name) => {
            listing.diagnostics.push(
                Diagnostic::warning("", format!("uImage compression `{name}` is not supported; the payload is kept compressed"))
                    .at(31),
            );
            None
        }
    };
    if kind == 4 {
        // Multi-file: a zero-terminated list of big-endian sizes, then each image padded to 4.
        let mut sizes = Vec::new();
        let mut pos = 0usize;
        while let Some(len) = u32be(&payload, pos) {
            pos += 4;
            if len == 0 {
                break;
            }
            sizes.push(len as usize);
            if sizes.len() > 1024 {
                listing.diagnostics.push(
                    Diagnostic::warning("", "uImage multi-file list has over 1024 entries")
                        .at(HEADER as u64),
                );
                return listing;
            }
        }
        for (index, len) in sizes.into_iter().enumerate() {
            let Some(part) = payload.get(pos..pos.saturating_add(len)) else {
                listing.diagnostics.push(
                    Diagnostic::warning(
                        "",
                        format!("uImage sub-image {index} runs past the end of the data"),
                    )
                    .at((HEADER + pos) as u64),
                );
                break;
            };
            let raw = payload.slice(pos..pos + part.len());
            let contents = decode(
                index == 0,
                codec,
                raw,
                budget,
                &mut listing,
                (HEADER + pos) as u64,
            );
            listing
                .entries
                .push(file(format!("image-{index}"), contents, None));
            pos = align_up(pos + len, 4).unwrap_or(usize::MAX);
        }
    } else {
        let contents = decode(true, codec, payload, budget, &mut listing, HEADER as u64);
        listing.entries.push(file(type_name(kind), contents, None));
    }
    listing
}

/// Decompresses a payload when asked to and the codec is known; keeps it raw otherwise.
fn decode(
    compressed: bool,
    codec: Option<Codec>,
    raw: Bytes,
    budget: &Budget,
    listing: &mut FsListing,
    offset: u64,
) -> Bytes {
    let Some(codec) = codec.filter(|_| compressed) else {
        return raw;
    };
    let inflated = inflate(codec, &raw, budget, ("uImage payload", offset), listing);
    inflated.data.unwrap_or(raw)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Limits;
    use consign_model::NodeKind;

    /// A uImage header + payload, for tests.
    pub(crate) fn uimage(kind: u8, compression: u8, payload: &[u8]) -> Vec<u8> {
        let mut h = vec![0u8; HEADER];
        h[..4].copy_from_slice(&MAGIC.to_be_bytes());
        h[12..16].copy_from_slice(&(payload.len() as u32).to_be_bytes());
        h[24..28].copy_from_slice(&crc32fast::hash(payload).to_be_bytes());
        h[28] = 5;
        h[29] = 2;
        h[30] = kind;
        h[31] = compression;
        h[32..36].copy_from_slice(b"test");
        let crc = header_crc(&h).unwrap();
        h[4..8].copy_from_slice(&crc.to_be_bytes());
        h.extend_from_slice(payload);
        h
    }

    #[test]
    fn multi_file() {
        let mut payload = Vec::new();
        payload.extend(3u32.to_be_bytes());
        payload.extend(4u32.to_be_bytes());
        payload.extend(0u32.to_be_bytes());
        payload.extend(b"abc\0defg");
        let data = uimage(4, 0, &payload);
        assert!(
            probe(&data)
                .unwrap()
                .description
                .contains("linux arm multi")
        );
        let listing = extract(&Bytes::from(data), &Budget::new(Limits::default()));
        assert!(listing.diagnostics.is_empty());
        assert_eq!(listing.entries[1].path, "image-1");
        assert_eq!(
            listing.entries[1].kind,
            NodeKind::File {
                data: Bytes::from_static(b"defg")
            }
        );
    }

    #[test]
    fn bad_header_crc_is_rejected() {
        let mut data = uimage(2, 0, b"kernel");
        data[40] ^= 1;
        assert!(probe(&data).is_none());
    }
}
