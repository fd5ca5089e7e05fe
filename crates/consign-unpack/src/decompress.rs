//! Every stream codec firmware uses, behind one bounded function.
//!
//! [`decompress`] never produces more than the `max_output` it is given (callers take it from
//! [`crate::Budget::max_output_for`]), so a decompression bomb costs at most that much memory.
//! On damaged input it returns what it decoded before the damage, so the caller can still look at
//! it and report where the stream broke.

use std::fmt;
use std::io::{self, Read};

use thiserror::Error;

/// A compression format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Codec {
    /// gzip (RFC 1952), one member.
    Gzip,
    /// zlib (RFC 1950).
    Zlib,
    /// Raw deflate (RFC 1951).
    Deflate,
    /// xz, one stream.
    Xz,
    /// The legacy `.lzma` ("LZMA alone") format with its 13-byte header.
    LzmaAlone,
    /// Raw LZMA1 with the given properties and no header, as squashfs, JFFS2 and UBIFS vendors use.
    Lzma1Raw {
        /// Literal context bits.
        lc: u32,
        /// Literal position bits.
        lp: u32,
        /// Position bits.
        pb: u32,
        /// Dictionary size in bytes.
        dict_size: u32,
    },
    /// Zstandard, one frame.
    Zstd,
    /// LZ4 frame format.
    Lz4Frame,
    /// A bare LZ4 block; the output size must be known and is taken from `max_output`.
    Lz4Block,
    /// bzip2.
    Bzip2,
    /// Brotli (RFC 7932): no magic, so tried only where a file's name says `.br`.
    Brotli,
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Codec::Gzip => "gzip",
            Codec::Zlib => "zlib",
            Codec::Deflate => "deflate",
            Codec::Xz => "xz",
            Codec::LzmaAlone => "lzma",
            Codec::Lzma1Raw { .. } => "raw lzma",
            Codec::Zstd => "zstd",
            Codec::Lz4Frame => "lz4",
            Codec::Lz4Block => "lz4 block",
            Codec::Bzip2 => "bzip2",
            Codec::Brotli => "brotli",
        })
    }
}

/// A successful decompression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decompressed {
    /// The output.
    pub data: Vec<u8>,
    /// How many input bytes the stream occupied, when the codec can tell (lets a carver skip it).
    pub consumed: Option<usize>,
}

/// Why a stream could not be fully decompressed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DecompressError {
    /// The stream is damaged or truncated.
    #[error("{codec} stream is damaged after {} output bytes", partial.len())]
    Corrupt {
        /// The codec.
        codec: Codec,
        /// What was decoded before the damage.
        partial: Vec<u8>,
        /// What the decoder said.
        #[source]
        source: io::Error,
    },
    /// The output would exceed the bound.
    #[error("{codec} stream expands to more than {limit} bytes")]
    TooLarge {
        /// The codec.
        codec: Codec,
        /// The bound that was given.
        limit: u64,
        /// The first `limit` bytes.
        partial: Vec<u8>,
    },
}

impl DecompressError {
    /// What was decoded before the stream broke or the bound was reached.
    pub fn partial(&self) -> &[u8] {
        match self {
            DecompressError::Corrupt { partial, .. }
            | DecompressError::TooLarge { partial, .. } => partial,
        }
    }
}

/// Decompresses `input` with `codec`, producing at most `max_output` bytes.
pub fn decompress(
    codec: Codec,
    input: &[u8],
    max_output: u64,
) -> Result<Decompressed, DecompressError> {
    if codec == Codec::Lz4Block {
        // The output buffer is allocated whole, before decoding. `max_output` is often a number
        // from the input (a block size in a header), so the buffer is sized by what this input
        // can decode to as well: an LZ4 block yields at most 255 bytes per input byte.
        let size =
            usize::try_from(max_output.min(lz4_block_bound(input.len()))).unwrap_or(usize::MAX);
        let mut out = vec![0; size];
        let written = lz4_flex::block::decompress_into(input, &mut out).map_err(|err| {
            corrupt(
                codec,
                Vec::new(),
                io::Error::new(io::ErrorKind::InvalidData, err),
            )
        })?;
        out.truncate(written);
        return Ok(Decompressed {
            data: out,
            consumed: Some(input.len()),
        });
    }
    let (data, consumed) = decode_with(codec, input, max_output, |reader| {
        read_bounded(codec, reader, max_output)
    })
    .map_err(|source| corrupt(codec, Vec::new(), source))?;
    Ok(Decompressed {
        data: data?,
        consumed: Some(consumed),
    })
}

