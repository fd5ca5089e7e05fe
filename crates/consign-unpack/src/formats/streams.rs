//! Single compressed streams: gzip, xz, lzma (alone), zstd, lz4 frame and bzip2.
//!
//! The probes check what each header allows cheaply (flag bits, the xz header CRC, the lzma
//! dictionary size); the stream's length is learnt by decompressing it, so a carver can skip it.

use bytes::Bytes;

use crate::Budget;
use crate::binary::{c_string, u16le, u32le, u64le};
use crate::decompress::Codec;
use crate::fs::{FsListing, Probe};

use super::{file, inflate};

/// gzip: `1f 8b 08`, reserved flag bits clear.
pub(crate) fn probe_gzip(data: &[u8]) -> Option<Probe> {
    let flags = *data.get(3)?;
    if !data.starts_with(&[0x1f, 0x8b, 0x08]) || flags & 0xe0 != 0 || data.len() < 18 {
        return None;
    }
    let os = *data.get(9)?;
    if os > 13 && os != 255 {
        return None;
    }
    let name = gzip_name(data);
    Some(Probe {
        format: "gzip",
        size: None,
        description: match name {
            Some(name) => format!("gzip stream, original name `{name}`"),
            None => "gzip stream".to_owned(),
        },
    })
}

/// The `FNAME` field of a gzip header, when present and short.
fn gzip_name(data: &[u8]) -> Option<String> {
    let flags = *data.get(3)?;
    if flags & 0x08 == 0 {
        return None;
    }
    let mut pos = 10usize;
    if flags & 0x04 != 0 {
        pos = pos.checked_add(2 + usize::from(u16le(data, 10)?))?;
    }
    let field = data.get(pos..data.len().min(pos + 256))?;
    field.contains(&0).then(|| c_string(field))
}

/// xz: the stream header magic, flags and their CRC32.
pub(crate) fn probe_xz(data: &[u8]) -> Option<Probe> {
    if !data.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        return None;
    }
    let flags = data.get(6..8)?;
    if flags[0] != 0 || !matches!(flags[1], 0 | 1 | 4 | 10) {
        return None;
    }
    (crc32fast::hash(flags) == u32le(data, 8)?).then(|| Probe {
        format: "xz",
        size: None,
        description: "xz stream".to_owned(),
    })
}

/// True when `data` starts with a plausible "LZMA alone" header: properties under 225, a
/// dictionary of 4 KiB to 1 GiB, a known or sane uncompressed size, and the range coder's zero byte.
pub(crate) fn lzma_header_ok(data: &[u8]) -> bool {
    let (Some(&props), Some(dict), Some(size), Some(&first)) =
        (data.first(), u32le(data, 1), u64le(data, 5), data.get(13))
    else {
        return false;
    };
    // Other properties than the default 0x5d are rarer, so they must look like an encoder wrote
    // them: a dictionary of 2^n or 2^n + 2^(n-1) bytes and a stated size.
    let encoder_like = props == 0x5d
        || (size != u64::MAX
            && (dict.is_power_of_two() || (dict / 3).is_power_of_two() && dict % 3 == 0));
    props < 225
        && (4096..=1 << 30).contains(&dict)
        && (size == u64::MAX || size < 1 << 34)
        && first == 0
        && encoder_like
}

/// lzma alone (`.lzma`).
pub(crate) fn probe_lzma(data: &[u8]) -> Option<Probe> {
    lzma_header_ok(data).then(|| Probe {
        format: "lzma",
        size: None,
        description: "lzma stream".to_owned(),
    })
}

/// zstd: frame magic, reserved descriptor bit clear.
pub(crate) fn probe_zstd(data: &[u8]) -> Option<Probe> {
    let descriptor = *data.get(4)?;
    (data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) && descriptor & 0x08 == 0).then(|| Probe {
        format: "zstd",
        size: None,
        description: "zstd frame".to_owned(),
    })
}

