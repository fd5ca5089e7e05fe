//! A bounded LZO1X decompressor (the `lzo1x_decompress_safe` bitstream), for JFFS2, UBIFS and
//! squashfs images compressed with LZO.
//!
//! Any parser in this crate that meets LZO data calls [`decompress_lzo1x`]; it never writes more
//! than `max_output` bytes and never reads outside `input`, so it is safe on hostile data.
//! The instruction encoding follows the Linux kernel's description of the format
//! (`Documentation/staging/lzo.rst`). The LZO-RLE variant (bitstream version byte 17) is not
//! supported: firmware filesystems write plain LZO1X.

use thiserror::Error;

/// Why an LZO1X stream could not be decompressed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum LzoError {
    /// The input ended inside an instruction or before the end marker.
    #[error("lzo stream is truncated at input offset {offset}")]
    Truncated {
        /// Input offset where more bytes were needed.
        offset: usize,
    },
    /// A match refers to bytes before the start of the output.
    #[error(
        "lzo match at input offset {offset} looks back {distance} bytes but only {produced} were produced"
    )]
    BadDistance {
        /// Input offset of the instruction.
        offset: usize,
        /// The distance it asked for.
        distance: usize,
        /// Output bytes produced so far.
        produced: usize,
    },
    /// The output would exceed the bound.
    #[error("lzo stream expands to more than {limit} bytes")]
    TooLarge {
        /// The bound that was given.
        limit: usize,
    },
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, LzoError> {
        let byte = *self
            .input
            .get(self.pos)
            .ok_or(LzoError::Truncated { offset: self.pos })?;
        self.pos += 1;
        Ok(byte)
    }

    fn le16(&mut self) -> Result<usize, LzoError> {
        let low = self.byte()? as usize;
        let high = self.byte()? as usize;
        Ok(low | (high << 8))
    }

    /// Reads the zero-run length extension: each zero byte adds 255, the final non-zero byte its value.
    fn extended(&mut self, base: usize) -> Result<usize, LzoError> {
        let mut length = base;
        loop {
            let byte = self.byte()?;
            if byte != 0 {
                return Ok(length + byte as usize);
            }
            length = length.saturating_add(255);
            // A length this large cannot fit any bound we accept; stop before looping over a
            // long run of zeros for nothing.
            if length > (1 << 30) {
                return Err(LzoError::TooLarge { limit: 1 << 30 });
            }
        }
    }

    fn copy_literals(
        &mut self,
        out: &mut Vec<u8>,
        count: usize,
        max_output: usize,
    ) -> Result<(), LzoError> {
        let start = self.pos;
        let bytes =
            self.input
                .get(start..start.saturating_add(count))
                .ok_or(LzoError::Truncated {
                    offset: self.input.len(),
                })?;
        if out.len() + count > max_output {
            return Err(LzoError::TooLarge { limit: max_output });
        }
        out.extend_from_slice(bytes);
        self.pos += count;
        Ok(())
    }
}

fn copy_match(
    out: &mut Vec<u8>,
    distance: usize,
    length: usize,
    offset: usize,
    max_output: usize,
) -> Result<(), LzoError> {
    if distance == 0 || distance > out.len() {
        return Err(LzoError::BadDistance {
            offset,
            distance,
            produced: out.len(),
        });
    }
    if out.len() + length > max_output {
        return Err(LzoError::TooLarge { limit: max_output });
    }
    let start = out.len() - distance;
    if distance >= length {
        out.extend_from_within(start..start + length);
    } else {
        // Overlapping copy: repeats the last `distance` bytes.
        for idx in 0..length {
            let byte = out[start + idx];
            out.push(byte);
        }
    }
    Ok(())
}

