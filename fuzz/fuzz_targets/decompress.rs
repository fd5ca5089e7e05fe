//! Fuzz target: every codec of `consign_unpack::decompress` on arbitrary bytes, with a bound the
//! input chooses: no panic, hang or allocation past the bound, and never more output than it.
//!
//! Byte 0 picks the codec, byte 1 the bound (a power of two up to 32 MiB); for raw LZMA1 the
//! next five bytes are the properties byte and the dictionary size, as squashfs stores them.
#![no_main]

use consign_unpack::decompress::{Codec, decompress};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let [pick, bound, rest @ ..] = data else {
        return;
    };
    let max_output = 1u64 << (bound % 26);
    let (codec, input) = match pick % 11 {
        0 => (Codec::Gzip, rest),
        1 => (Codec::Zlib, rest),
        2 => (Codec::Deflate, rest),
        3 => (Codec::Xz, rest),
        4 => (Codec::LzmaAlone, rest),
        5 => {
            let [props, d0, d1, d2, d3, stream @ ..] = rest else {
                return;
            };
            let props = u32::from(*props);
            let codec = Codec::Lzma1Raw {
                lc: props % 9,
                lp: (props / 9) % 5,
                pb: props / 45,
                dict_size: u32::from_le_bytes([*d0, *d1, *d2, *d3]),
            };
            (codec, stream)
        }
        6 => (Codec::Zstd, rest),
        7 => (Codec::Lz4Frame, rest),
        8 => (Codec::Lz4Block, rest),
        9 => (Codec::Bzip2, rest),
        _ => (Codec::Brotli, rest),
    };
    match decompress(codec, input, max_output) {
        Ok(out) => {
            assert!(
                out.data.len() as u64 <= max_output,
                "{codec}: output over the bound"
            );
            if let Some(consumed) = out.consumed {
                assert!(
                    consumed <= input.len(),
                    "{codec}: consumed more than the input"
                );
            }
        }
        Err(err) => {
            assert!(
                err.partial().len() as u64 <= max_output,
                "{codec}: partial output over the bound"
            );
        }
    }
});