/// lz4 frame: magic, version 01, reserved bits clear, block size code 4 to 7.
pub(crate) fn probe_lz4(data: &[u8]) -> Option<Probe> {
    let flg = *data.get(4)?;
    let bd = *data.get(5)?;
    let ok = data.starts_with(&[0x04, 0x22, 0x4d, 0x18])
        && flg >> 6 == 1
        && flg & 0x02 == 0
        && bd & 0x8f == 0
        && (4..=7).contains(&(bd >> 4));
    ok.then(|| Probe {
        format: "lz4",
        size: None,
        description: "lz4 frame".to_owned(),
    })
}

/// bzip2: `BZh1`..`BZh9` and the first block's (or the end-of-stream) magic.
pub(crate) fn probe_bzip2(data: &[u8]) -> Option<Probe> {
    let level = *data.get(3)?;
    let block = data.get(4..10)?;
    let ok = data.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&level)
        && (block == [0x31, 0x41, 0x59, 0x26, 0x53, 0x59]
            || block == [0x17, 0x72, 0x45, 0x38, 0x50, 0x90]);
    ok.then(|| Probe {
        format: "bzip2",
        size: None,
        description: format!("bzip2 stream, {}00k blocks", level - b'0'),
    })
}

/// Decompresses one stream of `codec` into a single entry.
fn extract_stream(codec: Codec, data: &Bytes, budget: &Budget, name: String) -> FsListing {
    let mut listing = FsListing::default();
    let inflated = inflate(
        codec,
        data,
        budget,
        (&format!("{codec} stream"), 0),
        &mut listing,
    );
    listing.size = inflated.consumed.map(|n| n as u64);
    if let Some(out) = inflated.data {
        listing.entries.push(file(name, out, None));
    }
    listing
}

/// The name for a decompressed stream: the gzip `FNAME` (its last component) or `decompressed`.
fn stream_name(stored: Option<&str>) -> String {
    stored
        .and_then(|name| name.rsplit(['/', '\\']).next())
        .filter(|name| !name.is_empty() && *name != "." && *name != "..")
        .map_or_else(|| "decompressed".to_owned(), ToOwned::to_owned)
}

/// Extracts a gzip member.
pub(crate) fn extract_gzip(data: &Bytes, budget: &Budget) -> FsListing {
    let mut listing = extract_stream(
        Codec::Gzip,
        data,
        budget,
        stream_name(gzip_name(data).as_deref()),
    );
    // MTIME: the original file's modification time; 0 means none was recorded.
    let mtime = u32le(data, 4).filter(|t| *t != 0).map(i64::from);
    for entry in &mut listing.entries {
        entry.mtime = mtime;
    }
    listing
}

/// Extracts an xz stream.
pub(crate) fn extract_xz(data: &Bytes, budget: &Budget) -> FsListing {
    extract_stream(Codec::Xz, data, budget, stream_name(None))
}

/// Shortest output, and shortest output of a damaged stream, that an lzma-alone stream must give
/// to be reported.
const LZMA_MIN_OUTPUT: usize = 64;
const LZMA_MIN_DAMAGED_OUTPUT: usize = 4096;

/// Extracts an lzma-alone stream. The format has no magic past its properties byte, so most of
/// what the carver meets are other bytes that happen to fit the header: a "stream" is kept only
/// when it decodes to at least 64 bytes, or, when it breaks, to at least 4 KiB before it does (a
/// truncated real stream). Anything less is not reported at all. A stream a limit cut is kept
/// (with its cut) only when its header states its size: zeros after a header-like byte run
/// decode to zeros without end, and padding is no stream.
pub(crate) fn extract_lzma(data: &Bytes, budget: &Budget) -> FsListing {
    let listing = extract_stream(Codec::LzmaAlone, data, budget, stream_name(None));
    if !listing.cuts.is_empty() {
        let stated = u64le(data, 5).is_some_and(|size| size != u64::MAX);
        return if stated {
            listing
        } else {
            FsListing::default()
        };
    }
    let output = listing
        .entries
        .first()
        .map_or(0, |entry| match &entry.kind {
            consign_model::NodeKind::File { data } => data.len(),
            _ => 0,
        });
    let damaged = !listing.diagnostics.is_empty();
    if output < LZMA_MIN_OUTPUT || (damaged && output < LZMA_MIN_DAMAGED_OUTPUT) {
        return FsListing::default();
    }
    listing
}