/// Decompresses an LZO1X stream (as written by `lzo1x_1_compress` / `lzo1x_999_compress`),
/// producing at most `max_output` bytes. The stream must end with the end-of-stream marker.
///
/// Callers elsewhere in the crate (squashfs, UBIFS, JFFS2) share this one implementation.
pub(crate) fn decompress_lzo1x(input: &[u8], max_output: usize) -> Result<Vec<u8>, LzoError> {
    let mut reader = Reader { input, pos: 0 };
    let mut out = Vec::with_capacity(max_output.min(input.len().saturating_mul(4)).min(1 << 20));
    // `state` is the number of literals the previous instruction copied (0..=3), or 4 after a
    // literal run of 4 or more; it decides what a 0..15 instruction means.
    let mut state: usize;
    let first = *input.first().ok_or(LzoError::Truncated { offset: 0 })?;
    if first > 17 {
        reader.pos = 1;
        let count = first as usize - 17;
        reader.copy_literals(&mut out, count, max_output)?;
        state = if count < 4 { count } else { 4 };
    } else {
        state = 0;
    }
    loop {
        let offset = reader.pos;
        let inst = reader.byte()? as usize;
        let (distance, length, next_state);
        if inst < 16 {
            if state == 0 {
                let count = if inst == 0 {
                    reader.extended(15)? + 3
                } else {
                    inst + 3
                };
                reader.copy_literals(&mut out, count, max_output)?;
                state = 4;
                continue;
            }
            let high = reader.byte()? as usize;
            next_state = inst & 3;
            if state == 4 {
                distance = (high << 2) + (inst >> 2) + 2049;
                length = 3;
            } else {
                distance = (high << 2) + (inst >> 2) + 1;
                length = 2;
            }
        } else if inst < 32 {
            let bits = inst & 7;
            length = if bits == 0 {
                reader.extended(7)? + 2
            } else {
                bits + 2
            };
            let word = reader.le16()?;
            next_state = word & 3;
            let dist = 16384 + ((inst & 8) << 11) + (word >> 2);
            if dist == 16384 {
                // End of stream.
                return Ok(out);
            }
            distance = dist;
        } else if inst < 64 {
            let bits = inst & 31;
            length = if bits == 0 {
                reader.extended(31)? + 2
            } else {
                bits + 2
            };
            let word = reader.le16()?;
            next_state = word & 3;
            distance = (word >> 2) + 1;
        } else {
            let high = reader.byte()? as usize;
            next_state = inst & 3;
            distance = (high << 3) + ((inst >> 2) & 7) + 1;
            length = if inst < 128 {
                3 + ((inst >> 5) & 1)
            } else {
                5 + ((inst >> 5) & 3)
            };
        }
        copy_match(&mut out, distance, length, offset, max_output)?;
        reader.copy_literals(&mut out, next_state, max_output)?;
        state = next_state;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &[u8], max: usize, expect: &Result<&[u8], LzoError>) {
        let got = decompress_lzo1x(input, max);
        assert_eq!(&got.as_deref().map_err(Clone::clone), expect);
    }

    #[test]
    fn literal_only_stream() {
        // First byte 17 + 5: five literals, then the end marker.
        check(b"\x16hello\x11\x00\x00", 100, &Ok(b"hello"));
    }

    #[test]
    fn overlapping_match() {
        // "ab", then an M2-class instruction (64..127) copying 3 bytes from distance 2.
        // inst = 0b010_001_00 -> length 3, distance ((0 << 3) + 1) + 1 = 2.
        check(b"\x13ab\x44\x00\x11\x00\x00", 100, &Ok(b"ababa"));
    }

    #[test]
    fn hostile_streams_error() {
        check(b"", 10, &Err(LzoError::Truncated { offset: 0 }));
        check(b"\x16hel", 10, &Err(LzoError::Truncated { offset: 4 }));
        check(
            b"\x16hello\x11\x00\x00",
            3,
            &Err(LzoError::TooLarge { limit: 3 }),
        );
        check(
            b"\x13ab\x44\x09\x11\x00\x00",
            100,
            &Err(LzoError::BadDistance {
                offset: 3,
                distance: 74,
                produced: 2,
            }),
        );
        // A long run of zero length bytes ends at the input end without hanging.
        let mut zeros = vec![0u8; 10_000];
        zeros.insert(0, 0);
        assert!(decompress_lzo1x(&zeros, 1 << 20).is_err());
    }
}
