//! Container formats implemented in this crate, and the small byte-reading helpers they share.
//!
//! Every format module has a `probe(&[u8]) -> Option<Probe>` (cheap header validation at offset 0)
//! and an `extract(&Bytes, &Budget) -> FsListing` that never fails: it returns what it could read
//! and diagnostics for the rest. Entries carry [`Bytes`] slices of the input where the format stores
//! data plainly, so nothing large is copied.

pub(crate) mod ar;
pub(crate) mod cpio;
pub(crate) mod dtb;
pub(crate) mod esp;
pub(crate) mod kernel;
pub(crate) mod sparse;
pub(crate) mod streams;
pub(crate) mod tar;
pub(crate) mod tplink;
pub(crate) mod trx;
pub(crate) mod uimage;
pub(crate) mod zip;

use bytes::Bytes;
use consign_model::{Diagnostic, NodeKind};

use crate::decompress::{Codec, DecompressError, decompress};
use crate::fs::FsEntry;
use crate::{Budget, Limit};

/// Reads a little-endian `u16` at `offset`.
pub(crate) fn u16le(data: &[u8], offset: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        data.get(offset..offset.checked_add(2)?)?.try_into().ok()?,
    ))
}

/// Reads a little-endian `u32` at `offset`.
pub(crate) fn u32le(data: &[u8], offset: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        data.get(offset..offset.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// Reads a big-endian `u32` at `offset`.
pub(crate) fn u32be(data: &[u8], offset: usize) -> Option<u32> {
    Some(u32::from_be_bytes(
        data.get(offset..offset.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// Reads a little-endian `u64` at `offset`.
pub(crate) fn u64le(data: &[u8], offset: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        data.get(offset..offset.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// The text of a NUL-padded field, up to the first NUL, with invalid UTF-8 replaced.
pub(crate) fn c_string(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(field.get(..end).unwrap_or_default()).into_owned()
}

/// `value` rounded up to a multiple of `align` (a power of two), or `None` on overflow.
pub(crate) fn align_up(value: usize, align: usize) -> Option<usize> {
    Some(value.checked_add(align - 1)? & !(align - 1))
}

/// A regular file entry.
pub(crate) fn file(path: impl Into<String>, data: Bytes, mode: Option<u32>) -> FsEntry {
    FsEntry {
        path: path.into(),
        kind: NodeKind::File { data },
        mode,
        mtime: None,
    }
}

/// A human size for descriptions (`1.2 MiB`).
pub(crate) fn human_size(size: u64) -> String {
    #[allow(clippy::cast_precision_loss)] // Display only.
    let value = size as f64;
    if size >= 1 << 20 {
        format!("{:.1} MiB", value / f64::from(1u32 << 20))
    } else if size >= 1 << 10 {
        format!("{:.1} KiB", value / 1024.0)
    } else {
        format!("{size} B")
    }
}

/// The result of one bounded decompression inside an extractor.
pub(crate) struct Inflated {
    /// The output, complete or partial; `None` when nothing at all could be decoded.
    pub(crate) data: Option<Bytes>,
    /// Input bytes the stream occupied, when known.
    pub(crate) consumed: Option<usize>,
    /// What went wrong, if anything (offset relative to the container).
    pub(crate) diagnostic: Option<Diagnostic>,
}

/// Which limit made [`Budget::max_output_for`] return `bound` for an input of `input_len` bytes.
pub(crate) fn limit_for_bound(budget: &Budget, input_len: u64) -> Limit {
    let limits = budget.limits();
    let by_ratio = input_len.max(4096).saturating_mul(limits.max_ratio);
    let left = limits.max_total_bytes.saturating_sub(budget.bytes_used());
    if left <= by_ratio && left <= limits.max_file_bytes {
        Limit::TotalBytes
    } else if limits.max_file_bytes <= by_ratio {
        Limit::FileBytes
    } else {
        Limit::Ratio
    }
}

/// Decompresses `input` within the budget and accounts the output. `what` names the stream in
/// messages (`kernel payload`), `offset` is where it starts inside the container.
pub(crate) fn inflate(
    codec: Codec,
    input: &[u8],
    budget: &Budget,
    what: &str,
    offset: u64,
) -> Inflated {
    let bound = budget.max_output_for(input.len() as u64);
    let (data, consumed, diagnostic) = match decompress(codec, input, bound) {
        Ok(out) => (out.data, out.consumed, None),
        Err(DecompressError::TooLarge { partial, .. }) => {
            let limit = limit_for_bound(budget, input.len() as u64);
            let diagnostic = Diagnostic::warning(
                "",
                format!("{what}: {codec} output cut at {bound} bytes: {limit}"),
            )
            .at(offset)
            .with_hint("raise the limit if this input is trusted; the first part was kept");
            (partial, None, Some(diagnostic))
        }
        Err(err @ DecompressError::Corrupt { .. }) => {
            let partial = err.partial().to_vec();
            let diagnostic = Diagnostic::warning("", format!("{what}: {err}")).at(offset);
            (partial, None, Some(diagnostic))
        }
    };
    if data.is_empty() && diagnostic.is_some() {
        return Inflated {
            data: None,
            consumed,
            diagnostic,
        };
    }
    if let Err(limit) = budget.take_bytes(data.len() as u64) {
        return Inflated {
            data: None,
            consumed,
            diagnostic: Some(
                Diagnostic::warning(
                    "",
                    format!("{what}: output of {} bytes dropped: {limit}", data.len()),
                )
                .at(offset),
            ),
        };
    }
    Inflated {
        data: Some(Bytes::from(data)),
        consumed,
        diagnostic,
    }
}

/// Guesses the codec of a compressed payload from its first bytes.
pub(crate) fn sniff_codec(data: &[u8]) -> Option<Codec> {
    match data {
        [0x1f, 0x8b, 0x08, ..] => Some(Codec::Gzip),
        [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => Some(Codec::Xz),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Some(Codec::Zstd),
        [0x04, 0x22, 0x4d, 0x18, ..] => Some(Codec::Lz4Frame),
        [b'B', b'Z', b'h', b'1'..=b'9', ..] => Some(Codec::Bzip2),
        [props, ..] if streams::lzma_header_ok(data) && *props < 225 => Some(Codec::LzmaAlone),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;

    #[test]
    fn readers_never_panic_past_the_end() {
        let data = [1u8, 2, 3];
        assert_eq!(u16le(&data, 1), Some(0x0302));
        assert_eq!(u32le(&data, 0), None);
        assert_eq!(u32be(&data, usize::MAX), None);
        assert_eq!(c_string(b"abc\0def"), "abc");
        assert_eq!(align_up(5, 4), Some(8));
        assert_eq!(align_up(usize::MAX, 4), None);
    }

    #[test]
    fn inflate_names_the_limit() {
        let budget = Budget::new(Limits {
            max_ratio: 2,
            ..Limits::default()
        });
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut encoder, &vec![0u8; 1 << 20]).unwrap();
        let input = encoder.finish().unwrap();
        let out = inflate(Codec::Gzip, &input, &budget, "test", 7);
        assert_eq!(out.data.unwrap().len(), 8192);
        let diagnostic = out.diagnostic.unwrap();
        assert!(
            diagnostic.message.contains("--max-ratio"),
            "{}",
            diagnostic.message
        );
        assert_eq!(diagnostic.offset, Some(7));
    }
}