/// Extracts a zstd frame.
pub(crate) fn extract_zstd(data: &Bytes, budget: &Budget) -> FsListing {
    extract_stream(Codec::Zstd, data, budget, stream_name(None))
}

/// Extracts an lz4 frame.
pub(crate) fn extract_lz4(data: &Bytes, budget: &Budget) -> FsListing {
    extract_stream(Codec::Lz4Frame, data, budget, stream_name(None))
}

/// Extracts a brotli stream from a file whose name ends in `.br` (brotli has no magic: only a
/// name says a file is one). The output is named after the file, without `.br`. Nothing is
/// reported when not even the start decodes: the name was wrong.
pub(crate) fn extract_brotli(data: &Bytes, budget: &Budget, file_name: &str) -> FsListing {
    let stem = file_name.get(..file_name.len().saturating_sub(3));
    let name = stream_name(stem);
    let listing = extract_stream(Codec::Brotli, data, budget, name);
    if listing.entries.is_empty() && listing.cuts.is_empty() {
        return FsListing::default();
    }
    listing
}

/// Extracts a bzip2 stream.
pub(crate) fn extract_bzip2(data: &Bytes, budget: &Budget) -> FsListing {
    extract_stream(Codec::Bzip2, data, budget, stream_name(None))
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;
    use crate::Limits;
    use crate::fs::test_support::lzma_alone;

    #[test]
    fn gzip_keeps_its_name_and_length() {
        let mut encoder = flate2::GzBuilder::new()
            .filename("../etc/passwd")
            .mtime(1_700_000_000)
            .write(Vec::new(), flate2::Compression::default());
        encoder.write_all(b"root:x:0:0").unwrap();
        let mut data = encoder.finish().unwrap();
        let len = data.len();
        data.extend_from_slice(b"junk after");
        let probe = probe_gzip(&data).unwrap();
        assert_eq!(
            probe.description,
            "gzip stream, original name `../etc/passwd`"
        );
        let listing = extract_gzip(&Bytes::from(data), &Budget::new(Limits::default()));
        assert_eq!(listing.size, Some(len as u64));
        assert_eq!(listing.entries.len(), 1);
        assert_eq!(listing.entries[0].path, "passwd");
        assert_eq!(listing.entries[0].mtime, Some(1_700_000_000));
    }

    /// An lzma-alone "stream" is kept only when it gives enough output to be one.
    #[test]
    fn lzma_streams_too_short_to_be_real_are_dropped() {
        let budget = || Budget::new(Limits::default());
        let text: Vec<u8> = (0..2000u32).flat_map(u32::to_le_bytes).collect();
        let real = lzma_alone(&text);
        let listing = extract_lzma(&Bytes::from(real.clone()), &budget());
        assert_eq!(listing.entries.len(), 1);
        assert_eq!(listing.size, Some(real.len() as u64));

        let tiny = lzma_alone(b"too short to matter");
        assert_eq!(
            extract_lzma(&Bytes::from(tiny), &budget()),
            FsListing::default()
        );
        // Cut early, it breaks after less than 4 KiB: noise that fit the header, as far as the
        // carver can tell.
        let cut = Bytes::from(real[..real.len() / 4].to_vec());
        assert_eq!(extract_lzma(&cut, &budget()), FsListing::default());
    }

    #[test]
    fn probes_reject_near_misses() {
        assert!(
            probe_gzip(&[
                0x1f, 0x8b, 0x08, 0xff, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0
            ])
            .is_none()
        );
        assert!(probe_xz(&[0xfd, b'7', b'z', b'X', b'Z', 0, 0, 1, 0, 0, 0, 0]).is_none());
        assert!(probe_bzip2(b"BZh0\x31\x41\x59\x26\x53\x59").is_none());
        assert!(!lzma_header_ok(&[
            0x5d, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0
        ]));
        assert!(lzma_header_ok(&[
            0x5d, 0, 0, 0x80, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0
        ]));
    }
}
