//! Container formats implemented in this crate, and the bounded decompression they share.
//!
//! Every format module has a `probe(&[u8]) -> Option<Probe>` (cheap header validation at offset 0)
//! and an `extract(&Bytes, &Budget) -> FsListing` that never fails: it returns what it could read
//! and diagnostics for the rest. Entries carry [`Bytes`] slices of the input where the format stores
//! data plainly, so nothing large is copied.

pub(crate) mod android_boot;
pub(crate) mod android_payload;
pub(crate) mod android_super;
pub(crate) mod ar;
pub(crate) mod arcadyan;
pub(crate) mod block_ota;
pub(crate) mod cpio;
pub(crate) mod dtb;
pub(crate) mod esp;
pub(crate) mod esp_flash;
pub(crate) mod flashmap;
pub(crate) mod hexrec;
pub(crate) mod kernel;
pub(crate) mod sparse;
pub(crate) mod streams;
pub(crate) mod tar;
pub(crate) mod tplink;
pub(crate) mod trx;
pub(crate) mod uf2;
pub(crate) mod uimage;
pub(crate) mod zip;

use std::io::{self, Read};

use bytes::Bytes;
use consign_model::{Diagnostic, NodeKind};

use crate::budget::Reservation;
use crate::decompress::{Codec, decode_with};
use crate::fs::{FsEntry, FsListing};
use crate::{Budget, Limit};

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

/// Output a stream may hold before its length is known. A longer stream is decoded once more
/// without keeping anything, to learn whether it fits its bound, and only then a third time into
/// one buffer of its exact size: a bomb costs decoding time within the budget, never memory.
const HELD: u64 = 64 << 20;
/// Output is reserved from the budget, and allocated, this much at a time at most.
const CHUNK: u64 = 1 << 20;
/// The first reservation of a stream; each next one doubles, up to [`CHUNK`]. A small stream
/// (a package's `control.tar.zst`) then holds no more of the job's budget than it needs: streams
/// decoded side by side each holding a whole chunk could exhaust a small input's expansion
/// budget together and be refused although their outputs fit it.
const FIRST_RESERVATION: u64 = 64 << 10;

/// The result of one bounded decompression inside an extractor.
pub(crate) struct Inflated {
    /// The output, complete or up to where the stream broke; `None` when nothing could be
    /// decoded or a limit stopped it (a partial output is never kept: nobody needs a bomb's
    /// first gigabyte, and a cut file must not pass for a whole one).
    pub(crate) data: Option<Bytes>,
    /// Input bytes the stream occupied, when known.
    pub(crate) consumed: Option<usize>,
}

/// How one pass over a stream ended.
enum Pass {
    /// The stream ended (`Ok`) or broke (`Err`), with its output, kept or counted.
    Done(Vec<u8>, u64, Option<io::Error>),
    /// Past what this pass keeps; its length is not known yet.
    Longer,
    /// A limit: the stream's output is more than its bound, or the budget refused more.
    Refused(Limit),
}

/// Keeps up to `keep` bytes of `reader`'s output, drawing each chunk from `reservation` before
/// allocating it; more than `keep` is [`Pass::Longer`], more than `bound` [`Pass::Refused`].
fn keep_pass(
    reader: &mut dyn Read,
    keep: u64,
    bound: u64,
    bound_limit: Limit,
    reservation: &mut Reservation<'_>,
) -> Pass {
    let cap = keep.min(bound);
    let mut out: Vec<u8> = Vec::new();
    let mut step = FIRST_RESERVATION;
    loop {
        let len = out.len() as u64;
        if len == cap {
            // One byte more, read aside, tells a stream that fills the cap from a longer one.
            return match reader.read(&mut [0u8; 1]) {
                Ok(0) => Pass::Done(out, len, None),
                Ok(_) if cap == bound => Pass::Refused(bound_limit),
                Ok(_) => Pass::Longer,
                Err(err) => Pass::Done(out, len, Some(err)),
            };
        }
        let want = step.min(cap - len);
        step = (step * 2).min(CHUNK);
        if let Err(limit) = reservation.grow(want) {
            return Pass::Refused(limit);
        }
        out.reserve_exact(want as usize);
        match (&mut *reader).take(want).read_to_end(&mut out) {
            Ok(0) => {
                let n = out.len() as u64;
                return Pass::Done(out, n, None);
            }
            Ok(_) => {}
            Err(err) => {
                let n = out.len() as u64;
                return Pass::Done(out, n, Some(err));
            }
        }
    }
}