/// The most an LZ4 block of `input_len` bytes can decode to: a match's length grows by at most
/// 255 for each byte spent on it, and literals are copied one for one.
fn lz4_block_bound(input_len: usize) -> u64 {
    (input_len as u64).saturating_mul(255)
}

/// Runs `read` on a decoder of `input` and returns what it returned and how many input bytes the
/// decoder consumed. The caller decides how much to read and where the output goes, so it can
/// draw on a budget before each allocation, or count output without keeping it. `max_output`
/// only caps the dictionary a hostile header may ask for. Fails when the decoder cannot be
/// created; [`Codec::Lz4Block`] is not a stream and always fails here.
pub(crate) fn decode_with<T>(
    codec: Codec,
    input: &[u8],
    max_output: u64,
    read: impl FnOnce(&mut dyn Read) -> T,
) -> io::Result<(T, usize)> {
    let mut rest = input;
    let out = match codec {
        Codec::Gzip => read(&mut flate2::bufread::GzDecoder::new(&mut rest)),
        Codec::Zlib => read(&mut flate2::bufread::ZlibDecoder::new(&mut rest)),
        Codec::Deflate => read(&mut flate2::bufread::DeflateDecoder::new(&mut rest)),
        Codec::Xz => read(&mut liblzma::bufread::XzDecoder::new(&mut rest)),
        Codec::LzmaAlone => return decode_lzma_alone(input, max_output, read),
        Codec::Lzma1Raw {
            lc,
            lp,
            pb,
            dict_size,
        } => {
            let stream = raw_lzma1_decoder(lc, lp, pb, dict_size, max_output)?;
            read(&mut liblzma::bufread::XzDecoder::new_stream(
                &mut rest, stream,
            ))
        }
        Codec::Zstd => {
            let mut decoder = zstd::stream::read::Decoder::with_buffer(&mut rest)?.single_frame();
            read(&mut decoder)
        }
        Codec::Lz4Frame => read(&mut lz4_flex::frame::FrameDecoder::new(&mut rest)),
        Codec::Bzip2 => read(&mut bzip2::bufread::BzDecoder::new(&mut rest)),
        Codec::Brotli => read(&mut brotli_decompressor::Decompressor::new(
            &mut rest,
            64 << 10,
        )),
        Codec::Lz4Block => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "an lz4 block is not a stream",
            ));
        }
    };
    Ok((out, input.len() - rest.len()))
}

/// The `.lzma` (LZMA-alone) format. Its header names the dictionary size, and liblzma allocates
/// all of it up front: a hostile header asks for 4 GiB. No match can reach back further than the
/// output, so the header is rewritten with the dictionary capped at the output bound, which
/// decodes every valid stream the same.
fn decode_lzma_alone<T>(
    input: &[u8],
    max_output: u64,
    read: impl FnOnce(&mut dyn Read) -> T,
) -> io::Result<(T, usize)> {
    const HEADER: usize = 13;
    let Some(header) = input.get(..HEADER) else {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the 13-byte .lzma header is truncated",
        ));
    };
    let mut header = <[u8; HEADER]>::try_from(header).unwrap_or([0; HEADER]);
    let dict = u32::from_le_bytes([header[1], header[2], header[3], header[4]]);
    let cap = u32::try_from(max_output.max(4096)).unwrap_or(u32::MAX);
    header[1..5].copy_from_slice(&dict.min(cap).max(4096).to_le_bytes());
    let mut body = &input[HEADER..];
    let stream = liblzma::stream::Stream::new_lzma_decoder(u64::MAX)?;
    let out = read(&mut liblzma::bufread::XzDecoder::new_stream(
        Read::chain(&header[..], &mut body),
        stream,
    ));
    Ok((out, input.len() - body.len()))
}

