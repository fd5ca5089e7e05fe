//! Arcadyan's obfuscated LZMA firmware (routers Arcadyan builds for Belkin, Vodafone, Telekom and
//! others): an LZMA-alone stream at offset 4 whose first 32 bytes were swapped with the 32 bytes
//! at 0x68, and, before that, had the nibbles of each byte and the bytes of each pair swapped.
//! The mark is the obfuscated LZMA header at 0x68 (`00 d5 08 00`: properties 0x5d and an 8 MiB
//! dictionary, swapped). No published specification; the layout is the one binwalk's
//! documentation describes, checked on the real sample `binwalk-arcadyan.bin` (binwalk's test
//! data), whose restored stream decodes whole.

use bytes::Bytes;
use consign_model::Diagnostic;

use super::{file, inflate};
use crate::Budget;
use crate::decompress::Codec;
use crate::formats::streams::lzma_header_ok;
use crate::fs::{FsListing, Probe};

/// Where the LZMA stream starts.
const STREAM: usize = 4;
/// Where its first 32 bytes were moved to.
const MOVED: usize = 0x68;
const BLOCK: usize = 32;

/// The first bytes of the stream, restored: the block at [`MOVED`], nibbles and byte pairs
/// swapped back.
fn restored_block(data: &[u8]) -> Option<[u8; BLOCK]> {
    let moved = data.get(MOVED..MOVED + BLOCK)?;
    let mut block = [0u8; BLOCK];
    for (pair, out) in moved.chunks_exact(2).zip(block.chunks_exact_mut(2)) {
        out[0] = pair[1].rotate_left(4);
        out[1] = pair[0].rotate_left(4);
    }
    Some(block)
}

/// The smallest whole-firmware stream taken, by the size its header states. Four magic bytes at
/// 0x68 and a header that restores are found by chance in data tables (Debian's `libicudata.so.67`
/// holds one stating 6 bytes); Arcadyan's tool states the size of a router's whole firmware,
/// megabytes (2,813,252 bytes in binwalk's sample).
const MIN_STATED_SIZE: u64 = 64 << 10;

/// The moved block restores to an LZMA header an encoder writes, stating a firmware's size (or
/// none: all ones, as a streaming encoder writes).
pub(crate) fn probe(data: &[u8]) -> Option<Probe> {
    let block = restored_block(data)?;
    let stated = u64::from_le_bytes(block.get(5..13)?.try_into().ok()?);
    let plausible = stated == u64::MAX || (MIN_STATED_SIZE..1 << 34).contains(&stated);
    if !lzma_header_ok(&block) || !plausible {
        return None;
    }
    Some(Probe {
        format: "arcadyan",
        size: None,
        description: "Arcadyan obfuscated firmware (LZMA)".to_owned(),
    })
}

/// Restores the stream into a copy drawn from the budget, and decodes it.
pub(crate) fn extract(data: &Bytes, budget: &Budget) -> FsListing {
    let mut listing = FsListing::default();
    let (Some(block), Some(rest)) = (restored_block(data), data.get(STREAM..)) else {
        return listing;
    };
    let mut held = budget.working_memory();
    if let Err(limit) = held.grow(rest.len() as u64) {
        listing.cut(
            Diagnostic::warning(
                "",
                format!(
                    "the {} bytes to restore were not copied: {limit}",
                    rest.len()
                ),
            )
            .with_hint(limit.hint()),
            "the obfuscated stream, all of its output",
            limit.into(),
        );
        return listing;
    }
    let mut stream = rest.to_vec();
    let moved_at = MOVED - STREAM;
    stream.copy_within(0..BLOCK, moved_at);
    stream[..BLOCK].copy_from_slice(&block);
    let inflated = inflate(
        Codec::LzmaAlone,
        &stream,
        budget,
        ("restored LZMA stream", STREAM as u64),
        &mut listing,
    );
    drop(stream);
    drop(held);
    listing.size = inflated.consumed.map(|n| (STREAM + n) as u64);
    if let Some(out) = inflated.data {
        listing.entries.push(file("decompressed", out, None));
    }
    listing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;
    use crate::fs::test_support::lzma_alone;

    /// The obfuscation, applied to a stream liblzma wrote: what the extractor must undo.
    fn obfuscate(stream: &[u8]) -> Vec<u8> {
        let mut image = b"\x30\x05\x11\x20".to_vec();
        image.extend_from_slice(stream);
        let first: Vec<u8> = image[STREAM..STREAM + BLOCK]
            .chunks_exact(2)
            .flat_map(|pair| [pair[1].rotate_left(4), pair[0].rotate_left(4)])
            .collect();
        let moved = image[MOVED..MOVED + BLOCK].to_vec();
        image[STREAM..STREAM + BLOCK].copy_from_slice(&moved);
        image[MOVED..MOVED + BLOCK].copy_from_slice(&first);
        image
    }

    #[test]
    fn restores_and_decodes_an_obfuscated_stream() {
        let plain: Vec<u8> = (0..200_000u32)
            .flat_map(|n| (n % 251).to_le_bytes())
            .collect();
        let image = Bytes::from(obfuscate(&lzma_alone(&plain)));
        assert_eq!(&image[MOVED..MOVED + 4], b"\x00\xd5\x08\x00");
        let probe = probe(&image).unwrap();
        assert_eq!(probe.format, "arcadyan");
        let listing = extract(&image, &Budget::new(Limits::default()));
        assert_eq!(listing.diagnostics, Vec::new());
        assert_eq!(listing.size, Some(image.len() as u64));
        let [entry] = listing.entries.as_slice() else {
            panic!("{:?}", listing.entries.len());
        };
        match &entry.kind {
            consign_model::NodeKind::File { data } => assert!(data[..] == plain[..]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn plain_streams_and_short_inputs_are_not_taken() {
        let plain = lzma_alone(b"hello hello hello hello hello hello hello hello hello");
        let mut image = b"\x30\x05\x11\x20".to_vec();
        image.extend_from_slice(&plain);
        image.resize(0x100, 0);
        assert_eq!(probe(&image), None);
        assert_eq!(probe(&image[..MOVED + BLOCK - 1]), None);
        assert_eq!(probe(&[]), None);
    }

    /// A restored header stating a size no firmware has is a chance match.
    #[test]
    fn a_header_stating_no_firmware_size_is_not_taken() {
        let plain: Vec<u8> = (0..200_000u32)
            .flat_map(|n| (n % 251).to_le_bytes())
            .collect();
        let whole = obfuscate(&lzma_alone(&plain));
        assert!(probe(&whole).is_some());
        for stated in [0u64, 6, (64 << 10) - 1, 1 << 34] {
            let mut stream = lzma_alone(&plain);
            stream[5..13].copy_from_slice(&stated.to_le_bytes());
            assert_eq!(probe(&obfuscate(&stream)), None, "{stated}");
        }
    }

    #[test]
    fn the_copy_is_drawn_from_the_budget() {
        // Bytes that do not compress, so the stream is long.
        let mut state = 0x9e37_79b9_u32;
        let plain: Vec<u8> = (0..100_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state.to_le_bytes()[0]
            })
            .collect();
        let image = Bytes::from(obfuscate(&lzma_alone(&plain)));
        let budget = Budget::new(Limits {
            max_total_bytes: image.len() as u64 / 2,
            ..Limits::default()
        });
        let listing = extract(&image, &budget);
        assert!(listing.entries.is_empty());
        assert_eq!(listing.cuts.len(), 1, "{:?}", listing.diagnostics);
        assert_eq!(budget.bytes_used(), 0);
    }
}