/// Counts `reader`'s output without keeping it, charging it to the job's expansion ratio.
fn count_pass(reader: &mut dyn Read, bound: u64, bound_limit: Limit, budget: &Budget) -> Pass {
    let mut total = 0u64;
    loop {
        if total > bound {
            return Pass::Refused(bound_limit);
        }
        let want = CHUNK.min(bound + 1 - total);
        let step = io::copy(&mut (&mut *reader).take(want), &mut io::sink());
        let n = *step.as_ref().unwrap_or(&0);
        if let Err(limit) = budget.discard(n) {
            return Pass::Refused(limit);
        }
        total += n;
        match step {
            Ok(0) => return Pass::Done(Vec::new(), total, None),
            Ok(_) => {}
            Err(err) => return Pass::Done(Vec::new(), total, Some(err)),
        }
    }
}

/// Decompresses `input` within the budget: output is reserved before it is allocated, a stream
/// longer than it may be is cut whole, and what went wrong goes into `listing` (a diagnostic, and
/// a cut when a limit stopped it). `what` names the stream in messages (`kernel payload`),
/// `offset` is where it starts inside the container.
pub(crate) fn inflate(
    codec: Codec,
    input: &[u8],
    budget: &Budget,
    (what, offset): (&str, u64),
    listing: &mut FsListing,
) -> Inflated {
    let (bound, bound_limit) = budget.bound(input.len() as u64);
    let cut = |listing: &mut FsListing, limit: Limit| {
        listing.cut(
            Diagnostic::warning(
                "",
                format!("{what}: {codec} output is more than {bound} bytes; not unpacked: {limit}"),
            )
            .at(offset)
            .with_hint(limit.hint()),
            format!("{what} ({codec}), all of its output"),
            limit.into(),
        );
        Inflated {
            data: None,
            consumed: None,
        }
    };
    let mut reservation = budget.reservation();
    let first = decode_with(codec, input, bound, |reader| {
        keep_pass(reader, HELD, bound, bound_limit, &mut reservation)
    });
    let (pass, consumed) = match first {
        Ok((Pass::Longer, _)) => {
            // Thrown away (it still counts against the job's expansion ratio).
            drop(reservation);
            let counted = decode_with(codec, input, bound, |reader| {
                count_pass(reader, bound, bound_limit, budget)
            });
            let (length, broken) = match counted {
                Ok((Pass::Done(_, length, broken), _)) => (length, broken),
                Ok((Pass::Refused(limit), _)) => return cut(listing, limit),
                Ok((Pass::Longer, _)) => (0, None),
                Err(err) => (0, Some(err)),
            };
            reservation = match budget.reserve(length) {
                Ok(reservation) => reservation,
                Err(limit) => return cut(listing, limit),
            };
            let mut out = Vec::with_capacity(length as usize);
            match decode_with(codec, input, bound, |reader| {
                if let Err(err) = (&mut *reader).take(length).read_to_end(&mut out) {
                    return Some(err);
                }
                // One more read lets the decoder reach the end of the stream (a trailer), so
                // the length it consumed is known.
                match reader.read(&mut [0u8; 1]) {
                    Ok(0) => None,
                    Ok(_) => Some(io::Error::other(
                        "the stream decoded to more the second time",
                    )),
                    Err(err) => Some(err),
                }
            }) {
                Ok((err, consumed)) => {
                    let length = out.len() as u64;
                    (Pass::Done(out, length, err.or(broken)), consumed)
                }
                Err(err) => (Pass::Done(out, 0, Some(err)), 0),
            }
        }
        Ok(done) => done,
        Err(err) => (Pass::Done(Vec::new(), 0, Some(err)), 0),
    };
    match pass {
        Pass::Done(mut out, _, None) => {
            out.shrink_to_fit();
            reservation.commit(out.len() as u64);
            Inflated {
                data: Some(Bytes::from(out)),
                consumed: Some(consumed),
            }
        }
        Pass::Done(mut out, _, Some(err)) => {
            let message = format!(
                "{what}: {codec} stream is damaged after {} output bytes ({err})",
                out.len()
            );
            listing
                .diagnostics
                .push(Diagnostic::warning("", message).at(offset));
            if out.is_empty() {
                return Inflated {
                    data: None,
                    consumed: None,
                };
            }
            out.shrink_to_fit();
            reservation.commit(out.len() as u64);
            Inflated {
                data: Some(Bytes::from(out)),
                consumed: None,
            }
        }
        Pass::Refused(limit) => cut(listing, limit),
        Pass::Longer => Inflated {
            data: None,
            consumed: None,
        },
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
    fn inflate_names_the_limit_and_keeps_nothing_of_a_cut_stream() {
        let budget = Budget::new(Limits {
            max_ratio: 2,
            ..Limits::default()
        });
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        io::Write::write_all(&mut encoder, &vec![0u8; 1 << 20]).unwrap();
        let input = encoder.finish().unwrap();
        let mut listing = FsListing::default();
        let out = inflate(Codec::Gzip, &input, &budget, ("test", 7), &mut listing);
        assert!(out.data.is_none());
        assert_eq!(budget.bytes_used(), 0, "nothing of a cut stream is held");
        let diagnostic = &listing.diagnostics[0];
        assert!(
            diagnostic.message.contains("--max-ratio"),
            "{}",
            diagnostic.message
        );
        assert_eq!(diagnostic.offset, Some(7));
        assert_eq!(listing.cuts.len(), 1);
        assert_eq!(listing.cuts[0].reason, consign_model::CutReason::RatioLimit);
    }

    /// A stream longer than what is held before its length is known is counted first, then
    /// decoded into one buffer of its size: the same bytes, and the count against the job.
    #[test]
    fn long_streams_are_counted_then_decoded_once_more() {
        let data: Vec<u8> = (0..(HELD as usize + 3 * CHUNK as usize + 5))
            .map(|i| (i % 251) as u8)
            .collect();
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut encoder, &data).unwrap();
        let input = encoder.finish().unwrap();
        let budget = Budget::new(Limits::default());
        budget.start(input.len() as u64);
        let mut listing = FsListing::default();
        let out = inflate(Codec::Gzip, &input, &budget, ("test", 0), &mut listing);
        assert_eq!(listing.diagnostics, Vec::new());
        assert_eq!(out.data.unwrap(), data);
        assert_eq!(out.consumed, Some(input.len()));
        assert_eq!(budget.bytes_used(), data.len() as u64);
        assert!(budget.bytes_produced() > 2 * data.len() as u64);
    }

    /// The budget refuses the rest of a stream: the stream is cut whole and the account is as it
    /// was before.
    #[test]
    fn a_refused_reservation_cuts_the_stream() {
        let budget = Budget::new(Limits {
            max_total_bytes: 3 * CHUNK,
            ..Limits::default()
        });
        let held = budget.reserve(2 * CHUNK).unwrap();
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut encoder, &vec![7u8; 2 * CHUNK as usize]).unwrap();
        let input = encoder.finish().unwrap();
        let mut listing = FsListing::default();
        let out = inflate(Codec::Gzip, &input, &budget, ("test", 0), &mut listing);
        assert!(out.data.is_none());
        assert_eq!(
            listing.cuts[0].reason,
            consign_model::CutReason::TotalBytesLimit
        );
        assert_eq!(budget.bytes_used(), 2 * CHUNK);
        drop(held);
    }

    /// A small stream decoded while another holds most of what the budget has left is not
    /// refused: it reserves about what it produces, not a whole chunk (a `.deb`'s two small
    /// zstd members decoded side by side were refused under load).
    #[test]
    fn small_streams_reserve_little() {
        let budget = Budget::new(Limits {
            max_total_bytes: CHUNK + CHUNK / 2,
            ..Limits::default()
        });
        let held = budget.reserve(CHUNK).unwrap();
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut encoder, &[7u8; 10_240]).unwrap();
        let input = encoder.finish().unwrap();
        let mut listing = FsListing::default();
        let out = inflate(Codec::Gzip, &input, &budget, ("test", 0), &mut listing);
        assert_eq!(listing.cuts, Vec::new());
        assert_eq!(out.data.unwrap().len(), 10_240);
        drop(held);
    }
}