/// A raw LZMA1 decoder. liblzma allocates the whole dictionary up front, and the size comes from
/// the caller's (often untrusted) header: 4 GiB for a hostile one. No match can reach back past
/// the start of the output, so a dictionary larger than the output bound decodes nothing
/// differently; it is capped there (and kept at liblzma's 4 KiB minimum).
fn raw_lzma1_decoder(
    lc: u32,
    lp: u32,
    pb: u32,
    dict_size: u32,
    max_output: u64,
) -> Result<liblzma::stream::Stream, liblzma::stream::Error> {
    let cap = u32::try_from(max_output).unwrap_or(u32::MAX);
    let mut options = liblzma::stream::LzmaOptions::new_preset(0)?;
    options
        .literal_context_bits(lc)
        .literal_position_bits(lp)
        .position_bits(pb)
        .dict_size(dict_size.min(cap).max(4096));
    let mut filters = liblzma::stream::Filters::new();
    filters.lzma1(&options);
    liblzma::stream::Stream::new_raw_decoder(&filters)
}

fn corrupt(codec: Codec, partial: Vec<u8>, source: io::Error) -> DecompressError {
    DecompressError::Corrupt {
        codec,
        partial,
        source,
    }
}

/// Reads `reader` to its end, but never more than `max_output` bytes.
fn read_bounded(
    codec: Codec,
    reader: &mut dyn Read,
    max_output: u64,
) -> Result<Vec<u8>, DecompressError> {
    let mut out = Vec::new();
    let mut limited = reader.take(max_output.saturating_add(1));
    if let Err(source) = limited.read_to_end(&mut out) {
        return Err(corrupt(codec, out, source));
    }
    if out.len() as u64 > max_output {
        out.truncate(usize::try_from(max_output).unwrap_or(usize::MAX));
        return Err(DecompressError::TooLarge {
            codec,
            limit: max_output,
            partial: out,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn gzip_round_trip_reports_consumed() {
        let mut input = gzip(b"hello firmware");
        let len = input.len();
        input.extend_from_slice(b"trailing bytes");
        let out = decompress(Codec::Gzip, &input, 1000).unwrap();
        assert_eq!(out.data, b"hello firmware");
        assert_eq!(out.consumed, Some(len));
    }

    #[test]
    fn lz4_block_buffer_is_sized_by_the_input_not_the_bound() {
        // A caller's bound of 16 TiB (a header's number) for a 2-byte block: the buffer was
        // allocated at the bound, which aborts the process.
        let out = decompress(Codec::Lz4Block, &[0x10, b'a'], 1 << 44).unwrap();
        assert_eq!(out.data, b"a");
        // The bound holds for the densest block there is: one literal, then a match extended
        // by 0xff bytes.
        let mut dense = vec![0x1f, b'a', 1, 0];
        dense.extend(std::iter::repeat_n(0xff, 100));
        dense.extend([0x00, 0x10, b'a']);
        let out = decompress(Codec::Lz4Block, &dense, 1 << 44).unwrap();
        assert!(out.data.len() as u64 <= lz4_block_bound(dense.len()));
        assert!(out.data.iter().all(|&b| b == b'a'));
        assert_eq!(
            out.data,
            lz4_flex::block::decompress(&dense, 1 << 20).unwrap()
        );
    }

    #[test]
    fn bomb_is_bounded() {
        let input = gzip(&vec![0u8; 10 << 20]);
        let err = decompress(Codec::Gzip, &input, 1 << 20).unwrap_err();
        assert!(matches!(
            err,
            DecompressError::TooLarge {
                limit: 1_048_576,
                ..
            }
        ));
        assert_eq!(err.partial().len(), 1 << 20);
    }

    #[test]
    fn truncated_stream_keeps_partial_output() {
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i * 7919).to_le_bytes())
            .collect();
        let input = gzip(&data);
        let err = decompress(Codec::Gzip, &input[..input.len() / 2], u64::MAX).unwrap_err();
        assert!(matches!(err, DecompressError::Corrupt { .. }));
        assert!(!err.partial().is_empty());
        assert_eq!(err.partial(), &data[..err.partial().len()]);
    }

    #[test]
    fn raw_lzma_dictionary_is_capped_at_the_output_bound() {
        // Found by the `decompress` fuzz target (fuzz/README.md): a raw LZMA1 stream whose
        // caller passed a 4 GiB dictionary made liblzma allocate 4 GiB before reading a byte.
        // liblzma reserves the dictionary without touching it, so the address space shows it
        // where the resident size would not.
        #[cfg(target_os = "linux")]
        {
            fn vm_size_kib() -> u64 {
                let status = std::fs::read_to_string("/proc/self/status").unwrap();
                let line = status.lines().find(|l| l.starts_with("VmSize:")).unwrap();
                line.split_whitespace().nth(1).unwrap().parse().unwrap()
            }
            let before = vm_size_kib();
            let stream = raw_lzma1_decoder(0, 0, 0, 0xffff_ff00, 1 << 20).unwrap();
            let grown = vm_size_kib().saturating_sub(before);
            drop(stream);
            // 1 GiB leaves room for other tests' threads; the uncapped dictionary is 4 GiB.
            assert!(grown < 1 << 20, "the decoder reserved {grown} KiB");
        }
        // The fuzzer's input, as the codec call it made: it fails cleanly within the bound.
        let input = [
            0xff, 0xff, 0xff, 0xff, 0x06, 0x00, 0x00, 0x00, 0x00, 0xcd, 0xcd, 0xcd, 0xcd, 0xcd,
            0xce, 0xcf, 0x2b, 0xcd, 0x48, 0xcd, 0xcf, 0xce, 0x53, 0x4c, 0x49, 0x4d, 0xce, 0xcf,
            0x2d, 0xa8, 0x4a, 0x2d, 0x2e, 0x56, 0x75, 0x8d, 0x46, 0xea, 0xd5, 0x35, 0xaa, 0x6b,
            0x54, 0xd7, 0xa8, 0x2e, 0xa2, 0x75, 0x01, 0x00, 0xfb, 0xf9, 0x8e, 0xf7,
        ];
        let codec = Codec::Lzma1Raw {
            lc: 0,
            lp: 0,
            pb: 0,
            dict_size: 0xffff_ff00,
        };
        if let Ok(out) = decompress(codec, &input, 2) {
            assert!(out.data.len() <= 2);
        }
        // A valid stream still decodes with the capped dictionary.
        let data = b"raw lzma with a hostile dictionary size, repeated ".repeat(50);
        let mut options = liblzma::stream::LzmaOptions::new_preset(6).unwrap();
        options.dict_size(1 << 20);
        let mut filters = liblzma::stream::Filters::new();
        filters.lzma1(&options);
        let stream = liblzma::stream::Stream::new_raw_encoder(&filters).unwrap();
        let mut encoder = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
        encoder.write_all(&data).unwrap();
        let raw = encoder.finish().unwrap();
        let codec = Codec::Lzma1Raw {
            lc: 3,
            lp: 0,
            pb: 2,
            dict_size: u32::MAX,
        };
        let out = decompress(codec, &raw, data.len() as u64).unwrap();
        assert_eq!(out.data, data);
    }

    #[test]
    fn lzma_alone_header_cannot_ask_for_a_huge_dictionary() {
        let data = b"lzma-alone with a hostile dictionary size, repeated ".repeat(100);
        let mut lzma = crate::fs::test_support::lzma_alone(&data);
        // 4 GiB: liblzma would allocate all of it if the header were trusted.
        lzma[1..5].copy_from_slice(&u32::MAX.to_le_bytes());
        lzma.extend_from_slice(b"trailing bytes after the stream");
        let out = decompress(Codec::LzmaAlone, &lzma, 1 << 20).unwrap();
        assert_eq!(out.data, data);
        assert!(out.consumed.unwrap() <= lzma.len());
        let err = decompress(Codec::LzmaAlone, &lzma[..7], 1 << 20).unwrap_err();
        assert!(
            matches!(&err, DecompressError::Corrupt { source, .. } if source.to_string().contains("header is truncated")),
            "{err:?}"
        );
    }

    #[test]
    fn xz_zstd_bzip2_lz4() {
        let data = b"the same text in every codec, repeated, repeated, repeated".repeat(50);
        let xz = {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
            e.write_all(&data).unwrap();
            e.finish().unwrap()
        };
        assert_eq!(decompress(Codec::Xz, &xz, 1 << 20).unwrap().data, data);
        let zst = zstd::encode_all(&data[..], 3).unwrap();
        assert_eq!(decompress(Codec::Zstd, &zst, 1 << 20).unwrap().data, data);
        let bz = {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
            e.write_all(&data).unwrap();
            e.finish().unwrap()
        };
        assert_eq!(decompress(Codec::Bzip2, &bz, 1 << 20).unwrap().data, data);
        let lz4 = lz4_flex::block::compress(&data);
        assert_eq!(
            decompress(Codec::Lz4Block, &lz4, data.len() as u64)
                .unwrap()
                .data,
            data
        );
    }
}
